/* Unit tests of the virtio device model (src/virtio/device.c and the
 * device ops of rng.c and console.c; util/device.h): a device driven
 * through its virtio-mmio registers into a non-trivial state, quiesced,
 * saved, restored into a fresh device of the same configuration over a
 * copy of guest RAM, saved again (byte-identical), then used side by side
 * with the original (same results, same state); quiesce stops the queues
 * until resume; hostile sections are refused with the device unchanged;
 * random register traffic only reaches states a restore accepts; the
 * device-tree node matches the board's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfdt.h>

#include "util/ratelimit.h"
#include "util/util.h"
#include "virtio_fake.h"
#include "vstate_check.h"

#define RING0 (FAKE_RAM + 0x20000)
#define RING1 (FAKE_RAM + 0x30000)
#define DATA  (FAKE_RAM + 0x100000)

/* One device instance and its fake driver. */
struct side {
    struct fake_driver f;
    struct fk_ring ring[2];
    struct device dv;
    void *obj;                  /* struct virtio_rng / virtio_console */
    uint8_t out[4096];          /* console output */
    size_t out_len;
};

static void side_free(struct side *s)
{
    if (s->dv.ops)
        s->dv.ops->destroy(s->dv.opaque);
    mem_free(s->f.mem);
    memset(s, 0, sizeof(*s));
}

static void con_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct side *s = opaque;
    assert_true(s->out_len + len <= sizeof(s->out));
    memcpy(s->out + s->out_len, buf, len);
    s->out_len += len;
}

static void make_rng(struct side *s, struct mem *m)
{
    s->f.mem = m;
    struct hw_line irq = { fake_irq_set, &s->f.irq, 1 };
    struct virtio_rng *r = virtio_rng_new(&irq, m);
    assert_non_null(r);
    s->obj = r;
    s->dv = virtio_rng_device(r);
    s->f.dev = virtio_rng_transport(r);
}

static void make_console(struct side *s, struct mem *m)
{
    s->f.mem = m;
    struct hw_line irq = { fake_irq_set, &s->f.irq, 2 };
    struct hw_console out = { con_out, s };
    struct virtio_console *c = virtio_console_new(&out, &irq, m);
    assert_non_null(c);
    s->obj = c;
    s->dv = virtio_console_device(c);
    s->f.dev = virtio_console_transport(c);
}

static struct mem *new_ram(void)
{
    struct mem *m = mem_new();
    assert_non_null(m);
    assert_int_equal(mem_add_ram(m, FAKE_RAM, FAKE_RAM_SIZE), 0);
    return m;
}

/* A fresh device like a's over a copy of a's RAM, quiesced, restored
 * from `good` (byte-identical save checked). */
static void restore_copy(struct side *a, struct side *b, const struct sstate_writer *good,
                         void (*make)(struct side *, struct mem *))
{
    struct mem *m = fk_clone_ram(a->f.mem);
    assert_non_null(m);
    make(b, m);
    memcpy(b->ring, a->ring, sizeof(a->ring));
    assert_int_equal(b->dv.ops->quiesce(b->dv.opaque), 0);
    vs_restore_identical(b->dv, good);
}

/* ------------------------------------------------------------ rng */

/* One entropy request of `len` bytes at DATA + off; returns the used
 * length (or -1 if not served). */
static int rng_req(struct side *s, uint64_t off, uint32_t len)
{
    uint64_t gpa = DATA + off;
    uint16_t before = fk_ring_used_idx(&s->f, &s->ring[0]);
    fk_ring_add(&s->f, &s->ring[0], &gpa, &len, 1, 0);
    fk_wr(&s->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    if (fk_ring_used_idx(&s->f, &s->ring[0]) != (uint16_t)(before + 1))
        return -1;
    uint32_t id, used;
    fk_ring_used_elem(&s->f, &s->ring[0], before, &id, &used);
    return (int)used;
}

/* Negotiated with EVENT_IDX and INDIRECT, 16-entry queue, six requests
 * served, used_event set so the last one raised no interrupt, the
 * interrupt of an earlier one still pending (not acknowledged). */
static void rng_busy(struct side *s)
{
    make_rng(s, new_ram());
    assert_true(fk_negotiate(&s->f, VIRTIO_F_COMMON) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&s->f, &s->ring[0], 0, 16, RING0);
    fk_driver_ok(&s->f);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(rng_req(s, 64 * i, 64), 64);
    assert_true(s->f.irq.level);
    fk_ring_set_used_event(&s->f, &s->ring[0], 100);
    assert_int_equal(rng_req(s, 0x1000, 32), 32);
    assert_true(fk_rd(&s->f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
    assert_int_equal(fk_ring_avail_event(&s->f, &s->ring[0]), 6);
}

static void test_rng_round_trip(void **state)
{
    struct side a = {0}, b = {0};
    rng_busy(&a);
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    assert_memory_equal(good.buf, "vrng\0\0\0\0", 8);
    restore_copy(&a, &b, &good, make_rng);
    /* The pending interrupt is raised again on the fresh device's line. */
    assert_true(b.f.irq.level);
    assert_int_equal(fk_rd(&b.f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    assert_int_equal(fk_rd(&b.f, VIRTIO_MMIO_STATUS), fk_rd(&a.f, VIRTIO_MMIO_STATUS));

    /* Both carry on alike: same used entries, event index, interrupt
     * suppression, and the same state afterwards. */
    a.dv.ops->resume(a.dv.opaque);
    b.dv.ops->resume(b.dv.opaque);
    for (unsigned i = 0; i < 20; i++) {
        if (i == 10) {
            fk_ring_set_used_event(&a.f, &a.ring[0], 20);
            fk_ring_set_used_event(&b.f, &b.ring[0], 20);
            fk_ack(&a.f);
            fk_ack(&b.f);
        }
        assert_int_equal(rng_req(&a, 128 * i, 100 + i), 100 + i);
        assert_int_equal(rng_req(&b, 128 * i, 100 + i), 100 + i);
        assert_int_equal(a.f.irq.level, b.f.irq.level);
    }
    assert_true(fk_ram_equal(a.f.mem, b.f.mem, RING0, 0x3000));
    assert_int_equal(fk_ring_used_idx(&b.f, &b.ring[0]), 26);
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    assert_int_equal(b.dv.ops->quiesce(b.dv.opaque), 0);
    struct sstate_writer sa, sb;
    vs_save(a.dv, &sa);
    vs_save(b.dv, &sb);
    vs_assert_same(&sa, &sb);
    sstate_writer_free(&sa);
    sstate_writer_free(&sb);
    sstate_writer_free(&good);
    side_free(&a);
    side_free(&b);
}

static void test_rng_quiesce(void **state)
{
    struct side a = {0};
    rng_busy(&a);
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);     /* idempotent */
    /* Nothing is taken from the queue while quiesced... */
    assert_int_equal(rng_req(&a, 0, 16), -1);
    struct sstate_writer w;
    vs_save(a.dv, &w);
    assert_int_equal(vs_get(w.buf, VS_Q(0) + VS_Q_LAST, 4), 6);
    sstate_writer_free(&w);
    /* ...and what the driver queued meanwhile is served on resume. */
    a.dv.ops->resume(a.dv.opaque);
    assert_int_equal(fk_ring_used_idx(&a.f, &a.ring[0]), 7);
    assert_int_equal(rng_req(&a, 0, 16), 16);
    /* Saving or restoring a running device is refused. */
    sstate_writer_init(&w);
    assert_int_equal(a.dv.ops->save(a.dv.opaque, &w), -EBUSY);
    assert_int_equal(w.len, 0);
    assert_int_equal(vs_restore(a.dv, "", 0), -EBUSY);
    side_free(&a);
}

static void test_rng_hostile(void **state)
{
    struct side a = {0}, b = {0};
    rng_busy(&a);
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    restore_copy(&a, &b, &good, make_rng);
    vs_refused_framing(b.dv, &good);
    vs_refused_transport(b.dv, &good, 16, 64, FAKE_RAM, FAKE_RAM_SIZE);
    assert_int_equal(good.len, VS_DEV(1));     /* nothing of its own */
    sstate_writer_free(&good);
    side_free(&a);
    side_free(&b);
}

/* Reset through the device model equals the driver's status-0 write, and
 * keeps the device quiesced. */
static void test_rng_reset(void **state)
{
    struct side a = {0};
    rng_busy(&a);
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    a.dv.ops->reset(a.dv.opaque);
    assert_int_equal(fk_rd(&a.f, VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(fk_rd(&a.f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_false(a.f.irq.level);
    struct sstate_writer w;
    vs_save(a.dv, &w);      /* still quiesced: save allowed */
    sstate_writer_free(&w);
    a.dv.ops->resume(a.dv.opaque);
    assert_true(fk_negotiate(&a.f, VIRTIO_F_COMMON) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&a.f, &a.ring[0], 0, 8, RING0);
    fk_driver_ok(&a.f);
    assert_int_equal(rng_req(&a, 0, 8), 8);
    side_free(&a);
}

/* ------------------------------------------------------------ console */

static void con_tx(struct side *s, const char *text)
{
    uint64_t gpa = DATA + 0x8000;
    uint32_t len = (uint32_t)strlen(text);
    mem_write(s->f.mem, gpa, text, len);
    fk_ring_add(&s->f, &s->ring[1], &gpa, &len, 1, 1);
    fk_wr(&s->f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

static void con_post_rx(struct side *s, unsigned i, uint32_t len)
{
    uint64_t gpa = DATA + 0x100 * i;
    fk_ring_add(&s->f, &s->ring[0], &gpa, &len, 1, 0);
    fk_wr(&s->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Output sent, one receive buffer filled, then input waiting for a
 * buffer: 4000 bytes wrapped around the host ring. */
static void con_busy(struct side *s)
{
    make_console(s, new_ram());
    assert_true(fk_negotiate(&s->f, VIRTIO_F_COMMON) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&s->f, &s->ring[0], 0, 16, RING0);
    fk_ring_init(&s->f, &s->ring[1], 1, 32, RING1);
    fk_driver_ok(&s->f);
    con_tx(s, "hello ");
    con_tx(s, "world\n");
    assert_int_equal(s->out_len, 12);
    assert_memory_equal(s->out, "hello world\n", 12);
    con_post_rx(s, 0, 200);
    uint8_t in[4000];
    for (unsigned i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 13);
    assert_int_equal(virtio_console_input(s->obj, in, 150), 150);
    assert_int_equal(fk_ring_used_idx(&s->f, &s->ring[0]), 1);
    assert_int_equal(virtio_console_input(s->obj, in, 4000), 4000);
    assert_int_equal(virtio_console_input(s->obj, in, 500), 96);   /* full */
}

static void test_console_round_trip(void **state)
{
    struct side a = {0}, b = {0};
    con_busy(&a);
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    assert_int_equal(vs_get(good.buf, VS_DEV(2), 4), VIRTIO_CONSOLE_RX_BUFFER);
    restore_copy(&a, &b, &good, make_console);
    assert_int_equal(b.out_len, 0);

    /* Same input delivered into the same buffers by both. */
    a.dv.ops->resume(a.dv.opaque);
    b.dv.ops->resume(b.dv.opaque);
    for (unsigned i = 1; i < 12; i++) {
        con_post_rx(&a, i, 0x100);
        con_post_rx(&b, i, 0x100);
    }
    assert_int_equal(fk_ring_used_idx(&b.f, &b.ring[0]), 12);
    assert_true(fk_ram_equal(a.f.mem, b.f.mem, RING0, 0x3000));
    assert_true(fk_ram_equal(a.f.mem, b.f.mem, DATA, 0x1000));
    uint8_t x[0x100];
    mem_read(b.f.mem, DATA + 0x100, x, sizeof(x));
    for (unsigned i = 0; i < sizeof(x); i++)    /* the second input's first bytes */
        assert_int_equal(x[i], (uint8_t)(i * 13));
    con_tx(&b, "again");
    assert_int_equal(b.out_len, 5);
    assert_memory_equal(b.out, "again", 5);
    con_tx(&a, "again");
    assert_true(fk_ram_equal(a.f.mem, b.f.mem, RING1, 0x3000));
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    assert_int_equal(b.dv.ops->quiesce(b.dv.opaque), 0);
    struct sstate_writer sa, sb;
    vs_save(a.dv, &sa);
    vs_save(b.dv, &sb);
    vs_assert_same(&sa, &sb);
    sstate_writer_free(&sa);
    sstate_writer_free(&sb);
    sstate_writer_free(&good);
    side_free(&a);
    side_free(&b);
}

/* Input that arrives while quiesced waits (and is saved), even with
 * receive buffers posted; resume delivers it. */
static void test_console_quiesce(void **state)
{
    struct side a = {0};
    make_console(&a, new_ram());
    assert_true(fk_negotiate(&a.f, VIRTIO_F_COMMON) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&a.f, &a.ring[0], 0, 16, RING0);
    fk_ring_init(&a.f, &a.ring[1], 1, 16, RING1);
    fk_driver_ok(&a.f);
    con_post_rx(&a, 0, 64);
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    assert_int_equal(virtio_console_input(a.obj, (const uint8_t *)"typed", 5), 5);
    con_tx(&a, "out");
    assert_int_equal(fk_ring_used_idx(&a.f, &a.ring[0]), 0);
    assert_int_equal(a.out_len, 0);
    struct sstate_writer w;
    vs_save(a.dv, &w);
    assert_int_equal(vs_get(w.buf, VS_DEV(2), 4), 5);
    assert_memory_equal(w.buf + VS_DEV(2) + 4, "typed", 5);
    sstate_writer_free(&w);
    a.dv.ops->resume(a.dv.opaque);
    assert_int_equal(fk_ring_used_idx(&a.f, &a.ring[0]), 1);
    char got[5];
    mem_read(a.f.mem, DATA, got, 5);
    assert_memory_equal(got, "typed", 5);
    assert_int_equal(a.out_len, 3);
    side_free(&a);
}

static void test_console_hostile(void **state)
{
    struct side a = {0}, b = {0};
    con_busy(&a);
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    restore_copy(&a, &b, &good, make_console);
    vs_refused_framing(b.dv, &good);
    vs_refused_transport(b.dv, &good, 16, 64, FAKE_RAM, FAKE_RAM_SIZE);
    vs_refused_patch(b.dv, &good, VS_DEV(2), 4, VIRTIO_CONSOLE_RX_BUFFER + 1);
    vs_refused_patch(b.dv, &good, VS_DEV(2), 4, 0xffffffffu);
    vs_refused_patch(b.dv, &good, VS_DEV(2), 4, 10);    /* bytes left over */
    /* An rng section is not a console's. */
    struct side r = {0};
    rng_busy(&r);
    assert_int_equal(r.dv.ops->quiesce(r.dv.opaque), 0);
    struct sstate_writer rw;
    vs_save(r.dv, &rw);
    vs_refused(b.dv, rw.buf, rw.len);
    memcpy(rw.buf, "vcons\0\0\0", 8);   /* even under the console's tag */
    vs_refused(b.dv, rw.buf, rw.len);
    sstate_writer_free(&rw);
    side_free(&r);
    sstate_writer_free(&good);
    side_free(&a);
    side_free(&b);
}

/* ------------------------------------------------------------ transport */

/* A bare transport with a device model of its own, as a future device
 * would build one from the virtio_dev_* calls.  It offers EVENT_IDX but
 * not INDIRECT_DESC. */
struct tdev {
    struct virtio_dev *vdev;
};

static const struct virtio_dev_ops t_ops = {
    .name = "virtio-test", .device_id = 9, .num_queues = 3, .queue_max = 32,
    .features = (1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << 3),
};

static int t_save(const void *o, struct sstate_writer *w)
{
    const struct tdev *t = o;
    sstate_begin(w, "vtest", 1);
    int rc = virtio_dev_save_state(t->vdev, w);
    int rc2 = sstate_end(w);
    return rc ? rc : rc2;
}

static int t_restore(void *o, struct sstate_reader *r)
{
    struct tdev *t = o;
    uint32_t v;
    int rc = sstate_open(r, "vtest", 1, &v);
    if (rc)
        return rc;
    struct virtio_dev_state st;
    virtio_dev_load_state(t->vdev, r, &st);
    rc = sstate_close(r);
    if (!rc)
        virtio_dev_apply_state(t->vdev, &st);
    return rc;
}

static const struct device_ops t_dops = { .tag = "vtest", .save = t_save, .restore = t_restore };

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One random driver action on the test transport: a register write of a
 * random or an interesting value, a queue set up (mostly well), a feature
 * negotiation, buffers published (good or bad descriptors), pops and
 * pushes, an interrupt acknowledged. */
static void random_action(struct fake_driver *f, struct virtq_chain *c, uint64_t *s)
{
    static const uint32_t vals[] = {
        0, 1, 2, 3, 4, 8, 15, 16, 32, 64, 0xff, 0x80000000u, 0xffffffffu,
        (uint32_t)RING0, (uint32_t)(RING0 + 0x1000), (uint32_t)(FAKE_RAM >> 32),
    };
    static const uint32_t sizes[] = { 0, 1, 2, 8, 16, 32, 64, 24 };
    uint64_t r = xorshift(s);
    unsigned q = (unsigned)(r >> 8) % 4;    /* 3 is out of range */
    uint64_t base = RING0 + 0x4000ULL * q;
    switch (r & 7) {
    case 0: {
        uint64_t off = ((r >> 12) & 0x3f) * 4;
        uint32_t v = (r >> 20) & 1 ? vals[(r >> 24) % ARRAY_SIZE(vals)] : (uint32_t)(r >> 32);
        fk_wr(f, off, v);
        break;
    }
    case 1: {
        bool skew = ((r >> 40) & 15) == 0;   /* now and then a misaligned ring */
        if ((r >> 44) & 7) {                 /* mostly fresh rings, as a driver has */
            fk_put16(f, base + 0x1000 + 2, 0);
            fk_put16(f, base + 0x2000 + 2, 0);
        }
        fk_wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
        fk_wr(f, VIRTIO_MMIO_QUEUE_NUM, sizes[(r >> 16) % ARRAY_SIZE(sizes)]);
        fk_wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base + (skew ? 8 : 0));
        fk_wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
        fk_wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)base + 0x1000);
        fk_wr(f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
        fk_wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)base + 0x2000);
        fk_wr(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
        fk_wr(f, VIRTIO_MMIO_QUEUE_READY, (r >> 20) & 7 ? 1 : 0);
        break;
    }
    case 2:     /* (re)start the driver: resets the device, so rarely when it runs */
        if (virtio_dev_running(f->dev) && ((r >> 40) & 15))
            break;
        fk_negotiate(f, (r >> 16) & ((1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << 3) | (1ULL << 5)));
        if ((r >> 30) & 3)
            fk_driver_ok(f);
        break;
    case 3: {   /* publish a chain: one buffer, now and then a bad one */
        fk_wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
        uint32_t num = fk_rd(f, VIRTIO_MMIO_QUEUE_NUM);
        bool bad = ((r >> 24) & 31) == 0;
        if (!num || num > 64)
            break;
        uint16_t head = (uint16_t)((r >> 16) % num);
        uint64_t addr = bad ? 0x1000 : DATA + 64ULL * head;
        fk_desc_at(f, base, head, addr, 64, (r >> 28) & 1 ? VIRTQ_DESC_F_WRITE : 0, 0);
        uint16_t idx = fk_get16(f, base + 0x1000 + 2);
        fk_put16(f, base + 0x1000 + 4 + 2ULL * (idx % num), head);
        fk_put16(f, base + 0x1000 + 2, (uint16_t)(idx + 1));
        break;
    }
    case 4:
    case 5:
        if (q < 3) {
            struct virtq *vq = virtio_dev_queue(f->dev, q);
            if (virtq_pop(vq, c) == 1 && ((r >> 16) & 1))
                virtq_push(vq, c, (uint32_t)(r >> 32) & 127);
        }
        break;
    case 6:
        fk_ack(f);
        break;
    default:
        if (((r >> 16) & 15) == 0)
            fk_wr(f, VIRTIO_MMIO_STATUS, 0);
        break;
    }
}

/* Random driver traffic: every state the transport reaches saves,
 * restores into a fresh transport and saves again to the same bytes (a
 * restore refuses nothing the device could reach by itself). */
static void test_random_states_restore(void **state)
{
    struct mem *m = new_ram();
    struct fake_irq irq = {0}, irq2 = {0};
    struct hw_line line = { fake_irq_set, &irq, 1 }, line2 = { fake_irq_set, &irq2, 1 };
    struct tdev a = { virtio_dev_new(&t_ops, NULL, 0, &line, m) };
    struct tdev b = { virtio_dev_new(&t_ops, NULL, 0, &line2, m) };
    assert_non_null(a.vdev);
    assert_non_null(b.vdev);
    struct ratelimit quiet;     /* the warnings are expected: keep few */
    ratelimit_init(&quiet, 1, 1);
    virtio_dev_set_log_limit(a.vdev, &quiet);
    struct device da = { &t_dops, &a }, db = { &t_dops, &b };
    struct fake_driver f = { .mem = m, .dev = a.vdev };
    struct virtq_chain *c = malloc(sizeof(*c));
    assert_non_null(c);
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    unsigned ready = 0, running = 0, outstanding = 0, pending_irq = 0;
    for (unsigned round = 0; round < 20000; round++) {
        for (unsigned k = 0; k < 8; k++)
            random_action(&f, c, &s);
        virtio_dev_quiesce(a.vdev);
        virtio_dev_quiesce(b.vdev);
        struct sstate_writer w;
        vs_save(da, &w);
        vs_restore_identical(db, &w);
        assert_int_equal(irq2.level, irq.level);
        for (unsigned q = 0; q < 3; q++) {
            const uint8_t *qs = w.buf + VS_Q(q);
            ready += qs[VS_Q_FLAGS] & 1;
            outstanding += (qs[VS_Q_FLAGS] & 1) && vs_get(qs, VS_Q_LAST, 4) != vs_get(qs, VS_Q_UIDX, 4);
        }
        running += virtio_dev_running(a.vdev);
        pending_irq += irq.level;
        sstate_writer_free(&w);
        virtio_dev_resume(a.vdev);
        virtio_dev_resume(b.vdev);
    }
    /* The traffic reached the interesting states. */
    assert_true(ready > 2000);
    assert_true(running > 2000);
    assert_true(outstanding > 100);
    assert_true(pending_irq > 1000);
    free(c);
    virtio_dev_free(a.vdev);
    virtio_dev_free(b.vdev);
    ratelimit_destroy(&quiet);
    mem_free(m);
}

/* An event-index or indirect flag the device does not offer is refused,
 * on a queue that is not ready too. */
static void test_unoffered_queue_flags(void **state)
{
    struct mem *m = new_ram();
    struct tdev a = { virtio_dev_new(&t_ops, NULL, 0, NULL, m) };
    struct tdev b = { virtio_dev_new(&t_ops, NULL, 0, NULL, m) };
    struct device da = { &t_dops, &a }, db = { &t_dops, &b };
    struct fake_driver f = { .mem = m, .dev = a.vdev };
    struct fk_ring ring;
    assert_true(fk_negotiate(&f, 1ULL << VIRTIO_F_EVENT_IDX) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&f, &ring, 0, 16, RING0);
    fk_driver_ok(&f);
    virtio_dev_quiesce(a.vdev);
    virtio_dev_quiesce(b.vdev);
    struct sstate_writer good;
    vs_save(da, &good);
    vs_restore_identical(db, &good);
    assert_int_equal(good.buf[VS_Q(0) + VS_Q_FLAGS], 1 | 2);   /* ready, event idx */
    vs_refused_patch(db, &good, VS_Q(0) + VS_Q_FLAGS, 1, 1 | 2 | 4);
    vs_refused_patch(db, &good, VS_Q(1) + VS_Q_FLAGS, 1, 4);
    vs_refused_transport(db, &good, 16, 32, FAKE_RAM, FAKE_RAM_SIZE);
    /* A queue that is not ready keeps whatever the driver wrote. */
    uint8_t *g = malloc(good.len);
    memcpy(g, good.buf, good.len);
    vs_put(g, VS_Q(2) + VS_Q_NUM, 4, 12345);
    vs_put(g, VS_Q(2) + VS_Q_DESC, 8, 3);
    vs_put(g, VS_Q(2) + VS_Q_FLAGS, 1, 2 | 8);
    assert_int_equal(vs_restore(db, g, good.len), 0);
    free(g);
    sstate_writer_free(&good);
    virtio_dev_free(a.vdev);
    virtio_dev_free(b.vdev);
    mem_free(m);
}

/* ------------------------------------------------------------ device tree */

/* The node a device writes: virtio/mmio.yaml's properties, in this order
 * (the board's device tree tests pin the whole blob byte for byte). */
static void test_fdt_node(void **state)
{
    (void)state;
    struct side r = {0};
    make_rng(&r, new_ram());
    uint8_t blob[4096];
    assert_int_equal(fdt_create(blob, sizeof(blob)), 0);
    assert_int_equal(fdt_finish_reservemap(blob), 0);
    assert_int_equal(fdt_begin_node(blob, ""), 0);
    struct device_fdt_ctx ctx = { .fdt = blob, .base = 0x10004000, .size = VIRTIO_MMIO_SIZE,
                                  .irq = 4, .plic_phandle = 0x103 };
    assert_int_equal(r.dv.ops->fdt_node(r.dv.opaque, &ctx), 0);
    assert_int_equal(fdt_end_node(blob), 0);
    assert_int_equal(fdt_finish(blob), 0);
    int n = fdt_path_offset(blob, "/virtio_mmio@10004000");
    assert_true(n >= 0);
    static const char *const names[] = { "compatible", "reg", "interrupts",
                                         "interrupt-parent" };
    const fdt32_t reg[4] = { cpu_to_fdt32(0), cpu_to_fdt32(0x10004000),
                             cpu_to_fdt32(0), cpu_to_fdt32(VIRTIO_MMIO_SIZE) };
    const fdt32_t irq = cpu_to_fdt32(4), parent = cpu_to_fdt32(0x103);
    const struct { const void *v; int len; } want[] = {
        { "virtio,mmio", 12 }, { reg, 16 }, { &irq, 4 }, { &parent, 4 },
    };
    unsigned i = 0;
    for (int po = fdt_first_property_offset(blob, n); po >= 0;
         po = fdt_next_property_offset(blob, po), i++) {
        assert_true(i < 4);
        const char *name;
        int len;
        const void *v = fdt_getprop_by_offset(blob, po, &name, &len);
        assert_string_equal(name, names[i]);
        assert_int_equal(len, want[i].len);
        assert_memory_equal(v, want[i].v, (size_t)len);
    }
    assert_int_equal(i, 4);
    side_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_round_trip),
        cmocka_unit_test(test_rng_quiesce),
        cmocka_unit_test(test_rng_hostile),
        cmocka_unit_test(test_rng_reset),
        cmocka_unit_test(test_console_round_trip),
        cmocka_unit_test(test_console_quiesce),
        cmocka_unit_test(test_console_hostile),
        cmocka_unit_test(test_random_states_restore),
        cmocka_unit_test(test_unoffered_queue_flags),
        cmocka_unit_test(test_fdt_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
