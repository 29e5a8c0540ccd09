/* kernel/net/net_internal.h — state shared by the stack's own files
 * (ip.c, dhcp.c, tcp.c, httpd.c). Not for drivers or other subsystems. */
#ifndef CAPOS_NET_INTERNAL_H
#define CAPOS_NET_INTERNAL_H
#include "kernel/net/net.h"
#include "kernel/net/net_wire.h"

#define ARP_MAX	       16
#define ARP_TTL_US     (600ull * 1000000) /* resolved entries, refreshed on use */
#define ARP_RETRY_US   (1000ull * 1000)	  /* RFC 1122 §2.3.2.1: <= 1/s */
#define ARP_TRIES      3
#define IPV4_BROADCAST 0xffffffffu
/* headroom in a transmit frame before the transport header */
#define NET_TX_HDR  (ETH_HLEN + 20)
#define NET_TICK_US 1000

enum arp_state { ARP_FREE, ARP_PENDING, ARP_RESOLVED };
struct arp_entry {
	enum arp_state state;
	uint32_t ip;
	uint8_t mac[ETH_ALEN];
	uint8_t tries;
	uint64_t deadline; /* expiry (resolved) or next retry (pending) */
};

/* frames waiting for an ARP answer (RFC 1122 §2.3.2.2 asks for at least
 * one per destination; a burst of SYN-ACKs to a new peer needs more) */
#define ARP_PENDQ 32
struct arp_pending {
	uint32_t hop; /* 0: free */
	uint16_t len;
	uint8_t frame[ETH_FRAME_MAX];
};

struct udp_binding {
	uint16_t port;
	void (*input)(const struct ipv4_view *ip, uint16_t sport,
		      const uint8_t *data, size_t len);
};

struct net_if {
	struct nic *nic;
	struct net_config cfg;
	bool configured;
	uint32_t ip, mask, gw;
	const char *source;
	uint32_t lease_s;
	uint16_t ip_id;
	uint64_t last_tick;
	struct arp_entry arp[ARP_MAX];
	struct arp_pending *pendq; /* ARP_PENDQ entries, from net_alloc */
	struct udp_binding udp[4];
	uint8_t rx[ETH_FRAME_MAX + 64];
	uint8_t tx[ETH_FRAME_MAX + 64];
	struct net_counters c;
};
extern struct net_if net_if;

uint64_t net_now_us(void);
/* memory that lives as long as the kernel (host: calloc, kept for reuse) */
void *net_alloc(size_t len);

/* frame has room for Ethernet + IPv4 headers before frame+NET_TX_HDR, where
 * the payload already is. Fills both headers, resolves the next hop and
 * sends. 0 sent or queued behind ARP, -1 dropped. */
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

/* ipfrag.c: IPv4 reassembly */
#define IPFRAG_SLOTS	  4	/* datagrams being reassembled at once */
#define IPFRAG_MAX	  16384 /* largest reassembled payload */
#define IPFRAG_TIMEOUT_US (15ull * 1000000) /* RFC 791 §3.2: 15 s */
void ipfrag_reset(void);
int ipfrag_input(const struct ipv4_view *frag, struct ipv4_view *out);
void ipfrag_tick(uint64_t now);
const char *ipfrag_check(void);
/* dhcp.c */
void dhcp_reset(void);
void dhcp_start(void);
void dhcp_tick(uint64_t now);
/* tcp.c */
void tcp_init(void);
void tcp_input(const struct ipv4_view *ip);
void tcp_tick(uint64_t now);
void tcp_flush(void);
/* ICMP "fragmentation needed" (RFC 1191): next-hop MTU (0: unknown) and
 * the quoted datagram (IP header + at least 8 bytes) */
void tcp_frag_needed(uint16_t mtu, const uint8_t *quote, size_t len);
/* httpd.c */
void httpd_init(uint16_t port);
void httpd_tick(uint64_t now);
#endif
