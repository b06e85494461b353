/* cpu/riscv: address translation (Privileged spec 4.3 "Sv32" algorithm as
 * extended to Sv39 (4.4) and Sv48 (4.5)), the software TLB, and the slow
 * paths of loads, stores and atomics.
 *
 * A/D bits are updated by the hardware walk (atomically, with a
 * compare-and-swap on the PTE), as the spec permits.  The TLB caches
 * 4 KiB translations only (superpages are cached one 4 KiB page at a
 * time), only for RAM pages whose whole extent PMP allows, so a hit never
 * needs another check.  SFENCE.VMA of one address drops just that page
 * unless it lies in a superpage some walk used (then the whole set).  Store entries are never made for pages this hart
 * has decoded code from (see dcache.c). */
#include <string.h>

#include "cpu/riscv/hart_internal.h"

#define PTE_V (1ULL << 0)
#define PTE_R (1ULL << 1)
#define PTE_W (1ULL << 2)
#define PTE_X (1ULL << 3)
#define PTE_U (1ULL << 4)
#define PTE_A (1ULL << 6)
#define PTE_D (1ULL << 7)
#define PTE_PPN_MASK 0x003ffffffffffc00ULL
#define PTE_RESERVED 0xffc0000000000000ULL   /* N, PBMT, reserved: unsupported */

static void tlb_flush_set(struct tlb_set *s)
{
    s->super_lo = ~0ULL;
    s->super_last = 0;
    if (!s->used)
        return;
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < TLB_SIZE; i++)
            s->e[t][i].vtag = ~0ULL;
    memset(s->wfilter, 0, sizeof(s->wfilter));
    s->used = false;
}

void tlb_flush_all(struct hart *h)
{
    for (int m = 0; m < TLB_SETS; m++)
        tlb_flush_set(&h->tlb[m]);
    jcache_invalidate(h);
    jit_sites_invalidate(h);
}

static inline unsigned set_index(unsigned priv)
{
    return priv == PRV_M ? 2 : priv;
}

void tlb_flush_page(struct hart *h, uint64_t va)
{
    uint64_t vpn = va >> 12;
    jcache_invalidate(h);
    jit_sites_invalidate(h);
    for (int m = 0; m < TLB_SETS; m++) {
        if ((unsigned)m == set_index(PRV_M))
            continue;   /* M-mode entries are untranslated */
        struct tlb_set *s = &h->tlb[m];
        if (va >= s->super_lo && va <= s->super_last) {
            tlb_flush_set(s);
            continue;
        }
        for (int t = 0; t < 3; t++) {
            struct tlb_entry *e = &s->e[t][tlb_index(vpn)];
            if (e->vtag == vpn)
                e->vtag = ~0ULL;
        }
    }
}

void hart_update_mode(struct hart *h)
{
    unsigned dp = h->priv;
    if (h->priv == PRV_M && (h->mstatus & MSTATUS_MPRV))
        dp = (unsigned)((h->mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
    h->data_priv = dp;
    if (h->itlb != &h->tlb[set_index(h->priv)])
        jcache_invalidate(h);
    h->itlb = &h->tlb[set_index(h->priv)];
    struct tlb_set *d = &h->tlb[dp == PRV_S && (h->mstatus & MSTATUS_SUM) ? TLB_SET_SUM : set_index(dp)];
    if (h->dtlb != d)
        jit_sites_invalidate(h);
    h->dtlb = d;
}

static int page_fault(int acc)
{
    return acc == ACC_FETCH ? EXC_INSN_PAGE : acc == ACC_LOAD ? EXC_LOAD_PAGE : EXC_STORE_PAGE;
}

static int access_fault(int acc)
{
    return acc == ACC_FETCH ? EXC_INSN_ACCESS : acc == ACC_LOAD ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;
}

/* Translate at privilege `priv`. */
static int walk(struct hart *h, uint64_t va, int acc, unsigned priv, uint64_t *pa)
{
    unsigned mode = (unsigned)(h->satp >> 60);
    if (priv == PRV_M || mode == SATP_MODE_BARE) {
        *pa = va;
        return 0;
    }
    int levels = mode == SATP_MODE_SV48 ? 4 : 3;
    unsigned vabits = 12 + 9 * (unsigned)levels;
    if ((uint64_t)sext(va, vabits) != va)
        return page_fault(acc);

    uint64_t base = (h->satp & ((1ULL << 44) - 1)) << 12;
    for (int i = levels - 1; i >= 0; i--) {
        uint64_t pte_addr = base + ((va >> (12 + 9 * i)) & 0x1ff) * 8;
        if (!pmp_allows(h, pte_addr, 8, ACC_LOAD, PRV_S))
            return access_fault(acc);
        uint64_t *ptep = mem_gpa_to_hva(h->mem, pte_addr, NULL, false);
        if (!ptep)
            return access_fault(acc);
        uint64_t pte = __atomic_load_n(ptep, __ATOMIC_ACQUIRE);
        if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte & PTE_RESERVED))
            return page_fault(acc);
        uint64_t ppn = (pte & PTE_PPN_MASK) >> 10;
        if (!(pte & (PTE_R | PTE_X))) {
            base = ppn << 12;
            continue;   /* pointer to the next level */
        }
        /* Leaf: permissions. */
        bool mxr = (h->mstatus & MSTATUS_MXR) != 0;
        bool sum = (h->mstatus & MSTATUS_SUM) != 0;
        switch (acc) {
        case ACC_FETCH:
            if (!(pte & PTE_X)) return page_fault(acc);
            break;
        case ACC_LOAD:
            if (!(pte & PTE_R) && !(mxr && (pte & PTE_X))) return page_fault(acc);
            break;
        default:
            if (!(pte & PTE_W)) return page_fault(acc);
            break;
        }
        if (priv == PRV_U && !(pte & PTE_U))
            return page_fault(acc);
        if (priv == PRV_S && (pte & PTE_U) && (acc == ACC_FETCH || !sum))
            return page_fault(acc);
        /* Misaligned superpage. */
        if (i > 0 && (ppn & ((1ULL << (9 * i)) - 1)))
            return page_fault(acc);
        /* Hardware A/D update. */
        uint64_t want = pte | PTE_A | (acc == ACC_STORE ? PTE_D : 0);
        if (want != pte) {
            if (!pmp_allows(h, pte_addr, 8, ACC_STORE, PRV_S))
                return access_fault(acc);
            if (!__atomic_compare_exchange_n(ptep, &pte, want, false,
                                             __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                /* Changed under us: walk again from the top. */
                return walk(h, va, acc, priv, pa);
            }
            mem_mark_dirty(h->mem, pte_addr, 8);
        }
        uint64_t off_mask = (1ULL << (12 + 9 * i)) - 1;
        if (i > 0) {   /* a superpage: remember its extent for tlb_flush_page */
            uint64_t lo = va & ~off_mask;
            for (int k = 0; k < 2; k++) {
                struct tlb_set *s = &h->tlb[k ? TLB_SET_SUM : set_index(priv)];
                if (lo < s->super_lo)
                    s->super_lo = lo;
                if (lo + off_mask > s->super_last)
                    s->super_last = lo + off_mask;
            }
        }
        *pa = ((ppn << 12) & ~off_mask) | (va & off_mask);
        return 0;
    }
    return page_fault(acc);
}

int mmu_translate(struct hart *h, uint64_t va, int acc, uint64_t *pa)
{
    unsigned priv = acc == ACC_FETCH ? h->priv : h->data_priv;
    int c = walk(h, va, acc, priv, pa);
    if (c)
        h->exc_tval = va;
    return c;
}

/* Try to cache the translation va -> pa for `acc` in the data TLB. */
static void tlb_fill(struct hart *h, uint64_t va, uint64_t pa, int acc)
{
    uint64_t ppage = pa & ~0xfffULL;
    uint8_t *host = mem_gpa_to_hva(h->mem, ppage, NULL, acc == ACC_STORE);
    if (!host || !pmp_allows(h, ppage, 4096, acc, h->data_priv))
        return;
    if (acc == ACC_STORE && dcache_is_code(h, ppage))
        return;
    struct tlb_entry *e = &h->dtlb->e[acc][tlb_index(va >> 12)];
    e->vtag = va >> 12;
    h->dtlb->used = true;
    if (acc == ACC_STORE) {
        uint64_t bit;
        *tlb_wfilter_word(h->dtlb, ppage, &bit) |= bit;
    }
    e->ppage = ppage;
    e->addend = (uintptr_t)host - (va & ~0xfffULL);
}

/* One access within a page. */
static int access_one(struct hart *h, uint64_t va, unsigned size, int acc,
                      uint64_t *val)
{
    uint64_t pa;
    int c = walk(h, va, acc, h->data_priv, &pa);
    if (c) {
        h->exc_tval = va;
        return c;
    }
    if (!pmp_allows(h, pa, size, acc, h->data_priv)) {
        h->exc_tval = va;
        return access_fault(acc);
    }
    int r;
    if (acc == ACC_STORE) {
        r = mem_store(h->mem, pa, size, *val);
        if (!r && dcache_is_code(h, pa & ~0xfffULL))
            dcache_store_hit(h, pa, size);
    } else {
        r = mem_load(h->mem, pa, size, val);
    }
    if (r) {
        h->exc_tval = va;
        return access_fault(acc);
    }
    tlb_fill(h, va, pa, acc);
    return 0;
}

int mmu_load(struct hart *h, uint64_t va, unsigned size, uint64_t *val)
{
    if (likely((va & 0xfff) + size <= 4096))
        return access_one(h, va, size, ACC_LOAD, val);
    /* Crosses a page: byte by byte; tval names the byte that faulted. */
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t b;
        int c = access_one(h, va + i, 1, ACC_LOAD, &b);
        if (c)
            return c;
        v |= (b & 0xff) << (8 * i);
    }
    *val = v;
    return 0;
}

int mmu_store(struct hart *h, uint64_t va, unsigned size, uint64_t val)
{
    if (likely((va & 0xfff) + size <= 4096))
        return access_one(h, va, size, ACC_STORE, &val);
    /* Crosses a page: check both pages before writing anything. */
    uint64_t pa;
    for (uint64_t a = va; a < va + size; a = (a | 0xfff) + 1) {
        int c = walk(h, a, ACC_STORE, h->data_priv, &pa);
        if (c) {
            h->exc_tval = a;
            return c;
        }
    }
    for (unsigned i = 0; i < size; i++) {
        uint64_t b = (val >> (8 * i)) & 0xff;
        int c = access_one(h, va + i, 1, ACC_STORE, &b);
        if (c)
            return c;
    }
    return 0;
}

int mmu_atomic_ptr(struct hart *h, uint64_t va, unsigned size, bool write,
                   void **host, uint64_t *paddr)
{
    int acc = write ? ACC_STORE : ACC_LOAD;
    if (va & (size - 1)) {
        h->exc_tval = va;
        return write ? EXC_STORE_MISALIGNED : EXC_LOAD_MISALIGNED;
    }
    /* TLB hit: a load entry was checked for reading; a store entry for
     * writing, which implies reading (PTE W without R and PMP W without R
     * are reserved), and is never made for a page holding decoded code.
     * The kernel's spinlocks and reference counts make this path hot. */
    struct tlb_entry *e = &h->dtlb->e[acc][tlb_index(va >> 12)];
    if (likely(e->vtag == va >> 12)) {
        *host = (void *)(uintptr_t)(va + e->addend);
        *paddr = e->ppage | (va & 0xfff);
        return 0;
    }
    uint64_t pa;
    int c = walk(h, va, acc, h->data_priv, &pa);
    if (c) {
        h->exc_tval = va;
        return c;
    }
    if (!pmp_allows(h, pa, size, acc, h->data_priv) ||
        (write && !pmp_allows(h, pa, size, ACC_LOAD, h->data_priv))) {
        h->exc_tval = va;
        return access_fault(acc);
    }
    void *p = mem_gpa_to_hva(h->mem, pa, NULL, write);
    if (!p) {
        h->exc_tval = va;
        return access_fault(acc);
    }
    *host = p;
    *paddr = pa;
    tlb_fill(h, va, pa, acc);
    return 0;
}
