/* dma/nvme_gate.h — the NVMe doorbell gate: on-notify validation and shadow
 * queues (pure C: kernel and host). CONTRACT between dma/ (implements it) and
 * drivers/nvme (uses it through kernel/authority/nvme_broker.h).
 *
 * Model. The driver owns ordinary SQ/CQ rings in its DMA pool and writes
 * commands there as NVMe says. The controller never sees those rings: it is
 * pointed at kernel-owned shadow rings. When the driver moves an SQ tail
 * (nvme_gate_sq_ring), the gate validates each new entry (nvme_validate.h),
 * copies accepted ones — and their PRP lists — into the shadow SQ / shadow
 * PRP pages, rewrites the copy's PRP2 to the shadow list, and only then
 * writes the device doorbell. A rejected entry is not copied: the gate posts
 * an error completion (status NVME_GATE_SC_REJECTED, the reason in DW0) into
 * the driver's CQ. Device completions land in the shadow CQ; the gate copies
 * them into the driver's CQ with the driver's phase and the driver-view SQ
 * head (nvme_gate_cq_reap). So what the driver writes after ringing changes
 * nothing (TOCTOU), and nothing it submits is silently lost.
 *
 * Bounded: one ring call validates at most one queue's depth of entries, and
 * each entry at most MDTS/page-size PRP entries. */
#ifndef CAPOS_NVME_GATE_H
#define CAPOS_NVME_GATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dma/buf.h"
#include "dma/grant.h"
#include "dma/nvme_reg.h"
#include "dma/nvme_validate.h"
#include "dma/owner.h"

/* capOS status for a rejected command: SCT 7 (vendor specific), SC 0xC0.
 * DW0 of the error completion carries the enum nvme_verdict reason. */
#define NVME_GATE_SCT_CAPOS   7
#define NVME_GATE_SC_REJECTED 0xC0

/* how the gate reaches the controller and kernel memory */
struct nvme_gate_env {
	void *ctx;
	/* write doorbell `index` (2*qid: SQ tail, 2*qid+1: CQ head) */
	void (*doorbell)(void *ctx, uint32_t index, uint32_t value);
	/* kernel-owned, device-visible, zeroed, page-aligned memory; the
	 * device may write it only when dev_writes (a shadow CQ): shadow SQs
	 * and PRP lists are mapped read-only for it under an IOMMU */
	int (*shadow_alloc)(void *ctx, size_t len, bool dev_writes,
			    struct dma_buf *out);
	/* 0: given back. -1: withheld (the IOMMU did not confirm the unmap,
	 * so the device may still reach it: its pages never return), and
	 * the owner stays charged for it */
	int (*shadow_free)(void *ctx, struct dma_buf *b);
	/* CPU view of a device address range the grant check has accepted */
	void *(*drv_va)(void *ctx, uint64_t iova, size_t len);
	/* may be NULL: deliver the driver's interrupt `iv` (the MSI-X entry a
	 * CQ was created with) as the device would. Called once per CQ at
	 * the end of a gate call that posted completions of its own there
	 * (rejections, a drain's), which no device interrupt announces;
	 * never for a CQ created with interrupts disabled (IEN 0) */
	void (*interrupt)(void *ctx, uint16_t iv);
};

/* ---- gate state (fields are private to dma/nvme_gate.c) ----------------- */
/* Outstanding commands per SQ: NVME_GATE_TAGS, and never more than the SQ's
 * size - 1, nor more than its CQ can hold (size - 1 over every SQ posting
 * there): the device's queues can never overfill. */
#define NVME_GATE_TAGS 64
/* The CID the device sees: the SQ's generation, the tag's use and the
 * tag, high bits to low. Deleting or resetting an SQ moves its generation
 * on, so a completion still in flight from before can never match a
 * command issued after. Each new command on a tag moves the tag's use on
 * (modulo NVME_GATE_USES), so a completion the device posts again (a
 * duplicate, or a kept copy posted late) after the tag went to the next
 * command does not name that command: it is dropped (dev_bad_cqe) and the
 * command keeps its pins until its own completion. A copy matches again
 * only once the tag has served NVME_GATE_USES more commands of that SQ
 * (t_dup_after_tag_reuse); tags are taken round-robin (t_tag_round_robin),
 * so on an SQ with free tags that is as many rounds of them. Generations run
 * 0..NVME_GATE_GENS-1, which keeps every driver command's device CID below
 * NVME_GATE_KCID_BASE. */
#define NVME_GATE_TAG_BITS  6
#define NVME_GATE_USE_BITS  4
#define NVME_GATE_USES	    (1u << NVME_GATE_USE_BITS)
#define NVME_GATE_GEN_SHIFT (NVME_GATE_TAG_BITS + NVME_GATE_USE_BITS)
#define NVME_GATE_GENS	    63u
_Static_assert(NVME_GATE_TAGS == 1 << NVME_GATE_TAG_BITS, "tag field width");
_Static_assert(NVME_GATE_GENS == (1u << (16 - NVME_GATE_GEN_SHIFT)) - 1,
	       "the generation field's last value is the kernel's");
/* CIDs of the kernel's own admin commands (nvme_gate_kcmd_submit): the
 * generation past the driver's, NVME_GATE_KCIDS of them taken in turn, so
 * the completion of an earlier kernel command (one given up on and posted
 * after a reset, or a copy) is never a later one's answer until
 * NVME_GATE_KCIDS kernel commands have gone by */
#define NVME_GATE_KCID_BASE                                                    \
	((uint16_t)(NVME_GATE_GENS << NVME_GATE_GEN_SHIFT |                    \
		    (NVME_GATE_USES - 1) << NVME_GATE_TAG_BITS))
/* FFFFh is left out: the Error Information log page uses it for "no
 * particular command", and the spec asks that no command carry it */
#define NVME_GATE_KCIDS (NVME_GATE_TAGS - 1)
_Static_assert(NVME_GATE_KCID_BASE + NVME_GATE_KCIDS - 1 < 0xffff,
	       "kernel CIDs stop below FFFFh");
/* the CID an Abort of a command the driver does not have outstanding is
 * sent with: FFFFh, which no command the gate or the kernel issues carries
 * (the driver's are below NVME_GATE_KCID_BASE, the kernel's stop at FFFEh),
 * so the device aborts nothing — never the kernel's own command */
#define NVME_GATE_CID_NONE 0xffffu
_Static_assert(NVME_GATE_CID_NONE > NVME_GATE_KCID_BASE + NVME_GATE_KCIDS - 1,
	       "an Abort that names nothing names no kernel command");
#define NVME_GATE_QSIZE_MAX 4096u
/* the smallest admin queue the gate takes: the driver's commands leave one
 * slot free for the kernel's own (nvme_gate_kcmd_submit) */
#define NVME_GATE_ADMIN_MIN 3u

/* one outstanding command, on the device under dev_cid */
struct nvme_gate_tag {
	uint16_t drv_cid;
	uint16_t dev_cid; /* generation, use, tag (NVME_GATE_GEN_SHIFT) */
	uint8_t uses;	  /* the next command's use, 0..NVME_GATE_USES-1 */
	uint8_t busy;
	uint8_t opc;  /* admin opcode, to act on queue create/delete results */
	uint16_t arg; /* qid a create/delete names */
	/* a deleted SQ's command whose completion the device posted before
	 * the deletion's (unreaped in the shadow CQ): that status field, bit
	 * 0 (the phase bit's place) set; 0: none. With dev_dw0/dev_dw1 it
	 * is the driver's answer (gate_sq_drain) */
	uint16_t dev_status;
	uint64_t pins; /* grant slots pinned for it (nvme_val_result.grants) */
	uint32_t dev_dw0, dev_dw1;
};

/* The grant holding a driver's queue ring, pinned while the queue exists
 * (grant_pin): the pool cannot be revoked (AUTH_BUSY) under a ring the
 * gate still reads or writes. */
struct nvme_gate_ring {
	bool pinned;
	uint8_t slot;
	uint32_t gen;
};

struct nvme_gate_sq {
	uint8_t state; /* NVME_GQ_FREE / _PENDING / _LIVE / _DELETING / ... */
	uint16_t qid, cqid;
	uint16_t size;	      /* entries */
	struct nvme_sqe *drv; /* CPU view of the driver's ring */
	uint64_t drv_iova;
	struct nvme_gate_ring ring;
	uint16_t drv_tail;     /* last tail the driver rang */
	uint16_t drv_head;     /* next driver entry to validate */
	struct dma_buf shadow; /* device-visible SQ (kernel memory) */
	uint16_t sh_tail;      /* next shadow slot to fill */
	uint16_t sh_head;      /* device head, from the CQEs' SQHD */
	struct dma_buf lists;  /* ntags shadow PRP list pages */
	uint16_t ntags;	       /* MIN(NVME_GATE_TAGS, size - 1) */
	uint16_t nbusy;
	uint16_t next_tag; /* where the next tag search starts */
	struct nvme_gate_tag tag[NVME_GATE_TAGS];
};

struct nvme_gate_cq {
	uint8_t state;
	bool ien;    /* interrupts enabled (the admin CQ always: vector 0) */
	uint16_t iv; /* its interrupt vector (Create I/O CQ CDW11.IV) */
	uint16_t qid, size;
	struct nvme_cqe *drv; /* CPU view of the driver's ring */
	uint64_t drv_iova;
	struct nvme_gate_ring ring;
	uint16_t inflight;     /* commands on the device that complete here */
	uint16_t stale;	       /* unreaped shadow entries no command counted
				* in inflight answers (a deleted SQ's, bad
				* ones, copies): they hold slots too */
	uint16_t drv_tail;     /* next driver slot the gate fills */
	uint8_t drv_phase;     /* phase the gate writes there */
	uint16_t drv_head;     /* driver's consumer index (cq_head) */
	struct dma_buf shadow; /* device-visible CQ */
	uint16_t sh_head;
	uint8_t sh_phase; /* phase expected from the device */
	/* consumed shadow entries the device has not been told of (its CQ
	 * head doorbell is coalesced): inflight + sh_unrung stays below size,
	 * so the device never sees its CQ full */
	uint16_t sh_unrung;
};
_Static_assert(NVME_VAL_MAX_QID <= 64, "nvme_gate.made holds a bit per CQ");
#define NVME_GQ_FREE	 0
#define NVME_GQ_PENDING	 1 /* create accepted, completion not seen */
#define NVME_GQ_LIVE	 2
#define NVME_GQ_DELETING 3
/* deleted on the device; "aborted, SQ deleted" completions are still owed
 * to the driver (its CQ was full): delivered as room frees, then FREE */
#define NVME_GQ_DRAINING 4

struct nvme_gate {
	struct nvme_gate_env env;
	struct nvme_val_policy *pol;
	struct grant_table *pin_table; /* pol->grants, for grant_pin */
	struct nvme_val_stats stats;
	uint64_t dev_bad_cqe;	/* device completions that named nothing */
	bool said_bad_cqe;	/* the one line about them was printed */
	uint64_t dev_stale_cqe; /* completions from an SQ's earlier life */
	uint64_t dev_bad_sqhd;	/* SQ heads not taken (before the last, past
				 * the tail, or in a CQE that named nothing) */
	uint64_t dev_status_rewritten; /* the gate's rejection code posted by
					* the device: made Internal Error */
	uint64_t ring_dead; /* CQ posts refused: ring grant not live (never
			     * expected: rings are pinned) */
	uint16_t sq_gen[NVME_VAL_MAX_QID]; /* survives gate_sq_clear */
	uint64_t stalls; /* ring calls that left entries for later */
	/* one past the highest SQ id ever set up: the bound of the scans for
	 * pending work, which run on every reap */
	uint16_t qid_hi;
	/* CQs (bit qid) the gate posted its own completions into during the
	 * current call: their interrupt is delivered at its end */
	uint64_t made;
	/* the controller is stopped (nvme_gate_stop): what it posted before
	 * is still reaped, nothing reaches it any more */
	bool stopped;
	bool kcmd_busy, kcmd_done;
	uint16_t kcmd_cid; /* the outstanding kernel command's CID */
	uint16_t kcmd_seq; /* the next kernel CID's index (survives drop_all) */
	struct nvme_cqe kcmd_cqe;
	/* admin shadow CQ slots (bit h) whose kernel completion was taken
	 * from behind a driver completion waiting for room in the driver's
	 * admin CQ: passed over when the reap reaches them (gate_kcmd_ahead).
	 * One per kernel command, so several while the driver leaves its CQ
	 * full */
	uint64_t kcmd_early[NVME_GATE_QSIZE_MAX / 64];
	struct nvme_gate_sq sq[NVME_VAL_MAX_QID];
	struct nvme_gate_cq cq[NVME_VAL_MAX_QID];
};

/* ---- gate functions ---------------------------------------------------- */
/* bind the gate to env and policy (policy->cq_live etc. are maintained by the
 * gate from now on). No memory is allocated. 0 or -1. Shadow memory is
 * charged to policy->acct (DMA_CHARGE_SHADOW) when it is set, until env's
 * shadow_free gives it back (a shadow it withholds stays charged).
 * Every grant an accepted command names is pinned (grant_pin) until its
 * completion is reaped, its SQ is deleted or the gate drops all queues, so
 * memory the device may still use cannot be revoked (grant_revoke fails).
 * The grant holding each queue ring is pinned while the queue exists. */
int nvme_gate_init(struct nvme_gate *g, const struct nvme_gate_env *env,
		   struct nvme_val_policy *pol);
/* the admin queue pair: the driver's rings (entries each,
 * NVME_GATE_ADMIN_MIN..4096) must lie in the owner's grants; shadow rings
 * are allocated and their device addresses returned for ASQ/ACQ. 0 or -1. */
int nvme_gate_admin_open(struct nvme_gate *g, uint64_t drv_sq_iova,
			 uint64_t drv_cq_iova, uint16_t entries, uint64_t *asq,
			 uint64_t *acq);
/* The doorbell gate: the driver moved SQ qid's tail to `tail`. Validates
 * and shadows new entries (at most one queue depth), posts error completions
 * for rejected ones, then rings the device. Entries that cannot be taken now
 * (shadow SQ, driver CQ or tags full) stay pending and are taken by a later
 * ring or reap. Returns entries consumed (>= 0) or -1 with the reason
 * counted (DOORBELL_OUT_OF_RANGE, QUEUE_NOT_OWNED). */
int nvme_gate_sq_ring(struct nvme_gate *g, uint16_t qid, uint16_t tail);
/* Move device completions of CQ qid into the driver's CQ (translated CID,
 * driver-view SQHD, the driver ring's phase) while it has room, in the
 * device's order; one that needs no driver slot (the kernel's command's,
 * a stale or bad one) is taken at the head even when the driver's CQ is
 * full. Rings the device CQ head. Returns completions delivered, or -1
 * for an unknown CQ. */
int nvme_gate_cq_reap(struct nvme_gate *g, uint16_t qid);
/* the driver consumed its CQ up to `head` (exclusive). 0 or -1. */
int nvme_gate_cq_head(struct nvme_gate *g, uint16_t qid, uint16_t head);
/* the kernel's own admin command (the broker's Get Features, its bench
 * queues): put cmd (CID replaced by the next of the NVME_GATE_KCIDS from
 * NVME_GATE_KCID_BASE) on the shadow admin SQ. One at a time; while none
 * is outstanding the driver's admin commands leave one shadow SQ slot and
 * one admin CQ slot free, so whatever the driver keeps outstanding
 * (Asynchronous Event Requests stay on the device until an event) the
 * kernel's command finds room. 0, or -1 (stopped, no admin queue, one
 * outstanding already, or a device that reported no SQ head progress).
 * An answer not polled for (the caller gave up waiting) is forgotten
 * here: a command never gets an earlier one's answer. */
int nvme_gate_kcmd_submit(struct nvme_gate *g, const struct nvme_sqe *cmd);
/* poll for its completion: true once *out holds it */
bool nvme_gate_kcmd_poll(struct nvme_gate *g, struct nvme_cqe *out);
/* a kernel command is on the device, its completion not reaped: also one
 * whose caller gave up waiting. Its admin SQ and CQ slots stay held (the
 * device may still answer into them) and nvme_gate_kcmd_submit refuses,
 * until the completion is reaped (any nvme_gate_cq_reap of CQ 0) or
 * nvme_gate_drop_all (a controller reset) */
bool nvme_gate_kcmd_pending(const struct nvme_gate *g);
/* the controller has stopped (CC.EN=0 and CSTS.RDY=0, bus mastering off):
 * it posts nothing more. Until nvme_gate_drop_all the gate keeps its queues
 * so what the device posted before the stop is still delivered:
 * nvme_gate_cq_reap copies the shadow CQs into the driver's CQs (in order,
 * as room frees: nvme_gate_cq_head) and nvme_gate_cq_head still takes the
 * driver's head, but the gate writes no doorbell, takes no new entry from
 * an SQ (nvme_gate_sq_ring and nvme_gate_kcmd_submit refuse) and deleted
 * SQs' owed completions are still posted. */
void nvme_gate_stop(struct nvme_gate *g);
/* The I/O queues the device holds for the driver, as far as the gate
 * knows: bit qid of *sqs for each SQ it saw created and has not seen a
 * Delete I/O SQ for (live); of *cqs for each live CQ that no SQ whose
 * create or delete is still unanswered posts to (the device may hold that
 * SQ, and refuses to delete a CQ an SQ uses). None once the gate is
 * stopped (nvme_gate_stop). Read only: the broker's halt deletes these
 * itself (kernel/authority/nvme_broker.c) and the gate is not told. */
void nvme_gate_live_ioqs(const struct nvme_gate *g, uint64_t *sqs,
			 uint64_t *cqs);
/* forget every queue and free the shadows (after a controller reset: the
 * device no longer uses them). Outstanding commands are not completed
 * toward the driver: the reset reports them (the driver fails them). What
 * the device posted and the gate did not reap is dropped with the shadows:
 * a reset that delivers it calls nvme_gate_stop and reaps first. */
void nvme_gate_drop_all(struct nvme_gate *g);
/* one JSON object: verdict counts by reason and queue state */
struct json;
void nvme_gate_json(const struct nvme_gate *g, struct json *j);
/* kernel memory the gate holds for queue pair qid (shadow SQ, its PRP
 * list pages, shadow CQ); 0 for a queue it does not have */
size_t nvme_gate_shadow_bytes(const struct nvme_gate *g, uint16_t qid);
/* print the queues and counters (kprintf) */
void nvme_gate_dump(const struct nvme_gate *g);
#endif
