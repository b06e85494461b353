#!/usr/bin/env python3
"""Regenerate the seed corpora of fuzz_vhd, fuzz_vdi and fuzz_vmdk
(tests/fuzz/corpus/vhd/, vdi/ and vmdk/): small images with 4 KiB blocks, so that allocated blocks fit
in the fuzzer's 64 KiB inputs (qemu-img and vessel only make 2 MiB VHD and
1 MiB VDI blocks): dynamic, fixed and differencing VHDs, dynamic and static
VDIs; and, when qemu-img is installed, an empty image of each made by it
and monolithicSparse and streamOptimized VMDKs of 1 MiB with a few grains.
Layouts as in src/block/vhd.c and src/block/vdi.c.
    tests/fuzz/make-vdisk-seeds.py"""
import os
import shutil
import struct
import subprocess

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
BS = 4096


def vhd_sum(buf, at):
    b = bytearray(buf)
    b[at:at + 4] = b"\0\0\0\0"
    b[at:at + 4] = struct.pack(">I", ~sum(b) & 0xffffffff)
    return bytes(b)


def vhd_footer(size, dtype, data_off):
    f = bytearray(512)
    f[0:8] = b"conectix"
    struct.pack_into(">IIQI", f, 8, 2, 0x00010000, data_off, 0)
    f[28:32] = b"win "                      # current size is the size
    struct.pack_into(">I", f, 32, 0x00010000)
    f[36:40] = b"Wi2k"
    struct.pack_into(">QQHBBI", f, 40, size, size, 8, 4, 16, dtype)
    f[68:84] = bytes(range(1, 17))
    return vhd_sum(f, 64)


def vhd_dynamic(size, blocks, dtype=3):
    entries = size // BS
    foot = vhd_footer(size, dtype, 512)
    dyn = bytearray(1024)
    dyn[0:8] = b"cxsparse"
    struct.pack_into(">QQIII", dyn, 8, 2**64 - 1, 1536, 0x00010000, entries, BS)
    img = bytearray(foot) + dyn + bytearray(512)
    bat = [0xffffffff] * entries
    for i, nsec in blocks:
        bat[i] = len(img) // 512
        bm = bytearray(512)
        for s in range(nsec):
            bm[s // 8] |= 0x80 >> (s % 8)
        img += bm + bytes((i * 13 + k) & 0xff for k in range(BS))
    if dtype == 4:
        name = ".\\parent.vhd".encode("utf-16-le")
        loc_at = len(img)
        img += name + bytearray(512 - len(name))
        dyn[40:56] = bytes(range(2, 18))
        pname = "parent.vhd".encode("utf-16-be")
        dyn[64:64 + len(pname)] = pname
        dyn[576:580] = b"W2ru"
        struct.pack_into(">III4xQ", dyn, 576, 0x57327275, 1, len(name), loc_at)
    img[512:1536] = vhd_sum(dyn, 36)
    img[1536:1536 + 4 * entries] = struct.pack(">%dI" % entries, *bat)
    return bytes(img + foot)


def vdi(size, slots, static):
    n = size // BS
    h = bytearray(512)
    h[0:40] = b"<<< Oracle VM VirtualBox Disk Image >>>\n"
    bmap_len = (n * 4 + 511) // 512 * 512
    struct.pack_into("<IIIII", h, 64, 0xbeda107f, 0x00010001, 0x180,
                     2 if static else 1, 0)
    struct.pack_into("<II", h, 340, 512, 512 + bmap_len)
    struct.pack_into("<I", h, 360, 512)
    struct.pack_into("<QIIII", h, 368, size, BS, 0, n,
                     n if static else len(slots))
    h[392:408] = bytes(range(1, 17))
    bmap = [0xffffffff] * n
    if static:
        bmap = list(range(n))
    for slot, i in enumerate(slots):
        bmap[i] = slot
    img = bytearray(h) + struct.pack("<%dI" % n, *bmap) + bytearray(bmap_len - 4 * n)
    used = n if static else len(slots)
    for s in range(used):
        img += bytes((s * 7 + k) & 0xff for k in range(BS))
    return bytes(img)


def write(sub, name, data):
    os.makedirs(os.path.join(OUT, sub), exist_ok=True)
    with open(os.path.join(OUT, sub, name), "wb") as f:
        f.write(data)


write("vhd", "dynamic-4k", vhd_dynamic(64 * BS, [(0, 8), (7, 3), (63, 1)]))
write("vhd", "differencing-4k", vhd_dynamic(64 * BS, [(1, 4), (2, 8)], dtype=4))
write("vhd", "fixed", bytes(k & 0xff for k in range(4 * BS)) +
      vhd_footer(4 * BS, 2, 2**64 - 1))
write("vdi", "dynamic-4k", vdi(64 * BS, [0, 5, 63], False))
write("vdi", "static-4k", vdi(8 * BS, [], True))
if shutil.which("qemu-img"):
    for fmt, sub, size in (("vpc", "vhd", "1M"), ("vdi", "vdi", "4M"),
                           ("vmdk", "vmdk", "1M")):
        subprocess.run(["qemu-img", "create", "-q", "-f", fmt,
                        os.path.join(OUT, sub, "qemu-empty"), size], check=True)
    # VMDK grains are 64 KiB at least: two written grains, one zeroed
    path = os.path.join(OUT, "vmdk", "qemu-two-grains")
    subprocess.run(["qemu-img", "create", "-q", "-f", "vmdk", "-o",
                    "zeroed_grain=on", path, "1M"], check=True)
    subprocess.run(["qemu-io", "-f", "vmdk", "-c", "write -P 0x5a 0 4k",
                    "-c", "write -P 0xa5 700k 70k", "-c", "write -z 512k 64k",
                    path], check=True, stdout=subprocess.DEVNULL)
    # streamOptimized: the same grains, compressed
    subprocess.run(["qemu-img", "convert", "-q", "-f", "vmdk", "-O", "vmdk", "-o",
                    "subformat=streamOptimized", path,
                    os.path.join(OUT, "vmdk", "qemu-stream")], check=True)
