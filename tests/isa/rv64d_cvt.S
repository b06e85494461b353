/* rv64d_cvt: every D-extension conversion (Unprivileged ISA 20191213,
 * chapter 12 and the F-chapter rules it refers to), fflags checked exactly
 * (cleared before each case):
 *   fcvt.{w,wu,l,lu}.d: all five rounding modes on halfway and
 *     non-halfway values; out of range / +-inf / NaN saturate with NV
 *     only (NaN of either sign -> largest positive); negatives to
 *     unsigned: 0 with NX when they round to 0, else 0 with NV; 32-bit
 *     results sign-extended.
 *   fcvt.d.{w,wu,l,lu}: exact cases, 32-bit sources use the low word,
 *     inexact 64-bit sources in every rounding mode (NX).
 *   fcvt.s.d: rounding, overflow (inf or max finite by mode, OF|NX),
 *     underflow (UF|NX when tiny and inexact, tininess detected after
 *     rounding), NaN -> canonical 0x7fc00000 (NV for sNaN); results must
 *     be NaN-boxed (upper 32 bits of the f register all ones).
 *   fcvt.d.s: exact, NaN -> 0x7ff8000000000000 (NV for sNaN), an
 *     input that is not properly NaN-boxed is the canonical NaN.
 *   fmv.x.d / fmv.d.x, fclass.d (all ten classes), fflags accumulation,
 *     dynamic rounding mode from frm, reserved rm / frm -> illegal.
 * Expected values were computed from those rules with an exact rational
 * model (operand values in the comments); validated on QEMU 7.2. */
#include "test.h"

/* double bits -> integer register, static rounding mode */
#define CVT_DI(n, inst, rm, flags, result, bits) \
test_ ## n: \
        li TESTNUM, n; li a1, MASK_XLEN(bits); fmv.d.x fa0, a1; \
        fsflags x0; inst a4, fa0, rm; frflags a1; \
        li t2, flags; bne a1, t2, fail; li t2, MASK_XLEN(result); bne a4, t2, fail;
/* fcvt.s.d: the whole f register is compared (NaN-boxed single) */
#define CVT_DS(n, rm, flags, result32, bits) \
test_ ## n: \
        li TESTNUM, n; li a1, MASK_XLEN(bits); fmv.d.x fa0, a1; \
        fsflags x0; fcvt.s.d fa3, fa0, rm; frflags a1; \
        li t2, flags; bne a1, t2, fail; fmv.x.d a4, fa3; \
        li t2, (0xffffffff00000000 | (result32)); bne a4, t2, fail;
/* fcvt.d.s: `bits` is the whole 64-bit source register */
#define CVT_SD(n, flags, result, bits) \
test_ ## n: \
        li TESTNUM, n; li a1, MASK_XLEN(bits); fmv.d.x fa0, a1; \
        fsflags x0; fcvt.d.s fa3, fa0; frflags a1; \
        li t2, flags; bne a1, t2, fail; fmv.x.d a4, fa3; \
        li t2, MASK_XLEN(result); bne a4, t2, fail;
#define CLASS_D(n, result, bits) \
test_ ## n: \
        li TESTNUM, n; li a1, MASK_XLEN(bits); fmv.d.x fa0, a1; \
        fsflags x0; fclass.d a4, fa0; frflags a1; \
        bnez a1, fail; li t2, result; bne a4, t2, fail;
/* fmv.d.x then fmv.x.d: all 64 bits unchanged, no flags */
#define FMV_D(n, bits) \
test_ ## n: \
        li TESTNUM, n; li a1, MASK_XLEN(bits); fsflags x0; \
        fmv.d.x fa0, a1; fsgnj.d fa1, fa0, fa0; fmv.x.d a4, fa0; frflags a2; \
        bnez a2, fail; bne a4, a1, fail; fmv.x.d a4, fa1; bne a4, a1, fail;
#define FLD(reg, bits) li t2, MASK_XLEN(bits); fmv.d.x reg, t2;

TEST_BEGIN
        /* fcvt.w.d: every rounding mode on halfway and non-halfway values */
        CVT_DI(1, fcvt.w.d, rne, 0x1, 0x0000000000000002, 0x4004000000000000)  /* 2.5 */
        CVT_DI(2, fcvt.w.d, rtz, 0x1, 0x0000000000000002, 0x4004000000000000)  /* 2.5 */
        CVT_DI(3, fcvt.w.d, rdn, 0x1, 0x0000000000000002, 0x4004000000000000)  /* 2.5 */
        CVT_DI(4, fcvt.w.d, rup, 0x1, 0x0000000000000003, 0x4004000000000000)  /* 2.5 */
        CVT_DI(5, fcvt.w.d, rmm, 0x1, 0x0000000000000003, 0x4004000000000000)  /* 2.5 */
        CVT_DI(6, fcvt.w.d, rne, 0x1, 0xfffffffffffffffe, 0xc004000000000000)  /* -2.5 */
        CVT_DI(7, fcvt.w.d, rtz, 0x1, 0xfffffffffffffffe, 0xc004000000000000)  /* -2.5 */
        CVT_DI(8, fcvt.w.d, rdn, 0x1, 0xfffffffffffffffd, 0xc004000000000000)  /* -2.5 */
        CVT_DI(9, fcvt.w.d, rup, 0x1, 0xfffffffffffffffe, 0xc004000000000000)  /* -2.5 */
        CVT_DI(10, fcvt.w.d, rmm, 0x1, 0xfffffffffffffffd, 0xc004000000000000)  /* -2.5 */
        CVT_DI(11, fcvt.w.d, rne, 0x1, 0x0000000000000002, 0x4002666666666666)  /* 2.3 */
        CVT_DI(12, fcvt.w.d, rtz, 0x1, 0x0000000000000002, 0x4002666666666666)  /* 2.3 */
        CVT_DI(13, fcvt.w.d, rdn, 0x1, 0x0000000000000002, 0x4002666666666666)  /* 2.3 */
        CVT_DI(14, fcvt.w.d, rup, 0x1, 0x0000000000000003, 0x4002666666666666)  /* 2.3 */
        CVT_DI(15, fcvt.w.d, rmm, 0x1, 0x0000000000000002, 0x4002666666666666)  /* 2.3 */
        CVT_DI(16, fcvt.w.d, rne, 0x1, 0xfffffffffffffffd, 0xc00599999999999a)  /* -2.7 */
        CVT_DI(17, fcvt.w.d, rtz, 0x1, 0xfffffffffffffffe, 0xc00599999999999a)  /* -2.7 */
        CVT_DI(18, fcvt.w.d, rdn, 0x1, 0xfffffffffffffffd, 0xc00599999999999a)  /* -2.7 */
        CVT_DI(19, fcvt.w.d, rup, 0x1, 0xfffffffffffffffe, 0xc00599999999999a)  /* -2.7 */
        CVT_DI(20, fcvt.w.d, rmm, 0x1, 0xfffffffffffffffd, 0xc00599999999999a)  /* -2.7 */
        CVT_DI(21, fcvt.w.d, rne, 0x1, 0x0000000000000000, 0x3fe0000000000000)  /* 0.5 */
        CVT_DI(22, fcvt.w.d, rtz, 0x1, 0x0000000000000000, 0x3fe0000000000000)  /* 0.5 */
        CVT_DI(23, fcvt.w.d, rdn, 0x1, 0x0000000000000000, 0x3fe0000000000000)  /* 0.5 */
        CVT_DI(24, fcvt.w.d, rup, 0x1, 0x0000000000000001, 0x3fe0000000000000)  /* 0.5 */
        CVT_DI(25, fcvt.w.d, rmm, 0x1, 0x0000000000000001, 0x3fe0000000000000)  /* 0.5 */
        CVT_DI(26, fcvt.w.d, rne, 0x1, 0x0000000000000000, 0xbfe0000000000000)  /* -0.5 */
        CVT_DI(27, fcvt.w.d, rtz, 0x1, 0x0000000000000000, 0xbfe0000000000000)  /* -0.5 */
        CVT_DI(28, fcvt.w.d, rdn, 0x1, 0xffffffffffffffff, 0xbfe0000000000000)  /* -0.5 */
        CVT_DI(29, fcvt.w.d, rup, 0x1, 0x0000000000000000, 0xbfe0000000000000)  /* -0.5 */
        CVT_DI(30, fcvt.w.d, rmm, 0x1, 0xffffffffffffffff, 0xbfe0000000000000)  /* -0.5 */
        /* exact, -0, sign extension, range limits, saturation (NV only, no NX) */
        CVT_DI(31, fcvt.w.d, rtz, 0x0, 0xfffffffffffffff9, 0xc01c000000000000)  /* -7.0 */
        CVT_DI(32, fcvt.w.d, rne, 0x0, 0x0000000000000000, 0x8000000000000000)  /* -0.0 */
        CVT_DI(33, fcvt.w.d, rtz, 0x0, 0xffffffffffffffff, 0xbff0000000000000)  /* -1.0 */
        CVT_DI(34, fcvt.w.d, rtz, 0x0, 0xffffffff80000000, 0xc1e0000000000000)  /* -2147483648.0 */
        CVT_DI(35, fcvt.w.d, rne, 0x0, 0x000000007fffffff, 0x41dfffffffc00000)  /* 2147483647.0 */
        CVT_DI(36, fcvt.w.d, rtz, 0x1, 0x000000007fffffff, 0x41dfffffffe00000)  /* 2147483647.5 */
        CVT_DI(37, fcvt.w.d, rne, 0x10, 0x000000007fffffff, 0x41dfffffffe00000)  /* 2147483647.5 */
        CVT_DI(38, fcvt.w.d, rtz, 0x1, 0xffffffff80000000, 0xc1e0000000100000)  /* -2147483648.5 */
        CVT_DI(39, fcvt.w.d, rdn, 0x10, 0xffffffff80000000, 0xc1e0000000100000)  /* -2147483648.5 */
        CVT_DI(40, fcvt.w.d, rtz, 0x10, 0x000000007fffffff, 0x41e0000000000000)  /* 2147483648.0 */
        CVT_DI(41, fcvt.w.d, rtz, 0x10, 0xffffffff80000000, 0xc1e0000000200000)  /* -2147483649.0 */
        CVT_DI(42, fcvt.w.d, rtz, 0x10, 0x000000007fffffff, 0x41e65a0bc0166666)  /* 3000000000.7 */
        CVT_DI(43, fcvt.w.d, rne, 0x10, 0x000000007fffffff, 0x7e37e43c8800759c)  /* 1e+300 */
        CVT_DI(44, fcvt.w.d, rne, 0x10, 0xffffffff80000000, 0xfe37e43c8800759c)  /* -1e+300 */
        CVT_DI(45, fcvt.w.d, rtz, 0x10, 0x000000007fffffff, 0x7ff0000000000000)  /* +inf */
        CVT_DI(46, fcvt.w.d, rtz, 0x10, 0xffffffff80000000, 0xfff0000000000000)  /* -inf */
        CVT_DI(47, fcvt.w.d, rtz, 0x10, 0x000000007fffffff, 0x7ff8000000000000)  /* qNaN */
        CVT_DI(48, fcvt.w.d, rtz, 0x10, 0x000000007fffffff, 0x7ff0000000000001)  /* sNaN */
        CVT_DI(49, fcvt.w.d, rtz, 0x10, 0x000000007fffffff, 0xfff8000000000000)  /* -qNaN */
        CVT_DI(50, fcvt.w.d, rtz, 0x10, 0x000000007fffffff, 0xfff0000000000001)  /* -sNaN */
        /* fcvt.wu.d: result sign-extended from 32 bits; negatives */
        CVT_DI(51, fcvt.wu.d, rne, 0x1, 0x0000000000000002, 0x4004000000000000)  /* 2.5 */
        CVT_DI(52, fcvt.wu.d, rtz, 0x1, 0x0000000000000002, 0x4004000000000000)  /* 2.5 */
        CVT_DI(53, fcvt.wu.d, rdn, 0x1, 0x0000000000000002, 0x4004000000000000)  /* 2.5 */
        CVT_DI(54, fcvt.wu.d, rup, 0x1, 0x0000000000000003, 0x4004000000000000)  /* 2.5 */
        CVT_DI(55, fcvt.wu.d, rmm, 0x1, 0x0000000000000003, 0x4004000000000000)  /* 2.5 */
        CVT_DI(56, fcvt.wu.d, rne, 0x1, 0x0000000000000002, 0x4002666666666666)  /* 2.3 */
        CVT_DI(57, fcvt.wu.d, rtz, 0x1, 0x0000000000000002, 0x4002666666666666)  /* 2.3 */
        CVT_DI(58, fcvt.wu.d, rdn, 0x1, 0x0000000000000002, 0x4002666666666666)  /* 2.3 */
        CVT_DI(59, fcvt.wu.d, rup, 0x1, 0x0000000000000003, 0x4002666666666666)  /* 2.3 */
        CVT_DI(60, fcvt.wu.d, rmm, 0x1, 0x0000000000000002, 0x4002666666666666)  /* 2.3 */
        CVT_DI(61, fcvt.wu.d, rtz, 0x0, 0xffffffffffffffff, 0x41efffffffe00000)  /* 4294967295.0 */
        CVT_DI(62, fcvt.wu.d, rtz, 0x0, 0xffffffff80000000, 0x41e0000000000000)  /* 2147483648.0 */
        CVT_DI(63, fcvt.wu.d, rne, 0x0, 0xffffffffb2d05e00, 0x41e65a0bc0000000)  /* 3000000000.0 */
        CVT_DI(64, fcvt.wu.d, rtz, 0x1, 0xffffffffffffffff, 0x41effffffff00000)  /* 4294967295.5 */
        CVT_DI(65, fcvt.wu.d, rne, 0x10, 0xffffffffffffffff, 0x41effffffff00000)  /* 4294967295.5 */
        CVT_DI(66, fcvt.wu.d, rtz, 0x10, 0xffffffffffffffff, 0x41f0000000000000)  /* 4294967296.0 */
        CVT_DI(67, fcvt.wu.d, rtz, 0x1, 0x0000000000000000, 0xbfd3333333333333)  /* -0.3 */
        CVT_DI(68, fcvt.wu.d, rne, 0x1, 0x0000000000000000, 0xbfd3333333333333)  /* -0.3 */
        CVT_DI(69, fcvt.wu.d, rup, 0x1, 0x0000000000000000, 0xbfd3333333333333)  /* -0.3 */
        CVT_DI(70, fcvt.wu.d, rmm, 0x1, 0x0000000000000000, 0xbfd3333333333333)  /* -0.3 */
        CVT_DI(71, fcvt.wu.d, rdn, 0x10, 0x0000000000000000, 0xbfd3333333333333)  /* -0.3 */
        CVT_DI(72, fcvt.wu.d, rne, 0x1, 0x0000000000000000, 0xbfe0000000000000)  /* -0.5 */
        CVT_DI(73, fcvt.wu.d, rmm, 0x10, 0x0000000000000000, 0xbfe0000000000000)  /* -0.5 */
        CVT_DI(74, fcvt.wu.d, rtz, 0x0, 0x0000000000000000, 0x8000000000000000)  /* -0.0 */
        CVT_DI(75, fcvt.wu.d, rtz, 0x10, 0x0000000000000000, 0xbff0000000000000)  /* -1.0 */
        CVT_DI(76, fcvt.wu.d, rtz, 0x10, 0x0000000000000000, 0xc202a05f20000000)  /* -10000000000.0 */
        CVT_DI(77, fcvt.wu.d, rtz, 0x10, 0xffffffffffffffff, 0x7ff0000000000000)  /* +inf */
        CVT_DI(78, fcvt.wu.d, rtz, 0x10, 0x0000000000000000, 0xfff0000000000000)  /* -inf */
        CVT_DI(79, fcvt.wu.d, rtz, 0x10, 0xffffffffffffffff, 0x7ff8000000000000)  /* qNaN */
        CVT_DI(80, fcvt.wu.d, rtz, 0x10, 0xffffffffffffffff, 0xfff0000000000001)  /* -sNaN */
        /* fcvt.l.d */
        CVT_DI(81, fcvt.l.d, rne, 0x1, 0xfffffffffffffffe, 0xc004000000000000)  /* -2.5 */
        CVT_DI(82, fcvt.l.d, rtz, 0x1, 0xfffffffffffffffe, 0xc004000000000000)  /* -2.5 */
        CVT_DI(83, fcvt.l.d, rdn, 0x1, 0xfffffffffffffffd, 0xc004000000000000)  /* -2.5 */
        CVT_DI(84, fcvt.l.d, rup, 0x1, 0xfffffffffffffffe, 0xc004000000000000)  /* -2.5 */
        CVT_DI(85, fcvt.l.d, rmm, 0x1, 0xfffffffffffffffd, 0xc004000000000000)  /* -2.5 */
        CVT_DI(86, fcvt.l.d, rne, 0x1, 0x0010000000000000, 0x432fffffffffffff)  /* 4503599627370495.5 */
        CVT_DI(87, fcvt.l.d, rtz, 0x1, 0x000fffffffffffff, 0x432fffffffffffff)  /* 4503599627370495.5 */
        CVT_DI(88, fcvt.l.d, rdn, 0x1, 0x000fffffffffffff, 0x432fffffffffffff)  /* 4503599627370495.5 */
        CVT_DI(89, fcvt.l.d, rup, 0x1, 0x0010000000000000, 0x432fffffffffffff)  /* 4503599627370495.5 */
        CVT_DI(90, fcvt.l.d, rmm, 0x1, 0x0010000000000000, 0x432fffffffffffff)  /* 4503599627370495.5 */
        CVT_DI(91, fcvt.l.d, rne, 0x0, 0xfff0000000000002, 0xc32ffffffffffffc)  /* -4503599627370494.0 */
        CVT_DI(92, fcvt.l.d, rtz, 0x0, 0xfff0000000000002, 0xc32ffffffffffffc)  /* -4503599627370494.0 */
        CVT_DI(93, fcvt.l.d, rdn, 0x0, 0xfff0000000000002, 0xc32ffffffffffffc)  /* -4503599627370494.0 */
        CVT_DI(94, fcvt.l.d, rup, 0x0, 0xfff0000000000002, 0xc32ffffffffffffc)  /* -4503599627370494.0 */
        CVT_DI(95, fcvt.l.d, rmm, 0x0, 0xfff0000000000002, 0xc32ffffffffffffc)  /* -4503599627370494.0 */
        CVT_DI(96, fcvt.l.d, rtz, 0x0, 0x8000000000000000, 0xc3e0000000000000)  /* -9.223372036854776e+18 */
        CVT_DI(97, fcvt.l.d, rtz, 0x0, 0x7ffffffffffffc00, 0x43dfffffffffffff)  /* 9.223372036854775e+18 */
        CVT_DI(98, fcvt.l.d, rtz, 0x10, 0x7fffffffffffffff, 0x43e0000000000000)  /* 9.223372036854776e+18 */
        CVT_DI(99, fcvt.l.d, rtz, 0x10, 0x8000000000000000, 0xc3e158e460913d00)  /* -1e+19 */
        CVT_DI(100, fcvt.l.d, rne, 0x0, 0x0000010000000000, 0x4270000000000000)  /* 1099511627776.0 */
        CVT_DI(101, fcvt.l.d, rne, 0x0, 0x0000000000000000, 0x8000000000000000)  /* -0.0 */
        CVT_DI(102, fcvt.l.d, rtz, 0x10, 0x7fffffffffffffff, 0x7ff0000000000000)  /* +inf */
        CVT_DI(103, fcvt.l.d, rtz, 0x10, 0x8000000000000000, 0xfff0000000000000)  /* -inf */
        CVT_DI(104, fcvt.l.d, rtz, 0x10, 0x7fffffffffffffff, 0x7ff8000000000000)  /* qNaN */
        CVT_DI(105, fcvt.l.d, rtz, 0x10, 0x7fffffffffffffff, 0x7ff0000000000001)  /* sNaN */
        CVT_DI(106, fcvt.l.d, rtz, 0x10, 0x7fffffffffffffff, 0xfff8000000000000)  /* -qNaN */
        /* fcvt.lu.d */
        CVT_DI(107, fcvt.lu.d, rne, 0x1, 0x0000000000000000, 0x3fe0000000000000)  /* 0.5 */
        CVT_DI(108, fcvt.lu.d, rtz, 0x1, 0x0000000000000000, 0x3fe0000000000000)  /* 0.5 */
        CVT_DI(109, fcvt.lu.d, rdn, 0x1, 0x0000000000000000, 0x3fe0000000000000)  /* 0.5 */
        CVT_DI(110, fcvt.lu.d, rup, 0x1, 0x0000000000000001, 0x3fe0000000000000)  /* 0.5 */
        CVT_DI(111, fcvt.lu.d, rmm, 0x1, 0x0000000000000001, 0x3fe0000000000000)  /* 0.5 */
        CVT_DI(112, fcvt.lu.d, rne, 0x10, 0x0000000000000000, 0xbfe6666666666666)  /* -0.7 */
        CVT_DI(113, fcvt.lu.d, rtz, 0x1, 0x0000000000000000, 0xbfe6666666666666)  /* -0.7 */
        CVT_DI(114, fcvt.lu.d, rdn, 0x10, 0x0000000000000000, 0xbfe6666666666666)  /* -0.7 */
        CVT_DI(115, fcvt.lu.d, rup, 0x1, 0x0000000000000000, 0xbfe6666666666666)  /* -0.7 */
        CVT_DI(116, fcvt.lu.d, rmm, 0x10, 0x0000000000000000, 0xbfe6666666666666)  /* -0.7 */
        CVT_DI(117, fcvt.lu.d, rne, 0x1, 0x0000000000000002, 0x3ffc000000000000)  /* 1.75 */
        CVT_DI(118, fcvt.lu.d, rtz, 0x1, 0x0000000000000001, 0x3ffc000000000000)  /* 1.75 */
        CVT_DI(119, fcvt.lu.d, rdn, 0x1, 0x0000000000000001, 0x3ffc000000000000)  /* 1.75 */
        CVT_DI(120, fcvt.lu.d, rup, 0x1, 0x0000000000000002, 0x3ffc000000000000)  /* 1.75 */
        CVT_DI(121, fcvt.lu.d, rmm, 0x1, 0x0000000000000002, 0x3ffc000000000000)  /* 1.75 */
        CVT_DI(122, fcvt.lu.d, rtz, 0x0, 0x8000000000000000, 0x43e0000000000000)  /* 9.223372036854776e+18 */
        CVT_DI(123, fcvt.lu.d, rtz, 0x0, 0xfffffffffffff800, 0x43efffffffffffff)  /* 1.844674407370955e+19 */
        CVT_DI(124, fcvt.lu.d, rtz, 0x10, 0xffffffffffffffff, 0x43f0000000000000)  /* 1.8446744073709552e+19 */
        CVT_DI(125, fcvt.lu.d, rtz, 0x1, 0x0000000000000000, 0xbfd3333333333333)  /* -0.3 */
        CVT_DI(126, fcvt.lu.d, rtz, 0x10, 0x0000000000000000, 0xbff0000000000000)  /* -1.0 */
        CVT_DI(127, fcvt.lu.d, rne, 0x10, 0x0000000000000000, 0xc3e158e460913d00)  /* -1e+19 */
        CVT_DI(128, fcvt.lu.d, rtz, 0x10, 0xffffffffffffffff, 0x7ff0000000000000)  /* +inf */
        CVT_DI(129, fcvt.lu.d, rtz, 0x10, 0x0000000000000000, 0xfff0000000000000)  /* -inf */
        CVT_DI(130, fcvt.lu.d, rtz, 0x10, 0xffffffffffffffff, 0x7ff8000000000000)  /* qNaN */
        CVT_DI(131, fcvt.lu.d, rtz, 0x10, 0xffffffffffffffff, 0xfff8000000000000)  /* -qNaN */
        /* int -> double: 32-bit sources use the low word only; exact */
        TEST_INT_FP_OP_D(132, fcvt.d.w, 0x0, 0xbff0000000000000, 0xffffffffffffffff)  /* -1 */
        TEST_INT_FP_OP_D(133, fcvt.d.w, 0x0, 0x41dfffffffc00000, 0x000000007fffffff)  /* 2147483647 */
        TEST_INT_FP_OP_D(134, fcvt.d.w, 0x0, 0x3ff0000000000000, 0x0001234500000001)  /* 1 */
        TEST_INT_FP_OP_D(135, fcvt.d.w, 0x0, 0xbff0000000000000, 0x00000000ffffffff)  /* -1 */
        TEST_INT_FP_OP_D(136, fcvt.d.w, 0x0, 0xc1e0000000000000, 0xffffffff80000000)  /* -2147483648 */
        TEST_INT_FP_OP_D(137, fcvt.d.wu, 0x0, 0x41efffffffe00000, 0x00000000ffffffff)  /* 4294967295 */
        TEST_INT_FP_OP_D(138, fcvt.d.wu, 0x0, 0x41e0000000000000, 0xffffffff80000000)  /* 2147483648 */
        TEST_INT_FP_OP_D(139, fcvt.d.wu, 0x0, 0x0000000000000000, 0x0000000000000000)  /* 0 */
        TEST_INT_FP_OP_D_RM(140, fcvt.d.l, rne, 0x0, 0xc3e0000000000000, 0x8000000000000000)  /* -9223372036854775808 */
        TEST_INT_FP_OP_D_RM(141, fcvt.d.l, rne, 0x0, 0x4340000000000000, 0x0020000000000000)  /* 9007199254740992 */
        TEST_INT_FP_OP_D_RM(142, fcvt.d.lu, rne, 0x0, 0x43e0000000000000, 0x8000000000000000)  /* 9223372036854775808 */
        TEST_INT_FP_OP_D_RM(143, fcvt.d.lu, rne, 0x0, 0x0000000000000000, 0x0000000000000000)  /* 0 */
        /* inexact: 2^63-1, 2^64-1, 2^53+1 (tie), 2^53+3 (tie), 2^54+1 (not a tie), -(2^53+1) */
        TEST_INT_FP_OP_D_RM(144, fcvt.d.l, rne, 0x1, 0x43e0000000000000, 0x7fffffffffffffff)  /* 9223372036854775807 */
        TEST_INT_FP_OP_D_RM(145, fcvt.d.l, rtz, 0x1, 0x43dfffffffffffff, 0x7fffffffffffffff)  /* 9223372036854775807 */
        TEST_INT_FP_OP_D_RM(146, fcvt.d.l, rdn, 0x1, 0x43dfffffffffffff, 0x7fffffffffffffff)  /* 9223372036854775807 */
        TEST_INT_FP_OP_D_RM(147, fcvt.d.l, rup, 0x1, 0x43e0000000000000, 0x7fffffffffffffff)  /* 9223372036854775807 */
        TEST_INT_FP_OP_D_RM(148, fcvt.d.l, rmm, 0x1, 0x43e0000000000000, 0x7fffffffffffffff)  /* 9223372036854775807 */
        TEST_INT_FP_OP_D_RM(149, fcvt.d.l, rne, 0x1, 0x4340000000000000, 0x0020000000000001)  /* 9007199254740993 */
        TEST_INT_FP_OP_D_RM(150, fcvt.d.l, rtz, 0x1, 0x4340000000000000, 0x0020000000000001)  /* 9007199254740993 */
        TEST_INT_FP_OP_D_RM(151, fcvt.d.l, rdn, 0x1, 0x4340000000000000, 0x0020000000000001)  /* 9007199254740993 */
        TEST_INT_FP_OP_D_RM(152, fcvt.d.l, rup, 0x1, 0x4340000000000001, 0x0020000000000001)  /* 9007199254740993 */
        TEST_INT_FP_OP_D_RM(153, fcvt.d.l, rmm, 0x1, 0x4340000000000001, 0x0020000000000001)  /* 9007199254740993 */
        TEST_INT_FP_OP_D_RM(154, fcvt.d.l, rne, 0x1, 0x4340000000000002, 0x0020000000000003)  /* 9007199254740995 */
        TEST_INT_FP_OP_D_RM(155, fcvt.d.l, rtz, 0x1, 0x4340000000000001, 0x0020000000000003)  /* 9007199254740995 */
        TEST_INT_FP_OP_D_RM(156, fcvt.d.l, rdn, 0x1, 0x4340000000000001, 0x0020000000000003)  /* 9007199254740995 */
        TEST_INT_FP_OP_D_RM(157, fcvt.d.l, rup, 0x1, 0x4340000000000002, 0x0020000000000003)  /* 9007199254740995 */
        TEST_INT_FP_OP_D_RM(158, fcvt.d.l, rmm, 0x1, 0x4340000000000002, 0x0020000000000003)  /* 9007199254740995 */
        TEST_INT_FP_OP_D_RM(159, fcvt.d.l, rne, 0x1, 0x4350000000000000, 0x0040000000000001)  /* 18014398509481985 */
        TEST_INT_FP_OP_D_RM(160, fcvt.d.l, rtz, 0x1, 0x4350000000000000, 0x0040000000000001)  /* 18014398509481985 */
        TEST_INT_FP_OP_D_RM(161, fcvt.d.l, rdn, 0x1, 0x4350000000000000, 0x0040000000000001)  /* 18014398509481985 */
        TEST_INT_FP_OP_D_RM(162, fcvt.d.l, rup, 0x1, 0x4350000000000001, 0x0040000000000001)  /* 18014398509481985 */
        TEST_INT_FP_OP_D_RM(163, fcvt.d.l, rmm, 0x1, 0x4350000000000000, 0x0040000000000001)  /* 18014398509481985 */
        TEST_INT_FP_OP_D_RM(164, fcvt.d.l, rne, 0x1, 0xc340000000000000, 0xffdfffffffffffff)  /* -9007199254740993 */
        TEST_INT_FP_OP_D_RM(165, fcvt.d.l, rtz, 0x1, 0xc340000000000000, 0xffdfffffffffffff)  /* -9007199254740993 */
        TEST_INT_FP_OP_D_RM(166, fcvt.d.l, rdn, 0x1, 0xc340000000000001, 0xffdfffffffffffff)  /* -9007199254740993 */
        TEST_INT_FP_OP_D_RM(167, fcvt.d.l, rup, 0x1, 0xc340000000000000, 0xffdfffffffffffff)  /* -9007199254740993 */
        TEST_INT_FP_OP_D_RM(168, fcvt.d.l, rmm, 0x1, 0xc340000000000001, 0xffdfffffffffffff)  /* -9007199254740993 */
        TEST_INT_FP_OP_D_RM(169, fcvt.d.lu, rne, 0x1, 0x43f0000000000000, 0xffffffffffffffff)  /* 18446744073709551615 */
        TEST_INT_FP_OP_D_RM(170, fcvt.d.lu, rtz, 0x1, 0x43efffffffffffff, 0xffffffffffffffff)  /* 18446744073709551615 */
        TEST_INT_FP_OP_D_RM(171, fcvt.d.lu, rdn, 0x1, 0x43efffffffffffff, 0xffffffffffffffff)  /* 18446744073709551615 */
        TEST_INT_FP_OP_D_RM(172, fcvt.d.lu, rup, 0x1, 0x43f0000000000000, 0xffffffffffffffff)  /* 18446744073709551615 */
        TEST_INT_FP_OP_D_RM(173, fcvt.d.lu, rmm, 0x1, 0x43f0000000000000, 0xffffffffffffffff)  /* 18446744073709551615 */
        TEST_INT_FP_OP_D_RM(174, fcvt.d.lu, rne, 0x1, 0x43efffffffffffff, 0xfffffffffffffbff)  /* 18446744073709550591 */
        TEST_INT_FP_OP_D_RM(175, fcvt.d.lu, rtz, 0x1, 0x43efffffffffffff, 0xfffffffffffffbff)  /* 18446744073709550591 */
        TEST_INT_FP_OP_D_RM(176, fcvt.d.lu, rdn, 0x1, 0x43efffffffffffff, 0xfffffffffffffbff)  /* 18446744073709550591 */
        TEST_INT_FP_OP_D_RM(177, fcvt.d.lu, rup, 0x1, 0x43f0000000000000, 0xfffffffffffffbff)  /* 18446744073709550591 */
        TEST_INT_FP_OP_D_RM(178, fcvt.d.lu, rmm, 0x1, 0x43efffffffffffff, 0xfffffffffffffbff)  /* 18446744073709550591 */
        /* fcvt.s.d: results NaN-boxed (upper 32 bits of the f register all ones) */
        CVT_DS(179, rne, 0x0, 0x3fc00000, 0x3ff8000000000000)  /* 1.5 */
        CVT_DS(180, rne, 0x0, 0x80000000, 0x8000000000000000)  /* -0 */
        CVT_DS(181, rne, 0x0, 0x7f800000, 0x7ff0000000000000)  /* +inf */
        CVT_DS(182, rne, 0x0, 0xff800000, 0xfff0000000000000)  /* -inf */
        CVT_DS(183, rne, 0x0, 0x7f7fffff, 0x47efffffe0000000)  /* FLT_MAX exact */
        CVT_DS(184, rne, 0x0, 0x00000001, 0x36a0000000000000)  /* 2^-149 exact subnormal */
        CVT_DS(185, rne, 0x0, 0x00800000, 0x3810000000000000)  /* 2^-126 */
        CVT_DS(186, rne, 0x0, 0x80400000, 0xb800000000000000)  /* -2^-127 exact subnormal */
        /* rounding: 1+2^-24 (tie), 1+3*2^-24 (tie), 1+2^-25, -(1+2^-24), 0.1 */
        CVT_DS(187, rne, 0x1, 0x3f800000, 0x3ff0000010000000)  /* 1+2^-24 */
        CVT_DS(188, rtz, 0x1, 0x3f800000, 0x3ff0000010000000)  /* 1+2^-24 */
        CVT_DS(189, rdn, 0x1, 0x3f800000, 0x3ff0000010000000)  /* 1+2^-24 */
        CVT_DS(190, rup, 0x1, 0x3f800001, 0x3ff0000010000000)  /* 1+2^-24 */
        CVT_DS(191, rmm, 0x1, 0x3f800001, 0x3ff0000010000000)  /* 1+2^-24 */
        CVT_DS(192, rne, 0x1, 0x3f800002, 0x3ff0000030000000)  /* 1+3*2^-24 */
        CVT_DS(193, rtz, 0x1, 0x3f800001, 0x3ff0000030000000)  /* 1+3*2^-24 */
        CVT_DS(194, rdn, 0x1, 0x3f800001, 0x3ff0000030000000)  /* 1+3*2^-24 */
        CVT_DS(195, rup, 0x1, 0x3f800002, 0x3ff0000030000000)  /* 1+3*2^-24 */
        CVT_DS(196, rmm, 0x1, 0x3f800002, 0x3ff0000030000000)  /* 1+3*2^-24 */
        CVT_DS(197, rne, 0x1, 0x3f800000, 0x3ff0000008000000)  /* 1+2^-25 */
        CVT_DS(198, rtz, 0x1, 0x3f800000, 0x3ff0000008000000)  /* 1+2^-25 */
        CVT_DS(199, rdn, 0x1, 0x3f800000, 0x3ff0000008000000)  /* 1+2^-25 */
        CVT_DS(200, rup, 0x1, 0x3f800001, 0x3ff0000008000000)  /* 1+2^-25 */
        CVT_DS(201, rmm, 0x1, 0x3f800000, 0x3ff0000008000000)  /* 1+2^-25 */
        CVT_DS(202, rne, 0x1, 0xbf800000, 0xbff0000010000000)  /* -(1+2^-24) */
        CVT_DS(203, rtz, 0x1, 0xbf800000, 0xbff0000010000000)  /* -(1+2^-24) */
        CVT_DS(204, rdn, 0x1, 0xbf800001, 0xbff0000010000000)  /* -(1+2^-24) */
        CVT_DS(205, rup, 0x1, 0xbf800000, 0xbff0000010000000)  /* -(1+2^-24) */
        CVT_DS(206, rmm, 0x1, 0xbf800001, 0xbff0000010000000)  /* -(1+2^-24) */
        CVT_DS(207, rne, 0x1, 0x3dcccccd, 0x3fb999999999999a)  /* 0.1 */
        CVT_DS(208, rtz, 0x1, 0x3dcccccc, 0x3fb999999999999a)  /* 0.1 */
        CVT_DS(209, rdn, 0x1, 0x3dcccccc, 0x3fb999999999999a)  /* 0.1 */
        CVT_DS(210, rup, 0x1, 0x3dcccccd, 0x3fb999999999999a)  /* 0.1 */
        CVT_DS(211, rmm, 0x1, 0x3dcccccd, 0x3fb999999999999a)  /* 0.1 */
        /* overflow: inf or max finite by mode, OF|NX; FLT_MAX + 1/4 ulp rounds to FLT_MAX (NX only) */
        CVT_DS(212, rne, 0x5, 0x7f800000, 0x48078287f49c4a1d)  /* 1e39 */
        CVT_DS(213, rtz, 0x5, 0x7f7fffff, 0x48078287f49c4a1d)  /* 1e39 */
        CVT_DS(214, rdn, 0x5, 0x7f7fffff, 0x48078287f49c4a1d)  /* 1e39 */
        CVT_DS(215, rup, 0x5, 0x7f800000, 0x48078287f49c4a1d)  /* 1e39 */
        CVT_DS(216, rmm, 0x5, 0x7f800000, 0x48078287f49c4a1d)  /* 1e39 */
        CVT_DS(217, rne, 0x5, 0xff800000, 0xc8078287f49c4a1d)  /* -1e39 */
        CVT_DS(218, rtz, 0x5, 0xff7fffff, 0xc8078287f49c4a1d)  /* -1e39 */
        CVT_DS(219, rdn, 0x5, 0xff800000, 0xc8078287f49c4a1d)  /* -1e39 */
        CVT_DS(220, rup, 0x5, 0xff7fffff, 0xc8078287f49c4a1d)  /* -1e39 */
        CVT_DS(221, rmm, 0x5, 0xff800000, 0xc8078287f49c4a1d)  /* -1e39 */
        CVT_DS(222, rne, 0x5, 0x7f800000, 0x47effffff0000000)  /* FLT_MAX + 1/2 ulp */
        CVT_DS(223, rtz, 0x1, 0x7f7fffff, 0x47effffff0000000)  /* FLT_MAX + 1/2 ulp */
        CVT_DS(224, rdn, 0x1, 0x7f7fffff, 0x47effffff0000000)  /* FLT_MAX + 1/2 ulp */
        CVT_DS(225, rup, 0x5, 0x7f800000, 0x47effffff0000000)  /* FLT_MAX + 1/2 ulp */
        CVT_DS(226, rmm, 0x5, 0x7f800000, 0x47effffff0000000)  /* FLT_MAX + 1/2 ulp */
        CVT_DS(227, rne, 0x1, 0x7f7fffff, 0x47efffffe8000000)  /* FLT_MAX + 1/4 ulp */
        CVT_DS(228, rne, 0x5, 0x7f800000, 0x7fefffffffffffff)  /* DBL_MAX */
        /* underflow: UF|NX when tiny and inexact; tininess after rounding */
        CVT_DS(229, rne, 0x3, 0x00000000, 0x358dee7a4ad4b81f)  /* 1e-50 */
        CVT_DS(230, rtz, 0x3, 0x00000000, 0x358dee7a4ad4b81f)  /* 1e-50 */
        CVT_DS(231, rdn, 0x3, 0x00000000, 0x358dee7a4ad4b81f)  /* 1e-50 */
        CVT_DS(232, rup, 0x3, 0x00000001, 0x358dee7a4ad4b81f)  /* 1e-50 */
        CVT_DS(233, rmm, 0x3, 0x00000000, 0x358dee7a4ad4b81f)  /* 1e-50 */
        CVT_DS(234, rne, 0x3, 0x80000000, 0xb58dee7a4ad4b81f)  /* -1e-50 */
        CVT_DS(235, rtz, 0x3, 0x80000000, 0xb58dee7a4ad4b81f)  /* -1e-50 */
        CVT_DS(236, rdn, 0x3, 0x80000001, 0xb58dee7a4ad4b81f)  /* -1e-50 */
        CVT_DS(237, rup, 0x3, 0x80000000, 0xb58dee7a4ad4b81f)  /* -1e-50 */
        CVT_DS(238, rmm, 0x3, 0x80000000, 0xb58dee7a4ad4b81f)  /* -1e-50 */
        CVT_DS(239, rne, 0x3, 0x00000002, 0x36a8000000000000)  /* 1.5*2^-149 */
        CVT_DS(240, rtz, 0x3, 0x00000001, 0x36a8000000000000)  /* 1.5*2^-149 */
        CVT_DS(241, rdn, 0x3, 0x00000001, 0x36a8000000000000)  /* 1.5*2^-149 */
        CVT_DS(242, rup, 0x3, 0x00000002, 0x36a8000000000000)  /* 1.5*2^-149 */
        CVT_DS(243, rmm, 0x3, 0x00000002, 0x36a8000000000000)  /* 1.5*2^-149 */
        CVT_DS(244, rne, 0x1, 0x00800000, 0x380ffffff0000000)  /* 2^-126*(1-2^-25) */
        CVT_DS(245, rtz, 0x3, 0x007fffff, 0x380ffffff0000000)  /* 2^-126*(1-2^-25) */
        CVT_DS(246, rdn, 0x3, 0x007fffff, 0x380ffffff0000000)  /* 2^-126*(1-2^-25) */
        CVT_DS(247, rup, 0x1, 0x00800000, 0x380ffffff0000000)  /* 2^-126*(1-2^-25) */
        CVT_DS(248, rmm, 0x1, 0x00800000, 0x380ffffff0000000)  /* 2^-126*(1-2^-25) */
        CVT_DS(249, rne, 0x3, 0x00000000, 0x0000000000000001)  /* double min subnormal */
        /* NaN -> canonical 0x7fc00000; sNaN raises NV */
        CVT_DS(250, rne, 0x0, 0x7fc00000, 0x7ff8000000000000)  /* qNaN */
        CVT_DS(251, rne, 0x0, 0x7fc00000, 0x7ff8000012345678)  /* qNaN payload */
        CVT_DS(252, rne, 0x0, 0x7fc00000, 0xfff8000000000000)  /* -qNaN */
        CVT_DS(253, rne, 0x10, 0x7fc00000, 0x7ff0000000000001)  /* sNaN */
        CVT_DS(254, rne, 0x10, 0x7fc00000, 0xfff4000000000000)  /* -sNaN */
        /* fcvt.d.s: exact; NaN -> 0x7ff8000000000000 (NV for sNaN); improperly boxed input = canonical NaN */
        CVT_SD(255, 0x0, 0x3ff8000000000000, 0xffffffff3fc00000)  /* 1.5 */
        CVT_SD(256, 0x0, 0x8000000000000000, 0xffffffff80000000)  /* -0 */
        CVT_SD(257, 0x0, 0x36a0000000000000, 0xffffffff00000001)  /* 2^-149 */
        CVT_SD(258, 0x0, 0xb80fffffc0000000, 0xffffffff807fffff)  /* -max subnormal */
        CVT_SD(259, 0x0, 0x47efffffe0000000, 0xffffffff7f7fffff)  /* FLT_MAX */
        CVT_SD(260, 0x0, 0xfff0000000000000, 0xffffffffff800000)  /* -inf */
        CVT_SD(261, 0x10, 0x7ff8000000000000, 0xffffffff7f800001)  /* sNaN */
        CVT_SD(262, 0x10, 0x7ff8000000000000, 0xffffffffff800001)  /* -sNaN */
        CVT_SD(263, 0x0, 0x7ff8000000000000, 0xffffffff7fc12345)  /* qNaN payload */
        CVT_SD(264, 0x0, 0x7ff8000000000000, 0xffffffffffc00000)  /* -qNaN */
        CVT_SD(265, 0x0, 0x7ff8000000000000, 0x000000003fc00000)  /* 1.5 not NaN-boxed */
        CVT_SD(266, 0x0, 0x7ff8000000000000, 0xfffffffe7f800001)  /* sNaN not NaN-boxed (upper word 0xfffffffe) */
        /* fclass.d: all ten classes (one-hot), no flags */
        CLASS_D(267, 0x1, 0xfff0000000000000)  /* -inf */
        CLASS_D(268, 0x2, 0xbff0000000000000)  /* -1.0 (negative normal) */
        CLASS_D(269, 0x2, 0x8010000000000000)  /* -DBL_MIN (negative normal) */
        CLASS_D(270, 0x4, 0x800fffffffffffff)  /* negative subnormal */
        CLASS_D(271, 0x4, 0x8000000000000001)  /* -min subnormal */
        CLASS_D(272, 0x8, 0x8000000000000000)  /* -0 */
        CLASS_D(273, 0x10, 0x0000000000000000)  /* +0 */
        CLASS_D(274, 0x20, 0x0000000000000001)  /* +min subnormal */
        CLASS_D(275, 0x20, 0x000fffffffffffff)  /* +max subnormal */
        CLASS_D(276, 0x40, 0x0010000000000000)  /* DBL_MIN */
        CLASS_D(277, 0x40, 0x7fefffffffffffff)  /* DBL_MAX */
        CLASS_D(278, 0x80, 0x7ff0000000000000)  /* +inf */
        CLASS_D(279, 0x100, 0x7ff0000000000001)  /* sNaN */
        CLASS_D(280, 0x100, 0x7ff7ffffffffffff)  /* sNaN max payload */
        CLASS_D(281, 0x100, 0xfff0000000000001)  /* -sNaN */
        CLASS_D(282, 0x200, 0x7ff8000000000000)  /* qNaN */
        CLASS_D(283, 0x200, 0xfff8000000000000)  /* -qNaN */
        CLASS_D(284, 0x200, 0x7fffffffffffffff)  /* qNaN all ones */
        /* fmv.d.x / fmv.x.d keep every bit (sNaN payloads, -0); no flags */
        FMV_D(285, 0x7ff0000000000001)
        FMV_D(286, 0x8000000000000000)
        FMV_D(287, 0xfff7ffffdeadbeef)
        /* fmv.x.d of a single written by fmv.w.x: NaN-boxed */
        TEST_CASE(288, a4, 0xffffffff3fc00000, li a1, 0x123456783fc00000; fmv.w.x fa0, a1; fmv.x.d a4, fa0)
        /* fmv.x.d / fmv.d.x do not touch fflags that are set */
        TEST_CASE(289, a4, FFLAG_NV | FFLAG_NX, li a1, FFLAG_NV | FFLAG_NX; fsflags a1; li a1, 0x7ff0000000000001; fmv.d.x fa0, a1; fmv.x.d a2, fa0; frflags a4)

        /* fflags accumulate until cleared */
        FLD(fa0, 0x4004000000000000)            /* 2.5 */
        FLD(fa1, 0x7ff0000000000001)            /* sNaN */
        FLD(fa2, 0x48078287f49c4a1d)            /* 1e39 */
        FLD(fa4, 0x358dee7a4ad4b81f)            /* 1e-50 */
        TEST_CASE(290, a4, FFLAG_NX | FFLAG_NV, fsflags x0; fcvt.w.d a2, fa0, rne; fcvt.l.d a2, fa1, rtz; frflags a4)
        TEST_CASE(291, a4, FFLAG_NX | FFLAG_NV | FFLAG_OF, fcvt.s.d fa3, fa2, rne; frflags a4)
        TEST_CASE(292, a4, FFLAG_NX | FFLAG_NV | FFLAG_OF, li a1, 7; fcvt.d.w fa3, a1; fcvt.w.d a2, fa3, rtz; frflags a4)
        TEST_CASE(293, a4, FFLAG_NX | FFLAG_NV | FFLAG_OF | FFLAG_UF, fcvt.s.d fa3, fa4, rne; frflags a4)
        TEST_CASE(294, a4, FFLAG_NX | FFLAG_NV | FFLAG_OF | FFLAG_UF, fcvt.s.d fa3, fa1; fcvt.d.s fa3, fa3; frflags a4)
        TEST_CASE(295, a4, FFLAG_NX | FFLAG_NV | FFLAG_OF | FFLAG_UF, csrr a4, fcsr)   /* frm = 0 */
        TEST_CASE(296, a4, 0, fsflags x0; frflags a4)

        /* dynamic rounding mode (rm = 111) takes frm */
        FLD(fa0, 0x4000cccccccccccd)            /* 2.1 */
        FLD(fa1, 0xc000cccccccccccd)            /* -2.1 */
        TEST_CASE(297, a4, 3, li a1, 3; fsrm a1; fsflags x0; fcvt.w.d a4, fa0)             /* RUP */
        TEST_CASE(298, a4, (3 << 5) | FFLAG_NX, csrr a4, fcsr)
        TEST_CASE(299, a4, -3, li a1, 2; fsrm a1; fcvt.l.d a4, fa1)                      /* RDN */
        TEST_CASE(300, a4, 0x7f7fffff, li a1, 1; fsrm a1; fcvt.s.d fa3, fa2; fmv.x.w a4, fa3) /* RTZ: max finite */
        TEST_CASE(301, a4, 0x4340000000000001, li a1, 4; fsrm a1; li a2, 0x20000000000001; fcvt.d.l fa3, a2; fmv.x.d a4, fa3) /* RMM: 2^53+1 */
        TEST_CASE(302, a4, 0x4340000000000000, li a1, 0; fsrm a1; fcvt.d.l fa3, a2; fmv.x.d a4, fa3)   /* RNE */
        TEST_CASE(303, a4, (4 << 5) | 0x15, li a1, 0x95; fscsr a1; csrr a4, fcsr; fsrm x0; fsflags x0)

        /* reserved rounding modes: rm = 101 / 110 in the instruction, or
         * rm = 111 with frm = 101..111: illegal instruction, tval = bits */
        TEST_ILLEGAL(304, 0xc2055753, .word 0xc2055753)   /* fcvt.w.d a4, fa0, rm=5 */
        TEST_ILLEGAL(305, 0x401566d3, .word 0x401566d3)   /* fcvt.s.d fa3, fa0, rm=6 */
        li a1, 5
        fsrm a1
        TEST_ILLEGAL(306, 0xc2057753, .word 0xc2057753)   /* fcvt.w.d a4, fa0 (dyn), frm=5 */
        li a1, 7
        fsrm a1
        TEST_ILLEGAL(307, 0xd225f6d3, .word 0xd225f6d3)   /* fcvt.d.l fa3, a1 (dyn), frm=7 */
        fsrm x0
        TEST_CASE(308, a4, 0, csrr a4, fcsr)
        TEST_END
