/* mmu_mprv_u: M-mode with mstatus.MPRV = 1 and MPP = U: loads and stores
 * are translated and checked with U privilege, so a load from an S-only
 * page faults (13, tval = VA).  Page tables as in mmu_sv39.S.
 * (Kept apart from mmu_sv39.S: QEMU 7.2 misses this fault when MPP became
 * U through an mret, so only this order is validated on QEMU.) */
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

        li a1, MSTATUS_MPP
        csrc mstatus, a1
        li a1, MSTATUS_MPP_S
        csrs mstatus, a1
        li a1, MSTATUS_MPRV
        csrs mstatus, a1
        li a2, 0x1000
        TEST_CASE(70, a4, 0x1111111111111111, ld a4, 0(a2))
        /* MPP = U (armed first: with MPRV the framework's own stores are
         * translated too) */
        li TESTNUM, 72
        li a2, 0x1000
        EXPECT_TRAP(CAUSE_LOAD_PAGE_FAULT, 0x1000, 10f, 11f)
        li a1, MSTATUS_MPP
        csrc mstatus, a1
10:     ld a4, 0(a2)
11:     CHECK_TRAPPED(72, CAUSE_LOAD_PAGE_FAULT)
        li a1, MSTATUS_MPRV
        csrc mstatus, a1
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
