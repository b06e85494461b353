/* block: recognising image formats by their first sector, and the guard
 * that keeps a guest from writing such a header into a disk whose format
 * was probed as raw (docs/block.md "Format probing").
 *
 * Probing is dangerous for raw disks: the guest owns every byte of a raw
 * disk, so if it writes, say, a qcow2 header naming /etc/shadow as its
 * backing file into sector 0, the next probe opens the disk as qcow2 and
 * the guest reads the host file (CVE-2008-2004).  QEMU's answer, which is
 * ours: a writable disk probed as raw refuses every write that would leave
 * a header the probe recognises in the first sector.  For that the guard
 * and the probe must agree exactly, hence one table for both.
 *
 * Magics (each format's own specification):
 *   qcow2  "QFI\xfb" at 0 (qcow2.txt "Header"; qcow version 1 too)
 *   vmdk   "KDMV" at 0 (hosted sparse extent, VMDK 1.1 spec), "COWD" at 0
 *          (ESX sparse extent), "# Disk DescriptorFile" at 0 (a
 *          descriptor file)
 *   vhd    "conectix" at 0 (the footer copy of a dynamic or differencing
 *          disk, VHD spec "Hard Disk Footer Format")
 *   vhdx   "vhdxfile" at 0 (VHDX spec 2.2.1, file type identifier)
 *   vdi    the pre-header text at 0 ("<<< Oracle VM VirtualBox Disk
 *          Image >>>" and its older vendor spellings) and the signature
 *          0xbeda107f, little-endian, at 64 (what QEMU's probe checks) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/block_int.h"
#include "util/util.h"

/* The length is the string's, without its NUL. */
#define MAGIC(name, fmt, off, str) { name, fmt, off, sizeof(str) - 1, str }

static const struct block_magic magics[] = {
    MAGIC("qcow2", BLOCK_FMT_QCOW2, 0, "QFI\xfb"),
    MAGIC("vmdk", BLOCK_FMT_VMDK, 0, "KDMV"),
    MAGIC("vmdk", BLOCK_FMT_PROBE, 0, "COWD"),
    MAGIC("vmdk", BLOCK_FMT_VMDK, 0, "# Disk DescriptorFile"),
    MAGIC("vhd", BLOCK_FMT_VPC, 0, "conectix"),
    MAGIC("vhdx", BLOCK_FMT_VHDX, 0, "vhdxfile"),
    MAGIC("vdi", BLOCK_FMT_VDI, 64, "\x7f\x10\xda\xbe"),
    MAGIC("vdi", BLOCK_FMT_VDI, 0, "<<< Oracle VM VirtualBox Disk Image >>>"),
    MAGIC("vdi", BLOCK_FMT_VDI, 0, "<<< Sun VirtualBox Disk Image >>>"),
    MAGIC("vdi", BLOCK_FMT_VDI, 0, "<<< Sun xVM VirtualBox Disk Image >>>"),
    MAGIC("vdi", BLOCK_FMT_VDI, 0, "<<< innotek VirtualBox Disk Image >>>"),
};

const struct block_magic *block_probe_table(size_t *n)
{
    *n = ARRAY_SIZE(magics);
    return magics;
}

const struct block_magic *block_probe_header(const uint8_t *buf)
{
    for (size_t i = 0; i < ARRAY_SIZE(magics); i++) {
        const struct block_magic *m = &magics[i];
        if (!memcmp(buf + m->off, m->magic, m->len))
            return m;
    }
    return NULL;
}

bool block_probed_raw(struct block_dev *bd)
{
    return bd->probed_raw;
}

int block_guard_header(struct block_dev *bd, uint64_t off,
                       const struct iovec *iov, int iovcnt, size_t len)
{
    if (!bd->probed_raw || off >= BLOCK_PROBE_LEN || !len)
        return 0;
    /* The first sector as it will be after the write: what the next probe
     * would read.  The caller holds bd->lock and has checked the range, so
     * the part the write does not cover cannot change in between. */
    uint8_t sec[BLOCK_PROBE_LEN] = { 0 };
    size_t have = (size_t)MIN(bd->size, (uint64_t)BLOCK_PROBE_LEN);
    size_t end = (size_t)MIN(off + len, (uint64_t)BLOCK_PROBE_LEN);
    if (off > 0 || end < have) {
        int r = bd->drv->pread(bd, 0, sec, have);
        if (r < 0)
            return r;
    }
    size_t at = (size_t)off;
    for (int i = 0; iov && i < iovcnt && at < end; i++) {
        size_t k = MIN(iov[i].iov_len, end - at);
        memcpy(sec + at, iov[i].iov_base, k);
        at += k;
    }
    if (!iov)
        memset(sec + off, 0, end - (size_t)off);
    const struct block_magic *m = block_probe_header(sec);
    if (!m)
        return 0;
    return block_seterr(bd, -EPERM, "%s: write of a %s image header into the first "
                        "sector refused: the format of this disk was probed as raw, "
                        "and the next probe would open it as %s; give the format "
                        "explicitly (format=raw) to allow such writes",
                        bd->filename, m->name, m->name);
}
