/* tests/host/validator/bench_validator.c — host microbenchmark of the
 * validator and the gate (built by tests/bench/validator.py at -O2 without
 * sanitizers, once as is and once with -DCAPOS_NVME_VALIDATOR_OFF).
 *
 * Prints key=value lines:
 *   val_4k_ns     nvme_validate, 4 KiB read through PRP1, the policy's grant
 *                 hint set as the gate keeps it
 *   val_4k_cold_ns  the same without the hint (a table scan)
 *   val_list_ns   nvme_validate, a max-transfer read through a PRP list
 *   list_entries  PRP list entries of that command
 *   gate_4k_ns    gate round trip per 4 KiB read: ring (validate + shadow
 *                 copy + doorbell) and reap (translate one completion),
 *                 batches of 32, with a stub device that completes in place
 * Wall clock (CLOCK_MONOTONIC) over many iterations; best of ROUNDS rounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dma/nvme_gate.h"
#include "dma/nvme_validate.h"
#include "val_fixture.h"

/* many short rounds, best kept: the machine is shared */
#define ROUNDS 15

static uint8_t *arena;
static uint64_t A;
static struct grant_table gt;
static struct nvme_val_policy pol;
static uint64_t listbuf[NVME_VAL_LIST_MAX];
static volatile uint64_t sink;

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static bool fetch(void *ctx, uint64_t iova, uint64_t *dst, uint32_t n)
{
	(void)ctx;
	memcpy(dst, (void *)(uintptr_t)iova, (size_t)n * 8);
	return true;
}

/* hint: let the policy carry the last matching grant, as the gate does */
static double bench_validate(const struct nvme_sqe *c, long iters, bool hint)
{
	const struct nvme_val_list l = {.fetch = fetch, .out = listbuf};
	double best = 1e30;
	struct nvme_val_result r0;
	pol.hint = 0;
	nvme_validate(&pol, NVME_QT_IO, c, &l, &r0);
	pol.hint = hint ? r0.last : 0;
	for (int round = 0; round < ROUNDS; round++) {
		double t0 = now_ns();
		for (long i = 0; i < iters; i++) {
			struct nvme_val_result r;
			sink += nvme_validate(&pol, NVME_QT_IO, c, &l, &r);
		}
		double dt = (now_ns() - t0) / (double)iters;
		if (dt < best)
			best = dt;
	}
	return best;
}

/* ---- a stub device for the gate round trip ------------------------------ */
static struct nvme_gate g;
static struct {
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	uint16_t size, head, cqtail;
	uint8_t phase;
} dev;

static void env_doorbell(void *ctx, uint32_t index, uint32_t value)
{
	(void)ctx;
	if (index != 2)
		return;
	/* complete every new command in place, as fast as possible */
	while (dev.head != value) {
		struct nvme_cqe *e = &dev.cq[dev.cqtail];
		dev.head = (uint16_t)((dev.head + 1) % dev.size);
		e->dw0 = 0;
		e->sqhd = dev.head;
		e->sqid = 1;
		e->cid =
		    nvme_sqe_cid(&dev.sq[(dev.head + dev.size - 1) % dev.size]);
		e->status = dev.phase;
		if (++dev.cqtail == dev.size) {
			dev.cqtail = 0;
			dev.phase ^= 1;
		}
	}
}

static int env_alloc(void *ctx, size_t len, bool dev_writes,
		     struct dma_buf *out)
{
	(void)ctx, (void)dev_writes;
	size_t n = (len + 4095) & ~(size_t)4095;
	out->va = aligned_alloc(4096, n);
	memset(out->va, 0, n);
	out->iova = (uint64_t)(uintptr_t)out->va;
	out->len = n;
	return 0;
}
static int env_free(void *ctx, struct dma_buf *b)
{
	(void)ctx;
	free(b->va);
	return 0;
}
static void *env_va(void *ctx, uint64_t iova, size_t len)
{
	(void)ctx, (void)len;
	return (void *)(uintptr_t)iova;
}

static double bench_gate(long iters)
{
	const uint16_t QS = 256, BATCH = 32;
	struct nvme_gate_env env = {.doorbell = env_doorbell,
				    .shadow_alloc = env_alloc,
				    .shadow_free = env_free,
				    .drv_va = env_va};
	if (nvme_gate_init(&g, &env, &pol))
		abort();
	uint64_t asq, acq;
	if (nvme_gate_admin_open(&g, A, A + 0x4000, 16, &asq, &acq))
		abort();
	/* I/O queue pair 1 straight into the gate (the admin path is
	 * covered by the tests); the stub device uses the shadows */
	uint64_t dsq = A + 0x10000, dcq = A + 0x20000;
	struct nvme_sqe c = {0};
	c.cdw0 = NVME_ADM_CREATE_CQ;
	c.prp1 = dcq;
	c.cdw10 = 1 | ((uint32_t)(QS - 1) << 16);
	c.cdw11 = 1;
	((struct nvme_sqe *)(uintptr_t)A)[0] = c;
	c.cdw0 = NVME_ADM_CREATE_SQ | (1u << 16);
	c.prp1 = dsq;
	c.cdw11 = 1 | (1u << 16);
	((struct nvme_sqe *)(uintptr_t)A)[1] = c;
	nvme_gate_sq_ring(&g, 0, 2);
	/* complete both creates by hand on the shadow admin CQ */
	struct nvme_cqe *acqv = g.cq[0].shadow.va;
	for (int i = 0; i < 2; i++) {
		acqv[i].sqid = 0;
		acqv[i].sqhd = (uint16_t)(i + 1);
		acqv[i].cid = (uint16_t)i;
		acqv[i].status = 1;
	}
	if (nvme_gate_cq_reap(&g, 0) != 2 || g.sq[1].state != NVME_GQ_LIVE)
		abort();
	dev.sq = g.sq[1].shadow.va;
	dev.cq = g.cq[1].shadow.va;
	dev.size = QS;
	dev.phase = 1;
	struct nvme_sqe *drv = (struct nvme_sqe *)(uintptr_t)dsq;
	struct nvme_cqe *dcqv = (struct nvme_cqe *)(uintptr_t)dcq;
	uint16_t tail = 0, head = 0;
	uint8_t phase = 1;
	double best = 1e30;
	for (int round = 0; round < ROUNDS; round++) {
		double t0 = now_ns();
		for (long i = 0; i < iters; i += BATCH) {
			for (uint16_t k = 0; k < BATCH; k++) {
				struct nvme_sqe r = {0};
				r.cdw0 = NVME_IO_READ | ((uint32_t)k << 16);
				r.nsid = 1;
				r.prp1 = A + 0x100000 + (uint64_t)k * 4096;
				r.cdw12 = 7;
				drv[tail] = r;
				tail = (uint16_t)((tail + 1) % QS);
			}
			nvme_gate_sq_ring(&g, 1, tail);
			nvme_gate_cq_reap(&g, 1);
			/* the driver consumes its completions */
			while ((dcqv[head].status & 1) == phase) {
				sink += dcqv[head].cid;
				if (++head == QS) {
					head = 0;
					phase ^= 1;
				}
			}
			nvme_gate_cq_head(&g, 1, head);
		}
		double dt = (now_ns() - t0) / (double)iters;
		if (dt < best)
			best = dt;
	}
	if (g.stats.n[NVME_V_ACCEPT] < (uint64_t)iters)
		abort(); /* the commands really went through */
	return best;
}

int main(int argc, char **argv)
{
	long scale = argc > 1 ? atol(argv[1]) : 1;
	arena = aligned_alloc(4096, 4 * MIB);
	memset(arena, 0, 4 * MIB);
	A = (uint64_t)(uintptr_t)arena;
	/* a realistic table: the owner's pool is not the first grant */
	for (int i = 0; i < 7; i++)
		grant_add(&gt, (uint16_t)(10 + i), 0x100000000ull * (i + 1),
			  MIB, NULL);
	grant_add(&gt, OWNER, A, 4 * MIB, NULL);
	val_policy(&pol, &gt, OWNER);
	pol.max_xfer = NVME_VAL_XFER_CAP;
	pol.iv_max = 8;

	struct nvme_sqe c4 = {0};
	c4.cdw0 = NVME_IO_READ;
	c4.nsid = 1;
	c4.prp1 = A + 0x100000;
	c4.cdw12 = 7;
	double v4 = bench_validate(&c4, 700000 * scale, true);
	double v4cold = bench_validate(&c4, 700000 * scale, false);

	/* max transfer (2 MiB): PRP1 + 511 list entries in one list page */
	uint64_t *l = (uint64_t *)(arena + 0x8000);
	for (int i = 0; i < 511; i++)
		l[i] = A + 0x200000 + (uint64_t)(i % 256) * 4096;
	struct nvme_sqe cl = c4;
	cl.prp2 = A + 0x8000;
	cl.cdw12 = (uint32_t)(NVME_VAL_XFER_CAP / 512 - 1);
	const struct nvme_val_list vl = {.fetch = fetch, .out = listbuf};
	struct nvme_val_result r;
	if (nvme_validate(&pol, NVME_QT_IO, &cl, &vl, &r) != NVME_V_ACCEPT)
		abort();
	double vl_ns = bench_validate(&cl, 15000 * scale, true);

	double g4 = bench_gate(320000 * scale);
	printf("val_4k_ns=%.2f\nval_4k_cold_ns=%.2f\nval_list_ns=%.2f\n"
	       "list_entries=%u\ngate_4k_ns=%.2f\n",
	       v4, v4cold, vl_ns, r.nlist, g4);
	return (int)(sink & 0);
}
