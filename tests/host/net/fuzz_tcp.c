/* tests/host/net/fuzz_tcp.c — any bytes as a TCP segment (checksum fixed
 * up, so it is not simply dropped) to a listening port or to an
 * established connection; the clock moves with the input. The connection
 * offers window scaling and SACK, and a control bit aims the sequence
 * number a fuzzed distance past rcv_nxt, so the out-of-order queue and the
 * SACK paths are reached. Oracle: tcp_check() (ranges sorted, disjoint,
 * inside the buffer; totals; SACK blocks inside what was sent) after every
 * input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/tcp.h"
#include "netfake.h"
#include "shim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool up;
	static struct peer p;
	static uint8_t seg[ETH_MTU], f[ETH_FRAME_MAX + 64];
	if (!up) {
		shim_quiet = 1;
		fake_setup(false);
		peer_init(&p, 40000);
		up = true;
	}
	if (size < 21)
		return 0;
	uint8_t ctl = data[0];
	data++;
	size--;
	if (size > ETH_MTU - 20)
		size = ETH_MTU - 20;
	memcpy(seg, data, size);
	if (ctl & 1) {
		/* aim at the established connection, in its window */
		if (!p.established || p.got_rst || p.got_fin) {
			peer_free(&p);
			peer_init(&p, (uint16_t)(40000 + (ctl >> 1)));
			static const uint8_t o[8] = {1, 3, 3, 7, 1, 1, 4, 2};
			memcpy(fake_tcp_opts, o, sizeof(o));
			fake_tcp_optlen = sizeof(o);
			peer_connect(&p);
			fake_tcp_optlen = 0;
		}
		wr16(seg, p.sport);
		wr16(seg + 2, 80);
		if (ctl & 2)
			wr32(seg + 4, p.snd_nxt);
		else if (ctl & 0x40) /* ahead of rcv_nxt: out of order */
			wr32(seg + 4, p.snd_nxt + (rd16(seg + 4) & 0x7fff));
		if (ctl & 4)
			wr32(seg + 8, p.rcv_nxt);
	}
	wr16(seg + 16, 0);
	uint32_t s =
	    inet_pseudo_sum(PEER_IP, STACK_IP, IP_PROTO_TCP, (uint16_t)size);
	wr16(seg + 16, inet_fold(inet_sum(seg, size, s)));
	size_t n = build_ipv4(f, PEER_IP, STACK_IP, IP_PROTO_TCP, seg, size);
	net_input(f, n);
	if (ctl & 8)
		shim_clock_ns += (uint64_t)(ctl >> 4) * 500000000ull;
	net_poll();
	peer_pump(&p);
	const char *why = tcp_check();
	if (why) {
		fprintf(stderr, "fuzz_tcp: invariant broken: %s\n", why);
		abort();
	}
	if (p.rx_len > (1 << 19))
		p.rx_len = 0;
	fake_clear();
	return 0;
}
