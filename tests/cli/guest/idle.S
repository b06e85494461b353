/* A bare-metal guest that prints one line and then waits for an interrupt
 * forever with every interrupt disabled: a VM that costs its host no CPU.
 * For tests and benchmarks that run many VMs (bench/daemon/run.sh); the
 * line marks the guest's first instructions.  Linked with the ISA harness
 * (tests/isa/common/crt.S calls test_main in M-mode). */
        .equ UART_THR, 0x10000000

        .text
        .globl test_main
test_main:
        csrw mie, zero
        li t0, UART_THR
        la t1, line
1:      lbu t2, 0(t1)
        beqz t2, 2f
        sb t2, 0(t0)
        addi t1, t1, 1
        j 1b
2:      wfi
        j 2b

        .section .rodata
line:   .asciz "idle: ready\n"
