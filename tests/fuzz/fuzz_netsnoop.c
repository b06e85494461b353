/* libFuzzer target: net_snoop_ipv4 (src/net/snoop.c) on any frame a guest
 * could send.  Input: 6 bytes, the card's MAC, then the frame (so the
 * fuzzer can make the Ethernet source match).  The frame is copied to a
 * buffer of exactly its length, so ASan sees any read past it; an answer
 * must be a host address (net_ipv4_is_host_addr) and leave *ip alone when
 * false. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    uint8_t mac[6];
    memcpy(mac, data, 6);
    size_t len = size - 6;
    uint8_t *frame = malloc(len ? len : 1);
    if (!frame)
        return 0;
    memcpy(frame, data + 6, len);
    uint32_t ip = 0xdeadbeefu;
    bool got = net_snoop_ipv4(frame, len, mac, &ip);
    if (got && (!net_ipv4_is_host_addr(ip) || len < 14 || memcmp(frame + 6, mac, 6)))
        abort();
    if (!got && ip != 0xdeadbeefu)
        abort();
    free(frame);
    return 0;
}
