#!/usr/bin/env bash
# `make bench`: runs every benchmark (release build), keeps each one's whole output in
# target/bench/, and prints one table of their BENCH| rows:
#   metric | swarmcast | peer (measured in the same run) | ratio | target
# A bench that fails is reported as such and the others still run.
#   BENCHES="load soak" bench/report.sh     # a subset
#   QUICK=1 bench/report.sh                 # shorter runs (smaller sizes, 90 s soak)
set -uo pipefail
cd "$(dirname "$0")/.."
out=target/bench
mkdir -p "$out"
benches=${BENCHES:-"download hls first_frame tracker load memory tonemap soak churn"}
if [ -n "${QUICK:-}" ]; then
  export SIZE_MB=${SIZE_MB:-128} WRK_SECS=${WRK_SECS:-5} SOAK_SECONDS=${SOAK_SECONDS:-90}
fi

run() { # name command…
  local name=$1; shift
  echo "== $name: $*" >&2
  local t0=$SECONDS
  if "$@" > "$out/$name.log" 2>&1; then
    echo "   done in $((SECONDS - t0)) s" >&2
  else
    echo "   FAILED after $((SECONDS - t0)) s (see $out/$name.log)" >&2
    echo "BENCH|$name: failed, see $out/$name.log|—|—|—|—" >> "$out/$name.log"
  fi
}

for b in $benches; do
  case $b in
    download) run download bench/download.sh ;;
    hls) run hls env ${QUICK:+SECS=8} cargo run --quiet --release --example bench_hls ;;
    first_frame) run first_frame env ${QUICK:+CASES="4:pass 4:trans"} bench/first_frame.sh ;;
    tracker) run tracker cargo bench --quiet --bench tracker ;;
    load) run load bench/load.sh ;;
    memory) run memory env ${QUICK:+FILM_SECS=20} bench/memory.sh ;;
    tonemap) run tonemap cargo run --quiet --release --example bench_tonemap ;;
    soak) run soak bench/soak.sh ;;
    churn) run churn bench/soak.sh churn ;;
    *) echo "unknown bench $b" >&2 ;;
  esac
done

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "Benchmarks of $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo
echo "| metric | swarmcast | peer (same run) | ratio | target |"
echo "|---|---|---|---|---|"
for b in $benches; do
  awk -F'|' '/^BENCH\|/ {printf "| %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6}' "$out/$b.log" 2>/dev/null
done
