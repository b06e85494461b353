/* vesseld: the ids each jailed VM process drops to (docs/sandbox.md "The
 * jail").  As root, every VM runs as a uid and gid of its own, from a
 * range no account uses (--jail-ids BASE: BASE .. BASE + 65535), so that
 * one VM's process cannot signal, trace or read another's even where the
 * seccomp filter would let it; the lowest id no running VM holds is
 * taken at each start.  The bundle is the one directory the process can
 * still write: it becomes root:GID, mode 01770 (the sticky bit: the VM
 * may create files there, its snapshots' overlays and its console log,
 * but never rename or remove the daemon's own, vm.json among them). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "util/util.h"

uid_t jail_pick(const struct vesseld *d)
{
    for (uint32_t i = 0; i < JAIL_IDS; i++) {
        uid_t id = d->jail_base + i;
        bool used = false;
        for (const struct dvm *v = d->vms; v && !used; v = v->next)
            used = v->pid && v->jail_uid == id;
        if (!used)
            return id;
    }
    return 0;
}

int jail_bundle(const struct dvm *vm, uid_t id, char *err, size_t elen)
{
    if (chown(vm->dir, 0, id) || chmod(vm->dir, 01770))
        return errbuf(err, elen, -errno, "%s: give the bundle to the VM's gid %u: %s",
                      vm->dir, (unsigned)id, strerror(errno));
    return 0;
}

uid_t jail_uid_of(const struct vesseld *d, pid_t pid)
{
    unsigned uid;
    if (proc_status_u32(pid, "Uid", &uid))
        return 0;
    return uid >= d->jail_base && uid - d->jail_base < JAIL_IDS ? (uid_t)uid : 0;
}
