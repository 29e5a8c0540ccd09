/* dma/buf.h — one DMA object: where the CPU sees it, where the device sees
 * it, how big. The hand-off unit between DMA pools (kernel/authority), the
 * NVMe gate's shadows (dma/nvme_gate.h) and drivers. */
#ifndef CAPOS_DMA_BUF_H
#define CAPOS_DMA_BUF_H
#include <stddef.h>
#include <stdint.h>

struct dma_buf {
	void *va;
	uint64_t iova;
	size_t len;
};
#endif
