#!/usr/bin/env bash
# Memory of the daemon (VmRSS and VmHWM from /proc/PID/status), against issue 15's targets:
#   idle with 20 torrents                         < 40 MB
#   RSS a passthrough stream (1080p H.264) adds   ≤ 20 MB
#   RSS a 1080p x264 transcode stream adds        ≤ 150 MB
# Each stream is measured while it plays: a player has fetched its first segments and
# its pipeline runs ahead. The first stream of a daemon also pays for loading
# GStreamer and its plugins once; that is printed apart, and the per-stream figure is
# the mean of the streams after it.
#
#   bench/memory.sh                      # release build
#   SWARMCAST_BIN=target/debug/swarmcast bench/memory.sh   # says "debug build" in its rows
#
# Needs: ffmpeg, curl, jq, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SECS=${FILM_SECS:-60}
SEGS=${SEGMENTS:-6}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
case "$BIN" in *release*) build="release build" ;; *) build="debug build" ;; esac
work=$(mktemp -d /tmp/swarmcast-mem.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

dl="$work/sc/downloads"
mkdir -p "$dl"
film() { # name video-args
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=25:duration=$SECS" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$SECS" \
    $2 -c:a aac -b:a 128k -movflags +faststart -shortest "$dl/$1"
}
echo "generating 1080p films of $SECS s…" >&2
for i in 1 2 3; do film "pass$i.mp4" "-c:v libx264 -preset ultrafast -g 50 -b:v 4M -pix_fmt yuv420p"; done
for i in 1 2; do film "trans$i.mp4" "-c:v mpeg4 -q:v 4 -g 50 -pix_fmt yuv420p"; done
python3 bench/mktorrents.py "$work/t" 20
port=$(free_port)
start_daemon "$work/sc" "$port"
sc=$daemon
api() { curl -sf "http://127.0.0.1:$port$1" "${@:2}"; }
# rss: VmRSS in MB, the median of 5 samples 0.4 s apart.
rss() {
  for _ in 1 2 3 4 5; do rss_kb "$sc" VmRSS; sleep 0.4; done | sort -n | sed -n 3p | awk '{printf "%.1f", $1/1024}'
}

sleep 3
base=$(rss)
for f in "$work"/t/*.torrent; do api /api/torrents/upload -F "file=@$f" > /dev/null; done
sleep 10
idle=$(rss)
echo "idle: $base MB with no torrent, $idle MB with 20"

# play FILE: a stream of FILE, its playlist and first $SEGS segments fetched in order.
play() {
  local id st hls index segs
  id=$(api /api/torrents/create -H 'content-type: application/json' -d "{\"path\": \"$1\"}" | jq -r .id)
  st=$(api /api/stream -H 'content-type: application/json' -d "{\"infoHash\": \"$id\"}")
  hls=$(jq -r .hlsUrl <<<"$st")
  index="${hls%%\?*}/index.m3u8?${hls#*\?}"
  mapfile -t segs < <(api "$index" | grep -v '^#')
  for s in "${segs[@]:0:$SEGS}"; do
    curl -sf -o /dev/null --max-time 120 "http://127.0.0.1:$port/api/stream/$id/$s" || echo "segment $s of $1 failed" >&2
  done
  echo "$id"
}
delta() { echo "$1 - $2" | bc; }

before=$idle
declare -a pass_ids pass_add
for i in 1 2 3; do
  pass_ids+=("$(play "pass$i.mp4")")
  sleep 2
  now=$(rss); pass_add+=("$(delta "$now" "$before")"); before=$now
  echo "passthrough stream $i: +${pass_add[-1]} MB (RSS $now MB)"
done
pass_mean=$(echo "scale=1; (${pass_add[1]} + ${pass_add[2]}) / 2" | bc)

# The passthrough streams go; then one transcode, then a second beside it.
for id in "${pass_ids[@]}"; do api "/api/stream/$id" -X DELETE > /dev/null; done
sleep 5
before=$(rss)
declare -a trans_add
for i in 1 2; do
  play "trans$i.mp4" > /dev/null
  sleep 2
  now=$(rss); trans_add+=("$(delta "$now" "$before")"); before=$now
  echo "transcode stream $i: +${trans_add[-1]} MB (RSS $now MB)"
done
hwm=$(awk '{printf "%.0f", $1/1024}' <<<"$(rss_kb "$sc" VmHWM)")
echo "peak (VmHWM): $hwm MB"
kill -0 "$sc" || { echo "the daemon died"; cat "$work/sc.log"; exit 1; }

bench_row "RSS idle with 20 torrents ($build; $base MB with none)" "$idle MB" "—" "—" "< 40 MB"
bench_row "RSS added per passthrough stream, 1080p H.264 ($build; mean of streams 2–3; the first adds ${pass_add[0]} MB with GStreamer's start)" "$pass_mean MB" "—" "—" "≤ 20 MB"
bench_row "RSS added per 1080p x264 transcode stream ($build; the first, the second beside it adds ${trans_add[1]} MB)" "${trans_add[0]} MB" "—" "—" "≤ 150 MB"
bench_row "peak RSS (VmHWM) of the memory run ($build)" "$hwm MB" "—" "—" "—"
