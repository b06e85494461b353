/* pmp: physical memory protection.  16 entries usable (pmpaddr0..15 hold
 * values), pmpaddr WARL read-back (G = 0: 54 address bits), TOR / NA4 /
 * NAPOT matching, lowest-numbered match wins, S/U accesses denied ->
 * access faults (5 load, 7 store, 1 fetch; tval = address), unmatched S/U
 * accesses fall to entry 15 (all memory RWX), M-mode unaffected unless
 * the entry is locked (L) or an access straddles an entry's boundary,
 * locked entries ignore writes. */
#include "test.h"
#define NAPOT4K(reg, base) la reg, base; srli reg, reg, 2; ori reg, reg, 0x1ff;
#define CFG(e, v) ((v) << (8 * ((e) % 8)))
TEST_BEGIN
        csrw pmpcfg0, zero
        csrw pmpcfg2, zero
        /* all 16 pmpaddr registers hold values */
        li a1, 0x1000
        csrw pmpaddr0, a1; addi a1, a1, 1; csrw pmpaddr1, a1; addi a1, a1, 1
        csrw pmpaddr2, a1; addi a1, a1, 1; csrw pmpaddr3, a1; addi a1, a1, 1
        csrw pmpaddr4, a1; addi a1, a1, 1; csrw pmpaddr5, a1; addi a1, a1, 1
        csrw pmpaddr6, a1; addi a1, a1, 1; csrw pmpaddr7, a1; addi a1, a1, 1
        csrw pmpaddr8, a1; addi a1, a1, 1; csrw pmpaddr9, a1; addi a1, a1, 1
        csrw pmpaddr10, a1; addi a1, a1, 1; csrw pmpaddr11, a1; addi a1, a1, 1
        csrw pmpaddr12, a1; addi a1, a1, 1; csrw pmpaddr13, a1; addi a1, a1, 1
        csrw pmpaddr14, a1; addi a1, a1, 1; csrw pmpaddr15, a1
        TEST_CASE(1, a4, 0x1000, csrr a4, pmpaddr0)
        TEST_CASE(2, a4, 0x1007, csrr a4, pmpaddr7)
        TEST_CASE(3, a4, 0x1008, csrr a4, pmpaddr8)
        TEST_CASE(4, a4, 0x100f, csrr a4, pmpaddr15)
        /* 54 writable bits */
        TEST_CASE(5, a4, 0x003fffffffffffff, li a1, -1; csrw pmpaddr0, a1; csrr a4, pmpaddr0; li a1, 0x003fffffffffffff; and a4, a4, a1)
        /* bits 63:54 read 0: qemu_xfail.S */
        /* pmpcfg fields hold values (R/W/X/A, W without R is reserved: avoid) */
        TEST_CASE(6, a4, 0x0f0b0d0900010300, li a1, 0x0f0b0d0900010300; csrw pmpcfg0, a1; csrr a4, pmpcfg0; csrw pmpcfg0, zero)

        /* layout */
        NAPOT4K(a1, pg0)
        csrw pmpaddr0, a1               /* 0: pg0, no permission */
        la a1, pg1
        srli a1, a1, 2
        csrw pmpaddr1, a1               /* 1: OFF, base of TOR */
        la a1, pg1 + 4096
        srli a1, a1, 2
        csrw pmpaddr2, a1               /* 2: TOR [pg1, pg1+4K) R */
        la a1, pg2 + 8
        srli a1, a1, 2
        csrw pmpaddr3, a1               /* 3: NA4 pg2+8, no permission */
        NAPOT4K(a1, xpg)
        csrw pmpaddr4, a1               /* 4: code page, R only (no X) */
        NAPOT4K(a1, pg2)
        csrw pmpaddr5, a1               /* 5: pg2 RW (3 wins for pg2+8) */
        li a1, -1
        csrw pmpaddr15, a1              /* 15: everything RWX */
        li a1, CFG(0, PMP_NAPOT) | CFG(1, PMP_OFF) | CFG(2, PMP_TOR | PMP_R) | CFG(3, PMP_NA4) | CFG(4, PMP_NAPOT | PMP_R) | CFG(5, PMP_NAPOT | PMP_R | PMP_W)
        csrw pmpcfg0, a1
        li a1, CFG(15, PMP_NAPOT | PMP_R | PMP_W | PMP_X)
        csrw pmpcfg2, a1
        sfence.vma
        /* M-mode is not restricted by unlocked entries */
        TEST_CASE(10, a4, 0x55, la a2, pg0; li a3, 0x55; sd a3, 0(a2); ld a4, 0(a2))
        TEST_CASE(11, a4, 0x66, la a2, pg1; li a3, 0x66; sd a3, 0(a2); ld a4, 0(a2))
        TEST_CASE(12, a4, 0x77, la a2, pg2; li a3, 0x77; sd a3, 16(a2); ld a4, 16(a2))
        /* an access that matches only some bytes of the NA4 entry fails,
         * even in M-mode */
        la a2, pg2 + 8
        TEST_TRAP_TVALREG(13, CAUSE_STORE_ACCESS, a2, sd a4, 0(a2))
        la a2, pg2 + 6
        TEST_TRAP_TVALREG(14, CAUSE_LOAD_ACCESS, a2, lw a4, 0(a2))

        GOTO_S
        la a2, pg0
        TEST_TRAP_TVALREG(20, CAUSE_LOAD_ACCESS, a2, ld a4, 0(a2))
        TEST_TRAP_TVALREG(21, CAUSE_STORE_ACCESS, a2, sd a4, 0(a2))
        la a2, pg0 + 4088
        TEST_TRAP_TVALREG(22, CAUSE_LOAD_ACCESS, a2, ld a4, 0(a2))
        /* just after pg0: entry 15 */
        TEST_CASE(23, a4, 0x66, la a2, pg1; ld a4, 0(a2))
        /* TOR R-only */
        la a2, pg1 + 16
        TEST_TRAP_TVALREG(24, CAUSE_STORE_ACCESS, a2, sd a4, 0(a2))
        TEST_CASE(25, a4, 0, la a2, pg1 + 4088; ld a4, 0(a2))
        /* NA4 inside pg2: only those 4 bytes are denied */
        TEST_CASE(26, a4, 0x5, la a2, pg2; li a3, 5; sd a3, 0(a2); ld a4, 0(a2))
        la a2, pg2 + 8
        TEST_TRAP_TVALREG(27, CAUSE_LOAD_ACCESS, a2, lw a4, 0(a2))
        TEST_CASE(28, a4, 0, la a2, pg2 + 12; lw a4, 0(a2))
        /* fetch from a non-X region: fetch access fault at the target */
        li TESTNUM, 29
        la a2, xpg
        EXPECT_TRAP_REGS(CAUSE_FETCH_ACCESS, a2, a2, 11f)
        jalr a2
11:     CHECK_TRAPPED(29, CAUSE_FETCH_ACCESS)
        TEST_CASE(30, a4, 0x4701, la a2, xpg; lhu a4, 0(a2))   /* but readable (c.li a4, 0) */
        GOTO_M
        /* same from U */
        GOTO_U
        la a2, pg0
        TEST_TRAP_TVALREG(31, CAUSE_LOAD_ACCESS, a2, lbu a4, 0(a2))
        la a2, pg1
        TEST_TRAP_TVALREG(32, CAUSE_STORE_ACCESS, a2, sb a4, 0(a2))
        GOTO_M

        /* locked entry applies to M: entry 6 NAPOT pg3, R only, locked */
        NAPOT4K(a1, pg3)
        csrw pmpaddr6, a1
        li a1, CFG(6, PMP_NAPOT | PMP_R | PMP_L)
        csrs pmpcfg0, a1
        TEST_CASE(40, a4, 0, la a2, pg3; ld a4, 0(a2))
        la a2, pg3
        TEST_TRAP_TVALREG(41, CAUSE_STORE_ACCESS, a2, sd a4, 0(a2))
        /* locked: writes to pmpaddr6 and cfg6 are ignored */
        TEST_CASE(42, a4, 1, csrr a5, pmpaddr6; csrw pmpaddr6, zero; csrr a4, pmpaddr6; sub a4, a4, a5; seqz a4, a4)
        TEST_CASE(43, a4, PMP_NAPOT | PMP_R | PMP_L, li a1, CFG(6, 0xff); csrc pmpcfg0, a1; csrr a4, pmpcfg0; srli a4, a4, 48; andi a4, a4, 0xff)
        TEST_END

        .text
        .align 12
xpg:    li a4, 0
        ret
        .align 12
        .data
        .align 12
pg0:    .zero 4096
pg1:    .zero 4096
pg2:    .zero 4096
pg3:    .zero 4096
