/* Unit tests for virtio/net.c: a hand-written driver sets the device up
 * through its virtio-mmio registers, builds split rings in a mem_new()
 * address space, and exchanges frames with a backend: the user-mode one
 * (ARP with slirp's gateway), or a fake (net_fake.h) that shows the
 * device uses nothing but the backend interface, in both directions; or
 * injects frames as a backend would (virtio_net_rx). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "mem/mem.h"
#include "net_fake.h"
#include "virtio/net.h"
#include "virtio/virtio.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (1ULL << 20)
#define QSIZE 8
/* Per queue q: descriptors, avail and used rings in their own pages. */
#define DESC(q)  (RAM_BASE + 0x10000 * (q))
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q)  (DESC(q) + 0x2000)
#define BUF(q, i) (RAM_BASE + 0x40000 + 0x10000 * (q) + 0x800 * (i))

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

struct fx {
    struct mem *mem;
    struct net_backend *be;     /* the NIC's backend, closed at teardown */
    struct fake_be *fake;       /* be, when it is the fake */
    struct virtio_net *n;
    struct virtio_dev *vdev;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned raises;            /* irq line rising edges */
    bool level;
    uint16_t avail_idx[2];
    unsigned next_desc[2];
};

static void irq_set(void *opaque, unsigned line, bool level)
{
    struct fx *f = opaque;
    pthread_mutex_lock(&f->lock);
    if (level && !f->level)
        f->raises++;
    f->level = level;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

static uint32_t rd(struct fx *f, uint64_t off)
{
    return (uint32_t)virtio_mmio_ops.read(f->vdev, off, 4);
}

static void wr(struct fx *f, uint64_t off, uint32_t v)
{
    virtio_mmio_ops.write(f->vdev, off, v, 4);
}

static uint16_t used_idx(struct fx *f, unsigned q)
{
    uint64_t v;
    assert_int_equal(mem_load(f->mem, USED(q) + 2, 2, &v), 0);
    return (uint16_t)v;
}

static void used_elem(struct fx *f, unsigned q, unsigned slot, uint32_t *id, uint32_t *len)
{
    uint64_t v;
    assert_int_equal(mem_load(f->mem, USED(q) + 4 + 8 * (slot % QSIZE), 4, &v), 0);
    *id = (uint32_t)v;
    assert_int_equal(mem_load(f->mem, USED(q) + 8 + 8 * (slot % QSIZE), 4, &v), 0);
    *len = (uint32_t)v;
}

static void ack_irq(struct fx *f)
{
    uint32_t isr = rd(f, VIRTIO_MMIO_INTERRUPT_STATUS);
    if (isr)
        wr(f, VIRTIO_MMIO_INTERRUPT_ACK, isr);
}

/* Wait (interrupt-driven, 10 s deadline) until the used index of queue q
 * reaches `want`. */
static bool wait_used(struct fx *f, unsigned q, uint16_t want)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        unsigned seen = f->raises;
        pthread_mutex_unlock(&f->lock);
        ack_irq(f);
        if ((uint16_t)(used_idx(f, q) - want) < 0x8000)
            return true;
        pthread_mutex_lock(&f->lock);
        while (f->raises == seen)
            if (pthread_cond_timedwait(&f->cond, &f->lock, &dl) == ETIMEDOUT) {
                pthread_mutex_unlock(&f->lock);
                return (uint16_t)(used_idx(f, q) - want) < 0x8000;
            }
    }
}

/* Put a chain of `nseg` buffers on queue q (writable or not) and publish
 * it; returns the head index.  Does not notify. */
static unsigned add_chain(struct fx *f, unsigned q, const uint64_t *gpa,
                          const uint32_t *len, unsigned nseg, bool writable)
{
    unsigned head = f->next_desc[q] % QSIZE;
    for (unsigned s = 0; s < nseg; s++) {
        unsigned i = (head + s) % QSIZE;
        uint8_t d[16];
        uint16_t flags = (writable ? VIRTQ_DESC_F_WRITE : 0) |
                         (s + 1 < nseg ? VIRTQ_DESC_F_NEXT : 0);
        uint16_t next = (uint16_t)((i + 1) % QSIZE);
        memcpy(d, &gpa[s], 8);
        memcpy(d + 8, &len[s], 4);
        memcpy(d + 12, &flags, 2);
        memcpy(d + 14, &next, 2);
        assert_int_equal(mem_write(f->mem, DESC(q) + 16 * i, d, 16), 0);
    }
    f->next_desc[q] += nseg;
    uint16_t ai = f->avail_idx[q];
    assert_int_equal(mem_store(f->mem, AVAIL(q) + 4 + 2 * (ai % QSIZE), 2, head), 0);
    f->avail_idx[q] = ++ai;
    assert_int_equal(mem_store(f->mem, AVAIL(q) + 2, 2, ai), 0);
    return head;
}

static void notify(struct fx *f, unsigned q)
{
    wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static void post_rx(struct fx *f, unsigned count, uint32_t size)
{
    for (unsigned k = 0; k < count; k++) {
        uint64_t g = BUF(0, f->next_desc[0] % QSIZE);
        add_chain(f, 0, &g, &size, 1, true);
    }
}

/* The driver side of 3.1.1 up to FEATURES_OK (not DRIVER_OK). */
static void driver_init(struct fx *f, uint64_t features)
{
    wr(f, VIRTIO_MMIO_STATUS, 0);
    wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                              VIRTIO_STATUS_FEATURES_OK);
    assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < 2; q++) {
        wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
        assert_true(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX) >= QSIZE);
        wr(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
        wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC(q));
        wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(DESC(q) >> 32));
        wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL(q));
        wr(f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(AVAIL(q) >> 32));
        wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED(q));
        wr(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(USED(q) >> 32));
        wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
        f->avail_idx[q] = 0;
        f->next_desc[q] = 0;
    }
}

static void driver_ok(struct fx *f)
{
    wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                              VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

#define FEAT_BASIC ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MAC) | \
                    (1ULL << VIRTIO_NET_F_STATUS))

/* Open the user backend of `spec` as the VMM does (parse, open). */
static struct net_backend *open_user(const char *spec)
{
    struct net_spec ns;
    struct net_backend *be = NULL;
    char err[512];
    if (net_spec_parse(spec, &ns, err, sizeof(err)) ||
        net_open(&ns, spec, &be, err, sizeof(err)))
        fail_msg("%s", err);
    return be;
}

enum be_kind { BE_USER, BE_FAKE, BE_NONE };

/* The NIC (MAC as MAC[]) over the user backend, the fake one, or none. */
static int setup_be(void **state, enum be_kind kind)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->mem = mem_new();
    assert_non_null(f->mem);
    assert_int_equal(mem_add_ram(f->mem, RAM_BASE, RAM_SIZE), 0);
    if (kind == BE_FAKE) {
        f->fake = fake_be_new(false);
        assert_non_null(f->fake);
        f->be = &f->fake->base;
    } else if (kind == BE_USER) {
        f->be = open_user("user");
    }
    struct hw_line irq = { irq_set, f, 3 };
    assert_int_equal(virtio_net_new(f->be, MAC, &irq, f->mem, &f->n), 0);
    f->vdev = virtio_net_transport(f->n);
    assert_int_equal(mem_add_mmio(f->mem, 0x10001000, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, f->vdev), 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_be(state, BE_USER);
}

static int setup_fake(void **state)
{
    return setup_be(state, BE_FAKE);
}

static int setup_none(void **state)
{
    return setup_be(state, BE_NONE);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    virtio_net_free(f->n);
    net_close(f->be);           /* the backend outlives the NIC */
    mem_free(f->mem);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->cond);
    free(f);
    return 0;
}

/* ------------------------------------------------------------ tests */

static void test_identity_and_config(void **state)
{
    struct fx *f = *state;
    assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    assert_int_equal(rd(f, VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t lo = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
    wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint32_t hi = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
    assert_true(lo & (1u << VIRTIO_NET_F_MAC));
    assert_true(lo & (1u << VIRTIO_NET_F_STATUS));
    assert_false(lo & 1u);                                  /* no CSUM */
    assert_false(lo & (1u << VIRTIO_NET_F_MRG_RXBUF));
    assert_true(hi & 1u);                                   /* VERSION_1 */
    uint8_t mac[6];
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)virtio_mmio_ops.read(f->vdev, VIRTIO_MMIO_CONFIG + i, 1);
    assert_memory_equal(mac, MAC, 6);
    assert_int_equal(virtio_mmio_ops.read(f->vdev, VIRTIO_MMIO_CONFIG + 6, 2), VIRTIO_NET_S_LINK_UP);
    assert_int_equal(virtio_mmio_ops.read(f->vdev, VIRTIO_MMIO_CONFIG + 8, 2), 1);
    virtio_net_mac(f->n, mac);
    assert_memory_equal(mac, MAC, 6);
    /* Writes to config space are ignored. */
    virtio_mmio_ops.write(f->vdev, VIRTIO_MMIO_CONFIG, 0xff, 1);
    assert_int_equal(virtio_mmio_ops.read(f->vdev, VIRTIO_MMIO_CONFIG, 1), 0x52);
}

/* The MAC is the caller's; a multicast or all-zero one is refused. */
static void test_bad_mac(void **state)
{
    struct mem *m = mem_new();
    assert_non_null(m);
    struct fake_be *fb = fake_be_new(false);
    assert_non_null(fb);
    static const uint8_t multicast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 }, zero[6];
    struct virtio_net *n = (void *)1;
    assert_int_equal(virtio_net_new(&fb->base, multicast, &(struct hw_line){ 0 }, m, &n), -EINVAL);
    assert_null(n);
    assert_int_equal(virtio_net_new(&fb->base, zero, &(struct hw_line){ 0 }, m, &n), -EINVAL);
    assert_null(n);
    /* Nothing was attached: a NIC with a good MAC gets the backend. */
    assert_int_equal(virtio_net_new(&fb->base, MAC, &(struct hw_line){ 0 }, m, &n), 0);
    uint8_t got[6];
    virtio_net_mac(n, got);
    assert_memory_equal(got, MAC, 6);
    virtio_net_free(n);
    net_close(&fb->base);
    mem_free(m);
}

/* A backend has one NIC: a second one is refused (-EBUSY) without
 * detaching the first; freeing a NIC detaches it and leaves the backend
 * open, so a new NIC (the board rebuilt) can take it. */
static void test_backend_one_nic(void **state)
{
    struct fx *f = *state;
    struct virtio_net *n2 = (void *)1;
    assert_int_equal(virtio_net_new(f->be, MAC, &(struct hw_line){ 0 }, f->mem, &n2), -EBUSY);
    assert_null(n2);
    driver_init(f, FEAT_BASIC);
    driver_ok(f);
    post_rx(f, 2, 1600);
    notify(f, 0);
    uint8_t fr[60];
    memset(fr, 0x5a, sizeof(fr));
    fake_be_deliver(f->fake, fr, sizeof(fr));      /* still the first NIC's */
    assert_int_equal(used_idx(f, 0), 1);

    virtio_net_free(f->n);
    f->n = NULL;
    fake_be_deliver(f->fake, fr, sizeof(fr));      /* nobody: dropped */
    struct net_stats st;
    net_get_stats(f->be, &st);
    assert_int_equal(st.rx_frames, 1);
    assert_int_equal(st.rx_dropped, 1);
    struct hw_line irq = { irq_set, f, 3 };
    assert_int_equal(virtio_net_new(f->be, MAC, &irq, f->mem, &f->n), 0);
    fake_be_deliver(f->fake, fr, sizeof(fr));      /* the new NIC: not ready */
    struct virtio_net_stats vs;
    virtio_net_get_stats(f->n, &vs);
    assert_int_equal(vs.rx_dropped_not_ready, 1);
    net_get_stats(f->be, &st);
    assert_int_equal(st.rx_frames, 2);
}

/* No backend (an unplugged cable): transmitted frames are dropped and
 * counted, the ring still moves. */
static void test_no_backend(void **state)
{
    struct fx *f = *state;
    driver_init(f, FEAT_BASIC);
    driver_ok(f);
    uint64_t g = BUF(1, 0);
    uint32_t l = 12 + 60;
    add_chain(f, 1, &g, &l, 1, false);
    notify(f, 1);
    assert_int_equal(used_idx(f, 1), 1);
    struct virtio_net_stats st;
    virtio_net_get_stats(f->n, &st);
    assert_int_equal(st.tx_frames, 0);
    assert_int_equal(st.tx_backend_dropped, 1);
}

static size_t arp_request(uint8_t *fr)
{
    static const uint8_t a[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc,
        0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
        0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc, 10, 0, 2, 15,
        0, 0, 0, 0, 0, 0, 10, 0, 2, 2,
    };
    memset(fr, 0, 60);
    memcpy(fr, a, sizeof(a));
    return 60;
}

/* Guest -> transmitq -> slirp -> receiveq -> guest: ARP for the gateway. */
static void test_arp_roundtrip(void **state)
{
    struct fx *f = *state;
    driver_init(f, FEAT_BASIC);
    driver_ok(f);
    post_rx(f, 4, 1600);
    notify(f, 0);
    /* Header and frame in separate descriptors. */
    uint8_t hdr[12] = { 0 }, fr[60];
    size_t flen = arp_request(fr);
    uint64_t g[2] = { BUF(1, 0), BUF(1, 1) };
    uint32_t l[2] = { 12, (uint32_t)flen };
    assert_int_equal(mem_write(f->mem, g[0], hdr, 12), 0);
    assert_int_equal(mem_write(f->mem, g[1], fr, flen), 0);
    add_chain(f, 1, g, l, 2, false);
    notify(f, 1);
    assert_true(wait_used(f, 1, 1));
    uint32_t id, len;
    used_elem(f, 1, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 0);

    assert_true(wait_used(f, 0, 1));
    used_elem(f, 0, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_true(len >= 12 + 42);
    uint8_t rx[1600];
    assert_int_equal(mem_read(f->mem, BUF(0, 0), rx, len), 0);
    assert_int_equal(rx[0], 0);     /* flags */
    assert_int_equal(rx[1], 0);     /* gso NONE */
    assert_int_equal(rx[10] | rx[11] << 8, 1);  /* num_buffers */
    const uint8_t *e = rx + 12;
    assert_memory_equal(e, MAC, 6);             /* to us */
    assert_int_equal(e[12] << 8 | e[13], 0x0806);
    assert_int_equal(e[20] << 8 | e[21], 2);    /* ARP reply */
    static const uint8_t gw[4] = { 10, 0, 2, 2 };
    assert_memory_equal(e + 28, gw, 4);

    struct virtio_net_stats st;
    virtio_net_get_stats(f->n, &st);
    assert_int_equal(st.tx_frames, 1);
    assert_int_equal(st.rx_frames, 1);
    assert_int_equal(st.tx_bad, 0);
    /* Bytes without the virtio header; the address from the ARP sender. */
    assert_int_equal(st.tx_bytes, flen);
    assert_int_equal(st.rx_bytes, len - 12);
    assert_int_equal(st.ip, 0x0a00020f);
}

static void inject(struct fx *f, unsigned tag, size_t len)
{
    uint8_t fr[NET_MAX_FRAME];
    memset(fr, (int)tag, len);
    virtio_net_rx(f->n, fr, len);
}

/* No buffers: frames wait (bounded), the rest is dropped and counted; they
 * go out in order once the driver posts buffers. */
static void test_pending_and_drops(void **state)
{
    struct fx *f = *state;
    driver_init(f, FEAT_BASIC);
    driver_ok(f);
    for (unsigned i = 0; i < VIRTIO_NET_RX_PENDING + 6; i++)
        inject(f, i + 1, 100);
    struct virtio_net_stats st;
    virtio_net_get_stats(f->n, &st);
    assert_int_equal(st.rx_pending, VIRTIO_NET_RX_PENDING);
    assert_int_equal(st.rx_dropped_full, 6);
    assert_int_equal(st.rx_frames, 0);

    post_rx(f, QSIZE, 1600);
    notify(f, 0);                   /* delivered on this thread */
    assert_int_equal(used_idx(f, 0), QSIZE);
    for (unsigned i = 0; i < QSIZE; i++) {
        uint32_t id, len;
        used_elem(f, 0, i, &id, &len);
        assert_int_equal(len, 12 + 100);
        uint8_t b[112];
        assert_int_equal(mem_read(f->mem, BUF(0, id), b, sizeof(b)), 0);
        assert_int_equal(b[12], i + 1);     /* FIFO order */
        assert_int_equal(b[111], i + 1);
    }
    virtio_net_get_stats(f->n, &st);
    assert_int_equal(st.rx_pending, VIRTIO_NET_RX_PENDING - QSIZE);
    assert_int_equal(st.rx_frames, QSIZE);

    /* A reset forgets what waits. */
    wr(f, VIRTIO_MMIO_STATUS, 0);
    virtio_net_get_stats(f->n, &st);
    assert_int_equal(st.rx_pending, 0);
}

static void test_not_ready_and_small(void **state)
{
    struct fx *f = *state;
    inject(f, 1, 60);               /* no driver at all */
    driver_init(f, FEAT_BASIC);
    inject(f, 2, 60);               /* FEATURES_OK, no DRIVER_OK yet */
    struct virtio_net_stats st;
    virtio_net_get_stats(f->n, &st);
    assert_int_equal(st.rx_dropped_not_ready, 2);
    assert_int_equal(st.rx_pending, 0);
    driver_ok(f);

    /* A buffer too small for header + frame: returned empty, frame
     * dropped; the next (large) buffer gets the next frame. */
    post_rx(f, 1, 40);
    post_rx(f, 1, 1600);
    notify(f, 0);
    inject(f, 3, 60);
    inject(f, 4, 60);
    assert_int_equal(used_idx(f, 0), 2);
    uint32_t id, len;
    used_elem(f, 0, 0, &id, &len);
    assert_int_equal(len, 0);
    used_elem(f, 0, 1, &id, &len);
    assert_int_equal(len, 72);
    virtio_net_get_stats(f->n, &st);
    assert_int_equal(st.rx_dropped_small, 1);
    assert_int_equal(st.rx_frames, 1);

    /* Out-of-range lengths from a backend are ignored. */
    virtio_net_rx(f->n, (const uint8_t *)"", 0);
    uint8_t big[NET_MAX_FRAME + 1] = { 0 };
    virtio_net_rx(f->n, big, sizeof(big));
    assert_int_equal(used_idx(f, 0), 2);
}

/* Hostile transmit chains: too short, too long, header only, and a
 * writable-only chain.  Each is returned (0 bytes) and counted. */
static void test_bad_tx(void **state)
{
    struct fx *f = *state;
    driver_init(f, FEAT_BASIC);
    driver_ok(f);
    uint64_t g = BUF(1, 0);
    uint32_t l;
    l = 12;                         /* header, no frame */
    add_chain(f, 1, &g, &l, 1, false);
    l = 5;                          /* shorter than the header */
    add_chain(f, 1, &g, &l, 1, false);
    l = 12 + NET_MAX_FRAME + 1;     /* too long */
    add_chain(f, 1, &g, &l, 1, false);
    l = 100;                        /* nothing readable */
    add_chain(f, 1, &g, &l, 1, true);
    l = 12 + NET_MAX_FRAME;         /* the largest legal: accepted */
    add_chain(f, 1, &g, &l, 1, false);
    notify(f, 1);
    assert_int_equal(used_idx(f, 1), 5);
    for (unsigned i = 0; i < 5; i++) {
        uint32_t id, len;
        used_elem(f, 1, i, &id, &len);
        assert_int_equal(len, 0);
    }
    struct virtio_net_stats st;
    virtio_net_get_stats(f->n, &st);
    assert_int_equal(st.tx_bad, 4);
    assert_int_equal(st.tx_frames + st.tx_backend_dropped, 1);
    assert_true(virtio_dev_running(f->vdev));
}

/* A receive buffer outside guest RAM: the core puts the device into
 * DEVICE_NEEDS_RESET; the frame is dropped; nothing crashes; a reset and
 * a fresh setup work again. */
static void test_hostile_rx_ring(void **state)
{
    struct fx *f = *state;
    driver_init(f, FEAT_BASIC);
    driver_ok(f);
    uint64_t g = RAM_BASE + RAM_SIZE - 16;
    uint32_t l = 1600;              /* runs past the end of RAM */
    add_chain(f, 0, &g, &l, 1, true);
    inject(f, 1, 60);
    assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_int_equal(used_idx(f, 0), 0);
    inject(f, 2, 60);               /* not running: dropped */
    struct virtio_net_stats st;
    virtio_net_get_stats(f->n, &st);
    assert_int_equal(st.rx_frames, 0);
    assert_int_equal(st.rx_dropped_not_ready, 2);

    /* Reset and set up again: works. */
    assert_int_equal(mem_store(f->mem, USED(0) + 2, 2, 0), 0);
    assert_int_equal(mem_store(f->mem, AVAIL(0) + 2, 2, 0), 0);
    assert_int_equal(mem_store(f->mem, USED(1) + 2, 2, 0), 0);
    assert_int_equal(mem_store(f->mem, AVAIL(1) + 2, 2, 0), 0);
    driver_init(f, FEAT_BASIC | (1ULL << VIRTIO_F_EVENT_IDX));
    driver_ok(f);
    post_rx(f, 1, 1600);
    notify(f, 0);
    inject(f, 3, 60);
    assert_int_equal(used_idx(f, 0), 1);
}

/* Frames from a backend thread, as a real backend delivers them. */
struct deliverer {
    struct fake_be *fake;
    unsigned count;
    size_t len;
};

static void *deliver_thread(void *arg)
{
    struct deliverer *d = arg;
    for (unsigned i = 0; i < d->count; i++) {
        uint8_t fr[NET_MAX_FRAME];
        memset(fr, (int)(0x40 + i), d->len);
        fake_be_deliver(d->fake, fr, d->len);
    }
    return NULL;
}

/* Both directions through the backend interface alone: what the guest
 * transmits reaches the backend's send byte for byte (header stripped);
 * what the backend delivers lands in the guest's receive buffers behind a
 * zeroed header; a backend that refuses a frame is counted. */
static void test_fake_both_directions(void **state)
{
    struct fx *f = *state;
    driver_init(f, FEAT_BASIC);
    driver_ok(f);
    static const uint32_t lens[3] = { 60, 1514, NET_MAX_FRAME };
    for (unsigned i = 0; i < 3; i++) {
        uint8_t hdr[12] = { 0 }, fr[NET_MAX_FRAME];
        for (uint32_t k = 0; k < lens[i]; k++)
            fr[k] = (uint8_t)(k * 7 + i);
        uint64_t g[2] = { BUF(1, 2 * i), BUF(1, 2 * i + 1) };
        uint32_t l[2] = { 12, lens[i] };
        assert_int_equal(mem_write(f->mem, g[0], hdr, 12), 0);
        assert_int_equal(mem_write(f->mem, g[1], fr, lens[i]), 0);
        add_chain(f, 1, g, l, 2, false);
    }
    notify(f, 1);
    assert_int_equal(used_idx(f, 1), 3);
    assert_int_equal(fake_be_nsent(f->fake), 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(f->fake->sent_len[i], lens[i]);
        for (uint32_t k = 0; k < lens[i]; k++)
            if (f->fake->sent[i][k] != (uint8_t)(k * 7 + i))
                fail_msg("frame %u byte %u: 0x%02x", i, k, f->fake->sent[i][k]);
    }
    f->fake->full = true;                   /* the backend's queue is full */
    uint64_t g = BUF(1, 6);
    uint32_t l = 12 + 60;
    add_chain(f, 1, &g, &l, 1, false);
    notify(f, 1);
    assert_int_equal(used_idx(f, 1), 4);
    struct virtio_net_stats vs;
    virtio_net_get_stats(f->n, &vs);
    assert_int_equal(vs.tx_frames, 3);
    assert_int_equal(vs.tx_backend_dropped, 1);
    struct net_stats ns;
    net_get_stats(f->be, &ns);
    assert_int_equal(ns.tx_frames, 3);
    assert_int_equal(ns.tx_dropped, 1);

    /* The other way, from a thread of the backend's. */
    post_rx(f, 4, 1600);
    notify(f, 0);
    struct deliverer d = { f->fake, 4, 1000 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, deliver_thread, &d), 0);
    assert_true(wait_used(f, 0, 4));
    pthread_join(t, NULL);
    for (unsigned i = 0; i < 4; i++) {
        uint32_t id, len;
        used_elem(f, 0, i, &id, &len);
        assert_int_equal(len, 12 + 1000);
        uint8_t b[12 + 1000];
        assert_int_equal(mem_read(f->mem, BUF(0, id), b, sizeof(b)), 0);
        assert_int_equal(b[10], 1);         /* num_buffers */
        assert_int_equal(b[12], 0x40 + i);  /* in order */
        assert_int_equal(b[12 + 999], 0x40 + i);
    }
    net_get_stats(f->be, &ns);
    assert_int_equal(ns.rx_frames, 4);
    virtio_net_get_stats(f->n, &vs);
    assert_int_equal(vs.rx_frames, 4);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_identity_and_config),
        cmocka_unit_test(test_bad_mac),
        cmocka_unit_test_setup_teardown(test_fake_both_directions, setup_fake, teardown),
        cmocka_unit_test_setup_teardown(test_backend_one_nic, setup_fake, teardown),
        cmocka_unit_test_setup_teardown(test_no_backend, setup_none, teardown),
        T(test_arp_roundtrip),
        T(test_pending_and_drops),
        T(test_not_ready_and_small),
        T(test_bad_tx),
        T(test_hostile_rx_ring),
    };
    return cmocka_run_group_tests_name("virtio_net", tests, NULL, NULL);
}
