/* qcow2: refcount table and refcount blocks, cluster allocation
 * (qcow2.txt "Host cluster management").
 *
 * Ordering rules kept here for crash consistency: a cluster's refcount is
 * raised (and written) before anything points to it; a new refcount block
 * is written before the refcount table entry naming it; a grown refcount
 * table is complete on disk before the header switches to it.  A crash can
 * therefore only leak clusters, never lose a reference. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "util/util.h"

uint64_t qcow2_rb_get(const struct qcow2 *s, const uint8_t *blk, uint64_t i)
{
    unsigned bits = s->refcount_bits;
    if (bits >= 8) {
        const uint8_t *p = blk + i * (bits / 8);
        uint64_t v = 0;
        for (unsigned k = 0; k < bits / 8; k++)
            v = (v << 8) | p[k];
        return v;
    }
    uint64_t bit = i * bits;
    return (blk[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
}

void qcow2_rb_set(const struct qcow2 *s, uint8_t *blk, uint64_t i, uint64_t v)
{
    unsigned bits = s->refcount_bits;
    if (bits >= 8) {
        uint8_t *p = blk + i * (bits / 8);
        for (int k = (int)(bits / 8) - 1; k >= 0; k--) {
            p[k] = (uint8_t)v;
            v >>= 8;
        }
        return;
    }
    uint64_t bit = i * bits;
    uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));
    blk[bit / 8] = (uint8_t)((blk[bit / 8] & ~mask) |
                             ((v << (bit % 8)) & mask));
}

void qcow2_rb_span(const struct qcow2 *s, uint64_t i, uint64_t *boff,
                   uint64_t *blen)
{
    if (s->refcount_bits >= 8) {
        *boff = i * (s->refcount_bits / 8);
        *blen = s->refcount_bits / 8;
    } else {
        *boff = i * s->refcount_bits / 8;
        *blen = 1;
    }
}

int qcow2_validate_meta(struct qcow2 *s, uint64_t off, const char *what)
{
    if (off % s->cluster_size || off < s->cluster_size ||
        off > s->host_size || s->host_size - off < s->cluster_size ||
        qcow2_overlaps_fixed(s, off, s->cluster_size))
        return block_seterr(s->bd, -EIO,
                            "%s: %s offset 0x%llx is invalid: it must be "
                            "cluster aligned, inside the file (%llu bytes) "
                            "and not overlap the header, L1, refcount or "
                            "snapshot table", s->file, what,
                            (unsigned long long)off,
                            (unsigned long long)s->host_size);
    return 0;
}

/* Load the refcount block for refcount table index rti (must exist). */
static int load_block(struct qcow2 *s, uint64_t rti, uint8_t **blk)
{
    uint64_t e = s->rt[rti];
    if (e & 511)
        return block_seterr(s->bd, -EIO, "%s: refcount table entry %llu "
                            "(0x%llx) has reserved bits set", s->file,
                            (unsigned long long)rti, (unsigned long long)e);
    int r = qcow2_validate_meta(s, e, "refcount block");
    if (r < 0)
        return r;
    /* One block named by many table entries would make a small hostile
     * image claim billions of allocated clusters, and every scan of them
     * (allocation, check) run for hours. */
    if (qcow2_overlap_refs(s, QCOW2_META_RB, e) > 1)
        return block_seterr(s->bd, -EIO, "%s: refcount block at 0x%llx is "
                            "named by more than one refcount table entry "
                            "(entry %llu is one)", s->file,
                            (unsigned long long)e, (unsigned long long)rti);
    return qcow2_cache_get(s, &s->rbc, e, blk, false);
}

int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *rc)
{
    uint64_t rti = cluster / s->rb_entries;
    if (rti >= s->rt_entries || s->rt[rti] == 0) {
        *rc = 0;
        return 0;
    }
    uint8_t *blk;
    int r = load_block(s, rti, &blk);
    if (r < 0)
        return r;
    *rc = qcow2_rb_get(s, blk, cluster % s->rb_entries);
    return 0;
}

static int write_rt_entry(struct qcow2 *s, uint64_t rti)
{
    uint8_t b[8];
    be64_put(b, s->rt[rti]);
    int r = qcow2_overlap_check(s, s->rt_offset + rti * 8, 8,
                                QCOW2_OL(QCOW2_META_RT), QCOW2_NO_GUEST,
                                "a refcount table entry");
    if (r < 0)
        return r;
    r = host_pwrite(s->hf, s->rt_offset + rti * 8, b, 8);
    if (r < 0)
        return block_seterr(s->bd, r, "%s: writing refcount table: %s",
                            s->file, strerror(-r));
    return 0;
}

static void note_host_end(struct qcow2 *s, uint64_t end)
{
    if (end > s->host_size)
        s->host_size = end;
}

static int find_free_run(struct qcow2 *s, uint64_t n, uint64_t *start)
{
    uint64_t c = MAX(MAX(s->free_hint, s->alloc_floor), 1), run = 0, first = c;
    for (;;) {
        uint64_t rti = c / s->rb_entries;
        if (rti >= s->rt_entries) { /* everything beyond is free */
            if (!run)
                first = c;
            *start = first;
            return 0;
        }
        uint64_t blk_end = (rti + 1) * s->rb_entries;
        if (s->rt[rti] == 0) { /* a whole missing block is free */
            if (!run)
                first = c;
            run += blk_end - c;
            if (run >= n) {
                *start = first;
                return 0;
            }
            c = blk_end;
            continue;
        }
        /* Walk the block's entries directly: a cache lookup per cluster
         * made the first allocation on a large image slow. */
        uint8_t *blk;
        int r = load_block(s, rti, &blk);
        if (r < 0)
            return r;
        for (; c < blk_end; c++) {
            if (qcow2_rb_get(s, blk, c % s->rb_entries)) {
                run = 0;
                continue;
            }
            if (!run)
                first = c;
            if (++run >= n) {
                *start = first;
                return 0;
            }
        }
    }
}

static int grow_refcount_table(struct qcow2 *s, uint64_t min_entries)
{
    uint64_t cs = s->cluster_size, rbe = s->rb_entries;
    uint64_t E = MAX(qcow2_clusters(s, s->host_size), s->rt_entries * rbe);
    uint64_t entries = MAX(min_entries, s->rt_entries * 2);
    uint64_t tc, nb;
    for (;;) {
        tc = (entries * 8 + cs - 1) / cs;
        nb = 1;
        while ((E + tc + nb - 1) / rbe - E / rbe + 1 > nb)
            nb++;
        uint64_t need = (E + tc + nb - 1) / rbe + 1;
        if (need <= entries)
            break;
        entries = need;
    }
    uint64_t new_entries = tc * cs / 8;
    if (tc * cs > QCOW2_MAX_RT_BYTES)
        return block_seterr(s->bd, -ENOSPC, "%s: refcount table would exceed "
                            "8 MiB", s->file);
    /* E comes from the host file size or from a (possibly hostile) refcount
     * table size: keep (E + tc + nb) * cs below 2^56, the largest host
     * offset an L2 entry can hold, so the products below cannot wrap. */
    if (E + tc + nb > (1ull << (56 - s->cluster_bits)))
        return block_seterr(s->bd, -ENOSPC, "%s: growing the refcount table "
                            "at cluster %llu would put the image file past "
                            "64 PiB", s->file, (unsigned long long)E);
    int r = qcow2_overlap_check(s, E * cs, (tc + nb) * cs, 0, QCOW2_NO_GUEST,
                                "a new refcount table");
    if (r < 0)
        return r;
    uint64_t *nrt = calloc(new_entries, 8);
    uint8_t *buf = calloc(1, tc * cs > cs ? tc * cs : cs);
    if (!nrt || !buf) {
        free(nrt); free(buf);
        return -ENOMEM;
    }
    memcpy(nrt, s->rt, s->rt_entries * 8);
    uint64_t first_rti = E / rbe;
    /* New refcount blocks at E+tc.., covering [E, E+tc+nb). */
    for (uint64_t b = 0; b < nb && !r; b++) {
        uint64_t rti = first_rti + b;
        memset(buf, 0, cs);
        for (uint64_t c = E; c < E + tc + nb; c++)
            if (c / rbe == rti)
                qcow2_rb_set(s, buf, c % rbe, 1);
        uint64_t off = (E + tc + b) * cs;
        r = host_pwrite(s->hf, off, buf, cs);
        nrt[rti] = off;
    }
    if (!r) {
        memset(buf, 0, tc * cs);
        for (uint64_t i = 0; i < new_entries; i++)
            be64_put(buf + i * 8, nrt[i]);
        r = host_pwrite(s->hf, E * cs, buf, tc * cs);
    }
    free(buf);
    if (r < 0) {
        free(nrt);
        return block_seterr(s->bd, r, "%s: growing the refcount table: %s",
                            s->file, strerror(-r));
    }
    note_host_end(s, (E + tc + nb) * cs);
    for (uint64_t b = 0; b < nb && !r; b++)
        r = qcow2_overlap_add(s, QCOW2_META_RB, nrt[first_rti + b]);
    if (r < 0) {
        free(nrt);
        return r;
    }
    fdatasync(s->hf->fd);
    uint64_t old_off = s->rt_offset, old_clusters = s->rt_clusters;
    free(s->rt);
    s->rt = nrt;
    s->rt_entries = new_entries;
    s->rt_offset = E * cs;
    s->rt_clusters = (uint32_t)tc;
    r = qcow2_write_header_fields(s, 48, 12);
    if (r == 0)
        r = qcow2_overlap_update_ranges(s);
    if (r < 0)
        return r;
    return qcow2_free_clusters(s, old_off, old_clusters * cs);
}

/* Make sure the refcount block for table index rti exists.  Returns 1 when
 * something was allocated (callers re-scan), 0 when it already existed. */
static int ensure_block(struct qcow2 *s, uint64_t rti)
{
    int changed = 0, r;
    for (;;) {
        if (rti >= s->rt_entries) {
            r = grow_refcount_table(s, rti + 1);
            if (r < 0)
                return r;
            changed = 1;
            continue;
        }
        if (s->rt[rti])
            return changed;
        uint64_t f;
        r = find_free_run(s, 1, &f);
        if (r < 0)
            return r;
        if (f >= (1ull << (56 - s->cluster_bits)))
            return block_seterr(s->bd, -ENOSPC, "%s: image file would exceed "
                                "64 PiB", s->file);
        r = qcow2_overlap_check(s, f * s->cluster_size, s->cluster_size, 0,
                                QCOW2_NO_GUEST, "a new refcount block");
        if (r < 0)
            return r;
        uint64_t frti = f / s->rb_entries;
        uint8_t *blk;
        if (frti == rti) {
            /* The new block describes its own cluster. */
            r = qcow2_cache_get(s, &s->rbc, f * s->cluster_size, &blk, true);
            if (r < 0)
                return r;
            qcow2_rb_set(s, blk, f % s->rb_entries, 1);
        } else {
            r = ensure_block(s, frti);
            if (r < 0)
                return r;
            if (r > 0) {
                changed = 1;
                continue; /* f may be taken now */
            }
            r = qcow2_update_refcount(s, f, 1, NULL);
            if (r < 0)
                return r;
            r = qcow2_cache_get(s, &s->rbc, f * s->cluster_size, &blk, true);
            if (r < 0)
                return r;
        }
        r = host_pwrite(s->hf, f * s->cluster_size, blk, s->cluster_size);
        if (r < 0) {
            qcow2_cache_drop(&s->rbc, f * s->cluster_size);
            return block_seterr(s->bd, r, "%s: writing refcount block: %s",
                                s->file, strerror(-r));
        }
        note_host_end(s, (f + 1) * s->cluster_size);
        r = qcow2_overlap_add(s, QCOW2_META_RB, f * s->cluster_size);
        if (r < 0)
            return r;
        s->rt[rti] = f * s->cluster_size;
        r = write_rt_entry(s, rti);
        if (r < 0)
            return r;
        return 1;
    }
}

static int set_rc(struct qcow2 *s, uint64_t cluster, uint64_t v)
{
    uint64_t rti = cluster / s->rb_entries;
    int r = ensure_block(s, rti);
    if (r < 0)
        return r;
    uint8_t *blk;
    r = load_block(s, rti, &blk);
    if (r < 0)
        return r;
    uint64_t i = cluster % s->rb_entries, boff, blen;
    qcow2_rb_span(s, i, &boff, &blen);
    r = qcow2_overlap_check(s, s->rt[rti] + boff, blen,
                            QCOW2_OL(QCOW2_META_RB), QCOW2_NO_GUEST,
                            "a refcount");
    if (r < 0)
        return r;
    /* Freeing a cluster the map knows as live metadata means a table
     * entry points into metadata: punching it would destroy that metadata.
     * Repair may still write the computed 0 (it does not punch then). */
    uint64_t hit;
    uint32_t idx;
    int meta = v == 0 ? qcow2_overlap_find(s, cluster << s->cluster_bits, 1,
                                           0, &hit, &idx) : -1;
    if (meta >= 0 && !s->repairing)
        return qcow2_mark_corrupt(s, "%s: refused to free host cluster "
                                  "0x%llx: it holds the %s, which a data "
                                  "cluster entry also names", s->file,
                                  (unsigned long long)hit,
                                  qcow2_meta_name((enum qcow2_meta)meta));
    qcow2_rb_set(s, blk, i, v);
    r = host_pwrite(s->hf, s->rt[rti] + boff, blk + boff, blen);
    if (r < 0) {
        qcow2_cache_drop(&s->rbc, s->rt[rti]);
        return block_seterr(s->bd, r, "%s: writing refcount: %s", s->file,
                            strerror(-r));
    }
    if (v == 0) {
        if (cluster < s->free_hint)
            s->free_hint = cluster;
        if (meta < 0 && (cluster + 1) * s->cluster_size <= s->host_size)
            fallocate(s->hf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)(cluster * s->cluster_size),
                      (off_t)s->cluster_size);
    }
    return 0;
}

int qcow2_set_refcount(struct qcow2 *s, uint64_t cluster, uint64_t rc)
{
    return set_rc(s, cluster, rc);
}

int qcow2_update_refcount(struct qcow2 *s, uint64_t cluster, int64_t delta,
                          uint64_t *newrc)
{
    uint64_t rc;
    int r = qcow2_get_refcount(s, cluster, &rc);
    if (r < 0)
        return r;
    uint64_t v = rc + (uint64_t)delta;
    if ((delta < 0 && rc < (uint64_t)-delta) ||
        (delta > 0 && (v < rc || v > s->refcount_max)))
        return block_seterr(s->bd, delta < 0 ? -EIO : -ERANGE,
                            "%s: refcount of cluster %llu would %s (is %llu; "
                            "refcount_bits %u)", s->file,
                            (unsigned long long)cluster,
                            delta < 0 ? "drop below 0" : "overflow",
                            (unsigned long long)rc, s->refcount_bits);
    if (delta == 0) {
        if (newrc)
            *newrc = rc;
        return 0;
    }
    r = set_rc(s, cluster, v);
    if (r < 0)
        return r;
    if (newrc)
        *newrc = v;
    return 0;
}

/* Set the refcounts of the free run [start, start + n) (all 0, as
 * find_free_run found them, and every refcount block present) to 1 with
 * one write per refcount block: a run of many clusters (a large
 * sequential write) would otherwise cost one write per cluster. */
static int set_free_run_used(struct qcow2 *s, uint64_t start, uint64_t n)
{
    for (uint64_t c = start; c < start + n;) {
        uint64_t rti = c / s->rb_entries;
        uint64_t end = MIN(start + n, (rti + 1) * s->rb_entries);
        uint8_t *blk;
        int r = load_block(s, rti, &blk);
        if (r < 0)
            return r;
        uint64_t first, last, len;
        qcow2_rb_span(s, c % s->rb_entries, &first, &len);
        qcow2_rb_span(s, (end - 1) % s->rb_entries, &last, &len);
        len += last - first;
        r = qcow2_overlap_check(s, s->rt[rti] + first, len,
                                QCOW2_OL(QCOW2_META_RB), QCOW2_NO_GUEST,
                                "a refcount");
        if (r < 0)
            return r;
        for (uint64_t i = c; i < end; i++)
            qcow2_rb_set(s, blk, i % s->rb_entries, 1);
        r = host_pwrite(s->hf, s->rt[rti] + first, blk + first, (size_t)len);
        if (r < 0) {
            qcow2_cache_drop(&s->rbc, s->rt[rti]);
            return block_seterr(s->bd, r, "%s: writing refcount: %s",
                                s->file, strerror(-r));
        }
        c = end;
    }
    return 0;
}

int64_t qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, const char *what,
                             uint64_t voff)
{
    uint64_t start;
    int r;
    uint64_t limit = 1ull << (56 - s->cluster_bits);
    for (;;) {
        r = find_free_run(s, n, &start);
        if (r < 0)
            return r;
        /* before ensure_block: a table grown for a run past the limit
         * would be wasted (and its offsets could wrap) */
        if (n > limit || start > limit - n)
            return block_seterr(s->bd, -ENOSPC, "%s: image file would "
                                "exceed 64 PiB", s->file);
        int changed = 0;
        for (uint64_t rti = start / s->rb_entries;
             rti <= (start + n - 1) / s->rb_entries; rti++) {
            r = ensure_block(s, rti);
            if (r < 0)
                return r;
            changed |= r;
        }
        if (!changed)
            break;
    }
    /* A free run that holds metadata means a refcount is wrong: refuse it
     * before anything is written there. */
    r = qcow2_overlap_check(s, start << s->cluster_bits, n << s->cluster_bits,
                            0, voff, what);
    if (r < 0)
        return r;
    r = set_free_run_used(s, start, n);
    if (r < 0)
        return r;
    s->free_hint = start + n;
    return (int64_t)(start * s->cluster_size);
}

int qcow2_free_clusters(struct qcow2 *s, uint64_t off, uint64_t bytes)
{
    if (!bytes)
        return 0;
    uint64_t first = off >> s->cluster_bits;
    uint64_t last = (off + bytes - 1) >> s->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        int r = qcow2_update_refcount(s, c, -1, NULL);
        if (r < 0)
            return r;
    }
    return 0;
}

int qcow2_free_l2_entry(struct qcow2 *s, uint64_t entry)
{
    if (entry & QCOW2_COMPRESSED) {
        uint64_t off, len;
        qcow2_compressed_span(s, entry, &off, &len);
        return qcow2_free_clusters(s, off, len);
    }
    uint64_t off = entry & QCOW2_OFFSET_MASK;
    if (!off)
        return 0;
    return qcow2_free_clusters(s, off, s->cluster_size);
}
