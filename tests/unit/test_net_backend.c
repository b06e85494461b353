/* Unit tests for the backend object's common part (net/net.c): one
 * receiver at a time (attach, -EBUSY, detach), frames for the guest
 * dropped and counted while none is attached, the guarantee that no
 * callback runs once net_detach has returned (a thread delivering all
 * the while), the send path's checks and counters, and the save/restore
 * hooks.  The backend is the fake of net_fake.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_fake.h"

struct rx_rec {
    unsigned n;
    size_t len;
    uint8_t last[NET_MAX_FRAME];
};

static void rec_rx(void *opaque, const uint8_t *frame, size_t len)
{
    struct rx_rec *r = opaque;
    r->n++;
    r->len = len;
    memcpy(r->last, frame, len);
}

static void test_attach_detach(void **state)
{
    struct fake_be *f = fake_be_new(false);
    assert_non_null(f);
    struct net_backend *be = &f->base;
    struct rx_rec a = { 0 }, b = { 0 };
    uint8_t fr[64];
    memset(fr, 0xab, sizeof(fr));

    fake_be_deliver(f, fr, 60);             /* nobody attached: dropped */
    struct net_stats st;
    net_get_stats(be, &st);
    assert_int_equal(st.rx_dropped, 1);
    assert_int_equal(st.rx_frames, 0);

    assert_int_equal(net_attach(be, rec_rx, &a), 0);
    assert_int_equal(net_attach(be, rec_rx, &b), -EBUSY);  /* one receiver */
    fake_be_deliver(f, fr, 60);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.len, 60);
    assert_memory_equal(a.last, fr, 60);
    assert_int_equal(b.n, 0);

    net_detach(be);
    net_detach(be);                         /* idempotent */
    fake_be_deliver(f, fr, 60);
    assert_int_equal(a.n, 1);
    assert_int_equal(net_attach(be, rec_rx, &b), 0);        /* a new NIC */
    fake_be_deliver(f, fr, 42);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.len, 42);
    net_get_stats(be, &st);
    assert_int_equal(st.rx_frames, 2);
    assert_int_equal(st.rx_dropped, 2);
    bool destroyed = false;
    f->destroyed = &destroyed;
    net_detach(be);
    net_close(be);
    assert_true(destroyed);
    net_close(NULL);
}

static void test_send_checks(void **state)
{
    struct fake_be *f = fake_be_new(false);
    assert_non_null(f);
    struct net_backend *be = &f->base;
    uint8_t fr[NET_MAX_FRAME + 1];
    memset(fr, 7, sizeof(fr));
    assert_int_equal(net_send(be, fr, 0), -EMSGSIZE);
    assert_int_equal(net_send(be, fr, NET_MAX_FRAME + 1), -EMSGSIZE);
    assert_int_equal(fake_be_nsent(f), 0);  /* never reached the backend */
    assert_int_equal(net_send(be, fr, NET_MAX_FRAME), 0);
    assert_int_equal(net_send(be, fr, 1), 0);
    f->full = true;
    assert_int_equal(net_send(be, fr, 60), -ENOBUFS);
    assert_int_equal(fake_be_nsent(f), 2);
    assert_int_equal(f->sent_len[0], NET_MAX_FRAME);
    assert_int_equal(f->sent_len[1], 1);
    struct net_stats st;
    net_get_stats(be, &st);
    assert_int_equal(st.tx_frames, 2);
    assert_int_equal(st.tx_dropped, 3);
    net_close(be);
}

static void test_save_restore_hooks(void **state)
{
    /* Without hooks: nothing written, nothing read. */
    struct fake_be *plain = fake_be_new(false);
    assert_non_null(plain);
    struct sstate_writer w;
    sstate_writer_init(&w);
    assert_int_equal(net_save(&plain->base, &w), 0);
    assert_int_equal(w.len, 0);
    struct sstate_reader r;
    sstate_reader_init(&r, w.buf, w.len);
    assert_int_equal(net_restore(&plain->base, &r), 0);
    net_close(&plain->base);

    /* With hooks: a round trip, and a hostile value refused unchanged. */
    struct fake_be *a = fake_be_new(true), *b = fake_be_new(true);
    assert_non_null(a);
    assert_non_null(b);
    a->state = 77;
    assert_int_equal(net_save(&a->base, &w), 0);
    sstate_reader_init(&r, w.buf, w.len);
    assert_int_equal(net_restore(&b->base, &r), 0);
    assert_int_equal(b->state, 77);
    sstate_writer_free(&w);
    sstate_writer_init(&w);
    a->state = 5000;
    assert_int_equal(net_save(&a->base, &w), 0);
    sstate_reader_init(&r, w.buf, w.len);
    assert_int_equal(net_restore(&b->base, &r), -EINVAL);
    assert_int_equal(b->state, 77);
    sstate_writer_free(&w);
    net_close(&a->base);
    net_close(&b->base);
}

/* A thread delivers frames non-stop; the receiver may be freed as soon as
 * net_detach returns: it must never be called after that. */
struct race {
    struct fake_be *f;
    atomic_bool stop;
    atomic_bool gone;           /* the receiver is "freed" */
    atomic_uint calls, late;    /* callbacks, callbacks after gone */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned loops;             /* deliveries done (lock) */
};

static void race_rx(void *opaque, const uint8_t *frame, size_t len)
{
    struct race *r = opaque;
    if (atomic_load(&r->gone))
        atomic_fetch_add(&r->late, 1);
    atomic_fetch_add(&r->calls, 1);
}

static void *race_thread(void *arg)
{
    struct race *r = arg;
    uint8_t fr[60] = { 1 };
    while (!atomic_load(&r->stop)) {
        fake_be_deliver(r->f, fr, sizeof(fr));
        pthread_mutex_lock(&r->lock);
        r->loops++;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
    }
    return NULL;
}

static void wait_loops(struct race *r, unsigned want)
{
    pthread_mutex_lock(&r->lock);
    while (r->loops < want)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

static void test_detach_while_delivering(void **state)
{
    struct race r = { 0 };
    r.f = fake_be_new(false);
    assert_non_null(r.f);
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, race_thread, &r), 0);
    for (int round = 0; round < 200; round++) {
        atomic_store(&r.gone, false);
        assert_int_equal(net_attach(&r.f->base, race_rx, &r), 0);
        pthread_mutex_lock(&r.lock);
        unsigned at = r.loops;
        pthread_mutex_unlock(&r.lock);
        wait_loops(&r, at + 5);
        net_detach(&r.f->base);
        atomic_store(&r.gone, true);
        pthread_mutex_lock(&r.lock);
        at = r.loops;
        pthread_mutex_unlock(&r.lock);
        wait_loops(&r, at + 5);             /* deliveries after the detach */
    }
    atomic_store(&r.stop, true);
    pthread_join(t, NULL);
    assert_true(atomic_load(&r.calls) >= 200 * 4);   /* the first of each 5 may miss */
    assert_int_equal(atomic_load(&r.late), 0);
    struct net_stats st;
    net_get_stats(&r.f->base, &st);
    assert_true(st.rx_dropped >= 200 * 4);
    assert_int_equal(st.rx_frames, atomic_load(&r.calls));
    net_close(&r.f->base);
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.cond);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_detach),
        cmocka_unit_test(test_send_checks),
        cmocka_unit_test(test_save_restore_hooks),
        cmocka_unit_test(test_detach_while_delivering),
    };
    return cmocka_run_group_tests_name("net_backend", tests, NULL, NULL);
}
