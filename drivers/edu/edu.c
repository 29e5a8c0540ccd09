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

static struct edu_softc edu0;

struct edu_softc *edu_first(void)
{
	return edu0.pci ? &edu0 : 0;
}

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

int edu_dma(struct edu_softc *sc, uint64_t src, uint64_t dst, uint32_t len,
	    uint32_t dir)
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
