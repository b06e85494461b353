/* Unit tests for hw/uart.c: the NS16550A as Linux's 8250 driver uses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devstate.h"
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

/* Payload offsets of the "uart" section (hw/uart.c). */
#define ST_IER 0
#define ST_MCR 2
#define ST_FCR 4
#define ST_MSR 7
#define ST_LSR 8
#define ST_THRE 9
#define ST_N   10

static struct uart *second(struct fixture *g)
{
    memset(g, 0, sizeof(*g));
    struct hw_line irq = { set_line, g, LINE };
    struct hw_console con = { con_out, g };
    struct uart *u = uart_new(&irq, &con);
    assert_non_null(u);
    return u;
}

/* Registers set, input waiting, modem deltas latched, THRE armed. */
static void busy_state(struct fixture *f)
{
    wr(f, LCR, 0x83);
    wr(f, DLL, 0x0c);
    wr(f, DLM, 0x01);
    wr(f, LCR, 0x1b);                               /* 8E1, DLAB off */
    wr(f, FCR, 0x81);                               /* FIFO on, trigger 8 */
    wr(f, SCR, 0x5a);
    wr(f, MCR, 0x0b);                               /* DTR RTS OUT2 */
    wr(f, MCR, 0x13);                               /* loopback: deltas latched */
    wr(f, IER, 0x0e);                               /* ETBEI ELSI EDSSI */
    assert_int_equal(uart_input(f->u, (const uint8_t *)"0123456789", 10), 10);
    wr(f, THR, 'L');                                /* looped back: 11 bytes */
    assert_int_equal(rd(f, RBR), '0');
}

/* Both UARTs answer a long sequence of reads (with their side effects)
 * alike, and drive the same interrupt level. */
static void same_behaviour(struct fixture *f, struct uart *u2, struct fixture *g)
{
    static const uint8_t seq[] = {
        IIR, LSR, MSR, MSR, IER, LCR, MCR, SCR, IIR, IIR, RBR, LSR, IIR, RBR, RBR,
    };
    assert_int_equal(g->irq, f->irq);
    for (size_t i = 0; i < sizeof(seq); i++) {
        assert_int_equal((uint8_t)uart_mmio_ops.read(u2, seq[i], 1), rd(f, seq[i]));
        assert_int_equal(g->irq, f->irq);
    }
    wr(f, LCR, 0x9b);
    uart_mmio_ops.write(u2, LCR, 0x9b, 1);
    assert_int_equal((uint8_t)uart_mmio_ops.read(u2, DLL, 1), rd(f, DLL));
    assert_int_equal((uint8_t)uart_mmio_ops.read(u2, DLM, 1), rd(f, DLM));
    wr(f, LCR, 0x1b);
    uart_mmio_ops.write(u2, LCR, 0x1b, 1);
    for (int i = 0; i < 20; i++) {
        assert_int_equal((uint8_t)uart_mmio_ops.read(u2, RBR, 1), rd(f, RBR));
        assert_int_equal((uint8_t)uart_mmio_ops.read(u2, LSR, 1), rd(f, LSR));
    }
}

static void test_save_restore(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    struct devstate s = devstate_save(&uart_device_ops, f->u);
    assert_int_equal(s.len, SSTATE_HDR_LEN + ST_N + 4 + 10);
    struct uart *u2 = second(&g);
    assert_int_equal(devstate_restore(&uart_device_ops, u2, s.buf, s.len), 0);
    devstate_expect(&uart_device_ops, u2, &s);
    assert_true(g.irq);                             /* driven: THRE + MS pending */
    same_behaviour(f, u2, &g);
    uart_free(u2);
    free(s.buf);
}

/* A full receive buffer whose ring has wrapped, and an overrun latched. */
static void test_save_restore_full_ring(void **state)
{
    struct fixture *f = *state, g;
    static uint8_t in[UART_RX_BUFFER];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 13 + 1);
    assert_int_equal(uart_input(f->u, in, sizeof(in)), sizeof(in));
    for (int i = 0; i < 100; i++)
        assert_int_equal(rd(f, RBR), in[i]);
    assert_int_equal(uart_input(f->u, in, 100), 100);   /* wraps */
    wr(f, MCR, 0x10);
    wr(f, THR, 'X');                                /* no room: overrun */
    wr(f, IER, 0x05);
    struct devstate s = devstate_save(&uart_device_ops, f->u);
    struct uart *u2 = second(&g);
    assert_int_equal(devstate_restore(&uart_device_ops, u2, s.buf, s.len), 0);
    devstate_expect(&uart_device_ops, u2, &s);
    assert_true(g.irq);
    assert_int_equal((uint8_t)uart_mmio_ops.read(u2, IIR, 1), rd(f, IIR));   /* RLS */
    assert_int_equal((uint8_t)uart_mmio_ops.read(u2, LSR, 1), rd(f, LSR));   /* OE */
    for (size_t i = 0; i < UART_RX_BUFFER; i++)
        assert_int_equal((uint8_t)uart_mmio_ops.read(u2, RBR, 1), rd(f, RBR));
    assert_int_equal((uint8_t)uart_mmio_ops.read(u2, LSR, 1), rd(f, LSR));   /* empty */
    uart_free(u2);
    free(s.buf);
}

static void test_restore_refuses(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    struct devstate s = devstate_save(&uart_device_ops, f->u);
    struct uart *u2 = second(&g);
    uart_mmio_ops.write(u2, SCR, 0x77, 1);
    uart_mmio_ops.write(u2, IER, 0x01, 1);
    uart_input(u2, (const uint8_t *)"zz", 2);
    assert_true(g.irq);
    devstate_check_damage(&uart_device_ops, u2, &s);
    devstate_check_field(&uart_device_ops, u2, &s, ST_IER, 1, 0x1e);
    devstate_check_field(&uart_device_ops, u2, &s, ST_MCR, 1, 0x33);
    devstate_check_field(&uart_device_ops, u2, &s, ST_FCR, 1, 0x83);   /* RFIFOR */
    devstate_check_field(&uart_device_ops, u2, &s, ST_LSR, 1, 0x01);   /* DR */
    devstate_check_field(&uart_device_ops, u2, &s, ST_LSR, 1, 0x40);   /* TEMT */
    devstate_check_field(&uart_device_ops, u2, &s, ST_THRE, 1, 2);
    /* MSR status must follow MCR: loopback with DTR|RTS reads DSR|CTS */
    devstate_check_field(&uart_device_ops, u2, &s, ST_MSR, 1, 0xb0);
    devstate_check_field(&uart_device_ops, u2, &s, ST_N, 4, UART_RX_BUFFER + 1);
    devstate_check_field(&uart_device_ops, u2, &s, ST_N, 4, 11 + 1);   /* past the end */
    assert_true(g.irq);
    assert_int_equal((uint8_t)uart_mmio_ops.read(u2, SCR, 1), 0x77);
    assert_int_equal((uint8_t)uart_mmio_ops.read(u2, RBR, 1), 'z');
    uart_free(u2);
    free(s.buf);
}

static void test_reset(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    assert_true(f->irq);
    uart_device_ops.reset(f->u);
    assert_false(f->irq);
    assert_int_equal(rd(f, LSR), 0x60);             /* buffer emptied */
    struct uart *u2 = second(&g);
    struct devstate fresh = devstate_save(&uart_device_ops, u2);
    devstate_expect(&uart_device_ops, f->u, &fresh);
    uart_free(u2);
    free(fresh.buf);
}

static void test_ops_table(void **state)
{
    assert_string_equal(uart_device_ops.tag, "uart");
    assert_non_null(uart_device_ops.fdt_node);
    assert_null(uart_device_ops.quiesce);
    assert_null(uart_device_ops.resume);
    uart_device_ops.destroy(uart_new(NULL, NULL));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_transmit), T(test_divisor_latch), T(test_receive_interrupt),
        T(test_fifo_trigger_and_ident), T(test_thre_interrupt),
        T(test_host_buffering), T(test_loopback_and_msr), T(test_bad_offsets),
        T(test_save_restore), T(test_save_restore_full_ring), T(test_restore_refuses),
        T(test_reset), T(test_ops_table),
    };
    return cmocka_run_group_tests_name("uart", tests, NULL, NULL);
}
