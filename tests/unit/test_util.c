/* Unit tests for util/: number parsing (parse_u64, parse_size: decimal
 * only, the documented suffixes only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/util.h"

struct num_case {
    const char *in;
    int rc;
    uint64_t want;
};

static void check_cases(int (*fn)(const char *, uint64_t *), const struct num_case *c,
                        size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0xdeadbeef;
        int rc = fn(c[i].in, &v);
        if (rc != c[i].rc)
            fail_msg("'%s': rc %d, expected %d", c[i].in, rc, c[i].rc);
        if (!rc && v != c[i].want)
            fail_msg("'%s': %llu, expected %llu", c[i].in, (unsigned long long)v,
                     (unsigned long long)c[i].want);
        if (rc && v != 0xdeadbeef)
            fail_msg("'%s': output written on error", c[i].in);
    }
}

static void test_parse_u64(void **state)
{
    static const struct num_case c[] = {
        { "0", 0, 0 },
        { "7", 0, 7 },
        { "010", 0, 10 },                   /* not octal */
        { "08", 0, 8 },                     /* not an invalid octal */
        { "18446744073709551615", 0, UINT64_MAX },
        { "18446744073709551616", -ERANGE, 0 },
        { "99999999999999999999999", -ERANGE, 0 },
        { "0x10", -EINVAL, 0 },             /* not hex */
        { "0X10", -EINVAL, 0 },
        { "", -EINVAL, 0 },
        { " 5", -EINVAL, 0 },               /* no blanks */
        { "\t5", -EINVAL, 0 },
        { "5 ", -EINVAL, 0 },
        { " -1", -EINVAL, 0 },              /* strtoull took this as 2^64-1 */
        { "-1", -EINVAL, 0 },
        { "+1", -EINVAL, 0 },
        { "1e3", -EINVAL, 0 },
        { "1K", -EINVAL, 0 },               /* no suffix for plain numbers */
    };
    check_cases(parse_u64, c, sizeof(c) / sizeof(c[0]));
    uint64_t v;
    assert_int_equal(parse_u64(NULL, &v), -EINVAL);
}

static void test_parse_size(void **state)
{
    static const struct num_case c[] = {
        { "0", 0, 0 },
        { "512", 0, 512 },
        { "010", 0, 10 },
        { "4K", 0, 4096 },
        { "4k", 0, 4096 },
        { "4KB", 0, 4096 },
        { "4KiB", 0, 4096 },
        { "4kib", 0, 4096 },
        { "100B", 0, 100 },
        { "512M", 0, 512ULL << 20 },
        { "2G", 0, 2ULL << 30 },
        { "3T", 0, 3ULL << 40 },
        { "16777215T", 0, 16777215ULL << 40 },
        { "16777216T", -ERANGE, 0 },        /* 2^64 */
        { "0x100", -EINVAL, 0 },
        { "0x1M", -EINVAL, 0 },
        { " 1M", -EINVAL, 0 },
        { "\t1M", -EINVAL, 0 },             /* strtoull skipped the tab */
        { "\t-1", -EINVAL, 0 },             /* ... and negated this */
        { "-1M", -EINVAL, 0 },
        { "+1M", -EINVAL, 0 },
        { "1M ", -EINVAL, 0 },
        { "1 M", -EINVAL, 0 },
        { "1.5G", -EINVAL, 0 },
        { "1P", -EINVAL, 0 },               /* not a documented suffix */
        { "1MM", -EINVAL, 0 },
        { "1MiBx", -EINVAL, 0 },
        { "1Bi", -EINVAL, 0 },
        { "M", -EINVAL, 0 },
        { "", -EINVAL, 0 },
    };
    check_cases(parse_size, c, sizeof(c) / sizeof(c[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_parse_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
