/* Unit tests for guest-physical memory (src/mem/): many RAM regions and
 * their lookup, file-backed copy-on-write RAM (snapshot restore), the
 * dirty log's fetch-and-clear and the map generation; leases: pins
 * (mem_pin, mem_map_iovec) and what releases them, memory operations
 * (mem_replace_page) with the shootdown's STOP/RELEASE around them,
 * refused on pinned pages, and a pinner racing a mover; discards (the
 * balloon's). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "smaps.h"

#include "mem/mem.h"

#define PAGE 4096ULL

/* 200 one- or two-page regions at scattered addresses, added out of
 * order: every byte is found in its own region, gaps are not RAM. */
static void test_many_regions(void **state)
{
    (void)state;
    struct mem *m = mem_new();
    assert_non_null(m);
    enum { N = 200 };
    for (int k = 0; k < N; k++) {
        int i = (k * 7919) % N;                       /* a permutation */
        uint64_t gpa = 0x100000000ULL + (uint64_t)i * 16 * PAGE;
        assert_int_equal(mem_add_ram(m, gpa, (1 + i % 2) * PAGE), 0);
    }
    struct mem_ram_info info[N];
    assert_int_equal(mem_ram_regions(m, info, N), N);
    for (int i = 1; i < N; i++)
        assert_true(info[i - 1].gpa < info[i].gpa);
    assert_int_equal(mem_ram_base(m), 0x100000000ULL);
    for (int i = 0; i < N; i++) {
        uint64_t gpa = 0x100000000ULL + (uint64_t)i * 16 * PAGE;
        uint64_t v = 0xabc0000ULL + (uint64_t)i;
        assert_int_equal(mem_store(m, gpa + 8, 8, v), 0);
        uint64_t got = 0;
        assert_int_equal(mem_load(m, gpa + 8, 8, &got), 0);
        assert_true(got == v);
        assert_true(mem_is_ram(m, gpa, (1 + i % 2) * PAGE));
        assert_false(mem_is_ram(m, gpa, (2 + i % 2) * PAGE));
        assert_null(mem_gpa_to_hva(m, gpa + 8 * PAGE, NULL, false));
    }
    assert_null(mem_gpa_to_hva(m, 0x100000000ULL - 1, NULL, false));
    assert_int_equal(mem_add_ram(m, 0x100000000ULL + 17 * PAGE, PAGE), -EEXIST);
    assert_int_equal(mem_ram_size(m), (uint64_t)(N / 2) * 3 * PAGE);
    mem_free(m);
}

static void test_region_limit(void **state)
{
    (void)state;
    struct mem *m = mem_new();
    for (int i = 0; i < MEM_MAX_RAM_REGIONS; i++)
        assert_int_equal(mem_add_ram(m, (uint64_t)i * 2 * PAGE, PAGE), 0);
    assert_int_equal(mem_add_ram(m, 0x7fff0000000ULL, PAGE), -ENOSPC);
    assert_int_equal(mem_add_ram(m, 1, PAGE), -EINVAL);
    mem_free(m);
}

/* A memory file mapped copy-on-write: the guest sees its bytes (holes as
 * zeros), its writes never reach the file. */
static void test_file_backed_ram(void **state)
{
    (void)state;
    char path[] = "/tmp/vessel-memfile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(ftruncate(fd, 16 * PAGE), 0);
    const char msg[] = "snapshot page 3";
    assert_int_equal(pwrite(fd, msg, sizeof(msg), 4 * PAGE + 3 * PAGE), (ssize_t)sizeof(msg));
    struct mem *m = mem_new();
    assert_int_equal(mem_add_ram_file(m, 0x80000000ULL, 8 * PAGE, fd, 100), -EINVAL);
    assert_int_equal(mem_add_ram_file(m, 0x80000000ULL, 8 * PAGE, fd, 4 * PAGE), 0);
    char buf[sizeof(msg)];
    assert_int_equal(mem_read(m, 0x80000000ULL + 3 * PAGE, buf, sizeof(buf)), 0);
    assert_memory_equal(buf, msg, sizeof(msg));
    uint64_t v = 1;
    assert_int_equal(mem_load(m, 0x80000000ULL + 6 * PAGE, 8, &v), 0);
    assert_int_equal(v, 0);                                 /* a hole */
    assert_int_equal(mem_write(m, 0x80000000ULL + 3 * PAGE, "XX", 2), 0);
    assert_int_equal(mem_read(m, 0x80000000ULL + 3 * PAGE, buf, 2), 0);
    assert_memory_equal(buf, "XX", 2);
    char file[sizeof(msg)];
    assert_int_equal(pread(fd, file, sizeof(file), 7 * PAGE), (ssize_t)sizeof(file));
    assert_memory_equal(file, msg, sizeof(msg));            /* untouched */
    close(fd);   /* the mapping keeps what it needs */
    assert_int_equal(mem_read(m, 0x80000000ULL + 3 * PAGE + 2, buf, 4), 0);
    assert_memory_equal(buf, msg + 2, 4);
    mem_free(m);
}

static bool bit(const uint64_t *bm, unsigned i)
{
    return (bm[i / 64] >> (i % 64)) & 1;
}

/* What the shootdown callback saw: the phases in order, and an error
 * STOP returns when `fail` is set. */
struct sd_log {
    char seq[64];
    unsigned n;
    int fail;
};

static int log_shootdown(void *opaque, enum mem_shootdown_phase phase)
{
    struct sd_log *l = opaque;
    if (l->n + 1 < sizeof(l->seq))
        l->seq[l->n++] = phase == MEM_SHOOTDOWN_STOP ? 'S' : 'R';
    l->seq[l->n] = 0;
    return phase == MEM_SHOOTDOWN_STOP ? l->fail : 0;
}

static void test_dirty_log(void **state)
{
    (void)state;
    struct mem *m = mem_new();
    const uint64_t base = 0x80000000ULL;
    assert_int_equal(mem_add_ram(m, base, 128 * PAGE), 0);
    assert_int_equal(mem_add_ram(m, base + 256 * PAGE, 4 * PAGE), 0);
    uint64_t bm[2];
    /* Reads mark nothing; every kind of write marks its pages. */
    assert_non_null(mem_gpa_to_hva(m, base + 1 * PAGE, NULL, false));
    uint64_t v;
    assert_int_equal(mem_load(m, base + 2 * PAGE, 8, &v), 0);
    assert_non_null(mem_gpa_to_hva(m, base + 3 * PAGE, NULL, true));
    assert_int_equal(mem_store(m, base + 4 * PAGE, 8, 1), 0);
    assert_int_equal(mem_write(m, base + 70 * PAGE - 2, "abcd", 4), 0);  /* 69 and 70 */
    mem_mark_dirty(m, base + 100 * PAGE, 1);
    struct iovec iov[4];
    int n;
    assert_int_equal(mem_map_iovec(m, base + 10 * PAGE, PAGE, false, iov, 4, &n), 0);
    mem_unpin_iovec(m, iov, n, false);
    assert_int_equal(mem_map_iovec(m, base + 20 * PAGE + 100, PAGE, true, iov, 4, &n), 0);
    mem_unpin_iovec(m, iov, n, false);
    uint64_t gen = mem_map_gen(m);
    assert_int_equal(mem_dirty_fetch(m, base, 128 * PAGE, bm, false), 0);
    assert_int_equal(mem_map_gen(m), gen);                  /* a peek revokes nothing */
    unsigned want[] = { 3, 4, 20, 21, 69, 70, 100 };
    unsigned count = 0;
    for (unsigned i = 0; i < 128; i++)
        count += bit(bm, i);
    assert_int_equal(count, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_true(bit(bm, want[i]));
    /* A sub-range starting mid-word, bits renumbered from its start. */
    assert_int_equal(mem_dirty_fetch(m, base + 66 * PAGE, 8 * PAGE, bm, false), 0);
    assert_int_equal(bm[0], (1ULL << 3) | (1ULL << 4));
    /* Clear with a STOP that fails: nothing changes. */
    struct sd_log sd = { .fail = -EDEADLK };
    mem_set_shootdown(m, log_shootdown, &sd);
    assert_int_equal(mem_dirty_fetch(m, base, 128 * PAGE, bm, true), -EDEADLK);
    assert_string_equal(sd.seq, "S");
    assert_int_equal(mem_map_gen(m), gen);
    assert_int_equal(mem_dirty_fetch(m, base, 128 * PAGE, bm, false), 0);
    assert_true(bit(bm, 3) && bit(bm, 100));
    /* Clear: the world stops, the generation moves, the bits go, the
     * world goes on. */
    sd = (struct sd_log){ 0 };
    assert_int_equal(mem_dirty_fetch(m, base, 128 * PAGE, bm, true), 0);
    assert_string_equal(sd.seq, "SR");
    assert_int_equal(mem_map_gen(m), gen + 1);
    assert_int_equal(mem_dirty_fetch(m, base, 128 * PAGE, bm, false), 0);
    assert_int_equal(bm[0] | bm[1], 0);
    /* The unpin of a written iovec marks its pages again (a DMA write
     * that raced the clear shows in the next fetch); a read one not. */
    assert_int_equal(mem_map_iovec(m, base + 10 * PAGE, PAGE, false, iov, 4, &n), 0);
    mem_unpin_iovec(m, iov, n, false);
    assert_int_equal(mem_dirty_fetch(m, base, 128 * PAGE, bm, false), 0);
    assert_int_equal(bm[0] | bm[1], 0);
    assert_int_equal(mem_map_iovec(m, base + 20 * PAGE + 100, PAGE, true, iov, 4, &n), 0);
    assert_int_equal(mem_dirty_fetch(m, base, 128 * PAGE, bm, true), 0);
    mem_unpin_iovec(m, iov, n, true);
    assert_int_equal(mem_dirty_fetch(m, base, 128 * PAGE, bm, false), 0);
    assert_true(bit(bm, 20) && bit(bm, 21));
    assert_int_equal(bm[0] | bm[1], (1ULL << 20) | (1ULL << 21));
    /* Ranges must be page aligned and within one region. */
    assert_int_equal(mem_dirty_fetch(m, base + 1, PAGE, bm, false), -EINVAL);
    assert_int_equal(mem_dirty_fetch(m, base + 127 * PAGE, 2 * PAGE, bm, false), -EINVAL);
    assert_int_equal(mem_dirty_fetch(m, base + 200 * PAGE, PAGE, bm, false), -EINVAL);
    assert_int_equal(mem_dirty_fetch(m, base + 256 * PAGE, 4 * PAGE, bm, false), 0);
    mem_free(m);
}

/* Fill page `i` of [base...) with a pattern that names it. */
static void fill_page(struct mem *m, uint64_t gpa, unsigned seed)
{
    uint32_t buf[PAGE / 4];
    for (unsigned k = 0; k < PAGE / 4; k++)
        buf[k] = seed * 2654435761u + k;
    assert_int_equal(mem_write(m, gpa, buf, sizeof(buf)), 0);
}

static bool page_holds(struct mem *m, uint64_t gpa, unsigned seed)
{
    uint32_t buf[PAGE / 4];
    assert_int_equal(mem_read(m, gpa, buf, sizeof(buf)), 0);
    for (unsigned k = 0; k < PAGE / 4; k++)
        if (buf[k] != seed * 2654435761u + k)
            return false;
    return true;
}

/* A replacement keeps the bytes and the host address, stops and releases
 * the world once, moves the generation and marks nothing dirty; bad
 * addresses are refused without stopping anything. */
static void test_replace_page(void **state)
{
    (void)state;
    struct mem *m = mem_new();
    const uint64_t base = 0x80000000ULL;
    assert_int_equal(mem_add_ram(m, base, 64 * PAGE), 0);
    fill_page(m, base + 5 * PAGE, 5);
    uint8_t *host = mem_gpa_to_hva(m, base + 5 * PAGE, NULL, false);
    uint64_t bm[1];
    assert_int_equal(mem_dirty_fetch(m, base, 64 * PAGE, bm, true), 0);
    struct sd_log sd = { 0 };
    mem_set_shootdown(m, log_shootdown, &sd);
    uint64_t gen = mem_map_gen(m);
    assert_int_equal(mem_replace_page(m, base + 5 * PAGE), 0);
    assert_string_equal(sd.seq, "SR");
    assert_int_equal(mem_map_gen(m), gen + 1);
    assert_true(page_holds(m, base + 5 * PAGE, 5));
    assert_ptr_equal(mem_gpa_to_hva(m, base + 5 * PAGE, NULL, false), host);
    assert_int_equal(mem_dirty_fetch(m, base, 64 * PAGE, bm, false), 0);
    assert_int_equal(bm[0], 0);
    /* A page never touched (the zero page) stays zeros. */
    assert_int_equal(mem_replace_page(m, base + 63 * PAGE), 0);
    uint64_t v = 1;
    assert_int_equal(mem_read(m, base + 64 * PAGE - 8, &v, 8), 0);
    assert_true(v == 0);
    /* Refused: misaligned, not RAM.  The world was not stopped. */
    sd = (struct sd_log){ 0 };
    assert_int_equal(mem_replace_page(m, base + 5 * PAGE + 8), -EINVAL);
    assert_int_equal(mem_replace_page(m, base + 64 * PAGE), -EINVAL);
    assert_int_equal(mem_replace_page(m, 0), -EINVAL);
    assert_string_equal(sd.seq, "");
    /* A STOP that fails: nothing changes, no RELEASE. */
    sd.fail = -EDEADLK;
    gen = mem_map_gen(m);
    assert_int_equal(mem_replace_page(m, base + 5 * PAGE), -EDEADLK);
    assert_string_equal(sd.seq, "S");
    assert_int_equal(mem_map_gen(m), gen);
    /* Without a callback the caller stands for the vCPUs. */
    mem_set_shootdown(m, NULL, NULL);
    assert_int_equal(mem_replace_page(m, base + 5 * PAGE), 0);
    assert_true(page_holds(m, base + 5 * PAGE, 5));
    mem_free(m);
}

/* Pinned pages are refused (-EBUSY, before any STOP) until every pin is
 * gone; pins nest; iovecs unpin page by page whatever their grouping. */
static void test_pins(void **state)
{
    (void)state;
    struct mem *m = mem_new();
    const uint64_t base = 0x80000000ULL;
    assert_int_equal(mem_add_ram(m, base, 64 * PAGE), 0);
    struct sd_log sd = { 0 };
    mem_set_shootdown(m, log_shootdown, &sd);
    struct iovec iov[4];
    int n;
    /* Pages 10, 11, 12: one host-contiguous iovec. */
    assert_int_equal(mem_map_iovec(m, base + 10 * PAGE + 100, 2 * PAGE, false, iov, 4, &n), 0);
    assert_int_equal(n, 1);
    for (unsigned p = 10; p <= 12; p++)
        assert_int_equal(mem_replace_page(m, base + p * PAGE), -EBUSY);
    assert_string_equal(sd.seq, "");
    assert_int_equal(mem_replace_page(m, base + 9 * PAGE), 0);
    assert_int_equal(mem_replace_page(m, base + 13 * PAGE), 0);
    mem_unpin_iovec(m, iov, n, false);
    for (unsigned p = 10; p <= 12; p++)
        assert_int_equal(mem_replace_page(m, base + p * PAGE), 0);
    /* mem_pin, twice: both pins must go. */
    uint8_t *p1 = mem_pin(m, base + 20 * PAGE + 8, NULL, true);
    uint64_t avail = 0;
    uint8_t *p2 = mem_pin(m, base + 20 * PAGE + 16, &avail, false);
    assert_non_null(p1);
    assert_ptr_equal(p2, p1 + 8);
    assert_int_equal(avail, PAGE - 16);
    assert_null(mem_pin(m, base + 64 * PAGE, NULL, false));
    memcpy(p1, "leased", 7);
    mem_unpin(m, p1, true);
    assert_int_equal(mem_replace_page(m, base + 20 * PAGE), -EBUSY);
    mem_unpin(m, p2 + 100, false);      /* any address in the page */
    assert_int_equal(mem_replace_page(m, base + 20 * PAGE), 0);
    char got[7];
    assert_int_equal(mem_read(m, base + 20 * PAGE + 8, got, sizeof(got)), 0);
    assert_string_equal(got, "leased");
    /* Unpinning something that is not guest RAM is ignored. */
    mem_unpin(m, got, false);
    /* Copies pin only while they copy. */
    fill_page(m, base + 30 * PAGE, 30);
    assert_true(page_holds(m, base + 30 * PAGE, 30));
    assert_int_equal(mem_replace_page(m, base + 30 * PAGE), 0);
    mem_free(m);
}

/* A mapping that fails leaves nothing pinned. */
static void test_map_iovec_errors_unpin(void **state)
{
    (void)state;
    struct mem *m = mem_new();
    const uint64_t base = 0x80000000ULL;
    /* Two one-page regions, adjacent in guest space only. */
    assert_int_equal(mem_add_ram(m, base, 4 * PAGE), 0);
    assert_int_equal(mem_add_ram(m, base + 4 * PAGE, 4 * PAGE), 0);
    struct iovec iov[2];
    int n;
    assert_int_equal(mem_map_iovec(m, base + 3 * PAGE, 2 * PAGE, false, iov, 1, &n), -E2BIG);
    assert_int_equal(mem_map_iovec(m, base + 6 * PAGE, 4 * PAGE, true, iov, 2, &n), -EFAULT);
    for (unsigned p = 0; p < 8; p++)
        assert_int_equal(mem_replace_page(m, base + p * PAGE), 0);
    /* Across both regions: two iovecs, unpinned by host address. */
    assert_int_equal(mem_map_iovec(m, base + 3 * PAGE, 2 * PAGE, false, iov, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(mem_replace_page(m, base + 3 * PAGE), -EBUSY);
    assert_int_equal(mem_replace_page(m, base + 4 * PAGE), -EBUSY);
    mem_unpin_iovec(m, iov, n, false);
    assert_int_equal(mem_replace_page(m, base + 3 * PAGE), 0);
    assert_int_equal(mem_replace_page(m, base + 4 * PAGE), 0);
    mem_free(m);
}

/* File-backed RAM: a replaced page keeps what the guest wrote (or the
 * file's bytes if it wrote nothing), and the file is never written. */
static void test_replace_file_backed(void **state)
{
    (void)state;
    char path[] = "/tmp/vessel-mem-lease-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    uint8_t buf[4 * PAGE];
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 13 + 1);
    assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    struct mem *m = mem_new();
    const uint64_t base = 0x80000000ULL;
    assert_int_equal(mem_add_ram_file(m, base, 4 * PAGE, fd, 0), 0);
    assert_int_equal(mem_write(m, base + PAGE + 5, "guest", 5), 0);
    assert_int_equal(mem_replace_page(m, base), 0);
    assert_int_equal(mem_replace_page(m, base + PAGE), 0);
    uint8_t got[2 * PAGE];
    assert_int_equal(mem_read(m, base, got, sizeof(got)), 0);
    memcpy(buf + PAGE + 5, "guest", 5);
    assert_memory_equal(got, buf, sizeof(got));
    uint8_t file[8];
    assert_int_equal(pread(fd, file, sizeof(file), PAGE + 5), (ssize_t)sizeof(file));
    assert_int_equal(file[0], (uint8_t)((PAGE + 5) * 13 + 1));
    mem_free(m);
    close(fd);
}

/* A device thread pins, increments a word and unpins, over and over,
 * while another replaces the same page: pins either refuse the move or
 * wait for it, so no increment is lost. */
struct race {
    struct mem *m;
    uint64_t gpa;
    atomic_bool stop;
    _Atomic uint64_t incs;
};

static void *pinner(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->stop)) {
        uint64_t *p = mem_pin(r->m, r->gpa, NULL, true);
        (*p)++;
        mem_unpin(r->m, p, true);
        uint64_t v;     /* a copy pins too */
        assert_int_equal(mem_read(r->m, r->gpa + 8, &v, 8), 0);
        v++;
        assert_int_equal(mem_write(r->m, r->gpa + 8, &v, 8), 0);
        r->incs++;
    }
    return NULL;
}

static void test_pinner_races_mover(void **state)
{
    (void)state;
    struct race r = { .m = mem_new(), .gpa = 0x80000000ULL + 3 * PAGE };
    assert_int_equal(mem_add_ram(r.m, 0x80000000ULL, 8 * PAGE), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pinner, &r), 0);
    /* The moves race the pins only once the pinner runs. */
    while (!atomic_load(&r.incs))
        sched_yield();
    unsigned moved = 0, busy = 0;
    while (moved < 2000) {
        int rc = mem_replace_page(r.m, r.gpa);
        assert_true(rc == 0 || rc == -EBUSY);
        moved += rc == 0;
        busy += rc == -EBUSY;
    }
    atomic_store(&r.stop, true);
    pthread_join(t, NULL);
    uint64_t v[2];
    assert_int_equal(mem_read(r.m, r.gpa, v, sizeof(v)), 0);
    assert_true(r.incs > 0);
    assert_true(v[0] == r.incs);
    assert_true(v[1] == r.incs);
    mem_free(r.m);
}

/* mem_discard / mem_discard_iovec (the balloon's inflate and free page
 * reports): bad ranges are refused and change nothing; good ones read as
 * zeros (a memory file's bytes on a file-backed region), are marked dirty
 * and leave the neighbours alone; from iovecs only whole pages go. */
static void test_discard(void **state)
{
    (void)state;
    const uint64_t base = 0x80000000ULL;
    struct mem *m = mem_new();
    assert_int_equal(mem_add_ram(m, base, 16 * PAGE), 0);
    assert_int_equal(mem_add_ram(m, base + 16 * PAGE, 4 * PAGE), 0);   /* adjacent */
    for (unsigned i = 0; i < 20; i++)
        fill_page(m, base + i * PAGE, i);
    uint64_t bm[1];
    assert_int_equal(mem_dirty_fetch(m, base, 16 * PAGE, bm, true), 0);
    assert_int_equal(mem_discard(m, base + 1, PAGE), -EINVAL);
    assert_int_equal(mem_discard(m, base, PAGE + 1), -EINVAL);
    assert_int_equal(mem_discard(m, base, 100), -EINVAL);
    assert_int_equal(mem_discard(m, 0xfffffffffffff000ULL, 2 * PAGE), -EINVAL);  /* wraps */
    assert_int_equal(mem_discard(m, 0x1000, PAGE), -EINVAL);                    /* not RAM */
    assert_int_equal(mem_discard(m, base + 24 * PAGE, PAGE), -EINVAL);
    assert_int_equal(mem_discard(m, base + 15 * PAGE, 2 * PAGE), -EINVAL);      /* two regions */
    assert_int_equal(mem_discard(m, base + 18 * PAGE, 4 * PAGE), -EINVAL);      /* past the end */
    assert_int_equal(mem_discard(m, base + 3 * PAGE, 0), 0);
    for (unsigned i = 0; i < 20; i++)
        assert_true(page_holds(m, base + i * PAGE, i));
    assert_int_equal(mem_dirty_fetch(m, base, 16 * PAGE, bm, false), 0);
    assert_int_equal(bm[0], 0);

    assert_int_equal(mem_discard(m, base + 2 * PAGE, 3 * PAGE), 0);
    assert_int_equal(mem_dirty_fetch(m, base, 16 * PAGE, bm, false), 0);
    assert_int_equal(bm[0], 7ULL << 2);
    uint8_t zero[PAGE] = { 0 }, buf[PAGE];
    for (unsigned i = 0; i < 16; i++) {
        assert_int_equal(mem_read(m, base + i * PAGE, buf, PAGE), 0);
        if (i >= 2 && i < 5)
            assert_memory_equal(buf, zero, PAGE);
        else
            assert_true(page_holds(m, base + i * PAGE, i));
    }
    fill_page(m, base + 3 * PAGE, 99);       /* usable again */
    assert_true(page_holds(m, base + 3 * PAGE, 99));

    /* Iovecs: a buffer from 100 bytes into page 6 to 100 bytes into page
     * 9 gives back pages 7 and 8 only. */
    struct iovec iov[4];
    int n;
    assert_int_equal(mem_map_iovec(m, base + 6 * PAGE + 100, 3 * PAGE, false, iov, 4, &n), 0);
    uint64_t done = 1;
    assert_int_equal(mem_discard_iovec(m, iov, n, &done), 0);
    assert_int_equal(done, 2 * PAGE);
    assert_true(page_holds(m, base + 6 * PAGE, 6));
    assert_true(page_holds(m, base + 9 * PAGE, 9));
    assert_int_equal(mem_read(m, base + 7 * PAGE, buf, PAGE), 0);
    assert_memory_equal(buf, zero, PAGE);
    mem_unpin_iovec(m, iov, n, false);
    /* A good range, then one outside guest RAM: the first is done and
     * counted, the rest refused. */
    static uint8_t host[2 * PAGE];
    struct iovec bad[3] = {
        { mem_gpa_to_hva(m, base + 10 * PAGE, NULL, false), PAGE },
        { host, sizeof(host) },
        { mem_gpa_to_hva(m, base + 11 * PAGE, NULL, false), PAGE },
    };
    assert_int_equal(mem_discard_iovec(m, bad, 3, &done), -EINVAL);
    assert_int_equal(done, PAGE);
    assert_true(page_holds(m, base + 11 * PAGE, 11));
    /* Running past its region's mapping, empty: refused, nothing done. */
    struct iovec past = { mem_gpa_to_hva(m, base + 15 * PAGE, NULL, false), 2 * PAGE };
    assert_int_equal(mem_discard_iovec(m, &past, 1, &done), -EINVAL);
    assert_int_equal(done, 0);
    assert_true(page_holds(m, base + 15 * PAGE, 15));
    struct iovec empty = { bad[2].iov_base, 0 };
    assert_int_equal(mem_discard_iovec(m, &empty, 1, NULL), -EINVAL);
    assert_int_equal(mem_discard_iovec(m, NULL, 0, &done), 0);
    assert_int_equal(done, 0);
    assert_true(page_holds(m, base + 11 * PAGE, 11));
    mem_free(m);

    /* A file-backed region: the guest's private copy goes, the memory
     * file's bytes come back. */
    char path[] = "/tmp/vessel-memfile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(ftruncate(fd, 4 * PAGE), 0);
    assert_int_equal(pwrite(fd, "file", 4, PAGE), 4);
    m = mem_new();
    assert_int_equal(mem_add_ram_file(m, base, 4 * PAGE, fd, 0), 0);
    close(fd);
    assert_int_equal(mem_write(m, base + PAGE, "gues", 4), 0);
    assert_int_equal(mem_discard(m, base + PAGE, PAGE), 0);
    assert_int_equal(mem_read(m, base + PAGE, buf, 4), 0);
    assert_memory_equal(buf, "file", 4);
    mem_free(m);
}

/* Anonymous RAM's host address is congruent to its guest address modulo
 * 2 MiB and advised for huge pages, so a first touch can fault in 2 MiB
 * (mem.c ram_map_anon).  A discard of whole aligned 2 MiB blocks keeps
 * the advice; the first discard of part of one turns it off for the
 * region (else khugepaged would fill the hole back in), and zeroes only
 * its own pages. */
static void test_ram_huge_pages(void **state)
{
    (void)state;
    const uint64_t base = 0x80000000ULL, size = 8ULL << 20;
    struct mem *m = mem_new();
    assert_int_equal(mem_add_ram(m, base, size), 0);
    assert_int_equal(mem_add_ram(m, base + size + PAGE, 3 * PAGE), 0);  /* small, offset */
    uint64_t avail;
    uint8_t *h = mem_gpa_to_hva(m, base, &avail, true);
    assert_non_null(h);
    assert_int_equal((uintptr_t)h % MEM_HUGE_ALIGN, 0);
    uint8_t *s = mem_gpa_to_hva(m, base + size + PAGE, &avail, true);
    assert_non_null(s);
    assert_int_equal((uintptr_t)s % MEM_HUGE_ALIGN, PAGE);
    if (access("/sys/kernel/mm/transparent_hugepage", F_OK)) {
        print_message("host kernel without THP: the advice is not checked\n");
    } else {
        assert_true(smaps_vmflag(h, "hg"));
        assert_int_equal(mem_discard(m, base + 2 * MEM_HUGE_ALIGN, MEM_HUGE_ALIGN), 0);
        assert_true(smaps_vmflag(h, "hg"));
        assert_false(smaps_vmflag(h, "nh"));
    }
    for (unsigned i = 0; i < 8; i++)
        fill_page(m, base + MEM_HUGE_ALIGN + i * PAGE, i);
    assert_int_equal(mem_discard(m, base + MEM_HUGE_ALIGN + 3 * PAGE, PAGE), 0);
    if (!access("/sys/kernel/mm/transparent_hugepage", F_OK)) {
        assert_true(smaps_vmflag(h, "nh"));
        assert_false(smaps_vmflag(h, "hg"));
    }
    uint8_t zero[PAGE] = { 0 }, buf[PAGE];
    for (unsigned i = 0; i < 8; i++) {
        if (i == 3) {
            assert_int_equal(mem_read(m, base + MEM_HUGE_ALIGN + i * PAGE, buf, PAGE), 0);
            assert_memory_equal(buf, zero, PAGE);
        } else {
            assert_true(page_holds(m, base + MEM_HUGE_ALIGN + i * PAGE, i));
        }
    }
    mem_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_regions),
        cmocka_unit_test(test_region_limit),
        cmocka_unit_test(test_file_backed_ram),
        cmocka_unit_test(test_dirty_log),
        cmocka_unit_test(test_replace_page),
        cmocka_unit_test(test_pins),
        cmocka_unit_test(test_map_iovec_errors_unpin),
        cmocka_unit_test(test_replace_file_backed),
        cmocka_unit_test(test_pinner_races_mover),
        cmocka_unit_test(test_discard),
        cmocka_unit_test(test_ram_huge_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
