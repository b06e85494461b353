/* A VM's console output stream: a bounded ring that never blocks its
 * writer, with an eventfd that is readable exactly while bytes are
 * pending.  See console.h for the contract. */
#include "vmm/console.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/util.h"

struct vmm_console {
    int efd;                    /* eventfd: counter > 0 iff signalled */
    pthread_mutex_t lock;       /* everything below */
    uint8_t *ring;
    size_t cap, head, len;      /* pending bytes: ring[head..], wrapping */
    bool signalled;             /* efd's counter is non-zero */
    bool dropping;              /* ring overflowed; not yet half empty */
    uint64_t unreported;        /* dropped since the last notice */
    uint64_t dropped;           /* dropped in all */
};

/* Keep the eventfd readable exactly while bytes are pending: written on
 * the way from empty to pending, read back on the way to empty, so a
 * poll loop sees a level, not an edge.  Both calls are non-blocking and
 * cannot fail short of the counter overflowing, which one bit never
 * does. */
static void sync_locked(struct vmm_console *c)
{
    bool want = c->len > 0;
    if (want == c->signalled)
        return;
    uint64_t v = 1;
    ssize_t n = want ? write(c->efd, &v, sizeof(v)) : read(c->efd, &v, sizeof(v));
    if (n == (ssize_t)sizeof(v))
        c->signalled = want;
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

void vmm_console_write(struct vmm_console *c, const uint8_t *buf, size_t len)
{
    if (!len)
        return;
    pthread_mutex_lock(&c->lock);
    resume_locked(c);
    if (c->dropping) {
        drop_locked(c, len);
    } else {
        size_t take = MIN(len, c->cap - c->len);
        ring_put(c, buf, take);
        if (take < len) {
            drop_locked(c, len - take);
            c->dropping = true;
        }
    }
    sync_locked(c);
    pthread_mutex_unlock(&c->lock);
}

size_t vmm_console_read(struct vmm_console *c, uint8_t *buf, size_t len)
{
    size_t done = 0;
    pthread_mutex_lock(&c->lock);
    while (done < len && c->len) {
        size_t n = MIN(MIN(c->len, c->cap - c->head), len - done);
        memcpy(buf + done, c->ring + c->head, n);
        c->head = (c->head + n) % c->cap;
        c->len -= n;
        done += n;
        resume_locked(c);       /* the notice follows what came before it */
    }
    if (!c->len)
        c->head = 0;
    sync_locked(c);
    pthread_mutex_unlock(&c->lock);
    return done;
}

int vmm_console_fd(const struct vmm_console *c)
{
    return c->efd;
}

size_t vmm_console_pending(struct vmm_console *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->len;
    pthread_mutex_unlock(&c->lock);
    return n;
}

uint64_t vmm_console_dropped(struct vmm_console *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t n = c->dropped;
    pthread_mutex_unlock(&c->lock);
    return n;
}

int vmm_console_open(struct vmm_console **out, size_t ring)
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
    c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->efd < 0) {
        int rc = -errno;
        free(c->ring);
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void vmm_console_close(struct vmm_console *c)
{
    if (!c)
        return;
    close(c->efd);
    pthread_mutex_destroy(&c->lock);
    free(c->ring);
    free(c);
}
