/* tests/host/net/tcplink.h — a simulated link and a TCP client modelled on
 * Linux's, on the shim's virtual clock, for test_tcp_loss.c and
 * fuzz_tcp_seq.c.
 *
 * The link: a queue of frames each delivered at its time `at`: a
 * bottleneck of ns_per_byte, then LINK_DELAY_NS one way. A frame is lost at
 * random (loss_ppm of the TCP frames, xorshift64 seeded: every run is the
 * same run) or, when the link has a `fate` hook, as the hook says: lost,
 * duplicated, delayed (so later frames pass it: reordering) or corrupted
 * (a byte of its TCP segment flipped, the checksum left as it was: the
 * receiver must drop it).
 *
 * The client: it ACKs every second in-order segment (delayed ACK of
 * DELACK_NS otherwise, quick ACKs for the first QUICKACKS), at once while
 * out-of-order data is held or a hole fills, with up to four SACK blocks,
 * the latest first (RFC 2018 §4), and a D-SACK for a duplicate (RFC 2883).
 * What the fuzzer varies is in its fields (SACK, D-SACK, delayed ACK, the
 * MSS and window scale it offers, a receive buffer its application reads
 * from, a shrunk window); the defaults are the loss test's receiver. It
 * sends a stream of its own (a request, an upload) within the server's
 * window, resending from its oldest unacknowledged byte on a timeout. Every
 * byte received is kept at its stream offset, and a byte received again
 * must equal the one received first (tcplink_fail otherwise). */
#ifndef CAPOS_TCPLINK_H
#define CAPOS_TCPLINK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfake.h"

#define LINK_DELAY_NS	 150000ull /* one way */
#define LINK_NS_PER_BYTE 33ull	   /* ~30 MB/s */
#define DELACK_NS	 40000000ull
#define QUICKACKS	 16
#define LINK_MAXQ	 8192
#define CLIENT_MAXISL	 64
/* the client's retransmission timeout: first, and the most it backs off to */
#define CLIENT_RTO_NS	  300000000ull
#define CLIENT_RTO_MAX_NS 3000000000ull

struct pkt {
	uint64_t at;
	size_t len;
	uint8_t b[ETH_FRAME_MAX + 64];
};

/* what a fate hook decides for one frame */
#define LINK_DROP    1u
#define LINK_DUP     2u
#define LINK_CORRUPT 4u

struct link {
	struct pkt *q; /* LINK_MAXQ frames, a ring sorted by `at` */
	unsigned head, n;
	uint64_t free_at, ns_per_byte;
	unsigned loss_ppm, lost, sent, dups, corrupted;
	uint64_t rng;
	/* when set, decides each frame: LINK_* bits, *delay_ns extra delay */
	unsigned (*fate)(struct link *l, uint64_t *delay_ns);
	void *arg;
};

/* an empty link (its queue allocated once) */
void link_reset(struct link *l, uint64_t ns_per_byte, uint64_t seed);
void link_push(struct link *l, const void *b, size_t len, bool tcp);
/* the next frame due at `now`, NULL when none */
struct pkt *link_due(struct link *l, uint64_t now);
/* when the next frame is due; UINT64_MAX when the link is empty */
uint64_t link_next(const struct link *l);

struct client {
	uint16_t sport;
	uint32_t iss, irs, rcv_nxt, snd_nxt;
	uint32_t isl[CLIENT_MAXISL][2];
	uint64_t isl_stamp[CLIENT_MAXISL], stamp;
	unsigned nisl, pending, quick;
	uint64_t delack_at;
	bool dsack;
	uint32_t dsack_blk[2];
	bool synced, fin, done, rst;
	uint32_t fin_seq;
	uint8_t *buf;  /* the stream received, by offset from irs + 1 */
	uint8_t *seen; /* a bit per byte of buf: received before */
	size_t cap;
	struct link *up;
	/* what the client offers in its SYN: 0 no option */
	uint16_t mss;
	int8_t wscale; /* -1: none */
	bool no_sack, no_dsack, no_delack;
	/* RFC 7323 timestamps: offered in the SYN (ts), agreed (ts_on: the
	 * SYN-ACK had them too), the server's TSval echoed (TS.Recent, §4.3) */
	bool ts, ts_on;
	uint32_t ts_recent;
	/* receive buffer: 0 a fixed window field of 65535; else `unread`
	 * in-order bytes the application has not read take room in it, and
	 * `shrink` bytes less than the room left are advertised */
	uint32_t rbuf, unread, shrink;
	uint32_t adv_edge; /* the right edge last advertised */
	/* the server as the client last heard it */
	uint32_t srv_ack, srv_wnd;
	uint8_t srv_wscale;
	uint16_t srv_mss;
	/* the stream the client sends (from iss + 1), its FIN after it
	 * when fin_after */
	const uint8_t *tx;
	size_t tx_len;
	bool fin_after, fin_sent;
	uint32_t snd_una, snd_max;
	uint64_t rto_at, rto_ns;
};

/* a client on port sport over `up`, receiving up to cap bytes */
void client_init(struct client *c, uint16_t sport, struct link *up, size_t cap);
void client_free(struct client *c);
void client_send(struct client *c, uint8_t flags, const void *d, size_t len,
		 uint16_t mss);
void client_ack(struct client *c);
/* the SYN, and its timer */
void client_connect(struct client *c);
/* a frame from the server */
void client_input(struct client *c, const uint8_t *frame, size_t len);
/* send what the server's window allows of tx (and the FIN) */
void client_output(struct client *c);
/* the delayed ACK and the retransmission timer, when due */
void client_timers(struct client *c);
/* the application reads n bytes of what arrived in order */
void client_read(struct client *c, uint32_t n);
/* the client's next timer; UINT64_MAX when none */
uint64_t client_next(const struct client *c);
/* the window field the client sends now */
uint16_t client_window(const struct client *c);

/* a broken expectation: says what and aborts */
void tcplink_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
