# Hardware profiles: the reference machine, and a way to describe another one.
let
  base = import ./base.nix;

  required = {
    cpu = [ "march" "mtune" "optimize" ];
    gpu = [ "vendor" "architecture" ];
    storage = [ "kind" "scheduler" ];
    ballast = [ "machine" "budget" "zram" "sysctl" "protect" "app" ];
  };

  # The descriptive attributes that restate `ballast` numbers, recomputed from it.
  finish = profile:
    profile // {
      cpu = profile.cpu // {
        cores = profile.ballast.machine.os_cores + profile.ballast.machine.workload_cores;
        threadsPerCore = profile.ballast.machine.threads_per_core;
      };
      memory = { inherit (profile.ballast.machine) ram; inherit (profile.ballast) zram; };
    };

  check = profile:
    let
      missing = builtins.concatMap
        (part: map (key: "${part}.${key}") (builtins.filter (key: !(profile.${part} or { }) ? ${key}) required.${part}))
        (builtins.attrNames required);
    in
    if missing == [ ] then profile
    else throw "the hardware profile \"${profile.name or "?"}\" lacks ${builtins.concatStringsSep ", " missing}";

  shoshin = check (import ../profiles/shoshin.nix);
in
{
  inherit shoshin check;
  reference = shoshin;

  # extend lib.profiles.shoshin { name = "mybox"; cpu.march = "znver3"; ballast.machine.ram = "32G"; }
  # Attribute sets merge, lists (the app catalog) are replaced; `memory` and `cpu.cores`
  # follow the `ballast` numbers.
  extend = profile: changes: check (finish (base.recursiveUpdate profile changes));
}
