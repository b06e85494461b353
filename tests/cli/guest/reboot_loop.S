/* A bare-metal guest that prints one line and asks the board for a
 * reboot (the SiFive test finisher's RESET status), on every boot: for
 * the tests of guest reboots through the VM API (tests/unit/test_vm.c).
 * Linked with the ISA harness (tests/isa/common/crt.S calls test_main in
 * M-mode). */
        .equ UART_THR, 0x10000000
        .equ SYSCON_FINISHER, 0x100000
        .equ SYSCON_RESET, 0x7777

        .text
        .globl test_main
test_main:
        li t0, UART_THR
        la t1, line
1:      lbu t2, 0(t1)
        beqz t2, 2f
        sb t2, 0(t0)
        addi t1, t1, 1
        j 1b
2:      li t0, SYSCON_FINISHER
        li t1, SYSCON_RESET
        sw t1, 0(t0)
3:      j 3b

        .section .rodata
line:   .asciz "rebooting\n"
