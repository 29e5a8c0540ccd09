/* tests/host/validator/fuzz_gate.c — libFuzzer target for the doorbell gate
 * (dma/nvme_gate.c) driven by a hostile driver and a hostile device.
 *
 * The input is a program of operations: write a 64-byte entry into one of
 * the driver's rings, ring a queue with any tail, let the device model run,
 * reap, move a CQ head to any value, post a forged completion, consume the
 * driver's CQ, revoke or re-grant a pool, reset everything.
 *
 * ORACLE: every byte the device model touches lies in a grant of the owner
 * that is live at that moment, or in a shadow the gate allocated; the pin
 * count of every grant equals the number of the gate's outstanding
 * commands that name it plus the queue rings that lie in it. ASan catches the
 * gate touching anything else. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dma/nvme_gate.h"
#include "fake_nvme.h"
#include "shim.h"
#include "val_fixture.h"

#define POOLS 3 /* arena thirds: [0,1M) admin+I/O rings, [1M,2M), [2M,3M) */

static struct fake_nvme *f;
static struct nvme_gate g;
static struct nvme_val_policy pol;
static struct grant_table gt;
static uint8_t *arena;
static uint64_t A;
static int pslot[POOLS];
static uint32_t pgen[POOLS];
static struct {
	uint16_t tail, head;
	uint8_t phase;
} dq[NVME_VAL_MAX_QID];
/* pool bytes an input wrote, cleared before the next input */
static struct {
	uint64_t off, len;
} dirty[256];
static unsigned ndirty;

static void pool_write(uint64_t off, const void *src, uint64_t len, int fill)
{
	if (ndirty == 256)
		return;
	dirty[ndirty].off = off;
	dirty[ndirty++].len = len;
	if (src)
		memcpy(arena + off, src, len);
	else
		memset(arena + off, fill, len);
}

static void die(const char *what, uint64_t a, uint64_t b)
{
	fprintf(stderr, "ORACLE: %s 0x%llx 0x%llx\n", what,
		(unsigned long long)a, (unsigned long long)b);
	abort();
}

static void oracle(void *ctx, uint64_t a, uint64_t len, bool write)
{
	(void)ctx, (void)write;
	if (gate_may_touch(&g, &gt, OWNER, a, len))
		return;
	die("device touched memory outside live grants and shadows", a, len);
}

static void check_pins(void)
{
	uint32_t want[GRANT_MAX] = {0};
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		/* a queue ring pins its grant while the queue exists */
		if (g.sq[q].ring.pinned)
			want[g.sq[q].ring.slot]++;
		if (g.cq[q].ring.pinned)
			want[g.cq[q].ring.slot]++;
		if (!g.sq[q].state || !g.sq[q].nbusy)
			continue;
		for (unsigned t = 0; t < g.sq[q].ntags; t++)
			if (g.sq[q].tag[t].busy)
				for (uint64_t m = g.sq[q].tag[t].pins; m;
				     m &= m - 1)
					want[__builtin_ctzll(m)]++;
	}
	for (unsigned i = 0; i < GRANT_MAX; i++)
		if (gt.g[i].pins != want[i])
			die("pin count", i, gt.g[i].pins);
}

/* the driver's rings: queue q's SQ at A + q*0x4000, CQ at +0x2000 (q < 8;
 * 64-byte x 128 entries fit) */
static uint64_t drv_sq(unsigned q)
{
	return A + q * 0x8000ull;
}
static uint64_t drv_cq(unsigned q)
{
	return A + q * 0x8000ull + 0x4000;
}

static uint64_t addr(uint64_t raw)
{
	/* bit 63: wild; else an offset into the 4 MiB arena */
	return (raw >> 63) ? raw : A + (raw & (4 * MIB - 1));
}

static void reset_all(void)
{
	nvme_gate_drop_all(&g);
	fake_nvme_init(f);
	f->touch = oracle;
	memset(dq, 0, sizeof(dq));
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++)
		dq[q].phase = 1;
	uint64_t asq, acq;
	if (nvme_gate_admin_open(&g, drv_sq(0), drv_cq(0), 16, &asq, &acq))
		die("admin open", 0, 0);
	fake_nvme_admin(f, asq, acq, 16);
}

static void init(void)
{
	if (arena)
		return;
	shim_quiet = 1;
	arena = aligned_alloc(4096, 4 * MIB);
	A = (uint64_t)(uintptr_t)arena;
	f = calloc(1, sizeof(*f));
	for (int i = 0; i < POOLS; i++)
		pslot[i] =
		    grant_add(&gt, OWNER, A + (uint64_t)i * MIB, MIB, &pgen[i]);
	grant_add(&gt, 2, A + 3 * MIB, MIB, NULL); /* a neighbour */
	val_policy(&pol, &gt, OWNER);
	pol.max_xfer = 64 * 1024;
	pol.qid_max = 7;
	pol.qsize_max = 128;
	struct nvme_gate_env env;
	fake_nvme_init(f);
	fake_nvme_env(f, &env);
	if (nvme_gate_init(&g, &env, &pol))
		die("init", 0, 0);
}

static uint16_t qsize_of(unsigned q)
{
	return g.sq[q].size ? g.sq[q].size : (q ? 8 : 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	init();
	memset(arena, 0, 0x40000); /* the driver's rings */
	for (unsigned k = 0; k < ndirty; k++)
		memset(arena + dirty[k].off, 0, dirty[k].len);
	ndirty = 0;
	/* pools revoked by a previous input come back */
	reset_all();
	for (int i = 0; i < POOLS; i++)
		if (!grant_live(&gt, pslot[i], pgen[i]))
			pslot[i] = grant_add(&gt, OWNER, A + (uint64_t)i * MIB,
					     MIB, &pgen[i]);
	size_t i = 0;
	unsigned steps = 0;
	while (i + 4 <= n && steps++ < 200) {
		uint8_t op = d[i] & 7, a1 = d[i + 1];
		uint16_t a2 = (uint16_t)(d[i + 2] | d[i + 3] << 8);
		i += 4;
		unsigned q = a1 & 7;
		switch (op) {
		case 0: { /* write an entry at the driver's tail */
			if (i + 64 > n)
				return 0;
			struct nvme_sqe c;
			memcpy(&c, d + i, 64);
			i += 64;
			if (a1 & 0x40) { /* 64 bytes of list/data in a pool */
				uint64_t w[8];
				memcpy(w, &c, 64);
				for (int k = 0; k < 8; k++)
					w[k] = addr(w[k]);
				pool_write(MIB +
					       ((uint64_t)a2 * 64) % (2 * MIB),
					   w, 64, 0);
				break;
			}
			c.prp1 = addr(c.prp1);
			c.prp2 = addr(c.prp2);
			c.mptr = c.mptr ? addr(c.mptr) : 0;
			uint8_t opc = nvme_sqe_opc(&c);
			if (q == 0 &&
			    (opc == NVME_ADM_CREATE_SQ ||
			     opc == NVME_ADM_CREATE_CQ) &&
			    !(a1 & 0x80)) {
				/* mostly: the ring the harness expects */
				uint16_t id = (uint16_t)(c.cdw10 & 7);
				c.cdw10 = (c.cdw10 & 0xffff0000u) | id;
				c.prp1 = opc == NVME_ADM_CREATE_SQ ? drv_sq(id)
								   : drv_cq(id);
			}
			uint16_t sz = qsize_of(q);
			struct nvme_sqe *ring = (void *)(uintptr_t)drv_sq(q);
			ring[dq[q].tail % sz] = c;
			dq[q].tail = (uint16_t)((dq[q].tail + 1) % sz);
			break;
		}
		case 1: /* ring, with the harness's tail or any value */
			nvme_gate_sq_ring(&g, (a1 & 0x40) ? a2 : q,
					  (a1 & 0x80) ? a2 : dq[q].tail);
			break;
		case 2:
			fake_nvme_step(f);
			break;
		case 3:
			nvme_gate_cq_reap(&g, (a1 & 0x80) ? a2 : q);
			break;
		case 4: /* the driver consumes its CQ q */
			if (g.cq[q].state && g.cq[q].drv) {
				struct nvme_cqe *r = g.cq[q].drv;
				uint16_t sz = g.cq[q].size;
				for (int k = 0; k < sz; k++) {
					uint16_t h = dq[q].head % sz;
					if ((r[h].status & 1) != dq[q].phase)
						break;
					if (++dq[q].head >= sz) {
						dq[q].head = 0;
						dq[q].phase ^= 1;
					}
				}
				nvme_gate_cq_head(&g, q, dq[q].head);
			}
			break;
		case 5:
			nvme_gate_cq_head(&g, q, a2);
			break;
		case 6: /* a forged completion */
			fake_nvme_post(f, q, (uint16_t)(a2 & 0x7f),
				       (uint16_t)(a2 >> 7),
				       (uint16_t)(a1 << 1));
			break;
		case 7: { /* revoke or re-grant a data pool, or reset */
			int p = 1 + (a1 & 1);
			if (a1 & 0x80) {
				reset_all();
			} else if (grant_live(&gt, pslot[p], pgen[p])) {
				if (grant_revoke(&gt, pslot[p], pgen[p]) &&
				    (a1 & 2))
					/* the memory goes to someone else:
					 * any later device touch fails */
					pool_write((uint64_t)p * MIB, 0, 4096,
						   0xee);
			} else {
				pslot[p] =
				    grant_add(&gt, OWNER, A + (uint64_t)p * MIB,
					      MIB, &pgen[p]);
			}
			break;
		}
		}
		check_pins();
	}
	return 0;
}
