/* rv64d_arith: double precision: arithmetic, FMA, sign injection,
 * min/max, compares, fclass, conversions (to/from integers with
 * saturation, fcvt.s.d / fcvt.d.s incl. NaN canonicalisation and
 * rounding), fmv.x.d / fmv.d.x, fld/fsd. */
#include "test.h"
#define DQNAN 0x7ff8000000000000
#define DSNAN 0x7ff0000000000001
#define DINF  0x7ff0000000000000
#define DNINF 0xfff0000000000000
#define DONE  0x3ff0000000000000
#define DTHREE 0x4008000000000000
#define DNZERO 0x8000000000000000
TEST_BEGIN
        TEST_FP_OP2_D(1, fadd.d, 0, 3.5, 2.5, 1.0)
        TEST_FP_OP2_D(2, fsub.d, 0, 1.5, 2.5, 1.0)
        TEST_FP_OP2_D(3, fmul.d, 0, -5.0, 2.5, -2.0)
        TEST_FP_OP2_D_BITS(4, fdiv.d, FFLAG_NX, 0x3fd5555555555555, DONE, DTHREE)
        TEST_FP_OP2_D_BITS(5, fdiv.d, FFLAG_DZ, DNINF, 0xbff0000000000000, 0)
        TEST_FP_OP1_D(6, fsqrt.d, 0, 3.0, 9.0)
        TEST_FP_OP1_D_BITS(7, fsqrt.d, FFLAG_NV, DQNAN, 0xbff0000000000000)
        TEST_FP_OP2_D_BITS(8, fadd.d, FFLAG_NV, DQNAN, DINF, DNINF)
        TEST_FP_OP2_D_BITS(9, fadd.d, FFLAG_NV, DQNAN, DSNAN, DONE)
        TEST_FP_OP2_D_BITS(10, fmul.d, FFLAG_OF | FFLAG_NX, DINF, 0x7fefffffffffffff, 0x4000000000000000)
        TEST_FP_OP3_D(11, fmadd.d, 0, 2.5, 1.0, 2.0, 0.5)
        TEST_FP_OP3_D(12, fmsub.d, 0, 1.5, 1.0, 2.0, 0.5)
        TEST_FP_OP3_D(13, fnmsub.d, 0, -1.5, 1.0, 2.0, 0.5)
        TEST_FP_OP3_D(14, fnmadd.d, 0, -2.5, 1.0, 2.0, 0.5)
        TEST_FP_OP3_D_BITS(15, fmadd.d, FFLAG_NV, DQNAN, DINF, 0, DQNAN)
        TEST_FP_OP2_D(16, fsgnj.d, 0, -1.0, 1.0, -2.0)
        TEST_FP_OP2_D(17, fsgnjn.d, 0, 1.0, 1.0, -2.0)
        TEST_FP_OP2_D(18, fsgnjx.d, 0, 1.0, -1.0, -2.0)
        TEST_FP_OP2_D_BITS(19, fmax.d, 0, 0, DNZERO, 0)
        TEST_FP_OP2_D_BITS(20, fmin.d, 0, DNZERO, 0, DNZERO)
        TEST_FP_OP2_D_BITS(21, fmin.d, FFLAG_NV, DONE, DSNAN, DONE)
        TEST_FP_OP2_D_BITS(22, fmax.d, 0, DQNAN, DQNAN, DQNAN | 1)
        TEST_FP_CMP_D(23, feq.d, 0, 1, -1.5, -1.5)
        TEST_FP_CMP_D(24, flt.d, 0, 1, -1.5, 1.0)
        TEST_FP_CMP_D_BITS(25, fle.d, FFLAG_NV, 0, DQNAN, DONE)
        TEST_FP_CMP_D_BITS(26, feq.d, FFLAG_NV, 0, DSNAN, DONE)
        TEST_FP_CMP_D_BITS(27, feq.d, 0, 0, DQNAN, DQNAN)
        TEST_FP_INT_OP1_D_BITS(30, fclass.d, 0, 1 << 0, DNINF)
        TEST_FP_INT_OP1_D_BITS(31, fclass.d, 0, 1 << 2, 0x800fffffffffffff)
        TEST_FP_INT_OP1_D_BITS(32, fclass.d, 0, 1 << 3, DNZERO)
        TEST_FP_INT_OP1_D_BITS(33, fclass.d, 0, 1 << 5, 1)
        TEST_FP_INT_OP1_D_BITS(34, fclass.d, 0, 1 << 8, DSNAN)
        TEST_FP_INT_OP1_D_BITS(35, fclass.d, 0, 1 << 9, DQNAN)
        /* conversions */
        TEST_FP_INT_OP1_D_RM(40, fcvt.w.d, rne, FFLAG_NX, 2, 2.5)
        TEST_FP_INT_OP1_D_RM(41, fcvt.w.d, rmm, FFLAG_NX, -3, -2.5)
        TEST_FP_INT_OP1_D_RM(42, fcvt.w.d, rtz, FFLAG_NV, 0x7fffffff, 2147483648.0)
        TEST_FP_INT_OP1_D_RM(43, fcvt.w.d, rtz, FFLAG_NX, 0x7fffffff, 2147483647.5)
        TEST_FP_INT_OP1_D_RM(44, fcvt.wu.d, rtz, FFLAG_NV, 0, -3.0)
        TEST_FP_INT_OP1_D_RM(45, fcvt.wu.d, rtz, 0, 0xffffffffffffffff, 4294967295.0)
        TEST_FP_INT_OP1_D_RM(46, fcvt.l.d, rtz, FFLAG_NV, 0x8000000000000000, -1e19)
        TEST_FP_INT_OP1_D_BITS(47, fcvt.l.d, FFLAG_NV, 0x7fffffffffffffff, DQNAN)
        TEST_FP_INT_OP1_D_RM(48, fcvt.lu.d, rtz, FFLAG_NV, 0, -1.0)
        TEST_FP_INT_OP1_D_RM(49, fcvt.lu.d, rtz, FFLAG_NX, 0, -0.75)
        TEST_FP_INT_OP1_D_RM(50, fcvt.lu.d, rtz, 0, 0xfffffffffffff800, 1.8446744073709549568e19)
        TEST_INT_FP_OP_D(51, fcvt.d.w, 0, 0xc1e0000000000000, 0xffffffff80000000)
        TEST_INT_FP_OP_D(52, fcvt.d.wu, 0, 0x41efffffffe00000, 0xffffffff)
        TEST_INT_FP_OP_D(53, fcvt.d.l, FFLAG_NX, 0x43e0000000000000, 0x7fffffffffffffff)
        TEST_INT_FP_OP_D(54, fcvt.d.lu, FFLAG_NX, 0x43f0000000000000, 0xffffffffffffffff)
        TEST_INT_FP_OP_D_RM(55, fcvt.d.l, rtz, FFLAG_NX, 0x43dfffffffffffff, 0x7fffffffffffffff)
        /* double <-> single */
        TEST_CASE(60, a4, 0x3fc00000, li a1, 0x3ff8000000000000; fmv.d.x fa0, a1; fcvt.s.d fa1, fa0; fmv.x.w a4, fa1)
        TEST_CASE(61, a4, 0x3ff8000000000000, li a1, 0x3fc00000; fmv.w.x fa0, a1; fcvt.d.s fa1, fa0; fmv.x.d a4, fa1)
        TEST_CASE(62, a4, 0x7fc00000, fsflags zero; li a1, DSNAN; fmv.d.x fa0, a1; fcvt.s.d fa1, fa0; fmv.x.w a4, fa1)
        TEST_CASE(63, a4, FFLAG_NV, frflags a4)
        TEST_CASE(64, a4, DQNAN, fsflags zero; li a1, 0x7fc12345; fmv.w.x fa0, a1; fcvt.d.s fa1, fa0; fmv.x.d a4, fa1)
        TEST_CASE(65, a4, 0, frflags a4)
        TEST_CASE(66, a4, 0x3f800000, li a1, 0x3ff0000010000000; fmv.d.x fa0, a1; fcvt.s.d fa1, fa0; fmv.x.w a4, fa1)   /* tie -> even */
        TEST_CASE(67, a4, FFLAG_NX, frflags a4)
        TEST_CASE(68, a4, 0x7f800000, fsflags zero; li a1, 0x47f0000000000000; fmv.d.x fa0, a1; fcvt.s.d fa1, fa0; fmv.x.w a4, fa1)
        TEST_CASE(69, a4, FFLAG_OF | FFLAG_NX, frflags a4)
        /* fmv.d.x / fmv.x.d / fld / fsd keep all 64 bits (even NaN payloads) */
        TEST_CASE(70, a4, 0x7ff0000000000001, li a1, 0x7ff0000000000001; fmv.d.x fa0, a1; fmv.x.d a4, fa0)
        TEST_CASE(71, a4, 0xfff0123456789abc, la a1, ddata; li a2, 0xfff0123456789abc; sd a2, 0(a1); fld fa0, 0(a1); fsd fa0, 8(a1); ld a4, 8(a1))
        TEST_END
        .data
        .align 3
ddata:  .zero 16
