/* Unit tests for the VHD and VDI drivers (docs/block.md "VHD", "VDI"):
 *  - data written reads back, and a VHD's sector bitmap has exactly the
 *    written sectors' bits set;
 *  - a VHD's size is its CHS geometry's or its current size by the rules
 *    qemu follows (creator, largest geometry);
 *  - a VHD whose end footer is damaged opens through the copy at offset
 *    0 (and a writable open restores the end footer); both damaged,
 *    a bad dynamic header checksum, a block size that is no power of
 *    two, a BAT entry past the end, two blocks at one offset, a BAT
 *    larger than the file, an absurd size: refused, naming the file and
 *    the field;
 *  - a differencing VHD reads its own sectors and its parent's through
 *    the relative locator, refuses a parent with another unique id and a
 *    locator outside the file, and opens read-only only;
 *  - VDI: bad signature, block size, block map entries (out of range,
 *    shared slots), disk size, a block map past the end: refused with
 *    the field named; check reports a wrong allocated-blocks count;
 *  - check reports a VHD block and a VDI slot no entry names as leaks. */
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

#define MIB (1u << 20)

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
    snprintf(dir, sizeof(dir), "%s/vessel-vdisk-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static void make(const char *path, enum block_format fmt, uint64_t size,
                 const char *sub)
{
    struct block_create_opts o = { .format = fmt, .size = size, .subformat = sub };
    char err[BLOCK_ERR_LEN];
    if (block_create(path, &o, err, sizeof(err)) < 0)
        fail_msg("create %s: %s", path, err);
}

static void pread_file(const char *path, uint64_t off, void *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void pwrite_file(const char *path, uint64_t off, const void *buf, size_t n)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static uint64_t fsize(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = n; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static void vhd_seal(uint8_t *b, size_t len, size_t at)
{
    uint32_t sum = 0;
    put_be(b + at, 0, 4);
    for (size_t i = 0; i < len; i++)
        sum += b[i];
    put_be(b + at, ~sum, 4);
}

/* Edit a VHD's footers (both copies) or dynamic header with fn, then
 * reseal the checksums. */
static void vhd_edit_footer(const char *path, void (*fn)(uint8_t *f, void *), void *arg)
{
    uint8_t f[512];
    uint64_t end = fsize(path) - 512;
    pread_file(path, end, f, 512);
    fn(f, arg);
    vhd_seal(f, 512, 64);
    pwrite_file(path, end, f, 512);
    pwrite_file(path, 0, f, 512);
}

static void vhd_edit_dyn(const char *path, void (*fn)(uint8_t *d, void *), void *arg)
{
    uint8_t d[1024];
    pread_file(path, 512, d, 1024);
    fn(d, arg);
    vhd_seal(d, 1024, 36);
    pwrite_file(path, 512, d, 1024);
}

static struct block_dev *open_ok(const char *path, unsigned flags,
                                 enum block_format fmt)
{
    struct block_dev *bd;
    char err[BLOCK_ERR_LEN];
    if (block_open(&bd, path, flags, fmt, err, sizeof(err)) < 0)
        fail_msg("%s: %s", path, err);
    return bd;
}

/* Open must fail with `want` and a message holding the file and `field`. */
static void open_fails(const char *path, unsigned flags, enum block_format fmt,
                       int want, const char *field)
{
    struct block_dev *bd = NULL;
    char err[BLOCK_ERR_LEN] = "";
    int r = block_open(&bd, path, flags, fmt, err, sizeof(err));
    if (r != want || !strstr(err, field) || !strstr(err, path))
        fail_msg("%s: open returned %d (want %d), message '%s' (want '%s')",
                 path, r, want, err, field);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

/* ---- VHD ---- */

static void test_vhd_rw_bitmap(void **st)
{
    (void)st;
    const char *p = tpath("rw.vhd");
    make(p, BLOCK_FMT_VPC, 16 * MIB, NULL);
    struct block_dev *bd = open_ok(p, 0, BLOCK_FMT_PROBE);
    assert_int_equal(block_format(bd), BLOCK_FMT_VPC);
    static uint8_t a[3 * MIB], b[3 * MIB];
    fill(a, sizeof(a), 3);
    /* bytes 1000..(2 MiB + 700) of the disk: sectors 1..4097 */
    assert_int_equal(block_pwrite(bd, 1000, a, 2 * MIB - 300), 0);
    assert_int_equal(block_pread(bd, 1000, b, 2 * MIB - 300), 0);
    assert_memory_equal(a, b, 2 * MIB - 300);
    assert_int_equal(block_pread(bd, 0, b, 1000), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(b[i], 0);
    block_close(bd);
    /* The BAT (at 1536) maps blocks 0 and 1; block 0's bitmap has bits
     * 1..4095 set, bit 0 clear; block 1's bits 0 and 1 (its first 700
     * bytes). */
    uint8_t bat[8], bm[512];
    pread_file(p, 1536, bat, 8);
    assert_int_not_equal(be(bat, 4), 0xffffffffu);
    assert_int_not_equal(be(bat + 4, 4), 0xffffffffu);
    pread_file(p, be(bat, 4) * 512, bm, 512);
    assert_int_equal(bm[0], 0x7f);
    for (int i = 1; i < 512; i++)
        assert_int_equal(bm[i], 0xff);
    pread_file(p, be(bat + 4, 4) * 512, bm, 512);
    assert_int_equal(bm[0], 0xc0);
    for (int i = 1; i < 512; i++)
        assert_int_equal(bm[i], 0);
    /* and check finds nothing wrong */
    bd = open_ok(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC);
    struct block_check_result res;
    assert_int_equal(block_check(bd, false, &res, NULL), 0);
    assert_int_equal(res.corruptions, 0);
    assert_int_equal(res.leaks, 0);
    assert_int_equal(res.allocated_clusters, 2);
    block_close(bd);
    /* a block no BAT entry names any more is a leak */
    uint8_t none[4] = { 0xff, 0xff, 0xff, 0xff };
    pwrite_file(p, 1536, none, 4);
    bd = open_ok(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC);
    assert_int_equal(block_check(bd, false, &res, NULL), 0);
    assert_int_equal(res.corruptions, 0);
    assert_int_equal(res.leaks, 1);
    block_close(bd);
}

static void test_vhd_footer_copy(void **st)
{
    (void)st;
    const char *p = tpath("fc.vhd");
    make(p, BLOCK_FMT_VPC, 8 * MIB, NULL);
    struct block_dev *bd = open_ok(p, 0, BLOCK_FMT_VPC);
    uint8_t a[4096], b[4096];
    fill(a, sizeof(a), 9);
    assert_int_equal(block_pwrite(bd, 3 * MIB, a, sizeof(a)), 0);
    block_close(bd);
    uint64_t end = fsize(p) - 512;
    uint8_t bad[4] = "XXXX";
    pwrite_file(p, end + 100, bad, 4);   /* in the unique id: checksum wrong */
    bd = open_ok(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC);
    assert_int_equal(block_pread(bd, 3 * MIB, b, sizeof(b)), 0);
    assert_memory_equal(a, b, sizeof(a));
    struct block_check_result res;
    assert_int_equal(block_check(bd, false, &res, NULL), 0);
    assert_int_equal(res.corruptions, 1);
    block_close(bd);
    /* a writable open puts the copy back at the end */
    block_close(open_ok(p, 0, BLOCK_FMT_VPC));
    uint8_t f0[512], fe[512];
    pread_file(p, 0, f0, 512);
    pread_file(p, fsize(p) - 512, fe, 512);
    assert_memory_equal(f0, fe, 512);
    /* both damaged: refused, the footer and its checksum named */
    pwrite_file(p, fsize(p) - 512 + 100, bad, 4);
    pwrite_file(p, 100, bad, 4);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "checksum");
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "footer");
}

static void set_block_size(uint8_t *d, void *arg)
{
    put_be(d + 32, *(uint32_t *)arg, 4);
}

static void set_max_entries(uint8_t *d, void *arg)
{
    put_be(d + 28, *(uint32_t *)arg, 4);
}

static void set_huge_size(uint8_t *f, void *arg)
{
    (void)arg;
    memcpy(f + 28, "win ", 4);               /* a creator whose size counts */
    put_be(f + 48, 1ull << 50, 8);
}

struct size_arg {
    const char *creator;
    uint64_t cur;
    bool max_chs;
};

static void set_size(uint8_t *f, void *arg)
{
    struct size_arg *a = arg;
    memcpy(f + 28, a->creator, 4);
    put_be(f + 48, a->cur, 8);
    if (a->max_chs) {
        put_be(f + 56, 65535, 2);
        f[58] = 16;
        f[59] = 255;
    }
}

/* Which of CHS and current size is the disk's size: as qemu reads it. */
static void test_vhd_size_rules(void **st)
{
    (void)st;
    const char *p = tpath("size.vhd");
    struct { struct size_arg a; uint64_t want; } cases[] = {
        { { "vssl", 10 * MIB, false }, 10514432 },   /* unknown creator: CHS */
        { { "vpc ", 10 * MIB, false }, 10514432 },   /* Virtual PC: CHS */
        { { "win ", 10 * MIB, false }, 10 * MIB },   /* Hyper-V: current size */
        { { "qem2", 10 * MIB, false }, 10 * MIB },   /* qemu force_size */
        { { "d2v ", 10 * MIB, false }, 10 * MIB },
        { { "tap\0", 10 * MIB, false }, 10 * MIB },
        { { "vpc ", 9 * MIB, true }, 9 * MIB },      /* largest geometry: current size */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        make(p, BLOCK_FMT_VPC, 10 * MIB, NULL);
        vhd_edit_footer(p, set_size, &cases[i].a);
        struct block_dev *bd = open_ok(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC);
        if (block_length(bd) != cases[i].want)
            fail_msg("creator '%s': size %llu, want %llu", cases[i].a.creator,
                     (unsigned long long)block_length(bd),
                     (unsigned long long)cases[i].want);
        block_close(bd);
    }
}

static void test_vhd_hostile_header(void **st)
{
    (void)st;
    const char *p = tpath("h.vhd");
    make(p, BLOCK_FMT_VPC, 8 * MIB, NULL);
    uint8_t bad = 0x55;
    pwrite_file(p, 512 + 200, &bad, 1);   /* dynamic header checksum now wrong */
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "dynamic disk header field checksum");

    make(p, BLOCK_FMT_VPC, 8 * MIB, NULL);
    uint32_t bs = 3 * 1000 * 1000;
    vhd_edit_dyn(p, set_block_size, &bs);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "block size");

    make(p, BLOCK_FMT_VPC, 8 * MIB, NULL);
    uint32_t n = 1u << 28;                    /* a BAT of 1 GiB in a 2.5 KiB file */
    vhd_edit_dyn(p, set_max_entries, &n);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "runs past the end of the file");

    make(p, BLOCK_FMT_VPC, 8 * MIB, NULL);
    n = 2;                                    /* 4 MiB of blocks for an 8 MiB disk */
    vhd_edit_dyn(p, set_max_entries, &n);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "max table entries");

    make(p, BLOCK_FMT_VPC, 8 * MIB, NULL);
    vhd_edit_footer(p, set_huge_size, NULL);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "current size");
}

static void test_vhd_hostile_bat(void **st)
{
    (void)st;
    const char *p = tpath("b.vhd");
    make(p, BLOCK_FMT_VPC, 8 * MIB, NULL);
    struct block_dev *bd = open_ok(p, 0, BLOCK_FMT_VPC);
    uint8_t a[512] = { 1 };
    assert_int_equal(block_pwrite(bd, 0, a, 512), 0);
    assert_int_equal(block_pwrite(bd, 2 * MIB, a, 512), 0);
    block_close(bd);
    uint8_t bat[8], save[8];
    pread_file(p, 1536, save, 8);
    /* entry 1 names entry 0's block */
    memcpy(bat, save, 4);
    memcpy(bat + 4, save, 4);
    pwrite_file(p, 1536, bat, 8);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "overlap");
    /* check opens it read-only and reports the corruption */
    bd = open_ok(p, BLOCK_O_RDONLY | BLOCK_O_CHECK, BLOCK_FMT_VPC);
    struct block_check_result res;
    assert_int_equal(block_check(bd, false, &res, NULL), 0);
    assert_true(res.corruptions >= 1);
    block_close(bd);
    /* entry 1 past the end of the file */
    put_be(bat + 4, 1u << 30, 4);
    pwrite_file(p, 1536, bat, 8);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "BAT entry 1");
    /* entry 0 on the BAT itself */
    put_be(bat, 3, 4);
    memcpy(bat + 4, save + 4, 4);
    pwrite_file(p, 1536, bat, 8);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "BAT entry 0");
}

struct diff_arg {
    const uint8_t *uuid;
};

static void to_diff_footer(uint8_t *f, void *arg)
{
    (void)arg;
    put_be(f + 60, 4, 4);
}

/* Locator 0: W2ru, its data (UTF-16LE name) at offset 1280, in the dynamic
 * header's reserved tail; the parent id from arg. */
static void to_diff_dyn(uint8_t *d, void *arg)
{
    struct diff_arg *a = arg;
    static const char name[] = ".\\parent.vhd";
    memcpy(d + 40, a->uuid, 16);
    memcpy(d + 576, "W2ru", 4);
    put_be(d + 576 + 4, 1, 4);
    put_be(d + 576 + 8, 2 * (sizeof(name) - 1), 4);
    put_be(d + 576 + 16, 1280, 8);
    for (size_t i = 0; i < sizeof(name) - 1; i++) {
        d[768 + 2 * i] = (uint8_t)name[i];
        d[768 + 2 * i + 1] = 0;
    }
}

static void bad_locator(uint8_t *d, void *arg)
{
    (void)arg;
    put_be(d + 576 + 16, 1ull << 40, 8);
}

static void test_vhd_differencing(void **st)
{
    (void)st;
    const char *pp = tpath("parent.vhd"), *cp = tpath("child.vhd");
    make(pp, BLOCK_FMT_VPC, 8 * MIB, NULL);
    make(cp, BLOCK_FMT_VPC, 8 * MIB, NULL);
    static uint8_t pa[8 * MIB], ca[8 * MIB], want[8 * MIB], got[8 * MIB];
    fill(pa, sizeof(pa), 1);
    fill(ca, sizeof(ca), 2);
    struct block_dev *bd = open_ok(pp, 0, BLOCK_FMT_VPC);
    assert_int_equal(block_pwrite(bd, 0, pa, 6 * MIB), 0);
    block_close(bd);
    memcpy(want, pa, 6 * MIB);
    memset(want + 6 * MIB, 0, 2 * MIB);
    /* the child's own sectors: 1 KiB at 4 KiB, 100 KiB across the 2 MiB line */
    bd = open_ok(cp, 0, BLOCK_FMT_VPC);
    assert_int_equal(block_pwrite(bd, 4096, ca, 1024), 0);
    assert_int_equal(block_pwrite(bd, 2 * MIB - 51200, ca + 8192, 102400), 0);
    block_close(bd);
    memcpy(want + 4096, ca, 1024);
    memcpy(want + 2 * MIB - 51200, ca + 8192, 102400);
    uint8_t uuid[16];
    pread_file(pp, fsize(pp) - 512 + 68, uuid, 16);
    struct diff_arg a = { uuid };
    vhd_edit_footer(cp, to_diff_footer, NULL);
    vhd_edit_dyn(cp, to_diff_dyn, &a);

    bd = open_ok(cp, BLOCK_O_RDONLY, BLOCK_FMT_PROBE);
    assert_int_equal(block_pread(bd, 0, got, sizeof(got)), 0);
    assert_memory_equal(want, got, sizeof(got));
    uint64_t pnum;
    assert_int_equal(block_get_status(bd, 4096, MIB, false, &pnum), BLOCK_STATUS_DATA);
    assert_int_equal(pnum, 1024);
    assert_int_equal(block_get_status(bd, 5120, MIB, false, &pnum),
                     BLOCK_STATUS_UNALLOCATED);
    struct block_info info;
    assert_int_equal(block_get_info(bd, &info), 0);
    assert_non_null(strstr(info.backing_file, "parent.vhd"));
    block_info_free(&info);
    block_close(bd);

    open_fails(cp, 0, BLOCK_FMT_VPC, -ENOTSUP, "differencing");
    uint8_t other[16] = { 9 };
    a.uuid = other;
    vhd_edit_dyn(cp, to_diff_dyn, &a);
    open_fails(cp, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "parent unique id");
    vhd_edit_dyn(cp, bad_locator, NULL);
    open_fails(cp, BLOCK_O_RDONLY, BLOCK_FMT_VPC, -EINVAL, "parent locator 0");
}

/* ---- VDI ---- */

static void vdi_put(const char *path, uint64_t off, uint64_t v, unsigned n)
{
    uint8_t b[8];
    put_le(b, v, n);
    pwrite_file(path, off, b, n);
}

static void test_vdi_rw(void **st)
{
    (void)st;
    const char *p = tpath("rw.vdi");
    make(p, BLOCK_FMT_VDI, 5 * MIB + 512, NULL);
    struct block_dev *bd = open_ok(p, 0, BLOCK_FMT_PROBE);
    assert_int_equal(block_format(bd), BLOCK_FMT_VDI);
    assert_int_equal(block_length(bd), 5 * MIB + 512);
    static uint8_t a[2 * MIB], b[2 * MIB];
    fill(a, sizeof(a), 5);
    assert_int_equal(block_pwrite(bd, 5 * MIB - 1000, a, 1512), 0);
    assert_int_equal(block_pwrite(bd, 100, a, MIB + 5), 0);
    assert_int_equal(block_pread(bd, 100, b, MIB + 5), 0);
    assert_memory_equal(a, b, MIB + 5);
    assert_int_equal(block_pread(bd, 5 * MIB - 1000, b, 1512), 0);
    assert_memory_equal(a, b, 1512);
    struct block_check_result res;
    assert_int_equal(block_check(bd, false, &res, NULL), 0);
    assert_int_equal(res.corruptions, 0);
    assert_int_equal(res.allocated_clusters, 4);
    block_close(bd);
    /* a wrong allocated-blocks count is a corruption for check */
    vdi_put(p, 388, 7, 4);
    bd = open_ok(p, BLOCK_O_RDONLY, BLOCK_FMT_VDI);
    assert_int_equal(block_check(bd, false, &res, NULL), 0);
    assert_int_equal(res.corruptions, 1);
    block_close(bd);
    /* a slot no entry names (block 0 unmapped, the count kept right) is a
     * leak */
    vdi_put(p, 388, 3, 4);
    vdi_put(p, 512, 0xffffffff, 4);
    bd = open_ok(p, BLOCK_O_RDONLY, BLOCK_FMT_VDI);
    assert_int_equal(block_check(bd, false, &res, NULL), 0);
    assert_int_equal(res.corruptions, 0);
    assert_int_equal(res.leaks, 1);
    block_close(bd);
}

static void test_vdi_hostile(void **st)
{
    (void)st;
    const char *p = tpath("h.vdi");
    make(p, BLOCK_FMT_VDI, 4 * MIB, NULL);
    vdi_put(p, 64, 0x12345678, 4);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VDI, -EINVAL, "signature");

    make(p, BLOCK_FMT_VDI, 4 * MIB, NULL);
    vdi_put(p, 376, 3 * 1000 * 1000, 4);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VDI, -EINVAL, "block size");

    make(p, BLOCK_FMT_VDI, 4 * MIB, NULL);
    vdi_put(p, 368, 1ull << 50, 8);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VDI, -EINVAL, "disk size");

    make(p, BLOCK_FMT_VDI, 4 * MIB, NULL);
    vdi_put(p, 384, 1u << 30, 4);             /* a 4 GiB block map */
    vdi_put(p, 368, 1ull << 40, 8);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VDI, -EINVAL, "data offset");

    make(p, BLOCK_FMT_VDI, 4 * MIB, NULL);
    vdi_put(p, 512 + 4, 77, 4);               /* block 1 in slot 77 of 4 */
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VDI, -EINVAL, "block map entry 1");

    make(p, BLOCK_FMT_VDI, 4 * MIB, "static");
    vdi_put(p, 512 + 8, 0, 4);                /* blocks 0 and 2 share slot 0 */
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VDI, -EINVAL, "both use slot 0");

    make(p, BLOCK_FMT_VDI, 4 * MIB, NULL);
    vdi_put(p, 512, 2, 4);                    /* slot 2 is not in the file */
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VDI, -EINVAL, "past the end of the file");

    make(p, BLOCK_FMT_VDI, 4 * MIB, NULL);
    vdi_put(p, 440, 1, 1);
    open_fails(p, BLOCK_O_RDONLY, BLOCK_FMT_VDI, -ENOTSUP, "parent UUID");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vhd_rw_bitmap),
        cmocka_unit_test(test_vhd_footer_copy),
        cmocka_unit_test(test_vhd_size_rules),
        cmocka_unit_test(test_vhd_hostile_header),
        cmocka_unit_test(test_vhd_hostile_bat),
        cmocka_unit_test(test_vhd_differencing),
        cmocka_unit_test(test_vdi_rw),
        cmocka_unit_test(test_vdi_hostile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
