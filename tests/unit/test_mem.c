/* Unit tests for guest-physical memory (src/mem/): many RAM regions and
 * their lookup, file-backed copy-on-write RAM (snapshot restore), the
 * dirty log's fetch-and-clear and the map generation. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

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

static unsigned shootdowns;
static void count_shootdown(void *opaque)
{
    (void)opaque;
    shootdowns++;
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
    assert_int_equal(mem_map_iovec(m, base + 20 * PAGE + 100, PAGE, true, iov, 4, &n), 0);
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
    /* Clear: the generation moves, the shootdown runs, the bits go. */
    mem_set_shootdown(m, count_shootdown, NULL);
    assert_int_equal(mem_dirty_fetch(m, base, 128 * PAGE, bm, true), 0);
    assert_int_equal(shootdowns, 1);
    assert_int_equal(mem_map_gen(m), gen + 1);
    assert_int_equal(mem_dirty_fetch(m, base, 128 * PAGE, bm, false), 0);
    assert_int_equal(bm[0] | bm[1], 0);
    /* Ranges must be page aligned and within one region. */
    assert_int_equal(mem_dirty_fetch(m, base + 1, PAGE, bm, false), -EINVAL);
    assert_int_equal(mem_dirty_fetch(m, base + 127 * PAGE, 2 * PAGE, bm, false), -EINVAL);
    assert_int_equal(mem_dirty_fetch(m, base + 200 * PAGE, PAGE, bm, false), -EINVAL);
    assert_int_equal(mem_dirty_fetch(m, base + 256 * PAGE, 4 * PAGE, bm, false), 0);
    mem_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_regions),
        cmocka_unit_test(test_region_limit),
        cmocka_unit_test(test_file_backed_ram),
        cmocka_unit_test(test_dirty_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
