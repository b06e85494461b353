/* Unit tests for hw/rtc.c: goldfish RTC time latch, set, alarm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

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

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_time_latch), T(test_real_clock), T(test_set_time), T(test_alarm),
        T(test_bad_accesses),
    };
    return cmocka_run_group_tests_name("rtc", tests, NULL, NULL);
}
