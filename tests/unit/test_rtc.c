/* Unit tests for hw/rtc.c: goldfish RTC time latch, set, alarm, reset and
 * saved state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devstate.h"
#include "hw/hw.h"

#define LINE 11         /* any PLIC source: the line number is passed through */

#define TIME_LOW        0x00
#define TIME_HIGH       0x04
#define ALARM_LOW       0x08
#define ALARM_HIGH      0x0c
#define IRQ_ENABLED     0x10
#define CLEAR_ALARM     0x14
#define ALARM_STATUS    0x18
#define CLEAR_INTERRUPT 0x1c

struct fixture {
    struct rtc *r;
    uint64_t now;       /* fake host wall clock, ns */
    bool irq;
    int edges;
};

static uint64_t fake_now(void *opaque)
{
    return ((struct fixture *)opaque)->now;
}

static void set_line(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    assert_int_equal(line, LINE);
    f->irq = level;
    f->edges++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->now = 0x123456789abcdef0ULL;
    struct hw_line irq = { set_line, f, LINE };
    f->r = rtc_new(&irq, fake_now, f);
    assert_non_null(f->r);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rtc_free(f->r);
    free(f);
    return 0;
}

static uint32_t rd(struct fixture *f, uint64_t off)
{
    return (uint32_t)rtc_mmio_ops.read(f->r, off, 4);
}

static void wr(struct fixture *f, uint64_t off, uint32_t v)
{
    rtc_mmio_ops.write(f->r, off, v, 4);
}

static void test_time_latch(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, TIME_LOW), 0x9abcdef0);
    f->now += 1ULL << 32;                   /* high half moves after the latch */
    assert_int_equal(rd(f, TIME_HIGH), 0x12345678);
    assert_int_equal(rd(f, TIME_LOW), 0x9abcdef0);
    assert_int_equal(rd(f, TIME_HIGH), 0x12345679);
}

static void test_real_clock(void **state)
{
    struct rtc *r = rtc_new(NULL, NULL, NULL);
    assert_non_null(r);
    uint64_t lo = rtc_mmio_ops.read(r, TIME_LOW, 4);
    uint64_t t = rtc_mmio_ops.read(r, TIME_HIGH, 4) << 32 | lo;
    assert_true(t > 1600000000ULL * 1000000000ULL);  /* after Sept 2020 */
    rtc_free(r);
}

static void test_set_time(void **state)
{
    struct fixture *f = *state;
    wr(f, TIME_HIGH, 0x1);
    wr(f, TIME_LOW, 0x1000);                /* commits 0x1_0000_1000 */
    f->now += 5;
    assert_int_equal(rd(f, TIME_LOW), 0x1005);
    assert_int_equal(rd(f, TIME_HIGH), 0x1);
}

static void test_alarm(void **state)
{
    struct fixture *f = *state;
    wr(f, IRQ_ENABLED, 1);
    assert_int_equal(rd(f, IRQ_ENABLED), 1);
    wr(f, ALARM_HIGH, 0x12345678);
    wr(f, ALARM_LOW, 0xa0000000);
    assert_int_equal(rd(f, ALARM_STATUS), 1);
    rtc_update(f->r);
    assert_false(f->irq);
    f->now = 0x12345678a0000000ULL;
    rtc_update(f->r);
    assert_true(f->irq);
    assert_int_equal(rd(f, ALARM_STATUS), 0);
    wr(f, CLEAR_INTERRUPT, 1);
    assert_false(f->irq);
    /* disarmed alarms and disabled interrupts stay quiet */
    wr(f, ALARM_LOW, 0xb0000000);
    wr(f, CLEAR_ALARM, 1);
    f->now += 1ULL << 30;
    rtc_update(f->r);
    assert_false(f->irq);
    wr(f, IRQ_ENABLED, 0);
    wr(f, ALARM_LOW, 0);                    /* in the past: fires at once */
    assert_false(f->irq);
    wr(f, IRQ_ENABLED, 1);                  /* pending shows when enabled */
    assert_true(f->irq);
}

static void test_bad_accesses(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rtc_mmio_ops.read(f->r, TIME_LOW, 8), 0);
    assert_int_equal(rtc_mmio_ops.read(f->r, 2, 4), 0);
    assert_int_equal(rd(f, 0x20), 0);
    assert_int_equal(rd(f, 0xffc), 0);
    rtc_mmio_ops.write(f->r, IRQ_ENABLED, 1, 1);
    wr(f, 0x800, 1);
    assert_int_equal(rd(f, IRQ_ENABLED), 0);
    assert_int_equal(f->edges, 0);
}

/* Payload offsets of the "rtc" section (hw/rtc.c). */
#define ST_ARMED   28
#define ST_ENABLED 29
#define ST_PENDING 30

static struct rtc *second(struct fixture *f, struct fixture *g)
{
    memset(g, 0, sizeof(*g));
    g->now = f->now;
    struct hw_line irq = { set_line, g, LINE };
    struct rtc *r = rtc_new(&irq, fake_now, g);
    assert_non_null(r);
    return r;
}

/* Time set by the guest, latched, an interrupt pending from a past alarm
 * and a new alarm armed with different staged halves. */
static void busy_state(struct fixture *f)
{
    wr(f, TIME_HIGH, 0x17);
    wr(f, TIME_LOW, 0x89abcdef);                    /* guest time 0x17_89abcdef */
    wr(f, IRQ_ENABLED, 1);
    wr(f, ALARM_HIGH, 0x17);
    wr(f, ALARM_LOW, 0x89abcde0);                   /* past: fires */
    assert_true(f->irq);
    wr(f, ALARM_HIGH, 0x18);
    wr(f, ALARM_LOW, 0x100);                        /* future: armed */
    wr(f, TIME_HIGH, 0x99);                         /* staged, not applied */
    f->now += 1000;
    assert_int_equal(rd(f, TIME_LOW), 0x89abcdef + 1000);   /* latches 0x17 */
}

static void test_save_restore(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    struct devstate s = devstate_save(&rtc_device_ops, f->r);
    struct rtc *r2 = second(f, &g);
    assert_int_equal(devstate_restore(&rtc_device_ops, r2, s.buf, s.len), 0);
    devstate_expect(&rtc_device_ops, r2, &s);
    assert_true(g.irq);                             /* re-driven */
    static const uint64_t regs[] = {
        TIME_HIGH, ALARM_LOW, ALARM_HIGH, IRQ_ENABLED, ALARM_STATUS, TIME_LOW, TIME_HIGH,
    };
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        assert_int_equal(rtc_mmio_ops.read(r2, regs[i], 4), rd(f, regs[i]));
    /* The same host time later, the same guest time and the same alarm. */
    wr(f, CLEAR_INTERRUPT, 1);
    rtc_mmio_ops.write(r2, CLEAR_INTERRUPT, 1, 4);
    assert_false(f->irq || g.irq);
    f->now += 0x100000000ULL;
    g.now = f->now;
    rtc_update(f->r);
    rtc_update(r2);
    assert_true(f->irq && g.irq);
    assert_int_equal(rtc_mmio_ops.read(r2, TIME_LOW, 4), rd(f, TIME_LOW));
    assert_int_equal(rtc_mmio_ops.read(r2, TIME_HIGH, 4), rd(f, TIME_HIGH));
    /* The staged TIME_HIGH was kept: setting TIME_LOW uses it. */
    wr(f, TIME_LOW, 5);
    rtc_mmio_ops.write(r2, TIME_LOW, 5, 4);
    assert_int_equal(rtc_mmio_ops.read(r2, TIME_LOW, 4), rd(f, TIME_LOW));
    assert_int_equal(rtc_mmio_ops.read(r2, TIME_HIGH, 4), 0x99);
    rtc_free(r2);
    free(s.buf);
}

static void test_restore_refuses(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    struct devstate s = devstate_save(&rtc_device_ops, f->r);
    struct rtc *r2 = second(f, &g);
    rtc_mmio_ops.write(r2, TIME_LOW, 42, 4);
    int edges = g.edges;
    devstate_check_damage(&rtc_device_ops, r2, &s);
    devstate_check_field(&rtc_device_ops, r2, &s, ST_ARMED, 1, 2);
    devstate_check_field(&rtc_device_ops, r2, &s, ST_ENABLED, 1, 0xff);
    devstate_check_field(&rtc_device_ops, r2, &s, ST_PENDING, 1, 3);
    assert_int_equal(g.edges, edges);
    assert_int_equal(rtc_mmio_ops.read(r2, TIME_LOW, 4), 42);
    rtc_free(r2);
    free(s.buf);
}

static void test_reset(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    rtc_device_ops.reset(f->r);
    assert_false(f->irq);
    assert_int_equal(rd(f, ALARM_STATUS), 0);
    assert_int_equal(rd(f, TIME_LOW), (uint32_t)f->now);    /* host time again */
    struct rtc *r2 = second(f, &g);
    assert_int_equal(rtc_mmio_ops.read(r2, TIME_LOW, 4), (uint32_t)f->now);
    struct devstate fresh = devstate_save(&rtc_device_ops, r2);
    devstate_expect(&rtc_device_ops, f->r, &fresh);
    rtc_free(r2);
    free(fresh.buf);
}

static void test_ops_table(void **state)
{
    assert_string_equal(rtc_device_ops.tag, "rtc");
    assert_non_null(rtc_device_ops.fdt_node);
    assert_null(rtc_device_ops.quiesce);
    assert_null(rtc_device_ops.resume);
    rtc_device_ops.destroy(rtc_new(NULL, NULL, NULL));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_time_latch), T(test_real_clock), T(test_set_time), T(test_alarm),
        T(test_bad_accesses), T(test_save_restore), T(test_restore_refuses),
        T(test_reset), T(test_ops_table),
    };
    return cmocka_run_group_tests_name("rtc", tests, NULL, NULL);
}
