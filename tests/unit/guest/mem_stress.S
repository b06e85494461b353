/* A four-hart bare-metal guest for tests/unit/test_mem_lease.c: while it
 * runs, the host gives the pages it uses (its code, its data) new backing
 * over and over, and the program checks that not one store, AMO or LR/SC
 * was lost or doubled.
 *
 * Each hart loops until the host sets the stop word, each iteration:
 *   - increments one word (chosen by the iteration number) in each of its
 *     PRIV_PAGES private pages (load, add, store);
 *   - amoadd.d on word A, an LR/SC increment of word B, amoadd.w on the
 *     32-bit word C (all harts on the same words);
 *   - increments its own slot D[hart] in a page every hart stores to;
 *   - publishes its iteration count (progress[hart]) for the host.
 * At the stop each hart records its count (iters[hart]) and hart 0 checks,
 * when all are done: every private page sums to its hart's count, D[h] is
 * hart h's count, A and B are the total, C is the total mod 2^32.  It
 * exits through HTIF: status 0 passed; otherwise the status names the
 * check (2 A, 3 B, 4 C, 0x10 + h D[h], 0x20 + 8h + k private page k of
 * hart h).  Harts beyond the fourth park.
 *
 * Layout (RAM at 0x80000000, the program in its first pages):
 *   CTL     stop @0, done @8, iters[h] @64 + 8h, progress[h] @128 + 8h
 *   SHARED  A @0; page +1: B @0, C @64; page +2: D[h] @8h
 *   PRIV    hart h's pages from PRIV + h * PRIV_PAGES * 4 KiB */
#define NHARTS      4
#define CTL         0x80100000
#define SHARED      0x80101000
#define PRIV        0x80110000
#define PRIV_PAGES  8

        .section .text.init, "ax", @progbits
        .globl _start
_start:
        csrr s11, mhartid
        li t0, NHARTS
        bgeu s11, t0, park
        li s0, 0                        /* iterations done */
        li s1, CTL
        li s2, SHARED
        li t0, PRIV_PAGES * 4096
        mul t0, t0, s11
        li s3, PRIV
        add s3, s3, t0                  /* this hart's private pages */
        slli s4, s11, 3                 /* 8 * hart */
        li s5, 1
        li s6, 4096
        add s7, s2, s6                  /* &B */
        addi s8, s7, 64                 /* &C */
        add s9, s7, s6
        add s9, s9, s4                  /* &D[hart] */
        add s10, s1, s4                 /* CTL + 8 * hart */

loop:   ld t0, 0(s1)
        bnez t0, finish
        andi t1, s0, 511
        slli t1, t1, 3
        add t1, t1, s3
        li t2, PRIV_PAGES
1:      ld t3, 0(t1)
        addi t3, t3, 1
        sd t3, 0(t1)
        add t1, t1, s6
        addi t2, t2, -1
        bnez t2, 1b
        amoadd.d zero, s5, (s2)
2:      lr.d t3, (s7)
        addi t3, t3, 1
        sc.d t4, t3, (s7)
        bnez t4, 2b
        amoadd.w zero, s5, (s8)
        ld t3, 0(s9)
        addi t3, t3, 1
        sd t3, 0(s9)
        addi s0, s0, 1
        sd s0, 128(s10)
        j loop

finish: sd s0, 64(s10)
        fence rw, rw
        addi t0, s1, 8
        amoadd.d zero, s5, (t0)
        bnez s11, park
        li t0, NHARTS
3:      ld t1, 8(s1)
        bne t1, t0, 3b
        fence rw, rw

        li t2, 0                        /* total */
        li t3, 0                        /* hart h */
4:      slli t5, t3, 3
        add t5, t5, s1
        ld t6, 64(t5)                   /* iters[h] */
        add t2, t2, t6
        slli t5, t3, 3                  /* D[h] */
        add t5, t5, s2
        add t5, t5, s6
        add t5, t5, s6
        ld a1, 0(t5)
        addi a0, t3, 0x10
        bne a1, t6, fail
        li t0, PRIV_PAGES * 4096        /* hart h's pages */
        mul t0, t0, t3
        li a2, PRIV
        add a2, a2, t0
        li a3, 0                        /* page k */
5:      li a4, 0                        /* sum of its 512 words */
        li a5, 512
        mv a6, a2
6:      ld a7, 0(a6)
        add a4, a4, a7
        addi a6, a6, 8
        addi a5, a5, -1
        bnez a5, 6b
        slli a0, t3, 3
        add a0, a0, a3
        addi a0, a0, 0x20
        bne a4, t6, fail
        add a2, a2, s6
        addi a3, a3, 1
        li a5, PRIV_PAGES
        blt a3, a5, 5b
        addi t3, t3, 1
        li t0, NHARTS
        blt t3, t0, 4b

        ld a1, 0(s2)
        li a0, 2
        bne a1, t2, fail
        ld a1, 0(s7)
        li a0, 3
        bne a1, t2, fail
        lwu a1, 0(s8)
        slli t0, t2, 32
        srli t0, t0, 32
        li a0, 4
        bne a1, t0, fail
        li a0, 0

fail:                                   /* a0 = status */
        slli a0, a0, 1
        ori a0, a0, 1
        la t0, tohost
        sd a0, 0(t0)
park:   wfi
        j park

        .section .tohost, "aw", @progbits
        .align 3
        .globl tohost
tohost: .dword 0
        .globl fromhost
fromhost: .dword 0
