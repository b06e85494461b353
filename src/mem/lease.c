/* mem: leases on guest RAM, and memory operations with the world stopped
 * (the contract is in mem.h).
 *
 * Why an operation may change a page under a running VM:
 *  - vCPUs reach RAM through pointers they cached (TLB entries, the LR/SC
 *    reservation) without a pin.  The shootdown's STOP parks every one
 *    of them outside its run slice; before its next slice each sees the
 *    new map generation and drops those pointers (cpu/riscv hart_run).
 *  - Every other thread reaches RAM only pinned: DMA iovecs for the life
 *    of a request, ring fields and copies for one access.  A pin is one
 *    atomic increment of the page's count.  The operation claims a page
 *    by turning its count from 0 to MEM_PIN_MOVING: a pin taken before
 *    makes the claim fail (-EBUSY: the request is in flight), a pin taken
 *    after sees the bit and waits for the claim to end.  The two are one
 *    atomic location, so there is no window between check and claim.
 * Ordering: an unpin is a release and the claim an acquire, so the
 * operation copies what the device wrote; the end of the claim is a
 * release and a pin an acquire, so a device sees the new page. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/mem_int.h"
#include "util/util.h"

int mem_lease_init(struct mem *m)
{
    if (pthread_mutex_init(&m->op_lock, NULL))
        return -ENOMEM;
    if (pthread_mutex_init(&m->move_lock, NULL))
        goto no_move_lock;
    if (pthread_cond_init(&m->move_cond, NULL))
        goto no_cond;
    return 0;
no_cond:
    pthread_mutex_destroy(&m->move_lock);
no_move_lock:
    pthread_mutex_destroy(&m->op_lock);
    return -ENOMEM;
}

void mem_lease_destroy(struct mem *m)
{
    pthread_cond_destroy(&m->move_cond);
    pthread_mutex_destroy(&m->move_lock);
    pthread_mutex_destroy(&m->op_lock);
}

/* ---- pins ---- */

void mem_page_pin(struct mem *m, struct ram_region *r, uint64_t page)
{
    _Atomic uint32_t *c = &r->pins[page];
    for (;;) {
        uint32_t old = atomic_fetch_add_explicit(c, 1, memory_order_acquire);
        if (likely(!(old & MEM_PIN_MOVING)))
            return;
        /* The page is being changed: step back and wait until it is done
         * (the mover holds no lock we could hold, and waits for nobody). */
        atomic_fetch_sub_explicit(c, 1, memory_order_relaxed);
        pthread_mutex_lock(&m->move_lock);
        while (atomic_load_explicit(c, memory_order_acquire) & MEM_PIN_MOVING)
            pthread_cond_wait(&m->move_cond, &m->move_lock);
        pthread_mutex_unlock(&m->move_lock);
    }
}

/* The region whose host mapping holds p, or NULL. */
static struct ram_region *region_of_host(struct mem *m, uintptr_t p)
{
    int lo = 0, hi = m->nram;   /* first region mapped above p */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if ((uintptr_t)m->by_host[mid]->host <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return NULL;
    struct ram_region *r = m->by_host[lo - 1];
    return p - (uintptr_t)r->host < r->size ? r : NULL;
}

/* Unpin the pages of [p, end) (p page aligned), looking a region up only
 * when the range leaves the last one. */
static void unpin_host(struct mem *m, uintptr_t p, uintptr_t end, bool written)
{
    struct ram_region *r = NULL;
    for (; p < end; p += MEM_PAGE_SIZE) {
        if (!r || p - (uintptr_t)r->host >= r->size)
            r = region_of_host(m, p);
        if (!r)
            continue;
        uint64_t page = (p - (uintptr_t)r->host) >> MEM_PAGE_SHIFT;
        if (written)
            mem_region_dirty(r, r->gpa + (page << MEM_PAGE_SHIFT));
        mem_page_unpin(r, page);
    }
}

void *mem_pin(struct mem *m, uint64_t gpa, uint64_t *avail, bool write)
{
    struct ram_region *r = mem_region_of(m, gpa);
    if (!r)
        return NULL;
    mem_page_pin(m, r, (gpa - r->gpa) >> MEM_PAGE_SHIFT);
    if (write)
        mem_region_dirty(r, gpa);
    if (avail)
        *avail = MEM_PAGE_SIZE - (gpa & (MEM_PAGE_SIZE - 1));
    return r->host + (gpa - r->gpa);
}

void mem_unpin(struct mem *m, const void *hva, bool written)
{
    if (written)
        mem_note_write(m);
    uintptr_t p = (uintptr_t)hva & MEM_PAGE_MASK;
    unpin_host(m, p, p + 1, written);
}

void mem_unpin_iovec(struct mem *m, const struct iovec *iov, int n, bool written)
{
    if (written)
        mem_note_write(m);
    for (int k = 0; k < n; k++) {
        if (!iov[k].iov_len)
            continue;
        /* Host mappings are page aligned, so the iovec's host pages are
         * the guest pages mem_map_iovec pinned, one pin each. */
        unpin_host(m, (uintptr_t)iov[k].iov_base & MEM_PAGE_MASK,
                   (uintptr_t)iov[k].iov_base + iov[k].iov_len, written);
    }
}

/* ---- memory operations ---- */

void mem_set_shootdown(struct mem *m,
                       int (*fn)(void *opaque, enum mem_shootdown_phase phase),
                       void *opaque)
{
    pthread_mutex_lock(&m->op_lock);
    m->shootdown = fn;
    m->shootdown_opaque = opaque;
    pthread_mutex_unlock(&m->op_lock);
}

int mem_world_stop(struct mem *m)
{
    pthread_mutex_lock(&m->op_lock);
    int rc = m->shootdown ? m->shootdown(m->shootdown_opaque, MEM_SHOOTDOWN_STOP) : 0;
    if (rc)
        pthread_mutex_unlock(&m->op_lock);
    return rc;
}

void mem_world_release(struct mem *m)
{
    if (m->shootdown)
        (void)m->shootdown(m->shootdown_opaque, MEM_SHOOTDOWN_RELEASE);
    pthread_mutex_unlock(&m->op_lock);
}

/* Claim page `c` for a change: 0 -> MEM_PIN_MOVING.  False when pinned. */
static bool claim(_Atomic uint32_t *c)
{
    uint32_t zero = 0;
    return atomic_compare_exchange_strong_explicit(c, &zero, MEM_PIN_MOVING,
                                                   memory_order_acquire,
                                                   memory_order_relaxed);
}

/* End the claim and wake the pinners waiting for it. */
static void unclaim(struct mem *m, _Atomic uint32_t *c)
{
    pthread_mutex_lock(&m->move_lock);
    atomic_fetch_and_explicit(c, ~MEM_PIN_MOVING, memory_order_release);
    pthread_cond_broadcast(&m->move_cond);
    pthread_mutex_unlock(&m->move_lock);
}

/* Give the page at p fresh host memory with the same bytes: copy them
 * out, hand the page back to the kernel (the next touch gets a new one:
 * zero-filled for anonymous memory, the file's page for a file-backed
 * region), copy them back.  The host address stays, and the region's
 * mapping is not split (a MAP_FIXED page per replacement would leave one
 * mapping per page ever replaced, up to the host's map limit). */
static int rebacking(uint8_t *p)
{
    uint8_t save[MEM_PAGE_SIZE];
    memcpy(save, p, sizeof(save));
    if (madvise(p, MEM_PAGE_SIZE, MADV_DONTNEED))
        return -errno;
    memcpy(p, save, sizeof(save));
    return 0;
}

int mem_replace_page(struct mem *m, uint64_t gpa)
{
    if (gpa & (MEM_PAGE_SIZE - 1))
        return -EINVAL;
    struct ram_region *r = mem_region_of(m, gpa);
    if (!r)
        return -EINVAL;
    if (sysconf(_SC_PAGESIZE) != (long)MEM_PAGE_SIZE)
        return -EOPNOTSUPP;
    uint64_t page = (gpa - r->gpa) >> MEM_PAGE_SHIFT;
    _Atomic uint32_t *c = &r->pins[page];
    /* In flight: refuse before stopping anybody (the claim decides). */
    if (atomic_load_explicit(c, memory_order_relaxed))
        return -EBUSY;
    int rc = mem_world_stop(m);
    if (rc)
        return rc;
    if (!claim(c)) {
        rc = -EBUSY;
    } else {
        rc = rebacking(r->host + (page << MEM_PAGE_SHIFT));
        if (!rc)
            atomic_fetch_add_explicit(&m->map_gen, 1, memory_order_acq_rel);
        unclaim(m, c);
    }
    mem_world_release(m);
    return rc;
}

/* ------------------------------------------------------------ discard */

/* Not a memory operation: the host mapping stays where it is (the pages
 * are only dropped, MADV_DONTNEED), so every lease a vCPU or a device
 * holds still points at mapped memory; a racing access reads zeros (or,
 * on a file-backed region, the file's bytes) or faults in a fresh page.
 * Which of those the guest sees is the guest's business: it only gives
 * pages it does not use.  The pages are marked dirty because their
 * contents changed: a diff snapshot then records them (as zero pages,
 * which cost a bit, not a write), so a restore stays exact. */
static int discard_range(struct mem *m, struct ram_region *r, uint64_t off, uint64_t len)
{
    /* madvise rounds the length up to whole host pages: on a host with
     * larger pages it would drop guest pages next to the range too. */
    if (sysconf(_SC_PAGESIZE) != (long)MEM_PAGE_SIZE)
        return -EOPNOTSUPP;
    /* Dropping part of a 2 MiB block leaves a huge page partly mapped,
     * and the host's khugepaged collapses such a range of an
     * MADV_HUGEPAGE region back into a whole huge page, zero-filling the
     * holes: a balloon's scattered 4 KiB pages would be host memory
     * again within minutes.  So the first partial discard turns the
     * advice off for the whole region (one call; huge pages already
     * there stay until split).  Whole aligned blocks (free page reports)
     * leave nothing to collapse. */
    uintptr_t lo = (uintptr_t)(r->host + off), hi = lo + len;
    if (((lo | hi) & (MEM_HUGE_ALIGN - 1)) && !atomic_exchange(&r->small_pages, true))
        (void)madvise(r->host, r->size, MADV_NOHUGEPAGE);
    if (madvise(r->host + off, len, MADV_DONTNEED) < 0)
        return -errno;
    for (uint64_t p = off; p < off + len; p += MEM_PAGE_SIZE)
        mem_region_dirty(r, r->gpa + p);
    (void)m;
    return 0;
}

int mem_discard(struct mem *m, uint64_t gpa, uint64_t len)
{
    if ((gpa | len) & (MEM_PAGE_SIZE - 1) || gpa + len < gpa)
        return -EINVAL;
    if (!len)
        return 0;
    struct ram_region *r = mem_region_of(m, gpa);
    if (!r || gpa + len - r->gpa > r->size)
        return -EINVAL;
    return discard_range(m, r, gpa - r->gpa, len);
}

int mem_discard_iovec(struct mem *m, const struct iovec *iov, int n, uint64_t *discarded)
{
    uint64_t done = 0;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        uintptr_t p = (uintptr_t)iov[i].iov_base, len = iov[i].iov_len;
        struct ram_region *r = len ? region_of_host(m, p) : NULL;
        if (!r || p + len < p || p + len - (uintptr_t)r->host > r->size) {
            rc = -EINVAL;
            break;
        }
        /* Whole pages only: a partial page may hold bytes still in use. */
        uint64_t off = p - (uintptr_t)r->host;
        uint64_t first = (off + MEM_PAGE_SIZE - 1) & MEM_PAGE_MASK;
        uint64_t end = (off + len) & MEM_PAGE_MASK;
        if (end > first) {
            rc = discard_range(m, r, first, end - first);
            if (!rc)
                done += end - first;
        }
    }
    if (discarded)
        *discarded = done;
    return rc;
}
