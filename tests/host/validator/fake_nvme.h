/* tests/host/validator/fake_nvme.h — a tiny NVMe controller model for the
 * gate tests and the fuzzer.
 *
 * Host addresses are device addresses (iova == pointer). The model only
 * reads the rings the gate pointed it at (admin: fake_nvme_admin; I/O: the
 * PRP1 of the Create commands it executes), walks PRPs as NVMe 2.0 §4.1.1 says,
 * and calls `touch` for every byte range it would DMA, so a test can check
 * that the device never reaches outside the grants and the shadows. The
 * doorbell only records the value; fake_nvme_step executes. */
#ifndef FAKE_NVME_H
#define FAKE_NVME_H
#include <stdbool.h>
#include <stdint.h>

#include "dma/nvme_gate.h"

#define FAKE_QMAX	NVME_VAL_MAX_QID
#define FAKE_DISK_BYTES (256u << 10)

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
	/* executed commands, as the device read them */
	struct nvme_sqe log[256];
	unsigned nlog;
	/* every DMA range; the oracle hook (may be NULL) */
	void (*touch)(void *ctx, uint64_t addr, uint64_t len, bool write);
	void *touch_ctx;
	/* status to complete the next command with (0: success) */
	uint16_t next_status;
	uint64_t shadow_bytes; /* live shadow allocations */
	unsigned shadow_allocs;
	int fail_alloc_after; /* shadow_alloc fails after this many (-1: never)
			       */
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
/* the model's Identify data (4096 bytes): one 2048-block namespace of
 * 512-byte blocks, MDTS 5 */
void fake_nvme_identify(const struct fake_nvme *f, uint32_t cns, uint32_t nsid,
			uint8_t *buf);
/* post a raw completion on CQ cqid (to test the gate against a hostile
 * device) */
void fake_nvme_post(struct fake_nvme *f, uint16_t cqid, uint16_t sqid,
		    uint16_t cid, uint16_t status);
#endif
