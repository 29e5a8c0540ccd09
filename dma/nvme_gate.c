/* dma/nvme_gate.c — see nvme_gate.h.
 *
 * Callers serialise: one controller's gate is entered by one CPU at a time
 * (the broker's caller holds the driver's lock). Every index the driver or
 * the device hands the gate is range-checked before use. */
#include "dma/nvme_gate.h"

#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"

/* ---- queue rings: pinned grants --------------------------------------- */
static bool gate_ring_pin(struct nvme_gate *g, uint64_t iova, uint64_t len,
			  struct nvme_gate_ring *r)
{
	const struct dma_grant *gr =
	    grant_find(g->pin_table, g->pol->owner, iova, len);
	if (!gr)
		return false;
	int slot = (int)(gr - g->pin_table->g);
	if (!grant_pin(g->pin_table, slot))
		return false;
	r->pinned = true;
	r->slot = (uint8_t)slot;
	r->gen = gr->gen;
	return true;
}

static void gate_ring_unpin(struct nvme_gate *g, struct nvme_gate_ring *r)
{
	if (r->pinned)
		grant_unpin(g->pin_table, r->slot);
	r->pinned = false;
}

/* the ring's grant is still the live one it pinned: checked before every
 * access to a driver ring (it cannot fail while the pin holds) */
static bool gate_ring_live(const struct nvme_gate *g,
			   const struct nvme_gate_ring *r)
{
	return r->pinned && grant_live(g->pin_table, r->slot, r->gen);
}

/* ---- shadow memory, charged to the owner --------------------------------- */
static enum nvme_verdict gate_alloc(struct nvme_gate *g, size_t len,
				    bool dev_writes, struct dma_buf *b)
{
	struct dma_owner *o = g->pol->acct;
	if (o && !dma_owner_charge(o, DMA_CHARGE_SHADOW, len))
		return NVME_V_OVER_QUOTA;
	if (g->env.shadow_alloc(g->env.ctx, len, dev_writes, b) != 0) {
		if (o)
			dma_owner_uncharge(o, DMA_CHARGE_SHADOW, len);
		b->len = 0;
		return NVME_V_GATE_NO_MEMORY;
	}
	if (o && b->len != len) { /* the allocator rounded: charge that */
		dma_owner_uncharge(o, DMA_CHARGE_SHADOW, len);
		if (!dma_owner_charge(o, DMA_CHARGE_SHADOW, b->len)) {
			g->env.shadow_free(g->env.ctx, b);
			b->len = 0;
			return NVME_V_OVER_QUOTA;
		}
	}
	return NVME_V_ACCEPT;
}

/* the charge follows the pages: a shadow the env withheld (its unmap not
 * confirmed) stays charged to the owner as long as they are out — for
 * good — so withheld shadows count against its quota and cannot grow
 * without bound */
static void gate_free(struct nvme_gate *g, struct dma_buf *b)
{
	if (b->len && g->env.shadow_free(g->env.ctx, b) == 0 && g->pol->acct)
		dma_owner_uncharge(g->pol->acct, DMA_CHARGE_SHADOW, b->len);
	b->va = 0;
	b->iova = 0;
	b->len = 0;
}

static void gate_unpin(struct nvme_gate *g, struct nvme_gate_tag *tg)
{
	for (uint64_t m = tg->pins; m; m &= m - 1)
		grant_unpin(g->pin_table, __builtin_ctzll(m));
	tg->pins = 0;
}

static void gate_pin(struct nvme_gate *g, struct nvme_gate_tag *tg,
		     uint64_t mask)
{
	tg->pins = 0;
	for (uint64_t m = mask; m; m &= m - 1) {
		int slot = __builtin_ctzll(m);
		if (grant_pin(g->pin_table, slot))
			tg->pins |= 1ull << slot;
	}
}

/* Shadow CQ entry h of cq, if the device has posted it in phase ph: the
 * status first, the body only after it (the shadow is device-writable:
 * each field read once, none again). false when the phase says the entry
 * is not posted yet. */
static bool gate_shadow_read(const struct nvme_gate_cq *cq, uint16_t h,
			     uint8_t ph, struct nvme_cqe *e)
{
	const volatile struct nvme_cqe *shq = cq->shadow.va;
	e->status = shq[h].status;
	if ((e->status & NVME_CQE_P_MASK) != ph)
		return false;
	dma_rmb(); /* phase before the body */
	e->dw0 = shq[h].dw0;
	e->dw1 = shq[h].dw1;
	e->sqhd = shq[h].sqhd;
	e->sqid = shq[h].sqid;
	e->cid = shq[h].cid;
	return true;
}

/* the shadow slot after h, the phase flipping at the wrap */
static void gate_shadow_step(const struct nvme_gate_cq *cq, uint16_t *h,
			     uint8_t *ph)
{
	if (++*h == cq->size) {
		*h = 0;
		*ph ^= 1;
	}
}

/* The completions of SQ sq's current generation the device has posted into
 * cq's shadow that the gate has not reaped yet (those of an earlier
 * generation are counted in cq->stale already): how many, and, when record,
 * each one's status and result kept on the busy tag it names, the first one
 * only (a device that posts a command twice is not believed twice). The
 * shadow is device-writable: each entry is read once, its body after its
 * phase (as nvme_gate_cq_reap does). */
static uint16_t gate_cq_pending_of(const struct nvme_gate *g,
				   const struct nvme_gate_cq *cq,
				   struct nvme_gate_sq *sq, bool record)
{
	const uint16_t sqid = (uint16_t)(sq - g->sq), gen = g->sq_gen[sqid];
	uint16_t h = cq->sh_head, n = 0;
	uint8_t ph = cq->sh_phase;
	struct nvme_cqe e;
	for (unsigned i = 0;
	     cq->shadow.va && i < cq->size && gate_shadow_read(cq, h, ph, &e);
	     i++, gate_shadow_step(cq, &h, &ph)) {
		unsigned tag = e.cid & (NVME_GATE_TAGS - 1);
		if (e.sqid != sqid || e.cid >> NVME_GATE_GEN_SHIFT != gen)
			continue;
		struct nvme_gate_tag *tg = &sq->tag[tag];
		n++;
		if (record && tag < sq->ntags && tg->busy &&
		    e.cid == tg->dev_cid && !tg->dev_status) {
			tg->dev_dw0 = e.dw0;
			tg->dev_dw1 = e.dw1;
			tg->dev_status = e.status | NVME_CQE_P_MASK;
		}
	}
	return n;
}

/* what a device completion is to the gate (gate_cqe_kind) */
enum gate_cqe {
	GATE_CQE_BAD,	/* names nothing the gate issued: dropped, counted */
	GATE_CQE_STALE, /* from an SQ's earlier life: swallowed */
	GATE_CQE_KCMD,	/* the kernel's outstanding command: kept for it */
	GATE_CQE_DRV,	/* a driver command: needs a slot in its CQ */
};

static enum gate_cqe gate_cqe_kind(const struct nvme_gate *g, uint16_t cqid,
				   const struct nvme_cqe *e);

/* cq->stale: the entries the device posted into CQ cqid's shadow that the
 * gate has not reaped and that are not the answer of a command it counts
 * in cq->inflight — a deleted SQ's (an earlier generation's), any that
 * names nothing, and a second one naming the same command (a copy). Each
 * holds a slot of the device's CQ all the same. Counted afresh from the
 * shadow, each entry read once, its body after its phase: a count kept by
 * decrements drifted, a lying device's stale entry taking the place of one
 * counted at the Delete SQ (t_stale_forged_not_counted). At most cq->size
 * reads. */
static void gate_cq_count_stale(struct nvme_gate *g, uint16_t cqid)
{
	struct nvme_gate_cq *cq = &g->cq[cqid];
	uint16_t h = cq->sh_head, n = 0;
	uint8_t ph = cq->sh_phase;
	uint64_t seen[NVME_VAL_MAX_QID] = {0}; /* a tag's answer, per SQ */
	bool kseen = false;
	struct nvme_cqe e;
	for (unsigned i = 0;
	     cq->shadow.va && i < cq->size && gate_shadow_read(cq, h, ph, &e);
	     i++, gate_shadow_step(cq, &h, &ph)) {
		enum gate_cqe k = gate_cqe_kind(g, cqid, &e);
		uint64_t bit = 1ull << (e.cid & (NVME_GATE_TAGS - 1));
		if (k == GATE_CQE_KCMD) {
			n += kseen;
			kseen = true;
		} else if (k == GATE_CQE_DRV) {
			n += (seen[e.sqid] & bit) != 0;
			seen[e.sqid] |= bit;
		} else {
			n++;
		}
	}
	cq->stale = n;
}

/* the device is done with every command of sq (deleted, or the controller
 * was reset): release their pins and its CQ's count of them, free the
 * shadows, and move the SQ's generation on so any of its completions still
 * on the way are recognised as stale. A deleted SQ's commands that the
 * device completed before the deletion (it posts them before Delete I/O
 * SQ's own completion, NVMe 2.0 §5.7) still hold shadow CQ slots until
 * reaped: they move from inflight to stale, so the CQ is never overfilled,
 * and each one's completion is kept on its tag (gate_cq_pending_of): it is
 * what gate_sq_drain answers the driver with, the entry itself is
 * swallowed as stale when reaped. Tags and the ring pin stay. */
static void gate_sq_retire(struct nvme_gate *g, struct nvme_gate_sq *sq)
{
	size_t qid = (size_t)(sq - g->sq);
	struct nvme_gate_cq *cq = &g->cq[sq->cqid];
	for (unsigned t = 0; t < sq->ntags; t++)
		if (sq->tag[t].busy) {
			gate_unpin(g, &sq->tag[t]);
			if (cq->inflight)
				cq->inflight--;
		}
	if (sq->state == NVME_GQ_DELETING)
		(void)gate_cq_pending_of(g, cq, sq, true);
	gate_free(g, &sq->shadow);
	gate_free(g, &sq->lists);
	g->sq_gen[qid] = (uint16_t)((g->sq_gen[qid] + 1) % NVME_GATE_GENS);
	/* what was its commands' is held by no command now */
	gate_cq_count_stale(g, sq->cqid);
}

static void gate_sq_clear(struct nvme_gate *g, struct nvme_gate_sq *sq)
{
	if (sq->state != NVME_GQ_DRAINING) /* else retired at its deletion */
		gate_sq_retire(g, sq);
	gate_ring_unpin(g, &sq->ring);
	memset(sq, 0, sizeof(*sq));
}

/* the CID the device sees for the next command on tag t of sq: the SQ's
 * generation, the tag's use (moved on: the command after it on the tag
 * has another CID), the tag (nvme_gate.h) */
static uint16_t gate_dev_cid(const struct nvme_gate *g, struct nvme_gate_sq *sq,
			     unsigned t)
{
	struct nvme_gate_tag *tg = &sq->tag[t];
	uint16_t cid = (uint16_t)(g->sq_gen[sq->qid] << NVME_GATE_GEN_SHIFT |
				  (unsigned)tg->uses << NVME_GATE_TAG_BITS | t);
	tg->uses = (uint8_t)((tg->uses + 1) % NVME_GATE_USES);
	return cid;
}

static void gate_cq_clear(struct nvme_gate *g, struct nvme_gate_cq *cq)
{
	gate_free(g, &cq->shadow);
	gate_ring_unpin(g, &cq->ring);
	memset(cq, 0, sizeof(*cq));
}

int nvme_gate_init(struct nvme_gate *g, const struct nvme_gate_env *env,
		   struct nvme_val_policy *pol)
{
	if (!env || !pol || !env->doorbell || !env->shadow_alloc ||
	    !env->shadow_free || !env->drv_va || pol->page_shift != 12)
		return -1;
	memset(g, 0, sizeof(*g));
	g->env = *env;
	g->pol = pol;
	/* the gate changes nothing in the table but the pin counts */
	g->pin_table = pol->grants;
	pol->cq_live = pol->sq_live = 0;
	return 0;
}

/* shadow rings and list pages for SQ qid; the driver's ring at drv_iova,
 * whose grant is pinned for the queue's life */
static enum nvme_verdict gate_sq_setup(struct nvme_gate *g, uint16_t qid,
				       uint16_t cqid, uint16_t size,
				       uint64_t drv_iova, uint8_t state)
{
	struct nvme_gate_sq *sq = &g->sq[qid];
	size_t len = (size_t)size * NVME_SQE_BYTES;
	enum nvme_verdict v = NVME_V_QUEUE_BASE_OUT_OF_GRANT;
	g->qid_hi = (uint16_t)MAX(g->qid_hi, qid + 1u);
	/* the grant first: drv_va is asked only for ranges it covers */
	if (!gate_ring_pin(g, drv_iova, len, &sq->ring) ||
	    !(sq->drv = g->env.drv_va(g->env.ctx, drv_iova, len)))
		goto fail;
	sq->cqid = cqid;
	sq->ntags = (uint16_t)MIN(NVME_GATE_TAGS, size - 1);
	v = gate_alloc(g, ALIGN_UP(len, PAGE_SIZE), false, &sq->shadow);
	if (v == NVME_V_ACCEPT)
		v = gate_alloc(g, (size_t)sq->ntags * PAGE_SIZE, false,
			       &sq->lists);
	if (v != NVME_V_ACCEPT)
		goto fail;
	sq->qid = qid;
	sq->size = size;
	sq->drv_iova = drv_iova;
	sq->state = state;
	return NVME_V_ACCEPT;
fail:
	gate_sq_clear(g, sq);
	return v;
}

static enum nvme_verdict gate_cq_setup(struct nvme_gate *g, uint16_t qid,
				       uint16_t size, uint64_t drv_iova,
				       uint8_t state)
{
	struct nvme_gate_cq *cq = &g->cq[qid];
	size_t len = (size_t)size * NVME_CQE_BYTES;
	enum nvme_verdict v = NVME_V_QUEUE_BASE_OUT_OF_GRANT;
	if (gate_ring_pin(g, drv_iova, len, &cq->ring) &&
	    (cq->drv = g->env.drv_va(g->env.ctx, drv_iova, len)))
		v = gate_alloc(g, ALIGN_UP(len, PAGE_SIZE), true, &cq->shadow);
	if (v != NVME_V_ACCEPT) {
		gate_cq_clear(g, cq);
		return v;
	}
	cq->qid = qid;
	cq->size = size;
	cq->drv_iova = drv_iova;
	cq->drv_phase =
	    1; /* the first pass posts phase 1 (NVMe 2.0 §3.3.3.2) */
	cq->sh_phase = 1;
	cq->state = state;
	return NVME_V_ACCEPT;
}

int nvme_gate_admin_open(struct nvme_gate *g, uint64_t drv_sq_iova,
			 uint64_t drv_cq_iova, uint16_t entries, uint64_t *asq,
			 uint64_t *acq)
{
	/* AQA.ASQS/ACQS are 12-bit, 0-based; ASQ/ACQ are page aligned
	 * (NVMe 2.0 §3.1.3.8-10). NVMe allows 2 entries, but one of those
	 * two is the kernel's (gate_kcmd_keep): the driver needs 3 */
	if (entries < NVME_GATE_ADMIN_MIN || entries > NVME_GATE_QSIZE_MAX)
		return -1;
	if ((drv_sq_iova | drv_cq_iova) & (PAGE_SIZE - 1))
		return -1;
	/* a stopped gate (nvme_gate_stop) opens nothing until drop_all */
	if (g->sq[0].state || g->cq[0].state || g->stopped)
		return -1;
	if (gate_cq_setup(g, 0, entries, drv_cq_iova, NVME_GQ_LIVE) !=
	    NVME_V_ACCEPT)
		return -1;
	if (gate_sq_setup(g, 0, 0, entries, drv_sq_iova, NVME_GQ_LIVE) !=
	    NVME_V_ACCEPT) {
		gate_cq_clear(g, &g->cq[0]);
		return -1;
	}
	/* the admin CQ is always on interrupt vector 0 (NVMe 2.0 §3.1.3.10) */
	g->cq[0].ien = true;
	g->cq[0].iv = 0;
	*asq = g->sq[0].shadow.iova;
	*acq = g->cq[0].shadow.iova;
	return 0;
}

/* a CQ the gate does not hold (size 0) has no room either */
static bool cq_full(const struct nvme_gate_cq *cq)
{
	return !cq->size ||
	       (uint16_t)((cq->drv_tail + 1) % cq->size) == cq->drv_head;
}

/* does a live, pending or draining SQ post to CQ qid? */
static bool gate_cq_in_use(const struct nvme_gate *g, uint16_t qid)
{
	for (unsigned q = 1; q < NVME_VAL_MAX_QID; q++)
		if (g->sq[q].state != NVME_GQ_FREE && g->sq[q].cqid == qid)
			return true;
	return false;
}

/* tell the device how far the shadow CQ was consumed (NVMe 2.0 §3.3.1.2):
 * one CQ head doorbell for many completions */
static void gate_cq_ring(struct nvme_gate *g, struct nvme_gate_cq *cq)
{
	if (!cq->sh_unrung || g->stopped)
		return;
	cq->sh_unrung = 0;
	g->env.doorbell(g->env.ctx, 2u * cq->qid + 1, cq->sh_head);
}

/* room on the device for one more command completing into cq, keep slots
 * left over: every command on the device, every completion of a deleted SQ
 * not yet reaped (stale), and every entry it posted that it has not been
 * told is consumed, holds a slot of its CQ. The coalesced head is rung
 * first when that makes the room. */
static bool gate_cq_room(struct nvme_gate *g, struct nvme_gate_cq *cq,
			 unsigned keep)
{
	if (cq->inflight + cq->stale + cq->sh_unrung + 1u + keep < cq->size)
		return true;
	gate_cq_ring(g, cq);
	return cq->inflight + cq->stale + 1u + keep < cq->size;
}

/* What the driver's commands leave free on SQ sq for the kernel's own
 * (nvme_gate_kcmd_submit): on the admin queue, while no kernel command is
 * outstanding, one shadow SQ slot and one admin CQ slot. An Asynchronous
 * Event Request stays on the device until an event, so without the
 * reserve a driver's AERs (as many as the controller's AERL allows) could
 * hold every slot for good and the kernel's command would find none. Linux
 * keeps admin tags apart in the same way (NVME_AQ_BLK_MQ_DEPTH). */
static unsigned gate_kcmd_keep(const struct nvme_gate *g,
			       const struct nvme_gate_sq *sq)
{
	return sq->qid == 0 && !g->kcmd_busy;
}

/* A device's completion status as the driver gets it. The gate's own
 * rejection code is the gate's to give: the same code from the device
 * (SCT 7 is vendor specific) would have the driver count a refusal the
 * gate never made and read the device's DW0 as its reason, so it reaches
 * the driver as Internal Error; every other status is the device's. */
static uint16_t gate_dev_status(struct nvme_gate *g, uint16_t st)
{
	const uint16_t code =
	    (uint16_t)(NVME_CQE_SCT_MASK << NVME_CQE_SCT_SHIFT |
		       NVME_CQE_SC_MASK << NVME_CQE_SC_SHIFT);
	if ((st & code) != (NVME_GATE_SCT_CAPOS << NVME_CQE_SCT_SHIFT |
			    NVME_GATE_SC_REJECTED << NVME_CQE_SC_SHIFT))
		return st;
	g->dev_status_rewritten++;
	return (uint16_t)((st & ~code) | NVME_SC_INTERNAL << NVME_CQE_SC_SHIFT);
}

/* One completion into the driver's CQ: the body first, the phase last. The
 * only code that writes driver memory; it writes only through a ring whose
 * grant is live (pinned), so never into a revoked, freed pool. */
static void gate_cq_post(struct nvme_gate *g, struct nvme_gate_cq *cq,
			 const struct nvme_cqe *e)
{
	if (!gate_ring_live(g, &cq->ring)) {
		g->ring_dead++;
		return;
	}
	volatile struct nvme_cqe *d = &cq->drv[cq->drv_tail];
	uint16_t status =
	    (uint16_t)((e->status & ~NVME_CQE_P_MASK) | (cq->drv_phase & 1));
	d->dw0 = e->dw0;
	d->dw1 = e->dw1;
	d->sqhd = e->sqhd;
	d->sqid = e->sqid;
	d->cid = e->cid;
	dma_wmb();
	d->status = status;
	if (++cq->drv_tail == cq->size) {
		cq->drv_tail = 0;
		cq->drv_phase ^= 1;
	}
}

/* a completion the gate makes itself: the driver's CID, the driver-view
 * SQ head, a status */
static void gate_post_status(struct nvme_gate *g, struct nvme_gate_cq *cq,
			     const struct nvme_gate_sq *sq, uint16_t drv_cid,
			     uint16_t status, uint32_t dw0)
{
	struct nvme_cqe e = {
	    .dw0 = dw0,
	    .sqhd = sq->drv_head,
	    .sqid = sq->qid,
	    .cid = drv_cid,
	    .status = status,
	};
	gate_cq_post(g, cq, &e);
	g->made |= 1ull << cq->qid; /* no device interrupt announces it */
}

/* the error completion of a rejected command (nvme_gate.h) */
static void gate_reject(struct nvme_gate *g, struct nvme_gate_cq *cq,
			const struct nvme_gate_sq *sq, uint16_t drv_cid,
			enum nvme_verdict v)
{
	gate_post_status(
	    g, cq, sq, drv_cid,
	    (uint16_t)(FIELD_SET(NVME_CQE_SC, NVME_GATE_SC_REJECTED) |
		       FIELD_SET(NVME_CQE_SCT, NVME_GATE_SCT_CAPOS) |
		       FIELD_SET(NVME_CQE_DNR, 1)),
	    (uint32_t)v);
}

/* Deliver what a deleted SQ still owes the driver, while its CQ has room:
 * once for each command the device had — its own completion when it posted
 * one before the deletion's (kept by gate_sq_retire), else "aborted, SQ
 * deleted" (NVMe 2.0 §5.7) — then "aborted" once for each entry the driver
 * rang that never reached the device. The controller is done with all of
 * them; nothing is dropped, a full CQ only delays. Once nothing is owed the
 * SQ id is free again. */
static void gate_sq_drain(struct nvme_gate *g, struct nvme_gate_sq *sq)
{
	struct nvme_gate_cq *cq = &g->cq[sq->cqid];
	const uint16_t aborted =
	    (uint16_t)(FIELD_SET(NVME_CQE_SC, NVME_SC_ABORT_SQ_DELETED) |
		       FIELD_SET(NVME_CQE_SCT, NVME_SCT_GENERIC));
	for (unsigned t = 0; t < sq->ntags && sq->nbusy && !cq_full(cq); t++) {
		struct nvme_gate_tag *tg = &sq->tag[t];
		if (!tg->busy)
			continue;
		if (tg->dev_status) { /* the device's own answer */
			struct nvme_cqe e = {
			    .dw0 = tg->dev_dw0,
			    .dw1 = tg->dev_dw1,
			    .sqhd = sq->drv_head,
			    .sqid = sq->qid,
			    .cid = tg->drv_cid,
			    .status = gate_dev_status(g, tg->dev_status),
			};
			gate_cq_post(g, cq, &e);
			g->made |= 1ull << cq->qid; /* its interrupt was
						     * the shadow CQ's */
		} else {
			gate_post_status(g, cq, sq, tg->drv_cid, aborted, 0);
		}
		tg->busy = 0;
		sq->nbusy--;
	}
	/* bounded: drv_head moves towards drv_tail, both < size */
	while (!sq->nbusy && sq->drv_head != sq->drv_tail && !cq_full(cq) &&
	       gate_ring_live(g, &sq->ring)) {
		const volatile struct nvme_sqe *d = &sq->drv[sq->drv_head];
		uint16_t cid = (uint16_t)(d->cdw0 >> 16);
		sq->drv_head = (uint16_t)((sq->drv_head + 1) % sq->size);
		gate_post_status(g, cq, sq, cid, aborted, 0);
	}
	if (!sq->nbusy &&
	    (sq->drv_head == sq->drv_tail || !gate_ring_live(g, &sq->ring)))
		gate_sq_clear(g, sq);
}

static bool gate_list_fetch(void *ctx, uint64_t iova, uint64_t *dst, uint32_t n)
{
	struct nvme_gate *g = ctx;
	const void *src = g->env.drv_va(g->env.ctx, iova, (size_t)n * 8);
	if (!src)
		return false;
	memcpy(dst, src, (size_t)n * 8);
	return true;
}

/* the first free tag from the one after the last taken: a tag serves
 * again only once the others free at the time have had a turn, so its
 * NVME_GATE_USES uses (nvme_gate.h) stretch over that many rounds of the
 * SQ's free tags, not that many commands */
static int gate_tag_alloc(const struct nvme_gate_sq *sq)
{
	for (unsigned i = 0; i < sq->ntags; i++) {
		unsigned t = (sq->next_tag + i) % sq->ntags;
		if (!sq->tag[t].busy)
			return (int)t;
	}
	return -1;
}

/* Effects of an accepted queue-management command that must exist before
 * the device sees it (shadow rings to point it at) or that stop the driver
 * from using a queue being deleted. NVME_V_ACCEPT or the refusal. */
static enum nvme_verdict gate_admin_pre(struct nvme_gate *g,
					struct nvme_sqe *sh)
{
	struct nvme_val_policy *p = g->pol;
	uint8_t opc = nvme_sqe_opc(sh);
	uint16_t qid = (uint16_t)FIELD_GET(NVME_CREATEQ_QID, sh->cdw10);
	uint16_t size =
	    (uint16_t)(FIELD_GET(NVME_CREATEQ_QSIZE, sh->cdw10) + 1);
	if (qid == 0 || qid >= NVME_VAL_MAX_QID)
		return opc == NVME_ADM_CREATE_CQ || opc == NVME_ADM_CREATE_SQ ||
			       opc == NVME_ADM_DELETE_CQ ||
			       opc == NVME_ADM_DELETE_SQ
			   ? NVME_V_QUEUE_ID_NOT_GRANTED
			   : NVME_V_ACCEPT;
	if ((opc == NVME_ADM_CREATE_CQ || opc == NVME_ADM_CREATE_SQ) &&
	    (size < 2 || size > NVME_GATE_QSIZE_MAX))
		return NVME_V_QUEUE_SIZE;
	switch (opc) {
	case NVME_ADM_CREATE_CQ: {
		if (g->cq[qid].state != NVME_GQ_FREE)
			return NVME_V_QUEUE_STATE;
		enum nvme_verdict v =
		    gate_cq_setup(g, qid, size, sh->prp1, NVME_GQ_PENDING);
		if (v != NVME_V_ACCEPT)
			return v;
		sh->prp1 = g->cq[qid].shadow.iova;
		g->cq[qid].ien = FIELD_GET(NVME_CREATECQ_IEN, sh->cdw11);
		g->cq[qid].iv =
		    (uint16_t)FIELD_GET(NVME_CREATECQ_IV, sh->cdw11);
		p->cq_live |= 1ull << qid;
		break;
	}
	case NVME_ADM_CREATE_SQ: {
		uint16_t cqid =
		    (uint16_t)FIELD_GET(NVME_CREATESQ_CQID, sh->cdw11);
		if (g->sq[qid].state != NVME_GQ_FREE || cqid == 0 ||
		    cqid >= NVME_VAL_MAX_QID ||
		    g->cq[cqid].state == NVME_GQ_FREE)
			return NVME_V_QUEUE_STATE;
		/* the SQ id's generation runs modulo NVME_GATE_GENS: a
		 * completion of its earlier life still unreaped in the CQ
		 * carries the generation it takes now once that has come
		 * round, and would answer (and unpin) a new command the
		 * device still holds. The driver reaps its CQ first */
		if (gate_cq_pending_of(g, &g->cq[cqid], &g->sq[qid], false))
			return NVME_V_QUEUE_STATE;
		enum nvme_verdict v = gate_sq_setup(g, qid, cqid, size,
						    sh->prp1, NVME_GQ_PENDING);
		if (v != NVME_V_ACCEPT)
			return v;
		sh->prp1 = g->sq[qid].shadow.iova;
		p->sq_live |= 1ull << qid;
		p->sq_cq[qid] = cqid;
		break;
	}
	case NVME_ADM_DELETE_SQ:
		if (g->sq[qid].state != NVME_GQ_LIVE)
			return NVME_V_QUEUE_STATE;
		g->sq[qid].state = NVME_GQ_DELETING;
		p->sq_live &= ~(1ull << qid);
		break;
	case NVME_ADM_DELETE_CQ:
		/* an SQ still posts to it, or a deleted one owes completions
		 * into it */
		if (g->cq[qid].state != NVME_GQ_LIVE || gate_cq_in_use(g, qid))
			return NVME_V_QUEUE_STATE;
		g->cq[qid].state = NVME_GQ_DELETING;
		p->cq_live &= ~(1ull << qid);
		break;
	}
	return NVME_V_ACCEPT;
}

/* the device's result of a queue-management command: commit or undo */
static void gate_admin_post(struct nvme_gate *g, uint8_t opc, uint16_t qid,
			    bool ok)
{
	struct nvme_val_policy *p = g->pol;
	if (qid == 0 || qid >= NVME_VAL_MAX_QID)
		return;
	switch (opc) {
	case NVME_ADM_CREATE_CQ:
		if (g->cq[qid].state != NVME_GQ_PENDING)
			break;
		/* a CQ an SQ was created on cannot have failed: a device that
		 * says so lies, and the gate keeps the CQ (and its shadow)
		 * rather than leave the SQ posting into nothing */
		if (ok || gate_cq_in_use(g, qid)) {
			g->cq[qid].state = NVME_GQ_LIVE;
			g->dev_bad_cqe += !ok;
			/* what a lying device posted into it before the gate
			 * saw it created holds slots all the same
			 * (t_forged_before_cq_live_counted) */
			gate_cq_count_stale(g, qid);
		} else {
			gate_cq_clear(g, &g->cq[qid]);
			p->cq_live &= ~(1ull << qid);
		}
		break;
	case NVME_ADM_CREATE_SQ:
		if (g->sq[qid].state != NVME_GQ_PENDING)
			break;
		if (ok) {
			g->sq[qid].state = NVME_GQ_LIVE;
		} else {
			gate_sq_clear(g, &g->sq[qid]);
			p->sq_live &= ~(1ull << qid);
		}
		break;
	case NVME_ADM_DELETE_SQ:
		if (g->sq[qid].state != NVME_GQ_DELETING)
			break;
		if (ok) {
			gate_sq_retire(g, &g->sq[qid]);
			g->sq[qid].state = NVME_GQ_DRAINING;
			gate_sq_drain(g, &g->sq[qid]);
		} else {
			g->sq[qid].state = NVME_GQ_LIVE;
			p->sq_live |= 1ull << qid;
		}
		break;
	case NVME_ADM_DELETE_CQ:
		if (g->cq[qid].state != NVME_GQ_DELETING)
			break;
		if (ok) {
			gate_cq_clear(g, &g->cq[qid]);
		} else {
			g->cq[qid].state = NVME_GQ_LIVE;
			p->cq_live |= 1ull << qid;
		}
		break;
	}
}

/* Abort names a command by CID: give the device the tag it knows, or
 * NVME_GATE_CID_NONE when the driver has no such command outstanding there
 * (never a kernel command's CID: t_abort_spares_kcmd) */
static void gate_abort_translate(struct nvme_gate *g, struct nvme_sqe *sh)
{
	uint16_t sqid = (uint16_t)FIELD_GET(NVME_ABORT_SQID, sh->cdw10);
	uint16_t cid = (uint16_t)FIELD_GET(NVME_ABORT_CID, sh->cdw10);
	uint16_t tag = NVME_GATE_CID_NONE;
	if (sqid < NVME_VAL_MAX_QID && g->sq[sqid].state != NVME_GQ_FREE) {
		for (uint16_t t = 0; t < NVME_GATE_TAGS; t++) {
			const struct nvme_gate_tag *tg = &g->sq[sqid].tag[t];
			if (tg->busy && tg->drv_cid == cid) {
				tag = tg->dev_cid;
				break;
			}
		}
	}
	sh->cdw10 = (uint32_t)FIELD_SET(NVME_ABORT_SQID, sqid) |
		    (uint32_t)FIELD_SET(NVME_ABORT_CID, tag);
}

/* the device's copy of an accepted command */
static void gate_shadow_fill(struct nvme_gate_sq *sq, struct nvme_sqe *sh,
			     const struct nvme_val_result *res, int tag)
{
	switch (res->kind) {
	case NVME_DATA_NONE:
		sh->prp1 = 0;
		sh->prp2 = 0;
		break;
	case NVME_DATA_PRP1:
		sh->prp2 = 0;
		break;
	case NVME_DATA_PRP_LIST:
		sh->prp2 = sq->lists.iova + (uint64_t)tag * PAGE_SIZE;
		break;
	case NVME_DATA_QUEUE: /* prp1 already points at the shadow ring */
		sh->prp2 = 0;
		break;
	case NVME_DATA_PRP2_PAGE:
		break;
	}
	if (!res->uses_mptr)
		sh->mptr = 0;
	nvme_sqe_set_cid(sh, sq->tag[tag].dev_cid);
}

/* Validate and shadow the driver's new entries of sq. Bounded by one queue
 * depth: drv_head moves towards drv_tail and both are < size. */
static int gate_sq_take(struct nvme_gate *g, struct nvme_gate_sq *sq)
{
	struct nvme_gate_cq *cq = &g->cq[sq->cqid];
	const enum nvme_qtype qt = sq->qid == 0 ? NVME_QT_ADMIN : NVME_QT_IO;
	struct nvme_sqe *shq = sq->shadow.va;
	int taken = 0, added = 0;
	if (cq->state == NVME_GQ_FREE || g->stopped)
		return 0;
	while (sq->drv_head != sq->drv_tail) {
		uint16_t next_sh = (uint16_t)((sq->sh_tail + 1) % sq->size);
		uint16_t sh_free =
		    (uint16_t)((sq->sh_head + sq->size - sq->sh_tail - 1) %
			       sq->size);
		unsigned keep = gate_kcmd_keep(g, sq);
		int tag = gate_tag_alloc(sq);
		if (sh_free <= keep || tag < 0 || cq_full(cq) ||
		    !gate_cq_room(g, cq, keep)) {
			g->stalls++;
			break;
		}
		/* the kernel's copy, made once, straight into the free shadow
		 * slot past the tail (the device reads no further than the
		 * tail): nothing below reads the driver's SQE, and a refused
		 * entry is simply not published */
		struct nvme_sqe *sh = &shq[sq->sh_tail];
		memcpy(sh, &sq->drv[sq->drv_head], sizeof(*sh));
		barrier();
		uint16_t drv_cid = nvme_sqe_cid(sh);
		uint64_t *list_page = (uint64_t *)((uint8_t *)sq->lists.va +
						   (size_t)tag * PAGE_SIZE);
		struct nvme_val_list list = {
		    .ctx = g, .fetch = gate_list_fetch, .out = list_page};
		struct nvme_val_result res;
		enum nvme_verdict v =
		    nvme_validate(g->pol, qt, sh, &list, &res);
		g->pol->hint = res.last;
		if (v == NVME_V_ACCEPT && qt == NVME_QT_ADMIN)
			v = gate_admin_pre(g, sh);
		sq->drv_head = (uint16_t)((sq->drv_head + 1) % sq->size);
		taken++;
		nvme_val_count(&g->stats, v);
		if (v != NVME_V_ACCEPT) {
			gate_reject(g, cq, sq, drv_cid, v);
			continue;
		}
		if (qt == NVME_QT_ADMIN && nvme_sqe_opc(sh) == NVME_ADM_ABORT)
			gate_abort_translate(g, sh);
		struct nvme_gate_tag *tg = &sq->tag[tag];
		tg->busy = 1;
		tg->dev_status = 0;
		tg->drv_cid = drv_cid;
		tg->dev_cid = gate_dev_cid(g, sq, (unsigned)tag);
		sq->next_tag = (uint16_t)(tag + 1);
		tg->opc = qt == NVME_QT_ADMIN ? nvme_sqe_opc(sh) : 0xff;
		tg->arg = (uint16_t)FIELD_GET(NVME_CREATEQ_QID, sh->cdw10);
		gate_pin(g, tg, res.grants);
		sq->nbusy++;
		cq->inflight++;
		gate_shadow_fill(sq, sh, &res, tag);
		sq->sh_tail = next_sh;
		added++;
	}
	if (added) {
		dma_wmb(); /* shadow entries and lists before the doorbell */
		g->env.doorbell(g->env.ctx, 2u * sq->qid, sq->sh_tail);
	}
	return taken;
}

/* The end of a gate call: the driver's CQs the gate posted its own
 * completions into get their interrupt, once each, as a device raises one
 * for what it posts (the driver may be waiting for it, not polling). Last
 * thing in the call, when the gate's state is settled: the broker runs the
 * driver's handler from here, and a nested gate call starts afresh. */
static void gate_interrupts(struct nvme_gate *g)
{
	uint64_t m = g->made;
	g->made = 0;
	for (; m && g->env.interrupt; m &= m - 1) {
		const struct nvme_gate_cq *cq = &g->cq[__builtin_ctzll(m)];
		if (cq->state != NVME_GQ_FREE && cq->ien)
			g->env.interrupt(g->env.ctx, cq->iv);
	}
}

int nvme_gate_sq_ring(struct nvme_gate *g, uint16_t qid, uint16_t tail)
{
	struct nvme_gate_sq *sq = qid < NVME_VAL_MAX_QID ? &g->sq[qid] : 0;
	if (g->stopped)
		return -1; /* no device to hand the entries to */
	if (!sq || sq->state != NVME_GQ_LIVE || !gate_ring_live(g, &sq->ring) ||
	    !gate_ring_live(g, &g->cq[sq->cqid].ring)) {
		nvme_val_count(&g->stats, NVME_V_QUEUE_NOT_OWNED);
		return -1;
	}
	if (tail >= sq->size) {
		nvme_val_count(&g->stats, NVME_V_DOORBELL_OUT_OF_RANGE);
		return -1;
	}
	sq->drv_tail = tail;
	int taken = gate_sq_take(g, sq);
	gate_interrupts(g);
	return taken;
}

/* Which of those e, read from CQ cqid's shadow, is. Changes nothing, so
 * the reap can leave an entry that needs a driver CQ slot where it is
 * (nvme_gate_cq_reap). */
static enum gate_cqe gate_cqe_kind(const struct nvme_gate *g, uint16_t cqid,
				   const struct nvme_cqe *e)
{
	if (e->sqid >= NVME_VAL_MAX_QID)
		return GATE_CQE_BAD;
	const struct nvme_gate_sq *sq = &g->sq[e->sqid];
	bool kcmd = e->sqid == 0 && g->kcmd_busy && e->cid == g->kcmd_cid;
	/* a CID the gate has not outstanding in the kernel's generation (a
	 * kernel command's with none outstanding, an earlier one's: given up
	 * on and posted after a reset, or a copy) names nothing: it must not
	 * match a tag by its low bits, nor answer the kernel's command */
	unsigned gen = e->cid >> NVME_GATE_GEN_SHIFT;
	if (!kcmd && gen >= NVME_GATE_GENS)
		return GATE_CQE_BAD;
	/* from an SQ's earlier life (before a Delete SQ or a reset): the
	 * driver has been answered already */
	if (!kcmd && gen != g->sq_gen[e->sqid])
		return GATE_CQE_STALE;
	if (sq->state == NVME_GQ_FREE || sq->state == NVME_GQ_DRAINING ||
	    sq->cqid != cqid)
		return GATE_CQE_BAD;
	if (kcmd)
		return GATE_CQE_KCMD;
	/* the command on its tag now, not the one before it there (a copy
	 * of that one's completion posted after the tag was reused) */
	unsigned tag = e->cid & (NVME_GATE_TAGS - 1);
	if (tag >= sq->ntags || !sq->tag[tag].busy ||
	    sq->tag[tag].dev_cid != e->cid)
		return GATE_CQE_BAD;
	return GATE_CQE_DRV;
}

/* SQHD: the head when the entry was made (NVMe 2.0 §4.2.1), so at or
 * past the last one and not past the tail rung, in ring order. Anything
 * else (or a head from a completion that named nothing) is not taken: a
 * device that moved the gate's head past its tail would stall the SQ, or
 * have the gate count slots it never fetched as free */
static void gate_sqhd(struct nvme_gate *g, struct nvme_gate_sq *sq,
		      uint16_t sqhd)
{
	if (sqhd < sq->size &&
	    (uint16_t)((sqhd + sq->size - sq->sh_head) % sq->size) <=
		(uint16_t)((sq->sh_tail + sq->size - sq->sh_head) % sq->size))
		sq->sh_head = sqhd;
	else
		g->dev_bad_sqhd++;
}

/* The device completion e of CQ cqid, of kind k, taken off the shadow:
 * a stale one is swallowed, the kernel's kept for nvme_gate_kcmd_poll, a
 * driver command's translated into the driver's terms (its CID, the
 * driver-view SQ head) for nvme_gate_cq_reap to post. */
static void gate_cqe_take(struct nvme_gate *g, uint16_t cqid,
			  struct nvme_cqe *e, enum gate_cqe k)
{
	struct nvme_gate_cq *cq = &g->cq[cqid];
	struct nvme_gate_sq *sq = &g->sq[e->sqid];
	if (k == GATE_CQE_STALE) {
		g->dev_stale_cqe++;
		return;
	}
	gate_sqhd(g, sq, e->sqhd);
	if (cq->inflight)
		cq->inflight--;
	if (k == GATE_CQE_KCMD) {
		g->kcmd_cqe = *e;
		g->kcmd_busy = false;
		g->kcmd_done = true;
		return;
	}
	struct nvme_gate_tag *tg = &sq->tag[e->cid & (NVME_GATE_TAGS - 1)];
	if (e->sqid == 0) {
		bool ok = nvme_cqe_sct(e) == NVME_SCT_GENERIC &&
			  nvme_cqe_sc(e) == NVME_SC_SUCCESS;
		gate_admin_post(g, tg->opc, tg->arg, ok);
	}
	e->status = gate_dev_status(g, e->status);
	e->cid = tg->drv_cid;
	e->sqhd = sq->drv_head; /* the driver's slots are free once copied */
	gate_unpin(g, tg);
	tg->busy = 0;
	sq->nbusy--;
}

/* room came free in CQ cqid (tags, shadow slots, driver CQ slots): first
 * what deleted SQs still owe the driver, then what live SQs left pending */
static void gate_take_pending(struct nvme_gate *g, uint16_t cqid)
{
	for (unsigned q = 0; q < g->qid_hi; q++) {
		struct nvme_gate_sq *sq = &g->sq[q];
		if (sq->state == NVME_GQ_DRAINING && sq->cqid == cqid)
			gate_sq_drain(g, sq);
	}
	for (unsigned q = 0; q < g->qid_hi; q++) {
		struct nvme_gate_sq *sq = &g->sq[q];
		if (sq->state == NVME_GQ_LIVE && sq->cqid == cqid &&
		    sq->drv_head != sq->drv_tail &&
		    gate_ring_live(g, &sq->ring))
			gate_sq_take(g, sq);
	}
}

/* admin shadow slot h holds a kernel completion taken already */
static bool gate_kcmd_taken(const struct nvme_gate *g, uint16_t h)
{
	return (g->kcmd_early[h / 64] >> (h % 64)) & 1;
}

/* The admin CQ's shadow head is a driver completion waiting for room in
 * the driver's full admin CQ: the kernel's outstanding command's
 * completion behind it is taken now, not after it — a driver that does not
 * consume its admin CQ does not hold back the broker's commands
 * (t_kcmd_behind_driver_cqe). Its slot stays in the shadow and is passed
 * over when the reap reaches it, its SQ head taken then, in order. At most
 * cq->size - 1 entries read, each once, its body after its phase. */
static void gate_kcmd_ahead(struct nvme_gate *g, struct nvme_gate_cq *cq)
{
	uint16_t h = cq->sh_head;
	uint8_t ph = cq->sh_phase;
	if (cq != &g->cq[0] || !g->kcmd_busy)
		return;
	for (unsigned i = 1; i < cq->size; i++) {
		struct nvme_cqe e;
		gate_shadow_step(cq, &h, &ph);
		if (!gate_shadow_read(cq, h, ph, &e))
			return;
		/* a slot taken already may carry the CID the kernel uses
		 * again now (they go round NVME_GATE_KCIDS) */
		if (gate_kcmd_taken(g, h) ||
		    gate_cqe_kind(g, 0, &e) != GATE_CQE_KCMD)
			continue;
		g->kcmd_cqe = e;
		g->kcmd_busy = false;
		g->kcmd_done = true;
		if (cq->inflight)
			cq->inflight--;
		g->kcmd_early[h / 64] |= 1ull << (h % 64);
		return;
	}
}

int nvme_gate_cq_reap(struct nvme_gate *g, uint16_t qid)
{
	struct nvme_gate_cq *cq = qid < NVME_VAL_MAX_QID ? &g->cq[qid] : 0;
	if (cq && cq->state == NVME_GQ_PENDING && gate_ring_live(g, &cq->ring))
		gate_cq_count_stale(g, qid); /* not reaped before it is live,
						but what it holds is counted */
	if (!cq || (cq->state != NVME_GQ_LIVE && cq->state != NVME_GQ_DELETING))
		return -1;
	if (!gate_ring_live(g, &cq->ring)) {
		nvme_val_count(&g->stats, NVME_V_QUEUE_NOT_OWNED);
		return -1;
	}
	int delivered = 0, consumed = 0;
	/* at most one queue depth per call. An entry that needs a slot in
	 * the driver's CQ waits at the head while that is full, and what is
	 * behind it waits in order; one that needs none (the kernel's own
	 * command's, a stale or a bad one) is taken whenever it is at the
	 * head, and the kernel's also from behind the one waiting
	 * (gate_kcmd_ahead): a driver that does not consume its admin CQ does
	 * not hold back the kernel's command (t_kcmd_driver_cq_full) */
	for (int i = 0; i < cq->size; i++) {
		struct nvme_cqe e;
		if (!gate_shadow_read(cq, cq->sh_head, cq->sh_phase, &e))
			break;
		enum gate_cqe k = gate_cqe_kind(g, qid, &e);
		if (k == GATE_CQE_DRV && cq_full(cq)) {
			gate_kcmd_ahead(g, cq);
			break;
		}
		uint16_t h0 = cq->sh_head;
		bool early = qid == 0 && gate_kcmd_taken(g, h0);
		gate_shadow_step(cq, &cq->sh_head, &cq->sh_phase);
		consumed++;
		if (early) { /* the kernel's, taken already */
			g->kcmd_early[h0 / 64] &= ~(1ull << (h0 % 64));
			gate_sqhd(g, &g->sq[0], e.sqhd);
			continue;
		}
		if (k == GATE_CQE_BAD) {
			g->dev_bad_cqe++;
			if (!g->said_bad_cqe)
				kprintf(
				    "nvme-gate: device completion sq %u cid "
				    "0x%x on cq %u names no command "
				    "outstanding: dropped; the rest only "
				    "counted (bad_device_cqes)\n",
				    e.sqid, e.cid, qid);
			g->said_bad_cqe = true;
			continue;
		}
		gate_cqe_take(g, qid, &e, k);
		if (k != GATE_CQE_DRV)
			continue;
		gate_cq_post(g, cq, &e);
		delivered++;
	}
	/* the head doorbell once half the ring is consumed (or when a
	 * submission needs the room: gate_cq_room) */
	cq->sh_unrung = (uint16_t)(cq->sh_unrung + consumed);
	if (cq->sh_unrung >= cq->size / 2)
		gate_cq_ring(g, cq);
	/* what is left in the shadow, before any submission asks for room */
	gate_cq_count_stale(g, qid);
	/* tags and shadow slots came free */
	gate_take_pending(g, qid);
	gate_interrupts(g);
	return delivered;
}

int nvme_gate_cq_head(struct nvme_gate *g, uint16_t qid, uint16_t head)
{
	struct nvme_gate_cq *cq = qid < NVME_VAL_MAX_QID ? &g->cq[qid] : 0;
	if (!cq || cq->state == NVME_GQ_FREE) {
		nvme_val_count(&g->stats, NVME_V_QUEUE_NOT_OWNED);
		return -1;
	}
	if (head >= cq->size) {
		nvme_val_count(&g->stats, NVME_V_DOORBELL_OUT_OF_RANGE);
		return -1;
	}
	if (!gate_ring_live(g, &cq->ring)) {
		nvme_val_count(&g->stats, NVME_V_QUEUE_NOT_OWNED);
		return -1;
	}
	cq->drv_head = head;
	/* room in the driver's CQ may unblock entries a full CQ held back */
	gate_take_pending(g, qid);
	gate_interrupts(g);
	return 0;
}

int nvme_gate_kcmd_submit(struct nvme_gate *g, const struct nvme_sqe *cmd)
{
	struct nvme_gate_sq *sq = &g->sq[0];
	if (g->stopped || sq->state != NVME_GQ_LIVE || g->kcmd_busy ||
	    !gate_cq_room(g, &g->cq[0], 0))
		return -1;
	uint16_t next = (uint16_t)((sq->sh_tail + 1) % sq->size);
	if (next == sq->sh_head)
		return -1;
	struct nvme_sqe sh = *cmd;
	g->kcmd_cid = (uint16_t)(NVME_GATE_KCID_BASE + g->kcmd_seq);
	g->kcmd_seq = (uint16_t)((g->kcmd_seq + 1) % NVME_GATE_KCIDS);
	nvme_sqe_set_cid(&sh, g->kcmd_cid);
	memcpy((struct nvme_sqe *)sq->shadow.va + sq->sh_tail, &sh, sizeof(sh));
	sq->sh_tail = next;
	g->kcmd_busy = true;
	g->kcmd_done = false;
	g->cq[0].inflight++;
	dma_wmb();
	g->env.doorbell(g->env.ctx, 0, sq->sh_tail);
	return 0;
}

bool nvme_gate_kcmd_poll(struct nvme_gate *g, struct nvme_cqe *out)
{
	nvme_gate_cq_reap(g, 0);
	if (!g->kcmd_done)
		return false;
	g->kcmd_done = false;
	*out = g->kcmd_cqe;
	return true;
}

bool nvme_gate_kcmd_pending(const struct nvme_gate *g)
{
	return g->kcmd_busy;
}

void nvme_gate_stop(struct nvme_gate *g)
{
	g->stopped = true;
}

void nvme_gate_live_ioqs(const struct nvme_gate *g, uint64_t *sqs,
			 uint64_t *cqs)
{
	uint64_t unsure = 0; /* CQs an SQ the device may hold posts to */
	*sqs = *cqs = 0;
	if (g->stopped)
		return;
	for (unsigned q = 1; q < NVME_VAL_MAX_QID; q++) {
		const struct nvme_gate_sq *sq = &g->sq[q];
		if (sq->state == NVME_GQ_LIVE)
			*sqs |= 1ull << q;
		else if (sq->state == NVME_GQ_PENDING ||
			 sq->state == NVME_GQ_DELETING)
			unsure |= 1ull << sq->cqid;
	}
	for (unsigned q = 1; q < NVME_VAL_MAX_QID; q++)
		if (g->cq[q].state == NVME_GQ_LIVE && !(unsure >> q & 1))
			*cqs |= 1ull << q;
}

void nvme_gate_drop_all(struct nvme_gate *g)
{
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		gate_sq_clear(g, &g->sq[q]);
		gate_cq_clear(g, &g->cq[q]);
	}
	g->pol->cq_live = g->pol->sq_live = 0;
	g->kcmd_busy = g->kcmd_done = false;
	memset(g->kcmd_early, 0, sizeof(g->kcmd_early));
	g->made = 0;
	g->stopped = false;
}

size_t nvme_gate_shadow_bytes(const struct nvme_gate *g, uint16_t qid)
{
	if (qid >= NVME_VAL_MAX_QID)
		return 0;
	return g->sq[qid].shadow.len + g->sq[qid].lists.len +
	       g->cq[qid].shadow.len;
}

static const char *const gq_state_names[] = {"free", "pending", "live",
					     "deleting", "draining"};

static const char *gq_state_name(uint8_t st)
{
	return st < ARRAY_SIZE(gq_state_names) ? gq_state_names[st] : "?";
}

void nvme_gate_json(const struct nvme_gate *g, struct json *j)
{
	json_obj(j);
	json_key(j, "verdicts");
	nvme_val_stats_json(&g->stats, j);
	json_ku64(j, "bad_device_cqes", g->dev_bad_cqe);
	json_ku64(j, "bad_device_sqheads", g->dev_bad_sqhd);
	json_ku64(j, "device_status_rewritten", g->dev_status_rewritten);
	json_ku64(j, "stalls", g->stalls);
	json_karr(j, "queues");
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		const struct nvme_gate_sq *sq = &g->sq[q];
		if (!sq->state)
			continue;
		json_obj(j);
		json_ku64(j, "sq", q);
		json_ku64(j, "cq", sq->cqid);
		json_ku64(j, "size", sq->size);
		json_kstr(j, "state", gq_state_name(sq->state));
		json_ku64(j, "inflight", sq->nbusy);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

void nvme_gate_dump(const struct nvme_gate *g)
{
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		const struct nvme_gate_sq *sq = &g->sq[q];
		const struct nvme_gate_cq *cq = &g->cq[q];
		if (sq->state)
			kprintf("  sq%u -> cq%u %s size %u drv %u/%u shadow "
				"%u/%u inflight %u\n",
				q, sq->cqid, gq_state_name(sq->state), sq->size,
				sq->drv_head, sq->drv_tail, sq->sh_head,
				sq->sh_tail, sq->nbusy);
		if (cq->state)
			kprintf("  cq%u %s size %u drv tail %u head %u phase "
				"%u shadow head %u\n",
				q, gq_state_name(cq->state), cq->size,
				cq->drv_tail, cq->drv_head, cq->drv_phase,
				cq->sh_head);
	}
	for (unsigned v = 0; v < NVME_V_NREASONS; v++)
		if (g->stats.n[v])
			kprintf("  %s: %llu\n",
				nvme_verdict_name((enum nvme_verdict)v),
				(unsigned long long)g->stats.n[v]);
	kprintf("  bad device completions %llu, stalls %llu\n",
		(unsigned long long)g->dev_bad_cqe,
		(unsigned long long)g->stalls);
}
