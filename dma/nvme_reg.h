/* dma/nvme_reg.h — the NVMe hardware, one definition (pure C): controller
 * registers, the submission and completion entries, opcodes, command fields
 * and the Identify data structures. Hardware layout only, no software state.
 * The broker (kernel/authority/nvme_broker.c, the only code that writes the
 * registers), the doorbell gate and validator (dma/), the Identify parser
 * (dma/nvme_ident.c) and the driver (drivers/nvme) all include this file.
 *
 * Basis: NVM Express Base Specification 2.0 (§3.1.3 controller registers,
 * §3.3.3 command and completion formats, §4.1 PRPs, §5 admin commands,
 * §5.17.2 Identify data), NVM Command Set Specification 1.0 (§3 I/O
 * commands, §4.1.5.1 Identify Namespace), NVMe over PCIe Transport 1.0
 * (§3.1.2 doorbells, §2.1 the class code). Cross-checked against Linux
 * include/linux/nvme.h and QEMU hw/nvme. All fields are little-endian
 * (x86: native). */
#ifndef CAPOS_DMA_NVME_REG_H
#define CAPOS_DMA_NVME_REG_H
#include <stddef.h>
#include <stdint.h>

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
/* CNS is 8 bits wide from 1.2 on (1 bit in 1.0, 2 in 1.1): only from here
 * is CNS 06h read as itself, not as 00h or 02h */
#define NVME_VS_1_2 0x00010200u
/* Identify CNS 03h, the Namespace Identification Descriptor list, exists
 * from here on (Linux's nvme_identify_ns_descs asks from 1.3) */
#define NVME_VS_1_3 0x00010300u

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
/* CC.SHN 01b: normal shutdown notification; CSTS.SHST 10b: shutdown
 * processing complete (§3.6.2) */
#define NVME_CC_SHN_NORMAL  0x1u
#define NVME_CSTS_SHST_DONE 0x2u
/* a register read that failed (device gone, refused access) returns ones */
#define NVME_CSTS_GONE 0xffffffffu

/* AQA (§3.1.3.8): both sizes 0-based */
#define NVME_AQA_ASQS_SHIFT 0
#define NVME_AQA_ASQS_MASK  0xfffu
#define NVME_AQA_ACQS_SHIFT 16
#define NVME_AQA_ACQS_MASK  0xfffu
/* ---- Submission queue entry, 64 bytes (NVMe 2.0 §3.3.3.1) ---------------- */
struct nvme_sqe {
	uint32_t cdw0;	/* OPC 7:0, FUSE 9:8, PSDT 15:14, CID 31:16 */
	uint32_t nsid;	/* namespace identifier */
	uint32_t cdw2;	/* command specific */
	uint32_t cdw3;	/* command specific */
	uint64_t mptr;	/* metadata pointer (PSDT 00: contiguous buffer) */
	uint64_t prp1;	/* data pointer: PRP entry 1 */
	uint64_t prp2;	/* data pointer: PRP entry 2 or PRP list pointer */
	uint32_t cdw10; /* command specific dwords 10..15 */
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};
_Static_assert(sizeof(struct nvme_sqe) == 64, "nvme_sqe size");
_Static_assert(offsetof(struct nvme_sqe, nsid) == 4, "nsid");
_Static_assert(offsetof(struct nvme_sqe, mptr) == 16, "mptr");
_Static_assert(offsetof(struct nvme_sqe, prp1) == 24, "prp1");
_Static_assert(offsetof(struct nvme_sqe, prp2) == 32, "prp2");
_Static_assert(offsetof(struct nvme_sqe, cdw10) == 40, "cdw10");
_Static_assert(offsetof(struct nvme_sqe, cdw15) == 60, "cdw15");

/* Command Dword 0 (NVMe 2.0 Figure 88) */
#define NVME_CDW0_OPC_SHIFT 0
#define NVME_CDW0_OPC_MASK  0xffu
#define NVME_CDW0_FUSE_SHIFT                                                   \
	8 /* 00 normal, 01 first, 10 second of a fused pair */
#define NVME_CDW0_FUSE_MASK  0x3u
#define NVME_CDW0_PSDT_SHIFT 14 /* 00 PRP, 01/10 SGL */
#define NVME_CDW0_PSDT_MASK  0x3u
#define NVME_CDW0_CID_SHIFT  16
#define NVME_CDW0_CID_MASK   0xffffu
#define NVME_PSDT_PRP	     0u

#define NVME_NSID_ALL 0xffffffffu /* broadcast namespace */

/* ---- Completion queue entry, 16 bytes (NVMe 2.0 §3.3.3.2) -------------------
 */
struct nvme_cqe {
	uint32_t dw0;	 /* command specific result */
	uint32_t dw1;	 /* command specific */
	uint16_t sqhd;	 /* SQ head pointer as the controller consumed it */
	uint16_t sqid;	 /* SQ the command came from */
	uint16_t cid;	 /* command identifier */
	uint16_t status; /* P bit 0, status field 15:1 */
};
_Static_assert(sizeof(struct nvme_cqe) == 16, "nvme_cqe size");
_Static_assert(offsetof(struct nvme_cqe, sqhd) == 8, "sqhd");
_Static_assert(offsetof(struct nvme_cqe, sqid) == 10, "sqid");
_Static_assert(offsetof(struct nvme_cqe, cid) == 12, "cid");
_Static_assert(offsetof(struct nvme_cqe, status) == 14, "status");

/* the 16-bit status word of a CQE (phase + status field, NVMe 2.0 §3.3.3.2.1)
 */
#define NVME_CQE_P_SHIFT   0 /* phase tag */
#define NVME_CQE_P_MASK	   0x1u
#define NVME_CQE_SC_SHIFT  1 /* status code */
#define NVME_CQE_SC_MASK   0xffu
#define NVME_CQE_SCT_SHIFT 9 /* status code type */
#define NVME_CQE_SCT_MASK  0x7u
#define NVME_CQE_CRD_SHIFT 12 /* command retry delay */
#define NVME_CQE_CRD_MASK  0x3u
#define NVME_CQE_M_SHIFT   14 /* more */
#define NVME_CQE_M_MASK	   0x1u
#define NVME_CQE_DNR_SHIFT 15 /* do not retry */
#define NVME_CQE_DNR_MASK  0x1u

/* status code types and the generic codes capOS looks at (§3.3.3.2.1) */
#define NVME_SCT_GENERIC	   0u
#define NVME_SCT_CMD_SPECIFIC	   1u
#define NVME_SCT_MEDIA		   2u
#define NVME_SCT_PATH		   3u
#define NVME_SCT_VENDOR		   7u
#define NVME_SC_SUCCESS		   0x00u
#define NVME_SC_INVALID_OPCODE	   0x01u
#define NVME_SC_INVALID_FIELD	   0x02u
#define NVME_SC_CID_CONFLICT	   0x03u
#define NVME_SC_DATA_XFER_ERROR	   0x04u
#define NVME_SC_INTERNAL	   0x06u
#define NVME_SC_ABORT_REQ	   0x07u
#define NVME_SC_ABORT_SQ_DELETED   0x08u
#define NVME_SC_INVALID_NS	   0x0bu
#define NVME_SC_INVALID_PRP_OFFSET 0x13u
#define NVME_SC_LBA_RANGE	   0x80u
/* command specific (SCT 1) */
#define NVME_SC_CQ_INVALID     0x00u
#define NVME_SC_QID_INVALID    0x01u
#define NVME_SC_QUEUE_SIZE     0x02u
#define NVME_SC_INVALID_VECTOR 0x08u

/* ---- Admin command set opcodes (NVMe 2.0 Figure 138) -------------------- */
#define NVME_ADM_DELETE_SQ	0x00u
#define NVME_ADM_CREATE_SQ	0x01u
#define NVME_ADM_GET_LOG_PAGE	0x02u
#define NVME_ADM_DELETE_CQ	0x04u
#define NVME_ADM_CREATE_CQ	0x05u
#define NVME_ADM_IDENTIFY	0x06u
#define NVME_ADM_ABORT		0x08u
#define NVME_ADM_SET_FEATURES	0x09u
#define NVME_ADM_GET_FEATURES	0x0au
#define NVME_ADM_ASYNC_EVENT	0x0cu
#define NVME_ADM_NS_MGMT	0x0du
#define NVME_ADM_FW_COMMIT	0x10u
#define NVME_ADM_FW_DOWNLOAD	0x11u
#define NVME_ADM_SELF_TEST	0x14u
#define NVME_ADM_NS_ATTACH	0x15u
#define NVME_ADM_KEEP_ALIVE	0x18u
#define NVME_ADM_DIRECTIVE_SEND 0x19u
#define NVME_ADM_DIRECTIVE_RECV 0x1au
#define NVME_ADM_VIRT_MGMT	0x1cu
#define NVME_ADM_MI_SEND	0x1du
#define NVME_ADM_MI_RECV	0x1eu
#define NVME_ADM_DBBUF_CONFIG	0x7cu
#define NVME_ADM_FORMAT_NVM	0x80u
#define NVME_ADM_SECURITY_SEND	0x81u
#define NVME_ADM_SECURITY_RECV	0x82u
#define NVME_ADM_SANITIZE	0x84u
#define NVME_ADM_GET_LBA_STATUS 0x86u
#define NVME_ADM_VENDOR_FIRST	0xc0u

/* ---- NVM command set I/O opcodes (NVM Command Set 1.0 Figure 18) -------- */
#define NVME_IO_FLUSH	      0x00u
#define NVME_IO_WRITE	      0x01u
#define NVME_IO_READ	      0x02u
#define NVME_IO_WRITE_UNCOR   0x04u
#define NVME_IO_COMPARE	      0x05u
#define NVME_IO_WRITE_ZEROES  0x08u
#define NVME_IO_DSM	      0x09u
#define NVME_IO_VERIFY	      0x0cu
#define NVME_IO_RESV_REGISTER 0x0du
#define NVME_IO_RESV_REPORT   0x0eu
#define NVME_IO_RESV_ACQUIRE  0x11u
#define NVME_IO_RESV_RELEASE  0x15u
#define NVME_IO_VENDOR_FIRST  0x80u

/* ---- Read / Write / Compare (NVM Command Set §3.2.4, §3.2.6) ------------ */
/* SLBA: CDW10 (low) and CDW11 (high) */
#define NVME_RW_NLB_SHIFT 0 /* CDW12: number of logical blocks, 0-based */
#define NVME_RW_NLB_MASK  0xffffu
#define NVME_RW_FUA_SHIFT 30 /* CDW12: force unit access */
#define NVME_RW_FUA_MASK  0x1u
/* Dataset Management (NVM Command Set 1.0 §3.2.3): CDW10 NR (0-based
 * count of 16-byte ranges, at most NVME_DSM_RANGES_MAX), CDW11 AD
 * (deallocate); the range list is the command's data */
#define NVME_DSM_NR_SHIFT    0
#define NVME_DSM_NR_MASK     0xffu
#define NVME_DSM_RANGE_BYTES 16u
#define NVME_DSM_RANGES_MAX  256u
#define NVME_DSM_AD_SHIFT    2 /* CDW11: Attribute - Deallocate */
#define NVME_DSM_AD_MASK     0x1u
/* one range (Figure 40): context attributes, blocks (1-based, 32 bits),
 * starting LBA */
struct nvme_dsm_range {
	uint32_t cattr;
	uint32_t nlb;
	uint64_t slba;
};
_Static_assert(sizeof(struct nvme_dsm_range) == NVME_DSM_RANGE_BYTES,
	       "DSM range");
/* Write Zeroes (§3.2.8): SLBA in CDW10/11, NLB (0-based, 16 bits) in
 * CDW12 15:0 as Read/Write; no data pointer */

/* ---- Identify (NVMe 2.0 §5.17) ------------------------------------------ */
#define NVME_IDENTIFY_CNS_SHIFT	  0 /* CDW10 */
#define NVME_IDENTIFY_CNS_MASK	  0xffu
#define NVME_CNS_NS		  0x00u
#define NVME_CNS_CTRL		  0x01u
#define NVME_CNS_ACTIVE_NSLIST	  0x02u
#define NVME_CNS_NS_DESC_LIST	  0x03u /* Namespace Identification Descriptors */
#define NVME_CNS_CS_NS		  0x05u /* I/O Command Set specific namespace */
#define NVME_CNS_CS_CTRL	  0x06u /* I/O Command Set specific controller */
#define NVME_CNS_CS_ACTIVE_NSLIST 0x07u
#define NVME_CNS_INDEP_NS	  0x08u /* I/O Command Set Independent namespace */
#define NVME_IDENTIFY_BYTES	  4096u
#define NVME_IDENTIFY_CSI_SHIFT	  24 /* CDW11 31:24 (Figure 272) */
#define NVME_IDENTIFY_CSI_MASK	  0xffu
#define NVME_CSI_NVM		  0x00u /* the NVM Command Set */

/* Identify Controller (NVMe 2.0 §5.17.2.1, Figure 275): the fields capOS
 * reads, at their offsets */
struct nvme_id_ctrl {
	uint16_t vid, ssvid;
	uint8_t sn[20]; /* serial number, ASCII, space padded */
	uint8_t mn[40]; /* model number */
	uint8_t fr[8];	/* firmware revision */
	uint8_t rab, ieee[3], cmic;
	uint8_t mdts; /* max transfer: 2^MDTS CAP.MPSMIN pages; 0 none */
	uint16_t cntlid;
	uint32_t ver;
	uint32_t rtd3r; /* RTD3 resume latency, microseconds */
	uint32_t
	    rtd3e; /* RTD3 entry latency (shutdown), microseconds; 0 none */
	uint8_t rsvd92[512 - 92];
	uint8_t sqes, cqes; /* entry sizes, log2: min 3:0, max 7:4 */
	uint16_t maxcmd;
	uint32_t nn;   /* number of namespaces (highest NSID) */
	uint16_t oncs; /* optional NVM commands: NVME_ONCS_* */
	uint8_t rsvd522[525 - 522];
	uint8_t vwc; /* volatile write cache present: bit 0 */
	uint8_t rsvd526[4096 - 526];
};
_Static_assert(sizeof(struct nvme_id_ctrl) == 4096, "id_ctrl size");
_Static_assert(offsetof(struct nvme_id_ctrl, sn) == 4, "SN");
_Static_assert(offsetof(struct nvme_id_ctrl, mn) == 24, "MN");
_Static_assert(offsetof(struct nvme_id_ctrl, fr) == 64, "FR");
_Static_assert(offsetof(struct nvme_id_ctrl, mdts) == 77, "MDTS");
_Static_assert(offsetof(struct nvme_id_ctrl, rtd3e) == 88, "RTD3E");
_Static_assert(offsetof(struct nvme_id_ctrl, sqes) == 512, "SQES");
_Static_assert(offsetof(struct nvme_id_ctrl, nn) == 516, "NN");
_Static_assert(offsetof(struct nvme_id_ctrl, oncs) == 520, "ONCS");
_Static_assert(offsetof(struct nvme_id_ctrl, vwc) == 525, "VWC");
/* ONCS (NVMe 2.0 §5.17.2.1, Figure 275; Linux's NVME_CTRL_ONCS_*): the
 * optional NVM commands the controller has */
#define NVME_ONCS_COMPARE      (1u << 0)
#define NVME_ONCS_DSM	       (1u << 2)
#define NVME_ONCS_WRITE_ZEROES (1u << 3)
#define NVME_IDCTL_MN	       offsetof(struct nvme_id_ctrl, mn)

/* I/O Command Set specific Identify Controller for the NVM Command Set
 * (CNS 06h, CSI 00h; NVM Command Set 1.0 §4.1.5.2): limits of the NVM
 * commands, each 0 when the controller reports none. WZSL is 2^n units of
 * CAP.MPSMIN, DMRL ranges, DMRSL and DMSL logical blocks */
struct nvme_id_ctrl_nvm {
	uint8_t vsl;	/* Verify Size Limit */
	uint8_t wzsl;	/* Write Zeroes Size Limit */
	uint8_t wusl;	/* Write Uncorrectable Size Limit */
	uint8_t dmrl;	/* Dataset Management Ranges Limit */
	uint32_t dmrsl; /* Dataset Management Range Size Limit */
	uint64_t dmsl;	/* Dataset Management Size Limit */
	uint8_t rsvd16[4096 - 16];
};
_Static_assert(sizeof(struct nvme_id_ctrl_nvm) == 4096, "id_ctrl_nvm size");
_Static_assert(offsetof(struct nvme_id_ctrl_nvm, wzsl) == 1, "WZSL");
_Static_assert(offsetof(struct nvme_id_ctrl_nvm, dmrl) == 3, "DMRL");
_Static_assert(offsetof(struct nvme_id_ctrl_nvm, dmrsl) == 4, "DMRSL");
_Static_assert(offsetof(struct nvme_id_ctrl_nvm, dmsl) == 8, "DMSL");

/* Identify Namespace, NVM command set (NVM Command Set 1.0 §4.1.5.1) */
struct nvme_id_ns {
	uint64_t nsze, ncap, nuse;
	uint8_t nsfeat, nlbaf, flbas, mc, dpc, dps, nmic, rescap;
	uint8_t fpi, dlfeat; /* DLFEAT: what a deallocated block reads */
	uint8_t rsvd34[104 - 34];
	/* the namespace's identifiers, all zeros when it has none: NGUID
	 * (NVMe 1.2 on), EUI64 (1.1 on, big-endian as IEEE writes it); the
	 * Namespace Identification Descriptor list (CNS 03h) carries them
	 * too */
	uint8_t nguid[16];
	uint8_t eui64[8];
	uint32_t lbaf[64]; /* LBA format descriptors (NLBAF + 1 in use) */
	uint8_t rsvd384[4096 - 384];
};
_Static_assert(sizeof(struct nvme_id_ns) == 4096, "id_ns size");
_Static_assert(offsetof(struct nvme_id_ns, nlbaf) == 25, "NLBAF");
_Static_assert(offsetof(struct nvme_id_ns, flbas) == 26, "FLBAS");
_Static_assert(offsetof(struct nvme_id_ns, dlfeat) == 33, "DLFEAT");
_Static_assert(offsetof(struct nvme_id_ns, nguid) == 104, "NGUID");
_Static_assert(offsetof(struct nvme_id_ns, eui64) == 120, "EUI64");
_Static_assert(offsetof(struct nvme_id_ns, lbaf) == 128, "LBAF");
/* DLFEAT bits 2:0 (NVM Command Set 1.0 §4.1.5.1, Figure 97): what a read
 * of a deallocated block returns; only NVME_DLFEAT_READ_ZEROES promises
 * zeros (0: not reported, 2: all ones) */
#define NVME_DLFEAT_READ_SHIFT	0
#define NVME_DLFEAT_READ_MASK	0x7u
#define NVME_DLFEAT_READ_ZEROES 1u
#define NVME_FLBAS_IDX_SHIFT	0 /* low 4 bits of the format index */
#define NVME_FLBAS_IDX_MASK	0xfu
#define NVME_FLBAS_EXT_SHIFT	4 /* metadata at the end of each LBA */
#define NVME_FLBAS_EXT_MASK	0x1u
#define NVME_FLBAS_IDXHI_SHIFT	5 /* upper 2 bits of the format index */
#define NVME_FLBAS_IDXHI_MASK	0x3u
#define NVME_LBAF_MS_SHIFT	0 /* metadata bytes per LBA */
#define NVME_LBAF_MS_MASK	0xffffu
#define NVME_LBAF_LBADS_SHIFT	16 /* log2 of the LBA data size */
#define NVME_LBAF_LBADS_MASK	0xffu

/* Namespace Identification Descriptor list (CNS 03h, NVMe 1.3 on; NVMe
 * 2.0 §5.17.2.3, Figure 277): descriptors one after another in the 4096
 * bytes, each a 4-byte header and NIDL bytes of identifier; a NIDL of 0
 * ends the list. At most one descriptor a type; a type the host does not
 * know is skipped by its NIDL. */
struct nvme_ns_desc {
	uint8_t nidt; /* the identifier's type: NVME_NIDT_* */
	uint8_t nidl; /* its length in bytes, which its type fixes */
	uint8_t rsvd2[2];
	uint8_t nid[]; /* the identifier; bytes only: a descriptor may start
			* at any offset */
};
_Static_assert(sizeof(struct nvme_ns_desc) == 4, "NID header");
_Static_assert(offsetof(struct nvme_ns_desc, nidl) == 1, "NIDL");
_Static_assert(offsetof(struct nvme_ns_desc, nid) == 4, "NID");
#define NVME_NIDT_EUI64 0x1u /* IEEE Extended Unique Identifier */
#define NVME_NIDL_EUI64 8u
#define NVME_NIDT_NGUID 0x2u /* Namespace Globally Unique Identifier */
#define NVME_NIDL_NGUID 16u
#define NVME_NIDT_UUID	0x3u /* Namespace UUID (RFC 4122) */
#define NVME_NIDL_UUID	16u
#define NVME_NIDT_CSI	0x4u /* Command Set Identifier */
#define NVME_NIDL_CSI	1u

/* Active Namespace ID list (§5.17.2.2): ascending u32 NSIDs, ends at the
 * first zero; one page holds NVME_NSLIST_MAX */
#define NVME_NSLIST_MAX 1024u

/* Set Features Number of Queues result (§5.27.1.5), CQE DW0, 0-based */
#define NVME_NUMQ_NSQA_SHIFT 0
#define NVME_NUMQ_NSQA_MASK  0xffffu
#define NVME_NUMQ_NCQA_SHIFT 16
#define NVME_NUMQ_NCQA_MASK  0xffffu

/* ---- Get Log Page (NVMe 2.0 §5.16): dwords to transfer, 0-based --------- */
#define NVME_GLP_LID_SHIFT   0 /* CDW10 7:0: log page identifier */
#define NVME_GLP_LID_MASK    0xffu
#define NVME_LOG_ERROR	     0x01u /* Error Information */
#define NVME_LOG_SMART	     0x02u /* SMART / Health Information */
#define NVME_LOG_FW_SLOT     0x03u /* Firmware Slot Information */
#define NVME_LOG_CHANGED_NS  0x04u /* Changed Namespace List */
#define NVME_LOG_CMD_EFFECTS 0x05u /* Commands Supported and Effects */
#define NVME_GLP_NUMDL_SHIFT 16	   /* CDW10 31:16 */
#define NVME_GLP_NUMDL_MASK  0xffffu
#define NVME_GLP_NUMDU_SHIFT 0 /* CDW11 15:0 */
#define NVME_GLP_NUMDU_MASK  0xffffu

/* ---- Get / Set Features (NVMe 2.0 §5.15, §5.27) ------------------------- */
#define NVME_FEAT_FID_SHIFT    0 /* CDW10 */
#define NVME_FEAT_FID_MASK     0xffu
#define NVME_FEAT_SEL_SHIFT    8 /* Get Features CDW10: select */
#define NVME_FEAT_SEL_MASK     0x7u
#define NVME_FEAT_SV_SHIFT     31 /* Set Features CDW10: save */
#define NVME_FEAT_SV_MASK      0x1u
#define NVME_FID_ARBITRATION   0x01u
#define NVME_FID_POWER_MGMT    0x02u
#define NVME_FID_LBA_RANGE     0x03u /* data: 4096 bytes */
#define NVME_FID_TEMP_THRESH   0x04u
#define NVME_FID_ERR_RECOVERY  0x05u
#define NVME_FID_VWC	       0x06u
#define NVME_FID_NUM_QUEUES    0x07u
#define NVME_FID_IRQ_COALESCE  0x08u
#define NVME_FID_IRQ_CONFIG    0x09u
#define NVME_FID_WRITE_ATOMIC  0x0au
#define NVME_FID_ASYNC_EVENT   0x0bu
#define NVME_FID_APST	       0x0cu /* data: 256 bytes */
#define NVME_FID_HMB	       0x0du /* CDW13/14: descriptor list address (refused) */
#define NVME_FID_TIMESTAMP     0x0eu /* data: 8 bytes */
#define NVME_FID_KATO	       0x0fu
#define NVME_FID_HOST_BEHAVIOR 0x16u /* data: 512 bytes */
/* Error Recovery (FID 0x05): CDW11 TLER 15:0, DULBE bit 16 */
#define NVME_ERRREC_DULBE_SHIFT 16
#define NVME_ERRREC_DULBE_MASK	0x1u
/* Interrupt Vector Configuration (FID 0x09): CDW11 IV 15:0, CD bit 16 */
#define NVME_IVC_IV_SHIFT 0
#define NVME_IVC_IV_MASK  0xffffu
/* Host Memory Buffer, Set Features: CDW11 EHM bit 0, CDW12 HSIZE,
 * CDW13 HMDLLA (16-byte aligned), CDW14 HMDLUA, CDW15 HMDLEC */
#define NVME_HMB_EHM_SHIFT 0
#define NVME_HMB_EHM_MASK  0x1u
/* Number of Queues (FID 0x07): CDW11 NSQR 15:0, NCQR 31:16, 0-based */
#define NVME_NUMQ_NSQR_SHIFT 0
#define NVME_NUMQ_NSQR_MASK  0xffffu
#define NVME_NUMQ_NCQR_SHIFT 16
#define NVME_NUMQ_NCQR_MASK  0xffffu

/* ---- Create / Delete I/O queues (NVMe 2.0 §5.4, §5.5, §5.6, §5.7) -------- */
#define NVME_CREATEQ_QID_SHIFT	  0 /* CDW10 */
#define NVME_CREATEQ_QID_MASK	  0xffffu
#define NVME_CREATEQ_QSIZE_SHIFT  16 /* CDW10, 0-based entries */
#define NVME_CREATEQ_QSIZE_MASK	  0xffffu
#define NVME_CREATEQ_PC_SHIFT	  0 /* CDW11: physically contiguous */
#define NVME_CREATEQ_PC_MASK	  0x1u
#define NVME_CREATECQ_IEN_SHIFT	  1 /* CDW11: interrupts enabled */
#define NVME_CREATECQ_IEN_MASK	  0x1u
#define NVME_CREATECQ_IV_SHIFT	  16 /* CDW11: interrupt vector */
#define NVME_CREATECQ_IV_MASK	  0xffffu
#define NVME_CREATESQ_QPRIO_SHIFT 1 /* CDW11 */
#define NVME_CREATESQ_QPRIO_MASK  0x3u
#define NVME_CREATESQ_CQID_SHIFT  16 /* CDW11 */
#define NVME_CREATESQ_CQID_MASK	  0xffffu
#define NVME_DELETEQ_QID_SHIFT	  0 /* CDW10 */
#define NVME_DELETEQ_QID_MASK	  0xffffu
/* Abort (§5.1): CDW10 SQID 15:0, CID 31:16 */
#define NVME_ABORT_SQID_SHIFT 0
#define NVME_ABORT_SQID_MASK  0xffffu
#define NVME_ABORT_CID_SHIFT  16
#define NVME_ABORT_CID_MASK   0xffffu

#define NVME_SQE_BYTES 64u /* CC.IOSQES = 6 */
#define NVME_CQE_BYTES 16u /* CC.IOCQES = 4 */

static inline uint8_t nvme_sqe_opc(const struct nvme_sqe *c)
{
	return (uint8_t)((c->cdw0 >> NVME_CDW0_OPC_SHIFT) & NVME_CDW0_OPC_MASK);
}
static inline uint16_t nvme_sqe_cid(const struct nvme_sqe *c)
{
	return (uint16_t)((c->cdw0 >> NVME_CDW0_CID_SHIFT) &
			  NVME_CDW0_CID_MASK);
}
static inline void nvme_sqe_set_cid(struct nvme_sqe *c, uint16_t cid)
{
	c->cdw0 = (c->cdw0 & ~(NVME_CDW0_CID_MASK << NVME_CDW0_CID_SHIFT)) |
		  ((uint32_t)cid << NVME_CDW0_CID_SHIFT);
}
static inline uint16_t nvme_cqe_sc(const struct nvme_cqe *e)
{
	return (uint16_t)((e->status >> NVME_CQE_SC_SHIFT) & NVME_CQE_SC_MASK);
}
static inline uint16_t nvme_cqe_sct(const struct nvme_cqe *e)
{
	return (uint16_t)((e->status >> NVME_CQE_SCT_SHIFT) &
			  NVME_CQE_SCT_MASK);
}
static inline unsigned nvme_cqe_phase(const struct nvme_cqe *e)
{
	return (e->status >> NVME_CQE_P_SHIFT) & NVME_CQE_P_MASK;
}
#endif
