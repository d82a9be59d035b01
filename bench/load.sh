#!/usr/bin/env bash
# Load benchmark: wrk on the torrent list with 500 torrents loaded (against
# transmission-daemon's RPC list of the same 500, in the same run), wrk on one cached
# HLS segment from 20 concurrent clients, and a download timed with and without that
# load. Prints readable output and BENCH| rows (bench/lib.sh).
#
#   bench/load.sh                         # 500 torrents, 10 s per wrk run, 512 MiB download
#   TORRENTS=100 WRK_SECS=5 SIZE_MB=64 bench/load.sh
#
# Needs: wrk, ffmpeg, transmission-daemon, rqbit (`cargo install rqbit --locked`),
# curl, jq, bc and a release build of swarmcast.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${TORRENTS:-500}
SECS=${WRK_SECS:-10}
SIZE_MB=${SIZE_MB:-512}
RQBIT=${RQBIT:-$(command -v rqbit || echo "$HOME/.cargo/bin/rqbit")}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "install wrk first: apt-get install wrk" >&2; exit 1; }
[ -x "$RQBIT" ] || { echo "install rqbit first: cargo install rqbit --locked" >&2; exit 1; }

work=$(mktemp -d /tmp/swarmcast-load.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- the daemon with N torrents and one film ------------------------------------
python3 bench/mktorrents.py "$work/t" "$N"
mkdir -p "$work/sc/downloads"
ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=25:duration=60 \
  -f lavfi -i sine=frequency=440:sample_rate=48000:duration=60 \
  -c:v libx264 -preset ultrafast -g 50 -pix_fmt yuv420p -b:v 2000k -c:a aac -b:a 96k \
  -movflags +faststart -shortest "$work/sc/downloads/film.mp4"
port=$(free_port)
start_daemon "$work/sc" "$port"
sc=$daemon
api() { curl -sf "http://127.0.0.1:$port$1" "${@:2}"; }
t0=$(now)
for f in "$work"/t/*.torrent; do api /api/torrents/upload -F "file=@$f" > /dev/null; done
echo "added $N torrents in $(printf %.1f "$(echo "$(now) - $t0" | bc)") s" >&2
film=$(api /api/torrents/create -H 'content-type: application/json' -d '{"path": "film.mp4"}' | jq -r .id)
n=$(curl -sI "http://127.0.0.1:$port/api/torrents/?limit=1" | awk -F': ' 'tolower($1)=="x-total-count" {print $2+0}')
echo "the daemon has ${n:-?} torrents" >&2

# --- transmission with the same N torrents, its RPC list of 100 of them ----------
tr_dir=$work/tr; mkdir -p "$tr_dir/data"
rpc=$(free_port)
cat > "$tr_dir/settings.json" <<JSON
{"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
 "port-forwarding-enabled": false, "peer-port": $(free_port), "rpc-port": $rpc,
 "rpc-authentication-required": false, "rpc-whitelist-enabled": false,
 "rpc-host-whitelist-enabled": false, "bind-address-ipv4": "127.0.0.1",
 "download-dir": "$tr_dir/data", "message-level": 1}
JSON
transmission-daemon -f -g "$tr_dir" -T -p "$rpc" > /dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do transmission-remote "127.0.0.1:$rpc" -l > /dev/null 2>&1 && break; sleep 0.2; done
for f in "$work"/t/*.torrent; do transmission-remote "127.0.0.1:$rpc" -a "$f" > /dev/null; done
sid=$(curl -s -o /dev/null -D - "http://127.0.0.1:$rpc/transmission/rpc" | awk -F': ' 'tolower($1)=="x-transmission-session-id" {print $2}' | tr -d '\r')
ids=$(seq -s, 1 100)
got=$(curl -s -H "X-Transmission-Session-Id: $sid" -d "{\"method\":\"torrent-get\",\"arguments\":{\"ids\":[$ids],\"fields\":[\"id\"]}}" \
  "http://127.0.0.1:$rpc/transmission/rpc" | jq '.arguments.torrents | length')
echo "transmission has $(transmission-remote "127.0.0.1:$rpc" -l | grep -c '^ *[0-9]') torrents and lists $got per request" >&2
cat > "$work/tr.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"method":"torrent-get","arguments":{"ids":[$ids],"fields":["id","hashString","name","status","percentDone","totalSize","sizeWhenDone","rateDownload","rateUpload","peersConnected","peersSendingToUs","eta","uploadRatio","uploadedEver","addedDate","doneDate","error","errorString","files","fileStats"]}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Transmission-Session-Id"] = "$sid"
LUA

echo "--- GET /api/torrents/ (100 of $N per page), 32 connections" >&2
read -r list_rps list_p99 < <(wrk_run "http://127.0.0.1:$port/api/torrents/" 32 "$SECS")
echo "--- GET /api/torrents/?sort=progress (every view built and sorted, no cache), 32 connections" >&2
read -r full_rps full_p99 < <(wrk_run "http://127.0.0.1:$port/api/torrents/?sort=progress" 32 "$SECS")
echo "--- transmission RPC torrent-get (100 of $N), 32 connections" >&2
read -r tr_rps tr_p99 < <(wrk_run "http://127.0.0.1:$rpc/transmission/rpc" 32 "$SECS" -s "$work/tr.lua")

# --- one cached segment, 20 clients ------------------------------------------------
st=$(api /api/stream -H 'content-type: application/json' -d "{\"infoHash\": \"$film\"}")
hls=$(jq -r .hlsUrl <<<"$st")
index="${hls%%\?*}/index.m3u8?${hls#*\?}"
seg=$(api "$index" | grep -v '^#' | sed -n 2p)
seg_url="http://127.0.0.1:$port/api/stream/$film/$seg"
curl -sf -o /dev/null "$seg_url"   # produced and cached
seg_bytes=$(curl -sf "$seg_url" | wc -c)
echo "--- one cached segment ($seg_bytes bytes), 20 clients" >&2
read -r seg_rps seg_p99 < <(wrk_run "$seg_url" 20 "$SECS")

# --- a download with and without that load ----------------------------------------
mkdir -p "$work/src"
head -c "${SIZE_MB}M" /dev/urandom > "$work/src/big.bin"
seed_port=$(free_port)
"$RQBIT" --disable-dht --disable-lsd --disable-upnp-port-forward --listen-port "$seed_port" \
  --http-api-listen-addr "127.0.0.1:$(free_port)" share "$work/src/big.bin" > "$work/share.log" 2>&1 &
pids+=($!)
magnet=""
for _ in $(seq 300); do
  magnet=$(grep -so 'magnet:[^ ]*' "$work/share.log" | head -1 || true)
  [ -n "$magnet" ] && break
  sleep 0.2
done
[ -n "$magnet" ] || { echo "rqbit share printed no magnet"; cat "$work/share.log"; exit 1; }
hash=$(sed -E 's/.*btih:([0-9a-fA-F]{40}).*/\1/' <<<"$magnet" | tr A-F a-f)
download() {
  local t0 status=""
  t0=$(now)
  api /api/torrents/ -H 'content-type: application/json' -d "{\"uri\": \"$magnet&x.pe=127.0.0.1:$seed_port\"}" > /dev/null
  for _ in $(seq 12000); do
    status=$(api "/api/torrents/$hash" | jq -r .status)
    [ "$status" = seeding ] && break
    sleep 0.05
  done
  [ "$status" = seeding ] || { echo "download did not finish" >&2; exit 1; }
  echo "$(now) - $t0" | bc
  api "/api/torrents/$hash?delete_files=true" -X DELETE > /dev/null
  sleep 2
}
t_idle=$(download)
# Players: 20 clients each fetching the segment every 4 s (a real player's pace), and
# two web UIs polling the list every second.
for _ in $(seq 20); do
  (while :; do curl -sf -o /dev/null "$seg_url"; sleep 4; done) & pids+=($!)
done
for _ in 1 2; do
  (while :; do curl -sf -o /dev/null "http://127.0.0.1:$port/api/torrents/"; sleep 1; done) & pids+=($!)
done
sleep 2
t_play=$(download)
for p in "${pids[@]: -22}"; do kill "$p" 2>/dev/null || true; done
# A flood: wrk flat out on the list and the segment meanwhile (no target: on two
# cores wrk and the daemon's copying of segments take the CPU the download needs).
wrk -t1 -c8 -d600s "http://127.0.0.1:$port/api/torrents/" > /dev/null 2>&1 & w1=$!
wrk -t1 -c20 -d600s "$seg_url" > /dev/null 2>&1 & w2=$!
pids+=("$w1" "$w2")
sleep 1
t_flood=$(download)
kill "$w1" "$w2" 2>/dev/null || true

echo
echo "load, $N torrents, $(nproc) cores"
printf '| %s | %s | %s | %s | %s |\n' metric swarmcast peer ratio target "---" "---" "---" "---" "---" \
  "list requests/s ($N torrents, 100 per page)" "$list_rps" "transmission RPC $tr_rps" "$(ratio "$list_rps" "$tr_rps")" "≥ 5000" \
  "list p99" "$list_p99 ms" "transmission RPC $tr_p99 ms" "$(ratio "$list_p99" "$tr_p99")" "—" \
  "list sorted by progress (all $N views, uncached)" "$full_rps ($full_p99 ms p99)" "transmission RPC $tr_rps" "$(ratio "$full_rps" "$tr_rps")" "—" \
  "cached segment, 20 clients, requests/s" "$seg_rps" "—" "—" "—" \
  "cached segment, 20 clients, p99" "$seg_p99 ms" "—" "—" "< 50 ms" \
  "${SIZE_MB} MiB download while 20 players and 2 UIs poll" "$(printf %.2f "$t_play") s" "idle $(printf %.2f "$t_idle") s" "$(ratio "$t_play" "$t_idle")" "≤ 1.10" \
  "${SIZE_MB} MiB download under a wrk flood of list+segment" "$(printf %.2f "$t_flood") s" "idle $(printf %.2f "$t_idle") s" "$(ratio "$t_flood" "$t_idle")" "—"
bench_row "list requests/s, $N torrents (first page of 100, 250 ms cache)" "$list_rps" "transmission $tr_rps" "$(ratio "$list_rps" "$tr_rps")" "≥ 5000"
bench_row "list p99 latency, 32 connections" "$list_p99 ms" "transmission $tr_p99 ms" "$(ratio "$list_p99" "$tr_p99")" "—"
bench_row "list sorted by progress: all $N views built, uncached, requests/s" "$full_rps (p99 $full_p99 ms)" "transmission $tr_rps" "$(ratio "$full_rps" "$tr_rps")" "—"
bench_row "cached HLS segment, 20 clients, requests/s" "$seg_rps" "—" "—" "—"
bench_row "cached HLS segment, 20 clients, p99 latency" "$seg_p99 ms" "—" "—" "< 50 ms"
bench_row "${SIZE_MB} MiB download while 20 HLS players and 2 UIs poll, vs idle" "$(printf %.2f "$t_play") s" "idle $(printf %.2f "$t_idle") s" "$(ratio "$t_play" "$t_idle")" "≤ 1.10"
bench_row "${SIZE_MB} MiB download under a wrk flood (list + segment), vs idle" "$(printf %.2f "$t_flood") s" "idle $(printf %.2f "$t_idle") s" "$(ratio "$t_flood" "$t_idle")" "—"
