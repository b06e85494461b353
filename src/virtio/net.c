/* virtio-net (Virtio 1.2 section 5.1) over a net/ backend; see net.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/net.h"

struct rx_slot {
    size_t len;
    uint8_t data[NET_MAX_FRAME];
};

struct virtio_net {
    struct virtio_dev *vdev;
    struct net_backend *be;
    uint8_t mac[6];

    pthread_mutex_t rx_lock;    /* rx_chain, the pending ring */
    struct virtq_chain *rx_chain;
    unsigned rx_head, rx_count; /* pending ring: oldest slot, count */
    struct rx_slot rx_pending[VIRTIO_NET_RX_PENDING];

    pthread_mutex_t tx_lock;    /* tx_chain, tx_buf */
    struct virtq_chain *tx_chain;
    uint8_t tx_buf[NET_MAX_FRAME];

    /* Counters: atomics. */
    uint64_t tx_frames, tx_bad, tx_backend_dropped;
    uint64_t rx_frames, rx_dropped_full, rx_dropped_not_ready, rx_dropped_small;
    uint64_t tx_bytes, rx_bytes;
    /* The guest's IPv4 address (host order, 0: none seen), learnt from
     * its frames by net_snoop_ipv4 on the tx path; an atomic, read by
     * virtio_net_get_stats on any thread. */
    uint32_t ip;
};

static inline void stat_inc(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static inline uint64_t stat_get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- rx */

/* Copy one frame into the next receive chain.  rx_lock held.  Returns 1
 * when the frame was consumed (delivered or dropped for a too-small or
 * broken chain), 0 when no buffer is available. */
static int rx_deliver(struct virtio_net *n, const uint8_t *frame, size_t len)
{
    struct virtq *rxq = virtio_dev_queue(n->vdev, VIRTIO_NET_RXQ);
    struct virtq_chain *c = n->rx_chain;
    int r = virtq_pop(rxq, c);
    if (r == 0)
        return 0;
    if (r < 0) {                /* malformed ring: the device needs reset */
        stat_inc(&n->rx_dropped_not_ready);
        return 1;
    }
    if (c->in_len < VIRTIO_NET_HDR_SIZE + len) {
        stat_inc(&n->rx_dropped_small);
        virtq_push(rxq, c, 0);
        return 1;
    }
    /* 5.1.6.4: no offloads negotiated: flags, gso_type 0 (GSO_NONE), the
     * rest 0, num_buffers 1 (5.1.6.3.1). */
    uint8_t hdr[VIRTIO_NET_HDR_SIZE] = { 0 };
    hdr[10] = 1;
    virtq_chain_write(c, 0, hdr, sizeof(hdr));
    virtq_chain_write(c, VIRTIO_NET_HDR_SIZE, frame, len);
    /* Count before publishing: once the used entry is visible the driver
     * (or a test reading the stats) may look at once. */
    stat_inc(&n->rx_frames);
    __atomic_fetch_add(&n->rx_bytes, len, __ATOMIC_RELAXED);
    if (virtq_push(rxq, c, (uint32_t)(VIRTIO_NET_HDR_SIZE + len)) != 0) {
        __atomic_fetch_sub(&n->rx_frames, 1, __ATOMIC_RELAXED);
        __atomic_fetch_sub(&n->rx_bytes, len, __ATOMIC_RELAXED);
        stat_inc(&n->rx_dropped_not_ready);
    }
    return 1;
}

/* Deliver waiting frames while there are buffers.  rx_lock held. */
static void rx_flush(struct virtio_net *n)
{
    while (n->rx_count) {
        struct rx_slot *s = &n->rx_pending[n->rx_head];
        if (!rx_deliver(n, s->data, s->len))
            return;
        n->rx_head = (n->rx_head + 1) % VIRTIO_NET_RX_PENDING;
        n->rx_count--;
    }
}

static void rx_drop_pending(struct virtio_net *n)
{
    n->rx_head = n->rx_count = 0;
}

void virtio_net_rx(void *opaque, const uint8_t *frame, size_t len)
{
    struct virtio_net *n = opaque;
    if (len == 0 || len > NET_MAX_FRAME)
        return;
    pthread_mutex_lock(&n->rx_lock);
    if (!virtio_dev_running(n->vdev)) {
        rx_drop_pending(n);
        stat_inc(&n->rx_dropped_not_ready);
    } else {
        rx_flush(n);
        if (n->rx_count || !rx_deliver(n, frame, len)) {
            if (n->rx_count == VIRTIO_NET_RX_PENDING) {
                stat_inc(&n->rx_dropped_full);
            } else {
                unsigned i = (n->rx_head + n->rx_count) % VIRTIO_NET_RX_PENDING;
                memcpy(n->rx_pending[i].data, frame, len);
                n->rx_pending[i].len = len;
                n->rx_count++;
            }
        }
    }
    pthread_mutex_unlock(&n->rx_lock);
}

/* ---------------------------------------------------------------- tx */

/* The guest's address, from a frame it sends (the last one seen wins).
 * Stored only when it changes: the common case is a read. */
static void learn_ip(struct virtio_net *n, const uint8_t *frame, size_t len)
{
    uint32_t ip;
    if (net_snoop_ipv4(frame, len, n->mac, &ip) &&
        __atomic_load_n(&n->ip, __ATOMIC_RELAXED) != ip)
        __atomic_store_n(&n->ip, ip, __ATOMIC_RELAXED);
}

static void tx_run(struct virtio_net *n)
{
    struct virtq *txq = virtio_dev_queue(n->vdev, VIRTIO_NET_TXQ);
    pthread_mutex_lock(&n->tx_lock);
    struct virtq_chain *c = n->tx_chain;
    /* Bounded: at most one queue's worth per notification; a driver that
     * keeps refilling gets the rest at its next notification (with
     * EVENT_IDX, virtq_pop asks for one). */
    for (unsigned budget = VIRTIO_NET_QUEUE_SIZE; budget; budget--) {
        int r = virtq_pop(txq, c);
        if (r <= 0)
            break;
        uint64_t len = c->out_len;
        if (len <= VIRTIO_NET_HDR_SIZE || len - VIRTIO_NET_HDR_SIZE > NET_MAX_FRAME) {
            stat_inc(&n->tx_bad);
        } else {
            size_t flen = (size_t)(len - VIRTIO_NET_HDR_SIZE);
            /* The header is ignored: no offload was negotiated, so the
             * driver must leave it zero (5.1.6.2.1). */
            size_t got = virtq_chain_read(c, VIRTIO_NET_HDR_SIZE, n->tx_buf, flen);
            if (got != flen) {
                stat_inc(&n->tx_bad);
            } else {
                learn_ip(n, n->tx_buf, flen);
                if (n->be && net_send(n->be, n->tx_buf, flen) == 0) {
                    stat_inc(&n->tx_frames);
                    __atomic_fetch_add(&n->tx_bytes, flen, __ATOMIC_RELAXED);
                } else {
                    stat_inc(&n->tx_backend_dropped);
                }
            }
        }
        virtq_push(txq, c, 0);
    }
    pthread_mutex_unlock(&n->tx_lock);
}

/* ---------------------------------------------------------------- ops */

static void net_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
    struct virtio_net *n = opaque;
    uint8_t cfg[VIRTIO_NET_CONFIG_SIZE] = { 0 };
    memcpy(cfg, n->mac, 6);
    cfg[6] = VIRTIO_NET_S_LINK_UP;      /* le16 status */
    cfg[8] = 1;                         /* le16 max_virtqueue_pairs */
    if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
        memcpy(buf, cfg + off, len);
    else
        memset(buf, 0, len);
}

static void net_notify(void *opaque, unsigned q)
{
    struct virtio_net *n = opaque;
    if (q == VIRTIO_NET_TXQ) {
        tx_run(n);
    } else if (q == VIRTIO_NET_RXQ) {
        pthread_mutex_lock(&n->rx_lock);
        rx_flush(n);
        pthread_mutex_unlock(&n->rx_lock);
    }
}

static void net_reset(void *opaque)
{
    struct virtio_net *n = opaque;
    /* Taking each lock waits for a pop/push in progress; no chain is ever
     * held across an unlock, so there is nothing else to give back. */
    pthread_mutex_lock(&n->rx_lock);
    rx_drop_pending(n);
    pthread_mutex_unlock(&n->rx_lock);
    pthread_mutex_lock(&n->tx_lock);
    pthread_mutex_unlock(&n->tx_lock);
}

static const struct virtio_dev_ops net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .num_queues = 2,
    .queue_max = VIRTIO_NET_QUEUE_SIZE,
    .config_size = VIRTIO_NET_CONFIG_SIZE,
    .features = VIRTIO_F_COMMON | (1ULL << VIRTIO_NET_F_MAC) |
                (1ULL << VIRTIO_NET_F_STATUS),
    .config_read = net_config_read,
    .notify = net_notify,
    .reset = net_reset,
};

/* ---------------------------------------------------------------- life */

static bool mac_ok(const uint8_t mac[6])
{
    static const uint8_t zero[6];
    return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

int virtio_net_new(struct net_backend *be, const uint8_t mac[6],
                   const struct hw_line *irq, struct mem *mem,
                   struct virtio_net **out)
{
    *out = NULL;
    if (!mac_ok(mac))
        return -EINVAL;
    struct virtio_net *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    pthread_mutex_init(&n->rx_lock, NULL);
    pthread_mutex_init(&n->tx_lock, NULL);
    memcpy(n->mac, mac, 6);
    n->rx_chain = malloc(sizeof(*n->rx_chain));
    n->tx_chain = malloc(sizeof(*n->tx_chain));
    int rc = -ENOMEM;
    if (!n->rx_chain || !n->tx_chain)
        goto fail;
    n->vdev = virtio_dev_new(&net_ops, n, 0, irq, mem);
    if (!n->vdev)
        goto fail;
    /* Last: the backend may call virtio_net_rx as soon as we are its
     * receiver.  n->be is set only then, so a failed attach (-EBUSY: it
     * has another NIC) does not detach that one in virtio_net_free. */
    if (be) {
        if ((rc = net_attach(be, virtio_net_rx, n)))
            goto fail;
        n->be = be;
    }
    *out = n;
    return 0;
fail:
    virtio_net_free(n);
    return rc;
}

struct virtio_dev *virtio_net_transport(struct virtio_net *n)
{
    return n->vdev;
}

void virtio_net_free(struct virtio_net *n)
{
    if (!n)
        return;
    if (n->be)
        net_detach(n->be);      /* no receive callback after this */
    virtio_dev_free(n->vdev);
    free(n->rx_chain);
    free(n->tx_chain);
    pthread_mutex_destroy(&n->rx_lock);
    pthread_mutex_destroy(&n->tx_lock);
    free(n);
}

void virtio_net_set_log_limit(struct virtio_net *n, struct ratelimit *rl)
{
    virtio_dev_set_log_limit(n->vdev, rl);
}

void virtio_net_mac(const struct virtio_net *n, uint8_t mac[6])
{
    memcpy(mac, n->mac, 6);
}

/* ---------------------------------------------------------------- device model */

/* Section "vnet", version 2: the transport (virtio_dev_save_state), then
 * the guest-visible config: mac[6] (the address the driver read; adopted
 * by the device restored into) and u8 link status (VIRTIO_NET_S_LINK_UP,
 * the only one this device reports); then the received frames waiting
 * for a receive buffer: u32 count (at most VIRTIO_NET_RX_PENDING), each a
 * u32 length (1..NET_MAX_FRAME) and its bytes, oldest first; then (new in
 * version 2) the backend's state: u32 length n (at most
 * VNET_BACKEND_STATE_MAX) and n bytes, the sections net_save wrote (the
 * user backend's "slirp", net/slirp.c), 0 for a backend without state.
 * Version 1 (no backend state) is still read: the backend keeps its own.
 * The backend's sections travel inside the NIC's so that the NIC's
 * section is all of its state and a restore is all or nothing: the
 * backend's restore runs after every field of the NIC's is validated, and
 * the NIC's fields are applied only once it succeeded.  The counters and
 * the guest's address learnt from its frames are host diagnostics, not
 * state: a restored NIC starts them afresh. */
#define VNET_TAG "vnet"
#define VNET_VERSION 2
#define VNET_BACKEND_STATE_MAX (64u << 10)

static void net_dev_reset(void *opaque)
{
    struct virtio_net *n = opaque;
    virtio_dev_reset(n->vdev);
}

/* Once the transport hands out no chain, a delivery or transmission in
 * progress holds its lock; taking each lock waits for it.  Frames the
 * backend receives while quiesced find no receive buffer, so they wait in
 * the pending ring (and are saved) or are dropped when it is full, as on
 * a NIC whose driver posts no buffers. */
static int net_dev_quiesce(void *opaque)
{
    struct virtio_net *n = opaque;
    virtio_dev_quiesce(n->vdev);
    pthread_mutex_lock(&n->rx_lock);
    pthread_mutex_unlock(&n->rx_lock);
    pthread_mutex_lock(&n->tx_lock);
    pthread_mutex_unlock(&n->tx_lock);
    return 0;
}

static void net_dev_resume(void *opaque)
{
    struct virtio_net *n = opaque;
    virtio_dev_resume(n->vdev);     /* delivers pending frames, sends queued ones */
}

static int net_dev_save(const void *opaque, struct sstate_writer *w)
{
    struct virtio_net *n = (struct virtio_net *)opaque;    /* for the lock */
    if (!virtio_dev_quiesced(n->vdev))
        return -EBUSY;
    /* The backend's sections first, into a buffer of their own: sections
     * do not nest. */
    struct sstate_writer bw;
    sstate_writer_init(&bw);
    int brc = n->be ? net_save(n->be, &bw) : 0;
    if (!brc && bw.len > VNET_BACKEND_STATE_MAX)
        brc = -EFBIG;
    if (brc) {
        sstate_writer_free(&bw);
        return brc;
    }
    sstate_begin(w, VNET_TAG, VNET_VERSION);
    int rc = virtio_dev_save_state(n->vdev, w);
    pthread_mutex_lock(&n->rx_lock);
    sstate_put_bytes(w, n->mac, 6);
    sstate_put_u8(w, VIRTIO_NET_S_LINK_UP);
    sstate_put_u32(w, n->rx_count);
    for (unsigned i = 0; i < n->rx_count; i++) {
        const struct rx_slot *sl = &n->rx_pending[(n->rx_head + i) % VIRTIO_NET_RX_PENDING];
        sstate_put_u32(w, (uint32_t)sl->len);
        sstate_put_bytes(w, sl->data, sl->len);
    }
    pthread_mutex_unlock(&n->rx_lock);
    sstate_put_u32(w, (uint32_t)bw.len);
    sstate_put_bytes(w, bw.buf, bw.len);
    sstate_writer_free(&bw);
    int rc2 = sstate_end(w);
    return rc ? rc : rc2;
}

/* The backend's state inside a version 2 section: u32 length, bytes.  Its
 * sections are read with a reader bounded by those bytes, which they must
 * use up.  The last read of the NIC's section (nothing of the NIC's is
 * applied yet); an error is left in r.  A backend's restore changes
 * nothing when it fails (net.h). */
static void restore_backend(struct virtio_net *n, struct sstate_reader *r)
{
    uint32_t blen = sstate_get_u32(r);
    if (r->err)
        return;
    /* The last field: nothing may follow it, so once the backend took its
     * state the section is sure to close without error. */
    if (blen > VNET_BACKEND_STATE_MAX || blen != r->end - r->pos) {
        sstate_fail(r, -EINVAL);
        return;
    }
    if (blen == 0)
        return;                 /* saved by a backend without state */
    if (!n->be) {
        sstate_fail(r, -EINVAL);    /* state for a backend this NIC lacks */
        return;
    }
    struct sstate_reader br;
    sstate_reader_init(&br, r->buf + r->pos, blen);
    int rc = net_restore(n->be, &br);
    if (!rc && br.pos != blen)
        rc = -EINVAL;           /* another kind of backend saved it */
    if (rc) {
        sstate_fail(r, rc);
        return;
    }
    r->pos += blen;
}

static int net_dev_restore(void *opaque, struct sstate_reader *r)
{
    struct virtio_net *n = opaque;
    if (!virtio_dev_quiesced(n->vdev))
        return -EBUSY;
    uint32_t version;
    int rc = sstate_open(r, VNET_TAG, VNET_VERSION, &version);
    if (rc)
        return rc;
    struct virtio_dev_state st;
    uint8_t mac[6];
    struct rx_slot *slots = NULL;
    virtio_dev_load_state(n->vdev, r, &st);    /* an error sticks in r */
    sstate_get_bytes(r, mac, sizeof(mac));
    uint8_t link = sstate_get_u8(r);
    uint32_t count = sstate_get_u32(r);
    if (r->err)
        goto out;
    if (!mac_ok(mac) || link != VIRTIO_NET_S_LINK_UP || count > VIRTIO_NET_RX_PENDING) {
        sstate_fail(r, -EINVAL);
        goto out;
    }
    if (count && !(slots = malloc(count * sizeof(*slots)))) {
        sstate_fail(r, -ENOMEM);
        goto out;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len = sstate_get_u32(r);
        if (r->err)
            break;
        if (len == 0 || len > NET_MAX_FRAME) {
            sstate_fail(r, -EINVAL);
            break;
        }
        sstate_get_bytes(r, slots[i].data, len);
        slots[i].len = len;
    }
    if (version >= 2)
        restore_backend(n, r);
out:
    rc = sstate_close(r);
    if (!rc) {
        virtio_dev_apply_state(n->vdev, &st);
        pthread_mutex_lock(&n->rx_lock);
        memcpy(n->mac, mac, sizeof(mac));
        for (uint32_t i = 0; i < count; i++) {
            n->rx_pending[i].len = slots[i].len;
            memcpy(n->rx_pending[i].data, slots[i].data, slots[i].len);
        }
        n->rx_head = 0;
        n->rx_count = count;
        pthread_mutex_unlock(&n->rx_lock);
    }
    free(slots);
    return rc;
}

static int net_dev_fdt(void *opaque, const struct device_fdt_ctx *ctx)
{
    return virtio_mmio_fdt_node(ctx);
}

static void net_dev_destroy(void *opaque)
{
    virtio_net_free(opaque);
}

static const struct device_ops net_device_ops = {
    .tag = VNET_TAG,
    .reset = net_dev_reset,
    .quiesce = net_dev_quiesce,
    .resume = net_dev_resume,
    .save = net_dev_save,
    .restore = net_dev_restore,
    .fdt_node = net_dev_fdt,
    .destroy = net_dev_destroy,
};

struct device virtio_net_device(struct virtio_net *n)
{
    return (struct device){ &net_device_ops, n };
}

void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *st)
{
    st->tx_frames = stat_get(&n->tx_frames);
    st->tx_bad = stat_get(&n->tx_bad);
    st->tx_backend_dropped = stat_get(&n->tx_backend_dropped);
    st->rx_frames = stat_get(&n->rx_frames);
    st->rx_dropped_full = stat_get(&n->rx_dropped_full);
    st->rx_dropped_not_ready = stat_get(&n->rx_dropped_not_ready);
    st->rx_dropped_small = stat_get(&n->rx_dropped_small);
    st->tx_bytes = stat_get(&n->tx_bytes);
    st->rx_bytes = stat_get(&n->rx_bytes);
    st->ip = __atomic_load_n(&n->ip, __ATOMIC_RELAXED);
    pthread_mutex_lock(&n->rx_lock);
    st->rx_pending = n->rx_count;
    pthread_mutex_unlock(&n->rx_lock);
}
