/* Unit tests for the VHDX driver (docs/block.md "VHDX") and CRC-32C:
 *  - CRC-32C against RFC 3720 B.4's check values, in pieces too;
 *  - data written reads back, dynamic and fixed, across the sector
 *    bitmap entry that follows each chunk of payload entries in the BAT;
 *  - headers: the valid one with the higher sequence number is current,
 *    one damaged header is survived, both damaged refused;
 *  - region table: table 1 damaged is survived, an unknown required
 *    region refused; metadata: a block size that is no power of two, a
 *    bad logical sector size, a missing item, a parent: refused naming
 *    the field;
 *  - the log: a file left by a writer that stopped after its log entry
 *    (its BAT sector zeroed in place) reads the data read-only (replay
 *    in memory, file untouched) and read-write (replay into the file,
 *    LogGuid cleared); a damaged entry is not replayed; a Tail that does
 *    not lead to the head is refused. */
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

#include "block/block.h"
#include "block/vhdx.h"
#include "util/util.h"

#define MIB (1u << 20)
#define META (2u * MIB)          /* where vhdx_create puts the regions */
#define BAT (3u * MIB)
#define LOG (1u * MIB)

static char dir[256];

static const char *tpath(const char *name)
{
    static char p[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
    return p[k];
}

static int setup(void **st)
{
    (void)st;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/vessel-vhdx-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static void create(const char *p, uint64_t size, uint32_t bs, const char *sub)
{
    struct block_create_opts o = { .format = BLOCK_FMT_VHDX, .size = size,
                                   .cluster_size = bs, .subformat = sub };
    char err[BLOCK_ERR_LEN];
    if (block_create(p, &o, err, sizeof(err)) < 0)
        fail_msg("create %s: %s", p, err);
}

static struct block_dev *open_ok(const char *p, unsigned fl)
{
    struct block_dev *bd;
    char err[BLOCK_ERR_LEN];
    if (block_open(&bd, p, fl, BLOCK_FMT_PROBE, err, sizeof(err)) < 0)
        fail_msg("open %s: %s", p, err);
    return bd;
}

/* Open must fail with `want`, the message naming the file and `says`. */
static void open_bad(const char *p, int want, const char *says)
{
    struct block_dev *bd = NULL;
    char err[BLOCK_ERR_LEN];
    int r = block_open(&bd, p, BLOCK_O_RDONLY, BLOCK_FMT_VHDX, err, sizeof(err));
    if (r != want || !strstr(err, says) || !strstr(err, p))
        fail_msg("open %s: %d '%s' (wanted %d naming '%s')", p, r, err, want, says);
    assert_null(bd);
}

static void poke(const char *p, uint64_t off, const void *b, size_t n)
{
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void poke_le(const char *p, uint64_t off, uint64_t v, unsigned n)
{
    uint8_t b[8];
    le_put(b, v, n);
    poke(p, off, b, n);
}

static uint64_t peek_le(const char *p, uint64_t off, unsigned n)
{
    uint8_t b[8] = { 0 };
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
    return le_get(b, n);
}

/* Recompute the CRC-32C of the n-byte structure at off (field at +4). */
static void reseal(const char *p, uint64_t off, size_t n)
{
    uint8_t *b = malloc(n);
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0 && b);
    assert_int_equal(pread(fd, b, n, (off_t)off), (ssize_t)n);
    le_put(b + 4, 0, 4);
    le_put(b + 4, crc32c(0, b, n), 4);
    assert_int_equal(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
    free(b);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_crc32c(void **st)
{
    (void)st;
    uint8_t b[32];
    memset(b, 0, 32);
    assert_int_equal(crc32c(0, b, 32), 0x8A9136AAu);
    memset(b, 0xff, 32);
    assert_int_equal(crc32c(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    assert_int_equal(crc32c(0, b, 32), 0x46DD794Eu);
    assert_int_equal(crc32c(crc32c(0, b, 13), b + 13, 19), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(31 - i);
    assert_int_equal(crc32c(0, b, 32), 0x113FDB5Cu);
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
}

/* 5 GiB in 1 MiB blocks: a chunk is 4096 blocks (2^23 sectors), so block
 * 4096 is BAT entry 4097, past the first sector bitmap entry. */
static void test_rw_dynamic_chunks(void **st)
{
    (void)st;
    const char *p = tpath("dyn.vhdx");
    create(p, 5ull << 30, MIB, NULL);
    struct block_dev *bd = open_ok(p, 0);
    uint8_t w[8192], r[8192];
    for (size_t i = 0; i < sizeof(w); i++)
        w[i] = (uint8_t)(i * 13 + 1);
    uint64_t offs[] = { 0, 4096ull * MIB + 512, (5ull << 30) - 8192, MIB - 4096 };
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(block_pwrite(bd, offs[i], w, sizeof(w)), 0);
    block_close(bd);
    bd = open_ok(p, BLOCK_O_RDONLY);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(block_pread(bd, offs[i], r, sizeof(r)), 0);
        assert_memory_equal(r, w, sizeof(w));
    }
    assert_int_equal(block_pread(bd, 2 * MIB, r, 4096), 0);
    for (int i = 0; i < 4096; i++)
        assert_int_equal(r[i], 0);
    block_close(bd);
    assert_int_equal(peek_le(p, BAT + 4096 * 8, 8), 0);          /* sector bitmap entry */
    assert_int_equal(peek_le(p, BAT + 4097 * 8, 8) & 7, 6);      /* block 4096: present */
    assert_int_equal(peek_le(p, BAT + 2 * 8, 8), 0);             /* block 2: not present */
    /* A clean close leaves no log to replay. */
    uint64_t s1 = peek_le(p, 64 * 1024 + 8, 8), s2 = peek_le(p, 128 * 1024 + 8, 8);
    assert_int_equal(peek_le(p, (s1 > s2 ? 64 : 128) * 1024 + 48, 8), 0);
}

static void test_rw_fixed(void **st)
{
    (void)st;
    const char *p = tpath("fixed.vhdx");
    create(p, 20 * MIB + 512, 0, "fixed");
    struct block_dev *bd = open_ok(p, 0);
    assert_int_equal(block_length(bd), 20 * MIB + 512);
    uint8_t w[4096], r[4096];
    memset(w, 0xa5, sizeof(w));
    assert_int_equal(block_pwrite(bd, 9 * MIB - 100, w, sizeof(w)), 0);
    assert_int_equal(block_pread(bd, 9 * MIB - 100, r, sizeof(r)), 0);
    assert_memory_equal(r, w, sizeof(w));
    block_close(bd);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    /* Every block present from creation, in order after the BAT. */
    assert_int_equal(peek_le(p, BAT, 8), (4ull * MIB) | 6);
    assert_int_equal(peek_le(p, BAT + 8, 8), (4ull * MIB + 8 * MIB) | 6);
}

static void test_headers(void **st)
{
    (void)st;
    const char *p = tpath("h.vhdx");
    create(p, 8 * MIB, 0, NULL);
    struct vhdx_state s;
    memset(&s, 0, sizeof(s));
    char err[BLOCK_ERR_LEN];
    struct host_file f = { .fd = open(p, O_RDONLY) };
    assert_int_equal(vhdx_parse_headers(&f, p, &s, err, sizeof(err)), 0);
    assert_int_equal(s.cur, 1);                 /* sequence 2 beats 1 */
    close(f.fd);
    poke_le(p, 128 * 1024 + 20, 0x77, 1);       /* header 2 damaged */
    f.fd = open(p, O_RDONLY);
    assert_int_equal(vhdx_parse_headers(&f, p, &s, err, sizeof(err)), 0);
    assert_int_equal(s.cur, 0);
    close(f.fd);
    block_close(open_ok(p, BLOCK_O_RDONLY));
    poke_le(p, 64 * 1024 + 20, 0x77, 1);        /* both damaged */
    open_bad(p, -EINVAL, "CRC-32C");
    create(p, 8 * MIB, 0, NULL);
    poke_le(p, 128 * 1024 + 66, 2, 2);          /* Version 2 */
    reseal(p, 128 * 1024, 4096);
    open_bad(p, -ENOTSUP, "Version");
    create(p, 8 * MIB, 0, NULL);
    poke_le(p, 128 * 1024 + 72, 3 * MIB + 4096, 8);   /* LogOffset unaligned */
    reseal(p, 128 * 1024, 4096);
    open_bad(p, -EINVAL, "LogOffset");
}

static void test_regions_metadata(void **st)
{
    (void)st;
    const char *p = tpath("m.vhdx");
    create(p, 8 * MIB, 0, NULL);
    poke_le(p, 192 * 1024 + 40, 7, 1);          /* region table 1 damaged */
    block_close(open_ok(p, BLOCK_O_RDONLY));
    /* An unknown region marked required, in both tables. */
    create(p, 8 * MIB, 0, NULL);
    for (uint64_t t = 192 * 1024; t <= 256 * 1024; t += 64 * 1024) {
        uint8_t e[32] = { 1, 2, 3 };
        le_put(e + 16, 9 * MIB, 8);
        le_put(e + 24, MIB, 4);
        le_put(e + 28, 1, 4);
        poke(p, t + 16 + 64, e, 32);
        poke_le(p, t + 8, 3, 4);
        reseal(p, t, 64 * 1024);
    }
    open_bad(p, -ENOTSUP, "unknown region");
    create(p, 8 * MIB, 0, NULL);
    poke_le(p, META + 65536, 3 * MIB, 4);
    open_bad(p, -EINVAL, "BlockSize");
    create(p, 8 * MIB, 0, NULL);
    poke_le(p, META + 65536 + 32, 1000, 4);
    open_bad(p, -EINVAL, "logical sector size");
    create(p, 8 * MIB, 0, NULL);
    poke_le(p, META + 65536 + 8, 1ull << 50, 8);
    open_bad(p, -EINVAL, "virtual disk size");
    create(p, 8 * MIB, 0, NULL);
    poke_le(p, META + 32, 0x99, 1);             /* the file parameters GUID... */
    poke_le(p, META + 32 + 24, 0, 4);           /* ...not required */
    open_bad(p, -EINVAL, "no file parameters");
    create(p, 8 * MIB, 0, NULL);
    poke_le(p, META + 65536 + 4, 2, 4);         /* HasParent */
    open_bad(p, -ENOTSUP, "differencing");
    create(p, 8 * MIB, 0, NULL);
    poke_le(p, META + 32 + 16, 64, 4);          /* an item inside the table */
    open_bad(p, -EINVAL, "metadata entry 0");
    create(p, 8 * MIB, MIB, NULL);
    poke_le(p, BAT + 8, (7ull << 20) | 6, 8);   /* block 1 over the BAT... */
    open_bad(p, -EINVAL, "BAT entry 1");
    create(p, 8 * MIB, MIB, NULL);
    poke_le(p, BAT + 8, 7, 8);                  /* partially present */
    open_bad(p, -EINVAL, "state 7");
}

/* A writer stopped after the log entry of its first allocation (committed
 * by a flush): the BAT sector in place is zeroed again, as if that write
 * never happened. */
static const char *crashed_image(const char *name, uint8_t *w)
{
    const char *p = tpath("clean.vhdx"), *c = tpath(name);
    create(p, 16 * MIB, MIB, NULL);
    struct block_dev *bd = open_ok(p, 0);
    for (int i = 0; i < 4096; i++)
        w[i] = (uint8_t)(i ^ 0x5a);
    assert_int_equal(block_pwrite(bd, 5 * MIB, w, 4096), 0);
    assert_int_equal(block_flush(bd), 0);   /* the BAT change through the log */
    copy_file(p, c);             /* before the close clears the log */
    block_close(bd);
    uint8_t z[4096] = { 0 };
    poke(c, BAT, z, sizeof(z));
    return c;
}

static void test_log_replay(void **st)
{
    (void)st;
    uint8_t w[4096], r[4096];
    const char *c = crashed_image("crash.vhdx", w);
    struct stat before, after;
    assert_int_equal(stat(c, &before), 0);
    uint64_t bat0 = peek_le(c, BAT + 5 * 8, 8);
    assert_int_equal(bat0, 0);
    struct block_dev *bd = open_ok(c, BLOCK_O_RDONLY);
    assert_int_equal(block_pread(bd, 5 * MIB, r, sizeof(r)), 0);
    assert_memory_equal(r, w, sizeof(w));
    struct block_info info;
    assert_int_equal(block_get_info(bd, &info), 0);
    assert_true(info.dirty);
    block_info_free(&info);
    block_close(bd);
    assert_int_equal(stat(c, &after), 0);
    assert_int_equal(peek_le(c, BAT + 5 * 8, 8), 0);   /* read-only: file untouched */
    assert_true(before.st_mtim.tv_nsec == after.st_mtim.tv_nsec &&
                before.st_mtim.tv_sec == after.st_mtim.tv_sec);
    bd = open_ok(c, 0);
    assert_int_equal(block_pread(bd, 5 * MIB, r, sizeof(r)), 0);
    assert_memory_equal(r, w, sizeof(w));
    block_close(bd);
    assert_int_equal(peek_le(c, BAT + 5 * 8, 8) & 7, 6);  /* replayed into the file */
    struct vhdx_state s;
    memset(&s, 0, sizeof(s));
    char err[BLOCK_ERR_LEN];
    struct host_file f = { .fd = open(c, O_RDONLY) };
    assert_int_equal(vhdx_parse_headers(&f, c, &s, err, sizeof(err)), 0);
    close(f.fd);
    assert_true(vhdx_guid_zero(s.hdr + VHDX_H_LOG_GUID));
}

static void test_log_damaged(void **st)
{
    (void)st;
    uint8_t w[4096], r[4096];
    /* A damaged entry is not valid: nothing to replay, the block reads
     * zeros as the BAT in place says. */
    const char *c = crashed_image("bad1.vhdx", w);
    poke_le(c, LOG + 4096 + 100, 0xee, 1);
    struct block_dev *bd = open_ok(c, BLOCK_O_RDONLY);
    assert_int_equal(block_pread(bd, 5 * MIB, r, sizeof(r)), 0);
    for (int i = 0; i < 4096; i++)
        assert_int_equal(r[i], 0);
    block_close(bd);
    /* A Tail that does not lead to the head (entry at 0: tail 8 KiB). */
    c = crashed_image("bad2.vhdx", w);
    poke_le(c, LOG + 12, 8192, 4);
    reseal(c, LOG, 8192);
    open_bad(c, -EINVAL, "Tail");
    /* A descriptor into the headers. */
    c = crashed_image("bad3.vhdx", w);
    poke_le(c, LOG + 64 + 16, 64 * 1024, 8);
    reseal(c, LOG, 8192);
    open_bad(c, -EINVAL, "descriptor 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_rw_dynamic_chunks),
        cmocka_unit_test(test_rw_fixed),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_regions_metadata),
        cmocka_unit_test(test_log_replay),
        cmocka_unit_test(test_log_damaged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
