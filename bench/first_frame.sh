#!/usr/bin/env bash
# First frame and seek on a shaped swarm: swarmcast against `rqbit server` + `ffmpeg -f hls`
# on the same magnet, the same seeders and the same films, in the same run.
#
# Seeders are transmission-daemons, each in its own network namespace behind a veth pair
# whose egress is shaped by `tc tbf` (this kernel has no netem). Per case:
#   first: magnet → the first HLS segment received (swarmcast: POST /api/stream, the
#          playlists, then seg00000.ts; rqbit: POST /torrents, then ffmpeg reading its HTTP
#          stream until its playlist lists a segment);
#   seek:  once the film is 10 % downloaded, the segment at 70 % (ffmpeg: -ss to there).
# Each is printed beside its physical limit, the bytes the player needs (header and
# index plus the segment, through the keyframe that closes it, in whole pieces) ÷ the
# swarm's rate measured over the same shaped links, as a ratio.
#
#   sudo bench/first_frame.sh                 # every case
#   CASES="4:pass 4:trans" bench/first_frame.sh
# A case is RATES:MODE[:rtt|:qbt]: RATES one seeder per comma-separated MB/s figure, MODE
# pass (H.264, copied) or trans (MPEG-4, encoded to H.264), `rtt` puts a relay adding
# 20 ms each way (a 40 ms round trip) in front of every seeder, `qbt` seeds with
# qbittorrent-nox (libtorrent) instead of transmission-daemon.
#
# Needs root (ip netns, tc), transmission-daemon, ffmpeg, curl, jq, python3, rqbit
# (`cargo install rqbit --locked`) and a release build of swarmcast.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

CASES=${CASES:-"1:pass 4:pass 16:pass 1:trans 4:trans 16:trans 0.5,1,2.5:pass 4:pass:rtt 1:pass:qbt 4:pass:qbt"}
FILM_SECS=${FILM_SECS:-120}
PIECE_KIB=${PIECE_KIB:-256}
RQBIT=${RQBIT:-$(command -v rqbit || echo "$HOME/.cargo/bin/rqbit")}
[ -x "$BIN" ] || [ -n "${SKIP_SWARMCAST:-}" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -x "$RQBIT" ] || { echo "install rqbit first: cargo install rqbit --locked" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, tc)" >&2; exit 1; }

work=$(mktemp -d /tmp/swarmcast-ff.XXXXXX)
films=target/bench/films
mkdir -p "$films"
pids=()
nets=()
cleanup() {
  for l in "$work"/sc-*.log; do [ -e "$l" ] && cp "$l" "target/bench/first_frame-${l##*/sc-}"; done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for n in "${nets[@]}"; do ip netns del "$n" 2>/dev/null || true; ip link del "$n-h" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
sub() { echo "$1 - $2" | bc; }
# get URL OUT [curl args…]: as a player does, asks again (at most 8 times) while the box
# answers 503 (NOT_READY or NO_SEEDS, each after its own bounded wait); fails otherwise.
get() {
  local url=$1 out=$2 code; shift 2
  for _ in $(seq 8); do
    code=$(curl -s -o "$out" -w '%{http_code}' "$@" "$url")
    [ "$code" = 200 ] && return 0
    echo "$url answered $code: $(head -c 300 "$out")" >&2
    [ "$code" = 503 ] || return 1
    sleep 1
  done
  return 1
}

# --- films (kept between runs) -------------------------------------------------------
film() { # name vcodec-args → path
  local out="$films/$1-${FILM_SECS}s.mp4"
  if [ ! -s "$out" ]; then
    echo "generating $out…" >&2
    ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=25:duration=$FILM_SECS" \
      -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$FILM_SECS" \
      $2 -pix_fmt yuv420p -c:a aac -b:a 128k -movflags +faststart -shortest "$out.tmp.mp4"
    mv "$out.tmp.mp4" "$out"
  fi
  echo "$out"
}
pass_film=$(film h264 "-c:v libx264 -preset ultrafast -g 50 -b:v 3M -maxrate 3M -bufsize 6M")
trans_film=$(film mpeg4 "-c:v mpeg4 -g 50 -b:v 3M -maxrate 3M -bufsize 6M")

# --- shaped seeders --------------------------------------------------------------------
# seeder N RATE_MBPS FILM CLIENT: transmission-daemon (or qbittorrent-nox) in namespace
# ffN (10.77.N.2) whose uplink is RATE MB/s, seeding FILM at 10.77.N.2:51413.
seeder() {
  local n=$1 rate=$2 film=$3 client=$4 ns="ff$1"
  ip netns del "$ns" 2>/dev/null || true; ip link del "$ns-h" 2>/dev/null || true
  nets+=("$ns")
  ip netns add "$ns"
  ip link add "$ns-h" type veth peer name "$ns-s"
  ip link set "$ns-s" netns "$ns"
  ip addr add "10.77.$n.1/24" dev "$ns-h"; ip link set "$ns-h" up
  ip netns exec "$ns" ip addr add "10.77.$n.2/24" dev "$ns-s"
  ip netns exec "$ns" ip link set "$ns-s" up
  ip netns exec "$ns" ip link set lo up
  local kbit burst
  kbit=$(echo "$rate * 8 * 1000000 / 1000" | bc)
  burst=$(( kbit / 8 / 100 )); [ "$burst" -lt 64 ] && burst=64   # KB: 10 ms at the rate
  ip netns exec "$ns" tc qdisc add dev "$ns-s" root tbf rate "${kbit}kbit" burst "${burst}kb" latency 100ms
  local dir="$work/seed$n-$(date +%s%N)"; mkdir -p "$dir/cfg"   # fresh: a kept resume file makes transmission verify again
  local torrent="$work/$(basename "$film").torrent" hash
  hash=$(torrent_hash "$torrent")
  if [ "$client" = qbittorrent ]; then
    mkdir -p "$dir/qbt/qBittorrent/config"
    printf '%s\n' '[LegalNotice]' 'Accepted=true' '[BitTorrent]' 'Session\DHTEnabled=false' \
      'Session\LSDEnabled=false' 'Session\PeXEnabled=false' 'Session\Port=51413' \
      'Session\QueueingSystemEnabled=false' '[Preferences]' 'Connection\UPnP=false' \
      'WebUI\Address=127.0.0.1' 'WebUI\Port=9091' 'WebUI\LocalHostAuth=false' \
      'WebUI\CSRFProtection=false' 'WebUI\HostHeaderValidation=false' > "$dir/qbt/qBittorrent/config/qBittorrent.conf"
    ip netns exec "$ns" qbittorrent-nox --profile="$dir/qbt" --webui-port=9091 > "$dir/log" 2>&1 &
    pids+=($!)
    local api=http://127.0.0.1:9091/api/v2
    for _ in $(seq 100); do ip netns exec "$ns" curl -sf "$api/app/version" > /dev/null && break; sleep 0.1; done
    ip netns exec "$ns" curl -sf -F "torrents=@$torrent" -F "savepath=$(dirname "$(realpath "$film")")" \
      "$api/torrents/add" > /dev/null
    for _ in $(seq 600); do
      ip netns exec "$ns" curl -sf "$api/torrents/info?hashes=$hash" | jq -e '.[0].progress == 1' > /dev/null 2>&1 && break
      sleep 0.2
    done
    return
  fi
  cat > "$dir/cfg/settings.json" <<EOF
{"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
 "port-forwarding-enabled": false, "peer-port": 51413, "rpc-port": 9091,
 "rpc-authentication-required": false, "rpc-whitelist-enabled": false,
 "rpc-host-whitelist-enabled": false, "ratio-limit-enabled": false,
 "idle-seeding-limit-enabled": false, "download-dir": "$(dirname "$(realpath "$film")")",
 "message-level": 1, "speed-limit-up-enabled": false}
EOF
  ip netns exec "$ns" transmission-daemon -f -g "$dir/cfg" -T -O -Y -M --no-utp -p 9091 -P 51413 \
    > "$dir/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do ip netns exec "$ns" transmission-remote 127.0.0.1:9091 -l >/dev/null 2>&1 && break; sleep 0.1; done
  ip netns exec "$ns" transmission-remote 127.0.0.1:9091 -a "$torrent" -w "$(dirname "$(realpath "$film")")" > /dev/null
  for _ in $(seq 600); do
    ip netns exec "$ns" transmission-remote 127.0.0.1:9091 -t "$hash" -i 2>/dev/null | grep -q 'Percent Done: 100%' && break
    sleep 0.2
  done
}
torrent_hash() { python3 -c '
import hashlib,sys
b=open(sys.argv[1],"rb").read()
def end(i):
    c=b[i:i+1]
    if c==b"i": return b.index(b"e",i)+1
    if c in (b"l",b"d"):
        i+=1
        while b[i:i+1]!=b"e": i=end(i)
        return i+1
    n=b.index(b":",i); return n+1+int(b[i:n])
s=b.index(b"4:info")+6
print(hashlib.sha1(b[s:end(s)]).hexdigest())' "$1"; }

# measure FILM RATES: sets $rate to the swarm's rate in bytes/s, every link at once (HTTP
# from each seeder's namespace over the same shaped veth, 3 s of data each).
measure() {
  local film=$1 n=0 r jobs=() servers=() total=0
  for r in ${2//,/ }; do
    n=$((n + 1))
    ip netns exec "ff$n" python3 -m http.server --bind "10.77.$n.2" 8000 \
      --directory "$(dirname "$(realpath "$film")")" > /dev/null 2>&1 &
    servers+=($!)
  done
  n=0
  for r in ${2//,/ }; do
    n=$((n + 1))
    for _ in $(seq 100); do curl -sfI "http://10.77.$n.2:8000/" > /dev/null && break; sleep 0.1; done
  done
  n=0
  for r in ${2//,/ }; do
    n=$((n + 1))
    local bytes; bytes=$(echo "$r * 3000000 / 1" | bc)
    curl -s -o /dev/null -r "0-$bytes" -w '%{speed_download}\n' \
      "http://10.77.$n.2:8000/$(basename "$film")" > "$work/rate.$n" &
    jobs+=($!)
  done
  for j in "${jobs[@]}"; do wait "$j" || true; done
  for j in "${servers[@]}"; do kill -9 "$j" 2>/dev/null || true; wait "$j" 2>/dev/null || true; done
  n=0
  for r in ${2//,/ }; do n=$((n + 1)); total=$(echo "$total + $(cat "$work/rate.$n")" | bc); done
  rate=${total%.*}
}

# --- one case ----------------------------------------------------------------------------
rows=()
run_case() {
  local rates=$1 mode=$2 extra=${3:-} rtt="" client=transmission
  [ "$extra" = rtt ] && rtt=rtt
  [ "$extra" = qbt ] && client=qbittorrent
  local f=$pass_film; [ "$mode" = trans ] && f=$trans_film
  [ -s "$work/$(basename "$f").torrent" ] || transmission-create -s "$PIECE_KIB" -o "$work/$(basename "$f").torrent" "$f" > /dev/null
  local hash; hash=$(torrent_hash "$work/$(basename "$f").torrent")
  local addrs=() n=0 r relays=()
  for r in ${rates//,/ }; do n=$((n + 1)); seeder "$n" "$r" "$f" "$client"; addrs+=("10.77.$n.2:51413"); done
  measure "$f" "$rates"
  # Peers the clients are given: the seeders, or relays in front of them.
  local peers=()
  for a in "${addrs[@]}"; do
    if [ -n "$rtt" ]; then
      local lp; lp=$(free_port)
      python3 bench/shaped.py relay "$lp" "${a%:*}" "${a#*:}" 20 & pids+=($!); relays+=($!)
      peers+=("127.0.0.1:$lp")
    else
      peers+=("$a")
    fi
  done
  local xpe="" ip_list
  for p in "${peers[@]}"; do xpe="$xpe&x.pe=$p"; done
  ip_list=$(IFS=,; echo "${peers[*]}")
  local magnet="magnet:?xt=urn:btih:$hash$xpe"
  local name="$rates MB/s $mode${rtt:+, 40 ms RTT}"
  [ "$client" = qbittorrent ] && name="$name, qBittorrent seeder"
  # Each case downloads into its own dirs: a case must not find the last one's pieces.
  local tag="${rates//,/_}-$mode${extra:+-$extra}"
  echo "== $name: swarm measured at $(echo "scale=2; $rate / 1000000" | bc) MB/s, peers $ip_list" >&2

  # swarmcast.
  local t_first=nan t_seek=nan t_data=nan s_start s_end f_start f_end seg
  if [ -z "${SKIP_SWARMCAST:-}" ]; then
  local port; port=$(free_port)
  start_daemon "$work/sc-$tag" "$port" SWARMCAST_LOG_LEVEL="${FF_LOG_LEVEL:-info,librqbit=warn}"
  local sc=$daemon t0
  t0=$(now)
  # When the first data block arrives (the torrent's downloaded bytes, polled every 50 ms
  # for at most 60 s): what the seeders make a leecher wait before that (their metadata
  # answer, their unchoke) is theirs, what follows is ours.
  rm -f "$work/first_byte"
  ( for _ in $(seq 1200); do
      [ "$(curl -sf "http://127.0.0.1:$port/api/torrents/$hash" | jq '.downloaded > 0' 2>/dev/null)" = true ] \
        && { now > "$work/first_byte"; break; }
      sleep 0.05
    done ) &
  local poller=$!
  get "http://127.0.0.1:$port/api/stream" "$work/stream.json" -H 'content-type: application/json' \
    -d "{\"magnet\": \"$magnet\"}"
  local hls; hls=$(jq -r .hlsUrl "$work/stream.json")
  local base="http://127.0.0.1:$port${hls%%\?*}" q="?${hls#*\?}"
  get "$base$q" /dev/null
  get "$base/index.m3u8$q" "$work/sc.m3u8"
  get "$base/seg00000.ts$q" /dev/null
  t_first=$(sub "$(now)" "$t0")
  wait "$poller" || true
  t_data=nan; [ -s "$work/first_byte" ] && t_data=$(sub "$(cat "$work/first_byte")" "$t0")
  read -r seg s_start s_end < <(python3 bench/shaped.py segment "$work/sc.m3u8" 0.7)
  read -r _ f_start f_end < <(python3 bench/shaped.py segment "$work/sc.m3u8" 0)
  # Our download rate from the first segment to 10 % (the request window must not cost
  # the swarm's rate).
  local d0 t10; d0=$(curl -sf "http://127.0.0.1:$port/api/torrents/$hash" | jq .downloaded); t10=$(now)
  for _ in $(seq 1200); do
    [ "$(curl -sf "http://127.0.0.1:$port/api/torrents/$hash" | jq '.progress >= 10')" = true ] && break
    sleep 0.1
  done
  echo "$name: downloaded at $(echo "scale=2; ($(curl -sf "http://127.0.0.1:$port/api/torrents/$hash" | jq .downloaded) - $d0) / ($(now) - $t10) / 1000000" | bc) MB/s up to 10 % (swarm $(echo "scale=2; $rate / 1000000" | bc) MB/s)" >&2
  t0=$(now)
  get "$base/seg$(printf %05d "$seg").ts$q" /dev/null
  t_seek=$(sub "$(now)" "$t0")
  kill -9 "$sc" 2>/dev/null || true
  else
    # The grid ffmpeg would cut: 4 s segments on the 2 s keyframes.
    printf '#EXTM3U\n' > "$work/sc.m3u8"
    for _ in $(seq $((FILM_SECS / 4))); do printf '#EXTINF:4.0,\nx\n' >> "$work/sc.m3u8"; done
    read -r seg s_start s_end < <(python3 bench/shaped.py segment "$work/sc.m3u8" 0.7)
    read -r _ f_start f_end < <(python3 bench/shaped.py segment "$work/sc.m3u8" 0)
  fi

  # The physical limits: bytes needed ÷ measured rate.
  local piece=$((PIECE_KIB * 1024)) need_first need_seek lim_first lim_seek
  need_first=$(python3 bench/shaped.py needed "$f" "$piece" "$f_start" "$f_end" index)
  need_seek=$(python3 bench/shaped.py needed "$f" "$piece" "$s_start" "$s_end")
  lim_first=$(echo "scale=3; $need_first / $rate" | bc)
  lim_seek=$(echo "scale=3; $need_seek / $rate" | bc)

  # rqbit server + ffmpeg reading its HTTP stream.
  local rp; rp=$(free_port)
  "$RQBIT" --disable-dht --disable-dht-persistence --disable-upnp-port-forward --disable-lsd \
    --listen-port "$(free_port)" --http-api-listen-addr "127.0.0.1:$rp" \
    server start --disable-persistence "$work/rq-$tag" > "$work/rqbit.log" 2>&1 &
  local rq=$!; pids+=("$rq")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$rp/" > /dev/null && break; sleep 0.1; done
  local codec="-c copy"
  [ "$mode" = trans ] && codec="-c:v libx264 -preset veryfast -g 100 -keyint_min 100 -sc_threshold 0 -bf 0 -c:a aac"
  local out="$work/ff-$tag"; mkdir -p "$out/a" "$out/b"
  t0=$(now)
  local id; id=$(curl -sf -X POST "http://127.0.0.1:$rp/torrents?overwrite=true&initial_peers=$ip_list" --data-binary "$magnet" | jq -r '.id')
  ffmpeg -v error -i "http://127.0.0.1:$rp/torrents/$id/stream/0" $codec -f hls -hls_time 4 \
    -hls_playlist_type event "$out/a/index.m3u8" > "$work/ffa.log" 2>&1 &
  local ff=$!; pids+=("$ff")
  for _ in $(seq 1200); do grep -qs '\.ts' "$out/a/index.m3u8" && break; sleep 0.05; done
  local r_first; r_first=$(sub "$(now)" "$t0")
  local size; size=$(stat -c %s "$f")
  for _ in $(seq 1200); do
    local have; have=$(curl -sf "http://127.0.0.1:$rp/torrents/$id/stats/v1" | jq '.progress_bytes // 0')
    [ "$(echo "$have * 10 >= $size" | bc)" = 1 ] && break
    sleep 0.1
  done
  kill -9 "$ff" 2>/dev/null || true
  t0=$(now)
  ffmpeg -v error -ss "$s_start" -i "http://127.0.0.1:$rp/torrents/$id/stream/0" $codec -f hls -hls_time 4 \
    -hls_playlist_type event "$out/b/index.m3u8" > "$work/ffb.log" 2>&1 &
  ff=$!; pids+=("$ff")
  for _ in $(seq 1200); do grep -qs '\.ts' "$out/b/index.m3u8" && break; sleep 0.05; done
  local r_seek; r_seek=$(sub "$(now)" "$t0")
  kill -9 "$ff" "$rq" "${relays[@]}" 2>/dev/null || true
  for ns in "${nets[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; done
  nets=()

  printf '%-34s first %6.2f s (limit %5.2f s, %.2f×; rqbit+ffmpeg %6.2f s)  seek %6.2f s (limit %5.2f s, %.2f×; rqbit+ffmpeg %6.2f s)\n' \
    "$name" "$t_first" "$lim_first" "$(ratio "$t_first" "$lim_first")" "$r_first" \
    "$t_seek" "$lim_seek" "$(ratio "$t_seek" "$lim_seek")" "$r_seek"
  if [ "$t_data" != nan ]; then
    local ours; ours=$(sub "$t_first" "$t_data")
    echo "$name: first data block $(printf %.2f "$t_data") s after the magnet; first segment $(printf %.2f "$ours") s after that" >&2
    bench_row "$name: first data block → first segment (limit $(printf %.2f "$lim_first") s; the seeders' wait before it: $(printf %.2f "$t_data") s)" "$(printf %.2f "$ours") s, $(ratio "$ours" "$lim_first")× limit" "—" "—" "≤ 1.3× limit"
  fi
  bench_row "$name: magnet → first segment (limit $(printf %.2f "$lim_first") s)" "$(printf %.2f "$t_first") s, $(ratio "$t_first" "$lim_first")× limit" "rqbit+ffmpeg $(printf %.2f "$r_first") s" "$(ratio "$t_first" "$r_first")" "≤ 1.3× limit"
  bench_row "$name: seek to 70 % at 10 % downloaded (limit $(printf %.2f "$lim_seek") s)" "$(printf %.2f "$t_seek") s, $(ratio "$t_seek" "$lim_seek")× limit" "rqbit+ffmpeg $(printf %.2f "$r_seek") s" "$(ratio "$t_seek" "$r_seek")" "≤ 1.3× limit"
}

for c in $CASES; do
  IFS=: read -r rates mode rtt <<< "$c"
  run_case "$rates" "$mode" "$rtt"
done
