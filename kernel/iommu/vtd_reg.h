/* kernel/iommu/vtd_reg.h — Intel VT-d remapping hardware: registers (VT-d
 * spec rev 3.x §10.4) and the in-memory structures (§9). Hardware only. */
#ifndef CAPOS_VTD_REG_H
#define CAPOS_VTD_REG_H

/* §10.4 register offsets from the DRHD base */
#define VTD_VER	     0x00
#define VTD_CAP	     0x08
#define VTD_ECAP     0x10
#define VTD_GCMD     0x18
#define VTD_GSTS     0x1c
#define VTD_RTADDR   0x20
#define VTD_CCMD     0x28
#define VTD_FSTS     0x34
#define VTD_FECTL    0x38
#define VTD_FEDATA   0x3c
#define VTD_FEADDR   0x40
#define VTD_FEUADDR  0x44
#define VTD_IQH	     0x80
#define VTD_IQT	     0x88
#define VTD_IQA	     0x90
#define VTD_ICS	     0x9c
#define VTD_IECTL    0xa0
#define VTD_IRTA     0xb8
#define VTD_REG_SPAN 0x1000 /* one 4 KiB register page per unit */

/* §10.4.2 CAP */
#define VTD_CAP_ND_SHIFT    0
#define VTD_CAP_ND_MASK	    0x7ull
#define VTD_CAP_RWBF	    (1ull << 4)
#define VTD_CAP_CM	    (1ull << 7)
#define VTD_CAP_SAGAW_SHIFT 8
#define VTD_CAP_SAGAW_MASK  0x1full
#define VTD_CAP_MGAW_SHIFT  16
#define VTD_CAP_MGAW_MASK   0x3full
#define VTD_CAP_FRO_SHIFT   24
#define VTD_CAP_FRO_MASK    0x3ffull
#define VTD_CAP_NFR_SHIFT   40
#define VTD_CAP_NFR_MASK    0xffull
#define VTD_CAP_DWD	    (1ull << 54)
#define VTD_CAP_DRD	    (1ull << 55)
#define VTD_SAGAW_39	    (1u << 1) /* 3-level tables */
#define VTD_SAGAW_48	    (1u << 2) /* 4-level tables */

/* §10.4.3 ECAP */
#define VTD_ECAP_C	   (1ull << 0)
#define VTD_ECAP_QI	   (1ull << 1)
#define VTD_ECAP_IR	   (1ull << 3)
#define VTD_ECAP_EIM	   (1ull << 4)
#define VTD_ECAP_IRO_SHIFT 8
#define VTD_ECAP_IRO_MASK  0x3ffull

/* §10.4.4/§10.4.5 GCMD, GSTS (same bit positions) */
#define VTD_GCMD_TE    (1u << 31)
#define VTD_GCMD_SRTP  (1u << 30)
#define VTD_GCMD_WBF   (1u << 27)
#define VTD_GCMD_QIE   (1u << 26)
#define VTD_GCMD_IRE   (1u << 25)
#define VTD_GCMD_SIRTP (1u << 24)
#define VTD_GCMD_CFI   (1u << 23)
/* §10.4.4: the persistent enables that a GCMD write must carry along
 * (the one-shot bits SRTP, WBF, SIRTP are not repeated) */
#define VTD_GSTS_KEEP 0x96ffffffu

/* §10.4.7 FSTS */
#define VTD_FSTS_PFO (1u << 0)
#define VTD_FSTS_PPF (1u << 1)
#define VTD_FSTS_IQE (1u << 4)
/* device-TLB invalidation errors (capOS queues none): while ITE is set
 * the unit fetches no descriptor (W1C, as ICE) */
#define VTD_FSTS_ICE (1u << 5)
#define VTD_FSTS_ITE (1u << 6)
/* §10.4.8 FECTL */
#define VTD_FECTL_IM (1u << 31)

/* §10.4.14 FRCD, 128 bits at FRO + 16 n, read as four dwords */
#define VTD_FRCD_DW2_SID_MASK 0xffffu
#define VTD_FRCD_DW3_FR_MASK  0xffu
#define VTD_FRCD_DW3_T	      (1u << 30) /* 1: read request */
#define VTD_FRCD_DW3_F	      (1u << 31) /* W1C */

/* §10.4.23 IQA */
#define VTD_IQA_QS_SHIFT 0 /* 2^QS pages */
#define VTD_IQT_SHIFT	 4 /* descriptor index in IQH/IQT 18:4 */
/* §10.4.29 IRTA */
#define VTD_IRTA_S_SHIFT 0 /* 2^(S+1) entries */
#define VTD_IRTA_EIME	 (1u << 11)

/* §10.4.8.1 IOTLB register (IRO + 8) and §10.4.8.2 IVA (IRO) */
#define VTD_IOTLB_IVT	      (1ull << 63)
#define VTD_IOTLB_IIRG_GLOBAL (1ull << 60)

/* §9.1 root entry, §9.3 legacy context entry */
#define VTD_ROOT_P	  1ull
#define VTD_CTX_P	  1ull
#define VTD_CTX_AW_SHIFT  0 /* hi: 1 = 39 bit, 2 = 48 bit */
#define VTD_CTX_DID_SHIFT 8
#define VTD_ENTRIES	  256

/* §9.8 second-level paging entries */
#define VTD_SL_R	 (1ull << 0)
#define VTD_SL_W	 (1ull << 1)
#define VTD_SL_ADDR_MASK 0x000ffffffffff000ull

/* §6.5.2 queued invalidation descriptors (128 bit) */
#define VTD_QI_CC	       1 /* context-cache invalidate */
#define VTD_QI_IOTLB	       2
#define VTD_QI_IEC	       4 /* interrupt entry cache */
#define VTD_QI_WAIT	       5
#define VTD_QI_G_SHIFT	       4 /* CC and IOTLB granularity */
#define VTD_QI_G_GLOBAL	       1
#define VTD_QI_G_DOMAIN	       2
#define VTD_QI_G_DEVICE	       3 /* CC: device; IOTLB: page */
#define VTD_QI_DID_SHIFT       16
#define VTD_QI_SID_SHIFT       32
#define VTD_QI_IOTLB_DW	       (1ull << 6)
#define VTD_QI_IOTLB_DR	       (1ull << 7)
#define VTD_QI_IEC_INDEX       (1ull << 4) /* else global */
#define VTD_QI_IEC_IIDX_SHIFT  32
#define VTD_QI_WAIT_SW	       (1ull << 5)
#define VTD_QI_WAIT_FN	       (1ull << 6)
#define VTD_QI_WAIT_DATA_SHIFT 32

/* §9.10 interrupt remapping table entry (128 bit), remapped format */
#define VTD_IRTE_P		 (1ull << 0)
#define VTD_IRTE_V_SHIFT	 16
#define VTD_IRTE_DST_SHIFT	 32
#define VTD_IRTE_XAPIC_DST_SHIFT 8 /* xAPIC id sits at DST 15:8 */
#define VTD_IRTE_SID_SHIFT	 0 /* hi */
#define VTD_IRTE_SQ_SHIFT	 16
#define VTD_IRTE_SVT_SHIFT	 18
#define VTD_IRTE_SVT_VERIFY_SID	 1ull
/* §5.1.2.2 remappable-format MSI address */
#define VTD_MSI_IF_REMAP     (1u << 4)
#define VTD_MSI_HANDLE_SHIFT 5
#define VTD_MSI_HANDLE15     (1u << 2)

/* §7.1 fault reasons (QEMU's intel_iommu_internal.h VTD_FR_* records 1-6,
 * 7, 0xC, 0xE); from VTD_FR_IR on, interrupt-remapping faults (§5.1.4.1),
 * whose record holds the interrupt index in FI 63:48, no address */
#define VTD_FR_ROOT_NP		1
#define VTD_FR_CTX_NP		2
#define VTD_FR_CTX_INV		3
#define VTD_FR_AGAW		4
#define VTD_FR_WRITE		5
#define VTD_FR_READ		6
#define VTD_FR_PTE_FETCH	7   /* a next-level table entry not readable */
#define VTD_FR_PTE_RSVD		0xc /* reserved bits set in a paging entry */
#define VTD_FR_INTR_RANGE	0xe /* translated into 0xFEExxxxx */
#define VTD_FR_IR		0x20
#define VTD_FR_IR_NP		0x22 /* IRTE not present */
#define VTD_FR_IR_COMPAT	0x25 /* compatibility format blocked */
#define VTD_FR_IR_SID		0x26 /* source id verification failed */
#define VTD_FRCD_IR_INDEX_SHIFT 48
#endif
