/* qcow2: guest cluster mapping through the L1 and L2 tables; reads,
 * allocating and copy-on-write writes, discard and write-zeroes
 * (qcow2.txt "Cluster mapping", "Compressed Clusters Descriptor").
 *
 * Write ordering: data cluster written before the L2 entry that points to
 * it; a new L2 table written before the L1 entry; the old cluster's
 * refcount dropped only after the L2 entry no longer points to it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "block/qcow2.h"
#include "util/util.h"

enum zmode { Z_DISCARD, Z_ZEROES, Z_UNMAP };

void qcow2_compressed_span(const struct qcow2 *s, uint64_t entry,
                           uint64_t *off, uint64_t *len)
{
    uint64_t o = entry & s->coffset_mask;
    uint64_t nsec = ((entry >> s->csize_shift) & s->csize_mask) + 1;
    *off = o & ~511ull;
    *len = nsec * 512;
}

/* Validate an L2 entry read from the image; 0 if usable. */
int qcow2_l2_entry_valid(struct qcow2 *s, uint64_t e)
{
    if (e & QCOW2_COMPRESSED) {
        uint64_t off, len;
        qcow2_compressed_span(s, e, &off, &len);
        if (e & QCOW2_COPIED || off < s->cluster_size || off >= s->host_size)
            return block_seterr(s->bd, -EIO, "%s: compressed cluster "
                                "descriptor 0x%llx points outside the file "
                                "or into the header", s->file,
                                (unsigned long long)e);
        return 0;
    }
    uint64_t off = e & QCOW2_OFFSET_MASK;
    if (e & QCOW2_L2_RESERVED)
        return block_seterr(s->bd, -EIO, "%s: L2 entry 0x%llx has reserved "
                            "bits set", s->file, (unsigned long long)e);
    if ((e & QCOW2_ZERO) && s->version < 3)
        return block_seterr(s->bd, -EIO, "%s: L2 entry 0x%llx is a zero "
                            "cluster in a version 2 image", s->file,
                            (unsigned long long)e);
    /* Offset 0 is an unallocated (or zero) cluster; a COPIED bit on it
     * would name offset 0 of an external data file, which this image
     * cannot have (the data-file feature is refused at open), so the bit
     * means nothing, as for qemu: reads and writes treat the entry as
     * unallocated and check accepts it. */
    if (!off)
        return 0;
    if (off >= s->host_size || qcow2_overlaps_fixed(s, off, s->cluster_size))
        return block_seterr(s->bd, -EIO, "%s: L2 entry 0x%llx points to "
                            "host offset 0x%llx, outside the file (%llu "
                            "bytes) or into the header/L1/refcount/snapshot "
                            "table", s->file, (unsigned long long)e,
                            (unsigned long long)off,
                            (unsigned long long)s->host_size);
    return 0;
}

static int get_l2(struct qcow2 *s, uint32_t l1i, uint8_t **tbl,
                  uint64_t *l2off)
{
    uint64_t l1e = s->l1[l1i];
    if (l1e & QCOW2_L1_RESERVED)
        return block_seterr(s->bd, -EIO, "%s: L1 entry %u (0x%llx) has "
                            "reserved bits set", s->file, l1i,
                            (unsigned long long)l1e);
    *l2off = l1e & QCOW2_OFFSET_MASK;
    if (!*l2off) {
        *tbl = NULL;
        return 0;
    }
    int r = qcow2_validate_meta(s, *l2off, "L2 table");
    if (r < 0)
        return r;
    return qcow2_cache_get(s, &s->l2c, *l2off, tbl, false);
}

static int lookup(struct qcow2 *s, uint64_t voff, uint64_t *entry)
{
    uint64_t ci = voff >> s->cluster_bits;
    uint64_t l1i = ci / s->l2_entries;
    *entry = 0;
    if (l1i >= s->l1_size)
        return 0;
    uint8_t *tbl;
    uint64_t l2off;
    int r = get_l2(s, (uint32_t)l1i, &tbl, &l2off);
    if (r < 0 || !tbl)
        return r;
    *entry = be64_get(tbl + (ci % s->l2_entries) * 8);
    return qcow2_l2_entry_valid(s, *entry);
}

int qcow2_write_l1_entry(struct qcow2 *s, uint32_t i)
{
    uint8_t b[8];
    be64_put(b, s->l1[i]);
    int r = qcow2_overlap_check(s, s->l1_offset + (uint64_t)i * 8, 8,
                                QCOW2_OL(QCOW2_META_L1), QCOW2_NO_GUEST,
                                "an L1 table entry");
    if (r < 0)
        return r;
    r = host_pwrite(s->hf, s->l1_offset + (uint64_t)i * 8, b, 8);
    if (r < 0)
        return block_seterr(s->bd, r, "%s: writing L1 entry %u: %s",
                            s->file, i, strerror(-r));
    return 0;
}

static int decompress(struct qcow2 *s, uint64_t entry)
{
    if (s->cdesc == entry)
        return 0;
    s->cdesc = 0;
    uint64_t o = entry & s->coffset_mask;
    uint64_t nsec = ((entry >> s->csize_shift) & s->csize_mask) + 1;
    uint64_t len = nsec * 512 - (o & 511);
    int r = host_pread(s->hf, o, s->cin, len, true);
    if (r < 0)
        return block_seterr(s->bd, r, "%s: reading compressed cluster at "
                            "0x%llx: %s", s->file, (unsigned long long)o,
                            strerror(-r));
    bool ok = false;
    if (s->compression_type == 0) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        if (inflateInit2(&z, -12) != Z_OK)
            return -ENOMEM;
        z.next_in = s->cin;
        z.avail_in = (uInt)len;
        z.next_out = s->cbuf;
        z.avail_out = (uInt)s->cluster_size;
        int zr = inflate(&z, Z_FINISH);
        ok = (zr == Z_STREAM_END || zr == Z_BUF_ERROR || zr == Z_OK) &&
             z.avail_out == 0;
        inflateEnd(&z);
    } else {
        if (!s->zstd_dctx && !(s->zstd_dctx = ZSTD_createDCtx()))
            return -ENOMEM;
        ZSTD_DCtx_reset(s->zstd_dctx, ZSTD_reset_session_only);
        ZSTD_inBuffer in = { s->cin, len, 0 };
        ZSTD_outBuffer out = { s->cbuf, s->cluster_size, 0 };
        while (out.pos < out.size) {
            size_t zr = ZSTD_decompressStream(s->zstd_dctx, &out, &in);
            if (ZSTD_isError(zr) || (in.pos == in.size && out.pos < out.size
                                     && zr != 0 && in.pos == len))
                break;
            if (zr == 0 && out.pos < out.size)
                break;
        }
        ok = out.pos == out.size;
    }
    if (!ok)
        return block_seterr(s->bd, -EIO, "%s: compressed cluster at 0x%llx "
                            "(%s) does not decompress to one cluster",
                            s->file, (unsigned long long)o,
                            s->compression_type ? "zstd" : "zlib");
    s->cdesc = entry;
    return 0;
}

/* Read bytes [inoff, inoff+n) of the guest cluster at cluster-aligned
 * virtual offset cvoff, whose L2 entry is `entry`. */
static int read_entry(struct qcow2 *s, uint64_t cvoff, uint64_t entry,
                      uint64_t inoff, uint8_t *dst, size_t n)
{
    if (entry & QCOW2_COMPRESSED) {
        int r = decompress(s, entry);
        if (r < 0)
            return r;
        memcpy(dst, s->cbuf + inoff, n);
        return 0;
    }
    if (entry & QCOW2_ZERO) {
        memset(dst, 0, n);
        return 0;
    }
    uint64_t off = entry & QCOW2_OFFSET_MASK;
    if (!off)
        return block_read_backing(s->bd, cvoff + inoff, dst, n);
    int r = host_pread(s->hf, off + inoff, dst, n, true);
    if (r < 0)
        return block_seterr(s->bd, r, "%s: reading data cluster at 0x%llx: "
                            "%s", s->file, (unsigned long long)off,
                            strerror(-r));
    return 0;
}

int qcow2_read(struct block_dev *bd, uint64_t off, void *buf, size_t len)
{
    struct qcow2 *s = bd->opaque;
    uint8_t *p = buf;
    while (len) {
        uint64_t inoff = off & (s->cluster_size - 1);
        size_t n = (size_t)MIN((uint64_t)len, s->cluster_size - inoff);
        uint64_t entry;
        int r = lookup(s, off, &entry);
        if (r < 0)
            return r;
        uint64_t hoff = entry & QCOW2_OFFSET_MASK;
        if (!(entry & (QCOW2_COMPRESSED | QCOW2_ZERO)) && hoff) {
            /* Merge host-contiguous data clusters into one read. */
            while (n < len) {
                uint64_t next;
                uint64_t nv = off + n;
                if (lookup(s, nv, &next) < 0 ||
                    (next & (QCOW2_COMPRESSED | QCOW2_ZERO)) ||
                    (next & QCOW2_OFFSET_MASK) != hoff + inoff + n)
                    break;
                n += (size_t)MIN((uint64_t)(len - n), s->cluster_size);
            }
        }
        r = read_entry(s, off - inoff, entry, inoff, p, n);
        if (r < 0)
            return r;
        p += n; off += n; len -= n;
    }
    return 0;
}

/* The L2 table for l1i, allocated and with refcount 1 (copied if it is
 * shared with a snapshot); voff is the guest offset being written. */
static int get_l2_writable(struct qcow2 *s, uint32_t l1i, uint64_t voff,
                           uint8_t **tbl, uint64_t *l2off)
{
    int r = get_l2(s, l1i, tbl, l2off);
    if (r < 0)
        return r;
    uint64_t old = *l2off;
    if (old && (s->l1[l1i] & QCOW2_COPIED))
        return 0;
    if (old) {
        uint64_t rc;
        r = qcow2_get_refcount(s, old >> s->cluster_bits, &rc);
        if (r < 0)
            return r;
        if (rc == 1) {
            s->l1[l1i] |= QCOW2_COPIED;
            return qcow2_write_l1_entry(s, l1i);
        }
    }
    uint8_t *copy = malloc(s->cluster_size);
    if (!copy)
        return -ENOMEM;
    if (old)
        memcpy(copy, *tbl, s->cluster_size);
    else
        memset(copy, 0, s->cluster_size);
    int64_t n = qcow2_alloc_clusters(s, 1, "a new L2 table", voff);
    if (n < 0) {
        free(copy);
        return (int)n;
    }
    r = host_pwrite(s->hf, (uint64_t)n, copy, s->cluster_size);
    if (r < 0) {
        free(copy);
        return block_seterr(s->bd, r, "%s: writing L2 table: %s", s->file,
                            strerror(-r));
    }
    if ((uint64_t)n + s->cluster_size > s->host_size)
        s->host_size = (uint64_t)n + s->cluster_size;
    r = qcow2_overlap_add(s, QCOW2_META_L2, (uint64_t)n);
    if (r < 0) {
        free(copy);
        return r;
    }
    uint64_t prev = s->l1[l1i];
    s->l1[l1i] = (uint64_t)n | QCOW2_COPIED;
    r = qcow2_write_l1_entry(s, l1i);
    if (r < 0) {
        s->l1[l1i] = prev;
        qcow2_overlap_del(s, QCOW2_META_L2, (uint64_t)n);
    } else if (old) {
        qcow2_overlap_del(s, QCOW2_META_L2, old);
        r = qcow2_free_clusters(s, old, s->cluster_size);
    }
    if (r == 0) {
        uint8_t *t;
        r = qcow2_cache_get(s, &s->l2c, (uint64_t)n, &t, true);
        if (r == 0) {
            memcpy(t, copy, s->cluster_size);
            *tbl = t;
            *l2off = (uint64_t)n;
        }
    }
    free(copy);
    return r;
}

static int set_l2_entry(struct qcow2 *s, uint64_t l2off, uint8_t *tbl,
                        uint64_t l2i, uint64_t e)
{
    int r = qcow2_overlap_check(s, l2off, s->cluster_size,
                                QCOW2_OL(QCOW2_META_L2), QCOW2_NO_GUEST,
                                "an L2 table entry");
    if (r < 0)
        return r;
    be64_put(tbl + l2i * 8, e);
    r = host_pwrite(s->hf, l2off + l2i * 8, tbl + l2i * 8, 8);
    if (r < 0) {
        qcow2_cache_drop(&s->l2c, l2off);
        return block_seterr(s->bd, r, "%s: writing L2 entry: %s", s->file,
                            strerror(-r));
    }
    return 0;
}

/* Write n bytes at voff, all inside one guest cluster. */
static int write_piece(struct qcow2 *s, uint64_t voff, const uint8_t *buf,
                       size_t n)
{
    uint64_t cs = s->cluster_size;
    uint64_t ci = voff >> s->cluster_bits, inoff = voff & (cs - 1);
    uint32_t l1i = (uint32_t)(ci / s->l2_entries);
    uint64_t l2i = ci % s->l2_entries;
    if (l1i >= s->l1_size)
        return block_seterr(s->bd, -EIO, "%s: write beyond the L1 table",
                            s->file);
    uint8_t *tbl;
    uint64_t l2off;
    int r = get_l2_writable(s, l1i, voff, &tbl, &l2off);
    if (r < 0)
        return r;
    uint64_t e = be64_get(tbl + l2i * 8);
    r = qcow2_l2_entry_valid(s, e);
    if (r < 0)
        return r;
    uint64_t hoff = e & QCOW2_OFFSET_MASK;
    if (!(e & (QCOW2_COMPRESSED | QCOW2_ZERO)) && (e & QCOW2_COPIED) && hoff) {
        r = qcow2_overlap_check(s, hoff + inoff, n, 0, voff, "guest data");
        if (r < 0)
            return r;
        r = host_pwrite(s->hf, hoff + inoff, buf, n);
        if (r < 0)
            return block_seterr(s->bd, r, "%s: writing data at 0x%llx: %s",
                                s->file, (unsigned long long)hoff,
                                strerror(-r));
        return 0;
    }
    const uint8_t *data = buf;
    if (n != cs) {
        r = read_entry(s, voff - inoff, e, 0, s->tmp, cs);
        if (r < 0)
            return r;
        memcpy(s->tmp + inoff, buf, n);
        data = s->tmp;
    }
    int64_t nc = qcow2_alloc_clusters(s, 1, "a new data cluster",
                                      voff - inoff);
    if (nc < 0)
        return (int)nc;
    r = host_pwrite(s->hf, (uint64_t)nc, data, cs);
    if (r < 0)
        return block_seterr(s->bd, r, "%s: writing data cluster: %s",
                            s->file, strerror(-r));
    if ((uint64_t)nc + cs > s->host_size)
        s->host_size = (uint64_t)nc + cs;
    /* The table may have been evicted while allocating. */
    r = qcow2_cache_get(s, &s->l2c, l2off, &tbl, false);
    if (r < 0)
        return r;
    r = set_l2_entry(s, l2off, tbl, l2i, (uint64_t)nc | QCOW2_COPIED);
    if (r < 0)
        return r;
    if (e == s->cdesc)
        s->cdesc = 0;
    return qcow2_free_l2_entry(s, e);
}

/* Write whole clusters at the cluster-aligned voff into a run of
 * unallocated entries of one L2 table (a sequential write into an empty
 * range, as convert does) with one allocation: one refcount write per
 * refcount block, one data write, one L2 write, in the order write_piece
 * keeps per cluster.  *done is the bytes written: 0 when the first two
 * clusters are not both unallocated (the caller goes cluster by cluster). */
static int write_run(struct qcow2 *s, uint64_t voff, const uint8_t *buf,
                     size_t len, size_t *done)
{
    uint64_t cs = s->cluster_size;
    uint64_t ci = voff >> s->cluster_bits;
    uint32_t l1i = (uint32_t)(ci / s->l2_entries);
    uint64_t l2i = ci % s->l2_entries;
    uint64_t max = MIN((uint64_t)len >> s->cluster_bits, s->l2_entries - l2i);
    *done = 0;
    if (max < 2 || l1i >= s->l1_size)
        return 0;
    uint8_t *tbl;
    uint64_t l2off;
    int r = get_l2_writable(s, l1i, voff, &tbl, &l2off);
    if (r < 0)
        return r;
    uint64_t k = 0;
    while (k < max && be64_get(tbl + (l2i + k) * 8) == 0)
        k++;
    if (k < 2)
        return 0;
    int64_t nc = qcow2_alloc_clusters(s, k, "new data clusters", voff);
    if (nc < 0)
        return (int)nc;
    r = host_pwrite(s->hf, (uint64_t)nc, buf, (size_t)(k * cs));
    if (r < 0)
        return block_seterr(s->bd, r, "%s: writing data clusters: %s",
                            s->file, strerror(-r));
    if ((uint64_t)nc + k * cs > s->host_size)
        s->host_size = (uint64_t)nc + k * cs;
    r = qcow2_cache_get(s, &s->l2c, l2off, &tbl, false);
    if (r == 0)
        r = qcow2_overlap_check(s, l2off, cs, QCOW2_OL(QCOW2_META_L2),
                                QCOW2_NO_GUEST, "L2 table entries");
    if (r < 0)
        return r;
    for (uint64_t i = 0; i < k; i++)
        be64_put(tbl + (l2i + i) * 8, ((uint64_t)nc + i * cs) | QCOW2_COPIED);
    r = host_pwrite(s->hf, l2off + l2i * 8, tbl + l2i * 8, (size_t)(k * 8));
    if (r < 0) {
        qcow2_cache_drop(&s->l2c, l2off);
        return block_seterr(s->bd, r, "%s: writing L2 entries: %s", s->file,
                            strerror(-r));
    }
    *done = (size_t)(k * cs);
    return 0;
}

int qcow2_write(struct block_dev *bd, uint64_t off, const void *buf,
                size_t len)
{
    struct qcow2 *s = bd->opaque;
    const uint8_t *p = buf;
    int r = qcow2_check_writable(s);
    if (r < 0)
        return r;
    while (len) {
        uint64_t inoff = off & (s->cluster_size - 1);
        size_t n = 0;
        if (!inoff) {
            r = write_run(s, off, p, len, &n);
            if (r < 0)
                return r;
        }
        if (!n) {
            n = (size_t)MIN((uint64_t)len, s->cluster_size - inoff);
            r = write_piece(s, off, p, n);
            if (r < 0)
                return r;
        }
        p += n; off += n; len -= n;
    }
    return 0;
}

static int zero_cluster(struct qcow2 *s, uint64_t ci, enum zmode mode)
{
    bool backing = s->backing_file != NULL;
    uint64_t target;
    uint64_t e;
    int r = lookup(s, ci << s->cluster_bits, &e);
    if (r < 0)
        return r;
    if (mode == Z_UNMAP || (!backing && mode == Z_DISCARD))
        target = 0;
    else if (!backing && e == 0)
        return 0; /* reads as zeros already */
    else if (s->version >= 3)
        target = QCOW2_ZERO;
    else if (!backing)
        target = 0;
    else
        return 1; /* caller writes zeros */
    if (e == target || (target == QCOW2_ZERO && e == QCOW2_ZERO))
        return 0;
    uint32_t l1i = (uint32_t)(ci / s->l2_entries);
    uint64_t l2i = ci % s->l2_entries;
    if (target == 0 && !(s->l1[l1i] & QCOW2_OFFSET_MASK))
        return 0;
    uint8_t *tbl;
    uint64_t l2off;
    r = get_l2_writable(s, l1i, ci << s->cluster_bits, &tbl, &l2off);
    if (r < 0)
        return r;
    e = be64_get(tbl + l2i * 8);
    r = set_l2_entry(s, l2off, tbl, l2i, target);
    if (r < 0)
        return r;
    if (e == s->cdesc)
        s->cdesc = 0;
    return qcow2_free_l2_entry(s, e);
}

static int zero_range(struct block_dev *bd, uint64_t off, uint64_t len,
                      enum zmode mode)
{
    struct qcow2 *s = bd->opaque;
    uint64_t cs = s->cluster_size;
    uint8_t *zeros = NULL;
    int r = qcow2_check_writable(s);
    while (len && !r) {
        uint64_t inoff = off & (cs - 1);
        uint64_t n = MIN(len, cs - inoff);
        bool whole = inoff == 0 && (n == cs || off + n == bd->size);
        if (whole)
            r = zero_cluster(s, off >> s->cluster_bits, mode);
        if (!whole || r == 1) {
            if (!zeros && !(zeros = calloc(1, cs)))
                return -ENOMEM;
            r = write_piece(s, off, zeros, (size_t)n);
        }
        off += n; len -= n;
    }
    free(zeros);
    return r < 0 ? r : 0;
}

int qcow2_discard(struct block_dev *bd, uint64_t off, uint64_t len)
{
    return zero_range(bd, off, len, Z_DISCARD);
}

int qcow2_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len)
{
    return zero_range(bd, off, len, Z_ZEROES);
}

int qcow2_make_empty(struct qcow2 *s)
{
    return zero_range(s->bd, 0, s->bd->size, Z_UNMAP);
}

static int entry_status(uint64_t e)
{
    if (e & QCOW2_COMPRESSED)
        return BLOCK_STATUS_DATA;
    if (e & QCOW2_ZERO)
        return BLOCK_STATUS_ZERO;
    return (e & QCOW2_OFFSET_MASK) ? BLOCK_STATUS_DATA
                                   : BLOCK_STATUS_UNALLOCATED;
}

int qcow2_status(struct block_dev *bd, uint64_t off, uint64_t len,
                 uint64_t *pnum)
{
    struct qcow2 *s = bd->opaque;
    uint64_t e;
    int r = lookup(s, off, &e);
    if (r < 0)
        return r;
    int st = entry_status(e);
    uint64_t n = MIN(len, s->cluster_size - (off & (s->cluster_size - 1)));
    while (n < len) {
        if (lookup(s, off + n, &e) < 0 || entry_status(e) != st)
            break;
        n += MIN(len - n, s->cluster_size);
    }
    *pnum = n;
    return st;
}

int qcow2_resize(struct block_dev *bd, uint64_t size)
{
    struct qcow2 *s = bd->opaque;
    uint64_t max = qcow2_max_size(s->cluster_bits);
    if (size > max)
        return block_seterr(bd, -EINVAL, "%s: size %llu is too large: with "
                            "%llu-byte clusters a qcow2 image holds at most "
                            "%llu bytes (a 32 MiB L1 table)", s->file,
                            (unsigned long long)size,
                            (unsigned long long)s->cluster_size,
                            (unsigned long long)max);
    if (qcow2_check_writable(s) < 0)
        return -EIO;
    int r;
    if (size < bd->size) {
        if (s->nb_snapshots)
            return block_seterr(bd, -ENOTSUP, "%s: cannot shrink an image "
                                "that has snapshots", s->file);
        uint64_t cs = s->cluster_size;
        uint64_t tail = size & (cs - 1);
        uint64_t first_full = (size + cs - 1) & ~(cs - 1);
        if (tail) {
            uint64_t n = MIN(cs - tail, bd->size - size);
            r = zero_range(bd, size, n, Z_ZEROES);
            if (r < 0)
                return r;
        }
        if (first_full < bd->size) {
            r = zero_range(bd, first_full, bd->size - first_full, Z_UNMAP);
            if (r < 0)
                return r;
        }
    }
    uint64_t need = qcow2_l1_needed(size, s->cluster_bits);
    if (need > s->l1_size) {
        uint64_t bytes = need * 8;  /* at most 32 MiB: size <= max */
        uint64_t nclus = qcow2_clusters(s, bytes);
        int64_t no = qcow2_alloc_clusters(s, nclus, "a new L1 table",
                                          QCOW2_NO_GUEST);
        if (no < 0)
            return (int)no;
        uint64_t *nl1 = calloc(nclus * s->cluster_size / 8, 8);
        uint8_t *buf = calloc(nclus, s->cluster_size);
        if (!nl1 || !buf) {
            free(nl1); free(buf);
            return -ENOMEM;
        }
        memcpy(nl1, s->l1, (uint64_t)s->l1_size * 8);
        for (uint64_t i = 0; i < need; i++)
            be64_put(buf + i * 8, nl1[i]);
        r = host_pwrite(s->hf, (uint64_t)no, buf, nclus * s->cluster_size);
        free(buf);
        if (r < 0) {
            free(nl1);
            return block_seterr(bd, r, "%s: writing L1 table: %s", s->file,
                                strerror(-r));
        }
        if ((uint64_t)no + nclus * s->cluster_size > s->host_size)
            s->host_size = (uint64_t)no + nclus * s->cluster_size;
        fdatasync(s->hf->fd);
        uint64_t old_off = s->l1_offset, old_bytes = (uint64_t)s->l1_size * 8;
        free(s->l1);
        s->l1 = nl1;
        s->l1_offset = (uint64_t)no;
        s->l1_size = (uint32_t)need;
        r = qcow2_write_header_fields(s, 36, 12);
        if (r == 0)
            r = qcow2_overlap_update_ranges(s);
        if (r < 0)
            return r;
        if (old_bytes) {
            r = qcow2_free_clusters(s, old_off, old_bytes);
            if (r < 0)
                return r;
        }
    }
    s->size = size;
    r = qcow2_write_header_fields(s, 24, 8);
    if (r < 0)
        return r;
    bd->size = size;
    return 0;
}
