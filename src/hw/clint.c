/* SiFive CLINT: machine software and timer interrupts.
 *
 * Register map (SiFive FU540-C000 manual ch. 9; RISC-V ACLINT spec
 * MSWI + MTIMER use the same offsets):
 *   0x0000 + 4*h   msip[h]       32-bit, bit 0 = MSIP of hart h
 *   0x4000 + 8*h   mtimecmp[h]   64-bit
 *   0xbff8         mtime         64-bit, counts at the VM clock's rate
 * mtime is the VM clock (vclock_now); a guest write to mtime moves the VM
 * clock's offset, so the harts' `time` CSR (a shadow of mtime, Privileged
 * spec 3.1.11) and Sstc follow it.
 *
 * Saved state, section "clint" version 1:
 *   u32 nharts (must equal this CLINT's), then per hart:
 *   u8 msip (0 or 1), u64 mtimecmp (any value)
 * mtime is not CLINT state: it is the VM clock, which the board saves as
 * its own section (design rule 6) and restores before the devices, so
 * MTIP is recomputed here against the restored time. */
#include "hw/hw.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hw/dt.h"
#include "hw/lanes.h"

#define CLINT_STATE_VERSION 1

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

/* ------------------------------------------------------ device interface */

/* Drive every hart's MSIP and MTIP from the state, whatever was driven
 * before (lock held): after a reset or restore the harts' wires must
 * follow the device, not its memory of what it drove. */
static void redrive(struct clint *c)
{
    uint64_t now = mtime_locked(c);
    for (unsigned h = 0; h < c->nharts; h++) {
        c->mtip[h] = now >= c->mtimecmp[h];
        drive(c, h, HW_IRQ_MSI, c->msip[h]);
        drive(c, h, HW_IRQ_MTI, c->mtip[h]);
    }
}

static void clint_reset(void *opaque)
{
    struct clint *c = opaque;
    pthread_mutex_lock(&c->lock);
    for (unsigned h = 0; h < c->nharts; h++) {
        c->msip[h] = 0;
        c->mtimecmp[h] = UINT64_MAX;
    }
    redrive(c);
    pthread_mutex_unlock(&c->lock);
}

static int clint_save(const void *opaque, struct sstate_writer *w)
{
    /* Not const: the lock.  The state itself is only read. */
    struct clint *c = (struct clint *)opaque;
    pthread_mutex_lock(&c->lock);
    sstate_begin(w, "clint", CLINT_STATE_VERSION);
    sstate_put_u32(w, c->nharts);
    for (unsigned h = 0; h < c->nharts; h++) {
        sstate_put_u8(w, (uint8_t)c->msip[h]);
        sstate_put_u64(w, c->mtimecmp[h]);
    }
    pthread_mutex_unlock(&c->lock);
    return sstate_end(w);
}

static int clint_restore(void *opaque, struct sstate_reader *r)
{
    struct clint *c = opaque;
    uint32_t version;
    int rc = sstate_open(r, "clint", CLINT_STATE_VERSION, &version);
    if (rc)
        return rc;
    if (sstate_get_u32(r) != c->nharts)
        return sstate_fail(r, -EINVAL);
    uint32_t *msip = calloc(c->nharts, sizeof(*msip));
    uint64_t *cmp = calloc(c->nharts, sizeof(*cmp));
    if (!msip || !cmp) {
        rc = sstate_fail(r, -ENOMEM);
        goto out;
    }
    for (unsigned h = 0; h < c->nharts; h++) {
        msip[h] = sstate_get_u8(r);
        cmp[h] = sstate_get_u64(r);
        if (msip[h] > 1)
            sstate_fail(r, -EINVAL);
    }
    if ((rc = sstate_close(r)))
        goto out;
    pthread_mutex_lock(&c->lock);
    memcpy(c->msip, msip, c->nharts * sizeof(*msip));
    memcpy(c->mtimecmp, cmp, c->nharts * sizeof(*cmp));
    redrive(c);
    pthread_mutex_unlock(&c->lock);
out:
    free(msip);
    free(cmp);
    return rc;
}

/* Linux Documentation/devicetree/bindings/timer/sifive,clint.yaml */
static int clint_fdt_node(void *opaque, const struct device_fdt_ctx *ctx)
{
    static const char compat[] = "sifive,clint0\0riscv,clint0";
    HW_DT_CHK(hw_dt_begin(ctx, "clint"));
    HW_DT_CHK(fdt_property(ctx->fdt, "compatible", compat, sizeof(compat)));
    HW_DT_CHK(hw_dt_reg(ctx));
    HW_DT_CHK(hw_dt_irqs_ext(ctx, HW_IRQ_MSI, HW_IRQ_MTI));
    return fdt_end_node(ctx->fdt);
}

static void clint_destroy(void *opaque)
{
    clint_free(opaque);
}

const struct device_ops clint_device_ops = {
    .tag = "clint",
    .reset = clint_reset,
    .save = clint_save,
    .restore = clint_restore,
    .fdt_node = clint_fdt_node,
    .destroy = clint_destroy,
};
