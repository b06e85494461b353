/* Unit tests of virtio-net's device model (src/virtio/net.c,
 * util/device.h): a NIC on a fake backend (net_fake.h) driven through its
 * virtio-mmio registers, frames injected as the backend delivers them;
 * quiesce stops delivery into the receive queue (frames wait in the
 * pending ring) and transmission; save with pending frames, restore into
 * a fresh NIC over a copy of guest RAM (byte-identical save; the MAC the
 * guest read is adopted), both NICs then deliver and send alike; hostile
 * sections refused with the NIC unchanged; the backend's state carried
 * inside the NIC's section (version 2), all or nothing, and version 1
 * sections still read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net_fake.h"
#include "virtio/net.h"
#include "virtio_fake.h"
#include "vstate_check.h"

#define RX_RING (FAKE_RAM + 0x20000)
#define TX_RING (FAKE_RAM + 0x30000)
#define RX_BUF(i) (FAKE_RAM + 0x100000 + 0x800ULL * ((i) % 16))
#define TX_BUF(i) (FAKE_RAM + 0x200000 + 0x800ULL * ((i) % 16))
#define QSIZE 16
#define FEATURES (VIRTIO_F_COMMON | (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS))

static const uint8_t MAC_A[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t MAC_B[6] = { 0x52, 0x54, 0x00, 0x11, 0x22, 0x33 };

struct side {
    struct fake_driver f;
    struct fk_ring rx, tx;
    struct fake_be *be;         /* the NIC's backend (it outlives the NIC) */
    struct virtio_net *n;
    struct device dv;
    unsigned rx_posted, tx_sent;
};

static void make_nic_be(struct side *s, struct mem *m, const uint8_t mac[6], bool be_state)
{
    s->f.mem = m;
    struct hw_line irq = { fake_irq_set, &s->f.irq, 1 };
    s->be = fake_be_new(be_state);
    assert_non_null(s->be);
    assert_int_equal(virtio_net_new(&s->be->base, mac, &irq, m, &s->n), 0);
    s->f.dev = virtio_net_transport(s->n);
    s->dv = virtio_net_device(s->n);
}

static void make_nic(struct side *s, struct mem *m, const uint8_t mac[6])
{
    make_nic_be(s, m, mac, false);
}

static void side_free(struct side *s)
{
    if (s->dv.ops)
        s->dv.ops->destroy(s->dv.opaque);
    if (s->be)
        net_close(&s->be->base);
    mem_free(s->f.mem);
}

static void frame(uint8_t *buf, unsigned seq, size_t len)
{
    memset(buf, 0xff, 6);                   /* broadcast */
    memcpy(buf + 6, "\x02\x00\x00\x00\x00\x01", 6);
    buf[12] = 0x88;                         /* local experimental ethertype */
    buf[13] = 0xb5;
    for (size_t i = 14; i < len; i++)
        buf[i] = (uint8_t)(seq * 31 + i);
}

static void inject(struct side *s, unsigned seq, size_t len)
{
    uint8_t buf[NET_MAX_FRAME];
    frame(buf, seq, len);
    virtio_net_rx(s->n, buf, len);
}

static void post_rx(struct side *s, unsigned count)
{
    for (unsigned k = 0; k < count; k++) {
        uint64_t g = RX_BUF(s->rx_posted);
        uint32_t l = 0x800;
        fk_ring_add(&s->f, &s->rx, &g, &l, 1, 0);
        s->rx_posted++;
    }
    fk_wr(&s->f, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
}

/* Send one frame (header + payload in two descriptors). */
static void send(struct side *s, unsigned seq, size_t len)
{
    uint8_t buf[NET_MAX_FRAME];
    frame(buf, seq, len);
    uint64_t g[2] = { TX_BUF(s->tx_sent), TX_BUF(s->tx_sent) + 0x100 };
    uint32_t l[2] = { VIRTIO_NET_HDR_SIZE, (uint32_t)len };
    uint8_t hdr[VIRTIO_NET_HDR_SIZE] = {0};
    mem_write(s->f.mem, g[0], hdr, sizeof(hdr));
    mem_write(s->f.mem, g[1], buf, len);
    fk_ring_add(&s->f, &s->tx, g, l, 2, 2);
    s->tx_sent++;
    fk_wr(&s->f, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
}

static void bring_up(struct side *s)
{
    assert_true(fk_negotiate(&s->f, FEATURES) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&s->f, &s->rx, VIRTIO_NET_RXQ, QSIZE, RX_RING);
    fk_ring_init(&s->f, &s->tx, VIRTIO_NET_TXQ, QSIZE, TX_RING);
    fk_driver_ok(&s->f);
}

static struct mem *new_ram(void)
{
    struct mem *m = mem_new();
    assert_non_null(m);
    assert_int_equal(mem_add_ram(m, FAKE_RAM, FAKE_RAM_SIZE), 0);
    return m;
}

/* Two frames received and two sent, three waiting for a buffer, then
 * quiesced: a buffer posted, a fourth frame received and a transmission
 * queued meanwhile wait too. */
static void drive(struct side *s)
{
    make_nic(s, new_ram(), MAC_A);
    bring_up(s);
    post_rx(s, 2);
    inject(s, 1, 60);
    inject(s, 2, 1514);
    assert_int_equal(fk_ring_used_idx(&s->f, &s->rx), 2);
    for (unsigned i = 3; i < 6; i++)
        inject(s, i, 100 + i);
    send(s, 1, 60);
    send(s, 2, 200);
    assert_int_equal(fk_ring_used_idx(&s->f, &s->tx), 2);
    struct virtio_net_stats st;
    virtio_net_get_stats(s->n, &st);
    assert_int_equal(st.rx_frames, 2);
    assert_int_equal(st.rx_pending, 3);
    assert_true(s->f.irq.level);

    assert_int_equal(s->dv.ops->quiesce(s->dv.opaque), 0);
    post_rx(s, 1);
    inject(s, 6, 90);
    send(s, 3, 70);
    assert_int_equal(fk_ring_used_idx(&s->f, &s->rx), 2);
    assert_int_equal(fk_ring_used_idx(&s->f, &s->tx), 2);
    virtio_net_get_stats(s->n, &st);
    assert_int_equal(st.rx_pending, 4);
    assert_int_equal(st.tx_frames + st.tx_backend_dropped, 2);
}

static void restore_copy(struct side *a, struct side *b, const struct sstate_writer *good)
{
    struct mem *m = fk_clone_ram(a->f.mem);
    assert_non_null(m);
    make_nic(b, m, MAC_B);              /* another MAC */
    b->rx = a->rx;
    b->tx = a->tx;
    b->rx_posted = a->rx_posted;
    b->tx_sent = a->tx_sent;
    assert_int_equal(b->dv.ops->quiesce(b->dv.opaque), 0);
    vs_restore_identical(b->dv, good);
}

static void test_round_trip(void **state)
{
    struct side a = {0}, b = {0};
    drive(&a);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    assert_memory_equal(good.buf, "vnet\0\0\0\0", 8);
    size_t dev = VS_DEV(2);
    assert_memory_equal(good.buf + dev, MAC_A, 6);
    assert_int_equal(good.buf[dev + 6], VIRTIO_NET_S_LINK_UP);
    assert_int_equal(vs_get(good.buf, dev + 7, 4), 4);
    assert_int_equal(vs_get(good.buf, dev + 11, 4), 103);   /* oldest first */

    restore_copy(&a, &b, &good);
    uint8_t mac[6];
    virtio_net_mac(b.n, mac);
    assert_memory_equal(mac, MAC_A, 6);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(virtio_mmio_ops.read(b.f.dev, VIRTIO_MMIO_CONFIG + i, 1), MAC_A[i]);
    assert_true(b.f.irq.level);
    struct virtio_net_stats st;
    virtio_net_get_stats(b.n, &st);
    assert_int_equal(st.rx_pending, 4);

    /* Resume: the posted buffer takes the oldest pending frame, the
     * queued transmission goes out; then both go on alike. */
    struct side *sides[2] = { &a, &b };
    for (unsigned k = 0; k < 2; k++) {
        struct side *s = sides[k];
        s->dv.ops->resume(s->dv.opaque);
        assert_int_equal(fk_ring_used_idx(&s->f, &s->rx), 3);
        assert_int_equal(fk_ring_used_idx(&s->f, &s->tx), 3);
        fk_ack(&s->f);
        post_rx(s, 5);
        assert_int_equal(fk_ring_used_idx(&s->f, &s->rx), 6);
        inject(s, 7, 300);
        send(s, 4, 400);
        assert_int_equal(fk_ring_used_idx(&s->f, &s->rx), 7);
        assert_int_equal(fk_ring_used_idx(&s->f, &s->tx), 4);
        virtio_net_get_stats(s->n, &st);
        assert_int_equal(st.rx_pending, 0);
    }
    uint32_t id, len;
    fk_ring_used_elem(&b.f, &b.rx, 2, &id, &len);
    assert_int_equal(len, VIRTIO_NET_HDR_SIZE + 103);
    uint8_t got[103], want[103];
    mem_read(b.f.mem, RX_BUF(2) + VIRTIO_NET_HDR_SIZE, got, sizeof(got));
    frame(want, 3, sizeof(want));
    assert_memory_equal(got, want, sizeof(got));
    assert_true(fk_ram_equal(a.f.mem, b.f.mem, RX_RING, 0x3000));
    assert_true(fk_ram_equal(a.f.mem, b.f.mem, TX_RING, 0x3000));
    assert_true(fk_ram_equal(a.f.mem, b.f.mem, RX_BUF(0), 0x8000));
    virtio_net_get_stats(b.n, &st);
    assert_int_equal(st.tx_frames + st.tx_backend_dropped, 2);  /* since restore */

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

static void test_hostile(void **state)
{
    struct side a = {0}, b = {0};
    drive(&a);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    restore_copy(&a, &b, &good);
    struct device dst = b.dv;
    vs_refused_framing(dst, &good);
    vs_refused_transport(dst, &good, QSIZE, VIRTIO_NET_QUEUE_SIZE, FAKE_RAM, FAKE_RAM_SIZE);
    size_t dev = VS_DEV(2);
    vs_refused_patch(dst, &good, dev, 1, 0x53);                 /* multicast MAC */
    vs_refused_patch(dst, &good, dev + 6, 1, 0);                /* link down: not ours */
    vs_refused_patch(dst, &good, dev + 6, 1, 3);
    vs_refused_patch(dst, &good, dev + 7, 4, VIRTIO_NET_RX_PENDING + 1);
    vs_refused_patch(dst, &good, dev + 7, 4, 0xffffffffu);
    vs_refused_patch(dst, &good, dev + 7, 4, 5);                /* one frame missing */
    vs_refused_patch(dst, &good, dev + 7, 4, 3);                /* bytes left over */
    vs_refused_patch(dst, &good, dev + 11, 4, 0);               /* empty frame */
    vs_refused_patch(dst, &good, dev + 11, 4, NET_MAX_FRAME + 1);
    vs_refused_patch(dst, &good, dev + 11, 4, 0x7fffffff);
    vs_refused_patch(dst, &good, dev + 11, 4, 104);             /* runs into the next */
    sstate_writer_free(&good);
    side_free(&a);
    side_free(&b);
}

/* Quiesced, nothing is delivered or sent; a full pending ring drops (and
 * counts) what comes next, as a NIC without buffers does. */
static void test_quiesce_holds_rx(void **state)
{
    struct side a = {0};
    make_nic(&a, new_ram(), MAC_A);
    bring_up(&a);
    post_rx(&a, 8);
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    for (unsigned i = 0; i < VIRTIO_NET_RX_PENDING + 3; i++)
        inject(&a, i, 64);
    assert_int_equal(fk_ring_used_idx(&a.f, &a.rx), 0);
    struct virtio_net_stats st;
    virtio_net_get_stats(a.n, &st);
    assert_int_equal(st.rx_pending, VIRTIO_NET_RX_PENDING);
    assert_int_equal(st.rx_dropped_full, 3);
    a.dv.ops->resume(a.dv.opaque);
    assert_int_equal(fk_ring_used_idx(&a.f, &a.rx), 8);
    virtio_net_get_stats(a.n, &st);
    assert_int_equal(st.rx_pending, VIRTIO_NET_RX_PENDING - 8);
    side_free(&a);
}

/* The backend's state travels inside the NIC's section (version 2): a
 * NIC on a backend with state saves it, a fresh NIC restores it into its
 * own backend and saves the same bytes; a section the backend refuses, or
 * backend state for a NIC whose backend has none, or a length that does
 * not end the section, is refused with NIC and backend unchanged; a
 * version 1 section (no backend state) still restores and leaves the
 * backend's state alone. */
static void test_backend_state(void **state)
{
    struct side a = {0}, b = {0}, c = {0};
    make_nic_be(&a, new_ram(), MAC_A, true);
    bring_up(&a);
    a.be->state = 77;
    assert_int_equal(a.dv.ops->quiesce(a.dv.opaque), 0);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    assert_int_equal(vs_get(good.buf, 8, 4), 2);                /* version */
    size_t dev = VS_DEV(2);
    assert_int_equal(vs_get(good.buf, dev + 7, 4), 0);          /* nothing pending */
    size_t blen_at = dev + 11;
    uint32_t blen = (uint32_t)vs_get(good.buf, blen_at, 4);
    assert_int_equal(blen, SSTATE_HDR_LEN + 4);                 /* one "fakebe" section */
    assert_int_equal(good.len, blen_at + 4 + blen);
    assert_memory_equal(good.buf + blen_at + 4, "fakebe\0\0", 8);
    assert_int_equal(vs_get(good.buf, blen_at + 4 + SSTATE_HDR_LEN, 4), 77);

    make_nic_be(&b, fk_clone_ram(a.f.mem), MAC_B, true);
    assert_int_equal(b.dv.ops->quiesce(b.dv.opaque), 0);
    vs_restore_identical(b.dv, &good);
    assert_int_equal(b.be->state, 77);

    /* Refused, NIC and backend unchanged (vs_refused* compare saves,
     * which hold the backend's state). */
    b.be->state = 5;
    struct device dst = b.dv;
    vs_refused_patch(dst, &good, blen_at + 4 + SSTATE_HDR_LEN, 4, 5000); /* backend says no */
    vs_refused_patch(dst, &good, blen_at, 4, blen - 1);
    vs_refused_patch(dst, &good, blen_at, 4, blen + 1);
    vs_refused_patch(dst, &good, blen_at, 4, 0);                /* bytes left over */
    vs_refused_patch(dst, &good, blen_at, 4, 0xffffffffu);
    vs_refused_patch(dst, &good, blen_at + 4, 1, 'x');          /* another tag */
    assert_int_equal(b.be->state, 5);
    /* A MAC refused after the backend's part was read: the backend's
     * state is not applied either. */
    vs_refused_patch(dst, &good, dev, 1, 0x53);
    assert_int_equal(b.be->state, 5);

    /* A NIC whose backend keeps no state cannot take a backend's. */
    make_nic(&c, fk_clone_ram(a.f.mem), MAC_B);
    assert_int_equal(c.dv.ops->quiesce(c.dv.opaque), 0);
    vs_refused(c.dv, good.buf, good.len);

    /* Version 1: the same fields without the backend's part. */
    size_t v1len = blen_at;
    uint8_t *v1 = malloc(v1len);
    assert_non_null(v1);
    memcpy(v1, good.buf, v1len);
    vs_put(v1, 8, 4, 1);
    vs_put(v1, 12, 4, v1len - SSTATE_HDR_LEN);
    assert_int_equal(vs_restore(dst, v1, v1len), 0);
    assert_int_equal(b.be->state, 5);
    uint8_t mac[6];
    virtio_net_mac(b.n, mac);
    assert_memory_equal(mac, MAC_A, 6);
    assert_int_equal(vs_restore(c.dv, v1, v1len), 0);
    free(v1);

    sstate_writer_free(&good);
    side_free(&a);
    side_free(&b);
    side_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_quiesce_holds_rx),
        cmocka_unit_test(test_backend_state),
    };
    return cmocka_run_group_tests_name("virtio_net_state", tests, NULL, NULL);
}
