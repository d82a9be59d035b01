#!/usr/bin/env bash
# Installs the Debian packages swarmcast needs, only those missing.
#   scripts/setup.sh build   what `make run` needs (build + run)
#   scripts/setup.sh test    plus the real peers, trackers and players the tests use
set -euo pipefail

build_pkgs=(
  pkg-config libssl-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-x
)
test_pkgs=(
  ffmpeg transmission-daemon transmission-cli opentracker curl jq
  qbittorrent-nox chromium
  # tests/it/compat.rs: the qbittorrent-api Python client, in .venv-test (below).
  python3-venv
  systemd udev e2fsprogs util-linux
  # tests/it/dlna.rs: a GUPnP control point (python3-gi + GUPnP/GSSDP/GUPnP-AV), an mDNS
  # client (python3-zeroconf), and Avahi on a private D-Bus, all inside a network
  # namespace the test makes (unshare, iproute2). Installing avahi-daemon starts it on
  # a machine that runs systemd, as on any Debian desktop.
  python3-gi gir1.2-gupnp-1.6 gir1.2-gssdp-1.6 gir1.2-gupnp-av-1.0 python3-zeroconf
  avahi-daemon avahi-utils dbus-daemon iproute2
  # tests/it/renderers.rs: a real UPnP MediaRenderer (gmrender-resurrect, GStreamer inside).
  gmediarender
  # make fuzz / fuzz-smoke: libfuzzer-sys compiles libFuzzer.
  g++
)
# make bench: load generator and calculator, on top of the test packages.
bench_pkgs=(wrk bc)
# make aarch64: the cross toolchain, arm64 -dev packages (multiarch) and qemu-user.
aarch64_pkgs=(
  gcc-aarch64-linux-gnu libc6-dev:arm64 libssl-dev:arm64 libgstreamer1.0-dev:arm64
  libgstreamer-plugins-base1.0-0:arm64 libgstreamer-gl1.0-0:arm64
  qemu-user-static binutils
  # not libgstreamer-plugins-base1.0-dev:arm64: it would remove the amd64 one
  # (not Multi-Arch: same in Debian 12); scripts/aarch64-sysroot.sh unpacks it.
)
# make image / image-test: debootstrap, partitioning, bootloaders, QEMU with firmware.
image_pkgs=(
  debootstrap fdisk dosfstools mtools e2fsprogs grub-pc-bin grub-efi-amd64-bin
  qemu-user-static binfmt-support qemu-system-x86 ovmf seabios qemu-utils curl
)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")
[ "${1:-build}" = bench ] && want+=("${test_pkgs[@]}" "${bench_pkgs[@]}")
[ "${1:-build}" = aarch64 ] && want+=("${aarch64_pkgs[@]}")
[ "${1:-build}" = image ] && want+=("${image_pkgs[@]}")
if [ "${1:-build}" = aarch64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" -ne 0 ] && SUDO_A="sudo" || SUDO_A=""
  $SUDO_A dpkg --add-architecture arm64
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The web UI is built with esbuild (Node.js 18+, Debian 12's own nodejs will do); the
# browser test's playwright-core needs Node.js 20+.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing: nodejs npm"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
node_min=18
[ "${1:-build}" = test ] && node_min=20
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt "$node_min" ]; then
  echo "Node.js $(node --version) is too old: the web UI needs Node.js $node_min or newer" >&2
  exit 1
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust 1.95 or newer (https://rustup.rs)" >&2
  exit 1
fi

# tests/it/compat.rs drives the qBittorrent Web API with the qbittorrent-api package
# (PyPI), the client library Python tools use, in a venv of its own.
QBITTORRENT_API_VERSION=2025.7.0
venv="$(cd "$(dirname "$0")/.." && pwd)/.venv-test"
if [ "${1:-build}" = test ] && ! "$venv/bin/python" -c "import sys; from importlib.metadata import version; sys.exit(version('qbittorrent-api') != '$QBITTORRENT_API_VERSION')" 2>/dev/null; then
  echo "installing: qbittorrent-api $QBITTORRENT_API_VERSION in .venv-test"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "qbittorrent-api==$QBITTORRENT_API_VERSION"
fi

# tests/it/webtorrent.rs bundles the npm bittorrent-tracker client for Chromium: its
# packages live in tests/it/e2e/webtorrent, installed with install scripts off (the
# node-datachannel it brings is Node's WebRTC, unused in a browser, and would build
# from source with cmake).
webtorrent="$(cd "$(dirname "$0")/.." && pwd)/tests/it/e2e/webtorrent"
if [ "${1:-build}" = test ] && { [ ! -f "$webtorrent/node_modules/.package-lock.json" ] ||
  [ "$webtorrent/package-lock.json" -nt "$webtorrent/node_modules/.package-lock.json" ]; }; then
  echo "installing: the npm packages of tests/it/e2e/webtorrent (bittorrent-tracker)"
  (cd "$webtorrent" && npm ci --no-audit --no-fund --ignore-scripts)
fi

# make test / make fuzz: cargo-fuzz drives the fuzz targets in fuzz/ (libFuzzer is
# built from source by the libfuzzer-sys crate, with g++ above).
if [ "${1:-build}" = test ] && ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing: cargo-fuzz"
  cargo install cargo-fuzz --locked --version 0.13.2
fi
