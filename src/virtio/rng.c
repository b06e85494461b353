/* virtio-rng, the entropy device (Virtio 1.2 section 5.4): one requestq;
 * each chain's device-writable buffers are filled from the host's
 * getrandom(2) (at most RNG_MAX_REQUEST bytes per request, which 5.4.6.1
 * allows: the used length tells the driver how many). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>

#include "util/util.h"
#include "virtio/virtio.h"

#define RNG_QUEUE_SIZE 64u
#define RNG_MAX_REQUEST 65536u

struct virtio_rng {
    struct virtio_dev *vdev;
    pthread_mutex_t lock;       /* chain */
    struct virtq_chain chain;
};

/* Fill up to `max` bytes of the chain's writable part. */
static uint64_t fill(struct virtq_chain *c, uint64_t max)
{
    uint64_t done = 0;
    for (unsigned k = c->out_iov; k < c->out_iov + c->in_iov && done < max; k++) {
        uint8_t *p = c->iov[k].iov_base;
        size_t want = (size_t)MIN((uint64_t)c->iov[k].iov_len, max - done);
        size_t got = 0;
        while (got < want) {
            ssize_t n = getrandom(p + got, want - got, 0);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return done + got;
            }
            got += (size_t)n;
        }
        done += got;
    }
    return done;
}

static void rng_notify(void *opaque, unsigned q)
{
    struct virtio_rng *r = opaque;
    struct virtq *vq = virtio_dev_queue(r->vdev, q);
    pthread_mutex_lock(&r->lock);
    while (virtq_pop(vq, &r->chain) == 1) {
        /* A chain with no writable buffer is answered with 0 bytes. */
        uint64_t n = fill(&r->chain, RNG_MAX_REQUEST);
        virtq_push(vq, &r->chain, (uint32_t)n);
    }
    pthread_mutex_unlock(&r->lock);
}

static const struct virtio_dev_ops rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max = RNG_QUEUE_SIZE,
    .config_size = 0,
    .features = VIRTIO_F_COMMON,
    .notify = rng_notify,
};

struct virtio_rng *virtio_rng_new(const struct hw_line *irq, struct mem *mem)
{
    struct virtio_rng *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    r->vdev = virtio_dev_new(&rng_ops, r, 0, irq, mem);
    if (!r->vdev) {
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    return r;
}

struct virtio_dev *virtio_rng_transport(struct virtio_rng *r)
{
    return r->vdev;
}

void virtio_rng_free(struct virtio_rng *r)
{
    if (!r)
        return;
    virtio_dev_free(r->vdev);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* ------------------------------------------------------------ device model */

/* Section "vrng", version 1: the transport (virtio_dev_save_state) only;
 * the entropy device has no state of its own. */
#define VRNG_TAG "vrng"
#define VRNG_VERSION 1

static void rng_dev_reset(void *opaque)
{
    struct virtio_rng *r = opaque;
    virtio_dev_reset(r->vdev);
}

/* A request being filled holds r->lock: taking it waits for its push. */
static int rng_dev_quiesce(void *opaque)
{
    struct virtio_rng *r = opaque;
    virtio_dev_quiesce(r->vdev);
    pthread_mutex_lock(&r->lock);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static void rng_dev_resume(void *opaque)
{
    struct virtio_rng *r = opaque;
    virtio_dev_resume(r->vdev);
}

static int rng_dev_save(const void *opaque, struct sstate_writer *w)
{
    const struct virtio_rng *r = opaque;
    if (!virtio_dev_quiesced(r->vdev))
        return -EBUSY;
    sstate_begin(w, VRNG_TAG, VRNG_VERSION);
    int rc = virtio_dev_save_state(r->vdev, w);
    int rc2 = sstate_end(w);
    return rc ? rc : rc2;
}

static int rng_dev_restore(void *opaque, struct sstate_reader *rd)
{
    struct virtio_rng *r = opaque;
    if (!virtio_dev_quiesced(r->vdev))
        return -EBUSY;
    uint32_t version;
    int rc = sstate_open(rd, VRNG_TAG, VRNG_VERSION, &version);
    if (rc)
        return rc;
    struct virtio_dev_state st;
    virtio_dev_load_state(r->vdev, rd, &st);   /* an error sticks in rd */
    rc = sstate_close(rd);
    if (rc)
        return rc;
    virtio_dev_apply_state(r->vdev, &st);
    return 0;
}

static int rng_dev_fdt(void *opaque, const struct device_fdt_ctx *ctx)
{
    return virtio_mmio_fdt_node(ctx);
}

static void rng_dev_destroy(void *opaque)
{
    virtio_rng_free(opaque);
}

static const struct device_ops rng_device_ops = {
    .tag = VRNG_TAG,
    .reset = rng_dev_reset,
    .quiesce = rng_dev_quiesce,
    .resume = rng_dev_resume,
    .save = rng_dev_save,
    .restore = rng_dev_restore,
    .fdt_node = rng_dev_fdt,
    .destroy = rng_dev_destroy,
};

struct device virtio_rng_device(struct virtio_rng *r)
{
    return (struct device){ &rng_device_ops, r };
}
