/* dma/virtio_reg.h — virtio 1.2 hardware definitions only:
 * the PCI transport structures (§4.1), device status and feature bits
 * (§2.1, §2.2, §6), split virtqueues (§2.7) and the network device (§5.1).
 * No software state lives here. All multi-byte fields are little-endian
 * (§4.1.3), which is also the CPU's order on x86. */
#ifndef CAPOS_VIRTIO_REG_H
#define CAPOS_VIRTIO_REG_H
#include <stddef.h>
#include <stdint.h>

/* ---- PCI device discovery, §4.1.2 ---------------------------------------- */
#define VIRTIO_PCI_VENDOR	      0x1af4
#define VIRTIO_PCI_DEVICE_MODERN_BASE 0x1040 /* + virtio device id */
#define VIRTIO_ID_NET		      1
#define VIRTIO_PCI_DEVICE_NET_MODERN                                           \
	(VIRTIO_PCI_DEVICE_MODERN_BASE + VIRTIO_ID_NET)
#define VIRTIO_PCI_DEVICE_NET_TRANSITIONAL 0x1000

/* ---- virtio structure PCI capabilities, §4.1.4 ----------------------------
 */
#define PCI_CAP_ID_VNDR 0x09

/* §4.1.4 struct virtio_pci_cap, read field by field from config space */
struct virtio_pci_cap {
	uint8_t cap_vndr; /* 0x09 */
	uint8_t cap_next;
	uint8_t cap_len;  /* length of the whole capability */
	uint8_t cfg_type; /* VIRTIO_PCI_CAP_*_CFG */
	uint8_t bar;	  /* 0..5 */
	uint8_t id;
	uint8_t padding[2];
	uint32_t offset; /* le32, within the BAR */
	uint32_t length; /* le32, of the structure */
};
/* §4.1.4.4 struct virtio_pci_notify_cap */
struct virtio_pci_notify_cap {
	struct virtio_pci_cap cap;
	uint32_t notify_off_multiplier; /* le32 */
};
#define VIRTIO_PCI_CAP_VNDR	offsetof(struct virtio_pci_cap, cap_vndr)
#define VIRTIO_PCI_CAP_NEXT	offsetof(struct virtio_pci_cap, cap_next)
#define VIRTIO_PCI_CAP_LEN	offsetof(struct virtio_pci_cap, cap_len)
#define VIRTIO_PCI_CAP_CFG_TYPE offsetof(struct virtio_pci_cap, cfg_type)
#define VIRTIO_PCI_CAP_BAR	offsetof(struct virtio_pci_cap, bar)
#define VIRTIO_PCI_CAP_ID	offsetof(struct virtio_pci_cap, id)
#define VIRTIO_PCI_CAP_OFFSET	offsetof(struct virtio_pci_cap, offset)
#define VIRTIO_PCI_CAP_LENGTH	offsetof(struct virtio_pci_cap, length)
#define VIRTIO_PCI_CAP_SIZE	sizeof(struct virtio_pci_cap)
#define VIRTIO_PCI_NOTIFY_CAP_MULT                                             \
	offsetof(struct virtio_pci_notify_cap, notify_off_multiplier)
#define VIRTIO_PCI_NOTIFY_CAP_SIZE sizeof(struct virtio_pci_notify_cap)
_Static_assert(offsetof(struct virtio_pci_cap, cap_len) == 2, "cap_len");
_Static_assert(offsetof(struct virtio_pci_cap, cfg_type) == 3, "cfg_type");
_Static_assert(offsetof(struct virtio_pci_cap, bar) == 4, "bar");
_Static_assert(offsetof(struct virtio_pci_cap, id) == 5, "id");
_Static_assert(offsetof(struct virtio_pci_cap, offset) == 8, "offset");
_Static_assert(offsetof(struct virtio_pci_cap, length) == 12, "length");
_Static_assert(sizeof(struct virtio_pci_cap) == 16, "virtio_pci_cap size");
_Static_assert(offsetof(struct virtio_pci_notify_cap, notify_off_multiplier) ==
		   16,
	       "mult");
_Static_assert(sizeof(struct virtio_pci_notify_cap) == 20, "notify cap size");

/* cfg_type values, §4.1.4 */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG	  5 /* config-space access window: not used */

/* ---- common configuration structure, §4.1.4.3 ------------------------------
 */
struct virtio_pci_common_cfg {
	uint32_t device_feature_select; /* rw */
	uint32_t device_feature;	/* ro */
	uint32_t driver_feature_select; /* rw */
	uint32_t driver_feature;	/* rw */
	uint16_t config_msix_vector;	/* rw */
	uint16_t num_queues;		/* ro */
	uint8_t device_status;		/* rw; writing 0 resets */
	uint8_t config_generation;	/* ro */
	uint16_t queue_select;		/* rw */
	uint16_t queue_size;		/* rw; 0: queue unavailable */
	uint16_t queue_msix_vector;	/* rw */
	uint16_t queue_enable;		/* rw */
	uint16_t queue_notify_off;	/* ro; in notify_off_multiplier units */
	uint64_t queue_desc;		/* rw; Descriptor Area */
	uint64_t queue_driver;		/* rw; Driver Area (available ring) */
	uint64_t queue_device;		/* rw; Device Area (used ring) */
} __attribute__((packed));

/* offsets used with the DeviceMmio accessors; the struct above is the
 * checked layout they come from */
#define VIRTIO_COMMON_DFSELECT                                                 \
	offsetof(struct virtio_pci_common_cfg, device_feature_select)
#define VIRTIO_COMMON_DF offsetof(struct virtio_pci_common_cfg, device_feature)
#define VIRTIO_COMMON_GFSELECT                                                 \
	offsetof(struct virtio_pci_common_cfg, driver_feature_select)
#define VIRTIO_COMMON_GF offsetof(struct virtio_pci_common_cfg, driver_feature)
#define VIRTIO_COMMON_MSIX                                                     \
	offsetof(struct virtio_pci_common_cfg, config_msix_vector)
#define VIRTIO_COMMON_NUMQ offsetof(struct virtio_pci_common_cfg, num_queues)
#define VIRTIO_COMMON_STATUS                                                   \
	offsetof(struct virtio_pci_common_cfg, device_status)
#define VIRTIO_COMMON_CFGGEN                                                   \
	offsetof(struct virtio_pci_common_cfg, config_generation)
#define VIRTIO_COMMON_Q_SELECT                                                 \
	offsetof(struct virtio_pci_common_cfg, queue_select)
#define VIRTIO_COMMON_Q_SIZE offsetof(struct virtio_pci_common_cfg, queue_size)
#define VIRTIO_COMMON_Q_MSIX                                                   \
	offsetof(struct virtio_pci_common_cfg, queue_msix_vector)
#define VIRTIO_COMMON_Q_ENABLE                                                 \
	offsetof(struct virtio_pci_common_cfg, queue_enable)
#define VIRTIO_COMMON_Q_NOFF                                                   \
	offsetof(struct virtio_pci_common_cfg, queue_notify_off)
#define VIRTIO_COMMON_Q_DESC offsetof(struct virtio_pci_common_cfg, queue_desc)
#define VIRTIO_COMMON_Q_DRIVER                                                 \
	offsetof(struct virtio_pci_common_cfg, queue_driver)
#define VIRTIO_COMMON_Q_DEVICE                                                 \
	offsetof(struct virtio_pci_common_cfg, queue_device)
#define VIRTIO_COMMON_SIZE sizeof(struct virtio_pci_common_cfg)

_Static_assert(offsetof(struct virtio_pci_common_cfg, device_feature_select) ==
		   0x00,
	       "dfselect");
_Static_assert(offsetof(struct virtio_pci_common_cfg, device_feature) == 0x04,
	       "df");
_Static_assert(offsetof(struct virtio_pci_common_cfg, driver_feature_select) ==
		   0x08,
	       "gfselect");
_Static_assert(offsetof(struct virtio_pci_common_cfg, driver_feature) == 0x0c,
	       "gf");
_Static_assert(offsetof(struct virtio_pci_common_cfg, config_msix_vector) ==
		   0x10,
	       "msix");
_Static_assert(offsetof(struct virtio_pci_common_cfg, num_queues) == 0x12,
	       "numq");
_Static_assert(offsetof(struct virtio_pci_common_cfg, device_status) == 0x14,
	       "status");
_Static_assert(offsetof(struct virtio_pci_common_cfg, config_generation) ==
		   0x15,
	       "cfggen");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_select) == 0x16,
	       "qsel");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_size) == 0x18,
	       "qsize");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_msix_vector) ==
		   0x1a,
	       "qmsix");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_enable) == 0x1c,
	       "qenable");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_notify_off) == 0x1e,
	       "qnoff");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_desc) == 0x20,
	       "qdesc");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_driver) == 0x28,
	       "qdriver");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_device) == 0x30,
	       "qdevice");
_Static_assert(sizeof(struct virtio_pci_common_cfg) == 0x38, "common cfg size");

/* MSI-X vector configuration, §4.1.5.1.2: entry numbers 0..0x7ff; a read
 * back of NO_VECTOR means the device refused the mapping */
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* ISR status, §4.1.4.5 (read clears; only used without MSI-X) */
#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

/* ---- device status field, §2.1 ---------------------------------------------
 */
#define VIRTIO_STATUS_ACKNOWLEDGE	 0x01
#define VIRTIO_STATUS_DRIVER		 0x02
#define VIRTIO_STATUS_DRIVER_OK		 0x04
#define VIRTIO_STATUS_FEATURES_OK	 0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED		 0x80

/* ---- reserved (transport) feature bits, §6 ----------------------------------
 */
#define VIRTIO_F_INDIRECT_DESC	   28
#define VIRTIO_F_EVENT_IDX	   29
#define VIRTIO_F_VERSION_1	   32
#define VIRTIO_F_ACCESS_PLATFORM   33
#define VIRTIO_F_RING_PACKED	   34
#define VIRTIO_F_IN_ORDER	   35
#define VIRTIO_F_ORDER_PLATFORM	   36
#define VIRTIO_F_SR_IOV		   37
#define VIRTIO_F_NOTIFICATION_DATA 38
#define VIRTIO_F_NOTIF_CONFIG_DATA 39
#define VIRTIO_F_RING_RESET	   40
/* bits 0..23 are the device type's (§6): they change what the device puts
 * in a buffer, never how it reads the rings */
#define VIRTIO_F_DEVICE_BITS 24

/* ---- split virtqueues, §2.7 -------------------------------------------------
 */
/* alignment of the three parts, §2.7 (table "Virtqueue Part Alignment") */
#define VIRTQ_DESC_ALIGN  16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN  4
#define VIRTQ_SIZE_MAX	  32768 /* §2.7: queue size is a power of 2, <= 32768 */

/* §2.7.5 the descriptor table */
struct virtq_desc {
	uint64_t addr; /* device (bus) address */
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VIRTQ_DESC_F_NEXT     0x1
#define VIRTQ_DESC_F_WRITE    0x2 /* device writes (otherwise reads) */
#define VIRTQ_DESC_F_INDIRECT 0x4
_Static_assert(offsetof(struct virtq_desc, addr) == 0, "desc.addr");
_Static_assert(offsetof(struct virtq_desc, len) == 8, "desc.len");
_Static_assert(offsetof(struct virtq_desc, flags) == 12, "desc.flags");
_Static_assert(offsetof(struct virtq_desc, next) == 14, "desc.next");
_Static_assert(sizeof(struct virtq_desc) == 16, "desc size");

/* §2.7.6 the available ring: flags, idx, ring[size], used_event */
struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};
#define VIRTQ_AVAIL_F_NO_INTERRUPT 0x1
_Static_assert(offsetof(struct virtq_avail, flags) == 0, "avail.flags");
_Static_assert(offsetof(struct virtq_avail, idx) == 2, "avail.idx");
_Static_assert(offsetof(struct virtq_avail, ring) == 4, "avail.ring");
#define VIRTQ_AVAIL_BYTES(n) (4u + 2u * (n) + 2u)

/* §2.7.8 the used ring: flags, idx, ring[size] of {id, len}, avail_event */
struct virtq_used_elem {
	uint32_t id;  /* head of the used descriptor chain */
	uint32_t len; /* bytes written into the buffer by the device */
};
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};
#define VIRTQ_USED_F_NO_NOTIFY 0x1
_Static_assert(offsetof(struct virtq_used_elem, id) == 0, "used_elem.id");
_Static_assert(offsetof(struct virtq_used_elem, len) == 4, "used_elem.len");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used_elem size");
_Static_assert(offsetof(struct virtq_used, flags) == 0, "used.flags");
_Static_assert(offsetof(struct virtq_used, idx) == 2, "used.idx");
_Static_assert(offsetof(struct virtq_used, ring) == 4, "used.ring");
#define VIRTQ_USED_BYTES(n) (4u + 8u * (n) + 2u)

/* ---- network device, §5.1 ---------------------------------------------------
 */
/* §5.1.2 virtqueues without VIRTIO_NET_F_MQ */
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

/* §5.1.3 feature bits (those named here; capOS negotiates only MAC and
 * STATUS of these) */
#define VIRTIO_NET_F_CSUM	  0
#define VIRTIO_NET_F_GUEST_CSUM	  1
#define VIRTIO_NET_F_MTU	  3
#define VIRTIO_NET_F_MAC	  5
#define VIRTIO_NET_F_MRG_RXBUF	  15
#define VIRTIO_NET_F_STATUS	  16
#define VIRTIO_NET_F_CTRL_VQ	  17
#define VIRTIO_NET_F_MQ		  22
#define VIRTIO_NET_F_SPEED_DUPLEX 63

/* §5.1.4 device configuration layout (the fields capOS reads) */
struct virtio_net_config {
	uint8_t mac[6];
	uint16_t status;	      /* only with VIRTIO_NET_F_STATUS */
	uint16_t max_virtqueue_pairs; /* only with MQ or RSS */
	uint16_t mtu;		      /* only with VIRTIO_NET_F_MTU */
} __attribute__((packed));
#define VIRTIO_NET_CFG_MAC    offsetof(struct virtio_net_config, mac)
#define VIRTIO_NET_CFG_STATUS offsetof(struct virtio_net_config, status)
_Static_assert(offsetof(struct virtio_net_config, mac) == 0, "net cfg mac");
_Static_assert(offsetof(struct virtio_net_config, status) == 6,
	       "net cfg status");
_Static_assert(offsetof(struct virtio_net_config, max_virtqueue_pairs) == 8,
	       "net cfg mvqp");
_Static_assert(offsetof(struct virtio_net_config, mtu) == 10, "net cfg mtu");
#define VIRTIO_NET_S_LINK_UP  0x1
#define VIRTIO_NET_S_ANNOUNCE 0x2

/* §5.1.6 the header in front of every packet. With VIRTIO_F_VERSION_1 the
 * num_buffers field is always present: 12 bytes (without HASH_REPORT). */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE	    0
_Static_assert(offsetof(struct virtio_net_hdr, flags) == 0, "hdr.flags");
_Static_assert(offsetof(struct virtio_net_hdr, gso_type) == 1, "hdr.gso_type");
_Static_assert(offsetof(struct virtio_net_hdr, hdr_len) == 2, "hdr.hdr_len");
_Static_assert(offsetof(struct virtio_net_hdr, gso_size) == 4, "hdr.gso_size");
_Static_assert(offsetof(struct virtio_net_hdr, csum_start) == 6,
	       "hdr.csum_start");
_Static_assert(offsetof(struct virtio_net_hdr, csum_offset) == 8,
	       "hdr.csum_offset");
_Static_assert(offsetof(struct virtio_net_hdr, num_buffers) == 10,
	       "hdr.num_buffers");
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "hdr size");

/* §5.1.6.3 without GSO or MRG_RXBUF a receive buffer holds the header and
 * up to 1514 bytes of Ethernet frame: at least 1526 bytes */
#define VIRTIO_NET_MAX_FRAME 1514
#define VIRTIO_NET_RX_MIN_BUF                                                  \
	(sizeof(struct virtio_net_hdr) + VIRTIO_NET_MAX_FRAME)
#endif
