/* mmu_sv39: Sv39 translation from S/U mode and M-mode with MPRV.
 * Layout (built at run time in M-mode):
 *   VA 0x80000000  1 GiB page -> PA 0x80000000, S RWX (the test itself)
 *   VA 0xc0000000  1 GiB page -> PA 0x80000000, U RWX (user alias: U code
 *                  runs at its label + 0x40000000)
 *   VA 0x100000000 1 GiB page with misaligned PPN (PA 0x80200000): fault
 *   VA 0x00200000  2 MiB page -> PA 0x80200000 (RAM beyond the image)
 *   VA 0x00400000  2 MiB page with misaligned PPN: fault
 *   VA 0x1000..    4 KiB pages, see PAGE_* below (3-level walk)
 * Checks R/W/X permission faults (13 load, 15 store/AMO, 12 fetch, tval =
 * VA), U vs S (SUM), MXR, X-only pages, hardware A/D updates (PTE in memory
 * is checked after the access), invalid / reserved PTEs, non-canonical VAs,
 * sfence.vma after a PTE change, MPRV with MPP = S / U, satp WARL. */
#include "test.h"
#define DA (PTE_D | PTE_A)
#define MKPTE(dst, pa, flags) srli dst, pa, 12; slli dst, dst, 10; ori dst, dst, flags;
#define SETPTE(table, idx, pa, flags) la t0, table; MKPTE(t1, pa, flags) sd t1, ((idx) * 8)(t0);
#define UOFF 0x40000000
#define UALIAS_OFF UOFF
/* continue at the next instruction in U-mode, at the user alias */
#define GOTO_U_ALIAS \
        li t5, MSTATUS_MPP | MSTATUS_MPIE; csrc mstatus, t5; \
        la t5, 1f; li t6, UOFF; add t5, t5, t6; csrw mepc, t5; li tp, PRV_U; mret; 1:
TEST_BEGIN
        /* page tables */
        li a1, 0x80000000
        SETPTE(l2, 2, a1, PTE_V | PTE_R | PTE_W | PTE_X | DA)
        SETPTE(l2, 3, a1, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | DA)
        li a1, 0x80200000
        SETPTE(l2, 4, a1, PTE_V | PTE_R | PTE_W | DA)          /* misaligned 1G */
        la a1, l1
        SETPTE(l2, 0, a1, PTE_V)
        li a1, 0x80200000
        SETPTE(l1, 1, a1, PTE_V | PTE_R | PTE_W | DA)          /* 2M */
        li a1, 0x80201000
        SETPTE(l1, 2, a1, PTE_V | PTE_R | PTE_W | DA)          /* misaligned 2M */
        la a1, l0
        SETPTE(l1, 0, a1, PTE_V)
        la a1, p1
        SETPTE(l0, 1, a1, PTE_V | PTE_R | PTE_W | DA)          /* 0x1000 RW */
        SETPTE(l0, 2, a1, PTE_V | PTE_R | DA)                  /* 0x2000 R */
        SETPTE(l0, 3, a1, PTE_V | PTE_X | DA)                  /* 0x3000 X */
        SETPTE(l0, 4, a1, PTE_V | PTE_R | PTE_W | PTE_U | DA)  /* 0x4000 U RW */
        SETPTE(l0, 5, a1, PTE_R | PTE_W | DA)                  /* 0x5000 invalid */
        SETPTE(l0, 6, a1, PTE_V | PTE_R | PTE_W)               /* 0x6000 A=D=0 */
        SETPTE(l0, 7, a1, PTE_V | PTE_W | DA)                  /* 0x7000 W only: reserved */
        la a1, xpage
        SETPTE(l0, 8, a1, PTE_V | PTE_X | DA)                  /* 0x8000 code, X only */
        SETPTE(l0, 9, a1, PTE_V | PTE_R | DA)                  /* 0x9000 code, no X */
        SETPTE(l0, 10, a1, PTE_V | PTE_X | PTE_U | DA)         /* 0xa000 U code */
        la a1, p2
        SETPTE(l0, 11, a1, PTE_V | PTE_R | PTE_W | DA)         /* 0xb000 -> p2 */
        la a1, l0
        SETPTE(l0, 12, a1, PTE_V | PTE_R | DA)                 /* 0xc000: the L0 table itself */
        /* data */
        la a1, p1
        li a2, 0x1111111111111111
        sd a2, 0(a1)
        la a1, p2
        li a2, 0x2222222222222222
        sd a2, 0(a1)
        li a1, 0x80200000
        li a2, 0x3333333333333333
        sd a2, 8(a1)

        /* satp: mode 8, root PPN */
        la a1, l2
        srli a1, a1, 12
        li a2, SATP_MODE_SV39
        or a1, a1, a2
        csrw satp, a1
        sfence.vma
        TEST_CASE(1, a4, 0, csrr a4, satp; sub a4, a4, a1)
        /* M-mode is not translated */
        TEST_CASE(2, a4, 0x1111111111111111, la a2, p1; ld a4, 0(a2))

        GOTO_S
        /* 4K page through three levels, 2M page, 1G page */
        TEST_CASE(3, a4, 0x1111111111111111, li a2, 0x1000; ld a4, 0(a2))
        TEST_CASE(4, a4, 0x3333333333333333, li a2, 0x200000; ld a4, 8(a2))
        TEST_CASE(5, a4, 0x2222222222222222, li a2, 0xb000; ld a4, 0(a2))
        TEST_CASE(6, a4, 0x5a, li a2, 0x1000; li a3, 0x5a; sb a3, 0x7ff(a2); lbu a4, 0x7ff(a2))
        /* the 2M page covers its whole range */
        TEST_CASE(7, a4, 0x77, li a2, 0x3ffff8; li a3, 0x77; sd a3, 0(a2); li a2, 0x803ffff8; ld a4, 0(a2))
        /* read-only page: store -> 15, tval = VA */
        li a2, 0x2000
        TEST_CASE(8, a4, 0x1111111111111111, ld a4, 0(a2))
        TEST_TRAP(9, CAUSE_STORE_PAGE_FAULT, 0x2008, sd a4, 8(a2))
        TEST_TRAP(10, CAUSE_STORE_PAGE_FAULT, 0x2000, amoadd.d a4, a4, (a2))
        /* execute-only page: load -> 13; with MXR the load works */
        li a2, 0x3000
        TEST_TRAP(12, CAUSE_LOAD_PAGE_FAULT, 0x3010, ld a4, 0x10(a2))
        TEST_TRAP(13, CAUSE_STORE_PAGE_FAULT, 0x3000, sd a4, 0(a2))
        TEST_CASE(14, a4, 0x1111111111111111, li a3, MSTATUS_MXR; csrs sstatus, a3; ld a4, 0(a2); csrc sstatus, a3)
        TEST_TRAP(15, CAUSE_LOAD_PAGE_FAULT, 0x3000, ld a4, 0(a2))
        /* U page from S: fault unless SUM (SUM never allows S fetch) */
        li a2, 0x4000
        TEST_TRAP(16, CAUSE_LOAD_PAGE_FAULT, 0x4000, ld a4, 0(a2))
        TEST_TRAP(17, CAUSE_STORE_PAGE_FAULT, 0x4000, sd a4, 0(a2))
        TEST_CASE(18, a4, 0x1111111111111111, li a3, MSTATUS_SUM; csrs sstatus, a3; ld a4, 0(a2))
        TEST_CASE(19, a4, 0x99, li a3, 0x99; sd a3, 16(a2); ld a4, 16(a2))
        li TESTNUM, 20
        li a2, 0xa000
        EXPECT_TRAP_REGS(CAUSE_FETCH_PAGE_FAULT, a2, a2, 11f)
        jalr a2
11:     CHECK_TRAPPED(20, CAUSE_FETCH_PAGE_FAULT)
        li a3, MSTATUS_SUM
        csrc sstatus, a3
        /* invalid PTE: 13 / 15 / 12 */
        li a2, 0x5000
        TEST_TRAP(21, CAUSE_LOAD_PAGE_FAULT, 0x5000, ld a4, 0(a2))
        TEST_TRAP(22, CAUSE_STORE_PAGE_FAULT, 0x5008, sd a4, 8(a2))
        li TESTNUM, 23
        EXPECT_TRAP_REGS(CAUSE_FETCH_PAGE_FAULT, a2, a2, 11f)
        jalr a2
11:     CHECK_TRAPPED(23, CAUSE_FETCH_PAGE_FAULT)
        /* W without R is reserved: page fault */
        li a2, 0x7000
        TEST_TRAP(24, CAUSE_LOAD_PAGE_FAULT, 0x7000, ld a4, 0(a2))
        TEST_TRAP(25, CAUSE_STORE_PAGE_FAULT, 0x7000, sd a4, 0(a2))
        /* X-only code page executes; a non-X page does not */
        TEST_CASE(26, a4, 0x77, li a2, 0x8000; jalr a2)
        li a2, 0x9000
        li TESTNUM, 27
        EXPECT_TRAP_REGS(CAUSE_FETCH_PAGE_FAULT, a2, a2, 11f)
        jalr a2
11:     CHECK_TRAPPED(27, CAUSE_FETCH_PAGE_FAULT)
        TEST_CASE(28, a4, 0x0713, li a2, 0x9000; lhu a4, 0(a2))  /* li a4, 0x77 = 0x07700713 */
        /* misaligned superpages */
        li a2, 0x400000
        TEST_TRAP(29, CAUSE_LOAD_PAGE_FAULT, 0x400000, ld a4, 0(a2))
        li a2, 0x100000000
        TEST_TRAP(30, CAUSE_STORE_PAGE_FAULT, 0x100000000, sd a4, 0(a2))
        /* non-canonical VA (bits 63:39 != bit 38) */
        li a2, 0x0000004000000000
        TEST_TRAP(31, CAUSE_LOAD_PAGE_FAULT, 0x0000004000000000, ld a4, 0(a2))
        li a2, 0xffffff8000001000
        TEST_TRAP(32, CAUSE_LOAD_PAGE_FAULT, 0xffffff8000001000, ld a4, 0(a2))  /* canonical but unmapped */
        li a2, 0x8000000000001000
        TEST_TRAP(33, CAUSE_STORE_PAGE_FAULT, 0x8000000000001000, sd a4, 0(a2))
        /* page tables are readable through a mapping of the L0 table */
        TEST_CASE(34, a4, PTE_V | PTE_R | PTE_W | DA, li a2, 0xc000; ld a4, 8(a2); andi a4, a4, 0x3ff)
        GOTO_M

        /* hardware A/D updates: PTE at l0[6] starts with A = D = 0 */
        la s2, l0
        GOTO_S
        TEST_CASE(40, a4, 0x1111111111111111, li a2, 0x6000; ld a4, 0(a2))
        GOTO_M
        TEST_CASE(41, a4, PTE_A, ld a4, 6*8(s2); andi a4, a4, PTE_A | PTE_D)
        GOTO_S
        TEST_CASE(42, a4, 0x42, li a2, 0x6000; li a3, 0x42; sd a3, 8(a2); ld a4, 8(a2))
        GOTO_M
        TEST_CASE(43, a4, PTE_A | PTE_D, ld a4, 6*8(s2); andi a4, a4, PTE_A | PTE_D)
        /* a store to a clean page sets A and D together */
        la a1, p1
        SETPTE(l0, 6, a1, PTE_V | PTE_R | PTE_W)
        sfence.vma
        GOTO_S
        TEST_CASE(44, a4, 0, li a2, 0x6000; sd zero, 16(a2); ld a4, 16(a2))
        GOTO_M
        TEST_CASE(45, a4, PTE_A | PTE_D, ld a4, 6*8(s2); andi a4, a4, PTE_A | PTE_D)
        /* a faulting access sets neither */
        la a1, p1
        SETPTE(l0, 13, a1, PTE_V | PTE_R)                      /* 0xd000 R, A=0 */
        sfence.vma
        GOTO_S
        li a2, 0xd000
        TEST_TRAP(46, CAUSE_STORE_PAGE_FAULT, 0xd000, sd a4, 0(a2))
        GOTO_M
        TEST_CASE(47, a4, 0, ld a4, 13*8(s2); andi a4, a4, PTE_A | PTE_D)

        /* sfence.vma: remap 0x1000 to p2 */
        la a1, p2
        SETPTE(l0, 1, a1, PTE_V | PTE_R | PTE_W | DA)
        GOTO_S
        sfence.vma
        TEST_CASE(50, a4, 0x2222222222222222, li a2, 0x1000; ld a4, 0(a2))
        /* and back, with an address-specific sfence.vma */
        GOTO_M
        la a1, p1
        SETPTE(l0, 1, a1, PTE_V | PTE_R | PTE_W | DA)
        GOTO_S
        li a2, 0x1000
        sfence.vma a2, zero
        TEST_CASE(51, a4, 0x1111111111111111, ld a4, 0(a2))
        GOTO_M

        /* U-mode through the user alias */
        GOTO_U_ALIAS
        TEST_CASE(60, a4, 0x1111111111111111, li a2, 0x4000; ld a4, 0(a2))
        li a2, 0x1000
        TEST_TRAP(61, CAUSE_LOAD_PAGE_FAULT, 0x1000, ld a4, 0(a2))
        TEST_TRAP(62, CAUSE_STORE_PAGE_FAULT, 0x1000, sd a4, 0(a2))
        TEST_CASE(63, a4, 0x77, li a2, 0xa000; jalr a2)
        li a2, 0x8000
        li TESTNUM, 64
        EXPECT_TRAP_REGS(CAUSE_FETCH_PAGE_FAULT, a2, a2, 11f)
        jalr a2
11:     CHECK_TRAPPED(64, CAUSE_FETCH_PAGE_FAULT)
        /* S pages (the identity map) are not accessible from U */
        la a2, p1
        li a3, UOFF
        sub a2, a2, a3
        TEST_TRAP_TVALREG(65, CAUSE_LOAD_PAGE_FAULT, a2, ld a4, 0(a2))
        GOTO_M_AT(back_in_m)

        /* MPRV: M-mode loads/stores translated with MPP's privilege */
        li a1, MSTATUS_MPP
        csrc mstatus, a1
        li a1, MSTATUS_MPP_S
        csrs mstatus, a1
        li a1, MSTATUS_MPRV
        csrs mstatus, a1
        li a2, 0x1000
        TEST_CASE(70, a4, 0x1111111111111111, ld a4, 0(a2))
        li a2, 0x2000
        TEST_TRAP(71, CAUSE_STORE_PAGE_FAULT, 0x2000, sd a4, 0(a2))
        /* MPRV with MPP = U: in mmu_mprv_u.S (QEMU 7.2 does not fault) */
        /* after the trap's mret MPP = U while MPRV stays 1: data accesses
         * would now be translated as U, so switch MPRV off first */
        li a1, MSTATUS_MPRV
        csrc mstatus, a1
        TEST_CASE(73, a4, 0, csrr a4, mstatus; li a1, MSTATUS_MPP; and a4, a4, a1)
        /* instruction fetch in M is never translated by MPRV: we got here */

        /* satp = 0 turns translation off */
        csrw satp, zero
        GOTO_S
        TEST_CASE(80, a4, 0x1111111111111111, la a2, p1; ld a4, 0(a2))
        GOTO_M
        TEST_END

        .text
        .align 12
xpage:  li a4, 0x77
        ret
        .align 12

        .bss
        .align 12
l2:     .zero 4096
l1:     .zero 4096
l0:     .zero 4096
p1:     .zero 4096
p2:     .zero 4096
