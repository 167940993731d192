# ballast's Nix library: every decision the flake's modules make (profile -> compiler
# flags, zram size, slice limits, unit text, wrapper argv, desktop entries, config file),
# as plain functions of plain data. Builtins only: `nix-instantiate --eval` evaluates it
# without nixpkgs, and nix/tests/ tests it (tests/nix_lib.rs runs them in `make test`).
let
  profiles = import ./profiles.nix;
in
{
  units = import ./units.nix;
  flags = import ./flags.nix;
  gpu = import ./gpu.nix;
  memory = import ./memory.nix;
  cgroups = import ./cgroups.nix;
  systemd = import ./systemd.nix;
  toml = import ./toml.nix;
  config = import ./config.nix;
  apps = import ./apps.nix;
  overlays = import ./overlays.nix;
  tune = import ./tune.nix;

  profiles = { inherit (profiles) shoshin; };
  inherit (profiles) reference;
  extendProfile = profiles.extend;
  checkProfile = profiles.check;

  version = (builtins.fromTOML (builtins.readFile ../../Cargo.toml)).package.version;
}
