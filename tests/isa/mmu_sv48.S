/* mmu_sv48: Sv48 translation (satp.MODE = 9, Privileged 1.12 section 4.5)
 * from S/U mode and M-mode with MPRV, and switching between Sv39 and Sv48.
 * Layout (built at run time in M-mode; root table l3):
 *   l3[0]   -> l2          VA 0 .. 512 GiB
 *     l2[2]   1 GiB  S RWX -> PA 0x80000000 (identity: the test itself)
 *     l2[3]   1 GiB  U RWX -> PA 0x80000000 (user alias at +0x40000000)
 *     l2[4]   1 GiB misaligned (PA 0x80200000: PPN[1] != 0)   VA 0x100000000
 *     l2[5]   1 GiB misaligned (PA 0x80001000: PPN[0] != 0)   VA 0x140000000
 *     l2[256] 1 GiB  S RW  -> PA 0x80000000                    VA 0x4000000000
 *     l2[0] -> l1:  l1[1] 2 MiB -> PA 0x80200000 (VA 0x200000),
 *                   l1[2] 2 MiB misaligned (VA 0x400000),
 *                   l1[0] -> l0: 4 KiB pages, see below (4-level walk)
 *   l3[1]   512 GiB S RWX -> PA 0       VA 0x8000000000 + PA
 *   l3[2]   512 GiB misaligned (PA 0x40000000: only PPN[2] != 0)
 *   l3[3]   512 GiB S RW, A = D = 0     VA 0x18000000000 + PA
 *   l3[4]   W without R (reserved)      l3[5], l3[6] misaligned (PPN[1] /
 *           PPN[0] != 0)  l3[7] invalid  l3[8] 512 GiB U RWX -> PA 0
 *   l3[255] -> hl2 -> hl1 -> hl0: the top of the lower half, every VPN
 *           field nonzero: 4 KiB at 0x7ffffffff000 (p1), X page at
 *           0x7fffffffe000, 2 MiB at 0x7fffffc00000, 1 GiB at 0x7fff80000000
 *   l3[256] 512 GiB S RW -> PA 0       VA 0xffff800000000000 + PA
 *   l3[511] invalid (0xffffffc000000000: mapped only under Sv39)
 * The same l2 table is the Sv39 root, so after switching satp to Sv39 the
 * low mappings stay and l2[256] appears at 0xffffffc000000000.
 * Checks: every page size, misaligned superpages at each level, invalid /
 * reserved PTEs at level 3, non-canonical VAs (bits 63:48 != bit 47: page
 * fault with tval = VA, also for fetches), R/W/X faults 13/15/12 with tval
 * and epc, U vs S (SUM, S never fetches U pages), MXR, hardware A/D on 4K
 * and 512G leaves (non-leaf PTEs untouched; faulting accesses set
 * nothing), sfence.vma after PTE changes (global and by address, on a
 * terapage too), MPRV, satp WARL (modes 8/9 read back, reserved mode
 * ignored), Sv39 <-> Sv48 switching from S-mode. */
#include "test.h"
#define DA (PTE_D | PTE_A)
#define RWX (PTE_V | PTE_R | PTE_W | PTE_X)
#define MKPTE(dst, pa, flags) srli dst, pa, 12; slli dst, dst, 10; ori dst, dst, flags;
#define SETPTE(table, idx, pa, flags) \
        la t0, table; li t2, (idx) * 8; add t0, t0, t2; MKPTE(t1, pa, flags) sd t1, 0(t0);
#define UOFF 0x40000000
#define UALIAS_OFF UOFF
#define TERA 0x8000000000          /* l3[1]: VA = TERA + PA */
#define TERA_AD 0x18000000000      /* l3[3] */
#define TERA_U 0x40000000000       /* l3[8] */
#define TERA_NEG 0xffff800000000000 /* l3[256] */
#define G256 0x4000000000          /* l2[256] under Sv48 */
#define SV39_G256 0xffffffc000000000 /* l2[256] under Sv39 */
/* a2 = VA of label `sym` through a window mapping PA `base` at `va` */
#define VA_OF(reg, sym, va, base) la reg, sym; li t2, (va) - (base); add reg, reg, t2;
/* continue at the next instruction in U-mode, at the user alias */
#define GOTO_U_ALIAS \
        li t5, MSTATUS_MPP | MSTATUS_MPIE; csrc mstatus, t5; \
        la t5, 1f; li t6, UOFF; add t5, t5, t6; csrw mepc, t5; li tp, PRV_U; mret; 1:
/* jump to the address in a2 and expect a fetch page fault there */
#define TEST_FETCH_FAULT(n) \
        li TESTNUM, n; EXPECT_TRAP_REGS(CAUSE_FETCH_PAGE_FAULT, a2, a2, 11f) \
        jalr a2; \
11:     CHECK_TRAPPED(n, CAUSE_FETCH_PAGE_FAULT)

TEST_BEGIN
        /* ---- page tables ---- */
        li a1, 0x80000000
        SETPTE(l2, 2, a1, RWX | DA)
        SETPTE(l2, 3, a1, RWX | PTE_U | DA)
        SETPTE(l2, 256, a1, PTE_V | PTE_R | PTE_W | DA)
        li a1, 0x80200000
        SETPTE(l2, 4, a1, PTE_V | PTE_R | PTE_W | DA)          /* misaligned 1G */
        li a1, 0x80001000
        SETPTE(l2, 5, a1, PTE_V | PTE_R | PTE_W | DA)          /* misaligned 1G */
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
        SETPTE(l0, 13, a1, PTE_V | PTE_R)                      /* 0xd000 R, A=0 */
        SETPTE(l0, 14, a1, PTE_V | PTE_R | PTE_W)              /* 0xe000 RW, A=D=0 */
        la a1, xpage
        SETPTE(l0, 8, a1, PTE_V | PTE_X | DA)                  /* 0x8000 code, X only */
        SETPTE(l0, 9, a1, PTE_V | PTE_R | DA)                  /* 0x9000 code, no X */
        SETPTE(l0, 10, a1, PTE_V | PTE_X | PTE_U | DA)         /* 0xa000 U code */
        la a1, p2
        SETPTE(l0, 11, a1, PTE_V | PTE_R | PTE_W | DA)         /* 0xb000 -> p2 */
        /* level 3 */
        la a1, l2
        SETPTE(l3, 0, a1, PTE_V)
        li a1, 0
        SETPTE(l3, 1, a1, RWX | DA)                            /* 512G */
        SETPTE(l3, 3, a1, PTE_V | PTE_R | PTE_W)               /* 512G, A=D=0 */
        SETPTE(l3, 4, a1, PTE_V | PTE_W | DA)                  /* reserved */
        SETPTE(l3, 8, a1, RWX | PTE_U | DA)                    /* 512G U */
        SETPTE(l3, 256, a1, PTE_V | PTE_R | PTE_W | DA)        /* 512G, upper half */
        li a1, 0x40000000
        SETPTE(l3, 2, a1, PTE_V | PTE_R | PTE_W | DA)          /* misaligned 512G */
        li a1, 0x200000
        SETPTE(l3, 5, a1, PTE_V | PTE_R | PTE_W | DA)          /* misaligned 512G */
        li a1, 0x1000
        SETPTE(l3, 6, a1, RWX | DA)                            /* misaligned 512G */
        la a1, hl2
        SETPTE(l3, 255, a1, PTE_V)
        li a1, 0x80000000
        SETPTE(hl2, 510, a1, PTE_V | PTE_R | PTE_W | DA)       /* 1G at 0x7fff80000000 */
        la a1, hl1
        SETPTE(hl2, 511, a1, PTE_V)
        li a1, 0x80200000
        SETPTE(hl1, 510, a1, PTE_V | PTE_R | PTE_W | DA)       /* 2M at 0x7fffffc00000 */
        la a1, hl0
        SETPTE(hl1, 511, a1, PTE_V)
        la a1, p1
        SETPTE(hl0, 511, a1, PTE_V | PTE_R | PTE_W | DA)       /* 4K at 0x7ffffffff000 */
        la a1, xpage
        SETPTE(hl0, 510, a1, PTE_V | PTE_X | DA)               /* 4K X at 0x7fffffffe000 */
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

        /* satp: mode 9, root PPN; reads back */
        la a1, l3
        srli a1, a1, 12
        li a2, SATP_MODE_SV48
        or s3, a1, a2                   /* s3 = Sv48 satp */
        la a1, l2
        srli a1, a1, 12
        li a2, SATP_MODE_SV39
        or s4, a1, a2                   /* s4 = Sv39 satp */
        csrw satp, s3
        sfence.vma
        TEST_CASE(1, a4, 0, csrr a4, satp; sub a4, a4, s3)
        /* M-mode is not translated */
        TEST_CASE(2, a4, 0x1111111111111111, la a2, p1; ld a4, 0(a2))

        GOTO_S
        /* every page size: 4K (4 levels), 2M, 1G, 512G */
        TEST_CASE(3, a4, 0x1111111111111111, li a2, 0x1000; ld a4, 0(a2))
        TEST_CASE(4, a4, 0x3333333333333333, li a2, 0x200000; ld a4, 8(a2))
        TEST_CASE(5, a4, 0x1111111111111111, VA_OF(a2, p1, G256, 0x80000000) ld a4, 0(a2))
        TEST_CASE(6, a4, 0x1111111111111111, VA_OF(a2, p1, TERA, 0) ld a4, 0(a2))
        TEST_CASE(7, a4, 0x1111111111111111, VA_OF(a2, p1, TERA_NEG, 0) ld a4, 0(a2))
        TEST_CASE(8, a4, 0x2222222222222222, li a2, 0xb000; ld a4, 0(a2))
        /* the top of the lower half: every VPN field nonzero */
        TEST_CASE(9, a4, 0x1111111111111111, li a2, 0x7ffffffff000; ld a4, 0(a2))
        TEST_CASE(10, a4, 0x3333333333333333, li a2, 0x7fffffc00000; ld a4, 8(a2))
        TEST_CASE(11, a4, 0x1111111111111111, VA_OF(a2, p1, 0x7fff80000000, 0x80000000) ld a4, 0(a2))
        TEST_CASE(12, a4, 0x5a, li a2, 0x7ffffffff7f8; li a3, 0x5a; sd a3, 0(a2); la a2, p1; ld a4, 0x7f8(a2))
        /* a terapage covers its whole range: store through it, read back
         * through the identity map and through the 2M page */
        TEST_CASE(13, a4, 0x5a5a, VA_OF(a2, p2, TERA, 0) li a3, 0x5a5a; sd a3, 8(a2); la a2, p2; ld a4, 8(a2))
        TEST_CASE(14, a4, 0x77, li a2, TERA + 0x803ffff0; li a3, 0x77; sd a3, 0(a2); li a2, 0x3ffff0; ld a4, 0(a2))
        /* instruction fetch through a 512G page and through a 4-level 4K page */
        TEST_CASE(15, a4, 0x77, li a4, 0; VA_OF(a2, xpage, TERA, 0) jalr a2)
        TEST_CASE(16, a4, 0x77, li a4, 0; li a2, 0x7fffffffe000; jalr a2)
        TEST_CASE(17, a4, 0x77, li a4, 0; li a2, 0x8000; jalr a2)

        /* read-only page: store / AMO -> 15, tval = VA */
        li a2, 0x2000
        TEST_CASE(20, a4, 0x1111111111111111, ld a4, 0(a2))
        TEST_TRAP(21, CAUSE_STORE_PAGE_FAULT, 0x2008, sd a4, 8(a2))
        TEST_TRAP(22, CAUSE_STORE_PAGE_FAULT, 0x2000, amoor.d a4, a4, (a2))
        /* execute-only page: load -> 13; with MXR the load works */
        li a2, 0x3000
        TEST_TRAP(23, CAUSE_LOAD_PAGE_FAULT, 0x3010, ld a4, 0x10(a2))
        TEST_TRAP(24, CAUSE_STORE_PAGE_FAULT, 0x3000, sd a4, 0(a2))
        TEST_CASE(25, a4, 0x1111111111111111, li a3, MSTATUS_MXR; csrs sstatus, a3; ld a4, 0(a2); csrc sstatus, a3)
        TEST_TRAP(26, CAUSE_LOAD_PAGE_FAULT, 0x3000, ld a4, 0(a2))
        /* MXR does not allow stores to an X page */
        li a3, MSTATUS_MXR
        csrs sstatus, a3
        TEST_TRAP(28, CAUSE_STORE_PAGE_FAULT, 0x3000, sd a4, 0(a2))
        li a3, MSTATUS_MXR
        csrc sstatus, a3
        /* U page from S: fault unless SUM; SUM never allows S fetch */
        li a2, 0x4000
        TEST_TRAP(30, CAUSE_LOAD_PAGE_FAULT, 0x4000, ld a4, 0(a2))
        TEST_TRAP(31, CAUSE_STORE_PAGE_FAULT, 0x4000, sd a4, 0(a2))
        VA_OF(a2, p1, TERA_U, 0)
        TEST_TRAP_TVALREG(32, CAUSE_LOAD_PAGE_FAULT, a2, ld a4, 0(a2))  /* U terapage */
        li a3, MSTATUS_SUM
        csrs sstatus, a3
        TEST_CASE(33, a4, 0x1111111111111111, ld a4, 0(a2))
        TEST_CASE(34, a4, 0x99, li a2, 0x4000; li a3, 0x99; sd a3, 16(a2); ld a4, 16(a2))
        li a2, 0xa000
        TEST_FETCH_FAULT(35)
        VA_OF(a2, xpage, TERA_U, 0)
        TEST_FETCH_FAULT(36)
        li a3, MSTATUS_SUM
        csrc sstatus, a3
        /* invalid PTE: 13 / 15 / 12 */
        li a2, 0x5000
        TEST_TRAP(40, CAUSE_LOAD_PAGE_FAULT, 0x5000, ld a4, 0(a2))
        TEST_TRAP(41, CAUSE_STORE_PAGE_FAULT, 0x5008, sd a4, 8(a2))
        TEST_FETCH_FAULT(42)
        /* W without R is reserved: page fault */
        li a2, 0x7000
        TEST_TRAP(43, CAUSE_LOAD_PAGE_FAULT, 0x7000, ld a4, 0(a2))
        TEST_TRAP(44, CAUSE_STORE_PAGE_FAULT, 0x7000, sd a4, 0(a2))
        /* a non-X page does not execute; its bytes are readable */
        li a2, 0x9000
        TEST_FETCH_FAULT(45)
        TEST_CASE(46, a4, 0x0713, li a2, 0x9000; lhu a4, 0(a2))  /* li a4, 0x77 = 0x07700713 */

        /* misaligned superpages at each level */
        li a2, 0x400000
        TEST_TRAP(50, CAUSE_LOAD_PAGE_FAULT, 0x400000, ld a4, 0(a2))
        li a2, 0x100000000
        TEST_TRAP(51, CAUSE_STORE_PAGE_FAULT, 0x100000000, sd a4, 0(a2))
        li a2, 0x140000008
        TEST_TRAP(52, CAUSE_LOAD_PAGE_FAULT, 0x140000008, ld a4, 0(a2))
        li a2, 0x10080000000
        TEST_TRAP(53, CAUSE_LOAD_PAGE_FAULT, 0x10080000000, ld a4, 0(a2))
        li a2, 0x28080000000
        TEST_TRAP(54, CAUSE_STORE_PAGE_FAULT, 0x28080000000, sd a4, 0(a2))
        VA_OF(a2, xpage, 0x30000000000, 0)
        TEST_FETCH_FAULT(55)
        /* reserved (W only) and invalid entries at level 3 */
        li a2, 0x20080001000
        TEST_TRAP(56, CAUSE_LOAD_PAGE_FAULT, 0x20080001000, ld a4, 0(a2))
        li a2, 0x38000000000
        TEST_TRAP(57, CAUSE_STORE_PAGE_FAULT, 0x38000000000, sd a4, 0(a2))

        /* non-canonical VAs (bits 63:48 != bit 47): page fault, tval = VA */
        li a2, 0x0000800000000000
        TEST_TRAP(60, CAUSE_LOAD_PAGE_FAULT, 0x0000800000000000, ld a4, 0(a2))
        li a2, 0x0001000000001000
        TEST_TRAP(61, CAUSE_STORE_PAGE_FAULT, 0x0001000000001000, sd a4, 0(a2))
        li a2, 0xffff000000001000
        TEST_TRAP(62, CAUSE_LOAD_PAGE_FAULT, 0xffff000000001000, ld a4, 0(a2))
        li a2, 0x8000000080001000
        TEST_TRAP(63, CAUSE_LOAD_PAGE_FAULT, 0x8000000080001000, ld a4, 0(a2))
        li a2, 0x7fff800000000000
        TEST_TRAP(64, CAUSE_STORE_PAGE_FAULT, 0x7fff800000000000, sd a4, 0(a2))
        li a2, 0x0000800000000000
        TEST_FETCH_FAULT(65)
        li a2, 0xfffe800080001000
        TEST_FETCH_FAULT(66)
        li a2, 0xffff7ffffffff000
        TEST_TRAP(59, CAUSE_LOAD_PAGE_FAULT, 0xffff7ffffffff000, ld a4, 0(a2))
        /* canonical: 0x4000000000 (non-canonical under Sv39) is mapped
         * (check 5); the upper half is mapped only through l3[256] */
        li a2, 0xffffffc000001000
        TEST_TRAP(67, CAUSE_LOAD_PAGE_FAULT, 0xffffffc000001000, ld a4, 0(a2))
        li a2, 0xffff808000000000
        TEST_TRAP(68, CAUSE_LOAD_PAGE_FAULT, 0xffff808000000000, ld a4, 0(a2))
        /* page tables are readable through the terapage */
        TEST_CASE(69, a4, PTE_V | PTE_R | PTE_W | DA, VA_OF(a2, l0, TERA, 0) ld a4, 8(a2); andi a4, a4, 0x3ff)
        GOTO_M

        /* ---- hardware A/D updates ---- */
        la s2, l0
        GOTO_S
        TEST_CASE(70, a4, 0x1111111111111111, li a2, 0x6000; ld a4, 0(a2))
        GOTO_M
        TEST_CASE(71, a4, PTE_A, ld a4, 6*8(s2); andi a4, a4, PTE_A | PTE_D)
        GOTO_S
        TEST_CASE(72, a4, 0x42, li a2, 0x6000; li a3, 0x42; sd a3, 8(a2); ld a4, 8(a2))
        GOTO_M
        TEST_CASE(73, a4, PTE_A | PTE_D, ld a4, 6*8(s2); andi a4, a4, PTE_A | PTE_D)
        /* a store to a clean page sets A and D together */
        GOTO_S
        TEST_CASE(74, a4, 0, li a2, 0xe000; sd zero, 16(a2); ld a4, 16(a2))
        GOTO_M
        TEST_CASE(75, a4, PTE_A | PTE_D, ld a4, 14*8(s2); andi a4, a4, PTE_A | PTE_D)
        /* a faulting access sets neither */
        GOTO_S
        li a2, 0xd000
        TEST_TRAP(76, CAUSE_STORE_PAGE_FAULT, 0xd000, sd a4, 0(a2))
        GOTO_M
        TEST_CASE(77, a4, 0, ld a4, 13*8(s2); andi a4, a4, PTE_A | PTE_D)
        /* A/D on a 512G leaf (l3[3]) */
        la s2, l3
        GOTO_S
        TEST_CASE(78, a4, 0x1111111111111111, VA_OF(a2, p1, TERA_AD, 0) ld a4, 0(a2))
        GOTO_M
        TEST_CASE(79, a4, PTE_A, ld a4, 3*8(s2); andi a4, a4, PTE_A | PTE_D)
        GOTO_S
        TEST_CASE(80, a4, 0x43, VA_OF(a2, p2, TERA_AD, 0) li a3, 0x43; sd a3, 24(a2); la a2, p2; ld a4, 24(a2))
        GOTO_M
        TEST_CASE(81, a4, PTE_A | PTE_D, ld a4, 3*8(s2); andi a4, a4, PTE_A | PTE_D)
        /* the walk did not modify non-leaf PTEs (A/D only in the leaf) */
        TEST_CASE(82, a4, PTE_V, ld a4, 0(s2); andi a4, a4, 0x3ff)
        TEST_CASE(83, a4, PTE_V, la a2, l1; ld a4, 0(a2); andi a4, a4, 0x3ff)
        TEST_CASE(84, a4, PTE_V, la a2, l2; ld a4, 0(a2); andi a4, a4, 0x3ff)

        /* ---- sfence.vma after changing a PTE ---- */
        la a1, p2
        SETPTE(l0, 1, a1, PTE_V | PTE_R | PTE_W | DA)
        GOTO_S
        sfence.vma
        TEST_CASE(90, a4, 0x2222222222222222, li a2, 0x1000; ld a4, 0(a2))
        GOTO_M
        la a1, p1
        SETPTE(l0, 1, a1, PTE_V | PTE_R | PTE_W | DA)
        GOTO_S
        li a2, 0x1000
        sfence.vma a2, zero
        TEST_CASE(91, a4, 0x1111111111111111, ld a4, 0(a2))
        /* the terapage becomes read-only: address-specific fence */
        VA_OF(s5, p1, TERA, 0)
        TEST_CASE(92, a4, 0x1111111111111111, ld a4, 0(s5))
        GOTO_M
        li a1, 0
        SETPTE(l3, 1, a1, PTE_V | PTE_R | PTE_X | DA)
        GOTO_S
        sfence.vma s5, zero
        TEST_TRAP_TVALREG(93, CAUSE_STORE_PAGE_FAULT, s5, sd a4, 0(s5))
        TEST_CASE(94, a4, 0x1111111111111111, ld a4, 0(s5))
        /* the terapage becomes invalid, then valid again */
        GOTO_M
        SETPTE(l3, 1, a1, PTE_R | PTE_W | PTE_X | DA)       /* V = 0 */
        GOTO_S
        sfence.vma
        TEST_TRAP_TVALREG(95, CAUSE_LOAD_PAGE_FAULT, s5, ld a4, 0(s5))
        GOTO_M
        li a1, 0
        SETPTE(l3, 1, a1, RWX | DA)
        GOTO_S
        sfence.vma s5, zero
        TEST_CASE(96, a4, 0x1111111111111111, ld a4, 0(s5))
        GOTO_M

        /* ---- U-mode through the user alias ---- */
        GOTO_U_ALIAS
        TEST_CASE(100, a4, 0x1111111111111111, li a2, 0x4000; ld a4, 0(a2))
        li a2, 0x1000
        TEST_TRAP(101, CAUSE_LOAD_PAGE_FAULT, 0x1000, ld a4, 0(a2))
        TEST_TRAP(102, CAUSE_STORE_PAGE_FAULT, 0x1000, sd a4, 0(a2))
        TEST_CASE(103, a4, 0x77, li a2, 0xa000; jalr a2)
        li a2, 0x8000
        TEST_FETCH_FAULT(104)
        /* S terapage: no; U terapage: yes (data and code) */
        la a2, p1
        li a3, TERA - UOFF
        add a2, a2, a3
        TEST_TRAP_TVALREG(105, CAUSE_LOAD_PAGE_FAULT, a2, ld a4, 0(a2))
        la a2, p1
        li a3, TERA_U - UOFF
        add a2, a2, a3
        TEST_CASE(106, a4, 0x1111111111111111, ld a4, 0(a2))
        TEST_CASE(107, a4, 0x77, li a4, 0; la a2, xpage; li a3, TERA_U - UOFF; add a2, a2, a3; jalr a2)
        /* non-canonical from U */
        li a2, 0xffff000000000000
        TEST_TRAP(108, CAUSE_LOAD_PAGE_FAULT, 0xffff000000000000, ld a4, 0(a2))
        GOTO_M_AT(back_in_m)

        /* ---- MPRV with MPP = S: M-mode data accesses use Sv48 ---- */
        li a1, MSTATUS_MPP
        csrc mstatus, a1
        li a1, MSTATUS_MPP_S
        csrs mstatus, a1
        VA_OF(a2, p1, TERA_NEG, 0)
        li a1, MSTATUS_MPRV
        csrs mstatus, a1
        ld a4, 0(a2)
        csrc mstatus, a1
        CHECK_EQ(110, a4, 0x1111111111111111)

        /* ---- switching between Sv39 and Sv48 (from S-mode) ---- */
        GOTO_S
        TEST_CASE(120, a4, 0, csrw satp, s4; sfence.vma; csrr a4, satp; sub a4, a4, s4)
        TEST_CASE(121, a4, 0x1111111111111111, li a2, 0x1000; ld a4, 0(a2))
        TEST_CASE(122, a4, 0x1111111111111111, VA_OF(a2, p1, SV39_G256, 0x80000000) ld a4, 0(a2))
        VA_OF(a2, p1, G256, 0x80000000)
        TEST_TRAP_TVALREG(123, CAUSE_LOAD_PAGE_FAULT, a2, ld a4, 0(a2))   /* non-canonical for Sv39 */
        VA_OF(a2, p1, TERA, 0)
        TEST_TRAP_TVALREG(124, CAUSE_STORE_PAGE_FAULT, a2, sd a4, 0(a2))
        li a2, 0x7ffffffff000
        TEST_TRAP(125, CAUSE_LOAD_PAGE_FAULT, 0x7ffffffff000, ld a4, 0(a2))
        TEST_CASE(126, a4, 0, csrw satp, s3; sfence.vma; csrr a4, satp; sub a4, a4, s3)
        TEST_CASE(127, a4, 0x1111111111111111, VA_OF(a2, p1, G256, 0x80000000) ld a4, 0(a2))
        VA_OF(a2, p1, SV39_G256, 0x80000000)
        TEST_TRAP_TVALREG(128, CAUSE_LOAD_PAGE_FAULT, a2, ld a4, 0(a2))   /* l3[511] invalid */
        TEST_CASE(129, a4, 0x1111111111111111, li a2, 0x7ffffffff000; ld a4, 0(a2))
        TEST_CASE(130, a4, 0x1111111111111111, VA_OF(a2, p1, TERA, 0) ld a4, 0(a2))
        GOTO_M

        /* ---- satp WARL: a reserved MODE leaves satp unchanged ---- */
        TEST_CASE(140, a4, 0, li a1, (5 << 60) | 0x80123; csrw satp, a1; csrr a4, satp; sub a4, a4, s3)
        TEST_CASE(141, a4, 0, li a1, (1 << 60); csrw satp, a1; csrr a4, satp; sub a4, a4, s3)
        TEST_CASE(142, a4, 0, csrw satp, s4; csrr a4, satp; sub a4, a4, s4)
        TEST_CASE(143, a4, 0, csrw satp, s3; csrr a4, satp; sub a4, a4, s3)
        /* satp = 0 turns translation off */
        csrw satp, zero
        sfence.vma
        TEST_CASE(144, a4, 0, csrr a4, satp)
        GOTO_S
        TEST_CASE(145, a4, 0x1111111111111111, la a2, p1; ld a4, 0(a2))
        GOTO_M
        TEST_END

        .text
        .align 12
xpage:  li a4, 0x77
        ret
        .align 12

        .bss
        .align 12
l3:     .zero 4096
l2:     .zero 4096
l1:     .zero 4096
l0:     .zero 4096
hl2:    .zero 4096
hl1:    .zero 4096
hl0:    .zero 4096
p1:     .zero 4096
p2:     .zero 4096
