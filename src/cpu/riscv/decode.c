/* cpu/riscv: instruction decoder.
 *
 * Turns one instruction into a struct insn: an op (ops.h) plus register
 * numbers and a sign-extended immediate, so the interpreter never looks at
 * raw opcode bits.  Compressed instructions (Unprivileged ISA chapter 16,
 * "C" Standard Extension) decode to the op of their 32-bit expansion with
 * len = 1 halfword.  Writes to x0 are redirected to the sink register 32 so
 * handlers need no rd != 0 test.  Anything not implemented decodes to
 * OP_ILLEGAL (illegal-instruction exception, mtval = the instruction). */
#include <string.h>

#include "cpu/riscv/hart_internal.h"

static inline uint8_t xrd(uint32_t r)
{
    return r ? (uint8_t)r : 32;
}

static void set(struct insn *d, unsigned op, unsigned rd, unsigned rs1,
                unsigned rs2, int32_t imm)
{
    d->op = (uint16_t)op;
    d->rd = (uint8_t)rd;
    d->rs1 = (uint8_t)rs1;
    d->rs2 = (uint8_t)rs2;
    d->imm = imm;
}

/* ---- 32-bit instructions ---- */

/* Sign-extend the low `bits` bits of v (no shifts of negative values). */
static inline int32_t sx(uint32_t v, unsigned bits)
{
    uint32_t m = 1u << (bits - 1);
    v &= (m << 1) - 1;
    return (int32_t)((v ^ m) - m);
}

static int32_t imm_i(uint32_t r) { return sx(r >> 20, 12); }
static int32_t imm_s(uint32_t r) { return sx(((r >> 25) << 5) | ((r >> 7) & 0x1f), 12); }
static int32_t imm_b(uint32_t r)
{
    return sx(((r >> 31) << 12) | (((r >> 7) & 1) << 11) |
              (((r >> 25) & 0x3f) << 5) | (((r >> 8) & 0xf) << 1), 13);
}
static int32_t imm_u(uint32_t r) { return (int32_t)(r & 0xfffff000u); }
static int32_t imm_j(uint32_t r)
{
    return sx(((r >> 31) << 20) | (r & 0xff000) | (((r >> 20) & 1) << 11) |
              (((r >> 21) & 0x3ff) << 1), 21);
}

static unsigned op_imm(uint32_t r)
{
    unsigned f3 = (r >> 12) & 7, f6 = r >> 26, imm12 = r >> 20;
    switch (f3) {
    case 0: return OP_ADDI;
    case 2: return OP_SLTI;
    case 3: return OP_SLTIU;
    case 4: return OP_XORI;
    case 6: return OP_ORI;
    case 7: return OP_ANDI;
    case 1:
        if (f6 == 0x00) return OP_SLLI;
        if (f6 == 0x12) return OP_BCLRI;
        if (f6 == 0x1a) return OP_BINVI;
        if (f6 == 0x0a) return OP_BSETI;
        if (imm12 == 0x600) return OP_CLZ;
        if (imm12 == 0x601) return OP_CTZ;
        if (imm12 == 0x602) return OP_CPOP;
        if (imm12 == 0x604) return OP_SEXT_B;
        if (imm12 == 0x605) return OP_SEXT_H;
        return OP_ILLEGAL;
    default: /* 5 */
        if (f6 == 0x00) return OP_SRLI;
        if (f6 == 0x10) return OP_SRAI;
        if (f6 == 0x18) return OP_RORI;
        if (f6 == 0x12) return OP_BEXTI;
        if (imm12 == 0x287) return OP_ORC_B;
        if (imm12 == 0x6b8) return OP_REV8;
        return OP_ILLEGAL;
    }
}

static unsigned op_imm32(uint32_t r)
{
    unsigned f3 = (r >> 12) & 7, f7 = r >> 25, f6 = r >> 26, imm12 = r >> 20;
    switch (f3) {
    case 0: return OP_ADDIW;
    case 1:
        if (f7 == 0x00) return OP_SLLIW;
        if (f6 == 0x02) return OP_SLLI_UW;
        if (imm12 == 0x600) return OP_CLZW;
        if (imm12 == 0x601) return OP_CTZW;
        if (imm12 == 0x602) return OP_CPOPW;
        return OP_ILLEGAL;
    case 5:
        if (f7 == 0x00) return OP_SRLIW;
        if (f7 == 0x20) return OP_SRAIW;
        if (f7 == 0x30) return OP_RORIW;
        return OP_ILLEGAL;
    default:
        return OP_ILLEGAL;
    }
}

static unsigned op_reg(uint32_t r)
{
    unsigned f3 = (r >> 12) & 7, f7 = r >> 25;
    static const uint16_t base[8] = { OP_ADD, OP_SLL, OP_SLT, OP_SLTU,
                                      OP_XOR, OP_SRL, OP_OR, OP_AND };
    static const uint16_t muldiv[8] = { OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU,
                                        OP_DIV, OP_DIVU, OP_REM, OP_REMU };
    switch (f7) {
    case 0x00: return base[f3];
    case 0x01: return muldiv[f3];
    case 0x20:
        switch (f3) {
        case 0: return OP_SUB;
        case 5: return OP_SRA;
        case 4: return OP_XNOR;
        case 6: return OP_ORN;
        case 7: return OP_ANDN;
        }
        return OP_ILLEGAL;
    case 0x10:
        if (f3 == 2) return OP_SH1ADD;
        if (f3 == 4) return OP_SH2ADD;
        if (f3 == 6) return OP_SH3ADD;
        return OP_ILLEGAL;
    case 0x05:
        if (f3 == 4) return OP_MIN;
        if (f3 == 5) return OP_MINU;
        if (f3 == 6) return OP_MAX;
        if (f3 == 7) return OP_MAXU;
        return OP_ILLEGAL;
    case 0x30:
        if (f3 == 1) return OP_ROL;
        if (f3 == 5) return OP_ROR;
        return OP_ILLEGAL;
    case 0x24:
        if (f3 == 1) return OP_BCLR;
        if (f3 == 5) return OP_BEXT;
        return OP_ILLEGAL;
    case 0x34: return f3 == 1 ? OP_BINV : OP_ILLEGAL;
    case 0x14: return f3 == 1 ? OP_BSET : OP_ILLEGAL;
    case 0x07:
        if (f3 == 5) return OP_CZERO_EQZ;
        if (f3 == 7) return OP_CZERO_NEZ;
        return OP_ILLEGAL;
    }
    return OP_ILLEGAL;
}

static unsigned op_reg32(uint32_t r)
{
    unsigned f3 = (r >> 12) & 7, f7 = r >> 25, rs2 = (r >> 20) & 31;
    switch (f7) {
    case 0x00:
        if (f3 == 0) return OP_ADDW;
        if (f3 == 1) return OP_SLLW;
        if (f3 == 5) return OP_SRLW;
        return OP_ILLEGAL;
    case 0x20:
        if (f3 == 0) return OP_SUBW;
        if (f3 == 5) return OP_SRAW;
        return OP_ILLEGAL;
    case 0x01:
        switch (f3) {
        case 0: return OP_MULW;
        case 4: return OP_DIVW;
        case 5: return OP_DIVUW;
        case 6: return OP_REMW;
        case 7: return OP_REMUW;
        }
        return OP_ILLEGAL;
    case 0x04:
        if (f3 == 0) return OP_ADD_UW;
        if (f3 == 4 && rs2 == 0) return OP_ZEXT_H;
        return OP_ILLEGAL;
    case 0x10:
        if (f3 == 2) return OP_SH1ADD_UW;
        if (f3 == 4) return OP_SH2ADD_UW;
        if (f3 == 6) return OP_SH3ADD_UW;
        return OP_ILLEGAL;
    case 0x30:
        if (f3 == 1) return OP_ROLW;
        if (f3 == 5) return OP_RORW;
        return OP_ILLEGAL;
    }
    return OP_ILLEGAL;
}

static unsigned op_amo(uint32_t r)
{
    unsigned f3 = (r >> 12) & 7, f5 = r >> 27, rs2 = (r >> 20) & 31;
    if (f3 != 2 && f3 != 3)
        return OP_ILLEGAL;
    unsigned d = f3 == 3 ? (OP_LR_D - OP_LR_W) : 0;
    switch (f5) {
    case 0x02: return rs2 ? OP_ILLEGAL : OP_LR_W + d;
    case 0x03: return OP_SC_W + d;
    case 0x01: return OP_AMOSWAP_W + d;
    case 0x00: return OP_AMOADD_W + d;
    case 0x04: return OP_AMOXOR_W + d;
    case 0x0c: return OP_AMOAND_W + d;
    case 0x08: return OP_AMOOR_W + d;
    case 0x10: return OP_AMOMIN_W + d;
    case 0x14: return OP_AMOMAX_W + d;
    case 0x18: return OP_AMOMINU_W + d;
    case 0x1c: return OP_AMOMAXU_W + d;
    }
    return OP_ILLEGAL;
}

/* OP-FP (opcode 0x53).  Sets *int_rd when rd names an integer register. */
static unsigned op_fp(uint32_t r, bool *int_rd)
{
    unsigned f3 = (r >> 12) & 7, f7 = r >> 25, rs2 = (r >> 20) & 31;
    unsigned d = f7 & 1;   /* fmt: 0 = S, 1 = D */
    *int_rd = false;
    switch (f7 >> 1) {
    case 0x00: return d ? OP_FADD_D : OP_FADD_S;
    case 0x02: return d ? OP_FSUB_D : OP_FSUB_S;
    case 0x04: return d ? OP_FMUL_D : OP_FMUL_S;
    case 0x06: return d ? OP_FDIV_D : OP_FDIV_S;
    case 0x16: return rs2 ? OP_ILLEGAL : d ? OP_FSQRT_D : OP_FSQRT_S;
    case 0x08:
        if (f3 == 0) return d ? OP_FSGNJ_D : OP_FSGNJ_S;
        if (f3 == 1) return d ? OP_FSGNJN_D : OP_FSGNJN_S;
        if (f3 == 2) return d ? OP_FSGNJX_D : OP_FSGNJX_S;
        return OP_ILLEGAL;
    case 0x0a:
        if (f3 == 0) return d ? OP_FMIN_D : OP_FMIN_S;
        if (f3 == 1) return d ? OP_FMAX_D : OP_FMAX_S;
        return OP_ILLEGAL;
    case 0x10: /* FCVT.S.D (f7 0x20, rs2 1) / FCVT.D.S (f7 0x21, rs2 0) */
        if (!d && rs2 == 1) return OP_FCVT_S_D;
        if (d && rs2 == 0) return OP_FCVT_D_S;
        return OP_ILLEGAL;
    case 0x28:
        *int_rd = true;
        if (f3 == 2) return d ? OP_FEQ_D : OP_FEQ_S;
        if (f3 == 1) return d ? OP_FLT_D : OP_FLT_S;
        if (f3 == 0) return d ? OP_FLE_D : OP_FLE_S;
        return OP_ILLEGAL;
    case 0x30:
        *int_rd = true;
        switch (rs2) {
        case 0: return d ? OP_FCVT_W_D : OP_FCVT_W_S;
        case 1: return d ? OP_FCVT_WU_D : OP_FCVT_WU_S;
        case 2: return d ? OP_FCVT_L_D : OP_FCVT_L_S;
        case 3: return d ? OP_FCVT_LU_D : OP_FCVT_LU_S;
        }
        return OP_ILLEGAL;
    case 0x34:
        switch (rs2) {
        case 0: return d ? OP_FCVT_D_W : OP_FCVT_S_W;
        case 1: return d ? OP_FCVT_D_WU : OP_FCVT_S_WU;
        case 2: return d ? OP_FCVT_D_L : OP_FCVT_S_L;
        case 3: return d ? OP_FCVT_D_LU : OP_FCVT_S_LU;
        }
        return OP_ILLEGAL;
    case 0x38:
        *int_rd = true;
        if (rs2 != 0) return OP_ILLEGAL;
        if (f3 == 0) return d ? OP_FMV_X_D : OP_FMV_X_W;
        if (f3 == 1) return d ? OP_FCLASS_D : OP_FCLASS_S;
        return OP_ILLEGAL;
    case 0x3c:
        if (rs2 != 0 || f3 != 0) return OP_ILLEGAL;
        return d ? OP_FMV_D_X : OP_FMV_W_X;
    }
    return OP_ILLEGAL;
}

static unsigned op_system(uint32_t r)
{
    unsigned f3 = (r >> 12) & 7, f7 = r >> 25, rd = (r >> 7) & 31;
    switch (f3) {
    case 0:
        if (r == 0x00000073) return OP_ECALL;
        if (r == 0x00100073) return OP_EBREAK;
        if (r == 0x30200073) return OP_MRET;
        if (r == 0x10200073) return OP_SRET;
        if (r == 0x10500073) return OP_WFI;
        if (f7 == 0x09 && rd == 0) return OP_SFENCE_VMA;
        return OP_ILLEGAL;
    case 1: return OP_CSRRW;
    case 2: return OP_CSRRS;
    case 3: return OP_CSRRC;
    case 5: return OP_CSRRWI;
    case 6: return OP_CSRRSI;
    case 7: return OP_CSRRCI;
    }
    return OP_ILLEGAL;
}

static void decode32(uint32_t r, struct insn *d)
{
    unsigned rd = (r >> 7) & 31, rs1 = (r >> 15) & 31, rs2 = (r >> 20) & 31;
    unsigned f3 = (r >> 12) & 7;
    d->len = 2;
    switch (r & 0x7f) {
    case 0x37: set(d, OP_LUI, xrd(rd), 0, 0, imm_u(r)); return;
    case 0x17: set(d, OP_AUIPC, xrd(rd), 0, 0, imm_u(r)); return;
    case 0x6f: set(d, OP_JAL, xrd(rd), 0, 0, imm_j(r)); return;
    case 0x67:
        set(d, f3 ? OP_ILLEGAL : OP_JALR, xrd(rd), rs1, 0, imm_i(r));
        return;
    case 0x63: {
        static const uint16_t br[8] = { OP_BEQ, OP_BNE, OP_ILLEGAL, OP_ILLEGAL,
                                        OP_BLT, OP_BGE, OP_BLTU, OP_BGEU };
        set(d, br[f3], 0, rs1, rs2, imm_b(r));
        return;
    }
    case 0x03: {
        static const uint16_t ld[8] = { OP_LB, OP_LH, OP_LW, OP_LD,
                                        OP_LBU, OP_LHU, OP_LWU, OP_ILLEGAL };
        set(d, ld[f3], xrd(rd), rs1, 0, imm_i(r));
        return;
    }
    case 0x23: {
        static const uint16_t st[8] = { OP_SB, OP_SH, OP_SW, OP_SD, OP_ILLEGAL,
                                        OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL };
        set(d, st[f3], 0, rs1, rs2, imm_s(r));
        return;
    }
    case 0x13: {
        unsigned op = op_imm(r);
        int32_t imm = imm_i(r);
        if (op == OP_SLLI || op == OP_SRLI || op == OP_SRAI || op == OP_RORI ||
            op == OP_BCLRI || op == OP_BINVI || op == OP_BSETI || op == OP_BEXTI)
            imm &= 63;
        set(d, op, xrd(rd), rs1, 0, imm);
        return;
    }
    case 0x1b: {
        unsigned op = op_imm32(r);
        int32_t imm = imm_i(r);
        if (op == OP_SLLI_UW)
            imm &= 63;
        else if (op != OP_ADDIW)
            imm &= 31;
        set(d, op, xrd(rd), rs1, 0, imm);
        return;
    }
    case 0x33: set(d, op_reg(r), xrd(rd), rs1, rs2, 0); return;
    case 0x3b: set(d, op_reg32(r), xrd(rd), rs1, rs2, 0); return;
    case 0x0f:
        if (f3 == 0) {
            /* The host (x86-64 TSO) keeps every order RVWMO asks for except
             * store -> load: a FENCE whose predecessor set has W and whose
             * successor set has R needs a full host barrier (smp_mb()). */
            unsigned pred = (r >> 24) & 0xf, succ = (r >> 20) & 0xf, fm = r >> 28;
            bool w_then_r = (pred & 1) && (succ & 2) && fm != 8;   /* fm 8: FENCE.TSO */
            set(d, w_then_r ? OP_FENCE : OP_NOP, 0, 0, 0, 0);
            return;
        }
        if (f3 == 1) { set(d, OP_FENCE_I, 0, 0, 0, 0); return; }
        set(d, OP_ILLEGAL, 0, 0, 0, 0);
        return;
    case 0x73:
        set(d, op_system(r), xrd(rd), rs1, rs2, (int32_t)(r >> 20));
        d->aux = (uint8_t)rs1;   /* CSR immediate */
        return;
    case 0x2f:
        set(d, op_amo(r), xrd(rd), rs1, rs2, 0);
        d->aux = (uint8_t)((r >> 25) & 3);   /* aq, rl */
        return;
    case 0x07:
        set(d, f3 == 2 ? OP_FLW : f3 == 3 ? OP_FLD : OP_ILLEGAL, rd, rs1, 0, imm_i(r));
        return;
    case 0x27:
        set(d, f3 == 2 ? OP_FSW : f3 == 3 ? OP_FSD : OP_ILLEGAL, 0, rs1, rs2, imm_s(r));
        return;
    case 0x43: case 0x47: case 0x4b: case 0x4f: {
        unsigned fmt = (r >> 25) & 3, k = ((r & 0x7f) - 0x43) >> 2;
        static const uint16_t s[4] = { OP_FMADD_S, OP_FMSUB_S, OP_FNMSUB_S, OP_FNMADD_S };
        static const uint16_t dd[4] = { OP_FMADD_D, OP_FMSUB_D, OP_FNMSUB_D, OP_FNMADD_D };
        /* rm in imm: aux stays free to count block entries (exec.c) */
        set(d, fmt == 0 ? s[k] : fmt == 1 ? dd[k] : OP_ILLEGAL, rd, rs1, rs2, (int32_t)f3);
        d->rs3 = (uint8_t)(r >> 27);
        return;
    }
    case 0x53: {
        bool int_rd;
        unsigned op = op_fp(r, &int_rd);
        set(d, op, int_rd ? xrd(rd) : rd, rs1, rs2, (int32_t)f3);   /* rm, as above */
        return;
    }
    }
    set(d, OP_ILLEGAL, 0, 0, 0, 0);
}

/* ---- compressed instructions ---- */

static inline uint32_t b(uint32_t r, unsigned hi, unsigned lo)
{
    return (r >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static void decode16(uint32_t r, struct insn *d)
{
    unsigned f3 = b(r, 15, 13);
    unsigned rdp = 8 + b(r, 4, 2), rs1p = 8 + b(r, 9, 7);
    unsigned rd = b(r, 11, 7), rs2 = b(r, 6, 2);
    int32_t imm6 = sx((b(r, 12, 12) << 5) | b(r, 6, 2), 6);
    d->len = 1;
    set(d, OP_ILLEGAL, 0, 0, 0, 0);

    switch (r & 3) {
    case 0:
        switch (f3) {
        case 0: { /* C.ADDI4SPN */
            uint32_t imm = (b(r, 12, 11) << 4) | (b(r, 10, 7) << 6) |
                           (b(r, 6, 6) << 2) | (b(r, 5, 5) << 3);
            if (imm)
                set(d, OP_ADDI, rdp, 2, 0, (int32_t)imm);
            return;
        }
        case 1: /* C.FLD */
            set(d, OP_FLD, rdp, rs1p, 0, (int32_t)((b(r, 12, 10) << 3) | (b(r, 6, 5) << 6)));
            return;
        case 2: /* C.LW */
            set(d, OP_LW, rdp, rs1p, 0,
                (int32_t)((b(r, 12, 10) << 3) | (b(r, 6, 6) << 2) | (b(r, 5, 5) << 6)));
            return;
        case 3: /* C.LD */
            set(d, OP_LD, rdp, rs1p, 0, (int32_t)((b(r, 12, 10) << 3) | (b(r, 6, 5) << 6)));
            return;
        case 5: /* C.FSD */
            set(d, OP_FSD, 0, rs1p, rdp, (int32_t)((b(r, 12, 10) << 3) | (b(r, 6, 5) << 6)));
            return;
        case 6: /* C.SW */
            set(d, OP_SW, 0, rs1p, rdp,
                (int32_t)((b(r, 12, 10) << 3) | (b(r, 6, 6) << 2) | (b(r, 5, 5) << 6)));
            return;
        case 7: /* C.SD */
            set(d, OP_SD, 0, rs1p, rdp, (int32_t)((b(r, 12, 10) << 3) | (b(r, 6, 5) << 6)));
            return;
        }
        return;
    case 1:
        switch (f3) {
        case 0: /* C.ADDI / C.NOP */
            set(d, OP_ADDI, xrd(rd), rd, 0, imm6);
            return;
        case 1: /* C.ADDIW */
            if (rd)
                set(d, OP_ADDIW, rd, rd, 0, imm6);
            return;
        case 2: /* C.LI */
            set(d, OP_ADDI, xrd(rd), 0, 0, imm6);
            return;
        case 3:
            if (rd == 2) { /* C.ADDI16SP */
                int32_t imm = sx((b(r, 12, 12) << 9) | (b(r, 6, 6) << 4) |
                                 (b(r, 5, 5) << 6) | (b(r, 4, 3) << 7) |
                                 (b(r, 2, 2) << 5), 10);
                if (imm)
                    set(d, OP_ADDI, 2, 2, 0, imm);
            } else if (imm6) { /* C.LUI */
                set(d, OP_LUI, xrd(rd), 0, 0, (int32_t)((uint32_t)imm6 << 12));
            }
            return;
        case 4: {
            unsigned shamt = (b(r, 12, 12) << 5) | b(r, 6, 2);
            switch (b(r, 11, 10)) {
            case 0: set(d, OP_SRLI, rs1p, rs1p, 0, (int32_t)shamt); return;
            case 1: set(d, OP_SRAI, rs1p, rs1p, 0, (int32_t)shamt); return;
            case 2: set(d, OP_ANDI, rs1p, rs1p, 0, imm6); return;
            }
            static const uint16_t alu[8] = { OP_SUB, OP_XOR, OP_OR, OP_AND,
                                             OP_SUBW, OP_ADDW, OP_ILLEGAL, OP_ILLEGAL };
            set(d, alu[(b(r, 12, 12) << 2) | b(r, 6, 5)], rs1p, rs1p, rdp, 0);
            return;
        }
        case 5: { /* C.J */
            int32_t imm = sx((b(r, 12, 12) << 11) | (b(r, 11, 11) << 4) |
                             (b(r, 10, 9) << 8) | (b(r, 8, 8) << 10) |
                             (b(r, 7, 7) << 6) | (b(r, 6, 6) << 7) |
                             (b(r, 5, 3) << 1) | (b(r, 2, 2) << 5), 12);
            set(d, OP_JAL, 32, 0, 0, imm);
            return;
        }
        default: { /* C.BEQZ, C.BNEZ */
            int32_t imm = sx((b(r, 12, 12) << 8) | (b(r, 11, 10) << 3) |
                             (b(r, 6, 5) << 6) | (b(r, 4, 3) << 1) |
                             (b(r, 2, 2) << 5), 9);
            set(d, f3 == 6 ? OP_BEQ : OP_BNE, 0, rs1p, 0, imm);
            return;
        }
        }
    case 2:
        switch (f3) {
        case 0: /* C.SLLI */
            set(d, OP_SLLI, xrd(rd), rd, 0, (int32_t)((b(r, 12, 12) << 5) | b(r, 6, 2)));
            return;
        case 1: /* C.FLDSP */
            set(d, OP_FLD, rd, 2, 0,
                (int32_t)((b(r, 12, 12) << 5) | (b(r, 6, 5) << 3) | (b(r, 4, 2) << 6)));
            return;
        case 2: /* C.LWSP */
            if (rd)
                set(d, OP_LW, rd, 2, 0,
                    (int32_t)((b(r, 12, 12) << 5) | (b(r, 6, 4) << 2) | (b(r, 3, 2) << 6)));
            return;
        case 3: /* C.LDSP */
            if (rd)
                set(d, OP_LD, rd, 2, 0,
                    (int32_t)((b(r, 12, 12) << 5) | (b(r, 6, 5) << 3) | (b(r, 4, 2) << 6)));
            return;
        case 4:
            if (!b(r, 12, 12)) {
                if (rs2 == 0) { /* C.JR */
                    if (rd)
                        set(d, OP_JALR, 32, rd, 0, 0);
                } else { /* C.MV */
                    set(d, OP_ADD, xrd(rd), 0, rs2, 0);
                }
            } else {
                if (rd == 0 && rs2 == 0) /* C.EBREAK */
                    set(d, OP_EBREAK, 0, 0, 0, 0);
                else if (rs2 == 0) /* C.JALR */
                    set(d, OP_JALR, 1, rd, 0, 0);
                else /* C.ADD */
                    set(d, OP_ADD, xrd(rd), rd, rs2, 0);
            }
            return;
        case 5: /* C.FSDSP */
            set(d, OP_FSD, 0, 2, rs2, (int32_t)((b(r, 12, 10) << 3) | (b(r, 9, 7) << 6)));
            return;
        case 6: /* C.SWSP */
            set(d, OP_SW, 0, 2, rs2, (int32_t)((b(r, 12, 9) << 2) | (b(r, 8, 7) << 6)));
            return;
        case 7: /* C.SDSP */
            set(d, OP_SD, 0, 2, rs2, (int32_t)((b(r, 12, 10) << 3) | (b(r, 9, 7) << 6)));
            return;
        }
    }
}

void rv_decode(uint32_t raw, struct insn *out)
{
    memset(out, 0, sizeof(*out));
    if ((raw & 3) == 3) {
        out->raw = raw;
        decode32(raw, out);
    } else {
        out->raw = raw & 0xffff;
        decode16(raw & 0xffff, out);
    }
}

#define RV_OP_NAME(name) [OP_##name] = #name,
static const char *const op_names[OP_COUNT] = {
    RV_INT_OPS(RV_OP_NAME) RV_SYS_OPS(RV_OP_NAME)
    RV_AMO_OPS(RV_OP_NAME) RV_FP_OPS(RV_OP_NAME)
};

const char *rv_op_name(unsigned op)
{
    return op < OP_COUNT ? op_names[op] : "?";
}
