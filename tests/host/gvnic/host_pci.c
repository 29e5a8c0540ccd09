/* tests/host/gvnic/host_pci.c — what drivers/gvnic/gve_pci.c needs from the
 * kernel besides the authority layer, so the suite attaches the driver the
 * way the device manager does (gve_driver.attach on a described function). */
#include "gvnic_model.h"
#include "kernel/authority/authority.h"
#include "kernel/boot/boot.h"
#include "kernel/net/nic.h"
#include "kernel/pci/pci.h"

unsigned host_pci_nics;
bool (*host_pci_poller)(void); /* what the driver asked the main loop for */

bool host_pci_mem, host_pci_bus_master; /* the command register's last */
unsigned host_pci_enables;		/* pci_enable calls */

void pci_enable(struct pci_dev *d, bool mem, bool io, bool bus_master)
{
	(void)d, (void)io;
	host_pci_enables++;
	host_pci_mem = mem;
	/* as kernel/authority's check: none for a revoked or quarantined
	 * owner */
	host_pci_bus_master = bus_master && !auth_owner_stopped(GVM_OWNER);
}

void poller_add(bool (*fn)(void))
{
	host_pci_poller = fn;
}

void nic_register(struct nic *n)
{
	(void)n;
	host_pci_nics++;
}

unsigned host_pci_nics_removed;
void nic_unregister(struct nic *n)
{
	(void)n;
	host_pci_nics_removed++;
}
