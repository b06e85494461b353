/* net: learning the IPv4 address a guest uses from the frames it sends
 * (net.h, net_snoop_ipv4).  The frames are the guest's, so hostile: every
 * length is checked before a byte is read.
 *
 * Layouts read (network byte order):
 *   Ethernet II (IEEE 802.3): dst[6] src[6] ethertype[2], payload at 14.
 *   ARP for IPv4 over Ethernet (RFC 826): htype[2]=1 ptype[2]=0x0800
 *       hlen=6 plen=4 oper[2] sha[6] spa[4] tha[6] tpa[4]: 28 bytes.
 *   IPv4 (RFC 791): version/IHL, ..., total length at 2, source at 12;
 *       the header is IHL * 4 bytes, 20 to 60. */
#include <string.h>

#include "net/net.h"

#define ETH_HLEN       14
#define ETH_P_IP       0x0800
#define ETH_P_ARP      0x0806
#define ARP_LEN        28
#define ARP_HTYPE_ETH  1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2
#define IP_MIN_HLEN    20

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool net_ipv4_is_host_addr(uint32_t a)
{
    uint8_t top = (uint8_t)(a >> 24);
    if (top == 0 || top == 127)             /* "this network", loopback */
        return false;
    if ((a & 0xffff0000u) == 0xa9fe0000u)   /* 169.254/16, link-local */
        return false;
    return top < 224;                       /* multicast, reserved, broadcast */
}

bool net_snoop_ipv4(const uint8_t *frame, size_t len, const uint8_t mac[6], uint32_t *ip)
{
    if (len < ETH_HLEN || memcmp(frame + 6, mac, 6) != 0)
        return false;
    /* A tagged frame (802.1Q, 0x8100) is not looked into: an address on a
     * VLAN is not the one the untagged network reaches. */
    uint16_t type = be16(frame + 12);
    const uint8_t *p = frame + ETH_HLEN;
    size_t plen = len - ETH_HLEN;
    uint32_t a;
    if (type == ETH_P_ARP) {
        if (plen < ARP_LEN || be16(p) != ARP_HTYPE_ETH || be16(p + 2) != ETH_P_IP ||
            p[4] != 6 || p[5] != 4)
            return false;
        uint16_t op = be16(p + 6);
        /* The sender hardware address too: a guest that answers for
         * another host (proxy ARP) names that host's address. */
        if ((op != ARP_OP_REQUEST && op != ARP_OP_REPLY) || memcmp(p + 8, mac, 6) != 0)
            return false;
        a = be32(p + 14);
    } else if (type == ETH_P_IP) {
        if (plen < IP_MIN_HLEN || (p[0] >> 4) != 4)
            return false;
        size_t hlen = (size_t)(p[0] & 0x0f) * 4;
        size_t tot = be16(p + 2);
        /* The frame may carry padding after the datagram, never less. */
        if (hlen < IP_MIN_HLEN || hlen > plen || tot < hlen || tot > plen)
            return false;
        a = be32(p + 12);
    } else {
        return false;
    }
    if (!net_ipv4_is_host_addr(a))
        return false;
    *ip = a;
    return true;
}
