/* tests/host/net/fuzz_dhcp.c — a hostile DHCP server against the client
 * (kernel/net/dhcp.c): replies with any type, address and option bytes,
 * to the client's current transaction or another, between jumps of the
 * clock, and ARP packets from one of two other hosts claiming an address
 * (a reply or gratuitous request with it as sender, or a probe for it), or
 * the client's own probe echoed back (of the address it probes, or when
 * none the one it holds, or one from the input). Oracle, after every
 * step: an address the client holds is one a host can hold, under a
 * contiguous mask, and not its subnet's network or broadcast address
 * (RFC 1122 §3.2.1.3; a /31 and a /32 have neither); some reply offered it; its
 * lease (as the client reports it) has not run out since the last such reply;
 * and it is not an address another MAC claimed while the client was probing it
 * (RFC 5227 §2.1.1), unless that MAC also claimed the different address the
 * client declined last, with no probe passing since (a proxy answering ARP for
 * every address: dhcp.c binds then). Every DHCP message the client sends: a
 * DISCOVER or DECLINE from 0.0.0.0 with ciaddr 0, a REQUEST from its ciaddr
 * (RFC 2131 §4.1, table 5). The console, per stack: the lines saying another
 * MAC claims our address number at most floor(log2(arp_conflicts)) + 1, and
 * those saying an ACK had no lease time at most floor(log2(dhcp_no_lease_time))
 * + 1 and at least one once it is not 0, and so do the lines of an address set
 * (addresses_set) and removed (addresses_removed) (each said at the 1st,
 * 2nd, 4th, ...); every DECLINE the client sends is counted in
 * dhcp_declines, and the `is in use by ...; declining it` lines are
 * exactly floor(log2(DECLINEs sent)) + 1 (a DECLINE counted once it is
 * first tried, taken or not). The NIC's ring refuses (NIC_TX_FULL) when
 * the input says: it takes 0 to 6 more frames, or any number. The client
 * owes a DHCP message the ring refused until the ring takes it, a later
 * message of another transaction or type is tried (the client moved on),
 * or a reply to its transaction comes (the exchange may have moved); a
 * poll with the ring open that leaves it owed loses it for good while its
 * exchange stands. A message taken again, not owed, less than
 * RETRY_FIRST_US after its last taking (or the first refusal of it that
 * taking paid) is one sent twice. Both of broadcast messages only: a
 * renewal's unicast and its retransmissions can wait in ARP's queue for
 * the server's MAC and leave together. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfake.h"
#include "netframe.h"
#include "shim.h"

/* every address a reply offered, with the time of the latest such reply;
 * an input of at most 4 KiB holds fewer replies than this */
#define HELD 1024
static struct {
	uint32_t ip;
	uint64_t at_us;
} offered[HELD];
static unsigned noffered;
static uint32_t xid; /* the client's latest transaction */
/* the address the client probes (0: none) and whether another MAC claimed
 * it since its first probe */
static uint32_t probing;
static bool claimed;
static const uint8_t *claim_mac; /* the first MAC to claim it */
/* the address the client declined last, since no probe passed (0: none),
 * and the MAC whose claim it declined */
static uint32_t declined;
static const uint8_t *declined_mac;
static const uint8_t other_mac[2][6] = {{0x02, 0x00, 0x00, 0x77, 0x00, 0x0d},
					{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}};

/* dhcp.c's first retransmission (DHCP_RETRY_FIRST_US): a message of one
 * transaction and type is tried again no sooner */
#define RETRY_FIRST_US (4ull * 1000000)
/* the message a full ring refused and the client owes (its first refusal
 * at owed_at); the message last taken, at last_at (the time of the
 * refusal its taking paid, if it paid one) */
static bool owed, owed_required;
static uint32_t decline_xid; /* the DECLINE counted last (0: none) */
static uint32_t owed_xid, last_xid;
static int owed_type, last_type;
static uint64_t owed_at, last_at;
static int (*nic_send)(struct nic *, const void *, size_t);

/* console lines of the stack: another MAC claims our address; an ACK
 * without a lease time */
static uint64_t claim_lines, untimed_lines, set_lines, removed_lines;
/* the DECLINEs the client sent, and the lines saying it declines */
static uint64_t declines_sent, decline_lines;
static void count_line(const char *line)
{
	if (strstr(line, ": address ") && strstr(line, " removed"))
		removed_lines++;
	else if (strstr(line, ": address "))
		set_lines++;
	if (strstr(line, ": arp: ") && strstr(line, " is also claimed by "))
		claim_lines++;
	if (strstr(line, ": dhcp: ") && strstr(line, " has no lease time"))
		untimed_lines++;
	if (strstr(line, ": dhcp: ") && strstr(line, " is in use by "))
		decline_lines++;
}

/* floor(log2(n)) + 1: the lines n events said at the 1st, 2nd, 4th, ...
 * get; 0 for none */
static uint64_t pow2_lines(uint64_t n)
{
	return n ? 64 - (uint64_t)__builtin_clzll(n) : 0;
}

static void die(const char *what, uint32_t ip)
{
	fprintf(stderr, "fuzz_dhcp: %s (address %08x)\n", what, ip);
	abort();
}

static void die_lines(const char *what, uint64_t lines, uint64_t events)
{
	fprintf(stderr, "fuzz_dhcp: %s (%llu lines, %llu counted)\n", what,
		(unsigned long long)lines, (unsigned long long)events);
	abort();
}

static uint64_t now_us(void)
{
	return shim_clock_ns / 1000;
}

/* the DHCP message type of UDP payload u (len bytes) from port 68, -1
 * when it is none */
static int dhcp_type(const uint8_t *u, size_t len)
{
	if (len < 8 + 240 || rd16(u) != DHCP_CLIENT_PORT)
		return -1;
	const uint8_t *m = u + 8;
	int type = -1;
	for (size_t k = 240; k + 2 < len - 8 && m[k] != 255;)
		if (m[k] == 0) {
			k++;
		} else {
			if (m[k] == 53 && m[k + 1] == 1)
				type = m[k + 2];
			k += 2u + m[k + 1];
		}
	return type;
}

/* every frame the client tries to send, taken or refused: the address it
 * probes, its transaction, its declines, and what it owes */
static int spy_send(struct nic *n, const void *fr, size_t len)
{
	int r = nic_send(n, fr, len);
	uint64_t now = now_us();
	struct eth_view e;
	struct ipv4_view v;
	struct arp_view a;
	if (eth_parse(fr, len, &e))
		return r;
	if (e.type == ETHERTYPE_ARP && !arp_parse(e.payload, e.len, &a) &&
	    a.spa == 0 && a.op == ARP_OP_REQUEST && a.tpa != probing) {
		probing = a.tpa;
		claimed = false;
		return r;
	}
	if (e.type != ETHERTYPE_IPV4 || ipv4_parse(e.payload, e.len, &v) ||
	    v.proto != IP_PROTO_UDP)
		return r;
	int type = dhcp_type(v.payload, v.len);
	if (type < 0)
		return r;
	uint32_t x = rd32(v.payload + 8 + 4);
	bool same = owed && x == owed_xid && type == owed_type;
	if (type == DHCPDECLINE && (!decline_xid || decline_xid != x)) {
		/* the first try of this transaction's DECLINE */
		decline_xid = x;
		declines_sent++;
		if (probing) {
			declined = probing;
			declined_mac = claimed ? claim_mac : NULL;
		}
	}
	/* any message of the client's ends a probe: a DECLINE, or a
	 * DISCOVER or REQUEST of a new exchange (the lease ran out while
	 * probing); a later probe is another one */
	probing = 0, claimed = false;
	xid = x;
	/* a renewal's unicast waits in ARP's queue while the server is
	 * unresolved (ARP_PENDQ), its retransmissions with it, and leaves
	 * with them: what is owed and sent twice is of broadcasts */
	if (memcmp(e.dst, "\xff\xff\xff\xff\xff\xff", ETH_ALEN))
		return r;
	if (r == NIC_TX_FULL) {
		if (!same) {
			owed = owed_required = true;
			owed_xid = x;
			owed_type = type;
			owed_at = now;
		}
		return r;
	}
	if (r)
		return r;
	if (same) {
		owed = false;
		last_at = owed_at;
	} else {
		owed = false; /* another message: the client moved on */
		if (x == last_xid && type == last_type &&
		    now < last_at + RETRY_FIRST_US) {
			fprintf(stderr,
				"fuzz_dhcp: message type %d of %08x sent again "
				"%llu us after, no refusal owed\n",
				type, x, (unsigned long long)(now - last_at));
			abort();
		}
		last_at = now;
	}
	last_xid = x;
	last_type = type;
	return r;
}

/* what the client sent: its DHCP messages' sources */
static void drain(void)
{
	const struct frame *f;
	while ((f = fake_pop())) {
		struct eth_view e;
		struct ipv4_view v;
		if (eth_parse(f->b, f->len, &e) || e.type != ETHERTYPE_IPV4 ||
		    ipv4_parse(e.payload, e.len, &v) || v.proto != IP_PROTO_UDP)
			continue;
		int type = dhcp_type(v.payload, v.len);
		const uint8_t *m = v.payload + 8;
		if ((type == DHCPDISCOVER || type == DHCPDECLINE) &&
		    (v.src || rd32(m + 12)))
			die("a DISCOVER or DECLINE not from 0.0.0.0, ciaddr 0",
			    v.src);
		if (type == DHCPREQUEST && v.src != rd32(m + 12))
			die("a REQUEST whose source is not its ciaddr", v.src);
	}
}

/* an ARP packet claiming `ip` from other_mac[who]: how = 0 a reply from
 * it, 1 a gratuitous request, 2 a probe for it, 3 the client's own probe
 * echoed back */
static void claim(uint32_t ip, unsigned how, unsigned who)
{
	uint8_t f[64];
	const uint8_t *mac = how == 3 ? stack_mac : other_mac[who];
	if (how == 0)
		build_arp(f, ARP_OP_REPLY, mac, ip, stack_mac, 0);
	else if (how == 1)
		build_arp(f, ARP_OP_REQUEST, mac, ip, NULL, ip);
	else
		build_arp(f, ARP_OP_REQUEST, mac, 0, NULL, ip);
	if (probing && ip == probing && how != 3 && !claimed) {
		claimed = true;
		claim_mac = mac;
	}
	inject(f, 60);
}

static void reply(uint32_t to_xid, uint8_t type, uint32_t yi,
		  const uint8_t *opts, size_t n)
{
	static uint8_t f[ETH_FRAME_MAX + 64];
	unsigned k = 0;
	while (k < noffered && offered[k].ip != yi)
		k++;
	if (k == HELD)
		die("more addresses offered than the model holds", yi);
	offered[k].ip = yi;
	offered[k].at_us = now_us();
	noffered += k == noffered;
	if (owed && to_xid == owed_xid)
		owed_required = false; /* the exchange may have moved on */
	inject(f, build_dhcp_reply(f, to_xid, type, yi, opts, n));
}

static void check(void)
{
	const struct net_counters *c = net_counters();
	if (owed && owed_required && fake.tx_room < 0) {
		fprintf(stderr,
			"fuzz_dhcp: message type %d of %08x refused, its "
			"exchange standing, not sent at a poll with room\n",
			owed_type, owed_xid);
		abort();
	}
	if (claim_lines > pow2_lines(c->arp_conflicts))
		die_lines("more 'also claimed' lines than log2(arp_conflicts) "
			  "+ 1",
			  claim_lines, c->arp_conflicts);
	if (untimed_lines > pow2_lines(c->dhcp_no_lease_time))
		die_lines("more 'no lease time' lines than "
			  "log2(dhcp_no_lease_time) + 1",
			  untimed_lines, c->dhcp_no_lease_time);
	if (c->dhcp_no_lease_time && !untimed_lines)
		die_lines("an ACK without a lease time counted, never said",
			  untimed_lines, c->dhcp_no_lease_time);
	if (set_lines > pow2_lines(c->addresses_set) ||
	    (c->addresses_set && !set_lines))
		die_lines("'address' lines not log2(addresses_set) + 1",
			  set_lines, c->addresses_set);
	if (c->dhcp_declines != declines_sent) {
		fprintf(stderr,
			"fuzz_dhcp: dhcp_declines %llu, DECLINEs sent %llu\n",
			(unsigned long long)c->dhcp_declines,
			(unsigned long long)declines_sent);
		abort();
	}
	if (decline_lines != pow2_lines(declines_sent))
		die_lines("'in use' lines not log2(DECLINEs sent) + 1",
			  decline_lines, declines_sent);
	if (removed_lines > pow2_lines(c->addresses_removed) ||
	    (c->addresses_removed && !removed_lines))
		die_lines("'address removed' lines not "
			  "log2(addresses_removed) + 1",
			  removed_lines, c->addresses_removed);
	struct net_state_view v;
	net_state(&v);
	if (!v.configured || strcmp(v.source, "dhcp"))
		return;
	uint32_t top = v.ip >> 24;
	if (top == 0 || top == 127 || top >= 224)
		die("holds an address no host can hold", v.ip);
	if (!v.mask || (~v.mask & (~v.mask + 1)))
		die("holds a mask that is not contiguous", v.ip);
	uint32_t host = v.ip & ~v.mask;
	if (~v.mask > 1 && (!host || host == ~v.mask))
		die("holds its subnet's network or broadcast address", v.ip);
	if (v.ip == probing) {
		if (claimed && !(declined && declined != probing &&
				 declined_mac == claim_mac))
			die("bound an address another MAC claimed while it "
			    "was probed",
			    v.ip);
		if (!claimed)
			declined = 0; /* the probe passed */
		probing = 0;	      /* bound: a later claim is defended */
	}
	unsigned k = 0;
	while (k < noffered && offered[k].ip != v.ip)
		k++;
	if (k == noffered)
		die("holds an address no reply offered", v.ip);
	if (now_us() >
	    offered[k].at_us + (uint64_t)v.lease_s * 1000000 + 1000000)
		die("holds an address past its lease", v.ip);
}

/* a new stack (it forgets the lease), its DISCOVER taken */
static void new_stack(void)
{
	fake_setup(true);
	nic_send = fake.nic.send;
	fake.nic.send = spy_send;
	claim_lines = untimed_lines = set_lines = removed_lines = 0;
	declines_sent = decline_lines = 0;
	noffered = 0;
	probing = 0;
	claimed = false;
	declined = 0;
	decline_xid = 0;
	owed = false;
	last_xid = xid = 0;
	last_type = -1;
	const struct frame *f = fake_pop();
	struct eth_view e;
	struct ipv4_view v;
	if (f && !eth_parse(f->b, f->len, &e) && e.type == ETHERTYPE_IPV4 &&
	    !ipv4_parse(e.payload, e.len, &v) && v.proto == IP_PROTO_UDP &&
	    dhcp_type(v.payload, v.len) == DHCPDISCOVER) {
		last_xid = xid = rd32(v.payload + 8 + 4);
		last_type = DHCPDISCOVER;
		last_at = now_us();
	}
	drain();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shim_quiet = 1;
	shim_line_hook = count_line;
	new_stack();
	size_t i = 0;
	while (i < size) {
		uint8_t k = data[i++];
		if ((k & 3) == 0 && i < size) { /* up to 64 s */
			advance_us(((uint64_t)data[i++] + 1) * 250000);
		} else if ((k & 3) == 1 && i + 6 <= size) {
			uint8_t type = data[i];
			uint32_t yi = rd32(data + i + 1);
			size_t n = data[i + 5];
			i += 6;
			n = n < size - i ? n : size - i;
			reply(k & 0x80 ? xid ^ 1 : xid, type, yi, data + i, n);
			i += n;
		} else if ((k & 3) == 2 && i < size) { /* up to 68 min */
			advance_us((uint64_t)data[i++] * 16000000);
		} else if ((k & 3) == 3 && (k & 0x40)) {
			/* an ARP claim: of the probed address (when none,
			 * the one held) or of one from the input */
			unsigned how = (k >> 2) & 3, who = (k >> 4) & 1;
			if (k & 0x80 || i + 4 > size) {
				struct net_state_view v;
				net_state(&v);
				claim(probing ? probing : v.ip, how, who);
			} else {
				claim(rd32(data + i), how, who);
				i += 4;
			}
		} else if ((k & 3) == 3 && (k & 0x20)) {
			/* the ring takes 0 to 6 more frames, or (7) any */
			unsigned room = (k >> 2) & 7;
			fake.tx_room = room == 7 ? -1 : (int)room;
			net_poll();
		} else if ((k & 3) == 3) {
			check();
			new_stack();
		}
		drain();
		check();
	}
	fake_clear();
	return 0;
}
