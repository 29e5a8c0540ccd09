/* tests/host/validator/fuzz_gate_seq.c — stateful libFuzzer target for the
 * NVMe doorbell gate: the real dma/ code (nvme_gate.c, nvme_validate.c,
 * grant.c) driven through sequences the way kernel/authority/nvme_broker.c
 * drives it, by a hostile driver and an out-of-order device model.
 *
 * The input is a program: a 2-byte header (admin queue size, the device's
 * Delete SQ behaviour, the gate's shape, all_ns, a kernel Identify at
 * enable, and whether the env withholds every, every second or every
 * third shadow the gate frees, as the kernel does when the IOMMU does not
 * confirm the unmap) and 8-byte
 * operations, a raw SQE carrying 64 more bytes. The driver writes commands
 * (templates that reach deep states — Dataset Management's range list
 * among the data the device reads — or raw bytes), rings any tail, reaps,
 * consumes its CQs, moves CQ heads anywhere, revokes and re-creates pools,
 * resets the controller (the broker's nvme_broker_reset:
 * nvme_gate_drop_all, then enable again) and issues the broker's kernel
 * commands, polls for them or gives up on them (the broker's timeout). A reset
 * may also go as drivers/nvme nvme_recover's does: the controller stops
 * (nvme_gate_stop), any operation may follow on the stopped gate, then the
 * driver alternates the gate's reap with consuming its CQ until nothing moves
 * (not after CSTS.CFS or the owner's fault), the gate drops its queues and the
 * driver fails the rest. The device fetches and completes commands in any
 * order, twice, late (after a Delete SQ) or never, and goes on completing what
 * it had fetched, and posting kept and forged completions, after the stop. At
 * the end the device drains, the driver consumes (ending a recovery first), and
 * the ledger is closed.
 *
 * Oracles (each failure prints one "ORACLE: ..." line and aborts):
 *  - every byte the device touches lies in a live grant of the owner that
 *    some outstanding command pins, in a shadow the gate allocated and has
 *    not freed, or in the broker's identify page while a kernel command is
 *    outstanding; every range the gate maps (drv_va) is in a live grant;
 *  - a shadow is the gate's own: no command's data goes to or from one
 *    (the driver may aim a command at any shadow it can name), the device
 *    writes only the shadows the gate asked to be device-writable, and
 *    those are exactly its shadow CQs (shadow SQs and PRP lists are
 *    read-only to the device, as the kernel maps them under an IOMMU);
 *  - nothing writes freed memory: a revoked pool and a freed shadow are
 *    poisoned (ASAN_POISON_MEMORY_REGION), so a write by the gate into
 *    either is an ASan report; a pool whose revoke is refused (pinned)
 *    stays the driver's, usable;
 *  - a ledger of the CIDs the gate took from each SQ: every completion the
 *    driver reads names an outstanding (SQ, CID) on the CQ it arrived on,
 *    once; after the drain nothing is outstanding and nothing rung is left
 *    untaken, unless a reset (or the driver deleting the CQ, or lying about
 *    its own CQ) released it;
 *  - a command whose completion the device posted (its SQ's current
 *    generation, a busy tag) is answered with that status, DW0 and DW1,
 *    even when a Delete SQ completes before the gate reaps it (dev_posted);
 *  - the stopped gate writes no doorbell (env_doorbell), moves no shadow
 *    SQ tail, takes no live SQ's entry (after), accepts no ring and no
 *    kernel command; when the driver's drain goes quiet, every shadow CQ
 *    the gate holds is reaped empty and every command whose completion the
 *    device posted there has been answered (stopped_drain). At the drop
 *    the driver fails what is still outstanding and the ledger closes:
 *    nothing of it may reach the driver after, the dropped gate refuses
 *    every call, rings nothing and writes none of the driver CQs it held
 *    (reset); after it a live SQ's ring is taken again (gate_ring);
 *  - the pin count of every grant equals what the outstanding commands and
 *    the live queue rings name; the shadow memory charged to the owner
 *    equals what the gate holds plus what the env withheld (its charge
 *    follows the pages, which never come back);
 *  - a kernel command finds a slot on the live admin queue whatever the
 *    driver keeps outstanding there (AERs the device holds for good), as
 *    long as the device reports its SQ head truly (no forged completion)
 *    and no kernel command the broker gave up on (its timeout: kheld) is
 *    still unanswered, whose slot the gate holds;
 *  - an Abort the gate passes names a command the driver has on the
 *    device or NVME_GATE_CID_NONE, never a kernel CID
 *    (abort_names_no_kcmd);
 *  - a kernel command's completion at the head of the shadow admin CQ, or
 *    behind driver completions waiting there for room, is taken by the
 *    poll, whether the driver's admin CQ is full or not;
 *  - after every reap, every slot of the device's CQ the gate has not
 *    consumed (shadow entries, commands the device holds toward it) is
 *    counted in the CQ's inflight or stale (check_cq_counted);
 *  - a kernel command's answer is the completion the device posted for
 *    it: never one of an earlier kernel command (given up on and answered
 *    late, kept across a reset, copied), unless the device copied one with
 *    its very CID; and a kernel command never gets the CID of one of the
 *    NVME_GATE_KCIDS - 1 before it whose completion the device still holds;
 *  - no more than size-1 commands outstanding on an SQ, nor toward a CQ,
 *    counted on the device's side; once the drain has reaped a shadow CQ
 *    empty, the gate counts no stale completion in it;
 *  - loop bounds: one gate call takes at most size-1 entries of an SQ and
 *    delivers at most size-1 completions, maps and allocates in proportion;
 *  - every command the device holds (fetched and not answered, or rung
 *    and not fetched) is still the gate's: its tag busy and given to no
 *    command since, so its pins hold and the driver has not been told it
 *    is done (check_held, after every reap and operation). The model
 *    names each command the gate puts on a tag (a mark: the SQ's
 *    incarnation, the tag's use) and a copy of a completion carries the
 *    mark of the command it copies.
 * A completion the device copies (a duplicate, or one kept and posted late
 * while its SQ still lives, after its tag went to later commands) names
 * the command it copies, which the gate tells from those after it on the
 * tag for NVME_GATE_USES - 1 uses (nvme_gate.h): such a copy is judged by
 * every oracle, check_held above all (seed dup_after_tag_reuse). A copy
 * the gate cannot tell from a live command's completion — forged in the
 * SQ's current generation, from an earlier incarnation, or older than the
 * window (copy_ok) — can release a command before the device ran it, or
 * fail one the device then executes; after one the DMA oracle no longer
 * judges pins (the model keeps out of freed memory), check_held and the
 * end-of-input completeness are not checked; exactly-once and every other
 * oracle still are.
 *
 * The header chooses the gate's shape. In the IOMMU shape (hw_confined,
 * docs/dma-isolation-design.md "Gate shapes under the IOMMU") the gate does
 * not look up addresses only the device dereferences and does not pin data
 * grants, and the device model plays the IOMMU: a device access outside the
 * owner's live grants, the gate's shadows and the broker's identify page
 * (while a kernel command is outstanding), or a write into a read-only
 * shadow, does not happen and is counted as an IOMMU fault, not an oracle
 * failure; an access inside a live grant needs no pin, and a command's data
 * may reach a shadow the IOMMU maps for the device. What no IOMMU confines
 * stays an oracle in both shapes: every range the gate maps for the CPU (ring
 * reads, PRP list copies, CQ posts) lies in a live grant, no device access
 * reaches the x86 interrupt window 0xFEE00000-0xFEEFFFFF, nothing writes freed
 * memory, exactly-once, the pin count of every grant (in this shape: rings and
 * the PRP list pages the gate copied) and the bounds. GATE_SEQ_TRACE=1 prints
 * every operation, take, fetch and completion.
 */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dma/nvme_gate.h"
#include "fake_nvme.h"
#include "shim.h"
#include "val_fixture.h"

/* The harness's own loops (oracles, the driver, the drain) are not
 * coverage: the fuzzer is steered by the gate's and the device model's
 * branches, and runs several times faster. */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))),         \
			     apply_to = function)

#define NEIGHBOUR  2
#define NPOOL	   4
#define POOL_BYTES (512u << 10)
#define POOL_PAGES (POOL_BYTES / 4096)
#define ARENA	   ((NPOOL + 1) * POOL_BYTES) /* + the neighbour's */
#define NQ	   8			      /* policy qid_max 7 */
#define MAXOPS	   256
#define PS	   4096u
/* the x86 interrupt window: a device write there is an interrupt request */
#define MSI_LO	0xfee00000ull
#define MSI_LEN 0x100000ull

enum { POOL_LIVE, POOL_FREED, POOL_OTHER };

static struct fake_nvme *f;
static struct nvme_gate g;
static struct nvme_val_policy pol;
static struct dma_owner own; /* the driver's owner: grants, quotas */
static struct grant_table *gt = &own.grants;
static struct grant_table others; /* pools given to someone else */
static struct nvme_gate_env env;
static uint8_t *arena, *ident;
static uint64_t A;
static struct {
	int slot;
	uint32_t gen;
	uint8_t state;
} pool[NPOOL];
static uint8_t dirty[ARENA / PS];

/* the driver's side */
static struct {
	uint16_t tail;	  /* next SQ slot it writes */
	uint16_t head;	  /* next CQ slot it reads */
	uint8_t phase;	  /* phase it expects there */
	uint16_t ncid;	  /* next CID it picks */
	bool taint;	  /* CQ: the driver cannot trust its own view */
	void *cq_shadow;  /* the CQ incarnation it knows */
	uint64_t cq_iova; /* and where its ring is */
	uint16_t cq_size;
	uint16_t last_cid; /* last CID written to the SQ */
} dq[NVME_VAL_MAX_QID];
static bool kbusy; /* a kernel command is outstanding */
/* the broker gave up waiting for one (its timeout): the device may still
 * run and answer it, until the next kernel command or the drop */
static bool kheld;
static uint16_t kcid;	 /* the CID the device sees on the last one */
static bool kown;	 /* the device posted that command's own completion */
static bool copying;	 /* the device is posting a kept or forged one */
static unsigned kserial; /* kernel commands sent in this input */
static unsigned kcid_serial[NVME_GATE_KCIDS]; /* the last to use each CID */
static int trace; /* GATE_SEQ_TRACE=1: print what happens (reproducers) */
#define TRACE(...)                                                             \
	do {                                                                   \
		if (trace)                                                     \
			fprintf(stderr, __VA_ARGS__);                          \
	} while (0)
static bool confined; /* this input runs the gate's IOMMU shape */
static unsigned long iommu_faults, confined_inputs; /* over the whole run */
static bool dev_lied;  /* the device posted a copy the gate cannot tell
			* from a command's own completion (header) */
static bool dev_extra; /* it posted a completion nobody asked for (a copy,
			* late or forged): it holds a CQ slot the gate
			* cannot count until it reaps it */
/* the controller is stopped (nvme_gate_stop, as nvme_broker_stop): until
 * the drop the gate may write no doorbell and give the device no entry */
static bool stopped;
static uint16_t stop_sh_tail[NVME_VAL_MAX_QID]; /* shadow SQ tails then */
/* over the whole run: stops, stopped drains judged, completions the
 * driver read from a stopped gate */
static unsigned long n_stops, n_judged, n_stop_read;

/* The commands the gate hands the device, named by the model (a mark:
 * the SQ's incarnation in the model, bits 24-31, and the tag's use, a
 * count over the input from 1, bits 0-23): the mark of the command in
 * each shadow SQ slot the gate filled, of the last command the gate put
 * on each tag, the tag's uses, the incarnation and the shadow ring it is
 * known by. A fetched command and each copy of its completion carry its
 * mark (fake_nvme fetch_mark). */
#define MARK_INC(m) ((m) >> 24)
#define MARK_USE(m) ((m)&0xffffffu)
static uint32_t slot_mark[NQ][NVME_GATE_QSIZE_MAX];
static uint32_t tag_last[NQ][NVME_GATE_TAGS], tag_uses[NQ][NVME_GATE_TAGS];
static uint8_t sq_inc[NQ];
static const void *sq_ring[NQ];
/* the device posted shadow CQ slot's entry as a command's own first
 * completion, not a copy (fake_nvme copy) */
static bool genuine[NQ][NVME_GATE_QSIZE_MAX];

/* ---- oracle plumbing --------------------------------------------------- */
static void die(const char *what, uint64_t a, uint64_t b)
{
	fprintf(stderr, "ORACLE: %s 0x%llx 0x%llx\n", what,
		(unsigned long long)a, (unsigned long long)b);
	abort();
}

static bool in_range(uint64_t base, uint64_t blen, uint64_t a, uint64_t len)
{
	return blen && a >= base && len <= blen && a - base <= blen - len;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* shadows the gate holds: allocated through env, not yet freed */
#define MAXSH 512
static struct {
	uint64_t a, len;
	bool dev_writes; /* the gate asked for it device-writable */
} sh[MAXSH];
static unsigned nsh;
/* env calls in the current gate call */
static unsigned n_db, n_va, n_alloc, n_irq;

/* the shadow [a, a+len) lies in, or -1 */
static int in_shadow(uint64_t a, uint64_t len)
{
	for (unsigned i = 0; i < nsh; i++)
		if (in_range(sh[i].a, sh[i].len, a, len))
			return (int)i;
	return -1;
}

static void env_doorbell(void *ctx, uint32_t index, uint32_t value)
{
	(void)ctx;
	n_db++;
	if (index >= 2 * FAKE_QMAX)
		die("doorbell index out of range", index, value);
	if (stopped)
		die("doorbell written while the controller is stopped", index,
		    value);
	f->db[index] = value;
	f->ndoorbells++;
}

/* the gate delivers an interrupt only on a vector a CQ it holds was
 * created with, interrupts enabled; at most once per CQ per call (after) */
static void env_interrupt(void *ctx, uint16_t iv)
{
	(void)ctx;
	n_irq++;
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++)
		if (g.cq[q].state && g.cq[q].ien && g.cq[q].iv == iv)
			return;
	die("interrupt on a vector no interrupt-enabled CQ has", iv, 0);
}

/* Shadows come from one arena, handed out in order within an input and
 * poisoned when freed, so a freed shadow is never reused in the same input
 * and any touch of it is an ASan report. When the arena runs out the
 * allocation fails, as page_alloc can. */
#define SHADOW_ARENA (64u << 20)
static uint8_t *sh_arena;
static size_t sh_used;

static int env_shadow_alloc(void *ctx, size_t len, bool dev_writes,
			    struct dma_buf *out)
{
	(void)ctx;
	n_alloc++;
	size_t n = (len + PS - 1) & ~(size_t)(PS - 1);
	if (!n || nsh == MAXSH || n > SHADOW_ARENA - sh_used)
		return -1;
	void *p = sh_arena + sh_used;
	sh_used += n;
	ASAN_UNPOISON_MEMORY_REGION(p, n);
	memset(p, 0, n);
	out->va = p;
	out->iova = (uint64_t)(uintptr_t)p;
	out->len = n;
	sh[nsh].a = out->iova;
	sh[nsh].dev_writes = dev_writes;
	sh[nsh++].len = n;
	return 0;
}

/* The IOMMU that does not confirm unmaps (header): every shadow free, or
 * every second or third, is withheld, as the kernel's dma_kernel_free
 * withholds it — not given back (the device may still reach it), the call
 * says -1 — and the owner stays charged for it */
static unsigned withhold_every, n_free;
static uint64_t withheld_bytes;

static int env_shadow_free(void *ctx, struct dma_buf *b)
{
	(void)ctx;
	for (unsigned i = 0; i < nsh; i++)
		if (sh[i].a == b->iova && sh[i].len == b->len) {
			sh[i] = sh[--nsh];
			/* the gate is done with it either way */
			ASAN_POISON_MEMORY_REGION(b->va, b->len);
			if (withhold_every && ++n_free % withhold_every == 0) {
				TRACE("shadow 0x%lx +0x%lx withheld\n", b->iova,
				      b->len);
				withheld_bytes += b->len;
				return -1;
			}
			return 0;
		}
	die("shadow_free of memory the gate does not hold", b->iova, b->len);
	return -1;
}

/* nvme_gate_admin_open asks drv_va for the admin rings before it checks
 * their grant (gate_cq_setup / gate_sq_setup, then gate_ring_pin): a
 * mapping of an unchecked range is tolerated there as long as the open is
 * then refused (it dereferences nothing); anywhere else it is a failure */
static bool opening, mapped_unchecked;

static void *env_drv_va(void *ctx, uint64_t iova, size_t len)
{
	(void)ctx;
	n_va++;
	if (!len || !grant_covers(gt, OWNER, iova, len)) {
		if (!opening)
			die("gate mapped driver memory outside the owner's "
			    "live grants",
			    iova, len);
		mapped_unchecked = true;
	}
	return (void *)(uintptr_t)iova;
}

static int pool_of(uint64_t a)
{
	if (a < A || a - A >= (uint64_t)NPOOL * POOL_BYTES)
		return -1;
	return (int)((a - A) / POOL_BYTES);
}

/* is [a, a+len) driver memory the driver can still use? */
static bool drv_usable(uint64_t a, uint64_t len)
{
	int p = pool_of(a);
	return p >= 0 && pool_of(a + len - 1) == p &&
	       pool[p].state == POOL_LIVE;
}

static void mark_dirty(uint64_t a, uint64_t len)
{
	if (a < A || a - A >= ARENA || !len)
		return;
	uint64_t end = a + len;
	if (end - A > ARENA)
		end = A + ARENA;
	for (uint64_t pg = (a - A) / PS; pg <= (end - 1 - A) / PS; pg++)
		dirty[pg] = 1;
}

static uint64_t cq_bytes(unsigned q)
{
	return (uint64_t)g.cq[q].size * NVME_CQE_BYTES;
}
static uint64_t sq_bytes(unsigned q)
{
	return (uint64_t)g.sq[q].size * NVME_SQE_BYTES;
}

/* a write into a driver CQ ring by anyone but the gate: that CQ's
 * contents are no longer the gate's word */
static void taint_cqs(uint64_t a, uint64_t len)
{
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++)
		if (g.cq[q].state &&
		    overlaps(g.cq[q].drv_iova, cq_bytes(q), a, len))
			dq[q].taint = true;
}

static void drv_write(uint64_t a, const void *src, uint64_t len)
{
	if (!drv_usable(a, len))
		return;
	mark_dirty(a, len);
	taint_cqs(a, len);
	memcpy((void *)(uintptr_t)a, src, len);
}

/* the device model's DMA; in the IOMMU shape the model is also the IOMMU */
static void touch(void *ctx, uint64_t a, uint64_t len, bool write)
{
	(void)ctx;
	/* no IOMMU stops a write there (QEMU 7.2 delivers compatibility-format
	 * MSIs with remapping on): only the gate does, in every shape */
	if (overlaps(a, len, MSI_LO, MSI_LEN))
		die("device DMA into the interrupt window", a, len);
	int s = in_shadow(a, len);
	if (s >= 0) {
		bool ro = write && !sh[s].dev_writes;
		if (confined && f->in_xfer) {
			/* the owner's domain maps the shadows for the device
			 * (read-only but the CQs): the gate does not look at
			 * data pointers, the IOMMU decides. Data landing in a
			 * shadow CQ makes the driver a lying device
			 * (docs/dma-isolation-design.md, "Gate shapes under
			 * the IOMMU"): what it wrote there is forged
			 * completions, judged as those are */
			if (ro) {
				iommu_faults++;
				f->touch_veto = true;
			} else if (write) {
				dev_lied = dev_extra = true;
			}
			return;
		}
		if (f->in_xfer)
			die("a command's data reached a gate shadow", a, len);
		if (ro)
			die("device wrote into a shadow the gate made "
			    "read-only",
			    a, len);
		return;
	}
	if ((kbusy || kheld) &&
	    in_range((uint64_t)(uintptr_t)ident, PS, a, len))
		return;
	if (confined) {
		/* the owner's domain maps its live grants, pinned or not; a
		 * revoke unmaps before the pages go */
		if (!grant_find(gt, OWNER, a, len)) {
			iommu_faults++;
			TRACE("  IOMMU fault 0x%llx+0x%llx %s\n",
			      (unsigned long long)a, (unsigned long long)len,
			      write ? "write" : "read");
			f->touch_veto = true;
			return;
		}
		if (write) {
			mark_dirty(a, len);
			taint_cqs(a, len);
		}
		return;
	}
	const struct dma_grant *gr = grant_find(gt, OWNER, a, len);
	if (!gr || !gr->pins) {
		if (!dev_lied)
			die(gr ? "device touched a grant no outstanding "
				 "command pins"
			       : "device touched memory outside live grants "
				 "and shadows",
			    a, len);
		/* a copied completion released a command early: the device
		 * broke the protocol, not the gate; keep the model out of
		 * memory that is gone */
		if (!gr || !drv_usable(a, len)) {
			f->touch_veto = true;
			return;
		}
	}
	if (write) {
		mark_dirty(a, len);
		taint_cqs(a, len);
	}
}

/* ---- the ledger: (SQ, CID, CQ) -> commands taken, not yet completed --- */
#define LEDGER 65536u
static struct {
	uint32_t key;
	uint32_t n;
	/* the device's completion of one of them (status, DW0, DW1), posted
	 * and not yet read by the driver: 1 one, 2 more (not judged) */
	uint8_t posted;
	uint16_t status;
	uint32_t dw0, dw1;
} led[LEDGER];
static uint32_t led_used[LEDGER];
static unsigned nled;
static bool led_full;

static uint32_t led_key(unsigned sq, unsigned cid, unsigned cq)
{
	return (uint32_t)(sq & 63) << 22 | (uint32_t)(cq & 63) << 16 | cid;
}

/* the ledger slot of key, or -1 */
static int led_slot(uint32_t key, bool add)
{
	uint32_t h = (key * 2654435761u) >> 16;
	for (unsigned k = 0; k < LEDGER; k++) {
		uint32_t i = (h + k) & (LEDGER - 1);
		if (led[i].key == key + 1)
			return (int)i;
		if (!led[i].key) {
			if (!add)
				return -1;
			if (nled >= LEDGER / 2) {
				led_full = true;
				return -1;
			}
			led[i].key = key + 1;
			led[i].n = 0;
			led[i].posted = 0;
			led_used[nled++] = i;
			return (int)i;
		}
	}
	return -1;
}

static uint32_t *led_find(uint32_t key, bool add)
{
	int i = led_slot(key, add);
	return i < 0 ? 0 : &led[i].n;
}

static void led_clear(void)
{
	for (unsigned k = 0; k < nled; k++) {
		led[led_used[k]].key = led[led_used[k]].n = 0;
		led[led_used[k]].posted = 0;
	}
	nled = 0;
	led_full = false;
}

/* the driver deleted CQ q: what was still to arrive there never will */
static void led_forgive_cq(unsigned q)
{
	for (unsigned k = 0; k < nled; k++)
		if (((led[led_used[k]].key - 1) >> 16 & 63) == q) {
			led[led_used[k]].n = 0;
			led[led_used[k]].posted = 0;
		}
}

/* The device posted e into CQ cqid. When it is the completion of a command
 * the gate has on the device (its SQ's current generation, a busy tag,
 * posting to that CQ), the driver must be answered with it: its status
 * and result, whatever happens before the gate reaps it (a Delete SQ
 * completing first must not turn it into "aborted": seed
 * delete_keeps_device_status). Kept on the command's ledger entry. */
static void dev_posted(void *ctx, uint16_t cqid, const struct nvme_cqe *e)
{
	(void)ctx;
	if (cqid == 0 && e->sqid == 0 && (kbusy || kheld) && e->cid == kcid &&
	    !copying)
		kown = true;
	if (e->sqid >= NVME_VAL_MAX_QID || cqid >= NVME_VAL_MAX_QID)
		return;
	if (cqid < NQ) {
		size_t at =
		    (size_t)(e - (const struct nvme_cqe *)(uintptr_t)f->cq[cqid]
				     .base);
		if (at < NVME_GATE_QSIZE_MAX)
			genuine[cqid][at] = !f->copy;
	}
	const struct nvme_gate_sq *s = &g.sq[e->sqid];
	unsigned tag = e->cid & (NVME_GATE_TAGS - 1);
	if ((s->state != NVME_GQ_LIVE && s->state != NVME_GQ_DELETING) ||
	    s->cqid != cqid ||
	    e->cid >> NVME_GATE_GEN_SHIFT != g.sq_gen[e->sqid] ||
	    tag >= s->ntags || !s->tag[tag].busy ||
	    s->tag[tag].dev_cid != e->cid)
		return;
	int i = led_slot(led_key(e->sqid, s->tag[tag].drv_cid, cqid), false);
	if (i < 0)
		return;
	if (led[i].posted++) {
		led[i].posted = 2; /* two commands of one CID: not judged */
		return;
	}
	led[i].status = e->status & ~NVME_CQE_P_MASK;
	/* the gate's own rejection code is not the device's to give: it
	 * reaches the driver as Internal Error (t_device_forges_reject) */
	if (nvme_cqe_sct(e) == NVME_GATE_SCT_CAPOS &&
	    nvme_cqe_sc(e) == NVME_GATE_SC_REJECTED)
		led[i].status =
		    (uint16_t)((led[i].status &
				~(NVME_CQE_SCT_MASK << NVME_CQE_SCT_SHIFT |
				  NVME_CQE_SC_MASK << NVME_CQE_SC_SHIFT)) |
			       NVME_SC_INTERNAL << NVME_CQE_SC_SHIFT);
	led[i].dw0 = e->dw0;
	led[i].dw1 = e->dw1;
}

/* ---- the gate's pins and bounds --------------------------------------- */
/* the ring of live queue q lies in a live grant of the owner and pins it;
 * else the oracle fails with what */
static void want_ring_pin(uint32_t *want, const char *what, unsigned q,
			  uint64_t iova, uint64_t bytes)
{
	const struct dma_grant *r = grant_find(gt, OWNER, iova, bytes);
	if (!r)
		die(what, q, iova);
	want[r - gt->g]++;
}

static void check_pins(void)
{
	uint32_t want[GRANT_MAX] = {0};
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		if (!g.sq[q].state)
			continue;
		for (unsigned t = 0; t < NVME_GATE_TAGS; t++)
			if (g.sq[q].tag[t].busy)
				for (uint64_t m = g.sq[q].tag[t].pins; m;
				     m &= m - 1)
					want[__builtin_ctzll(m)]++;
	}
	/* a queue ring pins the grant it lies in while the queue exists */
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		if (g.sq[q].state)
			want_ring_pin(want,
				      "live SQ ring outside the owner's live "
				      "grants",
				      q, g.sq[q].drv_iova, sq_bytes(q));
		if (g.cq[q].state)
			want_ring_pin(want,
				      "live CQ ring outside the owner's live "
				      "grants",
				      q, g.cq[q].drv_iova, cq_bytes(q));
	}
	for (unsigned i = 0; i < GRANT_MAX; i++)
		if (gt->g[i].pins != want[i])
			die("pin count of a grant differs from the commands "
			    "and "
			    "rings that name it",
			    i, (uint64_t)gt->g[i].pins << 32 | want[i]);
}

/* before a gate call: what each SQ had */
static struct {
	uint8_t state;
	uint16_t head, tail, size, cqid, sh_tail;
	const struct nvme_sqe *drv, *shadow;
} snap[NVME_VAL_MAX_QID];

static void before(void)
{
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		snap[q].state = g.sq[q].state;
		snap[q].head = g.sq[q].drv_head;
		snap[q].tail = g.sq[q].drv_tail;
		snap[q].size = g.sq[q].size;
		snap[q].cqid = g.sq[q].cqid;
		snap[q].drv = g.sq[q].drv;
		snap[q].shadow = g.sq[q].shadow.va;
		snap[q].sh_tail = g.sq[q].sh_tail;
	}
	n_db = n_va = n_alloc = n_irq = 0;
}

/* the commands the gate put on shadow SQs in this call: each is the next
 * use of its tag (the kernel's own commands take no tag) */
static void note_issued(void)
{
	for (unsigned q = 0; q < NQ; q++) {
		const struct nvme_gate_sq *s = &g.sq[q];
		if (!s->state || !s->shadow.va || !s->size)
			continue;
		uint16_t from = snap[q].sh_tail;
		if (s->shadow.va != sq_ring[q]) { /* a new incarnation */
			sq_ring[q] = s->shadow.va;
			sq_inc[q]++;
			from = 0;
		}
		for (uint16_t i = from; i != s->sh_tail;
		     i = (uint16_t)((i + 1) % s->size)) {
			uint16_t cid = nvme_sqe_cid(
			    &((const struct nvme_sqe *)s->shadow.va)[i]);
			uint32_t m = 0;
			if (cid < NVME_GATE_KCID_BASE) {
				unsigned t = cid & (NVME_GATE_TAGS - 1);
				m = (uint32_t)sq_inc[q] << 24 |
				    ++tag_uses[q][t];
				tag_last[q][t] = m;
			}
			slot_mark[q][i] = m;
		}
	}
}

static uint32_t fetch_mark(void *ctx, uint16_t sqid, uint16_t slot)
{
	(void)ctx;
	return sqid < NQ && slot < NVME_GATE_QSIZE_MAX ? slot_mark[sqid][slot]
						       : 0;
}

/* command mark, CID cid of SQ q, is one the device still holds */
static void held_ok(uint16_t q, uint16_t cid, uint32_t mark)
{
	if (q >= NQ || cid >= NVME_GATE_KCID_BASE || !mark)
		return;
	unsigned t = cid & (NVME_GATE_TAGS - 1);
	const struct nvme_gate_sq *s = &g.sq[q];
	if (!s->state || t >= s->ntags || !s->tag[t].busy ||
	    tag_last[q][t] != mark)
		die("the gate let go of a command the device still holds (its "
		    "tag freed or given to the next command: its pins released "
		    "and the driver told it is done while on the device; "
		    "sq<<16|cid, mark)",
		    (uint64_t)q << 16 | cid, mark);
}

/* Every command the device holds — fetched and its completion not
 * posted, or rung and not fetched yet — is still the gate's: its tag busy
 * and given to no command since (tag_last). Not judged after a copy the
 * gate cannot tell from a completion (dev_lied). A completion posted again
 * after its tag went to the next command broke this while the CID was
 * the tag and generation alone (t_dup_after_tag_reuse) */
static void check_held(void)
{
	if (dev_lied)
		return;
	for (unsigned i = 0; i < f->ninfl; i++)
		held_ok(f->infl[i].sqid, nvme_sqe_cid(&f->infl[i].c),
			f->infl[i].mark);
	for (uint16_t q = 0; q < NQ; q++) {
		uint32_t size = f->sq[q].size, db = f->db[2 * q];
		if (!f->sq[q].live || !size || db >= size)
			continue;
		const struct nvme_sqe *r =
		    (const struct nvme_sqe *)(uintptr_t)f->sq[q].base;
		for (uint32_t i = f->sq[q].head; i != db; i = (i + 1) % size)
			held_ok(q, nvme_sqe_cid(&r[i]), slot_mark[q][i]);
	}
}

/* An Abort the gate put on the shadow admin SQ in this call names a
 * command the driver has on the device (a busy tag of the SQ it names, in
 * that SQ's current generation) or nothing (NVME_GATE_CID_NONE): never the
 * kernel's own command, nor any other CID (t_abort_spares_kcmd; before,
 * an Abort of a CID the driver had not outstanding named FFFEh, the last
 * kernel CID) */
static void abort_names_no_kcmd(void)
{
	const struct nvme_gate_sq *s = &g.sq[0];
	if (s->state != NVME_GQ_LIVE || !s->shadow.va ||
	    s->shadow.va != snap[0].shadow || !s->size)
		return;
	for (uint16_t i = snap[0].sh_tail; i != s->sh_tail;
	     i = (uint16_t)((i + 1) % s->size)) {
		const struct nvme_sqe *e =
		    &((const struct nvme_sqe *)s->shadow.va)[i];
		uint16_t t = (uint16_t)(e->cdw10 >> 16), q = e->cdw10 & 0xffff;
		if (nvme_sqe_opc(e) != NVME_ADM_ABORT ||
		    nvme_sqe_cid(e) >= NVME_GATE_KCID_BASE ||
		    t == NVME_GATE_CID_NONE)
			continue;
		const struct nvme_gate_sq *a =
		    q < NVME_VAL_MAX_QID ? &g.sq[q] : 0;
		unsigned tag = t & (NVME_GATE_TAGS - 1);
		if (!a || !a->state ||
		    t >> NVME_GATE_GEN_SHIFT != g.sq_gen[q] ||
		    tag >= a->ntags || !a->tag[tag].busy ||
		    a->tag[tag].dev_cid != t)
			die("an Abort the gate passed names no command the "
			    "driver has on the device",
			    q, t);
	}
}

static void drv_consume(unsigned q);

/* after a gate call: the ledger takes what the gate took, queue
 * incarnations are noticed, the bounds are checked */
static void after(int delivered, unsigned cq_size)
{
	unsigned took = 0;
	note_issued();
	abort_names_no_kcmd();
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		struct nvme_gate_sq *s = &g.sq[q];
		/* an SQ's life ends when it is freed; a create (PENDING) after
		 * a delete in the same call starts another */
		bool ended = snap[q].state &&
			     (!s->state || (s->state == NVME_GQ_PENDING &&
					    snap[q].state != NVME_GQ_PENDING));
		unsigned n = 0, size = snap[q].size;
		if (ended) /* what was rung is owed: drained, or lost */
			n = (snap[q].tail + size - snap[q].head) % size;
		else if (snap[q].state && s->state)
			n = (s->drv_head + size - snap[q].head) % size;
		if (n > size - 1)
			die("one call took more than size-1 entries", q, n);
		/* stopped: what a live SQ holds stays the driver's until the
		 * drop (a deleted one's owed "aborted" are still posted) */
		if (stopped && snap[q].state == NVME_GQ_LIVE &&
		    s->state == NVME_GQ_LIVE && n)
			die("the stopped gate took an entry of a live SQ", q,
			    n);
		if (stopped && s->state && s->sh_tail != stop_sh_tail[q])
			die("the stopped gate put a command on a shadow SQ", q,
			    (uint64_t)stop_sh_tail[q] << 16 | s->sh_tail);
		took += n;
		for (unsigned k = 0; k < n; k++) {
			const struct nvme_sqe *e =
			    &snap[q].drv[(snap[q].head + k) % size];
			uint32_t *c = led_find(
			    led_key(q, nvme_sqe_cid(e), snap[q].cqid), true);
			TRACE("  gate took sq%u cid %u opc 0x%x (-> cq%u)\n", q,
			      nvme_sqe_cid(e), nvme_sqe_opc(e), snap[q].cqid);
			if (c)
				(*c)++;
		}
		/* a new SQ: the driver starts writing at slot 0 */
		if (s->state && (!snap[q].state || ended)) {
			TRACE("  sq%u created: %u entries -> cq%u\n", q,
			      s->size, s->cqid);
			dq[q].tail = 0;
			mark_dirty(s->drv_iova, sq_bytes(q));
			for (unsigned o = 0; o < NVME_VAL_MAX_QID; o++)
				if (g.cq[o].state &&
				    overlaps(g.cq[o].drv_iova, cq_bytes(o),
					     s->drv_iova, sq_bytes(q)))
					dq[o].taint = true;
		}
	}
	if (delivered > 0 && cq_size && (unsigned)delivered > cq_size - 1)
		die("one reap delivered more than size-1 completions",
		    (uint64_t)delivered, cq_size);
	if (n_db > 1 + NVME_VAL_MAX_QID)
		die("doorbells in one gate call", n_db, 0);
	if (n_irq > NVME_VAL_MAX_QID)
		die("interrupts in one gate call", n_irq, 0);
	if (n_va > 6 * took + 2 || n_alloc > 2 * took + 3)
		die("maps or allocations out of proportion to entries taken",
		    n_va, (uint64_t)n_alloc << 32 | took);
	/* queue incarnations the driver learns of */
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		struct nvme_gate_cq *c = &g.cq[q];
		if (dq[q].cq_shadow && dq[q].cq_shadow != c->shadow.va) {
			/* deleted: read what is left, the rest never comes */
			drv_consume(q);
			led_forgive_cq(q);
			dq[q].cq_shadow = 0;
		}
		if (c->state && !dq[q].cq_shadow) {
			dq[q].cq_shadow = c->shadow.va;
			dq[q].cq_iova = c->drv_iova;
			dq[q].cq_size = c->size;
			dq[q].head = 0;
			dq[q].phase = 1;
			dq[q].taint = false;
			/* the driver zeroes its ring before the create */
			if (drv_usable(c->drv_iova, cq_bytes(q))) {
				mark_dirty(c->drv_iova, cq_bytes(q));
				memset((void *)(uintptr_t)c->drv_iova, 0,
				       cq_bytes(q));
			}
			for (unsigned o = 0; o < NVME_VAL_MAX_QID; o++) {
				if ((o != q && g.cq[o].state &&
				     overlaps(g.cq[o].drv_iova, cq_bytes(o),
					      c->drv_iova, cq_bytes(q))) ||
				    (g.sq[o].state &&
				     overlaps(g.sq[o].drv_iova, sq_bytes(o),
					      c->drv_iova, cq_bytes(q)))) {
					dq[q].taint = true;
					dq[o].taint = true;
				}
			}
		}
	}
	check_pins();
}

/* Commands of an SQ's current life the device has been given and the gate
 * has not reaped: not fetched yet, fetched, or posted to a CQ the gate has
 * not consumed. No more than size-1 may be outstanding (issue 9, finding
 * 3): more overfills the device's queue. Counted on the device's side. */
static void check_outstanding(void)
{
	/* n: outstanding commands of an SQ's current life; pre: those the
	 * device has not posted yet; occ: CQ entries the device may not
	 * reuse yet (posted, not given back by the CQ head doorbell) */
	unsigned n[FAKE_QMAX] = {0}, pre[FAKE_QMAX] = {0}, occ[FAKE_QMAX] = {0};
	if (dev_lied)
		return;
	for (unsigned q = 0; q < FAKE_QMAX; q++) {
		if (!f->sq[q].live || !f->sq[q].size)
			continue;
		uint32_t db = f->db[2 * q];
		if (db < f->sq[q].size)
			pre[q] += (db + f->sq[q].size - f->sq[q].head) %
				  f->sq[q].size;
	}
	for (unsigned i = 0; i < f->ninfl; i++) {
		uint16_t sq = f->infl[i].sqid;
		if (nvme_sqe_cid(&f->infl[i].c) >> NVME_GATE_GEN_SHIFT ==
		    g.sq_gen[sq])
			pre[sq]++;
	}
	for (unsigned q = 0; q < FAKE_QMAX; q++)
		n[q] = pre[q];
	for (unsigned c = 0; c < FAKE_QMAX; c++) {
		if (!f->cq[c].live || f->db[2 * c + 1] >= f->cq[c].size)
			continue;
		uint32_t size = f->cq[c].size, head = f->db[2 * c + 1];
		occ[c] = (f->cq[c].tail + size - head) % size;
		/* not reaped by the gate yet: still outstanding */
		uint32_t from = g.cq[c].state && g.cq[c].size == size
				    ? g.cq[c].sh_head
				    : head;
		const struct nvme_cqe *r =
		    (const struct nvme_cqe *)(uintptr_t)f->cq[c].base;
		/* a copy holds a slot, but no command (dev_extra) */
		for (uint32_t k = from; k != f->cq[c].tail; k = (k + 1) % size)
			if (r[k].sqid < FAKE_QMAX &&
			    r[k].cid >> NVME_GATE_GEN_SHIFT ==
				g.sq_gen[r[k].sqid] &&
			    (c >= NQ || genuine[c][k]))
				n[r[k].sqid]++;
	}
	unsigned want[FAKE_QMAX] = {0};
	for (unsigned q = 0; q < FAKE_QMAX; q++) {
		if (!f->sq[q].live)
			continue;
		if (n[q] > (unsigned)f->sq[q].size - 1)
			die("more commands outstanding on an SQ than its "
			    "size-1",
			    q, (uint64_t)n[q] << 16 | f->sq[q].size);
		want[f->sq[q].cqid % FAKE_QMAX] += pre[q];
	}
	/* the device always finds room for what it holds */
	for (unsigned c = 0; c < FAKE_QMAX && !dev_extra; c++)
		if (f->cq[c].live && want[c] &&
		    occ[c] + want[c] > (unsigned)f->cq[c].size - 1)
			die("more commands outstanding toward a CQ than it has "
			    "room for",
			    c,
			    (uint64_t)(occ[c] + want[c]) << 16 | f->cq[c].size);
}

/* ---- the driver --------------------------------------------------------- */
static int gate_ring(uint16_t q, uint16_t tail)
{
	before();
	int r = nvme_gate_sq_ring(&g, q, tail);
	if (r >= 0 && q < NVME_VAL_MAX_QID && r > g.sq[q].size - 1)
		die("ring took more than size-1 entries", q, (uint64_t)r);
	if (stopped && r >= 0)
		die("the stopped gate took a ring", q, tail);
	/* a live SQ's ring in range, both rings live, refused: the gate
	 * still thinks the controller stopped (the drop resumes it) */
	if (!stopped && r < 0 && q < NVME_VAL_MAX_QID &&
	    snap[q].state == NVME_GQ_LIVE && tail < snap[q].size &&
	    drv_usable(g.sq[q].drv_iova, sq_bytes(q)) &&
	    g.cq[snap[q].cqid].state &&
	    drv_usable(g.cq[snap[q].cqid].drv_iova, cq_bytes(snap[q].cqid)))
		die("a ring of a live SQ refused", q, tail);
	after(0, 0);
	return r;
}

/* After a reap of CQ q, every slot of the device's CQ the gate has not
 * consumed is one it counts (inflight + stale, what gate_cq_room adds
 * up): the entries from the gate's shadow head to the device's tail,
 * and every command of an SQ's current life the device holds toward q
 * that it has not posted yet (rung, fetched, or done and waiting for
 * room). An undercount lets the device's CQ overfill (a forged stale
 * entry once took the count of one a Delete SQ left: seed
 * stale_forged_undercount). Not judged after a forged completion the gate
 * cannot tell from a command's (dev_lied: that command is then counted
 * twice here), on the stopped controller (nothing more reaches it) nor
 * past an overrun. */
static void check_cq_counted(uint16_t q)
{
	if (q >= NQ || dev_lied || stopped || f->cq_overrun || !g.cq[q].state ||
	    !f->cq[q].live || g.cq[q].size != f->cq[q].size)
		return;
	uint32_t size = f->cq[q].size;
	unsigned want = (f->cq[q].tail + size - g.cq[q].sh_head) % size;
	for (unsigned s = 0; s < FAKE_QMAX; s++) {
		if (!f->sq[s].live || f->sq[s].cqid != q || !f->sq[s].size)
			continue;
		uint32_t db = f->db[2 * s];
		if (db < f->sq[s].size)
			want += (db + f->sq[s].size - f->sq[s].head) %
				f->sq[s].size;
	}
	for (unsigned i = 0; i < f->ninfl; i++) {
		uint16_t s = f->infl[i].sqid;
		if (s < FAKE_QMAX && f->sq[s].cqid == q &&
		    nvme_sqe_cid(&f->infl[i].c) >> NVME_GATE_GEN_SHIFT ==
			g.sq_gen[s])
			want++;
	}
	if ((unsigned)g.cq[q].inflight + g.cq[q].stale < want)
		die("CQ slots held that the gate does not count", q,
		    (uint64_t)want << 32 | (uint64_t)g.cq[q].inflight << 16 |
			g.cq[q].stale);
}

static int gate_reap(uint16_t q)
{
	before();
	unsigned size = q < NVME_VAL_MAX_QID ? g.cq[q].size : 0;
	int r = nvme_gate_cq_reap(&g, q);
	after(r, size);
	check_held();
	check_cq_counted(q);
	return r;
}

static int gate_head(uint16_t q, uint16_t head)
{
	before();
	int r = nvme_gate_cq_head(&g, q, head);
	after(0, 0);
	return r;
}

/* the driver's CQ q has no free slot (the gate's view) */
static bool cq_full_drv(unsigned q)
{
	const struct nvme_gate_cq *c = &g.cq[q];
	return c->size && (c->drv_tail + 1u) % c->size == c->drv_head;
}

static void gate_kpoll(void)
{
	struct nvme_cqe e;
	before();
	unsigned size = g.cq[0].size;
	bool done = nvme_gate_kcmd_poll(&g, &e);
	after(0, size);
	check_held();
	/* the kernel's completion needs no slot in the driver's CQ: at the
	 * shadow head, or behind driver completions waiting for room there,
	 * it is taken, full driver CQ or not (t_kcmd_driver_cq_full,
	 * t_kcmd_behind_driver_cqe) */
	const volatile struct nvme_cqe *shq = g.cq[0].shadow.va;
	unsigned h = g.cq[0].sh_head, ph = g.cq[0].sh_phase;
	for (unsigned i = 0; !done && nvme_gate_kcmd_pending(&g) &&
			     g.cq[0].state && shq && i < g.cq[0].size;
	     i++) {
		if ((shq[h].status & NVME_CQE_P_MASK) != ph)
			break;
		if (shq[h].sqid == 0 && shq[h].cid == g.kcmd_cid)
			die("a kernel command's completion in the shadow CQ "
			    "was not taken (cid, place; driver CQ full)",
			    g.kcmd_cid, (uint64_t)i << 1 | cq_full_drv(0));
		if (++h == g.cq[0].size) {
			h = 0;
			ph ^= 1;
		}
	}
	if (!done)
		return;
	/* (a poll after the broker gave up may still see that one's answer) */
	if (!kbusy && !kheld)
		die("kernel completion without a kernel command", e.cid,
		    e.status);
	/* its answer is the completion the device posted for it: not an
	 * earlier kernel command's (one given up on, one from before a
	 * reset, a copy), unless the device copied one with its very CID,
	 * which nobody can tell (dev_lied) */
	if (e.cid != kcid || e.sqid != 0 || (!kown && !dev_lied))
		die("a kernel command's answer is another command's completion",
		    e.cid, kcid);
	kbusy = kheld = false;
}

/* the broker's BROKER_KCMD_US passed: it stops waiting, the device may
 * still answer (kheld) */
static void kgive_up(void)
{
	if (!kbusy)
		return;
	TRACE("  the broker gives up on its kernel command 0x%x\n", kcid);
	kbusy = false;
	kheld = true;
}

/* read CQ q as far as the phase says, as a driver does, then tell the gate
 * its head */
static void drv_consume(unsigned q)
{
	uint16_t size = dq[q].cq_size;
	if (!dq[q].cq_shadow || !size)
		return;
	if (!drv_usable(dq[q].cq_iova, (uint64_t)size * NVME_CQE_BYTES)) {
		dq[q].taint = true; /* its pool is gone: it cannot read */
		return;
	}
	const struct nvme_cqe *r =
	    (const struct nvme_cqe *)(uintptr_t)dq[q].cq_iova;
	for (unsigned k = 0; k < size; k++) {
		const struct nvme_cqe *e = &r[dq[q].head];
		if (nvme_cqe_phase(e) != dq[q].phase)
			break;
		TRACE("  driver read cq%u: sq%u cid %u status 0x%x%s\n", q,
		      e->sqid, e->cid, e->status >> 1,
		      dq[q].taint ? " (tainted)" : "");
		n_stop_read += stopped;
		int i = led_slot(led_key(e->sqid, e->cid, q), false);
		if (!dq[q].taint && !led_full) {
			if (e->sqid >= NVME_VAL_MAX_QID || i < 0 || !led[i].n)
				die("completion for a command not outstanding "
				    "(unknown, twice, or on the wrong CQ)",
				    (uint64_t)e->sqid << 16 | e->cid, q);
			/* the one command of this CID the device answered:
			 * the driver hears that answer */
			if (led[i].n == 1 && led[i].posted == 1 && !dev_lied &&
			    ((e->status & ~NVME_CQE_P_MASK) != led[i].status ||
			     e->dw0 != led[i].dw0 || e->dw1 != led[i].dw1))
				die("a completion the device posted reached "
				    "the "
				    "driver changed (sq<<16|cid, status "
				    "device<<16|driver)",
				    (uint64_t)e->sqid << 16 | e->cid,
				    (uint64_t)led[i].status << 16 |
					(e->status & ~NVME_CQE_P_MASK));
			led[i].n--;
		}
		if (i >= 0)
			led[i].posted = 0;
		if (++dq[q].head == size) {
			dq[q].head = 0;
			dq[q].phase ^= 1;
		}
	}
}

static void drv_consume_and_head(unsigned q)
{
	if (!g.cq[q].state)
		return;
	drv_consume(q);
	if (g.cq[q].state)
		gate_head((uint16_t)q, dq[q].head);
}

static const uint16_t qsizes[] = {2,  3,  4,  5,  8,   15,  16,	  17,	32,
				  63, 64, 65, 66, 128, 255, 1024, 4095, 4096};
#define NQSIZES (sizeof(qsizes) / sizeof(qsizes[0]))

static uint64_t page_addr(unsigned p, unsigned page)
{
	return A + (uint64_t)(p % (NPOOL + 1)) * POOL_BYTES +
	       (uint64_t)(page % POOL_PAGES) * PS;
}

/* a ring of len bytes at a page of pool p that holds it */
static uint64_t ring_addr(unsigned p, unsigned page, uint64_t len)
{
	unsigned pages = (unsigned)((len + PS - 1) / PS);
	return page_addr(p % NPOOL, page % (POOL_PAGES - pages + 1));
}

/* a byte in one of the gate's shadows (the worst case: the driver knows
 * where the gate keeps its copies); in the arena when there is none */
static uint64_t shadow_addr(unsigned which, unsigned off)
{
	if (!nsh)
		return A;
	unsigned k = which % nsh;
	return sh[k].a + (off % sh[k].len & ~7ull);
}

/* bit 63: wild; bit 62: in the interrupt window (a page, or a dword
 * in one); bit 61: in a gate shadow; else an offset into the arena */
static uint64_t addr(uint64_t raw)
{
	if (raw >> 63)
		return raw;
	if (raw >> 62)
		return MSI_LO + (raw & 0xff000) +
		       ((raw & 1) ? (raw & 0xffc) : 0);
	if (raw >> 61 & 1)
		return shadow_addr((unsigned)(raw >> 32), (unsigned)raw);
	return A + (raw % ARENA);
}

static void sq_write(unsigned q, struct nvme_sqe *c)
{
	struct nvme_gate_sq *s = &g.sq[q];
	if (!s->state || !s->size)
		return;
	dq[q].last_cid = nvme_sqe_cid(c);
	drv_write(s->drv_iova + (uint64_t)(dq[q].tail % s->size) * 64, c, 64);
	dq[q].tail = (uint16_t)((dq[q].tail + 1) % s->size);
}

/* PRPs for len bytes from prp1: a second page or a list in pool lp;
 * msi: the last page lies in the interrupt window */
static void build_prps(struct nvme_sqe *c, uint64_t len, unsigned lp,
		       unsigned lpage, bool msi)
{
	uint64_t first = PS - (c->prp1 % PS);
	if (len <= first) {
		c->prp2 = 0;
		return;
	}
	uint64_t next = (c->prp1 & ~(uint64_t)(PS - 1)) + PS;
	if (len - first <= PS) {
		c->prp2 = msi ? MSI_LO + PS : next;
		return;
	}
	uint64_t list = page_addr(lp, lpage);
	unsigned n = (unsigned)((len - first + PS - 1) / PS);
	uint64_t e[64];
	if (n > 64)
		n = 64;
	for (unsigned k = 0; k < n; k++)
		e[k] = next + (uint64_t)k * PS;
	if (msi)
		e[n - 1] = MSI_LO + (uint64_t)n * PS;
	drv_write(list, e, (uint64_t)n * 8);
	c->prp2 = list;
}

enum {
	K_READ,
	K_WRITE,
	K_FLUSH,
	K_IDENTIFY,
	K_CREATE_CQ,
	K_CREATE_SQ,
	K_DELETE_SQ,
	K_DELETE_CQ,
	K_ABORT,
	K_GET_FEATURES,
	K_DSM,		/* Dataset Management: the range list is its data */
	K_WRITE_ZEROES, /* no data pointer */
	K_NKINDS
};

/* a templated command: [q|flags, kind, cid, x, y, z, w] */
static void op_cmd(const uint8_t *a)
{
	unsigned q = a[0] & 7, fl = a[0] >> 3;
	unsigned kind = a[1] % K_NKINDS;
	uint8_t x = a[3], y = a[4], z = a[5], w = a[6];
	struct nvme_sqe c;
	memset(&c, 0, sizeof(c));
	bool admin = kind >= K_IDENTIFY && kind < K_DSM;
	if (!(fl & 0x10)) /* mostly: the queue the command belongs on */
		q = admin ? 0 : (q ? q : 1);
	uint16_t cid = (fl & 1) ? a[2] : dq[q].ncid++;
	uint16_t size = qsizes[y % NQSIZES];
	uint16_t qid = x & 7;
	switch (kind) {
	case K_READ:
	case K_WRITE: {
		uint32_t nlb0 = (fl & 2) ? x : (x & 15);
		c.cdw0 = kind == K_READ ? NVME_IO_READ : NVME_IO_WRITE;
		c.nsid = (fl & 4) ? 2 : 1;
		c.cdw10 = y;
		c.cdw12 = nlb0;
		/* y bit 7: the data starts in the interrupt window; bit 6:
		 * it ends there */
		c.prp1 = ((y & 0x80) ? MSI_LO + (uint64_t)z * PS
				     : page_addr(z & 3, z >> 2)) +
			 ((fl & 8) ? (w & 0xffc) : 0);
		/* a[2] (free when the CID is the driver's next): the data
		 * at one of the gate's own shadows */
		if (!(fl & 1) && (a[2] & 1))
			c.prp1 = shadow_addr(z, (unsigned)w << 4);
		build_prps(&c, (uint64_t)(nlb0 + 1) * 512, w & 3, w >> 2,
			   y & 0x40);
		break;
	}
	case K_FLUSH:
		c.cdw0 = NVME_IO_FLUSH;
		c.nsid = 1;
		break;
	case K_IDENTIFY:
		c.cdw0 = NVME_ADM_IDENTIFY;
		c.cdw10 = x & 3;
		c.nsid = y & 3;
		c.prp1 =
		    page_addr(z & 3, z >> 2) + ((fl & 8) ? (w & 0xffc) : 0);
		build_prps(&c, 4096, w & 3, w >> 2, false);
		break;
	case K_CREATE_CQ:
	case K_CREATE_SQ: {
		bool sq = kind == K_CREATE_SQ;
		uint64_t len = (uint64_t)size * (sq ? 64 : 16);
		c.cdw0 = sq ? NVME_ADM_CREATE_SQ : NVME_ADM_CREATE_CQ;
		c.cdw10 = (uint32_t)(size - 1) << 16 | qid;
		c.cdw11 = (fl & 2) ? 0 : 1; /* PC */
		if (sq)
			c.cdw11 |= (uint32_t)((x >> 3) & 7) << 16;
		c.prp1 = ring_addr(z, w, len);
		break;
	}
	case K_DELETE_SQ:
		c.cdw0 = NVME_ADM_DELETE_SQ;
		c.cdw10 = qid;
		break;
	case K_DELETE_CQ:
		c.cdw0 = NVME_ADM_DELETE_CQ;
		c.cdw10 = qid;
		break;
	case K_ABORT: {
		/* mostly a command that may still run on that SQ */
		uint16_t tcid = (fl & 2)
				    ? (uint16_t)(y | z << 8)
				    : (uint16_t)(dq[qid].last_cid - (y & 3));
		c.cdw0 = NVME_ADM_ABORT;
		c.cdw10 = (uint32_t)tcid << 16 | qid;
		break;
	}
	case K_GET_FEATURES:
		c.cdw0 = NVME_ADM_GET_FEATURES;
		c.cdw10 = x & 0x1f;
		break;
	case K_DSM: {
		/* x ranges (0-based), Deallocate or not; the list placed as a
		 * Read's data is (a pool page, the interrupt window, a
		 * shadow) and the device reads it through the PRPs */
		c.cdw0 = NVME_IO_DSM;
		c.nsid = (fl & 4) ? 2 : 1;
		c.cdw10 = (fl & 2) ? x : (x & 3);
		c.cdw11 = (y & 1) ? 1u << NVME_DSM_AD_SHIFT : 0;
		c.prp1 = ((y & 0x80) ? MSI_LO + (uint64_t)z * PS
				     : page_addr(z & 3, z >> 2)) +
			 ((fl & 8) ? (w & 0xff0) : 0);
		if (!(fl & 1) && (a[2] & 1))
			c.prp1 = shadow_addr(z, (unsigned)w << 4);
		/* two ranges within the model's namespace first (context
		 * attributes 0, nlb, slba), where the driver may write */
		uint64_t r[4] = {(uint64_t)((y >> 1) & 0x1f) << 32,
				 (uint64_t)(w & 0x3f), (uint64_t)1 << 32,
				 (uint64_t)(z & 0x3f)};
		if (!(y & 0x80) && !(!(fl & 1) && (a[2] & 1)))
			drv_write(c.prp1, r, sizeof(r));
		build_prps(&c, (uint64_t)(c.cdw10 + 1) * 16, w & 3, w >> 2,
			   y & 0x40);
		break;
	}
	case K_WRITE_ZEROES:
		c.cdw0 = NVME_IO_WRITE_ZEROES;
		c.nsid = (fl & 4) ? 2 : 1;
		c.cdw10 = y;
		c.cdw12 = (fl & 2) ? x : (x & 15);
		c.prp1 = page_addr(z & 3, z >> 2); /* ignored: no data */
		break;
	}
	nvme_sqe_set_cid(&c, cid);
	sq_write(q, &c);
}

static void op_raw(unsigned q, const uint8_t *d)
{
	struct nvme_sqe c;
	memcpy(&c, d, 64);
	c.prp1 = addr(c.prp1);
	c.prp2 = addr(c.prp2);
	c.mptr = c.mptr ? addr(c.mptr) : 0;
	sq_write(q, &c);
}

/* The device is about to post a completion with CID cid on sqid that is
 * not a command's own first one: a copy of the completion of the command
 * mark names (a duplicate, or one kept and posted late), or forged (mark
 * 0). The gate must drop it unless it cannot tell it from the completion
 * of a command it has on the device now or puts there before it reaps
 * the copy; only then does it set dev_lied. It cannot for a forged one
 * in the SQ's current generation, a copy from another incarnation of the
 * SQ (its generation come round) or a kernel CID of the outstanding
 * kernel command; nor for a copy NVME_GATE_USES - 1 or more uses of its
 * tag older than the tag's last command, as the next use's CID may be
 * the copy's (the window of nvme_gate.h). A copy within the window names
 * no command the gate may take it for: check_held judges that (on a
 * gate that gave consecutive commands of a tag one CID, a copy completed
 * the next command early). (On the admin queue a copy once made the gate
 * clear a CQ an SQ was created on, and the drain divided by zero: seed
 * create_cq_copy_divzero.) */
static bool copy_ok(uint16_t sqid, uint16_t cid, uint32_t mark)
{
	unsigned gen = cid >> NVME_GATE_GEN_SHIFT;
	if (sqid >= NVME_VAL_MAX_QID)
		return true; /* names no SQ: the gate drops it */
	if (gen < NVME_GATE_GENS && gen != g.sq_gen[sqid])
		return true; /* stale: the gate drops it */
	if (gen == NVME_GATE_GENS) {
		/* a kernel CID but the outstanding kernel command's names
		 * nothing */
		if (sqid == 0 && nvme_gate_kcmd_pending(&g) &&
		    cid == g.kcmd_cid)
			dev_lied = true;
		return true;
	}
	unsigned t = cid & (NVME_GATE_TAGS - 1);
	if (!mark || sqid >= NQ || MARK_INC(mark) != sq_inc[sqid] ||
	    MARK_USE(tag_last[sqid][t]) + 1 - MARK_USE(mark) >= NVME_GATE_USES)
		dev_lied = true;
	return true;
}

/* ---- pools, reset ------------------------------------------------------ */
static void pool_revoke(unsigned p)
{
	if (!grant_revoke(gt, pool[p].slot, pool[p].gen))
		return; /* pinned: refused, the memory stays the driver's */
	pool[p].state = POOL_FREED;
	/* page_free: nothing may touch it now */
	ASAN_POISON_MEMORY_REGION(arena + (size_t)p * POOL_BYTES, POOL_BYTES);
}

static void pool_grant(unsigned p, bool other)
{
	ASAN_UNPOISON_MEMORY_REGION(arena + (size_t)p * POOL_BYTES, POOL_BYTES);
	pool[p].slot =
	    grant_add(other ? &others : gt, other ? NEIGHBOUR : OWNER,
		      A + (uint64_t)p * POOL_BYTES, POOL_BYTES, &pool[p].gen);
	if (pool[p].slot < 0)
		die("grant table full", p, 0);
	pool[p].state = other ? POOL_OTHER : POOL_LIVE;
	mark_dirty(A + (uint64_t)p * POOL_BYTES, POOL_BYTES);
	memset(arena + (size_t)p * POOL_BYTES, 0, POOL_BYTES);
}

/* nvme_broker_enable: admin queues in the driver's pool, then (maybe) the
 * broker's Identify */
static void enable(unsigned entries_idx, unsigned p, unsigned page, bool wild)
{
	uint16_t entries = qsizes[entries_idx % NQSIZES];
	uint64_t sq_len =
	    ((uint64_t)entries * 64 + PS - 1) & ~(uint64_t)(PS - 1);
	uint64_t asq = ring_addr(p, page, sq_len + (uint64_t)entries * 16);
	uint64_t acq = wild ? A + (uint64_t)(p % NPOOL + 1) * POOL_BYTES - 16
			    : asq + sq_len; /* wild: across the pool's end */
	uint64_t sq_addr, cq_addr;
	before();
	opening = true;
	mapped_unchecked = false;
	int r = nvme_gate_admin_open(&g, asq, acq, entries, &sq_addr, &cq_addr);
	opening = false;
	if (r == 0 && mapped_unchecked)
		die("admin queues accepted outside the owner's grants", asq,
		    acq);
	if (r == 0)
		fake_nvme_admin(f, sq_addr, cq_addr, entries);
	after(0, 0);
}

/* the driver CQ rings the gate held when it dropped its queues: nothing
 * may write them after nvme_gate_drop_all (FNV-1a over their bytes) */
static struct {
	uint64_t a, len;
} old_cq[NVME_VAL_MAX_QID];
static unsigned nold_cq;

static uint64_t old_cq_hash(void)
{
	uint64_t h = 14695981039346656037ull;
	for (unsigned k = 0; k < nold_cq; k++)
		for (uint64_t i = 0; i < old_cq[k].len; i++)
			h = (h ^ ((const uint8_t *)(uintptr_t)old_cq[k].a)[i]) *
			    1099511628211ull;
	return h;
}

/* nvme_broker_reset: the controller stops, the gate forgets every queue
 * (from a stopped gate too: the end of nvme_recover); the driver fails
 * every command still outstanding (nvme_q_fail_all): the ledger is closed,
 * so whatever of them reached the driver afterwards would be a second
 * answer (or an unknown CID). The dropped gate takes no call and writes
 * nothing: no doorbell, no driver CQ of the old generation. */
static void reset(void)
{
	nold_cq = 0;
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++)
		if (g.cq[q].state &&
		    drv_usable(g.cq[q].drv_iova, cq_bytes(q))) {
			old_cq[nold_cq].a = g.cq[q].drv_iova;
			old_cq[nold_cq++].len = cq_bytes(q);
		}
	uint64_t h = old_cq_hash(), rang = f->ndoorbells;
	unsigned failed = 0;
	for (unsigned k = 0; k < nled; k++)
		failed += led[led_used[k]].n;
	TRACE("  drop: the driver fails %u outstanding\n", failed);
	fake_nvme_reset(f);
	nvme_gate_drop_all(&g);
	stopped = false;
	led_clear();
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		dq[q].taint = false;
		dq[q].cq_shadow = 0;
	}
	kbusy = kheld = false;
	/* a late caller of the old generation: every call refused */
	struct nvme_sqe c;
	memset(&c, 0, sizeof(c));
	c.cdw0 = NVME_ADM_IDENTIFY;
	c.prp1 = (uint64_t)(uintptr_t)ident;
	for (uint16_t q = 0; q < NQ; q++)
		if (gate_reap(q) >= 0 || gate_head(q, 0) >= 0 ||
		    gate_ring(q, 0) >= 0)
			die("the dropped gate took a call", q, 0);
	before();
	if (nvme_gate_kcmd_submit(&g, &c) == 0)
		die("the dropped gate took a kernel command", 0, 0);
	after(0, 0);
	if (f->ndoorbells != rang)
		die("doorbell written by the drop", f->ndoorbells - rang, 0);
	if (old_cq_hash() != h)
		die("a driver CQ of the dropped generation written after "
		    "nvme_gate_drop_all",
		    nold_cq, 0);
	check_pins();
}

/* nvme_broker_stop: the controller is stopped, the gate keeps its queues
 * (nvme_gate_stop). Until the drop: no doorbell (env_doorbell), no shadow
 * SQ tail moves, no live SQ's entry taken (after), no ring and no kernel
 * command accepted (gate_ring, kcmd_submit). The device model may still
 * complete what it had fetched, post kept and forged completions, as a
 * hostile device racing the stop would. */
static void stop(void)
{
	if (stopped)
		return;
	nvme_gate_stop(&g);
	stopped = true;
	n_stops++;
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++)
		stop_sh_tail[q] = g.sq[q].sh_tail;
	TRACE("  controller stopped\n");
}

/* what moves in a stopped drain: the gate's CQs and the driver's heads */
static uint64_t drain_sig(void)
{
	uint64_t h = 14695981039346656037ull;
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		uint64_t v = (uint64_t)g.cq[q].state << 48 |
			     (uint64_t)g.cq[q].sh_head << 32 |
			     (uint64_t)g.cq[q].drv_tail << 16 | dq[q].head;
		h = (h ^ v) * 1099511628211ull;
	}
	return h ^ kbusy;
}

/* nvme_recover's drain (drivers/nvme/nvme_q.c + nvme_q_drain_stopped):
 * the gate's reap alternates with the driver consuming its CQ, the I/O
 * queues, then the admin queue, here until nothing moves. Then every
 * completion the device posted into a CQ the gate holds has reached the
 * driver (with the device's status: drv_consume): the shadow CQs are
 * reaped empty and no command whose completion the device posted is still
 * outstanding. Not judged after a device lie, for a CQ the driver cannot
 * read (taint), or when the admin CQ is one (a Delete SQ's owed
 * completions wait on it). */
static void stopped_drain(void)
{
	bool quiet = false;
	for (unsigned round = 0; round < 2 * NVME_GATE_QSIZE_MAX + 64;
	     round++) {
		uint64_t sig = drain_sig();
		for (unsigned k = 1; k <= NVME_VAL_MAX_QID; k++) {
			unsigned q = k % NVME_VAL_MAX_QID;
			if (!g.cq[q].state)
				continue;
			gate_reap((uint16_t)q);
			drv_consume_and_head(q);
		}
		if (kbusy)
			gate_kpoll();
		if (drain_sig() == sig) {
			quiet = true;
			break;
		}
	}
	if (!quiet || dev_lied || led_full || dq[0].taint)
		return;
	n_judged++;
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		const struct nvme_gate_cq *cq = &g.cq[q];
		const volatile struct nvme_cqe *shq = cq->shadow.va;
		if ((cq->state == NVME_GQ_LIVE ||
		     cq->state == NVME_GQ_DELETING) &&
		    !dq[q].taint && shq &&
		    (shq[cq->sh_head].status & NVME_CQE_P_MASK) == cq->sh_phase)
			die("the stopped gate left a posted completion in a "
			    "shadow CQ",
			    q, cq->sh_head);
	}
	for (unsigned k = 0; k < nled; k++) {
		uint32_t key = led[led_used[k]].key - 1;
		unsigned cq = key >> 16 & 63;
		if (led[led_used[k]].n && led[led_used[k]].posted == 1 &&
		    (g.cq[cq].state == NVME_GQ_LIVE ||
		     g.cq[cq].state == NVME_GQ_DELETING) &&
		    !dq[cq].taint)
			die("a completion the device posted before the reset "
			    "never reached the driver (sq<<16|cid, cq)",
			    (uint64_t)(key >> 22) << 16 | (key & 0xffff), cq);
	}
}

/* drivers/nvme/nvme.c + nvme_recover: stop, deliver what the device
 * posted (unless fatal: CSTS.CFS, or the owner faulted), drop, and the
 * driver fails the rest */
static void recover(bool fatal)
{
	TRACE("  recover%s\n", fatal ? " (fatal: nothing delivered)" : "");
	stop();
	if (!fatal)
		stopped_drain();
	reset();
}

/* does the device hold a completion of kernel CID cid, or a fetched
 * command it would answer with it? */
static bool dev_holds_kcid(uint16_t cid)
{
	for (unsigned k = 0; k < f->nghost; k++)
		if (f->ghost[k].sqid == 0 && f->ghost[k].cid == cid)
			return true;
	for (unsigned k = 0; k < f->ninfl; k++)
		if (f->infl[k].sqid == 0 && nvme_sqe_cid(&f->infl[k].c) == cid)
			return true;
	return false;
}

/* nvme_broker.c + broker_kcmd's submission */
static void kcmd_submit(uint8_t cns, uint8_t nsid)
{
	if (kbusy)
		return;
	/* the answer to one given up on may be in the shadow CQ already */
	if (nvme_gate_kcmd_pending(&g))
		gate_reap(0);
	struct nvme_sqe c;
	memset(&c, 0, sizeof(c));
	c.cdw0 = NVME_ADM_IDENTIFY;
	c.cdw10 = cns & 3;
	c.nsid = nsid & 3;
	c.prp1 = (uint64_t)(uintptr_t)ident;
	before();
	int r = nvme_gate_kcmd_submit(&g, &c);
	after(0, 0);
	if (r == 0 && stopped)
		die("the stopped gate took a kernel command", cns, nsid);
	/* the driver's admin commands leave the kernel's one a shadow SQ
	 * slot and an admin CQ slot (gate_kcmd_keep): whatever the driver
	 * keeps outstanding, a device that reports its SQ head as it is
	 * never sees the kernel's command refused — unless one given up on
	 * holds the slot, unanswered */
	if (r != 0 && !stopped && !dev_extra && !dev_lied &&
	    g.sq[0].state == NVME_GQ_LIVE &&
	    !(kheld && nvme_gate_kcmd_pending(&g)))
		die("a kernel command found no slot on the live admin queue",
		    g.sq[0].sh_tail, g.cq[0].inflight);
	if (r != 0)
		return;
	/* the CID the device sees: never one whose earlier command's
	 * completion the device may still post, while the gate has other
	 * CIDs to give (NVME_GATE_KCIDS in turn) */
	const struct nvme_gate_sq *sq = &g.sq[0];
	kcid = nvme_sqe_cid(
	    &((const struct nvme_sqe *)
		  sq->shadow.va)[(sq->sh_tail + sq->size - 1) % sq->size]);
	if (kcid < NVME_GATE_KCID_BASE ||
	    kcid >= NVME_GATE_KCID_BASE + NVME_GATE_KCIDS)
		die("a kernel command's CID is outside the kernel's range",
		    kcid, NVME_GATE_KCIDS);
	unsigned last = kcid_serial[kcid - NVME_GATE_KCID_BASE];
	if (last && kserial + 1 - last < NVME_GATE_KCIDS &&
	    dev_holds_kcid(kcid))
		die("a kernel command has the CID of an earlier one the device "
		    "may still answer",
		    kcid, kserial + 1 - last);
	kcid_serial[kcid - NVME_GATE_KCID_BASE] = ++kserial;
	kbusy = true;
	kheld = kown = false;
}

static void report(void)
{
	fprintf(stderr,
		"fuzz_gate_seq: %lu IOMMU faults blocked in %lu hw_confined "
		"inputs; %lu stops, %lu stopped drains judged, %lu completions "
		"read from a stopped gate\n",
		iommu_faults, confined_inputs, n_stops, n_judged, n_stop_read);
}

static void init(void)
{
	if (arena)
		return;
	atexit(report);
	shim_quiet = 1;
	trace = getenv("GATE_SEQ_TRACE") != 0;
	f = calloc(1, sizeof(*f));
	f->trace = trace;
	arena = aligned_alloc(PS, ARENA);
	ident = aligned_alloc(PS, PS);
	sh_arena = aligned_alloc(PS, SHADOW_ARENA);
	ASAN_POISON_MEMORY_REGION(sh_arena, SHADOW_ARENA);
	memset(arena, 0, ARENA);
	A = (uint64_t)(uintptr_t)arena;
	fake_nvme_init(f);
	f->trace = trace;
	f->touch = touch;
	f->posted = dev_posted;
	f->fetch_mark = fetch_mark;
	env.ctx = f;
	env.doorbell = env_doorbell;
	env.shadow_alloc = env_shadow_alloc;
	env.shadow_free = env_shadow_free;
	env.drv_va = env_drv_va;
	env.interrupt = env_interrupt;
	val_policy(&pol, gt, OWNER);
	pol.acct = &own;
	pol.qid_max = NQ - 1;
	pol.qsize_max = NVME_GATE_QSIZE_MAX;
}

static void begin(const uint8_t *hdr)
{
	init();
	/* the last input's shadows (finish checked that the gate held each) */
	nsh = 0;
	ASAN_POISON_MEMORY_REGION(sh_arena, sh_used);
	sh_used = 0;
	ASAN_UNPOISON_MEMORY_REGION(arena, ARENA);
	for (unsigned pg = 0; pg < ARENA / PS; pg++)
		if (dirty[pg]) {
			memset(arena + (size_t)pg * PS, 0, PS);
			dirty[pg] = 0;
		}
	dma_owner_init(&own);
	withhold_every = (hdr[0] >> 4) & 3;
	n_free = 0;
	withheld_bytes = 0;
	memset(&others, 0, sizeof(others));
	for (unsigned p = 0; p < NPOOL; p++) {
		pool[p].slot =
		    grant_add(gt, OWNER, A + (uint64_t)p * POOL_BYTES,
			      POOL_BYTES, &pool[p].gen);
		pool[p].state = POOL_LIVE;
	}
	grant_add(&others, NEIGHBOUR, A + (uint64_t)NPOOL * POOL_BYTES,
		  POOL_BYTES, NULL);
	pol.hint = 0;
	confined = pol.hw_confined = hdr[1] & 0x20;
	confined_inputs += confined;
	if (nvme_gate_init(&g, &env, &pol))
		die("gate init", 0, 0);
	fake_nvme_reset(f);
	/* nothing of the last input survives: a Read of what it wrote could
	 * land in a ring and change what this one runs */
	if (f->disk_written)
		memset(f->disk, 0, sizeof(f->disk));
	f->disk_written = false;
	f->touch_veto = false;
	f->nghost = 0;
	f->nlog = 0;
	f->del_mode = hdr[1] & 3;
	pol.all_ns = hdr[1] & 0x40; /* one namespace, so all granted */
	memset(dq, 0, sizeof(dq));
	memset(sq_ring, 0, sizeof(sq_ring));
	memset(tag_last, 0, sizeof(tag_last));
	memset(tag_uses, 0, sizeof(tag_uses));
	led_clear();
	kbusy = kheld = dev_lied = dev_extra = stopped = false;
	kserial = 0;
	memset(kcid_serial, 0, sizeof(kcid_serial));
	enable(hdr[0] & 15, 0, 0, false);
	if (hdr[1] & 0x80)
		kcmd_submit(NVME_CNS_CTRL, 0);
}

/* the device and the driver run until nothing moves; then the ledger
 * must be closed */
static void finish(void)
{
	TRACE("finish: drain\n");
	if (stopped) /* the driver finishes its recovery */
		recover(false);
	/* a 2-entry CQ under a 4096-entry SQ moves one entry per round */
	bool quiet = false;
	for (unsigned round = 0; round < NVME_GATE_QSIZE_MAX + 64; round++) {
		uint64_t rang = f->ndoorbells;
		unsigned moved = fake_nvme_drain(f);
		for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
			if (!g.cq[q].state)
				continue;
			int r = gate_reap((uint16_t)q);
			if (r > 0)
				moved += (unsigned)r;
			uint16_t h = dq[q].head;
			drv_consume_and_head(q);
			moved += h != dq[q].head;
		}
		if (kbusy)
			gate_kpoll();
		if (!moved && rang == f->ndoorbells) {
			quiet = true;
			break;
		}
	}
	if (!quiet) /* still moving at the cap: not judged */
		return;
	/* stale counts completions of deleted SQs still in a shadow CQ: once
	 * the shadow is reaped empty there are none (an overcount would hold
	 * CQ slots for good) */
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++) {
		const struct nvme_gate_cq *cq = &g.cq[q];
		const volatile struct nvme_cqe *shq = cq->shadow.va;
		if (cq->state && shq && cq->stale &&
		    (shq[cq->sh_head].status & NVME_CQE_P_MASK) != cq->sh_phase)
			die("stale completions counted in an empty shadow CQ",
			    q, cq->stale);
	}
	/* a device that copied a completion may have released a command it
	 * then dropped or failed (a Delete SQ "failed" by a copy and then
	 * executed): it broke the protocol, completeness is not the gate's */
	if (led_full || dev_lied)
		return;
	/* an admin CQ the driver cannot read stays full: Delete SQ and the
	 * rest of the admin queue never complete, on whatever CQ they owe */
	if (dq[0].taint)
		return;

	bool tainted = false;
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++)
		tainted |= dq[q].taint;
	if (!tainted && f->ninfl)
		die("device still holds commands after the drain", f->ninfl, 0);
	for (unsigned k = 0; k < nled; k++)
		if (led[led_used[k]].n &&
		    !dq[(led[led_used[k]].key - 1) >> 16 & 63].taint) {
			uint32_t key = led[led_used[k]].key - 1;
			die("command never completed toward the driver "
			    "(sq<<16|cid, cq)",
			    (uint64_t)(key >> 22) << 16 | (key & 0xffff),
			    key >> 16 & 63);
		}
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++)
		if (g.sq[q].state == NVME_GQ_LIVE && !dq[g.sq[q].cqid].taint &&
		    g.sq[q].drv_head != g.sq[q].drv_tail)
			die("entries the driver rang were never taken", q,
			    (uint64_t)g.sq[q].drv_head << 16 |
				g.sq[q].drv_tail);
}

/* every shadow still allocated belongs to a queue the gate holds */
static void check_leaks(void)
{
	unsigned held = 0;
	for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++)
		held += (g.sq[q].shadow.len != 0) + (g.sq[q].lists.len != 0) +
			(g.cq[q].shadow.len != 0);
	if (held != nsh)
		die("shadows allocated but held by no queue", nsh, held);
	uint64_t bytes = 0;
	for (unsigned i = 0; i < nsh; i++) {
		bytes += sh[i].len;
		bool cq = false;
		for (unsigned q = 0; q < NVME_VAL_MAX_QID; q++)
			cq |= g.cq[q].shadow.len &&
			      g.cq[q].shadow.iova == sh[i].a;
		if (sh[i].dev_writes != cq)
			die(cq ? "a shadow CQ the device may not write"
			       : "a shadow SQ or PRP list the device may write",
			    sh[i].a, sh[i].len);
	}
	/* and what the env withheld stays charged */
	bytes += withheld_bytes;
	if (own.use[DMA_CHARGE_SHADOW] != bytes)
		die("shadow memory charged to the owner differs from what it "
		    "holds and what was withheld",
		    own.use[DMA_CHARGE_SHADOW], bytes);
}

/* operation byte -> operation: the common ones take more of the 32 codes
 * (codes 0..15 name the operations in order; 16..29 repeat common ones;
 * 30 is the driver's recovery, 31 the controller's stop) */
static const uint8_t optab[32] = {0,  1,  2,  3,  4,  5, 6, 7, 8,  9, 10,
				  11, 12, 13, 14, 15, 0, 0, 0, 2,  2, 3,
				  4,  4,  6,  6,  7,  7, 0, 2, 17, 16};

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 2)
		return 0;
	begin(d);
	size_t i = 2;
	for (unsigned steps = 0; i + 8 <= n && steps < MAXOPS; steps++) {
		const uint8_t *a = d + i + 1;
		uint8_t op = optab[d[i] & 31];
		TRACE("op %u: %u %u %u %u %u %u %u\n", op, d[i + 1], d[i + 2],
		      d[i + 3], d[i + 4], d[i + 5], d[i + 6], d[i + 7]);
		i += 8;
		unsigned q = a[0] & 7;
		switch (op) {
		case 0:
			op_cmd(a);
			break;
		case 1: /* a raw entry */
			if (i + 64 > n)
				goto out;
			op_raw(q, d + i);
			i += 64;
			break;
		case 2: { /* ring: the driver's tail, or any */
			uint16_t t = (a[0] & 0x40)
					 ? (uint16_t)(a[1] | a[2] << 8)
					 : dq[q].tail;
			gate_ring((a[0] & 0x80) ? a[3] : (uint16_t)q, t);
			break;
		}
		case 3: /* the device fetches */
			fake_nvme_fetch(f, (uint16_t)q, a[1] & 7);
			break;
		case 4: { /* the device completes one, in any order */
			unsigned how = a[1] & 3;
			uint16_t st =
			    how == 1 ? (uint16_t)(a[2] << 1 | (a[3] & 7) << 9)
				     : 0;
			if (f->ninfl && how >= 2 &&
			    !copy_ok(f->infl[a[0] % f->ninfl].sqid,
				     nvme_sqe_cid(&f->infl[a[0] % f->ninfl].c),
				     f->infl[a[0] % f->ninfl].mark))
				how = 0;
			dev_extra |= how == 2;
			fake_nvme_complete(f, a[0], st, how == 2, how == 3);
			break;
		}
		case 5: /* a kept completion, late; or a forged one */
			copying = true;
			if (a[1] & 1) {
				if (f->nghost &&
				    copy_ok(f->ghost[a[0] % f->nghost].sqid,
					    f->ghost[a[0] % f->nghost].cid,
					    f->ghost[a[0] % f->nghost].mark))
					dev_extra |= fake_nvme_ghost(f, a[0]);
			} else {
				uint16_t sqid = a[3] & 63,
					 cid = (uint16_t)(a[4] | a[5] << 8);
				/* bit 6: an SQ id past the gate's table, the
				 * first (a bound one off reads past g.sq[])
				 * or the last */
				if (a[3] & 0x40)
					sqid = (a[3] & 0x80) ? 0xffff
							     : NVME_VAL_MAX_QID;
				if (copy_ok(sqid, cid, 0))
					dev_extra |= fake_nvme_forge(
					    f, a[2] & 7, sqid, cid,
					    (uint16_t)(a[6] << 1));
			}
			copying = false;
			break;
		case 6:
			gate_reap((a[0] & 0x80) ? a[1] : (uint16_t)q);
			break;
		case 7:
			drv_consume_and_head(q);
			break;
		case 8: { /* the driver lies about its head */
			uint16_t t = (a[0] & 0x80) ? a[3] : (uint16_t)q;
			if (t < NVME_VAL_MAX_QID && g.cq[t].state)
				dq[t].taint = true;
			gate_head(t, (uint16_t)(a[1] | a[2] << 8));
			break;
		}
		case 9: { /* revoke a pool, or grant it again */
			unsigned p = a[0] % NPOOL;
			if (pool[p].state == POOL_LIVE)
				pool_revoke(p);
			else if (pool[p].state == POOL_FREED)
				pool_grant(p, a[1] & 1);
			check_pins();
			break;
		}
		case 10: /* controller reset, enable again */
			reset();
			enable(a[0], a[1], a[2], a[3] & 2);
			if (a[3] & 1)
				kcmd_submit(NVME_CNS_CTRL, 0);
			break;
		case 11:
			kcmd_submit(a[0], a[1]);
			break;
		case 12: /* poll, or the broker's timeout */
			if (a[0] & 0x80)
				kgive_up();
			else
				gate_kpoll();
			break;
		case 13: { /* driver data: PRP entries at a page of a pool
			    * (or of the interrupt window) */
			uint64_t e[8];
			for (unsigned k = 0; k < 8; k++) {
				unsigned pg = a[4] + k * a[5];
				e[k] = (a[6] & 4) ? shadow_addr(pg, a[3] * PS)
				       : (a[6] & 2)
					   ? MSI_LO + (uint64_t)(pg & 0xff) * PS
					   : page_addr(a[3] & 3, pg);
				e[k] += (a[6] & 1) ? 8 : 0;
			}
			drv_write(page_addr(a[0] & 3, a[1]) +
				      (uint64_t)(a[2] & 0x1f8),
				  e, 64);
			break;
		}
		case 14:
			f->del_mode = a[0] & 3;
			break;
		case 15: /* the device runs everything it can */
			fake_nvme_drain(f);
			break;
		case 16: /* the controller stops (the first half of a reset) */
			stop();
			break;
		case 17: /* the driver's recovery, then enable again */
			recover(a[0] & 1);
			enable(a[1], a[2], a[3], a[4] & 2);
			if (a[4] & 1)
				kcmd_submit(NVME_CNS_CTRL, 0);
			break;
		}
		check_outstanding();
		check_held();
	}
out:
	finish();
	check_leaks();
	return 0;
}

#pragma clang attribute pop
