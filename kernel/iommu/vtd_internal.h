/* kernel/iommu/vtd_internal.h — remapping unit and domain state shared by
 * the files of kernel/iommu (kernel only). */
#ifndef CAPOS_VTD_INTERNAL_H
#define CAPOS_VTD_INTERNAL_H
#include "kernel/iommu/iommu.h"

#define VTD_MAX_DOMAINS 64
#define VTD_IRT_ENTRIES 256 /* one page of 128-bit IRTEs (IRTA.S = 7) */
/* unowned fault sources said a line each, per unit (vtd_fault_record) */
#define VTD_UNOWNED_SAID 8

struct vtd_unit {
	uint64_t base;
	volatile uint8_t *regs;
	uint16_t seg;
	uint64_t cap, ecap;
	bool up, broken;
	const char *why;	   /* why it is not up, or was given up */
	unsigned levels, aw, agaw; /* table levels, context AW, address bits */
	unsigned haw; /* host addresses lie below 2^haw (DMAR HAW, <= 52) */
	unsigned ndid;
	uint32_t fro, nfr, iro;
	uint64_t root; /* root table (phys) */
	uint64_t iq;   /* invalidation queue (phys) */
	unsigned iq_tail;
	uint64_t status; /* page the wait descriptors write into */
	uint32_t wait_seq;
	uint8_t fault_vector;
	bool ir;      /* interrupt remapping enabled */
	uint64_t irt; /* interrupt remapping table (phys) */
	uint16_t irte_owner[VTD_IRT_ENTRIES]; /* 0: free */
	/* fault records set after VTD_FAULT_PASSES: no fault event comes
	 * while one is (FSTS.PPF), so the main loop takes them
	 * (iommu_fault_retake) */
	bool faults_left;
	uint64_t storms; /* takes that left records set (said by line_due) */
	/* unowned sources whose first fault was a line: the first
	 * VTD_UNOWNED_SAID of them; a fault of any further one is counted
	 * only (faults_unowned), after one line in all (unowned_more_said) */
	uint16_t unowned_sid[VTD_UNOWNED_SAID];
	uint8_t unowned_nsaid;
	bool unowned_more_said;
	/* counters */
	uint64_t fault_irqs, faults, faults_unowned, overflows;
	uint64_t waits, iotlb_invs;
};

struct vtd_domain {
	bool used;
	uint16_t owner, did, sid;
	struct vtd_unit *u;
	uint64_t pt;	  /* top-level second-level table (phys) */
	uint64_t pages;	  /* leaf pages mapped now */
	uint64_t ptpages; /* table pages held, the top-level one too */
	uint64_t faults;
	struct iommu_fault last;
	unsigned irtes;
	bool quarantined; /* after a fault: context cleared, device stopped */
	/* the quarantine's context-cache and IOTLB invalidation went
	 * unconfirmed: the unit may still hold the old context entry and
	 * translations, so nothing the domain mapped, nor its tables, is
	 * ever confirmed free again — every later unmap and the teardown
	 * answer IOMMU_UNCONFIRMED, and it is never resumed — whatever a later
	 * invalidation says (not only because the unit is given up) */
	bool stop_unconfirmed;
	/* times this quarantine found bus mastering on again and turned it
	 * off (the first said, the rest counted) */
	uint64_t bm_again;
	/* iommu_map's refusals (domain.c VTD_MAP_*): the reasons said, and
	 * every one counted */
	unsigned map_said;
	uint64_t maps_refused;
	/* iommu_irq_alloc's refusals (quarantined, table full), said at
	 * 1, 2, 4, ... of them (ir.c irq_refused) */
	uint64_t irqs_refused;
};

extern struct vtd_unit vtd_units[];
extern unsigned vtd_nunits;
extern struct vtd_domain vtd_domains[VTD_MAX_DOMAINS];
extern uint64_t vtd_irqs_refused; /* every domain's irqs_refused, in all */

uint32_t vtd_rd32(const struct vtd_unit *u, uint32_t off);
void vtd_wr32(const struct vtd_unit *u, uint32_t off, uint32_t v);
void vtd_wr64(const struct vtd_unit *u, uint32_t off, uint64_t v);
int vtd_gcmd(struct vtd_unit *u, uint32_t bit, bool on);
/* kernel/iommu/flush.c: clflush [p, p + len) unless ECAP.C */
void vtd_flush(const struct vtd_unit *u, const void *p, size_t len);
int vtd_inv_domain(struct vtd_unit *u, uint16_t did);
int vtd_write_buffer_flush(struct vtd_unit *u);
int vtd_inv_context(struct vtd_unit *u, uint16_t sid, uint16_t cc_did,
		    uint16_t did);
struct vtd_unit *vtd_unit_for_sid(uint16_t seg, uint16_t sid);
int vtd_inv_iec(struct vtd_unit *u, int index);
struct vtd_domain *vtd_domain_of(uint16_t owner);
/* bus mastering off for every function whose DMA arrives as sid; returns
 * how many had it on */
unsigned vtd_stop_sid(struct vtd_unit *u, uint16_t sid);
/* a DMA fault revokes the device's access: bus mastering off and its
 * context entry cleared (caches invalidated), until iommu_owner_resume;
 * a fault of an owner quarantined already turns bus mastering off again */
void vtd_domain_quarantine(struct vtd_domain *dm);
/* kernel/iommu/ir.c: zeroed IRT, IRTA, SIRTP, IEC global, IRE. 0 or -1 */
int vtd_ir_up(struct vtd_unit *u);
#endif
