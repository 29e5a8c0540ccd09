/* tests/host/shim/authority_stubs.c — the parts of the kernel the real
 * authority layer calls that host tests do not link: PCI command-register
 * writes and interrupt teardown. Weak, so a suite with its own PCI model
 * (tests/host/gvnic/host_pci.c, tests/host/virtio_net/vnet_model.c) keeps
 * its definition. */
#include "kernel/pci/pci.h"
#include <stdbool.h>
#include <stdint.h>

void irq_seize(uint16_t slot);

__attribute__((weak)) void pci_enable(struct pci_dev *d, bool mem, bool io,
				      bool bus_master)
{
	(void)d, (void)mem, (void)io, (void)bus_master;
}

/* host tests bind no interrupts (kernel/authority/irq.c is not linked),
 * so an owner revocation never finds an Interrupt slot to tear down */
__attribute__((weak)) void irq_seize(uint16_t slot)
{
	(void)slot;
}
