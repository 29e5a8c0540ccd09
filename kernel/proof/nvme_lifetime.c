/* kernel/proof/nvme_lifetime.c — the NVMe gate against a hostile driver's
 * sequences, not single commands (nvme-lifetime). Needs two controllers.
 *
 *  ring_pool  an I/O CQ ring alone in its own pool, a read in flight: the
 *             pool's revoke is refused (busy) while the CQ lives; Delete SQ
 *             completes the read exactly once into the live ring; after
 *             Delete CQ the revoke succeeds and nothing the driver does then
 *             reaches the freed page (a canary in it stays).
 *  quota      the first controller's owner spends its shadow, grant and
 *             pool-memory quotas; the second owner's controller is reset,
 *             brought up again and does I/O, untouched.
 *  fence      the second controller made to ignore CC.EN=0 (injected at the
 *             broker's register read): its reset fails, bus mastering stays
 *             off, an enable is refused, the function is marked fenced.
 *
 * The driver's own queue code is not used for the hostile queues: the proof
 * plays the driver, writing SQEs and ringing through the broker. */
#include "dma/owner.h"
#include "drivers/nvme/nvme_var.h"
#include "kernel/authority/auth_internal.h"
#include "kernel/authority/nvme_broker.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "kernel/proof/nvme_inject.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

#define LT_WAIT_US 2000000u

static int lt_admin(struct nvme_softc *sc, uint8_t opc, uint32_t cdw10,
		    uint32_t cdw11, uint64_t prp1, uint32_t *verdict)
{
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	c.cdw0 = opc;
	c.prp1 = prp1;
	c.cdw10 = cdw10;
	c.cdw11 = cdw11;
	int r = nvme_exec(sc, &sc->admin, &c, &e, LT_WAIT_US);
	if (verdict && !nvme_cqe_rejected(&e, verdict))
		*verdict = 0;
	return r;
}

static int lt_create(struct nvme_softc *sc, uint16_t qid, uint16_t entries,
		     uint64_t cq, uint64_t sq, uint32_t *verdict)
{
	uint32_t q = (uint32_t)(FIELD_SET(NVME_CREATEQ_QID, qid) |
				FIELD_SET(NVME_CREATEQ_QSIZE, entries - 1));
	if (lt_admin(sc, NVME_ADM_CREATE_CQ, q, NVME_CREATEQ_PC_MASK, cq,
		     verdict))
		return -1;
	if (lt_admin(sc, NVME_ADM_CREATE_SQ, q,
		     (uint32_t)(NVME_CREATEQ_PC_MASK |
				FIELD_SET(NVME_CREATESQ_CQID, qid)),
		     sq, verdict)) {
		(void)lt_admin(sc, NVME_ADM_DELETE_CQ, qid, 0, 0, 0);
		return -1;
	}
	return 0;
}

static void lt_delete(struct nvme_softc *sc, uint16_t qid)
{
	(void)lt_admin(sc, NVME_ADM_DELETE_SQ, qid, 0, 0, 0);
	(void)lt_admin(sc, NVME_ADM_DELETE_CQ, qid, 0, 0, 0);
}

/* ---- ring_pool ------------------------------------------------------------
 */
static bool lt_ring_pool(struct nvme_softc *sc, char *why, size_t n)
{
	const uint16_t qid = (uint16_t)(sc->nioq + 1), cid = 0xbeef;
	struct dma_pool p;
	struct dma_buf sq, data;
	bool ok = false;
	if (dma_pool_create(sc->owner, PAGE_SIZE, 0, &p)) {
		strlcpy(why, "no-pool", n);
		return false;
	}
	if (nvme_buf_get(sc, PAGE_SIZE, &sq) ||
	    nvme_buf_get(sc, PAGE_SIZE, &data)) {
		strlcpy(why, "no-buffer", n);
		return false;
	}
	if (lt_create(sc, qid, 8, p.iova, sq.iova, 0)) {
		strlcpy(why, "create", n);
		goto out;
	}
	struct nvme_sqe *ring = sq.va;
	memset(&ring[0], 0, sizeof(ring[0]));
	ring[0].cdw0 = NVME_IO_READ | (uint32_t)cid << 16;
	ring[0].nsid = sc->ns[0].nsid;
	ring[0].prp1 = data.iova;
	if (nvme_broker_sq_ring(sc->broker, sc->owner, qid, 1) != 1) {
		strlcpy(why, "ring", n);
		goto out_q;
	}
	uint64_t busy = auth_refusals[AUTH_BUSY];
	bool refused = dma_pool_revoke(&p) != 0 && dma_pool_live(&p) &&
		       auth_refusals[AUTH_BUSY] == busy + 1;
	/* the read completes once, aborted by the deletion or done */
	(void)lt_admin(sc, NVME_ADM_DELETE_SQ, qid, 0, 0, 0);
	volatile struct nvme_cqe *cqe = (volatile struct nvme_cqe *)p.va;
	uint64_t t0 = time_now_us();
	while (!(cqe[0].status & 1) && time_now_us() - t0 < LT_WAIT_US)
		(void)nvme_broker_cq_reap(sc->broker, sc->owner, qid);
	(void)nvme_broker_cq_reap(sc->broker, sc->owner, qid);
	bool once =
	    (cqe[0].status & 1) && cqe[0].cid == cid && !(cqe[1].status & 1);
	(void)lt_admin(sc, NVME_ADM_DELETE_CQ, qid, 0, 0, 0);
	bool freed = dma_pool_revoke(&p) == 0;
	/* the freed page: a canary nothing may touch any more */
	memset(p.va, 0xa5, PAGE_SIZE);
	bool closed = nvme_broker_cq_reap(sc->broker, sc->owner, qid) < 0 &&
		      nvme_broker_cq_head(sc->broker, sc->owner, qid, 1) < 0 &&
		      nvme_broker_sq_ring(sc->broker, sc->owner, qid, 2) < 0;
	unsigned bad = 0;
	for (unsigned i = 0; i < PAGE_SIZE; i++)
		bad += p.va[i] != 0xa5;
	ksnprintf(why, n,
		  "ring_cq=0x%llx revoke_refused=%d completed_once=%d "
		  "revoke_after=%d closed=%d canary_bad=%u",
		  (unsigned long long)p.iova, refused, once, freed, closed,
		  bad);
	ok = refused && once && freed && closed && !bad;
	goto out;
out_q:
	lt_delete(sc, qid);
	(void)dma_pool_revoke(&p);
out:
	nvme_buf_put(sc, &data);
	nvme_buf_put(sc, &sq);
	return ok;
}

/* ---- quota ----------------------------------------------------------------
 */
static struct dma_pool lt_pools[GRANT_MAX + 1];

static bool lt_io(struct nvme_softc *sc)
{
	struct dma_buf b;
	if (nvme_buf_get(sc, PAGE_SIZE, &b))
		return false;
	struct nvme_io io = {.opc = NVME_IO_WRITE,
			     .nsid = sc->ns[0].nsid,
			     .slba = 16,
			     .nlb = 1,
			     .iova = b.iova,
			     .len = sc->ns[0].lba_bytes};
	memset(b.va, 0x3c, io.len);
	bool ok = nvme_io_sync(sc, &sc->ioq[0], &io, 0) == 0;
	memset(b.va, 0, io.len);
	io.opc = NVME_IO_READ;
	ok = ok && nvme_io_sync(sc, &sc->ioq[0], &io, 0) == 0 &&
	     ((uint8_t *)b.va)[io.len - 1] == 0x3c;
	nvme_buf_put(sc, &b);
	return ok;
}

static bool lt_quota(struct nvme_softc *a, struct nvme_softc *b, char *why,
		     size_t n)
{
	struct dma_owner *acct = dma_owner_acct(a->owner);
	uint64_t shadow0 = acct->use[DMA_CHARGE_SHADOW];
	/* 1. shadow memory: 1024-entry queue pairs (their rings share one
	 * pool) until the gate refuses one for the quota */
	struct dma_pool rings;
	if (dma_pool_create(a->owner, 80 << 10, 0, &rings)) {
		strlcpy(why, "no-ring-pool", n);
		return false;
	}
	uint16_t q0 = (uint16_t)(a->nioq + 1), q = q0;
	uint32_t verdict = 0;
	while (q < nvme_broker_max_qid(a->broker, a->owner) &&
	       lt_create(a, q, 1024, rings.iova, rings.iova + (16 << 10),
			 &verdict) == 0)
		q++;
	bool shadow_hit = verdict == NVME_V_OVER_QUOTA;
	unsigned pairs = q - q0;
	/* 2. grants: one-page pools until refused; 3. bytes: one pool larger
	 * than the whole pool quota */
	uint64_t over = auth_refusals[AUTH_OVER_QUOTA];
	unsigned np = 0;
	while (np < ARRAY_SIZE(lt_pools) &&
	       dma_pool_create(a->owner, PAGE_SIZE, 0, &lt_pools[np]) == 0)
		np++;
	bool grants_hit = np < ARRAY_SIZE(lt_pools) &&
			  dma_owner_ngrants(acct) == GRANT_MAX &&
			  auth_refusals[AUTH_OVER_QUOTA] == over + 1;
	if (np)
		(void)dma_pool_revoke(&lt_pools[--np]);
	struct dma_pool big;
	bool bytes_hit =
	    dma_pool_create(a->owner, DMA_OWNER_POOL_MAX, 0, &big) != 0 &&
	    auth_refusals[AUTH_OVER_QUOTA] == over + 2;
	/* the other owner, beside an owner with nothing left */
	bool b_up = nvme_recover(b, "proof: bring-up beside an exhausted "
				    "owner") == 0 &&
		    lt_io(b);
	bool a_io = lt_io(a);
	/* everything back */
	while (np)
		(void)dma_pool_revoke(&lt_pools[--np]);
	for (uint16_t i = q0; i < q; i++)
		lt_delete(a, i);
	bool back = dma_pool_revoke(&rings) == 0 &&
		    acct->use[DMA_CHARGE_SHADOW] == shadow0;
	ksnprintf(why, n,
		  "shadow_pairs=%u shadow_refused=%d grants_refused=%d "
		  "bytes_refused=%d other_owner_up=%d owner_io=%d "
		  "released=%d",
		  pairs, shadow_hit, grants_hit, bytes_hit, b_up, a_io, back);
	return shadow_hit && pairs > 0 && grants_hit && bytes_hit && b_up &&
	       a_io && back;
}

/* ---- fence ----------------------------------------------------------------
 */
static bool lt_fence(struct nvme_softc *sc, char *why, size_t n)
{
	nvme_inject_arm(sc->broker, 0, NVME_INJECT_STUCK);
	bool failed = nvme_recover(sc, "proof: a controller that ignores "
				       "CC.EN=0") != 0;
	/* now as a hostile driver: ask for the controller back */
	bool refused =
	    nvme_broker_enable(sc->broker, sc->owner, &sc->admin.sq,
			       &sc->admin.cq, sc->admin.entries) != 0;
	uint16_t cmd = pci_cfg_read16(sc->pci, PCI_COMMAND);
	bool bm_off = !(cmd & PCI_COMMAND_MASTER);
	bool marked = nvme_broker_fenced(sc->broker, sc->owner) &&
		      !strncmp(sc->pci->state, "fenced", 6);
	ksnprintf(why, n,
		  "reset_failed=%d enable_refused=%d bus_master=%s marked=%d",
		  failed, refused, bm_off ? "off" : "ON", marked);
	return failed && refused && bm_off && marked;
}

static void proof_nvme_lifetime(void)
{
	struct nvme_softc *a = nvme_at(0), *b = nvme_at(1);
	if (!a || !b || !a->nns || !b->nns) {
		proof_result("nvme-lifetime", false,
			     "reason=needs-two-controllers");
		return;
	}
	static char w1[200], w2[200], w3[160];
	bool r1 = lt_ring_pool(a, w1, sizeof(w1));
	bool r2 = lt_quota(a, b, w2, sizeof(w2));
	bool r3 = lt_fence(b, w3, sizeof(w3));
	proof_result("nvme-lifetime", r1 && r2 && r3,
		     "ring_pool=%d %s quota=%d %s fence=%d %s", r1, w1, r2, w2,
		     r3, w3);
}
PROOF_REGISTER("nvme-lifetime", proof_nvme_lifetime, 45);
