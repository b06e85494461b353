/* Disks in snapshots (src/vmm/snapdisk.c, snapraw.c, docs/snapshot.md
 * "Disks"): the "disk" section round trip and every corrupt field refused
 * (version 1 and the raw copy's version 2); the identity of an image;
 * freezing an open image under an overlay and undoing it
 * (block_overlay_push / block_overlay_pop); the sparse copy of a raw
 * image, its holes kept, and its failures (a full disk, a short source). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "block/block.h"
#include "util/util.h"
#include "vmm/snapdisk.h"

static const struct snapdisk_rec good = {
    .index = 0, .role = SNAPDISK_FROZEN, .path = "/var/lib/vm/disk.qcow2",
    .virtual_size = 1u << 20, .file_size = 200704, .mtime_ns = 1700000000123456789ull,
    .crc = 0xdeadbeef,
};

/* The section of rec, as bytes (caller frees). */
static uint8_t *encode(const struct snapdisk_rec *rec, size_t *len)
{
    struct sstate_writer w;
    sstate_writer_init(&w);
    snapdisk_put(&w, rec);
    assert_int_equal(w.err, 0);
    uint8_t *b = malloc(w.len);
    memcpy(b, w.buf, w.len);
    *len = w.len;
    sstate_writer_free(&w);
    return b;
}

static int parse(const uint8_t *b, size_t len, unsigned want, struct snapdisk_rec *out,
                 char *err, size_t elen)
{
    struct sstate_reader r;
    sstate_reader_init(&r, b, len);
    return snapdisk_parse(&r, want, out, err, elen);
}

static void test_round_trip(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = encode(&good, &len);
    struct snapdisk_rec out;
    char err[256];
    assert_int_equal(parse(b, len, 0, &out, err, sizeof(err)), 0);
    assert_int_equal(out.index, good.index);
    assert_int_equal(out.role, good.role);
    assert_string_equal(out.path, good.path);
    assert_true(out.virtual_size == good.virtual_size);
    assert_true(out.file_size == good.file_size);
    assert_true(out.mtime_ns == good.mtime_ns);
    assert_int_equal(out.crc, good.crc);
    free(b);
}

/* Offsets in the payload (after the 16-byte section header). */
enum { OFF_INDEX = 16, OFF_ROLE = 20, OFF_PLEN = 24, OFF_PATH = 28 };

static void expect_refused(const uint8_t *b, size_t len, unsigned want, const char *what)
{
    struct snapdisk_rec out;
    char err[256] = "";
    int rc = parse(b, len, want, &out, err, sizeof(err));
    if (rc == 0)
        fail_msg("%s: accepted", what);
    assert_true(rc == -EINVAL || rc == -ENOTSUP);
    assert_true(strstr(err, "disk section") != NULL);
}

static void test_corrupt_fields(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = encode(&good, &len);
    uint8_t *c = malloc(len);
    size_t pl = strlen(good.path);
    size_t off_vsize = OFF_PATH + pl;
#define MUT(stmt, what) do { memcpy(c, b, len); stmt; expect_refused(c, len, 0, what); } while (0)
    MUT(c[0] = 'x', "tag");
    MUT(le_put(c + 8, 0, 4), "version 0");
    MUT(le_put(c + 8, 2, 4), "version 2 (newer)");
    MUT(le_put(c + 12, len - 16 + 1, 4), "payload length past the buffer");
    MUT(le_put(c + 12, len - 16 - 1, 4), "payload length one short");
    MUT(le_put(c + OFF_INDEX, 1, 4), "index");
    MUT(le_put(c + OFF_ROLE, 0, 4), "role 0");
    MUT(le_put(c + OFF_ROLE, 4, 4), "role 4");
    MUT(le_put(c + OFF_PLEN, 0, 4), "path length 0");
    MUT(le_put(c + OFF_PLEN, SNAPDISK_PATH_MAX + 1, 4), "path length too big");
    MUT(le_put(c + OFF_PLEN, (uint32_t)pl + 1, 4), "path length past its field");
    MUT(le_put(c + OFF_PLEN, (uint32_t)pl - 1, 4), "path length short of its field");
    MUT(c[OFF_PATH] = 'v', "relative path");
    MUT(c[OFF_PATH + 3] = 0, "NUL in the path");
    MUT(le_put(c + off_vsize, 0, 8), "virtual size 0");
    MUT(le_put(c + off_vsize, 1000, 8), "virtual size not a multiple of 512");
#undef MUT
    /* Every truncation. */
    for (size_t n = 0; n < len; n++)
        expect_refused(b, n, 0, "truncated");
    /* The right section asked for as another index. */
    expect_refused(b, len, 1, "wrong index wanted");
    free(c);
    free(b);
}

static void test_scan(void **state)
{
    (void)state;
    struct sstate_writer w;
    sstate_writer_init(&w);
    sstate_begin(&w, "memory", 1);
    sstate_put_u32(&w, 7);
    assert_int_equal(sstate_end(&w), 0);
    struct snapdisk_rec r = good;
    snapdisk_put(&w, &r);
    r.index = 1;
    r.role = SNAPDISK_READONLY;
    snprintf(r.path, sizeof(r.path), "/img/base.raw");
    snapdisk_put(&w, &r);
    assert_int_equal(w.err, 0);
    struct snapdisk_rec *recs;
    unsigned n;
    char err[256];
    assert_int_equal(snapdisk_scan(w.buf, w.len, &recs, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_string_equal(recs[1].path, "/img/base.raw");
    assert_int_equal(recs[1].role, SNAPDISK_READONLY);
    free(recs);
    /* Sections out of order: the second says index 0 again. */
    sstate_writer_free(&w);
    sstate_writer_init(&w);
    snapdisk_put(&w, &good);
    snapdisk_put(&w, &good);
    assert_int_not_equal(snapdisk_scan(w.buf, w.len, &recs, &n, err, sizeof(err)), 0);
    assert_null(recs);
    assert_true(strstr(err, "index") != NULL);
    sstate_writer_free(&w);
}

static const struct snapdisk_rec good_copy = {
    .index = 0, .role = SNAPDISK_RAWCOPY, .path = "/var/lib/vm/disk.raw",
    .virtual_size = 8u << 20, .file_size = 8u << 20, .mtime_ns = 1700000000123456789ull,
    .crc = 0x12345678, .copy_size = 8u << 20, .copy_mtime_ns = 1700000001000000000ull,
    .copy_crc = 0xcafef00d,
};

static void test_rawcopy_section(void **state)
{
    (void)state;
    size_t len, len1;
    uint8_t *b = encode(&good_copy, &len);
    uint8_t *b1 = encode(&good, &len1);
    /* A raw copy is written as version 2; the other roles still as 1. */
    assert_int_equal(le_get(b + 8, 4), 2);
    assert_int_equal(le_get(b1 + 8, 4), 1);
    assert_int_equal(len, len1 + (strlen(good_copy.path) - strlen(good.path)) + 20);
    struct snapdisk_rec out;
    char err[256];
    assert_int_equal(parse(b, len, 0, &out, err, sizeof(err)), 0);
    assert_int_equal(out.role, SNAPDISK_RAWCOPY);
    assert_true(out.copy_size == good_copy.copy_size);
    assert_true(out.copy_mtime_ns == good_copy.copy_mtime_ns);
    assert_int_equal(out.copy_crc, good_copy.copy_crc);
    /* Version 1 (the old layout) reads with the copy fields 0. */
    assert_int_equal(parse(b1, len1, 0, &out, err, sizeof(err)), 0);
    assert_true(out.copy_size == 0 && out.copy_mtime_ns == 0 && out.copy_crc == 0);
    uint8_t *c = malloc(len);
    size_t off_copy = OFF_PATH + strlen(good_copy.path) + 28;
#define MUT(stmt, what) do { memcpy(c, b, len); stmt; expect_refused(c, len, 0, what); } while (0)
    MUT(le_put(c + 8, 3, 4), "version 3 (newer)");
    MUT(le_put(c + 8, 1, 4), "role 4 in version 1");
    MUT(le_put(c + OFF_ROLE, 5, 4), "role 5");
    MUT(le_put(c + OFF_ROLE, SNAPDISK_FROZEN, 4), "copy fields on a frozen disk");
    MUT(le_put(c + off_copy, (8u << 20) - 512, 8), "copy size short of the virtual size");
    MUT(le_put(c + off_copy, (8u << 20) + 512, 8), "copy size past the virtual size");
    MUT(le_put(c + 12, len - 16 - 4, 4), "payload without the copy CRC");
#undef MUT
    {
        /* Version 1 with role 4: what a version-1 reader would refuse too. */
        size_t l1;
        struct snapdisk_rec r = good_copy;
        r.role = SNAPDISK_FROZEN;
        r.copy_size = r.copy_mtime_ns = r.copy_crc = 0;
        uint8_t *v1 = encode(&r, &l1);
        le_put(v1 + OFF_ROLE, SNAPDISK_RAWCOPY, 4);
        expect_refused(v1, l1, 0, "role 4 in a version-1 layout");
        free(v1);
    }
    for (size_t n = 0; n < len; n++)
        expect_refused(b, n, 0, "truncated");
    free(c);
    free(b);
    free(b1);
}

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vessel-snapdisk-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static void test_identity(void **state)
{
    (void)state;
    char p[128], err[256];
    snprintf(p, sizeof(p), "%s/id", dir);
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 100000; i++)
        fputc(i & 0xff, f);
    fclose(f);
    struct snapdisk_rec a, b;
    assert_int_equal(snapdisk_identity(p, &a, err, sizeof(err)), 0);
    assert_true(a.file_size == 100000);
    assert_int_equal(snapdisk_identity(p, &b, err, sizeof(err)), 0);
    assert_int_equal(a.crc, b.crc);
    assert_true(a.mtime_ns == b.mtime_ns);
    /* A byte changed in the first 64 KiB changes the CRC. */
    int fd = open(p, O_WRONLY);
    assert_int_equal(pwrite(fd, "x", 1, 100), 1);
    close(fd);
    assert_int_equal(snapdisk_identity(p, &b, err, sizeof(err)), 0);
    assert_int_not_equal(a.crc, b.crc);
    snprintf(p, sizeof(p), "%s/missing", dir);
    assert_int_equal(snapdisk_identity(p, &b, err, sizeof(err)), -ENOENT);
    assert_true(strstr(err, "missing") != NULL);
}

static void test_overlay_push_pop(void **state)
{
    (void)state;
    char p[128], n[128], err[BLOCK_ERR_LEN];
    snprintf(p, sizeof(p), "%s/disk.qcow2", dir);
    snprintf(n, sizeof(n), "%s/disk.0001.qcow2", dir);
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2, .size = 1u << 20 };
    assert_int_equal(block_create(p, &o, err, sizeof(err)), 0);
    struct block_dev *bd;
    assert_int_equal(block_open(&bd, p, BLOCK_O_LOCK, BLOCK_FMT_QCOW2, err, sizeof(err)), 0);
    uint8_t a[512], b[512], r[512];
    memset(a, 'a', sizeof(a));
    memset(b, 'b', sizeof(b));
    assert_int_equal(block_pwrite(bd, 0, a, sizeof(a)), 0);
    /* An existing file is never taken over. */
    int fd = open(n, O_CREAT | O_WRONLY, 0600);
    close(fd);
    assert_int_equal(block_overlay_push(bd, n, "disk.qcow2", BLOCK_O_LOCK, err, sizeof(err)),
                     -EEXIST);
    assert_int_equal(block_pwrite(bd, 512, a, sizeof(a)), 0);  /* still writable */
    unlink(n);
    assert_int_equal(block_overlay_push(bd, n, "disk.qcow2", BLOCK_O_LOCK, err, sizeof(err)), 0);
    /* The frozen image is shared for reading, refused for writing. */
    struct block_dev *ro, *rw;
    assert_int_equal(block_open(&ro, p, BLOCK_O_RDONLY | BLOCK_O_LOCK, BLOCK_FMT_QCOW2, err,
                                sizeof(err)), 0);
    block_close(ro);
    assert_int_equal(block_open(&rw, p, BLOCK_O_LOCK, BLOCK_FMT_QCOW2, err, sizeof(err)),
                     -EBUSY);
    /* Writes go to the overlay; the old data reads through it. */
    assert_int_equal(block_pwrite(bd, 0, b, sizeof(b)), 0);
    assert_int_equal(block_pread(bd, 0, r, sizeof(r)), 0);
    assert_memory_equal(r, b, sizeof(r));
    assert_int_equal(block_pread(bd, 512, r, sizeof(r)), 0);
    assert_memory_equal(r, a, sizeof(r));
    assert_int_equal(block_chain_find(bd, n, NULL), 1);
    assert_int_equal(block_chain_find(bd, p, NULL), 2);
    assert_int_equal(block_open(&ro, p, BLOCK_O_RDONLY | BLOCK_O_NO_BACKING, BLOCK_FMT_QCOW2,
                                err, sizeof(err)), 0);
    assert_int_equal(block_pread(ro, 0, r, sizeof(r)), 0);
    assert_memory_equal(r, a, sizeof(r));   /* the frozen image kept its data */
    block_close(ro);
    /* Undo: back on the image, writable, the overlay gone. */
    assert_int_equal(block_overlay_pop(bd, err, sizeof(err)), 0);
    assert_int_equal(access(n, F_OK), -1);
    assert_int_equal(block_pread(bd, 0, r, sizeof(r)), 0);
    assert_memory_equal(r, a, sizeof(r));
    assert_int_equal(block_pwrite(bd, 0, b, sizeof(b)), 0);
    assert_int_equal(block_chain_find(bd, p, NULL), 1);
    block_close(bd);
    assert_int_equal(block_open(&bd, p, BLOCK_O_RDONLY, BLOCK_FMT_QCOW2, err, sizeof(err)), 0);
    assert_int_equal(block_pread(bd, 0, r, sizeof(r)), 0);
    assert_memory_equal(r, b, sizeof(r));
    struct block_check_result res;
    assert_int_equal(block_check(bd, false, &res, NULL), 0);
    assert_true(res.corruptions == 0 && res.leaks == 0);
    block_close(bd);
}

/* A sparse 8 MiB file at p: 1 MiB of data at 0 (with a zero page at
 * 256 KiB), a hole, 64 KiB at 5 MiB, a hole to the end. */
static void make_sparse(const char *p, uint8_t *want)
{
    memset(want, 0, 8u << 20);
    for (size_t i = 0; i < (1u << 20); i++)
        want[i] = (uint8_t)(i * 7 + 1);
    memset(want + (256u << 10), 0, 4096);
    for (size_t i = 0; i < (64u << 10); i++)
        want[(5u << 20) + i] = (uint8_t)(i ^ 0x5a);
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 8u << 20), 0);
    assert_int_equal(pwrite(fd, want, 1u << 20, 0), 1u << 20);
    assert_int_equal(pwrite(fd, want + (5u << 20), 64u << 10, 5u << 20), 64u << 10);
    close(fd);
}

struct prog { unsigned calls; uint64_t done, total; };

static void on_progress(void *opaque, uint64_t done, uint64_t total)
{
    struct prog *p = opaque;
    assert_true(done >= p->done && done <= total);
    p->calls++;
    p->done = done;
    p->total = total;
}

/* Copy src into a new file dst; check content and holes. */
static void copy_and_check(const char *src, const char *dst, const uint8_t *want)
{
    char err[256] = "";
    int in = open(src, O_RDONLY), out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(in >= 0 && out >= 0);
    struct prog pr = { 0 };
    uint64_t copied = 0;
    int rc = snapraw_copy_fd(in, out, 8u << 20, "src", "dst", on_progress, &pr, &copied,
                             err, sizeof(err));
    if (rc)
        fail_msg("copy: %s", err);
    /* Only the data ranges were copied: 1 MiB and 64 KiB (the filesystem
     * may round them to its blocks). */
    assert_true(copied >= (1u << 20) + (64u << 10) && copied < (2u << 20));
    assert_true(pr.calls >= 2 && pr.done == copied);
    struct stat st;
    assert_int_equal(fstat(out, &st), 0);
    assert_true(st.st_size == (8u << 20));
    assert_true((uint64_t)st.st_blocks * 512 < (3u << 20));   /* sparse */
    off_t d = lseek(out, 2u << 20, SEEK_DATA);
    assert_true(d >= (off_t)(4u << 20));                      /* the hole kept */
    uint8_t *got = malloc(8u << 20);
    assert_int_equal(pread(out, got, 8u << 20, 0), 8u << 20);
    assert_memory_equal(got, want, 8u << 20);
    free(got);
    close(in);
    close(out);
}

static void test_rawcopy_copy(void **state)
{
    (void)state;
    char src[128], dst[128];
    uint8_t *want = malloc(8u << 20);
    snprintf(src, sizeof(src), "%s/src.raw", dir);
    snprintf(dst, sizeof(dst), "%s/dst.raw", dir);
    make_sparse(src, want);
    copy_and_check(src, dst, want);
    /* From another filesystem (tmpfs): copy_file_range may be refused
     * there (EXDEV), and the read/write path must give the same file. */
    char shm[128];
    snprintf(shm, sizeof(shm), "/dev/shm/vessel-snapraw-%d", (int)getpid());
    int fd = open(shm, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        close(fd);
        make_sparse(shm, want);
        copy_and_check(shm, dst, want);
        unlink(shm);
    }
    free(want);
}

static void test_rawcopy_failures(void **state)
{
    (void)state;
    char src[128], dst[128], err[256] = "";
    uint8_t *want = malloc(8u << 20);
    snprintf(src, sizeof(src), "%s/src.raw", dir);
    snprintf(dst, sizeof(dst), "%s/full.raw", dir);
    make_sparse(src, want);
    free(want);
    uint64_t copied;
    /* A disk that fills up: a file size limit of 2 MiB, hit by the data
     * at 5 MiB (ftruncate to 8 MiB is refused first, as on a small
     * filesystem's quota).  The error names the file. */
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 2u << 20;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int in = open(src, O_RDONLY), out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int rc = snapraw_copy_fd(in, out, 8u << 20, "src", "the-copy", NULL, NULL, &copied,
                             err, sizeof(err));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -EFBIG);
    assert_true(strstr(err, "the-copy") != NULL);
    close(out);
    /* A source that ends before the disk's size (which a paused VM's raw
     * image never does): what is past its end reads as zeros in the copy,
     * which still has the disk's size. */
    out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(truncate(src, 3u << 20), 0);
    rc = snapraw_copy_fd(in, out, 8u << 20, "the-source", "dst", NULL, NULL, &copied, err,
                         sizeof(err));
    assert_int_equal(rc, 0);
    assert_true(copied >= (1u << 20) && copied < (3u << 20));
    struct stat st;
    assert_int_equal(fstat(out, &st), 0);
    assert_true(st.st_size == (8u << 20));
    close(out);
    close(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_corrupt_fields),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_overlay_push_pop),
        cmocka_unit_test(test_rawcopy_section),
        cmocka_unit_test(test_rawcopy_copy),
        cmocka_unit_test(test_rawcopy_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
