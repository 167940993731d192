# The bootstrap-critical libraries (glibc, zlib) rebuilt with the profile's -march/-mtune/-O.
#
# Off by default, and meant to stay off unless you want it: every package links glibc and
# nearly every one zlib, so enabling this rebuilds the whole system from source, stdenv
# bootstrap included, with nothing from the binary cache (hours on the reference machine),
# and again after every nixpkgs update that touches either. docs/nix.md says more.
{ config, lib, ... }:

let
  ballastLib = import ../../lib;
  cfg = config.ballast.systemLibs;
in
{
  imports = [ ./common.nix ];

  options.ballast.systemLibs = {
    enable = lib.mkEnableOption ''
      glibc and zlib built with the hardware profile's compiler flags
      (-march/-mtune/-O). This rebuilds the whole system from source'';
  };

  config = lib.mkIf cfg.enable {
    nixpkgs.overlays = [ (ballastLib.overlays.bootstrapOverlay { inherit (config.ballast.profile) cpu; }) ];
  };
}
