/* kernel/iommu/iommu.h — the IOMMU DMA backend (Intel VT-d), by owner and
 * PCI source id.
 *
 * The device manager asks iommu_scope() whether a function sits in a
 * remapping unit's scope and under which source id (requester id, after
 * bridge aliasing) its DMA arrives; at bind it creates the owner's domain
 * with iommu_domain_create() before the driver may set Bus Master Enable.
 * The DMA pool layer maps each pool at creation and unmaps it (IOTLB
 * invalidated and the invalidation waited for) before the pages go back
 * to the allocator. A domain starts empty: a device can reach nothing but
 * what its owner's pools map. Nothing here knows about drivers or the
 * device manager. Design: docs/dma-isolation-design.md; hardware:
 * docs/devices/intel-vtd.md. */
#ifndef CAPOS_IOMMU_H
#define CAPOS_IOMMU_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pci_dev;

/* boot, after pci_init and before any driver binds: parse DMAR, clear Bus
 * Master Enable on every in-scope endpoint, take over each unit */
void iommu_init(void);

enum iommu_scope {
	IOMMU_NO_SCOPE,	   /* no DMAR, or the function is in no unit's scope */
	IOMMU_IN_SCOPE,	   /* a working unit translates its DMA */
	IOMMU_UNIT_FAILED, /* in the scope of a unit that did not come up */
};
/* where d's DMA is translated; *sid its source id, *why one line */
enum iommu_scope iommu_scope(const struct pci_dev *d, uint16_t *sid,
			     const char **why);

/* owner's domain on the unit that translates (seg, sid): a fresh domain id,
 * empty second-level tables, context entry present. 0 or -1 (printed). */
int iommu_domain_create(uint16_t owner, uint16_t seg, uint16_t sid);
/* tear owner's domain down (its owner unbound, kernel/authority): any
 * interrupt entry still its own freed, its context entry cleared, the
 * context cache and IOTLB of its domain id invalidated and waited for, then
 * its table pages freed and its slot and domain id reusable. 0; -1 when
 * owner has no domain; IOMMU_UNCONFIRMED when the unit did not confirm the
 * invalidation: the domain is gone for the owner, but its table pages and
 * its domain id stay withheld for good (the unit may cache them). Pages
 * its leaf entries still map are the caller's to withhold or free. */
int iommu_domain_destroy(uint16_t owner);
/* the table pages owner's domain holds (the top-level one too): what an
 * unconfirmed iommu_domain_destroy withholds. 0 with no domain */
uint64_t iommu_domain_table_pages(uint16_t owner);
/* does owner have a live domain? */
bool iommu_owner_translated(uint16_t owner);
/* device addresses of owner's domain lie below this (2^AGAW); 0 none */
uint64_t iommu_addr_limit(uint16_t owner);

#define IOMMU_READ  1u /* the device may read */
#define IOMMU_WRITE 2u /* the device may write */
/* map [iova, iova+len) -> [pa, pa+len), page granular, pa+len within
 * the host address width (DMAR HAW). 0; -1 when refused or failed with
 * nothing of the range mapped (the pages may be reused); IOMMU_UNCONFIRMED
 * when it failed after making entries present (part-way, or on a caching
 * mode unit) and the unit did not confirm their invalidation: the entries
 * are gone from the tables, but the unit may still hold them cached, so the
 * caller must not reuse the pages (as after iommu_unmap's). */
#define IOMMU_UNCONFIRMED (-2)
int iommu_map(uint16_t owner, uint64_t iova, uint64_t pa, size_t len,
	      unsigned perm);
/* unmap every page [iova, iova+len) touches below the address limit (a
 * range past 2^64 runs to the limit), invalidate the IOTLB for the domain
 * and wait for completion. 0; -1 when owner has no domain (nothing of it
 * is mapped: a plain error, the pages may be reused); IOMMU_UNCONFIRMED
 * when the unit did not confirm the invalidation (the caller must not
 * reuse the pages: the unit may still hold a translation of them). */
int iommu_unmap(uint16_t owner, uint64_t iova, size_t len);

struct iommu_fault {
	uint16_t sid;
	uint8_t reason; /* VT-d fault reason (§7.1; vtd_reg.h VTD_FR_*) */
	bool write;	/* a DMA write (never for an interrupt fault) */
	/* page of the faulting address; for an interrupt-remapping fault
	 * (reason >= 0x20, VTD_FR_IR) the interrupt index its MSI named */
	uint64_t addr;
};
/* DMA faults recorded against owner, and the last one; 0 when none */
uint64_t iommu_fault_count(uint16_t owner, struct iommu_fault *last);
/* drain the fault recording registers now (the fault interrupt does the
 * same); returns faults taken */
unsigned iommu_fault_poll(void);
/* the fault records the interrupt left set after VTD_FAULT_PASSES (a
 * device still recording), taken now: no fault event comes while one is
 * set. The main loop's safe point calls it (auth_poll); one load when
 * none were left. Faults taken. */
unsigned iommu_fault_retake(void);
/* A DMA fault is a revocation event (vtd.md rule 8): the faulting
 * function's bus mastering is turned off and its owner's context entry is
 * cleared, so nothing the device does reaches memory — even if something
 * sets Bus Master Enable again — until the owner is resumed on purpose.
 * The authority layer then revokes the owner's capabilities at its next
 * safe point (auth_poll: kernel/authority/authority.h). */
bool iommu_owner_quarantined(uint16_t owner);
/* quarantines so far (any owner): the authority layer's safe point looks
 * for quarantined owners only when this moved */
uint32_t iommu_quarantines(void);
/* quarantine owner now, as a fault would (kernel/authority's revocation of
 * an owner that did not fault); nothing when it has no domain */
void iommu_owner_quarantine(uint16_t owner);
/* restore the context entry of a quarantined owner (bus mastering is the
 * caller's to turn back on). 0 or -1. */
int iommu_owner_resume(uint16_t owner);

/* interrupt remapping: an IRTE that delivers `vector` to `apic_id` only for
 * MSIs carrying owner's source id; the remappable-format MSI address/data
 * the device is programmed with. 0; 1 when the owner's unit does not remap
 * interrupts (the caller uses compatibility format); -1 when the owner is
 * quarantined (whether or not its unit remaps: nothing is allocated until
 * iommu_owner_resume, one line), or its unit remaps but no entry could be
 * made (a broken unit, no free entry, an APIC id of 255 or more — 0xFF is
 * the xAPIC broadcast, not one CPU — the invalidation failed). */
int iommu_irq_alloc(uint16_t owner, uint8_t vector, uint32_t apic_id,
		    uint32_t *msi_addr, uint32_t *msi_data, uint16_t *handle);
/* the entry cleared and invalidated in the unit's interrupt entry cache:
 * 0 once the unit confirmed it (the vector it names may be reused);
 * IOMMU_UNCONFIRMED when it did not, now or at an earlier free of the
 * entry (the unit may still deliver through it: the index stays reserved,
 * and the vector must not go to anyone else); -1 when handle is not an
 * entry of owner's */
int iommu_irq_free(uint16_t owner, uint16_t handle);
#endif
