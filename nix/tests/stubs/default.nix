# default.nix of the stand-in nixpkgs: `import pkgs.path { overlays = ...; }`.
import ./pkgs.nix
