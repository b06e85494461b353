/* virtio-console (Virtio 1.2 section 5.3) with a single port and no
 * MULTIPORT: receiveq (queue 0) carries host input to the guest, transmitq
 * (queue 1) the guest's output.  Linux binds it to hvc0.
 *
 * Host input waits in a small ring until the driver offers receive
 * buffers; it is delivered from whichever thread notices first (the input
 * thread, or the vCPU that notifies the receiveq). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "virtio/virtio.h"

#define CON_QUEUE_SIZE 64u
#define CON_CONFIG_SIZE 12u     /* cols, rows, max_nr_ports, emerg_wr */
#define Q_RX 0u
#define Q_TX 1u

struct virtio_console {
    struct virtio_dev *vdev;
    struct hw_console out;
    pthread_mutex_t rx_lock;    /* rx ring and rx_chain */
    uint8_t rx[VIRTIO_CONSOLE_RX_BUFFER];
    size_t rx_head, rx_len;
    struct virtq_chain rx_chain;
    pthread_mutex_t tx_lock;    /* tx_chain, tx_buf; keeps output in order */
    uint8_t tx_buf[4096];
    struct virtq_chain tx_chain;
};

/* Move buffered input into receive buffers.  rx_lock held. */
static void deliver(struct virtio_console *c)
{
    struct virtq *vq = virtio_dev_queue(c->vdev, Q_RX);
    while (c->rx_len) {
        int r = virtq_pop(vq, &c->rx_chain);
        if (r != 1)
            return;
        uint64_t room = c->rx_chain.in_len;
        uint64_t done = 0;
        while (done < room && c->rx_len) {
            size_t chunk = MIN(c->rx_len, sizeof(c->rx) - c->rx_head);
            chunk = (size_t)MIN((uint64_t)chunk, room - done);
            virtq_chain_write(&c->rx_chain, done, c->rx + c->rx_head, chunk);
            c->rx_head = (c->rx_head + chunk) % sizeof(c->rx);
            c->rx_len -= chunk;
            done += chunk;
        }
        virtq_push(vq, &c->rx_chain, (uint32_t)done);
    }
}

size_t virtio_console_input(struct virtio_console *c, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&c->rx_lock);
    size_t n = MIN(len, sizeof(c->rx) - c->rx_len);
    for (size_t i = 0; i < n; i++)
        c->rx[(c->rx_head + c->rx_len + i) % sizeof(c->rx)] = buf[i];
    c->rx_len += n;
    deliver(c);
    pthread_mutex_unlock(&c->rx_lock);
    return n;
}

static void transmit(struct virtio_console *c)
{
    struct virtq *vq = virtio_dev_queue(c->vdev, Q_TX);
    pthread_mutex_lock(&c->tx_lock);
    while (virtq_pop(vq, &c->tx_chain) == 1) {
        for (uint64_t off = 0; off < c->tx_chain.out_len;) {
            size_t n = virtq_chain_read(&c->tx_chain, off, c->tx_buf, sizeof(c->tx_buf));
            if (!n)
                break;
            if (c->out.out)
                c->out.out(c->out.opaque, c->tx_buf, n);
            off += n;
        }
        virtq_push(vq, &c->tx_chain, 0);
    }
    pthread_mutex_unlock(&c->tx_lock);
}

static void con_notify(void *opaque, unsigned q)
{
    struct virtio_console *c = opaque;
    if (q == Q_TX) {
        transmit(c);
    } else {
        pthread_mutex_lock(&c->rx_lock);
        deliver(c);
        pthread_mutex_unlock(&c->rx_lock);
    }
}

static void con_driver_ok(void *opaque)
{
    con_notify(opaque, Q_RX);
}

static const struct virtio_dev_ops con_ops = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .num_queues = 2,
    .queue_max = CON_QUEUE_SIZE,
    .config_size = CON_CONFIG_SIZE,     /* all zero: no F_SIZE, one port */
    .features = VIRTIO_F_COMMON,
    .notify = con_notify,
    .driver_ok = con_driver_ok,
};

struct virtio_console *virtio_console_new(const struct hw_console *out,
                                          const struct hw_line *irq, struct mem *mem)
{
    struct virtio_console *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (out)
        c->out = *out;
    pthread_mutex_init(&c->rx_lock, NULL);
    pthread_mutex_init(&c->tx_lock, NULL);
    c->vdev = virtio_dev_new(&con_ops, c, 0, irq, mem);
    if (!c->vdev) {
        virtio_console_free(c);
        return NULL;
    }
    return c;
}

struct virtio_dev *virtio_console_transport(struct virtio_console *c)
{
    return c->vdev;
}

void virtio_console_free(struct virtio_console *c)
{
    if (!c)
        return;
    virtio_dev_free(c->vdev);
    pthread_mutex_destroy(&c->rx_lock);
    pthread_mutex_destroy(&c->tx_lock);
    free(c);
}
