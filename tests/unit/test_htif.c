/* Unit tests for hw/htif.c: the tohost/fromhost protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hw/hw.h"

struct fixture {
    struct htif *h;
    uint8_t out[64];
    size_t nout;
    int notified;
};

static void con_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct fixture *f = opaque;
    for (size_t i = 0; i < len && f->nout < sizeof(f->out); i++)
        f->out[f->nout++] = buf[i];
}

static void notify(void *opaque)
{
    ((struct fixture *)opaque)->notified++;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    struct hw_console con = { con_out, fx };
    struct hw_notify n = { notify, fx };
    fx->h = htif_new(&con, &n);
    assert_non_null(fx->h);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    htif_free(fx->h);
    free(fx);
    return 0;
}

static void to(struct fixture *f, uint64_t off, uint64_t v, unsigned size)
{
    htif_tohost_ops.write(f->h, off, v, size);
}

static void test_exit_pass_64(void **state)
{
    struct fixture *f = *state;
    int code = -1;
    assert_int_equal(htif_state(f->h, &code), HW_RUNNING);
    to(f, 0, 1, 8);
    assert_int_equal(htif_state(f->h, &code), HW_POWEROFF);
    assert_int_equal(code, 0);
    assert_int_equal(f->notified, 1);
}

static void test_exit_fail_code(void **state)
{
    struct fixture *f = *state;
    int code = -1;
    to(f, 0, (7 << 1) | 1, 8);
    assert_int_equal(htif_state(f->h, &code), HW_POWEROFF);
    assert_int_equal(code, 7);
    /* a second exit does not change the first verdict or notify again */
    to(f, 0, 1, 8);
    assert_int_equal(htif_state(f->h, &code), HW_POWEROFF);
    assert_int_equal(code, 7);
    assert_int_equal(f->notified, 1);
}

static void test_halves_low_then_high(void **state)
{
    struct fixture *f = *state;
    int code;
    to(f, 0, (3 << 1) | 1, 4);          /* sw TESTNUM, tohost */
    assert_int_equal(htif_state(f->h, &code), HW_RUNNING);
    to(f, 4, 0, 4);                     /* sw zero, tohost+4 */
    assert_int_equal(htif_state(f->h, &code), HW_POWEROFF);
    assert_int_equal(code, 3);
}

static void test_halves_high_then_low_putchar(void **state)
{
    struct fixture *f = *state;
    int code;
    to(f, 4, 0x01010000, 4);            /* dev 1, cmd 1 */
    assert_int_equal(f->nout, 0);
    to(f, 0, 'A', 4);
    assert_int_equal(f->nout, 1);
    assert_int_equal(f->out[0], 'A');
    assert_int_equal(htif_state(f->h, &code), HW_RUNNING);
}

static void test_putchar_64_and_ack(void **state)
{
    struct fixture *f = *state;
    to(f, 0, 0x0101000000000000ULL | 'x', 8);
    assert_int_equal(f->nout, 1);
    assert_int_equal(f->out[0], 'x');
    /* the command was taken: tohost reads 0; fromhost holds the answer */
    assert_int_equal(htif_tohost_ops.read(f->h, 0, 8), 0);
    assert_int_equal(htif_fromhost_ops.read(f->h, 0, 8),
                     0x0101000000000000ULL | 0x100 | 'x');
    assert_int_equal(htif_fromhost_ops.read(f->h, 4, 4), 0x01010000);
    htif_fromhost_ops.write(f->h, 0, 0, 8);     /* guest clears fromhost */
    assert_int_equal(htif_fromhost_ops.read(f->h, 0, 8), 0);
}

static void test_ignored(void **state)
{
    struct fixture *f = *state;
    int code;
    to(f, 0, 2, 8);                               /* dev 0 syscall: even payload */
    to(f, 0, 0x0200000000000001ULL, 8);           /* unknown device */
    to(f, 0, 0x0100000000000041ULL, 8);           /* console getchar */
    to(f, 3, 1, 4);                               /* misaligned: dropped */
    to(f, 0, 1, 3);                               /* bad size: dropped */
    assert_int_equal(htif_state(f->h, &code), HW_RUNNING);
    assert_int_equal(f->nout, 0);
    assert_int_equal(f->notified, 0);
    assert_int_equal(htif_tohost_ops.read(f->h, 1, 4), 0);
}

static void test_low_only_waits(void **state)
{
    struct fixture *f = *state;
    int code;
    to(f, 0, 1, 4);
    assert_int_equal(htif_state(f->h, &code), HW_RUNNING);
    assert_int_equal(htif_tohost_ops.read(f->h, 0, 8), 1);  /* visible, pending */
    to(f, 4, 0, 4);
    assert_int_equal(htif_state(f->h, &code), HW_POWEROFF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exit_pass_64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_fail_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_halves_low_then_high, setup, teardown),
        cmocka_unit_test_setup_teardown(test_halves_high_then_low_putchar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_putchar_64_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_low_only_waits, setup, teardown),
    };
    return cmocka_run_group_tests_name("htif", tests, NULL, NULL);
}
