/* qcow2: metadata overlap checks and the corrupt bit (qcow2.txt "Header",
 * incompatible feature bit 1; QEMU's "overlap-check" behaviour is the
 * model).
 *
 * Clusters are allocated by their refcount: a cluster whose refcount is 0
 * is free.  When a refcount is wrong (0 for a cluster that holds metadata),
 * the next allocation hands that cluster out again and guest data lands on
 * the L1 table, an L2 table or a refcount block.  So before every cluster
 * allocation and every in-place data write the target host range is looked
 * up in a map of where the metadata lives; a hit refuses the write (-EIO)
 * and marks the image corrupt, so that later opens refuse to write it until
 * `vessel img check -r all` has rebuilt the refcounts.
 *
 * The map has two parts, both kept up to date as metadata moves, so that a
 * check costs one hash probe and one binary search, never a walk of the
 * tables:
 *  - a hash set of single clusters: the active L2 tables and the refcount
 *    blocks (the many small structures), each with a count of how many
 *    table entries name it (a hostile image may name one cluster twice);
 *  - a sorted list of cluster ranges for the few large structures: the
 *    header, the active L1 table, the refcount table, the snapshot table
 *    and each snapshot's L1 table, with a running maximum of the range ends
 *    so that "does anything start before X and end after Y" is one binary
 *    search.
 * Inactive L2 tables (reached only through snapshot L1 tables) are not
 * tracked: finding them means reading every snapshot's L1 table, which QEMU
 * does not do by default either ("cached" overlap checks). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "util/util.h"

struct qcow2_ol_slot {
    uint64_t key;          /* host cluster index + 1; 0 = empty */
    uint32_t n[2];         /* references as active L2 table, refcount block */
};

struct qcow2_ol_range {
    uint64_t first, end;   /* host clusters [first, end) */
    uint32_t kind;         /* enum qcow2_meta */
    uint32_t idx;          /* snapshot index for QCOW2_META_SNAP_L1 */
};

static const char *const meta_names[QCOW2_META_COUNT] = {
    [QCOW2_META_HEADER] = "image header",
    [QCOW2_META_L1] = "active L1 table",
    [QCOW2_META_L2] = "active L2 table",
    [QCOW2_META_RT] = "refcount table",
    [QCOW2_META_RB] = "refcount block",
    [QCOW2_META_SNAPTAB] = "snapshot table",
    [QCOW2_META_SNAP_L1] = "L1 table of a snapshot",
};

const char *qcow2_meta_name(enum qcow2_meta k)
{
    return k < QCOW2_META_COUNT ? meta_names[k] : "metadata";
}

/* ---- hash set of single metadata clusters ---- */

static uint64_t slot_home(const struct qcow2_overlap *o, uint64_t key)
{
    return (key * 0x9e3779b97f4a7c15ull) >> (64 - o->bits);
}

/* Index of the slot holding key, or of the empty slot where it would go. */
static uint64_t slot_find(const struct qcow2_overlap *o, uint64_t key)
{
    uint64_t mask = o->cap - 1, i = slot_home(o, key);
    while (o->slot[i].key && o->slot[i].key != key)
        i = (i + 1) & mask;
    return i;
}

static int slots_grow(struct qcow2_overlap *o)
{
    unsigned bits = o->cap ? o->bits + 1 : 6;
    if (bits > 40)
        return -ENOMEM;
    struct qcow2_ol_slot *ns = calloc(1ull << bits, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    struct qcow2_ol_slot *old = o->slot;
    uint64_t oldcap = o->cap;
    o->slot = ns;
    o->cap = 1ull << bits;
    o->bits = bits;
    for (uint64_t i = 0; i < oldcap; i++)
        if (old[i].key)
            o->slot[slot_find(o, old[i].key)] = old[i];
    free(old);
    return 0;
}

static int single_add(struct qcow2 *s, unsigned which, uint64_t off)
{
    struct qcow2_overlap *o = &s->ol;
    uint64_t key = (off >> s->cluster_bits) + 1;
    if ((o->used + 1) * 2 > o->cap) {
        int r = slots_grow(o);
        if (r < 0)
            return block_seterr(s->bd, r, "%s: out of memory for the "
                                "metadata overlap map", s->file);
    }
    struct qcow2_ol_slot *sl = &o->slot[slot_find(o, key)];
    if (!sl->key) {
        sl->key = key;
        o->used++;
    }
    if (sl->n[which] != UINT32_MAX) /* saturates: then never dropped */
        sl->n[which]++;
    return 0;
}

/* Remove slot i, moving later members of its probe run back (no
 * tombstones: lookups stay one short run). */
static void slot_remove(struct qcow2_overlap *o, uint64_t i)
{
    uint64_t mask = o->cap - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!o->slot[j].key)
            break;
        uint64_t k = slot_home(o, o->slot[j].key);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        o->slot[i] = o->slot[j];
        i = j;
    }
    memset(&o->slot[i], 0, sizeof(o->slot[i]));
    o->used--;
}

static void single_del(struct qcow2 *s, unsigned which, uint64_t off)
{
    struct qcow2_overlap *o = &s->ol;
    if (!o->cap)
        return;
    uint64_t i = slot_find(o, (off >> s->cluster_bits) + 1);
    struct qcow2_ol_slot *sl = &o->slot[i];
    if (!sl->key || !sl->n[which] || sl->n[which] == UINT32_MAX)
        return;
    if (--sl->n[which] == 0 && sl->n[which ^ 1] == 0)
        slot_remove(o, i);
}

static int which_of(enum qcow2_meta k)
{
    return k == QCOW2_META_L2 ? 0 : k == QCOW2_META_RB ? 1 : -1;
}

int qcow2_overlap_add(struct qcow2 *s, enum qcow2_meta k, uint64_t off)
{
    int w = which_of(k);
    return w < 0 || !off ? 0 : single_add(s, (unsigned)w, off);
}

void qcow2_overlap_del(struct qcow2 *s, enum qcow2_meta k, uint64_t off)
{
    int w = which_of(k);
    if (w >= 0 && off)
        single_del(s, (unsigned)w, off);
}

uint32_t qcow2_overlap_refs(struct qcow2 *s, enum qcow2_meta k, uint64_t off)
{
    struct qcow2_overlap *o = &s->ol;
    int w = which_of(k);
    if (w < 0 || !o->cap)
        return 0;
    const struct qcow2_ol_slot *sl =
        &o->slot[slot_find(o, (off >> s->cluster_bits) + 1)];
    return sl->key ? sl->n[w] : 0;
}

/* ---- sorted ranges of the large structures ---- */

static int range_cmp(const void *a, const void *b)
{
    const struct qcow2_ol_range *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static void range_put(struct qcow2 *s, struct qcow2_ol_range *r, uint32_t *n,
                      uint64_t off, uint64_t bytes, enum qcow2_meta k,
                      uint32_t idx)
{
    if (!bytes)
        return;
    uint64_t first = off >> s->cluster_bits;
    /* offsets are below 2^56 and sizes below 2^27: no overflow */
    uint64_t end = (off + bytes - 1) >> s->cluster_bits;
    r[*n] = (struct qcow2_ol_range){ first, end + 1, k, idx };
    (*n)++;
}

int qcow2_overlap_update_ranges(struct qcow2 *s)
{
    struct qcow2_overlap *o = &s->ol;
    uint32_t max = 4 + s->nb_snapshots;
    struct qcow2_ol_range *r = calloc(max, sizeof(*r));
    uint64_t *me = calloc(max, sizeof(*me));
    if (!r || !me) {
        free(r); free(me);
        /* Keep no stale ranges: a stale range could flag a freed cluster
         * as metadata and mark a healthy image corrupt. */
        free(o->rng); free(o->maxend);
        o->rng = NULL; o->maxend = NULL; o->nrng = 0;
        return block_seterr(s->bd, -ENOMEM, "%s: out of memory for the "
                            "metadata overlap map", s->file);
    }
    uint32_t n = 0;
    range_put(s, r, &n, 0, s->cluster_size, QCOW2_META_HEADER, 0);
    range_put(s, r, &n, s->l1_offset, (uint64_t)s->l1_size * 8,
              QCOW2_META_L1, 0);
    range_put(s, r, &n, s->rt_offset,
              (uint64_t)s->rt_clusters << s->cluster_bits, QCOW2_META_RT, 0);
    if (s->nb_snapshots)
        range_put(s, r, &n, s->snapshots_offset, s->snapshots_size,
                  QCOW2_META_SNAPTAB, 0);
    for (uint32_t i = 0; s->snaps && i < s->nb_snapshots; i++)
        range_put(s, r, &n, s->snaps[i].l1_offset,
                  (uint64_t)s->snaps[i].l1_size * 8, QCOW2_META_SNAP_L1, i);
    qsort(r, n, sizeof(*r), range_cmp);
    for (uint32_t i = 0; i < n; i++)
        me[i] = MAX(r[i].end, i ? me[i - 1] : 0);
    free(o->rng);
    free(o->maxend);
    o->rng = r;
    o->maxend = me;
    o->nrng = n;
    return 0;
}

int qcow2_overlap_build(struct qcow2 *s)
{
    struct qcow2_overlap *o = &s->ol;
    free(o->slot);
    o->slot = NULL;
    o->cap = o->used = 0;
    o->bits = 0;
    int r = qcow2_overlap_update_ranges(s);
    for (uint32_t i = 0; r == 0 && i < s->l1_size; i++)
        r = qcow2_overlap_add(s, QCOW2_META_L2, s->l1[i] & QCOW2_OFFSET_MASK);
    for (uint64_t i = 0; r == 0 && i < s->rt_entries; i++)
        r = qcow2_overlap_add(s, QCOW2_META_RB, s->rt[i] & ~511ull);
    return r;
}

void qcow2_overlap_free(struct qcow2 *s)
{
    struct qcow2_overlap *o = &s->ol;
    free(o->slot);
    free(o->rng);
    free(o->maxend);
    memset(o, 0, sizeof(*o));
}

/* ---- queries ---- */

static bool slot_hit(const struct qcow2_ol_slot *sl, unsigned ignore,
                     int *kind)
{
    if (sl->n[0] && !(ignore & QCOW2_OL(QCOW2_META_L2)))
        *kind = QCOW2_META_L2;
    else if (sl->n[1] && !(ignore & QCOW2_OL(QCOW2_META_RB)))
        *kind = QCOW2_META_RB;
    else
        return false;
    return true;
}

int qcow2_overlap_find(struct qcow2 *s, uint64_t off, uint64_t len,
                       unsigned ignore, uint64_t *hit_off, uint32_t *hit_idx)
{
    struct qcow2_overlap *o = &s->ol;
    if (!len)
        return -1;
    uint64_t first = off >> s->cluster_bits;
    uint64_t last = (off + len - 1 < off) ? UINT64_MAX >> s->cluster_bits
                                          : (off + len - 1) >> s->cluster_bits;
    *hit_idx = 0;
    /* ranges: how many start at or before `last` */
    uint32_t lo = 0, hi = o->nrng;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (o->rng[mid].first <= last)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo && o->maxend[lo - 1] > first) {
        for (uint32_t i = 0; i < lo; i++) {
            const struct qcow2_ol_range *r = &o->rng[i];
            if (r->end > first && !(ignore & QCOW2_OL(r->kind))) {
                *hit_off = MAX(r->first, first) << s->cluster_bits;
                *hit_idx = r->idx;
                return (int)r->kind;
            }
        }
    }
    if (!o->used)
        return -1;
    int kind;
    if (last - first < o->cap) {   /* usually a single cluster */
        for (uint64_t c = first; c <= last; c++) {
            const struct qcow2_ol_slot *sl = &o->slot[slot_find(o, c + 1)];
            if (sl->key && slot_hit(sl, ignore, &kind)) {
                *hit_off = c << s->cluster_bits;
                return kind;
            }
        }
        return -1;
    }
    for (uint64_t i = 0; i < o->cap; i++) {  /* a range wider than the set */
        const struct qcow2_ol_slot *sl = &o->slot[i];
        if (sl->key && sl->key - 1 >= first && sl->key - 1 <= last &&
            slot_hit(sl, ignore, &kind)) {
            *hit_off = (sl->key - 1) << s->cluster_bits;
            return kind;
        }
    }
    return -1;
}

int qcow2_mark_corrupt(struct qcow2 *s, const char *fmt, ...)
{
    char what[BLOCK_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* Logged once per open (later writes are refused quietly), as QEMU
     * does: a VM's disk turning read-only must not go unexplained when
     * the guest only sees I/O errors. */
    if (!s->stopped)
        vlog_error("qcow2: marking image corrupt: %s", what);
    s->stopped = true;
    if (s->version >= 3 && !s->bd->read_only &&
        !(s->incompat & QCOW2_INCOMPAT_CORRUPT)) {
        s->incompat |= QCOW2_INCOMPAT_CORRUPT;
        int r = qcow2_write_incompat(s);
        if (r == 0 && fdatasync(s->hf->fd) < 0)
            r = -errno;
        if (r < 0)
            return block_seterr(s->bd, -EIO, "%s; marking the image "
                                "corrupt failed too (%s): do not use it "
                                "before 'vessel img check -r all %s'", what,
                                strerror(-r), s->file);
    }
    if (s->version < 3)
        return block_seterr(s->bd, -EIO, "%s; a version 2 image cannot be "
                            "marked corrupt, so no further writes are "
                            "accepted until it is reopened: run 'vessel img "
                            "check -r all %s' first", what, s->file);
    return block_seterr(s->bd, -EIO, "%s; the image is now marked corrupt "
                        "(incompatible feature bit 1) and refuses writes: "
                        "run 'vessel img check -r all %s'", what, s->file);
}

int qcow2_overlap_check(struct qcow2 *s, uint64_t off, uint64_t len,
                        unsigned ignore, uint64_t voff, const char *what)
{
    uint64_t hit;
    uint32_t idx;
    int k = qcow2_overlap_find(s, off, len, ignore, &hit, &idx);
    if (k < 0)
        return 0;
    char guest[48] = "";
    if (voff != QCOW2_NO_GUEST)
        snprintf(guest, sizeof(guest), " (guest offset 0x%llx)",
                 (unsigned long long)voff);
    char name[320];
    if (k == QCOW2_META_SNAP_L1 && s->snaps && idx < s->nb_snapshots)
        snprintf(name, sizeof(name), "L1 table of snapshot '%.255s'",
                 s->snaps[idx].name);
    else
        snprintf(name, sizeof(name), "%s", qcow2_meta_name(k));
    return qcow2_mark_corrupt(s, "%s: refused to write %s at host offset "
                              "0x%llx%s: it overlaps the %s at host offset "
                              "0x%llx (a refcount or table entry is wrong)",
                              s->file, what, (unsigned long long)off, guest,
                              name, (unsigned long long)hit);
}

int qcow2_write_incompat(struct qcow2 *s)
{
    /* Only the field itself: rebuilding the whole header could fail on a
     * hostile one (extensions filling the cluster), and the bit matters
     * most on exactly such images. */
    uint8_t b[8];
    be64_put(b, s->incompat);
    int r = host_pwrite(s->hf, 72, b, sizeof(b));
    if (r < 0)
        return block_seterr(s->bd, r, "%s: writing the header field "
                            "incompatible_features: %s", s->file,
                            strerror(-r));
    return 0;
}

int qcow2_check_writable(struct qcow2 *s)
{
    if (!s->stopped)
        return 0;
    return block_seterr(s->bd, -EIO, "%s: the image is marked corrupt and "
                        "refuses writes; run 'vessel img check -r all %s'",
                        s->file, s->file);
}
