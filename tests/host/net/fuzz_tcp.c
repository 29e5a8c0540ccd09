/* tests/host/net/fuzz_tcp.c — any bytes as a TCP segment (checksum fixed
 * up, so it is not simply dropped) to a listening port or to an
 * established connection; the clock moves with the input. The connection
 * offers window scaling and SACK, and a control bit aims the sequence
 * number a fuzzed distance past rcv_nxt, so the out-of-order queue and the
 * SACK paths are reached. Another bit opens the connection with a large
 * download it never ACKs by itself, and aims the fuzzed ACK and SACK
 * blocks at (and around) what is in flight, so the scoreboard, recovery,
 * loss probes and timeouts are reached. Segments not aimed at the
 * connection come from one of eight addresses, in bursts, so SYN floods
 * reach the per-address cap and fill the table. Oracle: tcp_check() (ranges
 * sorted, disjoint, inside the buffer; totals; SACK blocks inside what
 * was sent; no address above TCP_PER_PEER_MAX) after every input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/tcp.h"
#include "netfake.h"
#include "shim.h"

#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)

static struct tcp_conn *conn_for(uint16_t port)
{
	for (unsigned i = 0; i < TCP_MAX_CONN; i++) {
		struct tcp_conn *c = tcp_conn_at(i);
		if (c->state != TCP_CLOSED && c->rport == port)
			return c;
	}
	return NULL;
}

/* the segment's ACK inside [snd_una, snd_max] and its SACK blocks near
 * what is in flight (some outside it, some wrapped or inverted) */
static void aim_at_flight(uint8_t *seg, size_t size, const struct tcp_conn *c)
{
	uint32_t una = c->snd_una, span = c->snd_max - c->snd_una;
	uint32_t raw = rd32(seg + 8), edge = 0;
	bool have_edge = false;
	wr32(seg + 8, una + raw % (span + 1));
	size_t off = (size_t)(seg[12] >> 4) * 4;
	if (off > size)
		off = size;
	for (size_t i = 20; i + 1 < off;) {
		if (seg[i] == TCP_OPT_END)
			break;
		if (seg[i] == TCP_OPT_NOP) {
			i++;
			continue;
		}
		uint8_t olen = seg[i + 1];
		if (olen < 2 || i + olen > off)
			break;
		if (seg[i] == TCP_OPT_SACK)
			for (size_t k = i + 2; k + 8 <= i + olen; k += 8) {
				uint32_t l = rd32(seg + k),
					 r = rd32(seg + k + 4);
				uint32_t a = una - 64 + l % (span + 128);
				wr32(seg + k, a);
				wr32(seg + k + 4, a + (r % (span + 128)) - 32);
				if (!have_edge) {
					have_edge = true;
					edge = (raw & 0x10000000)
						   ? a + (r % (span + 128)) - 32
						   : a;
				}
			}
		i += olen;
	}
	/* the ACK at an edge of a range already on the scoreboard (else of
	 * this segment's first block), give or take a byte: where the
	 * scoreboard is trimmed */
	if (c->nsacked) {
		unsigned k = (raw >> 20) % c->nsacked;
		edge = c->sacked[k][(raw & 0x10000000) ? 1 : 0];
		have_edge = true;
	}
	uint32_t near = edge - 1 + (raw >> 29) % 3;
	if (have_edge && (raw & 0x8000000) && SEQ_LEQ(una, near) &&
	    SEQ_LEQ(near, c->snd_max))
		wr32(seg + 8, near);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct peer p;
	static uint8_t seg[ETH_MTU], f[ETH_FRAME_MAX + 64];
	if (fake_setup_once())
		peer_init(&p, 40000);
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
			p.auto_ack = !(ctl & 0x20);
			if (ctl & 0x20) { /* a download in flight */
				static const char req[] =
				    "GET /api/blob?size=400000 HTTP/1.1\r\n"
				    "Host: x\r\n\r\n";
				peer_send(&p, TCP_ACK | TCP_PSH, req,
					  sizeof(req) - 1);
			}
		}
		wr16(seg, p.sport);
		wr16(seg + 2, 80);
		if (ctl & 2)
			wr32(seg + 4, p.snd_nxt);
		else if (ctl & 0x40) /* ahead of rcv_nxt: out of order */
			wr32(seg + 4, p.snd_nxt + (rd16(seg + 4) & 0x7fff));
		if (ctl & 4)
			wr32(seg + 8, p.rcv_nxt);
		struct tcp_conn *c = conn_for(p.sport);
		if ((ctl & 0x20) && !p.auto_ack && c && size >= 20 &&
		    c->snd_max != c->snd_una)
			aim_at_flight(seg, size, c);
	}
	/* a segment not aimed at the connection comes from one of eight
	 * addresses (control bits 2, 4 and 0x40, which only aim it), and is
	 * sent 1 + (low five bits of its urgent pointer) times, the source
	 * port one higher each time: SYN bursts reach the per-address cap
	 * and fill the table */
	uint32_t src = PEER_IP;
	unsigned times = 1;
	if (!(ctl & 1)) {
		unsigned k = ((ctl >> 1) & 3) | ((ctl >> 4) & 4);
		if (k)
			src = 0xc6336400u + k; /* 198.51.100.k, via PEER_IP */
		times += seg[19] & 31;
	}
	for (unsigned i = 0; i < times; i++) {
		if (i)
			wr16(seg, (uint16_t)(rd16(seg) + 1));
		wr16(seg + 16, 0);
		uint32_t s = inet_pseudo_sum(src, STACK_IP, IP_PROTO_TCP,
					     (uint16_t)size);
		wr16(seg + 16, inet_fold(inet_sum(seg, size, s)));
		size_t n =
		    build_ipv4(f, src, STACK_IP, IP_PROTO_TCP, seg, size);
		net_input(f, n);
	}
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
