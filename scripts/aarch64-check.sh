#!/usr/bin/env bash
# Checks a cross-built swarmcast: an aarch64 ELF that runs `--version` under
# qemu-aarch64 (qemu-user-static) with the multiarch arm64 libraries.
set -euo pipefail
bin=${1:-target/aarch64-unknown-linux-gnu/release/swarmcast}
machine=$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')
class=$(readelf -h "$bin" | sed -n 's/^ *Class: *//p')
if [ "$machine" != "AArch64" ] || [ "$class" != "ELF64" ]; then
    echo "FAIL: $bin is $class $machine, not an ELF64 AArch64 binary" >&2; exit 1
fi
interp=$(readelf -l "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
echo "ok: $bin is ELF64 AArch64 (interpreter $interp)"
want="swarmcast $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
got=$(timeout 120 qemu-aarch64-static -L / "$bin" --version)
if [ "$got" != "$want" ]; then
    echo "FAIL: qemu-aarch64 $bin --version printed '$got', want '$want'" >&2; exit 1
fi
echo "ok: qemu-aarch64 $bin --version → $got"
echo "2 passed, 0 failed"
