#!/usr/bin/env bash
# Installs the Debian packages a make target needs, skipping those already present.
# Usage: scripts/deps.sh run|test|bench
set -euo pipefail

case "${1:-}" in
  run)   packages=(procps) ;;
  # procps: `free` and `ps`, the peers the live tests compare with.
  # libkf5config-bin: kreadconfig5/kwriteconfig5, the peers of the KConfig tests and of
  # `ballast doctor`'s Baloo check. nix-bin: nix-instantiate, which parses the Nix files.
  # dbus, dbus-user-session, systemd: a real session bus and `systemd --user` manager for
  # the launch tests.
  # xvfb, kwin-x11, baloo-kf5, dunst, libnotify-bin, kded5, plasma-workspace: the real
  # KWin, Baloo, notification server and tray watcher the tune and agent tests run against.
  test)  packages=(procps libkf5config-bin nix-bin dbus dbus-user-session systemd passwd xvfb kwin-x11 baloo-kf5 dunst libnotify-bin kded5 plasma-workspace) ;;
  bench) packages=(procps) ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 64 ;;
esac

if ! command -v cargo >/dev/null 2>&1; then
  echo "ballast needs Rust 1.80 or newer: install it with rustup (https://rustup.rs)," >&2
  echo "then run make again. Debian 12's own rustc (1.63) is too old." >&2
  exit 1
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian (NixOS uses `nix develop`/`nix run`): nothing to install here.
  exit 0
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "ballast: installing Debian packages: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
