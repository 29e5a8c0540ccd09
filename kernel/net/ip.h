/* kernel/net/ip.h — IPv4 (RFC 791, RFC 1122 §3.2), ICMP (RFC 792) and UDP
 * (RFC 768) on the one interface. Above arp.c and ipfrag.c; dhcp.c and
 * tcp.c sit on top and register their input here (UDP ports with
 * net_udp_bind, IP protocols with ip_register), so ip.c calls up into no
 * header. */
#ifndef CAPOS_NET_IP_H
#define CAPOS_NET_IP_H
#include "kernel/net/net_internal.h"

#define IP_UDP_BINDINGS 4 /* UDP ports bound at once */
#define IP_PROTOS	2 /* transport protocols registered beside ICMP, UDP */
/* ICMP errors: a burst of ICMP_ERR_BURST, then one per ICMP_ERR_COST_US
 * (1000 a second): Linux's icmp_msgs_burst and icmp_msgs_per_sec */
#define ICMP_ERR_BURST	 50
#define ICMP_ERR_COST_US 1000

struct ip_proto {
	uint8_t proto; /* 0: free slot */
	/* a datagram for us (never broadcast) */
	void (*input)(const struct ipv4_view *ip);
	/* ICMP "fragmentation needed" (RFC 1191) quoting a datagram of this
	 * protocol: next-hop MTU (0: unknown) and the quote (IP header + at
	 * least 8 bytes) */
	void (*frag_needed)(uint16_t mtu, const uint8_t *quote, size_t len);
	/* the interface's address is gone (net_clear_address): whatever
	 * was bound to it ends, and nothing is sent from it */
	void (*addr_lost)(void);
};

/* forget bindings and registrations (net_init, before the layers above
 * register again) */
void ip_reset(void);
/* 0 registered; -1 table full */
int ip_register(const struct ip_proto *p);
void ip_input(const struct eth_view *eth);
bool ip_is_broadcast(uint32_t ip);
/* an address one host can hold under mask, which must be contiguous
 * and nonzero (RFC 1122 §3.2.1.3): not 0/8, loopback, multicast, class E
 * or the broadcast address, nor its subnet's network or directed
 * broadcast address (a host number of 0 or all ones), which a /31 (RFC
 * 3021) and a /32 lack. One rule for DHCP's replies and ip=/mask= */
bool ip_host_ok(uint32_t a, uint32_t mask);

/* frame has room for Ethernet + IPv4 headers before frame+NET_TX_HDR, where
 * the payload already is. Fills both headers, resolves the next hop and
 * sends. 0 sent or queued behind ARP, NIC_TX_FULL the NIC's ring was full
 * (not sent; the caller may send it again), -1 dropped. */
int net_ip_send(uint8_t *frame, uint32_t dst, uint8_t proto,
		size_t payload_len);
/* src 0 while unconfigured (DHCP); broadcast dst goes to ff:ff:.. */
int net_udp_send(uint16_t sport, uint32_t dst, uint16_t dport, const void *data,
		 size_t len);
int net_udp_bind(uint16_t port,
		 void (*input)(const struct ipv4_view *ip, uint16_t sport,
			       const uint8_t *data, size_t len));
void net_set_address(uint32_t ip, uint32_t mask, uint32_t gw,
		     const char *source, uint32_t lease_s);
/* the address is no longer ours (a lease ended, a DHCPNAK, a renewal that
 * moved us): address, mask and gateway 0, not configured, the ARP cache
 * and the frames waiting in it dropped (they carry the old source), and
 * every registered protocol's addr_lost called. One line when an address
 * was up */
void net_clear_address(void);
#endif
