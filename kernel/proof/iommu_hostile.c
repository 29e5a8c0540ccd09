/* kernel/proof/iommu_hostile.c — the iommu-hostile proof: QEMU's edu device
 * plays a hostile bus master. Holding only its owner's register window, the
 * proof tells the device's DMA engine to write into a canary page (kernel
 * memory never granted), into the old iova of a pool its owner revoked
 * (after a transfer into that pool succeeded, so the IOTLB held the
 * translation), and to write into and read from another owner's pool. The
 * IOMMU backend must block each transfer: the target bytes stay as they
 * were, the fault arrives (by the fault-event interrupt) against edu's
 * owner with edu's source id and the target address, and the fault
 * quarantines the owner (edu's bus mastering off, its context entry gone)
 * and, at the next safe point (auth_poll), revokes every capability the
 * owner holds: the pool it held during the attack is seized (not live, a
 * carve refused as owner-revoked), its register window refuses reads, and
 * new pools are refused — until the proof reinstates the owner on purpose
 * for the next vector. The victim's pool stays live. A positive transfer
 * into edu's own pool shows the engine works. Last, the edu driver, whose
 * own capabilities went with the first revocation, recovers (edu_recover)
 * and its interrupt-completed transfer works again.
 * tests/qemu/test_iommu.py holds each reported fault against QEMU's
 * vtd_dmar_fault trace events. */
#include "drivers/edu/edu_var.h"
#include "kernel/authority/authority.h"
#include "kernel/iommu/iommu.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

#define HOSTILE_DMA_US	 2000000 /* edu starts a transfer 100 ms after CMD */
#define HOSTILE_FAULT_US 500000
#define VTD_FR_WRITE	 5
#define VTD_FR_READ	 6

struct hostile {
	struct pci_dev *edu;
	struct dev_mmio regs; /* edu's registers, as its driver holds them */
	struct dma_pool held; /* a pool edu's owner holds while it attacks */
	uint16_t sid;
	unsigned vectors, blocked, intact, by_irq, stopped, revoked;
	bool ok;
};

/* the capabilities edu's owner holds during a vector */
static bool hostile_arm(struct hostile *h)
{
	uint16_t owner = h->edu->owner;
	if (mmio_grant(h->edu, owner, 0, 0, EDU_REGS_LEN,
		       MMIO_READ | MMIO_WRITE, &h->regs) != 0)
		return false;
	if (dma_pool_create(owner, PAGE_SIZE, EDU_DMA_LIMIT, &h->held) != 0) {
		mmio_revoke(&h->regs);
		return false;
	}
	return true;
}

/* after a fault: the safe point revokes the owner; every capability it
 * held must be dead, with owner-revoked refusals, and it gets no new one */
static bool hostile_revoked(struct hostile *h)
{
	uint16_t owner = h->edu->owner;
	bool polled = auth_poll() == 1;
	uint64_t r0 = auth_refusals[AUTH_REVOKED];
	struct dma_buf b;
	struct dma_pool np;
	bool dead = auth_owner_revoked(owner) && !dma_pool_live(&h->held) &&
		    dma_pool_carve(&h->held, 64, 8, &b) != 0 &&
		    mmio_read32(&h->regs, EDU_ID) == 0xffffffffu &&
		    dma_pool_create(owner, PAGE_SIZE, EDU_DMA_LIMIT, &np) != 0;
	return polled && dead && auth_refusals[AUTH_REVOKED] == r0 + 3;
}

static struct pci_dev *hostile_find_edu(void)
{
	for (unsigned i = 0; i < pci_ndevs; i++)
		if (pci_devs[i].vendor == EDU_VENDOR &&
		    pci_devs[i].device == EDU_DEVICE && pci_devs[i].owner)
			return &pci_devs[i];
	return NULL;
}

/* another owner whose DMA the IOMMU translates: the victim */
static uint16_t hostile_victim(uint16_t not )
{
	for (unsigned i = 0; i < pci_ndevs; i++) {
		uint16_t o = pci_devs[i].owner;
		if (o && o != not &&iommu_owner_translated(o))
			return o;
	}
	return 0;
}

/* one transfer between the device buffer and iova; false if the engine
 * never finished */
static bool hostile_dma(struct hostile *h, uint64_t iova, bool to_ram)
{
	struct dev_mmio *r = &h->regs;
	mmio_write64(r, EDU_DMA_SRC, to_ram ? EDU_BUF_ADDR : iova);
	mmio_write64(r, EDU_DMA_DST, to_ram ? iova : EDU_BUF_ADDR);
	mmio_write64(r, EDU_DMA_COUNT, EDU_XFER);
	mmio_write64(r, EDU_DMA_CMD,
		     EDU_DMA_CMD_START | (to_ram ? EDU_DMA_CMD_TO_RAM : 0));
	uint64_t end = time_now_us() + HOSTILE_DMA_US;
	while (mmio_read32(r, EDU_DMA_CMD) & EDU_DMA_CMD_START)
		if (time_now_us() > end)
			return false;
	return true;
}

static bool all_bytes(const uint8_t *p, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* a transfer that must be blocked: the fault must name edu's owner, its
 * source id, the page, the direction; `mem` must keep byte `fill` */
static void hostile_vector(struct hostile *h, const char *name, uint64_t iova,
			   bool to_ram, const uint8_t *mem, uint8_t fill)
{
	uint16_t owner = h->edu->owner;
	uint64_t f0 = iommu_fault_count(owner, NULL);
	bool done = hostile_dma(h, iova, to_ram);
	/* the fault event interrupt records it; polling only as a fallback
	 * so a lost interrupt shows in by_irq */
	uint64_t end = time_now_us() + HOSTILE_FAULT_US;
	while (iommu_fault_count(owner, NULL) == f0 && time_now_us() < end)
		__asm__ volatile("pause");
	bool irq = iommu_fault_count(owner, NULL) > f0;
	if (!irq)
		iommu_fault_poll();
	struct iommu_fault f = {0};
	uint64_t n = iommu_fault_count(owner, &f) - f0;
	bool blocked = n == 1 && f.sid == h->sid && f.addr == iova &&
		       f.write == to_ram &&
		       f.reason == (to_ram ? VTD_FR_WRITE : VTD_FR_READ);
	bool intact = all_bytes(mem, fill, EDU_XFER);
	/* the fault revoked the device's access: stopped and quarantined */
	bool stopped =
	    iommu_owner_quarantined(owner) &&
	    !(pci_cfg_read16(h->edu, PCI_COMMAND) & PCI_COMMAND_MASTER);
	bool revoked = hostile_revoked(h);
	h->vectors++;
	h->blocked += blocked;
	h->intact += intact;
	h->by_irq += irq;
	h->stopped += stopped;
	h->revoked += revoked;
	h->ok &= done && blocked && intact && stopped && revoked;
	kprintf("IOMMU_VECTOR name=%s iova=0x%lx dir=%s done=%u faults=%lu "
		"sid=0x%04x addr=0x%lx write=%u reason=%u irq=%u blocked=%u "
		"intact=%u stopped=%u revoked=%u\n",
		name, iova, to_ram ? "write" : "read", done, n, f.sid, f.addr,
		f.write, f.reason, irq, blocked, intact, stopped, revoked);
	/* a deliberate restart, so the next vector meets the IOMMU again:
	 * the seized pool's memory comes back through the holder's own
	 * revoke, and fresh capabilities are granted */
	h->ok &=
	    auth_owner_reinstate(owner) == 0 && dma_pool_revoke(&h->held) == 0;
	pci_enable(h->edu, true, false, true);
	h->ok &= hostile_arm(h);
}

static void proof_iommu_hostile(void)
{
	struct hostile h = {.ok = true};
	h.edu = hostile_find_edu();
	uint16_t victim = h.edu ? hostile_victim(h.edu->owner) : 0;
	if (!h.edu || !iommu_owner_translated(h.edu->owner) || !victim ||
	    iommu_scope(h.edu, &h.sid, NULL) != IOMMU_IN_SCOPE ||
	    !hostile_arm(&h)) {
		proof_result("iommu-hostile", false,
			     "reason=needs-edu-and-a-second-owner-under-iommu "
			     "edu=%s victim=%u",
			     h.edu ? "yes" : "no", victim);
		return;
	}
	uint16_t owner = h.edu->owner;
	struct dma_pool own;
	uint8_t *canary = (uint8_t *)page_alloc(1, EDU_DMA_LIMIT);
	if (!canary) {
		proof_result("iommu-hostile", false, "reason=no-memory");
		return;
	}
	memset(canary, 0xc5, PAGE_SIZE);
	hostile_vector(&h, "canary", (uint64_t)canary, true, canary, 0xc5);

	/* positive control into edu's own pool — its translation is now in
	 * the IOTLB — then the same pool revoked and attacked */
	if (dma_pool_create(owner, PAGE_SIZE, EDU_DMA_LIMIT, &own)) {
		proof_result("iommu-hostile", false, "reason=no-memory");
		return;
	}
	memset(own.va, 0xee, PAGE_SIZE);
	uint64_t f0 = iommu_fault_count(owner, NULL);
	bool pos = hostile_dma(&h, own.iova, true) &&
		   !all_bytes(own.va, 0xee, EDU_XFER) &&
		   iommu_fault_count(owner, NULL) == f0;
	uint64_t old = own.iova;
	memset(own.va, 0x5a, PAGE_SIZE);
	dma_pool_revoke(&own);
	bool revoked = !dma_pool_live(&own);
	/* the pages went back to the allocator; nothing runs meanwhile, so
	 * their bytes are still the ones written before the revoke */
	hostile_vector(&h, "revoked", old, true, (const uint8_t *)old, 0x5a);

	struct dma_pool vp;
	if (dma_pool_create(victim, PAGE_SIZE, EDU_DMA_LIMIT, &vp) == 0) {
		memset(vp.va, 0x3c, PAGE_SIZE);
		hostile_vector(&h, "other-owner-write", vp.iova, true, vp.va,
			       0x3c);
		hostile_vector(&h, "other-owner-read", vp.iova, false, vp.va,
			       0x3c);
		/* the revocations were edu's owner's alone */
		h.ok &= dma_pool_live(&vp) && !auth_owner_revoked(victim);
		dma_pool_revoke(&vp);
	} else {
		h.ok = false;
	}
	/* still alive after every attack: its own pool is reachable again */
	struct dma_pool again;
	bool alive = false;
	if (dma_pool_create(owner, PAGE_SIZE, EDU_DMA_LIMIT, &again) == 0) {
		memset(again.va, 0xee, PAGE_SIZE);
		alive = hostile_dma(&h, again.iova, true) &&
			!all_bytes(again.va, 0xee, EDU_XFER);
		dma_pool_revoke(&again);
	}
	/* the edu driver's own window, pool and interrupt went with the
	 * first revocation (its pool parked since); the owner reinstated, it
	 * gives the pool back, takes everything anew, and a transfer it
	 * starts completes by its (re-bound, remapped) interrupt */
	struct edu_softc *sc = edu_first();
	bool driver = false;
	if (sc && edu_recover(sc) == 0) {
		memset(sc->in.va, 0xee, EDU_XFER);
		driver = edu_dma(sc, EDU_BUF_ADDR, sc->in.iova, EDU_XFER,
				 EDU_DMA_CMD_TO_RAM) == 0 &&
			 !all_bytes(sc->in.va, 0xee, EDU_XFER);
	}
	page_free((uint64_t)canary, 1);
	mmio_revoke(&h.regs);
	/* h.held stays: edu's domain keeps a mapping, as a live driver's */
	struct iommu_fault last;
	uint64_t total = iommu_fault_count(owner, &last);
	proof_result(
	    "iommu-hostile",
	    h.ok && pos && revoked && alive && driver && h.vectors == 4 &&
		total == h.vectors,
	    "vectors=%u blocked=%u intact=%u by_irq=%u stopped=%u "
	    "owner_revoked=%u faults=%lu owner=%u victim=%u sid=0x%04x "
	    "positive=%s revoked=%s alive=%s driver=%s",
	    h.vectors, h.blocked, h.intact, h.by_irq, h.stopped, h.revoked,
	    total, owner, victim, h.sid, pos ? "ok" : "bad",
	    revoked ? "yes" : "no", alive ? "yes" : "no",
	    driver ? "recovered" : "dead");
}
PROOF_REGISTER("iommu-hostile", proof_iommu_hostile, 13);
