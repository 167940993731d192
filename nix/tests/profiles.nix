# nix/lib/profiles.nix and nix/profiles/shoshin.nix: the reference machine's facts.
let
  p = import ../lib/profiles.nix;
  s = p.shoshin;
  bigger = p.extend s { name = "bigger"; cpu.march = "znver3"; ballast.machine = { ram = "32G"; workload_cores = 6; }; };
in
{
  cpu = { expr = { inherit (s.cpu) march mtune optimize cores threadsPerCore; }; expected = { march = "skylake"; mtune = "skylake"; optimize = "-O3"; cores = 4; threadsPerCore = 2; }; };
  gpu = { expr = s.gpu; expected = { vendor = "nvidia"; model = "GeForce GTX 960"; architecture = "maxwell"; cudaCapability = "5.2"; memory = "4G"; }; };
  memory = { expr = [ s.memory.ram s.memory.zram.fraction ]; expected = [ "16G" 0.75 ]; };
  storage = { expr = s.storage; expected = { kind = "nvme"; scheduler = "none"; }; };
  extendKeepsTheRest = { expr = [ bigger.cpu.mtune bigger.gpu.model bigger.ballast.machine.os_cores ]; expected = [ "skylake" "GeForce GTX 960" 2 ]; };
  extendRecomputes = { expr = [ bigger.cpu.cores bigger.memory.ram bigger.cpu.march ]; expected = [ 8 "32G" "znver3" ]; };
  checkNamesWhatIsMissing = { throws = p.check (removeAttrs s [ "storage" ]); };
  referenceIsShoshin = { expr = p.reference.name; expected = "shoshin"; };
}
