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
#include "vmm/snapdisk.h"
#include "vmm/vmm_int.h"

_Static_assert((int)VM_DISK_PROBE == (int)BLOCK_FMT_PROBE && (int)VM_DISK_RAW == (int)BLOCK_FMT_RAW &&
               (int)VM_DISK_QCOW2 == (int)BLOCK_FMT_QCOW2 && (int)VM_DISK_VPC == (int)BLOCK_FMT_VPC &&
               (int)VM_DISK_VDI == (int)BLOCK_FMT_VDI && (int)VM_DISK_VMDK == (int)BLOCK_FMT_VMDK &&
               (int)VM_DISK_VHDX == (int)BLOCK_FMT_VHDX,
               "vm_disk_format and block_format disagree");

void vmm_disks_close(struct vmm_disks *ds)
{
    if (!ds)
        return;
    for (unsigned i = 0; i < ds->n; i++) {
        block_close(ds->d[i].bd);
        /* A --disk-overlay file of a restore that did not happen (the VM
         * was not created, or the snapshot refused) goes again. */
        if (ds->d[i].overlay && !ds->restored)
            unlink(ds->d[i].overlay);
        free(ds->d[i].path);
        free(ds->d[i].top);
        free(ds->d[i].prev_top);
        free(ds->d[i].overlay);
    }
    free(ds->restore_dir);
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
 * is left behind whatever way the process ends.  A restored snapshot=on
 * disk puts it over the snapshot's copy of the old overlay instead
 * (`base`, in extra_dir, itself over the user's image). */
int vmm_disk_open_temp(struct vm *v, const struct vm_disk *d, const char *base_path,
                       const char *extra_dir, struct block_dev **out)
{
    char err[BLOCK_ERR_LEN], path[4096];
    struct block_dev *base;
    struct block_open_opts oo = disk_open_opts(d);
    const char *dirs[VM_MAX_BACKING_DIRS + 1];
    for (unsigned i = 0; i < d->nbacking_dirs; i++)
        dirs[i] = d->backing_dirs[i];
    if (extra_dir) {
        dirs[d->nbacking_dirs] = extra_dir;
        oo.backing_dirs = dirs;
        oo.nbacking_dirs = d->nbacking_dirs + 1;
    }
    enum block_format want = base_path == d->path ? (enum block_format)d->format
                                                  : BLOCK_FMT_QCOW2;
    int rc = block_open_with(&base, base_path, BLOCK_O_RDONLY | BLOCK_O_LOCK, want, &oo,
                             err, sizeof(err));
    if (rc)
        return vm_fail(v, rc, "--disk: %s", err);
    enum block_format fmt = block_format(base);
    char *real = realpath(base_path, NULL);
    block_close(base);
    if (!real) {
        rc = -errno;
        return vm_fail(v, rc, "--disk %s: %s", base_path, strerror(-rc));
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
    struct snapdisk_plan *plan = NULL;
    if (!ds)
        return vm_fail(v, -ENOMEM, "out of memory opening the disks");
    if (cfg->restore_dir) {
        /* The plan first: reading DIR/state names the file at fault. */
        int rc;
        if (!(plan = calloc(cfg->ndisks ? cfg->ndisks : 1, sizeof(*plan))))
            rc = vm_fail(v, -ENOMEM, "out of memory opening the disks");
        else if (!(rc = snapdisk_plan(v, cfg, plan)) &&
                 !(ds->restore_dir = realpath(cfg->restore_dir, NULL)))
            rc = vm_fail(v, -errno, "--restore %s: %s", cfg->restore_dir, strerror(errno));
        if (rc) {
            free(plan);
            vmm_disks_close(ds);
            return rc;
        }
    }
    /* vm_config_check bounded ndisks by the slots. */
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        const struct vm_disk *d = &cfg->disks[i];
        struct vmm_disk_ent *e = &ds->d[i];
        char err[BLOCK_ERR_LEN];
        struct block_dev *bd = NULL;
        int rc = 0;
        *e = (struct vmm_disk_ent){
            .path = strdup(d->path), .top = strdup(d->path), .format = d->format,
            .read_only = d->read_only, .snapshot = d->snapshot, .flags = disk_flags(d),
        };
        ds->n = i + 1;
        if (!e->path || !e->top)
            rc = vm_fail(v, -ENOMEM, "out of memory opening the disks");
        else if (plan && (plan[i].role == SNAPDISK_TEMP || plan[i].role == SNAPDISK_RAWCOPY ||
                          plan[i].overlay))
            rc = snapdisk_open(v, d, &plan[i], e, &bd);
        else if (d->snapshot) {
            rc = vmm_disk_open_temp(v, d, d->path, NULL, &bd);
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
            free(plan);
            vmm_disks_close(ds);
            return rc;
        }
        e->bd = bd;
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
    free(plan);
    *out = ds;
    return 0;
}
