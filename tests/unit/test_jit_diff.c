/* Randomised differential test of the block translator (docs/cpu.md):
 * random RV64GC programs run from the same state on a hart that
 * translates every block at its first entry (hot = 1; at its third, the
 * last pass, for one seed in four: blocks then start from state the
 * interpreter left) and on a hart that only interprets; both must end in
 * the same state: x1..x31, f0..f31, fflags/frm, pc, mstatus, mcause/mepc/
 * mtval, the CSRs the programs use (sscratch, sepc, scause, stval, mie,
 * mip), minstret and the two scratch pages they load from and store to.
 *
 * A program: PROG_INSNS random instructions, 32-bit and compressed mixed
 * (so blocks hold 2-byte-aligned instructions), the whole body repeated
 * LOOPS times by a counter in x31 (so translated blocks are re-entered and
 * chained), then an ebreak; loaded at a page start or (one in two) so
 * that it crosses into the next page at a 2-byte boundary, where a 32-bit
 * instruction may straddle the two.  The instructions: RV64I ALU register
 * and immediate forms, W forms, M, Zba, Zbb, Zbs, Zicond, LUI/AUIPC,
 * loads and stores of every width at aligned and misaligned offsets around
 * x30, forward branches and jumps, AUIPC+JALR and AUIPC+ADDI+C.JR/C.JALR
 * jumps to a computed target; RVC arithmetic (C.ADDI4SPN too), loads and
 * stores through x9 (near the end of the first scratch page, so some
 * cross it) and sp, C.BEQZ/C.BNEZ/C.J forward; A: AMOs on aligned scratch
 * words and LR/SC pairs (sometimes with a store to the reserved word
 * between or a second SC after; sometimes an SC alone, on the word an LR
 * reserved before or another); the CSR instructions that run inside a
 * block (jit_csr_in_block), register and immediate forms, with values
 * that keep frm valid, and now and then sstatus.FS Initial or Clean; F/D
 * arithmetic, conversions, compares, moves, loads and stores, single and
 * double (translated inside blocks since jit_x86_64_fp.c).
 *
 * One program in TRAP_EVERY gets one trapping instruction somewhere in its
 * body: a load from address 0 (access fault), an ecall, an illegal
 * instruction (16-bit zero, a write to the read-only cycle CSR, an FP op
 * with a reserved rounding mode, an F/D instruction after sstatus.FS was
 * turned off), or a misaligned AMO/LR/SC: a trap in
 * the middle of a block, where the translator must have written back
 * every register the instructions before it changed.  The trap handler
 * is `j .`, so the first trap's mcause/mepc/mtval stay and both harts
 * spin until the same budget.
 *
 * One program in TIGHT_EVERY (never a trap seed) is a tight loop instead:
 * a short straight-line body over x5..x10 only (dependent chains, every
 * register of the block held in a host register), at a page start, so the
 * block branches back to its own start TIGHT_LOOPS times; it also loads
 * through x29, which walks 256 bytes a pass towards the end of RAM and
 * faults in a random pass (or never): a fault after the block has gone
 * round its loop.  It ends within the first 1000-instruction slice (a
 * slice may end at another instruction translated and interpreted, which
 * would show in minstret only).
 *
 * Seeds: SEEDS fixed ones; VESSEL_JIT_DIFF_SEED=N runs N only (to replay
 * a failure, whose message gives the seed and the first difference),
 * VESSEL_JIT_DIFF_SEEDS=N runs 1..N (a longer search);
 * with it, VESSEL_JIT_DIFF_DUMP=FILE writes that program's bytes for a
 * disassembler and prints their load address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/riscv/hart_internal.h"
#include "mem/mem.h"
#include "util/vclock.h"

#define RAM 0x80000000ULL
#define PROG_PAGE (RAM + 0x1000)      /* programs start in it or end in the next */
#define HANDLER (RAM + 0x100)
#define SCRATCH (RAM + 0x20000)        /* two pages */
#define PROG_INSNS 160
#define MAX_INSNS (PROG_INSNS + 16)    /* a group started at the end, the tail */
#define LOOPS 3
#define TRAP_EVERY 4
#define TIGHT_EVERY 8          /* seeds 3, 11, 19, ...: never a TRAP_EVERY seed */
#define TIGHT_LOOPS 24
#define RAM_SIZE (1u << 20)
#define SEEDS 2000
#define BUDGET 20000

/* Registers with a fixed role, never a destination: sp and x9 point into
 * the scratch page for the compressed loads and stores (x9 is a
 * compressed register, x8..x15), x30 at the middle of the first scratch
 * page for the others, x31 counts passes. */
#define REG_SP 2
#define REG_CBASE 9
#define REG_BASE 30
#define REG_LOOP 31
#define REG_WALK 29            /* a tight program's walking pointer */

/* CSR numbers (Privileged ISA 2.2, Unprivileged ISA chapter 21.2). */
enum {
    CSR_FFLAGS = 0x001, CSR_FRM = 0x002, CSR_FCSR = 0x003, CSR_SSTATUS = 0x100,
    CSR_SIE = 0x104, CSR_SSCRATCH = 0x140, CSR_SEPC = 0x141, CSR_SCAUSE = 0x142,
    CSR_STVAL = 0x143, CSR_SIP = 0x144, CSR_CYCLE = 0xc00,
};

struct env {
    struct mem *mem;
    struct vclock clock;
    struct hart *h;
};

/* One generated instruction.  Branches and jumps name their target by
 * index; their offsets are filled in once every length is known. */
enum { K_PLAIN, K_B, K_JAL, K_CB, K_CJ, K_ITGT };
struct ginsn {
    uint32_t raw;
    uint8_t len;        /* 2 or 4 bytes */
    uint8_t kind;
    bool no_land;       /* no branch may target it: it needs the ones before it */
    int target;         /* index, for all but K_PLAIN */
};
struct prog {
    struct ginsn in[MAX_INSNS];
    unsigned n;
    unsigned off[MAX_INSNS];
    uint8_t bytes[MAX_INSNS * 4];
    unsigned size;
    unsigned ebreak_off;
    uint64_t base;      /* load address */
    int lr_off;         /* offset from x30 of the last LR (INT32_MIN: none yet) */
    unsigned lr_w;      /* and its width: 1 = .W */
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
    /* xorshift64*: deterministic per seed, no libc state */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }
static int simm(int lo, int hi) { return lo + (int)pick((unsigned)(hi - lo + 1)); }

static uint32_t r_type(unsigned f7, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd,
                       unsigned op)
{
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static uint32_t i_type(int imm, unsigned rs1, unsigned f3, unsigned rd, unsigned op)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static uint32_t s_type(int imm, unsigned rs2, unsigned rs1, unsigned f3)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (u & 0x1f) << 7 | 0x23;
}
static uint32_t b_type(int imm, unsigned rs2, unsigned rs1, unsigned f3)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 | rs1 << 15 |
           f3 << 12 | ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | 0x63;
}
static uint32_t j_type(int imm, unsigned rd)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20 |
           ((u >> 12) & 0xff) << 12 | rd << 7 | 0x6f;
}
/* RVC immediates (Unprivileged ISA 16.2-16.5): CB branch and CJ jump
 * offsets, the CI 6-bit immediate. */
static uint32_t cb_imm(int imm)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 8) & 1) << 12 | ((u >> 3) & 3) << 10 | ((u >> 6) & 3) << 5 |
           ((u >> 1) & 3) << 3 | ((u >> 5) & 1) << 2;
}
static uint32_t cj_imm(int imm)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 11) & 1) << 12 | ((u >> 4) & 1) << 11 | ((u >> 8) & 3) << 9 |
           ((u >> 10) & 1) << 8 | ((u >> 6) & 1) << 7 | ((u >> 7) & 1) << 6 |
           ((u >> 1) & 7) << 3 | ((u >> 5) & 1) << 2;
}
static uint32_t ci(unsigned f3, int imm6, unsigned rd, unsigned q)
{
    uint32_t u = (uint32_t)imm6;
    return f3 << 13 | ((u >> 5) & 1) << 12 | rd << 7 | (u & 0x1f) << 2 | q;
}

static void put(struct prog *p, uint32_t raw, unsigned len)
{
    p->in[p->n++] = (struct ginsn){ .raw = raw, .len = (uint8_t)len, .kind = K_PLAIN,
                                   .target = -1 };
}
static void put_no_land(struct prog *p, uint32_t raw, unsigned len)
{
    put(p, raw, len);
    p->in[p->n - 1].no_land = true;
}
/* A forward branch or jump over 1..`max` of the instructions that follow. */
static void put_fwd(struct prog *p, uint32_t raw, unsigned len, unsigned kind, unsigned max)
{
    int t = (int)(p->n + 2 + pick(max));
    p->in[p->n++] = (struct ginsn){ .raw = raw, .len = (uint8_t)len, .kind = (uint8_t)kind,
                                   .target = t };
}

/* A destination among the registers without a fixed role; a source may be
 * any register. */
static unsigned dst(void)
{
    static const uint8_t pool[] = { 1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17,
                                    18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29 };
    return pool[pick(sizeof(pool))];
}
static unsigned src(void) { return pick(32); }
/* Compressed 3-bit register fields (x8..x15): a destination skips x9. */
static unsigned cdst(void)
{
    static const uint8_t pool[] = { 0, 2, 3, 4, 5, 6, 7 };
    return pool[pick(sizeof(pool))];
}
static unsigned csrc(void) { return pick(8); }

/* RV64I, M and Zba register forms, the immediate forms, LUI/AUIPC. */
static void gen_int(struct prog *p)
{
    static const struct { uint8_t f7, f3, op; } rr[] = {
        { 0x00, 0, 0x33 }, { 0x20, 0, 0x33 }, { 0x00, 1, 0x33 }, { 0x00, 2, 0x33 },
        { 0x00, 3, 0x33 }, { 0x00, 4, 0x33 }, { 0x00, 5, 0x33 }, { 0x20, 5, 0x33 },
        { 0x00, 6, 0x33 }, { 0x00, 7, 0x33 },                         /* RV64I */
        { 0x00, 0, 0x3b }, { 0x20, 0, 0x3b }, { 0x00, 1, 0x3b }, { 0x00, 5, 0x3b },
        { 0x20, 5, 0x3b },                                            /* W forms */
        { 0x01, 0, 0x33 }, { 0x01, 1, 0x33 }, { 0x01, 2, 0x33 }, { 0x01, 3, 0x33 },
        { 0x01, 4, 0x33 }, { 0x01, 5, 0x33 }, { 0x01, 6, 0x33 }, { 0x01, 7, 0x33 },
        { 0x01, 0, 0x3b }, { 0x01, 4, 0x3b }, { 0x01, 5, 0x3b }, { 0x01, 6, 0x3b },
        { 0x01, 7, 0x3b },                                            /* M */
        { 0x10, 2, 0x33 }, { 0x10, 4, 0x33 }, { 0x10, 6, 0x33 },      /* Zba shNadd */
    };
    static const unsigned f3i[] = { 0, 2, 3, 4, 6, 7 };   /* addi slti sltiu xori ori andi */
    unsigned k = pick(12), rd = dst(), rs = src();
    int imm = simm(-2048, 2047);
    if (k < 6) {
        unsigned i = pick(sizeof(rr) / sizeof(rr[0]));
        put(p, r_type(rr[i].f7, src(), rs, rr[i].f3, rd, rr[i].op), 4);
    } else if (k == 6) {
        put(p, i_type(imm, rs, 0, rd, 0x1b), 4);                      /* addiw */
    } else if (k == 7) {                                              /* shifts */
        unsigned f = pick(3), sh = pick(64);
        if (pick(2))
            put(p, i_type((f == 2 ? 0x400 : 0) | (sh & 31), rs, f == 0 ? 1 : 5, rd, 0x1b), 4);
        else
            put(p, i_type((f == 2 ? 0x400 : 0) | (int)sh, rs, f == 0 ? 1 : 5, rd, 0x13), 4);
    } else if (k < 11) {
        put(p, i_type(imm, rs, f3i[pick(6)], rd, 0x13), 4);
    } else {
        put(p, (uint32_t)(rnd() & 0xfffff000) | rd << 7 | (pick(2) ? 0x37 : 0x17), 4);
    }
}

/* Zbb, Zbs, Zicond and the Zba .uw forms (jit.h jit_can_translate). */
static void gen_bits(struct prog *p)
{
    static const struct { uint8_t f7, f3, op; } rr[] = {
        { 0x20, 7, 0x33 }, { 0x20, 6, 0x33 }, { 0x20, 4, 0x33 },      /* andn orn xnor */
        { 0x05, 4, 0x33 }, { 0x05, 5, 0x33 }, { 0x05, 6, 0x33 }, { 0x05, 7, 0x33 },
        { 0x30, 1, 0x33 }, { 0x30, 5, 0x33 }, { 0x30, 1, 0x3b }, { 0x30, 5, 0x3b },
        { 0x24, 1, 0x33 }, { 0x24, 5, 0x33 }, { 0x34, 1, 0x33 }, { 0x14, 1, 0x33 },
        { 0x07, 5, 0x33 }, { 0x07, 7, 0x33 },                         /* czero */
        { 0x04, 0, 0x3b }, { 0x10, 2, 0x3b }, { 0x10, 4, 0x3b }, { 0x10, 6, 0x3b },
    };
    static const struct { uint16_t imm; uint8_t f3, op; } un[] = {
        { 0x600, 1, 0x13 }, { 0x601, 1, 0x13 }, { 0x602, 1, 0x13 }, { 0x604, 1, 0x13 },
        { 0x605, 1, 0x13 }, { 0x600, 1, 0x1b }, { 0x601, 1, 0x1b }, { 0x602, 1, 0x1b },
        { 0x287, 5, 0x13 }, { 0x6b8, 5, 0x13 }, { 0x080, 4, 0x3b },   /* ... zext.h */
    };
    /* rori, bclri, bexti, binvi, bseti, slli.uw (6-bit shamt); roriw */
    static const struct { uint8_t f6, f3, op; } sh[] = {
        { 0x18, 5, 0x13 }, { 0x12, 1, 0x13 }, { 0x12, 5, 0x13 }, { 0x1a, 1, 0x13 },
        { 0x0a, 1, 0x13 }, { 0x02, 1, 0x1b },
    };
    unsigned k = pick(10), rd = dst(), rs = src();
    if (k < 5) {
        unsigned i = pick(sizeof(rr) / sizeof(rr[0]));
        put(p, r_type(rr[i].f7, src(), rs, rr[i].f3, rd, rr[i].op), 4);
    } else if (k < 7) {
        unsigned i = pick(sizeof(un) / sizeof(un[0]));
        put(p, i_type(un[i].imm, rs, un[i].f3, rd, un[i].op), 4);
    } else if (k < 9) {
        unsigned i = pick(sizeof(sh) / sizeof(sh[0]));
        put(p, i_type(sh[i].f6 << 6 | (int)pick(64), rs, sh[i].f3, rd, sh[i].op), 4);
    } else {
        put(p, i_type(0x600 | (int)pick(32), rs, 5, rd, 0x1b), 4);      /* roriw */
    }
}

/* Loads and stores of every width around x30, mostly aligned. */
static void gen_mem(struct prog *p)
{
    int off = simm(-2048, 2047);
    if (pick(3))
        off &= ~7;
    if (pick(2))
        put(p, i_type(off, REG_BASE, pick(7), dst(), 0x03), 4);
    else
        put(p, s_type(off, src(), REG_BASE, pick(4)), 4);
}

/* Forward branches and jumps, and a computed AUIPC+JALR jump. */
static void gen_jump(struct prog *p)
{
    static const unsigned f3[] = { 0, 1, 4, 5, 6, 7 };
    unsigned k = pick(8), rd = dst();
    if (k < 3) {
        /* x0 on either side one time in four (beqz, bgtz...: the
         * translator tests the other register instead) */
        unsigned r1 = pick(8) ? src() : 0, r2 = pick(8) ? src() : 0;
        put_fwd(p, b_type(0, r1, r2, f3[pick(6)]), 4, K_B, 3);
    } else if (k < 5) {
        put_fwd(p, j_type(0, pick(2) ? dst() : 0), 4, K_JAL, 3);
    } else if (k < 6) {                             /* auipc rd, 0; jalr rd2, imm(rd) */
        put(p, rd << 7 | 0x17, 4);
        put_fwd(p, i_type(0, rd, 0, pick(2) ? dst() : 0, 0x67), 4, K_ITGT, 3);
        p->in[p->n - 1].no_land = true;     /* entered alone it jumps through rd */
    } else {                                /* auipc rd, 0; addi rd, rd, imm; c.jr/c.jalr rd */
        put(p, rd << 7 | 0x17, 4);
        put_fwd(p, i_type(0, rd, 0, rd, 0x13), 4, K_ITGT, 3);
        p->in[p->n - 1].no_land = true;
        p->in[p->n - 1].target++;           /* past the jump */
        put_no_land(p, (k == 6 ? 0x8002u : 0x9002u) | rd << 7, 2);
    }
}

/* RVC (Unprivileged ISA chapter 16): the arithmetic, the loads and stores
 * through x9 and sp, and forward C.BEQZ/C.BNEZ/C.J. */
static void gen_rvc(struct prog *p, unsigned left)
{
    unsigned k = pick(23), rd = dst(), rdp = cdst(), rs2p = csrc();
    int nz = simm(1, 63) - (pick(2) ? 64 : 0);            /* non-zero 6-bit */
    unsigned sh = 1 + pick(63);
    switch (k) {
    case 0: put(p, ci(0, nz, rd, 1), 2); break;                               /* c.addi */
    case 1: put(p, ci(1, simm(-32, 31), rd, 1), 2); break;                    /* c.addiw */
    case 2: put(p, ci(2, simm(-32, 31), rd, 1), 2); break;                    /* c.li */
    case 3: put(p, ci(3, nz, rd, 1), 2); break;                               /* c.lui */
    case 4: put(p, 0x8002 | rd << 7 | (1 + pick(31)) << 2, 2); break;        /* c.mv */
    case 5: put(p, 0x9002 | rd << 7 | (1 + pick(31)) << 2, 2); break;        /* c.add */
    case 6:                                                   /* c.sub/xor/or/and */
        put(p, 0x8c01 | rdp << 7 | pick(4) << 5 | rs2p << 2, 2);
        break;
    case 7:                                                   /* c.subw/addw */
        put(p, 0x9c01 | rdp << 7 | pick(2) << 5 | rs2p << 2, 2);
        break;
    case 8: put(p, ci(0, (int)sh, rd, 2), 2); break;                          /* c.slli */
    case 9: put(p, ci(4, (int)sh, pick(2) << 3 | rdp, 1), 2); break;          /* c.srli/srai */
    case 10: put(p, ci(4, simm(-32, 31), 2 << 3 | rdp, 1), 2); break;         /* c.andi */
    case 11: case 12: case 13: case 14: {                     /* c.lw c.ld c.sw c.sd */
        bool d = k == 12 || k == 14, st = k >= 13;
        unsigned u = d ? 8 * pick(32) : 4 * pick(32);
        uint32_t imm = ((u >> 3) & 7) << 10 | (d ? ((u >> 6) & 3) << 5
                                                 : ((u >> 2) & 1) << 6 | ((u >> 6) & 1) << 5);
        put(p, (st ? 0xc000u : 0x4000u) | (d ? 0x2000u : 0) | imm | (REG_CBASE - 8) << 7 |
                   (st ? rs2p : rdp) << 2, 2);
        break;
    }
    case 15: {                                                /* c.lwsp */
        unsigned u = 4 * pick(64);
        put(p, 0x4002 | ((u >> 5) & 1) << 12 | rd << 7 | ((u >> 2) & 7) << 4 |
                   ((u >> 6) & 3) << 2, 2);
        break;
    }
    case 16: {                                                /* c.ldsp */
        unsigned u = 8 * pick(64);
        put(p, 0x6002 | ((u >> 5) & 1) << 12 | rd << 7 | ((u >> 3) & 3) << 5 |
                   ((u >> 6) & 7) << 2, 2);
        break;
    }
    case 17: {                                                /* c.swsp */
        unsigned u = 4 * pick(64);
        put(p, 0xc002 | ((u >> 2) & 15) << 9 | ((u >> 6) & 3) << 7 | src() << 2, 2);
        break;
    }
    case 18: {                                                /* c.sdsp */
        unsigned u = 8 * pick(64);
        put(p, 0xe002 | ((u >> 3) & 7) << 10 | ((u >> 6) & 7) << 7 | src() << 2, 2);
        break;
    }
    case 22: {                                                /* c.addi4spn */
        unsigned u = 4 * (1 + pick(255));
        put(p, ((u >> 4) & 3) << 11 | ((u >> 6) & 15) << 7 | ((u >> 2) & 1) << 6 |
                   ((u >> 3) & 1) << 5 | rdp << 2, 2);
        break;
    }
    default:                                                  /* c.beqz/bnez, c.j */
        if (left <= 4)
            put(p, 0x0001, 2);                                /* c.nop */
        else if (k < 21)
            put_fwd(p, (k == 19 ? 0xc001u : 0xe001u) | csrc() << 7, 2, K_CB, 3);
        else
            put_fwd(p, 0xa001, 2, K_CJ, 3);
        break;
    }
}

/* A: an AMO, an LR/SC pair or an SC alone on a scratch word whose address
 * an ADDI from x30 puts in a temporary; `misaligned`: at an address the
 * access size does not divide (an address-misaligned trap, Unprivileged
 * ISA 13.2, 13.4). */
static void gen_amo(struct prog *p, bool misaligned)
{
    static const unsigned f5[] = { 0x00, 0x01, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c };
    unsigned w = pick(2), f3 = w ? 2 : 3, t = dst(), k = pick(5);
    int off = simm(-2048, 2040) & (w ? ~3 : ~7);
    if (k == 4 && p->lr_off != INT32_MIN && pick(2)) {
        off = p->lr_off;                /* an SC alone on the word an LR reserved */
        w = p->lr_w;
        f3 = w ? 2 : 3;
    }
    if (misaligned)
        off += 1 + (int)pick(w ? 3 : 7);
    uint32_t aqrl = pick(4) << 25;
    put(p, i_type(off, REG_BASE, 0, t, 0x13), 4);
    if (k < 3) {
        put_no_land(p, r_type(0, src(), t, f3, dst(), 0x2f) | f5[pick(9)] << 27 | aqrl, 4);
        return;
    }
    if (k == 3) {                                              /* lr; [op]; sc */
        unsigned lrd = dst();
        while (lrd == t)
            lrd = dst();
        put_no_land(p, r_type(0, 0, t, f3, lrd, 0x2f) | 0x02u << 27 | aqrl, 4);
        p->lr_off = off;
        p->lr_w = w;
        unsigned mid = pick(3);
        if (mid == 1) {                         /* an ALU op that leaves t alone */
            unsigned r = dst();
            while (r == t)
                r = dst();
            put_no_land(p, r_type(0, src(), src(), 0, r, 0x33), 4);
        } else if (mid == 2) {                  /* a store to the reserved word */
            put_no_land(p, s_type(off, src(), REG_BASE, w ? 2 : 3), 4);
        }
    }
    unsigned rd = dst();
    while (k == 3 && rd == t)           /* the second SC below needs t */
        rd = dst();
    put_no_land(p, r_type(0, src(), t, f3, rd, 0x2f) | 0x03u << 27 | aqrl, 4);   /* sc */
    if (k == 3 && !pick(3))             /* a second SC: the first ended the reservation */
        put_no_land(p, r_type(0, src(), t, f3, dst(), 0x2f) | 0x03u << 27 | aqrl, 4);
}

/* CSR instructions that may run inside a block, with values that keep
 * FS on and frm a valid rounding mode (a reserved one would make the
 * next dynamic-rounding FP op illegal and end the program). */
static void gen_csr(struct prog *p)
{
    static const uint16_t csrs[] = { CSR_SSCRATCH, CSR_SEPC, CSR_SCAUSE, CSR_STVAL,
                                     CSR_FFLAGS, CSR_FRM, CSR_FCSR, CSR_SSTATUS, CSR_SIE,
                                     CSR_SIP };
    unsigned csr = csrs[pick(sizeof(csrs) / sizeof(csrs[0]))];
    unsigned f3 = pick(6), rs = src(), rd = pick(4) ? dst() : 0;
    f3 = f3 < 3 ? f3 + 1 : f3 + 2;                  /* 1..3 register, 5..7 immediate */
    unsigned zimm = pick(32);
    switch (csr) {
    case CSR_FRM:
        if (f3 < 4)
            rs = f3 == 3 ? rs : 0;                  /* csrrc only clears bits */
        else
            zimm = f3 == 5 ? pick(5) : f3 == 6 ? 0 : zimm;
        break;
    case CSR_FCSR:                                  /* zimm reaches fflags only */
        if (f3 < 4 && f3 != 3)
            rs = 0;
        break;
    case CSR_SSTATUS:                   /* a write of all of it would clear FS */
        if (!pick(16)) {
            /* FS to Initial or Clean: the next instruction that may
             * change the F state must make it Dirty again (Off is a
             * planted trap, gen_trap): lui t,6; csrc sstatus,t;
             * lui t,2|4; csrs sstatus,t */
            unsigned t = dst();
            put(p, 6u << 12 | t << 7 | 0x37, 4);
            put(p, i_type((int)csr, t, 3, 0, 0x73), 4);
            put(p, (2u + 2 * pick(2)) << 12 | t << 7 | 0x37, 4);
            put(p, i_type((int)csr, t, 2, 0, 0x73), 4);
            return;
        }
        f3 = f3 == 1 ? 2 : f3 == 5 ? 6 : f3;
        /* fall through */
    case CSR_SIE: case CSR_SIP:         /* SIE, SSIE, SSIP only */
        if (f3 < 4)
            rs = 0;
        zimm &= 2;
        break;
    }
    put(p, i_type((int)csr, f3 < 4 ? rs : zimm, f3, rd, 0x73), 4);
}

/* F/D: arithmetic, sign injection, min/max, compares, moves, conversions,
 * square roots, fused multiply-adds, FLD/FSD/FLW/FSW around x30, in both
 * precisions (single-precision ops on registers a double was written to
 * see the canonical NaN).  rm: mostly dynamic (frm). */
static void gen_fp(struct prog *p)
{
    unsigned k = pick(16), fd = pick(32), fa = pick(32), fb = pick(32);
    unsigned rm = pick(3) ? 7 : pick(5);
    switch (k) {
    case 0: case 1:                                  /* fadd fsub fmul fdiv .d */
        put(p, r_type(0x01 | pick(4) << 2, fb, fa, rm, fd, 0x53), 4);
        break;
    case 12:                                         /* fadd fsub fmul fdiv .s */
        put(p, r_type(pick(4) << 2, fb, fa, rm, fd, 0x53), 4);
        break;
    case 13:                                         /* fsqrt.s, fsqrt.d */
        put(p, r_type(0x2c | pick(2), 0, fa, rm, fd, 0x53), 4);
        break;
    case 14:                                         /* fmv.x.w, fmv.w.x */
        put(p, pick(2) ? r_type(0x70, 0, fa, 0, dst(), 0x53) : r_type(0x78, 0, src(), 0, fd, 0x53), 4);
        break;
    case 15: {                                       /* flw, fsw; f{n}madd/msub.s */
        int off = simm(-2048, 2047) & ~3;
        switch (pick(3)) {
        case 0: put(p, i_type(off, REG_BASE, 2, fd, 0x07), 4); break;
        case 1: put(p, (s_type(off, fb, REG_BASE, 2) & ~0x7fu) | 0x27, 4); break;
        default: put(p, r_type(pick(32) << 2, fb, fa, rm, fd, 0x43 | pick(4) << 2), 4); break;
        }
        break;
    }
    case 2: put(p, r_type(0x11, fb, fa, pick(3), fd, 0x53), 4); break;       /* fsgnj* */
    case 3: put(p, r_type(0x15, fb, fa, pick(2), fd, 0x53), 4); break;       /* fmin/max */
    case 4: put(p, r_type(0x50 | pick(2), fb, fa, pick(3), dst(), 0x53), 4); break;  /* fle flt feq */
    case 5: put(p, r_type(0x71, 0, fa, 0, dst(), 0x53), 4); break;           /* fmv.x.d */
    case 6: put(p, r_type(0x79, 0, src(), 0, fd, 0x53), 4); break;           /* fmv.d.x */
    case 7: put(p, r_type(0x61, pick(4), fa, rm, dst(), 0x53), 4); break;    /* fcvt.{w,l}[u].d */
    case 8: put(p, r_type(0x69, pick(4), src(), rm, fd, 0x53), 4); break;    /* fcvt.d.{w,l}[u] */
    case 9:                                                          /* fcvt.s.d, fcvt.d.s */
        put(p, pick(2) ? r_type(0x20, 1, fa, rm, fd, 0x53) : r_type(0x21, 0, fa, 0, fd, 0x53), 4);
        break;
    case 10:                                         /* f{n}madd.d, f{n}msub.d */
        put(p, r_type(pick(32) << 2 | 1, fb, fa, rm, fd, 0x43 | pick(4) << 2), 4);
        break;
    default: {                                                       /* fld, fsd */
        int off = simm(-2048, 2047);
        if (pick(3))
            off &= ~7;
        if (pick(2))
            put(p, i_type(off, REG_BASE, 3, fd, 0x07), 4);
        else
            put(p, (s_type(off, fb, REG_BASE, 3) & ~0x7fu) | 0x27, 4);
        break;
    }
    }
}

/* One trapping instruction (or group ending in one). */
static void gen_trap(struct prog *p)
{
    switch (pick(8)) {
    case 7: {   /* FS off (lui t,6; csrc sstatus,t), then an F/D instruction */
        unsigned t = dst();
        put(p, 6u << 12 | t << 7 | 0x37, 4);
        put(p, i_type(CSR_SSTATUS, t, 3, 0, 0x73), 4);
        gen_fp(p);
        break;
    }
    case 0: put(p, i_type(0, 0, 3, dst(), 0x03), 4); break;  /* ld rd, 0(x0): access fault */
    case 1: put(p, 0x00000073, 4); break;                    /* ecall */
    case 2: put(p, 0x0000, 2); break;                        /* illegal (16-bit zero) */
    case 3: put(p, i_type(CSR_CYCLE, 0, 1, 0, 0x73), 4); break;  /* csrw cycle: illegal */
    case 4: put(p, r_type(0x01, src(), src(), 5, src(), 0x53), 4); break;  /* fadd.d rm=5 */
    default: gen_amo(p, true); break;                        /* misaligned AMO/LR/SC */
    }
}

/* Emit one random instruction (or a small group); `left` is how many
 * slots remain before the loop tail, so forward targets stay inside the
 * body. */
static void gen_one(struct prog *p, unsigned left)
{
    unsigned k = pick(100);
    if (k < 24)
        gen_int(p);
    else if (k < 36)
        gen_mem(p);
    else if (k < 42 && left > 6)
        gen_jump(p);
    else if (k < 60)
        gen_rvc(p, left);
    else if (k < 70)
        gen_bits(p);
    else if (k < 78)
        gen_amo(p, false);
    else if (k < 86)
        gen_csr(p);
    else if (k < 94)
        gen_fp(p);
    else
        put(p, r_type(0, src(), src(), 0, dst(), 0x33), 4);
}

/* Lay the instructions out and fill in the branch and jump offsets. */
static void layout(struct prog *p)
{
    unsigned o = 0;
    for (unsigned i = 0; i < p->n; i++) {
        p->off[i] = o;
        o += p->in[i].len;
    }
    p->size = o;
    for (unsigned i = 0; i < p->n; i++) {
        struct ginsn *in = &p->in[i];
        uint32_t raw = in->raw;
        int d = in->kind == K_PLAIN ? 0 : (int)p->off[in->target] - (int)p->off[i];
        switch (in->kind) {
        case K_B: raw |= b_type(d, 0, 0, 0) & ~0x7fu; break;
        case K_JAL: raw |= j_type(d, 0) & ~0xfffu; break;
        case K_CB: raw |= cb_imm(d); break;
        case K_CJ: raw |= cj_imm(d); break;
        case K_ITGT:                        /* relative to the AUIPC before it */
            raw |= ((uint32_t)(d + (int)in[-1].len) & 0xfff) << 20;
            break;
        }
        for (unsigned b = 0; b < in->len; b++)
            p->bytes[p->off[i] + b] = (uint8_t)(raw >> (8 * b));
    }
}

static bool is_tight(uint64_t seed) { return seed % TIGHT_EVERY == 3; }

/* A tight program's body: register ALU ops over x5..x10, one load
 * through x29 and its step somewhere. */
static void gen_tight(struct prog *p)
{
    static const uint32_t f73[][2] = { {0, 0}, {0x20, 0}, {0, 4}, {0, 6}, {0, 7},
                                       {0, 1}, {0, 5}, {1, 0} };   /* add..srl, mul */
    unsigned len = 8 + pick(24), walk_at = pick(len);
    while (p->n < len) {
        if (p->n == walk_at) {
            put(p, i_type(0, REG_WALK, 3, 5 + pick(6), 0x03), 4);        /* ld */
            put(p, i_type(256, REG_WALK, 0, REG_WALK, 0x13), 4);         /* addi */
            continue;
        }
        unsigned k = pick(sizeof(f73) / sizeof(f73[0]));
        bool w = !pick(4) && f73[k][1] != 4 && f73[k][1] < 6;    /* a W form exists */
        put(p, r_type(f73[k][0], 5 + pick(6), 5 + pick(6), f73[k][1], 5 + pick(6),
                      w ? 0x3b : 0x33), 4);
    }
}

/* Build the program for `seed`. */
static void gen_program(uint64_t seed, struct prog *p)
{
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    p->n = 0;
    p->lr_off = INT32_MIN;
    bool trap = seed % TRAP_EVERY == 0;
    unsigned trap_at = trap ? 1 + pick(PROG_INSNS - 2) : ~0u;
    if (is_tight(seed))
        gen_tight(p);
    while (p->n < PROG_INSNS && !is_tight(seed)) {
        if (p->n >= trap_at) {
            gen_trap(p);
            trap_at = ~0u;
            continue;
        }
        gen_one(p, PROG_INSNS - p->n);
    }
    /* A jump onto an instruction that needs the ones before it (the JALR
     * of a pair, the AMO after its address) goes on to the next one that
     * does not: the first of the next group, or the loop tail. */
    for (unsigned i = 0; i < p->n; i++)
        while (p->in[i].kind != K_PLAIN && p->in[i].target < (int)p->n &&
               p->in[p->in[i].target].no_land)
            p->in[i].target++;
    /* Loop tail: addi x31,x31,-1; bne x31,x0,<start>; ebreak. */
    put(p, i_type(-1, REG_LOOP, 0, REG_LOOP, 0x13), 4);
    p->in[p->n++] = (struct ginsn){ .raw = b_type(0, 0, REG_LOOP, 1), .len = 4, .kind = K_B };
    put(p, 0x00100073, 4);
    layout(p);
    p->ebreak_off = p->off[p->n - 1];
    /* At a page start, or crossing into the next page (see the top). */
    p->base = PROG_PAGE;
    if (pick(2) && !is_tight(seed))
        p->base += 0x1000 - 2 * (1 + pick(p->size / 2 - 1));
}

static void env_init(struct env *e, bool jit, const struct prog *p, uint64_t seed)
{
    e->mem = mem_new();
    assert_non_null(e->mem);
    assert_int_equal(mem_add_ram(e->mem, RAM, RAM_SIZE), 0);
    vclock_init(&e->clock, VCLOCK_DEFAULT_HZ);
    struct hart_config cfg = { .hartid = 0, .mem = e->mem, .clock = &e->clock,
                               .reset_pc = p->base };
    e->h = hart_new(&cfg);
    assert_non_null(e->h);
    assert_int_equal(hart_set_jit(e->h, jit, !jit ? 0 : seed % 4 == 2 ? LOOPS : 1), 0);
    assert_int_equal(mem_write(e->mem, p->base, p->bytes, p->size), 0);
    uint32_t spin = j_type(0, 0);                            /* handler: j . */
    assert_int_equal(mem_write(e->mem, HANDLER, &spin, 4), 0);
    e->h->mtvec = HANDLER;
    /* The same pseudo-random registers, CSRs and scratch bytes for both. */
    rng_state = seed ^ 0xA5A5A5A5DEADBEEFULL;
    for (unsigned r = 1; r < 32; r++) {
        uint64_t v = rnd();
        hart_set_x(e->h, r, pick(4) ? v : v & 0xff);    /* some small values */
    }
    hart_set_x(e->h, REG_SP, SCRATCH + 1024);
    hart_set_x(e->h, REG_CBASE, SCRATCH + 4096 - 128 + pick(8));   /* c.lw/c.ld may cross */
    hart_set_x(e->h, REG_BASE, SCRATCH + 2048);
    hart_set_x(e->h, REG_LOOP, LOOPS);
    if (is_tight(seed)) {   /* x29 faults in pass 1..2*TIGHT_LOOPS (or never) */
        hart_set_x(e->h, REG_WALK, RAM + RAM_SIZE -
                   256ULL * (1 + seed / TIGHT_EVERY * 37 % (2 * TIGHT_LOOPS)));
        hart_set_x(e->h, REG_LOOP, TIGHT_LOOPS);
    }
    for (unsigned r = 0; r < 32; r++) {
        uint64_t v = rnd();
        /* some small integers and NaN-boxed singles among the random bits */
        e->h->f[r] = pick(4) ? v : pick(2) ? (uint64_t)(int64_t)(int8_t)v
                                           : 0xffffffff00000000ULL | (uint32_t)v;
    }
    e->h->mstatus |= MSTATUS_FS / 3;                /* FS = 1, Initial: FP on, clean */
    e->h->fflags = pick(32);
    e->h->frm = pick(5);
    e->h->sscratch = rnd();
    e->h->sepc = rnd() & ~1ULL;
    e->h->scause = rnd();
    e->h->stval = rnd();
    static uint8_t page[8192];
    for (size_t i = 0; i < sizeof(page); i++)
        page[i] = (uint8_t)rnd();
    assert_int_equal(mem_write(e->mem, SCRATCH, page, sizeof(page)), 0);
}

static void env_free(struct env *e)
{
    hart_free(e->h);
    mem_free(e->mem);
}

/* The first difference between the two harts' architectural state, or 0. */
static int compare(uint64_t seed, const struct env *a, const struct env *b, char *msg,
                   size_t len)
{
    unsigned long long s = (unsigned long long)seed;
    for (unsigned r = 1; r < 64; r++) {                 /* x1..x31, f0..f31 */
        uint64_t x = r < 32 ? hart_get_x(a->h, r) : a->h->f[r - 32];
        uint64_t y = r < 32 ? hart_get_x(b->h, r) : b->h->f[r - 32];
        if (x != y)
            return snprintf(msg, len, "seed %llu: %c%u translated 0x%llx, interpreted 0x%llx",
                            s, r < 32 ? 'x' : 'f', r % 32, (unsigned long long)x,
                            (unsigned long long)y);
    }
    const struct { const char *name; uint64_t x, y; } f[] = {
        { "pc", a->h->pc, b->h->pc }, { "mcause", a->h->mcause, b->h->mcause },
        { "mepc", a->h->mepc, b->h->mepc }, { "mtval", a->h->mtval, b->h->mtval },
        { "minstret", hart_instret(a->h), hart_instret(b->h) },
        { "mstatus", a->h->mstatus, b->h->mstatus },
        { "fflags", a->h->fflags, b->h->fflags }, { "frm", a->h->frm, b->h->frm },
        { "sscratch", a->h->sscratch, b->h->sscratch }, { "sepc", a->h->sepc, b->h->sepc },
        { "scause", a->h->scause, b->h->scause }, { "stval", a->h->stval, b->h->stval },
        { "mie", a->h->mie, b->h->mie }, { "mip", a->h->mip, b->h->mip },
        { "priv", a->h->priv, b->h->priv },
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i].x != f[i].y)
            return snprintf(msg, len, "seed %llu: %s translated 0x%llx, interpreted 0x%llx",
                            s, f[i].name, (unsigned long long)f[i].x,
                            (unsigned long long)f[i].y);
    static uint8_t pa[8192], pb[8192];
    assert_int_equal(mem_read(a->mem, SCRATCH, pa, sizeof(pa)), 0);
    assert_int_equal(mem_read(b->mem, SCRATCH, pb, sizeof(pb)), 0);
    for (size_t i = 0; i < sizeof(pa); i++)
        if (pa[i] != pb[i])
            return snprintf(msg, len, "seed %llu: scratch byte +%zu translated 0x%02x, "
                            "interpreted 0x%02x", s, i, pa[i], pb[i]);
    return 0;
}

/* Run one seed on both harts; 0 when they agree, else a message. */
static int run_seed(uint64_t seed, char *msg, size_t len)
{
    static struct prog p;
    gen_program(seed, &p);
    const char *dump = getenv("VESSEL_JIT_DIFF_DUMP");
    if (dump && getenv("VESSEL_JIT_DIFF_SEED")) {
        FILE *f = fopen(dump, "wb");
        if (!f || fwrite(p.bytes, 1, p.size, f) != p.size)
            fail_msg("VESSEL_JIT_DIFF_DUMP=%s: cannot write the program there", dump);
        fclose(f);
        printf("# seed %llu: %u bytes at 0x%llx in %s\n", (unsigned long long)seed, p.size,
               (unsigned long long)p.base, dump);
    }
    struct env a, b;
    env_init(&a, true, &p, seed);
    env_init(&b, false, &p, seed);
    /* Slices as the VMM runs them: several budgets in a row. */
    for (int i = 0; i < BUDGET / 1000; i++) {
        hart_run(a.h, 1000);
        hart_run(b.h, 1000);
    }
    int rc = 0;
    uint64_t dpages, jit_bytes;
    hart_cache_stats(a.h, &dpages, &jit_bytes);
    /* hart_exec_stats: the interpreting hart ran nothing translated; the
     * other ran at most its instret translated. */
    uint64_t ji, jb, jns, ii, ib, ins;
    hart_exec_stats(a.h, &ji, &jb, &jns);
    hart_exec_stats(b.h, &ii, &ib, &ins);
    if (ii || ib || ins || ji > hart_instret(a.h))
        rc = snprintf(msg, len, "seed %llu: exec stats: translated hart %llu insns in %llu "
                      "blocks of %llu; interpreting hart %llu, %llu", (unsigned long long)seed,
                      (unsigned long long)ji, (unsigned long long)jb,
                      (unsigned long long)hart_instret(a.h), (unsigned long long)ii,
                      (unsigned long long)ib);
#if defined(__x86_64__)                     /* a host with a translator translated */
    if (!rc && (!jit_bytes || !ji || !jb))
        rc = snprintf(msg, len, "seed %llu: nothing was translated", (unsigned long long)seed);
#endif
    if (!rc)
        rc = compare(seed, &a, &b, msg, len);
    env_free(&a);
    env_free(&b);
    return rc;
}

static void test_random_programs(void **state)
{
    (void)state;
    char msg[256];
    const char *one = getenv("VESSEL_JIT_DIFF_SEED"), *many = getenv("VESSEL_JIT_DIFF_SEEDS");
    uint64_t first = one ? strtoull(one, NULL, 0) : 1;
    uint64_t last = one ? first : many ? strtoull(many, NULL, 0) : SEEDS;
    for (uint64_t s = first; s <= last; s++)
        if (run_seed(s, msg, sizeof(msg)))
            fail_msg("%s (replay: VESSEL_JIT_DIFF_SEED=%llu)", msg, (unsigned long long)s);
}

/* The generator's programs do reach the states the test is about: some
 * trap in the middle of their body, of each kind; the others end at the
 * ebreak after LOOPS passes (all of those without a planted trap: the
 * generator emits valid code), having made FS dirty and changed the
 * CSRs (a test that cannot fail is no test). */
static void test_programs_cover_traps_and_loops(void **state)
{
    (void)state;
    unsigned faults = 0, ecalls = 0, illegal = 0, misaligned = 0, ebreaks = 0;
    unsigned fs_dirty = 0, csr_changed = 0, tight_faults = 0, tight_ends = 0;
    static struct prog p;
    for (uint64_t s = 1; s <= 160; s++) {
        gen_program(s, &p);
        struct env e;
        env_init(&e, false, &p, s);
        uint64_t sscratch = e.h->sscratch;
        hart_run(e.h, BUDGET);
        uint64_t c = e.h->mcause;
        faults += c == 5 && e.h->mtval == 0;
        ecalls += c == 11;
        illegal += c == 2;
        misaligned += c == 4 || c == 6;
        bool ended = c == 3 && e.h->mepc == p.base + p.ebreak_off &&
                     hart_get_x(e.h, REG_LOOP) == 0;
        if (is_tight(s)) {  /* a fault in a later pass: x31 counted down */
            tight_faults += c == 5 && e.h->mtval >= RAM + RAM_SIZE &&
                            hart_get_x(e.h, REG_LOOP) < TIGHT_LOOPS;
            tight_ends += ended;
        } else if (ended) {
            ebreaks++;
            fs_dirty += (e.h->mstatus & MSTATUS_FS) == MSTATUS_FS;     /* Dirty */
            csr_changed += e.h->sscratch != sscratch;
        } else if (s % TRAP_EVERY) {
            /* only the planted instruction traps: the rest is valid code */
            fail_msg("seed %llu has no planted trap but stopped with mcause %llu at 0x%llx",
                     (unsigned long long)s, (unsigned long long)c,
                     (unsigned long long)e.h->mepc);
        }
        env_free(&e);
    }
    assert_true(faults >= 1);
    assert_true(ecalls >= 1);
    assert_true(illegal >= 1);
    assert_true(misaligned >= 1);
    assert_true(faults + ecalls + illegal + misaligned >= 14);
    assert_true(ebreaks >= 30);
    assert_true(tight_faults >= 2);
    assert_true(tight_ends >= 2);
    assert_true(fs_dirty >= ebreaks / 2);
    assert_true(csr_changed >= ebreaks / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_programs_cover_traps_and_loops),
        cmocka_unit_test(test_random_programs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
