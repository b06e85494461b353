/* cpu/riscv: F/D instructions inside translated blocks on x86-64 (see
 * jit_x86_64.c and jit.h's op_is_fp).
 *
 * Before, every F/D instruction ended its block and the interpreter ran
 * it and what followed up to the next taken branch, so floating-point
 * loops ran mostly interpreted.  Now:
 *   - FLW, FLD, FSW, FSD probe the software TLB inline, as the integer
 *     loads and stores do (jit_x86_64_mem.c), FMV.X.D and FMV.D.X are a
 *     move, FSGNJ[N|X].D (FMV.D, FNEG.D, FABS.D) a few bit operations:
 *     the code compilers emit around arithmetic (spills, constants,
 *     argument passing);
 *   - the arithmetic and the compares run on the host's SSE/FMA3 unit
 *     inline when that is exact (below), else, like conversions and the
 *     other moves, call fp_exec_fs_on on a copy of the slot (fpu_host.c
 *     where exact, else the soft-float), with the held registers stored
 *     before and reloaded after as for every helper.
 * The f registers are never held in host registers: h->f[] is always
 * exact, so a trap or helper in the middle of a block needs nothing.
 *
 * mstatus.FS: with FS = Off every F/D instruction is illegal (Privileged
 * ISA 3.1.6.6).  The first one of a block tests it and, when Off, raises
 * the exception there; the first that may change the F state (an f
 * register, fflags) sets FS = Dirty and SD.
 * Nothing inside a block changes FS except a CSR instruction (a write of
 * sstatus), after which both are done again (b->fs_on, b->fs_dirty). */
#include <stddef.h>

#include "cpu/riscv/fpu.h"

#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"
#include "cpu/riscv/jit_x86_64_asm.h"

#if defined(__x86_64__)

#define MSTATUS_OFF hoff(offsetof(struct hart, mstatus))

/* When mstatus.FS is Off, raise the illegal-instruction exception at the
 * instruction `in` at `off` (mtval = its bits, as the interpreter's).
 * Not a hand-over to the interpreter: a block may start at `in`, and the
 * interpreter would enter the block again. */
static void emit_fs_check(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count,
                          uint8_t *epi)
{
    if (b->fs_on)
        return;
    rex(b, 0, 0, JIT_HART);
    b1(b, 0xf7); mem(b, 0, JIT_HART, MSTATUS_OFF);          /* test dword [mstatus], FS */
    b4(b, (uint32_t)MSTATUS_FS);
    uint8_t *on = jcc_fwd(b, CC_NE);
    jit_regs_writeback(b);
    b1(b, 0xb8); b4(b, in->raw);                         /* mov eax, raw */
    op_rm(b, 1, 0x89, RAX, JIT_HART, hoff(offsetof(struct hart, exc_tval)));
    b1(b, 0xb8); b4(b, EXC_ILLEGAL);                     /* mov eax, cause */
    jit_exc_check(b, off, count, epi);
    patch(b, on, b->p);
    b->fs_on = true;
}

/* mstatus.FS = Dirty, SD = 1 (Privileged ISA 3.1.6.6), as one 8-byte
 * store: helpers read mstatus whole, and a load that spans two smaller
 * stores cannot be forwarded from them (it waits for both to retire). */
static void emit_fs_dirty(struct jbuf *b)
{
    if (b->fs_dirty)
        return;
    mov_imm64(b, RCX, MSTATUS_FS | MSTATUS_SD);
    op_rm(b, 1, 0x09, RCX, JIT_HART, MSTATUS_OFF);           /* or [mstatus], rcx */
    b->fs_dirty = true;
}

/* fp_exec_fs_on's result as the exception cause, or 0. */
static int jit_fp_exec(struct hart *h, const struct insn *in)
{
    int r = fp_exec_fs_on(h, in);
    return r >= EXEC_EXC(0) ? r - EXEC_EXC(0) : 0;
}

/* ---- arithmetic inline: fpu_host.c's fast path in the block ----
 * FADD, FSUB, FMUL, FDIV and the fused multiply-adds of both precisions
 * run on the host's SSE/FMA3 unit inline when fpu_host.c's fast path
 * would take them (its header comment says why the result and flags are
 * then exact): fflags already holds NX, the rounding mode is RNE (static,
 * or dynamic with frm = RNE), every operand is finite (and, for singles,
 * NaN-boxed), and the result is finite and, but for sums, larger in
 * magnitude than the smallest normal.  Anything else takes the call.
 * Only rax, rcx, rdx and xmm0-xmm2 are used: nothing held is touched. */

enum { FK_ADD, FK_MUL, FK_FMA };

struct fp_arith {
    bool wide;          /* D, else S */
    int kind;           /* FK_* */
    uint8_t opc;        /* SSE opcode (0F xx) or FMA3 opcode (0F38 xx) */
};

static bool fp_arith(unsigned op, struct fp_arith *a)
{
    static const uint8_t sse[4] = { 0x58, 0x5c, 0x59, 0x5e };   /* add sub mul div */
    static const uint8_t fma[4] = { 0xb9, 0xbb, 0xbd, 0xbf };   /* 231: fmadd fmsub fnmadd fnmsub */
    switch (op) {
    case OP_FADD_S: case OP_FSUB_S: case OP_FMUL_S: case OP_FDIV_S:
        *a = (struct fp_arith){ false, op <= OP_FSUB_S ? FK_ADD : FK_MUL, sse[op - OP_FADD_S] };
        return true;
    case OP_FADD_D: case OP_FSUB_D: case OP_FMUL_D: case OP_FDIV_D:
        *a = (struct fp_arith){ true, op <= OP_FSUB_D ? FK_ADD : FK_MUL, sse[op - OP_FADD_D] };
        return true;
    /* RISC-V FMADD a*b+c, FMSUB a*b-c, FNMSUB -(a*b)+c, FNMADD -(a*b)-c */
    case OP_FMADD_S: case OP_FMSUB_S: case OP_FNMSUB_S: case OP_FNMADD_S:
        if (!(fpu_host_units() & FPU_HOST_FMA))
            return false;
        *a = (struct fp_arith){ false, FK_FMA, fma[op - OP_FMADD_S] };
        return true;
    case OP_FMADD_D: case OP_FMSUB_D: case OP_FNMSUB_D: case OP_FNMADD_D:
        if (!(fpu_host_units() & FPU_HOST_FMA))
            return false;
        *a = (struct fp_arith){ true, FK_FMA, fma[op - OP_FMADD_D] };
        return true;
    }
    return false;
}

_Static_assert(OP_FSUB_S == OP_FADD_S + 1 && OP_FMUL_S == OP_FADD_S + 2 &&
               OP_FDIV_S == OP_FADD_S + 3 && OP_FSUB_D == OP_FADD_D + 1 &&
               OP_FMUL_D == OP_FADD_D + 2 && OP_FDIV_D == OP_FADD_D + 3 &&
               OP_FMSUB_S == OP_FMADD_S + 1 && OP_FNMSUB_S == OP_FMADD_S + 2 &&
               OP_FNMADD_S == OP_FMADD_S + 3 && OP_FMSUB_D == OP_FMADD_D + 1 &&
               OP_FNMSUB_D == OP_FMADD_D + 2 && OP_FNMADD_D == OP_FMADD_D + 3,
               "fp_arith's tables follow the op order");

#define FFLAGS_OFF hoff(offsetof(struct hart, fflags))
#define FRM_OFF hoff(offsetof(struct hart, frm))

/* movsd/movss xmm`x`, f[r] */
static void load_xmm(struct jbuf *b, bool wide, int x, unsigned r)
{
    b1(b, wide ? 0xf2 : 0xf3);
    rex(b, 0, 0, JIT_HART);
    b1(b, 0x0f); b1(b, 0x10);
    mem(b, x, JIT_HART, JIT_F_OFF(r));
}

/* rcx = twice the bits of the precision's infinity (the sign shifted
 * out), what check_operand compares with. */
static void load_twice_inf(struct jbuf *b, bool wide)
{
    if (wide)
        mov_imm64(b, RCX, 0xffe0000000000000ULL);
    else {
        b1(b, 0xb9); b4(b, 0xff000000u);                      /* mov ecx, 2 * inf */
    }
}

/* Jump to the call unless f[r] (single: NaN-boxed) is in range: twice its
 * bits, the sign shifted out, compared with rcx (load_twice_inf).  `out`
 * CC_AE sends infinities and NaNs to the call (arithmetic wants finite
 * operands), CC_A only NaNs (compares). */
static void check_operand(struct jbuf *b, bool wide, unsigned r, uint8_t out,
                          uint8_t **slow, int *n)
{
    if (!wide) {
        rex(b, 0, 0, JIT_HART);
        b1(b, 0x83); mem(b, 7, JIT_HART, JIT_F_OFF(r) + 4); b1(b, 0xff);   /* cmp dword [hi], -1 */
        slow[(*n)++] = jcc_fwd(b, CC_NE);
    }
    op_rm(b, wide, 0x8b, RAX, JIT_HART, JIT_F_OFF(r));           /* mov rax, f[r] */
    op_rr(b, wide, 0x03, RAX, RAX);                          /* add rax, rax */
    op_rr(b, wide, 0x3b, RAX, RCX);                          /* cmp rax, rcx */
    slow[(*n)++] = jcc_fwd(b, out);
}

/* Emits the fast path and returns true, leaving the jumps to the call in
 * slow[0..*n); false: no fast path for this instruction. */
static bool emit_fp_fast(struct jbuf *b, const struct insn *in, uint8_t **slow, int *n)
{
    struct fp_arith a;
    if (!fp_arith(in->op, &a) || (in->imm != FRM_RNE && in->imm != FRM_DYN))
        return false;
    bool w = a.wide;
    rex(b, 0, 0, JIT_HART);
    b1(b, 0xf7); mem(b, 0, JIT_HART, FFLAGS_OFF); b4(b, FFLAG_NX);  /* test [fflags], NX */
    slow[(*n)++] = jcc_fwd(b, CC_E);
    if (in->imm == FRM_DYN) {
        rex(b, 0, 0, JIT_HART);
        b1(b, 0x83); mem(b, 7, JIT_HART, FRM_OFF); b1(b, FRM_RNE);    /* cmp [frm], RNE */
        slow[(*n)++] = jcc_fwd(b, CC_NE);
    }
    load_twice_inf(b, w);
    check_operand(b, w, in->rs1, CC_AE, slow, n);
    check_operand(b, w, in->rs2, CC_AE, slow, n);
    if (a.kind == FK_FMA) {
        check_operand(b, w, in->rs3, CC_AE, slow, n);
        load_xmm(b, w, 0, in->rs3);                           /* xmm0 = c */
        load_xmm(b, w, 1, in->rs1);                           /* xmm1 = a */
        load_xmm(b, w, 2, in->rs2);                           /* xmm2 = b */
        /* vf*231s[sd] xmm0, xmm1, xmm2: xmm0 = ±(xmm1 * xmm2) ± xmm0 */
        b1(b, 0xc4); b1(b, 0xe2); b1(b, w ? 0xf1 : 0x71); b1(b, a.opc); b1(b, 0xc2);
    } else {
        load_xmm(b, w, 0, in->rs1);
        b1(b, w ? 0xf2 : 0xf3);                               /* op xmm0, f[rs2] */
        rex(b, 0, 0, JIT_HART);
        b1(b, 0x0f); b1(b, a.opc);
        mem(b, 0, JIT_HART, JIT_F_OFF(in->rs2));
    }
    /* rax = the result's bits, rdx = twice them */
    b1(b, 0x66);
    if (w)
        b1(b, 0x48);
    b1(b, 0x0f); b1(b, 0x7e); b1(b, 0xc0);                    /* movq rax / movd eax, xmm0 */
    op_rr(b, w, 0x8b, RDX, RAX);
    op_rr(b, w, 0x03, RDX, RDX);
    if (a.kind == FK_ADD) {
        op_rr(b, w, 0x3b, RDX, RCX);                          /* finite */
        slow[(*n)++] = jcc_fwd(b, CC_AE);
    } else {
        /* 2 * min normal < rdx < 2 * inf: rdx - (2 * min normal + 1),
         * unsigned, below 2 * inf - (2 * min normal + 1) */
        if (w) {
            mov_imm64(b, RCX, 0x0020000000000001ULL);
            op_rr(b, 1, 0x2b, RDX, RCX);                      /* sub rdx, rcx */
            mov_imm64(b, RCX, 0xffe0000000000000ULL - 0x0020000000000001ULL);
        } else {
            alu_imm(b, 0, 5, RDX, 0x01000001);                /* sub edx, ... */
            b1(b, 0xb9); b4(b, 0xff000000u - 0x01000001u);    /* mov ecx, ... */
        }
        op_rr(b, w, 0x3b, RDX, RCX);
        slow[(*n)++] = jcc_fwd(b, CC_AE);
    }
    op_rm(b, w, 0x89, RAX, JIT_HART, JIT_F_OFF(in->rd));           /* f[rd] = result */
    if (!w) {                                                 /* NaN-boxed */
        mov_mem_imm(b, 0, JIT_HART, JIT_F_OFF(in->rd) + 4, -1);
    }
    return true;
}

/* FEQ, FLT and FLE inline when neither operand is a NaN (nor, single,
 * unboxed): then no flag is raised (NV needs a NaN: a signalling one for
 * FEQ, any for FLT and FLE; Unprivileged ISA 11.8), and UCOMIS[SD]'s
 * flags order the two exactly, -0 equal to +0.  x[rd] = the answer. */
static bool emit_fp_cmp_fast(struct jbuf *b, const struct insn *in, uint8_t **slow, int *n)
{
    bool w;
    uint8_t cc;
    switch (in->op) {
    case OP_FEQ_D: w = true; cc = CC_E; break;
    case OP_FLT_D: w = true; cc = CC_B; break;
    case OP_FLE_D: w = true; cc = CC_BE; break;
    case OP_FEQ_S: w = false; cc = CC_E; break;
    case OP_FLT_S: w = false; cc = CC_B; break;
    case OP_FLE_S: w = false; cc = CC_BE; break;
    default: return false;
    }
    load_twice_inf(b, w);
    check_operand(b, w, in->rs1, CC_A, slow, n);              /* above: a NaN */
    check_operand(b, w, in->rs2, CC_A, slow, n);
    load_xmm(b, w, 0, in->rs1);
    if (w)
        b1(b, 0x66);
    rex(b, 0, 0, JIT_HART);
    b1(b, 0x0f); b1(b, 0x2e); mem(b, 0, JIT_HART, JIT_F_OFF(in->rs2));   /* ucomis[sd] xmm0, f[rs2] */
    setcc_store(b, cc, in->rd);
    return true;
}

void jit_emit_fp(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count,
                 uint8_t *epi)
{
    switch (in->op) {
    case OP_FLW: case OP_FLD:
        emit_fs_check(b, in, off, count, epi);
        jit_regs_prepare(b, in);
        jit_emit_load(b, in, off, count, epi);
        emit_fs_dirty(b);
        return;
    case OP_FSW: case OP_FSD:
        emit_fs_check(b, in, off, count, epi);
        jit_regs_prepare(b, in);
        jit_emit_store(b, in, off, count);
        return;
    case OP_FMV_X_D:
        emit_fs_check(b, in, off, count, epi);
        op_rm(b, 1, 0x8b, RAX, JIT_HART, JIT_F_OFF(in->rs1));  /* mov rax, f[rs1] */
        jit_put_x(b, RAX, in->rd);
        return;
    case OP_FMV_D_X:
        emit_fs_check(b, in, off, count, epi);
        jit_get_x(b, RAX, in->rs1);
        op_rm(b, 1, 0x89, RAX, JIT_HART, JIT_F_OFF(in->rd));   /* mov f[rd], rax */
        emit_fs_dirty(b);
        return;
    case OP_FSGNJ_D: case OP_FSGNJN_D: case OP_FSGNJX_D:
        /* FMV.D, FNEG.D and FABS.D are these: register moves in compiled
         * code, too common for a call.  The sign of f[rs1] replaced by
         * (FSGNJ) f[rs2]'s, (FSGNJN) its inverse, (FSGNJX) xor-ed with
         * it; no flags, NaNs untouched (Unprivileged ISA 11.10). */
        emit_fs_check(b, in, off, count, epi);
        op_rm(b, 1, 0x8b, RAX, JIT_HART, JIT_F_OFF(in->rs1));
        op_rm(b, 1, 0x8b, RCX, JIT_HART, JIT_F_OFF(in->rs2));
        if (in->op == OP_FSGNJN_D) {
            rex(b, 1, 0, RCX); b1(b, 0xf7); b1(b, 0xd1);      /* not rcx */
        }
        shift_imm(b, 1, 5, RCX, 63);                          /* shr rcx, 63 */
        shift_imm(b, 1, 4, RCX, 63);                          /* shl rcx, 63: the sign */
        if (in->op == OP_FSGNJX_D) {
            op_rr(b, 1, 0x33, RAX, RCX);                      /* xor rax, rcx */
        } else {
            op_rr(b, 1, 0x03, RAX, RAX);                      /* add rax, rax */
            shift_imm(b, 1, 5, RAX, 1);                       /* shr rax, 1: sign clear */
            op_rr(b, 1, 0x0b, RAX, RCX);                      /* or rax, rcx */
        }
        op_rm(b, 1, 0x89, RAX, JIT_HART, JIT_F_OFF(in->rd));
        emit_fs_dirty(b);
        return;
    }
    emit_fs_check(b, in, off, count, epi);
    /* at most: NX, frm, 2 per single operand (boxing, finite) x 3, result */
    uint8_t *slow[9], *done = NULL;
    int n = 0;
    struct jregs before = b->ra;           /* at every jump to the call */
    if (emit_fp_fast(b, in, slow, &n) || emit_fp_cmp_fast(b, in, slow, &n)) {
        done = jmp_fwd(b);
        for (int i = 0; i < n; i++)
            patch(b, slow[i], b->p);
    }
    struct jregs hit = b->ra;              /* a compare's fast path wrote x[rd] */
    b->ra = before;
    jit_regs_writeback(b);
    jit_emit_slot_call_fn(b, in, (const void *)jit_fp_exec);
    jit_exc_check(b, off, count, epi);     /* a reserved rounding mode */
    jit_regs_reload(b, hit.valid);         /* rd too, if an integer one, held and valid */
    if (done) {
        b->ra = hit;                       /* the fast path's (a superset of dirty) */
        patch(b, done, b->p);
    }
    if (in->op != OP_FMV_X_W)              /* only reads the F state */
        emit_fs_dirty(b);
}

#endif
