/* drivers/gvnic/gve_reg.h — Google Virtual NIC (gVNIC, PCI 1ae0:0042):
 * registers, admin-queue commands and ring descriptors. Hardware only; the
 * driver's state lives in gve_var.h.
 *
 * Basis of record: the Linux GVE driver, drivers/net/ethernet/google/gve/
 * (gve_register.h, gve_adminq.h, gve_desc.h, gve_desc_dqo.h, gve_dqo.h) and
 * Documentation/networking/device_drivers/ethernet/google/gve.rst. Section
 * names in comments ("gve_adminq.h: ...") point at the struct or enum there.
 *
 * Byte order: BAR0 registers, admin commands, GQI descriptors and GQI
 * doorbells are big-endian; DQO descriptors and DQO doorbells little-endian.
 * Wire structs hold raw device-order values; accessors convert at the use. */
#ifndef GVE_REG_H
#define GVE_REG_H
#include <stddef.h>
#include <stdint.h>

#define GVE_PCI_VENDOR 0x1ae0
#define GVE_PCI_DEVICE 0x0042
#define GVE_REG_BAR    0 /* configuration/status registers */
#define GVE_MSIX_BAR   1 /* MSI-X table: the kernel's, never granted */
#define GVE_DB_BAR     2 /* doorbells: 4 bytes each, index from the device */

/* ---- BAR0 registers (gve_register.h: struct gve_registers) ------------- */
#define GVE_REG_DEVICE_STATUS	     0x00 /* be32, read-only */
#define GVE_REG_DRIVER_STATUS	     0x04 /* be32, rev >= 1 */
#define GVE_REG_MAX_TX_QUEUES	     0x08 /* be32, read-only */
#define GVE_REG_MAX_RX_QUEUES	     0x0c /* be32, read-only */
#define GVE_REG_ADMINQ_PFN	     0x10 /* be32, rev 0: address / 4096 */
#define GVE_REG_ADMINQ_DOORBELL	     0x14 /* be32, commands submitted */
#define GVE_REG_ADMINQ_EVENT_COUNTER 0x18 /* be32, read-only, completed */
#define GVE_REG_DRIVER_VERSION	     0x1f /* u8 byte stream, write-only */
#define GVE_REG_ADMINQ_BASE_HI	     0x20 /* be32, rev >= 1 */
#define GVE_REG_ADMINQ_BASE_LO	     0x24 /* be32, rev >= 1 */
#define GVE_REG_ADMINQ_LENGTH	     0x28 /* be16, rev >= 1 */
#define GVE_REG_SIZE		     0x2c

/* device_status (gve_register.h: enum gve_device_status_flags) */
#define GVE_DEVSTAT_RESET	    (1u << 1) /* device asks the driver to reset */
#define GVE_DEVSTAT_LINK_UP	    (1u << 2)
#define GVE_DEVSTAT_REPORT_STATS    (1u << 3)
#define GVE_DEVSTAT_DEVICE_IS_RESET (1u << 4)	/* rev >= 1 handshake */
#define GVE_DEVSTAT_GONE	    0xffffffffu /* all ones: the device is gone */

/* driver_status (gve_register.h: enum gve_driver_status_flags) */
#define GVE_DRVSTAT_RUN	  (1u << 0)
#define GVE_DRVSTAT_RESET (1u << 1)

/* version bytes written to driver_version (gve_main.c: gve_write_version) */
#define GVE_VERSION_PREFIX "GVE-"
#define GVE_VERSION_STR	   "capos-1.0"

/* ---- admin queue (gve_adminq.h, gve_adminq.c) ------------------------- */
#define GVE_ADMINQ_SIZE	    4096 /* one page of 64-byte commands */
#define GVE_ADMINQ_CMD_SIZE 64
#define GVE_ADMINQ_SLOTS    (GVE_ADMINQ_SIZE / GVE_ADMINQ_CMD_SIZE)
#define GVE_ADMINQ_MASK	    (GVE_ADMINQ_SLOTS - 1)
#define GVE_ADMINQ_POLL_US  20000 /* gve_adminq.c: GVE_ADMINQ_SLEEP_LEN */
#define GVE_ADMINQ_POLLS    100	  /* ..._EVENT_COUNTER_CHECK */
#define GVE_RELEASE_POLLS   500	  /* ..._RELEASE_CHECK */
/* capOS polls 50 x 20 us before falling back to the reference's 20 ms
 * steps: a device that answers in microseconds costs microseconds */
#define GVE_FAST_POLLS	 50
#define GVE_FAST_POLL_US 20

/* enum gve_adminq_opcodes */
#define GVE_AQ_DESCRIBE_DEVICE		    0x1
#define GVE_AQ_CONFIGURE_DEVICE_RESOURCES   0x2
#define GVE_AQ_REGISTER_PAGE_LIST	    0x3
#define GVE_AQ_UNREGISTER_PAGE_LIST	    0x4
#define GVE_AQ_CREATE_TX_QUEUE		    0x5
#define GVE_AQ_CREATE_RX_QUEUE		    0x6
#define GVE_AQ_DESTROY_TX_QUEUE		    0x7
#define GVE_AQ_DESTROY_RX_QUEUE		    0x8
#define GVE_AQ_DECONFIGURE_DEVICE_RESOURCES 0x9
#define GVE_AQ_CONFIGURE_RSS		    0xa
#define GVE_AQ_SET_DRIVER_PARAMETER	    0xb
#define GVE_AQ_REPORT_STATS		    0xc
#define GVE_AQ_REPORT_LINK_SPEED	    0xd
#define GVE_AQ_GET_PTYPE_MAP		    0xe
#define GVE_AQ_VERIFY_DRIVER_COMPATIBILITY  0xf
#define GVE_AQ_EXTENDED_COMMAND		    0xff

/* enum gve_adminq_statuses */
#define GVE_AQ_STATUS_UNSET		  0x0
#define GVE_AQ_STATUS_PASSED		  0x1
#define GVE_AQ_STATUS_ABORTED		  0xfffffff0u
#define GVE_AQ_STATUS_ALREADY_EXISTS	  0xfffffff1u
#define GVE_AQ_STATUS_CANCELLED		  0xfffffff2u
#define GVE_AQ_STATUS_DATALOSS		  0xfffffff3u
#define GVE_AQ_STATUS_DEADLINE_EXCEEDED	  0xfffffff4u
#define GVE_AQ_STATUS_FAILED_PRECONDITION 0xfffffff5u
#define GVE_AQ_STATUS_INTERNAL_ERROR	  0xfffffff6u
#define GVE_AQ_STATUS_INVALID_ARGUMENT	  0xfffffff7u
#define GVE_AQ_STATUS_NOT_FOUND		  0xfffffff8u
#define GVE_AQ_STATUS_OUT_OF_RANGE	  0xfffffff9u
#define GVE_AQ_STATUS_PERMISSION_DENIED	  0xfffffffau
#define GVE_AQ_STATUS_UNAUTHENTICATED	  0xfffffffbu
#define GVE_AQ_STATUS_RESOURCE_EXHAUSTED  0xfffffffcu
#define GVE_AQ_STATUS_UNAVAILABLE	  0xfffffffdu
#define GVE_AQ_STATUS_UNIMPLEMENTED	  0xfffffffeu
#define GVE_AQ_STATUS_UNKNOWN_ERROR	  0xffffffffu

/* one admin command: opcode, status, then at most 56 bytes of payload */
struct gve_aq_cmd {
	uint32_t opcode; /* be32 */
	uint32_t status; /* be32, written by the device */
	uint8_t payload[56];
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_cmd) == GVE_ADMINQ_CMD_SIZE, "aq cmd");
_Static_assert(offsetof(struct gve_aq_cmd, status) == 4, "aq status");
_Static_assert(offsetof(struct gve_aq_cmd, payload) == 8, "aq payload");

/* struct gve_adminq_describe_device */
#define GVE_DESCRIPTOR_VERSION 1
struct gve_aq_describe_device {
	uint64_t descriptor_addr;    /* be64 */
	uint32_t descriptor_version; /* be32 */
	uint32_t available_length;   /* be32 */
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_describe_device) == 16, "describe");
_Static_assert(offsetof(struct gve_aq_describe_device, available_length) == 12,
	       "describe len");

/* struct gve_device_descriptor (device -> driver) */
struct gve_device_descriptor {
	uint64_t max_registered_pages;
	uint16_t reserved1;
	uint16_t tx_queue_entries;
	uint16_t rx_queue_entries;
	uint16_t default_num_queues;
	uint16_t mtu;
	uint16_t counters;
	uint16_t tx_pages_per_qpl;
	uint16_t rx_pages_per_qpl;
	uint8_t mac[6];
	uint16_t num_device_options;
	uint16_t total_length;
	uint8_t reserved2[6];
} __attribute__((packed));
_Static_assert(sizeof(struct gve_device_descriptor) == 40, "descriptor");
_Static_assert(offsetof(struct gve_device_descriptor, tx_queue_entries) == 10,
	       "descriptor tx entries");
_Static_assert(offsetof(struct gve_device_descriptor, mtu) == 16, "desc mtu");
_Static_assert(offsetof(struct gve_device_descriptor, counters) == 18,
	       "desc counters");
_Static_assert(offsetof(struct gve_device_descriptor, mac) == 24, "desc mac");
_Static_assert(offsetof(struct gve_device_descriptor, num_device_options) == 30,
	       "desc nopts");
_Static_assert(offsetof(struct gve_device_descriptor, total_length) == 32,
	       "desc total_length");

/* struct gve_device_option: header, then option_length payload bytes */
struct gve_device_option {
	uint16_t option_id;
	uint16_t option_length;
	uint32_t required_features_mask;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_device_option) == 8, "option header");

/* enum gve_dev_opt_id */
#define GVE_OPT_GQI_RAW_ADDRESSING 0x1
#define GVE_OPT_GQI_RDA		   0x2
#define GVE_OPT_GQI_QPL		   0x3
#define GVE_OPT_DQO_RDA		   0x4
#define GVE_OPT_MODIFY_RING	   0x6
#define GVE_OPT_DQO_QPL		   0x7
#define GVE_OPT_JUMBO_FRAMES	   0x8
#define GVE_OPT_BUFFER_SIZES	   0xa
#define GVE_OPT_FLOW_STEERING	   0xb
#define GVE_OPT_NIC_TIMESTAMP	   0xd
#define GVE_OPT_RSS_CONFIG	   0xe
/* minimum payload length of each option (the structs in gve_adminq.h);
 * every required_features_mask the driver knows is 0 */
#define GVE_OPT_LEN_GQI_RAW_ADDRESSING 0 /* must be exactly 0 */
#define GVE_OPT_LEN_GQI_RDA	       4
#define GVE_OPT_LEN_GQI_QPL	       4
#define GVE_OPT_LEN_DQO_RDA	       8
#define GVE_OPT_LEN_DQO_QPL	       8
#define GVE_OPT_LEN_JUMBO_FRAMES       8
#define GVE_OPT_LEN_BUFFER_SIZES       8
#define GVE_OPT_LEN_MODIFY_RING_MIN    8 /* 12 with minimum sizes */
#define GVE_OPT_LEN_FLOW_STEERING      12
#define GVE_OPT_LEN_NIC_TIMESTAMP      4
#define GVE_OPT_LEN_RSS_CONFIG	       8
/* enum gve_sup_feature_mask (supported_features_mask of the format option) */
#define GVE_SUP_MODIFY_RING   (1u << 0)
#define GVE_SUP_JUMBO_FRAMES  (1u << 2)
#define GVE_SUP_BUFFER_SIZES  (1u << 4)
#define GVE_SUP_FLOW_STEERING (1u << 5)
#define GVE_SUP_RSS_CONFIG    (1u << 7)
#define GVE_SUP_NIC_TIMESTAMP (1u << 8)

/* struct gve_device_option_modify_ring (payload) */
struct gve_opt_modify_ring {
	uint32_t supported_features_mask;
	uint16_t max_rx_ring_size;
	uint16_t max_tx_ring_size;
	uint16_t min_rx_ring_size; /* present when option_length >= 12 */
	uint16_t min_tx_ring_size;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_opt_modify_ring) == 12, "modify ring");
_Static_assert(offsetof(struct gve_opt_modify_ring, min_rx_ring_size) == 8,
	       "modify ring min");
/* struct gve_device_option_jumbo_frames */
struct gve_opt_jumbo_frames {
	uint32_t supported_features_mask;
	uint16_t max_mtu;
	uint8_t padding[2];
} __attribute__((packed));
_Static_assert(offsetof(struct gve_opt_jumbo_frames, max_mtu) == 4, "jumbo");
/* struct gve_device_option_dqo_qpl */
struct gve_opt_dqo_qpl {
	uint32_t supported_features_mask;
	uint16_t tx_pages_per_qpl; /* 0: the driver's default */
	uint16_t rx_pages_per_qpl;
} __attribute__((packed));
_Static_assert(offsetof(struct gve_opt_dqo_qpl, rx_pages_per_qpl) == 6,
	       "dqo qpl");
/* struct gve_device_option_buffer_sizes */
struct gve_opt_buffer_sizes {
	uint32_t supported_features_mask;
	uint16_t packet_buffer_size;
	uint16_t header_buffer_size;
} __attribute__((packed));
_Static_assert(offsetof(struct gve_opt_buffer_sizes, header_buffer_size) == 6,
	       "buffer sizes");

/* queue formats (gve.h: enum gve_queue_format) */
#define GVE_QF_UNSPECIFIED 0
#define GVE_QF_GQI_RDA	   1
#define GVE_QF_GQI_QPL	   2
#define GVE_QF_DQO_RDA	   3
#define GVE_QF_DQO_QPL	   4

/* struct gve_adminq_configure_device_resources */
struct gve_aq_configure_resources {
	uint64_t counter_array;
	uint64_t irq_db_addr;
	uint32_t num_counters;
	uint32_t num_irq_dbs;
	uint32_t irq_db_stride;
	uint32_t ntfy_blk_msix_base_idx;
	uint8_t queue_format;
	uint8_t padding[7];
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_configure_resources) == 40, "cfg res");
_Static_assert(offsetof(struct gve_aq_configure_resources, num_counters) == 16,
	       "cfg num_counters");
_Static_assert(offsetof(struct gve_aq_configure_resources, irq_db_stride) == 24,
	       "cfg stride");
_Static_assert(offsetof(struct gve_aq_configure_resources, queue_format) == 32,
	       "cfg format");

/* struct gve_adminq_register_page_list */
struct gve_aq_register_page_list {
	uint32_t page_list_id;
	uint32_t num_pages;
	uint64_t page_address_list_addr; /* array of be64 page addresses */
	uint64_t page_size;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_register_page_list) == 24, "reg qpl");
_Static_assert(offsetof(struct gve_aq_register_page_list, page_size) == 16,
	       "reg qpl page_size");

/* unregister page list, destroy tx/rx queue: one be32 id */
struct gve_aq_id {
	uint32_t id;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_id) == 4, "aq id");

#define GVE_RAW_ADDRESSING_QPL_ID 0xffffffffu

/* struct gve_adminq_create_tx_queue */
struct gve_aq_create_tx_queue {
	uint32_t queue_id;
	uint32_t reserved;
	uint64_t queue_resources_addr;
	uint64_t tx_ring_addr;
	uint32_t queue_page_list_id;
	uint32_t ntfy_id;
	uint64_t tx_comp_ring_addr; /* DQO */
	uint16_t tx_ring_size;
	uint16_t tx_comp_ring_size; /* DQO */
	uint8_t padding[4];
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_create_tx_queue) == 48, "create tx");
_Static_assert(offsetof(struct gve_aq_create_tx_queue, tx_ring_addr) == 16,
	       "create tx ring");
_Static_assert(offsetof(struct gve_aq_create_tx_queue, queue_page_list_id) ==
		   24,
	       "create tx qpl");
_Static_assert(offsetof(struct gve_aq_create_tx_queue, tx_comp_ring_addr) == 32,
	       "create tx compl");
_Static_assert(offsetof(struct gve_aq_create_tx_queue, tx_ring_size) == 40,
	       "create tx size");

/* struct gve_adminq_create_rx_queue */
struct gve_aq_create_rx_queue {
	uint32_t queue_id;
	uint32_t index;
	uint32_t reserved;
	uint32_t ntfy_id;
	uint64_t queue_resources_addr;
	uint64_t rx_desc_ring_addr; /* DQO: completion queue */
	uint64_t rx_data_ring_addr; /* DQO: buffer queue */
	uint32_t queue_page_list_id;
	uint16_t rx_ring_size;
	uint16_t packet_buffer_size;
	uint16_t rx_buff_ring_size; /* DQO */
	uint8_t enable_rsc;
	uint8_t padding1;
	uint16_t header_buffer_size;
	uint8_t padding2[2];
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_create_rx_queue) == 56, "create rx");
_Static_assert(offsetof(struct gve_aq_create_rx_queue, ntfy_id) == 12,
	       "create rx ntfy");
_Static_assert(offsetof(struct gve_aq_create_rx_queue, queue_resources_addr) ==
		   16,
	       "create rx qres");
_Static_assert(offsetof(struct gve_aq_create_rx_queue, queue_page_list_id) ==
		   40,
	       "create rx qpl");
_Static_assert(offsetof(struct gve_aq_create_rx_queue, rx_ring_size) == 44,
	       "create rx size");
_Static_assert(offsetof(struct gve_aq_create_rx_queue, rx_buff_ring_size) == 48,
	       "create rx bufq");
_Static_assert(offsetof(struct gve_aq_create_rx_queue, header_buffer_size) ==
		   52,
	       "create rx hdr");

/* struct gve_adminq_set_driver_parameter */
#define GVE_PARAM_MTU 0x1
struct gve_aq_set_driver_parameter {
	uint32_t parameter_type;
	uint8_t reserved[4];
	uint64_t parameter_value;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_set_driver_parameter) == 16, "set param");

/* struct gve_adminq_report_stats */
struct gve_aq_report_stats {
	uint64_t stats_report_len;
	uint64_t stats_report_addr;
	uint64_t interval; /* ms */
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_report_stats) == 24, "report stats");
#define GVE_STATS_REPORT_INTERVAL_MS 20000 /* GVE_STATS_REPORT_TIMER_PERIOD */
/* struct gve_stats_report: be64 written_count, then struct stats[] */
struct gve_stat {
	uint32_t stat_name;
	uint32_t queue_id;
	uint64_t value;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_stat) == 16, "stat");
#define GVE_STAT_TX_FRAMES_SENT	      3
#define GVE_STAT_TX_BYTES_SENT	      4
#define GVE_STAT_TX_LAST_COMPLETION   5
#define GVE_STAT_RX_NEXT_EXPECTED_SEQ 6
#define GVE_STAT_RX_BUFFERS_POSTED    7

/* struct gve_adminq_report_link_speed: address of a be64 in Mbit/s */
struct gve_aq_report_link_speed {
	uint64_t link_speed_address;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_report_link_speed) == 8, "link speed");

/* struct gve_adminq_get_ptype_map; the map is 1024 x {l3, l4} */
struct gve_aq_get_ptype_map {
	uint64_t ptype_map_len;
	uint64_t ptype_map_addr;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_get_ptype_map) == 16, "ptype map");
#define GVE_NUM_PTYPES	   1024
#define GVE_PTYPE_MAP_SIZE (GVE_NUM_PTYPES * 2)

/* struct gve_adminq_verify_driver_compatibility + struct gve_driver_info */
struct gve_aq_verify_compat {
	uint64_t driver_info_len;
	uint64_t driver_info_addr;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_aq_verify_compat) == 16, "verify compat");
struct gve_driver_info {
	uint8_t os_type;
	uint8_t driver_major;
	uint8_t driver_minor;
	uint8_t driver_sub;
	uint32_t os_version_major;
	uint32_t os_version_minor;
	uint32_t os_version_sub;
	uint64_t driver_capability_flags[4];
	uint8_t os_version_str1[128];
	uint8_t os_version_str2[128];
} __attribute__((packed));
_Static_assert(offsetof(struct gve_driver_info, driver_capability_flags) == 16,
	       "driver info caps");
_Static_assert(offsetof(struct gve_driver_info, os_version_str1) == 48,
	       "driver info str1");
_Static_assert(sizeof(struct gve_driver_info) == 304, "driver info");
/* enum gve_driver_capbility: bit numbers in driver_capability_flags[0].
 * Linux's GVE_DRIVER_CAPABILITY_FLAGS1 sets GQI_QPL, GQI_RDA, DQO_RDA and
 * ALT_MISS_COMPL; DQO_QPL is "reserved for future use" and set by nobody */
#define GVE_CAP_GQI_QPL	       0
#define GVE_CAP_GQI_RDA	       1
#define GVE_CAP_DQO_QPL	       2
#define GVE_CAP_DQO_RDA	       3
#define GVE_CAP_ALT_MISS_COMPL 4
/* os_type values the published drivers send: Linux gve_main.c 1, FreeBSD
 * gve_main.c 3, DPDK gve_ethdev.c 5 (gve_verify_driver_compatibility) */
#define GVE_OS_TYPE_LINUX   1
#define GVE_OS_TYPE_FREEBSD 3
#define GVE_OS_TYPE_DPDK    5

/* struct gve_queue_resources: 64 bytes the device fills at queue creation */
struct gve_queue_resources {
	uint32_t db_index;	/* be32: doorbell at BAR2 + 4 * db_index */
	uint32_t counter_index; /* be32: event counter (GQI TX) */
	uint8_t reserved[56];
} __attribute__((packed));
_Static_assert(sizeof(struct gve_queue_resources) == 64, "qres");

/* irq doorbell index array: one be32 per block, 64-byte stride
 * (gve.h: struct gve_irq_db is ____cacheline_aligned) */
#define GVE_IRQ_DB_STRIDE 64

/* ---- interrupts ------------------------------------------------------- */
/* GQI IRQ doorbell, be32 (gve_desc.h: GVE_IRQ_*) */
#define GVE_IRQ_ACK   (1u << 31)
#define GVE_IRQ_MASK  (1u << 30)
#define GVE_IRQ_EVENT (1u << 29)
/* DQO IRQ doorbell, le32 (gve_dqo.h: GVE_ITR_*) */
#define GVE_ITR_ENABLE_DQO	   (1u << 0)
#define GVE_ITR_CLEAR_PBA_DQO	   (1u << 1)
#define GVE_ITR_NO_UPDATE_DQO	   (3u << 3)
#define GVE_ITR_INTERVAL_DQO_SHIFT 5
#define GVE_ITR_INTERVAL_DQO_MASK  0xfffu /* 2 us units */
#define GVE_MIN_MSIX		   3	  /* gve.h: GVE_MIN_MSIX */

/* ---- GQI descriptors (gve_desc.h) ------------------------------------- */
/* struct gve_tx_pkt_desc and struct gve_tx_seg_desc share a layout here */
struct gve_tx_desc_gqi {
	uint8_t type_flags;	/* type in the upper nibble, flags below */
	uint8_t l4_csum_offset; /* seg: l3_offset */
	uint8_t l4_hdr_offset;	/* seg: reserved */
	uint8_t desc_cnt;	/* seg: reserved */
	uint16_t len;		/* be16, whole packet; seg: mss */
	uint16_t seg_len;	/* be16 */
	uint64_t seg_addr;	/* be64: QPL byte offset, or DMA address */
} __attribute__((packed));
_Static_assert(sizeof(struct gve_tx_desc_gqi) == 16, "gqi tx desc");
_Static_assert(offsetof(struct gve_tx_desc_gqi, len) == 4, "gqi tx len");
_Static_assert(offsetof(struct gve_tx_desc_gqi, seg_len) == 6, "gqi seg_len");
_Static_assert(offsetof(struct gve_tx_desc_gqi, seg_addr) == 8, "gqi seg_addr");
#define GVE_TXD_STD	  0x00
#define GVE_TXD_TSO	  0x10
#define GVE_TXD_SEG	  0x20
#define GVE_TXD_MTD	  0x30
#define GVE_TXD_TYPE_MASK 0xf0
#define GVE_TXF_L4CSUM	  0x01
#define GVE_TXF_TSTAMP	  0x04
/* gve.h: GVE_GQ_TX_MIN_PKT_DESC_BYTES, the fewest bytes the packet
 * descriptor's segment may carry (gve_tx pulls min(182, len) into it) */
#define GVE_TX_MIN_PKT_DESC_BYTES 182
/* gve_tx.c: gve_tx_alloc_fifo re-aligns the FIFO head to a cache line
 * (L1_CACHE_ALIGN, 64 bytes on x86) after every allocation */
#define GVE_TX_FIFO_ALIGN 64

/* struct gve_rx_desc */
struct gve_rx_desc_gqi {
	uint8_t padding[48];
	uint32_t rss_hash;
	uint16_t mss;
	uint16_t reserved;
	uint8_t hdr_len;
	uint8_t hdr_off;
	uint16_t csum;
	uint16_t len;	    /* be16, includes GVE_RX_PAD */
	uint16_t flags_seq; /* be16: flags [15:3], sequence [2:0] */
} __attribute__((packed));
_Static_assert(sizeof(struct gve_rx_desc_gqi) == 64, "gqi rx desc");
_Static_assert(offsetof(struct gve_rx_desc_gqi, rss_hash) == 48, "rx hash");
_Static_assert(offsetof(struct gve_rx_desc_gqi, hdr_len) == 56, "rx hdr_len");
_Static_assert(offsetof(struct gve_rx_desc_gqi, len) == 60, "rx len");
_Static_assert(offsetof(struct gve_rx_desc_gqi, flags_seq) == 62, "rx seq");
#define GVE_RX_SEQ_SHIFT   0
#define GVE_RX_SEQ_MASK	   0x7u
#define GVE_RXF(bit)	   (1u << (3 + (bit)))
#define GVE_RXF_FRAG	   GVE_RXF(3)
#define GVE_RXF_IPV4	   GVE_RXF(4)
#define GVE_RXF_IPV6	   GVE_RXF(5)
#define GVE_RXF_TCP	   GVE_RXF(6)
#define GVE_RXF_UDP	   GVE_RXF(7)
#define GVE_RXF_ERR	   GVE_RXF(8)
#define GVE_RXF_PKT_CONT   GVE_RXF(10)
#define GVE_RX_PAD	   2	/* packet data starts 2 bytes into the buffer */
#define GVE_RX_BUFFER_SIZE 2048 /* GVE_DEFAULT_RX_BUFFER_SIZE */
/* the data ring: one be64 per slot, a QPL byte offset (or DMA address) */

/* ---- DQO descriptors (gve_desc_dqo.h), little-endian ------------------ */
/* struct gve_tx_pkt_desc_dqo */
struct gve_tx_desc_dqo {
	uint64_t buf_addr;
	uint8_t dtype_flags; /* dtype [4:0], eop 5, csum 6, report_event 7 */
	uint8_t reserved0;
	uint16_t reserved1;
	uint16_t compl_tag;
	uint16_t buf_size; /* [13:0] */
} __attribute__((packed));
_Static_assert(sizeof(struct gve_tx_desc_dqo) == 16, "dqo tx desc");
_Static_assert(offsetof(struct gve_tx_desc_dqo, dtype_flags) == 8, "dqo dtype");
_Static_assert(offsetof(struct gve_tx_desc_dqo, compl_tag) == 12, "dqo tag");
_Static_assert(offsetof(struct gve_tx_desc_dqo, buf_size) == 14, "dqo size");
#define GVE_TXD_DQO_DTYPE_SHIFT		  0
#define GVE_TXD_DQO_DTYPE_MASK		  0x1fu
#define GVE_TXD_DQO_EOP			  (1u << 5)
#define GVE_TXD_DQO_CSUM		  (1u << 6)
#define GVE_TXD_DQO_RE			  (1u << 7)
#define GVE_TXD_DQO_BUF_SIZE_SHIFT	  0
#define GVE_TXD_DQO_BUF_SIZE_MASK	  0x3fffu
#define GVE_TX_PKT_DESC_DTYPE_DQO	  0xc
#define GVE_TX_TSO_CTX_DESC_DTYPE_DQO	  0x5
#define GVE_TX_GENERAL_CTX_DESC_DTYPE_DQO 0x4
#define GVE_TX_MAX_DATA_DESCS		  10
#define GVE_TX_MIN_DESC_GAP		  4 /* ..._PREVENT_CACHE_OVERLAP */
#define GVE_TX_MIN_RE_INTERVAL		  32
/* gve_dqo.h: seconds to wait for the re-injection completion after a miss
 * completion, then seconds the timed-out tag stays allocated so that a late
 * completion cannot name a reused tag */
#define GVE_REINJECT_COMPL_TIMEOUT_S   1
#define GVE_DEALLOCATE_COMPL_TIMEOUT_S 60

/* struct gve_tx_compl_desc */
struct gve_tx_compl_dqo {
	uint16_t id_type_gen; /* id [10:0], type [13:11], generation 15 */
	uint16_t tag;	      /* tx_head (DESC) or completion tag */
	uint32_t reserved1;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_tx_compl_dqo) == 8, "dqo tx compl");
#define GVE_TXC_ID_SHIFT	       0
#define GVE_TXC_ID_MASK		       0x7ffu
#define GVE_TXC_TYPE_SHIFT	       11
#define GVE_TXC_TYPE_MASK	       0x7u
#define GVE_TXC_GEN_SHIFT	       15
#define GVE_TXC_GEN_MASK	       0x1u
#define GVE_COMPL_TYPE_DQO_MISS	       0x1
#define GVE_COMPL_TYPE_DQO_PKT	       0x2
#define GVE_COMPL_TYPE_DQO_REINJECTION 0x3
#define GVE_COMPL_TYPE_DQO_DESC	       0x4
#define GVE_ALT_MISS_COMPL_BIT	       (1u << 15)

/* struct gve_rx_desc_dqo (buffer queue) */
struct gve_rx_buf_desc_dqo {
	uint16_t buf_id;
	uint16_t reserved0;
	uint32_t reserved1;
	uint64_t buf_addr;
	uint64_t header_buf_addr;
	uint64_t reserved2;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_rx_buf_desc_dqo) == 32, "dqo rx buf");
_Static_assert(offsetof(struct gve_rx_buf_desc_dqo, buf_addr) == 8, "dqo addr");
_Static_assert(offsetof(struct gve_rx_buf_desc_dqo, header_buf_addr) == 16,
	       "dqo hdr addr");

/* struct gve_rx_compl_desc_dqo (completion queue) */
struct gve_rx_compl_dqo {
	uint8_t rxdid;	  /* [3:0] */
	uint8_t flags1;	  /* loopback 0, ipv6_ex_add 1, rx_error 2 */
	uint16_t ptype;	  /* packet_type [9:0] */
	uint16_t len_gen; /* packet_len [13:0], generation 14, bufq id 15 */
	uint16_t hdr_len; /* header_len [9:0], rsc 10, split_header 11 */
	uint8_t status0;  /* descriptor_done 0, end_of_packet 1, ... */
	uint8_t status1;
	uint16_t reserved5;
	uint16_t buf_id;
	uint16_t raw_cs;
	uint32_t hash;
	uint32_t reserved6;
	uint32_t reserved7;
	uint32_t ts;
} __attribute__((packed));
_Static_assert(sizeof(struct gve_rx_compl_dqo) == 32, "dqo rx compl");
_Static_assert(offsetof(struct gve_rx_compl_dqo, len_gen) == 4, "dqo len");
_Static_assert(offsetof(struct gve_rx_compl_dqo, hdr_len) == 6, "dqo hdr");
_Static_assert(offsetof(struct gve_rx_compl_dqo, status0) == 8, "dqo status");
_Static_assert(offsetof(struct gve_rx_compl_dqo, buf_id) == 12, "dqo buf_id");
_Static_assert(offsetof(struct gve_rx_compl_dqo, hash) == 16, "dqo hash");
#define GVE_RXC_ERR	      (1u << 2) /* flags1 */
#define GVE_RXC_PTYPE_SHIFT   0
#define GVE_RXC_PTYPE_MASK    0x3ffu
#define GVE_RXC_LEN_SHIFT     0
#define GVE_RXC_LEN_MASK      0x3fffu
#define GVE_RXC_GEN_SHIFT     14
#define GVE_RXC_GEN_MASK      0x1u
#define GVE_RXC_BUFQ_SHIFT    15
#define GVE_RXC_BUFQ_MASK     0x1u
#define GVE_RXC_HDR_LEN_SHIFT 0
#define GVE_RXC_HDR_LEN_MASK  0x3ffu
#define GVE_RXC_SPLIT_HEADER  (1u << 11) /* in hdr_len */
#define GVE_RXC_DD	      (1u << 0)	 /* status0 */
#define GVE_RXC_EOP	      (1u << 1)	 /* status0 */
#define GVE_RX_BUF_THRESH_DQO 32
#endif
