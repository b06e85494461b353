/* Unit tests for hw/syscon.c: the sifive,test finisher, its reset and
 * saved state. */
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
    struct syscon *s;
    int notified;
};

static void notify(void *opaque)
{
    ((struct fixture *)opaque)->notified++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct hw_notify n = { notify, f };
    f->s = syscon_new(&n);
    assert_non_null(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    syscon_free(f->s);
    free(f);
    return 0;
}

static void wr(struct fixture *f, uint64_t off, uint64_t v, unsigned size)
{
    syscon_mmio_ops.write(f->s, off, v, size);
}

static void test_pass(void **state)
{
    struct fixture *f = *state;
    int code = -1;
    assert_int_equal(syscon_state(f->s, &code), HW_RUNNING);
    wr(f, 0, SYSCON_PASS, 4);
    assert_int_equal(syscon_state(f->s, &code), HW_POWEROFF);
    assert_int_equal(code, 0);
    assert_int_equal(f->notified, 1);
    wr(f, 0, SYSCON_RESET, 4);              /* first request wins */
    assert_int_equal(syscon_state(f->s, &code), HW_POWEROFF);
    assert_int_equal(f->notified, 1);
}

static void test_fail_codes(void **state)
{
    struct fixture *f = *state;
    int code;
    wr(f, 0, (42u << 16) | SYSCON_FAIL, 4);
    assert_int_equal(syscon_state(f->s, &code), HW_POWEROFF);
    assert_int_equal(code, 42);

    struct syscon *s = syscon_new(NULL);
    syscon_mmio_ops.write(s, 0, SYSCON_FAIL, 4);        /* code 0 is still a failure */
    assert_int_equal(syscon_state(s, &code), HW_POWEROFF);
    assert_int_equal(code, 1);
    syscon_free(s);
}

static void test_reset(void **state)
{
    struct fixture *f = *state;
    int code;
    wr(f, 0, SYSCON_RESET, 8);
    assert_int_equal(syscon_state(f->s, &code), HW_REBOOT);
    assert_int_equal(f->notified, 1);
}

static void test_ignored(void **state)
{
    struct fixture *f = *state;
    int code;
    wr(f, 0, 0x1234, 4);
    wr(f, 4, SYSCON_PASS, 4);               /* wrong offset */
    wr(f, 0, SYSCON_PASS, 2);               /* too narrow */
    wr(f, 0, 0x55, 1);
    assert_int_equal(syscon_state(f->s, &code), HW_RUNNING);
    assert_int_equal(f->notified, 0);
    assert_int_equal(syscon_mmio_ops.read(f->s, 0, 4), 0);
}

static struct syscon *second(struct fixture *g)
{
    memset(g, 0, sizeof(*g));
    struct hw_notify n = { notify, g };
    struct syscon *s = syscon_new(&n);
    assert_non_null(s);
    return s;
}

static void round_trip(struct fixture *f, enum hw_shutdown want, int want_code)
{
    struct fixture g;
    struct devstate s = devstate_save(&syscon_device_ops, f->s);
    struct syscon *s2 = second(&g);
    assert_int_equal(devstate_restore(&syscon_device_ops, s2, s.buf, s.len), 0);
    devstate_expect(&syscon_device_ops, s2, &s);
    int code = -1;
    assert_int_equal(syscon_state(s2, &code), want);
    assert_int_equal(code, want_code);
    syscon_mmio_ops.write(s2, 0, SYSCON_PASS, 4);   /* the first request stays */
    assert_int_equal(syscon_state(s2, &code), want == HW_RUNNING ? HW_POWEROFF : want);
    syscon_free(s2);
    free(s.buf);
}

static void test_save_restore(void **state)
{
    struct fixture *f = *state;
    round_trip(f, HW_RUNNING, 0);
    wr(f, 0, SYSCON_FAIL | (0x1234 << 16), 4);
    round_trip(f, HW_POWEROFF, 0x1234);
    syscon_device_ops.reset(f->s);
    wr(f, 0, SYSCON_RESET, 4);
    round_trip(f, HW_REBOOT, 0);
}

static void test_restore_refuses(void **state)
{
    struct fixture *f = *state, g;
    wr(f, 0, SYSCON_FAIL | (7 << 16), 4);
    struct devstate s = devstate_save(&syscon_device_ops, f->s);
    struct syscon *s2 = second(&g);
    devstate_check_damage(&syscon_device_ops, s2, &s);
    devstate_check_field(&syscon_device_ops, s2, &s, 0, 1, 3);            /* state */
    devstate_check_field(&syscon_device_ops, s2, &s, 1, 4, 0x10000);      /* code */
    devstate_check_field(&syscon_device_ops, s2, &s, 0, 1, HW_RUNNING);   /* code 7 */
    devstate_check_field(&syscon_device_ops, s2, &s, 0, 1, HW_REBOOT);
    assert_int_equal(syscon_state(s2, NULL), HW_RUNNING);
    syscon_free(s2);
    free(s.buf);
}

static void test_device_reset(void **state)
{
    struct fixture *f = *state, g;
    wr(f, 0, SYSCON_RESET, 4);
    syscon_device_ops.reset(f->s);
    int code = -1;
    assert_int_equal(syscon_state(f->s, &code), HW_RUNNING);
    assert_int_equal(code, 0);
    struct syscon *s2 = second(&g);
    struct devstate fresh = devstate_save(&syscon_device_ops, s2);
    devstate_expect(&syscon_device_ops, f->s, &fresh);
    wr(f, 0, SYSCON_PASS, 4);                       /* a new request counts */
    assert_int_equal(syscon_state(f->s, NULL), HW_POWEROFF);
    assert_int_equal(f->notified, 2);
    syscon_free(s2);
    free(fresh.buf);
}

static void test_ops_table(void **state)
{
    assert_string_equal(syscon_device_ops.tag, "syscon");
    assert_non_null(syscon_device_ops.fdt_node);
    assert_null(syscon_device_ops.quiesce);
    assert_null(syscon_device_ops.resume);
    syscon_device_ops.destroy(syscon_new(NULL));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_pass), T(test_fail_codes), T(test_reset), T(test_ignored),
        T(test_save_restore), T(test_restore_refuses), T(test_device_reset),
        T(test_ops_table),
    };
    return cmocka_run_group_tests_name("syscon", tests, NULL, NULL);
}
