/* libFuzzer target for the virtio-mmio register interface and the split
 * virtqueue walker (src/virtio/mmio.c, virtqueue.c), and for the queues
 * of virtio-balloon (src/virtio/balloon.c: frame numbers and free page
 * reports from the guest).
 *
 * Each input is a little program run against one device in 64 KiB of
 * guest RAM: a test device with two queues, or, when the first byte's bit
 * 1 is set, the balloon with free page reporting (three queues, and its
 * notify pops, drops pages and pushes).  Unless the first byte's low bit
 * is set, the device is first brought up the way Linux does it (features,
 * queues at fixed addresses, DRIVER_OK), so the fuzzer spends its time on
 * rings.
 * Then, op by op:
 *   0  register write   off(2) size(1) value(4)
 *   1  register read    off(2) size(1)
 *   2  RAM write        off(2) len(1) bytes(len <= 64)
 *   3  pop + push       queue(1): every chain popped is filled and pushed
 *   4  QueueNotify      queue(1) (the device pops from its callback)
 * (queue numbers modulo the device's queue count).
 * Nothing may crash, hang, leak or touch memory outside guest RAM; chains
 * must satisfy the walker's invariants (checked below), and every page
 * pinned on the way must be unpinned at the end. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem/mem.h"
#include "virtio/virtio.h"

#define RAM 0x80000000ULL
#define RAM_SIZE 0x10000ULL
#define QMAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    struct mem *mem;
    struct virtio_dev *dev;
    struct virtio_balloon *bal;     /* or NULL: the test device */
    unsigned nq;
    struct virtq_chain *c;
};

static void check_chain(const struct virtq_chain *c)
{
    uint64_t out = 0, in = 0;
    if (c->out_iov + c->in_iov > VIRTQ_IOV_MAX || c->ndesc == 0 || c->ndesc > QMAX ||
        c->head >= QMAX || c->out_len + c->in_len == 0)
        abort();
    for (unsigned k = 0; k < c->out_iov + c->in_iov; k++)
        *(k < c->out_iov ? &out : &in) += c->iov[k].iov_len;
    if (out != c->out_len || in != c->in_len)
        abort();
}

static void drain(struct fz *z, unsigned q)
{
    struct virtq *vq = virtio_dev_queue(z->dev, q);
    if (!vq)
        return;
    while (virtq_pop(vq, z->c) == 1) {
        check_chain(z->c);
        uint8_t buf[64];
        virtq_chain_read(z->c, 0, buf, sizeof(buf));
        memset(buf, 0x5a, sizeof(buf));
        size_t n = virtq_chain_write(z->c, 0, buf, sizeof(buf));
        virtq_push(vq, z->c, (uint32_t)n);
    }
}

static void fz_notify(void *opaque, unsigned q) { drain(opaque, q); }
static void fz_cfg(void *opaque, uint32_t off, void *buf, uint32_t len)
{
    (void)opaque;
    memset(buf, (int)off, len);
}

static const struct virtio_dev_ops ops = {
    .name = "virtio-fuzz", .device_id = 4, .num_queues = 2, .queue_max = QMAX,
    .config_size = 12, .features = VIRTIO_F_COMMON, .notify = fz_notify,
    .config_read = fz_cfg,
};

static void wr(struct fz *z, uint64_t off, uint32_t v)
{
    virtio_mmio_ops.write(z->dev, off, v, 4);
}

static void bring_up(struct fz *z)
{
    uint64_t feat = VIRTIO_F_COMMON;
    if (z->bal)
        feat |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM |
                1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING;
    wr(z, VIRTIO_MMIO_STATUS, 1);
    wr(z, VIRTIO_MMIO_STATUS, 3);
    wr(z, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(z, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
    wr(z, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(z, VIRTIO_MMIO_DRIVER_FEATURES, 1);
    wr(z, VIRTIO_MMIO_STATUS, 11);
    for (unsigned q = 0; q < z->nq; q++) {
        uint64_t base = RAM + 0x1000 * (1 + 3 * q);
        wr(z, VIRTIO_MMIO_QUEUE_SEL, q);
        wr(z, VIRTIO_MMIO_QUEUE_NUM, QMAX);
        wr(z, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
        wr(z, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(base + 0x1000));
        wr(z, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(base + 0x2000));
        wr(z, VIRTIO_MMIO_QUEUE_READY, 1);
    }
    wr(z, VIRTIO_MMIO_STATUS, 15);
}

static size_t take(const uint8_t **p, size_t *left, void *out, size_t n)
{
    size_t k = n < *left ? n : *left;
    memset(out, 0, n);
    memcpy(out, *p, k);
    *p += k;
    *left -= k;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz z = { 0 };
    z.mem = mem_new();
    z.c = malloc(sizeof(*z.c));
    if (!z.mem || !z.c || mem_add_ram(z.mem, RAM, RAM_SIZE))
        goto out;
    if (size && (data[0] & 2)) {
        z.bal = virtio_balloon_new(true, NULL, z.mem);
        z.dev = z.bal ? virtio_balloon_transport(z.bal) : NULL;
        z.nq = 3;
    } else {
        z.dev = virtio_dev_new(&ops, &z, 0, NULL, z.mem);
        z.nq = 2;
    }
    if (!z.dev)
        goto out;
    if (!size || !(data[0] & 1))
        bring_up(&z);
    const uint8_t *p = data + (size ? 1 : 0);
    size_t left = size ? size - 1 : 0;
    unsigned steps = 0;
    while (left && steps++ < 4096) {
        uint8_t op = *p++;
        left--;
        switch (op % 5) {
        case 0: {
            uint16_t off;
            uint8_t sz;
            uint32_t v;
            take(&p, &left, &off, 2);
            take(&p, &left, &sz, 1);
            take(&p, &left, &v, 4);
            virtio_mmio_ops.write(z.dev, off & 0x1ff, v, 1u << (sz & 3));
            break;
        }
        case 1: {
            uint16_t off;
            uint8_t sz;
            take(&p, &left, &off, 2);
            take(&p, &left, &sz, 1);
            (void)virtio_mmio_ops.read(z.dev, off & 0x1ff, 1u << (sz & 3));
            break;
        }
        case 2: {
            uint16_t off;
            uint8_t len, buf[64];
            take(&p, &left, &off, 2);
            take(&p, &left, &len, 1);
            len %= 65;
            size_t got = take(&p, &left, buf, len);
            mem_write(z.mem, RAM + off, buf, got);  /* may fail at the end: fine */
            break;
        }
        case 3: {
            uint8_t q;
            take(&p, &left, &q, 1);
            drain(&z, q % z.nq);
            break;
        }
        case 4: {
            uint8_t q;
            take(&p, &left, &q, 1);
            wr(&z, VIRTIO_MMIO_QUEUE_NOTIFY, q);
            break;
        }
        }
    }
out:
    if (z.bal)
        virtio_balloon_free(z.bal);
    else
        virtio_dev_free(z.dev);
    /* Every pin taken (rings, chains, indirect tables) was released: a
     * memory operation may move every page again. */
    for (uint64_t a = RAM; z.mem && a < RAM + RAM_SIZE; a += 4096)
        if (mem_replace_page(z.mem, a) == -EBUSY)
            abort();
    mem_free(z.mem);
    free(z.c);
    return 0;
}
