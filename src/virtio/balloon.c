/* virtio-balloon, the traditional memory balloon with free page reporting
 * (Virtio 1.2 section 5.5): the host asks for pages back, and the guest
 * tells the host which of its pages are free, so that both can be dropped
 * from the VM's host memory (mem_discard).  The first piece of memory
 * overcommit (docs/design: mem/ balloons pages out; this device is the
 * guest's half), and what keeps a snapshot's memory file to the pages the
 * guest uses (a dropped page is not resident, so it is not written).
 *
 * Queues (5.5.2), in the order the driver finds them when only the
 * features below can be negotiated (a queue of a feature not offered does
 * not exist, and the driver numbers the rest densely):
 *   0 inflateq   driver -> device: arrays of le32 page frame numbers
 *                (4096-byte pages) the driver gives up;
 *   1 deflateq   driver -> device: frame numbers it takes back;
 *   2 reporting_vq (VIRTIO_BALLOON_F_PAGE_REPORTING): device-writable
 *                buffers, each one range of free guest pages, returned
 *                when the device is done with them (5.5.6.4).
 * Features offered: DEFLATE_ON_OOM (the guest may take pages back from
 * the balloon when it runs out of memory, 5.5.6.2.1) and PAGE_REPORTING
 * when asked for.  Not offered: MUST_TELL_HOST (deflate needs no host
 * action: a dropped page comes back as a zero page on first touch),
 * STATS_VQ, FREE_PAGE_HINT, PAGE_POISON.  Without PAGE_POISON a guest
 * that poisons its free pages does not report them (Linux clears the
 * feature itself), since a reported page does not keep its bytes.
 *
 * Config space (5.5.4), little-endian: num_pages (le32, device-written:
 * the balloon size the host wants, in 4096-byte pages), actual (le32,
 * driver-written: the size the driver reached).  8 bytes.
 *
 * Guest input is hostile: every frame number is checked against guest RAM
 * (a frame outside is skipped and counted, never touched), and a report
 * buffer must lie in RAM, which virtq_pop already guarantees.  A chain in
 * the wrong direction (a writable buffer on inflateq or deflateq, a
 * readable one on reporting_vq) or on reporting_vq without the feature
 * puts the device in DEVICE_NEEDS_RESET (2.1.2) and is not acted on. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "virtio/virtio.h"

#define BALLOON_QUEUE_SIZE 128u
#define Q_INFLATE 0u
#define Q_DEFLATE 1u
#define Q_REPORTING 2u
#define BALLOON_NUM_QUEUES 3u
#define BALLOON_PFN_SHIFT 12        /* 5.5.6: 4096-byte pages, always */

#define CFG_NUM_PAGES 0u
#define CFG_ACTUAL 4u
#define BALLOON_CONFIG_SIZE 8u

struct virtio_balloon {
    struct virtio_dev *vdev;
    struct mem *mem;
    pthread_mutex_t lock;           /* everything below */
    struct virtq_chain chain;
    uint32_t num_pages;             /* target (config) */
    uint32_t actual;                /* the driver's report (config) */
    struct virtio_balloon_stats st;
};

static void balloon_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
    struct virtio_balloon *b = opaque;
    uint8_t cfg[BALLOON_CONFIG_SIZE];
    pthread_mutex_lock(&b->lock);
    le_put(cfg + CFG_NUM_PAGES, b->num_pages, 4);
    le_put(cfg + CFG_ACTUAL, b->actual, 4);
    pthread_mutex_unlock(&b->lock);
    memcpy(buf, cfg + off, len);
}

/* Only `actual` is the driver's to write (5.5.4); a write elsewhere, or a
 * partial one, is taken byte by byte into a copy and only actual kept. */
static void balloon_config_write(void *opaque, uint32_t off, const void *buf, uint32_t len)
{
    struct virtio_balloon *b = opaque;
    uint8_t cfg[BALLOON_CONFIG_SIZE];
    pthread_mutex_lock(&b->lock);
    le_put(cfg + CFG_NUM_PAGES, b->num_pages, 4);
    le_put(cfg + CFG_ACTUAL, b->actual, 4);
    memcpy(cfg + off, buf, len);
    b->actual = (uint32_t)le_get(cfg + CFG_ACTUAL, 4);
    pthread_mutex_unlock(&b->lock);
}

/* The frame numbers of an inflate chain: drop each page that is RAM.  A
 * frame outside RAM, and the bytes of a last, partial frame number, are
 * counted in bad_pfns and touch nothing. */
static void inflate(struct virtio_balloon *b, const struct virtq_chain *c)
{
    uint8_t word[4];
    unsigned have = 0;
    for (unsigned k = 0; k < c->out_iov; k++) {
        const uint8_t *p = c->iov[k].iov_base;
        for (size_t i = 0; i < c->iov[k].iov_len; i++) {
            word[have++] = p[i];
            if (have < 4)
                continue;
            have = 0;
            uint64_t gpa = (uint64_t)le_get(word, 4) << BALLOON_PFN_SHIFT;
            if (mem_is_ram(b->mem, gpa, 1ULL << BALLOON_PFN_SHIFT) &&
                mem_discard(b->mem, gpa, 1ULL << BALLOON_PFN_SHIFT) == 0)
                b->st.inflated_pages++;
            else
                b->st.bad_pfns++;
        }
    }
    if (have)
        b->st.bad_pfns++;
}

static void deflate(struct virtio_balloon *b, const struct virtq_chain *c)
{
    /* Nothing to do for the pages themselves (no MUST_TELL_HOST): they
     * are mapped, and come back zero-filled on the guest's first touch. */
    b->st.deflated_pages += c->out_len / 4;
    if (c->out_len % 4)
        b->st.bad_pfns++;
}

static void report(struct virtio_balloon *b, const struct virtq_chain *c)
{
    uint64_t n = 0;
    if (mem_discard_iovec(b->mem, c->iov + c->out_iov, (int)c->in_iov, &n))
        b->st.bad_pfns++;
    b->st.reported_bytes += n;
    b->st.reports++;
}

/* A chain that breaks the queue's direction (5.5.6: inflateq and deflateq
 * buffers are device-readable, 5.5.6.4: reporting_vq buffers
 * device-writable), or a buffer on reporting_vq without the feature (the
 * queue does not exist then): the driver is broken, the device needs a
 * reset.  Returns why, or NULL when the chain is fine. */
static const char *chain_fault(struct virtio_balloon *b, unsigned q, const struct virtq_chain *c)
{
    if (q != Q_REPORTING)
        return c->in_len ? "has device-writable buffers" : NULL;
    if (!((virtio_dev_features(b->vdev) >> VIRTIO_BALLOON_F_PAGE_REPORTING) & 1))
        return "is on reporting_vq, which PAGE_REPORTING was not negotiated for";
    return c->out_len ? "has device-readable buffers on reporting_vq" : NULL;
}

static void balloon_notify(void *opaque, unsigned q)
{
    struct virtio_balloon *b = opaque;
    struct virtq *vq = virtio_dev_queue(b->vdev, q);
    pthread_mutex_lock(&b->lock);
    while (virtq_pop(vq, &b->chain) == 1) {
        const char *why = chain_fault(b, q, &b->chain);
        if (why) {
            virtq_drop(vq, &b->chain);
            virtio_dev_needs_reset(b->vdev, "queue %u: chain %u %s", q, b->chain.head, why);
            break;
        }
        if (q == Q_INFLATE)
            inflate(b, &b->chain);
        else if (q == Q_DEFLATE)
            deflate(b, &b->chain);
        else
            report(b, &b->chain);
        /* Returned with nothing written: 5.5.6 (inflate, deflate) and
         * 5.5.6.4 (a report is acknowledged by the buffer's return). */
        virtq_push(vq, &b->chain, 0);
    }
    pthread_mutex_unlock(&b->lock);
}

static void balloon_reset(void *opaque)
{
    struct virtio_balloon *b = opaque;
    pthread_mutex_lock(&b->lock);
    b->actual = 0;      /* a new driver starts with an empty balloon */
    pthread_mutex_unlock(&b->lock);
}

static const struct virtio_dev_ops balloon_ops = {
    .name = "virtio-balloon",
    .device_id = VIRTIO_ID_BALLOON,
    .num_queues = BALLOON_NUM_QUEUES,
    .queue_max = BALLOON_QUEUE_SIZE,
    .config_size = BALLOON_CONFIG_SIZE,
    .features = VIRTIO_F_COMMON | (1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM),
    .config_read = balloon_config_read,
    .config_write = balloon_config_write,
    .notify = balloon_notify,
    .reset = balloon_reset,
};

struct virtio_balloon *virtio_balloon_new(bool reporting, const struct hw_line *irq,
                                          struct mem *mem)
{
    struct virtio_balloon *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    pthread_mutex_init(&b->lock, NULL);
    b->mem = mem;
    uint64_t feat = reporting ? 1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING : 0;
    b->vdev = virtio_dev_new(&balloon_ops, b, feat, irq, mem);
    if (!b->vdev) {
        pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
    }
    return b;
}

struct virtio_dev *virtio_balloon_transport(struct virtio_balloon *b)
{
    return b->vdev;
}

void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t pages)
{
    pthread_mutex_lock(&b->lock);
    bool changed = b->num_pages != pages;
    b->num_pages = pages;
    pthread_mutex_unlock(&b->lock);
    if (changed)
        virtio_dev_config_changed(b->vdev);
}

void virtio_balloon_stats(struct virtio_balloon *b, struct virtio_balloon_stats *out)
{
    pthread_mutex_lock(&b->lock);
    *out = b->st;
    out->target_pages = b->num_pages;
    out->actual_pages = b->actual;
    out->reporting = (virtio_dev_features(b->vdev) >> VIRTIO_BALLOON_F_PAGE_REPORTING) & 1;
    pthread_mutex_unlock(&b->lock);
}

void virtio_balloon_free(struct virtio_balloon *b)
{
    if (!b)
        return;
    virtio_dev_free(b->vdev);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

/* ------------------------------------------------------------ device model */

/* Section "vbal", version 1: the transport (virtio_dev_save_state), then
 * num_pages and actual (le32 each).  The pages in the balloon need no
 * saving: they were dropped, so the memory file holds them as zeros. */
#define VBAL_TAG "vbal"
#define VBAL_VERSION 1

static void balloon_dev_reset(void *opaque)
{
    struct virtio_balloon *b = opaque;
    virtio_dev_reset(b->vdev);
}

/* A chain being handled holds b->lock: taking it waits for its push. */
static int balloon_dev_quiesce(void *opaque)
{
    struct virtio_balloon *b = opaque;
    virtio_dev_quiesce(b->vdev);
    pthread_mutex_lock(&b->lock);
    pthread_mutex_unlock(&b->lock);
    return 0;
}

static void balloon_dev_resume(void *opaque)
{
    struct virtio_balloon *b = opaque;
    virtio_dev_resume(b->vdev);
}

static int balloon_dev_save(const void *opaque, struct sstate_writer *w)
{
    struct virtio_balloon *b = (struct virtio_balloon *)opaque;
    if (!virtio_dev_quiesced(b->vdev))
        return -EBUSY;
    sstate_begin(w, VBAL_TAG, VBAL_VERSION);
    int rc = virtio_dev_save_state(b->vdev, w);
    pthread_mutex_lock(&b->lock);
    sstate_put_u32(w, b->num_pages);
    sstate_put_u32(w, b->actual);
    pthread_mutex_unlock(&b->lock);
    int rc2 = sstate_end(w);
    return rc ? rc : rc2;
}

static int balloon_dev_restore(void *opaque, struct sstate_reader *rd)
{
    struct virtio_balloon *b = opaque;
    if (!virtio_dev_quiesced(b->vdev))
        return -EBUSY;
    uint32_t version;
    int rc = sstate_open(rd, VBAL_TAG, VBAL_VERSION, &version);
    if (rc)
        return rc;
    struct virtio_dev_state st;
    virtio_dev_load_state(b->vdev, rd, &st);   /* an error sticks in rd */
    uint32_t num_pages = sstate_get_u32(rd);
    uint32_t actual = sstate_get_u32(rd);
    rc = sstate_close(rd);
    if (rc)
        return rc;
    virtio_dev_apply_state(b->vdev, &st);
    pthread_mutex_lock(&b->lock);
    b->num_pages = num_pages;       /* any value: the driver clamps it */
    b->actual = actual;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

static int balloon_dev_fdt(void *opaque, const struct device_fdt_ctx *ctx)
{
    return virtio_mmio_fdt_node(ctx);
}

static void balloon_dev_destroy(void *opaque)
{
    virtio_balloon_free(opaque);
}

static const struct device_ops balloon_device_ops = {
    .tag = VBAL_TAG,
    .reset = balloon_dev_reset,
    .quiesce = balloon_dev_quiesce,
    .resume = balloon_dev_resume,
    .save = balloon_dev_save,
    .restore = balloon_dev_restore,
    .fdt_node = balloon_dev_fdt,
    .destroy = balloon_dev_destroy,
};

struct device virtio_balloon_device(struct virtio_balloon *b)
{
    return (struct device){ &balloon_device_ops, b };
}
