# zram swap and the VM sysctls of the hardware profile, and its disk's I/O scheduler.
{ config, lib, ... }:

let
  ballastLib = import ../../lib;
  cfg = config.ballast.memory;
  inherit (config.ballast) profile;
  zram = ballastLib.memory.zram profile;
in
{
  imports = [ ./common.nix ];

  options.ballast.memory = {
    enable = lib.mkEnableOption "zram swap and the VM sysctls of the ballast hardware profile";

    zram = {
      algorithm = lib.mkOption {
        type = lib.types.str;
        default = zram.algorithm;
        defaultText = lib.literalExpression "ballast.profile.ballast.zram.algorithm";
        description = "zram compression algorithm.";
      };
      memoryPercent = lib.mkOption {
        type = lib.types.ints.positive;
        default = zram.memoryPercent;
        defaultText = lib.literalExpression "ballast.profile.ballast.zram.fraction * 100";
        description = "zram device size in percent of RAM (75: 12G on 16G).";
      };
      priority = lib.mkOption {
        type = lib.types.int;
        default = zram.priority;
        defaultText = lib.literalExpression "ballast.profile.ballast.zram.priority";
        description = "Swap priority of the zram device (above any disk swap).";
      };
    };

    sysctl = lib.mkOption {
      type = lib.types.attrsOf lib.types.int;
      default = ballastLib.memory.sysctl profile;
      defaultText = lib.literalExpression "ballast.lib.memory.sysctl ballast.profile";
      description = "VM sysctls: swappiness, vfs_cache_pressure, dirty_ratio, dirty_background_ratio.";
    };

    ioScheduler = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Set the profile's I/O scheduler (storage.scheduler) on disks of its kind with a udev rule.";
    };
  };

  # mkDefault: a value set directly on the NixOS option (zramSwap.priority, ...) wins.
  config = lib.mkIf cfg.enable {
    zramSwap = {
      enable = true;
      algorithm = lib.mkDefault cfg.zram.algorithm;
      memoryPercent = lib.mkDefault cfg.zram.memoryPercent;
      priority = lib.mkDefault cfg.zram.priority;
    };
    boot.kernel.sysctl = lib.mapAttrs (_: lib.mkDefault) cfg.sysctl;
    services.udev.extraRules = lib.mkIf cfg.ioScheduler (ballastLib.memory.schedulerRule profile.storage);
  };
}
