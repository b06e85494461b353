/* The benchmark guests' console: characters to the host over HTIF's
 * tohost (device 1, command 1: console output), and the few numbers
 * they print.  Bare metal, no libc: crt.S defines tohost/fromhost. */
#ifndef VESSEL_BENCH_HTIF_H
#define VESSEL_BENCH_HTIF_H

#include <stdint.h>

extern volatile uint64_t tohost, fromhost;

static void putch(char c)
{
    tohost = (1ULL << 56) | (1ULL << 48) | (uint8_t)c;
    while (tohost)
        ;   /* the host clears tohost once the character is taken */
}

static void puts_(const char *s) { while (*s) putch(*s++); }

static void puthex(uint64_t v)
{
    for (int i = 60; i >= 0; i -= 4)
        putch("0123456789abcdef"[(v >> i) & 15]);
}

static void putdec(uint64_t v)
{
    char b[24];
    int n = 0;
    do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) putch(b[--n]);
}

/* The benchmarks' report: "checksum <hex>" and "instructions <n>"
 * lines, which bench/cpu/run.sh and fp.sh read. */
static void put_result(uint64_t sum, uint64_t insns)
{
    puts_("checksum ");
    puthex(sum);
    puts_("\ninstructions ");
    putdec(insns);
    puts_("\n");
}

#endif
