# Hardware video decoding on the NVIDIA GPU: VA-API through nvidia-vaapi-driver (NVDEC),
# the VDPAU bridges, the session environment, and DRM kernel modesetting.
{ config, lib, pkgs, ... }:

let
  ballastLib = import ../../lib;
  cfg = config.ballast.vaapi;
  inherit (config.ballast.profile) gpu;
  drivers = ballastLib.gpu.vaapiPackages { inherit gpu; inherit (cfg) bridges; };
in
{
  imports = [ ./common.nix ];

  options.ballast.vaapi = {
    enable = lib.mkEnableOption "VA-API/VDPAU video decoding on the profile's NVIDIA GPU";

    bridges = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = ''
        Also install the VDPAU bridges: libvdpau-va-gl (VDPAU on VA-API) and
        libva-vdpau-driver (VA-API on VDPAU, selectable with LIBVA_DRIVER_NAME=vdpau).
      '';
    };

    environment = lib.mkOption {
      type = lib.types.attrsOf lib.types.str;
      default = ballastLib.gpu.vaapiEnvironment gpu;
      defaultText = lib.literalExpression ''
        { LIBVA_DRIVER_NAME = "nvidia"; NVD_BACKEND = "direct"; VDPAU_DRIVER = "nvidia"; MOZ_DISABLE_RDD_SANDBOX = "1"; }'';
      description = "Session variables for every login (environment.sessionVariables).";
    };
  };

  config = lib.mkIf cfg.enable {
    hardware.graphics = {
      enable = true;
      # nvidia-vaapi-driver first: libva-vdpau-driver ships a lib/dri/nvidia_drv_video.so too.
      extraPackages = [ (lib.hiPrio pkgs.${drivers.primary}) ] ++ map (name: pkgs.${name}) drivers.bridges;
    };
    environment.sessionVariables = lib.mapAttrs (_: lib.mkDefault) cfg.environment;
    boot.kernelParams = ballastLib.gpu.kernelParams gpu;
    hardware.nvidia = {
      modesetting.enable = lib.mkDefault true;
      # The open kernel modules drive Turing and newer only (a GTX 960 is Maxwell).
      open = lib.mkDefault (ballastLib.gpu.openKernelModule gpu);
    };
  };
}
