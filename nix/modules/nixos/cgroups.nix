# Slices: the user slice's limits, the OS/workload core split, the session's and the display
# manager's protection. Every number comes from the hardware profile (nix/lib/cgroups.nix).
{ config, lib, ... }:

let
  ballastLib = import ../../lib;
  cfg = config.ballast.cgroups;
  inherit (config.ballast.profile.ballast) machine;
  userSlice = ballastLib.cgroups.userSlice machine;
  split = ballastLib.cgroups.split machine;
in
{
  imports = [ ./common.nix ];

  options.ballast.cgroups = {
    enable = lib.mkEnableOption "the ballast user slice limits, core split and display-manager protection";

    userSlice = {
      memoryHigh = lib.mkOption {
        type = lib.types.str;
        default = userSlice.MemoryHigh;
        defaultText = lib.literalExpression "3/4 of ballast.profile.ballast.machine.ram";
        description = "MemoryHigh= of user.slice (all sessions): reclaim and throttle above it.";
      };
      memoryMax = lib.mkOption {
        type = lib.types.str;
        default = userSlice.MemoryMax;
        defaultText = lib.literalExpression "7/8 of ballast.profile.ballast.machine.ram";
        description = "MemoryMax= of user.slice: the OOM killer acts inside the slice above it.";
      };
      cpuQuota = lib.mkOption {
        type = lib.types.str;
        default = userSlice.CPUQuota;
        defaultText = lib.literalExpression "all threads but one core's, in percent";
        description = "CPUQuota= of user.slice.";
      };
    };

    cpuSplit = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = true;
        description = ''
          Pin system.slice to the OS cores and the users' app.slice (where launchers and
          `ballast launch` put apps) to the workload cores. Needs the cpuset controller
          delegated to user managers, which this also does.
        '';
      };
      systemCPUs = lib.mkOption {
        type = lib.types.str;
        default = split.os;
        defaultText = lib.literalExpression "the profile's os_cores, with their sibling threads";
        example = "0-1,4-5";
        description = "AllowedCPUs= of system.slice.";
      };
      appCPUs = lib.mkOption {
        type = lib.types.str;
        default = split.workload;
        defaultText = lib.literalExpression "the profile's workload_cores, with their sibling threads";
        example = "2-3,6-7";
        description = "AllowedCPUs= of every user's app.slice.";
      };
    };

    protectSession = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = true;
        description = ''
          Make every user's desktop the last thing to lose memory: MemoryLow= on user.slice,
          user-UID.slice, user@UID.service and the user manager's session.slice (where
          Plasma's units run; memory protection is hierarchical, so each level needs it), and
          systemd-oomd on with ManagedOOMMemoryPressure=kill on the users' app.slice, so under
          sustained pressure an app is killed there before the desktop is starved.
        '';
      };
      memoryLow = lib.mkOption {
        type = lib.types.str;
        default = ballastLib.cgroups.sessionMemoryLow config.ballast.profile.ballast;
        defaultText = lib.literalExpression "ballast.profile.ballast.protect.session_memory_low, at most a tenth of the machine's RAM";
        example = "512M";
        description = "MemoryLow= of the session and of every level above it.";
      };
    };

    protectDisplayManager = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Keep display-manager.service (SDDM, the X server) out of OOM kills and reclaim.";
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      # user.slice and system.slice come with systemd: add drop-ins, do not replace them.
      systemd.slices.user = {
        overrideStrategy = "asDropin";
        sliceConfig = {
          MemoryHigh = cfg.userSlice.memoryHigh;
          MemoryMax = cfg.userSlice.memoryMax;
          CPUQuota = cfg.userSlice.cpuQuota;
        };
      };
    }
    (lib.mkIf cfg.cpuSplit.enable {
      systemd.slices.system = {
        overrideStrategy = "asDropin";
        sliceConfig.AllowedCPUs = cfg.cpuSplit.systemCPUs;
      };
      systemd.user.slices.app = {
        overrideStrategy = "asDropin";
        sliceConfig.AllowedCPUs = cfg.cpuSplit.appCPUs;
      };
      systemd.services."user@" = {
        overrideStrategy = "asDropin";
        serviceConfig.Delegate = ballastLib.cgroups.userDelegate;
      };
    })
    (lib.mkIf cfg.protectSession.enable {
      systemd.slices.user.sliceConfig.MemoryLow = cfg.protectSession.memoryLow;
      systemd.slices."user-" = {
        overrideStrategy = "asDropin";
        sliceConfig.MemoryLow = cfg.protectSession.memoryLow;
      };
      systemd.services."user@" = {
        overrideStrategy = "asDropin";
        serviceConfig.MemoryLow = cfg.protectSession.memoryLow;
      };
      systemd.user.slices.session = {
        overrideStrategy = "asDropin";
        sliceConfig.MemoryLow = cfg.protectSession.memoryLow;
      };
      systemd.user.slices.app = {
        overrideStrategy = "asDropin";
        sliceConfig.ManagedOOMMemoryPressure = "kill";
      };
      systemd.oomd.enable = lib.mkDefault true;
    })
    (lib.mkIf cfg.protectDisplayManager {
      systemd.services.display-manager.serviceConfig = ballastLib.cgroups.displayManager;
    })
  ]);
}
