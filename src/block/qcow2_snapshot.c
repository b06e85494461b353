/* qcow2: internal snapshots (qcow2.txt "Snapshots"): the snapshot table,
 * and create / apply / delete with their L1 copies and refcount updates.
 *
 * Ordering: refcounts are raised before a new snapshot table names the
 * snapshot; a deleted snapshot leaves the table before its refcounts are
 * dropped.  A crash in between leaks clusters (repairable), never loses a
 * reference. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "block/qcow2.h"
#include "util/util.h"

void qcow2_free_snapshots(struct qcow2_snapshot *sn, uint32_t n)
{
    for (uint32_t i = 0; sn && i < n; i++) {
        free(sn[i].id);
        free(sn[i].name);
        free(sn[i].extra);
    }
    free(sn);
}

int qcow2_load_snapshots(struct qcow2 *s, char *err, size_t elen)
{
    s->snapshots_size = 0;
    if (!s->nb_snapshots)
        return 0;
    s->snaps = calloc(s->nb_snapshots, sizeof(*s->snaps));
    if (!s->snaps)
        return -ENOMEM;
    uint64_t off = s->snapshots_offset, start = off;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snaps[i];
        uint8_t h[40];
        int r = host_pread(s->hf, off, h, sizeof(h), false);
        if (r < 0)
            return block_errbuf(err, elen, -EINVAL, "%s: snapshot table "
                                "entry %u at 0x%llx lies outside the file",
                                s->file, i, (unsigned long long)off);
        sn->l1_offset = be64_get(h);
        sn->l1_size = be32_get(h + 8);
        uint16_t idl = be16_get(h + 12), nl = be16_get(h + 14);
        sn->date_sec = be32_get(h + 16);
        sn->date_nsec = be32_get(h + 20);
        sn->vm_clock_nsec = be64_get(h + 24);
        sn->vm_state_size = be32_get(h + 32);
        sn->extra_size = be32_get(h + 36);
        sn->disk_size = s->size;
        if (sn->extra_size > QCOW2_MAX_SNAP_EXTRA)
            return block_errbuf(err, elen, -EINVAL, "%s: snapshot %u: extra "
                                "data size %u (accepted: at most %u)",
                                s->file, i, sn->extra_size,
                                QCOW2_MAX_SNAP_EXTRA);
        if (sn->l1_offset % s->cluster_size ||
            (uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
            (sn->l1_size && (sn->l1_offset < s->cluster_size ||
                             sn->l1_offset > s->host_size ||
                             (uint64_t)sn->l1_size * 8 >
                                 s->host_size - sn->l1_offset)))
            return block_errbuf(err, elen, -EINVAL, "%s: snapshot %u: L1 "
                                "table offset 0x%llx size %u must be cluster "
                                "aligned and inside the file", s->file, i,
                                (unsigned long long)sn->l1_offset,
                                sn->l1_size);
        uint64_t var = (uint64_t)sn->extra_size + idl + nl;
        uint8_t *v = malloc(var + 1);
        if (!v)
            return -ENOMEM;
        r = host_pread(s->hf, off + 40, v, var, false);
        if (r < 0) {
            free(v);
            return block_errbuf(err, elen, -EINVAL, "%s: snapshot table "
                                "entry %u runs past the end of the file",
                                s->file, i);
        }
        sn->extra = malloc(sn->extra_size + 1);
        sn->id = strndup((char *)v + sn->extra_size, idl);
        sn->name = strndup((char *)v + sn->extra_size + idl, nl);
        if (!sn->extra || !sn->id || !sn->name) {
            free(v);
            return -ENOMEM;
        }
        memcpy(sn->extra, v, sn->extra_size);
        if (sn->extra_size >= 8)
            sn->vm_state_size = be64_get(v);
        if (sn->extra_size >= 16)
            sn->disk_size = be64_get(v + 8);
        free(v);
        off += (40 + var + 7) & ~7ull;
        if (off - start > (64ull << 20))
            return block_errbuf(err, elen, -EINVAL, "%s: snapshot table "
                                "larger than 64 MiB", s->file);
    }
    s->snapshots_size = off - start;
    if (s->snapshots_offset < s->cluster_size ||
        (s->l1_size && off > s->l1_offset &&
         start < s->l1_offset + (uint64_t)s->l1_size * 8) ||
        (off > s->rt_offset &&
         start < s->rt_offset + ((uint64_t)s->rt_clusters << s->cluster_bits)))
        return block_errbuf(err, elen, -EINVAL, "%s: the snapshot table at "
                            "0x%llx overlaps the header, L1 or refcount table",
                            s->file, (unsigned long long)start);
    return 0;
}

/* Write a new snapshot table holding sn[0..n), switch the header to it and
 * free the old one.  *switched tells whether the header switched: from
 * then on s owns sn (even if freeing the old table then fails). */
int qcow2_write_snapshot_table(struct qcow2 *s, struct qcow2_snapshot *sn,
                               uint32_t n, bool *switched)
{
    *switched = false;
    uint64_t size = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t extra = MAX(sn[i].extra_size, 16u);
        size += (40 + extra + strlen(sn[i].id) + strlen(sn[i].name) + 7) &
                ~7ull;
    }
    int64_t off = 0;
    if (n) {
        uint8_t *buf = calloc(1, size);
        if (!buf)
            return -ENOMEM;
        uint64_t p = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t extra = MAX(sn[i].extra_size, 16u);
            uint16_t idl = (uint16_t)strlen(sn[i].id);
            uint16_t nl = (uint16_t)strlen(sn[i].name);
            uint8_t *e = buf + p;
            be64_put(e, sn[i].l1_offset);
            be32_put(e + 8, sn[i].l1_size);
            be16_put(e + 12, idl);
            be16_put(e + 14, nl);
            be32_put(e + 16, sn[i].date_sec);
            be32_put(e + 20, sn[i].date_nsec);
            be64_put(e + 24, sn[i].vm_clock_nsec);
            be32_put(e + 32, (uint32_t)MIN(sn[i].vm_state_size, UINT32_MAX));
            be32_put(e + 36, extra);
            if (sn[i].extra_size)
                memcpy(e + 40, sn[i].extra, sn[i].extra_size);
            be64_put(e + 40, sn[i].vm_state_size);
            be64_put(e + 48, sn[i].disk_size);
            memcpy(e + 40 + extra, sn[i].id, idl);
            memcpy(e + 40 + extra + idl, sn[i].name, nl);
            p += (40 + extra + idl + nl + 7) & ~7ull;
        }
        off = qcow2_alloc_clusters(s, qcow2_clusters(s, size),
                                   "a new snapshot table", QCOW2_NO_GUEST);
        if (off < 0) {
            free(buf);
            return (int)off;
        }
        int r = host_pwrite(s->hf, (uint64_t)off, buf, size);
        free(buf);
        if (r < 0)
            return block_seterr(s->bd, r, "%s: writing snapshot table: %s",
                                s->file, strerror(-r));
        uint64_t end = (uint64_t)off + qcow2_clusters(s, size) *
                                       s->cluster_size;
        if (end > s->host_size) {
            s->host_size = end;
            if (ftruncate(s->hf->fd, (off_t)end) < 0)
                return -errno;
        }
        fdatasync(s->hf->fd);
    }
    uint64_t old_off = s->snapshots_offset, old_size = s->snapshots_size;
    struct qcow2_snapshot *old = s->snaps;
    uint32_t old_n = s->nb_snapshots;
    s->snaps = sn;
    s->nb_snapshots = n;
    s->snapshots_offset = (uint64_t)off;
    s->snapshots_size = size;
    int r = qcow2_write_header_fields(s, 60, 12);
    if (r < 0) {
        s->snaps = old;
        s->nb_snapshots = old_n;
        s->snapshots_offset = old_off;
        s->snapshots_size = old_size;
        return r;
    }
    *switched = true;
    /* the new table and snapshot L1 tables are metadata from now on, the
     * old table no longer is (before it is freed) */
    int ru = qcow2_overlap_update_ranges(s);
    qcow2_free_snapshots(old, 0);
    (void)old_n;
    if (old_size)
        r = qcow2_free_clusters(s, old_off, old_size);
    return ru < 0 ? ru : r;
}

/* Every L2 table and L2 entry reached from l1 is valid.  Checked before
 * any refcount changes: a bad entry found halfway through would leave the
 * tables walked so far with a refcount (and COPIED flags) one off. */
static int validate_tree(struct qcow2 *s, const uint64_t *l1,
                         uint32_t l1_size, uint8_t *tbl)
{
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK;
        if (!l2off)
            continue;
        int r = qcow2_validate_meta(s, l2off, "L2 table");
        if (r == 0)
            r = host_pread(s->hf, l2off, tbl, s->cluster_size, false);
        for (uint64_t j = 0; j < s->l2_entries && r == 0; j++)
            r = qcow2_l2_entry_valid(s, be64_get(tbl + j * 8));
        if (r < 0)
            return r;
    }
    return 0;
}

static int update_tree_mem(struct qcow2 *s, uint64_t *l1, uint32_t l1_size,
                           int addend, bool active)
{
    uint64_t cs = s->cluster_size;
    uint8_t *tbl = malloc(cs);
    if (!tbl)
        return -ENOMEM;
    int r = validate_tree(s, l1, l1_size, tbl);
    for (uint32_t i = 0; i < l1_size && !r; i++) {
        uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK;
        if (!l2off)
            continue;
        r = qcow2_validate_meta(s, l2off, "L2 table");
        if (r == 0)
            r = host_pread(s->hf, l2off, tbl, cs, false);
        if (r < 0)
            break;
        bool changed = false;
        for (uint64_t j = 0; j < s->l2_entries && !r; j++) {
            uint64_t e = be64_get(tbl + j * 8);
            if (!e)
                continue;
            r = qcow2_l2_entry_valid(s, e);
            if (r < 0)
                break;
            if (e & QCOW2_COMPRESSED) {
                if (addend) {
                    uint64_t o, l;
                    qcow2_compressed_span(s, e, &o, &l);
                    for (uint64_t c = o >> s->cluster_bits;
                         c <= (o + l - 1) >> s->cluster_bits && !r; c++)
                        r = qcow2_update_refcount(s, c, addend, NULL);
                }
                continue;
            }
            uint64_t off = e & QCOW2_OFFSET_MASK;
            if (!off)
                continue;
            uint64_t rc;
            r = qcow2_update_refcount(s, off >> s->cluster_bits, addend, &rc);
            if (r < 0)
                break;
            if (active) {
                uint64_t ne = rc == 1 ? (e | QCOW2_COPIED)
                                      : (e & ~QCOW2_COPIED);
                if (ne != e) {
                    be64_put(tbl + j * 8, ne);
                    changed = true;
                }
            }
        }
        if (r < 0)
            break;
        if (changed) {
            qcow2_cache_drop(&s->l2c, l2off);
            r = qcow2_overlap_check(s, l2off, cs, QCOW2_OL(QCOW2_META_L2),
                                    QCOW2_NO_GUEST, "an L2 table");
            if (r == 0)
                r = host_pwrite(s->hf, l2off, tbl, cs);
            if (r < 0)
                break;
        }
        uint64_t rc;
        r = qcow2_update_refcount(s, l2off >> s->cluster_bits, addend, &rc);
        if (r < 0)
            break;
        if (active) {
            uint64_t ne = rc == 1 ? (l1[i] | QCOW2_COPIED)
                                  : (l1[i] & ~QCOW2_COPIED);
            if (ne != l1[i]) {
                l1[i] = ne;
                r = qcow2_write_l1_entry(s, i);
            }
        }
    }
    free(tbl);
    return r;
}

static int load_l1(struct qcow2 *s, uint64_t off, uint32_t n, uint64_t **out)
{
    *out = calloc(n ? n : 1, 8);
    uint8_t *raw = malloc((uint64_t)n * 8 + 1);
    if (!*out || !raw) {
        free(raw);
        return -ENOMEM;
    }
    int r = host_pread(s->hf, off, raw, (uint64_t)n * 8, false);
    if (r < 0) {
        free(raw);
        return block_seterr(s->bd, -EIO, "%s: snapshot L1 table at 0x%llx "
                            "is outside the file", s->file,
                            (unsigned long long)off);
    }
    for (uint32_t i = 0; i < n; i++) {
        (*out)[i] = be64_get(raw + i * 8);
        if ((*out)[i] & QCOW2_L1_RESERVED) {
            free(raw);
            return block_seterr(s->bd, -EIO, "%s: snapshot L1 entry %u has "
                                "reserved bits set", s->file, i);
        }
    }
    free(raw);
    return 0;
}

int qcow2_update_tree_refcounts(struct qcow2 *s, uint64_t l1_offset,
                                uint32_t l1_size, int addend)
{
    if (l1_offset == s->l1_offset)
        return update_tree_mem(s, s->l1, s->l1_size, addend, true);
    uint64_t *l1;
    int r = load_l1(s, l1_offset, l1_size, &l1);
    if (r == 0)
        r = update_tree_mem(s, l1, l1_size, addend, false);
    free(l1);
    return r;
}

static int find_snapshot(struct qcow2 *s, const char *name)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++)
        if (!strcmp(s->snaps[i].id, name))
            return (int)i;
    for (uint32_t i = 0; i < s->nb_snapshots; i++)
        if (!strcmp(s->snaps[i].name, name))
            return (int)i;
    return -1;
}

static struct qcow2 *snap_dev(struct block_dev *bd, bool write, int *err)
{
    if (bd->drv->fmt != BLOCK_FMT_QCOW2) {
        *err = block_seterr(bd, -ENOTSUP, "%s: snapshots need a qcow2 image",
                            bd->filename);
        return NULL;
    }
    if (write && bd->read_only) {
        *err = block_seterr(bd, -EROFS, "%s: image is opened read-only",
                            bd->filename);
        return NULL;
    }
    if (write && (*err = qcow2_check_writable(bd->opaque)) < 0)
        return NULL;
    return bd->opaque;
}

static int snapshot_create(struct block_dev *bd, const char *name)
{
    int r;
    struct qcow2 *s = snap_dev(bd, true, &r);
    if (!s)
        return r;
    if (!*name || strlen(name) > 255)
        return block_seterr(bd, -EINVAL, "%s: snapshot name must be 1 to 255 "
                            "bytes", s->file);
    for (uint32_t i = 0; i < s->nb_snapshots; i++)
        if (!strcmp(s->snaps[i].name, name))
            return block_seterr(bd, -EEXIST, "%s: a snapshot named '%s' "
                                "already exists", s->file, name);
    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
        return block_seterr(bd, -ENOSPC, "%s: too many snapshots", s->file);
    unsigned long maxid = 0;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        char *end;
        unsigned long v = strtoul(s->snaps[i].id, &end, 10);
        if (!*end && v > maxid)
            maxid = v;
    }
    /* 1. copy of the active L1 table */
    uint64_t bytes = (uint64_t)s->l1_size * 8;
    int64_t l1off = 0;
    if (bytes) {
        l1off = qcow2_alloc_clusters(s, qcow2_clusters(s, bytes),
                                     "a snapshot L1 table", QCOW2_NO_GUEST);
        if (l1off < 0)
            return (int)l1off;
        uint8_t *raw = calloc(1, bytes);
        if (!raw)
            return -ENOMEM;
        for (uint32_t i = 0; i < s->l1_size; i++)
            be64_put(raw + i * 8, s->l1[i]);
        r = host_pwrite(s->hf, (uint64_t)l1off, raw, bytes);
        free(raw);
        if (r < 0)
            return block_seterr(bd, r, "%s: writing snapshot L1: %s",
                                s->file, strerror(-r));
        uint64_t end = (uint64_t)l1off + qcow2_clusters(s, bytes) *
                                         s->cluster_size;
        if (end > s->host_size) {
            s->host_size = end;
            if (ftruncate(s->hf->fd, (off_t)end) < 0)
                return -errno;
        }
    }
    /* 2. every L2 table and data cluster gains a reference */
    r = update_tree_mem(s, s->l1, s->l1_size, 1, true);
    if (r < 0)
        return r;
    /* 3. the new snapshot table */
    struct qcow2_snapshot *sn = calloc(s->nb_snapshots + 1, sizeof(*sn));
    if (!sn)
        return -ENOMEM;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        sn[i] = s->snaps[i];
    }
    struct qcow2_snapshot *n = &sn[s->nb_snapshots];
    char idbuf[32];
    snprintf(idbuf, sizeof(idbuf), "%lu", maxid + 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    n->l1_offset = (uint64_t)l1off;
    n->l1_size = s->l1_size;
    n->id = strdup(idbuf);
    n->name = strdup(name);
    n->date_sec = (uint32_t)ts.tv_sec;
    n->date_nsec = (uint32_t)ts.tv_nsec;
    n->disk_size = s->size;
    if (!n->id || !n->name) {
        free(n->id); free(n->name); free(sn);
        return -ENOMEM;
    }
    bool switched;
    r = qcow2_write_snapshot_table(s, sn, s->nb_snapshots + 1, &switched);
    if (r < 0 && !switched) {
        free(n->id); free(n->name); free(sn);
    }
    return r;
}

static int snapshot_apply(struct block_dev *bd, const char *name)
{
    int r;
    struct qcow2 *s = snap_dev(bd, true, &r);
    if (!s)
        return r;
    int idx = find_snapshot(s, name);
    if (idx < 0)
        return block_seterr(bd, -ENOENT, "%s: no snapshot with id or name "
                            "'%s'", s->file, name);
    struct qcow2_snapshot *sn = &s->snaps[idx];
    uint64_t maxsize = qcow2_max_size(s->cluster_bits);
    if (sn->disk_size % 512 || sn->disk_size > maxsize)
        return block_seterr(bd, -EINVAL, "%s: snapshot '%s' records a disk "
                            "size of %llu bytes; accepted: a multiple of 512 "
                            "up to %llu", s->file, sn->name,
                            (unsigned long long)sn->disk_size,
                            (unsigned long long)maxsize);
    uint64_t *sl1;
    r = load_l1(s, sn->l1_offset, sn->l1_size, &sl1);
    if (r < 0) {
        free(sl1);
        return r;
    }
    uint64_t disk = sn->disk_size;
    uint32_t need = (uint32_t)MAX((uint64_t)sn->l1_size,
                                  qcow2_l1_needed(disk, s->cluster_bits));
    r = update_tree_mem(s, sl1, sn->l1_size, 1, false);
    if (r < 0) {
        free(sl1);
        return r;
    }
    uint64_t *old = s->l1;
    uint32_t old_size = s->l1_size;
    uint32_t nsize = MAX(need, old_size);
    uint64_t *nl1 = calloc(nsize ? nsize : 1, 8);
    uint8_t *raw = calloc(1, (uint64_t)nsize * 8 + 1);
    if (!nl1 || !raw) {
        free(sl1); free(nl1); free(raw);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < sn->l1_size; i++)
        nl1[i] = sl1[i] & ~QCOW2_COPIED;
    free(sl1);
    for (uint32_t i = 0; i < nsize; i++)
        be64_put(raw + i * 8, nl1[i]);
    uint64_t old_off = s->l1_offset;
    int64_t noff = (int64_t)s->l1_offset;
    if (nsize > old_size) {
        noff = qcow2_alloc_clusters(s, qcow2_clusters(s, (uint64_t)nsize * 8),
                                    "a new L1 table", QCOW2_NO_GUEST);
        if (noff < 0) {
            free(nl1); free(raw);
            return (int)noff;
        }
    }
    r = host_pwrite(s->hf, (uint64_t)noff, raw, (uint64_t)nsize * 8);
    free(raw);
    if (r < 0) {
        free(nl1);
        return block_seterr(bd, r, "%s: writing L1 table: %s", s->file,
                            strerror(-r));
    }
    if ((uint64_t)noff + (uint64_t)nsize * 8 > s->host_size)
        s->host_size = (uint64_t)noff + (uint64_t)nsize * 8;
    s->l1 = nl1;
    s->l1_size = nsize;
    s->l1_offset = (uint64_t)noff;
    qcow2_cache_clear(&s->l2c);
    s->cdesc = 0;
    /* The snapshot's L2 tables are the active ones now; the old ones stop
     * being metadata before their refcounts drop below. */
    int rm = qcow2_overlap_build(s);
    if (rm < 0) {
        free(old);
        return rm;
    }
    if (nsize > old_size || disk != s->size) {
        s->size = disk;
        r = qcow2_write_header_fields(s, 24, 48 - 24);
        if (r < 0) {
            free(old);
            return r;
        }
        bd->size = disk;
        if (nsize > old_size && old_size)
            r = qcow2_free_clusters(s, old_off, (uint64_t)old_size * 8);
    }
    if (r == 0)
        r = update_tree_mem(s, old, old_size, -1, false);
    free(old);
    if (r == 0)
        r = update_tree_mem(s, s->l1, s->l1_size, 0, true);
    return r;
}

static int snapshot_delete(struct block_dev *bd, const char *name)
{
    int r;
    struct qcow2 *s = snap_dev(bd, true, &r);
    if (!s)
        return r;
    int idx = find_snapshot(s, name);
    if (idx < 0)
        return block_seterr(bd, -ENOENT, "%s: no snapshot with id or name "
                            "'%s'", s->file, name);
    struct qcow2_snapshot gone = s->snaps[idx];
    uint32_t n = s->nb_snapshots - 1;
    struct qcow2_snapshot *sn = calloc(n ? n : 1, sizeof(*sn));
    if (!sn)
        return -ENOMEM;
    for (uint32_t i = 0, k = 0; i < s->nb_snapshots; i++)
        if ((int)i != idx)
            sn[k++] = s->snaps[i];
    bool switched;
    r = qcow2_write_snapshot_table(s, sn, n, &switched);
    if (r < 0 && !switched) {
        free(sn);
        return r;
    }
    /* Once the table no longer names it, the snapshot is gone: if its
     * clusters cannot be released they merely leak. */
    if (r == 0)
        r = qcow2_update_tree_refcounts(s, gone.l1_offset, gone.l1_size, -1);
    if (r == 0 && gone.l1_size)
        r = qcow2_free_clusters(s, gone.l1_offset,
                                (uint64_t)gone.l1_size * 8);
    free(gone.id);
    free(gone.name);
    free(gone.extra);
    if (r == 0)
        r = update_tree_mem(s, s->l1, s->l1_size, 0, true);
    return r;
}

int block_snapshot_create(struct block_dev *bd, const char *name)
{
    pthread_mutex_lock(&bd->lock);
    int r = snapshot_create(bd, name);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_snapshot_apply(struct block_dev *bd, const char *name)
{
    pthread_mutex_lock(&bd->lock);
    int r = snapshot_apply(bd, name);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_snapshot_delete(struct block_dev *bd, const char *name)
{
    pthread_mutex_lock(&bd->lock);
    int r = snapshot_delete(bd, name);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_snapshot_list(struct block_dev *bd,
                        struct block_snapshot_info **out, unsigned *n)
{
    struct block_info info;
    int r = block_get_info(bd, &info);
    if (r < 0)
        return r;
    *out = info.snapshots;
    *n = info.nb_snapshots;
    return 0;
}
