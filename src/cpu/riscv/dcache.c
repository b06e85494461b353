/* cpu/riscv: the per-hart cache of decoded instructions.
 *
 * One struct dpage per physical page that has been executed, holding a
 * decoded slot for every halfword.  Slots are decoded lazily, the first
 * time they execute (a zero slot is OP_DECODE), so a page costs host
 * memory only for the parts that run: the dpages live in an mmap'd arena
 * whose untouched parts are never backed.
 *
 * Coherence (Unprivileged ISA, "Zifencei"): each dpage keeps a snapshot of
 * the page's bytes and slots decode from it.  A published page only ever
 * changes by a slot being decoded or a block being published in it: a
 * store by this hart to a page it has decoded goes through the slow path
 * (the write TLB never maps such a page) and retires the page, and the
 * next fetch decodes the new bytes into a fresh one, so self-modifying
 * code works even without FENCE.I.  FENCE.I bumps a generation: each page
 * is compared with memory on its next use and retired only if it
 * changed.  So other harts' stores and device DMA become visible at this
 * hart's next FENCE.I, as the ISA requires.  A memory operation (mem.h: a
 * page given new backing, possibly new bytes) bumps the generation the
 * same way at the hart's next slice (hart_run), so no page runs from
 * bytes it no longer holds.  A retired page leaves the hash at once but is
 * reused only at a refetch or between slices (dcache_retire), when
 * nothing runs from it any more.
 *
 * Replacement: when the arena is full a page is evicted by CLOCK (second
 * chance).  A page's ref bit is set whenever a fetch-TLB miss lands on it;
 * the hand clears it and also drops the page's fetch-TLB entries, so a page
 * still in use misses once more and sets it again before the hand is back.
 * Evicting one cold page keeps the hot set decoded and translated, where a
 * whole-cache reset made every hot block count up to JIT_HOT again.
 *
 * Pages that held code and now hold data: the kernel frees a page of an
 * exited program's text or of its own init code and hands it out again as
 * data.  Its first store retires it, and its stores run from the write
 * TLB from then on; if it still holds code, its next fetch decodes it
 * afresh. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"

static unsigned dhash(uint64_t paddr)
{
    uint64_t p = paddr >> 12;
    return (unsigned)((p ^ (p >> 12)) & (DHASH_SIZE - 1));
}

/* The arena's mapping: whole 2 MiB huge pages. */
#define ARENA_HUGE (2ULL << 20)
_Static_assert(DARENA_BYTES % ARENA_HUGE == 0, "the arena is whole huge pages");

int dcache_init(struct hart *h)
{
    /* Mapped 2 MiB-aligned and advised MADV_HUGEPAGE: the arena is the
     * most scattered memory a hart touches (a slot line at every block
     * entry, ten 4 KiB pages per dpage).  On 4 KiB pages a busybox boot
     * took some 11,000 host page faults in it and a host TLB miss at
     * most block entries; on huge pages it reaches its marker about 15%
     * sooner (docs/cpu.md), for the whole arena resident once used. */
    size_t bytes = DARENA_BYTES;
    uint8_t *raw = mmap(NULL, bytes + ARENA_HUGE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return -1;
    uint8_t *a = (uint8_t *)(((uintptr_t)raw + ARENA_HUGE - 1) & ~(uintptr_t)(ARENA_HUGE - 1));
    if (a != raw)
        munmap(raw, (size_t)(a - raw));
    munmap(a + bytes, (size_t)(raw + ARENA_HUGE - a));
    (void)madvise(a, bytes, MADV_HUGEPAGE);   /* a hint: fine without */
    h->arena = (struct dpage *)a;
    h->arena_pages = DARENA_PAGES;
    h->arena_used = 0;
    h->dhash = calloc(DHASH_SIZE, sizeof(*h->dhash));
    if (!h->dhash) {
        munmap(a, bytes);
        h->arena = NULL;
        return -1;
    }
    return 0;
}

void dcache_destroy(struct hart *h)
{
    if (h->arena)
        munmap(h->arena, DARENA_BYTES);
    free(h->dhash);
    h->arena = NULL;
    h->dhash = NULL;
}

/* Forget every fetch-TLB entry (they point into the arena).  A set not
 * used since its last flush holds none. */
static void itlb_flush(struct hart *h)
{
    for (int m = 0; m < TLB_SETS; m++) {
        if (!h->tlb[m].used)
            continue;
        for (int i = 0; i < TLB_SIZE; i++)
            h->tlb[m].e[ACC_FETCH][i].vtag = ~0ULL;
    }
}

void dcache_reset(struct hart *h)
{
    itlb_flush(h);
    jit_reset(h);
    if (!h->arena_used)
        return;
    /* Give the used part back to the kernel: it reads as zeros again,
     * i.e. every slot becomes OP_DECODE. */
    madvise(h->arena, (size_t)h->arena_used * sizeof(struct dpage), MADV_DONTNEED);
    h->arena_used = 0;
    h->arena_hand = 0;
    h->dfree = NULL;
    h->dretire = NULL;
    memset(h->dhash, 0, DHASH_SIZE * sizeof(*h->dhash));
}

void dcache_flush(struct hart *h)
{
    /* Linux issues FENCE.I often (module loads, every new executable
     * mapping); re-decoding everything each time would dominate.  Pages
     * are compared with memory when next entered instead. */
    h->dgen++;
    /* The fetch TLB keeps its entries: whoever takes one (the refetch,
     * the chain stub) compares the entry's dgen with h->dgen first, so a page
     * is revalidated on its next entry without a walk.  Flushing the TLB
     * here cost every page a walk and a refill after each of Linux's
     * FENCE.Is (some 45,000 on a busybox boot). */
}

bool dcache_revalidate_entry(struct hart *h, struct tlb_entry *e)
{
    if (e->dp->gen != h->dgen && dcache_revalidate(h, e->dp) <= 0)
        return false;
    e->dgen = h->dgen;
    return true;
}

static void dpage_retire(struct hart *h, struct dpage *d);

int dcache_revalidate(struct hart *h, struct dpage *d)
{
    /* Keep the decoded slots only if the page still holds the bytes they
     * were decoded from.  Compared in place (a vCPU inside its slice may
     * read RAM through the host pointer, as its TLB does); a copy first
     * doubled the memory traffic of the common case. */
    const uint8_t *now = mem_gpa_to_hva(h->mem, d->paddr, NULL, false);
    if (!now)
        return -1;
    if (memcmp(now, d->code, sizeof(d->code))) {
        dpage_retire(h, d);
        return 0;
    }
    d->gen = h->dgen;
    return 1;
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
    for (int m = 0; m < TLB_SETS; m++) {
        struct tlb_entry *e = h->tlb[m].e[ACC_STORE];
        for (int i = 0; i < TLB_SIZE; i++)
            if (e[i].vtag != ~0ULL && e[i].ppage == ppage)
                e[i].vtag = ~0ULL;
    }
}

/* Forget the fetch-TLB entries (every set, any virtual alias) that lead
 * to `d`: those its reverse map recorded, or all of them by a scan when
 * it overflowed.  The CLOCK hand does this at every page it passes, so
 * the scan (4 x 1024 entries) used to cost a few percent of the vCPU in
 * code-heavy work (udev, process start-up). */
static void itlb_evict(struct hart *h, struct dpage *d)
{
    if (d->itlb_n <= DPAGE_ITLB_SLOTS) {
        for (unsigned k = 0; k < d->itlb_n; k++) {
            unsigned s = d->itlb_slot[k];
            struct tlb_entry *e = &h->tlb[s >> TLB_BITS].e[ACC_FETCH][s & (TLB_SIZE - 1)];
            if (e->dp == d)
                e->vtag = ~0ULL;
        }
    } else {
        for (int m = 0; m < TLB_SETS; m++) {
            struct tlb_entry *e = h->tlb[m].e[ACC_FETCH];
            for (int i = 0; i < TLB_SIZE; i++)
                if (e[i].dp == d)
                    e[i].vtag = ~0ULL;
        }
    }
    d->itlb_n = 0;
}

/* Record the fetch-TLB entry `e` of the current set as leading to `d`. */
static void itlb_record(struct hart *h, struct dpage *d, const struct tlb_entry *e)
{
    unsigned s = (unsigned)(h->itlb - h->tlb) << TLB_BITS |
                 (unsigned)(e - h->itlb->e[ACC_FETCH]);
    for (unsigned k = 0; k < d->itlb_n && k < DPAGE_ITLB_SLOTS; k++)
        if (d->itlb_slot[k] == s)
            return;
    if (d->itlb_n < DPAGE_ITLB_SLOTS)
        d->itlb_slot[d->itlb_n] = (uint16_t)s;
    if (d->itlb_n <= DPAGE_ITLB_SLOTS)
        d->itlb_n++;
}

/* Unlink `d` from the hash. */
static void dpage_unlink(struct hart *h, struct dpage *d)
{
    struct dpage **pp = &h->dhash[dhash(d->paddr)];
    while (*pp != d)
        pp = &(*pp)->hash_next;
    *pp = d->hash_next;
}

/* Take `d` out of use: out of the hash (lookups miss it, so the write TLB
 * may map its page again) and out of the fetch TLB, onto the retired list
 * until nothing runs from it (dcache_retire).  Its slots and its
 * translations stay as they are meanwhile: only they and its own blocks'
 * linked exits (same page) lead to its code.  The event ends the slice,
 * so the interpreter does not go on in the page past the next refetch. */
static void dpage_retire(struct hart *h, struct dpage *d)
{
    itlb_evict(h, d);
    dpage_unlink(h, d);
    d->hash_next = h->dretire;
    h->dretire = d;
    hart_set_event(h);
}

void dcache_retire(struct hart *h)
{
    while (h->dretire) {
        struct dpage *d = h->dretire;
        h->dretire = d->hash_next;
        /* Cleared (every slot OP_DECODE), not handed back with madvise:
         * that would split the arena's huge page, and the slot will be
         * reused. */
        memset(d, 0, sizeof(*d));
        d->hash_next = h->dfree;
        h->dfree = d;
    }
}

/* Pick a victim with the CLOCK hand and clear it.  Called only from the
 * refetch, when nothing points into the arena, and only when no page is
 * free or retired (every arena slot is in the hash). */
static struct dpage *dcache_evict(struct hart *h)
{
    struct dpage *d;
    for (;;) {
        d = &h->arena[h->arena_hand];
        h->arena_hand = (h->arena_hand + 1) % h->arena_pages;
        itlb_evict(h, d);
        if (!d->ref)
            break;
        d->ref = false;
    }
    dpage_unlink(h, d);
    memset(d, 0, sizeof(*d));
    return d;
}

static struct dpage *dcache_get(struct hart *h, uint64_t ppage)
{
    struct dpage *d = dcache_lookup(h, ppage);
    if (d)
        return d;
    dcache_retire(h);   /* the refetch: nothing runs from them */
    if (h->dfree) {
        d = h->dfree;
        h->dfree = d->hash_next;
    } else if (h->arena_used == h->arena_pages) {
        d = dcache_evict(h);
    } else {
        d = &h->arena[h->arena_used++];
    }
    d->paddr = ppage;
    d->gen = h->dgen;
    mem_cpu_read(h->mem, ppage, d->code, sizeof(d->code));
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
    if (d->gen != h->dgen) {
        int r = dcache_revalidate(h, d);
        if (r < 0) {
            h->exc_tval = vaddr;        /* not RAM: checked above */
            return EXC_INSN_ACCESS;
        }
        if (r == 0)
            d = dcache_get(h, ppage);   /* changed: decode it afresh */
    }
    d->ref = true;
    /* Cache the translation only when PMP allows the whole page: then
     * every fetch in it would pass. */
    if (pmp_allows(h, ppage, 4096, ACC_FETCH, h->priv)) {
        struct tlb_entry *e = &h->itlb->e[ACC_FETCH][tlb_index(vaddr >> 12)];
        e->vtag = vaddr >> 12;
        h->itlb->used = true;
        e->ppage = ppage;
        e->dp = d;
        e->dgen = h->dgen;
        itlb_record(h, d, e);
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
    memcpy(&lo, &d->code[off], 2);
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
    memcpy(&hi, &d->code[off + 2], 2);
    rv_decode((uint32_t)(lo | hi << 16), s);
}

/* Clear the slots of `d` that publish a translation whose code address
 * lies in [lo, hi): they decode afresh. */
static void drop_jit_slots(struct dpage *d, const uint8_t *code, const uint8_t *lo,
                           const uint8_t *hi)
{
    for (unsigned j = 0; j < DPAGE_SLOTS; j++) {
        if (d->insn[j].op != OP_JIT)
            continue;
        const uint8_t *fn = code + d->insn[j].raw;   /* jit.h: the code's offset */
        if (fn >= lo && fn < hi)
            memset(&d->insn[j], 0, sizeof(struct insn));
    }
}

void dcache_drop_translations(struct hart *h, unsigned region,
                              const uint8_t *lo, const uint8_t *hi)
{
    for (unsigned i = 0; i < h->arena_used; i++) {
        struct dpage *d = &h->arena[i];
        if (!(d->jit_regions & (1u << region)))
            continue;
        drop_jit_slots(d, h->jit_code, lo, hi);
        d->jit_regions &= (uint8_t)~(1u << region);
    }
}

/* A store of `size` bytes at physical `pa` by this hart, already done:
 * retire the page(s) it touched.  (A 32-bit instruction that starts in
 * the page before and straddles into this one is fetched through the MMU
 * at every execution, never decoded from a snapshot: L_CROSS.) */
void dcache_store_hit(struct hart *h, uint64_t pa, unsigned size)
{
    uint64_t last = pa + size - 1;
    for (uint64_t pg = pa & ~0xfffULL; pg <= (last & ~0xfffULL); pg += 4096) {
        struct dpage *d = dcache_lookup(h, pg);
        if (d)
            dpage_retire(h, d);
    }
}
