/* tests/host/shim/devmgr_stub.c — the device manager's supervisor as a
 * driver suite sees it: devmgr_failed recorded, not acted on. Weak, so a
 * suite that links kernel/devmgr/devmgr.c (tests/host/devmgr) has the
 * real one. */
#include "kernel/pci/pci.h"
#include "shim.h"

unsigned shim_devmgr_failed;
const char *shim_devmgr_failed_why;
uint16_t shim_devmgr_failed_owner;

void devmgr_failed(struct pci_dev *d, uint16_t owner, const char *why);
__attribute__((weak)) void devmgr_failed(struct pci_dev *d, uint16_t owner,
					 const char *why)
{
	(void)d;
	shim_devmgr_failed++;
	shim_devmgr_failed_owner = owner;
	shim_devmgr_failed_why = why;
}
