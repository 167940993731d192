# Compiler flags from a hardware profile's CPU (profile.cpu: march, mtune, optimize).
let
  inherit (builtins) concatStringsSep elem match;

  # -Ofast is left out on purpose: it breaks IEEE floating point, which glibc's libm and
  # most numeric code rely on.
  levels = [ "-O2" "-O3" "-Os" ];

  checked = cpu:
    if match "[a-z0-9_.-]+" cpu.march == null then throw "profile.cpu.march: a gcc -march name like \"skylake\", found \"${cpu.march}\""
    else if match "[a-z0-9_.-]+" cpu.mtune == null then throw "profile.cpu.mtune: a gcc -mtune name like \"skylake\", found \"${cpu.mtune}\""
    else if !elem cpu.optimize levels then throw "profile.cpu.optimize: one of ${concatStringsSep ", " levels}, found \"${cpu.optimize}\""
    else cpu;

  cflagsList = cpu:
    let c = checked cpu;
    in [ "-march=${c.march}" "-mtune=${c.mtune}" c.optimize ];
in
{
  inherit levels cflagsList;

  # "-march=skylake -mtune=skylake -O3": what the library overlays add to NIX_CFLAGS_COMPILE.
  cflags = cpu: concatStringsSep " " (cflagsList cpu);

  # rustc's equivalent for the ballast package itself (target-cpu implies the tuning).
  rustflags = cpu: "-C target-cpu=${(checked cpu).march}";

  # nixpkgs.hostPlatform for a whole-system -march build (the nixpkgs-native alternative to
  # the overlays: every package, bootstrap included, gets -march/-mtune, but not -O).
  hostPlatform = system: cpu:
    let c = checked cpu;
    in { inherit system; gcc = { arch = c.march; tune = c.mtune; }; };
}
