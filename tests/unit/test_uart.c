/* Unit tests for hw/uart.c: the NS16550A as Linux's 8250 driver uses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/hw.h"

#define LINE 10         /* any PLIC source: the line number is passed through */

#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

struct fixture {
    struct uart *u;
    uint8_t out[256];
    size_t nout;
    bool irq;
    unsigned line;
};

static void con_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct fixture *f = opaque;
    for (size_t i = 0; i < len && f->nout < sizeof(f->out); i++)
        f->out[f->nout++] = buf[i];
}

static void set_line(void *opaque, unsigned line, bool level)
{
    struct fixture *f = opaque;
    f->line = line;
    f->irq = level;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct hw_line irq = { set_line, f, LINE };
    struct hw_console con = { con_out, f };
    f->u = uart_new(&irq, &con);
    assert_non_null(f->u);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    uart_free(f->u);
    free(f);
    return 0;
}

static uint8_t rd(struct fixture *f, uint64_t off)
{
    return (uint8_t)uart_mmio_ops.read(f->u, off, 1);
}

static void wr(struct fixture *f, uint64_t off, uint8_t v)
{
    uart_mmio_ops.write(f->u, off, v, 1);
}

static void test_transmit(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, LSR) & 0x60, 0x60);      /* THRE | TEMT */
    wr(f, THR, 'h');
    wr(f, THR, 'i');
    assert_int_equal(f->nout, 2);
    assert_memory_equal(f->out, "hi", 2);
    assert_int_equal(rd(f, LSR) & 0x60, 0x60);
    assert_false(f->irq);                           /* IER = 0 */
}

static void test_divisor_latch(void **state)
{
    struct fixture *f = *state;
    wr(f, LCR, 0x83);                               /* DLAB, 8N1 */
    wr(f, DLL, 0x01);
    wr(f, DLM, 0x02);
    assert_int_equal(rd(f, DLL), 0x01);
    assert_int_equal(rd(f, DLM), 0x02);
    assert_int_equal(f->nout, 0);                   /* DLL write is not THR */
    wr(f, LCR, 0x03);
    assert_int_equal(rd(f, LCR), 0x03);
    assert_int_equal(rd(f, IER), 0);                /* IER separate from DLM */
    wr(f, SCR, 0x5a);
    assert_int_equal(rd(f, SCR), 0x5a);
}

static void test_receive_interrupt(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, IIR) & 0x0f, 0x01);      /* no interrupt */
    assert_int_equal(uart_input(f->u, (const uint8_t *)"ab", 2), 2);
    assert_false(f->irq);                           /* ERBFI off */
    assert_int_equal(rd(f, LSR) & 1, 1);            /* DR */
    wr(f, IER, 0x01);
    assert_true(f->irq);
    assert_int_equal(f->line, LINE);
    assert_int_equal(rd(f, IIR) & 0x0f, 0x04);      /* RDA (FIFO off: trigger 1) */
    assert_int_equal(rd(f, RBR), 'a');
    assert_true(f->irq);
    assert_int_equal(rd(f, RBR), 'b');
    assert_false(f->irq);
    assert_int_equal(rd(f, LSR) & 1, 0);
    assert_int_equal(rd(f, RBR), 0);                /* empty read is harmless */
}

static void test_fifo_trigger_and_ident(void **state)
{
    struct fixture *f = *state;
    wr(f, FCR, 0x41);                               /* FIFO on, trigger 4 */
    wr(f, IER, 0x01);
    uart_input(f->u, (const uint8_t *)"123", 3);
    assert_int_equal(rd(f, IIR), 0xc0 | 0x0c);      /* below trigger: timeout */
    uart_input(f->u, (const uint8_t *)"4", 1);
    assert_int_equal(rd(f, IIR), 0xc0 | 0x04);      /* at trigger: RDA */
    assert_true(f->irq);
    wr(f, FCR, 0x43);                               /* clear rx FIFO */
    assert_int_equal(rd(f, LSR) & 1, 0);
    assert_false(f->irq);
}

static void test_thre_interrupt(void **state)
{
    struct fixture *f = *state;
    /* Linux's THRE probe in serial8250_do_startup: enabling ETBEI with THR
     * empty must raise THRE; IIR read clears it; re-enabling raises again. */
    wr(f, IER, 0x02);
    assert_true(f->irq);
    assert_int_equal(rd(f, IIR) & 0x0f, 0x02);
    assert_false(f->irq);
    assert_int_equal(rd(f, IIR) & 0x0f, 0x01);
    wr(f, IER, 0x00);
    wr(f, IER, 0x02);
    assert_true(f->irq);
    assert_int_equal(rd(f, IIR) & 0x0f, 0x02);
    /* after a THR write drains (instantly) THRE is armed again */
    wr(f, THR, 'x');
    assert_true(f->irq);
    /* rewriting IER with ETBEI still set does not re-arm */
    assert_int_equal(rd(f, IIR) & 0x0f, 0x02);
    wr(f, IER, 0x02);
    assert_false(f->irq);
    /* receive data outranks THRE */
    wr(f, THR, 'y');
    wr(f, IER, 0x03);
    uart_input(f->u, (const uint8_t *)"z", 1);
    assert_int_equal(rd(f, IIR) & 0x0f, 0x04);
    assert_int_equal(rd(f, RBR), 'z');
    assert_int_equal(rd(f, IIR) & 0x0f, 0x02);
    assert_false(f->irq);
}

static void test_host_buffering(void **state)
{
    struct fixture *f = *state;
    uint8_t big[UART_RX_BUFFER + 100];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)i;
    assert_int_equal(uart_input(f->u, big, sizeof(big)), UART_RX_BUFFER);
    assert_int_equal(uart_input(f->u, big, 1), 0);
    for (size_t i = 0; i < UART_RX_BUFFER; i++) {
        assert_int_equal(rd(f, LSR) & 1, 1);
        assert_int_equal(rd(f, RBR), (uint8_t)i);
    }
    assert_int_equal(rd(f, LSR) & 1, 0);
    /* FIFO reset drops at most the 16 bytes of the chip's FIFO */
    wr(f, FCR, 0x01);
    uart_input(f->u, big, 40);
    wr(f, FCR, 0x03);
    assert_int_equal(rd(f, RBR), 16);
    /* turning FIFOs off resets the 16 bytes they held */
    wr(f, FCR, 0x00);
    assert_int_equal(rd(f, RBR), 33);
    /* with FIFOs off the chip holds one byte: a reset drops just that */
    wr(f, FCR, 0x02);
    assert_int_equal(rd(f, RBR), 35);
}

static void test_loopback_and_msr(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, MSR), 0xb0);             /* DCD | DSR | CTS */
    wr(f, MCR, 0x10);                               /* LOOP, all outputs off */
    uint8_t msr = rd(f, MSR);
    assert_int_equal(msr & 0xf0, 0);
    assert_int_equal(msr & 0x0f, 0x0b);             /* DDCD | DDSR | DCTS */
    assert_int_equal(rd(f, MSR) & 0x0f, 0);         /* deltas clear on read */
    wr(f, MCR, 0x10 | 0x02 | 0x08);                 /* RTS, OUT2 */
    assert_int_equal(rd(f, MSR), 0x80 | 0x10 | 0x08 | 0x01);
    wr(f, IER, 0x08);                               /* modem status interrupt */
    wr(f, MCR, 0x10);
    assert_true(f->irq);
    assert_int_equal(rd(f, IIR) & 0x0f, 0x00);
    rd(f, MSR);
    assert_false(f->irq);
    wr(f, THR, 'L');
    assert_int_equal(f->nout, 0);                   /* not on the console */
    assert_int_equal(rd(f, RBR), 'L');
    assert_int_equal(rd(f, MCR), 0x10);
}

static void test_bad_offsets(void **state)
{
    struct fixture *f = *state;
    wr(f, 8, 'x');
    wr(f, 0xff, 'x');
    assert_int_equal(f->nout, 0);
    assert_int_equal(uart_mmio_ops.read(f->u, 8, 1), 0);
    assert_int_equal(uart_mmio_ops.read(f->u, 0x1000, 4), 0);
    wr(f, LSR, 0);                                  /* read-only */
    assert_int_equal(rd(f, LSR) & 0x60, 0x60);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_transmit), T(test_divisor_latch), T(test_receive_interrupt),
        T(test_fifo_trigger_and_ident), T(test_thre_interrupt),
        T(test_host_buffering), T(test_loopback_and_msr), T(test_bad_offsets),
    };
    return cmocka_run_group_tests_name("uart", tests, NULL, NULL);
}
