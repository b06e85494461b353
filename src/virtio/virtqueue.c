/* Split virtqueues (Virtio 1.2 section 2.7): the one walker every device
 * uses.  Everything the driver wrote is validated before use: ring
 * addresses and queue size when the queue is enabled, then each index,
 * descriptor, indirect table and buffer as a chain is popped.
 *
 * Guest memory is reached only through mem/ (design rule 2): 16-bit ring
 * fields through mem_gpa_to_hva (they are naturally aligned, so they never
 * cross a page) with atomic loads/stores for the ordering rules of 2.7.13
 * and 2.7.7; descriptors and used elements with mem_read / mem_write;
 * buffers with mem_map_iovec. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "virtio/virtio_int.h"

/* Ring layout (2.7.5, 2.7.6, 2.7.8). */
#define DESC_SIZE 16u
#define AVAIL_IDX(vq)        ((vq)->avail + 2)
#define AVAIL_RING(vq, i)    ((vq)->avail + 4 + 2ULL * (i))
#define AVAIL_USED_EVENT(vq) ((vq)->avail + 4 + 2ULL * (vq)->num)
#define USED_IDX(vq)         ((vq)->used + 2)
#define USED_RING(vq, i)     ((vq)->used + 4 + 8ULL * (i))
#define USED_AVAIL_EVENT(vq) ((vq)->used + 4 + 8ULL * (vq)->num)

void virtq_init(struct virtq *vq, struct virtio_dev *d, unsigned index)
{
    memset(vq, 0, sizeof(*vq));
    vq->dev = d;
    vq->index = index;
    pthread_mutex_init(&vq->lock, NULL);
}

void virtq_destroy(struct virtq *vq)
{
    pthread_mutex_destroy(&vq->lock);
}

void virtq_reset(struct virtq *vq)
{
    pthread_mutex_lock(&vq->lock);
    vq->num = 0;
    vq->desc = vq->avail = vq->used = 0;
    vq->ready = vq->broken = false;
    vq->event_idx = vq->indirect = false;
    vq->last_avail = vq->used_idx = 0;
    vq->gen++;
    pthread_mutex_unlock(&vq->lock);
}

unsigned virtq_index(const struct virtq *vq)
{
    return vq->index;
}

unsigned virtq_size(struct virtq *vq)
{
    pthread_mutex_lock(&vq->lock);
    unsigned n = vq->ready ? vq->num : 0;
    pthread_mutex_unlock(&vq->lock);
    return n;
}

bool virtq_ready(struct virtq *vq)
{
    pthread_mutex_lock(&vq->lock);
    bool r = vq->ready && !vq->broken;
    pthread_mutex_unlock(&vq->lock);
    return r;
}

/* Stop the queue and put the device into DEVICE_NEEDS_RESET.  Called with
 * vq->lock held (lock order virtq -> transport). */
static int vq_fail(struct virtq *vq, const char *what, unsigned long long a,
                   unsigned long long b)
{
    vq->broken = true;
    virtio_dev_needs_reset(vq->dev, "queue %u: %s (%llu, %llu)", vq->index, what, a, b);
    return -EIO;
}

/* Naturally aligned 16-bit ring fields (never cross a page); `write` for
 * the device's own fields (used ring), which marks them dirty. */
static uint16_t *ring16(struct virtq *vq, uint64_t gpa, bool write)
{
    return mem_gpa_to_hva(vq->dev->mem, gpa, NULL, write);
}

void virtq_enable(struct virtq *vq)
{
    struct virtio_dev *d = vq->dev;
    uint64_t f = virtio_dev_features(d);
    pthread_mutex_lock(&vq->lock);
    if (vq->ready) {
        pthread_mutex_unlock(&vq->lock);
        return;
    }
    uint32_t n = vq->num;
    const char *why = NULL;
    if (!n || n > d->ops->queue_max || (n & (n - 1)))
        why = "queue size not a power of two within QueueNumMax";
    else if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3))
        why = "misaligned ring address (desc 16, driver 2, device 4 bytes)";
    else if (!mem_is_ram(d->mem, vq->desc, (uint64_t)DESC_SIZE * n) ||
             !mem_is_ram(d->mem, vq->avail, 6 + 2ULL * n) ||
             !mem_is_ram(d->mem, vq->used, 6 + 8ULL * n))
        why = "ring outside guest RAM";
    if (why) {
        vq_fail(vq, why, n, vq->desc);
        pthread_mutex_unlock(&vq->lock);
        return;
    }
    vq->event_idx = f & (1ULL << VIRTIO_F_EVENT_IDX);
    vq->indirect = f & (1ULL << VIRTIO_F_INDIRECT_DESC);
    /* 2.7.2: the device starts from the used index it finds (0 after
     * reset); we keep our own shadow. */
    vq->last_avail = vq->used_idx = 0;
    vq->broken = false;
    vq->ready = true;
    pthread_mutex_unlock(&vq->lock);
}

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static int read_desc(struct virtq *vq, uint64_t table, uint32_t i, struct desc *out)
{
    uint8_t b[DESC_SIZE];
    if (mem_read(vq->dev->mem, table + (uint64_t)i * DESC_SIZE, b, sizeof(b)))
        return -EFAULT;
    memcpy(&out->addr, b, 8);   /* little-endian host (x86-64, riscv64) */
    memcpy(&out->len, b + 8, 4);
    memcpy(&out->flags, b + 12, 2);
    memcpy(&out->next, b + 14, 2);
    return 0;
}

/* Walk the chain starting at `head` (2.7.5, 2.7.5.3).  vq->lock held. */
static int walk(struct virtq *vq, uint16_t head, struct virtq_chain *c)
{
    struct mem *m = vq->dev->mem;
    uint64_t table = vq->desc;
    uint32_t tsize = vq->num;
    uint32_t i = head;
    bool in_indirect = false, seen_write = false;
    unsigned niov = 0;

    c->head = head;
    c->out_iov = c->in_iov = 0;
    c->out_len = c->in_len = 0;
    c->ndesc = 0;
    if (head >= vq->num)
        return vq_fail(vq, "head descriptor index out of range", head, vq->num);
    for (;;) {
        struct desc dsc;
        if (c->ndesc >= vq->num)
            return vq_fail(vq, "chain longer than the queue size (loop?)", head, vq->num);
        if (read_desc(vq, table, i, &dsc))
            return vq_fail(vq, "indirect table outside guest RAM", table, i);
        c->ndesc++;
        if (dsc.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!vq->indirect)
                return vq_fail(vq, "INDIRECT descriptor without VIRTIO_F_INDIRECT_DESC", i, 0);
            if (in_indirect)
                return vq_fail(vq, "nested indirect table", i, 0);
            if (c->ndesc != 1)
                return vq_fail(vq, "indirect descriptor not at the head of the chain", i, 0);
            if (dsc.flags & VIRTQ_DESC_F_NEXT)
                return vq_fail(vq, "descriptor has both INDIRECT and NEXT", i, 0);
            if (!dsc.len || dsc.len % DESC_SIZE)
                return vq_fail(vq, "indirect table length not a multiple of 16", i, dsc.len);
            if (!mem_is_ram(m, dsc.addr, dsc.len))
                return vq_fail(vq, "indirect table outside guest RAM", dsc.addr, dsc.len);
            table = dsc.addr;
            tsize = dsc.len / DESC_SIZE;
            in_indirect = true;
            /* The table's descriptors make up the chain (2.7.5.3): they,
             * not the one pointing at them, count against the queue size. */
            c->ndesc = 0;
            i = 0;
            continue;
        }
        if (dsc.len) {
            int cnt = 0;
            int r = mem_map_iovec(m, dsc.addr, dsc.len,
                                  (dsc.flags & VIRTQ_DESC_F_WRITE) != 0, &c->iov[niov],
                                  (int)(VIRTQ_IOV_MAX - niov), &cnt);
            if (r == -E2BIG)
                return vq_fail(vq, "chain maps to too many host pieces", head, VIRTQ_IOV_MAX);
            if (r)
                return vq_fail(vq, "buffer outside guest RAM", dsc.addr, dsc.len);
            niov += (unsigned)cnt;
            if (dsc.flags & VIRTQ_DESC_F_WRITE) {
                c->in_iov += (unsigned)cnt;
                c->in_len += dsc.len;
            } else {
                c->out_iov += (unsigned)cnt;
                c->out_len += dsc.len;
            }
        }
        if (dsc.flags & VIRTQ_DESC_F_WRITE)
            seen_write = true;
        else if (seen_write)
            return vq_fail(vq, "device-readable descriptor after a writable one", head, i);
        if (!(dsc.flags & VIRTQ_DESC_F_NEXT))
            break;
        if (dsc.next >= tsize)
            return vq_fail(vq, "next descriptor index out of range", dsc.next, tsize);
        i = dsc.next;
    }
    if (c->out_len + c->in_len == 0)
        return vq_fail(vq, "zero-length chain", head, 0);
    return 1;
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
    int ret = 0;
    pthread_mutex_lock(&vq->lock);
    if (!vq->ready || vq->broken || !virtio_dev_active_(vq->dev))
        goto out;
    uint16_t *aidx = ring16(vq, AVAIL_IDX(vq), false);
    if (!aidx) {
        ret = vq_fail(vq, "driver ring not in RAM", vq->avail, 0);
        goto out;
    }
    uint16_t avail = __atomic_load_n(aidx, __ATOMIC_ACQUIRE);
    if (avail == vq->last_avail && vq->event_idx) {
        /* Empty: ask for a notification at the next buffer (2.7.10),
         * then look again so a buffer added meanwhile is not missed. */
        uint16_t *ae = ring16(vq, USED_AVAIL_EVENT(vq), true);
        if (ae)
            __atomic_store_n(ae, vq->last_avail, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        avail = __atomic_load_n(aidx, __ATOMIC_ACQUIRE);
    }
    if (avail == vq->last_avail)
        goto out;
    if ((uint16_t)(avail - vq->last_avail) > vq->num) {
        ret = vq_fail(vq, "available index moved by more than the queue size",
                      avail, vq->last_avail);
        goto out;
    }
    uint16_t *slot = ring16(vq, AVAIL_RING(vq, vq->last_avail % vq->num), false);
    if (!slot) {
        ret = vq_fail(vq, "driver ring not in RAM", vq->avail, 0);
        goto out;
    }
    uint16_t head = __atomic_load_n(slot, __ATOMIC_RELAXED);
    vq->last_avail++;
    if (vq->event_idx) {
        uint16_t *ae = ring16(vq, USED_AVAIL_EVENT(vq), true);
        if (ae)
            __atomic_store_n(ae, vq->last_avail, __ATOMIC_RELAXED);
    }
    ret = walk(vq, head, c);
    c->gen_ = vq->gen;
out:
    pthread_mutex_unlock(&vq->lock);
    return ret;
}

/* 2.7.10: notify when the used index just passed used_event. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

int virtq_push(struct virtq *vq, const struct virtq_chain *c, uint32_t written)
{
    struct mem *m = vq->dev->mem;
    bool notify = false;
    int ret = 0;
    pthread_mutex_lock(&vq->lock);
    if (c->gen_ != vq->gen || !vq->ready) {
        ret = -ESTALE;
        goto out;
    }
    if (written > c->in_len)
        written = (uint32_t)c->in_len;
    uint8_t elem[8];
    uint32_t id = c->head;
    memcpy(elem, &id, 4);
    memcpy(elem + 4, &written, 4);
    uint16_t *uidx = ring16(vq, USED_IDX(vq), true);
    if (!uidx || mem_write(m, USED_RING(vq, vq->used_idx % vq->num), elem, sizeof(elem))) {
        ret = vq_fail(vq, "device ring not in RAM", vq->used, 0);
        goto out;
    }
    uint16_t old = vq->used_idx;
    vq->used_idx++;
    /* The element must be visible before the index (2.7.8.2). */
    __atomic_store_n(uidx, vq->used_idx, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vq->event_idx) {
        uint16_t *ue = ring16(vq, AVAIL_USED_EVENT(vq), false);
        notify = !ue || need_event(__atomic_load_n(ue, __ATOMIC_RELAXED), vq->used_idx, old);
    } else {
        uint16_t *fl = ring16(vq, vq->avail, false);
        notify = !fl || !(__atomic_load_n(fl, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
out:
    pthread_mutex_unlock(&vq->lock);
    if (notify)
        virtio_dev_interrupt(vq->dev, VIRTIO_MMIO_INT_VRING);
    return ret;
}

/* ------------------------------------------------------------ iovecs */

static size_t copy_iov(const struct iovec *iov, unsigned n, uint64_t off, void *buf,
                       size_t len, bool to_iov)
{
    size_t done = 0;
    for (unsigned k = 0; k < n && done < len; k++) {
        if (off >= iov[k].iov_len) {
            off -= iov[k].iov_len;
            continue;
        }
        size_t chunk = MIN(iov[k].iov_len - off, len - done);
        if (to_iov)
            memcpy((uint8_t *)iov[k].iov_base + off, (const uint8_t *)buf + done, chunk);
        else
            memcpy((uint8_t *)buf + done, (const uint8_t *)iov[k].iov_base + off, chunk);
        done += chunk;
        off = 0;
    }
    return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, size_t len)
{
    return copy_iov(c->iov, c->out_iov, off, buf, len, false);
}

size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf,
                         size_t len)
{
    return copy_iov(c->iov + c->out_iov, c->in_iov, off, (void *)buf, len, true);
}

int virtq_chain_slice(const struct virtq_chain *c, bool writable, uint64_t off,
                      uint64_t len, struct iovec *out, int max)
{
    const struct iovec *iov = writable ? c->iov + c->out_iov : c->iov;
    unsigned n = writable ? c->in_iov : c->out_iov;
    int cnt = 0;
    for (unsigned k = 0; k < n && len; k++) {
        if (off >= iov[k].iov_len) {
            off -= iov[k].iov_len;
            continue;
        }
        if (cnt >= max)
            return 0;
        uint64_t chunk = MIN(iov[k].iov_len - off, len);
        out[cnt].iov_base = (uint8_t *)iov[k].iov_base + off;
        out[cnt].iov_len = (size_t)chunk;
        cnt++;
        len -= chunk;
        off = 0;
    }
    return len ? 0 : cnt;
}
