# The flake's checks (x86_64-linux). These need nixpkgs and home-manager, so they run
# where those can be fetched (`nix flake check`); tests/nix_*.rs run the builtins-only
# parts everywhere.
{ self, pkgs, home-manager, nixosSystem }:

let
  inherit (pkgs) lib;
  ballastLib = import ./lib;
  ballast = self.packages.${pkgs.system}.ballast;
  tests = import ./tests;

  # A check that fails at evaluation with what differed.
  expectations = name: pairs:
    let
      problems = lib.concatLists (lib.mapAttrsToList
        (what: pair: lib.optional (pair.actual != pair.expected)
          "${what}: expected ${builtins.toJSON pair.expected}, got ${builtins.toJSON pair.actual}")
        pairs);
    in
    if problems == [ ] then pkgs.runCommand name { } "touch $out"
    else throw "${name}:\n${lib.concatStringsSep "\n" problems}";

  nixos = (nixosSystem {
    modules = [
      self.nixosModules.default
      {
        nixpkgs.hostPlatform = "x86_64-linux";
        ballast = {
          memory.enable = true;
          cgroups.enable = true;
          vaapi.enable = true;
        };
        boot.loader.grub.enable = false;
        fileSystems."/" = { device = "none"; fsType = "tmpfs"; };
        system.stateVersion = "26.05";
      }
    ];
  }).config;

  home = (home-manager.lib.homeManagerConfiguration {
    pkgs = import pkgs.path {
      inherit (pkgs) system;
      overlays = [ self.overlays.default ];
    };
    modules = [
      self.homeManagerModules.default
      {
        home = { username = "ballast"; homeDirectory = "/home/ballast"; stateVersion = "26.05"; };
        programs.ballast = {
          enable = true;
          settings = { budget.idle_total = "3G"; app.discord.memory_max = "2.5G"; };
          tune.kwin = true;
          kwin.sessionVariables.enable = true;
          # Stand-in app packages: the pins need a bin/ entry, not a real Signal build.
          electronApps = {
            enable = true;
            apps = [ "signal" "codium" ];
            packages = {
              signal = pkgs.writeShellScriptBin "signal-desktop" "exit 0";
              codium = pkgs.writeShellScriptBin "codium" "exit 0";
            };
          };
        };
      }
    ];
  }).config;

  reference = ballastLib.reference;
in
{
  package = ballast;

  # nix/tests, every suite (the same that tests/nix_lib.rs runs).
  nix-lib = expectations "ballast-nix-lib" (lib.mapAttrs
    (_: result: { actual = result.failures; expected = [ ]; })
    tests);

  # The NixOS modules under the real module system.
  nixos-modules = expectations "ballast-nixos-modules" {
    zram = {
      actual = { inherit (nixos.zramSwap) enable algorithm memoryPercent priority; };
      expected = { enable = true; algorithm = "zstd"; memoryPercent = 75; priority = 100; };
    };
    swappiness = { actual = nixos.boot.kernel.sysctl."vm.swappiness"; expected = 10; };
    userSlice = {
      actual = { inherit (nixos.systemd.slices.user.sliceConfig) MemoryHigh MemoryMax CPUQuota; };
      expected = ballastLib.cgroups.userSlice reference.ballast.machine;
    };
    appSlice = { actual = nixos.systemd.user.slices.app.sliceConfig.AllowedCPUs; expected = "2-3,6-7"; };
    vaapi = { actual = nixos.environment.sessionVariables.LIBVA_DRIVER_NAME; expected = "nvidia"; };
    modeset = { actual = lib.elem "nvidia-drm.modeset=1" nixos.boot.kernelParams; expected = true; };
  };

  # The home-manager modules under home-manager.
  home-modules = expectations "ballast-home-modules" {
    # home-manager maps over WantedBy and reads ExecStart back as a list (apply = lib.toList).
    agent = { actual = home.systemd.user.services.ballast.Install.WantedBy; expected = [ "graphical-session.target" ]; };
    execStart = { actual = home.systemd.user.services.ballast.Service.ExecStart; expected = [ "${lib.getExe ballast} agent" ]; };
    enabled = {
      actual = home.xdg.configFile ? "systemd/user/graphical-session.target.wants/ballast.service";
      expected = true;
    };
    wrappers = {
      actual = lib.sort lib.lessThan (lib.filter (name: lib.hasPrefix "ballast-launch-" name) (map (p: p.name) home.home.packages));
      expected = [ "ballast-launch-codium" "ballast-launch-signal" ];
    };
    pins = { actual = lib.attrNames home.programs.ballast.appExecs; expected = [ "codium" "signal" ]; };
    kwinVariables = { actual = home.xdg.configFile ? "plasma-workspace/env/ballast-kwin.sh"; expected = true; };
  };

  # ballast reads the generated config file (and home-manager built it only after
  # `ballast --profile FILE profile` accepted it).
  config = pkgs.runCommand "ballast-generated-config" { } ''
    ${lib.getExe ballast} --profile ${home.programs.ballast.configFile} profile --json > $out
  '';

  # The reference profile in Nix equals the embedded default (as tests/nix_profile.rs).
  profile = pkgs.runCommand "ballast-profile-equality"
    {
      nativeBuildInputs = [ pkgs.jq ];
      nixProfile = builtins.toJSON reference.ballast;
      passAsFile = [ "nixProfile" ];
    } ''
    numbers='walk(if type == "number" then . + 0 else . end)'
    ${lib.getExe ballast} profile --json | jq -S "del(.category[].units, .category[].exes) | $numbers" > rust.json
    jq -S "$numbers" "$nixProfilePath" > nix.json
    diff -u rust.json nix.json
    touch $out
  '';

  # Every .nix file is formatted and has no dead code.
  lint = pkgs.runCommand "ballast-nix-lint"
    {
      nativeBuildInputs = [ pkgs.nixpkgs-fmt pkgs.deadnix ];
      src = lib.fileset.toSource { root = ../.; fileset = lib.fileset.fileFilter (file: file.hasExt "nix") ../.; };
    } ''
    cd $src
    nixpkgs-fmt --check .
    deadnix --fail .
    touch $out
  '';
}
