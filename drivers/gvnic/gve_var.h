/* drivers/gvnic/gve_var.h — gVNIC driver state and the bus-neutral core's
 * interface. The core (gve.c, gve_adminq.c, gve_gqi.c, gve_dqo.c) reaches the
 * device only through the grants below; gve_pci.c is the only file that knows
 * about PCI, so the host conformance suite (tests/host/gvnic) builds the same
 * core against a software device model. */
#ifndef GVE_VAR_H
#define GVE_VAR_H
#include <stdbool.h>
#include <stdint.h>

#include "drivers/gvnic/gve_reg.h"
#include "kernel/authority/authority.h"
#include "kernel/net/nic.h"

/* gVNICs gve_pci.c attaches; a further one is refused untouched */
#define GVE_MAX_DEVS 2

#define GVE_MAX_QUEUES	     2	/* per direction; the device may offer more */
#define GVE_MAX_NTFY_BLKS    64 /* notification blocks the state holds */
#define GVE_RING_MAX	     4096 /* largest ring the driver sizes its state for */
#define GVE_RING_PREF	     256 /* chosen when the modify-ring option allows */
#define GVE_TX_QPL_PAGES_MAX 16	 /* pages of a GQI TX FIFO */
#define GVE_BUF_SIZE	     2048 /* one frame buffer (DQO tag, DQO RX buffer) */
#define GVE_MTU		     1500 /* largest MTU the 2 KiB buffers carry */
#define GVE_DATA_POOL_MAX    (24u << 20) /* refuse rings that need more */
#define GVE_STATUS_POLL_US   100000	 /* device_status read without an irq */
/* Reset storms: a device that asks for a reset after every recovery, or
 * answers each admin command just before its timeout, must not hold the
 * main loop (see docs/devices/gce-gvnic.md, "Reset storms"). A reset that
 * comes within GVE_RESET_QUIET_US of the one before continues a streak;
 * the recovery of the k-th reset of a streak (k >= 2) waits
 * GVE_RESET_BACKOFF_US << (k - 2), the device reset and quiet meanwhile;
 * a request for reset GVE_RESET_MAX + 1 of a streak gives the device up.
 * Each recovery may wait GVE_RESET_AQ_BUDGET_US on admin commands in all:
 * twice the reference's timeout for one command. */
#define GVE_RESET_MAX	     5
#define GVE_RESET_QUIET_US   600000000ull /* 10 min */
#define GVE_RESET_BACKOFF_US 1000000ull	  /* 1 s, 2 s, 4 s, 8 s */
#define GVE_AQ_WAIT_MAX_US                                                     \
	((uint64_t)GVE_FAST_POLLS * GVE_FAST_POLL_US +                         \
	 (uint64_t)GVE_ADMINQ_POLLS * GVE_ADMINQ_POLL_US)
#define GVE_RELEASE_WAIT_MAX_US                                                \
	((uint64_t)GVE_FAST_POLLS * GVE_FAST_POLL_US +                         \
	 (uint64_t)GVE_RELEASE_POLLS * GVE_ADMINQ_POLL_US)
#define GVE_RESET_AQ_BUDGET_US                                                 \
	(2ull * GVE_ADMINQ_POLLS * GVE_ADMINQ_POLL_US) /* 4 s */
/* The attach, too, may wait GVE_ATTACH_AQ_BUDGET_US on admin commands in
 * all: it asks what a recovery asks and DESCRIBE_DEVICE (some 9 to 14
 * doorbells), and devmgr binds one function after another, so each
 * command's own 2 s would hold the boot and every later device up to
 * ~24 s. A device that spends it is given up as a failed attach. */
#define GVE_ATTACH_AQ_BUDGET_US GVE_RESET_AQ_BUDGET_US
/* The detach's teardown (queues, page lists, stats report, resources:
 * some eight doorbells) runs on the kernel's exit path and an unbind: it
 * too waits GVE_DETACH_AQ_BUDGET_US on admin commands in all, then the
 * release resets the device whatever the teardown reached */
#define GVE_DETACH_AQ_BUDGET_US GVE_RESET_AQ_BUDGET_US
/* the longest one gve_service call may wait on the device: a release,
 * the recovery budget (which may overrun by one poll step) and the
 * release after a recovery that failed. Outside a reset it waits on
 * nothing (GVE_RUN_WAIT_MAX_US): the one admin command of run time,
 * REPORT_LINK_SPEED, is posted and collected by a later poll */
#define GVE_SERVICE_WAIT_MAX_US                                                \
	(2 * GVE_RELEASE_WAIT_MAX_US + GVE_RESET_AQ_BUDGET_US +                \
	 GVE_ADMINQ_POLL_US)
#define GVE_RUN_WAIT_MAX_US 0
/* a GVE_MTU frame with a VLAN tag (18 bytes of header) fits one RX
 * buffer: GQI's behind its GVE_RX_PAD, DQO's GVE_BUF_SIZE one */
_Static_assert(GVE_MTU + 18 + GVE_RX_PAD <= GVE_RX_BUFFER_SIZE &&
		   GVE_MTU + 18 <= GVE_BUF_SIZE,
	       "GVE_MTU frames fit the RX buffers");
/* VERIFY_DRIVER_COMPATIBILITY (gve_aq_verify_compat). No os_type is
 * assigned to capOS; of the published values it takes Linux's, because the
 * Linux gve driver is the basis of record for every command, format and
 * descriptor layout this driver uses, so whatever the device keys on that
 * value is what it gets. The version fields and strings say capOS. The
 * capability bits are Linux's GVE_DRIVER_CAPABILITY_FLAGS1 without the
 * flexible buffer and RSS sizes capOS does not implement; DQO_QPL stays
 * clear as in Linux ("reserved for future use"). */
#define GVE_DRIVER_OS_TYPE  GVE_OS_TYPE_LINUX
#define GVE_DRIVER_MAJOR    1
#define GVE_DRIVER_MINOR    0
#define GVE_DRIVER_SUB	    0
#define GVE_OS_VERSION_STR1 "capOS"
#define GVE_DRIVER_CAPS1                                                       \
	((1ull << GVE_CAP_GQI_QPL) | (1ull << GVE_CAP_GQI_RDA) |               \
	 (1ull << GVE_CAP_DQO_RDA) | (1ull << GVE_CAP_ALT_MISS_COMPL))
/* gve.h: DQO_QPL_DEFAULT_TX_PAGES, used when the DQO_QPL option gives 0 */
#define GVE_DQO_QPL_DEFAULT_TX_PAGES 512

/* what the bus glue hands the core: exactly the driver's capabilities */
struct gve_grants {
	struct pci_dev *pdev; /* opaque: named to irq_bind, never read */
	uint16_t owner;	      /* authority owner id for pools and vectors */
	struct dev_mmio reg;  /* BAR0, read/write */
	struct dev_mmio db;   /* BAR2, write (doorbells) */
	uint8_t revision; /* PCI revision: admin-queue registration method */
	unsigned msix_vectors;
	uint64_t dma_limit; /* highest device address + 1 (0: none) */
	const char *name;   /* "gve0" */
	/* the device is given up at run time: stop its DMA and MSI-X (bus
	 * mastering off); NULL when the bus has no such switch */
	void (*bus_stop)(struct pci_dev *pdev);
};

/* error codes of the core (negative returns) */
enum gve_err {
	GVE_OK = 0,
	GVE_EAGAIN = -1,    /* aborted, cancelled, unavailable, ... */
	GVE_EINVAL = -2,    /* invalid argument, not found, unset, unknown */
	GVE_ETIME = -3,	    /* deadline exceeded */
	GVE_EACCES = -4,    /* permission denied, unauthenticated */
	GVE_ENOMEM = -5,    /* resource exhausted, pool too small */
	GVE_ENOTSUP = -6,   /* unimplemented */
	GVE_ETIMEDOUT = -7, /* admin queue did not complete: reset */
	GVE_EDEVICE = -8,   /* the device handed back something invalid */
	GVE_EGONE = -9,	    /* device_status reads all ones */
};

struct gve_softc;

/* a queue's buffer pages. In the QPL formats they are registered with the
 * device as a queue page list (GQI_QPL names them by byte offset, DQO_QPL by
 * address); in the RDA formats they are plain pool memory named by address */
struct gve_qpl {
	uint32_t id;
	uint32_t npages;
	struct dma_buf pages; /* npages * 4096, contiguous in the pool */
	struct dma_buf list;  /* be64 page addresses (QPL formats only) */
	bool registered;
};

/* a notification block: one MSI-X vector, one IRQ doorbell */
struct gve_block {
	struct gve_softc *sc;
	unsigned index;
	struct irq_cap irq;
	bool bound;
	uint32_t irq_db_index; /* from the irq_db array, validated */
	volatile bool pending; /* set by the handler, cleared by the poll */
	uint64_t interrupts;
};

struct gve_tx {
	unsigned id;
	uint32_t ntfy_id;
	uint32_t size, mask;
	struct dma_buf qres;
	struct dma_buf ring;   /* GQI: descriptors; DQO: descriptors */
	struct dma_buf compl ; /* DQO completion ring */
	struct gve_qpl qpl; /* GQI: the FIFO; DQO: one 2 KiB buffer per tag */
	uint32_t db_index, counter_index;
	/* GQI (gve_tx.c: struct gve_tx_fifo) */
	uint32_t req, done; /* descriptors posted / completed */
	uint32_t fifo_size, fifo_head, fifo_avail;
	uint32_t fifo_used[GVE_RING_MAX]; /* FIFO bytes of the packet here */
	/* DQO (gve_tx_dqo.c: pending packets, named by completion tag) */
	uint32_t tail, head, last_re;
	uint32_t compl_head;
	uint8_t compl_gen;
	uint32_t ntags, nmissed; /* nmissed: tags in MISS or TIMED_OUT */
	uint8_t tag_state[GVE_RING_MAX];
	uint16_t tag_gen[GVE_RING_MAX]; /* generation of each tag's use */
	uint8_t tag_idx_bits;		/* of a completion tag, the index */
	uint64_t tag_deadline_us[GVE_RING_MAX];
	/* free tags, a ring of ntags: taken at tag_free_head, given back
	 * behind the last (oldest freed first) */
	uint16_t tag_free[GVE_RING_MAX];
	uint32_t tag_free_head, ntag_free;
	uint64_t packets, bytes, timed_out, unexpected;
	/* the first unexpected completion and the first re-injection timeout
	 * of each bring-up get a line; the rest are only counted */
	bool said_unexpected, said_timed_out;
};

/* a DQO completion tag is the tag's index and the generation of its
 * current use, which moves on each time the tag is freed: a completion
 * naming an earlier use (counted twice, or after the tag was reused) names
 * nothing outstanding. The device echoes the 16 bits it was given; bit 15
 * is GVE_ALT_MISS_COMPL_BIT on the way back, so GVE_TAG_BITS are the
 * driver's: the index takes as few as the queue's tags need
 * (tag_idx_bits), the generation the rest (at least GVE_TAG_GEN_MIN_BITS),
 * and tags are reused oldest-freed first, so an honest device sees a tag
 * value again only after (ntags << generation bits) sends, ~2^15 */
#define GVE_TAG_BITS	     15
#define GVE_TAG_GEN_MIN_BITS 4
_Static_assert((GVE_RING_MAX - GVE_RING_MAX / GVE_TX_MIN_RE_INTERVAL) / 2 <=
		   1u << (GVE_TAG_BITS - GVE_TAG_GEN_MIN_BITS),
	       "every tag index leaves GVE_TAG_GEN_MIN_BITS of generation");
_Static_assert(GVE_ALT_MISS_COMPL_BIT == 1u << GVE_TAG_BITS,
	       "the generation stays clear of the alternate-miss bit");

/* completion-tag states (gve_tx_dqo.c: GVE_PACKET_STATE_*) */
enum gve_tag_state {
	GVE_TAG_FREE,	   /* UNALLOCATED */
	GVE_TAG_SENT,	   /* PENDING_DATA_COMPL */
	GVE_TAG_MISS,	   /* PENDING_REINJECT_COMPL: deadline set */
	GVE_TAG_TIMED_OUT, /* TIMED_OUT_COMPL: quarantined until deadline */
};

/* the index a completion tag names, and the tag of index idx's current
 * use */
static inline uint32_t gve_tag_idx(const struct gve_tx *tx, uint32_t tag)
{
	return tag & ((1u << tx->tag_idx_bits) - 1);
}
static inline uint32_t gve_tag_gen_mask(const struct gve_tx *tx)
{
	return (1u << (GVE_TAG_BITS - tx->tag_idx_bits)) - 1;
}
static inline uint16_t gve_tag_of(const struct gve_tx *tx, uint32_t idx)
{
	return (uint16_t)(idx | (uint32_t)tx->tag_gen[idx] << tx->tag_idx_bits);
}

struct gve_rx {
	unsigned id;
	uint32_t ntfy_id;
	uint32_t size, mask;
	struct dma_buf qres;
	struct dma_buf desc; /* GQI: descriptor ring; DQO: completion queue */
	struct dma_buf
	    data;	    /* GQI: data ring (be64 slots); DQO: buffer queue */
	struct gve_qpl qpl; /* GQI: one page per slot; DQO: 2 KiB per buffer */
	uint32_t db_index, counter_index;
	/* GQI */
	uint32_t cnt, fill_cnt;
	uint8_t seqno;
	bool skipping; /* dropping the rest of a multi-descriptor packet */
	/* DQO */
	uint32_t bufq_tail, nbufs, posted_cnt;
	uint32_t db_tail; /* buffer-queue tail last rung: slots past it are
			     written but not the device's yet */
	uint32_t compl_head;
	uint8_t compl_gen;
	uint8_t posted[GVE_RING_MAX];
	uint16_t buf_slot[GVE_RING_MAX]; /* buffer-queue slot of each id */
	uint16_t buf_free[GVE_RING_MAX];
	uint32_t nbuf_free;
	uint64_t packets, bytes;
};

enum gve_state {
	GVE_S_DOWN,	 /* attached nothing yet, or detached */
	GVE_S_UP,	 /* queues running */
	GVE_S_RESETTING, /* released (reset, owning nothing of ours) until
			  * recover_at_us: a reset's backoff */
	GVE_S_FAILED,	 /* given up: memory kept if the device holds it */
};

struct gve_softc {
	struct gve_grants g;
	char name[16];
	enum gve_state state;
	/* DMA: control structures first, data rings once their size is known */
	struct dma_pool ctl_pool, data_pool;
	bool ctl_pool_ok, data_pool_ok;
	struct dma_buf aq, desc_buf, counters, irq_dbs, link_buf, stats_buf,
	    info_buf, ptype_buf;
	/* admin queue */
	uint32_t aq_prod; /* commands written */
	uint32_t aq_done; /* commands the event counter has passed */
	bool aq_registered;
	uint64_t aq_cmds, aq_fail, aq_timeouts;
	uint32_t aq_last_status;
	/* 0, or when the budget (aq_budget_us) of the attach or recovery
	 * (aq_budget_for) under way runs out */
	uint64_t aq_deadline_us, aq_budget_us;
	const char *aq_budget_for;
	/* a doorbell outstanding (aq_done..aq_prod), rung at aq_rung_us:
	 * between calls into the engine, a command posted (gve_aq_post) that
	 * a later poll collects */
	bool aq_rung;
	uint64_t aq_rung_us;
	/* described device */
	uint32_t max_tx_queues, max_rx_queues;
	uint64_t max_registered_pages;
	uint16_t tx_entries, rx_entries, default_num_queues, dev_mtu;
	uint16_t num_counters, tx_pages_per_qpl;
	uint8_t mac[6];
	uint8_t queue_format;
	uint32_t features;
	uint16_t dqo_qpl_tx_pages; /* DQO_QPL option (0: absent) */
	bool modify_ring;
	uint16_t ring_min_tx, ring_max_tx, ring_min_rx, ring_max_rx;
	uint8_t desc_copy[GVE_ADMINQ_SIZE]; /* DESCRIBE_DEVICE answer, parsed */
	/* resources */
	unsigned nblocks, nqueues, tx_max; /* tx_max: gve_rx_qpl_id's base */
	struct gve_block blocks[GVE_MAX_NTFY_BLKS];
	struct gve_block mgmt;
	struct gve_tx tx[GVE_MAX_QUEUES];
	struct gve_rx rx[GVE_MAX_QUEUES];
	bool resources_ok, rings_ok, memory_held;
	bool detached;	   /* gve_pci.c: the driver's detach ran */
	int detach_result; /* its answer, given again: -1, 0 or 1 */
	/* runtime */
	volatile bool mgmt_pending;
	bool reset_wanted;
	const char *reset_reason;
	uint32_t last_status;
	uint64_t status_read_us;
	uint64_t resets, device_resets, hostile;
	/* reset storms: the current streak, when its last reset came, when
	 * the backoff ends, and the time spent in resets (all waits) */
	unsigned reset_streak;
	uint64_t reset_last_us, recover_at_us, reset_us;
	uint32_t link_mbps;
	bool link_up;
	uint64_t link_changes; /* every change device_status showed */
	struct nic_link_log link_log;
	unsigned rx_rr; /* round-robin RX queue */
	struct nic nic;
};

/* gve.c: bring-up, teardown, reset, service */
int gve_attach(struct gve_softc *sc, const struct gve_grants *g);
void gve_detach(struct gve_softc *sc);
/* gve_pci.c's detach when the owner was revoked: nothing asked of the
 * device, nothing given back (the pools parked), the driver failed */
void gve_detach_revoked(struct gve_softc *sc);
int gve_send(struct gve_softc *sc, const void *frame, size_t len);
int gve_recv(struct gve_softc *sc, void *buf, size_t cap);
void gve_service(struct gve_softc *sc);
struct json;
void gve_status_obj(const struct gve_softc *sc, struct json *j);
const char *gve_format_name(uint8_t queue_format);
void gve_intr_mgmt(void *arg);
void gve_intr_block(void *arg);
/* report a value the device handed back that fails validation: one error
 * line, and a reset at the next service */
void gve_hostile(struct gve_softc *sc, const char *what, uint64_t val);
uint32_t gve_reg_read(struct gve_softc *sc, uint32_t off);
void gve_db_write_be(struct gve_softc *sc, uint32_t index, uint32_t v);
void gve_db_write_le(struct gve_softc *sc, uint32_t index, uint32_t v);

/* gve_adminq.c */
int gve_aq_register(struct gve_softc *sc);
int gve_aq_release(struct gve_softc *sc);
int gve_aq_exec(struct gve_softc *sc, const struct gve_aq_cmd *cmd);
int gve_aq_issue(struct gve_softc *sc, const struct gve_aq_cmd *cmd);
int gve_aq_kick_wait(struct gve_softc *sc);
int gve_aq_post(struct gve_softc *sc, const struct gve_aq_cmd *cmd);
const char *gve_aq_status_name(uint32_t status);
int gve_aq_status_err(uint32_t status);
int gve_aq_describe(struct gve_softc *sc);
int gve_aq_parse_descriptor(struct gve_softc *sc, const uint8_t *buf,
			    uint32_t avail);
int gve_aq_verify_compat(struct gve_softc *sc);
int gve_aq_configure(struct gve_softc *sc);
int gve_aq_deconfigure(struct gve_softc *sc);
int gve_aq_register_qpl(struct gve_softc *sc, struct gve_qpl *q);
int gve_aq_unregister_qpl(struct gve_softc *sc, struct gve_qpl *q);
int gve_aq_create_queues(struct gve_softc *sc);
int gve_aq_destroy_queues(struct gve_softc *sc);
int gve_aq_report_stats(struct gve_softc *sc, bool attach);
int gve_aq_link_speed(struct gve_softc *sc); /* posted and waited for */
int gve_aq_link_speed_post(struct gve_softc *sc);
int gve_aq_link_speed_collect(struct gve_softc *sc, bool wait);
int gve_aq_ptype_map(struct gve_softc *sc);
int gve_aq_set_mtu(struct gve_softc *sc, uint16_t mtu);

/* gve_gqi.c and gve_dqo.c: one data path each */
void gve_gqi_rings_init(struct gve_softc *sc);
void gve_gqi_start(struct gve_softc *sc);
int gve_gqi_send(struct gve_softc *sc, struct gve_tx *tx, const void *frame,
		 size_t len);
void gve_gqi_tx_reclaim(struct gve_softc *sc, struct gve_tx *tx);
int gve_gqi_recv(struct gve_softc *sc, struct gve_rx *rx, void *buf,
		 size_t cap);
void gve_dqo_rings_init(struct gve_softc *sc);
void gve_dqo_start(struct gve_softc *sc);
int gve_dqo_send(struct gve_softc *sc, struct gve_tx *tx, const void *frame,
		 size_t len);
void gve_dqo_tx_reclaim(struct gve_softc *sc, struct gve_tx *tx);
int gve_dqo_recv(struct gve_softc *sc, struct gve_rx *rx, void *buf,
		 size_t cap);

/* gve.h: gve_is_gqi / gve_is_dqo / gve_is_qpl */
static inline bool gve_is_dqo(const struct gve_softc *sc)
{
	return sc->queue_format == GVE_QF_DQO_RDA ||
	       sc->queue_format == GVE_QF_DQO_QPL;
}

static inline bool gve_is_qpl(const struct gve_softc *sc)
{
	return sc->queue_format == GVE_QF_GQI_QPL ||
	       sc->queue_format == GVE_QF_DQO_QPL;
}

/* what a descriptor names for byte `off` of a queue's buffer pages: GQI_QPL
 * a byte offset into the registered list, every other format the address */
static inline uint64_t gve_buf_addr(const struct gve_softc *sc,
				    const struct gve_qpl *q, uint64_t off)
{
	return sc->queue_format == GVE_QF_GQI_QPL ? off : q->pages.iova + off;
}
#endif
