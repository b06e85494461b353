#!/usr/bin/env python3
"""Regenerate the seed corpus of fuzz_vhdx (tests/fuzz/corpus/vhdx/): the
pieces of real VHDX images that fuzz_vhdx.c puts back at their offsets
(the table below must match its segs table), then up to 16 KiB of payload
from 4 MiB.  Images: Vessel's dynamic (1 MiB blocks, a little data) and
fixed, the same with a pending log (tests/block/vhdx-dirty.py), and, when
qemu-img is installed, qemu-img's dynamic and fixed (its BAT at 2 MiB,
its metadata at 3 MiB).  Needs a built build/release/vessel.
    tests/fuzz/make-vhdx-seeds.py"""
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus", "vhdx")
VESSEL = os.path.join(ROOT, "build", "release", "vessel")
MIB = 1 << 20
SEGS = [(0, 512), (64 << 10, 4096), (128 << 10, 4096), (192 << 10, 1024),
        (256 << 10, 1024), (MIB, 16384), (2 * MIB, 4096), (2 * MIB + (64 << 10), 64),
        (3 * MIB, 4096), (3 * MIB + (64 << 10), 64)]


def cut(path, name):
    with open(path, "rb") as f:
        out = b""
        for off, n in SEGS:
            f.seek(off)
            out += f.read(n).ljust(n, b"\0")
        f.seek(4 * MIB)
        out += f.read(16384)
    with open(os.path.join(OUT, name), "wb") as o:
        o.write(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        raw = os.path.join(t, "r.raw")
        with open(raw, "wb") as f:
            f.write(bytes((i * 7) & 0xFF for i in range(8192)))
            f.truncate(3 * MIB)
        for sub in ("dynamic", "fixed"):
            img = os.path.join(t, sub + ".vhdx")
            subprocess.check_call([VESSEL, "img", "convert", "-O", "vhdx", "-o",
                                   "subformat=%s,block_size=1M" % sub, raw, img])
            cut(img, "vessel-" + sub)
            exp = os.path.join(t, "exp.raw")
            subprocess.check_call(["cp", raw, exp])
            subprocess.check_call(["python3", os.path.join(ROOT, "tests", "block",
                                                           "vhdx-dirty.py"),
                                   img, "4096", "12288", exp])
            cut(img, "vessel-dirty-" + sub)
        if subprocess.call(["which", "qemu-img"], stdout=subprocess.DEVNULL) == 0:
            for sub in ("dynamic", "fixed"):
                img = os.path.join(t, "q" + sub + ".vhdx")
                subprocess.check_call(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vhdx",
                                       "-o", "subformat=%s,block_size=1M" % sub, raw, img])
                cut(img, "qemu-" + sub)


main()
