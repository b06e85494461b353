/* The VM's console: bounded non-blocking output, raw terminal input and
 * the C-a keys.  See console.h for the contract. */
#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util/util.h"

struct vmm_console {
    int in_fd;
    bool raw;                   /* in_fd is a terminal we put in raw mode */
    struct termios saved;
    bool ctrl_a;                /* the previous key was C-a */

    int out_fd;                 /* what we write: own_fd, or the caller's */
    bool own_fd;                /* out_fd is our non-blocking reopen */
    int restore_flags;          /* >= 0: put these file flags back at close */
    void (*wake)(void *opaque);
    void *wake_opaque;

    pthread_mutex_t lock;       /* everything below */
    uint8_t *ring;
    size_t cap, head, len;      /* pending bytes: ring[head..], wrapping */
    bool dropping;              /* ring overflowed; not yet half empty */
    bool out_dead;              /* EPIPE/EIO: output discarded from now on */
    uint64_t unreported;        /* dropped since the last notice */
    uint64_t dropped;           /* dropped in all */
};

/* ------------------------------------------------------------ output */

/* A descriptor on the same open file as out_fd but with O_NONBLOCK of its
 * own.  Setting O_NONBLOCK on out_fd itself would change it for every
 * process sharing the open file (the shell that started us, on a
 * terminal) and would stay set if we were killed.  Regular files and
 * block devices never wait for a reader: they are used as they are. */
static int out_open(struct vmm_console *c, int fd)
{
    struct stat st;
    c->out_fd = fd;
    c->own_fd = false;
    c->restore_flags = -1;
    if (fstat(fd, &st) < 0) {
        if (errno != EBADF)
            return -errno;
        c->out_fd = -1;         /* no output at all: discard, as after EPIPE */
        c->out_dead = true;
        return 0;
    }
    if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
        return 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (nfd >= 0) {
        c->out_fd = nfd;
        c->own_fd = true;
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
        c->restore_flags = fl;
    }
    return 0;
}

static void drop_locked(struct vmm_console *c, size_t n)
{
    c->dropped += n;
    c->unreported += n;
}

/* Copy into the ring (it fits: checked by the caller). */
static void ring_put(struct vmm_console *c, const uint8_t *p, size_t n)
{
    size_t tail = (c->head + c->len) % c->cap;
    size_t first = MIN(n, c->cap - tail);
    memcpy(c->ring + tail, p, first);
    memcpy(c->ring, p + first, n - first);
    c->len += n;
}

/* After an overflow, resume once the reader has made room for half the
 * ring (not at the first free byte: that would mark every few bytes of a
 * slow reader as a gap), starting with the notice of the gap. */
static void resume_locked(struct vmm_console *c)
{
    if (!c->dropping || c->len > c->cap / 2)
        return;
    char note[80];
    int k = snprintf(note, sizeof(note), "\r\n[vessel: %llu console bytes dropped]\r\n",
                     (unsigned long long)c->unreported);
    ring_put(c, (const uint8_t *)note, (size_t)k);
    c->unreported = 0;
    c->dropping = false;
}

static void append_locked(struct vmm_console *c, const uint8_t *p, size_t n)
{
    resume_locked(c);
    if (c->dropping) {
        drop_locked(c, n);
        return;
    }
    size_t room = c->cap - c->len;
    size_t take = MIN(n, room);
    ring_put(c, p, take);
    if (take < n) {
        drop_locked(c, n - take);
        c->dropping = true;
    }
}

/* One non-blocking write.  Returns bytes written, 0 when the output is
 * full (EAGAIN), -1 when it is gone (then out_dead is set). */
static ssize_t out_write(struct vmm_console *c, const uint8_t *p, size_t n)
{
    for (;;) {
        ssize_t w = write(c->out_fd, p, n);
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        c->out_dead = true;     /* EPIPE (SIGPIPE ignored), EIO after hangup, ... */
        return -1;
    }
}

/* Write from the ring until it is empty or the output is full. */
static void drain_locked(struct vmm_console *c)
{
    while (c->len && !c->out_dead) {
        size_t n = MIN(c->len, c->cap - c->head);
        ssize_t w = out_write(c, c->ring + c->head, n);
        if (w <= 0)
            break;
        c->head = (c->head + (size_t)w) % c->cap;
        c->len -= (size_t)w;
        resume_locked(c);
    }
    if (c->out_dead && c->len) {
        drop_locked(c, c->len);
        c->len = 0;
    }
    if (!c->len)
        c->head = 0;
}

void vmm_console_write(struct vmm_console *c, const uint8_t *buf, size_t len)
{
    bool wake = false;
    pthread_mutex_lock(&c->lock);
    if (c->out_dead) {
        drop_locked(c, len);
        pthread_mutex_unlock(&c->lock);
        return;
    }
    /* Nothing queued: straight out, as much as the output takes now. */
    if (!c->len && !c->dropping) {
        while (len) {
            ssize_t w = out_write(c, buf, len);
            if (w <= 0)
                break;
            buf += w;
            len -= (size_t)w;
        }
        if (c->out_dead) {
            drop_locked(c, len);
            len = 0;
        }
        wake = len > 0;         /* the ring goes from empty to pending */
    }
    if (len)
        append_locked(c, buf, len);
    pthread_mutex_unlock(&c->lock);
    if (wake && c->wake)
        c->wake(c->wake_opaque);
}

int vmm_console_out_fd(const struct vmm_console *c)
{
    return c->out_fd;
}

short vmm_console_out_events(struct vmm_console *c)
{
    pthread_mutex_lock(&c->lock);
    bool pending = c->len && !c->out_dead;
    pthread_mutex_unlock(&c->lock);
    return pending ? POLLOUT : 0;
}

void vmm_console_drain(struct vmm_console *c)
{
    pthread_mutex_lock(&c->lock);
    drain_locked(c);
    pthread_mutex_unlock(&c->lock);
}

void vmm_console_flush(struct vmm_console *c, int idle_ms, int abort_fd)
{
    for (;;) {
        vmm_console_drain(c);
        if (!vmm_console_out_events(c))
            break;
        struct pollfd p[2] = {
            { .fd = c->out_fd, .events = POLLOUT },
            { .fd = abort_fd, .events = POLLIN },
        };
        int r = poll(p, abort_fd >= 0 ? 2 : 1, idle_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (abort_fd >= 0 && (p[1].revents & POLLIN)))
            break;
    }
    pthread_mutex_lock(&c->lock);
    drop_locked(c, c->len);
    c->len = c->head = 0;
    pthread_mutex_unlock(&c->lock);
}

uint64_t vmm_console_dropped(struct vmm_console *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t n = c->dropped;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* ------------------------------------------------------------ input */

bool vmm_console_raw(const struct vmm_console *c)
{
    return c->raw;
}

bool vmm_console_keys(struct vmm_console *c, const uint8_t *in, size_t n,
                      uint8_t *guest, size_t *nguest)
{
    static const char help[] =
        "\r\nC-a h    print this help\r\n"
        "C-a x    exit the VM\r\n"
        "C-a C-a  send C-a to the guest\r\n";
    size_t o = 0;
    bool quit = false;
    for (size_t i = 0; i < n && !quit; i++) {
        uint8_t ch = in[i];
        if (c->ctrl_a) {
            c->ctrl_a = false;
            if (ch == 'x' || ch == 'X')
                quit = true;
            else if (ch == 'h' || ch == 'H' || ch == '?')
                vmm_console_write(c, (const uint8_t *)help, sizeof(help) - 1);
            else if (ch == 0x01)
                guest[o++] = ch;
            continue;           /* other keys after C-a are swallowed */
        }
        if (ch == 0x01 && c->raw) {
            c->ctrl_a = true;
            continue;
        }
        guest[o++] = ch;
    }
    *nguest = o;
    return quit;
}

/* ------------------------------------------------------------ life cycle */

static void term_raw(struct vmm_console *c)
{
    if (c->in_fd < 0 || !isatty(c->in_fd) || tcgetattr(c->in_fd, &c->saved))
        return;
    struct termios t = c->saved;
    cfmakeraw(&t);
    t.c_oflag |= OPOST;   /* keep \n -> \r\n on output */
    if (!tcsetattr(c->in_fd, TCSANOW, &t))
        c->raw = true;
}

int vmm_console_open(struct vmm_console **out, int in_fd, int out_fd, bool raw,
                     size_t ring, void (*wake)(void *opaque), void *opaque)
{
    struct vmm_console *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cap = MAX(ring, (size_t)128);
    c->ring = malloc(c->cap);
    if (!c->ring) {
        free(c);
        return -ENOMEM;
    }
    int rc = out_open(c, out_fd);
    if (rc) {
        free(c->ring);
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->in_fd = in_fd;
    c->wake = wake;
    c->wake_opaque = opaque;
    if (raw)
        term_raw(c);
    *out = c;
    return 0;
}

void vmm_console_close(struct vmm_console *c)
{
    if (!c)
        return;
    /* TCSANOW: TCSADRAIN would wait for a terminal nobody reads. */
    if (c->raw)
        tcsetattr(c->in_fd, TCSANOW, &c->saved);
    if (c->own_fd)
        close(c->out_fd);
    else if (c->restore_flags >= 0)
        fcntl(c->out_fd, F_SETFL, c->restore_flags);
    pthread_mutex_destroy(&c->lock);
    free(c->ring);
    free(c);
}
