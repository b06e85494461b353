/* A bare-metal guest that prints the same line on the NS16550A for ever,
 * as fast as it can: for the tests of a console output nobody reads
 * (tests/cli/run-console-stall.sh).  Linked with the ISA harness
 * (tests/isa/common/crt.S calls test_main in M-mode). */
        .equ UART_THR, 0x10000000

        .text
        .globl test_main
test_main:
        li t0, UART_THR
1:      la t1, line
2:      lbu t2, 0(t1)
        beqz t2, 1b
        sb t2, 0(t0)
        addi t1, t1, 1
        j 2b

        .section .rodata
line:   .asciz "console output that nobody reads\n"
