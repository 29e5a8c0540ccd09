/* tests/host/nvme/fake_broker.c — the driver's kernel side on the host:
 * kernel/authority/nvme_broker.h over the real doorbell gate and validator
 * (dma/) and the controller model tests/host/validator/fake_nvme.c; the
 * blockdev registry is the kernel's own (kernel/devmgr/blockdev.c). DMAPool and
 * kernel memory are the kernel's own (AUTH_SRC over the page shim); the broker
 * hands the gate the owner's grant table and DMA accounts as
 * kernel/authority/nvme_broker.c does. Host addresses are device addresses. The
 * model executes commands when the driver reaps, so commands are really
 * outstanding between submit and complete. */
#include "fake_broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/lib/lib.h"
#include "owner_shim.h"

struct nvme_broker fb;

/* ---- the broker ---------------------------------------------------------- */
/* the owner is revoked (auth_owner_revoke): what the kernel broker's hook
 * does — the controller stops and the gate drops every queue, with the
 * ring and in-flight pins */
static void fb_revoked(void *arg, uint16_t owner)
{
	(void)owner;
	nvme_broker_reset(arg, ((struct nvme_broker *)arg)->owner);
}

void fake_broker_init(uint16_t owner)
{
	/* the previous controller forgets its queues: pins and shadows go */
	if (fb.pol.grants)
		nvme_gate_drop_all(&fb.gate);
	/* bound as devmgr binds a validated function; what an earlier test
	 * left of the owner's pools goes back through the real revoke */
	struct dma_owner *acct;
	if (shim_owner_bind(owner, DMA_BACKEND_VALIDATOR, 0) != 0 ||
	    shim_owner_release(owner) != 0 || !(acct = dma_owner_acct(owner)))
		panic("fake broker: unable to set up owner %u\n", owner);
	if (acct->use[DMA_CHARGE_KMEM] || acct->use[DMA_CHARGE_SHADOW])
		panic("fake broker: owner %u leaked %llu bytes of kernel "
		      "memory and %llu of shadows\n",
		      owner, (unsigned long long)acct->use[DMA_CHARGE_KMEM],
		      (unsigned long long)acct->use[DMA_CHARGE_SHADOW]);
	memset(&fb, 0, sizeof(fb));
	fake_nvme_init(&fb.dev);
	fb.owner = owner;
	fb.vs = 0x00010000; /* 1.0: the model has no namespace list */
	fb.mdts_override = -1;
	fb.cap = 0x20ull << 24 | 4095; /* TO 16 s, MQES 4095 */
	fb.pol.grants = &acct->grants;
	fb.pol.acct = acct;
	fb.pol.owner = owner;
	fb.pol.page_shift = 12;
	fb.pol.max_xfer = 4096u << 5; /* the model's MDTS 5 */
	fb.pol.qid_max = NVME_VAL_MAX_QID - 1;
	fb.pol.qsize_max = 4096;
	fb.pol.iv_max = 8;
	struct nvme_gate_env env;
	fake_nvme_env(&fb.dev, &env);
	nvme_gate_init(&fb.gate, &env, &fb.pol);
	auth_owner_on_revoke(owner, fb_revoked, &fb);
}

void fake_broker_softc(struct nvme_softc *sc)
{
	memset(sc, 0, sizeof(*sc));
	strcpy(sc->name, "nvme0");
	sc->owner = fb.owner;
	sc->broker = &fb;
	for (unsigned i = 0; i < NVME_IOQ_MAX; i++)
		sc->ioq[i].id = (uint16_t)(i + 1);
}

/* every call names its owner (nvme_broker.h): the driver under test must
 * name its own, as the kernel's broker refuses another's */
static void fb_caller(const struct nvme_broker *b, uint16_t owner)
{
	if (owner != b->owner) {
		fprintf(stderr,
			"fake broker: called by owner %u, opened for "
			"owner %u\n",
			owner, b->owner);
		abort();
	}
}

int nvme_broker_open(struct pci_dev *d, uint16_t owner,
		     struct nvme_broker **out)
{
	(void)d, (void)owner;
	if (fb.fail_open)
		return -1;
	*out = &fb;
	return 0;
}

static void fake_identify(struct nvme_broker *b);
/* what the kernel broker's broker_reidentify does after a reset, over the
 * model's Identify data now (a test changes it between resets) */
static int fb_reidentify(struct nvme_broker *b)
{
	static struct nvme_ident_seen was;
	if (b->fail_reident)
		return -1;
	b->reident = false;
	b->reidents++;
	was.id = b->id;
	was.max_xfer = b->pol.max_xfer;
	was.nns = b->pol.nns;
	was.all_ns = b->pol.all_ns;
	memcpy(was.ns, b->pol.ns, b->pol.nns * sizeof(was.ns[0]));
	fake_identify(b);
	uint32_t max_xfer = b->pol.max_xfer;
	nvme_ident_follow(&was, &b->id, &max_xfer, &b->pol, "fake-broker",
			  NULL);
	return 0;
}

int nvme_broker_enable(struct nvme_broker *b, uint16_t owner,
		       const struct dma_buf *asq, const struct dma_buf *acq,
		       uint16_t entries)
{
	fb_caller(b, owner);
	uint64_t sasq, sacq;
	if (b->enabled || b->fail_enable || b->fenced ||
	    auth_owner_revoked(b->owner))
		return -1;
	if (b->reident && fb_reidentify(b) != 0)
		return -1;
	if (nvme_gate_admin_open(&b->gate, asq->iova, acq->iova, entries, &sasq,
				 &sacq))
		return -1;
	fake_nvme_admin(&b->dev, sasq, sacq, entries);
	b->enabled = true;
	b->enables++;
	return 0;
}

/* as the kernel broker's: the controller stops (the model executes
 * nothing more), the gate keeps its queues for the reap */
static void fb_before_stop(struct nvme_broker *b)
{
	void (*hook)(void) = b->before_stop;
	b->before_stop = 0;
	if (hook)
		hook();
}

/* a fenced controller's stop and reset fail (its queues dropped, none
 * kept for a reap), as the kernel broker's do */
static bool fb_fenced(struct nvme_broker *b)
{
	if (b->fence_at_stop) {
		b->fence_at_stop = false;
		b->fenced = true;
	}
	if (!b->fenced)
		return false;
	b->draining = false;
	b->enabled = false;
	nvme_gate_drop_all(&b->gate);
	return true;
}

bool nvme_broker_fenced(const struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	return b->fenced;
}

int nvme_broker_stop(struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	fb_before_stop(b);
	if (fb_fenced(b))
		return -1;
	if (auth_owner_revoked(b->owner)) { /* nothing is believed */
		nvme_broker_reset(b, b->owner);
		return 0;
	}
	nvme_gate_stop(&b->gate);
	b->enabled = false;
	b->draining = true;
	b->stops++;
	return 0;
}

/* as the kernel broker's: CC.SHN on an enabled controller, then the
 * stop; a controller not enabled gets the stop alone */
int nvme_broker_shutdown(struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	if (!b->enabled) {
		b->idle_shutdowns++;
		int r = nvme_broker_stop(b, b->owner);
		return r ? r : 1;
	}
	b->shutdowns++;
	b->shutdown_nlog = b->dev.nlog;
	int r = nvme_broker_stop(b, b->owner);
	return r ? r : b->shst_fail ? 1 : 0;
}

int nvme_broker_reset(struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	fb_before_stop(b); /* a reset without nvme_broker_stop first */
	if (fb_fenced(b))
		return -1;
	b->draining = false;
	nvme_gate_drop_all(&b->gate);
	/* the controller forgets every queue and fetched command */
	fake_nvme_reset(&b->dev);
	b->enabled = false;
	b->csts = 0;
	b->device_stalled = false; /* a reset unsticks a hung controller */
	/* and forgets what it held */
	b->hold_io = b->held = b->holding = false;
	b->late_in = 0;
	b->resets++;
	b->reident = b->identified;
	return 0;
}

/* ---- holding a command (hold_io, abort_mode) ------------------------------
 * The model runs through its asynchronous half (fake_nvme_fetch,
 * fake_nvme_complete) while it holds a command: everything fetched is
 * completed in order but the held command, and an Abort as abort_mode
 * says. */
static int fb_infl_find(uint16_t sqid, uint16_t cid)
{
	for (unsigned i = 0; i < fb.dev.ninfl; i++)
		if (fb.dev.infl[i].sqid == sqid && !fb.dev.infl[i].done &&
		    nvme_sqe_cid(&fb.dev.infl[i].c) == cid)
			return (int)i;
	return -1;
}

static bool fb_is_abort(const struct fake_cmd *k)
{
	return k->sqid == 0 && nvme_sqe_opc(&k->c) == NVME_ADM_ABORT;
}

/* the Abort at infl[i]: the held command first (as abort_mode says),
 * then the Abort's own completion. false: nothing posted (no room, or
 * FB_ABORT_STALL) */
static bool fb_abort(struct nvme_broker *b, unsigned i)
{
	struct fake_nvme *f = &b->dev;
	struct nvme_sqe a = f->infl[i].c;
	uint16_t sqid = (uint16_t)FIELD_GET(NVME_ABORT_SQID, a.cdw10);
	uint16_t cid = (uint16_t)FIELD_GET(NVME_ABORT_CID, a.cdw10);
	const uint16_t abort_req = (uint16_t)(NVME_SC_ABORT_REQ << 1);
	uint32_t dw0 = 1; /* not aborted */
	int t = fb_infl_find(sqid, cid);
	switch (b->abort_mode) {
	case FB_ABORT_STALL:
		return false;
	case FB_ABORT_IGNORE:
		break;
	case FB_ABORT_LIE:
		dw0 = 0;
		break;
	case FB_ABORT_LATE:
		dw0 = 0;
		if (t >= 0 && sqid == b->held_sqid && cid == b->held_cid)
			b->late_in = FB_ABORT_LATE_STEPS;
		break;
	case FB_ABORT_HONOUR:
		if (t >= 0) {
			f->infl[t].done = true;
			f->infl[t].status = abort_req;
			(void)fake_nvme_complete(f, (unsigned)t, 0, false,
						 false);
			dw0 = 0;
		}
		break;
	case FB_ABORT_RACE:
	case FB_ABORT_TWICE:
		if (t >= 0) {
			uint16_t cq = f->sq[sqid].cqid;
			(void)fake_nvme_complete(f, (unsigned)t, 0, false,
						 false);
			if (b->abort_mode == FB_ABORT_TWICE) {
				(void)fake_nvme_forge(f, cq, sqid, cid,
						      abort_req);
				dw0 = 0;
			}
		}
		break;
	}
	if (t >= 0 && sqid == b->held_sqid && cid == b->held_cid &&
	    b->abort_mode != FB_ABORT_IGNORE && b->abort_mode != FB_ABORT_LIE &&
	    b->abort_mode != FB_ABORT_LATE)
		b->held = false;
	/* the Abort moved (a completion before it was taken off the list) */
	for (i = 0; i < f->ninfl; i++)
		if (fb_is_abort(&f->infl[i]) &&
		    !memcmp(&f->infl[i].c, &a, sizeof(a)))
			break;
	if (i == f->ninfl)
		return false;
	f->infl[i].done = true;
	f->infl[i].status = 0;
	f->infl[i].dw0 = dw0;
	return fake_nvme_complete(f, i, 0, false, false);
}

static bool fb_held(const struct nvme_broker *b, const struct fake_cmd *k)
{
	return (b->held && !k->done && k->sqid == b->held_sqid &&
		nvme_sqe_cid(&k->c) == b->held_cid) ||
	       (fb_is_abort(k) && b->abort_mode == FB_ABORT_STALL);
}

static void fb_step_holding(struct nvme_broker *b)
{
	struct fake_nvme *f = &b->dev;
	/* FB_ABORT_LATE: the aborted command's answer, some steps after the
	 * Abort's */
	if (b->late_in && --b->late_in == 0 && b->held) {
		int t = fb_infl_find(b->held_sqid, b->held_cid);
		if (t >= 0) {
			f->infl[t].done = true;
			f->infl[t].status = (uint16_t)(NVME_SC_ABORT_REQ << 1);
			if (fake_nvme_complete(f, (unsigned)t, 0, false, false))
				b->held = false;
			else
				b->late_in = 1; /* no room: the next step */
		}
	}
	for (uint16_t q = 0; q < FAKE_QMAX; q++)
		while (fake_nvme_fetch(f, q, 1) == 1) {
			const struct fake_cmd *k = &f->infl[f->ninfl - 1];
			b->aborts_seen += fb_is_abort(k);
			if (q && b->hold_io) {
				b->hold_io = false;
				b->held = b->holding = true;
				b->held_sqid = q;
				b->held_cid = nvme_sqe_cid(&k->c);
			}
		}
	/* bounded: each round posts one completion or ends */
	for (unsigned round = 0; round < 2 * FAKE_INFL; round++) {
		unsigned i = 0;
		while (i < f->ninfl && fb_held(b, &f->infl[i]))
			i++;
		if (i == f->ninfl)
			break;
		if (fb_is_abort(&f->infl[i])
			? !fb_abort(b, i)
			: !fake_nvme_complete(f, i, 0, false, false))
			break; /* no room in its CQ: later */
	}
}

int nvme_broker_sq_ring(struct nvme_broker *b, uint16_t owner, uint16_t qid,
			uint16_t tail)
{
	fb_caller(b, owner);
	return b->enabled ? nvme_gate_sq_ring(&b->gate, qid, tail) : -1;
}

int nvme_broker_cq_reap(struct nvme_broker *b, uint16_t owner, uint16_t qid)
{
	fb_caller(b, owner);
	if (!b->enabled && !b->draining)
		return -1;
	if (b->stall_cmd && b->dev.nlog + 1 == b->stall_cmd) {
		b->device_stalled = true;
		b->stall_cmd = 0;
	}
	if (b->fail_cmd && b->dev.nlog + 1 == b->fail_cmd) {
		b->dev.next_status = b->fail_status;
		b->fail_cmd = 0;
	}
	if (b->enabled && !b->device_stalled) {
		if (b->hold_io || b->holding)
			fb_step_holding(b);
		else
			fake_nvme_step(&b->dev);
	}
	if (qid >= NVME_VAL_MAX_QID || b->inject == FB_INJECT_NONE ||
	    qid != b->inject_qid)
		return nvme_gate_cq_reap(&b->gate, qid);
	struct nvme_cqe *first = &b->gate.cq[qid].drv[b->gate.cq[qid].drv_tail];
	int r = nvme_gate_cq_reap(&b->gate, qid);
	if (r > 0) {
		const struct nvme_gate_sq *sq = &b->gate.sq[first->sqid];
		if (b->inject == FB_INJECT_BAD_CID)
			first->cid ^= 0x8000;
		else if (b->inject == FB_INJECT_CID)
			first->cid = b->inject_cid;
		else if (b->inject == FB_INJECT_BAD_SQHD)
			first->sqhd = (uint16_t)((sq->drv_tail + 1) % sq->size);
		else if (b->inject == FB_INJECT_SQHD_PAST_RING)
			first->sqhd = (uint16_t)(first->sqhd + sq->size);
		else
			first->status ^= (uint16_t)FIELD_SET(NVME_CQE_P, 1);
		b->inject = FB_INJECT_NONE;
	}
	return r;
}

int nvme_broker_cq_head(struct nvme_broker *b, uint16_t owner, uint16_t qid,
			uint16_t head)
{
	fb_caller(b, owner);
	return b->enabled || b->draining
		   ? nvme_gate_cq_head(&b->gate, qid, head)
		   : -1;
}

uint64_t nvme_broker_cap(const struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	return b->cap;
}
uint32_t nvme_broker_vs(const struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	return b->vs;
}
uint32_t nvme_broker_csts(const struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	return b->csts | (b->enabled ? 1u : 0u);
}
uint32_t nvme_broker_max_xfer(const struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	nvme_broker_ident(b, b->owner);
	return b->pol.max_xfer;
}
/* what the real broker's probe does, over the model's Identify data (with
 * a test's overrides), through the same parser */
static uint8_t ident_page[4096];
static const struct nvme_id_ns *fake_ns(void *ctx, uint32_t nsid)
{
	fake_nvme_identify(&fb.dev, NVME_CNS_NS, nsid, ident_page);
	struct nvme_id_ns *id = (struct nvme_id_ns *)ident_page;
	if (fb.lbads_override && nsid == 1)
		id->lbaf[0] = (uint32_t)fb.lbads_override
			      << NVME_LBAF_LBADS_SHIFT;
	if (fb.nsze_override && nsid == 1)
		id->nsze = fb.nsze_override;
	if (fb.ns1_inactive && nsid == 1)
		memset(ident_page, 0, sizeof(ident_page));
	if (fb.ns_hook)
		fb.ns_hook(nsid, id);
	return id;
}

/* the descriptor list (CNS 03h) as the test's hook writes it (none: an
 * empty list); NULL when the hook says the command failed */
static uint8_t descs_page[4096];
static const uint8_t *fake_descs(void *ctx, uint32_t nsid)
{
	(void)ctx;
	memset(descs_page, 0, sizeof(descs_page));
	if (fb.descs_hook && !fb.descs_hook(nsid, descs_page))
		return 0;
	return descs_page;
}

static void fake_identify(struct nvme_broker *b)
{
	fake_nvme_identify(&b->dev, NVME_CNS_CTRL, 0, ident_page);
	struct nvme_id_ctrl *id = (struct nvme_id_ctrl *)ident_page;
	if (b->nn_override)
		id->nn = b->nn_override;
	if (b->mdts_override >= 0)
		id->mdts = (uint8_t)b->mdts_override;
	nvme_ident_ctrl_parse(id, &b->id);
	b->pol.max_xfer = nvme_ident_max_xfer(b->id.mdts, 0);
	b->pol.oncs = b->id.oncs; /* as the broker's probe */
	/* the NVM limits (CNS 06h), or the refusal of a controller without
	 * them, as the broker's probe_nvm_limits takes them */
	if (b->dev.no_cs_ctrl) {
		b->id.nvm = NVME_IDENT_NVM_REFUSED;
	} else {
		fake_nvme_identify(&b->dev, NVME_CNS_CS_CTRL, 0, ident_page);
		nvme_ident_nvm_parse(
		    (const struct nvme_id_ctrl_nvm *)ident_page, 0, &b->id);
	}
	uint32_t ids[NVME_VAL_MAX_NS];
	unsigned n = 0;
	for (uint32_t i = 1; i <= b->id.nn && n < NVME_VAL_MAX_NS; i++)
		ids[n++] = i; /* NVMe 1.0: no Active Namespace list */
	/* a reprobe says nothing the open said (broker_reidentify) */
	struct nvme_ident_src src = {.identify = fake_ns,
				     .descs = fake_descs,
				     .vs = b->vs,
				     .name =
					 b->identified ? NULL : "fake-broker"};
	b->pol.nns =
	    nvme_ident_namespaces(ids, n, &src, b->pol.ns, NVME_VAL_MAX_NS);
	b->identified = true;
}

const struct nvme_ident_ctrl *nvme_broker_ident(const struct nvme_broker *b,
						uint16_t owner)
{
	fb_caller(b, owner);
	if (!b->identified)
		fake_identify((struct nvme_broker *)b);
	return &b->id;
}
unsigned nvme_broker_nns(const struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	if (!b->identified)
		fake_identify((struct nvme_broker *)b);
	return b->pol.nns;
}
const struct nvme_ns_policy *nvme_broker_ns(const struct nvme_broker *b,
					    uint16_t owner, unsigned i)
{
	fb_caller(b, owner);
	return i < nvme_broker_nns(b, b->owner) ? &b->pol.ns[i] : 0;
}

uint16_t nvme_broker_max_qid(const struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	return b->pol.qid_max;
}
const struct nvme_val_stats *nvme_broker_stats(const struct nvme_broker *b,
					       uint16_t owner)
{
	fb_caller(b, owner);
	return &b->gate.stats;
}
void nvme_broker_dump(const struct nvme_broker *b, uint16_t owner)
{
	fb_caller(b, owner);
	nvme_gate_dump(&b->gate);
}
