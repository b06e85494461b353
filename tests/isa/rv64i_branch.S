/* rv64i_branch: conditional branches (taken / not taken, signed vs
 * unsigned, forward / backward), jal and jalr (link value, target low bit
 * cleared, rd == rs1, x0 link), fence/fence.tso as no-ops. */
#include "test.h"
TEST_BEGIN
        TEST_BR(1, beq, 1, 0, 0)
        TEST_BR(2, beq, 1, -1, -1)
        TEST_BR(3, beq, 0, 0, 1)
        TEST_BR(4, beq, 0, 0x100000000, 0)
        TEST_BR(5, bne, 0, 5, 5)
        TEST_BR(6, bne, 1, 0, 1)
        TEST_BR(7, bne, 1, 0x8000000000000000, 0)
        TEST_BR(8, blt, 1, -1, 0)
        TEST_BR(9, blt, 0, 0, -1)
        TEST_BR(10, blt, 0, 3, 3)
        TEST_BR(11, blt, 1, 0x8000000000000000, 0x7fffffffffffffff)
        TEST_BR(12, blt, 0, 0x7fffffffffffffff, 0x8000000000000000)
        TEST_BR(13, blt, 1, 0x7fffffff, 0x80000000)
        TEST_BR(14, bge, 1, 0, -1)
        TEST_BR(15, bge, 1, 3, 3)
        TEST_BR(16, bge, 0, -1, 0)
        TEST_BR(17, bge, 0, 0x8000000000000000, 0x7fffffffffffffff)
        TEST_BR(18, bge, 1, -1, 0x8000000000000000)
        TEST_BR(19, bltu, 1, 0, -1)
        TEST_BR(20, bltu, 0, -1, 0)
        TEST_BR(21, bltu, 0, 7, 7)
        TEST_BR(22, bltu, 1, 0x7fffffffffffffff, 0x8000000000000000)
        TEST_BR(23, bltu, 1, 0xffffffff, 0x100000000)
        TEST_BR(24, bgeu, 1, -1, 0)
        TEST_BR(25, bgeu, 0, 0, -1)
        TEST_BR(26, bgeu, 1, 7, 7)
        TEST_BR(27, bgeu, 0, 0x7fffffffffffffff, 0x8000000000000000)
        TEST_BR(28, bgeu, 1, 0x100000000, 0xffffffff)
        /* pseudo-ops with x0 */
        TEST_CASE(29, a4, 1, li a4, 0; li a1, -5; bltz a1, 1f; j 2f; 1: li a4, 1; 2:)
        TEST_CASE(30, a4, 0, li a4, 0; li a1, 0; bgtz a1, 1f; j 2f; 1: li a4, 1; 2:)
        /* backward branch loop: count 10 iterations */
        TEST_CASE(31, a4, 10, li a4, 0; li a1, 10; 1: addi a4, a4, 1; addi a1, a1, -1; bnez a1, 1b)
        /* long branch distance (over ~2 KiB) */
        TEST_CASE(32, a4, 1, li a4, 0; beqz a4, 1f; .skip 3000; 1: li a4, 1)

        /* jal: link = pc + 4 */
        TEST_CASE(40, a4, 0, la a2, 2f; jal a1, 1f; 2: j fail; 1: sub a4, a1, a2)
        TEST_CASE(41, ra, 0, la a2, 2f; jal 1f; 2: j fail; 1: sub ra, ra, a2)
        TEST_CASE(42, a4, 0, li a4, 0; jal x0, 1f; li a4, 1; 1:)
        /* jal backward */
        TEST_CASE(43, a4, 3, li a4, 0; j 2f; 1: addi a4, a4, 1; j 3f; 2: addi a4, a4, 2; jal x0, 1b; 3:)
        /* jalr: target = (rs1 + imm) & ~1, link = pc + 4 */
        TEST_CASE(50, a4, 0, la a1, 1f; la a3, 2f; jalr a2, 0(a1); 2: j fail; 1: sub a4, a2, a3)
        TEST_CASE(51, a4, 7, li a4, 0; la a1, 1f - 8; jalr a2, 8(a1); li a4, 99; 1: addi a4, a4, 7)
        TEST_CASE(52, a4, 7, li a4, 0; la a1, 1f + 1; jalr a2, 0(a1); li a4, 99; 1: addi a4, a4, 7)   /* bit 0 cleared */
        TEST_CASE(53, a4, 7, li a4, 0; la a1, 1f + 16; jalr a2, -15(a1); li a4, 99; 1: addi a4, a4, 7)
        /* rd == rs1: target uses the old value */
        TEST_CASE(54, a4, 0, la a1, 1f; la a3, 2f; jalr a1, 0(a1); 2: j fail; 1: sub a4, a1, a3)
        TEST_CASE(55, a4, 5, li a4, 0; la a1, 1f; jalr x0, 0(a1); li a4, 1; 1: addi a4, a4, 5)
        /* call/ret */
        TEST_CASE(56, a4, 42, li a4, 0; call sub42)
        /* fences are no-ops for a single hart */
        TEST_CASE(57, a4, 1, li a4, 1; fence; fence rw, rw; fence r, w; fence.tso; fence iorw, iorw)
        TEST_END

sub42:  li a4, 42
        ret
