/* SiFive CLINT: machine software and timer interrupts.
 *
 * Register map (SiFive FU540-C000 manual ch. 9; RISC-V ACLINT spec
 * MSWI + MTIMER use the same offsets):
 *   0x0000 + 4*h   msip[h]       32-bit, bit 0 = MSIP of hart h
 *   0x4000 + 8*h   mtimecmp[h]   64-bit
 *   0xbff8         mtime         64-bit, counts at the VM clock's rate
 * mtime is the VM clock (vclock_now); a guest write to mtime moves the VM
 * clock's offset, so the harts' `time` CSR (a shadow of mtime, Privileged
 * spec 3.1.11) and Sstc follow it. */
#include "hw/hw.h"

#include <pthread.h>
#include <stdlib.h>

#include "hw/lanes.h"

#define CLINT_MSIP      0x0000
#define CLINT_MTIMECMP  0x4000
#define CLINT_MTIME     0xbff8

struct clint {
    pthread_mutex_t lock;
    struct vclock *clock;       /* shared with the harts; we move its offset */
    struct hw_irq_sink sink;
    unsigned nharts;
    uint32_t *msip;             /* [nharts], bit 0 only */
    uint64_t *mtimecmp;         /* [nharts] */
    bool *mtip;                 /* [nharts], level last driven */
};

static void drive(struct clint *c, unsigned hart, unsigned bit, bool level)
{
    if (c->sink.set_irq)
        c->sink.set_irq(c->sink.opaque, hart, bit, level);
}

struct clint *clint_new(unsigned nharts, struct vclock *clock,
                        const struct hw_irq_sink *sink)
{
    if (!nharts || nharts > CLINT_MAX_HARTS || !clock)
        return NULL;
    struct clint *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->msip = calloc(nharts, sizeof(*c->msip));
    c->mtimecmp = calloc(nharts, sizeof(*c->mtimecmp));
    c->mtip = calloc(nharts, sizeof(*c->mtip));
    if (!c->msip || !c->mtimecmp || !c->mtip) {
        clint_free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->clock = clock;
    if (sink)
        c->sink = *sink;
    c->nharts = nharts;
    for (unsigned h = 0; h < nharts; h++)
        c->mtimecmp[h] = UINT64_MAX;
    return c;
}

void clint_free(struct clint *c)
{
    if (!c)
        return;
    if (c->msip && c->mtimecmp && c->mtip)
        pthread_mutex_destroy(&c->lock);
    free(c->msip);
    free(c->mtimecmp);
    free(c->mtip);
    free(c);
}

static uint64_t mtime_locked(struct clint *c)
{
    return vclock_now(c->clock);
}

/* Recompute MTIP of one hart against `now` (lock held). */
static void update_hart(struct clint *c, unsigned h, uint64_t now)
{
    bool level = now >= c->mtimecmp[h];
    if (level != c->mtip[h]) {
        c->mtip[h] = level;
        drive(c, h, HW_IRQ_MTI, level);
    }
}

void clint_update(struct clint *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t now = mtime_locked(c);
    for (unsigned h = 0; h < c->nharts; h++)
        update_hart(c, h, now);
    pthread_mutex_unlock(&c->lock);
}

uint64_t clint_mtime(struct clint *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t now = mtime_locked(c);
    pthread_mutex_unlock(&c->lock);
    return now;
}

uint64_t clint_next_deadline(struct clint *c, unsigned hart)
{
    if (hart >= c->nharts)
        return UINT64_MAX;
    pthread_mutex_lock(&c->lock);
    uint64_t cmp = c->mtimecmp[hart];
    if (vclock_now(c->clock) >= cmp)
        cmp = UINT64_MAX;   /* already raised: nothing more to wait for */
    pthread_mutex_unlock(&c->lock);
    return cmp;
}

static uint64_t clint_read(void *opaque, uint64_t off, unsigned size)
{
    struct clint *c = opaque;
    if (!lane_ok(off, size))
        return 0;
    uint64_t word_off = off & ~7ULL, word = 0;
    pthread_mutex_lock(&c->lock);
    if (word_off < CLINT_MTIMECMP) {
        uint64_t h = word_off / 4;      /* msip[h] | msip[h+1] << 32 */
        if (h < c->nharts)
            word |= c->msip[h];
        if (h + 1 < c->nharts)
            word |= (uint64_t)c->msip[h + 1] << 32;
    } else if (word_off == CLINT_MTIME) {
        word = mtime_locked(c);
    } else if (word_off < CLINT_MTIME) {
        uint64_t h = (word_off - CLINT_MTIMECMP) / 8;
        if (h < c->nharts)
            word = c->mtimecmp[h];
    }
    pthread_mutex_unlock(&c->lock);
    return lane_extract(word, off, size);
}

static void write_msip(struct clint *c, uint64_t h, uint32_t val)
{
    if (h >= c->nharts)
        return;
    uint32_t v = val & 1;
    if (v != c->msip[h]) {
        c->msip[h] = v;
        drive(c, (unsigned)h, HW_IRQ_MSI, v);
    }
}

static void clint_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct clint *c = opaque;
    if (!lane_ok(off, size))
        return;
    uint64_t word_off = off & ~7ULL, mask = lane_mask(off, size);
    pthread_mutex_lock(&c->lock);
    if (word_off < CLINT_MTIMECMP) {
        uint64_t h = word_off / 4;
        uint64_t word = lane_merge(0, off, size, val);
        if (mask & 0xffffffffULL)
            write_msip(c, h, (uint32_t)word);
        if (mask >> 32)
            write_msip(c, h + 1, (uint32_t)(word >> 32));
    } else if (word_off == CLINT_MTIME) {
        uint64_t now = vclock_now(c->clock);
        uint64_t mtime = lane_merge(now, off, size, val);
        /* Harts read offset_ticks without our lock: store it atomically. */
        __atomic_store_n(&c->clock->offset_ticks,
                         (int64_t)((uint64_t)c->clock->offset_ticks + (mtime - now)),
                         __ATOMIC_RELAXED);
        for (unsigned h = 0; h < c->nharts; h++)
            update_hart(c, h, mtime);
    } else if (word_off < CLINT_MTIME) {
        uint64_t h = (word_off - CLINT_MTIMECMP) / 8;
        if (h < c->nharts) {
            c->mtimecmp[h] = lane_merge(c->mtimecmp[h], off, size, val);
            update_hart(c, (unsigned)h, mtime_locked(c));
        }
    }
    pthread_mutex_unlock(&c->lock);
}

const struct mmio_ops clint_mmio_ops = { .read = clint_read, .write = clint_write };
