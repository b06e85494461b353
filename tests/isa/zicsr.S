/* zicsr: CSR access instructions (mscratch/sscratch
 * are saved and restored around the checks: the trap framework uses them): old value to rd, write/set/clear
 * semantics, immediate forms, x0 source / destination rules (csrrs/csrrc
 * with rs1 = x0 and the immediate forms with uimm = 0 do not write, so they
 * may read read-only CSRs; any write attempt to a read-only CSR traps,
 * even when the value written is 0), fcsr = frm:fflags aliasing. */
#include "test.h"
TEST_BEGIN
        csrr s10, mscratch       /* the trap framework's stack pointers */
        csrr s11, sscratch
        TEST_CASE(1, a4, 0x1234, li a1, 0x1234; csrw mscratch, a1; li a2, 0x5678; csrrw a4, mscratch, a2)
        TEST_CASE(2, a4, 0x5678, csrr a4, mscratch)
        TEST_CASE(3, a4, 0x5678, li a2, 0x0f0f; csrrs a4, mscratch, a2)
        TEST_CASE(4, a4, 0x5f7f, csrr a4, mscratch)
        TEST_CASE(5, a4, 0x5f7f, li a2, 0x00ff; csrrc a4, mscratch, a2)
        TEST_CASE(6, a4, 0x5f00, csrr a4, mscratch)
        TEST_CASE(7, a4, 0x5f00, csrrwi a4, mscratch, 31)
        TEST_CASE(8, a4, 31, csrrsi a4, mscratch, 0x40 >> 2)   /* sets bit 4 (already) */
        TEST_CASE(9, a4, 31, csrr a4, mscratch)
        TEST_CASE(10, a4, 31, csrrci a4, mscratch, 5)
        TEST_CASE(11, a4, 26, csrr a4, mscratch)
        TEST_CASE(12, a4, 0xffffffffffffffff, li a2, -1; csrw mscratch, a2; csrr a4, mscratch)   /* full 64 bits */
        TEST_CASE(13, a4, 0x8000000000000000, li a2, 0x8000000000000000; csrw mscratch, a2; csrr a4, mscratch)
        /* rd = x0 and rs = x0 forms */
        TEST_CASE(14, a4, 0x77, li a2, 0x77; csrrw x0, mscratch, a2; csrr a4, mscratch)
        TEST_CASE(15, a4, 0x77, csrrs x0, mscratch, x0; csrrc x0, mscratch, x0; csrr a4, mscratch)
        TEST_CASE(16, a4, 0, csrrw a4, mscratch, x0; csrr a4, mscratch)
        /* rd == rs1 */
        TEST_CASE(17, a4, 0, li a4, 9; csrrw a4, mscratch, a4)
        TEST_CASE(18, a4, 9, csrr a4, mscratch)
        /* sscratch is independent of mscratch */
        TEST_CASE(19, a4, 0xabc, li a2, 0xabc; csrw sscratch, a2; li a2, 1; csrw mscratch, a2; csrr a4, sscratch)
        csrw mscratch, s10
        csrw sscratch, s11
        /* reading read-only CSRs without writing is fine */
        TEST_CASE(20, a4, 0, csrr a4, mhartid)
        TEST_CASE(21, a4, 0, csrrs a4, mhartid, x0)
        TEST_CASE(22, a4, 0, csrrc a4, mhartid, x0)
        TEST_CASE(23, a4, 0, csrrsi a4, mhartid, 0)
        TEST_CASE(24, a4, 0, csrrci a4, mhartid, 0)
        /* any write attempt to a read-only CSR is illegal (tval = insn) */
        TEST_ILLEGAL(25, 0xf1459673, csrrw a2, mhartid, a1)
        /* csrrs with rs1 != x0 holding 0 also traps: in qemu_xfail.S */
        TEST_ILLEGAL(27, 0xf140e673, csrrsi a2, mhartid, 1)
        TEST_ILLEGAL(28, 0xf1405073, csrwi mhartid, 0)
        TEST_ILLEGAL(29, 0xc0059073, csrw cycle, a1)
        TEST_ILLEGAL(30, 0xf1105073, csrwi mvendorid, 0)
        /* fcsr = frm[7:5] | fflags[4:0]; reserved bits read 0 */
        TEST_CASE(31, a4, 0xff, li a2, 0xff; fscsr a2; frcsr a4)
        TEST_CASE(32, a4, 0x7, frrm a4)
        TEST_CASE(33, a4, 0x1f, frflags a4)
        TEST_CASE(34, a4, 0x1f, li a2, 0xffffffff; fscsr a4, a2; frcsr a4; addi a4, a4, -0xe0)
        TEST_CASE(35, a4, 0x0a, li a2, 0x0a; fsflags a2; frflags a4)
        TEST_CASE(36, a4, 0xea, frcsr a4)
        TEST_CASE(37, a4, 0x2a, li a2, 1; fsrm a2; frcsr a4)
        TEST_CASE(38, a4, 0x01, frrm a4)
        TEST_CASE(39, a4, 0x0a, csrrsi a4, fflags, 0x10)
        TEST_CASE(40, a4, 0x3a, frcsr a4)
        TEST_CASE(41, a4, 0x3a, csrrci a4, fcsr, 0x1a)
        TEST_CASE(42, a4, 0x20, frcsr a4)
        TEST_CASE(43, a4, 0x01, csrrwi a4, frm, 4)
        TEST_CASE(44, a4, 0x80, frcsr a4; fscsr x0)
        TEST_END
