/* kernel/proof/nvme_inject.c — see nvme_inject.h. The broker calls these
 * hooks on every register read and every completion reap once the first
 * fault has been armed; an unarmed broker passes through unchanged. */
#include "kernel/proof/nvme_inject.h"
#include "dma/nvme_reg.h"
#include "kernel/authority/nvme_broker.h"
#include "kernel/lib/lib.h"

#define NVME_INJECT_MAX 8

static struct armed {
	const struct nvme_broker *b; /* NULL: a free slot */
	uint16_t qid;
	enum nvme_inject what;
} armed[NVME_INJECT_MAX];

static struct armed *inject_find(const struct nvme_broker *b, uint16_t qid,
				 enum nvme_inject what)
{
	for (unsigned i = 0; i < NVME_INJECT_MAX; i++)
		if (armed[i].b == b && armed[i].what == what &&
		    (armed[i].qid == qid || what == NVME_INJECT_CFS ||
		     what == NVME_INJECT_STUCK))
			return &armed[i];
	return 0;
}

/* CSTS: a stuck controller stays ready; a fatal one reports CFS until a
 * reset completes (RDY reads 0: the controller level reset clears CFS,
 * NVMe 2.0 §3.1.3.6) */
static uint32_t inject_reg_read(const struct nvme_broker *b, uint32_t off,
				uint32_t v)
{
	if (off != NVME_REG_CSTS || v == 0xffffffffu)
		return v;
	if (inject_find(b, 0, NVME_INJECT_STUCK))
		v |= (uint32_t)FIELD_SET(NVME_CSTS_RDY, 1);
	struct armed *a = inject_find(b, 0, NVME_INJECT_CFS);
	if (a && !FIELD_GET(NVME_CSTS_RDY, v))
		a->b = 0;
	else if (a)
		v |= (uint32_t)FIELD_SET(NVME_CSTS_CFS, 1);
	return v;
}

static bool inject_cq_post(const struct nvme_broker *b, uint16_t qid)
{
	return !inject_find(b, qid, NVME_INJECT_CFS);
}

static void inject_cq_posted(const struct nvme_broker *b, uint16_t qid,
			     struct nvme_cqe *first)
{
	struct armed *a = inject_find(b, qid, NVME_INJECT_BAD_CID);
	if (a) {
		first->cid ^= 0x8000; /* a generation the driver never issued */
		a->b = 0;
	}
	a = inject_find(b, qid, NVME_INJECT_BAD_SQHD);
	if (a) {
		/* the gate reports the driver's tail once it has taken the
		 * entries: two past it is a head no device can have */
		first->sqhd = (uint16_t)(first->sqhd + 2);
		a->b = 0;
	}
	a = inject_find(b, qid, NVME_INJECT_BAD_PHASE);
	if (a) {
		first->status ^= (uint16_t)FIELD_SET(NVME_CQE_P, 1);
		a->b = 0;
	}
}

static const struct nvme_broker_inject hooks = {
    .reg_read = inject_reg_read,
    .cq_post = inject_cq_post,
    .cq_posted = inject_cq_posted,
};

int nvme_inject_arm(struct nvme_broker *b, uint16_t qid, enum nvme_inject what)
{
	for (unsigned i = 0; i < NVME_INJECT_MAX; i++) {
		if (armed[i].b)
			continue;
		armed[i] = (struct armed){.b = b, .qid = qid, .what = what};
		nvme_broker_inject_set(&hooks);
		return 0;
	}
	kprintf("nvme-inject: unable to arm fault %u (all %u slots armed)\n",
		what, NVME_INJECT_MAX);
	return -1;
}

void nvme_inject_clear(const struct nvme_broker *b)
{
	for (unsigned i = 0; i < NVME_INJECT_MAX; i++)
		if (armed[i].b == b)
			armed[i].b = 0;
}
