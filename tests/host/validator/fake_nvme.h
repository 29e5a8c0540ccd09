/* tests/host/validator/fake_nvme.h — a tiny NVMe controller model for the
 * gate tests and the fuzzer.
 *
 * Host addresses are device addresses (iova == pointer). The model only
 * reads the rings the gate pointed it at (admin: fake_nvme_admin; I/O: the
 * PRP1 of the Create commands it executes), walks PRPs as NVMe 2.0 §4.1.1 says,
 * and calls `touch` for every byte range it would DMA, so a test can check
 * that the device never reaches outside the grants and the shadows. The
 * doorbell only records the value; fake_nvme_step executes.
 *
 * The asynchronous model (fake_nvme_fetch / fake_nvme_complete) lets a test
 * play the device out of order: commands are fetched into an in-flight list
 * and completed in any order, twice, late (a kept copy posted after the SQ
 * was deleted or the controller reset) or never. It posts only into a CQ
 * with room (the CQ head doorbell), as a controller must, and a command's
 * DMA happens once, before its first completion. */
#ifndef FAKE_NVME_H
#define FAKE_NVME_H
#include <stdbool.h>
#include <stdint.h>

#include "dma/nvme_gate.h"

#define FAKE_QMAX	NVME_VAL_MAX_QID
#define FAKE_DISK_BYTES (256u << 10)

#define FAKE_INFL   256 /* commands fetched, not completed */
#define FAKE_GHOSTS 64	/* completions kept for a late or second post */

/* one command the device fetched */
struct fake_cmd {
	struct nvme_sqe c;
	uint16_t sqid;
	bool done; /* executed (DMA done), its completion not yet posted */
	uint16_t status; /* when done */
	uint32_t dw0;
	uint32_t mark; /* the test's name for it (fetch_mark), or 0 */
};

struct fake_cqe {
	uint16_t cqid, sqid, cid, status;
	uint32_t dw0;
	uint32_t mark; /* the command's it is a copy of (0: none) */
};

/* what the device does with the fetched commands of an SQ it deletes */
enum fake_del_mode {
	FAKE_DEL_RUN,	 /* execute and complete them first */
	FAKE_DEL_ABORT,	 /* post Command Aborted due to SQ Deletion */
	FAKE_DEL_SILENT, /* drop them (implicitly aborted, NVMe 2.0 §5.6) */
	FAKE_DEL_LATE,	 /* drop them now, keep their completions for later */
	FAKE_DEL_NMODES
};

struct fake_nvme {
	struct {
		uint64_t base;
		uint16_t size, head, cqid;
		bool live;
	} sq[FAKE_QMAX];
	struct {
		uint64_t base;
		uint16_t size, tail;
		uint8_t phase;
		bool live;
	} cq[FAKE_QMAX];
	uint32_t db[2 * FAKE_QMAX]; /* last doorbell values */
	uint64_t ndoorbells;
	/* completions posted into a CQ the host's head doorbell says is full
	 * (a real controller would hold them back): the host broke the
	 * queue's contract (NVMe 2.0 §3.3.1.2) */
	uint64_t cq_overrun;
	uint32_t lba_bytes;
	uint8_t disk[FAKE_DISK_BYTES];
	bool disk_written; /* a Write has changed disk since it was cleared */
	/* Write Zeroes and Dataset Management (Deallocate). oncs: what
	 * Identify Controller says it has (fake_nvme_init: both, as QEMU
	 * 7.2); lie: those of them it answers Invalid Opcode all the same
	 * (a controller lying in ONCS). dlfeat: Identify Namespace's; a
	 * deallocated block reads as it promises (001b zeros, 010b ones, else
	 * it keeps its old bytes). blocks: namespace 1's size (Identify's
	 * NSZE and what Write Zeroes and DSM may reach; fake_nvme_init:
	 * 2048); blocks past the disk buffer hold nothing, so clearing them
	 * stores nothing. Counted: commands and blocks. */
	uint16_t oncs, lie;
	/* the NVM limits its CNS 06h page reports (0: none; fake_nvme_init:
	 * all 0, as QEMU 7.2's WZSL, DMRL and DMSL) and enforces as a strict
	 * controller: a Write Zeroes past WZSL pages (4 KiB) or a Dataset
	 * Management past DMRL, DMRSL or DMSL is answered Invalid Field and
	 * counted in over_limit. no_cs_ctrl: CNS 06h answered Invalid Field
	 * (a controller without I/O Command Sets) */
	uint8_t wzsl, dmrl;
	uint32_t dmrsl;
	uint64_t dmsl;
	bool no_cs_ctrl;
	unsigned over_limit;
	uint8_t dlfeat;
	uint64_t blocks;
	unsigned nwz, ndsm;
	uint64_t wz_blocks, dealloc_blocks;
	/* executed commands, as the device read them */
	struct nvme_sqe log[256];
	unsigned nlog;
	/* every DMA range; the oracle hook (may be NULL) */
	void (*touch)(void *ctx, uint64_t addr, uint64_t len, bool write);
	void *touch_ctx;
	bool touch_veto; /* set by touch: skip this access (the async model) */
	bool in_xfer; /* the access is a command's data, not a ring or list */
	/* status to complete the next command with (0: success) */
	uint16_t next_status;
	uint64_t shadow_bytes; /* live shadow allocations */
	unsigned shadow_allocs;
	/* shadow_free withholds, as the kernel's does when the IOMMU does not
	 * confirm the unmap: the memory leaves the gate's count but is not
	 * freed (the test frees withheld[] itself) and the call says -1 */
	bool withhold_frees;
	uint64_t withheld_bytes;
	void *withheld[16];
	unsigned nwithheld;
	int fail_alloc_after; /* shadow_alloc fails after this many (-1: never)
			       */
	/* the asynchronous model */
	struct fake_cmd infl[FAKE_INFL];
	unsigned ninfl;
	struct fake_cqe ghost[FAKE_GHOSTS];
	unsigned nghost;
	uint8_t del_mode; /* enum fake_del_mode */
	bool trace;	  /* print fetches and posts (stderr) */
	/* called with touch_ctx after every completion the model posts (may
	 * be NULL); copy: it is not a command's own first completion (a
	 * duplicate, a kept one posted late, a forged one) */
	void (*posted)(void *ctx, uint16_t cqid, const struct nvme_cqe *e);
	bool copy;
	/* may be NULL: the mark of the command fetched from slot of sqid */
	uint32_t (*fetch_mark)(void *ctx, uint16_t sqid, uint16_t slot);
	/* the interrupts the gate delivered itself (env.interrupt), by
	 * vector; then the hook, if set (the driver tests' handlers) */
	uint64_t gate_irqs[FAKE_QMAX], gate_irqs_other;
	void (*gate_irq)(void *ctx, uint16_t iv);
	void *gate_irq_ctx;
};

void fake_nvme_init(struct fake_nvme *f);
/* the env the gate uses against this model */
void fake_nvme_env(struct fake_nvme *f, struct nvme_gate_env *env);
/* what the broker does at enable: point the model's admin queue */
void fake_nvme_admin(struct fake_nvme *f, uint64_t asq, uint64_t acq,
		     uint16_t entries);
/* execute every command between the model's SQ heads and the doorbells;
 * returns how many */
unsigned fake_nvme_step(struct fake_nvme *f);
/* the model's Identify data (4096 bytes): one namespace of f->blocks
 * 512-byte blocks (DLFEAT f->dlfeat), MDTS 5, ONCS f->oncs; CNS 06h the
 * NVM limits (f->wzsl ...) */
void fake_nvme_identify(const struct fake_nvme *f, uint32_t cns, uint32_t nsid,
			uint8_t *buf);
/* post a raw completion on CQ cqid (to test the gate against a hostile
 * device) */
void fake_nvme_post(struct fake_nvme *f, uint16_t cqid, uint16_t sqid,
		    uint16_t cid, uint16_t status);

/* ---- the asynchronous model -------------------------------------------- */
/* controller reset: every queue and fetched command is gone (kept
 * completions stay: a hostile device may still post them) */
void fake_nvme_reset(struct fake_nvme *f);
/* fetch up to max commands (0: all the doorbell allows) from SQ sqid */
unsigned fake_nvme_fetch(struct fake_nvme *f, uint16_t sqid, unsigned max);
/* complete in-flight command i: execute it (status 0) or fail it without
 * effect (status != 0: the CQE status field), then post its completion when
 * its CQ has room (else it stays, done, for a later call). dup: post it a
 * second time; keep: also keep a copy for fake_nvme_ghost. true when posted.
 */
bool fake_nvme_complete(struct fake_nvme *f, unsigned i, uint16_t status,
			bool dup, bool keep);
/* post a forged completion when CQ cqid has room */
bool fake_nvme_forge(struct fake_nvme *f, uint16_t cqid, uint16_t sqid,
		     uint16_t cid, uint16_t status);
/* post kept completion i (a late or duplicated one) and forget it */
bool fake_nvme_ghost(struct fake_nvme *f, unsigned i);
/* fetch and complete everything, in order; returns commands completed */
unsigned fake_nvme_drain(struct fake_nvme *f);
#endif
