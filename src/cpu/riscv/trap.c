/* cpu/riscv: trap entry and interrupt selection (Privileged spec 3.1.6.1,
 * 3.1.9 "mip and mie", 3.3.1 trap handling, 4.1.1 sstatus).
 *
 * Exceptions and interrupts go to M-mode unless delegated (medeleg /
 * mideleg) and the hart is below M-mode, in which case they go to S-mode.
 * Vectored mode (xtvec.MODE = 1) offsets interrupts by 4 * cause. */
#include "cpu/riscv/hart_internal.h"

uint64_t hart_mip(const struct hart *h)
{
    return h->mip | atomic_load_explicit(&h->irq_wires, memory_order_acquire);
}

/* Recompute STIP from stimecmp when Sstc is enabled (menvcfg.STCE). */
void hart_update_stip(struct hart *h)
{
    if (!(h->menvcfg & MENVCFG_STCE))
        return;
    if (hart_time(h) >= h->stimecmp)
        h->mip |= 1ULL << IRQ_STI;
    else
        h->mip &= ~(1ULL << IRQ_STI);
}

void hart_take_trap(struct hart *h, uint64_t pc, uint64_t cause, uint64_t tval)
{
    bool irq = (cause >> 63) != 0;
    uint64_t code = cause & ~(1ULL << 63);
    uint64_t deleg = irq ? h->mideleg : h->medeleg;
    h->resv_valid = false;
    h->wfi = false;

    if (h->priv <= PRV_S && code < 64 && ((deleg >> code) & 1)) {
        h->scause = cause;
        h->sepc = pc;
        h->stval = tval;
        uint64_t s = h->mstatus;
        s &= ~(MSTATUS_SPP | MSTATUS_SPIE);
        if (h->priv == PRV_S)
            s |= MSTATUS_SPP;
        if (s & MSTATUS_SIE)
            s |= MSTATUS_SPIE;
        s &= ~MSTATUS_SIE;
        h->mstatus = s;
        h->priv = PRV_S;
        uint64_t base = h->stvec & ~3ULL;
        h->pc = (irq && (h->stvec & 1)) ? base + 4 * code : base;
    } else {
        h->mcause = cause;
        h->mepc = pc;
        h->mtval = tval;
        uint64_t s = h->mstatus;
        s &= ~(MSTATUS_MPP | MSTATUS_MPIE);
        s |= (uint64_t)h->priv << MSTATUS_MPP_SHIFT;
        if (s & MSTATUS_MIE)
            s |= MSTATUS_MPIE;
        s &= ~MSTATUS_MIE;
        h->mstatus = s;
        h->priv = PRV_M;
        uint64_t base = h->mtvec & ~3ULL;
        h->pc = (irq && (h->mtvec & 1)) ? base + 4 * code : base;
    }
    hart_update_mode(h);
}

/* Highest-priority interrupt in `bits` (MEI, MSI, MTI, SEI, SSI, STI). */
static int pick(uint64_t bits)
{
    static const int order[] = { IRQ_MEI, IRQ_MSI, IRQ_MTI, IRQ_SEI, IRQ_SSI, IRQ_STI };
    for (unsigned i = 0; i < ARRAY_SIZE(order); i++)
        if ((bits >> order[i]) & 1)
            return order[i];
    return -1;
}

bool hart_check_interrupts(struct hart *h)
{
    uint64_t pend = hart_mip(h) & h->mie;
    if (!pend)
        return false;
    uint64_t m = pend & ~h->mideleg;
    uint64_t s = pend & h->mideleg;
    bool m_on = h->priv < PRV_M || (h->mstatus & MSTATUS_MIE);
    bool s_on = h->priv < PRV_S || (h->priv == PRV_S && (h->mstatus & MSTATUS_SIE));
    uint64_t en = m_on ? m : 0;
    if (!en && s_on)
        en = s;
    if (!en)
        return false;
    int irq = pick(en);
    if (irq < 0)
        return false;
    hart_take_trap(h, h->pc, (1ULL << 63) | (uint64_t)irq, 0);
    return true;
}
