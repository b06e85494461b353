/* Unit tests for util/: number parsing (parse_u64, parse_size: decimal
 * only, the documented suffixes only) and the token-bucket limiter of
 * guest-triggered log lines (util/ratelimit.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/ratelimit.h"
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

#define SEC 1000000000ULL

static void test_ratelimit_burst_then_rate(void **state)
{
    struct ratelimit rl;
    ratelimit_init(&rl, 10, 2);
    uint64_t t = rl.last_ns, missed = 99;
    for (unsigned i = 0; i < 10; i++)
        assert_true(ratelimit_take(&rl, t, &missed));
    assert_int_equal(missed, 0);
    for (unsigned i = 0; i < 1000; i++)
        assert_false(ratelimit_take(&rl, t, NULL));
    /* Half a second later: one more line (2 a second), which learns how
     * many were held back. */
    assert_true(ratelimit_take(&rl, t + SEC / 2, &missed));
    assert_int_equal(missed, 1000);
    assert_false(ratelimit_take(&rl, t + SEC / 2, NULL));
    assert_int_equal(ratelimit_flush(&rl), 1);
    assert_int_equal(ratelimit_flush(&rl), 0);
    assert_int_equal(ratelimit_total_suppressed(&rl), 1001);
    /* A long quiet spell refills the burst, no more. */
    t += 3600 * SEC;
    unsigned ok = 0;
    for (unsigned i = 0; i < 100; i++)
        ok += ratelimit_take(&rl, t, NULL);
    assert_int_equal(ok, 10);
    /* A clock that goes backwards refills nothing. */
    assert_false(ratelimit_take(&rl, t - SEC, NULL));
    ratelimit_destroy(&rl);
}

/* Over a simulated minute of one attempt per millisecond, the lines let
 * through are the burst plus the rate times the time. */
static void test_ratelimit_bound(void **state)
{
    struct ratelimit rl;
    ratelimit_init(&rl, RATELIMIT_GUEST_BURST, RATELIMIT_GUEST_PER_SEC);
    uint64_t t0 = rl.last_ns;
    unsigned ok = 0;
    for (uint64_t ms = 0; ms < 60000; ms++)
        ok += ratelimit_take(&rl, t0 + ms * 1000000ULL, NULL);
    assert_in_range(ok, RATELIMIT_GUEST_BURST + 59 * RATELIMIT_GUEST_PER_SEC,
                    RATELIMIT_GUEST_BURST + 60 * RATELIMIT_GUEST_PER_SEC);
    assert_int_equal(ratelimit_total_suppressed(&rl), 60000 - ok);
    ratelimit_destroy(&rl);
}

/* vlog_guest prints within the limit, and then says how many it held. */
static void test_vlog_guest(void **state)
{
    FILE *cap = tmpfile();
    assert_non_null(cap);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fileno(cap), STDERR_FILENO) >= 0);
    struct ratelimit rl;
    ratelimit_init(&rl, 3, 0);
    for (unsigned i = 0; i < 50; i++)
        vlog_guest(&rl, "bad thing %u", i);
    /* Let one more through by hand to see the count. */
    rl.level_ns = rl.cost_ns;
    vlog_guest(&rl, "after");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(cap);
    char buf[4096] = { 0 };
    size_t n = fread(buf, 1, sizeof(buf) - 1, cap);
    fclose(cap);
    buf[n] = 0;
    assert_non_null(strstr(buf, "vessel: warning: bad thing 0\n"));
    assert_non_null(strstr(buf, "vessel: warning: bad thing 2\n"));
    assert_null(strstr(buf, "bad thing 3"));
    assert_non_null(strstr(buf, "47 more guest-triggered warnings were suppressed"));
    assert_non_null(strstr(buf, "vessel: warning: after\n"));
    ratelimit_destroy(&rl);
}

/* path_lexical and path_under: the jail's and the daemon's disk checks
 * rely on them to keep paths inside a directory. */
static void test_path_lexical(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(path_lexical("/a/b", "c/../d/./e", out, sizeof(out)), 0);
    assert_string_equal(out, "/a/b/d/e");
    assert_int_equal(path_lexical("/a/b", "../../../../x", out, sizeof(out)), 0);
    assert_string_equal(out, "/x");
    assert_int_equal(path_lexical("/ignored", "//abs//p/", out, sizeof(out)), 0);
    assert_string_equal(out, "/abs/p");
    assert_int_equal(path_lexical(NULL, "..", out, sizeof(out)), 0);
    assert_string_equal(out, "/");
    assert_int_equal(path_lexical("/a", "bbbbbbbb", out, 8), -ENAMETOOLONG);
    assert_true(path_under("/s/vms/a/d.qcow2", "/s/vms/a"));
    assert_true(path_under("/s/vms/a", "/s/vms/a"));
    assert_false(path_under("/s/vms/ab/d.qcow2", "/s/vms/a"));
    assert_false(path_under("/s/vms", "/s/vms/a"));
    assert_true(path_under("/x", "/"));
}

/* proc_status_u32: this process's own lines, a pid given explicitly,
 * a key that is not there, a process that is not there. */
static void test_proc_status(void **state)
{
    (void)state;
    unsigned v = 0;
    assert_int_equal(proc_status_u32(0, "Threads", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(proc_status_u32(getpid(), "Uid", &v), 0);
    assert_int_equal(v, (unsigned)getuid());
    assert_int_equal(proc_status_u32(getpid(), "Pid", &v), 0);
    assert_int_equal(v, (unsigned)getpid());
    assert_int_equal(proc_status_u32(0, "NoSuchKey", &v), -ENOENT);
    assert_int_equal(proc_status_u32(0x7ffffff0, "Uid", &v), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_ratelimit_burst_then_rate),
        cmocka_unit_test(test_ratelimit_bound),
        cmocka_unit_test(test_vlog_guest),
        cmocka_unit_test(test_path_lexical),
        cmocka_unit_test(test_proc_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
