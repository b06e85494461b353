/* A listening unix socket for a server that may have been killed: a
 * socket file left by a dead server is replaced, one a live server answers
 * on is not, and anything that is not a socket is never removed (util.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/util.h"

/* Does a server answer on the socket at sa? */
static bool socket_live(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    close(fd);
    return live;
}

int unixsock_listen(const char *path, const char *what, int flags, int backlog,
                    char *err, size_t elen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return errbuf(err, elen, -ENAMETOOLONG, "%s %s: longer than %zu bytes", what, path,
                      sizeof(sa.sun_path) - 1);
    strcpy(sa.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return errbuf(err, elen, -EEXIST, "%s %s: exists and is not a socket; not "
                          "replacing it", what, path);
        if (socket_live(&sa))
            return errbuf(err, elen, -EADDRINUSE, "%s %s: another process serves it",
                          what, path);
        unlink(path);   /* stale: its server is gone */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (fd < 0)
        return errbuf(err, elen, -errno, "%s %s: socket: %s", what, path, strerror(errno));
    /* 0600 from the start: no window in which others may connect. */
    if (fchmod(fd, 0600) < 0 || bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        chmod(path, 0600) < 0 || listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        return errbuf(err, elen, -e, "%s %s: %s", what, path, strerror(e));
    }
    return fd;
}
