# nix/lib/overlays.nix, applied to stand-in packages: flags land where each package keeps
# them, nothing gains a build input, mold only where the table allows it.
let
  o = import ../lib/overlays.nix;
  cpu = (import ../profiles/shoshin.nix).cpu;
  cflags = "-march=skylake -mtune=skylake -O3";

  # A package as overrideAttrs and override see it; `override` takes a stdenv.
  stub = attrs: {
    inherit attrs;
    overrideAttrs = f: stub (attrs // f attrs);
    override = {
      __functionArgs = { stdenv = false; };
      __functor = _: args: stub (attrs // { overriddenWith = args; });
    };
  };
  names = o.names ++ [ "glibc" "zlib" ];
  prev = builtins.listToAttrs (map (name: { inherit name; value = stub { nativeBuildInputs = [ "pkg-config" ]; }; }) names) // {
    glibc = stub { NIX_CFLAGS_COMPILE = "-Wno-error"; };
    libpng = stub { env.NIX_CFLAGS_COMPILE = "-DPNG"; nativeBuildInputs = [ ]; };
  };
  final = { stdenv = "stdenv"; stdenvAdapters.useMoldLinker = stdenv: "mold+${stdenv}"; };

  apply = overlay: overlay final prev;
  all = apply (o.systemLibsOverlay { inherit cpu; });
  withMold = apply (o.systemLibsOverlay { inherit cpu; mold = true; });
  boot = apply (o.bootstrapOverlay { inherit cpu; });
  flagsOf = pkg: pkg.attrs.env.NIX_CFLAGS_COMPILE or pkg.attrs.NIX_CFLAGS_COMPILE;
in
{
  thirtyPlus = { expr = builtins.length o.names >= 30; expected = true; };
  allGroups = {
    expr = builtins.attrNames o.groups;
    expected = [ "async-io" "compression" "crypto" "database" "font" "image" "network" "text" "xml-json" ];
  };
  everyLibraryGetsTheFlags = {
    expr = builtins.filter (name: flagsOf all.${name} != cflags) (builtins.filter (n: n != "libpng") o.names);
    expected = [ ];
  };
  keepsThePackagesOwnFlags = { expr = flagsOf all.libpng; expected = "-DPNG ${cflags}"; };
  topLevelFlagsStayTopLevel = {
    expr = [ boot.glibc.attrs.NIX_CFLAGS_COMPILE (boot.glibc.attrs ? env) ];
    expected = [ "-Wno-error ${cflags}" false ];
  };
  noNewBuildInputs = {
    expr = builtins.filter (name: all.${name}.attrs.nativeBuildInputs != prev.${name}.attrs.nativeBuildInputs) o.names;
    expected = [ ];
  };
  bootstrapIsGlibcAndZlib = { expr = builtins.attrNames boot; expected = [ "glibc" "zlib" ]; };
  missingLibrariesAreSkipped = {
    expr = builtins.attrNames (o.systemLibsOverlay { inherit cpu; names = [ "zstd" "liburing" ]; } final (removeAttrs prev [ "liburing" ]));
    expected = [ "zstd" ];
  };
  moldOffByDefault = { expr = builtins.filter (name: all.${name}.attrs ? overriddenWith) o.names; expected = [ ]; };
  moldOnlyWhereSafe = {
    expr = builtins.filter (name: withMold.${name}.attrs ? overriddenWith) o.names;
    expected = o.moldLibraries;
  };
  moldStdenv = { expr = withMold.libsodium.attrs.overriddenWith.stdenv; expected = "mold+stdenv"; };
  moldNeverInTheToolchain = { expr = builtins.filter (name: builtins.elem name o.toolchain) o.moldLibraries; expected = [ ]; };
  unknownLibrary = { throws = o.systemLibsOverlay { inherit cpu; names = [ "libfoo" ]; } final prev; };
}
