/* tests/host/net/fuzz_ipfrag.c — IPv4 reassembly (kernel/net/ipfrag.c)
 * against a model, on any sequence of fragments of six datagrams from
 * three sources, two each (two more datagrams than IPFRAG_SLOTS, so slots
 * are evicted) and of pauses that let datagrams time out.
 *
 * Each input is a list of 5-byte operations:
 *   b0 bit 7 set:   time passes, (b1 << 8 | b2) * 1 ms, and ipfrag_tick
 *   otherwise:      a fragment of datagram b0 % 6: offset
 *                   (b1 << 8 | b2) % 2050 blocks of 8, length
 *                   (b3 << 8 | b4) % 1501 (bit 4 of b0: rounded down to a
 *                   multiple of 8), MF = bit 6, and bit 5 picks which of
 *                   two versions of the datagram's bytes it carries.
 *
 * The model keeps, per datagram with a slot, the bytes received and
 * whether each is held. Oracles:
 *   - no accepted fragment changes a byte already held (RFC 5722: an
 *     overlap with other bytes drops the datagram, never rewrites it);
 *   - a completed datagram is exactly the model's bytes, of the length
 *     its last fragment set, under its own key, and every byte held;
 *   - a datagram the model holds whole has been completed (liveness);
 *   - a fragment that overlaps nothing and agrees with the length is
 *     never what drops a datagram;
 *   - a datagram leaves its slot only by completing, by a drop the
 *     implementation counts, by timeout, or by eviction of the oldest
 *     of the source holding the most slots (the newcomer counted with
 *     its own source);
 *   - ipfrag_check() after every step. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/ipfrag.h"
#include "netfake.h"
#include "shim.h"

#define KEYS 6

struct model {
	bool live;
	uint64_t created;
	uint32_t total; /* 0: no last fragment yet */
	uint8_t data[IPFRAG_MAX];
	uint8_t held[IPFRAG_MAX];
};

static struct model m[KEYS];

static void die(const char *why, unsigned k)
{
	fprintf(stderr, "fuzz_ipfrag: datagram %u: %s\n", k, why);
	abort();
}

static uint8_t byte_of(unsigned k, unsigned ver, uint32_t pos)
{
	uint32_t x = (pos + 1) * 2654435761u ^ (k * 40503u) ^ (ver * 0x9e37u);
	return (uint8_t)(x >> 13);
}

static uint16_t key_id(unsigned k)
{
	return (uint16_t)(0x4100 + k);
}

/* datagrams 0-1 come from PEER_IP, 2-3 and 4-5 from two other hosts */
static uint32_t key_src(unsigned k)
{
	return PEER_IP + 0x100u * (k / 2);
}

/* the model's slots held by the source of datagram k, plus `extra` */
static unsigned src_held(unsigned k, unsigned extra)
{
	unsigned n = extra;
	for (unsigned j = 0; j < KEYS; j++)
		n += m[j].live && key_src(j) == key_src(k);
	return n;
}

/* every model datagram past its timeout is gone */
static void model_expire(uint64_t now)
{
	for (unsigned k = 0; k < KEYS; k++)
		if (m[k].live && now >= m[k].created + IPFRAG_TIMEOUT_US)
			m[k].live = false;
}

static unsigned live_count(void)
{
	unsigned n = 0;
	for (unsigned k = 0; k < KEYS; k++)
		n += m[k].live;
	return n;
}

static void fragment(unsigned k, uint32_t off, uint32_t len, bool mf,
		     unsigned ver)
{
	static uint8_t hdr[20], payload[1600];
	uint32_t end = off + len;
	for (uint32_t i = 0; i < len; i++)
		payload[i] = byte_of(k, ver, off + i);
	ipv4_build(hdr, key_src(k), STACK_IP, IP_PROTO_UDP, (uint16_t)len,
		   key_id(k));
	wr16(hdr + 6, (uint16_t)((mf ? IP_FLAG_MF : 0) | (off / 8)));
	struct ipv4_view v = {
	    .src = key_src(k),
	    .dst = STACK_IP,
	    .proto = IP_PROTO_UDP,
	    .id = key_id(k),
	    .fragment = true,
	    .payload = payload,
	    .len = len,
	    .hdr = hdr,
	    .hlen = 20,
	};
	/* what the model expects before the call */
	bool early = !len || (mf && len % 8) || end > IPFRAG_MAX;
	struct model *d = &m[k];
	bool fresh = !early && !d->live;
	if (fresh) {
		if (live_count() == IPFRAG_SLOTS) {
			/* the oldest of the source holding the most gives
			 * way, the newcomer counted with its own source */
			unsigned old = KEYS, old_n = 0;
			for (unsigned j = 0; j < KEYS; j++) {
				if (!m[j].live)
					continue;
				unsigned n =
				    src_held(j, key_src(j) == key_src(k));
				if (old == KEYS || n > old_n ||
				    (n == old_n &&
				     m[j].created < m[old].created)) {
					old = j;
					old_n = n;
				}
			}
			m[old].live = false;
		}
		memset(d, 0, sizeof(*d));
		d->live = true;
		d->created = net_now_us();
	}
	/* a clean fragment: no byte held in its range, none held past a
	 * last fragment's end, and the length it states agrees */
	bool clean = !early;
	for (uint32_t i = off; clean && i < end; i++)
		clean = !d->held[i];
	if (clean && !mf)
		for (uint32_t i = end; clean && i < IPFRAG_MAX; i++)
			clean = !d->held[i];
	if (clean && d->total &&
	    (end > d->total || (!mf && end != d->total) ||
	     (mf && end == d->total)))
		clean = false;
	const struct net_counters *c = net_counters();
	uint64_t evicted = c->ip_reass_evicted;
	struct ipv4_view out;
	int r = ipfrag_input(&v, &out);
	if (fresh && live_count() > IPFRAG_SLOTS)
		die("more datagrams than slots", k);
	if (c->ip_reass_evicted != evicted && !fresh)
		die("an eviction for a datagram that had a slot", k);
	if (r < 0) {
		if (early)
			return;
		if (clean)
			die("a clean fragment dropped its datagram", k);
		d->live = false;
		return;
	}
	if (early)
		die("a fragment refused on its own was taken", k);
	if (r > 1)
		die("ipfrag_input returned more than 1", k);
	/* taken (or an exact duplicate): nothing held may change */
	for (uint32_t i = off; i < end; i++) {
		if (d->held[i] && d->data[i] != payload[i - off])
			die("an overlap rewrote held bytes", k);
		d->data[i] = payload[i - off];
		d->held[i] = 1;
	}
	if (!mf)
		d->total = end;
	bool whole = d->total != 0;
	for (uint32_t i = 0; whole && i < d->total; i++)
		whole = d->held[i];
	if (r == 0) {
		if (whole)
			die("whole in the model, not completed", k);
		return;
	}
	if (!whole)
		die("completed with bytes missing", k);
	if (out.len != d->total || out.id != key_id(k) ||
	    out.src != key_src(k) || out.dst != STACK_IP ||
	    out.proto != IP_PROTO_UDP)
		die("completed with the wrong length or key", k);
	if (memcmp(out.payload, d->data, d->total))
		die("completed with other bytes than were sent", k);
	if (!out.hdr || out.hlen < 20 || rd16(out.hdr + 4) != key_id(k))
		die("completed without its first fragment's header", k);
	d->live = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)fake_setup_once();
	ipfrag_reset();
	memset(m, 0, sizeof(m));
	for (size_t i = 0; i + 5 <= size; i += 5) {
		const uint8_t *o = data + i;
		uint32_t a = (uint32_t)o[1] << 8 | o[2];
		uint32_t b = (uint32_t)o[3] << 8 | o[4];
		/* every step takes a microsecond: creation times differ, so
		 * "the oldest" is one datagram */
		shim_clock_ns += 1000;
		if (o[0] & 0x80) {
			shim_clock_ns += (uint64_t)a * 1000000;
			uint64_t now = net_now_us();
			uint64_t t0 = net_counters()->ip_reass_timeouts;
			unsigned before = live_count();
			ipfrag_tick(now);
			model_expire(now);
			if (net_counters()->ip_reass_timeouts - t0 !=
			    before - live_count())
				die("timeouts differ from the model", 0);
		} else {
			uint32_t len = b % 1501;
			if (o[0] & 0x10)
				len &= ~7u;
			fragment(o[0] % KEYS, (a % 2050) * 8, len, o[0] & 0x40,
				 !!(o[0] & 0x20));
		}
		const char *why = ipfrag_check();
		if (why) {
			fprintf(stderr, "fuzz_ipfrag: %s\n", why);
			abort();
		}
	}
	return 0;
}
