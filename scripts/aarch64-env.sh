#!/usr/bin/env bash
# Environment for cross-compiling swarmcast to aarch64-unknown-linux-gnu on Debian
# with multiarch (no Docker): `. scripts/aarch64-env.sh` then
# `cargo build --release --target aarch64-unknown-linux-gnu`.
# Needs: dpkg --add-architecture arm64, gcc-aarch64-linux-gnu and the :arm64 -dev
# packages (scripts/setup.sh aarch64 installs them, scripts/aarch64-sysroot.sh
# unpacks the one that cannot be installed beside its amd64 twin).
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# pkg-config: only for this target, look at the arm64 .pc files and nothing else, so
# the host's x86-64 build scripts keep finding the host's libraries.
export PKG_CONFIG_ALLOW_CROSS=1
# build/aarch64 holds what cannot be installed beside the amd64 packages
# (scripts/aarch64-sysroot.sh): plugins-base's .pc files and its lib*.so links.
_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu=$_repo/build/aarch64/root/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-L native=$_repo/build/aarch64/lib"
# Run target binaries (tests, --version) under qemu-user; the multiarch arm64
# libraries and loader (/lib/ld-linux-aarch64.so.1) come from the :arm64 packages.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /"
