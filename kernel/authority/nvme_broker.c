/* kernel/authority/nvme_broker.c — see nvme_broker.h.
 *
 * The broker is the only code that writes an NVMe controller's registers:
 * CC, AQA, ASQ, ACQ and the doorbells. It maps BAR0's register page and
 * doorbell page for itself (the MSI-X table, further into the BAR, stays the
 * kernel's PCI code's business) and hands the driver getters, never the
 * mapping. Register layout: NVMe 2.0 §3.1.3. */
#include "kernel/authority/nvme_broker.h"
#include "dma/nvme_ident.h"
#include "dma/nvme_reg.h"
#include "dma/owner.h"
#include "kernel/authority/auth_internal.h"
#include "kernel/boot/boot.h"
#include "kernel/iommu/iommu.h"

#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "kernel/time/time.h"

#define BROKER_MAX     AUTH_OWNER_MAX /* one per bound function at most */
#define BROKER_KCMD_US 2000000u	      /* the broker's own admin commands */
/* A stop's Delete I/O SQ and CQ (broker_halt_delete), all of them
 * together: a controller that answers none, or each just in time, delays
 * the disable by this much at most, whatever the number of queues (Linux's
 * nvme_delete_io_queues shares one admin timeout among its deletes the
 * same way; capOS's driver gives its own NVME_ADMIN_TIMEOUT_US, as long) */
#define BROKER_HALT_DELETE_US 2000000u
/* a CSTS.RDY wait this long says so on the console (CAP.TO may be up to
 * 127.5 s, and the boot waits on it) */
#define BROKER_RDY_SAY_US 1000000u
/* the broker's own pages (its probe queues, its Identify page) lie below
 * 4 GiB, which every device reaches: they exist before the owner's DMA
 * limit is known */
#define BROKER_OWN_LIMIT (1ull << 32)
/* The gate's shape under the IOMMU backend (docs/dma-isolation-design.md,
 * "Gate shapes"): with address checks off the IOMMU confines the device's
 * data addresses and the gate keeps its command policy and the checks of
 * what the kernel itself reads and writes. Off is the default: it keeps
 * every rule and measured no slower (tests/bench/iommu.py).
 * nvme.addr_checks=on|off on the command line overrides (any other value,
 * or a cut command line, turns them on: broker_hw_confined); without an
 * IOMMU the checks are always on. */
#define BROKER_ADDR_CHECKS_DEFAULT false

struct nvme_broker {
	bool enabled;
	/* the last disable was confirmed (CC.EN=0 and CSTS.RDY=0): only then
	 * may bus mastering come back on */
	bool stopped;
	/* a disable failed: the controller may still be running on memory
	 * that was freed. Bus mastering stays off for good. */
	bool fenced;
	/* stopped by nvme_broker_stop with the gate's queues kept: the driver
	 * may reap what the device posted before, until nvme_broker_reset */
	bool draining;
	/* nvme_broker_stop calls that found it not enabled */
	uint64_t idle_stops;
	/* the I/O queues were deleted before a stop (broker_halt_delete) since
	 * the last enable, or were found none: not again (a shutdown's pass
	 * comes before CC.SHN, its stop after) */
	bool swept;
	/* broker_halt_delete is under way: the driver's rings are refused
	 * (nvme_broker_sq_ring), so nothing new reaches a queue the broker
	 * is deleting, and a stop from inside it deletes nothing again */
	bool halting;
	/* its place in broker_slot and the generation its handle carries
	 * (broker_handle) */
	uint16_t slot;
	uint32_t gen;
	struct pci_dev *d;
	uint16_t owner;
	char name[16];		/* "0000:BB:DD.F" */
	volatile uint8_t *regs; /* kernel-only mapping of BAR0 */
	uint64_t map_len;
	uint64_t cap;
	uint32_t vs;
	uint32_t dstrd_bytes; /* 4 << CAP.DSTRD */
	/* the highest I/O queue id whose doorbells lie in the mapping
	 * (broker_setup); the policy's qid_max is this, or less while the
	 * bare pair exists */
	uint16_t qid_max;
	uint32_t to_us; /* CAP.TO */
	/* the last enable's wait for CSTS.RDY=1 ran out: the controller had
	 * its CAP.TO to become ready and is not given another before the
	 * disable (broker_disable) */
	bool rdy_late;
	uint32_t max_xfer;
	struct nvme_ident_ctrl id; /* from the broker's own Identify */
	uint64_t ident;		   /* kernel page for the broker's Identify */
	struct nvme_val_policy pol;
	struct nvme_gate gate;
	/* disables confirmed so far (CC.EN=0 and CSTS.RDY=0, broker_halt):
	 * each deleted every I/O queue the controller held (NVMe 2.0
	 * §3.7.2, Controller Level Reset) */
	uint64_t resets;
	/* resets when the controller was last identified (broker_probe):
	 * an enable after another reset identifies it again first
	 * (broker_reidentify), and the probe then says nothing it said at
	 * the open (reprobe) */
	uint64_t ident_resets;
	bool reprobe;
#ifdef CAPOS_PROOFS
	struct nvme_broker_prof prof;
	struct broker_bare *bare;
	/* the bare pair's pages its close could not give back (its Deletes
	 * not answered, the controller running): given back at the next
	 * confirmed stop (broker_halt), else withheld and counted by the
	 * unbind (broker_unbound) */
	uint64_t bare_left;
	size_t bare_left_pages;
	/* bare pages dma_kernel_free withheld (an unconfirmed unmap, or an
	 * unbind whose stop was not confirmed): charged to no one, so the
	 * unbind counts them */
	uint64_t bare_withheld;
#endif
};

/* A broker handle (the struct nvme_broker * a driver holds) is not the
 * struct's address: it names a slot of broker_slot and the generation the
 * slot had when the broker was opened, BROKER_HANDLE_TAG | gen << 16 |
 * slot — not a canonical address, so a dereference faults. The open
 * broker's struct is freed when it closes (its owner unbound, or its open
 * failed) and its slot's generation is kept, so the next broker in the
 * slot has another: a handle of a closed broker never names a later one
 * (broker_get), however often drivers restart, for 4 bytes a slot. A slot
 * whose generation would wrap is not taken again. */
#define BROKER_HANDLE_TAG  0xb40c000000000000ull
#define BROKER_HANDLE_MASK 0xffff000000000000ull
static struct nvme_broker *broker_slot[BROKER_MAX]; /* open brokers */
static uint32_t broker_gen[BROKER_MAX];
/* what the accessors answer for a handle of a closed broker: nothing */
static const struct nvme_ident_ctrl broker_no_ident;
#ifdef CAPOS_PROOFS
static struct nvme_broker_prof broker_no_prof;
#endif
static const struct nvme_val_stats broker_no_stats;
#define BROKER_PAGES                                                           \
	(ALIGN_UP(sizeof(struct nvme_broker), PAGE_SIZE) / PAGE_SIZE)

static struct nvme_broker *broker_handle(const struct nvme_broker *b)
{
	return (struct nvme_broker *)(uintptr_t)(BROKER_HANDLE_TAG |
						 (uint64_t)b->gen << 16 |
						 b->slot);
}

/* the open broker handle h names, or NULL */
static struct nvme_broker *broker_find(const struct nvme_broker *h)
{
	uint64_t v = (uintptr_t)h;
	uint64_t slot = v & 0xffff;
	if ((v & BROKER_HANDLE_MASK) != BROKER_HANDLE_TAG ||
	    slot >= BROKER_MAX || !broker_slot[slot] ||
	    broker_gen[slot] != (uint32_t)(v >> 16))
		return 0;
	return broker_slot[slot];
}

/* the open broker h names, for a call by caller (each call names its
 * owner): NULL, silently, for a handle of no open broker (the accessors
 * answer nothing), and NULL for another owner's broker, refused, counted
 * and said (auth_broker_caller) */
static struct nvme_broker *broker_get(const struct nvme_broker *h,
				      uint16_t caller, const char *what)
{
	struct nvme_broker *b = broker_find(h);
	return b && auth_broker_caller(b->owner, caller, "nvme-broker", what)
		   ? b
		   : 0;
}

/* b closes: its slot free for the next broker (whose generation differs),
 * its struct freed */
static void broker_close(struct nvme_broker *b)
{
	broker_slot[b->slot] = 0;
	page_free((uint64_t)b, BROKER_PAGES);
}

#ifdef CAPOS_PROOFS
/* the proof image's device faults (nvme_broker.h) */
static const struct nvme_broker_inject *inject;

void nvme_broker_inject_set(const struct nvme_broker_inject *hooks)
{
	inject = hooks;
}

/* nvme_gate_cq_reap as the faults see it: held back, or the first
 * completion it delivers handed to the hook */
static int broker_inject_reap(struct nvme_broker *b, uint16_t qid)
{
	if (qid >= NVME_VAL_MAX_QID)
		return nvme_gate_cq_reap(&b->gate, qid);
	if (!inject->cq_post(broker_handle(b), qid))
		return 0;
	struct nvme_gate_cq *cq = &b->gate.cq[qid];
	uint16_t first = cq->drv_tail;
	int r = nvme_gate_cq_reap(&b->gate, qid);
	if (r > 0)
		inject->cq_posted(broker_handle(b), qid, &cq->drv[first]);
	return r;
}
#endif

static uint32_t reg_read32(const struct nvme_broker *b, uint32_t off)
{
	uint32_t v = *(volatile const uint32_t *)(b->regs + off);
#ifdef CAPOS_PROOFS
	if (inject)
		v = inject->reg_read(broker_handle(b), off, v);
#endif
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
	/* the gate rings only queues the validator let be created, ids up
	 * to qid_max, whose doorbells broker_setup found in the mapping */
	if (index >= 2 * NVME_VAL_MAX_QID || off + 4 > b->map_len)
		return;
#ifdef CAPOS_PROOFS
	if (b->prof.on) {
		uint64_t t0 = time_tsc();
		reg_write32(b, (uint32_t)off, value);
		uint64_t dt = time_tsc() - t0;
		if (index & 1) {
			b->prof.db_cq += dt;
			b->prof.db_cq_n++;
		} else {
			b->prof.db_sq += dt;
			b->prof.db_sq_n++;
		}
		return;
	}
#endif
	reg_write32(b, (uint32_t)off, value);
}

static int env_shadow_alloc(void *ctx, size_t len, bool dev_writes,
			    struct dma_buf *out)
{
	struct nvme_broker *b = ctx;
	size_t pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
	/* below the device's DMA limit (AWS NVMe: 2^48), like its pools;
	 * under the IOMMU a shadow SQ or PRP list is read-only for the
	 * device, so no DMA it is told to do can rewrite a validated copy */
	unsigned perm = IOMMU_READ | (dev_writes ? IOMMU_WRITE : 0);
	uint64_t pa = pages ? dma_kernel_alloc(b->owner, pages, 0, perm) : 0;
	if (!pa)
		return -1;
	out->va = (void *)pa; /* identity map (kernel/mm/mm.h) */
	out->iova = pa; /* device address = physical; under the IOMMU it is
			 * mapped in the owner's domain at that iova */
	out->len = pages * PAGE_SIZE;
	return 0;
}

static int env_shadow_free(void *ctx, struct dma_buf *buf)
{
	struct nvme_broker *b = ctx;
	return dma_kernel_free(b->owner, buf->iova, buf->len / PAGE_SIZE);
}

/* completions the gate posted itself into a CQ created on MSI-X entry iv:
 * the owner's interrupt there, as the controller would raise it
 * (irq_raise: only an entry of this function the owner has bound) */
static void env_interrupt(void *ctx, uint16_t iv)
{
	struct nvme_broker *b = ctx;
	irq_raise(b->d, b->owner, iv);
}

static void *env_drv_va(void *ctx, uint64_t iova, size_t len)
{
	(void)ctx, (void)len;
	/* the gate asks only for ranges the grant table covers; pools are
	 * identity mapped RAM */
	return (void *)iova;
}

/* ---- bring-up ---------------------------------------------------------- */
/* wait until CSTS.RDY == rdy, bounded by CAP.TO (NVMe 2.0 §3.5.1, §3.7.2) */
static int broker_wait_rdy(struct nvme_broker *b, uint32_t rdy)
{
	uint64_t start = time_now_us();
	bool said = false;
	for (;;) {
		uint32_t csts = reg_read32(b, NVME_REG_CSTS);
		if (csts == 0xffffffffu)
			return -1; /* the function went away */
		if (FIELD_GET(NVME_CSTS_RDY, csts) == rdy)
			return 0;
		if (rdy && FIELD_GET(NVME_CSTS_CFS, csts))
			return -1;
		uint64_t waited = time_now_us() - start;
		if (waited > b->to_us) {
			b->rdy_late |= rdy;
			return -1;
		}
		if (!said && waited >= BROKER_RDY_SAY_US) {
			said = true;
			kprintf("nvme-broker %s: waiting for CSTS.RDY=%u, up "
				"to CAP.TO (%u ms)\n",
				b->name, rdy, b->to_us / 1000);
		}
		time_delay_us(50);
	}
}

/* CC.EN=0 and wait for RDY=0. A controller that is still coming up (EN=1,
 * RDY=0) is first let reach RDY=1: clearing EN in between is undefined
 * (NVMe 2.0 §3.1.3.5, CC.EN) — unless the enable's own wait already gave
 * it CAP.TO to get there (rdy_late): then EN is cleared at once, as
 * Linux's nvme_disable_ctrl always does, so a controller that never
 * becomes ready costs one CAP.TO, not two. */
static int broker_disable(struct nvme_broker *b)
{
	uint32_t cc = reg_read32(b, NVME_REG_CC);
	if (FIELD_GET(NVME_CC_EN, cc)) {
		uint32_t csts = reg_read32(b, NVME_REG_CSTS);
		if (!FIELD_GET(NVME_CSTS_RDY, csts) &&
		    !FIELD_GET(NVME_CSTS_CFS, csts) && !b->rdy_late)
			(void)broker_wait_rdy(b, 1);
		/* CC.SHN goes back to 00b with EN (a shutdown's notice ends
		 * with the reset, NVMe 2.0 §3.6.2) */
		reg_write32(b, NVME_REG_CC,
			    cc & ~(uint32_t)(FIELD_SET(NVME_CC_EN, ~0u) |
					     FIELD_SET(NVME_CC_SHN, ~0u)));
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

/* NVMe 2.0 §3.5.1 steps 5-6: CC (NVM command set, 4 KiB pages, 64-byte SQ
 * and 16-byte CQ entries), then CC.EN=1 */
static void broker_cc_enable(struct nvme_broker *b)
{
	uint32_t cc =
	    (uint32_t)(FIELD_SET(NVME_CC_CSS, 0) | FIELD_SET(NVME_CC_MPS, 0) |
		       FIELD_SET(NVME_CC_AMS, 0) |
		       FIELD_SET(NVME_CC_IOSQES, 6) |
		       FIELD_SET(NVME_CC_IOCQES, 4));
	reg_write32(b, NVME_REG_CC, cc);
	reg_write32(b, NVME_REG_CC, cc | (uint32_t)FIELD_SET(NVME_CC_EN, 1));
	b->rdy_late = false;
}

/* CC.EN or CSTS.RDY still set (or the function reads all ones) */
static bool broker_running(const struct nvme_broker *b)
{
	uint32_t csts = reg_read32(b, NVME_REG_CSTS);
	return csts == 0xffffffffu || FIELD_GET(NVME_CSTS_RDY, csts) ||
	       FIELD_GET(NVME_CC_EN, reg_read32(b, NVME_REG_CC));
}

/* Stop the controller. Bus mastering goes off first thing after the
 * disable, whatever its outcome: the device has stopped using every queue,
 * or ignores CC.EN=0 and is cut off the bus here. A controller that did not
 * stop is fenced for good (one reason line; the function is marked) and
 * never re-enabled. 0 or -1. */
#ifdef CAPOS_PROOFS
static void bare_give_back(struct nvme_broker *b, uint64_t pa, size_t pages);
static void broker_bare_close(struct nvme_broker *b);
#endif
static void broker_halt_delete(struct nvme_broker *b);
static int broker_halt(struct nvme_broker *b)
{
	broker_halt_delete(b);
	int r = broker_disable(b);
	broker_fence(b, false);
	b->enabled = false;
	b->stopped = r == 0;
	if (r == 0)
		b->resets++;
#ifdef CAPOS_PROOFS
	/* the stop deleted the bare pair the controller may have held */
	if (r == 0 && b->bare_left) {
		bare_give_back(b, b->bare_left, b->bare_left_pages);
		b->bare_left = 0;
	}
#endif
	if (r != 0 && !b->fenced) {
		b->fenced = b->d->fenced = true;
		strlcpy(b->d->state, "fenced: did not stop",
			sizeof(b->d->state));
		kprintf("nvme-broker %s: unable to reset controller (CSTS "
			"0x%x); fenced: bus mastering off, not re-enabled\n",
			b->name, reg_read32(b, NVME_REG_CSTS));
	}
	return r;
}

/* Stop the controller and drop every gate queue: the shadows can go and
 * the grants in-flight commands pinned are released. 0 or -1. */
static int broker_stop(struct nvme_broker *b)
{
	int r = broker_halt(b);
	nvme_gate_drop_all(&b->gate);
	b->draining = false;
	return r;
}

/* the owner's capabilities are being revoked (auth_owner_revoke: a DMA
 * fault); its device is off the bus already. Stop the controller and drop
 * every gate queue: the gate no longer reads the driver's SQ rings or
 * writes its CQ rings, and the ring and in-flight pins go, so the pools can
 * be seized. The driver's later calls fail (not enabled); enable is refused
 * while the owner stays revoked. */
static void broker_revoked(void *arg, uint16_t owner)
{
	struct nvme_broker *b = arg;
	(void)broker_stop(b);
	kprintf("nvme-broker %s: owner %u revoked: controller stopped, gate "
		"queues and shadows dropped\n",
		b->name, owner);
}

/* the owner is being unbound (auth_owner_unbind), after its revocation
 * (broker_revoked: controller stopped, gate queues dropped, their shadows
 * freed — or withheld, dma_kernel_free, when the unbind's stop was not
 * confirmed). The broker closes for good: the bare pair's and the
 * Identify page go back by the same rule, its struct is freed and its slot
 * free, so a rebind of the function opens a fresh broker, and every later
 * call through the old driver's handle is refused (broker_get: the slot's
 * generation moves on with the next open). Returns the pages withheld. */
static uint64_t broker_unbound(void *arg, uint16_t owner, bool stopped)
{
	struct nvme_broker *b = arg;
	uint64_t withheld = 0;
	(void)stopped; /* dma_kernel_free applies it */
#ifdef CAPOS_PROOFS
	/* the proof's bare pair: its pages by the same rule (the revocation
	 * stopped the controller; bare_give_back counts what dma_kernel_free
	 * withholds), and pages a close left to a stop that never came (the
	 * controller fenced) are withheld for good */
	broker_bare_close(b);
	withheld += b->bare_withheld + (b->bare_left ? b->bare_left_pages : 0);
	b->bare_withheld = b->bare_left = 0;
#endif
	if (b->ident && dma_kernel_free(owner, b->ident, 1) != 0)
		withheld++;
	kprintf("nvme-broker %s: owner %u unbound: broker closed, its handle "
		"refused from now on\n",
		b->name, owner);
	broker_close(b);
	return withheld;
}

/* broker_get for a call that acts: a handle of no open broker is refused
 * too, counted (stale-generation, in the row of ids no owner holds), a
 * line at most AUTH_REFUSAL_LINES times */
static struct nvme_broker *broker_use(const struct nvme_broker *h,
				      uint16_t caller, const char *what)
{
	if (broker_find(h))
		return broker_get(h, caller, what);
	if (auth_refused(0, AUTH_STALE_GEN))
		kprintf("nvme-broker: %s refused: the handle names a closed "
			"broker (its owner unbound, or its open failed)\n",
			what);
	return 0;
}

CMDLINE_KEY(nvme_addr_checks, "nvme.addr_checks",
	    "on or off: the gate's address checks where VT-d confines NVMe");
/* Address checks on unless the IOMMU translates the owner and the command
 * line (or the default) turns them off. What is not plainly on or off
 * fails safe, checks on with one line, as devmgr.dma falls back to strict
 * (shape_dma_mode_pick): a value other than on or off, and a command line
 * that was cut (cmdline_cut) unless it kept nvme.addr_checks=on — a lost
 * nvme.addr_checks, absent from what was kept or after the one kept (the
 * last wins), may have asked for on. */
static bool broker_hw_confined(const struct nvme_broker *b)
{
	const char *v = cmdline_get("nvme.addr_checks");
	bool checks = BROKER_ADDR_CHECKS_DEFAULT;
	if (v && !strcmp(v, "on"))
		checks = true;
	else if (v && strcmp(v, "off")) {
		checks = true;
		kprintf("nvme-broker %s: nvme.addr_checks=%s is not on or off; "
			"address checks on\n",
			b->name, v);
	} else if (cmdline_cut()) {
		checks = true;
		kprintf("nvme-broker %s: %s%sthe command line was cut, and %s "
			"may be in what was lost; address checks on\n",
			b->name, v ? "nvme.addr_checks=" : "", v ? "off: " : "",
			v ? "a later nvme.addr_checks, which would win,"
			  : "nvme.addr_checks");
	} else if (v)
		checks = false;
	return !checks && dma_owner_translated(b->owner);
}

/* ---- the probe: identity before memory ---------------------------------- */
/* a two-entry admin queue in the broker's own pages, polled, one command
 * at a time; its commands end by end_us (NVME_BROKER_PROBE_BUDGET_US).
 * lost: a command went unanswered (in BROKER_KCMD_US, or by the budget's
 * end, spent) and the probe is over: none is sent after it */
struct probe {
	struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	/* kernel pages the device is never given (page_alloc: not in the
	 * owner's IOMMU domain, no address of them in any command): copy,
	 * the last Identify's data as it was when its completion was seen;
	 * ids, the namespace ids to identify */
	uint8_t *copy;
	uint32_t *ids;
	uint8_t tail, head, phase;
	uint16_t cid;
	uint64_t end_us;
	bool spent, lost;
	bool said_stray; /* the one line for completions not awaited */
};

/* One admin command, its data into the page at prp1, waited for at most
 * BROKER_KCMD_US and not past the probe's budget; 0 or -1.
 * Completions are taken by CID: one that is not this command's (the
 * device answering twice, or naming another queue) is taken off the CQ
 * and skipped, said once per probe, as Linux's nvme_handle_cqe skips a
 * command id it does not know. A command left unanswered ends the probe
 * (lost): the device may still answer it, into the CQ and into the data
 * page the next command would use, and only the controller's reset — the
 * probe's stop, in broker_probe — takes both back; as Linux disables the
 * controller and fails the probe when an admin command times out while
 * it connects (nvme_timeout). */
static int probe_cmd(struct nvme_broker *b, struct probe *p, struct nvme_sqe *c,
		     uint64_t prp1)
{
	if (p->lost)
		return -1;
	uint16_t cid = p->cid++;
	c->prp1 = prp1;
	nvme_sqe_set_cid(c, cid);
	p->sq[p->tail] = *c;
	p->tail ^= 1;
	dma_wmb();
	reg_write32(b, NVME_REG_DBS, p->tail);
	uint64_t start = time_now_us();
	for (;;) {
		bool posted =
		    (p->cq[p->head].status & NVME_CQE_P_MASK) == p->phase;
		if (posted) {
			dma_rmb();
			struct nvme_cqe e = {.sqid = p->cq[p->head].sqid,
					     .cid = p->cq[p->head].cid,
					     .status = p->cq[p->head].status};
			p->head ^= 1;
			if (!p->head)
				p->phase ^= 1;
			reg_write32(b, NVME_REG_DBS + b->dstrd_bytes, p->head);
			if (e.cid == cid && e.sqid == 0)
				return !nvme_cqe_sc(&e) && !nvme_cqe_sct(&e)
					   ? 0
					   : -1;
			if (!p->said_stray)
				kprintf("nvme-broker %s: probe: completion of "
					"CID %u on SQ %u while CID %u is "
					"awaited; skipped (as is any more "
					"in this probe)\n",
					b->name, e.cid, e.sqid, cid);
			p->said_stray = true;
		}
		/* checked after a skipped completion too: a device posting
		 * them without end does not hold the probe */
		uint64_t now = time_now_us();
		p->spent = now >= p->end_us;
		if (p->spent || now - start > BROKER_KCMD_US) {
			p->lost = true;
			if (!p->spent)
				kprintf("nvme-broker %s: probe command (opcode "
					"0x%x, NSID %u) unanswered after %u "
					"ms; the probe ends (the device may "
					"still answer it)\n",
					b->name, nvme_sqe_opc(c), c->nsid,
					BROKER_KCMD_US / 1000);
			return -1;
		}
		if (!posted)
			time_delay_us(5);
	}
}

/* Identify into the broker's page (b->ident), then its data copied once
 * into p->copy, which is what is parsed: the device may go on writing the
 * page it was given (a hostile one, or one answering late), and a field
 * read twice there could pass a check with one value and be used with
 * another. 0 or -1. */
static int probe_identify(struct nvme_broker *b, struct probe *p, uint32_t cns,
			  uint32_t nsid, uint32_t csi)
{
	struct nvme_sqe c = {0};
	c.cdw0 = NVME_ADM_IDENTIFY;
	c.nsid = nsid;
	c.cdw10 = (uint32_t)FIELD_SET(NVME_IDENTIFY_CNS, cns);
	c.cdw11 = (uint32_t)FIELD_SET(NVME_IDENTIFY_CSI, csi);
	memset((void *)b->ident, 0, PAGE_SIZE);
	if (probe_cmd(b, p, &c, b->ident) != 0)
		return -1;
	memcpy(p->copy, (const void *)b->ident, PAGE_SIZE);
	barrier(); /* the copy is read from here on, never the page */
	return 0;
}

/* The namespaces the owner is granted: the Active Namespace ID list (CNS
 * 02h, NVMe 1.1 on; a 1.0 controller's are 1..NN), each described by its
 * Identify Namespace (dma/nvme_ident.c). Ascending NSIDs: the validator
 * looks them up by binary search. */
struct probe_ctx {
	struct nvme_broker *b;
	struct probe *p;
};

static const struct nvme_id_ns *probe_ns(void *ctx, uint32_t nsid)
{
	struct probe_ctx *pc = ctx;
	if (probe_identify(pc->b, pc->p, NVME_CNS_NS, nsid, 0))
		return 0;
	return (const struct nvme_id_ns *)pc->p->copy;
}

/* the Namespace Identification Descriptor list of nsid (CNS 03h), parsed
 * from the same copy (dma/nvme_ident.c + nvme_ident_ns_descs) */
static const uint8_t *probe_descs(void *ctx, uint32_t nsid)
{
	struct probe_ctx *pc = ctx;
	if (probe_identify(pc->b, pc->p, NVME_CNS_NS_DESC_LIST, nsid, 0))
		return 0;
	return pc->p->copy;
}

CMDLINE_KEY(nvme_ns, "nvme.ns",
	    "namespace ids NVMe drivers may get, e.g. 1,20 (default: all)");
/* nvme.ns=1,20 on the command line: the namespaces a driver may be
 * granted (default: every usable one). 1 when nsid is in list s, 0 when
 * it is not, -1 when s is not a list of namespace ids — the whole list
 * read whatever nsid, so a malformed one grants none, not the ids before
 * the fault */
static int broker_ns_listed(const char *s, uint32_t nsid)
{
	bool found = false;
	while (*s) {
		const char *e = s;
		while (*e && *e != ',')
			e++;
		uint64_t x;
		if (e == s || !parse_u64(s, (size_t)(e - s), &x))
			return -1;
		found |= x == nsid;
		s = *e ? e + 1 : e;
	}
	return found;
}

static void probe_namespaces(struct nvme_broker *b, struct probe *p)
{
	struct probe_ctx pc = {b, p};
	uint32_t *ids = p->ids; /* parsed out of the list's copy: kept while
				 * later commands reuse p->copy */
	unsigned n = 0, active;
	bool bad = false, complete = false;
	if (b->vs >= NVME_VS_1_1) {
		if (probe_identify(b, p, NVME_CNS_ACTIVE_NSLIST, 0, 0) == 0) {
			n = nvme_ident_nslist((const uint32_t *)p->copy, ids,
					      NVME_VAL_MAX_NS, &bad);
			/* a full page may have more after it */
			complete = !bad && n < NVME_VAL_MAX_NS;
		} else {
			kprintf("nvme-broker %s: unable to list active "
				"namespaces\n",
				b->name);
		}
		if (bad)
			kprintf("nvme-broker %s: active namespace list out of "
				"order after %u entries; rest ignored\n",
				b->name, n);
	} else {
		for (uint32_t i = 1; i <= b->id.nn && n < NVME_VAL_MAX_NS; i++)
			ids[n++] = i;
		complete = b->id.nn <= NVME_VAL_MAX_NS;
	}
	/* nvme.ns narrows the grant; the others are not even identified. A
	 * malformed list grants none, and so does a command line that was
	 * cut (cmdline_cut): a lost nvme.ns, absent or after the one kept
	 * (the last wins), may have narrowed it. Either is one line, however
	 * many namespaces there are */
	const char *ns = cmdline_get("nvme.ns");
	/* said at the open; a reprobe's changes are nvme_ident_follow's */
	bool say = !b->reprobe;
	bool cut = cmdline_cut();
	bool malformed = !cut && ns && broker_ns_listed(ns, 0) < 0;
	active = n;
	n = 0;
	if (cut && say)
		kprintf("nvme-broker %s: the command line was cut and nvme.ns "
			"may be in what was lost; none of %u namespaces "
			"granted\n",
			b->name, active);
	else if (malformed && say)
		kprintf("nvme-broker %s: nvme.ns=%s is not a list of namespace "
			"ids; none of %u namespaces granted\n",
			b->name, ns, active);
	for (unsigned i = 0; i < active && !cut && !malformed; i++) {
		if (!ns || broker_ns_listed(ns, ids[i]) == 1)
			ids[n++] = ids[i];
		else if (say)
			kprintf("nvme-broker %s: namespace %u not granted "
				"(nvme.ns)\n",
				b->name, ids[i]);
	}
	char who[32];
	ksnprintf(who, sizeof(who), "nvme-broker %s", b->name);
	struct nvme_ident_src src = {.identify = probe_ns,
				     .descs = probe_descs,
				     .ctx = &pc,
				     .vs = b->vs,
				     .name = say ? who : NULL};
	/* one at a time: none is identified (or said to fail) once the
	 * probe is over (a command unanswered, or the budget spent) */
	b->pol.nns = 0;
	for (unsigned i = 0; i < n && !p->lost; i++)
		b->pol.nns += nvme_ident_namespaces(
		    &ids[i], 1, &src, &b->pol.ns[b->pol.nns],
		    NVME_VAL_MAX_NS - b->pol.nns);
	/* Only when every active namespace is granted may the driver name
	 * the broadcast NSID or read a namespace list (dma/nvme_validate.c +
	 * nvme_scope_table). Decided here, once: only the broker could
	 * attach another namespace later. */
	b->pol.all_ns = complete && b->pol.nns == active;
}

/* The NVM Command Set's own limits of Write Zeroes and Dataset
 * Management (CNS 06h, CSI 00h: WZSL, DMRL, DMRSL, DMSL; NVM Command Set
 * 1.0 §4.1.5.2), asked only of a controller of 1.2 or later: CNS is one
 * bit in 1.0 and two in 1.1, so an older one may read 06h as 00h or 02h
 * and answer another page (Linux's nvme_ctrl_limited_cns asks from 1.1
 * on). A 1.2-1.4 controller without I/O Command Sets answers the CNS,
 * reserved to it, Invalid Field; one that refuses keeps capOS's own
 * limits (NVME_WZ_BLOCKS_MAX, NVME_DSM_RANGES_MAX, NVME_DSM_RANGE_BLOCKS),
 * said in one line. Its values are the driver's to bound
 * (drivers/nvme/nvme.c + nvme_clear_limits) */
static void probe_nvm_limits(struct nvme_broker *b, struct probe *p)
{
	struct nvme_ident_ctrl *id = &b->id;
	if (b->vs < NVME_VS_1_2) {
		if (!b->reprobe)
			kprintf(
			    "nvme-broker %s: NVM limits (Identify CNS 06h) not "
			    "asked of a controller of version %u.%u; capOS's "
			    "own limits for Write Zeroes and Discard\n",
			    b->name, (unsigned)FIELD_GET(NVME_VS_MJR, b->vs),
			    (unsigned)FIELD_GET(NVME_VS_MNR, b->vs));
		return;
	}
	if (probe_identify(b, p, NVME_CNS_CS_CTRL, 0, NVME_CSI_NVM) != 0) {
		id->nvm = NVME_IDENT_NVM_REFUSED;
		if (!p->lost && !b->reprobe)
			kprintf("nvme-broker %s: NVM limits (Identify CNS "
				"06h) refused; capOS's own limits for Write "
				"Zeroes and Discard\n",
				b->name);
		return;
	}
	nvme_ident_nvm_parse((const struct nvme_id_ctrl_nvm *)p->copy,
			     (unsigned)FIELD_GET(NVME_CAP_MPSMIN, b->cap), id);
	if (!b->reprobe)
		kprintf("nvme-broker %s: NVM limits (Identify CNS 06h): WZSL "
			"%u DMRL %u DMRSL %u DMSL %llu (0: none)\n",
			b->name, id->wzsl, id->dmrl, id->dmrsl,
			(unsigned long long)id->dmsl);
}

/* NVMe 2.0 §3.5.1 on kernel memory only, before the driver or any of its
 * memory exists: enable on a two-entry admin queue, Identify Controller,
 * the namespaces, then disable again (bus mastering off). What the device
 * says about itself is known before anything of the owner is allocated. */
static int broker_probe(struct nvme_broker *b)
{
	/* ASQ, ACQ for the device; the Identify copy and the namespace ids
	 * for the kernel alone */
	uint64_t q = dma_kernel_alloc(b->owner, 2, BROKER_OWN_LIMIT,
				      IOMMU_READ | IOMMU_WRITE);
	uint64_t own = q ? page_alloc(2, 0) : 0;
	if (!own) {
		if (q)
			dma_kernel_free(b->owner, q, 2);
		kprintf("nvme-broker %s: unable to identify controller (no "
			"memory for the probe)\n",
			b->name);
		return -1;
	}
	memset((void *)q, 0, 2 * PAGE_SIZE);
	struct probe p = {.sq = (struct nvme_sqe *)q,
			  .cq = (volatile struct nvme_cqe *)(q + PAGE_SIZE),
			  .copy = (uint8_t *)own,
			  .ids = (uint32_t *)(own + PAGE_SIZE),
			  .phase = 1};
	int r = -1;
	reg_write32(b, NVME_REG_AQA,
		    (uint32_t)(FIELD_SET(NVME_AQA_ASQS, 1) |
			       FIELD_SET(NVME_AQA_ACQS, 1)));
	reg_write64(b, NVME_REG_ASQ, q);
	reg_write64(b, NVME_REG_ACQ, q + PAGE_SIZE);
	/* true to the controller's state; nothing reads it before the stop
	 * at out rewrites it (broker_halt), so deleting it changes no
	 * behaviour: make mutate's ID 221 survives as an equivalent */
	b->stopped = false;
	broker_fence(b, true);
	broker_cc_enable(b);
	if (broker_wait_rdy(b, 1) != 0) {
		kprintf("nvme-broker %s: unable to enable controller for its "
			"identify (CSTS 0x%x)\n",
			b->name, reg_read32(b, NVME_REG_CSTS));
		goto out;
	}
	p.end_us = time_now_us() + NVME_BROKER_PROBE_BUDGET_US;
	if (probe_identify(b, &p, NVME_CNS_CTRL, 0, 0) != 0) {
		kprintf("nvme-broker %s: unable to identify controller\n",
			b->name);
		goto out;
	}
	nvme_ident_ctrl_parse((const struct nvme_id_ctrl *)p.copy, &b->id);
	b->max_xfer = nvme_ident_max_xfer(
	    b->id.mdts, (unsigned)FIELD_GET(NVME_CAP_MPSMIN, b->cap));
	b->pol.max_xfer = b->max_xfer;
	b->pol.oncs = b->id.oncs; /* Write Zeroes, DSM: only when named */
	probe_nvm_limits(b, &p);
	if (!p.lost)
		probe_namespaces(b, &p);
	if (p.spent)
		kprintf(
		    "nvme-broker %s: unable to identify the controller's "
		    "namespaces within the probe's %u ms; device given up\n",
		    b->name, NVME_BROKER_PROBE_BUDGET_US / 1000);
	else if (p.lost)
		kprintf("nvme-broker %s: unable to identify the controller's "
			"namespaces (a command went unanswered); device "
			"given up\n",
			b->name);
	if (p.lost)
		goto out;
	r = 0;
out:
	if (broker_stop(b) != 0)
		r = -1;
	/* A controller that did not stop (fenced) ignored CC.EN=0 and may
	 * still be writing its CQ: bus mastering off is then all that holds
	 * it, so the pages it was given stay allocated for good, as
	 * nvme_broker_bare_close keeps the pages of a queue never deleted
	 * (and nvme_broker_open the Identify page) */
	if (!b->fenced)
		dma_kernel_free(b->owner, q, 2);
	page_free(own, 2);
	return r;
}

#define BROKER_SEEN_PAGES                                                      \
	(ALIGN_UP(sizeof(struct nvme_ident_seen), PAGE_SIZE) / PAGE_SIZE)

/* The controller was reset since it was last identified (a recovery, or
 * any stop): identify it again, as the open did (broker_probe, on the
 * broker's own pages, before the driver's queues exist again), and have
 * the policy follow what changed, the narrower of each limit kept
 * (nvme_ident_follow), as Linux's reset runs nvme_init_ctrl_finish and
 * its scan nvme_validate_ns. Only now: every queue the gate held was
 * dropped by the reset, so no command accepted under the old policy is
 * in flight. A probe that fails leaves the old facts in place and the
 * enable refused; the next enable tries again (its stop was a reset
 * too). 0 or -1 (the probe's line, then one more). */
static int broker_reidentify(struct nvme_broker *b)
{
	struct nvme_ident_seen *was =
	    (struct nvme_ident_seen *)page_alloc(BROKER_SEEN_PAGES, 0);
	if (!was) {
		kprintf("nvme-broker %s: unable to identify controller again "
			"after its reset (no memory); not enabled\n",
			b->name);
		return -1;
	}
	was->id = b->id;
	was->max_xfer = b->max_xfer;
	was->nns = b->pol.nns;
	was->all_ns = b->pol.all_ns;
	memcpy(was->ns, b->pol.ns, b->pol.nns * sizeof(was->ns[0]));
	b->reprobe = true;
	uint64_t t0 = time_now_us();
	int r = broker_probe(b);
	b->reprobe = false;
	if (r == 0) {
		char who[32], note[32];
		ksnprintf(who, sizeof(who), "nvme-broker %s", b->name);
		ksnprintf(note, sizeof(note), " in %llu us",
			  (unsigned long long)(time_now_us() - t0));
		nvme_ident_follow(was, &b->id, &b->max_xfer, &b->pol, who,
				  note);
		b->ident_resets = b->resets;
	} else {
		b->id = was->id;
		b->max_xfer = b->pol.max_xfer = was->max_xfer;
		b->pol.oncs = was->id.oncs;
		b->pol.nns = was->nns;
		b->pol.all_ns = was->all_ns;
		memcpy(b->pol.ns, was->ns, was->nns * sizeof(was->ns[0]));
		kprintf("nvme-broker %s: unable to identify controller again "
			"after its reset; not enabled on what it said before "
			"(device given up)\n",
			b->name);
	}
	page_free((uint64_t)was, BROKER_SEEN_PAGES);
	return r;
}

/* d's open broker, if any */
static struct nvme_broker *broker_of(const struct pci_dev *d)
{
	for (unsigned i = 0; i < BROKER_MAX; i++)
		if (broker_slot[i] && broker_slot[i]->d == d)
			return broker_slot[i];
	return 0;
}

/* a new broker's struct, zeroed, in a free slot whose generation moves
 * on (every handle of the slot's earlier brokers refused from now on);
 * NULL when every slot is open or out of generations, or no memory */
static struct nvme_broker *broker_slot_take(void)
{
	unsigned i = 0;
	while (i < BROKER_MAX &&
	       (broker_slot[i] || broker_gen[i] == UINT32_MAX))
		i++;
	uint64_t pa = i < BROKER_MAX ? page_alloc(BROKER_PAGES, 0) : 0;
	if (!pa)
		return 0;
	struct nvme_broker *b = (struct nvme_broker *)pa;
	memset(b, 0, sizeof(*b));
	b->slot = (uint16_t)i;
	b->gen = ++broker_gen[i];
	broker_slot[i] = b;
	return b;
}

/* map BAR0's registers and doorbells, check CAP, reset, set up the gate
 * for the owner's grants; 0 or -1 with one line */
static int broker_setup(struct nvme_broker *b, struct pci_dev *d,
			uint16_t owner)
{
	const char *a = b->name;
	/* registers and the doorbells of NVME_VAL_MAX_QID queues at the
	 * largest stride the broker accepts (CAP.DSTRD <= 3) */
	const uint64_t need = NVME_REG_DBS + 2ull * NVME_VAL_MAX_QID * 32;
	/* the registers and the admin pair's doorbells at CAP.DSTRD 0: the
	 * stride, and so how many pairs BAR0 holds, is checked once CAP is
	 * read */
	if (d->bar[0].io || d->bar[0].size < NVME_REG_DBS + 8 ||
	    !d->bar[0].base) {
		kprintf("nvme-broker %s: unable to map BAR0 (not a memory BAR "
			"of at least 4 KiB + doorbells)\n",
			a);
		return -1;
	}
	b->d = d;
	b->owner = owner;
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
	/* Queue pair y's doorbells: SQ y tail at 1000h + 2y x stride, CQ y
	 * head one stride on (SQyTDBL, CQyHDBL of NVMe over PCIe). A BAR0
	 * shorter than NVME_VAL_MAX_QID pairs' gets fewer I/O queues, counted
	 * in whole pairs, as Linux's nvme_setup_io_queues shrinks its queue
	 * count until db_bar_size fits BAR0: a queue whose doorbells lie past
	 * it could be created, but never rung, and its commands would time
	 * out. The validator refuses a Create I/O CQ/SQ past qid_max
	 * (NVME_V_QUEUE_ID_NOT_GRANTED) and the driver asks for no more
	 * (nvme_broker_max_qid). No I/O pair at all: refused. */
	uint64_t pairs = (b->map_len - NVME_REG_DBS) / (2ull * b->dstrd_bytes);
	if (pairs < 2) {
		kprintf("nvme-broker %s: unable to use controller (BAR0 of "
			"0x%llx bytes holds the doorbells of no I/O queue at "
			"CAP.DSTRD %u)\n",
			a, (unsigned long long)d->bar[0].size, dstrd);
		return -1;
	}
	b->qid_max = (uint16_t)MIN(pairs - 1, (uint64_t)NVME_VAL_MAX_QID - 1);
	if (b->qid_max < NVME_VAL_MAX_QID - 1)
		kprintf(
		    "nvme-broker %s: BAR0 of 0x%llx bytes holds the "
		    "doorbells of I/O queues 1..%u at CAP.DSTRD %u; no more "
		    "are granted\n",
		    a, (unsigned long long)d->bar[0].size, b->qid_max, dstrd);
	if (broker_disable(b) != 0) {
		kprintf("nvme-broker %s: unable to reset controller (CSTS 0x%x "
			"after %u ms); bus mastering stays off\n",
			a, reg_read32(b, NVME_REG_CSTS), b->to_us / 1000);
		strlcpy(d->state, "fenced: did not stop", sizeof(d->state));
		b->fenced = d->fenced = true;
		return -1;
	}
	b->stopped = true;
	b->ident = dma_kernel_alloc(owner, 1, BROKER_OWN_LIMIT,
				    IOMMU_READ | IOMMU_WRITE);
	struct dma_owner *acct = dma_owner_acct(owner);
	if (!b->ident || !acct) {
		kprintf("nvme-broker %s: unable to set up (%s)\n", a,
			!acct ? "owner not bound" : "no identify page");
		return -1;
	}
	b->pol.grants = &acct->grants;
	b->pol.acct = acct;
	b->pol.owner = owner;
	b->pol.page_shift = 12;
	b->pol.max_xfer = 128 * 1024; /* until Identify says otherwise */
	b->pol.qid_max = b->qid_max;
	/* CAP.MQES bounds the I/O queues the host creates (NVMe 2.0
	 * §3.1.3.1), not the admin queues: those are AQA's (up to 4096,
	 * nvme_broker_enable) */
	b->pol.qsize_max = (uint32_t)MIN(FIELD_GET(NVME_CAP_MQES, b->cap) + 1,
					 (uint64_t)NVME_GATE_QSIZE_MAX);
	b->pol.iv_max = d->msix_size ? (uint16_t)(d->msix_size - 1) : 0;
	b->pol.hw_confined = broker_hw_confined(b);
	struct nvme_gate_env env = {
	    .ctx = b,
	    .doorbell = env_doorbell,
	    .shadow_alloc = env_shadow_alloc,
	    .shadow_free = env_shadow_free,
	    .drv_va = env_drv_va,
	    .interrupt = env_interrupt,
	};
	if (nvme_gate_init(&b->gate, &env, &b->pol) != 0) {
		kprintf("nvme-broker %s: unable to set up gate\n", a);
		return -1;
	}
	auth_owner_on_revoke(owner, broker_revoked, b);
	auth_owner_on_unbind(owner, broker_unbound, b);
	return 0;
}

int nvme_broker_open(struct pci_dev *d, uint16_t owner,
		     struct nvme_broker **out)
{
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	/* only the owner devmgr bound to this function, as a brokered one,
	 * and before anything of the function is touched (as mmio_grant and
	 * irq_bind refuse a function not bound to the caller): the broker
	 * resets, points and turns on whatever function it is handed, under
	 * the caller's grants and gate shape */
	bool bound = auth_owner_function(owner, d);
	if (!bound || !auth_owner_facts(owner)->brokered) {
		if (auth_refused(owner, AUTH_NOT_GRANTED))
			kprintf("nvme-broker %s: unable to open broker (owner "
				"%u: %s)\n",
				a, owner, bound ? "not brokered" : "not bound");
		return -1;
	}
	/* a disable of this function failed, in an open whose broker was
	 * freed with it or in a broker still open: the fence is the
	 * function's (struct pci_dev fenced), so no broker resets, probes or
	 * puts it on the bus again */
	if (d->fenced) {
		if (auth_refused(owner, AUTH_NOT_GRANTED))
			kprintf("nvme-broker %s: unable to open broker "
				"(fenced): an earlier disable of the "
				"controller failed; it is not reset or put on "
				"the bus again\n",
				a);
		return -1;
	}
	struct nvme_broker *b = broker_of(d);
	if (b) { /* opened by the device manager's identify step */
		bool revoked = auth_owner_revoked(owner);
		if (b->owner != owner || revoked) {
			if (auth_refused(owner, revoked ? AUTH_REVOKED
							: AUTH_NOT_GRANTED))
				kprintf("nvme-broker %s: unable to open broker "
					"(%s)\n",
					a,
					revoked ? "owner revoked"
						: "other owner");
			return -1;
		}
		*out = broker_handle(b);
		return 0;
	}
	b = broker_slot_take();
	if (!b) {
		if (auth_refused(owner, AUTH_NO_MEMORY))
			kprintf("nvme-broker %s: unable to open broker (no "
				"memory, or all %u open)\n",
				a, BROKER_MAX);
		return -1;
	}
	strlcpy(b->name, a, sizeof(b->name));
	if (broker_setup(b, d, owner) != 0 || broker_probe(b) != 0) {
		auth_owner_on_revoke(owner, NULL, NULL);
		auth_owner_on_unbind(owner, NULL, NULL);
		/* kept for good when the controller did not stop (fenced):
		 * it was given the page for its Identify (broker_probe) */
		if (b->ident && !b->fenced)
			dma_kernel_free(owner, b->ident, 1);
		if (!b->fenced)
			pci_enable(d, false, false, false);
		broker_close(b);
		return -1;
	}
	b->ident_resets = b->resets;
#ifdef CAPOS_NVME_VALIDATOR_OFF
	kprintf("nvme-broker %s: WARNING: validator checks compiled out "
		"(CAPOS_NVME_VALIDATOR_OFF, benchmark build): DMA is not "
		"confined\n",
		a);
#endif
	kprintf("nvme-broker %s: reset, CAP 0x%llx VS %u.%u, owner %u; "
		"\"%s\" serial \"%s\", max transfer %u KiB, %u namespaces, "
		"%u granted%s\n",
		a, (unsigned long long)b->cap, b->vs >> 16, (b->vs >> 8) & 0xff,
		owner, b->id.mn, b->id.sn, b->max_xfer / 1024, b->id.nn,
		b->pol.nns, b->pol.all_ns ? " (every active one)" : "");
	kprintf("nvme-broker %s: gate address checks %s\n", a,
		b->pol.hw_confined ? "off (the IOMMU confines data addresses)"
				   : "on");
	*out = broker_handle(b);
	return 0;
}

int nvme_broker_enable(struct nvme_broker *h, uint16_t owner,
		       const struct dma_buf *asq, const struct dma_buf *acq,
		       uint16_t entries)
{
	struct nvme_broker *b = broker_use(h, owner, "enable");
	if (!b)
		return -1;
	uint64_t sasq, sacq;
	if (b->enabled) {
		if (auth_refused(b->owner, AUTH_BUSY))
			kprintf("nvme-broker %s: unable to enable (already "
				"enabled)\n",
				b->name);
		return -1;
	}
	/* a DMA fault quarantines the device in its interrupt; the owner is
	 * revoked only at the next safe point (auth_poll). In between, a
	 * driver's reset and recovery must not put the controller back on
	 * the bus either (kernel/iommu: quarantined) */
	if (auth_owner_stopped(b->owner)) {
		if (auth_refused(b->owner, AUTH_REVOKED))
			kprintf("nvme-broker %s: unable to enable (owner %u "
				"%s after a DMA fault)\n",
				b->name, b->owner,
				auth_owner_revoked(b->owner) ? "revoked"
							     : "quarantined");
		return -1;
	}
	/* stopped with the gate's queues kept for the driver's reap: they
	 * go with nvme_broker_reset, which the driver owes first */
	if (b->draining) {
		if (auth_refused(b->owner, AUTH_BUSY))
			kprintf("nvme-broker %s: unable to enable (stopped, "
				"queues kept for the reap: nvme_broker_reset "
				"first)\n",
				b->name);
		return -1;
	}
	/* NVMe 2.0 §3.7.2: a controller not proven stopped may still own
	 * queues in memory the broker has freed; it stays off the bus */
	if (b->fenced || !b->stopped || broker_running(b)) {
		if (auth_refused(b->owner, AUTH_BUSY))
			kprintf("nvme-broker %s: unable to enable (controller "
				"not proven stopped, CSTS 0x%x); bus mastering "
				"stays off\n",
				b->name, reg_read32(b, NVME_REG_CSTS));
		return -1;
	}
	/* reset since the last identify: the controller may have changed
	 * (firmware activated across the reset) */
	if (b->ident_resets != b->resets && broker_reidentify(b) != 0)
		return -1;
	/* the device's address limit (AWS NVMe: 48 bits) is final once the
	 * owner holds memory (auth_owner_limit), as it does by now: in the
	 * IOMMU shape the gate refuses device addresses past it, which the
	 * device would reach through an alias */
	b->pol.dev_limit = auth_owner_dma_limit(b->owner);
	/* AQA.ASQS/ACQS, 12 bits 0's based, bound the admin queues (NVMe 2.0
	 * §3.1.3.8): 2..4096 entries, whatever CAP.MQES says of the I/O
	 * queues; nvme_gate_admin_open checks NVME_GATE_ADMIN_MIN..
	 * NVME_GATE_QSIZE_MAX (4096) */
	if (asq->len < (size_t)entries * 64 ||
	    acq->len < (size_t)entries * 16 ||
	    nvme_gate_admin_open(&b->gate, asq->iova, acq->iova, entries, &sasq,
				 &sacq) != 0) {
		if (auth_refused(b->owner, AUTH_NOT_GRANTED))
			kprintf("nvme-broker %s: unable to accept admin queues "
				"(%u entries; must be %u..%u, page aligned in "
				"owner %u's grants)\n",
				b->name, entries, NVME_GATE_ADMIN_MIN,
				NVME_GATE_QSIZE_MAX, b->owner);
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
	broker_cc_enable(b);
	if (broker_wait_rdy(b, 1) != 0) {
		kprintf("nvme-broker %s: unable to enable controller (CSTS "
			"0x%x)\n",
			b->name, reg_read32(b, NVME_REG_CSTS));
		goto fail;
	}
	b->enabled = true;
	b->swept = false;
	kprintf("nvme-broker %s: enabled: admin queue %u entries (shadowed)\n",
		b->name, entries);
	return 0;
fail:
	broker_stop(b);
	return -1;
}

/* Not running: never enabled, reset or stopped already, or enable
 * failed. The controller is halted (or fenced) and the gate holds what it
 * held: nothing to stop, and a stopped gate without queues would refuse
 * the next enable's admin queues. what: "stop" or "shutdown" */
static int broker_idle_stop(struct nvme_broker *b, const char *what)
{
	/* a DMA fault since the stop that kept the queues: what they hold
	 * is no longer believed (as nvme_broker_stop) */
	if (b->draining && auth_owner_stopped(b->owner)) {
		nvme_gate_drop_all(&b->gate);
		b->draining = false;
	}
	/* said at the 1st, 2nd, 4th, 8th, ... such call: a driver that
	 * keeps stopping cannot flood the console */
	if (line_due(++b->idle_stops))
		kprintf("nvme-broker %s: %s: controller not enabled (%s); "
			"nothing to do (%llu so far)\n",
			b->name, what,
			b->fenced     ? "fenced"
			: b->draining ? "stopped already"
				      : "stopped",
			(unsigned long long)b->idle_stops);
	return b->fenced ? -1 : 0;
}

/* nvme_broker_stop on a live broker */
static int broker_stop_drain(struct nvme_broker *b)
{
	if (!b->enabled)
		return broker_idle_stop(b, "stop");
	int r = broker_halt(b);
	/* not proven stopped, or its owner faulted (quarantined, revoked):
	 * nothing it wrote is believed */
	if (r != 0 || auth_owner_stopped(b->owner)) {
		nvme_gate_drop_all(&b->gate);
		b->draining = false;
		return r;
	}
	/* CC.EN=0, CSTS.RDY=0 and bus mastering off: the shadow CQs hold
	 * all the device will ever post; the gate rings no doorbell now */
	nvme_gate_stop(&b->gate);
	b->draining = true;
	return 0;
}

static uint32_t broker_shutdown_us(const struct nvme_broker *b)
{
	if (!b->id.rtd3e)
		return NVME_SHUTDOWN_MAX_US;
	return MIN(MAX(b->id.rtd3e, NVME_SHUTDOWN_MIN_US),
		   NVME_SHUTDOWN_MAX_US);
}

uint32_t nvme_broker_shutdown_us(const struct nvme_broker *h, uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "shutdown us");
	if (!b)
		return NVME_SHUTDOWN_MAX_US;
	return broker_shutdown_us(b);
}

int nvme_broker_stop(struct nvme_broker *h, uint16_t owner)
{
	struct nvme_broker *b = broker_use(h, owner, "stop");
	if (!b)
		return -1;
	return broker_stop_drain(b);
}

/* CC.SHN=01b and wait for CSTS.SHST=10b (NVMe 2.0 §3.6.2), bounded by
 * nvme_broker_shutdown_us. 0 when complete, else -1 with one line */
static int broker_shn(struct nvme_broker *b)
{
	uint32_t bound = broker_shutdown_us(b);
	uint32_t cc = reg_read32(b, NVME_REG_CC);
	cc &= ~(uint32_t)FIELD_SET(NVME_CC_SHN, ~0u);
	reg_write32(b, NVME_REG_CC,
		    cc | (uint32_t)FIELD_SET(NVME_CC_SHN, NVME_CC_SHN_NORMAL));
	uint64_t start = time_now_us();
	for (;;) {
		uint32_t csts = reg_read32(b, NVME_REG_CSTS);
		const char *why = NULL;
		if (csts == NVME_CSTS_GONE)
			why = "the function went away";
		else if (FIELD_GET(NVME_CSTS_SHST, csts) == NVME_CSTS_SHST_DONE)
			return 0;
		else if (FIELD_GET(NVME_CSTS_CFS, csts))
			why = "controller fatal (CSTS.CFS)";
		else if (time_now_us() - start > bound)
			why = "not complete in time";
		if (why) {
			kprintf("nvme-broker %s: shutdown: %s after %llu of "
				"%u ms (CSTS 0x%x); disabling it anyway\n",
				b->name, why,
				(unsigned long long)(time_now_us() - start) /
				    1000,
				bound / 1000, csts);
			return -1;
		}
		time_delay_us(50);
	}
}

int nvme_broker_shutdown(struct nvme_broker *h, uint16_t owner)
{
	struct nvme_broker *b = broker_use(h, owner, "shutdown");
	if (!b)
		return -1;
	if (!b->enabled) {
		int r = broker_idle_stop(b, "shutdown");
		return r ? r : 1;
	}
	/* a faulted owner's controller, or one that is fatal or gone: no
	 * notice, the stop alone (nothing it says is believed) */
	uint32_t csts = reg_read32(b, NVME_REG_CSTS);
	int shn = -1;
	if (auth_owner_stopped(b->owner))
		kprintf("nvme-broker %s: shutdown: owner %u faulted; stopped "
			"without notice\n",
			b->name, b->owner);
	else if (csts == NVME_CSTS_GONE || FIELD_GET(NVME_CSTS_CFS, csts))
		kprintf("nvme-broker %s: shutdown: controller fatal or gone "
			"(CSTS 0x%x); stopped without notice\n",
			b->name, csts);
	else {
		/* the host deletes its I/O queues before the notice (NVMe 2.0
		 * §3.6.2); QEMU 7.2's CC.SHN drains its namespaces, and the
		 * CC.EN=0 after it frees the SQs (README, Debugging) */
		broker_halt_delete(b);
		shn = broker_shn(b);
	}
	int r = broker_stop_drain(b);
	return r ? r : shn ? 1 : 0;
}

/* A fenced controller is unusable for good (nvme_broker_enable refuses
 * it), so its reset fails however CSTS reads now, as nvme_broker_stop
 * does: no caller may take it for a controller that is back. The queues
 * and shadows are dropped all the same. */
int nvme_broker_reset(struct nvme_broker *h, uint16_t owner)
{
	struct nvme_broker *b = broker_use(h, owner, "reset");
	if (!b)
		return -1;
	int r = broker_stop(b);
	return b->fenced ? -1 : r;
}

int nvme_broker_sq_ring(struct nvme_broker *h, uint16_t owner, uint16_t qid,
			uint16_t tail)
{
	struct nvme_broker *b = broker_use(h, owner, "sq ring");
	if (!b)
		return -1;
	if (!b->enabled || b->halting)
		return -1;
#ifdef CAPOS_PROOFS
	if (b->prof.on) {
		uint64_t t0 = time_tsc();
		int r = nvme_gate_sq_ring(&b->gate, qid, tail);
		b->prof.ring += time_tsc() - t0;
		b->prof.rings++;
		return r;
	}
#endif
	return nvme_gate_sq_ring(&b->gate, qid, tail);
}

int nvme_broker_cq_reap(struct nvme_broker *h, uint16_t owner, uint16_t qid)
{
	struct nvme_broker *b = broker_use(h, owner, "cq reap");
	if (!b)
		return -1;
	if (!b->enabled && !b->draining)
		return -1;
#ifdef CAPOS_PROOFS
	if (inject)
		return broker_inject_reap(b, qid);
	if (b->prof.on) {
		uint64_t t0 = time_tsc();
		int r = nvme_gate_cq_reap(&b->gate, qid);
		b->prof.reap += time_tsc() - t0;
		return r;
	}
#endif
	return nvme_gate_cq_reap(&b->gate, qid);
}

int nvme_broker_cq_head(struct nvme_broker *h, uint16_t owner, uint16_t qid,
			uint16_t head)
{
	struct nvme_broker *b = broker_use(h, owner, "cq head");
	if (!b)
		return -1;
	if (!b->enabled && !b->draining)
		return -1;
#ifdef CAPOS_PROOFS
	if (b->prof.on) {
		uint64_t t0 = time_tsc();
		int r = nvme_gate_cq_head(&b->gate, qid, head);
		b->prof.head += time_tsc() - t0;
		return r;
	}
#endif
	return nvme_gate_cq_head(&b->gate, qid, head);
}

bool nvme_broker_addr_checks(const struct nvme_broker *h, uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "addr checks");
	if (!b)
		return true;
	return !b->pol.hw_confined;
}

bool nvme_broker_fenced(const struct nvme_broker *h, uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "fenced");
	if (!b)
		return true;
	return b->fenced;
}

uint64_t nvme_broker_cap(const struct nvme_broker *h, uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "cap");
	if (!b)
		return 0;
	return b->cap;
}
uint32_t nvme_broker_vs(const struct nvme_broker *h, uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "vs");
	if (!b)
		return 0;
	return b->vs;
}
uint32_t nvme_broker_csts(const struct nvme_broker *h, uint16_t owner)
{
	const struct nvme_broker *b = broker_use(h, owner, "csts");
	if (!b)
		return NVME_CSTS_GONE;
	return reg_read32(b, NVME_REG_CSTS);
}
uint32_t nvme_broker_max_xfer(const struct nvme_broker *h, uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "max xfer");
	if (!b)
		return 0;
	return b->max_xfer;
}
const struct nvme_ident_ctrl *nvme_broker_ident(const struct nvme_broker *h,
						uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "ident");
	if (!b)
		return &broker_no_ident;
	return &b->id;
}
unsigned nvme_broker_nns(const struct nvme_broker *h, uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "nns");
	if (!b)
		return 0;
	return b->pol.nns;
}
const struct nvme_ns_policy *nvme_broker_ns(const struct nvme_broker *h,
					    uint16_t owner, unsigned i)
{
	const struct nvme_broker *b = broker_get(h, owner, "ns");
	if (!b)
		return 0;
	return i < b->pol.nns ? &b->pol.ns[i] : 0;
}
uint16_t nvme_broker_max_qid(const struct nvme_broker *h, uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "max qid");
	if (!b)
		return 0;
	return b->pol.qid_max;
}

/* how a kernel command ended (broker_kcmd_send) */
enum broker_kcmd_end {
	KCMD_OK,       /* answered, success */
	KCMD_FAILED,   /* answered with an error (*e) */
	KCMD_BUSY,     /* not sent: an earlier one is still outstanding */
	KCMD_NOT_SENT, /* not sent: not enabled, or no room on the queue */
	KCMD_LATE,     /* sent, unanswered after wait_us; its slot held */
	KCMD_GONE,     /* sent, and the controller stopped meanwhile (a
			* stop from inside the wait: the driver's interrupt
			* handler) */
};

/* the kernel command c on the shadow admin queue, waited for at most
 * wait_us (broker_kcmd says the rest) */
static enum broker_kcmd_end broker_kcmd_send(struct nvme_broker *b,
					     const struct nvme_sqe *c,
					     struct nvme_cqe *e,
					     uint64_t wait_us)
{
	memset(e, 0, sizeof(*e));
	if (!b->enabled)
		return KCMD_NOT_SENT;
	/* the late answer may be in the shadow CQ already */
	if (nvme_gate_kcmd_pending(&b->gate))
		(void)nvme_gate_cq_reap(&b->gate, 0);
	if (nvme_gate_kcmd_pending(&b->gate))
		return KCMD_BUSY;
	if (nvme_gate_kcmd_submit(&b->gate, c) != 0)
		return KCMD_NOT_SENT;
	uint64_t start = time_now_us();
	while (!nvme_gate_kcmd_poll(&b->gate, e)) {
		if (!b->enabled)
			return KCMD_GONE;
		if (time_now_us() - start > wait_us)
			return KCMD_LATE;
		time_delay_us(20);
	}
	return (nvme_cqe_sc(e) || nvme_cqe_sct(e)) ? KCMD_FAILED : KCMD_OK;
}

/* One of the kernel's own admin commands on the shadow admin queue,
 * waited for; 0 when it succeeded, -1 otherwise (*e says why, if it
 * completed). One not answered in BROKER_KCMD_US is given up on, but the
 * device may still answer it, into its admin CQ slot and (Get Features)
 * the broker's page: the gate holds the slot until the completion comes
 * or the controller is reset, and refuses the next kernel command
 * meanwhile (nvme_gate_kcmd_pending). Linux resets the controller when an
 * admin command times out (nvme_timeout); here the controller and its
 * queues are the driver's to reset (nvme_recover), so the broker says so
 * and answers every kernel command until then with why it is refused.
 * The late completion is never another command's answer: each kernel
 * command has its own CID (NVME_GATE_KCIDS), and one not polled for is
 * forgotten at the next submit. */
static int broker_kcmd(struct nvme_broker *b, const struct nvme_sqe *c,
		       struct nvme_cqe *e)
{
	enum broker_kcmd_end r = broker_kcmd_send(b, c, e, BROKER_KCMD_US);
	if (r == KCMD_BUSY && auth_refused(b->owner, AUTH_BUSY))
		kprintf("nvme-broker %s: unable to send kernel command "
			"(opcode 0x%x): an earlier one timed out and is still "
			"outstanding; none until the device answers it or the "
			"controller is reset\n",
			b->name, nvme_sqe_opc(c));
	else if (r == KCMD_LATE)
		kprintf("nvme-broker %s: kernel command (opcode 0x%x) "
			"unanswered after %u ms; its admin queue slot stays "
			"held (the device may still answer): no kernel command "
			"until it is answered or the controller is reset\n",
			b->name, nvme_sqe_opc(c), BROKER_KCMD_US / 1000);
	return r == KCMD_OK ? 0 : -1;
}

/* Why a stop may not delete the I/O queues first, or NULL: the commands
 * go only to a controller that takes them — CC.EN 1 and CSTS.RDY 1, not
 * fatal nor gone (CFS, all ones) — whose owner has not faulted (a DMA
 * fault quarantines it, a revocation follows) and which is on the bus */
static const char *broker_halt_skip(struct nvme_broker *b)
{
	uint32_t csts = reg_read32(b, NVME_REG_CSTS);
	if (auth_owner_stopped(b->owner))
		return auth_owner_revoked(b->owner) ? "owner revoked"
						    : "owner quarantined";
	if (!(pci_cfg_read16(b->d, PCI_COMMAND) & PCI_COMMAND_MASTER))
		return "bus mastering off";
	if (csts == NVME_CSTS_GONE)
		return "the function went away";
	if (FIELD_GET(NVME_CSTS_CFS, csts))
		return "controller fatal";
	if (!FIELD_GET(NVME_CSTS_RDY, csts) ||
	    !FIELD_GET(NVME_CC_EN, reg_read32(b, NVME_REG_CC)))
		return "controller not ready";
	return NULL;
}

/* Before a stop disables an enabled controller: Delete I/O SQ for every
 * SQ the gate holds live, highest id first, then Delete I/O CQ for every
 * live CQ (nvme_gate_live_ioqs) — Linux's nvme_disable_io_queues order —
 * as the kernel's own commands (broker_kcmd_send), all within
 * BROKER_HALT_DELETE_US, the first that fails ending them; then the
 * disable goes on as before, whatever came of them. Why: QEMU 7.2's
 * CC.EN=0 frees an SQ whose reads are still in flight beside reads rung
 * but not fetched, and crashes (README, Debugging); its Delete I/O SQ
 * waits out every read first. capOS's driver deletes its queues itself
 * (nvme_ioq_delete_all): the gate then holds none live and nothing is
 * sent; a driver that calls nvme_broker_reset with reads in flight gets
 * them deleted here. The gate is not told: the stop right after reaps
 * what the device posted for a deleted SQ's commands into the driver's
 * CQs, each once (nvme_broker_stop's drain), or drops it with every queue
 * (nvme_broker_reset; the driver fails what it had), as for any stop.
 * Once per enable (swept). One line when there were queues: deleted,
 * skipped (broker_halt_skip, an earlier kernel command outstanding, no
 * room on the admin queue) or the delete that failed. */
static void broker_halt_delete(struct nvme_broker *b)
{
	uint64_t sqs, cqs, end = time_now_us() + BROKER_HALT_DELETE_US;
	if (!b->enabled || b->swept || b->halting)
		return;
	b->swept = true;
	nvme_gate_live_ioqs(&b->gate, &sqs, &cqs);
	if (!sqs && !cqs)
		return;
	const char *skip = broker_halt_skip(b);
	if (skip) {
		kprintf("nvme-broker %s: stop: I/O queues not deleted first "
			"(%s); disabling with them\n",
			b->name, skip);
		return;
	}
	b->halting = true;
	unsigned nsq = 0, ncq = 0;
	enum broker_kcmd_end r = KCMD_OK;
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	for (unsigned k = 0; k < 2 && r == KCMD_OK; k++) {
		uint64_t m = k ? cqs : sqs;
		c.cdw0 = k ? NVME_ADM_DELETE_CQ : NVME_ADM_DELETE_SQ;
		while (m && r == KCMD_OK) {
			uint16_t q = (uint16_t)(63 - __builtin_clzll(m));
			uint64_t now = time_now_us();
			m &= ~(1ull << q);
			c.cdw10 = (uint32_t)FIELD_SET(NVME_DELETEQ_QID, q);
			r = now < end ? broker_kcmd_send(b, &c, &e, end - now)
				      : KCMD_LATE;
			if (r == KCMD_OK)
				*(k ? &ncq : &nsq) += 1;
		}
	}
	b->halting = false;
	uint16_t q = (uint16_t)FIELD_GET(NVME_DELETEQ_QID, c.cdw10);
	const char *what = c.cdw0 == NVME_ADM_DELETE_SQ ? "SQ" : "CQ";
	if (r == KCMD_OK)
		kprintf("nvme-broker %s: stop: %u I/O SQs and %u CQs deleted "
			"first\n",
			b->name, nsq, ncq);
	else if (r == KCMD_FAILED)
		kprintf("nvme-broker %s: stop: unable to delete I/O %s %u (SCT "
			"%u SC 0x%x); no more deletes, disabling\n",
			b->name, what, q, nvme_cqe_sct(&e), nvme_cqe_sc(&e));
	else if (r == KCMD_LATE)
		kprintf("nvme-broker %s: stop: Delete I/O %s %u unanswered, "
			"the deletes' %u ms spent; disabling\n",
			b->name, what, q, BROKER_HALT_DELETE_US / 1000);
	else if (r == KCMD_BUSY)
		kprintf("nvme-broker %s: stop: I/O queues not deleted first (a "
			"kernel command is still outstanding); disabling with "
			"them\n",
			b->name);
	else if (r == KCMD_NOT_SENT)
		kprintf(
		    "nvme-broker %s: stop: I/O queues not deleted first (no "
		    "room on the admin queue); disabling with them\n",
		    b->name);
	else
		kprintf("nvme-broker %s: stop: stopped again while deleting "
			"I/O %s %u; no more deletes\n",
			b->name, what, q);
}

/* the kernel's Get Features (current value) of fid on nsid; any_ns: past
 * the owner's namespace grants (the proof image's witness) */
static int broker_get_feature(struct nvme_broker *b, uint8_t fid, uint32_t nsid,
			      uint32_t *dw0, bool any_ns)
{
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	if (!b)
		return -1;
	/* the data, if any, goes into the one page at PRP1 (PRP2 is 0): only
	 * a feature of the scope table, whose data is known to fit. Another
	 * (a vendor's, as long as the vendor says) would have the controller
	 * write what passes the page at address 0; a driver may call this */
	const struct nvme_scope_row *row =
	    nvme_scope_find(NVME_SK_FEATURE, fid);
	*dw0 = 0;
	if (!row || row->bytes > PAGE_SIZE) {
		if (auth_refused(b->owner, AUTH_NOT_GRANTED))
			kprintf("nvme-broker %s: unable to read feature 0x%x "
				"(not on the scope table)\n",
				b->name, fid);
		return -1;
	}
	c.cdw0 = NVME_ADM_GET_FEATURES;
	c.nsid = nsid;
	c.cdw10 = (uint32_t)FIELD_SET(NVME_FEAT_FID, fid);
	/* the driver's own reach, as its Get Features on the admin queue
	 * would be judged: a namespace-specific feature (LBA Range Type,
	 * Error Recovery: NVMe 2.0 §5.27.1, Figure 317) of a namespace the
	 * owner holds; a controller-wide one with NSID 0, FFFFFFFFh or a
	 * granted namespace */
	if (!any_ns &&
	    nvme_val_scope(&b->pol, &c, row, false, NVME_V_FEATURE_FORBIDDEN) !=
		NVME_V_ACCEPT) {
		if (auth_refused(b->owner, AUTH_NOT_GRANTED))
			kprintf("nvme-broker %s: unable to read feature 0x%x "
				"of namespace 0x%x (not granted to owner %u)\n",
				b->name, fid, nsid, b->owner);
		return -1;
	}
	c.prp1 = b->ident; /* data, if the feature has any: at most 4 KiB */
	int r = broker_kcmd(b, &c, &e);
	*dw0 = e.dw0;
	return r;
}

int nvme_broker_get_feature(struct nvme_broker *h, uint16_t owner, uint8_t fid,
			    uint32_t nsid, uint32_t *dw0)
{
	struct nvme_broker *b = broker_use(h, owner, "get feature");
	return broker_get_feature(b, fid, nsid, dw0, false);
}

#ifdef CAPOS_PROOFS
int nvme_broker_witness_feature(struct nvme_broker *h, uint16_t owner,
				uint8_t fid, uint32_t nsid, uint32_t *dw0)
{
	struct nvme_broker *b = broker_use(h, owner, "witness feature");
	return broker_get_feature(b, fid, nsid, dw0, true);
}

void nvme_broker_bench_shape(struct nvme_broker *h, uint16_t owner,
			     bool addr_checks)
{
	struct nvme_broker *b = broker_get(h, owner, "bench shape");
	if (!b)
		return;
	b->pol.hw_confined = !addr_checks && dma_owner_translated(b->owner);
}

struct nvme_broker_prof *nvme_broker_prof(struct nvme_broker *h, uint16_t owner)
{
	struct nvme_broker *b = broker_get(h, owner, "prof");
	if (!b)
		return &broker_no_prof;
	return &b->prof;
}

/* ---- the bare baseline (proof image) ------------------------------------- */
/* kernel pages: SQ, CQ, one PRP list page per slot, then the data (each
 * slot's buffer; a transfer larger than its share reuses the slot's list
 * and the start of the data area) */
#define BARE_LIST_PAGES NVME_BARE_QD_MAX
#define BARE_DATA_MIN	(NVME_BARE_QD_MAX * PAGE_SIZE)

struct broker_bare {
	uint64_t mem;
	size_t pages;
	uint64_t data;
	size_t data_len;
	struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	uint16_t tail, head;
	uint8_t phase;
	uint16_t qid_max;	     /* the policy's, restored at close */
	uint64_t resets;	     /* the broker's resets at the open */
	bool created_cq, created_sq; /* the device may hold the queue:
				      * created, or its create unanswered */
	uint64_t prp1[NVME_BARE_QD_MAX], prp2[NVME_BARE_QD_MAX];
};

/* 0: created; 1: refused by the device (nothing created); -1: not sent
 * or never answered, so the device may hold the queue yet */
static int bare_create(struct nvme_broker *b, uint8_t opc, uint32_t cdw11,
		       uint64_t base)
{
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	c.cdw0 = opc;
	c.prp1 = base;
	c.cdw10 =
	    (uint32_t)(FIELD_SET(NVME_CREATEQ_QID, NVME_BARE_QID) |
		       FIELD_SET(NVME_CREATEQ_QSIZE, NVME_BARE_ENTRIES - 1));
	c.cdw11 = cdw11;
	if (broker_kcmd(b, &c, &e) == 0)
		return 0;
	kprintf("nvme-broker %s: bare: unable to create queue %u (opcode "
		"0x%x, SCT %u SC 0x%x)\n",
		b->name, NVME_BARE_QID, opc, nvme_cqe_sct(&e), nvme_cqe_sc(&e));
	return nvme_cqe_sc(&e) || nvme_cqe_sct(&e) ? 1 : -1;
}

int nvme_broker_bare_open(struct nvme_broker *h, uint16_t owner)
{
	struct nvme_broker *b = broker_get(h, owner, "bare open");
	if (!b)
		return -1;
	/* not while the device may still hold the last pair's queue id */
	if (b->bare || b->bare_left || !b->enabled)
		return -1;
	if (NVME_BARE_QID > b->qid_max) {
		kprintf("nvme-broker %s: bare: unable to open (queue %u has no "
			"doorbells in BAR0)\n",
			b->name, NVME_BARE_QID);
		return -1;
	}
	size_t data = MAX((size_t)b->max_xfer, (size_t)BARE_DATA_MIN);
	size_t pages = 2 + BARE_LIST_PAGES + data / PAGE_SIZE;
	/* the device's memory, reachable by it under either backend */
	uint64_t pa =
	    dma_kernel_alloc(b->owner, pages, 0, IOMMU_READ | IOMMU_WRITE);
	struct broker_bare *x = (struct broker_bare *)page_alloc(
	    ALIGN_UP(sizeof(*x), PAGE_SIZE) / PAGE_SIZE, 0);
	if (!pa || !x) {
		kprintf("nvme-broker %s: bare: unable to allocate %zu pages\n",
			b->name, pages);
		if (pa)
			dma_kernel_free(b->owner, pa, pages);
		if (x)
			page_free((uint64_t)x,
				  ALIGN_UP(sizeof(*x), PAGE_SIZE) / PAGE_SIZE);
		return -1;
	}
	memset(x, 0, sizeof(*x));
	memset((void *)pa, 0, 2 * PAGE_SIZE);
	x->mem = pa;
	x->pages = pages;
	x->sq = (struct nvme_sqe *)pa;
	x->cq = (volatile struct nvme_cqe *)(pa + PAGE_SIZE);
	x->data = pa + (2 + BARE_LIST_PAGES) * PAGE_SIZE;
	x->data_len = data;
	x->phase = 1;
	x->resets = b->resets;
	b->bare = x;
	/* the driver may not name the bare pair's id while it exists */
	x->qid_max = b->pol.qid_max;
	b->pol.qid_max = MIN(b->pol.qid_max, (uint16_t)(NVME_BARE_QID - 1));
	/* NVMe 2.0 §5.5, §5.4: physically contiguous, no interrupt. A create
	 * not answered may still happen: the queue counts as the device's */
	int r = bare_create(b, NVME_ADM_CREATE_CQ,
			    (uint32_t)FIELD_SET(NVME_CREATEQ_PC, 1),
			    pa + PAGE_SIZE);
	x->created_cq = r <= 0;
	if (r != 0)
		goto fail;
	r = bare_create(
	    b, NVME_ADM_CREATE_SQ,
	    (uint32_t)(FIELD_SET(NVME_CREATEQ_PC, 1) |
		       FIELD_SET(NVME_CREATESQ_CQID, NVME_BARE_QID)),
	    pa);
	x->created_sq = r <= 0;
	if (r != 0)
		goto fail;
	return 0;
fail:
	broker_bare_close(b);
	return -1;
}

static void broker_bare_close(struct nvme_broker *b)
{
	struct broker_bare *x = b->bare;
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	if (!x)
		return;
	/* the device is done with the pages once the controller stopped
	 * since the pair was created — a confirmed disable deletes every I/O
	 * queue (x->resets: a reset during nvme-bench, after which a Delete
	 * would name a queue that no longer exists and fail), and a stopped
	 * one is off the bus — or once every queue it may hold (created_cq,
	 * created_sq) is deleted: broker_kcmd 0, a delete never sent or never
	 * answered is not done */
	bool done = b->resets != x->resets || (!b->enabled && b->stopped);
	c.cdw10 = (uint32_t)FIELD_SET(NVME_CREATEQ_QID, NVME_BARE_QID);
	if (x->created_sq && !done) {
		c.cdw0 = NVME_ADM_DELETE_SQ;
		x->created_sq = broker_kcmd(b, &c, &e) != 0;
	}
	if (x->created_cq && !x->created_sq && !done) {
		c.cdw0 = NVME_ADM_DELETE_CQ;
		x->created_cq = broker_kcmd(b, &c, &e) != 0;
	}
	done = done || (!x->created_sq && !x->created_cq);
	b->pol.qid_max = x->qid_max;
	/* a controller that did not take the deletes keeps the pages until
	 * its next confirmed stop (broker_halt) gives them back; one that is
	 * never stopped again (fenced) keeps them for good */
	if (done)
		bare_give_back(b, x->mem, x->pages);
	else {
		b->bare_left = x->mem;
		b->bare_left_pages = x->pages;
		kprintf("nvme-broker %s: bare: queue %u not deleted; its %zu "
			"pages kept until the controller is next stopped\n",
			b->name, NVME_BARE_QID, x->pages);
	}
	page_free((uint64_t)x, ALIGN_UP(sizeof(*x), PAGE_SIZE) / PAGE_SIZE);
	b->bare = 0;
}

void nvme_broker_bare_close(struct nvme_broker *h, uint16_t owner)
{
	struct nvme_broker *b = broker_get(h, owner, "bare close");
	if (!b)
		return;
	broker_bare_close(b);
}

/* the bare pair's pages back, or counted when dma_kernel_free withholds
 * them (its own line says so) */
static void bare_give_back(struct nvme_broker *b, uint64_t pa, size_t pages)
{
	if (dma_kernel_free(b->owner, pa, pages) != 0)
		b->bare_withheld += pages;
}

/* PRPs for slot's buffer (NVMe 2.0 §4.1.1), built once per job */
static void bare_prp(struct broker_bare *x, unsigned slot, uint32_t len)
{
	uint64_t buf = x->data;
	if ((size_t)(slot + 1) * len <= x->data_len)
		buf += (uint64_t)slot * len;
	uint64_t *list = (uint64_t *)(x->mem + (2 + slot) * PAGE_SIZE);
	uint32_t pages = (len + PAGE_SIZE - 1) / PAGE_SIZE;
	x->prp1[slot] = buf;
	x->prp2[slot] = pages == 2 ? buf + PAGE_SIZE : 0;
	if (pages > 2) {
		for (uint32_t i = 1; i < pages; i++)
			list[i - 1] = buf + (uint64_t)i * PAGE_SIZE;
		x->prp2[slot] = (uint64_t)list;
	}
}

static void bare_issue(struct broker_bare *x, const struct nvme_bare_job *j,
		       unsigned slot, uint64_t lba)
{
	struct nvme_sqe *c = &x->sq[x->tail];
	memset(c, 0, sizeof(*c));
	c->cdw0 = j->opc | (uint32_t)slot << NVME_CDW0_CID_SHIFT;
	c->nsid = j->nsid;
	c->prp1 = x->prp1[slot];
	c->prp2 = x->prp2[slot];
	c->cdw10 = (uint32_t)lba;
	c->cdw11 = (uint32_t)(lba >> 32);
	c->cdw12 = j->len / j->lba_bytes - 1;
	x->tail = (uint16_t)((x->tail + 1) % NVME_BARE_ENTRIES);
}

uint64_t nvme_broker_bare_run(struct nvme_broker *h, uint16_t owner,
			      const struct nvme_bare_job *j)
{
	struct nvme_broker *b = broker_get(h, owner, "bare run");
	if (!b)
		return 0;
	struct broker_bare *x = b->bare;
	uint32_t sq_db = NVME_REG_DBS + 2u * NVME_BARE_QID * b->dstrd_bytes;
	uint32_t cq_db = sq_db + b->dstrd_bytes;
	if (!x || !j->qd || j->qd > NVME_BARE_QD_MAX || !j->len ||
	    j->len > b->max_xfer || !j->lba_bytes || j->len % j->lba_bytes ||
	    j->nsze < j->len / j->lba_bytes)
		return 0; /* x: its doorbells are in the mapping (bare_open) */
	uint32_t nblk = j->len / j->lba_bytes;
	uint64_t span = j->nsze / nblk, lcg = 12345, seq = 0;
	unsigned left = j->n, done = 0, errors = 0;
	for (unsigned s = 0; s < j->qd; s++)
		bare_prp(x, s, j->len);
	uint64_t t0 = time_tsc(), limit = 60 * time_tsc_hz(), spins = 0;
	for (unsigned s = 0; s < j->qd && left; s++, left--) {
		lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
		bare_issue(x, j, s,
			   j->random ? ((lcg >> 33) % span) * nblk
				     : (seq++ % span) * nblk);
	}
	dma_wmb();
	reg_write32(b, sq_db, x->tail);
	while (done < j->n) {
		if ((x->cq[x->head].status & NVME_CQE_P_MASK) != x->phase) {
			__asm__ __volatile__("pause");
			if ((++spins & 0xffff) == 0 &&
			    time_tsc() - t0 > limit) {
				kprintf("nvme-broker %s: bare: timed out, %u "
					"of %u done\n",
					b->name, done, j->n);
				return 0;
			}
			continue;
		}
		bool more = false;
		while ((x->cq[x->head].status & NVME_CQE_P_MASK) == x->phase) {
			dma_rmb();
			uint16_t st = x->cq[x->head].status;
			unsigned slot = x->cq[x->head].cid % NVME_BARE_QD_MAX;
			errors += (st >> 1) != 0;
			done++;
			if (++x->head == NVME_BARE_ENTRIES) {
				x->head = 0;
				x->phase ^= 1;
			}
			if (left) {
				left--;
				lcg = lcg * 6364136223846793005ull +
				      1442695040888963407ull;
				bare_issue(x, j, slot,
					   j->random
					       ? ((lcg >> 33) % span) * nblk
					       : (seq++ % span) * nblk);
				more = true;
			}
		}
		reg_write32(b, cq_db, x->head);
		if (more) {
			dma_wmb();
			reg_write32(b, sq_db, x->tail);
		}
	}
	uint64_t cycles = time_tsc() - t0;
	if (errors) {
		kprintf("nvme-broker %s: bare: %u of %u commands failed\n",
			b->name, errors, j->n);
		return 0;
	}
	return cycles ? cycles : 1;
}
#endif
#ifdef CAPOS_HOST
uint16_t nvme_broker_owner(const struct nvme_broker *h)
{
	const struct nvme_broker *b = broker_find(h);
	return b ? b->owner : 0;
}
#endif
size_t nvme_broker_shadow_bytes(const struct nvme_broker *h, uint16_t owner,
				uint16_t qid)
{
	const struct nvme_broker *b = broker_get(h, owner, "shadow bytes");
	if (!b)
		return 0;
	return nvme_gate_shadow_bytes(&b->gate, qid);
}
const struct nvme_val_stats *nvme_broker_stats(const struct nvme_broker *h,
					       uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "stats");
	if (!b)
		return &broker_no_stats;
	return &b->gate.stats;
}

void nvme_broker_dump(const struct nvme_broker *h, uint16_t owner)
{
	const struct nvme_broker *b = broker_get(h, owner, "dump");
	if (!b)
		return;
	kprintf("nvme-broker %s: owner %u %s CAP 0x%llx CSTS 0x%x max "
		"transfer %u namespaces %u\n",
		b->name, b->owner, b->enabled ? "enabled" : "disabled",
		(unsigned long long)b->cap, reg_read32(b, NVME_REG_CSTS),
		b->max_xfer, b->pol.nns);
	nvme_gate_dump(&b->gate);
}

/* /api/validator: every broker's policy, queues and verdict counts */
static void validator_status(struct json *j)
{
#ifdef CAPOS_NVME_VALIDATOR_OFF
	const char *checks = "off";
#else
	const char *checks = "on";
#endif
	json_obj(j);
	json_kstr(j, "backend", "brokered validator");
	json_kstr(j, "checks", checks);
	json_karr(j, "controllers");
	for (unsigned i = 0; i < BROKER_MAX; i++) {
		const struct nvme_broker *b = broker_slot[i];
		if (!b)
			continue;
		json_obj(j);
		json_kstr(j, "pci", b->name);
		json_ku64(j, "owner", b->owner);
		json_kbool(j, "enabled", b->enabled);
		json_ku64(j, "max_xfer", b->max_xfer);
		json_ku64(j, "namespaces", b->pol.nns);
		json_kbool(j, "address_checks", !b->pol.hw_confined);
		json_key(j, "gate");
		nvme_gate_json(&b->gate, j);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
STATUS_REGISTER("validator", validator_status);
