#!/usr/bin/env python3
"""Leave a VHDX file as a crash would: a pending log (MS-VHDX 2.3).

usage: vhdx-dirty.py IMAGE VOFF_DATA VOFF_ZERO EXPECTED_RAW

IMAGE is a clean VHDX whose payload blocks holding the virtual offsets
VOFF_DATA and VOFF_ZERO (4 KiB-aligned) are present.  Two log entries
are written as one active sequence (the second's Tail names the first):
entry 1 replaces the 4 KiB at VOFF_DATA with a pattern, entry 2 zeroes
the 4 KiB at VOFF_ZERO; a stale entry with another LogGuid and a higher
sequence number is put after them and must be ignored.  LogGuid is set
in both headers.  EXPECTED_RAW (the image's raw contents, made before)
is patched to what a reader must see after the replay.  Nothing of the
payload is written in place: only a replay makes the change.
"""
import os
import struct
import sys
import uuid

MIB = 1 << 20
SEC = 4096


def crc32c(data, crc=0):
    table = crc32c.table
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        t.append(c)
    return t


crc32c.table = _table()


def header(f, off):
    f.seek(off)
    return bytearray(f.read(SEC))


def current_header(f):
    h1, h2 = header(f, 64 * 1024), header(f, 128 * 1024)
    s1 = struct.unpack_from("<Q", h1, 8)[0]
    s2 = struct.unpack_from("<Q", h2, 8)[0]
    return h1 if s1 >= s2 else h2


def file_offset(f, voff):
    """The file offset of virtual offset voff (its block must be present)."""
    f.seek(192 * 1024)
    rt = f.read(64 * 1024)
    n = struct.unpack_from("<I", rt, 8)[0]
    bat = meta = None
    for i in range(n):
        g = rt[16 + 32 * i:32 + 32 * i]
        off, = struct.unpack_from("<Q", rt, 32 + 32 * i)
        if g == uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08").bytes_le:
            bat = off
        if g == uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E").bytes_le:
            meta = off
    f.seek(meta)
    mt = f.read(64 * 1024)
    bs = None
    for i in range(struct.unpack_from("<H", mt, 10)[0]):
        g = mt[32 + 32 * i:48 + 32 * i]
        o, = struct.unpack_from("<I", mt, 48 + 32 * i)
        if g == uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B").bytes_le:
            f.seek(meta + o)
            bs, = struct.unpack("<I", f.read(4))
    chunk = (1 << 23) * 512 // bs
    b = voff // bs
    f.seek(bat + 8 * (b + b // chunk))
    e, = struct.unpack("<Q", f.read(8))
    if e & 7 != 6:
        sys.exit("vhdx-dirty.py: block %d of virtual offset %d is not present (state %d)"
                 % (b, voff, e & 7))
    return (e & ~((1 << 20) - 1)) + voff % bs


def entry(guid, seq, tail, fsize, descs):
    """descs: list of ("data", file_off, 4096 bytes) or ("zero", file_off, length)."""
    data = [d for d in descs if d[0] == "data"]
    dsec = (len(descs) + 2 + 127) // 128
    length = (dsec + len(data)) * SEC
    e = bytearray(length)
    struct.pack_into("<4sIIIQII16sQQ", e, 0, b"loge", 0, length, tail, seq, len(descs), 0,
                     guid, fsize, fsize)
    k = 0
    for i, d in enumerate(descs):
        at = 64 + 32 * i
        if d[0] == "data":
            buf = d[2]
            struct.pack_into("<4s4s8sQQ", e, at, b"desc", buf[4092:], buf[:8], d[1], seq)
            s = (dsec + k) * SEC
            struct.pack_into("<4sI", e, s, b"data", seq >> 32)
            e[s + 8:s + 4092] = buf[8:4092]
            struct.pack_into("<I", e, s + 4092, seq & 0xFFFFFFFF)
            k += 1
        else:
            struct.pack_into("<4sIQQQ", e, at, b"zero", 0, d[2], d[1], seq)
    struct.pack_into("<I", e, 4, crc32c(bytes(e)))
    return e


def main():
    img, vdata, vzero, raw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    pattern = bytes((i * 7 + 3) & 0xFF for i in range(SEC))
    with open(img, "r+b") as f:
        h = current_header(f)
        log_len, log_off = struct.unpack_from("<IQ", h, 68)
        fsize = os.fstat(f.fileno()).st_size
        guid = uuid.uuid4().bytes_le
        fdata, fzero = file_offset(f, vdata), file_offset(f, vzero)
        e1 = entry(guid, 41, 0, fsize, [("data", fdata, pattern)])
        e2 = entry(guid, 42, 0, fsize, [("zero", fzero, SEC)])
        stale = entry(uuid.uuid4().bytes_le, 99, 0, fsize, [("zero", fdata, SEC)])
        f.seek(log_off)
        f.write(e1 + e2 + stale)
        assert len(e1 + e2 + stale) <= log_len
        # LogGuid into both headers, each with a fresh checksum.
        seq = max(struct.unpack_from("<Q", header(f, o), 8)[0] for o in (65536, 131072))
        for n, o in enumerate((65536, 131072)):
            hh = bytearray(h)
            hh[48:64] = guid
            struct.pack_into("<Q", hh, 8, seq + 1 + n)
            struct.pack_into("<I", hh, 4, 0)
            struct.pack_into("<I", hh, 4, crc32c(bytes(hh)))
            f.seek(o)
            f.write(hh)
    with open(raw, "r+b") as r:
        r.seek(vdata)
        r.write(pattern)
        r.seek(vzero)
        r.write(bytes(SEC))


main()
