/* block: the VHD driver, qemu-img's "vpc" (Microsoft "Virtual Hard Disk
 * Image Format Specification" 1.0): opening, reading, writing.  Creation,
 * check, geometry and parent locators are in vhd_meta.c.
 *
 * On-disk layout (every integer big-endian):
 *  - Every VHD ends with a 512-byte footer: the cookie "conectix", the
 *    format version (1.0), the offset of the dynamic disk header (all ones
 *    for a fixed disk), a timestamp (seconds since 2000-01-01), the
 *    creator application and host, the original and the current size in
 *    bytes, a CHS geometry (16-bit cylinders, 8-bit heads and sectors per
 *    track), the disk type (2 fixed, 3 dynamic, 4 differencing), a
 *    checksum (one's complement of the sum of the footer's bytes, the
 *    checksum field counted as zero) and a 16-byte unique id.
 *  - A fixed disk is the disk's bytes followed by the footer.
 *  - A dynamic or differencing disk starts with a copy of the footer, so
 *    that a damaged end can be recovered.  The footer's data offset points
 *    at the 1024-byte dynamic disk header: the cookie "cxsparse", the
 *    offset and the number of entries of the Block Allocation Table (BAT),
 *    the block size (2 MiB unless the creator chose another power of two),
 *    a checksum computed like the footer's, and for a differencing disk
 *    the parent's unique id and time stamp, its name in UTF-16 big-endian
 *    and eight parent locators (platform code, space and length of the
 *    locator data, its file offset; code "W2ru" is a path relative to the
 *    child, "W2ku" an absolute one, both UTF-16 little-endian).
 *  - The disk is cut into blocks of the block size.  BAT entry i is the
 *    sector (512 bytes) of the file where block i is stored, or 0xFFFFFFFF
 *    when the block is absent: it reads zeros in a dynamic disk and the
 *    parent's data in a differencing one.
 *  - A stored block is its sector bitmap (one bit per sector, the most
 *    significant bit first, padded to a multiple of 512 bytes) followed by
 *    the block's data.  A set bit says that the sector holds data in this
 *    file; in a differencing disk a clear bit sends the read to the parent.
 *  - New blocks are appended where the end footer stood, and the footer
 *    moves to the new end of the file.
 *
 * Sizes: the footer has both a CHS geometry and a "current size", and
 * creators disagree about which is the disk's size.  We read it as qemu
 * does (vhd_footer_size) so that an image has the same size in both. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/vhd.h"
#include "util/util.h"

#define ROUND_UP(x, a) (((x) + (a) - 1) / (a) * (a))

static bool bm_bit(const uint8_t *bm, uint64_t sec)
{
    return (bm[sec / 8] >> (7 - sec % 8)) & 1;
}

/* Why the 512 bytes at buf are no valid footer, or NULL. */
static const char *footer_fault(const uint8_t *f, char *why, size_t n)
{
    if (memcmp(f + VHD_F_COOKIE, "conectix", 8))
        return "no \"conectix\" cookie";
    uint32_t want = (uint32_t)vhd_be(f + VHD_F_CHECKSUM, 4);
    uint32_t got = vhd_checksum(f, VHD_FOOTER_LEN, VHD_F_CHECKSUM);
    if (want != got) {
        snprintf(why, n, "checksum 0x%08x, but its bytes sum to 0x%08x", want, got);
        return why;
    }
    uint32_t ver = (uint32_t)vhd_be(f + VHD_F_VERSION, 4);
    if (ver >> 16 != 1) {
        snprintf(why, n, "file format version 0x%08x (accepted: 1.x)", ver);
        return why;
    }
    uint32_t type = (uint32_t)vhd_be(f + VHD_F_TYPE, 4);
    if (type != VHD_FIXED && type != VHD_DYNAMIC && type != VHD_DIFF) {
        snprintf(why, n, "disk type %u (accepted: 2 fixed, 3 dynamic, "
                 "4 differencing)", type);
        return why;
    }
    return NULL;
}

/* Find a valid footer: the one at the end, else (dynamic and
 * differencing disks) the copy at offset 0. */
static int read_footer(struct block_dev *bd, struct vhd_state *s, char *err,
                       size_t elen)
{
    uint64_t end = s->file_size - VHD_FOOTER_LEN;
    char w1[96], w2[96];
    int r = host_pread(&bd->file, end, s->footer, VHD_FOOTER_LEN, false);
    if (r < 0)
        return block_errbuf(err, elen, r, "%s: read of the footer at offset "
                            "%llu: %s", bd->filename, (unsigned long long)end,
                            strerror(-r));
    const char *bad = footer_fault(s->footer, w1, sizeof(w1));
    if (!bad) {
        s->footer_off = end;
        return 0;
    }
    uint8_t copy[VHD_FOOTER_LEN];
    r = host_pread(&bd->file, 0, copy, VHD_FOOTER_LEN, false);
    if (r < 0)
        return block_errbuf(err, elen, r, "%s: read of the footer copy at "
                            "offset 0: %s", bd->filename, strerror(-r));
    const char *bad0 = footer_fault(copy, w2, sizeof(w2));
    if (!bad0 && vhd_be(copy + VHD_F_TYPE, 4) == VHD_FIXED)
        bad0 = "a fixed disk type, which has no copy at offset 0";
    if (bad0)
        return block_errbuf(err, elen, -EINVAL, "%s: not a valid VHD: the footer "
                            "at offset %llu has %s, and the footer copy at offset 0 "
                            "has %s", bd->filename, (unsigned long long)end, bad,
                            bad0);
    memcpy(s->footer, copy, VHD_FOOTER_LEN);
    s->footer_from_copy = true;
    s->footer_off = 0;    /* placed after the blocks, once the BAT is read */
    return 0;
}

static int read_dynamic(struct block_dev *bd, struct vhd_state *s,
                        char *err, size_t elen)
{
    const char *f = bd->filename;
    s->dyn_off = vhd_be(s->footer + VHD_F_DATA_OFF, 8);
    if (s->dyn_off > s->file_size || s->file_size - s->dyn_off < VHD_DYN_LEN)
        return block_errbuf(err, elen, -EINVAL, "%s: footer field data offset: "
                            "the dynamic disk header at %llu would run past the "
                            "end of the file (%llu bytes)", f,
                            (unsigned long long)s->dyn_off,
                            (unsigned long long)s->file_size);
    int r = host_pread(&bd->file, s->dyn_off, s->dyn, VHD_DYN_LEN, false);
    if (r < 0)
        return block_errbuf(err, elen, r, "%s: read of the dynamic disk header: "
                            "%s", f, strerror(-r));
    if (memcmp(s->dyn + VHD_D_COOKIE, "cxsparse", 8))
        return block_errbuf(err, elen, -EINVAL, "%s: dynamic disk header at %llu: "
                            "no \"cxsparse\" cookie", f,
                            (unsigned long long)s->dyn_off);
    uint32_t want = (uint32_t)vhd_be(s->dyn + VHD_D_CHECKSUM, 4);
    uint32_t got = vhd_checksum(s->dyn, VHD_DYN_LEN, VHD_D_CHECKSUM);
    if (want != got)
        return block_errbuf(err, elen, -EINVAL, "%s: dynamic disk header field "
                            "checksum: 0x%08x, but its bytes sum to 0x%08x", f,
                            want, got);
    s->bat_off = vhd_be(s->dyn + VHD_D_TABLE_OFF, 8);
    s->bat_entries = (uint32_t)vhd_be(s->dyn + VHD_D_MAX_ENT, 4);
    s->block_size = (uint32_t)vhd_be(s->dyn + VHD_D_BLOCK_SIZE, 4);
    uint32_t bs = s->block_size;
    if (bs < VHD_SECTOR || bs > (256u << 20) || (bs & (bs - 1)))
        return block_errbuf(err, elen, -EINVAL, "%s: dynamic disk header field "
                            "block size: %u (accepted: a power of two from 512 "
                            "bytes to 256 MiB)", f, bs);
    if (bd->size > VHD_MAX_SECTORS * VHD_SECTOR)
        return block_errbuf(err, elen, -EINVAL, "%s: footer field current size: "
                            "%llu bytes, more than the 2040 GiB a dynamic VHD "
                            "holds", f, (unsigned long long)bd->size);
    if ((uint64_t)s->bat_entries * bs < bd->size)
        return block_errbuf(err, elen, -EINVAL, "%s: dynamic disk header field max "
                            "table entries: %u blocks of %u bytes cover less than "
                            "the %llu-byte disk", f, s->bat_entries, bs,
                            (unsigned long long)bd->size);
    uint64_t bat_len = (uint64_t)s->bat_entries * 4;
    if (s->bat_off > s->file_size || s->file_size - s->bat_off < bat_len)
        return block_errbuf(err, elen, -EINVAL, "%s: dynamic disk header field "
                            "table offset: the BAT (%u entries at offset %llu) runs "
                            "past the end of the file (%llu bytes)", f,
                            s->bat_entries, (unsigned long long)s->bat_off,
                            (unsigned long long)s->file_size);
    s->bitmap_size = ROUND_UP(bs / VHD_SECTOR / 8, VHD_SECTOR);
    s->bat = malloc(bat_len ? bat_len : 1);
    s->bitmap = malloc(s->bitmap_size);
    if (!s->bat || !s->bitmap)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory for a BAT of "
                            "%u entries", f, s->bat_entries);
    r = host_pread(&bd->file, s->bat_off, s->bat, bat_len, false);
    if (r < 0)
        return block_errbuf(err, elen, r, "%s: read of the BAT: %s", f,
                            strerror(-r));
    uint64_t last = 0;
    for (uint32_t i = 0; i < s->bat_entries; i++) {
        s->bat[i] = (uint32_t)vhd_be((const uint8_t *)&s->bat[i], 4);
        if (s->bat[i] != VHD_UNALLOC)
            last = MAX(last, (uint64_t)s->bat[i] * VHD_SECTOR + s->bitmap_size + bs);
    }
    if (s->footer_from_copy)   /* the end is damaged: append after the blocks */
        s->footer_off = MAX(last, ROUND_UP(s->bat_off + bat_len, VHD_SECTOR));
    return 0;
}

int vhd_open(struct block_dev *bd, unsigned flags, struct block_open_ctx *ctx,
             char *err, size_t elen)
{
    const char *f = bd->filename;
    struct vhd_state *s = calloc(1, sizeof(*s));
    if (!s)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", f);
    s->bitmap_idx = UINT64_MAX;
    int r;
    off_t end = lseek(bd->file.fd, 0, SEEK_END);
    if (end < 0) {
        r = block_errbuf(err, elen, -errno, "%s: cannot find the size: %s", f,
                         strerror(errno));
        goto fail;
    }
    s->file_size = (uint64_t)end;
    if (s->file_size < VHD_FOOTER_LEN) {
        r = block_errbuf(err, elen, -EINVAL, "%s: %llu bytes, too small for a VHD "
                         "(which ends with a 512-byte footer)", f,
                         (unsigned long long)s->file_size);
        goto fail;
    }
    if ((r = read_footer(bd, s, err, elen)) < 0)
        goto fail;
    s->type = (enum vhd_type)vhd_be(s->footer + VHD_F_TYPE, 4);
    bd->size = vhd_footer_size(s->footer) / VHD_SECTOR * VHD_SECTOR;
    if (s->type == VHD_FIXED) {
        if (bd->size > s->footer_off) {
            r = block_errbuf(err, elen, -EINVAL, "%s: footer field current size "
                             "(or geometry): %llu bytes, but the fixed disk has only "
                             "%llu bytes before its footer", f,
                             (unsigned long long)bd->size,
                             (unsigned long long)s->footer_off);
            goto fail;
        }
    } else {
        if ((r = read_dynamic(bd, s, err, elen)) < 0)
            goto fail;
        bool tolerate = (flags & BLOCK_O_CHECK) && bd->read_only;
        r = vhd_bat_scan(s, f, NULL, err, elen, NULL, NULL);
        if (r > 0 && !tolerate)
            r = -EINVAL;   /* err holds the first fault */
        if (r < 0)
            goto fail;
        r = 0;
    }
    if (s->type == VHD_DIFF) {
        if (!bd->read_only) {
            r = block_errbuf(err, elen, -ENOTSUP, "%s: a differencing VHD, which "
                             "Vessel opens read-only (readonly=on); convert it to "
                             "write to it", f);
            goto fail;
        }
        if (!(flags & BLOCK_O_NO_BACKING) &&
            (r = vhd_open_parent(bd, s, flags, ctx, err, elen)) < 0)
            goto fail;
    }
    if (s->footer_from_copy && !bd->read_only) {
        /* Restore the end footer from the copy before anything is added. */
        r = host_pwrite(&bd->file, s->footer_off, s->footer, VHD_FOOTER_LEN);
        if (r < 0) {
            block_errbuf(err, elen, r, "%s: rewriting the damaged footer: %s", f,
                         strerror(-r));
            goto fail;
        }
        s->footer_from_copy = false;
    }
    bd->opaque = s;
    return 0;
fail:
    block_close(bd->backing);
    bd->backing = NULL;
    free(s->parent);
    free(s->bat);
    free(s->bitmap);
    free(s);
    return r;
}

static void vhd_close(struct block_dev *bd)
{
    struct vhd_state *s = bd->opaque;
    free(s->parent);
    free(s->bat);
    free(s->bitmap);
    free(s);
}

static int io_err(struct block_dev *bd, int r, const char *what, uint64_t at)
{
    return block_seterr(bd, r, "%s: %s at offset %llu: %s", bd->filename, what,
                        (unsigned long long)at, strerror(-r));
}

/* File offset of the data of block idx (allocated). */
static uint64_t block_data(const struct vhd_state *s, uint64_t idx)
{
    return (uint64_t)s->bat[idx] * VHD_SECTOR + s->bitmap_size;
}

static int load_bitmap(struct block_dev *bd, struct vhd_state *s, uint64_t idx)
{
    if (s->bitmap_idx == idx)
        return 0;
    s->bitmap_idx = UINT64_MAX;
    uint64_t at = (uint64_t)s->bat[idx] * VHD_SECTOR;
    int r = host_pread(&bd->file, at, s->bitmap, s->bitmap_size, false);
    if (r < 0)
        return io_err(bd, r, "read of a sector bitmap", at);
    s->bitmap_idx = idx;
    return 0;
}

/* Length of the run from byte `in` of a block (at most n bytes) whose
 * sectors all have the bitmap bit of the first one; *set gets it. */
static uint64_t bm_run(const uint8_t *bm, uint64_t in, uint64_t n, bool *set)
{
    uint64_t sec = in / VHD_SECTOR;
    *set = bm_bit(bm, sec);
    uint64_t q = MIN(n, (sec + 1) * VHD_SECTOR - in);
    while (q < n && bm_bit(bm, (in + q) / VHD_SECTOR) == *set)
        q = MIN(n, q + VHD_SECTOR);
    return q;
}

static int vhd_pread(struct block_dev *bd, uint64_t off, void *buf, size_t len)
{
    struct vhd_state *s = bd->opaque;
    uint8_t *p = buf;
    int r;
    if (s->type == VHD_FIXED) {
        r = host_pread(&bd->file, off, buf, len, false);
        return r < 0 ? io_err(bd, r, "read", off) : 0;
    }
    while (len) {
        uint64_t idx = off / s->block_size, in = off % s->block_size;
        uint64_t n = MIN((uint64_t)len, s->block_size - in);
        if (s->bat[idx] == VHD_UNALLOC) {
            if (s->type == VHD_DIFF)
                r = block_read_backing(bd, off, p, (size_t)n);
            else
                memset(p, 0, (size_t)n), r = 0;
        } else if (s->type == VHD_DYNAMIC) {
            /* As qemu: an allocated block of a dynamic disk is read whole
             * (a clear bit's sector is zero there, as we allocate it). */
            r = host_pread(&bd->file, block_data(s, idx) + in, p, (size_t)n, false);
            if (r < 0)
                r = io_err(bd, r, "read", block_data(s, idx) + in);
        } else {
            r = load_bitmap(bd, s, idx);
            for (uint64_t q = 0, k; q < n && r == 0; q += k) {
                bool set;
                k = bm_run(s->bitmap, in + q, n - q, &set);
                if (set) {
                    r = host_pread(&bd->file, block_data(s, idx) + in + q, p + q,
                                   (size_t)k, false);
                    if (r < 0)
                        r = io_err(bd, r, "read", block_data(s, idx) + in + q);
                } else {
                    r = block_read_backing(bd, off + q, p + q, (size_t)k);
                }
            }
        }
        if (r < 0)
            return r;
        off += n; p += n; len -= (size_t)n;
    }
    return 0;
}

/* Append block idx where the footer is: the footer moves past it first
 * (growing the file, so the block's data reads as zeros), then the zeroed
 * bitmap replaces the old footer, and only then does the BAT name the
 * block.  A crash in between leaves at worst an unreferenced block (a leak
 * that check reports), never a BAT entry naming foreign bytes. */
static int alloc_block(struct block_dev *bd, struct vhd_state *s, uint64_t idx)
{
    uint64_t at = ROUND_UP(s->footer_off, VHD_SECTOR);
    uint64_t end = at + s->bitmap_size + s->block_size;
    if (at / VHD_SECTOR >= VHD_UNALLOC)
        return block_seterr(bd, -ENOSPC, "%s: the file is too large for another "
                            "block (BAT entries address at most 2 TiB)",
                            bd->filename);
    int r = host_pwrite(&bd->file, end, s->footer, VHD_FOOTER_LEN);
    if (r < 0)
        return io_err(bd, r, "write of the footer", end);
    memset(s->bitmap, 0, s->bitmap_size);
    s->bitmap_idx = UINT64_MAX;
    r = host_pwrite(&bd->file, at, s->bitmap, s->bitmap_size);
    if (r < 0)
        return io_err(bd, r, "write of a sector bitmap", at);
    s->footer_off = end;
    s->file_size = MAX(s->file_size, end + VHD_FOOTER_LEN);
    uint8_t e[4];
    vhd_put_be(e, at / VHD_SECTOR, 4);
    r = host_pwrite(&bd->file, s->bat_off + idx * 4, e, 4);
    if (r < 0)
        return io_err(bd, r, "write of a BAT entry", s->bat_off + idx * 4);
    s->bat[idx] = (uint32_t)(at / VHD_SECTOR);
    s->bitmap_idx = idx;
    return 0;
}

/* Set the bitmap bits of bytes [in, in+n) of block idx (after their data
 * was written), writing the bitmap sectors that changed. */
static int mark_sectors(struct block_dev *bd, struct vhd_state *s,
                        uint64_t idx, uint64_t in, uint64_t n)
{
    int r = load_bitmap(bd, s, idx);
    if (r < 0)
        return r;
    uint64_t first = in / VHD_SECTOR, last = (in + n - 1) / VHD_SECTOR;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint64_t sec = first; sec <= last; sec++) {
        if (!bm_bit(s->bitmap, sec)) {
            s->bitmap[sec / 8] |= (uint8_t)(0x80 >> (sec % 8));
            lo = MIN(lo, sec / 8);
            hi = sec / 8;
        }
    }
    if (lo == UINT64_MAX)
        return 0;
    lo = lo / VHD_SECTOR * VHD_SECTOR;
    hi = ROUND_UP(hi + 1, VHD_SECTOR);
    uint64_t at = (uint64_t)s->bat[idx] * VHD_SECTOR + lo;
    r = host_pwrite(&bd->file, at, s->bitmap + lo, (size_t)(hi - lo));
    if (r < 0) {
        s->bitmap_idx = UINT64_MAX;
        return io_err(bd, r, "write of a sector bitmap", at);
    }
    return 0;
}

static int vhd_pwrite(struct block_dev *bd, uint64_t off, const void *buf,
                      size_t len)
{
    struct vhd_state *s = bd->opaque;
    const uint8_t *p = buf;
    int r;
    if (s->type == VHD_FIXED) {
        r = host_pwrite(&bd->file, off, buf, len);
        return r < 0 ? io_err(bd, r, "write", off) : 0;
    }
    while (len) {
        uint64_t idx = off / s->block_size, in = off % s->block_size;
        uint64_t n = MIN((uint64_t)len, s->block_size - in);
        if (s->bat[idx] == VHD_UNALLOC && (r = alloc_block(bd, s, idx)) < 0)
            return r;
        uint64_t at = block_data(s, idx) + in;
        r = host_pwrite(&bd->file, at, p, (size_t)n);
        if (r < 0)
            return io_err(bd, r, "write", at);
        if ((r = mark_sectors(bd, s, idx, in, n)) < 0)
            return r;
        off += n; p += n; len -= (size_t)n;
    }
    return 0;
}

/* discard and write-zeroes: absent blocks already read zeros; the data of
 * stored ones is zeroed (a hole punched where the host can). */
static int vhd_zero(struct block_dev *bd, uint64_t off, uint64_t len)
{
    struct vhd_state *s = bd->opaque;
    int r;
    if (s->type == VHD_FIXED) {
        r = host_zero_range(&bd->file, off, len);
        return r < 0 ? io_err(bd, r, "zeroing", off) : 0;
    }
    while (len) {
        uint64_t idx = off / s->block_size, in = off % s->block_size;
        uint64_t n = MIN(len, s->block_size - in);
        if (s->bat[idx] != VHD_UNALLOC) {
            r = host_zero_range(&bd->file, block_data(s, idx) + in, n);
            if (r < 0)
                return io_err(bd, r, "zeroing", block_data(s, idx) + in);
        }
        off += n; len -= n;
    }
    return 0;
}

/* Status of bytes [in, in+n) of block idx; *k gets the run length. */
static int blk_status(struct block_dev *bd, struct vhd_state *s,
                        uint64_t idx, uint64_t in, uint64_t n, uint64_t *k)
{
    *k = n;
    if (s->bat[idx] == VHD_UNALLOC)
        return BLOCK_STATUS_UNALLOCATED;
    if (s->type == VHD_DYNAMIC)
        return BLOCK_STATUS_DATA;
    int r = load_bitmap(bd, s, idx);
    if (r < 0)
        return r;
    bool set;
    *k = bm_run(s->bitmap, in, n, &set);
    return set ? BLOCK_STATUS_DATA : BLOCK_STATUS_UNALLOCATED;
}

static int vhd_status(struct block_dev *bd, uint64_t off, uint64_t len,
                      uint64_t *pnum)
{
    struct vhd_state *s = bd->opaque;
    if (s->type == VHD_FIXED) {
        *pnum = len;
        return BLOCK_STATUS_DATA;
    }
    int first = -1;
    uint64_t done = 0;
    while (done < len) {
        uint64_t o = off + done, idx = o / s->block_size, in = o % s->block_size;
        uint64_t k;
        int st = blk_status(bd, s, idx, in, MIN(len - done, s->block_size - in), &k);
        if (st < 0)
            return st;
        if (first >= 0 && st != first)
            break;
        first = st;
        done += k;
        if (in + k < s->block_size && done < len)
            break;   /* the run ended inside the block */
    }
    *pnum = done;
    return first;
}

static int vhd_truncate(struct block_dev *bd, uint64_t size)
{
    (void)size;
    return block_seterr(bd, -ENOTSUP, "%s: resizing a VHD is not supported; "
                        "convert it to qcow2 or raw first", bd->filename);
}

static int vhd_info(struct block_dev *bd, struct block_info *info)
{
    struct vhd_state *s = bd->opaque;
    if (s->type != VHD_FIXED)
        info->cluster_size = s->block_size;
    if (s->parent) {
        snprintf(info->backing_file, sizeof(info->backing_file), "%s", s->parent);
        snprintf(info->backing_full, sizeof(info->backing_full), "%s", s->parent);
        snprintf(info->backing_format, sizeof(info->backing_format), "vpc");
    }
    return 0;
}

const struct block_driver block_vhd_driver = {
    .fmt = BLOCK_FMT_VPC,
    .pread = vhd_pread,
    .pwrite = vhd_pwrite,
    .discard = vhd_zero,
    .write_zeroes = vhd_zero,
    .flush = block_flush_file,
    .status = vhd_status,
    .truncate = vhd_truncate,
    .close = vhd_close,
    .info = vhd_info,
    .check = vhd_check,
};
