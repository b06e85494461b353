/* mem: guest-physical address space (RAM regions + MMIO windows). */
#include "mem/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/mem_int.h"
#include "util/util.h"

struct mem *mem_new(void)
{
    struct mem *m = calloc(1, sizeof(struct mem));
    if (m && mem_lease_init(m)) {
        free(m);
        return NULL;
    }
    return m;
}

static size_t pins_bytes(uint64_t size)
{
    return (size_t)(size >> MEM_PAGE_SHIFT) * sizeof(uint32_t);
}

void mem_free(struct mem *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nram; i++) {
        munmap(m->ram[i].host, m->ram[i].size);
        munmap((void *)m->ram[i].pins, pins_bytes(m->ram[i].size));
        free(m->ram[i].overlaid);
        free(m->ram[i].dirty);
    }
    free(m->ram);
    free(m->by_host);
    mem_lease_destroy(m);
    free(m);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static void mark_overlay(struct mem *m, uint64_t gpa, uint64_t size)
{
    for (int i = 0; i < m->nram; i++) {
        struct ram_region *r = &m->ram[i];
        if (!ranges_overlap(gpa, size, r->gpa, r->size))
            continue;
        uint64_t lo = MAX(gpa, r->gpa), hi = MIN(gpa + size, r->gpa + r->size);
        for (uint64_t p = (lo - r->gpa) >> MEM_PAGE_SHIFT;
             p <= (hi - 1 - r->gpa) >> MEM_PAGE_SHIFT; p++)
            r->overlaid[p] = 1;
    }
}

static int by_host_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)(*(struct ram_region *const *)a)->host;
    uintptr_t y = (uintptr_t)(*(struct ram_region *const *)b)->host;
    return x < y ? -1 : x > y;
}

/* Insert a region mapped at `host` (owned from now on, even on error). */
static int add_region(struct mem *m, uint64_t gpa, uint64_t size, void *host,
                      bool file_backed)
{
    uint64_t pages = size >> MEM_PAGE_SHIFT;
    uint8_t *ov = calloc(pages, 1);
    _Atomic uint64_t *dirty = calloc((pages + 63) / 64, sizeof(*dirty));
    void *pins = mmap(NULL, pins_bytes(size), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    struct ram_region **bh = realloc(m->by_host, (size_t)(m->nram + 1) * sizeof(*bh));
    if (bh)
        m->by_host = bh;
    if (m->nram == m->ram_cap && ov && dirty) {
        int cap = m->ram_cap ? m->ram_cap * 2 : 4;
        struct ram_region *nr = realloc(m->ram, (size_t)cap * sizeof(*nr));
        if (nr) {
            m->ram = nr;
            m->ram_cap = cap;
        }
    }
    if (!ov || !dirty || pins == MAP_FAILED || !bh || m->nram == m->ram_cap) {
        free(ov);
        free(dirty);
        if (pins != MAP_FAILED)
            munmap(pins, pins_bytes(size));
        munmap(host, size);
        return -ENOMEM;
    }
    int at = m->nram;
    while (at > 0 && m->ram[at - 1].gpa > gpa)
        at--;
    memmove(&m->ram[at + 1], &m->ram[at], (size_t)(m->nram - at) * sizeof(m->ram[0]));
    m->ram[at] = (struct ram_region){ gpa, size, host, ov, dirty, pins, file_backed, false };
    m->nram++;
    for (int i = 0; i < m->nram; i++)
        m->by_host[i] = &m->ram[i];
    qsort(m->by_host, (size_t)m->nram, sizeof(*m->by_host), by_host_cmp);
    for (int i = 0; i < m->nmmio; i++)
        mark_overlay(m, m->mmio[i].gpa, m->mmio[i].size);
    return 0;
}

static int check_new_ram(struct mem *m, uint64_t gpa, uint64_t size)
{
    if (!size || (gpa | size) & (MEM_PAGE_SIZE - 1) || gpa + size < gpa)
        return -EINVAL;
    for (int i = 0; i < m->nram; i++)
        if (ranges_overlap(gpa, size, m->ram[i].gpa, m->ram[i].size))
            return -EEXIST;
    if (m->nram == MEM_MAX_RAM_REGIONS)
        return -ENOSPC;
    return 0;
}

/* Anonymous guest RAM at a host address congruent to `gpa` modulo
 * MEM_HUGE_ALIGN, offered to the host's transparent huge pages
 * (MADV_HUGEPAGE; the host's default policy is commonly "madvise"): a
 * first touch then faults in 2 MiB at once instead of 4 KiB, which on a
 * host where a page fault is costly took about 7% off a Linux boot
 * (docs/mem.md "Huge pages"), and the host's TLB covers guest RAM with
 * far fewer entries.  Congruent, so that a guest's naturally aligned
 * 2 MiB block is one host huge page (free page reports discard whole
 * ones).  The over-reservation only moves the start; the slack is
 * unmapped at once.  Where the host has no THP, madvise fails and RAM
 * stays 4 KiB pages.  mem_discard turns the advice off again at the
 * first partial discard (lease.c). */
static void *ram_map_anon(uint64_t gpa, uint64_t size)
{
    size_t span = (size_t)size + MEM_HUGE_ALIGN;
    if (span < size)
        return MAP_FAILED;
    uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return MAP_FAILED;
    /* The least address at or above raw congruent to gpa: both are page
     * aligned, so the step is whole pages and below MEM_HUGE_ALIGN. */
    uint8_t *host = raw + ((gpa - (uintptr_t)raw) & (MEM_HUGE_ALIGN - 1));
    if (host > raw)
        munmap(raw, (size_t)(host - raw));
    if (raw + span > host + size)
        munmap(host + size, (size_t)(raw + span - (host + size)));
    (void)madvise(host, (size_t)size, MADV_HUGEPAGE);
    return host;
}

int mem_add_ram(struct mem *m, uint64_t gpa, uint64_t size)
{
    int r = check_new_ram(m, gpa, size);
    if (r)
        return r;
    void *host = ram_map_anon(gpa, size);
    if (host == MAP_FAILED)
        return -ENOMEM;
    return add_region(m, gpa, size, host, false);
}

int mem_add_ram_file(struct mem *m, uint64_t gpa, uint64_t size, int fd,
                     uint64_t offset)
{
    int r = check_new_ram(m, gpa, size);
    if (r)
        return r;
    if (offset & (MEM_PAGE_SIZE - 1) || offset + size < offset ||
        offset + size > (uint64_t)INT64_MAX)
        return -EINVAL;
    /* Copy-on-write: pages come from the file's page cache on first
     * access; the guest's writes stay in this mapping, never the file. */
    void *host = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_NORESERVE, fd, (off_t)offset);
    if (host == MAP_FAILED)
        return -errno;
    return add_region(m, gpa, size, host, true);
}

int mem_add_mmio(struct mem *m, uint64_t gpa, uint64_t size,
                 const struct mmio_ops *ops, void *opaque)
{
    if (!size || gpa + size < gpa || !ops)
        return -EINVAL;
    for (int i = 0; i < m->nmmio; i++)
        if (ranges_overlap(gpa, size, m->mmio[i].gpa, m->mmio[i].size))
            return -EEXIST;
    if (m->nmmio == MEM_MAX_MMIO)
        return -ENOSPC;
    m->mmio[m->nmmio++] = (struct mmio_region){ gpa, size, ops, opaque };
    mark_overlay(m, gpa, size);
    return 0;
}

/* Binary search, for boards with many regions (mem_region_of). */
struct ram_region *mem_region_search(struct mem *m, uint64_t gpa)
{
    int lo = 0, hi = m->nram;   /* first region with gpa > the address */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (m->ram[mid].gpa <= gpa)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return NULL;
    struct ram_region *r = &m->ram[lo - 1];
    return gpa - r->gpa < r->size ? r : NULL;
}

static struct mmio_region *find_mmio(struct mem *m, uint64_t gpa)
{
    for (int i = 0; i < m->nmmio; i++) {
        struct mmio_region *r = &m->mmio[i];
        if (gpa - r->gpa < r->size)
            return r;
    }
    return NULL;
}

/* A load first, so a page written again and again does not bounce the
 * bitmap's cache line between threads. */
void mem_region_dirty(struct ram_region *r, uint64_t gpa)
{
    uint64_t page = (gpa - r->gpa) >> MEM_PAGE_SHIFT;
    _Atomic uint64_t *w = &r->dirty[page / 64];
    uint64_t bit = 1ULL << (page % 64);
    if (!(atomic_load_explicit(w, memory_order_relaxed) & bit))
        atomic_fetch_or_explicit(w, bit, memory_order_relaxed);
}

/* RAM pointer regardless of overlays (internal); a write lookup marks the
 * page dirty. */
static uint8_t *ram_ptr(struct mem *m, uint64_t gpa, uint64_t *avail,
                        bool write)
{
    struct ram_region *r = mem_region_of(m, gpa);
    if (!r)
        return NULL;
    if (avail)
        *avail = MEM_PAGE_SIZE - (gpa & (MEM_PAGE_SIZE - 1));
    if (write)
        mem_region_dirty(r, gpa);
    return r->host + (gpa - r->gpa);
}

void *mem_gpa_to_hva(struct mem *m, uint64_t gpa, uint64_t *avail, bool write)
{
    struct ram_region *r = mem_region_of(m, gpa);
    if (!r || r->overlaid[(gpa - r->gpa) >> MEM_PAGE_SHIFT])
        return NULL;
    if (avail)
        *avail = MEM_PAGE_SIZE - (gpa & (MEM_PAGE_SIZE - 1));
    if (write)
        mem_region_dirty(r, gpa);
    return r->host + (gpa - r->gpa);
}

void mem_mark_dirty(struct mem *m, uint64_t gpa, uint64_t len)
{
    mem_note_write(m);
    while (len) {
        uint64_t avail;
        if (!ram_ptr(m, gpa, &avail, true))
            return;
        uint64_t n = MIN(avail, len);
        gpa += n;
        len -= n;
    }
}

bool mem_is_ram(struct mem *m, uint64_t gpa, uint64_t len)
{
    while (len) {
        uint64_t avail;
        if (!ram_ptr(m, gpa, &avail, false))
            return false;
        uint64_t n = MIN(avail, len);
        gpa += n;
        len -= n;
    }
    return true;
}

/* Copy page by page; `pin`: hold each page pinned while it is copied (a
 * thread the shootdown does not stop), else the caller is a vCPU. */
static int ram_copy(struct mem *m, uint64_t gpa, void *buf, size_t len, bool write,
                    bool pin)
{
    if (gpa + len < gpa || !mem_is_ram(m, gpa, len))
        return -EFAULT;
    uint8_t *b = buf;
    while (len) {
        struct ram_region *r = mem_region_of(m, gpa);
        uint64_t page = (gpa - r->gpa) >> MEM_PAGE_SHIFT;
        size_t n = MIN(MEM_PAGE_SIZE - (gpa & (MEM_PAGE_SIZE - 1)), len);
        uint8_t *p = r->host + (gpa - r->gpa);
        if (pin)
            mem_page_pin(m, r, page);
        if (write) {
            mem_region_dirty(r, gpa);
            memcpy(p, b, n);
        } else {
            memcpy(b, p, n);
        }
        if (pin)
            mem_page_unpin(r, page);
        gpa += n;
        b += n;
        len -= n;
    }
    return 0;
}

int mem_read(struct mem *m, uint64_t gpa, void *buf, size_t len)
{
    return ram_copy(m, gpa, buf, len, false, true);
}

int mem_write(struct mem *m, uint64_t gpa, const void *buf, size_t len)
{
    int rc = ram_copy(m, gpa, (void *)buf, len, true, true);
    mem_note_write(m);
    return rc;
}

int mem_cpu_read(struct mem *m, uint64_t gpa, void *buf, size_t len)
{
    return ram_copy(m, gpa, buf, len, false, false);
}

int mem_load(struct mem *m, uint64_t gpa, unsigned size, uint64_t *val)
{
    struct mmio_region *w = find_mmio(m, gpa);
    if (w) {
        if (gpa + size - w->gpa > w->size)
            return -EFAULT;
        *val = w->ops->read ? w->ops->read(w->opaque, gpa - w->gpa, size) : 0;
        return 0;
    }
    uint64_t v = 0;
    if (ram_copy(m, gpa, &v, size, false, false))
        return -EFAULT;
    *val = v; /* little-endian host assumed (x86-64, aarch64, riscv64) */
    return 0;
}

int mem_store(struct mem *m, uint64_t gpa, unsigned size, uint64_t val)
{
    struct mmio_region *w = find_mmio(m, gpa);
    if (w) {
        if (gpa + size - w->gpa > w->size)
            return -EFAULT;
        if (w->ops->write)
            w->ops->write(w->opaque, gpa - w->gpa, val, size);
        return 0;
    }
    return ram_copy(m, gpa, &val, size, true, false);
}

int mem_map_iovec(struct mem *m, uint64_t gpa, uint64_t len, bool write,
                  struct iovec *iov, int iov_max, int *iov_cnt)
{
    int n = 0, rc = -EFAULT;
    if (gpa + len < gpa)
        return -EFAULT;
    if (write)
        mem_note_write(m);
    struct ram_region *r = NULL;
    while (len) {
        /* Consecutive pages: the same region, mostly. */
        if (!r || gpa - r->gpa >= r->size)
            r = mem_region_of(m, gpa);
        if (!r)
            goto undo;
        uint8_t *p = r->host + (gpa - r->gpa);
        uint64_t chunk = MIN(MEM_PAGE_SIZE - (gpa & (MEM_PAGE_SIZE - 1)), len);
        bool merge = n && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == p;
        if (!merge && n == iov_max) {
            rc = -E2BIG;
            goto undo;
        }
        /* Each page once per call (consecutive guest pages), so that
         * mem_unpin_iovec can release by walking the iovecs' pages. */
        mem_page_pin(m, r, (gpa - r->gpa) >> MEM_PAGE_SHIFT);
        if (write)
            mem_region_dirty(r, gpa);
        if (merge) {
            iov[n - 1].iov_len += chunk;
        } else {
            iov[n].iov_base = p;
            iov[n].iov_len = chunk;
            n++;
        }
        gpa += chunk;
        len -= chunk;
    }
    *iov_cnt = n;
    return 0;
undo:
    mem_unpin_iovec(m, iov, n, false);
    return rc;
}

uint64_t mem_ram_size(const struct mem *m)
{
    uint64_t s = 0;
    for (int i = 0; i < m->nram; i++)
        s += m->ram[i].size;
    return s;
}

uint64_t mem_ram_resident(const struct mem *m)
{
    uint64_t total = 0;
    long hp = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < m->nram; i++) {
        const struct ram_region *r = &m->ram[i];
        size_t pages = (r->size + (uint64_t)hp - 1) / (uint64_t)hp;
        unsigned char *vec = malloc(pages);
        if (!vec)
            continue;
        if (!mincore(r->host, r->size, vec))
            for (size_t p = 0; p < pages; p++)
                total += (vec[p] & 1) ? (uint64_t)hp : 0;
        free(vec);
    }
    return total;
}

uint64_t mem_ram_base(const struct mem *m)
{
    return m->nram ? m->ram[0].gpa : 0;
}

int mem_ram_regions(const struct mem *m, struct mem_ram_info *out, int max)
{
    for (int i = 0; i < m->nram && i < max; i++)
        out[i] = (struct mem_ram_info){ m->ram[i].gpa, m->ram[i].size };
    return m->nram;
}

uint64_t mem_map_gen(const struct mem *m)
{
    return atomic_load_explicit(&m->map_gen, memory_order_acquire);
}

uint64_t mem_write_count(const struct mem *m)
{
    return atomic_load_explicit(&m->write_count, memory_order_acquire);
}

void mem_note_write(struct mem *m)
{
    atomic_fetch_add_explicit(&m->write_count, 1, memory_order_release);
}

int mem_dirty_fetch(struct mem *m, uint64_t gpa, uint64_t size,
                    uint64_t *bitmap, bool clear)
{
    if (!size || (gpa | size) & (MEM_PAGE_SIZE - 1) || gpa + size < gpa)
        return -EINVAL;
    struct ram_region *r = mem_region_of(m, gpa);
    if (!r || gpa + size - r->gpa > r->size)
        return -EINVAL;
    if (clear) {
        /* Revoke every write mapping with the world stopped: a store TLB
         * entry alive now was filled after the last clear (that clear
         * flushed the ones before), so its page's bit is still set and is
         * reported now; after the release a store needs a new write
         * lookup, which sets the bit again. */
        int rc = mem_world_stop(m);
        if (rc)
            return rc;
        atomic_fetch_add_explicit(&m->map_gen, 1, memory_order_acq_rel);
    }
    uint64_t first = (gpa - r->gpa) >> MEM_PAGE_SHIFT;
    uint64_t pages = size >> MEM_PAGE_SHIFT;
    memset(bitmap, 0, (size_t)((pages + 63) / 64) * sizeof(uint64_t));
    for (uint64_t i = 0; i < pages;) {
        uint64_t p = first + i;
        _Atomic uint64_t *w = &r->dirty[p / 64];
        unsigned sh = (unsigned)(p % 64);
        uint64_t n = MIN(64 - sh, pages - i);
        uint64_t mask = (n == 64 ? ~0ULL : ((1ULL << n) - 1)) << sh;
        uint64_t v = clear ? atomic_fetch_and_explicit(w, ~mask, memory_order_acq_rel)
                           : atomic_load_explicit(w, memory_order_acquire);
        uint64_t bits = (v & mask) >> sh;
        for (uint64_t k = 0; k < n; k++)
            if ((bits >> k) & 1)
                bitmap[(i + k) / 64] |= 1ULL << ((i + k) % 64);
        i += n;
    }
    if (clear)
        mem_world_release(m);
    return 0;
}

int mem_ram_populated(struct mem *m, uint64_t gpa, uint64_t size,
                      uint64_t *bitmap)
{
    if (!size || (gpa | size) & (MEM_PAGE_SIZE - 1) || gpa + size < gpa)
        return -EINVAL;
    struct ram_region *r = mem_region_of(m, gpa);
    if (!r || gpa + size - r->gpa > r->size)
        return -EINVAL;
    uint64_t pages = size >> MEM_PAGE_SHIFT;
    size_t words = (size_t)((pages + 63) / 64);
    if (r->file_backed || sysconf(_SC_PAGESIZE) != (long)MEM_PAGE_SIZE) {
        memset(bitmap, 0xff, words * sizeof(uint64_t));   /* conservative */
        return 0;
    }
    memset(bitmap, 0, words * sizeof(uint64_t));
    /* /proc/self/pagemap: one u64 per host page, bit 63 present, bit 62
     * swapped (Documentation/admin-guide/mm/pagemap.rst).  A page neither
     * present nor swapped was never written: it reads as zeros. */
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        memset(bitmap, 0xff, words * sizeof(uint64_t));
        return 0;
    }
    uintptr_t va = (uintptr_t)(r->host + (gpa - r->gpa));
    uint64_t buf[512];
    for (uint64_t done = 0; done < pages;) {
        uint64_t n = MIN(pages - done, 512);
        off_t off = (off_t)((va >> MEM_PAGE_SHIFT) + done) * 8;
        ssize_t got = pread(fd, buf, (size_t)n * 8, off);
        if (got != (ssize_t)(n * 8)) {
            memset(bitmap, 0xff, words * sizeof(uint64_t));
            break;
        }
        for (uint64_t k = 0; k < n; k++)
            if (buf[k] & (3ULL << 62))
                bitmap[(done + k) / 64] |= 1ULL << ((done + k) % 64);
        done += n;
    }
    close(fd);
    return 0;
}

int mem_ram_map_file(struct mem *m, uint64_t gpa, uint64_t size, int fd,
                     uint64_t offset)
{
    struct ram_region *r = mem_region_of(m, gpa);
    if (!r || !size || (gpa | size | offset) & (MEM_PAGE_SIZE - 1) ||
        gpa + size < gpa || gpa + size - r->gpa > r->size ||
        offset + size < offset || offset + size > (uint64_t)INT64_MAX)
        return -EINVAL;
    /* Same host addresses, new backing: nothing that kept a pointer into
     * the region (a TLB, a decoded page) points at freed memory, and the
     * caller guarantees no hart runs (a VM that never ran, or paused).
     * A range inside the region (a diff snapshot's run of pages) splits
     * its mapping; the rest keeps its backing. */
    void *host = mmap(r->host + (gpa - r->gpa), size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_NORESERVE | MAP_FIXED, fd, (off_t)offset);
    if (host == MAP_FAILED)
        return -errno;
    r->file_backed = true;
    uint64_t first = (gpa - r->gpa) >> MEM_PAGE_SHIFT, pages = size >> MEM_PAGE_SHIFT;
    for (uint64_t i = 0; i < pages;) {
        uint64_t p = first + i;
        unsigned sh = (unsigned)(p % 64);
        uint64_t n = MIN(64 - sh, pages - i);
        uint64_t mask = (n == 64 ? ~0ULL : ((1ULL << n) - 1)) << sh;
        atomic_fetch_and_explicit(&r->dirty[p / 64], ~mask, memory_order_relaxed);
        i += n;
    }
    atomic_fetch_add_explicit(&m->map_gen, 1, memory_order_acq_rel);
    return 0;
}
