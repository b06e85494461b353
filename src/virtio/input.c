/* virtio-input (Virtio 1.2 section 5.8), as the VM's power button: one
 * key, KEY_POWER, which a guest's input stack (Linux virtio_input, then
 * systemd-logind or acpid) turns into a clean poweroff.
 *
 * Queues (5.8.2): eventq 0 (device -> driver: struct virtio_input_event
 * per device-writable buffer), statusq 1 (driver -> device: LED and the
 * like; consumed and ignored, this device has none).  No feature bits.
 *
 * Config space (5.8.4), 136 bytes, little-endian:
 *   0  u8 select   (driver-written)
 *   1  u8 subsel   (driver-written)
 *   2  u8 size     bytes of u[] that answer (select, subsel); 0: none
 *   3  u8 reserved[5]
 *   8  u[128]      the answer:
 *        ID_NAME   (0x01)            string, no NUL
 *        ID_SERIAL (0x02)            string
 *        ID_DEVIDS (0x03)            le16 bustype, vendor, product, version
 *        PROP_BITS (0x10)            none (size 0)
 *        EV_BITS   (0x11) subsel EV_KEY: bitmap with bit KEY_POWER;
 *                         other subsels: none
 *        ABS_INFO  (0x12)            none
 *        anything else               none
 *
 * A press is four events: EV_KEY KEY_POWER 1, EV_SYN SYN_REPORT 0, EV_KEY
 * KEY_POWER 0, EV_SYN SYN_REPORT 0.  Events wait in a bounded host queue
 * (INPUT_PENDING_MAX) until the driver offers buffers: a press made while
 * the driver is not loaded yet, or while the VM is paused, is delivered
 * later rather than lost. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "virtio/virtio.h"

#define INPUT_QUEUE_SIZE 64u
#define Q_EVENT 0u
#define Q_STATUS 1u

/* Config space layout (5.8.4). */
#define CFG_SELECT 0u
#define CFG_SUBSEL 1u
#define CFG_SIZE 2u
#define CFG_U 8u
#define CFG_U_LEN 128u
#define INPUT_CONFIG_SIZE (CFG_U + CFG_U_LEN)

#define VIRTIO_INPUT_CFG_UNSET     0x00
#define VIRTIO_INPUT_CFG_ID_NAME   0x01
#define VIRTIO_INPUT_CFG_ID_SERIAL 0x02
#define VIRTIO_INPUT_CFG_ID_DEVIDS 0x03
#define VIRTIO_INPUT_CFG_PROP_BITS 0x10
#define VIRTIO_INPUT_CFG_EV_BITS   0x11
#define VIRTIO_INPUT_CFG_ABS_INFO  0x12

/* Identity (ID_DEVIDS): Linux's BUS_VIRTUAL, our vendor "VS". */
#define INPUT_NAME "Vessel Power Button"
#define INPUT_SERIAL "vessel-power-0"
#define INPUT_BUS_VIRTUAL 0x0006u
#define INPUT_VENDOR 0x5356u
#define INPUT_PRODUCT 0x0001u
#define INPUT_VERSION 0x0001u

struct virtio_input {
    struct virtio_dev *vdev;
    pthread_mutex_t lock;           /* everything below */
    uint8_t select, subsel;         /* config space, as the driver wrote */
    struct virtio_input_event pending[VIRTIO_INPUT_PENDING_MAX];
    unsigned head, count;           /* ring of events not yet delivered */
    uint64_t delivered;             /* events given to the driver */
    struct virtq_chain chain;
};

/* The answer to (select, subsel) in u[], its length returned. */
static uint8_t answer(const struct virtio_input *in, uint8_t u[CFG_U_LEN])
{
    memset(u, 0, CFG_U_LEN);
    switch (in->select) {
    case VIRTIO_INPUT_CFG_ID_NAME:
        if (in->subsel)
            return 0;
        memcpy(u, INPUT_NAME, sizeof(INPUT_NAME) - 1);
        return sizeof(INPUT_NAME) - 1;
    case VIRTIO_INPUT_CFG_ID_SERIAL:
        if (in->subsel)
            return 0;
        memcpy(u, INPUT_SERIAL, sizeof(INPUT_SERIAL) - 1);
        return sizeof(INPUT_SERIAL) - 1;
    case VIRTIO_INPUT_CFG_ID_DEVIDS:
        if (in->subsel)
            return 0;
        le_put(u + 0, INPUT_BUS_VIRTUAL, 2);
        le_put(u + 2, INPUT_VENDOR, 2);
        le_put(u + 4, INPUT_PRODUCT, 2);
        le_put(u + 6, INPUT_VERSION, 2);
        return 8;
    case VIRTIO_INPUT_CFG_EV_BITS:
        if (in->subsel != VIRTIO_INPUT_EV_KEY)
            return 0;
        u[VIRTIO_INPUT_KEY_POWER / 8] = (uint8_t)(1u << (VIRTIO_INPUT_KEY_POWER % 8));
        return VIRTIO_INPUT_KEY_POWER / 8 + 1;
    default:                /* UNSET, PROP_BITS, ABS_INFO, unknown: none */
        return 0;
    }
}

static void input_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
    struct virtio_input *in = opaque;
    uint8_t cfg[INPUT_CONFIG_SIZE] = { 0 };
    pthread_mutex_lock(&in->lock);
    cfg[CFG_SELECT] = in->select;
    cfg[CFG_SUBSEL] = in->subsel;
    cfg[CFG_SIZE] = answer(in, cfg + CFG_U);
    pthread_mutex_unlock(&in->lock);
    memcpy(buf, cfg + off, len);        /* the transport checked the bounds */
}

/* Only select and subsel are the driver's to write (5.8.4); a wider write
 * that covers them sets them, the rest is read-only and ignored. */
static void input_config_write(void *opaque, uint32_t off, const void *buf, uint32_t len)
{
    struct virtio_input *in = opaque;
    const uint8_t *b = buf;
    pthread_mutex_lock(&in->lock);
    for (uint32_t i = 0; i < len; i++) {
        if (off + i == CFG_SELECT)
            in->select = b[i];
        else if (off + i == CFG_SUBSEL)
            in->subsel = b[i];
    }
    pthread_mutex_unlock(&in->lock);
}

/* Give waiting events to the driver's eventq buffers, one event per
 * buffer (5.8.6.2).  A buffer that cannot hold an event breaks the
 * driver's side of the contract: the device needs a reset and the event
 * stays queued for the driver that resets it.  lock held. */
static void deliver(struct virtio_input *in)
{
    struct virtq *vq = virtio_dev_queue(in->vdev, Q_EVENT);
    while (in->count) {
        if (virtq_pop(vq, &in->chain) != 1)
            return;
        if (in->chain.in_len < VIRTIO_INPUT_EVENT_SIZE) {
            virtq_drop(vq, &in->chain);
            virtio_dev_needs_reset(in->vdev, "eventq buffer %u has %llu "
                                   "writable bytes; an event needs %u", in->chain.head,
                                   (unsigned long long)in->chain.in_len,
                                   VIRTIO_INPUT_EVENT_SIZE);
            return;
        }
        const struct virtio_input_event *ev = &in->pending[in->head];
        uint8_t raw[VIRTIO_INPUT_EVENT_SIZE];
        le_put(raw + 0, ev->type, 2);
        le_put(raw + 2, ev->code, 2);
        le_put(raw + 4, ev->value, 4);
        size_t n = virtq_chain_write(&in->chain, 0, raw, sizeof(raw));
        if (virtq_push(vq, &in->chain, (uint32_t)n) == 0 && n == sizeof(raw)) {
            in->head = (in->head + 1) % VIRTIO_INPUT_PENDING_MAX;
            in->count--;
            in->delivered++;
        }
    }
}

/* The driver's status events (LEDs, ...) mean nothing to a power button:
 * take them back at once, so the statusq never fills. */
static void consume_status(struct virtio_input *in)
{
    struct virtq *vq = virtio_dev_queue(in->vdev, Q_STATUS);
    while (virtq_pop(vq, &in->chain) == 1)
        virtq_push(vq, &in->chain, 0);
}

static void input_notify(void *opaque, unsigned q)
{
    struct virtio_input *in = opaque;
    pthread_mutex_lock(&in->lock);
    if (q == Q_EVENT)
        deliver(in);
    else
        consume_status(in);
    pthread_mutex_unlock(&in->lock);
}

static void input_driver_ok(void *opaque)
{
    input_notify(opaque, Q_EVENT);
}

/* Driver reset (status 0): select and subsel go back to 0; waiting events
 * stay for the next driver. */
static void input_reset(void *opaque)
{
    struct virtio_input *in = opaque;
    pthread_mutex_lock(&in->lock);
    in->select = in->subsel = 0;
    pthread_mutex_unlock(&in->lock);
}

static const struct virtio_dev_ops input_ops = {
    .name = "virtio-input",
    .device_id = VIRTIO_ID_INPUT,
    .num_queues = 2,
    .queue_max = INPUT_QUEUE_SIZE,
    .config_size = INPUT_CONFIG_SIZE,
    .features = VIRTIO_F_COMMON,
    .config_read = input_config_read,
    .config_write = input_config_write,
    .notify = input_notify,
    .reset = input_reset,
    .driver_ok = input_driver_ok,
};

int virtio_input_send(struct virtio_input *in, const struct virtio_input_event *ev,
                      unsigned n)
{
    pthread_mutex_lock(&in->lock);
    int rc = 0;
    if (n > VIRTIO_INPUT_PENDING_MAX - in->count) {
        rc = -ENOSPC;
    } else {
        for (unsigned i = 0; i < n; i++)
            in->pending[(in->head + in->count + i) % VIRTIO_INPUT_PENDING_MAX] = ev[i];
        in->count += n;
        deliver(in);
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

int virtio_input_power_button(struct virtio_input *in)
{
    static const struct virtio_input_event press[] = {
        { VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 1 },
        { VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0 },
        { VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 0 },
        { VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0 },
    };
    return virtio_input_send(in, press, ARRAY_SIZE(press));
}

void virtio_input_counts(struct virtio_input *in, unsigned *pending, uint64_t *delivered)
{
    pthread_mutex_lock(&in->lock);
    if (pending)
        *pending = in->count;
    if (delivered)
        *delivered = in->delivered;
    pthread_mutex_unlock(&in->lock);
}

struct virtio_input *virtio_input_new(const struct hw_line *irq, struct mem *mem)
{
    struct virtio_input *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    pthread_mutex_init(&in->lock, NULL);
    in->vdev = virtio_dev_new(&input_ops, in, 0, irq, mem);
    if (!in->vdev) {
        pthread_mutex_destroy(&in->lock);
        free(in);
        return NULL;
    }
    return in;
}

struct virtio_dev *virtio_input_transport(struct virtio_input *in)
{
    return in->vdev;
}

void virtio_input_free(struct virtio_input *in)
{
    if (!in)
        return;
    virtio_dev_free(in->vdev);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

/* ------------------------------------------------------------ device model */

/* Section "vinput", version 1: the transport (virtio_dev_save_state), u8
 * select, u8 subsel, u32 count of waiting events (at most
 * VIRTIO_INPUT_PENDING_MAX), then per event (oldest first) u32 type, u32
 * code, u32 value.  A restore accepts only events this device makes. */
#define VINPUT_TAG "vinput"
#define VINPUT_VERSION 1

/* VM reset (power-on): no event of the previous boot is delivered to the
 * next one. */
static void input_dev_reset(void *opaque)
{
    struct virtio_input *in = opaque;
    virtio_dev_reset(in->vdev);
    pthread_mutex_lock(&in->lock);
    in->head = in->count = 0;
    pthread_mutex_unlock(&in->lock);
}

/* A delivery in progress holds in->lock: taking it waits for it.  Presses
 * made while quiesced wait in the queue (and are saved). */
static int input_dev_quiesce(void *opaque)
{
    struct virtio_input *in = opaque;
    virtio_dev_quiesce(in->vdev);
    pthread_mutex_lock(&in->lock);
    pthread_mutex_unlock(&in->lock);
    return 0;
}

static void input_dev_resume(void *opaque)
{
    struct virtio_input *in = opaque;
    virtio_dev_resume(in->vdev);        /* delivers waiting events */
}

static int input_dev_save(const void *opaque, struct sstate_writer *w)
{
    struct virtio_input *in = (struct virtio_input *)opaque;   /* for the lock */
    if (!virtio_dev_quiesced(in->vdev))
        return -EBUSY;
    sstate_begin(w, VINPUT_TAG, VINPUT_VERSION);
    int rc = virtio_dev_save_state(in->vdev, w);
    pthread_mutex_lock(&in->lock);
    sstate_put_u8(w, in->select);
    sstate_put_u8(w, in->subsel);
    sstate_put_u32(w, in->count);
    for (unsigned i = 0; i < in->count; i++) {
        const struct virtio_input_event *ev =
            &in->pending[(in->head + i) % VIRTIO_INPUT_PENDING_MAX];
        sstate_put_u32(w, ev->type);
        sstate_put_u32(w, ev->code);
        sstate_put_u32(w, ev->value);
    }
    pthread_mutex_unlock(&in->lock);
    int rc2 = sstate_end(w);
    return rc ? rc : rc2;
}

/* An event this device could have queued: a key transition of its one
 * key, or a report. */
static bool event_valid(const struct virtio_input_event *ev)
{
    if (ev->type == VIRTIO_INPUT_EV_SYN)
        return ev->code == VIRTIO_INPUT_SYN_REPORT && ev->value == 0;
    return ev->type == VIRTIO_INPUT_EV_KEY && ev->code == VIRTIO_INPUT_KEY_POWER &&
           ev->value <= 1;
}

static int input_dev_restore(void *opaque, struct sstate_reader *r)
{
    struct virtio_input *in = opaque;
    if (!virtio_dev_quiesced(in->vdev))
        return -EBUSY;
    uint32_t version;
    int rc = sstate_open(r, VINPUT_TAG, VINPUT_VERSION, &version);
    if (rc)
        return rc;
    struct virtio_dev_state st;
    struct virtio_input_event ev[VIRTIO_INPUT_PENDING_MAX];
    virtio_dev_load_state(in->vdev, r, &st);   /* an error sticks in r */
    uint8_t select = sstate_get_u8(r);
    uint8_t subsel = sstate_get_u8(r);
    uint32_t count = sstate_get_u32(r);
    if (count > VIRTIO_INPUT_PENDING_MAX) {
        sstate_fail(r, -EINVAL);
        count = 0;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t type = sstate_get_u32(r), code = sstate_get_u32(r);
        ev[i] = (struct virtio_input_event){ (uint16_t)type, (uint16_t)code,
                                              sstate_get_u32(r) };
        if (type > UINT16_MAX || code > UINT16_MAX || !event_valid(&ev[i]))
            sstate_fail(r, -EINVAL);
    }
    rc = sstate_close(r);
    if (rc)
        return rc;
    virtio_dev_apply_state(in->vdev, &st);
    pthread_mutex_lock(&in->lock);
    in->select = select;
    in->subsel = subsel;
    memcpy(in->pending, ev, count * sizeof(ev[0]));
    in->head = 0;
    in->count = count;
    pthread_mutex_unlock(&in->lock);
    return 0;
}

static int input_dev_fdt(void *opaque, const struct device_fdt_ctx *ctx)
{
    return virtio_mmio_fdt_node(ctx);
}

static void input_dev_destroy(void *opaque)
{
    virtio_input_free(opaque);
}

static const struct device_ops input_device_ops = {
    .tag = VINPUT_TAG,
    .reset = input_dev_reset,
    .quiesce = input_dev_quiesce,
    .resume = input_dev_resume,
    .save = input_dev_save,
    .restore = input_dev_restore,
    .fdt_node = input_dev_fdt,
    .destroy = input_dev_destroy,
};

struct device virtio_input_device(struct virtio_input *in)
{
    return (struct device){ &input_device_ops, in };
}
