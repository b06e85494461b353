/* cpu/riscv: saving and restoring a hart's architectural state.
 *
 * The "hart" section (util/sstate.h), version 1, holds what the ISA
 * defines and nothing the implementation caches: mhartid (checked on
 * restore), pc, privilege mode, the WFI flag, x1-x31, f0-f31, instret and
 * every implemented CSR's backing state, in the order hart_save writes
 * them.  Not saved, and rebuilt on restore: TLBs, decoded pages,
 * translated code, the data-TLB selection, PMP ranges.  Not saved: the
 * platform's interrupt wires (MSIP, MTIP, MEIP, SEIP), which the CLINT and
 * PLIC re-drive from their own restored state, and the LR/SC reservation,
 * which is dropped (an SC may fail for any reason: Unprivileged ISA
 * 8.2), so a restored LR/SC loop simply retries.
 *
 * A restore validates every field against what the hart could itself have
 * reached (the CSR write masks, MPP != 2, SXL = UXL = 64 bits, a supported
 * satp MODE, valid pmpcfg bytes, misa as this hart implements it) and
 * changes nothing unless all of it is valid: snapshot files are input. */
#include <errno.h>
#include <string.h>

#include "cpu/riscv/hart_internal.h"
#include "util/sstate.h"

#define HART_STATE_VERSION 1

/* The saved fields, gathered so a restore can validate before applying. */
struct hart_arch {
    uint64_t hartid, pc, instret;
    uint8_t priv, wfi;
    uint64_t x[32], f[32];
    uint64_t mstatus, misa, medeleg, mideleg, mie, mip;
    uint64_t mtvec, stvec, mscratch, sscratch, mepc, sepc;
    uint64_t mcause, scause, mtval, stval;
    uint32_t mcounteren, scounteren;
    uint64_t menvcfg, senvcfg, satp, stimecmp;
    uint8_t fflags, frm;
    uint64_t mcycle_offset, minstret_offset;
    uint8_t pmpcfg[PMP_ENTRIES];
    uint64_t pmpaddr[PMP_ENTRIES];
};

int hart_save(const struct hart *h, struct sstate_writer *w)
{
    sstate_begin(w, "hart", HART_STATE_VERSION);
    sstate_put_u64(w, h->cfg.hartid);
    sstate_put_u64(w, h->pc);
    sstate_put_u8(w, (uint8_t)h->priv);
    sstate_put_u8(w, h->wfi);
    for (unsigned i = 1; i < 32; i++)
        sstate_put_u64(w, h->x[i]);
    for (unsigned i = 0; i < 32; i++)
        sstate_put_u64(w, h->f[i]);
    sstate_put_u64(w, h->instret);
    const uint64_t csrs[] = {
        h->mstatus, h->misa, h->medeleg, h->mideleg, h->mie, h->mip,
        h->mtvec, h->stvec, h->mscratch, h->sscratch, h->mepc, h->sepc,
        h->mcause, h->scause, h->mtval, h->stval,
    };
    for (size_t i = 0; i < sizeof(csrs) / sizeof(csrs[0]); i++)
        sstate_put_u64(w, csrs[i]);
    sstate_put_u32(w, h->mcounteren);
    sstate_put_u32(w, h->scounteren);
    sstate_put_u64(w, h->menvcfg);
    sstate_put_u64(w, h->senvcfg);
    sstate_put_u64(w, h->satp);
    sstate_put_u64(w, h->stimecmp);
    sstate_put_u8(w, (uint8_t)h->fflags);
    sstate_put_u8(w, (uint8_t)h->frm);
    sstate_put_u64(w, h->mcycle_offset);
    sstate_put_u64(w, h->minstret_offset);
    sstate_put_u8(w, PMP_ENTRIES);
    sstate_put_bytes(w, h->pmpcfg, PMP_ENTRIES);
    for (unsigned i = 0; i < PMP_ENTRIES; i++)
        sstate_put_u64(w, h->pmpaddr[i]);
    return sstate_end(w);
}

static void read_arch(struct sstate_reader *r, struct hart_arch *a)
{
    a->hartid = sstate_get_u64(r);
    a->pc = sstate_get_u64(r);
    a->priv = sstate_get_u8(r);
    a->wfi = sstate_get_u8(r);
    a->x[0] = 0;
    for (unsigned i = 1; i < 32; i++)
        a->x[i] = sstate_get_u64(r);
    for (unsigned i = 0; i < 32; i++)
        a->f[i] = sstate_get_u64(r);
    a->instret = sstate_get_u64(r);
    uint64_t *csrs[] = {
        &a->mstatus, &a->misa, &a->medeleg, &a->mideleg, &a->mie, &a->mip,
        &a->mtvec, &a->stvec, &a->mscratch, &a->sscratch, &a->mepc, &a->sepc,
        &a->mcause, &a->scause, &a->mtval, &a->stval,
    };
    for (size_t i = 0; i < sizeof(csrs) / sizeof(csrs[0]); i++)
        *csrs[i] = sstate_get_u64(r);
    a->mcounteren = sstate_get_u32(r);
    a->scounteren = sstate_get_u32(r);
    a->menvcfg = sstate_get_u64(r);
    a->senvcfg = sstate_get_u64(r);
    a->satp = sstate_get_u64(r);
    a->stimecmp = sstate_get_u64(r);
    a->fflags = sstate_get_u8(r);
    a->frm = sstate_get_u8(r);
    a->mcycle_offset = sstate_get_u64(r);
    a->minstret_offset = sstate_get_u64(r);
    if (sstate_get_u8(r) != PMP_ENTRIES)
        sstate_fail(r, -EINVAL);
    sstate_get_bytes(r, a->pmpcfg, PMP_ENTRIES);
    for (unsigned i = 0; i < PMP_ENTRIES; i++)
        a->pmpaddr[i] = sstate_get_u64(r);
}

/* Could this hart have reached the state in `a` by itself? */
static bool arch_valid(const struct hart *h, const struct hart_arch *a)
{
    const uint64_t mstatus_ok = MSTATUS_WMASK | MSTATUS_SD | MSTATUS_UXL |
                                MSTATUS_SXL;
    unsigned satp_mode = (unsigned)(a->satp >> 60);
    const uint64_t satp_ok = (0xfULL << 60) | (0xffffULL << 44) |
                             ((1ULL << 44) - 1);
    if (a->hartid != h->cfg.hartid || a->misa != MISA_VALUE)
        return false;
    if (a->priv != PRV_U && a->priv != PRV_S && a->priv != PRV_M)
        return false;
    if (a->wfi > 1 || (a->pc & 1))
        return false;
    if ((a->mstatus & ~mstatus_ok) ||
        ((a->mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2 ||
        (a->mstatus & MSTATUS_UXL) != (2ULL << 32) ||
        (a->mstatus & MSTATUS_SXL) != (2ULL << 34))
        return false;
    if ((a->medeleg & ~MEDELEG_MASK) || (a->mideleg & ~S_INTS) ||
        (a->mie & ~MIP_MASK) || (a->mip & ~MIP_MASK))
        return false;
    if ((a->mtvec & 2) || (a->stvec & 2) || (a->mepc & 1) || (a->sepc & 1))
        return false;
    if ((a->menvcfg & ~(MENVCFG_FIOM | MENVCFG_STCE)) ||
        (a->senvcfg & ~MENVCFG_FIOM))
        return false;
    if ((a->satp & ~satp_ok) || (satp_mode != SATP_MODE_BARE &&
                                 satp_mode != SATP_MODE_SV39 &&
                                 satp_mode != SATP_MODE_SV48))
        return false;
    if (a->fflags > 0x1f || a->frm > 7)
        return false;
    for (unsigned i = 0; i < PMP_ENTRIES; i++)
        if (!pmp_cfg_valid(a->pmpcfg[i]) || (a->pmpaddr[i] >> 54))
            return false;
    return true;
}

int hart_restore(struct hart *h, struct sstate_reader *r)
{
    uint32_t version;
    int rc = sstate_open(r, "hart", HART_STATE_VERSION, &version);
    if (rc)
        return rc;
    struct hart_arch a;
    read_arch(r, &a);
    rc = sstate_close(r);
    if (rc)
        return rc;
    if (!arch_valid(h, &a))
        return sstate_fail(r, -EINVAL);

    h->pc = a.pc;
    h->priv = a.priv;
    h->wfi = a.wfi;
    memcpy(h->x, a.x, sizeof(a.x));
    h->x[32] = 0;
    memcpy(h->f, a.f, sizeof(a.f));
    h->instret = a.instret;
    h->mstatus = a.mstatus;
    h->medeleg = a.medeleg;
    h->mideleg = a.mideleg;
    h->mie = a.mie;
    h->mip = a.mip;
    h->mtvec = a.mtvec;
    h->stvec = a.stvec;
    h->mscratch = a.mscratch;
    h->sscratch = a.sscratch;
    h->mepc = a.mepc;
    h->sepc = a.sepc;
    h->mcause = a.mcause;
    h->scause = a.scause;
    h->mtval = a.mtval;
    h->stval = a.stval;
    h->mcounteren = a.mcounteren;
    h->scounteren = a.scounteren;
    h->menvcfg = a.menvcfg;
    h->senvcfg = a.senvcfg;
    h->satp = a.satp;
    h->stimecmp = a.stimecmp;
    h->fflags = a.fflags;
    h->frm = a.frm;
    h->mcycle_offset = a.mcycle_offset;
    h->minstret_offset = a.minstret_offset;
    memcpy(h->pmpcfg, a.pmpcfg, sizeof(a.pmpcfg));
    memcpy(h->pmpaddr, a.pmpaddr, sizeof(a.pmpaddr));
    h->resv_valid = false;

    /* Caches of the old state go; derived state is recomputed. */
    pmp_update(h);   /* also flushes the TLBs */
    dcache_reset(h);
    hart_update_mode(h);
    hart_set_event(h);
    return 0;
}
