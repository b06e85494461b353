/* Crash-safe files: write DIR/NAME.tmp, fsync it, rename it over
 * DIR/NAME, fsync DIR (util.h).  A crash at any point leaves the old file
 * or the new one whole, never a mix: the rename is atomic, and the two
 * fsyncs order the data before the name and make the name durable. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

static int tmp_path(char *buf, size_t n, const char *dir, const char *name,
                    const char *suffix, char *err, size_t elen)
{
    if ((size_t)snprintf(buf, n, "%s/%s%s", dir, name, suffix) >= n)
        return errbuf(err, elen, -ENAMETOOLONG, "%s/%s: path too long", dir, name);
    return 0;
}

int safefile_create(const char *dir, const char *name, mode_t mode, char *err,
                    size_t elen)
{
    char tmp[4096];
    int rc = tmp_path(tmp, sizeof(tmp), dir, name, ".tmp", err, elen);
    if (rc)
        return rc;
    /* A fresh file, never one found there: in a directory others may write
     * (a jailed VM's bundle, docs/sandbox.md) a planted NAME.tmp, a
     * link or a file of theirs, would otherwise be written and renamed
     * over NAME with its owner. */
    if (unlink(tmp) && errno != ENOENT)
        return errbuf(err, elen, -errno, "%s: cannot remove the old one: %s", tmp,
                      strerror(errno));
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return errbuf(err, elen, -errno, "%s: cannot create: %s", tmp, strerror(errno));
    return fd;
}

int safefile_sync_dir(const char *dir, char *err, size_t elen)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        return errbuf(err, elen, -e, "%s: fsync of the directory: %s", dir, strerror(e));
    }
    close(dfd);
    return 0;
}

int safefile_rename(const char *dir, const char *name, char *err, size_t elen)
{
    char tmp[4096], final[4096];
    int rc = tmp_path(tmp, sizeof(tmp), dir, name, ".tmp", err, elen);
    if (!rc)
        rc = tmp_path(final, sizeof(final), dir, name, "", err, elen);
    if (!rc && rename(tmp, final) < 0)
        rc = errbuf(err, elen, -errno, "%s: rename to %s: %s", tmp, final, strerror(errno));
    return rc;
}

int safefile_commit(const char *dir, const char *name, int fd, char *err, size_t elen)
{
    if (fsync(fd) < 0)
        return errbuf(err, elen, -errno, "%s/%s.tmp: fsync: %s", dir, name, strerror(errno));
    int rc = safefile_rename(dir, name, err, elen);
    return rc ? rc : safefile_sync_dir(dir, err, elen);
}

int safefile_write(const char *dir, const char *name, const void *buf, size_t len,
                   mode_t mode, char *err, size_t elen)
{
    int fd = safefile_create(dir, name, mode, err, elen);
    if (fd < 0)
        return fd;
    int rc = 0;
    for (size_t done = 0; done < len && !rc;) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = errbuf(err, elen, n < 0 ? -errno : -EIO, "%s/%s.tmp: write: %s", dir, name,
                        n < 0 ? strerror(errno) : "short write");
        else
            done += (size_t)n;
    }
    if (!rc)
        rc = safefile_commit(dir, name, fd, err, elen);
    close(fd);
    if (rc) {
        char tmp[4096];
        if (!tmp_path(tmp, sizeof(tmp), dir, name, ".tmp", NULL, 0))
            unlink(tmp);
    }
    return rc;
}
