/* daemon: the store, STORE/vms/NAME/ bundles (daemon_int.h).
 *
 * A bundle is a directory named as its VM holding vm.json.  Creation and
 * deletion go through hidden directories (".NAME.new-PID", ".NAME.del-PID";
 * names never start with a dot) renamed in one step, so a crash leaves a
 * bundle whole or absent, and the leftovers are swept at the next start. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "util/util.h"

const char *dvm_state_name(enum dvm_state s)
{
    static const char *const names[] = {
        [DVM_STOPPED] = "stopped", [DVM_STARTING] = "starting", [DVM_RUNNING] = "running",
        [DVM_PAUSED] = "paused", [DVM_STOPPING] = "stopping", [DVM_CRASHED] = "crashed",
        [DVM_BROKEN] = "broken",
    };
    return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "broken";
}

void store_uuid(char out[37])
{
    uint8_t u[16];
    size_t got = 0;
    while (got < sizeof(u)) {
        ssize_t n = getrandom(u + got, sizeof(u) - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            break;
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);     /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);     /* variant 10 */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
             u[12], u[13], u[14], u[15]);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) ? -errno : 0;
    close(fd);
    return rc;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, mode) && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) && errno != EEXIST)
        return -errno;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path) ? -1 : 0;
}

/* Remove a directory tree (no symlink followed). */
static int rm_tree(const char *path)
{
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}

static void dvm_free(struct dvm *vm)
{
    if (!vm)
        return;
    if (vm->pidfd >= 0)
        close(vm->pidfd);
    vmdef_free(&vm->def);
    free(vm->dir);
    free(vm);
}

static struct dvm *dvm_new(struct vesseld *d, const char *name)
{
    struct dvm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    snprintf(vm->name, sizeof(vm->name), "%s", name);
    vm->pidfd = -1;
    if (asprintf(&vm->dir, "%s/vms/%s", d->store, name) < 0) {
        free(vm);
        return NULL;
    }
    return vm;
}

/* Insert keeping the list sorted by name (GET /vms lists in that order). */
static void insert(struct vesseld *d, struct dvm *vm)
{
    struct dvm **p = &d->vms;
    while (*p && strcmp((*p)->name, vm->name) < 0)
        p = &(*p)->next;
    vm->next = *p;
    *p = vm;
}

struct dvm *store_find(struct vesseld *d, const char *name)
{
    for (struct dvm *vm = d->vms; vm; vm = vm->next)
        if (!strcmp(vm->name, name))
            return vm;
    return NULL;
}

/* Load one bundle; a bundle that does not load is kept as broken. */
static int load_one(struct vesseld *d, const char *name)
{
    struct dvm *vm = dvm_new(d, name);
    if (!vm)
        return -ENOMEM;
    int rc = vmdef_load(vm->dir, &vm->def, vm->error, sizeof(vm->error));
    if (rc == -ENOMEM) {
        dvm_free(vm);
        return rc;
    }
    if (!rc && strcmp(vm->def.name, name)) {
        snprintf(vm->error, sizeof(vm->error), "%s/vm.json: name: '%s' differs from the "
                 "bundle's directory name '%s'; they must be the same", vm->dir,
                 vm->def.name, name);
        vmdef_free(&vm->def);
        rc = -EINVAL;
    }
    vm->state = rc ? DVM_BROKEN : DVM_STOPPED;
    insert(d, vm);
    return 0;
}

int store_open(struct vesseld *d, char *err, size_t elen)
{
    char path[4096];
    int rc;
    snprintf(path, sizeof(path), "%s/vms", d->store);
    if ((rc = mkdir_p(path, 0700)))
        return errbuf(err, elen, rc, "store %s: cannot create %s: %s", d->store, path,
                      strerror(-rc));
    snprintf(path, sizeof(path), "%s/orphans", d->store);
    if ((rc = mkdir_p(path, 0700)))
        return errbuf(err, elen, rc, "store %s: cannot create %s: %s", d->store, path,
                      strerror(-rc));
    /* Two daemons on one store would both start and restart its VMs.  The
     * lock goes with the daemon's open file (O_CLOEXEC: VMs do not keep it). */
    snprintf(path, sizeof(path), "%s/vesseld.lock", d->store);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (d->lock_fd < 0)
        return errbuf(err, elen, -errno, "store %s: %s: %s", d->store, path, strerror(errno));
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB))
        return errbuf(err, elen, -EBUSY, "store %s: another vesseld uses this store "
                      "(%s is locked); stop it first or give another --store", d->store, path);
    snprintf(path, sizeof(path), "%s/vms", d->store);
    DIR *dir = opendir(path);
    if (!dir)
        return errbuf(err, elen, -errno, "store %s: %s", path, strerror(errno));
    struct dirent *e;
    rc = 0;
    while (!rc && (e = readdir(dir))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[4096];
        if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= (int)sizeof(sub))
            continue;
        struct stat st;
        if (lstat(sub, &st) || !S_ISDIR(st.st_mode))
            continue;   /* not a bundle: left alone */
        if (e->d_name[0] == '.') {
            /* An interrupted create or delete. */
            if (strstr(e->d_name, ".new-") || strstr(e->d_name, ".del-"))
                rm_tree(sub);
            continue;
        }
        if (!vmdef_name_ok(e->d_name))
            continue;   /* not a VM name: not ours */
        rc = load_one(d, e->d_name);
    }
    closedir(dir);
    if (rc)
        return errbuf(err, elen, rc, "store %s: out of memory", d->store);
    return 0;
}

int store_save(struct vesseld *d, struct dvm *vm, char *err, size_t elen)
{
    (void)d;
    return vmdef_save(vm->dir, &vm->def, err, elen);
}

int store_create(struct vesseld *d, json_t *doc, struct dvm **out, char *err, size_t elen)
{
    char uuid[37], tmp[4096];
    *out = NULL;
    json_t *copy = json_deep_copy(doc);
    if (!copy)
        return errbuf(err, elen, -ENOMEM, "out of memory");
    if (!json_object_get(copy, "version"))
        json_object_set_new(copy, "version", json_integer(VMDEF_VERSION));
    if (!json_object_get(copy, "uuid")) {
        store_uuid(uuid);
        json_object_set_new(copy, "uuid", json_string(uuid));
    }
    char *text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    if (!text)
        return errbuf(err, elen, -ENOMEM, "out of memory");
    struct vmdef def;
    int rc = vmdef_parse("request body", text, strlen(text), &def, err, elen);
    free(text);
    if (rc)
        return rc;
    pthread_mutex_lock(&d->lock);
    struct dvm *vm = NULL;
    if (store_find(d, def.name)) {
        rc = errbuf(err, elen, -EEXIST, "name: a VM named '%s' exists; choose another "
                    "name", def.name);
        goto out;
    }
    if (!(vm = dvm_new(d, def.name))) {
        rc = errbuf(err, elen, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = disk_check(d, def.name, vm->dir, &def, err, elen)))
        goto out;
    snprintf(tmp, sizeof(tmp), "%s/vms/.%s.new-%d", d->store, def.name, (int)getpid());
    rm_tree(tmp);
    char run[4200];
    snprintf(run, sizeof(run), "%s/run", tmp);
    if (mkdir(tmp, 0700) || mkdir(run, 0700)) {
        rc = errbuf(err, elen, -errno, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    if ((rc = vmdef_save(tmp, &def, err, elen)))
        goto fail;
    if (rename(tmp, vm->dir)) {
        rc = errbuf(err, elen, -errno, "%s: %s", vm->dir, strerror(errno));
        goto fail;
    }
    snprintf(tmp, sizeof(tmp), "%s/vms", d->store);
    fsync_dir(tmp);
    vm->def = def;
    memset(&def, 0, sizeof(def));
    vm->state = DVM_STOPPED;
    insert(d, vm);
    *out = vm;
    vm = NULL;
    rc = 0;
    goto out;
fail:
    rm_tree(tmp);
out:
    pthread_mutex_unlock(&d->lock);
    dvm_free(vm);
    vmdef_free(&def);
    return rc;
}

/* Move the disk images that live inside the bundle to STORE/orphans/NAME/
 * (absolute paths elsewhere are not the bundle's to move). */
static int keep_disks(struct vesseld *d, struct dvm *vm, char *err, size_t elen)
{
    char dst[4096], src[4096];
    snprintf(dst, sizeof(dst), "%s/orphans/%s", d->store, vm->name);
    int rc = mkdir_p(dst, 0700);
    if (rc)
        return errbuf(err, elen, rc, "%s: %s", dst, strerror(-rc));
    for (unsigned i = 0; i < vm->def.ndisks; i++) {
        const char *p = vm->def.disks[i].path;
        if (p[0] == '/' || strstr(p, ".."))
            continue;
        snprintf(src, sizeof(src), "%s/%s", vm->dir, p);
        const char *base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
        snprintf(dst, sizeof(dst), "%s/orphans/%s/%s", d->store, vm->name, base);
        if (access(src, F_OK))
            continue;   /* never created: nothing to keep */
        if (!access(dst, F_OK))
            return errbuf(err, elen, -EEXIST, "keep_disks: %s exists; move it away "
                          "first", dst);
        if (rename(src, dst))
            return errbuf(err, elen, -errno, "keep_disks: %s -> %s: %s", src, dst,
                          strerror(errno));
    }
    snprintf(dst, sizeof(dst), "%s/orphans/%s", d->store, vm->name);
    fsync_dir(dst);
    return 0;
}

int store_delete(struct vesseld *d, struct dvm *vm, bool keep, char *err, size_t elen)
{
    char tmp[4096];
    int rc;
    if (keep && vm->state == DVM_BROKEN) {
        /* Which files are its disks is unknown: the whole bundle is kept. */
        snprintf(tmp, sizeof(tmp), "%s/orphans/%s", d->store, vm->name);
        if (!access(tmp, F_OK))
            return errbuf(err, elen, -EEXIST, "keep_disks: %s exists; move it away first",
                          tmp);
    } else {
        if (keep && (rc = keep_disks(d, vm, err, elen)))
            return rc;
        snprintf(tmp, sizeof(tmp), "%s/vms/.%s.del-%d", d->store, vm->name, (int)getpid());
        rm_tree(tmp);
    }
    if (rename(vm->dir, tmp))
        return errbuf(err, elen, -errno, "%s: %s", vm->dir, strerror(errno));
    char vms[4096];
    snprintf(vms, sizeof(vms), "%s/vms", d->store);
    fsync_dir(vms);
    if (keep && vm->state == DVM_BROKEN) {
        snprintf(vms, sizeof(vms), "%s/orphans", d->store);
        fsync_dir(vms);
    } else {
        rm_tree(tmp);
    }
    for (struct dvm **p = &d->vms; *p; p = &(*p)->next) {
        if (*p == vm) {
            *p = vm->next;
            break;
        }
    }
    dvm_free(vm);
    return 0;
}

void store_close(struct vesseld *d)
{
    if (d->lock_fd > 0)
        close(d->lock_fd);
    d->lock_fd = -1;
    while (d->vms) {
        struct dvm *vm = d->vms;
        d->vms = vm->next;
        dvm_free(vm);
    }
}
