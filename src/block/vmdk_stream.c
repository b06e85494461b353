/* block: VMDK streamOptimized extents ("Virtual Disk Format 1.1",
 * "Stream-Optimized Compressed Sparse Extents").
 *
 * Layout: the sparse extent header (flags bits 16 compressed grains and
 * 17 markers, compression 1 = deflate, version 3) with the grain
 * directory offset GD_AT_END (all ones), the embedded descriptor, then a
 * stream of 512-byte aligned items, each led by a marker:
 *  - a grain: its first sector (64-bit lba) and the byte count (32-bit)
 *    of the zlib stream that follows at once (in the marker's sector);
 *  - otherwise a whole marker sector: a 64-bit value (the sectors of
 *    metadata that follow), a 32-bit size of 0 and a 32-bit type: 1 a
 *    grain table, 2 the grain directory, 3 the footer, 0 (all zero) the
 *    end of stream.
 * The footer is a copy of the header whose grain directory offset is the
 * real one; it sits in the second-to-last sector, before the
 * end-of-stream marker.  Grain table entries name the sector of a
 * grain's marker.
 *
 * Writing, as qemu-img does it: append-only.  Grains arrive in increasing
 * order (a conversion); each is compressed and appended once whole (or
 * when the next grain starts, or at flush); all-zero grains are left out.
 * The grain tables, directory, footer and end-of-stream marker are
 * written after the last grain at every flush and at close, and the next
 * write appends over them.  Writing a grain again, or one behind the
 * last written, is refused (-EROFS, with a message): a streamOptimized
 * image is not rewritten in place. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "block/vmdk.h"
#include "util/util.h"

struct vmdk_stream {
    uint32_t *gt;             /* every grain's entry, host order */
    uint64_t end;             /* bytes: where the next item goes */
    uint64_t pend_g;          /* the grain buffered in pend, UINT64_MAX none */
    uint64_t next_g;          /* grains below are final */
    uint8_t *pend;
    uint8_t *zbuf;
    size_t zcap;
    z_stream z;               /* reset per grain: no state allocated each time */
    bool zinit;
    bool dirty;               /* written since the trailer was */
};

int vmdk_stream_load_grain(struct block_dev *bd, struct vmdk_sparse *s, uint32_t e,
                           uint64_t g)
{
    if (s->grain_e == e)
        return 0;
    s->grain_e = 0;
    uint64_t at = (uint64_t)e * VMDK_SECTOR;
    int r = host_pread(s->file, at, s->zin, VMDK_MARKER_LEN, false);
    if (r < 0)
        return block_seterr(bd, r, "%s: read of the grain marker at offset %llu: %s",
                            s->name, (unsigned long long)at, strerror(-r));
    uint64_t lba = le_get(s->zin, 8);
    uint32_t zlen = (uint32_t)le_get(s->zin + 8, 4);
    if (lba != g * (s->grain / VMDK_SECTOR) || zlen > 2 * s->grain + 1024 ||
        s->file_size - at - VMDK_MARKER_LEN < zlen)
        return block_seterr(bd, -EIO, "%s: grain marker at offset %llu: sector %llu, "
                            "%u bytes (expected sector %llu, a stream inside the file "
                            "of at most %llu bytes)", s->name, (unsigned long long)at,
                            (unsigned long long)lba, zlen,
                            (unsigned long long)(g * (s->grain / VMDK_SECTOR)),
                            (unsigned long long)(2 * s->grain + 1024));
    r = host_pread(s->file, at + VMDK_MARKER_LEN, s->zin + VMDK_MARKER_LEN, zlen, false);
    if (r < 0)
        return block_seterr(bd, r, "%s: read of a compressed grain at offset %llu: %s",
                            s->name, (unsigned long long)at, strerror(-r));
    uLongf out = (uLongf)s->grain;
    int zr = uncompress(s->grain_buf, &out, s->zin + VMDK_MARKER_LEN, zlen);
    if (zr != Z_OK)
        return block_seterr(bd, -EIO, "%s: the compressed grain at offset %llu does not "
                            "inflate to at most %llu bytes (zlib error %d)", s->name,
                            (unsigned long long)at, (unsigned long long)s->grain, zr);
    memset(s->grain_buf + out, 0, s->grain - out);
    s->grain_e = e;
    return 0;
}

void vmdk_stream_free(struct vmdk_sparse *s)
{
    if (!s->sw)
        return;
    if (s->sw->zinit)
        deflateEnd(&s->sw->z);
    free(s->sw->gt);
    free(s->sw->pend);
    free(s->sw->zbuf);
    free(s->sw);
    s->sw = NULL;
}

int vmdk_stream_start(struct vmdk_sparse *s, char *err, size_t elen)
{
    /* only an image without grains is written: every table entry 0 */
    uint32_t *gt = malloc((size_t)s->gtes * 4);
    if (!gt)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", s->name);
    for (uint32_t i = 0; i < s->ngd; i++) {
        if (!s->gd[i])
            continue;
        int r = host_pread(s->file, (uint64_t)s->gd[i] * VMDK_SECTOR, gt,
                           (size_t)s->gtes * 4, false);
        for (uint32_t k = 0; r == 0 && k < s->gtes; k++)
            if (gt[k])
                r = -EROFS;
        if (r < 0) {
            free(gt);
            return block_errbuf(err, elen, r == -EROFS ? r : -EIO, "%s: a "
                                "streamOptimized VMDK that holds data is not written "
                                "again (it is append-only, as with qemu-img): open it "
                                "read-only (or with snapshot=on), or convert it to "
                                "monolithicSparse to change it", s->name);
        }
    }
    free(gt);
    if (!s->overhead || s->overhead > s->file_size / VMDK_SECTOR)
        return block_errbuf(err, elen, -EINVAL, "%s: header field overhead: %llu sectors "
                            "(accepted: 1 to the file's %llu)", s->name,
                            (unsigned long long)s->overhead,
                            (unsigned long long)(s->file_size / VMDK_SECTOR));
    struct vmdk_stream *w = calloc(1, sizeof(*w));
    uint64_t n = (uint64_t)s->ngd * s->gtes;
    if (w) {
        w->zcap = compressBound((uLong)s->grain) + VMDK_SECTOR;
        w->gt = calloc(n ? n : 1, 4);
        w->pend = malloc(s->grain);
        w->zbuf = malloc(w->zcap);
    }
    s->sw = w;
    if (!w || !w->gt || !w->pend || !w->zbuf) {
        vmdk_stream_free(s);
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory for the grain "
                            "tables of %llu grains", s->name, (unsigned long long)n);
    }
    w->end = s->overhead * VMDK_SECTOR;
    w->pend_g = UINT64_MAX;
    w->dirty = true;          /* the trailer goes after the overhead */
    return 0;
}

uint32_t vmdk_stream_entry(struct vmdk_sparse *s, uint64_t g, const uint8_t **pending)
{
    *pending = g == s->sw->pend_g ? s->sw->pend : NULL;
    return s->sw->gt[g];
}

static bool all_zero(const uint8_t *p, size_t n)
{
    return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

/* Compress grain g from data (one grain) and append it with its marker;
 * an all-zero grain is left out. */
static int emit(struct block_dev *bd, struct vmdk_sparse *s, uint64_t g,
                const uint8_t *data)
{
    struct vmdk_stream *w = s->sw;
    if (all_zero(data, s->grain))
        return 0;
    /* a zlib stream (RFC 1950), as VMware and qemu write them */
    int zr = w->zinit ? deflateReset(&w->z) : deflateInit(&w->z, Z_DEFAULT_COMPRESSION);
    w->zinit |= zr == Z_OK;
    if (zr == Z_OK) {
        w->z.next_in = (Bytef *)data;
        w->z.avail_in = (uInt)s->grain;
        w->z.next_out = w->zbuf + VMDK_MARKER_LEN;
        w->z.avail_out = (uInt)(w->zcap - VMDK_MARKER_LEN);
        zr = deflate(&w->z, Z_FINISH) == Z_STREAM_END ? Z_OK : Z_BUF_ERROR;
    }
    uLong zl = w->z.total_out;
    if (zr != Z_OK)
        return block_seterr(bd, -EIO, "%s: compressing grain %llu: zlib error %d",
                            s->name, (unsigned long long)g, zr);
    le_put(w->zbuf, g * (s->grain / VMDK_SECTOR), 8);
    le_put(w->zbuf + 8, zl, 4);
    size_t total = (VMDK_MARKER_LEN + zl + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
    memset(w->zbuf + VMDK_MARKER_LEN + zl, 0, total - VMDK_MARKER_LEN - zl);
    if ((w->end + total) / VMDK_SECTOR > UINT32_MAX)
        return block_seterr(bd, -EFBIG, "%s: grain %llu would lie past sector 2^32, the "
                            "most a grain table entry can name", s->name,
                            (unsigned long long)g);
    int r = host_pwrite(s->file, w->end, w->zbuf, total);
    if (r < 0)
        return block_seterr(bd, r, "%s: write of a compressed grain at offset %llu: %s",
                            s->name, (unsigned long long)w->end, strerror(-r));
    w->gt[g] = (uint32_t)(w->end / VMDK_SECTOR);
    w->end += total;
    s->file_size = MAX(s->file_size, w->end);
    return 0;
}

static int emit_pending(struct block_dev *bd, struct vmdk_sparse *s)
{
    struct vmdk_stream *w = s->sw;
    if (w->pend_g == UINT64_MAX)
        return 0;
    int r = emit(bd, s, w->pend_g, w->pend);
    w->pend_g = UINT64_MAX;
    return r;
}

int vmdk_stream_write(struct block_dev *bd, struct vmdk_sparse *s, uint64_t off,
                      const void *buf, size_t len)
{
    struct vmdk_stream *w = s->sw;
    const uint8_t *p = buf;
    w->dirty = true;
    while (len) {
        uint64_t g = off / s->grain, in = off % s->grain;
        size_t n = (size_t)MIN((uint64_t)len, s->grain - in);
        bool last = off + n >= s->capacity;
        int r;
        if (g != w->pend_g && g < w->next_g)
            return block_seterr(bd, -EROFS, "%s: write at offset %llu: grain %llu of "
                                "this streamOptimized VMDK is written already; such an "
                                "image is written once, in increasing order (convert "
                                "to monolithicSparse for random writes)", s->name,
                                (unsigned long long)off, (unsigned long long)g);
        if (g != w->pend_g) {
            if ((r = emit_pending(bd, s)) < 0)
                return r;
            w->next_g = g + 1;
            if (!in && n == s->grain) {     /* whole: no copy */
                if ((r = emit(bd, s, g, p)) < 0)
                    return r;
                off += n; p += n; len -= n;
                continue;
            }
            memset(w->pend, 0, s->grain);
            w->pend_g = g;
        }
        memcpy(w->pend + in, p, n);
        if ((in + n == s->grain || last) && (r = emit_pending(bd, s)) < 0)
            return r;
        off += n; p += n; len -= n;
    }
    return 0;
}

static void marker(uint8_t *m, uint64_t val, uint32_t type)
{
    memset(m, 0, VMDK_SECTOR);
    le_put(m, val, 8);
    le_put(m + 12, type, 4);
}

int vmdk_stream_finish(struct block_dev *bd, struct vmdk_sparse *s)
{
    struct vmdk_stream *w = s->sw;
    if (!w->dirty)
        return 0;
    int r = emit_pending(bd, s);
    if (r < 0)
        return r;
    uint64_t tsec = ((uint64_t)s->gtes * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
    uint64_t gdsec = ((uint64_t)s->ngd * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
    uint64_t used = 0;
    for (uint32_t i = 0; i < s->ngd; i++)
        for (uint32_t k = 0; k < s->gtes; k++)
            if (w->gt[(uint64_t)i * s->gtes + k]) {
                used++;
                break;
            }
    size_t len = (size_t)((used * (1 + tsec) + 1 + gdsec + 3) * VMDK_SECTOR);
    uint8_t *t = calloc(1, len), *gd = NULL;
    if (!t)
        return block_seterr(bd, -ENOMEM, "%s: out of memory", s->name);
    uint64_t base = w->end / VMDK_SECTOR, at = 0;   /* at: sectors into t */
    if (base + len / VMDK_SECTOR > UINT32_MAX) {
        free(t);
        return block_seterr(bd, -EFBIG, "%s: the grain tables would lie past sector "
                            "2^32", s->name);
    }
    for (uint32_t i = 0; i < s->ngd; i++) {
        const uint32_t *src = w->gt + (uint64_t)i * s->gtes;
        uint32_t k;
        for (k = 0; k < s->gtes && !src[k]; k++)
            ;
        s->gd[i] = 0;
        if (k == s->gtes)
            continue;
        marker(t + at * VMDK_SECTOR, tsec, VMDK_MARKER_GT);
        for (k = 0; k < s->gtes; k++)
            le_put(t + (at + 1) * VMDK_SECTOR + k * 4, src[k], 4);
        s->gd[i] = (uint32_t)(base + at + 1);
        at += 1 + tsec;
    }
    marker(t + at * VMDK_SECTOR, gdsec, VMDK_MARKER_GD);
    uint64_t gd_at = base + at + 1;
    gd = t + (at + 1) * VMDK_SECTOR;
    for (uint32_t i = 0; i < s->ngd; i++)
        le_put(gd + i * 4, s->gd[i], 4);
    at += 1 + gdsec;
    marker(t + at * VMDK_SECTOR, 1, VMDK_MARKER_FOOTER);
    uint8_t *foot = t + (at + 1) * VMDK_SECTOR;
    memcpy(foot, s->hdr, VMDK_SECTOR);
    le_put(foot + VMDK_H_GD_OFF, gd_at, 8);
    at += 2;
    memset(t + at * VMDK_SECTOR, 0, VMDK_SECTOR);   /* end of stream */
    r = host_pwrite(s->file, w->end, t, len);
    free(t);
    if (r == 0 && ftruncate(s->file->fd, (off_t)(w->end + len)) < 0)
        r = -errno;
    if (r == 0 && le_get(s->hdr + VMDK_H_GD_OFF, 8) != VMDK_GD_AT_END) {
        /* a header that named a directory up front (as qemu-img creates
         * one) now sends readers to the footer */
        le_put(s->hdr + VMDK_H_GD_OFF, VMDK_GD_AT_END, 8);
        r = host_pwrite(s->file, 0, s->hdr, VMDK_SECTOR);
    }
    if (r == 0 && fdatasync(s->file->fd) < 0)
        r = -errno;
    if (r < 0)
        return block_seterr(bd, r, "%s: write of the grain tables, directory and footer "
                            "at offset %llu: %s", s->name, (unsigned long long)w->end,
                            strerror(-r));
    s->file_size = w->end + len;
    s->gd_sec = gd_at;
    w->dirty = false;
    return 0;
}
