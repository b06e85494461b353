/* Unit tests for hw/htif.c: the tohost/fromhost protocol, reset and saved
 * state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devstate.h"
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

/* Payload offsets of the "htif" section (hw/htif.c). */
#define ST_TOHOST 0
#define ST_HALVES 16
#define ST_STATE  17
#define ST_CODE   18

static struct htif *second(struct fixture *g)
{
    memset(g, 0, sizeof(*g));
    struct hw_console con = { con_out, g };
    struct hw_notify n = { notify, g };
    struct htif *h = htif_new(&con, &n);
    assert_non_null(h);
    return h;
}

/* A console answer in fromhost and half a putchar command in tohost. */
static void busy_state(struct fixture *f)
{
    to(f, 0, 0x0101000000000000ULL | 'A', 8);
    to(f, 0, 'B', 4);                               /* low half only */
}

static void test_save_restore(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    struct devstate s = devstate_save(&htif_device_ops, f->h);
    struct htif *h2 = second(&g);
    assert_int_equal(devstate_restore(&htif_device_ops, h2, s.buf, s.len), 0);
    devstate_expect(&htif_device_ops, h2, &s);
    assert_int_equal(htif_tohost_ops.read(h2, 0, 8), htif_tohost_ops.read(f->h, 0, 8));
    assert_int_equal(htif_fromhost_ops.read(h2, 0, 8), htif_fromhost_ops.read(f->h, 0, 8));
    /* The high half completes the same command on both. */
    to(f, 4, 0x01010000, 4);
    htif_tohost_ops.write(h2, 4, 0x01010000, 4);
    assert_int_equal(g.nout, 1);
    assert_int_equal(g.out[0], 'B');
    assert_int_equal(f->out[f->nout - 1], 'B');
    /* A halt, saved and restored, is still a halt. */
    to(f, 0, (5 << 1) | 1, 8);
    free(s.buf);
    s = devstate_save(&htif_device_ops, f->h);
    assert_int_equal(devstate_restore(&htif_device_ops, h2, s.buf, s.len), 0);
    int code = 0;
    assert_int_equal(htif_state(h2, &code), HW_POWEROFF);
    assert_int_equal(code, 5);
    htif_free(h2);
    free(s.buf);
}

static void test_restore_refuses(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    struct devstate s = devstate_save(&htif_device_ops, f->h);
    struct htif *h2 = second(&g);
    htif_fromhost_ops.write(h2, 0, 0x77, 8);
    devstate_check_damage(&htif_device_ops, h2, &s);
    devstate_check_field(&htif_device_ops, h2, &s, ST_HALVES, 1, 3);    /* would run */
    devstate_check_field(&htif_device_ops, h2, &s, ST_HALVES, 1, 0);    /* tohost set */
    devstate_check_field(&htif_device_ops, h2, &s, ST_HALVES, 1, 2);    /* low set */
    devstate_check_field(&htif_device_ops, h2, &s, ST_TOHOST + 4, 4, 1); /* high unwritten */
    devstate_check_field(&htif_device_ops, h2, &s, ST_STATE, 1, HW_REBOOT);
    devstate_check_field(&htif_device_ops, h2, &s, ST_CODE, 4, 5);      /* running */
    to(f, 4, 0, 4);
    to(f, 0, (5 << 1) | 1, 8);
    free(s.buf);
    s = devstate_save(&htif_device_ops, f->h);
    devstate_check_field(&htif_device_ops, h2, &s, ST_CODE, 4, 0x80000000u);
    assert_int_equal(htif_fromhost_ops.read(h2, 0, 8), 0x77);
    assert_int_equal(htif_state(h2, NULL), HW_RUNNING);
    htif_free(h2);
    free(s.buf);
}

static void test_reset(void **state)
{
    struct fixture *f = *state, g;
    busy_state(f);
    to(f, 4, 0, 4);                                 /* 'B' printed */
    to(f, 0, 1, 8);                                 /* halt */
    htif_device_ops.reset(f->h);
    assert_int_equal(htif_state(f->h, NULL), HW_RUNNING);
    struct htif *h2 = second(&g);
    struct devstate fresh = devstate_save(&htif_device_ops, h2);
    devstate_expect(&htif_device_ops, f->h, &fresh);
    htif_free(h2);
    free(fresh.buf);
}

static void test_ops_table(void **state)
{
    assert_string_equal(htif_device_ops.tag, "htif");
    assert_null(htif_device_ops.fdt_node);          /* lives in the program's RAM */
    assert_null(htif_device_ops.quiesce);
    assert_null(htif_device_ops.resume);
    htif_device_ops.destroy(htif_new(NULL, NULL));
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
        cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops_table, setup, teardown),
    };
    return cmocka_run_group_tests_name("htif", tests, NULL, NULL);
}
