/* cpu/riscv internal: the list of decoded operations.
 *
 * The decoder turns each instruction (32-bit or compressed) into one of
 * these; the interpreter dispatches on it with a computed goto.  Compressed
 * instructions decode to the same ops as their 32-bit expansions.
 * OP_DECODE must be 0: a zero-filled decoded page means "not decoded yet". */
#ifndef VESSEL_RISCV_OPS_H
#define VESSEL_RISCV_OPS_H

#include <stdbool.h>

/* Ops with their own handler in the interpreter loop. */
#define RV_INT_OPS(X)                                                          \
    X(DECODE) X(ILLEGAL) X(CROSS) X(CROSS_END) X(NOP) X(JIT) X(FENCE)          \
    X(LUI) X(AUIPC) X(JAL) X(JALR)                                             \
    X(BEQ) X(BNE) X(BLT) X(BGE) X(BLTU) X(BGEU)                                \
    X(LB) X(LH) X(LW) X(LD) X(LBU) X(LHU) X(LWU)                               \
    X(SB) X(SH) X(SW) X(SD)                                                    \
    X(ADDI) X(SLTI) X(SLTIU) X(XORI) X(ORI) X(ANDI) X(SLLI) X(SRLI) X(SRAI)    \
    X(ADD) X(SUB) X(SLL) X(SLT) X(SLTU) X(XOR) X(SRL) X(SRA) X(OR) X(AND)      \
    X(ADDIW) X(SLLIW) X(SRLIW) X(SRAIW)                                        \
    X(ADDW) X(SUBW) X(SLLW) X(SRLW) X(SRAW)                                    \
    X(MUL) X(MULH) X(MULHSU) X(MULHU) X(DIV) X(DIVU) X(REM) X(REMU)            \
    X(MULW) X(DIVW) X(DIVUW) X(REMW) X(REMUW)                                  \
    X(SH1ADD) X(SH2ADD) X(SH3ADD) X(ADD_UW) X(SH1ADD_UW) X(SH2ADD_UW)          \
    X(SH3ADD_UW) X(SLLI_UW)                                                    \
    X(ANDN) X(ORN) X(XNOR) X(CLZ) X(CLZW) X(CTZ) X(CTZW) X(CPOP) X(CPOPW)      \
    X(MAX) X(MAXU) X(MIN) X(MINU) X(SEXT_B) X(SEXT_H) X(ZEXT_H)                \
    X(ROL) X(ROLW) X(ROR) X(RORI) X(RORIW) X(RORW) X(ORC_B) X(REV8)            \
    X(BCLR) X(BCLRI) X(BEXT) X(BEXTI) X(BINV) X(BINVI) X(BSET) X(BSETI)        \
    X(CZERO_EQZ) X(CZERO_NEZ)                                                  \
    X(FLW) X(FSW) X(FLD) X(FSD)                                                \
    X(FMV_X_W) X(FMV_W_X) X(FMV_X_D) X(FMV_D_X)                                \
    X(FSGNJ_D) X(FSGNJ_S)

/* Ops executed out of line: system instructions (SYSTEM group handled by
 * sys_exec), atomics (amo_exec) and floating-point arithmetic (fp_exec). */
#define RV_SYS_OPS(X)                                                          \
    X(FENCE_I) X(ECALL) X(EBREAK) X(CSRRW) X(CSRRS) X(CSRRC) X(CSRRWI)         \
    X(CSRRSI) X(CSRRCI) X(MRET) X(SRET) X(WFI) X(SFENCE_VMA)

#define RV_AMO_OPS(X)                                                          \
    X(LR_W) X(SC_W) X(AMOSWAP_W) X(AMOADD_W) X(AMOXOR_W) X(AMOAND_W)           \
    X(AMOOR_W) X(AMOMIN_W) X(AMOMAX_W) X(AMOMINU_W) X(AMOMAXU_W)               \
    X(LR_D) X(SC_D) X(AMOSWAP_D) X(AMOADD_D) X(AMOXOR_D) X(AMOAND_D)           \
    X(AMOOR_D) X(AMOMIN_D) X(AMOMAX_D) X(AMOMINU_D) X(AMOMAXU_D)

#define RV_FP_OPS(X)                                                           \
    X(FMADD_S) X(FMSUB_S) X(FNMSUB_S) X(FNMADD_S)                              \
    X(FADD_S) X(FSUB_S) X(FMUL_S) X(FDIV_S) X(FSQRT_S)                         \
    X(FSGNJN_S) X(FSGNJX_S) X(FMIN_S) X(FMAX_S)                                \
    X(FCVT_W_S) X(FCVT_WU_S) X(FCVT_L_S) X(FCVT_LU_S)                          \
    X(FEQ_S) X(FLT_S) X(FLE_S) X(FCLASS_S)                                     \
    X(FCVT_S_W) X(FCVT_S_WU) X(FCVT_S_L) X(FCVT_S_LU)                          \
    X(FMADD_D) X(FMSUB_D) X(FNMSUB_D) X(FNMADD_D)                              \
    X(FADD_D) X(FSUB_D) X(FMUL_D) X(FDIV_D) X(FSQRT_D)                         \
    X(FSGNJN_D) X(FSGNJX_D) X(FMIN_D) X(FMAX_D)                                \
    X(FCVT_W_D) X(FCVT_WU_D) X(FCVT_L_D) X(FCVT_LU_D)                          \
    X(FEQ_D) X(FLT_D) X(FLE_D) X(FCLASS_D)                                     \
    X(FCVT_D_W) X(FCVT_D_WU) X(FCVT_D_L) X(FCVT_D_LU)                          \
    X(FCVT_S_D) X(FCVT_D_S)

#define RV_OP_ENUM(name) OP_##name,
enum rv_op {
    RV_INT_OPS(RV_OP_ENUM)
    RV_SYS_OPS(RV_OP_ENUM)
    RV_AMO_OPS(RV_OP_ENUM)
    RV_FP_OPS(RV_OP_ENUM)
    OP_COUNT
};
#undef RV_OP_ENUM

/* The "A" ops (RV_AMO_OPS, contiguous) and the Zicsr ops (CSRRW..CSRRCI,
 * contiguous in RV_SYS_OPS). */
static inline bool op_is_amo(unsigned op) { return op >= OP_LR_W && op <= OP_AMOMAXU_D; }
static inline bool op_is_csr(unsigned op) { return op >= OP_CSRRW && op <= OP_CSRRCI; }
/* The F and D ops: FLW..FSGNJ_S (contiguous in RV_INT_OPS, which the
 * interpreter runs inline) and all of RV_FP_OPS (fp_exec). */
static inline bool op_is_fp(unsigned op)
{
    return (op >= OP_FLW && op <= OP_FSGNJ_S) || (op >= OP_FMADD_S && op <= OP_FCVT_D_S);
}

/* The conditional branches (BEQ..BGEU). */
static inline bool op_is_branch(unsigned op)
{
    switch (op) {
    case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
        return true;
    }
    return false;
}

/* The integer loads (LB..LWU). */
static inline bool op_is_int_load(unsigned op)
{
    switch (op) {
    case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
        return true;
    }
    return false;
}

/* The stores, integer and F/D (SB..SD, FSW, FSD). */
static inline bool op_is_store(unsigned op)
{
    switch (op) {
    case OP_SB: case OP_SH: case OP_SW: case OP_SD: case OP_FSW: case OP_FSD:
        return true;
    }
    return false;
}

/* Name of an op, for tests and debugging. */
const char *rv_op_name(unsigned op);

#endif
