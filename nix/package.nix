# ballast: the agent binary, its desktop entry and icon, and its systemd user unit.
#
# The agent never links Qt (DESIGN.md). The Qt dashboard is a separate workspace member
# (dashboard/); once it exists it is built with Qt 6 (qtbase, qtdeclarative), wrapped by
# wrapQtAppsHook, and linked with lld (cxx-qt's build asks for gold when `ld` is bfd, which
# fails: FACTS.md). Until then none of that is pulled in.
{ lib
, rustPlatform
, installShellFiles
, qt6
, lld
, withDashboard ? builtins.pathExists ../dashboard/Cargo.toml
  # A hardware profile's cpu (ballast.lib.profiles.shoshin.cpu) to build for that CPU only
  # (-C target-cpu=its march); null builds for any x86-64.
, cpu ? null
}:

let
  ballastLib = import ./lib;
  exe = "${placeholder "out"}/bin/ballast";
  fs = lib.fileset;
in
rustPlatform.buildRustPackage {
  pname = "ballast";
  inherit (ballastLib) version;

  # Only what cargo reads: no target/, no .git, no Nix files (editing them rebuilds nothing).
  # Every workspace member's manifest must be there for cargo to load the workspace, so the
  # test-only member (testbed/) comes too; nothing of it is built.
  src = fs.toSource {
    root = ../.;
    fileset = fs.unions ([
      ../Cargo.toml
      ../Cargo.lock
      ../src
      ../benches
      ../tests
      ../icons
      ../data
      (fs.maybeMissing ../build.rs)
      (fs.maybeMissing ../qml)
      ../testbed
    ] ++ lib.optional withDashboard ../dashboard);
  };

  cargoLock.lockFile = ../Cargo.lock;

  cargoBuildFlags = lib.optionals withDashboard [ "--workspace" ];

  nativeBuildInputs = [ installShellFiles ] ++ lib.optionals withDashboard [ qt6.wrapQtAppsHook lld ];
  buildInputs = lib.optionals withDashboard [ qt6.qtbase qt6.qtdeclarative ];
  # Only the dashboard is a Qt program; the agent must not be wrapped with Qt's environment.
  dontWrapQtApps = true;

  env = lib.optionalAttrs (cpu != null) {
    RUSTFLAGS = ballastLib.flags.rustflags cpu;
  };

  # The test suite reads the live host and talks to KDE programs and a systemd user
  # manager: `make test` runs it; the build sandbox has none of them.
  doCheck = false;

  # The templates of data/, as `ballast autostart enable` writes them (nix/lib/systemd.nix).
  agentUnit = ballastLib.systemd.agentUnitText exe;
  desktopEntry = ballastLib.systemd.desktopEntryText exe;
  passAsFile = [ "agentUnit" "desktopEntry" ];

  postInstall = ''
    install -Dm644 icons/ballast.svg $out/share/icons/hicolor/scalable/apps/ballast.svg
    install -Dm644 "$desktopEntryPath" $out/share/applications/${ballastLib.systemd.appId}.desktop
    install -Dm644 "$agentUnitPath" $out/lib/systemd/user/${ballastLib.systemd.unitName}
    # build.rs's man pages and shell completions (from src/cli.rs), in its OUT_DIR.
    generated=$(dirname "$(find target -path '*/build/ballast-*/out/man' -type d | head -n1)")
    installManPage "$generated"/man/*.1
    installShellCompletion --cmd ballast \
      --bash "$generated/completions/ballast.bash" \
      --zsh "$generated/completions/_ballast" \
      --fish "$generated/completions/ballast.fish"
  '' + lib.optionalString withDashboard ''
    for program in $out/bin/*; do
      [ "$(basename "$program")" = ballast ] || wrapQtApp "$program"
    done
  '';

  meta = {
    description = "KDE Plasma tray agent that keeps a Linux desktop inside a memory budget";
    license = with lib.licenses; [ mit asl20 ];
    mainProgram = "ballast";
    platforms = lib.platforms.linux;
  };
}
