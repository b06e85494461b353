/* Unit tests for cpu/riscv/fpu_host.c: every operation run on the host's
 * units is cross-checked against the soft-float (fpu.c), result bits and
 * all five flags, in all five rounding modes:
 *   - every pair (and, for the fused multiply-add, every triple in all
 *     four sign forms) of edge operands: zeros, subnormals, the smallest
 *     normal, values whose products and quotients land at the
 *     underflow threshold, the largest finite, infinities, quiet and
 *     signalling NaNs with payloads, ones and near-ones;
 *   - random operands with exponents biased towards the edges (products
 *     near the subnormal range and overflow, sums that cancel).
 * Each comparison runs with no flag raised before and with NX raised
 * before (fpu_host.c's fast path, without MXCSR, runs only then).
 * The host path must also be the one taken: on x86-64 the test requires
 * SSE, so it cannot pass by running the soft-float against itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cpu/riscv/fpu.h"

static int fails;

static void mismatch(const char *op, int rm, const uint64_t *in, int n,
                     uint64_t got, uint32_t gotfl, uint64_t exp, uint32_t expfl)
{
    if (fails++ < 20) {
        char args[160] = "";
        for (int i = 0; i < n; i++)
            snprintf(args + strlen(args), sizeof(args) - strlen(args), " %#llx",
                     (unsigned long long)in[i]);
        print_error("%s rm=%d%s: host %#llx flags %#x, soft-float %#llx flags %#x\n",
                    op, rm, args, (unsigned long long)got, gotfl,
                    (unsigned long long)exp, expfl);
    }
}

/* ---- operands ---- */

static const uint32_t edge32[] = {
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff,
    0x00800000, 0x80800000, 0x00800001, 0x00400000, 0x1f800000, 0x1f7fffff,
    0x20000000, 0x3f800000, 0xbf800000, 0x3f800001, 0x3f7fffff, 0x40000000,
    0x3fc00000, 0x40400000, 0x5f800000, 0x7f000000, 0x7f7fffff, 0xff7fffff,
    0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc12345, 0x7f800001,
    0xff812345, 0x33800000, 0x34000000, 0x4b000000, 0x3eaaaaab, 0x00800002,
};

static const uint64_t edge64[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x0000000000000001ull,
    0x8000000000000001ull, 0x000fffffffffffffull, 0x800fffffffffffffull,
    0x0010000000000000ull, 0x8010000000000000ull, 0x0010000000000001ull,
    0x0008000000000000ull, 0x1ff0000000000000ull, 0x1fefffffffffffffull,
    0x2000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
    0x3ff0000000000001ull, 0x3fefffffffffffffull, 0x4000000000000000ull,
    0x3ff8000000000000ull, 0x4008000000000000ull, 0x5ff0000000000000ull,
    0x7fe0000000000000ull, 0x7fefffffffffffffull, 0xffefffffffffffffull,
    0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
    0xfff8000000000000ull, 0x7ff8000000012345ull, 0x7ff0000000000001ull,
    0xfff0000000012345ull, 0x3ca0000000000000ull, 0x3cb0000000000000ull,
    0x4330000000000000ull, 0x3fd5555555555555ull, 0x0010000000000002ull,
};

#define N32 (sizeof(edge32) / sizeof(edge32[0]))
#define N64 (sizeof(edge64) / sizeof(edge64[0]))

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random operand: random bits with the exponent often pulled to an edge
 * (subnormal, around the bias where products and quotients reach the
 * limits, the top), or an edge value itself. */
static uint32_t rnd32(void)
{
    uint64_t r = next();
    uint32_t v = (uint32_t)r;
    switch ((r >> 40) % 8) {
    case 0: return edge32[(r >> 48) % N32];
    case 1: return v & 0x807fffff;                              /* subnormal */
    case 2: return (v & 0x807fffff) | (uint32_t)(1 + (r >> 50) % 40) << 23;
    case 3: return (v & 0x807fffff) | (uint32_t)(60 + (r >> 50) % 10) << 23;
    case 4: return (v & 0x807fffff) | (uint32_t)(214 + (r >> 50) % 40) << 23;
    case 5: return (v & 0x807fffff) | (uint32_t)(120 + (r >> 50) % 16) << 23;
    case 6: return (v & 0x80ffffff) | 0x3f000000;            /* around 1 */
    }
    return v;
}

static uint64_t rnd64(void)
{
    uint64_t r = next(), v = next(), m = 0x800fffffffffffffull;
    switch (r % 8) {
    case 0: return edge64[(r >> 8) % N64];
    case 1: return v & m;
    case 2: return (v & m) | (1 + (r >> 16) % 60) << 52;
    case 3: return (v & m) | (480 + (r >> 16) % 70) << 52;
    case 4: return (v & m) | (1990 + (r >> 16) % 57) << 52;
    case 5: return (v & m) | (1010 + (r >> 16) % 26) << 52;
    case 6: return (v & 0x801fffffffffffffull) | 0x3fe0000000000000ull;
    }
    return v;
}

/* ---- the comparisons ---- */

typedef uint32_t (*bin32)(uint32_t, uint32_t, int, uint32_t *);
typedef uint64_t (*bin64)(uint64_t, uint64_t, int, uint32_t *);

static const struct { const char *name; bin32 host, soft; } ops32[] = {
    { "f32_add", f32_add_host, f32_add }, { "f32_sub", f32_sub_host, f32_sub },
    { "f32_mul", f32_mul_host, f32_mul }, { "f32_div", f32_div_host, f32_div },
};
static const struct { const char *name; bin64 host, soft; } ops64[] = {
    { "f64_add", f64_add_host, f64_add }, { "f64_sub", f64_sub_host, f64_sub },
    { "f64_mul", f64_mul_host, f64_mul }, { "f64_div", f64_div_host, f64_div },
};

/* Every comparison runs twice: with no flag raised before, and with NX
 * already raised (the host path's fast path, which reads no MXCSR, only
 * runs then); the flags after must be the soft-float's either way. */
#define PRESETS for (uint32_t pre = 0; pre <= FFLAG_NX; pre += FFLAG_NX)

static void cmp32(int k, uint32_t a, uint32_t b, int rm)
{
    PRESETS {
        uint32_t hf = pre, sf = pre;
        uint32_t h = ops32[k].host(a, b, rm, &hf), s = ops32[k].soft(a, b, rm, &sf);
        if (h != s || hf != sf)
            mismatch(ops32[k].name, rm, (uint64_t[]){ a, b, pre }, 3, h, hf, s, sf);
    }
}

static void cmp64(int k, uint64_t a, uint64_t b, int rm)
{
    PRESETS {
        uint32_t hf = pre, sf = pre;
        uint64_t h = ops64[k].host(a, b, rm, &hf), s = ops64[k].soft(a, b, rm, &sf);
        if (h != s || hf != sf)
            mismatch(ops64[k].name, rm, (uint64_t[]){ a, b, pre }, 3, h, hf, s, sf);
    }
}

static void cmp_sqrt(uint64_t a, int rm, int wide)
{
    PRESETS {
        uint32_t hf = pre, sf = pre;
        uint64_t h, s;
        if (wide) {
            h = f64_sqrt_host(a, rm, &hf);
            s = f64_sqrt(a, rm, &sf);
        } else {
            h = f32_sqrt_host((uint32_t)a, rm, &hf);
            s = f32_sqrt((uint32_t)a, rm, &sf);
        }
        if (h != s || hf != sf)
            mismatch(wide ? "f64_sqrt" : "f32_sqrt", rm, (uint64_t[]){ a, pre }, 2,
                     h, hf, s, sf);
    }
}

static void cmp_fma(uint64_t a, uint64_t b, uint64_t c, int np, int nc, int rm, int wide)
{
    PRESETS {
        uint32_t hf = pre, sf = pre;
        uint64_t h, s;
        if (wide) {
            h = f64_fma_host(a, b, c, np, nc, rm, &hf);
            s = f64_fma(a, b, c, np, nc, rm, &sf);
        } else {
            h = f32_fma_host((uint32_t)a, (uint32_t)b, (uint32_t)c, np, nc, rm, &hf);
            s = f32_fma((uint32_t)a, (uint32_t)b, (uint32_t)c, np, nc, rm, &sf);
        }
        if (h != s || hf != sf) {
            char name[32];
            snprintf(name, sizeof(name), "%s np=%d nc=%d", wide ? "f64_fma" : "f32_fma", np, nc);
            mismatch(name, rm, (uint64_t[]){ a, b, c, pre }, 4, h, hf, s, sf);
        }
    }
}

#define DONE() do { int f_ = fails; fails = 0; assert_int_equal(f_, 0); } while (0)

static void test_host_units(void **state)
{
    (void)state;
#if defined(__x86_64__)
    assert_true(fpu_host_units() & FPU_HOST_SSE);
#else
    assert_int_equal(fpu_host_units(), 0);
#endif
}

static void test_binary_edges(void **state)
{
    (void)state;
    for (int rm = FRM_RNE; rm <= FRM_RMM; rm++)
        for (size_t i = 0; i < N32; i++)
            for (size_t j = 0; j < N32; j++)
                for (int k = 0; k < 4; k++)
                    cmp32(k, edge32[i], edge32[j], rm);
    for (int rm = FRM_RNE; rm <= FRM_RMM; rm++)
        for (size_t i = 0; i < N64; i++)
            for (size_t j = 0; j < N64; j++)
                for (int k = 0; k < 4; k++)
                    cmp64(k, edge64[i], edge64[j], rm);
    DONE();
}

static void test_binary_random(void **state)
{
    (void)state;
    for (int n = 0; n < 400000; n++) {
        int rm = (int)(next() % 5), k = (int)(next() % 4);
        cmp32(k, rnd32(), rnd32(), rm);
        cmp64(k, rnd64(), rnd64(), rm);
    }
    DONE();
}

static void test_sqrt(void **state)
{
    (void)state;
    for (int rm = FRM_RNE; rm <= FRM_RMM; rm++) {
        for (size_t i = 0; i < N32; i++)
            cmp_sqrt(edge32[i], rm, 0);
        for (size_t i = 0; i < N64; i++)
            cmp_sqrt(edge64[i], rm, 1);
    }
    for (int n = 0; n < 200000; n++) {
        int rm = (int)(next() % 5);
        cmp_sqrt(rnd32(), rm, 0);
        cmp_sqrt(rnd64(), rm, 1);
    }
    DONE();
}

static void test_fma_edges(void **state)
{
    (void)state;
    /* 36^3 triples x 4 sign forms x 5 modes, each width. */
    for (int rm = FRM_RNE; rm <= FRM_RMM; rm++)
        for (int f = 0; f < 4; f++)
            for (size_t i = 0; i < N32; i++)
                for (size_t j = 0; j < N32; j++)
                    for (size_t l = 0; l < N32; l++) {
                        cmp_fma(edge32[i], edge32[j], edge32[l], f & 1, f >> 1, rm, 0);
                        cmp_fma(edge64[i], edge64[j], edge64[l], f & 1, f >> 1, rm, 1);
                    }
    DONE();
}

static void test_fma_random(void **state)
{
    (void)state;
    for (int n = 0; n < 300000; n++) {
        int rm = (int)(next() % 5), f = (int)(next() % 4);
        cmp_fma(rnd32(), rnd32(), rnd32(), f & 1, f >> 1, rm, 0);
        cmp_fma(rnd64(), rnd64(), rnd64(), f & 1, f >> 1, rm, 1);
        /* c close to -(a*b): cancellation, where the fused rounding shows */
        uint64_t a = rnd64(), b = rnd64(), c = 0;
        uint32_t fl = 0;
        c = f64_mul(a, b, FRM_RTZ, &fl) ^ (1ull << 63);
        cmp_fma(a, b, c, 0, 0, rm, 1);
        uint32_t a32 = rnd32(), b32 = rnd32();
        uint32_t c32 = f32_mul(a32, b32, FRM_RUP, &fl) ^ 0x80000000u;
        cmp_fma(a32, b32, c32, 0, 0, rm, 0);
    }
    DONE();
}

/* A thread whose MXCSR someone left rounding toward zero with
 * flush-to-zero: fpu_host_enter (hart_run's first step) puts back what
 * the fast paths assume, and they agree with the soft-float again. */
static void test_enter_resets_host_state(void **state)
{
    (void)state;
#if defined(__x86_64__)
    const uint32_t odd = 0x1f80u | (3u << 13) | (1u << 15);   /* RTZ, FTZ */
    __asm__ volatile("ldmxcsr %0" :: "m"(odd));
    fpu_host_enter();
    uint32_t now;
    __asm__ volatile("stmxcsr %0" : "=m"(now));
    assert_int_equal(now & ~0x3fu, 0x1f80u);
#endif
    for (int n = 0; n < 20000; n++) {
        cmp64(n % 4, rnd64(), rnd64(), FRM_RNE);
        cmp32(n % 4, rnd32(), rnd32(), FRM_RNE);
    }
    DONE();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_units),
        cmocka_unit_test(test_binary_edges),
        cmocka_unit_test(test_binary_random),
        cmocka_unit_test(test_sqrt),
        cmocka_unit_test(test_fma_edges),
        cmocka_unit_test(test_fma_random),
        cmocka_unit_test(test_enter_resets_host_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
