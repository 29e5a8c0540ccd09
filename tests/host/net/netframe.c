/* tests/host/net/netframe.c — see netframe.h */
#include "netframe.h"

#include <string.h>

const uint8_t peer_mac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};

void peer_net_config(struct net_config *c)
{
	net_config_default(c);
	c->mode = NET_MODE_STATIC;
	c->ip = STACK_IP;
	c->mask = 0xffffff00u;
	c->gw = PEER_IP;
}

void build_arp(uint8_t f[64], uint16_t op, const uint8_t *sha, uint32_t spa,
	       const uint8_t *tha, uint32_t tpa)
{
	memset(f, 0, 64);
	if (tha)
		memcpy(f, tha, 6);
	else
		memset(f, 0xff, 6);
	memcpy(f + 6, sha, 6);
	wr16(f + 12, ETHERTYPE_ARP);
	uint8_t *a = f + 14;
	wr16(a, 1);
	wr16(a + 2, ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, sha, 6);
	wr32(a + 14, spa);
	if (tha)
		memcpy(a + 18, tha, 6);
	wr32(a + 24, tpa);
}

size_t build_ipv4(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto,
		  const void *payload, size_t len)
{
	memcpy(f, stack_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	wr16(f + 12, ETHERTYPE_IPV4);
	if (len)
		memcpy(f + 34, payload, len);
	ipv4_build(f + 14, src, dst, proto, (uint16_t)len, 7);
	size_t n = 34 + len;
	if (n < 60) {
		memset(f + n, 0, 60 - n);
		n = 60;
	}
	return n;
}

uint8_t fake_tcp_opts[40];
size_t fake_tcp_optlen;

size_t build_tcp(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq,
		 uint32_t ack, uint8_t flags, uint16_t win, const void *data,
		 size_t len, uint16_t mss)
{
	return build_tcp_from(f, PEER_IP, sport, dport, seq, ack, flags, win,
			      data, len, mss);
}

size_t build_tcp_from(uint8_t *f, uint32_t src, uint16_t sport, uint16_t dport,
		      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		      const void *data, size_t len, uint16_t mss)
{
	uint8_t t[ETH_FRAME_MAX];
	size_t hl = (mss ? 24 : 20) + fake_tcp_optlen;
	memset(t, 0, hl);
	wr16(t, sport);
	wr16(t + 2, dport);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	wr16(t + 14, win);
	if (mss) {
		t[20] = TCP_OPT_MSS;
		t[21] = 4;
		wr16(t + 22, mss);
	}
	memcpy(t + (mss ? 24 : 20), fake_tcp_opts, fake_tcp_optlen);
	if (len)
		memcpy(t + hl, data, len);
	uint32_t s =
	    inet_pseudo_sum(src, STACK_IP, IP_PROTO_TCP, (uint16_t)(hl + len));
	wr16(t + 16, inet_fold(inet_sum(t, hl + len, s)));
	return build_ipv4(f, src, STACK_IP, IP_PROTO_TCP, t, hl + len);
}

size_t build_dhcp_reply(uint8_t *f, uint32_t xid, uint8_t type, uint32_t yiaddr,
			const uint8_t *opts, size_t n)
{
	uint8_t u[8 + 240 + 3 + 255];
	uint8_t *m = u + 8;
	memset(u, 0, sizeof(u));
	struct dhcp_msg *d = (struct dhcp_msg *)m;
	d->op = DHCP_OP_REPLY;
	d->htype = 1;
	d->hlen = 6;
	wr32(&d->xid, xid);
	wr32(d->yiaddr, yiaddr);
	memcpy(d->chaddr, stack_mac, 6);
	wr32(&d->magic, DHCP_MAGIC);
	uint8_t *o = m + 240;
	*o++ = DHCP_OPT_MSG_TYPE, *o++ = 1, *o++ = type;
	n = n < 255 ? n : 255;
	memcpy(o, opts, n);
	size_t len = 8 + 240 + 3 + n;
	wr16(u, DHCP_SERVER_PORT);
	wr16(u + 2, DHCP_CLIENT_PORT);
	wr16(u + 4, (uint16_t)len);
	uint32_t s =
	    inet_pseudo_sum(PEER_IP, 0xffffffffu, IP_PROTO_UDP, (uint16_t)len);
	wr16(u + 6, inet_fold(inet_sum(u, len, s)));
	size_t fl = build_ipv4(f, PEER_IP, 0xffffffffu, IP_PROTO_UDP, u, len);
	memset(f, 0xff, 6);
	return fl;
}
