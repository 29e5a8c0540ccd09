/* kernel/net/net_wire.h — on-the-wire layouts of Ethernet, ARP, IPv4, ICMP,
 * UDP, TCP and DHCP, and the pure parse/build helpers in kernel/net/wire.c.
 *
 * Every multi-byte field is big-endian on the wire; the structs are packed
 * and only ever read through the be16/be32 helpers below, so a frame at any
 * alignment is safe to parse. */
#ifndef CAPOS_NET_WIRE_H
#define CAPOS_NET_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/lib.h"

#define ETH_ALEN       6
#define ETH_HLEN       14
#define ETH_MIN_FRAME  60 /* without FCS; shorter frames are padded */
#define ETH_MTU	       1500
#define ETH_FRAME_MAX  (ETH_HLEN + ETH_MTU)
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP  0x0806

/* IEEE 802.3 §3.1.1: destination, source, type */
struct eth_hdr {
	uint8_t dst[ETH_ALEN];
	uint8_t src[ETH_ALEN];
	uint16_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct eth_hdr) == ETH_HLEN, "eth_hdr");
_Static_assert(offsetof(struct eth_hdr, type) == 12, "eth type");

/* RFC 826: Ethernet/IPv4 ARP packet */
#define ARP_HTYPE_ETHER 1
#define ARP_OP_REQUEST	1
#define ARP_OP_REPLY	2
struct arp_pkt {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t op;
	uint8_t sha[ETH_ALEN];
	uint8_t spa[4];
	uint8_t tha[ETH_ALEN];
	uint8_t tpa[4];
} __attribute__((packed));
_Static_assert(sizeof(struct arp_pkt) == 28, "arp_pkt");
_Static_assert(offsetof(struct arp_pkt, sha) == 8, "arp sha");
_Static_assert(offsetof(struct arp_pkt, tpa) == 24, "arp tpa");

/* RFC 791 §3.1 */
#define IP_PROTO_ICMP	 1
#define IP_PROTO_TCP	 6
#define IP_PROTO_UDP	 17
#define IP_FLAG_DF	 0x4000
#define IP_FLAG_MF	 0x2000
#define IP_FRAG_OFF_MASK 0x1fff
#define IP_DEFAULT_TTL	 64
struct ipv4_hdr {
	uint8_t ver_ihl; /* version << 4 | header length in 32-bit words */
	uint8_t tos;
	uint16_t total_len;
	uint16_t id;
	uint16_t frag; /* flags (3 bits) and fragment offset (13 bits) */
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum;
	uint8_t src[4];
	uint8_t dst[4];
} __attribute__((packed));
_Static_assert(sizeof(struct ipv4_hdr) == 20, "ipv4_hdr");
_Static_assert(offsetof(struct ipv4_hdr, ttl) == 8, "ipv4 ttl");
_Static_assert(offsetof(struct ipv4_hdr, src) == 12, "ipv4 src");

/* RFC 792: echo request/reply */
#define ICMP_ECHO_REPLY	  0
#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED  4 /* RFC 1191 §4: next-hop MTU in bytes 6-7 */
#define ICMP_ECHO_REQUEST 8
struct icmp_hdr {
	uint8_t type, code;
	uint16_t csum;
	uint16_t id, seq; /* "rest of header" for other types */
} __attribute__((packed));
_Static_assert(sizeof(struct icmp_hdr) == 8, "icmp_hdr");

/* RFC 791 §3.2: the datagram every IPv4 module forwards unfragmented */
#define IPV4_MIN_MTU 68
/* RFC 768 */
struct udp_hdr {
	uint16_t sport, dport, len, csum;
} __attribute__((packed));
_Static_assert(sizeof(struct udp_hdr) == 8, "udp_hdr");

/* RFC 9293 §3.1 */
#define TCP_FIN		  0x01
#define TCP_SYN		  0x02
#define TCP_RST		  0x04
#define TCP_PSH		  0x08
#define TCP_ACK		  0x10
#define TCP_URG		  0x20
#define TCP_OPT_END	  0
#define TCP_OPT_NOP	  1
#define TCP_OPT_MSS	  2
#define TCP_OPT_WSCALE	  3 /* RFC 7323 §2 */
#define TCP_OPT_SACK_PERM 4 /* RFC 2018 §2 */
#define TCP_OPT_SACK	  5 /* RFC 2018 §3 */
#define TCP_OPT_TS	  8 /* RFC 7323 §3.2: kind, length 10, TSval, TSecr */
#define TCP_OPT_TS_LEN	  10
#define TCP_WSCALE_MAX	  14 /* RFC 7323 §2.3 */
#define TCP_SACK_MAX	  4  /* blocks in one option (40 bytes of options) */
struct tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t off;   /* data offset in 32-bit words, high nibble */
	uint8_t flags; /* CWR ECE URG ACK PSH RST SYN FIN */
	uint16_t win;
	uint16_t csum;
	uint16_t urp;
} __attribute__((packed));
_Static_assert(sizeof(struct tcp_hdr) == 20, "tcp_hdr");
_Static_assert(offsetof(struct tcp_hdr, off) == 12, "tcp off");
_Static_assert(offsetof(struct tcp_hdr, win) == 14, "tcp win");

/* RFC 2131 §2: the fixed BOOTP part; options follow the magic cookie */
#define DHCP_OP_REQUEST	    1
#define DHCP_OP_REPLY	    2
#define DHCP_MAGIC	    0x63825363u
#define DHCP_FLAG_BROADCAST 0x8000
#define DHCP_SERVER_PORT    67
#define DHCP_CLIENT_PORT    68
/* RFC 2132 option codes */
#define DHCP_OPT_PAD	   0
#define DHCP_OPT_SUBNET	   1
#define DHCP_OPT_ROUTER	   3
#define DHCP_OPT_DNS	   6
#define DHCP_OPT_REQ_IP	   50
#define DHCP_OPT_LEASE	   51
#define DHCP_OPT_MSG_TYPE  53
#define DHCP_OPT_SERVER_ID 54
#define DHCP_OPT_PARAM_REQ 55
#define DHCP_OPT_MESSAGE   56
#define DHCP_OPT_END	   255
/* RFC 2132 §9.6 message types */
#define DHCPDISCOVER 1
#define DHCPOFFER    2
#define DHCPREQUEST  3
#define DHCPDECLINE  4
#define DHCPACK	     5
#define DHCPNAK	     6
struct dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint8_t ciaddr[4], yiaddr[4], siaddr[4], giaddr[4];
	uint8_t chaddr[16];
	uint8_t sname[64];
	uint8_t file[128];
	uint32_t magic;
} __attribute__((packed));
_Static_assert(sizeof(struct dhcp_msg) == 240, "dhcp_msg");
_Static_assert(offsetof(struct dhcp_msg, yiaddr) == 16, "dhcp yiaddr");
_Static_assert(offsetof(struct dhcp_msg, chaddr) == 28, "dhcp chaddr");
_Static_assert(offsetof(struct dhcp_msg, magic) == 236, "dhcp magic");

/* ---- byte order: unaligned, explicit ------------------------------------- */
static inline uint16_t rd16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] << 8 | b[1]);
}
static inline uint32_t rd32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}
static inline void wr16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}
static inline void wr32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* ---- pure helpers (kernel/net/wire.c) ------------------------------------ */
/* RFC 1071 one's-complement sum, folded, not inverted; chainable */
uint32_t inet_sum(const void *data, size_t len, uint32_t sum);
uint16_t inet_fold(uint32_t sum); /* fold and invert: the checksum field */
/* the TCP/UDP pseudo-header sum (RFC 9293 §3.1, RFC 768) */
uint32_t inet_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto,
			 uint16_t len);

/* parsed views; pointers point into the frame */
struct eth_view {
	const uint8_t *dst, *src;
	uint16_t type;
	const uint8_t *payload;
	size_t len;
};
struct ipv4_view {
	uint32_t src, dst; /* host order */
	uint8_t proto;
	uint16_t id;
	bool fragment; /* MF set or offset nonzero */
	const uint8_t *payload;
	size_t len;	    /* payload length from total_len, not the frame */
	const uint8_t *hdr; /* the header itself, hlen bytes with options */
	size_t hlen;
};
struct tcp_view {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t mss;  /* 0: no MSS option */
	int8_t wscale; /* -1: no window scale option; else the shift, <= 14 */
	bool sack_perm;
	uint8_t nsack; /* SACK blocks: [sack[i][0], sack[i][1]) */
	uint32_t sack[TCP_SACK_MAX][2];
	bool ts; /* a timestamps option (RFC 7323 §3.2): tsval, tsecr */
	uint32_t tsval, tsecr;
	const uint8_t *data;
	size_t len;
};
struct arp_view {
	uint16_t op;
	const uint8_t *sha;
	uint32_t spa, tpa;
};

enum wire_err {
	WIRE_OK = 0,
	WIRE_SHORT,    /* truncated */
	WIRE_BAD,      /* malformed field */
	WIRE_CSUM,     /* checksum mismatch */
	WIRE_FRAGMENT, /* IPv4 fragment (not reassembled) */
	WIRE_UNSUPP,   /* well-formed but not for us (other hw/proto type) */
};

int eth_parse(const void *frame, size_t len, struct eth_view *v);
int arp_parse(const void *p, size_t len, struct arp_view *v);
/* verifies the header checksum; options are skipped */
int ipv4_parse(const void *p, size_t len, struct ipv4_view *v);
/* verifies the checksum over the pseudo-header; parses MSS */
int tcp_parse(const struct ipv4_view *ip, struct tcp_view *v);
/* writes a 20-byte IPv4 header with checksum */
void ipv4_build(void *p, uint32_t src, uint32_t dst, uint8_t proto,
		uint16_t payload_len, uint16_t id);

/* dotted quad <-> host-order address; parse accepts "a.b.c.d" only */
bool ip_parse(const char *s, size_t len, uint32_t *out);
void ip_str(uint32_t ip, char *buf, size_t cap);
#endif
