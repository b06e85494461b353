/* cpu/riscv: IEEE 754-2008 binary32/binary64 arithmetic, RISC-V flavour.
 *
 * Approach: a small soft-float of our own, written from the IEEE 754
 * semantics, in portable integer arithmetic (no host FPU, so every rounding
 * mode including RMM behaves the same on every host).  Both formats share
 * one generic implementation parameterised by a format descriptor (struct
 * fpfmt); the public f32_* / f64_* entry points are thin wrappers, and the
 * compiler specialises the static helpers for the constant descriptors.
 *
 *  - unpack():    raw bits -> class, sign, exponent, 64-bit significand
 *                 normalised with its leading one at bit 63, so that
 *                 value = sig * 2^(exp - 63).
 *  - round_pack(): the ONE rounding routine: takes sign, exp, and any
 *                 non-zero 64-bit significand (value = sig * 2^(exp - 63),
 *                 bit 0 doubling as a "sticky" bit for discarded non-zero
 *                 bits), normalises, rounds to the format in rm, handles
 *                 subnormals, overflow, and raises NX/UF/OF (tininess
 *                 detected after rounding, UF only when also inexact).
 *  - add: operands aligned with a right shift that "jams" lost bits into
 *         bit 0; mul: exact 128-bit product; div: 128/64-bit integer
 *         division with the remainder as sticky; sqrt: integer Newton
 *         square root of a 128-bit radicand plus exact remainder test;
 *         fma: exact 128-bit product added to c in 128 bits, then one
 *         rounding.
 * NaN results are always the canonical NaN; no payload propagation. */
#include "cpu/riscv/fpu.h"

#include <stdbool.h>

typedef unsigned __int128 u128;

/* Generic helpers are force-inlined into the per-format entry points so
 * that every format parameter becomes a compile-time constant. */
#define FPU_INLINE static inline __attribute__((always_inline))

struct fpfmt {
    int mbits;  /* stored fraction bits: 23 / 52 */
    int ebits;  /* exponent bits: 8 / 11 */
    int bias;   /* 127 / 1023 */
};

static const struct fpfmt F32 = { 23, 8, 127 };
static const struct fpfmt F64 = { 52, 11, 1023 };

enum { C_ZERO, C_FINITE, C_INF, C_QNAN, C_SNAN };

struct unp {
    int cls;
    int sign;
    int exp;        /* value = sig * 2^(exp - 63) for C_FINITE */
    uint64_t sig;   /* leading one at bit 63 for C_FINITE */
};

static inline uint64_t emask(const struct fpfmt *f) { return (1ull << f->ebits) - 1; }
static inline uint64_t fmask(const struct fpfmt *f) { return (1ull << f->mbits) - 1; }
static inline int signbit_pos(const struct fpfmt *f) { return f->mbits + f->ebits; }
static inline uint64_t canon_nan(const struct fpfmt *f)
{
    return (emask(f) << f->mbits) | (1ull << (f->mbits - 1));
}
static inline uint64_t inf_bits(const struct fpfmt *f, int sign)
{
    return ((uint64_t)sign << signbit_pos(f)) | (emask(f) << f->mbits);
}
static inline uint64_t zero_bits(const struct fpfmt *f, int sign)
{
    return (uint64_t)sign << signbit_pos(f);
}

static inline int is_nan(const struct fpfmt *f, uint64_t x)
{
    return ((x >> f->mbits) & emask(f)) == emask(f) && (x & fmask(f)) != 0;
}
static inline int is_snan(const struct fpfmt *f, uint64_t x)
{
    return is_nan(f, x) && !(x & (1ull << (f->mbits - 1)));
}

FPU_INLINE struct unp unpack(const struct fpfmt *f, uint64_t x)
{
    struct unp u;
    uint64_t ef = (x >> f->mbits) & emask(f);
    uint64_t fr = x & fmask(f);
    u.sign = (int)((x >> signbit_pos(f)) & 1);
    u.exp = 0;
    u.sig = 0;
    if (ef == emask(f)) {
        if (fr == 0)
            u.cls = C_INF;
        else
            u.cls = (fr & (1ull << (f->mbits - 1))) ? C_QNAN : C_SNAN;
    } else if (ef == 0) {
        if (fr == 0) {
            u.cls = C_ZERO;
        } else {
            /* subnormal: value = fr * 2^(1 - bias - mbits) */
            int lz = __builtin_clzll(fr);
            u.cls = C_FINITE;
            u.sig = fr << lz;
            u.exp = 1 - f->bias - f->mbits + (63 - lz);
        }
    } else {
        u.cls = C_FINITE;
        u.sig = (fr | (1ull << f->mbits)) << (63 - f->mbits);
        u.exp = (int)ef - f->bias;
    }
    return u;
}

static inline uint64_t shr_jam64(uint64_t x, int n)
{
    if (n <= 0)
        return x;
    if (n >= 64)
        return x != 0;
    return (x >> n) | ((x << (64 - n)) != 0);
}

static inline u128 shr_jam128(u128 x, int n)
{
    if (n <= 0)
        return x;
    if (n >= 128)
        return x != 0;
    return (x >> n) | ((x << (128 - n)) != 0);
}

static inline int clz128(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64);
    return hi ? __builtin_clzll(hi) : 64 + __builtin_clzll((uint64_t)x);
}

/* Round the significand `sig` (non-zero) right by s bits (s >= 1) in mode
 * rm; returns the kept (possibly incremented) integer and sets *inexact. */
static inline uint64_t round_shift(uint64_t sig, int s, int sign, int rm, bool *inexact)
{
    uint64_t kept;
    int rbit;
    bool sticky;
    if (s < 64) {
        kept = sig >> s;
        rbit = (int)((sig >> (s - 1)) & 1);
        sticky = (sig & ((1ull << (s - 1)) - 1)) != 0;
    } else if (s == 64) {
        kept = 0;
        rbit = (int)(sig >> 63);
        sticky = (sig << 1) != 0;
    } else {
        kept = 0;
        rbit = 0;
        sticky = true;
    }
    *inexact = rbit || sticky;
    int inc;
    switch (rm) {
    case FRM_RNE: inc = rbit && (sticky || (kept & 1)); break;
    case FRM_RTZ: inc = 0; break;
    case FRM_RDN: inc = sign && *inexact; break;
    case FRM_RUP: inc = !sign && *inexact; break;
    default:      inc = rbit; break;                  /* RMM */
    }
    return kept + (uint64_t)inc;
}

/* The shared rounding routine.  value = (-1)^sign * sig * 2^(exp - 63),
 * sig != 0; bit 0 of sig may be a sticky bit (it must lie below the
 * rounding position after normalisation, which every caller guarantees by
 * keeping at least P+2 significant bits when it jams). */
FPU_INLINE uint64_t round_pack(const struct fpfmt *f, int sign, int exp, uint64_t sig,
                           int rm, uint32_t *fflags)
{
    const int P = f->mbits + 1;
    const int emin = 1 - f->bias, emax = f->bias;
    int lz = __builtin_clzll(sig);
    sig <<= lz;
    exp -= lz;

    bool inexact;
    uint64_t s = (uint64_t)sign << signbit_pos(f);
    if (exp >= emin) {
        uint64_t kept = round_shift(sig, 64 - P, sign, rm, &inexact);
        if (kept >> P) {            /* carry out: 1.11..1 -> 10.00..0 */
            kept >>= 1;
            exp++;
        }
        if (exp > emax) {
            *fflags |= FFLAG_OF | FFLAG_NX;
            bool to_inf;
            switch (rm) {
            case FRM_RTZ: to_inf = false; break;
            case FRM_RDN: to_inf = sign; break;
            case FRM_RUP: to_inf = !sign; break;
            default:      to_inf = true; break;
            }
            if (to_inf)
                return inf_bits(f, sign);
            return s | ((emask(f) - 1) << f->mbits) | fmask(f);
        }
        if (inexact)
            *fflags |= FFLAG_NX;
        return s | ((uint64_t)(exp + f->bias) << f->mbits) | (kept & fmask(f));
    }

    /* Below the normal range.  Tininess after rounding: the value is tiny
     * unless rounding it to P bits with unbounded exponent reaches 2^emin. */
    bool tiny = true;
    if (exp == emin - 1) {
        bool dummy;
        uint64_t k = round_shift(sig, 64 - P, sign, rm, &dummy);
        tiny = (k >> P) == 0;
    }
    int sh = 64 - P + (emin - exp);
    uint64_t kept = round_shift(sig, sh, sign, rm, &inexact);
    if (inexact) {
        *fflags |= FFLAG_NX;
        if (tiny)
            *fflags |= FFLAG_UF;
    }
    /* kept is the subnormal fraction; a carry into bit mbits correctly
     * becomes the smallest normal (exponent field 1). */
    return s | kept;
}

FPU_INLINE uint64_t gen_add(const struct fpfmt *f, uint64_t a, uint64_t b, int negb,
                        int rm, uint32_t *fflags)
{
    struct unp x = unpack(f, a), y = unpack(f, b);
    y.sign ^= negb;
    if (x.cls >= C_QNAN || y.cls >= C_QNAN) {
        if (x.cls == C_SNAN || y.cls == C_SNAN)
            *fflags |= FFLAG_NV;
        return canon_nan(f);
    }
    if (x.cls == C_INF || y.cls == C_INF) {
        if (x.cls == C_INF && y.cls == C_INF && x.sign != y.sign) {
            *fflags |= FFLAG_NV;
            return canon_nan(f);
        }
        return inf_bits(f, x.cls == C_INF ? x.sign : y.sign);
    }
    if (x.cls == C_ZERO && y.cls == C_ZERO) {
        if (x.sign == y.sign)
            return zero_bits(f, x.sign);
        return zero_bits(f, rm == FRM_RDN);
    }
    if (x.cls == C_ZERO)
        return b ^ ((uint64_t)negb << signbit_pos(f));
    if (y.cls == C_ZERO)
        return a;

    /* Both finite non-zero: leave one bit of headroom for the carry. */
    if (x.exp < y.exp || (x.exp == y.exp && x.sig < y.sig)) {
        struct unp t = x; x = y; y = t;
    }
    uint64_t xs = x.sig >> 1, ys = shr_jam64(y.sig >> 1, x.exp - y.exp);
    int exp = x.exp + 1;
    uint64_t r;
    if (x.sign == y.sign) {
        r = xs + ys;
    } else {
        r = xs - ys;    /* |x| >= |y| */
        if (r == 0)
            return zero_bits(f, rm == FRM_RDN);
    }
    return round_pack(f, x.sign, exp, r, rm, fflags);
}

FPU_INLINE uint64_t gen_mul(const struct fpfmt *f, uint64_t a, uint64_t b, int rm, uint32_t *fflags)
{
    struct unp x = unpack(f, a), y = unpack(f, b);
    int sign = x.sign ^ y.sign;
    if (x.cls >= C_QNAN || y.cls >= C_QNAN) {
        if (x.cls == C_SNAN || y.cls == C_SNAN)
            *fflags |= FFLAG_NV;
        return canon_nan(f);
    }
    if (x.cls == C_INF || y.cls == C_INF) {
        if (x.cls == C_ZERO || y.cls == C_ZERO) {
            *fflags |= FFLAG_NV;
            return canon_nan(f);
        }
        return inf_bits(f, sign);
    }
    if (x.cls == C_ZERO || y.cls == C_ZERO)
        return zero_bits(f, sign);
    u128 p = (u128)x.sig * y.sig;
    uint64_t hi = (uint64_t)(p >> 64), lo = (uint64_t)p;
    return round_pack(f, sign, x.exp + y.exp + 1, hi | (lo != 0), rm, fflags);
}

FPU_INLINE uint64_t gen_div(const struct fpfmt *f, uint64_t a, uint64_t b, int rm, uint32_t *fflags)
{
    struct unp x = unpack(f, a), y = unpack(f, b);
    int sign = x.sign ^ y.sign;
    if (x.cls >= C_QNAN || y.cls >= C_QNAN) {
        if (x.cls == C_SNAN || y.cls == C_SNAN)
            *fflags |= FFLAG_NV;
        return canon_nan(f);
    }
    if (x.cls == C_INF) {
        if (y.cls == C_INF) {
            *fflags |= FFLAG_NV;
            return canon_nan(f);
        }
        return inf_bits(f, sign);
    }
    if (y.cls == C_INF)
        return zero_bits(f, sign);
    if (y.cls == C_ZERO) {
        if (x.cls == C_ZERO) {
            *fflags |= FFLAG_NV;
            return canon_nan(f);
        }
        *fflags |= FFLAG_DZ;
        return inf_bits(f, sign);
    }
    if (x.cls == C_ZERO)
        return zero_bits(f, sign);
    /* q = floor(xs * 2^63 / ys) lies in (2^62, 2^64). */
    u128 n = (u128)x.sig << 63;
    uint64_t q = (uint64_t)(n / y.sig);
    uint64_t rem = (uint64_t)(n - (u128)q * y.sig);
    return round_pack(f, sign, x.exp - y.exp, q | (rem != 0), rm, fflags);
}

/* floor(sqrt(m)) for m in [2^126, 2^128): result in [2^63, 2^64). */
static uint64_t isqrt128(u128 m)
{
    uint64_t top = (uint64_t)(m >> 64);            /* in [2^62, 2^64) */
    /* Tangent of sqrt at 2^64 lies above sqrt: start >= sqrt(top). */
    uint64_t x = (1ull << 31) + (top >> 33);
    for (;;) {                                     /* 64-bit Newton, ~4 steps */
        uint64_t y = (x + top / x) >> 1;
        if (y >= x)
            break;
        x = y;
    }
    /* x = floor(sqrt(top)), so r0 = x * 2^32 is within ~2^33 of the root:
     * one 128-bit Newton step lands within a few units above it. */
    u128 r0 = (u128)x << 32;
    u128 r = (r0 + m / r0) >> 1;
    if (r > UINT64_MAX)
        r = UINT64_MAX;
    while (r * r > m)
        r--;
    while ((r + 1) <= UINT64_MAX && (r + 1) * (r + 1) <= m)
        r++;
    return (uint64_t)r;
}

FPU_INLINE uint64_t gen_sqrt(const struct fpfmt *f, uint64_t a, int rm, uint32_t *fflags)
{
    struct unp x = unpack(f, a);
    if (x.cls >= C_QNAN) {
        if (x.cls == C_SNAN)
            *fflags |= FFLAG_NV;
        return canon_nan(f);
    }
    if (x.cls == C_ZERO)
        return a;                                  /* sqrt(-0) = -0 */
    if (x.sign) {
        *fflags |= FFLAG_NV;
        return canon_nan(f);
    }
    if (x.cls == C_INF)
        return a;
    /* value = sig/2^63 * 2^exp; make the exponent even. */
    u128 m;
    int e = x.exp;
    if (e & 1) {
        m = (u128)x.sig << 64;
        e -= 1;
    } else {
        m = (u128)x.sig << 63;
    }
    uint64_t r = isqrt128(m);
    bool sticky = (u128)r * r != m;
    return round_pack(f, 0, e / 2, r | sticky, rm, fflags);
}

FPU_INLINE uint64_t gen_fma(const struct fpfmt *f, uint64_t a, uint64_t b, uint64_t c,
                        int negprod, int negc, int rm, uint32_t *fflags)
{
    struct unp x = unpack(f, a), y = unpack(f, b), z = unpack(f, c);
    int psign = x.sign ^ y.sign ^ (negprod != 0);
    z.sign ^= (negc != 0);
    bool zero_inf = (x.cls == C_ZERO && y.cls == C_INF) || (x.cls == C_INF && y.cls == C_ZERO);
    if (x.cls >= C_QNAN || y.cls >= C_QNAN || z.cls >= C_QNAN || zero_inf) {
        /* RISC-V: 0 * inf raises NV even when c is a quiet NaN. */
        if (x.cls == C_SNAN || y.cls == C_SNAN || z.cls == C_SNAN || zero_inf)
            *fflags |= FFLAG_NV;
        return canon_nan(f);
    }
    if (x.cls == C_INF || y.cls == C_INF) {
        if (z.cls == C_INF && z.sign != psign) {
            *fflags |= FFLAG_NV;
            return canon_nan(f);
        }
        return inf_bits(f, psign);
    }
    if (z.cls == C_INF)
        return inf_bits(f, z.sign);
    if (x.cls == C_ZERO || y.cls == C_ZERO) {
        if (z.cls == C_ZERO)
            return zero_bits(f, psign == z.sign ? psign : rm == FRM_RDN);
        return c ^ ((uint64_t)(negc != 0) << signbit_pos(f));
    }
    u128 p = (u128)x.sig * y.sig;                  /* value = p * 2^(ex+ey-126) */
    if (z.cls == C_ZERO) {
        uint64_t hi = (uint64_t)(p >> 64), lo = (uint64_t)p;
        return round_pack(f, psign, x.exp + y.exp + 1, hi | (lo != 0), rm, fflags);
    }
    /* 128-bit fixed point: value = X * 2^(E - 127), leading bits <= 126.
     * The low bits of both are zero, so shifts by <= 2 are exact. */
    u128 P = p >> 1;                               /* p's low bit is 0 */
    int EP = x.exp + y.exp + 2;
    u128 C = (u128)z.sig << 63;
    int EC = z.exp + 1;
    int E, sign;
    u128 big, small;
    int bsign, ssign;
    if (EP >= EC) {
        E = EP; big = P; bsign = psign;
        small = shr_jam128(C, EP - EC); ssign = z.sign;
    } else {
        E = EC; big = C; bsign = z.sign;
        small = shr_jam128(P, EC - EP); ssign = psign;
    }
    u128 r;
    if (bsign == ssign) {
        r = big + small;
        sign = bsign;
    } else if (big >= small) {
        r = big - small;
        sign = bsign;
    } else {
        r = small - big;
        sign = ssign;
    }
    if (r == 0)
        return zero_bits(f, rm == FRM_RDN);
    int lz = clz128(r);
    r <<= lz;
    E -= lz;
    uint64_t hi = (uint64_t)(r >> 64), lo = (uint64_t)r;
    return round_pack(f, sign, E, hi | (lo != 0), rm, fflags);
}

/* Ordering key: monotonic in the numeric value with -0 < +0. */
static inline int64_t order_key(const struct fpfmt *f, uint64_t x)
{
    uint64_t mag = x & ((1ull << signbit_pos(f)) - 1);
    return ((x >> signbit_pos(f)) & 1) ? -(int64_t)mag - 1 : (int64_t)mag;
}

FPU_INLINE uint64_t gen_minmax(const struct fpfmt *f, uint64_t a, uint64_t b, int max,
                           uint32_t *fflags)
{
    int an = is_nan(f, a), bn = is_nan(f, b);
    if (is_snan(f, a) || is_snan(f, b))
        *fflags |= FFLAG_NV;
    if (an && bn)
        return canon_nan(f);
    if (an)
        return b;
    if (bn)
        return a;
    int a_lt_b = order_key(f, a) < order_key(f, b);
    return (a_lt_b ^ max) ? a : b;
}

/* cmp: 0 eq, 1 lt, 2 le. */
FPU_INLINE int gen_cmp(const struct fpfmt *f, uint64_t a, uint64_t b, int op, uint32_t *fflags)
{
    int an = is_nan(f, a), bn = is_nan(f, b);
    if (an || bn) {
        if (op != 0 || is_snan(f, a) || is_snan(f, b))
            *fflags |= FFLAG_NV;
        return 0;
    }
    uint64_t magmask = (1ull << signbit_pos(f)) - 1;
    bool both_zero = ((a | b) & magmask) == 0;
    int64_t ka = order_key(f, a), kb = order_key(f, b);
    switch (op) {
    case 0:  return both_zero || a == b;
    case 1:  return !both_zero && ka < kb;
    default: return both_zero || ka <= kb;
    }
}

FPU_INLINE uint32_t gen_classify(const struct fpfmt *f, uint64_t a)
{
    struct unp u = unpack(f, a);
    uint64_t ef = (a >> f->mbits) & emask(f);
    switch (u.cls) {
    case C_SNAN: return 1u << 8;
    case C_QNAN: return 1u << 9;
    case C_INF:  return u.sign ? 1u << 0 : 1u << 7;
    case C_ZERO: return u.sign ? 1u << 3 : 1u << 4;
    default:
        if (ef == 0)
            return u.sign ? 1u << 2 : 1u << 5;
        return u.sign ? 1u << 1 : 1u << 6;
    }
}

/* Float -> integer.  width 32/64; returns the result bits (for width 32,
 * the caller sign-extends the low 32 bits). */
FPU_INLINE uint64_t gen_to_int(const struct fpfmt *f, uint64_t a, int rm, int is_signed,
                           int width, uint32_t *fflags)
{
    uint64_t smax = is_signed ? (width == 64 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX)
                              : (width == 64 ? UINT64_MAX : UINT32_MAX);
    uint64_t smin = is_signed ? (width == 64 ? (uint64_t)INT64_MIN : (uint64_t)(int64_t)INT32_MIN)
                              : 0;
    /* Largest magnitude allowed for each sign. */
    uint64_t posmax = smax;
    uint64_t negmax = is_signed ? (width == 64 ? 1ull << 63 : 1ull << 31) : 0;

    struct unp u = unpack(f, a);
    switch (u.cls) {
    case C_QNAN:
    case C_SNAN:
        *fflags |= FFLAG_NV;
        return smax;
    case C_INF:
        *fflags |= FFLAG_NV;
        return u.sign ? smin : smax;
    case C_ZERO:
        return 0;
    default:
        break;
    }
    uint64_t mag;
    bool inexact = false;
    if (u.exp >= 64) {
        *fflags |= FFLAG_NV;
        return u.sign ? smin : smax;
    } else if (u.exp == 63) {
        mag = u.sig;                               /* integral, >= 2^63 */
    } else {
        mag = round_shift(u.sig, 63 - u.exp, u.sign, rm, &inexact);
    }
    if (mag > (u.sign ? negmax : posmax)) {
        *fflags |= FFLAG_NV;
        return u.sign ? smin : smax;
    }
    if (inexact)
        *fflags |= FFLAG_NX;
    return u.sign ? (uint64_t)0 - mag : mag;
}

FPU_INLINE uint64_t gen_from_int(const struct fpfmt *f, int sign, uint64_t mag, int rm,
                             uint32_t *fflags)
{
    if (mag == 0)
        return 0;
    return round_pack(f, sign, 63, mag, rm, fflags);
}

/* Format conversion: widening is exact, narrowing rounds. */
FPU_INLINE uint64_t gen_convert(const struct fpfmt *to, const struct fpfmt *from, uint64_t a,
                            int rm, uint32_t *fflags)
{
    struct unp u = unpack(from, a);
    switch (u.cls) {
    case C_SNAN:
        *fflags |= FFLAG_NV;
        /* fall through */
    case C_QNAN:
        return canon_nan(to);
    case C_INF:
        return inf_bits(to, u.sign);
    case C_ZERO:
        return zero_bits(to, u.sign);
    default:
        return round_pack(to, u.sign, u.exp, u.sig, rm, fflags);
    }
}

/* ---- binary32 ---------------------------------------------------------- */

uint32_t f32_add(uint32_t a, uint32_t b, int rm, uint32_t *fl) { return (uint32_t)gen_add(&F32, a, b, 0, rm, fl); }
uint32_t f32_sub(uint32_t a, uint32_t b, int rm, uint32_t *fl) { return (uint32_t)gen_add(&F32, a, b, 1, rm, fl); }
uint32_t f32_mul(uint32_t a, uint32_t b, int rm, uint32_t *fl) { return (uint32_t)gen_mul(&F32, a, b, rm, fl); }
uint32_t f32_div(uint32_t a, uint32_t b, int rm, uint32_t *fl) { return (uint32_t)gen_div(&F32, a, b, rm, fl); }
uint32_t f32_sqrt(uint32_t a, int rm, uint32_t *fl) { return (uint32_t)gen_sqrt(&F32, a, rm, fl); }
uint32_t f32_fma(uint32_t a, uint32_t b, uint32_t c, int negprod, int negc, int rm, uint32_t *fl)
{
    return (uint32_t)gen_fma(&F32, a, b, c, negprod, negc, rm, fl);
}
uint32_t f32_min(uint32_t a, uint32_t b, uint32_t *fl) { return (uint32_t)gen_minmax(&F32, a, b, 0, fl); }
uint32_t f32_max(uint32_t a, uint32_t b, uint32_t *fl) { return (uint32_t)gen_minmax(&F32, a, b, 1, fl); }
int f32_eq(uint32_t a, uint32_t b, uint32_t *fl) { return gen_cmp(&F32, a, b, 0, fl); }
int f32_lt(uint32_t a, uint32_t b, uint32_t *fl) { return gen_cmp(&F32, a, b, 1, fl); }
int f32_le(uint32_t a, uint32_t b, uint32_t *fl) { return gen_cmp(&F32, a, b, 2, fl); }
uint32_t f32_classify(uint32_t a) { return gen_classify(&F32, a); }

int64_t f32_to_i32(uint32_t a, int rm, uint32_t *fl) { return (int32_t)(uint32_t)gen_to_int(&F32, a, rm, 1, 32, fl); }
int64_t f32_to_u32(uint32_t a, int rm, uint32_t *fl) { return (int32_t)(uint32_t)gen_to_int(&F32, a, rm, 0, 32, fl); }
int64_t f32_to_i64(uint32_t a, int rm, uint32_t *fl) { return (int64_t)gen_to_int(&F32, a, rm, 1, 64, fl); }
uint64_t f32_to_u64(uint32_t a, int rm, uint32_t *fl) { return gen_to_int(&F32, a, rm, 0, 64, fl); }

uint32_t i32_to_f32(int32_t a, int rm, uint32_t *fl)
{
    return (uint32_t)gen_from_int(&F32, a < 0, a < 0 ? 0u - (uint64_t)(int64_t)a : (uint64_t)a, rm, fl);
}
uint32_t u32_to_f32(uint32_t a, int rm, uint32_t *fl) { return (uint32_t)gen_from_int(&F32, 0, a, rm, fl); }
uint32_t i64_to_f32(int64_t a, int rm, uint32_t *fl)
{
    return (uint32_t)gen_from_int(&F32, a < 0, a < 0 ? 0u - (uint64_t)a : (uint64_t)a, rm, fl);
}
uint32_t u64_to_f32(uint64_t a, int rm, uint32_t *fl) { return (uint32_t)gen_from_int(&F32, 0, a, rm, fl); }

/* ---- binary64 ---------------------------------------------------------- */

uint64_t f64_add(uint64_t a, uint64_t b, int rm, uint32_t *fl) { return gen_add(&F64, a, b, 0, rm, fl); }
uint64_t f64_sub(uint64_t a, uint64_t b, int rm, uint32_t *fl) { return gen_add(&F64, a, b, 1, rm, fl); }
uint64_t f64_mul(uint64_t a, uint64_t b, int rm, uint32_t *fl) { return gen_mul(&F64, a, b, rm, fl); }
uint64_t f64_div(uint64_t a, uint64_t b, int rm, uint32_t *fl) { return gen_div(&F64, a, b, rm, fl); }
uint64_t f64_sqrt(uint64_t a, int rm, uint32_t *fl) { return gen_sqrt(&F64, a, rm, fl); }
uint64_t f64_fma(uint64_t a, uint64_t b, uint64_t c, int negprod, int negc, int rm, uint32_t *fl)
{
    return gen_fma(&F64, a, b, c, negprod, negc, rm, fl);
}
uint64_t f64_min(uint64_t a, uint64_t b, uint32_t *fl) { return gen_minmax(&F64, a, b, 0, fl); }
uint64_t f64_max(uint64_t a, uint64_t b, uint32_t *fl) { return gen_minmax(&F64, a, b, 1, fl); }
int f64_eq(uint64_t a, uint64_t b, uint32_t *fl) { return gen_cmp(&F64, a, b, 0, fl); }
int f64_lt(uint64_t a, uint64_t b, uint32_t *fl) { return gen_cmp(&F64, a, b, 1, fl); }
int f64_le(uint64_t a, uint64_t b, uint32_t *fl) { return gen_cmp(&F64, a, b, 2, fl); }
uint32_t f64_classify(uint64_t a) { return gen_classify(&F64, a); }

int64_t f64_to_i32(uint64_t a, int rm, uint32_t *fl) { return (int32_t)(uint32_t)gen_to_int(&F64, a, rm, 1, 32, fl); }
int64_t f64_to_u32(uint64_t a, int rm, uint32_t *fl) { return (int32_t)(uint32_t)gen_to_int(&F64, a, rm, 0, 32, fl); }
int64_t f64_to_i64(uint64_t a, int rm, uint32_t *fl) { return (int64_t)gen_to_int(&F64, a, rm, 1, 64, fl); }
uint64_t f64_to_u64(uint64_t a, int rm, uint32_t *fl) { return gen_to_int(&F64, a, rm, 0, 64, fl); }

uint64_t i32_to_f64(int32_t a, int rm, uint32_t *fl)
{
    return gen_from_int(&F64, a < 0, a < 0 ? 0u - (uint64_t)(int64_t)a : (uint64_t)a, rm, fl);
}
uint64_t u32_to_f64(uint32_t a, int rm, uint32_t *fl) { return gen_from_int(&F64, 0, a, rm, fl); }
uint64_t i64_to_f64(int64_t a, int rm, uint32_t *fl)
{
    return gen_from_int(&F64, a < 0, a < 0 ? 0u - (uint64_t)a : (uint64_t)a, rm, fl);
}
uint64_t u64_to_f64(uint64_t a, int rm, uint32_t *fl) { return gen_from_int(&F64, 0, a, rm, fl); }

uint64_t f32_to_f64(uint32_t a, uint32_t *fl) { return gen_convert(&F64, &F32, a, FRM_RNE, fl); }
uint32_t f64_to_f32(uint64_t a, int rm, uint32_t *fl) { return (uint32_t)gen_convert(&F32, &F64, a, rm, fl); }
