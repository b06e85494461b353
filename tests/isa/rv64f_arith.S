/* rv64f_arith: single-precision arithmetic with fflags: add/sub/mul/div/
 * sqrt, FMA variants (incl. inf*0+qNaN -> NV), sign injection, min/max
 * (-0/+0, NaN), compares (quiet vs signalling), fclass, NaN canonicalisation,
 * NaN boxing, static rounding modes, dynamic frm, fflags accumulation and
 * illegal rounding modes.  Values are IEEE 754 binary32 bit patterns. */
#include "test.h"
#define QNAN 0x7fc00000
#define SNAN 0x7f800001
#define INF  0x7f800000
#define NINF 0xff800000
#define ONE  0x3f800000
#define TWO  0x40000000
#define THREE 0x40400000
#define HALF 0x3f000000
#define NONE 0xbf800000
#define NZERO 0x80000000
TEST_BEGIN
        TEST_FP_OP2_S(1, fadd.s, 0, 3.5, 2.5, 1.0)
        TEST_FP_OP2_S(2, fsub.s, 0, 1.5, 2.5, 1.0)
        TEST_FP_OP2_S(3, fmul.s, 0, -5.0, 2.5, -2.0)
        TEST_FP_OP2_S_BITS(4, fdiv.s, FFLAG_NX, 0x3eaaaaab, ONE, THREE)
        TEST_FP_OP2_S_BITS(5, fdiv.s, FFLAG_DZ, INF, ONE, 0)
        TEST_FP_OP2_S_BITS(6, fdiv.s, FFLAG_NV, QNAN, 0, 0)
        TEST_FP_OP1_S(7, fsqrt.s, 0, 2.0, 4.0)
        TEST_FP_OP1_S_BITS(8, fsqrt.s, FFLAG_NV, QNAN, NONE)
        TEST_FP_OP1_S_BITS(9, fsqrt.s, 0, NZERO, NZERO)
        TEST_FP_OP2_S_BITS(10, fadd.s, FFLAG_NV, QNAN, INF, NINF)
        TEST_FP_OP2_S_BITS(11, fmul.s, FFLAG_NV, QNAN, 0, INF)
        TEST_FP_OP2_S_BITS(12, fadd.s, FFLAG_NV, QNAN, SNAN, ONE)
        TEST_FP_OP2_S_BITS(13, fadd.s, 0, QNAN, 0x7fc12345, ONE)      /* payload not propagated */
        TEST_FP_OP2_S_BITS(14, fmul.s, FFLAG_OF | FFLAG_NX, INF, 0x7f7fffff, TWO)
        TEST_FP_OP2_S_BITS(15, fmul.s, FFLAG_UF | FFLAG_NX, 0, 0x00800000, 0x33800000)  /* 2^-126 * 2^-24 -> 2^-150: ties to even 0 */
        TEST_FP_OP2_S_BITS(16, fsub.s, 0, 0, ONE, ONE)                 /* x - x = +0 in RNE */
        /* FMA */
        TEST_FP_OP3_S(20, fmadd.s, 0, 2.5, 1.0, 2.0, 0.5)
        TEST_FP_OP3_S(21, fmsub.s, 0, 1.5, 1.0, 2.0, 0.5)
        TEST_FP_OP3_S(22, fnmsub.s, 0, -1.5, 1.0, 2.0, 0.5)
        TEST_FP_OP3_S(23, fnmadd.s, 0, -2.5, 1.0, 2.0, 0.5)
        TEST_FP_OP3_S_BITS(24, fmadd.s, FFLAG_NV, QNAN, INF, 0, QNAN)
        TEST_FP_OP3_S_BITS(25, fmadd.s, 0, QNAN, ONE, ONE, QNAN)
        TEST_FP_OP3_S_BITS(26, fmadd.s, 0, 0x34000001, 0x3f800001, 0x3f800001, 0xbf800001)  /* fused: (1+e)^2-(1+e) = e+e^2 exactly (e = 2^-23) */
        /* sign injection */
        TEST_FP_OP2_S(30, fsgnj.s, 0, -1.0, 1.0, -2.0)
        TEST_FP_OP2_S(31, fsgnjn.s, 0, 1.0, 1.0, -2.0)
        TEST_FP_OP2_S(32, fsgnjx.s, 0, 1.0, -1.0, -2.0)
        TEST_FP_OP2_S_BITS(33, fsgnj.s, 0, 0xff800001, SNAN, 0x80000000) /* no canonicalisation, no flags */
        /* min / max */
        TEST_FP_OP2_S_BITS(40, fmax.s, 0, 0, NZERO, 0)
        TEST_FP_OP2_S_BITS(41, fmin.s, 0, NZERO, 0, NZERO)
        TEST_FP_OP2_S_BITS(42, fmin.s, 0, ONE, QNAN, ONE)
        TEST_FP_OP2_S_BITS(43, fmax.s, FFLAG_NV, ONE, ONE, SNAN)
        TEST_FP_OP2_S_BITS(44, fmax.s, 0, QNAN, QNAN, 0x7fc00001)
        TEST_FP_OP2_S(45, fmin.s, 0, -3.0, 2.0, -3.0)
        TEST_FP_OP2_S(46, fmax.s, 0, 2.0, 2.0, -3.0)
        /* compares */
        TEST_FP_CMP_S(50, feq.s, 0, 1, -1.5, -1.5)
        TEST_FP_CMP_S(51, flt.s, 0, 1, -1.5, 1.0)
        TEST_FP_CMP_S(52, fle.s, 0, 0, 2.0, 1.0)
        TEST_FP_CMP_S_BITS(53, feq.s, 0, 0, QNAN, ONE)
        TEST_FP_CMP_S_BITS(54, feq.s, FFLAG_NV, 0, SNAN, ONE)
        TEST_FP_CMP_S_BITS(55, flt.s, FFLAG_NV, 0, QNAN, ONE)
        TEST_FP_CMP_S_BITS(56, fle.s, FFLAG_NV, 0, ONE, QNAN)
        TEST_FP_CMP_S_BITS(57, fle.s, 0, 1, NZERO, 0)
        TEST_FP_CMP_S_BITS(58, flt.s, 0, 0, NZERO, 0)
        TEST_FP_CMP_S_BITS(59, feq.s, 0, 1, NZERO, 0)
        /* fclass */
        TEST_FP_INT_OP1_S_BITS(60, fclass.s, 0, 1 << 0, NINF)
        TEST_FP_INT_OP1_S_BITS(61, fclass.s, 0, 1 << 1, NONE)
        TEST_FP_INT_OP1_S_BITS(62, fclass.s, 0, 1 << 2, 0x807fffff)
        TEST_FP_INT_OP1_S_BITS(63, fclass.s, 0, 1 << 3, NZERO)
        TEST_FP_INT_OP1_S_BITS(64, fclass.s, 0, 1 << 4, 0)
        TEST_FP_INT_OP1_S_BITS(65, fclass.s, 0, 1 << 5, 0x00000001)
        TEST_FP_INT_OP1_S_BITS(66, fclass.s, 0, 1 << 6, ONE)
        TEST_FP_INT_OP1_S_BITS(67, fclass.s, 0, 1 << 7, INF)
        TEST_FP_INT_OP1_S_BITS(68, fclass.s, 0, 1 << 8, SNAN)
        TEST_FP_INT_OP1_S_BITS(69, fclass.s, 0, 1 << 9, QNAN)
        /* NaN boxing: a single not boxed in 1s is read as the canonical NaN */
        TEST_CASE(70, a4, QNAN, li a1, ONE; fmv.d.x fa0, a1; fadd.s fa1, fa0, fa0; fmv.x.w a4, fa1)
        TEST_CASE(71, a4, 0, frflags a4)                       /* quiet: no NV */
        TEST_CASE(72, a4, 0xffffffff3f800000, la a1, sdata; flw fa0, 0(a1); fmv.x.d a4, fa0)
        TEST_CASE(73, a4, 0xffffffff3f800000, li a1, ONE; fmv.w.x fa0, a1; fmv.x.d a4, fa0)
        TEST_CASE(74, a4, 0xffffffff40000000, li a1, TWO; fmv.w.x fa0, a1; fadd.s fa1, fa0, fa0; fsgnj.s fa1, fa0, fa0; fmv.x.d a4, fa1)
        TEST_CASE(75, a4, 0xffffffff80000000, li a1, NZERO; fmv.w.x fa0, a1; fmv.x.w a4, fa0)   /* sign-extended */
        TEST_CASE(76, a4, 0x80000000, la a1, sdata; li a2, -1; sd a2, 8(a1); fsw fa0, 8(a1); lwu a4, 8(a1))
        TEST_CASE(77, a4, 0xffffffff, lwu a4, 12(a1))           /* fsw writes 4 bytes only */
        /* rounding modes: 1 + 2^-24 is a tie */
        TEST_FP_OP2_S_RM(80, fadd.s, rne, FFLAG_NX, 1.0, 1.0, 5.9604644775390625e-08)
        TEST_FP_OP2_S_RM(81, fadd.s, rtz, FFLAG_NX, 1.0, 1.0, 5.9604644775390625e-08)
        TEST_FP_OP2_S_RM(82, fadd.s, rdn, FFLAG_NX, 1.0, 1.0, 5.9604644775390625e-08)
        TEST_FP_OP2_S_RM(83, fadd.s, rup, FFLAG_NX, 1.00000011920928955078125, 1.0, 5.9604644775390625e-08)
        TEST_FP_OP2_S_RM(84, fadd.s, rmm, FFLAG_NX, 1.00000011920928955078125, 1.0, 5.9604644775390625e-08)
        TEST_FP_OP2_S_RM(85, fadd.s, rdn, FFLAG_NX, -1.00000011920928955078125, -1.0, -5.9604644775390625e-08)
        TEST_FP_OP2_S_RM(86, fsub.s, rdn, 0, -0.0, 1.0, 1.0)     /* x - x = -0 in RDN */
        /* dynamic rounding from frm */
        li a1, 3
        fsrm a1
        TEST_FP_OP2_S(87, fadd.s, FFLAG_NX, 1.00000011920928955078125, 1.0, 5.9604644775390625e-08)
        fsrm zero
        /* fflags accumulate */
        TEST_CASE(88, a4, FFLAG_NX | FFLAG_DZ, li a1, ONE; li a2, THREE; fmv.w.x fa0, a1; fmv.w.x fa1, a2; fsflags zero; \
            fdiv.s fa2, fa0, fa1; fmv.w.x fa1, zero; fdiv.s fa2, fa0, fa1; frflags a4)
        /* reserved rounding modes are illegal: rm = 5 static, frm = 5 dynamic */
        TEST_ILLEGAL_WORD(90, 0x00b5d553)        /* fadd.s fa0, fa1, fa1, rm=5 */
        li a1, 5
        fsrm a1
        TEST_ILLEGAL_WORD(91, 0x00b5f553)        /* fadd.s fa0, fa1, fa1, dyn */
        fsrm zero
        TEST_END
        .data
        .align 3
sdata:  .word 0x3f800000, 0, 0, 0
