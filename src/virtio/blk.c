/* virtio-blk (Virtio 1.2 section 5.2) over the block layer.
 *
 * Requests are popped on the notifying vCPU thread and handed to the block
 * layer's worker threads (block_aio_submit); the completion callback, on a
 * worker thread, copies read data, writes the status byte and pushes the
 * used ring.  Requests that need no I/O (errors, GET_ID) complete at once.
 * A malformed request that still has a status byte completes with
 * VIRTIO_BLK_S_IOERR (or UNSUPP for unknown types); one without a status
 * byte cannot be answered and puts the device into DEVICE_NEEDS_RESET. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "util/util.h"
#include "virtio/virtio.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20

#define SECTOR 512u
#define BLK_QUEUE_SIZE 256u
#define BLK_SEG_MAX (BLK_QUEUE_SIZE - 2)
/* One discard / write-zeroes segment per request, at most 4 GiB - 512. */
#define BLK_MAX_DISCARD_SECTORS 0x7fffffu
#define BLK_CONFIG_SIZE 60u

struct blk_req {
    struct virtio_blk *b;
    struct block_aio_req aio;
    uint8_t *bounce;            /* non-NULL when the data needs a copy */
    int iovcnt;                 /* else the data is iov[0..iovcnt) */
    struct iovec iov[BLK_SEG_MAX + 2];
    uint64_t data_len;
    uint32_t type;              /* VIRTIO_BLK_T_*, for the counters */
    bool is_read;
    struct virtq_chain chain;   /* last: large */
};

struct virtio_blk {
    struct virtio_dev *vdev;
    struct block_dev *bd;
    bool read_only, flush_noop;
    char serial[VIRTIO_BLK_ID_BYTES];
    uint64_t sectors;
    atomic_uint inflight;       /* requests given to the block layer */
    /* struct virtio_blk_stats, bumped (relaxed) where a request completes:
     * on vCPU threads and the block layer's workers at once.  Host
     * diagnostics, not device state: not saved. */
    uint64_t st_read_req, st_write_req, st_flush_req, st_discard_req;
    uint64_t st_read_bytes, st_write_bytes, st_errors;
};

static inline void stat_add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* Count a request that completes with `status` (5.2.6). */
static void count(struct virtio_blk *b, const struct blk_req *r, uint8_t status)
{
    if (status != VIRTIO_BLK_S_OK) {
        stat_add(&b->st_errors, 1);
        return;
    }
    switch (r->type) {
    case VIRTIO_BLK_T_IN:
        stat_add(&b->st_read_req, 1);
        stat_add(&b->st_read_bytes, r->data_len);
        break;
    case VIRTIO_BLK_T_OUT:
        stat_add(&b->st_write_req, 1);
        stat_add(&b->st_write_bytes, r->data_len);
        break;
    case VIRTIO_BLK_T_FLUSH:
        stat_add(&b->st_flush_req, 1);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        stat_add(&b->st_discard_req, 1);
        break;
    default:                    /* GET_ID moves no disk data */
        break;
    }
}

static void blk_config_read(void *opaque, uint32_t off, void *buf, uint32_t len)
{
    struct virtio_blk *b = opaque;
    uint8_t cfg[BLK_CONFIG_SIZE] = {0};
    uint32_t v32;
    uint64_t cap = b->sectors;
    memcpy(cfg + 0, &cap, 8);                       /* capacity */
    v32 = BLK_SEG_MAX;
    memcpy(cfg + 12, &v32, 4);                      /* seg_max */
    v32 = SECTOR;
    memcpy(cfg + 20, &v32, 4);                      /* blk_size */
    v32 = BLK_MAX_DISCARD_SECTORS;
    memcpy(cfg + 36, &v32, 4);                      /* max_discard_sectors */
    v32 = 1;
    memcpy(cfg + 40, &v32, 4);                      /* max_discard_seg */
    memcpy(cfg + 44, &v32, 4);                      /* discard_sector_alignment */
    v32 = BLK_MAX_DISCARD_SECTORS;
    memcpy(cfg + 48, &v32, 4);                      /* max_write_zeroes_sectors */
    v32 = 1;
    memcpy(cfg + 52, &v32, 4);                      /* max_write_zeroes_seg */
    cfg[56] = 1;                                    /* write_zeroes_may_unmap */
    memcpy(buf, cfg + off, len);
}

/* Write the status byte (last writable byte) and push.  `data` is the
 * number of bytes written before it. */
static void complete(struct blk_req *r, uint8_t status, uint64_t data)
{
    struct virtio_blk *b = r->b;
    /* Counted before the push: once the used entry is visible the guest
     * (or a test reading the counters after it) may look at once. */
    count(b, r, status);
    if (r->chain.in_len) {
        virtq_chain_write(&r->chain, r->chain.in_len - 1, &status, 1);
        virtq_push(virtio_dev_queue(b->vdev, 0), &r->chain, (uint32_t)(data + 1));
    }
    free(r->bounce);
    free(r);
}

static void aio_done(struct block_aio_req *req, int ret)
{
    struct blk_req *r = req->opaque;
    struct virtio_blk *b = r->b;
    uint64_t data = 0;
    if (ret == 0 && r->is_read) {
        if (r->bounce)
            virtq_chain_write(&r->chain, 0, r->bounce, r->data_len);
        data = r->data_len;
    }
    complete(r, ret == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, data);
    atomic_fetch_sub(&b->inflight, 1);
}

static bool range_ok(struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
    if (bytes % SECTOR)
        return false;
    uint64_t n = bytes / SECTOR;
    return sector <= b->sectors && n <= b->sectors - sector;
}

static int submit(struct blk_req *r, enum block_aio_op op, uint64_t off, uint64_t len)
{
    struct virtio_blk *b = r->b;
    r->aio = (struct block_aio_req){
        .op = op, .off = off, .len = len, .cb = aio_done, .opaque = r,
        .buf = r->bounce,
        .iov = r->bounce ? NULL : r->iov, .iovcnt = r->iovcnt,
    };
    atomic_fetch_add(&b->inflight, 1);
    int rc = block_aio_submit(b->bd, &r->aio);
    if (rc) {
        atomic_fetch_sub(&b->inflight, 1);
        return rc;
    }
    return 0;
}

/* Set up r->iov (the guest's buffers, no copy) or, when the range does
 * not map to at most ARRAY_SIZE(r->iov) iovecs, r->bounce, for `len` bytes
 * of the chain at `off`. */
static int map_data(struct blk_req *r, bool writable, uint64_t off, uint64_t len)
{
    r->data_len = len;
    r->iovcnt = len ? virtq_chain_slice(&r->chain, writable, off, len, r->iov,
                                        (int)ARRAY_SIZE(r->iov)) : 0;
    if (r->iovcnt > 0)
        return 0;
    r->bounce = malloc(len ? len : 1);
    if (!r->bounce)
        return -ENOMEM;
    if (!writable)
        virtq_chain_read(&r->chain, off, r->bounce, len);
    return 0;
}

/* Handle one popped request; takes ownership of r. */
static void handle(struct virtio_blk *b, struct blk_req *r)
{
    struct virtq_chain *c = &r->chain;
    uint8_t hdr[16];
    if (c->in_len == 0) {
        /* No status byte: the request cannot be answered (5.2.6.1). */
        virtio_dev_needs_reset(b->vdev, "request without a writable status byte");
        stat_add(&b->st_errors, 1);
        virtq_drop(virtio_dev_queue(b->vdev, 0), c);
        free(r);
        return;
    }
    if (virtq_chain_read(c, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
        complete(r, VIRTIO_BLK_S_IOERR, 0);
        return;
    }
    uint32_t type;
    uint64_t sector;
    memcpy(&type, hdr, 4);
    memcpy(&sector, hdr + 8, 8);
    r->type = type;
    uint64_t out_data = c->out_len - 16;    /* bytes after the header */
    uint64_t in_data = c->in_len - 1;       /* bytes before the status */
    int rc = 0;

    switch (type) {
    case VIRTIO_BLK_T_IN:
        if (out_data || !range_ok(b, sector, in_data))
            break;
        r->is_read = true;
        if (in_data == 0) {
            complete(r, VIRTIO_BLK_S_OK, 0);
            return;
        }
        if ((rc = map_data(r, true, 0, in_data)) ||
            (rc = submit(r, BLOCK_AIO_READ, sector * SECTOR, in_data)))
            break;
        return;
    case VIRTIO_BLK_T_OUT:
        if (b->read_only || in_data || !range_ok(b, sector, out_data))
            break;
        if (out_data == 0) {
            complete(r, VIRTIO_BLK_S_OK, 0);
            return;
        }
        if ((rc = map_data(r, false, 16, out_data)) ||
            (rc = submit(r, BLOCK_AIO_WRITE, sector * SECTOR, out_data)))
            break;
        return;
    case VIRTIO_BLK_T_FLUSH:
        if (b->flush_noop) {
            complete(r, VIRTIO_BLK_S_OK, 0);
            return;
        }
        if (submit(r, BLOCK_AIO_FLUSH, 0, 0))
            break;
        return;
    case VIRTIO_BLK_T_GET_ID: {
        uint64_t n = MIN(in_data, (uint64_t)VIRTIO_BLK_ID_BYTES);
        virtq_chain_write(c, 0, b->serial, (size_t)n);
        complete(r, VIRTIO_BLK_S_OK, n);
        return;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: {
        /* One struct virtio_blk_discard_write_zeroes (5.2.6). */
        uint8_t seg[16];
        if (b->read_only || out_data != sizeof(seg) || in_data)
            break;
        virtq_chain_read(c, 16, seg, sizeof(seg));
        uint64_t s;
        uint32_t num, flags;
        memcpy(&s, seg, 8);
        memcpy(&num, seg + 8, 4);
        memcpy(&flags, seg + 12, 4);
        /* 5.2.6.2: unmap is only defined for write-zeroes; reserved
         * flag bits must be zero. */
        if ((flags & ~1u) || (type == VIRTIO_BLK_T_DISCARD && (flags & 1u)) ||
            num > BLK_MAX_DISCARD_SECTORS) {
            complete(r, VIRTIO_BLK_S_UNSUPP, 0);
            return;
        }
        if (!range_ok(b, s, (uint64_t)num * SECTOR))
            break;
        if (submit(r, type == VIRTIO_BLK_T_DISCARD ? BLOCK_AIO_DISCARD
                                                   : BLOCK_AIO_WRITE_ZEROES,
                   s * SECTOR, (uint64_t)num * SECTOR))
            break;
        return;
    }
    default:
        complete(r, VIRTIO_BLK_S_UNSUPP, 0);
        return;
    }
    complete(r, VIRTIO_BLK_S_IOERR, 0);
}

static void blk_notify(void *opaque, unsigned q)
{
    struct virtio_blk *b = opaque;
    struct virtq *vq = virtio_dev_queue(b->vdev, q);
    for (;;) {
        struct blk_req *r = calloc(1, sizeof(*r));
        if (!r) {
            virtio_dev_needs_reset(b->vdev, "out of host memory");
            return;
        }
        r->b = b;
        if (virtq_pop(vq, &r->chain) != 1) {
            free(r);
            return;
        }
        handle(b, r);
    }
}

/* Reset: wait until every request given to the block layer completed
 * (their pushes land before the queue is forgotten). */
static void blk_reset(void *opaque)
{
    struct virtio_blk *b = opaque;
    block_aio_drain(b->bd);
}

static const struct virtio_dev_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_max = BLK_QUEUE_SIZE,
    .config_size = BLK_CONFIG_SIZE,
    .features = VIRTIO_F_COMMON | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
                (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH),
    .config_read = blk_config_read,
    .notify = blk_notify,
    .reset = blk_reset,
};

struct virtio_blk *virtio_blk_new(struct block_dev *bd, bool read_only, bool flush_is_noop,
                                  const char *serial, const struct hw_line *irq,
                                  struct mem *mem)
{
    struct virtio_blk *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->bd = bd;
    b->read_only = read_only;
    b->flush_noop = flush_is_noop;
    b->sectors = block_length(bd) / SECTOR;
    if (serial)     /* NUL-padded; a 20-byte id has no terminator (5.2.6) */
        memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial)));
    uint64_t f = read_only ? (1ULL << VIRTIO_BLK_F_RO)
                           : (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
    b->vdev = virtio_dev_new(&blk_ops, b, f, irq, mem);
    if (!b->vdev) {
        free(b);
        return NULL;
    }
    return b;
}

struct virtio_dev *virtio_blk_transport(struct virtio_blk *b)
{
    return b->vdev;
}

void virtio_blk_free(struct virtio_blk *b)
{
    if (!b)
        return;
    block_aio_drain(b->bd);
    virtio_dev_free(b->vdev);
    free(b);
}

/* ------------------------------------------------------------ device model */

/* Section "vblk", version 1: the transport (virtio_dev_save_state), then
 * u64 capacity in sectors and u8 read-only, which must match the disk the
 * device was created with (the guest sized its disk from them).  No
 * request is saved: quiesce completed them all. */
#define VBLK_TAG "vblk"
#define VBLK_VERSION 1

static void blk_dev_reset(void *opaque)
{
    struct virtio_blk *b = opaque;
    virtio_dev_reset(b->vdev);
}

/* Requests are popped on vCPU threads only (notify) and resume, so with
 * every vCPU stopped each popped request has been submitted: draining the
 * block layer completes (and pushes) them all. */
static int blk_dev_quiesce(void *opaque)
{
    struct virtio_blk *b = opaque;
    virtio_dev_quiesce(b->vdev);
    block_aio_drain(b->bd);
    return 0;
}

static void blk_dev_resume(void *opaque)
{
    struct virtio_blk *b = opaque;
    virtio_dev_resume(b->vdev);
}

static int blk_dev_save(const void *opaque, struct sstate_writer *w)
{
    const struct virtio_blk *b = opaque;
    if (!virtio_dev_quiesced(b->vdev))
        return -EBUSY;
    sstate_begin(w, VBLK_TAG, VBLK_VERSION);
    int rc = virtio_dev_save_state(b->vdev, w);
    sstate_put_u64(w, b->sectors);
    sstate_put_u8(w, b->read_only);
    int rc2 = sstate_end(w);
    return rc ? rc : rc2;
}

static int blk_dev_restore(void *opaque, struct sstate_reader *r)
{
    struct virtio_blk *b = opaque;
    if (!virtio_dev_quiesced(b->vdev))
        return -EBUSY;
    uint32_t version;
    int rc = sstate_open(r, VBLK_TAG, VBLK_VERSION, &version);
    if (rc)
        return rc;
    struct virtio_dev_state st;
    virtio_dev_load_state(b->vdev, r, &st);    /* an error sticks in r */
    uint64_t sectors = sstate_get_u64(r);
    uint8_t ro = sstate_get_u8(r);
    if (sectors != b->sectors || ro != b->read_only)
        sstate_fail(r, -EINVAL);
    rc = sstate_close(r);
    if (rc)
        return rc;
    virtio_dev_apply_state(b->vdev, &st);
    return 0;
}

static int blk_dev_fdt(void *opaque, const struct device_fdt_ctx *ctx)
{
    return virtio_mmio_fdt_node(ctx);
}

static void blk_dev_destroy(void *opaque)
{
    virtio_blk_free(opaque);
}

static const struct device_ops blk_device_ops = {
    .tag = VBLK_TAG,
    .reset = blk_dev_reset,
    .quiesce = blk_dev_quiesce,
    .resume = blk_dev_resume,
    .save = blk_dev_save,
    .restore = blk_dev_restore,
    .fdt_node = blk_dev_fdt,
    .destroy = blk_dev_destroy,
};

struct device virtio_blk_device(struct virtio_blk *b)
{
    return (struct device){ &blk_device_ops, b };
}

void virtio_blk_get_stats(const struct virtio_blk *b, struct virtio_blk_stats *st)
{
    st->read_requests = __atomic_load_n(&b->st_read_req, __ATOMIC_RELAXED);
    st->write_requests = __atomic_load_n(&b->st_write_req, __ATOMIC_RELAXED);
    st->flush_requests = __atomic_load_n(&b->st_flush_req, __ATOMIC_RELAXED);
    st->discard_requests = __atomic_load_n(&b->st_discard_req, __ATOMIC_RELAXED);
    st->read_bytes = __atomic_load_n(&b->st_read_bytes, __ATOMIC_RELAXED);
    st->write_bytes = __atomic_load_n(&b->st_write_bytes, __ATOMIC_RELAXED);
    st->errors = __atomic_load_n(&b->st_errors, __ATOMIC_RELAXED);
}
