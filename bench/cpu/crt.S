/* Bare-metal start-up for the CPU benchmark: hart 0 runs main(), others
 * park; the result goes to HTIF tohost (exit status = main's return). */
    .section .text.init
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    la      sp, stack_top
    call    main
    slli    a0, a0, 1
    ori     a0, a0, 1
    la      t0, tohost
    sd      a0, 0(t0)
1:  j       1b
park:
    wfi
    j       park

    .section .tohost, "aw", @progbits
    .align 6
    .globl tohost
tohost: .dword 0
    .size tohost, 8
    .align 6
    .globl fromhost
fromhost: .dword 0
    .size fromhost, 8

    .bss
    .align 4
    .space 65536
stack_top:
