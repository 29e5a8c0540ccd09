/* tests/host/nvme/test_nvme_broker.c — the broker itself
 * (kernel/authority/nvme_broker.c) as a hostile driver calls it, over the
 * real authority layer and a register-only controller: BAR0 is plain
 * memory (CAP says NVMe), so what the broker wrote to a function's
 * registers and its PCI command register is there to be read back. Built
 * as the proof image builds the broker (CAPOS_PROOFS), whose register-read
 * hook (nvme_broker_inject_set) is where the model answers: with `live`
 * set CSTS.RDY follows CC.EN, and the probe's Identify commands are
 * answered while the broker waits (shim_delay_hook): two active
 * namespaces, of which nvme.ns=1 grants the owner the first, as in the
 * QEMU proof. So a broker opens and enables; the test then plays the
 * device on the shadow rings the broker programmed. Without `live` no
 * controller ever becomes ready. */
#define _GNU_SOURCE /* REG_EFL, REG_ERR (ucontext.h) */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "dma/nvme_reg.h"
#include "kernel/authority/auth_internal.h"
#include "kernel/authority/nvme_broker.h"
#include "kernel/boot/boot.h"
#include "kernel/iommu/iommu.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "shim.h"

#define NDEV	 55
#define BAR_LEN	 0x4000u
#define CMD_MEM	 (1u << 1)
#define CMD_MAST (1u << 2)

/* devs[0] bound to owner 1, devs[1] to owner 2 (both brokered NVMe),
 * devs[2] bound to nobody (devmgr refused it: behind a failed VT-d unit,
 * no DMA backend), devs[3] to owner 4, which is not brokered; devs[4]
 * to devs[NDEV - 1] bound to nobody, for one test each to bind */
/* the owner a handle was opened for: every call names its caller, and
 * these tests call as the broker's own driver unless they say otherwise */
#define OWN(h) nvme_broker_owner(h)

static struct pci_dev devs[NDEV];
static uint8_t bar[NDEV][BAR_LEN] __attribute__((aligned(4096)));
static uint16_t cmd[NDEV];     /* PCI command bits as pci_enable left them */
static unsigned maps[NDEV];    /* mm_map_mmio of the function's BAR0 */
static unsigned enables[NDEV]; /* pci_enable calls */

static unsigned dev_index(const struct pci_dev *d)
{
	assert_true(d >= devs && d < devs + NDEV);
	return (unsigned)(d - devs);
}

void pci_enable(struct pci_dev *d, bool mem, bool io, bool bus_master)
{
	unsigned i = dev_index(d);
	(void)io;
	enables[i]++;
	cmd[i] = (uint16_t)((mem ? CMD_MEM : 0) | (bus_master ? CMD_MAST : 0));
}

/* the command register as pci_enable left it (the broker reads bus
 * mastering there before it deletes a stopping controller's queues) */
uint16_t pci_cfg_read16(const struct pci_dev *d, uint16_t off)
{
	return off == PCI_COMMAND ? cmd[dev_index(d)] : 0xffff;
}

void pci_addr_str(const struct pci_dev *d, char *buf, unsigned n)
{
	ksnprintf(buf, n, "0000:00:%02x.0", d->dev);
}

void *mm_map_mmio(uint64_t phys, size_t len)
{
	for (unsigned i = 0; i < NDEV; i++)
		if (phys == (uint64_t)(uintptr_t)bar[i] && len <= BAR_LEN) {
			maps[i]++;
			return bar[i];
		}
	fail_msg("mm_map_mmio of 0x%llx: no such BAR",
		 (unsigned long long)phys);
	return NULL;
}

void irq_raise(const struct pci_dev *d, uint16_t owner, unsigned msix_index)
{
	(void)d, (void)owner, (void)msix_index;
}

/* nvme.ns=1: of the model's namespaces 1 and 2 the owner gets the first;
 * a test may say the command line was cut, or give another list, or an
 * nvme.addr_checks */
static bool cut;
static const char *nvme_ns = "1";
static const char *addr_checks;
const char *cmdline_get(const char *key)
{
	if (!strcmp(key, "nvme.addr_checks"))
		return addr_checks;
	return !strcmp(key, "nvme.ns") ? nvme_ns : NULL;
}
bool cmdline_cut(void)
{
	return cut;
}

static uint32_t reg32(unsigned i, uint32_t off)
{
	uint32_t v;
	memcpy(&v, bar[i] + off, 4);
	return v;
}
static uint64_t reg64(unsigned i, uint32_t off)
{
	return reg32(i, off) | (uint64_t)reg32(i, off + 4) << 32;
}

/* the register model: CSTS.RDY follows CC.EN (devs[mdev], the one
 * controller that comes up: devs[0] unless a test says otherwise) */
static bool live;
static unsigned mdev;
/* its doorbell stride, 4 << CAP.DSTRD */
static uint32_t model_stride(void)
{
	return 4u << FIELD_GET(NVME_CAP_DSTRD, reg64(mdev, NVME_REG_CAP));
}
/* a controller that ignores CC.EN=0: CSTS.RDY stays 1 */
static bool stuck_rdy;
/* CSTS read with CC.EN 0 since the probe's queue was last set up */
static bool model_disabled;
/* shutdown (CC.SHN 01b): SHST reads 10b at once (SHN_DONE), stays at 01b
 * in progress (SHN_NEVER), or the controller turns fatal (SHN_CFS); and
 * what the model saw: CSTS reads with CC.SHN 01b, whether any had CC.EN
 * 1 (the notice went to a running controller), CSTS.CFS from now on */
static enum { SHN_DONE, SHN_NEVER, SHN_CFS } shn_mode;
static unsigned shn_seen;
static bool shn_with_en, cfs_now;
/* Identify Controller's RTD3E, microseconds */
static uint32_t model_rtd3e;
/* Identify Controller ONCS (0 unless a test sets it) */
static uint16_t model_oncs;
/* Identify Controller MDTS; each namespace's NSZE, namespace 2's LBADS (a test
 * changes them across a reset: firmware activated) */
static uint8_t model_mdts = 5;
static uint64_t model_nsze = 1024;
static uint8_t model_lbads = 9;
/* namespace 1's and 2's EUI64 in Identify Namespace, and the descriptor
 * list each answers for CNS 03h (zeros: empty) */
static uint8_t model_eui64[3][8];
static uint8_t model_descs[3][4096];
static uint32_t model_reg_read(const struct nvme_broker *b, uint32_t off,
			       uint32_t v)
{
	(void)b;
	if (!live || off != NVME_REG_CSTS)
		return v;
	uint32_t cc = reg32(mdev, NVME_REG_CC);
	bool en = cc & NVME_CC_EN_MASK;
	v = (v & ~NVME_CSTS_RDY_MASK) | (en || stuck_rdy ? 1u : 0u);
	v &= ~(uint32_t)(FIELD_SET(NVME_CSTS_SHST, ~0u) |
			 FIELD_SET(NVME_CSTS_CFS, ~0u));
	if (FIELD_GET(NVME_CC_SHN, cc) == NVME_CC_SHN_NORMAL) {
		shn_seen++;
		shn_with_en |= en;
		if (shn_mode == SHN_CFS)
			cfs_now = true;
		v |= (uint32_t)FIELD_SET(
		    NVME_CSTS_SHST,
		    shn_mode == SHN_DONE ? NVME_CSTS_SHST_DONE : 1u);
	}
	if (cfs_now)
		v |= (uint32_t)FIELD_SET(NVME_CSTS_CFS, 1);
	model_disabled |= !en; /* the probe's queue starts afresh */
	memcpy(bar[mdev] + NVME_REG_CSTS, &v, 4);
	return v;
}

/* The probe's admin queue (two entries, AQA 1) as a controller runs it:
 * each command the SQ tail doorbell announces is fetched (the SQ head
 * moves on), then answered in order — Identify Controller (NN
 * model_nns), the Active Namespace ID list (1..model_nns), each
 * namespace (1024 blocks of 512 bytes) — its data written when it is
 * answered, and its completion posted only while the CQ has room (the CQ
 * head doorbell says how far the host took it), the phase as NVMe says.
 * Called while the broker waits; a new enable starts the queue afresh. */
#define PROBE_PEND 4
static struct {
	uint64_t asq;
	uint16_t sq_head, cq_tail;
	uint8_t phase;
	unsigned fetched; /* commands fetched since the enable */
	/* fetched, not yet answered: the command and when it was fetched */
	struct {
		struct nvme_sqe c;
		uint64_t at_ns;
		unsigned n;
	} pend[PROBE_PEND];
	unsigned npend;
	/* answered, waiting for room in the CQ */
	struct nvme_cqe out[2 * PROBE_PEND];
	unsigned nout;
} probe_dev;
static uint32_t model_nns = 2; /* NN and the active list's 1..model_nns */
/* the NVM limits the model's CNS 06h page reports, and the CNS and CDW11
 * of each Identify it answered (the probe's order) */
static struct nvme_id_ctrl_nvm model_nvm;
static uint32_t model_cns[8], model_cdw11[8];
static unsigned model_nids;
/* each command answered this long after its fetch (0: at once) */
static uint64_t probe_late_us;
/* >= 0: the probe's command of this number (0: Identify Controller) is
 * answered probe_lost_us after its fetch instead */
static int probe_lost_cmd = -1;
static uint64_t probe_lost_us;
/* every completion posted twice */
static bool probe_twice;
/* > 0: once the probe's command of this number less one is answered,
 * the controller ignores CC.EN=0 (stuck_rdy) */
static unsigned stick_after;
/* >= 0: an Identify of this CNS is answered Invalid Field (SC 02h) */
static int probe_fail_cns = -1;
/* called with each Identify's data page once it is written, before its
 * completion is posted: a device that goes on writing there */
static void (*probe_data_hook)(uint32_t cns, uint32_t nsid, void *data);
/* the page the last Identify's data went to (the broker's own) */
static uint64_t probe_data_pa;
static void model_answer(const struct nvme_sqe *c)
{
	void *data = (void *)(uintptr_t)c->prp1;
	probe_data_pa = c->prp1;
	uint32_t cns = FIELD_GET(NVME_IDENTIFY_CNS, c->cdw10);
	assert_int_equal(nvme_sqe_opc(c), NVME_ADM_IDENTIFY);
	if (model_nids < ARRAY_SIZE(model_cns)) {
		model_cns[model_nids] = cns;
		model_cdw11[model_nids++] = c->cdw11;
	}
	if (cns == NVME_CNS_CS_CTRL) {
		memcpy(data, &model_nvm, 16);
	} else if (cns == NVME_CNS_CTRL) {
		struct nvme_id_ctrl *id = data;
		id->nn = model_nns;
		id->mdts = model_mdts;
		id->rtd3e = model_rtd3e;
		id->oncs = model_oncs;
		memcpy(id->mn, "capOS broker model", 18);
	} else if (cns == NVME_CNS_ACTIVE_NSLIST) {
		for (uint32_t i = 0; i < model_nns; i++)
			((uint32_t *)data)[i] = i + 1;
	} else if (cns == NVME_CNS_NS) {
		struct nvme_id_ns *ns = data;
		ns->nsze = ns->ncap = ns->nuse = model_nsze;
		ns->lbaf[0] = (uint32_t)(c->nsid == 2 ? model_lbads : 9)
			      << NVME_LBAF_LBADS_SHIFT;
		if (c->nsid < 3)
			memcpy(ns->eui64, model_eui64[c->nsid], 8);
	} else if (cns == NVME_CNS_NS_DESC_LIST && c->nsid < 3) {
		memcpy(data, model_descs[c->nsid], 4096);
	}
	if (probe_data_hook)
		probe_data_hook(cns, c->nsid, data);
	uint16_t sc = (int)cns == probe_fail_cns ? 0x02 : 0;
	for (unsigned k = 0; k < (probe_twice ? 2u : 1u); k++) {
		assert_true(probe_dev.nout < 2 * PROBE_PEND);
		probe_dev.out[probe_dev.nout++] = (struct nvme_cqe){
		    .sqhd = probe_dev.sq_head,
		    .cid = nvme_sqe_cid(c),
		    .status = (uint16_t)FIELD_SET(NVME_CQE_SC, sc)};
	}
}
static void model_probe(void)
{
	const uint32_t rdy = reg32(mdev, NVME_REG_CSTS) & NVME_CSTS_RDY_MASK;
	if (!live || !rdy || reg32(mdev, NVME_REG_AQA) != (1u | 1u << 16))
		return;
	if (probe_dev.asq != reg64(mdev, NVME_REG_ASQ) ||
	    !(reg32(mdev, NVME_REG_CC) & NVME_CC_EN_MASK) || model_disabled) {
		model_disabled = false;
		memset(&probe_dev, 0, sizeof(probe_dev));
		probe_dev.asq = reg64(mdev, NVME_REG_ASQ);
		probe_dev.phase = 1;
		/* the host has taken nothing from the new CQ yet: the CQ head
		 * doorbell still reads as the last queue left it */
		memset(bar[mdev] + NVME_REG_DBS + model_stride(), 0, 4);
	}
	struct nvme_sqe *sq = (struct nvme_sqe *)(uintptr_t)probe_dev.asq;
	struct nvme_cqe *cq =
	    (struct nvme_cqe *)(uintptr_t)reg64(mdev, NVME_REG_ACQ);
	/* fetch */
	for (uint32_t tail = reg32(mdev, NVME_REG_DBS) % 2;
	     probe_dev.sq_head != tail && probe_dev.npend < PROBE_PEND;) {
		probe_dev.pend[probe_dev.npend++] = (typeof(probe_dev.pend[0])){
		    sq[probe_dev.sq_head], shim_clock_ns, probe_dev.fetched++};
		probe_dev.sq_head ^= 1;
	}
	/* answer, in order */
	while (probe_dev.npend) {
		uint64_t late = (int)probe_dev.pend[0].n == probe_lost_cmd
				    ? probe_lost_us
				    : probe_late_us;
		if (shim_clock_ns - probe_dev.pend[0].at_ns < late * 1000)
			break;
		model_answer(&probe_dev.pend[0].c);
		if (stick_after && probe_dev.pend[0].n + 1 == stick_after)
			stuck_rdy = true;
		memmove(&probe_dev.pend[0], &probe_dev.pend[1],
			--probe_dev.npend * sizeof(probe_dev.pend[0]));
	}
	/* post while the CQ has room */
	uint32_t cq_head = reg32(mdev, NVME_REG_DBS + model_stride()) % 2;
	while (probe_dev.nout && (probe_dev.cq_tail ^ 1u) != cq_head) {
		struct nvme_cqe e = probe_dev.out[0];
		e.status |= probe_dev.phase;
		cq[probe_dev.cq_tail] = e;
		memmove(&probe_dev.out[0], &probe_dev.out[1],
			--probe_dev.nout * sizeof(probe_dev.out[0]));
		probe_dev.cq_tail ^= 1;
		if (!probe_dev.cq_tail)
			probe_dev.phase ^= 1;
	}
}
/* the admin queues the broker gave the device (its shadow, not the
 * driver's pool): what the device reads and where it answers */
static struct nvme_sqe *admin_sq(void)
{
	return (struct nvme_sqe *)(uintptr_t)reg64(mdev, NVME_REG_ASQ);
}

static struct nvme_cqe *admin_cq(void)
{
	return (struct nvme_cqe *)(uintptr_t)reg64(mdev, NVME_REG_ACQ);
}

/* The device's answer to a kernel command (each has its own CID, in the
 * kernel's range from NVME_GATE_KCID_BASE): once the command is in admin
 * SQ slot sq_slot, the model posts e into admin CQ slot cq_slot with that
 * command's CID, while the broker waits. */
static struct {
	bool armed;
	unsigned sq_slot, cq_slot;
	struct nvme_cqe e;
} kans[4]; /* answered in the order armed */
static void answer_kcmd(unsigned sq_slot, unsigned cq_slot, struct nvme_cqe e)
{
	for (unsigned i = 0; i < 4; i++)
		if (!kans[i].armed) {
			kans[i] = (typeof(kans[0])){true, sq_slot, cq_slot, e};
			return;
		}
	assert_true(false);
}
static void model_kcmd(void)
{
	for (unsigned i = 0; i < 4; i++) {
		if (!kans[i].armed)
			continue;
		if (!live || nvme_sqe_cid(&admin_sq()[kans[i].sq_slot]) <
				 NVME_GATE_KCID_BASE)
			return;
		kans[i].e.cid = nvme_sqe_cid(&admin_sq()[kans[i].sq_slot]);
		admin_cq()[kans[i].cq_slot] = kans[i].e;
		kans[i].armed = false;
	}
}
/* the driver's admin queue as a controller runs it (adm_run, below) */
#define ADM_LOG 32
#define ADM_QS	8
static struct {
	bool on;
	bool (*hold)(const struct nvme_sqe *c, uint64_t waited_us);
	uint64_t asq;
	uint16_t size, sq_head, cq_tail;
	uint8_t phase;
	bool held; /* fetched, not answered: pend */
	struct nvme_sqe pend;
	uint64_t pend_at_ns;
	struct {
		uint64_t base;
		uint16_t size, head, cqid;
		bool live;
	} sq[ADM_QS];
	struct {
		uint64_t base;
		uint16_t size, tail;
		uint8_t phase;
		bool live;
	} cq[ADM_QS];
	struct {
		uint8_t opc;
		uint16_t qid;
		uint32_t cc;
		bool kernel; /* a kernel command's CID (NVME_GATE_KCID_BASE) */
	} log[ADM_LOG];
	unsigned nlog;
} adm;
static void adm_run(void);
static void model_step(void)
{
	model_probe();
	model_kcmd();
	adm_run();
}

static bool model_cq_post(const struct nvme_broker *b, uint16_t qid)
{
	(void)b, (void)qid;
	return true;
}
static void model_cq_posted(const struct nvme_broker *b, uint16_t qid,
			    struct nvme_cqe *first)
{
	(void)b, (void)qid, (void)first;
}
static const struct nvme_broker_inject model = {
    .reg_read = model_reg_read,
    .cq_post = model_cq_post,
    .cq_posted = model_cq_posted,
};

/* CAP of an NVMe controller the broker accepts: MQES 63, CQR, TO 1
 * (500 ms), DSTRD 0, CSS NVM, MPSMIN 0; VS 1.4; CC and CSTS 0 */
static void bar_reset(unsigned i)
{
	memset(bar[i], 0, BAR_LEN);
	uint64_t cap = 63ull | 1ull << NVME_CAP_CQR_SHIFT |
		       1ull << NVME_CAP_TO_SHIFT |
		       (uint64_t)NVME_CAP_CSS_NVM << NVME_CAP_CSS_SHIFT;
	memcpy(bar[i] + NVME_REG_CAP, &cap, 8);
	uint32_t vs = 0x10400;
	memcpy(bar[i] + NVME_REG_VS, &vs, 4);
}

static int setup(void **st)
{
	(void)st;
	static const uint16_t owner_of[NDEV] = {1, 2, 0, 4};
	memset(devs, 0, sizeof(devs));
	for (unsigned i = 0; i < NDEV; i++) {
		devs[i].dev = (uint8_t)(i + 1);
		devs[i].bar[0].base = (uint64_t)(uintptr_t)bar[i];
		devs[i].bar[0].size = BAR_LEN;
		devs[i].owner = owner_of[i];
		strlcpy(devs[i].state, "running", sizeof(devs[i].state));
		bar_reset(i);
		/* each function as its own driver runs it */
		cmd[i] = CMD_MEM | CMD_MAST;
		maps[i] = enables[i] = 0;
		if (!owner_of[i] || auth_owner_facts(owner_of[i]))
			continue; /* bound by an earlier test of this process */
		struct auth_owner_facts f = {
		    .d = &devs[i],
		    .backend = DMA_BACKEND_VALIDATOR,
		    .brokered = owner_of[i] != 4,
		};
		assert_int_equal(auth_owner_bind(owner_of[i], &f), 0);
	}
	live = false;
	stuck_rdy = false;
	mdev = 0;
	memset(&probe_dev, 0, sizeof(probe_dev));
	probe_late_us = 0;
	probe_lost_cmd = -1;
	probe_twice = false;
	stick_after = 0;
	probe_fail_cns = -1;
	probe_data_hook = NULL;
	memset(kans, 0, sizeof(kans));
	memset(&adm, 0, sizeof(adm));
	shn_mode = SHN_DONE;
	shn_seen = 0;
	shn_with_en = cfs_now = false;
	model_rtd3e = 0;
	model_oncs = 0;
	model_mdts = 5;
	model_nsze = 1024;
	model_lbads = 9;
	memset(model_eui64, 0, sizeof(model_eui64));
	memset(model_descs, 0, sizeof(model_descs));
	model_nns = 2;
	memset(&model_nvm, 0, sizeof(model_nvm));
	model_nids = 0;
	shim_delay_hook = model_step;
	nvme_broker_inject_set(&model);
	shim_quiet = getenv("NVME_TEST_VERBOSE") == NULL;
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	shim_quiet = 0;
	return 0;
}

/* the function was left exactly as found: no BAR mapped, no register
 * written, memory decoding and bus mastering as its own driver set them */
static void assert_untouched(unsigned i)
{
	uint8_t want[BAR_LEN];
	memcpy(want, bar[i], BAR_LEN);
	bar_reset(i);
	assert_memory_equal(want, bar[i], BAR_LEN);
	assert_int_equal(maps[i], 0);
	assert_int_equal(enables[i], 0);
	assert_int_equal(cmd[i], CMD_MEM | CMD_MAST);
	assert_string_equal(devs[i].state, "running");
}

/* A driver names a function that is not bound to its owner: another
 * owner's NVMe controller that has no broker yet, a function devmgr left
 * unbound, or its own function when its owner is not brokered. The broker
 * refuses before it maps, resets or probes anything — as mmio_grant and
 * irq_bind refuse a function not bound to the caller. Before, it reset the
 * other function (CC), pointed it at the caller's pages (AQA/ASQ/ACQ),
 * turned its bus mastering on for the probe, and on the way out turned
 * memory decoding and bus mastering off under its own driver; an open that
 * succeeded gave the caller a broker, and a gate under its own owner's
 * policy, over a controller it was never granted. */
static void test_open_foreign_function_refused(void **st)
{
	(void)st;
	struct nvme_broker *b = (struct nvme_broker *)0x1;
	uint64_t before = auth_refusals[AUTH_NOT_GRANTED];
	/* owner 1 at owner 2's controller */
	assert_int_equal(nvme_broker_open(&devs[1], 1, &b), -1);
	assert_untouched(1);
	/* owner 1 at a function bound to nobody */
	assert_int_equal(nvme_broker_open(&devs[2], 1, &b), -1);
	assert_untouched(2);
	/* owner 2 at owner 4's function */
	assert_int_equal(nvme_broker_open(&devs[3], 2, &b), -1);
	assert_untouched(3);
	/* owner 4 at its own function: its owner is not brokered (devmgr
	 * bound it for a driver whose DMA does not go through the gate) */
	assert_int_equal(nvme_broker_open(&devs[3], 4, &b), -1);
	assert_untouched(3);
	/* an owner nobody bound, and owner 0 */
	assert_int_equal(nvme_broker_open(&devs[1], 9, &b), -1);
	assert_int_equal(nvme_broker_open(&devs[2], 0, &b), -1);
	assert_untouched(1);
	assert_untouched(2);
	assert_true(b == (struct nvme_broker *)0x1); /* *out not written */
	assert_int_equal(auth_refusals[AUTH_NOT_GRANTED], before + 6);
}

/* the owner bound to the function gets as far as its controller: reset,
 * probed (this register-only model never becomes ready, so the open fails
 * there) and left off the bus with decoding off */
static void test_open_own_function_reaches_controller(void **st)
{
	(void)st;
	struct nvme_broker *b = NULL;
	uint64_t t0 = shim_clock_ns;
	assert_int_equal(nvme_broker_open(&devs[0], 1, &b), -1);
	/* the controller never became ready: one CAP.TO (500 ms) for the
	 * enable, and not another for RDY=1 before the disable (before: two,
	 * up to 255 s at CAP.TO's largest) */
	assert_in_range((shim_clock_ns - t0) / 1000, 500000, 600000);
	assert_int_equal(maps[0], 1);
	uint64_t asq;
	memcpy(&asq, bar[0] + NVME_REG_ASQ, 8);
	assert_true(asq != 0); /* the probe's admin queue was programmed */
	assert_int_equal(cmd[0], 0);
	assert_null(b);
	assert_untouched(1);
}

/* a controller that comes up (the model live): open, then enable with the
 * driver's admin rings in a pool of owner 1 */
/* enable b with the pool's first page as the admin SQ and its second as
 * the CQ, of `entries` each: nvme_broker_enable's answer */
static int enable_on(struct nvme_broker *b, const struct dma_pool *pool,
		     uint16_t entries)
{
	struct dma_buf asq = {pool->va, pool->iova, PAGE_SIZE};
	struct dma_buf acq = {pool->va + PAGE_SIZE, pool->iova + PAGE_SIZE,
			      PAGE_SIZE};
	return nvme_broker_enable(b, OWN(b), &asq, &acq, entries);
}

static struct nvme_broker *bring_up(struct dma_pool *pool)
{
	live = true;
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(&devs[0], 1, &b), 0);
	assert_non_null(b);
	assert_int_equal(dma_pool_create(1, 2 * PAGE_SIZE, 0, pool), 0);
	assert_int_equal(enable_on(b, pool, 8), 0);
	assert_int_equal(cmd[0], CMD_MEM | CMD_MAST);
	return b;
}

/* a cut command line grants no namespace: the nvme.ns lost past the cut
 * (absent from what was kept, or after the one kept: the last wins) may
 * have narrowed the list. Said once, not per namespace: before, 300
 * namespaces printed 602 lines (a hostile device chooses how many it
 * lists, up to NVME_VAL_MAX_NS) */
static void test_cut_cmdline_grants_no_namespace(void **st)
{
	(void)st;
	/* function 2, unbound in setup, as owner 3's: no other test opens it */
	devs[2].owner = 3;
	struct auth_owner_facts f = {
	    .d = &devs[2], .backend = DMA_BACKEND_VALIDATOR, .brokered = true};
	assert_int_equal(auth_owner_bind(3, &f), 0);
	mdev = 2;
	live = true;
	cut = true;
	model_nns = 300; /* said in one line, not one (or two) per namespace */
	uint64_t lines = shim_kprintf_calls;
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(&devs[2], 3, &b), 0);
	lines = shim_kprintf_calls - lines;
	cut = false;
	model_nns = 2;
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 0);
	assert_in_range(lines, 1, 10);
}

/* a malformed nvme.ns grants none — not the ids before the fault
 * (before, nvme.ns=1,x granted namespace 1: the list was read only up to
 * the id asked about) — in one line however many namespaces the device
 * lists (before, two per namespace) */
static void test_malformed_ns_list_grants_none(void **st)
{
	(void)st;
	devs[4].owner = 5;
	struct auth_owner_facts f = {
	    .d = &devs[4], .backend = DMA_BACKEND_VALIDATOR, .brokered = true};
	assert_int_equal(auth_owner_bind(5, &f), 0);
	mdev = 4;
	live = true;
	nvme_ns = "1,x";
	model_nns = 300;
	uint64_t lines = shim_kprintf_calls;
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(&devs[4], 5, &b), 0);
	lines = shim_kprintf_calls - lines;
	nvme_ns = "1";
	model_nns = 2;
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 0);
	assert_in_range(lines, 1, 10);
}

/* nvme_broker_get_feature is the kernel's own Get Features, past the
 * driver's policy, and a driver may call it: its data lands in the
 * broker's one page (PRP1) with PRP2 0. A feature off the scope table —
 * a vendor's (C0h-FFh), whose data is as long as the vendor says — would
 * have the controller write what passes the page at address 0 (PRP2).
 * Only a feature of the table, whose data is known to fit, is read; any
 * other is refused before a command is written. */
static void test_get_feature_only_known_features(void **st)
{
	(void)st;
	struct dma_pool pool;
	struct nvme_broker *b = bring_up(&pool);
	struct nvme_sqe *sq = admin_sq();
	/* Error Recovery: the device's answer is already in the shadow CQ */
	answer_kcmd(0, 0, (struct nvme_cqe){.dw0 = 0x1234, .status = 1});
	uint32_t dw0 = 0;
	assert_int_equal(
	    nvme_broker_get_feature(b, OWN(b), NVME_FID_ERR_RECOVERY, 1, &dw0),
	    0);
	assert_int_equal(dw0, 0x1234);
	assert_int_equal(nvme_sqe_opc(&sq[0]), NVME_ADM_GET_FEATURES);
	assert_int_equal(sq[0].cdw10, NVME_FID_ERR_RECOVERY);
	assert_int_equal(sq[0].prp2, 0);
	uint32_t db = reg32(0, NVME_REG_DBS);
	assert_int_equal(db, 1);
	/* vendor features, and HMB (not on the table): not even written */
	static const uint8_t off_table[] = {0xc0, 0xff, NVME_FID_HMB, 0x7d};
	for (unsigned k = 0; k < sizeof(off_table); k++) {
		answer_kcmd(1, 1, (struct nvme_cqe){.sqhd = 2, .status = 1});
		assert_int_equal(
		    nvme_broker_get_feature(b, OWN(b), off_table[k], 1, &dw0),
		    -1);
		assert_int_equal(reg32(0, NVME_REG_DBS), db);
		assert_int_equal(sq[1].cdw0, 0);
	}
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* a handle is its owner's alone: another owner naming it — a driver
 * that kept, was handed or guessed owner 1's handle — is refused at every
 * call that acts (ring, reap, head, Get Features, stop, reset, enable)
 * and answered nothing by the accessors: no doorbell, no CC write, no
 * admin entry, counted not-granted, its lines bounded
 * (AUTH_REFUSAL_LINES, then one saying the rest are counted). Owner 1's
 * own calls go on working. Before, the handle alone was the authority:
 * any caller holding it reached owner 1's controller */
static void test_other_owner_refused(void **st)
{
	(void)st;
	struct dma_pool pool;
	struct nvme_broker *b = bring_up(&pool);
	struct nvme_sqe *sq = admin_sq();
	/* a bound owner with no function: a row of refusal lines its own */
	const uint16_t other = 63;
	struct auth_owner_facts none = {0};
	assert_int_equal(auth_owner_bind(other, &none), 0);
	uint8_t regs[BAR_LEN];
	memcpy(regs, bar[0], BAR_LEN);
	uint64_t ng = auth_refusals[AUTH_NOT_GRANTED];
	uint32_t dw0 = 7;
	shim_count_lines("named owner 1's broker");
	assert_int_equal(nvme_broker_sq_ring(b, other, 0, 1), -1);
	assert_int_equal(nvme_broker_cq_reap(b, other, 0), -1);
	assert_int_equal(nvme_broker_cq_head(b, other, 0, 0), -1);
	assert_int_equal(
	    nvme_broker_get_feature(b, other, NVME_FID_ERR_RECOVERY, 1, &dw0),
	    -1);
	assert_int_equal(nvme_broker_stop(b, other), -1);
	assert_int_equal(nvme_broker_reset(b, other), -1);
	assert_int_equal(enable_on(b, &pool, 8), -1); /* owner 1's: enabled */
	assert_int_equal(nvme_broker_csts(b, other), NVME_CSTS_GONE);
	assert_int_equal(nvme_broker_cap(b, other), 0);
	assert_int_equal(nvme_broker_nns(b, other), 0);
	assert_null(nvme_broker_ns(b, other, 0));
	shim_line_hook = NULL;
	/* 10 refused; the enable was owner 1's own (refused: already on) */
	assert_int_equal(auth_refusals[AUTH_NOT_GRANTED] - ng, 10);
	assert_int_equal(shim_counted, AUTH_REFUSAL_LINES);
	assert_memory_equal(bar[0], regs, BAR_LEN);
	assert_int_equal(sq[0].cdw0, 0);
	assert_int_equal(cmd[0], CMD_MEM | CMD_MAST);
	/* the owner's own handle use is untouched */
	assert_true(nvme_broker_cap(b, 1) != 0);
	assert_int_equal(nvme_broker_reset(b, 1), 0);
	assert_int_equal(cmd[0] & CMD_MAST, 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* nvme_broker_get_feature stops at the owner's namespace grants, as the
 * validator judges the same Get Features on the driver's admin queue
 * (nvme_val_scope). Before, it sent whatever NSID the caller named: the
 * driver, granted namespace 1 (nvme.ns=1), read namespace 2's Error
 * Recovery (TLER, DULBE) and LBA Range Type — settings of a namespace it
 * was never given. Now a namespace-specific feature (NVMe 2.0 §5.27.1,
 * Figure 317: LBA Range Type, Error Recovery) is read only on a granted
 * namespace, and a controller-wide one only with NSID 0, FFFFFFFFh or a
 * granted namespace; the rest is refused before a command is written,
 * with one line. */
static void test_get_feature_only_granted_namespaces(void **st)
{
	(void)st;
	struct dma_pool pool;
	struct nvme_broker *b = bring_up(&pool);
	struct nvme_sqe *sq = admin_sq();
	/* the probe found namespaces 1 and 2; the owner holds 1 */
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 1);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 0)->nsid, 1);
	static const struct {
		uint8_t fid;
		uint32_t nsid;
	} refused[] =
	    {
		{NVME_FID_ERR_RECOVERY, 2},
		{NVME_FID_LBA_RANGE, 2},
		/* every namespace: not all of them are the owner's */
		{NVME_FID_ERR_RECOVERY, NVME_NSID_ALL},
		{NVME_FID_ERR_RECOVERY, 0},
		/* controller-wide, naming a namespace that is not the owner's
		 */
		{NVME_FID_VWC, 2},
		{NVME_FID_ARBITRATION, 3},
	    },
	  granted[] = {
	      {NVME_FID_ERR_RECOVERY, 1}, {NVME_FID_LBA_RANGE, 1},
	      {NVME_FID_VWC, 0},	  {NVME_FID_VWC, NVME_NSID_ALL},
	      {NVME_FID_ARBITRATION, 1},
	  };
	uint32_t dw0;
	/* the device would answer: the refusal is the broker's */
	answer_kcmd(0, 0,
		    (struct nvme_cqe){.dw0 = 0x10000, .sqhd = 1, .status = 1});
	/* each refusal counted; its line bounded with owner 1's other
	 * not-granted refusals of this process (auth_refused) */
	uint64_t nb = auth_refusals[AUTH_NOT_GRANTED];
	/* where the probe's queue left the doorbell: not rung since */
	uint32_t db = reg32(0, NVME_REG_DBS);
	for (unsigned k = 0; k < ARRAY_SIZE(refused); k++) {
		dw0 = 0x5a5a;
		assert_int_equal(nvme_broker_get_feature(b, OWN(b),
							 refused[k].fid,
							 refused[k].nsid, &dw0),
				 -1);
		assert_int_equal(dw0, 0);
		assert_int_equal(reg32(0, NVME_REG_DBS), db);
		assert_int_equal(sq[0].cdw0, 0);
		assert_int_equal(auth_refusals[AUTH_NOT_GRANTED], nb + k + 1);
	}
	for (unsigned k = 0; k < ARRAY_SIZE(granted); k++) {
		answer_kcmd(k, k,
			    (struct nvme_cqe){.dw0 = k,
					      .sqhd = (uint16_t)(k + 1),
					      .status = 1});
		assert_int_equal(nvme_broker_get_feature(b, OWN(b),
							 granted[k].fid,
							 granted[k].nsid, &dw0),
				 0);
		assert_int_equal(dw0, k);
		assert_int_equal(reg32(0, NVME_REG_DBS), k + 1);
		assert_int_equal(nvme_sqe_opc(&sq[k]), NVME_ADM_GET_FEATURES);
		assert_int_equal(sq[k].nsid, granted[k].nsid);
		assert_int_equal(sq[k].cdw10, granted[k].fid);
	}
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* Asynchronous Event Requests stay on the device until an event comes,
 * so a driver can keep as many outstanding as the controller's AERL
 * allows. Before, the driver's 7 AERs on its 8-entry admin queue took
 * every shadow SQ slot and every admin CQ slot, and the kernel's own
 * command (nvme_broker_get_feature here) failed unsent for as long as no
 * event came. Now the driver's admin commands leave one of each for the
 * kernel's: its 7th AER waits in its ring, the kernel's command goes, and
 * the waiting AER goes once an answered one makes room. */
static void test_kcmd_slot_kept_from_aers(void **st)
{
	(void)st;
	struct dma_pool pool;
	struct nvme_broker *b = bring_up(&pool);
	struct nvme_sqe *sq = admin_sq();
	struct nvme_cqe *cq = admin_cq();
	struct nvme_sqe *drv = (struct nvme_sqe *)pool.va;
	struct nvme_cqe *drv_cq = (struct nvme_cqe *)(pool.va + PAGE_SIZE);
	for (uint16_t k = 0; k < 7; k++)
		drv[k] = (struct nvme_sqe){.cdw0 = NVME_ADM_ASYNC_EVENT |
						   (uint32_t)k << 16};
	int taken = nvme_broker_sq_ring(b, OWN(b), 0, 7);
	uint32_t db = reg32(0, NVME_REG_DBS);
	/* the kernel's command: the slot kept for it */
	answer_kcmd(6, 0, (struct nvme_cqe){.dw0 = 1, .sqhd = 7, .status = 1});
	uint32_t dw0 = 0;
	assert_int_equal(
	    nvme_broker_get_feature(b, OWN(b), NVME_FID_VWC, 0, &dw0), 0);
	assert_int_equal(dw0, 1);
	assert_int_equal(taken, 6);
	assert_int_equal(db, 6);
	assert_int_equal(nvme_sqe_opc(&sq[6]), NVME_ADM_GET_FEATURES);
	assert_int_equal(reg32(0, NVME_REG_DBS), 7);
	/* and kept again: the 7th AER still waits */
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), 0);
	assert_int_equal(reg32(0, NVME_REG_DBS), 7);
	/* an event answers the first AER: the 7th goes */
	cq[1] = (struct nvme_cqe){.dw0 = 0x10002,
				  .sqhd = 7,
				  .cid = nvme_sqe_cid(&sq[0]),
				  .status = 1};
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), 1);
	assert_int_equal(drv_cq[0].cid, 0);
	assert_int_equal(drv_cq[0].dw0, 0x10002);
	assert_int_equal(nvme_sqe_opc(&sq[7]), NVME_ADM_ASYNC_EVENT);
	assert_int_equal(reg32(0, NVME_REG_DBS), 0); /* tail 8 wraps */
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* A driver stops a controller it never enabled (its attach failed early,
 * a detach after a reset). Before, the stop put the gate in its stopped
 * state with no queues, the next nvme_broker_enable was refused with
 * "unable to accept admin queues (... must be page aligned in owner's
 * grants)" — untrue of rings that were fine — and every enable after it
 * the same: the broker was lost to its owner. Now a stop of a broker that
 * is not enabled is a no-op that says so, and the broker enables; an
 * enable after a stop that kept the queues for the reap is refused with
 * its real reason until nvme_broker_reset. */
static void test_stop_before_enable(void **st)
{
	(void)st;
	live = true;
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(&devs[0], 1, &b), 0);
	assert_int_equal(nvme_broker_stop(b, OWN(b)), 0);
	assert_non_null(strstr(shim_last_line, "not enabled (stopped)"));
	assert_int_equal(cmd[0] & CMD_MAST, 0);
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), -1);
	assert_int_equal(nvme_broker_sq_ring(b, OWN(b), 0, 1), -1);
	struct dma_pool pool;
	assert_int_equal(dma_pool_create(1, 2 * PAGE_SIZE, 0, &pool), 0);
	assert_int_equal(enable_on(b, &pool, 8), 0);
	assert_int_equal(cmd[0], CMD_MEM | CMD_MAST);
	/* stopped with the queues kept: the reap works, a second stop is a
	 * no-op, and enable wants the reset first */
	assert_int_equal(nvme_broker_stop(b, OWN(b)), 0);
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), 0);
	assert_int_equal(nvme_broker_stop(b, OWN(b)), 0);
	assert_non_null(strstr(shim_last_line, "stopped already"));
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), 0);
	assert_int_equal(enable_on(b, &pool, 8), -1);
	assert_non_null(strstr(shim_last_line, "nvme_broker_reset first"));
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(enable_on(b, &pool, 8), 0);
	/* a DMA fault quarantines the owner after the stop: the second stop
	 * drops the kept queues, as the first would have — their shadows
	 * given back at once, not at the next reset (make mutate ID 390, the
	 * drop deleted, survived the reap check alone) */
	assert_int_equal(nvme_broker_stop(b, OWN(b)), 0);
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), 0);
	assert_int_not_equal(dma_owner_acct(1)->use[DMA_CHARGE_SHADOW], 0);
	shim_iommu_owner = 1;
	shim_iommu_fault();
	assert_int_equal(nvme_broker_stop(b, OWN(b)), 0);
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), -1);
	assert_int_equal(dma_owner_acct(1)->use[DMA_CHARGE_SHADOW], 0);
	assert_int_equal(iommu_owner_resume(1), 0);
	shim_iommu_owner = 0;
	/* the admin queue keeps a slot for the kernel's command: two
	 * entries leave the driver none */
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(enable_on(b, &pool, 2), -1);
	assert_non_null(strstr(shim_last_line, "must be 3.."));
	assert_int_equal(enable_on(b, &pool, 3), 0);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* Create I/O CQ qid of `entries` at iova, no interrupt, as the driver
 * writes it */
static struct nvme_sqe create_cq(uint16_t cid, uint16_t qid, uint16_t entries,
				 uint64_t iova)
{
	return (struct nvme_sqe){
	    .cdw0 = NVME_ADM_CREATE_CQ | (uint32_t)cid << 16,
	    .prp1 = iova,
	    .cdw10 = (uint32_t)(FIELD_SET(NVME_CREATEQ_QID, qid) |
				FIELD_SET(NVME_CREATEQ_QSIZE, entries - 1)),
	    .cdw11 = (uint32_t)FIELD_SET(NVME_CREATEQ_PC, 1)};
}

/* CAP.MQES bounds the I/O queues the host creates; the admin queues are
 * AQA's, 2..4096 entries (NVMe 2.0 §3.1.3.1, §3.1.3.8: QEMU's controller
 * sizes its admin queues from AQA alone and checks MQES only at Create
 * I/O CQ/SQ; Linux gives its admin queue NVME_AQ_DEPTH entries whatever
 * MQES says). Before, nvme_broker_enable refused an admin queue of more
 * than MQES + 1 entries, so a controller with MQES 1 (two entries, the
 * least NVMe allows) could never be enabled: the kernel's slot on the
 * admin queue needs 3 (NVME_GATE_ADMIN_MIN). Now it enables with an
 * 8-entry admin queue on which the kernel's command and the driver's go,
 * and the driver's I/O queues still stop at MQES: 3 entries refused by
 * the gate, 2 sent. */
static void test_admin_queue_not_bound_by_mqes(void **st)
{
	(void)st;
	mdev = 1; /* owner 2's controller: no other test opens it */
	uint64_t cap = 1ull | 1ull << NVME_CAP_CQR_SHIFT |
		       1ull << NVME_CAP_TO_SHIFT |
		       (uint64_t)NVME_CAP_CSS_NVM << NVME_CAP_CSS_SHIFT;
	memcpy(bar[1] + NVME_REG_CAP, &cap, 8);
	live = true;
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(&devs[1], 2, &b), 0);
	struct dma_pool pool;
	assert_int_equal(dma_pool_create(2, 3 * PAGE_SIZE, 0, &pool), 0);
	assert_int_equal(enable_on(b, &pool, 8), 0);
	assert_int_equal(reg32(1, NVME_REG_AQA), 7u | 7u << 16);
	assert_int_equal(cmd[1], CMD_MEM | CMD_MAST);
	struct nvme_sqe *sq = admin_sq();
	struct nvme_cqe *cq = admin_cq();
	/* the kernel's command */
	answer_kcmd(0, 0, (struct nvme_cqe){.dw0 = 7, .sqhd = 1, .status = 1});
	uint32_t dw0 = 0;
	assert_int_equal(
	    nvme_broker_get_feature(b, OWN(b), NVME_FID_VWC, 0, &dw0), 0);
	assert_int_equal(dw0, 7);
	/* the driver's: an I/O CQ past MQES, then one within it */
	struct nvme_sqe *drv = (struct nvme_sqe *)pool.va;
	struct nvme_cqe *drv_cq = (struct nvme_cqe *)(pool.va + PAGE_SIZE);
	uint64_t ring = pool.iova + 2 * PAGE_SIZE;
	drv[0] = create_cq(0x10, 1, 3, ring);
	drv[1] = create_cq(0x11, 1, 2, ring);
	assert_int_equal(nvme_broker_sq_ring(b, OWN(b), 0, 2), 2);
	assert_int_equal(drv_cq[0].cid, 0x10);
	assert_int_equal(nvme_cqe_sct(&drv_cq[0]), NVME_GATE_SCT_CAPOS);
	assert_int_equal(nvme_cqe_sc(&drv_cq[0]), NVME_GATE_SC_REJECTED);
	assert_int_equal(drv_cq[0].dw0, NVME_V_QUEUE_SIZE);
	assert_int_equal(reg32(1, NVME_REG_DBS), 2);
	assert_int_equal(nvme_sqe_opc(&sq[1]), NVME_ADM_CREATE_CQ);
	assert_int_equal(FIELD_GET(NVME_CREATEQ_QSIZE, sq[1].cdw10), 1);
	cq[1] = (struct nvme_cqe){
	    .sqhd = 2, .cid = nvme_sqe_cid(&sq[1]), .status = 1};
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), 1);
	assert_int_equal(drv_cq[1].cid, 0x11);
	assert_int_equal(drv_cq[1].status, 1); /* success, phase 1 */
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* A kernel command the device does not answer in time (BROKER_KCMD_US).
 * The device may still answer it, so its admin queue slot stays held and
 * the next kernel command is refused — each with a line that says why —
 * until the answer comes (then they go again) or the controller is reset.
 * Its late answer, posted once a reset has begun a new admin queue (a
 * device that kept it), is not the answer of the command sent after: each
 * kernel command has its own CID. Before, the timeout and every refusal
 * after it were silent, a late answer already posted stayed unreaped (the
 * refusals went on), and every kernel command had CID FFFFh: the old
 * command's answer was taken as the new one's. */
static void test_kcmd_timeout_held_then_answered_or_reset(void **st)
{
	(void)st;
	struct dma_pool pool;
	struct nvme_broker *b = bring_up(&pool);
	struct nvme_sqe *sq = admin_sq();
	struct nvme_cqe *cq = admin_cq();
	uint32_t dw0 = 0x5a5a;
	/* no answer: given up on after BROKER_KCMD_US, said once */
	assert_int_equal(
	    nvme_broker_get_feature(b, OWN(b), NVME_FID_VWC, 0, &dw0), -1);
	assert_non_null(strstr(shim_last_line, "unanswered after 2000 ms"));
	assert_non_null(strstr(shim_last_line, "slot stays held"));
	assert_int_equal(reg32(0, NVME_REG_DBS), 1);
	/* the next is refused unsent, with why */
	assert_int_equal(
	    nvme_broker_get_feature(b, OWN(b), NVME_FID_VWC, 0, &dw0), -1);
	assert_non_null(strstr(shim_last_line, "still outstanding"));
	assert_int_equal(reg32(0, NVME_REG_DBS), 1);
	/* the device answers it late: kernel commands go again, and the next
	 * gets its own answer, not the late one */
	cq[0] = (struct nvme_cqe){
	    .dw0 = 0xdead, .sqhd = 1, .cid = nvme_sqe_cid(&sq[0]), .status = 1};
	answer_kcmd(1, 1,
		    (struct nvme_cqe){.dw0 = 0x77, .sqhd = 2, .status = 1});
	assert_int_equal(
	    nvme_broker_get_feature(b, OWN(b), NVME_FID_VWC, 0, &dw0), 0);
	assert_int_equal(dw0, 0x77);
	assert_int_equal(reg32(0, NVME_REG_DBS), 2);
	/* given up on again; the reset frees the slot */
	assert_int_equal(
	    nvme_broker_get_feature(b, OWN(b), NVME_FID_VWC, 0, &dw0), -1);
	assert_non_null(strstr(shim_last_line, "unanswered"));
	uint16_t old = nvme_sqe_cid(&sq[2]);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(enable_on(b, &pool, 8), 0);
	sq = admin_sq();
	cq = admin_cq();
	/* the device posts the old command's answer into the new queue,
	 * then answers the new command */
	cq[0] = (struct nvme_cqe){.dw0 = 0xbad, .cid = old, .status = 1};
	answer_kcmd(0, 1,
		    (struct nvme_cqe){.dw0 = 0x99, .sqhd = 1, .status = 1});
	assert_int_equal(
	    nvme_broker_get_feature(b, OWN(b), NVME_FID_VWC, 0, &dw0), 0);
	assert_int_equal(dw0, 0x99);
	assert_true(nvme_sqe_cid(&sq[0]) != old);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* pages page_free was handed while watching (shim_page_hook) */
static struct {
	uint64_t pa;
	size_t len;
} freed[64];
static unsigned nfreed;
static void watch_free(uint64_t pa, size_t len)
{
	if (nfreed < sizeof(freed) / sizeof(freed[0]))
		freed[nfreed++] = (typeof(freed[0])){pa, len};
}
static bool was_freed(uint64_t pa)
{
	for (unsigned i = 0; i < nfreed; i++)
		if (pa >= freed[i].pa && pa - freed[i].pa < freed[i].len)
			return true;
	return false;
}

/* The proof image's bare pair (nvme_broker_bare_open/close) lives in
 * kernel pages the controller is given as I/O queue NVME_BARE_QID. They go
 * back only once the device is done with them: every Create it was sent
 * answered, every Delete answered with success, or the controller stopped
 * since. Here Create I/O CQ is answered and Create I/O SQ is not (a slow
 * controller, past BROKER_KCMD_US), so the open fails; its Delete I/O CQ
 * cannot even be sent (the broker's one command is still outstanding).
 * Before, a Delete that was never answered counted as done (its completion
 * zeroed, status 0) and the pages were freed under a controller that held
 * them as its queues — the comment said they stay. */
static void test_bare_close_keeps_pages_device_holds(void **st)
{
	(void)st;
	struct dma_pool pool;
	struct nvme_broker *b = bring_up(&pool);
	struct nvme_sqe *sq = admin_sq();
	answer_kcmd(0, 0, (struct nvme_cqe){.sqhd = 1, .status = 1});
	nfreed = 0;
	shim_page_hook = watch_free;
	assert_int_equal(nvme_broker_bare_open(b, OWN(b)), -1);
	shim_page_hook = NULL;
	assert_int_equal(nvme_sqe_opc(&sq[0]), NVME_ADM_CREATE_CQ);
	assert_int_equal(nvme_sqe_opc(&sq[1]), NVME_ADM_CREATE_SQ);
	assert_int_equal(reg32(0, NVME_REG_DBS), 2); /* no Delete was sent */
	assert_false(was_freed(sq[0].prp1));	     /* CQ 63, created */
	assert_false(was_freed(sq[1].prp1)); /* SQ 63, its create pending */
	/* the driver's queue ids are its own again */
	assert_int_equal(nvme_broker_max_qid(b, OWN(b)), NVME_VAL_MAX_QID - 1);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* A reset during nvme-bench (the driver's recovery: nvme_broker_reset, then
 * enable again) deletes every I/O queue the controller held, the bare
 * pair's among them (NVMe 2.0 §3.7.2): the pair's close then gives its
 * pages back without a Delete, which would name a queue that no longer
 * exists. Before, the Delete SQ went unanswered (or failed), the pages
 * stayed allocated for good and were counted nowhere. A close whose
 * Deletes go unanswered keeps them until the next confirmed stop, which
 * gives them back. */
static void test_bare_pages_back_after_reset(void **st)
{
	(void)st;
	struct dma_pool pool;
	struct nvme_broker *b = bring_up(&pool);
	uint64_t base = shim_pages_in_use;
	answer_kcmd(0, 0, (struct nvme_cqe){.sqhd = 1, .status = 1});
	answer_kcmd(1, 1, (struct nvme_cqe){.sqhd = 2, .status = 1});
	assert_int_equal(nvme_broker_bare_open(b, OWN(b)), 0);
	assert_true(shim_pages_in_use > base);
	/* the reset, and the controller enabled again */
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(enable_on(b, &pool, 8), 0);
	uint32_t db = reg32(0, NVME_REG_DBS);
	nvme_broker_bare_close(b, OWN(b));
	assert_int_equal(reg32(0, NVME_REG_DBS), db); /* no Delete sent */
	assert_int_equal(shim_pages_in_use, base);
	assert_int_equal(nvme_broker_max_qid(b, OWN(b)), NVME_VAL_MAX_QID - 1);
	/* Deletes not answered, the controller running: kept, and refused a
	 * second pair, until the next confirmed stop gives them back */
	answer_kcmd(0, 0, (struct nvme_cqe){.sqhd = 1, .status = 1});
	answer_kcmd(1, 1, (struct nvme_cqe){.sqhd = 2, .status = 1});
	assert_int_equal(nvme_broker_bare_open(b, OWN(b)), 0);
	nvme_broker_bare_close(b, OWN(b));
	assert_true(shim_pages_in_use > base);
	assert_int_equal(nvme_broker_bare_open(b, OWN(b)), -1);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	/* enabled again: its admin shadows back, as at base */
	assert_int_equal(enable_on(b, &pool, 8), 0);
	assert_int_equal(shim_pages_in_use, base);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* a fresh brokered function for one test: devs[i] bound to owner i + 1,
 * the model's controller */
static struct pci_dev *fresh_function(unsigned i)
{
	devs[i].owner = (uint16_t)(i + 1);
	struct auth_owner_facts f = {
	    .d = &devs[i], .backend = DMA_BACKEND_VALIDATOR, .brokered = true};
	assert_int_equal(auth_owner_bind(devs[i].owner, &f), 0);
	mdev = i;
	live = true;
	return &devs[i];
}

/* A controller listing NVME_VAL_MAX_NS namespaces that answers each of the
 * probe's Identify commands just before its 2 s timeout: the probe's
 * commands share NVME_BROKER_PROBE_BUDGET_US, and when it is spent the
 * device is given up — open fails, one line, the function off the bus.
 * Before, each namespace had its own 2 s: 1026 commands, 34 minutes of
 * boot on one device, and the open succeeded. */
static void test_probe_late_answers_within_budget(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(5);
	nvme_ns = NULL; /* every namespace */
	model_nns = NVME_VAL_MAX_NS;
	probe_late_us = 2000000 - 10000;
	uint64_t t0 = shim_clock_ns, lines = shim_kprintf_calls;
	struct nvme_broker *b = NULL;
	int r = nvme_broker_open(d, d->owner, &b);
	uint64_t us = (shim_clock_ns - t0) / 1000;
	lines = shim_kprintf_calls - lines;
	nvme_ns = "1";
	model_nns = 2;
	assert_in_range(us, NVME_BROKER_PROBE_BUDGET_US,
			NVME_BROKER_PROBE_BUDGET_US + 1000000);
	assert_int_equal(r, -1);
	assert_null(b);
	assert_non_null(strstr(shim_last_line, "device given up"));
	assert_in_range(lines, 1, 10);
	assert_int_equal(cmd[5], 0); /* off the bus, decoding nothing */
}

/* A controller that answers one probe command after its BROKER_KCMD_US
 * (2 s) — the Identify of the first namespace, answered at 2.5 s, its
 * data then written into the broker's Identify page — and every other at
 * once. The probe ends at the timeout: one line, nothing sent after it,
 * the controller reset (CC.EN 0), the function off the bus, the probe's
 * pages back. Before, the probe went on: the late completion arrived
 * while the next Identify was awaited, so each later command read the
 * completion before its own — CID mismatch — and every later namespace
 * was lost, the open succeeding with none of three granted; and the late
 * answer's data could land in the page the next namespace was read from
 * (only the reset rules that out). */
static void test_probe_late_answer_ends_probe(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(11);
	nvme_ns = NULL; /* every namespace */
	model_nns = 3;
	probe_lost_cmd = 3; /* controller, NVM limits, list, namespace 1 */
	probe_lost_us = 2500000;
	uint64_t pages = shim_pages_in_use, lines = shim_kprintf_calls;
	uint64_t t0 = shim_clock_ns;
	struct nvme_broker *b = NULL;
	int r = nvme_broker_open(d, d->owner, &b);
	uint64_t us = (shim_clock_ns - t0) / 1000;
	lines = shim_kprintf_calls - lines;
	nvme_ns = "1";
	model_nns = 2;
	assert_int_equal(r, -1);
	assert_null(b);
	assert_in_range(lines, 1, 4); /* the NVM limits line among them */
	assert_non_null(strstr(shim_last_line, "device given up"));
	assert_int_equal(probe_dev.fetched, 4); /* none sent after it */
	assert_in_range(us, 2000000, 2100000);
	assert_int_equal(reg32(11, NVME_REG_CC) & NVME_CC_EN_MASK, 0);
	assert_int_equal(cmd[11], 0);
	assert_int_equal(shim_pages_in_use, pages);
	assert_string_equal(d->state, "running");
	/* answered in time, the next open identifies all three */
	probe_lost_cmd = -1;
	nvme_ns = NULL;
	model_nns = 3;
	r = nvme_broker_open(d, d->owner, &b);
	nvme_ns = "1";
	model_nns = 2;
	assert_int_equal(r, 0);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 3);
}

/* A controller that posts every probe completion twice. The second copy
 * is not the next command's answer: it is taken off the CQ and skipped by
 * its CID, said once for the whole probe, and each command gets its own
 * answer: both namespaces granted. Before, the copy was read as the next
 * command's completion (a CID mismatch, so the command failed) and every
 * command after was one completion behind: the Active Namespace ID list
 * failed and no namespace was granted. */
static void test_probe_double_answer_skipped(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(12);
	nvme_ns = NULL;
	probe_twice = true;
	uint64_t lines = shim_kprintf_calls;
	struct nvme_broker *b = NULL;
	int r = nvme_broker_open(d, d->owner, &b);
	lines = shim_kprintf_calls - lines;
	nvme_ns = "1";
	probe_twice = false;
	assert_int_equal(r, 0);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 2);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 0)->nsid, 1);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 1)->nsid, 2);
	/* the open's three lines (the NVM limits one of them) and one for
	 * the copies, not one each */
	assert_int_equal(lines, 4);
}

/* the budget leaves a working controller alone: one that answers at once
 * is identified whole, all NVME_VAL_MAX_NS namespaces granted */
static void test_probe_many_namespaces_answered(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(6);
	nvme_ns = NULL;
	model_nns = NVME_VAL_MAX_NS;
	uint64_t t0 = shim_clock_ns;
	struct nvme_broker *b = NULL;
	int r = nvme_broker_open(d, d->owner, &b);
	uint64_t us = (shim_clock_ns - t0) / 1000;
	nvme_ns = "1";
	model_nns = 2;
	assert_int_equal(r, 0);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), NVME_VAL_MAX_NS);
	assert_true(us < NVME_BROKER_PROBE_BUDGET_US / 10);
}

/* A controller that ignores CC.EN=0 — CSTS.RDY stays 1 past CAP.TO while
 * CC.EN reads 0 — is not proven stopped (NVMe 2.0 §3.7.2: it may still own
 * queues in memory the kernel frees): the stop fails, bus mastering goes
 * off, the function is marked fenced with one line, and neither a reset
 * nor an enable brings it back, not even once it looks stopped: reset and
 * stop both return -1 on it, whatever CSTS reads. RDY 1
 * with CC.EN 0 after a good stop is no stopped controller either: that
 * enable is refused, without a fence. Before
 * this test only the QEMU proof (nvme-lifetime, NVME_INJECT_STUCK) held
 * it: a fence that was never set, or broker_running reading RDY with
 * CC.EN=0 as stopped, passed every host test. */
static void test_stuck_controller_fenced(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(7);
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	struct dma_pool pool;
	assert_int_equal(dma_pool_create(d->owner, 2 * PAGE_SIZE, 0, &pool), 0);
	assert_int_equal(enable_on(b, &pool, 8), 0);
	/* stopped, then CSTS.RDY reads 1 with CC.EN 0: not stopped, so no
	 * enable (broker_running), and bus mastering stays off */
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	stuck_rdy = true;
	assert_int_equal(enable_on(b, &pool, 8), -1);
	assert_non_null(strstr(shim_last_line, "not proven stopped"));
	assert_int_equal(cmd[7] & CMD_MAST, 0);
	assert_false(nvme_broker_fenced(b, OWN(b)));
	stuck_rdy = false;
	assert_int_equal(enable_on(b, &pool, 8), 0);
	assert_int_equal(cmd[7], CMD_MEM | CMD_MAST);
	assert_false(nvme_broker_fenced(b, OWN(b)));
	/* now it ignores the disable */
	stuck_rdy = true;
	uint64_t lines = shim_kprintf_calls;
	assert_true(nvme_broker_shadow_bytes(b, OWN(b), 0) > 0);
	assert_int_equal(nvme_broker_stop(b, OWN(b)), -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	/* nothing it wrote is believed: the gate's queues and shadows go
	 * at once, none kept for a reap */
	assert_int_equal(nvme_broker_shadow_bytes(b, OWN(b), 0), 0);
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), -1);
	assert_non_null(strstr(shim_last_line, "fenced"));
	assert_true(nvme_broker_fenced(b, OWN(b)));
	assert_string_equal(d->state, "fenced: did not stop");
	assert_int_equal(cmd[7] & CMD_MAST, 0);
	/* said once: a second stop and a reset fail without a new fence
	 * line */
	assert_int_equal(nvme_broker_stop(b, OWN(b)), -1);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), -1);
	assert_null(strstr(shim_last_line, "unable to reset controller"));
	assert_int_equal(enable_on(b, &pool, 8), -1);
	assert_non_null(strstr(shim_last_line, "not proven stopped"));
	/* it looks stopped now: still fenced for good, and a reset says so
	 * as a stop does — it never reports a controller it will not
	 * enable again as reset (before, CSTS.RDY reading 0 made
	 * nvme_broker_reset return 0 while nvme_broker_stop returned -1) */
	stuck_rdy = false;
	assert_int_equal(nvme_broker_reset(b, OWN(b)), -1);
	assert_int_equal(nvme_broker_stop(b, OWN(b)), -1);
	assert_true(nvme_broker_fenced(b, OWN(b)));
	assert_int_equal(enable_on(b, &pool, 8), -1);
	assert_non_null(strstr(shim_last_line, "not proven stopped"));
	assert_int_equal(cmd[7] & CMD_MAST, 0);
	assert_int_equal(nvme_broker_sq_ring(b, OWN(b), 0, 1), -1);
	/* nor does opening it again, as its own driver's next bind would */
	struct nvme_broker *again = NULL;
	assert_int_equal(nvme_broker_open(d, d->owner, &again), -1);
	assert_null(again);
	assert_non_null(strstr(shim_last_line, "(fenced)"));
	assert_int_equal(cmd[7] & CMD_MAST, 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* what an open must leave of function i: its BAR, mappings, pci_enable
 * calls and command register as they were */
struct fn_snap {
	uint8_t bar[BAR_LEN];
	unsigned maps, enables;
	uint16_t cmd;
};
static void fn_snap(unsigned i, struct fn_snap *f)
{
	memcpy(f->bar, bar[i], BAR_LEN);
	f->maps = maps[i];
	f->enables = enables[i];
	f->cmd = cmd[i];
}
static void assert_fn_as(unsigned i, const struct fn_snap *f)
{
	assert_memory_equal(f->bar, bar[i], BAR_LEN);
	assert_int_equal(maps[i], f->maps);
	assert_int_equal(enables[i], f->enables);
	assert_int_equal(cmd[i], f->cmd);
}

/* The oracle of test_probe_pages_kept_while_device_may_write, on every
 * page_free: a page the probe gave function mdev's controller — its admin
 * SQ and CQ (ASQ, ACQ as programmed) and the Identify data page — goes
 * back only once the controller is proven stopped (CC.EN 0, CSTS.RDY 0)
 * and off the bus; device_page_frees counts the pages it judged */
static unsigned device_page_frees;
static void device_page_freed(uint64_t pa, size_t len)
{
	const uint64_t given[] = {reg64(mdev, NVME_REG_ASQ),
				  reg64(mdev, NVME_REG_ACQ), probe_data_pa};
	for (unsigned k = 0; k < ARRAY_SIZE(given); k++) {
		if (!given[k] || given[k] - pa >= len)
			continue;
		device_page_frees++;
		assert_int_equal(reg32(mdev, NVME_REG_CC) & NVME_CC_EN_MASK, 0);
		assert_false(stuck_rdy);
		assert_int_equal(cmd[mdev] & CMD_MAST, 0);
	}
}

/* A probe that fails gives back the pages its controller was given only
 * when the controller stopped: an Identify answered with an error
 * (devs[17]) stops it, and its admin queue and Identify page go back, bus
 * mastering off. One that ignores CC.EN=0 after the probe's commands
 * (devs[18], fenced) may still write its CQ and the Identify page, held
 * off only by bus mastering off: those three pages stay allocated for
 * good (the probe's own page, never given to the device, goes back).
 * Before, they went back to the page allocator under a controller that
 * was still running. */
static void test_probe_pages_kept_while_device_may_write(void **st)
{
	(void)st;
	for (unsigned i = 17; i <= 18; i++) {
		struct pci_dev *d = fresh_function(i);
		if (i == 17)
			probe_fail_cns = NVME_CNS_CTRL;
		else
			stick_after =
			    4; /* controller, NVM limits, list, ns 1 */
		uint64_t pages = shim_pages_in_use;
		probe_data_pa = 0;
		device_page_frees = 0;
		shim_page_hook = device_page_freed;
		struct nvme_broker *b = NULL;
		int r = nvme_broker_open(d, d->owner, &b);
		shim_page_hook = NULL;
		assert_int_equal(r, -1);
		assert_null(b);
		assert_int_equal(cmd[i] & CMD_MAST, 0);
		assert_int_equal(d->fenced, i == 18);
		assert_int_equal(device_page_frees, i == 17 ? 3 : 0);
		assert_int_equal(shim_pages_in_use, pages + (i == 17 ? 0 : 3));
		probe_fail_cns = -1;
		stick_after = 0;
		stuck_rdy = false;
	}
}

/* The NVM Command Set's own limits (Identify CNS 06h, CSI 00h in CDW11
 * 31:24) are asked of a 1.4 controller right after Identify Controller and
 * kept as reported (WZSL in bytes of 4 KiB pages); one line says them */
static void test_probe_nvm_limits_read(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(43);
	nvme_ns = NULL; /* every namespace */
	model_nvm = (struct nvme_id_ctrl_nvm){
	    .wzsl = 2, .dmrl = 16, .dmrsl = 1000, .dmsl = 5000};
	shim_count_lines("WZSL 2 DMRL 16 DMRSL 1000 DMSL 5000");
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	assert_int_equal(shim_counted, 1);
	shim_count_lines("NVM limits");
	assert_int_equal(shim_counted, 0);
	assert_int_equal(model_cns[0], NVME_CNS_CTRL);
	assert_int_equal(model_cns[1], NVME_CNS_CS_CTRL);
	assert_int_equal(model_cdw11[1], NVME_CSI_NVM << 24);
	const struct nvme_ident_ctrl *id = nvme_broker_ident(b, OWN(b));
	assert_int_equal(id->nvm, NVME_IDENT_NVM_READ);
	assert_int_equal(id->wz_bytes, 16384);
	assert_int_equal(id->dmrl, 16);
	assert_int_equal(id->dmrsl, 1000);
	assert_int_equal(id->dmsl, 5000);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 2);
	nvme_ns = "1";
	/* a WZSL no command reaches (2^(12+255) bytes) limits nothing */
	struct nvme_id_ctrl_nvm big = {.wzsl = 255, .dmsl = UINT64_MAX};
	struct nvme_ident_ctrl out = {0};
	nvme_ident_nvm_parse(&big, 0, &out);
	assert_int_equal(out.wz_bytes, 0);
	assert_int_equal(out.wzsl, 255);
	big.wzsl = 51; /* 2^63 bytes: the largest kept */
	nvme_ident_nvm_parse(&big, 0, &out);
	assert_int_equal(out.wz_bytes, 1ull << 63);
	big.wzsl = 52;
	nvme_ident_nvm_parse(&big, 0, &out);
	assert_int_equal(out.wz_bytes, 0);
}

/* A controller that answers CNS 06h Invalid Field (a 1.2-1.4 one without
 * I/O Command Sets): one line, no limits, the open and its namespaces as
 * before. One of version 1.1, whose CNS is two bits wide and could read
 * 06h as 02h, is not asked at all (one line). */
static void test_probe_nvm_limits_refused_or_unasked(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(44);
	nvme_ns = NULL; /* every namespace */
	probe_fail_cns = NVME_CNS_CS_CTRL;
	shim_count_lines("NVM limits (Identify CNS 06h) refused");
	uint64_t lines = shim_kprintf_calls;
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	probe_fail_cns = -1;
	assert_int_equal(shim_counted, 1);
	/* the open's own two lines and this one, nothing more */
	assert_int_equal(shim_kprintf_calls - lines, 3);
	const struct nvme_ident_ctrl *id = nvme_broker_ident(b, OWN(b));
	assert_int_equal(id->nvm, NVME_IDENT_NVM_REFUSED);
	assert_int_equal(id->wz_bytes | id->dmrl | id->dmrsl | id->dmsl, 0);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 2);

	d = fresh_function(45);
	uint32_t vs = 0x10100;
	memcpy(bar[45] + NVME_REG_VS, &vs, 4);
	model_nids = 0;
	model_nvm.wzsl = 3;
	shim_count_lines("not asked of a controller of version 1.1");
	lines = shim_kprintf_calls;
	b = NULL;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	assert_int_equal(shim_counted, 1);
	assert_int_equal(shim_kprintf_calls - lines, 3);
	shim_line_hook = NULL;
	for (unsigned i = 0; i < model_nids; i++)
		assert_int_not_equal(model_cns[i], NVME_CNS_CS_CTRL);
	assert_int_equal(model_nids, 4); /* controller, list, ns 1, ns 2 */
	id = nvme_broker_ident(b, OWN(b));
	assert_int_equal(id->nvm, NVME_IDENT_NVM_UNASKED);
	assert_int_equal(id->wz_bytes, 0);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 2);
	nvme_ns = "1";
}

/* An open that fences its controller fails, and its broker is freed; the
 * fence is the function's (struct pci_dev fenced), not the broker's, so
 * a second open of the function is refused in one line before anything
 * of it is touched — no BAR mapped, no register written, bus mastering
 * left off — even once the controller looks stopped. Both ways an open
 * fences: the probe's stop (the controller ignores CC.EN=0 after the
 * probe's commands, devs[13]) and the open's first disable (it never
 * drops CSTS.RDY, devs[14]). Before, the fence went with the freed
 * broker: the second open reset and probed the controller again, bus
 * mastering on, over a controller that may still hold queues in the
 * probe's freed pages. */
static void test_fence_outlives_failed_open(void **st)
{
	(void)st;
	static const unsigned fns[] = {13, 14};
	for (unsigned k = 0; k < ARRAY_SIZE(fns); k++) {
		unsigned i = fns[k];
		struct pci_dev *d = fresh_function(i);
		if (k == 0)
			stick_after =
			    4; /* controller, NVM limits, list, ns 1 */
		else
			stuck_rdy = true;
		struct nvme_broker *b = NULL;
		assert_int_equal(nvme_broker_open(d, d->owner, &b), -1);
		assert_null(b);
		assert_true(d->fenced);
		assert_string_equal(d->state, "fenced: did not stop");
		assert_int_equal(cmd[i] & CMD_MAST, 0);
		/* it looks stopped now: still refused, untouched */
		stuck_rdy = false;
		stick_after = 0;
		struct fn_snap was;
		fn_snap(i, &was);
		uint64_t lines = shim_kprintf_calls;
		assert_int_equal(nvme_broker_open(d, d->owner, &b), -1);
		assert_int_equal(shim_kprintf_calls - lines, 1);
		assert_non_null(strstr(shim_last_line, "(fenced)"));
		assert_null(b);
		assert_fn_as(i, &was);
		assert_true(d->fenced);
	}
}

/* The probe's Identify Controller answered with an error: the open fails
 * in one line and undoes all it did — the probe's queue pages and the
 * Identify page back (pages in use as before), the controller disabled
 * (CC.EN 0), the function off the bus and decoding nothing, not marked
 * fenced, no broker left for it: once the device answers, the next open
 * of the same function goes through. */
static void test_probe_identify_fails_unwinds(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(8);
	probe_fail_cns = NVME_CNS_CTRL;
	uint64_t pages = shim_pages_in_use, lines = shim_kprintf_calls;
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(
	    strstr(shim_last_line, "unable to identify controller"));
	assert_null(b);
	assert_int_equal(shim_pages_in_use, pages);
	assert_int_equal(reg32(8, NVME_REG_CC) & NVME_CC_EN_MASK, 0);
	assert_int_equal(cmd[8], 0);
	assert_string_equal(d->state, "running");
	/* the device answers now: a fresh broker, probed again */
	probe_fail_cns = -1;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	assert_non_null(b);
	assert_int_equal(maps[8], 2);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 1);
	assert_false(nvme_broker_fenced(b, OWN(b)));
	assert_int_equal(cmd[8] & CMD_MAST, 0); /* off the bus until enable */
}

/* ---- revocation while the driver and the device are busy ---------------- */
/* Owner revocation (auth_owner_revoke: a DMA fault, an administrator) with
 * I/O in flight, and in the middle of a reset (after nvme_broker_stop,
 * before nvme_broker_reset). The test plays the driver — the adversary,
 * which goes on calling the broker after the revoke — and the device on the
 * shadow rings. Pool pages: admin SQ, admin CQ, I/O SQ 1, I/O CQ 1, data. */
struct rv {
	struct nvme_broker *b;
	struct pci_dev *d;
	struct dma_pool pool;
	struct nvme_sqe *drv_iosq;
	struct nvme_cqe *drv_iocq;
	struct nvme_sqe *sh_iosq; /* the shadows the device was given */
	struct nvme_cqe *sh_iocq;
	uint16_t cid_a, cid_b; /* the Reads' CIDs on the device */
	unsigned i;	       /* devs[i] */
};

static struct nvme_sqe create_sq(uint16_t cid, uint16_t qid, uint16_t entries,
				 uint64_t iova, uint16_t cqid)
{
	return (struct nvme_sqe){
	    .cdw0 = NVME_ADM_CREATE_SQ | (uint32_t)cid << 16,
	    .prp1 = iova,
	    .cdw10 = (uint32_t)(FIELD_SET(NVME_CREATEQ_QID, qid) |
				FIELD_SET(NVME_CREATEQ_QSIZE, entries - 1)),
	    .cdw11 = (uint32_t)(FIELD_SET(NVME_CREATEQ_PC, 1) |
				FIELD_SET(NVME_CREATESQ_CQID, cqid))};
}

/* a fresh controller enabled, I/O queue pair 1 (4 entries) created, two
 * Reads (CIDs 0x20, 0x21) on the device; the first one's completion
 * delivered into the driver's CQ and consumed, the second one's posted by
 * the device into the shadow CQ, not yet reaped */
static void rv_up(struct rv *r, unsigned i)
{
	memset(r, 0, sizeof(*r));
	r->i = i;
	r->d = fresh_function(i);
	assert_int_equal(nvme_broker_open(r->d, r->d->owner, &r->b), 0);
	assert_int_equal(
	    dma_pool_create(r->d->owner, 5 * PAGE_SIZE, 0, &r->pool), 0);
	uint8_t *va = r->pool.va;
	uint64_t iova = r->pool.iova;
	struct dma_buf asq = {va, iova, PAGE_SIZE};
	struct dma_buf acq = {va + PAGE_SIZE, iova + PAGE_SIZE, PAGE_SIZE};
	assert_int_equal(nvme_broker_enable(r->b, OWN(r->b), &asq, &acq, 8), 0);
	struct nvme_sqe *drv = (struct nvme_sqe *)va;
	struct nvme_cqe *drv_cq = (struct nvme_cqe *)(va + PAGE_SIZE);
	struct nvme_sqe *sq = admin_sq();
	struct nvme_cqe *cq = admin_cq();
	drv[0] = create_cq(0x10, 1, 4, iova + 3 * PAGE_SIZE);
	drv[1] = create_sq(0x11, 1, 4, iova + 2 * PAGE_SIZE, 1);
	for (uint16_t k = 0; k < 2; k++) {
		assert_int_equal(nvme_broker_sq_ring(r->b, OWN(r->b), 0, k + 1),
				 1);
		cq[k] = (struct nvme_cqe){.sqhd = (uint16_t)(k + 1),
					  .cid = nvme_sqe_cid(&sq[k]),
					  .status = 1};
		assert_int_equal(nvme_broker_cq_reap(r->b, OWN(r->b), 0), 1);
		assert_int_equal(drv_cq[k].cid, 0x10 + k);
		assert_int_equal(drv_cq[k].status, 1);
	}
	assert_int_equal(nvme_broker_cq_head(r->b, OWN(r->b), 0, 2), 0);
	r->sh_iocq = (struct nvme_cqe *)(uintptr_t)sq[0].prp1;
	r->sh_iosq = (struct nvme_sqe *)(uintptr_t)sq[1].prp1;
	r->drv_iosq = (struct nvme_sqe *)(va + 2 * PAGE_SIZE);
	r->drv_iocq = (struct nvme_cqe *)(va + 3 * PAGE_SIZE);
	for (uint16_t k = 0; k < 2; k++)
		r->drv_iosq[k] = (struct nvme_sqe){
		    .cdw0 = NVME_IO_READ | (uint32_t)(0x20 + k) << 16,
		    .nsid = 1,
		    .prp1 = iova + 4 * PAGE_SIZE,
		    .cdw10 = k};
	assert_int_equal(nvme_broker_sq_ring(r->b, OWN(r->b), 1, 2), 2);
	assert_int_equal(reg32(i, NVME_REG_DBS + 8), 2); /* SQ 1 tail */
	r->cid_a = nvme_sqe_cid(&r->sh_iosq[0]);
	r->cid_b = nvme_sqe_cid(&r->sh_iosq[1]);
	/* the device completes the first Read: delivered once, consumed */
	r->sh_iocq[0] = (struct nvme_cqe){.sqhd = 1,
					  .sqid = 1,
					  .cid = nvme_sqe_cid(&r->sh_iosq[0]),
					  .status = 1};
	assert_int_equal(nvme_broker_cq_reap(r->b, OWN(r->b), 1), 1);
	assert_int_equal(r->drv_iocq[0].cid, 0x20);
	assert_int_equal(nvme_broker_cq_head(r->b, OWN(r->b), 1, 1), 0);
	/* and the second, posted in the shadow CQ, not reaped */
	r->sh_iocq[1] = (struct nvme_cqe){.sqhd = 2,
					  .sqid = 1,
					  .cid = nvme_sqe_cid(&r->sh_iosq[1]),
					  .status = 1};
}

/* after the revoke, whatever the driver calls: nothing reaches the
 * controller (no register written, bus mastering off, CC.EN 0), nothing
 * reaches the driver's rings, the gate holds nothing; the first Read was
 * answered once, the second never by the broker (the driver's reset path
 * answers it: test_revoked_reset_delivers_nothing) */
static void rv_after_revoke(struct rv *r)
{
	unsigned i = r->i;
	uint16_t owner = r->d->owner;
	uint8_t regs[BAR_LEN];
	struct nvme_cqe drv_iocq[4];
	assert_false(dma_pool_live(&r->pool));
	assert_int_equal(cmd[i] & CMD_MAST, 0);
	assert_int_equal(reg32(i, NVME_REG_CC) & NVME_CC_EN_MASK, 0);
	assert_int_equal(nvme_broker_shadow_bytes(r->b, OWN(r->b), 0), 0);
	assert_int_equal(nvme_broker_shadow_bytes(r->b, OWN(r->b), 1), 0);
	assert_int_equal(dma_owner_acct(owner)->use[DMA_CHARGE_SHADOW], 0);
	struct grant_table *t = &dma_owner_acct(owner)->grants;
	for (unsigned g = 0; g < GRANT_MAX; g++)
		assert_int_equal(t->g[g].pins, 0);
	memcpy(regs, bar[i], BAR_LEN);
	memcpy(drv_iocq, r->drv_iocq, sizeof(drv_iocq));
	/* the driver goes on: every call refused */
	r->drv_iosq[2] = r->drv_iosq[0];
	assert_int_equal(nvme_broker_sq_ring(r->b, OWN(r->b), 1, 3), -1);
	assert_int_equal(nvme_broker_sq_ring(r->b, OWN(r->b), 0, 3), -1);
	assert_int_equal(nvme_broker_cq_reap(r->b, OWN(r->b), 1), -1);
	assert_int_equal(nvme_broker_cq_reap(r->b, OWN(r->b), 0), -1);
	assert_int_equal(nvme_broker_cq_head(r->b, OWN(r->b), 1, 2), -1);
	uint32_t dw0;
	assert_int_equal(
	    nvme_broker_get_feature(r->b, OWN(r->b), NVME_FID_VWC, 0, &dw0),
	    -1);
	assert_int_equal(nvme_broker_stop(r->b, OWN(r->b)), 0);
	assert_int_equal(nvme_broker_cq_reap(r->b, OWN(r->b), 1), -1);
	struct dma_buf asq = {r->pool.va, r->pool.iova, PAGE_SIZE};
	struct dma_buf acq = {r->pool.va + PAGE_SIZE, r->pool.iova + PAGE_SIZE,
			      PAGE_SIZE};
	assert_int_equal(nvme_broker_enable(r->b, OWN(r->b), &asq, &acq, 8),
			 -1);
	assert_non_null(strstr(shim_last_line, "revoked after a DMA fault"));
	assert_int_equal(nvme_broker_reset(r->b, OWN(r->b)), 0);
	assert_int_equal(nvme_broker_cq_reap(r->b, OWN(r->b), 1), -1);
	/* the device side: no doorbell, CC or queue register written, still
	 * off the bus; the driver's CQ as it was (the first Read answered
	 * once, the second never) */
	uint8_t now[BAR_LEN];
	memcpy(now, bar[i], BAR_LEN);
	assert_memory_equal(now + NVME_REG_DBS, regs + NVME_REG_DBS,
			    BAR_LEN - NVME_REG_DBS);
	assert_int_equal(reg32(i, NVME_REG_CC) & NVME_CC_EN_MASK, 0);
	assert_int_equal(cmd[i] & CMD_MAST, 0);
	assert_memory_equal(drv_iocq, r->drv_iocq, sizeof(drv_iocq));
	assert_int_equal(r->drv_iocq[0].cid, 0x20);
	assert_int_equal(r->drv_iocq[1].status, 0);
}

/* reinstated, the owner enables again on a fresh pool; the device posts
 * the revoked Reads' completions (their CIDs, on the admin queue and as
 * SQ 1's) into the new admin CQ: neither reaches the driver, and the
 * kernel's own command gets its own answer */
static void rv_reinstated(struct rv *r)
{
	uint16_t owner = r->d->owner;
	uint16_t cid_a = r->cid_a, cid_b = r->cid_b;
	assert_int_equal(auth_owner_reinstate(owner), 0);
	assert_int_equal(dma_pool_revoke(&r->pool), 0); /* the parked pool */
	struct dma_pool p2;
	assert_int_equal(dma_pool_create(owner, 2 * PAGE_SIZE, 0, &p2), 0);
	struct dma_buf asq = {p2.va, p2.iova, PAGE_SIZE};
	struct dma_buf acq = {p2.va + PAGE_SIZE, p2.iova + PAGE_SIZE,
			      PAGE_SIZE};
	assert_int_equal(nvme_broker_enable(r->b, OWN(r->b), &asq, &acq, 8), 0);
	assert_int_equal(cmd[r->i], CMD_MEM | CMD_MAST);
	struct nvme_cqe *cq = admin_cq();
	struct nvme_cqe *drv_cq = (struct nvme_cqe *)(p2.va + PAGE_SIZE);
	cq[0] =
	    (struct nvme_cqe){.sqhd = 0, .sqid = 1, .cid = cid_b, .status = 1};
	cq[1] =
	    (struct nvme_cqe){.sqhd = 0, .sqid = 0, .cid = cid_a, .status = 1};
	answer_kcmd(0, 2, (struct nvme_cqe){.dw0 = 5, .sqhd = 1, .status = 1});
	uint32_t dw0 = 0;
	assert_int_equal(
	    nvme_broker_get_feature(r->b, OWN(r->b), NVME_FID_VWC, 0, &dw0), 0);
	assert_int_equal(dw0, 5);
	assert_int_equal(nvme_broker_cq_reap(r->b, OWN(r->b), 0), 0);
	for (unsigned k = 0; k < 8; k++)
		assert_int_equal(drv_cq[k].status, 0);
	assert_int_equal(nvme_broker_reset(r->b, OWN(r->b)), 0);
	assert_int_equal(dma_pool_revoke(&p2), 0);
}

/* revoked with I/O in flight: one Read answered, one posted unreaped */
static void test_revoke_io_in_flight(void **st)
{
	(void)st;
	struct rv r;
	rv_up(&r, 9);
	assert_int_equal(auth_owner_revoke(r.d->owner, "test fault"), 1);
	rv_after_revoke(&r);
	rv_reinstated(&r);
}

/* Write Zeroes and Dataset Management are optional (ONCS): the broker
 * copies what the controller's Identify says into the gate's policy, so a
 * driver's DSM to a controller without it is refused at the doorbell —
 * answered by the gate (opcode_forbidden), the device's SQ tail unmoved —
 * while the Write Zeroes it names goes through */
static void test_oncs_decides_optional_io(void **st)
{
	(void)st;
	struct rv r;
	model_oncs = NVME_ONCS_WRITE_ZEROES; /* no DSM */
	rv_up(&r, 39);
	uint64_t iova = r.pool.iova;
	r.drv_iosq[2] = (struct nvme_sqe){.cdw0 = NVME_IO_DSM | 0x22u << 16,
					  .nsid = 1,
					  .prp1 = iova + 4 * PAGE_SIZE,
					  .cdw11 = 1u << NVME_DSM_AD_SHIFT};
	assert_int_equal(nvme_broker_sq_ring(r.b, OWN(r.b), 1, 3), 1);
	assert_int_equal(reg32(39, NVME_REG_DBS + 8), 2); /* not the device's */
	assert_int_equal(nvme_cqe_sct(&r.drv_iocq[1]), NVME_GATE_SCT_CAPOS);
	assert_int_equal(nvme_cqe_sc(&r.drv_iocq[1]), NVME_GATE_SC_REJECTED);
	assert_int_equal(r.drv_iocq[1].cid, 0x22);
	assert_int_equal(r.drv_iocq[1].dw0, NVME_V_OPCODE_FORBIDDEN);
	r.drv_iosq[3] = (struct nvme_sqe){
	    .cdw0 = NVME_IO_WRITE_ZEROES | 0x23u << 16, .nsid = 1, .cdw12 = 7};
	assert_int_equal(nvme_broker_sq_ring(r.b, OWN(r.b), 1, 0), 1);
	assert_int_equal(reg32(39, NVME_REG_DBS + 8), 3); /* the device's */
	assert_int_equal(nvme_sqe_opc(&r.sh_iosq[2]), NVME_IO_WRITE_ZEROES);
}

/* revoked in the middle of a reset: the driver stopped the controller
 * (the queues kept for its drain) and has not reaped yet; the revoke
 * comes before its drain, which then delivers nothing */
static void test_revoke_during_reset(void **st)
{
	(void)st;
	struct rv r;
	rv_up(&r, 10);
	assert_int_equal(nvme_broker_stop(r.b, OWN(r.b)), 0);
	assert_int_equal(cmd[10] & CMD_MAST, 0);
	assert_int_equal(auth_owner_revoke(r.d->owner, "test fault"), 1);
	rv_after_revoke(&r);
	rv_reinstated(&r);
}

/* ---- the stop's deletes (broker_halt_delete) ----------------------------
 * A controller that runs the driver's admin queue as the device does:
 * every command its doorbell announces is fetched and answered in order,
 * while the broker waits (shim_delay_hook) or when the test calls adm_run —
 * Create I/O CQ/SQ (the shadow rings the gate pointed it at are kept),
 * Delete I/O SQ (each command its SQ doorbell announced is answered first,
 * "aborted, SQ deleted", into its CQ, as NVMe 2.0 §5.7 says and QEMU's
 * nvme_del_sq does), Delete I/O CQ (refused, Invalid Queue Deletion, while
 * an SQ uses it), anything else success. Each answer is logged with CC as
 * it was then. adm.hold keeps the command at the head unanswered for as
 * long as it says (a late or a mute device). */

static void adm_post_io(uint16_t cqid, struct nvme_cqe e)
{
	assert_true(cqid < ADM_QS && adm.cq[cqid].live);
	struct nvme_cqe *cq = (struct nvme_cqe *)(uintptr_t)adm.cq[cqid].base;
	e.status |= adm.cq[cqid].phase;
	cq[adm.cq[cqid].tail] = e;
	if (++adm.cq[cqid].tail == adm.cq[cqid].size) {
		adm.cq[cqid].tail = 0;
		adm.cq[cqid].phase ^= 1;
	}
}

/* the answer to admin command c: its status */
static uint16_t adm_exec(const struct nvme_sqe *c)
{
	const uint16_t bad_qid = (uint16_t)(FIELD_SET(NVME_CQE_SCT, 1) |
					    FIELD_SET(NVME_CQE_SC, 0x01));
	const uint16_t in_use = (uint16_t)(FIELD_SET(NVME_CQE_SCT, 1) |
					   FIELD_SET(NVME_CQE_SC, 0x0c));
	uint16_t qid = (uint16_t)FIELD_GET(NVME_CREATEQ_QID, c->cdw10);
	uint16_t size = (uint16_t)(FIELD_GET(NVME_CREATEQ_QSIZE, c->cdw10) + 1);
	switch (nvme_sqe_opc(c)) {
	case NVME_ADM_CREATE_CQ:
		adm.cq[qid] = (typeof(adm.cq[0])){c->prp1, size, 0, 1, true};
		return 0;
	case NVME_ADM_CREATE_SQ:
		adm.sq[qid] = (typeof(adm.sq[0])){
		    c->prp1, size, 0,
		    (uint16_t)FIELD_GET(NVME_CREATESQ_CQID, c->cdw11), true};
		return 0;
	case NVME_ADM_DELETE_SQ: {
		if (qid == 0 || qid >= ADM_QS || !adm.sq[qid].live)
			return bad_qid;
		const struct nvme_sqe *sq =
		    (const struct nvme_sqe *)(uintptr_t)adm.sq[qid].base;
		uint32_t tail = reg32(mdev, NVME_REG_DBS + 8u * qid);
		while (adm.sq[qid].head != tail) {
			uint16_t h = adm.sq[qid].head;
			adm.sq[qid].head =
			    (uint16_t)((h + 1) % adm.sq[qid].size);
			adm_post_io(
			    adm.sq[qid].cqid,
			    (struct nvme_cqe){
				.sqhd = adm.sq[qid].head,
				.sqid = qid,
				.cid = nvme_sqe_cid(&sq[h]),
				.status = (uint16_t)FIELD_SET(
				    NVME_CQE_SC, NVME_SC_ABORT_SQ_DELETED)});
		}
		adm.sq[qid].live = false;
		return 0;
	}
	case NVME_ADM_DELETE_CQ:
		if (qid == 0 || qid >= ADM_QS || !adm.cq[qid].live)
			return bad_qid;
		for (unsigned s = 1; s < ADM_QS; s++)
			if (adm.sq[s].live && adm.sq[s].cqid == qid)
				return in_use;
		adm.cq[qid].live = false;
		return 0;
	}
	return 0;
}

static void adm_run(void)
{
	uint32_t cc = reg32(mdev, NVME_REG_CC), aqa = reg32(mdev, NVME_REG_AQA);
	if (!adm.on || !(cc & NVME_CC_EN_MASK) || aqa == (1u | 1u << 16))
		return;
	if (adm.asq != reg64(mdev, NVME_REG_ASQ)) { /* a new enable */
		memset(adm.sq, 0, sizeof(adm.sq));
		memset(adm.cq, 0, sizeof(adm.cq));
		adm.asq = reg64(mdev, NVME_REG_ASQ);
		adm.size = (uint16_t)((aqa & 0xfff) + 1);
		adm.sq_head = adm.cq_tail = 0;
		adm.phase = 1;
		adm.held = false;
	}
	for (;;) {
		if (!adm.held) {
			if (adm.sq_head == reg32(mdev, NVME_REG_DBS))
				return;
			adm.pend = admin_sq()[adm.sq_head];
			adm.pend_at_ns = shim_clock_ns;
			adm.sq_head = (uint16_t)((adm.sq_head + 1) % adm.size);
			adm.held = true;
		}
		if (adm.hold &&
		    adm.hold(&adm.pend,
			     (shim_clock_ns - adm.pend_at_ns) / 1000))
			return;
		adm.held = false;
		uint16_t st = adm_exec(&adm.pend);
		if (adm.nlog < ADM_LOG)
			adm.log[adm.nlog++] = (typeof(adm.log[0])){
			    nvme_sqe_opc(&adm.pend),
			    (uint16_t)FIELD_GET(NVME_CREATEQ_QID,
						adm.pend.cdw10),
			    cc, nvme_sqe_cid(&adm.pend) >= NVME_GATE_KCID_BASE};
		admin_cq()[adm.cq_tail] =
		    (struct nvme_cqe){.sqhd = adm.sq_head,
				      .cid = nvme_sqe_cid(&adm.pend),
				      .status = (uint16_t)(st | adm.phase)};
		if (++adm.cq_tail == adm.size) {
			adm.cq_tail = 0;
			adm.phase ^= 1;
		}
	}
}

/* the deletes the device answered, kernel's (kernel) or the driver's */
static unsigned adm_deletes(bool kernel)
{
	unsigned n = 0;
	for (unsigned k = 0; k < adm.nlog; k++)
		n += adm.log[k].kernel == kernel &&
		     (adm.log[k].opc == NVME_ADM_DELETE_SQ ||
		      adm.log[k].opc == NVME_ADM_DELETE_CQ);
	return n;
}

/* a driver with n I/O queue pairs (4 entries each, ids 1..n, created by
 * its own admin commands) and two Reads rung on each SQ, on a fresh
 * controller, devs[i]. Pool pages: admin SQ, admin CQ, then each pair's
 * SQ and CQ, then the data page. The device holds the Reads: it answers
 * them only when their SQ is deleted */
struct hq {
	struct nvme_broker *b;
	struct dma_pool pool;
	unsigned n;
	uint16_t atail, ahead;
};

static struct nvme_sqe *hq_sq(struct hq *h, unsigned q)
{
	return (struct nvme_sqe *)(h->pool.va + (2 * q) * PAGE_SIZE);
}
static struct nvme_cqe *hq_cq(struct hq *h, unsigned q)
{
	return (struct nvme_cqe *)(h->pool.va + (2 * q + 1) * PAGE_SIZE);
}

/* the driver's own admin command c, answered: its status */
static uint16_t hq_admin(struct hq *h, struct nvme_sqe c)
{
	hq_sq(h, 0)[h->atail] = c;
	h->atail = (uint16_t)((h->atail + 1) % 8);
	assert_int_equal(nvme_broker_sq_ring(h->b, OWN(h->b), 0, h->atail), 1);
	adm_run();
	assert_int_equal(nvme_broker_cq_reap(h->b, OWN(h->b), 0), 1);
	struct nvme_cqe e = hq_cq(h, 0)[h->ahead];
	assert_int_equal(e.cid, nvme_sqe_cid(&c));
	h->ahead = (uint16_t)((h->ahead + 1) % 8);
	assert_int_equal(nvme_broker_cq_head(h->b, OWN(h->b), 0, h->ahead), 0);
	return (uint16_t)(e.status >> 1);
}

static void hq_up(struct hq *h, unsigned i, unsigned n)
{
	memset(h, 0, sizeof(*h));
	memset(&adm, 0, sizeof(adm));
	adm.on = true;
	h->n = n;
	struct pci_dev *d = fresh_function(i);
	assert_int_equal(nvme_broker_open(d, d->owner, &h->b), 0);
	assert_int_equal(
	    dma_pool_create(d->owner, (2 * n + 3) * PAGE_SIZE, 0, &h->pool), 0);
	assert_int_equal(enable_on(h->b, &h->pool, 8), 0);
	uint64_t iova = h->pool.iova;
	for (uint16_t q = 1; q <= n; q++) {
		assert_int_equal(
		    hq_admin(h, create_cq((uint16_t)(0x10 + q), q, 4,
					  iova + (2 * q + 1) * PAGE_SIZE)),
		    0);
		assert_int_equal(
		    hq_admin(h, create_sq((uint16_t)(0x18 + q), q, 4,
					  iova + 2 * q * PAGE_SIZE, q)),
		    0);
	}
	for (uint16_t q = 1; q <= n; q++) {
		for (uint16_t k = 0; k < 2; k++)
			hq_sq(h, q)[k] = (struct nvme_sqe){
			    .cdw0 = NVME_IO_READ | (uint32_t)(0x20 + 2 * q + k)
						       << 16,
			    .nsid = 1,
			    .prp1 = iova + (2 * n + 2) * PAGE_SIZE,
			    .cdw10 = k};
		assert_int_equal(nvme_broker_sq_ring(h->b, OWN(h->b), q, 2), 2);
		/* on the device: its SQ tail doorbell moved */
		assert_int_equal(reg32(i, NVME_REG_DBS + 8u * q), 2);
	}
	adm.nlog = 0;
}

static void hq_down(struct hq *h)
{
	assert_int_equal(nvme_broker_reset(h->b, OWN(h->b)), 0);
	assert_int_equal(dma_pool_revoke(&h->pool), 0);
}

/* A driver rings Reads on its two I/O queues and calls nvme_broker_reset
 * at once, skipping the deletes capOS's own driver sends first
 * (nvme_ioq_delete_all). QEMU 7.2 crashes when CC.EN=0 finds an SQ holding
 * reads in flight beside reads rung but not fetched (README, Debugging).
 * Now the broker deletes every live SQ, highest first, then every CQ, as
 * the kernel's own commands while the controller is still enabled, then
 * disables it; one line. Before, the device saw no delete: CC.EN=0 found
 * both SQs with their reads. */
static void test_reset_deletes_io_queues_first(void **st)
{
	(void)st;
	struct hq h;
	hq_up(&h, 47, 2);
	shim_count_lines("deleted first");
	assert_int_equal(nvme_broker_reset(h.b, OWN(h.b)), 0);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 1);
	assert_non_null(strstr(shim_last_line, "2 I/O SQs and 2 CQs deleted"));
	static const struct {
		uint8_t opc;
		uint16_t qid;
	} want[] = {{NVME_ADM_DELETE_SQ, 2},
		    {NVME_ADM_DELETE_SQ, 1},
		    {NVME_ADM_DELETE_CQ, 2},
		    {NVME_ADM_DELETE_CQ, 1}};
	assert_int_equal(adm.nlog, ARRAY_SIZE(want));
	for (unsigned k = 0; k < ARRAY_SIZE(want); k++) {
		assert_int_equal(adm.log[k].opc, want[k].opc);
		assert_int_equal(adm.log[k].qid, want[k].qid);
		assert_true(adm.log[k].kernel);
		/* before the disable */
		assert_true(adm.log[k].cc & NVME_CC_EN_MASK);
	}
	assert_false(adm.sq[1].live || adm.sq[2].live);
	/* then disabled and off the bus, as before */
	assert_int_equal(reg32(47, NVME_REG_CC) & NVME_CC_EN_MASK, 0);
	assert_int_equal(cmd[47] & CMD_MAST, 0);
	/* a second reset finds nothing to delete */
	assert_int_equal(nvme_broker_reset(h.b, OWN(h.b)), 0);
	assert_int_equal(adm.nlog, ARRAY_SIZE(want));
	assert_int_equal(dma_pool_revoke(&h.pool), 0);
}

/* The gate is not told of the kernel's deletes: what the device posted for
 * a deleted SQ's commands (each Read aborted, before the Delete's own
 * completion) is in the shadow CQs when the controller stops, and
 * nvme_broker_stop's drain delivers it into the driver's CQs — every Read
 * once, none twice (a second reap delivers nothing), none lost; the reset
 * after sends nothing more */
static void test_stop_drain_answers_deleted_reads_once(void **st)
{
	(void)st;
	struct hq h;
	hq_up(&h, 48, 2);
	assert_int_equal(nvme_broker_stop(h.b, OWN(h.b)), 0);
	assert_int_equal(adm_deletes(true), 4);
	for (uint16_t q = 1; q <= 2; q++) {
		assert_int_equal(nvme_broker_cq_reap(h.b, OWN(h.b), q), 2);
		assert_int_equal(nvme_broker_cq_reap(h.b, OWN(h.b), q), 0);
		for (uint16_t k = 0; k < 2; k++) {
			const struct nvme_cqe *e = &hq_cq(&h, q)[k];
			assert_int_equal(e->cid, 0x20 + 2 * q + k);
			assert_int_equal(e->sqid, q);
			assert_int_equal(nvme_cqe_sc(e),
					 NVME_SC_ABORT_SQ_DELETED);
		}
		assert_int_equal(hq_cq(&h, q)[2].status, 0);
		assert_int_equal(nvme_broker_cq_head(h.b, OWN(h.b), q, 2), 0);
		assert_int_equal(nvme_broker_cq_reap(h.b, OWN(h.b), q), 0);
	}
	hq_down(&h);
	assert_int_equal(adm_deletes(true), 4);
}

/* a delete the device answers past the time left (mute: never); one that
 * is answered 1.5 s after its fetch (each within BROKER_KCMD_US) */
static bool hold_deletes(const struct nvme_sqe *c, uint64_t waited_us)
{
	return nvme_sqe_opc(c) == NVME_ADM_DELETE_SQ ||
	       nvme_sqe_opc(c) == NVME_ADM_DELETE_CQ;
}
static bool slow_deletes(const struct nvme_sqe *c, uint64_t waited_us)
{
	return hold_deletes(c, waited_us) && waited_us < 1500000;
}

/* A controller that does not answer the deletes, or answers each just
 * within a kernel command's BROKER_KCMD_US: the stop waits
 * BROKER_HALT_DELETE_US for all of them together, not per queue, says so
 * in one line and disables the controller all the same. Before, no delete
 * was sent (and a bound per queue would have let three slow pairs hold
 * the stop 9 s) */
static void test_halt_deletes_bounded(void **st)
{
	(void)st;
	static bool (*const holds[])(const struct nvme_sqe *,
				     uint64_t) = {hold_deletes, slow_deletes};
	for (unsigned k = 0; k < 2; k++) {
		struct hq h;
		unsigned i = 49 + k;
		hq_up(&h, i, 3);
		adm.hold = holds[k];
		shim_count_lines("nvme-broker");
		uint64_t t0 = shim_clock_ns;
		assert_int_equal(nvme_broker_reset(h.b, OWN(h.b)), 0);
		uint64_t us = (shim_clock_ns - t0) / 1000;
		shim_line_hook = NULL;
		assert_int_equal(shim_counted, 1);
		assert_in_range(us, 2000000, 2100000);
		assert_non_null(strstr(shim_last_line, "the deletes' 2000 ms"));
		/* the mute device got one delete; the slow one answered the
		 * first (SQ 3) and held the second (SQ 2) past the bound */
		assert_non_null(strstr(shim_last_line, k ? "SQ 2" : "SQ 3"));
		assert_int_equal(adm_deletes(true), k);
		assert_int_equal(reg32(i, NVME_REG_CC) & NVME_CC_EN_MASK, 0);
		assert_int_equal(cmd[i] & CMD_MAST, 0);
		adm.hold = NULL;
		assert_int_equal(dma_pool_revoke(&h.pool), 0);
	}
}

static bool hold_get_features(const struct nvme_sqe *c, uint64_t waited_us)
{
	(void)waited_us;
	return nvme_sqe_opc(c) == NVME_ADM_GET_FEATURES;
}

/* A kernel command given up on (unanswered in BROKER_KCMD_US) holds the
 * one slot kernel commands have: the stop's deletes are skipped with one
 * line and the controller disabled as before, not waited for a slot. An
 * owner quarantined after a DMA fault: skipped too (nothing it did is
 * believed), one line. Before: no line, no deletes either way */
static void test_halt_deletes_skipped(void **st)
{
	(void)st;
	struct hq h;
	hq_up(&h, 51, 1);
	adm.hold = hold_get_features;
	uint32_t dw0;
	assert_int_equal(
	    nvme_broker_get_feature(h.b, OWN(h.b), NVME_FID_VWC, 0, &dw0), -1);
	shim_count_lines("nvme-broker");
	uint64_t t0 = shim_clock_ns;
	assert_int_equal(nvme_broker_reset(h.b, OWN(h.b)), 0);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 1);
	assert_non_null(strstr(shim_last_line,
			       "not deleted first (a kernel "
			       "command is still outstanding)"));
	assert_in_range((shim_clock_ns - t0) / 1000, 0, 1000);
	assert_int_equal(adm.nlog, 0);
	assert_int_equal(reg32(51, NVME_REG_CC) & NVME_CC_EN_MASK, 0);
	adm.hold = NULL;
	assert_int_equal(dma_pool_revoke(&h.pool), 0);
	/* quarantined: bus mastering is off already */
	hq_up(&h, 52, 1);
	shim_iommu_owner = devs[52].owner;
	shim_iommu_fault();
	shim_count_lines("nvme-broker");
	assert_int_equal(nvme_broker_reset(h.b, OWN(h.b)), 0);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 1);
	assert_non_null(strstr(shim_last_line, "(owner quarantined)"));
	assert_int_equal(adm.nlog, 0);
	assert_int_equal(iommu_owner_resume(devs[52].owner), 0);
	shim_iommu_owner = 0;
	assert_int_equal(dma_pool_revoke(&h.pool), 0);
}

/* capOS's driver deletes its queues itself before it resets
 * (nvme_ioq_delete_all, played here: Delete I/O SQ, then CQ, through its
 * admin queue): the gate then holds none live, and the broker sends no
 * delete of its own and says nothing — no queue deleted twice. Its Reads
 * are answered by the driver's delete, once each */
static void test_driver_deleted_queues_not_again(void **st)
{
	(void)st;
	struct hq h;
	hq_up(&h, 53, 1);
	struct nvme_sqe c = {.cdw0 = NVME_ADM_DELETE_SQ | 0x30u << 16,
			     .cdw10 = (uint32_t)FIELD_SET(NVME_DELETEQ_QID, 1)};
	assert_int_equal(hq_admin(&h, c), 0);
	for (uint16_t k = 0; k < 2; k++) {
		assert_int_equal(hq_cq(&h, 1)[k].cid, 0x22 + k);
		assert_int_equal(nvme_cqe_sc(&hq_cq(&h, 1)[k]),
				 NVME_SC_ABORT_SQ_DELETED);
	}
	c.cdw0 = NVME_ADM_DELETE_CQ | 0x31u << 16;
	assert_int_equal(hq_admin(&h, c), 0);
	assert_int_equal(adm_deletes(false), 2);
	shim_count_lines("nvme-broker");
	hq_down(&h);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 0);
	assert_int_equal(adm_deletes(true), 0);
}

/* a shutdown deletes the queues before CC.SHN (NVMe 2.0 §3.6.2; QEMU 7.2
 * drains its namespaces at the notice, and frees the SQs at CC.EN=0), and
 * its stop after the notice deletes nothing again */
static void test_shutdown_deletes_before_notice(void **st)
{
	(void)st;
	struct hq h;
	hq_up(&h, 54, 1);
	assert_int_equal(nvme_broker_shutdown(h.b, OWN(h.b)), 0);
	assert_int_equal(adm.nlog, 2);
	for (unsigned k = 0; k < 2; k++) {
		assert_true(adm.log[k].kernel);
		assert_true(adm.log[k].cc & NVME_CC_EN_MASK);
		assert_int_equal(FIELD_GET(NVME_CC_SHN, adm.log[k].cc), 0);
	}
	assert_true(shn_seen > 0);
	assert_int_equal(reg32(54, NVME_REG_CC) & NVME_CC_EN_MASK, 0);
	hq_down(&h);
	assert_int_equal(adm.nlog, 2);
}

/* ---- a device that writes its Identify data while the broker reads it ---
 * The watched page is PROT_NONE: each CPU access to it faults
 * (watch_segv), is let through for one instruction (the trap flag), and
 * after it (watch_trap) the device may write the page (watch.after, told
 * the offset the access began at) before it is closed once more. So a
 * field the broker reads twice may read two values. A write by the CPU
 * (the broker clearing the page for its next command) ends the watch. */
static struct {
	uint8_t *page;
	unsigned reads;
	size_t off; /* of the access being let through */
	void (*after)(uint8_t *page, size_t off);
	struct sigaction segv, trap; /* cmocka's, put back at the end */
} watch;

static void watch_segv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uint8_t *a = si->si_addr;
	(void)sig;
	if (!watch.page || a < watch.page || a >= watch.page + PAGE_SIZE) {
		sigaction(SIGSEGV, &watch.segv, NULL); /* a real fault */
		return;
	}
	mprotect(watch.page, PAGE_SIZE, PROT_READ | PROT_WRITE);
	if (uc->uc_mcontext.gregs[REG_ERR] & 2) { /* a write */
		watch.page = NULL;
		return;
	}
	watch.reads++;
	watch.off = (size_t)(a - watch.page);
	uc->uc_mcontext.gregs[REG_EFL] |= 0x100; /* TF: trap after it */
}

static void watch_trap(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	(void)sig, (void)si;
	uc->uc_mcontext.gregs[REG_EFL] &= ~0x100ll;
	if (!watch.page)
		return;
	watch.after(watch.page, watch.off);
	mprotect(watch.page, PAGE_SIZE, PROT_NONE);
}

static void watch_arm(void *page, void (*after)(uint8_t *, size_t))
{
	struct sigaction sa = {.sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	watch.page = page;
	watch.reads = 0;
	watch.after = after;
	sa.sa_sigaction = watch_segv;
	sigaction(SIGSEGV, &sa, &watch.segv);
	sa.sa_sigaction = watch_trap;
	sigaction(SIGTRAP, &sa, &watch.trap);
	mprotect(page, PAGE_SIZE, PROT_NONE);
}

static void watch_end(void)
{
	if (watch.page)
		mprotect(watch.page, PAGE_SIZE, PROT_READ | PROT_WRITE);
	watch.page = NULL;
	sigaction(SIGSEGV, &watch.segv, NULL);
	sigaction(SIGTRAP, &watch.trap, NULL);
}

/* Namespace 1 as the device answers it: NSZE 1024 LBAs, NLBAF 1 (two
 * formats: LBAF0 512 bytes with 8 of metadata, LBAF1 4096 bytes), FLBAS
 * 00h (format 0, metadata separate). Right after the broker's first read
 * that begins at NSZE the device makes it 0 (inactive), and after the
 * first at FLBAS makes that 11h (format 1, extended). Each field differs
 * in one byte, so whatever bytes a copy took before or after the writes,
 * it describes one of: inactive; 1024 LBAs of 512 bytes + 8 separate;
 * 1024 LBAs of 4096 bytes. */
static bool nsze_written, flbas_written;
static void ns_flip(uint8_t *page, size_t off)
{
	struct nvme_id_ns *ns = (struct nvme_id_ns *)page;
	if (off == offsetof(struct nvme_id_ns, nsze) && !nsze_written)
		ns->nsze = 0, nsze_written = true;
	if (off == offsetof(struct nvme_id_ns, flbas) && !flbas_written)
		ns->flbas = (uint8_t)(FIELD_SET(NVME_FLBAS_EXT, 1) | 1),
		flbas_written = true;
}

static void ns_flip_hook(uint32_t cns, uint32_t nsid, void *data)
{
	if (cns != NVME_CNS_NS || nsid != 1)
		return;
	struct nvme_id_ns *ns = data;
	ns->nlbaf = 1;
	ns->lbaf[0] = 9u << NVME_LBAF_LBADS_SHIFT | 8u << NVME_LBAF_MS_SHIFT;
	ns->lbaf[1] = 12u << NVME_LBAF_LBADS_SHIFT;
	nsze_written = flbas_written = false;
	watch_arm(data, ns_flip);
}

/* The device rewrites namespace 1's NSZE and FLBAS right after the
 * broker first reads them. What the broker grants is what one copy of
 * the page says: nothing (NSZE 0), or 1024 LBAs in the one format FLBAS
 * names, its size and metadata from that format. Before, the parser read
 * the device's page in place, NSZE and FLBAS twice each: NSZE passed the
 * nonzero check as 1024 and was granted as 0, and the LBA size was
 * format 0's with format 1's extended metadata (520 bytes, none
 * separate). */
static void test_probe_identify_read_once(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(15);
	probe_data_hook = ns_flip_hook;
	struct nvme_broker *b = NULL;
	int r = nvme_broker_open(d, d->owner, &b);
	unsigned reads = watch.reads;
	watch_end();
	assert_int_equal(r, 0);
	assert_true(reads > 0); /* the broker did read the device's page */
	if (nvme_broker_nns(b, OWN(b)) == 0)
		return; /* a copy with NSZE 0: inactive */
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 1);
	const struct nvme_ns_policy *ns = nvme_broker_ns(b, OWN(b), 0);
	assert_int_equal(ns->nsid, 1);
	assert_int_equal(ns->nsze, 1024);
	if (ns->data_bytes == 512) { /* format 0, FLBAS as answered */
		assert_int_equal(ns->lba_bytes, 512);
		assert_int_equal(ns->md_bytes, 8);
	} else { /* format 1, extended: no metadata */
		assert_int_equal(ns->data_bytes, 4096);
		assert_int_equal(ns->lba_bytes, 4096);
		assert_int_equal(ns->md_bytes, 0);
	}
}

/* Once the Active Namespace ID list (1, 2) is answered the device writes
 * its page again, during the Identify Namespace commands that follow: 2
 * becomes 1, then FFFFFFFFh. The broker grants what the list said when it
 * was answered, namespaces 1 and 2, ascending (the validator looks them
 * up by binary search). Before, the list stayed in the device's page and
 * was read again for each namespace: namespace 1 was granted twice and
 * 2 never. */
static void *list_page;
static void list_rewrite_hook(uint32_t cns, uint32_t nsid, void *data)
{
	(void)data;
	if (cns == NVME_CNS_ACTIVE_NSLIST)
		list_page = data;
	else if (cns == NVME_CNS_NS && list_page)
		((uint32_t *)list_page)[1] = nsid == 1 ? 1 : NVME_NSID_ALL;
}

static void test_probe_ns_list_read_once(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(16);
	nvme_ns = NULL;
	list_page = NULL;
	probe_data_hook = list_rewrite_hook;
	struct nvme_broker *b = NULL;
	int r = nvme_broker_open(d, d->owner, &b);
	nvme_ns = "1";
	assert_int_equal(r, 0);
	assert_non_null(list_page);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 2);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 0)->nsid, 1);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 1)->nsid, 2);
}

/* lines a test looks for (shim_line_hook): how many held `want`, and the
 * last of them */
static const char *line_want;
static unsigned line_hits;
static char line_last[256];
static void line_count(const char *line)
{
	if (strstr(line, line_want)) {
		line_hits++;
		strlcpy(line_last, line, sizeof(line_last));
	}
}
static void lines_watch(const char *want)
{
	line_want = want;
	line_hits = 0;
	line_last[0] = 0;
	shim_line_hook = line_count;
}

/* devs[i] with CAP.DSTRD 3 (a 32-byte doorbell stride) and a BAR0 of len
 * bytes: queue pair y's doorbells at 1000h + 2y x 32 and 32 on */
static void small_bar(unsigned i, uint64_t len)
{
	uint64_t cap = reg64(i, NVME_REG_CAP) | 3ull << NVME_CAP_DSTRD_SHIFT;
	memcpy(bar[i] + NVME_REG_CAP, &cap, 8);
	devs[i].bar[0].size = len;
}

/* A BAR0 that holds the doorbells of no I/O queue at the controller's
 * stride — the admin pair's only (1040h bytes at CAP.DSTRD 3, devs[19]),
 * or not even the admin CQ head doorbell at 1020h (devs[20]) — is refused
 * at open in one line, before the controller is reset or probed: CC and
 * the admin queue registers unwritten, decoding off. Before, any BAR0 of
 * at least 1008h bytes was taken whatever CAP.DSTRD said: both opened, the
 * second with the probe's CQ head doorbell written at 1020h, past the end
 * of BAR0, and every I/O queue id up to 63 granted with no doorbell to
 * ring it by. */
static void test_bar0_without_io_doorbells_refused(void **st)
{
	(void)st;
	static const struct {
		unsigned i;
		uint64_t len;
	} fns[] = {{19, NVME_REG_DBS + 2 * 32}, {20, NVME_REG_DBS + 32}};
	for (unsigned k = 0; k < ARRAY_SIZE(fns); k++) {
		unsigned i = fns[k].i;
		struct pci_dev *d = fresh_function(i);
		small_bar(i, fns[k].len);
		struct nvme_broker *b = NULL;
		uint64_t lines = shim_kprintf_calls;
		int r = nvme_broker_open(d, d->owner, &b);
		assert_int_equal(r, -1);
		assert_null(b);
		assert_int_equal(shim_kprintf_calls - lines, 1);
		assert_non_null(strstr(shim_last_line,
				       "holds the doorbells of no I/O "
				       "queue at CAP.DSTRD 3"));
		assert_int_equal(reg32(i, NVME_REG_CC), 0);
		assert_int_equal(reg64(i, NVME_REG_ASQ), 0);
		assert_int_equal(reg32(i, NVME_REG_DBS + 32), 0);
		assert_int_equal(cmd[i], 0);
		assert_false(d->fenced);
	}
}

/* A BAR0 of 1080h bytes at CAP.DSTRD 3 holds the admin pair's doorbells
 * and I/O queue 1's: ids 1..1. One of 1100h bytes (devs[21]) holds four
 * queue pairs' doorbells: the admin pair and I/O queues 1..3. The broker says
 * so in one line and grants ids 1..3 (nvme_broker_max_qid, past which the
 * driver asks for none): a Create I/O CQ and SQ 4 are refused by the gate
 * (NVME_V_QUEUE_ID_NOT_GRANTED) unsent, and pair 3 is created and rung at
 * its doorbell, 1000h + 6 x 32; the bench's bare pair (queue 63) does
 * not open. Before, ids up to 63 were granted: queue
 * 4 was created on the device, its doorbells past BAR0's end dropped
 * without a line (env_doorbell), and its commands waited for their
 * timeout. */
static void test_small_bar0_limits_io_queues(void **st)
{
	(void)st;
	/* the least BAR0 taken: the admin pair and I/O pair 1 (devs[29]) */
	struct pci_dev *d = fresh_function(29);
	small_bar(29, NVME_REG_DBS + 2 * 2 * 32);
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	assert_int_equal(nvme_broker_max_qid(b, OWN(b)), 1);
	d = fresh_function(21);
	small_bar(21, NVME_REG_DBS + 4 * 2 * 32);
	lines_watch("doorbells of I/O queues");
	b = NULL;
	int r = nvme_broker_open(d, d->owner, &b);
	shim_line_hook = NULL;
	assert_int_equal(r, 0);
	struct dma_pool pool;
	assert_int_equal(dma_pool_create(d->owner, 5 * PAGE_SIZE, 0, &pool), 0);
	uint8_t *va = pool.va;
	uint64_t iova = pool.iova;
	struct dma_buf asq = {va, iova, PAGE_SIZE};
	struct dma_buf acq = {va + PAGE_SIZE, iova + PAGE_SIZE, PAGE_SIZE};
	assert_int_equal(nvme_broker_enable(b, OWN(b), &asq, &acq, 8), 0);
	/* the bench's bare pair, NVME_BARE_QID, has none either */
	assert_int_equal(nvme_broker_bare_open(b, OWN(b)), -1);
	assert_non_null(strstr(shim_last_line, "has no doorbells in BAR0"));
	struct nvme_sqe *drv = (struct nvme_sqe *)va;
	struct nvme_cqe *drv_cq = (struct nvme_cqe *)(va + PAGE_SIZE);
	struct nvme_sqe *sq = admin_sq();
	struct nvme_cqe *cq = admin_cq();
	/* pair 4: no doorbells in BAR0, refused unsent */
	drv[0] = create_cq(0x10, 4, 4, iova + 3 * PAGE_SIZE);
	drv[1] = create_sq(0x11, 4, 4, iova + 2 * PAGE_SIZE, 4);
	memset(bar[21] + NVME_REG_DBS, 0xee, 4); /* the model's, not a tail */
	assert_int_equal(nvme_broker_sq_ring(b, OWN(b), 0, 2), 2);
	for (uint16_t k = 0; k < 2; k++) {
		assert_int_equal(drv_cq[k].cid, 0x10 + k);
		assert_int_equal(nvme_cqe_sct(&drv_cq[k]), NVME_GATE_SCT_CAPOS);
		assert_int_equal(nvme_cqe_sc(&drv_cq[k]),
				 NVME_GATE_SC_REJECTED);
		assert_int_equal(drv_cq[k].dw0, NVME_V_QUEUE_ID_NOT_GRANTED);
	}
	assert_int_equal(reg32(21, NVME_REG_DBS), 0xeeeeeeee); /* unsent */
	/* and the driver was told: one line, ids 1..3 */
	assert_int_equal(line_hits, 1);
	assert_non_null(strstr(line_last, "queues 1..3 at CAP.DSTRD 3"));
	assert_int_equal(nvme_broker_max_qid(b, OWN(b)), 3);
	/* pair 3: created, and its SQ tail doorbell rung */
	drv[2] = create_cq(0x12, 3, 4, iova + 3 * PAGE_SIZE);
	drv[3] = create_sq(0x13, 3, 4, iova + 2 * PAGE_SIZE, 3);
	for (uint16_t k = 0; k < 2; k++) {
		assert_int_equal(nvme_broker_sq_ring(b, OWN(b), 0, 3 + k), 1);
		cq[k] = (struct nvme_cqe){.sqhd = (uint16_t)(k + 1),
					  .cid = nvme_sqe_cid(&sq[k]),
					  .status = 1};
		assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), 1);
		assert_int_equal(drv_cq[2 + k].cid, 0x12 + k);
		assert_int_equal(drv_cq[2 + k].status, 1);
	}
	struct nvme_sqe *iosq = (struct nvme_sqe *)(va + 2 * PAGE_SIZE);
	iosq[0] = (struct nvme_sqe){.cdw0 = NVME_IO_READ | 0x20u << 16,
				    .nsid = 1,
				    .prp1 = iova + 4 * PAGE_SIZE};
	assert_int_equal(nvme_broker_sq_ring(b, OWN(b), 3, 1), 1);
	assert_int_equal(reg32(21, NVME_REG_DBS + 6 * 32), 1);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* nvme.addr_checks where VT-d translates the owner (the IOMMU shape):
 * absent (the default) or off, the gate's address checks are off; what is
 * not plainly on or off fails safe, checks on with one line naming it — a
 * value other than on or off, and a cut command line that did not keep
 * on (absent, or off: a later nvme.addr_checks, lost, would win). Before,
 * each of those left the default, checks off, with no line for the cut
 * ones. devs[22] to devs[27], one per case. */
static void test_addr_checks_fail_safe(void **st)
{
	(void)st;
	static const struct {
		const char *v;
		bool cut, checks;
		const char *line;
	} cases[] = {
	    {NULL, false, false, NULL},
	    {"off", false, false, NULL},
	    {"on", true, true, NULL},
	    {"of", false, true,
	     "nvme.addr_checks=of is not on or off; address checks on"},
	    {NULL, true, true,
	     "the command line was cut, and nvme.addr_checks may be in "
	     "what was lost; address checks on"},
	    {"off", true, true,
	     "nvme.addr_checks=off: the command line was cut, and a later "
	     "nvme.addr_checks, which would win, may be in what was lost; "
	     "address checks on"},
	};
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		struct pci_dev *d = fresh_function(22 + k);
		shim_iommu_owner = d->owner;
		addr_checks = cases[k].v;
		cut = cases[k].cut;
		lines_watch("nvme.addr_checks");
		struct nvme_broker *b = NULL;
		int r = nvme_broker_open(d, d->owner, &b);
		shim_line_hook = NULL;
		shim_iommu_owner = 0;
		addr_checks = NULL;
		cut = false;
		assert_int_equal(r, 0);
		assert_int_equal(nvme_broker_addr_checks(b, OWN(b)),
				 cases[k].checks);
		assert_int_equal(line_hits, cases[k].line ? 1 : 0);
		if (cases[k].line)
			assert_non_null(strstr(line_last, cases[k].line));
	}
}

/* A driver that keeps stopping a broker that is not enabled (devs[28])
 * is told at the 1st, 2nd, 4th, 8th, ... call, with the count: 100 stops,
 * 7 lines, the last "(64 so far)". Before, one line each: 100. */
static void test_idle_stop_lines_bounded(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(28);
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	lines_watch("stop: controller not enabled");
	for (unsigned k = 0; k < 100; k++)
		assert_int_equal(nvme_broker_stop(b, OWN(b)), 0);
	shim_line_hook = NULL;
	assert_int_equal(line_hits, 7);
	assert_non_null(strstr(line_last, "(stopped); nothing to do (64 so "
					  "far)"));
	assert_int_equal(cmd[28] & CMD_MAST, 0);
}

/* A driver that keeps opening a function not bound to its owner (owner
 * 31, bound to devs[30], at owner 2's devs[1]) is refused every time and
 * every refusal is counted, but its lines are bounded per owner and
 * reason (auth_refused): 100 opens, AUTH_REFUSAL_LINES "unable to open
 * broker" lines and one saying the rest are counted. Before, 100 lines. */
static void test_open_refusal_lines_bounded(void **st)
{
	(void)st;
	devs[30].owner = 31;
	struct auth_owner_facts f = {
	    .d = &devs[30], .backend = DMA_BACKEND_VALIDATOR, .brokered = true};
	assert_int_equal(auth_owner_bind(31, &f), 0);
	uint64_t before = auth_refusals[AUTH_NOT_GRANTED];
	uint64_t lines = shim_kprintf_calls;
	lines_watch("unable to open broker (owner 31: not bound)");
	struct nvme_broker *b = NULL;
	for (unsigned k = 0; k < 100; k++)
		assert_int_equal(nvme_broker_open(&devs[1], 31, &b), -1);
	shim_line_hook = NULL;
	assert_null(b);
	assert_int_equal(auth_refusals[AUTH_NOT_GRANTED], before + 100);
	assert_int_equal(line_hits, AUTH_REFUSAL_LINES);
	assert_int_equal(shim_kprintf_calls - lines, AUTH_REFUSAL_LINES + 1);
	assert_non_null(strstr(shim_last_line, "owner 31: further not-granted "
					       "refusals are counted"));
	assert_untouched(1);
}

/* A driver that keeps enabling its enabled controller (owner 31, devs[30]
 * as the open test above bound it) is refused every time, each refusal
 * counted as busy-in-flight, its lines bounded as the opens' are: 100
 * enables, AUTH_REFUSAL_LINES "already enabled" lines and one more. Before,
 * 100 lines and nothing counted. */
static void test_enable_refusal_lines_bounded(void **st)
{
	(void)st;
	devs[30].owner = 31; /* setup cleared it */
	mdev = 30;
	live = true;
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(&devs[30], 31, &b), 0);
	struct dma_pool pool;
	assert_int_equal(dma_pool_create(31, 2 * PAGE_SIZE, 0, &pool), 0);
	assert_int_equal(enable_on(b, &pool, 8), 0);
	uint64_t before = auth_refusals[AUTH_BUSY];
	uint64_t lines = shim_kprintf_calls;
	lines_watch("unable to enable (already enabled)");
	for (unsigned k = 0; k < 100; k++)
		assert_int_equal(enable_on(b, &pool, 8), -1);
	shim_line_hook = NULL;
	assert_int_equal(auth_refusals[AUTH_BUSY], before + 100);
	assert_int_equal(line_hits, AUTH_REFUSAL_LINES);
	assert_int_equal(shim_kprintf_calls - lines, AUTH_REFUSAL_LINES + 1);
	assert_non_null(strstr(shim_last_line, "owner 31: further "
					       "busy-in-flight refusals"));
	assert_int_equal(cmd[30], CMD_MEM | CMD_MAST); /* still running */
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* ---- shutdown (nvme_broker_shutdown, NVMe 2.0 §3.6.2) -------------------- */
/* devs[i] fresh, opened and enabled with admin rings in *pool */
static struct nvme_broker *shn_up(unsigned i, struct dma_pool *pool)
{
	struct pci_dev *d = fresh_function(i);
	struct nvme_broker *b = NULL;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	assert_int_equal(dma_pool_create(d->owner, 2 * PAGE_SIZE, 0, pool), 0);
	assert_int_equal(enable_on(b, pool, 8), 0);
	assert_int_equal(cmd[i], CMD_MEM | CMD_MAST);
	shn_seen = 0;
	shn_with_en = false;
	return b;
}

/* stopped as nvme_broker_stop leaves it: CC.EN and CC.SHN 0, bus
 * mastering off */
static void assert_shn_stopped(unsigned i)
{
	assert_int_equal(reg32(i, NVME_REG_CC) & NVME_CC_EN_MASK, 0);
	assert_int_equal(FIELD_GET(NVME_CC_SHN, reg32(i, NVME_REG_CC)), 0);
	assert_int_equal(cmd[i] & CMD_MAST, 0);
}

/* The controller told while running (CC.SHN 01b with CC.EN 1), SHST
 * complete at once: 0; then disabled with CC.SHN back to 00b, off the
 * bus, the admin queue kept for the driver's reap as a stop keeps it,
 * and the reset gives the shadows back. Asked again (and after the
 * reset): not enabled, nothing written, 1, one line each at most. Before,
 * there was no shutdown at all; a disable kept CC.SHN. */
static void test_shutdown_completes(void **st)
{
	(void)st;
	struct dma_pool pool;
	struct nvme_broker *b = shn_up(31, &pool);
	uint64_t t0 = shim_clock_ns;
	assert_int_equal(nvme_broker_shutdown(b, OWN(b)), 0);
	assert_true(shn_seen >= 1 && shn_with_en);
	assert_true(shim_clock_ns - t0 < 1000000000ull); /* no long wait */
	assert_shn_stopped(31);
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0),
			 0); /* kept for the reap */
	assert_int_equal(nvme_broker_sq_ring(b, OWN(b), 0, 1), -1);
	/* twice: not enabled, the controller not told again */
	uint8_t regs[BAR_LEN];
	memcpy(regs, bar[31], BAR_LEN);
	unsigned seen = shn_seen;
	lines_watch("shutdown: controller not enabled");
	assert_int_equal(nvme_broker_shutdown(b, OWN(b)), 1);
	assert_int_equal(line_hits, 1);
	assert_non_null(strstr(line_last, "(stopped already)"));
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_owner_acct(32)->use[DMA_CHARGE_SHADOW], 0);
	assert_int_equal(nvme_broker_shutdown(b, OWN(b)), 1);
	shim_line_hook = NULL;
	assert_int_equal(line_hits, 2);
	assert_memory_equal(regs + NVME_REG_DBS, bar[31] + NVME_REG_DBS,
			    BAR_LEN - NVME_REG_DBS);
	assert_int_equal(shn_seen, seen);
	assert_shn_stopped(31);
	/* and it comes up again: the reset is all a shutdown needs */
	assert_int_equal(enable_on(b, &pool, 8), 0);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* SHST never reaches 10b: the wait ends at nvme_broker_shutdown_us —
 * RTD3E 0 (not reported) NVME_SHUTDOWN_MAX_US — with one line, and the
 * controller is disabled all the same: 1. The bound from RTD3E, clamped:
 * 10 us waits NVME_SHUTDOWN_MIN_US, 2 s waits 2 s, 60 s waits
 * NVME_SHUTDOWN_MAX_US. */
static void test_shutdown_never_completes_bounded(void **st)
{
	(void)st;
	static const struct {
		unsigned i;
		uint32_t rtd3e, want_us;
	} cases[] = {
	    {32, 0, NVME_SHUTDOWN_MAX_US},
	    {33, 10, NVME_SHUTDOWN_MIN_US},
	    {34, 2000000, 2000000},
	    {35, 60000000, NVME_SHUTDOWN_MAX_US},
	};
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		unsigned i = cases[k].i;
		model_rtd3e = cases[k].rtd3e;
		shn_mode = SHN_NEVER;
		struct dma_pool pool;
		struct nvme_broker *b = shn_up(i, &pool);
		assert_int_equal(nvme_broker_shutdown_us(b, OWN(b)),
				 cases[k].want_us);
		lines_watch("nvme-broker");
		uint64_t t0 = shim_clock_ns;
		assert_int_equal(nvme_broker_shutdown(b, OWN(b)), 1);
		uint64_t waited_us = (shim_clock_ns - t0) / 1000;
		shim_line_hook = NULL;
		assert_in_range(waited_us, cases[k].want_us,
				cases[k].want_us + 1000);
		assert_int_equal(line_hits, 1);
		assert_non_null(strstr(line_last, "shutdown: not complete in "
						  "time"));
		assert_true(shn_with_en);
		assert_shn_stopped(i);
		assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
		assert_int_equal(dma_pool_revoke(&pool), 0);
	}
}

/* CSTS.CFS while the shutdown runs: the wait ends at once with one line
 * and the controller is disabled: 1. CFS already set when asked: no
 * notice at all (CC.SHN never written), one line, disabled: 1. */
static void test_shutdown_cfs(void **st)
{
	(void)st;
	struct dma_pool pool;
	shn_mode = SHN_CFS;
	struct nvme_broker *b = shn_up(36, &pool);
	lines_watch("nvme-broker");
	uint64_t t0 = shim_clock_ns;
	assert_int_equal(nvme_broker_shutdown(b, OWN(b)), 1);
	shim_line_hook = NULL;
	assert_true(shim_clock_ns - t0 < 1000000000ull);
	assert_int_equal(line_hits, 1);
	assert_non_null(strstr(line_last, "controller fatal (CSTS.CFS)"));
	assert_shn_stopped(36);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	/* fatal before the shutdown is asked */
	cfs_now = false;
	assert_int_equal(enable_on(b, &pool, 8), 0);
	cfs_now = true;
	shn_seen = 0;
	lines_watch("nvme-broker");
	assert_int_equal(nvme_broker_shutdown(b, OWN(b)), 1);
	shim_line_hook = NULL;
	assert_int_equal(shn_seen, 0);
	assert_int_equal(line_hits, 1);
	assert_non_null(strstr(line_last, "stopped without notice"));
	assert_shn_stopped(36);
	cfs_now = false;
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* In the middle of the driver's reset (stopped, queues kept for the
 * reap): the controller is not told, the kept queues stay for the reap,
 * 1. After the owner's revoke: nothing written, nothing reaches the
 * driver, 1. A quarantined owner's running controller (a DMA fault,
 * the revoke not yet run): stopped without notice, its queues dropped. */
static void test_shutdown_during_reset_and_after_revoke(void **st)
{
	(void)st;
	struct rv r;
	rv_up(&r, 37);
	assert_int_equal(nvme_broker_stop(r.b, OWN(r.b)), 0);
	shn_seen = 0;
	assert_int_equal(nvme_broker_shutdown(r.b, OWN(r.b)), 1);
	assert_int_equal(shn_seen, 0);
	assert_non_null(strstr(shim_last_line, "shutdown: controller not "
					       "enabled (stopped already)"));
	/* the Read the device posted before the stop is still delivered */
	assert_int_equal(nvme_broker_cq_reap(r.b, OWN(r.b), 1), 1);
	assert_int_equal(r.drv_iocq[1].cid, 0x21);
	assert_int_equal(auth_owner_revoke(r.d->owner, "test fault"), 1);
	uint8_t regs[BAR_LEN];
	memcpy(regs, bar[37], BAR_LEN);
	assert_int_equal(nvme_broker_shutdown(r.b, OWN(r.b)), 1);
	assert_memory_equal(regs, bar[37], BAR_LEN);
	assert_int_equal(shn_seen, 0);
	assert_int_equal(cmd[37] & CMD_MAST, 0);
	assert_int_equal(nvme_broker_cq_reap(r.b, OWN(r.b), 1), -1);
	assert_int_equal(nvme_broker_shadow_bytes(r.b, OWN(r.b), 1), 0);
	assert_int_equal(auth_owner_reinstate(r.d->owner), 0);
	assert_int_equal(dma_pool_revoke(&r.pool), 0);
	/* quarantined while running */
	struct dma_pool pool;
	struct nvme_broker *b = shn_up(38, &pool);
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), 0);
	shim_iommu_owner = 39;
	shim_iommu_fault();
	lines_watch("nvme-broker");
	assert_int_equal(nvme_broker_shutdown(b, OWN(b)), 1);
	shim_line_hook = NULL;
	assert_int_equal(line_hits, 1);
	assert_non_null(strstr(line_last, "owner 39 faulted; stopped without "
					  "notice"));
	assert_int_equal(shn_seen, 0);
	assert_shn_stopped(38);
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0),
			 -1); /* not believed */
	assert_int_equal(dma_owner_acct(39)->use[DMA_CHARGE_SHADOW], 0);
	assert_int_equal(iommu_owner_resume(39), 0);
	shim_iommu_owner = 0;
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* The owner unbound while its broker is open and enabled, with the gate's
 * queues kept by a stop (shadows live) and the stop not confirmed: the
 * revocation drops the queues, their shadow pages and the Identify page
 * are withheld (never back to the allocator), the broker leaves the table
 * and every call through the old pointer is refused — counted, touching
 * nothing — also once the function is bound again and a fresh broker
 * opened for it (a different one). Last in the list: owner 1 is retired */
static void test_unbind_closes_broker(void **st)
{
	(void)st;
	live = true;
	struct nvme_broker *b = NULL, *b2 = NULL;
	assert_int_equal(nvme_broker_open(&devs[0], 1, &b), 0);
	struct dma_pool pool;
	assert_int_equal(dma_pool_create(1, 2 * PAGE_SIZE, 0, &pool), 0);
	assert_int_equal(enable_on(b, &pool, 8), 0);
	assert_int_equal(nvme_broker_stop(b, OWN(b)), 0); /* queues kept */
	uint64_t shadow = dma_owner_acct(1)->use[DMA_CHARGE_SHADOW];
	assert_int_not_equal(shadow, 0);
	nfreed = 0;
	shim_page_hook = watch_free;
	assert_int_equal(auth_owner_unbind(1, false), 1);
	shim_page_hook = NULL;
	/* the shadows and the Identify page stay out; the pool too: the one
	 * page run freed is the broker's own struct (kernel-only memory) */
	assert_int_equal(nfreed, 1);
	assert_false(was_freed(pool.iova));
	assert_int_equal(devs[0].owner, 0);
	uint64_t stale = auth_refusals[AUTH_STALE_GEN];
	assert_int_equal(enable_on(b, &pool, 8), -1);
	assert_int_equal(nvme_broker_stop(b, OWN(b)), -1);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), -1);
	assert_int_equal(nvme_broker_shutdown(b, OWN(b)), -1);
	assert_int_equal(nvme_broker_sq_ring(b, OWN(b), 0, 1), -1);
	assert_int_equal(nvme_broker_cq_reap(b, OWN(b), 0), -1);
	assert_int_equal(nvme_broker_cq_head(b, OWN(b), 0, 0), -1);
	assert_int_equal(nvme_broker_csts(b, OWN(b)), NVME_CSTS_GONE);
	uint32_t dw0;
	assert_int_equal(nvme_broker_get_feature(b, OWN(b), 0x07, 0, &dw0), -1);
	assert_int_equal(auth_refusals[AUTH_STALE_GEN], stale + 9);
	/* bound again under a fresh id: a new broker; the old one stays dead */
	devs[0].owner = 41;
	struct auth_owner_facts f = {
	    .d = &devs[0], .backend = DMA_BACKEND_VALIDATOR, .brokered = true};
	assert_int_equal(auth_owner_bind(41, &f), 0);
	assert_int_equal(nvme_broker_open(&devs[0], 41, &b2), 0);
	assert_ptr_not_equal(b2, b);
	assert_int_equal(nvme_broker_stop(b, OWN(b)), -1);
	assert_int_equal(auth_owner_unbind(41, true), 0);
	/* a driver restarted again and again: no page kept per restart (the
	 * struct goes back at each unbind), and every old handle stays
	 * refused though the new broker takes the same slot (and whatever
	 * memory the allocator hands it: the old struct's was freed). Before,
	 * each unbind kept the struct for good */
	static struct nvme_broker *old[16];
	uint64_t pages = 0;
	for (unsigned k = 0; k < 16; k++) {
		uint16_t o = (uint16_t)(200 + k);
		devs[0].owner = o;
		assert_int_equal(auth_owner_bind(o, &f), 0);
		assert_int_equal(nvme_broker_open(&devs[0], o, &old[k]), 0);
		/* the slot's last broker and this one: one slot, two handles */
		assert_int_equal((uintptr_t)old[k] & 0xffff,
				 (uintptr_t)b2 & 0xffff);
		assert_int_not_equal(nvme_broker_cap(old[k], OWN(old[k])), 0);
		for (unsigned i = 0; i < k; i++) {
			assert_ptr_not_equal(old[i], old[k]);
			assert_int_equal(nvme_broker_stop(old[i], OWN(old[i])),
					 -1);
			assert_int_equal(nvme_broker_cap(old[i], OWN(old[i])),
					 0);
			assert_int_equal(nvme_broker_csts(old[i], OWN(old[i])),
					 NVME_CSTS_GONE);
		}
		assert_int_equal(nvme_broker_stop(old[k], OWN(old[k])),
				 0); /* open, idle */
		assert_int_equal(auth_owner_unbind(o, true), 0);
		if (k == 1)
			pages = shim_pages_in_use;
		if (k > 1)
			assert_int_equal(shim_pages_in_use, pages);
	}
}

/* ---- identify again after a reset ---------------------------------------
 * Firmware activated across a reset may change the controller: the enable
 * after a reset identifies it again on the broker's own pages, as the open
 * did (broker_reidentify), and the policy keeps the narrower of each
 * limit; a namespace gone or of another format is no longer granted, one
 * resized has its new size. Before, the broker ran on the open's probe:
 * each assertion on the second enable below failed. */
static void reident_enable(struct nvme_broker *b, struct dma_pool *pool)
{
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	assert_int_equal(enable_on(b, pool, 8), 0);
}

static void test_reset_reidentifies(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(41);
	nvme_ns = NULL; /* both namespaces */
	model_oncs = NVME_ONCS_WRITE_ZEROES | NVME_ONCS_DSM;
	model_nvm = (struct nvme_id_ctrl_nvm){.wzsl = 3, .dmrl = 16};
	struct nvme_broker *b = NULL;
	struct dma_pool pool;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	assert_int_equal(dma_pool_create(d->owner, 2 * PAGE_SIZE, 0, &pool), 0);
	unsigned nids = model_nids;
	/* the first enable follows the open's probe: nothing asked again */
	assert_int_equal(enable_on(b, &pool, 8), 0);
	assert_int_equal(model_nids, nids);
	assert_int_equal(nvme_broker_max_xfer(b, OWN(b)), 128u << 10);
	/* firmware activated: MDTS 3, no DSM, WZSL 1, namespace 1 grown to
	 * 4096 blocks, namespace 2 now 4 KiB blocks */
	model_mdts = 3;
	model_oncs = NVME_ONCS_WRITE_ZEROES;
	model_nvm = (struct nvme_id_ctrl_nvm){.wzsl = 1, .dmrl = 16};
	model_nsze = 4096;
	model_lbads = 12;
	shim_count_lines("after the reset");
	reident_enable(b, &pool);
	/* one line for the controller, one per namespace changed */
	assert_int_equal(shim_counted, 3);
	assert_true(model_nids > nids);
	assert_int_equal(nvme_broker_max_xfer(b, OWN(b)), 32u << 10);
	const struct nvme_ident_ctrl *id = nvme_broker_ident(b, OWN(b));
	assert_int_equal(id->mdts, 3);
	assert_int_equal(id->oncs, NVME_ONCS_WRITE_ZEROES);
	assert_int_equal(id->wzsl, 1);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 1);
	const struct nvme_ns_policy *ns = nvme_broker_ns(b, OWN(b), 0);
	assert_int_equal(ns->nsid, 1);
	assert_int_equal(ns->nsze, 4096);
	assert_int_equal(ns->lba_bytes, 512);
	/* wider again after the next reset: the narrower kept; namespace 2
	 * back in a format capOS serves is granted again, as a namespace
	 * that appeared (the driver attaches it anew: it gave the one
	 * before up). Before: not granted until the driver was bound again */
	model_mdts = 5;
	model_oncs = NVME_ONCS_WRITE_ZEROES | NVME_ONCS_DSM;
	model_lbads = 9;
	shim_count_lines("after the reset: namespace 2 is new; granted");
	reident_enable(b, &pool);
	assert_int_equal(shim_counted, 1);
	assert_int_equal(nvme_broker_max_xfer(b, OWN(b)), 32u << 10);
	id = nvme_broker_ident(b, OWN(b));
	assert_int_equal(id->oncs, NVME_ONCS_WRITE_ZEROES);
	assert_int_equal(id->mdts, 3);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 2);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 0)->nsid, 1);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 1)->nsid, 2);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 1)->lba_bytes, 512);
	nvme_ns = "1";
}

/* namespace 1 shrinks and namespace 2 vanishes from the active list
 * across a reset */
static void test_reset_reidentify_ns_gone_resized(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(42);
	nvme_ns = NULL;
	struct nvme_broker *b = NULL;
	struct dma_pool pool;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	assert_int_equal(dma_pool_create(d->owner, 2 * PAGE_SIZE, 0, &pool), 0);
	assert_int_equal(enable_on(b, &pool, 8), 0);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 2);
	model_nns = 1;
	model_nsze = 512;
	shim_count_lines("after the reset");
	reident_enable(b, &pool);
	assert_int_equal(shim_counted, 3); /* the controller, resized, gone */
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 1);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 0)->nsze, 512);
	/* nothing changed: the controller's one line says so */
	shim_count_lines("after the reset");
	reident_enable(b, &pool);
	assert_int_equal(shim_counted, 1);
	shim_count_lines("identified again after the reset in ");
	reident_enable(b, &pool);
	assert_int_equal(shim_counted, 1);
	nvme_ns = "1";
}

/* one descriptor into list at pos: type, length, n bytes of v; the next
 * one's offset */
static unsigned model_desc(uint8_t *list, unsigned pos, uint8_t nidt,
			   uint8_t nidl, uint8_t v)
{
	list[pos] = nidt;
	list[pos + 1] = nidl;
	memset(list + pos + 4, v, nidl);
	return pos + 4 + nidl;
}

/* The probe reads each namespace's identifiers (Identify CNS 03h on a
 * controller of 1.4) defensively: namespace 1's list names its NGUID
 * twice, namespace 2's runs past the page — neither believed, one line
 * for the probe, Identify Namespace's EUI64 kept, both granted. After a
 * reset namespace 1's list is sound (its EUI64 as before, an NGUID not
 * known before): the same namespace; after the next its NGUID changed:
 * another namespace under NSID 1, granted as the new one, one line. */
static void test_probe_identifiers(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_function(46);
	nvme_ns = NULL;
	memset(model_eui64[1], 0xe1, 8);
	unsigned pos = model_desc(model_descs[1], 0, NVME_NIDT_NGUID, 16, 1);
	model_desc(model_descs[1], pos, NVME_NIDT_NGUID, 16, 2);
	pos = 0;
	while (pos < 4096 - 300)
		pos = model_desc(model_descs[2], pos, 0x80, 255, 3);
	model_descs[2][pos] = NVME_NIDT_UUID;
	model_descs[2][pos + 1] = 255; /* past the end, and not 16 */
	shim_count_lines("namespace 1: identifier list (Identify CNS 03h) not "
			 "used: a descriptor type given twice (byte 20)");
	uint64_t lines = shim_kprintf_calls;
	struct nvme_broker *b = NULL;
	struct dma_pool pool;
	assert_int_equal(nvme_broker_open(d, d->owner, &b), 0);
	assert_int_equal(shim_counted, 1);
	/* the NVM limits, that one, the reset and the gate's: namespace 2's
	 * list not said (once a probe) */
	assert_int_equal(shim_kprintf_calls - lines, 4);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 2);
	const struct nvme_ns_policy *ns = nvme_broker_ns(b, OWN(b), 0);
	assert_int_equal(ns->ids.have, NVME_NSIDS_EUI64);
	assert_int_equal(ns->ids.eui64[7], 0xe1);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 1)->ids.have, 0);
	assert_int_equal(dma_pool_create(d->owner, 2 * PAGE_SIZE, 0, &pool), 0);
	assert_int_equal(enable_on(b, &pool, 8), 0);
	/* sound now: the same EUI64, an NGUID (and the CSI) new */
	memset(model_descs[1], 0, 4096);
	pos = model_desc(model_descs[1], 0, NVME_NIDT_EUI64, 8, 0xe1);
	pos = model_desc(model_descs[1], pos, NVME_NIDT_NGUID, 16, 0x5a);
	model_desc(model_descs[1], pos, NVME_NIDT_CSI, 1, NVME_CSI_NVM);
	shim_count_lines("after the reset");
	reident_enable(b, &pool);
	assert_int_equal(shim_counted, 1); /* "nothing changed" */
	ns = nvme_broker_ns(b, OWN(b), 0);
	assert_int_equal(ns->ids.have,
			 NVME_NSIDS_EUI64 | NVME_NSIDS_NGUID | NVME_NSIDS_CSI);
	/* the NGUID changed, the format did not */
	memset(model_descs[1] + 12 + 4, 0x5b, 16);
	shim_count_lines("after the reset: namespace 1 is another namespace "
			 "(NGUID 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a -> "
			 "5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b): the one before no "
			 "longer granted, this one granted");
	reident_enable(b, &pool);
	assert_int_equal(shim_counted, 1);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 2);
	assert_int_equal(nvme_broker_ns(b, OWN(b), 0)->ids.nguid[0], 0x5b);
	shim_line_hook = NULL;
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	dma_pool_revoke(&pool);
	nvme_ns = "1";
}

/* the identify after a reset fails (Identify Controller answered Invalid
 * Field): the enable is refused, the controller stays stopped, and the
 * broker keeps what it knew — it never runs on a half-read identity;
 * once the controller answers again the next enable succeeds. Before:
 * the enable succeeded without asking. */
static void test_reset_reidentify_fails_refused(void **st)
{
	(void)st;
	struct dma_pool pool;
	struct nvme_broker *b = bring_up(&pool);
	uint32_t xfer = nvme_broker_max_xfer(b, OWN(b));
	model_mdts = 2;
	probe_fail_cns = NVME_CNS_CTRL;
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	shim_count_lines("unable to identify controller again");
	assert_int_equal(enable_on(b, &pool, 8), -1);
	assert_int_equal(shim_counted, 1);
	assert_int_equal(cmd[0] & CMD_MAST, 0);
	assert_int_equal(nvme_broker_max_xfer(b, OWN(b)), xfer);
	assert_int_equal(nvme_broker_nns(b, OWN(b)), 1);
	probe_fail_cns = -1;
	assert_int_equal(enable_on(b, &pool, 8), 0);
	assert_int_equal(nvme_broker_max_xfer(b, OWN(b)), 16u << 10);
	assert_int_equal(nvme_broker_reset(b, OWN(b)), 0);
	dma_pool_revoke(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_foreign_function_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_open_own_function_reaches_controller, setup, teardown),
	    /* last: their broker stays open for the process */
	    cmocka_unit_test_setup_teardown(test_stop_before_enable, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_get_feature_only_known_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_owner_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_get_feature_only_granted_namespaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kcmd_slot_kept_from_aers,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_bare_close_keeps_pages_device_holds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bare_pages_back_after_reset,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_queue_not_bound_by_mqes,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_kcmd_timeout_held_then_answered_or_reset, setup, teardown),
	    /* last: it binds owner 3 to function 2 for the process */
	    cmocka_unit_test_setup_teardown(
		test_cut_cmdline_grants_no_namespace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_ns_list_grants_none,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_probe_late_answers_within_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_many_namespaces_answered,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_late_answer_ends_probe,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_double_answer_skipped,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_probe_pages_kept_while_device_may_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fence_outlives_failed_open,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stuck_controller_fenced, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_probe_nvm_limits_read, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_probe_nvm_limits_refused_or_unasked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_identify_fails_unwinds,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoke_io_in_flight, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_oncs_decides_optional_io,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoke_during_reset, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_probe_identify_read_once,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_ns_list_read_once, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_bar0_without_io_doorbells_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_small_bar0_limits_io_queues,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_addr_checks_fail_safe, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_idle_stop_lines_bounded, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_open_refusal_lines_bounded,
					    setup, teardown),
	    /* after the open test: owner 31 bound to devs[30] */
	    cmocka_unit_test_setup_teardown(test_enable_refusal_lines_bounded,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shutdown_completes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_shutdown_never_completes_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shutdown_cfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_shutdown_during_reset_and_after_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_reidentifies, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_reset_reidentify_ns_gone_resized, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_identifiers, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reset_reidentify_fails_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_deletes_io_queues_first,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_stop_drain_answers_deleted_reads_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_halt_deletes_bounded, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_halt_deletes_skipped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_driver_deleted_queues_not_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shutdown_deletes_before_notice,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unbind_closes_broker, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
