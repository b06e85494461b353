/* Unit tests for the qcow2 metadata overlap checks, the corrupt bit and
 * image size limits.
 *
 * The overlap tests break one refcount on disk (the refcount of a metadata
 * cluster is zeroed, as a bug or a hostile image would leave it), reopen
 * the image and write guest data: the allocator would hand out the metadata
 * cluster for the new data (or L2 table); the write must be refused, the
 * metadata left intact, the image marked corrupt, and `check -r all` must
 * make it writable again. */
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

#include "block/block.h"
#include "block/qcow2.h"

#define CS 65536ull

static char dir[256];

static const char *tpath(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
    return p[k];
}

static int setup(void **st)
{
    (void)st;
    snprintf(dir, sizeof(dir), "%s/vessel-ovl-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static struct block_dev *open_rw(const char *path)
{
    struct block_dev *bd;
    char err[BLOCK_ERR_LEN];
    int r = block_open(&bd, path, 0, BLOCK_FMT_QCOW2, err, sizeof(err));
    if (r < 0)
        fail_msg("open %s: %s", path, err);
    return bd;
}

/* A 64 MiB image (64 KiB clusters, 16-bit refcounts) holding 0x11 in
 * guest cluster 0: header 0, refcount table 1, refcount block 2, L1 3,
 * L2 4, data 5.  With `snap`, snapshot "s1" follows (its L1 copy and the
 * snapshot table after the data). */
static void make_image(const char *path, uint32_t version, bool snap)
{
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2,
                                   .size = 64 << 20, .version = version };
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_create(path, &o, err, sizeof(err)), 0);
    struct block_dev *bd = open_rw(path);
    static uint8_t buf[CS];
    memset(buf, 0x11, sizeof(buf));
    assert_int_equal(block_pwrite(bd, 0, buf, sizeof(buf)), 0);
    if (snap)
        assert_int_equal(block_snapshot_create(bd, "s1"), 0);
    block_close(bd);
}

enum target { T_L1, T_L2, T_RT, T_RB, T_SNAPTAB, T_SNAP_L1 };

/* Host offset of the metadata structure `t` of the image at path. */
static uint64_t meta_offset(const char *path, enum target t)
{
    struct block_dev *bd = open_rw(path);
    struct qcow2 *s = bd->opaque;
    uint64_t off = 0;
    switch (t) {
    case T_L1: off = s->l1_offset; break;
    case T_L2: off = s->l1[0] & QCOW2_OFFSET_MASK; break;
    case T_RT: off = s->rt_offset; break;
    case T_RB: off = s->rt[0]; break;
    case T_SNAPTAB: off = s->snapshots_offset; break;
    case T_SNAP_L1: off = s->snaps[0].l1_offset; break;
    }
    block_close(bd);
    assert_true(off >= CS && off % CS == 0);
    return off;
}

static void poke(const char *path, uint64_t off, const void *b, size_t n)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void peek(const char *path, uint64_t off, void *b, size_t n)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* Zero the 16-bit refcount of host cluster `c` (first refcount block). */
static void zero_refcount(const char *path, uint64_t c)
{
    uint64_t rb = meta_offset(path, T_RB);
    uint8_t z[2] = { 0, 0 };
    poke(path, rb + c * 2, z, 2);
}

static uint64_t incompat(const char *path)
{
    uint8_t b[8];
    peek(path, 72, b, 8);
    return be64_get(b);
}

static void assert_clean(struct block_dev *bd)
{
    struct block_check_result r;
    assert_int_equal(block_check(bd, false, &r, NULL), 0);
    assert_int_equal(r.corruptions, 0);
    assert_int_equal(r.leaks, 0);
}

/* Repair with check -r all, then guest writes work again and the data
 * written before the corruption is still there. */
static void repair_and_write(const char *path)
{
    struct block_dev *bd;
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&bd, path, BLOCK_O_CHECK, BLOCK_FMT_QCOW2,
                                err, sizeof(err)), 0);
    struct block_check_result res;
    assert_int_equal(block_check(bd, true, &res, NULL), 0);
    assert_true(res.corruptions >= 1);
    assert_int_equal(res.corruptions, res.corruptions_fixed);
    block_close(bd);
    assert_int_equal(incompat(path) & QCOW2_INCOMPAT_CORRUPT, 0);
    bd = open_rw(path);
    static uint8_t buf[CS], out[CS];
    memset(buf, 0x22, sizeof(buf));
    assert_int_equal(block_pwrite(bd, CS, buf, sizeof(buf)), 0);
    assert_int_equal(block_pread(bd, CS, out, sizeof(out)), 0);
    assert_memory_equal(buf, out, sizeof(out));
    assert_int_equal(block_pread(bd, 0, out, sizeof(out)), 0);
    assert_int_equal(out[0], 0x11);
    assert_int_equal(out[CS - 1], 0x11);
    assert_clean(bd);
    block_close(bd);
}

/* The whole scenario for one metadata kind. */
static void overlap_case(const char *name, enum target t, bool snap,
                         const char *kind, const char *what)
{
    const char *path = tpath(name);
    make_image(path, 3, snap);
    uint64_t off = meta_offset(path, t);
    static uint8_t before[CS], after[CS], buf[CS];
    zero_refcount(path, off / CS);
    peek(path, off, before, sizeof(before));

    struct block_dev *bd = open_rw(path);
    memset(buf, 0xee, sizeof(buf));
    /* guest cluster 1: unallocated, in the same L2 table as cluster 0 */
    int r = block_pwrite(bd, CS, buf, sizeof(buf));
    const char *e = block_last_error(bd);
    char hex[32];
    snprintf(hex, sizeof(hex), "host offset 0x%llx", (unsigned long long)off);
    if (r != -EIO || !strstr(e, kind) || !strstr(e, hex) ||
        !strstr(e, "guest offset 0x10000") || !strstr(e, what) ||
        !strstr(e, "vessel img check -r all") || !strstr(e, path) ||
        !strstr(e, "marked corrupt"))
        fail_msg("write over the %s: got %d, message '%s'", kind, r, e);
    /* nothing else is written in this session */
    assert_int_equal(block_pwrite(bd, 2 * CS, buf, 512), -EIO);
    assert_int_equal(block_discard(bd, 0, CS), -EIO);
    assert_int_equal(block_snapshot_create(bd, "s2"), -EIO);
    assert_int_equal(block_truncate(bd, 128 << 20), -EIO);
    block_close(bd);

    peek(path, off, after, sizeof(after));
    assert_memory_equal(before, after, sizeof(before));
    assert_true(incompat(path) & QCOW2_INCOMPAT_CORRUPT);

    /* later read-write opens are refused; read-only ones still work */
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&bd, path, 0, BLOCK_FMT_QCOW2, err,
                                sizeof(err)), -EIO);
    assert_non_null(strstr(err, "vessel img check -r all"));
    assert_int_equal(block_open(&bd, path, BLOCK_O_RDONLY, BLOCK_FMT_QCOW2,
                                err, sizeof(err)), 0);
    assert_int_equal(block_pread(bd, 0, buf, 4096), 0);
    assert_int_equal(buf[0], 0x11);
    struct block_info info;
    assert_int_equal(block_get_info(bd, &info), 0);
    assert_true(info.corrupt);
    block_info_free(&info);
    block_close(bd);

    repair_and_write(path);
}

static void test_overlap_active_l1(void **st)
{
    (void)st;
    overlap_case("l1.qcow2", T_L1, false, "active L1 table",
                 "a new data cluster");
}

static void test_overlap_active_l2(void **st)
{
    (void)st;
    overlap_case("l2.qcow2", T_L2, false, "active L2 table",
                 "a new data cluster");
}

static void test_overlap_refcount_table(void **st)
{
    (void)st;
    overlap_case("rt.qcow2", T_RT, false, "refcount table",
                 "a new data cluster");
}

static void test_overlap_refcount_block(void **st)
{
    (void)st;
    overlap_case("rb.qcow2", T_RB, false, "refcount block",
                 "a new data cluster");
}

/* With a snapshot the L2 table is shared: the write copies it first, and
 * the copy is what would land on the snapshot's metadata. */
static void test_overlap_snapshot_table(void **st)
{
    (void)st;
    overlap_case("st.qcow2", T_SNAPTAB, true, "snapshot table",
                 "a new L2 table");
}

static void test_overlap_snapshot_l1(void **st)
{
    (void)st;
    overlap_case("sl1.qcow2", T_SNAP_L1, true, "L1 table of snapshot 's1'",
                 "a new L2 table");
}

/* An L2 entry (COPIED, so written in place) naming a metadata cluster as
 * guest data: the write itself must be refused. */
static void inplace_case(const char *name, enum target t, const char *kind)
{
    const char *path = tpath(name);
    make_image(path, 3, false);
    uint64_t off = meta_offset(path, t);
    uint64_t l2 = meta_offset(path, T_L2);
    uint8_t e[8];
    be64_put(e, off | QCOW2_COPIED);
    poke(path, l2 + 8, e, 8);      /* guest cluster 1 -> metadata */
    static uint8_t before[CS], after[CS], buf[CS];
    peek(path, off, before, sizeof(before));
    struct block_dev *bd = open_rw(path);
    memset(buf, 0xee, sizeof(buf));
    assert_int_equal(block_pwrite(bd, CS + 512, buf, 4096), -EIO);
    const char *m = block_last_error(bd);
    if (!strstr(m, kind) || !strstr(m, "guest data") ||
        !strstr(m, "guest offset 0x10200"))
        fail_msg("in-place write over the %s: '%s'", kind, m);
    block_close(bd);
    peek(path, off, after, sizeof(after));
    assert_memory_equal(before, after, sizeof(before));
    assert_true(incompat(path) & QCOW2_INCOMPAT_CORRUPT);
}

static void test_inplace_write_on_l2(void **st)
{
    (void)st;
    inplace_case("ip-l2.qcow2", T_L2, "active L2 table");
}

static void test_inplace_write_on_refcount_block(void **st)
{
    (void)st;
    inplace_case("ip-rb.qcow2", T_RB, "refcount block");
}

/* Discarding a data cluster that is really a refcount block would drop
 * its refcount to 0 and punch it out of the file: refused instead. */
static void test_discard_of_metadata_refused(void **st)
{
    (void)st;
    const char *path = tpath("disc.qcow2");
    make_image(path, 3, false);
    uint64_t rb = meta_offset(path, T_RB);
    uint64_t l2 = meta_offset(path, T_L2);
    uint8_t e[8];
    be64_put(e, rb | QCOW2_COPIED);
    poke(path, l2 + 8, e, 8);
    static uint8_t before[CS], after[CS];
    peek(path, rb, before, sizeof(before));
    struct block_dev *bd = open_rw(path);
    assert_int_equal(block_discard(bd, CS, CS), -EIO);
    assert_non_null(strstr(block_last_error(bd), "refcount block"));
    block_close(bd);
    peek(path, rb, after, sizeof(after));
    assert_memory_equal(before, after, sizeof(before));
    assert_true(incompat(path) & QCOW2_INCOMPAT_CORRUPT);
}

/* Version 2 has no corrupt bit: the session refuses writes, the header is
 * left alone. */
static void test_overlap_v2(void **st)
{
    (void)st;
    const char *path = tpath("v2.qcow2");
    make_image(path, 2, false);
    uint64_t l1 = meta_offset(path, T_L1);
    zero_refcount(path, l1 / CS);
    static uint8_t hdr[CS], hdr2[CS], buf[CS];
    peek(path, 0, hdr, sizeof(hdr));
    struct block_dev *bd = open_rw(path);
    assert_int_equal(block_pwrite(bd, CS, buf, sizeof(buf)), -EIO);
    assert_non_null(strstr(block_last_error(bd), "version 2"));
    assert_int_equal(block_pwrite(bd, 0, buf, 512), -EIO);
    block_close(bd);
    peek(path, 0, hdr2, sizeof(hdr2));
    assert_memory_equal(hdr, hdr2, sizeof(hdr));
    repair_and_write(path);
}

/* Healthy images never trip the checks: growth of every structure. */
static void test_no_false_positive(void **st)
{
    (void)st;
    const char *path = tpath("ok.qcow2");
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2,
                                   .size = 4 << 20, .cluster_size = 512,
                                   .refcount_bits = 64 };
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_create(path, &o, err, sizeof(err)), 0);
    struct block_dev *bd = open_rw(path);
    static uint8_t buf[1 << 20];
    for (int k = 0; k < 4; k++) {
        memset(buf, k + 1, sizeof(buf));
        assert_int_equal(block_pwrite(bd, (uint64_t)k << 20, buf,
                                      sizeof(buf)), 0);
        char n[16];
        snprintf(n, sizeof(n), "s%d", k);
        assert_int_equal(block_snapshot_create(bd, n), 0);
    }
    assert_int_equal(block_truncate(bd, 64 << 20), 0);  /* L1 moves */
    assert_int_equal(block_pwrite(bd, 60 << 20, buf, sizeof(buf)), 0);
    assert_int_equal(block_snapshot_apply(bd, "s1"), 0);
    assert_int_equal(block_snapshot_delete(bd, "s0"), 0);
    assert_int_equal(block_discard(bd, 0, 1 << 20), 0);
    assert_int_equal(block_pwrite(bd, 512, buf, 8192), 0);
    assert_int_equal(block_snapshot_delete(bd, "s2"), 0);
    assert_int_equal(block_pwrite(bd, 1 << 20, buf, sizeof(buf)), 0);
    assert_clean(bd);
    block_close(bd);
    assert_int_equal(incompat(path) & QCOW2_INCOMPAT_CORRUPT, 0);
}

/* ---- sizes ---- */

static void create_err(const char *name, enum block_format f, uint64_t size,
                       uint32_t cs, const char *want)
{
    const char *path = tpath(name);
    unlink(path);
    struct block_create_opts o = { .format = f, .size = size,
                                   .cluster_size = cs };
    char err[BLOCK_ERR_LEN] = "";
    assert_int_equal(block_create(path, &o, err, sizeof(err)), -EINVAL);
    if (!strstr(err, want) || !strstr(err, path))
        fail_msg("create %llu: '%s' lacks '%s'", (unsigned long long)size,
                 err, want);
    assert_int_equal(access(path, F_OK), -1);   /* nothing created */
}

static void test_create_sizes(void **st)
{
    (void)st;
    create_err("huge.qcow2", BLOCK_FMT_QCOW2, UINT64_MAX, 0,
               "at most 2251799813685248 bytes");
    create_err("huge2.qcow2", BLOCK_FMT_QCOW2, UINT64_MAX - 100, 0,
               "at most 2251799813685248 bytes");
    create_err("2e.qcow2", BLOCK_FMT_QCOW2, 1ull << 61, 0,
               "at most 2251799813685248 bytes");
    create_err("small.qcow2", BLOCK_FMT_QCOW2, (1ull << 37) + 512, 512,
               "at most 137438953472 bytes");
    create_err("huge.raw", BLOCK_FMT_RAW, UINT64_MAX, 0,
               "at most 9223372036854775807 bytes");
    create_err("neg.raw", BLOCK_FMT_RAW, 1ull << 63, 0,
               "at most 9223372036854775807 bytes");

    /* the largest sizes are accepted and open with that size */
    struct { uint32_t cs; uint64_t size; } ok[] = {
        { 0, 1ull << 51 }, { 2u << 20, 1ull << 61 }, { 512, 1ull << 37 },
        { 0, (1ull << 51) - 511 },
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *path = tpath("max.qcow2");
        struct block_create_opts o = { .format = BLOCK_FMT_QCOW2,
                                       .size = ok[i].size,
                                       .cluster_size = ok[i].cs };
        char err[BLOCK_ERR_LEN];
        assert_int_equal(block_create(path, &o, err, sizeof(err)), 0);
        struct block_dev *bd = open_rw(path);
        assert_int_equal(block_length(bd), (ok[i].size + 511) & ~511ull);
        block_close(bd);
    }
}

static void test_resize_sizes(void **st)
{
    (void)st;
    const char *path = tpath("rs.qcow2");
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2,
                                   .size = 1 << 20, .cluster_size = 512 };
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_create(path, &o, err, sizeof(err)), 0);
    struct block_dev *bd = open_rw(path);
    assert_int_equal(block_truncate(bd, (1ull << 37) + 512), -EINVAL);
    assert_non_null(strstr(block_last_error(bd), "at most 137438953472"));
    assert_int_equal(block_truncate(bd, 1ull << 62), -EINVAL);
    assert_int_equal(block_length(bd), 1 << 20);
    assert_int_equal(block_truncate(bd, 1ull << 37), 0);
    assert_int_equal(block_length(bd), 1ull << 37);
    assert_clean(bd);
    block_close(bd);

    path = tpath("rs.raw");
    o = (struct block_create_opts){ .format = BLOCK_FMT_RAW, .size = 4096 };
    assert_int_equal(block_create(path, &o, err, sizeof(err)), 0);
    assert_int_equal(block_open(&bd, path, 0, BLOCK_FMT_RAW, err,
                                sizeof(err)), 0);
    assert_int_equal(block_truncate(bd, 1ull << 63), -EINVAL);
    assert_non_null(strstr(block_last_error(bd), "at most"));
    assert_int_equal(block_length(bd), 4096);
    block_close(bd);
}

/* A snapshot recording an impossible disk size is not applied. */
static void test_snapshot_disk_size(void **st)
{
    (void)st;
    const char *path = tpath("sds.qcow2");
    make_image(path, 3, true);
    struct block_dev *bd = open_rw(path);
    struct qcow2 *s = bd->opaque;
    s->snaps[0].disk_size = UINT64_MAX;
    assert_int_equal(block_snapshot_apply(bd, "s1"), -EINVAL);
    s->snaps[0].disk_size = (64 << 20) + 1;
    assert_int_equal(block_snapshot_apply(bd, "s1"), -EINVAL);
    assert_int_equal(block_length(bd), 64 << 20);
    block_close(bd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlap_active_l1),
        cmocka_unit_test(test_overlap_active_l2),
        cmocka_unit_test(test_overlap_refcount_table),
        cmocka_unit_test(test_overlap_refcount_block),
        cmocka_unit_test(test_overlap_snapshot_table),
        cmocka_unit_test(test_overlap_snapshot_l1),
        cmocka_unit_test(test_inplace_write_on_l2),
        cmocka_unit_test(test_inplace_write_on_refcount_block),
        cmocka_unit_test(test_discard_of_metadata_refused),
        cmocka_unit_test(test_overlap_v2),
        cmocka_unit_test(test_no_false_positive),
        cmocka_unit_test(test_create_sizes),
        cmocka_unit_test(test_resize_sizes),
        cmocka_unit_test(test_snapshot_disk_size),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
