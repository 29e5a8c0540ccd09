/* dma/nvme_reg.h — NVMe controller registers (NVMe 2.0 §3.1.3), hardware
 * layout only. One definition for the two sides of brokered bring-up: the
 * broker (kernel/authority/nvme_broker.c), the only code that writes them,
 * and the driver (drivers/nvme), which reads CAP, VS and CSTS through the
 * broker's getters and decodes them with the fields below. */
#ifndef CAPOS_DMA_NVME_REG_H
#define CAPOS_DMA_NVME_REG_H

/* ---- controller registers (NVMe 2.0 §3.1.3, Figure 33) ------------------- */
#define NVME_REG_CAP   0x00   /* 64: controller capabilities */
#define NVME_REG_VS    0x08   /* version */
#define NVME_REG_INTMS 0x0c   /* interrupt mask set (pin/MSI only) */
#define NVME_REG_INTMC 0x10   /* interrupt mask clear */
#define NVME_REG_CC    0x14   /* controller configuration */
#define NVME_REG_CSTS  0x1c   /* controller status */
#define NVME_REG_NSSR  0x20   /* NVM subsystem reset */
#define NVME_REG_AQA   0x24   /* admin queue attributes */
#define NVME_REG_ASQ   0x28   /* 64: admin SQ base */
#define NVME_REG_ACQ   0x30   /* 64: admin CQ base */
#define NVME_REG_DBS   0x1000 /* first doorbell (SQ0 tail) */

/* CAP (§3.1.3.1) */
#define NVME_CAP_MQES_SHIFT   0 /* max queue entries, 0-based */
#define NVME_CAP_MQES_MASK    0xffffull
#define NVME_CAP_CQR_SHIFT    16 /* contiguous queues required */
#define NVME_CAP_CQR_MASK     0x1ull
#define NVME_CAP_TO_SHIFT     24 /* ready timeout, 500 ms units */
#define NVME_CAP_TO_MASK      0xffull
#define NVME_CAP_DSTRD_SHIFT  32 /* doorbell stride: 4 << DSTRD bytes */
#define NVME_CAP_DSTRD_MASK   0xfull
#define NVME_CAP_NSSRS_SHIFT  36 /* subsystem reset supported */
#define NVME_CAP_NSSRS_MASK   0x1ull
#define NVME_CAP_CSS_SHIFT    37 /* command sets supported */
#define NVME_CAP_CSS_MASK     0xffull
#define NVME_CAP_MPSMIN_SHIFT 48 /* min page size: 2^(12+MPSMIN) */
#define NVME_CAP_MPSMIN_MASK  0xfull
#define NVME_CAP_MPSMAX_SHIFT 52
#define NVME_CAP_MPSMAX_MASK  0xfull
#define NVME_CAP_CSS_NVM      0x1u /* CSS bit 0: the NVM command set */

/* VS (§3.1.3.2) */
#define NVME_VS_MJR_SHIFT 16
#define NVME_VS_MJR_MASK  0xffffu
#define NVME_VS_MNR_SHIFT 8
#define NVME_VS_MNR_MASK  0xffu
#define NVME_VS_TER_SHIFT 0
#define NVME_VS_TER_MASK  0xffu
#define NVME_VS_1_1	  0x00010100u /* Identify CNS 02h exists from here on */

/* CC (§3.1.3.5) — written by the broker only */
#define NVME_CC_EN_SHIFT     0
#define NVME_CC_EN_MASK	     0x1u
#define NVME_CC_CSS_SHIFT    4
#define NVME_CC_CSS_MASK     0x7u
#define NVME_CC_MPS_SHIFT    7
#define NVME_CC_MPS_MASK     0xfu
#define NVME_CC_AMS_SHIFT    11
#define NVME_CC_AMS_MASK     0x7u
#define NVME_CC_SHN_SHIFT    14
#define NVME_CC_SHN_MASK     0x3u
#define NVME_CC_IOSQES_SHIFT 16
#define NVME_CC_IOSQES_MASK  0xfu
#define NVME_CC_IOCQES_SHIFT 20
#define NVME_CC_IOCQES_MASK  0xfu

/* CSTS (§3.1.3.6) */
#define NVME_CSTS_RDY_SHIFT  0
#define NVME_CSTS_RDY_MASK   0x1u
#define NVME_CSTS_CFS_SHIFT  1 /* controller fatal status */
#define NVME_CSTS_CFS_MASK   0x1u
#define NVME_CSTS_SHST_SHIFT 2
#define NVME_CSTS_SHST_MASK  0x3u
/* a register read that failed (device gone, refused access) returns ones */
#define NVME_CSTS_GONE 0xffffffffu

/* AQA (§3.1.3.7): both sizes 0-based */
#define NVME_AQA_ASQS_SHIFT 0
#define NVME_AQA_ASQS_MASK  0xfffu
#define NVME_AQA_ACQS_SHIFT 16
#define NVME_AQA_ACQS_MASK  0xfffu
#endif
