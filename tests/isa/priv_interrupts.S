/* priv_interrupts: machine and supervisor interrupts.
 * CLINT msip (MSI), CLINT mtimecmp (MTI), software-writable mip.SSIP /
 * STIP / SEIP; mie and mstatus.MIE / SIE gating; priority order
 * MEI > MSI > MTI > SEI > SSI > STI is checked in qemu_xfail.S; vectored mtvec / stvec (pc = base + 4 * cause); WFI wakes on a
 * pending enabled interrupt even with MIE = 0; mideleg; S interrupts are
 * always taken in U-mode and never in M-mode.  The crt handlers log
 * (handler << 8 | code) in irq_log and mask the source in mie / sie. */
#include "test.h"
#define LOGN(n, count) IRQ_LOG_COUNT(a4) CHECK_EQ(n, a4, count)
#define LOGE(n, i, val) IRQ_LOG_ENTRY(a4, i) CHECK_EQ(n, a4, val)
TEST_BEGIN
        li s2, CLINT_MSIP
        li s3, CLINT_MTIMECMP
        li s4, CLINT_MTIME
        li a1, -1
        sd a1, 0(s3)                    /* no timer */
        /* 1. MSI via CLINT msip, gated by mie.MSIE and mstatus.MIE */
        IRQ_LOG_RESET
        li a1, 1
        sw a1, 0(s2)
        TEST_CASE(1, a4, MIP_MSIP, csrr a4, mip; andi a4, a4, MIP_MSIP)
        csrsi mstatus, MSTATUS_MIE      /* MIE = 1 but mie.MSIE = 0 */
        nop; nop
        LOGN(2, 0)
        csrci mstatus, MSTATUS_MIE
        li a1, MIP_MSIP
        csrs mie, a1                    /* mie.MSIE = 1 but MIE = 0 */
        nop; nop
        LOGN(3, 0)
        csrsi mstatus, MSTATUS_MIE      /* now taken */
        nop; nop
        csrci mstatus, MSTATUS_MIE
        LOGN(4, 1)
        LOGE(5, 0, (3 << 8) | IRQ_MSI)
        sw zero, 0(s2)
        TEST_CASE(6, a4, 0, csrr a4, mip; andi a4, a4, MIP_MSIP)
        /* mcause of the interrupt had the interrupt bit (checked by the
         * handler's branch); mepc pointed at an instruction after csrsi */

        /* 2. MTI: mtimecmp <= mtime pends MTIP; raising mtimecmp clears it */
        IRQ_LOG_RESET
        sd zero, 0(s3)
        TEST_CASE(10, a4, MIP_MTIP, csrr a4, mip; andi a4, a4, MIP_MTIP)
        li a1, MIP_MTIP
        csrs mie, a1
        csrsi mstatus, MSTATUS_MIE
        nop; nop
        csrci mstatus, MSTATUS_MIE
        LOGN(11, 1)
        LOGE(12, 0, (3 << 8) | IRQ_MTI)
        li a1, -1
        sd a1, 0(s3)
        TEST_CASE(13, a4, 0, csrr a4, mip; andi a4, a4, MIP_MTIP)
        /* the timer fires later: mtimecmp = mtime + 1000, spin (MIE = 1) */
        IRQ_LOG_RESET
        ld a1, 0(s4)
        addi a1, a1, 1000
        sd a1, 0(s3)
        li a1, MIP_MTIP
        csrs mie, a1
        csrsi mstatus, MSTATUS_MIE
        li a3, 100000000
1:      IRQ_LOG_COUNT(a4)
        bnez a4, 2f
        addi a3, a3, -1
        bnez a3, 1b
2:      csrci mstatus, MSTATUS_MIE
        LOGN(14, 1)
        LOGE(15, 0, (3 << 8) | IRQ_MTI)
        li a1, -1
        sd a1, 0(s3)

        /* 3. WFI wakes up on pending & enabled even with MIE = 0 (no trap) */
        IRQ_LOG_RESET
        ld a1, 0(s4)
        addi a1, a1, 500
        sd a1, 0(s3)
        li a1, MIP_MTIP
        csrs mie, a1
        li a3, 1000
1:      wfi                             /* may return early: loop until MTIP */
        csrr a4, mip
        andi a4, a4, MIP_MTIP
        bnez a4, 2f
        addi a3, a3, -1
        bnez a3, 1b
2:      CHECK_EQ(20, a4, MIP_MTIP)
        LOGN(21, 0)
        csrw mie, zero
        li a1, -1
        sd a1, 0(s3)

        /* 4. software-writable mip bits (no delegation: taken in M) */
        IRQ_LOG_RESET
        TEST_CASE(30, a4, MIP_SSIP | MIP_STIP | MIP_SEIP, li a1, MIP_SSIP | MIP_STIP | MIP_SEIP; csrs mip, a1; csrr a4, mip; and a4, a4, a1)
        li a1, MIP_SSIP | MIP_STIP | MIP_SEIP
        csrc mip, a1
        TEST_CASE(31, a4, 0, csrr a4, mip; and a4, a4, a1)

        /* 5. priority order: in qemu_xfail.S (QEMU 7.2 takes the lowest
         * pending bit first) */

        /* 6. vectored mtvec: interrupt code i enters at base + 4 * i */
        la a1, mtvec_table
        ori a1, a1, 1
        csrw mtvec, a1
        TEST_CASE(50, a4, 1, csrr a4, mtvec; andi a4, a4, 3)
        IRQ_LOG_RESET
        li a1, MIP_SSIP
        csrs mip, a1
        csrs mie, a1
        csrsi mstatus, MSTATUS_MIE
        nop; nop
        csrci mstatus, MSTATUS_MIE
        TEST_CASE(51, a4, IRQ_SSI, la a1, irq_vec; ld a4, 0(a1))
        li a1, MIP_SSIP
        csrc mip, a1
        li a1, 1
        sw a1, 0(s2)
        li a1, MIP_MSIP
        csrs mie, a1
        csrsi mstatus, MSTATUS_MIE
        nop; nop
        csrci mstatus, MSTATUS_MIE
        sw zero, 0(s2)
        TEST_CASE(52, a4, IRQ_MSI, la a1, irq_vec; ld a4, 0(a1))
        /* exceptions still enter at the base */
        TEST_TRAP_NOTVAL(53, CAUSE_BREAKPOINT, ebreak)
        TEST_CASE(54, a4, 0, la a1, irq_vec; ld a4, 0(a1))
        la a1, trap_vector
        csrw mtvec, a1

        /* 7. delegation: SSI delegated to S, taken in S with SIE = 1 */
        li a1, MIP_SSIP | MIP_STIP | MIP_SEIP
        csrw mideleg, a1
        TEST_CASE(60, a4, MIP_SSIP | MIP_STIP | MIP_SEIP, csrr a4, mideleg; li a2, 0xaaa; and a4, a4, a2)
        IRQ_LOG_RESET
        li a1, MIP_SSIP
        csrs mie, a1
        csrs mip, a1
        /* in M-mode a delegated interrupt is never taken */
        csrsi mstatus, MSTATUS_MIE | MSTATUS_SIE
        nop; nop
        csrci mstatus, MSTATUS_MIE | MSTATUS_SIE
        LOGN(61, 0)
        GOTO_S
        /* sie / sip show delegated bits */
        TEST_CASE(62, a4, MIP_SSIP, csrr a4, sip; andi a4, a4, MIP_SSIP)
        TEST_CASE(63, a4, MIP_SSIP, csrr a4, sie; andi a4, a4, MIP_SSIP)
        LOGN(64, 0)                      /* SIE = 0 in S: not taken */
        csrsi sstatus, MSTATUS_SIE
        nop; nop
        csrci sstatus, MSTATUS_SIE
        LOGN(65, 1)
        LOGE(66, 0, (1 << 8) | IRQ_SSI)
        /* S clears SSIP through sip */
        TEST_CASE(67, a4, 0, li a1, MIP_SSIP; csrc sip, a1; csrr a4, sip; andi a4, a4, MIP_SSIP)
        /* vectored stvec */
        la a1, stvec_table
        ori a1, a1, 1
        csrw stvec, a1
        IRQ_LOG_RESET
        li a1, MIP_SSIP
        csrs sie, a1
        csrs sip, a1
        csrsi sstatus, MSTATUS_SIE
        nop; nop
        csrci sstatus, MSTATUS_SIE
        LOGN(68, 1)
        TEST_CASE(69, a4, IRQ_SSI, la a1, irq_vec; ld a4, 0(a1))
        la a1, s_trap_vector
        csrw stvec, a1
        /* in U, S interrupts are taken even with SIE = 0 */
        IRQ_LOG_RESET
        li a1, MIP_SSIP
        csrc sip, a1
        csrs sie, a1
        S_GOTO_U
        LOGN(70, 0)
        GOTO_M
        li a1, MIP_SSIP
        csrs mip, a1
        GOTO_U
        nop; nop
        LOGN(71, 1)
        LOGE(72, 0, (1 << 8) | IRQ_SSI)
        /* M interrupts are taken in U whatever MIE says */
        IRQ_LOG_RESET
        GOTO_M
        li a1, MIP_MSIP
        csrs mie, a1
        li a1, 1
        sw a1, 0(s2)
        GOTO_U
        nop; nop
        LOGN(73, 1)
        LOGE(74, 0, (3 << 8) | IRQ_MSI)
        GOTO_M
        sw zero, 0(s2)
        /* non-delegated STI in S is taken by M */
        IRQ_LOG_RESET
        csrw mideleg, zero
        li a1, MIP_STIP
        csrs mip, a1
        csrs mie, a1
        GOTO_S
        nop; nop
        LOGN(75, 1)
        LOGE(76, 0, (3 << 8) | IRQ_STI)
        GOTO_M
        li a1, MIP_STIP
        csrc mip, a1
        csrw mie, zero
        TEST_END
