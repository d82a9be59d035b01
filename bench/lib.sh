# Helpers shared by the bench scripts (sourced). Each bench prints its own readable
# output plus one machine-readable line per metric:
#   BENCH|metric|swarmcast|peer|ratio|target
# which bench/report.sh gathers into one table (`make bench`).

BIN=${SWARMCAST_BIN:-./target/release/swarmcast}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
rss_kb() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# ratio A B: A/B with two decimals, or — when either is missing.
ratio() { if [ -n "${1:-}" ] && [ -n "${2:-}" ] && [ "$2" != 0 ]; then printf %.2f "$(echo "scale=4; $1 / $2" | bc)"; else echo "—"; fi; }
bench_row() { printf 'BENCH|%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5"; }

# start_daemon DIR PORT [ENV=VALUE…]: a release daemon on loopback with its own dirs;
# sets $daemon to its pid and appends it to the caller's $pids.
start_daemon() {
  local dir=$1 p=$2; shift 2
  env SWARMCAST_CONFIG=/dev/null SWARMCAST_SERVER_LISTEN=127.0.0.1 SWARMCAST_SERVER_PORT="$p" \
    SWARMCAST_STORAGE_STATE_DIR="$dir/state" SWARMCAST_STORAGE_DOWNLOAD_DIR="$dir/downloads" \
    SWARMCAST_STORAGE_CACHE_DIR="$dir/cache" SWARMCAST_ENGINE_DHT=false SWARMCAST_ENGINE_LSD=false \
    SWARMCAST_ENGINE_LISTEN_PORT=0 SWARMCAST_LOG_LEVEL=warn SWARMCAST_AUTH_BYPASS_LOCALHOST=true \
    SWARMCAST_AUTH_RATE_LIMIT_READS_PER_MIN=0 SWARMCAST_AUTH_RATE_LIMIT_WRITES_PER_MIN=0 \
    "$@" "$BIN" serve > "$dir.log" 2>&1 &
  daemon=$!
  pids+=("$daemon")
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$p/api/health" >/dev/null && return; sleep 0.2; done
  echo "daemon did not start"; cat "$dir.log"; exit 1
}

# wrk_run URL CONNECTIONS SECONDS [wrk args…]: prints "<requests/s> <p99 ms>".
wrk_run() {
  local url=$1 c=$2 d=$3; shift 3
  local out
  out=$(wrk -t2 -c"$c" -d"${d}s" --latency "$@" "$url")
  echo "$out" >&2
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  # wrk prints 12.34ms, 1.20s or 850.00us
  p99=$(python3 -c 'import sys,re; v=sys.argv[1]; m=re.match(r"([\d.]+)(us|ms|s)",v); print("%.2f"%(float(m.group(1))*{"us":0.001,"ms":1,"s":1000}[m.group(2)]) if m else "")' "$p99")
  # Errors (non-2xx answers, socket errors) would make the figures meaningless.
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "wrk saw errors on $url:" >&2; grep -E 'Non-2xx|Socket errors' <<<"$out" >&2
    rps="$rps(errors!)"
  fi
  echo "$rps $p99"
}
