#!/usr/bin/env bash
# Boots the x86-64 image under QEMU (TCG software emulation: no KVM needed) and
# checks the daemon from outside through a forwarded loopback port:
#   /api/health answers; swarmcast.service is active (systemd's console line, which it
#   prints when READY=1 arrives); the first-run setup (/auth/setup) makes the
#   administrator, whose session then reads the encoder list (/api/system/status); the first
#   boot grew the root filesystem; a USB disk labelled SWARMCAST was mounted as the
#   download dir by udev → srv-swarmcast-downloads.mount.
#
#   image/test.sh build/image/swarmcast-amd64.img        (FIRMWARE="bios uefi" by default)
#
# The guest's network is QEMU's user mode with restrict=on: it reaches nothing but
# the forwarded port. Each boot is bounded by BOOT_TIMEOUT seconds.
set -uo pipefail
img=$(readlink -f "$1")
firmwares=${FIRMWARE:-bios uefi}
limit=${BOOT_TIMEOUT:-900}
[ -f "$img" ] || { echo "no image at $1: run make image-amd64 first" >&2; exit 1; }
work=$(mktemp -d /tmp/swarmcast-image-test.XXXXXX)
qpid=""
cleanup() { [ -n "$qpid" ] && kill "$qpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

boot() { # firmware
    local fw=$1 port serial=$work/serial-$1.log start
    port=$(free_port)
    # A copy-on-write overlay, bigger than the image: the first boot must grow into it.
    qemu-img create -q -f qcow2 -F raw -b "$img" "$work/disk-$fw.qcow2" 6G
    truncate -s 128M "$work/usb-$fw.img"
    mkfs.ext4 -q -F -L SWARMCAST "$work/usb-$fw.img"
    local fwopts=()
    if [ "$fw" = uefi ]; then
        cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"
        fwopts=(-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
                -drive if=pflash,format=raw,file="$work/vars.fd")
    fi
    echo "== booting ($fw) with the API on 127.0.0.1:$port; serial log $serial"
    start=$(date +%s)
    nice -n 19 qemu-system-x86_64 -machine q35 -accel tcg -smp 2 -m 1536 \
        "${fwopts[@]}" \
        -drive file="$work/disk-$fw.qcow2",if=virtio,format=qcow2 \
        -netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:"$port"-:6991 \
        -device virtio-net-pci,netdev=n0 \
        -device qemu-xhci -drive if=none,id=usb0,format=raw,file="$work/usb-$fw.img" \
        -device usb-storage,drive=usb0 \
        -display none -monitor none -serial file:"$serial" &
    qpid=$!
    local health="" i=0
    while [ $(( $(date +%s) - start )) -lt "$limit" ]; do
        i=$((i + 1))
        kill -0 "$qpid" 2>/dev/null || { bad "$fw: QEMU exited"; break; }
        health=$(curl -s -m 5 "http://127.0.0.1:$port/api/health" || true)
        [ -n "$health" ] && break
        sleep 5
    done
    local took=$(( $(date +%s) - start ))
    if echo "$health" | grep -q '"status":"ok"'; then
        ok "$fw: /api/health answered after ${took} s: $health"
    else
        bad "$fw: /api/health did not answer within ${limit} s"
        tail -n 30 "$serial" | sed 's/^/  serial: /'
    fi
    # systemd's console lines (colours stripped; long names are cut with "…"). The
    # Started line comes when READY=1 is processed: under emulation allow a minute.
    console() { sed 's/\x1b\[[0-9;]*m//g' "$serial" | tr -d '\r'; }
    # After a getty takes the console systemd stops printing there, so the image's
    # swarmcast-console-status.service (ordered after READY=1) reports the state.
    for _ in $(seq 90); do
        console | grep -q "swarmcast-status: swarmcast.service is" && break
        sleep 1
    done
    if console | grep -q "swarmcast-status: swarmcast.service is active"; then
        ok "$fw: $(console | grep -o 'swarmcast-status: .*' | head -1)"
    else
        bad "$fw: no 'swarmcast.service is active' on the serial console: $(console | grep -o 'swarmcast-status: .*' | head -1)"
    fi
    # systemd's own line, or (when a getty already had the console) the status report.
    if console | grep -q -e "Mounted srv-swarmcast-dow.*label SWARMCAST" -e "swarmcast-status: downloads on /dev/.*SWARMCAST"; then
        ok "$fw: the USB disk labelled SWARMCAST was mounted at /srv/swarmcast/downloads"
    else
        bad "$fw: the USB disk was not mounted (no 'Mounted srv-swarmcast-downloads.mount')"
    fi
    if console | grep -q "swarmcast-firstboot: root filesystem:"; then
        ok "$fw: first boot: $(console | grep -o 'swarmcast-firstboot: .*' | tr '\n' ';' | cut -c1-200)"
    else
        bad "$fw: no first-boot report on the console"
    fi
    # As a new owner would: the first-run setup makes the administrator and logs in.
    local code body jar=$work/cookies-$fw
    code=$(curl -s -m 60 -o "$work/setup-$fw.json" -w '%{http_code}' -c "$jar" \
        -H 'content-type: application/json' \
        -d '{"username":"admin","password":"image test password"}' \
        "http://127.0.0.1:$port/auth/setup" || true)
    if [ "$code" = 201 ]; then
        ok "$fw: first-run setup made the administrator and logged in"
    else
        bad "$fw: first-run setup answered $code: $(head -c 300 "$work/setup-$fw.json" 2>/dev/null)"
    fi
    # The encoders are probed with real test encodes after start: slow under emulation.
    local until=$(( $(date +%s) + ${PROBE_TIMEOUT:-300} ))
    while :; do
        body=$(curl -s -m 30 -b "$jar" -w '\n%{http_code}' "http://127.0.0.1:$port/api/system/status" || true)
        code=$(echo "$body" | tail -n 1)
        body=$(echo "$body" | sed '$d')
        [ "$code" = 200 ] && echo "$body" | jq -e '.encoders_probed == false' >/dev/null 2>&1 || break
        [ "$(date +%s)" -lt "$until" ] || break
        sleep 5
    done
    if [ "$code" = 200 ] && echo "$body" | jq -e '.encoders | type == "array" and length > 0' >/dev/null 2>&1; then
        ok "$fw: encoders: $(echo "$body" | jq -c '[.encoders[] | {name, verified}]') selected $(echo "$body" | jq -c .selected_encoder)"
    elif [ "$code" = 404 ]; then
        bad "$fw: /api/system/status does not exist in this build (404): no encoder list to check"
    else
        bad "$fw: /api/system/status answered $code without an encoder list: $(echo "$body" | head -c 300)"
    fi
    kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; qpid=""
    echo "== $fw boot checked in $(( $(date +%s) - start )) s"
}

t0=$(date +%s)
for fw in $firmwares; do boot "$fw"; done
echo "image test: $(( $(date +%s) - t0 )) s in all"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
