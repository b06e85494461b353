/* rv64f_cvt: single-precision conversions to/from integers: rounding
 * modes, inexact flag, saturation with NV (out of range, +-inf, NaN ->
 * max positive), unsigned conversions of negatives (-> 0, NV; NX only
 * when rounding to 0), 32-bit results sign-extended, int -> float
 * rounding, fmv.x.w / fmv.w.x. */
#include "test.h"
TEST_BEGIN
        TEST_FP_INT_OP1_S_RM(1, fcvt.w.s, rne, FFLAG_NX, 2, 2.5)
        TEST_FP_INT_OP1_S_RM(2, fcvt.w.s, rmm, FFLAG_NX, 3, 2.5)
        TEST_FP_INT_OP1_S_RM(3, fcvt.w.s, rup, FFLAG_NX, 3, 2.5)
        TEST_FP_INT_OP1_S_RM(4, fcvt.w.s, rdn, FFLAG_NX, 2, 2.5)
        TEST_FP_INT_OP1_S_RM(5, fcvt.w.s, rtz, FFLAG_NX, 2, 2.5)
        TEST_FP_INT_OP1_S_RM(6, fcvt.w.s, rne, FFLAG_NX, -2, -2.5)
        TEST_FP_INT_OP1_S_RM(7, fcvt.w.s, rdn, FFLAG_NX, -3, -2.5)
        TEST_FP_INT_OP1_S_RM(8, fcvt.w.s, rmm, FFLAG_NX, -3, -2.5)
        TEST_FP_INT_OP1_S_RM(9, fcvt.w.s, rtz, 0, -7, -7.0)
        TEST_FP_INT_OP1_S_RM(10, fcvt.w.s, rtz, FFLAG_NV, 0x7fffffff, 3e9)
        TEST_FP_INT_OP1_S_RM(11, fcvt.w.s, rtz, FFLAG_NV, 0xffffffff80000000, -3e9)
        TEST_FP_INT_OP1_S_RM(12, fcvt.w.s, rtz, 0, 0xffffffff80000000, -2147483648.0)
        TEST_FP_INT_OP1_S_BITS(13, fcvt.w.s, FFLAG_NV, 0x7fffffff, 0x7fc00000)
        TEST_FP_INT_OP1_S_BITS(14, fcvt.w.s, FFLAG_NV, 0x7fffffff, 0xffc00000)   /* NaN of either sign */
        TEST_FP_INT_OP1_S_BITS(15, fcvt.w.s, FFLAG_NV, 0xffffffff80000000, 0xff800000)
        TEST_FP_INT_OP1_S_BITS(16, fcvt.w.s, FFLAG_NV, 0x7fffffff, 0x7f800000)
        /* unsigned word: result sign-extended from 32 bits */
        TEST_FP_INT_OP1_S_RM(20, fcvt.wu.s, rtz, FFLAG_NV, 0, -1.0)
        TEST_FP_INT_OP1_S_RM(21, fcvt.wu.s, rtz, FFLAG_NX, 0, -0.5)
        TEST_FP_INT_OP1_S_RM(22, fcvt.wu.s, rne, FFLAG_NX, 0, -0.25)
        TEST_FP_INT_OP1_S_RM(23, fcvt.wu.s, rtz, 0, 0xffffffff80000000, 2147483648.0)
        TEST_FP_INT_OP1_S_RM(24, fcvt.wu.s, rtz, FFLAG_NV, 0xffffffffffffffff, 5e9)
        TEST_FP_INT_OP1_S_BITS(25, fcvt.wu.s, FFLAG_NV, 0xffffffffffffffff, 0x7fc00000)
        TEST_FP_INT_OP1_S_BITS(26, fcvt.wu.s, FFLAG_NV, 0, 0xff800000)
        /* 64-bit */
        TEST_FP_INT_OP1_S_RM(30, fcvt.l.s, rtz, FFLAG_NX, -1, -1.5)
        TEST_FP_INT_OP1_S_RM(31, fcvt.l.s, rtz, FFLAG_NV, 0x7fffffffffffffff, 9.223372036854775808e18)
        TEST_FP_INT_OP1_S_RM(32, fcvt.l.s, rtz, 0, 0x8000000000000000, -9.223372036854775808e18)
        TEST_FP_INT_OP1_S_RM(33, fcvt.l.s, rtz, 0, 0x0000010000000000, 1099511627776.0)
        TEST_FP_INT_OP1_S_BITS(34, fcvt.l.s, FFLAG_NV, 0x7fffffffffffffff, 0x7fc00000)
        TEST_FP_INT_OP1_S_RM(35, fcvt.lu.s, rtz, FFLAG_NV, 0, -1.0)
        TEST_FP_INT_OP1_S_RM(36, fcvt.lu.s, rtz, 0, 0x8000000000000000, 9.223372036854775808e18)
        TEST_FP_INT_OP1_S_RM(37, fcvt.lu.s, rtz, FFLAG_NV, 0xffffffffffffffff, 3.6893488147419103e19)
        TEST_FP_INT_OP1_S_BITS(38, fcvt.lu.s, FFLAG_NV, 0xffffffffffffffff, 0x7f800000)
        TEST_FP_INT_OP1_S_RM(39, fcvt.lu.s, rup, FFLAG_NX, 1, 0.25)
        /* int -> single */
        TEST_INT_FP_OP_S(40, fcvt.s.w, 0, 0xbf800000, -1)
        TEST_INT_FP_OP_S(41, fcvt.s.w, 0, 0xcf000000, 0xffffffff80000000)
        TEST_INT_FP_OP_S(42, fcvt.s.w, 0, 0x3f800000, 0x1234500000001)   /* only the low word */
        TEST_INT_FP_OP_S(43, fcvt.s.wu, FFLAG_NX, 0x4f800000, 0xffffffff)
        TEST_INT_FP_OP_S(44, fcvt.s.wu, 0, 0x4f000000, 0x80000000)
        TEST_INT_FP_OP_S(45, fcvt.s.l, FFLAG_NX, 0x5f000000, 0x7fffffffffffffff)
        TEST_INT_FP_OP_S(46, fcvt.s.l, 0, 0xdf000000, 0x8000000000000000)
        TEST_INT_FP_OP_S(47, fcvt.s.lu, FFLAG_NX, 0x5f800000, 0xffffffffffffffff)
        TEST_INT_FP_OP_S(48, fcvt.s.w, FFLAG_NX, 0x4b800000, 16777217)          /* 2^24 + 1: tie to even */
        TEST_INT_FP_OP_S_RM(49, fcvt.s.w, rup, FFLAG_NX, 0x4b800001, 16777217)
        TEST_INT_FP_OP_S_RM(50, fcvt.s.w, rdn, FFLAG_NX, 0xcb800001, -16777217)
        TEST_INT_FP_OP_S(51, fcvt.s.w, 0, 0, 0)                                 /* +0 */
        /* fmv */
        TEST_CASE(60, a4, 0xffffffffffffffff, li a1, 0xffffffff; fmv.w.x fa0, a1; fmv.x.w a4, fa0)
        TEST_CASE(61, a4, 0x000000007fffffff, li a1, 0x123456787fffffff; fmv.w.x fa0, a1; fmv.x.w a4, fa0)
        TEST_CASE(62, a4, 0, frflags a4)
        TEST_END
