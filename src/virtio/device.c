/* The device-model part every virtio device shares (util/device.h):
 * quiesce and resume of the transport, save and validated restore of its
 * guest-visible state (the virtio-mmio registers of Virtio 1.2 section
 * 4.2.2 and the split-queue state of 2.7), and the device-tree node.
 *
 * Saved transport state, inside the device's own section (all integers
 * little-endian, util/sstate.h):
 *
 *   u32 device ID            u8  status          u64 DriverFeatures
 *   u32 DeviceFeaturesSel    u32 DriverFeaturesSel
 *   u32 QueueSel             u32 SHMSel          u32 InterruptStatus
 *   u32 ConfigGeneration     u32 queue count
 *   per queue: u32 QueueNum, u64 desc, u64 driver, u64 device,
 *              u8 flags (bit 0 ready, 1 event idx, 2 indirect, 3 broken),
 *              u32 last_avail, u32 used_idx (16-bit values)
 *
 * Not saved: the offered features (the device's configuration decides
 * them; a restore checks the negotiated ones are a subset), the quiesce
 * bit, the once-per-reset log flag, the queue generation (host state). */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "virtio/virtio_int.h"

#define QF_READY     1u
#define QF_EVENT_IDX 2u
#define QF_INDIRECT  4u
#define QF_BROKEN    8u
#define QF_ALL       15u

/* ------------------------------------------------------------ quiesce */

bool virtio_dev_quiesced(struct virtio_dev *d)
{
    return atomic_load(&d->status) & VIRTIO_STATUS_QUIESCED_;
}

void virtio_dev_quiesce(struct virtio_dev *d)
{
    atomic_fetch_or(&d->status, VIRTIO_STATUS_QUIESCED_);
    /* A pop that read the status before the bit was set still holds its
     * queue's lock: wait for it.  Every later pop sees the bit. */
    for (unsigned i = 0; i < d->ops->num_queues; i++) {
        pthread_mutex_lock(&d->vqs[i].lock);
        pthread_mutex_unlock(&d->vqs[i].lock);
    }
}

void virtio_dev_resume(struct virtio_dev *d)
{
    unsigned old = atomic_fetch_and(&d->status, ~VIRTIO_STATUS_QUIESCED_);
    if (!(old & VIRTIO_STATUS_QUIESCED_))
        return;
    /* Drive the line even if unchanged: an interrupt controller restored
     * after this device must learn the level again (set is idempotent
     * for a level-triggered source). */
    pthread_mutex_lock(&d->lock);
    d->line = d->isr != 0;
    if (d->irq.set)
        d->irq.set(d->irq.opaque, d->irq.line, d->line);
    pthread_mutex_unlock(&d->lock);
    if (!d->ops->notify || !virtio_dev_running(d))
        return;
    for (unsigned i = 0; i < d->ops->num_queues; i++)
        if (virtq_ready(&d->vqs[i]))
            d->ops->notify(d->opaque, i);
}

/* ------------------------------------------------------------ save */

int virtio_dev_save_state(const struct virtio_dev *cd, struct sstate_writer *w)
{
    /* The locks are taken for a consistent read only. */
    struct virtio_dev *d = (struct virtio_dev *)cd;
    if (!virtio_dev_quiesced(d))
        return -EBUSY;
    pthread_mutex_lock(&d->lock);
    uint8_t status = (uint8_t)atomic_load(&d->status);
    uint64_t drv_features = d->drv_features;
    uint32_t sel[4] = { d->dev_feat_sel, d->drv_feat_sel, d->queue_sel, d->shm_sel };
    uint32_t isr = d->isr;
    pthread_mutex_unlock(&d->lock);

    sstate_put_u32(w, d->ops->device_id);
    sstate_put_u8(w, status);
    sstate_put_u64(w, drv_features);
    for (unsigned i = 0; i < 4; i++)
        sstate_put_u32(w, sel[i]);
    sstate_put_u32(w, isr);
    sstate_put_u32(w, atomic_load(&d->config_gen));
    sstate_put_u32(w, d->ops->num_queues);
    for (unsigned i = 0; i < d->ops->num_queues; i++) {
        struct virtq *vq = &d->vqs[i];
        pthread_mutex_lock(&vq->lock);
        struct virtio_queue_state q = {
            .num = vq->num, .desc = vq->desc, .avail = vq->avail, .used = vq->used,
            .ready = vq->ready, .event_idx = vq->event_idx, .indirect = vq->indirect,
            .broken = vq->broken, .last_avail = vq->last_avail, .used_idx = vq->used_idx,
        };
        pthread_mutex_unlock(&vq->lock);
        sstate_put_u32(w, q.num);
        sstate_put_u64(w, q.desc);
        sstate_put_u64(w, q.avail);
        sstate_put_u64(w, q.used);
        sstate_put_u8(w, (uint8_t)((q.ready ? QF_READY : 0) | (q.event_idx ? QF_EVENT_IDX : 0) |
                                   (q.indirect ? QF_INDIRECT : 0) | (q.broken ? QF_BROKEN : 0)));
        sstate_put_u32(w, q.last_avail);
        sstate_put_u32(w, q.used_idx);
    }
    return w->err;
}

/* ------------------------------------------------------------ restore */

/* Could the queue have reached this state through the registers and the
 * walker (virtq_enable, virtq_pop)? */
static bool queue_valid(struct virtio_dev *d, const struct virtio_queue_state *q)
{
    uint64_t f = d->dev_features;
    if ((q->event_idx && !(f & (1ULL << VIRTIO_F_EVENT_IDX))) ||
        (q->indirect && !(f & (1ULL << VIRTIO_F_INDIRECT_DESC))))
        return false;
    if (!q->ready)
        return true;    /* registers as the driver wrote them: any value */
    uint32_t n = q->num;
    if (!n || n > d->ops->queue_max || (n & (n - 1)))
        return false;
    if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
        return false;
    if (!mem_is_ram(d->mem, q->desc, 16ULL * n) || !mem_is_ram(d->mem, q->avail, 6 + 2ULL * n) ||
        !mem_is_ram(d->mem, q->used, 6 + 8ULL * n))
        return false;
    /* Every chain taken (last_avail) was returned (used_idx) or is one
     * the device gave up on when it failed; never more than the ring. */
    return (uint16_t)(q->last_avail - q->used_idx) <= n;
}

static bool dev_valid(struct virtio_dev *d, const struct virtio_dev_state *st)
{
    unsigned s = st->status;
    if (s & ~(VIRTIO_STATUS_DRIVER_MASK | VIRTIO_STATUS_DEVICE_NEEDS_RESET))
        return false;
    if ((s & VIRTIO_STATUS_DRIVER_OK) && !(s & VIRTIO_STATUS_FEATURES_OK))
        return false;
    if ((s & VIRTIO_STATUS_FEATURES_OK) &&
        ((st->drv_features & ~d->dev_features) ||
         !(st->drv_features & (1ULL << VIRTIO_F_VERSION_1))))
        return false;
    if (st->isr & ~(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG))
        return false;
    for (unsigned i = 0; i < st->num_queues; i++)
        if (!queue_valid(d, &st->q[i]))
            return false;
    return true;
}

int virtio_dev_load_state(struct virtio_dev *d, struct sstate_reader *r,
                          struct virtio_dev_state *st)
{
    memset(st, 0, sizeof(*st));
    uint32_t id = sstate_get_u32(r);
    st->status = sstate_get_u8(r);
    st->drv_features = sstate_get_u64(r);
    st->dev_feat_sel = sstate_get_u32(r);
    st->drv_feat_sel = sstate_get_u32(r);
    st->queue_sel = sstate_get_u32(r);
    st->shm_sel = sstate_get_u32(r);
    st->isr = sstate_get_u32(r);
    st->config_gen = sstate_get_u32(r);
    uint32_t nq = sstate_get_u32(r);
    if (r->err)
        return r->err;
    if (id != d->ops->device_id || nq != d->ops->num_queues)
        return sstate_fail(r, -EINVAL);
    st->num_queues = nq;
    for (unsigned i = 0; i < nq; i++) {
        struct virtio_queue_state *q = &st->q[i];
        q->num = sstate_get_u32(r);
        q->desc = sstate_get_u64(r);
        q->avail = sstate_get_u64(r);
        q->used = sstate_get_u64(r);
        uint8_t fl = sstate_get_u8(r);
        uint32_t la = sstate_get_u32(r), ui = sstate_get_u32(r);
        if (r->err)
            return r->err;
        if ((fl & ~QF_ALL) || la > UINT16_MAX || ui > UINT16_MAX)
            return sstate_fail(r, -EINVAL);
        q->ready = fl & QF_READY;
        q->event_idx = fl & QF_EVENT_IDX;
        q->indirect = fl & QF_INDIRECT;
        q->broken = fl & QF_BROKEN;
        q->last_avail = (uint16_t)la;
        q->used_idx = (uint16_t)ui;
    }
    if (!dev_valid(d, st))
        return sstate_fail(r, -EINVAL);
    return 0;
}

void virtio_dev_apply_state(struct virtio_dev *d, const struct virtio_dev_state *st)
{
    for (unsigned i = 0; i < d->ops->num_queues; i++) {
        struct virtq *vq = &d->vqs[i];
        const struct virtio_queue_state *q = &st->q[i];
        pthread_mutex_lock(&vq->lock);
        vq->num = q->num;
        vq->desc = q->desc;
        vq->avail = q->avail;
        vq->used = q->used;
        vq->ready = q->ready;
        vq->event_idx = q->event_idx;
        vq->indirect = q->indirect;
        vq->broken = q->broken;
        vq->last_avail = q->last_avail;
        vq->used_idx = q->used_idx;
        vq->gen++;      /* chains popped before are stale */
        pthread_mutex_unlock(&vq->lock);
    }
    pthread_mutex_lock(&d->lock);
    unsigned keep = atomic_load(&d->status) & VIRTIO_STATUS_QUIESCED_;
    atomic_store(&d->status, st->status | keep);
    atomic_store(&d->config_gen, st->config_gen);
    d->drv_features = st->drv_features;
    d->dev_feat_sel = st->dev_feat_sel;
    d->drv_feat_sel = st->drv_feat_sel;
    d->queue_sel = st->queue_sel;
    d->shm_sel = st->shm_sel;
    d->isr = st->isr;
    /* A device that already needs a reset logged it before the save. */
    d->logged = st->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    /* Drive the line whatever it was: a pending interrupt is raised
     * again, a device restored without one lowers its line. */
    d->line = d->isr != 0;
    if (d->irq.set)
        d->irq.set(d->irq.opaque, d->irq.line, d->line);
    pthread_mutex_unlock(&d->lock);
}

/* ------------------------------------------------------------ device tree */

#define CHK(x)                                  \
    do {                                        \
        int err_ = (x);                         \
        if (err_ < 0)                           \
            return err_;                        \
    } while (0)

int virtio_mmio_fdt_node(const struct device_fdt_ctx *ctx)
{
    char name[40];
    snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)ctx->base);
    fdt64_t reg[2] = { cpu_to_fdt64(ctx->base), cpu_to_fdt64(ctx->size) };
    CHK(fdt_begin_node(ctx->fdt, name));
    CHK(fdt_property_string(ctx->fdt, "compatible", "virtio,mmio"));
    CHK(fdt_property(ctx->fdt, "reg", reg, sizeof(reg)));
    CHK(fdt_property_u32(ctx->fdt, "interrupts", ctx->irq));
    CHK(fdt_property_u32(ctx->fdt, "interrupt-parent", ctx->plic_phandle));
    return fdt_end_node(ctx->fdt);
}
