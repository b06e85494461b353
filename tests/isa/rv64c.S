/* rv64c: every RV64C instruction form, and reserved encodings raise an
 * illegal-instruction exception with tval = the 16-bit instruction. */
#include "test.h"
        .option rvc
TEST_BEGIN
        la s0, cdat             /* s0 = x8, s1 = x9: compressed registers */
        /* c.addi4spn */
        TEST_CASE(1, a4, 0, mv a5, sp; c.addi4spn a4, sp, 1020; sub a4, a4, a5; addi a4, a4, -1020)
        TEST_CASE(2, a4, 4, mv a5, sp; c.addi4spn a4, sp, 4; sub a4, a4, a5)
        /* c.lw (sign-extends), c.ld, c.sw, c.sd */
        TEST_CASE(3, a4, 0xffffffff80000001, c.lw a4, 0(s0))
        TEST_CASE(4, a4, 0x7ffffffe, c.lw a4, 4(s0))
        TEST_CASE(5, a4, 0x7ffffffe80000001, c.ld a4, 0(s0))
        TEST_CASE(6, a4, 0x1122334455667788, c.ld a4, 8(s0))
        TEST_CASE(7, a4, 0x12345678, li a5, 0x12345678; c.sw a5, 124(s0); lw a4, 124(s0))
        TEST_CASE(8, a4, 0xfedcba9876543210, li a5, 0xfedcba9876543210; c.sd a5, 248(s0); ld a4, 248(s0))
        /* c.fld / c.fsd */
        TEST_CASE(9, a4, 0x1122334455667788, c.fld fa5, 8(s0); fmv.x.d a4, fa5)
        TEST_CASE(10, a4, 0x1122334455667788, c.fsd fa5, 16(s0); ld a4, 16(s0))
        /* c.nop, c.addi, c.addiw, c.li */
        TEST_CASE(11, a4, 5, li a4, 5; c.nop)
        TEST_CASE(12, a4, 36, li a4, 5; c.addi a4, 31)
        TEST_CASE(13, a4, -27, li a4, 5; c.addi a4, -32)
        TEST_CASE(14, a4, 0xffffffff80000000, li a4, 0x7fffffff; c.addiw a4, 1)
        TEST_CASE(15, a4, 0x7fffffff, li a4, 0x17fffffff; c.addiw a4, 0)   /* sext.w */
        TEST_CASE(16, a4, -32, c.li a4, -32)
        TEST_CASE(17, a4, 31, c.li a4, 31)
        /* c.addi16sp */
        TEST_CASE(18, a4, 496, mv a5, sp; c.addi16sp sp, 496; sub a4, sp, a5; mv sp, a5)
        TEST_CASE(19, a4, -512, mv a5, sp; c.addi16sp sp, -512; sub a4, sp, a5; mv sp, a5)
        /* c.lui (sign-extended) */
        TEST_CASE(20, a4, 0x1f000, c.lui a4, 0x1f)
        TEST_CASE(21, a4, 0xfffffffffffe0000, c.lui a4, 0xfffe0)
        TEST_CASE(22, a4, 0xfffffffffffff000, c.lui a4, 0xfffff)
        /* c.srli, c.srai, c.andi */
        TEST_CASE(23, s1, 0x0000000000000001, li s1, 0x8000000000000000; c.srli s1, 63)
        TEST_CASE(24, s1, 0x0800000000000000, li s1, 0x8000000000000000; c.srli s1, 4)
        TEST_CASE(25, s1, 0xffffffffffffffff, li s1, 0x8000000000000000; c.srai s1, 63)
        TEST_CASE(26, s1, 0xf800000000000000, li s1, 0x8000000000000000; c.srai s1, 4)
        TEST_CASE(27, s1, 0x0000000000000010, li s1, 0x1234567812345678; c.andi s1, 0x10)
        TEST_CASE(28, s1, 0x1234567812345660, li s1, 0x1234567812345678; c.andi s1, -32)
        /* c.sub, c.xor, c.or, c.and, c.subw, c.addw */
        TEST_CASE(29, s1, 0xfffffffffffffffe, li s1, 1; li a5, 3; c.sub s1, a5)
        TEST_CASE(30, s1, 0x0ff00ff00ff00ff0, li s1, 0x00ff00ff00ff00ff; li a5, 0x0f0f0f0f0f0f0f0f; c.xor s1, a5)
        TEST_CASE(31, s1, 0x0fff0fff0fff0fff, li s1, 0x00ff00ff00ff00ff; li a5, 0x0f0f0f0f0f0f0f0f; c.or s1, a5)
        TEST_CASE(32, s1, 0x000f000f000f000f, li s1, 0x00ff00ff00ff00ff; li a5, 0x0f0f0f0f0f0f0f0f; c.and s1, a5)
        TEST_CASE(33, s1, 0xffffffff80000000, li s1, 0x17fffffff; li a5, -1; c.subw s1, a5)
        TEST_CASE(34, s1, 0x0000000000000000, li s1, 0x1ffffffff; li a5, 1; c.subw a5, s1; mv s1, a5; addi s1, s1, -2)
        TEST_CASE(35, s1, 0xffffffff80000000, li s1, 0x7fffffff; li a5, 0x100000001; c.addw s1, a5)
        /* c.j, c.beqz, c.bnez */
        TEST_CASE(36, a4, 1, li a4, 0; c.j 1f; li a4, 2; 1: addi a4, a4, 1)
        TEST_CASE(37, a4, 3, li a4, 0; c.j 2f; 1: addi a4, a4, 1; c.j 3f; 2: addi a4, a4, 2; c.j 1b; 3:)
        TEST_CASE(38, a4, 1, li a4, 0; li s1, 0; c.beqz s1, 1f; li a4, 5; 1: addi a4, a4, 1)
        TEST_CASE(39, a4, 6, li a4, 0; li s1, 1; c.beqz s1, 1f; li a4, 5; 1: addi a4, a4, 1)
        TEST_CASE(40, a4, 1, li a4, 0; li s1, 0x100000000; c.bnez s1, 1f; li a4, 5; 1: addi a4, a4, 1)
        TEST_CASE(41, a4, 6, li a4, 0; li s1, 0; c.bnez s1, 1f; li a4, 5; 1: addi a4, a4, 1)
        /* c.slli */
        TEST_CASE(42, a4, 0x8000000000000000, li a4, 1; c.slli a4, 63)
        TEST_CASE(43, a4, 0x0000000100000000, li a4, 1; c.slli a4, 32)
        /* sp-relative: c.lwsp, c.ldsp, c.fldsp, c.swsp, c.sdsp, c.fsdsp */
        mv s1, sp
        addi sp, sp, -512
        TEST_CASE(44, a4, 0xffffffff87654321, li a5, 0x87654321; c.swsp a5, 252(sp); c.lwsp a4, 252(sp))
        TEST_CASE(45, a4, 0x0000000087654321, lwu a4, 252(sp))
        TEST_CASE(46, a4, 0x8877665544332211, li a5, 0x8877665544332211; c.sdsp a5, 504(sp); c.ldsp a4, 504(sp))
        TEST_CASE(47, a4, 0x8877665544332211, c.fldsp fa4, 504(sp); fmv.x.d a4, fa4)
        TEST_CASE(48, a4, 0x8877665544332211, c.fsdsp fa4, 0(sp); ld a4, 0(sp))
        mv sp, s1
        /* c.jr, c.mv, c.jalr, c.add */
        TEST_CASE(49, a4, 7, li a4, 0; la a5, 1f; c.jr a5; li a4, 1; 1: addi a4, a4, 7)
        TEST_CASE(50, a4, 0x1234, li a5, 0x1234; c.mv a4, a5)
        TEST_CASE(51, a4, 0, la a5, 1f; la a2, 2f; c.jalr a5; 2: j fail; 1: sub a4, ra, a2)   /* link = pc + 2 */
        TEST_CASE(52, a4, 0x3333, li a4, 0x1111; li a5, 0x2222; c.add a4, a5)
        TEST_CASE(53, a4, 0, li a4, -1; li a5, 1; c.add a4, a5)
        /* c.ebreak: breakpoint at the 2-byte instruction (tval = pc is
         * checked in qemu_xfail.S: QEMU 7.2 writes 0) */
        TEST_TRAP_NOTVAL(54, CAUSE_BREAKPOINT, c.ebreak)
        /* mixing: a 32-bit instruction at a 2-byte aligned address */
        TEST_CASE(55, a4, 3, li a4, 0; c.addi a4, 1; .option push; .option norvc; addi a4, a4, 2; .option pop)

        /* reserved / illegal encodings: tval = the 16 instruction bits */
        TEST_TRAP(60, CAUSE_ILLEGAL_INSN, 0, .half 0x0000)          /* all zero */
        TEST_TRAP(61, CAUSE_ILLEGAL_INSN, 0x0004, .half 0x0004)     /* c.addi4spn imm 0 */
        TEST_TRAP(62, CAUSE_ILLEGAL_INSN, 0x6101, .half 0x6101)     /* c.addi16sp imm 0 */
        TEST_TRAP(63, CAUSE_ILLEGAL_INSN, 0x6081, .half 0x6081)     /* c.lui imm 0 */
        TEST_TRAP(64, CAUSE_ILLEGAL_INSN, 0x8002, .half 0x8002)     /* c.jr x0 */
        TEST_TRAP(65, CAUSE_ILLEGAL_INSN, 0x4002, .half 0x4002)     /* c.lwsp rd=x0 */
        TEST_TRAP(66, CAUSE_ILLEGAL_INSN, 0x6002, .half 0x6002)     /* c.ldsp rd=x0 */
        TEST_END

        .data
        .align 4
cdat:   .word 0x80000001, 0x7ffffffe
        .dword 0x1122334455667788
        .zero 256
