/* kernel/net/arp.h — ARP (RFC 826, RFC 1122 §2.3.2): the neighbour cache
 * and the frames waiting for an answer. Above eth.c, below ip.c. */
#ifndef CAPOS_NET_ARP_H
#define CAPOS_NET_ARP_H
#include "kernel/net/net_internal.h"

#define ARP_MAX	     16
#define ARP_TTL_US   (600ull * 1000000) /* resolved entries, refreshed on use */
#define ARP_RETRY_US (1000ull * 1000)	/* RFC 1122 §2.3.2.1: <= 1/s */
#define ARP_TRIES    3
/* frames waiting for an ARP answer (RFC 1122 §2.3.2.2 asks for at least
 * one per destination; a burst of SYN-ACKs to a new peer needs more) */
#define ARP_PENDQ 32

/* empty the cache and the queue (allocated on the first call) */
void arp_reset(void);
void arp_input(const struct eth_view *eth);
void arp_tick(uint64_t now);
/* send the IPv4 packet at frame+ETH_HLEN (ip_len bytes) to next hop `hop`:
 * now when resolved, else queued behind a request. 0 sent or queued, -1
 * dropped */
int arp_output(uint8_t *frame, uint32_t hop, size_t ip_len);
#endif
