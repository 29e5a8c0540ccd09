/* kernel/net/nic.c — the NIC registry behind kernel/net/nic.h. A driver
 * registers its struct nic once it is up and unregisters it before it
 * stops the device; the network stack hears of each through net_nic_added
 * and net_nic_removed (kernel/net/net.h). The weak defaults below keep a
 * kernel without the stack linkable; the stack's strong definitions
 * replace them. */
#include "kernel/net/nic.h"
#include "kernel/lib/lib.h"

struct nic *nics[NIC_MAX];
unsigned nnics;

void net_nic_added(struct nic *n);
__attribute__((weak)) void net_nic_added(struct nic *n)
{
	kprintf("%s: registered; no network stack in this kernel\n", n->name);
}

void net_nic_removed(struct nic *n);
__attribute__((weak)) void net_nic_removed(struct nic *n)
{
	(void)n;
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

void nic_unregister(struct nic *n)
{
	unsigned j = 0;
	for (unsigned i = 0; i < nnics; i++)
		if (nics[i] != n)
			nics[j++] = nics[i];
	for (unsigned i = j; i < nnics; i++)
		nics[i] = NULL;
	nnics = j;
	net_nic_removed(n);
}
