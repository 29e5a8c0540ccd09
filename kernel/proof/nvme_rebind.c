/* kernel/proof/nvme_rebind.c — PROOF nvme-rebind: a driver restart on the
 * first NVMe controller. A pattern is written and flushed through the
 * driver, the function is unbound (devmgr_unbind: the driver's detach —
 * I/O queues deleted, CC.SHN, disabled — then auth_owner_unbind) and bound
 * again (devmgr_rebind: a fresh owner, broker and driver instance), and
 * the pattern is read back through the new instance; every handle the old
 * instance kept — its DMA pool, its broker, its owner id's kernel memory —
 * is refused. With the new instance up, the old owner rings the admin
 * doorbell and asks for a reset, through its own handle (a closed broker:
 * stale-generation) and naming the new broker (another owner's:
 * not-granted): every call refused and counted, and the device sees
 * nothing between the two fences around them but the closing fence
 * itself (tests/qemu/test_nvme.py test_rebind). */
#include "drivers/nvme/nvme_var.h"
#include "kernel/authority/nvme_broker.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/proof/nvme_proof.h"
#include "kernel/proof/proof.h"

static struct nvme_softc *rebind_softc_of(const struct pci_dev *d)
{
	for (unsigned i = 0; nvme_at(i); i++)
		if (nvme_at(i)->pci == d)
			return nvme_at(i);
	return 0;
}

/* the old owner's calls on the live controller the new instance runs:
 * true when each was refused, and counted as its reason says */
static bool rebind_old_calls_refused(struct nvme_softc *nsc,
				     struct nvme_broker *old_b,
				     uint16_t old_owner)
{
	uint64_t ng = auth_refusals[AUTH_NOT_GRANTED];
	uint64_t sg = auth_refusals[AUTH_STALE_GEN];
	uint16_t tail =
	    (uint16_t)((nsc->admin.sq_tail + 1) % nsc->admin.entries);
	nvme_proof_fence(nsc, NVME_FENCE_REBIND_OLD);
	bool refused =
	    nvme_broker_sq_ring(nsc->broker, old_owner, 0, tail) < 0 &&
	    nvme_broker_cq_reap(nsc->broker, old_owner, 0) < 0 &&
	    nvme_broker_reset(nsc->broker, old_owner) < 0 &&
	    nvme_broker_sq_ring(old_b, old_owner, 0, tail) < 0;
	nvme_proof_fence(nsc, NVME_FENCE_REBIND_OLD_END);
	return refused && auth_refusals[AUTH_NOT_GRANTED] == ng + 3 &&
	       auth_refusals[AUTH_STALE_GEN] == sg + 1;
}

static void proof_nvme_rebind(void)
{
	struct nvme_softc *sc = nvme_first();
	uint64_t page = page_alloc(1, 0);
	if (!sc || !sc->nns || !page || sc->ns[0].bdev.block_size > PAGE_SIZE) {
		proof_result("nvme-rebind", false, "reason=needs-a-namespace");
		if (page)
			page_free(page, 1);
		return;
	}
	struct pci_dev *d = sc->pci;
	struct blockdev *bd = &sc->ns[0].bdev;
	uint32_t bs = bd->block_size;
	uint64_t lba = bd->block_count - 3; /* clear of the other proofs' */
	uint8_t *p = (uint8_t *)page;
	for (uint32_t i = 0; i < bs; i++)
		p[i] = (uint8_t)(i * 7 + 0x5a);
	bool wrote = bd->write(bd, lba, 1, p) == 0 && bd->flush(bd) == 0;
	/* what the old instance keeps: copies of its handles */
	uint16_t old_owner = sc->owner;
	struct nvme_broker *old_b = sc->broker;
	struct dma_pool old_pool = sc->pool;
	int u = devmgr_unbind(d);
	int r = devmgr_rebind(d);
	struct nvme_softc *nsc = rebind_softc_of(d);
	bool back = false;
	if (nsc && nsc->nns) {
		struct blockdev *nb = &nsc->ns[0].bdev;
		memset(p, 0, bs);
		back = nb->read(nb, lba, 1, p) == 0;
		for (uint32_t i = 0; back && i < bs; i++)
			back = p[i] == (uint8_t)(i * 7 + 0x5a);
	}
	struct dma_buf buf;
	bool pool_refused = !dma_pool_live(&old_pool) &&
			    dma_pool_carve(&old_pool, 64, 8, &buf) != 0;
	bool broker_refused =
	    nvme_broker_stop(old_b, old_owner) != 0 &&
	    nvme_broker_csts(old_b, old_owner) == NVME_CSTS_GONE;
	bool kmem_refused = auth_kmem_alloc(old_owner, 64) == 0;
	bool fresh = nsc && nsc->owner != old_owner && nsc->broker != old_b;
	bool calls_refused =
	    back && rebind_old_calls_refused(nsc, old_b, old_owner);
	page_free(page, 1);
	proof_result("nvme-rebind",
		     wrote && u == 0 && r == 0 && back && pool_refused &&
			 broker_refused && kmem_refused && fresh &&
			 calls_refused,
		     "write=%s unbind=%d rebind=%d pattern=%s owner=%u->%u "
		     "old_pool=%s old_broker=%s old_kmem=%s old_calls=%s",
		     wrote ? "ok" : "FAILED", u, r, back ? "equal" : "DIFFERS",
		     old_owner, nsc ? nsc->owner : 0,
		     pool_refused ? "refused" : "ACCEPTED",
		     broker_refused ? "refused" : "ACCEPTED",
		     kmem_refused ? "refused" : "ACCEPTED",
		     calls_refused ? "refused" : "ACCEPTED");
}
PROOF_REGISTER("nvme-rebind", proof_nvme_rebind, 49);
