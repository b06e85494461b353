/* libFuzzer target: diff snapshot chains (src/vmm/snapdiff.c,
 * docs/snapshot.md "Diff snapshots").
 *
 * Once, in a directory under the working directory (the runner's, which
 * it removes), the target writes with the real writers a full snapshot
 * "full" of two RAM regions, a diff "d1" of it and a diff "d2" of d1.
 * Then each input's byte 0 says how its other bytes reach snap_chain_map:
 *   bits 0-1  mode  0 (A): d1's valid "parent" section, then the input as
 *                          the remaining sections (memdiff and after);
 *                   1 (B): the input as the "parent" payload, then d2's
 *                          memdiff; a path starting with '@' has it replaced
 *                          by the directory's absolute path (so seeds name
 *                          full, d1, d2 whatever the directory);
 *                   2 (C): a diff "x" whose memdiff payload is the input
 *                          (its parent section valid, naming full) written
 *                          to disk, and d2's memdiff with a parent section
 *                          naming x and its real identity: a fuzzed link
 *                          in the middle of a chain;
 *   bit 2     the board has RAM of its own (mapped over) or none (added);
 *   bit 3     mode B: the parent's identity patched to the real one of
 *             the directory named, so the walk goes on past it;
 *   bit 4     a budget of bits 5-7 runs mapped, the rest copied in.
 * Invariants: no crash, no leak (memory or file descriptors); a refused
 * chain leaves the board's RAM as it was (no region added, every byte
 * the same); an accepted one leaves exactly the full snapshot's regions,
 * every page equal to the same page of one of the memory files, and the
 * dirty log clear.
 *
 * VESSEL_FUZZ_SEEDS=DIR writes seeds (tests/fuzz/corpus/snapdiff) there;
 * VESSEL_FUZZ_VERBOSE prints each input's result (to read a reproducer). */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem/mem.h"
#include "util/util.h"
#include "vmm/snapshot.h"

#define PAGE MEM_PAGE_SIZE
#define R0 0x80000000ULL
#define R0_SIZE (80 * PAGE)             /* two bitmap words, one partial */
#define R1 0x100000000ULL
#define R1_SIZE (17 * PAGE)
#define FILE_SIZE (R0_SIZE + R1_SIZE)

struct fixture {
    char root[PATH_MAX / 2];
    char full[PATH_MAX], d1[PATH_MAX], d2[PATH_MAX], x[PATH_MAX];
    uint32_t crc_full;
    uint8_t *d1_secs, *d2_secs;         /* their state's sections */
    size_t d1_len, d2_len;
    size_t d1_parent, d2_parent;        /* length of their parent section */
    uint8_t *files[3];                  /* full, d1, d2 memory, read back */
    bool verbose;                       /* VESSEL_FUZZ_VERBOSE: each result */
};

static struct fixture fx;

static void die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_snapdiff setup: %s: %s\n", what, err);
    abort();
}

/* Every word of a page says where and when it was written. */
static void stamp(struct mem *m, uint64_t gpa, uint64_t pages, uint64_t gen)
{
    uint64_t w[PAGE / 8];
    for (uint64_t p = 0; p < pages; p++) {
        for (size_t i = 0; i < PAGE / 8; i++)
            w[i] = gen << 56 | (gpa + p * PAGE + i * 8);
        if (mem_write(m, gpa + p * PAGE, w, PAGE))
            abort();
    }
}

static void blank(struct mem *m, uint64_t gpa, uint64_t pages)
{
    static const uint8_t z[PAGE];
    for (uint64_t p = 0; p < pages; p++)
        if (mem_write(m, gpa + p * PAGE, z, PAGE))
            abort();
}

static struct mem *board(void)
{
    struct mem *m = mem_new();
    if (!m || mem_add_ram(m, R0, R0_SIZE) || mem_add_ram(m, R1, R1_SIZE))
        abort();
    return m;
}

/* A snapshot of m's memory in dir (a diff of parent when non-NULL); its
 * sections to *secs (when non-NULL) and its identity to *crc. */
static void take(struct mem *m, const char *dir, const char *parent, uint32_t pcrc,
                 uint8_t **secs, size_t *len, uint32_t *crc)
{
    char err[512];
    struct snap_dirty *d = NULL;
    struct sstate_writer w;
    if (mkdir(dir, 0700) || snap_dirty_take(m, &d, err, sizeof(err)))
        die(dir, "mkdir or dirty log");
    sstate_writer_init(&w);
    if (parent ? snap_diff_write(dir, m, d, parent, pcrc, &w, NULL, err, sizeof(err))
               : snap_memory_write(dir, m, &w, NULL, NULL, NULL, err, sizeof(err)))
        die(dir, err);
    if (snap_state_write(dir, &w, err, sizeof(err)))
        die(dir, err);
    sstate_writer_free(&w);
    snap_dirty_free(d);
    uint8_t *b;
    size_t l;
    if (snap_state_read_crc(dir, &b, &l, crc, err, sizeof(err)))
        die(dir, err);
    if (secs) {
        *secs = b;
        *len = l;
    } else {
        free(b);
    }
}

static uint8_t *slurp(const char *dir)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof(p), "%s/memory", dir);
    uint8_t *b = malloc(FILE_SIZE);
    int fd = open(p, O_RDONLY);
    if (!b || fd < 0 || pread(fd, b, FILE_SIZE, 0) != (ssize_t)FILE_SIZE)
        die(p, "read");
    close(fd);
    return b;
}

static size_t section_len(const uint8_t *secs)
{
    return SSTATE_HDR_LEN + (size_t)le_get(secs + 12, 4);
}

static void seed(const char *dir, const char *name, uint8_t mode,
                 const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(a, 1, alen, f) != alen ||
        (blen && fwrite(b, 1, blen, f) != blen) || fclose(f))
        die(p, "write seed");
}

/* A parent payload naming root-relative path rel ("@" + rel). */
static size_t parent_seed(uint8_t *out, const char *rel, uint32_t crc)
{
    size_t n = 1 + strlen(rel);
    le_put(out, n, 4);
    out[4] = '@';
    memcpy(out + 5, rel, n - 1);
    le_put(out + 4 + n, crc, 4);
    return 4 + n + 4;
}

static void write_seeds(const char *dir)
{
    const uint8_t *md1 = fx.d1_secs + fx.d1_parent;
    size_t md1_len = fx.d1_len - fx.d1_parent;
    uint8_t p[64];
    size_t pl;
    seed(dir, "a-d1", 0x00, md1, md1_len, NULL, 0);
    seed(dir, "a-d1-ram", 0x04, md1, md1_len, NULL, 0);
    seed(dir, "a-d1-ram-copy", 0x04 | 0x10 | (1 << 5), md1, md1_len, NULL, 0);
    pl = parent_seed(p, "/full", fx.crc_full);
    seed(dir, "b-full", 0x01 | 0x08, p, pl, NULL, 0);
    pl = parent_seed(p, "/d1", 0);
    seed(dir, "b-d1-ram", 0x01 | 0x04 | 0x08, p, pl, NULL, 0);
    pl = parent_seed(p, "/d2", 0);
    seed(dir, "b-loop", 0x01 | 0x08, p, pl, NULL, 0);
    seed(dir, "c-d1", 0x02 | 0x04, md1 + SSTATE_HDR_LEN, md1_len - SSTATE_HDR_LEN,
         NULL, 0);
    seed(dir, "c-d1-copy", 0x02 | 0x10, md1 + SSTATE_HDR_LEN, md1_len - SSTATE_HDR_LEN,
         NULL, 0);
}

static void setup(void)
{
    char cwd[PATH_MAX / 4];
    if (!getcwd(cwd, sizeof(cwd)))
        abort();
    snprintf(fx.root, sizeof(fx.root), "%s/fuzz-snapdiff-XXXXXX", cwd);
    if (!mkdtemp(fx.root))
        abort();
    snprintf(fx.full, sizeof(fx.full), "%s/full", fx.root);
    snprintf(fx.d1, sizeof(fx.d1), "%s/d1", fx.root);
    snprintf(fx.d2, sizeof(fx.d2), "%s/d2", fx.root);
    snprintf(fx.x, sizeof(fx.x), "%s/x", fx.root);
    struct mem *m = board();
    stamp(m, R0, 40, 1);                        /* the rest: holes */
    stamp(m, R1 + 3 * PAGE, 10, 1);
    take(m, fx.full, NULL, 0, NULL, NULL, &fx.crc_full);
    stamp(m, R0 + 2 * PAGE, 3, 2);              /* rewritten */
    blank(m, R0 + 10 * PAGE, 2);                /* zeroed */
    stamp(m, R0 + 63 * PAGE, 3, 2);             /* across a word, was a hole */
    stamp(m, R1 + 16 * PAGE, 1, 2);             /* the last page */
    uint32_t c1, c2;
    take(m, fx.d1, fx.full, fx.crc_full, &fx.d1_secs, &fx.d1_len, &c1);
    stamp(m, R0 + 10 * PAGE, 1, 3);
    blank(m, R0 + 64 * PAGE, 1);
    stamp(m, R1, 5, 3);
    take(m, fx.d2, fx.d1, c1, &fx.d2_secs, &fx.d2_len, &c2);
    mem_free(m);
    fx.d1_parent = section_len(fx.d1_secs);
    fx.d2_parent = section_len(fx.d2_secs);
    /* x: a diff of full whose state each mode-C input rewrites; the
     * memory file is d1's. */
    char from[PATH_MAX + 16], to[PATH_MAX + 16];
    snprintf(from, sizeof(from), "%s/memory", fx.d1);
    snprintf(to, sizeof(to), "%s/memory", fx.x);
    if (mkdir(fx.x, 0700) || link(from, to))
        die(fx.x, "mkdir or link");
    fx.files[0] = slurp(fx.full);
    fx.files[1] = slurp(fx.d1);
    fx.files[2] = slurp(fx.d2);
    const char *s = getenv("VESSEL_FUZZ_SEEDS");
    if (s && *s)
        write_seeds(s);
    fx.verbose = getenv("VESSEL_FUZZ_VERBOSE") != NULL;
}

/* A descriptor left open takes the lowest free number: the same probe
 * before and after an input gives a higher one. */
static int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        abort();
    close(fd);
    return fd;
}

/* The parent section of a diff of dir whose identity is crc. */
static void put_parent(struct sstate_writer *w, const char *dir, uint32_t crc)
{
    sstate_begin(w, "parent", 1);
    sstate_put_u32(w, (uint32_t)strlen(dir));
    sstate_put_bytes(w, dir, strlen(dir));
    sstate_put_u32(w, crc);
    if (sstate_end(w))
        abort();
}

/* Mode B: the input as the parent payload, '@' expanded. */
static void put_fuzzed_parent(struct sstate_writer *w, const uint8_t *d, size_t n,
                              bool fix_crc)
{
    uint8_t *p = malloc(n + sizeof(fx.root));
    size_t len = n;
    if (!p)
        abort();
    memcpy(p, d, n);
    size_t rl = strlen(fx.root);
    if (n >= 5 && p[4] == '@') {
        memcpy(p + 4 + rl, d + 5, n - 5);
        memcpy(p + 4, fx.root, rl);
        le_put(p, (uint32_t)(le_get(p, 4) + rl - 1), 4);
        len = n + rl - 1;
    }
    uint32_t pl = len >= 4 ? (uint32_t)le_get(p, 4) : 0;
    if (fix_crc && pl < PATH_MAX && len == 4 + (size_t)pl + 4) {
        char dir[PATH_MAX];
        memcpy(dir, p + 4, pl);
        dir[pl] = 0;
        uint8_t *b;
        size_t l;
        uint32_t crc;
        char err[512];
        if (strlen(dir) == pl && snap_state_read_crc(dir, &b, &l, &crc, err,
                                                     sizeof(err)) == 0) {
            free(b);
            le_put(p + 4 + pl, crc, 4);
        }
    }
    sstate_begin(w, "parent", 1);
    sstate_put_bytes(w, p, len);
    free(p);
    if (sstate_end(w))
        abort();
}

/* Mode C: x's state, its memdiff payload the input; its identity. */
static bool write_x(const uint8_t *d, size_t n, uint32_t *crc)
{
    struct sstate_writer w;
    char err[512];
    sstate_writer_init(&w);
    put_parent(&w, fx.full, fx.crc_full);
    sstate_begin(&w, "memdiff", 1);
    sstate_put_bytes(&w, d, n);
    if (sstate_end(&w) || snap_state_write(fx.x, &w, err, sizeof(err)))
        abort();
    sstate_writer_free(&w);
    uint8_t *b;
    size_t l;
    if (snap_state_read_crc(fx.x, &b, &l, crc, err, sizeof(err)))
        abort();
    free(b);
    return true;
}

static void fill_before(struct mem *m)
{
    stamp(m, R0, R0_SIZE / PAGE, 0x7e);
    stamp(m, R1, R1_SIZE / PAGE, 0x7e);
}

/* The pages of m's RAM are the ones fill_before wrote (refused), or each
 * equal to its page of one of the memory files (accepted). */
static void check_ram(struct mem *m, bool accepted)
{
    static const struct mem_ram_info want[2] = { { R0, R0_SIZE }, { R1, R1_SIZE } };
    static uint8_t page[PAGE], before[PAGE];
    uint64_t off = 0;
    for (int i = 0; i < 2; i++) {
        for (uint64_t p = 0; p < want[i].size / PAGE; p++, off += PAGE) {
            uint64_t gpa = want[i].gpa + p * PAGE;
            if (mem_read(m, gpa, page, PAGE))
                abort();
            if (!accepted) {
                for (size_t k = 0; k < PAGE / 8; k++)
                    le_put(before + k * 8, 0x7eULL << 56 | (gpa + k * 8), 8);
                if (memcmp(page, before, PAGE)) {
                    fprintf(stderr, "refused chain changed RAM page 0x%llx\n",
                            (unsigned long long)gpa);
                    abort();
                }
                continue;
            }
            bool from_chain = false;
            for (int f = 0; f < 3 && !from_chain; f++)
                from_chain = !memcmp(page, fx.files[f] + off, PAGE);
            if (!from_chain) {
                fprintf(stderr, "accepted chain: RAM page 0x%llx is from no snapshot\n",
                        (unsigned long long)gpa);
                abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fx.root[0])
        setup();
    if (!size)
        return 0;
    uint8_t flags = data[0];
    int mode = flags & 3;
    bool ram = flags & 0x04, fix_crc = flags & 0x08;
    unsigned max_maps = (flags & 0x10) ? (unsigned)(flags >> 5) : SNAP_MAX_MAPS;
    data++, size--;
    if (mode == 3)
        return 0;

    struct sstate_writer w;
    const char *newest;
    int fd_before = lowest_free_fd();
    sstate_writer_init(&w);
    if (mode == 0) {
        newest = fx.d1;
        sstate_put_bytes(&w, fx.d1_secs, fx.d1_parent);
        sstate_put_bytes(&w, data, size);
    } else if (mode == 1) {
        newest = fx.d2;
        put_fuzzed_parent(&w, data, size, fix_crc);
        sstate_put_bytes(&w, fx.d2_secs + fx.d2_parent, fx.d2_len - fx.d2_parent);
    } else {
        uint32_t crc;
        write_x(data, size, &crc);
        newest = fx.d2;
        put_parent(&w, fx.x, crc);
        sstate_put_bytes(&w, fx.d2_secs + fx.d2_parent, fx.d2_len - fx.d2_parent);
    }
    if (w.err)
        abort();

    struct mem *m = ram ? board() : mem_new();
    if (ram)
        fill_before(m);
    struct sstate_reader r;
    char err[512] = "";
    sstate_reader_init(&r, w.buf, w.len);
    int rc = snap_chain_map(newest, m, &r, max_maps, err, sizeof(err));
    struct mem_ram_info reg[4];
    int n = mem_ram_regions(m, reg, 4);
    if (fx.verbose)
        fprintf(stderr, "mode %d, ram %d, max_maps %u: rc %d %s\n", mode, ram, max_maps,
                rc, err);
    if (rc) {
        if (rc > 0 || !err[0])
            abort();            /* an error is -errno with a message */
        if (!ram && n)
            abort();            /* regions added for a refused chain */
        if (ram)
            check_ram(m, false);
    } else {
        if (n != 2 || reg[0].gpa != R0 || reg[0].size != R0_SIZE || reg[1].gpa != R1 ||
            reg[1].size != R1_SIZE || r.pos > r.len)
            abort();
        check_ram(m, true);
        uint64_t bits[2];
        if (mem_dirty_fetch(m, R0, R0_SIZE, bits, false) || bits[0] || bits[1])
            abort();            /* the log is clear after a restore */
    }
    mem_free(m);
    sstate_writer_free(&w);
    if (mode == 2) {                    /* the next input starts without x */
        char p[PATH_MAX + 16];
        snprintf(p, sizeof(p), "%s/state", fx.x);
        unlink(p);
    }
    if (lowest_free_fd() != fd_before) {
        fprintf(stderr, "a file descriptor leaked (mode %d, rc %d: %s)\n", mode, rc, err);
        abort();
    }
    return 0;
}
