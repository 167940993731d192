# A stand-in package set for offline `nix flake show/check` (tests/nix_flake.rs): every
# package is a derivation that is never built (`--no-build`), and callPackage really calls
# nix/package.nix with a stand-in rustPlatform, so its attributes are evaluated. Not nixpkgs.
{ overlays ? [ ], ... }:

let
  modules = import ../support/modules.nix;
  system = "x86_64-linux";

  drv = name: env: derivation
    ({
      inherit name system;
      builder = "/bin/sh";
      args = [ "-c" "echo 'a stand-in package: not buildable'; exit 1" ];
    } // env) // { meta.mainProgram = (import ../support/main-programs.nix).${name} or name; };

  lib = modules.lib // import ./lib.nix;

  base = self: builtins.listToAttrs
    (map (name: { inherit name; value = drv name { }; }) [
      "cargo"
      "rustc"
      "clippy"
      "rustfmt"
      "rust-analyzer"
      "procps"
      "dbus"
      "systemd"
      "nix"
      "deadnix"
      "nixpkgs-fmt"
      "jq"
      "lld"
      "installShellFiles"
      "nvidia-vaapi-driver"
      "libvdpau-va-gl"
      "libva-vdpau-driver"
      "teams-for-linux"
      "discord"
      "spotify"
      "vscodium"
      "signal-desktop"
      "zoom-us"
      "obsidian"
    ]) // {
    inherit lib system;
    path = ./.;
    stdenv.hostPlatform.system = system;
    runtimeShell = "/bin/sh";
    qt6 = { qtbase = drv "qtbase" { }; qtdeclarative = drv "qtdeclarative" { }; wrapQtAppsHook = drv "wrapQtAppsHook" { }; };
    rustPlatform.buildRustPackage = attrs:
      drv "${attrs.pname}-${attrs.version}" { inherit (attrs) agentUnit desktopEntry postInstall; }
        // { inherit (attrs) meta pname version; };
    callPackage = fn: args:
      let f = if builtins.isFunction fn then fn else import fn;
      in f (builtins.intersectAttrs (builtins.functionArgs f) self // args);
    writeText = name: text: drv name { inherit text; };
    writeShellScriptBin = name: text: drv name { inherit text; };
    runCommand = name: env: script: drv name ((removeAttrs env [ "nativeBuildInputs" "passAsFile" ]) // { inherit script; });
    mkShell = attrs: drv "nix-shell" { packages = attrs.packages or [ ]; };
    formats.toml = _: { type = "toml"; };
  };

  # Overlays apply as nixpkgs applies them: final and prev.
  fix = f: let x = f x; in x;
in
fix (self: builtins.foldl' (prev: overlay: prev // overlay self prev) (base self) overlays)
