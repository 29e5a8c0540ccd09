/* kernel/net/dhcp.c — DHCP client (RFC 2131 §4.4, options RFC 2132).
 *
 * INIT -> DISCOVER (broadcast) -> SELECTING: first OFFER -> REQUEST
 * (broadcast, options 50 + 54) -> REQUESTING: ACK -> BOUND; NAK -> INIT.
 * Retransmission doubles from 4 s up to 64 s (RFC 2131 §4.1). At T1 (half
 * the lease) the client asks its server again, unicast with ciaddr set
 * (RENEWING); at T2 (7/8 of the lease) any server, broadcast (REBINDING,
 * §4.4.5); if none answers before the lease ends, it gives up the address
 * at its end and starts over. Each of these exchanges has a transaction id
 * of its own. With a static fallback configured (ip=), two unanswered
 * rounds switch to it. */
#include "kernel/net/dhcp.h"
#include "kernel/net/ip.h"

enum dhcp_state {
	DHCP_OFF,
	DHCP_SELECTING,
	DHCP_REQUESTING,
	DHCP_BOUND,
	DHCP_RENEWING,
	DHCP_REBINDING,
	DHCP_FALLBACK
};

#define DHCP_RETRY_FIRST_US  (4ull * 1000000)
#define DHCP_RETRY_MAX_US    (64ull * 1000000)
#define DHCP_FALLBACK_ROUNDS 2

static struct {
	enum dhcp_state state;
	uint32_t xid;
	uint32_t offer_ip, server_id;
	uint64_t deadline, retry_us, t2, lease_end;
	unsigned rounds;
} dhcp;

/* renewing or rebinding: the address is ours until the lease ends */
static bool dhcp_bound_addr(void)
{
	return dhcp.state == DHCP_RENEWING || dhcp.state == DHCP_REBINDING;
}

static void dhcp_new_xid(uint64_t now)
{
	dhcp.xid = (uint32_t)(now * 2654435761u) ^ rd32(net_if.nic->mac + 2);
}

static void dhcp_send(uint8_t type)
{
	uint8_t m[sizeof(struct dhcp_msg) + 64];
	memset(m, 0, sizeof(m));
	struct dhcp_msg *d = (struct dhcp_msg *)m;
	d->op = DHCP_OP_REQUEST;
	d->htype = ARP_HTYPE_ETHER;
	d->hlen = ETH_ALEN;
	wr32(&d->xid, dhcp.xid);
	/* ask for a broadcast reply: we cannot receive unicast IP yet */
	if (!dhcp_bound_addr())
		wr16(&d->flags, DHCP_FLAG_BROADCAST);
	else
		wr32(d->ciaddr, net_if.ip);
	memcpy(d->chaddr, net_if.nic->mac, ETH_ALEN);
	wr32(&d->magic, DHCP_MAGIC);
	uint8_t *o = m + sizeof(struct dhcp_msg);
	*o++ = DHCP_OPT_MSG_TYPE;
	*o++ = 1;
	*o++ = type;
	if (type == DHCPREQUEST && dhcp.state == DHCP_REQUESTING) {
		*o++ = DHCP_OPT_REQ_IP;
		*o++ = 4;
		wr32(o, dhcp.offer_ip);
		o += 4;
		*o++ = DHCP_OPT_SERVER_ID;
		*o++ = 4;
		wr32(o, dhcp.server_id);
		o += 4;
	}
	*o++ = DHCP_OPT_PARAM_REQ;
	*o++ = 3;
	*o++ = DHCP_OPT_SUBNET;
	*o++ = DHCP_OPT_ROUTER;
	*o++ = DHCP_OPT_LEASE;
	*o++ = DHCP_OPT_END;
	/* RFC 1542 §2.1: relay agents may drop BOOTP messages under 300
	 * bytes; the rest of the buffer is already zero (pad options) */
	if (o < m + 300)
		o = m + 300;
	net_if.c.dhcp_sent++;
	uint32_t dst = dhcp.state == DHCP_RENEWING && dhcp.server_id
			   ? dhcp.server_id
			   : IPV4_BROADCAST;
	net_udp_send(DHCP_CLIENT_PORT, dst, DHCP_SERVER_PORT, m,
		     (size_t)(o - m));
}

static void dhcp_arm(uint64_t now)
{
	dhcp.deadline = now + dhcp.retry_us;
	if (dhcp.retry_us < DHCP_RETRY_MAX_US)
		dhcp.retry_us *= 2;
	/* RFC 2131 §4.4.5: rebinding starts at T2 and the address stops when
	 * the lease ends, whenever the next retransmission would be */
	if (dhcp.state == DHCP_RENEWING && dhcp.deadline > dhcp.t2)
		dhcp.deadline = dhcp.t2;
	if (dhcp_bound_addr() && dhcp.deadline > dhcp.lease_end)
		dhcp.deadline = dhcp.lease_end;
}

static void dhcp_discover(uint64_t now)
{
	dhcp.state = DHCP_SELECTING;
	dhcp_new_xid(now);
	dhcp.retry_us = DHCP_RETRY_FIRST_US;
	dhcp_send(DHCPDISCOVER);
	dhcp_arm(now);
}

struct dhcp_opts {
	int type;
	uint32_t server_id, mask, router, lease;
	bool have_mask, have_router;
};

/* RFC 2132 §2: code, length, data; pad and end have no length. Overloaded
 * sname/file fields (option 52) are not read. */
static bool dhcp_parse_opts(const uint8_t *o, size_t len, struct dhcp_opts *r)
{
	memset(r, 0, sizeof(*r));
	r->type = -1;
	size_t i = 0;
	while (i < len) {
		uint8_t code = o[i++];
		if (code == DHCP_OPT_PAD)
			continue;
		if (code == DHCP_OPT_END)
			break;
		if (i >= len || i + 1 + o[i] > len)
			return false;
		uint8_t l = o[i++];
		const uint8_t *v = o + i;
		i += l;
		switch (code) {
		case DHCP_OPT_MSG_TYPE:
			if (l == 1)
				r->type = v[0];
			break;
		case DHCP_OPT_SERVER_ID:
			if (l == 4)
				r->server_id = rd32(v);
			break;
		case DHCP_OPT_SUBNET:
			if (l == 4)
				r->mask = rd32(v), r->have_mask = true;
			break;
		case DHCP_OPT_ROUTER:
			if (l >= 4)
				r->router = rd32(v), r->have_router = true;
			break;
		case DHCP_OPT_LEASE:
			if (l == 4)
				r->lease = rd32(v);
			break;
		default:
			break;
		}
	}
	return r->type > 0;
}

/* an address one host can hold: not 0/8, loopback, multicast, class E or
 * the broadcast address (RFC 1122 §3.2.1.3) */
static bool host_addr(uint32_t a)
{
	uint32_t top = a >> 24;
	return top != 0 && top != 127 && top < 224;
}

static void dhcp_input(const struct ipv4_view *ip, uint16_t sport,
		       const uint8_t *data, size_t len)
{
	struct dhcp_opts o;
	net_if.c.dhcp_rx++;
	if (sport != DHCP_SERVER_PORT || len < sizeof(struct dhcp_msg)) {
		net_if.c.dhcp_bad++;
		return;
	}
	const struct dhcp_msg *d = (const struct dhcp_msg *)data;
	if (d->op != DHCP_OP_REPLY || rd32(&d->xid) != dhcp.xid ||
	    rd32(&d->magic) != DHCP_MAGIC ||
	    memcmp(d->chaddr, net_if.nic->mac, ETH_ALEN) ||
	    !dhcp_parse_opts(data + sizeof(*d), len - sizeof(*d), &o)) {
		net_if.c.dhcp_bad++;
		return;
	}
	uint32_t yi = rd32(d->yiaddr);
	uint64_t now = net_now_us();
	if (dhcp.state == DHCP_SELECTING && o.type == DHCPOFFER) {
		if (!host_addr(yi) || !o.server_id) {
			net_if.c.dhcp_bad++;
			return;
		}
		dhcp.offer_ip = yi;
		dhcp.server_id = o.server_id;
		dhcp.state = DHCP_REQUESTING;
		dhcp.retry_us = DHCP_RETRY_FIRST_US;
		dhcp_send(DHCPREQUEST);
		dhcp_arm(now);
		return;
	}
	if (dhcp.state != DHCP_REQUESTING && !dhcp_bound_addr())
		return;
	if (o.type == DHCPNAK) {
		kprintf("%s: dhcp: NAK, starting over\n", net_if.nic->name);
		net_if.configured = false;
		dhcp_discover(now);
		return;
	}
	if (o.type != DHCPACK)
		return;
	if (!host_addr(yi)) { /* held to the checks of the OFFER */
		net_if.c.dhcp_bad++;
		return;
	}
	uint32_t mask = o.have_mask ? o.mask : 0xffffff00u;
	if (!mask || (~mask & (~mask + 1))) { /* not a contiguous mask */
		net_if.c.dhcp_bad++;
		return;
	}
	uint32_t lease = o.lease ? o.lease : 3600;
	uint32_t gw = o.have_router ? o.router : 0;
	/* a renewal may move the address, mask or router too: the latest
	 * ACK's parameters are the ones in force */
	if (dhcp.state == DHCP_REQUESTING || yi != net_if.ip ||
	    mask != net_if.mask || gw != net_if.gw)
		net_set_address(yi, mask, gw, "dhcp", lease);
	net_if.lease_s = lease;
	if (o.server_id)
		dhcp.server_id = o.server_id;
	dhcp.state = DHCP_BOUND;
	dhcp.lease_end = now + (uint64_t)lease * 1000000;
	dhcp.t2 = now + (uint64_t)lease * 875000;	/* RFC 2131 §4.4.5 */
	dhcp.deadline = now + (uint64_t)lease * 500000; /* T1 */
	(void)ip;
}

/* forget any previous lease (net_init of a new stack) */
void dhcp_reset(void)
{
	memset(&dhcp, 0, sizeof(dhcp));
}

void dhcp_start(void)
{
	dhcp_reset();
	net_udp_bind(DHCP_CLIENT_PORT, dhcp_input);
	dhcp_discover(net_now_us());
}

void dhcp_tick(uint64_t now)
{
	if (dhcp.state == DHCP_OFF || dhcp.state == DHCP_FALLBACK ||
	    now < dhcp.deadline)
		return;
	/* RFC 2131 §4.4.5: the address stops at the lease's end, even when
	 * the T1 tick itself comes later than that */
	if ((dhcp.state == DHCP_BOUND || dhcp_bound_addr()) &&
	    now >= dhcp.lease_end) {
		kprintf("%s: dhcp: lease ended unrenewed, starting over\n",
			net_if.nic->name);
		net_if.configured = false;
		dhcp_discover(now);
		return;
	}
	switch (dhcp.state) {
	case DHCP_SELECTING:
	case DHCP_REQUESTING:
		if (++dhcp.rounds >= DHCP_FALLBACK_ROUNDS && net_if.cfg.ip) {
			kprintf(
			    "%s: dhcp: no answer, using the static address\n",
			    net_if.nic->name);
			dhcp.state = DHCP_FALLBACK;
			net_set_address(net_if.cfg.ip, net_if.cfg.mask,
					net_if.cfg.gw, "static", 0);
			return;
		}
		if (dhcp.state == DHCP_REQUESTING &&
		    dhcp.retry_us >= DHCP_RETRY_MAX_US) {
			dhcp_discover(now);
			return;
		}
		dhcp_send(dhcp.state == DHCP_SELECTING ? DHCPDISCOVER
						       : DHCPREQUEST);
		dhcp_arm(now);
		break;
	case DHCP_BOUND:
		dhcp.state = DHCP_RENEWING;
		dhcp_new_xid(now);
		dhcp.retry_us = DHCP_RETRY_FIRST_US;
		dhcp_send(DHCPREQUEST);
		dhcp_arm(now);
		break;
	case DHCP_RENEWING:
	case DHCP_REBINDING:
		if (dhcp.state == DHCP_RENEWING && now >= dhcp.t2) {
			/* the server is gone: ask any server (broadcast) */
			dhcp.state = DHCP_REBINDING;
			dhcp_new_xid(now);
			dhcp.retry_us = DHCP_RETRY_FIRST_US;
		}
		dhcp_send(DHCPREQUEST);
		dhcp_arm(now);
		break;
	default:
		break;
	}
}
