/* sstc: the Sstc supervisor timer.  menvcfg.STCE (bit 63) = 1 and
 * mcounteren.TM = 1 make stimecmp (0x14d) accessible to S; mip.STIP then
 * follows (time >= stimecmp) and is not writable by software; the
 * interrupt is taken in S when delegated.  STCE = 0 or TM = 0 makes
 * stimecmp illegal from S.  Needs the `time` CSR, which QEMU's spike
 * machine lacks (then stimecmp is illegal too): listed in qemu-xfail.txt. */
#include "test.h"
#define STIMECMP 0x14d
#define MENVCFG 0x30a
TEST_BEGIN
        /* sip shows only delegated interrupts (Privileged spec 4.1.3):
         * delegate STI so S can see STIP. */
        li a1, MIP_STIP
        csrs mideleg, a1
        li a1, 1
        slli a1, a1, 63
        csrs MENVCFG, a1
        TEST_CASE(1, a4, 1, csrr a4, MENVCFG; srli a4, a4, 63)
        li a1, -1
        csrw STIMECMP, a1
        TEST_CASE(2, a4, 0, csrr a4, mip; andi a4, a4, MIP_STIP)
        /* STIP is read-only while STCE = 1 */
        TEST_CASE(3, a4, 0, li a1, MIP_STIP; csrs mip, a1; csrr a4, mip; andi a4, a4, MIP_STIP)
        GOTO_S
        TEST_CASE(4, a4, -1, csrr a4, STIMECMP)
        TEST_CASE(5, a4, MIP_STIP, csrw STIMECMP, zero; csrr a4, sip; andi a4, a4, MIP_STIP)
        TEST_CASE(6, a4, 0, li a1, -1; csrw STIMECMP, a1; csrr a4, sip; andi a4, a4, MIP_STIP)
        /* stimecmp = time + 1000: STIP rises later */
        TEST_CASE(7, a4, MIP_STIP, rdtime a1; addi a1, a1, 1000; csrw STIMECMP, a1; \
            li a3, 100000000; 1: csrr a4, sip; andi a4, a4, MIP_STIP; bnez a4, 2f; addi a3, a3, -1; bnez a3, 1b; 2:)
        GOTO_M
        /* delegated STI taken in S */
        li a1, MIP_STIP
        csrw mideleg, a1
        IRQ_LOG_RESET
        li a1, -1
        csrw STIMECMP, a1
        GOTO_S
        li a1, MIP_STIP
        csrs sie, a1
        csrsi sstatus, MSTATUS_SIE
        rdtime a1
        addi a1, a1, 500
        csrw STIMECMP, a1
        li a3, 100000000
1:      IRQ_LOG_COUNT(a4)
        bnez a4, 2f
        addi a3, a3, -1
        bnez a3, 1b
2:      csrci sstatus, MSTATUS_SIE
        IRQ_LOG_COUNT(a4)
        CHECK_EQ(8, a4, 1)
        IRQ_LOG_ENTRY(a4, 0)
        CHECK_EQ(9, a4, (1 << 8) | IRQ_STI)
        li a1, -1
        csrw STIMECMP, a1
        GOTO_M
        csrw mideleg, zero
        /* TM = 0: illegal from S */
        li a1, 5
        csrw mcounteren, a1
        GOTO_S
        TEST_ILLEGAL(10, 0x14d02773, csrr a4, STIMECMP)
        GOTO_M
        li a1, 7
        csrw mcounteren, a1
        /* STCE = 0: illegal from S */
        li a1, 1
        slli a1, a1, 63
        csrc MENVCFG, a1
        GOTO_S
        TEST_ILLEGAL(11, 0x14d02773, csrr a4, STIMECMP)
        GOTO_M
        /* STCE = 0: STIP is software-writable again */
        TEST_CASE(12, a4, MIP_STIP, li a1, MIP_STIP; csrs mip, a1; csrr a4, mip; andi a4, a4, MIP_STIP; csrc mip, a1)
        TEST_END
