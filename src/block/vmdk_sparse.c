/* block: one VMDK hosted sparse extent ("Virtual Disk Format 1.1",
 * "Hosted Sparse Extents").
 *
 * On-disk layout (integers little-endian, offsets and sizes in 512-byte
 * sectors unless said otherwise):
 *  - sector 0, the header: magic "KDMV", version (1 to 3), flags (bit 0
 *    the newline test characters are valid, bit 1 a redundant grain
 *    directory exists, bit 2 a grain table entry of 1 means a zeroed
 *    grain, bit 16 grains are compressed, bit 17 the file holds markers),
 *    the capacity, the grain size (a power of two, at least 8 sectors,
 *    128 by default), the offset and size of the embedded descriptor (0
 *    in the extents of a descriptor file), the entries per grain table
 *    (512), the offsets of the redundant and the primary grain
 *    directory, the overhead (sectors before the first grain), the
 *    unclean-shutdown byte (set while the extent is open for writing),
 *    the newline test characters '\n', ' ', '\r', '\n' and the
 *    compression algorithm (1: deflate);
 *  - a grain directory: one 32-bit entry per grain table, its sector (0:
 *    absent); the redundant one points at copies of every grain table;
 *  - each grain table: one 32-bit entry per grain, the sector where the
 *    grain is stored, 0 when absent (reads zeros) or, with flag bit 2, 1
 *    for a zeroed grain;
 *  - grains, whole, anywhere past the metadata.
 * A new grain is written at the end of the file first, then its entry in
 * the grain table and in the redundant one, so that a table never names
 * a grain that is not in the file; a new table is zeroed before its
 * directory entries name it.  streamOptimized extents (compressed, with
 * markers) are in vmdk_stream.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/vmdk.h"
#include "util/util.h"

#define VMDK_DESC_MAX (64u << 10)   /* bytes of an embedded descriptor */

static int io_err(struct block_dev *bd, struct vmdk_sparse *s, int r, const char *what,
                  uint64_t at)
{
    return block_seterr(bd, r, "%s: %s at offset %llu: %s", s->name, what,
                        (unsigned long long)at, strerror(-r));
}

/* Read a directory of s->ngd entries at sector `sec` into *out (host
 * order), each entry naming a whole table inside the file. */
static int read_dir(struct vmdk_sparse *s, uint64_t sec, uint32_t **out, const char *field,
                    char *err, size_t elen)
{
    uint64_t at = sec * VMDK_SECTOR;
    if (sec > s->file_size / VMDK_SECTOR || (uint64_t)s->ngd * 4 > s->file_size - at)
        return block_errbuf(err, elen, -EINVAL, "%s: header field %s: the grain "
                            "directory (%u entries at sector %llu) runs past the end of "
                            "the file (%llu bytes)", s->name, field, s->ngd,
                            (unsigned long long)sec, (unsigned long long)s->file_size);
    uint32_t *gd = malloc((size_t)s->ngd * 4 + 4);
    if (!gd)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", s->name);
    int r = host_pread(s->file, at, gd, (size_t)s->ngd * 4, false);
    if (r < 0) {
        free(gd);
        return block_errbuf(err, elen, r, "%s: read of the grain directory at sector "
                            "%llu: %s", s->name, (unsigned long long)sec, strerror(-r));
    }
    for (uint32_t i = 0; i < s->ngd; i++) {
        gd[i] = (uint32_t)le_get((const uint8_t *)&gd[i], 4);
        uint64_t t = (uint64_t)gd[i] * VMDK_SECTOR;
        if (gd[i] && (t > s->file_size || s->file_size - t < (uint64_t)s->gtes * 4)) {
            free(gd);
            return block_errbuf(err, elen, -EINVAL, "%s: %s entry %u: the grain table "
                                "at sector %u runs past the end of the file", s->name,
                                field, i, (unsigned)(t / VMDK_SECTOR));
        }
    }
    *out = gd;
    return 0;
}

static int check_header(struct vmdk_sparse *s, const uint8_t *h, char *err, size_t elen)
{
    const char *f = s->name;
    uint32_t ver = (uint32_t)le_get(h + VMDK_H_VERSION, 4);
    uint64_t cap = le_get(h + VMDK_H_CAPACITY, 8), grain = le_get(h + VMDK_H_GRAIN, 8);
    if (le_get(h, 4) != VMDK_MAGIC)
        return block_errbuf(err, elen, -EINVAL, "%s: header field magic: not \"KDMV\"", f);
    if (ver < 1 || ver > 3)
        return block_errbuf(err, elen, -ENOTSUP, "%s: header field version: %u "
                            "(accepted: 1 to 3)", f, ver);
    if (s->compressed && le_get(h + VMDK_H_COMPRESS, 2) != 1)
        return block_errbuf(err, elen, -ENOTSUP, "%s: header field compress algorithm: "
                            "%u (accepted: 1, deflate)", f,
                            (unsigned)le_get(h + VMDK_H_COMPRESS, 2));
    if (grain < 8 || grain > (1u << 16) || (grain & (grain - 1)))
        return block_errbuf(err, elen, -EINVAL, "%s: header field grain size: %llu "
                            "sectors (accepted: a power of two from 8 to 65536)", f,
                            (unsigned long long)grain);
    if (s->gtes < 1 || s->gtes > (1u << 16))
        return block_errbuf(err, elen, -EINVAL, "%s: header field num GTEs per GT: %u "
                            "(accepted: 1 to 65536)", f, s->gtes);
    if (cap > (1ull << 53))
        return block_errbuf(err, elen, -EINVAL, "%s: header field capacity: %llu "
                            "sectors (accepted: at most 2^53)", f, (unsigned long long)cap);
    uint64_t span = grain * VMDK_SECTOR * s->gtes;
    uint64_t ngd = (cap * VMDK_SECTOR + span - 1) / span;
    /* each table is at least 4 bytes of the file: a directory larger than
     * the file can describe is a lie */
    if (ngd > UINT32_MAX / 4 || ngd * 4 > s->file_size)
        return block_errbuf(err, elen, -EINVAL, "%s: header field capacity: %llu "
                            "sectors need %llu grain tables, more than a file of %llu "
                            "bytes can hold", f, (unsigned long long)cap,
                            (unsigned long long)ngd, (unsigned long long)s->file_size);
    s->capacity = cap * VMDK_SECTOR;
    s->grain = grain * VMDK_SECTOR;
    s->ngd = (uint32_t)ngd;
    return 0;
}

int vmdk_sparse_open(struct vmdk_sparse **out, struct host_file *file, const char *name,
                     bool write, char **desc, size_t *dlen, char *err, size_t elen)
{
    struct vmdk_sparse *s = calloc(1, sizeof(*s));
    if (!s)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", name);
    s->file = file;
    s->name = name;
    for (unsigned i = 0; i < VMDK_GT_CACHE; i++)
        s->cache[i].idx = UINT64_MAX;
    int r;
    off_t end = lseek(file->fd, 0, SEEK_END);
    if (end < 0 || (r = host_pread(file, 0, s->hdr, sizeof(s->hdr), true)) < 0) {
        r = block_errbuf(err, elen, -EIO, "%s: cannot read the header", name);
        goto fail;
    }
    s->file_size = (uint64_t)end;
    const uint8_t *h = s->hdr;
    s->flags = (uint32_t)le_get(h + VMDK_H_FLAGS, 4);
    s->compressed = s->flags & VMDK_FLAG_COMPRESSED;
    s->gtes = (uint32_t)le_get(h + VMDK_H_GTES, 4);
    s->gd_sec = le_get(h + VMDK_H_GD_OFF, 8);
    s->rgd_sec = (s->flags & VMDK_FLAG_RGD) ? le_get(h + VMDK_H_RGD_OFF, 8) : 0;
    s->overhead = le_get(h + VMDK_H_OVERHEAD, 8);
    s->unclean_found = h[VMDK_H_UNCLEAN] != 0;
    if ((r = check_header(s, h, err, elen)) < 0)
        goto fail;
    if (s->compressed && s->gd_sec == VMDK_GD_AT_END) {
        /* the real directory offset is in the footer, the header copy in
         * the second-to-last sector (before the end-of-stream marker) */
        uint8_t foot[512];
        r = s->file_size >= 1536 ? host_pread(file, s->file_size - 1024, foot,
                                              sizeof(foot), false) : -EIO;
        if (r < 0 || le_get(foot, 4) != VMDK_MAGIC) {
            r = block_errbuf(err, elen, -EINVAL, "%s: header field gd offset is "
                             "GD_AT_END, but the footer at offset %llu is no "
                             "\"KDMV\" header", name,
                             (unsigned long long)(s->file_size > 1024 ?
                                                  s->file_size - 1024 : 0));
            goto fail;
        }
        s->gd_sec = le_get(foot + VMDK_H_GD_OFF, 8);
    }
    s->rgd_sec = s->compressed ? 0 : s->rgd_sec;
    uint64_t doff = le_get(h + VMDK_H_DESC_OFF, 8), dsize = le_get(h + VMDK_H_DESC_SIZE, 8);
    if (desc && (!doff || !dsize || dsize > VMDK_DESC_MAX / VMDK_SECTOR ||
                 doff > s->file_size / VMDK_SECTOR ||
                 (doff + dsize) * VMDK_SECTOR > s->file_size)) {
        r = block_errbuf(err, elen, -EINVAL, "%s: header fields descriptor offset/size: "
                         "%llu+%llu sectors (accepted: 1 to %u sectors inside the "
                         "file)", name, (unsigned long long)doff,
                         (unsigned long long)dsize, VMDK_DESC_MAX / VMDK_SECTOR);
        goto fail;
    }
    if ((r = read_dir(s, s->gd_sec, &s->gd, "gd offset", err, elen)) < 0 ||
        (s->rgd_sec && (r = read_dir(s, s->rgd_sec, &s->rgd, "rgd offset", err,
                                     elen)) < 0))
        goto fail;
    if (desc) {
        *desc = calloc(1, dsize * VMDK_SECTOR + 1);
        if (!*desc) {
            r = block_errbuf(err, elen, -ENOMEM, "%s: out of memory", name);
            goto fail;
        }
        r = host_pread(file, doff * VMDK_SECTOR, *desc, dsize * VMDK_SECTOR, false);
        if (r < 0) {
            free(*desc);
            *desc = NULL;
            block_errbuf(err, elen, r, "%s: read of the embedded descriptor: %s", name,
                         strerror(-r));
            goto fail;
        }
        *dlen = strnlen(*desc, dsize * VMDK_SECTOR);
    }
    if (s->compressed) {
        s->zin = malloc(VMDK_MARKER_LEN + 2 * s->grain + 1024);
        s->grain_buf = malloc(s->grain);
        if (!s->zin || !s->grain_buf) {
            r = block_errbuf(err, elen, -ENOMEM, "%s: out of memory", name);
            goto fail;
        }
    }
    if (write && s->compressed && (r = vmdk_stream_start(s, err, elen)) < 0)
        goto fail;
    s->writable = write;
    *out = s;
    return 0;
fail:
    if (desc && *desc) {
        free(*desc);
        *desc = NULL;
    }
    free(s->gd);
    free(s->rgd);
    free(s->zin);
    free(s->grain_buf);
    free(s);
    return r;
}

int vmdk_sparse_flush(struct block_dev *bd, struct vmdk_sparse *s)
{
    if (s->sw)
        return vmdk_stream_finish(bd, s);
    if (s->writable && fdatasync(s->file->fd) < 0)
        return io_err(bd, s, -errno, "flush", 0);
    return 0;
}

int vmdk_sparse_close(struct block_dev *bd, struct vmdk_sparse *s)
{
    int r = 0;
    if (s->sw)
        r = vmdk_stream_finish(bd, s);
    if (s->unclean_set) {
        /* the data and tables reach the disk before the byte says so */
        static const uint8_t clean = 0;
        if (fdatasync(s->file->fd) < 0 ||
            host_pwrite(s->file, VMDK_H_UNCLEAN, &clean, 1) < 0 ||
            fdatasync(s->file->fd) < 0)
            r = io_err(bd, s, -EIO, "clearing the unclean-shutdown byte", VMDK_H_UNCLEAN);
    }
    vmdk_stream_free(s);
    for (unsigned i = 0; i < VMDK_GT_CACHE; i++)
        free(s->cache[i].gt);
    free(s->gd);
    free(s->rgd);
    free(s->zin);
    free(s->grain_buf);
    free(s);
    return r;
}

/* The cached grain table of directory entry i (allocated), read and
 * checked on a miss: every entry 0, 1 (zeroed, with the flag) or a grain
 * inside the file. */
static int load_gt(struct block_dev *bd, struct vmdk_sparse *s, uint64_t i, uint32_t **gt)
{
    for (unsigned c = 0; c < VMDK_GT_CACHE; c++)
        if (s->cache[c].idx == i) {
            *gt = s->cache[c].gt;
            return 0;
        }
    struct vmdk_gt_slot *slot = &s->cache[s->cache_next];
    if (!slot->gt && !(slot->gt = malloc((size_t)s->gtes * 4)))
        return block_seterr(bd, -ENOMEM, "%s: out of memory", s->name);
    slot->idx = UINT64_MAX;
    uint64_t at = (uint64_t)s->gd[i] * VMDK_SECTOR;
    int r = host_pread(s->file, at, slot->gt, (size_t)s->gtes * 4, false);
    if (r < 0)
        return io_err(bd, s, r, "read of a grain table", at);
    /* a compressed grain is at least its marker */
    uint64_t need = s->compressed ? VMDK_MARKER_LEN : s->grain;
    for (uint32_t k = 0; k < s->gtes; k++) {
        uint32_t e = slot->gt[k] = (uint32_t)le_get((const uint8_t *)&slot->gt[k], 4);
        uint64_t g = (uint64_t)e * VMDK_SECTOR;
        bool zero = e == 1 && (s->flags & VMDK_FLAG_ZERO_GTE);
        if (e && !zero && (g > s->file_size || s->file_size - g < need))
            return block_seterr(bd, -EIO, "%s: grain table %llu entry %u: the grain at "
                                "sector %u runs past the end of the file (%llu bytes)",
                                s->name, (unsigned long long)i, k, e,
                                (unsigned long long)s->file_size);
    }
    slot->idx = i;
    s->cache_next = (s->cache_next + 1) % VMDK_GT_CACHE;
    *gt = slot->gt;
    return 0;
}

int64_t vmdk_sparse_entry(struct block_dev *bd, struct vmdk_sparse *s, uint64_t g)
{
    uint64_t i = g / s->gtes;
    if (i >= s->ngd || !s->gd[i])
        return 0;
    uint32_t *gt;
    int r = load_gt(bd, s, i, &gt);
    if (r < 0)
        return r;
    uint32_t e = gt[g % s->gtes];
    return e == 1 && (s->flags & VMDK_FLAG_ZERO_GTE) ? 0 : e;
}

int vmdk_sparse_read(struct block_dev *bd, struct vmdk_sparse *s, uint64_t off,
                     void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        uint64_t g = off / s->grain, in = off % s->grain;
        size_t n = (size_t)MIN((uint64_t)len, s->grain - in);
        const uint8_t *pending = NULL;
        int64_t e = s->sw ? vmdk_stream_entry(s, g, &pending) : vmdk_sparse_entry(bd, s, g);
        if (e < 0)
            return (int)e;
        if (pending) {
            memcpy(p, pending + in, n);
        } else if (!e) {
            memset(p, 0, n);
        } else if (s->compressed) {
            int r = vmdk_stream_load_grain(bd, s, (uint32_t)e, g);
            if (r < 0)
                return r;
            memcpy(p, s->grain_buf + in, n);
        } else {
            /* consecutive grains stored one after another: one read */
            uint64_t at = (uint64_t)e * VMDK_SECTOR + in;
            while (n < len) {
                int64_t e2 = vmdk_sparse_entry(bd, s, g + 1);
                if (e2 < 0)
                    return (int)e2;
                if ((uint64_t)e2 != (uint64_t)e + (g + 1 - off / s->grain) *
                                    (s->grain / VMDK_SECTOR))
                    break;
                g++;
                n += (size_t)MIN((uint64_t)(len - n), s->grain);
            }
            int r = host_pread(s->file, at, p, n, false);
            if (r < 0)
                return io_err(bd, s, r, "read", at);
        }
        off += n; p += n; len -= n;
    }
    return 0;
}

/* Set the unclean-shutdown byte before the first change (cleared at
 * close), so that a crash while writing shows in the header. */
static int mark_unclean(struct block_dev *bd, struct vmdk_sparse *s)
{
    if (s->unclean_set)
        return 0;
    static const uint8_t one = 1;
    int r = host_pwrite(s->file, VMDK_H_UNCLEAN, &one, 1);
    if (r < 0)
        return io_err(bd, s, r, "write of the unclean-shutdown byte", VMDK_H_UNCLEAN);
    s->unclean_set = true;
    return 0;
}

/* Append zeroed grain tables for directory entry i (and its redundant
 * copy), then name them in the directories: redundant first. */
static int alloc_gt(struct block_dev *bd, struct vmdk_sparse *s, uint64_t i)
{
    uint64_t tsec = ((uint64_t)s->gtes * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
    uint64_t at = (s->file_size + VMDK_SECTOR - 1) / VMDK_SECTOR;
    uint64_t n = s->rgd ? 2 : 1;
    if (at + n * tsec > UINT32_MAX)
        return block_seterr(bd, -EFBIG, "%s: a new grain table would lie past sector "
                            "2^32, the most a grain directory entry can name", s->name);
    if (ftruncate(s->file->fd, (off_t)((at + n * tsec) * VMDK_SECTOR)) < 0)
        return io_err(bd, s, -errno, "growing the file for a grain table",
                      at * VMDK_SECTOR);
    s->file_size = (at + n * tsec) * VMDK_SECTOR;
    uint8_t le[4];
    int r;
    if (s->rgd) {
        le_put(le, at + tsec, 4);
        r = host_pwrite(s->file, s->rgd_sec * VMDK_SECTOR + i * 4, le, 4);
        if (r < 0)
            return io_err(bd, s, r, "write of a redundant grain directory entry",
                          s->rgd_sec * VMDK_SECTOR + i * 4);
        s->rgd[i] = (uint32_t)(at + tsec);
    }
    le_put(le, at, 4);
    r = host_pwrite(s->file, s->gd_sec * VMDK_SECTOR + i * 4, le, 4);
    if (r < 0)
        return io_err(bd, s, r, "write of a grain directory entry",
                      s->gd_sec * VMDK_SECTOR + i * 4);
    s->gd[i] = (uint32_t)at;
    return 0;
}

/* Point entries [k, k+n) of table i at the grains from sector `sec` on,
 * in the cached table, the table and its redundant copy. */
static int set_entries(struct block_dev *bd, struct vmdk_sparse *s, uint64_t i,
                       uint32_t k, uint32_t n, uint64_t sec)
{
    uint32_t *gt;
    int r = load_gt(bd, s, i, &gt);
    if (r < 0)
        return r;
    uint8_t le[4 * 64];
    for (uint32_t done = 0; done < n;) {
        uint32_t c = MIN(n - done, 64u);
        for (uint32_t j = 0; j < c; j++) {
            uint32_t e = (uint32_t)(sec + (uint64_t)(done + j) * (s->grain / VMDK_SECTOR));
            gt[k + done + j] = e;
            le_put(le + 4 * j, e, 4);
        }
        uint64_t at = (uint64_t)s->gd[i] * VMDK_SECTOR + (uint64_t)(k + done) * 4;
        if ((r = host_pwrite(s->file, at, le, 4 * c)) < 0)
            return io_err(bd, s, r, "write of grain table entries", at);
        if (s->rgd) {
            at = (uint64_t)s->rgd[i] * VMDK_SECTOR + (uint64_t)(k + done) * 4;
            if ((r = host_pwrite(s->file, at, le, 4 * c)) < 0)
                return io_err(bd, s, r, "write of redundant grain table entries", at);
        }
        done += c;
    }
    return 0;
}

int vmdk_sparse_write(struct block_dev *bd, struct vmdk_sparse *s, uint64_t off,
                      const void *buf, size_t len)
{
    if (s->sw)
        return vmdk_stream_write(bd, s, off, buf, len);
    if (!s->writable)
        return block_seterr(bd, -EROFS, "%s: the extent is open read-only", s->name);
    int r = mark_unclean(bd, s);
    if (r < 0)
        return r;
    const uint8_t *p = buf;
    while (len) {
        uint64_t g = off / s->grain, in = off % s->grain, i = g / s->gtes;
        size_t n = (size_t)MIN((uint64_t)len, s->grain - in);
        if (!s->gd[i] && (r = alloc_gt(bd, s, i)) < 0)
            return r;
        int64_t e = vmdk_sparse_entry(bd, s, g);
        if (e < 0)
            return (int)e;
        if (e) {
            uint64_t at = (uint64_t)e * VMDK_SECTOR + in;
            if ((r = host_pwrite(s->file, at, p, n)) < 0)
                return io_err(bd, s, r, "write", at);
            off += n; p += n; len -= n;
            continue;
        }
        /* new grains at the end of the file: whole ones straight from the
         * caller's buffer, a partial one padded with zeros */
        uint64_t sec = (s->file_size + VMDK_SECTOR - 1) / VMDK_SECTOR;
        uint32_t c = 1;
        if (!in && len >= s->grain) {
            while (c < len / s->grain && (g + c) % s->gtes) {
                int64_t e2 = vmdk_sparse_entry(bd, s, g + c);
                if (e2 < 0)
                    return (int)e2;
                if (e2)
                    break;
                c++;
            }
            n = (size_t)(c * s->grain);
        }
        uint64_t gsec = c * (s->grain / VMDK_SECTOR);
        if (sec + gsec > UINT32_MAX)
            return block_seterr(bd, -EFBIG, "%s: a new grain would lie past sector 2^32, "
                                "the most a grain table entry can name", s->name);
        uint64_t at = sec * VMDK_SECTOR;
        if (n == c * s->grain) {
            r = host_pwrite(s->file, at, p, n);
        } else {
            uint8_t *tmp = calloc(1, s->grain);
            if (!tmp)
                return block_seterr(bd, -ENOMEM, "%s: out of memory", s->name);
            memcpy(tmp + in, p, n);
            r = host_pwrite(s->file, at, tmp, s->grain);
            free(tmp);
        }
        if (r < 0)
            return io_err(bd, s, r, "write of a new grain", at);
        s->file_size = at + c * s->grain;
        if ((r = set_entries(bd, s, i, (uint32_t)(g % s->gtes), c, sec)) < 0)
            return r;
        off += n; p += n; len -= n;
    }
    return 0;
}

int vmdk_sparse_zero(struct block_dev *bd, struct vmdk_sparse *s, uint64_t off,
                     uint64_t len)
{
    if (!s->writable || s->sw)
        return block_seterr(bd, -EROFS, "%s: zeroing needs a writable monolithicSparse "
                            "extent", s->name);
    int r = mark_unclean(bd, s);
    while (r == 0 && len) {
        uint64_t in = off % s->grain, n = MIN(len, s->grain - in);
        int64_t e = vmdk_sparse_entry(bd, s, off / s->grain);
        if (e < 0)
            return (int)e;
        /* absent grains read zeros already; stored ones keep their place */
        if (e && (r = host_zero_range(s->file, (uint64_t)e * VMDK_SECTOR + in, n)) < 0)
            return io_err(bd, s, r, "zeroing", (uint64_t)e * VMDK_SECTOR + in);
        off += n; len -= n;
    }
    return r;
}

int vmdk_sparse_status(struct block_dev *bd, struct vmdk_sparse *s, uint64_t off,
                       uint64_t len, uint64_t *pnum)
{
    int first = -1;
    uint64_t done = 0;
    while (done < len) {
        const uint8_t *pending = NULL;
        uint64_t g = (off + done) / s->grain;
        int64_t e = s->sw ? vmdk_stream_entry(s, g, &pending) : vmdk_sparse_entry(bd, s, g);
        if (e < 0)
            return (int)e;
        int st = e || pending ? BLOCK_STATUS_DATA : BLOCK_STATUS_ZERO;
        if (first >= 0 && st != first)
            break;
        first = st;
        done += MIN(len - done, s->grain - (off + done) % s->grain);
    }
    *pnum = done;
    return first;
}
