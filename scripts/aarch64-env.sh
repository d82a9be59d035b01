#!/usr/bin/env bash
# Environment for cross-compiling swarmcast to aarch64-unknown-linux-gnu on Debian
# with multiarch (no Docker): `. scripts/aarch64-env.sh` then
# `cargo build --release --target aarch64-unknown-linux-gnu`.
# Needs: dpkg --add-architecture arm64, gcc-aarch64-linux-gnu and the :arm64 -dev
# packages (scripts/setup.sh aarch64 installs them).
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# pkg-config: only for this target, look at the arm64 .pc files and nothing else, so
# the host's x86-64 build scripts keep finding the host's libraries.
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR_aarch64_unknown_linux_gnu=/
# Run target binaries (tests, --version) under qemu-user with the arm64 libraries.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
