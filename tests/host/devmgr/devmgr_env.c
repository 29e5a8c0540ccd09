/* tests/host/devmgr/devmgr_env.c — what kernel/devmgr/devmgr.c and the
 * policy call outside the device manager, for a machine with no firmware
 * tables: no SMBIOS, no IOMMU, nothing mapped, an empty command line.
 * devmgr_test and fuzz_devmgr_seq link it. */
#include <stdio.h>

#include "kernel/acpi/acpi.h"
#include "kernel/boot/boot.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"

uint64_t boot_smbios; /* none: platform unknown */

uint64_t mm_pte(uint64_t va)
{
	(void)va;
	return 0;
}
bool mm_map_firmware(uint64_t phys, uint64_t len)
{
	(void)phys, (void)len;
	return false;
}
void *mm_map_mmio(uint64_t phys, size_t len)
{
	(void)phys, (void)len;
	return NULL;
}
bool acpi_has_iommu(const char **which)
{
	*which = NULL;
	return false;
}
const char *cmdline_get(const char *key)
{
	(void)key;
	return NULL;
}
bool cmdline_cut(void)
{
	return false;
}
void pci_addr_str(const struct pci_dev *d, char *buf, unsigned n)
{
	snprintf(buf, n, "%04x:%02x:%02x.%x", d->seg, d->bus, d->dev, d->fn);
}
