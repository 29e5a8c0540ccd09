/* tests/host/nvme/test_nvme_driver.c — the NVMe driver core (drivers/nvme/
 * nvme.c, nvme_q.c) on the host, against the real doorbell gate and
 * validator and a software controller (fake_broker.c): bring-up, PRP
 * construction checked by an independent walker, block I/O of every shape,
 * device garbage, timeouts and resets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_broker.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "owner_shim.h"
#include "shim.h"

static struct nvme_softc sc;

static int setup(void **state)
{
	(void)state;
	shim_quiet = getenv("NVME_TEST_VERBOSE") == NULL;
	fake_broker_init(7);
	fake_broker_softc(&sc);
	return nvme_attach(&sc);
}

static int teardown(void **state)
{
	(void)state;
	if (sc.pool.len && dma_pool_live(&sc.pool))
		nvme_detach(&sc);
	/* the block devices pointed into the controller's freed state */
	assert_int_equal(nblockdevs, 0);
	return 0;
}

static void test_attach(void **state)
{
	(void)state;
	assert_true(sc.up);
	assert_string_equal(sc.id.mn, "FAKE NVMe");
	assert_int_equal(sc.id.mdts, 5);
	assert_int_equal(sc.max_xfer, 128 * 1024);
	assert_int_equal(sc.nioq, 2);
	assert_int_equal(sc.nns, 1);
	assert_int_equal(sc.ns[0].nsid, 1);
	assert_int_equal(sc.ns[0].lba_bytes, 512);
	assert_int_equal(sc.ns[0].nsze, 2048);
	assert_int_equal(nblockdevs, 1);
	assert_string_equal(blockdevs[0]->name, "nvme0n1");
	assert_true(sc.ioq[0].live && sc.ioq[1].live);
	/* the model saw Create CQ before Create SQ for each pair */
	assert_true(fb.dev.cq[1].live && fb.dev.sq[1].live);
	assert_true(fb.dev.cq[2].live && fb.dev.sq[2].live);
	assert_int_equal(fb.gate.stats.n[NVME_V_ACCEPT] > 0, 1);
}

/* walk PRP1/PRP2/lists as the spec says, independently of nvme_prp_build,
 * and check the pages cover exactly [iova, iova+len) */
static void walk_prps(uint64_t iova, uint32_t len, uint64_t prp1, uint64_t prp2,
		      unsigned *chains)
{
	const uint64_t ps = 4096;
	assert_int_equal(prp1, iova);
	uint64_t first = ps - (iova % ps);
	if (len <= first) {
		assert_int_equal(prp2, 0);
		return;
	}
	uint64_t expect = iova + first, rem = len - first;
	if (rem <= ps) {
		assert_int_equal(prp2, expect);
		return;
	}
	assert_int_equal(prp2 % 8, 0);
	const uint64_t *l = (const uint64_t *)(uintptr_t)prp2;
	while (rem) {
		if (((uintptr_t)l % ps) == ps - 8 && rem > ps) {
			assert_int_equal(*l % ps, 0);
			l = (const uint64_t *)(uintptr_t)*l;
			(*chains)++;
			continue;
		}
		assert_int_equal(*l, expect);
		expect += ps;
		rem -= rem > ps ? ps : rem;
		l++;
	}
}

static void test_prp_shapes(void **state)
{
	(void)state;
	struct nvme_ccb *ccb = nvme_ccb_get(&sc.ioq[0]);
	struct dma_buf b;
	assert_non_null(ccb);
	assert_int_equal(nvme_buf_get(&sc, 256 * 1024, &b), 0);
	static const uint32_t offs[] = {0, 4, 512, 2048, 4092};
	static const uint32_t lens[] = {4,    512,   4096,  4097,  8192,
					8193, 12288, 65536, 131072};
	static const uint32_t loffs[] = {0, 8, 4064, 4080, 4088};
	unsigned chains = 0;
	for (unsigned o = 0; o < ARRAY_SIZE(offs); o++)
		for (unsigned l = 0; l < ARRAY_SIZE(lens); l++)
			for (unsigned k = 0; k < ARRAY_SIZE(loffs); k++) {
				uint64_t p1, p2;
				assert_int_equal(
				    nvme_prp_build(ccb, b.iova + offs[o],
						   lens[l], loffs[k], &p1, &p2),
				    0);
				walk_prps(b.iova + offs[o], lens[l], p1, p2,
					  &chains);
			}
	assert_true(chains > 0);
	/* not dword aligned: refused, nothing built */
	uint64_t p1, p2;
	assert_int_equal(nvme_prp_build(ccb, b.iova + 2, 512, 0, &p1, &p2), -1);
	nvme_buf_put(&sc, &b);
	nvme_ccb_put(ccb);
}

static uint8_t wbuf[160 * 1024], rbuf[160 * 1024];

/* one transfer through the command engine with the PRP list placed at
 * list_off in the command's list pages (near a page end: a chain) */
static void io_placed(uint8_t opc, uint64_t lba, uint32_t nblk,
		      uint32_t list_off, uint8_t *data)
{
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, nblk * 512, &b), 0);
	if (opc == NVME_IO_WRITE)
		memcpy(b.va, data, nblk * 512);
	struct nvme_io io = {.opc = opc,
			     .nsid = 1,
			     .slba = lba,
			     .nlb = nblk,
			     .iova = b.iova,
			     .len = nblk * 512,
			     .list_off = list_off};
	assert_int_equal(nvme_io_sync(&sc, &sc.ioq[lba % sc.nioq], &io, 0), 0);
	if (opc == NVME_IO_READ)
		memcpy(data, b.va, nblk * 512);
	nvme_buf_put(&sc, &b);
}

/* every size through the blockdev (list at 0) one way and through a placed
 * list the other way: each path reads what the other wrote */
static void test_block_io(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	static const uint32_t counts[] = {1, 2, 7, 8, 9, 16, 17, 24, 100, 256};
	static const uint32_t loffs[] = {0, 4064, 4088};
	for (unsigned i = 0; i < ARRAY_SIZE(counts); i++) {
		uint64_t lba = 3 + i * 13;
		uint32_t loff = loffs[i % ARRAY_SIZE(loffs)];
		for (uint32_t k = 0; k < counts[i] * 512; k++)
			wbuf[k] = (uint8_t)(k * 7 + i);
		memset(rbuf, 0, sizeof(rbuf));
		if (i & 1) {
			assert_int_equal(bd->write(bd, lba, counts[i], wbuf),
					 0);
			io_placed(NVME_IO_READ, lba, counts[i], loff, rbuf);
		} else {
			io_placed(NVME_IO_WRITE, lba, counts[i], loff, wbuf);
			assert_int_equal(bd->read(bd, lba, counts[i], rbuf), 0);
		}
		assert_memory_equal(rbuf, wbuf, counts[i] * 512);
		/* and it is on the model's disk */
		assert_memory_equal(fb.dev.disk + lba * 512, wbuf,
				    counts[i] * 512);
	}
	assert_int_equal(bd->flush(bd), 0);
	/* past the namespace: refused before anything is submitted */
	uint64_t sub = sc.ioq[0].submitted;
	assert_int_equal(bd->read(bd, 2047, 2, rbuf), -1);
	assert_int_equal(bd->read(bd, ~0ull, 2, rbuf), -1);
	assert_int_equal(sc.ioq[0].submitted, sub);
	assert_int_equal(sc.ioq[0].rejected, 0);
}

/* Command slots and bounce pages run out, and the gate refuses a ring:
 * each is -1 with nothing left behind. Every ccb of a queue taken, the
 * next nvme_ccb_get is NULL (none past the queue's nccb) and nvme_exec,
 * nvme_io_sync and nvme_io_submit on it fail unsent. A ring the gate refuses
 * (broker not enabled) gives the ccb back to its caller (HELD), the queue's
 * tail and counts as before, so the same ccb goes out once the gate takes it.
 * The arena hands out all of its pages at once, no more; nvme_io_sync hands
 * back the completion, or is given none to fill. */
static void test_out_of_slots_and_refused_ring(void **state)
{
	(void)state;
	struct nvme_queue *q = &sc.ioq[0];
	struct nvme_ccb *held[NVME_NCCB];
	assert_int_equal(q->nccb, NVME_NCCB);
	for (unsigned i = 0; i < q->nccb; i++)
		assert_non_null(held[i] = nvme_ccb_get(q));
	assert_null(nvme_ccb_get(q));
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	struct nvme_io io = fb_read(0, 8, b.iova, 4096);
	struct nvme_cqe e;
	struct nvme_sqe flush = {.cdw0 = NVME_IO_FLUSH, .nsid = 1};
	assert_int_equal(nvme_exec(&sc, q, &flush, &e, 100000), -1);
	assert_int_equal(nvme_io_sync(&sc, q, &io, &e), -1);
	assert_int_equal(nvme_io_submit(&sc, q, &io, 0, NULL), -1);
	assert_int_equal(q->submitted, 0);
	for (unsigned i = 1; i < q->nccb; i++)
		nvme_ccb_put(held[i]);
	/* the gate refuses the ring */
	struct nvme_ccb *ccb = held[0];
	assert_int_equal(nvme_io_prepare(&sc, ccb, &io), 0);
	fb.enabled = false;
	assert_int_equal(nvme_submit(&sc, q, ccb, nvme_fill_cmd, 0), -1);
	fb.enabled = true;
	assert_int_equal(ccb->state, NVME_CCB_HELD);
	assert_int_equal(q->sq_tail, 0);
	assert_int_equal(q->inflight, 0);
	assert_int_equal(q->submitted, 0);
	assert_int_equal(nvme_submit(&sc, q, ccb, nvme_fill_cmd, 0), 0);
	assert_int_equal(nvme_wait(&sc, q, ccb, NVME_IO_TIMEOUT_US), 0);
	nvme_ccb_put(ccb);
	assert_int_equal(q->completed, 1);
	/* the completion handed back, or none asked for */
	memset(&e, 0xff, sizeof(e));
	assert_int_equal(nvme_io_sync(&sc, q, &io, &e), 0);
	assert_true(nvme_cqe_ok(&e));
	assert_int_equal(e.sqid, q->id);
	assert_int_equal(nvme_io_sync(&sc, q, &io, NULL), 0);
	nvme_buf_put(&sc, &b);
	/* the whole arena at once, not a page more */
	uint32_t all = sc.arena_pages * 4096u;
	assert_int_equal(nvme_buf_get(&sc, all + 4096, &b), -1);
	assert_int_equal(nvme_buf_get(&sc, all, &b), 0);
	assert_int_equal(b.len, all);
	nvme_buf_put(&sc, &b);
}

/* a command the gate refuses comes back through the same path */
static void test_rejection(void **state)
{
	(void)state;
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	uint32_t why = 0;
	c.cdw0 = NVME_ADM_FORMAT_NVM;
	assert_int_equal(nvme_exec(&sc, &sc.admin, &c, &e, 100000), -1);
	assert_true(nvme_cqe_rejected(&e, &why));
	assert_int_equal(why, NVME_V_OPCODE_FORBIDDEN);
	assert_int_equal(sc.admin.rejected, 1);
	for (unsigned i = 0; i < fb.dev.nlog; i++)
		assert_int_not_equal(nvme_sqe_opc(&fb.dev.log[i]),
				     NVME_ADM_FORMAT_NVM);
}

static unsigned ndone, naborted, nok;
static void count_done(struct nvme_softc *s, struct nvme_ccb *ccb,
		       const struct nvme_cqe *e)
{
	(void)s;
	ndone++;
	naborted += nvme_cqe_sc(e) == NVME_SC_ABORT_SQ_DELETED;
	nok += nvme_cqe_ok(e);
	nvme_ccb_put(ccb);
}

/* commands outstanding at a reset complete exactly once: those the
 * device ran or aborted at its Delete I/O SQ (the recovery deletes the
 * I/O queues first) with its answer, the rest aborted; none otherwise.
 * The model, stalled until the reset, aborts queue 2's four at its
 * delete and runs queue 1's at its own */
static void test_reset_fails_outstanding(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096 * 8, &b), 0);
	ndone = naborted = nok = 0;
	fb.device_stalled = true;
	for (unsigned i = 0; i < 8; i++) {
		struct nvme_io r = fb_read(i, 8, b.iova + i * 4096, 4096);
		assert_int_equal(
		    nvme_io_submit(&sc, &sc.ioq[i % 2], &r, count_done, 0), 0);
	}
	nvme_complete(&sc, &sc.ioq[0]);
	assert_int_equal(ndone, 0);
	fb.device_stalled = false;
	assert_int_equal(nvme_recover(&sc, "test"), 0);
	assert_int_equal(ndone, 8);
	assert_int_equal(naborted, 4); /* queue 2's, deleted first */
	assert_int_equal(nok, 4);      /* queue 1's, run at its delete */
	assert_int_equal(sc.ioq[0].inflight + sc.ioq[1].inflight, 0);
	assert_true(sc.up);
	assert_int_equal(fb.enables, 2);
	/* and it works again */
	uint8_t blk[512];
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
	nvme_buf_put(&sc, &b);
}

/* A DMA fault revokes the owner (auth_owner_revoke) while commands are in
 * flight and both I/O queue pairs are live: the broker's hook stops the
 * controller and drops the gate's queues first, so the ring and in-flight
 * pins are gone when the pools are seized — every pool of the owner, the
 * one holding the rings included. Afterwards the driver gets errors, not
 * hangs: a read fails at once, recovery is refused (enable refused while
 * revoked), and detach gives the parked memory back. */
static void test_owner_revoked(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096 * 4, &b), 0);
	struct grant_table *t = &dma_owner_acct(sc.owner)->grants;
	ndone = naborted = 0;
	fb.device_stalled = true;
	for (unsigned i = 0; i < 4; i++) {
		struct nvme_io r = {.opc = NVME_IO_READ,
				    .nsid = 1,
				    .slba = i,
				    .nlb = 8,
				    .iova = b.iova + i * 4096,
				    .len = 4096};
		assert_int_equal(
		    nvme_io_submit(&sc, &sc.ioq[i % 2], &r, count_done, 0), 0);
	}
	nvme_complete(&sc, &sc.ioq[0]);
	assert_true(t->g[sc.pool.slot].pins > 0); /* rings and commands */
	unsigned pools = shim_owner_pools(sc.owner);
	assert_true(pools >= 1);
	/* without the broker's hook the pins would hold (host test of the
	 * authority layer: test_revoke_keeps_pinned); with it nothing stays */
	assert_int_equal(auth_owner_revoke(sc.owner, "test fault"), (int)pools);
	assert_int_equal(shim_owner_pools(sc.owner), 0);
	assert_false(dma_pool_live(&sc.pool));
	for (unsigned i = 0; i < GRANT_MAX; i++)
		assert_int_equal(t->g[i].pins, 0);
	assert_false(fb.enabled);
	assert_int_equal(fb.gate.pol->sq_live | fb.gate.pol->cq_live, 0);
	assert_int_equal(dma_owner_acct(sc.owner)->use[DMA_CHARGE_SHADOW], 0);
	/* the driver: a read fails at once, and so does recovery */
	fb.device_stalled = false;
	uint64_t t0 = shim_clock_ns;
	uint8_t blk[512];
	assert_int_not_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
	assert_true(shim_clock_ns - t0 < 1000000000ull);
	assert_int_equal(nvme_recover(&sc, "test"), -1);
	assert_false(sc.up);
	assert_int_equal(ndone, 4); /* every outstanding command answered */
	/* detach gives back the seized pool's memory through the real revoke;
	 * reinstated, the owner may attach again */
	nvme_detach(&sc);
	assert_int_equal(dma_owner_acct(sc.owner)->use[DMA_CHARGE_POOL], 0);
	assert_int_equal(auth_owner_reinstate(sc.owner), 0);
	sc.pool.len = 0;
}

/* one doorbell per burst: a plugged burst rings the gate once, callbacks
 * that resubmit share one ring per reap, and a deferred ring the gate
 * refuses fails each deferred command through its callback */
static struct dma_buf plug_buf;
static unsigned resubmit_left;
static void resubmit_done(struct nvme_softc *s, struct nvme_ccb *ccb,
			  const struct nvme_cqe *e)
{
	struct nvme_queue *q = ccb->q;
	count_done(s, ccb, e);
	if (!resubmit_left)
		return;
	resubmit_left--;
	struct nvme_io r = fb_read(100 + resubmit_left, 1, plug_buf.iova, 512);
	assert_int_equal(nvme_io_submit(s, q, &r, count_done, 0), 0);
}

static void test_plug(void **state)
{
	(void)state;
	struct nvme_queue *q = &sc.ioq[0];
	assert_int_equal(nvme_buf_get(&sc, 4096 * 8, &plug_buf), 0);
	struct nvme_io r = fb_read(0, 8, plug_buf.iova, 4096);
	/* a plugged burst of 8: one ring */
	ndone = naborted = 0;
	uint64_t kicks = q->kicks;
	nvme_q_plug(q);
	for (unsigned i = 0; i < 8; i++) {
		r.slba = i * 8;
		assert_int_equal(nvme_io_submit(&sc, q, &r, count_done, 0), 0);
	}
	assert_int_equal(q->kicks, kicks);
	nvme_q_unplug(&sc, q);
	assert_int_equal(q->kicks, kicks + 1);
	while (ndone < 8)
		assert_true(nvme_complete(&sc, q) > 0);
	assert_int_equal(naborted, 0);
	/* 4 completions whose callbacks resubmit: one ring for the 4 */
	ndone = 0;
	for (unsigned i = 0; i < 4; i++) {
		r.slba = 64 + i * 8;
		assert_int_equal(nvme_io_submit(&sc, q, &r, resubmit_done, 0),
				 0);
	}
	kicks = q->kicks;
	resubmit_left = 4;
	/* the model runs all 4 at the reap: they complete together; the
	 * poll is due for its deadline scan, which must not count the
	 * commands the callbacks just submitted as overdue */
	shim_clock_ns += 2ull * NVME_DEADLINE_CHECK_US * 1000;
	assert_int_equal(nvme_poll(&sc, q), 4);
	assert_int_equal(q->kicks, kicks + 1);
	assert_int_equal(q->timeouts, 0);
	assert_int_equal(sc.resets, 0);
	while (ndone < 8)
		nvme_complete(&sc, q);
	assert_int_equal(naborted, 0);
	/* the gate refuses the deferred ring: every deferred command fails
	 * through its callback, the tail goes back, nothing stays in flight */
	ndone = naborted = 0;
	uint16_t tail = q->sq_tail;
	nvme_q_plug(q);
	for (unsigned i = 0; i < 3; i++) {
		r.slba = i * 8;
		assert_int_equal(nvme_io_submit(&sc, q, &r, count_done, 0), 0);
	}
	fb.enabled = false;
	nvme_q_unplug(&sc, q);
	fb.enabled = true;
	assert_int_equal(ndone, 3);
	assert_int_equal(naborted, 3);
	assert_int_equal(q->sq_tail, tail);
	assert_int_equal(q->inflight, 0);
	/* and the queue still works */
	uint8_t blk[512];
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
	nvme_buf_put(&sc, &plug_buf);
}

/* nvme_wait on a plugged queue: a command of the waiter's own that is
 * deferred is rung by the wait (else it would time out unseen, be refused
 * its Abort and reset the controller); one rung before the plug is waited
 * on without ringing what the plug still defers */
static void test_wait_rings_own_deferred(void **state)
{
	(void)state;
	struct nvme_queue *q = &sc.ioq[0];
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 8192, &b), 0);
	struct nvme_io r = fb_read(0, 8, b.iova, 4096);
	struct nvme_ccb *first = nvme_ccb_get(q);
	assert_int_equal(nvme_io_prepare(&sc, first, &r), 0);
	assert_int_equal(nvme_submit(&sc, q, first, nvme_fill_cmd, 0), 0);
	nvme_q_plug(q);
	r.slba = 8;
	r.iova = b.iova + 4096;
	struct nvme_ccb *second = nvme_ccb_get(q);
	assert_int_equal(nvme_io_prepare(&sc, second, &r), 0);
	assert_int_equal(nvme_submit(&sc, q, second, nvme_fill_cmd, 0), 0);
	assert_true(second->unrung);
	uint64_t kicks = q->kicks;
	assert_int_equal(nvme_wait(&sc, q, first, NVME_IO_TIMEOUT_US), 0);
	assert_int_equal(q->kicks, kicks);
	assert_true(second->unrung);
	assert_int_equal(nvme_wait(&sc, q, second, NVME_IO_TIMEOUT_US), 0);
	assert_int_equal(q->kicks, kicks + 1);
	nvme_q_unplug(&sc, q);
	assert_int_equal(q->kicks, kicks + 1);
	assert_int_equal(q->timeouts, 0);
	assert_int_equal(sc.aborts, 0);
	assert_int_equal(sc.resets, 0);
	nvme_ccb_put(first);
	nvme_ccb_put(second);
	nvme_buf_put(&sc, &b);
}

/* The driver's MSI-X handlers by vector, bound as nvme_pci.c binds them
 * (admin on 0, I/O queue i on i + 1): what the gate delivers for the
 * completions it posts itself (env.interrupt) runs them, as irq_raise does
 * in the kernel. */
static struct nvme_queue *irq_q[1 + NVME_IOQ_MAX];
static void fb_irq(void *ctx, uint16_t iv)
{
	(void)ctx;
	if (iv <= NVME_IOQ_MAX && irq_q[iv])
		nvme_intr(irq_q[iv]);
}

static int setup_irq(void **state)
{
	(void)state;
	shim_quiet = getenv("NVME_TEST_VERBOSE") == NULL;
	fake_broker_init(7);
	fake_broker_softc(&sc);
	sc.use_irq = true;
	irq_q[0] = &sc.admin;
	for (unsigned i = 0; i < NVME_IOQ_MAX; i++)
		irq_q[i + 1] = &sc.ioq[i];
	for (unsigned v = 0; v <= NVME_IOQ_MAX; v++) {
		irq_q[v]->irq_bound = true;
		irq_q[v]->irq.msix_index = (uint16_t)v;
	}
	fb.dev.gate_irq = fb_irq;
	return nvme_attach(&sc);
}

static struct nvme_ccb *chained;
/* a Read's callback submits `chained` (plugged: it is rung when that
 * nvme_complete unplugs) */
static void chain_done(struct nvme_softc *s, struct nvme_ccb *ccb,
		       const struct nvme_cqe *e)
{
	struct nvme_queue *q = ccb->q;
	count_done(s, ccb, e);
	assert_int_equal(nvme_submit(s, q, chained, nvme_fill_cmd, 0), 0);
}

/* A command submitted by a completion callback and rejected by the gate:
 * its rejection lands in the driver's CQ when the waiter's nvme_complete
 * unplugs, after that call looked at the CQ. No device interrupt announces
 * it; the gate's does (the CQ's vector, once), so the wait looks again at
 * once instead of idling until its 1 ms fallback (the shim's clock is
 * virtual: the test measures it). */
static void test_gate_made_completion_irq(void **state)
{
	(void)state;
	struct nvme_queue *q = &sc.ioq[0];
	struct dma_buf buf;
	assert_int_equal(nvme_buf_get(&sc, 4096, &buf), 0);
	struct nvme_io r = fb_read(0, 8, buf.iova, 4096);
	chained = nvme_ccb_get(q);
	assert_non_null(chained);
	chained->cmd.cdw0 = 0x7f; /* an I/O opcode the validator refuses */
	chained->cmd.nsid = 1;
	ndone = naborted = 0;
	assert_int_equal(nvme_io_submit(&sc, q, &r, chain_done, 0), 0);
	uint64_t irqs = q->irqs, t0 = shim_clock_ns;
	assert_int_equal(nvme_wait(&sc, q, chained, NVME_IO_TIMEOUT_US), -1);
	uint64_t waited_ns = shim_clock_ns - t0;
	if (waited_ns >= 1000000)
		fail_msg("the wait idled %llu us: its 1 ms fallback",
			 (unsigned long long)waited_ns / 1000);
	assert_int_equal(ndone, 1);
	uint32_t why = 0;
	assert_true(nvme_cqe_rejected(&chained->cqe, &why));
	assert_int_equal(why, NVME_V_OPCODE_FORBIDDEN);
	assert_int_equal(q->irqs, irqs + 1);
	assert_int_equal(fb.dev.gate_irqs[1], 1);
	nvme_ccb_put(chained);
	nvme_buf_put(&sc, &buf);
}

/* the block interface: every wait mode moves the same data, and a
 * request's pieces use every I/O queue */
static void test_block_modes(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	for (uint32_t k = 0; k < 300 * 512; k++)
		wbuf[k] = (uint8_t)(k * 13 + 1);
	struct blockdev_req w = {.op = BLOCKDEV_WRITE,
				 .wait = BLOCKDEV_WAIT_POLL,
				 .lba = 100,
				 .count = 300,
				 .buf = wbuf};
	uint64_t s1 = sc.ioq[0].submitted, s2 = sc.ioq[1].submitted;
	assert_int_equal(bd->submit(bd, &w), 0);
	/* 150 KiB in 128 KiB pieces: one on each queue */
	assert_int_equal(sc.ioq[0].submitted, s1 + 1);
	assert_int_equal(sc.ioq[1].submitted, s2 + 1);
	static const uint8_t modes[] = {BLOCKDEV_WAIT_IRQ, BLOCKDEV_WAIT_POLL,
					BLOCKDEV_WAIT_HYBRID};
	for (unsigned m = 0; m < ARRAY_SIZE(modes); m++) {
		memset(rbuf, 0, sizeof(rbuf));
		struct blockdev_req rd = {.op = BLOCKDEV_READ,
					  .wait = modes[m],
					  .lba = 100,
					  .count = 300,
					  .buf = rbuf};
		assert_int_equal(bd->submit(bd, &rd), 0);
		assert_memory_equal(rbuf, wbuf, 300 * 512);
	}
	struct blockdev_req bad = {
	    .op = BLOCKDEV_READ, .wait = 9, .count = 1, .buf = rbuf};
	assert_int_equal(bd->submit(bd, &bad), -1);
	struct blockdev_req fl = {.op = BLOCKDEV_FLUSH,
				  .wait = BLOCKDEV_WAIT_HYBRID};
	assert_int_equal(bd->submit(bd, &fl), 0);
}

/* ---- Write Zeroes and Discard (Dataset Management, Deallocate) ----------
 * through struct blockdev, against the model's blocks */
/* detach, then attach a fresh model whose namespace 1 has nsze blocks (0:
 * the model's 2048), ONCS oncs, DLFEAT dlfeat */
/* the NVM limits (CNS 06h) the next attach_clear's model reports and
 * enforces, and whether it refuses CNS 06h; consumed by it */
static struct nvme_id_ctrl_nvm next_nvm;
static bool next_no_cs;

static void attach_clear(uint64_t nsze, uint16_t oncs, uint8_t dlfeat)
{
	nvme_detach(&sc);
	assert_int_equal(nblockdevs, 0);
	fake_broker_init(7);
	fb.nsze_override = nsze;
	if (nsze)
		fb.dev.blocks = nsze;
	fb.dev.oncs = oncs;
	fb.dev.dlfeat = dlfeat;
	fb.dev.wzsl = next_nvm.wzsl;
	fb.dev.dmrl = next_nvm.dmrl;
	fb.dev.dmrsl = next_nvm.dmrsl;
	fb.dev.dmsl = next_nvm.dmsl;
	fb.dev.no_cs_ctrl = next_no_cs;
	memset(&next_nvm, 0, sizeof(next_nvm));
	next_no_cs = false;
	fake_broker_softc(&sc);
	assert_int_equal(nvme_attach(&sc), 0);
	assert_int_equal(nblockdevs, 1);
}

/* how many of the model's executed commands since `from` have opcode opc */
static unsigned logged(unsigned from, uint8_t opc)
{
	unsigned n = 0;
	for (unsigned i = from; i < fb.dev.nlog; i++)
		n += nvme_sqe_opc(&fb.dev.log[i]) == opc;
	return n;
}

/* a pattern over 10..59; Write Zeroes 20..29, Discard 40..49: zeros read
 * back there (the model's DLFEAT 001b: a deallocated block reads zeros),
 * the pattern everywhere else; one command each, as built */
static void test_block_write_zeroes_discard(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	assert_true(bd->discard_zeroes);
	for (uint32_t k = 0; k < 50 * 512; k++)
		wbuf[k] = (uint8_t)(k * 7 + 3);
	assert_int_equal(bd->write(bd, 10, 50, wbuf), 0);
	unsigned from = fb.dev.nlog;
	assert_int_equal(bd->write_zeroes(bd, 20, 10), 0);
	struct blockdev_req d = {.op = BLOCKDEV_DISCARD,
				 .wait = BLOCKDEV_WAIT_POLL,
				 .lba = 40,
				 .count = 10};
	assert_int_equal(bd->submit(bd, &d), 0);
	assert_int_equal(fb.dev.nlog, from + 2);
	const struct nvme_sqe *wz = &fb.dev.log[from], *dsm = wz + 1;
	assert_int_equal(nvme_sqe_opc(wz), NVME_IO_WRITE_ZEROES);
	assert_int_equal(wz->cdw10, 20);
	assert_int_equal(wz->cdw12, 9);
	assert_int_equal(nvme_sqe_opc(dsm), NVME_IO_DSM);
	assert_int_equal(dsm->cdw10, 0); /* one range */
	assert_int_equal(dsm->cdw11, 1u << NVME_DSM_AD_SHIFT);
	assert_int_equal(fb.dev.dealloc_blocks, 10);
	/* the range list lay in the driver's pool (the gate checked it) */
	assert_true(dsm->prp1 >= sc.pool.iova &&
		    dsm->prp1 + 16 <= sc.pool.iova + sc.pool.len);
	memset(rbuf, 0xaa, 50 * 512);
	assert_int_equal(bd->read(bd, 10, 50, rbuf), 0);
	memset(wbuf + 10 * 512, 0, 10 * 512);
	memset(wbuf + 30 * 512, 0, 10 * 512);
	assert_memory_equal(rbuf, wbuf, 50 * 512);
	/* no blocks: nothing to send */
	assert_int_equal(bd->write_zeroes(bd, 5, 0), 0);
	assert_int_equal(bd->discard(bd, 5, 0), 0);
	assert_int_equal(fb.dev.nlog, from + 3); /* the read's one */
}

/* past the namespace's end, or wrapping 2^64: refused before any command
 * is built, whatever the controller has */
static void test_block_clear_past_end(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	unsigned from = fb.dev.nlog;
	uint64_t s1 = sc.ioq[0].submitted, s2 = sc.ioq[1].submitted;
	assert_int_equal(bd->block_count, 2048);
	assert_int_equal(bd->write_zeroes(bd, 2040, 9), -1);
	assert_int_equal(bd->discard(bd, 2040, 9), -1);
	assert_int_equal(bd->write_zeroes(bd, 2048, 1), -1);
	assert_int_equal(bd->discard(bd, UINT64_MAX, 2), -1);
	assert_int_equal(bd->write_zeroes(bd, UINT64_MAX - 1, 3), -1);
	assert_int_equal(fb.dev.nlog, from);
	assert_int_equal(sc.ioq[0].submitted + sc.ioq[1].submitted, s1 + s2);
	/* the last block is in range */
	assert_int_equal(bd->write_zeroes(bd, 2040, 8), 0);
	assert_int_equal(bd->discard(bd, 2047, 1), 0);
	assert_int_equal(fb.dev.nlog, from + 2);
	/* an op the interface does not know */
	struct blockdev_req bad = {.op = BLOCKDEV_DISCARD + 1, .count = 1};
	assert_int_equal(bd->submit(bd, &bad), -1);
}

/* NLB is 16 bits: Write Zeroes in commands of NVME_WZ_BLOCKS_MAX; a
 * Deallocate carries up to NVME_DSM_RANGES_MAX ranges of
 * NVME_DSM_RANGE_BLOCKS, then the next command */
static void test_block_clear_split(void **state)
{
	(void)state;
	attach_clear(1ull << 25, NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES, 1);
	struct blockdev *bd = blockdevs[0];
	unsigned from = fb.dev.nlog;
	uint32_t n = 2 * NVME_WZ_BLOCKS_MAX + 8928;
	assert_int_equal(bd->write_zeroes(bd, 7, n), 0);
	assert_int_equal(fb.dev.nlog, from + 3);
	assert_int_equal(logged(from, NVME_IO_WRITE_ZEROES), 3);
	assert_int_equal(fb.dev.log[from].cdw10, 7);
	assert_int_equal(fb.dev.log[from].cdw12, 0xffff);
	assert_int_equal(fb.dev.log[from + 1].cdw10, 7 + NVME_WZ_BLOCKS_MAX);
	assert_int_equal(fb.dev.log[from + 1].cdw12, 0xffff);
	assert_int_equal(fb.dev.log[from + 2].cdw10,
			 7 + 2 * NVME_WZ_BLOCKS_MAX);
	assert_int_equal(fb.dev.log[from + 2].cdw12, 8927);
	assert_int_equal(fb.dev.wz_blocks, n);
	/* one command of 3 ranges; then 256 ranges and one more command */
	from = fb.dev.nlog;
	assert_int_equal(bd->discard(bd, 1, n), 0);
	assert_int_equal(fb.dev.nlog, from + 1);
	assert_int_equal(fb.dev.log[from].cdw10, 2);
	assert_int_equal(fb.dev.dealloc_blocks, n);
	uint32_t big = NVME_DSM_RANGES_MAX * NVME_DSM_RANGE_BLOCKS + 5;
	assert_int_equal(bd->discard(bd, 1000, big), 0);
	assert_int_equal(fb.dev.nlog, from + 3);
	assert_int_equal(fb.dev.log[from + 1].cdw10, NVME_DSM_RANGES_MAX - 1);
	assert_int_equal(fb.dev.log[from + 2].cdw10, 0);
	assert_int_equal(fb.dev.dealloc_blocks, (uint64_t)n + big);
	/* the whole namespace at once, to its last block */
	assert_int_equal(bd->discard(bd, 0, 1u << 25), 0);
	assert_int_equal(bd->discard(bd, 1, 1u << 25), -1);
}

/* The controller's NVM limits (CNS 06h) narrow the split: WZSL 1 (8 KiB:
 * 16 blocks of 512 bytes a Write Zeroes), DMRL 4 ranges, DMRSL 100 blocks
 * a range and DMSL 300 blocks a Dataset Management command. The model
 * answers a command past them Invalid Field, as a strict controller:
 * before they were read, the 100-block Write Zeroes went out as one
 * command and failed (-1), and so did the 1000-block Discard. */
static void test_block_clear_nvm_limits(void **state)
{
	(void)state;
	next_nvm = (struct nvme_id_ctrl_nvm){
	    .wzsl = 1, .dmrl = 4, .dmrsl = 100, .dmsl = 300};
	attach_clear(1ull << 25, NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES, 1);
	struct blockdev *bd = blockdevs[0];
	assert_int_equal(sc.id.nvm, NVME_IDENT_NVM_READ);
	assert_int_equal(sc.ns[0].wz_blocks, 16);
	assert_int_equal(sc.ns[0].dsm_ranges, 4);
	assert_int_equal(sc.ns[0].dsm_range_blocks, 100);
	assert_int_equal(sc.ns[0].dsm_blocks, 300);
	unsigned from = fb.dev.nlog;
	assert_int_equal(bd->write_zeroes(bd, 5, 100), 0);
	assert_int_equal(logged(from, NVME_IO_WRITE_ZEROES), 7);
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(fb.dev.log[from + i].cdw10, 5 + 16 * i);
		assert_int_equal(fb.dev.log[from + i].cdw12, 15);
	}
	assert_int_equal(fb.dev.log[from + 6].cdw12, 3);
	assert_int_equal(fb.dev.wz_blocks, 100);
	/* 300 blocks (3 ranges of 100) a command: 300, 300, 300, 100 */
	from = fb.dev.nlog;
	assert_int_equal(bd->discard(bd, 1, 1000), 0);
	assert_int_equal(logged(from, NVME_IO_DSM), 4);
	assert_int_equal(fb.dev.log[from].cdw10, 2);
	assert_int_equal(fb.dev.log[from + 3].cdw10, 0);
	assert_int_equal(fb.dev.dealloc_blocks, 1000);
	assert_int_equal(fb.dev.over_limit, 0);
}

/* A controller that refuses CNS 06h (Invalid Field) keeps capOS's own
 * limits: the splits of test_block_clear_split */
static void test_block_clear_no_nvm_identify(void **state)
{
	(void)state;
	next_no_cs = true;
	attach_clear(1ull << 25, NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES, 1);
	struct blockdev *bd = blockdevs[0];
	assert_int_equal(sc.id.nvm, NVME_IDENT_NVM_REFUSED);
	assert_int_equal(sc.ns[0].wz_blocks, NVME_WZ_BLOCKS_MAX);
	assert_int_equal(sc.ns[0].dsm_ranges, NVME_DSM_RANGES_MAX);
	assert_int_equal(sc.ns[0].dsm_range_blocks, NVME_DSM_RANGE_BLOCKS);
	unsigned from = fb.dev.nlog;
	assert_int_equal(bd->write_zeroes(bd, 7, 2 * NVME_WZ_BLOCKS_MAX + 8928),
			 0);
	assert_int_equal(logged(from, NVME_IO_WRITE_ZEROES), 3);
	from = fb.dev.nlog;
	uint32_t big = NVME_DSM_RANGES_MAX * NVME_DSM_RANGE_BLOCKS + 5;
	assert_int_equal(bd->discard(bd, 1000, big), 0);
	assert_int_equal(logged(from, NVME_IO_DSM), 2);
}

/* Absurd limits. Past capOS's own (WZSL 255: 2^267 bytes; DMRSL and DMSL
 * all ones) leave capOS's; DMRL 255 is honoured (255 ranges a command).
 * Far below them (DMRSL 1, DMRL 1: one block a command) a request that
 * would take more than NVME_CLEAR_CMDS_MAX commands is refused in one
 * line before any command — before, that Discard went out as one command
 * the controller refused; with capOS's own limits it would be billions.
 * A WZSL below one block (8 KiB, 64 KiB blocks) still allows one block. */
static void test_block_clear_absurd_limits(void **state)
{
	(void)state;
	next_nvm = (struct nvme_id_ctrl_nvm){
	    .wzsl = 255, .dmrl = 255, .dmrsl = UINT32_MAX, .dmsl = UINT64_MAX};
	attach_clear(1ull << 25, NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES, 1);
	struct blockdev *bd = blockdevs[0];
	assert_int_equal(sc.ns[0].wz_blocks, NVME_WZ_BLOCKS_MAX);
	assert_int_equal(sc.ns[0].dsm_ranges, 255);
	assert_int_equal(sc.ns[0].dsm_range_blocks, NVME_DSM_RANGE_BLOCKS);
	assert_int_equal(sc.ns[0].dsm_blocks, 255 * NVME_DSM_RANGE_BLOCKS);
	unsigned from = fb.dev.nlog;
	uint32_t big = NVME_DSM_RANGES_MAX * NVME_DSM_RANGE_BLOCKS + 5;
	assert_int_equal(bd->discard(bd, 1000, big), 0);
	assert_int_equal(logged(from, NVME_IO_DSM), 2);
	assert_int_equal(fb.dev.log[from].cdw10, 254);
	assert_int_equal(fb.dev.over_limit, 0);

	next_nvm = (struct nvme_id_ctrl_nvm){.dmrl = 1, .dmrsl = 1};
	attach_clear(1ull << 25, NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES, 1);
	bd = blockdevs[0];
	assert_int_equal(sc.ns[0].dsm_blocks, 1);
	from = fb.dev.nlog;
	uint64_t lines = shim_kprintf_calls;
	assert_int_equal(bd->discard(bd, 0, NVME_CLEAR_CMDS_MAX + 1), -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "unable to deallocate"));
	assert_int_equal(fb.dev.nlog, from);
	assert_int_equal(bd->discard(bd, 0, 3), 0);
	assert_int_equal(logged(from, NVME_IO_DSM), 3);
	assert_int_equal(fb.dev.over_limit, 0);

	next_nvm = (struct nvme_id_ctrl_nvm){.wzsl = 1};
	nvme_detach(&sc);
	fake_broker_init(7);
	fb.lbads_override = 16; /* 64 KiB blocks */
	fb.dev.wzsl = 1;
	next_nvm.wzsl = 0;
	fake_broker_softc(&sc);
	assert_int_equal(nvme_attach(&sc), 0);
	assert_int_equal(sc.ns[0].lba_bytes, 65536);
	assert_int_equal(sc.ns[0].wz_blocks, 1);
}

/* a controller whose ONCS does not name one: BLOCKDEV_EOPNOTSUPP, no
 * command built; the other still works; DLFEAT alone says whether a
 * discarded block reads zeros. A DSM the driver sent all the same is
 * refused by the gate (the policy's ONCS), not by the device */
static void test_block_clear_not_supported(void **state)
{
	(void)state;
	attach_clear(0, 0, 1);
	struct blockdev *bd = blockdevs[0];
	unsigned from = fb.dev.nlog;
	assert_false(bd->discard_zeroes); /* no DSM: nothing promised */
	assert_int_equal(bd->write_zeroes(bd, 1, 1), BLOCKDEV_EOPNOTSUPP);
	assert_int_equal(bd->discard(bd, 1, 1), BLOCKDEV_EOPNOTSUPP);
	struct blockdev_req r = {.op = BLOCKDEV_WRITE_ZEROES,
				 .wait = BLOCKDEV_WAIT_HYBRID,
				 .lba = 1,
				 .count = 1};
	assert_int_equal(bd->submit(bd, &r), BLOCKDEV_EOPNOTSUPP);
	assert_int_equal(fb.dev.nlog, from);
	/* the gate: DSM with a range list in the pool, never reaching the
	 * model */
	struct dma_buf list;
	assert_int_equal(nvme_buf_get(&sc, 4096, &list), 0);
	memset(list.va, 0, 4096);
	struct nvme_io io = {
	    .opc = NVME_IO_DSM, .nsid = 1, .iova = list.iova, .len = 16};
	struct nvme_cqe e;
	uint32_t why = 0;
	assert_int_equal(nvme_io_sync(&sc, &sc.ioq[0], &io, &e), -1);
	assert_true(nvme_cqe_rejected(&e, &why));
	assert_int_equal(why, NVME_V_OPCODE_FORBIDDEN);
	assert_int_equal(fb.dev.nlog, from);
	nvme_buf_put(&sc, &list);
	/* Write Zeroes only */
	attach_clear(0, NVME_ONCS_WRITE_ZEROES, 1);
	bd = blockdevs[0];
	assert_false(bd->discard_zeroes);
	assert_int_equal(bd->write_zeroes(bd, 1, 1), 0);
	assert_int_equal(bd->discard(bd, 1, 1), BLOCKDEV_EOPNOTSUPP);
	/* DSM with DLFEAT not reported (000b) or all ones (010b): discard
	 * works, zeros are not promised — and with 010b the model's blocks
	 * read ones */
	attach_clear(0, NVME_ONCS_DSM, 0);
	assert_false(blockdevs[0]->discard_zeroes);
	attach_clear(0, NVME_ONCS_DSM, 2);
	bd = blockdevs[0];
	assert_false(bd->discard_zeroes);
	assert_int_equal(bd->discard(bd, 3, 2), 0);
	assert_int_equal(bd->read(bd, 3, 2, rbuf), 0);
	for (unsigned k = 0; k < 2 * 512; k++)
		assert_int_equal(rbuf[k], 0xff);
}

/* a controller lying in ONCS: it names DSM, then answers Invalid Opcode.
 * The request fails (BLOCKDEV_EOPNOTSUPP) with one line, no reset, no
 * hang; every later discard fails the same at once, with no command and
 * no line; Write Zeroes is not affected */
static void test_block_clear_oncs_lie(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	fb.dev.lie = NVME_ONCS_DSM;
	unsigned from = fb.dev.nlog, resets = sc.resets;
	uint64_t lines = shim_kprintf_calls;
	assert_int_equal(bd->discard(bd, 1, 8), BLOCKDEV_EOPNOTSUPP);
	assert_int_equal(shim_kprintf_calls, lines + 1);
	assert_int_equal(fb.dev.nlog, from + 1); /* it was sent, once */
	assert_int_equal(fb.dev.ndsm, 0);
	assert_int_equal(sc.oncs & NVME_ONCS_DSM, 0);
	for (int k = 0; k < 3; k++)
		assert_int_equal(bd->discard(bd, 1, 8), BLOCKDEV_EOPNOTSUPP);
	assert_int_equal(fb.dev.nlog, from + 1);
	assert_int_equal(shim_kprintf_calls, lines + 1);
	assert_int_equal(sc.resets, resets);
	assert_true(sc.up);
	assert_int_equal(bd->write_zeroes(bd, 1, 8), 0);
	/* Write Zeroes answered Invalid Opcode in the middle of a split
	 * request: the first command clears, the second fails, nothing after
	 * it is sent */
	attach_clear(1ull << 20, NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES, 1);
	bd = blockdevs[0];
	from = fb.dev.nlog;
	fb.fail_cmd = fb.dev.nlog + 2;
	fb.fail_status = (uint16_t)(NVME_SC_INVALID_OPCODE << 1);
	lines = shim_kprintf_calls;
	assert_int_equal(bd->write_zeroes(bd, 0, 3 * NVME_WZ_BLOCKS_MAX),
			 BLOCKDEV_EOPNOTSUPP);
	assert_int_equal(fb.dev.nlog, from + 2);
	assert_int_equal(logged(from, NVME_IO_WRITE_ZEROES), 2);
	assert_int_equal(shim_kprintf_calls, lines + 1);
	assert_int_equal(sc.oncs & NVME_ONCS_WRITE_ZEROES, 0);
}

/* completion statuses: an error other than Invalid Opcode fails the
 * request (-1, one line) and keeps the command in use; a gate rejection
 * is not taken for the device's answer either */
static void test_block_clear_status(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	static const uint16_t st[] = {
	    (uint16_t)(NVME_SC_LBA_RANGE << 1),
	    (uint16_t)(NVME_SC_INTERNAL << 1),
	    (uint16_t)(NVME_SC_INVALID_FIELD << 1 | NVME_SCT_CMD_SPECIFIC << 9),
	    (uint16_t)(NVME_SC_INVALID_OPCODE << 1 | NVME_SCT_CMD_SPECIFIC
							 << 9),
	};
	for (unsigned k = 0; k < ARRAY_SIZE(st); k++)
		for (int dsm = 0; dsm < 2; dsm++) {
			uint64_t lines = shim_kprintf_calls;
			fb.fail_cmd = fb.dev.nlog + 1;
			fb.fail_status = st[k];
			int rc = dsm ? bd->discard(bd, 4, 4)
				     : bd->write_zeroes(bd, 4, 4);
			assert_int_equal(rc, -1);
			assert_int_equal(shim_kprintf_calls, lines + 1);
			assert_int_equal(sc.oncs, NVME_ONCS_DSM |
						      NVME_ONCS_WRITE_ZEROES);
		}
	assert_int_equal(bd->write_zeroes(bd, 4, 4), 0);
	assert_int_equal(bd->discard(bd, 4, 4), 0);
}

/* a hung device: the wait is bounded, the controller is reset */
static void test_timeout(void **state)
{
	(void)state;
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	c.cdw0 = NVME_ADM_GET_FEATURES;
	c.cdw10 = NVME_FID_ARBITRATION;
	fb.device_stalled = true;
	unsigned resets = sc.resets;
	assert_int_equal(nvme_exec(&sc, &sc.admin, &c, &e, 2000), -1);
	fb.device_stalled = false;
	assert_int_equal(sc.resets, resets + 1);
	assert_int_equal(nvme_cqe_sc(&e), NVME_SC_ABORT_SQ_DELETED);
	/* the command's, then the Delete I/O SQ the reset sends first
	 * (nvme_ioq_delete_all), which the hung device does not answer */
	assert_int_equal(sc.admin.timeouts, 2);
	assert_true(sc.up);
	assert_int_equal(nvme_exec(&sc, &sc.admin, &c, &e, 100000), 0);
}

/* A completion whose CID indexes past the queue's control blocks (the admin
 * queue has NVME_ADMIN_ENTRIES - 1 of NVME_NCCB: CID index 63 names none)
 * is ignored with a counter, and the command it hid times out and is
 * answered by the reset — before, no test sent one, and dropping the
 * null check in nvme_cqe_dispatch passed every test */
static void test_cid_index_past_ccbs(void **state)
{
	(void)state;
	struct nvme_queue *q = &sc.admin;
	assert_true(q->nccb <= NVME_CID_IDX_MASK);
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	c.cdw0 = NVME_ADM_GET_FEATURES;
	c.cdw10 = NVME_FID_ARBITRATION;
	uint64_t bad = q->bad_cid, failed = q->failed;
	unsigned resets = sc.resets;
	fb.inject = FB_INJECT_CID;
	fb.inject_qid = q->id;
	fb.inject_cid = (uint16_t)NVME_CID_IDX_MASK;
	assert_int_equal(nvme_exec(&sc, q, &c, &e, 2000), -1);
	assert_int_equal(fb.inject, FB_INJECT_NONE);
	assert_int_equal(q->bad_cid, bad + 1);
	assert_int_equal(sc.resets, resets + 1);
	assert_int_equal(q->failed, failed + 1); /* aborted by the reset */
	assert_true(sc.up);
	assert_int_equal(nvme_exec(&sc, q, &c, &e, 100000), 0);
}

/* bad completions are said, one line each, only up to NVME_BAD_CQE_LINES
 * per queue, then once that the rest are counted: a device (or a gate gone
 * wrong) sending them without end cannot flood the console. Each round
 * here costs a timeout and a reset; the reset streak is cleared between
 * rounds, as the recovery proof does, since the storm limit is not what
 * is tested */
static unsigned bad_lines, bad_quiet_lines;
static void count_bad_lines(const char *line)
{
	bad_lines += strstr(line, "completion for unknown command") != NULL;
	bad_quiet_lines += strstr(line, "counted, not said") != NULL;
}

static void test_bad_completion_lines_bounded(void **state)
{
	(void)state;
	struct nvme_queue *q = &sc.admin;
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	c.cdw0 = NVME_ADM_GET_FEATURES;
	c.cdw10 = NVME_FID_ARBITRATION;
	uint64_t bad = q->bad_cid;
	const unsigned rounds = 3 * NVME_BAD_CQE_LINES;
	bad_lines = bad_quiet_lines = 0;
	shim_line_hook = count_bad_lines;
	for (unsigned i = 0; i < rounds; i++) {
		sc.reset_streak = 0;
		fb.inject = FB_INJECT_BAD_CID;
		fb.inject_qid = q->id;
		assert_int_equal(nvme_exec(&sc, q, &c, &e, 2000), -1);
		assert_int_equal(fb.inject, FB_INJECT_NONE);
	}
	shim_line_hook = NULL;
	assert_int_equal(q->bad_cid, bad + rounds); /* every one counted */
	assert_int_equal(bad_lines, NVME_BAD_CQE_LINES);
	assert_int_equal(bad_quiet_lines, 1);
	assert_true(sc.up);
	assert_int_equal(nvme_exec(&sc, q, &c, &e, 100000), 0);
}

/* the device's own error status fails the command and is counted as a
 * failure (q->failed, nvme_json's "failed"), not as a gate refusal */
static void test_device_error_counted(void **state)
{
	(void)state;
	struct nvme_queue *q = &sc.ioq[0];
	uint8_t blk[512];
	uint64_t failed = q->failed, rejected = q->rejected;
	fb.dev.next_status = (uint16_t)(NVME_SC_LBA_RANGE << 1);
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), -1);
	assert_int_equal(q->failed, failed + 1);
	assert_int_equal(q->rejected, rejected);
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
	assert_int_equal(q->failed, failed + 1);
}

/* the controller cannot be brought back: dead, and every command fails at
 * once instead of hanging */
static void test_recovery_fails(void **state)
{
	(void)state;
	fb.fail_enable = true;
	assert_int_equal(nvme_recover(&sc, "test"), -1);
	assert_true(sc.dead);
	uint8_t blk[512];
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), -1);
	fb.fail_enable = false;
}

/* a device fault where the device's completions enter the kernel (the
 * fake broker's reap): the driver counts it, times out, resets */
static void inject_case(enum fb_inject inj, uint64_t *counter)
{
	uint8_t blk[512];
	unsigned resets = sc.resets;
	uint64_t before = *counter;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	struct nvme_ccb *ccb = nvme_ccb_get(&sc.ioq[0]);
	struct nvme_io r = fb_read(0, 1, b.iova, 512);
	assert_int_equal(nvme_io_prepare(&sc, ccb, &r), 0);
	fb.inject = inj;
	fb.inject_qid = sc.ioq[0].id;
	assert_int_equal(nvme_submit(&sc, &sc.ioq[0], ccb, nvme_fill_cmd, 0),
			 0);
	assert_int_equal(nvme_wait(&sc, &sc.ioq[0], ccb, 3000), -1);
	assert_int_equal(*counter, before + 1);
	assert_int_equal(sc.resets, resets + 1);
	nvme_ccb_put(ccb);
	nvme_buf_put(&sc, &b);
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
}

static void test_bad_cid(void **state)
{
	(void)state;
	inject_case(FB_INJECT_BAD_CID, &sc.ioq[0].bad_cid);
}

static void test_bad_phase(void **state)
{
	(void)state;
	inject_case(FB_INJECT_BAD_PHASE, &sc.ioq[0].bad_phase);
}

/* a completion whose SQ head lies past the tail the driver rang (the
 * controller cannot have consumed what it was never given): ignored like
 * any impossible completion, not believed — believed, the driver's SQ
 * head jumped past its tail and the queue looked full for good */
static void test_bad_sqhd(void **state)
{
	(void)state;
	inject_case(FB_INJECT_BAD_SQHD, &sc.ioq[0].bad_cqe);
	/* the queue takes as many commands as it has control blocks */
	struct nvme_queue *q = &sc.ioq[0];
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	ndone = naborted = 0;
	fb.device_stalled = true;
	for (unsigned i = 0; i < q->nccb; i++) {
		struct nvme_io r = fb_read(i, 1, b.iova, 512);
		assert_int_equal(nvme_io_submit(&sc, q, &r, count_done, 0), 0);
	}
	fb.device_stalled = false;
	while (ndone < q->nccb)
		assert_true(nvme_complete(&sc, q) > 0);
	assert_int_equal(naborted, 0);
	nvme_buf_put(&sc, &b);
}

/* an SQ head at or past the ring's size — here the true head plus the
 * size, the right slot modulo the ring — is no index in it: ignored like
 * any impossible completion (nvme_sqhd_possible). Believed, the driver's
 * SQ head left the ring. */
static void test_sqhd_past_ring(void **state)
{
	(void)state;
	inject_case(FB_INJECT_SQHD_PAST_RING, &sc.ioq[0].bad_cqe);
	assert_true(sc.ioq[0].sq_head < sc.ioq[0].entries);
}

static void test_cfs(void **state)
{
	(void)state;
	uint64_t resets = 0;
	unsigned before = sc.resets;
	fb.csts = NVME_CSTS_CFS_MASK << NVME_CSTS_CFS_SHIFT;
	uint8_t blk[512];
	/* the read may complete or be failed by the reset; either way the
	 * controller is reset once and comes back */
	(void)blockdevs[0]->read(blockdevs[0], 0, 1, blk);
	for (unsigned i = 0; i < 3 && sc.resets == before; i++) {
		shim_clock_ns +=
		    200000000ull; /* past the CSTS check interval */
		(void)blockdevs[0]->read(blockdevs[0], 0, 1, blk);
	}
	resets = sc.resets - before;
	assert_int_equal(resets, 1);
	assert_true(sc.up);
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
}

/* Controller Fatal Status seen by a polled caller (nvme_poll, no wait):
 * once NVME_CSTS_CHECK_US has passed the poll reads CSTS, resets the
 * controller once, and it comes back — before, only waits were tested
 * (test_cfs), and a poll that never looked passed */
static void test_cfs_polled(void **state)
{
	(void)state;
	unsigned before = sc.resets;
	fb.csts = NVME_CSTS_CFS_MASK << NVME_CSTS_CFS_SHIFT;
	shim_clock_ns += 2ull * NVME_CSTS_CHECK_US * 1000;
	assert_int_equal(nvme_poll(&sc, &sc.ioq[0]), 0);
	assert_int_equal(sc.resets, before + 1);
	assert_true(sc.up);
	uint8_t blk[512];
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
}

/* garbage in the driver's CQ with the current phase: every entry is
 * consumed and ignored with a counter, nothing outstanding is touched */
static void test_garbage_cqes(void **state)
{
	(void)state;
	struct nvme_queue *q = &sc.ioq[1];
	struct nvme_cqe *ring = q->cq.va;
	uint64_t bad = q->bad_cid + q->bad_cqe;
	srand(1);
	for (unsigned i = 0; i < 5; i++) {
		struct nvme_cqe *e = &ring[(q->cq_head + i) % q->entries];
		e->dw0 = (uint32_t)rand();
		e->sqhd = (uint16_t)rand();
		e->sqid = i ? q->id : 77;
		e->cid = (uint16_t)(0x8000 | rand());
		e->status = (uint16_t)((rand() & ~1) | q->cq_phase);
	}
	/* not through the gate: the model posts nothing, so reap delivers
	 * nothing and the driver drains what is there */
	fb.device_stalled = true;
	int n = nvme_complete(&sc, q);
	fb.device_stalled = false;
	assert_int_equal(n, 5);
	assert_int_equal(q->bad_cid + q->bad_cqe, bad + 5);
	assert_int_equal(q->completed, q->submitted);
}

/* A completion naming a command that is written but not rung (its queue
 * plugged): the controller was never given it, so the completion is
 * impossible and ignored. Here the device completes a rung read A and the
 * completion the gate delivers names the unrung read B. Believed, B was
 * answered with A's status and then rung at the unplug anyway: the device
 * ran it after its caller had been told it finished (a write would land
 * after its buffer went back), and its real completion named a CID no
 * longer outstanding. */
static void test_cqe_for_unrung(void **state)
{
	(void)state;
	struct nvme_queue *q = &sc.ioq[0];
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	struct nvme_io r = fb_read(0, 1, b.iova, 512);
	ndone = naborted = 0;
	fb.device_stalled = true;
	assert_int_equal(nvme_io_submit(&sc, q, &r, count_done, 0), 0); /* A */
	nvme_q_plug(q);
	assert_int_equal(nvme_io_submit(&sc, q, &r, count_done, 0), 0); /* B */
	const struct nvme_ccb *ccb_b = 0;
	for (unsigned i = 0; i < q->nccb; i++)
		if (q->ccb[i].state == NVME_CCB_INFLIGHT && q->ccb[i].unrung)
			ccb_b = &q->ccb[i];
	assert_non_null(ccb_b);
	fb.inject = FB_INJECT_CID;
	fb.inject_qid = q->id;
	fb.inject_cid = ccb_b->cid;
	fb.device_stalled = false;
	assert_int_equal(nvme_complete(&sc, q), 1);
	assert_int_equal(fb.inject, FB_INJECT_NONE); /* A's, renamed */
	assert_int_equal(ndone, 0);
	assert_int_equal(q->bad_cid, 1);
	assert_int_equal(q->inflight, 2);
	/* B rung at the unplug completes once, with the device's answer */
	nvme_q_unplug(&sc, q);
	for (unsigned i = 0; i < 4 && ndone == 0; i++)
		nvme_complete(&sc, q);
	assert_int_equal(ndone, 1);
	assert_int_equal(naborted, 0);
	assert_int_equal(q->bad_cid, 1);
	/* A's completion was lost: the reset answers it, once */
	assert_int_equal(nvme_recover(&sc, "test"), 0);
	assert_int_equal(ndone, 2);
	assert_int_equal(naborted, 1);
	nvme_buf_put(&sc, &b);
}

/* a controller that never becomes ready: attach fails, everything undone */
static void test_never_ready(void **state)
{
	(void)state;
	struct nvme_softc s2;
	fake_broker_softc(&s2);
	strcpy(s2.name, "nvme1");
	fb.enabled = false;
	fb.fail_enable = true;
	assert_int_equal(nvme_attach(&s2), -1);
	fb.fail_enable = false;
	assert_false(s2.up);
	assert_false(dma_pool_live(&s2.pool));
}

/* a transfer whose length disagrees with its block count is refused */
static void test_io_len_mismatch(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 8192, &b), 0);
	struct nvme_io r = fb_read(0, 16, b.iova, 4096);
	assert_int_equal(nvme_io_sync(&sc, &sc.ioq[0], &r, 0), -1);
	r.nsid = 9;
	r.len = 8192;
	assert_int_equal(nvme_io_sync(&sc, &sc.ioq[0], &r, 0), -1);
	assert_int_equal(sc.ioq[0].submitted, 0);
	nvme_buf_put(&sc, &b);
}

/* a fresh controller whose Identify Controller says NN nn (0: the model's)
 * and MDTS mdts (-1: the model's), attached */
static void reattach(uint32_t nn, int mdts)
{
	nvme_detach(&sc);
	assert_int_equal(nblockdevs, 0);
	fake_broker_init(7);
	fb.nn_override = nn;
	fb.mdts_override = mdts;
	fake_broker_softc(&sc);
	assert_int_equal(nvme_attach(&sc), 0);
}

/* NN says three namespaces; the model has only the first: the others
 * identify with size zero and are reported and skipped */
static void test_ns_size_zero(void **state)
{
	(void)state;
	reattach(3, -1);
	assert_int_equal(sc.id.nn, 3);
	assert_int_equal(sc.nns, 1);
	assert_int_equal(nblockdevs, 1);
}

/* One parser, one limit: MDTS 0 means no limit and the policy's cap
 * (NVME_VAL_XFER_CAP) applies, a larger MDTS is capped too; the driver
 * uses exactly what the broker's policy enforces */
static void test_mdts_limits(void **state)
{
	(void)state;
	reattach(0, 0);
	assert_int_equal(sc.max_xfer, NVME_VAL_XFER_CAP);
	assert_int_equal(sc.max_xfer, nvme_broker_max_xfer(&fb, fb.owner));
	reattach(0, 10);
	assert_int_equal(sc.max_xfer, NVME_VAL_XFER_CAP);
	reattach(0, 3);
	assert_int_equal(sc.max_xfer, 32u << 10);
	assert_int_equal(sc.max_xfer, fb.pol.max_xfer);
	/* the block interface splits at that limit; one block more than it
	 * in one command is refused before submission */
	uint8_t *buf = calloc(1, 64 << 10);
	assert_int_equal(blockdevs[0]->write(blockdevs[0], 0, 128, buf), 0);
	/* two pieces, spread over the I/O queues (one each when there are
	 * two) */
	uint64_t sub = 0;
	for (unsigned i = 0; i < sc.nioq; i++)
		sub += sc.ioq[i].submitted;
	assert_int_equal(sub, 2);
	if (sc.nioq > 1)
		assert_int_equal(sc.ioq[1].submitted, 1);
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 64 << 10, &b), 0);
	struct nvme_io r = fb_read(0, 65, b.iova, 65 * 512);
	struct nvme_ccb *ccb = nvme_ccb_get(&sc.ioq[0]);
	assert_int_equal(nvme_io_prepare(&sc, ccb, &r), -1);
	nvme_ccb_put(ccb);
	free(buf);
}

/* CAP.MQES bounds the I/O queues, not the admin queue (NVMe 2.0
 * §3.1.3.1): a controller with MQES 1 (two entries, the least NVMe allows)
 * gets the driver's 32-entry admin queue and 2-entry I/O queues, as the
 * broker's policy allows (qsize_max = MQES + 1, as nvme_broker_open sets
 * it). Before, the driver created 128-entry I/O queues whatever MQES said:
 * the gate refused them (a real controller would too) and attach failed.
 * One command at a time per queue, block I/O still works. */
static void test_io_queues_sized_by_mqes(void **state)
{
	(void)state;
	nvme_detach(&sc);
	fake_broker_init(7);
	fb.cap = (fb.cap & ~NVME_CAP_MQES_MASK) | 1;
	fb.pol.qsize_max = 2;
	fake_broker_softc(&sc);
	assert_int_equal(nvme_attach(&sc), 0);
	assert_int_equal(sc.admin.entries, NVME_ADMIN_ENTRIES);
	assert_int_equal(sc.nioq, 2);
	for (unsigned i = 0; i < sc.nioq; i++) {
		assert_int_equal(sc.ioq[i].entries, 2);
		assert_int_equal(sc.ioq[i].nccb, 1);
		assert_int_equal(fb.gate.sq[i + 1].size, 2);
	}
	assert_int_equal(fb.gate.stats.n[NVME_V_QUEUE_SIZE], 0);
	for (uint32_t k = 0; k < 64 * 512; k++)
		wbuf[k] = (uint8_t)(k * 5 + 1);
	assert_int_equal(blockdevs[0]->write(blockdevs[0], 9, 64, wbuf), 0);
	memset(rbuf, 0, 64 * 512);
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 9, 64, rbuf), 0);
	assert_memory_equal(rbuf, wbuf, 64 * 512);
}

/* 64 KiB blocks behind an 8 KiB transfer limit (MDTS 1): not one block
 * fits a command, so the namespace is reported and skipped instead of
 * becoming a block device whose every read and write fails silently */
static void attach_lbads(int mdts, uint8_t lbads)
{
	nvme_detach(&sc);
	assert_int_equal(nblockdevs, 0);
	fake_broker_init(7);
	fb.mdts_override = mdts;
	fb.lbads_override = lbads;
	fake_broker_softc(&sc);
	assert_int_equal(nvme_attach(&sc), 0);
}

static void test_block_larger_than_max_xfer(void **state)
{
	(void)state;
	attach_lbads(1, 16);
	assert_int_equal(sc.max_xfer, 8192);
	assert_int_equal(sc.nns, 0);
	assert_int_equal(nblockdevs, 0);
	/* the same block size under a limit that holds one is served */
	attach_lbads(4, 16);
	assert_int_equal(sc.max_xfer, 65536);
	assert_int_equal(sc.nns, 1);
	assert_int_equal(nblockdevs, 1);
	uint8_t *buf = calloc(1, 65536);
	assert_non_null(buf);
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, buf), 0);
	free(buf);
}

/* what /api/nvme says of namespace i: its "blocks", "bs" and "bytes" */
static void ns_json(unsigned i, uint64_t *blocks, uint64_t *bs, uint64_t *bytes)
{
	static char buf[8192];
	struct json j;
	json_init(&j, buf, sizeof(buf));
	nvme_json(&sc, &j);
	assert_true(json_end(&j) > 0);
	const char *p = strstr(buf, "\"namespaces\"");
	assert_non_null(p);
	for (unsigned k = 0; k <= i; k++) {
		p = strstr(p + 1, "\"nsid\"");
		assert_non_null(p);
	}
	*blocks = strtoull(strstr(p, "\"blocks\":") + 9, 0, 10);
	*bs = strtoull(strstr(p, "\"bs\":") + 5, 0, 10);
	*bytes = strtoull(strstr(p, "\"bytes\":") + 8, 0, 10);
}

/* A namespace whose size in bytes does not fit 64 bits (2^55 blocks of 512
 * bytes: 16 EiB): no block device can describe it, and /api/nvme said it
 * held 0 bytes (the product wrapped). Every namespace attached reports a
 * size that is blocks x block size; this one is reported and skipped. */
static void test_ns_bytes_overflow(void **state)
{
	(void)state;
	nvme_detach(&sc);
	fake_broker_init(7);
	fb.nsze_override = 1ull << 55;
	fake_broker_softc(&sc);
	assert_int_equal(nvme_attach(&sc), 0);
	assert_int_equal(nvme_broker_nns(&fb, fb.owner),
			 1); /* the broker granted it */
	for (unsigned i = 0; i < sc.nns; i++) {
		uint64_t blocks, bs, bytes;
		ns_json(i, &blocks, &bs, &bytes);
		assert_int_equal(bytes / bs, blocks);
	}
	assert_int_equal(sc.nns, 0);
	assert_int_equal(nblockdevs, 0);
	/* the largest size that fits is served */
	nvme_detach(&sc);
	fake_broker_init(7);
	fb.nsze_override = (1ull << 55) - 1;
	fake_broker_softc(&sc);
	assert_int_equal(nvme_attach(&sc), 0);
	assert_int_equal(sc.nns, 1);
	assert_int_equal(nblockdevs, 1);
	uint64_t blocks, bs, bytes;
	ns_json(0, &blocks, &bs, &bytes);
	assert_int_equal(blocks, (1ull << 55) - 1);
	assert_int_equal(bytes, ~0ull - 511);
}

/* an asynchronous command past its deadline: nvme_poll resets, the
 * command's done runs once, aborted */
static void test_async_deadline(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	struct nvme_io r = fb_read(0, 8, b.iova, 4096);
	ndone = naborted = 0;
	fb.device_stalled = true;
	assert_int_equal(nvme_io_submit(&sc, &sc.ioq[1], &r, count_done, 0), 0);
	nvme_poll(&sc, &sc.ioq[1]);
	assert_int_equal(ndone, 0);
	shim_clock_ns += (uint64_t)(NVME_IO_TIMEOUT_US + 1000) * 1000;
	nvme_poll(&sc, &sc.ioq[1]);
	assert_int_equal(ndone, 1);
	assert_int_equal(naborted, 1);
	assert_int_equal(sc.ioq[1].timeouts, 1);
	assert_int_equal(sc.resets, 1);
	assert_true(sc.up);
	nvme_buf_put(&sc, &b);
}

/* ---- reset storms (NVME_RESET_*) ------------------------------------------
 */
/* what /api/nvme says of the controller: its "state" (in st) and the
 * number after "key": */
static uint64_t ctrl_json(const char *key, char *st, size_t stn)
{
	static char buf[8192];
	char k[40];
	struct json j;
	json_init(&j, buf, sizeof(buf));
	nvme_json(&sc, &j);
	assert_true(json_end(&j) > 0);
	const char *s = strstr(buf, "\"state\":\"");
	assert_non_null(s);
	s += 9;
	size_t n = (size_t)(strchr(s, '"') - s);
	assert_true(n < stn);
	memcpy(st, s, n);
	st[n] = 0;
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(buf, k);
	assert_non_null(p);
	return strtoull(p + strlen(k), 0, 10);
}

/* an admin command the device will not answer: a timeout, a reset */
static int storm_timeout(void)
{
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	c.cdw0 = NVME_ADM_GET_FEATURES;
	c.cdw10 = NVME_FID_ARBITRATION;
	fb.device_stalled = true;
	int r = nvme_exec(&sc, &sc.admin, &c, &e, 2000);
	fb.device_stalled = false;
	return r;
}

/* A controller that hangs again right after every recovery (the reset
 * unsticks it, the next command hangs): each timeout resets it; from the
 * second reset of the streak on it stays disabled through a backoff of
 * NVME_RESET_BACKOFF_US << (k - 2), commands failing at once without
 * reaching it, and comes back at the first command after; the reset past
 * NVME_RESET_MAX gives it up: dead, disabled, every command failing at
 * once, nothing reset again. Before, every timeout reset it and brought
 * it up at once, without end. */
static void test_reset_storm_given_up(void **state)
{
	(void)state;
	char st[16];
	uint8_t blk[512];
	unsigned enables = fb.enables; /* the attach's */
	uint64_t waited_ms = 0;
	/* the storm comes late, long after boot: its resets are a streak
	 * because each is near the one before (reset_last_us), not near
	 * time 0 */
	shim_clock_ns += NVME_RESET_QUIET_US * 1000 * 2;
	for (unsigned k = 1; k <= NVME_RESET_MAX; k++) {
		assert_int_equal(storm_timeout(), -1);
		assert_int_equal(sc.resets, k);
		assert_int_equal(sc.reset_streak, k);
		assert_false(sc.dead);
		if (k == 1) {
			/* the first of a streak: back up at once */
			assert_true(sc.up);
			assert_int_equal(fb.enables, enables + 1);
			assert_int_equal(sc.backoffs, 0);
		} else {
			uint64_t backoff = NVME_RESET_BACKOFF_US << (k - 2);
			waited_ms += backoff / 1000;
			assert_int_equal(sc.backoffs, k - 1);
			assert_int_equal(sc.backoff_ms, waited_ms);
			assert_int_equal(
			    ctrl_json("backoff_ms", st, sizeof(st)), waited_ms);
			assert_string_equal(st, "backoff");
			/* disabled through the backoff: a read fails at once,
			 * nothing reaches the controller */
			assert_false(sc.up);
			assert_false(fb.enabled);
			unsigned nlog = fb.dev.nlog;
			shim_clock_ns += (backoff - 1000) * 1000;
			assert_int_equal(
			    blockdevs[0]->read(blockdevs[0], 0, 1, blk), -1);
			assert_int_equal(nvme_poll(&sc, &sc.ioq[0]), 0);
			assert_false(sc.up);
			assert_int_equal(fb.dev.nlog, nlog);
			assert_int_equal(fb.enables, enables);
			/* past it: the next command brings it back, or (every
			 * other round) nvme_poll before any command */
			shim_clock_ns += 2000 * 1000;
			if (k % 2) {
				assert_int_equal(nvme_poll(&sc, &sc.ioq[0]), 0);
				assert_true(sc.up);
			}
		}
		assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk),
				 0);
		assert_true(sc.up);
		enables = fb.enables;
		assert_int_equal(ctrl_json("reset_streak", st, sizeof(st)), k);
		assert_string_equal(st, "up");
	}
	/* one more in the streak: given up */
	unsigned resets_broker = fb.resets;
	assert_int_equal(storm_timeout(), -1);
	assert_true(sc.dead);
	assert_false(sc.up);
	assert_false(fb.enabled);
	assert_true(fb.resets > resets_broker);
	assert_int_equal(sc.resets, NVME_RESET_MAX);
	assert_int_equal(sc.reset_streak, NVME_RESET_MAX + 1);
	assert_int_equal(sc.backoffs, NVME_RESET_MAX - 1);
	assert_int_equal(sc.backoff_ms, 15000); /* 1 + 2 + 4 + 8 s */
	assert_int_equal(ctrl_json("resets", st, sizeof(st)), NVME_RESET_MAX);
	assert_string_equal(st, "dead");
	/* and it stays so: no command reaches it, nothing resets it again,
	 * however long it has been quiet */
	unsigned nlog = fb.dev.nlog;
	enables = fb.enables;
	shim_clock_ns += NVME_RESET_QUIET_US * 1000 * 2;
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), -1);
	assert_int_equal(nvme_poll(&sc, &sc.ioq[0]), 0);
	assert_int_equal(nvme_recover(&sc, "test"), -1);
	assert_int_equal(fb.dev.nlog, nlog);
	assert_int_equal(fb.enables, enables);
	assert_int_equal(sc.resets, NVME_RESET_MAX);
}

/* A reset whose resume brings I/O queue 1 back and then fails to create
 * queue 2 gives the controller up with no queue live: /api/nvme says so,
 * and the device manager is told (devmgr_failed).
 * Before, queue 1 (and the admin queue) stayed marked live on the dead
 * controller. */
static void test_resume_fails_no_queue_live(void **state)
{
	(void)state;
	char st[16];
	static char buf[8192];
	struct json j;
	/* after the reset: Create I/O CQ 1, SQ 1, then CQ 2 fails */
	fb.fail_cmd = fb.dev.nlog + 3;
	fb.fail_status = (uint16_t)FIELD_SET(NVME_CQE_SC, NVME_SC_INTERNAL);
	unsigned told = shim_devmgr_failed;
	assert_int_equal(storm_timeout(), -1);
	assert_int_equal(fb.fail_cmd, 0); /* it was the one that failed */
	assert_true(sc.dead);
	/* the device manager is told once, by the controller's owner (its
	 * supervisor restarts the function); before, nobody was */
	assert_int_equal(shim_devmgr_failed, told + 1);
	assert_int_equal(shim_devmgr_failed_owner, sc.owner);
	assert_string_equal(shim_devmgr_failed_why, "NVMe controller given up");
	assert_false(sc.admin.live);
	for (unsigned i = 0; i < sc.nioq; i++)
		assert_false(sc.ioq[i].live);
	(void)ctrl_json("resets", st, sizeof(st));
	assert_string_equal(st, "dead");
	json_init(&j, buf, sizeof(buf));
	nvme_json(&sc, &j);
	assert_true(json_end(&j) > 0);
	assert_null(strstr(buf, "\"live\":true"));
}

/* resets NVME_RESET_QUIET_US apart are each the first of a streak: back
 * at once, no backoff, never given up */
static void test_reset_quiet_ends_streak(void **state)
{
	(void)state;
	uint8_t blk[512];
	for (unsigned k = 1; k <= 2 * NVME_RESET_MAX; k++) {
		assert_int_equal(storm_timeout(), -1);
		assert_true(sc.up);
		assert_int_equal(sc.reset_streak, 1);
		assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk),
				 0);
		shim_clock_ns += NVME_RESET_QUIET_US * 1000;
	}
	assert_int_equal(sc.resets, 2 * NVME_RESET_MAX);
	assert_int_equal(sc.backoffs, 0);
	assert_false(sc.dead);
}

/* An attach whose first command (Set Features Number of Queues) never
 * completes fails at once: no reset, no second enable, the controller
 * disabled and the pool revoked (nvme_attach's unwind; devmgr_unwind
 * turns bus mastering off after it). Before, the timeout ran a full
 * recovery — a second enable — before the attach failed. */
static void test_attach_timeout_no_reset(void **state)
{
	(void)state;
	nvme_detach(&sc);
	struct nvme_softc s2;
	fake_broker_softc(&s2);
	unsigned enables = fb.enables, stops = fb.resets;
	uint64_t t0 = shim_clock_ns;
	fb.device_stalled = true;
	assert_int_equal(nvme_attach(&s2), -1);
	fb.device_stalled = false;
	assert_int_equal(fb.enables, enables + 1); /* the attach's own */
	assert_int_equal(s2.resets, 0);
	assert_int_equal(s2.admin.timeouts, 1);
	/* failed, but by no reset: none ran (before, counted as one's) */
	assert_int_equal(s2.admin.failed, 1);
	assert_int_equal(s2.reset_failed_cmds, 0);
	assert_true(fb.resets > stops);
	assert_false(fb.enabled);
	assert_false(s2.up);
	assert_false(s2.attaching);
	assert_false(dma_pool_live(&s2.pool));
	assert_int_equal(nblockdevs, 0);
	/* one command's timeout, not more */
	assert_true(shim_clock_ns - t0 <
		    2 * (uint64_t)NVME_ADMIN_TIMEOUT_US * 1000);
}

/* ---- a reset and the completions the device already posted ------------ */
/* One answer per command, kept by its cookie: how many, and the status */
struct answer {
	unsigned n;
	uint16_t status; /* without the phase bit */
};
static struct answer answers[3];

static void answer_done(struct nvme_softc *s, struct nvme_ccb *ccb,
			const struct nvme_cqe *e)
{
	(void)s;
	struct answer *a = ccb->cookie;
	a->n++;
	a->status = (uint16_t)(e->status & ~NVME_CQE_P_MASK);
	nvme_ccb_put(ccb);
}

/* what the device does in the last moment before the reset stops it
 * (fb.before_stop): it fetched three writes from I/O SQ 1 and finished the
 * first two. The first one's completion the gate has copied into the
 * driver's CQ, where the driver has not consumed it yet (a); the second one
 * is in the gate's shadow CQ, not reaped (b); the third never completes. */
static void device_finishes_two(void)
{
	assert_int_equal(fake_nvme_fetch(&fb.dev, 1, 0), 3);
	assert_true(fake_nvme_complete(&fb.dev, 0, 0, false, false));
	assert_int_equal(nvme_gate_cq_reap(&fb.gate, 1), 1);
	assert_true(fake_nvme_complete(&fb.dev, 0, 0, false, false));
	assert_int_equal(fb.dev.ninfl, 1);
}

static const uint64_t posted_lba[3] = {40, 56, 72};

/* two asynchronous writes (answers[0], answers[1]) and a synchronous one,
 * returned, on I/O queue 1 of a stalled device; the data of write i is
 * 4 KiB of (uint8_t)(0xa0 + i) */
static struct nvme_ccb *three_writes(struct dma_buf *b)
{
	struct nvme_queue *q = &sc.ioq[0];
	memset(answers, 0, sizeof(answers));
	fb.device_stalled = true;
	assert_int_equal(nvme_buf_get(&sc, 3 * 4096, b), 0);
	struct nvme_ccb *ccb = 0;
	for (unsigned i = 0; i < 3; i++) {
		memset((uint8_t *)b->va + i * 4096, 0xa0 + i, 4096);
		struct nvme_io w = {.opc = NVME_IO_WRITE,
				    .nsid = 1,
				    .slba = posted_lba[i],
				    .nlb = 8,
				    .iova = b->iova + i * 4096,
				    .len = 4096};
		if (i < 2) {
			assert_int_equal(nvme_io_submit(&sc, q, &w, answer_done,
							&answers[i]),
					 0);
			continue;
		}
		ccb = nvme_ccb_get(q);
		assert_non_null(ccb);
		assert_int_equal(nvme_io_prepare(&sc, ccb, &w), 0);
		assert_int_equal(nvme_submit(&sc, q, ccb, nvme_fill_cmd, 0), 0);
	}
	/* nothing has run: the model is stalled */
	nvme_complete(&sc, q);
	assert_int_equal(answers[0].n + answers[1].n, 0);
	return ccb;
}

static bool on_disk(unsigned i)
{
	for (unsigned k = 0; k < 4096; k++)
		if (fb.dev.disk[posted_lba[i] * 512 + k] != (uint8_t)(0xa0 + i))
			return false;
	return true;
}

/* after a stop with three_writes' writes outstanding: the two the device
 * finished answered once each with its success and on the disk, the third
 * failed as aborted and not written */
static void assert_two_delivered_third_failed(struct nvme_ccb *w3,
					      uint64_t failed)
{
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(answers[i].n, 1);
		assert_int_equal(answers[i].status, 0); /* success */
		assert_true(on_disk(i));
	}
	assert_int_equal(nvme_cqe_sc(&w3->cqe), NVME_SC_ABORT_SQ_DELETED);
	assert_false(on_disk(2));
	assert_int_equal(sc.reset_delivered_cmds, 2);
	assert_int_equal(sc.reset_failed_cmds, failed + 1);
}

/* A command timeout resets the controller while two writes the device
 * finished wait for the driver, one in its own CQ (a) and one in the
 * gate's shadow CQ (b): after the controller is stopped, both are
 * delivered with the device's status (success), and only the write it
 * never completed fails — each answered exactly once. The stalled device
 * does not answer the Abort sent first either: its own timeout is the
 * reset, which fails the Abort too (reset_failed_cmds counts both). */
static void test_timeout_reset_delivers_posted(void **state)
{
	(void)state;
	struct dma_buf b;
	struct nvme_ccb *w3 = three_writes(&b);
	struct nvme_queue *q = &sc.ioq[0];
	unsigned resets = sc.resets;
	uint64_t failed = sc.reset_failed_cmds;
	fb.before_stop = device_finishes_two;
	/* the wait for the third write times out: the reset */
	assert_int_equal(nvme_wait(&sc, q, w3, 3000), -1);
	assert_null(fb.before_stop); /* the device did finish two */
	assert_int_equal(q->timeouts, 1);
	assert_int_equal(sc.resets, resets + 1);
	assert_int_equal(sc.aborts, 1);
	/* the Abort's, then the reset's Delete I/O SQ 2 */
	assert_int_equal(sc.admin.timeouts, 2);
	assert_two_delivered_third_failed(w3, failed + 1);
	assert_int_equal(q->inflight, 0);
	assert_int_equal(q->completed, 2);
	nvme_ccb_put(w3);
	nvme_buf_put(&sc, &b);
	/* nothing is answered twice afterwards, and the queue works */
	uint8_t blk[512];
	assert_int_equal(
	    blockdevs[0]->read(blockdevs[0], posted_lba[0], 1, blk), 0);
	assert_int_equal(blk[0], 0xa0);
	assert_int_equal(answers[0].n + answers[1].n, 2);
}

/* the device finished the very write the waiter timed out on (in the
 * gate's shadow CQ when the reset stops the controller): the wait and the
 * caller see success, not a failure */
static void device_finishes_all(void)
{
	assert_int_equal(fake_nvme_fetch(&fb.dev, 1, 0), 1);
	assert_true(fake_nvme_complete(&fb.dev, 0, 0, false, false));
}

static void test_timeout_reset_waiter_succeeds(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	memset(b.va, 0x5c, 4096);
	struct nvme_ccb *ccb = nvme_ccb_get(&sc.ioq[0]);
	struct nvme_io w = {.opc = NVME_IO_WRITE,
			    .nsid = 1,
			    .slba = 88,
			    .nlb = 8,
			    .iova = b.iova,
			    .len = 4096};
	assert_int_equal(nvme_io_prepare(&sc, ccb, &w), 0);
	struct nvme_sqe cmd = ccb->cmd;
	nvme_ccb_put(ccb);
	fb.device_stalled = true;
	fb.before_stop = device_finishes_all;
	struct nvme_cqe e;
	assert_int_equal(nvme_exec(&sc, &sc.ioq[0], &cmd, &e, 3000), 0);
	assert_true(nvme_cqe_ok(&e));
	assert_int_equal(sc.resets, 1);
	assert_int_equal(sc.ioq[0].timeouts, 1);
	assert_int_equal(sc.reset_delivered_cmds, 1);
	/* only the Abort sent first, which the stalled device never
	 * answered: its timeout was the reset */
	assert_int_equal(sc.reset_failed_cmds, 1);
	assert_int_equal(sc.aborts, 1);
	assert_int_equal(fb.dev.disk[88 * 512], 0x5c);
	nvme_buf_put(&sc, &b);
}

/* after a reset that trusted nothing the device posted: both finished
 * writes and w3 answered once each, all as aborted, none delivered */
static void assert_reset_delivered_none(const struct nvme_ccb *w3)
{
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(answers[i].n, 1);
		assert_int_equal(answers[i].status >> 1,
				 NVME_SC_ABORT_SQ_DELETED);
	}
	assert_int_equal(nvme_cqe_sc(&w3->cqe), NVME_SC_ABORT_SQ_DELETED);
	assert_int_equal(sc.reset_delivered_cmds, 0);
}

/* a DMA fault revokes the owner while a finished write's completion sits
 * in the driver's CQ: the broker keeps nothing of a faulted owner's
 * controller, so the reset delivers nothing and the write fails once */
static void test_revoked_reset_delivers_nothing(void **state)
{
	(void)state;
	struct dma_buf b;
	struct nvme_ccb *w3 = three_writes(&b);
	device_finishes_two();
	assert_int_equal(auth_owner_revoke(sc.owner, "test fault"),
			 (int)shim_owner_pools(sc.owner));
	assert_int_equal(nvme_recover(&sc, "test"), -1);
	assert_reset_delivered_none(w3);
	nvme_ccb_put(w3);
	nvme_detach(&sc);
	assert_int_equal(auth_owner_reinstate(sc.owner), 0);
	sc.pool.len = 0;
}

/* Controller Fatal Status: the same two finished writes, but the
 * controller says it met an error it could not report in a completion and
 * cannot say which commands it touched (NVMe 2.0 §10.5): nothing it posted
 * that the driver has not consumed is believed. Every command fails once,
 * as aborted; none is reported written. */
static void test_cfs_reset_fails_posted(void **state)
{
	(void)state;
	struct dma_buf b;
	struct nvme_ccb *w3 = three_writes(&b);
	struct nvme_queue *q = &sc.ioq[0];
	fb.before_stop = device_finishes_two;
	fb.csts = NVME_CSTS_CFS_MASK << NVME_CSTS_CFS_SHIFT;
	shim_clock_ns += 200000000ull; /* past the CSTS check interval */
	assert_int_equal(nvme_wait(&sc, q, w3, 300000), -1);
	assert_null(fb.before_stop);
	assert_int_equal(q->timeouts, 0); /* CFS, not the deadline */
	assert_int_equal(sc.resets, 1);
	assert_reset_delivered_none(w3);
	assert_int_equal(sc.reset_failed_cmds, 3);
	assert_int_equal(q->inflight, 0);
	assert_true(sc.up);
	nvme_ccb_put(w3);
	nvme_buf_put(&sc, &b);
}

/* Detach with the same two finished writes waiting for the driver (a)
 * and (b), and one the device never completed: the detach stops the
 * controller as a reset does and delivers the device's own completions —
 * both writes succeed, once each — and fails only the third. */
static void test_detach_delivers_posted(void **state)
{
	(void)state;
	struct dma_buf b;
	struct nvme_ccb *w3 = three_writes(&b);
	uint64_t failed = sc.reset_failed_cmds;
	fb.before_stop = device_finishes_two;
	nvme_detach(&sc);
	assert_null(fb.before_stop); /* the device did finish two */
	assert_two_delivered_third_failed(w3, failed);
	assert_int_equal(sc.ioq[0].inflight, 0);
	assert_false(dma_pool_live(&sc.pool));
	nvme_ccb_put(w3);
}

/* the same detach under Controller Fatal Status: as a reset would, it
 * believes nothing unconsumed — every command fails once, as aborted; a
 * fatal controller is only stopped, no queue deleted, no shutdown */
static void test_cfs_detach_fails_posted(void **state)
{
	(void)state;
	struct dma_buf b;
	struct nvme_ccb *w3 = three_writes(&b);
	fb.before_stop = device_finishes_two;
	fb.csts = NVME_CSTS_CFS_MASK << NVME_CSTS_CFS_SHIFT;
	unsigned nlog = fb.dev.nlog;
	assert_int_equal(nvme_detach(&sc), 1);
	assert_int_equal(fb.shutdowns + fb.idle_shutdowns, 0);
	assert_int_equal(fb.stops, 1);
	assert_int_equal(fb.dev.nlog, nlog + 3); /* the writes, fetched */
	assert_null(fb.before_stop);
	assert_reset_delivered_none(w3);
	assert_int_equal(sc.reset_failed_cmds, 3);
	assert_int_equal(sc.ioq[0].inflight, 0);
	nvme_ccb_put(w3);
}

/* ---- what a waiter reads ----------------------------------------------- */
/* A command with a done callback of its own (not a synchronous caller's),
 * failed by the device, reads as failed to whoever waits on it, with the
 * device's status; one never answered (its submit refused) reads as failed too.
 * Before, only the synchronous callers' no-op done filled ccb->cqe, and the
 * zeroed entry read as success: nvme_wait returned 0 for the failed command. */
static void test_any_done_failure_explicit(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	struct nvme_ccb *ccb = nvme_ccb_get(&sc.ioq[0]);
	assert_false(nvme_cqe_ok(&ccb->cqe)); /* not answered yet */
	struct nvme_io r = fb_read(0, 1, b.iova, 512);
	assert_int_equal(nvme_io_prepare(&sc, ccb, &r), 0);
	fb.fail_cmd = fb.dev.nlog + 1;
	fb.fail_status = (uint16_t)FIELD_SET(NVME_CQE_SC, NVME_SC_LBA_RANGE);
	ndone = 0;
	assert_int_equal(
	    nvme_submit(&sc, &sc.ioq[0], ccb, nvme_fill_cmd, count_done), 0);
	assert_int_equal(nvme_wait(&sc, &sc.ioq[0], ccb, 100000), -1);
	assert_int_equal(ndone, 1); /* count_done put it back */
	assert_int_equal(nvme_cqe_sc(&ccb->cqe), NVME_SC_LBA_RANGE);
	/* never submitted: nvme_exec's out says failure, not success */
	struct nvme_sqe c = {.cdw0 = NVME_ADM_GET_FEATURES,
			     .cdw10 = NVME_FID_ARBITRATION};
	struct nvme_cqe e;
	sc.admin.live = false;
	assert_int_equal(nvme_exec(&sc, &sc.admin, &c, &e, 100000), -1);
	sc.admin.live = true;
	assert_false(nvme_cqe_ok(&e));
	nvme_buf_put(&sc, &b);
}

/* a completion callback that resets the controller at its first call */
static unsigned reset_cb_n;
static void reset_in_done(struct nvme_softc *s, struct nvme_ccb *ccb,
			  const struct nvme_cqe *e)
{
	(void)e;
	if (reset_cb_n++ == 0)
		nvme_recover(s, "test: a callback resets");
	nvme_ccb_put(ccb);
}

/* Two completions drained in one batch, the first one's callback resetting
 * the controller: the reset answers the second command (aborted, or its
 * posted completion delivered) and the drain stops — the rest of the
 * batch, copied from the queue before the reset, is not dispatched against
 * the queue the reset brought back. Before, it was: one bad completion
 * line and count (its SQ head was past the new queue's tail). */
static void test_callback_reset_ends_batch(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 8192, &b), 0);
	struct nvme_io r1 = fb_read(0, 1, b.iova, 512);
	struct nvme_io r2 = fb_read(1, 1, b.iova + 4096, 512);
	reset_cb_n = 0;
	nvme_q_plug(&sc.ioq[0]); /* one ring: the device runs both at once */
	assert_int_equal(
	    nvme_io_submit(&sc, &sc.ioq[0], &r1, reset_in_done, NULL), 0);
	assert_int_equal(
	    nvme_io_submit(&sc, &sc.ioq[0], &r2, reset_in_done, NULL), 0);
	nvme_q_unplug(&sc, &sc.ioq[0]);
	unsigned resets = sc.resets;
	int n = nvme_complete(&sc, &sc.ioq[0]);
	assert_int_equal(sc.ioq[0].bad_cqe, 0);
	assert_int_equal(sc.ioq[0].bad_cid, 0);
	assert_int_equal(n, 1); /* the second was the reset's to answer */
	assert_int_equal(sc.resets, resets + 1);
	assert_int_equal(reset_cb_n, 2); /* each answered once */
	assert_int_equal(sc.ioq[0].inflight, 0);
	assert_true(sc.up);
	nvme_buf_put(&sc, &b);
	uint8_t blk[512];
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
}

/* A command's timeout counts from its submission, not from when its wait
 * starts: a piece waited on after another (nvme_bd_submit waits for its
 * pieces one after the other) that has been outstanding almost its
 * NVME_IO_TIMEOUT_US already times out within the rest of it. Before, its
 * wait gave it a whole NVME_IO_TIMEOUT_US more: up to twice the limit.
 * Then the Abort sent for it waits its own bound, NVME_ADMIN_TIMEOUT_US
 * (the stalled device never answers it), before the reset. */
static void test_timeout_counts_from_submission(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	struct nvme_ccb *ccb = nvme_ccb_get(&sc.ioq[0]);
	struct nvme_io r = fb_read(0, 1, b.iova, 512);
	assert_int_equal(nvme_io_prepare(&sc, ccb, &r), 0);
	fb.device_stalled = true;
	uint64_t t_sub = shim_clock_ns;
	assert_int_equal(nvme_submit(&sc, &sc.ioq[0], ccb, nvme_fill_cmd, 0),
			 0);
	/* another piece's wait took all but 10 ms of this one's limit */
	shim_clock_ns += (NVME_IO_TIMEOUT_US - 10000) * 1000ull;
	assert_int_equal(nvme_wait(&sc, &sc.ioq[0], ccb, NVME_IO_TIMEOUT_US),
			 -1);
	fb.device_stalled = false;
	assert_int_equal(sc.ioq[0].timeouts, 1);
	uint64_t spent_us = (shim_clock_ns - t_sub) / 1000;
	/* the Abort's bound, then the reset's deletes' (nvme_ioq_delete_all:
	 * NVME_ADMIN_TIMEOUT_US in all) */
	assert_true(spent_us >= NVME_IO_TIMEOUT_US + NVME_ADMIN_TIMEOUT_US);
	assert_true(spent_us <
		    NVME_IO_TIMEOUT_US + 2 * NVME_ADMIN_TIMEOUT_US + 100000);
	assert_int_equal(sc.aborts, 1);
	assert_int_equal(sc.resets, 1);
	nvme_ccb_put(ccb);
	nvme_buf_put(&sc, &b);
}

/* ---- Abort before a reset (nvme_abort) -----------------------------------
 * The model holds one I/O command (fb.hold_io) and answers the Abort for
 * it as fb.abort_mode says. A write of 4 KiB of 0x6b at LBA 96, waited for
 * synchronously with a 3 ms limit; its answer, and what the driver and
 * the model counted. Every case answers the write exactly once (nvme_wait
 * returns on the first answer and the queue is empty after it) and leaves
 * the controller working. */
static int abort_write(enum fb_abort mode, struct nvme_cqe *e)
{
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	memset(b.va, 0x6b, 4096);
	struct nvme_io w = {.opc = NVME_IO_WRITE,
			    .nsid = 1,
			    .slba = 96,
			    .nlb = 8,
			    .iova = b.iova,
			    .len = 4096};
	struct nvme_ccb *ccb = nvme_ccb_get(&sc.ioq[0]);
	assert_int_equal(nvme_io_prepare(&sc, ccb, &w), 0);
	struct nvme_sqe cmd = ccb->cmd;
	nvme_ccb_put(ccb);
	fb.hold_io = true;
	fb.abort_mode = mode;
	int r = nvme_exec(&sc, &sc.ioq[0], &cmd, e, 3000);
	assert_int_equal(sc.ioq[0].timeouts, 1);
	assert_int_equal(sc.ioq[0].inflight, 0);
	assert_int_equal(sc.admin.inflight, 0);
	assert_true(sc.up);
	nvme_buf_put(&sc, &b);
	/* the controller works afterwards, and nothing else arrives for the
	 * write: no completion the driver could not match */
	uint8_t blk[512];
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
	for (unsigned i = 0; i < 2; i++) {
		nvme_complete(&sc, &sc.ioq[i]);
		assert_int_equal(sc.ioq[i].bad_cid + sc.ioq[i].bad_cqe +
				     sc.ioq[i].bad_phase,
				 0);
	}
	return r;
}

/* one Abort sent, and the model took it; /api/nvme says so */
static void one_abort(void)
{
	char st[16];
	assert_int_equal(sc.aborts, 1);
	assert_int_equal(fb.aborts_seen, 1);
	assert_int_equal(ctrl_json("aborts", st, sizeof(st)), 1);
	assert_int_equal(ctrl_json("aborts_answered", st, sizeof(st)),
			 sc.aborts_answered);
}

static bool written_at_96(void)
{
	for (unsigned k = 0; k < 4096; k++)
		if (fb.dev.disk[96 * 512 + k] != 0x6b)
			return false;
	return true;
}

/* one held write under mode, then what every Abort case checks:
 * abort_write's answer, the write's status as delivered (NVME_SC_SUCCESS:
 * it succeeded; else that generic status), the resets, the answers the
 * Abort won, whether the data reached the disk, and one Abort sent */
static void abort_expect(enum fb_abort mode, int r, uint8_t want_sc,
			 uint64_t resets, uint64_t answered, bool written)
{
	struct nvme_cqe e;
	assert_int_equal(abort_write(mode, &e), r);
	assert_int_equal(nvme_cqe_sct(&e), NVME_SCT_GENERIC);
	assert_int_equal(nvme_cqe_sc(&e), want_sc);
	assert_int_equal(sc.resets, resets);
	assert_int_equal(sc.aborts_answered, answered);
	assert_int_equal(written_at_96(), written);
	one_abort();
}

/* the controller honours the Abort: the write is answered with Command
 * Abort Requested (the device's own status, delivered once), no reset.
 * Before, every timeout reset the controller */
static void test_abort_honoured_no_reset(void **state)
{
	(void)state;
	abort_expect(FB_ABORT_HONOUR, -1, NVME_SC_ABORT_REQ, 0, 1, false);
	assert_int_equal(fb.resets, 0);
	assert_int_equal(sc.ioq[0].bad_cid, 0);
}

/* the write's own completion races the Abort and wins: the caller gets
 * the success the device posted (the data is on the disk), the Abort's
 * "not aborted" costs nothing, no reset */
static void test_abort_raced_by_completion(void **state)
{
	(void)state;
	abort_expect(FB_ABORT_RACE, 0, NVME_SC_SUCCESS, 0, 1, true);
}

/* a device that answers the write twice — its completion, then Command
 * Abort Requested for the same command — has it answered once: the first
 * (success) is delivered, the second names a command the gate no longer
 * holds and never reaches the driver as the write's */
static void test_abort_answered_twice_delivered_once(void **state)
{
	(void)state;
	abort_expect(FB_ABORT_TWICE, 0, NVME_SC_SUCCESS, 0, 1, true);
}

/* QEMU 7.2's Abort does nothing and says "not aborted": the reset. Its
 * Delete I/O SQ (nvme_ioq_delete_all) resolves the held write — the
 * model runs it, as QEMU's nvme_del_sq waits each request out — and the
 * write is answered once, with the device's success; nothing is left for
 * the disable to fail. Before the deletes, the reset answered it as
 * aborted (SQ deleted) */
static void test_abort_not_aborted_resets(void **state)
{
	(void)state;
	abort_expect(FB_ABORT_IGNORE, 0, NVME_SC_SUCCESS, 1, 0, true);
	assert_int_equal(sc.reset_failed_cmds, 0);
}

/* an Abort that says aborted but the command is never answered (within
 * the Abort's bound): the reset, whose Delete I/O SQ resolves it */
static void test_abort_lie_resets(void **state)
{
	(void)state;
	abort_expect(FB_ABORT_LIE, 0, NVME_SC_SUCCESS, 1, 0, true);
}

/* the Abort itself is never answered: its own timeout is the one reset,
 * which answers both the write (its Delete I/O SQ resolves it) and the
 * Abort (failed at the disable) once */
static void test_abort_timeout_one_reset(void **state)
{
	(void)state;
	abort_expect(FB_ABORT_STALL, 0, NVME_SC_SUCCESS, 1, 0, true);
	assert_int_equal(sc.admin.timeouts, 1);
	assert_int_equal(sc.reset_failed_cmds, 1);
}

/* the Abort says aborted and is answered first; the write's Command Abort
 * Requested follows a few polls later (NVMe 2.0 §5.1 orders neither):
 * waited for, delivered once, no reset. Before (one look after an
 * "aborted" Abort, as after a "not aborted" one) it reset */
static void test_abort_late_answer_no_reset(void **state)
{
	(void)state;
	abort_expect(FB_ABORT_LATE, -1, NVME_SC_ABORT_REQ, 0, 1, false);
	assert_int_equal(fb.resets, 0);
}

/* "not aborted" (or a failed Abort) is looked for once: the reset follows
 * at once, no bound waited out for a command the controller said it kept.
 * With the answer "aborted", the wait for the command is the bound (3 ms
 * here, the write's limit): the lie costs it, the refusal does not */
static void test_abort_not_aborted_waits_no_bound(void **state)
{
	(void)state;
	struct nvme_cqe e;
	uint64_t t0 = shim_clock_ns;
	assert_int_equal(abort_write(FB_ABORT_IGNORE, &e), 0);
	uint64_t ignore_ns = shim_clock_ns - t0;
	assert_int_equal(sc.resets, 1);
	/* the write's 3 ms limit, then at most 1 ms to the reset */
	assert_true(ignore_ns >= 3000000);
	assert_true(ignore_ns < 4000000);
	sc.reset_streak = 0;
	sc.ioq[0].timeouts = 0; /* abort_write counts one, its own */
	t0 = shim_clock_ns;
	assert_int_equal(abort_write(FB_ABORT_LIE, &e), 0);
	uint64_t lie_ns = shim_clock_ns - t0;
	assert_int_equal(sc.resets, 2);
	assert_true(lie_ns >= 6000000);
	assert_true(lie_ns < 7000000);
}

/* a read of 8 blocks, into a fresh buffer b, that the model will hold
 * (its Aborts answered as mode says), submitted on q with answer_done */
static void held_read_submit(enum fb_abort mode, struct nvme_queue *q,
			     struct dma_buf *b)
{
	assert_int_equal(nvme_buf_get(&sc, 4096, b), 0);
	struct nvme_io r = fb_read(0, 8, b->iova, 4096);
	memset(answers, 0, sizeof(answers));
	fb.hold_io = true;
	fb.abort_mode = mode;
	assert_int_equal(nvme_io_submit(&sc, q, &r, answer_done, &answers[0]),
			 0);
}

/* the command of q in flight (the last one, if more) */
static struct nvme_ccb *inflight_ccb(struct nvme_queue *q)
{
	struct nvme_ccb *ccb = 0;
	for (unsigned i = 0; i < q->nccb; i++)
		if (q->ccb[i].state == NVME_CCB_INFLIGHT)
			ccb = &q->ccb[i];
	return ccb;
}

/* Aborts that leave the command outstanding, again and again, say so in
 * line_due's lines (the 1st, 2nd, 4th: 3 of 5); the Abort that then gets
 * it answered says so once. nvme_abort alone resets nothing: the command
 * is held through all five */
static void test_abort_failures_lines_bounded(void **state)
{
	(void)state;
	struct dma_buf b;
	struct nvme_queue *q = &sc.ioq[0];
	held_read_submit(FB_ABORT_IGNORE, q, &b);
	nvme_complete(&sc, q);
	assert_true(fb.held);
	struct nvme_ccb *ccb = inflight_ccb(q);
	assert_non_null(ccb);
	shim_count_lines("abort of command");
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(nvme_abort(&sc, ccb, 3000), -1);
	assert_int_equal(shim_counted, 3);
	assert_int_equal(sc.aborts, 5);
	assert_int_equal(fb.aborts_seen, 5);
	assert_int_equal(answers[0].n, 0);
	shim_count_lines("answered after its Abort");
	fb.abort_mode = FB_ABORT_HONOUR;
	assert_int_equal(nvme_abort(&sc, ccb, 3000), 0);
	assert_int_equal(shim_counted, 1);
	shim_line_hook = 0;
	assert_int_equal(answers[0].n, 1);
	assert_int_equal(sc.aborts_answered, 1);
	assert_int_equal(sc.resets, 0);
	nvme_buf_put(&sc, &b);
}

/* an asynchronous read the model holds, under mode, polled, then polled
 * again past its deadline: nvme_poll's scan sends the Abort, and the read
 * is answered exactly then, once, nothing left in flight. b is the
 * read's buffer, for the caller to put back */
static void async_read_past_deadline(enum fb_abort mode, struct dma_buf *b)
{
	held_read_submit(mode, &sc.ioq[1], b);
	nvme_poll(&sc, &sc.ioq[1]);
	assert_int_equal(answers[0].n, 0);
	shim_clock_ns += (uint64_t)(NVME_IO_TIMEOUT_US + 1000) * 1000;
	nvme_poll(&sc, &sc.ioq[1]);
	assert_int_equal(answers[0].n, 1);
	assert_int_equal(sc.ioq[1].inflight, 0);
}

/* an asynchronous read past its deadline: nvme_poll sends the Abort; the
 * honoured Abort answers it through its done callback once, with Command
 * Abort Requested, and no reset; a raced one with its data */
static void test_abort_async_deadline(void **state)
{
	(void)state;
	static const enum fb_abort modes[] = {FB_ABORT_HONOUR, FB_ABORT_RACE};
	for (unsigned m = 0; m < 2; m++) {
		struct dma_buf b;
		async_read_past_deadline(modes[m], &b);
		assert_int_equal(answers[0].status >> 1,
				 m ? NVME_SC_SUCCESS : NVME_SC_ABORT_REQ);
		assert_int_equal(sc.ioq[1].timeouts, m + 1);
		assert_int_equal(sc.aborts_answered, m + 1);
		assert_int_equal(sc.resets, 0);
		/* nothing more arrives for it */
		shim_clock_ns += (uint64_t)(NVME_IO_TIMEOUT_US + 1000) * 1000;
		nvme_poll(&sc, &sc.ioq[1]);
		assert_int_equal(answers[0].n, 1);
		nvme_buf_put(&sc, &b);
	}
}

/* nvme_abort refuses (-1, no Abort sent, the command still outstanding)
 * in every state its guard names, each alone: an Abort already
 * outstanding (NVME_ABORT_MAX), a controller not up, dead, recovering,
 * attaching, detaching, without a live admin queue or fatal (CSTS.CFS),
 * and a command never rung (its queue plugged: the device never saw it).
 * Then, every state back, the same command is aborted (honoured): the
 * refusals were the states' */
static bool *abort_flag(unsigned i)
{
	bool *f[] = {&sc.up,	    &sc.dead,	   &sc.recovering,
		     &sc.attaching, &sc.detaching, &sc.admin.live};
	return i < 6 ? f[i] : 0;
}

static void abort_refused(struct nvme_ccb *ccb, uint16_t cid)
{
	assert_int_equal(nvme_abort(&sc, ccb, 3000), -1);
	assert_int_equal(sc.aborts, 0);
	assert_int_equal(fb.aborts_seen, 0);
	assert_int_equal(ccb->state, NVME_CCB_INFLIGHT);
	assert_int_equal(ccb->cid, cid);
}

static void test_abort_refused_states(void **state)
{
	(void)state;
	struct dma_buf b;
	struct nvme_queue *q = &sc.ioq[1];
	held_read_submit(FB_ABORT_HONOUR, q, &b);
	nvme_complete(&sc, q); /* the model fetches it, and holds it */
	assert_true(fb.held);
	struct nvme_ccb *ccb = inflight_ccb(q);
	assert_non_null(ccb);
	uint16_t cid = ccb->cid;
	sc.aborting = NVME_ABORT_MAX;
	abort_refused(ccb, cid);
	sc.aborting = 0;
	for (unsigned i = 0; abort_flag(i); i++) {
		bool *f = abort_flag(i);
		bool was = *f;
		*f = !was;
		abort_refused(ccb, cid);
		*f = was;
	}
	fb.csts = NVME_CSTS_CFS_MASK << NVME_CSTS_CFS_SHIFT;
	abort_refused(ccb, cid);
	fb.csts = 0;
	/* a second read, on the plugged queue: never rung */
	struct dma_buf b2;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b2), 0);
	struct nvme_io r2 = fb_read(8, 8, b2.iova, 4096);
	nvme_q_plug(q);
	assert_int_equal(nvme_io_submit(&sc, q, &r2, answer_done, &answers[1]),
			 0);
	struct nvme_ccb *unrung = 0;
	for (unsigned i = 0; i < q->nccb; i++)
		if (q->ccb[i].unrung)
			unrung = &q->ccb[i];
	assert_non_null(unrung);
	abort_refused(unrung, unrung->cid);
	nvme_q_unplug(&sc, q);
	/* every state back: the held read's Abort goes, and is honoured */
	assert_int_equal(nvme_abort(&sc, ccb, 3000), 0);
	assert_int_equal(fb.aborts_seen, 1);
	assert_int_equal(answers[0].n, 1);
	assert_int_equal(answers[0].status >> 1, NVME_SC_ABORT_REQ);
	for (unsigned k = 0; k < 100 && answers[1].n == 0; k++)
		nvme_complete(&sc, q);
	assert_int_equal(answers[1].n, 1);
	assert_int_equal(answers[1].status >> 1, NVME_SC_SUCCESS);
	assert_int_equal(sc.resets, 0);
	assert_int_equal(q->inflight, 0);
	nvme_buf_put(&sc, &b);
	nvme_buf_put(&sc, &b2);
}

/* nvme_poll scans deadlines every NVME_DEADLINE_CHECK_US, not per poll:
 * a command that turns late just after a scan is found by the scan
 * NVME_DEADLINE_CHECK_US later, not by the polls between */
static void test_poll_deadline_scan_rate(void **state)
{
	(void)state;
	struct dma_buf b;
	struct nvme_queue *q = &sc.ioq[1];
	held_read_submit(FB_ABORT_HONOUR, q, &b);
	/* a scan 100 us before the deadline: nothing late */
	shim_clock_ns += (uint64_t)(NVME_IO_TIMEOUT_US - 100) * 1000;
	nvme_poll(&sc, q);
	assert_int_equal(q->timeouts, 0);
	/* late now, polled before the next scan is due: not looked at */
	shim_clock_ns += (uint64_t)(NVME_DEADLINE_CHECK_US / 2) * 1000;
	nvme_poll(&sc, q);
	assert_int_equal(q->timeouts, 0);
	assert_int_equal(fb.aborts_seen, 0);
	assert_int_equal(answers[0].n, 0);
	/* the next scan, NVME_DEADLINE_CHECK_US after the last one however
	 * often polls come in between, finds it: its Abort, honoured */
	shim_clock_ns += (uint64_t)(NVME_DEADLINE_CHECK_US / 2) * 1000;
	nvme_poll(&sc, q);
	assert_int_equal(q->timeouts, 1);
	assert_int_equal(fb.aborts_seen, 1);
	assert_int_equal(answers[0].n, 1);
	assert_int_equal(sc.resets, 0);
	nvme_buf_put(&sc, &b);
}

/* nvme_poll's path when the Abort does not answer the read: "not
 * aborted" resets the controller once, whose Delete I/O SQ has the read
 * answered with the device's result; an Abort never answered is reset by
 * its own timeout, and the scan resets nothing more */
static void test_abort_async_refused_resets(void **state)
{
	(void)state;
	static const enum fb_abort modes[] = {FB_ABORT_IGNORE, FB_ABORT_STALL};
	for (unsigned m = 0; m < 2; m++) {
		struct dma_buf b;
		sc.reset_streak = 0; /* each its own first reset */
		async_read_past_deadline(modes[m], &b);
		assert_int_equal(answers[0].n, 1);
		assert_int_equal(answers[0].status, 0);
		assert_int_equal(sc.resets, m + 1);
		assert_int_equal(sc.aborts, m + 1);
		assert_int_equal(sc.aborts_answered, 0);
		assert_true(sc.up);
		nvme_buf_put(&sc, &b);
	}
}

/* ---- a controller that does not stop ----------------------------------- */
/* A detach whose stop fails (the controller ignored CC.EN=0: fenced) keeps
 * the driver's DMA pool for good — the rings and buffers the controller
 * may still write — as the broker keeps a fenced controller's pages; the
 * block devices and the namespace table go. Before, nvme_detach revoked
 * the pool under it, relying on bus mastering being off. */
static void test_fenced_detach_keeps_pool(void **state)
{
	(void)state;
	fb.fence_at_stop = true;
	assert_int_equal(nvme_detach(&sc), -1);
	assert_true(fb.fenced);
	assert_true(dma_pool_live(&sc.pool));
	assert_int_equal(nblockdevs, 0);
	assert_null(sc.ns);
	/* the test gives it back itself: the next test's owner starts clean */
	fb.fenced = false;
	assert_int_equal(dma_pool_revoke(&sc.pool), 0);
}

/* An attach whose unwind finds the controller not stopping (its first
 * command never answered, then the reset fenced) keeps its pool too; one
 * that fails with the controller stopped gives it back
 * (test_attach_timeout_no_reset). */
static void test_fenced_attach_keeps_pool(void **state)
{
	(void)state;
	nvme_detach(&sc);
	struct nvme_softc s2;
	fake_broker_softc(&s2);
	fb.device_stalled = true;
	fb.fence_at_stop = true;
	assert_int_equal(nvme_attach(&s2), -1);
	fb.device_stalled = false;
	assert_true(fb.fenced);
	assert_true(dma_pool_live(&s2.pool));
	assert_non_null(strstr(shim_last_line, "kept for good"));
	fb.fenced = false;
	assert_int_equal(dma_pool_revoke(&s2.pool), 0);
}

/* ---- detach: I/O queues deleted, then the shutdown --------------------- */
/* A live controller's detach deletes its I/O queues — Delete I/O SQ then
 * CQ, queue 2 then queue 1 — before nvme_broker_shutdown, and nothing
 * reaches the device after it; a write outstanding on queue 1 is answered
 * once, with the device's success, and is on the disk. Before, the detach
 * only stopped the controller: no queue deleted, no shutdown. */
static void test_detach_deletes_queues_then_shuts_down(void **state)
{
	(void)state;
	struct dma_buf b;
	memset(answers, 0, sizeof(answers));
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	memset(b.va, 0xa0, 4096);
	struct nvme_io w = {.opc = NVME_IO_WRITE,
			    .nsid = 1,
			    .slba = posted_lba[0],
			    .nlb = 8,
			    .iova = b.iova,
			    .len = 4096};
	assert_int_equal(
	    nvme_io_submit(&sc, &sc.ioq[0], &w, answer_done, &answers[0]), 0);
	unsigned nlog = fb.dev.nlog;
	assert_int_equal(nvme_detach(&sc), 0);
	assert_int_equal(fb.shutdowns, 1);
	assert_int_equal(fb.shutdown_nlog, fb.dev.nlog); /* nothing after */
	static const struct {
		uint8_t opc;
		uint16_t qid;
	} want[] = {{NVME_ADM_DELETE_SQ, 2},
		    {NVME_ADM_DELETE_CQ, 2},
		    {NVME_ADM_DELETE_SQ, 1},
		    {NVME_ADM_DELETE_CQ, 1}};
	unsigned k = 0;
	for (unsigned i = nlog; i < fb.dev.nlog; i++) {
		const struct nvme_sqe *c = &fb.dev.log[i];
		if (c->nsid) /* the write */
			continue;
		assert_true(k < ARRAY_SIZE(want));
		assert_int_equal(nvme_sqe_opc(c), want[k].opc);
		assert_int_equal(FIELD_GET(NVME_DELETEQ_QID, c->cdw10),
				 want[k].qid);
		k++;
	}
	assert_int_equal(k, ARRAY_SIZE(want));
	assert_int_equal(answers[0].n, 1);
	assert_int_equal(answers[0].status, 0);
	assert_true(on_disk(0));
	assert_int_equal(sc.ioq[0].inflight + sc.ioq[1].inflight, 0);
	assert_false(sc.ioq[0].live || sc.ioq[1].live || sc.admin.live);
	assert_false(dma_pool_live(&sc.pool));
	assert_int_equal(nblockdevs, 0);
	/* detached twice: stopped only, nothing sent, nothing freed twice */
	nlog = fb.dev.nlog;
	assert_int_equal(nvme_detach(&sc), 1);
	assert_int_equal(fb.dev.nlog, nlog);
	assert_int_equal(fb.shutdowns, 1);
}

/* A Delete I/O SQ the device never answers: waited NVME_ADMIN_TIMEOUT_US,
 * one line, no reset (the controller is not re-enabled), the deletes end
 * there and the shutdown follows. Before: no delete, no shutdown. */
static void test_detach_delete_timeout_no_reset(void **state)
{
	(void)state;
	fb.device_stalled = true;
	unsigned enables = fb.enables, resets = fb.resets;
	uint64_t t0 = shim_clock_ns;
	shim_count_lines("unable to delete I/O");
	assert_int_equal(nvme_detach(&sc), 0);
	unsigned said = shim_counted;
	shim_line_hook = NULL;
	assert_int_equal(said, 1);
	/* the deletes' deadline is whole microseconds from their start */
	assert_in_range((shim_clock_ns - t0) / 1000,
			NVME_ADMIN_TIMEOUT_US - 1000,
			NVME_ADMIN_TIMEOUT_US + 100000);
	assert_int_equal(fb.enables, enables);
	assert_int_equal(fb.resets, resets + 1); /* the stop's own reset */
	assert_int_equal(sc.resets, 0);
	assert_int_equal(fb.shutdowns, 1);
	assert_false(dma_pool_live(&sc.pool));
}

/* the controller does not confirm the shutdown (SHST never 10b: the
 * broker stopped it anyway): 1 */
static void test_detach_shutdown_unconfirmed(void **state)
{
	(void)state;
	fb.shst_fail = true;
	assert_int_equal(nvme_detach(&sc), 1);
	assert_int_equal(fb.shutdowns, 1);
	assert_false(dma_pool_live(&sc.pool));
}

/* ---- recovery: I/O queues deleted before the disable --------------------
 * A controller that is ready and not fatal has its I/O queues deleted
 * before CC.EN=0, as Linux's nvme_dev_disable: QEMU 7.2's reset frees an
 * SQ whose reads are still in flight (README, Debugging). Before, every
 * recovery disabled the controller with its I/O queues live: each test
 * below but the last failed. */

/* the model's command log length when the controller was stopped */
static unsigned stop_nlog;
static void note_stop_nlog(void)
{
	stop_nlog = fb.dev.nlog;
}

/* the admin commands logged in [from, to), as (opcode, queue id) pairs;
 * how many */
static unsigned admin_log(unsigned from, unsigned to, uint8_t *opc,
			  uint16_t *qid, unsigned max)
{
	unsigned k = 0;
	for (unsigned i = from; i < to && k < max; i++) {
		const struct nvme_sqe *c = &fb.dev.log[i];
		if (c->nsid)
			continue;
		opc[k] = nvme_sqe_opc(c);
		qid[k] = (uint16_t)FIELD_GET(NVME_DELETEQ_QID, c->cdw10);
		k++;
	}
	return k;
}

/* a read held by the device on queue 1 at a recovery: Delete I/O SQ and
 * CQ 2, then 1, all before the stop; the read answered once, with the
 * device's result (the model runs what a deleted SQ held, as QEMU's
 * nvme_del_sq waits each request out); the controller back up */
static void test_recover_deletes_io_queues_first(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	ndone = naborted = 0;
	fb.hold_io = true;
	struct nvme_io r = fb_read(0, 8, b.iova, 4096);
	assert_int_equal(nvme_io_submit(&sc, &sc.ioq[0], &r, count_done, 0), 0);
	nvme_complete(&sc, &sc.ioq[0]);
	assert_true(fb.held);
	assert_int_equal(ndone, 0);
	unsigned nlog = fb.dev.nlog, resets = fb.resets;
	stop_nlog = 0;
	fb.before_stop = note_stop_nlog;
	assert_int_equal(nvme_recover(&sc, "test"), 0);
	assert_int_equal(fb.resets, resets + 1);
	uint8_t opc[8];
	uint16_t qid[8];
	assert_int_equal(admin_log(nlog, stop_nlog, opc, qid, 8), 4);
	static const uint8_t want_opc[4] = {
	    NVME_ADM_DELETE_SQ, NVME_ADM_DELETE_CQ, NVME_ADM_DELETE_SQ,
	    NVME_ADM_DELETE_CQ};
	static const uint16_t want_qid[4] = {2, 2, 1, 1};
	for (unsigned k = 0; k < 4; k++) {
		assert_int_equal(opc[k], want_opc[k]);
		assert_int_equal(qid[k], want_qid[k]);
	}
	assert_int_equal(ndone, 1);
	assert_int_equal(naborted, 0);
	assert_int_equal(sc.ioq[0].inflight + sc.ioq[1].inflight, 0);
	assert_int_equal(sc.reset_failed_cmds, 0);
	assert_true(sc.up);
	uint8_t blk[512];
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
	nvme_buf_put(&sc, &b);
}

/* a completion callback that submits again while the recovery deletes
 * the I/O queues (a block layer retrying): refused at once, as while they
 * drain, nothing reaching the device. Before, it went to queue 1, not yet
 * deleted, or rang queue 2's deleted SQ (refused by the gate, a line) */
static int retried = 1;
static uint64_t retry_iova;
static void retry_done(struct nvme_softc *s, struct nvme_ccb *ccb,
		       const struct nvme_cqe *e)
{
	(void)e;
	nvme_ccb_put(ccb);
	struct nvme_io r = fb_read(0, 8, retry_iova, 4096);
	retried = nvme_io_submit(s, &s->ioq[0], &r, count_done, 0);
}

static void test_recover_refuses_io_while_deleting(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	retry_iova = b.iova;
	retried = 1;
	ndone = 0;
	fb.hold_io = true;
	struct nvme_io r = fb_read(0, 8, b.iova, 4096);
	assert_int_equal(nvme_io_submit(&sc, &sc.ioq[1], &r, retry_done, 0), 0);
	nvme_complete(&sc, &sc.ioq[1]);
	assert_true(fb.held);
	unsigned nlog = fb.dev.nlog;
	assert_int_equal(nvme_recover(&sc, "test"), 0);
	assert_int_equal(retried, -1);
	assert_int_equal(ndone, 0);
	for (unsigned i = nlog; i < fb.dev.nlog; i++) /* no I/O after */
		assert_int_equal(fb.dev.log[i].nsid, 0);
	assert_int_equal(sc.ioq[0].inflight + sc.ioq[1].inflight, 0);
	assert_true(sc.up);
	nvme_buf_put(&sc, &b);
}

/* a device that answers no Delete I/O SQ: waited NVME_ADMIN_TIMEOUT_US
 * once, one line, and the recovery goes on as before: the stop, the
 * outstanding read failed as aborted, the controller back up */
static void test_recover_delete_timeout_falls_through(void **state)
{
	(void)state;
	struct dma_buf b;
	assert_int_equal(nvme_buf_get(&sc, 4096, &b), 0);
	ndone = naborted = 0;
	fb.device_stalled = true;
	struct nvme_io r = fb_read(0, 8, b.iova, 4096);
	assert_int_equal(nvme_io_submit(&sc, &sc.ioq[0], &r, count_done, 0), 0);
	unsigned resets = fb.resets;
	uint64_t t0 = shim_clock_ns;
	shim_count_lines("unable to delete I/O");
	assert_int_equal(nvme_recover(&sc, "test"), 0);
	unsigned said = shim_counted;
	shim_line_hook = NULL;
	assert_int_equal(said, 1);
	assert_in_range((shim_clock_ns - t0) / 1000,
			NVME_ADMIN_TIMEOUT_US - 1000,
			NVME_ADMIN_TIMEOUT_US + 100000);
	assert_int_equal(fb.resets, resets + 1);
	assert_int_equal(ndone, 1);
	assert_int_equal(naborted, 1);
	assert_true(sc.up);
	uint8_t blk[512];
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
	nvme_buf_put(&sc, &b);
}

/* a fatal controller (CSTS.CFS) is not asked to delete anything: it is
 * disabled at once, as before */
static void test_recover_fatal_skips_deletes(void **state)
{
	(void)state;
	fb.csts = NVME_CSTS_CFS_MASK << NVME_CSTS_CFS_SHIFT;
	unsigned nlog = fb.dev.nlog;
	stop_nlog = 0;
	fb.before_stop = note_stop_nlog;
	assert_int_equal(nvme_recover(&sc, "test"), 0);
	uint8_t opc[8];
	uint16_t qid[8];
	assert_int_equal(admin_log(nlog, stop_nlog, opc, qid, 8), 0);
	assert_int_equal(stop_nlog, nlog);
	assert_true(sc.up);
}

/* ---- a controller that changes across a reset ---------------------------
 * Firmware activated across a reset may change MDTS, ONCS, the NVM limits
 * and the namespaces. The broker identifies the controller again at the
 * enable after a reset (fb_reidentify, as broker_reidentify) and keeps the
 * narrower of each limit; the driver follows before its queues come back
 * (nvme_ns_revalidate). Before, the driver ran on what the open's probe
 * said: each test below failed. */

/* a reset with the device idle: nvme_recover, which brings it back (each
 * one a streak of its own: no backoff) */
static void reset_now(void)
{
	unsigned before = fb.reidents;
	shim_clock_ns += NVME_RESET_QUIET_US * 1000;
	assert_int_equal(nvme_recover(&sc, "test: firmware activated"), 0);
	assert_true(sc.up);
	assert_int_equal(fb.reidents, before + 1);
}

/* MDTS 5 -> 3: 32 KiB a command from the reset on, in the driver and the
 * gate; a 64 KiB write goes as two commands. MDTS 7 after the next reset
 * does not widen it again (the arena was sized by the first; Linux's
 * nvme_init_identify keeps min_not_zero too). Before: sc.max_xfer stayed
 * 128 KiB and the write went as one command the new firmware refuses. */
static void test_reident_mdts_narrower(void **state)
{
	(void)state;
	assert_int_equal(sc.max_xfer, 128u << 10);
	fb.mdts_override = 3;
	reset_now();
	assert_int_equal(sc.max_xfer, 32u << 10);
	assert_int_equal(fb.pol.max_xfer, 32u << 10);
	assert_int_equal(sc.id.mdts, 3);
	uint8_t *buf = calloc(1, 64 << 10);
	unsigned from = fb.dev.nlog;
	assert_int_equal(blockdevs[0]->write(blockdevs[0], 0, 128, buf), 0);
	assert_int_equal(logged(from, NVME_IO_WRITE), 2);
	fb.mdts_override = 7;
	reset_now();
	assert_int_equal(sc.max_xfer, 32u << 10);
	assert_int_equal(fb.pol.max_xfer, 32u << 10);
	assert_int_equal(sc.id.mdts, 3);
	free(buf);
}

/* ONCS loses Write Zeroes and DSM across a reset: the block interface
 * answers BLOCKDEV_EOPNOTSUPP and builds nothing; the gate's policy
 * refuses them too. Before: the driver kept the old ONCS, sent Write
 * Zeroes and the gate refused it (-1, a command wasted). */
static void test_reident_oncs_narrower(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	assert_int_equal(bd->write_zeroes(bd, 0, 8), 0);
	fb.dev.oncs = 0;
	reset_now();
	assert_int_equal(fb.pol.oncs & NVME_ONCS_WRITE_ZEROES, 0);
	uint64_t rejected = sc.ioq[0].rejected + sc.ioq[1].rejected;
	unsigned from = fb.dev.nlog;
	assert_int_equal(bd->write_zeroes(bd, 0, 8), BLOCKDEV_EOPNOTSUPP);
	assert_int_equal(bd->discard(bd, 0, 8), BLOCKDEV_EOPNOTSUPP);
	assert_false(bd->discard_zeroes);
	assert_int_equal(fb.dev.nlog, from);
	assert_int_equal(sc.ioq[0].rejected + sc.ioq[1].rejected, rejected);
	/* named again after another reset: not widened */
	fb.dev.oncs = NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES;
	reset_now();
	assert_int_equal(bd->write_zeroes(bd, 0, 8), BLOCKDEV_EOPNOTSUPP);
}

/* the NVM limits narrow across a reset (WZSL 2^2 pages -> 2^1, DMRL 4
 * -> 2): the per-command splits follow (16 blocks a Write Zeroes). Before:
 * 32 blocks a command, which the model counts over its limit. */
static void test_reident_nvm_limits_narrower(void **state)
{
	(void)state;
	next_nvm = (struct nvme_id_ctrl_nvm){.wzsl = 2, .dmrl = 4};
	attach_clear(1ull << 25, NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES, 1);
	assert_int_equal(sc.ns[0].wz_blocks, 32);
	assert_int_equal(sc.ns[0].dsm_ranges, 4);
	fb.dev.wzsl = 1;
	fb.dev.dmrl = 2;
	reset_now();
	assert_int_equal(sc.ns[0].wz_blocks, 16);
	assert_int_equal(sc.ns[0].dsm_ranges, 2);
	struct blockdev *bd = blockdevs[0];
	unsigned from = fb.dev.nlog;
	assert_int_equal(bd->write_zeroes(bd, 0, 64), 0);
	assert_int_equal(logged(from, NVME_IO_WRITE_ZEROES), 4);
	assert_int_equal(fb.dev.over_limit, 0);
	/* WZSL 0 (none) after the next: the narrower, 16, stays */
	fb.dev.wzsl = 0;
	reset_now();
	assert_int_equal(sc.ns[0].wz_blocks, 16);
}

/* namespace 1 shrinks 2048 -> 1024 blocks across a reset: the block
 * device says 1024 and I/O past it is refused before any command; grown
 * to 4096 after the next, it serves 4096. Before: 2048 blocks, and a
 * read at 1500 went to the controller. */
static void test_reident_ns_resized(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	uint8_t blk[512];
	assert_int_equal(bd->block_count, 2048);
	fb.nsze_override = 1024;
	reset_now();
	assert_int_equal(nblockdevs, 1);
	assert_int_equal(bd->block_count, 1024);
	assert_int_equal(fb.pol.ns[0].nsze, 1024);
	unsigned from = fb.dev.nlog;
	assert_int_equal(bd->read(bd, 1500, 1, blk), -1);
	assert_int_equal(bd->read(bd, 1023, 2, blk), -1);
	assert_int_equal(fb.dev.nlog, from);
	assert_int_equal(bd->read(bd, 100, 1, blk), 0);
	fb.nsze_override = 4096;
	reset_now();
	assert_int_equal(bd->block_count, 4096);
	assert_int_equal(sc.ns[0].nsze, 4096);
}

/* namespace 1 vanishes across a reset (inactive): its block device is
 * unregistered and a request through the pointer a caller still holds
 * is refused, nothing sent. Before: the block device stayed and reads
 * went to a namespace the controller no longer has. */
static void test_reident_ns_gone(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	uint8_t blk[512];
	/* namespace 1 inactive: its Identify Namespace all zeros (NVMe 2.0
	 * §5.17.2.1), which the parser refuses (size zero) */
	static char buf[8192];
	struct json j;
	json_init(&j, buf, sizeof(buf));
	nvme_json(&sc, &j);
	assert_true(json_end(&j) > 0);
	assert_non_null(strstr(buf, "\"given_up\":false"));
	fb.ns1_inactive = true;
	reset_now();
	assert_int_equal(nblockdevs, 0);
	assert_true(sc.ns[0].gone);
	assert_int_equal(fb.pol.nns, 0);
	/* /api/nvme says so (before, it listed the namespace as if served) */
	json_init(&j, buf, sizeof(buf));
	nvme_json(&sc, &j);
	assert_true(json_end(&j) > 0);
	assert_non_null(strstr(buf, "\"given_up\":true"));
	unsigned from = fb.dev.nlog;
	assert_int_equal(bd->read(bd, 0, 1, blk), -1);
	assert_int_equal(bd->flush(bd), -1);
	assert_int_equal(fb.dev.nlog, from);
	/* back at the next reset: a namespace that appeared, attached in an
	 * entry of its own; the one given up stays given up, its pointer
	 * refused. Before: not attached until the driver was bound again */
	fb.ns1_inactive = false;
	reset_now();
	assert_int_equal(fb.pol.nns, 1);
	assert_int_equal(sc.nns, 2);
	assert_true(sc.ns[0].gone);
	assert_false(sc.ns[1].gone);
	assert_int_equal(nblockdevs, 1);
	assert_ptr_equal(blockdevs[0], &sc.ns[1].bdev);
	assert_string_equal(blockdevs[0]->name, "nvme0n1");
	from = fb.dev.nlog;
	assert_int_equal(bd->read(bd, 0, 1, blk), -1);
	assert_int_equal(fb.dev.nlog, from);
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
}

/* ---- namespace identity (Identify CNS 03h) ----------------------------- */
/* the model's identifiers: namespace nsid's NGUID in its descriptor list
 * when t_nguid[nsid][0] is nonzero (then a CSI descriptor of NVM), none
 * at all when t_descs_refused; namespaces 2..t_ns_last exist (1024
 * 512-byte blocks each) */
static uint8_t t_nguid[8][16];
static bool t_descs_refused;
static uint32_t t_ns_last;
static bool t_descs(uint32_t nsid, uint8_t *page)
{
	if (t_descs_refused)
		return false;
	unsigned pos = 0;
	if (nsid < 8 && t_nguid[nsid][0]) {
		page[0] = NVME_NIDT_NGUID;
		page[1] = NVME_NIDL_NGUID;
		memcpy(page + 4, t_nguid[nsid], 16);
		pos = 20;
	}
	page[pos] = NVME_NIDT_CSI;
	page[pos + 1] = NVME_NIDL_CSI;
	page[pos + 4] = NVME_CSI_NVM;
	return true;
}
static void t_ns(uint32_t nsid, struct nvme_id_ns *id)
{
	if (nsid < 2 || nsid > t_ns_last)
		return;
	id->nsze = 1024;
	id->lbaf[0] = 9u << NVME_LBAF_LBADS_SHIFT;
}

/* a controller of NVMe 1.3 that answers CNS 03h: namespace 1's NGUID
 * 11 22 .. 11 */
static int setup_ids(void **state)
{
	(void)state;
	shim_quiet = getenv("NVME_TEST_VERBOSE") == NULL;
	fake_broker_init(7);
	fake_broker_softc(&sc);
	memset(t_nguid, 0, sizeof(t_nguid));
	memset(t_nguid[1], 0x11, 16);
	t_descs_refused = false;
	t_ns_last = 0;
	fb.vs = 0x10300;
	fb.descs_hook = t_descs;
	fb.ns_hook = t_ns;
	return nvme_attach(&sc);
}

static const char *api_nvme(void)
{
	static char buf[8192];
	struct json j;
	json_init(&j, buf, sizeof(buf));
	nvme_json(&sc, &j);
	assert_true(json_end(&j) > 0);
	return buf;
}

/* the same identifiers after a reset: the same namespace, served on;
 * /api/nvme shows the NGUID as hex and no EUI64 or UUID (unknown) */
static void test_reident_ids_unchanged(void **state)
{
	(void)state;
	assert_int_equal(sc.ns[0].ids.have, NVME_NSIDS_NGUID | NVME_NSIDS_CSI);
	const char *j = api_nvme();
	assert_non_null(
	    strstr(j, "\"nguid\":\"11111111111111111111111111111111\""));
	assert_null(strstr(j, "\"eui64\""));
	assert_null(strstr(j, "\"uuid\""));
	struct blockdev *bd = blockdevs[0];
	reset_now();
	assert_int_equal(sc.nns, 1);
	assert_false(sc.ns[0].gone);
	assert_int_equal(nblockdevs, 1);
	assert_ptr_equal(blockdevs[0], bd);
	uint8_t blk[512];
	assert_int_equal(bd->read(bd, 0, 1, blk), 0);
}

/* namespace 1 is another namespace after the reset (its NGUID changed,
 * its format and size the same: Linux's nvme_ns_ids_equal): the one
 * before is given up — its block device gone, its pointer refused — and
 * the new one attached under the same name in an entry of its own.
 * Before: the format was the only identity checked, and the driver went
 * on serving the new namespace through the old block device */
static void test_reident_nguid_changed(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	uint8_t blk[512];
	memset(t_nguid[1], 0x22, 16);
	shim_count_lines("namespace 1 is another namespace (NGUID "
			 "11111111111111111111111111111111 -> "
			 "22222222222222222222222222222222)");
	reset_now();
	assert_int_equal(shim_counted, 1);
	shim_line_hook = NULL;
	assert_int_equal(sc.nns, 2);
	assert_true(sc.ns[0].gone);
	assert_false(sc.ns[1].gone);
	assert_int_equal(sc.ns[1].nsid, 1);
	assert_int_equal(sc.ns[1].ids.nguid[0], 0x22);
	assert_int_equal(nblockdevs, 1);
	assert_ptr_equal(blockdevs[0], &sc.ns[1].bdev);
	unsigned from = fb.dev.nlog;
	assert_int_equal(bd->read(bd, 0, 1, blk), -1);
	assert_int_equal(fb.dev.nlog, from);
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), 0);
	const char *j = api_nvme();
	assert_non_null(strstr(j, "\"given_up\":true"));
	assert_non_null(
	    strstr(j, "\"nguid\":\"22222222222222222222222222222222\""));
	/* the same again: nothing more given up */
	reset_now();
	assert_int_equal(sc.nns, 2);
	assert_false(sc.ns[1].gone);
	assert_int_equal(nblockdevs, 1);
}

/* the NGUID was known, and after the reset the controller refuses CNS
 * 03h: present then absent is another namespace (nothing proves it the
 * same); an identifier unknown before proves nothing: known after the
 * next reset, the namespace is served on */
static void test_reident_id_gone_then_known(void **state)
{
	(void)state;
	t_descs_refused = true;
	reset_now();
	assert_int_equal(sc.nns, 2);
	assert_true(sc.ns[0].gone);
	assert_int_equal(sc.ns[1].ids.have, 0);
	assert_int_equal(nblockdevs, 1);
	t_descs_refused = false;
	reset_now();
	assert_int_equal(sc.nns, 2);
	assert_false(sc.ns[1].gone);
	assert_int_equal(sc.ns[1].ids.have, NVME_NSIDS_NGUID | NVME_NSIDS_CSI);
	assert_int_equal(nblockdevs, 1);
}

/* namespace 2 becomes active at a reset: granted by the broker and
 * attached as at the attach, one line. Before: "not granted until the
 * driver is bound again" */
static void test_reident_ns_appears(void **state)
{
	(void)state;
	fb.nn_override = 2;
	t_ns_last = 2;
	memset(t_nguid[2], 0x33, 16);
	shim_count_lines("nvme0: nvme0n2: 1024 blocks of 512 bytes");
	reset_now();
	assert_int_equal(shim_counted, 1);
	shim_line_hook = NULL;
	assert_int_equal(fb.pol.nns, 2);
	assert_int_equal(sc.nns, 2);
	assert_int_equal(nblockdevs, 2);
	assert_string_equal(blockdevs[1]->name, "nvme0n2");
	assert_int_equal(sc.ns[1].nsze, 1024);
	assert_int_equal(sc.ns[1].ids.nguid[15], 0x33);
	assert_false(sc.ns[0].gone);
}

/* more namespaces appear than the table has room for (NVME_NS_LATE past
 * the attach's): those that fit are attached, each of the rest one line,
 * at every reset while it is granted and not served */
static void test_reident_ns_table_full(void **state)
{
	(void)state;
	t_ns_last = 2 + NVME_NS_LATE;
	fb.nn_override = t_ns_last;
	shim_count_lines("not attached: the 5 entries of the namespace table "
			 "are used (NVME_NS_LATE 4 past the attach's)");
	reset_now();
	assert_int_equal(shim_counted, 1);
	shim_line_hook = NULL;
	assert_int_equal(sc.nns, sc.ns_alloc);
	assert_int_equal(sc.ns_alloc, 1 + NVME_NS_LATE);
	assert_int_equal(nblockdevs, 1 + NVME_NS_LATE);
	assert_int_equal(fb.pol.nns, 2 + NVME_NS_LATE);
}

/* namespace 1's LBA format changes across a reset (512 -> 4096-byte
 * blocks): its identity changed, so it is given up, not resized — as
 * Linux's nvme_validate_ns removes a namespace whose identifiers changed.
 * Before: the driver kept 512-byte blocks on a 4 KiB-block namespace. */
static void test_reident_ns_format_changed(void **state)
{
	(void)state;
	struct blockdev *bd = blockdevs[0];
	uint8_t blk[4096];
	fb.lbads_override = 12;
	reset_now();
	assert_int_equal(nblockdevs, 0);
	assert_int_equal(fb.pol.nns, 0);
	unsigned from = fb.dev.nlog;
	assert_int_equal(bd->read(bd, 0, 1, blk), -1);
	assert_int_equal(fb.dev.nlog, from);
}

/* the identify after the reset fails: the enable is refused and the
 * controller given up (every command fails at once), not run on what it
 * said before. Before: it came back up on the old facts. */
static void test_reident_fails_gives_up(void **state)
{
	(void)state;
	fb.fail_reident = true;
	assert_int_equal(nvme_recover(&sc, "test: firmware activated"), -1);
	assert_true(sc.dead);
	assert_false(sc.up);
	uint8_t blk[512];
	assert_int_equal(blockdevs[0]->read(blockdevs[0], 0, 1, blk), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_attach, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_any_done_failure_explicit,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_callback_reset_ends_batch,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_counts_from_submission,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fenced_detach_keeps_pool,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_detach_deletes_queues_then_shuts_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_detach_delete_timeout_no_reset,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_detach_shutdown_unconfirmed,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_recover_deletes_io_queues_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_recover_refuses_io_while_deleting, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_recover_delete_timeout_falls_through, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recover_fatal_skips_deletes,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fenced_attach_keeps_pool,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owner_revoked, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_prp_shapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_block_io, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_slots_and_refused_ring,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rejection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wait_rings_own_deferred, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_plug, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_block_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_block_write_zeroes_discard,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_block_clear_past_end, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_block_clear_split, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_block_clear_nvm_limits, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_block_clear_no_nvm_identify,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_block_clear_absurd_limits,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_block_clear_not_supported,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_block_clear_oncs_lie, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_block_clear_status, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reset_fails_outstanding, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abort_honoured_no_reset, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_abort_raced_by_completion,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_abort_answered_twice_delivered_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abort_not_aborted_resets,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abort_lie_resets, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_abort_timeout_one_reset, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_abort_refused_states, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_abort_late_answer_no_reset,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_abort_not_aborted_waits_no_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abort_failures_lines_bounded,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_deadline_scan_rate, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_abort_async_refused_resets,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abort_async_deadline, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reset_storm_given_up, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resume_fails_no_queue_live,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_quiet_ends_streak, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_attach_timeout_no_reset, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_recovery_fails, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_cid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_phase, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_sqhd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sqhd_past_ring, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cid_index_past_ccbs, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_completion_lines_bounded,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_error_counted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cfs_polled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_cqes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cqe_for_unrung, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_never_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ns_size_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_io_queues_sized_by_mqes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_mdts_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_block_larger_than_max_xfer,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ns_bytes_overflow, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_async_deadline, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_io_len_mismatch, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_gate_made_completion_irq,
					    setup_irq, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_reset_delivers_posted,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_reset_waiter_succeeds,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cfs_reset_fails_posted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_reset_delivers_nothing,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_detach_delivers_posted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reident_mdts_narrower, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reident_oncs_narrower, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reident_nvm_limits_narrower,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reident_ns_resized, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reident_ns_gone, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reident_ns_format_changed,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reident_fails_gives_up, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reident_ids_unchanged,
					    setup_ids, teardown),
	    cmocka_unit_test_setup_teardown(test_reident_nguid_changed,
					    setup_ids, teardown),
	    cmocka_unit_test_setup_teardown(test_reident_id_gone_then_known,
					    setup_ids, teardown),
	    cmocka_unit_test_setup_teardown(test_reident_ns_appears, setup_ids,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reident_ns_table_full,
					    setup_ids, teardown),
	    cmocka_unit_test_setup_teardown(test_cfs_detach_fails_posted, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
