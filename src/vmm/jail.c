/* vmm: the VM process's jail (jail.h, docs/sandbox.md "The jail").
 *
 * The new root is a tmpfs mounted over /tmp of the process's own mount
 * namespace (it hides nothing outside it; the sources, which may be under
 * /tmp, are opened with O_PATH first and bound from those descriptors),
 * holding only mount points:
 * the bundle bound read-write at its real path, each kept file bound
 * read-only at its path, and a procfs limited to the process's own uid.
 * pivot_root(".", ".") stacks the old root on the new one, and a lazy
 * unmount of "." detaches it: no path in the process leads to the host's
 * tree any more, and pivot_root moved every thread's root and working
 * directory that pointed at the old root.  The working directory is set
 * again by path afterwards, since a working directory inside the old
 * tree would keep a way back to it through "..". */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/util.h"
#include "vmm/jail.h"

#define JAIL_ROOT "/tmp"        /* where the new root is built */

/* The number of threads of this process, from /proc/self/status; 0 when
 * it cannot be read. */
static unsigned thread_count(void)
{
    unsigned n;
    return proc_status_u32(0, "Threads", &n) ? 0 : n;
}

int vm_jail_prepare(char *err, size_t errlen)
{
    if (thread_count() > 1)
        return errbuf(err, errlen, -EBUSY, "jail: the process already runs several "
                      "threads; the mount namespace must be made before any");
    if (unshare(CLONE_NEWNS))
        return errbuf(err, errlen, -errno, "jail: unshare(CLONE_NEWNS): %s%s",
                      strerror(errno), errno == EPERM ? " (the jail needs root)" : "");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
        return errbuf(err, errlen, -errno, "jail: make / private: %s", strerror(errno));
    return 0;
}

/* mkdir -p root/path (path absolute). */
static int mkdirs(const char *root, const char *path)
{
    char buf[PATH_MAX * 2];
    if ((size_t)snprintf(buf, sizeof(buf), "%s%s", root, path) >= sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + strlen(root) + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) && errno != EEXIST)
        return -errno;
    return 0;
}

/* Bind src (a real path, opened as srcfd with O_PATH before the tmpfs
 * went over JAIL_ROOT, which may hide it) at JAIL_ROOT/at, read-only
 * unless rw, with no devices, setuid or execution. */
static int bind_into(const char *src, int srcfd, const char *at, bool dir, bool rw,
                     char *err, size_t errlen)
{
    char fdpath[64];
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", srcfd);
    char tgt[PATH_MAX * 2], parent[PATH_MAX];
    int rc;
    snprintf(parent, sizeof(parent), "%s", at);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = 0;
    if ((rc = dir ? mkdirs(JAIL_ROOT, at) : (parent[0] ? mkdirs(JAIL_ROOT, parent) : 0)))
        return errbuf(err, errlen, rc, "jail: make the mount point for %s: %s", at,
                      strerror(-rc));
    snprintf(tgt, sizeof(tgt), "%s%s", JAIL_ROOT, at);
    if (!dir) {
        int fd = open(tgt, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
        if (fd < 0)
            return errbuf(err, errlen, -errno, "jail: make the mount point for %s: %s", at,
                          strerror(errno));
        close(fd);
    }
    if (mount(fdpath, tgt, NULL, MS_BIND, NULL))
        return errbuf(err, errlen, -errno, "jail: bind %s: %s", src, strerror(errno));
    unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                       (rw ? 0 : MS_RDONLY);
    if (mount(NULL, tgt, NULL, fl, NULL))
        return errbuf(err, errlen, -errno, "jail: restrict %s: %s", src, strerror(errno));
    return 0;
}

/* A procfs that shows the process only itself (its uid's processes, no
 * /proc/sys and the like where the kernel can: subset=pid, Linux 5.8):
 * the snapshot reads /proc/self/pagemap, the block layer names a lock's
 * holder from /proc. */
static int mount_proc(char *err, size_t errlen)
{
    char at[] = JAIL_ROOT "/proc";
    if (mkdir(at, 0555) && errno != EEXIST)
        return errbuf(err, errlen, -errno, "jail: mkdir %s: %s", at, strerror(errno));
    const char *opts[] = { "hidepid=invisible,subset=pid", "hidepid=2", NULL };
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
        if (!mount("proc", at, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts[i]))
            return 0;
    return errbuf(err, errlen, -errno, "jail: mount proc: %s", strerror(errno));
}

static int drop_ids(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (uid == (uid_t)-1)
        return 0;
    if (!uid || !gid)
        return errbuf(err, errlen, -EINVAL, "jail: uid %u gid %u: expected an unprivileged "
                      "uid and gid (not 0)", (unsigned)uid, (unsigned)gid);
    if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
        return errbuf(err, errlen, -errno, "jail: drop to uid %u gid %u: %s", (unsigned)uid,
                      (unsigned)gid, strerror(errno));
    /* No way back: a process that could regain uid 0 is not jailed. */
    if (setresuid(0, 0, 0) == 0 || geteuid() != uid || getegid() != gid)
        return errbuf(err, errlen, -EPERM, "jail: uid %u gid %u: the drop did not hold",
                      (unsigned)uid, (unsigned)gid);
#ifdef __SANITIZE_ADDRESS__
    /* The uid change made the process non-dumpable; LeakSanitizer's
     * helper task must still ptrace its threads at exit (the sandbox's
     * sanitizer rules).  Release builds stay non-dumpable. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
    return 0;
}

/* The sources, resolved and opened (O_PATH) while the host's tree is
 * still whole. */
struct jail_src {
    char real[PATH_MAX];
    char at[PATH_MAX];          /* where in the jail ("" = inside dir) */
    int fd;
};

static int open_sources(const struct vm_jail *j, const char *dir, const char *cwd,
                        struct jail_src *src, char *err, size_t errlen)
{
    int rc;
    for (size_t i = 0; i < j->nfiles; i++) {
        struct jail_src *f = &src[i];
        if (!realpath(j->files[i], f->real))
            return errbuf(err, errlen, -errno, "jail: %s: %s", j->files[i], strerror(errno));
        f->at[0] = 0;
        if (path_under(f->real, dir))
            continue;   /* in the bundle already */
        if (j->files[i][0] != '/' && !path_under(cwd, dir))
            return errbuf(err, errlen, -EINVAL, "jail: %s: a relative path from outside %s; "
                          "expected an absolute path", j->files[i], dir);
        if ((rc = path_lexical(cwd, j->files[i], f->at, sizeof(f->at))))
            return errbuf(err, errlen, rc, "jail: %s: path too long", j->files[i]);
        if (path_under(f->at, dir))
            return errbuf(err, errlen, -EINVAL, "jail: %s is a link out of %s: the jail "
                          "cannot show it; copy the file into the directory", j->files[i],
                          dir);
        if ((f->fd = open(f->real, O_PATH | O_CLOEXEC)) < 0)
            return errbuf(err, errlen, -errno, "jail: %s: %s", f->real, strerror(errno));
    }
    return 0;
}

static int build_root(const struct vm_jail *j, const char *dir, int dirfd,
                      struct jail_src *src, char *err, size_t errlen)
{
    int rc;
    if (mount("tmpfs", JAIL_ROOT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=1m,nr_inodes=256,mode=0755"))
        return errbuf(err, errlen, -errno, "jail: mount a tmpfs on %s: %s", JAIL_ROOT,
                      strerror(errno));
    if ((rc = bind_into(dir, dirfd, dir, true, true, err, errlen)))
        return rc;
    for (size_t i = 0; i < j->nfiles; i++)
        if (src[i].at[0] &&
            (rc = bind_into(src[i].real, src[i].fd, src[i].at, false, false, err, errlen)))
            return rc;
    if ((rc = mount_proc(err, errlen)))
        return rc;
    if (mount(NULL, JAIL_ROOT, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
              MS_NOEXEC, NULL))
        return errbuf(err, errlen, -errno, "jail: make the root read-only: %s",
                      strerror(errno));
    return 0;
}

int vm_jail_enter(const struct vm_jail *j, char *err, size_t errlen)
{
    char dir[PATH_MAX], cwd[PATH_MAX], wd[PATH_MAX];
    struct jail_src src[VM_JAIL_MAX_FILES];
    int rc, dirfd = -1;
    if (j->nfiles > VM_JAIL_MAX_FILES || j->nowned > VM_JAIL_MAX_FILES)
        return errbuf(err, errlen, -EINVAL, "jail: more than %d files", VM_JAIL_MAX_FILES);
    for (size_t i = 0; i < VM_JAIL_MAX_FILES; i++)
        src[i].fd = -1;
    if (!j->dir || j->dir[0] != '/' || !realpath(j->dir, dir))
        return errbuf(err, errlen, -EINVAL, "jail: directory '%s': expected an existing "
                      "absolute directory", j->dir ? j->dir : "");
    if (!getcwd(cwd, sizeof(cwd)))
        return errbuf(err, errlen, -errno, "jail: getcwd: %s", strerror(errno));
    /* The working directory after: the same where the jail shows it. */
    snprintf(wd, sizeof(wd), "%s", path_under(cwd, dir) ? cwd : dir);
    if ((dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rc = errbuf(err, errlen, -errno, "jail: %s: %s", dir, strerror(errno));
        goto out;
    }
    if ((rc = open_sources(j, dir, cwd, src, err, errlen)) ||
        (rc = build_root(j, dir, dirfd, src, err, errlen)))
        goto out;
    if (chdir(JAIL_ROOT) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH)) {
        rc = errbuf(err, errlen, -errno, "jail: pivot into the new root: %s",
                    strerror(errno));
        goto out;
    }
    if (chdir(wd)) {
        rc = errbuf(err, errlen, -errno, "jail: chdir %s: %s", wd, strerror(errno));
        goto out;
    }
    for (size_t i = 0; j->uid != (uid_t)-1 && i < j->nowned; i++)
        if (lchown(j->owned[i], j->uid, j->gid) && errno != ENOENT) {
            rc = errbuf(err, errlen, -errno, "jail: chown %s: %s", j->owned[i],
                        strerror(errno));
            goto out;
        }
    rc = drop_ids(j->uid, j->gid, err, errlen);
out:
    if (dirfd >= 0)
        close(dirfd);
    for (size_t i = 0; i < VM_JAIL_MAX_FILES; i++)
        if (src[i].fd >= 0)
            close(src[i].fd);
    return rc;
}
