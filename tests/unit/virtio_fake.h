/* Test helpers for the virtio unit tests: a guest address space with RAM
 * at 0x8000_0000, a driver that sets a device up through the virtio-mmio
 * registers exactly as Linux's virtio_mmio does, and builders for split
 * rings in guest RAM (Virtio 1.2 section 2.7 layout).  Header-only: each
 * test program includes it once. */
#ifndef VESSEL_TEST_VIRTIO_FAKE_H
#define VESSEL_TEST_VIRTIO_FAKE_H

#include <stdbool.h>
#include <stdint.h>
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

#endif
