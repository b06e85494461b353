/* csr_misc: misa (MXL = 2, A C D F I M S U), mhartid = 0, mconfigptr = 0,
 * mvendorid/marchid/mimpid readable, unimplemented CSR numbers illegal,
 * CSR privilege (S cannot touch M CSRs, U cannot touch S/M CSRs),
 * mcounteren/scounteren gating of cycle/time/instret, mstatus.FS = Off
 * makes FP instructions and fcsr illegal, FS becomes Dirty after an FP
 * write and SD reflects it, menvcfg/senvcfg exist. */
#include "test.h"
#define MISA_BIT(c) (1 << ((c) - 'A'))
#define MISA_REQ (MISA_BIT('A') | MISA_BIT('C') | MISA_BIT('D') | MISA_BIT('F') | MISA_BIT('I') | MISA_BIT('M') | MISA_BIT('S') | MISA_BIT('U'))
TEST_BEGIN
        TEST_CASE(1, a4, 2, csrr a4, misa; srli a4, a4, 62)
        TEST_CASE(2, a4, MISA_REQ, csrr a4, misa; li a1, MISA_REQ; and a4, a4, a1)
        TEST_CASE(3, a4, 0, csrr a4, misa; li a1, MISA_BIT('E'); and a4, a4, a1)   /* not RV64E */
        TEST_CASE(4, a4, 0, csrr a4, mhartid)
        TEST_CASE(5, a4, 0, csrr a4, 0xf15)      /* mconfigptr */
        TEST_CASE(6, a4, 0, csrr a1, mvendorid; csrr a2, marchid; csrr a3, mimpid; li a4, 0)
        /* unimplemented CSR numbers */
        TEST_ILLEGAL_WORD(7, 0x7ff02773)        /* csrr a4, 0x7ff */
        TEST_ILLEGAL_WORD(8, 0x5c002773)        /* csrr a4, 0x5c0 */
        TEST_ILLEGAL_WORD(9, 0x80002773)        /* csrr a4, 0x800 (custom) */
        /* menvcfg / senvcfg exist */
        TEST_CASE(10, a4, 0, csrr a4, 0x30a; csrr a4, 0x10a; li a4, 0)
        /* mhpmcounter3 and mhpmevent3 exist (may be hardwired to 0) */
        TEST_CASE(11, a4, 0, csrr a4, 0xb03; csrr a4, 0x323; li a4, 0)

        /* privilege of CSRs: from S */
        GOTO_S
        TEST_ILLEGAL(20, 0x30002773, csrr a4, mstatus)
        TEST_ILLEGAL(21, 0x30102773, csrr a4, misa)
        TEST_ILLEGAL(22, 0x30a02773, csrr a4, 0x30a)
        TEST_CASE(23, a4, 0, csrr a4, sscratch; csrr a4, sstatus; csrr a4, 0x10a; li a4, 0)
        GOTO_M
        /* from U */
        GOTO_U
        TEST_ILLEGAL(24, 0x10002773, csrr a4, sstatus)
        TEST_ILLEGAL(25, 0x14002773, csrr a4, sscratch)
        TEST_ILLEGAL(26, 0x18002773, csrr a4, satp)
        TEST_CASE(27, a4, 0, frcsr a4)           /* fcsr is a user CSR */
        GOTO_M

        /* counter gating: mcounteren controls S (and U), scounteren U */
        csrw mcounteren, zero
        GOTO_S
        TEST_ILLEGAL(30, 0xc0002773, rdcycle a4)
        TEST_ILLEGAL(31, 0xc0202773, rdinstret a4)
        TEST_ILLEGAL(32, 0xc0102773, rdtime a4)
        GOTO_M
        li a1, 5                                 /* CY, IR */
        csrw mcounteren, a1
        csrw scounteren, zero
        GOTO_S
        TEST_CASE(33, a4, 0, rdcycle a4; rdinstret a4; li a4, 0)
        GOTO_M
        GOTO_U
        TEST_ILLEGAL(34, 0xc0002773, rdcycle a4)
        TEST_ILLEGAL(35, 0xc0202773, rdinstret a4)
        GOTO_M
        li a1, 1
        csrw scounteren, a1
        GOTO_U
        TEST_CASE(36, a4, 0, rdcycle a4; li a4, 0)
        TEST_ILLEGAL(37, 0xc0202773, rdinstret a4)
        GOTO_M
        TEST_CASE(38, a4, 0, rdcycle a4; rdinstret a4; li a4, 0)   /* M ignores them */
        li a1, 7
        csrw mcounteren, a1
        csrw scounteren, a1

        /* FS: Off makes FP illegal; writes make it Dirty, SD follows */
        li a1, MSTATUS_FS
        csrc mstatus, a1
        TEST_CASE(40, a4, 0, csrr a4, mstatus; bltz a4, fail; li a1, MSTATUS_FS; and a4, a4, a1)
        TEST_ILLEGAL(41, 0x00b57553, fadd.s fa0, fa0, fa1)
        TEST_ILLEGAL(42, 0x00302773, frcsr a4)
        TEST_ILLEGAL(43, 0x00002507, flw fa0, 0(x0))
        TEST_ILLEGAL(44, 0xe2050753, fmv.x.d a4, fa0)
        li a1, MSTATUS_FS_CLEAN
        csrs mstatus, a1
        TEST_CASE(45, a4, 0, csrr a4, mstatus; srli a4, a4, 63)
        TEST_CASE(46, a4, MSTATUS_FS_DIRTY, fmv.d.x fa0, zero; csrr a4, mstatus; li a1, MSTATUS_FS; and a4, a4, a1)
        TEST_CASE(47, a4, 1, csrr a4, mstatus; srli a4, a4, 63)
        TEST_CASE(48, a4, 1, csrr a4, sstatus; srli a4, a4, 63)
        TEST_END
