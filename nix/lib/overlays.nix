# Library overlays with the profile's compiler flags (flags.nix). Builtins only: an overlay
# is `final: prev: { ... }` and needs nothing from nixpkgs but the packages it changes, so
# nix/tests/overlays.nix applies them to stand-in packages.
#
# Bootstrap-safe: an overlay only adds flags (overrideAttrs on NIX_CFLAGS_COMPILE) and never
# adds nativeBuildInputs, so no library gains a build dependency that itself needs the
# library (mold -> cmake -> curl -> openssl ... would loop). Linking with mold is opt-in and
# only for libraries outside the toolchain's own closure (`toolchain` below).
let
  inherit (builtins) concatStringsSep elem filter listToAttrs toString;
  flags = import ./flags.nix;

  lib = group: mold: name: { inherit name group mold; };

  # The seed's library set, by group: nixpkgs attribute names.
  systemLibs =
    map (lib "compression" false) [ "zstd" "lz4" "xz" "bzip2" "brotli" ]
    ++ map (lib "compression" true) [ "snappy" "libdeflate" ]
    ++ map (lib "crypto" false) [ "openssl" ]
    ++ map (lib "crypto" true) [ "libgcrypt" "libsodium" "nettle" ]
    ++ map (lib "database" false) [ "sqlite" ]
    ++ map (lib "database" true) [ "lmdb" "leveldb" ]
    ++ map (lib "network" false) [ "curl" "nghttp2" "c-ares" "libssh2" ]
    ++ map (lib "text" false) [ "pcre2" "libunistring" "libidn2" ]
    ++ map (lib "text" true) [ "icu" ]
    ++ map (lib "async-io" false) [ "libuv" ]
    ++ map (lib "async-io" true) [ "libevent" "liburing" ]
    ++ map (lib "image" true) [ "libpng" "libjpeg" "libwebp" "libtiff" "giflib" ]
    ++ map (lib "font" true) [ "freetype" "fontconfig" "harfbuzz" ]
    ++ map (lib "xml-json" false) [ "libxml2" "expat" ]
    ++ map (lib "xml-json" true) [ "libxslt" "json-c" "jansson" ];

  # Libraries in the closure of the compiler, binutils, mold and its build (cmake: curl,
  # libarchive, expat, libuv; python for meson: sqlite, expat, libffi) and the stdenv
  # bootstrap (grep's pcre2, gcc's gmp): never linked with mold.
  toolchain = [
    "glibc"
    "zlib"
    "zstd"
    "lz4"
    "xz"
    "bzip2"
    "brotli"
    "openssl"
    "sqlite"
    "curl"
    "nghttp2"
    "c-ares"
    "libssh2"
    "pcre2"
    "libunistring"
    "libidn2"
    "libuv"
    "libxml2"
    "expat"
    "libarchive"
    "ncurses"
    "readline"
    "libffi"
    "gmp"
    "mpfr"
    "libmpc"
    "acl"
    "attr"
  ];

  # The NixOS systemLibs set: everything links glibc and nearly everything zlib, so this
  # rebuilds the whole system (bootstrap included) from source.
  bootstrapCritical = [
    { name = "glibc"; group = "libc"; mold = false; }
    { name = "zlib"; group = "compression"; mold = false; }
  ];

  # Extra flags go where the package keeps its own: the top-level attribute, or env.
  withCFlags = cflags: old:
    let join = current: concatStringsSep " " (filter (s: s != "") [ (toString current) cflags ]);
    in
    if old ? NIX_CFLAGS_COMPILE then { NIX_CFLAGS_COMPILE = join old.NIX_CFLAGS_COMPILE; }
    else { env = (old.env or { }) // { NIX_CFLAGS_COMPILE = join (old.env.NIX_CFLAGS_COMPILE or ""); }; };

  # Packages whose override takes a stdenv can be relinked with mold.
  takesStdenv = package: (package.override.__functionArgs or { }) ? stdenv;

  # overlay { cpu = profile.cpu; libraries = [ ... ]; mold = false; }
  overlay = { cpu, libraries, mold ? false }:
    let cflags = flags.cflags cpu;
    in
    final: prev:
      listToAttrs (map
        (entry:
          let
            original = prev.${entry.name};
            relinked =
              if mold && entry.mold && takesStdenv original
              then original.override { stdenv = final.stdenvAdapters.useMoldLinker final.stdenv; }
              else original;
          in
          { inherit (entry) name; value = relinked.overrideAttrs (withCFlags cflags); })
        # A library missing from this nixpkgs (renamed, removed) is skipped, not an error.
        (filter (entry: prev ? ${entry.name}) libraries));

  pick = names:
    let
      all = systemLibs ++ bootstrapCritical;
      unknown = filter (n: !elem n (map (e: e.name) all)) names;
    in
    if unknown != [ ] then throw "unknown libraries ${concatStringsSep ", " unknown}; known: ${concatStringsSep ", " (map (e: e.name) all)}"
    else filter (e: elem e.name names) all;
in
{
  inherit systemLibs toolchain bootstrapCritical withCFlags pick;

  names = map (e: e.name) systemLibs;
  groups = builtins.groupBy (e: e.group) systemLibs;

  # home-manager's systemLibs: the seed's 30+ libraries (or those named).
  systemLibsOverlay = { cpu, names ? map (e: e.name) systemLibs, mold ? false }:
    overlay { inherit cpu mold; libraries = pick names; };

  # NixOS's systemLibs: glibc and zlib, a rebuild of everything.
  bootstrapOverlay = { cpu }: overlay { inherit cpu; libraries = bootstrapCritical; };

  # The libraries mold would touch (for tests and docs).
  moldLibraries = map (e: e.name) (filter (e: e.mold) systemLibs);
}
