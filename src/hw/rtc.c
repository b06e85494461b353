/* Goldfish RTC (google,goldfish-rtc; Linux drivers/rtc/rtc-goldfish.c).
 *
 *   0x00 TIME_LOW         r: latch time, low 32 bits  w: low half, sets time
 *   0x04 TIME_HIGH        r: latched high 32 bits     w: high half (staged)
 *   0x08 ALARM_LOW        w: low half of alarm, arms it
 *   0x0c ALARM_HIGH       w: high half of alarm (staged)
 *   0x10 IRQ_ENABLED      r/w: bit 0
 *   0x14 CLEAR_ALARM      w: disarm
 *   0x18 ALARM_STATUS     r: 1 while armed
 *   0x1c CLEAR_INTERRUPT  w: lower the interrupt
 * Time: ns since the Unix epoch = host wall clock + offset.
 *
 * Saved state, section "rtc" version 1:
 *   u64 offset_ns (two's complement), u32 TIME_HIGH latched by the last
 *   TIME_LOW read, u32 TIME_HIGH last written, u32 ALARM_HIGH last
 *   written, u64 alarm time, u8 alarm armed, u8 IRQ_ENABLED, u8 interrupt
 *   pending (each 0 or 1).
 * The offset, not the time, is saved: a restored RTC goes on following
 * the host's wall clock (a battery-backed clock keeps counting while the
 * machine is off), with whatever offset the guest set.  A due alarm fires
 * at the next access or rtc_update(), not during the restore. */
#include "hw/hw.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "hw/dt.h"

#define RTC_TIME_LOW        0x00
#define RTC_TIME_HIGH       0x04
#define RTC_ALARM_LOW       0x08
#define RTC_ALARM_HIGH      0x0c
#define RTC_IRQ_ENABLED     0x10
#define RTC_CLEAR_ALARM     0x14
#define RTC_ALARM_STATUS    0x18
#define RTC_CLEAR_INTERRUPT 0x1c

#define RTC_STATE_VERSION 1

struct rtc {
    pthread_mutex_t lock;
    struct hw_line irq;
    uint64_t (*now_ns)(void *opaque);
    void *now_opaque;
    int64_t offset_ns;          /* guest time = host wall time + offset */
    uint32_t time_high_latch;   /* TIME_HIGH as latched by TIME_LOW read */
    uint32_t time_high_set;     /* TIME_HIGH as last written */
    uint32_t alarm_high;
    uint64_t alarm;
    bool alarm_armed, irq_enabled, irq_pending, irq_level;
};

static uint64_t realtime_ns(void *opaque)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct rtc *rtc_new(const struct hw_line *irq,
                    uint64_t (*now_ns)(void *opaque), void *now_opaque)
{
    struct rtc *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    if (irq)
        r->irq = *irq;
    r->now_ns = now_ns ? now_ns : realtime_ns;
    r->now_opaque = now_opaque;
    return r;
}

void rtc_free(struct rtc *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static uint64_t guest_now(struct rtc *r)
{
    return r->now_ns(r->now_opaque) + (uint64_t)r->offset_ns;
}

/* Drive the line from the state: on a change, or with `all` whatever was
 * driven before (after a reset or restore).  Lock held. */
static void drive_irq(struct rtc *r, bool all)
{
    bool level = r->irq_pending && r->irq_enabled;
    if (all || level != r->irq_level) {
        r->irq_level = level;
        if (r->irq.set)
            r->irq.set(r->irq.opaque, r->irq.line, level);
    }
}

/* Fire a due alarm and drive the line (lock held). */
static void check(struct rtc *r)
{
    if (r->alarm_armed && guest_now(r) >= r->alarm) {
        r->alarm_armed = false;
        r->irq_pending = true;
    }
    drive_irq(r, false);
}

void rtc_update(struct rtc *r)
{
    pthread_mutex_lock(&r->lock);
    check(r);
    pthread_mutex_unlock(&r->lock);
}

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned size)
{
    struct rtc *r = opaque;
    uint32_t v = 0;
    if (size != 4 || (off & 3))
        return 0;
    pthread_mutex_lock(&r->lock);
    switch (off) {
    case RTC_TIME_LOW: {
        uint64_t t = guest_now(r);
        r->time_high_latch = (uint32_t)(t >> 32);
        v = (uint32_t)t;
        break;
    }
    case RTC_TIME_HIGH:
        v = r->time_high_latch;
        break;
    case RTC_ALARM_LOW:
        v = (uint32_t)r->alarm;
        break;
    case RTC_ALARM_HIGH:
        v = (uint32_t)(r->alarm >> 32);
        break;
    case RTC_IRQ_ENABLED:
        v = r->irq_enabled;
        break;
    case RTC_ALARM_STATUS:
        v = r->alarm_armed;
        break;
    }
    check(r);
    pthread_mutex_unlock(&r->lock);
    return v;
}

static void rtc_write(void *opaque, uint64_t off, uint64_t val64, unsigned size)
{
    struct rtc *r = opaque;
    uint32_t val = (uint32_t)val64;
    if (size != 4 || (off & 3))
        return;
    pthread_mutex_lock(&r->lock);
    switch (off) {
    case RTC_TIME_LOW: {
        uint64_t t = (uint64_t)r->time_high_set << 32 | val;
        r->offset_ns = (int64_t)(t - r->now_ns(r->now_opaque));
        break;
    }
    case RTC_TIME_HIGH:
        r->time_high_set = val;
        break;
    case RTC_ALARM_LOW:
        r->alarm = (uint64_t)r->alarm_high << 32 | val;
        r->alarm_armed = true;
        break;
    case RTC_ALARM_HIGH:
        r->alarm_high = val;
        break;
    case RTC_IRQ_ENABLED:
        r->irq_enabled = val & 1;
        break;
    case RTC_CLEAR_ALARM:
        r->alarm_armed = false;
        break;
    case RTC_CLEAR_INTERRUPT:
        r->irq_pending = false;
        break;
    }
    check(r);
    pthread_mutex_unlock(&r->lock);
}

const struct mmio_ops rtc_mmio_ops = { .read = rtc_read, .write = rtc_write };

/* ------------------------------------------------------ device interface */

static void rtc_reset(void *opaque)
{
    struct rtc *r = opaque;
    pthread_mutex_lock(&r->lock);
    r->offset_ns = 0;
    r->time_high_latch = r->time_high_set = r->alarm_high = 0;
    r->alarm = 0;
    r->alarm_armed = r->irq_enabled = r->irq_pending = false;
    drive_irq(r, true);
    pthread_mutex_unlock(&r->lock);
}

static int rtc_save(const void *opaque, struct sstate_writer *w)
{
    struct rtc *r = (struct rtc *)opaque;       /* for the lock */
    pthread_mutex_lock(&r->lock);
    sstate_begin(w, "rtc", RTC_STATE_VERSION);
    sstate_put_u64(w, (uint64_t)r->offset_ns);
    sstate_put_u32(w, r->time_high_latch);
    sstate_put_u32(w, r->time_high_set);
    sstate_put_u32(w, r->alarm_high);
    sstate_put_u64(w, r->alarm);
    sstate_put_u8(w, r->alarm_armed);
    sstate_put_u8(w, r->irq_enabled);
    sstate_put_u8(w, r->irq_pending);
    pthread_mutex_unlock(&r->lock);
    return sstate_end(w);
}

static int rtc_restore(void *opaque, struct sstate_reader *r)
{
    struct rtc *t = opaque;
    uint32_t version;
    int rc = sstate_open(r, "rtc", RTC_STATE_VERSION, &version);
    if (rc)
        return rc;
    int64_t offset = (int64_t)sstate_get_u64(r);
    uint32_t latch = sstate_get_u32(r), high_set = sstate_get_u32(r);
    uint32_t alarm_high = sstate_get_u32(r);
    uint64_t alarm = sstate_get_u64(r);
    uint8_t armed = sstate_get_u8(r), enabled = sstate_get_u8(r);
    uint8_t pending = sstate_get_u8(r);
    if (armed > 1 || enabled > 1 || pending > 1)
        sstate_fail(r, -EINVAL);
    if ((rc = sstate_close(r)))
        return rc;
    pthread_mutex_lock(&t->lock);
    t->offset_ns = offset;
    t->time_high_latch = latch;
    t->time_high_set = high_set;
    t->alarm_high = alarm_high;
    t->alarm = alarm;
    t->alarm_armed = armed;
    t->irq_enabled = enabled;
    t->irq_pending = pending;
    drive_irq(t, true);
    pthread_mutex_unlock(&t->lock);
    return 0;
}

/* Linux Documentation/devicetree/bindings/rtc/trivial-rtc.yaml */
static int rtc_fdt_node(void *opaque, const struct device_fdt_ctx *ctx)
{
    HW_DT_CHK(hw_dt_begin(ctx, "rtc"));
    HW_DT_CHK(fdt_property_string(ctx->fdt, "compatible", "google,goldfish-rtc"));
    HW_DT_CHK(hw_dt_reg(ctx));
    HW_DT_CHK(hw_dt_irq(ctx));
    return fdt_end_node(ctx->fdt);
}

static void rtc_destroy(void *opaque)
{
    rtc_free(opaque);
}

const struct device_ops rtc_device_ops = {
    .tag = "rtc",
    .reset = rtc_reset,
    .save = rtc_save,
    .restore = rtc_restore,
    .fdt_node = rtc_fdt_node,
    .destroy = rtc_destroy,
};
