/* drivers/edu/edu.c — QEMU's edu device: capOS's first customer of the
 * authority layer. It holds one DeviceMmio window over the registers, one
 * Interrupt (edu has MSI, not MSI-X) and one DMAPool; the proofs move data
 * through the device's DMA engine and back and check that accesses outside
 * the window and through a revoked window are refused. */
#include "drivers/edu/edu_reg.h"
#include "kernel/authority/authority.h"
#include "kernel/cpu/cpu.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

struct edu_softc {
	struct pci_dev *pci;
	uint16_t owner;
	struct dev_mmio regs;
	struct irq_cap irq;
	struct dma_pool pool;
	struct dma_buf out, in;
	volatile uint32_t irq_status; /* latched by the handler */
};
static struct edu_softc edu0;

static void edu_intr(void *arg)
{
	struct edu_softc *sc = arg;
	uint32_t st = mmio_read32(&sc->regs, EDU_IRQ_STATUS);
	sc->irq_status |= st;
	mmio_write32(&sc->regs, EDU_IRQ_ACK, st);
}

static int edu_attach(struct pci_dev *d, uint16_t owner)
{
	struct edu_softc *sc = &edu0;
	sc->pci = d;
	sc->owner = owner;
	pci_enable(d, true, false, true);
	if (mmio_grant(d, owner, 0, 0, EDU_REGS_LEN, MMIO_READ | MMIO_WRITE,
		       &sc->regs) != 0) {
		kprintf("edu0: unable to map registers\n");
		return -1;
	}
	uint32_t id = mmio_read32(&sc->regs, EDU_ID);
	if ((id & EDU_ID_MAGIC_MASK) != EDU_ID_MAGIC) {
		kprintf("edu0: unable to identify device (id 0x%x)\n", id);
		goto err_regs;
	}
	if (dma_pool_create(owner, 2 * PAGE_SIZE, EDU_DMA_LIMIT, &sc->pool)) {
		kprintf("edu0: unable to allocate DMA pool\n");
		goto err_regs;
	}
	if (dma_pool_carve(&sc->pool, EDU_BUF_SIZE, PAGE_SIZE, &sc->out) ||
	    dma_pool_carve(&sc->pool, EDU_BUF_SIZE, PAGE_SIZE, &sc->in)) {
		kprintf("edu0: unable to carve DMA buffers\n");
		goto err_pool;
	}
	if (irq_bind(d, owner, 0, edu_intr, sc, &sc->irq) != 0) {
		kprintf("edu0: unable to bind interrupt\n");
		goto err_pool;
	}
	irq_unmask(&sc->irq);
	d->drv_state = sc;
	kprintf("edu0: version %u.%u, irq vector %u\n", id >> 24,
		(id >> 16) & 0xff, sc->irq.vector);
	return 0;
err_pool:
	dma_pool_revoke(&sc->pool);
err_regs:
	mmio_revoke(&sc->regs);
	return -1;
}

/* one DMA transfer, completion by interrupt (bounded wait) */
static int edu_dma(struct edu_softc *sc, uint64_t src, uint64_t dst,
		   uint32_t len, uint32_t dir)
{
	sc->irq_status = 0;
	mmio_write64(&sc->regs, EDU_DMA_SRC, src);
	mmio_write64(&sc->regs, EDU_DMA_DST, dst);
	mmio_write64(&sc->regs, EDU_DMA_COUNT, len);
	mmio_write64(&sc->regs, EDU_DMA_CMD,
		     EDU_DMA_CMD_START | EDU_DMA_CMD_IRQ | dir);
	uint64_t end = time_now_us() + 1000000;
	while (!(sc->irq_status & EDU_DMA_IRQ))
		if (time_now_us() > end) {
			kprintf("edu0: DMA did not complete in 1 s\n");
			return -1;
		}
	return 0;
}

static void edu_proof_dma(void)
{
	struct edu_softc *sc = &edu0;
	if (!sc->pci || !dma_pool_live(&sc->pool)) {
		proof_result("edu", false, "reason=no-edu-device");
		return;
	}
	uint8_t *o = sc->out.va, *in = sc->in.va;
	for (unsigned i = 0; i < EDU_BUF_SIZE; i++)
		o[i] = (uint8_t)(i * 7 + 3);
	memset(in, 0, EDU_BUF_SIZE);
	uint64_t irqs0 = irq_count(&sc->irq);
	uint32_t live = 0x12345678;
	mmio_write32(&sc->regs, EDU_LIVENESS, live);
	bool alive = mmio_read32(&sc->regs, EDU_LIVENESS) == ~live;
	int r1 = edu_dma(sc, sc->out.iova, EDU_BUF_ADDR, EDU_XFER, 0);
	int r2 = edu_dma(sc, EDU_BUF_ADDR, sc->in.iova, EDU_XFER,
			 EDU_DMA_CMD_TO_RAM);
	uint64_t irqs = irq_count(&sc->irq) - irqs0;
	/* what came back equals what went out; the rest of `in` is untouched */
	bool same = memcmp(o, in, EDU_XFER) == 0 && in[EDU_XFER] == 0;
	proof_result("edu", alive && !r1 && !r2 && same && irqs >= 2,
		     "liveness=%s dma_bytes=%u roundtrip=%s irqs=%lu",
		     alive ? "ok" : "bad", 2 * EDU_XFER,
		     same ? "equal" : "differs", irqs);
}
PROOF_REGISTER("edu", edu_proof_dma, 10);

/* In-window access works; out-of-window, misaligned and read-only writes
 * are refused and counted; after revocation the old window is dead. */
static void edu_proof_authority(void)
{
	struct edu_softc *sc = &edu0;
	if (!sc->pci) {
		proof_result("authority", false, "reason=no-edu-device");
		return;
	}
	uint64_t oow0 = auth_refusals[AUTH_OUT_OF_WINDOW];
	uint64_t stale0 = auth_refusals[AUTH_STALE_GEN];
	uint64_t ro0 = auth_refusals[AUTH_READ_ONLY];
	bool in_ok = (mmio_read32(&sc->regs, EDU_ID) & EDU_ID_MAGIC_MASK) ==
		     EDU_ID_MAGIC;
	/* the device has registers past 0x100 (and 1 MiB of BAR): the window
	 * does not */
	uint32_t past = mmio_read32(&sc->regs, EDU_REGS_LEN);
	bool wrap = mmio_write32(&sc->regs, 0xfffffffcu, 1);
	bool oow = past == 0xffffffffu && !wrap &&
		   auth_refusals[AUTH_OUT_OF_WINDOW] == oow0 + 2;
	/* a read-only window onto the same registers refuses writes */
	struct dev_mmio ro;
	bool ro_ok = false;
	if (mmio_grant(sc->pci, sc->owner, 0, 0, EDU_REGS_LEN, MMIO_READ,
		       &ro) == 0) {
		ro_ok = !mmio_write32(&ro, EDU_LIVENESS, 1) &&
			auth_refusals[AUTH_READ_ONLY] == ro0 + 1;
		mmio_revoke(&ro);
	}
	/* the window onto the MSI-X table or outside the BAR is never granted */
	struct dev_mmio big;
	bool bar_ok = mmio_grant(sc->pci, sc->owner, 0, 0, 0x200000,
				 MMIO_READ, &big) != 0;
	/* revoke a copy: the stale generation is refused */
	struct dev_mmio tmp;
	bool stale = false;
	if (mmio_grant(sc->pci, sc->owner, 0, 0, EDU_REGS_LEN, MMIO_READ,
		       &tmp) == 0) {
		struct dev_mmio copy = tmp;
		mmio_revoke(&tmp);
		stale = mmio_read32(&copy, EDU_ID) == 0xffffffffu &&
			auth_refusals[AUTH_STALE_GEN] == stale0 + 1;
	}
	/* a revoked DMA pool is no longer a live grant */
	struct dma_pool p;
	bool dma_stale = false;
	if (dma_pool_create(sc->owner, PAGE_SIZE, 0, &p) == 0) {
		uint64_t iova = p.iova;
		bool before = dma_owner_covers(sc->owner, iova, PAGE_SIZE);
		dma_pool_revoke(&p);
		dma_stale = before && !dma_pool_live(&p) &&
			    !dma_owner_covers(sc->owner, iova, PAGE_SIZE);
	}
	proof_result("authority",
		     in_ok && oow && ro_ok && bar_ok && stale && dma_stale,
		     "in_window=%s out_of_window=%s read_only=%s "
		     "outside_bar=%s stale_mmio=%s stale_dma=%s",
		     in_ok ? "ok" : "bad", oow ? "refused" : "ALLOWED",
		     ro_ok ? "refused" : "ALLOWED",
		     bar_ok ? "refused" : "ALLOWED", stale ? "refused" : "ALLOWED",
		     dma_stale ? "refused" : "ALLOWED");
}
PROOF_REGISTER("authority", edu_proof_authority, 11);

static int edu_dump(struct pci_dev *d, char *buf, unsigned cap)
{
	struct edu_softc *sc = d->drv_state;
	return ksnprintf(buf, cap, "irqs=%lu", sc ? irq_count(&sc->irq) : 0);
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
    .dump = edu_dump,
};
