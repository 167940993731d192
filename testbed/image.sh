#!/usr/bin/env bash
# Builds the real-desktop guest: Debian trixie with a Plasma 6 session (SDDM autologin of the
# user `tester` into Plasma Wayland), pipewire, Chromium, qemu-guest-agent, systemd-oomd, baloo6,
# the KF6 tools and at-spi2-core (the suite presses popup buttons through AT-SPI), as a raw
# ext4 image booted with its own kernel and initrd (FACTS.md, "The real desktop in a VM").
#
# Usage: testbed/image.sh CACHE_DIR
# Writes CACHE_DIR/image/{rootfs.img,vmlinuz,initrd.img,key} and keeps the .debs in
# CACHE_DIR/debs, and the image's file tree in CACHE_DIR/image/root (the suite runs the KF6
# tools natively in a chroot of it). An image whose key (this script's text) is unchanged is
# reused.
set -euo pipefail

cache="$(realpath -m "${1:?usage: image.sh CACHE_DIR}")"
image="$cache/image"
key="$(sha256sum "$0" | cut -d' ' -f1)"
if [ -f "$image/key" ] && [ "$(cat "$image/key")" = "$key" ] && [ -f "$image/rootfs.img" ] && [ -d "$image/root/usr" ]; then
  echo "testbed: image up to date ($image)" >&2
  exit 0
fi

# What the session needs, named; apt brings their dependencies (no recommends).
packages=(
  linux-image-amd64 systemd-sysv systemd-oomd udev dbus dbus-user-session libpam-systemd
  qemu-guest-agent kmod procps iproute2 login passwd sudo
  sddm sddm-theme-breeze plasma-desktop plasma-workspace kwin-wayland kwin-x11 kwin-common
  xwayland kded6 kscreen powerdevil polkit-kde-agent-1 xdg-desktop-portal-kde plasma-nm-
  breeze breeze-icon-theme fonts-noto-core fonts-dejavu-core libgl1-mesa-dri mesa-vulkan-drivers-
  qml6-module-qtquick qml6-module-qtquick-controls qml6-module-qtquick-templates
  qml6-module-qtquick-window qml6-module-qtquick-layouts qml6-module-qtqml-workerscript
  libqt6gui6 libqt6qml6 libqt6quick6
  baloo6 libkf6config-bin qdbus-qt6 libnotify-bin at-spi2-core
  pipewire pipewire-pulse wireplumber
  chromium
)

mirror="$(apt-get indextargets --format '$(REPO_URI)' 'Created-By: Packages' 2>/dev/null | grep -v -e security -e '^$' | head -n1)"
mirror="${mirror%/}"
[ -n "$mirror" ] || { echo "testbed: no Debian mirror in this machine's apt configuration" >&2; exit 1; }

rootfs="$cache/rootfs"
debs="$cache/debs"
mkdir -p "$debs" "$image"
cleanup() {
  for m in proc sys dev/pts dev var/cache/apt/archives; do
    mountpoint -q "$rootfs/$m" && umount -l "$rootfs/$m" || true
  done
}
trap cleanup EXIT
cleanup
rm -rf "$rootfs"

echo "testbed: debootstrap trixie (minbase)" >&2
debootstrap --variant=minbase --cache-dir="$debs" trixie "$rootfs" "$mirror" >&2

mount -t proc proc "$rootfs/proc"
mount -t sysfs -o ro sysfs "$rootfs/sys"
mount --bind /dev "$rootfs/dev"
mount --bind /dev/pts "$rootfs/dev/pts"
mkdir -p "$rootfs/var/cache/apt/archives"
mount --bind "$debs" "$rootfs/var/cache/apt/archives"
in_root() { chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }

echo "testbed: apt install ${#packages[@]} packages and their dependencies" >&2
printf 'deb %s trixie main\n' "$mirror" > "$rootfs/etc/apt/sources.list"
# No service starts inside the chroot.
printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
chmod +x "$rootfs/usr/sbin/policy-rc.d"
in_root apt-get update -q >&2
in_root apt-get install -y -q --no-install-recommends "${packages[@]}" >&2
rm -f "$rootfs/usr/sbin/policy-rc.d"

echo "testbed: configure the session" >&2
echo testbed > "$rootfs/etc/hostname"
printf '/dev/vda / ext4 rw,relatime 0 1\nhost /mnt/host 9p trans=virtio,version=9p2000.L,msize=1048576,nofail,x-systemd.automount 0 0\n' > "$rootfs/etc/fstab"
mkdir -p "$rootfs/mnt/host"
in_root systemd-machine-id-setup >&2
in_root useradd -m -u 1000 -s /bin/bash -G audio,video tester
echo 'tester:tester' | in_root chpasswd
echo 'root:root' | in_root chpasswd
mkdir -p "$rootfs/etc/sddm.conf.d"
printf '[Autologin]\nUser=tester\nSession=plasma\n' > "$rootfs/etc/sddm.conf.d/autologin.conf"
in_root systemctl enable sddm.service systemd-oomd.service >&2 || true
in_root systemctl set-default graphical.target >&2
# The serial console: a root shell prompt for whoever attaches to it.
in_root systemctl enable serial-getty@ttyS0.service >&2 || true
# Traps seen under TCG (FACTS.md): ksplash times out, powerdevil blanks the screen, the
# screen locker locks it, Chromium asks KWallet.
home="$rootfs/home/tester"
mkdir -p "$home/.config"
printf '[KSplash]\nEngine=none\nTheme=None\n' > "$home/.config/ksplashrc"
printf '[AC][Display]\nDimDisplayWhenIdle=false\nTurnOffDisplayWhenIdle=false\n[AC][SuspendAndShutdown]\nAutoSuspendAction=0\n' > "$home/.config/powerdevilrc"
printf '[Daemon]\nAutolock=false\nLockOnResume=false\n' > "$home/.config/kscreenlockerrc"
printf '[Wallet]\nEnabled=false\nFirst Use=false\n' > "$home/.config/kwalletrc"
# A notification popup hides after PopupTimeout: 5 s under TCG is a blink of a real one, too
# short for a case to press its buttons; its countdown line is drawn every frame meanwhile.
printf '[Notifications]\nPopupTimeout=60000\nShowPopupTimeout=false\n' > "$home/.config/plasmanotifyrc"
# Qt's Wayland client takes a window whose frame callback is 100 ms late for hidden, and
# draws it whole again when the callback comes (QT_WAYLAND_FRAME_CALLBACK_TIMEOUT). kwin_wayland
# on llvmpipe under TCG takes longer than that to compose a frame, so plasmashell and KWin
# draw each other's frames forever (about one core each, nothing on screen changing). Real
# hardware answers within a frame; the guest gets the patience it needs.
mkdir -p "$rootfs/etc/environment.d"
echo 'QT_WAYLAND_FRAME_CALLBACK_TIMEOUT=2000' > "$rootfs/etc/environment.d/60-testbed-tcg.conf"
in_root chown -R tester:tester /home/tester

cleanup
trap - EXIT
echo "testbed: mkfs.ext4 -d (raw image)" >&2
cp "$rootfs"/boot/vmlinuz-* "$image/vmlinuz.new"
cp "$rootfs"/boot/initrd.img-* "$image/initrd.img.new"
rm -f "$image/rootfs.img.new"
truncate -s 8G "$image/rootfs.img.new"
mkfs.ext4 -q -F -L root -d "$rootfs" "$image/rootfs.img.new"
for f in rootfs.img vmlinuz initrd.img; do mv "$image/$f.new" "$image/$f"; done
rm -rf "$image/root"
mv "$rootfs" "$image/root"
echo "$key" > "$image/key"
echo "testbed: image ready ($image)" >&2
