/* Unit tests for the block layer's host-file I/O with O_DIRECT
 * (cache=none): unaligned offsets, lengths and buffers bounced through
 * aligned blocks, read-modify-write at the ends, the end of the file, and
 * whole images (raw and qcow2) opened with BLOCK_O_DIRECT. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "block/block.h"
#include "block/block_int.h"

static char dir[256];

static const char *tpath(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
    return p[k];
}

/* A scratch directory on a filesystem that takes O_DIRECT (tmpfs may not):
 * $TMPDIR, /var/tmp or the working directory.  The tests skip if none. */
static int setup(void **st)
{
    (void)st;
    const char *cands[] = { getenv("TMPDIR"), "/var/tmp", "." };
    for (unsigned i = 0; i < 3; i++) {
        if (!cands[i] || !*cands[i])
            continue;
        snprintf(dir, sizeof(dir), "%s/vessel-hostio-XXXXXX", cands[i]);
        if (!mkdtemp(dir))
            continue;
        int fd = open(tpath("probe"), O_RDWR | O_CREAT | O_DIRECT, 0644);
        unlink(tpath("probe"));
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        rmdir(dir);
    }
    dir[0] = 0;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    if (!dir[0])
        return 0;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state % n;
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* A file of `size` random bytes (written buffered), its copy in `shadow`. */
static void make_file(const char *path, uint8_t *shadow, size_t size)
{
    for (size_t i = 0; i < size; i++)
        shadow[i] = (uint8_t)rnd(256);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, shadow, size), (ssize_t)size);
    close(fd);
}

static struct host_file open_direct(const char *path, unsigned align)
{
    int fd = open(path, O_RDWR | O_DIRECT);
    assert_true(fd >= 0);
    return (struct host_file){ .fd = fd, .align = align };
}

/* Random reads and writes, single-buffer and vectored, at any offset,
 * length and buffer alignment, against a copy kept in memory.  With align
 * 4096 every sector-sized guest request needs the read-modify-write path. */
static void random_io(unsigned align)
{
    if (!dir[0])
        skip();
    const size_t size = 24 * 4096 + 1000;   /* the end is not block-aligned */
    uint8_t *shadow = malloc(size + 70000), *buf = malloc(70000), *chk = malloc(70000);
    assert_non_null(shadow);
    make_file(tpath("f"), shadow, size);
    memset(shadow + size, 0, 70000);         /* reads past the end: zeros */
    struct host_file f = open_direct(tpath("f"), align);
    for (int op = 0; op < 3000; op++) {
        bool write = rnd(2);
        size_t len = 1 + (size_t)rnd(rnd(4) ? 5000 : 66000);
        uint64_t off = rnd(write ? size - len + 1 : size + 3000);
        if (write && len > size)
            continue;
        uint8_t *p = buf + rnd(600);
        if (rnd(4) == 0) {                   /* aligned, on the fast path */
            off &= ~(uint64_t)(align - 1);
            p = buf;
            len = (len + align - 1) & ~(size_t)(align - 1);
            if (write && off + len > size)
                continue;
        }
        if (p + len > buf + 70000)
            len = (size_t)(buf + 70000 - p);
        struct iovec v[3];
        int n = 1 + (int)rnd(3);
        size_t at = 0;
        for (int i = 0; i < n; i++) {
            size_t k = i == n - 1 ? len - at : (size_t)rnd(len - at + 1);
            v[i] = (struct iovec){ p + at, k };
            at += k;
        }
        bool vec = rnd(2);
        if (write) {
            for (size_t i = 0; i < len; i++)
                p[i] = (uint8_t)rnd(256);
            int r = vec ? host_pwritev(&f, off, v, n) : host_pwrite(&f, off, p, len);
            assert_int_equal(r, 0);
            memcpy(shadow + off, p, len);
        } else {
            memset(p, 0xa5, len);
            int r = vec ? host_preadv(&f, off, v, n) : host_pread(&f, off, p, len, true);
            assert_int_equal(r, 0);
            assert_memory_equal(p, shadow + off, len);
        }
    }
    close(f.fd);
    assert_int_equal(file_size(tpath("f")), (off_t)size);   /* never grown */
    int fd = open(tpath("f"), O_RDONLY);
    for (size_t o = 0; o < size; o += 70000) {
        size_t k = size - o < 70000 ? size - o : 70000;
        assert_int_equal(pread(fd, chk, k, (off_t)o), (ssize_t)k);
        assert_memory_equal(chk, shadow + o, k);
    }
    close(fd);
    free(shadow); free(buf); free(chk);
}

static void test_random_io_4096(void **st) { (void)st; random_io(4096); }

static void test_random_io_reported_align(void **st)
{
    (void)st;
    if (!dir[0])
        skip();
    int fd = open(tpath("a"), O_RDWR | O_CREAT | O_DIRECT, 0644);
    assert_true(fd >= 0);
    unsigned a = 0;
    assert_int_equal(host_file_direct_align(fd, &a), 0);
    close(fd);
    assert_true(a >= 512 && (a & (a - 1)) == 0);
    random_io(a);
}

/* A write that ends past the end of the file grows it to exactly its end
 * (not to the padded block), and a read past the end without zero_eof
 * fails. */
static void test_end_of_file(void **st)
{
    (void)st;
    if (!dir[0])
        skip();
    uint8_t shadow[5000], buf[300];
    make_file(tpath("e"), shadow, 5000);
    struct host_file f = open_direct(tpath("e"), 4096);
    memset(buf, 0x5a, sizeof(buf));
    assert_int_equal(host_pwrite(&f, 4950, buf, 100), 0);
    assert_int_equal(file_size(tpath("e")), 5050);
    assert_int_equal(host_pread(&f, 4900, buf, 150, false), 0);
    assert_memory_equal(buf, shadow + 4900, 50);
    for (int i = 50; i < 150; i++)
        assert_int_equal(buf[i], 0x5a);
    assert_int_equal(host_pread(&f, 5000, buf, 100, false), -EIO);
    assert_int_equal(host_pread(&f, 5000, buf, 100, true), 0);
    assert_int_equal(buf[49], 0x5a);
    assert_int_equal(buf[50], 0);
    close(f.fd);
}

/* Whole images with BLOCK_O_DIRECT: a raw image and a qcow2 image (whose
 * metadata updates are 8-byte writes) take sector-sized and odd requests,
 * and read back the same after a reopen without O_DIRECT. */
static void test_images_direct(void **st)
{
    (void)st;
    if (!dir[0])
        skip();
    char err[BLOCK_ERR_LEN];
    const uint64_t size = 4 << 20;
    struct block_create_opts raw = { .format = BLOCK_FMT_RAW, .size = size };
    struct block_create_opts q = { .format = BLOCK_FMT_QCOW2, .size = size };
    assert_int_equal(block_create(tpath("d.raw"), &raw, err, sizeof(err)), 0);
    assert_int_equal(block_create(tpath("d.qcow2"), &q, err, sizeof(err)), 0);
    static uint8_t shadow[4 << 20], buf[200000];
    const char *names[2] = { "d.raw", "d.qcow2" };
    for (int k = 0; k < 2; k++) {
        memset(shadow, 0, sizeof(shadow));
        struct block_dev *bd;
        assert_int_equal(block_open(&bd, tpath(names[k]), BLOCK_O_DIRECT, BLOCK_FMT_PROBE,
                                    err, sizeof(err)), 0);
        assert_true(fcntl(bd->file.fd, F_GETFL) & O_DIRECT);
        assert_true(bd->file.align >= 512);
        for (int op = 0; op < 300; op++) {
            size_t len = 1 + (size_t)rnd(rnd(2) ? 1024 : 150000);
            uint64_t off = rnd(size - len + 1);
            if (rnd(2))
                off &= ~511ULL;
            uint8_t *p = buf + rnd(40000);
            if (p + len > buf + sizeof(buf))
                len = (size_t)(buf + sizeof(buf) - p);
            if (rnd(2)) {
                for (size_t i = 0; i < len; i++)
                    p[i] = (uint8_t)rnd(256);
                assert_int_equal(block_pwrite(bd, off, p, len), 0);
                memcpy(shadow + off, p, len);
            } else {
                assert_int_equal(block_pread(bd, off, p, len), 0);
                assert_memory_equal(p, shadow + off, len);
            }
        }
        assert_int_equal(block_flush(bd), 0);
        block_close(bd);
        assert_int_equal(block_open(&bd, tpath(names[k]), BLOCK_O_RDONLY, BLOCK_FMT_PROBE,
                                    err, sizeof(err)), 0);
        for (uint64_t o = 0; o < size; o += sizeof(buf)) {
            size_t n = (size_t)(size - o < sizeof(buf) ? size - o : sizeof(buf));
            assert_int_equal(block_pread(bd, o, buf, n), 0);
            assert_memory_equal(buf, shadow + o, n);
        }
        if (k == 1) {
            struct block_check_result r;
            assert_int_equal(block_check(bd, false, &r, NULL), 0);
            assert_int_equal(r.corruptions, 0);
            assert_int_equal(r.leaks, 0);
        }
        block_close(bd);
    }
}

/* The backing chain of a direct image is direct too, and reads through it. */
static void test_backing_direct(void **st)
{
    (void)st;
    if (!dir[0])
        skip();
    char err[BLOCK_ERR_LEN];
    uint8_t data[3000], buf[3000];
    make_file(tpath("base.raw"), data, sizeof(data));
    assert_int_equal(truncate(tpath("base.raw"), 1 << 20), 0);
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2,
                                   .backing_file = tpath("base.raw"),
                                   .backing_format = "raw" };
    assert_int_equal(block_create(tpath("top.qcow2"), &o, err, sizeof(err)), 0);
    struct block_dev *bd;
    assert_int_equal(block_open(&bd, tpath("top.qcow2"), BLOCK_O_DIRECT | BLOCK_O_RDONLY,
                                BLOCK_FMT_QCOW2, err, sizeof(err)), 0);
    assert_non_null(bd->backing);
    assert_true(fcntl(bd->backing->file.fd, F_GETFL) & O_DIRECT);
    assert_int_equal(block_pread(bd, 7, buf, sizeof(buf) - 7), 0);
    assert_memory_equal(buf, data + 7, sizeof(buf) - 7);
    block_close(bd);
    /* BLOCK_O_BACKING_DIRECT (snapshot=on's overlay): the chain only. */
    assert_int_equal(block_open(&bd, tpath("top.qcow2"), BLOCK_O_BACKING_DIRECT,
                                BLOCK_FMT_QCOW2, err, sizeof(err)), 0);
    assert_false(fcntl(bd->file.fd, F_GETFL) & O_DIRECT);
    assert_int_equal(bd->file.align, 0);
    assert_true(fcntl(bd->backing->file.fd, F_GETFL) & O_DIRECT);
    assert_int_equal(block_pwrite(bd, 5, data, 100), 0);
    assert_int_equal(block_pread(bd, 0, buf, 200), 0);
    assert_memory_equal(buf, data, 5);
    assert_memory_equal(buf + 5, data, 100);
    assert_memory_equal(buf + 105, data + 105, 95);
    block_close(bd);
}

/* A host block device (a loop device over a file, where the machine has
 * them): unaligned writes, including 8-byte qcow2-style entry updates,
 * succeed (there is no file size to put back) and read back. */
static void test_block_device(void **st)
{
    (void)st;
    if (!dir[0])
        skip();
    uint8_t shadow[1 << 20], buf[5000];
    make_file(tpath("loop.img"), shadow, sizeof(shadow));
    char cmd[600], dev[64] = "";
    snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", tpath("loop.img"));
    FILE *p = popen(cmd, "r");
    if (p) {
        if (!fgets(dev, sizeof(dev), p))
            dev[0] = 0;
        pclose(p);
    }
    dev[strcspn(dev, "\n")] = 0;
    if (!dev[0])
        skip();   /* no loop devices here */
    int fd = open(dev, O_RDWR | O_DIRECT);
    int ok = fd >= 0;
    struct host_file f = { .fd = fd, .align = 4096 };
    for (int i = 0; ok && i < 200; i++) {
        size_t len = 1 + (size_t)rnd(rnd(2) ? 8 : sizeof(buf));
        uint64_t off = rnd(sizeof(shadow) - len + 1);
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)rnd(256);
        ok = host_pwrite(&f, off, buf, len) == 0;
        memcpy(shadow + off, buf, len);
        ok = ok && host_pread(&f, off > 100 ? off - 100 : 0, buf, len, false) == 0 &&
             !memcmp(buf, shadow + (off > 100 ? off - 100 : 0), len);
    }
    if (fd >= 0)
        close(fd);
    snprintf(cmd, sizeof(cmd), "losetup -d '%s'", dev);
    assert_int_equal(system(cmd), 0);
    assert_true(fd >= 0);
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_io_4096),
        cmocka_unit_test(test_random_io_reported_align),
        cmocka_unit_test(test_end_of_file),
        cmocka_unit_test(test_images_direct),
        cmocka_unit_test(test_backing_direct),
        cmocka_unit_test(test_block_device),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
