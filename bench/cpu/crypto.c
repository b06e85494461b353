/* Integer crypto benchmark guest: the work that dominates a Linux boot's
 * instruction count (module signature checks and the crypto self-tests):
 * SHA-256 (FIPS 180-4 section 6.2) with its rounds unrolled eight at a
 * time, as compiled kernels have it (straight-line code that keeps some
 * 25 registers live), and a multiprecision multiply-accumulate (the inner
 * loop of RSA and elliptic-curve arithmetic: 64x64->128-bit products and
 * carry chains).  Self-checking: SHA-256("abc") must be FIPS 180-4's
 * example digest, and the checksum of the whole run the one below.
 * bench/cpu/crypto.sh runs it under Vessel and QEMU. */
#include <stdint.h>

#include "htif.h"

static uint64_t rdinstret(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, minstret" : "=r"(v));
    return v;
}

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, unsigned n) { return x >> n | x << (32 - n); }

#define S0(x) (ror(x, 2) ^ ror(x, 13) ^ ror(x, 22))
#define S1(x) (ror(x, 6) ^ ror(x, 11) ^ ror(x, 25))
#define s0(x) (ror(x, 7) ^ ror(x, 18) ^ (x >> 3))
#define s1(x) (ror(x, 17) ^ ror(x, 19) ^ (x >> 10))
#define CH(x, y, z) ((x & y) ^ (~x & z))
#define MAJ(x, y, z) ((x & y) | (z & (x | y)))
#define ROUND(a, b, c, d, e, f, g, h, i) do {                     \
        uint32_t t1 = h + S1(e) + CH(e, f, g) + K[i] + W[i];      \
        uint32_t t2 = S0(a) + MAJ(a, b, c);                       \
        d += t1;                                                  \
        h = t1 + t2;                                              \
    } while (0)

/* One 64-byte block into the state (FIPS 180-4 6.2.2). */
__attribute__((noinline)) static void sha256_block(uint32_t st[8], const uint8_t *p)
{
    uint32_t W[64];
    for (int i = 0; i < 16; i++)
        W[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++)
        W[i] = s1(W[i - 2]) + W[i - 7] + s0(W[i - 15]) + W[i - 16];
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
    uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
    for (int i = 0; i < 64; i += 8) {
        ROUND(a, b, c, d, e, f, g, h, i);
        ROUND(h, a, b, c, d, e, f, g, i + 1);
        ROUND(g, h, a, b, c, d, e, f, i + 2);
        ROUND(f, g, h, a, b, c, d, e, i + 3);
        ROUND(e, f, g, h, a, b, c, d, i + 4);
        ROUND(d, e, f, g, h, a, b, c, i + 5);
        ROUND(c, d, e, f, g, h, a, b, i + 6);
        ROUND(b, c, d, e, f, g, h, a, i + 7);
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d;
    st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

/* SHA-256 of n bytes (padding per FIPS 180-4 5.1.1). */
static void sha256(const uint8_t *msg, uint64_t n, uint32_t st[8])
{
    static const uint32_t H0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    for (int i = 0; i < 8; i++)
        st[i] = H0[i];
    uint64_t i = 0;
    for (; i + 64 <= n; i += 64)
        sha256_block(st, msg + i);
    uint8_t last[128] = { 0 };
    uint64_t r = n - i;
    for (uint64_t k = 0; k < r; k++)
        last[k] = msg[i + k];
    last[r] = 0x80;
    uint64_t len = r + 9 <= 64 ? 64 : 128;
    for (int k = 0; k < 8; k++)
        last[len - 1 - k] = (uint8_t)((n * 8) >> (8 * k));
    for (uint64_t k = 0; k < len; k += 64)
        sha256_block(st, last + k);
}

/* r[0..n) += a[0..n) * m; returns the carry out (the shape of a
 * bignum library's addmul_1). */
__attribute__((noinline)) static uint64_t addmul_1(uint64_t *r, const uint64_t *a, int n,
                                                   uint64_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < n; i++) {
        unsigned __int128 p = (unsigned __int128)a[i] * m + carry;
        uint64_t lo = (uint64_t)p;
        carry = (uint64_t)(p >> 64);
        lo += r[i];
        carry += lo < r[i];
        r[i] = lo;
    }
    return carry;
}

/* A 2048-bit by 2048-bit product, schoolbook, into a 4096-bit r. */
static void mul2048(uint64_t r[64], const uint64_t a[32], const uint64_t b[32])
{
    for (int i = 0; i < 64; i++)
        r[i] = 0;
    for (int i = 0; i < 32; i++)
        r[i + 32] = addmul_1(r + i, a, 32, b[i]);
}

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ULL; }

#ifndef ROUNDS
#define ROUNDS 2000
#endif
#define EXPECTED 0xa18bf0a3ef5b61edULL   /* ROUNDS 2000 */

static uint8_t buf[16384];

int main(void)
{
    static const uint32_t abc[8] = { 0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223,
                                     0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad };
    uint32_t st[8];
    sha256((const uint8_t *)"abc", 3, st);
    for (int i = 0; i < 8; i++)
        if (st[i] != abc[i]) {
            puts_("sha256(\"abc\") is wrong\n");
            return 3;
        }
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (unsigned i = 0; i < sizeof(buf); i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    uint64_t a[32], b[32], r[64], sum = 0;
    uint64_t i0 = rdinstret();
    for (int round = 0; round < ROUNDS; round++) {
        buf[round % sizeof(buf)] ^= (uint8_t)round;
        sha256(buf, sizeof(buf), st);
        for (int i = 0; i < 8; i++)
            sum = mix(sum, st[i]);
        for (int i = 0; i < 32; i++) {
            a[i] = mix(sum, (uint64_t)i);
            b[i] = mix(sum, (uint64_t)i + 32);
        }
        for (int k = 0; k < 8; k++) {
            mul2048(r, a, b);
            for (int i = 0; i < 32; i++)
                a[i] = r[i + 16];
        }
        for (int i = 0; i < 64; i++)
            sum = mix(sum, r[i]);
    }
    uint64_t insns = rdinstret() - i0;
    put_result(sum, insns);
    return (ROUNDS == 2000 && sum != EXPECTED) ? 2 : 0;
}
