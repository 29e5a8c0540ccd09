/* tests/host/net/fuzz_ipv4.c — the IPv4 and TCP header parsers on any
 * bytes, then the same bytes as an IPv4 packet addressed to the stack
 * (when the TOS byte's low bit is set, from the peer to the stack's
 * address, so fragments reach reassembly). Oracles: the parsers stay inside
 * the input; ipfrag_check() (nothing held past a datagram's end) after
 * every input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/ipfrag.h"
#include "netfake.h"
#include "shim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t f[ETH_FRAME_MAX + 64];
	(void)fake_setup_once();
	struct ipv4_view ip;
	struct tcp_view t;
	struct arp_view a;
	int e = ipv4_parse(data, size, &ip);
	if (e == WIRE_OK || e == WIRE_FRAGMENT) {
		if (ip.payload + ip.len > data + size)
			abort();
		if (tcp_parse(&ip, &t) == WIRE_OK &&
		    t.data + t.len != ip.payload + ip.len)
			abort();
	}
	arp_parse(data, size, &a);
	if (size > ETH_MTU)
		size = ETH_MTU;
	memcpy(f, stack_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	wr16(f + 12, ETHERTYPE_IPV4);
	memcpy(f + 14, data, size);
	/* a valid header checksum, so the parsers behind it are reached */
	if (size >= 20 && (data[0] & 0xf) >= 5 &&
	    (size_t)(data[0] & 0xf) * 4 <= size) {
		size_t ihl = (size_t)(data[0] & 0xf) * 4;
		if (data[1] & 1) {
			wr32(f + 14 + 12, PEER_IP);
			wr32(f + 14 + 16, STACK_IP);
		}
		wr16(f + 14 + 10, 0);
		wr16(f + 14 + 10, inet_fold(inet_sum(f + 14, ihl, 0)));
	}
	net_input(f, 14 + size);
	net_poll();
	const char *why = ipfrag_check();
	if (why) {
		fprintf(stderr, "fuzz_ipv4: %s\n", why);
		abort();
	}
	fake_clear();
	return 0;
}
