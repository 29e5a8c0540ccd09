/* tests/host/validator/val_fixture.h — what the validator and gate tests,
 * fuzzers and the bench set up alike. */
#ifndef VAL_FIXTURE_H
#define VAL_FIXTURE_H
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dma/nvme_gate.h"

#define MIB   (1u << 20)
#define OWNER 1 /* the owner the tests grant to */

/* the policy of one owner over the grants gt: 4 KiB pages, 128 KiB
 * transfers, I/O queues 1..8 of up to 1024 entries, vectors up to 4,
 * namespace 1 of 512-byte blocks, Compare, Write Zeroes and DSM in ONCS; a
 * test
 * changes what it needs */
static inline void val_policy(struct nvme_val_policy *p, struct grant_table *gt,
			      uint16_t owner)
{
	memset(p, 0, sizeof(*p));
	p->grants = gt;
	p->owner = owner;
	p->page_shift = 12;
	p->max_xfer = 128 * 1024;
	p->qid_max = 8;
	p->qsize_max = 1024;
	p->iv_max = 4;
	p->oncs = NVME_ONCS_COMPARE | NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES;
	p->nns = 1;
	p->ns[0] = (struct nvme_ns_policy){.nsid = 1, .lba_bytes = 512};
}

static inline bool val_in_buf(const struct dma_buf *b, uint64_t a, uint64_t len)
{
	return b->len && a >= b->iova && len <= b->len &&
	       a - b->iova <= b->len - len;
}

/* [a, a+len) lies in a shadow the gate g allocated (an SQ copy, a PRP
 * list copy, a CQ) */
static inline bool gate_shadow_covers(const struct nvme_gate *g, uint64_t a,
				      uint64_t len)
{
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++)
		if (val_in_buf(&g->sq[q].shadow, a, len) ||
		    val_in_buf(&g->sq[q].lists, a, len) ||
		    val_in_buf(&g->cq[q].shadow, a, len))
			return true;
	return false;
}

/* the gate tests' oracle: the device may touch [a, a+len) only in a live
 * grant of the owner or in one of the gate's shadows */
static inline bool gate_may_touch(const struct nvme_gate *g,
				  const struct grant_table *gt, uint16_t owner,
				  uint64_t a, uint64_t len)
{
	return grant_covers(gt, owner, a, len) || gate_shadow_covers(g, a, len);
}
#endif
