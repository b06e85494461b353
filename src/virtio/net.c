/* virtio-net (Virtio 1.2 section 5.1) over a net/ backend; see net.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
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
};

static inline void stat_inc(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static inline uint64_t stat_get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- MAC */

void virtio_net_default_mac(const char *seed, uint8_t mac[6])
{
    uint64_t h = 0xcbf29ce484222325ULL;            /* FNV-1a 64 */
    for (const unsigned char *p = (const unsigned char *)(seed ? seed : ""); *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    mac[0] = 0x52;
    mac[1] = 0x54;
    mac[2] = 0x00;
    mac[3] = (uint8_t)(h >> 56);
    mac[4] = (uint8_t)(h >> 48);
    mac[5] = (uint8_t)(h >> 40);
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
    if (virtq_push(rxq, c, (uint32_t)(VIRTIO_NET_HDR_SIZE + len)) != 0) {
        __atomic_fetch_sub(&n->rx_frames, 1, __ATOMIC_RELAXED);
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
            } else if (net_send(n->be, n->tx_buf, flen) == 0) {
                stat_inc(&n->tx_frames);
            } else {
                stat_inc(&n->tx_backend_dropped);
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

int virtio_net_new(const char *spec, const char *mac_seed,
                   const struct hw_line *irq, struct mem *mem,
                   struct virtio_net **out)
{
    *out = NULL;
    struct net_spec ns;
    char err[512];
    int rc = net_spec_parse(spec, &ns, err, sizeof(err));
    if (rc) {
        vlog_error("%s", err);
        return rc;
    }
    struct virtio_net *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    pthread_mutex_init(&n->rx_lock, NULL);
    pthread_mutex_init(&n->tx_lock, NULL);
    if (ns.has_mac)
        memcpy(n->mac, ns.mac, 6);
    else
        virtio_net_default_mac(mac_seed, n->mac);
    n->rx_chain = malloc(sizeof(*n->rx_chain));
    n->tx_chain = malloc(sizeof(*n->tx_chain));
    rc = -ENOMEM;
    if (!n->rx_chain || !n->tx_chain)
        goto fail;
    n->vdev = virtio_dev_new(&net_ops, n, 0, irq, mem);
    if (!n->vdev)
        goto fail;
    /* Last: the backend may call virtio_net_rx as soon as it is open. */
    rc = net_open_spec(spec, &ns, virtio_net_rx, n, &n->be);
    if (rc)
        goto fail;
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
    net_close(n->be);           /* no receive callback after this */
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
    net_set_log_limit(n->be, rl);
}

void virtio_net_mac(const struct virtio_net *n, uint8_t mac[6])
{
    memcpy(mac, n->mac, 6);
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
    pthread_mutex_lock(&n->rx_lock);
    st->rx_pending = n->rx_count;
    pthread_mutex_unlock(&n->rx_lock);
}
