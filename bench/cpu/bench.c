/* CPU benchmark guest: an integer mix (loops, branches, loads/stores,
 * multiplies, a hash, a sort, a sieve, a matrix product).  Prints a
 * checksum and the retired-instruction count over HTIF and exits 0 when
 * the checksum matches, so a miscomputing CPU fails the benchmark too. */
#include <stdint.h>

#include "htif.h"

#define N 4096
static uint32_t arr[N];
static uint8_t sieve[1 << 16];
static int32_t ma[32][32], mb[32][32], mc[32][32];

static uint32_t rng = 12345;
static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

static void sort(uint32_t *a, int lo, int hi)
{
    while (lo < hi) {
        uint32_t p = a[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { uint32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { sort(a, lo, j); lo = i; }
        else { sort(a, i, hi); hi = j; }
    }
}

static uint32_t fnv(const uint8_t *p, int n)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; }
    return h;
}

static uint64_t rdinstret(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, minstret" : "=r"(v));
    return v;
}

#ifndef ROUNDS
#define ROUNDS 60
#endif
#define EXPECTED 0x69d311ab49b69ca1ULL

int main(void)
{
    uint64_t sum = 0;
    uint64_t i0 = rdinstret();
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < N; i++) arr[i] = next();
        sort(arr, 0, N - 1);
        for (int i = 1; i < N; i++) if (arr[i - 1] > arr[i]) return 3;
        sum = sum * 31 + fnv((const uint8_t *)arr, sizeof(arr));

        for (int i = 0; i < (1 << 16); i++) sieve[i] = 1;
        for (int i = 2; i * i < (1 << 16); i++)
            if (sieve[i]) for (int j = i * i; j < (1 << 16); j += i) sieve[j] = 0;
        uint32_t primes = 0;
        for (int i = 2; i < (1 << 16); i++) primes += sieve[i];
        sum = sum * 31 + primes;

        for (int i = 0; i < 32; i++)
            for (int j = 0; j < 32; j++) { ma[i][j] = (int32_t)next() % 1000; mb[i][j] = (int32_t)next() % 1000; }
        for (int i = 0; i < 32; i++)
            for (int j = 0; j < 32; j++) {
                int64_t acc = 0;
                for (int k = 0; k < 32; k++) acc += (int64_t)ma[i][k] * mb[k][j];
                mc[i][j] = (int32_t)acc;
            }
        sum = sum * 31 + fnv((const uint8_t *)mc, sizeof(mc));
    }
    uint64_t insns = rdinstret() - i0;
    put_result(sum, insns);
    return (ROUNDS == 60 && sum != EXPECTED) ? 2 : 0;
}
