/* kernel/net/nic.c — the NIC registry behind kernel/net/nic.h. A driver
 * registers its struct nic once it is up; the network stack hears of each
 * new NIC through net_nic_added (kernel/net/net.h). The weak default below
 * keeps a kernel without the stack linkable; the stack's strong definition
 * replaces it. */
#include "kernel/net/nic.h"
#include "kernel/lib/lib.h"

struct nic *nics[NIC_MAX];
unsigned nnics;

void net_nic_added(struct nic *n);
__attribute__((weak)) void net_nic_added(struct nic *n)
{
	kprintf("%s: registered; no network stack in this kernel\n", n->name);
}

void nic_register(struct nic *n)
{
	if (nnics == NIC_MAX) {
		kprintf("%s: unable to register NIC: %u already registered\n",
			n->name, nnics);
		return;
	}
	nics[nnics++] = n;
	net_nic_added(n);
}
