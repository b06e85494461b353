/* Test helpers for the virtio unit tests: a guest address space with RAM
 * at 0x8000_0000, a driver that sets a device up through the virtio-mmio
 * registers exactly as Linux's virtio_mmio does, and builders for split
 * rings in guest RAM (Virtio 1.2 section 2.7 layout).  Header-only: each
 * test program includes it once. */
#ifndef VESSEL_TEST_VIRTIO_FAKE_H
#define VESSEL_TEST_VIRTIO_FAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem/mem.h"
#include "virtio/virtio.h"

#define FAKE_RAM   0x80000000ULL
#define FAKE_RAM_SIZE (4ULL << 20)
#define FAKE_DESC  (FAKE_RAM + 0x1000)
#define FAKE_AVAIL (FAKE_RAM + 0x2000)
#define FAKE_USED  (FAKE_RAM + 0x3000)
#define FAKE_BUF   (FAKE_RAM + 0x10000)     /* scratch buffers from here */
#define FAKE_IND   (FAKE_RAM + 0x8000)      /* indirect tables */

struct fake_irq {
    bool level;
    unsigned raised;        /* rising edges */
};

static void fake_irq_set(void *opaque, unsigned line, bool level)
{
    struct fake_irq *f = opaque;
    (void)line;
    if (level && !f->level)
        f->raised++;
    f->level = level;
}

struct fake_driver {
    struct mem *mem;
    struct virtio_dev *dev;
    struct fake_irq irq;
    unsigned qsize;
    uint16_t avail_idx;
};

static inline uint32_t fk_rd(struct fake_driver *f, uint64_t off)
{
    return (uint32_t)virtio_mmio_ops.read(f->dev, off, 4);
}

static inline void fk_wr(struct fake_driver *f, uint64_t off, uint32_t v)
{
    virtio_mmio_ops.write(f->dev, off, v, 4);
}

static inline void fk_put16(struct fake_driver *f, uint64_t gpa, uint16_t v)
{
    mem_write(f->mem, gpa, &v, 2);
}

static inline uint16_t fk_get16(struct fake_driver *f, uint64_t gpa)
{
    uint16_t v = 0;
    mem_read(f->mem, gpa, &v, 2);
    return v;
}

static inline uint32_t fk_get32(struct fake_driver *f, uint64_t gpa)
{
    uint32_t v = 0;
    mem_read(f->mem, gpa, &v, 4);
    return v;
}

/* Negotiate `features` (OR VERSION_1) and reach FEATURES_OK.  Returns the
 * status read back. */
static inline uint32_t fk_negotiate(struct fake_driver *f, uint64_t features)
{
    features |= 1ULL << VIRTIO_F_VERSION_1;
    fk_wr(f, VIRTIO_MMIO_STATUS, 0);
    fk_wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    fk_wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    fk_wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    fk_wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    fk_wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    fk_wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    fk_wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                 VIRTIO_STATUS_FEATURES_OK);
    return fk_rd(f, VIRTIO_MMIO_STATUS);
}

/* Set up queue q with `size` entries at the FAKE_* addresses (rings
 * cleared first). */
static inline void fk_queue(struct fake_driver *f, unsigned q, unsigned size,
                            uint64_t desc, uint64_t avail, uint64_t used)
{
    static const uint8_t zero[0x1000];
    mem_write(f->mem, FAKE_DESC, zero, sizeof(zero));
    mem_write(f->mem, FAKE_AVAIL, zero, sizeof(zero));
    mem_write(f->mem, FAKE_USED, zero, sizeof(zero));
    f->qsize = size;
    f->avail_idx = 0;
    fk_wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
    fk_wr(f, VIRTIO_MMIO_QUEUE_NUM, size);
    fk_wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    fk_wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    fk_wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    fk_wr(f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    fk_wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    fk_wr(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    fk_wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

static inline void fk_driver_ok(struct fake_driver *f)
{
    fk_wr(f, VIRTIO_MMIO_STATUS, fk_rd(f, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

/* Descriptor i of the table at `table`. */
static inline void fk_desc_at(struct fake_driver *f, uint64_t table, unsigned i,
                              uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t b[16];
    memcpy(b, &addr, 8);
    memcpy(b + 8, &len, 4);
    memcpy(b + 12, &flags, 2);
    memcpy(b + 14, &next, 2);
    mem_write(f->mem, table + 16ULL * i, b, 16);
}

static inline void fk_desc(struct fake_driver *f, unsigned i, uint64_t addr, uint32_t len,
                           uint16_t flags, uint16_t next)
{
    fk_desc_at(f, FAKE_DESC, i, addr, len, flags, next);
}

/* Make chain `head` available (avail ring entry + idx). */
static inline void fk_avail(struct fake_driver *f, uint16_t head)
{
    fk_put16(f, FAKE_AVAIL + 4 + 2ULL * (f->avail_idx % f->qsize), head);
    f->avail_idx++;
    fk_put16(f, FAKE_AVAIL + 2, f->avail_idx);
}

static inline uint16_t fk_used_idx(struct fake_driver *f)
{
    return fk_get16(f, FAKE_USED + 2);
}

/* Used ring element i: id and len. */
static inline void fk_used_elem(struct fake_driver *f, unsigned i, uint32_t *id, uint32_t *len)
{
    *id = fk_get32(f, FAKE_USED + 4 + 8ULL * (i % f->qsize));
    *len = fk_get32(f, FAKE_USED + 8 + 8ULL * (i % f->qsize));
}

static inline bool fk_needs_reset(struct fake_driver *f)
{
    return fk_rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

/* ---- several queues: one ring set per queue, each in its own pages ---- */

/* Queue q's rings at `base` (descriptors), base + 0x1000 (driver area)
 * and base + 0x2000 (device area). */
struct fk_ring {
    unsigned q, size;
    uint64_t desc, avail, used;
    uint16_t avail_idx;         /* driver's shadow */
    unsigned next_desc;         /* next free descriptor (round robin) */
};

/* Clear the rings, program queue q's registers and set it ready. */
static inline void fk_ring_init(struct fake_driver *f, struct fk_ring *r, unsigned q,
                                unsigned size, uint64_t base)
{
    static const uint8_t zero[0x3000];
    *r = (struct fk_ring){ .q = q, .size = size, .desc = base, .avail = base + 0x1000,
                           .used = base + 0x2000 };
    mem_write(f->mem, base, zero, sizeof(zero));
    fk_wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
    fk_wr(f, VIRTIO_MMIO_QUEUE_NUM, size);
    fk_wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r->desc);
    fk_wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(r->desc >> 32));
    fk_wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)r->avail);
    fk_wr(f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(r->avail >> 32));
    fk_wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)r->used);
    fk_wr(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(r->used >> 32));
    fk_wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Publish a chain of n buffers gpa[i]/len[i]; the first `nout` are
 * device-readable, the rest device-writable.  Returns the head; does not
 * notify. */
static inline uint16_t fk_ring_add(struct fake_driver *f, struct fk_ring *r, const uint64_t *gpa,
                                   const uint32_t *len, unsigned n, unsigned nout)
{
    uint16_t head = (uint16_t)(r->next_desc % r->size);
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (head + k) % r->size;
        uint16_t flags = (uint16_t)((k >= nout ? VIRTQ_DESC_F_WRITE : 0) |
                                    (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        fk_desc_at(f, r->desc, i, gpa[k], len[k], flags, (uint16_t)((i + 1) % r->size));
    }
    r->next_desc += n;
    fk_put16(f, r->avail + 4 + 2ULL * (r->avail_idx % r->size), head);
    r->avail_idx++;
    fk_put16(f, r->avail + 2, r->avail_idx);
    return head;
}

static inline uint16_t fk_ring_used_idx(struct fake_driver *f, const struct fk_ring *r)
{
    return fk_get16(f, r->used + 2);
}

static inline void fk_ring_used_elem(struct fake_driver *f, const struct fk_ring *r, unsigned i,
                                     uint32_t *id, uint32_t *len)
{
    *id = fk_get32(f, r->used + 4 + 8ULL * (i % r->size));
    *len = fk_get32(f, r->used + 8 + 8ULL * (i % r->size));
}

/* EVENT_IDX fields (2.7.10): the driver's used_event, the device's
 * avail_event. */
static inline void fk_ring_set_used_event(struct fake_driver *f, const struct fk_ring *r,
                                          uint16_t v)
{
    fk_put16(f, r->avail + 4 + 2ULL * r->size, v);
}

static inline uint16_t fk_ring_avail_event(struct fake_driver *f, const struct fk_ring *r)
{
    return fk_get16(f, r->used + 4 + 8ULL * r->size);
}

static inline void fk_ack(struct fake_driver *f)
{
    uint32_t isr = fk_rd(f, VIRTIO_MMIO_INTERRUPT_STATUS);
    if (isr)
        fk_wr(f, VIRTIO_MMIO_INTERRUPT_ACK, isr);
}

/* A second address space holding a copy of f's RAM: what a restored VM's
 * memory looks like.  Returns NULL on failure. */
static inline struct mem *fk_clone_ram(struct mem *src)
{
    const size_t chunk = 64 << 10;
    uint8_t *buf = malloc(chunk);
    struct mem *m = mem_new();
    if (!buf || !m || mem_add_ram(m, FAKE_RAM, FAKE_RAM_SIZE)) {
        free(buf);
        mem_free(m);
        return NULL;
    }
    for (uint64_t off = 0; off < FAKE_RAM_SIZE; off += chunk) {
        mem_read(src, FAKE_RAM + off, buf, chunk);
        mem_write(m, FAKE_RAM + off, buf, chunk);
    }
    free(buf);
    return m;
}

/* Do two address spaces hold the same bytes in [gpa, gpa + len)? */
static inline bool fk_ram_equal(struct mem *a, struct mem *b, uint64_t gpa, uint64_t len)
{
    uint8_t x[4096], y[4096];
    for (uint64_t off = 0; off < len; off += sizeof(x)) {
        size_t n = (size_t)(len - off < sizeof(x) ? len - off : sizeof(x));
        mem_read(a, gpa + off, x, n);
        mem_read(b, gpa + off, y, n);
        if (memcmp(x, y, n))
            return false;
    }
    return true;
}

#endif
