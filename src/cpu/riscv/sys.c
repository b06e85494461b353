/* cpu/riscv: SYSTEM and fence instructions executed out of line: ECALL,
 * EBREAK, MRET, SRET, WFI, SFENCE.VMA, FENCE.I and the Zicsr CSR
 * instructions (Unprivileged ISA chapter 9 "Zicsr"; Privileged spec 3.3). */
#include "cpu/riscv/hart_internal.h"


static int illegal(struct hart *h, const struct insn *ip)
{
    h->exc_tval = ip->raw;
    return EXEC_EXC(EXC_ILLEGAL);
}

/* Let hart_run check interrupts before the next instruction, after a
 * change of enables, privilege or delegation, but only when an interrupt
 * is pending and enabled in mie: otherwise none can be taken whatever
 * changed.  Linux writes sstatus (SUM, SIE) and sscratch around every trap
 * and user access, and leaving the interpreter for each of them cost
 * more than the writes.  A bit that becomes pending later raises the
 * event itself (hart_set_irq), or, for the Sstc timer, is seen when
 * hart_run next samples the time (at the latest after SLICE_CHUNK
 * instructions). */
static void recheck_interrupts(struct hart *h)
{
    if (hart_mip(h) & h->mie)
        hart_set_event(h);
}

static int do_csr(struct hart *h, const struct insn *ip)
{
    unsigned csr = (unsigned)ip->imm & 0xfff;
    unsigned rd_field = (ip->raw >> 7) & 31;
    unsigned rs1_field = ip->aux;
    bool imm_form = ip->op >= OP_CSRRWI;
    uint64_t src = imm_form ? rs1_field : h->x[ip->rs1];
    bool is_rw = ip->op == OP_CSRRW || ip->op == OP_CSRRWI;
    bool do_read = !(is_rw && rd_field == 0);
    bool do_write = is_rw || rs1_field != 0;
    uint64_t old = 0;

    if (do_write && (csr >> 10) == 3)
        return illegal(h, ip);
    if (do_read && csr_read(h, csr, &old))
        return illegal(h, ip);
    if (do_write) {
        uint64_t base = csr_rmw_base(h, csr, old);
        uint64_t v = is_rw ? src
                   : (ip->op == OP_CSRRS || ip->op == OP_CSRRSI) ? base | src
                   : base & ~src;
        if (csr_write(h, csr, v))
            return illegal(h, ip);
        recheck_interrupts(h);   /* enables or delegation may have changed */
    }
    h->x[ip->rd] = old;
    h->x[32] = 0;
    return EXEC_NEXT;
}

int sys_exec(struct hart *h, const struct insn *ip, uint64_t pc)
{
    switch (ip->op) {
    case OP_ECALL:
        h->exc_tval = 0;
        return EXEC_EXC(EXC_ECALL_U + h->priv);
    case OP_EBREAK:
        h->exc_tval = pc;
        return EXEC_EXC(EXC_BREAKPOINT);
    case OP_MRET: {
        if (h->priv != PRV_M)
            return illegal(h, ip);
        uint64_t s = h->mstatus;
        unsigned mpp = (unsigned)((s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
        s = (s & ~MSTATUS_MIE) | ((s & MSTATUS_MPIE) ? MSTATUS_MIE : 0);
        s |= MSTATUS_MPIE;
        s &= ~MSTATUS_MPP;   /* MPP = U, the least-privileged mode */
        if (mpp != PRV_M)
            s &= ~MSTATUS_MPRV;
        h->mstatus = s;
        h->priv = mpp;
        h->pc = h->mepc;
        hart_update_mode(h);
        recheck_interrupts(h);
        return EXEC_JUMP;
    }
    case OP_SRET: {
        if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MSTATUS_TSR)))
            return illegal(h, ip);
        uint64_t s = h->mstatus;
        unsigned spp = (s & MSTATUS_SPP) ? PRV_S : PRV_U;
        s = (s & ~MSTATUS_SIE) | ((s & MSTATUS_SPIE) ? MSTATUS_SIE : 0);
        s |= MSTATUS_SPIE;
        s &= ~MSTATUS_SPP;
        s &= ~MSTATUS_MPRV;
        h->mstatus = s;
        h->priv = spp;
        h->pc = h->sepc;
        hart_update_mode(h);
        recheck_interrupts(h);
        return EXEC_JUMP;
    }
    case OP_WFI:
        if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MSTATUS_TW)))
            return illegal(h, ip);
        if (!(hart_mip(h) & h->mie))
            h->wfi = true;
        return EXEC_NEXT;
    case OP_SFENCE_VMA:
        if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MSTATUS_TVM)))
            return illegal(h, ip);
        /* Linux fences single pages often (every PTE it changes in a live
         * mapping); keeping the rest of the TLB saves thousands of walks. */
        if (ip->rs1)
            tlb_flush_page(h, h->x[ip->rs1]);
        else
            tlb_flush_all(h);
        return EXEC_NEXT;
    case OP_FENCE_I:
        dcache_fence_i(h);
        return EXEC_NEXT;
    case OP_CSRRW: case OP_CSRRS: case OP_CSRRC:
    case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
        return do_csr(h, ip);
    }
    return illegal(h, ip);
}
