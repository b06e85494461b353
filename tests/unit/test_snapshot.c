/* Unit tests for the snapshot directory (src/vmm/snapshot.c) and CRC-32C:
 * the memory file is sparse and maps back identical, the state file
 * round-trips its sections and refuses every corruption, with a message
 * naming what is wrong. */
#include <errno.h>
#include <fcntl.h>
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

#define PAGE 4096ULL
#define BASE 0x80000000ULL
#define HIGH 0x100000000ULL

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c(0, "", 0), 0);
    uint8_t buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (uint8_t)(i * 7);
    uint32_t whole = crc32c(0, buf, sizeof(buf));
    assert_int_equal(crc32c(crc32c(0, buf, 333), buf + 333, 667), whole);
    /* 32 zero bytes: RFC 3720 B.4 */
    memset(buf, 0, 32);
    assert_int_equal(crc32c(0, buf, 32), 0x8A9136AAu);
}

static char dir[] = "/tmp/vessel-snap-XXXXXX";

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/vessel-snap-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char p[256];
    const char *names[] = { "state", "memory", "state.tmp", "memory.tmp" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static void fill(struct mem *m, uint64_t gpa, uint8_t seed, size_t len)
{
    uint8_t *b = malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(seed + i * 13);
    assert_int_equal(mem_write(m, gpa, b, len), 0);
    free(b);
}

static void same_ram(struct mem *a, struct mem *b, uint64_t gpa, uint64_t len)
{
    uint8_t *x = malloc(len), *y = malloc(len);
    assert_int_equal(mem_read(a, gpa, x, len), 0);
    assert_int_equal(mem_read(b, gpa, y, len), 0);
    assert_memory_equal(x, y, len);
    free(x);
    free(y);
}

/* 64 MiB + 1 MiB of RAM with 13 pages of data and a page written with
 * zeros: the memory file holds about 13 pages, and maps back equal. */
static void test_memory_sparse_round_trip(void **state)
{
    (void)state;
    struct mem *m = mem_new();
    assert_int_equal(mem_add_ram(m, BASE, 64 << 20), 0);
    assert_int_equal(mem_add_ram(m, HIGH, 1 << 20), 0);
    fill(m, BASE, 1, PAGE);
    fill(m, BASE + 10 * PAGE + 100, 2, 3 * PAGE);          /* pages 10..13 */
    fill(m, BASE + (64 << 20) - PAGE, 3, PAGE);            /* the last page */
    fill(m, HIGH + 5 * PAGE, 4, 7 * PAGE);
    uint8_t zero[PAGE] = {0};
    assert_int_equal(mem_write(m, BASE + 40 * PAGE, zero, PAGE), 0);
    struct sstate_writer w;
    sstate_writer_init(&w);
    char err[512] = "";
    uint64_t written = 0;
    assert_int_equal(snap_memory_write(dir, m, &w, NULL, NULL, &written, err,
                                       sizeof(err)), 0);
    assert_int_equal(written, 13 * PAGE);
    /* Not named until the state file is written. */
    char path[256];
    snprintf(path, sizeof(path), "%s/memory", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), -1);
    assert_int_equal(snap_state_write(dir, &w, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, (64 << 20) + (1 << 20));
    assert_true((uint64_t)st.st_blocks * 512 <= 13 * PAGE + (256 << 10));

    struct mem *r = mem_new();
    struct sstate_reader rd;
    sstate_reader_init(&rd, w.buf, w.len);
    assert_int_equal(snap_memory_map(dir, r, &rd, err, sizeof(err)), 0);
    assert_int_equal(mem_ram_size(r), (64 << 20) + (1 << 20));
    same_ram(m, r, BASE, 64 << 20);
    same_ram(m, r, HIGH, 1 << 20);
    /* The restored VM's writes stay its own. */
    fill(r, BASE, 9, 16);
    struct mem *r2 = mem_new();
    sstate_reader_init(&rd, w.buf, w.len);
    assert_int_equal(snap_memory_map(dir, r2, &rd, err, sizeof(err)), 0);
    same_ram(m, r2, BASE, PAGE);
    mem_free(r2);
    mem_free(r);
    mem_free(m);
    sstate_writer_free(&w);
}

static void test_memory_table_hostile(void **state)
{
    (void)state;
    struct mem *m = mem_new();
    assert_int_equal(mem_add_ram(m, BASE, 1 << 20), 0);
    struct sstate_writer w;
    sstate_writer_init(&w);
    char err[512];
    assert_int_equal(snap_memory_write(dir, m, &w, NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(snap_state_write(dir, &w, err, sizeof(err)), 0);
    mem_free(m);
    /* payload: u32 count, then gpa, size, offset */
    struct { size_t off; uint64_t val; unsigned len; const char *what; } bad[] = {
        { 16 + 0, 0, 4, "regions" },
        { 16 + 0, 100000, 4, "regions" },
        { 16 + 4, BASE + 1, 8, "not page aligned" },
        { 16 + 12, 0, 8, "not page aligned" },
        { 16 + 20, PAGE, 8, "not page aligned" },
        { 16 + 12, 2 << 20, 8, "as the state file says" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t *copy = malloc(w.len);
        memcpy(copy, w.buf, w.len);
        for (unsigned k = 0; k < bad[i].len; k++)
            copy[bad[i].off + k] = (uint8_t)(bad[i].val >> (8 * k));
        struct mem *r = mem_new();
        struct sstate_reader rd;
        sstate_reader_init(&rd, copy, w.len);
        int rc = snap_memory_map(dir, r, &rd, err, sizeof(err));
        if (rc != -EINVAL || !strstr(err, bad[i].what))
            fail_msg("case %zu: rc %d, message '%s'", i, rc, err);
        assert_int_equal(mem_ram_size(r), 0);
        mem_free(r);
        free(copy);
    }
    sstate_writer_free(&w);
}

static void two_sections(struct sstate_writer *w)
{
    sstate_writer_init(w);
    sstate_begin(w, "alpha", 1);
    sstate_put_u64(w, 0x1122334455667788ULL);
    assert_int_equal(sstate_end(w), 0);
    sstate_begin(w, "beta", 2);
    sstate_put_bytes(w, "hello", 5);
    assert_int_equal(sstate_end(w), 0);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*len);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void write_file(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void test_state_round_trip_and_corruption(void **state)
{
    (void)state;
    struct sstate_writer w;
    two_sections(&w);
    char err[512] = "";
    assert_int_equal(snap_state_write(dir, &w, err, sizeof(err)), 0);
    uint8_t *buf;
    size_t len;
    assert_int_equal(snap_state_read(dir, &buf, &len, err, sizeof(err)), 0);
    assert_int_equal(len, w.len);
    assert_memory_equal(buf, w.buf, len);
    free(buf);

    char path[256];
    snprintf(path, sizeof(path), "%s/state", dir);
    size_t flen;
    uint8_t *good = read_file(path, &flen);
    /* Every single-byte change is caught. */
    for (size_t i = 0; i < flen; i++) {
        uint8_t *bad = malloc(flen);
        memcpy(bad, good, flen);
        bad[i] ^= 0x40;
        write_file(path, bad, flen);
        int rc = snap_state_read(dir, &buf, &len, err, sizeof(err));
        if (rc != -EINVAL && rc != -ENOTSUP)
            fail_msg("flipping byte %zu was not caught (rc %d)", i, rc);
        free(bad);
    }
    /* Every truncation, and trailing bytes after the end record. */
    for (size_t cut = 0; cut < flen; cut++) {
        write_file(path, good, cut);
        assert_true(snap_state_read(dir, &buf, &len, err, sizeof(err)) < 0);
    }
    uint8_t *longer = calloc(1, flen + 8);
    memcpy(longer, good, flen);
    write_file(path, longer, flen + 8);
    assert_int_equal(snap_state_read(dir, &buf, &len, err, sizeof(err)), -EINVAL);
    free(longer);
    /* A section's checksum mismatch names the section. */
    uint8_t *bad = malloc(flen);
    memcpy(bad, good, flen);
    bad[32 + 16] ^= 1;                       /* alpha's payload */
    write_file(path, bad, flen);
    assert_int_equal(snap_state_read(dir, &buf, &len, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "\"alpha\""));
    assert_non_null(strstr(err, "checksum"));
    /* A newer format is -ENOTSUP with the versions named. */
    memcpy(bad, good, flen);
    bad[8] = 2;
    uint32_t c = crc32c(0, bad, 24);
    memcpy(bad + 24, &c, 4);
    write_file(path, bad, flen);
    assert_int_equal(snap_state_read(dir, &buf, &len, err, sizeof(err)), -ENOTSUP);
    assert_non_null(strstr(err, "version 2"));
    free(bad);
    free(good);
    sstate_writer_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test_setup_teardown(test_memory_sparse_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_table_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_round_trip_and_corruption, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
