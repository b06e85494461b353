/* Unit tests for the image locks (src/block/lock.c): QEMU's lock bytes,
 * the conflicts between writers and readers (two opens in one process
 * behave as two processes: OFD locks belong to the open file), the
 * message naming the permission, a FIFO never waited on, and file
 * identity through symlinks, hard links and backing chains. */
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

static int setup(void **st)
{
    (void)st;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/vessel-lock-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    struct block_create_opts o = { .format = BLOCK_FMT_QCOW2, .size = 1 << 20 };
    char err[BLOCK_ERR_LEN];
    if (block_create(tpath("a.qcow2"), &o, err, sizeof(err)) < 0)
        return -1;
    o.backing_file = "a.qcow2";
    o.backing_format = "qcow2";
    return block_create(tpath("b.qcow2"), &o, err, sizeof(err)) < 0 ? -1 : 0;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Whether another open file description holds a lock on `byte`. */
static bool byte_locked(const char *path, off_t byte)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
                        .l_start = byte, .l_len = 1 };
    assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
    close(fd);
    return fl.l_type != F_UNLCK;
}

static void test_lock_bytes(void **st)
{
    (void)st;
    const char *a = tpath("a.qcow2");
    struct block_dev *bd;
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&bd, a, BLOCK_O_LOCK, BLOCK_FMT_PROBE, err,
                                sizeof(err)), 0);
    /* a writer: uses consistent read, write, resize; shares neither
     * write nor resize; nothing else */
    static const int held[] = { 100, 101, 103, 201, 203 };
    static const int free_[] = { 99, 102, 104, 105, 200, 202, 204, 205 };
    for (unsigned i = 0; i < sizeof(held) / sizeof(held[0]); i++)
        assert_true(byte_locked(a, held[i]));
    for (unsigned i = 0; i < sizeof(free_) / sizeof(free_[0]); i++)
        assert_false(byte_locked(a, free_[i]));
    block_close(bd);
    for (unsigned i = 0; i < sizeof(held) / sizeof(held[0]); i++)
        assert_false(byte_locked(a, held[i]));

    assert_int_equal(block_open(&bd, a, BLOCK_O_LOCK | BLOCK_O_RDONLY,
                                BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    assert_true(byte_locked(a, 100));
    assert_false(byte_locked(a, 101));
    assert_false(byte_locked(a, 103));
    assert_true(byte_locked(a, 201));
    assert_true(byte_locked(a, 203));
    assert_false(byte_locked(a, 200));
    block_close(bd);
}

static void test_conflicts(void **st)
{
    (void)st;
    const char *a = tpath("a.qcow2");
    struct block_dev *w, *r1, *r2, *x;
    char err[BLOCK_ERR_LEN];
    unsigned ro = BLOCK_O_LOCK | BLOCK_O_RDONLY;
    /* readers share */
    assert_int_equal(block_open(&r1, a, ro, BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    assert_int_equal(block_open(&r2, a, ro, BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    /* a writer is refused while they read, and leaves no byte behind */
    assert_int_equal(block_open(&x, a, BLOCK_O_LOCK, BLOCK_FMT_PROBE, err,
                                sizeof(err)), -EBUSY);
    assert_non_null(strstr(err, "does not share \"write\" permission (QEMU "
                               "lock byte 201)"));
    assert_non_null(strstr(err, "this process"));
    assert_false(byte_locked(a, 101));
    block_close(r1);
    block_close(r2);
    /* a reader is refused while it writes */
    assert_int_equal(block_open(&w, a, BLOCK_O_LOCK, BLOCK_FMT_PROBE, err,
                                sizeof(err)), 0);
    assert_int_equal(block_open(&x, a, ro, BLOCK_FMT_PROBE, err, sizeof(err)),
                     -EBUSY);
    assert_non_null(strstr(err, "holds \"write\" permission (QEMU lock byte "
                               "101); shared read access refused"));
    /* and so is a second writer; opening without BLOCK_O_LOCK is not */
    assert_int_equal(block_open(&x, a, BLOCK_O_LOCK, BLOCK_FMT_PROBE, err,
                                sizeof(err)), -EBUSY);
    assert_int_equal(block_open(&x, a, BLOCK_O_RDONLY, BLOCK_FMT_PROBE, err,
                                sizeof(err)), 0);
    block_close(x);
    /* block_lock_file takes the same locks without opening an image */
    int fd;
    assert_int_equal(block_lock_file(a, true, &fd, err, sizeof(err)), -EBUSY);
    assert_int_equal(fd, -1);
    block_close(w);
    assert_int_equal(block_lock_file(a, true, &fd, err, sizeof(err)), 0);
    assert_int_equal(block_open(&x, a, ro, BLOCK_FMT_PROBE, err, sizeof(err)),
                     -EBUSY);
    block_unlock_file(fd);
    assert_false(byte_locked(a, 101));
}

/* A whole-file write lock (older Vessel, or another tool) is a conflict. */
static void test_exclusive_lock(void **st)
{
    (void)st;
    const char *a = tpath("a.qcow2");
    int fd = open(a, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
    struct block_dev *x;
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&x, a, BLOCK_O_LOCK | BLOCK_O_RDONLY,
                                BLOCK_FMT_PROBE, err, sizeof(err)), -EBUSY);
    assert_non_null(strstr(err, "exclusive lock"));
    close(fd);
    assert_int_equal(block_open(&x, a, BLOCK_O_LOCK | BLOCK_O_RDONLY,
                                BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    block_close(x);
}

/* The backing chain is locked as a reader: the base can be read by
 * another open but not written. */
static void test_chain_locks(void **st)
{
    (void)st;
    struct block_dev *b, *x;
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&b, tpath("b.qcow2"), BLOCK_O_LOCK,
                                BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    assert_int_equal(block_open(&x, tpath("a.qcow2"), BLOCK_O_LOCK,
                                BLOCK_FMT_PROBE, err, sizeof(err)), -EBUSY);
    assert_int_equal(block_open(&x, tpath("a.qcow2"),
                                BLOCK_O_LOCK | BLOCK_O_RDONLY,
                                BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    block_close(x);
    block_close(b);
}

static void test_fifo(void **st)
{
    (void)st;
    const char *f = tpath("fifo");
    assert_int_equal(mkfifo(f, 0600), 0);
    int fd;
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_lock_file(f, true, &fd, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(block_lock_file(tpath("none"), true, &fd, err,
                                     sizeof(err)), -ENOENT);
    unlink(f);
}

static void test_chain_find(void **st)
{
    (void)st;
    struct block_dev *b;
    char err[BLOCK_ERR_LEN];
    assert_int_equal(symlink("a.qcow2", tpath("sym.qcow2")), 0);
    assert_int_equal(link(tpath("a.qcow2"), tpath("hard.qcow2")), 0);
    assert_int_equal(block_open(&b, tpath("b.qcow2"), BLOCK_O_RDONLY,
                                BLOCK_FMT_PROBE, err, sizeof(err)), 0);
    const char *m = NULL;
    assert_int_equal(block_chain_find(b, tpath("b.qcow2"), &m), 1);
    assert_int_equal(block_chain_find(b, tpath("a.qcow2"), &m), 2);
    assert_non_null(strstr(m, "a.qcow2"));
    assert_int_equal(block_chain_find(b, tpath("sym.qcow2"), NULL), 2);
    assert_int_equal(block_chain_find(b, tpath("hard.qcow2"), NULL), 2);
    assert_int_equal(block_chain_find(b, tpath("none.qcow2"), NULL), 0);
    assert_int_equal(block_chain_find(b, "/", NULL), 0);
    block_close(b);
    unlink(tpath("sym.qcow2"));
    unlink(tpath("hard.qcow2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_bytes),
        cmocka_unit_test(test_conflicts),
        cmocka_unit_test(test_exclusive_lock),
        cmocka_unit_test(test_chain_locks),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_chain_find),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
