/* drivers/nvme/nvme_q.c — the command engine: one submit path, one
 * completion path, PRP construction and the bounce arena.
 *
 * Submission (NVMe 2.0 §3.3.1): the command is written into the driver's
 * own SQ slot, then the tail is handed to the doorbell gate
 * (nvme_broker_sq_ring), which validates and shadows it before the device
 * is told. Completion (§3.3.1.2, §3.3.3.2): the gate copies device completions
 * into the driver's CQ (nvme_broker_cq_reap); the driver consumes entries
 * whose phase tag matches, checks each CID against its outstanding
 * commands, and reports its head (nvme_broker_cq_head). Interrupts only
 * count: whoever waits runs nvme_complete(), the path polling takes too. */
#include "drivers/nvme/nvme_var.h"
#include "kernel/lib/lib.h"
#include "kernel/time/time.h"

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause");
}

bool nvme_cqe_ok(const struct nvme_cqe *e)
{
	return nvme_cqe_sct(e) == NVME_SCT_GENERIC &&
	       nvme_cqe_sc(e) == NVME_SC_SUCCESS;
}

bool nvme_cqe_rejected(const struct nvme_cqe *e, uint32_t *why)
{
	if (nvme_cqe_sct(e) != NVME_GATE_SCT_CAPOS ||
	    nvme_cqe_sc(e) != NVME_GATE_SC_REJECTED)
		return false;
	if (why)
		*why = e->dw0;
	return true;
}

void nvme_intr(void *arg)
{
	struct nvme_queue *q = arg;
	q->irqs++;
}

/* ---- command control blocks ---------------------------------------------- */
/* ccb->cqe until the command is answered: a failure (Internal Error), so
 * no path reads a command never answered as a success; every answer
 * (nvme_cqe_dispatch, nvme_ccb_abort) overwrites it before done runs */
static void nvme_ccb_unanswered(struct nvme_ccb *ccb)
{
	ccb->cqe = (struct nvme_cqe){
	    .status = (uint16_t)(FIELD_SET(NVME_CQE_SCT, NVME_SCT_GENERIC) |
				 FIELD_SET(NVME_CQE_SC, NVME_SC_INTERNAL))};
}

struct nvme_ccb *nvme_ccb_get(struct nvme_queue *q)
{
	for (unsigned i = 0; i < q->nccb; i++) {
		struct nvme_ccb *ccb = &q->ccb[i];
		if (ccb->state == NVME_CCB_FREE) {
			ccb->state = NVME_CCB_HELD;
			ccb->done = 0;
			ccb->cookie = 0;
			ccb->wait = BLOCKDEV_WAIT_IRQ;
			nvme_ccb_unanswered(ccb);
			memset(&ccb->cmd, 0, sizeof(ccb->cmd));
			return ccb;
		}
	}
	return 0;
}

void nvme_ccb_put(struct nvme_ccb *ccb)
{
	if (ccb->state == NVME_CCB_HELD)
		ccb->state = NVME_CCB_FREE;
}

void nvme_fill_cmd(struct nvme_softc *sc, struct nvme_ccb *ccb,
		   struct nvme_sqe *sqe)
{
	(void)sc;
	*sqe = ccb->cmd;
}

/* ---- submission ---------------------------------------------------------- */
int nvme_submit(struct nvme_softc *sc, struct nvme_queue *q,
		struct nvme_ccb *ccb, nvme_fill_fn fill, nvme_done_fn done)
{
	/* after a reset's backoff, the queues come back first */
	if (sc->recover_at_us)
		(void)nvme_resume(sc);
	/* a recovery deleting the I/O queues: what a completion callback
	 * submits fails at once, as while they drain (nvme_stop_answer) */
	if (sc->dead || !q->live || ccb->q != q ||
	    ccb->state != NVME_CCB_HELD || (q->id && sc->recovering))
		return -1;
	uint16_t slot = q->sq_tail;
	uint16_t next = (uint16_t)((slot + 1) % q->entries);
	if (next == q->sq_head) {
		kprintf("%s: unable to submit on queue %u (ring full)\n",
			sc->name, q->id);
		return -1;
	}
	struct nvme_sqe *sqe = (struct nvme_sqe *)q->sq.va + slot;
	memset(sqe, 0, sizeof(*sqe));
	fill(sc, ccb, sqe);
	ccb->gen = (uint16_t)((ccb->gen + 1) & (0xffffu >> NVME_CID_GEN_SHIFT));
	ccb->cid = (uint16_t)(ccb->idx | ccb->gen << NVME_CID_GEN_SHIFT);
	nvme_sqe_set_cid(sqe, ccb->cid);
	ccb->slot = slot;
	ccb->done = done;
	ccb->start_tsc = time_tsc();
	nvme_ccb_unanswered(ccb);
	ccb->state = NVME_CCB_INFLIGHT;
	q->inflight++;
	q->submitted++;
	q->sq_tail = next;
	if (q->plug) {
		ccb->unrung = true;
		return 0;
	}
	dma_wmb(); /* the entry before the tail that publishes it */
	q->kicks++;
	if (nvme_broker_sq_ring(sc->broker, sc->owner, q->id, next) < 0) {
		/* the gate kept its old tail: so does the driver */
		kprintf("%s: unable to ring queue %u (tail %u refused)\n",
			sc->name, q->id, next);
		q->sq_tail = slot;
		ccb->state = NVME_CCB_HELD;
		q->inflight--;
		q->submitted--;
		return -1;
	}
	q->sq_rung = next;
	return 0;
}

void nvme_q_plug(struct nvme_queue *q)
{
	q->plug++;
}

/* ring the deferred tail; if the gate refuses it, every deferred command
 * is failed through its callback and the driver's tail goes back */
static void nvme_q_kick(struct nvme_softc *sc, struct nvme_queue *q)
{
	if (q->sq_tail == q->sq_rung)
		return;
	dma_wmb(); /* the entries before the tail that publishes them */
	q->kicks++;
	bool ok =
	    nvme_broker_sq_ring(sc->broker, sc->owner, q->id, q->sq_tail) >= 0;
	if (ok)
		q->sq_rung = q->sq_tail;
	else {
		kprintf("%s: unable to ring queue %u (tail %u refused); "
			"failing the deferred commands\n",
			sc->name, q->id, q->sq_tail);
		q->sq_tail = q->sq_rung;
	}
	for (unsigned i = 0; i < q->nccb; i++) {
		struct nvme_ccb *ccb = &q->ccb[i];
		if (!ccb->unrung)
			continue;
		ccb->unrung = false;
		if (!ok)
			nvme_ccb_abort(sc, ccb);
	}
}

void nvme_q_unplug(struct nvme_softc *sc, struct nvme_queue *q)
{
	if (q->plug && --q->plug == 0)
		nvme_q_kick(sc, q);
}

/* ---- completion ---------------------------------------------------------- */
/* SQHD (NVMe 2.0 §3.3.1, §3.3.3.2) is the SQ head when the entry was
 * made: it only moves forward, over entries consumed, so it lies between
 * the head last reported and the tail the gate was told. Anything else (at
 * or past the ring's size, behind the head, past the rung tail) is
 * impossible: believed, it moved the driver's head past its tail and the
 * ring looked full for good. */
static bool nvme_sqhd_possible(const struct nvme_queue *q, uint16_t sqhd)
{
	if (sqhd >= q->entries)
		return false;
	unsigned moved = (sqhd + q->entries - q->sq_head) % q->entries;
	unsigned rung = (q->sq_rung + q->entries - q->sq_head) % q->entries;
	return moved <= rung;
}

/* whether a bad completion of q gets its own line: the first
 * NVME_BAD_CQE_LINES do; the next is one line saying the rest are only
 * counted (a device, or a gate gone wrong, may send as many as it likes) */
static bool nvme_bad_say(struct nvme_softc *sc, struct nvme_queue *q)
{
	if (q->bad_said > NVME_BAD_CQE_LINES)
		return false;
	if (q->bad_said++ < NVME_BAD_CQE_LINES)
		return true;
	kprintf("%s: queue %u: more bad completions are counted, not said "
		"(bad_cid, bad_phase, bad_cqe in /api/nvme)\n",
		sc->name, q->id);
	return false;
}

static void nvme_cqe_dispatch(struct nvme_softc *sc, struct nvme_queue *q,
			      const struct nvme_cqe *c)
{
	unsigned idx = c->cid & NVME_CID_IDX_MASK;
	struct nvme_ccb *ccb = idx < q->nccb ? &q->ccb[idx] : 0;
	uint32_t why;
	if (c->sqid != q->id || !nvme_sqhd_possible(q, c->sqhd)) {
		q->bad_cqe++;
		if (nvme_bad_say(sc, q))
			kprintf("%s: queue %u: completion names SQ %u head %u, "
				"ignored\n",
				sc->name, q->id, c->sqid, c->sqhd);
		return;
	}
	/* an unrung command (its queue plugged) was never given to the
	 * controller: no completion can be its */
	if (!ccb || ccb->state != NVME_CCB_INFLIGHT || ccb->cid != c->cid ||
	    ccb->unrung) {
		q->bad_cid++;
		if (nvme_bad_say(sc, q))
			kprintf("%s: queue %u: completion for unknown command "
				"0x%04x, ignored\n",
				sc->name, q->id, c->cid);
		return;
	}
	q->sq_head = c->sqhd;
	ccb->state = NVME_CCB_HELD;
	q->inflight--;
	q->completed++;
	if (nvme_cqe_rejected(c, &why))
		q->rejected++;
	else if (!nvme_cqe_ok(c))
		q->failed++;
	ccb->cqe = *c;
	if (ccb->done)
		ccb->done(sc, ccb, c);
}

/* completions copied out of the driver's CQ per head report */
#define NVME_DRAIN_BATCH 32

/* consume the driver CQ's new entries (phase tag = q->cq_phase), at most
 * one ring's worth: copy out a batch, report the head once, then run the
 * callbacks (the slots are free for the gate before a callback submits:
 * a rejection is posted at once). A callback that resets the controller
 * (sc->stops moves) ends the drain: the reset answered every command the
 * rest of the batch names, and the queue it was copied from is gone. */
static int nvme_cq_drain(struct nvme_softc *sc, struct nvme_queue *q)
{
	volatile struct nvme_cqe *ring = q->cq.va;
	struct nvme_cqe batch[NVME_DRAIN_BATCH];
	unsigned stops = sc->stops;
	int n = 0;
	while (n < q->entries) {
		unsigned k = 0;
		while (k < NVME_DRAIN_BATCH && n + (int)k < q->entries) {
			volatile struct nvme_cqe *e = &ring[q->cq_head];
			uint16_t st = e->status;
			if ((st & NVME_CQE_P_MASK) != q->cq_phase)
				break;
			dma_rmb(); /* the phase before the body */
			batch[k++] = (struct nvme_cqe){.dw0 = e->dw0,
						       .dw1 = e->dw1,
						       .sqhd = e->sqhd,
						       .sqid = e->sqid,
						       .cid = e->cid,
						       .status = st};
			if (++q->cq_head == q->entries) {
				q->cq_head = 0;
				q->cq_phase ^= 1;
			}
		}
		if (!k)
			break;
		nvme_broker_cq_head(sc->broker, sc->owner, q->id, q->cq_head);
		for (unsigned i = 0; i < k; i++) {
			nvme_cqe_dispatch(sc, q, &batch[i]);
			if (sc->stops != stops)
				return n + (int)i + 1;
		}
		n += (int)k;
		if (k < NVME_DRAIN_BATCH)
			break;
	}
	return n;
}

int nvme_complete(struct nvme_softc *sc, struct nvme_queue *q)
{
	int total = 0;
	if (!q->live)
		return 0;
	unsigned stops = sc->stops;
	/* callbacks that submit share one doorbell */
	nvme_q_plug(q);
	/* bounded: each round empties what the gate could deliver; a round
	 * that delivered less than a full driver CQ left nothing behind */
	for (int round = 0; round < 8; round++) {
		int r = nvme_broker_cq_reap(sc->broker, sc->owner, q->id);
		int n = nvme_cq_drain(sc, q);
		if (r > 0 && n == 0) {
			q->bad_phase++;
			if (nvme_bad_say(sc, q))
				kprintf("%s: queue %u: %d completions "
					"delivered, none with phase %u at "
					"head %u; ignored\n",
					sc->name, q->id, r, q->cq_phase,
					q->cq_head);
		}
		total += n;
		/* a callback reset the controller: nothing more is this
		 * call's */
		if (n == 0 || r < q->entries - 1 || sc->stops != stops)
			break;
	}
	nvme_q_unplug(sc, q);
	return total;
}

/* Rounds of reap and drain after a stop. The device posts nothing more
 * (CC.EN=0, CSTS.RDY=0, bus mastering off), so each round that moves
 * anything takes from a finite set — the shadow CQ (size - 1 entries at
 * most) and what deleted SQs still owe — and a round that moves nothing
 * ends the loop: a bound that is never reached, kept so that a gate that
 * misbehaves costs a failed command, never a hang. */
#define NVME_STOPPED_ROUNDS 8

int nvme_q_drain_stopped(struct nvme_softc *sc, struct nvme_queue *q)
{
	int total = 0;
	for (int round = 0; round < NVME_STOPPED_ROUNDS; round++) {
		/* the gate copies while the driver's CQ has room; the drain
		 * consumes and reports the head, which makes room for the
		 * rest (in the device's order) */
		int r = nvme_broker_cq_reap(sc->broker, sc->owner, q->id);
		if (r < 0)
			break; /* the broker kept nothing: none is believed */
		int n = nvme_cq_drain(sc, q);
		total += n;
		if (n == 0 && r == 0)
			break;
	}
	return total;
}

/* Controller Fatal Status (NVMe 2.0 §3.1.3.6, §10.5): looked at while a
 * wait drags on, not on every poll (a register read is a device access) */
static bool nvme_cfs(struct nvme_softc *sc)
{
	uint32_t csts = nvme_broker_csts(sc->broker, sc->owner);
	if (csts == NVME_CSTS_GONE || FIELD_GET(NVME_CSTS_CFS, csts)) {
		kprintf("%s: controller fatal status (CSTS 0x%x)\n", sc->name,
			csts);
		return true;
	}
	return false;
}

/* until the queue's interrupt count moves or `us` pass: a lost interrupt
 * costs a millisecond, not a hang. Polled waits (and queues without an
 * interrupt) only pause; a hybrid wait spins its first
 * NVME_HYBRID_SPIN_US. */
static void nvme_idle(struct nvme_softc *sc, struct nvme_queue *q,
		      const struct nvme_ccb *ccb, uint64_t seen, uint64_t us)
{
	if (!sc->use_irq || !q->irq_bound || ccb->wait == BLOCKDEV_WAIT_POLL ||
	    (ccb->wait == BLOCKDEV_WAIT_HYBRID &&
	     time_tsc() - ccb->start_tsc <
		 NVME_HYBRID_SPIN_US * sc->tsc_per_us)) {
		cpu_relax();
		return;
	}
	uint64_t end = time_now_us() + us;
	while (q->irqs == seen && time_now_us() < end)
		cpu_relax();
}

/* complete ccb with "aborted, SQ deleted" on the driver's own authority:
 * the controller has been (or is being) reset and will not answer */
void nvme_ccb_abort(struct nvme_softc *sc, struct nvme_ccb *ccb)
{
	struct nvme_queue *q = ccb->q;
	if (ccb->state != NVME_CCB_INFLIGHT)
		return;
	struct nvme_cqe c = {
	    .sqid = q->id,
	    .cid = ccb->cid,
	    .status =
		(uint16_t)(FIELD_SET(NVME_CQE_SCT, NVME_SCT_GENERIC) |
			   FIELD_SET(NVME_CQE_SC, NVME_SC_ABORT_SQ_DELETED)),
	};
	ccb->state = NVME_CCB_HELD;
	ccb->unrung = false;
	q->inflight--;
	q->failed++;
	ccb->cqe = c;
	if (ccb->done)
		ccb->done(sc, ccb, &c);
}

/* a reset for `why`. The reset answers ccb: with the completion the
 * device posted before it (a timeout's reset delivers those), or as
 * aborted; if it is still outstanding afterwards (a reset already in
 * progress refused the nested one, or the attach, which fails instead),
 * it is failed here. 0 when the answer
 * is a success. */
static int nvme_wait_fail(struct nvme_softc *sc, struct nvme_ccb *ccb,
			  const char *why)
{
	nvme_recover(sc, why);
	nvme_ccb_abort(sc, ccb);
	return nvme_cqe_ok(&ccb->cqe) ? 0 : -1;
}

/* a command that is no longer the one ccb held at cid: answered (a done
 * callback may have freed and reused the block since) */
static bool nvme_ccb_answered(const struct nvme_ccb *ccb, uint16_t cid)
{
	return ccb->state != NVME_CCB_INFLIGHT || ccb->cid != cid;
}

int nvme_abort(struct nvme_softc *sc, struct nvme_ccb *ccb, uint64_t timeout_us)
{
	struct nvme_queue *q = ccb->q;
	uint16_t cid = ccb->cid;
	if (!q->id || ccb->unrung || sc->aborting >= NVME_ABORT_MAX ||
	    !sc->up || sc->dead || sc->recovering || sc->attaching ||
	    sc->detaching || !sc->admin.live || nvme_cfs(sc))
		return -1;
	/* the Abort's bound: the command's own, at most an admin command's */
	uint64_t bound = MIN(timeout_us, (uint64_t)NVME_ADMIN_TIMEOUT_US);
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	c.cdw0 = NVME_ADM_ABORT;
	c.cdw10 = (uint32_t)(FIELD_SET(NVME_ABORT_SQID, q->id) |
			     FIELD_SET(NVME_ABORT_CID, cid));
	unsigned stops = sc->stops;
	sc->aborting++;
	sc->aborts++;
	/* an Abort that times out resets the controller (nvme_wait), which
	 * answers ccb */
	int r = nvme_exec(sc, &sc->admin, &c, &e, bound);
	sc->aborting--;
	bool aborted = r == 0 && !(e.dw0 & 1);
	/* what the controller posted for the command: Command Abort
	 * Requested, or its own completion when it raced the Abort. An
	 * "aborted" answer leaves the command's completion due: waited for
	 * up to bound more; "not aborted" is looked for once */
	uint64_t t0 = time_tsc();
	while (sc->stops == stops && !nvme_ccb_answered(ccb, cid)) {
		nvme_complete(sc, q);
		if (nvme_ccb_answered(ccb, cid) || !aborted ||
		    time_tsc() - t0 >= bound * sc->tsc_per_us)
			break;
		cpu_relax();
	}
	if (nvme_ccb_answered(ccb, cid)) {
		if (sc->stops != stops)
			return 0; /* the reset's answer, said by the reset */
		if (line_due(++sc->aborts_answered))
			kprintf("%s: command 0x%04x on queue %u answered "
				"after its Abort, no reset (%llu so far)\n",
				sc->name, cid, q->id,
				(unsigned long long)sc->aborts_answered);
		return 0;
	}
	/* still outstanding, so no reset happened: a stop answers every
	 * command (nvme_stop_answer), and a done callback that resubmits the
	 * block gives it a new cid */
	if (line_due(sc->aborts - sc->aborts_answered))
		kprintf("%s: abort of command 0x%04x on queue %u: %s "
			"(%llu aborts, %llu answered so far)\n",
			sc->name, cid, q->id,
			r ? "the Abort failed"
			: aborted
			    ? "said aborted, but the command was not answered"
			    : "not aborted",
			(unsigned long long)sc->aborts,
			(unsigned long long)sc->aborts_answered);
	return -1;
}

/* Controller Fatal Status is looked at every NVME_CSTS_CHECK_US across all
 * waits: a register read is a device access, too slow for every poll */
static bool nvme_cfs_due(struct nvme_softc *sc, uint64_t now)
{
	if (now - sc->csts_checked_us < NVME_CSTS_CHECK_US)
		return false;
	sc->csts_checked_us = now;
	return nvme_cfs(sc);
}

int nvme_wait(struct nvme_softc *sc, struct nvme_queue *q, struct nvme_ccb *ccb,
	      uint64_t timeout_us)
{
	/* the limit is the command's, from its submission (as nvme_poll's
	 * deadline): a piece waited on after another waits out the rest */
	uint64_t limit = timeout_us * sc->tsc_per_us;
	/* a plugged caller waiting on its own command: ring it now */
	if (ccb->unrung)
		nvme_q_kick(sc, q);
	for (;;) {
		uint64_t seen = q->irqs, now = time_now_us();
		/* a fatal controller's completions are not trusted: look
		 * before reaping */
		if (nvme_cfs_due(sc, now))
			return nvme_wait_fail(sc, ccb,
					      "controller fatal status");
		nvme_complete(sc, q);
		if (ccb->state != NVME_CCB_INFLIGHT)
			return nvme_cqe_ok(&ccb->cqe) ? 0 : -1;
		if (time_tsc() - ccb->start_tsc >= limit) {
			q->timeouts++;
			kprintf(
			    "%s: command 0x%04x on queue %u timed out after "
			    "%llu ms%s\n",
			    sc->name, ccb->cid, q->id,
			    (unsigned long long)(timeout_us / 1000),
			    sc->attaching ? "; the attach fails" : "");
			if (nvme_abort(sc, ccb, timeout_us) == 0)
				return nvme_cqe_ok(&ccb->cqe) ? 0 : -1;
			return nvme_wait_fail(sc, ccb, "command timeout");
		}
		nvme_idle(sc, q, ccb, seen, 1000);
	}
}

int nvme_poll(struct nvme_softc *sc, struct nvme_queue *q)
{
	/* CFS and deadlines (seconds) are looked at every
	 * NVME_DEADLINE_CHECK_US, not per poll: the hot path reads one
	 * counter and no register */
	/* reset and backing off (or dead): nothing to reap or look at */
	if (!sc->up && nvme_resume(sc) != 0)
		return 0;
	uint64_t t = time_tsc();
	bool due =
	    t - q->checked_tsc >= NVME_DEADLINE_CHECK_US * sc->tsc_per_us;
	if (due) {
		q->checked_tsc = t;
		if (nvme_cfs_due(sc, time_now_us())) {
			nvme_recover(sc, "controller fatal status");
			return 0;
		}
	}
	int n = nvme_complete(sc, q);
	if (!due)
		return n;
	/* after the callbacks: what they submitted started before now */
	t = time_tsc();
	uint64_t limit = (q->id ? NVME_IO_TIMEOUT_US : NVME_ADMIN_TIMEOUT_US) *
			 sc->tsc_per_us;
	/* each late command gets its Abort; the first that is still
	 * outstanding after it resets the controller (once), which answers
	 * the rest */
	unsigned stops = sc->stops;
	for (unsigned i = 0; i < q->nccb; i++) {
		struct nvme_ccb *ccb = &q->ccb[i];
		if (ccb->state == NVME_CCB_INFLIGHT &&
		    t - ccb->start_tsc > limit) {
			q->timeouts++;
			kprintf("%s: command 0x%04x on queue %u timed out\n",
				sc->name, ccb->cid, q->id);
			if (nvme_abort(sc, ccb,
				       q->id ? NVME_IO_TIMEOUT_US
					     : NVME_ADMIN_TIMEOUT_US) == 0 &&
			    sc->stops == stops)
				continue;
			if (sc->stops == stops)
				nvme_recover(sc, "command timeout");
			break;
		}
	}
	return n;
}

int nvme_exec(struct nvme_softc *sc, struct nvme_queue *q,
	      const struct nvme_sqe *cmd, struct nvme_cqe *out,
	      uint64_t timeout_us)
{
	struct nvme_ccb *ccb = nvme_ccb_get(q);
	if (!ccb)
		return -1;
	ccb->cmd = *cmd;
	int r = nvme_submit(sc, q, ccb, nvme_fill_cmd, 0);
	if (r == 0)
		r = nvme_wait(sc, q, ccb, timeout_us);
	if (out)
		*out = ccb->cqe;
	nvme_ccb_put(ccb);
	return r;
}

/* ---- PRPs (NVMe 2.0 §4.1.1) ---------------------------------------------- */
/* PRP1 may start anywhere (dword aligned) in its page; PRP2 is either the
 * second page or, for more, a list of page-aligned entries. A list page's
 * last slot chains to the next list page when more entries remain. The
 * list starts list_off bytes into the command's list pages. */
int nvme_prp_build(struct nvme_ccb *ccb, uint64_t iova, uint32_t len,
		   uint32_t list_off, uint64_t *prp1, uint64_t *prp2)
{
	const uint64_t pmask = PAGE_SIZE - 1;
	*prp1 = iova;
	*prp2 = 0;
	if (iova & 3)
		return -1;
	uint64_t first = PAGE_SIZE - (iova & pmask);
	if (len <= first)
		return 0;
	uint64_t page = iova + first; /* page aligned from here on */
	uint32_t rem = len - (uint32_t)first;
	if (rem <= PAGE_SIZE) {
		*prp2 = page;
		return 0;
	}
	uint32_t nent = (rem + PAGE_SIZE - 1) / PAGE_SIZE;
	uint32_t off = list_off & (uint32_t)(pmask & ~7ull);
	if (!ccb->list.len || ccb->list.len < off + 8)
		return -1;
	uint64_t *l = (uint64_t *)((uint8_t *)ccb->list.va + off);
	uint64_t liova = ccb->list.iova + off;
	uint64_t lend = ccb->list.iova + ccb->list.len;
	uint32_t room = (uint32_t)((PAGE_SIZE - (liova & pmask)) / 8);
	*prp2 = liova;
	for (uint32_t i = 0, li = 0; i < nent; i++, li++) {
		if (li == room - 1 && nent - i > 1) {
			/* last slot of this list page: chain */
			uint64_t nxt = (liova & ~pmask) + PAGE_SIZE;
			if (nxt + PAGE_SIZE > lend)
				return -1;
			l[li] = nxt;
			l = (uint64_t *)((uint8_t *)ccb->list.va +
					 (nxt - ccb->list.iova));
			liova = nxt;
			room = PAGE_SIZE / 8;
			li = 0;
		}
		l[li] = page;
		page += PAGE_SIZE;
	}
	return 0;
}

/* ---- I/O commands (NVM Command Set 1.0 §3.2.2-§3.2.8) ------------------ */
int nvme_io_prepare(struct nvme_softc *sc, struct nvme_ccb *ccb,
		    const struct nvme_io *io)
{
	struct nvme_sqe *c = &ccb->cmd;
	memset(c, 0, sizeof(*c));
	c->cdw0 = (uint32_t)FIELD_SET(NVME_CDW0_OPC, io->opc);
	c->nsid = io->nsid;
	if (io->opc == NVME_IO_FLUSH)
		return 0;
	/* the PRPs must describe exactly the bytes NLB moves: a shorter list
	 * would leave the device reading stale entries */
	const struct nvme_ns *ns = 0;
	for (unsigned i = 0; i < sc->nns; i++)
		if (sc->ns[i].nsid == io->nsid)
			ns = &sc->ns[i];
	if (!ns)
		return -1;
	if (io->opc == NVME_IO_DSM) {
		/* Deallocate (AD) the ranges of the list: whole ranges, at
		 * most NVME_DSM_RANGES_MAX, within the list's page (PRP1
		 * only) */
		uint32_t nr = io->len / NVME_DSM_RANGE_BYTES;
		if (nr == 0 || nr > NVME_DSM_RANGES_MAX || io->nlb ||
		    io->len % NVME_DSM_RANGE_BYTES || (io->iova & 3) ||
		    (io->iova & (PAGE_SIZE - 1)) + io->len > PAGE_SIZE)
			return -1;
		c->prp1 = io->iova;
		c->cdw10 = (uint32_t)FIELD_SET(NVME_DSM_NR, nr - 1);
		c->cdw11 = (uint32_t)FIELD_SET(NVME_DSM_AD, 1);
		return 0;
	}
	if (io->nlb == 0 || io->nlb > 0x10000)
		return -1;
	if (io->opc == NVME_IO_WRITE_ZEROES) {
		if (io->len) /* no data pointer */
			return -1;
		c->cdw10 = (uint32_t)io->slba;
		c->cdw11 = (uint32_t)(io->slba >> 32);
		c->cdw12 = (uint32_t)FIELD_SET(NVME_RW_NLB, io->nlb - 1);
		return 0;
	}
	if (io->len == 0 || io->len > sc->max_xfer ||
	    (uint64_t)io->nlb * ns->lba_bytes != io->len)
		return -1;
	if (nvme_prp_build(ccb, io->iova, io->len, io->list_off, &c->prp1,
			   &c->prp2))
		return -1;
	c->cdw10 = (uint32_t)io->slba;
	c->cdw11 = (uint32_t)(io->slba >> 32);
	c->cdw12 = (uint32_t)FIELD_SET(NVME_RW_NLB, io->nlb - 1);
	return 0;
}

int nvme_io_submit(struct nvme_softc *sc, struct nvme_queue *q,
		   const struct nvme_io *io, nvme_done_fn done, void *cookie)
{
	struct nvme_ccb *ccb = nvme_ccb_get(q);
	if (!ccb)
		return -1;
	ccb->cookie = cookie;
	if (nvme_io_prepare(sc, ccb, io) != 0 ||
	    nvme_submit(sc, q, ccb, nvme_fill_cmd, done) != 0) {
		nvme_ccb_put(ccb);
		return -1;
	}
	return 0;
}

int nvme_io_sync(struct nvme_softc *sc, struct nvme_queue *q,
		 const struct nvme_io *io, struct nvme_cqe *out)
{
	struct nvme_ccb *ccb = nvme_ccb_get(q);
	if (!ccb)
		return -1;
	int r = nvme_io_prepare(sc, ccb, io);
	if (r == 0)
		r = nvme_submit(sc, q, ccb, nvme_fill_cmd, 0);
	if (r == 0)
		r = nvme_wait(sc, q, ccb, NVME_IO_TIMEOUT_US);
	if (out)
		*out = ccb->cqe;
	nvme_ccb_put(ccb);
	return r;
}

/* ---- bounce arena: contiguous pages, first fit --------------------------- */
static bool arena_test(const struct nvme_softc *sc, unsigned p)
{
	return (sc->arena_map[p / 64] >> (p % 64)) & 1;
}
static void arena_set(struct nvme_softc *sc, unsigned p, bool v)
{
	if (v)
		sc->arena_map[p / 64] |= 1ull << (p % 64);
	else
		sc->arena_map[p / 64] &= ~(1ull << (p % 64));
}

int nvme_buf_get(struct nvme_softc *sc, uint32_t len, struct dma_buf *out)
{
	unsigned n = (len + PAGE_SIZE - 1) / PAGE_SIZE, run = 0;
	if (n == 0 || n > sc->arena_pages || !sc->arena.len)
		return -1;
	for (unsigned p = 0; p < sc->arena_pages; p++) {
		run = arena_test(sc, p) ? 0 : run + 1;
		if (run < n)
			continue;
		unsigned s = p + 1 - n;
		for (unsigned i = s; i <= p; i++)
			arena_set(sc, i, true);
		out->va = (uint8_t *)sc->arena.va + (size_t)s * PAGE_SIZE;
		out->iova = sc->arena.iova + (uint64_t)s * PAGE_SIZE;
		out->len = (size_t)n * PAGE_SIZE;
		return 0;
	}
	return -1;
}

void nvme_buf_put(struct nvme_softc *sc, struct dma_buf *b)
{
	if (!b->len || b->iova < sc->arena.iova)
		return;
	unsigned s = (unsigned)((b->iova - sc->arena.iova) / PAGE_SIZE);
	unsigned n = (unsigned)(b->len / PAGE_SIZE);
	for (unsigned i = s; i < s + n && i < sc->arena_pages; i++)
		arena_set(sc, i, false);
	b->len = 0;
}
