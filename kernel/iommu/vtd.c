/* kernel/iommu/vtd.c — Intel VT-d remapping units in legacy mode: root and
 * context tables, one domain per owner with second-level page tables,
 * queued invalidation with wait descriptors, fault recording and the fault
 * event interrupt (VT-d spec rev 3.x; bring-up order of
 * shared/reference/vtd.md §4, cross-checked with seL4 `vtd_enable` and
 * FreeBSD intel_qi.c).
 *
 * capOS identity-maps its own memory, so a pool's device address is its
 * physical address here too; what changes under the IOMMU is that the
 * device reaches only the pages its owner's pools map. */
#include "kernel/acpi/acpi.h"
#include "kernel/cpu/cpu.h"
#include "kernel/iommu/dmar.h"
#include "kernel/iommu/iommu.h"
#include "kernel/iommu/scope.h"
#include "kernel/iommu/vtd_internal.h"
#include "kernel/iommu/vtd_reg.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "kernel/time/time.h"

#define VTD_TIMEOUT_US 100000 /* register handshakes and invalidation waits */
#define VTD_IQ_ENTRIES 256    /* one page of 128-bit descriptors (QS=0) */
#define VTD_MAX_FNS    256

struct vtd_unit vtd_units[DMAR_MAX_UNITS];
unsigned vtd_nunits;
struct vtd_domain vtd_domains[VTD_MAX_DOMAINS];
static struct dmar_info dmar;
static const char *dmar_why; /* DMAR present but unusable */
/* per pci_devs[] index: the unit translating it (-1 none) and its source id */
static int8_t fn_unit[VTD_MAX_FNS];
static uint16_t fn_sid[VTD_MAX_FNS];

/* ---- registers: 32-bit accesses only, 64-bit ones as low then high ----- */
uint32_t vtd_rd32(const struct vtd_unit *u, uint32_t off)
{
	return *(volatile uint32_t *)(u->regs + off);
}

#ifdef CAPOS_HOST
/* the host tests' fake unit (tests/host/iommu/vtd_fake.h) sees each write
 * as it is made, as hardware does */
void vtd_host_wrote(const struct vtd_unit *u, uint32_t off);
#endif

void vtd_wr32(const struct vtd_unit *u, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(u->regs + off) = v;
#ifdef CAPOS_HOST
	vtd_host_wrote(u, off);
#endif
}

static uint64_t vtd_rd64(const struct vtd_unit *u, uint32_t off)
{
	uint64_t lo = vtd_rd32(u, off);
	return lo | (uint64_t)vtd_rd32(u, off + 4) << 32;
}

void vtd_wr64(const struct vtd_unit *u, uint32_t off, uint64_t v)
{
	vtd_wr32(u, off, (uint32_t)v);
	vtd_wr32(u, off + 4, (uint32_t)(v >> 32));
}

/* §10.4.4: set or clear one persistent enable, or fire a one-shot command,
 * and wait for GSTS to agree */
int vtd_gcmd(struct vtd_unit *u, uint32_t bit, bool on)
{
	uint32_t sts = vtd_rd32(u, VTD_GSTS) & VTD_GSTS_KEEP;
	vtd_wr32(u, VTD_GCMD, on ? sts | bit : sts & ~bit);
	uint64_t end = time_now_us() + VTD_TIMEOUT_US;
	while (!!(vtd_rd32(u, VTD_GSTS) & bit) != on)
		if (time_now_us() > end)
			return -1;
	return 0;
}

/* Bus Master Enable off, the rest of the command register as it was; was
 * it on? */
static bool vtd_bme_off(struct pci_dev *d)
{
	uint16_t c = pci_cfg_read16(d, PCI_COMMAND);
	if (!(c & PCI_COMMAND_MASTER))
		return false;
	pci_cfg_write16(d, PCI_COMMAND, c & ~PCI_COMMAND_MASTER);
	return true;
}

/* ---- fail closed ------------------------------------------------------- */
/* rule 7 of vtd.md §6: a unit that stops answering is not trusted again;
 * every function it translates loses Bus Master Enable */
static void vtd_unit_broken(struct vtd_unit *u, const char *why)
{
	if (u->broken)
		return;
	u->broken = true;
	u->why = why;
	kprintf("iommu: unit %u at 0x%lx untrusted (%s); bus mastering off "
		"for its functions\n",
		(unsigned)(u - vtd_units), u->base, why);
	for (unsigned i = 0; i < pci_ndevs && i < VTD_MAX_FNS; i++)
		if (fn_unit[i] == u - vtd_units && pci_devs[i].header_type == 0)
			vtd_bme_off(&pci_devs[i]);
}

/* bus mastering off for every function whose DMA arrives as sid; how many
 * had it on */
unsigned vtd_stop_sid(struct vtd_unit *u, uint16_t sid)
{
	unsigned n = 0;
	for (unsigned i = 0; i < pci_ndevs && i < VTD_MAX_FNS; i++)
		if (fn_unit[i] == u - vtd_units && fn_sid[i] == sid &&
		    pci_devs[i].header_type == 0)
			n += vtd_bme_off(&pci_devs[i]);
	return n;
}

/* §6.8: a unit that buffers writes (CAP.RWBF) may not see an entry that
 * turned present (CM=0: no invalidation follows) until its write buffer is
 * flushed. 0, or -1 when it did not complete (a unit up is given up) */
int vtd_write_buffer_flush(struct vtd_unit *u)
{
	if (!(u->cap & VTD_CAP_RWBF))
		return 0;
	if (u->broken)
		return -1;
	uint32_t sts = vtd_rd32(u, VTD_GSTS) & VTD_GSTS_KEEP;
	vtd_wr32(u, VTD_GCMD, sts | VTD_GCMD_WBF);
	uint64_t end = time_now_us() + VTD_TIMEOUT_US;
	while (vtd_rd32(u, VTD_GSTS) & VTD_GCMD_WBF)
		if (time_now_us() > end) {
			if (u->up)
				vtd_unit_broken(u,
						"write buffer flush timed out");
			return -1;
		}
	return 0;
}

/* ---- queued invalidation (§6.5.2) --------------------------------------- */
static void vtd_qi_push(struct vtd_unit *u, uint64_t lo, uint64_t hi)
{
	uint64_t *d = (uint64_t *)u->iq + 2 * u->iq_tail;
	d[0] = lo;
	d[1] = hi;
	vtd_flush(u, d, 16);
	u->iq_tail = (u->iq_tail + 1) % VTD_IQ_ENTRIES;
	vtd_wr32(u, VTD_IQT, u->iq_tail << VTD_IQT_SHIFT);
}

/* n descriptors, then a wait descriptor with Status Write: the unit writes
 * the sequence number once everything queued before it has completed
 * (§6.5.2.8). Bounded. Interrupts stay off throughout: the fault handler
 * invalidates too (quarantine), and the queue has one tail. */

static int vtd_qi_run(struct vtd_unit *u, const uint64_t (*d)[2], unsigned n)
{
	uint64_t flags = cpu_irq_save();
	int r = -1;
	volatile uint32_t *st = (volatile uint32_t *)u->status;
	if (u->broken)
		goto out;
	for (unsigned i = 0; i < n; i++)
		vtd_qi_push(u, d[i][0], d[i][1]);
	/* the status word is cleared to 0 below, so 0 is never a sequence
	 * number: after 2^32 waits it would read as done before the unit
	 * wrote anything, and the caller would free pages still cached */
	uint32_t seq = ++u->wait_seq;
	if (!seq)
		seq = ++u->wait_seq;
	*st = 0;
	vtd_flush(u, (const void *)st, 4);
	vtd_qi_push(u,
		    VTD_QI_WAIT | VTD_QI_WAIT_SW | VTD_QI_WAIT_FN |
			(uint64_t)seq << VTD_QI_WAIT_DATA_SHIFT,
		    u->status);
	uint64_t end = time_now_us() + VTD_TIMEOUT_US;
	while (*st != seq) {
		uint32_t fsts = vtd_rd32(u, VTD_FSTS);
		if (fsts & (VTD_FSTS_IQE | VTD_FSTS_ITE)) {
			vtd_unit_broken(u, fsts & VTD_FSTS_IQE
					       ? "invalidation queue error"
					       : "invalidation time-out error");
			goto out;
		}
		if (time_now_us() > end) {
			vtd_unit_broken(u, "invalidation wait timed out");
			goto out;
		}
	}
	u->waits++;
	r = 0;
out:
	cpu_irq_restore(flags);
	return r;
}

static uint64_t vtd_iotlb_drain(const struct vtd_unit *u)
{
	return ((u->cap & VTD_CAP_DRD) ? VTD_QI_IOTLB_DR : 0) |
	       ((u->cap & VTD_CAP_DWD) ? VTD_QI_IOTLB_DW : 0);
}

static uint64_t vtd_iotlb_dsi(const struct vtd_unit *u, uint16_t did)
{
	return VTD_QI_IOTLB | VTD_QI_G_DOMAIN << VTD_QI_G_SHIFT |
	       (uint64_t)did << VTD_QI_DID_SHIFT | vtd_iotlb_drain(u);
}

/* context cache and IOTLB, everything (after SRTP, §6.6) */
static int vtd_inv_global(struct vtd_unit *u)
{
	const uint64_t d[2][2] = {
	    {VTD_QI_CC | VTD_QI_G_GLOBAL << VTD_QI_G_SHIFT, 0},
	    {VTD_QI_IOTLB | VTD_QI_G_GLOBAL << VTD_QI_G_SHIFT |
		 vtd_iotlb_drain(u),
	     0},
	};
	return vtd_qi_run(u, d, 2);
}

/* every IOTLB entry of domain `did` (§6.5.2.3, domain-selective) */
int vtd_inv_domain(struct vtd_unit *u, uint16_t did)
{
	const uint64_t d[1][2] = {{vtd_iotlb_dsi(u, did), 0}};
	u->iotlb_invs++;
	return vtd_qi_run(u, d, 1);
}

/* one context entry changed: its context-cache entry, tagged cc_did (0
 * for an entry that was not present: a CM=1 unit caches those under domain
 * id 0, §6.1), then the IOTLB of the domain the entry names, did
 * (§6.5.3.3) */
int vtd_inv_context(struct vtd_unit *u, uint16_t sid, uint16_t cc_did,
		    uint16_t did)
{
	const uint64_t d[2][2] = {
	    {VTD_QI_CC | VTD_QI_G_DEVICE << VTD_QI_G_SHIFT |
		 (uint64_t)cc_did << VTD_QI_DID_SHIFT |
		 (uint64_t)sid << VTD_QI_SID_SHIFT,
	     0},
	    {vtd_iotlb_dsi(u, did), 0},
	};
	u->iotlb_invs++;
	return vtd_qi_run(u, d, 2);
}

/* one interrupt-remapping entry (or all) out of the interrupt entry cache */
int vtd_inv_iec(struct vtd_unit *u, int index)
{
	uint64_t lo = VTD_QI_IEC;
	if (index >= 0)
		lo |= VTD_QI_IEC_INDEX | (uint64_t)index
					     << VTD_QI_IEC_IIDX_SHIFT;
	const uint64_t d[1][2] = {{lo, 0}};
	return vtd_qi_run(u, d, 1);
}

/* ---- faults (§7.3) ----------------------------------------------------- */
static const char *vtd_fr_name(uint8_t fr)
{
	switch (fr) {
	case VTD_FR_ROOT_NP:
		return "root-not-present";
	case VTD_FR_CTX_NP:
		return "context-not-present";
	case VTD_FR_CTX_INV:
		return "context-invalid";
	case VTD_FR_AGAW:
		return "beyond-address-width";
	case VTD_FR_WRITE:
		return "write-not-permitted";
	case VTD_FR_READ:
		return "read-not-permitted";
	case VTD_FR_PTE_FETCH:
		return "table-entry-unreadable";
	case VTD_FR_PTE_RSVD:
		return "table-entry-reserved-bits";
	case VTD_FR_INTR_RANGE:
		return "into-interrupt-range";
	case VTD_FR_IR_NP:
		return "interrupt-entry-not-present";
	case VTD_FR_IR_COMPAT:
		return "compatibility-interrupt-blocked";
	case VTD_FR_IR_SID:
		return "interrupt-source-id-mismatch";
	default:
		return "other";
	}
}

/* whether a fault of unowned source sid is to be counted only: its
 * source said already, or past the VTD_UNOWNED_SAID sources said (the
 * first such fault one line in all). A bitmap over the 65536 source ids
 * would bound the lines only by 65536 (a device may put any id on its
 * requests): a few sources are what a broken board shows, and the rest
 * are in faults_unowned */
static bool vtd_unowned_said(struct vtd_unit *u, uint16_t sid)
{
	for (unsigned i = 0; i < u->unowned_nsaid; i++)
		if (u->unowned_sid[i] == sid)
			return true;
	if (u->unowned_nsaid < VTD_UNOWNED_SAID) {
		u->unowned_sid[u->unowned_nsaid++] = sid;
		return false;
	}
	if (!u->unowned_more_said) {
		u->unowned_more_said = true;
		kprintf("iommu: unit %u: a fault of sid %02x:%02x.%u, an "
			"unowned source past the %u said; faults of further "
			"unowned sources counted only (faults_unowned)\n",
			(unsigned)(u - vtd_units), sid >> 8, (sid >> 3) & 0x1f,
			sid & 7, VTD_UNOWNED_SAID);
	}
	return true;
}

static void vtd_fault_record(struct vtd_unit *u, const struct iommu_fault *f)
{
	struct vtd_domain *dm = NULL;
	for (unsigned i = 0; i < VTD_MAX_DOMAINS; i++)
		if (vtd_domains[i].used && vtd_domains[i].u == u &&
		    vtd_domains[i].sid == f->sid)
			dm = &vtd_domains[i];
	u->faults++;
	if (dm) {
		dm->faults++;
		dm->last = *f;
	} else {
		u->faults_unowned++;
	}
	/* a line per source: a further fault of an owner quarantined
	 * already, or of an unowned source said already (or past those
	 * said), is counted only (a device that ignores Bus Master Enable
	 * keeps recording) */
	bool said = dm ? dm->quarantined : vtd_unowned_said(u, f->sid);
	if (!said && f->reason >= VTD_FR_IR)
		kprintf("iommu: interrupt fault owner %u sid %02x:%02x.%u "
			"index %lu reason %u (%s)\n",
			dm ? dm->owner : 0, f->sid >> 8, (f->sid >> 3) & 0x1f,
			f->sid & 7, f->addr, f->reason, vtd_fr_name(f->reason));
	else if (!said)
		kprintf("iommu: dma fault owner %u sid %02x:%02x.%u addr 0x%lx "
			"%s reason %u (%s)\n",
			dm ? dm->owner : 0, f->sid >> 8, (f->sid >> 3) & 0x1f,
			f->sid & 7, f->addr, f->write ? "write" : "read",
			f->reason, vtd_fr_name(f->reason));
	if (dm)
		vtd_domain_quarantine(dm);
	else
		vtd_stop_sid(u, f->sid); /* nobody's device: stopped too */
}

/* Read and clear every pending fault record, then the overflow flag. A
 * fault recorded while another record is still set (FSTS.PPF) raises no
 * fault event (§7.3.1: only PPF going from 0 to 1 does), so no record may
 * be left set: one recorded during a pass into a record the pass has gone
 * by is taken by the next pass, until a pass finds none. Bounded: every
 * fault taken stops its device, so only a device that ignores Bus Master
 * Enable keeps recording; after VTD_FAULT_PASSES the unit is marked
 * (faults_left, one line) and the main loop takes the rest
 * (iommu_fault_retake), as no fault event will. */
#define VTD_FAULT_PASSES 4
static volatile unsigned vtd_units_left; /* units with faults_left */

static unsigned vtd_fault_take(struct vtd_unit *u)
{
	unsigned n = 0, found = 0;
	for (unsigned pass = 0; pass < VTD_FAULT_PASSES; pass++) {
		found = 0;
		for (unsigned i = 0; i < u->nfr; i++) {
			uint32_t off = u->fro + 16 * i;
			uint32_t dw3 = vtd_rd32(u, off + 12);
			if (!(dw3 & VTD_FRCD_DW3_F))
				continue;
			uint64_t fi = vtd_rd64(u, off);
			struct iommu_fault f = {
			    .sid = (uint16_t)(vtd_rd32(u, off + 8) &
					      VTD_FRCD_DW2_SID_MASK),
			    .reason = (uint8_t)(dw3 & VTD_FRCD_DW3_FR_MASK),
			};
			/* an interrupt fault names an IRTE, not an address,
			 * and has no direction */
			if (f.reason >= VTD_FR_IR) {
				f.addr = fi >> VTD_FRCD_IR_INDEX_SHIFT;
			} else {
				f.addr = fi & ~(uint64_t)(PAGE_SIZE - 1);
				f.write = !(dw3 & VTD_FRCD_DW3_T);
			}
			vtd_wr32(u, off + 12, VTD_FRCD_DW3_F); /* W1C */
			vtd_fault_record(u, &f);
			found++;
		}
		n += found;
		if (!found)
			break;
	}
	bool left = found && (vtd_rd32(u, VTD_FSTS) & VTD_FSTS_PPF);
	if (left != u->faults_left) {
		/* said at the unit's storms 1, 2, 4, ...: a device that
		 * storms, pauses and storms again is not a line a storm */
		if (left && line_due(++u->storms))
			kprintf(
			    "iommu: unit %u still recording faults after %u "
			    "passes; the main loop takes the rest (%lu such)\n",
			    (unsigned)(u - vtd_units), VTD_FAULT_PASSES,
			    u->storms);
		u->faults_left = left;
		vtd_units_left += left ? 1u : -1u;
	}
	uint32_t fsts = vtd_rd32(u, VTD_FSTS);
	/* every overflow counted (fault_overflows), the first of the unit
	 * a line: a device that keeps faulting under new source ids
	 * overflows at every take */
	if (fsts & VTD_FSTS_PFO) {
		if (!u->overflows++)
			kprintf("iommu: unit %u fault records overflowed; "
				"faults lost (further overflows counted "
				"only: fault_overflows)\n",
				(unsigned)(u - vtd_units));
		vtd_wr32(u, VTD_FSTS, VTD_FSTS_PFO);
	}
	return n;
}

static void vtd_fault_intr(void *arg)
{
	struct vtd_unit *u = arg;
	u->fault_irqs++;
	vtd_fault_take(u);
}

/* the fault interrupt takes records too: with it on, it could come between
 * a record's read and its clear and take the same record (counted and said
 * twice, or a cleared record read back as a fault of source 0) */
unsigned iommu_fault_poll(void)
{
	unsigned n = 0;
	uint64_t flags = cpu_irq_save();
	for (unsigned i = 0; i < vtd_nunits; i++)
		if (vtd_units[i].up)
			n += vtd_fault_take(&vtd_units[i]);
	cpu_irq_restore(flags);
	return n;
}

unsigned iommu_fault_retake(void)
{
	return vtd_units_left ? iommu_fault_poll() : 0;
}

/* §10.4.7-10.4.11: clear old records, point the fault event at a vector of
 * this CPU, unmask */
static int vtd_fault_setup(struct vtd_unit *u)
{
	for (unsigned i = 0; i < u->nfr; i++)
		vtd_wr32(u, u->fro + 16 * i + 12, VTD_FRCD_DW3_F);
	/* an invalidation error left from before (ITE stops the queue) */
	vtd_wr32(u, VTD_FSTS,
		 VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE);
	u->fault_vector = vector_alloc(vtd_fault_intr, u);
	if (!u->fault_vector)
		return -1;
	vtd_wr32(u, VTD_FEDATA, u->fault_vector);
	vtd_wr32(u, VTD_FEADDR,
		 MSI_ADDR_BASE | lapic_id() << MSI_ADDR_DEST_SHIFT);
	vtd_wr32(u, VTD_FEUADDR, 0);
	vtd_wr32(u, VTD_FECTL, 0);
	return 0;
}

/* ---- bring-up (vtd.md §4) ------------------------------------------------ */
static const char *vtd_unit_caps(struct vtd_unit *u)
{
	u->cap = vtd_rd64(u, VTD_CAP);
	u->ecap = vtd_rd64(u, VTD_ECAP);
	unsigned sagaw = (unsigned)FIELD_GET(VTD_CAP_SAGAW, u->cap);
	unsigned mgaw = (unsigned)FIELD_GET(VTD_CAP_MGAW, u->cap) + 1;
	/* the widest table the unit walks (4 levels even where MGAW is 39:
	 * many units offer no 3-level width in SAGAW), the addresses clipped
	 * to what it translates below */
	if (sagaw & VTD_SAGAW_48) {
		u->levels = 4;
		u->aw = 2;
	} else if (sagaw & VTD_SAGAW_39) {
		u->levels = 3;
		u->aw = 1;
	} else {
		return "no 3- or 4-level table width in CAP.SAGAW";
	}
	/* 12 offset bits and 9 per level: 39 for 3 levels, 48 for 4 */
	u->agaw = MIN(12 + 9 * u->levels, mgaw);
	if (u->agaw < 32)
		return "CAP.MGAW below 32 bits";
	if (!(u->ecap & VTD_ECAP_QI))
		return "no queued invalidation (ECAP.QI)";
	u->ndid = 1u << (4 + 2 * FIELD_GET(VTD_CAP_ND, u->cap));
	u->fro = (uint32_t)FIELD_GET(VTD_CAP_FRO, u->cap) * 16;
	u->nfr = (uint32_t)FIELD_GET(VTD_CAP_NFR, u->cap) + 1;
	u->iro = (uint32_t)FIELD_GET(VTD_ECAP_IRO, u->ecap) * 16;
	if (!u->fro || u->fro + 16 * u->nfr > VTD_REG_SPAN || !u->iro ||
	    u->iro + 16 > VTD_REG_SPAN)
		return "fault or IOTLB registers outside the register page";
	return NULL;
}

static const char *vtd_unit_up(struct vtd_unit *u)
{
	const char *why = vtd_unit_caps(u);
	if (why)
		return why;
	/* 2: firmware left translation on (OVMF does not): switch it off;
	 * bus mastering of every in-scope endpoint is already off */
	uint32_t gsts = vtd_rd32(u, VTD_GSTS);
	if (gsts & (VTD_GCMD_TE | VTD_GCMD_IRE | VTD_GCMD_QIE)) {
		kprintf("iommu: unit at 0x%lx enabled at entry (GSTS 0x%x); "
			"disabling\n",
			u->base, gsts);
		if (vtd_gcmd(u, VTD_GCMD_TE, false) ||
		    vtd_gcmd(u, VTD_GCMD_IRE, false) ||
		    vtd_gcmd(u, VTD_GCMD_QIE, false))
			return "cannot disable firmware's remapping";
	}
	/* 3: fault reporting first, so nothing that follows is lost */
	if (vtd_fault_setup(u))
		return "no CPU vector for the fault event";
	/* 4: an empty root table: every request faults until a context
	 * entry exists for its source */
	u->root = page_alloc(1, 0);
	u->iq = page_alloc(1, 0);
	u->status = page_alloc(1, 0);
	if (!u->root || !u->iq || !u->status)
		return "no memory for root table or invalidation queue";
	vtd_flush(u, (void *)u->root, PAGE_SIZE);
	vtd_wr64(u, VTD_RTADDR, u->root); /* TTM 00: legacy */
	if (vtd_gcmd(u, VTD_GCMD_SRTP, true))
		return "root table pointer not latched (GSTS.RTPS)";
	/* 5: invalidation queue, 256 descriptors */
	u->iq_tail = 0;
	vtd_wr32(u, VTD_IQT, 0);
	vtd_wr64(u, VTD_IQA, u->iq | 0 << VTD_IQA_QS_SHIFT);
	if (vtd_gcmd(u, VTD_GCMD_QIE, true))
		return "queued invalidation not enabled (GSTS.QIES)";
	/* 6: nothing cached from before may survive */
	if (vtd_inv_global(u))
		return "global invalidation did not complete";
	/* 7: interrupt remapping, where the unit has it */
	if ((u->ecap & VTD_ECAP_IR) && vtd_ir_up(u))
		return "interrupt remapping did not come up";
	if (vtd_write_buffer_flush(u))
		return "write buffer flush did not complete (GSTS.WBFS)";
	/* 8 */
	if (vtd_gcmd(u, VTD_GCMD_TE, true))
		return "translation not enabled (GSTS.TES)";
	return NULL;
}

struct vtd_unit *vtd_unit_for_sid(uint16_t seg, uint16_t sid)
{
	for (unsigned i = 0; i < pci_ndevs && i < VTD_MAX_FNS; i++)
		if (fn_unit[i] >= 0 && pci_devs[i].seg == seg &&
		    fn_sid[i] == sid) {
			struct vtd_unit *u = &vtd_units[fn_unit[i]];
			return u->up && !u->broken ? u : NULL;
		}
	return NULL;
}

enum iommu_scope iommu_scope(const struct pci_dev *d, uint16_t *sid,
			     const char **why)
{
	static const char *const none = "no DMAR table";
	unsigned i = (unsigned)(d - pci_devs);
	const char *w = dmar_why ? dmar_why : none;
	enum iommu_scope r = IOMMU_NO_SCOPE;
	if (dmar.nunits && i < pci_ndevs && i < VTD_MAX_FNS) {
		if (fn_unit[i] < 0) {
			w = "in no remapping unit's scope";
		} else {
			struct vtd_unit *u = &vtd_units[fn_unit[i]];
			*sid = fn_sid[i];
			r = u->up && !u->broken ? IOMMU_IN_SCOPE
						: IOMMU_UNIT_FAILED;
			w = u->why ? u->why : "in scope";
		}
	} else if (dmar_why) {
		/* an unreadable DMAR: scopes unknown, so nothing is trusted */
		r = IOMMU_UNIT_FAILED;
	}
	if (why)
		*why = w;
	return r;
}

void iommu_init(void)
{
	uint64_t t = acpi_find("DMAR");
	memset(fn_unit, -1, sizeof(fn_unit));
	if (!t)
		return;
	uint32_t len; /* ACPI header: length at byte 4, checked by acpi_init */
	memcpy(&len, (const uint8_t *)t + 4, 4);
	if (dmar_parse((const uint8_t *)t, len, &dmar, &dmar_why)) {
		kprintf("iommu: DMAR unusable (%s); DMA-capable functions "
			"stay unbound\n",
			dmar_why);
		for (unsigned i = 0; i < pci_ndevs; i++)
			if (pci_devs[i].header_type == 0)
				vtd_bme_off(&pci_devs[i]);
		return;
	}
	kprintf("iommu: DMAR haw %u flags 0x%x: %u unit(s), %u scope(s), %u "
		"RMRR(s)\n",
		dmar.haw, dmar.flags, dmar.nunits, dmar.nscopes, dmar.nrmrr);
	/* which unit translates which function; bus mastering off on every
	 * in-scope endpoint until its owner's domain exists */
	for (unsigned i = 0; i < pci_ndevs && i < VTD_MAX_FNS; i++) {
		struct pci_dev *d = &pci_devs[i];
		fn_unit[i] = (int8_t)dmar_unit_for(&dmar, d);
		fn_sid[i] = pci_source_id(d);
		if (fn_unit[i] >= 0 && d->header_type == 0)
			vtd_bme_off(d);
	}
	for (unsigned i = 0; i < dmar.nrmrr; i++)
		/* capOS binds no device that needs firmware-reserved DMA
		 * (USB legacy emulation, GPUs): they stay unmapped */
		kprintf("iommu: RMRR 0x%lx-0x%lx not mapped (no capOS driver "
			"needs one)\n",
			dmar.rmrr[i].base, dmar.rmrr[i].limit);
	vtd_nunits = dmar.nunits;
	vtd_units_left = 0;
	for (unsigned i = 0; i < vtd_nunits; i++) {
		struct vtd_unit *u = &vtd_units[i];
		u->base = dmar.units[i].base;
		u->seg = dmar.units[i].seg;
		/* §9.8: a second-level entry holds address bits HAW-1:12,
		 * and never more than 51:12 */
		u->haw = MIN(dmar.haw, 52u);
		u->regs = mm_map_mmio(u->base, VTD_REG_SPAN);
		u->why = u->regs ? vtd_unit_up(u) : "registers not mappable";
		u->up = !u->why;
		kprintf("iommu: unit %u at 0x%lx VER %x CAP 0x%lx ECAP 0x%lx: "
			"%s%s%s levels=%u agaw=%u domains=%u fault_vector=%u "
			"ir=%s\n",
			i, u->base, vtd_rd32(u, VTD_VER), u->cap, u->ecap,
			u->up ? "up" : "FAILED (", u->up ? "" : u->why,
			u->up ? "" : ")", u->levels, u->agaw, u->ndid,
			u->fault_vector, u->ir ? "on" : "off");
		if (!u->up) {
			u->broken = true;
			for (unsigned j = 0; j < pci_ndevs && j < VTD_MAX_FNS;
			     j++)
				if (fn_unit[j] == (int)i) {
					char a[16];
					pci_addr_str(&pci_devs[j], a,
						     sizeof(a));
					kprintf("iommu: %s stays unbound: unit "
						"%u failed (%s)\n",
						a, i, u->why);
				}
		}
	}
}
