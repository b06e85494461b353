/* A fake network backend for unit tests: a struct net_backend (net/net.h)
 * that records the frames sent to it and delivers frames for the guest
 * when the test says so (fake_be_deliver, on the test's thread or any
 * other), so tests can show that a NIC uses nothing but the backend
 * interface.  Optionally it has state for net_save/net_restore: one
 * section "fakebe" holding a u32 the test sets. */
#ifndef VESSEL_TEST_NET_FAKE_H
#define VESSEL_TEST_NET_FAKE_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "util/sstate.h"

#define FAKE_BE_MAX 32

struct fake_be {
    struct net_backend base;        /* first: the ops cast */
    pthread_mutex_t lock;
    unsigned nsent;                 /* frames accepted by send */
    size_t sent_len[FAKE_BE_MAX];   /* the first FAKE_BE_MAX of them */
    uint8_t sent[FAKE_BE_MAX][NET_MAX_FRAME];
    bool full;                      /* send refuses (-ENOBUFS) */
    uint32_t state;                 /* what save writes, restore sets */
    bool *destroyed;                /* set by destroy, when not NULL */
};

static int fake_be_send(struct net_backend *be, const uint8_t *frame, size_t len)
{
    struct fake_be *f = (struct fake_be *)be;
    pthread_mutex_lock(&f->lock);
    int rc = 0;
    if (f->full) {
        rc = -ENOBUFS;
    } else {
        if (f->nsent < FAKE_BE_MAX) {
            memcpy(f->sent[f->nsent], frame, len);
            f->sent_len[f->nsent] = len;
        }
        f->nsent++;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static int fake_be_save(struct net_backend *be, struct sstate_writer *w)
{
    struct fake_be *f = (struct fake_be *)be;
    sstate_begin(w, "fakebe", 1);
    sstate_put_u32(w, f->state);
    return sstate_end(w);
}

static int fake_be_restore(struct net_backend *be, struct sstate_reader *r)
{
    struct fake_be *f = (struct fake_be *)be;
    uint32_t version;
    int rc = sstate_open(r, "fakebe", 1, &version);
    if (rc)
        return rc;
    uint32_t v = sstate_get_u32(r);
    if (!r->err && v > 1000)
        sstate_fail(r, -EINVAL);
    rc = sstate_close(r);
    if (!rc)
        f->state = v;
    return rc;
}

static void fake_be_destroy(struct net_backend *be)
{
    struct fake_be *f = (struct fake_be *)be;
    if (f->destroyed)
        *f->destroyed = true;
    pthread_mutex_destroy(&f->lock);
    net_backend_fini(&f->base);
    free(f);
}

static const struct net_backend_ops fake_be_ops = {
    .name = "fake", .send = fake_be_send, .destroy = fake_be_destroy,
};
static const struct net_backend_ops fake_be_ops_state = {
    .name = "fake-state", .send = fake_be_send, .save = fake_be_save,
    .restore = fake_be_restore, .destroy = fake_be_destroy,
};

/* A new fake backend (with_state: it has save/restore hooks).  Free it
 * with net_close. */
static inline struct fake_be *fake_be_new(bool with_state)
{
    struct fake_be *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    net_backend_init(&f->base, with_state ? &fake_be_ops_state : &fake_be_ops);
    pthread_mutex_init(&f->lock, NULL);
    return f;
}

/* The backend's side of a frame for the guest. */
static inline void fake_be_deliver(struct fake_be *f, const uint8_t *frame, size_t len)
{
    net_deliver(&f->base, frame, len);
}

static inline unsigned fake_be_nsent(struct fake_be *f)
{
    pthread_mutex_lock(&f->lock);
    unsigned n = f->nsent;
    pthread_mutex_unlock(&f->lock);
    return n;
}

#endif
