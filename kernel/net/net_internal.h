/* kernel/net/net_internal.h — the bottom of the stack's own files: the
 * interface state every layer reads (address, configuration, buffers,
 * counters), the clock, the allocator and Ethernet output (eth.c). Each
 * layer has its own header above this one (arp.h, ipfrag.h, ip.h, dhcp.h,
 * tcp.h, httpd.h) and includes only what is below it; if.c is the top.
 * Not for drivers or other subsystems. */
#ifndef CAPOS_NET_INTERNAL_H
#define CAPOS_NET_INTERNAL_H
#include "kernel/net/net.h"
#include "kernel/net/net_wire.h"

#define IPV4_BROADCAST 0xffffffffu
/* headroom in a transmit frame before the transport header */
#define NET_TX_HDR  (ETH_HLEN + 20)
#define NET_TICK_US 1000
/* a NIC that has refused frames for want of ring room this long and taken
 * none is hung or hostile: net_poll stops reporting itself busy for it
 * (Linux's dev_watchdog and its default watchdog_timeo, 5 s) */
#define NET_TX_STALL_US (5000ull * 1000)

struct net_if {
	struct nic *nic;
	struct net_config cfg;
	bool configured;
	uint32_t ip, mask, gw;
	const char *source;
	uint32_t lease_s;
	uint16_t ip_id;
	uint64_t last_tick;
	/* a send found the NIC's ring full during this net_poll: TCP holds
	 * the segment, and the main loop polls again instead of halting */
	bool tx_full;
	/* eth_send: the NIC refused a frame for want of ring room at
	 * tx_refused_at and has taken none since; net_poll said so after
	 * NET_TX_STALL_US (tx_stalled) and no longer reports busy for it */
	bool tx_refused, tx_stalled;
	uint64_t tx_refused_at;
	/* arp.c: defences against another MAC than the last defence's, of
	 * the stack (an address lost and bound again keeps the count) */
	uint64_t arp_claimants;
	uint8_t rx[ETH_FRAME_MAX + 64];
	uint8_t tx[ETH_FRAME_MAX + 64];
	struct net_counters c;
};
extern struct net_if net_if;
extern const uint8_t eth_bcast[ETH_ALEN];

uint64_t net_now_us(void);
/* memory that lives as long as the kernel (host: calloc, kept for reuse) */
void *net_alloc(size_t len);
#ifdef CAPOS_HOST
/* host tests: net_alloc calls made, and the one (counted from 1) that
 * fails, 0 for none */
extern unsigned long net_host_allocs, net_host_alloc_fail;
#endif
/* fills the Ethernet header of `frame` (payload at frame+ETH_HLEN), pads
 * to ETH_MIN_FRAME and sends. 0 sent; else the NIC refused it (tx_fail):
 * NIC_TX_FULL when its ring was full (the caller may hold the frame and
 * send it again), -1 otherwise */
int eth_send(uint8_t *frame, const uint8_t *dst, uint16_t type,
	     size_t payload_len);
#endif
