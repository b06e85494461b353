/* mem internals shared by mem.c (regions, lookups, copies, the dirty log)
 * and lease.c (pins, the shootdown, memory operations).  Not part of the
 * module's API (mem.h). */
#ifndef VESSEL_MEM_INT_H
#define VESSEL_MEM_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem/mem.h"

#define MEM_MAX_MMIO 64

/* A pin count's top bit: a memory operation is changing the page now.
 * Set (from 0) only while the world is stopped and nothing pins the
 * page; a pinner that finds it waits on move_cond. */
#define MEM_PIN_MOVING (1u << 31)

struct ram_region {
    uint64_t gpa, size;
    uint8_t *host;          /* mmap'd, owned; never moves */
    uint8_t *overlaid;      /* one byte per page: 1 = a window lies over it */
    /* Dirty log: one bit per page, set by every write lookup and write
     * copy, fetched and cleared by mem_dirty_fetch.  Atomic because vCPU
     * threads, device threads and the fetcher touch it at once. */
    _Atomic uint64_t *dirty;
    /* Pins: one count per page (mmap'd, lazily backed: only pages that
     * were ever pinned cost host memory), plus MEM_PIN_MOVING.  The
     * number of pins on a page is bounded by the descriptors a guest can
     * have in flight, far below the moving bit. */
    _Atomic uint32_t *pins;
    bool file_backed;       /* mem_add_ram_file: contents may live in the file */
    /* Set at the first discard of part of a 2 MiB block, when the region
     * was advised MADV_NOHUGEPAGE (lease.c discard_range). */
    atomic_bool small_pages;
};

struct mmio_region {
    uint64_t gpa, size;
    const struct mmio_ops *ops;
    void *opaque;
};

struct mem {
    /* Sorted by gpa; grown while the VM is built (MEM_MAX_RAM_REGIONS),
     * read-only afterwards.  by_host: the same regions by host address,
     * for unpinning by pointer. */
    struct ram_region *ram;
    struct ram_region **by_host;
    int nram, ram_cap;
    struct mmio_region mmio[MEM_MAX_MMIO];
    int nmmio;
    /* Moved by every memory operation; harts compare it at slice
     * boundaries (mem_map_gen). */
    _Atomic uint64_t map_gen;
    /* Moved by every write to RAM that is not a vCPU's own store
     * (mem_write_count). */
    _Atomic uint64_t write_count;
    /* Locks, in order: op_lock (one memory operation at a time, and the
     * shootdown's registration), then the callback's own; move_lock is a
     * leaf (pinners wait on move_cond for MEM_PIN_MOVING to clear). */
    pthread_mutex_t op_lock;
    pthread_mutex_t move_lock;
    pthread_cond_t move_cond;
    int (*shootdown)(void *opaque, enum mem_shootdown_phase phase);
    void *shootdown_opaque;
};

/* The region holding gpa, or NULL. (mem.c) */
struct ram_region *mem_region_search(struct mem *m, uint64_t gpa);
/* Inline for the usual board's few regions: every CPU RAM access that
 * misses the TLB and every device lookup comes here. */
static inline struct ram_region *mem_region_of(struct mem *m, uint64_t gpa)
{
    if (m->nram <= 4) {
        for (int i = 0; i < m->nram; i++) {
            struct ram_region *r = &m->ram[i];
            if (gpa - r->gpa < r->size)
                return r;
        }
        return NULL;
    }
    return mem_region_search(m, gpa);
}
/* Set the dirty bit of the page holding gpa (inside r). (mem.c) */
void mem_region_dirty(struct ram_region *r, uint64_t gpa);

/* Pin / unpin page number `page` of r. (lease.c) */
void mem_page_pin(struct mem *m, struct ram_region *r, uint64_t page);
static inline void mem_page_unpin(struct ram_region *r, uint64_t page)
{
    atomic_fetch_sub_explicit(&r->pins[page], 1, memory_order_release);
}
/* Begin a memory operation: take op_lock and stop the world (the
 * shootdown's STOP); on its error, nothing held and the error returned.
 * End it: RELEASE, drop op_lock. (lease.c) */
int mem_world_stop(struct mem *m);
void mem_world_release(struct mem *m);
/* Lease state of a new address space / its teardown. (lease.c) */
int mem_lease_init(struct mem *m);
void mem_lease_destroy(struct mem *m);

#endif
