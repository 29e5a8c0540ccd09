/* kernel/net/tcp.c — TCP, server side (RFC 9293; RTO RFC 6298; slow start
 * and fast retransmit RFC 5681; NewReno RFC 6582 with SACK-chosen holes
 * after RFC 6675; SACK RFC 2018; window scaling RFC 7323; RST/SYN/ACK
 * checks RFC 5961; initial window RFC 6928; timestamps RFC 7323). See
 * kernel/net/tcp.h. */
#include "kernel/net/tcp.h"

#include "kernel/lib/random.h"
#include "kernel/lib/siphash.h"
#include "kernel/net/ip.h"
#ifdef CAPOS_HOST
#include <stdlib.h>
#endif

#define SEQ_LT(a, b)  ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)
#define MAX_SEQ(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define TX_MASK	      (TCP_TXBUF - 1)
_Static_assert((TCP_TXBUF & TX_MASK) == 0, "TCP_TXBUF power of two");
_Static_assert(TCP_RXBUF <= 65535u << TCP_RCV_WSCALE, "window scale");

static struct tcp_conn conns[TCP_MAX_CONN];
static struct {
	uint16_t port;
	const struct tcp_ops *ops;
} listeners[4];
static uint8_t *rx_mem, *tx_mem;
/* every connection in use has an index below conn_span: the per-frame and
 * per-poll scans stop there (slots are taken lowest first) */
static unsigned conn_span;
/* RFC 6528: the secret of the initial sequence numbers, from the random
 * pool at every tcp_init */
static uint8_t isn_key[SIPHASH_KEY_LEN];
/* out-of-order bytes held by every connection together (TCP_OOO_TOTAL) */
static size_t ooo_total;

static const char *const state_names[] = {
    "CLOSED",	  "SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT_1",
    "FIN_WAIT_2", "CLOSING",  "LAST_ACK",    "TIME_WAIT"};

const char *tcp_state_name(enum tcp_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

unsigned tcp_conn_span(void)
{
	while (conn_span && conns[conn_span - 1].state == TCP_CLOSED)
		conn_span--;
	return conn_span;
}

struct tcp_conn *tcp_conn_at(unsigned i)
{
	return i < TCP_MAX_CONN ? &conns[i] : NULL;
}

void tcp_usage(unsigned *active, unsigned *max)
{
	unsigned n = 0;
	for (unsigned i = 0; i < TCP_MAX_CONN; i++)
		n += conns[i].state != TCP_CLOSED;
	*active = n;
	*max = TCP_MAX_CONN;
}

static void tcp_input(const struct ipv4_view *ip);
static void tcp_frag_needed(uint16_t mtu, const uint8_t *q, size_t len);
static void tcp_addr_lost(void);
static const struct ip_proto tcp_proto = {
    .proto = IP_PROTO_TCP,
    .input = tcp_input,
    .frag_needed = tcp_frag_needed,
    .addr_lost = tcp_addr_lost,
};

#ifdef CAPOS_HOST
void tcp_host_drop_buffers(void)
{
	free(rx_mem);
	free(tx_mem);
	rx_mem = tx_mem = NULL;
}
#endif

void tcp_init(void)
{
	/* each kept once allocated: when only one of the two was, the next
	 * tcp_init (the next stack) asks for the other alone */
	if (!rx_mem)
		rx_mem = net_alloc((size_t)TCP_MAX_CONN * TCP_RXBUF);
	if (!tx_mem)
		tx_mem = net_alloc((size_t)TCP_MAX_CONN * TCP_TXBUF);
	if (!rx_mem || !tx_mem)
		kprintf("tcp: unable to allocate connection buffers\n");
	memset(conns, 0, sizeof(conns));
	memset(listeners, 0, sizeof(listeners));
	for (unsigned i = 0; i < TCP_MAX_CONN; i++)
		conns[i].index = i;
	conn_span = 0;
	ooo_total = 0;
	random_bytes(isn_key, sizeof(isn_key));
	ip_register(&tcp_proto);
}

int tcp_listen(uint16_t port, const struct tcp_ops *ops)
{
	if (!rx_mem || !tx_mem)
		return -1;
	for (unsigned i = 0; i < ARRAY_SIZE(listeners); i++)
		if (!listeners[i].port) {
			listeners[i].port = port;
			listeners[i].ops = ops;
			return 0;
		}
	return -1;
}

static uint16_t our_mss(void)
{
	uint16_t mtu = net_if.nic->mtu;
	if (!mtu || mtu > ETH_MTU)
		mtu = ETH_MTU;
	return (uint16_t)(mtu - 40);
}

/* free receive buffer: the window (out-of-order data lies inside it) */
static uint32_t rcv_window(const struct tcp_conn *c)
{
	return (uint32_t)(TCP_RXBUF - c->rx_len);
}

/* the window field: scaled, and never more than the field holds */
static uint16_t rcv_window_field(const struct tcp_conn *c, bool syn)
{
	uint32_t w = rcv_window(c);
	if (syn) /* RFC 7323 §2.2: the SYN's window is never scaled */
		return (uint16_t)MIN(w, 65535u);
	/* receiver SWS avoidance (RFC 9293 §3.8.6.2.2, MUST-39): the right
	 * edge advertised last moves only by min(RCV.BUFF / 2, MSS) or more
	 * (tcp_rx_consume announces it once it may) */
	uint32_t adv =
	    SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	if (w > adv && w - adv < MIN((uint32_t)TCP_RXBUF / 2, c->mss))
		w = adv;
	return (uint16_t)MIN(w >> c->rcv_shift, 65535u);
}

/* SACK blocks one segment holds: the option space left beside TSopt */
static unsigned sack_max(const struct tcp_conn *c)
{
	return c->ts_ok ? TCP_SACK_MAX_TS : TCP_SACK_MAX;
}

/* bytes of SACK option a segment carries now (RFC 2018 §3, §4) */
static size_t sack_optlen(const struct tcp_conn *c)
{
	if (!c->sack_ok || !c->nooo)
		return 0;
	return 4 + 8u * MIN(c->nooo, sack_max(c));
}

/* option bytes of a data segment now (RFC 6691: they come out of the
 * peer's MSS) */
static size_t opt_len(const struct tcp_conn *c)
{
	return (c->ts_ok ? TCP_TSOPT_LEN : 0) + sack_optlen(c);
}

/* RFC 7323 §5.4: TSval, a 1 ms clock; §7.1 / RFC 6528-style, a keyed
 * offset of the connection's own, so it tells nothing of others' */
static uint32_t ts_clock(const struct tcp_conn *c, uint64_t now)
{
	return (uint32_t)(now / 1000) + c->ts_off;
}

/* SACK blocks: the range holding the latest segment first, then the
 * others from the highest down (RFC 2018 §4) */
static size_t sack_write(const struct tcp_conn *c, uint8_t *o)
{
	size_t n = 0, len = sack_optlen(c);
	if (!len)
		return 0;
	o[0] = TCP_OPT_NOP;
	o[1] = TCP_OPT_NOP;
	o[2] = TCP_OPT_SACK;
	o[3] = (uint8_t)(len - 2);
	for (unsigned i = 0; i < c->nooo; i++)
		if (c->ooo[i][0] == c->ooo_last) {
			wr32(o + 4, c->ooo[i][0]);
			wr32(o + 8, c->ooo[i][1]);
			n = 1;
		}
	for (unsigned i = c->nooo; i-- > 0 && n < sack_max(c);) {
		if (c->ooo[i][0] == c->ooo_last)
			continue;
		wr32(o + 4 + 8 * n, c->ooo[i][0]);
		wr32(o + 8 + 8 * n, c->ooo[i][1]);
		n++;
	}
	return len;
}

/* one segment: header (MSS, window scale and SACK-permitted on SYN-ACK,
 * SACK blocks on others, timestamps on every one once agreed), then `len` bytes
 * from the transmit ring at offset `off` from snd_una. net_ip_send's result: on
 * NIC_TX_FULL the segment did not leave and nothing here changed, so the caller
 * may send it again (an ACK stays owed: ack_now) */
static int seg_send(struct tcp_conn *c, uint32_t seq, uint8_t flags, size_t off,
		    size_t len)
{
	uint8_t *f = net_if.tx;
	uint8_t *t = f + NET_TX_HDR;
	size_t hl = 20;
	uint16_t win = rcv_window_field(c, flags & TCP_SYN);
	wr16(t, c->lport);
	wr16(t + 2, c->rport);
	wr32(t + 4, seq);
	wr32(t + 8, (flags & TCP_ACK) ? c->rcv_nxt : 0);
	t[13] = flags;
	wr16(t + 14, win);
	wr32(t + 16, 0); /* checksum, urgent pointer */
	if (flags & TCP_SYN) {
		t[hl] = TCP_OPT_MSS;
		t[hl + 1] = 4;
		wr16(t + hl + 2, our_mss());
		hl += 4;
		if (c->rcv_shift) { /* RFC 7323 §2.2: only if the SYN had one */
			t[hl] = TCP_OPT_NOP;
			t[hl + 1] = TCP_OPT_WSCALE;
			t[hl + 2] = 3;
			t[hl + 3] = c->rcv_shift;
			hl += 4;
		}
		if (c->sack_ok) {
			t[hl] = TCP_OPT_NOP;
			t[hl + 1] = TCP_OPT_NOP;
			t[hl + 2] = TCP_OPT_SACK_PERM;
			t[hl + 3] = 2;
			hl += 4;
		}
	}
	if (c->ts_ok) { /* RFC 7323 §3.2, on a RST too (its SHOULD) */
		t[hl] = TCP_OPT_NOP;
		t[hl + 1] = TCP_OPT_NOP;
		t[hl + 2] = TCP_OPT_TS;
		t[hl + 3] = TCP_OPT_TS_LEN;
		wr32(t + hl + 4, ts_clock(c, net_now_us()));
		wr32(t + hl + 8, c->ts_recent);
		hl += TCP_TSOPT_LEN;
	}
	if (!(flags & (TCP_SYN | TCP_RST)))
		hl += sack_write(c, t + hl);
	t[12] = (uint8_t)((hl / 4) << 4);
	if (len) {
		size_t pos = (c->tx_head + off) & TX_MASK;
		size_t first = MIN(len, TCP_TXBUF - pos);
		memcpy(t + hl, c->tx + pos, first);
		memcpy(t + hl + first, c->tx, len - first);
	}
	uint32_t s = inet_pseudo_sum(net_if.ip, c->rip, IP_PROTO_TCP,
				     (uint16_t)(hl + len));
	wr16(t + 16, inet_fold(inet_sum(t, hl + len, s)));
	int r = net_ip_send(f, c->rip, IP_PROTO_TCP, hl + len);
	if (r == NIC_TX_FULL)
		return r;
	if (flags & TCP_ACK) {
		c->rcv_adv = c->rcv_nxt + ((uint32_t)win << c->rcv_shift);
		c->last_ack_sent = c->rcv_nxt;
		c->ack_now = false;
	}
	if (len)
		c->last_data_tx = net_now_us();
	/* bytes below snd_max sent again (a resend, the go-back after a
	 * timeout, a zero-window probe's byte): Karn's rule, ack_input
	 * times their ACK by TSecr only */
	uint32_t end = seq + (uint32_t)len + !!(flags & TCP_FIN);
	if (end != seq && SEQ_LT(seq, c->snd_max)) {
		uint32_t top = SEQ_LT(end, c->snd_max) ? end : c->snd_max;
		if (SEQ_GT(top, c->rxt_high))
			c->rxt_high = top;
	}
	net_if.c.tcp_tx++;
	return r;
}

/* RFC 9293 §3.10.7.1: a reset for a segment that has no connection */
static void rst_for(const struct ipv4_view *ip, const struct tcp_view *t)
{
	if (t->flags & TCP_RST)
		return;
	struct tcp_conn tmp = {0};
	tmp.lport = t->dport;
	tmp.rport = t->sport;
	tmp.rip = ip->src;
	tmp.rx_len = TCP_RXBUF; /* window 0 */
	net_if.c.tcp_rst_sent++;
	if (t->flags & TCP_ACK) {
		seg_send(&tmp, t->ack, TCP_RST, 0, 0);
	} else {
		tmp.rcv_nxt = t->seq + (uint32_t)t->len +
			      !!(t->flags & TCP_SYN) + !!(t->flags & TCP_FIN);
		seg_send(&tmp, 0, TCP_RST | TCP_ACK, 0, 0);
	}
}

static uint32_t ooo_bytes(const struct tcp_conn *c)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < c->nooo; i++)
		n += c->ooo[i][1] - c->ooo[i][0];
	return n;
}

static void conn_free(struct tcp_conn *c, bool notify)
{
	const struct tcp_ops *ops = c->ops;
	ooo_total -= ooo_bytes(c);
	bool accepted = c->state != TCP_SYN_RCVD && c->state != TCP_CLOSED;
	c->state = TCP_CLOSED;
	if (notify && accepted && ops && ops->closed)
		ops->closed(c);
	unsigned i = c->index;
	memset(c, 0, sizeof(*c));
	c->index = i;
	c->rx = rx_mem + (size_t)i * TCP_RXBUF;
	c->tx = tx_mem + (size_t)i * TCP_TXBUF;
}

/* the address every connection was bound to is gone (RFC 2131 §4.4.5:
 * at a lease's end the client "MUST immediately stop any other network
 * processing"): each ends, its application told, with no RST (it would
 * come from an address no longer ours); the peers time out */
static void tcp_addr_lost(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < TCP_MAX_CONN; i++)
		if (conns[i].state != TCP_CLOSED) {
			conn_free(&conns[i], true);
			n++;
		}
	if (n)
		kprintf("tcp: %u connections ended with the address\n", n);
}

static void send_rst_conn(struct tcp_conn *c)
{
	net_if.c.tcp_rst_sent++;
	seg_send(c, c->snd_nxt, TCP_RST | TCP_ACK, 0, 0);
}

void tcp_abort(struct tcp_conn *c)
{
	if (c->state == TCP_CLOSED)
		return;
	if (c->state != TCP_TIME_WAIT)
		send_rst_conn(c);
	conn_free(c, false);
}

void tcp_close(struct tcp_conn *c)
{
	if (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT) {
		c->fin_queued = true;
		c->flush = true;
	}
}

bool tcp_peer_closed(const struct tcp_conn *c)
{
	return c->peer_fin;
}

const uint8_t *tcp_rx_data(struct tcp_conn *c, size_t *len)
{
	*len = c->rx_len;
	return c->rx;
}

void tcp_rx_consume(struct tcp_conn *c, size_t n)
{
	if (n > c->rx_len)
		n = c->rx_len;
	/* 0 once the peer's data passed the edge advertised (until our ACK) */
	uint32_t old_win =
	    SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	/* the out-of-order data beyond rx_len moves along */
	size_t extent = c->nooo ? c->ooo[c->nooo - 1][1] - c->rcv_nxt : 0;
	memmove(c->rx, c->rx + n, c->rx_len + extent - n);
	c->rx_len -= n;
	/* RFC 9293 §3.8.6.2.2: announce the opened window once it is worth it
	 */
	uint32_t win = rcv_window(c);
	if (win - old_win >= MIN((uint32_t)TCP_RXBUF / 2, c->mss))
		c->ack_now = true;
	c->flush = true;
}

size_t tcp_tx_space(const struct tcp_conn *c)
{
	if (c->fin_queued ||
	    (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
		return 0;
	return TCP_TXBUF - c->tx_len;
}

size_t tcp_tx_pending(const struct tcp_conn *c)
{
	return c->tx_len;
}

size_t tcp_write(struct tcp_conn *c, const void *data, size_t len)
{
	len = MIN(len, tcp_tx_space(c));
	if (!len)
		return 0;
	size_t pos = (c->tx_head + c->tx_len) & TX_MASK;
	size_t first = MIN(len, TCP_TXBUF - pos);
	memcpy(c->tx + pos, data, first);
	memcpy(c->tx, (const uint8_t *)data + first, len - first);
	c->tx_len += len;
	c->flush = true;
	return len;
}

size_t tcp_write_fill(struct tcp_conn *c, size_t len,
		      void (*fill)(uint64_t off, uint8_t *dst, size_t n),
		      uint64_t off)
{
	len = MIN(len, tcp_tx_space(c));
	if (!len)
		return 0;
	size_t pos = (c->tx_head + c->tx_len) & TX_MASK;
	size_t first = MIN(len, TCP_TXBUF - pos);
	fill(off, c->tx + pos, first);
	if (len > first)
		fill(off + first, c->tx, len - first);
	c->tx_len += len;
	c->flush = true;
	return len;
}

static uint32_t sacked_bytes(const struct tcp_conn *c)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < c->nsacked; i++)
		n += c->sacked[i][1] - c->sacked[i][0];
	return n;
}

/* RFC 8985 §7.2: the probe timeout, 2 x SRTT (at least TCP_TLP_MIN_US),
 * armed only where it comes before the RTO. Unlike §7.2 it is armed
 * inside a recovery too: when the one ACK that would answer the last
 * resend is lost, nothing else brings one. (§7.2's extra worst-case
 * delayed ACK for a one-segment flight is left out: a spurious probe
 * costs one segment, a missed one an RTO) */
static void tlp_arm(struct tcp_conn *c, uint64_t now)
{
	c->tlp_at = 0;
	if (!c->srtt || c->tlp_done || c->probing || c->snd_una == c->snd_max ||
	    !c->rexmt_at)
		return;
	uint64_t at = now + MAX(2 * c->srtt, TCP_TLP_MIN_US);
	if (at < c->rexmt_at)
		c->tlp_at = at;
}

/* n new bytes at offset off from snd_una (the segment at snd_nxt), FIN
 * on the last of them when the application closed; false when the NIC's
 * ring was full and nothing was sent */
static bool send_new(struct tcp_conn *c, size_t off, size_t n, uint64_t now)
{
	uint8_t flags = TCP_ACK;
	bool last = off + n == c->tx_len;
	if (last)
		flags |= TCP_PSH;
	if (last && c->fin_queued)
		flags |= TCP_FIN;
	uint32_t seq = c->snd_nxt;
	if (seg_send(c, seq, flags, off, n) == NIC_TX_FULL)
		return false;
	c->snd_nxt += (uint32_t)n + !!(flags & TCP_FIN);
	if (!c->rtt_active && SEQ_GEQ(seq, c->snd_max)) {
		c->rtt_active = true;
		c->rtt_seq = seq;
		c->rtt_start = now;
	}
	if (SEQ_GT(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	if (!c->rexmt_at)
		c->rexmt_at = now + c->rto;
	return true;
}

/* RFC 6928: the initial window, min(10 x MSS, max(2 x MSS, 14600)) */
static uint32_t initial_cwnd(const struct tcp_conn *c)
{
	return MIN(10u * c->mss, MAX(2u * c->mss, 14600u));
}

static bool can_send_data(const struct tcp_conn *c)
{
	return c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT ||
	       c->state == TCP_FIN_WAIT_1 || c->state == TCP_CLOSING ||
	       c->state == TCP_LAST_ACK;
}

static void tcp_output(struct tcp_conn *c)
{
	uint64_t now = net_now_us();
	c->flush = false;
	if (!can_send_data(c)) {
		/* in SYN_RCVD too (RFC 9293 §3.10.7.4): the ACK for a segment
		 * outside the window and the challenge ACK, <SEQ=ISS+1> */
		if (c->ack_now && c->state != TCP_CLOSED)
			seg_send(c, c->snd_nxt, TCP_ACK, 0, 0);
		return;
	}
	/* RFC 5681 §4.1: no data sent for longer than the RTO and none in
	 * flight: the ACK clock is gone, cwnd restarts from RW = min(IW,
	 * cwnd). ssthresh keeps 3/4 of the old cwnd, so slow start climbs
	 * back to near it (Linux's tcp_cwnd_restart, RFC 2861 §3) */
	if (c->snd_una == c->snd_max && c->tx_len &&
	    now - c->last_data_tx > c->rto && c->cwnd > initial_cwnd(c)) {
		c->ssthresh = MAX(c->ssthresh, c->cwnd / 4 * 3);
		c->cwnd = initial_cwnd(c);
		c->ca_acked = 0;
		net_if.c.tcp_cwnd_restarts++;
	}
	/* RFC 3042 limited transmit: the first two duplicate ACKs each let
	 * one new segment out beyond cwnd */
	uint32_t lt = c->in_recovery ? 0 : MIN(c->dupacks, 2u) * c->mss;
	/* RFC 6675 §5: what the peer SACKed has left the network; cwnd
	 * limits the bytes still in it (the pipe), not the flight */
	uint32_t wnd = MIN(c->snd_wnd, c->cwnd + lt + sacked_bytes(c));
	bool sent_new = false;
	/* RFC 6691: the peer's MSS counts data; options come out of it */
	size_t smss = c->mss - opt_len(c);
	for (;;) {
		size_t off = c->snd_nxt - c->snd_una;
		if (off >= c->tx_len)
			break;
		size_t n = MIN(smss, c->tx_len - off);
		if (off + n > wnd)
			n = wnd > off ? wnd - off : 0;
		/* sender-side silly window avoidance (RFC 9293 §3.8.6.2.1) */
		if (!n || (n < smss && n < c->tx_len - off && off > 0))
			break;
		/* the NIC's ring is full: the rest waits, not lost, for
		 * tcp_flush after a later poll has reclaimed room */
		if (!send_new(c, off, n, now)) {
			c->flush = true;
			break;
		}
		sent_new = true;
	}
	uint32_t fin_seq = c->snd_una + (uint32_t)c->tx_len;
	if (c->fin_queued && c->snd_nxt == fin_seq) {
		if (seg_send(c, fin_seq, TCP_FIN | TCP_ACK, 0, 0) ==
		    NIC_TX_FULL) {
			c->flush = true;
		} else {
			c->snd_nxt = fin_seq + 1;
			if (SEQ_GT(c->snd_nxt, c->snd_max))
				c->snd_max = c->snd_nxt;
			if (!c->rexmt_at)
				c->rexmt_at = now + c->rto;
		}
	}
	if (c->fin_queued && !c->fin_sent && SEQ_GT(c->snd_max, fin_seq)) {
		c->fin_sent = true;
		c->state =
		    c->state == TCP_CLOSE_WAIT ? TCP_LAST_ACK : TCP_FIN_WAIT_1;
	}
	if (c->ack_now)
		seg_send(c, c->snd_nxt, TCP_ACK, 0, 0);
	/* zero window with data waiting: the persist timer (RFC 9293
	 * §3.8.6.1) shares the retransmission timer */
	if (c->snd_una == c->snd_nxt && c->tx_len && !c->rexmt_at)
		c->rexmt_at = now + c->rto;
	if (sent_new || !c->tlp_at)
		tlp_arm(c, now);
}

void tcp_flush(void)
{
	unsigned n = tcp_conn_span();
	for (unsigned i = 0; i < n; i++) {
		struct tcp_conn *c = &conns[i];
		if (c->state != TCP_CLOSED && (c->flush || c->ack_now))
			tcp_output(c);
	}
}

/* RFC 6298 §2.2-2.3. n: RFC 7323 §4.2's ExpectedSamples, the samples
 * one round trip brings; alpha and beta are divided by it, so a window
 * of timestamped ACKs weighs as much as one timed segment */
static void rtt_sample(struct tcp_conn *c, uint64_t r, uint64_t n)
{
	if (!c->srtt) {
		c->srtt = r ? r : 1;
		c->rttvar = r / 2;
	} else {
		uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
		c->rttvar = ((4 * n - 1) * c->rttvar + d) / (4 * n);
		/* never 0: 0 means "no sample yet" */
		c->srtt = MAX(((8 * n - 1) * c->srtt + r) / (8 * n), 1ull);
	}
	uint64_t rto = c->srtt + MAX(4 * c->rttvar, 1000ull); /* G: 1 ms */
	c->rto = MIN(MAX(rto, TCP_RTO_MIN_US), TCP_RTO_MAX_US);
}

/* RFC 6298 §5.7 and §5.5: once new data is acknowledged the backed-off
 * RTO gives way to the estimate again (after a zero-window episode the
 * backoff of the probes must not delay the resumed transfer) */
static void rto_reset(struct tcp_conn *c)
{
	if (!c->srtt) {
		c->rto = TCP_RTO_INIT_US;
		return;
	}
	uint64_t rto = c->srtt + MAX(4 * c->rttvar, 1000ull);
	c->rto = MIN(MAX(rto, TCP_RTO_MIN_US), TCP_RTO_MAX_US);
}

/* F(localip, localport, remoteip, remoteport, secretkey) of RFC 6528
 * §3, a keyed PRF; `use` keeps the ISN's and the timestamp offset's
 * apart */
static uint32_t conn_hash(const struct tcp_conn *c, uint8_t use)
{
	uint8_t id[13];
	wr32(id, net_if.ip);
	wr32(id + 4, c->rip);
	wr16(id + 8, c->lport);
	wr16(id + 10, c->rport);
	id[12] = use;
	return (uint32_t)siphash24(isn_key, id, sizeof(id));
}

/* RFC 6528 §3: ISN = M + F(...), M a 4 µs clock: one connection's ISN
 * tells nothing of another's */
static uint32_t isn_for(const struct tcp_conn *c)
{
	return conn_hash(c, 0) + (uint32_t)(net_now_us() / 4);
}

/* RFC 7323 §4.1 RTTM: the sample an ACK's TSecr gives, for the segment
 * whose TSval it echoes — a resent one too (§4.3: the segment that fills
 * a hole sets TS.Recent), which a timed segment cannot (Karn). Not a
 * TSecr below ts_floor (from before the connection, or before the latest
 * retransmission timeout: such an ACK says how long ACKs were lost, not
 * the path — the timeout half of Karn's rule, kept; fuzz_tcp_seq found a
 * 13.5 s sample from one, over a 1 ms path) nor one from the future. The
 * sample counts from the start of the echoed 1 ms tick, so it errs long
 * by under 1 ms, never short */
static bool ts_rtt(struct tcp_conn *c, const struct tcp_view *t, uint64_t now,
		   uint64_t n)
{
	uint32_t d = ts_clock(c, now) - t->tsecr;
	if (!c->ts_ok || !t->ts || SEQ_LT(t->tsecr, c->ts_floor) ||
	    (int32_t)d < 0)
		return false;
	net_if.c.tcp_ts_rtt_samples++;
	rtt_sample(c, (uint64_t)d * 1000 + now % 1000, n);
	return true;
}

/* RFC 6298 §3 and RFC 7323 §4.1: the RTT sample of an ACK that moved
 * snd_una by `acked`. From the timed segment's own µs send time when the
 * ACK ends it (never resent: a resend stops the timing and send_new times
 * only new data); else from TSecr, but only when the ACK covers a resend
 * (`resent`), which Karn's rule leaves without a µs sample — as Linux's
 * tcp_ack_update_rtt falls back to TSecr only where tcp_clean_rtx_queue
 * found no never-resent segment to time. A TSecr counts from the start of
 * a 1 ms tick and errs long by up to 1 ms, so an ACK of new data that
 * does not end the timed segment gives none (Linux times it by that
 * segment's send time; capOS keeps one). The timed segment's sample, one
 * a round trip, weighs 1; TSecr samples, one an ACK, 1 / ExpectedSamples
 * each (§4.2) */
static void ack_rtt(struct tcp_conn *c, const struct tcp_view *t, uint64_t now,
		    uint32_t acked, bool resent)
{
	if (c->rtt_active && SEQ_GT(t->ack, c->rtt_seq)) {
		rtt_sample(c, now - c->rtt_start, 1);
		c->rtt_active = false;
	} else if (resent) {
		/* ExpectedSamples: ceil(FlightSize / (2 x SMSS)) */
		uint32_t flight = acked + c->snd_max - t->ack;
		ts_rtt(c, t, now,
		       MAX((flight + 2u * c->mss - 1) / (2u * c->mss), 1u));
	}
}

/* the connections address rip holds: every state but TIME_WAIT (a slot
 * in TIME_WAIT is anyone's for the taking, below) */
static unsigned peer_held(uint32_t rip)
{
	unsigned n = 0;
	for (unsigned i = 0; i < TCP_MAX_CONN; i++)
		n += conns[i].state != TCP_CLOSED &&
		     conns[i].state != TCP_TIME_WAIT && conns[i].rip == rip;
	return n;
}

/* the table is full and nothing in it may be taken by the rules of
 * conn_alloc: a connection the HTTP server marked idle (a client owing
 * bytes, or not acknowledging, however recently it last did), of the
 * address holding the most, silent the longest, if that address holds at
 * least two more than the newcomer holds now (`held`): after the swap the
 * newcomer holds no more than it, so the shares grow more even and the
 * loser cannot take its slot back at once */
static struct tcp_conn *conn_fair_share(unsigned held)
{
	struct tcp_conn *best = NULL;
	unsigned best_n = 0;
	for (unsigned i = 0; i < TCP_MAX_CONN; i++) {
		struct tcp_conn *c = &conns[i];
		if (c->state != TCP_ESTABLISHED || !c->idle)
			continue;
		unsigned n = peer_held(c->rip);
		if (n < held + 2)
			continue;
		if (!best || n > best_n ||
		    (n == best_n && c->last_rx < best->last_rx)) {
			best = c;
			best_n = n;
		}
	}
	return best;
}

/* a slot for a SYN from rip. A peer already holding TCP_PER_PEER_MAX
 * connections may only replace one of its own: its oldest half-open one
 * (as FreeBSD's syncache drops the oldest of a full bucket: a SYN flood
 * forging the address does not refuse its owner outright), else its
 * established one the HTTP server marks idle and silent the longest (at
 * least TCP_IDLE_EVICT_US); else it is refused (tcp_peer_limited).
 * Anyone else takes a free slot; else the oldest TIME_WAIT; else the
 * oldest half-open one (a SYN flood then costs legitimate clients a
 * retransmitted SYN, not a refusal); else the established connection idle
 * the longest, reset (so clients that connect and say nothing cannot hold
 * the table); else one of the address holding the most (conn_fair_share,
 * reset, tcp_peer_evicted); else it is refused (tcp_refused). NULL:
 * refused, counted */
static struct tcp_conn *conn_alloc(uint32_t rip)
{
	struct tcp_conn *tw = NULL, *half = NULL, *idle = NULL;
	uint64_t now = net_now_us();
	unsigned held = peer_held(rip);
	bool capped = held >= TCP_PER_PEER_MAX;
	for (unsigned i = 0; i < TCP_MAX_CONN; i++) {
		struct tcp_conn *c = &conns[i];
		if (c->state == TCP_CLOSED) {
			if (!capped)
				return c;
			continue;
		}
		if (capped && c->rip != rip)
			continue;
		if (c->state == TCP_TIME_WAIT && !capped &&
		    (!tw || c->close_at < tw->close_at))
			tw = c;
		if (c->state == TCP_SYN_RCVD &&
		    (!half || c->created < half->created))
			half = c;
		if (c->state == TCP_ESTABLISHED && c->idle &&
		    now - c->last_rx >= TCP_IDLE_EVICT_US &&
		    (!idle || c->last_rx < idle->last_rx))
			idle = c;
	}
	if (tw) {
		net_if.c.tcp_tw_reused++;
		conn_free(tw, true);
		return tw;
	}
	if (half) {
		net_if.c.tcp_syn_evicted++;
		conn_free(half, false);
		return half;
	}
	if (idle) {
		net_if.c.tcp_idle_evicted++;
		send_rst_conn(idle);
		conn_free(idle, true);
		return idle;
	}
	if (capped) {
		net_if.c.tcp_peer_limited++;
		return NULL;
	}
	struct tcp_conn *c = conn_fair_share(held);
	if (!c) {
		net_if.c.tcp_refused++;
		return NULL;
	}
	net_if.c.tcp_peer_evicted++;
	send_rst_conn(c);
	conn_free(c, true);
	return c;
}

static void listen_input(const struct ipv4_view *ip, const struct tcp_view *t)
{
	const struct tcp_ops *ops = NULL;
	if (t->flags & TCP_RST)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(listeners); i++)
		if (listeners[i].port && listeners[i].port == t->dport)
			ops = listeners[i].ops;
	if (!ops || (t->flags & TCP_ACK)) {
		rst_for(ip, t);
		return;
	}
	if (!(t->flags & TCP_SYN) || (t->flags & TCP_FIN))
		return;
	/* a refusal is a RST, as for a closed port: the client's connect
	 * fails at once (a browser then uses the connections it has) rather
	 * than retrying a SYN into the same refusal for a minute */
	struct tcp_conn *c = conn_alloc(ip->src);
	if (!c) {
		rst_for(ip, t);
		return;
	}
	if (c->index >= conn_span)
		conn_span = c->index + 1;
	uint64_t now = net_now_us();
	conn_free(c, false);
	c->state = TCP_SYN_RCVD;
	c->ops = ops;
	c->rip = ip->src;
	c->rport = t->sport;
	c->lport = t->dport;
	c->irs = t->seq;
	c->rcv_nxt = c->last_ack_sent = t->seq + 1;
	c->iss = isn_for(c);
	/* RFC 7323 §3.2: answered with TSopt only when the SYN had one */
	if (t->ts && net_if.cfg.tcp_ts) {
		c->ts_ok = true;
		c->ts_off = conn_hash(c, 1);
		c->ts_floor = ts_clock(c, now);
		c->ts_recent = t->tsval;
		c->ts_recent_at = now;
	}
	/* every sequence variable starts inside the space in use: a 0 would
	 * compare arbitrarily against a random ISS */
	c->snd_una = c->recover = c->sack_high = c->iss;
	c->rxt_next = c->rxt_mark = c->iss;
	c->rxt_high = c->iss + 1;
	c->dupthresh = TCP_DUPTHRESH;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->snd_wnd = c->max_snd_wnd = t->win; /* a SYN's window: unscaled */
	c->snd_wl1 = t->seq;
	c->snd_wl2 = c->iss;
	/* RFC 7323 §2.2: scaling only when both sides offer it */
	if (t->wscale >= 0) {
		c->snd_shift = (uint8_t)t->wscale;
		c->rcv_shift = TCP_RCV_WSCALE;
	}
	c->sack_ok = t->sack_perm;
	/* the peer's MSS is honoured (RFC 9293 §3.7.1); one below
	 * TCP_MSS_MIN would turn a response into a flood of tiny segments,
	 * so it is raised to that, as Linux raises it to 48. Said for the
	 * stack's first such peer only (a peer decides how many connections
	 * it opens), every one counted in tcp_mss_clamped */
	uint16_t mss = t->mss ? t->mss : TCP_MSS_DEFAULT;
	if (mss < TCP_MSS_MIN) {
		if (net_if.c.tcp_mss_clamped++ == 0) {
			char a[16];
			ip_str(c->rip, a, sizeof(a));
			kprintf("tcp: peer %s:%u MSS %u below %u, using %u "
				"(further ones counted in tcp_mss_clamped, not "
				"logged)\n",
				a, c->rport, mss, TCP_MSS_MIN, TCP_MSS_MIN);
		}
		mss = TCP_MSS_MIN;
	}
	c->mss = MIN(mss, our_mss());
	c->cwnd = initial_cwnd(c);
	c->ssthresh = 65535;
	c->rto = TCP_RTO_INIT_US;
	/* the handshake is timed from now: establish takes the sample and
	 * clears rtt_active before ack_input could read rtt_seq */
	c->rtt_active = true;
	c->rtt_start = now;
	c->created = c->last_rx = c->last_data_tx = now;
	c->rexmt_at = now + c->rto;
	seg_send(c, c->iss, TCP_SYN | TCP_ACK, 0, 0);
}

/* RFC 9293 §3.10.7.4, first check: is any of the segment in the window? */
static bool seq_acceptable(const struct tcp_conn *c, const struct tcp_view *t,
			   uint32_t seglen)
{
	uint32_t wnd = rcv_window(c);
	uint32_t seq = t->seq;
	/* a zero window takes no data, "but special allowance should be
	 * made to accept valid ACKs, URGs, and RSTs": a segment at rcv_nxt
	 * goes on, its data is trimmed off by rcv_data (and ACKed) */
	if (wnd == 0)
		return seq == c->rcv_nxt;
	if (seglen == 0)
		return SEQ_LEQ(c->rcv_nxt, seq) &&
		       SEQ_LT(seq, c->rcv_nxt + wnd);
	uint32_t end = seq + seglen - 1;
	return (SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + wnd)) ||
	       (SEQ_LEQ(c->rcv_nxt, end) && SEQ_LT(end, c->rcv_nxt + wnd));
}

static void establish(struct tcp_conn *c, const struct tcp_view *t,
		      uint64_t now)
{
	c->state = TCP_ESTABLISHED;
	c->snd_una = t->ack;
	c->snd_wnd = (uint32_t)t->win << c->snd_shift;
	c->max_snd_wnd = MAX(c->max_snd_wnd, c->snd_wnd);
	c->snd_wl1 = t->seq;
	c->snd_wl2 = t->ack;
	if (c->rtt_active && !c->retries)
		rtt_sample(c, now - c->rtt_start, 1);
	else if (!ts_rtt(c, t, now, 1) && c->retries && !c->srtt)
		/* RFC 6298 §5.7: the SYN-ACK timed out and no sample came,
		 * so data starts with a 3 s RTO, not the backed-off one */
		c->rto = TCP_RTO_SYN_TIMEOUT_US;
	c->rtt_active = false;
	c->rexmt_at = 0;
	c->retries = 0;
	net_if.c.tcp_accepted++;
	if (c->ops->accept)
		c->ops->accept(c);
}

/* RFC 5961 §7: at most TCP_CHALLENGE_ACK_LIMIT challenge ACKs a second
 * over all connections, so spoofed segments cannot turn capOS into an ACK
 * flood */
static void challenge_ack(struct tcp_conn *c)
{
	static uint64_t second;
	static unsigned sent, budget;
	uint64_t now = net_now_us() / 1000000;
	if (now != second || !budget) {
		second = now;
		sent = 0;
		/* a budget that differs every second, half to one and a half
		 * times the limit: an exact, shared count told an off-path
		 * attacker when its guesses hit a connection (CVE-2016-5696) */
		budget = TCP_CHALLENGE_ACK_LIMIT / 2 +
			 (unsigned)(random_u64() % TCP_CHALLENGE_ACK_LIMIT);
	}
	if (sent >= budget) {
		net_if.c.tcp_challenge_acks_limited++;
		return;
	}
	sent++;
	net_if.c.tcp_challenge_acks++;
	c->ack_now = true;
}

/* at most one ACK per TCP_OOW_ACK_INTERVAL_US per connection for the
 * segments that draw one without being taken (Linux's
 * __tcp_oow_rate_limited): a bare ACK or SYN outside the window (RFC 9293
 * §3.10.7.4), a segment acknowledging data never sent (§3.10.7.4, RFC
 * 5961 §5.2). Two ends that disagree about the sequence space would
 * otherwise answer each other's ACKs for ever (an ACK loop), and every
 * forged segment would draw one */
static bool ack_rate_limited(struct tcp_conn *c, uint64_t now)
{
	if (now < c->oow_ack_next) {
		net_if.c.tcp_oow_acks_limited++;
		return true;
	}
	c->oow_ack_next = now + TCP_OOW_ACK_INTERVAL_US;
	return false;
}

/* the SACK scoreboard: the peer's blocks (RFC 2018 §3) merged over ACKs
 * (a receiver reports only its latest few), inside (snd_una, snd_max],
 * sorted and disjoint; when full, the highest range gives way */
static void sack_add(struct tcp_conn *c, uint32_t l, uint32_t r)
{
	unsigned i = 0;
	while (i < c->nsacked && SEQ_LT(c->sacked[i][1], l))
		i++;
	unsigned j = i;
	while (j < c->nsacked && SEQ_LEQ(c->sacked[j][0], r))
		j++;
	if (i == j) {
		if (c->nsacked == TCP_SACK_RANGES) {
			if (i == TCP_SACK_RANGES)
				return;
			c->nsacked--;
		}
		memmove(&c->sacked[i + 1], &c->sacked[i],
			(c->nsacked - i) * sizeof(c->sacked[0]));
		c->nsacked++;
		c->sacked[i][0] = l;
		c->sacked[i][1] = r;
		return;
	}
	if (SEQ_LT(c->sacked[i][0], l))
		l = c->sacked[i][0];
	if (SEQ_GT(c->sacked[j - 1][1], r))
		r = c->sacked[j - 1][1];
	c->sacked[i][0] = l;
	c->sacked[i][1] = r;
	memmove(&c->sacked[i + 1], &c->sacked[j],
		(c->nsacked - j) * sizeof(c->sacked[0]));
	c->nsacked = (uint8_t)(c->nsacked - (j - i - 1));
}

static void sack_update(struct tcp_conn *c, const struct tcp_view *t)
{
	/* what the cumulative ACK covers leaves the board; the byte at una
	 * is not taken as SACKed (a range starts above it), so a range that
	 * ends at una + 1 leaves too rather than becoming empty */
	uint32_t una = SEQ_GT(t->ack, c->snd_una) && SEQ_LEQ(t->ack, c->snd_max)
			   ? t->ack
			   : c->snd_una;
	unsigned k = 0;
	for (unsigned i = 0; i < c->nsacked; i++) {
		if (SEQ_LEQ(c->sacked[i][1], una + 1))
			continue;
		c->sacked[k][0] = MAX_SEQ(c->sacked[i][0], una + 1);
		c->sacked[k][1] = c->sacked[i][1];
		k++;
	}
	c->nsacked = (uint8_t)k;
	for (unsigned i = 0; c->sack_ok && i < t->nsack; i++) {
		uint32_t l = t->sack[i][0], r = t->sack[i][1];
		if (!SEQ_LT(l, r) || !SEQ_LT(una, l) || SEQ_GT(r, c->snd_max))
			continue; /* D-SACK, stale or invented */
		sack_add(c, l, r);
		if (SEQ_GT(r, c->sack_high))
			c->sack_high = r;
	}
	if (SEQ_LT(c->sack_high, una))
		c->sack_high = una;
}

/* the first byte at or after `from` that is neither acknowledged nor
 * SACKed, and how many such bytes follow it (at most one MSS) before the
 * next SACKed range; 0 when there is no hole below sack_high */
static size_t next_hole(const struct tcp_conn *c, uint32_t from, uint32_t *seq)
{
	uint32_t p = SEQ_LT(from, c->snd_una) ? c->snd_una : from;
	for (unsigned i = 0; i < c->nsacked; i++) {
		if (SEQ_LT(p, c->sacked[i][0])) {
			*seq = p;
			return MIN(c->sacked[i][0] - p, (uint32_t)c->mss);
		}
		if (SEQ_LT(p, c->sacked[i][1]))
			p = c->sacked[i][1];
	}
	return 0;
}

/* resend [seq, seq+len) from the ring, clipped to the bytes sent before:
 * the rest is new data, tcp_output's to send under the peer's window and
 * cwnd (RFC 9293 §3.8.6), and snd_max would not cover it (the peer's ACK
 * of it would read as an ACK of unsent data) */
static void rexmt_seg(struct tcp_conn *c, uint32_t seq, size_t len)
{
	size_t sent = MIN((size_t)(c->snd_max - c->snd_una), c->tx_len);
	size_t off = seq - c->snd_una;
	if (off >= sent)
		return;
	len = MIN(len, sent - off);
	len = MIN(len, (size_t)c->mss - opt_len(c));
	if (seg_send(c, seq, TCP_ACK, off, len) == NIC_TX_FULL)
		return; /* not sent: the next ACK or timer tries again */
	net_if.c.tcp_retransmits++;
	c->rtt_active = false; /* Karn */
	c->undo_retrans++;
	uint32_t end = seq + (uint32_t)len;
	if (SEQ_GT(end, c->rxt_next))
		c->rxt_next = end;
	c->rxt_mark = c->snd_max;
}

/* RFC 6675-style: in recovery, each ACK lets one hole below the highest
 * SACKed byte be resent; when data sent after this round began has been
 * SACKed and a resent hole is still missing, that resend was lost and the
 * round starts over (RFC 8985's observation, without per-segment times) */
static void recovery_step(struct tcp_conn *c)
{
	uint32_t seq;
	if (c->nsacked && SEQ_GT(c->sack_high, c->rxt_mark) &&
	    SEQ_GT(c->rxt_next, c->snd_una)) {
		net_if.c.tcp_lost_retransmits++;
		c->rxt_next = c->snd_una;
	}
	size_t n = next_hole(c, c->rxt_next, &seq);
	if (n && SEQ_LT(seq, c->sack_high))
		rexmt_seg(c, seq, n);
}

/* RFC 6675 §4 IsLost(HighACK + 1): more than (DupThresh - 1) x SMSS
 * bytes SACKed above snd_una. Counts bytes, not duplicate ACKs: a receiver
 * that ACKs every second segment, or an ACK lost on the way, does not
 * delay the recovery, and a DupThresh raised by reordering scales it */
static bool sack_lost(const struct tcp_conn *c)
{
	return c->sack_ok && c->nsacked &&
	       sacked_bytes(c) > (uint32_t)(c->dupthresh - 1) * c->mss;
}

/* everything sent after the hole at snd_una has been SACKed: no more
 * duplicate ACKs will come, so the hole is a loss (RFC 8985's view of a
 * tail, without per-segment times) */
static bool tail_lost(const struct tcp_conn *c)
{
	uint32_t sent_end =
	    c->snd_una +
	    (uint32_t)MIN((size_t)(c->snd_max - c->snd_una), c->tx_len);
	/* once reordering has been seen, only dupthresh decides */
	return c->dupthresh == TCP_DUPTHRESH && c->nsacked &&
	       SEQ_GEQ(c->sack_high, sent_end);
}

/* a D-SACK for a resend of the latest recovery: when every resend of it
 * came back duplicated, nothing was lost — undo the reduction and
 * tolerate more reordering (RFC 3708 detection, RFC 4015's response) */
static void dsack_undo(struct tcp_conn *c, uint32_t seq)
{
	if (!c->undo_ok || SEQ_LT(seq, c->undo_marker) ||
	    !SEQ_LT(seq, c->recover) || !c->undo_retrans)
		return;
	if (--c->undo_retrans)
		return;
	c->undo_ok = false;
	c->cwnd = MAX(c->cwnd, c->prior_cwnd);
	c->ssthresh = MAX(c->ssthresh, c->prior_ssthresh);
	c->in_recovery = false;
	c->dupacks = 0;
	c->dupthresh =
	    (uint8_t)MIN(2u * c->dupthresh, (unsigned)TCP_DUPTHRESH_MAX);
	net_if.c.tcp_undos++;
}

/* RFC 5681 §3.2 / RFC 6582 §3.2 step 2: the third duplicate ACK */
static void recovery_enter(struct tcp_conn *c)
{
	uint32_t flight = c->snd_max - c->snd_una;
	c->prior_cwnd = c->cwnd;
	c->prior_ssthresh = c->ssthresh;
	c->undo_ok = true;
	c->undo_retrans = 0;
	c->undo_marker = c->snd_una;
	c->ssthresh = MAX(flight / 2, 2u * c->mss);
	/* NewReno inflates cwnd by the segments that left (RFC 6582); with
	 * SACK the pipe (flight minus SACKed bytes) says it exactly */
	c->cwnd =
	    c->ssthresh + (c->sack_ok ? 0 : TCP_DUPTHRESH * (uint32_t)c->mss);
	/* bytes counted toward a step of the old window do not carry over
	 * to the reduced one */
	c->ca_acked = 0;
	c->in_recovery = true;
	c->recover = c->snd_max;
	c->rxt_next = c->snd_una;
	net_if.c.tcp_fast_retransmits++;
	rexmt_seg(c, c->snd_una, c->mss);
}

/* new data acknowledged: slow start, congestion avoidance, or a step of
 * NewReno recovery (RFC 6582 §3.2 steps 3-5) */
static void cwnd_on_ack(struct tcp_conn *c, uint32_t acked)
{
	uint32_t mss = c->mss;
	if (c->in_recovery) {
		if (SEQ_GEQ(c->snd_una, c->recover)) { /* full ACK */
			/* RFC 6675: the recovery leaves cwnd at ssthresh
			 * (the pipe kept it there). NewReno: RFC 6582 §3.2
			 * step 3 option 1, no burst out of a small flight */
			uint32_t flight = c->snd_max - c->snd_una;
			c->cwnd = c->sack_ok ? c->ssthresh
					     : MIN(c->ssthresh,
						   MAX(flight, mss) + mss);
			c->in_recovery = false;
			c->dupacks = 0;
			return;
		}
		/* partial ACK: resend the next hole, deflate by what left */
		if (!c->sack_ok) {
			c->cwnd = c->cwnd > acked ? c->cwnd - acked : mss;
			if (acked >= mss)
				c->cwnd += mss;
		}
		if (SEQ_LT(c->rxt_next, c->snd_una))
			c->rxt_next = c->snd_una;
		/* the hole at snd_una, unless this round resent it already */
		uint32_t seq;
		size_t n = next_hole(c, c->rxt_next, &seq);
		if (!c->nsacked)
			rexmt_seg(c, c->snd_una, mss);
		else if (n && SEQ_LT(seq, c->sack_high))
			rexmt_seg(c, seq, n);
		return;
	}
	c->dupacks = 0;
	/* RFC 5681 §3.1: slow start, then congestion avoidance counting the
	 * bytes acknowledged (its RECOMMENDED way: a receiver's delayed ACKs
	 * do not halve the growth to one SMSS per RTT) */
	if (c->cwnd < c->ssthresh) {
		c->cwnd += MIN(acked, mss);
		c->ca_acked = 0;
	} else {
		c->ca_acked += acked;
		if (c->ca_acked >= c->cwnd) {
			c->ca_acked -= c->cwnd;
			c->cwnd += mss;
		}
	}
	c->cwnd = MIN(c->cwnd, (uint32_t)TCP_TXBUF * 2);
}

enum ack_verdict { ACK_OK, ACK_FIN_ACKED, ACK_DROP };

static enum ack_verdict ack_input(struct tcp_conn *c, const struct tcp_view *t,
				  uint64_t now, bool *freed_space)
{
	bool fin_acked = false;
	/* RFC 9293 §3.10.7.4 / RFC 5961 §5.2: an ACK of data never sent is
	 * answered with an ACK and the segment dropped; one older than
	 * SND.UNA - MAX.SND.WND gets a challenge ACK and is dropped */
	if (SEQ_GT(t->ack, c->snd_max)) {
		net_if.c.tcp_ack_invalid++;
		if (!ack_rate_limited(c, now))
			c->ack_now = true;
		return ACK_DROP;
	}
	if (SEQ_LT(t->ack,
		   c->snd_una - MAX(c->max_snd_wnd, (uint32_t)c->mss))) {
		challenge_ack(c);
		return ACK_DROP;
	}
	/* the peer is there: its zero-window probes start counting anew
	 * (an old ACK, below snd_una, may be a stale copy: Linux's tcp_ack
	 * does not count it either) */
	if (SEQ_GEQ(t->ack, c->snd_una))
		c->probes = 0;
	uint32_t sack_high0 = c->sack_high;
	bool una_moved = SEQ_GT(t->ack, c->snd_una);
	sack_update(c, t);
	/* RFC 6675 §2: an ACK whose SACK blocks cover new data counts as a
	 * duplicate even when the window changed (Linux grows its window
	 * while it queues out-of-order data) */
	bool sack_news = c->nsacked && SEQ_GT(c->sack_high, sack_high0);
	/* RFC 2883: a first block below the ACK reports a duplicate that
	 * arrived (our spurious resend), not a loss */
	bool dsack = t->nsack && SEQ_LT(t->sack[0][0], t->ack);
	if (dsack)
		dsack_undo(c, t->sack[0][0]);
	uint32_t win = (uint32_t)t->win << c->snd_shift;
	if (SEQ_GT(t->ack, c->snd_una)) {
		uint32_t acked = t->ack - c->snd_una;
		bool resent = SEQ_LT(c->snd_una, c->rxt_high);
		size_t data = MIN((size_t)acked, c->tx_len);
		c->tx_head = (c->tx_head + data) & TX_MASK;
		c->tx_len -= data;
		if (c->fin_sent && t->ack == c->snd_max)
			fin_acked = true;
		c->snd_una = t->ack;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		if (SEQ_LT(c->rxt_high, c->snd_una))
			c->rxt_high = c->snd_una;
		ack_rtt(c, t, now, acked, resent);
		c->retries = 0;
		c->tlp_done = false;
		c->tlp_at = 0;
		rto_reset(c);
		cwnd_on_ack(c, acked);
		c->rexmt_at = c->snd_una == c->snd_max ? 0 : now + c->rto;
		*freed_space = data > 0;
		/* RFC 6675 §5: an ACK that SACKs new data counts as a
		 * duplicate "regardless of its status as a cumulative
		 * acknowledgment": a hole at the new snd_una with enough
		 * SACKed above it, or with all the rest SACKed (no
		 * duplicate ACK will follow), is a loss now */
		if (!c->in_recovery && sack_news && c->tx_len &&
		    (sack_lost(c) || tail_lost(c)) &&
		    SEQ_GEQ(c->snd_una, c->recover))
			recovery_enter(c);
	} else if (t->ack == c->snd_una && !t->len && !dsack &&
		   !(t->flags & (TCP_SYN | TCP_FIN)) &&
		   (win == c->snd_wnd || sack_news) && c->snd_wnd &&
		   !c->probing && c->snd_max != c->snd_una) {
		/* RFC 5681 §2 duplicate ACK; RFC 6582 §3.2 step 1-2: a new
		 * recovery only once the previous one is over */
		c->dupacks++;
		if (c->in_recovery) {
			if (!c->sack_ok) /* inflate: a segment left; never
					  * past what can be in flight */
				c->cwnd = MIN(c->cwnd + c->mss,
					      (uint32_t)TCP_TXBUF * 2);
			recovery_step(c);
		} else if ((c->dupacks >= c->dupthresh || sack_lost(c) ||
			    tail_lost(c)) &&
			   c->tx_len && SEQ_GEQ(c->snd_una, c->recover)) {
			/* recover is one past the highest byte sent when
			 * the last recovery began: an ACK reaching it
			 * "covers more than recover" (RFC 6582 §3.2 step
			 * 2, whose recover is that highest byte) */
			recovery_enter(c);
		} else if ((c->dupacks >= c->dupthresh || sack_lost(c)) &&
			   c->tx_len && c->nsacked) {
			/* RFC 6675 §5: SACKed data past a hole is a loss
			 * even right after an RTO episode (recovery_enter
			 * moves recover to snd_max) */
			recovery_enter(c);
		}
	} else if (c->in_recovery && c->sack_ok && t->ack == c->snd_una &&
		   t->nsack && !t->len) {
		/* RFC 6675 §5 (C): in recovery every ACK with SACK
		 * information runs the transmission rules, not only a strict
		 * duplicate (a window change or a D-SACK beside the blocks
		 * must not stall the recovery) */
		recovery_step(c);
	}
	/* RFC 9293 §3.10.7.4: window update from newer segments only, and
	 * only "if SND.UNA =< SEG.ACK" (an older ACK is a duplicate: a blind
	 * segment acknowledging anything in the last MAX.SND.WND bytes must
	 * not close the window). A segment that moved SND.UNA updates it
	 * too, as Linux's tcp_may_update_window: its window counts from its
	 * ACK, and keeping the old SND.WND from the new SND.UNA would slide
	 * the edge past what the peer advertised (§3.8.6) */
	if (SEQ_GEQ(t->ack, c->snd_una) &&
	    (una_moved || SEQ_LT(c->snd_wl1, t->seq) ||
	     (c->snd_wl1 == t->seq && SEQ_LEQ(c->snd_wl2, t->ack)))) {
		if (win > c->snd_wnd)
			*freed_space = true;
		if (!c->snd_wnd && win &&
		    (c->probing || c->snd_una == c->snd_max)) {
			/* the window opened: the persist timer stops (the
			 * data sent now starts an RTO of its own, RFC 6298
			 * §5.1) and no probe backoff carries over */
			rto_reset(c);
			c->rexmt_at = 0;
			c->snd_nxt = c->snd_una;
		}
		c->snd_wnd = win;
		c->max_snd_wnd = MAX(c->max_snd_wnd, win);
		c->snd_wl1 = t->seq;
		c->snd_wl2 = t->ack;
		if (c->snd_wnd)
			c->probing = false;
	}
	return fin_acked ? ACK_FIN_ACKED : ACK_OK;
}

/* copy [s, e) of the segment into the buffer where no byte is held yet:
 * what arrived first wins on overlap (RFC 9293 §3.10.7.4 trims a segment
 * to new data) */
static void rcv_copy(struct tcp_conn *c, uint32_t s, uint32_t e,
		     uint32_t seg_seq, const uint8_t *data)
{
	uint32_t p = s;
	for (unsigned i = 0; i <= c->nooo && SEQ_LT(p, e); i++) {
		uint32_t stop = e;
		if (i < c->nooo && SEQ_LT(c->ooo[i][0], e))
			stop = c->ooo[i][0];
		if (SEQ_LT(p, stop))
			memcpy(c->rx + c->rx_len + (p - c->rcv_nxt),
			       data + (p - seg_seq), stop - p);
		if (i < c->nooo && SEQ_LT(c->ooo[i][0], e))
			p = MAX_SEQ(p, c->ooo[i][1]);
		else
			p = MAX_SEQ(p, stop);
	}
}

/* merge [s, e) into the range list; false when it would need a range
 * more than TCP_OOO_RANGES */
static bool ooo_merge(struct tcp_conn *c, uint32_t s, uint32_t e)
{
	unsigned i = 0;
	while (i < c->nooo && SEQ_LT(c->ooo[i][1], s))
		i++;
	unsigned j = i;
	while (j < c->nooo && SEQ_LEQ(c->ooo[j][0], e))
		j++;
	if (i == j) { /* touches nothing: a new range at i */
		if (c->nooo == TCP_OOO_RANGES)
			return false;
		memmove(&c->ooo[i + 1], &c->ooo[i],
			(c->nooo - i) * sizeof(c->ooo[0]));
		c->nooo++;
		c->ooo[i][0] = s;
		c->ooo[i][1] = e;
	} else { /* ranges i..j-1 overlap or touch [s, e): one range */
		uint32_t ns = SEQ_LT(c->ooo[i][0], s) ? c->ooo[i][0] : s;
		uint32_t ne =
		    SEQ_GT(c->ooo[j - 1][1], e) ? c->ooo[j - 1][1] : e;
		c->ooo[i][0] = ns;
		c->ooo[i][1] = ne;
		memmove(&c->ooo[i + 1], &c->ooo[j],
			(c->nooo - j) * sizeof(c->ooo[0]));
		c->nooo = (uint8_t)(c->nooo - (j - i - 1));
	}
	c->ooo_last = c->ooo[i][0];
	return true;
}

/* the segment's data (and FIN) into the receive buffer, in order or not;
 * returns true when rcv_nxt moved. *fin: the peer's FIN is now in order */
static bool rcv_data(struct tcp_conn *c, const struct tcp_view *t, bool *fin)
{
	uint32_t wnd = rcv_window(c);
	uint32_t s = t->seq, e = t->seq + (uint32_t)t->len;
	bool seg_fin = (t->flags & TCP_FIN) != 0;
	if (SEQ_LT(s, c->rcv_nxt))
		s = c->rcv_nxt;
	if (SEQ_GT(e, c->rcv_nxt + wnd)) { /* beyond the window: trimmed */
		e = c->rcv_nxt + wnd;
		seg_fin = false;
	}
	/* the FIN is the stream's last byte: one with data held beyond it
	 * is not taken, and nothing beyond a FIN taken is kept (a range
	 * there would swallow the FIN or sit below rcv_nxt after it) */
	if (seg_fin && !c->fin_pending &&
	    !(c->nooo &&
	      SEQ_GT(c->ooo[c->nooo - 1][1], t->seq + (uint32_t)t->len))) {
		c->fin_pending = true;
		c->fin_seq = t->seq + (uint32_t)t->len;
	}
	if (c->fin_pending && SEQ_GT(e, c->fin_seq))
		e = c->fin_seq;
	if (SEQ_LT(e, s))
		e = s;
	uint32_t before = c->rcv_nxt;
	if (SEQ_LT(s, e)) {
		c->ack_now = true;
		uint32_t old = ooo_bytes(c);
		bool in_order = s == c->rcv_nxt;
		if (!in_order && ooo_total + (e - s) > TCP_OOO_TOTAL) {
			net_if.c.tcp_ooo_dropped++;
			return false;
		}
		if (!in_order && c->nooo == TCP_OOO_RANGES) {
			/* room only if it touches a range already held */
			struct tcp_conn probe;
			probe.nooo = c->nooo;
			memcpy(probe.ooo, c->ooo, sizeof(c->ooo));
			if (!ooo_merge(&probe, s, e)) {
				net_if.c.tcp_ooo_dropped++;
				return false;
			}
		}
		rcv_copy(c, s, e, t->seq, t->data);
		if (!in_order)
			net_if.c.tcp_ooo_queued++;
		if (!ooo_merge(c, s, e)) { /* in order, all ranges in use */
			c->rx_len += e - s;
			c->rcv_nxt = e;
		}
		/* whatever now starts at rcv_nxt is in order */
		if (c->nooo && c->ooo[0][0] == c->rcv_nxt) {
			c->rx_len += c->ooo[0][1] - c->rcv_nxt;
			c->rcv_nxt = c->ooo[0][1];
			c->nooo--;
			memmove(&c->ooo[0], &c->ooo[1],
				c->nooo * sizeof(c->ooo[0]));
		}
		ooo_total = ooo_total - old + ooo_bytes(c);
	} else if (t->len) {
		c->ack_now = true; /* a duplicate: say where we are */
	}
	if (c->fin_pending && c->rcv_nxt == c->fin_seq)
		*fin = true;
	else if (seg_fin)
		c->ack_now = true;
	return c->rcv_nxt != before;
}

/* an unacceptable segment (outside the window, RFC 9293 §3.10.7.4, or
 * too old by its timestamp, RFC 7323 §5.3 R1) is answered with an ACK —
 * at a limited rate when it occupies no sequence space (a bare ACK) or is
 * a SYN. A segment with data or a FIN is always answered: its sender sent
 * it from a retransmission or persist timer (our ACK was lost, or this is
 * its FIN again in TIME_WAIT), never in answer to an ACK, and it waits
 * for ours (Linux's tcp_oow_rate_limited draws the same line) */
static void oow_answer(struct tcp_conn *c, const struct tcp_view *t,
		       uint64_t now)
{
	bool bare = (!t->len && !(t->flags & TCP_FIN)) || (t->flags & TCP_SYN);
	if (!bare || !ack_rate_limited(c, now))
		c->ack_now = true;
}

/* Linux's tcp_disordered_ack_check (net/ipv4/tcp_input.c): a segment
 * older than TS.Recent is still taken when it is a pure ACK (no data, SYN
 * or FIN) at RCV.NXT, a duplicate (SEG.ACK = SND.UNA), that would not
 * update the window (Linux's tcp_may_update_window false: SEG.SEQ not past
 * SND.WL1, and at SND.WL1 a window neither above SND.WND nor zero), and
 * its TSval behind TS.Recent by at most the RTO's worth of 1200 Hz ticks
 * (tcp_tsval_replay: RFC 7323 §5.4 allows peer clocks of 1 ms to 1 s, and
 * some tick at 1200 Hz). Such an ACK was overtaken on the way by a later
 * one, not replayed from an old wrap of the sequence space; dropping it
 * loses a duplicate ACK and its SACK blocks. Its window is then taken by
 * the usual SND.WL1/SND.WL2 rule, as without timestamps; TS.Recent does
 * not move back (conn_input) */
static bool paws_disordered_ack(const struct tcp_conn *c,
				const struct tcp_view *t)
{
	uint32_t win = (uint32_t)t->win << c->snd_shift;
	uint64_t lag = c->ts_recent - t->tsval;
	return (t->flags & TCP_ACK) && !(t->flags & (TCP_SYN | TCP_FIN)) &&
	       !t->len && t->seq == c->rcv_nxt && t->ack == c->snd_una &&
	       SEQ_LEQ(t->seq, c->snd_wl1) &&
	       (t->seq != c->snd_wl1 || (win <= c->snd_wnd && win)) &&
	       lag <= c->rto * 1200 / 1000000;
}

/* RFC 7323 §3.2 and §5.3 R1 (Appendix D's order: before the sequence
 * check): false when the segment is dropped. Once agreed, a segment
 * without TSopt is dropped silently (§3.2's SHOULD; the connection stays);
 * one whose TSval is older than TS.Recent is answered and dropped, unless
 * TS.Recent is over TCP_PAWS_IDLE_US old (§5.5: it is taken instead) or
 * it is a reordered duplicate ACK (paws_disordered_ack: taken, counted in
 * tcp_disordered_acks). RSTs are exempt from both (Appendix D) */
static bool paws_pass(struct tcp_conn *c, const struct tcp_view *t,
		      uint64_t now)
{
	if (!c->ts_ok || (t->flags & TCP_RST))
		return true;
	if (!t->ts) {
		net_if.c.tcp_ts_missing++;
		return false;
	}
	if (!SEQ_LT(t->tsval, c->ts_recent))
		return true;
	if (now - c->ts_recent_at > TCP_PAWS_IDLE_US) {
		c->ts_recent = t->tsval;
		c->ts_recent_at = now;
		return true;
	}
	if (paws_disordered_ack(c, t)) {
		net_if.c.tcp_disordered_acks++;
		return true;
	}
	net_if.c.tcp_paws_dropped++;
	oow_answer(c, t, now);
	return false;
}

static void conn_input(struct tcp_conn *c, const struct tcp_view *t)
{
	uint64_t now = net_now_us();
	uint32_t seglen =
	    (uint32_t)t->len + !!(t->flags & TCP_SYN) + !!(t->flags & TCP_FIN);
	if (!paws_pass(c, t, now))
		return;
	if (!seq_acceptable(c, t, seglen)) {
		/* in-window segments (an out-of-order one's duplicate ACK,
		 * RFC 5681 §4.2) never come here */
		if (!(t->flags & TCP_RST)) {
			oow_answer(c, t, now);
			/* §3.10.7.4: in TIME_WAIT the peer's FIN again
			 * restarts the wait; nothing else does */
			if (c->state == TCP_TIME_WAIT && (t->flags & TCP_FIN))
				c->close_at = now + TCP_TIME_WAIT_US;
		}
		return;
	}
	c->last_rx = now;
	if (t->flags & TCP_RST) {
		/* RFC 5961 §3.2: only an exact match resets; else challenge */
		if (t->seq == c->rcv_nxt) {
			net_if.c.tcp_rst_rx++;
			conn_free(c, true);
		} else {
			challenge_ack(c);
		}
		return;
	}
	if (t->flags & TCP_SYN) {
		/* RFC 9293 §3.10.7.4, fourth check: in SYN_RCVD (passive
		 * open) a SYN in the window returns the connection to LISTEN
		 * (the slot is freed, nothing sent; the client's next SYN
		 * opens anew); in a synchronized state RFC 5961 §4.2's
		 * challenge ACK */
		if (c->state == TCP_SYN_RCVD) {
			net_if.c.tcp_syn_rcvd_relistens++;
			conn_free(c, false);
		} else
			challenge_ack(c);
		return;
	}
	if (!(t->flags & TCP_ACK))
		return;
	if (c->state == TCP_SYN_RCVD) {
		if (SEQ_LT(c->snd_una, t->ack) && SEQ_LEQ(t->ack, c->snd_nxt)) {
			establish(c, t, now);
			if (c->state == TCP_CLOSED)
				return;
		} else {
			struct ipv4_view ip = {.src = c->rip};
			rst_for(&ip, t);
			return;
		}
	}
	bool freed = false;
	enum ack_verdict v = ack_input(c, t, now, &freed);
	if (v == ACK_DROP)
		return;
	/* RFC 7323 §4.3 (2), §5.3 R3: TS.Recent moves on only for a segment
	 * at or below the ACK we last sent (Last.ACK.sent), so an ACK echoes
	 * the earliest segment that caused it, and a hole's filler */
	if (c->ts_ok && !SEQ_LT(t->tsval, c->ts_recent) &&
	    SEQ_LEQ(t->seq, c->last_ack_sent)) {
		c->ts_recent = t->tsval;
		c->ts_recent_at = now;
	}
	/* the probe timeout counts from the latest ACK: tcp_output re-arms */
	c->tlp_at = 0;
	if (v == ACK_FIN_ACKED) {
		if (c->state == TCP_FIN_WAIT_1) {
			c->state = TCP_FIN_WAIT_2;
			c->close_at = now + TCP_FIN_WAIT2_US;
		} else if (c->state == TCP_CLOSING) {
			c->state = TCP_TIME_WAIT;
			c->close_at = now + TCP_TIME_WAIT_US;
		} else if (c->state == TCP_LAST_ACK) {
			conn_free(c, true);
			return;
		}
	}
	if (c->state == TCP_TIME_WAIT) {
		if (t->flags & TCP_FIN) {
			c->ack_now = true;
			c->close_at = now + TCP_TIME_WAIT_US;
		}
		return;
	}
	bool take_data = c->state == TCP_ESTABLISHED ||
			 c->state == TCP_FIN_WAIT_1 ||
			 c->state == TCP_FIN_WAIT_2;
	bool got = false, fin = false;
	if (take_data && !c->peer_fin)
		got = rcv_data(c, t, &fin);
	if (fin && !c->peer_fin) {
		c->peer_fin = true;
		c->rcv_nxt++;
		c->ack_now = true;
		got = true;
		if (c->state == TCP_ESTABLISHED || c->state == TCP_SYN_RCVD) {
			c->state = TCP_CLOSE_WAIT;
		} else if (c->state == TCP_FIN_WAIT_1 &&
			   c->snd_una == c->snd_max) {
			c->state = TCP_TIME_WAIT;
			c->close_at = now + TCP_TIME_WAIT_US;
		} else if (c->state == TCP_FIN_WAIT_1) {
			/* no deadline of its own: TIME_WAIT on the ACK of
			 * our FIN, else the FIN's resends end it
			 * (TCP_MAX_RETRIES, as LAST_ACK) */
			c->state = TCP_CLOSING;
		} else if (c->state == TCP_FIN_WAIT_2) {
			c->state = TCP_TIME_WAIT;
			c->close_at = now + TCP_TIME_WAIT_US;
		}
	}
	c->flush = true;
	if (got && c->ops->recv)
		c->ops->recv(c);
	if (freed && c->state != TCP_CLOSED && c->ops->sent)
		c->ops->sent(c);
}

static void tcp_input(const struct ipv4_view *ip)
{
	struct tcp_view t;
	net_if.c.tcp_rx++;
	int e = tcp_parse(ip, &t);
	if (e) {
		if (e == WIRE_CSUM)
			net_if.c.tcp_csum_bad++;
		else
			net_if.c.tcp_bad++;
		return;
	}
	if (!t.sport || !t.dport) {
		net_if.c.tcp_bad++;
		return;
	}
	unsigned span = tcp_conn_span();
	for (unsigned i = 0; i < span; i++) {
		struct tcp_conn *c = &conns[i];
		if (c->state == TCP_CLOSED || c->rport != t.sport ||
		    c->lport != t.dport || c->rip != ip->src)
			continue;
		/* a retransmitted SYN: the SYN-ACK was lost. Sent again at
		 * the rate of ack_rate_limited (Linux's tcp_check_req), so a
		 * spoofed SYN repeated does not make a SYN-ACK each */
		if (c->state == TCP_SYN_RCVD && (t.flags & TCP_SYN) &&
		    !(t.flags & TCP_ACK) && t.seq == c->irs) {
			if (!ack_rate_limited(c, net_now_us()))
				seg_send(c, c->iss, TCP_SYN | TCP_ACK, 0, 0);
			return;
		}
		/* RFC 9293 §3.10.7.4 note: a new SYN in TIME_WAIT may reopen */
		if (c->state == TCP_TIME_WAIT && (t.flags & TCP_SYN) &&
		    !(t.flags & TCP_ACK) && SEQ_GT(t.seq, c->rcv_nxt)) {
			conn_free(c, true);
			break;
		}
		conn_input(c, &t);
		return;
	}
	listen_input(ip, &t);
}

static void rexmt_fire(struct tcp_conn *c, uint64_t now)
{
	c->rexmt_at = 0;
	if (c->state == TCP_SYN_RCVD) {
		if (++c->retries > TCP_SYN_RETRIES) {
			conn_free(c, false);
			return;
		}
		c->rto = MIN(c->rto * 2, TCP_RTO_MAX_US);
		c->ts_floor = ts_clock(c, now);
		net_if.c.tcp_retransmits++;
		seg_send(c, c->iss, TCP_SYN | TCP_ACK, 0, 0);
		c->rexmt_at = now + c->rto;
		return;
	}
	if (!can_send_data(c))
		return;
	c->rto = MIN(c->rto * 2, TCP_RTO_MAX_US);
	c->rtt_active = false; /* Karn: no samples from retransmissions */
	c->ts_floor = ts_clock(c, now);
	if (c->snd_wnd == 0 && c->tx_len) {
		/* zero window: probe with one byte. RFC 1122 §4.2.2.17: a
		 * peer that answers the probes keeps the connection however
		 * long (ack_input clears probes on any ACK of it); one that
		 * leaves TCP_MAX_RETRIES of them unanswered is gone, as a
		 * retransmission timeout (R2; Linux's tcp_probe_timer). The
		 * RST is at snd_una, the one sequence a peer with a zero
		 * window takes (RFC 5961 §3.2), not past the probe's byte */
		if (++c->probes > TCP_MAX_RETRIES) {
			net_if.c.tcp_zero_window_timeouts++;
			c->snd_nxt = c->snd_una;
			send_rst_conn(c);
			conn_free(c, true);
			return;
		}
		net_if.c.tcp_zero_window_probes++;
		c->probing = true;
		seg_send(c, c->snd_una, TCP_ACK, 0, 1);
		if (SEQ_LT(c->snd_nxt, c->snd_una + 1))
			c->snd_nxt = c->snd_una + 1;
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		c->rexmt_at = now + c->rto;
		return;
	}
	if (c->snd_una == c->snd_max)
		return;
	if (++c->retries > TCP_MAX_RETRIES) {
		net_if.c.tcp_timeouts++;
		send_rst_conn(c);
		conn_free(c, true);
		return;
	}
	net_if.c.tcp_rto_expired++;
	if (c->in_recovery)
		net_if.c.tcp_rto_in_recovery++;
	/* RFC 5681 §3.1 eq. 4; RFC 6298 §5.5-5.6: back off, go back */
	uint32_t flight = c->snd_max - c->snd_una;
	c->ssthresh = MAX(flight / 2, 2u * c->mss);
	c->cwnd = c->mss;
	c->ca_acked = 0;
	c->snd_nxt = c->snd_una;
	c->dupacks = 0;
	/* a timeout with SACKed data outstanding: the reordering tolerance
	 * kept the loss from being seen, it starts over (as Linux's
	 * tcp_enter_loss resets its reordering) */
	if (c->nsacked)
		c->dupthresh = TCP_DUPTHRESH;
	/* RFC 6582 §3.2 step 4; RFC 2018 §8: SACK state is not trusted
	 * after a timeout */
	c->in_recovery = false;
	c->undo_ok = false;
	c->recover = c->snd_max;
	c->nsacked = 0;
	c->sack_high = c->snd_una;
	net_if.c.tcp_retransmits++;
	tcp_output(c);
	if (!c->rexmt_at)
		c->rexmt_at = now + c->rto;
}

/* RFC 1191 §5 plateaus, for a router that does not say its MTU */
static uint16_t pmtu_plateau(uint16_t len)
{
	static const uint16_t p[] = {1492, 1006, 508, 296};
	for (unsigned i = 0; i < ARRAY_SIZE(p); i++)
		if (p[i] < len)
			return p[i];
	return 68;
}

/* RFC 1191 §6.1 and RFC 5927 §4.1: the quoted header must be ours — our
 * address as source, a TCP connection's ports and peer, a sequence number
 * in flight — before the segment size of that connection shrinks. The
 * segments in flight were too big, so they are sent again at once; this is
 * not congestion (cwnd stays). */
/* ICMP "fragmentation needed" (RFC 1191): next-hop MTU (0: unknown) and
 * the quoted datagram (IP header + at least 8 bytes) */
static void tcp_frag_needed(uint16_t mtu, const uint8_t *q, size_t len)
{
	size_t ihl = (q[0] & 15u) * 4u;
	if ((q[0] >> 4) != 4 || ihl < 20 || len < ihl + 8 ||
	    q[9] != IP_PROTO_TCP || rd32(q + 12) != net_if.ip) {
		net_if.c.icmp_bad++;
		return;
	}
	uint32_t dst = rd32(q + 16);
	uint16_t sport = rd16(q + ihl), dport = rd16(q + ihl + 2);
	uint32_t seq = rd32(q + ihl + 4);
	unsigned span = tcp_conn_span();
	for (unsigned i = 0; i < span; i++) {
		struct tcp_conn *c = &conns[i];
		if (c->state == TCP_CLOSED || c->lport != sport ||
		    c->rport != dport || c->rip != dst)
			continue;
		if (!can_send_data(c) || SEQ_LT(seq, c->snd_una) ||
		    !SEQ_LT(seq, c->snd_max)) {
			net_if.c.tcp_pmtu_ignored++;
			return;
		}
		if (!mtu || mtu >= rd16(q + 2))
			mtu = pmtu_plateau(rd16(q + 2));
		if (mtu < TCP_PMTU_MIN)
			mtu = TCP_PMTU_MIN;
		uint16_t mss = (uint16_t)(mtu - 40);
		if (mss >= c->mss)
			return;
		/* the peer may send these as often as it likes (one byte
		 * smaller each time): the stack's first is said, every one
		 * counted */
		if (net_if.c.tcp_pmtu_updates++ == 0) {
			char a[16];
			ip_str(c->rip, a, sizeof(a));
			kprintf("tcp: path MTU to %s is %u: MSS %u -> %u "
				"(further changes counted in tcp_pmtu_updates, "
				"not logged)\n",
				a, mtu, c->mss, mss);
		}
		c->mss = MAX(mss, (uint16_t)TCP_MSS_MIN);
		c->snd_nxt = c->snd_una;
		c->rtt_active = false; /* Karn: the flight is resent */
		c->flush = true;
		return;
	}
	net_if.c.tcp_pmtu_ignored++;
}

/* RFC 8985 §7.3: resend the last segment sent; its ACK (with SACK)
 * shows which tail segments are missing. Not a new segment, which §7.3
 * prefers: a receiver may hold the ACK of one new in-order segment in
 * its delayed-ACK timer (Linux: 40 ms), while a duplicate is ACKed at
 * once (RFC 5681 §4.2) */
static void tlp_fire(struct tcp_conn *c, uint64_t now)
{
	c->tlp_at = 0;
	if (!can_send_data(c) || c->snd_una == c->snd_max)
		return;
	size_t sent = MIN((size_t)(c->snd_max - c->snd_una), c->tx_len);
	size_t smss = (size_t)c->mss - opt_len(c);
	c->tlp_done = true;
	net_if.c.tcp_tlp_probes++;
	if (!c->tx_len) {
		/* only our FIN is outstanding */
		net_if.c.tcp_retransmits++;
		seg_send(c, c->snd_una, TCP_FIN | TCP_ACK, 0, 0);
	} else if (c->in_recovery ||
		   (c->nsacked &&
		    SEQ_GEQ(c->sack_high, c->snd_una + (uint32_t)sent))) {
		/* in a recovery the stuck byte is the oldest hole: its
		 * resend was lost, or the ACK that covered it was. With
		 * the last segment SACKed already, resending it would
		 * bring only a D-SACK: the hole is what is missing */
		rexmt_seg(c, c->snd_una, smss);
	} else {
		size_t len = MIN(sent, smss);
		if (!len)
			return;
		rexmt_seg(c, c->snd_una + (uint32_t)(sent - len), len);
	}
	c->rexmt_at = now + c->rto;
}

void tcp_tick(uint64_t now)
{
	unsigned n = tcp_conn_span();
	for (unsigned i = 0; i < n; i++) {
		struct tcp_conn *c = &conns[i];
		if (c->state == TCP_CLOSED)
			continue;
		if ((c->state == TCP_TIME_WAIT || c->state == TCP_FIN_WAIT_2) &&
		    now >= c->close_at) {
			conn_free(c, true);
			continue;
		}
		if (c->tlp_at && now >= c->tlp_at)
			tlp_fire(c, now);
		if (c->rexmt_at && now >= c->rexmt_at)
			rexmt_fire(c, now);
	}
}

/* the connection table's invariants (fuzzers and tests call this): NULL
 * when they hold, else which one broke */
const char *tcp_check(void)
{
	size_t total = 0;
	for (unsigned i = 0; i < TCP_MAX_CONN; i++) {
		const struct tcp_conn *c = &conns[i];
		if (c->state == TCP_CLOSED)
			continue;
		if (c->rx_len > TCP_RXBUF || c->tx_len > TCP_TXBUF)
			return "buffer length";
		if (c->nooo > TCP_OOO_RANGES)
			return "ooo range count";
		uint32_t prev = c->rcv_nxt;
		for (unsigned k = 0; k < c->nooo; k++) {
			if (!SEQ_GT(c->ooo[k][0], prev) ||
			    !SEQ_LT(c->ooo[k][0], c->ooo[k][1]))
				return "ooo ranges not sorted, disjoint, above "
				       "rcv_nxt";
			prev = c->ooo[k][1];
		}
		if (c->nooo && prev - c->rcv_nxt > TCP_RXBUF - c->rx_len)
			return "ooo data beyond the buffer";
		if (c->fin_pending && !c->peer_fin &&
		    (SEQ_GT(c->rcv_nxt, c->fin_seq) ||
		     (c->nooo && SEQ_GT(prev, c->fin_seq))))
			return "data beyond the peer's FIN";
		if (c->peer_fin && c->nooo)
			return "ooo data after the peer's FIN";
		total += ooo_bytes(c);
		if (c->nsacked > TCP_SACK_RANGES)
			return "sack range count";
		for (unsigned k = 0; k < c->nsacked; k++)
			if (!SEQ_LT(c->sacked[k][0], c->sacked[k][1]) ||
			    SEQ_GT(c->sacked[k][1], c->snd_max))
				return "sack block outside what was sent";
		if (c->state != TCP_SYN_RCVD &&
		    (SEQ_LT(c->sack_high, c->snd_una) ||
		     SEQ_GT(c->sack_high, c->snd_max)))
			return "sack_high outside [snd_una, snd_max]";
		if (SEQ_GT(c->snd_una, c->snd_max) ||
		    SEQ_GT(c->snd_nxt, c->snd_max))
			return "send sequence order";
		if (SEQ_LT(c->rxt_high, c->snd_una) ||
		    SEQ_GT(c->rxt_high, c->snd_max))
			return "rxt_high outside [snd_una, snd_max]";
		if (c->mss < TCP_MSS_MIN)
			return "mss below TCP_MSS_MIN";
		if (c->cwnd > 2u * TCP_TXBUF)
			return "cwnd above 2 x TCP_TXBUF";
	}
	if (total != ooo_total || ooo_total > TCP_OOO_TOTAL)
		return "ooo_total";
	for (unsigned i = 0; i < TCP_MAX_CONN; i++)
		if (conns[i].state != TCP_CLOSED &&
		    peer_held(conns[i].rip) > TCP_PER_PEER_MAX)
			return "a peer holds more than TCP_PER_PEER_MAX";
	return NULL;
}
