/* kernel/iommu/scope.c — which remapping unit translates a PCI function
 * (DMAR device scopes, VT-d spec §8.3) and the source id its DMA arrives
 * with. Pure over pci_devs[] and configuration space reads, so the host
 * tests build it over fake topologies. */
#include "kernel/iommu/scope.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"

static struct pci_dev *pci_at(uint16_t seg, unsigned bus, unsigned dev,
			      unsigned fn)
{
	for (unsigned i = 0; i < pci_ndevs; i++) {
		struct pci_dev *d = &pci_devs[i];
		if (d->seg == seg && d->bus == bus && d->dev == dev &&
		    d->fn == fn)
			return d;
	}
	return NULL;
}

static struct pci_dev *pci_parent_bridge(uint16_t seg, unsigned bus)
{
	for (unsigned i = 0; i < pci_ndevs; i++) {
		struct pci_dev *d = &pci_devs[i];
		if (d->seg == seg && d->header_type == 1 &&
		    pci_cfg_read8(d, PCI_SECONDARY_BUS) == bus && bus > d->bus)
			return d;
	}
	return NULL;
}

/* §8.3.2: follow the path through bridges' secondary buses */
static struct pci_dev *scope_target(const struct dmar_scope *s, uint16_t seg)
{
	unsigned bus = s->bus;
	for (unsigned i = 0; i + 1 < s->npath; i++) {
		struct pci_dev *b =
		    pci_at(seg, bus, s->path[i][0], s->path[i][1]);
		if (!b || b->header_type != 1)
			return NULL;
		bus = pci_cfg_read8(b, PCI_SECONDARY_BUS);
	}
	return pci_at(seg, bus, s->path[s->npath - 1][0],
		      s->path[s->npath - 1][1]);
}

static bool scope_covers(const struct dmar_scope *s, uint16_t seg,
			 const struct pci_dev *d)
{
	if (s->type != DMAR_SCOPE_ENDPOINT && s->type != DMAR_SCOPE_BRIDGE)
		return false;
	const struct pci_dev *t = scope_target(s, seg);
	if (!t || d->seg != seg)
		return false;
	if (t == d)
		return true;
	if (s->type != DMAR_SCOPE_BRIDGE || t->header_type != 1)
		return false;
	unsigned sec = pci_cfg_read8(t, PCI_SECONDARY_BUS);
	unsigned sub = pci_cfg_read8(t, PCI_SUBORDINATE_BUS);
	return d->bus >= sec && d->bus <= sub;
}

int dmar_unit_for(const struct dmar_info *dmar, const struct pci_dev *d)
{
	for (unsigned i = 0; i < dmar->nunits; i++) {
		const struct dmar_unit *u = &dmar->units[i];
		for (unsigned j = 0; j < u->nscopes; j++)
			if (scope_covers(&dmar->scopes[u->scope0 + j], u->seg,
					 d))
				return (int)i;
	}
	for (unsigned i = 0; i < dmar->nunits; i++)
		if ((dmar->units[i].flags & DMAR_DRHD_INCLUDE_PCI_ALL) &&
		    dmar->units[i].seg == d->seg)
			return (int)i;
	return -1;
}

#define PCIE_TYPE_SHIFT	      4
#define PCIE_TYPE_MASK	      0xf
#define PCIE_TYPE_PCIE_TO_PCI 7
#define PCIE_TYPE_PCI_TO_PCIE 8

/* the requester id the unit sees for d's DMA: each bridge above d that
 * takes over its requests on a conventional PCI or PCI-X bus aliases
 * them, the one nearest the root last (Linux's pci_for_each_dma_alias,
 * QEMU's pci_device_iommu_address_space): a PCIe-to-PCI bridge (type 7)
 * to its secondary bus, devfn 0 (PCI Express to PCI/PCI-X Bridge 1.0
 * §2.3); a PCI/PCI-X-to-PCIe bridge (type 8) and a conventional bridge
 * (no PCI Express capability) to the bridge's own id. PCI Express ports
 * (Root, Upstream, Downstream) pass the id through */
uint16_t pci_source_id(const struct pci_dev *d)
{
	unsigned sbus = d->bus, sdevfn = d->dev << 3 | d->fn, bus = d->bus;
	for (int depth = 0; depth < 16; depth++) {
		const struct pci_dev *p = pci_parent_bridge(d->seg, bus);
		if (!p)
			break;
		unsigned type = p->cap_pcie
				    ? (pci_cfg_read16(p, p->cap_pcie + 2) >>
				       PCIE_TYPE_SHIFT) &
					  PCIE_TYPE_MASK
				    : 0;
		if (p->cap_pcie && type == PCIE_TYPE_PCIE_TO_PCI) {
			sbus = bus;
			sdevfn = 0;
		} else if (!p->cap_pcie || type == PCIE_TYPE_PCI_TO_PCIE) {
			sbus = p->bus;
			sdevfn = p->dev << 3 | p->fn;
		}
		bus = p->bus;
	}
	return (uint16_t)(sbus << 8 | sdevfn);
}
