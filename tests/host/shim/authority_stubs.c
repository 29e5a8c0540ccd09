/* tests/host/shim/authority_stubs.c — the parts of the kernel the real
 * authority layer calls that host tests do not link: PCI command-register
 * writes (and the bus-mastering check for them) and interrupt teardown. Weak,
 * so a suite with its own PCI model (tests/host/gvnic/host_pci.c,
 * tests/host/virtio_net/vnet_model.c) keeps its definition. */
#include "kernel/pci/pci.h"
#include <stdbool.h>
#include <stdint.h>

void irq_seize(uint16_t slot);

__attribute__((weak)) void pci_enable(struct pci_dev *d, bool mem, bool io,
				      bool bus_master)
{
	(void)d, (void)mem, (void)io, (void)bus_master;
}

/* the check the owner table installs for pci_enable (kernel/pci/pci_cfg.c
 * keeps it where a suite links it) */
__attribute__((weak)) void
pci_set_bus_master_check(pci_bus_master_check_t may_master)
{
	(void)may_master;
}

/* host tests bind no interrupts (kernel/authority/irq.c is not linked),
 * so an owner revocation never finds an Interrupt slot to tear down */
__attribute__((weak)) void irq_seize(uint16_t slot)
{
	(void)slot;
}
