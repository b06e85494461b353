/* Unit tests of the split-virtqueue walker (src/virtio/virtqueue.c):
 * hand-built rings in fake guest RAM (a mem_new() address space), every
 * malformed case rejected with DEVICE_NEEDS_RESET and the device's config
 * interrupt, well-formed chains (direct and indirect) mapped correctly,
 * used ring updates and event-index / NO_INTERRUPT suppression; leases:
 * a popped chain's pages stay pinned until it is pushed or dropped (also
 * after a reset), a malformed chain leaves nothing pinned, the rings stay
 * pinned while the queue is in use and are released by a reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "virtio_fake.h"

#define QSIZE 16

struct tdev {
    unsigned resets, notifies;
};

static void t_reset(void *opaque) { ((struct tdev *)opaque)->resets++; }
static void t_notify(void *opaque, unsigned q) { (void)q; ((struct tdev *)opaque)->notifies++; }

static const struct virtio_dev_ops tops = {
    .name = "virtio-test", .device_id = 42, .num_queues = 1, .queue_max = QSIZE,
    .features = VIRTIO_F_COMMON, .reset = t_reset, .notify = t_notify,
};

struct fx {
    struct fake_driver f;
    struct tdev t;
    struct virtq_chain *c;
    struct virtq *vq;
};

static int setup_feat(void **state, uint64_t feat)
{
    struct fx *x = calloc(1, sizeof(*x));
    x->c = malloc(sizeof(*x->c));
    x->f.mem = mem_new();
    assert_int_equal(mem_add_ram(x->f.mem, FAKE_RAM, FAKE_RAM_SIZE), 0);
    struct hw_line irq = { fake_irq_set, &x->f.irq, 1 };
    x->f.dev = virtio_dev_new(&tops, &x->t, 0, &irq, x->f.mem);
    assert_non_null(x->f.dev);
    assert_true(fk_negotiate(&x->f, feat) & VIRTIO_STATUS_FEATURES_OK);
    fk_queue(&x->f, 0, QSIZE, FAKE_DESC, FAKE_AVAIL, FAKE_USED);
    fk_driver_ok(&x->f);
    x->vq = virtio_dev_queue(x->f.dev, 0);
    assert_true(virtq_ready(x->vq));
    *state = x;
    return 0;
}

static int setup(void **state) { return setup_feat(state, VIRTIO_F_COMMON); }
static int setup_plain(void **state) { return setup_feat(state, 0); }

static int teardown(void **state)
{
    struct fx *x = *state;
    virtio_dev_free(x->f.dev);
    mem_free(x->f.mem);
    free(x->c);
    free(x);
    return 0;
}

static bool is_ring(uint64_t gpa)
{
    return gpa == FAKE_DESC || gpa == FAKE_AVAIL || gpa == FAKE_USED;
}

/* Guest pages but the rings' that a memory operation refuses: pinned
 * ones.  Every other page gets new backing on the way (same bytes). */
static unsigned count_pinned(struct fx *x)
{
    unsigned n = 0;
    for (uint64_t a = FAKE_RAM; a < FAKE_RAM + FAKE_RAM_SIZE; a += 4096) {
        if (is_ring(a))
            continue;
        int rc = mem_replace_page(x->f.mem, a);
        assert_true(rc == 0 || rc == -EBUSY);
        n += rc == -EBUSY;
    }
    return n;
}

/* The chain must be rejected: -EIO, NEEDS_RESET, config interrupt, and
 * the queue stays stopped afterwards.  Whatever the walk had mapped is
 * unpinned again. */
static void expect_malformed(struct fx *x)
{
    unsigned pinned = count_pinned(x);
    assert_int_equal(virtq_pop(x->vq, x->c), -EIO);
    assert_int_equal(count_pinned(x), pinned);
    assert_true(fk_needs_reset(&x->f));
    assert_true(fk_rd(&x->f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    assert_true(x->f.irq.level);
    assert_int_equal(virtq_pop(x->vq, x->c), 0);
    assert_false(virtio_dev_running(x->f.dev));
}

static void test_empty(void **state)
{
    struct fx *x = *state;
    assert_int_equal(virtq_pop(x->vq, x->c), 0);
    assert_false(fk_needs_reset(&x->f));
}

static void test_good_chain(void **state)
{
    struct fx *x = *state;
    const char msg[] = "hello, device";
    mem_write(x->f.mem, FAKE_BUF, msg, sizeof(msg));
    fk_desc(&x->f, 3, FAKE_BUF, sizeof(msg), VIRTQ_DESC_F_NEXT, 7);
    fk_desc(&x->f, 7, FAKE_BUF + 0x1000, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    fk_desc(&x->f, 1, FAKE_BUF + 0x2000, 28, VIRTQ_DESC_F_WRITE, 0);
    fk_avail(&x->f, 3);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(x->c->head, 3);
    assert_int_equal(x->c->ndesc, 3);
    assert_int_equal(x->c->out_len, sizeof(msg));
    assert_int_equal(x->c->in_len, 128);
    char got[sizeof(msg)];
    assert_int_equal(virtq_chain_read(x->c, 0, got, sizeof(got)), sizeof(got));
    assert_string_equal(got, msg);
    /* Write across the two writable buffers. */
    uint8_t pat[120];
    memset(pat, 0xab, sizeof(pat));
    assert_int_equal(virtq_chain_write(x->c, 0, pat, sizeof(pat)), sizeof(pat));
    uint8_t back[20];
    mem_read(x->f.mem, FAKE_BUF + 0x2000, back, sizeof(back));
    assert_int_equal(back[0], 0xab);
    assert_int_equal(back[19], 0xab);
    unsigned before = x->f.irq.raised;
    assert_int_equal(virtq_push(x->vq, x->c, 120), 0);
    assert_int_equal(fk_used_idx(&x->f), 1);
    uint32_t id, len;
    fk_used_elem(&x->f, 0, &id, &len);
    assert_int_equal(id, 3);
    assert_int_equal(len, 120);
    assert_true(x->f.irq.raised > before);
    assert_true(fk_rd(&x->f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
    fk_wr(&x->f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_false(x->f.irq.level);
    /* `written` beyond the writable size is clamped. */
    fk_avail(&x->f, 1);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(virtq_push(x->vq, x->c, 1000), 0);
    fk_used_elem(&x->f, 1, &id, &len);
    assert_int_equal(len, 28);
    assert_int_equal(virtq_pop(x->vq, x->c), 0);
}

static void test_head_out_of_range(void **state)
{
    struct fx *x = *state;
    fk_avail(&x->f, QSIZE);
    expect_malformed(x);
}

static void test_next_out_of_range(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_BUF, 16, VIRTQ_DESC_F_NEXT, QSIZE + 3);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_loop(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
    fk_desc(&x->f, 1, FAKE_BUF, 16, VIRTQ_DESC_F_NEXT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_self_loop(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 5, FAKE_BUF, 16, VIRTQ_DESC_F_NEXT, 5);
    fk_avail(&x->f, 5);
    expect_malformed(x);
}

static void test_zero_length_chain(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_BUF, 0, VIRTQ_DESC_F_NEXT, 1);
    fk_desc(&x->f, 1, FAKE_BUF, 0, VIRTQ_DESC_F_WRITE, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_buffer_outside_ram(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, 0x1000, 64, 0, 0);    /* below RAM */
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_buffer_straddles_ram_end(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_RAM + FAKE_RAM_SIZE - 8, 16, VIRTQ_DESC_F_WRITE, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_buffer_wraps(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, UINT64_MAX - 15, 0xffffffffu, 0, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_buffer_over_mmio(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, 0x10001000ULL, 0x100, VIRTQ_DESC_F_WRITE, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_wrong_direction(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    fk_desc(&x->f, 1, FAKE_BUF + 16, 16, 0, 0);     /* readable after writable */
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_avail_idx_jump(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_BUF, 16, 0, 0);
    fk_put16(&x->f, FAKE_AVAIL + 2, QSIZE + 1);     /* 17 buffers in a 16-ring */
    expect_malformed(x);
}

static void test_chain_longer_than_queue(void **state)
{
    struct fx *x = *state;
    /* 16 descriptors in a row are fine; a 17th would need a repeat, so a
     * full-length chain is accepted... */
    for (unsigned i = 0; i < QSIZE; i++)
        fk_desc(&x->f, i, FAKE_BUF + 16 * i, 16, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0,
                (uint16_t)(i + 1));
    fk_avail(&x->f, 0);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(x->c->ndesc, QSIZE);
    assert_int_equal(x->c->out_len, 16 * QSIZE);
    virtq_push(x->vq, x->c, 0);
    /* ...and one that ends by pointing back into itself is not. */
    fk_desc(&x->f, QSIZE - 1, FAKE_BUF, 16, VIRTQ_DESC_F_NEXT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_indirect_good(void **state)
{
    struct fx *x = *state;
    fk_desc_at(&x->f, FAKE_IND, 0, FAKE_BUF, 16, VIRTQ_DESC_F_NEXT, 2);
    fk_desc_at(&x->f, FAKE_IND, 2, FAKE_BUF + 0x100, 32, VIRTQ_DESC_F_NEXT, 1);
    fk_desc_at(&x->f, FAKE_IND, 1, FAKE_BUF + 0x200, 64, VIRTQ_DESC_F_WRITE, 0);
    fk_desc(&x->f, 4, FAKE_IND, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 4);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(x->c->head, 4);
    assert_int_equal(x->c->out_len, 48);
    assert_int_equal(x->c->in_len, 64);
    assert_int_equal(virtq_push(x->vq, x->c, 64), 0);
    uint32_t id, len;
    fk_used_elem(&x->f, 0, &id, &len);
    assert_int_equal(id, 4);
    assert_int_equal(len, 64);
}

/* An indirect table may hold as many descriptors as the queue size (Linux
 * fills it up to seg_max + 2 = the queue size), not one more. */
static void test_indirect_full_table(void **state)
{
    struct fx *x = *state;
    for (unsigned i = 0; i < QSIZE; i++)
        fk_desc_at(&x->f, FAKE_IND, i, FAKE_BUF + 16 * i, 16,
                   i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : VIRTQ_DESC_F_WRITE, (uint16_t)(i + 1));
    fk_desc(&x->f, 0, FAKE_IND, 16 * QSIZE, VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 0);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(x->c->ndesc, QSIZE);
    virtq_push(x->vq, x->c, 0);
    for (unsigned i = 0; i <= QSIZE; i++)
        fk_desc_at(&x->f, FAKE_IND, i, FAKE_BUF + 16 * i, 16,
                   i < QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    fk_desc(&x->f, 0, FAKE_IND, 16 * (QSIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_indirect_without_feature(void **state)
{
    struct fx *x = *state;      /* setup_plain: no INDIRECT_DESC */
    fk_desc_at(&x->f, FAKE_IND, 0, FAKE_BUF, 16, 0, 0);
    fk_desc(&x->f, 0, FAKE_IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_indirect_nested(void **state)
{
    struct fx *x = *state;
    fk_desc_at(&x->f, FAKE_IND, 0, FAKE_IND + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
    fk_desc(&x->f, 0, FAKE_IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_indirect_with_next(void **state)
{
    struct fx *x = *state;
    fk_desc_at(&x->f, FAKE_IND, 0, FAKE_BUF, 16, 0, 0);
    fk_desc(&x->f, 0, FAKE_IND, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    fk_desc(&x->f, 1, FAKE_BUF, 16, 0, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_indirect_bad_len(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_IND, 24, VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_indirect_zero_len(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_IND, 0, VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_indirect_table_outside_ram(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_RAM + FAKE_RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_indirect_loop(void **state)
{
    struct fx *x = *state;
    fk_desc_at(&x->f, FAKE_IND, 0, FAKE_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
    fk_desc_at(&x->f, FAKE_IND, 1, FAKE_BUF, 16, VIRTQ_DESC_F_NEXT, 0);
    fk_desc(&x->f, 0, FAKE_IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_indirect_next_out_of_table(void **state)
{
    struct fx *x = *state;
    fk_desc_at(&x->f, FAKE_IND, 0, FAKE_BUF, 16, VIRTQ_DESC_F_NEXT, 2);  /* table has 2 */
    fk_desc(&x->f, 0, FAKE_IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

static void test_indirect_not_at_head(void **state)
{
    struct fx *x = *state;
    fk_desc_at(&x->f, FAKE_IND, 0, FAKE_BUF, 16, 0, 0);
    fk_desc(&x->f, 0, FAKE_BUF, 16, VIRTQ_DESC_F_NEXT, 1);
    fk_desc(&x->f, 1, FAKE_IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
    fk_avail(&x->f, 0);
    expect_malformed(x);
}

/* A reset clears NEEDS_RESET and the interrupt; the queue works again
 * after the driver sets it up anew; chains popped before are stale. */
static void test_reset_recovers(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_BUF, 16, 0, 0);
    fk_avail(&x->f, 0);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    struct virtq_chain *old = malloc(sizeof(*old));
    memcpy(old, x->c, sizeof(*old));
    fk_avail(&x->f, QSIZE + 5);
    expect_malformed(x);
    unsigned resets = x->t.resets;
    fk_wr(&x->f, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(x->t.resets, resets + 1);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_false(x->f.irq.level);
    assert_false(virtq_ready(x->vq));
    assert_int_equal(virtq_push(x->vq, old, 0), -ESTALE);
    free(old);
    assert_true(fk_negotiate(&x->f, VIRTIO_F_COMMON) & VIRTIO_STATUS_FEATURES_OK);
    fk_queue(&x->f, 0, QSIZE, FAKE_DESC, FAKE_AVAIL, FAKE_USED);
    fk_driver_ok(&x->f);
    fk_desc(&x->f, 2, FAKE_BUF, 16, 0, 0);
    fk_avail(&x->f, 2);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(x->c->head, 2);
    assert_false(fk_needs_reset(&x->f));
}

static void test_bad_queue_setup(void **state)
{
    struct fx *x = *state;
    struct { unsigned size; uint64_t d, a, u; } bad[] = {
        { 12, FAKE_DESC, FAKE_AVAIL, FAKE_USED },           /* not a power of 2 */
        { 0, FAKE_DESC, FAKE_AVAIL, FAKE_USED },            /* zero */
        { 2 * QSIZE, FAKE_DESC, FAKE_AVAIL, FAKE_USED },    /* above QueueNumMax */
        { QSIZE, FAKE_DESC + 8, FAKE_AVAIL, FAKE_USED },    /* desc misaligned */
        { QSIZE, FAKE_DESC, FAKE_AVAIL + 1, FAKE_USED },    /* avail misaligned */
        { QSIZE, FAKE_DESC, FAKE_AVAIL, FAKE_USED + 2 },    /* used misaligned */
        { QSIZE, 0x1000, FAKE_AVAIL, FAKE_USED },           /* desc not RAM */
        { QSIZE, FAKE_DESC, FAKE_RAM + FAKE_RAM_SIZE - 8, FAKE_USED },
        { QSIZE, FAKE_DESC, FAKE_AVAIL, FAKE_RAM + FAKE_RAM_SIZE - 64 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fk_wr(&x->f, VIRTIO_MMIO_STATUS, 0);
        assert_true(fk_negotiate(&x->f, VIRTIO_F_COMMON) & VIRTIO_STATUS_FEATURES_OK);
        fk_queue(&x->f, 0, bad[i].size, bad[i].d, bad[i].a, bad[i].u);
        assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_QUEUE_READY), 0);
        assert_true(fk_needs_reset(&x->f));
        fk_driver_ok(&x->f);
        assert_int_equal(virtq_pop(x->vq, x->c), 0);
    }
}

/* 2.7.10: with EVENT_IDX the device interrupts only when used_idx passes
 * used_event, and publishes avail_event after each pop. */
static void test_event_idx(void **state)
{
    struct fx *x = *state;
    fk_put16(&x->f, FAKE_AVAIL + 4 + 2 * QSIZE, 2);     /* used_event = 2 */
    for (unsigned i = 0; i < 4; i++)
        fk_desc(&x->f, i, FAKE_BUF, 16, VIRTQ_DESC_F_WRITE, 0);
    unsigned raised = x->f.irq.raised;
    for (unsigned i = 0; i < 4; i++) {
        fk_avail(&x->f, (uint16_t)i);
        assert_int_equal(virtq_pop(x->vq, x->c), 1);
        /* avail_event at the end of the used ring */
        assert_int_equal(fk_get16(&x->f, FAKE_USED + 4 + 8 * QSIZE), i + 1);
        assert_int_equal(virtq_push(x->vq, x->c, 4), 0);
        bool expect = i == 2;   /* used idx 2 -> 3 crosses used_event 2 */
        assert_int_equal(x->f.irq.raised - raised, expect ? 1 : 0);
        if (expect) {
            fk_wr(&x->f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
            raised = x->f.irq.raised;
        }
    }
    assert_int_equal(fk_used_idx(&x->f), 4);
}

/* 2.7.7: without EVENT_IDX, VIRTQ_AVAIL_F_NO_INTERRUPT suppresses. */
static void test_no_interrupt_flag(void **state)
{
    struct fx *x = *state;      /* setup_plain */
    fk_put16(&x->f, FAKE_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
    fk_desc(&x->f, 0, FAKE_BUF, 16, VIRTQ_DESC_F_WRITE, 0);
    fk_avail(&x->f, 0);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(virtq_push(x->vq, x->c, 16), 0);
    assert_int_equal(x->f.irq.raised, 0);
    assert_int_equal(fk_used_idx(&x->f), 1);
    fk_put16(&x->f, FAKE_AVAIL, 0);
    fk_avail(&x->f, 0);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(virtq_push(x->vq, x->c, 16), 0);
    assert_int_equal(x->f.irq.raised, 1);
}

/* The ring wraps: many more chains than the queue size. */
static void test_wraparound(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_BUF, 16, VIRTQ_DESC_F_WRITE, 0);
    for (unsigned i = 0; i < 70000; i++) {
        fk_avail(&x->f, 0);
        assert_int_equal(virtq_pop(x->vq, x->c), 1);
        assert_int_equal(virtq_push(x->vq, x->c, 1), 0);
    }
    assert_int_equal(fk_used_idx(&x->f), (uint16_t)70000);
    assert_false(fk_needs_reset(&x->f));
}

/* Nothing is popped before DRIVER_OK. */
static void test_not_running(void **state)
{
    struct fx *x = *state;
    fk_wr(&x->f, VIRTIO_MMIO_STATUS, 0);
    assert_true(fk_negotiate(&x->f, VIRTIO_F_COMMON) & VIRTIO_STATUS_FEATURES_OK);
    fk_queue(&x->f, 0, QSIZE, FAKE_DESC, FAKE_AVAIL, FAKE_USED);
    fk_desc(&x->f, 0, FAKE_BUF, 16, 0, 0);
    fk_avail(&x->f, 0);
    assert_int_equal(virtq_pop(x->vq, x->c), 0);
    fk_driver_ok(&x->f);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
}

/* A popped chain's buffers are pinned (refused by memory operations)
 * until it is pushed; the unpin marks the writable pages dirty again.
 * The rings stay pinned while the queue is in use. */
static void test_chain_pinned_until_push(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, FAKE_BUF, 100, VIRTQ_DESC_F_NEXT, 1);
    fk_desc(&x->f, 1, FAKE_BUF + 0x2000 + 4000, 200, VIRTQ_DESC_F_WRITE, 0);
    fk_avail(&x->f, 0);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(count_pinned(x), 3);
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_BUF), -EBUSY);
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_BUF + 0x2000), -EBUSY);
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_BUF + 0x3000), -EBUSY);
    uint64_t bm[FAKE_RAM_SIZE / 4096 / 64];
    assert_int_equal(mem_dirty_fetch(x->f.mem, FAKE_RAM, FAKE_RAM_SIZE, bm, true), 0);
    uint8_t pat[200];
    memset(pat, 0x5c, sizeof(pat));
    assert_int_equal(virtq_chain_write(x->c, 0, pat, sizeof(pat)), sizeof(pat));
    assert_int_equal(virtq_push(x->vq, x->c, 200), 0);
    assert_int_equal(count_pinned(x), 0);
    assert_int_equal(mem_dirty_fetch(x->f.mem, FAKE_RAM, FAKE_RAM_SIZE, bm, false), 0);
    uint64_t p = (FAKE_BUF + 0x2000 - FAKE_RAM) / 4096;
    assert_true((bm[p / 64] >> (p % 64)) & 1);
    assert_true((bm[(p + 1) / 64] >> ((p + 1) % 64)) & 1);
    p = (FAKE_BUF - FAKE_RAM) / 4096;
    assert_false((bm[p / 64] >> (p % 64)) & 1);
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_DESC), -EBUSY);
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_AVAIL), -EBUSY);
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_USED), -EBUSY);
    /* Every other page got new backing in count_pinned: the queue goes
     * on as before. */
    fk_avail(&x->f, 1);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(x->c->head, 1);
    assert_int_equal(virtq_push(x->vq, x->c, 7), 0);
    uint32_t id, len;
    fk_used_elem(&x->f, 1, &id, &len);
    assert_int_equal(id, 1);
    assert_int_equal(len, 7);
    uint8_t back[200];
    mem_read(x->f.mem, FAKE_BUF + 0x2000 + 4000, back, sizeof(back));
    assert_memory_equal(back, pat, sizeof(back));
}

/* A chain popped before a reset is stale: its push writes nothing but
 * still ends the lease; so does a drop. */
static void test_stale_push_and_drop_unpin(void **state)
{
    struct fx *x = *state;
    struct virtq_chain *old = malloc(sizeof(*old));
    fk_desc(&x->f, 0, FAKE_BUF, 16, 0, 0);
    fk_desc(&x->f, 1, FAKE_BUF + 0x1000, 16, VIRTQ_DESC_F_WRITE, 0);
    fk_avail(&x->f, 0);
    fk_avail(&x->f, 1);
    assert_int_equal(virtq_pop(x->vq, old), 1);
    assert_int_equal(virtq_pop(x->vq, x->c), 1);
    assert_int_equal(count_pinned(x), 2);
    virtq_drop(x->vq, x->c);
    assert_int_equal(count_pinned(x), 1);
    fk_wr(&x->f, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(count_pinned(x), 1);   /* the device still holds it */
    assert_int_equal(virtq_push(x->vq, old, 0), -ESTALE);
    assert_int_equal(count_pinned(x), 0);
    free(old);
    /* The reset released the rings. */
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_DESC), 0);
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_AVAIL), 0);
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_USED), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TP(f) cmocka_unit_test_setup_teardown(f, setup_plain, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_empty),
        T(test_good_chain),
        T(test_head_out_of_range),
        T(test_next_out_of_range),
        T(test_loop),
        T(test_self_loop),
        T(test_zero_length_chain),
        T(test_buffer_outside_ram),
        T(test_buffer_straddles_ram_end),
        T(test_buffer_wraps),
        T(test_buffer_over_mmio),
        T(test_wrong_direction),
        T(test_avail_idx_jump),
        T(test_chain_longer_than_queue),
        T(test_indirect_good),
        T(test_indirect_full_table),
        TP(test_indirect_without_feature),
        T(test_indirect_nested),
        T(test_indirect_with_next),
        T(test_indirect_bad_len),
        T(test_indirect_zero_len),
        T(test_indirect_table_outside_ram),
        T(test_indirect_loop),
        T(test_indirect_next_out_of_table),
        T(test_indirect_not_at_head),
        T(test_reset_recovers),
        T(test_bad_queue_setup),
        T(test_event_idx),
        TP(test_no_interrupt_flag),
        T(test_wraparound),
        T(test_not_running),
        T(test_chain_pinned_until_push),
        T(test_stale_push_and_drop_unpin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
