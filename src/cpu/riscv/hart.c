/* cpu/riscv: hart life cycle and the bounded run loop (design rule 3). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/riscv/fpu.h"
#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"


/* Instructions per inner-loop call: bounds how stale the Sstc timer and
 * the caller's view can get (about 50 us at 300 MIPS). */
#define SLICE_CHUNK 16384


struct hart *hart_new(const struct hart_config *cfg)
{
    if (!cfg || !cfg->mem || !cfg->clock)
        return NULL;
    if (cfg->share && cfg->share->mem != cfg->mem)
        return NULL;
    struct hart *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->cfg = *cfg;
    h->cfg.share = NULL;        /* borrowed for hart_new only */
    h->jc_epoch = 1;            /* calloc's zeroed jump-cache entries: epoch 0 */
    h->jit_site_epoch = 1;      /* calloc's zeroed site headers: epoch 0 */
    h->mem = cfg->mem;
    if (dcache_init(h, cfg->share)) {
        free(h);
        return NULL;
    }
    /* Optional: without a code buffer the interpreter runs everything. */
    if (!cfg->share && jit_init(h->dc) == 0)
        h->jit_enabled = true;
    if (cfg->share)
        h->jit_enabled = cfg->share->jit_enabled;
    h->jit_hot = cfg->share ? cfg->share->jit_hot : JIT_HOT;
    /* calloc's zero tags match only vpn 0.  Lookups of vpn 0 read slot
     * tlb_index(0); the JIT's loads and stores index by the first byte's
     * page and compare the last byte's (jit_x86_64_mem.c), so an access
     * that wraps past 2^64 reads the last slot with tag 0.  Invalidating
     * those two slots leaves every set empty (used stays false) without
     * writing its other pages: some 100 page faults per hart that a
     * restore's start would pay. */
    for (int m = 0; m < TLB_SETS; m++)
        for (int t = 0; t < 3; t++) {
            h->tlb[m].e[t][tlb_index(0)].vtag = ~0ULL;
            h->tlb[m].e[t][tlb_index(~0ULL >> 12)].vtag = ~0ULL;
        }
    hart_reset(h);
    return h;
}

void hart_free(struct hart *h)
{
    if (!h)
        return;
    dcache_destroy(h);   /* the cache and its code buffer go with their last hart */
    free(h);
}

void hart_reset(struct hart *h)
{
    memset(h->x, 0, sizeof(h->x));
    memset(h->f, 0, sizeof(h->f));
    h->pc = h->cfg.reset_pc;
    h->priv = PRV_M;
    h->instret = 0;
    h->jit_insns = h->jit_blocks = h->jit_translate_ns = 0;    /* instret's companions */
    h->wfi = false;
    atomic_store(&h->events, 0);
    atomic_store(&h->kicked, false);
    atomic_store(&h->irq_wires, 0);
    /* mstatus: MPP = M is QEMU's and most cores' reset choice; UXL = SXL =
     * 2 (64-bit); FS = Initial so bare-metal code may use FP at once. */
    h->mstatus = (2ULL << 32) | (2ULL << 34) | MSTATUS_MPP | (1ULL << MSTATUS_FS_SHIFT);
    h->misa = MISA_VALUE;
    h->medeleg = h->mideleg = 0;
    h->mie = h->mip = 0;
    h->mtvec = h->stvec = 0;
    h->mscratch = h->sscratch = 0;
    h->mepc = h->sepc = 0;
    h->mcause = h->scause = 0;
    h->mtval = h->stval = 0;
    h->mcounteren = h->scounteren = 0;
    h->menvcfg = h->senvcfg = 0;
    h->satp = 0;
    h->stimecmp = ~0ULL;
    h->fflags = h->frm = 0;
    h->mcycle_offset = h->minstret_offset = 0;
    memset(h->pmpcfg, 0, sizeof(h->pmpcfg));
    memset(h->pmpaddr, 0, sizeof(h->pmpaddr));
    h->resv_valid = false;
    pmp_update(h);   /* no regions; also flushes the TLB */
    dcache_reset(h);
    hart_update_mode(h);
}

enum hart_exit hart_run(struct hart *h, uint64_t budget)
{
    uint64_t done = 0;
    enum hart_exit why = HART_EXIT_BUDGET;
    fpu_host_enter();   /* the host FP state the F/D fast paths assume */
    while (done < budget) {
        if (atomic_exchange(&h->kicked, false)) {
            why = HART_EXIT_KICK;
            break;
        }
        atomic_store_explicit(&h->events, 0, memory_order_release);
        /* Between slices nothing of the decoded-page cache is held. */
        dcache_quiesce(h, false);
        uint64_t gen = mem_map_gen(h->mem);
        if (unlikely(gen != h->map_gen)) {
            /* A memory operation ran while this hart was parked (mem.h:
             * the shootdown): the host pointers it cached are no longer
             * leased.  TLB entries and the reservation go (an SC after it
             * fails; the guest retries), and decoded pages are compared
             * with memory again before they run, as after a FENCE.I, in
             * case an operation changed what a page holds; translations
             * of a changed page go with its decoded slots. */
            h->map_gen = gen;
            tlb_flush_all(h);
            h->resv_valid = false;
            dcache_flush(h);
        }
        hart_update_stip(h);
        hart_check_interrupts(h);
        if (h->wfi) {
            /* WFI resumes on any pending enabled-in-mie interrupt, even
             * when global enables would not let it trap. */
            if (hart_mip(h) & h->mie) {
                h->wfi = false;
            } else {
                why = HART_EXIT_WFI;
                break;
            }
        }
        uint64_t chunk = budget - done;
        if (chunk > SLICE_CHUNK)
            chunk = SLICE_CHUNK;
        uint64_t ran = hart_interp(h, (int64_t)chunk);
        done += ran;
    }
    /* Outside hart_run the hart holds nothing: the other harts sharing its
     * cache need not wait for it (a hart in WFI may sleep for seconds). */
    dcache_quiesce(h, true);
    return why;
}

void hart_set_irq(struct hart *h, unsigned irq, bool level)
{
    uint64_t bit = 1ULL << irq;
    if (level)
        atomic_fetch_or(&h->irq_wires, bit);
    else
        atomic_fetch_and(&h->irq_wires, ~bit);
    hart_set_event(h);
    if (level && h->cfg.wake)
        h->cfg.wake(h->cfg.wake_opaque);
}

void hart_kick(struct hart *h)
{
    atomic_store(&h->kicked, true);
    hart_set_event(h);
    if (h->cfg.wake)
        h->cfg.wake(h->cfg.wake_opaque);
}

bool hart_irq_pending(struct hart *h)
{
    hart_update_stip(h);
    return (hart_mip(h) & h->mie) != 0;
}

uint64_t hart_timer_deadline(struct hart *h)
{
    return (h->menvcfg & MENVCFG_STCE) ? h->stimecmp : UINT64_MAX;
}

uint64_t hart_get_x(const struct hart *h, unsigned reg)
{
    return reg && reg < 32 ? h->x[reg] : 0;
}

void hart_set_x(struct hart *h, unsigned reg, uint64_t val)
{
    if (reg && reg < 32)
        h->x[reg] = val;
}

uint64_t hart_get_pc(const struct hart *h)
{
    return h->pc;
}

void hart_set_pc(struct hart *h, uint64_t pc)
{
    h->pc = pc & ~1ULL;
}

uint64_t hart_get_f(const struct hart *h, unsigned reg)
{
    return reg < 32 ? h->f[reg] : 0;
}

uint64_t hart_instret(const struct hart *h)
{
    return h->instret + h->minstret_offset;
}

unsigned hart_priv(const struct hart *h)
{
    return h->priv;
}

int hart_set_jit(struct hart *h, bool enabled, unsigned hot)
{
    if (hot > 255)
        return -EINVAL;
    struct dcache *dc = h->dc;
    dcache_reset(h);            /* translations of the old settings go */
    if (!enabled) {
        h->jit_enabled = false;
        /* The code buffer goes back once no hart sharing it translates. */
        bool any = false;
        for (unsigned i = 0; i < dc->nmember; i++)
            any |= dc->member[i]->jit_enabled;
        if (!any)
            jit_destroy(dc);
        return 0;
    }
    if (hot)
        h->jit_hot = (uint8_t)hot;
    return 0;
}

void hart_cache_stats(const struct hart *h, uint64_t *dpages, uint64_t *jit_bytes)
{
    /* A shared cache is counted at its first hart, so that a VM's sum is
     * right. */
    const struct dcache *dc = h->dc;
    bool first = dc->nmember && dc->member[0] == h;
    *dpages = first ? dc->arena_used : 0;
    *jit_bytes = first && dc->jit_code ? dc->jit_used : 0;
}

void hart_exec_stats(const struct hart *h, uint64_t *jit_insns, uint64_t *jit_blocks,
                     uint64_t *translate_ns)
{
    *jit_insns = h->jit_insns;
    *jit_blocks = h->jit_blocks;
    *translate_ns = h->jit_translate_ns;
}
