/* kernel/net/ipfrag.h — IPv4 reassembly (RFC 791 §3.2, RFC 815). Below
 * ip.c. */
#ifndef CAPOS_NET_IPFRAG_H
#define CAPOS_NET_IPFRAG_H
#include "kernel/net/net_internal.h"

#define IPFRAG_SLOTS	  4	/* datagrams being reassembled at once */
#define IPFRAG_MAX	  16384 /* largest reassembled payload */
#define IPFRAG_TIMEOUT_US (15ull * 1000000) /* RFC 791 §3.2: 15 s */
void ipfrag_reset(void);
int ipfrag_input(const struct ipv4_view *frag, struct ipv4_view *out);
void ipfrag_tick(uint64_t now);
const char *ipfrag_check(void);
#endif
