/* block: the VMDK driver, monolithicSparse and streamOptimized images
 * read-only (VMware "Virtual Disk Format 1.1", "Hosted Sparse Extents",
 * "Stream-Optimized Compressed Sparse Extents").
 *
 * On-disk layout (every integer little-endian, offsets and sizes in
 * 512-byte sectors unless said otherwise):
 *  - 0: the sparse extent header: magic "KDMV", version (1 to 3), flags
 *    (bit 0: the newline test characters are valid, bit 1: a redundant
 *    grain directory exists, bit 2: a grain table entry of 1 means a
 *    zeroed grain, bit 16: grains are compressed, bit 17: the file holds
 *    markers), the capacity, the grain size (a power of two of at least 8
 *    sectors, 128 by default), the offset and size of the embedded
 *    descriptor, the number of entries per grain table (512), the offsets
 *    of the redundant and of the primary grain directory, the overhead
 *    (sectors before the first grain), an unclean-shutdown byte, the four
 *    newline test characters ('\n', ' ', '\r', '\n') and the compression
 *    algorithm.
 *  - The embedded descriptor: text lines "key=value" and extent lines;
 *    a monolithicSparse disk says createType="monolithicSparse", has one
 *    extent line "RW <sectors> SPARSE "<file>"" and parentCID=ffffffff
 *    (no parent).
 *  - The grain directory: one 32-bit entry per grain table, the sector
 *    of the table (0: absent).  Each grain table: one 32-bit entry per
 *    grain, the sector where the grain is stored, 0 when absent (reads
 *    zeros) or, with flag bit 2, 1 for a grain of zeros.
 *  - streamOptimized (flags bits 16 and 17, compression algorithm 1,
 *    deflate): a grain table entry points at a grain marker, the grain's
 *    first sector (64-bit) and the byte count (32-bit) of the zlib stream
 *    that follows; the header's grain directory offset may be all ones
 *    (GD_AT_END), the real one then being in the footer, a copy of the
 *    header in the second-to-last sector of the file.
 *
 * Descriptor files with separate extents and parent disks are refused
 * with a message; writing is not supported (images open read-only). */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "block/block_int.h"
#include "util/util.h"

#define VMDK_MAGIC        0x564d444bu   /* "KDMV" */
#define VMDK_SECTOR       512u
#define VMDK_FLAG_ZERO_GTE (1u << 2)
#define VMDK_FLAG_COMPRESSED (1u << 16)
#define VMDK_DESC_MAX     (64u << 10)   /* bytes of descriptor we read */

/* Header field offsets (bytes). */
#define VMDK_H_VERSION    4
#define VMDK_H_FLAGS      8
#define VMDK_H_CAPACITY   12
#define VMDK_H_GRAIN      20
#define VMDK_H_DESC_OFF   28
#define VMDK_H_DESC_SIZE  36
#define VMDK_H_GTES       44
#define VMDK_H_GD_OFF     56
#define VMDK_H_COMPRESS   77
#define VMDK_GD_AT_END    UINT64_MAX
#define VMDK_MARKER_LEN   12            /* grain marker: lba (8), size (4) */

struct vmdk_state {
    uint32_t flags;
    uint64_t grain;           /* bytes */
    uint32_t gtes;            /* entries per grain table */
    uint32_t ngd;             /* grain directory entries */
    uint32_t *gd;             /* host order */
    uint32_t *gt;             /* the grain table of gd entry gt_idx */
    uint64_t gt_idx;          /* UINT64_MAX: none loaded */
    uint64_t file_size;
    bool compressed;          /* streamOptimized */
    uint8_t *zin;             /* compressed grain as read (marker + data) */
    uint8_t *grain_buf;       /* the inflated grain whose entry is grain_e */
    uint32_t grain_e;         /* 0: none */
};

/* The value of `key="..."` or `key=...` on a line of the descriptor, into
 * out; false when absent. */
static bool desc_value(const char *desc, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    for (const char *l = desc; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        while (*l == ' ' || *l == '\t')
            l++;
        if (strncmp(l, key, kl))
            continue;
        const char *v = l + kl;
        while (*v == ' ')
            v++;
        if (*v++ != '=')
            continue;
        while (*v == ' ')
            v++;
        bool q = *v == '"';
        v += q;
        size_t k = 0;
        while (v[k] && v[k] != '\n' && v[k] != '\r' && !(q && v[k] == '"'))
            k++;
        if (k >= n)
            k = n - 1;
        memcpy(out, v, k);
        out[k] = 0;
        return true;
    }
    return false;
}

static int check_desc(struct block_dev *bd, const char *desc, uint64_t capacity,
                      bool compressed, char *err, size_t elen)
{
    const char *want = compressed ? "streamOptimized" : "monolithicSparse";
    const char *f = bd->filename;
    char v[128];
    if (!desc_value(desc, "createType", v, sizeof(v)))
        return block_errbuf(err, elen, -EINVAL, "%s: the embedded descriptor has no "
                            "createType", f);
    if (strcmp(v, want))
        return block_errbuf(err, elen, -ENOTSUP, "%s: descriptor createType \"%s\" "
                            "(accepted with these header flags: %s)", f, v, want);
    if (desc_value(desc, "parentCID", v, sizeof(v)) && strcasecmp(v, "ffffffff"))
        return block_errbuf(err, elen, -ENOTSUP, "%s: descriptor parentCID %s: a "
                            "VMDK with a parent disk, which is not supported", f, v);
    unsigned extents = 0;
    for (const char *l = desc; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        char access[16], type[16];
        unsigned long long sectors;
        if (sscanf(l, "%15s %llu %15s", access, &sectors, type) != 3 ||
            (strcmp(access, "RW") && strcmp(access, "RDONLY") && strcmp(access, "NOACCESS")))
            continue;
        extents++;
        if (strcmp(type, "SPARSE") || sectors != capacity)
            return block_errbuf(err, elen, -EINVAL, "%s: descriptor extent line: %s "
                                "extent of %llu sectors (accepted: one SPARSE extent "
                                "of the header's %llu sectors)", f, type, sectors,
                                (unsigned long long)capacity);
    }
    if (extents != 1)
        return block_errbuf(err, elen, -EINVAL, "%s: descriptor has %u extent lines "
                            "(accepted: 1)", f, extents);
    return 0;
}

int vmdk_open(struct block_dev *bd, char *err, size_t elen)
{
    const char *f = bd->filename;
    if (!bd->read_only)
        return block_errbuf(err, elen, -ENOTSUP, "%s: VMDK images are opened "
                            "read-only (readonly=on); convert to write", f);
    struct vmdk_state *s = calloc(1, sizeof(*s));
    char *desc = NULL;
    if (!s)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", f);
    s->gt_idx = UINT64_MAX;
    int r;
    off_t end = lseek(bd->file.fd, 0, SEEK_END);
    uint8_t h[512];
    if (end < 0 || (r = host_pread(&bd->file, 0, h, sizeof(h), true)) < 0) {
        r = block_errbuf(err, elen, -EIO, "%s: cannot read the header", f);
        goto fail;
    }
    s->file_size = (uint64_t)end;
    uint32_t ver = (uint32_t)le_get(h + VMDK_H_VERSION, 4);
    s->flags = (uint32_t)le_get(h + VMDK_H_FLAGS, 4);
    uint64_t cap = le_get(h + VMDK_H_CAPACITY, 8);
    uint64_t grain = le_get(h + VMDK_H_GRAIN, 8);
    uint64_t doff = le_get(h + VMDK_H_DESC_OFF, 8), dsize = le_get(h + VMDK_H_DESC_SIZE, 8);
    s->gtes = (uint32_t)le_get(h + VMDK_H_GTES, 4);
    uint64_t gd = le_get(h + VMDK_H_GD_OFF, 8);
    s->compressed = s->flags & VMDK_FLAG_COMPRESSED;
    if (s->compressed && gd == VMDK_GD_AT_END && s->file_size >= 1024) {
        /* the real grain directory offset is in the footer */
        uint8_t foot[512];
        r = host_pread(&bd->file, s->file_size - 1024, foot, sizeof(foot), false);
        if (r < 0 || le_get(foot, 4) != VMDK_MAGIC) {
            r = block_errbuf(err, elen, -EINVAL, "%s: header field gd offset is "
                             "GD_AT_END, but the footer at offset %llu is no "
                             "\"KDMV\" header", f,
                             (unsigned long long)(s->file_size - 1024));
            goto fail;
        }
        gd = le_get(foot + VMDK_H_GD_OFF, 8);
    }
    r = -EINVAL;
    if (le_get(h, 4) != VMDK_MAGIC)
        r = block_errbuf(err, elen, r, "%s: header field magic: not \"KDMV\"", f);
    else if (ver < 1 || ver > 3)
        r = block_errbuf(err, elen, -ENOTSUP, "%s: header field version: %u "
                         "(accepted: 1 to 3)", f, ver);
    else if (s->compressed && le_get(h + VMDK_H_COMPRESS, 2) != 1)
        r = block_errbuf(err, elen, -ENOTSUP, "%s: header field compress algorithm: "
                         "%u (accepted: 1, deflate)", f,
                         (unsigned)le_get(h + VMDK_H_COMPRESS, 2));
    else if (grain < 8 || grain > (1u << 16) || (grain & (grain - 1)))
        r = block_errbuf(err, elen, r, "%s: header field grain size: %llu sectors "
                         "(accepted: a power of two from 8 to 65536)", f,
                         (unsigned long long)grain);
    else if (s->gtes < 1 || s->gtes > (1u << 16))
        r = block_errbuf(err, elen, r, "%s: header field num GTEs per GT: %u "
                         "(accepted: 1 to 65536)", f, s->gtes);
    else if (cap > (UINT64_MAX / VMDK_SECTOR) || cap * VMDK_SECTOR > (1ull << 62))
        r = block_errbuf(err, elen, r, "%s: header field capacity: %llu sectors, "
                         "more than 2^62 bytes", f, (unsigned long long)cap);
    else if (!dsize || dsize > VMDK_DESC_MAX / VMDK_SECTOR || doff > s->file_size / VMDK_SECTOR ||
             (doff + dsize) * VMDK_SECTOR > s->file_size)
        r = block_errbuf(err, elen, r, "%s: header fields descriptor offset/size: "
                         "%llu+%llu sectors (accepted: 1 to %u sectors inside the "
                         "file)", f, (unsigned long long)doff, (unsigned long long)dsize,
                         VMDK_DESC_MAX / VMDK_SECTOR);
    else
        r = 0;
    if (r < 0)
        goto fail;
    s->grain = grain * VMDK_SECTOR;
    uint64_t span = s->grain * s->gtes;      /* bytes one grain table covers */
    uint64_t ngd = (cap * VMDK_SECTOR + span - 1) / span;
    if (gd > s->file_size / VMDK_SECTOR || ngd * 4 > s->file_size - gd * VMDK_SECTOR) {
        r = block_errbuf(err, elen, -EINVAL, "%s: header field gd offset: the grain "
                         "directory (%llu entries at sector %llu) runs past the end of "
                         "the file (%llu bytes)", f, (unsigned long long)ngd,
                         (unsigned long long)gd, (unsigned long long)s->file_size);
        goto fail;
    }
    desc = calloc(1, dsize * VMDK_SECTOR + 1);
    s->ngd = (uint32_t)ngd;
    s->gd = malloc(ngd * 4 + 4);
    s->gt = malloc((size_t)s->gtes * 4);
    if (s->compressed) {
        s->zin = malloc(VMDK_MARKER_LEN + 2 * s->grain + 1024);
        s->grain_buf = malloc(s->grain);
    }
    if (!desc || !s->gd || !s->gt || (s->compressed && (!s->zin || !s->grain_buf))) {
        r = block_errbuf(err, elen, -ENOMEM, "%s: out of memory", f);
        goto fail;
    }
    if ((r = host_pread(&bd->file, doff * VMDK_SECTOR, desc, dsize * VMDK_SECTOR, false)) < 0 ||
        (r = host_pread(&bd->file, gd * VMDK_SECTOR, s->gd, ngd * 4, false)) < 0) {
        block_errbuf(err, elen, r, "%s: read of the descriptor or grain directory: %s",
                     f, strerror(-r));
        goto fail;
    }
    if ((r = check_desc(bd, desc, cap, s->compressed, err, elen)) < 0)
        goto fail;
    for (uint32_t i = 0; i < s->ngd; i++) {
        s->gd[i] = (uint32_t)le_get((const uint8_t *)&s->gd[i], 4);
        uint64_t at = (uint64_t)s->gd[i] * VMDK_SECTOR;
        if (s->gd[i] && (at > s->file_size || s->file_size - at < (uint64_t)s->gtes * 4)) {
            r = block_errbuf(err, elen, -EINVAL, "%s: grain directory entry %u: the "
                             "grain table at sector %u runs past the end of the file",
                             f, i, s->gd[i]);
            goto fail;
        }
    }
    free(desc);
    bd->size = cap * VMDK_SECTOR;
    bd->opaque = s;
    return 0;
fail:
    free(desc);
    free(s->gd);
    free(s->gt);
    free(s->zin);
    free(s->grain_buf);
    free(s);
    return r;
}

static void vmdk_close(struct block_dev *bd)
{
    struct vmdk_state *s = bd->opaque;
    free(s->gd);
    free(s->gt);
    free(s->zin);
    free(s->grain_buf);
    free(s);
}

/* Load the grain table of grain directory entry i (allocated), checking
 * every entry: 0, 1 (zeroed, with the flag) or a grain inside the file. */
static int load_gt(struct block_dev *bd, struct vmdk_state *s, uint64_t i)
{
    if (s->gt_idx == i)
        return 0;
    s->gt_idx = UINT64_MAX;
    uint64_t at = (uint64_t)s->gd[i] * VMDK_SECTOR;
    int r = host_pread(&bd->file, at, s->gt, (size_t)s->gtes * 4, false);
    if (r < 0)
        return block_seterr(bd, r, "%s: read of grain table %llu at offset %llu: %s",
                            bd->filename, (unsigned long long)i,
                            (unsigned long long)at, strerror(-r));
    for (uint32_t k = 0; k < s->gtes; k++) {
        uint32_t e = s->gt[k] = (uint32_t)le_get((const uint8_t *)&s->gt[k], 4);
        uint64_t g = (uint64_t)e * VMDK_SECTOR;
        bool zero = e == 1 && (s->flags & VMDK_FLAG_ZERO_GTE);
        /* a compressed grain is at least its marker */
        uint64_t need = s->compressed ? VMDK_MARKER_LEN : s->grain;
        if (e && !zero && (g > s->file_size || s->file_size - g < need))
            return block_seterr(bd, -EIO, "%s: grain table %llu entry %u: the grain "
                                "at sector %u runs past the end of the file (%llu "
                                "bytes)", bd->filename, (unsigned long long)i, k, e,
                                (unsigned long long)s->file_size);
    }
    s->gt_idx = i;
    return 0;
}

/* The grain entry of byte `off` (0: reads zeros), or -errno. */
static int64_t grain_of(struct block_dev *bd, struct vmdk_state *s, uint64_t off)
{
    uint64_t g = off / s->grain, i = g / s->gtes;
    if (!s->gd[i])
        return 0;
    int r = load_gt(bd, s, i);
    if (r < 0)
        return r;
    uint32_t e = s->gt[g % s->gtes];
    return e == 1 && (s->flags & VMDK_FLAG_ZERO_GTE) ? 0 : e;
}

/* Inflate the compressed grain at entry e (grain number g) into
 * s->grain_buf: its marker must name the grain's sector and its stream
 * lie inside the file and inflate to at most one grain. */
static int load_grain(struct block_dev *bd, struct vmdk_state *s, uint32_t e,
                      uint64_t g)
{
    if (s->grain_e == e)
        return 0;
    s->grain_e = 0;
    uint64_t at = (uint64_t)e * VMDK_SECTOR;
    int r = host_pread(&bd->file, at, s->zin, VMDK_MARKER_LEN, false);
    if (r < 0)
        return block_seterr(bd, r, "%s: read of the grain marker at offset %llu: %s",
                            bd->filename, (unsigned long long)at, strerror(-r));
    uint64_t lba = le_get(s->zin, 8);
    uint32_t zlen = (uint32_t)le_get(s->zin + 8, 4);
    if (lba != g * (s->grain / VMDK_SECTOR) || zlen > 2 * s->grain + 1024 ||
        s->file_size - at - VMDK_MARKER_LEN < zlen)
        return block_seterr(bd, -EIO, "%s: grain marker at offset %llu: sector %llu, "
                            "%u bytes (expected sector %llu, a stream inside the file "
                            "of at most %llu bytes)", bd->filename,
                            (unsigned long long)at, (unsigned long long)lba, zlen,
                            (unsigned long long)(g * (s->grain / VMDK_SECTOR)),
                            (unsigned long long)(2 * s->grain + 1024));
    r = host_pread(&bd->file, at + VMDK_MARKER_LEN, s->zin + VMDK_MARKER_LEN, zlen, false);
    if (r < 0)
        return block_seterr(bd, r, "%s: read of a compressed grain at offset %llu: %s",
                            bd->filename, (unsigned long long)at, strerror(-r));
    uLongf out = (uLongf)s->grain;
    int zr = uncompress(s->grain_buf, &out, s->zin + VMDK_MARKER_LEN, zlen);
    if (zr != Z_OK)
        return block_seterr(bd, -EIO, "%s: the compressed grain at offset %llu does "
                            "not inflate to at most %llu bytes (zlib error %d)",
                            bd->filename, (unsigned long long)at,
                            (unsigned long long)s->grain, zr);
    memset(s->grain_buf + out, 0, s->grain - out);
    s->grain_e = e;
    return 0;
}

static int vmdk_pread(struct block_dev *bd, uint64_t off, void *buf, size_t len)
{
    struct vmdk_state *s = bd->opaque;
    uint8_t *p = buf;
    while (len) {
        uint64_t in = off % s->grain;
        size_t n = (size_t)MIN((uint64_t)len, s->grain - in);
        int64_t e = grain_of(bd, s, off);
        if (e < 0)
            return (int)e;
        if (!e) {
            memset(p, 0, n);
        } else if (s->compressed) {
            int r = load_grain(bd, s, (uint32_t)e, off / s->grain);
            if (r < 0)
                return r;
            memcpy(p, s->grain_buf + in, n);
        } else {
            uint64_t at = (uint64_t)e * VMDK_SECTOR + in;
            int r = host_pread(&bd->file, at, p, n, false);
            if (r < 0)
                return block_seterr(bd, r, "%s: read at offset %llu: %s", bd->filename,
                                    (unsigned long long)at, strerror(-r));
        }
        off += n; p += n; len -= n;
    }
    return 0;
}

static int vmdk_status(struct block_dev *bd, uint64_t off, uint64_t len,
                       uint64_t *pnum)
{
    struct vmdk_state *s = bd->opaque;
    int first = -1;
    uint64_t done = 0;
    while (done < len) {
        int64_t e = grain_of(bd, s, off + done);
        if (e < 0)
            return (int)e;
        int st = e ? BLOCK_STATUS_DATA : BLOCK_STATUS_ZERO;
        if (first >= 0 && st != first)
            break;
        first = st;
        done += MIN(len - done, s->grain - (off + done) % s->grain);
    }
    *pnum = done;
    return first;
}

static int vmdk_ro(struct block_dev *bd)
{
    return block_seterr(bd, -EROFS, "%s: VMDK images are read-only", bd->filename);
}

static int vmdk_pwrite(struct block_dev *bd, uint64_t off, const void *buf, size_t len)
{
    (void)off; (void)buf; (void)len;
    return vmdk_ro(bd);
}

static int vmdk_zero(struct block_dev *bd, uint64_t off, uint64_t len)
{
    (void)off; (void)len;
    return vmdk_ro(bd);
}

static int vmdk_flush(struct block_dev *bd)
{
    (void)bd;
    return 0;
}

static int vmdk_truncate(struct block_dev *bd, uint64_t size)
{
    (void)size;
    return vmdk_ro(bd);
}

static int vmdk_info(struct block_dev *bd, struct block_info *info)
{
    struct vmdk_state *s = bd->opaque;
    info->cluster_size = (uint32_t)s->grain;
    return 0;
}

/* Every grain table is loaded (and so checked); a bad one is a
 * corruption. */
static int vmdk_check(struct block_dev *bd, bool repair,
                      struct block_check_result *res, FILE *report)
{
    struct vmdk_state *s = bd->opaque;
    memset(res, 0, sizeof(*res));
    if (repair)
        return block_seterr(bd, -ENOTSUP, "%s: vessel img check cannot repair a "
                            "VMDK", bd->filename);
    for (uint32_t i = 0; i < s->ngd; i++) {
        if (!s->gd[i])
            continue;
        if (load_gt(bd, s, i) < 0) {
            res->corruptions++;
            if (report)
                fprintf(report, "ERROR %s\n", bd->err);
            continue;
        }
        for (uint32_t k = 0; k < s->gtes; k++)
            res->allocated_clusters += s->gt[k] > 1 ||
                                       (s->gt[k] == 1 && !(s->flags & VMDK_FLAG_ZERO_GTE));
    }
    res->total_clusters = (bd->size + s->grain - 1) / s->grain;
    res->image_end_offset = s->file_size;
    return 0;
}

const struct block_driver block_vmdk_driver = {
    .fmt = BLOCK_FMT_VMDK,
    .pread = vmdk_pread,
    .pwrite = vmdk_pwrite,
    .discard = vmdk_zero,
    .write_zeroes = vmdk_zero,
    .flush = vmdk_flush,
    .status = vmdk_status,
    .truncate = vmdk_truncate,
    .close = vmdk_close,
    .info = vmdk_info,
    .check = vmdk_check,
};
