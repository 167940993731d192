#!/usr/bin/env bash
# Extracts the systemd user units of Plasma 6 (Debian trixie's packages) into a cache folder,
# so the autostart tests can check ballast's unit against the units a Plasma 6 session really
# runs (tests/autostart_plasma.rs). Prints the folder. Nothing is installed on this machine:
# apt runs with its own lists and cache under the folder, and the .debs are only unpacked.
#
# Usage: scripts/plasma6-units.sh            (the folder: $BALLAST_CACHE/plasma6-units)
# BALLAST_CACHE defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/ballast. A second run reuses it.
set -euo pipefail

# The packages whose units plasma-workspace.target and the session targets name.
packages=(plasma-workspace kwin-wayland kwin-x11 kded6 powerdevil polkit-kde-agent-1
  xdg-desktop-portal-kde kactivitymanagerd baloo6 plasma-desktop kwalletmanager kwallet6
  kglobalacceld)

cache="${BALLAST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ballast}"
out="$cache/plasma6-units"
stamp="$out/.packages"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ]; then
  echo "$out"
  exit 0
fi

mirror="$("$(dirname "$0")/debian-mirror.sh")"

work="$cache/apt-trixie"
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/etc/preferences.d" "$work/etc/apt.conf.d"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$work/etc/sources.list"
: > "$work/status"
apt=(apt-get -q -o "APT::Sandbox::User=root" -o "Dir::Etc::SourceList=$work/etc/sources.list" -o "Dir::Etc::SourceParts=-"
  -o "Dir::Etc::Preferences=-" -o "Dir::Etc::PreferencesParts=$work/etc/preferences.d"
  -o "Dir::State::Lists=$work/lists" -o "Dir::State::status=$work/status"
  -o "Dir::Cache=$work" -o "Dir::Cache::archives=$work/archives" -o "APT::Architecture=amd64")
echo "plasma6-units: downloading trixie's ${packages[*]}" >&2
"${apt[@]}" update >&2
rm -rf "$out.new" && mkdir -p "$out.new/debs"
(cd "$out.new/debs" && "${apt[@]}" download "${packages[@]}" >&2)
for deb in "$out.new"/debs/*.deb; do
  dpkg-deb -x "$deb" "$out.new/root"
  dpkg-deb -f "$deb" Package Version | paste -sd' ' >> "$out.new/versions"
done
mkdir -p "$out.new/user"
find "$out.new/root" -path '*/systemd/user/*' \( -type f -o -type l \) -exec cp -P -t "$out.new/user" {} +
rm -rf "$out.new/root" "$out.new/debs"
echo "${packages[*]}" > "$out.new/.packages"
rm -rf "$out" && mv "$out.new" "$out"
echo "$out"
