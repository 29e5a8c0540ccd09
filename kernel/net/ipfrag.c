/* kernel/net/ipfrag.c — IPv4 reassembly (RFC 791 §3.2, the hole idea of
 * RFC 815 kept as a bitmap of 8-byte blocks).
 *
 * IPFRAG_SLOTS datagrams at once, each at most IPFRAG_MAX bytes of
 * payload, in memory allocated once; a datagram not complete within
 * IPFRAG_TIMEOUT_US is dropped. A fragment that overlaps bytes already
 * held drops the whole datagram (RFC 5722's rule for IPv6, applied here:
 * overlaps are how reassembly attacks rewrite headers), except an exact
 * duplicate of what is held, which is ignored. When every slot is busy the
 * oldest datagram of the source holding the most slots gives way
 * (slot_victim). */
#include "kernel/net/ipfrag.h"

#define BLOCKS (IPFRAG_MAX / 8)

struct ipfrag_slot {
	bool used;
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	uint32_t total; /* payload length, 0 until the last fragment */
	uint64_t deadline;
	uint8_t hdr[60]; /* the first fragment's header */
	size_t hlen;
	uint8_t map[BLOCKS / 8];
	uint8_t *buf; /* IPFRAG_MAX bytes */
};

static struct ipfrag_slot slots[IPFRAG_SLOTS];
static uint8_t *mem;

void ipfrag_reset(void)
{
	if (!mem)
		mem = net_alloc((size_t)IPFRAG_SLOTS * IPFRAG_MAX);
	memset(slots, 0, sizeof(slots));
	for (unsigned i = 0; mem && i < IPFRAG_SLOTS; i++)
		slots[i].buf = mem + (size_t)i * IPFRAG_MAX;
}

static bool block_set(const struct ipfrag_slot *s, unsigned b)
{
	return s->map[b / 8] & (1u << (b % 8));
}

/* every slot busy: the oldest datagram of the source holding the most,
 * the newcomer from src counted with its own. A host sending datagrams
 * that never complete (fresh ids, one fragment each) then takes back its
 * own slots, not the datagrams other hosts have in progress; a flood that
 * forges a source per fragment is not stopped by this (each forged source
 * holds one slot, as a real one does) */
static struct ipfrag_slot *slot_victim(uint32_t src)
{
	struct ipfrag_slot *best = NULL;
	unsigned best_n = 0;
	for (unsigned i = 0; i < IPFRAG_SLOTS; i++) {
		struct ipfrag_slot *s = &slots[i];
		unsigned n = s->src == src;
		for (unsigned j = 0; j < IPFRAG_SLOTS; j++)
			n += slots[j].used && slots[j].src == s->src;
		if (!best || n > best_n ||
		    (n == best_n && s->deadline < best->deadline)) {
			best = s;
			best_n = n;
		}
	}
	return best;
}

static struct ipfrag_slot *slot_for(const struct ipv4_view *v, uint64_t now)
{
	struct ipfrag_slot *free = NULL;
	for (unsigned i = 0; i < IPFRAG_SLOTS; i++) {
		struct ipfrag_slot *s = &slots[i];
		if (!s->used) {
			if (!free)
				free = s;
			continue;
		}
		if (s->src == v->src && s->dst == v->dst && s->id == v->id &&
		    s->proto == v->proto)
			return s;
	}
	struct ipfrag_slot *s = free;
	if (!s) {
		net_if.c.ip_reass_evicted++;
		s = slot_victim(v->src);
	}
	uint8_t *buf = s->buf;
	memset(s, 0, sizeof(*s));
	s->buf = buf;
	s->used = true;
	s->src = v->src;
	s->dst = v->dst;
	s->id = v->id;
	s->proto = v->proto;
	s->deadline = now + IPFRAG_TIMEOUT_US;
	return s;
}

static void slot_drop(struct ipfrag_slot *s)
{
	s->used = false;
}

/* 1: a datagram is complete and *out describes it (valid until the next
 * call); 0: held; -1: dropped (counted) */
int ipfrag_input(const struct ipv4_view *v, struct ipv4_view *out)
{
	uint16_t fw = rd16(v->hdr + 6);
	uint32_t off = (uint32_t)(fw & IP_FRAG_OFF_MASK) * 8;
	bool mf = (fw & IP_FLAG_MF) != 0;
	uint32_t len = (uint32_t)v->len, end = off + len;
	if (!mem || !len || (mf && len % 8)) {
		net_if.c.ip_reass_bad++;
		return -1;
	}
	if (end > IPFRAG_MAX) {
		net_if.c.ip_reass_too_big++;
		return -1;
	}
	uint64_t now = net_now_us();
	struct ipfrag_slot *s = slot_for(v, now);
	/* the length: fixed by the last fragment, and nothing beyond it */
	if ((!mf && s->total && s->total != end) ||
	    (s->total && end > s->total) || (mf && s->total == end)) {
		net_if.c.ip_reass_bad++;
		slot_drop(s);
		return -1;
	}
	unsigned b0 = off / 8, b1 = (end + 7) / 8;
	if (!mf && !s->total) /* the end: nothing may be held past it */
		for (unsigned b = b1; b < BLOCKS; b++)
			if (block_set(s, b)) {
				net_if.c.ip_reass_bad++;
				slot_drop(s);
				return -1;
			}
	unsigned held = 0;
	for (unsigned b = b0; b < b1; b++)
		held += block_set(s, b);
	if (held) {
		bool dup = held == b1 - b0 &&
			   !memcmp(s->buf + off, v->payload, len) &&
			   (mf || s->total == end);
		if (dup) {
			net_if.c.ip_reass_duplicates++;
			return 0;
		}
		net_if.c.ip_reass_overlap++;
		slot_drop(s);
		return -1;
	}
	memcpy(s->buf + off, v->payload, len);
	for (unsigned b = b0; b < b1; b++)
		s->map[b / 8] |= (uint8_t)(1u << (b % 8));
	if (!mf)
		s->total = end;
	if (off == 0) {
		s->hlen = MIN(v->hlen, sizeof(s->hdr));
		memcpy(s->hdr, v->hdr, s->hlen);
	}
	if (!s->total)
		return 0;
	for (unsigned b = 0; b < (s->total + 7) / 8; b++)
		if (!block_set(s, b))
			return 0;
	/* complete: the slot's memory stays as it is until the next call */
	slot_drop(s);
	net_if.c.ip_reassembled++;
	memset(out, 0, sizeof(*out));
	out->src = s->src;
	out->dst = s->dst;
	out->proto = s->proto;
	out->id = s->id;
	out->payload = s->buf;
	out->len = s->total;
	out->hdr = s->hdr;
	out->hlen = s->hlen;
	return 1;
}

void ipfrag_tick(uint64_t now)
{
	for (unsigned i = 0; i < IPFRAG_SLOTS; i++)
		if (slots[i].used && now >= slots[i].deadline) {
			net_if.c.ip_reass_timeouts++;
			slot_drop(&slots[i]);
		}
}

/* invariants for tests and fuzzers: NULL when they hold */
const char *ipfrag_check(void)
{
	for (unsigned i = 0; i < IPFRAG_SLOTS; i++) {
		const struct ipfrag_slot *s = &slots[i];
		if (!s->used)
			continue;
		if (s->total > IPFRAG_MAX)
			return "total beyond IPFRAG_MAX";
		if (s->total)
			for (unsigned b = (s->total + 7) / 8; b < BLOCKS; b++)
				if (block_set(s, b))
					return "data held beyond the total";
	}
	return NULL;
}
