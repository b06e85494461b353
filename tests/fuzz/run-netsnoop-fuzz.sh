#!/bin/bash
# Build the guest-address snooper's fuzz target (net_snoop_ipv4, the
# parser of the Ethernet, ARP and IPv4 headers of every frame a guest
# sends) with clang + libFuzzer + ASan/UBSan and run it briefly from seeds
# written here: an ARP request, a UDP/IPv4 datagram with options, an
# 802.1Q-tagged frame (TAP).  FUZZ_SECONDS overrides 10 s.
. "$(dirname "$0")/lib.sh"
fuzz_init
fuzz_build fuzz_netsnoop "" "$ROOT"/tests/fuzz/fuzz_netsnoop.c "$ROOT"/src/net/snoop.c
MAC='\x52\x54\x00\x12\x34\x56'
# MAC, then the frame: dst, src, ethertype, payload.
printf "$MAC"'\xff\xff\xff\xff\xff\xff'"$MAC"'\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01'"$MAC"'\x0a\x00\x02\x0f\x00\x00\x00\x00\x00\x00\x0a\x00\x02\x02' > "$T/corpus/arp"
printf "$MAC"'\x52\x55\x0a\x00\x02\x02'"$MAC"'\x08\x00\x46\x00\x00\x20\x00\x00\x00\x00\x40\x11\x00\x00\x0a\x00\x02\x0f\x0a\x00\x02\x02\x01\x01\x01\x01\x00\x35\x00\x35\x00\x08\x00\x00' > "$T/corpus/ipv4"
printf "$MAC"'\xff\xff\xff\xff\xff\xff'"$MAC"'\x81\x00\x00\x05\x08\x00\x45\x00\x00\x14\x00\x00\x00\x00\x40\x11\x00\x00\x0a\x00\x02\x0f\x0a\x00\x02\x02' > "$T/corpus/vlan"
fuzz_run fuzz_netsnoop 10 1600
