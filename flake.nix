{
  description = "ballast: keeps a KDE Plasma desktop inside a memory budget";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    home-manager = {
      url = "github:nix-community/home-manager/release-26.05";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { self, nixpkgs, home-manager }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
      inherit (nixpkgs) lib;
      ballastLib = import ./nix/lib;
      profile = ballastLib.reference;
    in
    {
      # Every decision the modules make, builtins only (nix/lib): profiles, flags, zram,
      # slices, unit text, wrappers, the config file writer, the overlays.
      lib = ballastLib;

      packages.${system} = {
        ballast = pkgs.callPackage ./nix/package.nix { };
        default = self.packages.${system}.ballast;
      };

      apps.${system}.default = {
        type = "app";
        program = lib.getExe self.packages.${system}.ballast;
      };

      overlays = {
        # pkgs.ballast
        default = final: _prev: { ballast = final.callPackage ./nix/package.nix { }; };
        # The 30+ libraries with the reference machine's flags (for NixOS's nixpkgs.overlays
        # when home-manager uses the system's pkgs); another machine:
        # ballast.lib.overlays.systemLibsOverlay { cpu = myProfile.cpu; }.
        systemLibs = ballastLib.overlays.systemLibsOverlay { inherit (profile) cpu; };
      };

      nixosModules = {
        default = ./nix/modules/nixos/default.nix;
        memory = ./nix/modules/nixos/memory.nix;
        cgroups = ./nix/modules/nixos/cgroups.nix;
        systemLibs = ./nix/modules/nixos/system-libs.nix;
        vaapi = ./nix/modules/nixos/vaapi.nix;
      };

      homeManagerModules = {
        default = ./nix/modules/home/ballast.nix;
        electronApps = ./nix/modules/home/electron-apps.nix;
        systemLibs = ./nix/modules/home/system-libs.nix;
      };

      checks.${system} = import ./nix/checks.nix {
        inherit self pkgs home-manager;
        inherit (nixpkgs.lib) nixosSystem;
      };

      devShells.${system}.default = pkgs.mkShell {
        inputsFrom = [ self.packages.${system}.ballast ];
        packages = with pkgs; [
          cargo
          rustc
          clippy
          rustfmt
          rust-analyzer
          # what `make test` compares with or runs
          procps
          dbus
          systemd
          nix
          deadnix
          nixpkgs-fmt
        ] ++ lib.optional (pkgs ? libsForQt5) pkgs.libsForQt5.kconfig;
      };

      formatter.${system} = pkgs.nixpkgs-fmt;
    };
}
