/* Floating-point benchmark guest: double and single precision kernels of
 * the kinds compiled code runs (a Mandelbrot set: multiplies, adds,
 * compares; a matrix product: fused multiply-adds, loads and stores; a
 * square-root and divide recurrence; a single-precision saxpy with
 * conversions).  Prints a checksum of every result's bits and the
 * retired-instruction count over HTIF, and exits non-zero when the
 * checksum is not the one IEEE 754 arithmetic gives, so a CPU that
 * rounds or flags differently fails the benchmark too.
 * bench/cpu/fp.sh runs it under Vessel and QEMU. */
#include <stdint.h>

#include "htif.h"

static uint64_t rdinstret(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, minstret" : "=r"(v));
    return v;
}

static uint64_t bits(double d) { union { double d; uint64_t u; } x = { d }; return x.u; }
static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ULL; }

/* Iterations to escape, summed over a 96 x 72 grid. */
__attribute__((noinline)) static uint64_t mandel(void)
{
    uint64_t total = 0;
    for (int py = 0; py < 72; py++)
        for (int px = 0; px < 96; px++) {
            double cr = -2.0 + px * (3.0 / 96), ci = -1.2 + py * (2.4 / 72);
            double zr = 0, zi = 0;
            int it = 0;
            while (it < 256 && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                it++;
            }
            total += (uint64_t)it;
        }
    return total;
}

#define N 40
static double ma[N][N], mb[N][N], mc[N][N];

__attribute__((noinline)) static uint64_t matmul(int round)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            ma[i][j] = (double)(i * N + j + round) / 7.0;
            mb[i][j] = (double)(j - i) / 3.0 + 0.5;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < N; k++)
                acc = __builtin_fma(ma[i][k], mb[k][j], acc);
            mc[i][j] = acc;
        }
    uint64_t h = 0;
    for (int i = 0; i < N; i++)
        h = mix(h, bits(mc[i][i]));
    return h;
}

__attribute__((noinline)) static uint64_t roots(void)
{
    double x = 1.0;
    for (int i = 1; i <= 4000; i++)
        x = __builtin_sqrt(x + i) / (1.0 + 1.0 / i);
    return bits(x);
}

#define M 1024
static float fx[M], fy[M];

__attribute__((noinline)) static uint64_t saxpy(void)
{
    for (int i = 0; i < M; i++) {
        fx[i] = (float)i * 0.25f;
        fy[i] = (float)(M - i);
    }
    for (int r = 0; r < 8; r++)
        for (int i = 0; i < M; i++)
            fy[i] = 1.0001f * fx[i] + fy[i];
    uint64_t h = 0;
    for (int i = 0; i < M; i += 64)
        h = mix(h, (uint64_t)(int64_t)fy[i]);
    return h;
}

/* mstatus.FS = Initial: floating point on (it is off at reset). */
__attribute__((noinline)) static void fp_on(void)
{
    __asm__ volatile("csrs mstatus, %0" :: "r"(1UL << 13));
}

#ifndef ROUNDS
#define ROUNDS 600
#endif
#define EXPECTED 0x37cb882b60b0cd50ULL   /* IEEE 754 binary32/64, RNE, ROUNDS 600 */

int main(void)
{
    fp_on();
    uint64_t sum = 0;
    uint64_t i0 = rdinstret();
    for (int round = 0; round < ROUNDS; round++) {
        sum = mix(sum, mandel());
        sum = mix(sum, matmul(round));
        sum = mix(sum, roots());
        sum = mix(sum, saxpy());
    }
    uint64_t insns = rdinstret() - i0;
    put_result(sum, insns);
    return (ROUNDS == 600 && sum != EXPECTED) ? 2 : 0;
}
