/* Vessel ISA test harness: macros for bare-metal RISC-V test programs.
 *
 * Register conventions (see README.md):
 *   gp (x3)  TESTNUM: number of the check in progress; on failure it becomes
 *            the exit status (HTIF tohost = (gp << 1) | 1).
 *   tp (x4)  privilege mode the framework believes the test runs in
 *            (3 = M, 1 = S, 0 = U); maintained by the GOTO_* helpers.
 *   sp (x2)  stack (set by crt.S).
 *   t2 (x7)  expected value in the TEST_* macros.
 *   t5, t6   clobbered by the trap framework; after an expected trap t6 holds
 *            the cause that was taken.
 *   a1..a4   operands / result in the TEST_* macros.
 * Each test file defines `test_main` (entered in M-mode) and ends with PASS.
 */
#ifndef VESSEL_ISA_TEST_H
#define VESSEL_ISA_TEST_H

#define TESTNUM gp

/* ---- CSR bits ------------------------------------------------------- */
#define MSTATUS_SIE   0x00000002
#define MSTATUS_MIE   0x00000008
#define MSTATUS_SPIE  0x00000020
#define MSTATUS_MPIE  0x00000080
#define MSTATUS_SPP   0x00000100
#define MSTATUS_MPP   0x00001800
#define MSTATUS_MPP_S 0x00000800
#define MSTATUS_FS    0x00006000
#define MSTATUS_FS_INITIAL 0x00002000
#define MSTATUS_FS_CLEAN   0x00004000
#define MSTATUS_FS_DIRTY   0x00006000
#define MSTATUS_XS    0x00018000
#define MSTATUS_MPRV  0x00020000
#define MSTATUS_SUM   0x00040000
#define MSTATUS_MXR   0x00080000
#define MSTATUS_TVM   0x00100000
#define MSTATUS_TW    0x00200000
#define MSTATUS_TSR   0x00400000
#define MSTATUS_UXL   0x0000000300000000
#define MSTATUS_SXL   0x0000000C00000000
#define MSTATUS_SD    0x8000000000000000

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11
#define MIP_SSIP (1 << IRQ_SSI)
#define MIP_MSIP (1 << IRQ_MSI)
#define MIP_STIP (1 << IRQ_STI)
#define MIP_MTIP (1 << IRQ_MTI)
#define MIP_SEIP (1 << IRQ_SEI)
#define MIP_MEIP (1 << IRQ_MEI)

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL_INSN     2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_USER_ECALL       8
#define CAUSE_SUPERVISOR_ECALL 9
#define CAUSE_MACHINE_ECALL    11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT  13
#define CAUSE_STORE_PAGE_FAULT 15
#define CAUSE_INTR             0x8000000000000000

#define PTE_V 0x001
#define PTE_R 0x002
#define PTE_W 0x004
#define PTE_X 0x008
#define PTE_U 0x010
#define PTE_G 0x020
#define PTE_A 0x040
#define PTE_D 0x080

#define SATP_MODE_SV39 (8 << 60)
#define SATP_MODE_SV48 (9 << 60)

#define PMP_R 0x01
#define PMP_W 0x02
#define PMP_X 0x04
#define PMP_OFF   0x00
#define PMP_TOR   0x08
#define PMP_NA4   0x10
#define PMP_NAPOT 0x18
#define PMP_L 0x80

#define FFLAG_NX 0x01
#define FFLAG_UF 0x02
#define FFLAG_OF 0x04
#define FFLAG_DZ 0x08
#define FFLAG_NV 0x10

/* Platform (QEMU spike and Vessel agree). */
#define CLINT_BASE     0x02000000
#define CLINT_MSIP     (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME    (CLINT_BASE + 0xbff8)

/* Magic a7 values for framework ecalls. */
#define MAGIC_TO_M   0x564d4d   /* ecall: continue after the ecall in M-mode */
#define MAGIC_FAIL   0x564641   /* ecall: report failure of check gp */
#define MAGIC_PASS   0x565041   /* ecall: report success */
#define MAGIC_TO_M_AT 0x564d41  /* ecall: continue in M-mode at address a6 */

/* Layout of trap_exp (expected trap, armed by EXPECT_TRAP*). */
#define TE_FLAGS  0   /* bit0 armed, bit1 check tval, bit2 check epc,
                         bit3 accept any cause (test checks t6 itself) */
#define TE_CAUSE  8
#define TE_TVAL   16
#define TE_EPC    24
#define TE_RESUME 32
/* Layout of trap_rec (what the last expected trap looked like). */
#define TR_COUNT   0
#define TR_CAUSE   8
#define TR_TVAL    16
#define TR_EPC     24
#define TR_STATUS  32  /* mstatus (or sstatus) inside the handler */
#define TR_PRIV    40  /* privilege the trap came from (MPP / SPP) */
#define TR_HANDLER 48  /* 3 = taken in M-mode, 1 = taken in S-mode */
/* irq_log: +0 count, +8.. entries: (handler << 8) | interrupt code,
 * up to 16 entries.  irq_vec: vectored entry number seen (or -1). */

#define MASK_XLEN(x) ((x) & 0xffffffffffffffff)
#define SEXT_IMM(x) ((x) | (-(((x) >> 11) & 1) << 11))

/* ---- Program structure ---------------------------------------------- */
        .option norelax

#define TEST_BEGIN \
        .text; .globl test_main; .align 2; test_main:

#define PASS  j pass
#define FAIL  j fail
#define TEST_END  j pass

/* Fail check `testnum` unless testreg == correctval (uses t2). */
#define TEST_CASE(testnum, testreg, correctval, code...) \
test_ ## testnum: \
        li TESTNUM, testnum; \
        code; \
        li t2, MASK_XLEN(correctval); \
        bne testreg, t2, fail;

/* Compare two registers. */
#define CHECK_EQ(testnum, reg, correctval) \
        li TESTNUM, testnum; li t2, MASK_XLEN(correctval); bne reg, t2, fail;
#define CHECK_EQ_REG(testnum, reg1, reg2) \
        li TESTNUM, testnum; bne reg1, reg2, fail;

/* ---- Integer ------------------------------------------------------- */
#define TEST_RR_OP(testnum, inst, result, val1, val2) \
        TEST_CASE(testnum, a4, result, \
          li a1, MASK_XLEN(val1); li a2, MASK_XLEN(val2); inst a4, a1, a2)
#define TEST_RR_SRC1_EQ_DEST(testnum, inst, result, val1, val2) \
        TEST_CASE(testnum, a1, result, \
          li a1, MASK_XLEN(val1); li a2, MASK_XLEN(val2); inst a1, a1, a2)
#define TEST_RR_SRC2_EQ_DEST(testnum, inst, result, val1, val2) \
        TEST_CASE(testnum, a2, result, \
          li a1, MASK_XLEN(val1); li a2, MASK_XLEN(val2); inst a2, a1, a2)
#define TEST_RR_SRC12_EQ_DEST(testnum, inst, result, val1) \
        TEST_CASE(testnum, a1, result, li a1, MASK_XLEN(val1); inst a1, a1, a1)
#define TEST_RR_ZEROSRC1(testnum, inst, result, val) \
        TEST_CASE(testnum, a2, result, li a1, MASK_XLEN(val); inst a2, x0, a1)
#define TEST_RR_ZEROSRC2(testnum, inst, result, val) \
        TEST_CASE(testnum, a2, result, li a1, MASK_XLEN(val); inst a2, a1, x0)
#define TEST_RR_ZERODEST(testnum, inst, val1, val2) \
        TEST_CASE(testnum, x0, 0, \
          li a1, MASK_XLEN(val1); li a2, MASK_XLEN(val2); inst x0, a1, a2)
#define TEST_R_OP(testnum, inst, result, val1) \
        TEST_CASE(testnum, a4, result, li a1, MASK_XLEN(val1); inst a4, a1)

#define TEST_IMM_OP(testnum, inst, result, val1, imm) \
        TEST_CASE(testnum, a4, result, li a1, MASK_XLEN(val1); inst a4, a1, imm)
#define TEST_IMM_SRC1_EQ_DEST(testnum, inst, result, val1, imm) \
        TEST_CASE(testnum, a1, result, li a1, MASK_XLEN(val1); inst a1, a1, imm)
#define TEST_IMM_ZEROSRC1(testnum, inst, result, imm) \
        TEST_CASE(testnum, a1, result, inst a1, x0, imm)
#define TEST_IMM_ZERODEST(testnum, inst, val1, imm) \
        TEST_CASE(testnum, x0, 0, li a1, MASK_XLEN(val1); inst x0, a1, imm)

/* Load `result` from base_label + offset. */
#define TEST_LD(testnum, inst, result, offset, base) \
        TEST_CASE(testnum, a4, result, la a1, base; inst a4, offset(a1))
/* Store `result` at base + offset, load it back with load_inst. */
#define TEST_ST(testnum, load_inst, store_inst, result, offset, base) \
        TEST_CASE(testnum, a4, result, \
          la a1, base; li a2, MASK_XLEN(result); \
          store_inst a2, offset(a1); load_inst a4, offset(a1))

/* Branch: taken is 1 if the branch must be taken, 0 if not. */
#define TEST_BR(testnum, inst, taken, val1, val2) \
        TEST_CASE(testnum, a4, taken, \
          li a1, MASK_XLEN(val1); li a2, MASK_XLEN(val2); li a4, 0; \
          inst a1, a2, 1f; j 2f; 1: li a4, 1; 2: )

/* ---- Floating point ------------------------------------------------ */
/* Operands and the expected result live in .data; fa0..fa2 operands, fa3
 * result; fflags are cleared first and compared after. Integer results of
 * compares/converts are in a4.  `_BITS` variants take raw bit patterns. */
#define FP_TEST_BODY_S(testnum, flags, code...) \
test_ ## testnum: \
        li TESTNUM, testnum; la a0, 1f; \
        flw fa0, 0(a0); flw fa1, 4(a0); flw fa2, 8(a0); lw a3, 12(a0); \
        fsflags x0; code; frflags a1; li t2, flags; bne a1, t2, fail; \
        bne a4, a3, fail;
#define FP_TEST_BODY_D(testnum, flags, code...) \
test_ ## testnum: \
        li TESTNUM, testnum; la a0, 1f; \
        fld fa0, 0(a0); fld fa1, 8(a0); fld fa2, 16(a0); ld a3, 24(a0); \
        fsflags x0; code; frflags a1; li t2, flags; bne a1, t2, fail; \
        bne a4, a3, fail;
#define FP_DATA_S(v1, v2, v3, r) \
        .pushsection .data; .align 3; 1: .float v1; .float v2; .float v3; .float r; .popsection
#define FP_DATA_SB(v1, v2, v3, r) \
        .pushsection .data; .align 3; 1: .word v1; .word v2; .word v3; .word r; .popsection
#define FP_DATA_SI(v1, v2, v3, r) \
        .pushsection .data; .align 3; 1: .float v1; .float v2; .float v3; .word r; .popsection
#define FP_DATA_D(v1, v2, v3, r) \
        .pushsection .data; .align 3; 1: .double v1; .double v2; .double v3; .double r; .popsection
#define FP_DATA_DB(v1, v2, v3, r) \
        .pushsection .data; .align 3; 1: .dword v1; .dword v2; .dword v3; .dword r; .popsection
#define FP_DATA_DI(v1, v2, v3, r) \
        .pushsection .data; .align 3; 1: .double v1; .double v2; .double v3; .dword r; .popsection

/* FP result compared as bits (fmv.x.w sign-extends: a3 from lw also is). */
#define TEST_FP_OP1_S(n, inst, flags, result, v1) \
        FP_TEST_BODY_S(n, flags, inst fa3, fa0; fmv.x.w a4, fa3) FP_DATA_S(v1, 0.0, 0.0, result)
#define TEST_FP_OP2_S(n, inst, flags, result, v1, v2) \
        FP_TEST_BODY_S(n, flags, inst fa3, fa0, fa1; fmv.x.w a4, fa3) FP_DATA_S(v1, v2, 0.0, result)
#define TEST_FP_OP3_S(n, inst, flags, result, v1, v2, v3) \
        FP_TEST_BODY_S(n, flags, inst fa3, fa0, fa1, fa2; fmv.x.w a4, fa3) FP_DATA_S(v1, v2, v3, result)
#define TEST_FP_OP1_S_RM(n, inst, rm, flags, result, v1) \
        FP_TEST_BODY_S(n, flags, inst fa3, fa0, rm; fmv.x.w a4, fa3) FP_DATA_S(v1, 0.0, 0.0, result)
#define TEST_FP_OP2_S_RM(n, inst, rm, flags, result, v1, v2) \
        FP_TEST_BODY_S(n, flags, inst fa3, fa0, fa1, rm; fmv.x.w a4, fa3) FP_DATA_S(v1, v2, 0.0, result)
#define TEST_FP_OP3_S_RM(n, inst, rm, flags, result, v1, v2, v3) \
        FP_TEST_BODY_S(n, flags, inst fa3, fa0, fa1, fa2, rm; fmv.x.w a4, fa3) FP_DATA_S(v1, v2, v3, result)
#define TEST_FP_OP1_S_BITS(n, inst, flags, result, v1) \
        FP_TEST_BODY_S(n, flags, inst fa3, fa0; fmv.x.w a4, fa3) FP_DATA_SB(v1, 0, 0, result)
#define TEST_FP_OP2_S_BITS(n, inst, flags, result, v1, v2) \
        FP_TEST_BODY_S(n, flags, inst fa3, fa0, fa1; fmv.x.w a4, fa3) FP_DATA_SB(v1, v2, 0, result)
#define TEST_FP_OP3_S_BITS(n, inst, flags, result, v1, v2, v3) \
        FP_TEST_BODY_S(n, flags, inst fa3, fa0, fa1, fa2; fmv.x.w a4, fa3) FP_DATA_SB(v1, v2, v3, result)
/* Integer result (compare, fclass, fcvt to int) in a4, compared with the
 * full 64-bit `result`. */
#define FP_INT_BODY_S(testnum, flags, result, code...) \
test_ ## testnum: \
        li TESTNUM, testnum; la a0, 1f; \
        flw fa0, 0(a0); flw fa1, 4(a0); \
        fsflags x0; code; frflags a1; li t2, flags; bne a1, t2, fail; \
        li a3, MASK_XLEN(result); bne a4, a3, fail;
#define FP_INT_BODY_D(testnum, flags, result, code...) \
test_ ## testnum: \
        li TESTNUM, testnum; la a0, 1f; \
        fld fa0, 0(a0); fld fa1, 8(a0); \
        fsflags x0; code; frflags a1; li t2, flags; bne a1, t2, fail; \
        li a3, MASK_XLEN(result); bne a4, a3, fail;
#define TEST_FP_INT_OP1_S(n, inst, flags, result, v1) \
        FP_INT_BODY_S(n, flags, result, inst a4, fa0) FP_DATA_SI(v1, 0.0, 0.0, 0)
#define TEST_FP_INT_OP1_S_RM(n, inst, rm, flags, result, v1) \
        FP_INT_BODY_S(n, flags, result, inst a4, fa0, rm) FP_DATA_SI(v1, 0.0, 0.0, 0)
#define TEST_FP_INT_OP1_S_BITS(n, inst, flags, result, v1) \
        FP_INT_BODY_S(n, flags, result, inst a4, fa0) FP_DATA_SB(v1, 0, 0, 0)
#define TEST_FP_CMP_S(n, inst, flags, result, v1, v2) \
        FP_INT_BODY_S(n, flags, result, inst a4, fa0, fa1) FP_DATA_SI(v1, v2, 0.0, 0)
#define TEST_FP_CMP_S_BITS(n, inst, flags, result, v1, v2) \
        FP_INT_BODY_S(n, flags, result, inst a4, fa0, fa1) FP_DATA_SB(v1, v2, 0, 0)
#define TEST_FP_INT_OP1_D(n, inst, flags, result, v1) \
        FP_INT_BODY_D(n, flags, result, inst a4, fa0) FP_DATA_DI(v1, 0.0, 0.0, 0)
#define TEST_FP_INT_OP1_D_RM(n, inst, rm, flags, result, v1) \
        FP_INT_BODY_D(n, flags, result, inst a4, fa0, rm) FP_DATA_DI(v1, 0.0, 0.0, 0)
#define TEST_FP_INT_OP1_D_BITS(n, inst, flags, result, v1) \
        FP_INT_BODY_D(n, flags, result, inst a4, fa0) FP_DATA_DB(v1, 0, 0, 0)
#define TEST_FP_CMP_D(n, inst, flags, result, v1, v2) \
        FP_INT_BODY_D(n, flags, result, inst a4, fa0, fa1) FP_DATA_DI(v1, v2, 0.0, 0)
#define TEST_FP_CMP_D_BITS(n, inst, flags, result, v1, v2) \
        FP_INT_BODY_D(n, flags, result, inst a4, fa0, fa1) FP_DATA_DB(v1, v2, 0, 0)

/* Integer -> FP conversions: result compared as bits (single: the 32
 * bits, zero-extended). */
#define TEST_INT_FP_OP_S(n, inst, flags, result_bits, val) \
        TEST_INT_FP_BODY(n, flags, result_bits, li a1, MASK_XLEN(val); inst fa3, a1; fmv.x.w a4, fa3; slli a4, a4, 32; srli a4, a4, 32)
#define TEST_INT_FP_OP_S_RM(n, inst, rm, flags, result_bits, val) \
        TEST_INT_FP_BODY(n, flags, result_bits, li a1, MASK_XLEN(val); inst fa3, a1, rm; fmv.x.w a4, fa3; slli a4, a4, 32; srli a4, a4, 32)
#define TEST_INT_FP_OP_D(n, inst, flags, result_bits, val) \
        TEST_INT_FP_BODY(n, flags, result_bits, li a1, MASK_XLEN(val); inst fa3, a1; fmv.x.d a4, fa3)
#define TEST_INT_FP_OP_D_RM(n, inst, rm, flags, result_bits, val) \
        TEST_INT_FP_BODY(n, flags, result_bits, li a1, MASK_XLEN(val); inst fa3, a1, rm; fmv.x.d a4, fa3)
#define TEST_INT_FP_BODY(testnum, flags, result, code...) \
test_ ## testnum: \
        li TESTNUM, testnum; fsflags x0; code; frflags a1; \
        li t2, flags; bne a1, t2, fail; li a3, MASK_XLEN(result); bne a4, a3, fail;

#define TEST_FP_OP1_D(n, inst, flags, result, v1) \
        FP_TEST_BODY_D(n, flags, inst fa3, fa0; fmv.x.d a4, fa3) FP_DATA_D(v1, 0.0, 0.0, result)
#define TEST_FP_OP2_D(n, inst, flags, result, v1, v2) \
        FP_TEST_BODY_D(n, flags, inst fa3, fa0, fa1; fmv.x.d a4, fa3) FP_DATA_D(v1, v2, 0.0, result)
#define TEST_FP_OP3_D(n, inst, flags, result, v1, v2, v3) \
        FP_TEST_BODY_D(n, flags, inst fa3, fa0, fa1, fa2; fmv.x.d a4, fa3) FP_DATA_D(v1, v2, v3, result)
#define TEST_FP_OP1_D_RM(n, inst, rm, flags, result, v1) \
        FP_TEST_BODY_D(n, flags, inst fa3, fa0, rm; fmv.x.d a4, fa3) FP_DATA_D(v1, 0.0, 0.0, result)
#define TEST_FP_OP2_D_RM(n, inst, rm, flags, result, v1, v2) \
        FP_TEST_BODY_D(n, flags, inst fa3, fa0, fa1, rm; fmv.x.d a4, fa3) FP_DATA_D(v1, v2, 0.0, result)
#define TEST_FP_OP3_D_RM(n, inst, rm, flags, result, v1, v2, v3) \
        FP_TEST_BODY_D(n, flags, inst fa3, fa0, fa1, fa2, rm; fmv.x.d a4, fa3) FP_DATA_D(v1, v2, v3, result)
#define TEST_FP_OP1_D_BITS(n, inst, flags, result, v1) \
        FP_TEST_BODY_D(n, flags, inst fa3, fa0; fmv.x.d a4, fa3) FP_DATA_DB(v1, 0, 0, result)
#define TEST_FP_OP2_D_BITS(n, inst, flags, result, v1, v2) \
        FP_TEST_BODY_D(n, flags, inst fa3, fa0, fa1; fmv.x.d a4, fa3) FP_DATA_DB(v1, v2, 0, result)
#define TEST_FP_OP3_D_BITS(n, inst, flags, result, v1, v2, v3) \
        FP_TEST_BODY_D(n, flags, inst fa3, fa0, fa1, fa2; fmv.x.d a4, fa3) FP_DATA_DB(v1, v2, v3, result)

/* ---- Traps ----------------------------------------------------------- */
/* Arm an expected synchronous trap.  The handler (M or S) checks the cause,
 * tval (unless _NOTVAL) and epc (= address of label epc_lbl), records it
 * in trap_rec, sets t6 = cause and resumes at resume_lbl in the same mode.
 * Clobbers t5, t6. */
#define EXPECT_TRAP_FULL(flags, cause, tvalreg, epc_lbl, resume_lbl) \
        la t6, trap_exp; \
        sd tvalreg, TE_TVAL(t6); \
        li t5, cause; sd t5, TE_CAUSE(t6); \
        la t5, epc_lbl; sd t5, TE_EPC(t6); \
        la t5, resume_lbl; sd t5, TE_RESUME(t6); \
        li t5, flags; sd t5, TE_FLAGS(t6); \
        li t6, -1;
#define EXPECT_TRAP(cause, tval, epc_lbl, resume_lbl) \
        li t5, MASK_XLEN(tval); EXPECT_TRAP_FULL(7, cause, t5, epc_lbl, resume_lbl)
#define EXPECT_TRAP_TVALREG(cause, reg, epc_lbl, resume_lbl) \
        EXPECT_TRAP_FULL(7, cause, reg, epc_lbl, resume_lbl)
#define EXPECT_TRAP_NOTVAL(cause, epc_lbl, resume_lbl) \
        EXPECT_TRAP_FULL(5, cause, x0, epc_lbl, resume_lbl)
/* Same with tval and epc taken from registers (e.g. a jump target). */
#define EXPECT_TRAP_REGS(cause, tvalreg, epcreg, resume_lbl) \
        la t6, trap_exp; \
        sd tvalreg, TE_TVAL(t6); sd epcreg, TE_EPC(t6); \
        li t5, cause; sd t5, TE_CAUSE(t6); \
        la t5, resume_lbl; sd t5, TE_RESUME(t6); \
        li t5, 7; sd t5, TE_FLAGS(t6); \
        li t6, -1;
/* Fail `testnum` unless the expected trap with `cause` was taken. */
#define CHECK_TRAPPED(testnum, cause) \
        li TESTNUM, testnum; li t5, cause; bne t6, t5, fail;

/* One instruction (or sequence whose first instruction must trap). */
#define TEST_TRAP(testnum, cause, tval, insn...) \
        li TESTNUM, testnum; EXPECT_TRAP(cause, tval, 10f, 11f) \
10:     insn; \
11:     CHECK_TRAPPED(testnum, cause)
#define TEST_TRAP_NOTVAL(testnum, cause, insn...) \
        li TESTNUM, testnum; EXPECT_TRAP_NOTVAL(cause, 10f, 11f) \
10:     insn; \
11:     CHECK_TRAPPED(testnum, cause)
#define TEST_TRAP_TVALREG(testnum, cause, reg, insn...) \
        li TESTNUM, testnum; EXPECT_TRAP_TVALREG(cause, reg, 10f, 11f) \
10:     insn; \
11:     CHECK_TRAPPED(testnum, cause)
/* Illegal instruction: tval must be the instruction bits. */
#define TEST_ILLEGAL(testnum, bits, insn...) \
        TEST_TRAP(testnum, CAUSE_ILLEGAL_INSN, bits, insn)
/* Encoded 32-bit illegal instruction given as a number. */
#define TEST_ILLEGAL_WORD(testnum, bits) \
        TEST_TRAP(testnum, CAUSE_ILLEGAL_INSN, bits, .word bits)
/* Instruction that must NOT trap (any trap is then "unexpected"). */
#define TEST_NO_TRAP(testnum, insn...) li TESTNUM, testnum; insn;

/* ---- Privilege changes --------------------------------------------- */
/* From M-mode: continue at the next instruction in S / U mode (mret).
 * MPIE is cleared first, so mstatus.MIE is 0 afterwards. */
#define GOTO_MODE(mpp, tpval) \
        li t5, MSTATUS_MPP | MSTATUS_MPIE; csrc mstatus, t5; \
        li t5, (mpp) << 11; csrs mstatus, t5; \
        la t5, 1f; csrw mepc, t5; li tp, tpval; mret; 1:
#define GOTO_S GOTO_MODE(PRV_S, PRV_S)
#define GOTO_U GOTO_MODE(PRV_U, PRV_U)
/* From S or U: continue at the next instruction in M-mode (magic ecall;
 * the ecall must not be delegated to S). Clobbers a7 (zeroed after). */
#define GOTO_M \
        li a7, MAGIC_TO_M; ecall; li tp, PRV_M;
/* Same, continuing at the (physical) address of the next instruction's
 * label: for code running at a virtual alias.  Clobbers a6, a7. */
#define GOTO_M_AT(label) \
        li a7, MAGIC_TO_M_AT; la a6, label; li t5, UALIAS_OFF; sub a6, a6, t5; ecall; label: li tp, PRV_M;
/* From S-mode: continue in U-mode (sret). */
#define S_GOTO_U \
        li t5, MSTATUS_SPP; csrc sstatus, t5; \
        la t5, 1f; csrw sepc, t5; li tp, PRV_U; sret; 1:

/* ---- Interrupt helpers --------------------------------------------- */
#define IRQ_LOG_RESET  la t5, irq_log; sd zero, 0(t5);
/* reg = number of interrupts logged / entry i ((handler<<8)|code). */
#define IRQ_LOG_COUNT(reg) la t5, irq_log; ld reg, 0(t5);
#define IRQ_LOG_ENTRY(reg, i) la t5, irq_log; ld reg, (8 + 8 * (i))(t5);

#endif
