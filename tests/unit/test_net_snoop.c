/* Unit tests for net/snoop.c: the guest's IPv4 address learnt from the
 * frames it sends (net_snoop_ipv4), with good frames and hostile ones:
 * truncated at every length, from another MAC, a DHCP discover from
 * 0.0.0.0, 802.1Q-tagged, bad IHL and total length, addresses that are no
 * host's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/net.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t OTHER[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An ARP request for `target` from sha/spa, padded to 60 bytes. */
static size_t arp(uint8_t *f, const uint8_t *src, const uint8_t *sha, uint32_t spa,
                  uint16_t op)
{
    memset(f, 0, 60);
    eth(f, BCAST, src, 0x0806);
    uint8_t *a = f + 14;
    a[1] = 1;                       /* htype Ethernet */
    a[2] = 0x08;                    /* ptype IPv4 */
    a[4] = 6;
    a[5] = 4;
    a[7] = (uint8_t)op;
    memcpy(a + 8, sha, 6);
    put32(a + 14, spa);
    put32(a + 24, IP(10, 0, 2, 2));
    return 60;
}

/* A UDP/IPv4 datagram of `payload` bytes from `src` to `dst`, header
 * of ihl words (options zero). */
static size_t ipv4(uint8_t *f, const uint8_t *mac, uint32_t src, uint32_t dst,
                   unsigned ihl, size_t payload)
{
    memset(f, 0, NET_MAX_FRAME);
    eth(f, OTHER, mac, 0x0800);
    uint8_t *p = f + 14;
    size_t tot = ihl * 4 + payload;
    p[0] = (uint8_t)(0x40 | ihl);
    p[2] = (uint8_t)(tot >> 8);
    p[3] = (uint8_t)tot;
    p[8] = 64;
    p[9] = 17;
    put32(p + 12, src);
    put32(p + 16, dst);
    return 14 + tot;
}

static bool snoop(const uint8_t *f, size_t len, uint32_t *ip)
{
    /* Through a heap copy of exactly len bytes: AddressSanitizer then
     * catches a read past the frame. */
    uint8_t *c = malloc(len ? len : 1);
    assert_non_null(c);
    memcpy(c, f, len);
    bool r = net_snoop_ipv4(c, len, MAC, ip);
    free(c);
    return r;
}

static void test_arp(void **state)
{
    uint8_t f[NET_MAX_FRAME];
    uint32_t ip = 0;
    assert_true(snoop(f, arp(f, MAC, MAC, IP(10, 0, 2, 15), 1), &ip));
    assert_int_equal(ip, IP(10, 0, 2, 15));
    assert_true(snoop(f, arp(f, MAC, MAC, IP(192, 168, 7, 9), 2), &ip));   /* a reply */
    assert_int_equal(ip, IP(192, 168, 7, 9));
    /* The 28 bytes of ARP without the padding are enough. */
    arp(f, MAC, MAC, IP(10, 0, 2, 16), 1);
    assert_true(snoop(f, 42, &ip));
    assert_int_equal(ip, IP(10, 0, 2, 16));
}

static void test_arp_rejected(void **state)
{
    uint8_t f[NET_MAX_FRAME];
    uint32_t ip = 7;
    /* An ARP probe (RFC 5227) says 0.0.0.0. */
    assert_false(snoop(f, arp(f, MAC, MAC, 0, 1), &ip));
    /* Another card's frame, or a sender hardware address not ours
     * (proxy ARP for another host). */
    assert_false(snoop(f, arp(f, OTHER, OTHER, IP(10, 0, 2, 15), 1), &ip));
    assert_false(snoop(f, arp(f, MAC, OTHER, IP(10, 0, 2, 15), 1), &ip));
    /* Not Ethernet/IPv4, or an operation other than request/reply. */
    arp(f, MAC, MAC, IP(10, 0, 2, 15), 1);
    f[14 + 1] = 6;
    assert_false(snoop(f, 60, &ip));
    arp(f, MAC, MAC, IP(10, 0, 2, 15), 1);
    f[14 + 5] = 16;
    assert_false(snoop(f, 60, &ip));
    assert_false(snoop(f, arp(f, MAC, MAC, IP(10, 0, 2, 15), 3), &ip));
    /* Cut anywhere before the sender protocol address ends. */
    arp(f, MAC, MAC, IP(10, 0, 2, 15), 1);
    for (size_t len = 0; len < 42; len++)
        assert_false(snoop(f, len, &ip));
    assert_int_equal(ip, 7);        /* untouched all along */
}

static void test_ipv4(void **state)
{
    uint8_t f[NET_MAX_FRAME];
    uint32_t ip = 0;
    assert_true(snoop(f, ipv4(f, MAC, IP(10, 0, 2, 15), IP(10, 0, 2, 2), 5, 8), &ip));
    assert_int_equal(ip, IP(10, 0, 2, 15));
    /* Options (IHL 15, the most), Ethernet padding after the datagram. */
    size_t n = ipv4(f, MAC, IP(172, 16, 0, 4), IP(8, 8, 8, 8), 15, 0);
    assert_true(snoop(f, n, &ip));
    assert_int_equal(ip, IP(172, 16, 0, 4));
    n = ipv4(f, MAC, IP(10, 1, 1, 1), IP(10, 0, 2, 2), 5, 1);
    assert_true(snoop(f, 60, &ip));
    assert_int_equal(ip, IP(10, 1, 1, 1));
}

static void test_ipv4_rejected(void **state)
{
    uint8_t f[NET_MAX_FRAME];
    uint32_t ip = 7;
    /* DHCP discover: 0.0.0.0 -> 255.255.255.255. */
    assert_false(snoop(f, ipv4(f, MAC, 0, 0xffffffffu, 5, 300), &ip));
    /* Another card's MAC. */
    assert_false(snoop(f, ipv4(f, OTHER, IP(10, 0, 2, 15), IP(10, 0, 2, 2), 5, 8), &ip));
    /* No host's address as the source. */
    static const uint32_t bad[] = { 0xffffffffu, IP(224, 0, 0, 251), IP(239, 1, 2, 3),
                                    IP(169, 254, 3, 4), IP(127, 0, 0, 1), IP(0, 1, 2, 3),
                                    IP(240, 0, 0, 1) };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(snoop(f, ipv4(f, MAC, bad[i], IP(10, 0, 2, 2), 5, 8), &ip));
    /* Version 6 in an IPv4 ethertype; IHL below 5. */
    size_t n = ipv4(f, MAC, IP(10, 0, 2, 15), IP(10, 0, 2, 2), 5, 8);
    f[14] = 0x65;
    assert_false(snoop(f, n, &ip));
    for (unsigned ihl = 0; ihl < 5; ihl++) {
        n = ipv4(f, MAC, IP(10, 0, 2, 15), IP(10, 0, 2, 2), 5, 40);
        f[14] = (uint8_t)(0x40 | ihl);
        assert_false(snoop(f, n, &ip));
    }
    /* IHL past the frame: 60 bytes of header in a 34-byte frame. */
    n = ipv4(f, MAC, IP(10, 0, 2, 15), IP(10, 0, 2, 2), 5, 0);
    f[14] = 0x4f;
    assert_false(snoop(f, n, &ip));
    /* Total length past the frame, or shorter than the header. */
    n = ipv4(f, MAC, IP(10, 0, 2, 15), IP(10, 0, 2, 2), 5, 8);
    assert_false(snoop(f, n - 1, &ip));
    f[16] = 0;
    f[17] = 19;
    assert_false(snoop(f, n, &ip));
    /* Truncated anywhere in the Ethernet or IPv4 header. */
    n = ipv4(f, MAC, IP(10, 0, 2, 15), IP(10, 0, 2, 2), 5, 0);
    for (size_t len = 0; len < n; len++)
        assert_false(snoop(f, len, &ip));
    assert_int_equal(ip, 7);
}

/* 802.1Q: the tag is not looked through, whatever follows it. */
static void test_vlan_tagged(void **state)
{
    uint8_t f[NET_MAX_FRAME], g[NET_MAX_FRAME];
    uint32_t ip = 7;
    size_t n = ipv4(g, MAC, IP(10, 0, 2, 15), IP(10, 0, 2, 2), 5, 8);
    memcpy(f, g, 12);
    f[12] = 0x81;
    f[13] = 0x00;
    f[14] = 0x00;
    f[15] = 0x05;                   /* VLAN 5 */
    memcpy(f + 16, g + 12, n - 12);
    assert_false(snoop(f, n + 4, &ip));
    assert_int_equal(ip, 7);
}

static void test_host_addr(void **state)
{
    assert_true(net_ipv4_is_host_addr(IP(10, 0, 2, 15)));
    assert_true(net_ipv4_is_host_addr(IP(1, 1, 1, 1)));
    assert_true(net_ipv4_is_host_addr(IP(223, 255, 255, 254)));
    assert_true(net_ipv4_is_host_addr(IP(169, 253, 0, 1)));
    assert_false(net_ipv4_is_host_addr(0));
    assert_false(net_ipv4_is_host_addr(IP(169, 254, 0, 1)));
    assert_false(net_ipv4_is_host_addr(IP(224, 0, 0, 1)));
    assert_false(net_ipv4_is_host_addr(0xffffffffu));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arp),
        cmocka_unit_test(test_arp_rejected),
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv4_rejected),
        cmocka_unit_test(test_vlan_tagged),
        cmocka_unit_test(test_host_addr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
