/* drivers/nvme/nvme_reg.h — NVMe controller registers and the Identify
 * data the driver reads (hardware layout only; no software state).
 *
 * Basis: NVM Express Base Specification 2.0 §3.1.3 (controller properties,
 * memory-mapped at BAR0 for PCIe), §5.17.2 (Identify data structures) and
 * the NVM Command Set Specification 1.0 §4.1.5 (Identify Namespace). The
 * controller registers themselves are dma/nvme_reg.h.
 * Commands and completions are dma/nvme_cmd.h: the validator and the driver
 * share one definition.
 *
 * capOS: the driver holds no mapping of these registers. The broker
 * (kernel/authority/nvme_broker.h) writes CC/AQA/ASQ/ACQ and the doorbells
 * and hands the driver CAP, VS and CSTS through getters; the offsets below
 * document what the broker touches and are used when decoding. */
#ifndef CAPOS_NVME_REG_H
#define CAPOS_NVME_REG_H
#include <stdint.h>

#include "dma/nvme_reg.h" /* controller registers, shared with the broker */

/* ---- Identify Controller (§5.17.2.1, Figure 275) ------------------------- */
/* MN, MDTS and NN come from dma/nvme_cmd.h (NVME_IDCTL_*) */
#define NVME_IDCTL_SN		 4 /* serial number, 20 ASCII bytes */
#define NVME_IDCTL_SN_LEN	 20
#define NVME_IDCTL_MN_LEN	 40
#define NVME_IDCTL_FR		 64 /* firmware revision, 8 ASCII bytes */
#define NVME_IDCTL_FR_LEN	 8
#define NVME_IDCTL_SQES		 512 /* required/maximum SQ entry size, log2 */
#define NVME_IDCTL_CQES		 513
#define NVME_IDCTL_VWC		 525 /* volatile write cache present: bit 0 */
#define NVME_IDCTL_QES_MIN_SHIFT 0
#define NVME_IDCTL_QES_MIN_MASK	 0xfu

/* ---- Active Namespace ID list (§5.17.2.2): 1024 ascending u32 NSIDs, ends
 * at the first zero */
#define NVME_NSLIST_MAX 1024u

/* ---- Set Features Number of Queues result (§5.27.1.5), CQE DW0 ----------- */
#define NVME_NUMQ_NSQA_SHIFT 0 /* 0-based */
#define NVME_NUMQ_NSQA_MASK  0xffffu
#define NVME_NUMQ_NCQA_SHIFT 16
#define NVME_NUMQ_NCQA_MASK  0xffffu
#endif
