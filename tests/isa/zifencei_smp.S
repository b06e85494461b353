/* zifencei_smp: code rewritten by another hart (Zifencei, Unprivileged
 * ISA chapter 3: FENCE.I orders this hart's instruction fetches after the
 * stores it has observed, whichever hart made them).  Hart 0 makes
 * `target` hot (translated, in a translating build), hart 1 rewrites it
 * and raises a flag; once hart 0 has seen the flag, a FENCE.I, then a
 * call, must run the new instruction: first with hart 0 waiting, then
 * with hart 0 calling target in a loop while hart 1 patches it, and for a
 * 16-bit instruction.  Run with --cpus 2 (tests/run.sh: the _smp suffix). */
#include "test.h"
#define ADDI_A4(imm) (((imm) << 20) | (14 << 7) | 0x13)   /* addi a4, x0, imm */
#define C_LI_A4(imm) (0x4001 | (14 << 7) | (((imm) & 31) << 2))  /* c.li a4, imm */
/* How long hart 0 waits for hart 1, in ticks of the CLINT's mtime (10 MHz:
 * 20 s): a deadline, not a count of tries, because hart 1 is a host thread
 * the host may not run for a while.  mtime is read from the CLINT (also at
 * 0x02000000 on QEMU's spike, which has no time CSR). */
#define WAIT_TICKS 200000000
#define MTIME 0x0200bff8
#define RDMTIME(rd) li rd, MTIME; ld rd, 0(rd)

TEST_BEGIN
        /* 300 calls: hot in any build (JIT_HOT is 128 by default) */
        TEST_CASE(1, a4, 1, li a3, 300; 1: call target; addi a3, a3, -1; bnez a3, 1b)
        /* ask hart 1 (flag 1), wait until it is done (flag 2), fence.i, call */
        TEST_CASE(2, a4, 2, li a0, 1; li a1, 2; call ask_wait; fence.i; call target)
        /* the same patched code runs again, hot */
        TEST_CASE(3, a4, 2, li a3, 300; 1: call target; addi a3, a3, -1; bnez a3, 1b)
        /* hart 0 keeps calling target while hart 1 rewrites it (flag 3 -> 4):
         * whenever hart 0 saw flag 4 before its fence.i, the call returns 3;
         * before that it returns 2 or 3 */
        li TESTNUM, 4
        la s1, flag
        li t0, 3
        fence rw, rw
        sw t0, 0(s1)
        RDMTIME(s2)
        li t0, WAIT_TICKS
        add s2, s2, t0
1:      lw s3, 0(s1)
        fence.i
        call target
        li t0, 4
        bne s3, t0, 2f
        li t0, 3
        bne a4, t0, fail
        j 3f
2:      li t0, 2
        beq a4, t0, 4f
        li t0, 3
        bne a4, t0, fail
4:      RDMTIME(t0)
        bltu t0, s2, 1b
        j fail                          /* hart 1 never answered */
3:
        /* a 16-bit instruction written by hart 1 (flag 5 -> 6) */
        TEST_CASE(5, a4, 9, li a0, 5; li a1, 6; call ask_wait; fence.i; call target)
        TEST_END

/* Store a0 to flag, wait until it reads a1 (until WAIT_TICKS pass). */
ask_wait:
        la t0, flag
        fence rw, rw
        sw a0, 0(t0)
        RDMTIME(t1)
        li t2, WAIT_TICKS
        add t1, t1, t2
1:      lw t2, 0(t0)
        beq t2, a1, 2f
        RDMTIME(t3)
        bltu t3, t1, 1b
        j fail
2:      ret

/* Hart 1: no stack use beyond its own, no traps. */
        .globl secondary_main
secondary_main:
        la s0, flag
        la s1, target
1:      lw t0, 0(s0)
        li t1, 1
        beq t0, t1, p1
        li t1, 3
        beq t0, t1, p3
        li t1, 5
        beq t0, t1, p5
        j 1b
p1:     li t0, ADDI_A4(2)
        sw t0, 0(s1)
        li t1, 2
        j done
p3:     li t0, ADDI_A4(3)
        sw t0, 0(s1)
        li t1, 4
        j done
p5:     li t0, C_LI_A4(9) | (0x0001 << 16)   /* c.li a4, 9; c.nop */
        sw t0, 0(s1)
        li t1, 6
done:   fence w, w                          /* the code before the flag */
        sw t1, 0(s0)
        j 1b

        .section .text.target, "ax", @progbits
        .align 12
        .option push
        .option norvc
target:
        addi a4, x0, 1
        ret
        .option pop

        .data
        .align 3
flag:   .word 0
