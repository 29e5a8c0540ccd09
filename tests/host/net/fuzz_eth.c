/* tests/host/net/fuzz_eth.c — any bytes as an Ethernet frame into the whole
 * stack (Ethernet, ARP, IPv4, ICMP, UDP/DHCP, TCP, HTTP), then timers. */
#include <stdint.h>
#include <stdlib.h>

#include "netfake.h"
#include "shim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)fake_setup_once();
	net_input(data, size);
	if (size && (data[0] & 1))
		shim_clock_ns += (uint64_t)data[size - 1] * 100000000ull;
	net_poll();
	fake_clear();
	return 0;
}
