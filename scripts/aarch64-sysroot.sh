#!/usr/bin/env bash
# The arm64 -dev files that Debian 12 cannot install beside the amd64 ones.
#
# libgstreamer-plugins-base1.0-dev is not "Multi-Arch: same" in bookworm: installing
# its :arm64 package removes the amd64 one (and breaks native builds). So it is
# unpacked into build/aarch64/ instead: its .pc files for pkg-config, and the
# unversioned lib*.so links pointing at the real arm64 libraries that the
# co-installable runtime packages (libgstreamer-plugins-base1.0-0:arm64) provide.
set -euo pipefail
out=${1:-build/aarch64}
mkdir -p "$out/debs" "$out/lib"
cd "$out/debs"
if ! ls libgstreamer-plugins-base1.0-dev_*_arm64.deb >/dev/null 2>&1; then
    apt-get download libgstreamer-plugins-base1.0-dev:arm64 2>&1 | grep -v "^W: Download is performed unsandboxed" || true
fi
cd ..
rm -rf root && mkdir root
dpkg-deb -x debs/libgstreamer-plugins-base1.0-dev_*_arm64.deb root
for link in root/usr/lib/aarch64-linux-gnu/*.so; do
    ln -sfn "/usr/lib/aarch64-linux-gnu/$(readlink "$link")" "lib/$(basename "$link")"
    [ -e "lib/$(basename "$link")" ] || { echo "missing arm64 library for $link" >&2; exit 1; }
done
echo "arm64 plugins-base .pc files in $out/root/usr/lib/aarch64-linux-gnu/pkgconfig"
