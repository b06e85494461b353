/* cpu/riscv: the cache of decoded instructions, shared by a VM's harts.
 *
 * One struct dpage per physical page that has been executed, holding a
 * decoded slot for every halfword.  Slots are decoded lazily, the first
 * time they execute (a zero slot is OP_DECODE), so a page costs host
 * memory only for the parts that run: the dpages live in an mmap'd arena
 * whose untouched parts are never backed.  The harts of a VM share one
 * arena, hash and code buffer (struct dcache), so a kernel is decoded and
 * translated once, not once per hart.
 *
 * Sharing without locks on the hot paths: harts read slots, follow hash
 * chains and run translated code with no lock.  A page in the hash changes
 * only by a slot being decoded or a block being published in it;
 * everything else (insertion, retirement, eviction, translation) happens
 * under dc->lock.  A page taken out of use is retired: out of the hash at
 * once, its fetch-TLB shootdown logged, and reused only when every hart
 * has passed a quiescent point since (dcache_quiesce: between slices,
 * outside hart_run, or at the refetch), by which time each has applied the
 * log to its own fetch TLB and holds nothing of the page.  This is
 * quiescent-state-based reclamation, as Linux's RCU does for its lists.
 *
 * Coherence (Unprivileged ISA, "Zifencei"): each dpage keeps a snapshot of
 * the page's bytes and slots decode from it.  A store by a hart to a page
 * it decoded goes through its slow path (its write TLB never maps such a
 * page) and retires the page, and the next fetch decodes the new bytes
 * into a fresh one, so self-modifying code works even without FENCE.I.
 * FENCE.I takes a new generation (counted over all harts): a page is
 * compared with memory at its next use by that hart unless some hart
 * validated it at that generation or later, and retired only if it
 * changed.  So other harts' stores and device DMA become visible at this
 * hart's next FENCE.I, as the ISA requires.  A memory operation (mem.h: a
 * page given new backing, possibly new bytes) takes a new generation the
 * same way at the hart's next slice (hart_run), so no page runs from
 * bytes it no longer holds.
 *
 * Replacement: when the arena is full pages are evicted by CLOCK (second
 * chance).  A page's ref bit is set whenever a fetch-TLB miss lands on it;
 * the hand clears it and also shoots down the page's fetch-TLB entries in
 * every hart, so a page still in use misses once more and sets it again
 * before the hand is back.  Evicting cold pages keeps the hot set decoded
 * and translated, where a whole-cache reset made every hot block count up
 * to JIT_HOT again.  DRESERVE pages are kept retired or free ahead of need,
 * so that the other harts have passed a quiescent point by the time one is
 * wanted.
 *
 * Pages that held code and now hold data: the kernel frees a page of an
 * exited program's text or of its own init code and hands it out again as
 * data.  Its first store retires it, and its stores run from the write
 * TLB from then on; if it still holds code, its next fetch decodes it
 * afresh. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"

/* Pages kept retired or free ahead of need once the arena is full. */
#define DRESERVE 16u

static unsigned dhash(uint64_t paddr)
{
    uint64_t p = paddr >> 12;
    return (unsigned)((p ^ (p >> 12)) & (DHASH_SIZE - 1));
}

/* The arena's mapping: whole 2 MiB huge pages. */
#define ARENA_HUGE (2ULL << 20)
_Static_assert(DARENA_BYTES % ARENA_HUGE == 0, "the arena is whole huge pages");
_Static_assert(DARENA_PAGES < DLOG_NONE, "log entries are 16-bit arena indices");

static struct dcache *dcache_new(void)
{
    struct dcache *dc = calloc(1, sizeof(*dc));
    if (!dc)
        return NULL;
    /* Mapped 2 MiB-aligned and advised MADV_HUGEPAGE: the arena is the
     * most scattered memory a hart touches (a slot line at every block
     * entry, ten 4 KiB pages per dpage).  On 4 KiB pages a busybox boot
     * took some 11,000 host page faults in it and a host TLB miss at
     * most block entries; on huge pages it reaches its marker about 15%
     * sooner (docs/cpu.md), for the whole arena resident once used. */
    size_t bytes = DARENA_BYTES;
    uint8_t *raw = mmap(NULL, bytes + ARENA_HUGE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) {
        free(dc);
        return NULL;
    }
    uint8_t *a = (uint8_t *)(((uintptr_t)raw + ARENA_HUGE - 1) & ~(uintptr_t)(ARENA_HUGE - 1));
    if (a != raw)
        munmap(raw, (size_t)(a - raw));
    munmap(a + bytes, (size_t)(raw + ARENA_HUGE - a));
    (void)madvise(a, bytes, MADV_HUGEPAGE);   /* a hint: fine without */
    dc->arena = (struct dpage *)a;
    dc->arena_pages = DARENA_PAGES;
    dc->dhash = calloc(DHASH_SIZE, sizeof(*dc->dhash));
    if (!dc->dhash || pthread_mutex_init(&dc->lock, NULL)) {
        munmap(a, bytes);
        free(dc->dhash);
        free(dc);
        return NULL;
    }
    return dc;
}

int dcache_init(struct hart *h, struct hart *share)
{
    struct dcache *dc = share ? share->dc : dcache_new();
    if (!dc)
        return -1;
    h->rmap = calloc(dc->arena_pages, sizeof(*h->rmap));
    struct hart **m = NULL;
    if (h->rmap) {
        pthread_mutex_lock(&dc->lock);
        m = realloc(dc->member, (dc->nmember + 1) * sizeof(*m));
        if (m) {
            dc->member = m;
            m[dc->nmember++] = h;
            h->seen = atomic_load(&dc->epoch);
        }
        pthread_mutex_unlock(&dc->lock);
    }
    atomic_store(&h->qs, UINT64_MAX);
    h->dc = dc;
    if (!m) {
        free(h->rmap);
        h->rmap = NULL;
        h->dc = NULL;
        if (!share) {
            munmap(dc->arena, DARENA_BYTES);
            free(dc->dhash);
            free(dc);
        }
        return -1;
    }
    return 0;
}

void dcache_destroy(struct hart *h)
{
    struct dcache *dc = h->dc;
    if (!dc)
        return;
    pthread_mutex_lock(&dc->lock);
    for (unsigned i = 0; i < dc->nmember; i++)
        if (dc->member[i] == h)
            dc->member[i] = dc->member[--dc->nmember];
    bool last = dc->nmember == 0;
    pthread_mutex_unlock(&dc->lock);
    free(h->rmap);
    free(h->scratch);
    h->rmap = NULL;
    h->scratch = NULL;
    h->dc = NULL;
    if (!last)
        return;
    jit_destroy(dc);
    munmap(dc->arena, DARENA_BYTES);
    free(dc->dhash);
    free(dc->member);
    pthread_mutex_destroy(&dc->lock);
    free(dc);
}

/* Forget every fetch-TLB entry of this hart (they point into the arena).
 * A set not used since its last flush holds none. */
static void itlb_flush(struct hart *h)
{
    jcache_invalidate(h);
    for (int m = 0; m < TLB_SETS; m++) {
        if (!h->tlb[m].used)
            continue;
        for (int i = 0; i < TLB_SIZE; i++)
            h->tlb[m].e[ACC_FETCH][i].vtag = ~0ULL;
    }
    memset(h->rmap, 0, h->dc->arena_pages * sizeof(*h->rmap));
}

void dcache_reset(struct hart *h)
{
    struct dcache *dc = h->dc;
    pthread_mutex_lock(&dc->lock);
    /* None of the harts runs: their fetch TLBs go at once. */
    for (unsigned i = 0; i < dc->nmember; i++) {
        itlb_flush(dc->member[i]);
        dc->member[i]->seen = atomic_load(&dc->epoch);
    }
    jit_reset(dc);
    if (dc->arena_used) {
        /* Give the used part back to the kernel: it reads as zeros again,
         * i.e. every slot becomes OP_DECODE. */
        madvise(dc->arena, (size_t)dc->arena_used * sizeof(struct dpage), MADV_DONTNEED);
        dc->arena_used = 0;
        dc->arena_hand = 0;
        dc->dfree = NULL;
        dc->retired = dc->retired_last = NULL;
        memset(dc->dhash, 0, DHASH_SIZE * sizeof(*dc->dhash));
    }
    pthread_mutex_unlock(&dc->lock);
}

void dcache_flush(struct hart *h)
{
    /* Linux issues FENCE.I often (module loads, every new executable
     * mapping); re-decoding everything each time would dominate.  Pages
     * are compared with memory when next entered instead.  The generation
     * is counted over all harts, so that one whose FENCE.I came after
     * another's validation of a page compares it again. */
    h->dgen = atomic_fetch_add(&h->dc->fence_gen, 1) + 1;
    jcache_invalidate(h);
    /* The fetch TLB keeps its entries: whoever takes one (the refetch,
     * the chain stub) compares the entry's dgen with h->dgen first, so a
     * page is revalidated on its next entry without a walk.  Flushing the
     * TLB here cost every page a walk and a refill after each of Linux's
     * FENCE.Is (some 45,000 on a busybox boot). */
}

void dcache_fence_i(struct hart *h)
{
    /* Linux fences some 45,000 times on a busybox boot (ftrace and
     * static keys patch code, a page at a time); each new generation
     * had every page compared with memory at its next entry, 392,000
     * compares and returns from translated code to the interpreter.
     * Another hart's stores may miss this hart's write-protection of
     * its decoded pages (wtlb_evict covers this hart's TLB only), so
     * with company every FENCE.I takes a generation. */
    struct dcache *dc = h->dc;
    uint64_t w = mem_write_count(h->mem);   /* before the generation */
    pthread_mutex_lock(&dc->lock);
    bool alone = dc->nmember == 1;
    if (alone && w == dc->fence_writes) {
        pthread_mutex_unlock(&dc->lock);
        return;
    }
    dcache_flush(h);
    dc->fence_writes = w;
    pthread_mutex_unlock(&dc->lock);
}

/* ---- shootdowns and quiescent points ---- */

/* Clear this hart's fetch-TLB entries for arena page `i`: those its
 * reverse map recorded, or all that lead to the page by a scan when it
 * overflowed. */
static void itlb_evict(struct hart *h, unsigned i)
{
    struct itlb_rmap *r = &h->rmap[i];
    const struct dpage *d = &h->dc->arena[i];
    jcache_invalidate(h);
    if (r->n <= DPAGE_ITLB_SLOTS) {
        for (unsigned k = 0; k < r->n; k++) {
            unsigned s = r->slot[k];
            struct tlb_entry *e = &h->tlb[s >> TLB_BITS].e[ACC_FETCH][s & (TLB_SIZE - 1)];
            if (e->dp == d)
                e->vtag = ~0ULL;
        }
    } else {
        for (int m = 0; m < TLB_SETS; m++) {
            struct tlb_entry *e = h->tlb[m].e[ACC_FETCH];
            for (int j = 0; j < TLB_SIZE; j++)
                if (e[j].dp == d)
                    e[j].vtag = ~0ULL;
        }
    }
    r->n = 0;
}

/* Record the fetch-TLB entry `e` of the current set as leading to `d`. */
static void itlb_record(struct hart *h, const struct dpage *d, const struct tlb_entry *e)
{
    struct itlb_rmap *r = &h->rmap[d - h->dc->arena];
    unsigned s = (unsigned)(h->itlb - h->tlb) << TLB_BITS |
                 (unsigned)(e - h->itlb->e[ACC_FETCH]);
    for (unsigned k = 0; k < r->n && k < DPAGE_ITLB_SLOTS; k++)
        if (r->slot[k] == s)
            return;
    if (r->n < DPAGE_ITLB_SLOTS)
        r->slot[r->n] = (uint16_t)s;
    if (r->n <= DPAGE_ITLB_SLOTS)
        r->n++;
}

/* Append arena index `i` (or DLOG_NONE) to the shootdown log and move the
 * epoch past it (under the lock).  Returns the new epoch. */
static uint64_t log_append(struct dcache *dc, unsigned i)
{
    uint64_t e = atomic_load_explicit(&dc->epoch, memory_order_relaxed);
    __atomic_store_n(&dc->log[e % DLOG_SIZE], (uint16_t)i, __ATOMIC_RELAXED);
    atomic_store(&dc->epoch, e + 1);
    return e + 1;
}

/* Log a shootdown of `d`'s fetch-TLB entries in every hart (under the
 * lock); this hart's go at once.  Returns the epoch after it. */
static uint64_t shootdown(struct hart *h, struct dpage *d)
{
    unsigned i = (unsigned)(d - h->dc->arena);
    itlb_evict(h, i);
    return log_append(h->dc, i);
}

void dcache_quiesce(struct hart *h, bool offline)
{
    struct dcache *dc = h->dc;
    if (offline) {
        atomic_store(&h->qs, UINT64_MAX);
        return;
    }
    /* Online again, holding nothing retired after what it has applied;
     * then apply the rest.  Stored before the epoch is read (both
     * sequentially consistent): a hart that reclaims a page after
     * reading UINT64_MAX here logged it before this load sees the epoch,
     * so the page's entries go below before anything runs. */
    uint64_t seen = h->seen;
    if (atomic_load_explicit(&h->qs, memory_order_relaxed) == UINT64_MAX)
        atomic_store(&h->qs, seen);
    uint64_t e = atomic_load(&dc->epoch);
    if (e != seen) {
        jcache_invalidate(h);   /* a region's unpublishing logs no page */
        if (e - seen >= DLOG_SIZE) {
            itlb_flush(h);
        } else {
            for (uint64_t k = seen; k < e; k++) {
                unsigned i = __atomic_load_n(&dc->log[k % DLOG_SIZE], __ATOMIC_ACQUIRE);
                if (i != DLOG_NONE)
                    itlb_evict(h, i);
            }
            /* Entries overwritten while they were read: flush instead. */
            uint64_t now = atomic_load(&dc->epoch);
            if (now - seen >= DLOG_SIZE)
                itlb_flush(h);
        }
        h->seen = e;
    }
    atomic_store(&h->qs, e);
}

/* The oldest quiescent point of the harts sharing dc (under the lock). */
static uint64_t oldest_qs(const struct dcache *dc)
{
    uint64_t past = UINT64_MAX;
    for (unsigned i = 0; i < dc->nmember; i++) {
        uint64_t q = atomic_load(&dc->member[i]->qs);
        if (q < past)
            past = q;
    }
    return past;
}

bool dcache_all_past(struct hart *h, uint64_t epoch)
{
    return oldest_qs(h->dc) >= epoch;
}

/* ---- the hash (readers without the lock) ---- */

static struct dpage *dcache_lookup(struct dcache *dc, uint64_t ppage)
{
    for (struct dpage *d = __atomic_load_n(&dc->dhash[dhash(ppage)], __ATOMIC_ACQUIRE); d;
         d = __atomic_load_n(&d->hash_next, __ATOMIC_ACQUIRE))
        if (d->paddr == ppage)
            return d;
    return NULL;
}

bool dcache_is_code(struct hart *h, uint64_t ppage)
{
    return __atomic_load_n(&h->dc->arena_used, __ATOMIC_RELAXED) &&
           dcache_lookup(h->dc, ppage) != NULL;
}

/* Unlink `d` from the hash (under the lock).  Its own hash_next stays, so
 * a hart walking the chain through it goes on to the rest. */
static void dpage_unlink(struct dcache *dc, struct dpage *d)
{
    struct dpage **pp = &dc->dhash[dhash(d->paddr)];
    while (*pp != d)
        pp = &(*pp)->hash_next;
    __atomic_store_n(pp, d->hash_next, __ATOMIC_RELEASE);
    d->live = false;
}

/* Take `d` out of use (under the lock): out of the hash (lookups miss it,
 * so write TLBs may map its page again) and out of every fetch TLB, onto
 * the retired list until every hart has passed a quiescent point.  Its
 * slots and its translations stay as they are meanwhile: only they and
 * its own blocks' linked exits (same page) lead to its code.  The event
 * ends this hart's slice, so its interpreter does not go on in the page
 * past the next refetch. */
static void dpage_retire(struct hart *h, struct dpage *d)
{
    struct dcache *dc = h->dc;
    if (!d->live)
        return;     /* another hart retired it first */
    dpage_unlink(dc, d);
    d->retired_at = shootdown(h, d);
    d->retire_next = NULL;
    if (dc->retired_last)
        dc->retired_last->retire_next = d;
    else
        dc->retired = d;
    dc->retired_last = d;
    hart_set_event(h);
}

/* Move the retired pages every hart is past onto the free list, cleared
 * (every slot OP_DECODE; not handed back with madvise, which would split
 * the arena's huge page).  Under the lock, from a quiescent point of h. */
static void reclaim(struct hart *h)
{
    struct dcache *dc = h->dc;
    uint64_t past = oldest_qs(dc);
    while (dc->retired && dc->retired->retired_at <= past) {
        struct dpage *d = dc->retired;
        dc->retired = d->retire_next;
        if (!dc->retired)
            dc->retired_last = NULL;
        memset(d, 0, sizeof(*d));
        d->retire_next = dc->dfree;
        dc->dfree = d;
    }
}

/* Retire the CLOCK hand's next victim: a page not fetched since the hand
 * last passed (whose ref it clears, shooting down its fetch-TLB entries
 * in every hart so a page in use sets it again).  Under the lock; false
 * when a whole turn found none in the hash. */
static bool evict_one(struct hart *h)
{
    struct dcache *dc = h->dc;
    for (unsigned n = 0; n < 2 * dc->arena_pages; n++) {
        struct dpage *d = &dc->arena[dc->arena_hand];
        dc->arena_hand = (dc->arena_hand + 1) % dc->arena_pages;
        if (!d->live)
            continue;
        if (!d->ref) {
            dpage_retire(h, d);
            return true;
        }
        d->ref = false;
        shootdown(h, d);
    }
    return false;
}

/* Count the pages retired or free, up to `max` (under the lock). */
static unsigned spare(const struct dcache *dc, unsigned max)
{
    unsigned n = 0;
    for (const struct dpage *d = dc->retired; d && n < max; d = d->retire_next)
        n++;
    for (const struct dpage *d = dc->dfree; d && n < max; d = d->retire_next)
        n++;
    return n;
}

/* A page to decode `ppage` into, not in the hash yet (under the lock);
 * NULL when none is reusable yet (the other harts are not past). */
static struct dpage *dpage_alloc(struct hart *h)
{
    struct dcache *dc = h->dc;
    if (dc->arena_used < dc->arena_pages && !dc->dfree)
        return &dc->arena[dc->arena_used++];
    /* The arena is full: keep DRESERVE pages on their way to reuse when
     * other harts must pass a quiescent point first; a hart alone reuses
     * at once, so it evicts one page at a time. */
    unsigned want = dc->nmember > 1 ? DRESERVE : 1;
    for (unsigned n = spare(dc, want); n < want && evict_one(h); n++)
        ;
    dcache_quiesce(h, false);   /* the refetch: this hart holds none */
    reclaim(h);
    struct dpage *d = dc->dfree;
    if (d)
        dc->dfree = d->retire_next;
    return d;
}

/* The decoded page for `ppage`: the one in the hash, or a new one (its
 * snapshot read now; *created).  NULL: no page is reusable yet. */
static struct dpage *dcache_get(struct hart *h, uint64_t ppage, bool *created)
{
    struct dcache *dc = h->dc;
    struct dpage *d = dcache_lookup(dc, ppage);
    *created = false;
    if (d)
        return d;
    pthread_mutex_lock(&dc->lock);
    d = dcache_lookup(dc, ppage);   /* another hart may have made it */
    if (!d && (d = dpage_alloc(h))) {
        *created = true;
        d->paddr = ppage;
        d->gen = h->dgen;
        d->live = true;
        mem_cpu_read(h->mem, ppage, d->code, sizeof(d->code));
        unsigned b = dhash(ppage);
        d->hash_next = dc->dhash[b];
        __atomic_store_n(&dc->dhash[b], d, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&dc->lock);
    return d;
}

/* Remove this hart's write-TLB entries that map physical page `ppage`, so
 * its stores to it take the slow path and retire the decoded page.  A
 * scan of every set: done once per page and hart (dcache_fetch_page). */
static void wtlb_evict(struct hart *h, uint64_t ppage)
{
    for (int m = 0; m < TLB_SETS; m++) {
        uint64_t bit;
        if (!(*tlb_wfilter_word(&h->tlb[m], ppage, &bit) & bit))
            continue;   /* no store entry of the set maps the page */
        jit_sites_invalidate(h);   /* a store's site may hold it */
        struct tlb_entry *e = h->tlb[m].e[ACC_STORE];
        for (int i = 0; i < TLB_SIZE; i++)
            if (e[i].vtag != ~0ULL && e[i].ppage == ppage)
                e[i].vtag = ~0ULL;
    }
}

/* ---- revalidation, the fetch path, stores ---- */

bool dcache_revalidate_entry(struct hart *h, struct tlb_entry *e)
{
    if (__atomic_load_n(&e->dp->gen, __ATOMIC_ACQUIRE) < h->dgen &&
        dcache_revalidate(h, e->dp) <= 0)
        return false;
    e->dgen = h->dgen;
    return true;
}

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
        pthread_mutex_lock(&h->dc->lock);
        dpage_retire(h, d);
        pthread_mutex_unlock(&h->dc->lock);
        return 0;
    }
    /* Valid at this hart's generation: any hart whose last FENCE.I is
     * no later need not compare it again.  A racing smaller store only
     * costs a later compare. */
    if (__atomic_load_n(&d->gen, __ATOMIC_RELAXED) < h->dgen)
        __atomic_store_n(&d->gen, h->dgen, __ATOMIC_RELEASE);
    return 1;
}

/* The page could not be had from the cache (none reusable yet): decode it
 * into this hart's scratch page, outside the hash and the fetch TLB, so
 * the next refetch tries again.  Nothing translates it (jit_translate). */
static struct dpage *scratch_page(struct hart *h, uint64_t ppage)
{
    if (!h->scratch && posix_memalign((void **)&h->scratch, 64, sizeof(*h->scratch)))
        return h->scratch = NULL;
    memset(h->scratch, 0, sizeof(*h->scratch));
    h->scratch->paddr = ppage;
    h->scratch->gen = UINT64_MAX;
    mem_cpu_read(h->mem, ppage, h->scratch->code, sizeof(h->scratch->code));
    return h->scratch;
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
    bool created;
    struct dpage *d = dcache_get(h, ppage, &created);
    if (d && __atomic_load_n(&d->gen, __ATOMIC_ACQUIRE) < h->dgen) {
        int v = dcache_revalidate(h, d);
        if (v < 0) {
            h->exc_tval = vaddr;        /* not RAM: checked above */
            return EXC_INSN_ACCESS;
        }
        if (v == 0)
            d = dcache_get(h, ppage, &created);   /* changed: decode it afresh */
    }
    if (!d) {
        d = scratch_page(h, ppage);
        if (!d) {
            h->exc_tval = vaddr;
            return EXC_INSN_ACCESS;
        }
        *out = d;
        return 0;
    }
    if (!d->ref)
        d->ref = true;
    /* A page new to the cache, or new to this hart's fetch TLB (a first
     * fetch, or the first since a shootdown): from now on its stores to
     * the page take the slow path (tlb_fill does not map a decoded page)
     * and retire it. */
    bool whole = pmp_allows(h, ppage, 4096, ACC_FETCH, h->priv);
    if (created || (whole && !h->rmap[d - h->dc->arena].n))
        wtlb_evict(h, ppage);
    /* Cache the translation only when PMP allows the whole page: then
     * every fetch in it would pass. */
    if (whole) {
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

/* Decode the snapshot's instruction at `off` into *in (zeroed first). */
static void decode_at(const struct dpage *d, unsigned off, struct insn *in)
{
    uint64_t lo = 0, hi = 0;
    memset(in, 0, sizeof(*in));
    if (off >= 4096) {
        /* The sentinel: execution ran off the end of the page. */
        in->op = OP_CROSS_END;
    } else {
        memcpy(&lo, &d->code[off], 2);
        if ((lo & 3) != 3) {
            rv_decode((uint32_t)lo, in);
        } else if (off == 4094) {
            /* The upper half lives on the next virtual page. */
            in->op = OP_CROSS;
            in->raw = (uint32_t)lo;
            in->len = 2;
        } else {
            memcpy(&hi, &d->code[off + 2], 2);
            rv_decode((uint32_t)(lo | hi << 16), in);
        }
    }
}

const struct insn *dcache_slot_insn(struct dpage *d, unsigned off, struct insn *tmp)
{
    dcache_decode_slot(d, off);
    struct insn *s = &d->insn[off >> 1];
    if ((uint16_t)insn_word(s) != OP_JIT)
        return s;
    decode_at(d, off, tmp);
    return tmp;
}

void dcache_decode_slot(struct dpage *d, unsigned off)
{
    struct insn *s = &d->insn[off >> 1];
    uint64_t w = insn_word(s);
    if ((uint16_t)w != OP_DECODE)
        return;     /* decoded (or published) meanwhile */
    struct insn in;
    decode_at(d, off, &in);
    /* Another hart may read, decode or publish the slot meanwhile.  The
     * second word (registers, immediate) is the same whoever decodes it,
     * from the same snapshot: stored plainly.  The first (op, length, raw)
     * goes in by compare-and-swap from the OP_DECODE word read above, so a
     * decode that lost the race never overwrites a slot decoded, or a
     * block published, in between; the swap orders the second word
     * before it (release). */
    _Static_assert(sizeof(struct insn) == 16 && offsetof(struct insn, rd) == 8,
                   "a slot's two words");
    memcpy((uint8_t *)s + 8, (const uint8_t *)&in + 8, 8);
    uint64_t nw;
    memcpy(&nw, &in, 8);
    __atomic_compare_exchange_n((uint64_t *)(void *)s, &w, nw, false,
                                __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

uint64_t dcache_unpublish_region(struct hart *h, unsigned region, uint32_t lo, uint32_t hi)
{
    struct dcache *dc = h->dc;
    for (unsigned i = 0; i < dc->arena_used; i++) {
        struct dpage *d = &dc->arena[i];
        if (!d->live || !(d->jit_regions & (1u << region)))
            continue;
        for (unsigned j = 0; j < DPAGE_SLOTS; j++) {
            uint64_t w = insn_word(&d->insn[j]);
            /* op only: raw keeps the offset, so that a hart that read
             * the old op meanwhile still finds code there (insn_word) */
            if ((uint16_t)w == OP_JIT && (w >> 32) >= lo && (w >> 32) < hi)
                __atomic_store_n(&d->insn[j].op, (uint16_t)OP_DECODE, __ATOMIC_RELEASE);
        }
        d->jit_regions &= (uint8_t)~(1u << region);
    }
    /* A new epoch, so that a hart which entered the region before this
     * is waited for even if it had seen every shootdown. */
    return log_append(dc, DLOG_NONE);
}

/* A store of `size` bytes at physical `pa` by this hart, already done:
 * retire the page(s) it touched.  (A 32-bit instruction that starts in
 * the page before and straddles into this one is fetched through the MMU
 * at every execution, never decoded from a snapshot: L_CROSS.) */
void dcache_store_hit(struct hart *h, uint64_t pa, unsigned size)
{
    uint64_t last = pa + size - 1;
    for (uint64_t pg = pa & ~0xfffULL; pg <= (last & ~0xfffULL); pg += 4096) {
        struct dpage *d = dcache_lookup(h->dc, pg);
        if (!d)
            continue;
        pthread_mutex_lock(&h->dc->lock);
        dpage_retire(h, d);
        pthread_mutex_unlock(&h->dc->lock);
    }
}
