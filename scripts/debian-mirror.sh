#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt already uses for its main archive (not the
# security archive), without a trailing slash: what the trixie downloads (plasma6-units.sh,
# testbed/image.sh) and the backports entry (deps.sh) fetch from. Exits 1 when apt names none.
set -euo pipefail
mirror="$(apt-get indextargets --format '$(REPO_URI)' 'Created-By: Packages' 2>/dev/null \
  | grep -v -e security -e '^$' | head -n1 || true)"
if [ -z "$mirror" ]; then
  mirror="$(sed -n 's/^URIs: *//p; s/^deb \(\[[^]]*\] \)\?\([^ ]*\) .*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -v security | head -n1 || true)"
fi
if [ -z "$mirror" ]; then
  echo "no Debian mirror in this machine's apt configuration" >&2
  exit 1
fi
mirror="${mirror%/}"
echo "${mirror%/dists/*}"
