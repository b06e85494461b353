/* Unit tests for hw/syscon.c: the sifive,test finisher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

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

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_pass), T(test_fail_codes), T(test_reset), T(test_ignored),
    };
    return cmocka_run_group_tests_name("syscon", tests, NULL, NULL);
}
