#!/usr/bin/env bash
# Soak: a bounded run (10 minutes by default) of a release daemon with 3 HLS streams
# being played, each seeking to a random place every 20 s, while torrents are added
# and removed. Samples the daemon's RSS and open fds every 5 s and prints their
# slope after warm-up (least-squares line), as readable output and BENCH| rows.
#
#   bench/soak.sh                 # 600 s
#   SOAK_SECONDS=90 bench/soak.sh # a quick try
#   bench/soak.sh churn           # the churn of issue 15 instead (below)
#
# churn: streams that start and stop must give their memory back. Every 4 s a 720p
# transcode is started (its first segment fetched) and stopped, and every fourth round
# a 1080p passthrough as well (a round that overruns waits 1 s); RSS and fds are
# sampled at the end of every round and their slope after warm-up printed (target:
# RSS under 5 MB/h). SOAK_SAMPLES=FILE keeps the samples (t, RSS kB, fds).
#
# Needs: ffmpeg, curl, jq, bc, python3 and a release build of swarmcast.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SOAK=${SOAK_SECONDS:-600}
WARMUP=${WARMUP_SECONDS:-$(( SOAK / 5 ))}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d /tmp/swarmcast-soak.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/sc/downloads"
if [ "${1:-}" = churn ]; then
  dl="$work/sc/downloads"
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=25:duration=60" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=60" \
    -c:v mpeg4 -q:v 4 -g 50 -c:a ac3 -shortest "$dl/trans.mkv"
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=25:duration=60" \
    -f lavfi -i "sine=frequency=550:sample_rate=48000:duration=60" \
    -c:v libx264 -preset ultrafast -g 50 -pix_fmt yuv420p -b:v 4M -c:a aac -b:a 128k \
    -movflags +faststart -shortest "$dl/pass.mp4"
  port=$(free_port)
  start_daemon "$work/sc" "$port"
  sc=$daemon
  api() { curl -sf "http://127.0.0.1:$port$1" "${@:2}"; }
  make_id() { api /api/torrents/create -H 'content-type: application/json' -d "{\"path\": \"$1\"}" | jq -r .id; }
  trans=$(make_id trans.mkv); pass=$(make_id pass.mp4)
  # once ID: start a stream of ID, fetch its first segment, stop it.
  once() {
    local st hls index seg
    st=$(api /api/stream -H 'content-type: application/json' -d "{\"infoHash\": \"$1\"}") || { echo "stream $1 failed" >&2; return; }
    hls=$(jq -r .hlsUrl <<<"$st")
    index="${hls%%\?*}/index.m3u8?${hls#*\?}"
    seg=$(api "$index" | grep -v '^#' | head -1)
    curl -sf -o /dev/null --max-time 60 "http://127.0.0.1:$port/api/stream/$1/$seg" || echo "segment of $1 failed" >&2
    api "/api/stream/$1" -X DELETE > /dev/null || true
  }
  t_start=$(date +%s); end=$(( t_start + SOAK )); round=0
  echo "t rss_kb fds" > "$work/samples"
  while [ "$(date +%s)" -lt "$end" ]; do
    t0=$(date +%s.%N)
    once "$trans"
    if [ $(( round % 4 )) = 0 ]; then once "$pass"; fi
    round=$(( round + 1 ))
    # Sampled at the end of the round, at least 1 s after its streams were deleted:
    # what they left behind, not a pipeline caught in its teardown.
    left=$(echo "4 - ($(date +%s.%N) - $t0)" | bc)
    if [ "$(echo "$left > 1" | bc)" = 1 ]; then sleep "$left"; else sleep 1; fi
    echo "$(( $(date +%s) - t_start )) $(rss_kb "$sc" VmRSS) $(fds "$sc")" >> "$work/samples"
  done
  kill -0 "$sc" || { echo "the daemon died"; cat "$work/sc.log"; exit 1; }
fi
for i in 1 2 3; do
  [ "${1:-}" = churn ] && break
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=640x360:rate=25:duration=180" \
    -f lavfi -i "sine=frequency=$((300 + i * 100)):sample_rate=48000:duration=180" \
    -c:v libx264 -preset ultrafast -g 50 -pix_fmt yuv420p -b:v 800k -c:a aac -b:a 96k \
    -movflags +faststart -shortest "$work/sc/downloads/film$i.mp4"
done
if [ "${1:-}" != churn ]; then
python3 bench/mktorrents.py "$work/t" 400
port=$(free_port)
start_daemon "$work/sc" "$port" SWARMCAST_MEDIA_IDLE_TIMEOUT_SECS=15
sc=$daemon
api() { curl -sf "http://127.0.0.1:$port$1" "${@:2}"; }

# Three players.
end=$(( $(date +%s) + SOAK ))
player() { # film-number
  local id st hls index segs n pos last_seek
  id=$(api /api/torrents/create -H 'content-type: application/json' -d "{\"path\": \"film$1.mp4\"}" | jq -r .id)
  st=$(api /api/stream -H 'content-type: application/json' -d "{\"infoHash\": \"$id\"}")
  hls=$(jq -r .hlsUrl <<<"$st")
  index="${hls%%\?*}/index.m3u8?${hls#*\?}"
  mapfile -t segs < <(api "$index" | grep -v '^#')
  n=${#segs[@]}; pos=0; last_seek=$(date +%s)
  while [ "$(date +%s)" -lt "$end" ]; do
    if [ $(( $(date +%s) - last_seek )) -ge 20 ]; then
      pos=$(( RANDOM % n )); last_seek=$(date +%s)
    fi
    curl -sf -o /dev/null --max-time 60 "http://127.0.0.1:$port/api/stream/$id/${segs[$pos]}" || echo "segment $pos of film$1 failed" >&2
    api "$index" > /dev/null || true
    pos=$(( (pos + 1) % n ))
    sleep 1
  done
}
for i in 1 2 3; do player "$i" & pids+=($!); done

# Adds and removes: one torrent in, the oldest of those out, every 3 s.
churn() {
  local k=0 added=()
  while [ "$(date +%s)" -lt "$end" ]; do
    f=$(printf '%s/t/%04d.torrent' "$work" $(( k % 400 )))
    id=$(api /api/torrents/upload -F "file=@$f" | jq -r .id 2>/dev/null || true)
    [ -n "$id" ] && [ "$id" != null ] && added+=("$id")
    if [ ${#added[@]} -gt 20 ]; then
      api "/api/torrents/${added[0]}?delete_files=true" -X DELETE > /dev/null || true
      added=("${added[@]:1}")
    fi
    k=$((k + 1))
    sleep 3
  done
}
churn & pids+=($!)

# Samples: seconds since start, RSS kB, open fds.
t_start=$(date +%s)
echo "t rss_kb fds" > "$work/samples"
while [ "$(date +%s)" -lt "$end" ]; do
  echo "$(( $(date +%s) - t_start )) $(rss_kb "$sc" VmRSS) $(fds "$sc")" >> "$work/samples"
  sleep 5
done
kill -0 "$sc" || { echo "the daemon died"; cat "$work/sc.log"; exit 1; }
fi

if [ -n "${SOAK_SAMPLES:-}" ]; then cp "$work/samples" "$SOAK_SAMPLES"; fi
python3 - "$work/samples" "$WARMUP" <<'PY' > "$work/fit"
import sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
rows = [(float(t), float(r), float(f)) for t, r, f in rows if float(t) >= float(sys.argv[2])]
def slope(xs, ys):
    n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
    d = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / d if d else 0.0
ts = [r[0] for r in rows]
rss = slope(ts, [r[1] for r in rows]) * 3600 / 1024   # MB per hour
fds = slope(ts, [r[2] for r in rows]) * 3600          # fds per hour
print(f"{rss:.1f} {fds:.1f} {len(rows)} {min(r[1] for r in rows)/1024:.0f} {max(r[1] for r in rows)/1024:.0f} {min(r[2] for r in rows):.0f} {max(r[2] for r in rows):.0f}")
PY
read -r rss_slope fd_slope n rss_min rss_max fd_min fd_max < "$work/fit"
echo
if [ "${1:-}" = churn ]; then
  echo "churn: ${SOAK} s, $round rounds: a 720p transcode started and stopped every 4 s, a 1080p passthrough every fourth round"
  echo "after ${WARMUP} s of warm-up, $n samples: RSS ${rss_min}–${rss_max} MB, slope ${rss_slope} MB/h; fds ${fd_min}–${fd_max}, slope ${fd_slope}/h"
  bench_row "churn ${SOAK} s ($round rounds): RSS slope after warm-up (RSS ${rss_min}–${rss_max} MB)" "${rss_slope} MB/h" "—" "—" "< 5 MB/h"
  bench_row "churn ${SOAK} s: open fds slope after warm-up (${fd_min}–${fd_max})" "${fd_slope} /h" "—" "—" "≈ 0"
  exit 0
fi
echo "soak: ${SOAK} s, 3 streams seeking every 20 s, a torrent added and one removed every 3 s"
echo "after ${WARMUP} s of warm-up, $n samples: RSS ${rss_min}–${rss_max} MB, slope ${rss_slope} MB/h; fds ${fd_min}–${fd_max}, slope ${fd_slope}/h"
bench_row "soak ${SOAK} s: RSS slope after warm-up (RSS ${rss_min}–${rss_max} MB)" "${rss_slope} MB/h" "—" "—" "≈ 0"
bench_row "soak ${SOAK} s: open fds slope after warm-up (${fd_min}–${fd_max})" "${fd_slope} /h" "—" "—" "≈ 0"
