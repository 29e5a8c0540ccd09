/* kernel/pci/pci_reg.h — PCI configuration space (PCI Local Bus 3.0 ch. 6,
 * PCIe Base 5.0 ch. 7). Hardware only. */
#ifndef CAPOS_PCI_REG_H
#define CAPOS_PCI_REG_H

#define PCI_VENDOR_ID		 0x00
#define PCI_DEVICE_ID		 0x02
#define PCI_COMMAND		 0x04
#define PCI_COMMAND_IO		 0x1
#define PCI_COMMAND_MEM		 0x2
#define PCI_COMMAND_MASTER	 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS		 0x06
#define PCI_STATUS_CAP_LIST	 0x10
#define PCI_REVISION		 0x08
#define PCI_CLASS		 0x09 /* prog-if, subclass, class: 3 bytes */
#define PCI_HEADER_TYPE		 0x0e
#define PCI_HEADER_TYPE_MASK	 0x7f
#define PCI_HEADER_MULTI	 0x80
#define PCI_BAR0		 0x10
#define PCI_BAR_IO		 0x1
#define PCI_BAR_TYPE_SHIFT	 1
#define PCI_BAR_TYPE_MASK	 0x3
#define PCI_BAR_TYPE_64		 0x2
#define PCI_BAR_PREFETCH	 0x8
#define PCI_SUBSYS_VENDOR	 0x2c
#define PCI_SUBSYS_ID		 0x2e
#define PCI_CAP_PTR		 0x34
#define PCI_CAP_PTR_MASK	 0xfc /* bits 1:0 reserved (PCI 3.0 §6.7) */
/* type 1 (bridge) header */
#define PCI_SECONDARY_BUS   0x19
#define PCI_SUBORDINATE_BUS 0x1a

/* capability IDs */
#define PCI_CAP_ID_MSI	0x05
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_EXP	0x10
#define PCI_CAP_ID_MSIX 0x11

/* PCI Express capability (PCIe Base 5.0 §7.5.3): its flags' port type,
 * and a Root Port's Root Control and Root Capabilities; bit 0 of the
 * latter offers Configuration RRS Software Visibility, bit 4 of the former
 * turns it on */
#define PCI_EXP_FLAGS	       0x02
#define PCI_EXP_FLAGS_TYPE     0x00f0
#define PCI_EXP_TYPE_ROOT_PORT 0x4
#define PCI_EXP_RTCTL	       0x1c
#define PCI_EXP_RTCTL_RRS_SVE  0x0010
#define PCI_EXP_RTCAP	       0x1e
#define PCI_EXP_RTCAP_RRS_SV   0x0001

/* the capability list and every structure on it lie in the first 256
 * bytes (PCI 3.0 §6.7); 0x100 up is PCIe extended configuration space */
#define PCI_CFG_LEGACY_SIZE 0x100

/* MSI (PCI 3.0 §6.8.1) */
#define PCI_MSI_FLAGS	     2
#define PCI_MSI_FLAGS_ENABLE 0x1
#define PCI_MSI_FLAGS_64BIT  0x80
#define PCI_MSI_ADDR_LO	     4
#define PCI_MSI_ADDR_HI	     8
#define PCI_MSI_DATA_32	     8
#define PCI_MSI_DATA_64	     12
/* Message Control bit 8: per-vector masking capable. The structure's
 * bytes from its own Message Control: 10 (32-bit), 14 (64-bit), 20 or 24
 * with per-vector masking (reserved, mask bits, pending bits) */
#define PCI_MSI_FLAGS_MASKBIT 0x100
#define PCI_MSI_CAP_LEN(fl)                                                    \
	(10u + (PCI_MSI_FLAGS_64BIT & (fl) ? 4u : 0u) +                        \
	 (PCI_MSI_FLAGS_MASKBIT & (fl) ? 10u : 0u))

/* MSI-X (PCI 3.0 §6.8.2) */
#define PCI_MSIX_FLAGS		    2
#define PCI_MSIX_FLAGS_QSIZE_MASK   0x7ff
#define PCI_MSIX_FLAGS_MASKALL	    0x4000
#define PCI_MSIX_FLAGS_ENABLE	    0x8000
#define PCI_MSIX_TABLE		    4
#define PCI_MSIX_PBA		    8
#define PCI_MSIX_CAP_LEN	    12
#define PCI_MSIX_BIR_MASK	    0x7
#define PCI_MSIX_ENTRY_SIZE	    16
#define PCI_MSIX_ENTRY_ADDR_LO	    0
#define PCI_MSIX_ENTRY_ADDR_HI	    4
#define PCI_MSIX_ENTRY_DATA	    8
#define PCI_MSIX_ENTRY_CTRL	    12
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1

/* x86 MSI address/data (Intel SDM vol. 3A §11.11) */
#define MSI_ADDR_BASE	    0xfee00000u
#define MSI_ADDR_LAST	    0xfeefffffu /* the range's last byte (0xFEEx_xxxx) */
#define MSI_ADDR_DEST_SHIFT 12
#endif
