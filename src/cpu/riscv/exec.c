/* cpu/riscv: the interpreter loop.
 *
 * Instructions are decoded once into per-physical-page arrays of struct
 * insn (dcache.c) and executed here with a computed-goto dispatch on the
 * decoded op: no switch over raw opcode bits on the hot path.
 *
 * The pc is implicit while running inside a page: ip points at the slot
 * of the current instruction, and pc = vbase + 2 * (ip - ibase).  Falling
 * off the end of a page reaches a sentinel slot that re-translates.  Taken
 * branches that stay in the page jump straight to the target slot; they
 * also poll the budget and the event flag (interrupts, kicks), which is
 * what bounds a slice (design rule 3).
 *
 * Loads and stores first try the software TLB (a tag compare and an add);
 * a miss, an MMIO page or a page-crossing access takes the slow path in
 * mmu.c.  Everything that can change privilege, translation or interrupt
 * enables (CSR writes, xRET, traps, SFENCE.VMA, FENCE.I) goes out of line
 * and resumes through `refetch`, which re-reads h->pc. */
#include <string.h>

#include "cpu/riscv/fpu.h"
#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"


#define LBL(name) [OP_##name] = &&L_##name,
#define SYS_LBL(name) [OP_##name] = &&L_SYS,
#define AMO_LBL(name) [OP_##name] = &&L_AMO,
#define FP_LBL(name) [OP_##name] = &&L_FP,

/* The slots are shared with the VM's other harts, one of which may
 * publish a block at a slot (OP_JIT, its raw field the code's offset)
 * between this hart's dispatch on the slot's op and its reads of the
 * rest (dcache.c).  The fields an instruction's execution reads stay; a
 * handler that reads op again or raw takes a copy first. */

/* Copy *ip into *c if it still holds the instruction dispatched on (not
 * OP_JIT, not OP_DECODE); else false: dispatch again. */
static inline bool slot_copy(const struct insn *ip, struct insn *c)
{
    uint64_t w = insn_word(ip);
    if ((uint16_t)w == OP_JIT || (uint16_t)w == OP_DECODE)
        return false;
    memcpy(c, &w, 8);
    memcpy((uint8_t *)c + 8, (const uint8_t *)ip + 8, 8);
    return true;
}

/* The instruction bits of slot ip (for mtval): its raw field, or, if a
 * block was published there meanwhile, the page's snapshot. */
static uint32_t slot_bits(const struct hart *h, const struct insn *ibase,
                          const struct insn *ip)
{
    uint64_t w = insn_word(ip);
    if ((uint16_t)w != OP_JIT || ibase == h->cross)
        return (uint32_t)(w >> 32);
    const struct dpage *d = (const struct dpage *)(const void *)ibase;
    unsigned off = (unsigned)(ip - ibase) << 1;
    uint32_t v = 0;
    memcpy(&v, &d->code[off], ip->len == 2 && off + 4 <= 4096 ? 4 : 2);
    return v;
}

uint64_t hart_interp(struct hart *h, int64_t n)
{
    static const void *const labels[OP_COUNT] = {
        RV_INT_OPS(LBL) RV_SYS_OPS(SYS_LBL) RV_AMO_OPS(AMO_LBL) RV_FP_OPS(FP_LBL)
    };
    uint64_t *const x = h->x;
    const int64_t n_start = n;
    /* Traps consume budget (so a trap storm still ends the slice, design
     * rule 3) but retire nothing. */
    int64_t traps = 0;
    struct insn *ip, *ibase;
    uint64_t vbase, vpage;
    struct tlb_entry *dtlb_ld, *dtlb_st;
    int cause;

#define PC() (vbase + ((uint64_t)(ip - ibase) << 1))
#define DISPATCH() goto *labels[ip->op]
#define NEXT() do { n--; ip += ip->len; DISPATCH(); } while (0)
#define RS1 x[ip->rs1]
#define RS2 x[ip->rs2]
#define RD x[ip->rd]
#define IMM ((int64_t)ip->imm)
#define EVENTS() atomic_load_explicit(&h->events, memory_order_relaxed)
#define JUMP(target) do {                                                      \
        uint64_t t_ = (target);                                                \
        n--;                                                                   \
        if (likely((t_ >> 12) == vpage) && likely(n > 0) && likely(!EVENTS())) { \
            ip = ibase + ((t_ & 0xfff) >> 1);                                  \
            ENTER_BLOCK();                                                     \
        }                                                                      \
        h->pc = t_;                                                            \
        goto refetch;                                                          \
    } while (0)
/* At a block start (branch target, refetch): run its translation, or
 * translate it now. */
#define ENTER_BLOCK() do {                                                     \
        if (likely(ip->op == OP_JIT))                                          \
            goto L_JIT;                                                        \
        if (unlikely(ip->op == OP_DECODE))                                     \
            dcache_decode_slot((struct dpage *)ibase, (unsigned)(ip - ibase) << 1); \
        /* aux is unused by translatable ops: it counts entries. */          \
        if (h->jit_enabled && jit_can_translate(ip->op) && ++ip->aux >= h->jit_hot && \
            jit_translate(h, (struct dpage *)ibase, (unsigned)(ip - ibase) << 1)) \
            goto L_JIT;                                                        \
        DISPATCH();                                                            \
    } while (0)
/* Both ways out of a conditional branch start a block. */
#define BRANCH(cond) do {                                                      \
        if (cond)                                                              \
            JUMP(PC() + IMM);                                                  \
        n--;                                                                   \
        ip += ip->len;                                                         \
        ENTER_BLOCK();                                                         \
    } while (0)
#define EXC(c) do { cause = (c); goto exception; } while (0)
#define TLB_IDX(a) tlb_index((a) >> 12)
#define LOAD(type, sz) do {                                                    \
        uint64_t a_ = RS1 + IMM;                                               \
        struct tlb_entry *e_ = &dtlb_ld[TLB_IDX(a_)];                          \
        if (likely(e_->vtag == a_ >> 12) && likely((a_ & 0xfff) <= 4096 - (sz))) { \
            type v_;                                                           \
            memcpy(&v_, (void *)(uintptr_t)(a_ + e_->addend), sz);             \
            RD = (uint64_t)(int64_t)v_;                                        \
        } else {                                                               \
            uint64_t v_;                                                       \
            int c_ = mmu_load(h, a_, sz, &v_);                                 \
            if (c_)                                                            \
                EXC(c_);                                                       \
            RD = (uint64_t)(int64_t)(type)v_;                                  \
        }                                                                      \
        NEXT();                                                                \
    } while (0)
    /* A slow-path store may invalidate decoded slots of this very page
     * (self-modifying code), so it resumes through refetch. */
#define STORE(type, sz, val) do {                                              \
        uint64_t a_ = RS1 + IMM;                                               \
        type v_ = (type)(val);                                                 \
        struct tlb_entry *e_ = &dtlb_st[TLB_IDX(a_)];                          \
        if (likely(e_->vtag == a_ >> 12) && likely((a_ & 0xfff) <= 4096 - (sz))) { \
            memcpy((void *)(uintptr_t)(a_ + e_->addend), &v_, sz);             \
            NEXT();                                                            \
        }                                                                      \
        uint64_t npc_ = PC() + 2 * ip->len;                                    \
        int c_ = mmu_store(h, a_, sz, (uint64_t)v_);                           \
        if (c_)                                                                \
            EXC(c_);                                                           \
        n--;                                                                   \
        h->pc = npc_;                                                          \
        goto refetch;                                                          \
    } while (0)
#define FS_CHECK() do {                                                        \
        if (unlikely(!(h->mstatus & MSTATUS_FS))) {                            \
            h->exc_tval = slot_bits(h, ibase, ip);                             \
            EXC(EXC_ILLEGAL);                                                  \
        }                                                                      \
    } while (0)
#define FS_DIRTY() (h->mstatus |= MSTATUS_FS | MSTATUS_SD)
#define BOX32(v) (0xffffffff00000000ULL | (uint32_t)(v))
#define UNBOX32(v) ((v) >> 32 == 0xffffffffULL ? (uint32_t)(v) : F32_CANON_NAN)

refetch:
    if (unlikely(n <= 0) || unlikely(EVENTS()) || unlikely(h->wfi))
        goto out;
    {
        uint64_t pc = h->pc;
        struct tlb_entry *e = &h->itlb->e[ACC_FETCH][TLB_IDX(pc)];
        struct dpage *dp;
        if (likely(e->vtag == pc >> 12) &&
            likely(e->dgen == h->dgen || dcache_revalidate_entry(h, e))) {
            dp = e->dp;
        } else {
            int c = dcache_fetch_page(h, pc, &dp);
            if (c) {
                hart_take_trap(h, pc, (uint64_t)c, h->exc_tval);
                n--;
                traps++;
                goto refetch;
            }
        }
        ibase = dp->insn;
        vbase = pc & ~0xfffULL;
        vpage = pc >> 12;
        ip = ibase + ((pc & 0xfff) >> 1);
        dtlb_ld = h->dtlb->e[ACC_LOAD];
        dtlb_st = h->dtlb->e[ACC_STORE];
    }
    ENTER_BLOCK();

L_JIT: {
        /* op and the offset it publishes, read together: the slot may
         * have been unpublished since op was read (jit.h) */
        uint64_t w = insn_word(ip);
        if (unlikely((uint16_t)w != OP_JIT))
            DISPATCH();
        jit_fn fn = (jit_fn)(void *)(h->dc->jit_code + (w >> 32));
        h->jit_left = n;   /* a chain of blocks stops when it is spent */
        fn(h, PC());
        h->jit_insns += (uint64_t)(n - h->jit_left);
        n = h->jit_left;
        if (unlikely(h->jit_exc)) {
            cause = (int)h->jit_exc - 1;
            h->jit_exc = 0;
            hart_take_trap(h, h->pc, (uint64_t)cause, h->exc_tval);
            n--;
            traps++;
            goto refetch;
        }
        uint64_t t = h->pc;
        if (likely((t >> 12) == vpage) && likely(n > 0) && likely(!EVENTS())) {
            ip = ibase + ((t & 0xfff) >> 1);
            ENTER_BLOCK();
        }
        goto refetch;
    }

L_DECODE:
    dcache_decode_slot((struct dpage *)ibase, (unsigned)(ip - ibase) << 1);
    DISPATCH();
L_ILLEGAL:
    h->exc_tval = ip->raw;
    EXC(EXC_ILLEGAL);
L_CROSS: {
        /* A 32-bit instruction straddling two pages: fetch both halves
         * through the MMU, run it from the scratch slots h->cross[]. */
        uint64_t pc = PC();
        uint64_t lo, hi, pa;
        int c = mmu_translate(h, pc + 2, ACC_FETCH, &pa);
        if (c) {
            h->exc_tval = pc + 2;
            EXC(c);
        }
        if (mem_load(h->mem, pa, 2, &hi) || !pmp_allows(h, pa, 2, ACC_FETCH, h->priv)) {
            h->exc_tval = pc + 2;
            EXC(EXC_INSN_ACCESS);
        }
        lo = ip->raw & 0xffff;
        rv_decode((uint32_t)(lo | hi << 16), &h->cross[0]);
        memset(&h->cross[2], 0, sizeof(h->cross[2]));
        h->cross[2].op = OP_CROSS_END;
        ibase = h->cross;
        vbase = pc;
        vpage = ~0ULL;
        ip = ibase;
        DISPATCH();
    }
L_CROSS_END:
    /* Sequential flow left the page (or the scratch slots). */
    h->pc = PC();
    goto refetch;
L_NOP:
    NEXT();
L_FENCE:
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    NEXT();

L_LUI:   RD = (uint64_t)IMM; NEXT();
L_AUIPC: RD = PC() + IMM; NEXT();
L_JAL: {
        uint64_t pc = PC();
        RD = pc + 2 * ip->len;
        JUMP(pc + IMM);
    }
L_JALR: {
        uint64_t t = (RS1 + IMM) & ~1ULL;
        RD = PC() + 2 * ip->len;
        JUMP(t);
    }
L_BEQ:  BRANCH(RS1 == RS2);
L_BNE:  BRANCH(RS1 != RS2);
L_BLT:  BRANCH((int64_t)RS1 < (int64_t)RS2);
L_BGE:  BRANCH((int64_t)RS1 >= (int64_t)RS2);
L_BLTU: BRANCH(RS1 < RS2);
L_BGEU: BRANCH(RS1 >= RS2);

L_LB:  LOAD(int8_t, 1);
L_LH:  LOAD(int16_t, 2);
L_LW:  LOAD(int32_t, 4);
L_LD:  LOAD(int64_t, 8);
L_LBU: LOAD(uint8_t, 1);
L_LHU: LOAD(uint16_t, 2);
L_LWU: LOAD(uint32_t, 4);
L_SB:  STORE(uint8_t, 1, RS2);
L_SH:  STORE(uint16_t, 2, RS2);
L_SW:  STORE(uint32_t, 4, RS2);
L_SD:  STORE(uint64_t, 8, RS2);

L_ADDI:  RD = RS1 + IMM; NEXT();
L_SLTI:  RD = (int64_t)RS1 < IMM; NEXT();
L_SLTIU: RD = RS1 < (uint64_t)IMM; NEXT();
L_XORI:  RD = RS1 ^ (uint64_t)IMM; NEXT();
L_ORI:   RD = RS1 | (uint64_t)IMM; NEXT();
L_ANDI:  RD = RS1 & (uint64_t)IMM; NEXT();
L_SLLI:  RD = RS1 << ip->imm; NEXT();
L_SRLI:  RD = RS1 >> ip->imm; NEXT();
L_SRAI:  RD = (uint64_t)((int64_t)RS1 >> ip->imm); NEXT();
L_ADD:   RD = RS1 + RS2; NEXT();
L_SUB:   RD = RS1 - RS2; NEXT();
L_SLL:   RD = RS1 << (RS2 & 63); NEXT();
L_SLT:   RD = (int64_t)RS1 < (int64_t)RS2; NEXT();
L_SLTU:  RD = RS1 < RS2; NEXT();
L_XOR:   RD = RS1 ^ RS2; NEXT();
L_SRL:   RD = RS1 >> (RS2 & 63); NEXT();
L_SRA:   RD = (uint64_t)((int64_t)RS1 >> (RS2 & 63)); NEXT();
L_OR:    RD = RS1 | RS2; NEXT();
L_AND:   RD = RS1 & RS2; NEXT();
L_ADDIW: RD = (uint64_t)(int64_t)(int32_t)(RS1 + IMM); NEXT();
L_SLLIW: RD = (uint64_t)(int64_t)(int32_t)((uint32_t)RS1 << ip->imm); NEXT();
L_SRLIW: RD = (uint64_t)(int64_t)(int32_t)((uint32_t)RS1 >> ip->imm); NEXT();
L_SRAIW: RD = (uint64_t)(int64_t)((int32_t)RS1 >> ip->imm); NEXT();
L_ADDW:  RD = (uint64_t)(int64_t)(int32_t)(RS1 + RS2); NEXT();
L_SUBW:  RD = (uint64_t)(int64_t)(int32_t)(RS1 - RS2); NEXT();
L_SLLW:  RD = (uint64_t)(int64_t)(int32_t)((uint32_t)RS1 << (RS2 & 31)); NEXT();
L_SRLW:  RD = (uint64_t)(int64_t)(int32_t)((uint32_t)RS1 >> (RS2 & 31)); NEXT();
L_SRAW:  RD = (uint64_t)(int64_t)((int32_t)RS1 >> (RS2 & 31)); NEXT();

L_MUL:    RD = RS1 * RS2; NEXT();
L_MULH:   RD = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)(int64_t)RS2) >> 64); NEXT();
L_MULHSU: RD = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)(unsigned __int128)RS2) >> 64); NEXT();
L_MULHU:  RD = (uint64_t)(((unsigned __int128)RS1 * RS2) >> 64); NEXT();
L_DIV: {
        int64_t a = (int64_t)RS1, b = (int64_t)RS2;
        RD = b == 0 ? ~0ULL : (a == INT64_MIN && b == -1) ? (uint64_t)a : (uint64_t)(a / b);
        NEXT();
    }
L_DIVU: RD = RS2 == 0 ? ~0ULL : RS1 / RS2; NEXT();
L_REM: {
        int64_t a = (int64_t)RS1, b = (int64_t)RS2;
        RD = b == 0 ? (uint64_t)a : (a == INT64_MIN && b == -1) ? 0 : (uint64_t)(a % b);
        NEXT();
    }
L_REMU: RD = RS2 == 0 ? RS1 : RS1 % RS2; NEXT();
L_MULW: RD = (uint64_t)(int64_t)(int32_t)((uint32_t)RS1 * (uint32_t)RS2); NEXT();
L_DIVW: {
        int32_t a = (int32_t)RS1, b = (int32_t)RS2;
        int32_t r = b == 0 ? -1 : (a == INT32_MIN && b == -1) ? a : a / b;
        RD = (uint64_t)(int64_t)r;
        NEXT();
    }
L_DIVUW: {
        uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
        RD = (uint64_t)(int64_t)(int32_t)(b == 0 ? ~0u : a / b);
        NEXT();
    }
L_REMW: {
        int32_t a = (int32_t)RS1, b = (int32_t)RS2;
        int32_t r = b == 0 ? a : (a == INT32_MIN && b == -1) ? 0 : a % b;
        RD = (uint64_t)(int64_t)r;
        NEXT();
    }
L_REMUW: {
        uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
        RD = (uint64_t)(int64_t)(int32_t)(b == 0 ? a : a % b);
        NEXT();
    }

    /* Zba */
L_SH1ADD:    RD = (RS1 << 1) + RS2; NEXT();
L_SH2ADD:    RD = (RS1 << 2) + RS2; NEXT();
L_SH3ADD:    RD = (RS1 << 3) + RS2; NEXT();
L_ADD_UW:    RD = (uint64_t)(uint32_t)RS1 + RS2; NEXT();
L_SH1ADD_UW: RD = ((uint64_t)(uint32_t)RS1 << 1) + RS2; NEXT();
L_SH2ADD_UW: RD = ((uint64_t)(uint32_t)RS1 << 2) + RS2; NEXT();
L_SH3ADD_UW: RD = ((uint64_t)(uint32_t)RS1 << 3) + RS2; NEXT();
L_SLLI_UW:   RD = (uint64_t)(uint32_t)RS1 << ip->imm; NEXT();
    /* Zbb */
L_ANDN:  RD = RS1 & ~RS2; NEXT();
L_ORN:   RD = RS1 | ~RS2; NEXT();
L_XNOR:  RD = ~(RS1 ^ RS2); NEXT();
L_CLZ:   RD = RS1 ? (uint64_t)__builtin_clzll(RS1) : 64; NEXT();
L_CLZW:  RD = (uint32_t)RS1 ? (uint64_t)__builtin_clz((uint32_t)RS1) : 32; NEXT();
L_CTZ:   RD = RS1 ? (uint64_t)__builtin_ctzll(RS1) : 64; NEXT();
L_CTZW:  RD = (uint32_t)RS1 ? (uint64_t)__builtin_ctz((uint32_t)RS1) : 32; NEXT();
L_CPOP:  RD = (uint64_t)__builtin_popcountll(RS1); NEXT();
L_CPOPW: RD = (uint64_t)__builtin_popcount((uint32_t)RS1); NEXT();
L_MAX:   RD = (int64_t)RS1 > (int64_t)RS2 ? RS1 : RS2; NEXT();
L_MAXU:  RD = RS1 > RS2 ? RS1 : RS2; NEXT();
L_MIN:   RD = (int64_t)RS1 < (int64_t)RS2 ? RS1 : RS2; NEXT();
L_MINU:  RD = RS1 < RS2 ? RS1 : RS2; NEXT();
L_SEXT_B: RD = (uint64_t)(int64_t)(int8_t)RS1; NEXT();
L_SEXT_H: RD = (uint64_t)(int64_t)(int16_t)RS1; NEXT();
L_ZEXT_H: RD = (uint16_t)RS1; NEXT();
L_ROL: {
        unsigned s = RS2 & 63;
        RD = s ? (RS1 << s) | (RS1 >> (64 - s)) : RS1;
        NEXT();
    }
L_ROR: {
        unsigned s = RS2 & 63;
        RD = s ? (RS1 >> s) | (RS1 << (64 - s)) : RS1;
        NEXT();
    }
L_RORI: {
        unsigned s = (unsigned)ip->imm;
        RD = s ? (RS1 >> s) | (RS1 << (64 - s)) : RS1;
        NEXT();
    }
L_ROLW: {
        uint32_t v = (uint32_t)RS1;
        unsigned s = RS2 & 31;
        RD = (uint64_t)(int64_t)(int32_t)(s ? (v << s) | (v >> (32 - s)) : v);
        NEXT();
    }
L_RORW: {
        uint32_t v = (uint32_t)RS1;
        unsigned s = RS2 & 31;
        RD = (uint64_t)(int64_t)(int32_t)(s ? (v >> s) | (v << (32 - s)) : v);
        NEXT();
    }
L_RORIW: {
        uint32_t v = (uint32_t)RS1;
        unsigned s = (unsigned)ip->imm;
        RD = (uint64_t)(int64_t)(int32_t)(s ? (v >> s) | (v << (32 - s)) : v);
        NEXT();
    }
L_ORC_B: RD = rv_orc_b(RS1); NEXT();
L_REV8:  RD = __builtin_bswap64(RS1); NEXT();
    /* Zbs */
L_BCLR:  RD = RS1 & ~(1ULL << (RS2 & 63)); NEXT();
L_BCLRI: RD = RS1 & ~(1ULL << ip->imm); NEXT();
L_BEXT:  RD = (RS1 >> (RS2 & 63)) & 1; NEXT();
L_BEXTI: RD = (RS1 >> ip->imm) & 1; NEXT();
L_BINV:  RD = RS1 ^ (1ULL << (RS2 & 63)); NEXT();
L_BINVI: RD = RS1 ^ (1ULL << ip->imm); NEXT();
L_BSET:  RD = RS1 | (1ULL << (RS2 & 63)); NEXT();
L_BSETI: RD = RS1 | (1ULL << ip->imm); NEXT();
    /* Zicond */
L_CZERO_EQZ: RD = RS2 == 0 ? 0 : RS1; NEXT();
L_CZERO_NEZ: RD = RS2 != 0 ? 0 : RS1; NEXT();

    /* F/D loads, stores and moves inline; arithmetic in fp_exec(). */
L_FLW: {
        FS_CHECK();
        uint64_t v;
        uint64_t a = RS1 + IMM;
        struct tlb_entry *e = &dtlb_ld[TLB_IDX(a)];
        if (likely(e->vtag == a >> 12) && likely((a & 0xfff) <= 4092)) {
            uint32_t w;
            memcpy(&w, (void *)(uintptr_t)(a + e->addend), 4);
            v = w;
        } else if ((cause = mmu_load(h, a, 4, &v))) {
            goto exception;
        }
        h->f[ip->rd] = BOX32(v);
        FS_DIRTY();
        NEXT();
    }
L_FLD: {
        FS_CHECK();
        uint64_t v;
        uint64_t a = RS1 + IMM;
        struct tlb_entry *e = &dtlb_ld[TLB_IDX(a)];
        if (likely(e->vtag == a >> 12) && likely((a & 0xfff) <= 4088))
            memcpy(&v, (void *)(uintptr_t)(a + e->addend), 8);
        else if ((cause = mmu_load(h, a, 8, &v)))
            goto exception;
        h->f[ip->rd] = v;
        FS_DIRTY();
        NEXT();
    }
L_FSW:
    FS_CHECK();
    STORE(uint32_t, 4, h->f[ip->rs2]);
L_FSD:
    FS_CHECK();
    STORE(uint64_t, 8, h->f[ip->rs2]);
L_FMV_X_W:
    FS_CHECK();
    RD = (uint64_t)(int64_t)(int32_t)h->f[ip->rs1];
    NEXT();
L_FMV_X_D:
    FS_CHECK();
    RD = h->f[ip->rs1];
    NEXT();
L_FMV_W_X:
    FS_CHECK();
    h->f[ip->rd] = BOX32(RS1);
    FS_DIRTY();
    NEXT();
L_FMV_D_X:
    FS_CHECK();
    h->f[ip->rd] = RS1;
    FS_DIRTY();
    NEXT();
L_FSGNJ_S: {
        FS_CHECK();
        uint32_t a = UNBOX32(h->f[ip->rs1]), b = UNBOX32(h->f[ip->rs2]);
        h->f[ip->rd] = BOX32((a & 0x7fffffffu) | (b & 0x80000000u));
        FS_DIRTY();
        NEXT();
    }
L_FSGNJ_D:
    FS_CHECK();
    h->f[ip->rd] = (h->f[ip->rs1] & ~(1ULL << 63)) | (h->f[ip->rs2] & (1ULL << 63));
    FS_DIRTY();
    NEXT();
L_FP: {
        struct insn c;
        if (unlikely(!slot_copy(ip, &c)))
            DISPATCH();
        int r = fp_exec(h, &c);
        if (unlikely(r != EXEC_NEXT)) {
            if (r >= 16)
                EXC(r - 16);
        }
        NEXT();
    }
L_AMO: {
        struct insn c;
        if (unlikely(!slot_copy(ip, &c)))
            DISPATCH();
        uint64_t npc = PC() + 2 * c.len;
        h->instret += (uint64_t)(n_start - n - traps);
        int r = amo_exec(h, &c);
        h->instret -= (uint64_t)(n_start - n - traps);
        if (r >= 16)
            EXC(r - 16);
        n--;
        h->pc = npc;
        goto refetch;
    }
L_SYS: {
        uint64_t pc = PC();
        /* FENCE.I may wipe the slot ip points at: take len first. */
        uint64_t npc = pc + 2 * ip->len;
        /* Make instret exact for CSR reads; undone after the call. */
        h->instret += (uint64_t)(n_start - n - traps);
        int r = sys_exec(h, ip, pc);
        h->instret -= (uint64_t)(n_start - n - traps);
        if (r >= 16)
            EXC(r - 16);
        if (r == EXEC_NEXT)
            h->pc = npc;
        /* xRET and traps set h->pc themselves; ECALL etc. retire nothing. */
        n--;
        goto refetch;
    }

exception:
    hart_take_trap(h, PC(), (uint64_t)cause, h->exc_tval);
    n--;
    traps++;
    goto refetch;

out:
    h->instret += (uint64_t)(n_start - n - traps);
    return (uint64_t)(n_start - n);
}
