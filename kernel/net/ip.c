/* kernel/net/ip.c — IPv4 input and output (RFC 791, RFC 1122 §3.2), ICMP
 * echo (RFC 792) and UDP (RFC 768). One interface, one address. See
 * kernel/net/ip.h. */
#include "kernel/net/ip.h"
#include "kernel/net/arp.h"
#include "kernel/net/ipfrag.h"

struct udp_binding {
	uint16_t port;
	void (*input)(const struct ipv4_view *ip, uint16_t sport,
		      const uint8_t *data, size_t len);
};

static struct udp_binding udp[IP_UDP_BINDINGS];
static struct ip_proto protos[IP_PROTOS];
/* the ICMP error token bucket: credit in microseconds of the refill
 * clock, at most ICMP_ERR_BURST errors' worth, as of `at` */
static struct {
	uint64_t credit_us, at;
} icmp_err;

void ip_reset(void)
{
	memset(udp, 0, sizeof(udp));
	memset(protos, 0, sizeof(protos));
	icmp_err.credit_us = (uint64_t)ICMP_ERR_BURST * ICMP_ERR_COST_US;
	icmp_err.at = net_now_us();
}

int ip_register(const struct ip_proto *p)
{
	for (unsigned i = 0; i < ARRAY_SIZE(protos); i++)
		if (!protos[i].proto) {
			protos[i] = *p;
			return 0;
		}
	return -1;
}

static const struct ip_proto *ip_proto_find(uint8_t proto)
{
	for (unsigned i = 0; i < ARRAY_SIZE(protos); i++)
		if (protos[i].proto && protos[i].proto == proto)
			return &protos[i];
	return NULL;
}

void net_set_address(uint32_t ip, uint32_t mask, uint32_t gw,
		     const char *source, uint32_t lease_s)
{
	char a[16], m[16], g[16];
	net_if.ip = ip;
	net_if.mask = mask;
	net_if.gw = gw;
	net_if.source = source;
	net_if.lease_s = lease_s;
	net_if.configured = ip != 0;
	/* a DHCP server can move or re-mask the address at every renewal,
	 * for ever: said at the stack's 1st, 2nd, 4th, ... (line_due), each
	 * counted (addresses_set, /api/net) */
	if (!line_due(++net_if.c.addresses_set))
		return;
	ip_str(ip, a, sizeof(a));
	ip_str(mask, m, sizeof(m));
	ip_str(gw, g, sizeof(g));
	if (net_if.c.addresses_set == 1)
		kprintf("%s: address %s mask %s gateway %s (%s)\n",
			net_if.nic ? net_if.nic->name : "net", a, m, g, source);
	else
		kprintf("%s: address %s mask %s gateway %s (%s), %llu set so "
			"far)\n",
			net_if.nic ? net_if.nic->name : "net", a, m, g, source,
			(unsigned long long)net_if.c.addresses_set);
}

void net_clear_address(void)
{
	/* as net_set_address: said at the 1st, 2nd, 4th, ... */
	if (net_if.configured && line_due(++net_if.c.addresses_removed)) {
		char a[16];
		ip_str(net_if.ip, a, sizeof(a));
		kprintf("%s: address %s removed (%llu so far)\n",
			net_if.nic ? net_if.nic->name : "net", a,
			(unsigned long long)net_if.c.addresses_removed);
	}
	net_if.ip = net_if.mask = net_if.gw = 0;
	net_if.source = "none";
	net_if.lease_s = 0;
	net_if.configured = false;
	arp_reset();
	for (unsigned i = 0; i < ARRAY_SIZE(protos); i++)
		if (protos[i].proto && protos[i].addr_lost)
			protos[i].addr_lost();
}

/* the limited broadcast, or our subnet's directed one: a /31 has none
 * (RFC 3021 §2.2: both its addresses are hosts) and a /32 none */
bool ip_is_broadcast(uint32_t ip)
{
	return ip == IPV4_BROADCAST || (net_if.mask && ~net_if.mask > 1u &&
					ip == (net_if.ip | ~net_if.mask));
}

bool ip_host_ok(uint32_t a, uint32_t mask)
{
	uint32_t top = a >> 24, host = a & ~mask;
	if (top == 0 || top == 127 || top >= 224 || !mask ||
	    (~mask & (~mask + 1)))
		return false;
	return ~mask <= 1 || (host && host != ~mask);
}

static uint16_t if_mtu(void)
{
	return net_if.nic->mtu && net_if.nic->mtu < ETH_MTU ? net_if.nic->mtu
							    : ETH_MTU;
}

/* one IPv4 packet with the given id and flags/fragment-offset word */
static int ip_send(uint8_t *frame, uint32_t dst, uint8_t proto,
		   size_t payload_len, uint16_t id, uint16_t frag)
{
	if (payload_len + 20 > if_mtu()) {
		net_if.c.tx_fail++;
		return -1;
	}
	uint8_t *h = frame + ETH_HLEN;
	ipv4_build(h, net_if.ip, dst, proto, (uint16_t)payload_len, id);
	if (frag != IP_FLAG_DF) {
		wr16(h + 6, frag);
		wr16(h + 10, 0);
		wr16(h + 10, inet_fold(inet_sum(h, 20, 0)));
	}
	size_t ip_len = 20 + payload_len;
	if (ip_is_broadcast(dst))
		return eth_send(frame, eth_bcast, ETHERTYPE_IPV4, ip_len);
	uint32_t hop = dst;
	if (net_if.mask && (dst & net_if.mask) != (net_if.ip & net_if.mask))
		hop = net_if.gw;
	if (!hop) {
		net_if.c.tx_fail++;
		return -1;
	}
	return arp_output(frame, hop, ip_len);
}

int net_ip_send(uint8_t *frame, uint32_t dst, uint8_t proto, size_t payload_len)
{
	return ip_send(frame, dst, proto, payload_len, net_if.ip_id++,
		       IP_FLAG_DF);
}

/* ---- ICMP and UDP ------------------------------------------------------- */

static void icmp_input(const struct ipv4_view *ip)
{
	if (ip->len < sizeof(struct icmp_hdr) ||
	    inet_fold(inet_sum(ip->payload, ip->len, 0)) != 0) {
		net_if.c.icmp_bad++;
		return;
	}
	if (ip->payload[0] == ICMP_DEST_UNREACH &&
	    ip->payload[1] == ICMP_FRAG_NEEDED && ip->len >= 8 + 20 + 8) {
		/* the quoted header's protocol field */
		const struct ip_proto *p = ip_proto_find(ip->payload[8 + 9]);
		if (p && p->frag_needed)
			p->frag_needed(rd16(ip->payload + 6), ip->payload + 8,
				       ip->len - 8);
		else
			net_if.c.icmp_bad++;
		return;
	}
	if (ip->payload[0] != ICMP_ECHO_REQUEST || ip_is_broadcast(ip->dst))
		return;
	/* RFC 792: the reply carries identifier, sequence and data back;
	 * type and code become 0, so the checksum covers the rest */
	uint16_t csum = inet_fold(inet_sum(ip->payload + 4, ip->len - 4, 0));
	/* a reassembled request may need a fragmented reply (RFC 791 §3.2:
	 * every fragment but the last a multiple of 8 bytes, DF clear) */
	size_t chunk = (size_t)(if_mtu() - 20) / 8 * 8;
	uint16_t id = net_if.ip_id++;
	net_if.c.icmp_echo_replies++;
	for (size_t off = 0; off < ip->len; off += chunk) {
		size_t n = MIN(chunk, ip->len - off);
		bool more = off + n < ip->len;
		uint8_t *p = net_if.tx + NET_TX_HDR;
		memcpy(p, ip->payload + off, n);
		if (off == 0) {
			p[0] = ICMP_ECHO_REPLY;
			p[1] = 0;
			wr16(p + 2, csum);
		}
		uint16_t frag =
		    !off && !more
			? IP_FLAG_DF
			: (uint16_t)((more ? IP_FLAG_MF : 0) | (off / 8));
		if (ip_send(net_if.tx, ip->src, IP_PROTO_ICMP, n, id, frag))
			return;
	}
}

/* RFC 1812 §4.3.2.8 (and RFC 1122 §3.2.2, which lets a host do the same):
 * ICMP errors are rate-limited, a token bucket over the whole interface
 * as Linux's icmp_global_allow: ICMP_ERR_BURST at once, then one per
 * ICMP_ERR_COST_US. Each one refused is counted in icmp_errors_limited */
static bool icmp_error_allowed(void)
{
	uint64_t now = net_now_us();
	uint64_t cap = (uint64_t)ICMP_ERR_BURST * ICMP_ERR_COST_US;
	icmp_err.credit_us = MIN(cap, icmp_err.credit_us + (now - icmp_err.at));
	icmp_err.at = now;
	if (icmp_err.credit_us < ICMP_ERR_COST_US) {
		net_if.c.icmp_errors_limited++;
		return false;
	}
	icmp_err.credit_us -= ICMP_ERR_COST_US;
	return true;
}

/* RFC 792 / RFC 1122 §3.2.2.1: destination unreachable, code 3 (port),
 * quoting the IP header and the first 8 bytes of the datagram. Never for
 * a broadcast, IP or link-layer, nor to a source that is not one host
 * (0.0.0.0, class E; ip_input dropped the others) (§3.2.2). */
static void icmp_port_unreachable(const struct ipv4_view *ip, bool l2_bcast)
{
	if (ip_is_broadcast(ip->dst) || l2_bcast || !ip->src ||
	    (ip->src >> 28) == 0xf || !net_if.configured || !ip->hdr ||
	    !icmp_error_allowed())
		return;
	size_t quote = ip->hlen + MIN(ip->len, (size_t)8);
	uint8_t *f = net_if.tx;
	uint8_t *p = f + NET_TX_HDR;
	memset(p, 0, 8);
	p[0] = ICMP_DEST_UNREACH;
	p[1] = ICMP_PORT_UNREACH;
	/* header and payload apart: a reassembled datagram keeps them in
	 * different places */
	memcpy(p + 8, ip->hdr, ip->hlen);
	memcpy(p + 8 + ip->hlen, ip->payload, quote - ip->hlen);
	wr16(p + 2, inet_fold(inet_sum(p, 8 + quote, 0)));
	net_if.c.icmp_unreach_sent++;
	net_ip_send(f, ip->src, IP_PROTO_ICMP, 8 + quote);
}

int net_udp_bind(uint16_t port,
		 void (*input)(const struct ipv4_view *ip, uint16_t sport,
			       const uint8_t *data, size_t len))
{
	for (unsigned i = 0; i < ARRAY_SIZE(udp); i++)
		if (!udp[i].port) {
			udp[i].port = port;
			udp[i].input = input;
			return 0;
		}
	return -1;
}

int net_udp_send(uint16_t sport, uint32_t dst, uint16_t dport, const void *data,
		 size_t len)
{
	if (len > ETH_MTU - 28)
		return -1;
	uint8_t *f = net_if.tx;
	uint8_t *u = f + NET_TX_HDR;
	wr16(u, sport);
	wr16(u + 2, dport);
	wr16(u + 4, (uint16_t)(8 + len));
	wr16(u + 6, 0);
	memmove(u + 8, data, len);
	uint32_t s =
	    inet_pseudo_sum(net_if.ip, dst, IP_PROTO_UDP, (uint16_t)(8 + len));
	uint16_t cs = inet_fold(inet_sum(u, 8 + len, s));
	wr16(u + 6, cs ? cs : 0xffff); /* RFC 768: 0 means "none" */
	return net_ip_send(f, dst, IP_PROTO_UDP, 8 + len);
}

static void udp_input(const struct ipv4_view *ip, bool l2_bcast)
{
	const uint8_t *u = ip->payload;
	net_if.c.udp_rx++;
	if (ip->len < 8) {
		net_if.c.udp_bad++;
		return;
	}
	uint16_t ulen = rd16(u + 4);
	if (ulen < 8 || ulen > ip->len) {
		net_if.c.udp_bad++;
		return;
	}
	if (rd16(u + 6)) {
		uint32_t s =
		    inet_pseudo_sum(ip->src, ip->dst, IP_PROTO_UDP, ulen);
		if (inet_fold(inet_sum(u, ulen, s)) != 0) {
			net_if.c.udp_bad++;
			return;
		}
	}
	uint16_t dport = rd16(u + 2);
	for (unsigned i = 0; i < ARRAY_SIZE(udp); i++)
		if (udp[i].port && udp[i].port == dport) {
			udp[i].input(ip, rd16(u), u + 8, ulen - 8u);
			return;
		}
	net_if.c.udp_no_port++;
	icmp_port_unreachable(ip, l2_bcast);
}

/* ---- receive ------------------------------------------------------------ */

void ip_input(const struct eth_view *eth)
{
	struct ipv4_view ip;
	net_if.c.ip_rx++;
	int e = ipv4_parse(eth->payload, eth->len, &ip);
	if (e && e != WIRE_FRAGMENT) {
		if (e == WIRE_CSUM)
			net_if.c.ip_csum_bad++;
		else
			net_if.c.ip_bad++;
		return;
	}
	bool for_us = net_if.configured &&
		      (ip.dst == net_if.ip || ip_is_broadcast(ip.dst));
	/* before DHCP completes, the offer may be unicast to the new address */
	if (!net_if.configured && ip.proto == IP_PROTO_UDP)
		for_us = true;
	/* RFC 1122 §3.2.1.3: a broadcast, multicast, loopback or own source
	 * address is discarded (answers to it would go to everyone, nowhere,
	 * or to ourselves) */
	bool bad_src = ip_is_broadcast(ip.src) || (ip.src >> 28) == 0xe ||
		       (ip.src >> 24) == 127 ||
		       (net_if.configured && ip.src == net_if.ip) ||
		       (ip.src == 0 && ip.proto != IP_PROTO_UDP);
	if (!for_us || bad_src) {
		net_if.c.ip_not_for_us++;
		return;
	}
	struct ipv4_view whole;
	if (e == WIRE_FRAGMENT) {
		if (ipfrag_input(&ip, &whole) != 1)
			return;
		ip = whole;
	}
	switch (ip.proto) {
	case IP_PROTO_ICMP:
		icmp_input(&ip);
		break;
	case IP_PROTO_UDP:
		udp_input(&ip, !memcmp(eth->dst, eth_bcast, ETH_ALEN));
		break;
	default: {
		const struct ip_proto *p = ip_proto_find(ip.proto);
		if (!p)
			net_if.c.ip_proto_unknown++;
		else if (!ip_is_broadcast(ip.dst))
			p->input(&ip);
		break;
	}
	}
}
