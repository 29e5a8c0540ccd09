/* kernel/proof/nvme_inject.h — NVMe device faults for the proofs, injected
 * where the controller's behaviour enters the kernel: the registers the
 * broker reads and the completions the doorbell gate delivers into the
 * driver's CQ (the hooks of kernel/authority/nvme_broker.h, proof image
 * only). The driver sees them exactly as it would see a faulty device. */
#ifndef CAPOS_NVME_INJECT_H
#define CAPOS_NVME_INJECT_H
#include <stdint.h>

struct nvme_broker;

enum nvme_inject {
	/* the next completion delivered on CQ qid names a CID nobody
	 * submitted (a generation bit flipped) */
	NVME_INJECT_BAD_CID,
	/* the next completion delivered on CQ qid carries the wrong phase */
	NVME_INJECT_BAD_PHASE,
	/* the next completion delivered on CQ qid reports an SQ head two
	 * entries past the tail the driver rang */
	NVME_INJECT_BAD_SQHD,
	/* Controller Fatal Status: CSTS reads CFS and the controller posts
	 * no completion until it has been reset (CSTS.RDY read as 0) */
	NVME_INJECT_CFS,
	/* the controller ignores CC.EN=0: CSTS.RDY reads 1 for good */
	NVME_INJECT_STUCK,
};

/* arm one fault on broker b (qid: the CQ, for BAD_CID, BAD_PHASE and BAD_SQHD).
 * 0, or -1 when NVME_INJECT_MAX faults are armed already. */
int nvme_inject_arm(struct nvme_broker *b, uint16_t qid, enum nvme_inject what);
/* disarm every fault of b that has not fired */
void nvme_inject_clear(const struct nvme_broker *b);
#endif
