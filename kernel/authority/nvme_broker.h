/* kernel/authority/nvme_broker.h — brokered NVMe bring-up and the doorbell
 * gate, as the NVMe driver sees them.
 *
 * The driver never maps the controller's registers for writing and never
 * touches the doorbell page. It asks the broker to reset and enable the
 * controller (the broker checks the admin queue memory against the driver's
 * grants and points the controller at kernel shadow rings), reads CAP / VS /
 * CSTS through getters, and moves queue tails and heads only through the
 * gate calls below, which run the validator (dma/nvme_validate.h) first.
 *
 * Usage, in order:
 *   nvme_broker_open(d, owner, &b)        reset (firmware leaves queues),
 *                                         the broker's own Identify
 *                                         (identity before memory)
 *   nvme_broker_ident(b, owner),          what the controller is, and the
 *   _ns(b, owner, i)                      namespaces the owner is granted
 *   nvme_broker_enable(b, owner, &asq, &acq, n)  admin queues, CC.EN=1
 *   ... write SQEs in the driver's own rings as NVMe says ...
 *   nvme_broker_sq_ring(b, owner, qid, tail)  instead of the SQ tail doorbell
 *   nvme_broker_cq_reap(b, owner, qid)    on interrupt/poll, before reading
 *                                         the driver's CQ
 *   nvme_broker_cq_head(b, owner, qid, head)  instead of the CQ head doorbell
 * Every call names the calling owner; a handle used by another owner is
 * refused (auth_broker_caller).
 * A rejected command completes in the driver's CQ with SCT 7, SC 0xC0
 * (NVME_GATE_SCT_CAPOS / NVME_GATE_SC_REJECTED), DNR set, and the
 * enum nvme_verdict in DW0. Create/Delete I/O SQ/CQ go through the admin
 * queue as usual: the gate intercepts them and shadows the new queue. */
#ifndef CAPOS_NVME_BROKER_H
#define CAPOS_NVME_BROKER_H
#include <stdbool.h>
#include <stdint.h>

#include "dma/nvme_gate.h"
#include "dma/nvme_ident.h"
#include "kernel/authority/authority.h"

struct pci_dev;
/* one per controller, kernel-owned. A struct nvme_broker * handed out is
 * a handle, never an address to dereference: a slot and a generation
 * (nvme_broker.c broker_get). Once the broker closes (its owner unbound)
 * every call through it is refused and counted, and accessors answer 0 or
 * nothing, however many brokers opened since */
struct nvme_broker;

/* Map BAR0 (kernel-only), enable memory decoding, reset the controller
 * (CC.EN=0, wait for CSTS.RDY=0 bounded by CAP.TO; NVMe 2.0 §3.7.2), then
 * identify it on the broker's own memory: Identify Controller, the Active
 * Namespace ID list and each namespace, and stop it again (bus mastering
 * off). No memory of the owner exists yet: the device manager classifies
 * the controller from this before the driver's first pool. Called again
 * for the same function and owner (the driver's attach), it returns the
 * same broker. Refused (AUTH_NOT_GRANTED) before the function is touched
 * unless owner is the one bound to d and brokered. 0, or -1 with one error
 * line. */
int nvme_broker_open(struct pci_dev *d, uint16_t owner,
		     struct nvme_broker **out);
/* The probe's admin commands (Identify Controller, the Active Namespace ID
 * list, each namespace) each wait at most 2 s and all of them together at
 * most NVME_BROKER_PROBE_BUDGET_US: a controller that answers every one
 * just before its timeout cannot multiply it by its namespaces (1024 of
 * them: 34 min). A probe that spends the budget gives the device up (the
 * open fails, one line). A working controller answers an Identify in
 * micro- to milliseconds. */
#define NVME_BROKER_PROBE_BUDGET_US 10000000u
/* asq/acq: the driver's admin rings (entries each, 2..4096), which must lie
 * in the owner's live grants. Points AQA/ASQ/ACQ at kernel shadow rings,
 * writes CC (CSS NVM, MPS 4 KiB, IOSQES 6, IOCQES 4, EN), waits for RDY,
 * then hands the admin queue to the driver. Refused for a controller not
 * proven stopped. After a reset (any stop since the last identify) it
 * first identifies the controller again as the open did and the policy
 * keeps the narrower of each limit, a namespace gone or of another format
 * no longer granted (nvme_ident_follow; the driver follows through the
 * accessors below); a probe that fails refuses the enable. 0 or -1. */
int nvme_broker_enable(struct nvme_broker *b, uint16_t owner,
		       const struct dma_buf *asq, const struct dma_buf *acq,
		       uint16_t entries);
/* Every stop of an enabled controller (this, nvme_broker_stop,
 * nvme_broker_shutdown before its CC.SHN, a revocation's) first deletes
 * the I/O queues the gate holds live — Delete I/O SQ, highest first, then
 * Delete I/O CQ, the kernel's own commands, all within
 * BROKER_HALT_DELETE_US — unless a kernel command is outstanding, the
 * admin queue has no room, the owner faulted, bus mastering is off or the
 * controller is not ready, fatal or gone (one line each way). A driver
 * that deleted its queues itself has none left: nothing is sent.
 * CC.EN=0, wait for RDY=0, turn bus mastering off; drops every gate queue
 * and shadow (after CFS or a timeout). The driver then fails its
 * outstanding commands itself and may call nvme_broker_enable again.
 * 0, or -1 when the controller did not stop now or is fenced from an
 * earlier stop (off the bus for good, never enabled again), however CSTS
 * reads: as nvme_broker_stop on a fenced controller. */
int nvme_broker_reset(struct nvme_broker *b, uint16_t owner);
/* The first half of a reset that delivers what the device finished: the
 * same stop (CC.EN=0, RDY=0, bus mastering off) but the gate keeps its
 * queues (nvme_gate_stop), so nvme_broker_cq_reap and nvme_broker_cq_head
 * still move the completions the device posted before the stop into the
 * driver's CQs; nothing new reaches the device (nvme_broker_sq_ring
 * refuses). nvme_broker_reset then drops the queues. For an owner
 * quarantined or revoked after a DMA fault the queues are dropped at once
 * (nvme_broker_cq_reap refuses: nothing it posted is believed). 0, or -1
 * when the controller did not stop: fenced, the queues dropped too. */
int nvme_broker_stop(struct nvme_broker *b, uint16_t owner);
/* A normal shutdown (NVMe 2.0 §3.6.2), then the stop above: CC.SHN=01b,
 * wait for CSTS.SHST=10b (the controller has flushed its volatile write
 * cache and made its state non-volatile) for at most broker's RTD3E
 * clamped to [NVME_SHUTDOWN_MIN_US, NVME_SHUTDOWN_MAX_US] (RTD3E 0, not
 * reported: NVME_SHUTDOWN_MAX_US), then CC.EN=0 (CC.SHN cleared with it),
 * CSTS.RDY=0 within CAP.TO and bus mastering off, the gate's queues kept
 * for the reap as nvme_broker_stop keeps them. Any time, any number of
 * times: a controller not enabled (never, stopped, reset, revoked,
 * fenced) is not notified and the call is nvme_broker_stop's (one line at
 * the 1st, 2nd, 4th, ... such call); one whose owner faulted, or that
 * reads CSTS.CFS or all ones, is stopped without a notification (one
 * line); a shutdown that does not complete in time, or meets CSTS.CFS,
 * says so in one line and is stopped all the same. Returns 0 (notified,
 * SHST complete, stopped), 1 (stopped, not notified or not complete), or
 * -1 when the controller did not stop (fenced). The driver deletes its I/O
 * queues first (§3.6.2: the host should). */
int nvme_broker_shutdown(struct nvme_broker *b, uint16_t owner);
/* the wait for CSTS.SHST, microseconds: RTD3E is the controller's
 * typical entry latency, not a bound — the floor keeps one that reports
 * a few ms from being cut off mid-flush; the ceiling is Linux's default
 * shutdown_timeout (5 s; Linux goes up to 60 s for a large RTD3E, but
 * here the exit waits each controller in turn) */
#define NVME_SHUTDOWN_MIN_US 1000000u
#define NVME_SHUTDOWN_MAX_US 5000000u
uint32_t nvme_broker_shutdown_us(const struct nvme_broker *b, uint16_t owner);
/* the doorbell gate (nvme_gate_sq_ring): entries consumed or -1 */
int nvme_broker_sq_ring(struct nvme_broker *b, uint16_t owner, uint16_t qid,
			uint16_t tail);
/* device completions -> driver CQ (nvme_gate_cq_reap): count or -1 */
int nvme_broker_cq_reap(struct nvme_broker *b, uint16_t owner, uint16_t qid);
/* the driver consumed its CQ up to head (nvme_gate_cq_head): 0 or -1 */
int nvme_broker_cq_head(struct nvme_broker *b, uint16_t owner, uint16_t qid,
			uint16_t head);

/* read-only registers (NVMe 2.0 §3.1.3) */
uint64_t nvme_broker_cap(const struct nvme_broker *b, uint16_t owner);
uint32_t nvme_broker_vs(const struct nvme_broker *b, uint16_t owner);
uint32_t nvme_broker_csts(const struct nvme_broker *b, uint16_t owner);
/* what the broker's policy enforces, learned from its own Identify */
uint32_t nvme_broker_max_xfer(const struct nvme_broker *b,
			      uint16_t owner); /* bytes */
const struct nvme_ident_ctrl *nvme_broker_ident(const struct nvme_broker *b,
						uint16_t owner);
/* the namespaces granted to the owner, ascending NSID (i < nns) */
unsigned nvme_broker_nns(const struct nvme_broker *b, uint16_t owner);
const struct nvme_ns_policy *nvme_broker_ns(const struct nvme_broker *b,
					    uint16_t owner, unsigned i);
/* highest I/O queue id the driver may create (limited by the gate) */
uint16_t nvme_broker_max_qid(const struct nvme_broker *b, uint16_t owner);
/* the kernel's own Get Features (current value) of fid on nsid, which the
 * driver may call: only a fid of the scope table (nvme_scope_find: its
 * data, if any, fits the broker's one page), and only within the owner's
 * namespace grants as the validator judges a Get Features (nvme_val_scope:
 * a namespace-specific feature of a granted namespace, a controller-wide
 * one with NSID 0, FFFFFFFFh or a granted namespace); anything else is
 * refused unsent, with one line. 0 with *dw0, or -1. */
int nvme_broker_get_feature(struct nvme_broker *b, uint16_t owner, uint8_t fid,
			    uint32_t nsid, uint32_t *dw0);

/* does the gate check the device's data addresses against the owner's
 * grants? false only in the IOMMU shape (nvme_val_policy.hw_confined) */
bool nvme_broker_addr_checks(const struct nvme_broker *b, uint16_t owner);
/* is the controller fenced (a disable failed: bus mastering off for good)? */
bool nvme_broker_fenced(const struct nvme_broker *b, uint16_t owner);

/* kernel memory the gate holds for queue pair qid (shadows, PRP lists) */
size_t nvme_broker_shadow_bytes(const struct nvme_broker *b, uint16_t owner,
				uint16_t qid);
/* verdict counters of this controller's gate */
const struct nvme_val_stats *nvme_broker_stats(const struct nvme_broker *b,
					       uint16_t owner);
/* print registers, queues and verdict counts */
void nvme_broker_dump(const struct nvme_broker *b, uint16_t owner);

#ifdef CAPOS_HOST
/* host tests: the owner an open broker's handle was opened for (0: none),
 * to name it in the calls they make as its driver */
uint16_t nvme_broker_owner(const struct nvme_broker *b);
#endif
#ifdef CAPOS_PROOFS
/* Proof image only: device faults enter where the controller's behaviour
 * enters the kernel — the registers the broker reads and the completions
 * the gate delivers into the driver's CQ — never inside the driver.
 * kernel/proof/nvme_inject.c installs one set of hooks for every broker. */
struct nvme_broker_inject {
	/* register `off` read as v: returns what the kernel sees */
	uint32_t (*reg_read)(const struct nvme_broker *b, uint32_t off,
			     uint32_t v);
	/* may the gate deliver CQ qid's device completions now? false: the
	 * controller posts nothing (they wait in the shadow CQ) */
	bool (*cq_post)(const struct nvme_broker *b, uint16_t qid);
	/* the gate just delivered completions into the driver's CQ qid;
	 * first is the earliest (the one the driver reads next) */
	void (*cq_posted)(const struct nvme_broker *b, uint16_t qid,
			  struct nvme_cqe *first);
};
void nvme_broker_inject_set(const struct nvme_broker_inject *hooks);

/* Proof image only: nvme_broker_get_feature past the owner's namespace
 * grants — the kernel's witness of a namespace the driver was not given
 * (kernel/proof/nvme_hostile.c reads its Error Recovery before and after
 * the hostile vectors). The scope table's page rule still holds. */
int nvme_broker_witness_feature(struct nvme_broker *b, uint16_t owner,
				uint8_t fid, uint32_t nsid, uint32_t *dw0);

/* Proof image only: where a command's time goes (`make bench`). While on
 * is set the broker adds TSC cycles spent in the gate's ring (validate,
 * copy and the SQ doorbell), in SQ and CQ doorbell writes, in the gate's
 * reap (translate, copy into the driver's CQ and the CQ doorbell) and in
 * the driver's CQ head reports. Off, it costs one test per call. */
struct nvme_broker_prof {
	bool on;
	uint64_t ring, db_sq, reap, db_cq, head;
	uint64_t rings, db_sq_n, db_cq_n;
};
struct nvme_broker_prof *nvme_broker_prof(struct nvme_broker *b,
					  uint16_t owner);
/* Proof image only (`make bench`): the gate's shape between benchmark
 * rounds, queues idle — address checks on, or off where the IOMMU
 * translates the owner (elsewhere they stay on) */
void nvme_broker_bench_shape(struct nvme_broker *b, uint16_t owner,
			     bool addr_checks);

/* Proof image only: the bare baseline. The broker creates one I/O queue
 * pair in kernel memory through its own command path (Create I/O CQ/SQ,
 * no interrupts, queue id NVME_BARE_QID, hidden from the driver's
 * policy) and drives it with the kernel's minimal polled loop: write SQ
 * entries, one tail doorbell per burst, spin on the CQ phase, one head
 * doorbell per burst. No driver, no gate, no validator: the emulated
 * device's own limit, measured in the same boot as the full stack. */
#define NVME_BARE_QID	  (NVME_VAL_MAX_QID - 1)
#define NVME_BARE_ENTRIES 64
#define NVME_BARE_QD_MAX  32
struct nvme_bare_job {
	uint8_t opc; /* NVME_IO_READ or NVME_IO_WRITE */
	uint32_t nsid;
	uint32_t lba_bytes;
	uint64_t nsze;	/* namespace blocks */
	uint32_t len;	/* bytes per command: blocks, at most max_xfer */
	bool random;	/* random block-aligned LBAs (else sequential) */
	unsigned qd, n; /* queue depth (<= NVME_BARE_QD_MAX), commands */
};
/* 0 or -1 (one line). Needs the admin queue enabled (the driver up). */
int nvme_broker_bare_open(struct nvme_broker *b, uint16_t owner);
/* run job: TSC cycles from first submission to last completion, 0 on an
 * error (one line) */
uint64_t nvme_broker_bare_run(struct nvme_broker *b, uint16_t owner,
			      const struct nvme_bare_job *job);
/* delete the pair and free its memory — only once both deletes succeeded
 * or the controller stopped since: a create or delete never answered
 * leaves the pages allocated for good (the device may hold them) */
void nvme_broker_bare_close(struct nvme_broker *b, uint16_t owner);
#endif
#endif
