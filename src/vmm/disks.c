/* A VM's disks: opened once by vm_create and kept for the VM's life, so
 * that they (and the temporary overlays of snapshot disks) survive guest
 * reboots and resets; closed (flushed, unlocked) by vm_destroy. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "vmm/vmm_int.h"

struct vmm_disks {
    unsigned n;
    struct block_dev *bd[VIRT_VIRTIO_SLOTS];
    struct virt_disk vd[VIRT_VIRTIO_SLOTS];
    char serial[VIRT_VIRTIO_SLOTS][21];
};

_Static_assert((int)VM_DISK_PROBE == (int)BLOCK_FMT_PROBE && (int)VM_DISK_RAW == (int)BLOCK_FMT_RAW &&
               (int)VM_DISK_QCOW2 == (int)BLOCK_FMT_QCOW2, "vm_disk_format and block_format disagree");

void vmm_disks_close(struct vmm_disks *ds)
{
    if (!ds)
        return;
    for (unsigned i = 0; i < ds->n; i++)
        block_close(ds->bd[i]);
    free(ds);
}

const struct virt_disk *vmm_disks_board(const struct vmm_disks *ds, unsigned *n)
{
    *n = ds->n;
    return ds->vd;
}

/* block_open flags of a disk: cache=none is O_DIRECT on the image and its
 * backing chain; with snapshot, on the image under the overlay (the
 * overlay is a throwaway file in $TMPDIR, often a tmpfs). */
static unsigned disk_flags(const struct vm_disk *d)
{
    bool direct = d->cache == VM_CACHE_NONE;
    return BLOCK_O_LOCK | (d->read_only ? BLOCK_O_RDONLY : 0) |
           (direct ? (d->snapshot ? BLOCK_O_BACKING_DIRECT : BLOCK_O_DIRECT) : 0);
}

/* Where the backing files of a disk may come from: its directory and its
 * backing directories (block.h struct block_open_opts).  home: the image
 * the user named (the snapshot overlay is not). */
static struct block_open_opts disk_open_opts(const struct vm_disk *d)
{
    return (struct block_open_opts){
        .backing_dirs = d->backing_dirs, .nbacking_dirs = d->nbacking_dirs,
        .home_image = d->path, .allow_hint = "--disk FILE,backing-dir=DIR",
    };
}

/* snapshot: a temporary qcow2 overlay over the image (opened read-only
 * through the overlay's backing chain), unlinked at once so that nothing
 * is left behind whatever way the process ends. */
static int open_snapshot(struct vm *v, const struct vm_disk *d, struct block_dev **out)
{
    char err[BLOCK_ERR_LEN], path[4096];
    struct block_dev *base;
    struct block_open_opts oo = disk_open_opts(d);
    int rc = block_open_with(&base, d->path, BLOCK_O_RDONLY | BLOCK_O_LOCK,
                             (enum block_format)d->format, &oo, err, sizeof(err));
    if (rc)
        return vm_fail(v, rc, "--disk: %s", err);
    enum block_format fmt = block_format(base);
    char *real = realpath(d->path, NULL);
    block_close(base);
    if (!real) {
        rc = -errno;
        return vm_fail(v, rc, "--disk %s: %s", d->path, strerror(-rc));
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/vessel-snapshot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        rc = -errno;
        vm_fail(v, rc, "--disk %s,snapshot=on: cannot create a temporary overlay in %s: %s "
                "(set TMPDIR to a writable directory)", d->path,
                tmp && *tmp ? tmp : "/tmp", strerror(-rc));
        free(real);
        return rc;
    }
    close(fd);
    struct block_create_opts o = {
        .format = BLOCK_FMT_QCOW2, .backing_file = real,
        .backing_format = block_format_name(fmt),
    };
    rc = block_create(path, &o, err, sizeof(err));
    if (!rc)
        rc = block_open_with(out, path, disk_flags(d), BLOCK_FMT_QCOW2, &oo, err,
                             sizeof(err));
    unlink(path);
    free(real);
    if (rc)
        vm_fail(v, rc, "--disk %s,snapshot=on: %s", d->path, err);
    return rc;
}

int vmm_disks_open(struct vm *v, const struct vm_config *cfg, struct vmm_disks **out)
{
    struct vmm_disks *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return vm_fail(v, -ENOMEM, "out of memory opening the disks");
    /* vm_config_check bounded ndisks by the slots. */
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        const struct vm_disk *d = &cfg->disks[i];
        char err[BLOCK_ERR_LEN];
        struct block_dev *bd = NULL;
        int rc;
        if (d->snapshot) {
            rc = open_snapshot(v, d, &bd);
        } else {
            struct block_open_opts oo = disk_open_opts(d);
            rc = block_open_with(&bd, d->path, disk_flags(d), (enum block_format)d->format,
                                 &oo, err, sizeof(err));
            if (rc)
                vm_fail(v, rc, "--disk: %s", err);
            else if (!d->read_only && block_probed_raw(bd))
                vm_log(v, VM_LOG_WARN, "--disk %s: the format was probed as raw; writes that "
                       "would put an image header into its first sector are refused; give "
                       "format=raw (--disk %s,format=raw) to lift this and to stop probing",
                       d->path, d->path);
        }
        if (rc) {
            vmm_disks_close(ds);
            return rc;
        }
        ds->bd[i] = bd;
        ds->n = i + 1;
        /* GET_ID: the file name, last 20 bytes (the distinctive part). */
        const char *base = strrchr(d->path, '/');
        base = base ? base + 1 : d->path;
        size_t bl = strlen(base);
        snprintf(ds->serial[i], sizeof(ds->serial[i]), "%s", bl > 20 ? base + bl - 20 : base);
        ds->vd[i] = (struct virt_disk){
            .bd = bd, .read_only = d->read_only,
            .flush_noop = d->cache == VM_CACHE_UNSAFE, .serial = ds->serial[i],
        };
    }
    *out = ds;
    return 0;
}
