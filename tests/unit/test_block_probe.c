/* Unit tests for format probing and the scrutiny of backing files
 * (docs/block.md "Format probing", "Backing files"):
 *  - a writable disk probed as raw refuses, on every write path (pwrite,
 *    pwritev, asynchronous requests, commit into a probed backing file),
 *    a write that leaves any magic of the probe table in its first
 *    sector, also when the write covers the sector only in part; other
 *    data is written; an explicit raw disk is not restricted; a file with
 *    a magic Vessel has no driver for is refused at open;
 *  - a backing file named by an image must be a regular file (not a
 *    block or character device, FIFO or directory) inside the image's
 *    directory, or a directory the caller allowed; symlinks are resolved
 *    first; nothing blocks on a FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "block/block.h"

#define MIB (1u << 20)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char dir[256], other[256];

static const char *tpath(const char *name)
{
    static char p[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
    return p[k];
}

static const char *opath(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", other, name);
    return p[k];
}

static int setup(void **st)
{
    (void)st;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/vessel-probe-XXXXXX", t && *t ? t : "/tmp");
    snprintf(other, sizeof(other), "%s/vessel-probe-other-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir) || !mkdtemp(other))
        return -1;
    /* Messages name resolved paths: resolve $TMPDIR's symlinks here too. */
    char real[PATH_MAX];
    if (!realpath(dir, real) || strlen(real) >= sizeof(dir))
        return -1;
    strcpy(dir, real);
    if (!realpath(other, real) || strlen(real) >= sizeof(other))
        return -1;
    strcpy(other, real);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, other);
    return system(cmd);
}

/* A raw file of `size` bytes, its first bytes `head` (n bytes). */
static void make_raw(const char *path, uint64_t size, const void *head, size_t n)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    if (n)
        assert_int_equal(pwrite(fd, head, n, 0), (ssize_t)n);
    close(fd);
}

static void read_file(const char *path, uint64_t off, void *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static struct block_dev *open_ok(const char *path, unsigned flags, enum block_format fmt)
{
    struct block_dev *bd = NULL;
    char err[BLOCK_ERR_LEN];
    int r = block_open(&bd, path, flags, fmt, err, sizeof(err));
    if (r < 0)
        fail_msg("%s: %s", path, err);
    return bd;
}

static const uint8_t qcow2_magic[4] = { 'Q', 'F', 'I', 0xfb };

/* ---- the first-sector guard ---- */

static void test_probe_table(void **st)
{
    (void)st;
    size_t n;
    const struct block_magic *t = block_probe_table(&n);
    const char *want[] = { "qcow2", "vmdk", "vhd", "vhdx", "vdi" };
    for (unsigned w = 0; w < ARRAY_LEN(want); w++) {
        bool seen = false;
        for (size_t i = 0; i < n; i++)
            seen |= !strcmp(t[i].name, want[w]);
        if (!seen)
            fail_msg("no magic for %s in the probe table", want[w]);
    }
    for (size_t i = 0; i < n; i++) {
        assert_true(t[i].len > 0);
        assert_true(t[i].off + t[i].len <= BLOCK_PROBE_LEN);
        uint8_t sec[BLOCK_PROBE_LEN] = { 0 };
        memcpy(sec + t[i].off, t[i].magic, t[i].len);
        assert_non_null(block_probe_header(sec));
    }
    uint8_t zero[BLOCK_PROBE_LEN] = { 0 };
    assert_null(block_probe_header(zero));
}

/* Every magic of the table, written whole into sector 0 of a probed-raw
 * disk, is refused and leaves the file as it was. */
static void test_guard_every_magic(void **st)
{
    (void)st;
    size_t n;
    const struct block_magic *t = block_probe_table(&n);
    make_raw(tpath("g.img"), MIB, NULL, 0);
    struct block_dev *bd = open_ok(tpath("g.img"), 0, BLOCK_FMT_PROBE);
    assert_true(block_probed_raw(bd));
    for (size_t i = 0; i < n; i++) {
        uint8_t sec[4096];
        memset(sec, 0x5a, sizeof(sec));
        memcpy(sec + t[i].off, t[i].magic, t[i].len);
        int r = block_pwrite(bd, 0, sec, sizeof(sec));
        if (r != -EPERM)
            fail_msg("%s magic at %u: write returned %d, want -EPERM", t[i].name,
                     t[i].off, r);
        assert_non_null(strstr(block_last_error(bd), t[i].name));
        assert_non_null(strstr(block_last_error(bd), "format=raw"));
    }
    block_close(bd);
    uint8_t back[4096], zero[4096] = { 0 };
    read_file(tpath("g.img"), 0, back, sizeof(back));
    assert_memory_equal(back, zero, sizeof(back));
}

static void test_guard_pwritev(void **st)
{
    (void)st;
    make_raw(tpath("v.img"), MIB, NULL, 0);
    struct block_dev *bd = open_ok(tpath("v.img"), 0, BLOCK_FMT_PROBE);
    /* The magic split over three iovecs. */
    uint8_t a[2] = { 'Q', 'F' }, b[1] = { 'I' }, c[509];
    c[0] = 0xfb;
    memset(c + 1, 0, sizeof(c) - 1);
    struct iovec v[3] = { { a, 2 }, { b, 1 }, { c, sizeof(c) } };
    assert_int_equal(block_pwritev(bd, 0, v, 3, 512), -EPERM);
    /* The same bytes one sector further are ordinary data. */
    assert_int_equal(block_pwritev(bd, 512, v, 3, 512), 0);
    block_close(bd);
    uint8_t back[4];
    read_file(tpath("v.img"), 0, back, 4);
    assert_memory_not_equal(back, qcow2_magic, 4);
    read_file(tpath("v.img"), 512, back, 4);
    assert_memory_equal(back, qcow2_magic, 4);
}

/* Writes that cover the first sector in part are judged on the sector as
 * it would be after the write. */
static void test_guard_straddle(void **st)
{
    (void)st;
    /* The host file already holds "QF" + junk: completing the magic from
     * byte 2 on is refused. */
    make_raw(tpath("s.img"), MIB, "QFxx", 4);
    struct block_dev *bd = open_ok(tpath("s.img"), 0, BLOCK_FMT_PROBE);
    assert_true(block_probed_raw(bd));
    const uint8_t tail[2] = { 'I', 0xfb };
    assert_int_equal(block_pwrite(bd, 2, tail, 2), -EPERM);
    /* A write from inside sector 0 into sector 1. */
    uint8_t big[1024];
    memset(big, 0, sizeof(big));
    big[0] = 'I'; big[1] = 0xfb;
    assert_int_equal(block_pwrite(bd, 2, big, sizeof(big)), -EPERM);
    /* The VDI signature at byte 64, written alone. */
    const uint8_t vdi[4] = { 0x7f, 0x10, 0xda, 0xbe };
    assert_int_equal(block_pwrite(bd, 64, vdi, 4), -EPERM);
    /* A write that starts in sector 0 and spans many sectors, magic in
     * its first bytes. */
    uint8_t *m = calloc(1, 65536);
    assert_non_null(m);
    memcpy(m, "KDMV", 4);
    assert_int_equal(block_pwrite(bd, 0, m, 65536), -EPERM);
    /* Other partial writes are fine: the tail of sector 0, and a write
     * that breaks the prefix. */
    memset(m, 0x11, 65536);
    assert_int_equal(block_pwrite(bd, 500, m, 65536), 0);
    assert_int_equal(block_pwrite(bd, 2, "zz", 2), 0);
    free(m);
    block_close(bd);
    uint8_t back[4];
    read_file(tpath("s.img"), 0, back, 4);
    assert_memory_equal(back, "QFzz", 4);
}

/* Ordinary data, zeroes and discards in sector 0 go through. */
static void test_guard_allows_data(void **st)
{
    (void)st;
    make_raw(tpath("d.img"), MIB, NULL, 0);
    struct block_dev *bd = open_ok(tpath("d.img"), 0, BLOCK_FMT_PROBE);
    uint8_t sec[512];
    memset(sec, 0xa5, sizeof(sec));
    memcpy(sec, "\xeb\x63\x90MBR", 6);   /* a boot sector, say */
    assert_int_equal(block_pwrite(bd, 0, sec, sizeof(sec)), 0);
    assert_int_equal(block_write_zeroes(bd, 0, 4096), 0);
    assert_int_equal(block_discard(bd, 0, 4096), 0);
    assert_int_equal(block_pwrite(bd, 0, sec, sizeof(sec)), 0);
    block_close(bd);
    uint8_t back[512];
    read_file(tpath("d.img"), 0, back, sizeof(back));
    assert_memory_equal(back, sec, sizeof(back));
}

/* format=raw given: the disk is the user's to fill, headers included;
 * and the next probe would then see qcow2, as it should. */
static void test_explicit_raw_unrestricted(void **st)
{
    (void)st;
    make_raw(tpath("e.img"), MIB, NULL, 0);
    struct block_dev *bd = open_ok(tpath("e.img"), 0, BLOCK_FMT_RAW);
    assert_false(block_probed_raw(bd));
    uint8_t sec[512] = { 0 };
    memcpy(sec, qcow2_magic, 4);
    assert_int_equal(block_pwrite(bd, 0, sec, sizeof(sec)), 0);
    block_close(bd);
    uint8_t back[4];
    read_file(tpath("e.img"), 0, back, 4);
    assert_memory_equal(back, qcow2_magic, 4);
}

struct aio_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done, ret[2];
};

static void aio_cb(struct block_aio_req *req, int ret)
{
    struct aio_wait *w = req->opaque;
    pthread_mutex_lock(&w->lock);
    w->ret[w->done++] = ret;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* The asynchronous path (virtio-blk's): buffer and iovec forms. */
static void test_guard_aio(void **st)
{
    (void)st;
    make_raw(tpath("a.img"), MIB, NULL, 0);
    struct block_dev *bd = open_ok(tpath("a.img"), 0, BLOCK_FMT_PROBE);
    static uint8_t sec[512];
    memcpy(sec, "conectix", 8);
    struct iovec v[2] = { { sec, 256 }, { sec + 256, 256 } };
    struct aio_wait w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, { 1, 1 } };
    struct block_aio_req r1 = { .op = BLOCK_AIO_WRITE, .off = 0, .buf = sec, .len = 512,
                                .cb = aio_cb, .opaque = &w };
    struct block_aio_req r2 = { .op = BLOCK_AIO_WRITE, .off = 0, .len = 512, .iov = v,
                                .iovcnt = 2, .cb = aio_cb, .opaque = &w };
    assert_int_equal(block_aio_submit(bd, &r1), 0);
    assert_int_equal(block_aio_submit(bd, &r2), 0);
    block_aio_drain(bd);
    assert_int_equal(w.done, 2);
    assert_int_equal(w.ret[0], -EPERM);
    assert_int_equal(w.ret[1], -EPERM);
    block_close(bd);
    uint8_t back[8];
    read_file(tpath("a.img"), 0, back, 8);
    assert_memory_not_equal(back, "conectix", 8);
}

/* commit writes into the backing file: a backing file probed as raw is
 * guarded like a disk. */
static void test_guard_commit(void **st)
{
    (void)st;
    make_raw(tpath("cb.raw"), MIB, NULL, 0);
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2, .backing_file = "cb.raw" };
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_create(tpath("co.qcow2"), &o, err, sizeof(err)), 0);
    struct block_dev *bd = open_ok(tpath("co.qcow2"), BLOCK_O_BACKING_RW, BLOCK_FMT_PROBE);
    uint8_t sec[512] = { 0 };
    memcpy(sec, qcow2_magic, 4);
    assert_int_equal(block_pwrite(bd, 0, sec, sizeof(sec)), 0);   /* the overlay is qcow2 */
    assert_int_equal(block_commit(bd, NULL, NULL), -EPERM);
    block_close(bd);
    uint8_t back[4];
    read_file(tpath("cb.raw"), 0, back, 4);
    assert_memory_not_equal(back, qcow2_magic, 4);
}

/* A read-only probed disk is still flagged (writes fail as read-only). */
static void test_probe_readonly_and_small(void **st)
{
    (void)st;
    make_raw(tpath("ro.img"), MIB, NULL, 0);
    struct block_dev *bd = open_ok(tpath("ro.img"), BLOCK_O_RDONLY, BLOCK_FMT_PROBE);
    assert_true(block_probed_raw(bd));
    assert_int_equal(block_pwrite(bd, 0, qcow2_magic, 4), -EROFS);
    block_close(bd);
    /* A disk smaller than a sector: the probe zero-fills, so does the
     * guard. */
    make_raw(tpath("tiny.img"), 8, NULL, 0);
    bd = open_ok(tpath("tiny.img"), 0, BLOCK_FMT_PROBE);
    assert_int_equal(block_pwrite(bd, 0, qcow2_magic, 4), -EPERM);
    assert_int_equal(block_pwrite(bd, 0, "QFI", 3), 0);
    block_close(bd);
}

/* A file holding a magic of a format without a driver is not taken for
 * raw when probed; format=raw opens it. */
static void test_probe_unsupported_format(void **st)
{
    (void)st;
    make_raw(tpath("x.vmdk"), MIB, "COWD", 4);   /* an ESX sparse extent */
    struct block_dev *bd = NULL;
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&bd, tpath("x.vmdk"), 0, BLOCK_FMT_PROBE, err, sizeof(err)),
                     -ENOTSUP);
    assert_null(bd);
    assert_non_null(strstr(err, "vmdk"));
    assert_non_null(strstr(err, "x.vmdk"));
    assert_non_null(strstr(err, "format=raw"));
    bd = open_ok(tpath("x.vmdk"), 0, BLOCK_FMT_RAW);
    block_close(bd);
}

/* ---- backing files ---- */

/* A qcow2 image `img` whose header names `backing` (created over a
 * placeholder regular file `placeholder`, then removed so that the test
 * can put anything at that name). */
static void make_overlay(const char *img, const char *backing, const char *placeholder)
{
    make_raw(placeholder, MIB, NULL, 0);
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2, .backing_file = backing,
                                   .backing_format = "raw", .size = MIB };
    char err[BLOCK_ERR_LEN];
    if (block_create(img, &o, err, sizeof(err)) < 0)
        fail_msg("create %s: %s", img, err);
    unlink(placeholder);
}

static int open_err(const char *path, const struct block_open_opts *oo, char *err)
{
    struct block_dev *bd = NULL;
    int r = block_open_with(&bd, path, BLOCK_O_RDONLY, BLOCK_FMT_PROBE, oo, err,
                            BLOCK_ERR_LEN);
    if (r == 0)
        block_close(bd);
    else
        assert_null(bd);
    return r;
}

static void test_backing_device(void **st)
{
    (void)st;
    char err[BLOCK_ERR_LEN];
    make_overlay(tpath("dev.qcow2"), "blk", tpath("blk"));
    if (mknod(tpath("blk"), S_IFBLK | 0600, makedev(7, 0)) < 0) {
        skip();   /* mknod needs privileges */
        return;
    }
    assert_int_equal(open_err(tpath("dev.qcow2"), NULL, err), -EPERM);
    assert_non_null(strstr(err, "block device"));
    assert_non_null(strstr(err, "dev.qcow2"));
    make_overlay(tpath("chr.qcow2"), "chr", tpath("chr"));
    assert_int_equal(mknod(tpath("chr"), S_IFCHR | 0600, makedev(1, 3)), 0);
    assert_int_equal(open_err(tpath("chr.qcow2"), NULL, err), -EPERM);
    assert_non_null(strstr(err, "character device"));
    /* Even in an allowed directory, a device is refused. */
    const char *dirs[] = { "/" };
    struct block_open_opts oo = { .backing_dirs = dirs, .nbacking_dirs = 1 };
    assert_int_equal(open_err(tpath("chr.qcow2"), &oo, err), -EPERM);
}

/* A FIFO as backing file or as the image: refused, never blocking (the
 * alarm turns a hang into a failure). */
static void test_backing_fifo(void **st)
{
    (void)st;
    char err[BLOCK_ERR_LEN];
    make_overlay(tpath("fifo.qcow2"), "fifo", tpath("fifo"));
    assert_int_equal(mkfifo(tpath("fifo"), 0600), 0);
    alarm(10);
    assert_int_equal(open_err(tpath("fifo.qcow2"), NULL, err), -EPERM);
    assert_non_null(strstr(err, "FIFO"));
    struct block_dev *bd = NULL;
    assert_int_equal(block_open(&bd, tpath("fifo"), BLOCK_O_RDONLY, BLOCK_FMT_PROBE, err,
                                sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "FIFO"));
    assert_int_equal(block_open(&bd, tpath("fifo"), 0, BLOCK_FMT_RAW, err, sizeof(err)),
                     -EINVAL);
    alarm(0);
    /* A directory is no backing file either. */
    make_overlay(tpath("dir.qcow2"), "adir", tpath("adir"));
    assert_int_equal(mkdir(tpath("adir"), 0700), 0);
    assert_int_equal(open_err(tpath("dir.qcow2"), NULL, err), -EPERM);
    assert_non_null(strstr(err, "directory"));
}

static void test_backing_outside(void **st)
{
    (void)st;
    char err[BLOCK_ERR_LEN];
    make_raw(opath("secret"), MIB, "top secret", 10);
    /* An absolute name elsewhere: create allows it (the caller named it),
     * opening the image refuses it. */
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2, .backing_file = opath("secret"),
                                   .backing_format = "raw" };
    assert_int_equal(block_create(tpath("abs.qcow2"), &o, err, sizeof(err)), 0);
    assert_int_equal(open_err(tpath("abs.qcow2"), NULL, err), -EPERM);
    assert_non_null(strstr(err, "abs.qcow2"));   /* the image */
    assert_non_null(strstr(err, opath("secret"))); /* header name and resolved */
    assert_non_null(strstr(err, "backing-dir"));  /* how to allow */
    /* A relative name climbing out. */
    assert_int_equal(mkdir(tpath("sub"), 0700), 0);
    char rel[600];
    snprintf(rel, sizeof(rel), "../../%s/secret", strrchr(other, '/') + 1);
    make_overlay(tpath("sub/rel.qcow2"), rel, tpath("sub/placeholder"));
    assert_int_equal(open_err(tpath("sub/rel.qcow2"), NULL, err), -EPERM);
    assert_non_null(strstr(err, rel));
    /* The user allows the directory: the chain opens and reads through. */
    const char *dirs[] = { other };
    struct block_open_opts oo = { .backing_dirs = dirs, .nbacking_dirs = 1,
                                  .allow_hint = "--try-this" };
    assert_int_equal(open_err(tpath("abs.qcow2"), &oo, err), 0);
    struct block_dev *bd = NULL;
    assert_int_equal(block_open_with(&bd, tpath("sub/rel.qcow2"), BLOCK_O_RDONLY,
                                     BLOCK_FMT_QCOW2, &oo, err, sizeof(err)), 0);
    char buf[10];
    assert_int_equal(block_pread(bd, 0, buf, 10), 0);
    assert_memory_equal(buf, "top secret", 10);
    block_close(bd);
    /* The hint the caller gives is quoted in the refusal. */
    const char *none[] = { tpath("sub") };
    struct block_open_opts oh = { .backing_dirs = none, .nbacking_dirs = 1,
                                  .allow_hint = "--try-this" };
    assert_int_equal(open_err(tpath("abs.qcow2"), &oh, err), -EPERM);
    assert_non_null(strstr(err, "--try-this"));
    /* An allowed directory that does not exist is an error of its own. */
    const char *gone[] = { tpath("no-such-dir") };
    struct block_open_opts og = { .backing_dirs = gone, .nbacking_dirs = 1 };
    assert_int_equal(open_err(tpath("abs.qcow2"), &og, err), -ENOENT);
    assert_non_null(strstr(err, "no-such-dir"));
}

static void test_backing_symlink(void **st)
{
    (void)st;
    char err[BLOCK_ERR_LEN];
    make_raw(opath("secret2"), MIB, NULL, 0);
    /* A symlink in the image's directory pointing out of it. */
    make_overlay(tpath("ln.qcow2"), "escape", tpath("escape"));
    assert_int_equal(symlink(opath("secret2"), tpath("escape")), 0);
    assert_int_equal(open_err(tpath("ln.qcow2"), NULL, err), -EPERM);
    assert_non_null(strstr(err, "escape"));
    assert_non_null(strstr(err, opath("secret2")));
    /* A symlink to a device is judged by what it points to. */
    make_overlay(tpath("lnd.qcow2"), "tonull", tpath("tonull"));
    assert_int_equal(symlink("/dev/null", tpath("tonull")), 0);
    assert_int_equal(open_err(tpath("lnd.qcow2"), NULL, err), -EPERM);
    /* A symlink that stays inside (into a subdirectory) is fine. */
    assert_int_equal(mkdir(tpath("inner"), 0700), 0);
    make_raw(tpath("inner/base.raw"), MIB, NULL, 0);
    make_overlay(tpath("lni.qcow2"), "inlink", tpath("inlink"));
    assert_int_equal(symlink("inner/base.raw", tpath("inlink")), 0);
    assert_int_equal(open_err(tpath("lni.qcow2"), NULL, err), 0);
}

/* The rule holds at every level of the chain, measured from the image
 * opened; an image opened through a symlink may also use the directory
 * it really lives in. */
static void test_backing_chain_levels(void **st)
{
    (void)st;
    char err[BLOCK_ERR_LEN];
    make_raw(opath("deep"), MIB, NULL, 0);
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2, .backing_file = opath("deep"),
                                   .backing_format = "raw" };
    assert_int_equal(block_create(tpath("mid.qcow2"), &o, err, sizeof(err)), 0);
    struct block_create_opts o2 = { .format = BLOCK_FMT_QCOW2, .backing_file = "mid.qcow2",
                                    .backing_format = "qcow2" };
    assert_int_equal(block_create(tpath("top.qcow2"), &o2, err, sizeof(err)), 0);
    assert_int_equal(open_err(tpath("top.qcow2"), NULL, err), -EPERM);
    assert_non_null(strstr(err, "mid.qcow2"));
    /* A image in `other` reached through a symlink in `dir`: its own
     * directory holds its backing file. */
    make_raw(opath("obase"), MIB, NULL, 0);
    struct block_create_opts o3 = { .format = BLOCK_FMT_QCOW2, .backing_file = "obase",
                                    .backing_format = "raw" };
    assert_int_equal(block_create(opath("o.qcow2"), &o3, err, sizeof(err)), 0);
    assert_int_equal(symlink(opath("o.qcow2"), tpath("o-link.qcow2")), 0);
    assert_int_equal(symlink(opath("obase"), tpath("obase")), 0);
    assert_int_equal(open_err(tpath("o-link.qcow2"), NULL, err), 0);
}

/* block_rebase -b names the new backing file: allowed by being named. */
static void test_rebase_named_allowed(void **st)
{
    (void)st;
    char err[BLOCK_ERR_LEN];
    make_raw(opath("nb.raw"), MIB, NULL, 0);
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2, .size = MIB };
    assert_int_equal(block_create(tpath("rb.qcow2"), &o, err, sizeof(err)), 0);
    struct block_dev *bd = open_ok(tpath("rb.qcow2"), 0, BLOCK_FMT_QCOW2);
    assert_int_equal(block_rebase(bd, opath("nb.raw"), "raw", false), 0);
    block_close(bd);
    assert_int_equal(open_err(tpath("rb.qcow2"), NULL, err), -EPERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_table),
        cmocka_unit_test(test_guard_every_magic),
        cmocka_unit_test(test_guard_pwritev),
        cmocka_unit_test(test_guard_straddle),
        cmocka_unit_test(test_guard_allows_data),
        cmocka_unit_test(test_explicit_raw_unrestricted),
        cmocka_unit_test(test_guard_aio),
        cmocka_unit_test(test_guard_commit),
        cmocka_unit_test(test_probe_readonly_and_small),
        cmocka_unit_test(test_probe_unsupported_format),
        cmocka_unit_test(test_backing_device),
        cmocka_unit_test(test_backing_fifo),
        cmocka_unit_test(test_backing_outside),
        cmocka_unit_test(test_backing_symlink),
        cmocka_unit_test(test_backing_chain_levels),
        cmocka_unit_test(test_rebase_named_allowed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
