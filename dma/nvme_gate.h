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

#include "dma/grant.h"
#include "kernel/authority/authority.h"

/* capOS status for a rejected command: SCT 7 (vendor specific), SC 0xC0.
 * DW0 of the error completion carries the enum nvme_verdict reason. */
#define NVME_GATE_SCT_CAPOS 7
#define NVME_GATE_SC_REJECTED 0xC0

/* how the gate reaches the controller and kernel memory */
struct nvme_gate_env {
	void *ctx;
	/* write doorbell `index` (2*qid: SQ tail, 2*qid+1: CQ head) */
	void (*doorbell)(void *ctx, uint32_t index, uint32_t value);
	/* kernel-owned, device-visible, zeroed, page-aligned memory */
	int (*shadow_alloc)(void *ctx, size_t len, struct dma_buf *out);
	void (*shadow_free)(void *ctx, struct dma_buf *b);
	/* CPU view of a device address range the grant check has accepted */
	void *(*drv_va)(void *ctx, uint64_t iova, size_t len);
};

struct nvme_gate; /* opaque; one per controller */
#endif
