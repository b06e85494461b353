/* priv_deleg: exception delegation to S-mode (medeleg), the sstatus view
 * of mstatus, SPP/SPIE/SIE on S trap entry and sret, MPP/MPIE on M trap
 * entry and mret, traps never delegated to a lower privilege, and the
 * TSR / TW / TVM traps. */
#include "test.h"
#define DELEG ((1 << CAUSE_ILLEGAL_INSN) | (1 << CAUSE_BREAKPOINT) | (1 << CAUSE_USER_ECALL) | (1 << CAUSE_LOAD_ACCESS))
TEST_BEGIN
        li a1, DELEG
        csrw medeleg, a1
        TEST_CASE(1, a4, DELEG, csrr a4, medeleg)
        /* from U: illegal instruction goes to S, stval = insn, SPP = 0 */
        GOTO_U
        TEST_ILLEGAL_WORD(2, 0xffffffff)
        TEST_CASE(3, a4, 1, la a1, trap_rec; ld a4, TR_HANDLER(a1))
        TEST_CASE(4, a4, 0, ld a4, TR_PRIV(a1))
        TEST_TRAP_NOTVAL(5, CAUSE_BREAKPOINT, ebreak)
        TEST_CASE(6, a4, 1, ld a4, TR_HANDLER(a1))
        li a7, 0
        TEST_TRAP(7, CAUSE_USER_ECALL, 0, ecall)
        TEST_CASE(8, a4, 1, ld a4, TR_HANDLER(a1))
        li a2, 0
        TEST_TRAP(9, CAUSE_LOAD_ACCESS, 0, ld a4, 0(a2))
        TEST_CASE(10, a4, 1, ld a4, TR_HANDLER(a1))
        /* not delegated: store access fault still goes to M */
        TEST_TRAP(11, CAUSE_STORE_ACCESS, 0, sd a4, 0(a2))
        TEST_CASE(12, a4, 3, ld a4, TR_HANDLER(a1))
        GOTO_M
        /* from S: delegated causes stay in S, SPP = 1 */
        GOTO_S
        TEST_ILLEGAL(13, 0x30200073, mret)
        TEST_CASE(14, a4, 1, la a1, trap_rec; ld a4, TR_HANDLER(a1))
        TEST_CASE(15, a4, 1, ld a4, TR_PRIV(a1))
        /* ecall from S is not delegated (bit 9 clear) */
        li a7, 0
        TEST_TRAP(16, CAUSE_SUPERVISOR_ECALL, 0, ecall)
        TEST_CASE(17, a4, 3, ld a4, TR_HANDLER(a1))
        /* S trap entry with SIE = 1: SPIE = 1, SIE = 0; sret restores */
        csrsi sstatus, MSTATUS_SIE
        TEST_TRAP_NOTVAL(18, CAUSE_BREAKPOINT, ebreak)
        TEST_CASE(19, a4, MSTATUS_SPIE | MSTATUS_SPP, ld a4, TR_STATUS(a1); andi a4, a4, MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SIE)
        TEST_CASE(20, a4, MSTATUS_SIE, csrr a4, sstatus; andi a4, a4, MSTATUS_SIE)
        csrci sstatus, MSTATUS_SIE
        /* sret by hand: SIE = SPIE, SPIE = 1, SPP = U, to U at sepc */
        TEST_CASE(21, a4, MSTATUS_SPIE, li a2, MSTATUS_SPP; csrs sstatus, a2; csrci sstatus, MSTATUS_SIE; li a2, MSTATUS_SPIE; csrs sstatus, a2; \
             la a2, 1f; csrw sepc, a2; sret; 1: li tp, PRV_U; li a4, MSTATUS_SPIE)
        GOTO_M
        TEST_CASE(22, a4, MSTATUS_SIE | MSTATUS_SPIE, csrr a4, mstatus; andi a4, a4, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP; csrci mstatus, MSTATUS_SIE)
        /* the trap came from U (the magic ecall): MPP = 0 */
        /* traps in M are never delegated, even with medeleg set */
        TEST_ILLEGAL_WORD(23, 0xffffffff)
        TEST_CASE(24, a4, 3, la a1, trap_rec; ld a4, TR_HANDLER(a1))

        /* UXL reads 2 (64-bit U-mode) in sstatus, SXL = 2 in mstatus */
        TEST_CASE(30, a4, 2, csrr a4, sstatus; srli a4, a4, 32; andi a4, a4, 3)
        TEST_CASE(31, a4, 2, csrr a4, mstatus; srli a4, a4, 34; andi a4, a4, 3)   /* SXL */
        /* sstatus is a view of mstatus */
        csrci mstatus, MSTATUS_MIE
        TEST_CASE(25, a4, 0, li a2, -1; csrw sstatus, a2; csrr a4, sstatus; \
             li a2, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR; and a4, a4, a2)
        TEST_CASE(26, a4, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR, csrr a4, mstatus; \
             li a2, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_MIE; and a4, a4, a2)
        TEST_CASE(27, a4, 0, csrw sstatus, zero; csrr a4, sstatus; li a2, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR; and a4, a4, a2)
        TEST_CASE(28, a4, MSTATUS_MPIE, li a2, MSTATUS_MPIE; csrs mstatus, a2; csrr a4, sstatus; csrr a4, mstatus; and a4, a4, a2)
        TEST_CASE(29, a4, 0, csrr a4, sstatus; and a4, a4, a2)
        /* UXL stays 2 after writes (Vessel has no RV32 U-mode): qemu_xfail.S */
        /* mret writes MPP = U */
        TEST_CASE(32, a4, 0, li a2, MSTATUS_MPP; csrs mstatus, a2; la a2, 1f; csrw mepc, a2; mret; 1: csrr a4, mstatus; li a2, MSTATUS_MPP; and a4, a4, a2)

        /* TSR: sret in S is illegal (goes to M even though 2 is delegated) */
        csrw medeleg, zero
        li a2, MSTATUS_TSR
        csrs mstatus, a2
        GOTO_S
        TEST_ILLEGAL(40, 0x10200073, sret)
        GOTO_M
        /* TVM: satp access and sfence.vma in S are illegal */
        li a2, MSTATUS_TSR
        csrc mstatus, a2
        li a2, MSTATUS_TVM
        csrs mstatus, a2
        GOTO_S
        TEST_ILLEGAL(41, 0x18002773, csrr a4, satp)
        TEST_ILLEGAL(42, 0x18001073, csrw satp, zero)
        TEST_ILLEGAL(43, 0x12000073, sfence.vma)
        GOTO_M
        /* TW: wfi in S is illegal */
        li a2, MSTATUS_TVM
        csrc mstatus, a2
        li a2, MSTATUS_TW
        csrs mstatus, a2
        GOTO_S
        TEST_ILLEGAL(44, 0x10500073, wfi)
        /* without TVM, satp and sfence.vma work in S */
        TEST_CASE(45, a4, 0, csrr a4, satp; sfence.vma)
        GOTO_M
        li a2, MSTATUS_TW
        csrc mstatus, a2
        /* TW also applies to U */
        /* sret in S without TSR returns to S when SPP = 1 */
        GOTO_S
        TEST_CASE(46, a4, 7, li a2, MSTATUS_SPP; csrs sstatus, a2; la a2, 1f; csrw sepc, a2; sret; 1: li a4, 7; csrr a5, sstatus)
        GOTO_M
        /* S CSRs hold values */
        TEST_CASE(47, a4, 0x1234, li a2, 0x1234; csrw stval, a2; csrr a4, stval)
        TEST_CASE(48, a4, 0x0d, li a2, 0x0d; csrw scause, a2; csrr a4, scause)
        TEST_CASE(49, a4, 0x80000000, li a2, 0x80000000; csrw sepc, a2; csrr a4, sepc)
        la a2, s_trap_vector
        csrw stvec, a2
        TEST_END
