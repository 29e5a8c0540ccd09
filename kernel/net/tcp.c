/* kernel/net/tcp.c — TCP, server side (RFC 9293; RTO RFC 6298; slow start
 * and fast retransmit RFC 5681; RST/SYN/ACK checks RFC 5961; initial
 * window RFC 6928). See kernel/net/tcp.h for the shape of it. */
#include "kernel/net/tcp.h"

#include "kernel/net/net_internal.h"

#define SEQ_LT(a, b)  ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)
#define TX_MASK	      (TCP_TXBUF - 1)
_Static_assert((TCP_TXBUF & TX_MASK) == 0, "TCP_TXBUF power of two");
_Static_assert(TCP_RXBUF <= 65535, "no window scaling");

static struct tcp_conn conns[TCP_MAX_CONN];
static struct {
	uint16_t port;
	const struct tcp_ops *ops;
} listeners[4];
static uint8_t *rx_mem, *tx_mem;
/* every connection in use has an index below conn_span: the per-frame and
 * per-poll scans stop there (slots are taken lowest first) */
static unsigned conn_span;
static uint32_t isn_salt;

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

void tcp_init(void)
{
	if (!rx_mem) {
		rx_mem = net_alloc((size_t)TCP_MAX_CONN * TCP_RXBUF);
		tx_mem = net_alloc((size_t)TCP_MAX_CONN * TCP_TXBUF);
		if (!rx_mem || !tx_mem)
			kprintf("tcp: unable to allocate connection buffers\n");
	}
	memset(conns, 0, sizeof(conns));
	memset(listeners, 0, sizeof(listeners));
	for (unsigned i = 0; i < TCP_MAX_CONN; i++)
		conns[i].index = i;
	conn_span = 0;
	isn_salt = (uint32_t)net_now_us() * 2654435761u;
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

static uint16_t rcv_window(const struct tcp_conn *c)
{
	return (uint16_t)(TCP_RXBUF - c->rx_len);
}

/* one segment: header (with the MSS option on SYN-ACK), then `len` bytes
 * from the transmit ring at offset `off` from snd_una */
static void seg_send(struct tcp_conn *c, uint32_t seq, uint8_t flags,
		     size_t off, size_t len)
{
	uint8_t *f = net_if.tx;
	uint8_t *t = f + NET_TX_HDR;
	size_t hl = (flags & TCP_SYN) ? 24 : 20;
	uint16_t win = rcv_window(c);
	wr16(t, c->lport);
	wr16(t + 2, c->rport);
	wr32(t + 4, seq);
	wr32(t + 8, (flags & TCP_ACK) ? c->rcv_nxt : 0);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	wr16(t + 14, win);
	wr32(t + 16, 0); /* checksum, urgent pointer */
	if (flags & TCP_SYN) {
		t[20] = TCP_OPT_MSS;
		t[21] = 4;
		wr16(t + 22, our_mss());
	}
	if (len) {
		size_t pos = (c->tx_head + off) & TX_MASK;
		size_t first = MIN(len, TCP_TXBUF - pos);
		memcpy(t + hl, c->tx + pos, first);
		memcpy(t + hl + first, c->tx, len - first);
	}
	uint32_t s = inet_pseudo_sum(net_if.ip, c->rip, IP_PROTO_TCP,
				     (uint16_t)(hl + len));
	wr16(t + 16, inet_fold(inet_sum(t, hl + len, s)));
	if (flags & TCP_ACK) {
		c->rcv_adv = c->rcv_nxt + win;
		c->ack_now = false;
	}
	net_if.c.tcp_tx++;
	net_ip_send(f, c->rip, IP_PROTO_TCP, hl + len);
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

static void conn_free(struct tcp_conn *c, bool notify)
{
	const struct tcp_ops *ops = c->ops;
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
	uint32_t old_win = c->rcv_adv - c->rcv_nxt;
	memmove(c->rx, c->rx + n, c->rx_len - n);
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
		if (c->ack_now && c->state != TCP_CLOSED &&
		    c->state != TCP_SYN_RCVD)
			seg_send(c, c->snd_nxt, TCP_ACK, 0, 0);
		return;
	}
	uint32_t wnd = MIN(c->snd_wnd, c->cwnd);
	for (;;) {
		size_t off = c->snd_nxt - c->snd_una;
		if (off >= c->tx_len)
			break;
		size_t n = MIN((size_t)c->mss, c->tx_len - off);
		if (off + n > wnd)
			n = wnd > off ? wnd - off : 0;
		/* sender-side silly window avoidance (RFC 9293 §3.8.6.2.1) */
		if (!n || (n < c->mss && n < c->tx_len - off && off > 0))
			break;
		uint8_t flags = TCP_ACK;
		bool last = off + n == c->tx_len;
		if (last)
			flags |= TCP_PSH;
		if (last && c->fin_queued)
			flags |= TCP_FIN;
		uint32_t seq = c->snd_nxt;
		seg_send(c, seq, flags, off, n);
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
	}
	uint32_t fin_seq = c->snd_una + (uint32_t)c->tx_len;
	if (c->fin_queued && c->snd_nxt == fin_seq) {
		seg_send(c, fin_seq, TCP_FIN | TCP_ACK, 0, 0);
		c->snd_nxt = fin_seq + 1;
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (!c->rexmt_at)
			c->rexmt_at = now + c->rto;
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

/* RFC 6298 §2.2-2.3 */
static void rtt_sample(struct tcp_conn *c, uint64_t r)
{
	if (!c->srtt) {
		c->srtt = r ? r : 1;
		c->rttvar = r / 2;
	} else {
		uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	uint64_t rto = c->srtt + MAX(4 * c->rttvar, 1000ull); /* G: 1 ms */
	c->rto = MIN(MAX(rto, TCP_RTO_MIN_US), TCP_RTO_MAX_US);
}

static uint32_t isn_for(uint32_t rip, uint16_t rport, uint16_t lport)
{
	/* RFC 6528: a clock plus a keyed hash of the connection id */
	uint32_t h = isn_salt ^ rip ^ ((uint32_t)rport << 16 | lport);
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h + (uint32_t)(net_now_us() / 4);
}

/* a free slot; else the oldest TIME_WAIT; else the oldest half-open one
 * (a SYN flood then costs legitimate clients a retransmitted SYN, not a
 * refusal); else the established connection idle the longest, reset (so
 * clients that connect and say nothing cannot hold the table) */
static struct tcp_conn *conn_alloc(void)
{
	struct tcp_conn *tw = NULL, *half = NULL, *idle = NULL;
	uint64_t now = net_now_us();
	for (unsigned i = 0; i < TCP_MAX_CONN; i++) {
		struct tcp_conn *c = &conns[i];
		if (c->state == TCP_CLOSED)
			return c;
		if (c->state == TCP_TIME_WAIT &&
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
	}
	return idle;
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
	struct tcp_conn *c = conn_alloc();
	if (!c) {
		net_if.c.tcp_refused++;
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
	c->rcv_nxt = t->seq + 1;
	c->iss = isn_for(c->rip, c->rport, c->lport);
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->snd_wnd = t->win;
	c->snd_wl1 = t->seq;
	c->snd_wl2 = c->iss;
	/* the peer's MSS, bounded: a tiny MSS would turn a response into a
	 * flood of segments */
	uint16_t mss = t->mss ? t->mss : TCP_MSS_DEFAULT;
	c->mss = MAX(MIN(mss, our_mss()), (uint16_t)256);
	c->cwnd = MIN(10u * c->mss, MAX(2u * c->mss, 14600u));
	c->ssthresh = 65535;
	c->rto = TCP_RTO_INIT_US;
	c->rtt_active = true;
	c->rtt_seq = c->iss;
	c->rtt_start = now;
	c->created = c->last_rx = now;
	c->rexmt_at = now + c->rto;
	seg_send(c, c->iss, TCP_SYN | TCP_ACK, 0, 0);
}

/* RFC 9293 §3.10.7.4, first check: is any of the segment in the window? */
static bool seq_acceptable(const struct tcp_conn *c, const struct tcp_view *t,
			   uint32_t seglen)
{
	uint32_t wnd = rcv_window(c);
	uint32_t seq = t->seq;
	if (seglen == 0)
		return wnd == 0 ? seq == c->rcv_nxt
				: SEQ_LEQ(c->rcv_nxt, seq) &&
				      SEQ_LT(seq, c->rcv_nxt + wnd);
	if (wnd == 0)
		return false;
	uint32_t end = seq + seglen - 1;
	return (SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + wnd)) ||
	       (SEQ_LEQ(c->rcv_nxt, end) && SEQ_LT(end, c->rcv_nxt + wnd));
}

static void establish(struct tcp_conn *c, const struct tcp_view *t,
		      uint64_t now)
{
	c->state = TCP_ESTABLISHED;
	c->snd_una = t->ack;
	c->snd_wnd = t->win;
	c->snd_wl1 = t->seq;
	c->snd_wl2 = t->ack;
	if (c->rtt_active && !c->retries)
		rtt_sample(c, now - c->rtt_start);
	c->rtt_active = false;
	c->rexmt_at = 0;
	c->retries = 0;
	net_if.c.tcp_accepted++;
	if (c->ops->accept)
		c->ops->accept(c);
}

/* returns true when the FIN we sent is now acknowledged */
static bool ack_input(struct tcp_conn *c, const struct tcp_view *t,
		      uint64_t now, bool *freed_space)
{
	bool fin_acked = false;
	if (SEQ_GT(t->ack, c->snd_max)) { /* acks what was never sent */
		c->ack_now = true;
		return false;
	}
	if (SEQ_GT(t->ack, c->snd_una)) {
		uint32_t acked = t->ack - c->snd_una;
		size_t data = MIN((size_t)acked, c->tx_len);
		c->tx_head = (c->tx_head + data) & TX_MASK;
		c->tx_len -= data;
		if (c->fin_sent && t->ack == c->snd_max)
			fin_acked = true;
		c->snd_una = t->ack;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		if (c->rtt_active && SEQ_GT(t->ack, c->rtt_seq)) {
			rtt_sample(c, now - c->rtt_start);
			c->rtt_active = false;
		}
		c->retries = 0;
		c->dupacks = 0;
		/* RFC 5681 §3.1: slow start, then congestion avoidance */
		if (c->cwnd < c->ssthresh)
			c->cwnd += MIN(acked, (uint32_t)c->mss);
		else
			c->cwnd += MAX(1u, (uint32_t)c->mss * c->mss / c->cwnd);
		c->cwnd = MIN(c->cwnd, (uint32_t)TCP_TXBUF * 2);
		c->rexmt_at = c->snd_una == c->snd_max ? 0 : now + c->rto;
		*freed_space = data > 0;
	} else if (t->ack == c->snd_una && !t->len &&
		   !(t->flags & (TCP_SYN | TCP_FIN)) && t->win == c->snd_wnd &&
		   c->snd_wnd && !c->probing && c->snd_max != c->snd_una) {
		/* RFC 5681 §3.2: the third duplicate ACK resends one segment */
		if (++c->dupacks == 3 && c->tx_len) {
			uint32_t flight = c->snd_max - c->snd_una;
			c->ssthresh = MAX(flight / 2, 2u * c->mss);
			c->cwnd = c->ssthresh + 3u * c->mss;
			net_if.c.tcp_fast_retransmits++;
			seg_send(c, c->snd_una, TCP_ACK, 0,
				 MIN((size_t)c->mss, c->tx_len));
			c->rtt_active = false;
		}
	}
	/* RFC 9293 §3.10.7.4: window update from newer segments only */
	if (SEQ_LT(c->snd_wl1, t->seq) ||
	    (c->snd_wl1 == t->seq && SEQ_LEQ(c->snd_wl2, t->ack))) {
		if (t->win > c->snd_wnd)
			*freed_space = true;
		c->snd_wnd = t->win;
		c->snd_wl1 = t->seq;
		c->snd_wl2 = t->ack;
		if (c->snd_wnd)
			c->probing = false;
	}
	return fin_acked;
}

static void conn_input(struct tcp_conn *c, const struct tcp_view *t)
{
	uint64_t now = net_now_us();
	uint32_t seglen =
	    (uint32_t)t->len + !!(t->flags & TCP_SYN) + !!(t->flags & TCP_FIN);
	if (!seq_acceptable(c, t, seglen)) {
		if (!(t->flags & TCP_RST)) {
			c->ack_now = true;
			if (c->state == TCP_TIME_WAIT)
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
			c->ack_now = true;
		}
		return;
	}
	if (t->flags & TCP_SYN) { /* RFC 5961 §4.2: challenge ACK */
		c->ack_now = true;
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
	bool fin_acked = ack_input(c, t, now, &freed);
	if (fin_acked) {
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
	bool got = false;
	const uint8_t *data = t->data;
	size_t len = t->len;
	uint32_t seq = t->seq;
	bool take_data = c->state == TCP_ESTABLISHED ||
			 c->state == TCP_FIN_WAIT_1 ||
			 c->state == TCP_FIN_WAIT_2;
	if (SEQ_LT(seq, c->rcv_nxt)) { /* trim what we already have */
		uint32_t skip = c->rcv_nxt - seq;
		if (skip > len) {
			skip = (uint32_t)len;
		}
		data += skip;
		len -= skip;
		seq += skip;
	}
	bool fin = (t->flags & TCP_FIN) != 0;
	if (seq != c->rcv_nxt) {
		if (len || fin) {
			net_if.c.tcp_ooo_dropped++;
			c->ack_now = true;
		}
		len = 0;
		fin = false;
	}
	if (len && take_data && !c->peer_fin) {
		size_t n = MIN(len, (size_t)rcv_window(c));
		memcpy(c->rx + c->rx_len, data, n);
		c->rx_len += n;
		c->rcv_nxt += (uint32_t)n;
		c->ack_now = true;
		got = n > 0;
		if (n < len)
			fin = false; /* the FIN lies beyond what fit */
	} else if (len) {
		fin = false;
	}
	if (fin && !c->peer_fin) {
		c->peer_fin = true;
		c->rcv_nxt++;
		c->ack_now = true;
		got = true;
		if (c->state == TCP_ESTABLISHED || c->state == TCP_SYN_RCVD) {
			c->state = TCP_CLOSE_WAIT;
		} else if (c->state == TCP_FIN_WAIT_1) {
			c->state = c->snd_una == c->snd_max ? TCP_TIME_WAIT
							    : TCP_CLOSING;
			c->close_at = now + TCP_TIME_WAIT_US;
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

void tcp_input(const struct ipv4_view *ip)
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
		/* a retransmitted SYN: the SYN-ACK was lost */
		if (c->state == TCP_SYN_RCVD && (t.flags & TCP_SYN) &&
		    !(t.flags & TCP_ACK) && t.seq == c->irs) {
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
		net_if.c.tcp_retransmits++;
		seg_send(c, c->iss, TCP_SYN | TCP_ACK, 0, 0);
		c->rexmt_at = now + c->rto;
		return;
	}
	if (!can_send_data(c))
		return;
	c->rto = MIN(c->rto * 2, TCP_RTO_MAX_US);
	c->rtt_active = false; /* Karn: no samples from retransmissions */
	if (c->snd_wnd == 0 && c->tx_len) {
		/* zero window: probe with one byte; no give-up here, the
		 * application times out a peer that never reads */
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
	/* RFC 5681 §3.1 eq. 4; RFC 6298 §5.5-5.6: back off, go back */
	uint32_t flight = c->snd_max - c->snd_una;
	c->ssthresh = MAX(flight / 2, 2u * c->mss);
	c->cwnd = c->mss;
	c->snd_nxt = c->snd_una;
	c->dupacks = 0;
	net_if.c.tcp_retransmits++;
	tcp_output(c);
	if (!c->rexmt_at)
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
		if (c->rexmt_at && now >= c->rexmt_at)
			rexmt_fire(c, now);
	}
}
