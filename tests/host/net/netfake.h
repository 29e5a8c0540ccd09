/* tests/host/net/netfake.h — a loopback fake NIC and a scripted peer for the
 * capOS IP stack: the test plays the other host (10.0.2.2, QEMU's gateway)
 * by building frames, handing them to the stack and reading back what the
 * stack transmitted. Time is the shim's virtual clock. */
#ifndef CAPOS_NETFAKE_H
#define CAPOS_NETFAKE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/net/net.h"
#include "kernel/net/net_wire.h"
#include "netframe.h"

#define FAKE_MAXQ 8192

struct frame {
	size_t len;
	uint8_t b[ETH_FRAME_MAX + 64];
};

struct fake_nic {
	struct nic nic;
	/* frames the stack sent, oldest first */
	struct frame *tx;
	unsigned ntx, txr;
	/* frames waiting for nic->recv */
	struct frame *rx;
	unsigned nrx, rxr;
	bool drop_tx; /* lose everything the stack sends */
	/* frames the transmit ring still takes before send answers
	 * NIC_TX_FULL (nothing taken); negative: no limit */
	int tx_room;
	/* sends still refused with -1 (a device error, not a full ring) */
	unsigned tx_err;
};
extern struct fake_nic fake;

/* bring the stack up on the fake NIC: static 10.0.2.15/24 (or DHCP), the
 * peer's ARP entry learnt, the transmit log empty */
void fake_setup(bool dhcp);
void fake_teardown(void);
/* the cmocka fixture pair over them: a quiet stack with the static
 * configuration (fake_setup(false)), torn down after the test */
int fake_cm_setup(void **state);
int fake_cm_teardown(void **state);
/* a fuzzer's first input: the stack up (static address), quiet; true
 * only that first time, for set-up of the fuzzer's own */
bool fake_setup_once(void);
/* next frame the stack sent, NULL when none */
const struct frame *fake_pop(void);
void fake_clear(void);
/* the next TCP segment the stack sent (other frames are passed over);
 * false when none is left */
bool fake_pop_tcp(struct tcp_view *t);
/* time passes; the stack polls */
void advance_us(uint64_t us);

/* a frame from the peer: the stack takes it in and polls */
void inject(const void *f, size_t len);
/* a scripted TCP client */
struct peer {
	uint32_t ip; /* its address: PEER_IP unless set after peer_init */
	uint16_t sport, dport;
	uint32_t iss, snd_nxt, rcv_nxt;
	uint16_t win;
	bool established, got_fin, got_rst, auto_ack;
	uint16_t peer_mss;
	uint8_t *rx; /* in-order bytes received */
	size_t rx_len, rx_cap;
	unsigned segs, dup_segs;
};
void peer_init(struct peer *p, uint16_t sport);
void peer_free(struct peer *p);
bool peer_connect(struct peer *p);
void peer_send(struct peer *p, uint8_t flags, const void *data, size_t len);
void peer_ack(struct peer *p);
/* consume every transmitted frame, route TCP ones to the peers in ps[] */
void peers_pump(struct peer **ps, unsigned n);
void peer_pump(struct peer *p);
/* one HTTP response parsed from the front of p->rx; removes it. status, or
 * 0 when not complete */
int peer_http_response(struct peer *p, char *hdr, size_t hcap, char *body,
		       size_t bcap, size_t *body_len);
/* one response, its header and (truncated) body, in buffers of its own */
struct peer_resp {
	char hdr[1024], body[1024];
	size_t blen; /* the Content-Length */
};
/* peer_http_response into r; the status, 0 when not complete */
int peer_take_response(struct peer *p, struct peer_resp *r);
/* peer_http_response after each pump, step_us of time between tries, at
 * most tries times; the status, 0 when none came */
int peer_await_response(struct peer *p, unsigned tries, uint64_t step_us,
			char *hdr, size_t hcap, char *body, size_t bcap,
			size_t *body_len);
/* the peer resets the connection and forgets it */
void peer_abort(struct peer *p);
#endif
