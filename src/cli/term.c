/* The terminal side of `vessel run`: raw mode, the C-a keys, and a
 * non-blocking pump from the VM's console stream to stdout.  See term.h
 * for the contract. */
#include "cli/term.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* Bytes pulled from the source but not yet taken by the output.  Small:
 * the VM's ring is the buffer; this only holds one partial write. */
#define TERM_CARRY 4096

struct term {
    int in_fd;
    bool raw;                   /* in_fd is a terminal we put in raw mode */
    struct termios saved;
    bool ctrl_a;                /* the previous key was C-a */

    int out_fd;                 /* what we write: own_fd, or the caller's */
    bool own_fd;                /* out_fd is our non-blocking reopen */
    int restore_flags;          /* >= 0: put these file flags back at close */
    bool out_dead;              /* EPIPE/EIO: output discarded from now on */
    uint64_t dropped;

    uint8_t carry[TERM_CARRY];
    size_t off, len;            /* pending: carry[off, off + len) */
};

/* ------------------------------------------------------------ output */

/* A descriptor on the same open file as out_fd but with O_NONBLOCK of its
 * own.  Setting O_NONBLOCK on out_fd itself would change it for every
 * process sharing the open file (the shell that started us, on a
 * terminal) and would stay set if we were killed.  Regular files and
 * block devices never wait for a reader: they are used as they are. */
static int out_open(struct term *t, int fd)
{
    struct stat st;
    t->out_fd = fd;
    t->own_fd = false;
    t->restore_flags = -1;
    if (fstat(fd, &st) < 0) {
        if (errno != EBADF)
            return -errno;
        t->out_fd = -1;         /* no output at all: discard, as after EPIPE */
        t->out_dead = true;
        return 0;
    }
    if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
        return 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (nfd >= 0) {
        t->out_fd = nfd;
        t->own_fd = true;
        return 0;
    }
    /* No /proc, or a socket (which cannot be reopened): fall back to the
     * flag on the shared open file, put back at close. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK)) {
        if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
            return -errno;
        t->restore_flags = fl;
    }
    return 0;
}

/* One non-blocking write.  Returns bytes written, 0 when the output is
 * full (EAGAIN), -1 when it is gone (then out_dead is set). */
static ssize_t out_write(struct term *t, const uint8_t *p, size_t n)
{
    for (;;) {
        ssize_t w = write(t->out_fd, p, n);
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        t->out_dead = true;     /* EPIPE (SIGPIPE ignored), EIO after hangup, ... */
        return -1;
    }
}

int term_out_fd(const struct term *t)
{
    return t->out_fd;
}

bool term_out_pending(const struct term *t)
{
    return t->len > 0 && !t->out_dead;
}

uint64_t term_dropped(const struct term *t)
{
    return t->dropped;
}

/* Queue our own text (the key help) behind what is pending; dropped and
 * counted when it does not fit. */
static void out_queue(struct term *t, const char *s, size_t n)
{
    if (t->out_dead || n > TERM_CARRY - t->len) {
        t->dropped += n;
        return;
    }
    memmove(t->carry, t->carry + t->off, t->len);
    t->off = 0;
    memcpy(t->carry + t->len, s, n);
    t->len += n;
}

void term_pump(struct term *t, term_source_fn src, void *opaque)
{
    for (;;) {
        if (t->out_dead) {
            /* Nobody will read it: discard what comes, counted. */
            t->dropped += t->len;
            t->len = t->off = 0;
            size_t n;
            while ((n = src(opaque, t->carry, TERM_CARRY)))
                t->dropped += n;
            return;
        }
        if (!t->len) {
            t->off = 0;
            t->len = src(opaque, t->carry, TERM_CARRY);
            if (!t->len)
                return;
        }
        ssize_t w = out_write(t, t->carry + t->off, t->len);
        if (w == 0)
            return;             /* full: poll for POLLOUT */
        if (w > 0) {
            t->off += (size_t)w;
            t->len -= (size_t)w;
        }
    }
}

void term_flush(struct term *t, term_source_fn src, void *opaque, int idle_ms, int abort_fd)
{
    for (;;) {
        term_pump(t, src, opaque);
        if (!term_out_pending(t))
            break;              /* the source is empty, or the output is gone */
        struct pollfd p[2] = {
            { .fd = t->out_fd, .events = POLLOUT },
            { .fd = abort_fd, .events = POLLIN },
        };
        int r = poll(p, abort_fd >= 0 ? 2 : 1, idle_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (abort_fd >= 0 && (p[1].revents & POLLIN)))
            break;
    }
    t->dropped += t->len;
    t->len = t->off = 0;
    size_t n;
    while ((n = src(opaque, t->carry, TERM_CARRY)))
        t->dropped += n;
}

/* ------------------------------------------------------------ input */

bool term_raw(const struct term *t)
{
    return t->raw;
}

bool term_keys(struct term *t, const uint8_t *in, size_t n, uint8_t *guest, size_t *nguest)
{
    static const char help[] =
        "\r\nC-a h    print this help\r\n"
        "C-a x    exit the VM\r\n"
        "C-a C-a  send C-a to the guest\r\n";
    size_t o = 0;
    bool quit = false;
    for (size_t i = 0; i < n && !quit; i++) {
        uint8_t ch = in[i];
        if (t->ctrl_a) {
            t->ctrl_a = false;
            if (ch == 'x' || ch == 'X')
                quit = true;
            else if (ch == 'h' || ch == 'H' || ch == '?')
                out_queue(t, help, sizeof(help) - 1);
            else if (ch == 0x01)
                guest[o++] = ch;
            continue;           /* other keys after C-a are swallowed */
        }
        if (ch == 0x01 && t->raw) {
            t->ctrl_a = true;
            continue;
        }
        guest[o++] = ch;
    }
    *nguest = o;
    return quit;
}

/* ------------------------------------------------------------ life cycle */

static void make_raw(struct term *t)
{
    if (t->in_fd < 0 || !isatty(t->in_fd) || tcgetattr(t->in_fd, &t->saved))
        return;
    struct termios r = t->saved;
    cfmakeraw(&r);
    r.c_oflag |= OPOST;   /* keep \n -> \r\n on output */
    if (!tcsetattr(t->in_fd, TCSANOW, &r))
        t->raw = true;
}

int term_open(struct term **out, int in_fd, int out_fd, bool raw)
{
    struct term *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    int rc = out_open(t, out_fd);
    if (rc) {
        free(t);
        return rc;
    }
    t->in_fd = in_fd;
    if (raw)
        make_raw(t);
    *out = t;
    return 0;
}

void term_close(struct term *t)
{
    if (!t)
        return;
    /* TCSANOW: TCSADRAIN would wait for a terminal nobody reads. */
    if (t->raw)
        tcsetattr(t->in_fd, TCSANOW, &t->saved);
    if (t->own_fd)
        close(t->out_fd);
    else if (t->restore_flags >= 0)
        fcntl(t->out_fd, F_SETFL, t->restore_flags);
    free(t);
}

int term_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL))
        return -errno;
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        return -e;
    }
    return fd;
}
