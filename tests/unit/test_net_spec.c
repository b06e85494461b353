/* Unit tests for net/net.c: the --net spec parser, good and malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "net/net.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static void parse_ok(const char *spec, struct net_spec *ns)
{
    char err[512] = "unset";
    int rc = net_spec_parse(spec, ns, err, sizeof(err));
    if (rc)
        fail_msg("'%s' rejected: %s", spec, err);
    assert_string_equal(err, "");
}

static void test_plain_user(void **state)
{
    struct net_spec ns;
    parse_ok("user", &ns);
    assert_int_equal(ns.kind, NET_KIND_USER);
    assert_false(ns.has_mac);
    assert_int_equal(ns.n_hostfwd, 0);
}

static void test_hostfwd_full(void **state)
{
    struct net_spec ns;
    parse_ok("user,hostfwd=tcp:127.0.0.1:2222-10.0.2.15:22", &ns);
    assert_int_equal(ns.n_hostfwd, 1);
    assert_false(ns.hostfwd[0].udp);
    assert_int_equal(ns.hostfwd[0].host_addr, IP(127, 0, 0, 1));
    assert_int_equal(ns.hostfwd[0].host_port, 2222);
    assert_int_equal(ns.hostfwd[0].guest_addr, IP(10, 0, 2, 15));
    assert_int_equal(ns.hostfwd[0].guest_port, 22);
}

static void test_hostfwd_defaults(void **state)
{
    struct net_spec ns;
    /* The example: empty guest address. */
    parse_ok("user,hostfwd=tcp:127.0.0.1:2222-:22", &ns);
    assert_int_equal(ns.hostfwd[0].guest_addr, IP(10, 0, 2, 15));
    /* Empty host address: loopback, not every interface. */
    parse_ok("user,hostfwd=udp::5353-10.0.2.20:53", &ns);
    assert_true(ns.hostfwd[0].udp);
    assert_int_equal(ns.hostfwd[0].host_addr, IP(127, 0, 0, 1));
    assert_int_equal(ns.hostfwd[0].host_port, 5353);
    assert_int_equal(ns.hostfwd[0].guest_addr, IP(10, 0, 2, 20));
    assert_int_equal(ns.hostfwd[0].guest_port, 53);
    /* Explicit any-address. */
    parse_ok("user,hostfwd=tcp:0.0.0.0:65535-:1", &ns);
    assert_int_equal(ns.hostfwd[0].host_addr, 0);
    assert_int_equal(ns.hostfwd[0].host_port, 65535);
    assert_int_equal(ns.hostfwd[0].guest_port, 1);
}

static void test_repeat_and_mac(void **state)
{
    struct net_spec ns;
    parse_ok("user,mac=52:54:00:AB:cd:0f,hostfwd=tcp::8080-:80,"
             "hostfwd=udp::8080-:80,hostfwd=tcp:127.0.0.2:8080-:81", &ns);
    assert_true(ns.has_mac);
    const uint8_t want[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f };
    assert_memory_equal(ns.mac, want, 6);
    assert_int_equal(ns.n_hostfwd, 3);
    assert_true(ns.hostfwd[1].udp);
    assert_int_equal(ns.hostfwd[2].host_addr, IP(127, 0, 0, 2));
    assert_int_equal(ns.hostfwd[2].guest_port, 81);

    /* Any unicast address is accepted, not only QEMU's prefix. */
    parse_ok("user,mac=02:00:00:00:00:01", &ns);
    assert_int_equal(ns.mac[0], 2);
}

static void test_max_hostfwd(void **state)
{
    char spec[2048] = "user";
    struct net_spec ns;
    for (int i = 0; i < NET_MAX_HOSTFWD; i++)
        snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
                 ",hostfwd=tcp::%d-:%d", 10000 + i, 1 + i);
    parse_ok(spec, &ns);
    assert_int_equal(ns.n_hostfwd, NET_MAX_HOSTFWD);
    strcat(spec, ",hostfwd=tcp::20000-:1");
    char err[512];
    assert_int_equal(net_spec_parse(spec, &ns, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "more than 16 hostfwd"));
}

/* Every malformed case: -EINVAL, the message quotes the spec, says what
 * is wrong (the `what` substring) and what is expected. */
static const struct bad {
    const char *spec, *what;
} bad_specs[] = {
    { "", "no backend named" },
    { ",hostfwd=tcp::1-:1", "no backend named" },
    { "tap", "unknown backend 'tap'" },
    { "User", "unknown backend 'User'" },
    { "user,", "empty option" },
    { "user,,mac=52:54:00:00:00:01", "empty option" },
    { "user,restrict", "option 'restrict' has no '=VALUE'" },
    { "user,foo=bar", "unknown option 'foo'" },
    { "user,=x", "unknown option ''" },
    { "user,hostfwd=", "has no protocol" },
    { "user,hostfwd=tcp", "has no protocol" },
    { "user,hostfwd=sctp::1-:1", "protocol 'sctp' is not tcp or udp" },
    { "user,hostfwd=TCP::1-:1", "protocol 'TCP' is not tcp or udp" },
    { "user,hostfwd=tcp::2222", "no '-'" },
    { "user,hostfwd=tcp::2222:22", "no '-'" },
    { "user,hostfwd=tcp::1-:2-:3", "more than one '-'" },
    { "user,hostfwd=tcp:2222-:22", "no ':HOSTPORT'" },
    { "user,hostfwd=tcp:localhost:2222-:22", "host address 'localhost' is not an IPv4" },
    { "user,hostfwd=tcp:127.0.0.256:2222-:22", "host address '127.0.0.256'" },
    { "user,hostfwd=tcp:127.1:2222-:22", "host address '127.1'" },
    { "user,hostfwd=tcp:::2222-:22", "host address ':'" },
    { "user,hostfwd=tcp::-:22", "host port ''" },
    { "user,hostfwd=tcp::0-:22", "host port '0'" },
    { "user,hostfwd=tcp::65536-:22", "host port '65536'" },
    { "user,hostfwd=tcp::123456-:22", "host port '123456'" },
    { "user,hostfwd=tcp::+22-:22", "host port '+22'" },
    { "user,hostfwd=tcp::22x-:22", "host port '22x'" },
    { "user,hostfwd=tcp::2222-22", "no ':GUESTPORT'" },
    { "user,hostfwd=tcp::2222-", "no ':GUESTPORT'" },
    { "user,hostfwd=tcp::2222-10.0.2.x:22", "guest address '10.0.2.x' is not an IPv4" },
    { "user,hostfwd=tcp::2222-192.168.1.5:22", "guest address '192.168.1.5' is not a guest address in 10.0.2.0/24" },
    { "user,hostfwd=tcp::2222-10.0.2.2:22", "guest address '10.0.2.2'" },
    { "user,hostfwd=tcp::2222-10.0.2.3:22", "guest address '10.0.2.3'" },
    { "user,hostfwd=tcp::2222-10.0.2.255:22", "guest address '10.0.2.255'" },
    { "user,hostfwd=tcp::2222-10.0.2.0:22", "guest address '10.0.2.0'" },
    { "user,hostfwd=tcp::2222-:", "guest port ''" },
    { "user,hostfwd=tcp::2222-:0", "guest port '0'" },
    { "user,hostfwd=tcp::2222-:70000", "guest port '70000'" },
    { "user,hostfwd=tcp::2222-:-1", "more than one '-'" },
    { "user,hostfwd=tcp::2222-:22,hostfwd=tcp:127.0.0.1:2222-:23", "tcp:127.0.0.1:2222 is forwarded twice" },
    { "user,hostfwd=tcp:0.0.0.0:2222-:22,hostfwd=tcp::2222-:23", "is forwarded twice" },
    { "user,mac=", "bad mac ''" },
    { "user,mac=52:54:00:12:34", "bad mac '52:54:00:12:34'" },
    { "user,mac=52:54:00:12:34:567", "bad mac" },
    { "user,mac=52-54-00-12-34-56", "bad mac" },
    { "user,mac=52:54:00:12:34:5g", "bad mac" },
    { "user,mac=5:54:00:12:34:56:", "bad mac" },
    { "user,mac=01:00:5e:00:00:01", "multicast" },
    { "user,mac=ff:ff:ff:ff:ff:ff", "multicast" },
    { "user,mac=00:00:00:00:00:00", "all zero" },
    { "user,mac=52:54:00:00:00:01,mac=52:54:00:00:00:02", "mac given twice" },
};

static void test_malformed(void **state)
{
    for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
        const struct bad *b = &bad_specs[i];
        struct net_spec ns;
        char err[512] = "unset";
        memset(&ns, 0xaa, sizeof(ns));
        int rc = net_spec_parse(b->spec, &ns, err, sizeof(err));
        if (rc != -EINVAL)
            fail_msg("'%s': rc %d, expected -EINVAL", b->spec, rc);
        char head[256];
        snprintf(head, sizeof(head), "--net '%s': ", b->spec);
        if (strncmp(err, head, strlen(head)) != 0)
            fail_msg("'%s': message does not start with the spec: %s", b->spec, err);
        if (!strstr(err, b->what))
            fail_msg("'%s': message lacks '%s': %s", b->spec, b->what, err);
        if (!strstr(err, "expected "))
            fail_msg("'%s': message does not say what is expected: %s", b->spec, err);
        /* The output is cleared on error. */
        assert_int_equal(ns.n_hostfwd, 0);
        assert_false(ns.has_mac);
    }
}

static void test_err_buffer_bounds(void **state)
{
    struct net_spec ns;
    char err[16];
    memset(err, 'x', sizeof(err));
    assert_int_equal(net_spec_parse("bogus,with,long,text", &ns, err, sizeof(err)), -EINVAL);
    assert_int_equal(strlen(err), sizeof(err) - 1);
    /* No buffer at all is fine too. */
    assert_int_equal(net_spec_parse("user,x", &ns, NULL, 0), -EINVAL);
    assert_int_equal(net_spec_parse(NULL, &ns, NULL, 0), -EINVAL);
    /* A very long spec is quoted shortened, not overflowed. */
    char *longspec = malloc(5000);
    assert_non_null(longspec);
    memset(longspec, 'a', 4999);
    longspec[4999] = 0;
    char big[512];
    assert_int_equal(net_spec_parse(longspec, &ns, big, sizeof(big)), -EINVAL);
    assert_true(strlen(big) < sizeof(big));
    free(longspec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_user),
        cmocka_unit_test(test_hostfwd_full),
        cmocka_unit_test(test_hostfwd_defaults),
        cmocka_unit_test(test_repeat_and_mac),
        cmocka_unit_test(test_max_hostfwd),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_err_buffer_bounds),
    };
    return cmocka_run_group_tests_name("net_spec", tests, NULL, NULL);
}
