/* cpu/riscv: control and status registers (Privileged spec chapters 2, 3
 * and 4; Zicsr, Zicntr; Sstc).  CSR names follow the spec exactly.
 *
 * One table, indexed by CSR number, holds every implemented CSR: its name,
 * the extra access gate beyond the privilege bits of its address (FS,
 * TVM, menvcfg.STCE, the counter-enable CSRs), its read and write
 * functions, and whether translated code may run an access to it inside a
 * block.  csr_read/csr_write (the instructions), hart_peek_csr (debugging,
 * tests), hart_csr_name (dumps) and the block translator (jit.h) all use
 * it, so the access rules live here and nowhere else (conventions rule 3).
 *
 * Address rules applied to every entry (Privileged spec 2.1): bits 9:8
 * give the lowest privilege that may access the CSR, bits 11:10 == 3 mean
 * read-only.  An unimplemented CSR number is an illegal instruction. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

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
    CSR_COUNT = 0x1000,
};


/* Access gates beyond the address's privilege bits. */
enum csr_gate {
    GATE_NONE,
    GATE_FS,       /* mstatus.FS != Off (F extension, 13.2) */
    GATE_TVM,      /* satp from S-mode traps when mstatus.TVM = 1 (3.1.6.5) */
    GATE_STCE,     /* stimecmp below M needs menvcfg.STCE and mcounteren.TM */
    GATE_COUNTER,  /* mcounteren/scounteren bit (csr & 31) (3.1.11) */
};

/* Entry flags. */
#define CSRF_IN_BLOCK 0x1  /* translated code may run an access inside a
                              block: it changes nothing a block depends on
                              beyond the data-TLB set (reloaded after) */
#define CSRF_STIP     0x2  /* an instruction's read first latches STIP
                              from stimecmp (Sstc), as the hart would have
                              at that instant */

struct csr_def;
typedef int (*csr_read_fn)(const struct hart *h, const struct csr_def *d,
                           unsigned csr, uint64_t *val);
typedef int (*csr_write_fn)(struct hart *h, const struct csr_def *d,
                            unsigned csr, uint64_t v);

struct csr_def {
    const char *name;   /* the spec's spelling; NULL: not implemented */
    uint16_t index0;    /* for numbered families (pmpaddr3): the CSR
                           number whose index is 0 */
    uint8_t gate;       /* enum csr_gate */
    uint8_t flags;      /* CSRF_* */
    uint16_t field;     /* plain registers: offsetof(struct hart, reg) */
    uint64_t wmask;     /* plain registers: the bits a write keeps (the
                           others read as zero) */
    csr_read_fn read;
    csr_write_fn write; /* NULL: writes are ignored (WARL, hardwired) */
};

/* ---- plain registers: a uint64_t field and a write mask ---- */

static int rd_field(const struct hart *h, const struct csr_def *d,
                    unsigned csr, uint64_t *val)
{
    *val = *(const uint64_t *)((const char *)h + d->field);
    return 0;
}

static int wr_field(struct hart *h, const struct csr_def *d, unsigned csr,
                    uint64_t v)
{
    *(uint64_t *)((char *)h + d->field) = v & d->wmask;
    return 0;
}

static int rd_zero(const struct hart *h, const struct csr_def *d,
                   unsigned csr, uint64_t *val)
{
    *val = 0;
    return 0;
}

/* ---- floating-point status (F extension 13.2) ---- */

static int fs_dirty(struct hart *h)
{
    h->mstatus |= MSTATUS_FS | MSTATUS_SD;
    return 0;
}

static int rd_fflags(const struct hart *h, const struct csr_def *d,
                     unsigned csr, uint64_t *val)
{
    *val = h->fflags;
    return 0;
}

static int wr_fflags(struct hart *h, const struct csr_def *d, unsigned csr,
                     uint64_t v)
{
    h->fflags = v & 0x1f;
    return fs_dirty(h);
}

static int rd_frm(const struct hart *h, const struct csr_def *d,
                  unsigned csr, uint64_t *val)
{
    *val = h->frm;
    return 0;
}

static int wr_frm(struct hart *h, const struct csr_def *d, unsigned csr,
                  uint64_t v)
{
    h->frm = v & 7;
    return fs_dirty(h);
}

static int rd_fcsr(const struct hart *h, const struct csr_def *d,
                   unsigned csr, uint64_t *val)
{
    *val = (h->frm << 5) | h->fflags;
    return 0;
}

static int wr_fcsr(struct hart *h, const struct csr_def *d, unsigned csr,
                   uint64_t v)
{
    h->fflags = v & 0x1f;
    h->frm = (v >> 5) & 7;
    return fs_dirty(h);
}

/* ---- counters and time (Zicntr; 3.1.11) ---- */

static int rd_cycle(const struct hart *h, const struct csr_def *d,
                    unsigned csr, uint64_t *val)
{
    *val = h->instret + h->mcycle_offset;
    return 0;
}

static int wr_mcycle(struct hart *h, const struct csr_def *d, unsigned csr,
                     uint64_t v)
{
    h->mcycle_offset = v - (h->instret + 1);
    return 0;
}

static int rd_instret(const struct hart *h, const struct csr_def *d,
                      unsigned csr, uint64_t *val)
{
    *val = h->instret + h->minstret_offset;
    return 0;
}

static int wr_minstret(struct hart *h, const struct csr_def *d, unsigned csr,
                       uint64_t v)
{
    h->minstret_offset = v - (h->instret + 1);
    return 0;
}

static int rd_time(const struct hart *h, const struct csr_def *d,
                   unsigned csr, uint64_t *val)
{
    *val = hart_time(h);
    return 0;
}

static int wr_counteren(struct hart *h, const struct csr_def *d,
                        unsigned csr, uint64_t v)
{
    if (csr == CSR_MCOUNTEREN)
        h->mcounteren = (uint32_t)v;
    else
        h->scounteren = (uint32_t)v;
    return 0;
}

static int rd_counteren(const struct hart *h, const struct csr_def *d,
                        unsigned csr, uint64_t *val)
{
    *val = csr == CSR_MCOUNTEREN ? h->mcounteren : h->scounteren;
    return 0;
}

/* ---- status (3.1.6, 4.1.1) ---- */

static uint64_t mstatus_value(const struct hart *h)
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

static int rd_mstatus(const struct hart *h, const struct csr_def *d,
                      unsigned csr, uint64_t *val)
{
    *val = mstatus_value(h) & (csr == CSR_SSTATUS ? SSTATUS_MASK : ~0ULL);
    return 0;
}

static int wr_mstatus(struct hart *h, const struct csr_def *d, unsigned csr,
                      uint64_t v)
{
    mstatus_write(h, v, csr == CSR_MSTATUS ? MSTATUS_WMASK : SSTATUS_WMASK);
    return 0;
}

/* ---- interrupts (3.1.9, 4.1.3) ---- */

/* mip as an instruction would read it now: the software bits, the
 * platform's wires and, under Sstc, STIP computed from stimecmp (the
 * value hart_update_stip would latch, without latching it). */
static uint64_t mip_value(const struct hart *h)
{
    uint64_t v = hart_mip(h);
    if (h->menvcfg & MENVCFG_STCE) {
        v &= ~(1ULL << IRQ_STI);
        if (hart_time(h) >= h->stimecmp)
            v |= 1ULL << IRQ_STI;
    }
    return v;
}

static int rd_mip(const struct hart *h, const struct csr_def *d,
                  unsigned csr, uint64_t *val)
{
    *val = mip_value(h) & (csr == CSR_MIP ? ~0ULL : h->mideleg);
    return 0;
}

static int wr_mip(struct hart *h, const struct csr_def *d, unsigned csr,
                  uint64_t v)
{
    uint64_t mask = 0x202;       /* SSIP, SEIP */
    if (csr == CSR_SIP)
        mask = h->mideleg & 2;   /* SSIP, when delegated */
    else if (!(h->menvcfg & MENVCFG_STCE))
        mask |= 0x20;            /* STIP is software's when Sstc is off */
    h->mip = (h->mip & ~mask) | (v & mask);
    return 0;
}

static int rd_sie(const struct hart *h, const struct csr_def *d,
                  unsigned csr, uint64_t *val)
{
    *val = h->mie & h->mideleg;
    return 0;
}

static int wr_sie(struct hart *h, const struct csr_def *d, unsigned csr,
                  uint64_t v)
{
    h->mie = (h->mie & ~h->mideleg) | (v & h->mideleg & S_INTS);
    return 0;
}

static int wr_stimecmp(struct hart *h, const struct csr_def *d,
                       unsigned csr, uint64_t v)
{
    h->stimecmp = v;
    hart_update_stip(h);
    return 0;
}

static int wr_menvcfg(struct hart *h, const struct csr_def *d, unsigned csr,
                      uint64_t v)
{
    h->menvcfg = v & (MENVCFG_FIOM | MENVCFG_STCE);
    hart_update_stip(h);
    return 0;
}

/* ---- translation (4.1.11) ---- */

static int wr_satp(struct hart *h, const struct csr_def *d, unsigned csr,
                   uint64_t v)
{
    unsigned mode = (unsigned)(v >> 60);
    if (mode != SATP_MODE_BARE && mode != SATP_MODE_SV39 && mode != SATP_MODE_SV48)
        return 0;   /* unsupported MODE: the whole write has no effect */
    h->satp = v & ((0xfULL << 60) | (0xffffULL << 44) | ((1ULL << 44) - 1));
    tlb_flush_all(h);
    return 0;
}

/* ---- machine information and PMP (3.1.1-3.1.5, 3.7) ---- */

static int rd_mhartid(const struct hart *h, const struct csr_def *d,
                      unsigned csr, uint64_t *val)
{
    *val = h->cfg.hartid;
    return 0;
}

static int rd_pmpcfg(const struct hart *h, const struct csr_def *d,
                     unsigned csr, uint64_t *val)
{
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

static int wr_pmpcfg(struct hart *h, const struct csr_def *d, unsigned csr,
                     uint64_t v)
{
    unsigned n = csr - CSR_PMPCFG0;
    if (n & 1)
        return -1;
    for (unsigned i = 0; i < 8; i++)
        pmp_write_cfg(h, (int)(n * 4 + i), (uint8_t)(v >> (8 * i)));
    pmp_update(h);
    return 0;
}

static int rd_pmpaddr(const struct hart *h, const struct csr_def *d,
                      unsigned csr, uint64_t *val)
{
    unsigned e = csr - CSR_PMPADDR0;
    *val = e < PMP_ENTRIES ? h->pmpaddr[e] : 0;
    return 0;
}

static int wr_pmpaddr(struct hart *h, const struct csr_def *d, unsigned csr,
                      uint64_t v)
{
    pmp_write_addr(h, (int)(csr - CSR_PMPADDR0), v);
    pmp_update(h);
    return 0;
}

/* ---- the table ---- */

#define FIELD(reg, mask) .field = offsetof(struct hart, reg), .wmask = (mask), \
                         .read = rd_field, .write = wr_field
#define ZERO .read = rd_zero
#define FAMILY(first) .index0 = (first)

static const struct csr_def csr_table[CSR_COUNT] = {
    [CSR_FFLAGS] = { "fflags", .gate = GATE_FS, .flags = CSRF_IN_BLOCK,
                     .read = rd_fflags, .write = wr_fflags },
    [CSR_FRM] = { "frm", .gate = GATE_FS, .flags = CSRF_IN_BLOCK,
                  .read = rd_frm, .write = wr_frm },
    [CSR_FCSR] = { "fcsr", .gate = GATE_FS, .flags = CSRF_IN_BLOCK,
                   .read = rd_fcsr, .write = wr_fcsr },

    [CSR_CYCLE] = { "cycle", .gate = GATE_COUNTER, .read = rd_cycle },
    [CSR_TIME] = { "time", .gate = GATE_COUNTER, .flags = CSRF_IN_BLOCK,
                   .read = rd_time },
    [CSR_INSTRET] = { "instret", .gate = GATE_COUNTER, .read = rd_instret },
    [CSR_HPMCOUNTER3 ... CSR_HPMCOUNTER31] = { "hpmcounter",
        FAMILY(CSR_CYCLE), .gate = GATE_COUNTER, ZERO },

    [CSR_SSTATUS] = { "sstatus", .flags = CSRF_IN_BLOCK, .read = rd_mstatus, .write = wr_mstatus },
    [CSR_SIE] = { "sie", .flags = CSRF_IN_BLOCK, .read = rd_sie,
                  .write = wr_sie },
    [CSR_STVEC] = { "stvec", FIELD(stvec, ~2ULL) },
    [CSR_SCOUNTEREN] = { "scounteren", .read = rd_counteren,
                         .write = wr_counteren },
    [CSR_SENVCFG] = { "senvcfg", FIELD(senvcfg, MENVCFG_FIOM) },
    [CSR_SSCRATCH] = { "sscratch", .flags = CSRF_IN_BLOCK,
                       FIELD(sscratch, ~0ULL) },
    [CSR_SEPC] = { "sepc", .flags = CSRF_IN_BLOCK, FIELD(sepc, ~1ULL) },
    [CSR_SCAUSE] = { "scause", .flags = CSRF_IN_BLOCK, FIELD(scause, ~0ULL) },
    [CSR_STVAL] = { "stval", .flags = CSRF_IN_BLOCK, FIELD(stval, ~0ULL) },
    [CSR_SIP] = { "sip", .flags = CSRF_IN_BLOCK | CSRF_STIP, .read = rd_mip,
                  .write = wr_mip },
    [CSR_STIMECMP] = { "stimecmp", .gate = GATE_STCE,
                       .field = offsetof(struct hart, stimecmp),
                       .read = rd_field, .write = wr_stimecmp },
    [CSR_SATP] = { "satp", .gate = GATE_TVM,
                   .field = offsetof(struct hart, satp), .read = rd_field,
                   .write = wr_satp },

    [CSR_MVENDORID] = { "mvendorid", ZERO },
    [CSR_MARCHID] = { "marchid", ZERO },
    [CSR_MIMPID] = { "mimpid", ZERO },
    [CSR_MHARTID] = { "mhartid", .read = rd_mhartid },
    [CSR_MCONFIGPTR] = { "mconfigptr", ZERO },

    [CSR_MSTATUS] = { "mstatus", .read = rd_mstatus,
                      .write = wr_mstatus },
    [CSR_MISA] = { "misa", .field = offsetof(struct hart, misa),
                   .read = rd_field },              /* WARL, read-only here */
    [CSR_MEDELEG] = { "medeleg", FIELD(medeleg, MEDELEG_MASK) },
    [CSR_MIDELEG] = { "mideleg", FIELD(mideleg, S_INTS) },
    [CSR_MIE] = { "mie", FIELD(mie, MIP_MASK) },
    [CSR_MTVEC] = { "mtvec", FIELD(mtvec, ~2ULL) },
    [CSR_MCOUNTEREN] = { "mcounteren", .read = rd_counteren,
                         .write = wr_counteren },
    [CSR_MENVCFG] = { "menvcfg", .field = offsetof(struct hart, menvcfg),
                      .read = rd_field, .write = wr_menvcfg },
    [CSR_MCOUNTINHIBIT] = { "mcountinhibit", ZERO },
    [CSR_MHPMEVENT3 ... CSR_MHPMEVENT31] = { "mhpmevent",
        FAMILY(CSR_MCOUNTINHIBIT), ZERO },
    [CSR_MSCRATCH] = { "mscratch", FIELD(mscratch, ~0ULL) },
    [CSR_MEPC] = { "mepc", FIELD(mepc, ~1ULL) },
    [CSR_MCAUSE] = { "mcause", FIELD(mcause, ~0ULL) },
    [CSR_MTVAL] = { "mtval", FIELD(mtval, ~0ULL) },
    [CSR_MIP] = { "mip", .flags = CSRF_STIP, .read = rd_mip, .write = wr_mip },
    [CSR_PMPCFG0 ... CSR_PMPCFG15] = { "pmpcfg", FAMILY(CSR_PMPCFG0),
        .read = rd_pmpcfg, .write = wr_pmpcfg },
    [CSR_PMPADDR0 ... CSR_PMPADDR63] = { "pmpaddr", FAMILY(CSR_PMPADDR0),
        .read = rd_pmpaddr, .write = wr_pmpaddr },

    [CSR_MCYCLE] = { "mcycle", .read = rd_cycle, .write = wr_mcycle },
    [CSR_MINSTRET] = { "minstret", .read = rd_instret, .write = wr_minstret },
    [CSR_MHPMCOUNTER3 ... CSR_MHPMCOUNTER31] = { "mhpmcounter",
        FAMILY(CSR_MCYCLE), ZERO },
};

static const struct csr_def *csr_lookup(unsigned csr)
{
    if (csr >= CSR_COUNT || !csr_table[csr].name)
        return NULL;
    return &csr_table[csr];
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

static bool gate_open(const struct hart *h, const struct csr_def *d,
                      unsigned csr)
{
    switch (d->gate) {
    case GATE_FS:
        return (h->mstatus & MSTATUS_FS) != 0;
    case GATE_TVM:
        return !(h->priv == PRV_S && (h->mstatus & MSTATUS_TVM));
    case GATE_STCE:
        return h->priv == PRV_M ||
               ((h->menvcfg & MENVCFG_STCE) && (h->mcounteren & 2));
    case GATE_COUNTER:
        return counter_allowed(h, csr);
    }
    return true;
}

/* The entry an instruction at the hart's privilege may access, or NULL. */
static const struct csr_def *csr_access(const struct hart *h, unsigned csr)
{
    const struct csr_def *d = csr_lookup(csr);
    if (!d || ((csr >> 8) & 3) > h->priv || !gate_open(h, d, csr))
        return NULL;
    return d;
}

int csr_read(struct hart *h, unsigned csr, uint64_t *val)
{
    const struct csr_def *d = csr_access(h, csr);
    if (!d)
        return -1;
    if (d->flags & CSRF_STIP)
        hart_update_stip(h);
    return d->read(h, d, csr, val);
}

int csr_write(struct hart *h, unsigned csr, uint64_t v)
{
    const struct csr_def *d = csr_access(h, csr);
    if (!d || (csr >> 10) == 3)
        return -1;
    return d->write ? d->write(h, d, csr, v) : 0;
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

bool csr_in_block(unsigned csr)
{
    const struct csr_def *d = csr_lookup(csr);
    return d && (d->flags & CSRF_IN_BLOCK);
}

int hart_peek_csr(const struct hart *h, unsigned csr, uint64_t *val)
{
    const struct csr_def *d = csr_lookup(csr);
    if (!d || d->read(h, d, csr, val))
        return -ENOENT;
    return 0;
}

int hart_csr_name(unsigned csr, char *buf, size_t len)
{
    const struct csr_def *d = csr_lookup(csr);
    if (!d || (csr >= CSR_PMPCFG0 && csr <= CSR_PMPCFG15 && (csr & 1)))
        return -ENOENT;
    int n = d->index0 ? snprintf(buf, len, "%s%u", d->name, csr - d->index0)
                      : snprintf(buf, len, "%s", d->name);
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
