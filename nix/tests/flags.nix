# nix/lib/flags.nix: profile -> compiler flags.
let
  f = import ../lib/flags.nix;
  cpu = (import ../profiles/shoshin.nix).cpu;
in
{
  shoshinCFlags = { expr = f.cflags cpu; expected = "-march=skylake -mtune=skylake -O3"; };
  listForm = { expr = f.cflagsList cpu; expected = [ "-march=skylake" "-mtune=skylake" "-O3" ]; };
  rust = { expr = f.rustflags cpu; expected = "-C target-cpu=skylake"; };
  hostPlatform = {
    expr = f.hostPlatform "x86_64-linux" cpu;
    expected = { system = "x86_64-linux"; gcc = { arch = "skylake"; tune = "skylake"; }; };
  };
  otherMachine = {
    expr = f.cflags { march = "znver3"; mtune = "znver3"; optimize = "-O2"; };
    expected = "-march=znver3 -mtune=znver3 -O2";
  };
  refusesOfast = { throws = f.cflags (cpu // { optimize = "-Ofast"; }); };
  refusesFlagInjection = { throws = f.cflags (cpu // { march = "skylake -fno-stack-protector"; }); };
}
