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

/* ------------------------------------------------------------ device model */

/* Section "vcons", version 1: the transport (virtio_dev_save_state), then
 * the host input not yet delivered to the guest: u32 length (at most
 * VIRTIO_CONSOLE_RX_BUFFER) and the bytes, oldest first.  The single port
 * has no other state (no MULTIPORT: no open/close or size events). */
#define VCONS_TAG "vcons"
#define VCONS_VERSION 1

static void con_dev_reset(void *opaque)
{
    struct virtio_console *c = opaque;
    virtio_dev_reset(c->vdev);
}

/* Once the transport hands out no chain, a delivery or transmission still
 * running holds its lock: taking each lock waits for it.  Input arriving
 * while quiesced waits in the host buffer (and is saved). */
static int con_dev_quiesce(void *opaque)
{
    struct virtio_console *c = opaque;
    virtio_dev_quiesce(c->vdev);
    pthread_mutex_lock(&c->rx_lock);
    pthread_mutex_unlock(&c->rx_lock);
    pthread_mutex_lock(&c->tx_lock);
    pthread_mutex_unlock(&c->tx_lock);
    return 0;
}

static void con_dev_resume(void *opaque)
{
    struct virtio_console *c = opaque;
    virtio_dev_resume(c->vdev);     /* delivers waiting input */
}

static int con_dev_save(const void *opaque, struct sstate_writer *w)
{
    struct virtio_console *c = (struct virtio_console *)opaque;    /* for the lock */
    if (!virtio_dev_quiesced(c->vdev))
        return -EBUSY;
    sstate_begin(w, VCONS_TAG, VCONS_VERSION);
    int rc = virtio_dev_save_state(c->vdev, w);
    pthread_mutex_lock(&c->rx_lock);
    size_t first = MIN(c->rx_len, sizeof(c->rx) - c->rx_head);
    sstate_put_u32(w, (uint32_t)c->rx_len);
    sstate_put_bytes(w, c->rx + c->rx_head, first);
    sstate_put_bytes(w, c->rx, c->rx_len - first);
    pthread_mutex_unlock(&c->rx_lock);
    int rc2 = sstate_end(w);
    return rc ? rc : rc2;
}

static int con_dev_restore(void *opaque, struct sstate_reader *r)
{
    struct virtio_console *c = opaque;
    if (!virtio_dev_quiesced(c->vdev))
        return -EBUSY;
    uint32_t version;
    int rc = sstate_open(r, VCONS_TAG, VCONS_VERSION, &version);
    if (rc)
        return rc;
    struct virtio_dev_state st;
    uint8_t rx[VIRTIO_CONSOLE_RX_BUFFER];
    virtio_dev_load_state(c->vdev, r, &st);    /* an error sticks in r */
    uint32_t len = sstate_get_u32(r);
    if (len > sizeof(rx))
        sstate_fail(r, -EINVAL);
    else
        sstate_get_bytes(r, rx, len);
    rc = sstate_close(r);
    if (rc)
        return rc;
    virtio_dev_apply_state(c->vdev, &st);
    pthread_mutex_lock(&c->rx_lock);
    memcpy(c->rx, rx, len);
    c->rx_head = 0;
    c->rx_len = len;
    pthread_mutex_unlock(&c->rx_lock);
    return 0;
}

static int con_dev_fdt(void *opaque, const struct device_fdt_ctx *ctx)
{
    return virtio_mmio_fdt_node(ctx);
}

static void con_dev_destroy(void *opaque)
{
    virtio_console_free(opaque);
}

static const struct device_ops con_device_ops = {
    .tag = VCONS_TAG,
    .reset = con_dev_reset,
    .quiesce = con_dev_quiesce,
    .resume = con_dev_resume,
    .save = con_dev_save,
    .restore = con_dev_restore,
    .fdt_node = con_dev_fdt,
    .destroy = con_dev_destroy,
};

struct device virtio_console_device(struct virtio_console *c)
{
    return (struct device){ &con_device_ops, c };
}
