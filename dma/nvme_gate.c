/* dma/nvme_gate.c — see nvme_gate.h.
 *
 * Callers serialise: one controller's gate is entered by one CPU at a time
 * (the broker's caller holds the driver's lock). Every index the driver or
 * the device hands the gate is range-checked before use. */
#include "dma/nvme_gate.h"

#include "kernel/lib/lib.h"

static bool gate_ring_granted(const struct nvme_gate *g, uint64_t iova,
			      uint64_t len)
{
	return grant_covers(g->pol->grants, g->pol->owner, iova, len);
}

static void gate_free(struct nvme_gate *g, struct dma_buf *b)
{
	if (b->len)
		g->env.shadow_free(g->env.ctx, b);
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

/* the device is done with every command of sq (deleted, or the controller
 * was reset): release their pins, and move the SQ's generation on so any of
 * its completions still on the way are recognised as stale */
static void gate_sq_clear(struct nvme_gate *g, struct nvme_gate_sq *sq)
{
	size_t qid = (size_t)(sq - g->sq);
	for (unsigned t = 0; t < NVME_GATE_TAGS; t++)
		if (sq->tag[t].busy)
			gate_unpin(g, &sq->tag[t]);
	gate_free(g, &sq->shadow);
	gate_free(g, &sq->lists);
	memset(sq, 0, sizeof(*sq));
	g->sq_gen[qid] = (uint16_t)((g->sq_gen[qid] + 1) % NVME_GATE_GENS);
}

static uint16_t gate_dev_cid(const struct nvme_gate *g, uint16_t qid, int tag)
{
	return (uint16_t)(g->sq_gen[qid] << NVME_GATE_TAG_BITS | (unsigned)tag);
}

static void gate_cq_clear(struct nvme_gate *g, struct nvme_gate_cq *cq)
{
	gate_free(g, &cq->shadow);
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

/* shadow rings and list pages for SQ qid; the driver's ring at drv_iova */
static int gate_sq_setup(struct nvme_gate *g, uint16_t qid, uint16_t cqid,
			 uint16_t size, uint64_t drv_iova, uint8_t state)
{
	struct nvme_gate_sq *sq = &g->sq[qid];
	size_t len = (size_t)size * NVME_SQE_BYTES;
	sq->drv = g->env.drv_va(g->env.ctx, drv_iova, len);
	if (!sq->drv)
		return -1;
	if (g->env.shadow_alloc(g->env.ctx, ALIGN_UP(len, PAGE_SIZE),
				&sq->shadow) != 0)
		goto fail;
	if (g->env.shadow_alloc(g->env.ctx, (size_t)NVME_GATE_TAGS * PAGE_SIZE,
				&sq->lists) != 0)
		goto fail;
	sq->qid = qid;
	sq->cqid = cqid;
	sq->size = size;
	sq->drv_iova = drv_iova;
	sq->state = state;
	return 0;
fail:
	gate_sq_clear(g, sq);
	return -1;
}

static int gate_cq_setup(struct nvme_gate *g, uint16_t qid, uint16_t size,
			 uint64_t drv_iova, uint8_t state)
{
	struct nvme_gate_cq *cq = &g->cq[qid];
	size_t len = (size_t)size * NVME_CQE_BYTES;
	cq->drv = g->env.drv_va(g->env.ctx, drv_iova, len);
	if (!cq->drv)
		return -1;
	if (g->env.shadow_alloc(g->env.ctx, ALIGN_UP(len, PAGE_SIZE),
				&cq->shadow) != 0) {
		gate_cq_clear(g, cq);
		return -1;
	}
	cq->qid = qid;
	cq->size = size;
	cq->drv_iova = drv_iova;
	cq->drv_phase = 1; /* NVMe §4.6: the first pass posts phase 1 */
	cq->sh_phase = 1;
	cq->state = state;
	return 0;
}

int nvme_gate_admin_open(struct nvme_gate *g, uint64_t drv_sq_iova,
			 uint64_t drv_cq_iova, uint16_t entries, uint64_t *asq,
			 uint64_t *acq)
{
	/* AQA.ASQS/ACQS are 12-bit, 0-based; ASQ/ACQ are page aligned
	 * (NVMe 2.0 §3.1.3.8-10) */
	if (entries < 2 || entries > NVME_GATE_QSIZE_MAX)
		return -1;
	if ((drv_sq_iova | drv_cq_iova) & (PAGE_SIZE - 1))
		return -1;
	if (!gate_ring_granted(g, drv_sq_iova, (uint64_t)entries * 64) ||
	    !gate_ring_granted(g, drv_cq_iova, (uint64_t)entries * 16))
		return -1;
	if (g->sq[0].state || g->cq[0].state)
		return -1;
	if (gate_cq_setup(g, 0, entries, drv_cq_iova, NVME_GQ_LIVE) != 0)
		return -1;
	if (gate_sq_setup(g, 0, 0, entries, drv_sq_iova, NVME_GQ_LIVE) != 0) {
		gate_cq_clear(g, &g->cq[0]);
		return -1;
	}
	*asq = g->sq[0].shadow.iova;
	*acq = g->cq[0].shadow.iova;
	return 0;
}

static bool cq_full(const struct nvme_gate_cq *cq)
{
	return (uint16_t)((cq->drv_tail + 1) % cq->size) == cq->drv_head;
}

/* one completion into the driver's CQ: the body first, the phase last */
static void gate_cq_post(struct nvme_gate_cq *cq, const struct nvme_cqe *e)
{
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

/* the error completion of a rejected command (nvme_gate.h) */
static void gate_reject(struct nvme_gate_cq *cq, const struct nvme_gate_sq *sq,
			uint16_t drv_cid, enum nvme_verdict v)
{
	struct nvme_cqe e = {
	    .dw0 = (uint32_t)v,
	    .sqhd = sq->drv_head,
	    .sqid = sq->qid,
	    .cid = drv_cid,
	    .status = (uint16_t)(FIELD_SET(NVME_CQE_SC, NVME_GATE_SC_REJECTED) |
				 FIELD_SET(NVME_CQE_SCT, NVME_GATE_SCT_CAPOS) |
				 FIELD_SET(NVME_CQE_DNR, 1)),
	};
	gate_cq_post(cq, &e);
}

/* Delete I/O SQ succeeded: the controller has finished or aborted every
 * command of the SQ (NVMe 2.0 §5.6), but their completions may still sit in
 * the shadow CQ, where the generation check will drop them. The driver
 * hears of each command once, here, as aborted by the deletion. */
static void gate_sq_abort_all(struct nvme_gate *g, struct nvme_gate_sq *sq)
{
	struct nvme_gate_cq *cq = &g->cq[sq->cqid];
	for (unsigned t = 0; t < NVME_GATE_TAGS; t++) {
		if (!sq->tag[t].busy)
			continue;
		struct nvme_cqe e = {
		    .sqhd = sq->drv_head,
		    .sqid = sq->qid,
		    .cid = sq->tag[t].drv_cid,
		    .status = (uint16_t)(FIELD_SET(NVME_CQE_SC,
						   NVME_SC_ABORT_SQ_DELETED) |
					 FIELD_SET(NVME_CQE_SCT,
						   NVME_SCT_GENERIC)),
		};
		if (cq->state == NVME_GQ_FREE || !cq->drv || cq_full(cq))
			g->lost_aborts++;
		else
			gate_cq_post(cq, &e);
	}
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

static int gate_tag_alloc(struct nvme_gate_sq *sq)
{
	for (int t = 0; t < NVME_GATE_TAGS; t++)
		if (!sq->tag[t].busy)
			return t;
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
	case NVME_ADM_CREATE_CQ:
		if (g->cq[qid].state != NVME_GQ_FREE)
			return NVME_V_QUEUE_STATE;
		if (gate_cq_setup(g, qid, size, sh->prp1, NVME_GQ_PENDING))
			return NVME_V_GATE_NO_MEMORY;
		sh->prp1 = g->cq[qid].shadow.iova;
		p->cq_live |= 1ull << qid;
		break;
	case NVME_ADM_CREATE_SQ: {
		uint16_t cqid =
		    (uint16_t)FIELD_GET(NVME_CREATESQ_CQID, sh->cdw11);
		if (g->sq[qid].state != NVME_GQ_FREE || cqid == 0 ||
		    cqid >= NVME_VAL_MAX_QID ||
		    g->cq[cqid].state == NVME_GQ_FREE)
			return NVME_V_QUEUE_STATE;
		if (gate_sq_setup(g, qid, cqid, size, sh->prp1,
				  NVME_GQ_PENDING))
			return NVME_V_GATE_NO_MEMORY;
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
		if (g->cq[qid].state != NVME_GQ_LIVE)
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
		if (ok) {
			g->cq[qid].state = NVME_GQ_LIVE;
		} else {
			gate_cq_clear(g, &g->cq[qid]);
			p->cq_live &= ~(1ull << qid);
		}
		break;
	case NVME_ADM_CREATE_SQ:
		if (ok) {
			g->sq[qid].state = NVME_GQ_LIVE;
		} else {
			gate_sq_clear(g, &g->sq[qid]);
			p->sq_live &= ~(1ull << qid);
		}
		break;
	case NVME_ADM_DELETE_SQ:
		if (ok) {
			gate_sq_abort_all(g, &g->sq[qid]);
			gate_sq_clear(g, &g->sq[qid]);
		} else {
			g->sq[qid].state = NVME_GQ_LIVE;
			p->sq_live |= 1ull << qid;
		}
		break;
	case NVME_ADM_DELETE_CQ:
		if (ok) {
			gate_cq_clear(g, &g->cq[qid]);
		} else {
			g->cq[qid].state = NVME_GQ_LIVE;
			p->cq_live |= 1ull << qid;
		}
		break;
	}
}

/* Abort names a command by CID: give the device the tag it knows */
static void gate_abort_translate(struct nvme_gate *g, struct nvme_sqe *sh)
{
	uint16_t sqid = (uint16_t)FIELD_GET(NVME_ABORT_SQID, sh->cdw10);
	uint16_t cid = (uint16_t)FIELD_GET(NVME_ABORT_CID, sh->cdw10);
	uint16_t tag = 0xfffe; /* names nothing the gate issued */
	if (sqid < NVME_VAL_MAX_QID && g->sq[sqid].state != NVME_GQ_FREE) {
		for (uint16_t t = 0; t < NVME_GATE_TAGS; t++) {
			const struct nvme_gate_tag *tg = &g->sq[sqid].tag[t];
			if (tg->busy && tg->drv_cid == cid) {
				tag = gate_dev_cid(g, sqid, t);
				break;
			}
		}
	}
	sh->cdw10 = (uint32_t)FIELD_SET(NVME_ABORT_SQID, sqid) |
		    (uint32_t)FIELD_SET(NVME_ABORT_CID, tag);
}

/* the device's copy of an accepted command */
static void gate_shadow_fill(const struct nvme_gate *g, struct nvme_gate_sq *sq,
			     struct nvme_sqe *sh,
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
	nvme_sqe_set_cid(sh, gate_dev_cid(g, sq->qid, tag));
}

/* Validate and shadow the driver's new entries of sq. Bounded by one queue
 * depth: drv_head moves towards drv_tail and both are < size. */
static int gate_sq_take(struct nvme_gate *g, struct nvme_gate_sq *sq)
{
	struct nvme_gate_cq *cq = &g->cq[sq->cqid];
	const enum nvme_qtype qt = sq->qid == 0 ? NVME_QT_ADMIN : NVME_QT_IO;
	struct nvme_sqe *shq = sq->shadow.va;
	int taken = 0, added = 0;
	if (cq->state == NVME_GQ_FREE)
		return 0;
	while (sq->drv_head != sq->drv_tail) {
		uint16_t next_sh = (uint16_t)((sq->sh_tail + 1) % sq->size);
		int tag = gate_tag_alloc(sq);
		if (next_sh == sq->sh_head || tag < 0 || cq_full(cq)) {
			g->stalls++;
			break;
		}
		/* the kernel's copy: nothing below reads the driver's SQE */
		struct nvme_sqe sh;
		memcpy(&sh, &sq->drv[sq->drv_head], sizeof(sh));
		barrier();
		uint16_t drv_cid = nvme_sqe_cid(&sh);
		uint64_t *list_page = (uint64_t *)((uint8_t *)sq->lists.va +
						   (size_t)tag * PAGE_SIZE);
		struct nvme_val_list list = {
		    .ctx = g, .fetch = gate_list_fetch, .out = list_page};
		struct nvme_val_result res;
		enum nvme_verdict v =
		    nvme_validate(g->pol, qt, &sh, &list, &res);
		g->pol->hint = res.last;
		if (v == NVME_V_ACCEPT && qt == NVME_QT_ADMIN)
			v = gate_admin_pre(g, &sh);
		sq->drv_head = (uint16_t)((sq->drv_head + 1) % sq->size);
		taken++;
		nvme_val_count(&g->stats, v);
		if (v != NVME_V_ACCEPT) {
			gate_reject(cq, sq, drv_cid, v);
			continue;
		}
		if (qt == NVME_QT_ADMIN && nvme_sqe_opc(&sh) == NVME_ADM_ABORT)
			gate_abort_translate(g, &sh);
		struct nvme_gate_tag *tg = &sq->tag[tag];
		tg->busy = 1;
		tg->drv_cid = drv_cid;
		tg->opc = qt == NVME_QT_ADMIN ? nvme_sqe_opc(&sh) : 0xff;
		tg->arg = (uint16_t)FIELD_GET(NVME_CREATEQ_QID, sh.cdw10);
		gate_pin(g, tg, res.grants);
		sq->nbusy++;
		gate_shadow_fill(g, sq, &sh, &res, tag);
		memcpy(&shq[sq->sh_tail], &sh, sizeof(sh));
		sq->sh_tail = next_sh;
		added++;
	}
	if (added) {
		dma_wmb(); /* shadow entries and lists before the doorbell */
		g->env.doorbell(g->env.ctx, 2u * sq->qid, sq->sh_tail);
	}
	return taken;
}

int nvme_gate_sq_ring(struct nvme_gate *g, uint16_t qid, uint16_t tail)
{
	struct nvme_gate_sq *sq = qid < NVME_VAL_MAX_QID ? &g->sq[qid] : 0;
	if (!sq || sq->state != NVME_GQ_LIVE ||
	    !gate_ring_granted(g, sq->drv_iova,
			       (uint64_t)sq->size * NVME_SQE_BYTES) ||
	    !gate_ring_granted(g, g->cq[sq->cqid].drv_iova,
			       (uint64_t)g->cq[sq->cqid].size *
				   NVME_CQE_BYTES)) {
		nvme_val_count(&g->stats, NVME_V_QUEUE_NOT_OWNED);
		return -1;
	}
	if (tail >= sq->size) {
		nvme_val_count(&g->stats, NVME_V_DOORBELL_OUT_OF_RANGE);
		return -1;
	}
	sq->drv_tail = tail;
	return gate_sq_take(g, sq);
}

/* one device completion: translate into the driver's terms. false when it
 * names nothing the gate issued (counted, dropped). */
static bool gate_cqe_translate(struct nvme_gate *g, uint16_t cqid,
			       struct nvme_cqe *e, bool *swallow)
{
	*swallow = false;
	if (e->sqid >= NVME_VAL_MAX_QID)
		return false;
	struct nvme_gate_sq *sq = &g->sq[e->sqid];
	bool kcmd = e->sqid == 0 && e->cid == NVME_GATE_KCID && g->kcmd_busy;
	unsigned gen = e->cid >> NVME_GATE_TAG_BITS;
	if (!kcmd && gen < NVME_GATE_GENS && gen != g->sq_gen[e->sqid]) {
		/* from an SQ's earlier life (before a Delete SQ or a reset):
		 * the driver has been answered already */
		g->dev_stale_cqe++;
		*swallow = true;
		return true;
	}
	if (sq->state == NVME_GQ_FREE || sq->cqid != cqid)
		return false;
	if (e->sqhd < sq->size)
		sq->sh_head = e->sqhd;
	if (kcmd) {
		g->kcmd_cqe = *e;
		g->kcmd_busy = false;
		g->kcmd_done = true;
		*swallow = true;
		return true;
	}
	unsigned tag = e->cid & (NVME_GATE_TAGS - 1);
	if (!sq->tag[tag].busy)
		return false;
	struct nvme_gate_tag *tg = &sq->tag[tag];
	if (e->sqid == 0) {
		bool ok = nvme_cqe_sct(e) == NVME_SCT_GENERIC &&
			  nvme_cqe_sc(e) == NVME_SC_SUCCESS;
		gate_admin_post(g, tg->opc, tg->arg, ok);
	}
	e->cid = tg->drv_cid;
	e->sqhd = sq->drv_head; /* the driver's slots are free once copied */
	gate_unpin(g, tg);
	tg->busy = 0;
	sq->nbusy--;
	return true;
}

/* take what the SQs posting to CQ cqid left pending for want of a tag, a
 * shadow slot or room in the driver's CQ */
static void gate_take_pending(struct nvme_gate *g, uint16_t cqid)
{
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		struct nvme_gate_sq *sq = &g->sq[q];
		if (sq->state == NVME_GQ_LIVE && sq->cqid == cqid &&
		    sq->drv_head != sq->drv_tail &&
		    gate_ring_granted(g, sq->drv_iova,
				      (uint64_t)sq->size * NVME_SQE_BYTES))
			gate_sq_take(g, sq);
	}
}

int nvme_gate_cq_reap(struct nvme_gate *g, uint16_t qid)
{
	struct nvme_gate_cq *cq = qid < NVME_VAL_MAX_QID ? &g->cq[qid] : 0;
	if (!cq || (cq->state != NVME_GQ_LIVE && cq->state != NVME_GQ_DELETING))
		return -1;
	if (!gate_ring_granted(g, cq->drv_iova,
			       (uint64_t)cq->size * NVME_CQE_BYTES)) {
		nvme_val_count(&g->stats, NVME_V_QUEUE_NOT_OWNED);
		return -1;
	}
	const volatile struct nvme_cqe *shq = cq->shadow.va;
	int delivered = 0, consumed = 0;
	/* at most one queue depth per call */
	for (int i = 0; i < cq->size && !cq_full(cq); i++) {
		struct nvme_cqe e;
		uint16_t st = shq[cq->sh_head].status;
		if ((st & NVME_CQE_P_MASK) != cq->sh_phase)
			break;
		dma_rmb(); /* phase before the body */
		e.dw0 = shq[cq->sh_head].dw0;
		e.dw1 = shq[cq->sh_head].dw1;
		e.sqhd = shq[cq->sh_head].sqhd;
		e.sqid = shq[cq->sh_head].sqid;
		e.cid = shq[cq->sh_head].cid;
		e.status = st;
		if (++cq->sh_head == cq->size) {
			cq->sh_head = 0;
			cq->sh_phase ^= 1;
		}
		consumed++;
		bool swallow; /* the kernel's own command, or a stale one */
		if (!gate_cqe_translate(g, qid, &e, &swallow)) {
			g->dev_bad_cqe++;
			continue;
		}
		if (swallow)
			continue;
		gate_cq_post(cq, &e);
		delivered++;
	}
	if (consumed)
		g->env.doorbell(g->env.ctx, 2u * qid + 1, cq->sh_head);
	/* tags and shadow slots came free */
	gate_take_pending(g, qid);
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
	if (!gate_ring_granted(g, cq->drv_iova,
			       (uint64_t)cq->size * NVME_CQE_BYTES)) {
		nvme_val_count(&g->stats, NVME_V_QUEUE_NOT_OWNED);
		return -1;
	}
	cq->drv_head = head;
	/* room in the driver's CQ may unblock entries a full CQ held back */
	gate_take_pending(g, qid);
	return 0;
}

int nvme_gate_kcmd_submit(struct nvme_gate *g, const struct nvme_sqe *cmd)
{
	struct nvme_gate_sq *sq = &g->sq[0];
	if (sq->state != NVME_GQ_LIVE || g->kcmd_busy)
		return -1;
	uint16_t next = (uint16_t)((sq->sh_tail + 1) % sq->size);
	if (next == sq->sh_head)
		return -1;
	struct nvme_sqe sh = *cmd;
	nvme_sqe_set_cid(&sh, NVME_GATE_KCID);
	memcpy((struct nvme_sqe *)sq->shadow.va + sq->sh_tail, &sh, sizeof(sh));
	sq->sh_tail = next;
	g->kcmd_busy = true;
	g->kcmd_done = false;
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

void nvme_gate_drop_all(struct nvme_gate *g)
{
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		gate_sq_clear(g, &g->sq[q]);
		gate_cq_clear(g, &g->cq[q]);
	}
	g->pol->cq_live = g->pol->sq_live = 0;
	g->kcmd_busy = g->kcmd_done = false;
}

static const char *const gq_state_names[] = {"free", "pending", "live",
					     "deleting"};

int nvme_gate_json(const struct nvme_gate *g, char *buf, unsigned cap)
{
	int n = ksnprintf(buf, cap, "{\"verdicts\":");
	n += nvme_val_stats_json(&g->stats, buf + MIN((unsigned)n, cap),
				 cap - MIN((unsigned)n, cap));
	n += ksnprintf(buf + MIN((unsigned)n, cap), cap - MIN((unsigned)n, cap),
		       ",\"bad_device_cqes\":%llu,\"stalls\":%llu,\"queues\":[",
		       (unsigned long long)g->dev_bad_cqe,
		       (unsigned long long)g->stalls);
	bool first = true;
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		const struct nvme_gate_sq *sq = &g->sq[q];
		if (!sq->state)
			continue;
		n += ksnprintf(buf + MIN((unsigned)n, cap),
			       cap - MIN((unsigned)n, cap),
			       "%s{\"sq\":%u,\"cq\":%u,\"size\":%u,\"state\":"
			       "\"%s\",\"inflight\":%u}",
			       first ? "" : ",", q, sq->cqid, sq->size,
			       gq_state_names[sq->state & 3], sq->nbusy);
		first = false;
	}
	n += ksnprintf(buf + MIN((unsigned)n, cap), cap - MIN((unsigned)n, cap),
		       "]}");
	return n;
}

void nvme_gate_dump(const struct nvme_gate *g)
{
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		const struct nvme_gate_sq *sq = &g->sq[q];
		const struct nvme_gate_cq *cq = &g->cq[q];
		if (sq->state)
			kprintf("  sq%u -> cq%u %s size %u drv %u/%u shadow "
				"%u/%u inflight %u\n",
				q, sq->cqid, gq_state_names[sq->state & 3],
				sq->size, sq->drv_head, sq->drv_tail,
				sq->sh_head, sq->sh_tail, sq->nbusy);
		if (cq->state)
			kprintf("  cq%u %s size %u drv tail %u head %u phase "
				"%u shadow head %u\n",
				q, gq_state_names[cq->state & 3], cq->size,
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
