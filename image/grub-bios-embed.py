#!/usr/bin/env python3
"""Makes a GPT disk image boot with BIOS GRUB, without loop devices or grub-install.

Does what grub-bios-setup does when it embeds core.img in a BIOS boot partition:
boot.img goes into the MBR's code area (the partition table stays), pointed at
core.img's first sector; core.img goes into the BIOS boot partition, its first
sector's blocklist pointed at the rest.

    grub-bios-embed.py DISK.img boot.img core.img CORE_LBA PARTITION_SECTORS
"""
import struct
import sys

disk, boot_img, core_img, lba, room = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

# Offsets from GRUB's include/grub/i386/pc/boot.h.
BPB_START, BPB_END = 0x03, 0x5A
KERNEL_SECTOR = 0x5C
DRIVE_CHECK = 0x66
NT_MAGIC = 0x1B8  # the code area ends here; the disk signature and table follow
KERNEL_SEG = 0x800

boot = bytearray(open(boot_img, "rb").read())
core = bytearray(open(core_img, "rb").read())
assert len(boot) == 512, "boot.img must be one sector"
sectors = (len(core) + 511) // 512
if sectors > room:
    sys.exit(f"core.img needs {sectors} sectors, the BIOS boot partition has {room}")
core += b"\0" * (sectors * 512 - len(core))

with open(disk, "r+b") as d:
    mbr = bytearray(d.read(512))
    assert mbr[510:512] == b"\x55\xaa", "no (protective) MBR on the disk"
    boot[BPB_START:BPB_END] = mbr[BPB_START:BPB_END]
    struct.pack_into("<Q", boot, KERNEL_SECTOR, lba)
    # A hard disk: trust the drive number the BIOS passes (grub-bios-setup does this).
    boot[DRIVE_CHECK:DRIVE_CHECK + 2] = b"\x90\x90"
    mbr[:NT_MAGIC] = boot[:NT_MAGIC]
    # diskboot.img's blocklist: the rest of core.img, loaded at KERNEL_SEG + 0x20.
    struct.pack_into("<QHH", core, 512 - 12, lba + 1, sectors - 1, KERNEL_SEG + 0x20)
    d.seek(0)
    d.write(mbr)
    d.seek(lba * 512)
    d.write(core)
print(f"BIOS GRUB: boot.img in the MBR, core.img ({sectors} sectors) at LBA {lba}")
