/* cpu/riscv: control and status registers (Privileged spec chapters 2, 3
 * and 4; Zicsr, Zicntr; Sstc).  CSR names follow the spec exactly.
 *
 * csr_read/csr_write apply the privilege rules of the CSR address (bits
 * 9:8 give the lowest privilege, bits 11:10 == 3 mean read-only) and the
 * extra gates (mcounteren/scounteren, TVM, menvcfg.STCE, FS).  An
 * unimplemented CSR number is an illegal instruction. */
#include <errno.h>

#include "cpu/riscv/hart_internal.h"

enum {
    CSR_FFLAGS = 0x001, CSR_FRM = 0x002, CSR_FCSR = 0x003,
    CSR_CYCLE = 0xc00, CSR_TIME = 0xc01, CSR_INSTRET = 0xc02,
    CSR_HPMCOUNTER3 = 0xc03, CSR_HPMCOUNTER31 = 0xc1f,
    CSR_SSTATUS = 0x100, CSR_SIE = 0x104, CSR_STVEC = 0x105,
    CSR_SCOUNTEREN = 0x106, CSR_SENVCFG = 0x10a, CSR_SSCRATCH = 0x140,
    CSR_SEPC = 0x141, CSR_SCAUSE = 0x142, CSR_STVAL = 0x143, CSR_SIP = 0x144,
    CSR_STIMECMP = 0x14d, CSR_SATP = 0x180,
    CSR_MVENDORID = 0xf11, CSR_MARCHID = 0xf12, CSR_MIMPID = 0xf13,
    CSR_MHARTID = 0xf14, CSR_MCONFIGPTR = 0xf15,
    CSR_MSTATUS = 0x300, CSR_MISA = 0x301, CSR_MEDELEG = 0x302,
    CSR_MIDELEG = 0x303, CSR_MIE = 0x304, CSR_MTVEC = 0x305,
    CSR_MCOUNTEREN = 0x306, CSR_MENVCFG = 0x30a, CSR_MCOUNTINHIBIT = 0x320,
    CSR_MHPMEVENT3 = 0x323, CSR_MHPMEVENT31 = 0x33f,
    CSR_MSCRATCH = 0x340, CSR_MEPC = 0x341, CSR_MCAUSE = 0x342,
    CSR_MTVAL = 0x343, CSR_MIP = 0x344,
    CSR_PMPCFG0 = 0x3a0, CSR_PMPCFG15 = 0x3af,
    CSR_PMPADDR0 = 0x3b0, CSR_PMPADDR63 = 0x3ef,
    CSR_MCYCLE = 0xb00, CSR_MINSTRET = 0xb02,
    CSR_MHPMCOUNTER3 = 0xb03, CSR_MHPMCOUNTER31 = 0xb1f,
};

#define MSTATUS_WMASK (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | \
                       MSTATUS_SPP | MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV |   \
                       MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW |    \
                       MSTATUS_TSR)
#define SSTATUS_MASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS |     \
                      MSTATUS_XS | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL |      \
                      MSTATUS_SD)
#define SSTATUS_WMASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS |    \
                       MSTATUS_SUM | MSTATUS_MXR)
#define MIP_MASK  0xaaaULL   /* SSIP MSIP STIP MTIP SEIP MEIP */
#define S_INTS    0x222ULL   /* SSIP STIP SEIP */
#define MEDELEG_MASK 0xb3ffULL


static uint64_t mstatus_read(const struct hart *h)
{
    uint64_t v = h->mstatus & ~MSTATUS_SD;
    if ((v & MSTATUS_FS) == MSTATUS_FS)
        v |= MSTATUS_SD;
    return v;
}

static void mstatus_write(struct hart *h, uint64_t v, uint64_t mask)
{
    uint64_t old = h->mstatus;
    uint64_t n = (old & ~mask) | (v & mask);
    /* MPP is WARL: the reserved value 2 keeps the old field. */
    if (((n & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2)
        n = (n & ~MSTATUS_MPP) | (old & MSTATUS_MPP);
    n &= ~MSTATUS_SD;
    if ((n & MSTATUS_FS) == MSTATUS_FS)
        n |= MSTATUS_SD;
    h->mstatus = n;
    uint64_t changed = old ^ n;
    if (changed & MSTATUS_MXR)
        tlb_flush_all(h);
    if (changed & (MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_SUM))
        hart_update_mode(h);
}

/* Counter access from S/U gated by mcounteren/scounteren (bit = csr & 31). */
static bool counter_allowed(const struct hart *h, unsigned csr)
{
    unsigned bit = csr & 31;
    if (h->priv == PRV_M)
        return true;
    if (!((h->mcounteren >> bit) & 1))
        return false;
    if (h->priv == PRV_U && !((h->scounteren >> bit) & 1))
        return false;
    return true;
}

static bool csr_exists_and_allowed(struct hart *h, unsigned csr)
{
    if (((csr >> 8) & 3) > h->priv)
        return false;
    switch (csr) {
    case CSR_FFLAGS: case CSR_FRM: case CSR_FCSR:
        return (h->mstatus & MSTATUS_FS) != 0;
    case CSR_SATP:
        return !(h->priv == PRV_S && (h->mstatus & MSTATUS_TVM));
    case CSR_STIMECMP:
        if (h->priv == PRV_M)
            return true;
        return (h->menvcfg & MENVCFG_STCE) && (h->mcounteren & 2);
    }
    if (csr >= CSR_CYCLE && csr <= CSR_HPMCOUNTER31)
        return counter_allowed(h, csr);
    return true;
}

int csr_read(struct hart *h, unsigned csr, uint64_t *val)
{
    if (!csr_exists_and_allowed(h, csr))
        return -1;
    switch (csr) {
    case CSR_FFLAGS: *val = h->fflags; return 0;
    case CSR_FRM: *val = h->frm; return 0;
    case CSR_FCSR: *val = (h->frm << 5) | h->fflags; return 0;
    case CSR_CYCLE: case CSR_MCYCLE: *val = h->instret + h->mcycle_offset; return 0;
    case CSR_INSTRET: case CSR_MINSTRET: *val = h->instret + h->minstret_offset; return 0;
    case CSR_TIME: *val = hart_time(h); return 0;
    case CSR_SSTATUS: *val = mstatus_read(h) & SSTATUS_MASK; return 0;
    case CSR_SIE: *val = h->mie & h->mideleg; return 0;
    case CSR_STVEC: *val = h->stvec; return 0;
    case CSR_SCOUNTEREN: *val = h->scounteren; return 0;
    case CSR_SENVCFG: *val = h->senvcfg; return 0;
    case CSR_SSCRATCH: *val = h->sscratch; return 0;
    case CSR_SEPC: *val = h->sepc; return 0;
    case CSR_SCAUSE: *val = h->scause; return 0;
    case CSR_STVAL: *val = h->stval; return 0;
    case CSR_SIP: hart_update_stip(h); *val = hart_mip(h) & h->mideleg; return 0;
    case CSR_STIMECMP: *val = h->stimecmp; return 0;
    case CSR_SATP: *val = h->satp; return 0;
    case CSR_MVENDORID: case CSR_MARCHID: case CSR_MIMPID: case CSR_MCONFIGPTR:
        *val = 0;
        return 0;
    case CSR_MHARTID: *val = h->cfg.hartid; return 0;
    case CSR_MSTATUS: *val = mstatus_read(h); return 0;
    case CSR_MISA: *val = h->misa; return 0;
    case CSR_MEDELEG: *val = h->medeleg; return 0;
    case CSR_MIDELEG: *val = h->mideleg; return 0;
    case CSR_MIE: *val = h->mie; return 0;
    case CSR_MTVEC: *val = h->mtvec; return 0;
    case CSR_MCOUNTEREN: *val = h->mcounteren; return 0;
    case CSR_MENVCFG: *val = h->menvcfg; return 0;
    case CSR_MCOUNTINHIBIT: *val = 0; return 0;
    case CSR_MSCRATCH: *val = h->mscratch; return 0;
    case CSR_MEPC: *val = h->mepc; return 0;
    case CSR_MCAUSE: *val = h->mcause; return 0;
    case CSR_MTVAL: *val = h->mtval; return 0;
    case CSR_MIP: hart_update_stip(h); *val = hart_mip(h); return 0;
    }
    if ((csr >= CSR_HPMCOUNTER3 && csr <= CSR_HPMCOUNTER31) ||
        (csr >= CSR_MHPMCOUNTER3 && csr <= CSR_MHPMCOUNTER31) ||
        (csr >= CSR_MHPMEVENT3 && csr <= CSR_MHPMEVENT31)) {
        *val = 0;
        return 0;
    }
    if (csr >= CSR_PMPCFG0 && csr <= CSR_PMPCFG15) {
        unsigned n = csr - CSR_PMPCFG0;
        if (n & 1)
            return -1;   /* odd pmpcfg registers do not exist on RV64 */
        uint64_t v = 0;
        for (unsigned i = 0; i < 8; i++) {
            unsigned e = n * 4 + i;
            if (e < PMP_ENTRIES)
                v |= (uint64_t)h->pmpcfg[e] << (8 * i);
        }
        *val = v;
        return 0;
    }
    if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR63) {
        unsigned e = csr - CSR_PMPADDR0;
        *val = e < PMP_ENTRIES ? h->pmpaddr[e] : 0;
        return 0;
    }
    return -1;
}

int csr_write(struct hart *h, unsigned csr, uint64_t v)
{
    if (!csr_exists_and_allowed(h, csr) || (csr >> 10) == 3)
        return -1;
    switch (csr) {
    case CSR_FFLAGS: h->fflags = v & 0x1f; goto fs_dirty;
    case CSR_FRM: h->frm = v & 7; goto fs_dirty;
    case CSR_FCSR: h->fflags = v & 0x1f; h->frm = (v >> 5) & 7; goto fs_dirty;
    case CSR_MCYCLE: h->mcycle_offset = v - (h->instret + 1); return 0;
    case CSR_MINSTRET: h->minstret_offset = v - (h->instret + 1); return 0;
    case CSR_SSTATUS: mstatus_write(h, v, SSTATUS_WMASK); return 0;
    case CSR_SIE:
        h->mie = (h->mie & ~h->mideleg) | (v & h->mideleg & S_INTS);
        return 0;
    case CSR_STVEC: h->stvec = v & ~2ULL; return 0;
    case CSR_SCOUNTEREN: h->scounteren = (uint32_t)v; return 0;
    case CSR_SENVCFG: h->senvcfg = v & MENVCFG_FIOM; return 0;
    case CSR_SSCRATCH: h->sscratch = v; return 0;
    case CSR_SEPC: h->sepc = v & ~1ULL; return 0;
    case CSR_SCAUSE: h->scause = v; return 0;
    case CSR_STVAL: h->stval = v; return 0;
    case CSR_SIP:
        h->mip = (h->mip & ~(h->mideleg & 2)) | (v & h->mideleg & 2);
        return 0;
    case CSR_STIMECMP: h->stimecmp = v; hart_update_stip(h); return 0;
    case CSR_SATP: {
        unsigned mode = (unsigned)(v >> 60);
        if (mode != SATP_MODE_BARE && mode != SATP_MODE_SV39 && mode != SATP_MODE_SV48)
            return 0;   /* unsupported MODE: the whole write has no effect */
        h->satp = v & ((0xfULL << 60) | (0xffffULL << 44) | ((1ULL << 44) - 1));
        tlb_flush_all(h);
        return 0;
    }
    case CSR_MSTATUS: mstatus_write(h, v, MSTATUS_WMASK); return 0;
    case CSR_MISA: return 0;   /* WARL, read-only here */
    case CSR_MEDELEG: h->medeleg = v & MEDELEG_MASK; return 0;
    case CSR_MIDELEG: h->mideleg = v & S_INTS; return 0;
    case CSR_MIE: h->mie = v & MIP_MASK; return 0;
    case CSR_MTVEC: h->mtvec = v & ~2ULL; return 0;
    case CSR_MCOUNTEREN: h->mcounteren = (uint32_t)v; return 0;
    case CSR_MENVCFG:
        h->menvcfg = v & (MENVCFG_FIOM | MENVCFG_STCE);
        hart_update_stip(h);
        return 0;
    case CSR_MCOUNTINHIBIT: return 0;
    case CSR_MSCRATCH: h->mscratch = v; return 0;
    case CSR_MEPC: h->mepc = v & ~1ULL; return 0;
    case CSR_MCAUSE: h->mcause = v; return 0;
    case CSR_MTVAL: h->mtval = v; return 0;
    case CSR_MIP: {
        uint64_t mask = 0x202;   /* SSIP, SEIP */
        if (!(h->menvcfg & MENVCFG_STCE))
            mask |= 0x20;        /* STIP is software's when Sstc is off */
        h->mip = (h->mip & ~mask) | (v & mask);
        return 0;
    }
    }
    if ((csr >= CSR_MHPMCOUNTER3 && csr <= CSR_MHPMCOUNTER31) ||
        (csr >= CSR_MHPMEVENT3 && csr <= CSR_MHPMEVENT31))
        return 0;   /* hardwired to zero */
    if (csr >= CSR_PMPCFG0 && csr <= CSR_PMPCFG15) {
        unsigned n = csr - CSR_PMPCFG0;
        if (n & 1)
            return -1;
        for (unsigned i = 0; i < 8; i++)
            pmp_write_cfg(h, (int)(n * 4 + i), (uint8_t)(v >> (8 * i)));
        pmp_update(h);
        return 0;
    }
    if (csr >= CSR_PMPADDR0 && csr <= CSR_PMPADDR63) {
        pmp_write_addr(h, (int)(csr - CSR_PMPADDR0), v);
        pmp_update(h);
        return 0;
    }
    return -1;

fs_dirty:
    h->mstatus |= MSTATUS_FS | MSTATUS_SD;
    return 0;
}

uint64_t csr_rmw_base(const struct hart *h, unsigned csr, uint64_t read)
{
    /* Without this, an IPI sent with `csrs mip, SSIP` while the PLIC's
     * wire is high would latch SEIP for ever (an interrupt storm). */
    if (csr == CSR_MIP)
        return h->mip;
    if (csr == CSR_SIP)
        return h->mip & h->mideleg;
    return read;
}

int hart_peek_csr(struct hart *h, unsigned csr, uint64_t *val)
{
    unsigned saved = h->priv;
    uint64_t saved_status = h->mstatus;
    h->priv = PRV_M;
    h->mstatus |= MSTATUS_FS;   /* let fcsr be read */
    int r = csr_read(h, csr, val);
    h->priv = saved;
    h->mstatus = saved_status;
    return r ? -ENOENT : 0;
}
