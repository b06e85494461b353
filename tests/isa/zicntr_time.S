/* zicntr_time: the `time` CSR (rdtime) mirrors the CLINT mtime at
 * 0x0200bff8 and is readable from M, S and U (mcounteren/scounteren.TM
 * set by crt).  QEMU's spike machine provides no time CSR (rdtime is an
 * illegal instruction there), so this test only runs on Vessel (listed in
 * qemu-xfail.txt); on QEMU it can be checked with -machine virt by hand. */
#include "test.h"
TEST_BEGIN
        /* mtime read before <= time <= mtime read after */
        TEST_CASE(1, a4, 0, li a5, CLINT_MTIME; ld a1, 0(a5); rdtime a2; ld a3, 0(a5); sltu a4, a2, a1)
        TEST_CASE(2, a4, 0, sltu a4, a3, a2)
        /* time advances (spin until it changes, bounded) */
        TEST_CASE(3, a4, 1, rdtime a1; li a3, 10000000; 1: rdtime a2; bne a2, a1, 2f; addi a3, a3, -1; bnez a3, 1b; 2: sltu a4, a1, a2)
        /* writing mtime moves time */
        TEST_CASE(4, a4, 1, li a5, CLINT_MTIME; ld a1, 0(a5); li a2, 0x10000000000; add a2, a2, a1; sd a2, 0(a5); rdtime a3; sltu a4, a3, a2; xori a4, a4, 1)
        GOTO_S
        TEST_CASE(5, a4, 1, rdtime a1; snez a4, a1)
        S_GOTO_U
        TEST_CASE(6, a4, 1, rdtime a1; snez a4, a1)
        GOTO_M
        /* time is read-only */
        TEST_ILLEGAL(7, 0xc0159073, csrw time, a1)
        TEST_END
