/* cpu/riscv: execution of F/D arithmetic (Unprivileged ISA chapters 11
 * and 12) on top of fpu.h (the arithmetic on the host's units where they
 * agree with the soft-float, fpu_host.c, else the soft-float): NaN-boxing
 * of singles,
 * rounding-mode resolution (rm = 7 takes frm; 5, 6 and an invalid frm are
 * illegal), fflags accumulation and mstatus.FS tracking.  Loads, stores,
 * moves and FSGNJ are inline in exec.c; the moves and FSGNJ are here too,
 * for translated code (jit_x86_64_fp.c). */
#include "cpu/riscv/fpu.h"
#include "cpu/riscv/hart_internal.h"

#define BOX32(v) (0xffffffff00000000ULL | (uint32_t)(v))

static inline uint32_t unbox(uint64_t v)
{
    return (v >> 32) == 0xffffffffULL ? (uint32_t)v : F32_CANON_NAN;
}

/* Does this op take a rounding mode? */
static bool uses_rm(unsigned op)
{
    switch (op) {
    case OP_FSGNJN_S: case OP_FSGNJX_S: case OP_FMIN_S: case OP_FMAX_S:
    case OP_FEQ_S: case OP_FLT_S: case OP_FLE_S: case OP_FCLASS_S:
    case OP_FSGNJN_D: case OP_FSGNJX_D: case OP_FMIN_D: case OP_FMAX_D:
    case OP_FEQ_D: case OP_FLT_D: case OP_FLE_D: case OP_FCLASS_D:
    case OP_FSGNJ_S: case OP_FSGNJ_D:
    case OP_FMV_X_W: case OP_FMV_W_X: case OP_FMV_X_D: case OP_FMV_D_X:
        return false;
    }
    return true;
}

/* The operation: fflags accumulated, f[rd] or x[rd] written; the FS
 * check and FS = Dirty are the callers'. */
static inline __attribute__((always_inline)) int fp_op(struct hart *h, const struct insn *ip)
{
    int rm = ip->imm;           /* the instruction's rm field (decode.c) */
    if (uses_rm(ip->op)) {
        if (rm == FRM_DYN)
            rm = (int)h->frm;
        if (rm > FRM_RMM)
            goto illegal;
    }
    /* The flags raised so far, so that fpu_host.c's fast path sees NX */
    uint32_t fl = h->fflags;
    uint64_t *f = h->f;
    uint64_t *x = h->x;
    uint64_t d1 = f[ip->rs1], d2 = f[ip->rs2], d3 = f[ip->rs3];
    uint32_t s1 = unbox(d1), s2 = unbox(d2), s3 = unbox(d3);
    uint64_t xs = x[ip->rs1];
    unsigned rd = ip->rd;

    switch (ip->op) {
    /* the single-precision moves and FSGNJ.S, which the interpreter runs
     * inline (exec.c), for translated code; their double-precision
     * forms are inline there too (jit_x86_64_fp.c) */
    case OP_FMV_X_W: x[rd] = (uint64_t)(int64_t)(int32_t)d1; break;
    case OP_FMV_W_X: f[rd] = BOX32(xs); break;
    case OP_FSGNJ_S: f[rd] = BOX32((s1 & 0x7fffffffu) | (s2 & 0x80000000u)); break;
    /* binary32 */
    case OP_FMADD_S:  f[rd] = BOX32(f32_fma_host(s1, s2, s3, 0, 0, rm, &fl)); break;
    case OP_FMSUB_S:  f[rd] = BOX32(f32_fma_host(s1, s2, s3, 0, 1, rm, &fl)); break;
    case OP_FNMSUB_S: f[rd] = BOX32(f32_fma_host(s1, s2, s3, 1, 0, rm, &fl)); break;
    case OP_FNMADD_S: f[rd] = BOX32(f32_fma_host(s1, s2, s3, 1, 1, rm, &fl)); break;
    case OP_FADD_S:   f[rd] = BOX32(f32_add_host(s1, s2, rm, &fl)); break;
    case OP_FSUB_S:   f[rd] = BOX32(f32_sub_host(s1, s2, rm, &fl)); break;
    case OP_FMUL_S:   f[rd] = BOX32(f32_mul_host(s1, s2, rm, &fl)); break;
    case OP_FDIV_S:   f[rd] = BOX32(f32_div_host(s1, s2, rm, &fl)); break;
    case OP_FSQRT_S:  f[rd] = BOX32(f32_sqrt_host(s1, rm, &fl)); break;
    case OP_FSGNJN_S: f[rd] = BOX32((s1 & 0x7fffffffu) | (~s2 & 0x80000000u)); break;
    case OP_FSGNJX_S: f[rd] = BOX32(s1 ^ (s2 & 0x80000000u)); break;
    case OP_FMIN_S:   f[rd] = BOX32(f32_min(s1, s2, &fl)); break;
    case OP_FMAX_S:   f[rd] = BOX32(f32_max(s1, s2, &fl)); break;
    case OP_FCVT_W_S:  x[rd] = (uint64_t)f32_to_i32(s1, rm, &fl); break;
    case OP_FCVT_WU_S: x[rd] = (uint64_t)f32_to_u32(s1, rm, &fl); break;
    case OP_FCVT_L_S:  x[rd] = (uint64_t)f32_to_i64(s1, rm, &fl); break;
    case OP_FCVT_LU_S: x[rd] = f32_to_u64(s1, rm, &fl); break;
    case OP_FEQ_S:    x[rd] = (uint64_t)f32_eq(s1, s2, &fl); break;
    case OP_FLT_S:    x[rd] = (uint64_t)f32_lt(s1, s2, &fl); break;
    case OP_FLE_S:    x[rd] = (uint64_t)f32_le(s1, s2, &fl); break;
    case OP_FCLASS_S: x[rd] = f32_classify(s1); break;
    case OP_FCVT_S_W:  f[rd] = BOX32(i32_to_f32((int32_t)xs, rm, &fl)); break;
    case OP_FCVT_S_WU: f[rd] = BOX32(u32_to_f32((uint32_t)xs, rm, &fl)); break;
    case OP_FCVT_S_L:  f[rd] = BOX32(i64_to_f32((int64_t)xs, rm, &fl)); break;
    case OP_FCVT_S_LU: f[rd] = BOX32(u64_to_f32(xs, rm, &fl)); break;
    /* binary64 */
    case OP_FMADD_D:  f[rd] = f64_fma_host(d1, d2, d3, 0, 0, rm, &fl); break;
    case OP_FMSUB_D:  f[rd] = f64_fma_host(d1, d2, d3, 0, 1, rm, &fl); break;
    case OP_FNMSUB_D: f[rd] = f64_fma_host(d1, d2, d3, 1, 0, rm, &fl); break;
    case OP_FNMADD_D: f[rd] = f64_fma_host(d1, d2, d3, 1, 1, rm, &fl); break;
    case OP_FADD_D:   f[rd] = f64_add_host(d1, d2, rm, &fl); break;
    case OP_FSUB_D:   f[rd] = f64_sub_host(d1, d2, rm, &fl); break;
    case OP_FMUL_D:   f[rd] = f64_mul_host(d1, d2, rm, &fl); break;
    case OP_FDIV_D:   f[rd] = f64_div_host(d1, d2, rm, &fl); break;
    case OP_FSQRT_D:  f[rd] = f64_sqrt_host(d1, rm, &fl); break;
    case OP_FSGNJN_D: f[rd] = (d1 & ~(1ULL << 63)) | (~d2 & (1ULL << 63)); break;
    case OP_FSGNJX_D: f[rd] = d1 ^ (d2 & (1ULL << 63)); break;
    case OP_FMIN_D:   f[rd] = f64_min(d1, d2, &fl); break;
    case OP_FMAX_D:   f[rd] = f64_max(d1, d2, &fl); break;
    case OP_FCVT_W_D:  x[rd] = (uint64_t)f64_to_i32(d1, rm, &fl); break;
    case OP_FCVT_WU_D: x[rd] = (uint64_t)f64_to_u32(d1, rm, &fl); break;
    case OP_FCVT_L_D:  x[rd] = (uint64_t)f64_to_i64(d1, rm, &fl); break;
    case OP_FCVT_LU_D: x[rd] = f64_to_u64(d1, rm, &fl); break;
    case OP_FEQ_D:    x[rd] = (uint64_t)f64_eq(d1, d2, &fl); break;
    case OP_FLT_D:    x[rd] = (uint64_t)f64_lt(d1, d2, &fl); break;
    case OP_FLE_D:    x[rd] = (uint64_t)f64_le(d1, d2, &fl); break;
    case OP_FCLASS_D: x[rd] = f64_classify(d1); break;
    case OP_FCVT_D_W:  f[rd] = i32_to_f64((int32_t)xs, rm, &fl); break;
    case OP_FCVT_D_WU: f[rd] = u32_to_f64((uint32_t)xs, rm, &fl); break;
    case OP_FCVT_D_L:  f[rd] = i64_to_f64((int64_t)xs, rm, &fl); break;
    case OP_FCVT_D_LU: f[rd] = u64_to_f64(xs, rm, &fl); break;
    case OP_FCVT_S_D: f[rd] = BOX32(f64_to_f32(d1, rm, &fl)); break;
    case OP_FCVT_D_S: f[rd] = f32_to_f64(s1, &fl); break;
    default:
        goto illegal;
    }
    x[32] = 0;
    h->fflags = fl;
    return EXEC_NEXT;

illegal:
    h->exc_tval = ip->raw;
    return EXEC_EXC(EXC_ILLEGAL);
}

int fp_exec(struct hart *h, const struct insn *ip)
{
    if (!(h->mstatus & MSTATUS_FS)) {
        h->exc_tval = ip->raw;
        return EXEC_EXC(EXC_ILLEGAL);
    }
    int r = fp_op(h, ip);
    /* Only the interpreter calls this, and never for the moves to an
     * integer register (they run inline in exec.c and leave FS alone):
     * every op here may change the F state. */
    if (r == EXEC_NEXT)
        h->mstatus |= MSTATUS_FS | MSTATUS_SD;
    return r;
}

int fp_exec_fs_on(struct hart *h, const struct insn *ip)
{
    return fp_op(h, ip);
}
