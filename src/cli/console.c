/* `vessel run --console-log / --console-sock` (console.h). */
#include "cli/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/util.h"
#include "vmm/vmm.h"

struct console {
    struct vm *vm;
    char *log_path;
    int log_fd;                 /* -1: no log */
    uint64_t log_size;
    char *sock_path;
    int listen_fd;              /* -1: no socket */
    int client_fd;              /* -1: nobody attached */
};

static int log_open(struct console *c)
{
    /* Only a regular file: the log's directory may be writable by a
     * jailed VM (docs/sandbox.md), which must not make a later start
     * write through a link of its own or hang on a FIFO. */
    c->log_fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
                     O_NONBLOCK, 0600);
    if (c->log_fd < 0)
        return errno == ENXIO ? -EINVAL : -errno;  /* ENXIO: a FIFO nobody reads */
    struct stat st;
    if (fstat(c->log_fd, &st) || !S_ISREG(st.st_mode)) {
        close(c->log_fd);
        c->log_fd = -1;
        return -EINVAL;
    }
    c->log_size = (uint64_t)st.st_size;
    return 0;
}

/* FILE -> FILE.1 (replacing the previous one), and a new FILE. */
static void log_rotate(struct console *c)
{
    char old[4096];
    if ((size_t)snprintf(old, sizeof(old), "%s.1", c->log_path) >= sizeof(old))
        return;
    close(c->log_fd);
    c->log_fd = -1;
    if (rename(c->log_path, old))
        vlog_warn("--console-log %s: cannot rotate: %s", c->log_path, strerror(errno));
    int rc = log_open(c);
    if (rc)
        vlog_warn("--console-log %s: %s; the console is no longer logged", c->log_path,
                  strerror(-rc));
}

static void log_write(struct console *c, const char *p, size_t n)
{
    if (c->log_fd < 0)
        return;
    if (c->log_size + n > CONSOLE_LOG_MAX) {
        log_rotate(c);
        if (c->log_fd < 0)
            return;
    }
    while (n) {
        ssize_t w = write(c->log_fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;     /* a full disk loses log lines, never stops the VM */
        c->log_size += (uint64_t)w;
        p += w;
        n -= (size_t)w;
    }
}

static void client_drop(struct console *c)
{
    if (c->client_fd >= 0)
        close(c->client_fd);
    c->client_fd = -1;
}

static void client_write(struct console *c, const char *p, size_t n)
{
    if (c->client_fd < 0)
        return;
    ssize_t w = send(c->client_fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    /* A partial write or EAGAIN drops the rest: the client is slow. */
    if (w < 0 && errno != EAGAIN && errno != EINTR)
        client_drop(c);
}

size_t console_tee_source(void *opaque, void *buf, size_t len)
{
    struct console *c = opaque;
    size_t n = vm_console_read(c->vm, buf, len);
    if (n) {
        log_write(c, buf, n);
        client_write(c, buf, n);
    }
    return n;
}

static int sock_open(struct console *c, char *err, size_t elen)
{
    int fd = unixsock_listen(c->sock_path, "--console-sock", SOCK_NONBLOCK, 4, err, elen);
    if (fd < 0)
        return fd;
    c->listen_fd = fd;
    return 0;
}

int console_open(struct console **out, struct vm *vm, const char *log, const char *sock,
                 char *err, size_t elen)
{
    *out = NULL;
    struct console *c = calloc(1, sizeof(*c));
    if (!c)
        return errbuf(err, elen, -ENOMEM, "out of memory");
    c->vm = vm;
    c->log_fd = c->listen_fd = c->client_fd = -1;
    int rc = 0;
    if (log) {
        if (!(c->log_path = strdup(log)))
            rc = errbuf(err, elen, -ENOMEM, "out of memory");
        else if ((rc = log_open(c)))
            errbuf(err, elen, rc, "--console-log %s: %s", log, rc == -EINVAL ?
                   "not a regular file; expected a file (created when missing)" :
                   strerror(-rc));
    }
    if (!rc && sock) {
        if (!(c->sock_path = strdup(sock)))
            rc = errbuf(err, elen, -ENOMEM, "out of memory");
        else
            rc = sock_open(c, err, elen);
    }
    if (rc) {
        free(c->sock_path);
        c->sock_path = NULL;    /* not ours to unlink */
        console_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void console_close(struct console *c)
{
    if (!c)
        return;
    client_drop(c);
    if (c->listen_fd >= 0) {
        close(c->listen_fd);
        unlink(c->sock_path);
    }
    if (c->log_fd >= 0)
        close(c->log_fd);
    free(c->log_path);
    free(c->sock_path);
    free(c);
}

int console_pollfds(struct console *c, struct pollfd *p)
{
    int n = 0;
    if (!c)
        return 0;
    if (c->listen_fd >= 0)
        p[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
    if (c->client_fd >= 0)
        p[n++] = (struct pollfd){ .fd = c->client_fd, .events = POLLIN };
    return n;
}

void console_handle(struct console *c, const struct pollfd *p, int n)
{
    for (int i = 0; c && i < n; i++) {
        if (!p[i].revents)
            continue;
        if (p[i].fd == c->listen_fd) {
            int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0)
                continue;
            if (c->client_fd >= 0) {
                /* One client at a time: a second is told so and closed. */
                static const char busy[] = "vessel: console busy: another client is "
                                           "attached\r\n";
                if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                    errno = 0;
                close(fd);
                continue;
            }
            c->client_fd = fd;
        } else if (p[i].fd == c->client_fd) {
            char buf[256];
            ssize_t r = recv(c->client_fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (r > 0)
                vm_console_input(c->vm, buf, (size_t)r);
            else if (r == 0 || (errno != EAGAIN && errno != EINTR))
                client_drop(c);
        }
    }
}
