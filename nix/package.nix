{ lib, rustPlatform }:

rustPlatform.buildRustPackage {
  pname = "ballast";
  version = "0.1.0";

  src = lib.cleanSource ../.;
  cargoLock.lockFile = ../Cargo.lock;

  # The test suite reads the live host and talks to KDE programs (kreadconfig5, ...):
  # `make test` runs it; the build sandbox has neither.
  doCheck = false;

  postInstall = ''
    install -Dm644 icons/ballast.svg $out/share/icons/hicolor/scalable/apps/ballast.svg
  '';

  meta = {
    description = "KDE Plasma tray agent that keeps a Linux desktop inside a memory budget";
    license = with lib.licenses; [ mit asl20 ];
    mainProgram = "ballast";
    platforms = lib.platforms.linux;
  };
}
