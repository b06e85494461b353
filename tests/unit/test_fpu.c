/* Unit tests for cpu/riscv/fpu.c.
 *
 * 1. Hand-picked vectors (bit patterns + expected fflags) for every op and
 *    corner case: signed zeros, subnormals, overflow per rounding mode,
 *    ties in every mode, tininess after rounding, NaN rules, fma
 *    cancellation, every saturation case of every conversion.
 * 2. A randomized cross-check against the host FPU (x86-64 SSE/FMA via
 *    <fenv.h>) for RNE/RTZ/RDN/RUP, results and all five flags, operands
 *    biased to special exponents/significands.  Host NaN results are
 *    normalised to the canonical NaN.  Known, documented differences
 *    between x86 and RISC-V that the checker adjusts for:
 *      - fma(0, inf, qNaN): RISC-V raises NV, x86 does not;
 *      - float->int: x86 returns "integer indefinite" on overflow, so the
 *        reference is rint() in the current mode plus RISC-V saturation.
 *    UF needed no exception: x86 SSE detects tininess after rounding, as
 *    RISC-V does, and results/flags match bit for bit.
 * 3. RMM (no host equivalent): a tie oracle.  The operation is done in a
 *    wider host format (double for binary32, x87 long double for binary64);
 *    if that is inexact the exact result has too many bits to be a tie, so
 *    RMM must equal the host's RNE result and flags; otherwise the exact
 *    value is known and the tie is detected exactly.
 * Operand/result values go through volatile variables so that nothing is
 * constant-folded or moved across fesetround()/fetestexcept(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpu/riscv/fpu.h"

#define NX FFLAG_NX
#define UF FFLAG_UF
#define OF FFLAG_OF
#define DZ FFLAG_DZ
#define NV FFLAG_NV

static const char *const rmname[] = { "RNE", "RTZ", "RDN", "RUP", "RMM" };

static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static double u2d(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static uint64_t d2u(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

static int fails;

static void check64(const char *what, int line, uint64_t got, uint32_t gotfl,
                    uint64_t exp, uint32_t expfl)
{
    if (got != exp || gotfl != expfl) {
        print_error("line %d: %s: got %#llx flags %#x, expected %#llx flags %#x\n", line, what,
                    (unsigned long long)got, gotfl, (unsigned long long)exp, expfl);
        fails++;
    }
}

/* Evaluate `call` with a fresh flags word named `fl` and compare. */
#define CHK(call, exp, expfl) do { \
        uint32_t fl = 0; \
        uint64_t r_ = (uint64_t)(call); \
        check64(#call, __LINE__, r_, fl, (uint64_t)(exp), (expfl)); \
    } while (0)

#define DONE() do { int f_ = fails; fails = 0; assert_int_equal(f_, 0); } while (0)

/* binary32 constants */
#define S_ONE    0x3f800000u
#define S_MONE   0xbf800000u
#define S_TWO    0x40000000u
#define S_THREE  0x40400000u
#define S_HALF   0x3f000000u
#define S_MAX    0x7f7fffffu
#define S_MINN   0x00800000u
#define S_MINS   0x00000001u
#define S_MAXS   0x007fffffu
#define S_INF    0x7f800000u
#define S_NINF   0xff800000u
#define S_QNAN   0x7fc00000u
#define S_SNAN   0x7f800001u
#define S_PZ     0x00000000u
#define S_NZ     0x80000000u
#define S_CN     F32_CANON_NAN
/* binary64 constants */
#define D_ONE    0x3ff0000000000000ull
#define D_MONE   0xbff0000000000000ull
#define D_TWO    0x4000000000000000ull
#define D_MAX    0x7fefffffffffffffull
#define D_MINN   0x0010000000000000ull
#define D_MINS   0x0000000000000001ull
#define D_INF    0x7ff0000000000000ull
#define D_NINF   0xfff0000000000000ull
#define D_QNAN   0x7ff8000000000000ull
#define D_SNAN   0x7ff0000000000001ull
#define D_PZ     0ull
#define D_NZ     0x8000000000000000ull
#define D_CN     F64_CANON_NAN

/* ---------------------------------------------------------------- add/sub */

static void test_add_sub_basic(void **state)
{
    (void)state;
    CHK(f32_add(S_ONE, S_ONE, FRM_RNE, &fl), S_TWO, 0);
    CHK(f32_add(S_ONE, S_TWO, FRM_RNE, &fl), S_THREE, 0);
    CHK(f32_sub(S_ONE, S_TWO, FRM_RNE, &fl), S_MONE, 0);
    CHK(f64_add(D_ONE, D_ONE, FRM_RNE, &fl), D_TWO, 0);
    CHK(f64_sub(D_ONE, D_TWO, FRM_RTZ, &fl), D_MONE, 0);
    /* 0.1 + 0.2 (double) = 0.30000000000000004 */
    CHK(f64_add(d2u(0.1), d2u(0.2), FRM_RNE, &fl), 0x3fd3333333333334ull, NX);
    CHK(f64_add(d2u(0.1), d2u(0.2), FRM_RTZ, &fl), 0x3fd3333333333333ull, NX);
    /* inf - inf, NaNs */
    CHK(f32_add(S_INF, S_NINF, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_sub(S_INF, S_INF, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_add(S_INF, S_INF, FRM_RNE, &fl), S_INF, 0);
    CHK(f32_add(S_INF, S_MAX, FRM_RNE, &fl), S_INF, 0);
    CHK(f32_sub(S_ONE, S_INF, FRM_RNE, &fl), S_NINF, 0);
    CHK(f32_add(S_QNAN, S_ONE, FRM_RNE, &fl), S_CN, 0);
    CHK(f32_add(0x7fc12345u, S_ONE, FRM_RNE, &fl), S_CN, 0);   /* no payload */
    CHK(f32_add(0xffc00000u, S_ONE, FRM_RNE, &fl), S_CN, 0);
    CHK(f32_add(S_ONE, S_SNAN, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_add(S_QNAN, S_SNAN, FRM_RNE, &fl), S_CN, NV);
    CHK(f64_add(D_INF, D_NINF, FRM_RNE, &fl), D_CN, NV);
    CHK(f64_add(D_SNAN, D_ONE, FRM_RNE, &fl), D_CN, NV);
    CHK(f64_add(0x7ff8000000000123ull, D_ONE, FRM_RNE, &fl), D_CN, 0);
    DONE();
}

static void test_add_signed_zero(void **state)
{
    (void)state;
    for (int rm = 0; rm <= 4; rm++) {
        uint32_t z = rm == FRM_RDN ? S_NZ : S_PZ;
        uint64_t zd = rm == FRM_RDN ? D_NZ : D_PZ;
        CHK(f32_add(S_ONE, S_MONE, rm, &fl), z, 0);        /* x + -x */
        CHK(f32_sub(S_ONE, S_ONE, rm, &fl), z, 0);
        CHK(f32_sub(S_MAXS, S_MAXS, rm, &fl), z, 0);
        CHK(f32_add(S_PZ, S_NZ, rm, &fl), z, 0);
        CHK(f32_add(S_NZ, S_PZ, rm, &fl), z, 0);
        CHK(f32_sub(S_PZ, S_PZ, rm, &fl), z, 0);
        CHK(f32_add(S_PZ, S_PZ, rm, &fl), S_PZ, 0);
        CHK(f32_add(S_NZ, S_NZ, rm, &fl), S_NZ, 0);
        CHK(f32_sub(S_NZ, S_PZ, rm, &fl), S_NZ, 0);
        CHK(f32_add(S_NZ, S_ONE, rm, &fl), S_ONE, 0);
        CHK(f32_sub(S_PZ, S_ONE, rm, &fl), S_MONE, 0);
        CHK(f32_sub(S_MINS, S_PZ, rm, &fl), S_MINS, 0);
        CHK(f64_add(D_ONE, D_MONE, rm, &fl), zd, 0);
        CHK(f64_add(D_PZ, D_NZ, rm, &fl), zd, 0);
        CHK(f64_add(D_NZ, D_NZ, rm, &fl), D_NZ, 0);
        CHK(f64_sub(D_NZ, D_PZ, rm, &fl), D_NZ, 0);
    }
    DONE();
}

static void test_add_ties(void **state)
{
    (void)state;
    const uint32_t h = 0x33800000u;              /* 2^-24: half an ulp of 1 */
    /* 1 + 2^-24: tie between 1 (even) and 1+ulp */
    CHK(f32_add(S_ONE, h, FRM_RNE, &fl), S_ONE, NX);
    CHK(f32_add(S_ONE, h, FRM_RMM, &fl), 0x3f800001u, NX);
    CHK(f32_add(S_ONE, h, FRM_RTZ, &fl), S_ONE, NX);
    CHK(f32_add(S_ONE, h, FRM_RDN, &fl), S_ONE, NX);
    CHK(f32_add(S_ONE, h, FRM_RUP, &fl), 0x3f800001u, NX);
    /* (1+ulp) + 2^-24: tie between odd and even: RNE and RMM agree */
    CHK(f32_add(0x3f800001u, h, FRM_RNE, &fl), 0x3f800002u, NX);
    CHK(f32_add(0x3f800001u, h, FRM_RMM, &fl), 0x3f800002u, NX);
    CHK(f32_add(0x3f800001u, h, FRM_RTZ, &fl), 0x3f800001u, NX);
    /* negative tie */
    CHK(f32_sub(S_MONE, h, FRM_RNE, &fl), S_MONE, NX);
    CHK(f32_sub(S_MONE, h, FRM_RMM, &fl), 0xbf800001u, NX);
    CHK(f32_sub(S_MONE, h, FRM_RDN, &fl), 0xbf800001u, NX);
    CHK(f32_sub(S_MONE, h, FRM_RUP, &fl), S_MONE, NX);
    CHK(f32_sub(S_MONE, h, FRM_RTZ, &fl), S_MONE, NX);
    /* just above / below a tie */
    CHK(f32_add(S_ONE, 0x33800001u, FRM_RNE, &fl), 0x3f800001u, NX);
    CHK(f32_add(S_ONE, 0x337fffffu, FRM_RMM, &fl), S_ONE, NX);
    /* subtraction borrowing across the binade: 1 - 2^-25 rounds back to 1 */
    CHK(f32_sub(S_ONE, 0x33000000u, FRM_RNE, &fl), S_ONE, NX);
    CHK(f32_sub(S_ONE, 0x33000000u, FRM_RTZ, &fl), 0x3f7fffffu, NX);
    CHK(f32_sub(S_ONE, 0x33800000u, FRM_RNE, &fl), 0x3f7fffffu, 0);  /* exact */
    /* binary64 */
    const uint64_t hd = 0x3ca0000000000000ull;   /* 2^-53 */
    CHK(f64_add(D_ONE, hd, FRM_RNE, &fl), D_ONE, NX);
    CHK(f64_add(D_ONE, hd, FRM_RMM, &fl), D_ONE + 1, NX);
    CHK(f64_add(D_ONE, hd, FRM_RUP, &fl), D_ONE + 1, NX);
    CHK(f64_add(D_ONE, hd, FRM_RDN, &fl), D_ONE, NX);
    CHK(f64_add(D_ONE + 1, hd, FRM_RNE, &fl), D_ONE + 2, NX);
    CHK(f64_sub(D_MONE, hd, FRM_RMM, &fl), D_MONE + 1, NX);
    CHK(f64_sub(D_MONE, hd, FRM_RTZ, &fl), D_MONE, NX);
    /* tiny addend: only the sticky bit survives */
    CHK(f64_add(D_ONE, D_MINS, FRM_RUP, &fl), D_ONE + 1, NX);
    CHK(f64_add(D_ONE, D_MINS, FRM_RNE, &fl), D_ONE, NX);
    CHK(f64_sub(D_ONE, D_MINS, FRM_RDN, &fl), 0x3fefffffffffffffull, NX);
    CHK(f64_sub(D_ONE, D_MINS, FRM_RMM, &fl), D_ONE, NX);
    DONE();
}

static void test_overflow(void **state)
{
    (void)state;
    /* max + max */
    CHK(f32_add(S_MAX, S_MAX, FRM_RNE, &fl), S_INF, OF | NX);
    CHK(f32_add(S_MAX, S_MAX, FRM_RMM, &fl), S_INF, OF | NX);
    CHK(f32_add(S_MAX, S_MAX, FRM_RTZ, &fl), S_MAX, OF | NX);
    CHK(f32_add(S_MAX, S_MAX, FRM_RDN, &fl), S_MAX, OF | NX);
    CHK(f32_add(S_MAX, S_MAX, FRM_RUP, &fl), S_INF, OF | NX);
    CHK(f32_add(S_MAX | S_NZ, S_MAX | S_NZ, FRM_RDN, &fl), S_NINF, OF | NX);
    CHK(f32_add(S_MAX | S_NZ, S_MAX | S_NZ, FRM_RUP, &fl), S_MAX | S_NZ, OF | NX);
    CHK(f32_add(S_MAX | S_NZ, S_MAX | S_NZ, FRM_RTZ, &fl), S_MAX | S_NZ, OF | NX);
    CHK(f32_add(S_MAX | S_NZ, S_MAX | S_NZ, FRM_RMM, &fl), S_NINF, OF | NX);
    /* max + half ulp (2^103): tie between max (odd) and 2^128 */
    CHK(f32_add(S_MAX, 0x73000000u, FRM_RNE, &fl), S_INF, OF | NX);
    CHK(f32_add(S_MAX, 0x73000000u, FRM_RMM, &fl), S_INF, OF | NX);
    CHK(f32_add(S_MAX, 0x73000000u, FRM_RTZ, &fl), S_MAX, NX);   /* no OF */
    CHK(f32_add(S_MAX, 0x73000000u, FRM_RDN, &fl), S_MAX, NX);
    CHK(f32_add(S_MAX, 0x72800000u, FRM_RNE, &fl), S_MAX, NX);   /* quarter ulp */
    CHK(f32_add(S_MAX, 0x72800000u, FRM_RUP, &fl), S_INF, OF | NX);
    CHK(f32_mul(S_MAX, S_TWO, FRM_RNE, &fl), S_INF, OF | NX);
    CHK(f32_mul(S_MAX, S_TWO, FRM_RTZ, &fl), S_MAX, OF | NX);
    CHK(f64_mul(D_MAX, D_MAX, FRM_RNE, &fl), D_INF, OF | NX);
    CHK(f64_mul(D_MAX, D_MAX | D_NZ, FRM_RUP, &fl), D_MAX | D_NZ, OF | NX);
    CHK(f64_mul(D_MAX, D_MAX | D_NZ, FRM_RDN, &fl), D_NINF, OF | NX);
    CHK(f64_mul(D_MAX, D_MAX, FRM_RTZ, &fl), D_MAX, OF | NX);
    CHK(f64_div(D_MAX, 0x3fe0000000000000ull, FRM_RMM, &fl), D_INF, OF | NX);
    DONE();
}

static void test_subnormals(void **state)
{
    (void)state;
    /* exact subnormal results raise nothing */
    CHK(f32_mul(S_MINN, S_HALF, FRM_RNE, &fl), 0x00400000u, 0);
    CHK(f32_sub(S_MINN, S_MINS, FRM_RNE, &fl), S_MAXS, 0);
    CHK(f32_add(S_MAXS, S_MINS, FRM_RNE, &fl), S_MINN, 0);
    CHK(f32_add(S_MINS, S_MINS, FRM_RNE, &fl), 0x00000002u, 0);
    CHK(f32_mul(S_MAXS, S_TWO, FRM_RNE, &fl), 0x00fffffeu, 0);
    CHK(f32_div(S_MINS, S_TWO | 0, FRM_RNE, &fl), S_PZ, UF | NX);
    /* min subnormal / 2: tie between 0 and min subnormal */
    CHK(f32_mul(S_MINS, S_HALF, FRM_RNE, &fl), S_PZ, UF | NX);
    CHK(f32_mul(S_MINS, S_HALF, FRM_RMM, &fl), S_MINS, UF | NX);
    CHK(f32_mul(S_MINS, S_HALF, FRM_RUP, &fl), S_MINS, UF | NX);
    CHK(f32_mul(S_MINS, S_HALF, FRM_RDN, &fl), S_PZ, UF | NX);
    CHK(f32_mul(S_MINS, S_HALF | S_NZ, FRM_RDN, &fl), S_MINS | S_NZ, UF | NX);
    CHK(f32_mul(S_MINS, S_HALF | S_NZ, FRM_RTZ, &fl), S_NZ, UF | NX);
    /* 3 * min/2 = 1.5 min: tie between 1 and 2 */
    CHK(f32_mul(0x3fc00000u, S_MINS, FRM_RNE, &fl), 0x00000002u, UF | NX);
    CHK(f32_mul(0x3fc00000u, S_MINS, FRM_RTZ, &fl), 0x00000001u, UF | NX);
    CHK(f32_mul(0x3fc00000u, S_MINS, FRM_RMM, &fl), 0x00000002u, UF | NX);
    /* far below: only sticky */
    CHK(f32_mul(S_MINS, S_MINS, FRM_RNE, &fl), S_PZ, UF | NX);
    CHK(f32_mul(S_MINS, S_MINS, FRM_RUP, &fl), S_MINS, UF | NX);
    CHK(f32_mul(S_MINS | S_NZ, S_MINS, FRM_RDN, &fl), S_MINS | S_NZ, UF | NX);
    CHK(f64_mul(D_MINS, D_MINS, FRM_RMM, &fl), D_PZ, UF | NX);
    CHK(f64_mul(D_MINS, D_MINS, FRM_RUP, &fl), D_MINS, UF | NX);
    /* tininess AFTER rounding: (1-2^-24) * 2^-126 is tiny (exact at 24
     * bits), rounds to min normal in RNE: UF raised */
    CHK(f32_mul(0x3f7fffffu, S_MINN, FRM_RNE, &fl), S_MINN, UF | NX);
    CHK(f32_mul(0x3f7fffffu, S_MINN, FRM_RTZ, &fl), S_MAXS, UF | NX);
    /* 2^-126 * (1 - 2^-25): rounds to 2^-126 even with unbounded exponent,
     * so not tiny after rounding: no UF in RNE/RMM/RUP */
    CHK(f64_to_f32(0x380ffffff0000000ull, FRM_RNE, &fl), S_MINN, NX);
    CHK(f64_to_f32(0x380ffffff0000000ull, FRM_RMM, &fl), S_MINN, NX);
    CHK(f64_to_f32(0x380ffffff0000000ull, FRM_RUP, &fl), S_MINN, NX);
    CHK(f64_to_f32(0x380ffffff0000000ull, FRM_RTZ, &fl), S_MAXS, UF | NX);
    CHK(f64_to_f32(0x380ffffff0000000ull, FRM_RDN, &fl), S_MAXS, UF | NX);
    /* same for binary64 via fma: (1-2^-53)*2^-1022 + tiny */
    CHK(f64_mul(0x3fefffffffffffffull, D_MINN, FRM_RNE, &fl), D_MINN, UF | NX);
    CHK(f64_mul(0x3fefffffffffffffull, D_MINN, FRM_RDN, &fl), D_MINN - 1, UF | NX);
    CHK(f64_fma(0x3fefffffffffffffull, D_MINN, 0x0000000000000000ull, 0, 0, FRM_RUP, &fl),
        D_MINN, UF | NX);
    /* subnormal operands in */
    CHK(f32_mul(S_MAXS, 0x4b000000u, FRM_RNE, &fl), 0x0bfffffeu, 0); /* * 2^23 */
    CHK(f32_mul(S_MAXS, 0x7f000000u, FRM_RNE, &fl), 0x3ffffffeu, 0); /* * 2^127 */
    CHK(f64_div(D_MINS, D_MINS, FRM_RNE, &fl), D_ONE, 0);
    CHK(f64_mul(D_MINS, 0x4330000000000000ull, FRM_RNE, &fl), D_MINN, 0);   /* * 2^52 */
    CHK(f64_mul(D_MINS, 0x7fe0000000000000ull, FRM_RNE, &fl), 0x3cc0000000000000ull, 0);
    DONE();
}

/* ----------------------------------------------------------- mul/div/sqrt */

static void test_mul_div(void **state)
{
    (void)state;
    CHK(f32_mul(S_TWO, S_THREE, FRM_RNE, &fl), 0x40c00000u, 0);
    CHK(f32_mul(S_MONE, S_PZ, FRM_RNE, &fl), S_NZ, 0);
    CHK(f32_mul(S_NZ, S_NZ, FRM_RDN, &fl), S_PZ, 0);
    CHK(f32_mul(S_PZ, S_INF, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_mul(S_NINF, S_NZ, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_mul(S_NINF, S_MONE, FRM_RNE, &fl), S_INF, 0);
    CHK(f32_mul(S_SNAN, S_PZ, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_mul(S_QNAN, S_INF, FRM_RNE, &fl), S_CN, 0);
    CHK(f64_mul(D_INF, D_PZ, FRM_RNE, &fl), D_CN, NV);
    /* (1+2^-23)^2 = 1 + 2^-22 + 2^-46 */
    CHK(f32_mul(0x3f800001u, 0x3f800001u, FRM_RNE, &fl), 0x3f800002u, NX);
    CHK(f32_mul(0x3f800001u, 0x3f800001u, FRM_RUP, &fl), 0x3f800003u, NX);
    CHK(f32_mul(0x3f800001u, 0xbf800001u, FRM_RDN, &fl), 0xbf800003u, NX);
    CHK(f32_mul(0x3f800001u, 0xbf800001u, FRM_RUP, &fl), 0xbf800002u, NX);

    CHK(f32_div(S_ONE, S_THREE, FRM_RNE, &fl), 0x3eaaaaabu, NX);
    CHK(f32_div(S_ONE, S_THREE, FRM_RTZ, &fl), 0x3eaaaaaau, NX);
    CHK(f32_div(S_ONE, S_THREE, FRM_RDN, &fl), 0x3eaaaaaau, NX);
    CHK(f32_div(S_ONE, S_THREE, FRM_RUP, &fl), 0x3eaaaaabu, NX);
    CHK(f32_div(S_ONE, S_THREE, FRM_RMM, &fl), 0x3eaaaaabu, NX);
    CHK(f32_div(S_MONE, S_THREE, FRM_RDN, &fl), 0xbeaaaaabu, NX);
    CHK(f32_div(S_THREE, S_TWO, FRM_RNE, &fl), 0x3fc00000u, 0);
    CHK(f64_div(D_ONE, 0x4008000000000000ull, FRM_RNE, &fl), 0x3fd5555555555555ull, NX);
    CHK(f64_div(D_ONE, 0x4008000000000000ull, FRM_RUP, &fl), 0x3fd5555555555556ull, NX);
    /* divide by zero, 0/0, inf/inf */
    CHK(f32_div(S_ONE, S_PZ, FRM_RNE, &fl), S_INF, DZ);
    CHK(f32_div(S_ONE, S_NZ, FRM_RNE, &fl), S_NINF, DZ);
    CHK(f32_div(S_MONE, S_NZ, FRM_RTZ, &fl), S_INF, DZ);
    CHK(f32_div(S_PZ, S_PZ, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_div(S_INF, S_NINF, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_div(S_INF, S_PZ, FRM_RNE, &fl), S_INF, 0);      /* no DZ */
    CHK(f32_div(S_PZ, S_INF, FRM_RNE, &fl), S_PZ, 0);
    CHK(f32_div(S_NZ, S_ONE, FRM_RNE, &fl), S_NZ, 0);
    CHK(f32_div(S_ONE, S_NINF, FRM_RNE, &fl), S_NZ, 0);
    CHK(f32_div(S_QNAN, S_PZ, FRM_RNE, &fl), S_CN, 0);
    CHK(f32_div(S_SNAN, S_PZ, FRM_RNE, &fl), S_CN, NV);
    CHK(f64_div(D_ONE, D_PZ, FRM_RNE, &fl), D_INF, DZ);
    CHK(f64_div(D_PZ, D_NZ, FRM_RNE, &fl), D_CN, NV);
    CHK(f64_div(D_INF, D_INF, FRM_RNE, &fl), D_CN, NV);
    /* subnormal quotient */
    CHK(f32_div(S_MINN, 0x4b000000u, FRM_RNE, &fl), S_MINS, 0);   /* / 2^23 */
    CHK(f32_div(S_MINN, 0x4b800000u, FRM_RNE, &fl), S_PZ, UF | NX);  /* tie */
    CHK(f32_div(S_MINN, 0x4b800000u, FRM_RMM, &fl), S_MINS, UF | NX);
    DONE();
}

static void test_sqrt(void **state)
{
    (void)state;
    CHK(f32_sqrt(0x40800000u, FRM_RNE, &fl), S_TWO, 0);
    CHK(f32_sqrt(S_TWO, FRM_RNE, &fl), 0x3fb504f3u, NX);
    CHK(f32_sqrt(S_TWO, FRM_RTZ, &fl), 0x3fb504f3u, NX);
    CHK(f32_sqrt(S_TWO, FRM_RDN, &fl), 0x3fb504f3u, NX);
    CHK(f32_sqrt(S_TWO, FRM_RUP, &fl), 0x3fb504f4u, NX);
    CHK(f32_sqrt(S_TWO, FRM_RMM, &fl), 0x3fb504f3u, NX);
    CHK(f64_sqrt(D_TWO, FRM_RNE, &fl), 0x3ff6a09e667f3bcdull, NX);
    CHK(f64_sqrt(D_TWO, FRM_RTZ, &fl), 0x3ff6a09e667f3bccull, NX);
    CHK(f64_sqrt(D_TWO, FRM_RUP, &fl), 0x3ff6a09e667f3bcdull, NX);
    CHK(f64_sqrt(0x4022000000000000ull, FRM_RNE, &fl), 0x4008000000000000ull, 0); /* 9 */
    for (int rm = 0; rm <= 4; rm++) {
        CHK(f32_sqrt(S_NZ, rm, &fl), S_NZ, 0);
        CHK(f32_sqrt(S_PZ, rm, &fl), S_PZ, 0);
        CHK(f64_sqrt(D_NZ, rm, &fl), D_NZ, 0);
    }
    CHK(f32_sqrt(S_MONE, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_sqrt(S_MINS | S_NZ, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_sqrt(S_NINF, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_sqrt(S_INF, FRM_RNE, &fl), S_INF, 0);
    CHK(f32_sqrt(S_QNAN, FRM_RNE, &fl), S_CN, 0);
    CHK(f32_sqrt(0xffc00000u, FRM_RNE, &fl), S_CN, 0);
    CHK(f32_sqrt(S_SNAN, FRM_RNE, &fl), S_CN, NV);
    CHK(f64_sqrt(D_MONE, FRM_RNE, &fl), D_CN, NV);
    CHK(f64_sqrt(D_SNAN, FRM_RNE, &fl), D_CN, NV);
    /* subnormal inputs */
    CHK(f32_sqrt(0x00000002u, FRM_RNE, &fl), 0x1a800000u, 0);    /* sqrt(2^-148) = 2^-74 */
    CHK(f32_sqrt(S_MINS, FRM_RNE, &fl), 0x1a3504f3u, NX);        /* 2^-74.5 */
    CHK(f64_sqrt(D_MINS, FRM_RNE, &fl), 0x1e60000000000000ull, 0); /* 2^-537 */
    CHK(f64_sqrt(D_MAX, FRM_RNE, &fl), 0x5fefffffffffffffull, NX);
    CHK(f64_sqrt(D_MAX, FRM_RUP, &fl), 0x5ff0000000000000ull, NX);
    CHK(f32_sqrt(S_MAX, FRM_RNE, &fl), 0x5f7fffffu, NX);
    DONE();
}

/* -------------------------------------------------------------------- fma */

static void test_fma(void **state)
{
    (void)state;
    /* the four sign variants: a=2, b=3, c=1 */
    CHK(f32_fma(S_TWO, S_THREE, S_ONE, 0, 0, FRM_RNE, &fl), 0x40e00000u, 0);  /*  7 */
    CHK(f32_fma(S_TWO, S_THREE, S_ONE, 0, 1, FRM_RNE, &fl), 0x40a00000u, 0);  /*  5 */
    CHK(f32_fma(S_TWO, S_THREE, S_ONE, 1, 0, FRM_RNE, &fl), 0xc0a00000u, 0);  /* -5 */
    CHK(f32_fma(S_TWO, S_THREE, S_ONE, 1, 1, FRM_RNE, &fl), 0xc0e00000u, 0);  /* -7 */
    CHK(f64_fma(D_TWO, D_TWO, D_ONE, 1, 1, FRM_RNE, &fl), 0xc014000000000000ull, 0);
    /* exact rounding error of a product: fma(a, a, -(a*a)) */
    CHK(f32_fma(0x3f800001u, 0x3f800001u, 0x3f800002u, 0, 1, FRM_RNE, &fl), 0x28800000u, 0);
    CHK(f64_fma(D_ONE + 1, D_ONE + 1, D_ONE + 2, 0, 1, FRM_RNE, &fl), 0x3970000000000000ull, 0);
    /* single rounding: mul-then-add would give 1 + 2^-22 */
    CHK(f32_fma(0x3f800001u, 0x3f800001u, 0x28800000u, 0, 0, FRM_RNE, &fl), 0x3f800002u, NX);
    CHK(f32_fma(0x3f800001u, 0x3f800001u, 0x33800000u, 0, 0, FRM_RNE, &fl), 0x3f800003u, NX);
    /* tiny product, large c: sticky only */
    CHK(f32_fma(0x0d800000u, 0x0d800000u, S_ONE, 0, 0, FRM_RNE, &fl), S_ONE, NX);
    CHK(f32_fma(0x0d800000u, 0x0d800000u, S_ONE, 0, 0, FRM_RUP, &fl), 0x3f800001u, NX);
    CHK(f32_fma(0x0d800000u, 0x0d800000u, S_ONE, 1, 0, FRM_RDN, &fl), 0x3f7fffffu, NX);
    CHK(f32_fma(0x0d800000u, 0x0d800000u, S_ONE, 1, 0, FRM_RTZ, &fl), 0x3f7fffffu, NX);
    CHK(f32_fma(0x0d800000u, 0x0d800000u, S_ONE, 1, 0, FRM_RMM, &fl), S_ONE, NX);
    /* exact zero results and their signs */
    for (int rm = 0; rm <= 4; rm++) {
        uint32_t z = rm == FRM_RDN ? S_NZ : S_PZ;
        uint64_t zd = rm == FRM_RDN ? D_NZ : D_PZ;
        CHK(f32_fma(S_ONE, S_ONE, S_MONE, 0, 0, rm, &fl), z, 0);
        CHK(f32_fma(S_ONE, S_ONE, S_ONE, 0, 1, rm, &fl), z, 0);
        CHK(f32_fma(S_ONE, S_ONE, S_ONE, 1, 0, rm, &fl), z, 0);
        CHK(f32_fma(S_PZ, S_ONE, S_NZ, 0, 0, rm, &fl), z, 0);     /* +0 + -0 */
        CHK(f32_fma(S_MONE, S_PZ, S_NZ, 0, 0, rm, &fl), S_NZ, 0); /* -0 + -0 */
        CHK(f32_fma(S_PZ, S_PZ, S_PZ, 0, 0, rm, &fl), S_PZ, 0);
        CHK(f32_fma(S_PZ, S_PZ, S_PZ, 1, 1, rm, &fl), S_NZ, 0);   /* -(0) - 0 */
        CHK(f32_fma(S_PZ, S_PZ, S_PZ, 1, 0, rm, &fl), z, 0);
        CHK(f32_fma(S_PZ, S_ONE, S_ONE, 0, 1, rm, &fl), S_MONE, 0);
        CHK(f32_fma(S_MINS, S_MINS, S_PZ, 0, 0, rm, &fl),
            rm == FRM_RUP ? S_MINS : S_PZ, UF | NX);
        CHK(f64_fma(D_ONE, D_ONE, D_MONE, 0, 0, rm, &fl), zd, 0);
        CHK(f64_fma(D_PZ, D_MONE, D_PZ, 0, 0, rm, &fl), zd, 0);
        CHK(f64_fma(D_NZ, D_ONE, D_NZ, 0, 0, rm, &fl), D_NZ, 0);
    }
    /* invalid cases */
    CHK(f32_fma(S_PZ, S_INF, S_ONE, 0, 0, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_fma(S_INF, S_NZ, S_ONE, 0, 0, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_fma(S_PZ, S_INF, S_QNAN, 0, 0, FRM_RNE, &fl), S_CN, NV);  /* RISC-V */
    CHK(f64_fma(D_INF, D_PZ, D_QNAN, 0, 0, FRM_RNE, &fl), D_CN, NV);
    CHK(f32_fma(S_INF, S_ONE, S_NINF, 0, 0, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_fma(S_INF, S_ONE, S_INF, 0, 1, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_fma(S_INF, S_ONE, S_INF, 1, 1, FRM_RNE, &fl), S_NINF, 0);
    CHK(f32_fma(S_INF, S_ONE, S_INF, 0, 0, FRM_RNE, &fl), S_INF, 0);
    CHK(f32_fma(S_ONE, S_ONE, S_NINF, 0, 0, FRM_RNE, &fl), S_NINF, 0);
    CHK(f32_fma(S_MAX, S_MAX, S_NINF, 0, 0, FRM_RNE, &fl), S_NINF, 0);
    CHK(f32_fma(S_QNAN, S_ONE, S_ONE, 0, 0, FRM_RNE, &fl), S_CN, 0);
    CHK(f32_fma(S_ONE, S_ONE, S_QNAN, 0, 0, FRM_RNE, &fl), S_CN, 0);
    CHK(f32_fma(S_ONE, S_ONE, S_SNAN, 0, 0, FRM_RNE, &fl), S_CN, NV);
    CHK(f32_fma(S_SNAN, S_PZ, S_QNAN, 0, 0, FRM_RNE, &fl), S_CN, NV);
    CHK(f64_fma(D_ONE, D_SNAN, D_ONE, 0, 0, FRM_RNE, &fl), D_CN, NV);
    /* overflow, and large cancellation */
    CHK(f32_fma(S_MAX, S_TWO, S_MAX, 0, 1, FRM_RNE, &fl), S_MAX, 0);
    CHK(f32_fma(S_MAX, S_MAX, S_ONE, 0, 0, FRM_RTZ, &fl), S_MAX, OF | NX);
    CHK(f64_fma(D_MAX, D_TWO, D_MAX, 0, 1, FRM_RNE, &fl), D_MAX, 0);
    DONE();
}

/* ------------------------------------------------------ min/max/cmp/class */

static void test_minmax(void **state)
{
    (void)state;
    CHK(f32_min(S_NZ, S_PZ, &fl), S_NZ, 0);
    CHK(f32_min(S_PZ, S_NZ, &fl), S_NZ, 0);
    CHK(f32_max(S_NZ, S_PZ, &fl), S_PZ, 0);
    CHK(f32_max(S_PZ, S_NZ, &fl), S_PZ, 0);
    CHK(f32_min(S_ONE, S_TWO, &fl), S_ONE, 0);
    CHK(f32_max(S_ONE, S_TWO, &fl), S_TWO, 0);
    CHK(f32_min(S_MONE, 0xc0000000u, &fl), 0xc0000000u, 0);
    CHK(f32_max(S_MONE, 0xc0000000u, &fl), S_MONE, 0);
    CHK(f32_min(S_NINF, S_MAX, &fl), S_NINF, 0);
    CHK(f32_max(S_INF, S_MAX, &fl), S_INF, 0);
    CHK(f32_min(S_QNAN, S_ONE, &fl), S_ONE, 0);
    CHK(f32_max(S_ONE, 0xffc00001u, &fl), S_ONE, 0);
    CHK(f32_min(S_SNAN, S_ONE, &fl), S_ONE, NV);
    CHK(f32_max(S_ONE, S_SNAN, &fl), S_ONE, NV);
    CHK(f32_min(S_QNAN, S_QNAN, &fl), S_CN, 0);
    CHK(f32_min(0x7fc00001u, 0xffc00002u, &fl), S_CN, 0);
    CHK(f32_max(S_SNAN, S_QNAN, &fl), S_CN, NV);
    CHK(f64_min(D_NZ, D_PZ, &fl), D_NZ, 0);
    CHK(f64_max(D_NZ, D_PZ, &fl), D_PZ, 0);
    CHK(f64_max(D_QNAN, D_MONE, &fl), D_MONE, 0);
    CHK(f64_min(D_SNAN, D_MONE, &fl), D_MONE, NV);
    CHK(f64_max(D_QNAN | 5, D_QNAN | 7, &fl), D_CN, 0);
    CHK(f64_min(D_MINS, D_MINS | D_NZ, &fl), D_MINS | D_NZ, 0);
    DONE();
}

static void test_compare(void **state)
{
    (void)state;
    CHK(f32_eq(S_ONE, S_ONE, &fl), 1, 0);
    CHK(f32_eq(S_PZ, S_NZ, &fl), 1, 0);
    CHK(f32_lt(S_NZ, S_PZ, &fl), 0, 0);
    CHK(f32_le(S_NZ, S_PZ, &fl), 1, 0);
    CHK(f32_le(S_PZ, S_NZ, &fl), 1, 0);
    CHK(f32_lt(S_MONE, S_NZ, &fl), 1, 0);
    CHK(f32_lt(S_ONE, S_ONE, &fl), 0, 0);
    CHK(f32_le(S_ONE, S_ONE, &fl), 1, 0);
    CHK(f32_lt(S_TWO, S_ONE, &fl), 0, 0);
    CHK(f32_lt(0xc0000000u, S_MONE, &fl), 1, 0);
    CHK(f32_le(S_MONE, 0xc0000000u, &fl), 0, 0);
    CHK(f32_lt(S_NINF, S_INF, &fl), 1, 0);
    CHK(f32_eq(S_INF, S_INF, &fl), 1, 0);
    CHK(f32_eq(S_QNAN, S_QNAN, &fl), 0, 0);
    CHK(f32_eq(S_QNAN, S_ONE, &fl), 0, 0);
    CHK(f32_eq(S_ONE, S_SNAN, &fl), 0, NV);
    CHK(f32_lt(S_QNAN, S_ONE, &fl), 0, NV);
    CHK(f32_le(S_ONE, S_QNAN, &fl), 0, NV);
    CHK(f32_lt(S_SNAN, S_ONE, &fl), 0, NV);
    CHK(f64_eq(D_PZ, D_NZ, &fl), 1, 0);
    CHK(f64_lt(D_MINS | D_NZ, D_MINS, &fl), 1, 0);
    CHK(f64_le(D_QNAN, D_QNAN, &fl), 0, NV);
    CHK(f64_eq(D_QNAN, D_ONE, &fl), 0, 0);
    CHK(f64_eq(D_SNAN, D_SNAN, &fl), 0, NV);
    CHK(f64_lt(D_ONE, D_ONE + 1, &fl), 1, 0);
    DONE();
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(f32_classify(S_NINF), 1 << 0);
    assert_int_equal(f32_classify(S_MONE), 1 << 1);
    assert_int_equal(f32_classify(S_MAXS | S_NZ), 1 << 2);
    assert_int_equal(f32_classify(S_NZ), 1 << 3);
    assert_int_equal(f32_classify(S_PZ), 1 << 4);
    assert_int_equal(f32_classify(S_MINS), 1 << 5);
    assert_int_equal(f32_classify(S_MINN), 1 << 6);
    assert_int_equal(f32_classify(S_INF), 1 << 7);
    assert_int_equal(f32_classify(S_SNAN), 1 << 8);
    assert_int_equal(f32_classify(0xffbfffffu), 1 << 8);
    assert_int_equal(f32_classify(S_QNAN), 1 << 9);
    assert_int_equal(f32_classify(0xffffffffu), 1 << 9);
    assert_int_equal(f64_classify(D_NINF), 1 << 0);
    assert_int_equal(f64_classify(D_MONE), 1 << 1);
    assert_int_equal(f64_classify(D_MINS | D_NZ), 1 << 2);
    assert_int_equal(f64_classify(D_NZ), 1 << 3);
    assert_int_equal(f64_classify(D_PZ), 1 << 4);
    assert_int_equal(f64_classify(0x000fffffffffffffull), 1 << 5);
    assert_int_equal(f64_classify(D_MAX), 1 << 6);
    assert_int_equal(f64_classify(D_INF), 1 << 7);
    assert_int_equal(f64_classify(D_SNAN), 1 << 8);
    assert_int_equal(f64_classify(D_QNAN), 1 << 9);
}

/* ------------------------------------------------------------ conversions */

static void test_cvt_f32_to_int(void **state)
{
    (void)state;
    const uint32_t p15 = 0x3fc00000u, p25 = 0x40200000u, m25 = 0xc0200000u;
    const uint32_t m03 = 0xbe99999au;             /* -0.3 */
    CHK(f32_to_i32(p15, FRM_RNE, &fl), 2, NX);
    CHK(f32_to_i32(p25, FRM_RNE, &fl), 2, NX);
    CHK(f32_to_i32(p25, FRM_RMM, &fl), 3, NX);
    CHK(f32_to_i32(p25, FRM_RTZ, &fl), 2, NX);
    CHK(f32_to_i32(p25, FRM_RUP, &fl), 3, NX);
    CHK(f32_to_i32(m25, FRM_RNE, &fl), -2, NX);
    CHK(f32_to_i32(m25, FRM_RMM, &fl), -3, NX);
    CHK(f32_to_i32(m25, FRM_RDN, &fl), -3, NX);
    CHK(f32_to_i32(m25, FRM_RUP, &fl), -2, NX);
    CHK(f32_to_i32(m25, FRM_RTZ, &fl), -2, NX);
    CHK(f32_to_i32(S_NZ, FRM_RNE, &fl), 0, 0);
    CHK(f32_to_i32(S_MINS, FRM_RUP, &fl), 1, NX);
    CHK(f32_to_i32(S_MINS | S_NZ, FRM_RDN, &fl), -1, NX);
    CHK(f32_to_i32(S_MINS, FRM_RNE, &fl), 0, NX);
    CHK(f32_to_i32(0x4effffffu, FRM_RNE, &fl), 2147483520, 0);
    CHK(f32_to_i32(0x4f000000u, FRM_RNE, &fl), INT32_MAX, NV);   /* 2^31 */
    CHK(f32_to_i32(0xcf000000u, FRM_RNE, &fl), INT32_MIN, 0);    /* -2^31 */
    CHK(f32_to_i32(0xcf000001u, FRM_RNE, &fl), INT32_MIN, NV);
    CHK(f32_to_i32(S_INF, FRM_RNE, &fl), INT32_MAX, NV);
    CHK(f32_to_i32(S_NINF, FRM_RNE, &fl), INT32_MIN, NV);
    CHK(f32_to_i32(S_QNAN, FRM_RNE, &fl), INT32_MAX, NV);
    CHK(f32_to_i32(0xffc00000u, FRM_RNE, &fl), INT32_MAX, NV);   /* -NaN too */
    CHK(f32_to_i32(S_SNAN, FRM_RNE, &fl), INT32_MAX, NV);
    CHK(f32_to_i32(S_MAX, FRM_RNE, &fl), INT32_MAX, NV);

    CHK(f32_to_u32(m03, FRM_RTZ, &fl), 0, NX);          /* rounds to 0: not invalid */
    CHK(f32_to_u32(m03, FRM_RNE, &fl), 0, NX);
    CHK(f32_to_u32(m03, FRM_RUP, &fl), 0, NX);
    CHK(f32_to_u32(m03, FRM_RDN, &fl), 0, NV);          /* rounds to -1 */
    CHK(f32_to_u32(0xbf400000u, FRM_RNE, &fl), 0, NV);  /* -0.75 -> -1 */
    CHK(f32_to_u32(0xbf000000u, FRM_RMM, &fl), 0, NV);  /* -0.5 RMM -> -1 */
    CHK(f32_to_u32(0xbf000000u, FRM_RNE, &fl), 0, NX);  /* -0.5 RNE -> -0 */
    CHK(f32_to_u32(S_MONE, FRM_RTZ, &fl), 0, NV);
    CHK(f32_to_u32(S_NZ, FRM_RNE, &fl), 0, 0);
    CHK(f32_to_u32(0x4f7fffffu, FRM_RNE, &fl), (int64_t)(int32_t)0xffffff00u, 0);
    CHK(f32_to_u32(0x4f000000u, FRM_RNE, &fl), (int64_t)(int32_t)0x80000000u, 0);
    CHK(f32_to_u32(0x4f800000u, FRM_RNE, &fl), -1, NV);  /* 2^32 */
    CHK(f32_to_u32(S_INF, FRM_RNE, &fl), -1, NV);
    CHK(f32_to_u32(S_NINF, FRM_RNE, &fl), 0, NV);
    CHK(f32_to_u32(S_QNAN, FRM_RNE, &fl), -1, NV);
    CHK(f32_to_u32(S_ONE, FRM_RNE, &fl), 1, 0);

    CHK(f32_to_i64(0x5effffffu, FRM_RNE, &fl), 0x7fffff8000000000ll, 0);
    CHK(f32_to_i64(0x5f000000u, FRM_RNE, &fl), INT64_MAX, NV);   /* 2^63 */
    CHK(f32_to_i64(0xdf000000u, FRM_RNE, &fl), INT64_MIN, 0);    /* -2^63 */
    CHK(f32_to_i64(0xdf000001u, FRM_RNE, &fl), INT64_MIN, NV);
    CHK(f32_to_i64(S_NINF, FRM_RNE, &fl), INT64_MIN, NV);
    CHK(f32_to_i64(S_INF, FRM_RNE, &fl), INT64_MAX, NV);
    CHK(f32_to_i64(S_QNAN, FRM_RNE, &fl), INT64_MAX, NV);
    CHK(f32_to_i64(m25, FRM_RMM, &fl), -3, NX);
    CHK(f32_to_i64(0x4b800001u, FRM_RNE, &fl), 16777218, 0);

    CHK(f32_to_u64(0x5f000000u, FRM_RNE, &fl), 1ull << 63, 0);
    CHK(f32_to_u64(0x5f7fffffu, FRM_RNE, &fl), 0xffffff0000000000ull, 0);
    CHK(f32_to_u64(0x5f800000u, FRM_RNE, &fl), UINT64_MAX, NV);  /* 2^64 */
    CHK(f32_to_u64(S_INF, FRM_RNE, &fl), UINT64_MAX, NV);
    CHK(f32_to_u64(S_QNAN, FRM_RNE, &fl), UINT64_MAX, NV);
    CHK(f32_to_u64(S_NINF, FRM_RNE, &fl), 0, NV);
    CHK(f32_to_u64(S_MONE, FRM_RNE, &fl), 0, NV);
    CHK(f32_to_u64(m03, FRM_RTZ, &fl), 0, NX);
    CHK(f32_to_u64(m03, FRM_RDN, &fl), 0, NV);
    CHK(f32_to_u64(p25, FRM_RMM, &fl), 3, NX);
    DONE();
}

static void test_cvt_f64_to_int(void **state)
{
    (void)state;
    CHK(f64_to_i32(d2u(2147483647.0), FRM_RNE, &fl), INT32_MAX, 0);
    CHK(f64_to_i32(d2u(2147483647.4), FRM_RNE, &fl), INT32_MAX, NX);
    CHK(f64_to_i32(d2u(2147483647.5), FRM_RTZ, &fl), INT32_MAX, NX);
    CHK(f64_to_i32(d2u(2147483647.5), FRM_RNE, &fl), INT32_MAX, NV);  /* -> 2^31 */
    CHK(f64_to_i32(d2u(2147483647.5), FRM_RDN, &fl), INT32_MAX, NX);
    CHK(f64_to_i32(d2u(2147483647.5), FRM_RUP, &fl), INT32_MAX, NV);
    CHK(f64_to_i32(d2u(-2147483648.5), FRM_RNE, &fl), INT32_MIN, NX);
    CHK(f64_to_i32(d2u(-2147483648.5), FRM_RMM, &fl), INT32_MIN, NV);
    CHK(f64_to_i32(d2u(-2147483648.5), FRM_RUP, &fl), INT32_MIN, NX);
    CHK(f64_to_i32(d2u(-2147483648.5), FRM_RDN, &fl), INT32_MIN, NV);
    CHK(f64_to_i32(d2u(-2147483649.0), FRM_RTZ, &fl), INT32_MIN, NV);
    CHK(f64_to_i32(d2u(-1.5), FRM_RNE, &fl), -2, NX);
    CHK(f64_to_i32(d2u(-0.5), FRM_RNE, &fl), 0, NX);
    CHK(f64_to_i32(d2u(0.5), FRM_RMM, &fl), 1, NX);
    CHK(f64_to_i32(d2u(1e300), FRM_RNE, &fl), INT32_MAX, NV);
    CHK(f64_to_i32(D_NINF, FRM_RNE, &fl), INT32_MIN, NV);
    CHK(f64_to_i32(D_QNAN, FRM_RNE, &fl), INT32_MAX, NV);
    CHK(f64_to_i32(D_SNAN | D_NZ, FRM_RNE, &fl), INT32_MAX, NV);
    CHK(f64_to_i32(D_MINS, FRM_RUP, &fl), 1, NX);

    CHK(f64_to_u32(d2u(4294967295.0), FRM_RNE, &fl), -1, 0);
    CHK(f64_to_u32(d2u(4294967295.5), FRM_RTZ, &fl), -1, NX);
    CHK(f64_to_u32(d2u(4294967295.5), FRM_RNE, &fl), -1, NV);          /* -> 2^32 */
    CHK(f64_to_u32(d2u(4294967296.0), FRM_RTZ, &fl), -1, NV);
    CHK(f64_to_u32(d2u(2147483648.0), FRM_RNE, &fl), INT32_MIN, 0);   /* 0x80000000 */
    CHK(f64_to_u32(d2u(-0.3), FRM_RTZ, &fl), 0, NX);
    CHK(f64_to_u32(d2u(-0.3), FRM_RDN, &fl), 0, NV);
    CHK(f64_to_u32(d2u(-1.0), FRM_RTZ, &fl), 0, NV);
    CHK(f64_to_u32(d2u(-0.5), FRM_RMM, &fl), 0, NV);
    CHK(f64_to_u32(D_NZ, FRM_RNE, &fl), 0, 0);
    CHK(f64_to_u32(D_QNAN, FRM_RNE, &fl), -1, NV);
    CHK(f64_to_u32(D_INF, FRM_RNE, &fl), -1, NV);
    CHK(f64_to_u32(D_NINF, FRM_RNE, &fl), 0, NV);

    CHK(f64_to_i64(d2u(9223372036854774784.0), FRM_RNE, &fl), 9223372036854774784ll, 0);
    CHK(f64_to_i64(d2u(9223372036854775808.0), FRM_RNE, &fl), INT64_MAX, NV);
    CHK(f64_to_i64(d2u(-9223372036854775808.0), FRM_RNE, &fl), INT64_MIN, 0);
    CHK(f64_to_i64(0xc3e0000000000001ull, FRM_RNE, &fl), INT64_MIN, NV);
    CHK(f64_to_i64(D_QNAN, FRM_RNE, &fl), INT64_MAX, NV);
    CHK(f64_to_i64(D_INF, FRM_RNE, &fl), INT64_MAX, NV);
    CHK(f64_to_i64(D_NINF, FRM_RNE, &fl), INT64_MIN, NV);
    CHK(f64_to_i64(d2u(-2.5), FRM_RMM, &fl), -3, NX);
    CHK(f64_to_i64(d2u(2251799813685249.5), FRM_RNE, &fl), 2251799813685250ll, NX);
    CHK(f64_to_i64(d2u(2251799813685248.5), FRM_RNE, &fl), 2251799813685248ll, NX);
    CHK(f64_to_i64(d2u(2251799813685248.5), FRM_RMM, &fl), 2251799813685249ll, NX);
    CHK(f64_to_i64(d2u(-2251799813685248.5), FRM_RMM, &fl), -2251799813685249ll, NX);
    CHK(f64_to_i64(d2u(-2251799813685248.5), FRM_RUP, &fl), -2251799813685248ll, NX);

    CHK(f64_to_u64(d2u(18446744073709549568.0), FRM_RNE, &fl), 18446744073709549568ull, 0);
    CHK(f64_to_u64(d2u(18446744073709551616.0), FRM_RNE, &fl), UINT64_MAX, NV);
    CHK(f64_to_u64(d2u(9223372036854775808.0), FRM_RNE, &fl), 1ull << 63, 0);
    CHK(f64_to_u64(D_INF, FRM_RNE, &fl), UINT64_MAX, NV);
    CHK(f64_to_u64(D_QNAN, FRM_RNE, &fl), UINT64_MAX, NV);
    CHK(f64_to_u64(D_NINF, FRM_RNE, &fl), 0, NV);
    CHK(f64_to_u64(d2u(-0.3), FRM_RUP, &fl), 0, NX);
    CHK(f64_to_u64(d2u(-0.7), FRM_RNE, &fl), 0, NV);
    CHK(f64_to_u64(d2u(-1.0), FRM_RUP, &fl), 0, NV);
    CHK(f64_to_u64(d2u(0.7), FRM_RDN, &fl), 0, NX);
    DONE();
}

static void test_cvt_int_to_float(void **state)
{
    (void)state;
    CHK(i32_to_f32(0, FRM_RDN, &fl), S_PZ, 0);
    CHK(i32_to_f32(-1, FRM_RNE, &fl), S_MONE, 0);
    CHK(i32_to_f32(16777217, FRM_RNE, &fl), 0x4b800000u, NX);   /* tie -> even */
    CHK(i32_to_f32(16777217, FRM_RMM, &fl), 0x4b800001u, NX);
    CHK(i32_to_f32(16777217, FRM_RUP, &fl), 0x4b800001u, NX);
    CHK(i32_to_f32(16777217, FRM_RTZ, &fl), 0x4b800000u, NX);
    CHK(i32_to_f32(-16777217, FRM_RDN, &fl), 0xcb800001u, NX);
    CHK(i32_to_f32(-16777217, FRM_RMM, &fl), 0xcb800001u, NX);
    CHK(i32_to_f32(-16777217, FRM_RNE, &fl), 0xcb800000u, NX);
    CHK(i32_to_f32(16777219, FRM_RNE, &fl), 0x4b800002u, NX);   /* tie -> even up */
    CHK(i32_to_f32(INT32_MIN, FRM_RNE, &fl), 0xcf000000u, 0);
    CHK(i32_to_f32(INT32_MAX, FRM_RNE, &fl), 0x4f000000u, NX);
    CHK(i32_to_f32(INT32_MAX, FRM_RTZ, &fl), 0x4effffffu, NX);
    CHK(u32_to_f32(0xffffffffu, FRM_RNE, &fl), 0x4f800000u, NX);
    CHK(u32_to_f32(0xffffffffu, FRM_RTZ, &fl), 0x4f7fffffu, NX);
    CHK(u32_to_f32(0x80000000u, FRM_RNE, &fl), 0x4f000000u, 0);
    CHK(i64_to_f32(INT64_MIN, FRM_RNE, &fl), 0xdf000000u, 0);
    CHK(i64_to_f32(INT64_MAX, FRM_RTZ, &fl), 0x5effffffu, NX);
    CHK(i64_to_f32(-3, FRM_RNE, &fl), 0xc0400000u, 0);
    CHK(u64_to_f32(UINT64_MAX, FRM_RNE, &fl), 0x5f800000u, NX);
    CHK(u64_to_f32(UINT64_MAX, FRM_RDN, &fl), 0x5f7fffffu, NX);
    CHK(u64_to_f32(0, FRM_RNE, &fl), S_PZ, 0);
    CHK(i32_to_f64(INT32_MIN, FRM_RNE, &fl), 0xc1e0000000000000ull, 0);
    CHK(i32_to_f64(-7, FRM_RTZ, &fl), d2u(-7.0), 0);
    CHK(u32_to_f64(0xffffffffu, FRM_RNE, &fl), d2u(4294967295.0), 0);
    CHK(i64_to_f64(INT64_MIN, FRM_RNE, &fl), 0xc3e0000000000000ull, 0);
    CHK(i64_to_f64(-(1ll << 53) - 1, FRM_RNE, &fl), d2u(-9007199254740992.0), NX);
    CHK(i64_to_f64(-(1ll << 53) - 1, FRM_RDN, &fl), d2u(-9007199254740994.0), NX);
    CHK(i64_to_f64(-(1ll << 53) - 1, FRM_RMM, &fl), d2u(-9007199254740994.0), NX);
    CHK(i64_to_f64((1ll << 53) + 3, FRM_RNE, &fl), d2u(9007199254740996.0), NX);
    CHK(i64_to_f64(INT64_MAX, FRM_RNE, &fl), 0x43e0000000000000ull, NX);
    CHK(i64_to_f64(INT64_MAX, FRM_RTZ, &fl), 0x43dfffffffffffffull, NX);
    CHK(u64_to_f64(UINT64_MAX, FRM_RNE, &fl), 0x43f0000000000000ull, NX);
    CHK(u64_to_f64(UINT64_MAX, FRM_RTZ, &fl), 0x43efffffffffffffull, NX);
    CHK(u64_to_f64(1, FRM_RNE, &fl), D_ONE, 0);
    DONE();
}

static void test_cvt_float_float(void **state)
{
    (void)state;
    CHK(f32_to_f64(S_ONE, &fl), D_ONE, 0);
    CHK(f32_to_f64(S_NZ, &fl), D_NZ, 0);
    CHK(f32_to_f64(S_MINS, &fl), 0x36a0000000000000ull, 0);
    CHK(f32_to_f64(S_MAXS | S_NZ, &fl), d2u(-(double)u2f(S_MAXS)), 0);
    CHK(f32_to_f64(S_MAX, &fl), 0x47efffffe0000000ull, 0);
    CHK(f32_to_f64(S_NINF, &fl), D_NINF, 0);
    CHK(f32_to_f64(S_QNAN, &fl), D_CN, 0);
    CHK(f32_to_f64(0xffc12345u, &fl), D_CN, 0);
    CHK(f32_to_f64(S_SNAN, &fl), D_CN, NV);

    CHK(f64_to_f32(D_ONE, FRM_RNE, &fl), S_ONE, 0);
    CHK(f64_to_f32(D_NZ, FRM_RNE, &fl), S_NZ, 0);
    CHK(f64_to_f32(D_NINF, FRM_RNE, &fl), S_NINF, 0);
    CHK(f64_to_f32(D_QNAN | 0x1234, FRM_RNE, &fl), S_CN, 0);
    CHK(f64_to_f32(D_SNAN, FRM_RNE, &fl), S_CN, NV);
    CHK(f64_to_f32(d2u(0.1), FRM_RNE, &fl), 0x3dcccccdu, NX);
    CHK(f64_to_f32(d2u(0.1), FRM_RTZ, &fl), 0x3dccccccu, NX);
    CHK(f64_to_f32(d2u(1e300), FRM_RNE, &fl), S_INF, OF | NX);
    CHK(f64_to_f32(d2u(1e300), FRM_RTZ, &fl), S_MAX, OF | NX);
    CHK(f64_to_f32(d2u(-1e300), FRM_RUP, &fl), S_MAX | S_NZ, OF | NX);
    CHK(f64_to_f32(d2u(-1e300), FRM_RMM, &fl), S_NINF, OF | NX);
    CHK(f64_to_f32(d2u(1e-300), FRM_RNE, &fl), S_PZ, UF | NX);
    CHK(f64_to_f32(d2u(1e-300), FRM_RUP, &fl), S_MINS, UF | NX);
    CHK(f64_to_f32(d2u(-1e-300), FRM_RDN, &fl), S_MINS | S_NZ, UF | NX);
    CHK(f64_to_f32(D_MINS, FRM_RMM, &fl), S_PZ, UF | NX);
    CHK(f64_to_f32(0x36a0000000000000ull, FRM_RNE, &fl), S_MINS, 0);   /* exact */
    CHK(f64_to_f32(0x3690000000000000ull, FRM_RNE, &fl), S_PZ, UF | NX);  /* tie */
    CHK(f64_to_f32(0x3690000000000000ull, FRM_RMM, &fl), S_MINS, UF | NX);
    /* 1 + 2^-24 tie, and exactly half-way below max -> 2^128 */
    CHK(f64_to_f32(0x3ff0000010000000ull, FRM_RNE, &fl), S_ONE, NX);
    CHK(f64_to_f32(0x3ff0000010000000ull, FRM_RMM, &fl), 0x3f800001u, NX);
    CHK(f64_to_f32(0x47effffff0000000ull, FRM_RNE, &fl), S_INF, OF | NX);
    CHK(f64_to_f32(0x47effffff0000000ull, FRM_RMM, &fl), S_INF, OF | NX);
    CHK(f64_to_f32(0x47effffff0000000ull, FRM_RTZ, &fl), S_MAX, NX);
    DONE();
}

/* ------------------------------------------------- randomized cross-check */

#define RANDOM_N 200000

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_SQRT, OP_FMA, NOPS };
static const char *const opname[] = { "add", "sub", "mul", "div", "sqrt", "fma" };
static const int host_rm[4] = { FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD };

struct rng { uint64_t s; };

static uint64_t rnd(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}

static uint32_t host_flags(int ex)
{
    return ((ex & FE_INEXACT) ? NX : 0) | ((ex & FE_UNDERFLOW) ? UF : 0) |
           ((ex & FE_OVERFLOW) ? OF : 0) | ((ex & FE_DIVBYZERO) ? DZ : 0) |
           ((ex & FE_INVALID) ? NV : 0);
}

/* A random binary32 (mbits 23, ebits 8) or binary64 (52, 11) bit pattern,
 * biased towards zeros, subnormals, extreme exponents, the integer
 * conversion boundaries, NaNs (quiet and signaling) and infinities. */
static uint64_t rand_fp(struct rng *r, int mbits, int ebits)
{
    uint64_t v = rnd(r), w = rnd(r);
    uint64_t emaxf = (1ull << ebits) - 1, bias = emaxf >> 1, fm = (1ull << mbits) - 1;
    uint64_t e, m;
    switch (v & 15) {
    case 0:  e = 0; break;
    case 1:  e = emaxf; break;
    case 2:  e = 1; break;
    case 3:  e = emaxf - 1; break;
    case 4:  e = 1 + w % (uint64_t)(mbits + 2); break;
    case 5:  e = emaxf - 1 - w % (uint64_t)(mbits + 2); break;
    case 6:
    case 7:  e = bias - 8 + w % 16; break;
    case 8:  e = bias + 20 + w % 50; break;
    default: e = w % (emaxf + 1); break;
    }
    w = rnd(r);
    switch ((v >> 4) & 7) {
    case 0:  m = 0; break;
    case 1:  m = fm; break;
    case 2:  m = w & 15; break;
    case 3:  m = fm & ~(w & 15); break;
    case 4:  m = (w << (mbits - 4)) & fm; break;
    default: m = w & fm; break;
    }
    return ((v >> 8) & 1) << (mbits + ebits) | e << mbits | m;
}

/* Second operand: sometimes close to the first (cancellation, ties),
 * sometimes with an exponent that puts a product/quotient near the
 * subnormal range. */
static uint64_t rand_fp2(struct rng *r, uint64_t a, int op, int mbits, int ebits)
{
    uint64_t v = rnd(r);
    uint64_t emaxf = (1ull << ebits) - 1, bias = emaxf >> 1, fm = (1ull << mbits) - 1;
    uint64_t ea = (a >> mbits) & emaxf;
    uint64_t b = rand_fp(r, mbits, ebits);
    uint64_t sign = (v >> 8) & 1;
    int64_t e;
    switch (v & 7) {
    case 0:                 /* close value */
        return (a + (int64_t)(rnd(r) % 9) - 4) ^ (sign << (mbits + ebits));
    case 1:                 /* near exponent */
        e = (int64_t)ea + (int64_t)(rnd(r) % 7) - 3;
        break;
    case 2:                 /* product / quotient near the underflow threshold */
        e = op == OP_DIV ? (int64_t)ea + (int64_t)bias - (int64_t)(rnd(r) % (mbits + 4))
                         : (int64_t)bias - (int64_t)ea + (int64_t)(rnd(r) % 5) - (mbits + 2);
        break;
    case 3:                 /* product / quotient near overflow */
        e = op == OP_DIV ? (int64_t)ea - (int64_t)bias + (int64_t)(rnd(r) % 5) - 2
                         : 2 * (int64_t)bias - (int64_t)ea + (int64_t)(rnd(r) % 5) - 2;
        break;
    default:
        return b;
    }
    if (e < 0 || e >= (int64_t)emaxf)
        return b;
    /* powers of two half the time: exact quotients that tie when they
     * land in the subnormal range */
    uint64_t m = (rnd(r) & 1) ? 0 : rnd(r) & fm;
    return (sign << (mbits + ebits)) | ((uint64_t)e << mbits) | m;
}

static int is_zero_inf(uint64_t a, uint64_t b, int mbits, int ebits)
{
    uint64_t mag = (1ull << (mbits + ebits)) - 1, inf = ((1ull << ebits) - 1) << mbits;
    return ((a & mag) == 0 && (b & mag) == inf) || ((a & mag) == inf && (b & mag) == 0);
}

/* Host reference, with the RISC-V adjustments documented at the top. */
static uint32_t host_f32(int op, uint32_t a, uint32_t b, uint32_t c, int hrm, uint32_t *fl)
{
    volatile float va = u2f(a), vb = u2f(b), vc = u2f(c);
    volatile float vr = 0;
    fesetround(hrm);
    feclearexcept(FE_ALL_EXCEPT);
    switch (op) {
    case OP_ADD:  vr = va + vb; break;
    case OP_SUB:  vr = va - vb; break;
    case OP_MUL:  vr = va * vb; break;
    case OP_DIV:  vr = va / vb; break;
    case OP_SQRT: vr = sqrtf(va); break;
    default:      vr = fmaf(va, vb, vc); break;
    }
    int ex = fetestexcept(FE_ALL_EXCEPT);
    fesetround(FE_TONEAREST);
    *fl = host_flags(ex);
    if (op == OP_FMA && is_zero_inf(a, b, 23, 8))
        *fl |= NV;
    float r = vr;
    return isnan(r) ? F32_CANON_NAN : f2u(r);
}

static uint64_t host_f64(int op, uint64_t a, uint64_t b, uint64_t c, int hrm, uint32_t *fl)
{
    volatile double va = u2d(a), vb = u2d(b), vc = u2d(c);
    volatile double vr = 0;
    fesetround(hrm);
    feclearexcept(FE_ALL_EXCEPT);
    switch (op) {
    case OP_ADD:  vr = va + vb; break;
    case OP_SUB:  vr = va - vb; break;
    case OP_MUL:  vr = va * vb; break;
    case OP_DIV:  vr = va / vb; break;
    case OP_SQRT: vr = sqrt(va); break;
    default:      vr = fma(va, vb, vc); break;
    }
    int ex = fetestexcept(FE_ALL_EXCEPT);
    fesetround(FE_TONEAREST);
    *fl = host_flags(ex);
    if (op == OP_FMA && is_zero_inf(a, b, 52, 11))
        *fl |= NV;
    double r = vr;
    return isnan(r) ? F64_CANON_NAN : d2u(r);
}

static uint32_t ours_f32(int op, uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *fl)
{
    switch (op) {
    case OP_ADD:  return f32_add(a, b, rm, fl);
    case OP_SUB:  return f32_sub(a, b, rm, fl);
    case OP_MUL:  return f32_mul(a, b, rm, fl);
    case OP_DIV:  return f32_div(a, b, rm, fl);
    case OP_SQRT: return f32_sqrt(a, rm, fl);
    default:      return f32_fma(a, b, c, 0, 0, rm, fl);
    }
}

static uint64_t ours_f64(int op, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *fl)
{
    switch (op) {
    case OP_ADD:  return f64_add(a, b, rm, fl);
    case OP_SUB:  return f64_sub(a, b, rm, fl);
    case OP_MUL:  return f64_mul(a, b, rm, fl);
    case OP_DIV:  return f64_div(a, b, rm, fl);
    case OP_SQRT: return f64_sqrt(a, rm, fl);
    default:      return f64_fma(a, b, c, 0, 0, rm, fl);
    }
}

/* RMM reference for binary32 ops (see the top of the file). */
static uint32_t rmm_ref_f32_from(double d, int exact, uint32_t rne, uint32_t rnefl, uint32_t *fl)
{
    *fl = rnefl;
    if (!exact || isnan(d) || isinf(d) || d == 0)
        return rne;
    volatile double vd = d;
    fesetround(FE_TOWARDZERO);
    volatile float tz = (float)vd;
    fesetround(FE_TONEAREST);
    if ((double)tz == d)
        return rne;
    double away = fabsf(tz) == FLT_MAX ? copysign(0x1p128, d)
                                       : (double)nextafterf(tz, d > 0 ? INFINITY : -INFINITY);
    if ((double)tz + away != 2 * d)
        return rne;
    *fl = NX | (fabs(away) == 0x1p128 ? OF : 0) | (fabs(d) < 0x1p-126 ? UF : 0);
    return fabs(away) == 0x1p128 ? (d > 0 ? 0x7f800000u : 0xff800000u) : f2u((float)away);
}

static uint32_t rmm_ref_f32(int op, uint32_t a, uint32_t b, uint32_t c, uint32_t *fl)
{
    uint32_t rnefl;
    uint32_t rne = host_f32(op, a, b, c, FE_TONEAREST, &rnefl);
    volatile double da = u2f(a), db = u2f(b), dc = u2f(c);
    volatile double d = 0;
    feclearexcept(FE_ALL_EXCEPT);
    switch (op) {
    case OP_ADD:  d = da + db; break;
    case OP_SUB:  d = da - db; break;
    case OP_MUL:  d = da * db; break;
    case OP_DIV:  d = da / db; break;
    case OP_SQRT: d = sqrt(da); break;
    default:      d = fma(da, db, dc); break;
    }
    int exact = !fetestexcept(FE_INEXACT);
    return rmm_ref_f32_from(d, exact, rne, rnefl, fl);
}

static uint64_t rmm_ref_f64(int op, uint64_t a, uint64_t b, uint64_t c, uint32_t *fl)
{
    uint32_t rnefl;
    uint64_t rne = host_f64(op, a, b, c, FE_TONEAREST, &rnefl);
    *fl = rnefl;
    volatile long double la = u2d(a), lb = u2d(b), lc = u2d(c);
    volatile long double l = 0;
    feclearexcept(FE_ALL_EXCEPT);
    switch (op) {
    case OP_ADD:  l = la + lb; break;
    case OP_SUB:  l = la - lb; break;
    case OP_MUL:  l = la * lb; break;
    case OP_DIV:  l = la / lb; break;
    case OP_SQRT: l = sqrtl(la); break;
    default:      l = fmal(la, lb, lc); break;
    }
    int exact = !fetestexcept(FE_INEXACT);
    long double x = l;
    if (!exact || isnan(x) || isinf(x) || x == 0)
        return rne;
    fesetround(FE_TOWARDZERO);
    volatile double tz = (double)l;
    fesetround(FE_TONEAREST);
    if ((long double)tz == x)
        return rne;
    long double away = fabs(tz) == DBL_MAX ? copysignl(0x1p1024L, x)
                                           : (long double)nextafter(tz, x > 0 ? INFINITY : -INFINITY);
    if ((long double)tz + away != 2 * x)
        return rne;
    *fl = NX | (fabsl(away) == 0x1p1024L ? OF : 0) | (fabsl(x) < 0x1p-1022L ? UF : 0);
    return fabsl(away) == 0x1p1024L ? (x > 0 ? D_INF : D_NINF) : d2u((double)away);
}

static void random_op(int op, int is64)
{
    struct rng r = { 0x9e3779b97f4a7c15ull ^ (uint64_t)(op * 7919 + is64 * 104729) };
    int mb = is64 ? 52 : 23, eb = is64 ? 11 : 8;
    long errors = 0, checked = 0, rmm_ties = 0;
    long seen[5] = { 0 };       /* NX UF OF DZ NV in the reference results */
    for (long i = 0; i < RANDOM_N; i++) {
        uint64_t a = rand_fp(&r, mb, eb);
        uint64_t b = rand_fp2(&r, a, op, mb, eb);
        uint64_t c = rand_fp(&r, mb, eb);
        if (op == OP_FMA && (rnd(&r) & 3) == 0) {
            /* c close to -(a*b) for massive cancellation */
            uint32_t ign = 0;
            c = is64 ? f64_mul(a, b, FRM_RNE, &ign) : f32_mul((uint32_t)a, (uint32_t)b, FRM_RNE, &ign);
            c ^= 1ull << (mb + eb);
            c += (int64_t)(rnd(&r) % 5) - 2;
        }
        uint64_t rne_result = 0;
        for (int rm = 0; rm <= 4; rm++) {
            uint32_t hfl, ofl = 0;
            uint64_t h, o;
            if (is64) {
                h = rm == FRM_RMM ? rmm_ref_f64(op, a, b, c, &hfl)
                                  : host_f64(op, a, b, c, host_rm[rm], &hfl);
                o = ours_f64(op, a, b, c, rm, &ofl);
            } else {
                h = rm == FRM_RMM ? rmm_ref_f32(op, (uint32_t)a, (uint32_t)b, (uint32_t)c, &hfl)
                                  : host_f32(op, (uint32_t)a, (uint32_t)b, (uint32_t)c, host_rm[rm], &hfl);
                o = ours_f32(op, (uint32_t)a, (uint32_t)b, (uint32_t)c, rm, &ofl);
            }
            checked++;
            for (int k = 0; k < 5; k++)
                seen[k] += (hfl >> k) & 1;
            if (rm == FRM_RNE)
                rne_result = h;
            if (rm == FRM_RMM && h != rne_result)
                rmm_ties++;
            if (h != o || hfl != ofl) {
                if (errors++ < 10)
                    print_error("%s%s %s a=%#llx b=%#llx c=%#llx: got %#llx fl %#x, host %#llx fl %#x\n",
                                is64 ? "f64_" : "f32_", opname[op], rmname[rm],
                                (unsigned long long)a, (unsigned long long)b, (unsigned long long)c,
                                (unsigned long long)o, ofl, (unsigned long long)h, hfl);
            }
        }
    }
    if (errors)
        print_error("%ld of %ld mismatches\n", errors, checked);
    assert_int_equal(errors, 0);
    /* The operand bias must really reach every flag the op can raise (add
     * and sub cannot underflow inexactly; sqrt can neither underflow nor
     * overflow) and, except for sqrt, genuine RMM-vs-RNE ties. */
    int can_uf_of = op != OP_ADD && op != OP_SUB && op != OP_SQRT;
    assert_true(seen[0] > 1000);                         /* NX */
    assert_true(seen[4] > 100);                          /* NV */
    if (can_uf_of)
        assert_true(seen[1] > 100);                      /* UF */
    if (op != OP_SQRT)
        assert_true(seen[2] > 100);                      /* OF */
    if (op == OP_DIV)
        assert_true(seen[3] > 100);                      /* DZ */
    if (op != OP_SQRT)
        assert_true(rmm_ties > 20);
}

static void test_random_f32_add(void **s)  { (void)s; random_op(OP_ADD, 0); }
static void test_random_f32_sub(void **s)  { (void)s; random_op(OP_SUB, 0); }
static void test_random_f32_mul(void **s)  { (void)s; random_op(OP_MUL, 0); }
static void test_random_f32_div(void **s)  { (void)s; random_op(OP_DIV, 0); }
static void test_random_f32_sqrt(void **s) { (void)s; random_op(OP_SQRT, 0); }
static void test_random_f32_fma(void **s)  { (void)s; random_op(OP_FMA, 0); }
static void test_random_f64_add(void **s)  { (void)s; random_op(OP_ADD, 1); }
static void test_random_f64_sub(void **s)  { (void)s; random_op(OP_SUB, 1); }
static void test_random_f64_mul(void **s)  { (void)s; random_op(OP_MUL, 1); }
static void test_random_f64_div(void **s)  { (void)s; random_op(OP_DIV, 1); }
static void test_random_f64_sqrt(void **s) { (void)s; random_op(OP_SQRT, 1); }
static void test_random_f64_fma(void **s)  { (void)s; random_op(OP_FMA, 1); }

/* Float -> int reference: rint() in the mode (round() for RMM, which is
 * ties-away), then RISC-V saturation; NX iff in range and not integral. */
static uint64_t ref_to_int(double x, int isnan_, int rm, int is_signed, int width, uint32_t *fl)
{
    uint64_t smax = is_signed ? (width == 64 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX)
                              : (width == 64 ? UINT64_MAX : UINT32_MAX);
    uint64_t smin = is_signed ? (width == 64 ? (uint64_t)INT64_MIN : (uint64_t)(int64_t)INT32_MIN) : 0;
    *fl = 0;
    if (isnan_) {
        *fl = NV;
        return smax;
    }
    /* Called through volatile pointers: gcc treats rint() as pure and
     * would otherwise move it across fesetround(). */
    double (*volatile rint_fn)(double) = rint;
    double (*volatile round_fn)(double) = round;
    double ri;
    if (rm == FRM_RMM) {
        ri = round_fn(x);
    } else {
        fesetround(host_rm[rm]);
        ri = rint_fn(x);
        fesetround(FE_TONEAREST);
    }
    double lo = is_signed ? (width == 64 ? -0x1p63 : -0x1p31) : 0.0;
    double hi_excl = is_signed ? (width == 64 ? 0x1p63 : 0x1p31) : (width == 64 ? 0x1p64 : 0x1p32);
    if (ri < lo) {
        *fl = NV;
        return smin;
    }
    if (ri >= hi_excl) {
        *fl = NV;
        return smax;
    }
    *fl = ri != x ? NX : 0;
    if (ri < 0)
        return (uint64_t)(int64_t)ri;
    return (uint64_t)ri;
}

static uint64_t sext32(uint64_t v, int width) { return width == 32 ? (uint64_t)(int64_t)(int32_t)(uint32_t)v : v; }

static void test_random_cvt_to_int(void **state)
{
    (void)state;
    struct rng r = { 0x1234567887654321ull };
    long errors = 0;
    for (long i = 0; i < RANDOM_N; i++) {
        int is64 = i & 1;
        uint64_t a = is64 ? rand_fp(&r, 52, 11) : rand_fp(&r, 23, 8);
        double x = is64 ? u2d(a) : (double)u2f((uint32_t)a);
        for (int rm = 0; rm <= 4; rm++) {
            for (int kind = 0; kind < 4; kind++) {
                int is_signed = !(kind & 1), width = kind & 2 ? 64 : 32;
                uint32_t efl, ofl = 0;
                uint64_t e = sext32(ref_to_int(x, isnan(x), rm, is_signed, width, &efl), width);
                uint64_t o;
                switch (kind) {
                case 0:  o = (uint64_t)(is64 ? f64_to_i32(a, rm, &ofl) : f32_to_i32((uint32_t)a, rm, &ofl)); break;
                case 1:  o = (uint64_t)(is64 ? f64_to_u32(a, rm, &ofl) : f32_to_u32((uint32_t)a, rm, &ofl)); break;
                case 2:  o = (uint64_t)(is64 ? f64_to_i64(a, rm, &ofl) : f32_to_i64((uint32_t)a, rm, &ofl)); break;
                default: o = is64 ? f64_to_u64(a, rm, &ofl) : f32_to_u64((uint32_t)a, rm, &ofl); break;
                }
                if (o != e || ofl != efl) {
                    if (errors++ < 10)
                        print_error("%s_to_%c%d %s a=%#llx: got %#llx fl %#x, expected %#llx fl %#x\n",
                                    is64 ? "f64" : "f32", is_signed ? 'i' : 'u', width, rmname[rm],
                                    (unsigned long long)a, (unsigned long long)o, ofl,
                                    (unsigned long long)e, efl);
                }
            }
        }
    }
    assert_int_equal(errors, 0);
}

static uint64_t rand_int(struct rng *r)
{
    uint64_t v = rnd(r), w = rnd(r);
    switch (v & 7) {
    case 0:  return w >> (v >> 3) % 64;                             /* any length */
    case 1:  return (1ull << (24 + (v >> 3) % 3)) + (w % 9) - 4;    /* f32 ulp edge */
    case 2:  return (1ull << (53 + (v >> 3) % 3)) + (w % 9) - 4;    /* f64 ulp edge */
    case 3:  return -(w >> (v >> 3) % 64);
    case 4:  return (w >> (v >> 3) % 40) << ((v >> 9) % 24);      /* ties */
    default: return w;
    }
}

static void test_random_cvt_from_int(void **state)
{
    (void)state;
    struct rng r = { 0xdeadbeefcafef00dull };
    long errors = 0;
    for (long i = 0; i < RANDOM_N; i++) {
        uint64_t v = rand_int(&r);
        for (int rm = 0; rm <= 4; rm++) {
            for (int kind = 0; kind < 8; kind++) {
                uint32_t efl, ofl = 0;
                uint64_t e, o;
                volatile int32_t vi32 = (int32_t)v;
                volatile uint32_t vu32 = (uint32_t)v;
                volatile int64_t vi64 = (int64_t)v;
                volatile uint64_t vu64 = v;
                if (rm == FRM_RMM) {
                    if (kind < 4) {         /* to f32 via exact-if-possible double */
                        uint32_t rnefl;
                        volatile double d = 0;
                        feclearexcept(FE_ALL_EXCEPT);
                        switch (kind) {
                        case 0: d = vi32; break;
                        case 1: d = vu32; break;
                        case 2: d = vi64; break;
                        default: d = vu64; break;
                        }
                        int exact = !fetestexcept(FE_INEXACT);
                        volatile float f = 0;
                        feclearexcept(FE_ALL_EXCEPT);
                        switch (kind) {
                        case 0: f = vi32; break;
                        case 1: f = vu32; break;
                        case 2: f = vi64; break;
                        default: f = vu64; break;
                        }
                        rnefl = host_flags(fetestexcept(FE_ALL_EXCEPT));
                        e = rmm_ref_f32_from(d, exact, f2u(f), rnefl, &efl);
                    } else {                /* to f64 via exact long double */
                        volatile long double l = 0;
                        switch (kind) {
                        case 4: l = vi32; break;
                        case 5: l = vu32; break;
                        case 6: l = vi64; break;
                        default: l = vu64; break;
                        }
                        volatile double d = 0;
                        feclearexcept(FE_ALL_EXCEPT);
                        d = l;
                        efl = host_flags(fetestexcept(FE_ALL_EXCEPT));
                        e = d2u(d);
                        long double x = l;
                        fesetround(FE_TOWARDZERO);
                        volatile double tz = l;
                        fesetround(FE_TONEAREST);
                        if ((long double)tz != x) {
                            long double away = nextafter(tz, x > 0 ? INFINITY : -INFINITY);
                            if ((long double)tz + away == 2 * x)
                                e = d2u((double)away);
                        }
                    }
                } else {
                    fesetround(host_rm[rm]);
                    feclearexcept(FE_ALL_EXCEPT);
                    volatile float f = 0;
                    volatile double d = 0;
                    switch (kind) {
                    case 0: f = vi32; break;
                    case 1: f = vu32; break;
                    case 2: f = vi64; break;
                    case 3: f = vu64; break;
                    case 4: d = vi32; break;
                    case 5: d = vu32; break;
                    case 6: d = vi64; break;
                    default: d = vu64; break;
                    }
                    efl = host_flags(fetestexcept(FE_ALL_EXCEPT));
                    fesetround(FE_TONEAREST);
                    e = kind < 4 ? f2u(f) : d2u(d);
                }
                /* Integer 0 converts to +0 in every mode.  (clang's inline
                 * u64->double sequence subtracts a magic constant and so
                 * yields -0 under FE_DOWNWARD; don't depend on it.) */
                if ((kind == 3 || kind == 7) && v == 0)
                    e = 0;
                switch (kind) {
                case 0:  o = i32_to_f32((int32_t)v, rm, &ofl); break;
                case 1:  o = u32_to_f32((uint32_t)v, rm, &ofl); break;
                case 2:  o = i64_to_f32((int64_t)v, rm, &ofl); break;
                case 3:  o = u64_to_f32(v, rm, &ofl); break;
                case 4:  o = i32_to_f64((int32_t)v, rm, &ofl); break;
                case 5:  o = u32_to_f64((uint32_t)v, rm, &ofl); break;
                case 6:  o = i64_to_f64((int64_t)v, rm, &ofl); break;
                default: o = u64_to_f64(v, rm, &ofl); break;
                }
                if (o != e || ofl != efl) {
                    if (errors++ < 10)
                        print_error("int->float kind %d %s v=%#llx: got %#llx fl %#x, expected %#llx fl %#x\n",
                                    kind, rmname[rm], (unsigned long long)v, (unsigned long long)o, ofl,
                                    (unsigned long long)e, efl);
                }
            }
        }
    }
    assert_int_equal(errors, 0);
}

static void test_random_cvt_float_float(void **state)
{
    (void)state;
    struct rng r = { 0x0123456789abcdefull };
    long errors = 0;
    for (long i = 0; i < RANDOM_N; i++) {
        /* f32 -> f64 */
        uint32_t s = (uint32_t)rand_fp(&r, 23, 8);
        volatile float vs = u2f(s);
        feclearexcept(FE_ALL_EXCEPT);
        volatile double vd = vs;
        uint32_t efl = host_flags(fetestexcept(FE_ALL_EXCEPT)), ofl = 0;
        double dd = vd;
        uint64_t e = isnan(dd) ? D_CN : d2u(dd);
        uint64_t o = f32_to_f64(s, &ofl);
        if (o != e || ofl != efl) {
            if (errors++ < 10)
                print_error("f32_to_f64 %#x: got %#llx fl %#x, expected %#llx fl %#x\n", s,
                            (unsigned long long)o, ofl, (unsigned long long)e, efl);
        }
        /* f64 -> f32, biased to the binary32 range */
        uint64_t d = rand_fp(&r, 52, 11);
        if (rnd(&r) & 1) {
            uint64_t ex = 1023 - 160 + rnd(&r) % 300;
            d = (d & 0x800fffffffffffffull) | ex << 52;
        }
        for (int rm = 0; rm <= 4; rm++) {
            uint32_t ofl2 = 0, efl2;
            uint32_t e2, o2 = f64_to_f32(d, rm, &ofl2);
            if (rm == FRM_RMM) {
                volatile double x = u2d(d);
                feclearexcept(FE_ALL_EXCEPT);
                volatile float rne = x;
                uint32_t rnefl = host_flags(fetestexcept(FE_ALL_EXCEPT));
                float rf = rne;
                e2 = rmm_ref_f32_from(x, 1, isnan(rf) ? S_CN : f2u(rf), rnefl, &efl2);
            } else {
                volatile double x = u2d(d);
                fesetround(host_rm[rm]);
                feclearexcept(FE_ALL_EXCEPT);
                volatile float y = x;
                efl2 = host_flags(fetestexcept(FE_ALL_EXCEPT));
                fesetround(FE_TONEAREST);
                float yf = y;
                e2 = isnan(yf) ? S_CN : f2u(yf);
            }
            if (o2 != e2 || ofl2 != efl2) {
                if (errors++ < 10)
                    print_error("f64_to_f32 %s %#llx: got %#x fl %#x, expected %#x fl %#x\n", rmname[rm],
                                (unsigned long long)d, o2, ofl2, e2, efl2);
            }
        }
    }
    assert_int_equal(errors, 0);
}

/* Comparisons and min/max against host relational operators (results
 * only; the flag rules are checked by the vectors above, and x86's
 * minss/maxss are not IEEE so the reference is written out here). */
static void test_random_compare_minmax(void **state)
{
    (void)state;
    struct rng r = { 0x5555aaaa5555aaaaull };
    long errors = 0;
    for (long i = 0; i < RANDOM_N; i++) {
        uint32_t a = (uint32_t)rand_fp(&r, 23, 8), b = (uint32_t)rand_fp2(&r, a, OP_ADD, 23, 8);
        uint64_t c = rand_fp(&r, 52, 11), d = rand_fp2(&r, c, OP_ADD, 52, 11);
        float fa = u2f(a), fb = u2f(b);
        double dc = u2d(c), dd = u2d(d);
        uint32_t fl = 0;
        int bad = 0;
        bad |= f32_eq(a, b, &fl) != (fa == fb);
        bad |= f32_lt(a, b, &fl) != (fa < fb);
        bad |= f32_le(a, b, &fl) != (fa <= fb);
        bad |= f64_eq(c, d, &fl) != (dc == dd);
        bad |= f64_lt(c, d, &fl) != (dc < dd);
        bad |= f64_le(c, d, &fl) != (dc <= dd);
        uint32_t mn = f32_min(a, b, &fl), mx = f32_max(a, b, &fl);
        uint32_t emn, emx;
        if (isnan(fa) && isnan(fb)) {
            emn = emx = S_CN;
        } else if (isnan(fa)) {
            emn = emx = b;
        } else if (isnan(fb)) {
            emn = emx = a;
        } else if (fa == fb) {          /* equal, or +-0: -0 is the smaller */
            emn = a | b;
            emx = a & b;
            if (!(fa == 0)) emn = emx = a;
        } else {
            emn = fa < fb ? a : b;
            emx = fa < fb ? b : a;
        }
        bad |= mn != emn || mx != emx;
        uint64_t mn64 = f64_min(c, d, &fl), mx64 = f64_max(c, d, &fl), emn64, emx64;
        if (isnan(dc) && isnan(dd)) {
            emn64 = emx64 = D_CN;
        } else if (isnan(dc)) {
            emn64 = emx64 = d;
        } else if (isnan(dd)) {
            emn64 = emx64 = c;
        } else if (dc == dd) {
            emn64 = dc == 0 ? (c | d) : c;
            emx64 = dc == 0 ? (c & d) : c;
        } else {
            emn64 = dc < dd ? c : d;
            emx64 = dc < dd ? d : c;
        }
        bad |= mn64 != emn64 || mx64 != emx64;
        if (bad && errors++ < 10)
            print_error("compare/minmax a=%#x b=%#x c=%#llx d=%#llx\n", a, b,
                        (unsigned long long)c, (unsigned long long)d);
    }
    assert_int_equal(errors, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_sub_basic),
        cmocka_unit_test(test_add_signed_zero),
        cmocka_unit_test(test_add_ties),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_subnormals),
        cmocka_unit_test(test_mul_div),
        cmocka_unit_test(test_sqrt),
        cmocka_unit_test(test_fma),
        cmocka_unit_test(test_minmax),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_cvt_f32_to_int),
        cmocka_unit_test(test_cvt_f64_to_int),
        cmocka_unit_test(test_cvt_int_to_float),
        cmocka_unit_test(test_cvt_float_float),
        cmocka_unit_test(test_random_f32_add),
        cmocka_unit_test(test_random_f32_sub),
        cmocka_unit_test(test_random_f32_mul),
        cmocka_unit_test(test_random_f32_div),
        cmocka_unit_test(test_random_f32_sqrt),
        cmocka_unit_test(test_random_f32_fma),
        cmocka_unit_test(test_random_f64_add),
        cmocka_unit_test(test_random_f64_sub),
        cmocka_unit_test(test_random_f64_mul),
        cmocka_unit_test(test_random_f64_div),
        cmocka_unit_test(test_random_f64_sqrt),
        cmocka_unit_test(test_random_f64_fma),
        cmocka_unit_test(test_random_cvt_to_int),
        cmocka_unit_test(test_random_cvt_from_int),
        cmocka_unit_test(test_random_cvt_float_float),
        cmocka_unit_test(test_random_compare_minmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
