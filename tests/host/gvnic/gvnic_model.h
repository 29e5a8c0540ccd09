/* tests/host/gvnic/gvnic_model.h — a software gVNIC: the device side of the
 * interface the driver core uses (BAR0 registers, BAR2 doorbells, DMA through
 * the host DMA pools, MSI-X through the host interrupt table).
 *
 * The model behaves as the reference describes and CHECKS every driver
 * action against it; each breach is a "violation" (counted, the first one
 * kept as text) that fails the test. Tests also steer it into hostile
 * behaviour to prove the driver refuses what it must. */
#ifndef GVNIC_MODEL_H
#define GVNIC_MODEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GVM_OWNER    7 /* the driver's authority owner */
#define GVM_MAXQ     4
#define GVM_MAXBLK   66 /* notification blocks the model tracks */
#define GVM_WIRE_MAX 512
#define GVM_OPLOG    256
/* DQO completion tags are the driver's 16 bits, echoed; bit 15 is
 * GVE_ALT_MISS_COMPL_BIT on the way back, so a driver may use 15 */
#define GVM_TAGS 32768
#define GVM_CLOG 64 /* DQO TX completions kept for gvm_dqo_tx_replay */

struct gvm_config {
	uint8_t revision;	   /* 0: PFN registration; >= 1: base/length */
	bool dqo;		   /* advertise DQO_RDA */
	bool gqi_qpl_opt;	   /* list the GQI_QPL option explicitly */
	bool dqo_qpl;		   /* advertise DQO_QPL */
	bool gqi_rda;		   /* advertise GQI_RDA */
	bool raw_addressing;	   /* advertise the legacy GQI_RAW_ADDRESSING */
	uint16_t dqo_qpl_tx_pages; /* the DQO_QPL option's page count */
	bool modify_ring;  /* advertise MODIFY_RING (min 64, max 4096) */
	bool jumbo;	   /* advertise JUMBO_FRAMES (needs mtu > 1500) */
	bool buffer_sizes; /* advertise BUFFER_SIZES: 4096-byte packet
			    * buffers, 128-byte headers */
	uint16_t rx_pages_per_qpl; /* the descriptor's (0: rx_entries) */
	bool unknown_opt;	   /* add an unknown option id 0x77 */
	bool short_opt;		   /* add a DQO_RDA option with length 2 */
	/* admin opcodes (bit 1u << op) the device answers UNIMPLEMENTED:
	 * a device without VERIFY_DRIVER_COMPATIBILITY, REPORT_STATS or
	 * REPORT_LINK_SPEED */
	uint32_t lacks;
	uint32_t max_queues;
	uint16_t tx_entries, rx_entries, counters, tx_pages_per_qpl, mtu;
	uint16_t default_num_queues;
	uint64_t max_registered_pages;
	uint32_t db_len; /* BAR2 bytes */
	bool db_high;	 /* queue and irq doorbells at the top of BAR2 */
	unsigned msix;
	/* where the MSI-X table and PBA live (gve.rst: BAR1 holds the table;
	 * the PBA after it in BAR1 is the model's assumption) */
	uint8_t msix_table_bar, msix_pba_bar;
	uint32_t msix_table_off, msix_pba_off;
	bool link_up;
	uint64_t link_mbps;
};

#define GVM_NEVER UINT64_MAX

/* one command's override: the status the model reports instead of running
 * it (0xffffffff is UNKNOWN_ERROR; use GVM_NO_OVERRIDE for none) */
#define GVM_NO_OVERRIDE 0x12345678u

struct gvm_txq {
	bool live;
	uint32_t size, qpl_id, ntfy, db, counter;
	uint64_t qres, ring, compl ;
	/* GQI */
	uint32_t req, done, reported;
	/* DQO */
	uint32_t tail, head, ctail;
	uint8_t cgen;
	uint8_t inflight[65536 / 8];
	/* the buffer per slot (GQI: a page-list offset in GQI_QPL, an
	 * address in GQI_RDA) or per tag (DQO), and (DQO) when a miss
	 * completion named the tag: GVM_TAGS each, kept outside struct gvm
	 * (gvnic_model.c: gvm_kept) and never cleared, as each entry is
	 * written before it is read (a slot the device holds, a tag in
	 * flight or missed), so a fresh model or queue does not clear them */
	uint64_t *buf_addr;
	uint16_t *buf_len;
	uint64_t *miss_ns;
	uint8_t missed[GVM_TAGS / 8];
	/* DQO: the last GVM_CLOG packet, miss and re-injection completions
	 * written (the tag as written, type), newest at nclog - 1 */
	uint16_t clog_tag[GVM_CLOG];
	uint8_t clog_type[GVM_CLOG];
	unsigned nclog;
	uint32_t last_re; /* DQO: ring index of the last report_event */
	bool any_re;
	bool hold_completions; /* tests: complete later with gvm_tx_flush */
};

struct gvm_rxq {
	bool live;
	uint64_t posted[4096];	  /* DQO: buffer address at each queue slot */
	uint16_t posted_id[4096]; /* DQO: the buffer id at each queue slot */
	uint8_t slot_done[4096];  /* DQO: returned by a forged completion */
	uint32_t size, qpl_id, ntfy, db;
	uint64_t qres, desc, data;
	uint32_t fill, cnt; /* GQI doorbell value, slots used */
	uint8_t seq;
	uint32_t tail, head, ctail; /* DQO */
	uint8_t cgen;
};

struct gvm_qpl {
	bool live;
	uint32_t id, npages;
	uint64_t *pages;
};

struct gvm {
	struct gvm_config cfg;
	/* registers (host values) */
	uint32_t device_status, driver_status, pfn, doorbell, event_counter;
	uint32_t base_hi, base_lo;
	uint16_t aq_len;
	bool base_hi_set, base_lo_set, len_set;
	char version[64];
	unsigned version_len;
	/* admin queue */
	bool aq_live;
	uint64_t aq;
	bool stall; /* commands never complete */
	uint32_t override_op, override_status;
	int bogus_counter; /* >0: next event-counter reads return bogus */
	/* GVM_NO_OVERRIDE or an opcode: once a command of it has run, the
	 * next event-counter read is bogus (bogus_counter armed) */
	uint32_t bogus_counter_op;
	/* GVM_NO_OVERRIDE or an opcode: the first command of it the device
	 * finds in the queue is claimed complete (event counter moved past
	 * it) before any doorbell names it, never run, its status UNSET */
	uint32_t aq_early_op;
	/* a slow device: the commands of each doorbell complete aq_delay_ns
	 * after it rang (0: at once), seen at the next event-counter read */
	uint64_t aq_delay_ns, aq_kick_ns;
	/* a reset storm: each time the driver's RX queues are created the
	 * device asks for a reset (RESET and the management vector) */
	bool reset_storm;
	const uint8_t *desc_override;
	size_t desc_override_len;
	/* configuration */
	bool configured;
	uint64_t counters, irq_dbs, stats, stats_len;
	uint32_t num_counters, num_irq_dbs, stride, format;
	uint32_t irq_db_override; /* GVM_NO_OVERRIDE or a bogus index */
	uint32_t db_override, counter_override;
	bool irq_masked[GVM_MAXBLK], irq_pending[GVM_MAXBLK];
	uint32_t irq_db_raw[GVM_MAXBLK];
	uint32_t irq_db_base, tx_db_base, rx_db_base; /* BAR2 indices */
	unsigned ctx_descs;	  /* DQO context descriptors accepted */
	uint8_t driver_info[304]; /* the last VERIFY_DRIVER_COMPATIBILITY */
	struct gvm_qpl qpls[2 * GVM_MAXQ];
	struct gvm_txq tx[GVM_MAXQ];
	struct gvm_rxq rx[GVM_MAXQ];
	uint16_t mtu_set;
	bool reset_never;
	/* surprise removal (tests/host/gvnic/test_gvnic.c: the vanish
	 * sweeps): after vanish_after device accesses (BAR reads and writes,
	 * counted in accesses; GVM_NEVER: never) the device is gone for good —
	 * every read all ones, every write dropped, no command completes,
	 * nothing written, no interrupt; device_status reads GONE from then
	 * on. gone_unhanded: a read came back all ones before the driver
	 * wrote any admin queue registration register, so the device never
	 * held anything of the driver's */
	uint64_t vanish_after, accesses;
	uint64_t gone_reads;	  /* reads of all ones since */
	uint64_t lines_at_vanish; /* shim_kprintf_calls when it vanished */
	bool vanished, registering, gone_unhanded;
	/* the wire: the lengths of the frames the driver sent (their bytes
	 * in gvm_kept, between wire_tail and wire_head) */
	uint16_t wire_len[GVM_WIRE_MAX];
	unsigned wire_head, wire_tail;
	uint64_t rx_no_buffer;
	/* log */
	uint32_t oplog[GVM_OPLOG];
	unsigned noplog;
	unsigned resets, registrations;
	unsigned violations;
	char first_violation[256];
	bool quiet;
};

extern struct gvm gvm;

void gvm_default_config(struct gvm_config *c);
void gvm_init(const struct gvm_config *c);
/* the queue format Linux's gve_adminq_describe_device picks for the
 * options the configuration advertises */
uint8_t gvm_expected_format(const struct gvm_config *c);
/* the PCI function as the kernel would find it: BAR sizes and the MSI-X
 * table and PBA where the configuration puts them */
struct pci_dev;
void gvm_pci_dev(struct pci_dev *d);
void gvm_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* bus side (called by the host authority implementation) */
uint32_t gvm_bar_read(unsigned bar, uint32_t off, unsigned width);
void gvm_bar_write(unsigned bar, uint32_t off, unsigned width, uint32_t v);
/* a DMA pool range is being revoked: a violation if the device holds it */
void gvm_check_revoke(uint64_t iova, size_t len);

/* wire */
int gvm_wire_pop(void *buf, size_t cap);
unsigned gvm_wire_count(void);
/* deliver a frame to RX queue q; false when no buffer is posted */
bool gvm_rx_inject(unsigned q, const void *frame, size_t len);
/* complete TX work held back with hold_completions */
void gvm_tx_flush(unsigned q);

/* device-initiated events */
void gvm_set_status(uint32_t set, uint32_t clear); /* + management irq */

/* hostile raw writes into device-written memory */
void gvm_gqi_tx_counter(unsigned q, uint32_t v);
void gvm_gqi_rx_raw(unsigned q, uint16_t len, uint16_t flags);
void gvm_dqo_tx_raw(unsigned q, unsigned type, uint16_t tag);
/* write again the k-th newest packet, miss or re-injection completion of
 * TX queue q (k < GVM_CLOG), as it was: a completion counted twice. The
 * model's state does not change: it holds what it held. false when there
 * is no such completion */
bool gvm_dqo_tx_replay(unsigned q, unsigned k);
void gvm_dqo_rx_raw(unsigned q, uint16_t buf_id, uint16_t len, bool bufq1,
		    bool split);
/* move the device's free-running counters (white-box wrap tests) */
void gvm_gqi_set_base(unsigned q, uint32_t tx, uint32_t rx_cnt,
		      uint32_t rx_fill);
void gvm_aq_set_base(uint32_t n);

/* host authority (host_auth.c) */
void *host_dma_translate(uint64_t iova, size_t len);
/* a fresh start: GVM_OWNER bound, every pool it held given back, the
 * refusal counters and interrupts cleared */
void host_auth_reset(void);
unsigned host_pools_live(void);
/* DeviceMmio windows granted and not revoked since host_auth_reset */
extern unsigned host_mmio_live;
/* what devmgr hands gve_attach for the model's function: BAR0 and the
 * doorbell BAR2 (read-write), the owner, revision and vectors of gvm.cfg */
struct gve_grants;
struct gve_grants host_gve_grants(void);
void host_irq_raise(unsigned msix);
bool host_irq_masked(unsigned msix);
unsigned host_irqs_bound(void);
uint64_t host_irq_count(unsigned msix);
extern bool host_irq_refuse;
/* the core gave the device up and asked the bus to stop it
 * (gve_grants.bus_stop of host_gve_grants) */
extern bool host_bus_stopped;
#endif
