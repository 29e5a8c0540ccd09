/* kernel/devmgr/policy.c — which DMA backend a driver gets.
 *
 * An IOMMU (ACPI DMAR, IVRS or VIOT) would be the first choice; capOS has no
 * IOMMU backend yet, so where one is present the policy says so and falls
 * back. A driver whose DMA goes through the brokered validator (NVMe) gets
 * it. Drivers without a validator for their device class (the NICs, edu)
 * run with unvalidated DMA from their own pools — said plainly, not hidden.
 * Anything else DMA-capable is not bound. */
#include <stddef.h>

#include "kernel/acpi/acpi.h"
#include "kernel/devmgr/devmgr.h"

enum dma_backend devmgr_pick_backend(const struct pci_dev *d,
				     const struct driver *drv, const char **why)
{
	const char *iommu = NULL;
	bool has_iommu = acpi_has_iommu(&iommu);
	(void)d;
	if (drv->validated) {
		*why = has_iommu ? "IOMMU table present but capOS has no IOMMU "
				   "backend yet; brokered validator"
				 : "no IOMMU; brokered validator";
		return DMA_BACKEND_VALIDATOR;
	}
	if (drv->dma) {
		*why = "kernel-resident driver, no validator for this class; "
		       "DMA confined to its pool by construction only";
		return DMA_BACKEND_TRUSTED;
	}
	*why = "no DMA";
	return DMA_BACKEND_NONE;
}
