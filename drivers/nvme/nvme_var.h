/* drivers/nvme/nvme_var.h — NVMe driver state: controller, queues, command
 * control blocks, namespaces (software only; registers are nvme_reg.h, the
 * command format dma/nvme_cmd.h).
 *
 * The core (nvme.c) is bus-neutral: it reaches the controller only through
 * the broker (kernel/authority/nvme_broker.h) and memory only through its
 * DMA pool. nvme_pci.c matches the PCI function, opens the broker and binds
 * the MSI-X vectors, then calls nvme_attach(). */
#ifndef CAPOS_NVME_VAR_H
#define CAPOS_NVME_VAR_H
#include <stdbool.h>
#include <stdint.h>

#include "dma/nvme_reg.h"
#include "kernel/authority/authority.h"
#include "kernel/authority/nvme_broker.h"
#include "kernel/devmgr/blockdev.h"

#define NVME_ADMIN_ENTRIES    32  /* admin SQ/CQ entries */
#define NVME_IO_ENTRIES	      128 /* I/O SQ/CQ entries */
#define NVME_IOQ_MAX	      2	  /* I/O queue pairs the driver asks for */
#define NVME_NCCB	      64 /* commands in flight per queue (6 CID bits) */
#define NVME_CID_IDX_MASK     0x3fu
#define NVME_CID_GEN_SHIFT    6
#define NVME_LIST_PAGES	      2	   /* PRP list pages per I/O command */
#define NVME_ARENA_PAGES      1280 /* bounce buffers, at most (5 MiB) */
#define NVME_ARENA_SLACK      (256u << 10)
#define NVME_ADMIN_TIMEOUT_US 2000000u
#define NVME_IO_TIMEOUT_US    5000000u
#define NVME_CSTS_CHECK_US    100000u /* how often a long wait looks at CFS */
/* Abort before a reset (NVMe 2.0 §5.1; Linux's nvme_timeout): an I/O
 * command past its deadline on a live controller gets one Abort, waited
 * for at most the command's own limit and never longer than
 * NVME_ADMIN_TIMEOUT_US; at most NVME_ABORT_MAX are outstanding. ACL
 * (Identify Controller, 0's based) lets every controller take one. */
#define NVME_ABORT_MAX 1
/* how often nvme_poll scans deadlines */
#define NVME_DEADLINE_CHECK_US 10000u
#define NVME_HYBRID_SPIN_US    20u /* BLOCKDEV_WAIT_HYBRID: spin, then irq */
/* Reset storms: a controller that times out or turns fatal right after
 * every recovery must not be reset without end (docs/devices/nvme.md,
 * "Reset storms"). A reset within NVME_RESET_QUIET_US of the one before
 * continues a streak; after the k-th reset of a streak (k >= 2) the
 * controller stays disabled for NVME_RESET_BACKOFF_US << (k - 2), every
 * command failing at once, and comes back at the first command after; the
 * reset NVME_RESET_MAX + 1 of a streak gives the controller up (sc->dead).
 * gVNIC's GVE_RESET_* have the same shape and values. */
#define NVME_RESET_MAX	      5
#define NVME_RESET_QUIET_US   600000000ull /* 10 min */
#define NVME_RESET_BACKOFF_US 1000000ull   /* 1 s, 2 s, 4 s, 8 s */
/* BLOCKDEV_WRITE_ZEROES: NLB is 16 bits (0-based), so a Write Zeroes
 * command clears at most NVME_WZ_BLOCKS_MAX blocks. BLOCKDEV_DISCARD: one
 * Dataset Management (Deallocate) command carries one 4 KiB page of at
 * most NVME_DSM_RANGES_MAX ranges (dma/nvme_reg.h), each of at most
 * NVME_DSM_RANGE_BLOCKS blocks. A controller's own NVM limits (WZSL,
 * DMRL, DMRSL, DMSL: the broker's CNS 06h) narrow these, never widen them
 * (nvme_clear_limits); a request its limits would cut into more than
 * NVME_CLEAR_CMDS_MAX commands is refused with one line (capOS's own
 * limits need at most that many for a 32-bit count). Commands of a
 * request run one after another. */
#define NVME_WZ_BLOCKS_MAX    0x10000u
#define NVME_DSM_RANGE_BLOCKS 0x10000u
#define NVME_CLEAR_CMDS_MAX   0x10000u
/* bad completions a queue says, one line each, before it only counts them
 * (struct nvme_queue bad_said) */
#define NVME_BAD_CQE_LINES 8
/* entries of the namespace table past those granted at the attach, for
 * namespaces that appear after a reset, or replace one (struct
 * nvme_softc ns) */
#define NVME_NS_LATE 4

struct nvme_softc;
struct nvme_queue;
struct nvme_ccb;

/* fill writes the command into its SQ slot (zeroed; the engine sets the
 * CID afterwards); done runs once per command, with the completion the
 * device posted, the gate's rejection, or a synthetic abort after a reset */
typedef void (*nvme_fill_fn)(struct nvme_softc *sc, struct nvme_ccb *ccb,
			     struct nvme_sqe *sqe);
typedef void (*nvme_done_fn)(struct nvme_softc *sc, struct nvme_ccb *ccb,
			     const struct nvme_cqe *cqe);

#define NVME_CCB_FREE	  0
#define NVME_CCB_INFLIGHT 1 /* the controller (or the gate) has it */
#define NVME_CCB_HELD	  2 /* a caller owns it: before submit, after done */

/* one command: OpenBSD's ccb */
struct nvme_ccb {
	struct nvme_queue *q;
	uint8_t idx;
	uint8_t state;
	uint16_t cid; /* idx | generation << 6: a stale CID does not match */
	uint16_t gen;
	uint16_t slot;	    /* SQ slot it was written to */
	bool unrung;	    /* written, its doorbell deferred (q->plug) */
	uint8_t wait;	    /* how nvme_wait waits: enum blockdev_wait */
	uint64_t start_tsc; /* submitted (TSC: no division on the hot path) */
	nvme_done_fn done;
	void *cookie; /* the caller's */
	/* the answer (device, gate or a local abort), kept by the engine
	 * before done runs; a failure until then (never zero = success) */
	struct nvme_cqe cqe;
	struct nvme_sqe cmd; /* prepared command for the generic fill */
	struct dma_buf list; /* NVME_LIST_PAGES for PRP lists (I/O queues) */
};

struct nvme_queue {
	struct nvme_softc *sc;
	uint16_t id;
	uint16_t entries;
	struct dma_buf sq, cq; /* the driver's rings, in its pool */
	uint16_t sq_tail;      /* next slot the driver writes */
	uint16_t sq_rung;      /* the tail the gate was last told */
	uint16_t plug;	       /* > 0: submissions wait for nvme_q_kick */
	uint16_t sq_head;      /* from the completions' SQHD */
	uint16_t cq_head;
	uint8_t cq_phase; /* phase of new entries (NVMe 2.0 §3.3.3.2) */
	bool live;	  /* created on the controller */
	uint16_t nccb;
	uint16_t inflight;
	struct nvme_ccb ccb[NVME_NCCB];
	/* completion interrupt: the handler only counts; whoever waits runs
	 * nvme_complete(), the same path polling takes */
	struct irq_cap irq;
	bool irq_bound;
	volatile uint64_t irqs;
	/* counters */
	uint64_t submitted, completed, rejected, failed, bad_cid, bad_phase,
	    bad_cqe, timeouts;
	/* bad completions (bad_cid, bad_phase, bad_cqe) given a line: the
	 * first NVME_BAD_CQE_LINES of the queue, then one line that the rest
	 * are only counted */
	unsigned bad_said;
	uint64_t kicks;	      /* rings the driver asked the gate for */
	uint64_t checked_tsc; /* last scan for overdue commands and CFS */
};

struct nvme_ns {
	struct nvme_softc *sc;
	uint32_t nsid;
	uint32_t lba_bytes;
	uint64_t nsze;	/* blocks */
	uint8_t dlfeat; /* Identify Namespace DLFEAT */
	/* blocks a Write Zeroes command; ranges, blocks a range and blocks
	 * of all ranges a Dataset Management command (nvme_clear_limits) */
	uint32_t wz_blocks, dsm_ranges, dsm_range_blocks, dsm_blocks;
	/* no longer granted after a reset (gone, or its format changed:
	 * nvme_ns_revalidate): its block device unregistered, every request
	 * through it refused */
	bool gone;
	struct nvme_ns_ids ids; /* its identifiers, as the broker read them */
	struct blockdev bdev;
};

struct nvme_softc {
	char name[8]; /* "nvme0" */
	struct pci_dev *pci;
	uint16_t owner;
	struct nvme_broker *broker;
	struct dma_pool pool;
	uint64_t cap;
	uint32_t vs;
	struct nvme_ident_ctrl
	    id;		   /* the broker's Identify (dma/nvme_ident.h) */
	uint32_t max_xfer; /* bytes per command: the broker's policy */
	/* the optional commands the block interface uses: ONCS's Write
	 * Zeroes and DSM bits, one cleared for good (one line, oncs_refused,
	 * kept across resets) when the
	 * controller answers it Invalid Opcode after all */
	uint16_t oncs, oncs_refused;
	bool up;   /* controller enabled and queues live */
	bool dead; /* given up: every command fails at once */
	bool recovering;
	/* in nvme_attach: a command that times out (or CFS) fails the attach
	 * at once, without a reset (Linux's probe does the same) */
	bool attaching;
	/* in nvme_detach: a command that times out fails, no reset */
	bool detaching;
	/* Aborts outstanding (at most NVME_ABORT_MAX: nvme_abort waits for
	 * its own), sent, and those after which the command was answered
	 * without a reset (with Command Abort Requested, or its own
	 * completion when that raced the Abort) */
	unsigned aborting;
	uint64_t aborts, aborts_answered;
	bool use_irq;
	struct nvme_queue admin;
	struct nvme_queue ioq[NVME_IOQ_MAX];
	unsigned nioq;
	unsigned next_q; /* the block interface's round robin over ioq */
	/* nns in use of ns_alloc, kernel memory charged to the owner: the
	 * namespaces granted at the attach and NVME_NS_LATE more. An entry
	 * is never reused (a namespace given up keeps its own, so a block
	 * device pointer still held reaches it, refused), so after resets
	 * at most NVME_NS_LATE namespaces that appear or replace one are
	 * attached, until the driver is bound again */
	struct nvme_ns *ns;
	unsigned nns, ns_alloc;
	/* bounce arena: arena_pages (<= NVME_ARENA_PAGES), first-fit bitmap */
	struct dma_buf arena;
	unsigned arena_pages;
	uint64_t arena_map[NVME_ARENA_PAGES / 64];
	unsigned resets;
	/* nvme_stop_answer runs (resets, detach): a CQ batch copied before
	 * one is stale, its commands answered by it (nvme_cq_drain) */
	unsigned stops;
	/* reset storms (NVME_RESET_*): the streak, when its last reset came,
	 * nonzero: when the backoff ends (the controller disabled until the
	 * first command from then), and the backoffs imposed */
	unsigned reset_streak;
	uint64_t reset_last_us;
	uint64_t recover_at_us;
	unsigned backoffs;
	uint64_t backoff_ms;
	uint64_t reset_failed_cmds; /* commands failed by a reset */
	/* completions the device posted before a reset, delivered by it */
	uint64_t reset_delivered_cmds;
	uint64_t
	    csts_checked_us; /* last CSTS.CFS look (nvme_wait, nvme_poll) */
	uint64_t tsc_per_us; /* the clock's rate, for deadlines in TSC */
};

/* one I/O command, its data (if any) described in the driver's pool */
struct nvme_io {
	/* NVME_IO_READ, NVME_IO_WRITE, NVME_IO_FLUSH, NVME_IO_WRITE_ZEROES
	 * (no data), NVME_IO_DSM (Deallocate; the data is the range list) */
	uint8_t opc;
	uint32_t nsid;
	uint64_t slba; /* unused by DSM: the ranges say */
	uint32_t nlb;  /* blocks, 1-based; 0 for Flush and DSM */
	/* data in the pool (any dword-aligned offset); DSM: the range list,
	 * len / NVME_DSM_RANGE_BYTES ranges within one page */
	uint64_t iova;
	uint32_t len;
	/* where the PRP list starts in the command's list pages (bytes,
	 * qword aligned, < 4096): 0 normally; a proof or test moves it to
	 * force a chained list with fewer entries */
	uint32_t list_off;
};

/* ---- nvme.c: bring-up ---------------------------------------------------- */
/* after the broker is open and sc->admin/ioq irqs are bound: pool, admin
 * queue, enable, identify, I/O queues, namespaces. 0 or -1 (one error line,
 * everything undone: the controller disabled once, nvme_broker_reset, before
 * the pool is revoked; the broker stays open with its function). */
int nvme_attach(struct nvme_softc *sc);
/* the orderly end (the device manager's devmgr_shutdown): a live
 * controller (up, CSTS.CFS clear) has its I/O queues deleted — Delete I/O
 * SQ, what it owed delivered, then Delete I/O CQ, all within
 * NVME_ADMIN_TIMEOUT_US, highest queue first, the first failure ending the
 * deletes — and is shut down (nvme_broker_shutdown: CC.SHN, CSTS.SHST,
 * then disabled); a dead, fenced or backing-off one is only stopped. Then,
 * as nvme_recover does, every outstanding command is answered once (the
 * device's own completions delivered unless CSTS.CFS), the block devices
 * are taken back and the memory freed. No reset runs meanwhile. 0 when
 * the controller confirmed the shutdown, 1 when it was stopped without
 * one, -1 when it did not stop (fenced: its pool kept). */
int nvme_detach(struct nvme_softc *sc);
/* reset the controller (CFS, timeout, or a proof asking) and bring the
 * queues back. One that is ready and not fatal has its I/O queues deleted
 * first, as the detach does (what a deleted SQ owed delivered; a failure
 * ends the deletes with one line and the reset goes on). Every
 * outstanding command is answered once: with the
 * completion the device posted before the stop when the controller is not
 * fatal (CSTS.CFS clear), else — and for all it never completed — as
 * aborted. A reset that continues a streak leaves the controller disabled
 * for its backoff (nvme_resume brings it back); one past NVME_RESET_MAX
 * gives it up. 0, or -1: the controller is dead, or the reset was refused
 * (inside a recovery, during the attach: the caller fails). */
int nvme_recover(struct nvme_softc *sc, const char *why);
/* after a reset's backoff: bring the queues back once it has ended. 0 when
 * the controller is up, -1 while it backs off or once it is dead.
 * nvme_submit and nvme_poll call it, so the first command after the
 * backoff finds the controller up. */
int nvme_resume(struct nvme_softc *sc);
/* MSI-X handler: arg is the queue */
void nvme_intr(void *arg);

/* ---- nvme.c: the command engine ------------------------------------------ */
struct nvme_ccb *nvme_ccb_get(struct nvme_queue *q);
void nvme_ccb_put(struct nvme_ccb *ccb);
/* write ccb's command into q (fill), ring through the gate. 0 or -1 (no
 * slot, gate refused the ring, controller down: nothing outstanding).
 * done runs on the answer; a synchronous caller passes none (0): the
 * engine keeps every answer in ccb->cqe, where nvme_wait reads it. */
int nvme_submit(struct nvme_softc *sc, struct nvme_queue *q,
		struct nvme_ccb *ccb, nvme_fill_fn fill, nvme_done_fn done);
/* Plugging: between nvme_q_plug and nvme_q_unplug, nvme_submit writes the
 * SQ entry but does not ring; unplug rings once for the burst. Completion
 * callbacks run plugged (nvme_complete), so commands they submit share one
 * doorbell. A refused deferred ring fails each deferred command through
 * its done callback (aborted), never silently. */
void nvme_q_plug(struct nvme_queue *q);
void nvme_q_unplug(struct nvme_softc *sc, struct nvme_queue *q);
/* reap and dispatch q's completions; returns how many were dispatched */
int nvme_complete(struct nvme_softc *sc, struct nvme_queue *q);
/* after nvme_broker_stop: dispatch every completion the stopped controller
 * posted on q (the gate's shadow CQ through the driver's CQ, consumed as it
 * goes, so a full driver CQ holds nothing back); returns how many */
int nvme_q_drain_stopped(struct nvme_softc *sc, struct nvme_queue *q);
/* nvme_complete, then fail-safe for asynchronous callers: a command past
 * its deadline resets the controller (nvme_recover) */
int nvme_poll(struct nvme_softc *sc, struct nvme_queue *q);
/* run q until ccb has completed or timeout_us passed since its submission
 * (then recover: the limit is the command's, not the wait's).
 * Waits as ccb->wait says (BLOCKDEV_WAIT_IRQ unless the caller set it):
 * between looks at the CQ, for the queue's interrupt count to move (1 ms
 * at most: a lost interrupt costs that, not a hang), or not at all. */
int nvme_wait(struct nvme_softc *sc, struct nvme_queue *q, struct nvme_ccb *ccb,
	      uint64_t timeout_us);
/* ccb (on an I/O queue) is past its deadline of timeout_us: before a
 * reset, ask the controller to abort it (Abort, NVMe 2.0 §5.1), when the
 * controller is up, not fatal (CSTS.CFS), and no other Abort is
 * outstanding. 0 when the command has been answered — with Command Abort
 * Requested, with its own completion when that raced the Abort, or by the
 * reset that the Abort's own timeout ran — each through the one
 * completion path, so once; -1 when it is still outstanding (not tried,
 * the Abort failed, or the controller answered "not aborted", DW0 bit 0):
 * the caller resets. */
int nvme_abort(struct nvme_softc *sc, struct nvme_ccb *ccb,
	       uint64_t timeout_us);
/* fail an outstanding command locally (after a reset) with "aborted, SQ
 * deleted"; done runs. No-op for a command not in flight. */
void nvme_ccb_abort(struct nvme_softc *sc, struct nvme_ccb *ccb);
/* the generic fill: copy ccb->cmd */
void nvme_fill_cmd(struct nvme_softc *sc, struct nvme_ccb *ccb,
		   struct nvme_sqe *sqe);
/* submit cmd on q and wait; *out gets the completion. 0 when the command
 * succeeded, -1 otherwise (out still says why) */
int nvme_exec(struct nvme_softc *sc, struct nvme_queue *q,
	      const struct nvme_sqe *cmd, struct nvme_cqe *out,
	      uint64_t timeout_us);
bool nvme_cqe_ok(const struct nvme_cqe *e);
/* a rejection by the doorbell gate (SCT 7, SC 0xC0); *why = the verdict */
bool nvme_cqe_rejected(const struct nvme_cqe *e, uint32_t *why);

/* ---- nvme.c: data transfers ---------------------------------------------- */
/* PRP1/PRP2 (and the lists in ccb->list, starting list_off bytes in) for
 * [iova, iova+len), NVMe 2.0 §4.1.1. 0 or -1 (too long for the list
 * pages). */
int nvme_prp_build(struct nvme_ccb *ccb, uint64_t iova, uint32_t len,
		   uint32_t list_off, uint64_t *prp1, uint64_t *prp2);
/* prepare ccb->cmd for io (PRPs built, the list at io->list_off). 0 or -1 */
int nvme_io_prepare(struct nvme_softc *sc, struct nvme_ccb *ccb,
		    const struct nvme_io *io);
/* one transfer, asynchronous (done(cookie)) or synchronous */
int nvme_io_submit(struct nvme_softc *sc, struct nvme_queue *q,
		   const struct nvme_io *io, nvme_done_fn done, void *cookie);
int nvme_io_sync(struct nvme_softc *sc, struct nvme_queue *q,
		 const struct nvme_io *io, struct nvme_cqe *out);
/* bounce pages from the arena; 0 or -1 */
int nvme_buf_get(struct nvme_softc *sc, uint32_t len, struct dma_buf *out);
void nvme_buf_put(struct nvme_softc *sc, struct dma_buf *b);

/* ---- nvme.c: inspection -------------------------------------------------- */
void nvme_dump(struct nvme_softc *sc);
/* one JSON object (identity, state, namespaces, queue counters) */
struct json;
void nvme_json(struct nvme_softc *sc, struct json *j);
/* the attached controller (proofs); NULL when none */
struct nvme_softc *nvme_first(void);
/* the i-th attached controller, NULL when there is none or it is down */
struct nvme_softc *nvme_at(unsigned i);
#endif
