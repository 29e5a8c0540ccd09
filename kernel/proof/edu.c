/* kernel/proof/edu.c — the edu device's DMA round trip and the authority
 * layer's refusals (DeviceMmio windows, read-only windows, stale
 * generations, revoked DMA pools), on the edu driver's grants
 * (drivers/edu/edu_var.h). tests/qemu/test_boot.py boots them. */
#include "drivers/edu/edu_var.h"
#include "kernel/lib/lib.h"
#include "kernel/proof/proof.h"

static void proof_edu(void)
{
	struct edu_softc *sc = edu_first();
	if (!sc || !dma_pool_live(&sc->pool)) {
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
PROOF_REGISTER("edu", proof_edu, 10);

/* In-window access works; out-of-window, misaligned and read-only writes
 * are refused and counted; after revocation the old window is dead. */
static void proof_authority(void)
{
	struct edu_softc *sc = edu_first();
	if (!sc) {
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
	/* the window onto the MSI-X table or outside the BAR is never granted
	 */
	struct dev_mmio big;
	bool bar_ok = mmio_grant(sc->pci, sc->owner, 0, 0, 0x200000, MMIO_READ,
				 &big) != 0;
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
	proof_result(
	    "authority", in_ok && oow && ro_ok && bar_ok && stale && dma_stale,
	    "in_window=%s out_of_window=%s read_only=%s "
	    "outside_bar=%s stale_mmio=%s stale_dma=%s",
	    in_ok ? "ok" : "bad", oow ? "refused" : "ALLOWED",
	    ro_ok ? "refused" : "ALLOWED", bar_ok ? "refused" : "ALLOWED",
	    stale ? "refused" : "ALLOWED", dma_stale ? "refused" : "ALLOWED");
}
PROOF_REGISTER("authority", proof_authority, 11);
