# nix/lib/cgroups.nix: slice limits, core split.
let
  c = import ../lib/cgroups.nix;
  profile = (import ../profiles/shoshin.nix).ballast;
  inherit (profile) machine;
in
{
  split = { expr = c.split machine; expected = { os = "0-1,4-5"; workload = "2-3,6-7"; }; };
  splitWithoutSmt = {
    expr = c.split { os_cores = 2; workload_cores = 4; threads_per_core = 1; };
    expected = { os = "0-1"; workload = "2-5"; };
  };
  splitOneOsCore = {
    expr = c.split { os_cores = 1; workload_cores = 7; threads_per_core = 2; };
    expected = { os = "0,8"; workload = "1-7,9-15"; };
  };
  userSlice = { expr = c.userSlice machine; expected = { MemoryHigh = "12G"; MemoryMax = "14G"; CPUQuota = "600%"; }; };
  userSliceBiggerMachine = {
    expr = c.userSlice (machine // { ram = "32G"; os_cores = 2; workload_cores = 6; });
    expected = { MemoryHigh = "24G"; MemoryMax = "28G"; CPUQuota = "1400%"; };
  };
  ranges = { expr = c.ranges [ 7 0 1 2 4 5 ]; expected = "0-2,4-5,7"; };
  noSuchCores = { throws = c.cpuList { cores = 4; threadsPerCore = 2; first = 3; count = 2; }; };
  sessionMemoryLow = { expr = c.sessionMemoryLow profile; expected = "250M"; };
  sessionMemoryLowCapped = {
    expr = c.sessionMemoryLow (profile // { machine = machine // { ram = "2G"; }; });
    expected = "214748364";
  };
  displayManager = { expr = c.displayManager.OOMScoreAdjust; expected = -900; };
  delegatesCpuset = { expr = c.userDelegate; expected = "cpu cpuset io memory pids"; };
}
