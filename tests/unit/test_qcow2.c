/* Unit tests for the block layer: qcow2 allocation, refcounts, backing
 * chains, snapshots, validation, async I/O. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "block/block.h"
#include "block/qcow2.h"

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
    snprintf(dir, sizeof(dir), "%s/vessel-unit-XXXXXX",
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

static struct block_dev *mk(const char *name, uint64_t size, uint32_t cs,
                            uint32_t rbits, const char *backing)
{
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2, .size = size,
                                   .cluster_size = cs, .refcount_bits = rbits,
                                   .backing_file = backing };
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_create(tpath(name), &o, err, sizeof(err)), 0);
    struct block_dev *bd;
    assert_int_equal(block_open(&bd, tpath(name), 0, BLOCK_FMT_PROBE, err,
                                sizeof(err)), 0);
    return bd;
}

static void assert_clean(struct block_dev *bd)
{
    struct block_check_result r;
    assert_int_equal(block_check(bd, false, &r, NULL), 0);
    assert_int_equal(r.corruptions, 0);
    assert_int_equal(r.leaks, 0);
}

static void test_refcount_entry_widths(void **st)
{
    (void)st;
    uint8_t blk[64];
    for (unsigned order = 0; order <= 6; order++) {
        struct qcow2 s = { .refcount_bits = 1u << order };
        uint64_t max = order == 6 ? UINT64_MAX : (1ull << (1u << order)) - 1;
        uint64_t n = sizeof(blk) * 8 / s.refcount_bits;
        memset(blk, 0, sizeof(blk));
        for (uint64_t i = 0; i < n; i++)
            qcow2_rb_set(&s, blk, i, (i * 7 + 1) & max);
        for (uint64_t i = 0; i < n; i++)
            assert_int_equal(qcow2_rb_get(&s, blk, i), (i * 7 + 1) & max);
        qcow2_rb_set(&s, blk, 1, max);
        assert_true(qcow2_rb_get(&s, blk, 1) == max);
        assert_int_equal(qcow2_rb_get(&s, blk, 0), 1);
    }
}

static void test_write_read_thin(void **st)
{
    (void)st;
    struct block_dev *bd = mk("a.qcow2", 1ull << 30, 0, 0, NULL);
    uint8_t buf[10000], out[10000];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 13);
    assert_int_equal(block_pwrite(bd, 65536 - 5000, buf, sizeof(buf)), 0);
    assert_int_equal(block_pread(bd, 65536 - 5000, out, sizeof(out)), 0);
    assert_memory_equal(buf, out, sizeof(buf));
    assert_int_equal(block_pread(bd, 1 << 20, out, 4096), 0);
    for (int i = 0; i < 4096; i++)
        assert_int_equal(out[i], 0);
    assert_int_equal(block_pwrite(bd, (1ull << 30) - 1, buf, 2), -EINVAL);
    assert_clean(bd);
    uint64_t pnum;
    assert_int_equal(block_get_status(bd, 0, 1 << 20, false, &pnum),
                     BLOCK_STATUS_DATA);
    assert_int_equal(pnum, 131072);
    block_close(bd);
}

/* Writes of many whole clusters into unallocated entries take one
 * allocation for the run (qcow2_write's write_run): with 512-byte
 * clusters a run crosses L2 tables and refcount blocks, and with
 * refcounts narrower than a byte its refcount span starts inside a byte
 * an earlier allocation wrote.  Clusters allocated before the big write
 * end a run and are overwritten in place. */
static void test_run_allocation(void **st)
{
    (void)st;
    static const uint32_t rbits[] = { 1, 4, 16, 64 };
    static uint8_t buf[3 << 20], out[3 << 20];
    for (size_t k = 0; k < sizeof(rbits) / sizeof(rbits[0]); k++) {
        char name[32];
        snprintf(name, sizeof(name), "run%u.qcow2", rbits[k]);
        struct block_dev *bd = mk(name, 8 << 20, 512, rbits[k], NULL);
        uint8_t c[512];
        memset(c, 0xee, sizeof(c));
        assert_int_equal(block_pwrite(bd, 3 * 512, c, 512), 0);
        assert_int_equal(block_pwrite(bd, 700 * 512, c, 512), 0);
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)(i * 31 + i / 512 + k);
        assert_int_equal(block_pwrite(bd, 0, buf, 2 << 20), 0);
        /* unaligned: a partial cluster first, then whole ones */
        assert_int_equal(block_pwrite(bd, (4 << 20) + 100, buf, 1 << 20), 0);
        assert_int_equal(block_pread(bd, 0, out, 2 << 20), 0);
        assert_memory_equal(buf, out, 2 << 20);
        assert_int_equal(block_pread(bd, (4 << 20) + 100, out, 1 << 20), 0);
        assert_memory_equal(buf, out, 1 << 20);
        assert_int_equal(block_pread(bd, 4 << 20, out, 100), 0);
        for (int i = 0; i < 100; i++)
            assert_int_equal(out[i], 0);
        assert_clean(bd);
        block_close(bd);
        /* the same after reopening: the tables on disk, not the caches */
        char err[BLOCK_ERR_LEN];
        assert_int_equal(block_open(&bd, tpath(name), BLOCK_O_RDONLY,
                                    BLOCK_FMT_PROBE, err, sizeof(err)), 0);
        assert_int_equal(block_pread(bd, 0, out, 2 << 20), 0);
        assert_memory_equal(buf, out, 2 << 20);
        assert_clean(bd);
        block_close(bd);
    }
}

static void test_refcount_table_grows(void **st)
{
    (void)st;
    /* 512-byte clusters, 64-bit refcounts: one refcount table cluster
     * covers 64 * 64 clusters = 2 MiB of host file. */
    struct block_dev *bd = mk("g.qcow2", 8 << 20, 512, 64, NULL);
    static uint8_t buf[1 << 20];
    for (int k = 0; k < 6; k++) {
        memset(buf, k + 1, sizeof(buf));
        assert_int_equal(block_pwrite(bd, (uint64_t)k << 20, buf,
                                      sizeof(buf)), 0);
    }
    for (int k = 0; k < 6; k++) {
        assert_int_equal(block_pread(bd, (uint64_t)k << 20, buf, 4096), 0);
        assert_int_equal(buf[4095], k + 1);
    }
    assert_clean(bd);
    block_close(bd);
}

static void test_backing_cow(void **st)
{
    (void)st;
    int fd = open(tpath("base.raw"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    static uint8_t base[1 << 20];
    for (size_t i = 0; i < sizeof(base); i++)
        base[i] = (uint8_t)(i >> 8);
    assert_int_equal(write(fd, base, sizeof(base)), (ssize_t)sizeof(base));
    close(fd);
    struct block_dev *bd = mk("ov.qcow2", 0, 4096, 0, "base.raw");
    assert_int_equal(block_length(bd), sizeof(base));
    uint8_t x[100], out[8192];
    memset(x, 0xee, sizeof(x));
    assert_int_equal(block_pwrite(bd, 4096 + 50, x, sizeof(x)), 0);
    assert_int_equal(block_pread(bd, 4096, out, 8192), 0);
    assert_memory_equal(out, base + 4096, 50);
    assert_memory_equal(out + 50, x, sizeof(x));
    assert_memory_equal(out + 150, base + 4096 + 150, 8192 - 150);
    uint64_t pnum;
    assert_int_equal(block_get_status(bd, 0, 4096, false, &pnum),
                     BLOCK_STATUS_UNALLOCATED);
    /* discard over a backing file must read zeros (v3 zero cluster) */
    assert_int_equal(block_discard(bd, 65536, 65536), 0);
    assert_int_equal(block_pread(bd, 65536, out, 4096), 0);
    for (int i = 0; i < 4096; i++)
        assert_int_equal(out[i], 0);
    assert_clean(bd);
    block_close(bd);
}

static void test_snapshots(void **st)
{
    (void)st;
    struct block_dev *bd = mk("s.qcow2", 4 << 20, 0, 0, NULL);
    uint8_t a[4096], b[4096], out[4096];
    memset(a, 0xa, sizeof(a));
    memset(b, 0xb, sizeof(b));
    assert_int_equal(block_pwrite(bd, 0, a, sizeof(a)), 0);
    assert_int_equal(block_snapshot_create(bd, "one"), 0);
    assert_int_equal(block_snapshot_create(bd, "one"), -EEXIST);
    assert_int_equal(block_pwrite(bd, 0, b, sizeof(b)), 0);
    assert_clean(bd);
    assert_int_equal(block_snapshot_apply(bd, "1"), 0);
    assert_int_equal(block_pread(bd, 0, out, sizeof(out)), 0);
    assert_memory_equal(out, a, sizeof(a));
    struct block_snapshot_info *sn;
    unsigned n;
    assert_int_equal(block_snapshot_list(bd, &sn, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(sn[0].name, "one");
    assert_string_equal(sn[0].id, "1");
    free(sn);
    assert_int_equal(block_snapshot_delete(bd, "one"), 0);
    assert_int_equal(block_snapshot_delete(bd, "one"), -ENOENT);
    assert_clean(bd);
    block_close(bd);
}

static void test_bad_header(void **st)
{
    (void)st;
    struct block_dev *bd = mk("h.qcow2", 1 << 20, 0, 0, NULL);
    block_close(bd);
    int fd = open(tpath("h.qcow2"), O_RDWR);
    uint8_t v[4] = {0, 0, 0, 40}; /* cluster_bits = 40 */
    assert_int_equal(pwrite(fd, v, 4, 20), 4);
    close(fd);
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&bd, tpath("h.qcow2"), BLOCK_O_RDONLY,
                                BLOCK_FMT_QCOW2, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "h.qcow2"));
    assert_non_null(strstr(err, "cluster_bits"));
}

static void test_backing_loop(void **st)
{
    (void)st;
    block_close(mk("l1.qcow2", 1 << 20, 0, 0, NULL));
    block_close(mk("l2.qcow2", 0, 0, 0, "l1.qcow2"));
    struct block_dev *bd;
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&bd, tpath("l1.qcow2"), BLOCK_O_NO_BACKING,
                                BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    assert_int_equal(block_rebase(bd, "l2.qcow2", "qcow2", true), 0);
    block_close(bd);
    assert_int_equal(block_open(&bd, tpath("l2.qcow2"), BLOCK_O_RDONLY,
                                BLOCK_FMT_PROBE, err, sizeof(err)), -ELOOP);
    assert_non_null(strstr(err, "loop"));
}

/* 512-byte clusters leave no room for the feature name table next to a
 * backing file name and format: the optional table is left out instead of
 * refusing the image. */
static void test_small_cluster_overlay(void **st)
{
    (void)st;
    block_close(mk("sb.qcow2", 1 << 20, 512, 0, NULL));
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2,
                                   .cluster_size = 512,
                                   .backing_file = "sb.qcow2",
                                   .backing_format = "qcow2" };
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_create(tpath("so.qcow2"), &o, err, sizeof(err)), 0);
    struct block_dev *bd;
    assert_int_equal(block_open(&bd, tpath("so.qcow2"), 0, BLOCK_FMT_PROBE,
                                err, sizeof(err)), 0);
    struct block_info info;
    assert_int_equal(block_get_info(bd, &info), 0);
    assert_string_equal(info.backing_file, "sb.qcow2");
    assert_string_equal(info.backing_format, "qcow2");
    block_info_free(&info);
    uint8_t buf[4096] = { 1 };
    assert_int_equal(block_pwrite(bd, 0, buf, sizeof(buf)), 0);
    assert_int_equal(block_snapshot_create(bd, "s"), 0);  /* rewrites it */
    assert_clean(bd);
    block_close(bd);
}

struct aio_state {
    int done, bad;
};
static void aio_cb(struct block_aio_req *req, int ret)
{
    struct aio_state *s = req->opaque;
    if (ret < 0)
        s->bad++;
    __atomic_add_fetch(&s->done, 1, __ATOMIC_SEQ_CST);
}

static void test_aio(void **st)
{
    (void)st;
    struct block_dev *bd = mk("aio.qcow2", 1 << 20, 0, 0, NULL);
    struct aio_state s = {0, 0};
    static uint8_t bufs[8][4096];
    struct block_aio_req reqs[9];
    for (int i = 0; i < 8; i++) {
        memset(bufs[i], i + 1, 4096);
        reqs[i] = (struct block_aio_req){ .op = BLOCK_AIO_WRITE,
            .off = (uint64_t)i * 70000, .buf = bufs[i], .len = 4096,
            .cb = aio_cb, .opaque = &s };
        assert_int_equal(block_aio_submit(bd, &reqs[i]), 0);
    }
    reqs[8] = (struct block_aio_req){ .op = BLOCK_AIO_FLUSH, .cb = aio_cb,
                                      .opaque = &s };
    assert_int_equal(block_aio_submit(bd, &reqs[8]), 0);
    block_aio_drain(bd);
    assert_int_equal(s.done, 9);
    assert_int_equal(s.bad, 0);
    uint8_t out[4096];
    for (int i = 0; i < 8; i++) {
        assert_int_equal(block_pread(bd, (uint64_t)i * 70000, out, 4096), 0);
        assert_memory_equal(out, bufs[i], 4096);
    }
    block_close(bd);
}

/* Completion order around flush barriers, with queues long enough for
 * the workers to take requests in batches: every request before a flush
 * completes before it, every request after it completes after it, and
 * none is lost. */
struct aio_order {
    int seq;            /* completions so far */
    int at[300];        /* completion number of each request */
};
static void order_cb(struct block_aio_req *req, int ret)
{
    struct aio_order *o = req->opaque;
    assert_int_equal(ret, 0);
    int idx = req->len ? (int)(req->off / 4096) : 299 - (int)req->off;
    o->at[idx] = __atomic_fetch_add(&o->seq, 1, __ATOMIC_SEQ_CST);
}

static void test_aio_barrier(void **st)
{
    (void)st;
    struct block_dev *bd = mk("aio-order.qcow2", 4 << 20, 0, 0, NULL);
    static struct aio_order o;
    static uint8_t buf[4096];
    static struct block_aio_req reqs[300];
    memset(&o, 0, sizeof(o));
    /* requests 0..289 write blocks 0..289; flushes after 100 and 200
     * (marked by len 0, their index kept in off as 299 - index) */
    int nreq = 0, flush_at[2] = { 100, 200 }, flushes[2];
    for (int i = 0; i < 290; i++) {
        for (int f = 0; f < 2; f++)
            if (i == flush_at[f]) {
                flushes[f] = 290 + f;
                reqs[nreq++] = (struct block_aio_req){ .op = BLOCK_AIO_FLUSH,
                    .off = (uint64_t)(299 - flushes[f]), .cb = order_cb,
                    .opaque = &o };
                assert_int_equal(block_aio_submit(bd, &reqs[nreq - 1]), 0);
            }
        reqs[nreq++] = (struct block_aio_req){ .op = i % 3 ? BLOCK_AIO_WRITE
                                                           : BLOCK_AIO_READ,
            .off = (uint64_t)i * 4096, .buf = buf, .len = 4096,
            .cb = order_cb, .opaque = &o };
        assert_int_equal(block_aio_submit(bd, &reqs[nreq - 1]), 0);
    }
    block_aio_drain(bd);
    assert_int_equal(o.seq, 292);
    for (int f = 0; f < 2; f++) {
        int fa = o.at[flushes[f]];
        for (int i = 0; i < 290; i++) {
            if (i < flush_at[f])
                assert_true(o.at[i] < fa);
            else
                assert_true(o.at[i] > fa);
        }
    }
    block_close(bd);
}

static void peek(const char *path, uint64_t off, void *b, size_t n)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void poke64(const char *path, uint64_t off, uint64_t v)
{
    uint8_t b[8];
    be64_put(b, v);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, b, 8, (off_t)off), 8);
    close(fd);
}

/* Host offset of the L2 table the first L1 entry names. */
static uint64_t first_l2(const char *path)
{
    uint8_t b[8];
    peek(path, 40, b, 8);
    peek(path, be64_get(b), b, 8);
    return be64_get(b) & QCOW2_OFFSET_MASK;
}

/* An unallocated L2 entry with the COPIED bit (qemu reads it as
 * unallocated; check calls the image clean): snapshot create walked the
 * tree adding references, refused the entry halfway and left the tables
 * before it with refcount 2 and no COPIED flag. */
static void test_copied_on_unallocated(void **st)
{
    (void)st;
    uint8_t a[512], out[512], zero[512] = { 0 };
    memset(a, 0xa, sizeof(a));
    struct block_dev *bd = mk("cu.qcow2", 1 << 20, 512, 0, NULL);
    assert_int_equal(block_pwrite(bd, 0, a, sizeof(a)), 0);
    block_close(bd);
    const char *p = tpath("cu.qcow2");
    poke64(p, first_l2(p) + 5 * 8, QCOW2_COPIED);
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&bd, p, 0, BLOCK_FMT_PROBE, err,
                                sizeof(err)), 0);
    assert_clean(bd);
    assert_int_equal(block_snapshot_create(bd, "s"), 0);
    assert_clean(bd);
    assert_int_equal(block_pread(bd, 5 * 512, out, sizeof(out)), 0);
    assert_memory_equal(out, zero, sizeof(out));
    assert_int_equal(block_pwrite(bd, 5 * 512, a, sizeof(a)), 0);
    assert_int_equal(block_snapshot_delete(bd, "s"), 0);
    assert_clean(bd);
    block_close(bd);
}

/* Two active L2 entries naming one data cluster, refcount 2 (rebuilt from
 * the references because the dirty bit is set): consistent refcounts, but
 * the first write copies the cluster and leaves the other entry with
 * refcount 1 and no COPIED flag.  Such an image must not pass as healthy. */
static void test_active_sharing_not_healthy(void **st)
{
    (void)st;
    uint8_t a[1024];
    memset(a, 0xa, sizeof(a));
    struct block_dev *bd = mk("sh.qcow2", 1 << 20, 512, 0, NULL);
    assert_int_equal(block_pwrite(bd, 0, a, sizeof(a)), 0);
    block_close(bd);
    const char *p = tpath("sh.qcow2");
    uint64_t l2 = first_l2(p);
    uint8_t b[8];
    peek(p, l2, b, 8);
    uint64_t e = be64_get(b) & ~QCOW2_COPIED;
    poke64(p, l2, e);
    poke64(p, l2 + 8, e);
    peek(p, 72, b, 8);
    poke64(p, 72, be64_get(b) | QCOW2_INCOMPAT_DIRTY);
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&bd, p, 0, BLOCK_FMT_PROBE, err,
                                sizeof(err)), -EIO);
    assert_int_equal(block_open(&bd, p, BLOCK_O_CHECK, BLOCK_FMT_PROBE, err,
                                sizeof(err)), 0);
    struct block_check_result r;
    assert_int_equal(block_check(bd, false, &r, NULL), 0);
    assert_true(r.corruptions >= 1);
    block_close(bd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refcount_entry_widths),
        cmocka_unit_test(test_write_read_thin),
        cmocka_unit_test(test_refcount_table_grows),
        cmocka_unit_test(test_backing_cow),
        cmocka_unit_test(test_snapshots),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_backing_loop),
        cmocka_unit_test(test_small_cluster_overlay),
        cmocka_unit_test(test_aio),
        cmocka_unit_test(test_aio_barrier),
        cmocka_unit_test(test_copied_on_unallocated),
        cmocka_unit_test(test_active_sharing_not_healthy),
        cmocka_unit_test(test_run_allocation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
