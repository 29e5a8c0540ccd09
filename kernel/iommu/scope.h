/* kernel/iommu/scope.h — DMAR device scopes resolved against the PCI
 * functions the kernel enumerated (pure; kernel/iommu/scope.c). */
#ifndef CAPOS_IOMMU_SCOPE_H
#define CAPOS_IOMMU_SCOPE_H
#include <stdint.h>

#include "kernel/iommu/dmar.h"

struct pci_dev;

/* index of the DRHD unit whose scope covers d (an endpoint scope naming d,
 * or a bridge scope with d at or below the bridge), else an
 * INCLUDE_PCI_ALL unit of d's segment; -1 when none */
int dmar_unit_for(const struct dmar_info *dmar, const struct pci_dev *d);
/* bus << 8 | devfn of the requests d's DMA appears as, after the alias of
 * the bridges to conventional PCI or PCI-X above it */
uint16_t pci_source_id(const struct pci_dev *d);
#endif
