/* Writable raw disks in memory snapshots, "disks":"external"
 * (src/vmm/snapraw.c, docs/snapshot.md "Disks"), end to end in one
 * process with a bare-metal guest that does not touch its disk, so the
 * test writes the disk's content itself:
 *  - without the flag the snapshot is refused naming "disks":"external",
 *    nothing written;
 *  - with it the copy DIR/disk0.raw holds the disk's content, sparse;
 *  - a full disk during the copy (a file size limit) fails the snapshot
 *    naming the copy, leaves nothing, and the VM goes on;
 *  - two restores at once, one on a temporary overlay and one with a
 *    --disk-overlay file, read the snapshot's content after the original
 *    was overwritten, and their writes reach neither the copy nor the
 *    original;
 *  - a restore on a temporary overlay refuses a second snapshot; one on
 *    a --disk-overlay file takes it (the overlay is frozen);
 *  - a copy touched, truncated, replaced by a symlink or missing, and a
 *    restore with other disk options, are refused naming the file, with
 *    no overlay created. */
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
#include "vmm/snapdisk.h"
#include "vmm/vmm.h"
#include "vmm/vmm_int.h"    /* the disks, to read what the guest would */

#define DISK_SIZE (8u << 20)

static char guest_dir[2048], elf[4096], dir[64];

static void path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + i * 13);
}

/* The raw disk: 64 KiB of data at 0 and at 6 MiB, holes elsewhere. */
static void write_disk(const char *p, uint8_t seed)
{
    uint8_t b[65536];
    fill(b, sizeof(b), seed);
    int fd = open(p, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, DISK_SIZE), 0);
    assert_int_equal(pwrite(fd, b, sizeof(b), 0), sizeof(b));
    assert_int_equal(pwrite(fd, b, sizeof(b), 6u << 20), sizeof(b));
    close(fd);
}

static void config(struct vm_config *cfg, struct vm_disk *d, const char *raw)
{
    vm_config_init(cfg);
    cfg->bios = elf;
    cfg->ram_size = 16ULL << 20;
    *d = (struct vm_disk){ .path = raw, .format = VM_DISK_RAW };
    cfg->disks = d;
    cfg->ndisks = 1;
}

/* Disk 0 of v reads the content write_disk(seed) gave. */
static void expect_content(struct vm *v, uint8_t seed)
{
    uint8_t want[65536], got[65536];
    fill(want, sizeof(want), seed);
    struct block_dev *bd = v->disks->d[0].bd;
    assert_true(block_length(bd) == DISK_SIZE);
    assert_int_equal(block_pread(bd, 0, got, sizeof(got)), 0);
    assert_memory_equal(got, want, sizeof(got));
    assert_int_equal(block_pread(bd, 6u << 20, got, sizeof(got)), 0);
    assert_memory_equal(got, want, sizeof(got));
}

static bool exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static int restore(const char *snap, const char *raw, const char *overlay, bool ro,
                   struct vm **out, char *err, size_t elen)
{
    struct vm_config cfg;
    struct vm_disk d;
    config(&cfg, &d, raw);
    d.read_only = ro;
    cfg.restore_dir = snap;
    cfg.disk_overlays = &overlay;
    cfg.ndisk_overlays = overlay ? 1 : 0;
    int rc = vm_create(&cfg, out, err, elen);
    if (!rc && (rc = vm_restore(*out, snap, err, elen)) == 0)
        rc = vm_start_paused(*out);
    return rc;
}

static void test_raw_external(void **state)
{
    (void)state;
    char raw[128], snap[128], snap2[128], full[128], copy[128], ovl[128], err[1024];
    path(raw, sizeof(raw), "disk.raw");
    path(snap, sizeof(snap), "snap");
    path(snap2, sizeof(snap2), "snap2");
    path(full, sizeof(full), "full");
    path(copy, sizeof(copy), "snap/disk0.raw");
    path(ovl, sizeof(ovl), "b.qcow2");
    write_disk(raw, 1);
    struct vm_config cfg;
    struct vm_disk d;
    struct vm *a, *r1, *r2;
    int fd;
    config(&cfg, &d, raw);
    assert_int_equal(vm_create(&cfg, &a, err, sizeof(err)), 0);
    assert_int_equal(vm_start_paused(a), 0);

    /* Without the flag: refused, pointing at it; nothing written. */
    assert_int_equal(vm_snapshot(a, snap, 0, err, sizeof(err)), -ENOTSUP);
    assert_non_null(strstr(err, "\"disks\":\"external\""));
    assert_false(exists(snap));

    /* A full disk during the copy: a file size limit of 24 MiB lets the
     * memory file (16 MiB, sparse) be written but not a 32 MiB disk's
     * copy.  Nothing is left, the VM is as it was. */
    char big[128];
    path(big, sizeof(big), "big.raw");
    fd = open(big, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 32u << 20), 0);
    assert_int_equal(pwrite(fd, "data", 4, 30u << 20), 4);
    close(fd);
    struct vm_config bcfg;
    struct vm_disk bd;
    struct vm *b;
    config(&bcfg, &bd, big);
    assert_int_equal(vm_create(&bcfg, &b, err, sizeof(err)), 0);
    assert_int_equal(vm_start_paused(b), 0);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 24u << 20;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = vm_snapshot(b, full, VM_SNAP_DISKS_EXTERNAL, err, sizeof(err));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -EFBIG);
    assert_non_null(strstr(err, "disk0.raw"));
    assert_false(exists(full));
    assert_int_equal(vm_state(b), VM_STATE_PAUSED);
    assert_int_equal(vm_resume(b), 0);
    assert_int_equal(vm_stop(b), 0);
    vm_destroy(b);

    /* With it: the copy holds the content, sparse. */
    if (vm_snapshot(a, snap, VM_SNAP_DISKS_EXTERNAL, err, sizeof(err)))
        fail_msg("snapshot: %s", err);
    struct stat st;
    assert_int_equal(stat(copy, &st), 0);
    assert_true(st.st_size == DISK_SIZE);
    assert_true((uint64_t)st.st_blocks * 512 < (1u << 20));
    char top[4096];
    bool ro;
    assert_string_equal(snapdisk_top(a, 0, top, sizeof(top), &ro), raw);  /* not frozen */
    assert_int_equal(vm_resume(a), 0);
    assert_int_equal(vm_stop(a), 0);
    vm_destroy(a);
    write_disk(raw, 2);                 /* the first VM's later writes */
    uint8_t keep_orig[65536];
    fill(keep_orig, sizeof(keep_orig), 2);

    /* Two restores at once: a temporary overlay, and a --disk-overlay. */
    if (restore(snap, raw, NULL, false, &r1, err, sizeof(err)))
        fail_msg("restore 1: %s", err);
    if (restore(snap, raw, ovl, false, &r2, err, sizeof(err)))
        fail_msg("restore 2: %s", err);
    expect_content(r1, 1);
    expect_content(r2, 1);
    uint8_t w1[4096], w2[4096];
    memset(w1, 0xa1, sizeof(w1));
    memset(w2, 0xb2, sizeof(w2));
    assert_int_equal(block_pwrite(r1->disks->d[0].bd, 0, w1, sizeof(w1)), 0);
    assert_int_equal(block_pwrite(r2->disks->d[0].bd, 0, w2, sizeof(w2)), 0);
    uint8_t got[4096];
    assert_int_equal(block_pread(r1->disks->d[0].bd, 0, got, sizeof(got)), 0);
    assert_memory_equal(got, w1, sizeof(got));
    assert_int_equal(block_pread(r2->disks->d[0].bd, 0, got, sizeof(got)), 0);
    assert_memory_equal(got, w2, sizeof(got));
    assert_string_equal(snapdisk_top(r2, 0, top, sizeof(top), &ro), ovl);

    /* A temporary overlay cannot be frozen; a kept one can. */
    assert_int_equal(vm_snapshot(r1, snap2, VM_SNAP_DISKS_EXTERNAL, err, sizeof(err)),
                     -ENOTSUP);
    assert_non_null(strstr(err, "--disk-overlay"));
    assert_false(exists(snap2));
    if (vm_snapshot(r2, snap2, 0, err, sizeof(err)))
        fail_msg("snapshot of the --disk-overlay restore: %s", err);
    assert_string_not_equal(snapdisk_top(r2, 0, top, sizeof(top), &ro), ovl);
    vm_destroy(r1);
    vm_destroy(r2);

    /* Neither restore wrote the copy or the original. */
    fd = open(copy, O_RDONLY);
    uint8_t want[4096];
    fill(want, sizeof(want), 1);
    assert_int_equal(pread(fd, got, sizeof(got), 0), sizeof(got));
    assert_memory_equal(got, want, sizeof(got));
    close(fd);
    fd = open(raw, O_RDONLY);
    assert_int_equal(pread(fd, got, sizeof(got), 0), sizeof(got));
    assert_memory_equal(got, keep_orig, sizeof(got));
    close(fd);
}

/* Every bad copy or option: refused naming the file, nothing created. */
static void test_raw_restore_refused(void **state)
{
    (void)state;
    char raw[128], snap[128], copy[128], keep[128], ovl[128], err[1024], cmd[512];
    path(raw, sizeof(raw), "disk.raw");
    path(snap, sizeof(snap), "snap");
    path(copy, sizeof(copy), "snap/disk0.raw");
    path(keep, sizeof(keep), "keep.raw");
    path(ovl, sizeof(ovl), "never.qcow2");
    struct vm *v = NULL;
    snprintf(cmd, sizeof(cmd), "cp -a %s %s", copy, keep);
    assert_int_equal(system(cmd), 0);
    struct { const char *what, *setup, *want; bool ro; } cases[] = {
        { "readonly", NULL, "give the same options", true },
        { "touched", "touch -d 2001-01-01 %s", "modification time", false },
        { "truncated", "truncate -s 4M %s", "its size", false },
        { "changed", "printf x | dd of=%s conv=notrunc 2>/dev/null", "first 64 KiB", false },
        { "symlink", "rm %s && ln -s /etc/hostname %s", "not a regular file", false },
        { "missing", "rm %s", "No such file", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(cmd, sizeof(cmd), "rm -f %s && cp -a %s %s", copy, keep, copy);
        assert_int_equal(system(cmd), 0);
        if (cases[i].setup) {
            snprintf(cmd, sizeof(cmd), cases[i].setup, copy, copy);
            assert_int_equal(system(cmd), 0);
        }
        err[0] = 0;
        int rc = restore(snap, raw, ovl, cases[i].ro, &v, err, sizeof(err));
        if (rc == 0)
            fail_msg("%s: restored", cases[i].what);
        if (!strstr(err, cases[i].want) ||
            (!cases[i].ro && !strstr(err, "disk0.raw")))
            fail_msg("%s: message '%s'", cases[i].what, err);
        assert_false(exists(ovl));
        vm_destroy(v);
        v = NULL;
    }
    snprintf(cmd, sizeof(cmd), "rm -f %s && cp -a %s %s", copy, keep, copy);
    assert_int_equal(system(cmd), 0);
    if (restore(snap, raw, ovl, false, &v, err, sizeof(err)))
        fail_msg("the intact copy: %s", err);
    vm_destroy(v);
}

static int setup(void **state)
{
    (void)state;
    const char *g = getenv("BUILD_GUEST");
    snprintf(guest_dir, sizeof(guest_dir), "%s", g && *g ? g : "build/guest");
    snprintf(elf, sizeof(elf), "%s/cli/console_spam.elf", guest_dir);
    char *real = realpath(elf, NULL);
    if (!real)
        return -1;
    snprintf(elf, sizeof(elf), "%s", real);
    free(real);
    snprintf(dir, sizeof(dir), "/tmp/vessel-snapraw-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_external),
        cmocka_unit_test(test_raw_restore_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
