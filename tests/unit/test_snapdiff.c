/* Unit tests for diff snapshots (src/vmm/snapdiff.c, docs/snapshot.md):
 * a chain over two RAM regions with pages dirtied, zeroed and untouched
 * composes back to the RAM it was taken from (mapped, copied, or both);
 * every corrupt parent or memdiff field, a loop, an over-long chain and a
 * parent replaced since are refused with a message naming it, and a
 * refused chain maps nothing.  Then, under
 * a running four-hart guest (tests/unit/guest/mem_stress.S), the dirty log
 * after a snapshot holds exactly the pages the guest stores to, though its
 * store TLB entries were filled before the snapshot, and a diff snapshot
 * restored into a new VM lets the guest finish with its sums exact. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mem/mem.h"
#include "util/util.h"
#include "vmm/snapshot.h"
#include "vmm/vmm.h"
#include "vmm/vmm_int.h"    /* the board, for its address space */

#define PAGE 4096ULL
#define BASE 0x80000000ULL
#define BASE_SIZE (4ULL << 20)
#define HIGH 0x100000000ULL
#define HIGH_SIZE ((1ULL << 20) + 4 * PAGE)     /* 260 pages: a partial word */

static char root[] = "/tmp/vessel-snapdiff-XXXXXX";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    strcpy(root, "/tmp/vessel-snapdiff-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* root/name, created. */
static const char *sub(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", root, name);
    mkdir(buf, 0700);
    return buf;
}

static struct mem *two_regions(void)
{
    struct mem *m = mem_new();
    assert_int_equal(mem_add_ram(m, BASE, BASE_SIZE), 0);
    assert_int_equal(mem_add_ram(m, HIGH, HIGH_SIZE), 0);
    return m;
}

static void fill(struct mem *m, uint64_t gpa, uint8_t seed, size_t len)
{
    uint8_t *b = malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(seed + i * 13 + 1);
    assert_int_equal(mem_write(m, gpa, b, len), 0);
    free(b);
}

static void zero(struct mem *m, uint64_t gpa, size_t len)
{
    uint8_t *b = calloc(1, len);
    assert_int_equal(mem_write(m, gpa, b, len), 0);
    free(b);
}

static void same_ram(struct mem *a, struct mem *b)
{
    struct { uint64_t gpa, size; } regs[] = { { BASE, BASE_SIZE }, { HIGH, HIGH_SIZE } };
    for (int i = 0; i < 2; i++) {
        uint8_t *x = malloc(regs[i].size), *y = malloc(regs[i].size);
        assert_int_equal(mem_read(a, regs[i].gpa, x, regs[i].size), 0);
        assert_int_equal(mem_read(b, regs[i].gpa, y, regs[i].size), 0);
        for (uint64_t p = 0; p < regs[i].size / PAGE; p++)
            if (memcmp(x + p * PAGE, y + p * PAGE, PAGE))
                fail_msg("page 0x%llx differs", (unsigned long long)(regs[i].gpa + p * PAGE));
        free(x);
        free(y);
    }
}

/* A snapshot of m's memory into dir (full when parent is NULL); its state
 * file's CRC to *crc. */
static void snap(struct mem *m, const char *dir, const char *parent, uint32_t pcrc,
                 uint32_t *crc, uint64_t *written)
{
    char err[512] = "";
    struct snap_dirty *d;
    assert_int_equal(snap_dirty_take(m, &d, err, sizeof(err)), 0);
    struct sstate_writer w;
    sstate_writer_init(&w);
    int rc = parent ? snap_diff_write(dir, m, d, parent, pcrc, &w, written, err, sizeof(err))
                    : snap_memory_write(dir, m, &w, NULL, NULL, written, err, sizeof(err));
    if (rc)
        fail_msg("%s: %s", dir, err);
    /* The machine state after the memory, different in every snapshot
     * (as a real one's guest time is). */
    static uint64_t seq;
    sstate_begin(&w, "machine", 1);
    sstate_put_u64(&w, ++seq);
    assert_int_equal(sstate_end(&w), 0);
    assert_int_equal(snap_state_write(dir, &w, err, sizeof(err)), 0);
    sstate_writer_free(&w);
    snap_dirty_free(d);
    uint8_t *buf;
    size_t len;
    assert_int_equal(snap_state_read_crc(dir, &buf, &len, crc, err, sizeof(err)), 0);
    free(buf);
}

/* Compose the snapshot in dir into r (sections from buf when non-NULL,
 * else from dir/state). */
static int compose(const char *dir, const uint8_t *buf, size_t len, struct mem *r,
                   unsigned max_maps, char *err, size_t elen)
{
    uint8_t *own = NULL;
    if (!buf) {
        int rc = snap_state_read(dir, &own, &len, err, elen);
        if (rc)
            return rc;
        buf = own;
    }
    struct sstate_reader rd;
    sstate_reader_init(&rd, buf, len);
    int rc = snap_chain_map(dir, r, &rd, max_maps, err, elen);
    uint32_t ver;
    if (!rc) {                                  /* left after the memory */
        assert_int_equal(sstate_open(&rd, "machine", 1, &ver), 0);
        sstate_get_u64(&rd);
        assert_int_equal(sstate_close(&rd), 0);
        assert_int_equal(rd.pos, rd.len);
    }
    free(own);
    return rc;
}

static void test_chain_round_trip(void **state)
{
    (void)state;
    char d0[512], d1[512], d2[512], err[512] = "";
    uint32_t c0, c1, c2;
    uint64_t w0, w1, w2;
    struct mem *m = two_regions();
    fill(m, BASE, 1, 64 * PAGE);
    fill(m, BASE + 100 * PAGE, 2, 10 * PAGE);
    fill(m, HIGH, 3, 256 * PAGE);
    fill(m, HIGH + 259 * PAGE, 4, PAGE);                /* the last page */
    snap(m, sub("full", d0, sizeof(d0)), NULL, 0, &c0, &w0);
    /* diff 1: some pages rewritten, some zeroed, the rest untouched */
    fill(m, BASE + 5 * PAGE, 5, 3 * PAGE);
    zero(m, BASE + 20 * PAGE, 2 * PAGE);               /* data -> zeros */
    fill(m, BASE + 900 * PAGE, 6, PAGE);               /* was a hole */
    zero(m, HIGH + 259 * PAGE, PAGE);
    fill(m, HIGH + 7 * PAGE, 7, PAGE);
    snap(m, sub("d1", d1, sizeof(d1)), d0, c0, &c1, &w1);
    assert_int_equal(w1, 5 * PAGE);                     /* zeros not written */
    /* diff 2: a zeroed page gets data again, a diff-1 page is zeroed */
    fill(m, BASE + 20 * PAGE, 8, PAGE);
    zero(m, BASE + 900 * PAGE, PAGE);
    fill(m, HIGH + 100 * PAGE, 9, 50 * PAGE);
    snap(m, sub("d2", d2, sizeof(d2)), d1, c1, &c2, &w2);
    assert_int_equal(w2, 51 * PAGE);
    char path[600];
    snprintf(path, sizeof(path), "%s/memory", d2);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, BASE_SIZE + HIGH_SIZE);
    assert_true((uint64_t)st.st_blocks * 512 <= 51 * PAGE + (128 << 10));

    /* Into a board with RAM of its own (mapped over), with every run
     * mapped, every run copied, and a budget that runs out midway. */
    unsigned budgets[] = { SNAP_MAX_MAPS, 0, 3 };
    for (size_t i = 0; i < 3; i++) {
        struct mem *r = two_regions();
        fill(r, BASE, 77, 128 * PAGE);                  /* boot images */
        fill(r, HIGH + 200 * PAGE, 78, 60 * PAGE);
        if (compose(d2, NULL, 0, r, budgets[i], err, sizeof(err)))
            fail_msg("budget %u: %s", budgets[i], err);
        same_ram(m, r);
        uint64_t bm[(BASE_SIZE / PAGE + 63) / 64];
        assert_int_equal(mem_dirty_fetch(r, BASE, BASE_SIZE, bm, false), 0);
        for (size_t k = 0; k < sizeof(bm) / 8; k++)
            assert_int_equal(bm[k], 0);                 /* the log is clear */
        mem_free(r);
    }
    /* Into an empty address space (regions added), and an older link. */
    struct mem *r = mem_new();
    assert_int_equal(compose(d2, NULL, 0, r, SNAP_MAX_MAPS, err, sizeof(err)), 0);
    same_ram(m, r);
    mem_free(r);
    r = two_regions();
    assert_int_equal(compose(d1, NULL, 0, r, SNAP_MAX_MAPS, err, sizeof(err)), 0);
    uint8_t a[PAGE], z[PAGE] = {0};
    assert_int_equal(mem_read(r, BASE + 20 * PAGE, a, PAGE), 0);
    assert_memory_equal(a, z, PAGE);                    /* zeroed in d1 */
    assert_int_equal(mem_read(r, BASE + 900 * PAGE, a, PAGE), 0);
    assert_memory_not_equal(a, z, PAGE);                /* zeroed only in d2 */
    mem_free(r);
    mem_free(m);
}

/* Every field of a diff's parent and memdiff sections, made wrong, is
 * refused with a message naming it; the parent replaced since too. */
static void test_chain_hostile(void **state)
{
    (void)state;
    char d0[512], d1[512], err[512] = "";
    uint32_t c0, c1;
    struct mem *m = two_regions();
    fill(m, BASE, 1, 8 * PAGE);
    snap(m, sub("full", d0, sizeof(d0)), NULL, 0, &c0, NULL);
    fill(m, BASE + 70 * PAGE, 2, PAGE);
    fill(m, HIGH + 3 * PAGE, 3, PAGE);
    snap(m, sub("d1", d1, sizeof(d1)), d0, c0, &c1, NULL);
    uint8_t *good;
    size_t len;
    assert_int_equal(snap_state_read(d1, &good, &len, err, sizeof(err)), 0);
    size_t plen = strlen(d0);
    size_t pp = 16;                                     /* parent payload */
    size_t md = pp + 4 + plen + 4 + 16;                 /* memdiff payload */
    size_t r0 = md + 4, bits0 = r0 + 32;                /* region 0 */
    size_t r1 = bits0 + (BASE_SIZE / PAGE / 64) * 8;    /* region 1 */
    size_t last1 = r1 + 32 + (HIGH_SIZE / PAGE / 64) * 8;   /* its partial word */
    struct { size_t off; uint64_t val; unsigned len; const char *what; } bad[] = {
        { pp, 0, 4, "path length 0" },
        { pp, 1 << 20, 4, "path length" },
        { pp + 4, 'x', 1, "not an absolute path" },
        { pp + 4 + 3, 0, 1, "not an absolute path" },
        { pp + 4 + plen, c0 ^ 1, 4, "replaced since" },
        { md, 0, 4, "0 regions" },
        { md, 1000, 4, "1000 regions" },
        { r0, BASE + 1, 8, "not page aligned" },
        { r0 + 8, 0, 8, "not page aligned" },
        { r0 + 8, 1ULL << 40, 8, "cut short" },
        { r0 + 16, PAGE, 8, "file offset" },
        { r0 + 24, 2, 8, "the count says 2" },
        { bits0 + 8, 0, 8, "marks 0 pages" },   /* page 70 */
        { r1, BASE + (8ULL << 20), 8, "differ from those of the full" },
        { last1, 1ULL << 10, 8, "past the region" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, good, len);
        for (unsigned k = 0; k < bad[i].len; k++)
            copy[bad[i].off + k] = (uint8_t)(bad[i].val >> (8 * k));
        struct mem *r = two_regions();
        int rc = compose(d1, copy, len, r, SNAP_MAX_MAPS, err, sizeof(err));
        if (rc != -EINVAL || !strstr(err, bad[i].what))
            fail_msg("case %zu (%s): rc %d, message '%s'", i, bad[i].what, rc, err);
        mem_free(r);
        free(copy);
    }
    /* The diff's memory file: missing, or of another size. */
    char path[600];
    snprintf(path, sizeof(path), "%s/memory", d1);
    assert_int_equal(truncate(path, BASE_SIZE), 0);
    struct mem *r = two_regions();
    assert_int_equal(compose(d1, good, len, r, SNAP_MAX_MAPS, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "as the state file says"));
    unlink(path);
    assert_int_equal(compose(d1, good, len, r, SNAP_MAX_MAPS, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, path));
    /* The parent replaced since: another full snapshot in its place. */
    fill(m, BASE + 9 * PAGE, 4, PAGE);
    char d0b[512];
    uint32_t c0b;
    snap(m, sub("full2", d0b, sizeof(d0b)), NULL, 0, &c0b, NULL);
    char from[600], to[600];
    snprintf(from, sizeof(from), "%s/state", d0b);
    snprintf(to, sizeof(to), "%s/state", d0);
    assert_int_equal(rename(from, to), 0);
    snap(m, sub("d1b", d1, sizeof(d1)), d0, c0, &c1, NULL);     /* records c0 */
    assert_int_equal(compose(d1, NULL, 0, r, SNAP_MAX_MAPS, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "replaced since"));
    mem_free(r);
    free(good);
    mem_free(m);
}

/* A diff whose regions are not its full snapshot's is refused before
 * anything is mapped: into an empty address space no region is added,
 * into a board with RAM every byte stays (the full snapshot's table used
 * to be compared only after it was mapped). */
static void test_chain_refused_maps_nothing(void **state)
{
    (void)state;
    char d0[512], d1[512], err[512] = "";
    uint32_t c0, c1;
    struct mem *m = two_regions();
    fill(m, BASE, 1, 8 * PAGE);
    fill(m, HIGH, 2, 8 * PAGE);
    snap(m, sub("full", d0, sizeof(d0)), NULL, 0, &c0, NULL);
    fill(m, BASE + 3 * PAGE, 3, PAGE);
    snap(m, sub("d1", d1, sizeof(d1)), d0, c0, &c1, NULL);
    uint8_t *buf;
    size_t len;
    assert_int_equal(snap_state_read(d1, &buf, &len, err, sizeof(err)), 0);
    /* Region 1's base moved (its bitmap stays the same size). */
    size_t r1 = 16 + 4 + strlen(d0) + 4 + 16 + 4 + 32 + (BASE_SIZE / PAGE / 64) * 8;
    le_put(buf + r1, HIGH + (1ULL << 30), 8);
    struct mem *e = mem_new();
    assert_int_equal(compose(d1, buf, len, e, SNAP_MAX_MAPS, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "differ from those of the full"));
    struct mem_ram_info reg[2];
    assert_int_equal(mem_ram_regions(e, reg, 2), 0);
    mem_free(e);
    struct mem *r = two_regions(), *before = two_regions();
    fill(r, BASE, 77, 128 * PAGE);
    fill(before, BASE, 77, 128 * PAGE);
    assert_int_equal(compose(d1, buf, len, r, SNAP_MAX_MAPS, err, sizeof(err)), -EINVAL);
    same_ram(r, before);
    mem_free(before);
    mem_free(r);
    free(buf);
    mem_free(m);
}

/* A diff that is its own parent, and two diffs each other's: a loop. */
static void test_chain_loop(void **state)
{
    (void)state;
    char a[512], b[512], err[512] = "";
    uint32_t ca, cb;
    struct mem *m = two_regions();
    fill(m, BASE, 1, PAGE);
    sub("a", a, sizeof(a));
    snap(m, a, a, 0, &ca, NULL);
    struct mem *r = two_regions();
    assert_int_equal(compose(a, NULL, 0, r, SNAP_MAX_MAPS, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "a loop"));
    /* a -> b (recorded CRC wrong, b did not exist), b -> a (right CRC):
     * the loop is found before a's parent is read. */
    nftw(a, rm_one, 4, FTW_DEPTH | FTW_PHYS);
    sub("a", a, sizeof(a));
    snprintf(b, sizeof(b), "%s/b", root);
    snap(m, a, b, 12345, &ca, NULL);
    sub("b", b, sizeof(b));
    snap(m, b, a, ca, &cb, NULL);
    assert_int_equal(compose(b, NULL, 0, r, SNAP_MAX_MAPS, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "a loop"));
    mem_free(r);
    mem_free(m);
}

/* SNAP_CHAIN_MAX snapshots compose; one more is refused. */
static void test_chain_too_long(void **state)
{
    (void)state;
    char dirs[SNAP_CHAIN_MAX + 1][64], err[512] = "";
    uint32_t crc[SNAP_CHAIN_MAX + 1];
    struct mem *m = two_regions();
    for (int i = 0; i <= SNAP_CHAIN_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", i);
        fill(m, BASE + (uint64_t)i * PAGE, (uint8_t)i, PAGE);
        sub(name, dirs[i], sizeof(dirs[i]));
        snap(m, dirs[i], i ? dirs[i - 1] : NULL, i ? crc[i - 1] : 0, &crc[i], NULL);
        if (i == SNAP_CHAIN_MAX - 1) {
            struct mem *r = two_regions();
            if (compose(dirs[i], NULL, 0, r, SNAP_MAX_MAPS, err, sizeof(err)))
                fail_msg("a chain of %d: %s", SNAP_CHAIN_MAX, err);
            mem_free(r);
        }
    }
    struct mem *r = two_regions();
    assert_int_equal(compose(dirs[SNAP_CHAIN_MAX], NULL, 0, r, SNAP_MAX_MAPS, err,
                             sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "longer than 64"));
    mem_free(r);
    mem_free(m);
}

/* ---- under a running guest (mem_stress.S) ---- */

#define NHARTS      4
#define GRAM        0x80000000ULL
#define CTL         0x80100000ULL
#define SHARED      0x80101000ULL
#define PRIV        0x80110000ULL
#define PRIV_PAGES  8
#define GRAM_SIZE   (16ULL << 20)
#define TIMEOUT_NS  60000000000ULL

static char guest_dir[2048];

struct watch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool off;
    int code;
};

static void on_event(void *opaque, struct vm *vm, const struct vm_event *ev)
{
    struct watch *w = opaque;
    (void)vm;
    pthread_mutex_lock(&w->lock);
    if (ev->kind == VM_EVENT_POWEROFF) {
        w->off = true;
        w->code = ev->code;
    }
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void wait_each(struct mem *m, const uint64_t from[NHARTS], uint64_t more)
{
    uint64_t end = host_time_ns() + TIMEOUT_NS;
    for (;;) {
        uint64_t p[NHARTS];
        assert_int_equal(mem_read(m, CTL + 128, p, sizeof(p)), 0);
        int h = 0;
        while (h < NHARTS && p[h] >= from[h] + more)
            h++;
        if (h == NHARTS)
            return;
        assert_true(host_time_ns() < end);
        sched_yield();
    }
}

static bool written_page(uint64_t gpa)
{
    return gpa == CTL || (gpa >= SHARED && gpa < SHARED + 3 * PAGE) ||
           (gpa >= PRIV && gpa < PRIV + NHARTS * PRIV_PAGES * PAGE);
}

/* Stop the guest (its stop word) and wait for its verdict. */
static int finish_guest(struct vm *vm, struct watch *w)
{
    uint64_t stop = 1;
    assert_int_equal(mem_write(virt_mem(vm->board), CTL, &stop, sizeof(stop)), 0);
    uint64_t end = host_time_ns() + TIMEOUT_NS;
    pthread_mutex_lock(&w->lock);
    while (!w->off && host_time_ns() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
    assert_true(w->off);
    int code = w->code;
    pthread_mutex_unlock(&w->lock);
    return code;
}

static struct vm *stress_vm(struct watch *w, bool jit)
{
    static char elf[4096];
    snprintf(elf, sizeof(elf), "%s/unit/mem_stress.elf", guest_dir);
    if (access(elf, R_OK))
        skip();         /* guest programs not built: make guests */
    *w = (struct watch){ .code = -1 };
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    struct vm_config cfg;
    vm_config_init(&cfg);
    cfg.bios = elf;
    cfg.ram_size = GRAM_SIZE;
    cfg.ncpus = NHARTS;
    cfg.jit = jit;
    cfg.console_ring = 4096;
    cfg.on_event = on_event;
    cfg.event_opaque = w;
    struct vm *vm;
    char err[512];
    if (vm_create(&cfg, &vm, err, sizeof(err)))
        fail_msg("%s", err);
    return vm;
}

static void dirty_after_snapshot(bool jit)
{
    char d0[512], d1[512], err[512] = "";
    struct watch w;
    struct vm *vm = stress_vm(&w, jit);
    struct mem *m = virt_mem(vm->board);
    assert_int_equal(vm_start(vm), 0);
    uint64_t p[NHARTS] = { 0 };
    wait_each(m, p, 3);         /* every hart's store TLB entries are filled */
    assert_int_equal(vm_snapshot_diff(vm, sub("nope", d0, sizeof(d0)), err, sizeof(err)),
                     -EINVAL);  /* running */
    assert_int_equal(vm_pause(vm), 0);
    rmdir(d0);
    assert_int_equal(vm_snapshot_diff(vm, d0, err, sizeof(err)), -ENODATA);
    assert_non_null(strstr(err, "take a full one first"));
    assert_int_equal(access(d0, F_OK), -1);             /* nothing written */
    assert_int_equal(vm_snapshot_create(vm, sub("full", d0, sizeof(d0)), err,
                                        sizeof(err)), 0);
    assert_int_equal(vm_resume(vm), 0);
    assert_int_equal(mem_read(m, CTL + 128, p, sizeof(p)), 0);
    wait_each(m, p, 2);
    assert_int_equal(vm_pause(vm), 0);
    /* The log holds exactly what the guest wrote since the snapshot,
     * through TLB entries filled before it. */
    static uint64_t bm[GRAM_SIZE / PAGE / 64];
    assert_int_equal(mem_dirty_fetch(m, GRAM, GRAM_SIZE, bm, false), 0);
    for (uint64_t i = 0; i < GRAM_SIZE / PAGE; i++) {
        bool dirty = (bm[i / 64] >> (i % 64)) & 1;
        if (dirty != written_page(GRAM + i * PAGE))
            fail_msg("page 0x%llx: dirty %d, written by the guest %d",
                     (unsigned long long)(GRAM + i * PAGE), dirty,
                     written_page(GRAM + i * PAGE));
    }
    if (vm_snapshot_diff(vm, sub("diff", d1, sizeof(d1)), err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(vm_resume(vm), 0);
    assert_int_equal(finish_guest(vm, &w), 0);
    vm_destroy(vm);

    /* The diff, restored into a new VM: the guest's sums come out exact. */
    struct watch w2;
    vm = stress_vm(&w2, jit);
    if (vm_restore(vm, d1, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(vm_start(vm), 0);
    assert_int_equal(mem_read(virt_mem(vm->board), CTL + 128, p, sizeof(p)), 0);
    wait_each(virt_mem(vm->board), p, 1);
    assert_int_equal(finish_guest(vm, &w2), 0);
    vm_destroy(vm);
}

static void test_dirty_log_after_snapshot_jit(void **state)
{
    (void)state;
    dirty_after_snapshot(true);
}

static void test_dirty_log_after_snapshot_interp(void **state)
{
    (void)state;
    dirty_after_snapshot(false);
}

int main(void)
{
    const char *d = getenv("BUILD_GUEST");
    snprintf(guest_dir, sizeof(guest_dir), "%s", d && *d ? d : "build/guest");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_refused_maps_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dirty_log_after_snapshot_jit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dirty_log_after_snapshot_interp, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
