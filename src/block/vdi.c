/* block: the VDI driver (VirtualBox Disk Image, header version 1.1, as
 * VirtualBox's VDICore.h and qemu's block/vdi.c define it).
 *
 * On-disk layout (every integer little-endian):
 *  - 0: a 64-byte text, "<<< Oracle VM VirtualBox Disk Image >>>\n" (or
 *    another vendor's spelling), then at 64 the signature 0xbeda107f and
 *    at 68 the version (0x00010001 for 1.1).
 *  - 72: the 1.1 header: its size, the image type (1 dynamic, called
 *    "normal" by VirtualBox; 2 fixed, called "static" by qemu; 3 undo
 *    and 4 differencing, which we refuse), flags, a 256-byte description,
 *    the offset of the block map (at 340) and of the data (344), a legacy
 *    CHS geometry and the sector size (512), the disk size in bytes (368),
 *    the block size (376, 1 MiB in practice), the extra bytes stored
 *    before each block (380, 0 in practice), the number of blocks (384)
 *    and of allocated blocks (388), then four UUIDs: this image, the
 *    last snapshot, the link and the parent (392, 408, 424, 440; link and
 *    parent are zero except in differencing images).
 *  - The block map: one 32-bit entry per block of the disk: the index of
 *    the block's slot in the data area (at data offset + index * block
 *    size), 0xFFFFFFFF when the block is absent (reads zeros) or
 *    0xFFFFFFFE when it was discarded (reads zeros too).
 *  - A dynamic image appends a slot when a block is first written; a
 *    fixed one has every block mapped to its own slot from the start. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block_int.h"
#include "util/util.h"

#define VDI_SIGNATURE   0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_UNALLOC     0xffffffffu
#define VDI_DISCARDED   0xfffffffeu
#define VDI_SECTOR      512u
#define VDI_BLOCK_SIZE  (1u << 20)
#define VDI_HDR_SIZE    0x180u      /* header size field qemu and VirtualBox write */
#define VDI_TYPE_DYNAMIC 1u
#define VDI_TYPE_STATIC  2u

/* Header field offsets. */
#define VDI_H_SIGNATURE  64
#define VDI_H_VERSION    68
#define VDI_H_HDR_SIZE   72
#define VDI_H_TYPE       76
#define VDI_H_OFF_BMAP   340
#define VDI_H_OFF_DATA   344
#define VDI_H_SECTOR     360
#define VDI_H_DISK_SIZE  368
#define VDI_H_BLOCK_SIZE 376
#define VDI_H_BLOCK_XTRA 380
#define VDI_H_BLOCKS     384
#define VDI_H_ALLOCATED  388
#define VDI_H_UUID       392
#define VDI_H_UUID_SNAP  408
#define VDI_H_UUID_LINK  424
#define VDI_H_UUID_PARENT 440

#define ROUND_UP(x, a) (((x) + (a) - 1) / (a) * (a))

struct vdi_state {
    uint8_t hdr[512];
    uint32_t type;
    uint64_t bmap_off, data_off;
    uint32_t block_size;
    uint32_t nblocks;          /* blocks_in_image */
    uint32_t *bmap;            /* host order */
    uint32_t allocated;        /* the header's count */
    uint32_t next;             /* first free slot: one past the highest used */
    uint64_t file_size;        /* bytes: at open, then grown by allocations */
};

static bool uuid_zero(const uint8_t *u)
{
    for (int i = 0; i < 16; i++)
        if (u[i])
            return false;
    return true;
}

/* Validate the block map: every slot below blocks_in_image, inside the
 * file, used once.  Sets s->next.  Returns the fault count (the first in
 * err, each on report), or -ENOMEM. */
static int scan_bmap(struct vdi_state *s, const char *file, FILE *report,
                     char *err, size_t elen, uint64_t *nalloc)
{
    uint32_t *owner = malloc(((size_t)s->nblocks + 1) * sizeof(*owner));
    if (!owner)
        return -ENOMEM;
    memset(owner, 0xff, ((size_t)s->nblocks + 1) * sizeof(*owner));
    int n = 0;
    uint64_t na = 0;
    s->next = 0;
    for (uint32_t i = 0; i < s->nblocks && n <= 1000; i++) {
        uint32_t e = s->bmap[i];
        if (e == VDI_UNALLOC || e == VDI_DISCARDED)
            continue;
        uint64_t at = s->data_off + (uint64_t)e * s->block_size;
        if (e >= s->nblocks)
            block_check_fault(report, err, elen, &n, "%s: block map entry %u: slot %u is not "
                  "below blocks in image (%u)", file, i, e, s->nblocks);
        else if (at + s->block_size > s->file_size)
            block_check_fault(report, err, elen, &n, "%s: block map entry %u: slot %u at offset "
                  "%llu runs past the end of the file (%llu bytes)", file, i, e,
                  (unsigned long long)at, (unsigned long long)s->file_size);
        else if (owner[e] != VDI_UNALLOC)
            block_check_fault(report, err, elen, &n, "%s: block map entries %u and %u: both "
                  "use slot %u at offset %llu", file, owner[e], i, e,
                  (unsigned long long)at);
        else {
            owner[e] = i;
            na++;
            s->next = MAX(s->next, e + 1);
        }
    }
    free(owner);
    if (nalloc)
        *nalloc = na;
    return n;
}

int vdi_open(struct block_dev *bd, unsigned flags, char *err, size_t elen)
{
    const char *f = bd->filename;
    struct vdi_state *s = calloc(1, sizeof(*s));
    if (!s)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", f);
    int r;
    off_t end = lseek(bd->file.fd, 0, SEEK_END);
    if (end < 0) {
        r = block_errbuf(err, elen, -errno, "%s: cannot find the size: %s", f,
                         strerror(errno));
        goto fail;
    }
    s->file_size = (uint64_t)end;
    r = host_pread(&bd->file, 0, s->hdr, sizeof(s->hdr), true);
    if (r < 0) {
        block_errbuf(err, elen, r, "%s: read of the header: %s", f, strerror(-r));
        goto fail;
    }
    const uint8_t *h = s->hdr;
    uint32_t sig = (uint32_t)le_get(h + VDI_H_SIGNATURE, 4);
    uint32_t ver = (uint32_t)le_get(h + VDI_H_VERSION, 4);
    uint32_t hsize = (uint32_t)le_get(h + VDI_H_HDR_SIZE, 4);
    s->type = (uint32_t)le_get(h + VDI_H_TYPE, 4);
    s->bmap_off = le_get(h + VDI_H_OFF_BMAP, 4);
    s->data_off = le_get(h + VDI_H_OFF_DATA, 4);
    uint32_t sector = (uint32_t)le_get(h + VDI_H_SECTOR, 4);
    uint64_t disk = le_get(h + VDI_H_DISK_SIZE, 8);
    s->block_size = (uint32_t)le_get(h + VDI_H_BLOCK_SIZE, 4);
    uint32_t extra = (uint32_t)le_get(h + VDI_H_BLOCK_XTRA, 4);
    s->nblocks = (uint32_t)le_get(h + VDI_H_BLOCKS, 4);
    s->allocated = (uint32_t)le_get(h + VDI_H_ALLOCATED, 4);
    uint32_t bs = s->block_size;
    r = 0;
    if (sig != VDI_SIGNATURE)
        r = block_errbuf(err, elen, -EINVAL, "%s: header field signature: 0x%08x (a VDI has "
                     "0x%08x)", f, sig, VDI_SIGNATURE);
    else if (ver != VDI_VERSION_1_1)
        r = block_errbuf(err, elen, -ENOTSUP, "%s: header field version: %u.%u (accepted: "
                     "1.1)", f, ver >> 16, ver & 0xffff);
    else if (hsize < VDI_HDR_SIZE || hsize > 512 - VDI_H_HDR_SIZE)
        r = block_errbuf(err, elen, -EINVAL, "%s: header field header size: %u (accepted: %u "
                     "to %u)", f, hsize, VDI_HDR_SIZE, 512 - VDI_H_HDR_SIZE);
    else if (s->type != VDI_TYPE_DYNAMIC && s->type != VDI_TYPE_STATIC)
        r = block_errbuf(err, elen, -ENOTSUP, "%s: header field image type: %u (accepted: "
                     "1 dynamic, 2 static; undo and differencing images are not "
                     "supported)", f, s->type);
    else if (s->bmap_off % VDI_SECTOR || s->bmap_off < 512)
        r = block_errbuf(err, elen, -EINVAL, "%s: header field block map offset: %llu (accepted: "
                     "a multiple of 512 past the header)", f,
                     (unsigned long long)s->bmap_off);
    else if (s->data_off % VDI_SECTOR || s->data_off < s->bmap_off +
             (uint64_t)s->nblocks * 4)
        r = block_errbuf(err, elen, -EINVAL, "%s: header field data offset: %llu (accepted: a "
                     "multiple of 512 past the block map of %u entries at %llu)", f,
                     (unsigned long long)s->data_off, s->nblocks,
                     (unsigned long long)s->bmap_off);
    else if (sector != VDI_SECTOR)
        r = block_errbuf(err, elen, -EINVAL, "%s: header field sector size: %u (accepted: 512)",
                     f, sector);
    else if (bs < VDI_SECTOR || bs > (256u << 20) || (bs & (bs - 1)))
        r = block_errbuf(err, elen, -EINVAL, "%s: header field block size: %u (accepted: a "
                     "power of two from 512 bytes to 256 MiB)", f, bs);
    else if (extra)
        r = block_errbuf(err, elen, -ENOTSUP, "%s: header field block extra: %u (accepted: "
                     "0)", f, extra);
    else if (disk > (uint64_t)s->nblocks * bs)
        r = block_errbuf(err, elen, -EINVAL, "%s: header field disk size: %llu bytes, more than "
                     "the %u blocks of %u bytes of the block map", f,
                     (unsigned long long)disk, s->nblocks, bs);
    else if (s->bmap_off + (uint64_t)s->nblocks * 4 > s->file_size)
        r = block_errbuf(err, elen, -EINVAL, "%s: header field blocks in image: the block map "
                     "of %u entries at offset %llu runs past the end of the file "
                     "(%llu bytes)", f, s->nblocks, (unsigned long long)s->bmap_off,
                     (unsigned long long)s->file_size);
    else if (!uuid_zero(h + VDI_H_UUID_LINK) || !uuid_zero(h + VDI_H_UUID_PARENT))
        r = block_errbuf(err, elen, -ENOTSUP, "%s: header fields link/parent UUID are set: "
                     "a differencing VDI, which is not supported", f);
    if (r < 0)
        goto fail;
    s->bmap = malloc((size_t)s->nblocks * 4 + 4);
    if (!s->bmap) {
        r = block_errbuf(err, elen, -ENOMEM, "%s: out of memory for a block map of "
                         "%u entries", f, s->nblocks);
        goto fail;
    }
    r = host_pread(&bd->file, s->bmap_off, s->bmap, (size_t)s->nblocks * 4, false);
    if (r < 0) {
        block_errbuf(err, elen, r, "%s: read of the block map: %s", f, strerror(-r));
        goto fail;
    }
    for (uint32_t i = 0; i < s->nblocks; i++)
        s->bmap[i] = (uint32_t)le_get((const uint8_t *)&s->bmap[i], 4);
    r = scan_bmap(s, f, NULL, err, elen, NULL);
    if (r > 0 && !((flags & BLOCK_O_CHECK) && bd->read_only))
        r = -EINVAL;
    if (r < 0)
        goto fail;
    bd->size = disk / VDI_SECTOR * VDI_SECTOR;
    bd->opaque = s;
    return 0;
fail:
    free(s->bmap);
    free(s);
    return r;
}

static void vdi_close(struct block_dev *bd)
{
    struct vdi_state *s = bd->opaque;
    free(s->bmap);
    free(s);
}

static int io_err(struct block_dev *bd, int r, const char *what, uint64_t at)
{
    return block_seterr(bd, r, "%s: %s at offset %llu: %s", bd->filename, what,
                        (unsigned long long)at, strerror(-r));
}

static bool mapped(uint32_t e)
{
    return e != VDI_UNALLOC && e != VDI_DISCARDED;
}

static uint64_t slot_off(const struct vdi_state *s, uint32_t e)
{
    return s->data_off + (uint64_t)e * s->block_size;
}

static int vdi_pread(struct block_dev *bd, uint64_t off, void *buf, size_t len)
{
    struct vdi_state *s = bd->opaque;
    uint8_t *p = buf;
    while (len) {
        uint64_t idx = off / s->block_size, in = off % s->block_size;
        size_t n = (size_t)MIN((uint64_t)len, s->block_size - in);
        uint32_t e = s->bmap[idx];
        if (!mapped(e)) {
            memset(p, 0, n);
        } else {
            int r = host_pread(&bd->file, slot_off(s, e) + in, p, n, false);
            if (r < 0)
                return io_err(bd, r, "read", slot_off(s, e) + in);
        }
        off += n; p += n; len -= n;
    }
    return 0;
}

/* Give block idx the next free slot: the file grows over the slot (it
 * reads zeros), then the block map entry and the header's count are
 * written, in that order, so that the map never names a slot that is
 * not in the file.  A crash in between leaves a slot no entry names,
 * which the next allocation reuses. */
static int alloc_block(struct block_dev *bd, struct vdi_state *s, uint64_t idx)
{
    if (s->next >= s->nblocks)
        return block_seterr(bd, -EIO, "%s: no free slot for block %llu: the block "
                            "map is full (%u blocks)", bd->filename,
                            (unsigned long long)idx, s->nblocks);
    uint32_t e = s->next;
    uint64_t end = slot_off(s, e) + s->block_size;
    struct stat st;
    if (fstat(bd->file.fd, &st) == 0 && (uint64_t)st.st_size < end &&
        ftruncate(bd->file.fd, (off_t)end) < 0)
        return io_err(bd, -errno, "growing the file", end);
    uint8_t le[4];
    le_put(le, e, 4);
    int r = host_pwrite(&bd->file, s->bmap_off + idx * 4, le, 4);
    if (r < 0)
        return io_err(bd, r, "write of a block map entry", s->bmap_off + idx * 4);
    s->bmap[idx] = e;
    s->next = e + 1;
    s->file_size = MAX(s->file_size, end);
    s->allocated++;
    le_put(le, s->allocated, 4);
    r = host_pwrite(&bd->file, VDI_H_ALLOCATED, le, 4);
    if (r < 0)
        return io_err(bd, r, "write of the header", VDI_H_ALLOCATED);
    return 0;
}

static int vdi_pwrite(struct block_dev *bd, uint64_t off, const void *buf,
                      size_t len)
{
    struct vdi_state *s = bd->opaque;
    const uint8_t *p = buf;
    while (len) {
        uint64_t idx = off / s->block_size, in = off % s->block_size;
        size_t n = (size_t)MIN((uint64_t)len, s->block_size - in);
        int r;
        if (!mapped(s->bmap[idx]) && (r = alloc_block(bd, s, idx)) < 0)
            return r;
        uint64_t at = slot_off(s, s->bmap[idx]) + in;
        r = host_pwrite(&bd->file, at, p, n);
        if (r < 0)
            return io_err(bd, r, "write", at);
        off += n; p += n; len -= n;
    }
    return 0;
}

/* Absent and discarded blocks already read zeros; mapped ones are zeroed
 * (a hole punched where the host can), keeping their slot. */
static int vdi_zero(struct block_dev *bd, uint64_t off, uint64_t len)
{
    struct vdi_state *s = bd->opaque;
    while (len) {
        uint64_t idx = off / s->block_size, in = off % s->block_size;
        uint64_t n = MIN(len, s->block_size - in);
        uint32_t e = s->bmap[idx];
        if (mapped(e)) {
            int r = host_zero_range(&bd->file, slot_off(s, e) + in, n);
            if (r < 0)
                return io_err(bd, r, "zeroing", slot_off(s, e) + in);
        }
        off += n; len -= n;
    }
    return 0;
}

static int status_of(uint32_t e)
{
    return e == VDI_UNALLOC ? BLOCK_STATUS_UNALLOCATED
         : e == VDI_DISCARDED ? BLOCK_STATUS_ZERO : BLOCK_STATUS_DATA;
}

static int vdi_status(struct block_dev *bd, uint64_t off, uint64_t len,
                      uint64_t *pnum)
{
    struct vdi_state *s = bd->opaque;
    int st = status_of(s->bmap[off / s->block_size]);
    uint64_t done = 0;
    while (done < len) {
        uint64_t o = off + done;
        if (status_of(s->bmap[o / s->block_size]) != st)
            break;
        done += MIN(len - done, s->block_size - o % s->block_size);
    }
    *pnum = done;
    return st;
}

static int vdi_truncate(struct block_dev *bd, uint64_t size)
{
    (void)size;
    return block_seterr(bd, -ENOTSUP, "%s: resizing a VDI is not supported; "
                        "convert it to qcow2 or raw first", bd->filename);
}

static int vdi_info(struct block_dev *bd, struct block_info *info)
{
    struct vdi_state *s = bd->opaque;
    info->cluster_size = s->block_size;
    return 0;
}

/* As qemu-img check: bad or shared slots are corruptions, a wrong count
 * of allocated blocks too; slots in the file that no entry names are
 * leaks. */
static int vdi_check(struct block_dev *bd, bool repair,
                     struct block_check_result *res, FILE *report)
{
    struct vdi_state *s = bd->opaque;
    memset(res, 0, sizeof(*res));
    if (repair)
        return block_seterr(bd, -ENOTSUP, "%s: vessel img check cannot repair a "
                            "VDI; convert it to a new image instead", bd->filename);
    uint64_t na = 0;
    int n = scan_bmap(s, bd->filename, report, NULL, 0, &na);
    if (n < 0)
        return block_seterr(bd, n, "%s: out of memory", bd->filename);
    res->corruptions = (uint64_t)n;
    if (na != s->allocated) {
        res->corruptions++;
        if (report)
            fprintf(report, "ERROR %s: header field blocks allocated is %u, but the "
                    "block map maps %llu blocks\n", bd->filename, s->allocated,
                    (unsigned long long)na);
    }
    if (!n && s->next > na) {
        res->leaks = s->next - na;
        if (report)
            fprintf(report, "Leaked: %llu slots of the data area belong to no "
                    "block\n", (unsigned long long)res->leaks);
    }
    res->allocated_clusters = na;
    res->total_clusters = (bd->size + s->block_size - 1) / s->block_size;
    res->image_end_offset = s->file_size;
    return 0;
}

const struct block_driver block_vdi_driver = {
    .fmt = BLOCK_FMT_VDI,
    .pread = vdi_pread,
    .pwrite = vdi_pwrite,
    .discard = vdi_zero,
    .write_zeroes = vdi_zero,
    .flush = block_flush_file,
    .status = vdi_status,
    .truncate = vdi_truncate,
    .close = vdi_close,
    .info = vdi_info,
    .check = vdi_check,
};

int vdi_create(const char *path, const struct block_create_opts *o,
               char *err, size_t elen)
{
    bool fixed = false;
    if (o->backing_file)
        return block_errbuf(err, elen, -ENOTSUP, "%s: a VDI cannot have a backing "
                            "file", path);
    if (o->subformat && !strcmp(o->subformat, "static"))
        fixed = true;
    else if (o->subformat && strcmp(o->subformat, "dynamic"))
        return block_errbuf(err, elen, -EINVAL, "%s: subformat '%s' (accepted for "
                            "vdi: dynamic, static)", path, o->subformat);
    uint64_t size = ROUND_UP(o->size, (uint64_t)VDI_SECTOR);
    uint64_t blocks = (size + VDI_BLOCK_SIZE - 1) / VDI_BLOCK_SIZE;
    /* Slots are 32-bit and the data offset too: the largest VDI qemu makes. */
    if (blocks > 0x3fffffffu / 4 || size < o->size)
        return block_errbuf(err, elen, -EINVAL, "%s: size %llu is too large: a VDI "
                            "holds at most %llu bytes", path,
                            (unsigned long long)o->size,
                            (unsigned long long)(0x3fffffffull / 4 * VDI_BLOCK_SIZE));
    uint64_t bmap_len = ROUND_UP(blocks * 4, (uint64_t)VDI_SECTOR);
    size_t total = (size_t)(512 + bmap_len);
    uint8_t *buf = calloc(1, total);
    if (!buf)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", path);
    static const char text[] = "<<< Oracle VM VirtualBox Disk Image >>>\n";
    memcpy(buf, text, sizeof(text) - 1);
    le_put(buf + VDI_H_SIGNATURE, VDI_SIGNATURE, 4);
    le_put(buf + VDI_H_VERSION, VDI_VERSION_1_1, 4);
    le_put(buf + VDI_H_HDR_SIZE, VDI_HDR_SIZE, 4);
    le_put(buf + VDI_H_TYPE, fixed ? VDI_TYPE_STATIC : VDI_TYPE_DYNAMIC, 4);
    le_put(buf + VDI_H_OFF_BMAP, 512, 4);
    le_put(buf + VDI_H_OFF_DATA, 512 + bmap_len, 4);
    le_put(buf + VDI_H_SECTOR, VDI_SECTOR, 4);
    le_put(buf + VDI_H_DISK_SIZE, size, 8);
    le_put(buf + VDI_H_BLOCK_SIZE, VDI_BLOCK_SIZE, 4);
    le_put(buf + VDI_H_BLOCKS, blocks, 4);
    le_put(buf + VDI_H_ALLOCATED, fixed ? blocks : 0, 4);
    for (int u = 0; u < 2; u++) {   /* image and last snapshot UUIDs, version 4 */
        uint8_t *id = buf + (u ? VDI_H_UUID_SNAP : VDI_H_UUID);
        if (getrandom(id, 16, 0) != 16)
            for (int i = 0; i < 16; i++)
                id[i] = (uint8_t)rand();
        id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
        id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
    }
    for (uint64_t i = 0; i < blocks; i++)
        le_put(buf + 512 + i * 4, fixed ? i : VDI_UNALLOC, 4);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(buf);
        return block_errbuf(err, elen, -e, "%s: cannot create: %s", path, strerror(e));
    }
    struct host_file hf = { .fd = fd };
    int r = host_pwrite(&hf, 0, buf, total);
    free(buf);
    if (r == 0 && fixed && ftruncate(fd, (off_t)(total + blocks * VDI_BLOCK_SIZE)) < 0)
        r = -errno;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r < 0) {
        unlink(path);
        return block_errbuf(err, elen, r, "%s: cannot write the new image: %s", path,
                            strerror(-r));
    }
    return 0;
}
