# Memory decisions from a hardware profile: zram swap, the VM sysctls, the I/O scheduler.
# The numbers come from the profile's `ballast` part (ballast's own profile), so the
# agent checks exactly what the NixOS module sets.
let
  inherit (builtins) elem toString;
  units = import ./units.nix;

  kernels = {
    nvme = ''KERNEL=="nvme[0-9]*"'';
    ssd = ''KERNEL=="sd[a-z]*", ATTR{queue/rotational}=="0"'';
    hdd = ''KERNEL=="sd[a-z]*", ATTR{queue/rotational}=="1"'';
  };
  schedulers = [ "none" "mq-deadline" "kyber" "bfq" ];
in
{
  # NixOS zramSwap settings. memoryPercent is whole percent of RAM; `size` is for people.
  zram = profile:
    let
      z = profile.ballast.zram;
      memoryPercent = units.percent z.fraction;
    in
    {
      inherit (z) algorithm priority;
      inherit memoryPercent;
      size = units.formatSize (units.scaleSize profile.ballast.machine.ram memoryPercent 100);
    };

  # boot.kernel.sysctl
  sysctl = profile:
    let s = profile.ballast.sysctl;
    in
    {
      "vm.swappiness" = s.swappiness;
      "vm.vfs_cache_pressure" = s.vfs_cache_pressure;
      "vm.dirty_ratio" = s.dirty_ratio;
      "vm.dirty_background_ratio" = s.dirty_background_ratio;
    };

  # A udev rule that sets the system disk kind's scheduler on whole disks (not partitions).
  schedulerRule = storage:
    if storage.scheduler or null == null then ""
    else if !(kernels ? ${storage.kind}) then throw "profile.storage.kind: nvme, ssd or hdd, found \"${toString storage.kind}\""
    else if !elem storage.scheduler schedulers then throw "profile.storage.scheduler: none, mq-deadline, kyber or bfq, found \"${storage.scheduler}\""
    else ''ACTION=="add|change", SUBSYSTEM=="block", ENV{DEVTYPE}=="disk", ${kernels.${storage.kind}}, ATTR{queue/scheduler}="${storage.scheduler}"'' + "\n";
}
