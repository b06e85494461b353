/* Unit tests of the virtio-mmio transport (src/virtio/mmio.c, Virtio 1.2
 * section 4.2.2): identification registers, feature negotiation rules
 * (3.1.1), status and reset (2.1, 2.4), queue registers, notifications,
 * interrupt status/acknowledge, config space bounds and generation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include "util/ratelimit.h"
#include "util/util.h"
#include "virtio_fake.h"

struct tdev {
    unsigned resets, notifies, last_q, driver_oks;
    uint8_t cfg[8];
};

static void t_reset(void *o) { ((struct tdev *)o)->resets++; }
static void t_notify(void *o, unsigned q)
{
    struct tdev *t = o;
    t->notifies++;
    t->last_q = q;
}
static void t_driver_ok(void *o) { ((struct tdev *)o)->driver_oks++; }
static void t_cfg_read(void *o, uint32_t off, void *buf, uint32_t len)
{
    memcpy(buf, ((struct tdev *)o)->cfg + off, len);
}
static void t_cfg_write(void *o, uint32_t off, const void *buf, uint32_t len)
{
    memcpy(((struct tdev *)o)->cfg + off, buf, len);
}

#define DEV_FEATURES ((1ULL << 3) | VIRTIO_F_COMMON)

static const struct virtio_dev_ops tops = {
    .name = "virtio-test", .device_id = 7, .num_queues = 2, .queue_max = 32,
    .config_size = 8, .features = DEV_FEATURES,
    .reset = t_reset, .notify = t_notify, .driver_ok = t_driver_ok,
    .config_read = t_cfg_read, .config_write = t_cfg_write,
};

struct fx {
    struct fake_driver f;
    struct tdev t;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    x->f.mem = mem_new();
    assert_int_equal(mem_add_ram(x->f.mem, FAKE_RAM, FAKE_RAM_SIZE), 0);
    struct hw_line irq = { fake_irq_set, &x->f.irq, 3 };
    x->f.dev = virtio_dev_new(&tops, &x->t, 1ULL << 40, &irq, x->f.mem);
    assert_non_null(x->f.dev);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    virtio_dev_free(x->f.dev);
    mem_free(x->f.mem);
    free(x);
    return 0;
}

static void test_identification(void **state)
{
    struct fx *x = *state;
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_DEVICE_ID), 7);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_STATUS), 0);
    /* No shared memory regions: length reads as -1. */
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffffu);
    /* Register accesses other than aligned 32-bit read 0. */
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, VIRTIO_MMIO_MAGIC_VALUE + 2, 4), 0);
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, 0x0f8, 4), 0);   /* reserved */
}

static void test_device_features(void **state)
{
    struct fx *x = *state;
    uint64_t want = DEV_FEATURES | (1ULL << 40) | (1ULL << VIRTIO_F_VERSION_1);
    fk_wr(&x->f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)want);
    fk_wr(&x->f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(want >> 32));
    fk_wr(&x->f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
    fk_wr(&x->f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffffu);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void test_negotiation(void **state)
{
    struct fx *x = *state;
    /* A subset with VERSION_1: accepted. */
    uint32_t st = fk_negotiate(&x->f, (1ULL << 3) | (1ULL << VIRTIO_F_EVENT_IDX));
    assert_true(st & VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(virtio_dev_features(x->f.dev),
                     (1ULL << 3) | (1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_VERSION_1));
    /* Features are frozen once FEATURES_OK is set. */
    fk_wr(&x->f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    fk_wr(&x->f, VIRTIO_MMIO_DRIVER_FEATURES, 0);
    assert_true(virtio_dev_features(x->f.dev) & (1ULL << 3));
    /* A bit the device did not offer: refused. */
    st = fk_negotiate(&x->f, 1ULL << 4);
    assert_false(st & VIRTIO_STATUS_FEATURES_OK);
    /* Without VERSION_1 (a legacy driver): refused. */
    fk_wr(&x->f, VIRTIO_MMIO_STATUS, 0);
    fk_wr(&x->f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    fk_wr(&x->f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    fk_wr(&x->f, VIRTIO_MMIO_DRIVER_FEATURES, 1u << 3);
    fk_wr(&x->f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                     VIRTIO_STATUS_FEATURES_OK);
    assert_false(fk_rd(&x->f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    /* DRIVER_OK without FEATURES_OK does not start the device. */
    fk_wr(&x->f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                     VIRTIO_STATUS_DRIVER_OK);
    assert_false(virtio_dev_running(x->f.dev));
    assert_int_equal(x->t.driver_oks, 0);
}

static void test_driver_ok_and_notify(void **state)
{
    struct fx *x = *state;
    assert_true(fk_negotiate(&x->f, 0) & VIRTIO_STATUS_FEATURES_OK);
    fk_queue(&x->f, 1, 32, FAKE_DESC, FAKE_AVAIL, FAKE_USED);
    /* Before DRIVER_OK notifications are ignored. */
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    assert_int_equal(x->t.notifies, 0);
    fk_driver_ok(&x->f);
    assert_int_equal(x->t.driver_oks, 1);
    assert_true(virtio_dev_running(x->f.dev));
    unsigned n = x->t.notifies;     /* DRIVER_OK may kick ready queues */
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    assert_int_equal(x->t.notifies, n + 1);
    assert_int_equal(x->t.last_q, 1);
    /* Queue 0 is not ready, queue 5 does not exist: ignored. */
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 5);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
    assert_int_equal(x->t.notifies, n + 1);
}

static void test_queue_registers(void **state)
{
    struct fx *x = *state;
    fk_negotiate(&x->f, 0);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_QUEUE_NUM_MAX), 32);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_SEL, 2);     /* no such queue */
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_QUEUE_READY), 0);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_READY, 1);   /* ignored */
    fk_queue(&x->f, 0, 8, FAKE_DESC, FAKE_AVAIL, FAKE_USED);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_QUEUE_READY), 1);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_QUEUE_DESC_LOW), (uint32_t)FAKE_DESC);
    /* Writes to a ready queue's registers are ignored. */
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NUM, 4);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234);
    assert_int_equal(virtq_size(virtio_dev_queue(x->f.dev, 0)), 8);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_QUEUE_DESC_LOW), (uint32_t)FAKE_DESC);
    /* QueueReady 0 stops it. */
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_READY, 0);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_QUEUE_READY), 0);
    assert_null(virtio_dev_queue(x->f.dev, 2));
}

static void test_interrupts(void **state)
{
    struct fx *x = *state;
    fk_negotiate(&x->f, 0);
    fk_driver_ok(&x->f);
    virtio_dev_interrupt(x->f.dev, VIRTIO_MMIO_INT_VRING);
    assert_true(x->f.irq.level);
    virtio_dev_config_changed(x->f.dev);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_INTERRUPT_STATUS), 3);
    fk_wr(&x->f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_true(x->f.irq.level);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_INTERRUPT_STATUS), 2);
    fk_wr(&x->f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    assert_false(x->f.irq.level);
    /* InterruptStatus is read-only. */
    fk_wr(&x->f, VIRTIO_MMIO_INTERRUPT_STATUS, 3);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

static void test_config_space(void **state)
{
    struct fx *x = *state;
    memcpy(x->t.cfg, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, 0x100, 1), 0x01);
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, 0x102, 2), 0x0403);
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, 0x104, 4), 0x08070605);
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, 0x100, 8), 0x0807060504030201ULL);
    /* Beyond config_size: 0, writes dropped, no out-of-bounds callback. */
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, 0x106, 4), 0);
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, 0x108, 1), 0);
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, 0xffc, 4), 0);
    virtio_mmio_ops.write(x->f.dev, 0x107, 0xffff, 2);
    assert_int_equal(x->t.cfg[7], 0x08);
    virtio_mmio_ops.write(x->f.dev, 0x101, 0xaa, 1);
    assert_int_equal(x->t.cfg[1], 0xaa);
    uint32_t g = fk_rd(&x->f, VIRTIO_MMIO_CONFIG_GENERATION);
    virtio_dev_config_changed(x->f.dev);
    assert_int_not_equal(fk_rd(&x->f, VIRTIO_MMIO_CONFIG_GENERATION), g);
    /* No DRIVER_OK: no config interrupt. */
    assert_false(x->f.irq.level);
}

static void test_reset(void **state)
{
    struct fx *x = *state;
    fk_negotiate(&x->f, 1ULL << 3);
    fk_queue(&x->f, 0, 8, FAKE_DESC, FAKE_AVAIL, FAKE_USED);
    fk_driver_ok(&x->f);
    virtio_dev_interrupt(x->f.dev, VIRTIO_MMIO_INT_VRING);
    virtio_dev_needs_reset(x->f.dev, "test %d", 1);
    assert_true(fk_needs_reset(&x->f));
    /* The driver cannot clear NEEDS_RESET by writing status... */
    fk_wr(&x->f, VIRTIO_MMIO_STATUS, 0x0f);
    assert_true(fk_needs_reset(&x->f));
    /* ...only a reset does, and it forgets everything. */
    unsigned r = x->t.resets;
    fk_wr(&x->f, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(x->t.resets, r + 1);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_false(x->f.irq.level);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_QUEUE_READY), 0);
    assert_int_equal(virtio_dev_features(x->f.dev), 0);
    assert_false(virtio_dev_running(x->f.dev));
}

/* Arbitrary register traffic never crashes (the fuzz target does more). */
static void test_random_writes(void **state)
{
    struct fx *x = *state;
    uint64_t s = 88172645463325252ULL;
    for (unsigned i = 0; i < 200000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        uint64_t off = (s >> 8) & 0x1ff;
        unsigned size = 1u << ((s >> 20) & 3);
        if ((s >> 30) & 1)
            virtio_mmio_ops.write(x->f.dev, off, s >> 32, size);
        else
            (void)virtio_mmio_ops.read(x->f.dev, off, size);
        struct virtq_chain *c = NULL;
        if ((i & 255) == 0) {
            c = malloc(sizeof(*c));
            for (unsigned q = 0; q < 2; q++)
                if (virtq_pop(virtio_dev_queue(x->f.dev, q), c) == 1)
                    virtq_push(virtio_dev_queue(x->f.dev, q), c, 0);
            free(c);
        }
    }
}

/* Make the device fail (QueueReady with a queue size of 0) and reset it,
 * `rounds` times, with stderr going to a file; returns the number of
 * "needs reset" lines printed. */
static unsigned fail_and_reset(struct fake_driver *const *devs, unsigned ndevs,
                               unsigned rounds, uint64_t *elapsed_ns)
{
    FILE *cap = tmpfile();
    assert_non_null(cap);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(cap), STDERR_FILENO) >= 0);
    uint64_t t0 = host_time_ns();
    for (unsigned i = 0; i < rounds; i++) {
        struct fake_driver *f = devs[i % ndevs];
        fk_wr(f, VIRTIO_MMIO_STATUS, 0);        /* reset */
        fk_wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
        fk_wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
        fk_wr(f, VIRTIO_MMIO_QUEUE_NUM, 0);
        fk_wr(f, VIRTIO_MMIO_QUEUE_READY, 1);   /* invalid size: needs reset */
        assert_true(fk_needs_reset(f));
    }
    *elapsed_ns = host_time_ns() - t0;
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(cap);
    char line[512];
    unsigned n = 0;
    while (fgets(line, sizeof(line), cap))
        if (strstr(line, "device needs reset"))
            n++;
    fclose(cap);
    return n;
}

/* Most lines a limiter lets through in `ns`: the burst, then the rate. */
static unsigned limit_bound(uint64_t ns)
{
    return RATELIMIT_GUEST_BURST + (unsigned)(ns / 1000000000ULL + 1) * RATELIMIT_GUEST_PER_SEC;
}

/* The once-per-device-until-reset rule alone let a guest that resets its
 * device in a loop print one line per round (2 million lines in 13 s). */
static void test_reset_loop_log_bounded(void **state)
{
    struct fx *x = *state;
    struct fake_driver *f = &x->f;
    uint64_t ns;
    unsigned n = fail_and_reset(&f, 1, 5000, &ns);
    assert_true(n >= 1);
    assert_in_range(n, 1, limit_bound(ns));
}

/* Devices of one VM share its limiter: two devices get one budget. */
static void test_shared_log_limit(void **state)
{
    struct fx *x = *state;
    struct fake_driver f2 = { .mem = x->f.mem };
    struct tdev t2 = { 0 };
    struct hw_line irq = { fake_irq_set, &f2.irq, 4 };
    f2.dev = virtio_dev_new(&tops, &t2, 0, &irq, x->f.mem);
    assert_non_null(f2.dev);
    struct ratelimit rl;
    ratelimit_init(&rl, RATELIMIT_GUEST_BURST, RATELIMIT_GUEST_PER_SEC);
    virtio_dev_set_log_limit(x->f.dev, &rl);
    virtio_dev_set_log_limit(f2.dev, &rl);
    struct fake_driver *devs[2] = { &x->f, &f2 };
    uint64_t ns;
    unsigned n = fail_and_reset(devs, 2, 4000, &ns);
    assert_in_range(n, RATELIMIT_GUEST_BURST, limit_bound(ns));
    assert_true(ratelimit_total_suppressed(&rl) >= 4000 - limit_bound(ns));
    virtio_dev_free(f2.dev);
    virtio_dev_set_log_limit(x->f.dev, NULL);
    ratelimit_destroy(&rl);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_identification),
        T(test_device_features),
        T(test_negotiation),
        T(test_driver_ok_and_notify),
        T(test_queue_registers),
        T(test_interrupts),
        T(test_config_space),
        T(test_reset),
        T(test_random_writes),
        T(test_reset_loop_log_bounded),
        T(test_shared_log_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
