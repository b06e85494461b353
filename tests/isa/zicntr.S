/* zicntr: cycle, time, instret (and the M-mode mcycle/minstret).
 * Counters are readable and move forward,
 * mcycle/minstret are writable from M-mode.  The exact instret count is
 * checked in qemu_xfail.S (QEMU 7.2 without -icount counts host ticks).
 * mcounteren/scounteren gating from S/U is in csr_misc.S. */
#include "test.h"
TEST_BEGIN
        /* cycle and instret advance */
        TEST_CASE(1, a4, 1, rdcycle a1; li a3, 100; 1: addi a3, a3, -1; bnez a3, 1b; rdcycle a2; sltu a4, a1, a2)
        TEST_CASE(2, a4, 1, rdinstret a1; li a3, 100; 1: addi a3, a3, -1; bnez a3, 1b; rdinstret a2; sub a5, a2, a1; sltiu a4, a5, 201; seqz a4, a4)
        /* the time CSR is tested in zicntr_time.S (QEMU's spike has none) */
        /* M-mode aliases */
        TEST_CASE(6, a4, 1, csrr a1, mcycle; rdcycle a2; sltu a4, a2, a1; xori a4, a4, 1)
        TEST_CASE(7, a4, 1, csrr a1, minstret; rdinstret a2; sltu a4, a2, a1; xori a4, a4, 1)
        /* writable: minstret/mcycle take the written value and go on counting */
        TEST_CASE(8, a4, 1, li a1, 0x100000000000; csrw minstret, a1; csrr a2, minstret; sub a2, a2, a1; srli a2, a2, 24; seqz a4, a2)
        TEST_CASE(9, a4, 1, li a1, 0x200000000000; csrw mcycle, a1; csrr a2, mcycle; sltu a4, a2, a1; xori a4, a4, 1)
        TEST_CASE(10, a4, 1, rdcycle a3; sltu a4, a3, a1; xori a4, a4, 1)
        /* user-level reads work from U-mode when mcounteren/scounteren allow
         * (crt sets both to 7) */
        GOTO_U
        TEST_CASE(11, a4, 1, rdcycle a1; rdinstret a2; snez a4, a2)
        GOTO_M
        TEST_END
