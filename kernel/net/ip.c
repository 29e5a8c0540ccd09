/* kernel/net/ip.c — the interface: Ethernet demultiplexing, ARP (RFC 826,
 * RFC 1122 §2.3.2), IPv4 input and output (RFC 791, RFC 1122 §3.2), ICMP
 * echo (RFC 792) and UDP (RFC 768). One interface, one address. */
#include "kernel/net/net_internal.h"
#include "kernel/net/tcp.h"
#include "kernel/time/time.h"

#ifdef CAPOS_HOST
#include <stdlib.h>
#else
#include "kernel/mm/mm.h"
#endif

struct net_if net_if;
static const uint8_t eth_bcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

uint64_t net_now_us(void)
{
	return time_now_us();
}

void *net_alloc(size_t len)
{
#ifdef CAPOS_HOST
	return calloc(1, len);
#else
	uint64_t pa = page_alloc(ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE, 0);
	return (void *)(uintptr_t)pa; /* identity-mapped, zeroed */
#endif
}

/* ---- configuration ------------------------------------------------------ */

void net_config_default(struct net_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = NET_MODE_DHCP;
	c->http_port = 80;
}

static uint32_t prefix_mask(unsigned n)
{
	return n ? 0xffffffffu << (32 - n) : 0;
}

bool net_config_apply(struct net_config *c, const char *net, const char *ip,
		      const char *mask, const char *gw)
{
	bool ok = true;
	uint32_t v;
	if (net) {
		if (!strcmp(net, "dhcp"))
			c->mode = NET_MODE_DHCP;
		else if (!strcmp(net, "static"))
			c->mode = NET_MODE_STATIC;
		else if (!strcmp(net, "off"))
			c->mode = NET_MODE_OFF;
		else
			ok = false;
	}
	if (ip) {
		const char *slash = strchr(ip, '/');
		size_t n = slash ? (size_t)(slash - ip) : strlen(ip);
		uint64_t plen = 24;
		if (!ip_parse(ip, n, &v) ||
		    (slash &&
		     (!parse_u64(slash + 1, strlen(slash + 1), &plen) ||
		      plen < 1 || plen > 30))) {
			ok = false;
		} else {
			c->ip = v;
			c->mask = prefix_mask((unsigned)plen);
			if (!c->gw) /* QEMU's convention: the gateway is .2 */
				c->gw = (v & c->mask) | 2;
		}
	}
	if (mask) {
		if (ip_parse(mask, strlen(mask), &v) && v && !(~v & (~v + 1)))
			c->mask = v;
		else
			ok = false;
	}
	if (gw) {
		if (ip_parse(gw, strlen(gw), &v))
			c->gw = v;
		else
			ok = false;
	}
	return ok;
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
	ip_str(ip, a, sizeof(a));
	ip_str(mask, m, sizeof(m));
	ip_str(gw, g, sizeof(g));
	kprintf("%s: address %s mask %s gateway %s (%s)\n",
		net_if.nic ? net_if.nic->name : "net", a, m, g, source);
}

void net_state(struct net_state_view *v)
{
	v->configured = net_if.configured;
	v->ip = net_if.ip;
	v->mask = net_if.mask;
	v->gw = net_if.gw;
	v->source = net_if.source ? net_if.source : "none";
	v->lease_s = net_if.lease_s;
	v->nic = net_if.nic;
	v->tcp_active = 0;
	v->tcp_max = 0;
	tcp_usage(&v->tcp_active, &v->tcp_max);
}

const struct net_counters *net_counters(void)
{
	return &net_if.c;
}

/* ---- transmit ------------------------------------------------------------ */

static int eth_send(uint8_t *frame, const uint8_t *dst, uint16_t type,
		    size_t payload_len)
{
	struct nic *n = net_if.nic;
	size_t len = ETH_HLEN + payload_len;
	memcpy(frame, dst, ETH_ALEN);
	memcpy(frame + 6, n->mac, ETH_ALEN);
	wr16(frame + 12, type);
	if (len < ETH_MIN_FRAME) {
		memset(frame + len, 0, ETH_MIN_FRAME - len);
		len = ETH_MIN_FRAME;
	}
	if (n->send(n, frame, len) != 0) {
		net_if.c.tx_fail++;
		return -1;
	}
	net_if.c.tx_frames++;
	return 0;
}

static void arp_send(uint16_t op, const uint8_t *tha, uint32_t tpa,
		     const uint8_t *eth_dst)
{
	uint8_t f[ETH_MIN_FRAME];
	uint8_t *a = f + ETH_HLEN;
	wr16(a, ARP_HTYPE_ETHER);
	wr16(a + 2, ETHERTYPE_IPV4);
	a[4] = ETH_ALEN;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, net_if.nic->mac, ETH_ALEN);
	wr32(a + 14, net_if.ip);
	memcpy(a + 18, tha, ETH_ALEN);
	wr32(a + 24, tpa);
	if (op == ARP_OP_REQUEST)
		net_if.c.arp_requests_sent++;
	else
		net_if.c.arp_replies_sent++;
	eth_send(f, eth_dst, ETHERTYPE_ARP, sizeof(struct arp_pkt));
}

static struct arp_entry *arp_lookup(uint32_t ip)
{
	for (unsigned i = 0; i < ARP_MAX; i++)
		if (net_if.arp[i].state != ARP_FREE && net_if.arp[i].ip == ip)
			return &net_if.arp[i];
	return NULL;
}

/* a free slot, else the resolved entry closest to expiry */
static struct arp_entry *arp_slot(void)
{
	struct arp_entry *best = NULL;
	for (unsigned i = 0; i < ARP_MAX; i++) {
		struct arp_entry *e = &net_if.arp[i];
		if (e->state == ARP_FREE)
			return e;
		if (e->state == ARP_RESOLVED &&
		    (!best || e->deadline < best->deadline))
			best = e;
	}
	return best;
}

static void arp_update(uint32_t ip, const uint8_t *mac, bool create)
{
	struct arp_entry *e = arp_lookup(ip);
	if (!e && create) {
		e = arp_slot();
		if (!e)
			return;
		e->state = ARP_FREE;
	}
	if (!e)
		return;
	memcpy(e->mac, mac, ETH_ALEN);
	e->ip = ip;
	e->state = ARP_RESOLVED;
	e->deadline = net_now_us() + ARP_TTL_US;
	for (unsigned i = 0; net_if.pendq && i < ARP_PENDQ; i++) {
		struct arp_pending *p = &net_if.pendq[i];
		if (p->hop != ip)
			continue;
		eth_send(p->frame, mac, ETHERTYPE_IPV4, p->len - ETH_HLEN);
		p->hop = 0;
	}
}

static void arp_pend_drop(uint32_t hop)
{
	for (unsigned i = 0; net_if.pendq && i < ARP_PENDQ; i++)
		if (net_if.pendq[i].hop == hop) {
			net_if.pendq[i].hop = 0;
			net_if.c.arp_drops++;
		}
}

static void arp_pend_add(uint32_t hop, const uint8_t *frame, size_t len)
{
	for (unsigned i = 0; net_if.pendq && i < ARP_PENDQ; i++) {
		struct arp_pending *p = &net_if.pendq[i];
		if (p->hop)
			continue;
		p->hop = hop;
		p->len = (uint16_t)len;
		memcpy(p->frame, frame, len);
		return;
	}
	net_if.c.arp_drops++;
}

static void arp_input(const struct eth_view *eth)
{
	struct arp_view a;
	net_if.c.arp_rx++;
	int e = arp_parse(eth->payload, eth->len, &a);
	if (e) {
		net_if.c.arp_drops++;
		return;
	}
	/* RFC 5227 §2.1.1: a probe (sender 0.0.0.0) for our address is
	 * answered, so the prober sees the address in use; it teaches the
	 * cache nothing */
	if (net_if.configured && a.spa == 0 && a.tpa == net_if.ip &&
	    a.op == ARP_OP_REQUEST) {
		net_if.c.arp_probes_answered++;
		arp_send(ARP_OP_REPLY, a.sha, 0, a.sha);
		return;
	}
	if (!net_if.configured || a.spa == 0) {
		net_if.c.arp_drops++;
		return;
	}
	/* RFC 826 "packet reception": merge, then add if we are the target */
	bool for_us = a.tpa == net_if.ip;
	arp_update(a.spa, a.sha, for_us);
	if (for_us && a.op == ARP_OP_REQUEST)
		arp_send(ARP_OP_REPLY, a.sha, a.spa, a.sha);
}

static void arp_tick(uint64_t now)
{
	for (unsigned i = 0; i < ARP_MAX; i++) {
		struct arp_entry *e = &net_if.arp[i];
		if (e->state == ARP_FREE || now < e->deadline)
			continue;
		if (e->state == ARP_RESOLVED || e->tries >= ARP_TRIES) {
			if (e->state == ARP_PENDING)
				arp_pend_drop(e->ip);
			e->state = ARP_FREE;
			continue;
		}
		e->tries++;
		e->deadline = now + ARP_RETRY_US;
		arp_send(ARP_OP_REQUEST, (const uint8_t[ETH_ALEN]){0}, e->ip,
			 eth_bcast);
	}
}

static bool is_broadcast(uint32_t ip)
{
	return ip == IPV4_BROADCAST ||
	       (net_if.mask && net_if.mask != 0xffffffffu &&
		ip == (net_if.ip | ~net_if.mask));
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
	if (is_broadcast(dst))
		return eth_send(frame, eth_bcast, ETHERTYPE_IPV4, ip_len);
	uint32_t hop = dst;
	if (net_if.mask && (dst & net_if.mask) != (net_if.ip & net_if.mask))
		hop = net_if.gw;
	if (!hop) {
		net_if.c.tx_fail++;
		return -1;
	}
	struct arp_entry *e = arp_lookup(hop);
	if (e && e->state == ARP_RESOLVED)
		return eth_send(frame, e->mac, ETHERTYPE_IPV4, ip_len);
	if (!e) {
		e = arp_slot();
		if (!e) {
			net_if.c.arp_drops++;
			return -1;
		}
		e->state = ARP_PENDING;
		e->ip = hop;
		e->tries = 1;
		e->deadline = net_now_us() + ARP_RETRY_US;
		arp_send(ARP_OP_REQUEST, (const uint8_t[ETH_ALEN]){0}, hop,
			 eth_bcast);
	}
	arp_pend_add(hop, frame, ETH_HLEN + ip_len);
	return 0;
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
		tcp_frag_needed(rd16(ip->payload + 6), ip->payload + 8,
				ip->len - 8);
		return;
	}
	if (ip->payload[0] != ICMP_ECHO_REQUEST || is_broadcast(ip->dst))
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

/* RFC 792 / RFC 1122 §3.2.2.1: destination unreachable, code 3 (port),
 * quoting the IP header and the first 8 bytes of the datagram. Never for
 * a broadcast (§3.2.2). */
static void icmp_port_unreachable(const struct ipv4_view *ip)
{
	if (is_broadcast(ip->dst) || !net_if.configured || !ip->hdr)
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
	for (unsigned i = 0; i < ARRAY_SIZE(net_if.udp); i++)
		if (!net_if.udp[i].port) {
			net_if.udp[i].port = port;
			net_if.udp[i].input = input;
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

static void udp_input(const struct ipv4_view *ip)
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
	for (unsigned i = 0; i < ARRAY_SIZE(net_if.udp); i++)
		if (net_if.udp[i].port && net_if.udp[i].port == dport) {
			net_if.udp[i].input(ip, rd16(u), u + 8, ulen - 8u);
			return;
		}
	net_if.c.udp_no_port++;
	icmp_port_unreachable(ip);
}

/* ---- receive ------------------------------------------------------------ */

static void ipv4_input(const struct eth_view *eth)
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
	bool for_us =
	    net_if.configured && (ip.dst == net_if.ip || is_broadcast(ip.dst));
	/* before DHCP completes, the offer may be unicast to the new address */
	if (!net_if.configured && ip.proto == IP_PROTO_UDP)
		for_us = true;
	/* RFC 1122 §3.2.1.3: a broadcast, multicast or own source address is
	 * discarded (answers to it would go to everyone, or to ourselves) */
	bool bad_src = is_broadcast(ip.src) || (ip.src >> 28) == 0xe ||
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
		udp_input(&ip);
		break;
	case IP_PROTO_TCP:
		if (!is_broadcast(ip.dst))
			tcp_input(&ip);
		break;
	default:
		net_if.c.ip_proto_unknown++;
		break;
	}
}

void net_input(const void *frame, size_t len)
{
	struct eth_view eth;
	if (!net_if.nic)
		return;
	net_if.c.rx_frames++;
	int e = eth_parse(frame, len, &eth);
	if (e) {
		if (e == WIRE_SHORT)
			net_if.c.rx_short++;
		else
			net_if.c.rx_unsupported++;
		return;
	}
	if (memcmp(eth.dst, net_if.nic->mac, ETH_ALEN) &&
	    memcmp(eth.dst, eth_bcast, ETH_ALEN)) {
		net_if.c.rx_not_for_us++;
		return;
	}
	if (eth.type == ETHERTYPE_ARP)
		arp_input(&eth);
	else if (eth.type == ETHERTYPE_IPV4)
		ipv4_input(&eth);
	else
		net_if.c.rx_unsupported++;
}

/* ---- life cycle -----------------------------------------------------------
 */

int net_init(struct nic *n, const struct net_config *cfg)
{
	static struct arp_pending *pendq;
	if (!pendq)
		pendq = net_alloc(ARP_PENDQ * sizeof(struct arp_pending));
	memset(&net_if, 0, sizeof(net_if));
	if (pendq)
		memset(pendq, 0, ARP_PENDQ * sizeof(struct arp_pending));
	net_if.pendq = pendq;
	net_if.nic = n;
	if (cfg)
		net_if.cfg = *cfg;
	else
		net_config_default(&net_if.cfg);
	net_if.source = "none";
	net_if.ip_id = (uint16_t)net_now_us();
	dhcp_reset();
	ipfrag_reset();
	tcp_init();
	if (net_if.cfg.mode == NET_MODE_OFF)
		return 0;
	if (net_if.cfg.http_port)
		httpd_init(net_if.cfg.http_port);
	if (net_if.cfg.mode == NET_MODE_STATIC) {
		if (!net_if.cfg.ip) {
			kprintf(
			    "%s: unable to configure static address: no ip=\n",
			    n->name);
			return -1;
		}
		net_set_address(net_if.cfg.ip, net_if.cfg.mask, net_if.cfg.gw,
				"static", 0);
	} else {
		dhcp_start();
	}
	return 0;
}

/* frames handled per call: bounded so timers and other pollers keep running
 * under a flood */
#define NET_POLL_BUDGET 64

void net_poll(void)
{
	struct nic *n = net_if.nic;
	if (!n)
		return;
	for (unsigned i = 0; i < NET_POLL_BUDGET; i++) {
		int len = n->recv(n, net_if.rx, sizeof(net_if.rx));
		if (len <= 0)
			break;
		net_input(net_if.rx, (size_t)len);
		tcp_flush();
	}
	/* timers run at most once per NET_TICK_US: the shortest of them is
	 * the 200 ms TCP RTO floor */
	uint64_t now = net_now_us();
	if (now - net_if.last_tick >= NET_TICK_US) {
		net_if.last_tick = now;
		arp_tick(now);
		ipfrag_tick(now);
		if (net_if.cfg.mode != NET_MODE_OFF) {
			dhcp_tick(now);
			tcp_tick(now);
			httpd_tick(now);
		}
	}
	tcp_flush();
}
