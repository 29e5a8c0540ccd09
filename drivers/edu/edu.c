/* drivers/edu/edu.c — QEMU's edu device: capOS's first customer of the
 * authority layer. It holds one DeviceMmio window over the registers, one
 * Interrupt (edu has MSI, not MSI-X) and one DMAPool. Its proofs (the DMA
 * round trip, the authority layer's refusals) are kernel/proof/edu.c. */
#include "drivers/edu/edu_var.h"
#include "kernel/authority/authority.h"
#include "kernel/cpu/cpu.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/time/time.h"

/* one softc per bound function, edu0 first */
static struct edu_softc edu_sc[EDU_MAX];

struct edu_softc *edu_first(void)
{
	return edu_sc[0].pci ? &edu_sc[0] : 0;
}

static void edu_intr(void *arg)
{
	struct edu_softc *sc = arg;
	uint32_t st = mmio_read32(&sc->regs, EDU_IRQ_STATUS);
	sc->irq_status |= st;
	mmio_write32(&sc->regs, EDU_IRQ_ACK, st);
}

/* every capability the driver works with, as attach takes them: the
 * register window, a pool with the two buffers, the interrupt. Nothing is
 * held after a failure (one line). 0 or -1 */
static int edu_grant(struct edu_softc *sc, uint32_t *idp)
{
	struct pci_dev *d = sc->pci;
	if (mmio_grant(d, sc->owner, 0, 0, EDU_REGS_LEN, MMIO_READ | MMIO_WRITE,
		       &sc->regs) != 0) {
		kprintf("%s: unable to map registers\n", sc->name);
		return -1;
	}
	uint32_t id = mmio_read32(&sc->regs, EDU_ID);
	if ((id & EDU_ID_MAGIC_MASK) != EDU_ID_MAGIC) {
		kprintf("%s: unable to identify device (id 0x%x)\n", sc->name,
			id);
		goto err_regs;
	}
	/* a transfer started before — by a previous instance (a restart), or
	 * by this one before its owner's revocation — may still run: its end
	 * would write memory that is not this grant's, and its interrupt be
	 * taken as the next transfer's. The device clears EDU_DMA_CMD_START
	 * when a transfer ends; waited for at most EDU_DMA_TIMEOUT_US, else
	 * refused */
	uint64_t end = time_now_us() + EDU_DMA_TIMEOUT_US;
	while (mmio_read32(&sc->regs, EDU_DMA_CMD) & EDU_DMA_CMD_START) {
		if (time_now_us() > end) {
			kprintf("%s: DMA engine still running after 1 s "
				"(EDU_DMA_CMD start set); unable to take the "
				"device\n",
				sc->name);
			goto err_regs;
		}
		time_delay_us(EDU_DMA_POLL_US);
	}
	/* an interrupt the device latched before (a transfer that ended while
	 * the owner was revoked) is acknowledged: the driver starts from none
	 */
	mmio_write32(&sc->regs, EDU_IRQ_ACK,
		     mmio_read32(&sc->regs, EDU_IRQ_STATUS));
	if (dma_pool_create(sc->owner, 2 * PAGE_SIZE, EDU_DMA_LIMIT,
			    &sc->pool)) {
		kprintf("%s: unable to allocate DMA pool\n", sc->name);
		goto err_regs;
	}
	if (dma_pool_carve(&sc->pool, EDU_BUF_SIZE, PAGE_SIZE, &sc->out) ||
	    dma_pool_carve(&sc->pool, EDU_BUF_SIZE, PAGE_SIZE, &sc->in)) {
		kprintf("%s: unable to carve DMA buffers\n", sc->name);
		goto err_pool;
	}
	if (irq_bind(d, sc->owner, 0, edu_intr, sc, &sc->irq) != 0) {
		kprintf("%s: unable to bind interrupt\n", sc->name);
		goto err_pool;
	}
	irq_unmask(&sc->irq);
	*idp = id;
	return 0;
err_pool:
	dma_pool_revoke(&sc->pool);
err_regs:
	mmio_revoke(&sc->regs);
	memset(&sc->pool, 0, sizeof(sc->pool));
	return -1;
}

static int edu_attach(struct pci_dev *d, uint16_t owner)
{
	struct edu_softc *sc = NULL;
	uint32_t id;
	for (unsigned i = 0; i < EDU_MAX && !sc; i++)
		if (!edu_sc[i].pci) {
			sc = &edu_sc[i];
			ksnprintf(sc->name, sizeof(sc->name), "edu%u", i);
		}
	if (!sc) {
		kprintf("edu: unable to attach %02x:%02x.%x: EDU_MAX (%u) "
			"devices bound already\n",
			d->bus, d->dev, d->fn, EDU_MAX);
		return -1;
	}
	sc->pci = d;
	sc->owner = owner;
	/* decoding only: a transfer of a previous instance edu_grant waits
	 * for must not reach memory through this owner's bus mastering */
	pci_enable(d, true, false, false);
	if (edu_grant(sc, &id)) {
		/* off the bus again: nothing of the driver's is granted */
		pci_enable(d, false, false, false);
		sc->pci = NULL; /* its slot free again */
		return -1;
	}
	pci_enable(d, true, false, true);
	d->drv_state = sc;
	kprintf("%s: version %u.%u, irq vector %u\n", sc->name, id >> 24,
		(id >> 16) & 0xff, sc->irq.vector);
	return 0;
}

/* the device cannot be used any more: bus mastering off (memory
 * decoding stays for the registers the detach reads), nothing asked of it
 * again, and the device manager told, once (devmgr_failed: a restart
 * under a fresh owner when its budget allows; the detach keeps the pool
 * while EDU_DMA_CMD says a transfer runs) */
static void edu_give_up(struct edu_softc *sc, const char *why)
{
	if (sc->failed)
		return;
	sc->failed = true;
	pci_enable(sc->pci, true, false, false);
	strlcpy(sc->pci->state, "failed", sizeof(sc->pci->state));
	devmgr_failed(sc->pci, sc->owner, why);
}

/* A DMA fault revokes edu's owner (auth_owner_revoke): bus mastering off,
 * the pool seized and parked, the window and the interrupt revoked. Once
 * the owner is reinstated the driver gives the parked pool back (its own
 * dma_pool_revoke), turns bus mastering on again and takes fresh
 * capabilities, as attach did. edu has no reset register and keeps no
 * state across transfers but a latched interrupt, which edu_grant
 * acknowledges. While the owner is revoked, or quarantined by the IOMMU
 * and not yet revoked (a fault before the safe point), it refuses:
 * pci_enable would not grant the bus mastering either. */
int edu_recover(struct edu_softc *sc)
{
	uint32_t id;
	if (sc->failed) {
		kprintf("%s: given up; only a restart brings it back\n",
			sc->name);
		return -1;
	}
	if (dma_pool_live(&sc->pool))
		return 0;
	if (auth_owner_stopped(sc->owner)) {
		kprintf("%s: owner %u is revoked or quarantined; unable to "
			"use the device\n",
			sc->name, sc->owner);
		return -1;
	}
	/* the seized pool goes back only once edu_grant has read the engine
	 * idle: without an IOMMU a transfer still running writes it */
	struct dma_pool seized = sc->pool;
	memset(&sc->pool, 0, sizeof(sc->pool));
	if (edu_grant(sc, &id)) {
		sc->pool = seized; /* kept parked */
		kprintf("%s: unable to recover after its owner's "
			"revocation; DMA memory (%zu bytes) kept parked; "
			"giving the device up\n",
			sc->name, seized.len);
		edu_give_up(sc, "recovery failed");
		return -1;
	}
	if (seized.len) /* its memory comes back now */
		dma_pool_revoke(&seized);
	pci_enable(sc->pci, true, false, true);
	sc->recoveries++;
	kprintf("%s: recovered after its owner's revocation, irq vector "
		"%u\n",
		sc->name, sc->irq.vector);
	return 0;
}

int edu_dma(struct edu_softc *sc, uint64_t src, uint64_t dst, uint32_t len,
	    uint32_t dir)
{
	if (sc->failed)
		return -1; /* said when it was given up */
	if (!dma_pool_live(&sc->pool)) {
		kprintf("%s: capabilities revoked; no transfer until "
			"edu_recover\n",
			sc->name);
		return -1;
	}
	sc->irq_status = 0;
	mmio_write64(&sc->regs, EDU_DMA_SRC, src);
	mmio_write64(&sc->regs, EDU_DMA_DST, dst);
	mmio_write64(&sc->regs, EDU_DMA_COUNT, len);
	mmio_write64(&sc->regs, EDU_DMA_CMD,
		     EDU_DMA_CMD_START | EDU_DMA_CMD_IRQ | dir);
	/* a DMA fault (the IOMMU's interrupt quarantines the owner, the
	 * safe point revokes it) means this transfer will not complete: its
	 * interrupt is gone with the owner's capabilities */
	uint64_t end = time_now_us() + EDU_DMA_TIMEOUT_US;
	while (!(sc->irq_status & EDU_DMA_IRQ)) {
		if (auth_owner_stopped(sc->owner)) {
			kprintf("%s: owner %u revoked or quarantined during "
				"the transfer; it failed\n",
				sc->name, sc->owner);
			return -1;
		}
		/* the device may still run it: a late end would write
		 * sc->in under the next transfer, or its interrupt be taken
		 * as the next one's. Given up */
		if (time_now_us() > end) {
			kprintf("%s: DMA did not complete in 1 s; giving the "
				"device up: bus mastering off\n",
				sc->name);
			edu_give_up(sc, "DMA did not complete");
			return -1;
		}
		time_delay_us(EDU_DMA_POLL_US);
	}
	return 0;
}

/* devmgr_shutdown: edu has its interrupt bound and unmasked, bus
 * mastering on and a pool granted, and a transfer that outlived
 * edu_dma's 1 s may still be running. Bus mastering goes off first, the
 * interrupt is revoked, and EDU_DMA_CMD says whether a transfer still
 * runs (the device clears EDU_DMA_CMD_START when it ends): only then
 * does the pool go back, else it stays granted with one line and the
 * answer is -1 (fenced). The register window goes and decoding is turned
 * off; a softc given back whole is free again, one that keeps its pool
 * keeps its slot. A quarantined owner not yet revoked still holds all of
 * it: the same. A revoked owner's (and one reinstated that edu_recover
 * has not taken anew) are the authority layer's already, the pool
 * parked: nothing of it is touched, the pool stays parked (no
 * transfer's end can be read), one line, 1 (stopped, not confirmed),
 * the slot kept. A second call changes nothing and says the same */
static int edu_detach(struct pci_dev *d)
{
	struct edu_softc *sc = d->drv_state;
	if (!sc)
		return 0;
	if (sc->detached)
		return sc->detach_result;
	pci_enable(d, true, false, false);
	int r = 0;
	if (auth_owner_revoked(sc->owner) || !dma_pool_live(&sc->pool)) {
		kprintf("%s: owner %u revoked: capabilities taken by the "
			"authority layer, DMA memory (%zu bytes) parked; "
			"stopped unconfirmed\n",
			sc->name, sc->owner, sc->pool.len);
		r = 1;
	} else {
		irq_revoke(&sc->irq);
		if (mmio_read32(&sc->regs, EDU_DMA_CMD) & EDU_DMA_CMD_START) {
			kprintf("%s: keeping DMA memory (%zu bytes): a "
				"transfer is still running; bus mastering "
				"off\n",
				sc->name, sc->pool.len);
			r = -1;
		} else
			dma_pool_revoke(&sc->pool);
		mmio_revoke(&sc->regs);
	}
	pci_enable(d, false, false, false);
	if (r) {
		sc->detached = true;
		return sc->detach_result = r;
	}
	memset(sc, 0, sizeof(*sc));
	d->drv_state = NULL;
	return 0;
}

static const struct pci_match edu_ids[] = {
    {EDU_VENDOR, EDU_DEVICE, 0, 0},
};
const struct driver edu_driver = {
    .name = "edu",
    .ids = edu_ids,
    .nids = ARRAY_SIZE(edu_ids),
    .dma = true,
    .attach = edu_attach,
    .detach = edu_detach,
};
