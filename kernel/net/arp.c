/* kernel/net/arp.c — ARP (RFC 826, RFC 1122 §2.3.2) for the one interface.
 * See kernel/net/arp.h. */
#include "kernel/net/arp.h"
#include "kernel/net/ip.h"

enum arp_state { ARP_FREE, ARP_PENDING, ARP_RESOLVED };
struct arp_entry {
	enum arp_state state;
	uint32_t ip;
	uint8_t mac[ETH_ALEN];
	uint8_t tries;
	/* resolved, with queued frames the NIC's ring refused (NIC_TX_FULL):
	 * arp_flush sends them, and nothing to this neighbour passes them */
	bool held;
	uint64_t deadline; /* expiry (resolved) or next retry (pending) */
};

struct arp_pending {
	uint32_t hop; /* 0: free */
	uint32_t seq; /* queued order: a neighbour's frames leave in it */
	uint16_t len;
	uint8_t frame[ETH_FRAME_MAX];
};

static struct arp_entry arp[ARP_MAX];
static struct arp_pending *pendq; /* ARP_PENDQ entries, from net_alloc */
static uint32_t pend_seq;

/* ARP packets of our own (requests, replies, RFC 5227 probes and
 * announcements) the ring refused for want of room (NIC_TX_FULL), oldest
 * first, each with the time it was built: arp_flush sends them at the
 * next net_poll, or drops them once older than ARP_TXQ_AGE_US */
static struct {
	uint64_t at;
	uint8_t dst[ETH_ALEN];
	uint8_t frame[ETH_MIN_FRAME];
} txq[ARP_TXQ];
static unsigned ntxq;

/* RFC 5227: the address being probed (0: none), its first conflict; the
 * announcements still to send; the last defence of our bound address and
 * the MAC it was against */
static struct {
	uint32_t cand;
	bool conflict;
	uint8_t mac[ETH_ALEN];
	unsigned announce_left;
	uint64_t announce_at;
	bool defended;
	uint64_t defended_at;
	uint8_t defended_mac[ETH_ALEN];
} acd;
static const uint8_t mac_zero[ETH_ALEN];

void arp_reset(void)
{
	if (!pendq)
		pendq = net_alloc(ARP_PENDQ * sizeof(struct arp_pending));
	if (pendq)
		memset(pendq, 0, ARP_PENDQ * sizeof(struct arp_pending));
	memset(arp, 0, sizeof(arp));
	memset(&acd, 0, sizeof(acd));
	ntxq = 0;
}

/* one ARP packet built at f to the NIC, counted by its operation once the
 * NIC takes it; eth_send's result */
static int arp_xmit(uint8_t *f, const uint8_t *dst)
{
	int r = eth_send(f, dst, ETHERTYPE_ARP, sizeof(struct arp_pkt));
	if (r == 0) {
		if (rd16(f + ETH_HLEN + 6) == ARP_OP_REQUEST)
			net_if.c.arp_requests_sent++;
		else
			net_if.c.arp_replies_sent++;
	}
	return r;
}

/* a packet the ring has no room for waits in txq for arp_flush; with
 * ARP_TXQ waiting, or refused for another reason, it is lost, counted in
 * arp_tx_lost */
static void arp_send_from(uint16_t op, uint32_t spa, const uint8_t *tha,
			  uint32_t tpa, const uint8_t *eth_dst)
{
	uint8_t f[ETH_MIN_FRAME];
	uint8_t *a = f + ETH_HLEN;
	wr16(a, ARP_HTYPE_ETHER);
	wr16(a + 2, ETHERTYPE_IPV4);
	a[4] = ETH_ALEN;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, net_if.nic->mac, ETH_ALEN);
	wr32(a + 14, spa);
	memcpy(a + 18, tha, ETH_ALEN);
	wr32(a + 24, tpa);
	int r = arp_xmit(f, eth_dst);
	if (r == NIC_TX_FULL && ntxq < ARP_TXQ) {
		txq[ntxq].at = net_now_us();
		memcpy(txq[ntxq].dst, eth_dst, ETH_ALEN);
		memcpy(txq[ntxq].frame, f, sizeof(f));
		ntxq++;
	} else if (r) {
		net_if.c.arp_tx_lost++;
	}
}

static void arp_send(uint16_t op, const uint8_t *tha, uint32_t tpa,
		     const uint8_t *eth_dst)
{
	arp_send_from(op, net_if.ip, tha, tpa, eth_dst);
}

/* RFC 5227 §2.3: an ARP request with sender and target our address */
static void arp_send_announce(void)
{
	arp_send_from(ARP_OP_REQUEST, net_if.ip, mac_zero, net_if.ip,
		      eth_bcast);
}

void arp_acd_start(uint32_t ip)
{
	acd.cand = ip;
	acd.conflict = false;
	memset(acd.mac, 0, ETH_ALEN);
}

/* RFC 5227 §2.1.1: sender hardware address ours, sender IP 0.0.0.0, target
 * hardware address zero, target IP the candidate, broadcast */
void arp_acd_probe(void)
{
	if (acd.cand)
		arp_send_from(ARP_OP_REQUEST, 0, mac_zero, acd.cand, eth_bcast);
}

bool arp_acd_conflict(uint8_t mac[ETH_ALEN])
{
	if (acd.conflict)
		memcpy(mac, acd.mac, ETH_ALEN);
	return acd.conflict;
}

/* the probe window is over (the address bound or declined): a probe held
 * for the candidate is not sent after it */
void arp_acd_stop(void)
{
	for (unsigned i = 0; i < ntxq;) {
		const uint8_t *a = txq[i].frame + ETH_HLEN;
		if (acd.cand && !rd32(a + 14) && rd32(a + 24) == acd.cand) {
			ntxq--;
			memmove(&txq[i], &txq[i + 1],
				(ntxq - i) * sizeof(txq[0]));
		} else {
			i++;
		}
	}
	acd.cand = 0;
	acd.conflict = false;
}

void arp_announce(void)
{
	arp_send_announce();
	acd.announce_left = ARP_ANNOUNCE_NUM - 1;
	acd.announce_at = net_now_us() + ARP_ANNOUNCE_INTERVAL_US;
	acd.defended = false;
}

/* RFC 5227 §2.4 (c): another MAC uses our bound address. We keep it (the
 * address is the one the lease gave us; giving it up would end every
 * connection) and defend it with one announcement, at most one per
 * DEFEND_INTERVAL; each such packet is counted */
static void arp_defend(const struct arp_view *a)
{
	uint64_t now = net_now_us();
	net_if.c.arp_conflicts++;
	if (acd.defended && now - acd.defended_at < ARP_DEFEND_INTERVAL_US)
		return;
	/* a line only for a defence against another claimant than the last
	 * one's (a proxy that answers our own announcement, as some cloud
	 * fabrics answer ARP for every address, claims it again at every
	 * defence), and of those only the 1st, 2nd, 4th, ... of the stack
	 * (net_if.arp_claimants: arp_reset, at every address lost, keeps
	 * it): two MACs taking turns are a new claimant at every defence,
	 * and had a line every interval for as long as they kept it up */
	bool again =
	    acd.defended && !memcmp(acd.defended_mac, a->sha, ETH_ALEN);
	acd.defended = true;
	acd.defended_at = now;
	memcpy(acd.defended_mac, a->sha, ETH_ALEN);
	if (!again && line_due(++net_if.arp_claimants)) {
		char ip[16];
		ip_str(net_if.ip, ip, sizeof(ip));
		kprintf("%s: arp: %s is also claimed by "
			"%02x:%02x:%02x:%02x:%02x:%02x; defending it (claimant "
			"change %llu, said at the 1st, 2nd, 4th, ...; %llu "
			"claims counted in arp_conflicts)\n",
			net_if.nic->name, ip, a->sha[0], a->sha[1], a->sha[2],
			a->sha[3], a->sha[4], a->sha[5],
			(unsigned long long)net_if.arp_claimants,
			(unsigned long long)net_if.c.arp_conflicts);
	}
	arp_send_announce();
}

static struct arp_entry *arp_lookup(uint32_t ip)
{
	for (unsigned i = 0; i < ARP_MAX; i++)
		if (arp[i].state != ARP_FREE && arp[i].ip == ip)
			return &arp[i];
	return NULL;
}

static void arp_pend_drop(uint32_t hop)
{
	for (unsigned i = 0; pendq && i < ARP_PENDQ; i++)
		if (pendq[i].hop == hop) {
			pendq[i].hop = 0;
			net_if.c.arp_drops++;
		}
}

/* a free slot, else the resolved entry closest to expiry, else the
 * pending one that has waited longest (its queued frames dropped); never
 * the gateway's: every off-link packet needs it, and echo requests or
 * SYNs from spoofed on-link sources, each answered, would otherwise push
 * it out and then hold every slot pending, each for ARP_TRIES seconds */
static struct arp_entry *arp_slot(void)
{
	struct arp_entry *best = NULL, *pend = NULL;
	for (unsigned i = 0; i < ARP_MAX; i++) {
		struct arp_entry *e = &arp[i];
		if (e->state == ARP_FREE)
			return e;
		if (net_if.gw && e->ip == net_if.gw)
			continue;
		if (e->state == ARP_RESOLVED &&
		    (!best || e->deadline < best->deadline))
			best = e;
		if (e->state == ARP_PENDING &&
		    (!pend || e->tries > pend->tries ||
		     (e->tries == pend->tries && e->deadline < pend->deadline)))
			pend = e;
	}
	if (!best && pend)
		best = pend;
	/* frames still queued for the entry given up: a pending one's, or
	 * those a full ring holds for a resolved one; counted */
	if (best)
		arp_pend_drop(best->ip);
	return best;
}

/* send the frames queued for resolved entry e, oldest first (slots freed
 * by other neighbours are reused out of order; a sequence number wraps
 * after 2^32 frames, so the comparison is by distance). A frame the ring
 * has no room for (NIC_TX_FULL) stays queued, first in line, and the rest
 * behind it: e is held until arp_flush, at the next net_poll, sends them.
 * A frame refused for any other reason is gone, counted in tx_fail as
 * eth_send counts it. False while frames are held */
static bool arp_pend_send(struct arp_entry *e)
{
	for (;;) {
		struct arp_pending *first = NULL;
		for (unsigned i = 0; pendq && i < ARP_PENDQ; i++) {
			struct arp_pending *p = &pendq[i];
			if (p->hop == e->ip &&
			    (!first || (int32_t)(p->seq - first->seq) < 0))
				first = p;
		}
		e->held = first != NULL;
		if (!first)
			return true;
		if (eth_send(first->frame, e->mac, ETHERTYPE_IPV4,
			     first->len - ETH_HLEN) == NIC_TX_FULL)
			return false;
		first->hop = 0;
	}
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
	arp_pend_send(e);
}

void arp_flush(void)
{
	uint64_t now = net_now_us();
	while (ntxq) {
		int r = now - txq[0].at > ARP_TXQ_AGE_US
			    ? -1
			    : arp_xmit(txq[0].frame, txq[0].dst);
		if (r == NIC_TX_FULL)
			break;
		if (r)
			net_if.c.arp_tx_lost++;
		memmove(&txq[0], &txq[1], --ntxq * sizeof(txq[0]));
	}
	for (unsigned i = 0; i < ARP_MAX; i++)
		if (arp[i].state == ARP_RESOLVED && arp[i].held)
			arp_pend_send(&arp[i]);
}

static void arp_pend_add(uint32_t hop, const uint8_t *frame, size_t len)
{
	for (unsigned i = 0; pendq && i < ARP_PENDQ; i++) {
		struct arp_pending *p = &pendq[i];
		if (p->hop)
			continue;
		p->hop = hop;
		p->seq = pend_seq++;
		p->len = (uint16_t)len;
		memcpy(p->frame, frame, len);
		return;
	}
	net_if.c.arp_drops++;
}

/* a sender protocol address no one host holds: the limited broadcast,
 * our subnet's broadcast, multicast, loopback, or 0/8 but 0.0.0.0 (RFC
 * 1122 §3.2.1.3; ip.c refuses the same as an IPv4 source). 0.0.0.0 is a
 * probe's (RFC 5227), handled on its own */
static bool arp_sender_bad(uint32_t spa)
{
	uint32_t top = spa >> 24;
	return (top == 0 && spa != 0) || top == 127 || (spa >> 28) == 0xe ||
	       ip_is_broadcast(spa);
}

void arp_input(const struct eth_view *eth)
{
	struct arp_view a;
	net_if.c.arp_rx++;
	int e = arp_parse(eth->payload, eth->len, &a);
	if (e) {
		net_if.c.arp_drops++;
		return;
	}
	/* a sender hardware address with the group bit set (broadcast or
	 * multicast, IEEE 802 I/G) is no station's: cached, it would send
	 * unicast traffic for that address to every host on the link; it is
	 * neither learnt, answered, nor a conflict (as FreeBSD's
	 * in_arpinput) */
	if (a.sha[0] & 1) {
		net_if.c.arp_bad_sender++;
		return;
	}
	/* nor is a sender protocol address no one host holds: answered, the
	 * reply would go to whoever forged it, and each would take a cache
	 * slot (enough of them pushed the gateway out). Linux's arp_process
	 * refuses these too: its route lookup calls such a source martian */
	if (arp_sender_bad(a.spa)) {
		net_if.c.arp_bad_sender++;
		return;
	}
	/* our own frames, echoed back by the link, teach nothing and are no
	 * conflict (RFC 5227 §2.1.1's note on repeaters) */
	if (!memcmp(a.sha, net_if.nic->mac, ETH_ALEN)) {
		net_if.c.arp_drops++;
		return;
	}
	/* RFC 5227 §2.1.1: while an address is probed, a packet from another
	 * host with it as sender, or another host's probe for it, means it is
	 * in use; it is not ours yet, so nothing below answers for it */
	if (acd.cand &&
	    (a.spa == acd.cand ||
	     (a.spa == 0 && a.op == ARP_OP_REQUEST && a.tpa == acd.cand))) {
		net_if.c.arp_conflicts++;
		if (!acd.conflict) {
			acd.conflict = true;
			memcpy(acd.mac, a.sha, ETH_ALEN);
		}
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
	/* RFC 5227 §2.4: another host claims our address; it does not go
	 * into the cache, and is not answered */
	if (a.spa == net_if.ip) {
		arp_defend(&a);
		return;
	}
	/* a target protocol address that is multicast or loopback is no
	 * question any host asks of the link: Linux's arp_process drops the
	 * packet before its cache sees it, so it refreshes no entry here
	 * either */
	if ((a.tpa >> 28) == 0xe || (a.tpa >> 24) == 127) {
		net_if.c.arp_drops++;
		return;
	}
	/* RFC 826 "packet reception": merge, then add if we are the target */
	bool for_us = a.tpa == net_if.ip;
	arp_update(a.spa, a.sha, for_us);
	if (for_us && a.op == ARP_OP_REQUEST)
		arp_send(ARP_OP_REPLY, a.sha, a.spa, a.sha);
}

void arp_tick(uint64_t now)
{
	if (acd.announce_left && now >= acd.announce_at) {
		acd.announce_left--;
		acd.announce_at = now + ARP_ANNOUNCE_INTERVAL_US;
		if (net_if.configured)
			arp_send_announce();
	}
	for (unsigned i = 0; i < ARP_MAX; i++) {
		struct arp_entry *e = &arp[i];
		if (e->state == ARP_FREE || now < e->deadline)
			continue;
		if (e->state == ARP_RESOLVED || e->tries >= ARP_TRIES) {
			arp_pend_drop(e->ip); /* a resolved one's: held */
			e->state = ARP_FREE;
			e->held = false;
			continue;
		}
		e->tries++;
		e->deadline = now + ARP_RETRY_US;
		arp_send(ARP_OP_REQUEST, (const uint8_t[ETH_ALEN]){0}, e->ip,
			 eth_bcast);
	}
}

int arp_output(uint8_t *frame, uint32_t hop, size_t ip_len)
{
	struct arp_entry *e = arp_lookup(hop);
	if (e && e->state == ARP_RESOLVED) {
		/* frames queued before it go first; while the ring refuses
		 * them it has no room for this one either, which would pass
		 * them: refused as the ring refuses (the caller may hold it) */
		if (e->held && !arp_pend_send(e)) {
			net_if.c.tx_fail++;
			net_if.tx_full = true;
			return NIC_TX_FULL;
		}
		return eth_send(frame, e->mac, ETHERTYPE_IPV4, ip_len);
	}
	if (!e) {
		e = arp_slot();
		if (!e) {
			net_if.c.arp_drops++;
			return -1;
		}
		e->state = ARP_PENDING;
		e->ip = hop;
		e->held = false;
		e->tries = 1;
		e->deadline = net_now_us() + ARP_RETRY_US;
		arp_send(ARP_OP_REQUEST, (const uint8_t[ETH_ALEN]){0}, hop,
			 eth_bcast);
	}
	arp_pend_add(hop, frame, ETH_HLEN + ip_len);
	return 0;
}
