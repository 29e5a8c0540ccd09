/* kernel/proof/iommu_unbound.c — PROOF iommu-unbound: an unbound
 * function's VT-d domain is really gone. edu, bound as at boot, moves
 * EDU_XFER bytes into its driver's pool at iova X (the positive control:
 * the bytes land, no fault; the unit's IOTLB now holds X for edu's source
 * id). edu is unbound (devmgr_unbind: the driver's detach, the owner's
 * revocation, the domain's teardown). Then the proof plays hardware that
 * ignores Bus Master Enable: with kernel power, outside any driver or
 * grant, it sets memory decode and bus mastering in edu's config space and
 * programs edu's DMA engine at X, device to RAM and RAM to device. Each
 * transfer must be refused by the unit with a fault record naming edu's
 * source id, X, the direction and reason 2 (context entry not present:
 * QEMU 7.2 vtd_dev_to_context_entry's VTD_FR_CONTEXT_ENTRY_P), read from
 * the unit's own fault recording register with interrupts off, before the
 * kernel's fault interrupt takes it; the kernel's fault path (an unowned
 * source: counted in faults_unowned, one line, bus mastering off) must
 * then have turned bus mastering off. The page that was X's, back in the
 * page allocator (the unbind gave everything back) or withheld, must keep
 * its bytes. Last the proof turns decode off and binds edu again
 * (devmgr_rebind), so the proofs after it meet a fresh owner.
 * tests/qemu/test_iommu.py holds the faults against QEMU's vtd_dmar_fault
 * trace events. */
#include "drivers/edu/edu_var.h"
#include "kernel/cpu/cpu.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/iommu/iommu.h"
#include "kernel/iommu/vtd_internal.h"
#include "kernel/iommu/vtd_reg.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

#define UNBOUND_DMA_US	 2000000 /* edu starts a transfer 100 ms after CMD */
#define UNBOUND_FAULT_US 500000	 /* the fault interrupt, after sti */

/* the byte the positive control moved to X, at offset i */
static uint8_t unbound_pattern(size_t i)
{
	return (uint8_t)(i * 13 + 1);
}

/* the unit's fault record of sid, if one is set (F), read as the unit
 * holds it; nothing cleared */
static bool unbound_frcd(const struct vtd_unit *u, uint16_t sid,
			 struct iommu_fault *f)
{
	for (unsigned i = 0; i < u->nfr; i++) {
		uint32_t off = u->fro + 16 * i;
		uint32_t dw3 = vtd_rd32(u, off + 12);
		if (!(dw3 & VTD_FRCD_DW3_F) ||
		    (vtd_rd32(u, off + 8) & VTD_FRCD_DW2_SID_MASK) != sid)
			continue;
		f->sid = sid;
		f->reason = (uint8_t)(dw3 & VTD_FRCD_DW3_FR_MASK);
		f->write = !(dw3 & VTD_FRCD_DW3_T);
		f->addr =
		    ((uint64_t)vtd_rd32(u, off + 4) << 32 | vtd_rd32(u, off)) &
		    ~(uint64_t)(PAGE_SIZE - 1);
		return true;
	}
	return false;
}

struct unbound {
	struct pci_dev *d;
	struct vtd_unit *u;
	volatile uint8_t *regs; /* edu's BAR0, the kernel's own mapping */
	uint16_t sid;
	uint64_t x;
	unsigned refused, stopped, by_irq;
};

static void unbound_wr64(struct unbound *h, uint32_t off, uint64_t v)
{
	*(volatile uint64_t *)(h->regs + off) = v;
}

/* one transfer the device makes on its own: bus mastering set behind the
 * kernel's back, the engine programmed at X. True when the unit refused
 * it as asked and the kernel's fault path stopped the device */
static bool unbound_vector(struct unbound *h, bool to_ram)
{
	struct pci_dev *d = h->d;
	uint16_t cmd = pci_cfg_read16(d, PCI_COMMAND);
	pci_cfg_write16(d, PCI_COMMAND,
			cmd | PCI_COMMAND_MEM | PCI_COMMAND_MASTER);
	uint64_t unowned0 = h->u->faults_unowned;
	/* interrupts off: the fault interrupt would take (and clear) the
	 * record before the proof reads it; it comes at the restore */
	uint64_t flags = cpu_irq_save();
	unbound_wr64(h, EDU_DMA_SRC, to_ram ? EDU_BUF_ADDR : h->x);
	unbound_wr64(h, EDU_DMA_DST, to_ram ? h->x : EDU_BUF_ADDR);
	unbound_wr64(h, EDU_DMA_COUNT, EDU_XFER);
	unbound_wr64(h, EDU_DMA_CMD,
		     EDU_DMA_CMD_START | (to_ram ? EDU_DMA_CMD_TO_RAM : 0));
	uint64_t end = time_now_us() + UNBOUND_DMA_US;
	bool done = true;
	while (*(volatile uint32_t *)(h->regs + EDU_DMA_CMD) &
	       EDU_DMA_CMD_START)
		if (time_now_us() > end) {
			done = false;
			break;
		}
	struct iommu_fault f = {0};
	bool rec = unbound_frcd(h->u, h->sid, &f);
	cpu_irq_restore(flags);
	end = time_now_us() + UNBOUND_FAULT_US;
	while (h->u->faults_unowned == unowned0 && time_now_us() < end)
		__asm__ volatile("pause");
	bool irq = h->u->faults_unowned > unowned0;
	if (!irq)
		iommu_fault_poll();
	uint64_t taken = h->u->faults_unowned - unowned0;
	bool refused = done && rec && f.reason == VTD_FR_CTX_NP &&
		       f.addr == h->x && f.write == to_ram && taken == 1;
	bool stopped = !(pci_cfg_read16(d, PCI_COMMAND) & PCI_COMMAND_MASTER);
	h->refused += refused;
	h->stopped += stopped;
	h->by_irq += irq;
	kprintf("UNBOUND_VECTOR dir=%s iova=0x%lx done=%u record=%u "
		"sid=0x%04x addr=0x%lx write=%u reason=%u taken=%lu irq=%u "
		"refused=%u stopped=%u\n",
		to_ram ? "write" : "read", h->x, done, rec, f.sid, f.addr,
		f.write, f.reason, taken, irq, refused, stopped);
	return refused && stopped;
}

static void proof_iommu_unbound(void)
{
	struct edu_softc *sc = edu_first();
	struct unbound h = {0};
	uint8_t *snap = (uint8_t *)page_alloc(1, 0);
	h.d = sc ? sc->pci : NULL;
	if (!snap || !h.d || !dma_pool_live(&sc->pool) ||
	    !iommu_owner_translated(sc->owner) ||
	    iommu_scope(h.d, &h.sid, NULL) != IOMMU_IN_SCOPE ||
	    !(h.u = vtd_unit_for_sid(h.d->seg, h.sid)) ||
	    !(h.regs = mm_map_mmio(h.d->bar[0].base, EDU_REGS_LEN))) {
		proof_result("iommu-unbound", false,
			     "reason=needs-a-bound-edu-under-iommu");
		if (snap)
			page_free((uint64_t)snap, 1);
		return;
	}
	/* 1: the positive control, through the driver */
	uint64_t faults0 = h.u->faults;
	for (size_t i = 0; i < EDU_XFER; i++)
		((uint8_t *)sc->out.va)[i] = unbound_pattern(i);
	memset(sc->in.va, 0, EDU_BUF_SIZE);
	bool pos = edu_dma(sc, sc->out.iova, EDU_BUF_ADDR, EDU_XFER, 0) == 0 &&
		   edu_dma(sc, EDU_BUF_ADDR, sc->in.iova, EDU_XFER,
			   EDU_DMA_CMD_TO_RAM) == 0 &&
		   !memcmp(sc->in.va, sc->out.va, EDU_XFER) &&
		   h.u->faults == faults0;
	h.x = sc->in.iova;
	uint8_t *mem = sc->in.va; /* identity: X's page, the kernel's view */
	memset(mem, 0xa5, EDU_BUF_SIZE);
	/* 2: unbound; the page goes back to the allocator or is withheld */
	uint16_t owner = sc->owner;
	uint64_t w0 = auth_unbind_withheld_pages();
	int u = devmgr_unbind(h.d);
	bool withheld = u != 0 || auth_unbind_withheld_pages() != w0;
	bool gone = u >= 0 && !iommu_owner_translated(owner) && !h.d->owner;
	memcpy(snap, mem, PAGE_SIZE);
	/* the check below can fail: a write that landed would leave the
	 * pattern, which the page does not hold now */
	bool detectable = false;
	for (size_t i = 0; i < EDU_XFER && !detectable; i++)
		detectable = snap[i] != unbound_pattern(i);
	/* 3: the hostile device, both directions */
	bool ok = gone && detectable;
	ok &= unbound_vector(&h, true);
	ok &= unbound_vector(&h, false);
	bool intact = !memcmp(mem, snap, PAGE_SIZE);
	/* 4: off the bus again, as the unbind left it */
	pci_cfg_write16(h.d, PCI_COMMAND,
			pci_cfg_read16(h.d, PCI_COMMAND) &
			    ~(PCI_COMMAND_MEM | PCI_COMMAND_MASTER));
	bool off = !(pci_cfg_read16(h.d, PCI_COMMAND) &
		     (PCI_COMMAND_MEM | PCI_COMMAND_MASTER));
	page_free((uint64_t)snap, 1);
	/* bound again: a fresh owner, a fresh domain on the same source id */
	int r = devmgr_rebind(h.d);
	struct edu_softc *nsc = edu_first();
	bool back = r == 0 && nsc && nsc->owner && nsc->owner != owner;
	proof_result("iommu-unbound",
		     pos && ok && intact && off && h.refused == 2 &&
			 h.stopped == 2 && back,
		     "positive=%s unbind=%d page=%s iova=0x%lx sid=0x%04x "
		     "vectors=2 refused=%u stopped=%u by_irq=%u intact=%s "
		     "off=%s owner=%u->%u",
		     pos ? "ok" : "bad", u, withheld ? "withheld" : "pmm", h.x,
		     h.sid, h.refused, h.stopped, h.by_irq,
		     intact ? "yes" : "CHANGED", off ? "yes" : "no", owner,
		     back ? nsc->owner : 0);
}
PROOF_REGISTER("iommu-unbound", proof_iommu_unbound, 12);
