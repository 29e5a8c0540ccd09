/* tests/host/validator/test_gate.c — the doorbell gate (dma/nvme_gate.c)
 * against the fake controller (fake_nvme.c): shadow copies against TOCTOU,
 * error completions for rejected commands, CQ translation across phase
 * wraps, doorbell bounds, tag exhaustion, queue create/delete, a hostile
 * device. The oracle: every byte the fake device touches lies in the
 * owner's grant or in a shadow the gate allocated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dma/nvme_gate.h"
#include "fake_nvme.h"
#include "kernel/lib/json.h"
#include "shim.h"
#include "tests/host/lib/json_check.h"
#include "val_fixture.h"

#define ADMQ 16

static struct fake_nvme *f;
static struct nvme_gate g;
static struct nvme_val_policy pol;
static struct grant_table gt;
static uint8_t *arena;
static uint64_t A;
static int io_slot;
static uint32_t io_gen;

/* driver-side ring state */
struct dq {
	uint64_t sq, cq;
	uint16_t size, cqsize, tail, head;
	uint8_t phase;
};
static struct dq adq, iq;

/* the oracle: never outside grants + shadows */
static void oracle(void *ctx, uint64_t a, uint64_t len, bool write)
{
	(void)ctx, (void)write;
	if (gate_may_touch(&g, &gt, OWNER, a, len))
		return;
	fail_msg("device touched 0x%llx+%llu outside grants and shadows",
		 (unsigned long long)a, (unsigned long long)len);
}

static int setup(void **state)
{
	(void)state;
	f = calloc(1, sizeof(*f));
	fake_nvme_init(f);
	f->touch = oracle;
	arena = aligned_alloc(4096, 4 * MIB);
	memset(arena, 0, 4 * MIB);
	A = (uint64_t)(uintptr_t)arena;
	memset(&gt, 0, sizeof(gt));
	assert_true(grant_add(&gt, OWNER, A, MIB, NULL) >= 0);
	/* I/O queue memory in its own grant, to revoke it */
	io_slot = grant_add(&gt, OWNER, A + MIB, MIB, &io_gen);
	assert_true(io_slot >= 0);
	val_policy(&pol, &gt, OWNER);
	struct nvme_gate_env env;
	fake_nvme_env(f, &env);
	assert_int_equal(nvme_gate_init(&g, &env, &pol), 0);
	adq = (struct dq){.sq = A,
			  .cq = A + 0x1000,
			  .size = ADMQ,
			  .cqsize = ADMQ,
			  .phase = 1};
	uint64_t asq, acq;
	assert_int_equal(
	    nvme_gate_admin_open(&g, adq.sq, adq.cq, ADMQ, &asq, &acq), 0);
	assert_true(asq != adq.sq && acq != adq.cq);
	fake_nvme_admin(f, asq, acq, ADMQ);
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

static struct nvme_sqe *slot(struct dq *q)
{
	return (struct nvme_sqe *)(uintptr_t)q->sq + q->tail;
}

static uint16_t submit(struct dq *q, struct nvme_sqe c)
{
	*slot(q) = c;
	q->tail = (uint16_t)((q->tail + 1) % q->size);
	return q->tail;
}

/* next completion in the driver's CQ, or false */
static bool dpoll(struct dq *q, uint16_t qid, struct nvme_cqe *out)
{
	struct nvme_cqe *e = (struct nvme_cqe *)(uintptr_t)q->cq + q->head;
	if ((e->status & 1) != q->phase)
		return false;
	*out = *e;
	if (++q->head == q->cqsize) {
		q->head = 0;
		q->phase ^= 1;
	}
	assert_int_equal(nvme_gate_cq_head(&g, qid, q->head), 0);
	return true;
}

static struct nvme_sqe cmd(uint8_t opc, uint16_t cid)
{
	struct nvme_sqe c = {0};
	c.cdw0 = opc | ((uint32_t)cid << 16);
	return c;
}

/* Create I/O CQ or SQ (NVMe 2.0 §5.4, §5.5): qid of size entries at
 * ring, physically contiguous; the rest of CDW11 from the caller */
static struct nvme_sqe create_q(uint8_t opc, uint16_t cid, uint16_t qid,
				uint32_t size, uint64_t ring, uint32_t cdw11)
{
	struct nvme_sqe c = cmd(opc, cid);
	c.prp1 = ring;
	c.cdw10 = qid | ((size - 1) << 16);
	c.cdw11 = 1 | cdw11;
	return c;
}

/* an SQ posting to CQ cqid */
static struct nvme_sqe create_sq(uint16_t cid, uint16_t qid, uint32_t size,
				 uint64_t ring, uint16_t cqid)
{
	return create_q(NVME_ADM_CREATE_SQ, cid, qid, size, ring,
			(uint32_t)cqid << 16);
}

/* a CQ; iv 0: no interrupts, else enabled on vector iv */
static struct nvme_sqe create_cq(uint16_t cid, uint16_t qid, uint32_t size,
				 uint64_t ring, uint16_t iv)
{
	return create_q(NVME_ADM_CREATE_CQ, cid, qid, size, ring,
			(iv ? 2 : 0) | ((uint32_t)iv << 16));
}

/* Delete I/O SQ or CQ qid */
static struct nvme_sqe delete_q(uint8_t opc, uint16_t cid, uint16_t qid)
{
	struct nvme_sqe c = cmd(opc, cid);
	c.cdw10 = qid;
	return c;
}

/* a Flush of namespace 1 */
static struct nvme_sqe flush(uint16_t cid)
{
	struct nvme_sqe c = cmd(NVME_IO_FLUSH, cid);
	c.nsid = 1;
	return c;
}

/* n Flushes written to q, CIDs cid0 on; the new tail */
static uint16_t submit_flushes(struct dq *q, unsigned n, uint16_t cid0)
{
	for (unsigned i = 0; i < n; i++)
		submit(q, flush((uint16_t)(cid0 + i)));
	return q->tail;
}

static void expect_ok(struct dq *q, uint16_t qid, uint16_t cid)
{
	struct nvme_cqe e;
	assert_true(dpoll(q, qid, &e));
	assert_int_equal(e.cid, cid);
	assert_int_equal(e.status >> 1, 0);
}

/* one admin command the device runs and completes successfully */
static void admin_ok(struct nvme_sqe c)
{
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, nvme_sqe_cid(&c));
}

/* create I/O CQ 1 of cqsize entries (its ring at cq) and SQ 1 of size
 * entries (in the I/O grant) */
static void make_ioq_sized(uint16_t size, uint16_t cqsize, uint64_t cq)
{
	iq = (struct dq){.sq = A + MIB,
			 .cq = cq,
			 .size = size,
			 .cqsize = cqsize,
			 .phase = 1};
	struct nvme_sqe c = create_cq(0x100, 1, cqsize, iq.cq, 1);
	submit(&adq, c);
	c = create_sq(0x101, 1, size, iq.sq, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 2);
	assert_int_equal(fake_nvme_step(f), 2);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 2);
	expect_ok(&adq, 0, 0x100);
	expect_ok(&adq, 0, 0x101);
	/* the device was pointed at the shadows, not the driver's rings */
	assert_true(f->cq[1].live && f->sq[1].live);
	assert_true(f->cq[1].base == g.cq[1].shadow.iova);
	assert_true(f->sq[1].base == g.sq[1].shadow.iova);
	assert_true(f->sq[1].base != iq.sq);
	assert_int_equal(g.sq[1].state, NVME_GQ_LIVE);
}

static void make_ioq_at(uint16_t size, uint64_t cq)
{
	make_ioq_sized(size, size, cq);
}

static void make_ioq(uint16_t size)
{
	make_ioq_at(size, A + MIB + 0x40000);
}

static void t_identify(void **s)
{
	(void)s;
	struct nvme_sqe c = cmd(NVME_ADM_IDENTIFY, 0x77);
	c.cdw10 = NVME_CNS_CTRL;
	c.prp1 = A + 0x10000;
	c.prp2 = A + 0xfff000; /* unused: zeroed in the copy */
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	assert_int_equal(f->db[0], 1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_true(f->log[0].prp1 == A + 0x10000);
	assert_true(f->log[0].prp2 == 0);
	assert_int_equal(nvme_sqe_cid(&f->log[0]), 0); /* the gate's tag */
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	/* the device's CQ head doorbell is coalesced: one completion in, not
	 * rung yet */
	assert_int_equal(f->db[1], 0);
	struct nvme_cqe e;
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 0x77);
	assert_int_equal(e.sqid, 0);
	assert_int_equal(e.sqhd, 1);
	assert_int_equal(e.status, 1); /* success, phase 1 */
	assert_memory_equal(arena + 0x10000 + NVME_IDCTL_MN, "FAKE NVMe", 9);
	assert_int_equal(g.stats.n[NVME_V_ACCEPT], 1);
	assert_false(dpoll(&adq, 0, &e));
}

static void t_reject_completes(void **s)
{
	(void)s;
	uint64_t dbs = f->ndoorbells;
	struct nvme_sqe c = cmd(NVME_ADM_FORMAT_NVM, 0x42);
	c.nsid = 1;
	submit(&adq, c);
	c = cmd(NVME_ADM_DBBUF_CONFIG, 0x43);
	c.prp1 = A;
	c.prp2 = A + 4096;
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 2);
	assert_int_equal(f->ndoorbells, dbs); /* the device was not told */
	assert_int_equal(fake_nvme_step(f), 0);
	struct nvme_cqe e;
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 0x42);
	assert_int_equal(nvme_cqe_sct(&e), NVME_GATE_SCT_CAPOS);
	assert_int_equal(nvme_cqe_sc(&e), NVME_GATE_SC_REJECTED);
	assert_true(e.status & (1u << 15)); /* DNR */
	assert_int_equal(e.dw0, NVME_V_OPCODE_FORBIDDEN);
	assert_int_equal(e.sqhd, 1);
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 0x43);
	assert_int_equal(e.dw0, NVME_V_DBBUF_CONFIG);
	assert_int_equal(e.sqhd, 2);
	assert_int_equal(g.stats.n[NVME_V_OPCODE_FORBIDDEN], 1);
	assert_int_equal(g.stats.n[NVME_V_DBBUF_CONFIG], 1);
	/* a good command after them still runs, with its own CID */
	c = cmd(NVME_ADM_KEEP_ALIVE, 0x44);
	admin_ok(c);
}

static void t_toctou(void **s)
{
	(void)s;
	make_ioq(8);
	/* a 12 KiB write through a PRP list, data pages carry a pattern */
	uint64_t d0 = A + 0x20000, d1 = A + 0x21000, d2 = A + 0x22000;
	uint64_t *list = (uint64_t *)(arena + 0x30000);
	list[0] = d1;
	list[1] = d2;
	memset(arena + 0x20000, 0xab, 3 * 4096);
	struct nvme_sqe c = cmd(NVME_IO_WRITE, 0x9);
	c.nsid = 1;
	c.prp1 = d0;
	c.prp2 = A + 0x30000;
	c.cdw12 = 23;
	struct nvme_sqe *mine = slot(&iq);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
	/* the driver turns hostile after ringing: it points the command and
	 * its list at memory it does not own (the last MiB of the arena) */
	uint64_t canary = A + 3 * MIB;
	memset(arena + 3 * MIB, 0x5a, 4096);
	mine->prp1 = canary;
	mine->prp2 = canary;
	mine->cdw0 = NVME_IO_READ | (0x9u << 16);
	list[0] = canary;
	list[1] = canary;
	/* the device executes what was validated: the shadow copy and the
	 * shadow list; the oracle fails the test on any other address */
	assert_int_equal(fake_nvme_step(f), 1);
	const struct nvme_sqe *ran = &f->log[f->nlog - 1];
	assert_int_equal(nvme_sqe_opc(ran), NVME_IO_WRITE);
	assert_true(ran->prp1 == d0);
	assert_true(ran->prp2 == g.sq[1].lists.iova); /* tag 0's page */
	const uint64_t *sl = g.sq[1].lists.va;
	assert_true(sl[0] == d1 && sl[1] == d2);
	for (int i = 0; i < 3 * 4096; i++)
		assert_int_equal(f->disk[i], 0xab);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(arena[3 * MIB + i], 0x5a);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0x9);
}

/* The same double fetch through a chained PRP list: the driver's list
 * starts 16 bytes before a page end (room for one entry and the chain
 * pointer, NVMe 2.0 §4.1.1) and goes on in a second page. After the ring
 * the driver rewrites both pages and the chain pointer to reach memory it
 * does not own. The device walks only the gate's flat copy: the shadow
 * list page from its start, the three entries checked, no chain (a copy
 * that kept the driver's in-page offset would have the device read past
 * them and follow what lies there). */
static void t_toctou_chained_list(void **s)
{
	(void)s;
	make_ioq(8);
	const uint64_t d[4] = {A + 0x40000, A + 0x41000, A + 0x42000,
			       A + 0x43000};
	uint64_t *l1 = (uint64_t *)(arena + 0x50000), *l2 = l1 + 512;
	l1[510] = d[1];
	l1[511] = A + 0x51000; /* chain: the second list page */
	l2[0] = d[2];
	l2[1] = d[3];
	for (int i = 0; i < 4; i++)
		memset(arena + 0x40000 + i * 4096, 0xa0 + i, 4096);
	struct nvme_sqe c = cmd(NVME_IO_WRITE, 0xa);
	c.nsid = 1;
	c.prp1 = d[0];
	c.prp2 = A + 0x50000 + 4080;
	c.cdw12 = 31; /* 32 blocks of 512 bytes: four pages */
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
	assert_int_equal(g.stats.n[NVME_V_ACCEPT], 3); /* + the two creates */
	uint64_t canary = A + 3 * MIB;
	memset(arena + 3 * MIB, 0x5a, 4096);
	l1[510] = canary;
	l1[511] = canary;
	l2[0] = canary;
	l2[1] = canary;
	assert_int_equal(fake_nvme_step(f), 1);
	const struct nvme_sqe *ran = &f->log[f->nlog - 1];
	assert_true(ran->prp2 == g.sq[1].lists.iova); /* page start: flat */
	const uint64_t *sl = g.sq[1].lists.va;
	assert_true(sl[0] == d[1] && sl[1] == d[2] && sl[2] == d[3]);
	for (int i = 0; i < 4 * 4096; i++)
		assert_int_equal(f->disk[i], 0xa0 + i / 4096);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(arena[3 * MIB + i], 0x5a);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0xa);
}

static void t_cq_phase_wrap(void **s)
{
	(void)s;
	make_ioq(4);
	/* 10 commands one at a time through a 4-entry queue: the driver's
	 * phase flips every 4 completions, the device's independently */
	for (uint16_t i = 0; i < 10; i++) {
		struct nvme_sqe c = cmd(NVME_IO_READ, (uint16_t)(0x200 + i));
		c.nsid = 1;
		c.prp1 = A + 0x50000;
		c.cdw10 = i;
		assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
		assert_int_equal(fake_nvme_step(f), 1);
		assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
		uint8_t want_phase = (uint8_t)(((i / 4) + 1) & 1);
		struct nvme_cqe *e =
		    (struct nvme_cqe *)(uintptr_t)iq.cq + (i % 4);
		assert_int_equal(e->status & 1, want_phase);
		assert_int_equal(e->sqhd, (i + 1) % 4);
		expect_ok(&iq, 1, (uint16_t)(0x200 + i));
		/* device CQ head: rung once half the ring (2) is consumed */
		assert_int_equal(f->db[3], ((i + 1) & ~1u) % 4);
		assert_int_equal(f->cq_overrun, 0);
	}
	/* with the driver not consuming, the gate stops at CQ full - 1 */
	submit_flushes(&iq, 3, 0x300);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 3);
	assert_int_equal(fake_nvme_step(f), 3);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 3);
}

/* The device's CQ head doorbell is coalesced, yet the device never sees
 * its CQ full: a burst of one leaves a consumed entry untold, and a full
 * burst after it makes the gate ring the head before admitting the last
 * command (gate_cq_room) */
static void t_cq_head_coalesced(void **s)
{
	(void)s;
	make_ioq(4);
	uint16_t cid = 0x600;
	uint64_t dbs = f->ndoorbells;
	for (unsigned round = 0; round < 12; round++) {
		unsigned burst = round & 1 ? 3 : 1;
		submit_flushes(&iq, burst, cid);
		cid += burst;
		assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), (int)burst);
		assert_int_equal(fake_nvme_step(f), burst);
		assert_int_equal(f->cq_overrun, 0);
		assert_int_equal(nvme_gate_cq_reap(&g, 1), (int)burst);
		for (unsigned i = 0; i < burst; i++)
			expect_ok(&iq, 1, (uint16_t)(cid - burst + i));
	}
	/* 24 commands: fewer doorbells than one SQ and one CQ ring each */
	assert_true(f->ndoorbells - dbs < 2 * 12 + 12);
}

/* a full driver CQ holds entries back; consuming it lets them through */
static void t_cq_full_unblock(void **s)
{
	(void)s;
	make_ioq(4);
	submit_flushes(&iq, 3, 0x400);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 3);
	assert_int_equal(fake_nvme_step(f), 3);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 3); /* CQ now full */
	struct nvme_sqe c = flush(0x403);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 0);
	assert_int_equal(f->db[2], 3);
	assert_true(g.stalls >= 1);
	expect_ok(&iq, 1, 0x400);      /* cq_head: the entry is taken */
	assert_int_equal(f->db[2], 0); /* 4th entry wrapped the shadow SQ */
	assert_int_equal(fake_nvme_step(f), 1);
	expect_ok(&iq, 1, 0x401);
	expect_ok(&iq, 1, 0x402);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0x403);
}

static void t_doorbell_bounds(void **s)
{
	(void)s;
	assert_int_equal(nvme_gate_sq_ring(&g, 0, ADMQ), -1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, 0xffff), -1);
	assert_int_equal(g.stats.n[NVME_V_DOORBELL_OUT_OF_RANGE], 2);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, 0), -1); /* not created */
	assert_int_equal(nvme_gate_sq_ring(&g, 64, 0), -1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0xffff, 0), -1);
	assert_int_equal(g.stats.n[NVME_V_QUEUE_NOT_OWNED], 3);
	assert_int_equal(nvme_gate_cq_head(&g, 0, ADMQ), -1);
	assert_int_equal(nvme_gate_cq_head(&g, 9, 0), -1);
	assert_int_equal(nvme_gate_cq_reap(&g, 9), -1);
	/* a reap names no CQ past the table, and one the gate does not
	 * hold is simply not there (the head doorbell's refusal is the
	 * only one counted); mutation testing: without the check every
	 * test passed */
	assert_int_equal(nvme_gate_cq_reap(&g, 64), -1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0xffff), -1);
	assert_int_equal(g.stats.n[NVME_V_QUEUE_NOT_OWNED], 4);
	/* one ring scans at most one queue depth: fill 15 of 16 slots; the
	 * admin queue's last free slot is the kernel's (gate_kcmd_keep), so
	 * 14 reach the device and the 15th waits for room */
	for (int i = 0; i < ADMQ - 1; i++)
		submit(&adq, cmd(NVME_ADM_KEEP_ALIVE, (uint16_t)i));
	assert_int_equal(adq.tail, ADMQ - 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), ADMQ - 2);
	/* ringing the same tail again scans nothing */
	assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), 0);
	assert_int_equal(g.stats.n[NVME_V_ACCEPT], ADMQ - 2);
	assert_int_equal(fake_nvme_step(f), ADMQ - 2);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), ADMQ - 2);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
}

static void t_tags_stall(void **s)
{
	(void)s;
	/* a 128-entry SQ and CQ: 100 flushes, 64 tags */
	make_ioq(128);
	submit_flushes(&iq, 100, 1000);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), NVME_GATE_TAGS);
	assert_true(g.stalls >= 1);
	assert_int_equal(fake_nvme_step(f), NVME_GATE_TAGS);
	/* reaping frees tags and takes the pending entries */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), NVME_GATE_TAGS);
	assert_int_equal(fake_nvme_step(f), 100 - NVME_GATE_TAGS);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 100 - NVME_GATE_TAGS);
	for (int i = 0; i < 100; i++)
		expect_ok(&iq, 1, (uint16_t)(1000 + i));
}

/* A completion from an SQ's earlier life must not answer a command of its
 * next life: delete SQ 1 with a read in flight, recreate it, submit a new
 * read (same tag), then let the device's late abort completion for the old
 * read arrive. The gate drops it as stale; the new read keeps its pins; the
 * driver heard of the old read once, as aborted by the deletion. */
static void t_stale_after_delete(void **s)
{
	(void)s;
	make_ioq(8);
	uint32_t gen;
	int ds = grant_add(&gt, OWNER, A + 2 * MIB, MIB, &gen);
	assert_true(ds >= 0);
	struct nvme_sqe c = cmd(NVME_IO_READ, 0x41);
	c.nsid = 1;
	c.prp1 = A + 2 * MIB;
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
	uint16_t old_dev_cid = 0; /* generation 0, tag 0 */
	/* Delete SQ 1 (the fake drops the queue without running the read) */
	struct nvme_sqe d = delete_q(NVME_ADM_DELETE_SQ, 0x50, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, d)), 1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x50);
	assert_int_equal(gt.g[ds].pins, 0); /* the device is done with it */
	struct nvme_cqe e;
	assert_true(dpoll(&iq, 1, &e)); /* the old read: aborted, once */
	assert_int_equal(e.cid, 0x41);
	assert_int_equal((e.status >> 1) & 0xff, NVME_SC_ABORT_SQ_DELETED);
	/* recreate SQ 1 on CQ 1 */
	struct nvme_sqe cs = create_sq(0x51, 1, iq.size, iq.sq, 1);
	iq.tail = 0;
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, cs)), 1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x51);
	/* a new read takes tag 0 again */
	c.cdw0 = NVME_IO_READ | (0x42u << 16);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
	assert_int_equal(gt.g[ds].pins, 1);
	/* the device's late abort for the old read */
	fake_nvme_post(f, 1, 1, old_dev_cid,
		       (uint16_t)(NVME_SC_ABORT_SQ_DELETED << 1));
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.dev_stale_cqe, 1);
	assert_int_equal(gt.g[ds].pins, 1); /* still pinned */
	assert_false(grant_revoke(&gt, ds, gen));
	assert_false(dpoll(&iq, 1, &e));
	/* the new read completes normally and only then lets go */
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0x42);
	assert_int_equal(gt.g[ds].pins, 0);
	assert_true(grant_revoke(&gt, ds, gen));
}

/* A device that posts a completion again after the tag went to the next
 * command (buggy firmware; a kept copy posted late). Read A on tag 0
 * completes and is reaped, Read B takes tag 0 and is fetched, then A's
 * completion comes again. It names A, not B: dropped and counted with one
 * line, and B keeps its pin until its own completion. Before, both had
 * the same device CID (generation and tag): the copy completed B while
 * the device still held it, its pin released (the driver could free the
 * pool, granted to someone else while the device writes it) and the
 * driver told "done" before the data was. A tag's CID repeats only after
 * NVME_GATE_USES commands on it */
static void t_dup_after_tag_reuse(void **s)
{
	(void)s;
	/* SQ 1 of 2 entries, so one tag; CQ 1 of 8 */
	make_ioq_sized(2, 8, A + MIB + 0x40000);
	assert_int_equal(g.sq[1].ntags, 1);
	uint32_t gen;
	int ds = grant_add(&gt, OWNER, A + 2 * MIB, MIB, &gen);
	assert_true(ds >= 0);
	struct nvme_sqe c = cmd(NVME_IO_READ, 0x41);
	c.nsid = 1;
	c.prp1 = A + 2 * MIB;
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
	assert_int_equal(fake_nvme_fetch(f, 1, 0), 1);
	const uint16_t a_cid = nvme_sqe_cid(&f->infl[0].c);
	assert_true(fake_nvme_complete(f, 0, 0, false, true)); /* + a copy */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0x41);
	assert_int_equal(gt.g[ds].pins, 0);
	/* B on the same tag, on the device, not run */
	c.cdw0 = NVME_IO_READ | (0x42u << 16);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
	assert_int_equal(fake_nvme_fetch(f, 1, 0), 1);
	const uint16_t b_cid = nvme_sqe_cid(&f->infl[0].c);
	assert_int_equal(b_cid & (NVME_GATE_TAGS - 1),
			 a_cid & (NVME_GATE_TAGS - 1));
	assert_int_equal(gt.g[ds].pins, 1);
	/* A's completion again, twice: dropped, one line */
	uint64_t lines = shim_kprintf_calls, bad = g.dev_bad_cqe;
	assert_true(fake_nvme_ghost(f, 0));
	fake_nvme_post(f, 1, 1, a_cid, 0);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.dev_bad_cqe, bad + 2);
	assert_int_equal(shim_kprintf_calls, lines + 1);
	struct nvme_cqe e;
	assert_false(dpoll(&iq, 1, &e));
	assert_true(g.sq[1].tag[b_cid & (NVME_GATE_TAGS - 1)].busy);
	assert_int_equal(gt.g[ds].pins, 1);
	assert_false(grant_revoke(&gt, ds, gen));
	/* B's own completion lets go */
	assert_true(fake_nvme_complete(f, 0, 0, false, false));
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0x42);
	assert_int_equal(gt.g[ds].pins, 0);
	assert_int_not_equal(b_cid, a_cid);
	/* the window: the tag's CID comes round after NVME_GATE_USES uses
	 * (A was the first, B the second) */
	for (unsigned i = 2; i <= NVME_GATE_USES; i++) {
		assert_int_equal(
		    nvme_gate_sq_ring(&g, 1, submit(&iq, flush(0x43))), 1);
		assert_int_equal(fake_nvme_step(f), 1);
		uint16_t cid = nvme_sqe_cid(&f->log[f->nlog - 1]);
		if (i < NVME_GATE_USES)
			assert_int_not_equal(cid, a_cid);
		else
			assert_int_equal(cid, a_cid);
		assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
		expect_ok(&iq, 1, 0x43);
	}
	assert_int_equal(shim_kprintf_calls, lines + 1);
}

/* Tags go round: on an idle SQ each command takes the tag after the last
 * one's, so a tag's NVME_GATE_USES uses, the window in which its CID
 * tells a command from the ones before it there, span that many rounds of
 * the SQ's tags (here 7), not that many commands */
static void t_tag_round_robin(void **s)
{
	(void)s;
	make_ioq(8);
	assert_int_equal(g.sq[1].ntags, 7);
	for (unsigned i = 0; i < 2 * 7 + 1; i++) {
		assert_int_equal(
		    nvme_gate_sq_ring(&g, 1, submit(&iq, flush(0x44))), 1);
		assert_int_equal(fake_nvme_step(f), 1);
		uint16_t cid = nvme_sqe_cid(&f->log[f->nlog - 1]);
		assert_int_equal(cid & (NVME_GATE_TAGS - 1), i % 7);
		assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
		expect_ok(&iq, 1, 0x44);
	}
}

static void t_hostile_device(void **s)
{
	(void)s;
	fake_nvme_post(f, 0, 0, 5, 0);	    /* CID never issued */
	fake_nvme_post(f, 0, 40, 0, 0);	    /* SQ that does not exist */
	fake_nvme_post(f, 0, 0xffff, 0, 0); /* SQ id out of range */
	/* the first SQ id past the gate's table: indexing with it would read
	 * past g.sq[] and g.sq_gen[] (mutation testing: the bound one off,
	 * `>`, passed every test) */
	fake_nvme_post(f, 0, NVME_VAL_MAX_QID, 0, 0);
	fake_nvme_post(f, 0, 0, NVME_GATE_KCID_BASE, 0); /* no kernel command */
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 0);
	assert_int_equal(g.dev_bad_cqe, 5);
	struct nvme_cqe e;
	assert_false(dpoll(&adq, 0, &e));
	/* a duplicate completion of a finished command is dropped too */
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 0, submit(&adq, cmd(NVME_ADM_KEEP_ALIVE, 1))),
	    1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	fake_nvme_post(f, 0, 0, 0, 0);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 0);
	assert_int_equal(g.dev_bad_cqe, 6);
}

/* A completion the device posts into a CQ its SQ does not post to names
 * nothing there, though its SQ and tag are live: dropped and counted, and
 * the command is answered once, by its own completion in its own CQ
 * (mutation testing: without the SQ-state/CQ check in gate_cqe_kind
 * every test passed; the stray completion went to the other CQ's driver
 * ring and the command's real one was dropped) */
static void t_device_wrong_cq(void **s)
{
	(void)s;
	make_ioq(8);
	struct dq q2 = {.cq = A + MIB + 0x90000, .cqsize = 8, .phase = 1};
	admin_ok(create_cq(0x130, 2, 8, q2.cq, 0));
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, flush(0x131))),
			 1);
	uint16_t dev_cid = (uint16_t)(g.sq_gen[1] << NVME_GATE_GEN_SHIFT);
	fake_nvme_post(f, 2, 1, dev_cid, 0);
	assert_int_equal(nvme_gate_cq_reap(&g, 2), 0);
	assert_int_equal(g.dev_bad_cqe, 1);
	struct nvme_cqe e;
	assert_false(dpoll(&q2, 2, &e));
	assert_int_equal(g.sq[1].nbusy, 1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0x131);
	assert_int_equal(g.sq[1].nbusy, 0);
}

/* SQHD is the device's head when it made the entry (NVMe 2.0 §4.2.1):
 * between the last head and the tail the gate rang, in ring order. A
 * completion that names no command moved the gate's head anyway, and a
 * head past the tail was taken: the gate then counted the slots between
 * its tail and that head as all it had, and an SQ with room stalled */
static void t_device_lies_sqhd(void **s)
{
	(void)s;
	make_ioq(8);
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 1, submit_flushes(&iq, 2, 0x400)), 2);
	/* a completion for a tag never issued, its head 5 (past tail 2) */
	f->sq[1].head = 5;
	fake_nvme_post(f, 1, 1, 6, 0);
	f->sq[1].head = 0;
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.dev_bad_cqe, 1);
	assert_int_equal(g.sq[1].sh_head, 0);
	/* the five slots left are still the SQ's */
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 1, submit_flushes(&iq, 5, 0x402)), 5);
	assert_int_equal(fake_nvme_step(f), 7);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 7);
	for (uint16_t i = 0; i < 7; i++)
		expect_ok(&iq, 1, (uint16_t)(0x400 + i));
	/* a real completion whose head lies past the tail: the completion
	 * is delivered, its head is not taken */
	uint16_t head = g.sq[1].sh_head;
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, flush(0x407))),
			 1);
	assert_int_equal(fake_nvme_step(f), 1);
	struct nvme_cqe *sh = (struct nvme_cqe *)g.cq[1].shadow.va;
	sh[(f->cq[1].tail + 7) % 8].sqhd =
	    (uint16_t)((g.sq[1].sh_tail + 2) % 8);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0x407);
	assert_int_equal(g.dev_bad_sqhd, 1);
	assert_int_equal(g.sq[1].sh_head, head);
}

/* SCT 7 / SC C0h in the driver's CQ means "the gate refused this" and DW0
 * its reason: a device that posts the same code would have the driver
 * count a refusal the gate never made. The gate passes the device's
 * status through except that code, which becomes Internal Error */
static void t_device_forges_reject(void **s)
{
	(void)s;
	make_ioq(4);
	f->next_status = (uint16_t)(NVME_GATE_SC_REJECTED << NVME_CQE_SC_SHIFT |
				    NVME_GATE_SCT_CAPOS << NVME_CQE_SCT_SHIFT |
				    NVME_CQE_DNR_MASK << NVME_CQE_DNR_SHIFT);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, flush(0x500))),
			 1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	struct nvme_cqe e;
	assert_true(dpoll(&iq, 1, &e));
	assert_int_equal(e.cid, 0x500);
	assert_int_equal(nvme_cqe_sct(&e), NVME_SCT_GENERIC);
	assert_int_equal(nvme_cqe_sc(&e), NVME_SC_INTERNAL);
	assert_true(
	    e.status &
	    NVME_CQE_DNR_MASK
		<< NVME_CQE_DNR_SHIFT); /* the rest as the device said */
	assert_int_equal(g.dev_status_rewritten, 1);
	/* another device error passes through as it is */
	f->next_status = (uint16_t)(NVME_SC_LBA_RANGE << NVME_CQE_SC_SHIFT);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, flush(0x501))),
			 1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	assert_true(dpoll(&iq, 1, &e));
	assert_int_equal(nvme_cqe_sc(&e), NVME_SC_LBA_RANGE);
	assert_int_equal(g.dev_status_rewritten, 1);
}

/* Finding 1 of the gate review (a use-after-free write): the I/O CQ ring
 * alone in its own pool, a read in flight, the pool revoked, then Delete SQ.
 * The gate owes the driver an abort completion and writes it into the CQ
 * ring: had the revoke succeeded, that write would land in freed memory
 * (ASan: heap-use-after-free, since a revoked pool is freed here as the
 * kernel frees it). The ring's grant is pinned while the CQ lives, so the
 * revoke is refused and the pool stays; once the CQ is deleted it goes. */
static void t_ring_pool_revoke(void **s)
{
	(void)s;
	uint8_t *cqmem = aligned_alloc(4096, 4096);
	memset(cqmem, 0, 4096);
	uint32_t cgen;
	int cslot =
	    grant_add(&gt, OWNER, (uint64_t)(uintptr_t)cqmem, 4096, &cgen);
	assert_true(cslot >= 0);
	make_ioq_at(8, (uint64_t)(uintptr_t)cqmem);
	struct nvme_sqe c;
	struct nvme_sqe rd = cmd(NVME_IO_READ, 0xbad);
	rd.nsid = 1;
	rd.prp1 = A + 0x70000;
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, rd)), 1);
	/* the revoke is refused while the CQ lives; the SQ's pool too */
	assert_false(grant_revoke(&gt, cslot, cgen));
	assert_false(grant_revoke(&gt, io_slot, io_gen));
	assert_true(grant_live(&gt, cslot, cgen));
	/* Delete SQ: the abort of the read lands in the live CQ ring */
	f->sq[1].live = false; /* the model drops the read unexecuted */
	c = delete_q(NVME_ADM_DELETE_SQ, 0x102, 1);
	admin_ok(c);
	struct nvme_cqe e;
	assert_true(dpoll(&iq, 1, &e));
	assert_int_equal(e.cid, 0xbad);
	assert_int_equal((e.status >> 1) & 0xff, NVME_SC_ABORT_SQ_DELETED);
	/* the SQ is gone, the CQ still pins its pool; then it goes too */
	assert_int_equal(gt.g[io_slot].pins, 0);
	assert_false(grant_revoke(&gt, cslot, cgen));
	c = delete_q(NVME_ADM_DELETE_CQ, 0x103, 1);
	admin_ok(c);
	assert_true(grant_revoke(&gt, cslot, cgen));
	free(cqmem); /* as dma_pool_revoke gives the pages back */
	/* nothing the driver does now reaches the freed ring */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), -1);
	assert_int_equal(nvme_gate_cq_head(&g, 1, 1), -1);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, 1), -1);
}

/* a revoked pool's data pointers are refused */
static void t_revoked_data(void **s)
{
	(void)s;
	uint32_t gen;
	int ds = grant_add(&gt, OWNER, A + 2 * MIB, MIB, &gen);
	assert_true(grant_revoke(&gt, ds, gen));
	struct nvme_sqe c = cmd(NVME_ADM_IDENTIFY, 2);
	c.cdw10 = NVME_CNS_CTRL;
	c.prp1 = A + 2 * MIB;
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	struct nvme_cqe e;
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.dw0, NVME_V_PRP1_OUT_OF_GRANT);
	assert_int_equal(fake_nvme_step(f), 0);
}

/* Finding 3: a small SQ is never over-committed. With 4 entries the device
 * holds at most 3 commands of it; the rest wait in the driver's ring until
 * completions come back. */
static void t_small_queue_cap(void **s)
{
	(void)s;
	make_ioq(4);
	assert_int_equal(g.sq[1].ntags, 3);
	submit_flushes(&iq, 3, 0x300);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 3);
	assert_int_equal(g.sq[1].nbusy, 3);
	/* the device fetches all three: its SQ is empty, but its CQ would
	 * have to take a fourth completion */
	assert_int_equal(fake_nvme_step(f), 3);
	struct nvme_sqe c = flush(0x303);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 0);
	assert_int_equal(g.sq[1].nbusy, 3);
	assert_int_equal(g.cq[1].inflight, 3);
	assert_int_equal(fake_nvme_step(f), 0); /* the device saw nothing */
	/* reaping makes room: the fourth goes */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 3);
	for (uint16_t i = 0; i < 3; i++)
		expect_ok(&iq, 1, (uint16_t)(0x300 + i));
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0x303);
}

/* Completions the device posted for a deleted SQ's commands still hold
 * shadow CQ slots until reaped: a 4-entry CQ with 3 of them filled that way
 * takes nothing more from another SQ until they are reaped, so the device's
 * CQ never overfills. */
static void t_deleted_sq_slots(void **s)
{
	(void)s;
	make_ioq(4);
	uint64_t sq2 = A + MIB + 0x80000;
	struct nvme_sqe c = create_sq(0x120, 2, 4, sq2, 1);
	admin_ok(c);
	struct dq q2 = {.sq = sq2, .size = 4};
	submit_flushes(&iq, 3, 0x700);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 3);
	/* the device runs the three flushes (their completions land in the
	 * shadow CQ), then the deletion; only the admin CQ is reaped */
	assert_int_equal(fake_nvme_step(f), 3);
	c = delete_q(NVME_ADM_DELETE_SQ, 0x121, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x121);
	assert_int_equal(g.cq[1].inflight, 0);
	assert_int_equal(g.cq[1].stale, 3);
	/* the driver hears of the three once, with the device's own
	 * completions (success: the flushes ran), though those were not
	 * reaped before the deletion; and makes room in its CQ */
	for (uint16_t i = 0; i < 3; i++)
		expect_ok(&iq, 1, (uint16_t)(0x700 + i));
	struct nvme_cqe e;
	assert_false(dpoll(&iq, 1, &e));
	/* a command on SQ 2 must wait all the same: the three device
	 * completions still fill the shadow CQ */
	c = flush(0x722);
	assert_int_equal(nvme_gate_sq_ring(&g, 2, submit(&q2, c)), 0);
	assert_int_equal(fake_nvme_step(f), 0);
	/* reaping swallows the stale three and lets it go */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.cq[1].stale, 0);
	assert_int_equal(g.dev_stale_cqe, 3);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(g.cq[1].inflight, 1);
}

/* A lying device's stale completion must not take the place of one the
 * gate counted. CQ 1 of 8 takes SQ 1 and SQ 2; the driver's CQ 1 holds six
 * completions it has not consumed. The device forges B, an entry of SQ 1
 * in a generation it does not have (stale), then completes D0 and D of
 * SQ 2 and A of SQ 1: the shadow holds B, D0, D, A. Delete SQ 1 (only the
 * admin CQ reaped; A's answer fills the driver's CQ): A and B hold slots
 * no command answers (stale 2). The reap takes B and stops at D0 (the
 * driver's CQ is full): A still holds its slot (stale 1). When the driver
 * makes room the gate takes four more of SQ 2's commands, and the
 * device's CQ (D0, D, A and those four) never overfills. Before, B was
 * never counted and its reap took A's count (stale 0): five went, and the
 * device posted into its full CQ (cq_overrun). */
static void t_stale_forged_not_counted(void **s)
{
	(void)s;
	make_ioq(8);
	uint64_t sq2 = A + MIB + 0x80000;
	admin_ok(create_sq(0x120, 2, 8, sq2, 1));
	struct dq q2 = {.sq = sq2, .size = 8};
	/* six completions the driver leaves in its CQ 1 */
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 1, submit_flushes(&iq, 6, 0x700)), 6);
	assert_int_equal(fake_nvme_step(f), 6);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 6);
	/* B: SQ 1, a generation it is not in, before or after the Delete */
	uint16_t gen = (uint16_t)((g.sq_gen[1] + 2) % NVME_GATE_GENS);
	fake_nvme_post(f, 1, 1, (uint16_t)(gen << NVME_GATE_GEN_SHIFT), 0);
	/* D0 and D on SQ 2, then A on SQ 1 */
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 2, submit_flushes(&q2, 2, 0x780)), 2);
	assert_int_equal(fake_nvme_step(f), 2);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, flush(0x782))),
			 1);
	assert_int_equal(fake_nvme_step(f), 1);
	admin_ok(delete_q(NVME_ADM_DELETE_SQ, 0x783, 1));
	assert_int_equal(g.cq[1].inflight, 2); /* D0, D */
	assert_int_equal(g.cq[1].stale, 2);    /* B and A */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.dev_stale_cqe, 1); /* B; D0 waits, D, A behind */
	assert_int_equal(g.cq[1].stale, 1);
	/* seven more on SQ 2 wait for the driver's CQ; it makes room */
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 2, submit_flushes(&q2, 7, 0x790)), 0);
	struct nvme_cqe e;
	assert_true(dpoll(&iq, 1, &e));
	assert_int_equal(g.sq[2].nbusy, 2 + 4);
	fake_nvme_step(f);
	assert_int_equal(f->cq_overrun, 0);
}

/* A lying device posts into CQ 1 after it created it and before the gate
 * has seen the Create I/O CQ's completion: the entry names nothing, but it
 * holds a slot of the device's CQ all the same. It is counted when the
 * gate sees the CQ go live, and already at a reap the pending CQ refuses
 * (gate_cq_count_stale), so the flushes rung
 * next leave the device room to post every answer: with the count at 0
 * the gate let three onto a 4-entry CQ holding one already, and the
 * device overran it (fuzz_gate_seq's check_cq_counted found it) */
static void t_forged_before_cq_live_counted(void **s)
{
	(void)s;
	iq = (struct dq){
	    .sq = A + MIB, .cq = A + MIB + 0x40000, .size = 8, .cqsize = 4};
	iq.phase = 1;
	struct nvme_sqe c = create_cq(0x140, 1, 4, iq.cq, 1);
	submit(&adq, c);
	c = create_sq(0x141, 1, 8, iq.sq, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 2);
	assert_int_equal(fake_nvme_step(f), 2);
	assert_true(f->cq[1].live);
	assert_int_equal(g.cq[1].state, NVME_GQ_PENDING);
	fake_nvme_post(f, 1, 1, 0x3f, 0); /* names no command */
	/* not reaped while pending, but counted */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), -1);
	assert_int_equal(g.cq[1].stale, 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 2);
	expect_ok(&adq, 0, 0x140);
	expect_ok(&adq, 0, 0x141);
	assert_int_equal(g.cq[1].state, NVME_GQ_LIVE);
	assert_int_equal(g.cq[1].stale, 1);
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 1, submit_flushes(&iq, 3, 0x700)), 2);
	assert_int_equal(fake_nvme_step(f), 2);
	assert_int_equal(f->cq_overrun, 0);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 2);
	assert_int_equal(g.dev_bad_cqe, 1);
}

/* The completions a deleted SQ's commands left unreaped in the shadow CQ
 * can wrap round its end: the scan that keeps them (gate_cq_pending_of)
 * follows the phase across the wrap. Three flushes complete into shadow
 * slots 2, 3 and 0, then Delete SQ: all three are answered with the
 * device's success, none as aborted (mutation testing: without the phase
 * flip at the wrap every test passed; the third was answered "aborted") */
static void t_deleted_sq_wrap(void **s)
{
	(void)s;
	make_ioq(4);
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 1, submit_flushes(&iq, 2, 0x700)), 2);
	assert_int_equal(fake_nvme_step(f), 2);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 2);
	expect_ok(&iq, 1, 0x700);
	expect_ok(&iq, 1, 0x701);
	assert_int_equal(g.cq[1].sh_head, 2);
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 1, submit_flushes(&iq, 3, 0x710)), 3);
	assert_int_equal(fake_nvme_step(f), 3);
	admin_ok(delete_q(NVME_ADM_DELETE_SQ, 0x721, 1));
	assert_int_equal(g.cq[1].stale, 3);
	/* in tag order, which round-robin tags need not keep in order */
	struct nvme_cqe e;
	unsigned seen = 0;
	for (uint16_t i = 0; i < 3; i++) {
		assert_true(dpoll(&iq, 1, &e));
		assert_int_equal(e.status >> 1, 0);
		assert_true(e.cid >= 0x710 && e.cid < 0x713);
		seen |= 1u << (e.cid - 0x710);
	}
	assert_int_equal(seen, 7);
	assert_false(dpoll(&iq, 1, &e));
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.dev_stale_cqe, 3);
}

/* a media error: Unrecovered Read Error (NVMe 2.0 §4.1.3.4, SCT 2h, SC
 * 81h), do not retry */
#define READ_ERROR (uint16_t)(0x81u << 1 | NVME_SCT_MEDIA << 9 | 1u << 15)

/* The device completes a Write (success) and fails a Read (a media error)
 * and posts both into the shadow I/O CQ, leaves a Flush it fetched
 * uncompleted, then runs Delete I/O SQ. Its completions come before the
 * deletion's (NVMe 2.0 §5.7), but the admin CQ is reaped first. The
 * driver must hear the device's own answers — the Write's success, the
 * Read's error — and "aborted, SQ deleted" only for the Flush the device
 * never answered; each CID once. (The gate answered all three as aborted:
 * a Write that happened reported as not done, the Read's error lost.) */
static void t_delete_keeps_device_status(void **s)
{
	(void)s;
	make_ioq(8);
	memset(arena + 0x20000, 0xcd, 4096);
	struct nvme_sqe c = cmd(NVME_IO_WRITE, 0x900);
	c.nsid = 1;
	c.prp1 = A + 0x20000;
	c.cdw12 = 7; /* 8 blocks: one page */
	submit(&iq, c);
	c.cdw0 = NVME_IO_READ | (0x901u << 16);
	c.prp1 = A + 0x21000;
	c.cdw10 = 8;
	submit(&iq, c);
	submit(&iq, flush(0x902));
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 3);
	assert_int_equal(fake_nvme_fetch(f, 1, 0), 3);
	/* the Write runs, the Read fails: both posted, neither reaped */
	assert_true(fake_nvme_complete(f, 0, 0, false, false));
	assert_true(fake_nvme_complete(f, 0, READ_ERROR, false, false));
	assert_int_equal(f->disk[0], 0xcd);
	/* Delete SQ 1: the device drops the Flush it still holds */
	f->del_mode = FAKE_DEL_SILENT;
	submit(&adq, delete_q(NVME_ADM_DELETE_SQ, 0x903, 1));
	assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), 1);
	assert_int_equal(fake_nvme_fetch(f, 0, 0), 1);
	/* the Delete SQ, behind the Flush in the device's list */
	assert_true(fake_nvme_complete(f, 1, 0, false, false));
	assert_int_equal(f->ninfl, 0);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x903);
	assert_int_equal(g.cq[1].stale, 2);
	struct nvme_cqe e;
	assert_true(dpoll(&iq, 1, &e));
	assert_int_equal(e.cid, 0x900);
	assert_int_equal(e.sqid, 1);
	assert_int_equal(e.status >> 1, 0); /* success */
	assert_true(dpoll(&iq, 1, &e));
	assert_int_equal(e.cid, 0x901);
	assert_int_equal(e.sqid, 1);
	assert_int_equal(e.status & ~1u, READ_ERROR);
	assert_true(dpoll(&iq, 1, &e));
	assert_int_equal(e.cid, 0x902);
	assert_int_equal(e.status >> 1, NVME_SC_ABORT_SQ_DELETED);
	assert_false(dpoll(&iq, 1, &e));
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	/* the device's entries are swallowed as stale when reaped: nothing
	 * reaches the driver a second time */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.dev_stale_cqe, 2);
	assert_int_equal(g.cq[1].stale, 0);
	assert_false(dpoll(&iq, 1, &e));
}

/* A device that posts two completions for one command of an SQ it then
 * deletes (success, then an error): the driver gets the first, once; the
 * entries still count as stale (bounded by the CQ) and are swallowed. A
 * completion naming a tag that was not busy is counted but answers
 * nothing. */
static void t_delete_duplicate_first_wins(void **s)
{
	(void)s;
	make_ioq(8);
	submit_flushes(&iq, 2, 0x920);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 2);
	/* generation 0: tag 1 twice, tag 5 (never issued) once */
	fake_nvme_post(f, 1, 1, 1, 0);
	fake_nvme_post(f, 1, 1, 1, READ_ERROR);
	fake_nvme_post(f, 1, 1, 5, 0);
	f->sq[1].live = false; /* the device never runs the flushes */
	f->sq[1].head = 2;
	admin_ok(delete_q(NVME_ADM_DELETE_SQ, 0x930, 1));
	assert_int_equal(g.cq[1].stale, 3);
	struct nvme_cqe e;
	assert_true(dpoll(&iq, 1, &e));
	assert_int_equal(e.cid, 0x920); /* tag 0: the device never answered */
	assert_int_equal(e.status >> 1, NVME_SC_ABORT_SQ_DELETED);
	expect_ok(&iq, 1, 0x921); /* tag 1: its first completion */
	assert_false(dpoll(&iq, 1, &e));
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.dev_stale_cqe, 3);
	assert_int_equal(g.cq[1].stale, 0);
	assert_false(dpoll(&iq, 1, &e));
}

/* The drain of an SQ of 65 or more entries, the smallest with every one of
 * the NVME_GATE_TAGS tags in use (ntags = MIN(NVME_GATE_TAGS, size - 1)):
 * SQ 1 of 128 entries on CQ 1 of 65, whose 64 free slots the tags fill
 * exactly. 100 flushes rung: 64 reach the device, 36 wait in the driver's
 * ring. The device completes the odd tags (tag 63, the last, with a media
 * error), drops the even ones and deletes the SQ. The drain answers all 64
 * tags — each odd one with the device's status, each even one aborted —
 * which fills the driver's CQ, then, as the driver consumes, the 36 that
 * never reached the device, aborted: all 100 once, in order, and the SQ id
 * is free again; SQ 2 is untouched. (Mutation testing: no test drained a
 * queue with all 64 tags; a tag scan that stops one short of 64, or goes
 * one past ntags (tag[64]: the next SQ's bytes), passed every test.) */
static void t_drain_all_tags(void **s)
{
	(void)s;
	make_ioq_sized(128, 65, A + MIB + 0x40000);
	/* an idle SQ 2 on the same CQ: the drain of SQ 1 answers nothing of
	 * it */
	admin_ok(create_sq(0x103, 2, 4, A + MIB + 0x80000, 1));
	assert_int_equal(g.sq[1].ntags, NVME_GATE_TAGS);
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 1, submit_flushes(&iq, 100, 0x400)),
	    NVME_GATE_TAGS);
	assert_int_equal(g.sq[1].nbusy, NVME_GATE_TAGS);
	assert_int_equal(fake_nvme_fetch(f, 1, 0), NVME_GATE_TAGS);
	for (unsigned i = 0; i < f->ninfl;) {
		unsigned tag =
		    nvme_sqe_cid(&f->infl[i].c) & (NVME_GATE_TAGS - 1);
		if (tag & 1)
			assert_true(fake_nvme_complete(
			    f, i, tag == 63 ? READ_ERROR : 0, false, false));
		else
			i++;
	}
	assert_int_equal(f->ninfl, NVME_GATE_TAGS / 2);
	f->del_mode = FAKE_DEL_SILENT;
	submit(&adq, delete_q(NVME_ADM_DELETE_SQ, 0x102, 1));
	assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), 1);
	assert_int_equal(fake_nvme_fetch(f, 0, 0), 1);
	assert_true(fake_nvme_complete(f, f->ninfl - 1, 0, false, false));
	assert_int_equal(f->ninfl, 0);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x102);
	/* the 64 tags answered, the driver's CQ full, 36 still owed */
	assert_int_equal(g.cq[1].stale, NVME_GATE_TAGS / 2);
	assert_int_equal(g.sq[1].state, NVME_GQ_DRAINING);
	assert_int_equal(g.sq[1].nbusy, 0);
	struct nvme_cqe e;
	for (uint16_t i = 0; i < 100; i++) {
		assert_true(dpoll(&iq, 1, &e));
		assert_int_equal(e.cid, 0x400 + i);
		assert_int_equal(e.sqid, 1);
		if (i == 63)
			assert_int_equal(e.status & ~1u, READ_ERROR);
		else if (i < NVME_GATE_TAGS && (i & 1))
			assert_int_equal(e.status >> 1, 0);
		else
			assert_int_equal(e.status >> 1,
					 NVME_SC_ABORT_SQ_DELETED);
	}
	assert_false(dpoll(&iq, 1, &e));
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	assert_int_equal(g.sq[2].state, NVME_GQ_LIVE);
	assert_int_equal(g.sq[2].qid, 2);
	/* the device's 32 entries are swallowed as stale */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.dev_stale_cqe, NVME_GATE_TAGS / 2);
	assert_int_equal(g.cq[1].stale, 0);
	assert_false(dpoll(&iq, 1, &e));
}

/* The kernel memory the gate holds per queue pair (nvme_gate_shadow_bytes,
 * what make bench prints): the shadow SQ and CQ, page rounded, and one
 * shadow PRP list page per tag, MIN(NVME_GATE_TAGS, entries - 1). The
 * admin pair of 16 entries: 4 KiB + 15 list pages + 4 KiB; an I/O pair of
 * 128: 8 KiB + 64 list pages + 4 KiB (268 KiB, docs/devices/nvme.md); a
 * queue id the gate does not hold, or past its table, holds none.
 * (Mutation testing: no test called it; its qid bound turned off passed.) */
static void t_shadow_bytes(void **s)
{
	(void)s;
	assert_int_equal(nvme_gate_shadow_bytes(&g, 0), (1 + 15 + 1) * 4096);
	assert_int_equal(nvme_gate_shadow_bytes(&g, 1), 0);
	make_ioq(128);
	assert_int_equal(nvme_gate_shadow_bytes(&g, 1), 268u << 10);
	assert_int_equal(nvme_gate_shadow_bytes(&g, 0) +
			     nvme_gate_shadow_bytes(&g, 1),
			 f->shadow_bytes);
	assert_int_equal(nvme_gate_shadow_bytes(&g, 2), 0);
	assert_int_equal(nvme_gate_shadow_bytes(&g, NVME_VAL_MAX_QID - 1), 0);
	assert_int_equal(nvme_gate_shadow_bytes(&g, NVME_VAL_MAX_QID), 0);
	assert_int_equal(nvme_gate_shadow_bytes(&g, 0xffff), 0);
}

/* interrupts the gate delivered itself, over all vectors */
static uint64_t gate_irqs_all(void)
{
	uint64_t n = f->gate_irqs_other;
	for (unsigned v = 0; v < FAKE_QMAX; v++)
		n += f->gate_irqs[v];
	return n;
}

/* Completions the gate posts itself — rejections, a drain's — come with
 * the driver's interrupt for that CQ (env.interrupt: the vector the CQ was
 * created with, vector 0 for the admin CQ), once per CQ per gate call, as
 * a device interrupts for what it posts; device completions it copies do
 * not (the device interrupted for them), nor does a CQ created with
 * interrupts disabled. Without it a driver waiting on its interrupt sees
 * these only at its 1 ms fallback poll. */
static void t_gate_made_interrupts(void **s)
{
	(void)s;
	make_ioq(8); /* CQ 1 on vector 1 */
	assert_int_equal(gate_irqs_all(), 0);
	/* two admin rejections in one ring: vector 0, once */
	struct nvme_sqe c = cmd(NVME_ADM_FORMAT_NVM, 0x42);
	c.nsid = 1;
	submit(&adq, c);
	submit(&adq, cmd(NVME_ADM_FORMAT_NVM, 0x43));
	assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), 2);
	assert_int_equal(f->gate_irqs[0], 1);
	struct nvme_cqe e;
	assert_true(dpoll(&adq, 0, &e));
	assert_true(dpoll(&adq, 0, &e));
	/* device completions reaped: none from the gate */
	submit_flushes(&iq, 2, 0x960);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 2);
	assert_int_equal(fake_nvme_step(f), 2);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 2);
	expect_ok(&iq, 1, 0x960);
	expect_ok(&iq, 1, 0x961);
	assert_int_equal(gate_irqs_all(), 1);
	/* an I/O rejection: CQ 1's vector */
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 1, submit(&iq, cmd(0x7f, 0x962))), 1);
	assert_int_equal(f->gate_irqs[1], 1);
	assert_true(dpoll(&iq, 1, &e));
	assert_int_equal(e.cid, 0x962);
	/* Delete SQ 1 with a flush the device never runs: reaping the admin
	 * CQ posts its abort into CQ 1 and interrupts there, not on vector 0
	 * (the deletion's own completion is the device's) */
	f->sq[1].live = false;
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, flush(0x963))),
			 1);
	admin_ok(delete_q(NVME_ADM_DELETE_SQ, 0x964, 1));
	assert_int_equal(f->gate_irqs[1], 2);
	assert_int_equal(f->gate_irqs[0], 1);
	assert_true(dpoll(&iq, 1, &e));
	assert_int_equal(e.cid, 0x963);
	assert_int_equal(e.status >> 1, NVME_SC_ABORT_SQ_DELETED);
	/* CQ 2 with interrupts disabled: its rejection raises none */
	uint64_t sq2 = A + MIB + 0x80000, cq2 = A + MIB + 0x50000;
	admin_ok(create_cq(0x965, 2, 8, cq2, 0));
	admin_ok(create_sq(0x966, 2, 8, sq2, 2));
	struct dq q2 = {
	    .sq = sq2, .cq = cq2, .size = 8, .cqsize = 8, .phase = 1};
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 2, submit(&q2, cmd(0x7f, 0x967))), 1);
	assert_true(dpoll(&q2, 2, &e));
	assert_int_equal(e.cid, 0x967);
	assert_int_equal(gate_irqs_all(), 3);
}

/* A deleted SQ's completions still in the shadow CQ are counted as stale
 * once: recreating the SQ and deleting it again before the CQ is reaped
 * must not count them a second time (gate_sq_retire counted every entry
 * of that SQ id, whatever its generation, so each such cycle leaked CQ
 * slots for good until the CQ took nothing more). */
static void t_stale_counted_once(void **s)
{
	(void)s;
	make_ioq(4);
	uint64_t sq2 = A + MIB + 0x80000;
	admin_ok(create_sq(0x140, 2, 4, sq2, 1));
	struct dq q2 = {.sq = sq2, .size = 4};
	submit_flushes(&iq, 2, 0x740);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 2);
	assert_int_equal(fake_nvme_step(f), 2); /* in the shadow CQ */
	admin_ok(delete_q(NVME_ADM_DELETE_SQ, 0x141, 1));
	assert_int_equal(g.cq[1].stale, 2);
	struct nvme_cqe e;
	for (uint16_t i = 0; i < 2; i++) {
		assert_true(dpoll(&iq, 1, &e));
		assert_int_equal(e.cid, 0x740 + i);
	}
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	/* SQ 1 again, and deleted again with nothing in flight; CQ 1 is
	 * still not reaped */
	admin_ok(create_sq(0x142, 1, 4, iq.sq, 1));
	admin_ok(delete_q(NVME_ADM_DELETE_SQ, 0x143, 1));
	assert_int_equal(g.cq[1].stale, 2);
	/* reaping swallows the two and leaves no phantom slot behind */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.dev_stale_cqe, 2);
	assert_int_equal(g.cq[1].stale, 0);
	/* the 4-entry CQ takes three commands again */
	submit_flushes(&q2, 3, 0x750);
	assert_int_equal(nvme_gate_sq_ring(&g, 2, q2.tail), 3);
	assert_int_equal(fake_nvme_step(f), 3);
}

/* An SQ id's generation runs modulo NVME_GATE_GENS (the CID's upper bits).
 * A deleted SQ's completion left unreaped in its CQ (the driver took the
 * drain's answer by moving its CQ head alone) must not answer a command of
 * the same SQ id once the generation has come round: a Read's grant would
 * be unpinned, and the driver told it is done, while the device still
 * holds it. The gate refuses the Create I/O SQ that would issue the old
 * generation again (NVME_V_QUEUE_STATE) until the CQ is reaped. */
static void t_sq_gen_wrap(void **s)
{
	(void)s;
	make_ioq(4);
	submit_flushes(&iq, 1, 0x900);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 1);
	assert_int_equal(fake_nvme_step(f), 1); /* in the shadow CQ */
	const uint16_t gen0 = g.sq_gen[1];
	admin_ok(delete_q(NVME_ADM_DELETE_SQ, 0x901, 1));
	struct nvme_cqe e;
	assert_true(dpoll(&iq, 1, &e)); /* the drain's: the device's answer */
	assert_int_equal(e.cid, 0x900);
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	/* SQ 1 again and again, CQ 1 never reaped, until the next create
	 * would issue the flush's generation */
	while (g.sq_gen[1] != gen0) {
		admin_ok(create_sq(0x902, 1, 4, iq.sq, 1));
		admin_ok(delete_q(NVME_ADM_DELETE_SQ, 0x903, 1));
	}
	uint32_t gen;
	int ds = grant_add(&gt, OWNER, A + 2 * MIB, MIB, &gen); /* data pool */
	assert_true(ds >= 0);
	struct nvme_sqe c = create_sq(0x904, 1, 4, iq.sq, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	fake_nvme_step(f);
	nvme_gate_cq_reap(&g, 0);
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 0x904);
	assert_int_equal(nvme_cqe_sc(&e), NVME_GATE_SC_REJECTED);
	assert_int_equal(e.dw0, NVME_V_QUEUE_STATE);
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	/* the reap swallows the flush's completion as stale; the create
	 * then goes */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	admin_ok(create_sq(0x905, 1, 4, iq.sq, 1));
	assert_int_equal(g.sq_gen[1], gen0);
	iq.tail = 0;
	c = cmd(NVME_IO_READ, 0x906);
	c.nsid = 1;
	c.prp1 = A + 2 * MIB;
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
	assert_int_equal(gt.g[ds].pins, 1);
	/* the device has not run the Read: nothing answers it yet */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_false(dpoll(&iq, 1, &e));
	assert_int_equal(gt.g[ds].pins, 1);
	assert_false(grant_revoke(&gt, ds, gen));
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0x906);
	assert_int_equal(gt.g[ds].pins, 0);
}

/* A device that lies about a queue create: it says Create I/O CQ 1 failed,
 * then performs it and the Create I/O SQ 1 on it. The gate keeps CQ 1 (an
 * SQ was created on it) instead of freeing what SQ 1 posts into; deleting
 * them afterwards works (found by fuzz_gate_seq: a division by zero, a #DE
 * in the kernel, when the drain met the cleared CQ). */
static void t_lying_create_cq(void **s)
{
	(void)s;
	struct nvme_sqe c = create_cq(0x130, 1, 8, A + MIB + 0x40000, 0);
	submit(&adq, c);
	c = create_sq(0x131, 1, 8, A + MIB, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 2);
	/* the lie first: the Create CQ's tag (0) completes with an error */
	fake_nvme_post(f, 0, 0, 0,
		       (uint16_t)(NVME_SC_QID_INVALID << 1 | 1u << 9));
	assert_int_equal(fake_nvme_step(f), 2);
	nvme_gate_cq_reap(&g, 0);
	assert_int_equal(g.cq[1].state, NVME_GQ_LIVE);
	assert_int_equal(g.sq[1].state, NVME_GQ_LIVE);
	assert_true(g.dev_bad_cqe >= 1);
	struct nvme_cqe e;
	while (dpoll(&adq, 0, &e))
		;
	c = delete_q(NVME_ADM_DELETE_SQ, 0x132, 1);
	admin_ok(c);
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	c = delete_q(NVME_ADM_DELETE_CQ, 0x133, 1);
	admin_ok(c);
	assert_int_equal(g.cq[1].state, NVME_GQ_FREE);
}

/* CID FFFFh (the kernel's, with none outstanding) carries a generation the
 * gate never issues: it must not complete the command in tag 63 */
static void t_forged_cid_ffff(void **s)
{
	(void)s;
	make_ioq(128);
	submit_flushes(&iq, 64, 0x800);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 64);
	assert_true(g.sq[1].tag[63].busy);
	uint64_t bad = g.dev_bad_cqe;
	fake_nvme_post(f, 1, 1, 0xffff, 0);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	assert_int_equal(g.dev_bad_cqe, bad + 1);
	assert_true(g.sq[1].tag[63].busy);
	assert_int_equal(fake_nvme_step(f), 64);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 64);
}

/* Finding 5: aborts owed after a Delete SQ are held while the driver's CQ
 * is full and delivered as it makes room: every command completes exactly
 * once. Until then the SQ id cannot be reused and the CQ cannot go. */
static void t_abort_no_loss(void **s)
{
	(void)s;
	make_ioq(8);
	/* SQ 2 on the same CQ: five forbidden commands fill 5 of its 7
	 * usable slots with rejections the driver does not consume yet */
	uint64_t sq2 = A + MIB + 0x80000;
	struct nvme_sqe c = create_sq(0x110, 2, 8, sq2, 1);
	admin_ok(c);
	struct dq q2 = {.sq = sq2, .size = 8};
	for (uint16_t i = 0; i < 5; i++)
		submit(&q2, cmd(0x7f, (uint16_t)(0x600 + i)));
	assert_int_equal(nvme_gate_sq_ring(&g, 2, q2.tail), 5);
	/* seven reads in flight on SQ 1 (its cap), never executed */
	f->sq[1].live = false;
	for (uint16_t i = 0; i < 7; i++) {
		c = cmd(NVME_IO_READ, (uint16_t)(0x400 + i));
		c.nsid = 1;
		c.prp1 = A + 0x70000;
		submit(&iq, c);
	}
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 7);
	c = delete_q(NVME_ADM_DELETE_SQ, 0x500, 1);
	admin_ok(c);
	/* two aborts fit now; five are owed */
	assert_int_equal(g.sq[1].state, NVME_GQ_DRAINING);
	assert_int_equal(g.sq[1].nbusy, 5);
	/* SQ 1 cannot be recreated nor CQ 1 deleted while it drains */
	c = create_sq(0x501, 1, 8, iq.sq, 1);
	submit(&adq, c);
	c = delete_q(NVME_ADM_DELETE_SQ, 0x502, 2);
	submit(&adq, c);
	c = delete_q(NVME_ADM_DELETE_CQ, 0x503, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 3);
	struct nvme_cqe e;
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 0x501);
	assert_int_equal(e.dw0, NVME_V_QUEUE_STATE);
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 0x503);
	assert_int_equal(e.dw0, NVME_V_QUEUE_STATE);
	assert_int_equal(fake_nvme_step(f), 1); /* SQ 2 deleted */
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x502);
	/* the driver consumes: rejections first, then every abort, once */
	unsigned rej = 0, got = 0;
	while (dpoll(&iq, 1, &e)) {
		if (e.sqid == 2) {
			assert_int_equal(e.cid, 0x600 + rej);
			rej++;
			continue;
		}
		assert_int_equal(e.sqid, 1);
		assert_int_equal(e.cid, 0x400 + got);
		assert_int_equal((e.status >> 1) & 0xff,
				 NVME_SC_ABORT_SQ_DELETED);
		got++;
	}
	assert_int_equal(rej, 5);
	assert_int_equal(got, 7);
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	assert_int_equal(g.cq[1].inflight, 0);
	/* and the CQ can go now */
	c = delete_q(NVME_ADM_DELETE_CQ, 0x504, 1);
	admin_ok(c);
}

/* start the gate over with shadow accounting on acct: the admin queues
 * opened again, the driver's admin rings empty; what they charge */
static uint64_t gate_reopen_charged(struct dma_owner *acct)
{
	dma_owner_init(acct);
	nvme_gate_drop_all(&g);
	pol.acct = acct;
	uint64_t asq, acq;
	assert_int_equal(
	    nvme_gate_admin_open(&g, adq.sq, adq.cq, ADMQ, &asq, &acq), 0);
	fake_nvme_admin(f, asq, acq, ADMQ);
	adq.tail = adq.head = 0;
	adq.phase = 1;
	memset((void *)(uintptr_t)adq.cq, 0, ADMQ * 16);
	return acct->use[DMA_CHARGE_SHADOW];
}

/* Finding 4: shadow memory is charged to the owner under a quota. A
 * create past it is refused (over_quota) and charges nothing; what was
 * charged comes back when the queues go. */
static void t_shadow_quota(void **s)
{
	(void)s;
	struct dma_owner acct;
	uint64_t admin = gate_reopen_charged(&acct);
	/* admin: one SQ page, one CQ page, 15 list pages */
	assert_int_equal(admin, (2 + 15) * 4096);
	acct.max[DMA_CHARGE_SHADOW] = admin + 6 * 4096;
	/* a 1024-entry CQ needs 16 KiB: fits; a second does not */
	struct nvme_sqe c = create_cq(0x700, 1, 1024, A + MIB, 0);
	submit(&adq, c);
	c = create_cq(0x701, 2, 1024, A + MIB + 0x10000, 0);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 2);
	struct nvme_cqe e;
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 0x701);
	assert_int_equal(e.dw0, NVME_V_OVER_QUOTA);
	assert_int_equal(g.stats.n[NVME_V_OVER_QUOTA], 1);
	assert_int_equal(acct.over[DMA_CHARGE_SHADOW], 1);
	assert_int_equal(acct.use[DMA_CHARGE_SHADOW], admin + 4 * 4096);
	assert_int_equal(g.cq[2].state, NVME_GQ_FREE);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x700);
	/* an SQ whose list pages would pass the quota: refused whole */
	c = create_sq(0x702, 1, 64, A + MIB + 0x20000, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.dw0, NVME_V_OVER_QUOTA);
	assert_int_equal(acct.use[DMA_CHARGE_SHADOW], admin + 4 * 4096);
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	/* a reset gives everything back */
	nvme_gate_drop_all(&g);
	assert_int_equal(acct.use[DMA_CHARGE_SHADOW], 0);
	pol.acct = 0;
}

/* A shadow the env withholds (the kernel's dma_kernel_free, when the
 * IOMMU does not confirm the unmap) stays charged to the owner: its pages
 * never come back, and they count against its shadow quota. Before, the
 * gate uncharged a shadow before freeing it whatever became of it, so an
 * owner whose shadows were withheld over and over held memory without
 * bound at no charge. */
static void t_shadow_withheld_stays_charged(void **s)
{
	(void)s;
	struct dma_owner acct;
	uint64_t admin = gate_reopen_charged(&acct);
	assert_int_equal(admin, (2 + 15) * 4096);
	submit(&adq, create_cq(0x700, 1, 1024, A + MIB, 0)); /* 16 KiB */
	assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), 1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x700);
	uint64_t held = acct.use[DMA_CHARGE_SHADOW];
	assert_int_equal(held, admin + 4 * 4096);
	/* the reset frees every shadow; the env withholds each */
	f->withhold_frees = true;
	nvme_gate_drop_all(&g);
	assert_int_equal(f->shadow_allocs, 0);
	assert_int_equal(f->withheld_bytes, held);
	assert_int_equal(acct.use[DMA_CHARGE_SHADOW], held);
	/* withheld memory counts against the quota: a new admin pair that
	 * would pass it is refused */
	acct.max[DMA_CHARGE_SHADOW] = held + admin - 4096;
	f->withhold_frees = false;
	uint64_t asq, acq;
	assert_int_equal(
	    nvme_gate_admin_open(&g, adq.sq, adq.cq, ADMQ, &asq, &acq), -1);
	assert_int_equal(acct.use[DMA_CHARGE_SHADOW], held);
	assert_int_equal(f->shadow_allocs, 0);
	/* given back (freed, not withheld): uncharged */
	acct.max[DMA_CHARGE_SHADOW] = DMA_OWNER_SHADOW_MAX;
	assert_int_equal(
	    nvme_gate_admin_open(&g, adq.sq, adq.cq, ADMQ, &asq, &acq), 0);
	assert_int_equal(acct.use[DMA_CHARGE_SHADOW], held + admin);
	nvme_gate_drop_all(&g);
	assert_int_equal(acct.use[DMA_CHARGE_SHADOW], held);
	while (f->nwithheld)
		free(f->withheld[--f->nwithheld]);
	pol.acct = 0;
}

/* memory a command in flight names cannot be revoked until it completes */
static void t_pins(void **s)
{
	(void)s;
	make_ioq(8);
	uint32_t gen;
	int ds = grant_add(&gt, OWNER, A + 2 * MIB, MIB, &gen); /* data pool */
	assert_true(ds >= 0);
	struct nvme_sqe c = cmd(NVME_IO_READ, 0x31);
	c.nsid = 1;
	c.prp1 = A + 2 * MIB;
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
	assert_int_equal(gt.g[ds].pins, 1);
	assert_false(grant_revoke(&gt, ds, gen)); /* the device may write it */
	assert_true(grant_live(&gt, ds, gen));
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(gt.g[ds].pins, 1); /* completion not reaped yet */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	assert_int_equal(gt.g[ds].pins, 0);
	assert_true(grant_revoke(&gt, ds, gen));
	/* a reset (drop_all) releases what never completed */
	ds = grant_add(&gt, OWNER, A + 2 * MIB, MIB, &gen);
	c.cdw0 = NVME_IO_WRITE | (0x32u << 16);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
	c.cdw0 = NVME_IO_WRITE | (0x33u << 16);
	c.prp1 = A + 2 * MIB + 4096;
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 1);
	assert_int_equal(gt.g[ds].pins, 2);
	nvme_gate_drop_all(&g);
	assert_int_equal(gt.g[ds].pins, 0);
	assert_true(grant_revoke(&gt, ds, gen));
	assert_false(grant_unpin(&gt, ds));
	assert_false(grant_pin(&gt, ds)); /* not live */
}

static void t_create_fail_delete(void **s)
{
	(void)s;
	unsigned base_allocs = f->shadow_allocs;
	/* the device refuses the create: the gate drops its shadow */
	struct nvme_sqe c = create_cq(0x10, 2, 8, A + MIB, 0);
	f->next_status = (uint16_t)(NVME_SC_QID_INVALID << 1 | 1u << 9);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	assert_true(pol.cq_live & (1u << 2)); /* pending */
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	struct nvme_cqe e;
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(nvme_cqe_sct(&e), 1);
	assert_false(pol.cq_live & (1u << 2));
	assert_int_equal(g.cq[2].state, NVME_GQ_FREE);
	assert_int_equal(f->shadow_allocs, base_allocs);
	/* SQ before its CQ, and a second CQ with the same id, are refused */
	make_ioq(8);
	c = create_sq(0x11, 2, 8, A + MIB + 0x80000, 3);
	submit(&adq, c);
	c = create_cq(0x12, 1, 8, A + MIB + 0x90000, 0);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 2);
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.dw0, NVME_V_QUEUE_STATE);
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.dw0, NVME_V_QUEUE_STATE);
	/* delete the CQ while its SQ lives: refused; SQ then CQ: freed */
	c = delete_q(NVME_ADM_DELETE_CQ, 0x13, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.dw0, NVME_V_QUEUE_STATE);
	/* a read the device never runs before the SQ goes: its pin goes
	 * with the SQ */
	struct nvme_sqe rd = cmd(NVME_IO_READ, 0x60);
	rd.nsid = 1;
	rd.prp1 = A + 0x70000;
	uint32_t ring_pins = gt.g[0].pins; /* the admin rings */
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, rd)), 1);
	assert_int_equal(gt.g[0].pins, ring_pins + 1);
	f->sq[1].live = false; /* the model drops it unexecuted */
	c = delete_q(NVME_ADM_DELETE_SQ, 0x14, 1);
	submit(&adq, c);
	/* the CQ cannot go while an SQ posting to it is being deleted */
	c = delete_q(NVME_ADM_DELETE_CQ, 0x15, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 2);
	/* the SQ being deleted takes no more rings */
	assert_int_equal(nvme_gate_sq_ring(&g, 1, 0), -1);
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 0x15);
	assert_int_equal(e.dw0, NVME_V_QUEUE_STATE);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x14);
	assert_true(dpoll(&iq, 1, &e)); /* the read: aborted by the deletion */
	assert_int_equal(e.cid, 0x60);
	assert_int_equal((e.status >> 1) & 0xff, NVME_SC_ABORT_SQ_DELETED);
	assert_int_equal(g.sq[1].state, NVME_GQ_FREE);
	c = delete_q(NVME_ADM_DELETE_CQ, 0x16, 1);
	admin_ok(c);
	assert_int_equal(g.cq[1].state, NVME_GQ_FREE);
	assert_int_equal(gt.g[0].pins, ring_pins);
	assert_int_equal(gt.g[io_slot].pins, 0); /* I/O rings let go */
	assert_int_equal(f->shadow_allocs, base_allocs);
	/* no kernel memory for a shadow: an error completion, no create */
	f->fail_alloc_after = (int)f->shadow_allocs;
	c = create_cq(0x17, 1, 8, A + MIB, 0);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.dw0, NVME_V_GATE_NO_MEMORY);
	assert_false(pol.cq_live & (1u << 1));
	f->fail_alloc_after = -1;
}

/* a refusal the gate made itself for the command with CID cid: reason v */
static void expect_refused(struct dq *q, uint16_t qid, uint16_t cid,
			   enum nvme_verdict v)
{
	struct nvme_cqe e;
	assert_true(dpoll(q, qid, &e));
	assert_int_equal(e.cid, cid);
	assert_int_equal(e.dw0, v);
}

/* A queue command while the device still holds the last one on the same
 * queue id: the policy's live bits already say "exists" (set at the
 * create) or "gone" (cleared at the delete), so only the gate's queue
 * states refuse deleting a queue whose create is pending, or creating a CQ
 * whose delete is (mutation testing: each of those three refusals turned
 * into acceptance passed every test). */
static void t_queue_cmd_while_pending(void **s)
{
	(void)s;
	unsigned base_allocs = f->shadow_allocs;
	uint32_t io_pins = gt.g[io_slot].pins;
	struct nvme_sqe c = create_cq(0x200, 2, 8, A + MIB, 0);
	submit(&adq, c);
	submit(&adq, delete_q(NVME_ADM_DELETE_CQ, 0x201, 2));
	submit(&adq, create_sq(0x202, 2, 8, A + MIB + 0x80000, 2));
	assert_int_equal(
	    nvme_gate_sq_ring(
		&g, 0, submit(&adq, delete_q(NVME_ADM_DELETE_SQ, 0x203, 2))),
	    4);
	expect_refused(&adq, 0, 0x201, NVME_V_QUEUE_STATE);
	expect_refused(&adq, 0, 0x203, NVME_V_QUEUE_STATE);
	assert_int_equal(fake_nvme_step(f), 2);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 2);
	expect_ok(&adq, 0, 0x200);
	expect_ok(&adq, 0, 0x202);
	assert_int_equal(g.cq[2].state, NVME_GQ_LIVE);
	assert_int_equal(g.sq[2].state, NVME_GQ_LIVE);
	assert_true(f->cq[2].live && f->sq[2].live);
	admin_ok(delete_q(NVME_ADM_DELETE_SQ, 0x204, 2));
	assert_int_equal(g.sq[2].state, NVME_GQ_FREE);
	/* a second CQ 2 while the device deletes the first */
	submit(&adq, delete_q(NVME_ADM_DELETE_CQ, 0x205, 2));
	c = create_cq(0x206, 2, 8, A + MIB + 0x90000, 0);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 2);
	expect_refused(&adq, 0, 0x206, NVME_V_QUEUE_STATE);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x205);
	assert_int_equal(g.cq[2].state, NVME_GQ_FREE);
	assert_false(pol.cq_live & (1u << 2));
	assert_int_equal(gt.g[io_slot].pins, io_pins);
	assert_int_equal(f->shadow_allocs, base_allocs);
}

/* a Delete I/O SQ the device fails leaves the SQ live in the gate: the
 * driver still owns it and may ring it or delete it again (mutation
 * testing: with the failure branch's state change deleted, the SQ stayed
 * "deleting" and every test passed) */
static void t_delete_sq_device_fails(void **s)
{
	(void)s;
	admin_ok(create_cq(0x220, 2, 8, A + MIB, 0));
	admin_ok(create_sq(0x221, 2, 8, A + MIB + 0x80000, 2));
	f->next_status = (uint16_t)(NVME_SC_INTERNAL << 1);
	struct nvme_sqe c = delete_q(NVME_ADM_DELETE_SQ, 0x222, 2);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	assert_int_equal(g.sq[2].state, NVME_GQ_DELETING);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	struct nvme_cqe e;
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 0x222);
	assert_int_equal(e.status >> 1, NVME_SC_INTERNAL); /* the device's */
	assert_int_equal(g.sq[2].state, NVME_GQ_LIVE);
	assert_true(pol.sq_live & (1u << 2));
}

/* The gate's own queue size cap, whatever the policy allows: an I/O queue
 * of more than NVME_GATE_QSIZE_MAX entries, or of 65536 (which a 16-bit
 * size holds as 0), is refused (mutation testing: without the gate's
 * check every test passed; the policy's qsize_max is what stopped them) */
static void t_gate_qsize_cap(void **s)
{
	(void)s;
	pol.qsize_max = 65536; /* as CAP.MQES allows */
	struct nvme_sqe c =
	    create_cq(0x210, 1, NVME_GATE_QSIZE_MAX + 1, A + MIB, 0);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	expect_refused(&adq, 0, 0x210, NVME_V_QUEUE_SIZE);
	c = create_cq(0x211, 1, 65536, A + MIB, 0);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	expect_refused(&adq, 0, 0x211, NVME_V_QUEUE_SIZE);
	assert_int_equal(g.cq[1].state, NVME_GQ_FREE);
	assert_false(pol.cq_live & (1u << 1));
	assert_int_equal(fake_nvme_step(f), 0);
	/* the cap itself is a queue */
	admin_ok(create_cq(0x212, 1, NVME_GATE_QSIZE_MAX, A + MIB, 0));
	assert_int_equal(g.cq[1].size, NVME_GATE_QSIZE_MAX);
}

static void t_abort_translate(void **s)
{
	(void)s;
	make_ioq(8);
	struct nvme_sqe c = cmd(NVME_IO_READ, 0x55);
	c.nsid = 1;
	c.prp1 = A + 0x60000;
	submit(&iq, c);
	c.cdw0 = NVME_IO_READ | (0x56u << 16);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, submit(&iq, c)), 2);
	c = cmd(NVME_ADM_ABORT, 0x20);
	c.cdw10 = 1 | (0x56u << 16);
	submit(&adq, c);
	c = cmd(NVME_ADM_ABORT, 0x21);
	c.cdw10 = 1 | (0x99u << 16); /* no such command */
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 2);
	unsigned before = f->nlog;
	assert_int_equal(fake_nvme_step(f), 4);
	int seen = 0;
	for (unsigned i = before; i < f->nlog; i++) {
		if (nvme_sqe_opc(&f->log[i]) != NVME_ADM_ABORT)
			continue;
		uint16_t cid = (uint16_t)(f->log[i].cdw10 >> 16);
		if (seen++ == 0)
			assert_int_equal(cid, 1); /* 0x56 is tag 1 */
		else
			assert_int_equal(cid, NVME_GATE_CID_NONE);
	}
	assert_int_equal(seen, 2);
}

/* The driver aborts a CID it has nowhere outstanding on the admin SQ while
 * the kernel's own command is on the device. The gate must send the device
 * an Abort that names nothing: before, it wrote FFFEh, which is the last of
 * the kernel's own CIDs (NVME_GATE_KCID_BASE + NVME_GATE_KCIDS - 1), so
 * every 63rd kernel command could be aborted by any driver that guessed
 * nothing at all. Now FFFFh, which no command carries. */
static void t_abort_spares_kcmd(void **s)
{
	(void)s;
	struct nvme_sqe k = cmd(NVME_ADM_KEEP_ALIVE, 0);
	struct nvme_cqe e;
	/* the kernel's CIDs take turns: bring the next one to the last */
	for (unsigned i = 0; i < NVME_GATE_KCIDS - 1; i++) {
		assert_int_equal(nvme_gate_kcmd_submit(&g, &k), 0);
		assert_int_equal(fake_nvme_step(f), 1);
		assert_true(nvme_gate_kcmd_poll(&g, &e));
	}
	assert_int_equal(nvme_gate_kcmd_submit(&g, &k), 0);
	assert_int_equal(fake_nvme_fetch(f, 0, 1), 1); /* on the device */
	const uint16_t kcid = nvme_sqe_cid(&f->infl[0].c);
	assert_int_equal(kcid, NVME_GATE_KCID_BASE + NVME_GATE_KCIDS - 1);
	/* the driver's Abort of SQ 0, CID 0x77: nothing of the driver's */
	struct nvme_sqe a = cmd(NVME_ADM_ABORT, 0x40);
	a.cdw10 = 0 | (0x77u << 16);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, a)), 1);
	assert_int_equal(fake_nvme_fetch(f, 0, 1), 1);
	assert_int_equal(nvme_sqe_opc(&f->infl[1].c), NVME_ADM_ABORT);
	const uint16_t target = (uint16_t)(f->infl[1].c.cdw10 >> 16);
	/* the device runs the Abort first, then the kernel's command */
	assert_true(fake_nvme_complete(f, 1, 0, false, false));
	assert_true(fake_nvme_complete(f, 0, 0, false, false));
	assert_true(nvme_gate_kcmd_poll(&g, &e));
	assert_int_equal(e.cid, kcid);
	assert_int_equal(nvme_cqe_sc(&e), NVME_SC_SUCCESS); /* not aborted */
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 0x40);
	assert_int_equal(e.dw0 & 1, 1);	  /* the device aborted nothing */
	assert_int_equal(target, 0xffff); /* a CID no command carries */
}

/* A reset that delivers what the device finished (nvme_gate_stop, then
 * reap, then nvme_gate_drop_all). The driver has not consumed two
 * completions in its CQ and the device posted two more into the shadow CQ,
 * more than the driver's CQ has room for: the stopped gate delivers them
 * in the device's order as the driver makes room, writes no doorbell to
 * the stopped controller and hands it nothing new. */
static void t_stop_reaps_posted(void **s)
{
	(void)s;
	make_ioq(4);
	submit_flushes(&iq, 2, 0x500);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 2);
	assert_int_equal(fake_nvme_step(f), 2);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 2); /* not consumed */
	submit_flushes(&iq, 2, 0x502);
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), 2);
	assert_int_equal(fake_nvme_step(f), 2); /* in the shadow CQ */
	/* the controller stops */
	nvme_gate_stop(&g);
	uint64_t dbs = f->ndoorbells;
	uint64_t accepted = g.stats.n[NVME_V_ACCEPT];
	struct nvme_sqe k = cmd(NVME_ADM_IDENTIFY, 0);
	assert_int_equal(nvme_gate_kcmd_submit(&g, &k), -1);
	submit(&iq, flush(0x504));
	assert_int_equal(nvme_gate_sq_ring(&g, 1, iq.tail), -1);
	/* room for one: the earlier of the two */
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0); /* the driver's CQ is
							* full */
	expect_ok(&iq, 1, 0x500);
	expect_ok(&iq, 1, 0x501);
	expect_ok(&iq, 1, 0x502);
	struct nvme_cqe e;
	assert_false(dpoll(&iq, 1, &e));
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 1);
	expect_ok(&iq, 1, 0x503);
	assert_false(dpoll(&iq, 1, &e));
	assert_int_equal(nvme_gate_cq_reap(&g, 1), 0);
	/* nothing reached the stopped device: no doorbell, no entry taken */
	assert_int_equal(f->ndoorbells, dbs);
	assert_int_equal(g.stats.n[NVME_V_ACCEPT], accepted);
	assert_int_equal(fake_nvme_step(f), 0);
	assert_int_equal(g.sq[1].nbusy, 0);
	/* the reset ends: queues and shadows go, the gate takes a new admin
	 * queue */
	nvme_gate_drop_all(&g);
	assert_int_equal(f->shadow_allocs, 0);
	uint64_t asq, acq;
	assert_int_equal(
	    nvme_gate_admin_open(&g, adq.sq, adq.cq, ADMQ, &asq, &acq), 0);
	fake_nvme_reset(f);
	fake_nvme_admin(f, asq, acq, ADMQ);
	adq.tail = adq.head = 0;
	memset((void *)(uintptr_t)adq.cq, 0, ADMQ * 16);
	adq.phase = 1;
	admin_ok(cmd(NVME_ADM_KEEP_ALIVE, 0x600));
	assert_true(f->ndoorbells > dbs);
}

/* what the broker's stop deletes itself (nvme_gate_live_ioqs,
 * kernel/authority/nvme_broker.c + broker_halt_delete): each live SQ, and
 * each live CQ but one an SQ whose create or delete is unanswered posts to
 * (the device may hold that SQ, and refuses to delete a CQ an SQ uses:
 * 0Ch, which would end the broker's deletes); none once stopped */
static void live_is(uint64_t want_sqs, uint64_t want_cqs)
{
	uint64_t sqs = ~0ull, cqs = ~0ull;
	nvme_gate_live_ioqs(&g, &sqs, &cqs);
	assert_int_equal(sqs, want_sqs);
	assert_int_equal(cqs, want_cqs);
}

static void t_live_ioqs(void **s)
{
	(void)s;
	live_is(0, 0);
	make_ioq(4);
	live_is(0x2, 0x2);
	admin_ok(create_cq(0x110, 2, 4, A + MIB + 0x80000, 0));
	live_is(0x2, 0x6);
	/* SQ 2's create on the device, unanswered: CQ 2 left out */
	struct nvme_sqe c = create_sq(0x111, 2, 4, A + MIB + 0x90000, 2);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	live_is(0x2, 0x2);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x111);
	live_is(0x6, 0x6);
	/* the driver deletes SQ 1: neither it nor CQ 1 until answered */
	c = delete_q(NVME_ADM_DELETE_SQ, 0x112, 1);
	assert_int_equal(nvme_gate_sq_ring(&g, 0, submit(&adq, c)), 1);
	live_is(0x4, 0x4);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x112);
	live_is(0x4, 0x6); /* CQ 1 alone, no SQ on it */
	nvme_gate_stop(&g);
	live_is(0, 0);
}

static void t_kcmd(void **s)
{
	(void)s;
	uint8_t *buf = aligned_alloc(4096, 4096);
	struct nvme_sqe c = cmd(NVME_ADM_IDENTIFY, 0x1234);
	c.cdw10 = NVME_CNS_CTRL;
	c.prp1 = (uint64_t)(uintptr_t)buf;
	f->touch = NULL; /* kernel memory: not the oracle's business */
	assert_int_equal(nvme_gate_kcmd_submit(&g, &c), 0);
	assert_int_equal(nvme_gate_kcmd_submit(&g, &c), -1); /* one at once */
	struct nvme_cqe e;
	assert_false(nvme_gate_kcmd_poll(&g, &e));
	assert_int_equal(fake_nvme_step(f), 1);
	assert_true(nvme_gate_kcmd_poll(&g, &e));
	/* the CID the device saw, in the kernel's range */
	assert_int_equal(e.cid, nvme_sqe_cid(&f->log[f->nlog - 1]));
	assert_true(e.cid >= NVME_GATE_KCID_BASE);
	assert_int_equal(((struct nvme_id_ctrl *)buf)->mdts, 5);
	assert_false(dpoll(&adq, 0, &e)); /* the driver saw nothing */
	/* the driver's first command still starts at its slot 0 */
	f->touch = oracle;
	assert_int_equal(
	    nvme_gate_sq_ring(&g, 0, submit(&adq, cmd(NVME_ADM_KEEP_ALIVE, 9))),
	    1);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	assert_true(dpoll(&adq, 0, &e));
	assert_int_equal(e.cid, 9);
	assert_int_equal(e.sqhd, 1);
	/* kernel CIDs take turns and never FFFFh, which the Error
	 * Information log page uses for "no particular command" */
	f->touch = NULL;
	uint16_t first = 0;
	for (unsigned i = 0; i < 3 * NVME_GATE_KCIDS; i++) {
		assert_int_equal(nvme_gate_kcmd_submit(&g, &c), 0);
		assert_int_equal(fake_nvme_step(f), 1);
		assert_true(nvme_gate_kcmd_poll(&g, &e));
		assert_true(e.cid >= NVME_GATE_KCID_BASE && e.cid != 0xffff);
		if (i == 0)
			first = e.cid;
		else if (i % NVME_GATE_KCIDS == 0)
			assert_int_equal(e.cid, first); /* a full turn */
		else
			assert_int_not_equal(e.cid, first);
	}
	f->touch = oracle;
	free(buf);
	char js[4096];
	struct json j;
	json_init(&j, js, sizeof(js));
	nvme_gate_json(&g, &j);
	int n = json_end(&j);
	assert_true(n > 0 && json_valid(js, (size_t)n));
	assert_non_null(strstr(js, "\"accept\":1"));
	assert_non_null(strstr(js, "\"sq\":0"));
}

/* a driver that does not consume its admin CQ: n Keep Alives (CIDs 0x700
 * on) rung one at a time, answered and reaped into it, left unread */
static void admin_unread(uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		submit(&adq, cmd(NVME_ADM_KEEP_ALIVE, (uint16_t)(0x700 + i)));
		assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), 1);
		assert_int_equal(fake_nvme_step(f), 1);
		assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	}
}

/* the driver reads those at last (or n it rang at once): each answered
 * once, in order */
static void admin_read_unread(uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		expect_ok(&adq, 0, (uint16_t)(0x700 + i));
}

/* A kernel command finds no shadow admin SQ slot when the device's SQ
 * head never moved: the driver filled the ring while an earlier kernel
 * command held the reserve, and the device completed everything with SQHD
 * 0 (a head at the last one is taken, so the slots stay the device's).
 * nvme_gate_kcmd_submit must refuse: a copy into the last free slot would
 * move the tail onto the head, and the device would read the ring as
 * empty (mutation testing: without the full-ring check every test passed) */
static void t_kcmd_sq_full(void **s)
{
	(void)s;
	struct nvme_sqe k = cmd(NVME_ADM_KEEP_ALIVE, 0);
	assert_int_equal(nvme_gate_kcmd_submit(&g, &k), 0);
	/* no reserve while the kernel's command is out: 14 of the driver's
	 * fill the 15 usable slots of the 16 */
	for (uint16_t i = 0; i < ADMQ - 2; i++)
		submit(&adq, cmd(NVME_ADM_KEEP_ALIVE, (uint16_t)(0x700 + i)));
	assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), ADMQ - 2);
	assert_int_equal(g.sq[0].sh_tail, ADMQ - 1);
	assert_int_equal(fake_nvme_step(f), ADMQ - 1);
	struct nvme_cqe *sh = (struct nvme_cqe *)g.cq[0].shadow.va;
	for (unsigned i = 0; i < ADMQ - 1; i++)
		sh[i].sqhd = 0;
	assert_int_equal(nvme_gate_cq_reap(&g, 0), ADMQ - 2);
	admin_read_unread(ADMQ - 2);
	struct nvme_cqe e;
	assert_true(nvme_gate_kcmd_poll(&g, &e));
	assert_int_equal(g.sq[0].sh_head, 0);
	uint32_t db = f->db[0];
	assert_int_equal(db, ADMQ - 1);
	assert_int_equal(nvme_gate_kcmd_submit(&g, &k), -1);
	assert_false(nvme_gate_kcmd_pending(&g));
	assert_int_equal(g.sq[0].sh_tail, ADMQ - 1);
	assert_int_equal(f->db[0], db);
	assert_int_equal(fake_nvme_step(f), 0);
}

/* A kernel command's completion needs no slot in the driver's CQ: the
 * reap takes it when it reaches the shadow head even while the driver's
 * admin CQ is full, and what is behind it waits for room, in order. The
 * driver never consumes: 14 Keep Alives answered, then D1, the kernel's
 * Keep Alive and D2 on the device in that order; D1 fills the driver's
 * CQ. Before, the reap stopped at the full CQ with the kernel's answer
 * next in the shadow, and the kernel's command waited for the driver
 * (the broker's BROKER_KCMD_US timeout) */
static void t_kcmd_driver_cq_full(void **s)
{
	(void)s;
	admin_unread(ADMQ - 2);
	submit(&adq, cmd(NVME_ADM_KEEP_ALIVE, 0x7d1));
	assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), 1);
	struct nvme_sqe k = cmd(NVME_ADM_KEEP_ALIVE, 0);
	assert_int_equal(nvme_gate_kcmd_submit(&g, &k), 0);
	submit(&adq, cmd(NVME_ADM_KEEP_ALIVE, 0x7d2));
	assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), 1);
	assert_int_equal(fake_nvme_step(f), 3);
	struct nvme_cqe e;
	assert_true(nvme_gate_kcmd_poll(&g, &e));
	assert_true(e.cid >= NVME_GATE_KCID_BASE);
	assert_int_equal(nvme_cqe_sc(&e), NVME_SC_SUCCESS);
	assert_false(nvme_gate_kcmd_pending(&g));
	/* D2 is still the device's answer in the shadow, behind nothing */
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 0);
	admin_read_unread(ADMQ - 2);
	expect_ok(&adq, 0, 0x7d1);
	assert_false(dpoll(&adq, 0, &e));
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, 0x7d2);
	assert_false(dpoll(&adq, 0, &e));
	/* and the next kernel command goes as usual */
	assert_int_equal(nvme_gate_kcmd_submit(&g, &k), 0);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_true(nvme_gate_kcmd_poll(&g, &e));
}

/* ... nor when it is behind a driver completion waiting for room: the
 * driver never consumes, 14 - nk Keep Alives answered, then nk + 1 driver
 * Keep Alives and nk kernel ones on the device; the driver's nk-th fills
 * its admin CQ and the last waits. Each kernel answer is taken from
 * behind it (gate_kcmd_ahead keeps every slot it took, kcmd_early), the
 * reap passes over their slots later (nothing counted bad), the waiting
 * one reaches the driver once it makes room, and the next kernel command
 * goes. Before, the reap stopped at the waiting completion and the kernel's
 * command waited for the driver (the broker's BROKER_KCMD_US timeout);
 * then only the first kernel answer was taken early (fuzz_gate_seq's
 * gate_kpoll oracle found the second waiting) */
static void kcmds_behind_driver_cqe(unsigned nk)
{
	const uint16_t cid0 = 0x7d0;
	admin_unread(ADMQ - 1 - nk);
	for (unsigned i = 0; i <= nk; i++)
		submit(&adq, cmd(NVME_ADM_KEEP_ALIVE, (uint16_t)(cid0 + i)));
	assert_int_equal(nvme_gate_sq_ring(&g, 0, adq.tail), nk + 1);
	struct nvme_sqe k = cmd(NVME_ADM_KEEP_ALIVE, 0);
	struct nvme_cqe e;
	for (unsigned n = 0; n < nk; n++) {
		assert_int_equal(nvme_gate_kcmd_submit(&g, &k), 0);
		assert_true(fake_nvme_step(f) >= 1);
		assert_true(nvme_gate_kcmd_poll(&g, &e));
		assert_true(e.cid >= NVME_GATE_KCID_BASE);
		assert_int_equal(nvme_cqe_sc(&e), NVME_SC_SUCCESS);
		assert_false(nvme_gate_kcmd_pending(&g));
		assert_false(nvme_gate_kcmd_poll(&g, &e)); /* answered once */
		/* the last driver completion waits at the shadow head */
		assert_int_equal(g.cq[0].stale, n + 1);
	}
	admin_read_unread(ADMQ - 1 - nk);
	for (unsigned i = 0; i < nk; i++)
		expect_ok(&adq, 0, (uint16_t)(cid0 + i));
	assert_false(dpoll(&adq, 0, &e));
	assert_int_equal(nvme_gate_cq_reap(&g, 0), 1);
	expect_ok(&adq, 0, (uint16_t)(cid0 + nk));
	assert_false(dpoll(&adq, 0, &e));
	assert_int_equal(g.dev_bad_cqe, 0);
	assert_int_equal(g.dev_bad_sqhd, 0);
	assert_int_equal(g.cq[0].stale, 0);
	/* and the next kernel command goes as usual */
	assert_int_equal(nvme_gate_kcmd_submit(&g, &k), 0);
	assert_int_equal(fake_nvme_step(f), 1);
	assert_true(nvme_gate_kcmd_poll(&g, &e));
}

static void t_kcmd_behind_driver_cqe(void **s)
{
	(void)s;
	kcmds_behind_driver_cqe(1);
}

static void t_kcmds_behind_driver_cqe(void **s)
{
	(void)s;
	kcmds_behind_driver_cqe(2);
}

/* Delete I/O SQ or CQ naming the admin queue (0) or an id past the
 * gate's table (NVME_VAL_MAX_QID, the 16-bit field's last) is refused,
 * nothing reaches the device and the admin queue goes on working. The
 * validator refuses them first (val_delete_q), so gate_admin_pre's own
 * refusal of the same ids is a second line no input reaches: its mutants
 * survive this test (equivalent) */
static void t_delete_qid_outside(void **s)
{
	(void)s;
	const uint16_t qids[] = {0, NVME_VAL_MAX_QID, 0xffff};
	uint16_t cid = 0x600;
	for (unsigned i = 0; i < 3; i++) {
		submit(&adq, delete_q(NVME_ADM_DELETE_SQ, cid, qids[i]));
		assert_int_equal(
		    nvme_gate_sq_ring(&g, 0,
				      submit(&adq, delete_q(NVME_ADM_DELETE_CQ,
							    cid + 1, qids[i]))),
		    2);
		expect_refused(&adq, 0, cid, NVME_V_QUEUE_ID_NOT_GRANTED);
		expect_refused(&adq, 0, cid + 1, NVME_V_QUEUE_ID_NOT_GRANTED);
		cid = (uint16_t)(cid + 2);
	}
	assert_int_equal(fake_nvme_step(f), 0);
	assert_int_equal(g.sq[0].state, NVME_GQ_LIVE);
	assert_int_equal(g.cq[0].state, NVME_GQ_LIVE);
	admin_ok(cmd(NVME_ADM_KEEP_ALIVE, 0x610));
}

static void t_admin_open_checks(void **s)
{
	(void)s;
	struct nvme_gate g2;
	struct nvme_val_policy p2 = pol;
	struct nvme_gate_env env;
	fake_nvme_env(f, &env);
	/* the gate copies and checks in 4 KiB pages only, and calls every
	 * env hook without testing it: init refuses anything else */
	p2.page_shift = 13;
	assert_int_equal(nvme_gate_init(&g2, &env, &p2), -1);
	p2.page_shift = 12;
	struct nvme_gate_env bad = env;
	bad.doorbell = NULL;
	assert_int_equal(nvme_gate_init(&g2, &bad, &p2), -1);
	bad = env;
	bad.shadow_free = NULL;
	assert_int_equal(nvme_gate_init(&g2, &bad, &p2), -1);
	assert_int_equal(nvme_gate_init(&g2, NULL, &p2), -1);
	assert_int_equal(nvme_gate_init(&g2, &env, &p2), 0);
	uint64_t a, b;
	assert_int_equal(
	    nvme_gate_admin_open(&g2, A + 8, A + 0x1000, 16, &a, &b),
	    -1); /* not page aligned */
	assert_int_equal(
	    nvme_gate_admin_open(&g2, A + 3 * MIB, A + 0x1000, 16, &a, &b),
	    -1); /* not the owner's */
	assert_int_equal(nvme_gate_admin_open(&g2, A, A + 3 * MIB, 16, &a, &b),
			 -1); /* the CQ ring not the owner's */
	assert_int_equal(nvme_gate_admin_open(&g2, A, A + 0x1000, 1, &a, &b),
			 -1);
	assert_int_equal(nvme_gate_admin_open(&g2, A, A + 0x1000, 4097, &a, &b),
			 -1);
	/* a stopped gate (a reset in progress) opens nothing until the
	 * reset's drop_all */
	nvme_gate_stop(&g2);
	assert_int_equal(nvme_gate_admin_open(&g2, A, A + 0x1000, 4, &a, &b),
			 -1);
	nvme_gate_drop_all(&g2);
	assert_int_equal(nvme_gate_admin_open(&g2, A, A + 0x1000, 4, &a, &b),
			 0);
	nvme_gate_drop_all(&g2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(t_identify, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_reject_completes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_toctou, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_toctou_chained_list, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_cq_phase_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_cq_head_coalesced, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_cq_full_unblock, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_doorbell_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_tags_stall, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_stale_after_delete, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_hostile_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_dup_after_tag_reuse, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_tag_round_robin, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_device_wrong_cq, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_ring_pool_revoke, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_revoked_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_small_queue_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_abort_no_loss, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_stale_forged_not_counted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_forged_before_cq_live_counted,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(t_deleted_sq_slots, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_deleted_sq_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_delete_keeps_device_status, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_delete_duplicate_first_wins,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(t_gate_made_interrupts, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_stale_counted_once, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_sq_gen_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_lying_create_cq, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_forged_cid_ffff, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_shadow_quota, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_shadow_withheld_stays_charged,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(t_pins, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_create_fail_delete, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_abort_translate, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_abort_spares_kcmd, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_queue_cmd_while_pending, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_gate_qsize_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_drain_all_tags, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_shadow_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_delete_sq_device_fails, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_kcmd, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_stop_reaps_posted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_live_ioqs, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_kcmd_sq_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_kcmd_behind_driver_cqe, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_kcmds_behind_driver_cqe, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_kcmd_driver_cq_full, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_delete_qid_outside, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_admin_open_checks, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_device_lies_sqhd, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_device_forges_reject, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
