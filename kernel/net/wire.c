/* kernel/net/wire.c — pure parsers and builders for the protocol headers in
 * kernel/net/net_wire.h. Nothing here keeps state: every function takes the
 * bytes and a length, checks the length before each read, and says why it
 * refused. The fuzzers call these directly. */
#include "kernel/net/net_wire.h"

/* unaligned loads the compiler turns into plain moves */
typedef uint64_t __attribute__((aligned(1), may_alias)) u64_unaligned;
typedef uint16_t __attribute__((aligned(1), may_alias)) u16_unaligned;

/* RFC 1071 §4.1: 16-bit one's-complement sum; odd trailing byte padded.
 * The sum is taken in the machine's (little-endian) order, 32 bits at a
 * time into a 64-bit accumulator, and swapped once at the end: one's-
 * complement addition does not care about byte order (RFC 1071 §2 (B)). */
uint32_t inet_sum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = 0;
	while (len >= 8) {
		uint64_t v = *(const u64_unaligned *)p;
		acc += (v & 0xffffffffu) + (v >> 32);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		acc += *(const u16_unaligned *)p;
		p += 2;
		len -= 2;
	}
	if (len)
		acc += p[0]; /* the high byte of a big-endian word */
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	uint64_t s = (uint64_t)sum + bswap16((uint16_t)acc);
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t inet_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t inet_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto,
			 uint16_t len)
{
	uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) +
		     (dst & 0xffff) + proto + len;
	return (uint32_t)s;
}

int eth_parse(const void *frame, size_t len, struct eth_view *v)
{
	const uint8_t *f = frame;
	if (len < ETH_HLEN)
		return WIRE_SHORT;
	v->dst = f;
	v->src = f + 6;
	v->type = rd16(f + 12);
	v->payload = f + ETH_HLEN;
	v->len = len - ETH_HLEN;
	/* 802.1Q tags and 802.3 length fields are not for this stack */
	if (v->type < 0x0600)
		return WIRE_UNSUPP;
	return WIRE_OK;
}

/* RFC 826: only Ethernet hardware and IPv4 protocol addresses */
int arp_parse(const void *p, size_t len, struct arp_view *v)
{
	const uint8_t *b = p;
	if (len < sizeof(struct arp_pkt))
		return WIRE_SHORT;
	if (rd16(b) != ARP_HTYPE_ETHER || rd16(b + 2) != ETHERTYPE_IPV4 ||
	    b[4] != ETH_ALEN || b[5] != 4)
		return WIRE_UNSUPP;
	v->op = rd16(b + 6);
	if (v->op != ARP_OP_REQUEST && v->op != ARP_OP_REPLY)
		return WIRE_UNSUPP;
	v->sha = b + 8;
	v->spa = rd32(b + 14);
	v->tpa = rd32(b + 24);
	return WIRE_OK;
}

/* RFC 791 §3.1, RFC 1122 §3.2.1: version, IHL, total length, checksum */
int ipv4_parse(const void *p, size_t len, struct ipv4_view *v)
{
	const uint8_t *b = p;
	if (len < sizeof(struct ipv4_hdr))
		return WIRE_SHORT;
	unsigned ihl = (b[0] & 0xf) * 4u;
	if ((b[0] >> 4) != 4 || ihl < 20)
		return WIRE_BAD;
	uint16_t total = rd16(b + 2);
	if (total < ihl)
		return WIRE_BAD;
	if (total > len) /* the frame may carry padding, never less */
		return WIRE_SHORT;
	if (inet_fold(inet_sum(b, ihl, 0)) != 0)
		return WIRE_CSUM;
	uint16_t frag = rd16(b + 6);
	v->fragment = (frag & IP_FLAG_MF) || (frag & IP_FRAG_OFF_MASK);
	v->id = rd16(b + 4);
	v->proto = b[9];
	v->src = rd32(b + 12);
	v->dst = rd32(b + 16);
	/* options (ihl > 20) are skipped: nothing here acts on them */
	v->payload = b + ihl;
	v->len = total - ihl;
	v->hdr = b;
	v->hlen = ihl;
	return v->fragment ? WIRE_FRAGMENT : WIRE_OK;
}

void ipv4_build(void *p, uint32_t src, uint32_t dst, uint8_t proto,
		uint16_t payload_len, uint16_t id)
{
	uint8_t *b = p;
	b[0] = 0x45;
	b[1] = 0;
	wr16(b + 2, (uint16_t)(20 + payload_len));
	wr16(b + 4, id);
	wr16(b + 6, IP_FLAG_DF);
	b[8] = IP_DEFAULT_TTL;
	b[9] = proto;
	wr16(b + 10, 0);
	wr32(b + 12, src);
	wr32(b + 16, dst);
	wr16(b + 10, inet_fold(inet_sum(b, 20, 0)));
}

/* RFC 9293 §3.1 header, §3.2 options (only MSS is used; the rest skipped) */
int tcp_parse(const struct ipv4_view *ip, struct tcp_view *v)
{
	const uint8_t *b = ip->payload;
	size_t len = ip->len;
	if (len < sizeof(struct tcp_hdr))
		return WIRE_SHORT;
	size_t off = (b[12] >> 4) * 4u;
	if (off < 20 || off > len)
		return WIRE_BAD;
	uint32_t s =
	    inet_pseudo_sum(ip->src, ip->dst, IP_PROTO_TCP, (uint16_t)len);
	if (inet_fold(inet_sum(b, len, s)) != 0)
		return WIRE_CSUM;
	v->sport = rd16(b);
	v->dport = rd16(b + 2);
	v->seq = rd32(b + 4);
	v->ack = rd32(b + 8);
	v->flags = b[13];
	v->win = rd16(b + 14);
	v->mss = 0;
	v->wscale = -1;
	v->sack_perm = false;
	v->nsack = 0;
	v->ts = false;
	for (size_t i = 20; i < off;) {
		uint8_t kind = b[i];
		if (kind == TCP_OPT_END)
			break;
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= off)
			return WIRE_BAD;
		uint8_t olen = b[i + 1];
		if (olen < 2 || i + olen > off)
			return WIRE_BAD;
		if (kind == TCP_OPT_MSS && olen == 4)
			v->mss = rd16(b + i + 2);
		/* RFC 7323 §2.3: a shift above 14 is used as 14 */
		if (kind == TCP_OPT_WSCALE && olen == 3)
			v->wscale = (int8_t)MIN(b[i + 2], TCP_WSCALE_MAX);
		if (kind == TCP_OPT_SACK_PERM && olen == 2)
			v->sack_perm = true;
		if (kind == TCP_OPT_TS && olen == TCP_OPT_TS_LEN) {
			v->ts = true;
			v->tsval = rd32(b + i + 2);
			v->tsecr = rd32(b + i + 6);
		}
		if (kind == TCP_OPT_SACK && olen >= 10 && (olen - 2) % 8 == 0)
			for (size_t k = i + 2;
			     k + 8 <= i + olen && v->nsack < TCP_SACK_MAX;
			     k += 8) {
				v->sack[v->nsack][0] = rd32(b + k);
				v->sack[v->nsack][1] = rd32(b + k + 4);
				v->nsack++;
			}
		i += olen;
	}
	v->data = b + off;
	v->len = len - off;
	return WIRE_OK;
}

bool ip_parse(const char *s, size_t len, uint32_t *out)
{
	uint32_t ip = 0;
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		size_t start = i;
		uint32_t v = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (uint32_t)(s[i++] - '0');
		if (i == start || v > 255)
			return false;
		ip = ip << 8 | v;
	}
	if (i != len)
		return false;
	*out = ip;
	return true;
}

void ip_str(uint32_t ip, char *buf, size_t cap)
{
	ksnprintf(buf, cap, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
		  (ip >> 8) & 0xff, ip & 0xff);
}
