/* kernel/net/eth.c — the bottom of the stack: the interface state shared by
 * every layer, the clock, the allocator and Ethernet output. */
#include "kernel/net/net_internal.h"
#include "kernel/time/time.h"

#ifdef CAPOS_HOST
#include <stdlib.h>
#else
#include "kernel/mm/mm.h"
#endif

struct net_if net_if;
const uint8_t eth_bcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

uint64_t net_now_us(void)
{
	return time_now_us();
}

#ifdef CAPOS_HOST
unsigned long net_host_allocs, net_host_alloc_fail;
#endif

void *net_alloc(size_t len)
{
#ifdef CAPOS_HOST
	if (++net_host_allocs == net_host_alloc_fail)
		return NULL;
	return calloc(1, len);
#else
	uint64_t pa = page_alloc(ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE, 0);
	return (void *)(uintptr_t)pa; /* identity-mapped, zeroed */
#endif
}

int eth_send(uint8_t *frame, const uint8_t *dst, uint16_t type,
	     size_t payload_len)
{
	struct nic *n = net_if.nic;
	size_t len = ETH_HLEN + payload_len;
	if (!n) { /* the NIC was removed (net_nic_removed) */
		net_if.c.tx_fail++;
		return -1;
	}
	memcpy(frame, dst, ETH_ALEN);
	memcpy(frame + 6, n->mac, ETH_ALEN);
	wr16(frame + 12, type);
	if (len < ETH_MIN_FRAME) {
		memset(frame + len, 0, ETH_MIN_FRAME - len);
		len = ETH_MIN_FRAME;
	}
	int r = n->send(n, frame, len);
	if (r != 0) {
		net_if.c.tx_fail++;
		if (r == NIC_TX_FULL) {
			if (!net_if.tx_refused) {
				net_if.tx_refused = true;
				net_if.tx_refused_at = net_now_us();
			}
			net_if.tx_full = true;
			return NIC_TX_FULL;
		}
		return -1;
	}
	net_if.c.tx_frames++;
	net_if.tx_refused = net_if.tx_stalled = false;
	return 0;
}
