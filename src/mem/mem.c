/* mem: guest-physical address space (RAM regions + MMIO windows). */
#include "mem/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/util.h"

#define MEM_MAX_RAM  8
#define MEM_MAX_MMIO 64

struct ram_region {
    uint64_t gpa, size;
    uint8_t *host;          /* mmap'd, owned */
    uint8_t *overlaid;      /* one byte per page: 1 = a window lies over it */
};

struct mmio_region {
    uint64_t gpa, size;
    const struct mmio_ops *ops;
    void *opaque;
};

struct mem {
    struct ram_region ram[MEM_MAX_RAM];
    int nram;
    struct mmio_region mmio[MEM_MAX_MMIO];
    int nmmio;
};

struct mem *mem_new(void)
{
    return calloc(1, sizeof(struct mem));
}

void mem_free(struct mem *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nram; i++) {
        munmap(m->ram[i].host, m->ram[i].size);
        free(m->ram[i].overlaid);
    }
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

int mem_add_ram(struct mem *m, uint64_t gpa, uint64_t size)
{
    if (!size || (gpa | size) & (MEM_PAGE_SIZE - 1) || gpa + size < gpa)
        return -EINVAL;
    for (int i = 0; i < m->nram; i++)
        if (ranges_overlap(gpa, size, m->ram[i].gpa, m->ram[i].size))
            return -EEXIST;
    if (m->nram == MEM_MAX_RAM)
        return -ENOSPC;
    void *host = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (host == MAP_FAILED)
        return -ENOMEM;
    uint8_t *ov = calloc(size >> MEM_PAGE_SHIFT, 1);
    if (!ov) {
        munmap(host, size);
        return -ENOMEM;
    }
    struct ram_region *r = &m->ram[m->nram++];
    *r = (struct ram_region){ gpa, size, host, ov };
    for (int i = 0; i < m->nmmio; i++)
        mark_overlay(m, m->mmio[i].gpa, m->mmio[i].size);
    return 0;
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

static struct ram_region *find_ram(struct mem *m, uint64_t gpa)
{
    for (int i = 0; i < m->nram; i++) {
        struct ram_region *r = &m->ram[i];
        if (gpa - r->gpa < r->size)
            return r;
    }
    return NULL;
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

/* RAM pointer regardless of overlays (internal). */
static uint8_t *ram_ptr(struct mem *m, uint64_t gpa, uint64_t *avail)
{
    struct ram_region *r = find_ram(m, gpa);
    if (!r)
        return NULL;
    if (avail)
        *avail = MEM_PAGE_SIZE - (gpa & (MEM_PAGE_SIZE - 1));
    return r->host + (gpa - r->gpa);
}

void *mem_gpa_to_hva(struct mem *m, uint64_t gpa, uint64_t *avail)
{
    struct ram_region *r = find_ram(m, gpa);
    if (!r || r->overlaid[(gpa - r->gpa) >> MEM_PAGE_SHIFT])
        return NULL;
    if (avail)
        *avail = MEM_PAGE_SIZE - (gpa & (MEM_PAGE_SIZE - 1));
    return r->host + (gpa - r->gpa);
}

bool mem_is_ram(struct mem *m, uint64_t gpa, uint64_t len)
{
    while (len) {
        uint64_t avail;
        if (!ram_ptr(m, gpa, &avail))
            return false;
        uint64_t n = MIN(avail, len);
        gpa += n;
        len -= n;
    }
    return true;
}

static int ram_copy(struct mem *m, uint64_t gpa, void *buf, size_t len, bool write)
{
    if (gpa + len < gpa || !mem_is_ram(m, gpa, len))
        return -EFAULT;
    uint8_t *b = buf;
    while (len) {
        uint64_t avail = 0;
        uint8_t *p = ram_ptr(m, gpa, &avail);
        size_t n = MIN(avail, len);
        if (write)
            memcpy(p, b, n);
        else
            memcpy(b, p, n);
        gpa += n;
        b += n;
        len -= n;
    }
    return 0;
}

int mem_read(struct mem *m, uint64_t gpa, void *buf, size_t len)
{
    return ram_copy(m, gpa, buf, len, false);
}

int mem_write(struct mem *m, uint64_t gpa, const void *buf, size_t len)
{
    return ram_copy(m, gpa, (void *)buf, len, true);
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
    if (ram_copy(m, gpa, &v, size, false))
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
    return ram_copy(m, gpa, &val, size, true);
}

int mem_map_iovec(struct mem *m, uint64_t gpa, uint64_t len,
                  struct iovec *iov, int iov_max, int *iov_cnt)
{
    int n = 0;
    if (gpa + len < gpa)
        return -EFAULT;
    while (len) {
        uint64_t avail;
        uint8_t *p = ram_ptr(m, gpa, &avail);
        if (!p)
            return -EFAULT;
        uint64_t chunk = MIN(avail, len);
        if (n && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == p) {
            iov[n - 1].iov_len += chunk;
        } else {
            if (n == iov_max)
                return -E2BIG;
            iov[n].iov_base = p;
            iov[n].iov_len = chunk;
            n++;
        }
        gpa += chunk;
        len -= chunk;
    }
    *iov_cnt = n;
    return 0;
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
    uint64_t b = UINT64_MAX;
    for (int i = 0; i < m->nram; i++)
        b = MIN(b, m->ram[i].gpa);
    return m->nram ? b : 0;
}
