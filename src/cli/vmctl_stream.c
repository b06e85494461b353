/* vessel console, vessel events: the two answers that are streams.
 *
 * console: GET /vms/NAME/console with the upgrade headers; after the 101
 * the connection carries the VM's serial console both ways.  The terminal
 * side is `vessel run`'s (term.c: raw mode, C-a x detaches, output pulled
 * only as fast as the terminal takes it), so a stalled terminal stops
 * reading the socket and the daemon, not this process, decides what to
 * drop.  Input ending (a pipe) half-closes the connection and the output
 * is read until the daemon closes it.
 *
 * events: GET /events, chunked, one JSON object per line, printed as the
 * lines complete (the API's line with --json, columns otherwise). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/term.h"
#include "cli/vmctl.h"
#include "util/util.h"

#define HEAD_TIMEOUT_MS 60000

struct console_src {
    int fd;
    const char *pre;            /* bytes read with the 101 head */
    size_t npre, at;
    bool eof;
    int error;
};

static size_t console_read(void *opaque, void *buf, size_t len)
{
    struct console_src *s = opaque;
    if (s->at < s->npre) {
        size_t k = MIN(len, s->npre - s->at);
        memcpy(buf, s->pre + s->at, k);
        s->at += k;
        return k;
    }
    if (s->eof)
        return 0;
    ssize_t k = recv(s->fd, buf, len, MSG_DONTWAIT);
    if (k > 0)
        return (size_t)k;
    if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
        s->eof = true;
        s->error = k ? errno : 0;
    }
    return 0;
}

static int send_all(int fd, const uint8_t *d, size_t n)
{
    while (n) {
        ssize_t k = send(fd, d, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        d += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Open the upgraded connection: the descriptor with *p holding the 101's
 * leftover bytes, or a negative exit status (printed). */
static int console_open(const struct vmctl_opts *o, const char *name, const char *what,
                        struct vmctl_parser *p)
{
    char target[128], err[512];
    int fd = vmctl_connect(o->sock, err, sizeof(err));
    if (fd < 0)
        return -vmctl_call_error(what, fd, err);
    snprintf(target, sizeof(target), "/vms/%s/console", name);
    int rc = vmctl_send(fd, "GET", target, NULL,
                        "Connection: Upgrade\r\nUpgrade: vessel-console\r\n", err, sizeof(err));
    if (!rc)
        rc = vmctl_recv(fd, p, HEAD_TIMEOUT_MS, err, sizeof(err));
    if (rc < 0) {
        close(fd);
        return -vmctl_call_error(what, rc, err);
    }
    if (p->status != 101) {
        close(fd);
        if (p->status >= 300)
            return -vmctl_api_error(what, p);
        vlog_error("%s: the daemon answered %d instead of switching the connection to the "
                   "console (101)", what, p->status);
        return -VMCTL_EXIT_UNREACHABLE;
    }
    return fd;
}

int vmctl_console(const struct vmctl_opts *o, const char *name)
{
    char what[128];
    struct vmctl_parser p = { 0 };
    struct term *t = NULL;
    int rc = 0, sigfd = -1;
    snprintf(what, sizeof(what), "console %s", name);
    int fd = console_open(o, name, what, &p);
    if (fd < 0) {
        vmctl_parse_free(&p);
        return -fd;
    }
    sigfd = term_signals();    /* the terminal is put back before the end */
    if (sigfd < 0)
        sigfd = -1;
    if (term_open(&t, STDIN_FILENO, STDOUT_FILENO, true)) {
        vlog_error("%s: cannot set up the terminal", what);
        rc = VMCTL_EXIT_API;
        goto out;
    }
    bool raw = term_raw(t), in_eof = false, quit = false;
    if (raw)
        fprintf(stderr, "vessel: connected to %s's console; C-a x detaches, C-a h helps\r\n",
                name);
    /* A viewer's attach: the daemon drops what it types (docs/daemon.md
     * "Access control"); say so rather than let keys vanish silently. */
    if (!strcasecmp(p.console_mode, "read-only"))
        fprintf(stderr, "vessel: %s's console is read-only for you (role viewer): what you "
                "type is not sent to the guest\r\n", name);
    struct console_src src = { .fd = fd, .pre = p.body, .npre = p.blen };
    term_pump(t, console_read, &src);
    while (!quit && !(src.eof && !term_out_pending(t))) {
        struct pollfd pf[4] = {
            { .fd = in_eof ? -1 : STDIN_FILENO, .events = POLLIN },
            { .fd = term_out_pending(t) || src.eof ? -1 : fd, .events = POLLIN },
            { .fd = term_out_pending(t) ? term_out_fd(t) : -1, .events = POLLOUT },
            { .fd = sigfd, .events = POLLIN },
        };
        if (poll(pf, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = VMCTL_EXIT_API;
            break;
        }
        if (pf[3].revents) {
            quit = true;
            break;
        }
        if (pf[0].revents) {
            uint8_t in[4096], guest[4096];
            size_t ng = 0;
            ssize_t k = read(STDIN_FILENO, in, sizeof(in));
            if (k <= 0 && !(k < 0 && (errno == EINTR || errno == EAGAIN))) {
                in_eof = true;
                shutdown(fd, SHUT_WR);      /* the daemon sees the end of input */
            } else if (k > 0) {
                quit = term_keys(t, in, (size_t)k, guest, &ng);
                if (ng && send_all(fd, guest, ng)) {
                    src.eof = true;
                    src.error = errno;
                }
            }
        }
        if (pf[1].revents || pf[2].revents)
            term_pump(t, console_read, &src);
    }
    if (src.eof && !quit && raw)
        fprintf(stderr, "\r\nvessel: %s: the daemon closed the console%s%s\r\n", what,
                src.error ? ": " : "", src.error ? strerror(src.error) : "");
    if (quit && raw)
        fprintf(stderr, "\r\nvessel: detached from %s's console\r\n", name);
out:
    term_close(t);
    if (sigfd >= 0)
        close(sigfd);
    close(fd);
    vmctl_parse_free(&p);
    return rc;
}

/* events: complete lines are printed, a partial one waits (bounded). */
#define EVENT_LINE_MAX (64u << 10)

struct events {
    bool json;
    char *line;
    size_t len;
    bool overlong;              /* the current line passed the bound: skipped */
};

static void event_print(struct events *e)
{
    char a[64], b[128], c[32], d[1024];
    e->line[e->len] = 0;
    if (e->json) {
        printf("%s\n", vmctl_safe(e->line, e->line, e->len + 1));
        return;
    }
    json_t *j = json_loads(e->line, 0, NULL);
    if (!json_is_object(j)) {
        printf("%s\n", vmctl_safe(e->line, e->line, e->len + 1));
    } else {
        const char *t = json_string_value(json_object_get(j, "time"));
        const char *vm = json_string_value(json_object_get(j, "vm"));
        const char *ev = json_string_value(json_object_get(j, "event"));
        const char *det = json_string_value(json_object_get(j, "detail"));
        printf("%s  %s  %s%s%s\n", vmctl_safe(t ? t : "-", a, sizeof(a)),
               vmctl_safe(vm ? vm : "-", b, sizeof(b)), vmctl_safe(ev ? ev : "?", c, sizeof(c)),
               det && *det ? "  " : "", det ? vmctl_safe(det, d, sizeof(d)) : "");
    }
    json_decref(j);
}

static int events_sink(void *opaque, const char *data, size_t n)
{
    struct events *e = opaque;
    for (size_t i = 0; i < n; i++) {
        if (data[i] == '\n') {
            if (e->len && !e->overlong)
                event_print(e);
            e->len = 0;
            e->overlong = false;
            if (fflush(stdout) || ferror(stdout))
                return -EPIPE;
        } else if (e->len < EVENT_LINE_MAX) {
            e->line[e->len++] = data[i];
        } else {
            e->overlong = true;
        }
    }
    return 0;
}

int vmctl_events(const struct vmctl_opts *o)
{
    struct events e = { .json = o->json, .line = malloc(EVENT_LINE_MAX + 1) };
    struct vmctl_parser p = { .sink = events_sink, .opaque = &e };
    char err[512];
    int rc, fd;
    if (!e.line)
        return VMCTL_EXIT_API;
    signal(SIGPIPE, SIG_IGN);
    fd = vmctl_connect(o->sock, err, sizeof(err));
    if (fd < 0) {
        rc = vmctl_call_error("events", fd, err);
        goto out;
    }
    rc = vmctl_send(fd, "GET", "/events", NULL, NULL, err, sizeof(err));
    if (!rc)
        rc = vmctl_recv(fd, &p, -1, err, sizeof(err));
    close(fd);
    if (rc == -EPIPE)              /* our reader went away: done */
        rc = VMCTL_EXIT_OK;
    else if (rc < 0)
        rc = vmctl_call_error("events", rc, err);
    else if (p.status >= 300)
        rc = vmctl_api_error("events", &p);
    else
        rc = VMCTL_EXIT_OK;
out:
    vmctl_parse_free(&p);
    free(e.line);
    return rc;
}
