#!/usr/bin/env bash
# Download benchmark: swarmcast against `rqbit download`, both fed by the same fast local
# seeder (`rqbit share`) over loopback, in the same run. Prints one table row per metric.
#
#   bench/download.sh            # 1 GiB
#   SIZE_MB=256 bench/download.sh
#
# Needs: rqbit (`cargo install rqbit --locked`), curl, jq, and a release build of swarmcast.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-1024}
BIN=${SWARMCAST_BIN:-./target/release/swarmcast}
RQBIT=${RQBIT:-$(command -v rqbit || echo "$HOME/.cargo/bin/rqbit")}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -x "$RQBIT" ] || { echo "install rqbit first: cargo install rqbit --locked" >&2; exit 1; }

work=$(mktemp -d /tmp/swarmcast-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
rss_kb() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/status"; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }

mkdir -p "$work/src"
head -c "${SIZE_MB}M" /dev/urandom > "$work/src/film.bin"
want=$(sha256sum "$work/src/film.bin" | cut -d' ' -f1)

# The seeder.
seed_port=$(free_port)
"$RQBIT" --disable-dht --disable-lsd --disable-upnp-port-forward --listen-port "$seed_port" \
  --http-api-listen-addr "127.0.0.1:$(free_port)" share "$work/src/film.bin" > "$work/share.log" 2>&1 &
pids+=($!)
magnet=""
for _ in $(seq 300); do
  magnet=$(grep -so 'magnet:[^ ]*' "$work/share.log" | head -1 || true)
  [ -n "$magnet" ] && break
  sleep 0.2
done
[ -n "$magnet" ] || { echo "rqbit share printed no magnet:"; cat "$work/share.log"; exit 1; }
hash=$(sed -E 's/.*btih:([0-9a-fA-F]{40}).*/\1/' <<<"$magnet" | tr A-F a-f)
peer="127.0.0.1:$seed_port"

# rqbit download, the peer.
t0=$(now)
"$RQBIT" --disable-dht --disable-lsd --disable-upnp-port-forward --listen-port "$(free_port)" \
  download --disable-http-api --initial-peers "$peer" -o "$work/rqbit" -e "$magnet" > "$work/rqbit.log" 2>&1
t_rqbit=$(echo "$(now) - $t0" | bc)
[ "$(sha256sum "$work/rqbit/film.bin" | cut -d' ' -f1)" = "$want" ] || { echo "rqbit: wrong bytes"; exit 1; }

start_daemon() { # dir port
  SWARMCAST_CONFIG=/dev/null SWARMCAST_SERVER_LISTEN=127.0.0.1 SWARMCAST_SERVER_PORT="$2" \
  SWARMCAST_STORAGE_STATE_DIR="$1/state" SWARMCAST_STORAGE_DOWNLOAD_DIR="$1/downloads" \
  SWARMCAST_STORAGE_CACHE_DIR="$1/cache" SWARMCAST_ENGINE_DHT=false SWARMCAST_ENGINE_LSD=false \
  SWARMCAST_ENGINE_LISTEN_PORT=0 SWARMCAST_LOG_LEVEL=warn SWARMCAST_AUTH_BYPASS_LOCALHOST=true \
  SWARMCAST_DLNA_ENABLED=false SWARMCAST_MDNS_ENABLED=false \
  "$BIN" serve > "$1.log" 2>&1 &
  daemon=$!
  pids+=("$daemon")
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$2/api/health" >/dev/null && return; sleep 0.2; done
  echo "daemon did not start"; cat "$1.log"; exit 1
}
api() { curl -sf "http://127.0.0.1:$port$1" "${@:2}"; }

# swarmcast.
port=$(free_port)
start_daemon "$work/sc" "$port"
t0=$(now)
api /api/torrents/ -H 'content-type: application/json' \
  -d "{\"uri\": \"$magnet&x.pe=$peer\"}" > /dev/null
peak_dl=0
for _ in $(seq 6000); do
  status=$(api "/api/torrents/$hash" | jq -r .status)
  r=$(rss_kb "$daemon" VmRSS); [ "$r" -gt "$peak_dl" ] && peak_dl=$r
  [ "$status" = seeding ] && break
  sleep 0.05
done
t_sc=$(echo "$(now) - $t0" | bc)
[ "$status" = seeding ] || { echo "swarmcast did not finish"; exit 1; }
[ "$(sha256sum "$work/sc/downloads/film.bin" | cut -d' ' -f1)" = "$want" ] || { echo "swarmcast: wrong bytes"; exit 1; }

# Time to first byte of a range read at 50 % of a fresh magnet.
api "/api/torrents/$hash?delete_files=true" -X DELETE > /dev/null
sleep 1
half=$(( SIZE_MB * 1024 * 1024 / 2 ))
t0=$(now)
api /api/torrents/ -H 'content-type: application/json' -d "{\"uri\": \"$magnet&x.pe=$peer\"}" > /dev/null
for _ in $(seq 600); do
  [ "$(api "/api/torrents/$hash" | jq '.files | length')" -gt 0 ] && break
  sleep 0.02
done
curl -sf -o /dev/null -r "$half-$((half + 65535))" "http://127.0.0.1:$port/api/torrents/$hash/files/0"
t_ttfb=$(echo "$(now) - $t0" | bc)
api "/api/torrents/$hash?delete_files=true" -X DELETE > /dev/null
kill -9 "$daemon"; wait "$daemon" 2>/dev/null || true

# Idle RSS with 20 torrents (seeding small files).
port=$(free_port)
mkdir -p "$work/idle/downloads"
for i in $(seq 20); do head -c 4M /dev/urandom > "$work/idle/downloads/f$i.bin"; done
start_daemon "$work/idle" "$port"
for i in $(seq 20); do
  transmission-create -o "$work/f$i.torrent" "$work/idle/downloads/f$i.bin" > /dev/null
  api /api/torrents/upload -F "file=@$work/f$i.torrent" > /dev/null
done
sleep 15
idle=$(rss_kb "$daemon" VmRSS)
n=$(api "/api/torrents/?limit=100" | jq length)

echo
echo "download of ${SIZE_MB} MiB from a local rqbit seeder, $(nproc) cores"
row metric swarmcast "rqbit download" ratio target
row --- --- --- --- ---
row "download wall time" "$(printf %.2f "$t_sc") s" "$(printf %.2f "$t_rqbit") s" "$(printf %.2f "$(echo "scale=3; $t_sc / $t_rqbit" | bc)")" "≤ 1.10"
row "first byte at 50 % of a fresh magnet" "$(printf %.2f "$t_ttfb") s" "—" "—" "—"
row "RSS while downloading (peak)" "$((peak_dl / 1024)) MB" "—" "—" "< 150 MB"
row "RSS idle, $n torrents" "$((idle / 1024)) MB" "—" "—" "< 40 MB"

# Machine-readable rows for bench/report.sh (`make bench`).
printf 'BENCH|%s|%s|%s|%s|%s\n' \
  "${SIZE_MB} MiB download from a local rqbit seeder, wall time" "$(printf %.2f "$t_sc") s" "rqbit $(printf %.2f "$t_rqbit") s" "$(printf %.2f "$(echo "scale=3; $t_sc / $t_rqbit" | bc)")" "≤ 1.10" \
  "first byte of a range read at 50 % of a fresh magnet" "$(printf %.2f "$t_ttfb") s" "—" "—" "—" \
  "RSS while downloading (peak)" "$((peak_dl / 1024)) MB" "—" "—" "< 150 MB" \
  "RSS idle, $n torrents" "$((idle / 1024)) MB" "—" "—" "< 40 MB"
