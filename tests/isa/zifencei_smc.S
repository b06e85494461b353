/* zifencei_smc: self-modifying code.  Code is executed (so any decode /
 * translation cache holds it), rewritten with stores, made visible with
 * fence.i, and executed again: the new instructions must run.  Covers a
 * 32-bit instruction, a 16-bit one, a whole-function rewrite and code in a
 * loop body. */
#include "test.h"
#define ADDI_A4(imm) (((imm) << 20) | (14 << 7) | 0x13)   /* addi a4, x0, imm */
#define C_LI_A4(imm) (0x4001 | (14 << 7) | (((imm) & 31) << 2))  /* c.li a4, imm */
TEST_BEGIN
        TEST_CASE(1, a4, 1, call patch32)
        TEST_CASE(2, a4, 2, la a1, patch32; li a2, ADDI_A4(2); sw a2, 0(a1); fence.i; call patch32)
        TEST_CASE(3, a4, 0x7ff, li a2, ADDI_A4(0x7ff); sw a2, 0(a1); fence.i; call patch32)
        /* 16-bit instruction */
        TEST_CASE(4, a4, 3, call patch16)
        TEST_CASE(5, a4, 9, la a1, patch16; li a2, C_LI_A4(9); sh a2, 0(a1); fence.i; call patch16)
        /* replace a 32-bit instruction by two 16-bit ones (c.li a4,5; c.addi a4,1... as c.nop) */
        TEST_CASE(6, a4, 5, la a1, patch32; li a2, C_LI_A4(5) | (0x0001 << 16); sw a2, 0(a1); fence.i; call patch32)
        /* rewrite a loop body while it is hot: 100 iterations of addi a5, a5, 1,
         * then patched to addi a5, a5, 2 */
        TEST_CASE(7, a5, 100, li a5, 0; li a3, 100; call hotloop)
        TEST_CASE(8, a5, 200, la a1, hot_insn; li a2, (2 << 20) | (15 << 15) | (15 << 7) | 0x13; sw a2, 0(a1); fence.i; li a5, 0; li a3, 100; call hotloop)
        /* byte-granular patch: change only the immediate's top byte */
        TEST_CASE(9, a4, 0x100, la a1, patch32; li a2, ADDI_A4(0); sw a2, 0(a1); li a2, 0x10; sb a2, 3(a1); fence.i; call patch32)
        /* code written to a fresh data page and jumped to */
        TEST_CASE(10, a4, 0x123, la a1, codebuf; li a2, ADDI_A4(0x123); sw a2, 0(a1); li a2, 0x00008067; sw a2, 4(a1); fence.i; jalr a1)
        TEST_CASE(11, a4, 0x124, li a2, ADDI_A4(0x124); sw a2, 0(a1); fence.i; jalr a1)
        TEST_END

        .option push
        .option norvc
        .align 2
patch32:
        addi a4, x0, 1
        ret
        .align 2
patch16:
        .option rvc
        c.li a4, 3
        ret
        .option norvc
        .align 2
hotloop:
hot_insn:
        addi a5, a5, 1
        addi a3, a3, -1
        bnez a3, hotloop
        ret
        .option pop

        .data
        .align 12
codebuf: .zero 64
