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
/* ARP packets of our own a full ring refused (NIC_TX_FULL), kept for
 * arp_flush: a probe, an announcement and replies to two askers */
#define ARP_TXQ 4
/* the age past which a held packet is dropped, not sent, counted in
 * arp_tx_lost: RFC 1122 §2.3.2.1 has an asker retransmit at most once per
 * ARP_RETRY_US, so a reply older than that answers a request already
 * asked again (and may name a binding that since moved, RFC 826's merge
 * caching it); RFC 5227's probes and announcements keep their spacing
 * only when sent on time (PROBE_MIN 1 s, ANNOUNCE_INTERVAL 2 s) */
#define ARP_TXQ_AGE_US ARP_RETRY_US
/* RFC 5227 §1.1: announcements of an address just bound, and at most one
 * defensive announcement per DEFEND_INTERVAL (the RFC's values) */
#define ARP_ANNOUNCE_NUM	 2
#define ARP_ANNOUNCE_INTERVAL_US (2000ull * 1000)
#define ARP_DEFEND_INTERVAL_US	 (10000ull * 1000)

/* empty the cache and the queue (allocated on the first call) */
void arp_reset(void);
void arp_input(const struct eth_view *eth);
void arp_tick(uint64_t now);
/* send what a full ring left queued, oldest first (net_poll, after the
 * NIC reclaimed): our own ARP packets, then the frames for resolved
 * neighbours; a frame the ring still refuses stays queued (NIC_TX_FULL
 * sets net_if.tx_full) */
void arp_flush(void);
/* send the IPv4 packet at frame+ETH_HLEN (ip_len bytes) to next hop `hop`:
 * now when resolved, else queued behind a request. 0 sent or queued,
 * NIC_TX_FULL not sent for want of ring room (also while frames queued
 * for `hop` before it wait for room: it would pass them), -1 dropped */
int arp_output(uint8_t *frame, uint32_t hop, size_t ip_len);

/* RFC 5227 address conflict detection for an address not yet ours (the
 * interface is not configured while it runs). arp_acd_start watches `ip`:
 * from then until arp_acd_stop, any ARP packet from another MAC whose
 * sender address is `ip`, or an ARP probe (sender 0.0.0.0) from another
 * MAC for `ip`, is a conflict, counted in arp_conflicts. arp_acd_probe
 * sends one probe for it (RFC 5227 §2.1.1); arp_acd_conflict is true once
 * a conflict was seen and gives the MAC that claimed the address;
 * arp_acd_stop ends the watch and drops a probe for `ip` a full ring still
 * holds. */
void arp_acd_start(uint32_t ip);
void arp_acd_probe(void);
bool arp_acd_conflict(uint8_t mac[ETH_ALEN]);
void arp_acd_stop(void);
/* the interface's address was just bound: ARP_ANNOUNCE_NUM announcements
 * (RFC 5227 §2.3), the first now, ARP_ANNOUNCE_INTERVAL_US apart */
void arp_announce(void);
#endif
