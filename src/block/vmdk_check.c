/* block: `vessel img check` of a VMDK sparse extent (layout: vmdk_sparse.c).
 *
 * Checked, each fault counted as a corruption and reported naming the
 * file, the table and the entry:
 *  - every grain table the directory names lies inside the file; so does
 *    every grain a table names;
 *  - the redundant grain directory agrees with the primary one (both
 *    name a table or neither) and each redundant table holds the same
 *    entries as its primary table;
 *  - no two things share a sector: header, descriptor, directories,
 *    tables and grains (a grain named twice would be overwritten through
 *    one entry and change under the other).
 * The unclean-shutdown byte is reported (a warning: the image was not
 * closed after writes, the last of them may be missing). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/vmdk.h"
#include "util/util.h"

struct range {
    uint64_t start, len;      /* sectors */
    uint32_t table, entry;    /* what: a grain of table/entry, or metadata */
    bool grain;
};

struct ranges {
    struct range *r;
    size_t n, cap;
};

static int add(struct ranges *rs, uint64_t start, uint64_t len, uint32_t table,
               uint32_t entry, bool grain)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 1024;
        struct range *n = realloc(rs->r, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        rs->r = n;
        rs->cap = cap;
    }
    rs->r[rs->n++] = (struct range){ start, len, table, entry, grain };
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void describe(const struct range *r, char *out, size_t n)
{
    if (r->grain)
        snprintf(out, n, "the grain of table %u entry %u", r->table, r->entry);
    else if (r->entry == UINT32_MAX)
        snprintf(out, n, "%s", r->table == 0 ? "the header" : r->table == 1 ?
                 "the descriptor" : r->table == 2 ? "the grain directory" :
                 "the redundant grain directory");
    else
        snprintf(out, n, "%s grain table %u", r->table ? "redundant" : "", r->entry);
}

/* Read table i of directory `dir` (sector `sec`) into gt, host order. */
static int read_table(struct vmdk_sparse *s, uint64_t sec, uint32_t *gt)
{
    int r = host_pread(s->file, sec * VMDK_SECTOR, gt, (size_t)s->gtes * 4, false);
    for (uint32_t k = 0; r == 0 && k < s->gtes; k++)
        gt[k] = (uint32_t)le_get((const uint8_t *)&gt[k], 4);
    return r;
}

int vmdk_sparse_check(struct block_dev *bd, struct vmdk_sparse *s, FILE *report,
                      uint64_t *corrupt, uint64_t *alloc)
{
    const char *f = s->name;
    int n = 0;
    if (s->unclean_found && report)
        fprintf(report, "WARNING %s: header field unclean shutdown is set: the image "
                "was not closed after writing, its last writes may be missing\n", f);
    if (s->sw)
        return 0;
    uint64_t tsec = ((uint64_t)s->gtes * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
    uint64_t dsec = ((uint64_t)s->ngd * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
    uint64_t gsec = s->grain / VMDK_SECTOR, fsec = (s->file_size + 511) / VMDK_SECTOR;
    struct ranges rs = { 0 };
    uint32_t *gt = malloc((size_t)s->gtes * 4), *rgt = malloc((size_t)s->gtes * 4);
    int r = gt && rgt ? 0 : -ENOMEM;
    uint64_t doff = le_get(s->hdr + VMDK_H_DESC_OFF, 8);
    uint64_t dsize = le_get(s->hdr + VMDK_H_DESC_SIZE, 8);
    if (!r)
        r = add(&rs, 0, 1, 0, UINT32_MAX, false);
    if (!r && doff && dsize)
        r = add(&rs, doff, dsize, 1, UINT32_MAX, false);
    if (!r)
        r = add(&rs, s->gd_sec, dsec, 2, UINT32_MAX, false);
    if (!r && s->rgd)
        r = add(&rs, s->rgd_sec, dsec, 3, UINT32_MAX, false);
    for (uint32_t i = 0; r == 0 && i < s->ngd; i++) {
        if (s->rgd && !s->gd[i] != !s->rgd[i]) {
            block_check_fault(report, NULL, 0, &n, "%s: grain directory entry %u: the "
                              "primary directory names sector %u, the redundant one %u",
                              f, i, s->gd[i], s->rgd[i]);
            continue;
        }
        if (!s->gd[i])
            continue;
        if ((r = add(&rs, s->gd[i], tsec, 0, i, false)) < 0 ||
            (s->rgd && (r = add(&rs, s->rgd[i], tsec, 1, i, false)) < 0))
            break;
        if (read_table(s, s->gd[i], gt) < 0 || (s->rgd && read_table(s, s->rgd[i], rgt) < 0)) {
            block_check_fault(report, NULL, 0, &n, "%s: grain table %u at sector %u "
                              "cannot be read", f, i, s->gd[i]);
            continue;
        }
        for (uint32_t k = 0; k < s->gtes; k++) {
            uint32_t e = gt[k];
            if (s->rgd && rgt[k] != e) {
                block_check_fault(report, NULL, 0, &n, "%s: grain table %u entry %u: "
                                  "%u, but the redundant table has %u", f, i, k, e, rgt[k]);
            }
            if (!e || (e == 1 && (s->flags & VMDK_FLAG_ZERO_GTE)))
                continue;
            uint64_t len = s->compressed ? 1 : gsec;
            if ((uint64_t)e + len > fsec) {
                block_check_fault(report, NULL, 0, &n, "%s: grain table %u entry %u: the "
                                  "grain at sector %u runs past the end of the file "
                                  "(%llu sectors)", f, i, k, e, (unsigned long long)fsec);
                continue;
            }
            (*alloc)++;
            if ((r = add(&rs, e, len, i, k, true)) < 0)
                break;
        }
    }
    if (r == 0) {
        qsort(rs.r, rs.n, sizeof(*rs.r), by_start);
        uint64_t end = 0;
        size_t owner = 0;
        for (size_t k = 0; k < rs.n; k++) {
            if (k && rs.r[k].start < end) {
                char a[96], b[96];
                describe(&rs.r[owner], a, sizeof(a));
                describe(&rs.r[k], b, sizeof(b));
                block_check_fault(report, NULL, 0, &n, "%s: %s and %s both use sector "
                                  "%llu", f, a, b, (unsigned long long)rs.r[k].start);
            }
            if (rs.r[k].start + rs.r[k].len > end) {
                end = rs.r[k].start + rs.r[k].len;
                owner = k;
            }
        }
    }
    free(rs.r);
    free(gt);
    free(rgt);
    if (r < 0)
        return block_seterr(bd, r, "%s: out of memory checking the grain tables", f);
    *corrupt += (uint64_t)n;
    (void)bd;
    return 0;
}
