/* priv_traps: synchronous exceptions taken to M-mode with the right
 * mcause, mepc and mtval: illegal instruction (tval = instruction bits),
 * breakpoint, ecall from U/S/M (8/9/11, tval 0), load/store access faults
 * on unmapped physical addresses (tval = address), instruction access
 * fault (epc = tval = target), privileged instructions in lower modes,
 * trap-entry mstatus updates (MPP, MPIE, MIE) and mret restoring them.
 * Misaligned RAM accesses do not trap on Vessel (see rv64i_ldst.S). */
#include "test.h"
TEST_BEGIN
        /* illegal instructions */
        TEST_ILLEGAL_WORD(1, 0xffffffff)
        TEST_ILLEGAL_WORD(2, 0x40001033)        /* sll with funct7 = 0100000 */
        TEST_ILLEGAL_WORD(3, 0x0000007f)        /* reserved major opcode */
        TEST_ILLEGAL_WORD(4, 0x0000605b)        /* custom-2 (no extension) */
        TEST_ILLEGAL_WORD(5, 0x00007003)        /* load with funct3 = 111 */
        TEST_ILLEGAL_WORD(6, 0x00004023)        /* store with funct3 = 100 */
        TEST_ILLEGAL_WORD(7, 0x00002063)        /* branch with funct3 = 010 */
        TEST_ILLEGAL_WORD(8, 0x00001067)        /* jalr with funct3 = 001 */
        TEST_ILLEGAL_WORD(9, 0x4200503b)        /* srlw with funct7 = 0100001 */
        TEST_ILLEGAL_WORD(10, 0x7ff01073)       /* csr 0x7ff (unimplemented) */
        TEST_ILLEGAL_WORD(11, 0x10100073)       /* reserved SYSTEM encoding (priv funct 0x101 rs2=0) */
        /* ebreak: cause 3, epc = the ebreak */
        TEST_TRAP_NOTVAL(12, CAUSE_BREAKPOINT, ebreak)
        /* ecall from M: cause 11, tval 0 */
        li a7, 0
        TEST_TRAP(13, CAUSE_MACHINE_ECALL, 0, ecall)
        /* trap entry: MPP = 3, MPIE = old MIE (0 here), MIE = 0 */
        TEST_CASE(14, a4, MSTATUS_MPP, la a1, trap_rec; ld a4, TR_STATUS(a1); li a2, MSTATUS_MPP | MSTATUS_MIE | MSTATUS_MPIE; and a4, a4, a2)
        TEST_CASE(15, a4, 3, ld a4, TR_PRIV(a1))

        /* load / store access faults on unmapped physical memory */
        li a1, 0
        TEST_TRAP(20, CAUSE_LOAD_ACCESS, 0, ld a4, 0(a1))
        TEST_TRAP(21, CAUSE_LOAD_ACCESS, 8, lw a4, 8(a1))
        TEST_TRAP(22, CAUSE_LOAD_ACCESS, 0x10, lbu a4, 16(a1))
        TEST_TRAP(23, CAUSE_STORE_ACCESS, 0, sd a4, 0(a1))
        TEST_TRAP(24, CAUSE_STORE_ACCESS, 0x7f0, sb a4, 0x7f0(a1))
        /* AMO on unmapped memory: store/AMO access fault: qemu_xfail.S */
        li a1, 0x20
        TEST_TRAP(28, CAUSE_LOAD_ACCESS, 0x20, lr.d a4, (a1))
        /* unmapped address above the platform devices, below RAM */
        li a1, 0x70000000
        TEST_TRAP(29, CAUSE_LOAD_ACCESS, 0x70000000, ld a4, 0(a1))
        TEST_TRAP(30, CAUSE_STORE_ACCESS, 0x70000008, sw a4, 8(a1))
        /* the destination register is not written by a faulting load */
        TEST_CASE(31, a4, 0x1234, li a4, 0x1234; li a1, 0; EXPECT_TRAP(CAUSE_LOAD_ACCESS, 0, 10f, 11f) 10: ld a4, 0(a1); 11:)

        /* instruction access fault: jump to unmapped 0x0 / 0x70000000 */
        li TESTNUM, 40
        li a1, 0
        EXPECT_TRAP_REGS(CAUSE_FETCH_ACCESS, a1, a1, 11f)
        jalr a1
11:     CHECK_TRAPPED(40, CAUSE_FETCH_ACCESS)
        li TESTNUM, 41
        li a1, 0x70000000
        EXPECT_TRAP_REGS(CAUSE_FETCH_ACCESS, a1, a1, 11f)
        jr a1
11:     CHECK_TRAPPED(41, CAUSE_FETCH_ACCESS)

        /* ---- from S-mode ---- */
        GOTO_S
        li a7, 0
        TEST_TRAP(50, CAUSE_SUPERVISOR_ECALL, 0, ecall)
        TEST_CASE(51, a4, 1, la a1, trap_rec; ld a4, TR_PRIV(a1))
        TEST_ILLEGAL(52, 0x30200073, mret)
        TEST_ILLEGAL(53, 0x34002773, csrr a4, mscratch)
        TEST_ILLEGAL(54, 0x30001073, csrw mstatus, x0)
        TEST_ILLEGAL(55, 0xf1402773, csrr a4, mhartid)
        TEST_ILLEGAL_WORD(56, 0xffffffff)
        li a1, 0
        TEST_TRAP(57, CAUSE_LOAD_ACCESS, 0, ld a4, 0(a1))
        TEST_TRAP_NOTVAL(58, CAUSE_BREAKPOINT, ebreak)
        GOTO_M
        /* ---- from U-mode ---- */
        GOTO_U
        li a7, 0
        TEST_TRAP(60, CAUSE_USER_ECALL, 0, ecall)
        TEST_CASE(61, a4, 0, la a1, trap_rec; ld a4, TR_PRIV(a1))
        TEST_ILLEGAL(62, 0x30200073, mret)
        TEST_ILLEGAL(63, 0x10200073, sret)
        TEST_ILLEGAL(64, 0x14002773, csrr a4, sscratch)
        TEST_ILLEGAL(65, 0x10001073, csrw sstatus, x0)
        TEST_ILLEGAL(66, 0x10500073, wfi)       /* U-mode wfi: illegal (no U wait) */
        TEST_ILLEGAL(67, 0x12000073, sfence.vma)
        li a1, 0x70000000
        TEST_TRAP(68, CAUSE_STORE_ACCESS, 0x70000000, sd a4, 0(a1))
        GOTO_M

        /* mret: MIE = MPIE, MPIE = 1, MPP = U (least privileged), pc = mepc */
        TEST_CASE(70, a4, MSTATUS_MIE | MSTATUS_MPIE, li a1, MSTATUS_MPP; csrs mstatus, a1; li a1, MSTATUS_MPIE; csrs mstatus, a1; \
            li a1, MSTATUS_MIE; csrc mstatus, a1; la a1, 1f; csrw mepc, a1; mret; j fail; 1: csrr a4, mstatus; \
            li a1, MSTATUS_MPP | MSTATUS_MIE | MSTATUS_MPIE; and a4, a4, a1; csrci mstatus, MSTATUS_MIE)
        /* mepc bit 0 always reads 0: in qemu_xfail.S */
        /* mtval / mcause are writable WARL registers */
        TEST_CASE(72, a4, 0x1234, li a1, 0x1234; csrw mtval, a1; csrr a4, mtval)
        TEST_END
