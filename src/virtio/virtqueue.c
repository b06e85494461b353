/* Split virtqueues (Virtio 1.2 section 2.7): the one walker every device
 * uses.  Everything the driver wrote is validated before use: ring
 * addresses and queue size when the queue is enabled, then each index,
 * descriptor, indirect table and buffer as a chain is popped.
 *
 * Guest memory is reached only through mem/ (design rule 2), under its
 * leases (mem.h), since pop and push run on vCPU and device threads
 * alike:
 *   - the rings are pinned while the queue is in use (mapped at the first
 *     pop or push after their addresses were set, released at reset), so
 *     16-bit ring fields are atomic loads/stores through host pointers,
 *     for the ordering rules of 2.7.13 and 2.7.7, and descriptors are
 *     plain copies, without a pin or a lookup per access; the device's
 *     own writes (used ring, avail_event) mark their pages in the dirty
 *     log after they land;
 *   - an indirect table is pinned while its chain is walked;
 *   - buffers are mapped with mem_map_iovec, whose pins the chain keeps
 *     until it is pushed (or dropped), so a memory operation never
 *     changes a page while a request on it is in flight. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "virtio/virtio_int.h"

/* Ring layout (2.7.5, 2.7.6, 2.7.8): offsets in the descriptor table, the
 * driver area (avail) and the device area (used). */
#define DESC_SIZE 16u
#define AVAIL_FLAGS          0
#define AVAIL_IDX            2
#define AVAIL_RING(i)        (4 + 2ULL * (i))
#define AVAIL_USED_EVENT(vq) (4 + 2ULL * (vq)->num)
#define USED_IDX             2
#define USED_RING(i)         (4 + 8ULL * (i))
#define USED_AVAIL_EVENT(vq) (4 + 8ULL * (vq)->num)

static size_t copy_iov(const struct iovec *iov, unsigned n, uint64_t off, void *buf,
                       size_t len, bool to_iov);

/* ---- the rings' lease ---- */

static void rings_unmap(struct virtq *vq)
{
    if (!vq->mapped)
        return;
    struct mem *m = vq->dev->mem;
    mem_unpin_iovec(m, vq->rdesc.iov, vq->rdesc.n, false);
    mem_unpin_iovec(m, vq->ravail.iov, vq->ravail.n, false);
    mem_unpin_iovec(m, vq->rused.iov, vq->rused.n, true);
    vq->mapped = false;
}

/* Map (pin) the rings for the queue's current size and addresses, unless
 * they are already.  vq->lock held, queue ready (so virtq_enable or a
 * restore validated them).  -EFAULT: not RAM any more, or in more host
 * pieces than VIRTQ_RING_IOV. */
static int rings_map(struct virtq *vq)
{
    if (likely(vq->mapped && vq->mapped_num == vq->num && vq->mapped_desc == vq->desc &&
               vq->mapped_avail == vq->avail && vq->mapped_used == vq->used))
        return 0;
    rings_unmap(vq);
    struct mem *m = vq->dev->mem;
    uint64_t n = vq->num;
    struct virtq_ring *d = &vq->rdesc, *a = &vq->ravail, *u = &vq->rused;
    if (mem_map_iovec(m, vq->desc, DESC_SIZE * n, false, d->iov, VIRTQ_RING_IOV, &d->n))
        return -EFAULT;
    if (mem_map_iovec(m, vq->avail, 6 + 2 * n, false, a->iov, VIRTQ_RING_IOV, &a->n)) {
        mem_unpin_iovec(m, d->iov, d->n, false);
        return -EFAULT;
    }
    if (mem_map_iovec(m, vq->used, 6 + 8 * n, true, u->iov, VIRTQ_RING_IOV, &u->n)) {
        mem_unpin_iovec(m, d->iov, d->n, false);
        mem_unpin_iovec(m, a->iov, a->n, false);
        return -EFAULT;
    }
    vq->mapped = true;
    vq->mapped_num = vq->num;
    vq->mapped_desc = vq->desc;
    vq->mapped_avail = vq->avail;
    vq->mapped_used = vq->used;
    return 0;
}

/* Host address of byte `off` of a mapped ring.  Only for fields that
 * never cross a page (naturally aligned 16-bit fields, descriptors in the
 * 16-aligned table), so never two pieces. */
static inline void *rptr(const struct virtq_ring *r, uint64_t off)
{
    const struct iovec *v = r->iov;
    while (off >= v->iov_len) {
        off -= v->iov_len;
        v++;
    }
    return (uint8_t *)v->iov_base + off;
}

/* The device wrote `len` bytes at `off` of the used ring: log them. */
static inline void used_dirty(struct virtq *vq, uint64_t off, uint64_t len)
{
    mem_mark_dirty(vq->dev->mem, vq->used + off, len);
}

/* Release the pins of a chain's buffers (the writable part as written). */
static void chain_unpin(struct virtq *vq, const struct virtq_chain *c)
{
    mem_unpin_iovec(vq->dev->mem, c->iov, (int)c->out_iov, false);
    mem_unpin_iovec(vq->dev->mem, c->iov + c->out_iov, (int)c->in_iov, true);
}

void virtq_init(struct virtq *vq, struct virtio_dev *d, unsigned index)
{
    memset(vq, 0, sizeof(*vq));
    vq->dev = d;
    vq->index = index;
    pthread_mutex_init(&vq->lock, NULL);
}

void virtq_destroy(struct virtq *vq)
{
    pthread_mutex_lock(&vq->lock);
    rings_unmap(vq);
    pthread_mutex_unlock(&vq->lock);
    pthread_mutex_destroy(&vq->lock);
}

void virtq_reset(struct virtq *vq)
{
    pthread_mutex_lock(&vq->lock);
    rings_unmap(vq);
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

/* A descriptor table, pinned: the queue's own, or an indirect one. */
struct table {
    const struct iovec *iov;
    int n;
    uint32_t size;              /* descriptors */
};

static void read_desc(const struct table *t, uint32_t i, struct desc *out)
{
    uint8_t b[DESC_SIZE];
    copy_iov(t->iov, (unsigned)t->n, (uint64_t)i * DESC_SIZE, b, sizeof(b), false);
    memcpy(&out->addr, b, 8);   /* little-endian host (x86-64, riscv64) */
    memcpy(&out->len, b + 8, 4);
    memcpy(&out->flags, b + 12, 2);
    memcpy(&out->next, b + 14, 2);
}

/* Walk the chain starting at `head` (2.7.5, 2.7.5.3).  vq->lock held,
 * rings mapped.  An indirect table is pinned into ind[] (*nind pieces)
 * for the caller to release. */
static int walk_chain(struct virtq *vq, uint16_t head, struct virtq_chain *c,
                      struct iovec *ind, int *nind)
{
    struct mem *m = vq->dev->mem;
    struct table t = { vq->rdesc.iov, vq->rdesc.n, vq->num };
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
        read_desc(&t, i, &dsc);
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
            int r = mem_map_iovec(m, dsc.addr, dsc.len, false, ind, VIRTQ_RING_IOV, nind);
            if (r == -E2BIG)
                return vq_fail(vq, "indirect table maps to too many host pieces", dsc.addr,
                               dsc.len);
            if (r)
                return vq_fail(vq, "indirect table outside guest RAM", dsc.addr, dsc.len);
            t = (struct table){ ind, *nind, dsc.len / DESC_SIZE };
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
        if (dsc.next >= t.size)
            return vq_fail(vq, "next descriptor index out of range", dsc.next, t.size);
        i = dsc.next;
    }
    if (c->out_len + c->in_len == 0)
        return vq_fail(vq, "zero-length chain", head, 0);
    return 1;
}

static int walk(struct virtq *vq, uint16_t head, struct virtq_chain *c)
{
    struct iovec ind[VIRTQ_RING_IOV];
    int nind = 0;
    int ret = walk_chain(vq, head, c, ind, &nind);
    mem_unpin_iovec(vq->dev->mem, ind, nind, false);
    if (ret < 0)
        chain_unpin(vq, c);     /* the buffers mapped before the fault */
    return ret;
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
    int ret = 0;
    pthread_mutex_lock(&vq->lock);
    if (!vq->ready || vq->broken || !virtio_dev_active_(vq->dev))
        goto out;
    if (rings_map(vq)) {
        ret = vq_fail(vq, "rings not mappable (outside RAM, or too many host pieces)",
                      vq->avail, vq->used);
        goto out;
    }
    uint16_t *aidx = rptr(&vq->ravail, AVAIL_IDX);
    uint16_t avail = __atomic_load_n(aidx, __ATOMIC_ACQUIRE);
    if (avail == vq->last_avail && vq->event_idx) {
        /* Empty: ask for a notification at the next buffer (2.7.10),
         * then look again so a buffer added meanwhile is not missed. */
        __atomic_store_n((uint16_t *)rptr(&vq->rused, USED_AVAIL_EVENT(vq)), vq->last_avail,
                         __ATOMIC_RELAXED);
        used_dirty(vq, USED_AVAIL_EVENT(vq), 2);
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
    uint16_t head = __atomic_load_n((uint16_t *)rptr(&vq->ravail,
                                                     AVAIL_RING(vq->last_avail % vq->num)),
                                    __ATOMIC_RELAXED);
    vq->last_avail++;
    if (vq->event_idx) {
        __atomic_store_n((uint16_t *)rptr(&vq->rused, USED_AVAIL_EVENT(vq)), vq->last_avail,
                         __ATOMIC_RELAXED);
        used_dirty(vq, USED_AVAIL_EVENT(vq), 2);
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
    bool notify = false;
    int ret = 0;
    pthread_mutex_lock(&vq->lock);
    if (c->gen_ != vq->gen || !vq->ready) {
        ret = -ESTALE;
        goto out;
    }
    if (rings_map(vq)) {
        ret = vq_fail(vq, "rings not mappable (outside RAM, or too many host pieces)",
                      vq->avail, vq->used);
        goto out;
    }
    if (written > c->in_len)
        written = (uint32_t)c->in_len;
    uint8_t elem[8];
    uint32_t id = c->head;
    memcpy(elem, &id, 4);
    memcpy(elem + 4, &written, 4);
    uint16_t old = vq->used_idx;
    uint64_t at = USED_RING(old % vq->num);
    /* 4-aligned, so the element may cross a page: a copy. */
    copy_iov(vq->rused.iov, (unsigned)vq->rused.n, at, elem, sizeof(elem), true);
    vq->used_idx++;
    /* The buffers' bytes are news to the harts' decoded code before the
     * guest can learn of them (mem_note_write; chain_unpin notes them
     * again, later). */
    mem_note_write(vq->dev->mem);
    /* The element must be visible before the index (2.7.8.2). */
    __atomic_store_n((uint16_t *)rptr(&vq->rused, USED_IDX), vq->used_idx, __ATOMIC_RELEASE);
    used_dirty(vq, at, sizeof(elem));
    used_dirty(vq, USED_IDX, 2);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vq->event_idx) {
        uint16_t ue = __atomic_load_n((uint16_t *)rptr(&vq->ravail, AVAIL_USED_EVENT(vq)),
                                      __ATOMIC_RELAXED);
        notify = need_event(ue, vq->used_idx, old);
    } else {
        uint16_t fl = __atomic_load_n((uint16_t *)rptr(&vq->ravail, AVAIL_FLAGS),
                                      __ATOMIC_RELAXED);
        notify = !(fl & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
out:
    pthread_mutex_unlock(&vq->lock);
    /* The request is over (answered, or its queue reset under it): its
     * buffers' lease ends. */
    chain_unpin(vq, c);
    if (notify)
        virtio_dev_interrupt(vq->dev, VIRTIO_MMIO_INT_VRING);
    return ret;
}

void virtq_drop(struct virtq *vq, const struct virtq_chain *c)
{
    chain_unpin(vq, c);
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
