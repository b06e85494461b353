/* vesseld: which disks a VM may have (docs/vm-json.md "Disks and the
 * store").  A VM's disk files are its own: a path into the store, of a
 * disk or of a directory its backing files may come from, must be inside
 * the VM's own bundle (never another VM's disk, never the store's files), a disk is an image file (not a device, directory or FIFO), and a
 * file that is a writable disk of one VM is no disk of another (two
 * writers corrupt an image; the images' locks would only catch it at
 * start).  Checked when a VM is created and again at every start, since
 * vm.json may be edited by hand. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/daemon_int.h"
#include "util/util.h"

/* A disk's file as a comparable identity: its real path, and its device
 * and inode when it exists. */
struct disk_id {
    char path[PATH_MAX];
    bool exists;
    dev_t dev;
    ino_t ino;
    mode_t mode;
};

static void disk_id(const char *bundle, const char *path, struct disk_id *id)
{
    char abs[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(abs, sizeof(abs), "%s%s%s", path[0] == '/' ? "" : bundle,
                         path[0] == '/' ? "" : "/", path) >= sizeof(abs))
        abs[0] = 0;     /* too long: no such file (vessel run refuses it) */
    id->exists = stat(abs, &st) == 0;
    if (id->exists) {
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        id->mode = st.st_mode;
    }
    if ((!id->exists || !realpath(abs, id->path)) &&
        path_lexical(NULL, abs, id->path, sizeof(id->path)))
        id->path[0] = 0;
}

static bool same(const struct disk_id *a, const struct disk_id *b)
{
    if (a->exists && b->exists)
        return a->dev == b->dev && a->ino == b->ino;
    return !strcmp(a->path, b->path);
}

static bool writable(const struct vmdef_disk *k)
{
    return !k->read_only && !k->snapshot;
}

int disk_check(const struct vesseld *d, const char *name, const char *bundle,
               const struct vmdef *def, char *err, size_t elen)
{
    char store[PATH_MAX], bdir[PATH_MAX];
    if (!realpath(d->store, store))
        snprintf(store, sizeof(store), "%s", d->store);
    if (!realpath(bundle, bdir) &&  /* not made yet at create */
        path_lexical(NULL, bundle, bdir, sizeof(bdir)))
        snprintf(bdir, sizeof(bdir), "%s", bundle);
    for (unsigned i = 0; i < def->ndisks && i < VMDEF_MAX_DISKS; i++) {
        const struct vmdef_disk *k = &def->disks[i];
        struct disk_id id;
        disk_id(bdir, k->path, &id);
        if (path_under(id.path, store) && !path_under(id.path, bdir))
            return errbuf(err, elen, -EACCES, "disks[%u].path: '%s' is in the store (%s) but "
                          "not in VM '%s''s bundle; a VM's disks in the store are its own "
                          "files, in its bundle", i, k->path, store, name);
        /* Backing files are only read, but a directory of another VM's
         * bundle would let this VM read that VM's disks. */
        for (unsigned b = 0; b < k->nbacking_dirs && b < VMDEF_MAX_BACKING_DIRS; b++) {
            struct disk_id bid;
            disk_id(bdir, k->backing_dirs[b], &bid);
            if (path_under(bid.path, store) && !path_under(bid.path, bdir))
                return errbuf(err, elen, -EACCES, "disks[%u].backing_dirs[%u]: '%s' is in "
                              "the store (%s) but not in VM '%s''s bundle; another VM's "
                              "files are not this VM's backing files", i, b,
                              k->backing_dirs[b], store, name);
        }
        if (id.exists && !S_ISREG(id.mode))
            return errbuf(err, elen, -EINVAL, "disks[%u].path: '%s' is not a regular file; "
                          "expected a disk image file", i, k->path);
        for (const struct dvm *o = d->vms; o; o = o->next) {
            if (!strcmp(o->name, name) || o->state == DVM_BROKEN)
                continue;
            for (unsigned j = 0; j < o->def.ndisks && j < VMDEF_MAX_DISKS; j++) {
                const struct vmdef_disk *ok = &o->def.disks[j];
                if (!writable(k) && !writable(ok))
                    continue;   /* readers may share */
                struct disk_id oid;
                disk_id(o->dir, ok->path, &oid);
                if (same(&id, &oid))
                    return errbuf(err, elen, -EBUSY, "disks[%u].path: '%s' is also disk %u of "
                                  "VM '%s', and a writable disk belongs to one VM; give "
                                  "each VM its own image (or an overlay on a shared "
                                  "read-only one)", i, k->path, j, o->name);
            }
        }
    }
    return 0;
}
