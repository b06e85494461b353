/* vmm: the VM process's jail (docs/sandbox.md "The jail").
 *
 * When the daemon runs as root it gives each VM process less than the
 * seccomp filter alone does: a mount namespace in which the host's files
 * are gone but for the VM's bundle directory (and, read-only, the boot
 * images the board reloads at a reset and the resolver configuration user
 * networking reads), and an unprivileged uid and gid of its own with no
 * supplementary groups and no capabilities.  Firecracker's jailer is the
 * model; unlike it, the jail is entered by the VM process itself, after
 * it opened its disks, bound its sockets and mapped its memory as root,
 * so nothing has to be copied or chowned into the jail but the few files
 * the VM writes later (its console log).
 *
 * Two steps, because a mount namespace belongs to a thread until others
 * share it: vm_jail_prepare (the new namespace) while the process has
 * one thread, so that every thread made afterwards lives in it; and
 * vm_jail_enter (the new root, the uid) once set-up is done, before the
 * seccomp filter (sandbox.h) and before the guest runs.  Process-wide,
 * like the filter: it seals every VM the process runs. */
#ifndef VESSEL_VMM_JAIL_H
#define VESSEL_VMM_JAIL_H

#include <stddef.h>
#include <sys/types.h>

#define VM_JAIL_MAX_FILES 8

struct vm_jail {
    const char *dir;            /* the only writable directory left visible,
                                   at its own absolute path: the bundle */
    uid_t uid;                  /* the ids to drop to; (uid_t)-1: keep */
    gid_t gid;
    /* Files kept visible read-only at their own paths (relative ones as
     * seen from the working directory, which the jail keeps): boot images,
     * /etc/resolv.conf.  Files already under dir need no entry. */
    const char *files[VM_JAIL_MAX_FILES];
    size_t nfiles;
    /* Files under dir the process writes after the drop and renames
     * (the console log and its rotated copy): given to uid:gid when they
     * exist. */
    const char *owned[VM_JAIL_MAX_FILES];
    size_t nowned;
};

/* Step 1: move the process into a new mount namespace with private
 * propagation (nothing it mounts reaches the host).  Must be called while
 * the process has a single thread (-EBUSY otherwise).  Needs
 * CAP_SYS_ADMIN: -EPERM without it.  Returns 0 or a negative errno with a
 * one-line message in err. */
int vm_jail_prepare(char *err, size_t errlen) __attribute__((warn_unused_result));

/* Step 2: build the jail's root (a small read-only tmpfs holding j->dir
 * bound read-write, j->files bound read-only, and a /proc that shows only
 * the process's own uid), pivot into it, detach the host's tree, change
 * to the same working directory, give j->owned to uid:gid and drop to
 * uid:gid (every thread: setresuid and setresgid apply process-wide).
 * Call after vm_jail_prepare, once everything is opened, and before
 * vm_sandbox_enter (the filter forbids mount, pivot_root and setuid).
 * Returns 0, or a negative errno with the step and path at fault in err:
 * -EINVAL j->dir is not an absolute directory, -ENOENT a file is missing,
 * the mount or credential call's errno.  On failure the process must not
 * run the guest: it may be half inside. */
int vm_jail_enter(const struct vm_jail *j, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
