/* vmm: diff snapshots (snapshot.h, docs/snapshot.md).
 *
 * Writing: the dirty log of every RAM region is fetched and cleared with
 * the VM paused (snap_dirty_take; a full snapshot takes it too, so the
 * next diff is relative to it), the dirty pages that hold data go to the
 * memory file at their usual offsets, and the state file records the
 * parent and the dirty bitmaps ("memdiff"): a dirtied page that is now
 * all zeros is a hole in the file like a page that was not dirtied, and
 * only the bitmap tells that it must still override its parent.
 *
 * Reading: the chain is walked newest to oldest, every parent checked
 * (its state file's CRC-32C against the one its child recorded), bounded
 * and loop-free; the full snapshot is mapped as for a full restore and the
 * diffs are laid over it oldest first, each run of dirty pages mapped
 * copy-on-write from the diff's memory file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/util.h"
#include "vmm/snapshot.h"

#define MAX_REGIONS MEM_MAX_RAM_REGIONS

struct snap_dirty {
    int n;
    struct mem_ram_info reg[MAX_REGIONS];
    uint64_t *bits[MAX_REGIONS];        /* ceil(pages / 64) words each */
};

static uint64_t words_of(uint64_t size)
{
    return ((size >> MEM_PAGE_SHIFT) + 63) / 64;
}

static bool bit(const uint64_t *b, uint64_t i)
{
    return (b[i / 64] >> (i % 64)) & 1;
}

void snap_dirty_free(struct snap_dirty *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n; i++)
        free(d->bits[i]);
    free(d);
}

void snap_dirty_put_back(struct mem *m, const struct snap_dirty *d)
{
    for (int i = 0; d && i < d->n; i++) {
        if (!d->bits[i])
            continue;
        for (uint64_t p = 0; p < d->reg[i].size >> MEM_PAGE_SHIFT; p++)
            if (bit(d->bits[i], p))
                mem_mark_dirty(m, d->reg[i].gpa + (p << MEM_PAGE_SHIFT), 1);
    }
}

int snap_dirty_take(struct mem *m, struct snap_dirty **out, char *err, size_t elen)
{
    *out = NULL;
    struct snap_dirty *d = calloc(1, sizeof(*d));
    if (!d)
        return errbuf(err, elen, -ENOMEM, "out of memory");
    int n = mem_ram_regions(m, d->reg, MAX_REGIONS);
    if (n > MAX_REGIONS) {
        free(d);
        return errbuf(err, elen, -E2BIG, "%d RAM regions; at most %d", n, MAX_REGIONS);
    }
    for (int i = 0; i < n; i++) {
        d->bits[i] = calloc((size_t)words_of(d->reg[i].size), sizeof(uint64_t));
        if (!d->bits[i]) {
            d->n = i;
            snap_dirty_put_back(m, d);
            snap_dirty_free(d);
            return errbuf(err, elen, -ENOMEM, "out of memory");
        }
        d->n = i + 1;
        int rc = mem_dirty_fetch(m, d->reg[i].gpa, d->reg[i].size, d->bits[i], true);
        if (rc) {
            uint64_t gpa = d->reg[i].gpa;
            d->n = i;           /* this region's log was not cleared */
            snap_dirty_put_back(m, d);
            free(d->bits[i]);
            snap_dirty_free(d);
            return errbuf(err, elen, rc, "RAM at 0x%llx: cannot fetch its dirty log: %s",
                          (unsigned long long)gpa, strerror(-rc));
        }
    }
    *out = d;
    return 0;
}

/* Does the RAM page at gpa hold anything but zeros? */
static bool page_has_data(struct mem *m, uint64_t gpa)
{
    struct iovec v;
    int nv;
    if (mem_map_iovec(m, gpa, MEM_PAGE_SIZE, false, &v, 1, &nv))
        return false;
    bool data = !snap_page_is_zero(v.iov_base);
    mem_unpin_iovec(m, &v, nv, false);
    return data;
}

int snap_diff_write(const char *dir, struct mem *m, const struct snap_dirty *d,
                    const char *parent, uint32_t parent_crc,
                    struct sstate_writer *w, uint64_t *written,
                    char *err, size_t elen)
{
    size_t plen = strlen(parent);
    if (parent[0] != '/' || plen >= PATH_MAX)
        return errbuf(err, elen, -EINVAL, "parent snapshot %s: not an absolute path "
                      "under %d bytes", parent, PATH_MAX);
    int fd = safefile_create(dir, "memory", 0600, err, elen);
    if (fd < 0)
        return fd;
    sstate_begin(w, "parent", 1);
    sstate_put_u32(w, (uint32_t)plen);
    sstate_put_bytes(w, parent, plen);
    sstate_put_u32(w, parent_crc);
    int rc = sstate_end(w);
    if (rc) {
        close(fd);
        return errbuf(err, elen, rc, "parent section: %s", strerror(-rc));
    }
    uint64_t out = 0, bytes = 0;
    struct snap_wb wb;
    snap_wb_start(&wb, fd);
    sstate_begin(w, "memdiff", 1);
    sstate_put_u32(w, (uint32_t)d->n);
    for (int i = 0; i < d->n && !rc; i++) {
        uint64_t pages = d->reg[i].size >> MEM_PAGE_SHIFT, words = words_of(d->reg[i].size);
        uint64_t count = 0;
        for (uint64_t k = 0; k < words; k++)
            count += (uint64_t)__builtin_popcountll(d->bits[i][k]);
        sstate_put_u64(w, d->reg[i].gpa);
        sstate_put_u64(w, d->reg[i].size);
        sstate_put_u64(w, out);
        sstate_put_u64(w, count);
        for (uint64_t k = 0; k < words; k++)
            sstate_put_u64(w, d->bits[i][k]);
        /* Dirty pages with data, coalesced into one write per run; dirty
         * zero pages stay holes (the bitmap says they override). */
        uint64_t run = 0, run_pages = 0;
        for (uint64_t p = 0; p < pages && !rc; p++) {
            uint64_t gpa = d->reg[i].gpa + (p << MEM_PAGE_SHIFT);
            bool data = bit(d->bits[i], p) && page_has_data(m, gpa);
            if (data && !run_pages)
                run = p;
            run_pages += data;
            if (run_pages && (!data || p + 1 == pages)) {
                rc = snap_write_ram(fd, m, d->reg[i].gpa + (run << MEM_PAGE_SHIFT),
                                    run_pages << MEM_PAGE_SHIFT,
                                    (off_t)(out + (run << MEM_PAGE_SHIFT)));
                if (rc)
                    errbuf(err, elen, rc, "%s/memory.tmp: write: %s", dir, strerror(-rc));
                bytes += run_pages << MEM_PAGE_SHIFT;
                snap_wb_kick(&wb, (off_t)(out + ((run + run_pages) << MEM_PAGE_SHIFT)));
                run_pages = 0;
            }
        }
        out += d->reg[i].size;
    }
    snap_wb_stop(&wb);
    if (!rc && ftruncate(fd, (off_t)out) < 0)
        rc = errbuf(err, elen, -errno, "%s/memory.tmp: set size: %s", dir, strerror(errno));
    if (!rc && fsync(fd) < 0)     /* named by snap_state_write */
        rc = errbuf(err, elen, -errno, "%s/memory.tmp: fsync: %s", dir, strerror(errno));
    close(fd);
    int se = sstate_end(w);
    if (!rc && se)
        rc = errbuf(err, elen, se, "memdiff section: %s", strerror(-se));
    if (written)
        *written = bytes;
    return rc;
}

/* ---- reading a chain ---- */

struct region {
    uint64_t gpa, size, off;
    size_t bits_at;                     /* offset of the bitmap in the buffer */
};

/* One diff of the chain, newest first. */
struct link {
    char dir[PATH_MAX];
    uint8_t *buf;                       /* its state's sections (owned, or the
                                           caller's for the newest) */
    int fd;                             /* its memory file */
    uint32_t n;
    struct region *reg;
};

static bool at_tag(const struct sstate_reader *r, const char *tag)
{
    char t[SSTATE_TAG_LEN] = {0};
    memcpy(t, tag, strlen(tag));
    return r->len - r->pos >= SSTATE_HDR_LEN && !memcmp(r->buf + r->pos, t, SSTATE_TAG_LEN);
}

/* The "parent" section: path (absolute) and CRC of its state file. */
static int read_parent(const char *dir, struct sstate_reader *r, char *parent,
                       uint32_t *crc, char *err, size_t elen)
{
    uint32_t ver;
    int rc = sstate_open(r, "parent", 1, &ver);
    if (rc)
        return errbuf(err, elen, rc, "%s/state: parent section: %s", dir,
                      rc == -ENOTSUP ? "a newer version" : "malformed");
    uint32_t len = sstate_get_u32(r);
    if (!len || len >= PATH_MAX || len > r->end - r->pos) {
        sstate_fail(r, -EINVAL);
        return errbuf(err, elen, -EINVAL, "%s/state: parent section: path length %u; "
                      "expected 1 to %d bytes inside the section", dir, len, PATH_MAX - 1);
    }
    sstate_get_bytes(r, parent, len);
    parent[len] = 0;
    *crc = sstate_get_u32(r);
    if ((rc = sstate_close(r)))
        return errbuf(err, elen, rc, "%s/state: parent section malformed", dir);
    if (parent[0] != '/' || strlen(parent) != len)
        return errbuf(err, elen, -EINVAL, "%s/state: parent section: the path is not "
                      "an absolute path (a NUL or a relative path)", dir);
    return 0;
}

/* The "memdiff" section into l (the bitmaps stay in r's buffer), and its
 * memory file opened and sized. */
static int read_memdiff(struct link *l, struct sstate_reader *r, char *err, size_t elen)
{
    uint32_t ver;
    int rc = sstate_open(r, "memdiff", 1, &ver);
    if (rc)
        return errbuf(err, elen, rc, "%s/state: no valid memdiff section", l->dir);
    uint32_t n = sstate_get_u32(r);
    if (!n || n > MAX_REGIONS) {
        sstate_fail(r, -EINVAL);
        return errbuf(err, elen, -EINVAL, "%s/state: memdiff section: %u regions; "
                      "expected 1 to %d", l->dir, n, MAX_REGIONS);
    }
    l->reg = calloc(n, sizeof(*l->reg));
    if (!l->reg)
        return errbuf(err, elen, -ENOMEM, "out of memory");
    l->n = n;
    uint64_t end = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct region *g = &l->reg[i];
        g->gpa = sstate_get_u64(r);
        g->size = sstate_get_u64(r);
        g->off = sstate_get_u64(r);
        uint64_t count = sstate_get_u64(r);
        bool ok = !r->err && g->size && !((g->gpa | g->size) & (MEM_PAGE_SIZE - 1)) &&
                  g->gpa + g->size > g->gpa && g->off == end && end + g->size > end &&
                  (i == 0 || g->gpa >= l->reg[i - 1].gpa + l->reg[i - 1].size);
        uint64_t pages = g->size >> MEM_PAGE_SHIFT, words = words_of(g->size);
        if (ok && words > (r->end - r->pos) / 8)
            ok = false;
        if (!ok) {
            sstate_fail(r, -EINVAL);
            return errbuf(err, elen, -EINVAL, "%s/state: memdiff region %u (gpa 0x%llx, "
                          "%llu bytes, file offset %llu) is not page aligned, overlaps, "
                          "is out of order, or its bitmap is cut short", l->dir, i,
                          (unsigned long long)g->gpa, (unsigned long long)g->size,
                          (unsigned long long)g->off);
        }
        g->bits_at = r->pos;
        uint64_t seen = 0, spare = 0;
        for (uint64_t k = 0; k < words; k++) {
            uint64_t v = sstate_get_u64(r);
            seen += (uint64_t)__builtin_popcountll(v);
            if (k + 1 == words && pages % 64)
                spare = v >> (pages % 64);
        }
        if (seen != count || spare) {
            sstate_fail(r, -EINVAL);
            return errbuf(err, elen, -EINVAL, "%s/state: memdiff region %u: the bitmap "
                          "marks %llu pages%s; the count says %llu", l->dir, i,
                          (unsigned long long)seen, spare ? ", some past the region" : "",
                          (unsigned long long)count);
        }
        end += g->size;
    }
    if ((rc = sstate_close(r)))
        return errbuf(err, elen, rc, "%s/state: memdiff section malformed", l->dir);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/memory", l->dir);
    l->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (l->fd < 0)
        return errbuf(err, elen, -errno, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(l->fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != end)
        return errbuf(err, elen, -EINVAL, "%s: not a regular file of %llu bytes, as the "
                      "state file says", path, (unsigned long long)end);
    return 0;
}

static bool link_bit(const struct link *l, const struct region *g, uint64_t p)
{
    return (le_get(l->buf + g->bits_at + (p / 64) * 8, 8) >> (p % 64)) & 1;
}

/* Call fn for each run of dirty pages of l; stops at its error. */
static int for_runs(const struct link *l, int (*fn)(void *, const struct region *,
                                                   uint64_t, uint64_t), void *opaque)
{
    for (uint32_t i = 0; i < l->n; i++) {
        const struct region *g = &l->reg[i];
        uint64_t pages = g->size >> MEM_PAGE_SHIFT;
        for (uint64_t p = 0; p < pages;) {
            uint64_t w = le_get(l->buf + g->bits_at + (p / 64) * 8, 8) >> (p % 64);
            if (!w) {
                p = (p | 63) + 1;       /* the rest of this word is clean */
                continue;
            }
            p += (uint64_t)__builtin_ctzll(w);
            uint64_t q = p;
            while (q < pages && link_bit(l, g, q))
                q++;
            int rc = fn(opaque, g, p, q - p);
            if (rc)
                return rc;
            p = q;
        }
    }
    return 0;
}

struct overlay {
    struct mem *m;
    int fd;
    uint64_t runs;
};

static int count_run(void *opaque, const struct region *g, uint64_t p, uint64_t n)
{
    (void)g, (void)p, (void)n;
    ((struct overlay *)opaque)->runs++;
    return 0;
}

static int map_run(void *opaque, const struct region *g, uint64_t p, uint64_t n)
{
    struct overlay *o = opaque;
    return mem_ram_map_file(o->m, g->gpa + (p << MEM_PAGE_SHIFT), n << MEM_PAGE_SHIFT,
                            o->fd, g->off + (p << MEM_PAGE_SHIFT));
}

/* Copy a run in: pread straight into the guest pages (pinned). */
static int copy_run(void *opaque, const struct region *g, uint64_t p, uint64_t n)
{
    struct overlay *o = opaque;
    while (n) {
        uint64_t step = MIN(n, 64);
        struct iovec v[64];
        int nv;
        int rc = mem_map_iovec(o->m, g->gpa + (p << MEM_PAGE_SHIFT), step << MEM_PAGE_SHIFT,
                               true, v, 64, &nv);
        if (rc)
            return rc;
        off_t off = (off_t)(g->off + (p << MEM_PAGE_SHIFT));
        for (int k = 0; k < nv && !rc; k++) {
            for (size_t done = 0; done < v[k].iov_len && !rc;) {
                ssize_t got = pread(o->fd, (uint8_t *)v[k].iov_base + done,
                                    v[k].iov_len - done, off);
                if (got < 0 && errno == EINTR)
                    continue;
                rc = got < 0 ? -errno : got == 0 ? -EIO : 0;
                done += got > 0 ? (size_t)got : 0;
                off += got > 0 ? got : 0;
            }
        }
        mem_unpin_iovec(o->m, v, nv, true);
        if (rc)
            return rc;
        p += step;
        n -= step;
    }
    return 0;
}

static int clear_dirty(struct mem *m)
{
    struct mem_ram_info reg[MAX_REGIONS];
    int n = mem_ram_regions(m, reg, MAX_REGIONS), rc = 0;
    for (int i = 0; i < n && i < MAX_REGIONS && !rc; i++) {
        uint64_t *b = malloc((size_t)words_of(reg[i].size) * 8);
        rc = b ? mem_dirty_fetch(m, reg[i].gpa, reg[i].size, b, true) : -ENOMEM;
        free(b);
    }
    return rc;
}

/* The region table (gpa and size) of the full snapshot's "memory"
 * section, read from a copy of r without mapping anything: the diffs are
 * checked against it before any memory is mapped, so that a refused chain
 * leaves the board's RAM as it was (snap_memory_map checks the rest).
 * 0, or -EINVAL when the section cannot be read. */
static int base_table(struct sstate_reader r, struct mem_ram_info *reg, uint32_t *n)
{
    uint32_t ver;
    if (sstate_open(&r, "memory", 1, &ver))
        return -EINVAL;
    *n = sstate_get_u32(&r);
    if (!*n || *n > MAX_REGIONS)
        return sstate_fail(&r, -EINVAL);
    for (uint32_t i = 0; i < *n; i++) {
        reg[i].gpa = sstate_get_u64(&r);
        reg[i].size = sstate_get_u64(&r);
        sstate_get_u64(&r);                     /* the file offset */
    }
    return sstate_close(&r);
}

/* Every diff's regions are the full snapshot's. */
static int check_tables(const struct link *links, int nl, const struct mem_ram_info *base,
                        uint32_t nbase, const char *dir, char *err, size_t elen)
{
    for (int j = 0; j < nl; j++) {
        bool same = links[j].n == nbase;
        for (uint32_t i = 0; same && i < nbase; i++)
            same = links[j].reg[i].gpa == base[i].gpa && links[j].reg[i].size == base[i].size;
        if (!same)
            return errbuf(err, elen, -EINVAL, "%s/state: memdiff section: the RAM "
                          "regions (%u) differ from those of the full snapshot %s (%u)",
                          links[j].dir, links[j].n, dir, nbase);
    }
    return 0;
}

int snap_chain_map(const char *dir, struct mem *m, struct sstate_reader *r,
                   unsigned max_maps, char *err, size_t elen)
{
    if (!at_tag(r, "parent"))
        return snap_memory_map(dir, m, r, err, elen);
    struct link *links = calloc(SNAP_CHAIN_MAX, sizeof(*links));
    struct { dev_t dev; ino_t ino; } seen[SNAP_CHAIN_MAX];
    if (!links)
        return errbuf(err, elen, -ENOMEM, "out of memory");
    int nl = 0, rc = 0;
    uint8_t *base_buf = NULL;
    size_t base_len = 0;
    char parent[PATH_MAX], path[PATH_MAX + 16];
    struct sstate_reader rd = *r, *cur = r;
    snprintf(links[0].dir, sizeof(links[0].dir), "%s", dir);
    for (;;) {
        struct link *l = &links[nl];
        l->fd = -1;
        l->buf = (uint8_t *)cur->buf;
        nl++;
        snprintf(path, sizeof(path), "%s/state", l->dir);
        struct stat st;
        if (stat(path, &st) < 0) {
            rc = errbuf(err, elen, -errno, "%s: %s", path, strerror(errno));
            goto out;
        }
        seen[nl - 1].dev = st.st_dev;
        seen[nl - 1].ino = st.st_ino;
        uint32_t want = 0;
        if ((rc = read_parent(l->dir, cur, parent, &want, err, elen)) ||
            (rc = read_memdiff(l, cur, err, elen)))
            goto out;
        snprintf(path, sizeof(path), "%s/state", parent);
        if (stat(path, &st) < 0) {
            rc = errbuf(err, elen, -errno, "%s/state: its parent snapshot %s: %s", l->dir,
                        path, strerror(errno));
            goto out;
        }
        for (int j = 0; j < nl; j++)
            if (seen[j].dev == st.st_dev && seen[j].ino == st.st_ino) {
                rc = errbuf(err, elen, -EINVAL, "%s/state: its parent %s is already in "
                            "the chain (a loop)", l->dir, parent);
                goto out;
            }
        if (nl == SNAP_CHAIN_MAX) {
            rc = errbuf(err, elen, -EINVAL, "%s: the snapshot chain is longer than %d "
                        "snapshots (at %s)", dir, SNAP_CHAIN_MAX, parent);
            goto out;
        }
        uint32_t crc;
        uint8_t *buf;
        size_t len;
        if ((rc = snap_state_read_crc(parent, &buf, &len, &crc, err, elen)))
            goto out;
        if (crc != want) {
            free(buf);
            rc = errbuf(err, elen, -EINVAL, "%s/state: its parent snapshot %s was "
                        "replaced since (state CRC-32C 0x%08x, recorded 0x%08x)", l->dir,
                        parent, crc, want);
            goto out;
        }
        sstate_reader_init(&rd, buf, len);
        if (!at_tag(&rd, "parent")) {
            base_buf = buf;
            base_len = len;
            break;
        }
        links[nl].buf = buf;
        snprintf(links[nl].dir, sizeof(links[nl].dir), "%s", parent);
        cur = &rd;      /* the next link; it owns buf (freed at out) */
    }
    /* parent is the full snapshot: every table checked, then it is mapped
     * (snap_memory_map checks it against the board's RAM first), then the
     * diffs, oldest first. */
    struct mem_ram_info table[MAX_REGIONS];
    uint32_t ntable = 0;
    sstate_reader_init(&rd, base_buf, base_len);
    if (base_table(rd, table, &ntable)) {
        rc = errbuf(err, elen, -EINVAL, "%s/state: no valid memory section (the full "
                    "snapshot's region table)", parent);
        goto out;
    }
    if ((rc = check_tables(links, nl, table, ntable, parent, err, elen)) ||
        (rc = snap_memory_map(parent, m, &rd, err, elen)))
        goto out;
    unsigned budget = max_maps;
    for (int j = nl - 1; j >= 0 && !rc; j--) {
        struct overlay o = { m, links[j].fd, 0 };
        for_runs(&links[j], count_run, &o);
        bool map = o.runs <= budget;
        if (map)
            budget -= (unsigned)o.runs;
        rc = for_runs(&links[j], map ? map_run : copy_run, &o);
        if (rc)
            errbuf(err, elen, rc, "%s/memory: cannot %s its pages: %s", links[j].dir,
                   map ? "map" : "read", strerror(-rc));
    }
    if (!rc && (rc = clear_dirty(m)))
        errbuf(err, elen, rc, "%s: cannot clear the dirty log: %s", dir, strerror(-rc));
out:
    for (int j = 0; j < nl; j++) {
        if (links[j].fd >= 0)
            close(links[j].fd);
        free(links[j].reg);
        if (j)
            free(links[j].buf);
    }
    free(base_buf);
    free(links);
    return rc;
}
