/* tests/host/net/fuzz_ipv4.c — the IPv4 and TCP header parsers on any
 * bytes, then the same bytes as an IPv4 packet addressed to the stack
 * (when the TOS byte's low bit is set, from the peer to the stack's
 * address, so fragments reach reassembly; a TCP segment's checksum made
 * right, so its options are read). Oracles: the parsers stay inside the
 * input; what tcp_parse reads from the options (MSS, window scale,
 * SACK-permitted, SACK blocks) and whether it refuses them is what
 * opts_model, a reading of RFC 9293 §3.2, RFC 7323 §2-3 and RFC 2018 of its
 * own, says; ipfrag_check() (nothing held past a datagram's end) after
 * every input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/ipfrag.h"
#include "netfake.h"
#include "shim.h"

/* the options of the TCP header b[0..off), read as the RFCs say: -1 when
 * they are malformed (a length byte missing, below 2 or past the header) */
static int opts_model(const uint8_t *b, size_t off, struct tcp_view *m)
{
	m->mss = 0;
	m->wscale = -1;
	m->sack_perm = false;
	m->nsack = 0;
	m->ts = false;
	size_t i = 20;
	while (i < off && b[i] != TCP_OPT_END) {
		if (b[i] == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (off - i < 2 || b[i + 1] < 2 || b[i + 1] > off - i)
			return -1;
		uint8_t kind = b[i], len = b[i + 1];
		const uint8_t *o = b + i + 2;
		if (kind == TCP_OPT_MSS && len == 4)
			m->mss = (uint16_t)(o[0] << 8 | o[1]);
		else if (kind == TCP_OPT_WSCALE && len == 3)
			m->wscale = (int8_t)(o[0] > 14 ? 14 : o[0]);
		else if (kind == TCP_OPT_SACK_PERM && len == 2)
			m->sack_perm = true;
		else if (kind == TCP_OPT_TS && len == 10) {
			m->ts = true;
			m->tsval = rd32(o);
			m->tsecr = rd32(o + 4);
		} else if (kind == TCP_OPT_SACK && len > 2 &&
			   (len - 2) % 8 == 0)
			for (unsigned k = 0; k < (len - 2u) / 8 && m->nsack < 4;
			     k++, m->nsack++) {
				m->sack[m->nsack][0] = rd32(o + 8 * k);
				m->sack[m->nsack][1] = rd32(o + 8 * k + 4);
			}
		i += len;
	}
	return 0;
}

/* the TCP segment in the IPv4 packet p (its header checksum right), its
 * checksum made right, parsed and held against opts_model */
static void check_tcp_options(uint8_t *p, size_t len)
{
	struct ipv4_view ip;
	struct tcp_view t, m;
	if (ipv4_parse(p, len, &ip) != WIRE_OK || ip.proto != IP_PROTO_TCP ||
	    ip.len < 20)
		return;
	uint8_t *b = p + ip.hlen;
	size_t off = (size_t)(b[12] >> 4) * 4;
	if (off < 20 || off > ip.len)
		return;
	wr16(b + 16, 0);
	wr16(b + 16,
	     inet_fold(inet_sum(b, ip.len,
				inet_pseudo_sum(ip.src, ip.dst, IP_PROTO_TCP,
						(uint16_t)ip.len))));
	int got = tcp_parse(&ip, &t), want = opts_model(b, off, &m);
	if (got != (want ? WIRE_BAD : WIRE_OK)) {
		fprintf(stderr, "fuzz_ipv4: tcp_parse %d, the options say %s\n",
			got, want ? "malformed" : "well-formed");
		abort();
	}
	if (got == WIRE_OK &&
	    (t.mss != m.mss || t.wscale != m.wscale ||
	     t.sack_perm != m.sack_perm || t.nsack != m.nsack || t.ts != m.ts ||
	     (m.ts && (t.tsval != m.tsval || t.tsecr != m.tsecr)) ||
	     memcmp(t.sack, m.sack, sizeof(t.sack[0]) * m.nsack))) {
		fprintf(stderr,
			"fuzz_ipv4: options read as mss %u wscale %d sack_perm "
			"%d nsack %u ts %d, not %u %d %d %u %d\n",
			t.mss, t.wscale, t.sack_perm, t.nsack, t.ts, m.mss,
			m.wscale, m.sack_perm, m.nsack, m.ts);
		abort();
	}
}

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
		check_tcp_options(f + 14, size);
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
