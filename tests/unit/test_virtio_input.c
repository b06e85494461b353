/* Unit tests of virtio-input, the power button (src/virtio/input.c,
 * Virtio 1.2 section 5.8), driven through its virtio-mmio registers as
 * Linux's virtio_input does: the config space's select/subsel answers;
 * a press delivered as four events into eventq buffers, at once when the
 * driver has buffers and later when it has none (bounded queue, all or
 * nothing); statusq buffers consumed; hostile buffers and rings put the
 * device in DEVICE_NEEDS_RESET without losing events; quiesce holds
 * events until resume; save/restore round trip byte-identical with the
 * restored device delivering the same events; hostile sections refused
 * with the device unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/util.h"
#include "virtio_fake.h"
#include "vstate_check.h"

#define RING_EVT (FAKE_RAM + 0x20000)
#define RING_STS (FAKE_RAM + 0x30000)
#define EVBUF    (FAKE_RAM + 0x100000)     /* eventq buffers, 16 bytes apart */
#define QSIZE 16u

/* Config space (5.8.4). */
#define CFG_SELECT 0u
#define CFG_SUBSEL 1u
#define CFG_SIZE 2u
#define CFG_U 8u
#define CFG_LEN 136u
#define SEL_ID_NAME 0x01
#define SEL_ID_SERIAL 0x02
#define SEL_ID_DEVIDS 0x03
#define SEL_PROP_BITS 0x10
#define SEL_EV_BITS 0x11
#define SEL_ABS_INFO 0x12

struct side {
    struct fake_driver f;
    struct fk_ring evt, sts;
    struct virtio_input *in;
    struct device dv;
    unsigned posted;            /* eventq buffers posted so far */
    unsigned seen;              /* used entries of the eventq checked */
};

static struct mem *new_ram(void)
{
    struct mem *m = mem_new();
    assert_non_null(m);
    assert_int_equal(mem_add_ram(m, FAKE_RAM, FAKE_RAM_SIZE), 0);
    return m;
}

static void make(struct side *s, struct mem *m)
{
    s->f.mem = m;
    struct hw_line irq = { fake_irq_set, &s->f.irq, 9 };
    s->in = virtio_input_new(&irq, m);
    assert_non_null(s->in);
    s->dv = virtio_input_device(s->in);
    s->f.dev = virtio_input_transport(s->in);
}

static void side_free(struct side *s)
{
    if (s->dv.ops)
        s->dv.ops->destroy(s->dv.opaque);
    mem_free(s->f.mem);
    memset(s, 0, sizeof(*s));
}

/* Negotiated (no feature besides VERSION_1 needed), both queues set up;
 * DRIVER_OK when `ok`. */
static void setup(struct side *s, bool ok)
{
    make(s, new_ram());
    assert_true(fk_negotiate(&s->f, 0) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&s->f, &s->evt, 0, QSIZE, RING_EVT);
    fk_ring_init(&s->f, &s->sts, 1, QSIZE, RING_STS);
    if (ok)
        fk_driver_ok(&s->f);
}

/* Post n eventq buffers of `len` writable bytes (Linux posts 8) and
 * notify. */
static void post(struct side *s, unsigned n, uint32_t len)
{
    for (unsigned i = 0; i < n; i++, s->posted++) {
        uint64_t gpa = EVBUF + 16ULL * (s->posted % QSIZE);
        fk_ring_add(&s->f, &s->evt, &gpa, &len, 1, 0);
    }
    fk_wr(&s->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static unsigned used(struct side *s)
{
    return (uint16_t)(fk_ring_used_idx(&s->f, &s->evt) - s->seen);
}

/* The next used eventq entry: check its length and event. */
static void expect_event(struct side *s, uint16_t type, uint16_t code, uint32_t value)
{
    assert_true(used(s) > 0);
    uint32_t id, len;
    fk_ring_used_elem(&s->f, &s->evt, s->seen, &id, &len);
    assert_int_equal(len, 8);
    assert_true(id < QSIZE);
    uint8_t ev[8];
    /* Buffers are used in the order posted: id i is buffer i. */
    assert_int_equal(mem_read(s->f.mem, EVBUF + 16ULL * (s->seen % QSIZE), ev, 8), 0);
    assert_int_equal(le_get(ev, 2), type);
    assert_int_equal(le_get(ev + 2, 2), code);
    assert_int_equal(le_get(ev + 4, 4), value);
    s->seen++;
}

static void expect_press(struct side *s)
{
    expect_event(s, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 1);
    expect_event(s, VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0);
    expect_event(s, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 0);
    expect_event(s, VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0);
}

static unsigned pending(struct side *s)
{
    unsigned n;
    virtio_input_counts(s->in, &n, NULL);
    return n;
}

/* ---------------------------------------------------------- config space */

static uint64_t cfg_rd(struct side *s, uint32_t off, unsigned size)
{
    return virtio_mmio_ops.read(s->f.dev, VIRTIO_MMIO_CONFIG + off, size);
}

static void cfg_wr(struct side *s, uint32_t off, uint64_t v, unsigned size)
{
    virtio_mmio_ops.write(s->f.dev, VIRTIO_MMIO_CONFIG + off, v, size);
}

/* Select, then read size and u[] byte by byte as Linux does. */
static unsigned cfg_select(struct side *s, uint8_t sel, uint8_t sub, uint8_t u[128])
{
    cfg_wr(s, CFG_SELECT, sel, 1);
    cfg_wr(s, CFG_SUBSEL, sub, 1);
    assert_int_equal(cfg_rd(s, CFG_SELECT, 1), sel);
    assert_int_equal(cfg_rd(s, CFG_SUBSEL, 1), sub);
    for (unsigned i = 0; i < 128; i++)
        u[i] = (uint8_t)cfg_rd(s, CFG_U + i, 1);
    return (unsigned)cfg_rd(s, CFG_SIZE, 1);
}

static void test_config_space(void **state)
{
    (void)state;
    struct side s = { 0 };
    setup(&s, false);
    uint8_t u[128], zero[128] = { 0 };
    assert_int_equal(fk_rd(&s.f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_INPUT);
    assert_int_equal(cfg_rd(&s, CFG_SIZE, 1), 0);     /* UNSET */

    assert_int_equal(cfg_select(&s, SEL_ID_NAME, 0, u), 19);
    assert_memory_equal(u, "Vessel Power Button", 19);
    assert_memory_equal(u + 19, zero, 128 - 19);
    assert_int_equal(cfg_select(&s, SEL_ID_SERIAL, 0, u), 14);
    assert_memory_equal(u, "vessel-power-0", 14);
    assert_int_equal(cfg_select(&s, SEL_ID_DEVIDS, 0, u), 8);
    assert_int_equal(le_get(u, 2), 0x0006);         /* BUS_VIRTUAL */
    assert_int_equal(le_get(u + 2, 2), 0x5356);
    assert_int_equal(le_get(u + 4, 2), 0x0001);
    assert_int_equal(le_get(u + 6, 2), 0x0001);

    /* EV_BITS, EV_KEY: bit 116 (KEY_POWER) only, 15 bytes. */
    assert_int_equal(cfg_select(&s, SEL_EV_BITS, VIRTIO_INPUT_EV_KEY, u), 15);
    for (unsigned bit = 0; bit < 128 * 8; bit++)
        assert_int_equal(u[bit / 8] >> (bit % 8) & 1, bit == VIRTIO_INPUT_KEY_POWER);
    /* Nothing else: other event types, properties, axes, unknown selects,
     * identity selects with a subsel. */
    static const uint8_t none[][2] = {
        { SEL_EV_BITS, VIRTIO_INPUT_EV_SYN }, { SEL_EV_BITS, 2 /* EV_REL */ },
        { SEL_EV_BITS, 3 /* EV_ABS */ }, { SEL_EV_BITS, 0x11 /* EV_LED */ },
        { SEL_EV_BITS, 0xff }, { SEL_PROP_BITS, 0 }, { SEL_ABS_INFO, 0 },
        { SEL_ABS_INFO, 0x3f }, { 0x00, 0 }, { 0x04, 0 }, { 0x13, 0 }, { 0xff, 0xff },
        { SEL_ID_NAME, 1 }, { SEL_ID_SERIAL, 7 }, { SEL_ID_DEVIDS, 0xff },
    };
    for (size_t i = 0; i < ARRAY_SIZE(none); i++) {
        assert_int_equal(cfg_select(&s, none[i][0], none[i][1], u), 0);
        assert_memory_equal(u, zero, 128);
    }

    /* Wider accesses; size and u[] are read-only; out of range reads 0. */
    cfg_wr(&s, CFG_SELECT, SEL_EV_BITS | VIRTIO_INPUT_EV_KEY << 8, 2);
    assert_int_equal(cfg_rd(&s, 0, 4), SEL_EV_BITS | VIRTIO_INPUT_EV_KEY << 8 | 15 << 16);
    assert_int_equal(cfg_rd(&s, CFG_U + 8, 8), 0x10ULL << 48);   /* byte 14, bit 4 */
    cfg_wr(&s, CFG_SIZE, 0x77, 1);
    cfg_wr(&s, CFG_U + 14, 0, 1);
    cfg_wr(&s, CFG_U, ~0ULL, 8);
    assert_int_equal(cfg_rd(&s, CFG_SIZE, 1), 15);
    assert_int_equal(cfg_rd(&s, CFG_U + 14, 1), 0x10);
    assert_int_equal(cfg_rd(&s, CFG_U, 8), 0);
    assert_int_equal(cfg_rd(&s, CFG_LEN, 1), 0);
    assert_int_equal(cfg_rd(&s, CFG_LEN - 2, 4), 0);
    cfg_wr(&s, CFG_LEN, 0xff, 1);                   /* ignored */
    assert_int_equal(cfg_rd(&s, CFG_SELECT, 1), SEL_EV_BITS);

    /* A driver reset forgets select and subsel. */
    fk_wr(&s.f, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(cfg_rd(&s, 0, 4), 0);
    side_free(&s);
}

/* ---------------------------------------------------------- events */

static void test_press_with_buffers(void **state)
{
    (void)state;
    struct side s = { 0 };
    setup(&s, true);
    post(&s, 8, 8);
    assert_int_equal(used(&s), 0);
    assert_false(s.f.irq.level);
    assert_int_equal(virtio_input_power_button(s.in), 0);
    assert_int_equal(used(&s), 4);
    assert_true(s.f.irq.level);
    expect_press(&s);
    assert_int_equal(pending(&s), 0);
    fk_ack(&s.f);
    assert_int_equal(virtio_input_power_button(s.in), 0);
    assert_int_equal(used(&s), 4);
    expect_press(&s);
    uint64_t delivered;
    virtio_input_counts(s.in, NULL, &delivered);
    assert_int_equal(delivered, 8);
    /* A larger buffer gets one event, used length 8. */
    post(&s, 1, 64);
    assert_int_equal(virtio_input_send(s.in, &(struct virtio_input_event){
                         VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 1 }, 1), 0);
    expect_event(&s, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 1);
    side_free(&s);
}

static void test_press_without_buffers(void **state)
{
    (void)state;
    struct side s = { 0 };
    /* Before DRIVER_OK (the module not loaded yet): kept. */
    setup(&s, false);
    assert_int_equal(virtio_input_power_button(s.in), 0);
    assert_int_equal(pending(&s), 4);
    post(&s, 2, 8);                     /* not running: nothing taken */
    assert_int_equal(used(&s), 0);
    fk_driver_ok(&s.f);                 /* DRIVER_OK delivers what it can */
    assert_int_equal(used(&s), 2);
    assert_int_equal(pending(&s), 2);
    expect_event(&s, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 1);
    expect_event(&s, VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0);
    post(&s, 1, 8);
    expect_event(&s, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 0);
    assert_int_equal(used(&s), 0);
    post(&s, 3, 8);
    expect_event(&s, VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0);
    assert_int_equal(used(&s), 0);      /* two buffers left over */
    assert_int_equal(pending(&s), 0);
    assert_int_equal(virtio_input_power_button(s.in), 0);
    assert_int_equal(used(&s), 2);
    assert_int_equal(pending(&s), 2);
    s.seen += 2;

    /* Bounded: 64 events; a press that does not fit whole is refused
     * (all or none), so a guest never sees half a press. */
    while (pending(&s) + 4 <= VIRTIO_INPUT_PENDING_MAX)
        assert_int_equal(virtio_input_power_button(s.in), 0);
    assert_int_equal(pending(&s), VIRTIO_INPUT_PENDING_MAX - 2);
    assert_int_equal(virtio_input_power_button(s.in), -ENOSPC);
    assert_int_equal(pending(&s), VIRTIO_INPUT_PENDING_MAX - 2);
    struct virtio_input_event two[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
    assert_int_equal(virtio_input_send(s.in, two, 2), 0);
    assert_int_equal(pending(&s), VIRTIO_INPUT_PENDING_MAX);
    assert_int_equal(virtio_input_send(s.in, two, 1), -ENOSPC);
    post(&s, 4, 8);
    /* The oldest first: the rest of the press cut short above. */
    expect_event(&s, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 0);
    expect_event(&s, VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0);
    expect_event(&s, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 1);
    expect_event(&s, VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0);
    assert_int_equal(pending(&s), VIRTIO_INPUT_PENDING_MAX - 4);
    side_free(&s);
}

static void test_status_queue(void **state)
{
    (void)state;
    struct side s = { 0 };
    setup(&s, true);
    /* An LED event (EV_LED LED_CAPSL 1) and a chain with a writable part:
     * both given back with nothing written. */
    uint8_t led[8] = { 0x11, 0, 1, 0, 1, 0, 0, 0 };
    mem_write(s.f.mem, EVBUF + 0x1000, led, 8);
    uint64_t g1 = EVBUF + 0x1000, g2[2] = { EVBUF + 0x1000, EVBUF + 0x1100 };
    uint32_t l1 = 8, l2[2] = { 8, 8 };
    fk_ring_add(&s.f, &s.sts, &g1, &l1, 1, 1);
    fk_ring_add(&s.f, &s.sts, g2, l2, 2, 1);
    fk_wr(&s.f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    assert_int_equal(fk_ring_used_idx(&s.f, &s.sts), 2);
    uint32_t id, len;
    fk_ring_used_elem(&s.f, &s.sts, 1, &id, &len);
    assert_int_equal(len, 0);
    assert_false(fk_needs_reset(&s.f));
    assert_int_equal(pending(&s), 0);
    side_free(&s);
}

/* ---------------------------------------------------------- hostile */

static void test_hostile_buffers(void **state)
{
    (void)state;
    struct side s = { 0 };
    /* A buffer too small for an event: needs reset, the event is kept. */
    setup(&s, true);
    post(&s, 1, 4);
    assert_int_equal(virtio_input_power_button(s.in), 0);
    assert_true(fk_needs_reset(&s.f));
    assert_int_equal(used(&s), 0);
    assert_int_equal(pending(&s), 4);
    /* The driver resets and sets up again: the press arrives whole. */
    fk_wr(&s.f, VIRTIO_MMIO_STATUS, 0);
    assert_true(fk_negotiate(&s.f, 0) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&s.f, &s.evt, 0, QSIZE, RING_EVT);
    s.posted = s.seen = 0;
    fk_driver_ok(&s.f);
    post(&s, 4, 8);
    expect_press(&s);
    side_free(&s);

    /* A read-only buffer (no writable byte). */
    setup(&s, true);
    uint64_t g = EVBUF;
    uint32_t l = 8;
    fk_ring_add(&s.f, &s.evt, &g, &l, 1, 1);
    fk_wr(&s.f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(virtio_input_power_button(s.in), 0);
    assert_true(fk_needs_reset(&s.f));
    assert_int_equal(pending(&s), 4);
    side_free(&s);

    /* A buffer outside RAM, a head index out of range: the walker's
     * checks, the device stops, nothing is written anywhere. */
    setup(&s, true);
    g = 0x10000000ULL;
    fk_ring_add(&s.f, &s.evt, &g, &l, 1, 0);
    fk_wr(&s.f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(virtio_input_power_button(s.in), 0);
    assert_true(fk_needs_reset(&s.f));
    assert_int_equal(pending(&s), 4);
    side_free(&s);

    setup(&s, true);
    fk_put16(&s.f, s.evt.avail + 4, QSIZE + 3);
    fk_put16(&s.f, s.evt.avail + 2, 1);
    assert_int_equal(virtio_input_power_button(s.in), 0);
    assert_true(fk_needs_reset(&s.f));
    assert_int_equal(pending(&s), 4);
    /* A status queue with a loop. */
    side_free(&s);
    setup(&s, true);
    fk_desc_at(&s.f, s.sts.desc, 0, EVBUF, 8, VIRTQ_DESC_F_NEXT, 0);
    fk_put16(&s.f, s.sts.avail + 4, 0);
    fk_put16(&s.f, s.sts.avail + 2, 1);
    fk_wr(&s.f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    assert_true(fk_needs_reset(&s.f));
    side_free(&s);
}

/* ---------------------------------------------------------- device model */

static void test_quiesce_and_reset(void **state)
{
    (void)state;
    struct side s = { 0 };
    setup(&s, true);
    post(&s, 8, 8);
    assert_int_equal(s.dv.ops->quiesce(s.dv.opaque), 0);
    assert_int_equal(virtio_input_power_button(s.in), 0);   /* a paused VM */
    assert_int_equal(used(&s), 0);
    assert_int_equal(pending(&s), 4);
    s.dv.ops->resume(s.dv.opaque);
    expect_press(&s);

    /* VM reset (power-on): waiting events are dropped; a driver reset
     * (above, test_hostile_buffers) keeps them. */
    assert_int_equal(s.dv.ops->quiesce(s.dv.opaque), 0);
    assert_int_equal(virtio_input_power_button(s.in), 0);
    s.dv.ops->reset(s.dv.opaque);
    s.dv.ops->resume(s.dv.opaque);
    assert_int_equal(pending(&s), 0);
    assert_int_equal(fk_rd(&s.f, VIRTIO_MMIO_STATUS), 0);
    side_free(&s);
}

/* A device with select/subsel set, two buffers posted and taken, one
 * press half delivered, one waiting whole: quiesced. */
static void busy(struct side *s)
{
    setup(s, true);
    cfg_wr(s, CFG_SELECT, SEL_EV_BITS, 1);
    cfg_wr(s, CFG_SUBSEL, VIRTIO_INPUT_EV_KEY, 1);
    post(s, 2, 8);
    assert_int_equal(virtio_input_power_button(s->in), 0);
    assert_int_equal(virtio_input_power_button(s->in), 0);
    assert_int_equal(pending(s), 6);
    assert_int_equal(s->dv.ops->quiesce(s->dv.opaque), 0);
}

static void test_save_restore(void **state)
{
    (void)state;
    struct side a = { 0 }, b = { 0 };
    busy(&a);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    assert_string_equal((const char *)good.buf, "vinput");

    struct mem *m = fk_clone_ram(a.f.mem);
    assert_non_null(m);
    make(&b, m);
    b.evt = a.evt;
    b.sts = a.sts;
    b.posted = a.posted;
    b.seen = a.seen;
    assert_int_equal(b.dv.ops->quiesce(b.dv.opaque), 0);
    vs_restore_identical(b.dv, &good);
    assert_int_equal(pending(&b), 6);
    assert_int_equal(cfg_rd(&b, 0, 4), SEL_EV_BITS | VIRTIO_INPUT_EV_KEY << 8 | 15 << 16);

    /* Both go on alike: the rest of the first press, then the second. */
    struct side *sides[2] = { &a, &b };
    for (int i = 0; i < 2; i++) {
        struct side *s = sides[i];
        s->dv.ops->resume(s->dv.opaque);
        expect_event(s, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 1);
        expect_event(s, VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0);
        post(s, 6, 8);
        expect_event(s, VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 0);
        expect_event(s, VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0);
        expect_press(s);
        assert_int_equal(pending(s), 0);
    }
    assert_true(fk_ram_equal(a.f.mem, b.f.mem, FAKE_RAM, FAKE_RAM_SIZE));
    sstate_writer_free(&good);
    side_free(&a);
    side_free(&b);
}

static void test_restore_hostile(void **state)
{
    (void)state;
    struct side a = { 0 }, b = { 0 };
    busy(&a);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    setup(&b, true);
    post(&b, 3, 8);
    assert_int_equal(virtio_input_power_button(b.in), 0);
    assert_int_equal(b.dv.ops->quiesce(b.dv.opaque), 0);

    vs_refused_framing(b.dv, &good);
    vs_refused_transport(b.dv, &good, QSIZE, 64, FAKE_RAM, FAKE_RAM_SIZE);
    size_t dev = VS_DEV(2);             /* u8 select, u8 subsel, u32 count */
    size_t cnt = dev + 2, ev0 = dev + 6;
    assert_int_equal(vs_get(good.buf, cnt, 4), 6);
    vs_refused_patch(b.dv, &good, cnt, 4, VIRTIO_INPUT_PENDING_MAX + 1);
    vs_refused_patch(b.dv, &good, cnt, 4, 0xffffffffu);
    vs_refused_patch(b.dv, &good, cnt, 4, 7);      /* more than the payload holds */
    vs_refused_patch(b.dv, &good, cnt, 4, 5);      /* less: bytes left over */
    /* Events this device cannot make. */
    vs_refused_patch(b.dv, &good, ev0, 4, 2);                   /* EV_REL */
    vs_refused_patch(b.dv, &good, ev0, 4, 0x10001);             /* type over 16 bits */
    vs_refused_patch(b.dv, &good, ev0 + 4, 4, 30);              /* KEY_A */
    vs_refused_patch(b.dv, &good, ev0 + 4, 4, 0x10000 + 116);
    vs_refused_patch(b.dv, &good, ev0 + 8, 4, 2);               /* autorepeat */
    vs_refused_patch(b.dv, &good, ev0 + 12 + 4, 4, 1);          /* SYN_CONFIG */
    vs_refused_patch(b.dv, &good, ev0 + 12 + 8, 4, 1);          /* SYN value */
    /* Any select and subsel is one a driver could write. */
    uint8_t *p = malloc(good.len);
    assert_non_null(p);
    memcpy(p, good.buf, good.len);
    p[dev] = 0xff;
    p[dev + 1] = 0xfe;
    assert_int_equal(vs_restore(b.dv, p, good.len), 0);
    assert_int_equal(cfg_rd(&b, 0, 2), 0xfeff);
    free(p);
    sstate_writer_free(&good);
    side_free(&a);
    side_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_space),
        cmocka_unit_test(test_press_with_buffers),
        cmocka_unit_test(test_press_without_buffers),
        cmocka_unit_test(test_status_queue),
        cmocka_unit_test(test_hostile_buffers),
        cmocka_unit_test(test_quiesce_and_reset),
        cmocka_unit_test(test_save_restore),
        cmocka_unit_test(test_restore_hostile),
    };
    return cmocka_run_group_tests_name("virtio_input", tests, NULL, NULL);
}
