#!/usr/bin/env bash
# Installs what a make target needs, skipping what is already present.
# Usage: scripts/deps.sh run|test|bench
set -euo pipefail

# The dashboard (dashboard/, cxx-qt): a C++ compiler and Qt 6 to build it, and the QML
# modules its window imports to run it.
qt=(g++ pkg-config qt6-base-dev qt6-declarative-dev qml6-module-qtquick qml6-module-qtquick-controls
    qml6-module-qtquick-templates qml6-module-qtquick-window qml6-module-qtquick-layouts
    qml6-module-qtqml-workerscript)

case "${1:-}" in
  run)   packages=(procps "${qt[@]}") ;;
  # procps: `free` and `ps`, the peers the live tests compare with.
  # libkf5config-bin: kreadconfig5/kwriteconfig5 and kconf_update, the peers of the KConfig
  # tests and of `ballast doctor`'s Baloo check.
  # nix-bin: nix-instantiate and nix, which evaluate the Nix files and the flake offline.
  # dbus, dbus-user-session, systemd, passwd: a real session bus, `systemd --user` manager
  # and test user for the launch tests.
  # xvfb, kwin-x11, baloo-kf5, dunst, libnotify-bin, kded5, plasma-workspace: the real KWin,
  # Baloo, notification server and tray watcher the tune and agent tests run against.
  # debootstrap, e2fsprogs: build the real-desktop guest's image (testbed/image.sh).
  # chromium: the browser that moves itself out of its scope, which the agent gathers back.
  test)  packages=(procps libkf5config-bin nix-bin dbus dbus-user-session systemd passwd xvfb kwin-x11 baloo-kf5 dunst libnotify-bin kded5 plasma-workspace debootstrap e2fsprogs chromium "${qt[@]}") ;;
  # debootstrap, e2fsprogs (and qemu below): the guest `testbed bench` measures the agent in;
  # linux-perf: `perf stat` times the agent's idle tick natively (testbed/calibrate.sh).
  bench) packages=(procps dbus dbus-user-session systemd passwd xvfb dunst kded5 plasma-workspace debootstrap e2fsprogs linux-perf "${qt[@]}") ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 64 ;;
esac

if ! command -v cargo >/dev/null 2>&1; then
  echo "ballast needs Rust 1.88 or newer (the dashboard; the agent 1.82): install it with rustup (https://rustup.rs)," >&2
  echo "then run make again. Debian 12's own rustc (1.63) is too old." >&2
  exit 1
fi

# `make test` checks the house style with rustfmt and clippy (issue 15).
if [ "$1" = test ] && command -v rustup >/dev/null 2>&1; then
  for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
      echo "ballast: installing the $component component with rustup"
      rustup component add "$component"
    fi
  done
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# Debian packages (elsewhere, e.g. NixOS, `nix develop` provides them).
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "ballast: installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

# The real-desktop guest (testbed/): qemu from bookworm-backports (this machine kind ships
# backports' qemu-utils 10, which bookworm's qemu-system-x86 7.2 refuses to sit beside).
if { [ "$1" = test ] || [ "$1" = bench ]; } && command -v dpkg-query >/dev/null 2>&1 \
  && ! dpkg-query -W -f='${Status}' qemu-system-x86 2>/dev/null | grep -q "install ok installed"; then
  if ! apt-cache policy 2>/dev/null | grep -q bookworm-backports; then
    mirror="$("$(dirname "$0")/debian-mirror.sh")"
    echo "ballast: adding bookworm-backports ($mirror) for qemu"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" \
      | "${sudo[@]}" tee /etc/apt/sources.list.d/ballast-bookworm-backports.sources > /dev/null
  fi
  echo "ballast: installing qemu (bookworm-backports)"
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-system-x86 qemu-utils ipxe-qemu
fi

# The Nix linters come from crates.io (Debian 12 has neither).
if [ "$1" = test ]; then
  for tool in deadnix@1.3.1 nixpkgs-fmt@1.3.0; do
    name="${tool%@*}"
    if ! command -v "$name" >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/$name" ]; then
      echo "ballast: installing $name with cargo install (1-2 minutes)"
      cargo install --locked --quiet "$tool"
    fi
  done
fi
