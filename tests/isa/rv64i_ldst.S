/* rv64i_ldst: RV64I loads and stores: widths, sign/zero extension,
 * positive/negative offsets, partial overwrites, x0 destination, and
 * misaligned accesses to RAM (Vessel performs them in hardware, so only
 * the value is checked; a trap would be "unexpected"). */
#include "test.h"
TEST_BEGIN
        /* loads */
        TEST_LD(1, lb,  0xffffffffffffffef, 0, tdat)
        TEST_LD(2, lb,  0x0000000000000012, 7, tdat)
        TEST_LD(3, lbu, 0x00000000000000ef, 0, tdat)
        TEST_LD(4, lbu, 0x00000000000000cd, 1, tdat)
        TEST_LD(5, lh,  0xffffffffffffcdef, 0, tdat)
        TEST_LD(6, lh,  0x0000000000001234, 6, tdat)
        TEST_LD(7, lhu, 0x000000000000cdef, 0, tdat)
        TEST_LD(8, lhu, 0x00000000000089ab, 2, tdat)
        TEST_LD(9, lw,  0xffffffff89abcdef, 0, tdat)
        TEST_LD(10, lw, 0x0000000012345678, 4, tdat)
        TEST_LD(11, lwu, 0x0000000089abcdef, 0, tdat)
        TEST_LD(12, ld, 0x1234567889abcdef, 0, tdat)
        TEST_LD(13, ld, 0x80000000000000ff, 8, tdat)
        TEST_LD(14, lb, 0xffffffffffffff80, 15, tdat)
        TEST_LD(15, ld, 0x80000000000000ff, -8, tdat2)
        TEST_LD(16, lw, 0xffffffff80000000, -4, tdat2+16)
        TEST_LD(17, lbu, 0x80, -1, tdat2)
        TEST_LD(18, ld, 0x80000000000000ff, 2047, tdat + 8 - 2047)
        TEST_LD(19, ld, 0x1234567889abcdef, -2048, tdat + 2048)
        /* x0 destination: load happens, value discarded */
        TEST_CASE(20, x0, 0, la a1, tdat; ld x0, 0(a1))
        /* base == destination */
        TEST_CASE(21, a1, 0x1234567889abcdef, la a1, tdat; ld a1, 0(a1))

        /* stores, read back with every width */
        TEST_ST(30, lb, sb, 0xffffffffffffffaa, 0, sdat)
        TEST_ST(31, lbu, sb, 0x00000000000000aa, 1, sdat)
        TEST_ST(32, lh, sh, 0xffffffffffffaa00, 2, sdat)
        TEST_ST(33, lhu, sh, 0x000000000000a00a, 4, sdat)
        TEST_ST(34, lw, sw, 0xffffffffaa00aa00, 8, sdat)
        TEST_ST(35, lwu, sw, 0x00000000a00aa00a, 12, sdat)
        TEST_ST(36, ld, sd, 0xaabbccdd11223344, 16, sdat)
        TEST_ST(37, ld, sd, 0x0123456789abcdef, -8, sdat+32)
        TEST_ST(38, lw, sw, 0x7fffffff, -2048, sdat+2048)
        /* partial overwrite leaves the neighbours alone */
        TEST_CASE(40, a4, 0x11223344556677ff, la a1, sdat; li a2, 0x1122334455667788; sd a2, 0(a1); li a2, -1; sb a2, 0(a1); ld a4, 0(a1))
        TEST_CASE(41, a4, 0x1122ffff556677ff, li a2, 0x1234ffff; sh a2, 4(a1); ld a4, 0(a1))
        TEST_CASE(42, a4, 0x00000000556677ff, sw zero, 4(a1); ld a4, 0(a1))
        TEST_CASE(43, a4, 0x80000000556677ff, li a2, 0x80; sb a2, 7(a1); ld a4, 0(a1))
        /* store of x0 */
        TEST_CASE(44, a4, 0, sd x0, 0(a1); ld a4, 0(a1))
        /* store then load the same register (base == data) */
        TEST_CASE(45, a4, 1, la a1, sdat; sd a1, 8(a1); ld a4, 8(a1); sub a4, a4, a1; seqz a4, a4)

        /* misaligned accesses to RAM: value must be right */
        TEST_LD(50, lh,  0xffffffffffffabcd, 1, tdat)
        TEST_LD(51, lhu, 0x000000000000abcd, 1, tdat)
        TEST_LD(52, lw,  0x0000000034567889, 3, tdat)
        TEST_LD(53, lwu, 0x000000007889abcd, 1, tdat)
        TEST_LD(54, lw,  0x000000007889abcd, 1, tdat)
        TEST_LD(55, ld,  0xff1234567889abcd, 1, tdat)
        TEST_LD(56, ld,  0x000000ff12345678, 4, tdat)
        TEST_LD(57, ld,  0x0000ff1234567889, 3, tdat)
        TEST_LD(58, lh,  0xffffffffffffff12, 7, tdat)  /* crosses into next dword: 0xff 0x12 */
        TEST_ST(60, ld, sd, 0x0102030405060708, 3, sdat)
        TEST_ST(61, lw, sw, 0xffffffff8a8b8c8d, 5, sdat)
        TEST_ST(62, lhu, sh, 0xbeef, 7, sdat)
        TEST_CASE(63, a4, 0xbeef8c8d, la a1, sdat; lwu a4, 5(a1))
        /* misaligned across a page boundary */
        TEST_CASE(64, a4, 0x1122334455667788, la a1, pagex; li a2, 0x1122334455667788; sd a2, -3(a1); ld a4, -3(a1))
        TEST_CASE(65, a4, 0x55667788, lwu a4, -3(a1))
        TEST_CASE(66, a4, 0x5566, lhu a4, -1(a1))
        TEST_END

        .data
        .align 4
tdat:   .dword 0x1234567889abcdef
        .dword 0x80000000000000ff
tdat2:  .dword 0xffffffff80000000
        .dword 0x8000000000000000
        .align 4
sdat:   .zero 64
        .zero 4096
        .align 12
pagex:  .zero 64
