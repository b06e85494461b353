/* virtio-mmio transport, version 2 (Virtio 1.2 section 4.2.2 register
 * layout, 4.2.3 driver/device initialisation), plus the device status and
 * feature negotiation rules of sections 2.1, 2.2 and 3.1.1. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ratelimit.h"
#include "util/util.h"
#include "virtio/virtio_int.h"

/* ------------------------------------------------------------ helpers */

/* Drive the line from InterruptStatus; dev->lock held. */
static void update_line(struct virtio_dev *d)
{
    bool level = d->isr != 0;
    if (level != d->line) {
        d->line = level;
        if (d->irq.set)
            d->irq.set(d->irq.opaque, d->irq.line, level);
    }
}

void virtio_dev_interrupt(struct virtio_dev *d, uint32_t bits)
{
    pthread_mutex_lock(&d->lock);
    d->isr |= bits;
    update_line(d);
    pthread_mutex_unlock(&d->lock);
}

void virtio_dev_config_changed(struct virtio_dev *d)
{
    atomic_fetch_add(&d->config_gen, 1);
    if (atomic_load(&d->status) & VIRTIO_STATUS_DRIVER_OK)
        virtio_dev_interrupt(d, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_dev_needs_reset(struct virtio_dev *d, const char *fmt, ...)
{
    pthread_mutex_lock(&d->lock);
    bool first = !d->logged;
    d->logged = true;
    pthread_mutex_unlock(&d->lock);
    if (first) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* Once per device until reset is not a bound: the guest resets the
         * device at will.  The VM-wide limiter is. */
        vlog_guest(d->log_limit, "%s: %s; device needs reset", d->ops->name, msg);
    }
    unsigned old = atomic_fetch_or(&d->status, VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    /* 2.1.2: with DRIVER_OK set, tell the driver by a config change
     * notification. */
    if ((old & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
        virtio_dev_interrupt(d, VIRTIO_MMIO_INT_CONFIG);
}

bool virtio_dev_running(struct virtio_dev *d)
{
    unsigned s = atomic_load(&d->status);
    return (s & VIRTIO_STATUS_DRIVER_OK) &&
           !(s & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

uint8_t virtio_dev_status(struct virtio_dev *d)
{
    return (uint8_t)atomic_load(&d->status);
}

uint64_t virtio_dev_features(struct virtio_dev *d)
{
    pthread_mutex_lock(&d->lock);
    uint64_t f = d->drv_features & d->dev_features;
    pthread_mutex_unlock(&d->lock);
    return f;
}

struct virtq *virtio_dev_queue(struct virtio_dev *d, unsigned i)
{
    return i < d->ops->num_queues ? &d->vqs[i] : NULL;
}

/* ------------------------------------------------------------ reset */

/* 2.4 / 4.2.3.1: status 0 resets the device.  Called with no lock held.
 * A quiesced device stays quiesced: that is the host's state, not the
 * guest's. */
void virtio_dev_reset(struct virtio_dev *d)
{
    pthread_mutex_lock(&d->lock);
    atomic_fetch_and(&d->status, VIRTIO_STATUS_QUIESCED_);  /* stops pops at once */
    pthread_mutex_unlock(&d->lock);
    if (d->ops->reset)
        d->ops->reset(d->opaque);   /* drains in-flight requests */
    for (unsigned i = 0; i < d->ops->num_queues; i++)
        virtq_reset(&d->vqs[i]);
    pthread_mutex_lock(&d->lock);
    d->drv_features = 0;
    d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = d->shm_sel = 0;
    d->isr = 0;
    d->logged = false;
    update_line(d);
    pthread_mutex_unlock(&d->lock);
}

/* Status write (2.1, 3.1.1).  Returns true when DRIVER_OK was just set. */
static bool write_status(struct virtio_dev *d, uint32_t val)
{
    val &= VIRTIO_STATUS_DRIVER_MASK;
    pthread_mutex_lock(&d->lock);
    unsigned old = atomic_load(&d->status);
    /* Device-owned: DEVICE_NEEDS_RESET, and the host's quiesce bit. */
    unsigned keep = old & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_QUIESCED_);
    unsigned s = val | keep;
    if ((s & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        /* 3.1.1: accept only a subset of what we offer, with VERSION_1
         * (a modern-only device, 4.2.2: legacy drivers use version 1). */
        uint64_t f = d->drv_features;
        if ((f & ~d->dev_features) || !(f & (1ULL << VIRTIO_F_VERSION_1)))
            s &= ~VIRTIO_STATUS_FEATURES_OK;
    }
    /* DRIVER_OK without FEATURES_OK is a driver bug: do not start. */
    if ((s & VIRTIO_STATUS_DRIVER_OK) && !(s & VIRTIO_STATUS_FEATURES_OK))
        s &= ~VIRTIO_STATUS_DRIVER_OK;
    atomic_store(&d->status, s);
    pthread_mutex_unlock(&d->lock);
    return (s & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK);
}

/* ------------------------------------------------------------ registers */

static uint32_t lo32(uint64_t v) { return (uint32_t)v; }
static uint32_t hi32(uint64_t v) { return (uint32_t)(v >> 32); }
static uint64_t set_lo(uint64_t v, uint32_t x) { return (v & ~0xffffffffULL) | x; }
static uint64_t set_hi(uint64_t v, uint32_t x) { return (v & 0xffffffffULL) | ((uint64_t)x << 32); }

static uint64_t config_access_read(struct virtio_dev *d, uint64_t off, unsigned size)
{
    uint64_t c = off - VIRTIO_MMIO_CONFIG;
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return 0;
    if (c + size > d->ops->config_size)
        return 0;
    uint8_t buf[8] = {0};
    if (d->ops->config_read)
        d->ops->config_read(d->opaque, (uint32_t)c, buf, size);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)buf[i] << (8 * i);
    return v;
}

static void config_access_write(struct virtio_dev *d, uint64_t off, uint64_t val,
                                unsigned size)
{
    uint64_t c = off - VIRTIO_MMIO_CONFIG;
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return;
    if (c + size > d->ops->config_size || !d->ops->config_write)
        return;
    uint8_t buf[8];
    for (unsigned i = 0; i < size; i++)
        buf[i] = (uint8_t)(val >> (8 * i));
    d->ops->config_write(d->opaque, (uint32_t)c, buf, size);
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_dev *d = opaque;
    if (off >= VIRTIO_MMIO_CONFIG)
        return config_access_read(d, off, size);
    if (size != 4 || (off & 3))
        return 0;
    uint32_t v = 0;
    pthread_mutex_lock(&d->lock);
    struct virtq *vq = d->queue_sel < d->ops->num_queues ? &d->vqs[d->queue_sel] : NULL;
    pthread_mutex_unlock(&d->lock);
    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION: return 2;
    case VIRTIO_MMIO_DEVICE_ID: return d->ops->device_id;
    case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        pthread_mutex_lock(&d->lock);
        v = d->dev_feat_sel == 0 ? lo32(d->dev_features)
          : d->dev_feat_sel == 1 ? hi32(d->dev_features) : 0;
        pthread_mutex_unlock(&d->lock);
        return v;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return vq ? d->ops->queue_max : 0;
    case VIRTIO_MMIO_QUEUE_READY:
        if (!vq)
            return 0;
        pthread_mutex_lock(&vq->lock);
        v = vq->ready;
        pthread_mutex_unlock(&vq->lock);
        return v;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        pthread_mutex_lock(&d->lock);
        v = d->isr;
        pthread_mutex_unlock(&d->lock);
        return v;
    case VIRTIO_MMIO_STATUS:
        return atomic_load(&d->status) & 0xff;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
        return 0xffffffffu;     /* no shared memory regions (4.2.2) */
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return atomic_load(&d->config_gen);
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        if (!vq)
            return 0;
        pthread_mutex_lock(&vq->lock);
        switch (off) {
        case VIRTIO_MMIO_QUEUE_NUM: v = vq->num; break;
        case VIRTIO_MMIO_QUEUE_DESC_LOW: v = lo32(vq->desc); break;
        case VIRTIO_MMIO_QUEUE_DESC_HIGH: v = hi32(vq->desc); break;
        case VIRTIO_MMIO_QUEUE_DRIVER_LOW: v = lo32(vq->avail); break;
        case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: v = hi32(vq->avail); break;
        case VIRTIO_MMIO_QUEUE_DEVICE_LOW: v = lo32(vq->used); break;
        case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: v = hi32(vq->used); break;
        }
        pthread_mutex_unlock(&vq->lock);
        return v;
    default:
        return 0;   /* write-only or reserved (QueueReset: not offered) */
    }
}

/* Queue register write: ignored while the queue is ready (4.2.3.2). */
static void queue_reg_write(struct virtio_dev *d, uint64_t off, uint32_t val)
{
    pthread_mutex_lock(&d->lock);
    uint32_t sel = d->queue_sel;
    pthread_mutex_unlock(&d->lock);
    if (sel >= d->ops->num_queues)
        return;
    struct virtq *vq = &d->vqs[sel];
    if (off == VIRTIO_MMIO_QUEUE_READY) {
        if (val & 1) {
            virtq_enable(vq);
        } else {
            /* 4.2.2: writing 0 stops the queue (the driver resets it). */
            pthread_mutex_lock(&vq->lock);
            vq->ready = false;
            pthread_mutex_unlock(&vq->lock);
        }
        return;
    }
    pthread_mutex_lock(&vq->lock);
    if (!vq->ready) {
        switch (off) {
        case VIRTIO_MMIO_QUEUE_NUM: vq->num = val; break;
        case VIRTIO_MMIO_QUEUE_DESC_LOW: vq->desc = set_lo(vq->desc, val); break;
        case VIRTIO_MMIO_QUEUE_DESC_HIGH: vq->desc = set_hi(vq->desc, val); break;
        case VIRTIO_MMIO_QUEUE_DRIVER_LOW: vq->avail = set_lo(vq->avail, val); break;
        case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: vq->avail = set_hi(vq->avail, val); break;
        case VIRTIO_MMIO_QUEUE_DEVICE_LOW: vq->used = set_lo(vq->used, val); break;
        case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: vq->used = set_hi(vq->used, val); break;
        }
    }
    pthread_mutex_unlock(&vq->lock);
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val64, unsigned size)
{
    struct virtio_dev *d = opaque;
    if (off >= VIRTIO_MMIO_CONFIG) {
        config_access_write(d, off, val64, size);
        return;
    }
    if (size != 4 || (off & 3))
        return;
    uint32_t val = (uint32_t)val64;
    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        pthread_mutex_lock(&d->lock);
        d->dev_feat_sel = val;
        pthread_mutex_unlock(&d->lock);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        pthread_mutex_lock(&d->lock);
        d->drv_feat_sel = val;
        pthread_mutex_unlock(&d->lock);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        pthread_mutex_lock(&d->lock);
        /* Frozen once FEATURES_OK is set (3.1.1). */
        if (!(atomic_load(&d->status) & VIRTIO_STATUS_FEATURES_OK)) {
            if (d->drv_feat_sel == 0)
                d->drv_features = set_lo(d->drv_features, val);
            else if (d->drv_feat_sel == 1)
                d->drv_features = set_hi(d->drv_features, val);
        }
        pthread_mutex_unlock(&d->lock);
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        pthread_mutex_lock(&d->lock);
        d->queue_sel = val;
        pthread_mutex_unlock(&d->lock);
        break;
    case VIRTIO_MMIO_SHM_SEL:
        pthread_mutex_lock(&d->lock);
        d->shm_sel = val;
        pthread_mutex_unlock(&d->lock);
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_READY:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        queue_reg_write(d, off, val);
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY: {
        /* Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index. */
        if (val >= d->ops->num_queues || !virtio_dev_running(d))
            break;
        struct virtq *vq = &d->vqs[val];
        pthread_mutex_lock(&vq->lock);
        bool ready = vq->ready && !vq->broken;
        pthread_mutex_unlock(&vq->lock);
        if (ready && d->ops->notify)
            d->ops->notify(d->opaque, val);
        break;
    }
    case VIRTIO_MMIO_INTERRUPT_ACK:
        pthread_mutex_lock(&d->lock);
        d->isr &= ~val;
        update_line(d);
        pthread_mutex_unlock(&d->lock);
        break;
    case VIRTIO_MMIO_STATUS:
        if ((val & 0xff) == 0) {
            virtio_dev_reset(d);
        } else if (write_status(d, val) && d->ops->driver_ok) {
            d->ops->driver_ok(d->opaque);
            /* Buffers made available before DRIVER_OK (allowed by
             * 3.1.1 step 7 for some devices) get their notification now. */
            for (unsigned i = 0; i < d->ops->num_queues && d->ops->notify; i++)
                if (virtq_ready(&d->vqs[i]))
                    d->ops->notify(d->opaque, i);
        }
        break;
    default:
        break;      /* read-only or reserved: ignored */
    }
}

const struct mmio_ops virtio_mmio_ops = { mmio_read, mmio_write };

/* ------------------------------------------------------------ life cycle */

struct virtio_dev *virtio_dev_new(const struct virtio_dev_ops *ops, void *opaque,
                                  uint64_t features, const struct hw_line *irq,
                                  struct mem *mem)
{
    if (!ops || !ops->num_queues || ops->num_queues > VIRTIO_MAX_QUEUES ||
        !ops->queue_max || ops->queue_max > VIRTQ_MAX_SIZE ||
        (ops->queue_max & (ops->queue_max - 1)) || ops->config_size > VIRTIO_CONFIG_MAX) {
        vlog_error("virtio: invalid device description for %s",
                   ops && ops->name ? ops->name : "(unnamed)");
        return NULL;
    }
    struct virtio_dev *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->ops = ops;
    d->opaque = opaque;
    d->mem = mem;
    if (irq)
        d->irq = *irq;
    d->dev_features = ops->features | features | (1ULL << VIRTIO_F_VERSION_1);
    pthread_mutex_init(&d->lock, NULL);
    ratelimit_init(&d->own_limit, RATELIMIT_GUEST_BURST, RATELIMIT_GUEST_PER_SEC);
    d->log_limit = &d->own_limit;
    for (unsigned i = 0; i < ops->num_queues; i++)
        virtq_init(&d->vqs[i], d, i);
    return d;
}

void virtio_dev_set_log_limit(struct virtio_dev *d, struct ratelimit *rl)
{
    d->log_limit = rl ? rl : &d->own_limit;
}

void virtio_dev_free(struct virtio_dev *d)
{
    if (!d)
        return;
    for (unsigned i = 0; i < d->ops->num_queues; i++)
        virtq_destroy(&d->vqs[i]);
    pthread_mutex_destroy(&d->lock);
    ratelimit_destroy(&d->own_limit);
    free(d);
}
