/* tests/host/net/tcplink.c — see tcplink.h */
#include "tcplink.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/tcp.h"
#include "shim.h"

#define SEQ_LT(a, b)  ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

void tcplink_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "tcplink: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static uint64_t xrand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

void link_reset(struct link *l, uint64_t ns_per_byte, uint64_t seed)
{
	struct pkt *q = l->q ? l->q : calloc(LINK_MAXQ, sizeof(struct pkt));
	memset(l, 0, sizeof(*l));
	l->q = q;
	l->ns_per_byte = ns_per_byte;
	l->rng = seed;
}

/* into the ring at its time: a delayed frame lets later ones pass */
static void link_queue(struct link *l, const void *b, size_t len, uint64_t at)
{
	if (l->n == LINK_MAXQ)
		tcplink_fail("link queue full");
	unsigned i = l->n++;
	while (i && l->q[(l->head + i - 1) % LINK_MAXQ].at > at) {
		l->q[(l->head + i) % LINK_MAXQ] =
		    l->q[(l->head + i - 1) % LINK_MAXQ];
		i--;
	}
	struct pkt *p = &l->q[(l->head + i) % LINK_MAXQ];
	p->at = at;
	p->len = len;
	memcpy(p->b, b, len);
}

/* a byte of the TCP segment flipped: header or data, never the padding */
static void corrupt(struct link *l, struct pkt *p)
{
	if (p->len < ETH_HLEN + 20)
		return;
	const uint8_t *ip = p->b + ETH_HLEN;
	size_t ihl = (ip[0] & 15u) * 4u, tot = rd16(ip + 2);
	if (tot <= ihl || ETH_HLEN + tot > p->len)
		return;
	size_t k = ETH_HLEN + ihl + xrand(&l->rng) % (tot - ihl);
	p->b[k] ^= (uint8_t)(1u + xrand(&l->rng) % 255u);
	l->corrupted++;
}

void link_push(struct link *l, const void *b, size_t len, bool tcp)
{
	uint64_t now = shim_clock_ns, delay = 0;
	unsigned f = 0;
	l->sent++;
	if (l->fate)
		f = l->fate(l, &delay);
	else if (tcp && xrand(&l->rng) % 1000000 < l->loss_ppm)
		f = LINK_DROP;
	if (!tcp)
		f = 0; /* ARP: the link layer's own, never lost */
	if (f & LINK_DROP) {
		l->lost++;
		return;
	}
	uint64_t start = l->free_at > now ? l->free_at : now;
	l->free_at = start + len * l->ns_per_byte;
	link_queue(l, b, len, l->free_at + LINK_DELAY_NS + delay);
	if (f & LINK_CORRUPT) {
		/* the copy just queued: find it by its time */
		uint64_t at = l->free_at + LINK_DELAY_NS + delay;
		for (unsigned i = l->n; i-- > 0;) {
			struct pkt *p = &l->q[(l->head + i) % LINK_MAXQ];
			if (p->at == at && p->len == len &&
			    !memcmp(p->b, b, len)) {
				corrupt(l, p);
				break;
			}
		}
	}
	if (f & LINK_DUP) {
		l->dups++;
		link_queue(l, b, len, l->free_at + LINK_DELAY_NS + delay + 1);
	}
}

struct pkt *link_due(struct link *l, uint64_t now)
{
	if (!l->n || l->q[l->head].at > now)
		return NULL;
	struct pkt *p = &l->q[l->head];
	l->head = (l->head + 1) % LINK_MAXQ;
	l->n--;
	return p;
}

uint64_t link_next(const struct link *l)
{
	return l->n ? l->q[l->head].at : UINT64_MAX;
}

/* ---- the client -----------------------------------------------------------
 */

void client_init(struct client *c, uint16_t sport, struct link *up, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->sport = sport;
	c->iss = 77000u * sport;
	c->snd_nxt = c->snd_una = c->snd_max = c->iss;
	c->quick = QUICKACKS;
	c->up = up;
	c->mss = 1460;
	c->wscale = 7;
	c->cap = cap;
	c->buf = calloc(1, cap);
	c->seen = calloc(1, cap / 8 + 1);
	c->rto_ns = CLIENT_RTO_NS;
}

void client_free(struct client *c)
{
	free(c->buf);
	free(c->seen);
	c->buf = c->seen = NULL;
}

uint16_t client_window(const struct client *c)
{
	if (!c->rbuf)
		return 65535;
	uint32_t room = c->rbuf > c->unread ? c->rbuf - c->unread : 0;
	room = room > c->shrink ? room - c->shrink : 0;
	if (c->synced && c->wscale > 0)
		room >>= c->wscale;
	return (uint16_t)(room > 65535 ? 65535 : room);
}

/* one segment at seq; a pure ACK goes at snd_max, as Linux's at snd_nxt
 * (its resends never move it back) */
static void client_send_at(struct client *c, uint32_t seq, uint8_t flags,
			   const void *d, size_t len, uint16_t mss)
{
	uint8_t o[40];
	size_t ol = 0;
	/* TSopt first (NOP, NOP, kind 8, 10), its clock 1 ms */
	if (c->ts && ((flags & TCP_SYN) || c->ts_on)) {
		o[ol++] = TCP_OPT_NOP;
		o[ol++] = TCP_OPT_NOP;
		o[ol++] = TCP_OPT_TS;
		o[ol++] = TCP_OPT_TS_LEN;
		wr32(o + ol, (uint32_t)(shim_clock_ns / 1000000) + 3000000000u);
		wr32(o + ol + 4, (flags & TCP_SYN) ? 0 : c->ts_recent);
		ol += 8;
	}
	if (flags & TCP_SYN) {
		if (c->wscale >= 0) {
			o[ol++] = TCP_OPT_NOP;
			o[ol++] = TCP_OPT_WSCALE;
			o[ol++] = 3;
			o[ol++] = (uint8_t)c->wscale;
		}
		if (!c->no_sack) {
			o[ol++] = TCP_OPT_NOP;
			o[ol++] = TCP_OPT_NOP;
			o[ol++] = TCP_OPT_SACK_PERM;
			o[ol++] = 2;
		}
	} else if (!c->no_sack) {
		/* D-SACK first, then islands, latest first, at most 4 (3
		 * beside TSopt) */
		uint32_t blk[4][2];
		unsigned nb = 0, nmax = c->ts_on ? 3 : 4;
		if (c->dsack) {
			blk[nb][0] = c->dsack_blk[0];
			blk[nb][1] = c->dsack_blk[1];
			nb++;
			c->dsack = false;
		}
		bool used[CLIENT_MAXISL] = {0};
		while (nb < nmax) {
			int best = -1;
			for (unsigned i = 0; i < c->nisl; i++)
				if (!used[i] &&
				    (best < 0 ||
				     c->isl_stamp[i] > c->isl_stamp[best]))
					best = (int)i;
			if (best < 0)
				break;
			used[best] = true;
			blk[nb][0] = c->isl[best][0];
			blk[nb][1] = c->isl[best][1];
			nb++;
		}
		if (nb) {
			o[ol] = TCP_OPT_NOP;
			o[ol + 1] = TCP_OPT_NOP;
			o[ol + 2] = TCP_OPT_SACK;
			o[ol + 3] = (uint8_t)(2 + 8 * nb);
			for (unsigned i = 0; i < nb; i++) {
				wr32(o + ol + 4 + 8 * i, blk[i][0]);
				wr32(o + ol + 8 + 8 * i, blk[i][1]);
			}
			ol += 4 + 8 * nb;
		}
	}
	memcpy(fake_tcp_opts, o, ol);
	fake_tcp_optlen = ol;
	uint16_t win = client_window(c);
	if (flags & TCP_ACK)
		c->adv_edge = c->rcv_nxt +
			      ((uint32_t)win
			       << (c->wscale > 0 && c->synced ? c->wscale : 0));
	uint8_t f[ETH_FRAME_MAX + 64];
	size_t n =
	    build_tcp(f, c->sport, 80, seq, (flags & TCP_ACK) ? c->rcv_nxt : 0,
		      flags, win, d, len, mss);
	fake_tcp_optlen = 0;
	link_push(c->up, f, n, true);
}

void client_send(struct client *c, uint8_t flags, const void *d, size_t len,
		 uint16_t mss)
{
	client_send_at(c, c->snd_nxt, flags, d, len, mss);
	c->snd_nxt += (uint32_t)len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
	if (SEQ_GT(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
}

void client_ack(struct client *c)
{
	c->pending = 0;
	c->delack_at = 0;
	client_send_at(c, c->snd_max, TCP_ACK, NULL, 0, 0);
}

void client_connect(struct client *c)
{
	c->snd_nxt = c->iss;
	client_send(c, TCP_SYN, NULL, 0, c->mss);
	c->rto_at = shim_clock_ns + c->rto_ns;
}

static void isl_add(struct client *c, uint32_t s, uint32_t e)
{
	/* merge every island touching [s, e) into one */
	for (unsigned i = 0; i < c->nisl;) {
		if (SEQ_LEQ(c->isl[i][0], e) && SEQ_LEQ(s, c->isl[i][1])) {
			if (SEQ_LT(c->isl[i][0], s))
				s = c->isl[i][0];
			if (SEQ_LT(e, c->isl[i][1]))
				e = c->isl[i][1];
			c->isl[i][0] = c->isl[c->nisl - 1][0];
			c->isl[i][1] = c->isl[c->nisl - 1][1];
			c->isl_stamp[i] = c->isl_stamp[c->nisl - 1];
			c->nisl--;
		} else {
			i++;
		}
	}
	if (c->nisl == CLIENT_MAXISL)
		tcplink_fail("client: more than %u islands", CLIENT_MAXISL);
	c->isl[c->nisl][0] = s;
	c->isl[c->nisl][1] = e;
	c->isl_stamp[c->nisl] = ++c->stamp;
	c->nisl++;
}

static bool isl_holds(const struct client *c, uint32_t s, uint32_t e)
{
	for (unsigned i = 0; i < c->nisl; i++)
		if (SEQ_LEQ(c->isl[i][0], s) && SEQ_LEQ(e, c->isl[i][1]))
			return true;
	return false;
}

/* every byte at its stream offset; one received again equals the first */
static void client_keep(struct client *c, uint32_t seq, const uint8_t *d,
			size_t len)
{
	size_t off = seq - (c->irs + 1);
	if (off > c->cap || len > c->cap - off)
		tcplink_fail("client: bytes [%zu, %zu) beyond the stream's %zu",
			     off, off + len, c->cap);
	for (size_t i = 0; i < len; i++) {
		size_t k = off + i;
		uint8_t bit = (uint8_t)(1u << (k & 7));
		if (c->seen[k / 8] & bit) {
			if (c->buf[k] != d[i])
				tcplink_fail("client: byte %zu sent again as "
					     "%02x, first as %02x",
					     k, d[i], c->buf[k]);
			continue;
		}
		c->seen[k / 8] |= bit;
		c->buf[k] = d[i];
	}
}

/* the server's ACK and window */
static void client_acked(struct client *c, const struct tcp_view *t)
{
	if (!(t->flags & TCP_ACK) || SEQ_GT(t->ack, c->snd_max) ||
	    SEQ_LT(t->ack, c->snd_una))
		return;
	c->srv_ack = t->ack;
	c->srv_wnd = (uint32_t)t->win << c->srv_wscale;
	if (SEQ_GT(t->ack, c->snd_una)) {
		c->snd_una = t->ack;
		c->rto_ns = CLIENT_RTO_NS;
		c->rto_at = 0;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
	}
}

void client_input(struct client *c, const uint8_t *frame, size_t len)
{
	struct eth_view e;
	struct ipv4_view ip;
	struct tcp_view t;
	if (eth_parse(frame, len, &e) || ipv4_parse(e.payload, e.len, &ip) ||
	    ip.proto != IP_PROTO_TCP || tcp_parse(&ip, &t) ||
	    t.dport != c->sport)
		return;
	if (t.flags & TCP_RST) {
		c->rst = true; /* the client forgets the connection */
		c->rto_at = c->delack_at = 0;
		return;
	}
	if ((t.flags & TCP_SYN) && (t.flags & TCP_ACK)) {
		if (!c->synced) {
			if (t.ack != c->iss + 1)
				return;
			c->synced = true;
			c->irs = t.seq;
			c->rcv_nxt = t.seq + 1;
			c->srv_mss = t.mss;
			c->ts_on = c->ts && t.ts;
			if (c->ts_on)
				c->ts_recent = t.tsval;
			c->srv_wscale = c->wscale >= 0 && t.wscale >= 0
					    ? (uint8_t)t.wscale
					    : 0;
			c->snd_una = c->iss + 1;
			c->rto_at = 0;
			c->rto_ns = CLIENT_RTO_NS;
			client_acked(c, &t);
			/* the first data segment carries the ACK; with no
			 * stream of its own the caller sends one */
			uint32_t nxt = c->snd_max;
			client_output(c);
			if (c->tx && c->snd_max == nxt)
				client_ack(c);
			return;
		}
		client_ack(c); /* our ACK of it was lost */
		return;
	}
	if (!c->synced)
		return;
	/* RFC 7323 §4.3: TS.Recent from a segment at or below the ACK sent */
	if (c->ts_on && t.ts && SEQ_GEQ(t.tsval, c->ts_recent) &&
	    SEQ_LEQ(t.seq, c->rcv_nxt))
		c->ts_recent = t.tsval;
	client_acked(c, &t);
	uint32_t s = t.seq, end = t.seq + (uint32_t)t.len;
	if (t.len)
		client_keep(c, s, t.data, t.len);
	bool now = false;
	/* the receive buffer: a segment that does not fit is dropped and
	 * answered (a zero-window probe among them) */
	if (c->rbuf && (t.len || (t.flags & TCP_FIN)) &&
	    SEQ_GT(end, c->rcv_nxt +
			    (c->rbuf > c->unread ? c->rbuf - c->unread : 0))) {
		client_ack(c);
		client_output(c);
		return;
	}
	if (t.flags & TCP_FIN) {
		c->fin = true;
		c->fin_seq = end;
	}
	if (t.len && SEQ_LEQ(end, c->rcv_nxt)) {
		/* all of it arrived before */
		c->dsack = !c->no_dsack;
		c->dsack_blk[0] = s;
		c->dsack_blk[1] = end;
		now = true;
	} else if (t.len && SEQ_LEQ(s, c->rcv_nxt)) {
		bool had = c->nisl;
		uint32_t before = c->rcv_nxt;
		c->rcv_nxt = end;
		for (bool moved = true; moved;) {
			moved = false;
			for (unsigned i = 0; i < c->nisl; i++) {
				if (SEQ_LEQ(c->isl[i][0], c->rcv_nxt)) {
					if (SEQ_LT(c->rcv_nxt, c->isl[i][1]))
						c->rcv_nxt = c->isl[i][1];
					c->isl[i][0] = c->isl[c->nisl - 1][0];
					c->isl[i][1] = c->isl[c->nisl - 1][1];
					c->isl_stamp[i] =
					    c->isl_stamp[c->nisl - 1];
					c->nisl--;
					moved = true;
					break;
				}
			}
		}
		c->unread += c->rcv_nxt - before;
		now = had || c->nisl;
	} else if (t.len) {
		if (isl_holds(c, s, end)) {
			c->dsack = !c->no_dsack;
			c->dsack_blk[0] = s;
			c->dsack_blk[1] = end;
		} else {
			isl_add(c, s, end);
		}
		now = true;
	}
	if (c->fin && !c->done && c->rcv_nxt == c->fin_seq) {
		c->rcv_nxt++;
		c->done = true;
		c->up->loss_ppm = 0; /* the last ACK arrives: no FIN resent */
		now = true;
	} else if (c->done && (t.flags & TCP_FIN)) {
		now = true; /* the FIN again: our ACK was lost */
	}
	if (!t.len && !(t.flags & TCP_FIN)) {
		client_output(c);
		return;
	}
	if (c->quick) {
		c->quick--;
		now = true;
	}
	if (now || c->no_delack || ++c->pending >= 2)
		client_ack(c);
	else if (!c->delack_at)
		c->delack_at = shim_clock_ns + DELACK_NS;
	client_output(c);
}

void client_output(struct client *c)
{
	if (!c->synced || c->rst || (!c->tx && !c->fin_after))
		return;
	uint32_t start = c->iss + 1, data_end = start + (uint32_t)c->tx_len;
	uint32_t edge = c->srv_ack + c->srv_wnd;
	size_t smss = c->srv_mss ? c->srv_mss : TCP_MSS_DEFAULT;
	while (SEQ_LT(c->snd_nxt, data_end)) {
		size_t off = c->snd_nxt - start;
		size_t n = c->tx_len - off < smss ? c->tx_len - off : smss;
		if (SEQ_GT(c->snd_nxt + (uint32_t)n, edge))
			n = SEQ_GT(edge, c->snd_nxt) ? edge - c->snd_nxt : 0;
		if (!n)
			break;
		client_send(c, TCP_ACK | TCP_PSH, c->tx + off, n, 0);
		c->pending = 0;
		c->delack_at = 0;
	}
	if (c->fin_after && c->snd_nxt == data_end) {
		client_send(c, TCP_ACK | TCP_FIN, NULL, 0, 0);
		c->fin_sent = true;
	}
	/* data or a FIN outstanding, or data held back by a closed window
	 * (the persist timer) */
	bool waiting = c->snd_una != c->snd_max || SEQ_LT(c->snd_nxt, data_end);
	if (waiting && !c->rto_at)
		c->rto_at = shim_clock_ns + c->rto_ns;
	else if (!waiting)
		c->rto_at = 0;
}

void client_timers(struct client *c)
{
	uint64_t now = shim_clock_ns;
	if (c->rst)
		return;
	if (c->delack_at && now >= c->delack_at)
		client_ack(c);
	if (!c->rto_at || now < c->rto_at)
		return;
	c->rto_at = 0;
	c->rto_ns = c->rto_ns * 2 > CLIENT_RTO_MAX_NS ? CLIENT_RTO_MAX_NS
						      : c->rto_ns * 2;
	if (!c->synced) {
		client_connect(c);
		return;
	}
	uint32_t data_end = c->iss + 1 + (uint32_t)c->tx_len;
	c->snd_nxt = c->snd_una; /* go back */
	if (c->srv_wnd == 0 && SEQ_LT(c->snd_una, data_end)) {
		/* a zero-window probe: one byte past the edge */
		client_send(c, TCP_ACK, c->tx + (c->snd_una - (c->iss + 1)), 1,
			    0);
		c->rto_at = now + c->rto_ns;
		return;
	}
	client_output(c);
	if (!c->rto_at && c->snd_una != c->snd_max)
		c->rto_at = now + c->rto_ns;
}

void client_read(struct client *c, uint32_t n)
{
	if (!c->rbuf)
		return;
	uint32_t before = c->adv_edge;
	c->unread -= n < c->unread ? n : c->unread;
	uint32_t ws = c->wscale > 0 ? (uint32_t)c->wscale : 0;
	uint32_t edge = c->rcv_nxt + ((uint32_t)client_window(c) << ws);
	uint32_t step = c->srv_mss ? c->srv_mss : TCP_MSS_DEFAULT;
	if (step > c->rbuf / 2)
		step = c->rbuf / 2;
	/* a window update once the edge moved by enough (RFC 9293
	 * §3.8.6.2.2) */
	if (c->synced && SEQ_GT(edge, before) && edge - before >= step)
		client_ack(c);
}

uint64_t client_next(const struct client *c)
{
	uint64_t n = UINT64_MAX;
	if (c->delack_at)
		n = c->delack_at;
	if (c->rto_at && c->rto_at < n)
		n = c->rto_at;
	return n;
}
