/* kernel/net/if.c — the interface, the top of kernel/net: configuration,
 * net_init, Ethernet demultiplexing (net_input) and net_poll, whose tick
 * drives ARP, reassembly, DHCP, TCP and HTTP. See kernel/net/net.h. */
#include "kernel/net/arp.h"
#include "kernel/net/dhcp.h"
#include "kernel/net/httpd.h"
#include "kernel/net/ip.h"
#include "kernel/net/ipfrag.h"
#include "kernel/net/tcp.h"

/* ---- configuration ------------------------------------------------------ */

void net_config_default(struct net_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = NET_MODE_DHCP;
	c->http_port = 80;
	/* RFC 7323 timestamps off: the TAP bench (docs/net.md, runs 15 and
	 * 16) found them costing under jitter (and, before RTTM used TSecr
	 * only for resends, at 1 % loss) */
	c->tcp_ts = false;
}

static uint32_t prefix_mask(unsigned n)
{
	return n ? 0xffffffffu << (32 - n) : 0;
}
/* the prefix length of a contiguous mask, 0 when it is none */
static unsigned mask_prefix(uint32_t m)
{
	for (unsigned n = 1; n <= 32; n++)
		if (prefix_mask(n) == m)
			return n;
	return 0;
}

bool net_config_apply(struct net_config *c, const char *net, const char *ip,
		      const char *mask, const char *gw)
{
	uint32_t v, was_ip = c->ip, was_mask = c->mask;
	c->refused = NULL;
	if (net) {
		if (!strcmp(net, "dhcp"))
			c->mode = NET_MODE_DHCP;
		else if (!strcmp(net, "static"))
			c->mode = NET_MODE_STATIC;
		else if (!strcmp(net, "off"))
			c->mode = NET_MODE_OFF;
		else
			c->refused = "a value does not parse";
	}
	if (ip) {
		const char *slash = strchr(ip, '/');
		size_t n = slash ? (size_t)(slash - ip) : strlen(ip);
		uint64_t plen = 24;
		if (!ip_parse(ip, n, &v) ||
		    (slash &&
		     (!parse_u64(slash + 1, strlen(slash + 1), &plen) ||
		      plen < 1 || plen > 32))) {
			c->refused = "a value does not parse";
		} else {
			c->ip = v;
			c->mask = prefix_mask((unsigned)plen);
		}
	}
	if (mask) {
		if (ip_parse(mask, strlen(mask), &v) && mask_prefix(v))
			c->mask = v;
		else
			c->refused = "a value does not parse";
	}
	if (gw) {
		if (ip_parse(gw, strlen(gw), &v))
			c->gw = v;
		else
			c->refused = "a value does not parse";
	}
	/* an address no host can hold: taken, it was set and silently
	 * unreachable (its subnet's broadcast address takes every packet to
	 * it for a broadcast, ip_is_broadcast) */
	if (c->ip && !ip_host_ok(c->ip, c->mask)) {
		c->ip = was_ip;
		c->mask = was_mask;
		c->refused = "the address is no host's under its mask (0/8, "
			     "loopback, multicast, class E, or its subnet's "
			     "network or broadcast address; no static address)";
	}
	/* QEMU's convention: the gateway is .2 of the subnet, the one mask=
	 * gives when it is there. A /31 (RFC 3021: its two addresses are both
	 * hosts) or /32 holds no .2: its gateway must be named, and is
	 * reached on-link as a DHCP /32 lease's router is (ip.c's next hop) */
	if (c->ip && !c->gw) {
		if (mask_prefix(c->mask) <= NET_PREFIX_DEFAULT_GW_MAX) {
			c->gw = (c->ip & c->mask) | 2;
		} else {
			c->ip = was_ip;
			c->mask = was_mask;
			c->refused = "a /31 or /32 holds no .2 for a default "
				     "gateway; give gw= (no static address)";
		}
	}
	return !c->refused;
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
	tcp_usage(&v->tcp_active, &v->tcp_max);
}

const struct net_counters *net_counters(void)
{
	return &net_if.c;
}

_Static_assert(sizeof(struct net_counters) % sizeof(uint64_t) == 0,
	       "net_counters holds uint64_t counters only");

void net_counters_carry(const struct net_counters *before)
{
	uint64_t now[sizeof(struct net_counters) / sizeof(uint64_t)];
	uint64_t was[sizeof(now) / sizeof(now[0])];
	memcpy(now, &net_if.c, sizeof(now));
	memcpy(was, before, sizeof(was));
	for (unsigned i = 0; i < sizeof(now) / sizeof(now[0]); i++)
		now[i] += was[i];
	memcpy(&net_if.c, now, sizeof(now));
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
		ip_input(&eth);
	else
		net_if.c.rx_unsupported++;
}

/* ---- life cycle -----------------------------------------------------------
 */

int net_init(struct nic *n, const struct net_config *cfg)
{
	/* every IPv4 module must be able to send a 68-byte datagram unsplit
	 * (RFC 791 §3.2); the fragmenting echo reply's loop needs at least
	 * 8 payload bytes per fragment */
	if (n->mtu && n->mtu < IPV4_MIN_MTU) {
		kprintf("%s: MTU %u is below IPv4's %u; no IP stack on it\n",
			n->name, n->mtu, IPV4_MIN_MTU);
		return -1;
	}
	memset(&net_if, 0, sizeof(net_if));
	arp_reset();
	ip_reset();
	net_if.nic = n;
	net_if.cfg = *cfg;
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

/* the stack leaves n, `how` it went. The address was the interface's:
 * it goes with it, and so do the lease, the connections bound to it, the
 * ARP cache and what waits in it */
static void net_leave(struct nic *n, const char *how)
{
	if (!n || net_if.nic != n)
		return;
	net_clear_address();
	net_if.nic = NULL;
	kprintf("%s: %s; the IP stack on it stopped\n", n->name, how);
}

void net_nic_removed(struct nic *n)
{
	net_leave(n, "removed");
}

/* frames handled per call: bounded so timers and other pollers keep running
 * under a flood */
#define NET_POLL_BUDGET 64

/* the ring has been full, nothing taken, for NET_TX_STALL_US: a hung or
 * hostile NIC would keep net_poll busy and the CPU from halting for ever.
 * Said once a stall, at the stack's 1st, 2nd, 4th, ... (line_due), each
 * counted (tx_stalls, /api/net); what is held is tried again whenever
 * net_poll runs (the main loop's timer wakes it), and the first frame the
 * NIC takes ends the stall (eth_send). The NIC is not reset */
static bool tx_stall(void)
{
	uint64_t waited = net_now_us() - net_if.tx_refused_at;
	if (!net_if.tx_refused || waited < NET_TX_STALL_US)
		return false;
	if (!net_if.tx_stalled) {
		net_if.tx_stalled = true;
		if (line_due(++net_if.c.tx_stalls))
			kprintf("%s: transmit ring full, no frame taken for "
				"%llu ms; not polling for it, retried at each "
				"wake-up (stall %llu, said at the 1st, 2nd, "
				"4th, ...; counted in tx_stalls)\n",
				net_if.nic->name,
				(unsigned long long)(waited / 1000),
				(unsigned long long)net_if.c.tx_stalls);
	}
	return true;
}

bool net_poll(void)
{
	struct nic *n = net_if.nic;
	unsigned i;
	if (!n)
		return false;
	for (i = 0; i < NET_POLL_BUDGET; i++) {
		int len = n->recv(n, net_if.rx, sizeof(net_if.rx));
		/* the NIC failed (its driver gave the device up, for good
		 * until it detaches it; a restart registers a new one): the
		 * stack leaves it here, at its own safe point, as it leaves a
		 * removed one — no address stays on show that no frame can
		 * use */
		if (len < 0) {
			net_leave(n, "failed");
			return false;
		}
		if (len == 0)
			break;
		net_input(net_if.rx, (size_t)len);
		tcp_flush();
		/* what this frame made us send leaves in one burst */
		if (n->flush)
			n->flush(n);
	}
	/* timers run at most once per NET_TICK_US: the shortest of them,
	 * the TCP loss probe's TCP_TLP_MIN_US, is two ticks */
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
	net_if.tx_full = false;
	arp_flush();
	dhcp_flush();
	tcp_flush();
	if (n->flush)
		n->flush(n);
	/* a segment held for want of ring room: poll again at once (recv
	 * reclaims) rather than halt until the next interrupt or tick */
	return i > 0 || (net_if.tx_full && !tx_stall());
}
