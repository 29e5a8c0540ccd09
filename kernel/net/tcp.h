/* kernel/net/tcp.h — TCP for a server (RFC 9293, RTO per RFC 6298,
 * congestion control RFC 5681 with NewReno fast recovery RFC 6582, or with
 * SACK (RFC 2018) a pipe and hole choice after RFC 6675, limited transmit
 * RFC 3042, tail loss probe RFC 8985 §7, window scaling RFC 7323, path MTU
 * RFC 1191, ACK/RST/SYN checks RFC 5961, timestamps RFC 7323: RTTM and
 * PAWS).
 *
 * Passive open only. A fixed table of TCP_MAX_CONN connections, each with a
 * linear receive buffer and a transmit ring allocated once at init. One
 * client address holds at most TCP_PER_PEER_MAX of them. When the table is
 * full a SYN takes the oldest TIME_WAIT slot, an old half-open or idle one,
 * or one of the address holding the most, or is refused with a RST
 * (tcp.c: conn_alloc). Out-of-order segments are kept in the receive buffer at
 * their place (at most TCP_OOO_RANGES ranges per connection, TCP_OOO_TOTAL
 * bytes in all; bytes already held win on overlap) and reported in SACK blocks
 * when the peer allowed SACK. Timestamps (RFC 7323) when the SYN offered
 * them and tcp.ts=1 (net_config.tcp_ts; off by default): TSopt on every segment
 * then, a 1 ms clock with a keyed offset per connection, RTT samples from TSecr
 * (RTTM, §4) and old segments dropped by PAWS (§5).
 *
 * The application (httpd.c) sees a connection through callbacks and a few
 * calls: read what arrived (tcp_rx_data / tcp_rx_consume), queue bytes
 * (tcp_write, bounded by tcp_tx_space), close or abort.
 *
 * Above ip.c: tcp_init registers TCP's input and its ICMP "fragmentation
 * needed" handler with ip_register. */
#ifndef CAPOS_TCP_H
#define CAPOS_TCP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_MAX_CONN	  80
#define TCP_RXBUF	  65536	 /* receive window never exceeds this */
#define TCP_TXBUF	  131072 /* power of two */
#define TCP_RCV_WSCALE	  1	 /* our shift: TCP_RXBUF fits 65535 << 1 */
#define TCP_OOO_RANGES	  8	 /* out-of-order ranges held per connection */
#define TCP_OOO_TOTAL	  (1024 * 1024) /* out-of-order bytes, all conns */
#define TCP_MSS_DEFAULT	  536 /* RFC 9293 §3.7.1 when no MSS option */
#define TCP_MSS_MIN	  64  /* a smaller peer MSS is raised to this */
#define TCP_DUPTHRESH_MAX 127 /* reordering tolerance grows to this */
#define TCP_SACK_RANGES	  8   /* SACK scoreboard ranges per connection */
/* SACK blocks beside a timestamps option: 40 - 12 bytes hold 3 */
#define TCP_SACK_MAX_TS 3
#define TCP_TSOPT_LEN	12 /* NOP, NOP, kind 8, length 10 */
/* RFC 7323 §5.5: TS.Recent is no longer valid after this long idle (24
 * days; a 1 ms TSval clock wraps its sign bit in 24.8) */
#define TCP_PAWS_IDLE_US	(24ull * 24 * 3600 * 1000000)
#define TCP_CHALLENGE_ACK_LIMIT 100 /* a second on average, RFC 5961 §7 */
/* one ACK per connection this often for bare ACKs and SYNs outside the
 * window and ACKs of unsent data, one SYN-ACK for a repeated SYN (Linux's
 * tcp_invalid_ratelimit default, 500 ms) */
#define TCP_OOW_ACK_INTERVAL_US (500ull * 1000)
#define TCP_PMTU_MIN		552 /* a smaller reported MTU is raised to this */
#define TCP_DUPTHRESH		3   /* RFC 5681 §3.2, RFC 6675 §2 */
#define TCP_TLP_MIN_US		(2ull * 1000) /* PTO floor: twice the 1 ms tick */
#define TCP_RTO_INIT_US		(1000ull * 1000) /* RFC 6298 §2.1 */
/* RFC 6298 §5.7: after a SYN(-ACK) timeout, data starts with this RTO */
#define TCP_RTO_SYN_TIMEOUT_US (3000ull * 1000)
#define TCP_RTO_MIN_US	       (200ull * 1000) /* below RFC 6298's 1 s, as Linux */
#define TCP_RTO_MAX_US	       (60ull * 1000000) /* RFC 6298 §2.5 */
/* resends of data or a FIN, and zero-window probes in a row with no ACK,
 * before the connection is reset: from TCP_RTO_MIN_US backed off, 102 s,
 * RFC 1122 §4.2.3.5's R2 of at least 100 s */
#define TCP_MAX_RETRIES	  8
#define TCP_SYN_RETRIES	  4 /* SYN-ACK: then the half-open slot is freed */
#define TCP_TIME_WAIT_US  (30ull * 1000000) /* 2*MSL, shortened */
#define TCP_FIN_WAIT2_US  (60ull * 1000000)
#define TCP_IDLE_EVICT_US (1000ull * 1000) /* idle at least this long */
/* connections one peer address may hold (TIME_WAIT not counted): a fifth
 * of the table, so one host cannot take it whole; a browser opens 6 a
 * host name, so a few behind one NAT address fit */
#define TCP_PER_PEER_MAX 16

enum tcp_state {
	TCP_CLOSED,
	TCP_SYN_RCVD,
	TCP_ESTABLISHED,
	TCP_CLOSE_WAIT,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

struct tcp_conn;

struct tcp_ops {
	/* the handshake completed */
	void (*accept)(struct tcp_conn *c);
	/* new data in the receive buffer, or the peer's FIN (tcp_peer_closed)
	 */
	void (*recv)(struct tcp_conn *c);
	/* acknowledged data freed transmit space */
	void (*sent)(struct tcp_conn *c);
	/* the connection is gone (reset, timed out, or fully closed); the
	 * application must forget c, which will be reused */
	void (*closed)(struct tcp_conn *c);
};

struct tcp_conn {
	enum tcp_state state;
	uint16_t lport, rport;
	uint32_t rip;
	const struct tcp_ops *ops;
	unsigned index; /* position in the table: applications key on it */
	/* send sequence space (RFC 9293 §3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
	uint32_t snd_wnd, max_snd_wnd;
	uint16_t mss;
	uint8_t snd_shift, rcv_shift; /* RFC 7323 window scale, 0: none */
	bool sack_ok;		      /* the peer sent SACK-permitted */
	/* RFC 7323 timestamps, on when the SYN had TSopt and tcp.ts=1:
	 * TSval is the 1 ms clock plus ts_off; ts_recent (TS.Recent) is the
	 * peer's TSval echoed, stored at ts_recent_at; last_ack_sent is
	 * Last.ACK.sent (§4.3); a TSecr below ts_floor gives no RTT sample
	 * (the connection's start, then the latest retransmission timeout) */
	bool ts_ok;
	uint32_t ts_off, ts_recent, last_ack_sent, ts_floor;
	uint64_t ts_recent_at;
	uint32_t cwnd, ssthresh;
	uint64_t last_data_tx; /* RFC 5681 §4.1's idle test: data last sent */
	uint32_t ca_acked; /* bytes acknowledged toward the next cwnd step */
	unsigned dupacks;
	/* loss recovery (RFC 6582 with SACK): recover is the highest sequence
	 * sent when recovery began; rxt_next is where the next hole search
	 * starts; rxt_mark the snd_max when this round of retransmissions
	 * began (data sent after it being SACKed while a hole below remains
	 * means a retransmission was lost, RFC 8985's idea); rxt_high is one
	 * past the highest byte sent more than once (Karn: an ACK from below
	 * it covers a resend), never below snd_una */
	bool in_recovery;
	uint32_t recover, rxt_next, rxt_mark, rxt_high;
	/* RFC 3708 / RFC 4015-style undo: when D-SACKs show that every
	 * resend of a recovery was a duplicate, the recovery was reordering:
	 * cwnd and ssthresh come back and dupthresh doubles */
	uint8_t dupthresh;
	bool undo_ok;
	unsigned undo_retrans;
	uint32_t undo_marker, prior_cwnd, prior_ssthresh;
	/* the SACK scoreboard, sorted, within (snd_una, snd_max] */
	uint8_t nsacked;
	uint32_t sacked[TCP_SACK_RANGES][2];
	uint32_t sack_high;
	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge advertised */
	/* out-of-order data, at rx + rx_len + (seq - rcv_nxt): sorted,
	 * disjoint [start, end) ranges above rcv_nxt; ooo_last is the range
	 * that took the latest segment (the first SACK block, RFC 2018 §4) */
	uint8_t nooo;
	uint32_t ooo[TCP_OOO_RANGES][2];
	uint32_t ooo_last;
	bool fin_pending; /* a FIN seen beyond a hole, at fin_seq */
	uint32_t fin_seq;
	/* RFC 6298 state, in microseconds */
	uint64_t srtt, rttvar, rto;
	bool rtt_active;
	uint32_t rtt_seq;
	uint64_t rtt_start;
	uint64_t rexmt_at; /* 0: timer off */
	/* tail loss probe (RFC 8985 §7): one probe per flight, before the
	 * RTO, so a loss in the last segments is found by SACK, not a
	 * timeout */
	uint64_t tlp_at;
	bool tlp_done;
	unsigned retries;
	/* zero-window probes sent since the peer's last ACK (ack_input
	 * clears it): past TCP_MAX_RETRIES the peer is taken for gone */
	unsigned probes;
	uint64_t close_at; /* TIME_WAIT / FIN_WAIT_2 deadline */
	bool ack_now, fin_queued, fin_sent, peer_fin, probing;
	/* the next ACK that ack_rate_limited allows may go at this time */
	uint64_t oow_ack_next;
	uint64_t created, last_rx;
	/* receive buffer: bytes [0, rx_len) are in order and unread */
	uint8_t *rx;
	size_t rx_len;
	/* transmit ring: tx_len bytes starting at tx_head, the first one at
	 * sequence snd_una (acknowledged bytes are dropped at once) */
	uint8_t *tx;
	size_t tx_head, tx_len;
	bool flush;
	/* set by the application: nothing in progress, the slot may be taken
	 * for a new connection when the table is full */
	bool idle;
};

int tcp_listen(uint16_t port, const struct tcp_ops *ops);
const uint8_t *tcp_rx_data(struct tcp_conn *c, size_t *len);
void tcp_rx_consume(struct tcp_conn *c, size_t n);
size_t tcp_tx_space(const struct tcp_conn *c);
/* queues up to len bytes (fewer when the ring is full); returns how many */
size_t tcp_write(struct tcp_conn *c, const void *data, size_t len);
/* tcp_write of len bytes that fill writes straight into the ring (a
 * generated body, no copy): fill(off, dst, n) writes the n bytes of its
 * stream from off, the first call's off being the one given here */
size_t tcp_write_fill(struct tcp_conn *c, size_t len,
		      void (*fill)(uint64_t off, uint8_t *dst, size_t n),
		      uint64_t off);
size_t tcp_tx_pending(const struct tcp_conn *c);
/* FIN after the queued data */
void tcp_close(struct tcp_conn *c);
/* RST now; ops->closed is not called for an application-initiated abort */
void tcp_abort(struct tcp_conn *c);
bool tcp_peer_closed(const struct tcp_conn *c);
const char *tcp_state_name(enum tcp_state s);
struct tcp_conn *tcp_conn_at(unsigned i);
/* connections in use all have an index below this */
unsigned tcp_conn_span(void);
void tcp_usage(unsigned *active, unsigned *max);
/* NULL when the table's invariants hold, else the broken one (tests) */
const char *tcp_check(void);

/* the stack (if.c): empty the table and register with ip.c; the timers;
 * push pending output */
void tcp_init(void);
#ifdef CAPOS_HOST
/* host tests: free the connection buffers, as if never allocated */
void tcp_host_drop_buffers(void);
#endif
void tcp_tick(uint64_t now);
void tcp_flush(void);
#endif
