/* cpu/riscv: guest registers held in host registers inside a translated
 * block (see jit_x86_64.c).
 *
 * Before a block is emitted, its instructions are scanned.  A block that
 * loops to its own start gives the guest registers it uses most (at
 * least twice) one of JIT_CACHED host registers for the whole block
 * (treated as caller-saved, though two are not).  Any other block assigns
 * them as it goes (jit_regs_step): before each instruction, a register it
 * uses that is used again later gets a free host register or the one of
 * the held register used next furthest away (Belady's choice: the
 * block's future is known), which is stored back first if dirty.
 * Nothing is held at entry (the
 * prologue and the chained entry past it assume nothing): a held register
 * is loaded before the first instruction that reads it, on the straight
 * line of the block (jit_regs_prepare), or becomes valid when written.
 * The translator tracks per register whether the host copy is valid and
 * whether it is dirty (newer than h->x[]).
 *
 * h->x[] must be exact wherever anything else can see it, so the dirty
 * registers are stored back before every exit (branch and jump exits,
 * linked or not, the block-size cut, the end of the page, the hand-over
 * to the interpreter) and before every call to a C helper (slow-path
 * loads and stores, atomics and CSRs out of line, division, CPOP), which
 * reads h->x[], may write it (rd), and clobbers the caller-saved
 * registers: after the call the valid ones are reloaded (rbp and r13
 * too: the helper may have written the one holding rd).  A helper that
 * raises an exception leaves with h->x[] as the interpreter leaves it:
 * the earlier instructions' results stored, the faulting one's not.
 *
 * W results (jit_dst_done32) stay unextended in their host registers
 * (lo32) while only readers of their low 32 bits follow; jit_regs_sources
 * extends them before any other reader, store_back before any store to
 * h->x[], jit_regs_extend_all before a jump back to a loop's head.
 *
 * Inside one instruction's code a fast path and a helper path join; the
 * helper path reloads every register the fast path leaves valid, so both
 * reach the join with the same valid set, and the join keeps the fast
 * path's dirty set (a superset: storing a clean register again is
 * harmless). */
#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"
#include "cpu/riscv/jit_x86_64_asm.h"

#if defined(__x86_64__)

_Static_assert(JIT_MAX_INSNS < 256, "next[] holds instruction numbers in a byte");
_Static_assert(offsetof(struct hart, x) == 0, "xoff(): h->x[] at the hart's start");

/* r8-r11 first: their byte forms need no care.  rsi and rdi are also
 * call arguments, set only after jit_regs_writeback.  r12, rbp, r13 and
 * r15 are callee-saved (the prologue saves them) but treated like the
 * others: stored back and reloaded around calls (rbx is the hart's
 * base, JIT_HART). */
static const int jit_hosts[JIT_CACHED] = { R8, R9, R10, R11, RSI, RDI, R12, RBP, R13, R15 };

int jit_host_x(const struct jbuf *b, unsigned r)
{
    if (r >= 33 || !b->ra.slot[r] || !(b->ra.valid >> r & 1))
        return -1;
    return jit_hosts[b->ra.slot[r] - 1];
}

static int held(const struct jbuf *b, unsigned r)
{
    return r < 33 && b->ra.slot[r] ? jit_hosts[b->ra.slot[r] - 1] : -1;
}

int jit_src_x(struct jbuf *b, unsigned r, int scratch)
{
    int h = jit_host_x(b, r);
    if (h >= 0)
        return h;
    op_rm(b, 1, 0x8b, scratch, JIT_HART, xoff(r));
    return scratch;
}

int jit_dst_x(const struct jbuf *b, unsigned rd, unsigned later)
{
    int h = held(b, rd);
    return h < 0 || later == rd ? RAX : h;
}

void jit_dst_done(struct jbuf *b, int t, unsigned rd)
{
    if (t == RAX) {
        jit_put_x(b, RAX, rd);
        return;
    }
    b->ra.valid |= 1ULL << rd;
    b->ra.dirty |= 1ULL << rd;
    b->ra.lo32 &= ~(1ULL << rd);
    b->ra.is32 &= ~(1ULL << rd);
}

void jit_dst_done32(struct jbuf *b, int t, unsigned rd)
{
    if (t == RAX)
        movsxd(b, t);
    jit_dst_done(b, t, rd);
    if (t != RAX)
        b->ra.lo32 |= 1ULL << rd;
    b->ra.is32 |= 1ULL << rd;
    b->plan.set32 = true;
}

void jit_regs_extend_all(struct jbuf *b)
{
    for (unsigned r = 1; r < 32; r++)
        if (b->ra.lo32 >> r & 1)
            movsxd(b, held(b, r));
}

void jit_get_x(struct jbuf *b, int hreg, unsigned r)
{
    int h = jit_host_x(b, r);
    if (h < 0)
        op_rm(b, 1, 0x8b, hreg, JIT_HART, xoff(r));          /* mov hreg, [x[r]] */
    else if (h != hreg)
        op_rr(b, 1, 0x8b, hreg, h);                      /* mov hreg, h */
}

void jit_put_x(struct jbuf *b, int hreg, unsigned r)
{
    int h = held(b, r);
    b->ra.lo32 &= ~(1ULL << r);
    b->ra.is32 &= ~(1ULL << r);
    if (h < 0) {
        op_rm(b, 1, 0x89, hreg, JIT_HART, xoff(r));          /* mov [x[r]], hreg */
        return;
    }
    if (h != hreg)
        op_rr(b, 1, 0x8b, h, hreg);
    b->ra.valid |= 1ULL << r;
    b->ra.dirty |= 1ULL << r;
}

void jit_put_imm_x(struct jbuf *b, unsigned r, int32_t imm)
{
    int h = held(b, r);
    b->ra.lo32 &= ~(1ULL << r);
    b->ra.is32 &= ~(1ULL << r);
    if (h < 0) {
        mov_mem_imm(b, 1, JIT_HART, xoff(r), imm);                   /* mov qword [x[r]], imm */
        return;
    }
    rex(b, 1, 0, h); b1(b, 0xc7); b1(b, (uint8_t)(0xc0 | (h & 7)));   /* mov h, imm */
    b4(b, (uint32_t)imm);
    b->ra.valid |= 1ULL << r;
    b->ra.dirty |= 1ULL << r;
}

void jit_op_x(struct jbuf *b, int w, uint8_t opc, int reg, unsigned r)
{
    int h = jit_host_x(b, r);
    if (h < 0)
        op_rm(b, w, opc, reg, JIT_HART, xoff(r));
    else
        op_rr(b, w, opc, reg, h);
}

void jit_op2_x(struct jbuf *b, int w, uint8_t opc2, int reg, unsigned r)
{
    int h = jit_host_x(b, r);
    if (h < 0)
        op_rm2(b, w, opc2, reg, JIT_HART, xoff(r));
    else
        op_rr2(b, w, opc2, reg, h);
}

/* Which decoded fields name registers the instruction reads (rs2 holds
 * immediate bits in the I forms; the CSR forms run in a helper). */
static bool reads_rs1(unsigned op)
{
    switch (op) {
    case OP_LUI: case OP_AUIPC: case OP_JAL: case OP_NOP: case OP_FENCE:
        return false;
    /* the F/D instructions whose rs1 is an integer register */
    case OP_FLW: case OP_FLD: case OP_FSW: case OP_FSD:
    case OP_FMV_W_X: case OP_FMV_D_X:
    case OP_FCVT_S_W: case OP_FCVT_S_WU: case OP_FCVT_S_L: case OP_FCVT_S_LU:
    case OP_FCVT_D_W: case OP_FCVT_D_WU: case OP_FCVT_D_L: case OP_FCVT_D_LU:
        return true;
    }
    return !op_is_csr(op) && !op_is_fp(op);
}

/* Does the decoded rd name an integer register?  Not for the F/D
 * instructions that write an f register. */
static bool writes_x(unsigned op)
{
    switch (op) {
    case OP_FMV_X_W: case OP_FMV_X_D:
    case OP_FEQ_S: case OP_FLT_S: case OP_FLE_S: case OP_FCLASS_S:
    case OP_FEQ_D: case OP_FLT_D: case OP_FLE_D: case OP_FCLASS_D:
    case OP_FCVT_W_S: case OP_FCVT_WU_S: case OP_FCVT_L_S: case OP_FCVT_LU_S:
    case OP_FCVT_W_D: case OP_FCVT_WU_D: case OP_FCVT_L_D: case OP_FCVT_LU_D:
        return true;
    }
    return !op_is_fp(op);
}

static bool reads_rs2(unsigned op)
{
    switch (op) {
    case OP_ADD: case OP_SUB: case OP_SLL: case OP_SLT: case OP_SLTU: case OP_XOR:
    case OP_SRL: case OP_SRA: case OP_OR: case OP_AND:
    case OP_ADDW: case OP_SUBW: case OP_SLLW: case OP_SRLW: case OP_SRAW:
    case OP_MUL: case OP_MULW: case OP_MULH: case OP_MULHU: case OP_MULHSU:
    case OP_DIV: case OP_DIVU: case OP_REM: case OP_REMU:
    case OP_DIVW: case OP_DIVUW: case OP_REMW: case OP_REMUW:
    case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD: case OP_ADD_UW:
    case OP_SH1ADD_UW: case OP_SH2ADD_UW: case OP_SH3ADD_UW:
    case OP_ANDN: case OP_ORN: case OP_XNOR:
    case OP_MAX: case OP_MAXU: case OP_MIN: case OP_MINU:
    case OP_ROL: case OP_ROLW: case OP_ROR: case OP_RORW:
    case OP_BCLR: case OP_BEXT: case OP_BINV: case OP_BSET:
    case OP_CZERO_EQZ: case OP_CZERO_NEZ:
    case OP_SB: case OP_SH: case OP_SW: case OP_SD:
    case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
        return true;
    case OP_LR_W: case OP_LR_D:
        return false;
    }
    return op_is_amo(op);
}

/* The plan's walk over the block (translate()'s walk: a difference would
 * only cost speed, any choice of held registers is correct); `through`:
 * on through other blocks' starts.  Fills uses, written, b->plan.use,
 * b->plan.n and the counts after it (the block's site caches size
 * themselves by them), and b->ra.loops.  Returns whether it went through
 * one. */
static bool plan_walk(struct jbuf *b, struct dpage *dp, unsigned off, bool through,
                      unsigned uses[33], uint64_t *written)
{
    unsigned o = off;
    bool passed = false;
    memset(uses, 0, 33 * sizeof(uses[0]));
    *written = 0;
    b->ra.loops = false;
    b->plan.n = b->plan.nload = b->plan.nstore = 0;
    b->plan.csr = false;
    for (unsigned n = 0; n < JIT_MAX_INSNS && o < 4096; n++) {
        struct insn tmp;
        const struct insn *in = dcache_slot_insn(dp, o, &tmp);
        if ((in == &tmp && !through) || !jit_in_block(in->op, in->imm) ||
            o + 2u * in->len > 4096)
            break;
        passed |= in == &tmp;
        uint32_t u = 0;
        if (reads_rs1(in->op)) {
            uses[in->rs1]++;
            u |= 1u << (in->rs1 & 31);
        }
        if (reads_rs2(in->op)) {
            uses[in->rs2]++;
            u |= 1u << (in->rs2 & 31);
        }
        if (writes_x(in->op)) {
            uses[in->rd]++;
            *written |= 1ULL << in->rd;
            u |= 1u << (in->rd & 31);
        }
        b->plan.use[n] = u & ~1u;   /* x0 is never held */
        b->plan.n = n + 1;
        b->plan.nload += op_is_int_load(in->op);
        b->plan.nstore += op_is_store(in->op);
        b->plan.csr |= op_is_csr(in->op);
        bool to_start = o - off + (unsigned)in->imm == 0;
        if ((op_is_branch(in->op) || in->op == OP_JAL) && to_start)
            b->ra.loops = true;
        /* Jumps end the block; a conditional branch goes on into its
         * fall-through (a side exit, translate()) unless it leads back
         * to the block's start. */
        if (in->op == OP_JAL || in->op == OP_JALR || (op_is_branch(in->op) && to_start))
            break;
        o += 2u * in->len;
    }
    return passed;
}

/* A loop's registers: from host register `k` on, give each the guest
 * register used most (`uses`, per pass) of those not yet held, while it
 * is used at least `min_uses` times.  Returns the first host register
 * left unassigned. */
static unsigned hold_most_used(struct jbuf *b, const unsigned *uses, uint64_t written,
                               unsigned k, unsigned min_uses)
{
    for (; k < JIT_CACHED; k++) {
        unsigned best = 0;
        for (unsigned r = 1; r < 32; r++)
            if (!b->ra.slot[r] && uses[r] > uses[best])
                best = r;
        if (uses[best] < min_uses)
            break;
        b->ra.slot[best] = (uint8_t)(k + 1);
        if (written >> best & 1)
            b->ra.written |= 1ULL << best;
    }
    return k;
}

void jit_regs_plan(struct hart *h, struct jbuf *b, struct dpage *dp, unsigned off)
{
    unsigned uses[33];
    uint64_t written;
    memset(&b->ra, 0, sizeof(b->ra));
    b->left = -1;
    b->plan.dyn = b->plan.set32 = false;   /* use[] and next[] are written as far as n */
    /* Another block's start ends a block (a linked exit into it), unless
     * going on through it closes a loop: a loop the compiler entered at
     * its test (`j test; body: ...; test: bltu ..., body`) has its test
     * translated first, and the body's block would otherwise leave and
     * re-enter at the test on every iteration (two exits, two budget
     * checks, registers written back and reloaded; gcc's multiply-carry
     * loop in the kernel's ECC code, run by its self-tests at boot). */
    bool passed = plan_walk(b, dp, off, true, uses, &written);
    b->through = b->ra.loops;
    if (passed && !b->through)   /* else the walk stopping there is this one */
        plan_walk(b, dp, off, false, uses, &written);
    uses[0] = uses[32] = 0;   /* x0 reads as 0 from h->x[0]; x[32] is the sink */
    if (!b->ra.loops) {
        /* Straight-line code (a superblock with side exits) changes its
         * working set as it goes: SHA-256's rounds use some 25 registers,
         * a few at a time.  Holding the six (now eight) used most over
         * the whole block left the rest in memory, each write read back
         * through store forwarding; jit_regs_step assigns at each
         * instruction.
         * A loop keeps one assignment: its back edge must find the
         * registers where its head put them. */
        b->plan.dyn = true;
        unsigned n = b->plan.n;   /* at least 1: translate() checked the first */
        if (!n)
            return;
        for (unsigned r = 0; r < 32; r++)
            b->plan.next[n - 1][r] = (uint8_t)n;
        for (unsigned k = n - 1; k-- > 0;)
            for (unsigned r = 0; r < 32; r++)
                b->plan.next[k][r] = (b->plan.use[k + 1] >> r & 1) ? (uint8_t)(k + 1)
                                                                  : b->plan.next[k + 1][r];
        return;
    }
    /* One use gains nothing over memory for a register the budget's
     * host register could go to instead. */
    unsigned k = hold_most_used(b, uses, written, 0, 2);
    /* A host register left over holds the budget: the jump back charges
     * it on every pass, and a `sub [jit_left]` waits for the one before
     * it through memory (store forwarding, some five cycles), longer
     * than a short loop's own work (CoreMark's CRC loops, ten
     * instructions with a branch over two).  Stored at every write-back,
     * so exits and helpers find h->jit_left exact. */
    if (k < JIT_CACHED)
        b->left = jit_hosts[k++];
    /* The rest for registers used once: once a pass (a loop invariant, a
     * base address) is a load or store a pass saved. */
    hold_most_used(b, uses, written, k, 1);
}


/* h->x[r] = x[r]'s host register, sign-extended first if lo32 (which
 * changes only bits the register's state says nothing about, so it may
 * be done on one path out of several). */
static void store_back(struct jbuf *b, unsigned r)
{
    if (b->ra.lo32 >> r & 1)
        movsxd(b, held(b, r));
    op_rm(b, 1, 0x89, held(b, r), JIT_HART, xoff(r));   /* mov [x[r]], h */
}

/* The first instruction after `n` that uses x[r], or n_plan if none. */
static unsigned next_use(const struct jbuf *b, unsigned r, unsigned n)
{
    return b->plan.next[n][r];
}

/* Give up x[r]'s host register: stored back first if dirty. */
static void release(struct jbuf *b, unsigned r)
{
    if (b->ra.dirty >> r & 1)
        store_back(b, r);
    b->ra.valid &= ~(1ULL << r);
    b->ra.dirty &= ~(1ULL << r);
    b->ra.lo32 &= ~(1ULL << r);
    b->ra.slot[r] = 0;
}

/* Does `in` read x[rs1] (rs2: false) or x[rs2] (true) only as its low 32
 * bits? */
static bool reads_low32(const struct jbuf *b, const struct insn *in, bool rs2)
{
    switch (in->op) {
    case OP_ADDW: case OP_SUBW: case OP_MULW: case OP_SLLW: case OP_SRLW: case OP_SRAW:
    case OP_ADDIW: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
        return true;
    case OP_SB: case OP_SH: case OP_SW:
        return rs2;
    case OP_AND: case OP_OR: case OP_XOR:
        return jit_is32(b, in->rs1) && jit_is32(b, in->rs2);
    case OP_ANDI: case OP_ORI: case OP_XORI:
        return jit_is32(b, in->rs1);
    }
    return false;
}

void jit_regs_sources(struct jbuf *b, const struct insn *in)
{
    if (!b->ra.lo32)
        return;
    if (reads_rs1(in->op) && (b->ra.lo32 >> in->rs1 & 1) && !reads_low32(b, in, false)) {
        movsxd(b, held(b, in->rs1));
        b->ra.lo32 &= ~(1ULL << in->rs1);
    }
    if (reads_rs2(in->op) && (b->ra.lo32 >> in->rs2 & 1) && !reads_low32(b, in, true)) {
        movsxd(b, held(b, in->rs2));
        b->ra.lo32 &= ~(1ULL << in->rs2);
    }
}

void jit_regs_after(struct jbuf *b, const struct insn *in)
{
    if (writes_x(in->op) && !b->plan.set32) {
        b->ra.lo32 &= ~(1ULL << in->rd);
        b->ra.is32 &= ~(1ULL << in->rd);
    }
    b->plan.set32 = false;
}

void jit_regs_step(struct jbuf *b, unsigned n)
{
    if (!b->plan.dyn || n >= b->plan.n)
        return;
    uint32_t need = b->plan.use[n], held = 0;
    for (unsigned v = 1; v < 32; v++)
        if (b->ra.slot[v])
            held |= 1u << v;
    /* A register the rest of the block does not use is given up now (its
     * store was due at the exit anyway): every slow path and side exit
     * after this point stores and reloads one register less. */
    for (uint32_t m = held & ~need; m; m &= m - 1) {
        unsigned v = (unsigned)__builtin_ctz(m);
        if (next_use(b, v, n) >= b->plan.n) {
            release(b, v);
            held &= ~(1u << v);
        }
    }
    for (uint32_t want = need & ~held; want; want &= want - 1) {
        unsigned r = (unsigned)__builtin_ctz(want);
        unsigned nr = next_use(b, r, n);
        if (nr >= b->plan.n)
            continue;   /* used once more at most: memory serves as well */
        unsigned taken = 0, victim = 0, far = 0;
        for (uint32_t m = held; m; m &= m - 1) {
            unsigned v = (unsigned)__builtin_ctz(m);
            taken |= 1u << b->ra.slot[v];
            if (need >> v & 1)
                continue;   /* this instruction's own */
            unsigned nv = next_use(b, v, n);
            if (nv > far) {
                far = nv;
                victim = v;
            }
        }
        unsigned k = (unsigned)__builtin_ctz(~taken & ~1u);   /* slots are 1-based */
        if (k > JIT_CACHED) {
            if (!victim || far <= nr)
                continue;   /* every held register is needed sooner */
            k = b->ra.slot[victim];
            release(b, victim);
            held &= ~(1u << victim);
        }
        b->ra.slot[r] = (uint8_t)k;
        held |= 1u << r;
    }
}

static void load_held(struct jbuf *b, unsigned r)
{
    op_rm(b, 1, 0x8b, held(b, r), JIT_HART, xoff(r));
    b->ra.valid |= 1ULL << r;
    b->ra.lo32 &= ~(1ULL << r);
}

void jit_regs_prepare(struct jbuf *b, const struct insn *in)
{
    if (reads_rs1(in->op) && held(b, in->rs1) >= 0 && !(b->ra.valid >> in->rs1 & 1))
        load_held(b, in->rs1);
    if (reads_rs2(in->op) && held(b, in->rs2) >= 0 && !(b->ra.valid >> in->rs2 & 1))
        load_held(b, in->rs2);
}

void jit_regs_settle(struct jbuf *b, unsigned r)
{
    int h = held(b, r);
    if (h < 0)
        return;
    if (!(b->ra.valid >> r & 1))
        load_held(b, r);
    else if (b->ra.lo32 >> r & 1) {
        movsxd(b, h);
        b->ra.lo32 &= ~(1ULL << r);
    }
}

bool jit_regs_join(struct jbuf *b, const struct jregs *s0, uint64_t rds)
{
    for (uint64_t m = b->ra.lo32 & rds; m; m &= m - 1) {
        unsigned r = (unsigned)__builtin_ctzll(m);
        movsxd(b, held(b, r));
    }
    b->ra.lo32 &= ~rds;
    b->ra.is32 &= ~rds | s0->is32;   /* 32-bit after the join only if both ways */
    return !memcmp(b->ra.slot, s0->slot, sizeof(s0->slot)) && b->ra.valid == s0->valid &&
           !(s0->dirty & ~b->ra.dirty) && !((b->ra.dirty ^ s0->dirty) & ~rds) &&
           b->ra.lo32 == s0->lo32 && !((b->ra.is32 ^ s0->is32) & ~rds);
}

void jit_regs_writeback(struct jbuf *b)
{
    for (unsigned r = 1; r < 32; r++)
        if (b->ra.dirty >> r & 1)
            store_back(b, r);
    if (b->left >= 0)
        op_rm(b, 1, 0x89, b->left, JIT_HART, JIT_H_LEFT);   /* mov [jit_left], left */
}

/* The budget's host register, if any, from h->jit_left. */
static void load_left(struct jbuf *b)
{
    if (b->left >= 0)
        op_rm(b, 1, 0x8b, b->left, JIT_HART, JIT_H_LEFT);   /* mov left, [jit_left] */
}

void jit_regs_reload(struct jbuf *b, uint64_t valid)
{
    b->ra.valid = 0;
    b->ra.dirty = 0;
    b->ra.lo32 = 0;   /* reloaded from h->x[]: extended */
    for (unsigned r = 1; r < 32; r++)
        if ((valid >> r & 1) && held(b, r) >= 0)
            load_held(b, r);
    load_left(b);
}

bool jit_regs_can_loop(const struct jbuf *b)
{
    uint64_t all = 0;
    for (unsigned r = 1; r < 32; r++)
        if (held(b, r) >= 0)
            all |= 1ULL << r;
    return (b->ra.valid & all) == all && !(b->ra.dirty & ~b->ra.written);
}

void jit_regs_loop_head(struct jbuf *b)
{
    for (unsigned r = 1; r < 32; r++)
        if (held(b, r) >= 0)
            load_held(b, r);
    load_left(b);
    b->ra.dirty = b->ra.written;
}

#endif
