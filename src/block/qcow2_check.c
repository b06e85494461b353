/* qcow2: consistency check and repair (qcow2.txt "Host cluster
 * management"): recompute every cluster's refcount from the metadata that
 * references it, compare with the refcount blocks, check the COPIED flags
 * of the active L1/L2 tables, and optionally fix what differs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"
#include "util/util.h"

struct chk {
    struct qcow2 *s;
    FILE *out;
    uint32_t *ref;        /* computed references per host cluster */
    uint8_t *aref;        /* references from the active L1/L2 tables to
                             L2 tables and (uncompressed) data clusters,
                             saturating at 2 */
    uint64_t n;           /* clusters in the host file */
    struct block_check_result *res;
    uint64_t end;         /* highest referenced byte */
};

static void say(struct chk *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct chk *c, const char *fmt, ...)
{
    if (!c->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->out, fmt, ap);
    va_end(ap);
    fputc('\n', c->out);
}

/* Count a reference from the active tables to the cluster at host byte
 * offset off, an L2 table or an uncompressed data cluster (only
 * snapshots may share those with the active tables: see check_shared). */
static void ref_active(struct chk *c, uint64_t off)
{
    uint64_t k = off >> c->s->cluster_bits;
    if (k < c->n && c->aref[k] < 2)
        c->aref[k]++;
}

/* Count a reference to host bytes [off, off+len); false if out of file. */
static bool ref_range(struct chk *c, uint64_t off, uint64_t len,
                      const char *what)
{
    if (!len)
        return true;
    uint64_t first = off >> c->s->cluster_bits;
    uint64_t last = (off + len - 1) >> c->s->cluster_bits;
    if (last >= c->n || off + len < off) {
        say(c, "ERROR %s at 0x%llx is beyond the end of the image file",
            what, (unsigned long long)off);
        c->res->corruptions++;
        return false;
    }
    for (uint64_t k = first; k <= last; k++)
        if (c->ref[k] != UINT32_MAX)
            c->ref[k]++;
    uint64_t end = (last + 1) << c->s->cluster_bits;
    if (end > c->end)
        c->end = end;
    return true;
}

static void walk_l1(struct chk *c, const uint64_t *l1, uint32_t l1_size,
                    bool active, uint8_t *tbl)
{
    struct qcow2 *s = c->s;
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK;
        /* also in an entry without an L2 table: every later use of the
         * entry fails on them (as qemu-img check reports them) */
        if (l1[i] & QCOW2_L1_RESERVED) {
            say(c, "ERROR L1 entry %u has reserved bits set", i);
            c->res->corruptions++;
        }
        if (!l2off)
            continue;
        if (l2off < s->cluster_size || !ref_range(c, l2off, s->cluster_size,
                                                  "L2 table"))
            continue;
        if (active)
            ref_active(c, l2off);
        if (host_pread(s->hf, l2off, tbl, s->cluster_size, false) < 0) {
            say(c, "ERROR cannot read L2 table at 0x%llx",
                (unsigned long long)l2off);
            c->res->corruptions++;
            continue;
        }
        for (uint64_t j = 0; j < s->l2_entries; j++) {
            uint64_t e = be64_get(tbl + j * 8);
            if (!e)
                continue;
            if (e & QCOW2_COMPRESSED) {
                uint64_t o, l;
                qcow2_compressed_span(s, e, &o, &l);
                if (active)
                    c->res->allocated_clusters++;
                ref_range(c, o, l, "compressed cluster");
                continue;
            }
            uint64_t off = e & QCOW2_OFFSET_MASK;
            if (e & QCOW2_L2_RESERVED) {
                say(c, "ERROR L2 entry 0x%llx has reserved bits set",
                    (unsigned long long)e);
                c->res->corruptions++;
            }
            if (!off)
                continue;
            if (active)
                c->res->allocated_clusters++;
            if (off < s->cluster_size) {
                say(c, "ERROR data cluster points into the header");
                c->res->corruptions++;
                continue;
            }
            if (ref_range(c, off, s->cluster_size, "data cluster") &&
                active)
                ref_active(c, off);
        }
    }
}

/* A cluster named twice by the active tables (two L1 entries naming one L2
 * table, two L2 entries naming one data cluster) has a refcount of 2 and no
 * COPIED flag, which is consistent, but the first write through either
 * reference copies the cluster and drops the refcount to 1, and the other
 * reference is then left without the COPIED flag its refcount asks for:
 * the write itself would corrupt the image.  qemu and this driver never
 * create such sharing (only snapshots share clusters with the active
 * tables), so it is reported as a corruption; repair cannot tell which
 * reference is meant and leaves it. */
static void check_shared(struct chk *c)
{
    for (uint64_t k = 0; k < c->n; k++) {
        if (c->aref[k] < 2)
            continue;
        say(c, "ERROR cluster %llu is referenced more than once by the "
            "active L1/L2 tables (only snapshots may share clusters); a "
            "write through one reference would corrupt the COPIED flags of "
            "the others", (unsigned long long)k);
        c->res->corruptions++;
    }
}

/* Check (and with repair fix) the COPIED flags of the active tables. */
static int check_flags(struct chk *c, bool repair, uint8_t *tbl)
{
    struct qcow2 *s = c->s;
    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK;
        if (!l2off || (l2off >> s->cluster_bits) >= c->n)
            continue;
        uint64_t rc = c->ref[l2off >> s->cluster_bits];
        uint64_t want = rc == 1 ? (s->l1[i] | QCOW2_COPIED)
                                : (s->l1[i] & ~QCOW2_COPIED);
        if (want != s->l1[i]) {
            say(c, "ERROR OFLAG_COPIED L2 cluster: l1_index=%u "
                "l1_entry=%llx refcount=%llu", i,
                (unsigned long long)s->l1[i], (unsigned long long)rc);
            c->res->corruptions++;
            if (repair) {
                s->l1[i] = want;
                int r = qcow2_write_l1_entry(s, i);
                if (r < 0)
                    return r;
                c->res->corruptions_fixed++;
            }
        }
        if (host_pread(s->hf, l2off, tbl, s->cluster_size, false) < 0)
            continue;
        bool changed = false;
        for (uint64_t j = 0; j < s->l2_entries; j++) {
            uint64_t e = be64_get(tbl + j * 8);
            uint64_t off = e & QCOW2_OFFSET_MASK;
            if ((e & QCOW2_COMPRESSED) || !off ||
                (off >> s->cluster_bits) >= c->n)
                continue;
            uint64_t drc = c->ref[off >> s->cluster_bits];
            uint64_t ne = drc == 1 ? (e | QCOW2_COPIED) : (e & ~QCOW2_COPIED);
            if (ne != e) {
                say(c, "ERROR OFLAG_COPIED data cluster: l2_entry=%llx "
                    "refcount=%llu", (unsigned long long)e,
                    (unsigned long long)drc);
                c->res->corruptions++;
                if (repair) {
                    be64_put(tbl + j * 8, ne);
                    changed = true;
                    c->res->corruptions_fixed++;
                }
            }
        }
        if (changed) {
            qcow2_cache_drop(&s->l2c, l2off);
            int r = qcow2_overlap_check(s, l2off, s->cluster_size,
                                        QCOW2_OL(QCOW2_META_L2),
                                        QCOW2_NO_GUEST, "an L2 table");
            if (r == 0)
                r = host_pwrite(s->hf, l2off, tbl, s->cluster_size);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int qcow2_check(struct qcow2 *s, bool repair, struct block_check_result *res,
                FILE *out)
{
    memset(res, 0, sizeof(*res));
    if (repair && s->bd->read_only)
        return block_seterr(s->bd, -EROFS, "%s: repair needs the image "
                            "opened read-write", s->file);
    struct chk c = { .s = s, .out = out, .res = res };
    c.n = qcow2_clusters(s, s->host_size);
    c.ref = calloc(c.n ? c.n : 1, sizeof(uint32_t));
    c.aref = calloc(c.n ? c.n : 1, 1);
    uint8_t *tbl = malloc(s->cluster_size);
    if (!c.ref || !c.aref || !tbl) {
        free(c.ref); free(c.aref); free(tbl);
        return -ENOMEM;
    }
    res->total_clusters = qcow2_clusters(s, s->size);
    ref_range(&c, 0, s->cluster_size, "header");
    ref_range(&c, s->l1_offset, (uint64_t)s->l1_size * 8, "L1 table");
    walk_l1(&c, s->l1, s->l1_size, true, tbl);
    check_shared(&c);
    ref_range(&c, s->snapshots_offset, s->snapshots_size, "snapshot table");
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snaps[i];
        uint64_t bytes = (uint64_t)sn->l1_size * 8;
        if (!ref_range(&c, sn->l1_offset, bytes, "snapshot L1 table"))
            continue;
        uint8_t *raw = malloc(bytes + 1);
        uint64_t *l1 = calloc(sn->l1_size + 1, 8);
        if (raw && l1 && host_pread(s->hf, sn->l1_offset, raw, bytes,
                                    false) == 0) {
            for (uint32_t k = 0; k < sn->l1_size; k++)
                l1[k] = be64_get(raw + k * 8);
            walk_l1(&c, l1, sn->l1_size, false, tbl);
        }
        free(raw);
        free(l1);
    }
    ref_range(&c, s->rt_offset, (uint64_t)s->rt_clusters << s->cluster_bits,
              "refcount table");
    for (uint64_t i = 0; i < s->rt_entries; i++) {
        uint64_t e = s->rt[i];
        if (!e)
            continue;
        if (e % s->cluster_size || e < s->cluster_size) {
            say(c.out ? &c : &c, "ERROR refcount block %llu offset 0x%llx "
                "is not cluster aligned or in the header",
                (unsigned long long)i, (unsigned long long)e);
            res->corruptions++;
            continue;
        }
        ref_range(&c, e, s->cluster_size, "refcount block");
    }

    /* Compare with the stored refcounts. */
    int r = 0;
    if (repair) {
        s->alloc_floor = c.n;
        s->repairing = true;
    }
    /* Clusters past the end of the file may still carry refcounts. */
    uint64_t n = c.n;
    for (uint64_t i = s->rt_entries; i > 0; i--) {
        if (s->rt[i - 1]) {
            n = MAX(n, i * s->rb_entries);
            break;
        }
    }
    for (uint64_t k = 0; k < n && r == 0; k++) {
        if (k >= c.n && s->rt[k / s->rb_entries] == 0) {
            k = (k / s->rb_entries + 1) * s->rb_entries - 1;
            continue;
        }
        uint64_t stored;
        if (qcow2_get_refcount(s, k, &stored) < 0) {
            say(&c, "ERROR cannot read the refcount block of cluster %llu: "
                "%s", (unsigned long long)k, s->bd->err);
            res->corruptions++;
            k = (k / s->rb_entries + 1) * s->rb_entries - 1; /* skip block */
            continue;
        }
        uint64_t want = k < c.n ? c.ref[k] : 0;
        if (stored == want)
            continue;
        bool leak = stored > want;
        say(&c, "%s cluster %llu refcount=%llu reference=%llu",
            leak ? "Leaked" : "ERROR", (unsigned long long)k,
            (unsigned long long)stored, (unsigned long long)want);
        if (leak)
            res->leaks++;
        else
            res->corruptions++;
        if (repair && want <= s->refcount_max) {
            r = qcow2_set_refcount(s, k, want);
            if (r == 0) {
                if (leak)
                    res->leaks_fixed++;
                else
                    res->corruptions_fixed++;
            }
        }
    }
    if (repair && r == 0 && c.n < qcow2_clusters(s, s->host_size)) {
        /* new refcount blocks were placed past the old end: count them */
        for (uint64_t k = c.n; k < qcow2_clusters(s, s->host_size); k++) {
            uint64_t stored;
            if (qcow2_get_refcount(s, k, &stored) == 0 && stored)
                c.end = MAX(c.end, (k + 1) << s->cluster_bits);
        }
    }
    s->alloc_floor = 0;
    s->free_hint = 0;
    if (r == 0)
        r = check_flags(&c, repair, tbl);
    s->repairing = false;
    /* Everything found was fixed: the corrupt bit (set when a write was
     * refused for overlapping metadata) has done its job. */
    if (r == 0 && repair && res->corruptions == res->corruptions_fixed &&
        (s->stopped || (s->incompat & QCOW2_INCOMPAT_CORRUPT))) {
        s->incompat &= ~QCOW2_INCOMPAT_CORRUPT;
        r = s->version >= 3 ? qcow2_write_incompat(s) : 0;
        if (r == 0)
            s->stopped = false;
    }
    res->image_end_offset = c.end;
    free(c.ref);
    free(c.aref);
    free(tbl);
    return r;
}

int block_check(struct block_dev *bd, bool repair,
                struct block_check_result *res, void *report_file)
{
    if (bd->drv->check) {
        pthread_mutex_lock(&bd->lock);
        int r = bd->drv->check(bd, repair, res, report_file);
        pthread_mutex_unlock(&bd->lock);
        return r;
    }
    if (bd->drv->fmt != BLOCK_FMT_QCOW2) {
        memset(res, 0, sizeof(*res));
        return 0;
    }
    pthread_mutex_lock(&bd->lock);
    int r = qcow2_check(bd->opaque, repair, res, report_file);
    pthread_mutex_unlock(&bd->lock);
    return r;
}
