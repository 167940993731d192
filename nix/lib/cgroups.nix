# cgroup decisions from a hardware profile: the user slice's limits, the OS/workload core
# split, the display manager's protection.
let
  inherit (builtins) concatStringsSep genList sort toString;
  units = import ./units.nix;

  # "0,1,2,4,5" -> "0-2,4-5"
  ranges = cpus:
    let
      sorted = sort (a: b: a < b) cpus;
      step = acc: cpu:
        if acc != [ ] && (builtins.head acc).last + 1 == cpu
        then [ ((builtins.head acc) // { last = cpu; }) ] ++ builtins.tail acc
        else [{ first = cpu; last = cpu; }] ++ acc;
      runs = builtins.foldl' step [ ] sorted;
      show = run: if run.first == run.last then toString run.first else "${toString run.first}-${toString run.last}";
    in
    concatStringsSep "," (map show (builtins.foldl' (acc: run: [ run ] ++ acc) [ ] runs));

  # Logical CPUs of physical cores first .. first+count-1. Linux numbers the first thread of
  # every core 0 .. cores-1 and their siblings cores .. 2*cores-1 (Intel and AMD desktops).
  cpuList = { cores, threadsPerCore, first, count }:
    if first + count > cores then throw "cores ${toString first}..${toString (first + count - 1)} do not exist on a ${toString cores}-core CPU"
    else ranges (builtins.concatLists (genList (thread: genList (core: first + core + thread * cores) count) threadsPerCore));

  # MemoryLow= that keeps the Plasma session out of reclaim: the profile's
  # protect.session_memory_low capped at a tenth of RAM, as uresourced caps its reservation
  # (the agent caps it the same way, src/protect.rs). memory.low is hierarchical (kernel
  # cgroup-v2.rst), so user.slice, user-UID.slice, user@UID.service and the user manager's
  # session.slice all need it.
  sessionMemoryLow = ballast:
    let
      wanted = units.parseSize ballast.protect.session_memory_low;
      cap = units.parseSize ballast.machine.ram / 10;
    in
    units.formatSize (if wanted < cap then wanted else cap);
in
{
  inherit ranges cpuList sessionMemoryLow;

  # The user manager's drop-ins of the session's protection, as home-manager's
  # xdg.configFile entries (under ~/.config/systemd/user): MemoryLow= of session.slice, and
  # with protect.app_slice_oomd, ManagedOOMMemoryPressure=kill on the launch slice.
  sessionDropIns = ballast:
    {
      "systemd/user/session.slice.d/ballast-protect.conf".text = "[Slice]\nMemoryLow=${sessionMemoryLow ballast}\n";
    }
    // (if ballast.protect.app_slice_oomd then {
      "systemd/user/${ballast.launch.slice}.d/ballast-protect.conf".text = "[Slice]\nManagedOOMMemoryPressure=kill\n";
    } else { });

  # AllowedCPUs for system.slice (os) and the user's app.slice (workload): the profile's
  # core split, os cores first.
  split = machine:
    let
      cores = machine.os_cores + machine.workload_cores;
      threadsPerCore = machine.threads_per_core;
    in
    {
      os = cpuList { inherit cores threadsPerCore; first = 0; count = machine.os_cores; };
      workload = cpuList { inherit cores threadsPerCore; first = machine.os_cores; count = machine.workload_cores; };
    };

  # user.slice, all sessions together: throttled at 3/4 of RAM, capped at 7/8, and all
  # CPUs but one core's threads (16G -> 12G / 14G, 4 cores x 2 threads -> 600%).
  userSlice = machine:
    let threads = (machine.os_cores + machine.workload_cores) * machine.threads_per_core;
    in
    {
      MemoryHigh = units.formatSize (units.scaleSize machine.ram 3 4);
      MemoryMax = units.formatSize (units.scaleSize machine.ram 7 8);
      CPUQuota = units.formatQuota ((threads - machine.threads_per_core) * 100);
    };

  # display-manager.service (SDDM and, on X11, the X server): last in line for the OOM
  # killer and systemd-oomd, and its working set kept out of reclaim. OOMScoreAdjust is a
  # service property (scopes cannot have it), so this is the place for it.
  displayManager = {
    OOMScoreAdjust = -900;
    ManagedOOMPreference = "avoid";
    MemoryLow = "128M";
  };

  # user@.service hands these controllers to the user manager; cpuset is needed for
  # AllowedCPUs= on the user's app.slice (systemd delegates only cpu, memory, pids by default).
  userDelegate = "cpu cpuset io memory pids";
}
