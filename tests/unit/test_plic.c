/* Unit tests for hw/plic.c: gateways, priorities, claim/complete, reset
 * and saved state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devstate.h"
#include "hw/hw.h"

#define NHARTS 2
#define PRIO(s)      (4 * (s))
#define PENDING(w)   (0x1000 + 4 * (w))
#define ENABLE(c, w) (0x2000 + 0x80 * (c) + 4 * (w))
#define THRESH(c)    (0x200000 + 0x1000 * (c))
#define CLAIM(c)     (0x200004 + 0x1000 * (c))

struct fixture {
    struct plic *p;
    bool level[NHARTS][16];
    int calls;
};

static void set_irq(void *opaque, unsigned hart, unsigned bit, bool level)
{
    struct fixture *f = opaque;
    assert_true(hart < NHARTS);
    assert_true(bit == HW_IRQ_MEI || bit == HW_IRQ_SEI);
    f->level[hart][bit] = level;
    f->calls++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct hw_irq_sink sink = { set_irq, f };
    f->p = plic_new(NHARTS, &sink);
    assert_non_null(f->p);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    plic_free(f->p);
    free(f);
    return 0;
}

static uint32_t rd(struct fixture *f, uint64_t off)
{
    return (uint32_t)plic_mmio_ops.read(f->p, off, 4);
}

static void wr(struct fixture *f, uint64_t off, uint32_t v)
{
    plic_mmio_ops.write(f->p, off, v, 4);
}

/* ctx 2h = hart h M-mode, 2h+1 = hart h S-mode */
static bool eip(struct fixture *f, unsigned ctx)
{
    return f->level[ctx / 2][ctx & 1 ? HW_IRQ_SEI : HW_IRQ_MEI];
}

static void test_new_rejects(void **state)
{
    assert_null(plic_new(0, NULL));
    assert_null(plic_new(PLIC_MAX_HARTS + 1, NULL));
}

static void test_priority_regs(void **state)
{
    struct fixture *f = *state;
    wr(f, PRIO(5), 3);
    assert_int_equal(rd(f, PRIO(5)), 3);
    wr(f, PRIO(5), 0xffffffff);
    assert_int_equal(rd(f, PRIO(5)), PLIC_MAX_PRIO);
    wr(f, PRIO(0), 5);                              /* source 0 does not exist */
    assert_int_equal(rd(f, PRIO(0)), 0);
    wr(f, PRIO(PLIC_NSOURCES), 5);                  /* past the last source */
    assert_int_equal(rd(f, PRIO(PLIC_NSOURCES)), 0);
    wr(f, THRESH(1), 99);
    assert_int_equal(rd(f, THRESH(1)), PLIC_MAX_PRIO);
    wr(f, THRESH(2 * NHARTS), 1);                   /* no such context */
    assert_int_equal(rd(f, THRESH(2 * NHARTS)), 0);
    assert_int_equal(rd(f, CLAIM(2 * NHARTS)), 0);
}

static void test_enable_regs(void **state)
{
    struct fixture *f = *state;
    wr(f, ENABLE(3, 0), 0xffffffff);
    assert_int_equal(rd(f, ENABLE(3, 0)), 0xfffffffe);  /* bit 0 = source 0 */
    wr(f, ENABLE(3, 2), 0xffffffff);
    assert_int_equal(rd(f, ENABLE(3, 2)), 0xffffffff);  /* sources 64..95 */
    wr(f, ENABLE(3, 3), 0xffffffff);                    /* beyond 96 sources */
    assert_int_equal(rd(f, ENABLE(3, 3)), 0);
    wr(f, ENABLE(2 * NHARTS, 0), 0xffffffff);
    assert_int_equal(rd(f, ENABLE(2 * NHARTS, 0)), 0);
    /* wrong sizes and misaligned offsets are ignored */
    plic_mmio_ops.write(f->p, ENABLE(0, 0), 0xff, 1);
    plic_mmio_ops.write(f->p, ENABLE(0, 0) + 2, 0xff, 4);
    assert_int_equal(rd(f, ENABLE(0, 0)), 0);
    assert_int_equal(plic_mmio_ops.read(f->p, ENABLE(3, 0), 8), 0);
}

static void test_claim_complete_cycle(void **state)
{
    struct fixture *f = *state;
    wr(f, PRIO(10), 1);
    plic_set_source(f->p, 10, true);
    assert_int_equal(rd(f, PENDING(0)), 1u << 10);
    assert_false(eip(f, 1));                        /* not enabled yet */
    wr(f, ENABLE(1, 0), 1u << 10);
    assert_true(eip(f, 1));
    assert_false(eip(f, 0));
    assert_false(eip(f, 3));
    assert_int_equal(rd(f, CLAIM(1)), 10);
    assert_false(eip(f, 1));
    assert_int_equal(rd(f, PENDING(0)), 0);
    assert_int_equal(rd(f, CLAIM(1)), 0);           /* nothing more */
    /* line still high, but the gateway is closed until completion */
    plic_set_source(f->p, 10, true);
    assert_false(eip(f, 1));
    wr(f, CLAIM(1), 10);
    assert_true(eip(f, 1));                         /* still high: again */
    assert_int_equal(rd(f, CLAIM(1)), 10);
    plic_set_source(f->p, 10, false);
    wr(f, CLAIM(1), 10);
    assert_false(eip(f, 1));
    assert_int_equal(rd(f, PENDING(0)), 0);
}

static void test_withdrawn_before_claim(void **state)
{
    struct fixture *f = *state;
    wr(f, PRIO(7), 1);
    wr(f, ENABLE(0, 0), 1u << 7);
    plic_set_source(f->p, 7, true);
    assert_true(eip(f, 0));
    plic_set_source(f->p, 7, false);
    assert_false(eip(f, 0));
    assert_int_equal(rd(f, CLAIM(0)), 0);
}

static void test_priorities_and_threshold(void **state)
{
    struct fixture *f = *state;
    wr(f, PRIO(3), 2);
    wr(f, PRIO(4), 5);
    wr(f, PRIO(40), 5);
    wr(f, PRIO(70), 1);
    wr(f, ENABLE(2, 0), (1u << 3) | (1u << 4));
    wr(f, ENABLE(2, 1), 1u << (40 - 32));
    wr(f, ENABLE(2, 2), 1u << (70 - 64));
    plic_set_source(f->p, 3, true);
    plic_set_source(f->p, 4, true);
    plic_set_source(f->p, 40, true);
    plic_set_source(f->p, 70, true);
    assert_int_equal(rd(f, PENDING(2)), 1u << 6);
    wr(f, THRESH(2), 5);
    assert_false(eip(f, 2));                        /* all at or below 5 */
    wr(f, THRESH(2), 1);
    assert_true(eip(f, 2));
    assert_int_equal(rd(f, CLAIM(2)), 4);           /* tie 4/40: lowest id */
    assert_int_equal(rd(f, CLAIM(2)), 40);
    assert_int_equal(rd(f, CLAIM(2)), 3);
    assert_int_equal(rd(f, CLAIM(2)), 0);           /* 70 has prio 1 = threshold */
    assert_true(!eip(f, 2));
    wr(f, THRESH(2), 0);
    assert_true(eip(f, 2));
    assert_int_equal(rd(f, CLAIM(2)), 70);
    /* priority 0 never interrupts */
    wr(f, PRIO(5), 0);
    wr(f, ENABLE(0, 0), 1u << 5);
    plic_set_source(f->p, 5, true);
    assert_false(eip(f, 0));
    assert_int_equal(rd(f, CLAIM(0)), 0);
}

static void test_completion_rules(void **state)
{
    struct fixture *f = *state;
    wr(f, PRIO(9), 1);
    wr(f, ENABLE(0, 0), 1u << 9);
    plic_set_source(f->p, 9, true);
    assert_int_equal(rd(f, CLAIM(0)), 9);
    wr(f, CLAIM(1), 9);                 /* not enabled for ctx 1: ignored */
    wr(f, CLAIM(0), 0);
    wr(f, CLAIM(0), 1000);              /* bogus ids */
    wr(f, CLAIM(0), 0xffffffff);
    assert_false(eip(f, 0));
    wr(f, CLAIM(0), 9);
    assert_true(eip(f, 0));
}

static void test_pending_readonly_and_bad_sources(void **state)
{
    struct fixture *f = *state;
    wr(f, PENDING(0), 0xffffffff);
    assert_int_equal(rd(f, PENDING(0)), 0);
    int calls = f->calls;
    plic_set_source(f->p, 0, true);
    plic_set_source(f->p, PLIC_NSOURCES, true);
    plic_set_source(f->p, 0xffffffff, true);
    assert_int_equal(f->calls, calls);
    for (unsigned w = 0; w < 4; w++)
        assert_int_equal(rd(f, PENDING(w)), 0);
    assert_int_equal(rd(f, 0x3ffffc), 0);       /* beyond contexts */
    assert_int_equal(rd(f, THRESH(0) + 8), 0);  /* reserved in a context */
}

static void test_shared_source_two_contexts(void **state)
{
    struct fixture *f = *state;
    wr(f, PRIO(11), 1);
    wr(f, ENABLE(1, 0), 1u << 11);
    wr(f, ENABLE(3, 0), 1u << 11);
    plic_set_source(f->p, 11, true);
    assert_true(eip(f, 1));
    assert_true(eip(f, 3));
    assert_int_equal(rd(f, CLAIM(3)), 11);      /* one claim wins */
    assert_false(eip(f, 1));
    assert_int_equal(rd(f, CLAIM(1)), 0);
}

/* Payload offsets of the "plic" section's fields (hw/plic.c). */
#define ST_NSOURCES  0
#define ST_NCTX      4
#define ST_PRIO(s)   (8 + 4 * ((s) - 1))
#define ST_LEVEL(w)  (ST_PRIO(PLIC_NSOURCES) + 4 * (w))
#define ST_PENDING(w) (ST_LEVEL(3) + 4 * (w))
#define ST_ACTIVE(w) (ST_PENDING(3) + 4 * (w))
#define ST_THRESH(c) (ST_ACTIVE(3) + 16 * (c) + 12)

static struct plic *second(struct fixture *g)
{
    memset(g, 0, sizeof(*g));
    struct hw_irq_sink sink = { set_irq, g };
    struct plic *p = plic_new(NHARTS, &sink);
    assert_non_null(p);
    return p;
}

/* Sources in every state: pending (3, 95), in service with the line high
 * (5) and low (40), idle; enables, thresholds and priorities set. */
static void busy_state(struct fixture *f)
{
    wr(f, PRIO(3), 2);
    wr(f, PRIO(5), 7);
    wr(f, PRIO(40), 4);
    wr(f, PRIO(95), 1);
    wr(f, ENABLE(0, 0), 1u << 3);
    wr(f, ENABLE(0, 1), 1u << (40 - 32));
    wr(f, ENABLE(3, 0), 1u << 5);
    wr(f, ENABLE(3, 2), 1u << (95 - 64));
    wr(f, THRESH(0), 1);
    wr(f, THRESH(1), 6);
    plic_set_source(f->p, 3, true);
    plic_set_source(f->p, 5, true);
    plic_set_source(f->p, 40, true);
    plic_set_source(f->p, 95, true);
    assert_int_equal(rd(f, CLAIM(0)), 40);
    plic_set_source(f->p, 40, false);
    assert_int_equal(rd(f, CLAIM(3)), 5);
    assert_true(eip(f, 0) && eip(f, 3) && !eip(f, 1) && !eip(f, 2));
}

/* Every register without side effects reads the same on both. */
static void same_regs(struct fixture *f, struct plic *p2)
{
    for (unsigned s = 0; s < PLIC_NSOURCES; s++)
        assert_int_equal(plic_mmio_ops.read(p2, PRIO(s), 4), rd(f, PRIO(s)));
    for (unsigned w = 0; w < 3; w++)
        assert_int_equal(plic_mmio_ops.read(p2, PENDING(w), 4), rd(f, PENDING(w)));
    for (unsigned c = 0; c < 2 * NHARTS; c++) {
        for (unsigned w = 0; w < 3; w++)
            assert_int_equal(plic_mmio_ops.read(p2, ENABLE(c, w), 4), rd(f, ENABLE(c, w)));
        assert_int_equal(plic_mmio_ops.read(p2, THRESH(c), 4), rd(f, THRESH(c)));
    }
}

static void test_save_restore(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    struct devstate s = devstate_save(&plic_device_ops, f->p);
    struct plic *p2 = second(&g);
    assert_int_equal(devstate_restore(&plic_device_ops, p2, s.buf, s.len), 0);
    devstate_expect(&plic_device_ops, p2, &s);
    same_regs(f, p2);
    assert_int_equal(g.calls, 2 * NHARTS);      /* every context driven */
    for (unsigned c = 0; c < 2 * NHARTS; c++)
        assert_int_equal(eip(&g, c), eip(f, c));
    /* Claims and completions go on alike. */
    assert_int_equal(plic_mmio_ops.read(p2, CLAIM(0), 4), rd(f, CLAIM(0)));    /* 3 */
    plic_mmio_ops.write(p2, CLAIM(0), 40, 4);
    wr(f, CLAIM(0), 40);
    plic_mmio_ops.write(p2, CLAIM(3), 5, 4);
    wr(f, CLAIM(3), 5);
    assert_int_equal(plic_mmio_ops.read(p2, CLAIM(3), 4), rd(f, CLAIM(3)));    /* 5 again */
    same_regs(f, p2);
    for (unsigned c = 0; c < 2 * NHARTS; c++)
        assert_int_equal(eip(&g, c), eip(f, c));
    struct devstate a = devstate_save(&plic_device_ops, f->p);
    devstate_expect(&plic_device_ops, p2, &a);
    plic_free(p2);
    free(a.buf);
    free(s.buf);
}

static void test_restore_refuses(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    struct devstate s = devstate_save(&plic_device_ops, f->p);
    struct plic *p2 = second(&g);
    plic_mmio_ops.write(p2, PRIO(7), 3, 4);
    plic_mmio_ops.write(p2, ENABLE(1, 0), 1u << 7, 4);
    plic_set_source(p2, 7, true);
    assert_true(eip(&g, 1));
    int calls = g.calls;
    devstate_check_damage(&plic_device_ops, p2, &s);
    devstate_check_field(&plic_device_ops, p2, &s, ST_NSOURCES, 4, PLIC_NSOURCES + 32);
    devstate_check_field(&plic_device_ops, p2, &s, ST_NCTX, 4, 2 * NHARTS + 2);
    devstate_check_field(&plic_device_ops, p2, &s, ST_PRIO(3), 4, PLIC_MAX_PRIO + 1);
    devstate_check_field(&plic_device_ops, p2, &s, ST_PRIO(95), 4, 0x80000000u);
    devstate_check_field(&plic_device_ops, p2, &s, ST_THRESH(1), 4, PLIC_MAX_PRIO + 1);
    /* source 0 does not exist */
    devstate_check_field(&plic_device_ops, p2, &s, ST_LEVEL(0), 4, 1u << 0);
    devstate_check_field(&plic_device_ops, p2, &s, ST_THRESH(2) - 12, 4, 1u);
    /* pending must be "line high and not in service": 5 is in service,
     * 40's line is low, 3 is pending and its line high */
    devstate_check_field(&plic_device_ops, p2, &s, ST_PENDING(0), 4, (1u << 3) | (1u << 5));
    devstate_check_field(&plic_device_ops, p2, &s, ST_PENDING(1), 4, 1u << (40 - 32));
    devstate_check_field(&plic_device_ops, p2, &s, ST_PENDING(0), 4, 0);
    assert_int_equal(g.calls, calls);           /* no wire touched */
    assert_int_equal(plic_mmio_ops.read(p2, CLAIM(1), 4), 7);
    plic_free(p2);
    free(s.buf);
}

static void test_reset(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    plic_device_ops.reset(f->p);
    assert_false(eip(f, 0) || eip(f, 3));
    /* As a fresh PLIC whose input lines are at the same levels (3, 5 and
     * 95 high): the wires belong to the sources, not to the PLIC. */
    struct plic *p2 = second(&g);
    plic_set_source(p2, 3, true);
    plic_set_source(p2, 5, true);
    plic_set_source(p2, 95, true);
    struct devstate fresh = devstate_save(&plic_device_ops, p2);
    devstate_expect(&plic_device_ops, f->p, &fresh);
    assert_int_equal(rd(f, PENDING(0)), (1u << 3) | (1u << 5));
    assert_int_equal(rd(f, PRIO(5)), 0);
    assert_int_equal(rd(f, ENABLE(0, 0)), 0);
    plic_free(p2);
    free(fresh.buf);
}

static void test_ops_table(void **state)
{
    assert_string_equal(plic_device_ops.tag, "plic");
    assert_non_null(plic_device_ops.fdt_node);
    assert_null(plic_device_ops.quiesce);
    assert_null(plic_device_ops.resume);
    plic_device_ops.destroy(plic_new(1, NULL));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_new_rejects), T(test_priority_regs), T(test_enable_regs),
        T(test_claim_complete_cycle), T(test_withdrawn_before_claim),
        T(test_priorities_and_threshold), T(test_completion_rules),
        T(test_pending_readonly_and_bad_sources), T(test_shared_source_two_contexts),
        T(test_save_restore), T(test_restore_refuses), T(test_reset), T(test_ops_table),
    };
    return cmocka_run_group_tests_name("plic", tests, NULL, NULL);
}
