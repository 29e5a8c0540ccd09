/* kernel/authority/nvme_broker.c — see nvme_broker.h.
 *
 * The broker is the only code that writes an NVMe controller's registers:
 * CC, AQA, ASQ, ACQ and the doorbells. It maps BAR0's register page and
 * doorbell page for itself (the MSI-X table, further into the BAR, stays the
 * kernel's PCI code's business) and hands the driver getters, never the
 * mapping. Register layout: NVMe 2.0 §3.1.3. */
#include "kernel/authority/nvme_broker.h"
#include "kernel/authority/auth_internal.h"
#include "dma/nvme_reg.h"
#include "dma/owner.h"

#include "kernel/devmgr/shape.h"

#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/time/time.h"

#define BROKER_MAX     4
#define BROKER_KCMD_US 2000000u /* the broker's own admin commands */

struct nvme_broker {
	bool used, enabled;
	/* the last disable was confirmed (CC.EN=0 and CSTS.RDY=0): only then
	 * may bus mastering come back on */
	bool stopped;
	/* a disable failed: the controller may still be running on memory
	 * that was freed. Bus mastering stays off for good. */
	bool fenced;
	bool stuck; /* injected: CSTS.RDY reads 1 whatever CC.EN says */
	struct pci_dev *d;
	uint16_t owner;
	char name[16];		/* "0000:BB:DD.F" */
	volatile uint8_t *regs; /* kernel-only mapping of BAR0 */
	uint64_t map_len;
	uint64_t cap;
	uint32_t vs;
	uint32_t dstrd_bytes; /* 4 << CAP.DSTRD */
	uint32_t to_us;	      /* CAP.TO */
	uint32_t max_xfer, nn;
	uint64_t ident; /* kernel page for the broker's Identify */
	struct nvme_val_policy pol;
	struct nvme_gate gate;
};

static struct nvme_broker brokers[BROKER_MAX];

static uint32_t reg_read32(const struct nvme_broker *b, uint32_t off)
{
	uint32_t v = *(volatile const uint32_t *)(b->regs + off);
	if (b->stuck && off == NVME_REG_CSTS)
		v |= (uint32_t)FIELD_SET(NVME_CSTS_RDY, 1);
	return v;
}
static void reg_write32(struct nvme_broker *b, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(b->regs + off) = v;
}
/* 64-bit registers as two 32-bit halves, low then high (NVMe 2.0 §3.1.2) */
static uint64_t reg_read64(const struct nvme_broker *b, uint32_t off)
{
	uint64_t lo = reg_read32(b, off);
	return lo | (uint64_t)reg_read32(b, off + 4) << 32;
}
static void reg_write64(struct nvme_broker *b, uint32_t off, uint64_t v)
{
	reg_write32(b, off, (uint32_t)v);
	reg_write32(b, off + 4, (uint32_t)(v >> 32));
}

/* ---- the gate's environment ---------------------------------------------- */
static void env_doorbell(void *ctx, uint32_t index, uint32_t value)
{
	struct nvme_broker *b = ctx;
	uint64_t off = NVME_REG_DBS + (uint64_t)index * b->dstrd_bytes;
	if (index >= 2 * NVME_VAL_MAX_QID || off + 4 > b->map_len)
		return; /* the gate never asks; refuse quietly if it did */
	reg_write32(b, (uint32_t)off, value);
}

static int env_shadow_alloc(void *ctx, size_t len, struct dma_buf *out)
{
	struct nvme_broker *b = ctx;
	size_t pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
	/* below the device's DMA limit (AWS NVMe: 2^48), like its pools */
	uint64_t pa = pages ? page_alloc(pages, devmgr_dma_limit(b->d)) : 0;
	if (!pa)
		return -1;
	out->va = (void *)pa; /* identity map (kernel/mm/mm.h) */
	out->iova = pa;	      /* no IOMMU: device address = physical */
	out->len = pages * PAGE_SIZE;
	return 0;
}

static void env_shadow_free(void *ctx, struct dma_buf *buf)
{
	(void)ctx;
	page_free(buf->iova, buf->len / PAGE_SIZE);
}

static void *env_drv_va(void *ctx, uint64_t iova, size_t len)
{
	(void)ctx, (void)len;
	/* the gate asks only for ranges the grant table covers; pools are
	 * identity mapped RAM */
	return (void *)iova;
}

/* ---- bring-up ---------------------------------------------------------- */
/* wait until CSTS.RDY == rdy, bounded by CAP.TO (NVMe 2.0 §3.5.1, §3.5.2) */
static int broker_wait_rdy(struct nvme_broker *b, uint32_t rdy)
{
	uint64_t start = time_now_us();
	for (;;) {
		uint32_t csts = reg_read32(b, NVME_REG_CSTS);
		if (csts == 0xffffffffu)
			return -1; /* the function went away */
		if (FIELD_GET(NVME_CSTS_RDY, csts) == rdy)
			return 0;
		if (rdy && FIELD_GET(NVME_CSTS_CFS, csts))
			return -1;
		if (time_now_us() - start > b->to_us)
			return -1;
		time_delay_us(50);
	}
}

/* CC.EN=0 and wait for RDY=0. A controller that is still coming up (EN=1,
 * RDY=0) is first let reach RDY=1: clearing EN in between is undefined
 * (NVMe 2.0 §3.1.3.5, CC.EN). */
static int broker_disable(struct nvme_broker *b)
{
	uint32_t cc = reg_read32(b, NVME_REG_CC);
	if (FIELD_GET(NVME_CC_EN, cc)) {
		uint32_t csts = reg_read32(b, NVME_REG_CSTS);
		if (!FIELD_GET(NVME_CSTS_RDY, csts) &&
		    !FIELD_GET(NVME_CSTS_CFS, csts))
			(void)broker_wait_rdy(b, 1);
		reg_write32(b, NVME_REG_CC, cc & ~(uint32_t)NVME_CC_EN_MASK);
	}
	return broker_wait_rdy(b, 0);
}

/* Bus mastering is the fence: with it off the function can neither DMA nor
 * signal MSI-X (PCI 3.0 §6.2.2, Command register bit 2). The broker turns
 * it on just before CC.EN=1 and off again whenever the controller stops,
 * so a controller that ignores CC.EN=0 still cannot reach memory the
 * broker is about to free. */
static void broker_fence(struct nvme_broker *b, bool dma_on)
{
	pci_enable(b->d, true, false, dma_on);
}

/* CC.EN or CSTS.RDY still set (or the function reads all ones) */
static bool broker_running(const struct nvme_broker *b)
{
	uint32_t csts = reg_read32(b, NVME_REG_CSTS);
	return csts == 0xffffffffu || FIELD_GET(NVME_CSTS_RDY, csts) ||
	       FIELD_GET(NVME_CC_EN, reg_read32(b, NVME_REG_CC));
}

/* Stop the controller and drop every gate queue. Bus mastering goes off
 * first thing after the disable, whatever its outcome: the device has
 * stopped using every queue, or ignores CC.EN=0 and is cut off the bus here.
 * Either way the shadows can go and the grants in-flight commands pinned
 * are released. A controller that did not stop is fenced for good (one
 * reason line; the function is marked) and never re-enabled. 0 or -1. */
static int broker_stop(struct nvme_broker *b)
{
	int r = broker_disable(b);
	broker_fence(b, false);
	nvme_gate_drop_all(&b->gate);
	b->enabled = false;
	b->stopped = r == 0;
	if (r != 0 && !b->fenced) {
		b->fenced = true;
		strlcpy(b->d->state, "fenced: did not stop",
			sizeof(b->d->state));
		kprintf("nvme-broker %s: unable to reset controller (CSTS "
			"0x%x); fenced: bus mastering off, not re-enabled\n",
			b->name, reg_read32(b, NVME_REG_CSTS));
	}
	return r;
}

int nvme_broker_open(struct pci_dev *d, uint16_t owner,
		     struct nvme_broker **out)
{
	struct nvme_broker *b = 0;
	for (unsigned i = 0; i < BROKER_MAX && !b; i++)
		if (!brokers[i].used)
			b = &brokers[i];
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	if (!b) {
		kprintf(
		    "nvme-broker %s: unable to open broker (all %u in use)\n",
		    a, BROKER_MAX);
		return -1;
	}
	/* registers and the doorbells of NVME_VAL_MAX_QID queues at the
	 * largest stride the broker accepts (CAP.DSTRD <= 3) */
	const uint64_t need = NVME_REG_DBS + 2ull * NVME_VAL_MAX_QID * 32;
	if (d->bar[0].io || d->bar[0].size < NVME_REG_DBS + 8 ||
	    !d->bar[0].base) {
		kprintf("nvme-broker %s: unable to map BAR0 (not a memory BAR "
			"of at least 4 KiB + doorbells)\n",
			a);
		return -1;
	}
	memset(b, 0, sizeof(*b));
	b->d = d;
	b->owner = owner;
	strlcpy(b->name, a, sizeof(b->name));
	b->map_len = MIN(need, d->bar[0].size);
	/* memory decoding for the registers; no DMA until enable (firmware's
	 * queues may still be live) */
	pci_enable(d, true, false, false);
	b->regs = mm_map_mmio(d->bar[0].base, b->map_len);
	if (!b->regs) {
		kprintf("nvme-broker %s: unable to map BAR0\n", a);
		return -1;
	}
	b->cap = reg_read64(b, NVME_REG_CAP);
	b->vs = reg_read32(b, NVME_REG_VS);
	if (b->cap == ~0ull) {
		kprintf("nvme-broker %s: unable to read CAP (all ones)\n", a);
		return -1;
	}
	uint32_t dstrd = (uint32_t)FIELD_GET(NVME_CAP_DSTRD, b->cap);
	b->dstrd_bytes = 4u << dstrd;
	/* CAP.TO is in 500 ms units; 0 would be a broken controller: wait
	 * at least 500 ms anyway */
	b->to_us =
	    (uint32_t)MAX(FIELD_GET(NVME_CAP_TO, b->cap), 1ull) * 500000u;
	if (dstrd > 3 ||
	    !(FIELD_GET(NVME_CAP_CSS, b->cap) & NVME_CAP_CSS_NVM) ||
	    FIELD_GET(NVME_CAP_MPSMIN, b->cap) != 0) {
		kprintf("nvme-broker %s: unable to use controller (CAP 0x%llx: "
			"needs NVM command set, 4 KiB pages, DSTRD <= 3)\n",
			a, (unsigned long long)b->cap);
		return -1;
	}
	if (broker_disable(b) != 0) {
		kprintf("nvme-broker %s: unable to reset controller (CSTS 0x%x "
			"after %u ms); bus mastering stays off\n",
			a, reg_read32(b, NVME_REG_CSTS), b->to_us / 1000);
		strlcpy(d->state, "fenced: did not stop", sizeof(d->state));
		return -1;
	}
	b->stopped = true;
	b->ident = page_alloc(1, devmgr_dma_limit(d));
	if (!b->ident) {
		kprintf("nvme-broker %s: unable to allocate identify page\n",
			a);
		return -1;
	}
	struct dma_owner *acct = dma_owner_acct(owner);
	if (!acct) {
		page_free(b->ident, 1);
		kprintf("nvme-broker %s: unable to account owner %u\n", a,
			owner);
		return -1;
	}
	b->pol.grants = &acct->grants;
	b->pol.acct = acct;
	b->pol.owner = owner;
	b->pol.page_shift = 12;
	b->pol.max_xfer = 128 * 1024; /* until Identify says otherwise */
	b->pol.qid_max = NVME_VAL_MAX_QID - 1;
	b->pol.qsize_max = (uint32_t)MIN(FIELD_GET(NVME_CAP_MQES, b->cap) + 1,
					 (uint64_t)NVME_GATE_QSIZE_MAX);
	b->pol.iv_max = d->msix_size ? (uint16_t)(d->msix_size - 1) : 0;
	struct nvme_gate_env env = {
	    .ctx = b,
	    .doorbell = env_doorbell,
	    .shadow_alloc = env_shadow_alloc,
	    .shadow_free = env_shadow_free,
	    .drv_va = env_drv_va,
	};
	if (nvme_gate_init(&b->gate, &env, &b->pol) != 0) {
		page_free(b->ident, 1);
		kprintf("nvme-broker %s: unable to set up gate\n", a);
		return -1;
	}
	b->used = true;
#ifdef CAPOS_NVME_VALIDATOR_OFF
	kprintf("nvme-broker %s: WARNING: validator checks compiled out "
		"(CAPOS_NVME_VALIDATOR_OFF, benchmark build): DMA is not "
		"confined\n",
		a);
#endif
	kprintf("nvme-broker %s: reset, CAP 0x%llx VS %u.%u, owner %u\n", a,
		(unsigned long long)b->cap, b->vs >> 16, (b->vs >> 8) & 0xff,
		owner);
	*out = b;
	return 0;
}

/* the broker's own admin command into b->ident; 0 or -1 */
static int broker_kcmd(struct nvme_broker *b, struct nvme_sqe *c)
{
	struct nvme_cqe e;
	c->prp1 = b->ident;
	c->prp2 = 0;
	if (nvme_gate_kcmd_submit(&b->gate, c) != 0)
		return -1;
	uint64_t start = time_now_us();
	while (!nvme_gate_kcmd_poll(&b->gate, &e)) {
		if (time_now_us() - start > BROKER_KCMD_US)
			return -1;
		time_delay_us(20);
	}
	return (nvme_cqe_sc(&e) || nvme_cqe_sct(&e)) ? -1 : 0;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Identify Controller: MDTS and NN for the policy (NVMe 2.0 §5.17.2.1) */
static int broker_identify_ctrl(struct nvme_broker *b)
{
	struct nvme_sqe c = {0};
	c.cdw0 = NVME_ADM_IDENTIFY;
	c.cdw10 = NVME_CNS_CTRL;
	if (broker_kcmd(b, &c) != 0)
		return -1;
	const uint8_t *id = (const uint8_t *)b->ident;
	uint32_t mdts = id[NVME_IDCTL_MDTS];
	uint64_t unit = 4096ull << FIELD_GET(NVME_CAP_MPSMIN, b->cap);
	uint64_t max = NVME_VAL_XFER_CAP; /* MDTS 0: no limit; capOS caps */
	if (mdts && mdts < 20 && (unit << mdts) < max)
		max = unit << mdts;
	b->max_xfer = (uint32_t)max;
	b->pol.max_xfer = b->max_xfer;
	b->nn = rd32(id + NVME_IDCTL_NN);
	/* the cloud shape's model/serial evidence comes from this Identify,
	 * never from the driver (SN: bytes 4-23, MN: 24-63) */
	devmgr_shape_identify(b->d, id + 4, id + NVME_IDCTL_MN);
	return 0;
}

/* Identify Namespace for the first namespaces: the LBA format that turns
 * NLB into bytes (NVM Command Set 1.0 §4.1.5.1). Inactive ones (NSZE 0)
 * and unusable formats are not granted. */
static void broker_identify_ns(struct nvme_broker *b)
{
	b->pol.nns = 0;
	for (uint32_t nsid = 1; nsid <= MIN(b->nn, (uint32_t)NVME_VAL_MAX_NS);
	     nsid++) {
		struct nvme_sqe c = {0};
		c.cdw0 = NVME_ADM_IDENTIFY;
		c.nsid = nsid;
		c.cdw10 = NVME_CNS_NS;
		if (broker_kcmd(b, &c) != 0)
			continue;
		const uint8_t *id = (const uint8_t *)b->ident;
		uint64_t nsze = rd32(id + NVME_IDNS_NSZE) |
				(uint64_t)rd32(id + NVME_IDNS_NSZE + 4) << 32;
		uint8_t nlbaf = id[NVME_IDNS_NLBAF],
			flbas = id[NVME_IDNS_FLBAS];
		uint32_t idx = FIELD_GET(NVME_FLBAS_IDX, flbas);
		if (nlbaf >= 16)
			idx |= (uint32_t)FIELD_GET(NVME_FLBAS_IDXHI, flbas)
			       << 4;
		if (!nsze || idx > nlbaf || idx >= 64)
			continue;
		uint32_t lbaf = rd32(id + NVME_IDNS_LBAF + 4 * idx);
		uint32_t lbads = FIELD_GET(NVME_LBAF_LBADS, lbaf);
		uint32_t ms = FIELD_GET(NVME_LBAF_MS, lbaf);
		if (lbads < 9 || lbads > 16)
			continue;
		struct nvme_ns_policy *n = &b->pol.ns[b->pol.nns++];
		n->nsid = nsid;
		if (FIELD_GET(NVME_FLBAS_EXT, flbas)) {
			n->lba_bytes = (1u << lbads) + ms;
			n->md_bytes = 0;
		} else {
			n->lba_bytes = 1u << lbads;
			n->md_bytes = ms;
		}
	}
}

int nvme_broker_enable(struct nvme_broker *b, const struct dma_buf *asq,
		       const struct dma_buf *acq, uint16_t entries)
{
	uint64_t sasq, sacq;
	if (b->enabled) {
		kprintf("nvme-broker %s: unable to enable (already enabled)\n",
			b->name);
		return -1;
	}
	/* NVMe 2.0 §3.5.2: a controller not proven stopped may still own
	 * queues in memory the broker has freed; it stays off the bus */
	if (b->fenced || !b->stopped || broker_running(b)) {
		kprintf("nvme-broker %s: unable to enable (controller not "
			"proven stopped, CSTS 0x%x); bus mastering stays off\n",
			b->name, reg_read32(b, NVME_REG_CSTS));
		return -1;
	}
	if (entries > b->pol.qsize_max || asq->len < (size_t)entries * 64 ||
	    acq->len < (size_t)entries * 16 ||
	    nvme_gate_admin_open(&b->gate, asq->iova, acq->iova, entries, &sasq,
				 &sacq) != 0) {
		kprintf("nvme-broker %s: unable to accept admin queues (%u "
			"entries; must be page aligned in owner %u's grants)\n",
			b->name, entries, b->owner);
		return -1;
	}
	/* NVMe 2.0 §3.5.1 steps 4-6: admin queue attributes and bases (the
	 * kernel's shadow rings), then CC, then wait for CSTS.RDY */
	reg_write32(b, NVME_REG_AQA,
		    (uint32_t)(FIELD_SET(NVME_AQA_ASQS, entries - 1) |
			       FIELD_SET(NVME_AQA_ACQS, entries - 1)));
	reg_write64(b, NVME_REG_ASQ, sasq);
	reg_write64(b, NVME_REG_ACQ, sacq);
	b->stopped = false;
	broker_fence(b, true);
	uint32_t cc =
	    (uint32_t)(FIELD_SET(NVME_CC_CSS, 0) | FIELD_SET(NVME_CC_MPS, 0) |
		       FIELD_SET(NVME_CC_AMS, 0) |
		       FIELD_SET(NVME_CC_IOSQES, 6) |
		       FIELD_SET(NVME_CC_IOCQES, 4));
	reg_write32(b, NVME_REG_CC, cc);
	reg_write32(b, NVME_REG_CC, cc | (uint32_t)FIELD_SET(NVME_CC_EN, 1));
	if (broker_wait_rdy(b, 1) != 0) {
		kprintf("nvme-broker %s: unable to enable controller (CSTS "
			"0x%x)\n",
			b->name, reg_read32(b, NVME_REG_CSTS));
		goto fail;
	}
	if (broker_identify_ctrl(b) != 0) {
		kprintf("nvme-broker %s: unable to identify controller\n",
			b->name);
		goto fail;
	}
	broker_identify_ns(b);
	b->enabled = true;
	kprintf("nvme-broker %s: enabled: admin queue %u entries (shadowed), "
		"max transfer %u KiB, %u namespaces, %u granted\n",
		b->name, entries, b->max_xfer / 1024, b->nn, b->pol.nns);
	return 0;
fail:
	broker_stop(b);
	return -1;
}

int nvme_broker_reset(struct nvme_broker *b)
{
	return broker_stop(b);
}

void nvme_broker_close(struct nvme_broker *b)
{
	if (!b || !b->used)
		return;
	(void)nvme_broker_reset(b);
	page_free(b->ident, 1);
	b->used = false;
}

int nvme_broker_sq_ring(struct nvme_broker *b, uint16_t qid, uint16_t tail)
{
	if (!b->enabled)
		return -1;
	return nvme_gate_sq_ring(&b->gate, qid, tail);
}

int nvme_broker_cq_reap(struct nvme_broker *b, uint16_t qid)
{
	if (!b->enabled)
		return -1;
	return nvme_gate_cq_reap(&b->gate, qid);
}

int nvme_broker_cq_head(struct nvme_broker *b, uint16_t qid, uint16_t head)
{
	if (!b->enabled)
		return -1;
	return nvme_gate_cq_head(&b->gate, qid, head);
}

void nvme_broker_inject_stuck(struct nvme_broker *b)
{
	b->stuck = true;
}

bool nvme_broker_fenced(const struct nvme_broker *b)
{
	return b->fenced;
}

uint64_t nvme_broker_cap(const struct nvme_broker *b)
{
	return b->cap;
}
uint32_t nvme_broker_vs(const struct nvme_broker *b)
{
	return b->vs;
}
uint32_t nvme_broker_csts(const struct nvme_broker *b)
{
	return reg_read32(b, NVME_REG_CSTS);
}
uint32_t nvme_broker_max_xfer(const struct nvme_broker *b)
{
	return b->max_xfer;
}
uint32_t nvme_broker_nn(const struct nvme_broker *b)
{
	return b->nn;
}
uint16_t nvme_broker_max_qid(const struct nvme_broker *b)
{
	return b->pol.qid_max;
}
const struct nvme_val_stats *nvme_broker_stats(const struct nvme_broker *b)
{
	return &b->gate.stats;
}

void nvme_broker_dump(const struct nvme_broker *b)
{
	kprintf("nvme-broker %s: owner %u %s CAP 0x%llx CSTS 0x%x max "
		"transfer %u namespaces %u\n",
		b->name, b->owner, b->enabled ? "enabled" : "disabled",
		(unsigned long long)b->cap, nvme_broker_csts(b), b->max_xfer,
		b->pol.nns);
	nvme_gate_dump(&b->gate);
}

/* /api/validator: every broker's policy, queues and verdict counts */
static int validator_status(char *buf, size_t cap)
{
	unsigned c = (unsigned)MIN(cap, (size_t)0x7fffffff);
#ifdef CAPOS_NVME_VALIDATOR_OFF
	const char *checks = "off";
#else
	const char *checks = "on";
#endif
	int n = ksnprintf(buf, c,
			  "{\"backend\":\"brokered validator\",\"checks\":"
			  "\"%s\",\"controllers\":[",
			  checks);
	bool first = true;
	for (unsigned i = 0; i < BROKER_MAX; i++) {
		const struct nvme_broker *b = &brokers[i];
		if (!b->used)
			continue;
		n += ksnprintf(
		    buf + MIN((unsigned)n, c), c - MIN((unsigned)n, c),
		    "%s{\"pci\":\"%s\",\"owner\":%u,\"enabled\":%s,"
		    "\"max_xfer\":%u,\"namespaces\":%u,\"gate\":",
		    first ? "" : ",", b->name, b->owner,
		    b->enabled ? "true" : "false", b->max_xfer, b->pol.nns);
		n += nvme_gate_json(&b->gate, buf + MIN((unsigned)n, c),
				    c - MIN((unsigned)n, c));
		n += ksnprintf(buf + MIN((unsigned)n, c),
			       c - MIN((unsigned)n, c), "}");
		first = false;
	}
	n +=
	    ksnprintf(buf + MIN((unsigned)n, c), c - MIN((unsigned)n, c), "]}");
	return n;
}
STATUS_REGISTER("validator", validator_status);
