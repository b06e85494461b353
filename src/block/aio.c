/* block: asynchronous requests on a small pool of worker threads, so that
 * vCPU threads never wait for host I/O.  Requests are taken in submission
 * order; a flush is a barrier: it starts only when every earlier request
 * has completed, and nothing after it starts before it completes. */
#include <errno.h>
#include <stdlib.h>

#include "block/block_int.h"

#define AIO_THREADS 2

struct block_aio {
    struct block_dev *bd;
    pthread_mutex_t lock;
    pthread_cond_t work;      /* workers wait here for requests */
    pthread_cond_t done;      /* block_aio_drain waits here */
    unsigned idle;            /* workers waiting on `work` */
    unsigned wakes;           /* of those, signalled and not yet running */
    unsigned drainers;        /* threads waiting on `done` */
    struct block_aio_req *head, *tail;
    unsigned inflight;        /* taken by a worker, not yet completed */
    unsigned queued;
    bool barrier;             /* a flush is running */
    bool stop;
    unsigned nthreads;
    pthread_t threads[AIO_THREADS];
};

/* Every request goes through the public entry points, never straight to
 * a driver or the host file: they take bd->lock, check the range and
 * read-only, and guard the first sector of a disk probed as raw
 * (block_probed_raw).  A faster submission path must keep those checks. */
static int run_req(struct block_dev *bd, struct block_aio_req *q)
{
    switch (q->op) {
    case BLOCK_AIO_READ:
        if (q->iov)
            return block_preadv(bd, q->off, q->iov, q->iovcnt, (size_t)q->len);
        return block_pread(bd, q->off, q->buf, (size_t)q->len);
    case BLOCK_AIO_WRITE:
        if (q->iov)
            return block_pwritev(bd, q->off, q->iov, q->iovcnt, (size_t)q->len);
        return block_pwrite(bd, q->off, q->buf, (size_t)q->len);
    case BLOCK_AIO_FLUSH:
        return block_flush(bd);
    case BLOCK_AIO_DISCARD:
        return block_discard(bd, q->off, q->len);
    case BLOCK_AIO_WRITE_ZEROES:
        return block_write_zeroes(bd, q->off, q->len);
    }
    return -EINVAL;
}

/* Requests a worker takes from the queue at once.  The device lock
 * serialises requests anyway, so a batch costs no parallelism; it saves
 * a round trip through the queue lock (and often a futex wake-up) per
 * request, which is most of the cost of a 4 KiB read from the page
 * cache. */
#define AIO_BATCH 8

static void *worker(void *arg)
{
    struct block_aio *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        struct block_aio_req *q = a->head;
        bool can = q && !a->barrier &&
                   (q->op != BLOCK_AIO_FLUSH || a->inflight == 0);
        if (!can) {
            if (a->stop && !a->head)
                break;
            a->idle++;
            pthread_cond_wait(&a->work, &a->lock);
            a->idle--;
            if (a->wakes)
                a->wakes--;
            continue;
        }
        /* A flush runs alone; otherwise take up to AIO_BATCH requests
         * that come before the next flush, leaving some for the other
         * worker when the queue is short. */
        struct block_aio_req *batch[AIO_BATCH];
        unsigned n = 0, want = 1;
        if (q->op != BLOCK_AIO_FLUSH) {
            unsigned waiting = a->queued - a->inflight;
            want = waiting / 2 ? waiting / 2 : 1;
            if (want > AIO_BATCH)
                want = AIO_BATCH;
        }
        while (n < want && a->head &&
               (n == 0 || a->head->op != BLOCK_AIO_FLUSH)) {
            batch[n++] = a->head;
            a->head = a->head->next_;
        }
        if (!a->head)
            a->tail = NULL;
        a->inflight += n;
        bool flush = batch[0]->op == BLOCK_AIO_FLUSH;
        if (flush)
            a->barrier = true;
        pthread_mutex_unlock(&a->lock);
        for (unsigned i = 0; i < n; i++) {
            int r = run_req(a->bd, batch[i]);
            batch[i]->cb(batch[i], r); /* it may be freed by the callback */
        }
        pthread_mutex_lock(&a->lock);
        a->inflight -= n;
        a->queued -= n;
        /* Wake only who can use it: the other worker when a barrier ends
         * or a flush at the head may now start, drainers when they wait. */
        if (flush) {
            a->barrier = false;
            if (a->idle)
                pthread_cond_broadcast(&a->work);
        } else if (a->idle && a->head && a->head->op == BLOCK_AIO_FLUSH && !a->inflight) {
            pthread_cond_signal(&a->work);
        }
        if (a->drainers)
            pthread_cond_broadcast(&a->done);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

static struct block_aio *aio_get(struct block_dev *bd)
{
    pthread_mutex_lock(&bd->lock);
    struct block_aio *a = bd->aio;
    if (!a && (a = calloc(1, sizeof(*a)))) {
        a->bd = bd;
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->work, NULL);
        pthread_cond_init(&a->done, NULL);
        for (unsigned i = 0; i < AIO_THREADS; i++)
            if (pthread_create(&a->threads[i], NULL, worker, a) == 0)
                a->nthreads++;
        if (!a->nthreads) {
            pthread_cond_destroy(&a->work);
            pthread_cond_destroy(&a->done);
            pthread_mutex_destroy(&a->lock);
            free(a);
            a = NULL;
        }
        bd->aio = a;
    }
    pthread_mutex_unlock(&bd->lock);
    return a;
}

int block_aio_submit(struct block_dev *bd, struct block_aio_req *req)
{
    if (req->op > BLOCK_AIO_WRITE_ZEROES || !req->cb)
        return -EINVAL;
    struct block_aio *a = aio_get(bd);
    if (!a)
        return -EAGAIN;
    req->next_ = NULL;
    pthread_mutex_lock(&a->lock);
    if (a->tail)
        a->tail->next_ = req;
    else
        a->head = req;
    a->tail = req;
    a->queued++;
    /* Wake a worker when none runs, or when more is waiting than a busy
     * one takes at once: the device lock serialises requests, so a second
     * worker woken for a short queue would only wait on it.  A worker
     * signalled and not yet running counts as woken, so a burst of
     * submissions costs one wake-up, not one each. */
    unsigned waiting = a->queued - a->inflight;
    if (a->idle > a->wakes && (a->inflight == 0 || waiting > AIO_BATCH)) {
        a->wakes++;
        pthread_cond_signal(&a->work);
    }
    pthread_mutex_unlock(&a->lock);
    return 0;
}

void block_aio_drain(struct block_dev *bd)
{
    pthread_mutex_lock(&bd->lock);
    struct block_aio *a = bd->aio;
    pthread_mutex_unlock(&bd->lock);
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->drainers++;
    while (a->queued)
        pthread_cond_wait(&a->done, &a->lock);
    a->drainers--;
    pthread_mutex_unlock(&a->lock);
}

void block_aio_destroy(struct block_aio *a)
{
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_broadcast(&a->work);
    pthread_mutex_unlock(&a->lock);
    for (unsigned i = 0; i < a->nthreads; i++)
        pthread_join(a->threads[i], NULL);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->done);
    pthread_mutex_destroy(&a->lock);
    free(a);
}
