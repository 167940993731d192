# nix/lib/memory.nix: zram, sysctls, I/O scheduler.
let
  m = import ../lib/memory.nix;
  p = import ../lib/profiles.nix;
  shoshin = p.shoshin;
  small = p.extend shoshin { ballast = { machine.ram = "8G"; zram.fraction = 0.5; }; };
in
{
  zram = { expr = m.zram shoshin; expected = { algorithm = "zstd"; memoryPercent = 75; priority = 100; size = "12G"; }; };
  zramFollowsTheProfile = { expr = m.zram small; expected = { algorithm = "zstd"; memoryPercent = 50; priority = 100; size = "4G"; }; };
  sysctl = {
    expr = m.sysctl shoshin;
    expected = { "vm.swappiness" = 10; "vm.vfs_cache_pressure" = 50; "vm.dirty_ratio" = 10; "vm.dirty_background_ratio" = 5; };
  };
  nvmeScheduler = {
    expr = m.schedulerRule shoshin.storage;
    expected = ''ACTION=="add|change", SUBSYSTEM=="block", ENV{DEVTYPE}=="disk", KERNEL=="nvme[0-9]*", ATTR{queue/scheduler}="none"'' + "\n";
  };
  ssdScheduler = {
    expr = m.schedulerRule { kind = "ssd"; scheduler = "mq-deadline"; };
    expected = ''ACTION=="add|change", SUBSYSTEM=="block", ENV{DEVTYPE}=="disk", KERNEL=="sd[a-z]*", ATTR{queue/rotational}=="0", ATTR{queue/scheduler}="mq-deadline"'' + "\n";
  };
  noSchedulerNoRule = { expr = m.schedulerRule { kind = "nvme"; scheduler = null; }; expected = ""; };
  refusesUnknownScheduler = { throws = m.schedulerRule { kind = "nvme"; scheduler = "cfq"; }; };
  refusesUnknownDisk = { throws = m.schedulerRule { kind = "floppy"; scheduler = "none"; }; };
}
