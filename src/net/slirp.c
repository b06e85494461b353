/* net/slirp: the user-mode NAT backend, on libslirp (see net.h).
 *
 * libslirp is not thread-safe, so one thread owns the Slirp instance: it is
 * created (and the host ports bound) in net_slirp_open before the thread
 * starts, and from then on every slirp_* call happens on the backend
 * thread.  Frames from the guest (any thread) go through a locked FIFO
 * and an eventfd that wakes the thread; the thread feeds them to
 * slirp_input, polls slirp's sockets with its own poll(2) loop
 * (slirp_pollfds_fill / slirp_pollfds_poll) and runs slirp's timers.
 * Frames slirp sends to the guest (send_packet) go to the attached NIC
 * through net_deliver on this thread.  Saving and restoring the instance's
 * state (net_save/net_restore, on the VMM's control thread) is handed to
 * the backend thread as a call and waited for (run_on_thread).
 *
 * Saved state: section "slirp", version 1:
 *   u32 libslirp state version (slirp_state_version() of the saver, 1..ours)
 *   u32 length n (1..SLIRP_STATE_MAX), then n bytes: slirp_state_save's
 *       output, which libslirp 4.x lays out as records of guest-forward
 *       sockets (a non-zero byte, then the socket), a 0 byte, then the
 *       instance: the IP identification counter and the DHCP leases (the
 *       16 BOOTP clients: in use, MAC address).
 * This backend configures no guest forwards, so the socket list is always
 * empty: the first byte must be 0.  That check comes before libslirp sees
 * the bytes because its socket loader allocates buffers of the sizes the
 * record asks for before it refuses a socket it has no forward for.  The
 * bytes are then loaded into a scratch instance first (libslirp applies
 * fields as it reads them), and into the live one only when that load
 * succeeded and used every byte: a refused section changes nothing. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/net.h"
#include "net/slirp_lib.h"
#include "util/ratelimit.h"
#include "util/sstate.h"
#include "util/util.h"

/* Guest-error messages printed per backend before going quiet (the guest
 * controls how many there are). */
#define GUEST_ERROR_LOG_MAX 10

#define SLIRP_STATE_TAG "slirp"
#define SLIRP_STATE_VERSION 1
/* libslirp 4.7 writes 131 bytes for us; the bound only keeps a hostile
 * file from making us copy megabytes into libslirp. */
#define SLIRP_STATE_MAX 4096u

struct tx_frame {
    struct tx_frame *next;
    size_t len;
    uint8_t data[];
};

/* A slirp timer.  Only the backend thread touches these (slirp creates
 * them in slirp_new, before the thread starts). */
struct sl_timer {
    struct sl_timer *next;
    SlirpTimerCb cb;
    void *cb_opaque;
    int64_t expire_ms;          /* host monotonic ms; -1 when not armed */
    bool due;                   /* selected to fire in this pass */
};

struct slirp_be;

/* A function run on the backend thread for the control thread. */
struct sl_call {
    int (*fn)(struct slirp_be *s, void *arg);
    void *arg;
    int rc;
    bool done;
};

struct slirp_be {
    struct net_backend base;    /* first: the ops cast */
    const struct slirp_lib *lib;    /* libslirp's calls (loaded on demand) */
    Slirp *slirp;
    int wake_fd;                /* eventfd: frames queued or stop */
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t lock;       /* guards the tx queue, stop and call */
    struct tx_frame *tx_head, *tx_tail;
    unsigned tx_count;
    bool stop;
    struct sl_call *call;       /* waiting for the thread, or NULL */
    pthread_cond_t call_done;   /* signalled when a call has run */

    /* Backend thread only. */
    struct sl_timer *timers;
    struct pollfd *pfd;
    unsigned npfd, cap_pfd;
    unsigned guest_errors;
};

/* ---- slirp callbacks (backend thread, or slirp_new in open) ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct slirp_be *s = opaque;
    if (len == 0 || len > NET_MAX_FRAME)
        return (ssize_t)len;    /* cannot happen with slirp's 1500 MTU */
    net_deliver(&s->base, buf, len);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    struct slirp_be *s = opaque;
    struct ratelimit *rl = atomic_load(&s->base.log_limit);
    if (rl)
        vlog_guest(rl, "net user: guest error: %s", msg);
    else if (s->guest_errors++ < GUEST_ERROR_LOG_MAX)
        vlog_warn("net user: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    return (int64_t)host_time_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    struct slirp_be *s = opaque;
    struct sl_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->expire_ms = -1;
    t->next = s->timers;
    s->timers = t;
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct slirp_be *s = opaque;
    for (struct sl_timer **pp = &s->timers; *pp; pp = &(*pp)->next) {
        if (*pp == timer) {
            *pp = (*pp)->next;
            free(timer);
            return;
        }
    }
}

static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
    struct sl_timer *t = timer;
    if (t)
        t->expire_ms = expire_time < 0 ? 0 : expire_time;
}

static void cb_register_poll_fd(int fd, void *opaque) { }
static void cb_unregister_poll_fd(int fd, void *opaque) { }

/* Slirp calls this on our own thread when a socket may accept more data;
 * the loop recomputes the poll set on every iteration anyway. */
static void cb_notify(void *opaque) { }

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
};

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct slirp_be *s = opaque;
    if (s->npfd == s->cap_pfd) {
        unsigned cap = s->cap_pfd ? s->cap_pfd * 2 : 16;
        struct pollfd *p = realloc(s->pfd, cap * sizeof(*p));
        if (!p)
            return -1;          /* slirp then skips this fd this round */
        s->pfd = p;
        s->cap_pfd = cap;
    }
    short ev = 0;
    if (events & SLIRP_POLL_IN)  ev |= POLLIN;
    if (events & SLIRP_POLL_OUT) ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI) ev |= POLLPRI;
    s->pfd[s->npfd] = (struct pollfd){ .fd = fd, .events = ev };
    return (int)s->npfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct slirp_be *s = opaque;
    if (idx < 1 || (unsigned)idx >= s->npfd)
        return 0;
    short r = s->pfd[idx].revents;
    int ev = 0;
    if (r & POLLIN)  ev |= SLIRP_POLL_IN;
    if (r & POLLOUT) ev |= SLIRP_POLL_OUT;
    if (r & POLLPRI) ev |= SLIRP_POLL_PRI;
    if (r & POLLERR) ev |= SLIRP_POLL_ERR;
    if (r & POLLHUP) ev |= SLIRP_POLL_HUP;
    return ev;
}

/* ---- the backend thread ---- */

static int64_t now_ms(void)
{
    return (int64_t)(host_time_ns() / 1000000);
}

/* Fire the timers expired now.  A callback may re-arm or free any timer,
 * so pick the due ones first and look each up again before firing it. */
static void run_timers(struct slirp_be *s)
{
    int64_t now = now_ms();
    for (struct sl_timer *t = s->timers; t; t = t->next)
        t->due = t->expire_ms >= 0 && t->expire_ms <= now;
    for (;;) {
        struct sl_timer *t = s->timers;
        while (t && !t->due)
            t = t->next;
        if (!t)
            break;
        t->due = false;
        t->expire_ms = -1;
        t->cb(t->cb_opaque);
    }
}

/* Milliseconds until the next armed timer, capped at `cap`. */
static uint32_t timers_timeout(struct slirp_be *s, uint32_t cap)
{
    int64_t now = now_ms();
    for (struct sl_timer *t = s->timers; t; t = t->next) {
        if (t->expire_ms < 0)
            continue;
        int64_t d = t->expire_ms - now;
        if (d < 0)
            d = 0;
        if ((uint64_t)d < cap)
            cap = (uint32_t)d;
    }
    return cap;
}

static void *slirp_thread(void *arg)
{
    struct slirp_be *s = arg;
    thread_block_sigpipe();     /* libslirp send()s on host sockets */
    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool stop = s->stop;
        struct tx_frame *f = s->tx_head;
        s->tx_head = s->tx_tail = NULL;
        s->tx_count = 0;
        struct sl_call *call = s->call;
        pthread_mutex_unlock(&s->lock);
        if (call) {
            /* Before the queued frames: the caller's VM is quiesced, and
             * the state it saves or replaces is the one before them. */
            call->rc = call->fn(s, call->arg);
            pthread_mutex_lock(&s->lock);
            call->done = true;
            s->call = NULL;
            pthread_cond_broadcast(&s->call_done);
            pthread_mutex_unlock(&s->lock);
        }
        if (stop) {
            while (f) {
                struct tx_frame *n = f->next;
                free(f);
                f = n;
            }
            break;
        }
        while (f) {
            struct tx_frame *n = f->next;
            s->lib->input(s->slirp, f->data, (int)f->len);
            free(f);
            f = n;
        }
        run_timers(s);

        s->npfd = 0;
        cb_add_poll(s->wake_fd, SLIRP_POLL_IN, s);   /* index 0 */
        uint32_t timeout = UINT32_MAX;
        s->lib->pollfds_fill(s->slirp, &timeout, cb_add_poll, s);
        timeout = timers_timeout(s, timeout);
        int ms = timeout > (uint32_t)INT32_MAX ? -1 : (int)timeout;
        int n = poll(s->pfd, s->npfd, ms);
        if (n < 0 && errno != EINTR) {
            vlog_error("net user: poll: %s", strerror(errno));
            /* keep going: slirp is told, and the next round retries */
        }
        if (n > 0 && (s->pfd[0].revents & POLLIN)) {
            uint64_t v;
            if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                vlog_error("net user: eventfd read: %s", strerror(errno));
        }
        s->lib->pollfds_poll(s->slirp, n < 0, cb_get_revents, s);
    }
    return NULL;
}

static void wake(struct slirp_be *s)
{
    uint64_t one = 1;
    /* EAGAIN: the counter is saturated, the thread is awake anyway. */
    if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        vlog_error("net user: eventfd write: %s", strerror(errno));
}

/* ---- ops ---- */

static int sl_send(struct net_backend *be, const uint8_t *frame, size_t len)
{
    struct slirp_be *s = (struct slirp_be *)be;
    struct tx_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return -ENOBUFS;
    f->next = NULL;
    f->len = len;
    memcpy(f->data, frame, len);
    pthread_mutex_lock(&s->lock);
    if (s->tx_count >= NET_TX_QUEUE_MAX || s->stop) {
        pthread_mutex_unlock(&s->lock);
        free(f);
        return -ENOBUFS;
    }
    bool was_empty = !s->tx_head;
    if (s->tx_tail)
        s->tx_tail->next = f;
    else
        s->tx_head = f;
    s->tx_tail = f;
    s->tx_count++;
    pthread_mutex_unlock(&s->lock);
    if (was_empty)
        wake(s);
    return 0;
}

static void sl_destroy(struct net_backend *be)
{
    struct slirp_be *s = (struct slirp_be *)be;
    if (s->thread_started) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_mutex_unlock(&s->lock);
        wake(s);
        pthread_join(s->thread, NULL);
    }
    while (s->tx_head) {
        struct tx_frame *n = s->tx_head->next;
        free(s->tx_head);
        s->tx_head = n;
    }
    if (s->slirp)
        s->lib->cleanup(s->slirp);      /* frees its timers through us */
    while (s->timers) {
        struct sl_timer *n = s->timers->next;
        free(s->timers);
        s->timers = n;
    }
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    pthread_cond_destroy(&s->call_done);
    pthread_mutex_destroy(&s->lock);
    free(s->pfd);
    net_backend_fini(&s->base);
    free(s);
}

static struct in_addr ip4(uint32_t host_order)
{
    return (struct in_addr){ .s_addr = htonl(host_order) };
}

/* A new backend struct with its Slirp instance made through `lib` (no
 * host forwards, no thread, no eventfd yet), or NULL when out of memory. */
static struct slirp_be *be_new(const struct net_backend_ops *ops, const struct slirp_lib *lib)
{
    struct slirp_be *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->lib = lib;
    net_backend_init(&s->base, ops);
    s->wake_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->call_done, NULL);
    SlirpConfig cfg = {
        .version = 4,
        .restricted = 0,
        .in_enabled = true,
        .vnetwork = ip4(0x0a000200),        /* 10.0.2.0 */
        .vnetmask = ip4(0xffffff00),        /* /24 */
        .vhost = ip4(0x0a000202),           /* 10.0.2.2: the host */
        .in6_enabled = false,
        .vdhcp_start = ip4(0x0a00020f),     /* 10.0.2.15 */
        .vnameserver = ip4(0x0a000203),     /* 10.0.2.3 */
        .if_mtu = 0,                        /* slirp's default, 1500 */
        .if_mru = 0,
        .disable_host_loopback = false,     /* 10.0.2.2 -> 127.0.0.1 */
        .enable_emu = false,
    };
    s->slirp = s->lib->new_(&cfg, &slirp_callbacks, s);
    if (!s->slirp) {
        sl_destroy(&s->base);
        return NULL;
    }
    return s;
}

/* Run fn(s, arg) where the Slirp instance may be touched: on the backend
 * thread, waiting for it; directly when the thread is not running (open,
 * a scratch instance).  Not on the backend thread itself. */
static int run_on_thread(struct slirp_be *s, int (*fn)(struct slirp_be *, void *),
                         void *arg)
{
    if (!s->thread_started)
        return fn(s, arg);
    struct sl_call c = { .fn = fn, .arg = arg };
    pthread_mutex_lock(&s->lock);
    while (s->call)                 /* one call at a time */
        pthread_cond_wait(&s->call_done, &s->lock);
    s->call = &c;
    pthread_mutex_unlock(&s->lock);
    wake(s);
    pthread_mutex_lock(&s->lock);
    while (!c.done)
        pthread_cond_wait(&s->call_done, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return c.rc;
}

/* The bytes of a state blob, growing (save) or consumed (load). */
struct blob {
    uint8_t *buf;
    size_t len, cap, pos;
    bool overflow;              /* save: more than SLIRP_STATE_MAX */
    bool short_read;            /* load: asked for more than was left */
};

static ssize_t blob_write(const void *p, size_t n, void *opaque)
{
    struct blob *b = opaque;
    if (n > SLIRP_STATE_MAX - b->len) {
        b->overflow = true;
        return -1;
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return (ssize_t)n;
}

/* libslirp's reader: never past the blob, which holds only the section's
 * bytes.  libslirp 4.7 does not stop its load on a failed read (the field
 * just keeps what it had), so the failure is remembered here and the load
 * refused by do_load. */
static ssize_t blob_read(void *p, size_t n, void *opaque)
{
    struct blob *b = opaque;
    if (n > b->len - b->pos) {
        b->short_read = true;
        return -1;
    }
    memcpy(p, b->buf + b->pos, n);
    b->pos += n;
    return (ssize_t)n;
}

static int do_save(struct slirp_be *s, void *arg)
{
    s->lib->state_save(s->slirp, blob_write, arg);
    return 0;
}

struct load_arg {
    struct blob b;
    int version;
};

static int do_load(struct slirp_be *s, void *arg)
{
    struct load_arg *a = arg;
    a->b.pos = 0;
    a->b.short_read = false;
    int rc = s->lib->state_load(s->slirp, a->version, blob_read, &a->b);
    if (rc >= 0 && (a->b.short_read || a->b.pos != a->b.len))
        rc = -EINVAL;           /* too few or too many bytes for its layout */
    return rc < 0 ? (rc == -ENOMEM ? -ENOMEM : -EINVAL) : 0;
}

static int sl_save(struct net_backend *be, struct sstate_writer *w)
{
    struct slirp_be *s = (struct slirp_be *)be;
    uint8_t *buf = malloc(SLIRP_STATE_MAX);
    if (!buf)
        return -ENOMEM;
    struct blob b = { .buf = buf };
    int rc = run_on_thread(s, do_save, &b);
    if (!rc && (b.overflow || b.len == 0))
        rc = -EFBIG;            /* a libslirp that saves what we cannot load */
    if (!rc) {
        sstate_begin(w, SLIRP_STATE_TAG, SLIRP_STATE_VERSION);
        sstate_put_u32(w, (uint32_t)s->lib->state_version());
        sstate_put_u32(w, (uint32_t)b.len);
        sstate_put_bytes(w, b.buf, b.len);
        rc = sstate_end(w);
    }
    free(buf);
    return rc;
}

static int sl_restore(struct net_backend *be, struct sstate_reader *r)
{
    struct slirp_be *s = (struct slirp_be *)be;
    uint32_t version;
    int rc = sstate_open(r, SLIRP_STATE_TAG, SLIRP_STATE_VERSION, &version);
    if (rc)
        return rc;
    struct load_arg a = { 0 };
    uint32_t sv = sstate_get_u32(r);
    uint32_t len = sstate_get_u32(r);
    if (!r->err && (sv == 0 || sv > (uint32_t)s->lib->state_version()))
        sstate_fail(r, -ENOTSUP);       /* a newer libslirp saved it */
    if (!r->err && (len == 0 || len > SLIRP_STATE_MAX))
        sstate_fail(r, -EINVAL);
    if (!r->err && !(a.b.buf = malloc(len)))
        sstate_fail(r, -ENOMEM);
    if (!r->err) {
        sstate_get_bytes(r, a.b.buf, len);
        a.b.len = len;
        a.version = (int)sv;
    }
    if (!r->err && a.b.buf[0] != 0)
        sstate_fail(r, -EINVAL);        /* a socket record: see the top */
    if ((rc = sstate_close(r)))
        goto out;
    /* Trial load into a scratch instance (this thread: it is ours alone). */
    struct slirp_be *scratch = be_new(be->ops, s->lib);
    if (!scratch) {
        rc = -ENOMEM;
        goto out;
    }
    rc = do_load(scratch, &a);
    sl_destroy(&scratch->base);
    if (!rc)
        rc = run_on_thread(s, do_load, &a);
out:
    free(a.b.buf);
    return rc;
}

static const struct net_backend_ops slirp_ops = {
    .name = "user",
    .send = sl_send,
    .save = sl_save,
    .restore = sl_restore,
    .destroy = sl_destroy,
};

static int open_fail(char *err, size_t errlen, const char *label, int rc,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int open_fail(char *err, size_t errlen, const char *label, int rc,
                     const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "--net '%.200s': ", label);
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

int net_slirp_open(const struct net_spec *spec, const char *label, struct net_backend **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    if (!label)
        label = "user";
    char msg[256];
    const struct slirp_lib *lib = slirp_lib_load(msg, sizeof(msg));
    if (!lib)
        return open_fail(err, errlen, label, -ENOENT, "%s", msg);
    struct slirp_be *s = be_new(&slirp_ops, lib);
    if (!s)
        return open_fail(err, errlen, label, -ENOMEM, "out of memory, or libslirp "
                         "could not start");
    int rc;

    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0) {
        int e = errno;
        rc = open_fail(err, errlen, label, -e, "eventfd: %s", strerror(e));
        goto fail;
    }

    for (unsigned i = 0; i < spec->n_hostfwd; i++) {
        const struct net_hostfwd *fw = &spec->hostfwd[i];
        errno = 0;
        if (s->lib->add_hostfwd(s->slirp, fw->udp, ip4(fw->host_addr),
                              fw->host_port, ip4(fw->guest_addr),
                              fw->guest_port) < 0) {
            int e = errno ? errno : EADDRINUSE;
            char a[INET_ADDRSTRLEN];
            struct in_addr ha = ip4(fw->host_addr);
            inet_ntop(AF_INET, &ha, a, sizeof(a));
            rc = open_fail(err, errlen, label, -e, "cannot forward host port %s:%s:%u: %s%s",
                           fw->udp ? "udp" : "tcp", a, fw->host_port, strerror(e),
                           e == EADDRINUSE ? " (another program or VM is using it; pick another port)" :
                           e == EADDRNOTAVAIL ? " (not an address of this host)" : "");
            goto fail;
        }
    }
    rc = -pthread_create(&s->thread, NULL, slirp_thread, s);
    if (rc) {
        open_fail(err, errlen, label, rc, "cannot start the network thread: %s",
                  strerror(-rc));
        goto fail;
    }
    s->thread_started = true;
    *out = &s->base;
    return 0;

fail:
    sl_destroy(&s->base);
    return rc;
}
