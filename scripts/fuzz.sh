#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (see README "Tests"), each for SECONDS, from
# its checked-in seeds (fuzz/seeds/TARGET) and the corpus it grows (fuzz/corpus/TARGET,
# not checked in). Prints executions and executions/s per target.
#   scripts/fuzz.sh SECONDS [TARGET...]       every target when none is named
# A crash or failed property stops the run; its input is left in fuzz/artifacts/TARGET/.
# cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP=1 lets the stable compiler take them.
# FUZZ_SANITIZER=none builds without AddressSanitizer (faster; panics are still found).
# FUZZ_DEV=1 builds unoptimised (quicker to compile, slower to run): `make fuzz-smoke`.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
export RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0
sanitizer=(--sanitizer "${FUZZ_SANITIZER:-address}")
# FUZZ_DEV=1: an unoptimised build, minutes quicker to compile, for the smoke run.
[ "${FUZZ_DEV:-0}" = 1 ] && sanitizer+=(--dev)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)

cargo fuzz build "${sanitizer[@]}"
mkdir -p fuzz/target
printf '%-14s %12s %10s %8s\n' target executions "exec/s" corpus
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  log="fuzz/target/fuzz-$t.log"
  if ! cargo fuzz run "${sanitizer[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
      -max_total_time="$secs" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz target $t failed after $(grep -c '' "$log") log lines; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  printf '%-14s %12s %10s %8s\n' "$t" "$runs" "$rate" "$(ls "fuzz/corpus/$t" | wc -l)"
done
