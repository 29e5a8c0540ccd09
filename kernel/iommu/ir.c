/* kernel/iommu/ir.c — interrupt remapping (VT-d spec §5.1, §9.10): the
 * kernel owns every IRTE; a remapped MSI names an entry by handle, and the
 * entry delivers its vector only for the source id it was made for
 * (SVT = 1, SQ = 0: all 16 bits compared). Unused entries are not present.
 * CFI stays 0, so compatibility-format MSIs are blocked on hardware that
 * implements it (QEMU 7.2 does not: docs/devices/intel-vtd.md). */
#include "kernel/iommu/vtd_internal.h"
#include "kernel/iommu/vtd_reg.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci_reg.h"

#define VTD_IRTA_S_256 7 /* 2^(7+1) entries */
/* xAPIC physical destination 0xFF is the broadcast, not one CPU (Intel
 * SDM vol. 3 §10.6.2.1): an APIC id of one CPU lies below it */
#define VTD_XAPIC_BROADCAST 0xffu

int vtd_ir_up(struct vtd_unit *u)
{
	u->irt = page_alloc(1, 0);
	if (!u->irt)
		return -1;
	vtd_flush(u, (void *)u->irt, PAGE_SIZE);
	/* xAPIC destinations (EIME 0): TCG has no x2APIC */
	vtd_wr64(u, VTD_IRTA, u->irt | VTD_IRTA_S_256 << VTD_IRTA_S_SHIFT);
	if (vtd_gcmd(u, VTD_GCMD_SIRTP, true) || vtd_inv_iec(u, -1) ||
	    vtd_gcmd(u, VTD_GCMD_IRE, true))
		return -1;
	u->ir = true;
	return 0;
}

uint64_t vtd_irqs_refused;

/* a refused entry: counted (the domain's irqs_refused and the total, in
 * /api/iommu) and said at the domain's refusals 1, 2, 4, ... (line_due),
 * so a driver that retries cannot flood the console */
static void irq_refused(struct vtd_domain *dm, const char *why)
{
	vtd_irqs_refused++;
	if (line_due(++dm->irqs_refused))
		kprintf("iommu: owner %u: no interrupt remapping entry (%s; "
			"%lu refused)\n",
			dm->owner, why, dm->irqs_refused);
}

int iommu_irq_alloc(uint16_t owner, uint8_t vector, uint32_t apic_id,
		    uint32_t *msi_addr, uint32_t *msi_data, uint16_t *handle)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	/* a device the IOMMU stopped after a fault signals nothing new until
	 * its owner is resumed, remapped or not (an interrupt is a write) */
	if (dm && dm->quarantined) {
		irq_refused(dm, "quarantined");
		return -1;
	}
	if (!dm || !dm->u->ir)
		return 1; /* not remapped here: compatibility format */
	struct vtd_unit *u = dm->u;
	if (u->broken || apic_id >= VTD_XAPIC_BROADCAST)
		return -1;
	unsigned i;
	for (i = 0; i < VTD_IRT_ENTRIES && u->irte_owner[i]; i++)
		;
	if (i == VTD_IRT_ENTRIES) {
		irq_refused(dm, "no free entry");
		return -1;
	}
	uint64_t *e = (uint64_t *)u->irt + 2 * i;
	/* high half first: the entry turns present with its SID check */
	e[1] = (uint64_t)dm->sid << VTD_IRTE_SID_SHIFT |
	       0ull << VTD_IRTE_SQ_SHIFT |
	       VTD_IRTE_SVT_VERIFY_SID << VTD_IRTE_SVT_SHIFT;
	barrier();
	/* fixed delivery, edge, physical destination */
	e[0] = VTD_IRTE_P | (uint64_t)vector << VTD_IRTE_V_SHIFT |
	       (uint64_t)apic_id
		   << (VTD_IRTE_DST_SHIFT + VTD_IRTE_XAPIC_DST_SHIFT);
	vtd_flush(u, e, 16);
	if (vtd_inv_iec(u, (int)i)) {
		/* unused entries are not present (the unit is given up) */
		e[0] = 0;
		e[1] = 0;
		vtd_flush(u, e, 16);
		return -1;
	}
	u->irte_owner[i] = owner;
	dm->irtes++;
	*handle = (uint16_t)i;
	*msi_addr = MSI_ADDR_BASE | (i & 0x7fff) << VTD_MSI_HANDLE_SHIFT |
		    VTD_MSI_IF_REMAP | ((i >> 15) ? VTD_MSI_HANDLE15 : 0);
	*msi_data = 0; /* SHV 0: no subhandle */
	return 0;
}

int iommu_irq_free(uint16_t owner, uint16_t handle)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	if (!dm || handle >= VTD_IRT_ENTRIES ||
	    dm->u->irte_owner[handle] != owner)
		return -1;
	struct vtd_unit *u = dm->u;
	uint64_t *e = (uint64_t *)u->irt + 2 * handle;
	/* a free the unit did not confirm keeps the index reserved with the
	 * entry not present: freed already, and still unconfirmed */
	if (!(e[0] & VTD_IRTE_P))
		return IOMMU_UNCONFIRMED;
	e[0] = 0;
	e[1] = 0;
	vtd_flush(u, e, 16);
	dm->irtes--;
	if (vtd_inv_iec(u, handle) != 0)
		return IOMMU_UNCONFIRMED;
	u->irte_owner[handle] = 0; /* reuse only once uncached */
	return 0;
}
