/* drivers/nvme/nvme.c — NVMe controller bring-up, namespaces, block
 * interface, recovery and inspection (bus-neutral: the PCI glue is
 * nvme_pci.c, the command engine nvme_q.c).
 *
 * Initialisation follows NVMe 2.0 §3.5.1 with the register steps done by
 * the broker (kernel/authority/nvme_broker.h):
 *   1-2. reset the controller (CC.EN=0, CSTS.RDY=0)      nvme_broker_open
 *   8-10. Identify Controller, NVM limits (CNS 06h),     nvme_broker_open
 *         active namespaces, each (the broker's own,     nvme_ident_take
 *         before the driver exists)
 *   3-7. admin queues, CC, wait for CSTS.RDY=1           nvme_broker_enable
 *   11.  Set Features Number of Queues                   nvme_ioq_count
 *   12.  Create I/O CQ, then SQ, per queue pair          nvme_ioq_start
 *        a block device per granted namespace            nvme_ns_scan
 * The broker identifies the controller once, with one parser
 * (dma/nvme_ident.c), so the driver, the validator's policy and the device
 * manager agree on names, the transfer limit and the namespaces. Block
 * devices are registered only once the I/O queues exist. The driver's
 * rings, buffers and PRP lists all live in one DMA pool. */
#include "drivers/nvme/nvme_var.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/time/time.h"

/* ---- memory -------------------------------------------------------------- */
/* Bounce pages: two transfers of the controller's maximum at once (a write
 * and its read-back) and room for smaller ones, at most NVME_ARENA_PAGES.
 * The limit is known before any memory exists (the broker's Identify), so
 * a controller with a small MDTS does not pay for a large arena. */
static unsigned nvme_arena_pages(const struct nvme_softc *sc)
{
	size_t bytes = 2 * (size_t)nvme_broker_max_xfer(sc->broker, sc->owner) +
		       NVME_ARENA_SLACK;
	return (unsigned)MIN(ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE,
			     (size_t)NVME_ARENA_PAGES);
}

/* I/O queue entries: NVME_IO_ENTRIES, or fewer when CAP.MQES says so (it
 * bounds the I/O queues, NVMe 2.0 §3.1.3.1; the admin queue is AQA's,
 * NVME_ADMIN_ENTRIES whatever MQES is). MQES 0 is not NVMe (its minimum
 * is 1, two entries): taken as 1, the create is refused with its reason */
static uint16_t nvme_io_entries(const struct nvme_softc *sc)
{
	uint64_t mqes = FIELD_GET(NVME_CAP_MQES, sc->cap);
	return (uint16_t)MIN((uint64_t)NVME_IO_ENTRIES, MAX(mqes, 1ull) + 1);
}

static size_t nvme_pool_bytes(const struct nvme_softc *sc)
{
	size_t n = nvme_io_entries(sc);
	size_t b = 2 * PAGE_SIZE /* admin SQ, CQ */;
	b += NVME_IOQ_MAX * (ALIGN_UP(n * NVME_SQE_BYTES, PAGE_SIZE) +
			     ALIGN_UP(n * NVME_CQE_BYTES, PAGE_SIZE));
	b += (size_t)NVME_IOQ_MAX * NVME_NCCB * NVME_LIST_PAGES * PAGE_SIZE;
	b += (size_t)nvme_arena_pages(sc) * PAGE_SIZE;
	return b;
}

static int nvme_q_alloc(struct nvme_softc *sc, struct nvme_queue *q,
			uint16_t id, uint16_t entries)
{
	q->sc = sc;
	q->id = id;
	q->entries = entries;
	q->nccb = (uint16_t)MIN((unsigned)NVME_NCCB, entries - 1u);
	if (dma_pool_carve(
		&sc->pool,
		ALIGN_UP((size_t)entries * NVME_SQE_BYTES, PAGE_SIZE),
		PAGE_SIZE, &q->sq) ||
	    dma_pool_carve(
		&sc->pool,
		ALIGN_UP((size_t)entries * NVME_CQE_BYTES, PAGE_SIZE),
		PAGE_SIZE, &q->cq))
		return -1;
	for (unsigned i = 0; i < q->nccb; i++) {
		struct nvme_ccb *ccb = &q->ccb[i];
		ccb->q = q;
		ccb->idx = (uint8_t)i;
		ccb->state = NVME_CCB_FREE;
		/* admin commands move at most one page: PRP1 only */
		if (id && dma_pool_carve(&sc->pool, NVME_LIST_PAGES * PAGE_SIZE,
					 PAGE_SIZE, &ccb->list))
			return -1;
	}
	return 0;
}

static int nvme_mem_alloc(struct nvme_softc *sc)
{
	if (dma_pool_create(sc->owner, nvme_pool_bytes(sc), 0, &sc->pool)) {
		kprintf("%s: unable to allocate DMA pool (%zu KiB)\n", sc->name,
			nvme_pool_bytes(sc) / 1024);
		return -1;
	}
	if (nvme_q_alloc(sc, &sc->admin, 0, NVME_ADMIN_ENTRIES))
		goto fail;
	for (unsigned i = 0; i < NVME_IOQ_MAX; i++)
		if (nvme_q_alloc(sc, &sc->ioq[i], (uint16_t)(i + 1),
				 nvme_io_entries(sc)))
			goto fail;
	sc->arena_pages = nvme_arena_pages(sc);
	if (dma_pool_carve(&sc->pool, (size_t)sc->arena_pages * PAGE_SIZE,
			   PAGE_SIZE, &sc->arena))
		goto fail;
	memset(sc->arena_map, 0, sizeof(sc->arena_map));
	return 0;
fail:
	kprintf("%s: unable to carve queues and buffers from the DMA pool\n",
		sc->name);
	dma_pool_revoke(&sc->pool);
	return -1;
}

/* The pool goes back only once the controller is proven stopped. One that
 * ignored CC.EN=0 (the broker fenced it) may still write its rings and
 * buffers, and only bus mastering off holds it: its pool stays allocated
 * for good (one line), as the broker keeps the pages it gave a fenced
 * controller. nvme_attach's unwind and nvme_detach both end here. */
static void nvme_mem_free(struct nvme_softc *sc)
{
	if (nvme_broker_fenced(sc->broker, sc->owner)) {
		kprintf("%s: controller did not stop: its DMA pool (%zu KiB) "
			"is kept for good\n",
			sc->name, sc->pool.len / 1024);
		return;
	}
	dma_pool_revoke(&sc->pool);
}

/* ---- queue state --------------------------------------------------------- */
static void nvme_q_reset(struct nvme_queue *q)
{
	memset(q->sq.va, 0, q->sq.len);
	memset(q->cq.va, 0, q->cq.len);
	q->sq_tail = q->sq_head = q->cq_head = q->sq_rung = 0;
	q->cq_phase = 1; /* the controller's first pass posts phase 1 */
	q->live = false;
}

/* the controller no longer owns q's commands (reset): each is completed
 * with "aborted due to SQ deletion" so no caller waits for nothing */
static void nvme_q_fail_all(struct nvme_softc *sc, struct nvme_queue *q)
{
	for (unsigned i = 0; i < q->nccb; i++) {
		if (q->ccb[i].state != NVME_CCB_INFLIGHT)
			continue;
		sc->reset_failed_cmds++; /* only a reset's: failed_by_reset */
		nvme_ccb_abort(sc, &q->ccb[i]);
	}
}

static int nvme_admin_start(struct nvme_softc *sc)
{
	nvme_q_reset(&sc->admin);
	if (nvme_broker_enable(sc->broker, sc->owner, &sc->admin.sq,
			       &sc->admin.cq, sc->admin.entries) != 0) {
		kprintf("%s: unable to enable controller\n", sc->name);
		return -1;
	}
	sc->admin.live = true;
	return 0;
}

/* Create I/O Completion Queue then Submission Queue (NVMe 2.0 §5.5, §5.4):
 * physically contiguous (PC=1), the CQ on its own MSI-X vector */
/* Create I/O CQ or SQ (NVMe 2.0 §5.4, §5.5): both carry the ring in PRP1
 * and the queue's id and size in CDW10; the caller fills CDW11 */
static void nvme_createq_cmd(struct nvme_sqe *c, uint8_t opc, uint64_t ring,
			     const struct nvme_queue *q)
{
	memset(c, 0, sizeof(*c));
	c->cdw0 = opc;
	c->prp1 = ring;
	c->cdw10 = (uint32_t)(FIELD_SET(NVME_CREATEQ_QID, q->id) |
			      FIELD_SET(NVME_CREATEQ_QSIZE, q->entries - 1));
}

static int nvme_ioq_start(struct nvme_softc *sc, struct nvme_queue *q)
{
	struct nvme_sqe c;
	struct nvme_cqe e;
	nvme_q_reset(q);
	nvme_createq_cmd(&c, NVME_ADM_CREATE_CQ, q->cq.iova, q);
	c.cdw11 = (uint32_t)(FIELD_SET(NVME_CREATEQ_PC, 1) |
			     FIELD_SET(NVME_CREATECQ_IEN, q->irq_bound) |
			     FIELD_SET(NVME_CREATECQ_IV,
				       q->irq_bound ? q->irq.msix_index : 0));
	if (nvme_exec(sc, &sc->admin, &c, &e, NVME_ADMIN_TIMEOUT_US)) {
		kprintf("%s: unable to create I/O CQ %u (SCT %u SC 0x%x)\n",
			sc->name, q->id, nvme_cqe_sct(&e), nvme_cqe_sc(&e));
		return -1;
	}
	nvme_createq_cmd(&c, NVME_ADM_CREATE_SQ, q->sq.iova, q);
	c.cdw11 = (uint32_t)(FIELD_SET(NVME_CREATEQ_PC, 1) |
			     FIELD_SET(NVME_CREATESQ_CQID, q->id));
	if (nvme_exec(sc, &sc->admin, &c, &e, NVME_ADMIN_TIMEOUT_US)) {
		kprintf("%s: unable to create I/O SQ %u (SCT %u SC 0x%x)\n",
			sc->name, q->id, nvme_cqe_sct(&e), nvme_cqe_sc(&e));
		return -1;
	}
	q->live = true;
	return 0;
}

/* ---- identity ------------------------------------------------------------ */
/* what the broker's Identify found (NVMe 2.0 §5.17.2.1): names, MDTS, NN;
 * the transfer limit is the policy's, so the driver never builds a command
 * the validator would refuse for its size */
static int nvme_ident_take(struct nvme_softc *sc)
{
	sc->id = *nvme_broker_ident(sc->broker, sc->owner);
	sc->max_xfer = nvme_broker_max_xfer(sc->broker, sc->owner);
	/* the same ONCS the gate's policy holds (broker_probe), less what
	 * an Invalid Opcode cleared for good (nvme_bd_clear) */
	sc->oncs = sc->id.oncs & (NVME_ONCS_WRITE_ZEROES | NVME_ONCS_DSM) &
		   (uint16_t)~sc->oncs_refused;
	if (sc->max_xfer < PAGE_SIZE) {
		kprintf("%s: unable to use controller (max transfer %u)\n",
			sc->name, sc->max_xfer);
		return -1;
	}
	return 0;
}

/* Set Features Number of Queues (NVMe 2.0 §5.27.1.5): ask for
 * NVME_IOQ_MAX pairs, use what is allocated (0-based in DW0) */
static int nvme_ioq_count(struct nvme_softc *sc)
{
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	unsigned want = NVME_IOQ_MAX;
	c.cdw0 = NVME_ADM_SET_FEATURES;
	c.cdw10 = (uint32_t)FIELD_SET(NVME_FEAT_FID, NVME_FID_NUM_QUEUES);
	c.cdw11 = (uint32_t)(FIELD_SET(NVME_NUMQ_NSQR, want - 1) |
			     FIELD_SET(NVME_NUMQ_NCQR, want - 1));
	if (nvme_exec(sc, &sc->admin, &c, &e, NVME_ADMIN_TIMEOUT_US)) {
		kprintf("%s: unable to set number of queues (SCT %u SC 0x%x)\n",
			sc->name, nvme_cqe_sct(&e), nvme_cqe_sc(&e));
		return -1;
	}
	unsigned nsq = (unsigned)FIELD_GET(NVME_NUMQ_NSQA, e.dw0) + 1;
	unsigned ncq = (unsigned)FIELD_GET(NVME_NUMQ_NCQA, e.dw0) + 1;
	sc->nioq =
	    MIN(MIN(want, nsq),
		MIN(ncq, (unsigned)nvme_broker_max_qid(sc->broker, sc->owner)));
	return sc->nioq ? 0 : -1;
}

/* ---- namespaces and the block interface ---------------------------------- */
/* One request in max_xfer pieces, each bounced through the arena: up to
 * one piece per I/O queue pair in flight at once (a one-piece request
 * takes the next queue round robin), so every queue the controller
 * granted carries block traffic. Each piece waits as r->wait says. */
struct nvme_piece {
	struct nvme_queue *q;
	struct nvme_ccb *ccb;
	struct dma_buf bb;
	uint32_t n, len;
	uint64_t lba;
	uint8_t *p;
};

/* submit one piece; 0 or -1 (nothing outstanding) */
static int nvme_piece_start(struct nvme_softc *sc, struct nvme_ns *ns,
			    const struct blockdev_req *r, struct nvme_piece *pc)
{
	struct nvme_io io = {.opc = r->op == BLOCKDEV_WRITE ? NVME_IO_WRITE
							    : NVME_IO_READ,
			     .nsid = ns->nsid,
			     .slba = pc->lba,
			     .nlb = pc->n,
			     .len = pc->len};
	if (nvme_buf_get(sc, pc->len, &pc->bb))
		return -1;
	pc->ccb = nvme_ccb_get(pc->q);
	if (!pc->ccb) {
		nvme_buf_put(sc, &pc->bb);
		return -1;
	}
	pc->ccb->wait = r->wait;
	io.iova = pc->bb.iova;
	if (r->op == BLOCKDEV_WRITE)
		memcpy(pc->bb.va, pc->p, pc->len);
	if (nvme_io_prepare(sc, pc->ccb, &io) ||
	    nvme_submit(sc, pc->q, pc->ccb, nvme_fill_cmd, 0)) {
		nvme_ccb_put(pc->ccb);
		nvme_buf_put(sc, &pc->bb);
		return -1;
	}
	return 0;
}

/* wait for a started piece, copy a read out, release; 0 or -1 */
static int nvme_piece_finish(struct nvme_softc *sc, struct nvme_ns *ns,
			     const struct blockdev_req *r,
			     struct nvme_piece *pc)
{
	int rc = nvme_wait(sc, pc->q, pc->ccb, NVME_IO_TIMEOUT_US);
	struct nvme_cqe e = pc->ccb->cqe;
	if (rc == 0 && r->op == BLOCKDEV_READ)
		memcpy(pc->p, pc->bb.va, pc->len);
	nvme_ccb_put(pc->ccb);
	nvme_buf_put(sc, &pc->bb);
	if (rc)
		kprintf("%s: unable to %s %u blocks at %llu of ns %u on queue "
			"%u (SCT %u SC 0x%x)\n",
			sc->name, r->op == BLOCKDEV_WRITE ? "write" : "read",
			pc->n, (unsigned long long)pc->lba, ns->nsid, pc->q->id,
			nvme_cqe_sct(&e), nvme_cqe_sc(&e));
	return rc;
}

/* one command without bounce data on the next queue, waited for as wait
 * says; 0, or -1 with *e the answer (zero when nothing was sent) */
static int nvme_bd_cmd(struct nvme_softc *sc, const struct nvme_io *io,
		       uint8_t wait, struct nvme_cqe *e)
{
	struct nvme_queue *q = &sc->ioq[sc->next_q++ % sc->nioq];
	struct nvme_ccb *ccb = nvme_ccb_get(q);
	memset(e, 0, sizeof(*e));
	if (!ccb)
		return -1;
	ccb->wait = wait;
	int rc = nvme_io_prepare(sc, ccb, io);
	if (rc == 0)
		rc = nvme_submit(sc, q, ccb, nvme_fill_cmd, 0);
	if (rc == 0) {
		rc = nvme_wait(sc, q, ccb, NVME_IO_TIMEOUT_US);
		*e = ccb->cqe;
	}
	nvme_ccb_put(ccb);
	return rc;
}

/* Write Zeroes and Discard per command: capOS's constants narrowed by the
 * controller's NVM limits (the broker's CNS 06h; 0: none), so a lying
 * controller can make them smaller, never larger. WZSL is bytes: this
 * namespace's blocks, at least one (a WZSL below one block allows no
 * command: one block is sent, and the controller's answer decides). */
static void nvme_clear_limits(const struct nvme_softc *sc, struct nvme_ns *ns)
{
	const struct nvme_ident_ctrl *id = &sc->id;
	uint64_t wz = NVME_WZ_BLOCKS_MAX;
	if (id->wz_bytes)
		wz = MIN(wz, MAX(id->wz_bytes / ns->lba_bytes, 1ull));
	ns->wz_blocks = (uint32_t)wz;
	ns->dsm_ranges = id->dmrl ? MIN((uint32_t)id->dmrl, NVME_DSM_RANGES_MAX)
				  : NVME_DSM_RANGES_MAX;
	ns->dsm_range_blocks = id->dmrsl ? MIN(id->dmrsl, NVME_DSM_RANGE_BLOCKS)
					 : NVME_DSM_RANGE_BLOCKS;
	uint64_t all = (uint64_t)ns->dsm_ranges * ns->dsm_range_blocks;
	ns->dsm_blocks = (uint32_t)(id->dmsl ? MIN(id->dmsl, all) : all);
}

/* BLOCKDEV_WRITE_ZEROES and BLOCKDEV_DISCARD over [lba, lba + count), in
 * range (checked by the caller): Write Zeroes commands of at most
 * ns->wz_blocks, or Dataset Management (Deallocate) commands of at most
 * ns->dsm_ranges ranges of ns->dsm_range_blocks and ns->dsm_blocks in
 * all (nvme_clear_limits), their list in one arena page (the pool: inside
 * the grant), one after another; a request needing more than
 * NVME_CLEAR_CMDS_MAX commands is refused (-1, one line) before any.
 * A controller that named the command in ONCS and answers it Invalid
 * Opcode has it cleared from sc->oncs (one line): this request and every
 * later one get BLOCKDEV_EOPNOTSUPP. */
static int nvme_bd_clear(struct nvme_softc *sc, struct nvme_ns *ns,
			 const struct blockdev_req *r)
{
	bool wz = r->op == BLOCKDEV_WRITE_ZEROES;
	const char *what = wz ? "write zeroes to" : "deallocate";
	uint64_t lba = r->lba;
	uint32_t count = r->count;
	struct dma_buf list = {0};
	uint32_t per = wz ? ns->wz_blocks : ns->dsm_blocks;
	if ((uint64_t)count > (uint64_t)per * NVME_CLEAR_CMDS_MAX) {
		kprintf("%s: unable to %s %u blocks of ns %u: at the "
			"controller's %u blocks a command that is more than "
			"%u commands\n",
			sc->name, what, count, ns->nsid, per,
			NVME_CLEAR_CMDS_MAX);
		return -1;
	}
	if (!wz && count && nvme_buf_get(sc, PAGE_SIZE, &list))
		return -1;
	int rc = 0;
	while (count && rc == 0) {
		struct nvme_io io = {.nsid = ns->nsid, .slba = lba};
		uint32_t n = 0;
		if (wz) {
			io.opc = NVME_IO_WRITE_ZEROES;
			io.nlb = n = MIN(count, ns->wz_blocks);
		} else {
			struct nvme_dsm_range *rg = list.va;
			uint32_t most = MIN(count, ns->dsm_blocks);
			unsigned k = 0;
			for (; k < ns->dsm_ranges && n < most; k++) {
				uint32_t m =
				    MIN(most - n, ns->dsm_range_blocks);
				rg[k] = (struct nvme_dsm_range){
				    .nlb = m, .slba = lba + n};
				n += m;
			}
			io.opc = NVME_IO_DSM;
			io.iova = list.iova;
			io.len = k * NVME_DSM_RANGE_BYTES;
		}
		struct nvme_cqe e;
		rc = nvme_bd_cmd(sc, &io, r->wait, &e);
		if (rc && nvme_cqe_sct(&e) == NVME_SCT_GENERIC &&
		    nvme_cqe_sc(&e) == NVME_SC_INVALID_OPCODE) {
			sc->oncs_refused |=
			    wz ? NVME_ONCS_WRITE_ZEROES : NVME_ONCS_DSM;
			sc->oncs &= (uint16_t)~sc->oncs_refused;
			kprintf("%s: the controller names %s in ONCS but "
				"answers it Invalid Opcode; not sent again\n",
				sc->name,
				wz ? "Write Zeroes" : "Dataset Management");
			rc = BLOCKDEV_EOPNOTSUPP;
		} else if (rc) {
			kprintf("%s: unable to %s %u blocks at %llu of ns %u "
				"(SCT %u SC 0x%x)\n",
				sc->name, what, n, (unsigned long long)lba,
				ns->nsid, nvme_cqe_sct(&e), nvme_cqe_sc(&e));
		}
		lba += n;
		count -= n;
	}
	nvme_buf_put(sc, &list);
	return rc;
}

static int nvme_bd_submit(struct blockdev *b, const struct blockdev_req *r)
{
	struct nvme_ns *ns = b->priv;
	struct nvme_softc *sc = ns->sc;
	uint8_t *p = r->buf;
	uint64_t lba = r->lba, end;
	uint32_t count = r->count;
	struct nvme_cqe e;
	if (!sc->nioq || ns->gone || r->wait > BLOCKDEV_WAIT_HYBRID ||
	    r->op > BLOCKDEV_DISCARD)
		return -1;
	if (r->op == BLOCKDEV_FLUSH) {
		struct nvme_io io = {.opc = NVME_IO_FLUSH, .nsid = ns->nsid};
		return nvme_bd_cmd(sc, &io, r->wait, &e);
	}
	/* a command the controller does not have is never built */
	if ((r->op == BLOCKDEV_WRITE_ZEROES &&
	     !(sc->oncs & NVME_ONCS_WRITE_ZEROES)) ||
	    (r->op == BLOCKDEV_DISCARD && !(sc->oncs & NVME_ONCS_DSM)))
		return BLOCKDEV_EOPNOTSUPP;
	/* nor one past the namespace's end */
	if (__builtin_add_overflow(lba, (uint64_t)count, &end) ||
	    end > ns->nsze)
		return -1;
	if (r->op == BLOCKDEV_WRITE_ZEROES || r->op == BLOCKDEV_DISCARD)
		return nvme_bd_clear(sc, ns, r);
	uint32_t per = sc->max_xfer / ns->lba_bytes;
	int rc = 0;
	while (count && rc == 0) {
		struct nvme_piece pcs[NVME_IOQ_MAX];
		unsigned k = 0;
		for (; k < sc->nioq && count; k++) {
			struct nvme_piece *pc = &pcs[k];
			pc->q = &sc->ioq[sc->next_q++ % sc->nioq];
			pc->n = MIN(count, per);
			pc->len = pc->n * ns->lba_bytes;
			pc->lba = lba;
			pc->p = p;
			/* the arena or a queue is busy: run what started */
			if (nvme_piece_start(sc, ns, r, pc) != 0) {
				if (!k)
					rc = -1;
				break;
			}
			lba += pc->n;
			count -= pc->n;
			p += pc->len;
		}
		for (unsigned i = 0; i < k; i++)
			if (nvme_piece_finish(sc, ns, r, &pcs[i]))
				rc = -1;
	}
	return rc;
}

static int nvme_bd_read(struct blockdev *b, uint64_t lba, uint32_t count,
			void *buf)
{
	struct blockdev_req r = {.op = BLOCKDEV_READ,
				 .wait = BLOCKDEV_WAIT_IRQ,
				 .lba = lba,
				 .count = count,
				 .buf = buf};
	return nvme_bd_submit(b, &r);
}

static int nvme_bd_write(struct blockdev *b, uint64_t lba, uint32_t count,
			 const void *buf)
{
	struct blockdev_req r = {.op = BLOCKDEV_WRITE,
				 .wait = BLOCKDEV_WAIT_IRQ,
				 .lba = lba,
				 .count = count,
				 .buf = (void *)buf};
	return nvme_bd_submit(b, &r);
}

static int nvme_bd_flush(struct blockdev *b)
{
	struct blockdev_req r = {.op = BLOCKDEV_FLUSH,
				 .wait = BLOCKDEV_WAIT_IRQ};
	return nvme_bd_submit(b, &r);
}

static int nvme_bd_write_zeroes(struct blockdev *b, uint64_t lba,
				uint32_t count)
{
	struct blockdev_req r = {.op = BLOCKDEV_WRITE_ZEROES,
				 .wait = BLOCKDEV_WAIT_IRQ,
				 .lba = lba,
				 .count = count};
	return nvme_bd_submit(b, &r);
}

static int nvme_bd_discard(struct blockdev *b, uint64_t lba, uint32_t count)
{
	struct blockdev_req r = {.op = BLOCKDEV_DISCARD,
				 .wait = BLOCKDEV_WAIT_IRQ,
				 .lba = lba,
				 .count = count};
	return nvme_bd_submit(b, &r);
}

/* what of a namespace may change across a reset: its size, DLFEAT and
 * the Write Zeroes and Discard limits (nvme_clear_limits) */
static void nvme_ns_follow(const struct nvme_softc *sc, struct nvme_ns *ns,
			   const struct nvme_ns_policy *p)
{
	ns->nsze = p->nsze;
	ns->bdev.block_count = p->nsze;
	ns->dlfeat = p->dlfeat;
	ns->ids = p->ids; /* one unknown before may be known now */
	nvme_clear_limits(sc, ns);
	/* zeros after a discard only where DLFEAT promises them */
	ns->bdev.discard_zeroes =
	    (sc->oncs & NVME_ONCS_DSM) &&
	    FIELD_GET(NVME_DLFEAT_READ, ns->dlfeat) == NVME_DLFEAT_READ_ZEROES;
}

/* a block device for one namespace the broker granted */
static void nvme_ns_attach(struct nvme_softc *sc,
			   const struct nvme_ns_policy *p)
{
	/* the block interface moves data only: metadata formats (extended or
	 * separate) are the validator's to police but not served here */
	if (p->md_bytes || p->lba_bytes != p->data_bytes) {
		kprintf(
		    "%s: namespace %u: %u-byte blocks with metadata are not "
		    "served by the block interface; skipped\n",
		    sc->name, p->nsid, p->data_bytes);
		return;
	}
	/* a block larger than one command may move could never be read or
	 * written (nvme_bd_submit splits at block boundaries) */
	if (p->lba_bytes > sc->max_xfer) {
		kprintf("%s: namespace %u: %u-byte blocks exceed the %u-byte "
			"transfer limit; skipped\n",
			sc->name, p->nsid, p->lba_bytes, sc->max_xfer);
		return;
	}
	/* NSZE is the device's word, 64 bits of blocks: a size in bytes
	 * past 2^64 (16 EiB) no byte count describes */
	uint64_t bytes;
	if (__builtin_mul_overflow(p->nsze, (uint64_t)p->lba_bytes, &bytes)) {
		kprintf("%s: namespace %u: %llu blocks of %u bytes exceed 2^64 "
			"bytes; skipped\n",
			sc->name, p->nsid, (unsigned long long)p->nsze,
			p->lba_bytes);
		return;
	}
	struct nvme_ns *ns = &sc->ns[sc->nns++];
	ns->sc = sc;
	ns->nsid = p->nsid;
	ns->lba_bytes = p->lba_bytes;
	ns->gone = false;
	nvme_ns_follow(sc, ns, p);
	_Static_assert(sizeof(ns->bdev.name) >=
			   sizeof(sc->name) + sizeof("n4294967295") - 1,
		       "a namespace's name holds any controller name and NSID");
	ksnprintf(ns->bdev.name, sizeof(ns->bdev.name), "%sn%u", sc->name,
		  p->nsid);
	ns->bdev.block_size = ns->lba_bytes;
	ns->bdev.read = nvme_bd_read;
	ns->bdev.write = nvme_bd_write;
	ns->bdev.flush = nvme_bd_flush;
	ns->bdev.write_zeroes = nvme_bd_write_zeroes;
	ns->bdev.discard = nvme_bd_discard;
	ns->bdev.submit = nvme_bd_submit;
	ns->bdev.priv = ns;
	blockdev_register(&ns->bdev);
	char id[3][NVME_IDENT_ID_STR];
	nvme_ident_id_str(&ns->ids, NVME_NSIDS_NGUID, id[0]);
	nvme_ident_id_str(&ns->ids, NVME_NSIDS_EUI64, id[1]);
	nvme_ident_id_str(&ns->ids, NVME_NSIDS_UUID, id[2]);
	kprintf("%s: %s: %llu blocks of %u bytes (%llu MiB), NGUID %s EUI64 "
		"%s UUID %s\n",
		sc->name, ns->bdev.name, (unsigned long long)ns->nsze,
		ns->lba_bytes, (unsigned long long)(bytes >> 20), id[0], id[1],
		id[2]);
}

/* the namespaces the broker granted (the Active Namespace ID list it read,
 * NVMe 2.0 §5.17.2.2): a table sized to them and NVME_NS_LATE more in
 * kernel memory charged to the owner, then a block device each */
static int nvme_ns_scan(struct nvme_softc *sc)
{
	unsigned n = nvme_broker_nns(sc->broker, sc->owner);
	if (!sc->ns) {
		unsigned all = n + NVME_NS_LATE;
		sc->ns = auth_kmem_alloc(sc->owner, all * sizeof(*sc->ns));
		if (!sc->ns) {
			kprintf("%s: unable to allocate %u namespaces\n",
				sc->name, all);
			return -1;
		}
		sc->ns_alloc = all;
	}
	sc->nns = 0;
	for (unsigned i = 0; i < n; i++)
		nvme_ns_attach(sc, nvme_broker_ns(sc->broker, sc->owner, i));
	return 0;
}

/* the broker's grant of nsid (its list ascends by NSID), or NULL */
static const struct nvme_ns_policy *nvme_ns_granted(struct nvme_softc *sc,
						    uint32_t nsid)
{
	unsigned lo = 0, hi = nvme_broker_nns(sc->broker, sc->owner);
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct nvme_ns_policy *p =
		    nvme_broker_ns(sc->broker, sc->owner, mid);
		if (p->nsid == nsid)
			return p;
		if (p->nsid < nsid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* a namespace of the table serving nsid (not given up)? */
static bool nvme_ns_served(const struct nvme_softc *sc, uint32_t nsid)
{
	for (unsigned i = 0; i < sc->nns; i++)
		if (!sc->ns[i].gone && sc->ns[i].nsid == nsid)
			return true;
	return false;
}

/* After a reset the broker identified the controller again and its
 * policy follows what changed, the narrower of each limit kept
 * (nvme_broker_enable, nvme_ident_follow, which said what changed):
 * the driver follows it before its I/O queues come back. A namespace no
 * longer granted (gone, or its format changed), or granted with another
 * identity (another namespace under its NSID: nvme_ident_ids_changed,
 * the broker's own comparison), is given up — its block device
 * unregistered, as an unbind does, and every request through it refused
 * — as is one whose blocks no longer fit one command; one resized serves
 * its new size (I/O past it refused). Then a namespace granted that none
 * serves (it appeared at the reset, or replaced one) is attached as at
 * the attach, in an entry of its own while the table has one
 * (NVME_NS_LATE), else one line. -1 when the controller is no longer
 * usable (nvme_ident_take). */
static int nvme_ns_revalidate(struct nvme_softc *sc)
{
	if (nvme_ident_take(sc))
		return -1;
	for (unsigned i = 0; i < sc->nns; i++) {
		struct nvme_ns *ns = &sc->ns[i];
		if (ns->gone)
			continue;
		const struct nvme_ns_policy *p = nvme_ns_granted(sc, ns->nsid);
		if (!p || nvme_ident_ids_changed(&ns->ids, &p->ids) ||
		    p->lba_bytes != ns->lba_bytes ||
		    p->lba_bytes > sc->max_xfer) {
			ns->gone = true;
			blockdev_unregister(&ns->bdev);
			continue;
		}
		nvme_ns_follow(sc, ns, p);
	}
	unsigned n = nvme_broker_nns(sc->broker, sc->owner);
	for (unsigned j = 0; j < n; j++) {
		const struct nvme_ns_policy *p =
		    nvme_broker_ns(sc->broker, sc->owner, j);
		if (nvme_ns_served(sc, p->nsid))
			continue;
		if (sc->nns < sc->ns_alloc)
			nvme_ns_attach(sc, p);
		else
			kprintf("%s: namespace %u granted after the reset; not "
				"attached: the %u entries of the namespace "
				"table are used (NVME_NS_LATE %u past the "
				"attach's); bind the driver again to serve "
				"it\n",
				sc->name, p->nsid, sc->ns_alloc, NVME_NS_LATE);
	}
	return 0;
}

/* ---- attach, recovery ---------------------------------------------------- */
/* Stop the controller and answer every outstanding command exactly once
 * (a reset's first half, and all of a detach). Controller Fatal Status (or
 * a function reading all ones), read before the disable clears it: the
 * controller met an error it could not report in a completion and cannot
 * say which commands it touched (NVMe 2.0 §3.1.3.6, §10.5), so what it
 * posted that the driver has not consumed is not believed. Otherwise the
 * controller is stopped first (CC.EN=0, CSTS.RDY=0, bus mastering off:
 * nothing more races in), every completion it posted before is delivered
 * — a finished write reports success — and only the rest fail. Afterwards
 * the gate has dropped its queues and nothing is outstanding. 0, or -1
 * when the controller did not stop (the broker fenced it). */
static int nvme_stop_answer(struct nvme_softc *sc, bool shutdown)
{
	uint32_t csts = nvme_broker_csts(sc->broker, sc->owner);
	bool fatal = csts == NVME_CSTS_GONE || FIELD_GET(NVME_CSTS_CFS, csts);
	sc->stops++;
	/* what a callback submits while the queues drain fails at once */
	sc->admin.live = false;
	for (unsigned i = 0; i < sc->nioq; i++)
		sc->ioq[i].live = false;
	/* a shutdown is the stop with the notice first (1: without one) */
	int r = shutdown ? nvme_broker_shutdown(sc->broker, sc->owner)
			 : nvme_broker_stop(sc->broker, sc->owner);
	int said = r;
	if (r > 0)
		r = 0;
	if (r == 0 && !fatal) {
		unsigned n = 0;
		for (unsigned i = 0; i < sc->nioq; i++)
			n += (unsigned)nvme_q_drain_stopped(sc, &sc->ioq[i]);
		n += (unsigned)nvme_q_drain_stopped(sc, &sc->admin);
		sc->reset_delivered_cmds += n;
		if (n)
			kprintf("%s: %u completions posted before the reset "
				"delivered\n",
				sc->name, n);
	} else if (r == 0) {
		kprintf("%s: controller fatal: its unconsumed completions "
			"are not trusted\n",
			sc->name);
	}
	if (r == 0)
		r = nvme_broker_reset(sc->broker, sc->owner);
	/* the controller is disabled: nothing it had is coming back */
	nvme_q_fail_all(sc, &sc->admin);
	for (unsigned i = 0; i < sc->nioq; i++)
		nvme_q_fail_all(sc, &sc->ioq[i]);
	return r ? r : said;
}

/* Delete I/O SQ, deliver what it owed (the controller completes or
 * aborts a deleted SQ's commands before the deletion's own completion,
 * NVMe 2.0 §5.6; the gate answers each once), then Delete I/O CQ (§5.5),
 * each waited for until end_us at most. 0 or -1 (one line) */
static int nvme_ioq_delete(struct nvme_softc *sc, struct nvme_queue *q,
			   uint64_t end_us)
{
	static const uint8_t opc[2] = {NVME_ADM_DELETE_SQ, NVME_ADM_DELETE_CQ};
	for (unsigned k = 0; k < 2; k++) {
		struct nvme_sqe c = {0};
		struct nvme_cqe e = {0};
		c.cdw0 = opc[k];
		c.cdw10 = (uint32_t)FIELD_SET(NVME_DELETEQ_QID, q->id);
		uint64_t now = time_now_us();
		if (now >= end_us ||
		    nvme_exec(sc, &sc->admin, &c, &e, end_us - now)) {
			kprintf("%s: unable to delete I/O %s %u (SCT %u SC "
				"0x%x)\n",
				sc->name, k ? "CQ" : "SQ", q->id,
				nvme_cqe_sct(&e), nvme_cqe_sc(&e));
			return -1;
		}
		if (!k)
			(void)nvme_complete(sc, q);
		q->live = false; /* nothing new once its SQ is gone */
	}
	return 0;
}

/* A controller that is ready and not fatal (CSTS.RDY 1, CFS 0, the
 * function present) has its live I/O queues deleted, highest first, all
 * within NVME_ADMIN_TIMEOUT_US, the first failure ending the deletes — as
 * Linux's nvme_dev_disable (nvme_delete_io_queues) before it disables a
 * controller that is not dead. A deleted SQ's commands are answered by
 * the controller before CC.EN=0 finds them: QEMU 7.2's reset frees an SQ
 * whose reads are still in flight (README, Debugging), its Delete I/O SQ
 * waits each one out first. */
static void nvme_ioq_delete_all(struct nvme_softc *sc)
{
	uint32_t csts = nvme_broker_csts(sc->broker, sc->owner);
	if (csts == NVME_CSTS_GONE || FIELD_GET(NVME_CSTS_CFS, csts) ||
	    !FIELD_GET(NVME_CSTS_RDY, csts) || !sc->admin.live)
		return;
	uint64_t end = time_now_us() + NVME_ADMIN_TIMEOUT_US;
	for (unsigned i = sc->nioq; i-- > 0;)
		if (sc->ioq[i].live && nvme_ioq_delete(sc, &sc->ioq[i], end))
			break;
}

int nvme_attach(struct nvme_softc *sc)
{
	sc->cap = nvme_broker_cap(sc->broker, sc->owner);
	sc->vs = nvme_broker_vs(sc->broker, sc->owner);
	sc->tsc_per_us = MAX(time_tsc_hz() / 1000000, 1ull);
	if (nvme_mem_alloc(sc))
		return -1;
	sc->attaching = true;
	if (nvme_admin_start(sc))
		goto err_pool;
	if (nvme_ident_take(sc) || nvme_ioq_count(sc))
		goto err_reset;
	for (unsigned i = 0; i < sc->nioq; i++)
		if (nvme_ioq_start(sc, &sc->ioq[i]))
			goto err_reset;
	sc->up = true;
	if (nvme_ns_scan(sc))
		goto err_reset;
	kprintf("%s: %s, serial %s, firmware %s, NVMe %u.%u, max transfer %u "
		"KiB (MDTS %u), %u I/O queue pairs (%s), %u of %u namespaces\n",
		sc->name, sc->id.mn, sc->id.sn, sc->id.fr,
		(unsigned)FIELD_GET(NVME_VS_MJR, sc->vs),
		(unsigned)FIELD_GET(NVME_VS_MNR, sc->vs), sc->max_xfer / 1024,
		sc->id.mdts, sc->nioq, sc->use_irq ? "MSI-X" : "polled",
		sc->nns, sc->id.nn);
	sc->attaching = false;
	return 0;
err_reset:
	sc->up = false;
	(void)nvme_broker_reset(sc->broker, sc->owner);
err_pool:
	sc->attaching = false;
	nvme_mem_free(sc);
	return -1;
}

int nvme_detach(struct nvme_softc *sc)
{
	/* a timeout meanwhile fails its command, no reset (nvme_recover) */
	sc->detaching = true;
	uint32_t csts = nvme_broker_csts(sc->broker, sc->owner);
	bool alive = sc->up && !sc->dead && csts != NVME_CSTS_GONE &&
		     !FIELD_GET(NVME_CSTS_CFS, csts);
	/* the host deletes its I/O queues before a shutdown (NVMe 2.0
	 * §3.6.2), the highest first, as Linux's nvme_disable_io_queues */
	if (alive)
		nvme_ioq_delete_all(sc);
	sc->up = false;
	sc->recover_at_us = 0; /* a backoff's end brings nothing back */
	int r = nvme_stop_answer(sc, alive);
	sc->detaching = false;
	/* only now that the controller is disabled may the memory go (kept
	 * when it did not stop); the block devices point into sc->ns */
	nvme_mem_free(sc);
	for (unsigned i = 0; i < sc->nns; i++)
		blockdev_unregister(&sc->ns[i].bdev);
	auth_kmem_free(sc->owner, sc->ns, sc->ns_alloc * sizeof(*sc->ns));
	sc->ns = 0;
	sc->nns = sc->ns_alloc = 0;
	return alive ? r : r < 0 ? r : 1;
}

/* the controller is given up: disabled, bus mastering off (the broker's
 * reset), no queue live (a resume that failed part way had brought some
 * back), every command fails at once from now on; the device manager is
 * told (devmgr_failed: a restart under a fresh owner when its budget
 * allows) */
static int nvme_give_up(struct nvme_softc *sc)
{
	(void)nvme_broker_reset(sc->broker, sc->owner);
	sc->admin.live = false;
	for (unsigned i = 0; i < sc->nioq; i++)
		sc->ioq[i].live = false;
	sc->dead = true;
	sc->up = false;
	sc->recover_at_us = 0;
	devmgr_failed(sc->pci, sc->owner, "NVMe controller given up");
	return -1;
}

/* Reset storms (NVME_RESET_*, nvme_var.h): the streak this reset belongs
 * to, and its backoff. False: the streak is past NVME_RESET_MAX. */
static bool nvme_streak_next(struct nvme_softc *sc, uint64_t now,
			     uint64_t *backoff)
{
	if (!sc->reset_streak || now - sc->reset_last_us >= NVME_RESET_QUIET_US)
		sc->reset_streak = 0;
	sc->reset_last_us = now;
	if (++sc->reset_streak > NVME_RESET_MAX)
		return false;
	*backoff = sc->reset_streak > 1
		       ? NVME_RESET_BACKOFF_US << (sc->reset_streak - 2)
		       : 0;
	return true;
}

int nvme_recover(struct nvme_softc *sc, const char *why)
{
	/* a failure inside recovery, or during the attach: the caller
	 * fails (the attach unwinds: controller disabled, pool revoked) */
	if (sc->recovering || sc->attaching || sc->detaching || sc->dead)
		return -1;
	uint64_t now = time_now_us(), backoff = 0;
	bool go_on = nvme_streak_next(sc, now, &backoff);
	sc->recovering = true;
	sc->up = false;
	sc->recover_at_us = 0;
	if (!go_on) {
		kprintf("%s: %s; %u resets in a row, each within %llu s of the "
			"one before: giving the controller up, failing all "
			"I/O\n",
			sc->name, why, sc->reset_streak,
			(unsigned long long)(NVME_RESET_QUIET_US / 1000000));
	} else if (backoff) {
		sc->resets++;
		kprintf("%s: %s; resetting controller (%u in a row, back in "
			"%llu ms)\n",
			sc->name, why, sc->reset_streak,
			(unsigned long long)(backoff / 1000));
	} else {
		sc->resets++;
		kprintf("%s: %s; resetting controller\n", sc->name, why);
	}
	nvme_ioq_delete_all(sc);
	int r = nvme_stop_answer(sc, false);
	for (unsigned i = 0; i < sc->nioq; i++)
		nvme_q_reset(&sc->ioq[i]);
	sc->recovering = false;
	if (r != 0 || !go_on) {
		if (r != 0)
			kprintf("%s: unable to recover controller; failing "
				"all I/O\n",
				sc->name);
		return nvme_give_up(sc);
	}
	/* disabled through the backoff: it owns nothing of ours and every
	 * command fails at once; the first one after brings it back. The
	 * backoff counts from the disable, not from the deletes before it
	 * (up to NVME_ADMIN_TIMEOUT_US on a hung controller) */
	sc->recover_at_us = time_now_us() + backoff;
	if (!backoff)
		return nvme_resume(sc);
	sc->backoffs++;
	sc->backoff_ms += backoff / 1000;
	return 0;
}

int nvme_resume(struct nvme_softc *sc)
{
	if (!sc->recover_at_us || sc->recovering)
		return sc->up ? 0 : -1;
	if (time_now_us() < sc->recover_at_us)
		return -1;
	sc->recover_at_us = 0;
	sc->recovering = true;
	uint64_t t0 = time_now_us();
	/* the enable identified the controller again: follow what changed
	 * before the I/O queues come back */
	int r = nvme_admin_start(sc);
	if (r == 0)
		r = nvme_ns_revalidate(sc);
	for (unsigned i = 0; r == 0 && i < sc->nioq; i++)
		r = nvme_ioq_start(sc, &sc->ioq[i]);
	sc->recovering = false;
	if (r != 0) {
		kprintf("%s: unable to recover controller; failing all I/O\n",
			sc->name);
		return nvme_give_up(sc);
	}
	sc->up = true;
	kprintf("%s: controller back up in %llu us (reset %u, %llu commands "
		"failed so far)\n",
		sc->name, (unsigned long long)(time_now_us() - t0), sc->resets,
		(unsigned long long)sc->reset_failed_cmds);
	return 0;
}

/* ---- inspection ---------------------------------------------------------- */
static void nvme_q_dump(const struct nvme_queue *q)
{
	kprintf(
	    "  q%u: %u entries, sq tail %u head %u, cq head %u phase %u, "
	    "inflight %u, submitted %llu completed %llu rejected %llu "
	    "failed %llu, bad cid %llu phase %llu cqe %llu, timeouts %llu, "
	    "irqs %llu\n",
	    q->id, q->entries, q->sq_tail, q->sq_head, q->cq_head, q->cq_phase,
	    q->inflight, (unsigned long long)q->submitted,
	    (unsigned long long)q->completed, (unsigned long long)q->rejected,
	    (unsigned long long)q->failed, (unsigned long long)q->bad_cid,
	    (unsigned long long)q->bad_phase, (unsigned long long)q->bad_cqe,
	    (unsigned long long)q->timeouts, (unsigned long long)q->irqs);
}

void nvme_dump(struct nvme_softc *sc)
{
	kprintf("%s: %s sn %s fw %s, %s, max transfer %u, resets %u\n",
		sc->name, sc->id.mn, sc->id.sn, sc->id.fr,
		sc->dead ? "dead"
		: sc->up ? "up"
			 : "down",
		sc->max_xfer, sc->resets);
	nvme_q_dump(&sc->admin);
	for (unsigned i = 0; i < sc->nioq; i++)
		nvme_q_dump(&sc->ioq[i]);
	for (unsigned i = 0; i < sc->nns; i++)
		kprintf("  %s: nsid %u, %llu x %u bytes\n", sc->ns[i].bdev.name,
			sc->ns[i].nsid, (unsigned long long)sc->ns[i].nsze,
			sc->ns[i].lba_bytes);
	nvme_broker_dump(sc->broker, sc->owner);
}

/* one JSON object for /api/nvme: identity, state, namespaces, queues */
void nvme_json(struct nvme_softc *sc, struct json *j)
{
	json_obj(j);
	json_kstr(j, "name", sc->name);
	json_kstr(j, "model", sc->id.mn);
	json_kstr(j, "serial", sc->id.sn);
	json_kstr(j, "firmware", sc->id.fr);
	json_kstr(j, "state",
		  sc->dead	      ? "dead"
		  : sc->up	      ? "up"
		  : sc->recover_at_us ? "backoff"
				      : "down");
	json_ku64(j, "mdts", sc->id.mdts);
	json_ku64(j, "max_xfer", sc->max_xfer);
	json_ku64(j, "resets", sc->resets);
	json_ku64(j, "reset_streak", sc->reset_streak);
	json_ku64(j, "backoffs", sc->backoffs);
	json_ku64(j, "backoff_ms", sc->backoff_ms);
	json_ku64(j, "failed_by_reset", sc->reset_failed_cmds);
	json_ku64(j, "delivered_by_reset", sc->reset_delivered_cmds);
	json_ku64(j, "aborts", sc->aborts);
	json_ku64(j, "aborts_answered", sc->aborts_answered);
	json_kbool(j, "irq", sc->use_irq);
	/* the NVM limits the broker asked for (CNS 06h), as reported */
	json_kobj(j, "nvm_limits");
	json_kstr(j, "identify",
		  sc->id.nvm == NVME_IDENT_NVM_READ	 ? "read"
		  : sc->id.nvm == NVME_IDENT_NVM_REFUSED ? "refused"
							 : "not asked");
	json_ku64(j, "wzsl", sc->id.wzsl);
	json_ku64(j, "dmrl", sc->id.dmrl);
	json_ku64(j, "dmrsl", sc->id.dmrsl);
	json_ku64(j, "dmsl", sc->id.dmsl);
	json_obj_end(j);
	json_karr(j, "namespaces");
	for (unsigned i = 0; i < sc->nns; i++) {
		const struct nvme_ns *ns = &sc->ns[i];
		json_obj(j);
		json_ku64(j, "nsid", ns->nsid);
		json_kstr(j, "blockdev", ns->bdev.name);
		/* no longer granted after a reset: its block device gone */
		json_kbool(j, "given_up", ns->gone);
		/* its identifiers as hex, each absent when unknown */
		static const struct {
			unsigned bit;
			const char *key;
		} idk[] = {{NVME_NSIDS_NGUID, "nguid"},
			   {NVME_NSIDS_EUI64, "eui64"},
			   {NVME_NSIDS_UUID, "uuid"}};
		for (unsigned k = 0; k < ARRAY_SIZE(idk); k++) {
			char v[NVME_IDENT_ID_STR];
			if (!(ns->ids.have & idk[k].bit))
				continue;
			nvme_ident_id_str(&ns->ids, idk[k].bit, v);
			json_kstr(j, idk[k].key, v);
		}
		json_ku64(j, "blocks", ns->nsze);
		json_ku64(j, "bs", ns->lba_bytes);
		json_ku64(j, "bytes", ns->nsze * ns->lba_bytes);
		JSON_KFIELD(j, ns, wz_blocks);
		JSON_KFIELD(j, ns, dsm_ranges);
		JSON_KFIELD(j, ns, dsm_range_blocks);
		JSON_KFIELD(j, ns, dsm_blocks);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_karr(j, "queues");
	for (unsigned i = 0; i <= sc->nioq; i++) {
		const struct nvme_queue *q = i ? &sc->ioq[i - 1] : &sc->admin;
		json_obj(j);
		JSON_KFIELD(j, q, id);
		JSON_KFIELD(j, q, entries);
		json_kbool(j, "live", q->live);
		JSON_KFIELD(j, q, inflight);
		JSON_KFIELD(j, q, submitted);
		JSON_KFIELD(j, q, completed);
		JSON_KFIELD(j, q, rejected);
		JSON_KFIELD(j, q, failed);
		JSON_KFIELD(j, q, bad_cid);
		JSON_KFIELD(j, q, bad_phase);
		JSON_KFIELD(j, q, bad_cqe);
		JSON_KFIELD(j, q, timeouts);
		JSON_KFIELD(j, q, irqs);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
