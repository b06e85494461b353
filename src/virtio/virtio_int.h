/* virtio-internal: the transport and virtqueue structs shared by mmio.c
 * and virtqueue.c.  Devices use only virtio.h. */
#ifndef VESSEL_VIRTIO_INT_H
#define VESSEL_VIRTIO_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "util/ratelimit.h"
#include "virtio/virtio.h"

/* One ring of a queue, pinned (mem.h mem_map_iovec): host pieces of its
 * guest range, in order.  A region is one host mapping, so one piece
 * unless the ring crosses into another RAM region. */
#define VIRTQ_RING_IOV 4
struct virtq_ring {
    struct iovec iov[VIRTQ_RING_IOV];
    int n;
};

struct virtq {
    struct virtio_dev *dev;
    unsigned index;
    pthread_mutex_t lock;       /* everything below */
    /* Driver-written registers (4.2.2), ignored while ready. */
    uint32_t num;
    uint64_t desc, avail, used; /* guest-physical */
    bool ready;
    /* Features latched when the queue became ready. */
    bool event_idx, indirect;
    /* Device-side ring state (2.7). */
    uint16_t last_avail;        /* next avail ring slot to consume */
    uint16_t used_idx;          /* next used ring slot to fill */
    bool broken;                /* malformed: stopped until reset */
    uint32_t gen;               /* bumped by every reset */
    /* The rings, pinned from the first pop or push after their addresses
     * were set (enable, a restored state) until the queue is reset or
     * given other addresses: ring fields and descriptors are then reached
     * through host pointers, with no pin or lookup per access, and memory
     * operations leave the rings of a live queue alone.  mapped_*: the
     * size and addresses they were mapped for. */
    struct virtq_ring rdesc, ravail, rused;
    bool mapped;
    uint32_t mapped_num;
    uint64_t mapped_desc, mapped_avail, mapped_used;
};

/* Host-side bit kept above the status byte (never seen by the guest):
 * the device is quiesced (virtio_dev_quiesce), so virtq_pop hands out no
 * chain.  Folding it into `status` keeps the pop path's check a single
 * load. */
#define VIRTIO_STATUS_QUIESCED_ 0x100u
/* Status bits a driver may set (2.1); the reserved ones (16, 32) are
 * dropped on write so that every status a device can hold is one a
 * restore accepts. */
#define VIRTIO_STATUS_DRIVER_MASK \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK | \
     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED)

struct virtio_dev {
    const struct virtio_dev_ops *ops;
    void *opaque;
    struct mem *mem;
    struct hw_line irq;
    uint64_t dev_features;      /* offered, incl. VERSION_1 */
    atomic_uint status;         /* device status byte (2.1), plus
                                   VIRTIO_STATUS_QUIESCED_ */
    atomic_uint config_gen;
    pthread_mutex_t lock;       /* everything below */
    uint64_t drv_features;      /* written by the driver */
    uint32_t dev_feat_sel, drv_feat_sel, queue_sel, shm_sel;
    uint32_t isr;               /* InterruptStatus */
    bool line;                  /* level driven on irq */
    bool logged;                /* an error was logged since the last reset */
    struct ratelimit *log_limit;    /* the VM's, or own_limit */
    struct ratelimit own_limit;     /* until the board gives the VM's */
    struct virtq vqs[VIRTIO_MAX_QUEUES];
};

/* May queues hand out chains?  DRIVER_OK set, no DEVICE_NEEDS_RESET or
 * FAILED, not quiesced: one load on the pop path. */
static inline bool virtio_dev_active_(struct virtio_dev *d)
{
    unsigned s = atomic_load(&d->status);
    return (s & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET |
                 VIRTIO_STATUS_FAILED | VIRTIO_STATUS_QUIESCED_)) ==
           VIRTIO_STATUS_DRIVER_OK;
}

/* virtqueue.c: forget all state of a queue (device reset). */
void virtq_reset(struct virtq *vq);
/* virtqueue.c: QueueReady written with 1: validate size and ring
 * addresses; on failure the device needs a reset. */
void virtq_enable(struct virtq *vq);
void virtq_init(struct virtq *vq, struct virtio_dev *d, unsigned index);
void virtq_destroy(struct virtq *vq);

#endif
