# programs.ballast.systemLibs: the seed's 30+ libraries (compression, crypto, database,
# network, text, async I/O, image, font, XML/JSON) rebuilt with the profile's
# -march/-mtune/-O for this user's packages. Bootstrap-safe: flags only, no new
# nativeBuildInputs; mold only on libraries outside the toolchain's closure
# (nix/lib/overlays.nix).
#
# Needs home-manager's own nixpkgs instance: with home-manager.useGlobalPkgs, add
# ballast.overlays.systemLibs to the NixOS nixpkgs.overlays instead. Several of these
# libraries (xz, bzip2, zstd, pcre2, ...) are in the stdenv bootstrap, so this rebuilds
# every package home-manager installs, from source.
{ config, lib, ... }:

let
  ballastLib = import ../../lib;
  top = config.programs.ballast;
  cfg = top.systemLibs;
in
{
  imports = [ ./common.nix ];

  options.programs.ballast.systemLibs = {
    enable = lib.mkEnableOption "the library overlay with the profile's compiler flags (a rebuild of every home package)";

    libraries = lib.mkOption {
      type = lib.types.listOf (lib.types.enum ballastLib.overlays.names);
      default = ballastLib.overlays.names;
      defaultText = lib.literalExpression "ballast.lib.overlays.names";
      description = "nixpkgs attribute names of the libraries to rebuild.";
    };

    mold = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Link the libraries that allow it with mold (faster links, same code).";
    };
  };

  config = lib.mkIf cfg.enable {
    nixpkgs.overlays = [
      (ballastLib.overlays.systemLibsOverlay { inherit (top.profile) cpu; names = cfg.libraries; inherit (cfg) mold; })
    ];
  };
}
