/* rv64a_lrsc: load-reserved / store-conditional.
 * Success path (rd = 0, memory written), lr.w sign extension, failure
 * without a reservation, after a previous SC, and to a different address
 * (4 KiB away: outside any sane reservation set); failure leaves memory
 * alone and writes a nonzero rd.  LR/SC increment loop.  Misaligned LR
 * faults with cause 4 or 5, misaligned SC (6 or 7) is in qemu_xfail.S. */
#include "test.h"
TEST_BEGIN
        la a1, lrdat
        /* lr.w / sc.w success */
        TEST_CASE(1, a4, 0xffffffff80000001, li a2, 0x80000001; sw a2, 0(a1); lr.w a4, (a1))
        TEST_CASE(2, a5, 0, li a3, 0x12345678; sc.w a5, a3, (a1))
        TEST_CASE(3, a4, 0x12345678, lw a4, 0(a1))
        /* sc again: reservation already used -> fails, memory unchanged */
        TEST_CASE(4, a5, 1, li a3, 0x55; sc.w a5, a3, (a1); snez a5, a5)
        TEST_CASE(5, a4, 0x12345678, lw a4, 0(a1))
        /* lr.d / sc.d success */
        TEST_CASE(6, a4, 0x8000000000000001, li a2, 0x8000000000000001; sd a2, 8(a1); addi a6, a1, 8; lr.d a4, (a6))
        TEST_CASE(7, a5, 0, li a3, 0x0123456789abcdef; sc.d a5, a3, (a6))
        TEST_CASE(8, a4, 0x0123456789abcdef, ld a4, 8(a1))
        TEST_CASE(9, a5, 1, sc.d a5, a3, (a6); snez a5, a5)
        /* sc to a different address than the lr fails */
        TEST_CASE(10, a5, 1, li a7, 4096; add a7, a7, a1; li a2, 7; sd a2, 0(a1); li a2, 9; sd a2, 0(a7); lr.d a4, (a1); li a3, 0x77; sc.d a5, a3, (a7); snez a5, a5)
        TEST_CASE(11, a4, 9, ld a4, 0(a7))
        TEST_CASE(12, a4, 7, ld a4, 0(a1))
        /* and does not leave a usable reservation on the lr address either
         * (an SC always invalidates the reservation) */
        TEST_CASE(13, a5, 1, sc.d a5, a3, (a1); snez a5, a5)
        TEST_CASE(14, a4, 7, ld a4, 0(a1))
        /* lr after lr: the newest reservation counts */
        TEST_CASE(15, a5, 0, lr.d a4, (a7); lr.d a4, (a1); li a3, 0x99; sc.d a5, a3, (a1))
        TEST_CASE(16, a4, 0x99, ld a4, 0(a1))
        /* aq/rl variants */
        TEST_CASE(17, a5, 0, lr.w.aq a4, (a1); sc.w.rl a5, a3, (a1))
        TEST_CASE(18, a5, 0, lr.d.aqrl a4, (a1); sc.d.aqrl a5, a3, (a1))
        /* sc.w rd receives 0 on success even if rd == rs2 */
        TEST_CASE(19, a3, 0, li a3, 0x42; lr.w a4, (a1); sc.w a3, a3, (a1))
        TEST_CASE(20, a4, 0x42, lw a4, 0(a1))
        /* atomic increment loop */
        TEST_CASE(21, a4, 100, sd zero, 0(a1); li a2, 100; \
            1: lr.d a4, (a1); addi a4, a4, 1; sc.d a5, a4, (a1); bnez a5, 1b; addi a2, a2, -1; bnez a2, 1b; ld a4, 0(a1))
        TEST_CASE(22, a4, 0xffffffffffffff9c, sw zero, 0(a1); li a2, 100; \
            1: lr.w a4, (a1); addi a4, a4, -1; sc.w a5, a4, (a1); bnez a5, 1b; addi a2, a2, -1; bnez a2, 1b; lw a4, 0(a1))

        /* misaligned lr: 4 (load address misaligned) or 5 (load access) */
        li TESTNUM, 30
        addi a6, a1, 2
        EXPECT_TRAP_FULL(9, 4, x0, 10f, 11f)
10:     lr.w a4, (a6)
11:     li t5, 4; beq t6, t5, 12f; li t5, 5; bne t6, t5, fail; 12:
        li TESTNUM, 31
        addi a6, a1, 4
        EXPECT_TRAP_FULL(9, 4, x0, 10f, 11f)
10:     lr.d a4, (a6)
11:     li t5, 4; beq t6, t5, 12f; li t5, 5; bne t6, t5, fail; 12:
        /* misaligned sc: see qemu_xfail.S (QEMU 7.2 fails the SC without trapping) */
        TEST_END

        .data
        .align 12
lrdat:  .zero 8192
