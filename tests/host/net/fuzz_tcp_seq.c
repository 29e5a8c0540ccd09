/* tests/host/net/fuzz_tcp_seq.c — one whole HTTP connection through a
 * hostile network and a hostile-but-legal peer, on the virtual clock,
 * with end-to-end oracles.
 *
 * The input's first CFG_LEN bytes choose the peer (tcplink.h's client):
 * a download of /api/blob or an upload to /api/sink (its body generated),
 * the size, SACK and D-SACK on or off, delayed ACK on or off, the MSS and
 * window scale it offers, its receive buffer (small ones give zero
 * windows), and whether it closes early (a FIN after its request, or
 * part way through the body). A vanishing peer (cfg[0] & 0x40) never
 * reads, so its window closes, and falls silent (nothing it sends reaches
 * capOS) from the first zero-window probe on, or from the fourth with
 * cfg[0] & 0x80 (three probes answered first); for it HTTP's stall reset
 * is lifted to 3600 s (httpd_stall_set_s, as httpd.stall_s does in the
 * TAP lab), so TCP's own zero-window give-up ends the connection. After that,
 * the input is read two ways at once: every frame either link carries takes a
 * byte (drop, duplicate, corrupt a byte of the TCP segment leaving the checksum
 * wrong, delay 0.2-12.8 ms so later frames pass it), and every step of the
 * driver takes a byte (the application reads, the advertised window shrinks,
 * time jumps ahead so timers fire). When the input runs out, or after
 * HOSTILE_NS of virtual time, the link is clean and the application reads
 * everything at once.
 *
 * Oracles, after every step:
 *  1. every byte the client receives is at its stream offset: a byte
 *     received again equals the first one (tcplink.c client_keep), and at
 *     the end every byte after a 200 header is /api/blob's at that offset,
 *     or the sink's answer is "<length> <fnv1a32>" of the body sent;
 *  2. no data beyond the right edge of the window the client advertised
 *     (the highest edge among the ACKs that reached capOS), except a
 *     one-byte zero-window probe at that edge; no segment larger than the
 *     MSS offered (TCP_MSS_DEFAULT without one, at least TCP_MSS_MIN); no
 *     ACK of bytes the client never sent;
 *  3. capOS never takes back an ACK: its rcv_nxt is at least the highest
 *     ACK it sent, and the bytes waiting in its receive buffer are the
 *     client's bytes that follow those the application took (so every byte
 *     ACKed reaches HTTP once, in order; the sink's answer checks them);
 *  4. once the link is clean the exchange ends within LIVE_NS — complete,
 *     or closed with a reason: capOS or HTTP timed out (tcp_timeouts,
 *     http_timeouts) before REASON_NS of the clean link had passed, or
 *     capOS never accepted the connection — and the connection table is
 *     empty within DRAIN_NS after that, no TIME_WAIT or FIN_WAIT_2 left
 *     TIME_OVER_NS past its deadline, and a CLOSING or LAST_ACK always
 *     has its retransmission timer armed, run within TIME_OVER_NS of it,
 *     and is left within CLOSE_MAX_NS;
 *  5. tcp_check() holds;
 *  6. the zero-window give-up (tcp_zero_window_timeouts) comes only after
 *     TCP_MAX_RETRIES probes in a row went unanswered: a probe is a 1-byte
 *     segment at snd_una while capOS holds a zero window; an answer is a
 *     pure ACK reaching capOS at rcv_nxt acknowledging snd_una to snd_max
 *     (one capOS must count; others it may, so the count here is never
 *     below its own); and a peer that falls silent behind a zero window has
 *     no connection left ZW_BOUND_NS after the first unanswered probe:
 *     at most TCP_MAX_RETRIES timers more, each at most TCP_RTO_MAX_US;
 *  7. RFC 7323 (the client offers timestamps when cfg[5] & 0x20): the
 *     SYN-ACK carries TSopt exactly when the SYN did, and then every
 *     segment of the connection does but RSTs, its TSval never going back
 *     (a clock), and none does when the SYN had none; beside TSopt a SACK
 *     option holds at most TCP_SACK_MAX_TS blocks; a segment's payload and
 *     options together fit the MSS offered (RFC 6691); capOS's TS.Recent
 *     never moves back, except after TCP_PAWS_IDLE_US idle (§5.5). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/blob.h"
#include "kernel/net/httpd.h"
#include "kernel/net/net_internal.h"
#include "kernel/net/tcp.h"
#include "netfake.h"
#include "shim.h"
#include "tcplink.h"

#define SEQ_LT(a, b)  ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

#define CFG_LEN	   6
#define SPORT	   45000
#define MAX_BLOB   (256u * 1024)
#define MAX_UPLOAD 65536u /* HTTP_MAX_BODY */
/* the hostile part ends after this much virtual time */
#define HOSTILE_NS (20ull * 1000000000)
/* once clean, the exchange ends within this: every timer of capOS's
 * (RTO, zero-window probe) has backed off to at most the time already
 * spent, under HOSTILE_NS, and the client's resends come at least every
 * CLIENT_RTO_MAX_NS; then the transfer itself, milliseconds */
#define LIVE_NS (HOSTILE_NS + 10000000000ull)
/* a timeout is a reason to end without the result only this soon after
 * the link became clean: the header timeout started in the hostile part.
 * Later, a clean link should have made progress (oracle 4) */
#define REASON_NS (HTTP_HEADER_TIMEOUT_US * 1000 + 2000000000ull)
/* after the end (the client's FIN acknowledged, or a reset) capOS may
 * still wait for the ACK of its own FIN, resent on its backed-off timer
 * (LIVE_NS), then TIME_WAIT runs; and a TIME_WAIT or FIN_WAIT_2 is gone
 * within TIME_OVER_NS of its close_at (a FIN again restarts TIME_WAIT) */
#define TIME_OVER_NS 2000000000ull
#define DRAIN_NS     (LIVE_NS + TCP_TIME_WAIT_US * 1000 + TIME_OVER_NS)
/* CLOSING and LAST_ACK have no deadline of their own: our FIN is resent
 * on the retransmission timer (a tail loss probe once, then at most
 * TCP_MAX_RETRIES timeouts, each at most TCP_RTO_MAX_US) until its ACK
 * or the reset; the timer is always armed and run on time */
#define CLOSE_MAX_NS                                                           \
	((TCP_MAX_RETRIES + 2) * TCP_RTO_MAX_US * 1000 + TIME_OVER_NS)
#define STEP_MAX_NS 1000000000ull /* httpd's timers are not visible */
#define ZW_BOUND_NS (TCP_MAX_RETRIES * TCP_RTO_MAX_US * 1000 + TIME_OVER_NS)
/* a vanishing peer's end: before it falls silent, up to four probes, each
 * at most TCP_RTO_MAX_US apart, past LIVE_NS; then ZW_BOUND_NS */
#define VANISH_LIVE_NS (LIVE_NS + 4 * TCP_RTO_MAX_US * 1000)

static const uint8_t *in_d;
static size_t in_n, in_i;
static bool clean;

static int take(void)
{
	if (clean || in_i >= in_n) {
		clean = true;
		return -1;
	}
	return in_d[in_i++];
}

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_tcp_seq: ORACLE %s (t=%.3f s)\n", what,
		shim_clock_ns / 1e9);
	abort();
}

/* a frame's fate: a zero byte (or no input) passes it untouched */
static unsigned fate(struct link *l, uint64_t *delay)
{
	(void)l;
	int b = take();
	if (b <= 0)
		return 0;
	static const unsigned f[8] = {0, LINK_DROP, LINK_DUP, LINK_CORRUPT,
				      0, 0,	    0,	      LINK_DROP};
	unsigned k = ((unsigned)b >> 3) & 7;
	if (k)
		*delay = 100000ull << k;
	return f[b & 7];
}

static struct link down, up;
static struct client cl;
/* oracle state */
static uint32_t max_edge, max_ack;
static bool have_edge, have_ack;
static uint16_t mss_allowed;
/* oracle 6: probes in a row no answer reached capOS for; the vanishing
 * peer's probes answered before it falls silent, and when it did */
static unsigned zw_unanswered, vanish_after, zw_probes_seen;
static bool vanish;
static uint64_t vanished_at;
/* oracle 7: the last TSval capOS sent, and TS.Recent as last seen */
static bool ts_seen, ts_recent_seen;
static uint32_t ts_last, ts_recent_last;
static uint64_t ts_recent_last_at;

static struct tcp_conn *conn(void)
{
	for (unsigned i = 0; i < tcp_conn_span(); i++) {
		struct tcp_conn *c = tcp_conn_at(i);
		if (c->state != TCP_CLOSED && c->rport == SPORT)
			return c;
	}
	return NULL;
}

static bool parse(const uint8_t *b, size_t len, struct ipv4_view *ip,
		  struct tcp_view *t)
{
	struct eth_view e;
	return !eth_parse(b, len, &e) && e.type == ETHERTYPE_IPV4 &&
	       !ipv4_parse(e.payload, e.len, ip) && ip->proto == IP_PROTO_TCP &&
	       !tcp_parse(ip, t);
}

/* oracle 6's first half, after anything capOS did */
static uint64_t zw_timeouts;
static void check_zw_giveup(void)
{
	uint64_t now = net_counters()->tcp_zero_window_timeouts;
	if (now == zw_timeouts)
		return;
	zw_timeouts = now;
	if (zw_unanswered < TCP_MAX_RETRIES) {
		fprintf(stderr, "%u probes unanswered\n", zw_unanswered);
		fail("zero-window give-up while the peer answered probes");
	}
}

/* what capOS sent: oracle 2 (and the ACKs for oracle 3), onto the link */
static void from_stack(void)
{
	const struct frame *fr;
	check_zw_giveup();
	while ((fr = fake_pop())) {
		struct ipv4_view ip;
		struct tcp_view t;
		bool v4 = rd16(fr->b + 12) == ETHERTYPE_IPV4;
		if (v4 && parse(fr->b, fr->len, &ip, &t) && t.dport == SPORT &&
		    !(t.flags & TCP_RST)) {
			size_t opts = (size_t)(t.data - ip.payload) - 20;
			if (t.ts != cl.ts)
				fail(cl.ts ? "a segment without TSopt after "
					     "the SYN offered it"
					   : "TSopt the SYN did not offer");
			if (t.ts && ts_seen && SEQ_LT(t.tsval, ts_last))
				fail("TSval went back");
			if (t.ts) {
				ts_last = t.tsval;
				ts_seen = true;
			}
			if (t.ts && t.nsack > TCP_SACK_MAX_TS)
				fail("more SACK blocks than fit beside TSopt");
			if (t.len && t.len + opts > mss_allowed)
				fail("payload and options above the MSS "
				     "offered");
			if (t.len) {
				uint32_t end = t.seq + (uint32_t)t.len;
				if (!have_edge)
					fail("data before any window");
				if (SEQ_GT(end, max_edge) &&
				    !(t.len == 1 && t.seq == max_edge)) {
					struct tcp_conn *c = conn();
					fprintf(stderr,
						"seq %u len %zu edge %u; capOS "
						"una %u nxt %u max %u wnd %u\n",
						t.seq, t.len, max_edge,
						c ? c->snd_una : 0,
						c ? c->snd_nxt : 0,
						c ? c->snd_max : 0,
						c ? c->snd_wnd : 0);
					fail("data beyond the advertised "
					     "window");
				}
				if (t.len > mss_allowed)
					fail("segment above the MSS offered");
				struct tcp_conn *c = conn();
				if (t.len == 1 && c && !c->snd_wnd &&
				    t.seq == c->snd_una) {
					zw_unanswered++;
					if (vanish && !vanished_at &&
					    ++zw_probes_seen > vanish_after)
						vanished_at = shim_clock_ns;
				}
			}
			if ((t.flags & TCP_ACK) && SEQ_GT(t.ack, cl.snd_max))
				fail("ACK of bytes never sent");
			if ((t.flags & TCP_ACK) && !(t.flags & TCP_SYN) &&
			    (!have_ack || SEQ_GT(t.ack, max_ack))) {
				max_ack = t.ack;
				have_ack = true;
			}
		}
		link_push(&down, fr->b, fr->len, v4);
	}
}

/* a frame reaching capOS: the edge it advertises, if capOS will read it */
static void to_stack(const struct pkt *p)
{
	struct ipv4_view ip;
	struct tcp_view t;
	struct tcp_conn *c = conn();
	if (vanished_at)
		return; /* the peer is gone: nothing it sends arrives */
	if (parse(p->b, p->len, &ip, &t) && c && t.flags == TCP_ACK && !t.len &&
	    t.seq == c->rcv_nxt && SEQ_GEQ(t.ack, c->snd_una) &&
	    SEQ_LEQ(t.ack, c->snd_max))
		zw_unanswered = 0;
	if (parse(p->b, p->len, &ip, &t) && (t.flags & TCP_ACK) &&
	    !(t.flags & TCP_SYN)) {
		uint32_t shift = cl.wscale >= 0 ? (uint32_t)cl.wscale : 0;
		uint32_t edge = t.ack + ((uint32_t)t.win << shift);
		if (!have_edge || SEQ_GT(edge, max_edge))
			max_edge = edge;
		have_edge = true;
	}
	inject(p->b, p->len);
}

/* oracle 3 and 5 */
static void check_stack(void)
{
	const char *why = tcp_check();
	if (why) {
		fprintf(stderr, "tcp_check: %s\n", why);
		fail("tcp_check");
	}
	struct tcp_conn *c = conn();
	if (c && c->ts_ok) {
		if (ts_recent_seen && SEQ_LT(c->ts_recent, ts_recent_last) &&
		    shim_clock_ns / 1000 - ts_recent_last_at <=
			TCP_PAWS_IDLE_US)
			fail("TS.Recent moved back");
		if (!ts_recent_seen || c->ts_recent != ts_recent_last) {
			ts_recent_last = c->ts_recent;
			ts_recent_last_at = c->ts_recent_at;
			ts_recent_seen = true;
		}
	}
	if (!c || c->state == TCP_SYN_RCVD)
		return;
	if (have_ack && SEQ_LT(c->rcv_nxt, max_ack))
		fail("rcv_nxt below an ACK sent");
	uint32_t got = c->rcv_nxt - (cl.iss + 1) - (c->peer_fin ? 1 : 0);
	if (got < c->rx_len || got > cl.tx_len)
		fail("receive buffer longer than the stream");
	size_t taken = got - c->rx_len;
	size_t len;
	const uint8_t *rx = tcp_rx_data(c, &len);
	if (memcmp(rx, cl.tx + taken, len))
		fail("receive buffer is not the client's bytes");
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x01000193u;
	return h;
}

/* in-order bytes received, and where the header ends (0: not whole) */
static size_t response(size_t *hl, int *status)
{
	size_t got = cl.synced ? cl.rcv_nxt - (cl.irs + 1) : 0;
	if (cl.done)
		got--;
	*hl = 0;
	*status = 0;
	for (size_t i = 0; i + 4 <= got; i++)
		if (!memcmp(cl.buf + i, "\r\n\r\n", 4)) {
			*hl = i + 4;
			break;
		}
	if (*hl && got >= 12 && !memcmp(cl.buf, "HTTP/1.1 ", 9))
		*status = atoi((const char *)cl.buf + 9);
	return got;
}

static size_t content_length(size_t hl)
{
	const char *k = "\r\nContent-Length: ";
	for (size_t i = 0; i + strlen(k) < hl; i++)
		if (!memcmp(cl.buf + i, k, strlen(k)))
			return strtoul((const char *)cl.buf + i + strlen(k),
				       NULL, 10);
	return (size_t)-1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *stream;
	if (fake_setup_once()) {
		link_reset(&down, LINK_NS_PER_BYTE, 1);
		link_reset(&up, 1, 2);
		stream = malloc(MAX_UPLOAD + 256);
	}
	if (size < CFG_LEN)
		return 0;
	/* the peer asks for our MAC again: the entry stays fresh */
	uint8_t arp[64];
	build_arp(arp, ARP_OP_REQUEST, peer_mac, PEER_IP, NULL, STACK_IP);
	inject(arp, 60);
	fake_clear();
	if (conn())
		fail("a connection left from the last input");

	const uint8_t *cfg = data;
	in_d = data + CFG_LEN;
	in_n = size - CFG_LEN;
	in_i = 0;
	clean = false;
	have_edge = have_ack = false;
	bool upload = cfg[0] & 1, early = cfg[0] & 0x20;
	vanish = cfg[0] & 0x40;
	vanish_after = cfg[0] & 0x80 ? 3 : 0;
	zw_unanswered = zw_probes_seen = 0;
	vanished_at = 0;
	httpd_stall_set_s(vanish ? 3600 : HTTP_STALL_TIMEOUT_US / 1000000);
	size_t body = ((size_t)cfg[2] << 8 | cfg[3]) * 4;
	body = upload ? body % (MAX_UPLOAD + 1) : body % (MAX_BLOB + 1);
	link_reset(&down, LINK_NS_PER_BYTE, cfg[4] * 2654435761u + 1);
	link_reset(&up, 1, cfg[5] * 40503u + 7);
	down.fate = up.fate = fate;
	client_init(&cl, SPORT, &up, (upload ? 0 : body) + 4096);
	cl.no_sack = cfg[0] & 2;
	cl.no_dsack = cfg[0] & 4;
	cl.no_delack = cfg[0] & 8;
	cl.ts = cfg[5] & 0x20;
	net_if.cfg.tcp_ts = true; /* tcp.ts=1 (the default is 0) */
	ts_seen = ts_recent_seen = false;
	cl.mss = cfg[1] ? (uint16_t)(cfg[1] * 6 > 1460 ? 1460 : cfg[1] * 6) : 0;
	mss_allowed = cl.mss ? cl.mss : TCP_MSS_DEFAULT;
	if (mss_allowed < TCP_MSS_MIN)
		mss_allowed = TCP_MSS_MIN;
	cl.rbuf = cfg[4] & 0x80 ? 0 : 1024u * (1 + (cfg[4] & 0x7f));
	cl.wscale = -1;
	if (cfg[0] & 0x10) {
		/* no shift that rounds the whole buffer below 1 KiB */
		int ws = cfg[5] & 15, top = 0;
		for (uint32_t r = cl.rbuf ? cl.rbuf : 65536; r >> (top + 1);)
			top++;
		if (ws > top - 10)
			ws = top - 10 > 0 ? top - 10 : 0;
		cl.wscale = (int8_t)(ws > 14 ? 14 : ws);
	}
	/* the request (and the body) */
	int hl;
	if (upload)
		hl =
		    snprintf((char *)stream, 256,
			     "POST /api/sink HTTP/1.1\r\nHost: x\r\n"
			     "Connection: close\r\nContent-Length: %zu\r\n\r\n",
			     body);
	else
		hl = snprintf((char *)stream, 256,
			      "GET /api/blob?size=%zu HTTP/1.1\r\nHost: x\r\n"
			      "Connection: close\r\n\r\n",
			      body);
	uint64_t r = cfg[5] + 1;
	for (size_t i = 0; upload && i < body; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		stream[hl + i] = (uint8_t)r;
	}
	cl.tx = stream;
	cl.tx_len = (size_t)hl + (upload ? body : 0);
	if (early) {
		cl.fin_after = true;
		if (upload)
			cl.tx_len = (size_t)hl + body * cfg[5] / 255;
	}
	const struct net_counters *k = net_counters();
	struct net_counters k0 = *k;
	uint64_t tmo0 = k->tcp_timeouts, http0 = k->http_timeouts;
	uint64_t zwt0 = zw_timeouts = k->tcp_zero_window_timeouts;
	uint64_t acc0 = k->tcp_accepted;

	uint64_t t0 = shim_clock_ns, clean_at = 0, end_at = 0, reason_at = 0;
	uint64_t closing_since = 0; /* CLOSING or LAST_ACK entered */
	client_connect(&cl);
	for (;;) {
		from_stack();
		/* the step's own byte */
		int op = take();
		if (!clean && shim_clock_ns - t0 > HOSTILE_NS)
			clean = true;
		if (clean) {
			if (!clean_at)
				clean_at = shim_clock_ns;
			cl.shrink = 0;
			if (!vanish)
				client_read(&cl, cl.unread);
		} else if (op > 0) {
			unsigned arg = (unsigned)op >> 3;
			switch (op & 7) {
			case 1:
				if (!vanish)
					client_read(&cl, arg ? arg * 512
							     : cl.unread);
				break;
			case 2:
				cl.shrink = arg * 256;
				break;
			case 3:
				shim_clock_ns += arg * 50000000ull;
				break;
			}
		}
		from_stack();
		/* to the next event */
		uint64_t now = shim_clock_ns, next = now + STEP_MAX_NS;
		if (link_next(&down) < next)
			next = link_next(&down);
		if (link_next(&up) < next)
			next = link_next(&up);
		if (client_next(&cl) < next)
			next = client_next(&cl);
		for (unsigned i = 0; i < tcp_conn_span(); i++) {
			struct tcp_conn *c = tcp_conn_at(i);
			uint64_t at[3] = {c->rexmt_at, c->tlp_at, c->close_at};
			for (int j = 0; j < 3; j++)
				if (c->state != TCP_CLOSED && at[j] &&
				    at[j] * 1000 < next)
					next = at[j] * 1000;
		}
		if (next <= now)
			next = now + 1000000; /* NET_TICK_US */
		shim_clock_ns = next;
		struct pkt *p;
		while ((p = link_due(&down, shim_clock_ns)))
			client_input(&cl, p->b, p->len);
		while ((p = link_due(&up, shim_clock_ns))) {
			to_stack(p);
			from_stack();
		}
		client_timers(&cl);
		advance_us(0);
		from_stack();
		check_stack();
		if (vanished_at && conn() &&
		    shim_clock_ns - vanished_at > ZW_BOUND_NS)
			fail("a silent peer's zero window not given up within "
			     "ZW_BOUND_NS");
		struct tcp_conn *kc = conn();
		if (kc &&
		    (kc->state == TCP_TIME_WAIT ||
		     kc->state == TCP_FIN_WAIT_2) &&
		    shim_clock_ns > kc->close_at * 1000 + TIME_OVER_NS)
			fail("TIME_WAIT or FIN_WAIT_2 past its deadline");
		if (kc &&
		    (kc->state == TCP_CLOSING || kc->state == TCP_LAST_ACK)) {
			uint64_t at = kc->rexmt_at;
			if (kc->tlp_at && (!at || kc->tlp_at < at))
				at = kc->tlp_at;
			if (!closing_since)
				closing_since = shim_clock_ns;
			if (!at)
				fail("CLOSING or LAST_ACK with no timer armed");
			if (shim_clock_ns > at * 1000 + TIME_OVER_NS)
				fail("CLOSING or LAST_ACK timer not run");
			if (shim_clock_ns - closing_since > CLOSE_MAX_NS)
				fail("CLOSING or LAST_ACK past CLOSE_MAX_NS");
		} else {
			closing_since = 0;
		}
		/* the end: the client has all and its FIN is acknowledged,
		 * or it was reset */
		if (cl.done && !cl.fin_after) {
			cl.fin_after = true;
			client_output(&cl);
		}
		bool over =
		    cl.rst ||
		    (cl.done && cl.fin_sent && cl.snd_una == cl.snd_max) ||
		    (vanished_at && !conn());
		if (over && !end_at) {
			end_at = shim_clock_ns;
			clean = true;
		}
		if (clean && !clean_at)
			clean_at = shim_clock_ns;
		if (!reason_at &&
		    (k->tcp_timeouts != tmo0 || k->http_timeouts != http0))
			reason_at = shim_clock_ns;

		if (end_at) {
			unsigned active, max;
			tcp_usage(&active, &max);
			if (!active && !down.n && !up.n)
				break;
			if (shim_clock_ns - end_at > DRAIN_NS) {
				struct tcp_conn *c = conn();
				fprintf(stderr,
					"%s una %u max %u rcv_nxt %u tx %zu "
					"rx %zu; client done %d rst %d\n",
					c ? tcp_state_name(c->state) : "-",
					c ? c->snd_una : 0, c ? c->snd_max : 0,
					c ? c->rcv_nxt : 0, c ? c->tx_len : 0,
					c ? c->rx_len : 0, cl.done, cl.rst);
				fail("a connection left after its end");
			}
		} else if (clean_at && !vanished_at &&
			   shim_clock_ns - clean_at >
			       (vanish ? VANISH_LIVE_NS : LIVE_NS)) {
			fail("no end within LIVE_NS of a clean link");
		}
	}

	/* the outcome (oracles 1 and 4) */
	bool reason = (reason_at && reason_at <= clean_at + REASON_NS) ||
		      (vanished_at && k->tcp_zero_window_timeouts != zwt0) ||
		      k->tcp_accepted == acc0;
	size_t hlen;
	int status;
	size_t got = response(&hlen, &status);
	size_t blen = hlen ? content_length(hlen) : 0;
	if (!upload && status == 200) {
		uint8_t want[4096];
		for (size_t off = 0; off + hlen < got; off += sizeof(want)) {
			size_t n = got - hlen - off;
			n = n < sizeof(want) ? n : sizeof(want);
			blob_fill(off, want, n);
			if (memcmp(cl.buf + hlen + off, want, n))
				fail("download bytes are not /api/blob's");
		}
	}
	bool cut = upload && early && cl.tx_len < (size_t)hl + body;
	bool complete;
	if (cut) {
		complete = cl.done && got == 0;
	} else if (upload) {
		char want[48];
		int n = snprintf(want, sizeof(want), "%zu %08x\n", body,
				 fnv1a(stream + hl, body));
		complete = cl.done && status == 200 && blen == (size_t)n &&
			   got == hlen + blen &&
			   !memcmp(cl.buf + hlen, want, (size_t)n);
		if (status == 200 && got == hlen + blen && !complete)
			fail("the sink's answer is not the body's length and "
			     "FNV");
	} else {
		complete = cl.done && status == 200 && blen == body &&
			   got == hlen + blen;
	}
	if (!complete && !reason) {
		fprintf(stderr,
			"upload %d early %d size %zu: done %d rst %d "
			"status %d got %zu header %zu length %zu\n",
			upload, early, body, cl.done, cl.rst, status, got, hlen,
			blen);
		fail("ended without its result and without a reason");
	}
	if (getenv("FUZZ_TCP_SEQ_VERBOSE"))
		fprintf(
		    stderr,
		    "%s %zu early %d rbuf %u ws %d mss %u sack %d ts %d: %s "
		    "%.3f s (clean at %.3f, end %.3f), frames %u+%u lost "
		    "%u+%u dup %u+%u corrupt %u+%u; capOS rexmt %lu fast "
		    "%lu rto %lu tlp %lu zwp %lu zw_timeouts %lu vanished %.3f "
		    "csum_bad %lu\n",
		    upload ? "upload" : "download", body, early, cl.rbuf,
		    cl.wscale, cl.mss, !cl.no_sack, cl.ts_on,
		    complete ? "complete" : "reason",
		    (shim_clock_ns - t0) / 1e9, (clean_at - t0) / 1e9,
		    (end_at - t0) / 1e9, down.sent, up.sent, down.lost, up.lost,
		    down.dups, up.dups, down.corrupted, up.corrupted,
		    (unsigned long)(k->tcp_retransmits - k0.tcp_retransmits),
		    (unsigned long)(k->tcp_fast_retransmits -
				    k0.tcp_fast_retransmits),
		    (unsigned long)(k->tcp_rto_expired - k0.tcp_rto_expired),
		    (unsigned long)(k->tcp_tlp_probes - k0.tcp_tlp_probes),
		    (unsigned long)(k->tcp_zero_window_probes -
				    k0.tcp_zero_window_probes),
		    (unsigned long)(k->tcp_zero_window_timeouts - zwt0),
		    vanished_at ? (vanished_at - t0) / 1e9 : 0.0,
		    (unsigned long)(k->tcp_csum_bad - k0.tcp_csum_bad));
	client_free(&cl);
	fake_clear();
	return 0;
}
