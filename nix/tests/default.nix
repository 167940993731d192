# Every suite of nix/tests, run: { <suite> = { total; failures; }; }. tests/nix_lib.rs runs
# each file of this directory with runner.nix; the flake's checks.nix-lib runs this.
let
  runner = import ./runner.nix;
  suites = [ "units" "flags" "gpu" "memory" "cgroups" "systemd" "toml" "config" "apps" "tune" "overlays" "profiles" "modules" ];
in
builtins.listToAttrs (map (name: { inherit name; value = runner.run (import (./. + "/${name}.nix")); }) suites)
