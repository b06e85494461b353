/* Vessel ISA tests: entry code, HTIF output, pass/fail, trap framework.
 * Linked into every test; the test provides `test_main` (M-mode). */
#include "test.h"

#define FRAME (32 * 8)
/* Save every register but sp (x2) into the frame at sp. */
#define SAVE_REGS \
        sd x1, 1*8(sp); sd x3, 3*8(sp); sd x4, 4*8(sp); sd x5, 5*8(sp); \
        sd x6, 6*8(sp); sd x7, 7*8(sp); sd x8, 8*8(sp); sd x9, 9*8(sp); \
        sd x10, 10*8(sp); sd x11, 11*8(sp); sd x12, 12*8(sp); sd x13, 13*8(sp); \
        sd x14, 14*8(sp); sd x15, 15*8(sp); sd x16, 16*8(sp); sd x17, 17*8(sp); \
        sd x18, 18*8(sp); sd x19, 19*8(sp); sd x20, 20*8(sp); sd x21, 21*8(sp); \
        sd x22, 22*8(sp); sd x23, 23*8(sp); sd x24, 24*8(sp); sd x25, 25*8(sp); \
        sd x26, 26*8(sp); sd x27, 27*8(sp); sd x28, 28*8(sp); sd x29, 29*8(sp); \
        sd x30, 30*8(sp); sd x31, 31*8(sp);
#define RESTORE_REGS \
        ld x1, 1*8(sp); ld x3, 3*8(sp); ld x4, 4*8(sp); ld x5, 5*8(sp); \
        ld x6, 6*8(sp); ld x7, 7*8(sp); ld x8, 8*8(sp); ld x9, 9*8(sp); \
        ld x10, 10*8(sp); ld x11, 11*8(sp); ld x12, 12*8(sp); ld x13, 13*8(sp); \
        ld x14, 14*8(sp); ld x15, 15*8(sp); ld x16, 16*8(sp); ld x17, 17*8(sp); \
        ld x18, 18*8(sp); ld x19, 19*8(sp); ld x20, 20*8(sp); ld x21, 21*8(sp); \
        ld x22, 22*8(sp); ld x23, 23*8(sp); ld x24, 24*8(sp); ld x25, 25*8(sp); \
        ld x26, 26*8(sp); ld x27, 27*8(sp); ld x28, 28*8(sp); ld x29, 29*8(sp); \
        ld x30, 30*8(sp); ld x31, 31*8(sp);

        .section .text.init, "ax", @progbits
        .globl _start
_start:
        /* Only hart 0 runs the test; the others park, or run the test's
         * secondary_main when it has one (a weak symbol: 0 when absent;
         * read from a literal because an absent weak symbol is out of
         * reach of a pc-relative la).  secondary_main runs at once, on
         * its own small stack, with no trap vector: it must not trap, and
         * must wait for hart 0 (a flag in .data) before using .bss. */
        csrr t0, mhartid
        bnez t0, secondary
        la t0, trap_vector
        csrw mtvec, t0
        /* Zero .bss (stacks, page-table pools, logs). */
        la t0, __bss_begin
        la t1, _end
1:      bgeu t0, t1, 2f
        sd zero, 0(t0)
        addi t0, t0, 8
        j 1b
2:      la sp, main_stack_top
        la t0, m_stack_top
        csrw mscratch, t0
        la t0, s_stack_top
        csrw sscratch, t0
        la t0, s_trap_vector
        csrw stvec, t0
        /* PMP: one entry granting S/U everything (a hart with PMP denies
         * S/U accesses that match no entry).  pmp.S sets its own. */
        li t0, -1
        csrw pmpaddr0, t0
        li t0, PMP_NAPOT | PMP_R | PMP_W | PMP_X
        csrw pmpcfg0, t0
        csrw medeleg, zero
        csrw mideleg, zero
        csrw mie, zero
        csrw satp, zero
        li t0, 7
        csrw mcounteren, t0
        csrw scounteren, t0
        /* FPU on, fcsr = 0. */
        li t0, MSTATUS_FS_INITIAL
        csrs mstatus, t0
        fscsr zero
        la t0, irq_vec
        li t1, -1
        sd t1, 0(t0)
        li tp, PRV_M
        li gp, 0
        j test_main

secondary:
        ld t1, secondary_ptr
        beqz t1, park
        la sp, secondary_stack_top
        jr t1
park:   wfi
        j park

        .align 3
        .weak secondary_main
secondary_ptr:
        .dword secondary_main

        .text
/* ---- HTIF console ---------------------------------------------------- */
        .globl htif_putc
htif_putc:              /* a0 = character; clobbers t0, t1 */
        li t0, (1 << 56) | (1 << 48)
        andi a0, a0, 0xff
        or t0, t0, a0
        la t1, tohost
        sd t0, 0(t1)
        li t0, 100000   /* wait (bounded) for the host to take it */
1:      ld a0, 0(t1)
        beqz a0, 2f
        addi t0, t0, -1
        bnez t0, 1b
2:      la t1, fromhost
        sd zero, 0(t1)
        ret

        .globl htif_puts
htif_puts:              /* a0 = NUL-terminated string; clobbers a0-a2, t0, t1 */
        mv a2, ra
        mv a1, a0
1:      lbu a0, 0(a1)
        beqz a0, 2f
        call htif_putc
        addi a1, a1, 1
        j 1b
2:      mv ra, a2
        ret

        .globl htif_puthex
htif_puthex:            /* a0 = value, printed as 0x + 16 hex digits */
        mv a3, ra
        mv a2, a0
        li a0, '0'
        call htif_putc
        li a0, 'x'
        call htif_putc
        li a4, 60
1:      srl a0, a2, a4
        andi a0, a0, 15
        li t0, 10
        blt a0, t0, 2f
        addi a0, a0, 'a' - 10 - '0'
2:      addi a0, a0, '0'
        call htif_putc
        addi a4, a4, -4
        bgez a4, 1b
        mv ra, a3
        ret

/* ---- pass / fail ------------------------------------------------------ */
/* Reachable from any mode: outside M-mode (tp != 3) they go through a
 * magic ecall to the trap handler. */
        .globl pass
pass:
        li t5, PRV_M
        beq tp, t5, do_pass
        li a7, MAGIC_PASS
        ecall
        j do_pass

        .globl fail
fail:
        li t5, PRV_M
        beq tp, t5, do_fail
        li a7, MAGIC_FAIL
        ecall
        j do_fail

do_pass:
        li t0, MSTATUS_MPRV
        csrc mstatus, t0
        la a0, msg_pass
        call htif_puts
        li t0, 1
        j htif_exit

do_fail:                /* gp = check number */
        li t0, MSTATUS_MPRV
        csrc mstatus, t0
        la a0, msg_fail
        call htif_puts
        mv a0, gp
        call htif_puthex
        li a0, '\n'
        call htif_putc
        mv t0, gp
exit_code:              /* t0 = exit code: never 0 in the low 8 bits */
        andi t1, t0, 0xff
        bnez t1, 1f
        ori t0, t0, 0xfe
1:      slli t0, t0, 1
        ori t0, t0, 1
htif_exit:              /* t0 = value for tohost */
        la t1, tohost
        sd t0, 0(t1)
1:      j 1b

/* Unexpected trap: print cause/epc/tval and exit with status 255. */
unexpected:             /* a5 = cause, a6 = epc, a7 = tval, s1 = 'M'/'S' */
        li t0, MSTATUS_MPRV
        csrc mstatus, t0
        la a0, msg_unexp
        call htif_puts
        mv a0, s1
        call htif_putc
        la a0, msg_cause
        call htif_puts
        mv a0, a5
        call htif_puthex
        la a0, msg_epc
        call htif_puts
        mv a0, a6
        call htif_puthex
        la a0, msg_tval
        call htif_puts
        mv a0, a7
        call htif_puthex
        la a0, msg_test
        call htif_puts
        mv a0, gp
        call htif_puthex
        li a0, '\n'
        call htif_putc
        li t0, 0xff
        j exit_code

/* ---- M-mode trap handler ---------------------------------------------- */
        .align 6
        .globl trap_vector
trap_vector:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        .globl m_trap_saved
m_trap_saved:
        csrr t0, mcause
        bltz t0, m_interrupt
        csrr a5, mcause
        csrr a6, mepc
        csrr a7, mtval
        li s1, 'M'
        /* Framework ecalls (8, 9, 11) with a magic a7. */
        li t1, CAUSE_USER_ECALL
        beq t0, t1, m_ecall
        li t1, CAUSE_SUPERVISOR_ECALL
        beq t0, t1, m_ecall
        li t1, CAUSE_MACHINE_ECALL
        beq t0, t1, m_ecall
m_exception:
        la t1, trap_exp
        ld t2, TE_FLAGS(t1)
        andi t3, t2, 1
        beqz t3, unexpected
        la t3, trap_rec
        ld t4, TR_COUNT(t3)
        addi t4, t4, 1
        sd t4, TR_COUNT(t3)
        sd a5, TR_CAUSE(t3)
        sd a7, TR_TVAL(t3)
        sd a6, TR_EPC(t3)
        csrr t4, mstatus
        sd t4, TR_STATUS(t3)
        srli t4, t4, 11
        andi t4, t4, 3
        sd t4, TR_PRIV(t3)
        li t4, 3
        sd t4, TR_HANDLER(t3)
        sd zero, TE_FLAGS(t1)           /* disarm */
        andi t4, t2, 8                  /* flag 8: any cause */
        bnez t4, 1f
        ld t4, TE_CAUSE(t1)
        bne a5, t4, trap_mismatch
1:
        andi t4, t2, 2
        beqz t4, 1f
        ld t4, TE_TVAL(t1)
        bne a7, t4, trap_mismatch
1:      andi t4, t2, 4
        beqz t4, 1f
        ld t4, TE_EPC(t1)
        bne a6, t4, trap_mismatch
1:      ld t4, TE_RESUME(t1)
        csrw mepc, t4
        sd a5, 31*8(sp)                 /* t6 = cause on return */
m_return:
        RESTORE_REGS
        addi sp, sp, FRAME
        csrrw sp, mscratch, sp
        mret

m_ecall:
        ld t1, 17*8(sp)                 /* saved a7 */
        li t2, MAGIC_FAIL
        beq t1, t2, do_fail
        li t2, MAGIC_PASS
        beq t1, t2, do_pass
        li t2, MAGIC_TO_M_AT
        bne t1, t2, 1f
        ld a6, 16*8(sp)                 /* saved a6 = where to continue */
        addi a6, a6, -4
        j 2f
1:      li t2, MAGIC_TO_M
        bne t1, t2, m_exception
2:      li t2, MSTATUS_MPP
        csrs mstatus, t2                /* return to M-mode */
        addi a6, a6, 4
        csrw mepc, a6
        sd zero, 17*8(sp)               /* a7 = 0 */
        j m_return

trap_mismatch:          /* the expected trap came with wrong cause/tval/epc */
        la a0, msg_mismatch
        call htif_puts
        mv a0, s1
        call htif_putc
        la a0, msg_cause
        call htif_puts
        mv a0, a5
        call htif_puthex
        la a0, msg_epc
        call htif_puts
        mv a0, a6
        call htif_puthex
        la a0, msg_tval
        call htif_puts
        mv a0, a7
        call htif_puthex
        li a0, '\n'
        call htif_putc
        j do_fail

/* Interrupts: log (handler << 8 | code), then either call irq_hook(a0 =
 * code, a1 = handler) if set, or mask the interrupt in mie. */
m_interrupt:
        slli t0, t0, 1
        srli t0, t0, 1
        li t1, 3
        call irq_record
        la t2, irq_hook
        ld t2, 0(t2)
        beqz t2, 1f
        mv a0, t0
        li a1, 3
        jalr t2
        j m_return
1:      li t1, 1
        sll t1, t1, t0
        csrc mie, t1
        j m_return

irq_record:             /* t0 = code, t1 = handler; clobbers t2-t4 */
        la t2, irq_log
        ld t3, 0(t2)
        li t4, 16
        bgeu t3, t4, 1f
        slli t4, t3, 3
        add t4, t4, t2
        slli t1, t1, 8
        or t1, t1, t0
        sd t1, 8(t4)
1:      addi t3, t3, 1
        sd t3, 0(t2)
        ret

/* Vectored-mode tables (mtvec/stvec = table | 1): entry i records i in
 * irq_vec, then continues as the direct-mode handler. */
        .align 8
        .globl mtvec_table
mtvec_table:
        .option push
        .option norvc
        j mvec_0
        j mvec_1
        j mvec_2
        j mvec_3
        j mvec_4
        j mvec_5
        j mvec_6
        j mvec_7
        j mvec_8
        j mvec_9
        j mvec_10
        j mvec_11
        j mvec_12
        j mvec_13
        j mvec_14
        j mvec_15
        .option pop
mvec_0:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 0
        sd t1, 0(t0)
        j m_trap_saved
mvec_1:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 1
        sd t1, 0(t0)
        j m_trap_saved
mvec_2:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 2
        sd t1, 0(t0)
        j m_trap_saved
mvec_3:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 3
        sd t1, 0(t0)
        j m_trap_saved
mvec_4:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 4
        sd t1, 0(t0)
        j m_trap_saved
mvec_5:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 5
        sd t1, 0(t0)
        j m_trap_saved
mvec_6:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 6
        sd t1, 0(t0)
        j m_trap_saved
mvec_7:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 7
        sd t1, 0(t0)
        j m_trap_saved
mvec_8:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 8
        sd t1, 0(t0)
        j m_trap_saved
mvec_9:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 9
        sd t1, 0(t0)
        j m_trap_saved
mvec_10:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 10
        sd t1, 0(t0)
        j m_trap_saved
mvec_11:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 11
        sd t1, 0(t0)
        j m_trap_saved
mvec_12:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 12
        sd t1, 0(t0)
        j m_trap_saved
mvec_13:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 13
        sd t1, 0(t0)
        j m_trap_saved
mvec_14:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 14
        sd t1, 0(t0)
        j m_trap_saved
mvec_15:
        csrrw sp, mscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 15
        sd t1, 0(t0)
        j m_trap_saved
        .align 8
        .globl stvec_table
stvec_table:
        .option push
        .option norvc
        j svec_0
        j svec_1
        j svec_2
        j svec_3
        j svec_4
        j svec_5
        j svec_6
        j svec_7
        j svec_8
        j svec_9
        j svec_10
        j svec_11
        j svec_12
        j svec_13
        j svec_14
        j svec_15
        .option pop
svec_0:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 0
        sd t1, 0(t0)
        j s_trap_saved
svec_1:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 1
        sd t1, 0(t0)
        j s_trap_saved
svec_2:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 2
        sd t1, 0(t0)
        j s_trap_saved
svec_3:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 3
        sd t1, 0(t0)
        j s_trap_saved
svec_4:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 4
        sd t1, 0(t0)
        j s_trap_saved
svec_5:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 5
        sd t1, 0(t0)
        j s_trap_saved
svec_6:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 6
        sd t1, 0(t0)
        j s_trap_saved
svec_7:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 7
        sd t1, 0(t0)
        j s_trap_saved
svec_8:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 8
        sd t1, 0(t0)
        j s_trap_saved
svec_9:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 9
        sd t1, 0(t0)
        j s_trap_saved
svec_10:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 10
        sd t1, 0(t0)
        j s_trap_saved
svec_11:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 11
        sd t1, 0(t0)
        j s_trap_saved
svec_12:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 12
        sd t1, 0(t0)
        j s_trap_saved
svec_13:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 13
        sd t1, 0(t0)
        j s_trap_saved
svec_14:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 14
        sd t1, 0(t0)
        j s_trap_saved
svec_15:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
        la t0, irq_vec
        li t1, 15
        sd t1, 0(t0)
        j s_trap_saved

/* ---- S-mode trap handler (for delegated traps) ------------------------- */
        .align 6
        .globl s_trap_vector
s_trap_vector:
        csrrw sp, sscratch, sp
        addi sp, sp, -FRAME
        SAVE_REGS
s_trap_saved:
        csrr t0, scause
        bltz t0, s_interrupt
        csrr a5, scause
        csrr a6, sepc
        csrr a7, stval
        li s1, 'S'
        li t1, CAUSE_USER_ECALL
        bne t0, t1, s_exception
        ld t1, 17*8(sp)
        li t2, MAGIC_FAIL
        beq t1, t2, s_fail
        li t2, MAGIC_PASS
        beq t1, t2, s_pass
        li t2, MAGIC_TO_M
        beq t1, t2, s_to_m
s_exception:
        la t1, trap_exp
        ld t2, TE_FLAGS(t1)
        andi t3, t2, 1
        beqz t3, s_unexpected
        la t3, trap_rec
        ld t4, TR_COUNT(t3)
        addi t4, t4, 1
        sd t4, TR_COUNT(t3)
        sd a5, TR_CAUSE(t3)
        sd a7, TR_TVAL(t3)
        sd a6, TR_EPC(t3)
        csrr t4, sstatus
        sd t4, TR_STATUS(t3)
        srli t4, t4, 8
        andi t4, t4, 1
        sd t4, TR_PRIV(t3)
        li t4, 1
        sd t4, TR_HANDLER(t3)
        sd zero, TE_FLAGS(t1)
        andi t4, t2, 8
        bnez t4, 1f
        ld t4, TE_CAUSE(t1)
        bne a5, t4, s_mismatch
1:
        andi t4, t2, 2
        beqz t4, 1f
        ld t4, TE_TVAL(t1)
        bne a7, t4, s_mismatch
1:      andi t4, t2, 4
        beqz t4, 1f
        ld t4, TE_EPC(t1)
        bne a6, t4, s_mismatch
1:      ld t4, TE_RESUME(t1)
        csrw sepc, t4
        sd a5, 31*8(sp)
s_return:
        RESTORE_REGS
        addi sp, sp, FRAME
        csrrw sp, sscratch, sp
        sret

/* GOTO_M from U while ecall-from-U is delegated: the S handler asks M
 * (magic ecall from S) to continue here in M-mode, then mrets to the
 * instruction after the original ecall with MPP = M. */
s_to_m:
        csrr t0, sepc
        addi t0, t0, 4
        li a7, MAGIC_TO_M
        ecall                           /* comes back in M-mode */
        csrw mepc, t0
        li t1, MSTATUS_MPP
        csrs mstatus, t1
        sd zero, 17*8(sp)
        RESTORE_REGS
        addi sp, sp, FRAME
        csrrw sp, sscratch, sp
        mret

/* S-mode cannot write mstatus; report through tohost directly (it is
 * identity-mapped in the MMU tests).  tp = 1 for the report. */
s_fail:
        li tp, PRV_S
        ld gp, 3*8(sp)
        j s_report_fail
s_pass:
        la a0, msg_pass
        call htif_puts
        li t0, 1
        j htif_exit
s_mismatch:
        la a0, msg_mismatch
        call htif_puts
        mv a0, s1
        call htif_putc
        la a0, msg_cause
        call htif_puts
        mv a0, a5
        call htif_puthex
        la a0, msg_epc
        call htif_puts
        mv a0, a6
        call htif_puthex
        la a0, msg_tval
        call htif_puts
        mv a0, a7
        call htif_puthex
        li a0, '\n'
        call htif_putc
s_report_fail:
        la a0, msg_fail
        call htif_puts
        mv a0, gp
        call htif_puthex
        li a0, '\n'
        call htif_putc
        mv t0, gp
        j exit_code
s_unexpected:
        la a0, msg_unexp
        call htif_puts
        mv a0, s1
        call htif_putc
        la a0, msg_cause
        call htif_puts
        mv a0, a5
        call htif_puthex
        la a0, msg_epc
        call htif_puts
        mv a0, a6
        call htif_puthex
        la a0, msg_tval
        call htif_puts
        mv a0, a7
        call htif_puthex
        li a0, '\n'
        call htif_putc
        li t0, 0xff
        j exit_code

s_interrupt:
        slli t0, t0, 1
        srli t0, t0, 1
        li t1, 1
        call irq_record
        la t2, irq_hook
        ld t2, 0(t2)
        beqz t2, 1f
        mv a0, t0
        li a1, 1
        jalr t2
        j s_return
1:      li t1, 1
        sll t1, t1, t0
        csrc sie, t1
        j s_return

/* ---- data ------------------------------------------------------------- */
        .section .rodata
msg_pass:     .asciz "PASS\n"
msg_fail:     .asciz "FAIL: check "
msg_unexp:    .asciz "UNEXPECTED TRAP in "
msg_mismatch: .asciz "WRONG TRAP in "
msg_cause:    .asciz "-mode handler: cause="
msg_epc:      .asciz " epc="
msg_tval:     .asciz " tval="
msg_test:     .asciz " check="

        .section .tohost, "aw", @progbits
        .align 6
        .globl tohost
tohost: .dword 0
        .size tohost, 8
        .align 6
        .globl fromhost
fromhost: .dword 0
        .size fromhost, 8

        .data
        .align 3
        .globl trap_exp, trap_rec, irq_log, irq_hook, irq_vec
trap_exp:  .zero 48
trap_rec:  .zero 64
irq_hook:  .dword 0
irq_vec:   .dword -1
irq_log:   .zero 8 * 17

        /* Not in .bss: hart 0 zeroes .bss while the others start. */
        .data
        .align 4
        .zero 2048
secondary_stack_top:

        .section .bss
        .align 12
        .globl main_stack_top, m_stack_top, s_stack_top
        .zero 8192
main_stack_top:
        .zero 4096
m_stack_top:
        .zero 4096
s_stack_top:
