/* kernel/net/dhcp.c — DHCP client (RFC 2131 §4.4, options RFC 2132).
 *
 * INIT -> DISCOVER (broadcast) -> SELECTING: first OFFER -> REQUEST
 * (broadcast, options 50 + 54) -> REQUESTING: ACK -> PROBING; NAK -> INIT.
 * PROBING checks with ARP that no other host holds the address (RFC 2131
 * §3.1 step 5, RFC 5227 §2.1): no conflict by the end of the probe window
 * -> BOUND, announced (RFC 5227 §2.3); a conflict -> DHCPDECLINE and, after
 * DHCP_DECLINE_WAIT_US, DISCOVER again (DECLINED). Links where a probe
 * proves nothing are bound without one (dhcp_acked): a /32 lease, a link
 * whose one MAC answers ARP for every address, DHCP_MAX_DECLINES declines
 * in a row. An address that goes (lease end, NAK, a renewal that moves
 * it) is removed from the interface at once (net_clear_address).
 * Retransmission doubles from 4 s up to 64 s (RFC 2131 §4.1). A lease
 * shorter than DHCP_MIN_LEASE_S (dhcp.h) is taken as that. At T1 (half
 * the lease) the client asks its server again, unicast with ciaddr set
 * (RENEWING); at T2 (7/8 of the lease) any server, broadcast (REBINDING,
 * §4.4.5); if none answers before the lease ends, it gives up the address
 * at its end and starts over. Each of these exchanges has a transaction id
 * of its own. With a static fallback configured (ip=), two unanswered
 * rounds switch to it. */
#include "kernel/net/dhcp.h"
#include "kernel/lib/random.h"
#include "kernel/net/arp.h"
#include "kernel/net/ip.h"

enum dhcp_state {
	DHCP_OFF,
	DHCP_SELECTING,
	DHCP_REQUESTING,
	DHCP_PROBING,
	DHCP_DECLINED,
	DHCP_BOUND,
	DHCP_RENEWING,
	DHCP_REBINDING,
	DHCP_FALLBACK
};

#define DHCP_RETRY_FIRST_US  (4ull * 1000000)
#define DHCP_RETRY_MAX_US    (64ull * 1000000)
#define DHCP_FALLBACK_ROUNDS 2

/* The probe of an ACKed address. RFC 5227 §1.1 calls its timing constants
 * fixed (PROBE_WAIT 1 s, then PROBE_NUM 3 probes PROBE_MIN 1 s to PROBE_MAX
 * 2 s apart, then ANNOUNCE_WAIT 2 s: 3-7 s before the address may be used)
 * and §2.2 foresees shorter ones on network technologies where they are
 * appropriate, adding that hosts on one link using different timings
 * cause no problem. capOS runs on virtual links (QEMU, cloud NICs) where
 * an ARP answer takes well under a millisecond, and every boot waits for
 * its address, so: PROBE_NUM's 3 probes, DHCP_PROBE_GAP_US apart, then
 * DHCP_PROBE_WAIT_US for a late answer: the address is bound
 * 2 * DHCP_PROBE_GAP_US + DHCP_PROBE_WAIT_US (400 ms) after the ACK. No
 * random PROBE_WAIT first: §2.1.1 gives it to keep hosts powered on
 * together from probing together, and a DHCP client probes only once its
 * server has answered it, not at power-on; two hosts probing one address
 * at once still see each other's probes (a conflict for both). */
#define DHCP_PROBE_NUM	   3
#define DHCP_PROBE_GAP_US  (100ull * 1000)
#define DHCP_PROBE_WAIT_US (200ull * 1000)
/* RFC 2131 §3.1 step 5: after a DHCPDECLINE, wait at least ten seconds
 * before starting over */
#define DHCP_DECLINE_WAIT_US (10ull * 1000000)
/* RFC 5227 §2.1.1: after MAX_CONFLICTS (10) conflicts on an interface, at
 * most one new address per RATE_LIMIT_INTERVAL (60 s). Counted here as
 * the declines of the stack (dhcp_declines, /api/net); the wait after
 * each decline from the tenth on is DHCP_RATE_LIMIT_US */
#define DHCP_MAX_CONFLICTS 10
#define DHCP_RATE_LIMIT_US (60ull * 1000000)
/* Some virtual links answer ARP for every address with one MAC (Azure's
 * host: 12:34:56:78:9a:bc; proxy ARP), the probe of our own address too,
 * and give us the same address again after a DHCPDECLINE: probing there
 * would decline for ever and never bind. After DHCP_MAX_DECLINES declines
 * in a row (no probe passing in between), the next ACKed address is bound
 * without a probe, and so is every later one this boot (no probe runs
 * that could pass). RFC 5227 §2.1.1 instead keeps probing, one new
 * address per RATE_LIMIT_INTERVAL once MAX_CONFLICTS is reached; this
 * client stops before that (2 < 10) rather than slow down, taking the
 * risk of a real conflict (then defended, §2.4 (c)) over never having an
 * address. On such a link the address is bound about
 * 2 * DHCP_DECLINE_WAIT_US (21 s) after the first ACK, inside the 30 s
 * the first-boot proof gives DHCP (FB_DHCP_WAIT_US, kernel/proof) */
#define DHCP_MAX_DECLINES 2

static struct {
	enum dhcp_state state;
	uint32_t xid;
	uint32_t offer_ip, server_id;
	uint64_t deadline, retry_us, t2, lease_end;
	unsigned rounds;
	/* PROBING: the ACK's parameters, bound when the probe passes */
	uint32_t ack_mask, ack_gw, ack_lease;
	uint64_t ack_at;
	unsigned probes;
	uint8_t conflict_mac[ETH_ALEN];
	/* declines since the last probe that passed; the last address
	 * declined then (0: none) and the MAC that claimed it; probing given
	 * up for the boot (a proxy answers ARP). The declines of the stack
	 * are net_if.c.dhcp_declines */
	unsigned declines;
	uint32_t declined_ip;
	uint8_t declined_mac[ETH_ALEN];
	bool no_probe;
	/* NAKs of the stack: a server may NAK every REQUEST, as fast as
	 * the exchange runs; said at the 1st, 2nd, 4th, ... */
	uint64_t naks;
	/* a lease under DHCP_MIN_LEASE_S was said (once per stack) */
	bool short_lease_said;
	/* ACKs without a lease time: the lease in force has had one (said
	 * once a lease); leases that had one, said at the 1st, 2nd, 4th, ...
	 * (a server that NAKs each renewal starts a lease each time) */
	bool lease_untimed;
	uint64_t untimed_leases;
	/* leases a server let end unrenewed, renewal ACKs that moved the
	 * address: a server can repeat either once a lease for ever; said
	 * at the 1st, 2nd, 4th, ... */
	uint64_t leases_ended, moves;
	/* addresses bound without a probe (a /32; declines in a row): a
	 * server that NAKs each renewal has one a lease; said at the 1st,
	 * 2nd, 4th, ... */
	uint64_t unprobed;
	/* the message the ring last refused (NIC_TX_FULL; 0: none), and the
	 * state and xid of the exchange it belongs to: dhcp_flush sends it
	 * again while that exchange stands */
	uint8_t resend;
	enum dhcp_state resend_state;
	uint32_t resend_xid;
} dhcp;

/* renewing or rebinding: the address is ours until the lease ends */
static bool dhcp_bound_addr(void)
{
	return dhcp.state == DHCP_RENEWING || dhcp.state == DHCP_REBINDING;
}

/* RFC 2131 §2 table 1: "a random number chosen by the client". One made
 * of the clock and the MAC could be guessed, and a forged NAK or ACK with
 * it (a renewal's answer comes unicast, from off the link too) takes the
 * address away or moves it */
static void dhcp_new_xid(void)
{
	dhcp.xid = (uint32_t)random_u64();
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
	/* ask for a broadcast reply: we cannot receive unicast IP yet (a
	 * DECLINE gets no reply: flags 0, ciaddr 0, RFC 2131 table 5) */
	if (dhcp_bound_addr())
		wr32(d->ciaddr, net_if.ip);
	else if (type != DHCPDECLINE)
		wr16(&d->flags, DHCP_FLAG_BROADCAST);
	memcpy(d->chaddr, net_if.nic->mac, ETH_ALEN);
	wr32(&d->magic, DHCP_MAGIC);
	uint8_t *o = m + sizeof(struct dhcp_msg);
	*o++ = DHCP_OPT_MSG_TYPE;
	*o++ = 1;
	*o++ = type;
	if ((type == DHCPREQUEST && dhcp.state == DHCP_REQUESTING) ||
	    type == DHCPDECLINE) {
		*o++ = DHCP_OPT_REQ_IP;
		*o++ = 4;
		wr32(o, dhcp.offer_ip);
		o += 4;
		*o++ = DHCP_OPT_SERVER_ID;
		*o++ = 4;
		wr32(o, dhcp.server_id);
		o += 4;
	}
	if (type == DHCPDECLINE) {
		/* table 5: a message SHOULD say why; no parameter list */
		const uint8_t *c = dhcp.conflict_mac;
		int n =
		    ksnprintf((char *)o + 2, 40,
			      "address in use by %02x:%02x:%02x:%02x:%02x:%02x",
			      c[0], c[1], c[2], c[3], c[4], c[5]);
		*o++ = DHCP_OPT_MESSAGE;
		*o++ = (uint8_t)n;
		o += n;
	} else {
		*o++ = DHCP_OPT_PARAM_REQ;
		*o++ = 3;
		*o++ = DHCP_OPT_SUBNET;
		*o++ = DHCP_OPT_ROUTER;
		*o++ = DHCP_OPT_LEASE;
	}
	*o++ = DHCP_OPT_END;
	/* RFC 1542 §2.1: relay agents may drop BOOTP messages under 300
	 * bytes; the rest of the buffer is already zero (pad options) */
	if (o < m + 300)
		o = m + 300;
	uint32_t dst = dhcp.state == DHCP_RENEWING && dhcp.server_id
			   ? dhcp.server_id
			   : IPV4_BROADCAST;
	int r = net_udp_send(DHCP_CLIENT_PORT, dst, DHCP_SERVER_PORT, m,
			     (size_t)(o - m));
	if (r == 0)
		net_if.c.dhcp_sent++;
	dhcp.resend = r == NIC_TX_FULL ? type : 0;
	dhcp.resend_state = dhcp.state;
	dhcp.resend_xid = dhcp.xid;
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

/* BOUND with a lease of `lease` s that started at `from` */
static void dhcp_lease_from(uint64_t from, uint32_t lease)
{
	net_if.lease_s = lease;
	dhcp.state = DHCP_BOUND;
	dhcp.lease_end = from + (uint64_t)lease * 1000000;
	dhcp.t2 = from + (uint64_t)lease * 875000;	 /* RFC 2131 §4.4.5 */
	dhcp.deadline = from + (uint64_t)lease * 500000; /* T1 */
}

static void dhcp_discover(uint64_t now)
{
	dhcp.state = DHCP_SELECTING;
	dhcp_new_xid();
	dhcp.retry_us = DHCP_RETRY_FIRST_US;
	dhcp_send(DHCPDISCOVER);
	dhcp_arm(now);
}

struct dhcp_opts {
	int type;
	uint32_t server_id, mask, router, lease;
	bool have_mask, have_router, have_lease;
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
				r->lease = rd32(v), r->have_lease = true;
			break;
		default:
			break;
		}
	}
	return r->type > 0;
}

/* the reply's subnet mask; a /24 when it names none */
static uint32_t dhcp_mask(const struct dhcp_opts *o)
{
	return o->have_mask ? o->mask : 0xffffff00u;
}

/* a server identifier a renewal may be unicast to: one host, on any
 * subnet (a relay's server is on another). Not 0 (none given), nor
 * loopback, multicast or class E: RFC 1122 §3.2.1.3 keeps 127/8 off the
 * wire, and a REQUEST to them reaches no server */
static bool dhcp_server_ok(uint32_t a)
{
	return ip_host_ok(a, 0xffffffffu);
}

/* the ACKed address (PROBING's parameters) is ours: bound and announced
 * (RFC 5227 §2.3), unless its lease (running from the ACK) has ended
 * meanwhile: a lease shorter than the probe, or a tick that came that
 * late */
static void dhcp_bind(uint64_t now)
{
	if (now >= dhcp.ack_at + (uint64_t)dhcp.ack_lease * 1000000) {
		kprintf("%s: dhcp: lease ended while probing, starting over\n",
			net_if.nic->name);
		dhcp_discover(now);
		return;
	}
	net_set_address(dhcp.offer_ip, dhcp.ack_mask, dhcp.ack_gw, "dhcp",
			dhcp.ack_lease);
	dhcp_lease_from(dhcp.ack_at, dhcp.ack_lease);
	arp_announce();
}

/* an ACK of an address the interface does not have: probed first (RFC
 * 2131 §3.1 step 5), or bound at once where a probe proves nothing */
static void dhcp_acked(uint64_t now, uint32_t yi, uint32_t mask, uint32_t gw,
		       uint32_t lease)
{
	dhcp.offer_ip = yi;
	dhcp.ack_mask = mask;
	dhcp.ack_gw = gw;
	dhcp.ack_lease = lease;
	dhcp.ack_at = now;
	char a[16];
	ip_str(yi, a, sizeof(a));
	if (mask == 0xffffffffu) {
		/* a /32 (Google Cloud's VPC hands these out, with a gateway
		 * route, and answers ARP itself): no other host is on the
		 * address's subnet, and whatever answers a probe is the
		 * fabric */
		if (line_due(++dhcp.unprobed))
			kprintf(
			    "%s: dhcp: %s/32 has no neighbour that could "
			    "hold it; bound without probing (%llu so far)\n",
			    net_if.nic->name, a,
			    (unsigned long long)dhcp.unprobed);
		dhcp_bind(now);
		return;
	}
	if (dhcp.no_probe) { /* a proxy answers for every address */
		dhcp_bind(now);
		return;
	}
	if (dhcp.declines >= DHCP_MAX_DECLINES) {
		if (line_due(++dhcp.unprobed))
			kprintf("%s: dhcp: %u addresses declined in a row; %s "
				"bound without probing (%llu so far)\n",
				net_if.nic->name, dhcp.declines, a,
				(unsigned long long)dhcp.unprobed);
		dhcp_bind(now);
		return;
	}
	dhcp.state = DHCP_PROBING;
	dhcp.probes = 1;
	arp_acd_start(yi);
	arp_acd_probe();
	dhcp.deadline = now + DHCP_PROBE_GAP_US;
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
		if (!ip_host_ok(yi, dhcp_mask(&o)) ||
		    !dhcp_server_ok(o.server_id)) {
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
		if (line_due(++dhcp.naks))
			kprintf("%s: dhcp: NAK, starting over (%llu so far)\n",
				net_if.nic->name,
				(unsigned long long)dhcp.naks);
		net_clear_address();
		dhcp_discover(now);
		return;
	}
	if (o.type != DHCPACK)
		return;
	uint32_t mask = dhcp_mask(&o);
	/* bound to its subnet's broadcast address, the stack took every
	 * packet to it for a broadcast (ip_is_broadcast): no TCP, no echo */
	if (!ip_host_ok(yi, mask)) { /* held to the checks of the OFFER */
		net_if.c.dhcp_bad++;
		return;
	}
	/* an ACK in REQUESTING starts a lease, and so does a renewal ACK that
	 * moves the address (below) */
	if (dhcp.state == DHCP_REQUESTING || yi != net_if.ip)
		dhcp.lease_untimed = false;
	/* RFC 2131 section 4.3.1: an ACK to a REQUEST MUST carry the lease
	 * time; one without is taken as DHCP_DEFAULT_LEASE_S (kernel/net/dhcp.h
	 * says why), every such ACK counted, said once a lease */
	if (!o.have_lease) {
		net_if.c.dhcp_no_lease_time++;
		if (!dhcp.lease_untimed && line_due(++dhcp.untimed_leases)) {
			char a[16];
			ip_str(yi, a, sizeof(a));
			kprintf("%s: dhcp: ACK of %s has no lease time (RFC "
				"2131 4.3.1 requires one); taken as %u s "
				"(DHCP_DEFAULT_LEASE_S), renewed at half that "
				"(%llu such leases; each such ACK counted in "
				"dhcp_no_lease_time)\n",
				net_if.nic->name, a, DHCP_DEFAULT_LEASE_S,
				(unsigned long long)dhcp.untimed_leases);
		}
		dhcp.lease_untimed = true;
	}
	/* a lease of 0 is under the floor like any other short one, not the
	 * absent option */
	uint32_t lease = o.have_lease ? o.lease : DHCP_DEFAULT_LEASE_S;
	if (lease < DHCP_MIN_LEASE_S) {
		if (!dhcp.short_lease_said)
			kprintf("%s: dhcp: server leases for %u s; taken as "
				"%u s (DHCP_MIN_LEASE_S; said once)\n",
				net_if.nic->name, lease, DHCP_MIN_LEASE_S);
		dhcp.short_lease_said = true;
		lease = DHCP_MIN_LEASE_S;
	}
	uint32_t gw = o.have_router ? o.router : 0;
	if (dhcp_server_ok(o.server_id))
		dhcp.server_id = o.server_id;
	(void)ip;
	if (dhcp.state != DHCP_REQUESTING && yi != net_if.ip) {
		/* RFC 2131 §4.3.2 and §4.4.5: a renewing or rebinding REQUEST
		 * (ciaddr set) asks to extend the lease of our address; an ACK
		 * naming another one is a new address, not an extension. The
		 * old one goes with its connections (they cannot move), and
		 * the new one is probed as after a first ACK */
		char a[16], b[16];
		ip_str(net_if.ip, a, sizeof(a));
		ip_str(yi, b, sizeof(b));
		if (line_due(++dhcp.moves))
			kprintf("%s: dhcp: renewal ACK moves %s to %s (%llu so "
				"far)\n",
				net_if.nic->name, a, b,
				(unsigned long long)dhcp.moves);
		net_clear_address();
	}
	if (!net_if.configured) {
		dhcp_acked(now, yi, mask, gw, lease);
		return;
	}
	/* a renewal may change the mask or router: the latest ACK's
	 * parameters are the ones in force (RFC 2131 §4.4.5), its line
	 * bounded by net_set_address's */
	if (mask != net_if.mask || gw != net_if.gw)
		net_set_address(yi, mask, gw, "dhcp", lease);
	dhcp_lease_from(now, lease);
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

/* PROBING: a conflict declines the address (RFC 2131 §3.1 step 5: a
 * DHCPDECLINE, then at least ten seconds before starting over), unless
 * the MAC that claimed the address declined last claims this other one
 * too: it answers for every address (proxy ARP), so the address is bound
 * and probing given up for the boot; the next probe; or, the window over
 * with no conflict, the address is ours */
static void dhcp_probe_tick(uint64_t now)
{
	uint8_t *mac = dhcp.conflict_mac;
	if (arp_acd_conflict(mac)) {
		arp_acd_stop();
		if (dhcp.declined_ip && dhcp.declined_ip != dhcp.offer_ip &&
		    !memcmp(mac, dhcp.declined_mac, ETH_ALEN)) {
			kprintf("%s: dhcp: %02x:%02x:%02x:%02x:%02x:%02x "
				"answers ARP for every address; not probing "
				"on this link\n",
				net_if.nic->name, mac[0], mac[1], mac[2],
				mac[3], mac[4], mac[5]);
			dhcp.no_probe = true;
			dhcp_bind(now);
			return;
		}
		uint64_t n = ++net_if.c.dhcp_declines;
		uint64_t wait = n >= DHCP_MAX_CONFLICTS ? DHCP_RATE_LIMIT_US
							: DHCP_DECLINE_WAIT_US;
		/* a holder of the address on the link and a server that
		 * offers it again between leases of another (a probe passing
		 * in between starts the declines in a row over) decline for
		 * ever, one a DHCP_RATE_LIMIT_US: said at the stack's 1st,
		 * 2nd, 4th, ... (line_due) */
		if (line_due(n)) {
			char a[16];
			ip_str(dhcp.offer_ip, a, sizeof(a));
			kprintf("%s: dhcp: %s is in use by "
				"%02x:%02x:%02x:%02x:%02x:%02x; declining it, "
				"DISCOVER again in %lu s (%llu declines so "
				"far)\n",
				net_if.nic->name, a, mac[0], mac[1], mac[2],
				mac[3], mac[4], mac[5],
				(unsigned long)(wait / 1000000),
				(unsigned long long)n);
		}
		dhcp.state = DHCP_DECLINED;
		dhcp_send(DHCPDECLINE);
		dhcp.declines++;
		dhcp.declined_ip = dhcp.offer_ip;
		memcpy(dhcp.declined_mac, mac, ETH_ALEN);
		dhcp.deadline = now + wait;
		return;
	}
	if (now < dhcp.deadline)
		return;
	if (dhcp.probes < DHCP_PROBE_NUM) {
		arp_acd_probe();
		dhcp.probes++;
		dhcp.deadline =
		    now + (dhcp.probes < DHCP_PROBE_NUM ? DHCP_PROBE_GAP_US
							: DHCP_PROBE_WAIT_US);
		return;
	}
	arp_acd_stop();
	dhcp.declines = 0; /* a probe passed: the link's ARP tells the truth */
	dhcp.declined_ip = 0;
	dhcp_bind(now);
}

void dhcp_flush(void)
{
	if (dhcp.resend && dhcp.resend_state == dhcp.state &&
	    dhcp.resend_xid == dhcp.xid)
		dhcp_send(dhcp.resend);
}

void dhcp_tick(uint64_t now)
{
	if (dhcp.state == DHCP_PROBING) {
		dhcp_probe_tick(now);
		return;
	}
	if (dhcp.state == DHCP_OFF || dhcp.state == DHCP_FALLBACK ||
	    now < dhcp.deadline)
		return;
	/* RFC 2131 §4.4.5: the address stops at the lease's end, even when
	 * the T1 tick itself comes later than that */
	if ((dhcp.state == DHCP_BOUND || dhcp_bound_addr()) &&
	    now >= dhcp.lease_end) {
		if (line_due(++dhcp.leases_ended))
			kprintf("%s: dhcp: lease ended unrenewed, starting "
				"over (%llu so far)\n",
				net_if.nic->name,
				(unsigned long long)dhcp.leases_ended);
		net_clear_address();
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
		dhcp_new_xid();
		dhcp.retry_us = DHCP_RETRY_FIRST_US;
		dhcp_send(DHCPREQUEST);
		dhcp_arm(now);
		break;
	case DHCP_RENEWING:
	case DHCP_REBINDING:
		if (dhcp.state == DHCP_RENEWING && now >= dhcp.t2) {
			/* the server is gone: ask any server (broadcast) */
			dhcp.state = DHCP_REBINDING;
			dhcp_new_xid();
			dhcp.retry_us = DHCP_RETRY_FIRST_US;
		}
		dhcp_send(DHCPREQUEST);
		dhcp_arm(now);
		break;
	case DHCP_DECLINED:
		dhcp_discover(now);
		break;
	default:
		break;
	}
}
