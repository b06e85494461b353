/* Unit tests for hw/clint.c: msip, mtimecmp, mtime, deadlines, reset and
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

#define NHARTS 3
#define MSIP(h)     (0x0000 + 4 * (h))
#define MTIMECMP(h) (0x4000 + 8 * (h))
#define MTIME       0xbff8

struct fixture {
    struct vclock clock;        /* 1 Hz: time stands still during a test */
    struct clint *c;
    bool level[NHARTS][16];
    int calls;
};

static void set_irq(void *opaque, unsigned hart, unsigned bit, bool level)
{
    struct fixture *f = opaque;
    assert_true(hart < NHARTS);
    assert_true(bit == HW_IRQ_MSI || bit == HW_IRQ_MTI);
    f->level[hart][bit] = level;
    f->calls++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    vclock_init(&f->clock, 1);
    f->clock.offset_ticks += 1000;      /* mtime reads ~1000 */
    struct hw_irq_sink sink = { set_irq, f };
    f->c = clint_new(NHARTS, &f->clock, &sink);
    assert_non_null(f->c);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    clint_free(f->c);
    free(f);
    return 0;
}

static uint64_t rd(struct fixture *f, uint64_t off, unsigned size)
{
    return clint_mmio_ops.read(f->c, off, size);
}

static void wr(struct fixture *f, uint64_t off, uint64_t v, unsigned size)
{
    clint_mmio_ops.write(f->c, off, v, size);
}

static void test_new_rejects(void **state)
{
    struct fixture *f = *state;
    assert_null(clint_new(0, &f->clock, NULL));
    assert_null(clint_new(CLINT_MAX_HARTS + 1, &f->clock, NULL));
    assert_null(clint_new(1, NULL, NULL));
}

static void test_msip(void **state)
{
    struct fixture *f = *state;
    wr(f, MSIP(1), 0xffffffff, 4);
    assert_true(f->level[1][HW_IRQ_MSI]);
    assert_false(f->level[0][HW_IRQ_MSI]);
    assert_int_equal(rd(f, MSIP(1), 4), 1);         /* only bit 0 exists */
    wr(f, MSIP(1), 2, 4);
    assert_false(f->level[1][HW_IRQ_MSI]);
    /* a 64-bit store covers msip[0] and msip[1] */
    wr(f, MSIP(0), 0x100000001ULL, 8);
    assert_true(f->level[0][HW_IRQ_MSI]);
    assert_true(f->level[1][HW_IRQ_MSI]);
    assert_int_equal(rd(f, MSIP(0), 8), 0x100000001ULL);
    /* no such hart: ignored, reads 0 */
    int calls = f->calls;
    wr(f, MSIP(NHARTS), 1, 4);
    wr(f, MSIP(100), 1, 4);
    assert_int_equal(f->calls, calls);
    assert_int_equal(rd(f, MSIP(NHARTS), 4), 0);
    /* misaligned: ignored */
    wr(f, MSIP(2) + 1, 1, 4);
    assert_false(f->level[2][HW_IRQ_MSI]);
}

static void test_mtimecmp_reset_and_rw(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, MTIMECMP(0), 8), UINT64_MAX);
    assert_int_equal(rd(f, MTIMECMP(2) + 4, 4), 0xffffffff);
    clint_update(f->c);
    assert_false(f->level[0][HW_IRQ_MTI]);
    wr(f, MTIMECMP(2), 0x1234567890ULL, 8);
    assert_int_equal(rd(f, MTIMECMP(2), 8), 0x1234567890ULL);
    assert_int_equal(rd(f, MTIMECMP(2), 4), 0x34567890);
    assert_int_equal(rd(f, MTIMECMP(2) + 4, 4), 0x12);
    assert_int_equal(rd(f, MTIMECMP(NHARTS), 8), 0);
}

static void test_mtip_immediate(void **state)
{
    struct fixture *f = *state;
    uint64_t now = clint_mtime(f->c);
    assert_true(now >= 1000 && now < 1100);
    wr(f, MTIMECMP(0), now + 1000, 8);
    assert_false(f->level[0][HW_IRQ_MTI]);
    wr(f, MTIMECMP(0), now, 8);                 /* due: raised at once */
    assert_true(f->level[0][HW_IRQ_MTI]);
    assert_false(f->level[1][HW_IRQ_MTI]);
    int calls = f->calls;
    clint_update(f->c);                         /* no duplicate edges */
    assert_int_equal(f->calls, calls);
    wr(f, MTIMECMP(0) + 4, 0x7fffffff, 4);      /* high half: far future */
    assert_false(f->level[0][HW_IRQ_MTI]);
}

static void test_update_when_time_passes(void **state)
{
    struct fixture *f = *state;
    uint64_t now = clint_mtime(f->c);
    wr(f, MTIMECMP(1), now + 500, 8);
    clint_update(f->c);
    assert_false(f->level[1][HW_IRQ_MTI]);
    f->clock.offset_ticks += 600;               /* time jumps forward */
    clint_update(f->c);
    assert_true(f->level[1][HW_IRQ_MTI]);
}

static void test_mtime_write(void **state)
{
    struct fixture *f = *state;
    wr(f, MTIME, 1000000, 8);
    uint64_t t = rd(f, MTIME, 8);
    assert_true(t >= 1000000 && t < 1000100);
    t = vclock_now(&f->clock);                  /* the VM clock (`time`) moved */
    assert_true(t >= 1000000 && t < 1000100);
    wr(f, MTIME + 4, 1, 4);                      /* high half */
    t = rd(f, MTIME, 8);
    assert_int_equal(t >> 32, 1);
    /* mtimecmp compares against the written mtime */
    wr(f, MTIMECMP(0), (1ULL << 32) + 500, 8);
    assert_true(f->level[0][HW_IRQ_MTI]);
    wr(f, MTIME, 0, 8);
    assert_false(f->level[0][HW_IRQ_MTI]);
}

static void test_next_deadline(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(clint_next_deadline(f->c, 0), UINT64_MAX);     /* unarmed */
    assert_int_equal(clint_next_deadline(f->c, NHARTS), UINT64_MAX);
    wr(f, MTIME, 50000, 8);
    wr(f, MTIMECMP(0), 50000 + 300, 8);
    assert_int_equal(clint_next_deadline(f->c, 0), 50300);
    assert_true(vclock_ns_until(&f->clock, 50300) > 290ULL * 1000000000ULL);
    wr(f, MTIMECMP(0), 10, 8);                  /* already raised */
    assert_int_equal(clint_next_deadline(f->c, 0), UINT64_MAX);
}

static void test_bad_accesses(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, 0x8000, 4), 0);      /* hole */
    assert_int_equal(rd(f, MTIME + 2, 4), 0);   /* misaligned */
    assert_int_equal(rd(f, MTIME, 3), 0);       /* bad size */
    wr(f, MTIMECMP(0) + 2, 0, 4);
    assert_int_equal(rd(f, MTIMECMP(0), 8), UINT64_MAX);
    wr(f, 0xfff0, 1, 8);
    assert_int_equal(f->calls, 0);
}

/* A second CLINT on the same clock, its wires recorded in `g`. */
static struct clint *second(struct fixture *f, struct fixture *g, unsigned nharts)
{
    memset(g, 0, sizeof(*g));
    struct hw_irq_sink sink = { set_irq, g };
    struct clint *c = clint_new(nharts, &f->clock, &sink);
    assert_non_null(c);
    return c;
}

/* Drive f's CLINT into a state with every kind of value in it. */
static void busy_state(struct fixture *f)
{
    wr(f, MSIP(1), 1, 4);
    wr(f, MTIMECMP(0), 5000, 8);                /* ahead of mtime (~1000) */
    wr(f, MTIMECMP(2), 10, 8);                  /* behind: MTIP */
    wr(f, MTIMECMP(1) + 4, 0x12345678, 4);      /* high half only */
}

static void test_save_restore(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    struct devstate s = devstate_save(&clint_device_ops, f->c);
    assert_int_equal(s.len, SSTATE_HDR_LEN + 4 + NHARTS * 9);
    struct clint *c2 = second(f, &g, NHARTS);
    assert_int_equal(devstate_restore(&clint_device_ops, c2, s.buf, s.len), 0);
    devstate_expect(&clint_device_ops, c2, &s);
    /* Every register reads the same; every wire was driven to match. */
    for (unsigned h = 0; h < NHARTS; h++) {
        assert_int_equal(clint_mmio_ops.read(c2, MSIP(h), 4), rd(f, MSIP(h), 4));
        assert_int_equal(clint_mmio_ops.read(c2, MTIMECMP(h), 8), rd(f, MTIMECMP(h), 8));
        assert_int_equal(g.level[h][HW_IRQ_MSI], f->level[h][HW_IRQ_MSI]);
        assert_int_equal(g.level[h][HW_IRQ_MTI], f->level[h][HW_IRQ_MTI]);
    }
    assert_true(g.level[1][HW_IRQ_MSI] && g.level[2][HW_IRQ_MTI]);
    assert_int_equal(g.calls, 2 * NHARTS);
    assert_int_equal(clint_next_deadline(c2, 0), 5000);
    /* And it goes on alike: lowering MSIP and MTIP. */
    clint_mmio_ops.write(c2, MSIP(1), 0, 4);
    clint_mmio_ops.write(c2, MTIMECMP(2), UINT64_MAX, 8);
    assert_false(g.level[1][HW_IRQ_MSI] || g.level[2][HW_IRQ_MTI]);
    clint_free(c2);
    free(s.buf);
}

/* A restore drives the wires even where the new device thinks they are
 * already at that level: the harts' wires may say otherwise. */
static void test_restore_redrives_all(void **state)
{
    struct fixture *f = *state, g;
    struct devstate s = devstate_save(&clint_device_ops, f->c);   /* all low */
    struct clint *c2 = second(f, &g, NHARTS);
    g.level[0][HW_IRQ_MSI] = g.level[1][HW_IRQ_MTI] = true;       /* stale wires */
    assert_int_equal(devstate_restore(&clint_device_ops, c2, s.buf, s.len), 0);
    assert_int_equal(g.calls, 2 * NHARTS);
    assert_false(g.level[0][HW_IRQ_MSI] || g.level[1][HW_IRQ_MTI]);
    clint_free(c2);
    free(s.buf);
}

static void test_restore_refuses(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    struct devstate s = devstate_save(&clint_device_ops, f->c);
    /* Another CLINT, in another state, must come through unchanged. */
    struct clint *c2 = second(f, &g, NHARTS);
    clint_mmio_ops.write(c2, MSIP(0), 1, 4);
    clint_mmio_ops.write(c2, MTIMECMP(1), 777, 8);
    devstate_check_damage(&clint_device_ops, c2, &s);
    devstate_check_field(&clint_device_ops, c2, &s, 0, 4, NHARTS + 1);  /* nharts */
    devstate_check_field(&clint_device_ops, c2, &s, 4 + 9 * 1, 1, 2);   /* msip[1] */
    devstate_check_field(&clint_device_ops, c2, &s, 4 + 9 * 2, 1, 0x80);
    assert_int_equal(clint_mmio_ops.read(c2, MSIP(0), 4), 1);
    assert_int_equal(clint_mmio_ops.read(c2, MTIMECMP(1), 8), 777);
    clint_free(c2);
    /* A CLINT of another size refuses it. */
    c2 = second(f, &g, NHARTS - 1);
    struct devstate before = devstate_save(&clint_device_ops, c2);
    assert_int_equal(devstate_restore(&clint_device_ops, c2, s.buf, s.len), -EINVAL);
    devstate_expect(&clint_device_ops, c2, &before);
    clint_free(c2);
    free(before.buf);
    free(s.buf);
}

static void test_reset(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    clint_device_ops.reset(f->c);
    for (unsigned h = 0; h < NHARTS; h++) {
        assert_int_equal(rd(f, MSIP(h), 4), 0);
        assert_int_equal(rd(f, MTIMECMP(h), 8), UINT64_MAX);
        assert_false(f->level[h][HW_IRQ_MSI] || f->level[h][HW_IRQ_MTI]);
    }
    struct clint *c2 = second(f, &g, NHARTS);
    struct devstate fresh = devstate_save(&clint_device_ops, c2);
    devstate_expect(&clint_device_ops, f->c, &fresh);
    clint_free(c2);
    free(fresh.buf);
}

static void test_ops_table(void **state)
{
    assert_string_equal(clint_device_ops.tag, "clint");
    assert_non_null(clint_device_ops.fdt_node);
    assert_null(clint_device_ops.quiesce);
    assert_null(clint_device_ops.resume);
    /* destroy frees (checked by the sanitizers' leak check). */
    struct fixture *f = *state;
    clint_device_ops.destroy(clint_new(1, &f->clock, NULL));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_new_rejects), T(test_msip), T(test_mtimecmp_reset_and_rw),
        T(test_mtip_immediate), T(test_update_when_time_passes),
        T(test_mtime_write), T(test_next_deadline), T(test_bad_accesses),
        T(test_save_restore), T(test_restore_redrives_all), T(test_restore_refuses),
        T(test_reset), T(test_ops_table),
    };
    return cmocka_run_group_tests_name("clint", tests, NULL, NULL);
}
