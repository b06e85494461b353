/* block: image locks that QEMU understands, and file identity checks.
 *
 * QEMU (block/file-posix.c, "file locking" since 2.10) describes each
 * opener of an image file by two sets of permissions: those it uses and
 * those it lets other openers use.  It publishes them as shared OFD locks
 * (F_OFD_SETLK, F_RDLCK) on single bytes of the image file:
 *
 *   byte LOCK_PERM_BASE + bit    "I use this permission"
 *   byte LOCK_SHARED_BASE + bit  "I do not let others use this permission"
 *
 * with the bits of include/block/block-common.h (BLK_PERM_*):
 *
 *   bit 0 consistent read   bytes 100 / 200
 *   bit 1 write             bytes 101 / 201
 *   bit 2 write unchanged   bytes 102 / 202
 *   bit 3 resize            bytes 103 / 203
 *   bit 4 change children   bytes 104 / 204 (graph-mod; QEMU 7 dropped it)
 *
 * After taking its bytes an opener tests the other side with F_OFD_GETLK
 * (F_WRLCK over one byte reports a lock of any other open file
 * description, never its own): for every permission it uses, the "does
 * not share" byte of that permission; for every permission it does not
 * share, the "uses" byte.  A lock found there is a conflict: the open fails
 * and the bytes are dropped.  Since every opener takes before it tests, two
 * racing openers cannot both succeed.  Only shared locks are set, so a
 * lock never waits, and the kernel drops them when the descriptor closes,
 * however the process ends.
 *
 * The permission sets below are what QEMU 7.2 takes for a guest disk and
 * for a backing file (checked with qemu-io and /proc/locks; see
 * docs/block.md "Image locking").  "Change children" is neither taken nor
 * refused, as in QEMU 7.  A whole-file write lock (Vessel before this
 * protocol) makes taking our bytes fail: that is reported as a conflict
 * too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "block/block_int.h"

#define LOCK_PERM_BASE   100
#define LOCK_SHARED_BASE 200

enum {
    PERM_CONSISTENT_READ = 1u << 0,
    PERM_WRITE           = 1u << 1,
    PERM_WRITE_UNCHANGED = 1u << 2,
    PERM_RESIZE          = 1u << 3,
    PERM_GRAPH_MOD       = 1u << 4,
    PERM_ALL             = 0x1f,
    PERM_BITS            = 5,
};

/* QEMU's names (bdrv_perm_names), so both programs' messages agree. */
static const char *const perm_name[PERM_BITS] = {
    "consistent read", "write", "write unchanged", "resize",
    "change children",
};

/* A guest's writable disk, an image a command writes, commit's backing
 * file: QEMU's virtio-blk on qcow2 or raw (the format layer adds resize
 * and refuses to share write and resize). */
static const unsigned rw_perm = PERM_CONSISTENT_READ | PERM_WRITE | PERM_RESIZE;
static const unsigned rw_shared = PERM_CONSISTENT_READ | PERM_WRITE_UNCHANGED |
                                  PERM_GRAPH_MOD;
/* A read-only disk, a backing file, a command that only reads. */
static const unsigned ro_perm = PERM_CONSISTENT_READ;
static const unsigned ro_shared = PERM_ALL & ~(PERM_WRITE | PERM_RESIZE);

static int lock_byte(int fd, short type, off_t start, off_t len)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
                        .l_start = start, .l_len = len };
    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* 1 when another open file description holds a lock on `byte` (details in
 * *fl), 0 when not, -errno. */
static int test_byte(int fd, off_t byte, struct flock *fl)
{
    *fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET,
                          .l_start = byte, .l_len = 1 };
    if (fcntl(fd, F_OFD_GETLK, fl) < 0)
        return -errno;
    return fl->l_type != F_UNLCK;
}

static void unlock_all(int fd)
{
    (void)lock_byte(fd, F_UNLCK, LOCK_PERM_BASE, PERM_BITS);
    (void)lock_byte(fd, F_UNLCK, LOCK_SHARED_BASE, PERM_BITS);
}

/* Whether one "lock:" line of /proc/PID/fdinfo/FD covers `byte` of the
 * file (dev, ino).  The line has /proc/locks' format:
 * "lock:\t1: OFDLCK ADVISORY  READ -1 fe:00:10954017 100 101". */
static bool fdinfo_line_covers(const char *line, dev_t dev, ino_t ino,
                               unsigned long long byte)
{
    unsigned maj, min;
    unsigned long ino_l;
    unsigned long long start;
    char end[32];
    if (strstr(line, "->"))      /* a waiter, not a holder */
        return false;
    if (sscanf(line, "lock: %*d: %*s %*s %*s %*d %x:%x:%lu %llu %31s",
               &maj, &min, &ino_l, &start, end) != 5)
        return false;
    if (maj != major(dev) || min != minor(dev) || ino_l != (unsigned long)ino)
        return false;
    unsigned long long last = strcmp(end, "EOF") ? strtoull(end, NULL, 10)
                                                 : ~0ull;
    return start <= byte && byte <= last;
}

/* The process holding a lock on `byte`: OFD locks carry no pid (F_OFD_GETLK
 * reports -1), so look for it in /proc/PID/fdinfo, skipping our own
 * descriptor `self_fd`.  0 when not found (another user's process, or no
 * /proc).  Runs only when an open is being refused. */
static pid_t find_holder(int self_fd, const struct stat *st,
                         unsigned long long byte)
{
    DIR *proc = opendir("/proc");
    if (!proc)
        return 0;
    pid_t me = getpid(), found = 0;
    unsigned budget = 200000;   /* fdinfo files read at most */
    char path[64], *line = NULL;
    size_t cap = 0;
    struct dirent *pe;
    while (!found && budget && (pe = readdir(proc))) {
        char *endp;
        long pid = strtol(pe->d_name, &endp, 10);
        if (*endp || pid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/fdinfo", pid);
        DIR *fds = opendir(path);
        if (!fds)
            continue;
        struct dirent *fe;
        while (!found && budget && (fe = readdir(fds))) {
            long fdn = strtol(fe->d_name, &endp, 10);
            if (*endp || fe->d_name[0] == '.' ||
                (pid == me && fdn == self_fd))
                continue;
            budget--;
            snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%ld", pid, fdn);
            FILE *f = fopen(path, "re");
            if (!f)
                continue;
            while (getline(&line, &cap, f) > 0)
                if (!strncmp(line, "lock:", 5) &&
                    fdinfo_line_covers(line, st->st_dev, st->st_ino, byte)) {
                    found = (pid_t)pid;
                    break;
                }
            fclose(f);
        }
        closedir(fds);
    }
    free(line);
    closedir(proc);
    return found;
}

/* "another process (pid 1234, qemu-io)" and the like. */
static void describe_holder(int self_fd, const struct stat *st,
                            const struct flock *fl, unsigned byte,
                            char *buf, size_t len)
{
    pid_t pid = fl->l_pid > 0 ? fl->l_pid : find_holder(self_fd, st, byte);
    if (!pid) {
        snprintf(buf, len, "another process");
        return;
    }
    if (pid == getpid()) {
        snprintf(buf, len, "this process (pid %d: the image is opened twice)",
                 (int)pid);
        return;
    }
    char path[64], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "re");
    if (f) {
        if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = 0;
        fclose(f);
    }
    snprintf(buf, len, "another process (pid %d%s%s)", (int)pid,
             comm[0] ? ", " : "", comm);
}

void block_lock_downgrade(int fd)
{
    /* The reader's bytes (ro_perm, ~ro_shared) are a subset of the
     * writer's (rw_perm, ~rw_shared): dropping is all there is to do. */
    for (unsigned i = 0; i < PERM_BITS; i++) {
        if ((rw_perm & (1u << i)) && !(ro_perm & (1u << i)))
            (void)lock_byte(fd, F_UNLCK, LOCK_PERM_BASE + i, 1);
        if (!(rw_shared & (1u << i)) && (ro_shared & (1u << i)))
            (void)lock_byte(fd, F_UNLCK, LOCK_SHARED_BASE + i, 1);
    }
}

int block_lock_fd(int fd, const char *path, bool write, char *err, size_t elen)
{
    unsigned perm = write ? rw_perm : ro_perm;
    unsigned shared = write ? rw_shared : ro_shared;
    const char *access = write ? "read-write access" : "shared read access";
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        return block_errbuf(err, elen, -e, "%s: stat: %s", path, strerror(e));
    }
    char who[128];
    struct flock fl;
    int r = 0;
    /* 1. publish what we use and what we refuse to share */
    for (unsigned k = 0; k < 2 * PERM_BITS && !r; k++) {
        unsigned i = k % PERM_BITS;
        bool uses = k < PERM_BITS;
        if (uses ? !(perm & (1u << i)) : (shared & (1u << i)))
            continue;
        unsigned byte = (uses ? LOCK_PERM_BASE : LOCK_SHARED_BASE) + i;
        r = lock_byte(fd, F_RDLCK, byte, 1);
        if (r == -EAGAIN || r == -EACCES) {
            /* someone holds an exclusive lock over our bytes */
            if (test_byte(fd, byte, &fl) < 0)
                fl.l_pid = 0;
            unlock_all(fd);
            describe_holder(fd, &st, &fl, byte, who, sizeof(who));
            return block_errbuf(err, elen, -EBUSY, "%s: image is locked by "
                                "%s with an exclusive lock; %s refused",
                                path, who, access);
        }
    }
    if (r < 0) {
        unlock_all(fd);
        return block_errbuf(err, elen, r, "%s: cannot lock: %s", path,
                            strerror(-r));
    }
    /* 2. look for openers that refuse what we use, or use what we refuse */
    for (unsigned i = 0; i < PERM_BITS; i++) {
        for (int side = 0; side < 2; side++) {
            bool uses = side == 0;
            if (uses ? !(perm & (1u << i)) : (shared & (1u << i)))
                continue;
            unsigned byte = (uses ? LOCK_SHARED_BASE : LOCK_PERM_BASE) + i;
            r = test_byte(fd, byte, &fl);
            if (r == 0)
                continue;
            unlock_all(fd);
            if (r < 0)
                return block_errbuf(err, elen, r, "%s: cannot test lock "
                                    "byte %u: %s", path, byte, strerror(-r));
            describe_holder(fd, &st, &fl, byte, who, sizeof(who));
            return block_errbuf(err, elen, -EBUSY, "%s: image is locked by "
                                "%s, which %s \"%s\" permission (QEMU lock "
                                "byte %u); %s refused", path, who,
                                uses ? "does not share" : "holds",
                                perm_name[i], byte, access);
        }
    }
    return 0;
}

int block_lock_file(const char *path, bool write, int *fdp, char *err,
                    size_t err_len)
{
    *fdp = -1;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return block_errbuf(err, err_len, -e, "%s: cannot open: %s", path,
                            strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
        close(fd);
        return block_errbuf(err, err_len, -EINVAL, "%s: not a regular file or "
                            "block device", path);
    }
    int r = block_lock_fd(fd, path, write, err, err_len);
    if (r < 0) {
        close(fd);
        return r;
    }
    *fdp = fd;
    return 0;
}

void block_unlock_file(int fd)
{
    if (fd >= 0)
        close(fd);
}

int block_chain_find(struct block_dev *bd, const char *path,
                     const char **member)
{
    struct stat want, have;
    if (stat(path, &want) < 0)
        return errno == ENOENT ? 0 : -errno;
    int n = 1;
    for (struct block_dev *b = bd; b; b = b->backing, n++) {
        if (fstat(b->file.fd, &have) == 0 && have.st_dev == want.st_dev &&
            have.st_ino == want.st_ino) {
            if (member)
                *member = b->filename;
            return n;
        }
    }
    return 0;
}
