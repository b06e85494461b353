/* cpu/riscv: F/D arithmetic on the host's SSE2 and FMA3 units where the
 * result and the flags are provably those of the soft-float (fpu.c), which
 * runs everything else.
 *
 * Why the host's answers are the RISC-V answers (Unprivileged ISA 11.2,
 * 11.3, 12; IEEE 754-2008 clauses 4, 5.4, 7): SSE's scalar add, subtract,
 * multiply, divide, square root and FMA3's fused multiply-add are the
 * IEEE operations, correctly rounded in the mode MXCSR.RC selects.  Four
 * of RISC-V's five modes have an RC equivalent (RNE 00, RDN 01, RUP 10,
 * RTZ 11); RMM has none and goes to the soft-float.  With every exception
 * masked, MXCSR's sticky flags are IEEE's: IE = NV, ZE = DZ, OE = OF,
 * PE = NX, and UE = UF, since SSE, like RISC-V, detects tininess after
 * rounding and raises underflow only when the tiny result is also inexact
 * (DE, a denormal operand, has no RISC-V counterpart and is dropped).  FTZ
 * and DAZ are off, so subnormals are exact operands and results.
 *
 * Fixed up here: every NaN result becomes RISC-V's canonical NaN (SSE
 * returns an input's NaN quietened, or its own negative default NaN); the
 * flags need nothing, a signalling input raising IE as it raises NV.  The
 * one flag difference, fma(0, inf, qNaN), which RISC-V says raises NV and
 * FMA3 does not, is left to the soft-float: a fused multiply-add with any
 * NaN operand runs there.
 *
 * MXCSR is per thread: each operation loads the rounding mode with the
 * flags clear, runs, reads the flags back and, unless the mode was RNE,
 * restores the C default, all in one asm statement so the compiler cannot
 * move host floating point of its own in between.  test_fpu_host compares
 * every operation here with the soft-float on edge and random operands. */
#include <stdbool.h>
#include <string.h>

#include "cpu/riscv/fpu.h"

#if defined(__x86_64__)

#define MXCSR_DEFAULT 0x1f80u      /* all exceptions masked, RNE, no FTZ/DAZ */

/* MXCSR for a RISC-V rounding mode (RNE..RUP); RC is bits 13-14. */
static inline uint32_t mxcsr_for(int rm)
{
    static const uint32_t rc[4] = { 0u << 13, 3u << 13, 1u << 13, 2u << 13 };
    return MXCSR_DEFAULT | rc[rm];
}

/* MXCSR's flag bits (IE, DE, ZE, OE, UE, PE: bits 0-5) as fflags. */
static inline uint32_t fflags_of(uint32_t m)
{
    return ((m & 0x01) ? FFLAG_NV : 0) | ((m & 0x04) ? FFLAG_DZ : 0) |
           ((m & 0x08) ? FFLAG_OF : 0) | ((m & 0x10) ? FFLAG_UF : 0) |
           ((m & 0x20) ? FFLAG_NX : 0);
}

static bool host_fma(void)
{
    static int have = -1;          /* racy first use writes the same value */
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("fma") ? 1 : 0;
    }
    return have;
}

unsigned fpu_host_units(void)
{
    return FPU_HOST_SSE | (host_fma() ? FPU_HOST_FMA : 0);
}

void fpu_host_enter(void)
{
    const uint32_t mx = MXCSR_DEFAULT;
    __asm__ volatile("ldmxcsr %0" :: "m"(mx));
}

static inline bool nan32(uint32_t a) { return (a & 0x7fffffffu) > 0x7f800000u; }
static inline bool nan64(uint64_t a) { return (a & ~(1ull << 63)) > 0x7ff0000000000000ull; }

static const uint32_t dflt = MXCSR_DEFAULT;

/* One scalar instruction `insn` (AT&T: source, destination) on a and b,
 * in rounding mode rm, its flags left in m.  MXCSR is put back to the C
 * default after modes other than RNE; after RNE it differs from it only
 * in the sticky flags, which change nothing for host code (every
 * exception is masked), and a load costs as much as the operation. */
#define SSE_BINOP(insn, a, b, rm, m) do {                                  \
        uint32_t mx_ = mxcsr_for(rm);                                      \
        if ((rm) == FRM_RNE)                                               \
            __asm__ volatile("ldmxcsr %[in]\n\t" insn " %[y], %[x]\n\t"   \
                             "stmxcsr %[out]"                              \
                             : [x] "+x"(a), [out] "=m"(m)                  \
                             : [y] "x"(b), [in] "m"(mx_));                 \
        else                                                               \
            __asm__ volatile("ldmxcsr %[in]\n\t" insn " %[y], %[x]\n\t"   \
                             "stmxcsr %[out]\n\tldmxcsr %[dflt]"           \
                             : [x] "+x"(a), [out] "=m"(m)                  \
                             : [y] "x"(b), [in] "m"(mx_), [dflt] "m"(dflt)); \
    } while (0)

static inline uint32_t done32(float r, uint32_t m, uint32_t *fflags)
{
    uint32_t v;
    memcpy(&v, &r, 4);
    *fflags |= fflags_of(m);
    return nan32(v) ? F32_CANON_NAN : v;
}

static inline uint64_t done64(double r, uint32_t m, uint32_t *fflags)
{
    uint64_t v;
    memcpy(&v, &r, 8);
    *fflags |= fflags_of(m);
    return nan64(v) ? F64_CANON_NAN : v;
}

/* ---- the fast path: no MXCSR at all ----
 * Reading MXCSR waits for the operation to finish, and costs several
 * times the operation.  RISC-V's flags are sticky, so once the guest's
 * fflags hold NX, whether this operation is inexact no longer matters;
 * and in RNE (the C default MXCSR keeps) with finite operands, the
 * other four flags can be told from the operands and the result alone:
 *   NV  needs an infinite or NaN operand, a square root of a negative
 *       number, or 0/0: excluded by the checks before the operation;
 *   DZ  needs a zero divisor: excluded;
 *   OF  gives an infinite result in RNE: such a result takes the MXCSR
 *       path (also an exact infinity: no such case with finite operands);
 *   UF  needs a result tiny after rounding, so at most the smallest
 *       normal in magnitude: such results take the MXCSR path, but for a
 *       sum (a tiny sum of two floats is exact, and UF needs inexact) and
 *       for a product or quotient whose zero operand makes it an exact 0.
 * The same idea as the "hardfloat" paths of other emulators' soft-floats;
 * test_fpu_host runs every comparison with NX already set as well. */
#define EXP32  0x7f800000u
#define MINN32 0x00800000u
#define EXP64  0x7ff0000000000000ull
#define MINN64 0x0010000000000000ull
#define FIN32(v) (((v) & EXP32) != EXP32)
#define MAG32(v) ((v) & 0x7fffffffu)
#define FIN64(v) (((v) & EXP64) != EXP64)
#define MAG64(v) ((v) & ~(1ull << 63))

enum { K_ADD, K_MUL, K_DIV };

/* Can the fast path's result stand?  (r: its bits; a, b: the operands.) */
#define FAST_OK(W, kind, r, a, b)                                          \
    (FIN##W(r) && ((kind) == K_ADD || MAG##W(r) > MINN##W ||               \
                   !MAG##W(a) || ((kind) == K_MUL && !MAG##W(b))))

#define BIN(W, T, F, name, insn, kind, soft)                               \
    T name(T a, T b, int rm, uint32_t *fflags)                              \
    {                                                                       \
        F x, y;                                                             \
        memcpy(&x, &a, sizeof(x));                                          \
        memcpy(&y, &b, sizeof(y));                                          \
        if (rm == FRM_RNE && (*fflags & FFLAG_NX) && FIN##W(a) && FIN##W(b) && \
            ((kind) != K_DIV || MAG##W(b))) {                               \
            F z = x;                                                        \
            __asm__(insn " %[y], %[x]" : [x] "+x"(z) : [y] "x"(y));         \
            T r;                                                            \
            memcpy(&r, &z, sizeof(r));                                      \
            if (FAST_OK(W, kind, r, a, b))                                  \
                return r;                                                   \
        }                                                                   \
        if (rm > FRM_RUP)                                                   \
            return soft(a, b, rm, fflags);                                  \
        uint32_t m;                                                         \
        SSE_BINOP(insn, x, y, rm, m);                                       \
        return done##W(x, m, fflags);                                       \
    }

BIN(32, uint32_t, float, f32_add_host, "addss", K_ADD, f32_add)
BIN(32, uint32_t, float, f32_sub_host, "subss", K_ADD, f32_sub)
BIN(32, uint32_t, float, f32_mul_host, "mulss", K_MUL, f32_mul)
BIN(32, uint32_t, float, f32_div_host, "divss", K_DIV, f32_div)
BIN(64, uint64_t, double, f64_add_host, "addsd", K_ADD, f64_add)
BIN(64, uint64_t, double, f64_sub_host, "subsd", K_ADD, f64_sub)
BIN(64, uint64_t, double, f64_mul_host, "mulsd", K_MUL, f64_mul)
BIN(64, uint64_t, double, f64_div_host, "divsd", K_DIV, f64_div)

/* Square root: sqrtss/sqrtsd x, x (the source is the destination).  Fast
 * path: a finite operand that is positive or a zero (NV needs a negative
 * one; the root of a finite number never overflows or underflows). */
#define SQRT(W, T, F, name, insn, soft)                                    \
    T name(T a, int rm, uint32_t *fflags)                                   \
    {                                                                       \
        F x;                                                                \
        memcpy(&x, &a, sizeof(x));                                          \
        if (rm == FRM_RNE && (*fflags & FFLAG_NX) && FIN##W(a) &&           \
            (!(a >> (W - 1)) || !MAG##W(a))) {                              \
            __asm__(insn " %[x], %[x]" : [x] "+x"(x));                      \
            T r;                                                            \
            memcpy(&r, &x, sizeof(r));                                      \
            return r;                                                       \
        }                                                                   \
        if (rm > FRM_RUP)                                                   \
            return soft(a, rm, fflags);                                     \
        uint32_t m;                                                         \
        SSE_BINOP(insn, x, x, rm, m);                                       \
        return done##W(x, m, fflags);                                       \
    }

SQRT(32, uint32_t, float, f32_sqrt_host, "sqrtss", f32_sqrt)
SQRT(64, uint64_t, double, f64_sqrt_host, "sqrtsd", f64_sqrt)

/* (±a*b) ± c: the negations are sign flips of a and c, exact (also for
 * zeros: -(a*b) and (-a)*b are the same value), so one FMA3 form does all
 * four RISC-V instructions.  vfmadd231: x = y*z + x. */
#define FMA_OP(insn, c, a, b, rm, m) do {                                  \
        uint32_t mx_ = mxcsr_for(rm);                                      \
        if ((rm) == FRM_RNE)                                               \
            __asm__ volatile("ldmxcsr %[in]\n\t" insn " %[z], %[y], %[x]\n\t" \
                             "stmxcsr %[out]"                              \
                             : [x] "+x"(c), [out] "=m"(m)                  \
                             : [y] "x"(a), [z] "x"(b), [in] "m"(mx_));     \
        else                                                               \
            __asm__ volatile("ldmxcsr %[in]\n\t" insn " %[z], %[y], %[x]\n\t" \
                             "stmxcsr %[out]\n\tldmxcsr %[dflt]"           \
                             : [x] "+x"(c), [out] "=m"(m)                  \
                             : [y] "x"(a), [z] "x"(b), [in] "m"(mx_),      \
                               [dflt] "m"(dflt));                          \
    } while (0)

/* The fast path (above) applies as it is: no NV with finite operands. */
#define FMA(W, T, F, name, insn, soft)                                     \
    T name(T a, T b, T c, int negprod, int negc, int rm, uint32_t *fflags)  \
    {                                                                       \
        if (rm > FRM_RUP || nan##W(a) || nan##W(b) || nan##W(c) || !host_fma()) \
            return soft(a, b, c, negprod, negc, rm, fflags);                \
        const T sign = (T)1 << (W - 1);                                     \
        a ^= negprod ? sign : 0;                                            \
        c ^= negc ? sign : 0;                                               \
        F x, y, z;                                                          \
        memcpy(&y, &a, sizeof(y));                                          \
        memcpy(&z, &b, sizeof(z));                                          \
        memcpy(&x, &c, sizeof(x));                                          \
        if (rm == FRM_RNE && (*fflags & FFLAG_NX) && FIN##W(a) && FIN##W(b) && \
            FIN##W(c)) {                                                    \
            F t = x;                                                        \
            __asm__(insn " %[z], %[y], %[x]" : [x] "+x"(t) : [y] "x"(y), [z] "x"(z)); \
            T r;                                                            \
            memcpy(&r, &t, sizeof(r));                                      \
            if (FIN##W(r) && MAG##W(r) > MINN##W)                           \
                return r;                                                   \
        }                                                                   \
        uint32_t m;                                                         \
        FMA_OP(insn, x, y, z, rm, m);                                       \
        return done##W(x, m, fflags);                                       \
    }

FMA(32, uint32_t, float, f32_fma_host, "vfmadd231ss", f32_fma)
FMA(64, uint64_t, double, f64_fma_host, "vfmadd231sd", f64_fma)

#else /* not x86-64: the soft-float does everything */

unsigned fpu_host_units(void) { return 0; }
void fpu_host_enter(void) { }

uint32_t f32_add_host(uint32_t a, uint32_t b, int rm, uint32_t *f) { return f32_add(a, b, rm, f); }
uint32_t f32_sub_host(uint32_t a, uint32_t b, int rm, uint32_t *f) { return f32_sub(a, b, rm, f); }
uint32_t f32_mul_host(uint32_t a, uint32_t b, int rm, uint32_t *f) { return f32_mul(a, b, rm, f); }
uint32_t f32_div_host(uint32_t a, uint32_t b, int rm, uint32_t *f) { return f32_div(a, b, rm, f); }
uint32_t f32_sqrt_host(uint32_t a, int rm, uint32_t *f) { return f32_sqrt(a, rm, f); }
uint32_t f32_fma_host(uint32_t a, uint32_t b, uint32_t c, int np, int nc, int rm, uint32_t *f)
{
    return f32_fma(a, b, c, np, nc, rm, f);
}
uint64_t f64_add_host(uint64_t a, uint64_t b, int rm, uint32_t *f) { return f64_add(a, b, rm, f); }
uint64_t f64_sub_host(uint64_t a, uint64_t b, int rm, uint32_t *f) { return f64_sub(a, b, rm, f); }
uint64_t f64_mul_host(uint64_t a, uint64_t b, int rm, uint32_t *f) { return f64_mul(a, b, rm, f); }
uint64_t f64_div_host(uint64_t a, uint64_t b, int rm, uint32_t *f) { return f64_div(a, b, rm, f); }
uint64_t f64_sqrt_host(uint64_t a, int rm, uint32_t *f) { return f64_sqrt(a, rm, f); }
uint64_t f64_fma_host(uint64_t a, uint64_t b, uint64_t c, int np, int nc, int rm, uint32_t *f)
{
    return f64_fma(a, b, c, np, nc, rm, f);
}

#endif
