#!/usr/bin/env bash
# Builds a flashable swarmcast image from Debian packages and the swarmcast .deb.
#
#   image/build.sh amd64 target/debian/swarmcast_*_amd64.deb  build/image/swarmcast-amd64.img
#   image/build.sh arm64 target/debian/swarmcast_*_arm64.deb build/image/swarmcast-rpi-arm64.img
#
# amd64: a GPT raw disk that boots with BIOS (GRUB in a BIOS boot partition) and UEFI
#        (GRUB as the removable-media loader on the ESP), for x86-64 mini-PCs and VMs.
# arm64: an MBR card image for the Raspberry Pi 4 (Debian's raspi-firmware +
#        linux-image-arm64, the layout of Debian's own raspi images).
# Needs root (chroot), debootstrap, and for arm64 qemu-user-static with binfmt_misc.
# No loop devices: filesystems are made from directories and written in place.
# Downloads packages from the Debian mirror ($MIRROR).
set -euo pipefail

arch=$1 deb=$(readlink -f "$2") out=$3
here=$(cd "$(dirname "$0")" && pwd)
suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
size=${IMAGE_SIZE:-3G}
mkdir -p "$(dirname "$out")"
out=$(readlink -f "$out")
work=${WORK:-$(dirname "$out")/work-$arch}
cache=$(dirname "$out")/cache-$arch
root=$work/root
mkdir -p "$work" "$cache/debootstrap" "$cache/apt"
[ "$(id -u)" = 0 ] || { echo "image/build.sh must run as root" >&2; exit 1; }
[ -f "$deb" ] || { echo "no .deb at $2: run cargo deb first" >&2; exit 1; }

mounts=()
cleanup() {
    set +e
    for ((i=${#mounts[@]}-1; i>=0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null; done
    set -e
}
trap cleanup EXIT
mnt() { mount "$@"; mounts+=("${@: -1}"); }

common_pkgs=systemd,systemd-sysv,udev,dbus,systemd-resolved,avahi-daemon,libnss-mdns,cloud-guest-utils,e2fsprogs,fdisk,ca-certificates,initramfs-tools,apt-utils

debootstrap_root() { # arch components extra-packages
    echo "== debootstrap $suite/$1 into $root"
    nice -n 19 debootstrap --arch="$1" --variant=minbase --components="$2" \
        --cache-dir="$cache/debootstrap" --include="$common_pkgs,$3" "$suite" "$root" "$mirror"
}

chroot_mounts() {
    mnt --bind /dev "$root/dev"
    mnt --bind /dev/pts "$root/dev/pts"
    mnt -t proc proc "$root/proc"
    mnt -t sysfs sysfs "$root/sys"
    mnt -t tmpfs tmpfs "$root/run"
    mnt --bind "$cache/apt" "$root/var/cache/apt/archives"
    # systemd-resolved makes resolv.conf a link into /run: the host's while building.
    rm -f "$root/etc/resolv.conf"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
}

finish_root() {
    in_root apt-get clean
    rm -rf "$root/var/lib/apt/lists/"*_Packages
    ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
}

in_root() { LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive nice -n 19 chroot "$root" "$@"; }

# The parts both images share: hostname, network, mDNS, first boot, the package.
configure_root() {
    echo "== configure the system"
    echo swarmcast > "$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tswarmcast\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
    printf 'deb %s %s %s\ndeb http://deb.debian.org/debian-security %s-security %s\n' \
        "$mirror" "$suite" "$1" "$suite" "$1" > "$root/etc/apt/sources.list"
    install -D -m 0644 "$here/files/20-wired.network" "$root/etc/systemd/network/20-wired.network"
    install -D -m 0755 "$here/files/swarmcast-firstboot" "$root/usr/libexec/swarmcast/firstboot"
    install -D -m 0644 "$here/files/swarmcast-firstboot.service" "$root/etc/systemd/system/swarmcast-firstboot.service"
    install -D -m 0755 "$here/files/swarmcast-console-status" "$root/usr/libexec/swarmcast/console-status"
    install -D -m 0644 "$here/files/swarmcast-console-status.service" "$root/etc/systemd/system/swarmcast-console-status.service"
    cp "$deb" "$root/tmp/swarmcast.deb"
    in_root apt-get update -qq
    in_root apt-get install -y -q --no-install-recommends avahi-daemon /tmp/swarmcast.deb
    rm "$root/tmp/swarmcast.deb"
    in_root systemctl enable systemd-networkd systemd-resolved avahi-daemon swarmcast-firstboot swarmcast swarmcast-console-status
    in_root systemctl is-enabled swarmcast
    # No login on the box: it is run through its web UI (root stays locked).
    in_root passwd -l root >/dev/null
    # Secrets and ids made on first boot, never baked into the image.
    echo uninitialized > "$root/etc/machine-id"
    rm -f "$root/var/lib/dbus/machine-id" "$root/var/lib/systemd/random-seed"
    ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"
    rm -rf "$root/var/lib/swarmcast/"* "$root/var/lib/swarmcast-firstboot.done"
    rm -rf "$root/var/lib/apt/lists/"*_Packages "$root/var/log/"*.log
}

build_amd64() {
    # Built without loop devices (this kernel may lack partition support): the
    # filesystems are made from directories (mkfs.ext4 -d, mkfs.vfat + mcopy) and
    # written into the partitions; GRUB's images are made with grub-mkimage.
    rm -rf "$root"; mkdir -p "$root"
    debootstrap_root amd64 main linux-image-amd64,grub-pc-bin,grub-efi-amd64-bin,grub2-common
    chroot_mounts
    local ruuid esp_id
    ruuid=$(cat /proc/sys/kernel/random/uuid)
    esp_id=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ' | tr a-f A-F)
    mkdir -p "$root/boot/efi"
    printf 'UUID=%s / ext4 errors=remount-ro 0 1\nUUID=%s-%s /boot/efi vfat umask=0077,nofail 0 2\n' \
        "$ruuid" "${esp_id:0:4}" "${esp_id:4:4}" > "$root/etc/fstab"
    configure_root main
    echo "== bootloaders: GRUB for BIOS and UEFI"
    cat > "$root/etc/default/grub" <<GRUB
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=swarmcast
GRUB_CMDLINE_LINUX_DEFAULT=""
# Serial too, so a headless box (and the image test) shows its boot.
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB
    local kver
    kver=$(ls "$root/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -1)
    [ -n "$kver" ] || { echo "no kernel in /boot" >&2; exit 1; }
    mkdir -p "$root/boot/grub"
    # The first grub.cfg (update-grub on the box rewrites it on kernel upgrades).
    cat > "$root/boot/grub/grub.cfg" <<CFG
set timeout=1
serial --speed=115200
terminal_input console serial
terminal_output console serial
search --no-floppy --fs-uuid --set=root $ruuid
menuentry "swarmcast (Debian, $kver)" {
    linux /boot/vmlinuz-$kver root=UUID=$ruuid ro console=tty0 console=ttyS0,115200n8
    initrd /boot/initrd.img-$kver
}
CFG
    printf 'search --no-floppy --fs-uuid --set=root %s\nset prefix=($root)/boot/grub\n' "$ruuid" > "$root/tmp/early.cfg"
    cp -r "$root/usr/lib/grub/i386-pc" "$root/usr/lib/grub/x86_64-efi" "$root/boot/grub/"
    in_root grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -c /tmp/early.cfg -p /boot/grub \
        -o /tmp/core.img biosdisk part_gpt ext2 search search_fs_uuid
    in_root grub-mkimage -O x86_64-efi -d /usr/lib/grub/x86_64-efi -c /tmp/early.cfg -p /boot/grub \
        -o /tmp/BOOTX64.EFI part_gpt ext2 fat search search_fs_uuid
    mv "$root/tmp/core.img" "$root/tmp/BOOTX64.EFI" "$work/"
    cp "$root/usr/lib/grub/i386-pc/boot.img" "$work/"
    rm "$root/tmp/early.cfg"
    finish_root
    cleanup; mounts=(); trap - EXIT

    echo "== assemble the disk image"
    rm -f "$out"; truncate -s "$size" "$out"
    sfdisk -q "$out" <<PART
label: gpt
start=2048, size=2048, type=21686148-6E49-704E-6F74-4E6565644546, name=bios
start=4096, size=520192, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
start=524288, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root
PART
    local rsectors
    rsectors=$(sfdisk -J "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][2]["size"])')
    local esp=$work/esp.vfat rootimg=$work/root.ext4
    rm -f "$esp" "$rootimg"
    truncate -s $((520192 * 512)) "$esp"
    mkfs.vfat -F 32 -n ESP -i "$esp_id" "$esp" >/dev/null
    mmd -i "$esp" ::/EFI ::/EFI/BOOT
    mcopy -i "$esp" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
    mkfs.ext4 -q -L swarmcast-root -U "$ruuid" -d "$root" "$rootimg" "$((rsectors / 2))k"
    dd if="$esp" of="$out" bs=512 seek=4096 conv=notrunc,sparse status=none
    dd if="$rootimg" of="$out" bs=1M seek=256 conv=notrunc,sparse status=none
    rm -f "$esp" "$rootimg"
    python3 "$here/grub-bios-embed.py" "$out" "$work/boot.img" "$work/core.img" 2048 2048
}

build_arm64() {
    rm -rf "$root"; mkdir -p "$root" "$work/firmware"
    debootstrap_root arm64 main,non-free-firmware raspi-firmware
    mkdir -p "$root/boot/firmware"
    rm -rf "$work/firmware"/*
    mnt --bind "$work/firmware" "$root/boot/firmware"
    chroot_mounts
    printf 'LABEL=RASPIROOT / ext4 rw 0 1\nLABEL=RASPIFIRM /boot/firmware vfat rw,nofail 0 2\n' > "$root/etc/fstab"
    cat > "$root/etc/default/raspi-firmware" <<'RPI'
# Read by raspi-firmware's hooks when they write /boot/firmware/cmdline.txt.
ROOTPART=LABEL=RASPIROOT
CONSOLES="ttyS1,115200 tty0"
RPI
    configure_root "main non-free-firmware"
    echo "== kernel and Raspberry Pi firmware"
    in_root apt-get update -qq   # the package lists were dropped once the .deb was in
    in_root apt-get install -y -q --no-install-recommends linux-image-arm64
    in_root dpkg-reconfigure raspi-firmware
    finish_root
    ls "$work/firmware" | head -50
    [ -f "$work/firmware/config.txt" ] && [ -n "$(ls "$work/firmware"/vmlinuz-* 2>/dev/null)" ] \
        || { echo "raspi-firmware did not fill /boot/firmware" >&2; exit 1; }
    cleanup; mounts=(); trap - EXIT
    echo "== assemble the card image (no loop devices: mkfs -d and mcopy)"
    local fat=$work/firmware.vfat rootimg=$work/root.ext4 fatmb=512
    rm -f "$fat" "$rootimg" "$out"
    truncate -s ${fatmb}M "$fat"
    mkfs.vfat -F 32 -n RASPIFIRM "$fat" >/dev/null
    mcopy -s -i "$fat" "$work/firmware"/* ::/
    local total rootmb
    total=$(numfmt --from=iec "$size"); rootmb=$(( total / 1048576 - fatmb - 4 ))
    mkfs.ext4 -q -L RASPIROOT -d "$root" "$rootimg" "${rootmb}M"
    truncate -s "$size" "$out"
    sfdisk -q "$out" <<PART
label: dos
start=4MiB, size=${fatmb}MiB, type=c, bootable
start=$((4 + fatmb))MiB, type=83
PART
    dd if="$fat" of="$out" bs=1M seek=4 conv=notrunc,sparse status=none
    dd if="$rootimg" of="$out" bs=1M seek=$((4 + fatmb)) conv=notrunc,sparse status=none
    rm -f "$fat" "$rootimg"
}

start=$(date +%s)
case "$arch" in
    amd64) build_amd64 ;;
    arm64) build_arm64 ;;
    *) echo "unknown arch $arch (amd64 or arm64)" >&2; exit 2 ;;
esac
cleanup; mounts=()
echo "== $out ($(du -h --apparent-size "$out" | cut -f1), $(( $(date +%s) - start )) s)"
