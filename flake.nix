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
      module = name: path: { _file = "${self}/flake.nix#${name}"; imports = [ path ]; };
      # kreadconfig5, the peer of the KConfig tests, where this nixpkgs still has KF5.
      kconfig5 =
        let found = builtins.tryEval (pkgs.libsForQt5.kconfig or null);
        in lib.optional (found.success && found.value != null) found.value;
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
        meta.description = "the ballast agent (or `ballast status --watch` outside a desktop session)";
      };

      overlays = {
        # pkgs.ballast. `nix flake check` wants the arguments named final and prev.
        # deadnix: skip
        default = final: prev: { ballast = final.callPackage ./nix/package.nix { }; };
        # The 30+ libraries with the reference machine's flags (for NixOS's nixpkgs.overlays
        # when home-manager uses the system's pkgs); another machine:
        # ballast.lib.overlays.systemLibsOverlay { cpu = myProfile.cpu; }.
        systemLibs = ballastLib.overlays.systemLibsOverlay { inherit (profile) cpu; };
      };

      # Each module file is imported by path (inside a small module), so importing two
      # outputs that share a file (default and memory, say) declares its options once.
      nixosModules = lib.mapAttrs module {
        default = ./nix/modules/nixos/default.nix;
        memory = ./nix/modules/nixos/memory.nix;
        cgroups = ./nix/modules/nixos/cgroups.nix;
        systemLibs = ./nix/modules/nixos/system-libs.nix;
        vaapi = ./nix/modules/nixos/vaapi.nix;
      };

      homeManagerModules = lib.mapAttrs module {
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
        ] ++ kconfig5;
      };

      formatter.${system} = pkgs.nixpkgs-fmt;
    };
}
