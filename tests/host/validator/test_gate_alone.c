/* tests/host/validator/test_gate_alone.c — the doorbell gate's own queue
 * checks (dma/nvme_gate.c gate_admin_pre, gate_ring_pin), built with
 * -DCAPOS_NVME_VALIDATOR_OFF: the validator refuses nothing, as in the
 * benchmark build, so every queue command reaches the gate as accepted.
 * The gate indexes its own tables with the queue ids the commands name, so
 * its checks must hold by themselves: an id of 0 or past the table
 * (NVME_VAL_MAX_QID) is refused, so are a size it cannot hold, a create
 * over a queue it has or on a CQ it has not, a delete of a queue it does not
 * have live or of a CQ an SQ posts to, and a ring outside the owner's
 * grants. In the normal build the validator refuses all of these first
 * (test_validator.c t_queues), which leaves the gate's own refusals
 * untested there (mutation testing: turning them off passed gate_test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dma/nvme_gate.h"
#include "fake_nvme.h"
#include "val_fixture.h"

#ifndef CAPOS_NVME_VALIDATOR_OFF
#error "test_gate_alone.c is built with -DCAPOS_NVME_VALIDATOR_OFF"
#endif

#define ADMQ 16

static struct fake_nvme *f;
static struct nvme_gate g;
static struct nvme_val_policy pol;
static struct grant_table gt;
static uint8_t *arena;
static uint64_t A;
static uint16_t tail, head, cid = 0x100;
static uint8_t phase;

static int setup(void **state)
{
	(void)state;
	f = calloc(1, sizeof(*f));
	fake_nvme_init(f);
	arena = aligned_alloc(4096, 2 * MIB);
	memset(arena, 0, 2 * MIB);
	A = (uint64_t)(uintptr_t)arena;
	memset(&gt, 0, sizeof(gt));
	assert_true(grant_add(&gt, OWNER, A, MIB, NULL) >= 0);
	val_policy(&pol, &gt, OWNER);
	pol.qsize_max = 65536;
	struct nvme_gate_env env;
	fake_nvme_env(f, &env);
	assert_int_equal(nvme_gate_init(&g, &env, &pol), 0);
	uint64_t asq, acq;
	assert_int_equal(
	    nvme_gate_admin_open(&g, A, A + 0x1000, ADMQ, &asq, &acq), 0);
	fake_nvme_admin(f, asq, acq, ADMQ);
	tail = head = 0;
	phase = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nvme_gate_drop_all(&g);
	assert_int_equal(f->shadow_allocs, 0); /* nothing leaked */
	free(f);
	free(arena);
	return 0;
}

/* one queue command through the gate: the gate's verdict, the device run
 * and its completion reaped when the gate accepted it */
static enum nvme_verdict qcmd(uint8_t opc, uint16_t qid, uint32_t size,
			      uint64_t ring, uint32_t cdw11)
{
	struct nvme_sqe c = {0};
	c.cdw0 = opc | (uint32_t)cid << 16;
	c.cdw10 = qid | (size - 1) << 16;
	c.cdw11 = cdw11;
	c.prp1 = ring;
	((struct nvme_sqe *)arena)[tail] = c;
	tail = (uint16_t)((tail + 1) % ADMQ);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, tail), 1);
	unsigned ran = fake_nvme_step(f);
	nvme_gate_cq_reap(&g, 0);
	struct nvme_cqe *e = (struct nvme_cqe *)(arena + 0x1000) + head;
	assert_int_equal(e->status & 1, phase);
	assert_int_equal(e->cid, cid);
	if (++head == ADMQ) {
		head = 0;
		phase ^= 1;
	}
	assert_int_equal(nvme_gate_cq_head(&g, 0, head), 0);
	cid++;
	if (nvme_cqe_sct(e) == NVME_GATE_SCT_CAPOS &&
	    nvme_cqe_sc(e) == NVME_GATE_SC_REJECTED) {
		assert_int_equal(ran, 0); /* refused: the device saw nothing */
		return (enum nvme_verdict)e->dw0;
	}
	assert_int_equal(ran, 1);
	assert_int_equal(e->status >> 1, 0);
	return NVME_V_ACCEPT;
}

#define CQ(qid, size, ring) qcmd(NVME_ADM_CREATE_CQ, qid, size, ring, 1)
#define SQ(qid, size, ring, cqid)                                              \
	qcmd(NVME_ADM_CREATE_SQ, qid, size, ring, 1 | (uint32_t)(cqid) << 16)
#define DEL(opc, qid) qcmd(opc, qid, 1, 0, 0)

/* queue ids 0 and past the table, for each of the four commands: the
 * gate's tables have no such entry (indexing g.cq[64] is past the array) */
static void t_alone_queue_ids(void **s)
{
	(void)s;
	const uint16_t qids[] = {0, NVME_VAL_MAX_QID, 0xffff};
	for (unsigned i = 0; i < 3; i++) {
		uint16_t q = qids[i];
		assert_int_equal(CQ(q, 8, A + 0x10000),
				 NVME_V_QUEUE_ID_NOT_GRANTED);
		assert_int_equal(SQ(q, 8, A + 0x11000, 1),
				 NVME_V_QUEUE_ID_NOT_GRANTED);
		assert_int_equal(DEL(NVME_ADM_DELETE_SQ, q),
				 NVME_V_QUEUE_ID_NOT_GRANTED);
		assert_int_equal(DEL(NVME_ADM_DELETE_CQ, q),
				 NVME_V_QUEUE_ID_NOT_GRANTED);
	}
	assert_int_equal(g.sq[0].state, NVME_GQ_LIVE);
	assert_int_equal(g.cq[0].state, NVME_GQ_LIVE);
	assert_int_equal(pol.cq_live | pol.sq_live, 0);
}

/* a queue of one entry, or of more than NVME_GATE_QSIZE_MAX */
static void t_alone_queue_sizes(void **s)
{
	(void)s;
	assert_int_equal(CQ(1, 1, A + 0x10000), NVME_V_QUEUE_SIZE);
	assert_int_equal(CQ(1, NVME_GATE_QSIZE_MAX + 1, A + 0x10000),
			 NVME_V_QUEUE_SIZE);
	assert_int_equal(CQ(1, 2, A + 0x10000), NVME_V_ACCEPT);
	assert_int_equal(SQ(1, 1, A + 0x11000, 1), NVME_V_QUEUE_SIZE);
	assert_int_equal(SQ(1, NVME_GATE_QSIZE_MAX + 1, A + 0x11000, 1),
			 NVME_V_QUEUE_SIZE);
	assert_int_equal(SQ(1, 2, A + 0x11000, 1), NVME_V_ACCEPT);
	assert_int_equal(g.sq[1].size, 2);
}

/* the gate's queue states, and the ring's grant */
static void t_alone_queue_states(void **s)
{
	(void)s;
	/* an SQ on a CQ the gate does not have: none yet, the admin CQ, one
	 * past the table */
	assert_int_equal(SQ(1, 8, A + 0x11000, 1), NVME_V_QUEUE_STATE);
	assert_int_equal(SQ(1, 8, A + 0x11000, 0), NVME_V_QUEUE_STATE);
	assert_int_equal(SQ(1, 8, A + 0x11000, NVME_VAL_MAX_QID),
			 NVME_V_QUEUE_STATE);
	assert_int_equal(DEL(NVME_ADM_DELETE_CQ, 1), NVME_V_QUEUE_STATE);
	/* a ring outside the owner's grants */
	assert_int_equal(CQ(1, 8, A + 2 * MIB), NVME_V_QUEUE_BASE_OUT_OF_GRANT);
	assert_int_equal(g.cq[1].state, NVME_GQ_FREE);
	assert_int_equal(CQ(1, 8, A + 0x10000), NVME_V_ACCEPT);
	assert_int_equal(CQ(1, 8, A + 0x12000), NVME_V_QUEUE_STATE);
	assert_int_equal(DEL(NVME_ADM_DELETE_SQ, 1), NVME_V_QUEUE_STATE);
	assert_int_equal(SQ(1, 8, A + 2 * MIB, 1),
			 NVME_V_QUEUE_BASE_OUT_OF_GRANT);
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	assert_int_equal(SQ(1, 8, A + 0x11000, 1), NVME_V_ACCEPT);
	assert_int_equal(SQ(1, 8, A + 0x13000, 1), NVME_V_QUEUE_STATE);
	/* an SQ posts to CQ 1 */
	assert_int_equal(DEL(NVME_ADM_DELETE_CQ, 1), NVME_V_QUEUE_STATE);
	assert_int_equal(DEL(NVME_ADM_DELETE_SQ, 1), NVME_V_ACCEPT);
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	assert_int_equal(DEL(NVME_ADM_DELETE_SQ, 1), NVME_V_QUEUE_STATE);
	assert_int_equal(DEL(NVME_ADM_DELETE_CQ, 1), NVME_V_ACCEPT);
	assert_int_equal(g.cq[1].state, NVME_GQ_FREE);
	assert_int_equal(pol.cq_live | pol.sq_live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(t_alone_queue_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_alone_queue_sizes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_alone_queue_states, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
