/* cpu/riscv: the per-hart cache of decoded instructions.
 *
 * One struct dpage per physical page that has been executed, holding a
 * decoded slot for every halfword.  Slots are decoded lazily, the first
 * time they execute (a zero slot is OP_DECODE), so a page costs host
 * memory only for the parts that run: the dpages live in an mmap'd arena
 * whose untouched parts are never backed.
 *
 * Coherence (Unprivileged ISA, "Zifencei"): FENCE.I drops the whole cache.
 * Stores by this hart to a page it has decoded go through the slow path
 * (the write TLB never maps such a page) and clear the slots they overlap,
 * so self-modifying code works even without FENCE.I.  Other harts' stores
 * and device DMA become visible at this hart's next FENCE.I, which is what
 * the ISA requires of software. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/riscv/hart_internal.h"

static unsigned dhash(uint64_t paddr)
{
    uint64_t p = paddr >> 12;
    return (unsigned)((p ^ (p >> 12)) & (DHASH_SIZE - 1));
}

int dcache_init(struct hart *h)
{
    size_t bytes = (size_t)DARENA_PAGES * sizeof(struct dpage);
    void *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (a == MAP_FAILED)
        return -1;
    h->arena = a;
    h->arena_pages = DARENA_PAGES;
    h->arena_used = 0;
    h->dhash = calloc(DHASH_SIZE, sizeof(*h->dhash));
    if (!h->dhash) {
        munmap(a, bytes);
        return -1;
    }
    return 0;
}

void dcache_destroy(struct hart *h)
{
    if (h->arena)
        munmap(h->arena, (size_t)h->arena_pages * sizeof(struct dpage));
    free(h->dhash);
    h->arena = NULL;
    h->dhash = NULL;
}

/* Forget every fetch-TLB entry (they point into the arena). */
static void itlb_flush(struct hart *h)
{
    for (int m = 0; m < 3; m++)
        for (int i = 0; i < TLB_SIZE; i++)
            h->tlb[m].e[ACC_FETCH][i].vtag = ~0ULL;
}

void dcache_flush(struct hart *h)
{
    if (!h->arena_used)
        return;
    /* Give the used part back to the kernel: it reads as zeros again,
     * i.e. every slot becomes OP_DECODE. */
    madvise(h->arena, (size_t)h->arena_used * sizeof(struct dpage), MADV_DONTNEED);
    h->arena_used = 0;
    memset(h->dhash, 0, DHASH_SIZE * sizeof(*h->dhash));
    itlb_flush(h);
    /* The write TLB may now map pages that were code: nothing to do, they
     * are plain data again. */
}

static struct dpage *dcache_lookup(struct hart *h, uint64_t ppage)
{
    for (struct dpage *d = h->dhash[dhash(ppage)]; d; d = d->hash_next)
        if (d->paddr == ppage)
            return d;
    return NULL;
}

bool dcache_is_code(struct hart *h, uint64_t ppage)
{
    return h->arena_used && dcache_lookup(h, ppage) != NULL;
}

/* Remove write-TLB entries that map physical page `ppage`, so stores to
 * it take the slow path and invalidate decoded slots. */
static void wtlb_evict(struct hart *h, uint64_t ppage)
{
    for (int m = 0; m < 3; m++) {
        struct tlb_entry *e = h->tlb[m].e[ACC_STORE];
        for (int i = 0; i < TLB_SIZE; i++)
            if (e[i].vtag != ~0ULL && e[i].ppage == ppage)
                e[i].vtag = ~0ULL;
    }
}

static struct dpage *dcache_get(struct hart *h, uint64_t ppage)
{
    struct dpage *d = dcache_lookup(h, ppage);
    if (d)
        return d;
    if (h->arena_used == h->arena_pages)
        dcache_flush(h);   /* full: start over (rare; like a TB flush) */
    d = &h->arena[h->arena_used++];
    d->paddr = ppage;
    unsigned b = dhash(ppage);
    d->hash_next = h->dhash[b];
    h->dhash[b] = d;
    wtlb_evict(h, ppage);
    return d;
}

int dcache_fetch_page(struct hart *h, uint64_t vaddr, struct dpage **out)
{
    uint64_t pa;
    int c = mmu_translate(h, vaddr, ACC_FETCH, &pa);
    if (c) {
        h->exc_tval = vaddr;
        return c;
    }
    uint64_t ppage = pa & ~0xfffULL;
    if (!mem_is_ram(h->mem, ppage, 4096) ||
        !pmp_allows(h, pa, 2, ACC_FETCH, h->priv)) {
        h->exc_tval = vaddr;
        return EXC_INSN_ACCESS;
    }
    struct dpage *d = dcache_get(h, ppage);
    /* Cache the translation only when PMP allows the whole page: then
     * every fetch in it would pass. */
    if (pmp_allows(h, ppage, 4096, ACC_FETCH, h->priv)) {
        struct tlb_entry *e = &h->itlb->e[ACC_FETCH][(vaddr >> 12) & (TLB_SIZE - 1)];
        e->vtag = vaddr >> 12;
        e->ppage = ppage;
        e->dp = d;
    }
    *out = d;
    return 0;
}

void dcache_decode_slot(struct hart *h, struct dpage *d, unsigned off)
{
    struct insn *s = &d->insn[off >> 1];
    uint64_t lo = 0, hi = 0;
    if (off >= 4096) {
        /* The sentinel: execution ran off the end of the page. */
        memset(s, 0, sizeof(*s));
        s->op = OP_CROSS_END;
        return;
    }
    mem_load(h->mem, d->paddr + off, 2, &lo);
    if ((lo & 3) != 3) {
        rv_decode((uint32_t)lo, s);
        return;
    }
    if (off == 4094) {
        /* The upper half lives on the next virtual page. */
        memset(s, 0, sizeof(*s));
        s->op = OP_CROSS;
        s->raw = (uint32_t)lo;
        s->len = 2;
        return;
    }
    mem_load(h->mem, d->paddr + off + 2, 2, &hi);
    rv_decode((uint32_t)(lo | hi << 16), s);
}

/* A store of `size` bytes at physical `pa` by this hart: clear every slot
 * whose instruction bytes it may overlap (a 32-bit instruction starting
 * two bytes before the store overlaps it too). */
void dcache_store_hit(struct hart *h, uint64_t pa, unsigned size)
{
    uint64_t first = (pa & ~1ULL) - 2, last = pa + size - 1;
    for (uint64_t a = first; a <= last; a += 2) {
        struct dpage *d = dcache_lookup(h, a & ~0xfffULL);
        if (d)
            memset(&d->insn[(a & 0xfff) >> 1], 0, sizeof(struct insn));
    }
}
