/* tests/host/gvnic/gvnic_model.c — the software gVNIC (see gvnic_model.h).
 *
 * Semantics follow the Linux GVE driver's view of the device (the basis of
 * record): big-endian BAR0, a 64-slot admin queue advanced by a doorbell and
 * an event counter, page lists, GQI rings with free-running doorbells and
 * event counters, DQO rings with generation bits, IRQ doorbells, and the two
 * reset handshakes. The device does its work synchronously inside the
 * doorbell write, so a test reads results right after the driver call. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/gvnic/gve_reg.h"
#include "gvnic_model.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "shim.h"

struct gvm gvm;

/* BAR2 doorbell indices the model hands out: IRQ doorbells from 16, TX
 * queues from 128, RX from 192; with db_high all of them 256 below the top
 * of BAR2, so only a driver that maps the whole BAR reaches them */
#define IRQ_DB_BASE 16
#define TX_DB_BASE  128
#define RX_DB_BASE  192
#define DB_SPAN	    256

void gvm_violation(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!gvm.violations++)
		snprintf(gvm.first_violation, sizeof(gvm.first_violation), "%s",
			 msg);
	if (!gvm.quiet)
		fprintf(stderr, "MODEL VIOLATION: %s\n", msg);
#ifdef CAPOS_FUZZ
	__builtin_trap(); /* the driver broke the interface: a finding */
#endif
}

void gvm_default_config(struct gvm_config *c)
{
	*c = (struct gvm_config){
	    .revision = 1,
	    .max_queues = 2,
	    .tx_entries = 64,
	    .rx_entries = 64,
	    .counters = 16,
	    .tx_pages_per_qpl = 4,
	    .mtu = 1460,
	    .max_registered_pages = 1024,
	    .db_len = 4096,
	    .msix = 5,
	    .msix_table_bar = 1,
	    .msix_table_off = 0,
	    .msix_pba_bar = 1,
	    .msix_pba_off = 0x800,
	    .link_up = true,
	    .link_mbps = 32000,
	};
}

/* gve_adminq_describe_device's priority: DqoRda, DqoQpl, GqiRda, legacy
 * raw addressing, and GqiQpl when nothing else (also with no option) */
uint8_t gvm_expected_format(const struct gvm_config *c)
{
	if (c->dqo)
		return GVE_QF_DQO_RDA;
	if (c->dqo_qpl)
		return GVE_QF_DQO_QPL;
	if (c->gqi_rda || c->raw_addressing)
		return GVE_QF_GQI_RDA;
	return GVE_QF_GQI_QPL;
}

void gvm_pci_dev(struct pci_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->vendor = GVE_PCI_VENDOR;
	d->device = GVE_PCI_DEVICE;
	d->revision = gvm.cfg.revision;
	/* gve.rst: three 32-bit memory BARs */
	d->bar[GVE_REG_BAR] =
	    (struct pci_bar){.base = 0xc0000000, .size = 0x1000};
	d->bar[GVE_MSIX_BAR] =
	    (struct pci_bar){.base = 0xc0001000, .size = 0x1000};
	d->bar[GVE_DB_BAR] =
	    (struct pci_bar){.base = 0xc1000000, .size = gvm.cfg.db_len};
	d->cap_msix = 0x70;
	d->msix_size = (uint16_t)gvm.cfg.msix;
	d->msix_table_bar = gvm.cfg.msix_table_bar;
	d->msix_table_off = gvm.cfg.msix_table_off;
	d->msix_pba_bar = gvm.cfg.msix_pba_bar;
	d->msix_pba_off = gvm.cfg.msix_pba_off;
	d->owner = GVM_OWNER;
}

/* what the model reads only where it wrote it first (struct gvm_txq:
 * buf_addr, buf_len, miss_ns; the wire's frames): 3.4 MB gvm_init and
 * queue creation need not clear (before, in struct gvm, each gvm_init
 * cleared it whole, most of gvnic_test's time) */
static struct {
	uint64_t buf_addr[GVM_MAXQ][GVM_TAGS];
	uint16_t buf_len[GVM_MAXQ][GVM_TAGS];
	uint64_t miss_ns[GVM_MAXQ][GVM_TAGS];
	uint8_t wire[GVM_WIRE_MAX][2048];
} gvm_kept;

static void gvm_forget(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(gvm.qpls); i++)
		free(gvm.qpls[i].pages);
	memset(gvm.qpls, 0, sizeof(gvm.qpls));
	memset(gvm.tx, 0, sizeof(gvm.tx));
	memset(gvm.rx, 0, sizeof(gvm.rx));
	gvm.configured = false;
	gvm.stats = gvm.stats_len = 0;
	gvm.aq_live = false;
	gvm.event_counter = gvm.doorbell = 0;
	memset(gvm.irq_masked, 0, sizeof(gvm.irq_masked));
	memset(gvm.irq_pending, 0, sizeof(gvm.irq_pending));
}

void gvm_init(const struct gvm_config *c)
{
	gvm_forget();
	memset(&gvm, 0, sizeof(gvm));
	gvm.cfg = *c;
	gvm.override_op = gvm.aq_early_op = gvm.bogus_counter_op =
	    GVM_NO_OVERRIDE;
	gvm.irq_db_override = gvm.db_override = gvm.counter_override =
	    GVM_NO_OVERRIDE;
	gvm.device_status = c->link_up ? GVE_DEVSTAT_LINK_UP : 0;
	gvm.vanish_after = GVM_NEVER;
	uint32_t base = c->db_high ? c->db_len / 4 - DB_SPAN : 0;
	gvm.irq_db_base = base + IRQ_DB_BASE;
	gvm.tx_db_base = base + TX_DB_BASE;
	gvm.rx_db_base = base + RX_DB_BASE;
}

static void *dma(uint64_t iova, size_t len, const char *what)
{
	void *p = host_dma_translate(iova, len);
	if (!p)
		gvm_violation(
		    "DMA to %s at %#llx+%zu outside the driver's pools", what,
		    (unsigned long long)iova, len);
	return p;
}

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* the control structures the device holds: admin queue, event counters,
 * IRQ doorbell array, stats report, each live queue's rings and resources */
struct held {
	uint64_t a, l;
	const char *what;
};
static unsigned held_ctl(struct held *h);
#define HELD_MAX 64

/* a data buffer the driver hands the device (a frame to send, a buffer to
 * receive into): driver memory, never one of the structures above. The
 * pool check alone cannot tell a buffer from a ring in the same pool. */
static bool buf_check(uint64_t a, uint64_t len, const char *what)
{
	struct held h[HELD_MAX];
	unsigned n = held_ctl(h);
	for (unsigned i = 0; i < n; i++)
		if (overlap(a, len, h[i].a, h[i].l)) {
			gvm_violation("%s %#llx+%llu overlaps the device's %s",
				      what, (unsigned long long)a,
				      (unsigned long long)len, h[i].what);
			return false;
		}
	return true;
}

/* ---- reset -----------------------------------------------------------------
 */

/* the device side of gve_adminq_release: rev 0 clears adminq_pfn, rev >= 1
 * sets DEVICE_IS_RESET; the device forgets every resource it was given */
static void gvm_reset(void)
{
	gvm.resets++;
	gvm_forget();
	gvm.pfn = 0;
	gvm.base_hi_set = gvm.base_lo_set = gvm.len_set = false;
	gvm.driver_status = 0;
	gvm.device_status &= ~GVE_DEVSTAT_RESET;
	if (gvm.cfg.revision >= 1)
		gvm.device_status |= GVE_DEVSTAT_DEVICE_IS_RESET;
}

/* gve_adminq_alloc: the admin queue page becomes the device's */
static void gvm_aq_live(uint64_t a)
{
	if (a & 0xfff)
		gvm_violation("admin queue at %#llx not page aligned",
			      (unsigned long long)a);
	dma(a, GVE_ADMINQ_SIZE, "admin queue");
	gvm.aq = a;
	gvm.aq_live = true;
	gvm.registrations++;
	gvm.event_counter = gvm.doorbell = 0;
}

/* ---- interrupts ------------------------------------------------------------
 */

static bool dqo(void);

/* a notification block's event. GQI: the driver masks in its handler
 * (gve_intr). DQO: the device masks the block itself when it fires
 * (gve_intr_dqo: "Interrupts are automatically masked") until the driver
 * writes ENABLE again (gve_napi_poll_dqo) */
static void gvm_irq_block(uint32_t b)
{
	if (!gvm.configured || b >= gvm.num_irq_dbs || b >= GVM_MAXBLK)
		return;
	if (gvm.irq_masked[b]) {
		gvm.irq_pending[b] = true;
		return;
	}
	if (dqo())
		gvm.irq_masked[b] = true;
	host_irq_raise(b);
}

/* device_status changes and the management vector fires (gve_mgmnt_intr,
 * read by gve_handle_status) */
void gvm_set_status(uint32_t set, uint32_t clear)
{
	gvm.device_status = (gvm.device_status & ~clear) | set;
	if (gvm.configured)
		host_irq_raise(gvm.num_irq_dbs);
}

/* ---- admin commands --------------------------------------------------------
 */

static uint32_t be32p(const uint8_t *p, unsigned off)
{
	uint32_t v;
	memcpy(&v, p + off, 4);
	return be32_to_cpu(v);
}
static uint64_t be64p(const uint8_t *p, unsigned off)
{
	uint64_t v;
	memcpy(&v, p + off, 8);
	return be64_to_cpu(v);
}
static uint16_t be16p(const uint8_t *p, unsigned off)
{
	uint16_t v;
	memcpy(&v, p + off, 2);
	return be16_to_cpu(v);
}

static unsigned put_opt(uint8_t *b, unsigned off, uint16_t id, uint16_t len,
			uint32_t feat, const uint8_t *extra, unsigned nextra)
{
	struct gve_device_option o = {cpu_to_be16(id), cpu_to_be16(len), 0};
	memcpy(b + off, &o, 8);
	memset(b + off + 8, 0, len);
	if (len >= 4) {
		uint32_t f = cpu_to_be32(feat);
		memcpy(b + off + 8, &f, 4);
	}
	if (extra)
		memcpy(b + off + 12, extra, nextra);
	return off + 8 + len;
}

/* gve_adminq_describe_device: the descriptor and its option chain
 * (gve_process_device_options), at most available_length bytes */
static uint32_t gvm_describe(const uint8_t *p)
{
	uint64_t addr = be64p(p, 0);
	uint32_t ver = be32p(p, 8), avail = be32p(p, 12);
	uint8_t b[512] = {0};
	unsigned off = sizeof(struct gve_device_descriptor), n = 0;
	struct gvm_config *c = &gvm.cfg;

	if (ver != GVE_DESCRIPTOR_VERSION)
		gvm_violation("describe: descriptor version %u", ver);
	if (gvm.desc_override) {
		size_t len = MIN(gvm.desc_override_len, (size_t)avail);
		uint8_t *dst = dma(addr, len, "device descriptor");
		if (dst)
			memcpy(dst, gvm.desc_override, len);
		return GVE_AQ_STATUS_PASSED;
	}
	struct gve_device_descriptor *d = (void *)b;
	d->max_registered_pages = cpu_to_be64(c->max_registered_pages);
	d->tx_queue_entries = cpu_to_be16(c->tx_entries);
	d->rx_queue_entries = cpu_to_be16(c->rx_entries);
	d->default_num_queues = cpu_to_be16(c->default_num_queues);
	d->mtu = cpu_to_be16(c->mtu);
	d->counters = cpu_to_be16(c->counters);
	d->tx_pages_per_qpl = cpu_to_be16(c->tx_pages_per_qpl);
	d->rx_pages_per_qpl = cpu_to_be16(
	    c->rx_pages_per_qpl ? c->rx_pages_per_qpl : c->rx_entries);
	memcpy(d->mac, "\x42\x01\x0a\x80\x00\x02", 6);
	uint32_t feat = (c->modify_ring ? GVE_SUP_MODIFY_RING : 0) |
			(c->jumbo ? GVE_SUP_JUMBO_FRAMES : 0) |
			(c->buffer_sizes ? GVE_SUP_BUFFER_SIZES : 0);
	if (c->short_opt)
		off = put_opt(b, off, GVE_OPT_DQO_RDA, 2, 0, NULL, 0), n++;
	if (c->unknown_opt)
		off = put_opt(b, off, 0x77, 12, 0, NULL, 0), n++;
	if (c->gqi_qpl_opt)
		off = put_opt(b, off, GVE_OPT_GQI_QPL, 4, feat, NULL, 0), n++;
	if (c->gqi_rda)
		off = put_opt(b, off, GVE_OPT_GQI_RDA, 4, feat, NULL, 0), n++;
	if (c->raw_addressing)
		off =
		    put_opt(b, off, GVE_OPT_GQI_RAW_ADDRESSING, 0, 0, NULL, 0),
		n++;
	if (c->dqo_qpl) {
		uint16_t pg[2] = {cpu_to_be16(c->dqo_qpl_tx_pages), 0};
		off = put_opt(b, off, GVE_OPT_DQO_QPL, 8, feat, (void *)pg, 4),
		n++;
	}
	if (c->dqo)
		off = put_opt(b, off, GVE_OPT_DQO_RDA, 8, feat, NULL, 0), n++;
	if (c->modify_ring) {
		uint16_t r[4] = {cpu_to_be16(4096), cpu_to_be16(4096),
				 cpu_to_be16(64), cpu_to_be16(64)};
		off = put_opt(b, off, GVE_OPT_MODIFY_RING, 12, 0, (void *)r, 8),
		n++;
	}
	if (c->jumbo) {
		uint16_t m = cpu_to_be16(c->mtu);
		off =
		    put_opt(b, off, GVE_OPT_JUMBO_FRAMES, 8, 0, (void *)&m, 2),
		n++;
	}
	if (c->buffer_sizes) {
		uint16_t bs[2] = {cpu_to_be16(4096), cpu_to_be16(128)};
		off =
		    put_opt(b, off, GVE_OPT_BUFFER_SIZES, 8, 0, (void *)bs, 4),
		n++;
	}
	d->num_device_options = cpu_to_be16((uint16_t)n);
	d->total_length = cpu_to_be16((uint16_t)off);
	if (avail < off)
		return GVE_AQ_STATUS_OUT_OF_RANGE;
	uint8_t *dst = dma(addr, off, "device descriptor");
	if (dst)
		memcpy(dst, b, off);
	return GVE_AQ_STATUS_PASSED;
}

/* gve_adminq_configure_device_resources: counters, IRQ doorbell array
 * (the device writes each block's doorbell index, gve_irq_doorbell),
 * management vector last (GVE_NTFY_BLK_BASE_MSIX_IDX 0) */
static uint32_t gvm_configure(const uint8_t *p)
{
	if (gvm.configured) {
		gvm_violation("configure device resources twice");
		return GVE_AQ_STATUS_FAILED_PRECONDITION;
	}
	gvm.counters = be64p(p, 0);
	gvm.irq_dbs = be64p(p, 8);
	gvm.num_counters = be32p(p, 16);
	gvm.num_irq_dbs = be32p(p, 20);
	gvm.stride = be32p(p, 24);
	uint32_t base = be32p(p, 28);
	gvm.format = p[32];
	/* the format Linux would pick; the block count Linux's layout gives
	 * (gve_init_priv: (vectors - 1) & ~1), or fewer, as when Linux gets
	 * fewer vectors than it asked for, but even */
	bool fmt_ok = gvm.format == gvm_expected_format(&gvm.cfg) ||
		      (gvm.desc_override && gvm.format >= GVE_QF_GQI_RDA &&
		       gvm.format <= GVE_QF_DQO_QPL); /* tests assert it */
	/* the counters the device described: the config's, or those of a
	 * descriptor a test or fuzzer handed the driver instead */
	uint32_t counters =
	    gvm.desc_override && gvm.desc_override_len >=
				     sizeof(struct gve_device_descriptor)
		? be16p(gvm.desc_override,
			offsetof(struct gve_device_descriptor, counters))
		: gvm.cfg.counters;
	if (!fmt_ok || gvm.stride != GVE_IRQ_DB_STRIDE || base != 0 ||
	    gvm.num_counters != counters || !gvm.num_irq_dbs ||
	    (gvm.num_irq_dbs & 1) ||
	    gvm.num_irq_dbs > ((gvm.cfg.msix - 1) & ~1u) ||
	    gvm.num_irq_dbs > GVM_MAXBLK) {
		gvm_violation("configure: format %u stride %u base %u counters "
			      "%u irq dbs %u",
			      gvm.format, gvm.stride, base, gvm.num_counters,
			      gvm.num_irq_dbs);
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	}
	if (!dma(gvm.counters, gvm.num_counters * 4ull, "event counters"))
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	uint8_t *dbs = dma(gvm.irq_dbs, gvm.num_irq_dbs * 64ull, "irq dbs");
	if (!dbs)
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	for (uint32_t i = 0; i < gvm.num_irq_dbs; i++) {
		uint32_t v = gvm.irq_db_override != GVM_NO_OVERRIDE && i == 0
				 ? gvm.irq_db_override
				 : gvm.irq_db_base + i;
		v = cpu_to_be32(v);
		memcpy(dbs + i * 64, &v, 4);
		gvm.irq_masked[i] = true; /* masked until the driver writes 0 */
	}
	gvm.configured = true;
	return GVE_AQ_STATUS_PASSED;
}

static struct gvm_qpl *qpl_find(uint32_t id)
{
	for (unsigned i = 0; i < ARRAY_SIZE(gvm.qpls); i++)
		if (gvm.qpls[i].live && gvm.qpls[i].id == id)
			return &gvm.qpls[i];
	return NULL;
}

/* gve_adminq_register_page_list: page-aligned 4 KiB pages, within
 * max_registered_pages in all (gve_alloc_queue_page_list's check) */
static uint32_t gvm_register_qpl(const uint8_t *p)
{
	uint32_t id = be32p(p, 0), n = be32p(p, 4);
	uint64_t list = be64p(p, 8), psz = be64p(p, 16), total = n;

	if (!gvm.configured)
		gvm_violation("register page list before configure");
	if (qpl_find(id)) {
		gvm_violation("page list %u registered twice", id);
		return GVE_AQ_STATUS_ALREADY_EXISTS;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(gvm.qpls); i++)
		total += gvm.qpls[i].live ? gvm.qpls[i].npages : 0;
	if (!n || psz != 4096 || total > gvm.cfg.max_registered_pages) {
		gvm_violation(
		    "page list %u: %u pages of %llu bytes (%llu in all)", id, n,
		    (unsigned long long)psz, (unsigned long long)total);
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	}
	const uint8_t *l = dma(list, n * 8ull, "page address list");
	if (!l)
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	for (unsigned i = 0; i < ARRAY_SIZE(gvm.qpls); i++) {
		struct gvm_qpl *q = &gvm.qpls[i];
		if (q->live)
			continue;
		q->pages = calloc(n, 8);
		for (uint32_t k = 0; k < n; k++) {
			q->pages[k] = be64p(l, k * 8);
			if ((q->pages[k] & 0xfff) ||
			    !dma(q->pages[k], 4096, "page list page")) {
				gvm_violation("page list %u page %u at %#llx",
					      id, k,
					      (unsigned long long)q->pages[k]);
				free(q->pages);
				q->pages = NULL;
				return GVE_AQ_STATUS_INVALID_ARGUMENT;
			}
		}
		q->live = true;
		q->id = id;
		q->npages = n;
		return GVE_AQ_STATUS_PASSED;
	}
	return GVE_AQ_STATUS_RESOURCE_EXHAUSTED;
}

static bool qpl_in_use(uint32_t id)
{
	for (unsigned i = 0; i < GVM_MAXQ; i++)
		if ((gvm.tx[i].live && gvm.tx[i].qpl_id == id) ||
		    (gvm.rx[i].live && gvm.rx[i].qpl_id == id))
			return true;
	return false;
}

/* gve_adminq_unregister_page_list: only once no queue uses the list */
static uint32_t gvm_unregister_qpl(const uint8_t *p)
{
	struct gvm_qpl *q = qpl_find(be32p(p, 0));
	if (!q) {
		gvm_violation("unregister of unknown page list %u",
			      be32p(p, 0));
		return GVE_AQ_STATUS_NOT_FOUND;
	}
	if (qpl_in_use(q->id)) {
		gvm_violation(
		    "unregister of page list %u still used by a queue", q->id);
		return GVE_AQ_STATUS_FAILED_PRECONDITION;
	}
	free(q->pages);
	memset(q, 0, sizeof(*q));
	return GVE_AQ_STATUS_PASSED;
}

/* struct gve_queue_resources: the doorbell and counter indices the driver
 * reads after queue creation (gve_tx_put_doorbell, gve_tx_load_event_counter)
 */
static void qres_fill(uint64_t qres, uint32_t db, uint32_t ctr)
{
	uint8_t *r = dma(qres, 64, "queue resources");
	if (!r)
		return;
	if (gvm.db_override != GVM_NO_OVERRIDE)
		db = gvm.db_override;
	if (gvm.counter_override != GVM_NO_OVERRIDE)
		ctr = gvm.counter_override;
	uint32_t v[2] = {cpu_to_be32(db), cpu_to_be32(ctr)};
	memcpy(r, v, 8);
}

static bool dqo(void)
{
	return gvm.format == GVE_QF_DQO_RDA || gvm.format == GVE_QF_DQO_QPL;
}

static bool is_qpl(void)
{
	return gvm.format == GVE_QF_GQI_QPL || gvm.format == GVE_QF_DQO_QPL;
}

/* gve_tx_qpl_id / gve_rx_qpl_id: TX page list i is queue i, RX page lists
 * follow the TX queues the driver could have (min(max queues, blocks/2)) */
static uint32_t gvm_tx_max(void)
{
	return MIN(gvm.cfg.max_queues, gvm.num_irq_dbs / 2);
}

static bool qpl_taken(uint32_t id, bool tx, uint32_t self)
{
	for (unsigned i = 0; i < GVM_MAXQ; i++)
		if ((gvm.tx[i].live && gvm.tx[i].qpl_id == id &&
		     !(tx && i == self)) ||
		    (gvm.rx[i].live && gvm.rx[i].qpl_id == id &&
		     !(!tx && i == self)))
			return true;
	return false;
}

/* the queue id of a create command: the device is configured, the id in
 * range and not live */
static bool gvm_new_qid(bool tx, uint32_t id)
{
	if (gvm.configured && id < gvm.cfg.max_queues && id < GVM_MAXQ &&
	    !(tx ? gvm.tx[id].live : gvm.rx[id].live))
		return true;
	gvm_violation("create %s queue %u: not configured, out of range or "
		      "exists",
		      tx ? "tx" : "rx", id);
	return false;
}

static uint32_t gvm_create_tx(const uint8_t *p)
{
	uint32_t id = be32p(p, 0), qpl = be32p(p, 24), ntfy = be32p(p, 28);
	uint16_t size = be16p(p, 40), csize = be16p(p, 42);
	struct gvm_txq *t;

	if (!gvm_new_qid(true, id))
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	t = &gvm.tx[id];
	memset(t, 0, sizeof(*t));
	t->buf_addr = gvm_kept.buf_addr[id];
	t->buf_len = gvm_kept.buf_len[id];
	t->miss_ns = gvm_kept.miss_ns[id];
	t->size = size;
	t->qres = be64p(p, 8);
	t->ring = be64p(p, 16);
	t->compl = be64p(p, 32);
	t->ntfy = ntfy;
	t->qpl_id = qpl;
	/* gve_adminq_create_tx_queue: QPL formats name page list
	 * gve_tx_qpl_id (= queue id), unused by another queue; RDA formats
	 * GVE_RAW_ADDRESSING_QPL_ID. TX queue i is on block i
	 * (gve_tx_idx_to_ntfy). DQO: completion ring as large as the ring */
	bool qpl_ok =
	    is_qpl() ? qpl == id && qpl_find(qpl) && !qpl_taken(qpl, true, id)
		     : qpl == GVE_RAW_ADDRESSING_QPL_ID;
	if (!pow2(size) || ntfy != id || !qpl_ok || (dqo() && csize != size)) {
		gvm_violation("create tx queue %u: size %u ntfy %u qpl %#x", id,
			      size, ntfy, qpl);
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	}
	if (!dma(t->ring, size * 16ull, "tx ring") ||
	    (dqo() && !dma(t->compl, size * 8ull, "tx completion ring")))
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	t->db = gvm.tx_db_base + id;
	t->counter = id;
	t->live = true;
	qres_fill(t->qres, t->db, t->counter);
	return GVE_AQ_STATUS_PASSED;
}

static uint32_t gvm_create_rx(const uint8_t *p)
{
	uint32_t id = be32p(p, 0), ntfy = be32p(p, 12), qpl = be32p(p, 40);
	uint16_t size = be16p(p, 44), pbs = be16p(p, 46), bsize = be16p(p, 48);
	struct gvm_rxq *r;

	if (!gvm_new_qid(false, id))
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	r = &gvm.rx[id];
	memset(r, 0, sizeof(*r));
	r->size = size;
	r->qres = be64p(p, 16);
	r->desc = be64p(p, 24);
	r->data = be64p(p, 32);
	r->ntfy = ntfy;
	r->qpl_id = qpl;
	r->seq = 1;
	/* gve_adminq_get_create_rx_queue_cmd: QPL formats name page list
	 * gve_rx_qpl_id, unused by another queue; GQI_QPL needs a page per
	 * ring slot (gve_rx_prefill_pages); RX queue i is on block
	 * num_ntfy_blks/2 + i (gve_rx_idx_to_ntfy); GQI passes the index */
	struct gvm_qpl *q = is_qpl() ? qpl_find(qpl) : NULL;
	bool qpl_ok = is_qpl() ? q && qpl == gvm_tx_max() + id &&
				     !qpl_taken(qpl, false, id) &&
				     (dqo() || q->npages >= size)
			       : qpl == GVE_RAW_ADDRESSING_QPL_ID;
	if (!pow2(size) || ntfy != gvm.num_irq_dbs / 2 + id || pbs != 2048 ||
	    !qpl_ok || (dqo() ? bsize != size : be32p(p, 4) != id)) {
		gvm_violation(
		    "create rx queue %u: size %u ntfy %u qpl %#x pbs %u", id,
		    size, ntfy, qpl, pbs);
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	}
	if (!dma(r->desc, size * (dqo() ? 32ull : 64ull), "rx desc ring") ||
	    !dma(r->data, size * (dqo() ? 32ull : 8ull), "rx data ring"))
		return GVE_AQ_STATUS_INVALID_ARGUMENT;
	r->db = gvm.rx_db_base + id;
	r->live = true;
	qres_fill(r->qres, r->db, 0);
	return GVE_AQ_STATUS_PASSED;
}

/* gve_adminq_destroy_tx_queues / gve_adminq_destroy_rx_queues */
static uint32_t gvm_destroy(bool tx, uint32_t id)
{
	bool *live =
	    id < GVM_MAXQ ? (tx ? &gvm.tx[id].live : &gvm.rx[id].live) : NULL;
	if (!live || !*live) {
		gvm_violation("destroy of %s queue %u that does not exist",
			      tx ? "tx" : "rx", id);
		return GVE_AQ_STATUS_NOT_FOUND;
	}
	*live = false;
	return GVE_AQ_STATUS_PASSED;
}

/* gve_adminq_deconfigure_device_resources: after every queue and page
 * list is gone (gve_teardown_priv_resources' order) */
static uint32_t gvm_deconfigure(void)
{
	for (unsigned i = 0; i < GVM_MAXQ; i++)
		if (gvm.tx[i].live || gvm.rx[i].live)
			gvm_violation("deconfigure with queue %u live", i);
	for (unsigned i = 0; i < ARRAY_SIZE(gvm.qpls); i++)
		if (gvm.qpls[i].live)
			gvm_violation(
			    "deconfigure with page list %u registered",
			    gvm.qpls[i].id);
	if (!gvm.configured)
		gvm_violation("deconfigure while not configured");
	gvm.configured = false;
	return GVE_AQ_STATUS_PASSED;
}

/* one admin command: SET_DRIVER_PARAMETER is gve_adminq_set_mtu,
 * REPORT_STATS gve_adminq_report_stats, REPORT_LINK_SPEED
 * gve_adminq_report_link_speed, GET_PTYPE_MAP gve_adminq_get_ptype_map_dqo,
 * VERIFY_DRIVER_COMPATIBILITY gve_adminq_verify_driver_compatibility */
static uint32_t gvm_cmd(uint32_t op, const uint8_t *p)
{
	switch (op) {
	case GVE_AQ_DESCRIBE_DEVICE:
		return gvm_describe(p);
	case GVE_AQ_CONFIGURE_DEVICE_RESOURCES:
		return gvm_configure(p);
	case GVE_AQ_REGISTER_PAGE_LIST:
		return gvm_register_qpl(p);
	case GVE_AQ_UNREGISTER_PAGE_LIST:
		return gvm_unregister_qpl(p);
	case GVE_AQ_CREATE_TX_QUEUE:
		return gvm_create_tx(p);
	case GVE_AQ_CREATE_RX_QUEUE:
		return gvm_create_rx(p);
	case GVE_AQ_DESTROY_TX_QUEUE:
		return gvm_destroy(true, be32p(p, 0));
	case GVE_AQ_DESTROY_RX_QUEUE:
		return gvm_destroy(false, be32p(p, 0));
	case GVE_AQ_DECONFIGURE_DEVICE_RESOURCES:
		return gvm_deconfigure();
	case GVE_AQ_SET_DRIVER_PARAMETER:
		if (be32p(p, 0) != GVE_PARAM_MTU || be64p(p, 8) < 68 ||
		    be64p(p, 8) > gvm.cfg.mtu)
			return GVE_AQ_STATUS_INVALID_ARGUMENT;
		gvm.mtu_set = (uint16_t)be64p(p, 8);
		return GVE_AQ_STATUS_PASSED;
	case GVE_AQ_REPORT_STATS:
		gvm.stats = be64p(p, 8);
		gvm.stats_len = be64p(p, 0);
		if (gvm.stats_len && !dma(gvm.stats, gvm.stats_len, "stats"))
			return GVE_AQ_STATUS_INVALID_ARGUMENT;
		return GVE_AQ_STATUS_PASSED;
	case GVE_AQ_REPORT_LINK_SPEED: {
		uint8_t *v = dma(be64p(p, 0), 8, "link speed");
		uint64_t s = cpu_to_be64(gvm.cfg.link_mbps);
		if (!v)
			return GVE_AQ_STATUS_INVALID_ARGUMENT;
		memcpy(v, &s, 8);
		return GVE_AQ_STATUS_PASSED;
	}
	case GVE_AQ_GET_PTYPE_MAP: {
		if (!dqo())
			gvm_violation("ptype map in a GQI format");
		uint8_t *m = dma(be64p(p, 8), be64p(p, 0), "ptype map");
		if (!m || be64p(p, 0) != GVE_PTYPE_MAP_SIZE)
			return GVE_AQ_STATUS_INVALID_ARGUMENT;
		m[2] = 2, m[3] = 2; /* ptype 1: IPv4 TCP */
		m[4] = 7, m[5] = 9; /* out of range: stored as unknown */
		return GVE_AQ_STATUS_PASSED;
	}
	case GVE_AQ_VERIFY_DRIVER_COMPATIBILITY: {
		if (gvm.configured)
			gvm_violation("verify compatibility after configure");
		const uint8_t *info =
		    dma(be64p(p, 8), be64p(p, 0), "driver info");
		if (!info || be64p(p, 0) < sizeof(struct gve_driver_info))
			return GVE_AQ_STATUS_INVALID_ARGUMENT;
		memcpy(gvm.driver_info, info, sizeof(gvm.driver_info));
		return GVE_AQ_STATUS_PASSED;
	}
	default:
		return GVE_AQ_STATUS_UNIMPLEMENTED;
	}
}

/* the device side of gve_adminq_kick_and_wait: every command up to the
 * doorbell gets a status, then the event counter moves past it */
static void gvm_aq_run(void)
{
	bool rx_created = false;
	while (gvm.event_counter != gvm.doorbell && !gvm.stall) {
		uint8_t *q = dma(gvm.aq, GVE_ADMINQ_SIZE, "admin queue");
		if (!q)
			return;
		uint8_t *c = q + (gvm.event_counter & GVE_ADMINQ_MASK) * 64;
		uint32_t op = be32p(c, 0), st;
		if (gvm.noplog < GVM_OPLOG)
			gvm.oplog[gvm.noplog++] = op;
		if (gvm.override_op == op) {
			st = gvm.override_status;
			gvm.override_op = GVM_NO_OVERRIDE;
		} else if (op < 32 && (gvm.cfg.lacks & (1u << op))) {
			st = GVE_AQ_STATUS_UNIMPLEMENTED;
		} else {
			st = gvm_cmd(op, c + 8);
		}
		rx_created |= op == GVE_AQ_CREATE_RX_QUEUE;
		if (op == gvm.bogus_counter_op) {
			gvm.bogus_counter = 1;
			gvm.bogus_counter_op = GVM_NO_OVERRIDE;
		}
		st = cpu_to_be32(st);
		memcpy(c + 4, &st, 4);
		gvm.event_counter++;
	}
	if (rx_created && gvm.reset_storm)
		gvm_set_status(GVE_DEVSTAT_RESET, 0);
}

/* hostile: a command written to the queue but not yet named by the
 * doorbell is counted complete without being run (aq_early_op) */
static void gvm_aq_early(void)
{
	if (gvm.aq_early_op == GVM_NO_OVERRIDE || !gvm.aq_live)
		return;
	uint8_t *q = dma(gvm.aq, GVE_ADMINQ_SIZE, "admin queue");
	if (!q)
		return;
	uint8_t *c = q + (gvm.event_counter & GVE_ADMINQ_MASK) * 64;
	if (be32p(c, 0) != gvm.aq_early_op || be32p(c, 4) != 0)
		return;
	gvm.aq_early_op = GVM_NO_OVERRIDE;
	gvm.event_counter++;
	gvm.doorbell = gvm.event_counter;
}

void gvm_aq_set_base(uint32_t n)
{
	gvm.event_counter = gvm.doorbell = n;
}

/* ---- GQI data path ----------------------------------------------------------
 */

/* GQI_QPL addressing: a byte offset into the registered pages
 * (gve_tx_alloc_fifo's iov_offset, gve_rx_prefill_pages' qpl_offset) */
static bool qpl_copy(struct gvm_qpl *q, uint64_t off, uint8_t *buf, size_t len,
		     bool to_qpl)
{
	if (!q || off + len > (uint64_t)q->npages * 4096) {
		gvm_violation("qpl %u offset %#llx+%zu beyond its pages",
			      q ? q->id : 0, (unsigned long long)off, len);
		return false;
	}
	while (len) {
		size_t in = MIN(len, 4096 - (off & 4095));
		uint64_t a = q->pages[off / 4096] + (off & 4095);
		uint8_t *pg = dma(a, in, "qpl page");
		if (!pg || !buf_check(a, in, "qpl buffer"))
			return false;
		to_qpl ? memcpy(pg, buf, in) : memcpy(buf, pg, in);
		buf += in, off += in, len -= in;
	}
	return true;
}

/* the wire the packets leave on (what gve_tx hands the device) */
static void wire_push(const uint8_t *f, size_t len)
{
	if (gvm.wire_head - gvm.wire_tail >= GVM_WIRE_MAX)
		gvm.wire_tail++; /* drop the oldest */
	unsigned i = gvm.wire_head++ % GVM_WIRE_MAX;
	gvm.wire_len[i] = (uint16_t)len;
	memcpy(gvm_kept.wire[i], f, len);
}

/* GQI TX completion: the queue's event counter counts descriptors done
 * (gve_tx_load_event_counter, gve_clean_tx_done) */
static void gqi_tx_counter_write(struct gvm_txq *t)
{
	uint32_t *ctr = dma(gvm.counters, gvm.num_counters * 4ull, "counters");
	if (ctr)
		ctr[t->counter] = cpu_to_be32(t->done);
	t->reported = t->done;
}

/* one GQI TX segment. QPL: a byte offset into the queue's page list, at a
 * GVE_TX_FIFO_ALIGN boundary as every allocation of gve_tx_alloc_fifo
 * starts. RDA: an address in the driver's memory, remembered until the
 * completion is reported (the device holds it until then). */
static bool gqi_seg_read(struct gvm_txq *t, struct gvm_qpl *q, uint64_t a,
			 uint8_t *buf, unsigned len, uint32_t k)
{
	uint32_t slot = k & (t->size - 1);
	/* the device still holds every segment not reported done: one
	 * named again (a FIFO offset or an address) is a buffer the driver
	 * reused while the device may still read it */
	for (uint32_t j = t->reported; j != k; j++)
		if (overlap(a, len, t->buf_addr[j & (t->size - 1)],
			    t->buf_len[j & (t->size - 1)]))
			gvm_violation("gqi tx: segment %#llx+%u of descriptor "
				      "%u reuses descriptor %u's, not yet "
				      "reported done",
				      (unsigned long long)a, len, k, j);
	t->buf_addr[slot] = a;
	t->buf_len[slot] = (uint16_t)len;
	if (gvm.format == GVE_QF_GQI_QPL) {
		if (a % GVE_TX_FIFO_ALIGN)
			gvm_violation("gqi tx: qpl offset %#llx not %u-byte "
				      "aligned",
				      (unsigned long long)a, GVE_TX_FIFO_ALIGN);
		return qpl_copy(q, a, buf, len, false);
	}
	const uint8_t *p = dma(a, len, "gqi tx segment");
	if (!p || !buf_check(a, len, "gqi tx segment"))
		return false;
	memcpy(buf, p, len);
	return true;
}

/* the device's view of gve_tx_add_skb_copy / gve_tx_add_skb_no_copy: a
 * packet descriptor (desc_cnt covers its segment descriptors) and
 * segments whose lengths add up to the packet */
static void gqi_tx_run(struct gvm_txq *t)
{
	struct gvm_qpl *q = qpl_find(t->qpl_id);
	const struct gve_tx_desc_gqi *ring =
	    dma(t->ring, t->size * 16ull, "tx ring");
	uint8_t frame[4096];

	while (ring && t->done != t->req) {
		const struct gve_tx_desc_gqi *d =
		    &ring[t->done & (t->size - 1)];
		unsigned n = d->desc_cnt, len = be16_to_cpu(d->len), got = 0;
		/* gve_tx: the packet descriptor's segment holds at least
		 * min(GVE_GQ_TX_MIN_PKT_DESC_BYTES, len) bytes */
		if ((d->type_flags & GVE_TXD_TYPE_MASK) != GVE_TXD_STD || !n ||
		    n > t->req - t->done || len > sizeof(frame) ||
		    be16_to_cpu(d->seg_len) <
			MIN(len, GVE_TX_MIN_PKT_DESC_BYTES)) {
			gvm_violation(
			    "gqi tx descriptor %u: type %#x cnt %u len %u",
			    t->done, d->type_flags, n, len);
			return;
		}
		for (unsigned k = 0; k < n; k++) {
			const struct gve_tx_desc_gqi *s =
			    &ring[(t->done + k) & (t->size - 1)];
			unsigned sl = be16_to_cpu(s->seg_len);
			if (k &&
			    (s->type_flags & GVE_TXD_TYPE_MASK) != GVE_TXD_SEG)
				gvm_violation(
				    "gqi tx: descriptor %u of a packet "
				    "is not a segment",
				    k);
			if (got + sl > len) {
				gvm_violation(
				    "gqi tx: segments exceed length %u", len);
				return;
			}
			if (!gqi_seg_read(t, q, be64_to_cpu(s->seg_addr),
					  frame + got, sl, t->done + k))
				return;
			got += sl;
		}
		if (got != len)
			gvm_violation("gqi tx: segments %u != length %u", got,
				      len);
		wire_push(frame, len);
		t->done += n;
	}
	if (!t->hold_completions)
		gqi_tx_counter_write(t);
}

bool gvm_rx_inject(unsigned qi, const void *frame, size_t len);

/* a GQI RX descriptor with the next sequence number, 1..7 and never 0
 * (gve_next_seqno), read by gve_rx */
static void gqi_rx_write(struct gvm_rxq *r, uint16_t len, uint16_t flags)
{
	struct gve_rx_desc_gqi *ring = dma(r->desc, r->size * 64ull, "rx ring");
	if (!ring)
		return;
	struct gve_rx_desc_gqi *d = &ring[r->cnt & (r->size - 1)];
	d->len = cpu_to_be16(len);
	d->flags_seq = cpu_to_be16((uint16_t)(flags | r->seq));
	r->seq = r->seq == 7 ? 1 : r->seq + 1;
	r->cnt++;
	gvm_irq_block(r->ntfy);
}

/* a frame into the next posted GQI slot, 2 bytes in (GVE_RX_PAD); a slot
 * is posted once the RX doorbell (fill count, gve_rx_write_doorbell)
 * passes it */
static bool gqi_rx_inject(struct gvm_rxq *r, const uint8_t *f, size_t len)
{
	if (r->fill == r->cnt) {
		gvm.rx_no_buffer++;
		return false;
	}
	const uint64_t *data = dma(r->data, r->size * 8ull, "rx data ring");
	if (!data)
		return false;
	uint64_t off = be64_to_cpu(data[r->cnt & (r->size - 1)]);
	uint8_t buf[2048 + 2] = {0};
	if (len + 2 > 2048) {
		gvm_violation("test frame too long");
		return false;
	}
	memcpy(buf + 2, f, len);
	/* the data slot: a page-list offset (QPL) or an address (RDA) of a
	 * 2048-byte packet buffer */
	if (gvm.format == GVE_QF_GQI_QPL) {
		if (!qpl_copy(qpl_find(r->qpl_id), off, buf, len + 2, true))
			return false;
	} else {
		uint8_t *p = dma(off, 2048, "gqi rx buffer");
		if (!p)
			return false;
		memcpy(p, buf, len + 2);
	}
	gqi_rx_write(r, (uint16_t)(len + 2), GVE_RXF_IPV4);
	return true;
}

void gvm_gqi_tx_counter(unsigned q, uint32_t v)
{
	struct gvm_txq *t = &gvm.tx[q];
	uint32_t *ctr = dma(gvm.counters, gvm.num_counters * 4ull, "counters");
	if (ctr)
		ctr[t->counter] = cpu_to_be32(v);
	/* a device that reports descriptors done no longer holds them */
	if (v - t->reported <= t->done - t->reported)
		t->reported = v;
}

void gvm_gqi_rx_raw(unsigned q, uint16_t len, uint16_t flags)
{
	if (gvm.rx[q].fill == gvm.rx[q].cnt)
		return; /* the device has no slot to write */
	gqi_rx_write(&gvm.rx[q], len, flags);
}

void gvm_gqi_set_base(unsigned q, uint32_t tx, uint32_t rx_cnt,
		      uint32_t rx_fill)
{
	gvm.tx[q].req = gvm.tx[q].done = tx;
	gvm.rx[q].cnt = rx_cnt;
	gvm.rx[q].fill = rx_fill;
}

/* ---- DQO data path ----------------------------------------------------------
 */

/* a DQO TX completion with the flipped generation bit, as
 * gve_clean_tx_done_dqo reads them */
static void dqo_tx_compl(struct gvm_txq *t, unsigned type, uint16_t v)
{
	struct gve_tx_compl_dqo *ring =
	    dma(t->compl, t->size * 8ull, "tx completion ring");
	if (!ring)
		return;
	struct gve_tx_compl_dqo *c = &ring[t->ctail];
	c->tag = v;
	if (type != GVE_COMPL_TYPE_DQO_DESC) {
		t->clog_tag[t->nclog % GVM_CLOG] = v;
		t->clog_type[t->nclog % GVM_CLOG] = (uint8_t)type;
		t->nclog++;
	}
	c->id_type_gen = (uint16_t)(FIELD_SET(GVE_TXC_TYPE, type) |
				    FIELD_SET(GVE_TXC_GEN, t->cgen ^ 1));
	if (++t->ctail == t->size) {
		t->ctail = 0;
		t->cgen ^= 1;
	}
}

/* DQO_QPL: a buffer must lie inside one registered page of the queue's
 * page list (gve_tx_buf_get_addr, the RX buffer pages); RDA: anywhere in
 * the driver's memory */
static bool dqo_buf_ok(uint32_t qpl_id, uint64_t a, size_t len,
		       const char *what)
{
	if (gvm.format != GVE_QF_DQO_QPL)
		return true;
	struct gvm_qpl *q = qpl_find(qpl_id);
	for (uint32_t k = 0; q && k < q->npages; k++)
		if (a >= q->pages[k] && a + len <= q->pages[k] + 4096)
			return true;
	gvm_violation("dqo %s %#llx+%zu outside page list %u", what,
		      (unsigned long long)a, len, qpl_id);
	return false;
}

/* a tag the device holds: in flight and neither completed nor, after a
 * miss completion, left without re-injection past the driver's two
 * timeouts (remove_miss_completions, remove_timed_out_completions: the
 * device dropped that packet) */
static bool tag_held(struct gvm_txq *t, uint32_t tag)
{
	if (!(t->inflight[tag / 8] & (1u << (tag % 8))))
		return false;
	if (tag < GVM_TAGS && (t->missed[tag / 8] & (1u << (tag % 8))) &&
	    shim_clock_ns - t->miss_ns[tag] >=
		(GVE_REINJECT_COMPL_TIMEOUT_S +
		 GVE_DEALLOCATE_COMPL_TIMEOUT_S) *
		    1000000000ull) {
		t->inflight[tag / 8] &= (uint8_t) ~(1u << (tag % 8));
		t->missed[tag / 8] &= (uint8_t) ~(1u << (tag % 8));
		return false;
	}
	return true;
}

/* the device's view of gve_tx_dqo: context descriptors (Linux sends a
 * general one before every packet, gve_tx_fill_general_ctx_desc, and a TSO
 * one for GSO) carry no data; data descriptors up to end_of_packet make a
 * packet of at most GVE_TX_MAX_DATA_DESCS buffers; report_event only on a
 * packet's last descriptor and at least GVE_TX_MIN_RE_INTERVAL descriptors
 * after the previous one (gve_tx_update_tail) */
static void dqo_tx_run(struct gvm_txq *t, unsigned qi)
{
	const struct gve_tx_desc_dqo *ring =
	    dma(t->ring, t->size * 16ull, "tx ring");
	uint8_t frame[4096];
	unsigned got = 0, descs = 0;

	while (ring && t->head != t->tail) {
		uint32_t idx = t->head;
		const struct gve_tx_desc_dqo *d = &ring[idx];
		unsigned dt = FIELD_GET(GVE_TXD_DQO_DTYPE, d->dtype_flags);
		unsigned sz = FIELD_GET(GVE_TXD_DQO_BUF_SIZE, d->buf_size);
		t->head = (t->head + 1) & (t->size - 1);
		if (dt == GVE_TX_GENERAL_CTX_DESC_DTYPE_DQO ||
		    dt == GVE_TX_TSO_CTX_DESC_DTYPE_DQO) {
			gvm.ctx_descs++;
			continue;
		}
		if (dt != GVE_TX_PKT_DESC_DTYPE_DQO) {
			gvm_violation("dqo tx: dtype %#x", dt);
			return;
		}
		const uint8_t *b = dma(d->buf_addr, sz, "tx buffer");
		if (!b ||
		    !dqo_buf_ok(t->qpl_id, d->buf_addr, sz, "tx buffer") ||
		    !buf_check(d->buf_addr, sz, "dqo tx buffer") ||
		    got + sz > sizeof(frame) || ++descs > GVE_TX_MAX_DATA_DESCS)
			return;
		memcpy(frame + got, b, sz);
		got += sz;
		if (d->dtype_flags & GVE_TXD_DQO_EOP) {
			uint16_t tag = d->compl_tag;
			if (tag_held(t, tag))
				gvm_violation(
				    "dqo tx: completion tag %u reused "
				    "while in flight",
				    tag);
			/* another tag's buffer the device still holds */
			for (uint32_t o = 0; o < GVM_TAGS; o++)
				if (!t->inflight[o / 8])
					o |= 7; /* none of these 8 */
				else if (o != tag && tag_held(t, o) &&
					 overlap(d->buf_addr, sz,
						 t->buf_addr[o], t->buf_len[o]))
					gvm_violation(
					    "dqo tx: tag %u's buffer %#llx "
					    "overlaps tag %u's, in flight",
					    tag,
					    (unsigned long long)d->buf_addr, o);
			if (tag < GVM_TAGS) {
				t->buf_addr[tag] = d->buf_addr;
				t->buf_len[tag] = (uint16_t)sz;
				t->missed[tag / 8] &=
				    (uint8_t) ~(1u << (tag % 8));
			}
			t->inflight[tag / 8] |= (uint8_t)(1u << (tag % 8));
			wire_push(frame, got);
			got = descs = 0;
			if (!t->hold_completions) {
				t->inflight[tag / 8] &=
				    (uint8_t) ~(1u << (tag % 8));
				dqo_tx_compl(t, GVE_COMPL_TYPE_DQO_PKT, tag);
			}
		}
		if (d->dtype_flags & GVE_TXD_DQO_RE) {
			if (!(d->dtype_flags & GVE_TXD_DQO_EOP))
				gvm_violation("dqo tx: report_event not on the "
					      "last descriptor");
			if (t->any_re && ((idx - t->last_re) & (t->size - 1)) <
					     GVE_TX_MIN_RE_INTERVAL)
				gvm_violation(
				    "dqo tx: report_event at %u only "
				    "%u after the last at %u",
				    idx, (idx - t->last_re) & (t->size - 1),
				    t->last_re);
			t->any_re = true;
			t->last_re = idx;
			/* tx_head: "the last descriptor fetched by HW plus
			 * one" (gve_clean_tx_done_dqo), unmasked: the ring
			 * size when that descriptor is the last slot */
			dqo_tx_compl(t, GVE_COMPL_TYPE_DQO_DESC,
				     (uint16_t)(idx + 1));
		}
	}
	(void)qi;
	gvm_irq_block(t->ntfy);
}

/* a DQO RX completion with the flipped generation bit, as gve_rx_poll_dqo
 * and gve_rx_dqo read them */
static void dqo_rx_write(struct gvm_rxq *r, uint16_t id, uint16_t len,
			 bool bufq1, bool split)
{
	struct gve_rx_compl_dqo *ring =
	    dma(r->desc, r->size * 32ull, "rx completion ring");
	if (!ring)
		return;
	struct gve_rx_compl_dqo *c = &ring[r->ctail];
	memset(c, 0, sizeof(*c));
	c->rxdid = 1;
	c->ptype = 1;
	c->buf_id = id;
	c->status0 = GVE_RXC_DD | GVE_RXC_EOP;
	c->hdr_len = split ? (uint16_t)(GVE_RXC_SPLIT_HEADER | 14) : 0;
	c->len_gen = (uint16_t)(FIELD_SET(GVE_RXC_LEN, len) |
				FIELD_SET(GVE_RXC_GEN, r->cgen ^ 1) |
				FIELD_SET(GVE_RXC_BUFQ, bufq1));
	if (++r->ctail == r->size) {
		r->ctail = 0;
		r->cgen ^= 1;
	}
	gvm_irq_block(r->ntfy);
}

/* a frame into the next buffer the driver posted
 * (gve_rx_post_buffers_dqo) */
static bool dqo_rx_inject(struct gvm_rxq *r, const uint8_t *f, size_t len)
{
	while (r->head != r->tail && r->slot_done[r->head])
		r->head = (r->head + 1) & (r->size - 1);
	if (r->head == r->tail) {
		gvm.rx_no_buffer++;
		return false;
	}
	const struct gve_rx_buf_desc_dqo *q =
	    dma(r->data, r->size * 32ull, "rx buffer queue");
	if (!q)
		return false;
	const struct gve_rx_buf_desc_dqo *d = &q[r->head];
	uint8_t *b = dma(d->buf_addr, 2048, "rx buffer");
	if (!b || !dqo_buf_ok(r->qpl_id, d->buf_addr, 2048, "rx buffer"))
		return false;
	memcpy(b, f, len);
	r->head = (r->head + 1) & (r->size - 1);
	dqo_rx_write(r, d->buf_id, (uint16_t)len, false, false);
	return true;
}

void gvm_dqo_tx_raw(unsigned q, unsigned type, uint16_t tag)
{
	struct gvm_txq *t = &gvm.tx[q];
	bool alt =
	    type == GVE_COMPL_TYPE_DQO_PKT && (tag & GVE_ALT_MISS_COMPL_BIT);
	uint16_t id = alt ? (uint16_t)(tag & ~GVE_ALT_MISS_COMPL_BIT) : tag;
	/* a device that claims a tag complete no longer holds it; after a
	 * miss it holds it until re-injection or the driver's timeouts */
	if ((type == GVE_COMPL_TYPE_DQO_PKT && !alt) ||
	    type == GVE_COMPL_TYPE_DQO_REINJECTION) {
		t->inflight[id / 8] &= (uint8_t) ~(1u << (id % 8));
		if (id < GVM_TAGS)
			t->missed[id / 8] &= (uint8_t) ~(1u << (id % 8));
	} else if ((alt || type == GVE_COMPL_TYPE_DQO_MISS) && id < GVM_TAGS &&
		   tag_held(t, id) && !(t->missed[id / 8] & (1u << (id % 8)))) {
		t->missed[id / 8] |= (uint8_t)(1u << (id % 8));
		t->miss_ns[id] = shim_clock_ns;
	}
	dqo_tx_compl(t, type, tag);
}

/* a forged completion returns the buffer it names, if the device holds it
 * (the first such slot), so the driver may post it again */
void gvm_dqo_rx_raw(unsigned q, uint16_t buf_id, uint16_t len, bool bufq1,
		    bool split)
{
	struct gvm_rxq *r = &gvm.rx[q];
	for (uint32_t k = r->head; r->live && k != r->tail;
	     k = (k + 1) & (r->size - 1))
		if (!r->slot_done[k] && r->posted_id[k] == buf_id) {
			r->slot_done[k] = 1;
			break;
		}
	dqo_rx_write(r, buf_id, len, bufq1, split);
}

bool gvm_dqo_tx_replay(unsigned q, unsigned k)
{
	struct gvm_txq *t = &gvm.tx[q];
	if (!t->live || k >= GVM_CLOG || k >= t->nclog)
		return false;
	unsigned i = (t->nclog - 1 - k) % GVM_CLOG;
	unsigned n = t->nclog;
	dqo_tx_compl(t, t->clog_type[i], t->clog_tag[i]);
	t->nclog = n; /* a copy, not a completion of its own */
	gvm_irq_block(t->ntfy);
	return true;
}

void gvm_tx_flush(unsigned q)
{
	struct gvm_txq *t = &gvm.tx[q];
	t->hold_completions = false;
	if (!dqo()) {
		gqi_tx_counter_write(t);
		gvm_irq_block(t->ntfy);
		return;
	}
	for (unsigned tag = 0; tag < 65536; tag++)
		if (t->inflight[tag / 8] & (1u << (tag % 8))) {
			t->inflight[tag / 8] &= (uint8_t) ~(1u << (tag % 8));
			dqo_tx_compl(t, GVE_COMPL_TYPE_DQO_PKT, (uint16_t)tag);
		}
	gvm_irq_block(t->ntfy);
}

bool gvm_rx_inject(unsigned qi, const void *frame, size_t len)
{
	if (qi >= GVM_MAXQ || !gvm.rx[qi].live)
		return false;
	return dqo() ? dqo_rx_inject(&gvm.rx[qi], frame, len)
		     : gqi_rx_inject(&gvm.rx[qi], frame, len);
}

int gvm_wire_pop(void *buf, size_t cap)
{
	if (gvm.wire_tail == gvm.wire_head)
		return 0;
	unsigned i = gvm.wire_tail++ % GVM_WIRE_MAX;
	size_t n = MIN((size_t)gvm.wire_len[i], cap);
	memcpy(buf, gvm_kept.wire[i], n);
	return (int)n;
}

unsigned gvm_wire_count(void)
{
	return gvm.wire_head - gvm.wire_tail;
}

/* ---- BAR access
 * --------------------------------------------------------------- */

/* a DQO RX buffer handed over at buffer-queue slot k: driver memory
 * inside the queue's page list (DQO_QPL), no control structure, and no
 * buffer or buffer id the device already holds. The device owns it now:
 * what it held before is gone (zeroed), so only what the device writes
 * into it can come back. */
static void dqo_rx_post(struct gvm_rxq *r, uint32_t k, uint64_t a, uint16_t id)
{
	for (uint32_t j = r->head; j != k; j = (j + 1) & (r->size - 1))
		if (!r->slot_done[j] && (overlap(a, 2048, r->posted[j], 2048) ||
					 r->posted_id[j] == id))
			gvm_violation("dqo rx: buffer %u at %#llx posted while "
				      "the device holds buffer %u at %#llx",
				      id, (unsigned long long)a,
				      r->posted_id[j],
				      (unsigned long long)r->posted[j]);
	r->posted[k] = a;
	r->posted_id[k] = id;
	r->slot_done[k] = 0;
	uint8_t *b = dma(a, 2048, "rx buffer");
	if (b && dqo_buf_ok(r->qpl_id, a, 2048, "rx buffer") &&
	    buf_check(a, 2048, "dqo rx buffer"))
		memset(b, 0, 2048);
}

/* GQI RX slots handed over by the fill count: each slot's buffer (a
 * page-list offset or an address, 2048 bytes) inside the queue's page list
 * or driver memory, no control structure, no buffer of a slot the device
 * still holds; zeroed as the device takes it */
static void gqi_rx_post(struct gvm_rxq *r, uint32_t from, uint32_t to)
{
	const uint64_t *data = dma(r->data, r->size * 8ull, "rx data ring");
	static const uint8_t zero[2048];
	if (!data)
		return;
	for (uint32_t k = from; k != to; k++) {
		uint64_t a = be64_to_cpu(data[k & (r->size - 1)]);
		for (uint32_t j = r->cnt; j != k; j++)
			if (overlap(a, 2048,
				    be64_to_cpu(data[j & (r->size - 1)]), 2048))
				gvm_violation("gqi rx: slot %u's buffer %#llx "
					      "overlaps held slot %u's",
					      k & (r->size - 1),
					      (unsigned long long)a,
					      j & (r->size - 1));
		if (gvm.format == GVE_QF_GQI_QPL) {
			qpl_copy(qpl_find(r->qpl_id), a, (uint8_t *)zero,
				 sizeof(zero), true);
		} else {
			uint8_t *p = dma(a, 2048, "gqi rx buffer");
			if (p && buf_check(a, 2048, "gqi rx buffer"))
				memset(p, 0, 2048);
		}
	}
}

/* a BAR2 doorbell: an IRQ doorbell (gve_irq_doorbell: GQI ACK/MASK/EVENT
 * big-endian, gve_write_irq_doorbell_dqo little-endian), a GQI TX or RX
 * doorbell (gve_tx_put_doorbell, gve_rx_write_doorbell: free-running,
 * big-endian) or a DQO one (gve_tx_put_doorbell_dqo,
 * gve_rx_write_doorbell_dqo: a tail index, little-endian) */
static void db_write(uint32_t idx, uint32_t raw)
{
	uint32_t be = be32_to_cpu(raw);

	if (idx >= gvm.irq_db_base && idx < gvm.irq_db_base + GVM_MAXBLK) {
		uint32_t b = idx - gvm.irq_db_base;
		if (!gvm.configured || b >= gvm.num_irq_dbs) {
			gvm_violation(
			    "irq doorbell %u written while not configured", b);
			return;
		}
		gvm.irq_db_raw[b] = raw;
		if (dqo()) {
			if (raw & ~0x1ffffu)
				gvm_violation(
				    "dqo irq doorbell value %#x (byte "
				    "order?)",
				    raw);
			gvm.irq_masked[b] = !(raw & GVE_ITR_ENABLE_DQO);
		} else {
			if (be & ~(GVE_IRQ_ACK | GVE_IRQ_MASK | GVE_IRQ_EVENT))
				gvm_violation(
				    "gqi irq doorbell value %#x (byte "
				    "order?)",
				    be);
			gvm.irq_masked[b] = be & GVE_IRQ_MASK;
		}
		if (!gvm.irq_masked[b] && gvm.irq_pending[b]) {
			gvm.irq_pending[b] = false;
			host_irq_raise(b);
		}
		return;
	}
	for (unsigned q = 0; q < GVM_MAXQ; q++) {
		struct gvm_txq *t = &gvm.tx[q];
		struct gvm_rxq *r = &gvm.rx[q];
		if (t->live && idx == t->db) {
			if (dqo()) {
				if (raw >= t->size) {
					gvm_violation(
					    "dqo tx doorbell %#x beyond "
					    "ring %u",
					    raw, t->size);
					return;
				}
				t->tail = raw;
				dqo_tx_run(t, q);
			} else {
				if (be - t->done > t->size ||
				    be - t->req > t->size) {
					gvm_violation(
					    "gqi tx doorbell %#x: done %u "
					    "size %u (byte order?)",
					    be, t->done, t->size);
					return;
				}
				t->req = be;
				gqi_tx_run(t);
				gvm_irq_block(t->ntfy);
			}
			return;
		}
		if (r->live && idx == r->db) {
			if (dqo()) {
				if (raw >= r->size) {
					gvm_violation(
					    "dqo rx doorbell %#x beyond "
					    "ring %u",
					    raw, r->size);
					return;
				}
				/* gve_desc_dqo.h: the device wants at least 8
				 * new buffers per doorbell */
				if (((raw - r->tail) & (r->size - 1)) < 8)
					gvm_violation(
					    "dqo rx doorbell moved %u "
					    "buffers, fewer than 8",
					    (raw - r->tail) & (r->size - 1));
				/* the device owns the posted buffers now */
				const struct gve_rx_buf_desc_dqo *bq =
				    dma(r->data, r->size * 32ull,
					"rx buffer queue");
				for (uint32_t k = r->tail; bq && k != raw;
				     k = (k + 1) & (r->size - 1))
					dqo_rx_post(r, k, bq[k].buf_addr,
						    bq[k].buf_id);
				r->tail = raw;
			} else {
				if (be - r->cnt > r->size ||
				    be - r->fill > r->size) {
					gvm_violation(
					    "gqi rx doorbell %#x: used %u "
					    "size %u (byte order?)",
					    be, r->cnt, r->size);
					return;
				}
				gqi_rx_post(r, r->fill, be);
				r->fill = be;
			}
			return;
		}
	}
	gvm_violation("doorbell %u written: no queue or block owns it", idx);
}

/* BAR0 writes as gve_register.h lays them out: the version byte stream
 * (gve_write_version), the admin queue registration and release
 * (gve_adminq_alloc, gve_adminq_release), the admin doorbell
 * (gve_adminq_kick_cmd) */
static void reg_write(uint32_t off, unsigned w, uint32_t raw)
{
	unsigned want = off == GVE_REG_DRIVER_VERSION  ? 1
			: off == GVE_REG_ADMINQ_LENGTH ? 2
						       : 4;
	uint32_t v = w == 4   ? be32_to_cpu(raw)
		     : w == 2 ? be16_to_cpu(raw)
			      : raw;
	bool rev1 = gvm.cfg.revision >= 1;

	if (w != want) {
		gvm_violation("register %#x written with width %u", off, w);
		return;
	}
	switch (off) {
	case GVE_REG_DRIVER_VERSION:
		if (gvm.version_len + 1 < sizeof(gvm.version))
			gvm.version[gvm.version_len++] = (char)v;
		return;
	case GVE_REG_DRIVER_STATUS:
		if (!rev1)
			break;
		if (v == GVE_DRVSTAT_RUN) {
			if (!gvm.base_hi_set || !gvm.base_lo_set ||
			    !gvm.len_set)
				gvm_violation("RUN before admin queue base and "
					      "length");
			if (gvm.aq_live)
				gvm_violation("RUN with the admin queue live");
			gvm.device_status &= ~GVE_DEVSTAT_DEVICE_IS_RESET;
			gvm.driver_status = v;
			gvm_aq_live((uint64_t)gvm.base_hi << 32 | gvm.base_lo);
		} else if (v == GVE_DRVSTAT_RESET) {
			gvm.driver_status = v;
			if (!gvm.reset_never)
				gvm_reset();
		} else {
			gvm_violation("driver_status %#x (byte order?)", v);
		}
		return;
	case GVE_REG_ADMINQ_PFN:
		if (rev1)
			break;
		if (v) {
			if (gvm.aq_live)
				gvm_violation(
				    "pfn written with the admin queue "
				    "live");
			gvm.pfn = v;
			gvm_aq_live((uint64_t)v << 12);
		} else if (!gvm.reset_never) {
			gvm_reset();
		}
		return;
	case GVE_REG_ADMINQ_DOORBELL:
		if (!gvm.aq_live) {
			gvm_violation("admin doorbell before registration");
			return;
		}
		if (v - gvm.event_counter > GVE_ADMINQ_SLOTS ||
		    v - gvm.doorbell > GVE_ADMINQ_SLOTS) {
			gvm_violation("admin doorbell %#x: counter %u (byte "
				      "order?)",
				      v, gvm.event_counter);
			return;
		}
		gvm.doorbell = v;
		gvm.aq_kick_ns = shim_clock_ns;
		if (!gvm.aq_delay_ns)
			gvm_aq_run();
		return;
	case GVE_REG_ADMINQ_BASE_HI:
		if (!rev1)
			break;
		gvm.base_hi = v, gvm.base_hi_set = true;
		return;
	case GVE_REG_ADMINQ_BASE_LO:
		if (!rev1)
			break;
		gvm.base_lo = v, gvm.base_lo_set = true;
		return;
	case GVE_REG_ADMINQ_LENGTH:
		if (!rev1)
			break;
		if (v != GVE_ADMINQ_SIZE)
			gvm_violation("adminq_length %#x (byte order?)", v);
		gvm.aq_len = (uint16_t)v, gvm.len_set = true;
		return;
	default:
		gvm_violation("write to read-only or unknown register %#x",
			      off);
		return;
	}
	gvm_violation("register %#x does not exist in revision %u", off,
		      gvm.cfg.revision);
}

/* BAR0 reads: device_status (gve_handle_status), queue limits
 * (gve_probe), adminq_pfn (gve_adminq_release rev 0), the event counter
 * (gve_adminq_wait_for_cmd) */
static uint32_t reg_read(uint32_t off, unsigned w)
{
	uint32_t v;
	if (w != 4) {
		gvm_violation("register %#x read with width %u", off, w);
		return 0;
	}
	switch (off) {
	case GVE_REG_DEVICE_STATUS:
		v = gvm.device_status;
		break;
	case GVE_REG_DRIVER_STATUS:
		v = gvm.driver_status;
		break;
	case GVE_REG_MAX_TX_QUEUES:
	case GVE_REG_MAX_RX_QUEUES:
		v = gvm.cfg.max_queues;
		break;
	case GVE_REG_ADMINQ_PFN:
		v = gvm.pfn;
		break;
	case GVE_REG_ADMINQ_EVENT_COUNTER:
		if (gvm.aq_delay_ns && gvm.aq_live &&
		    shim_clock_ns - gvm.aq_kick_ns >= gvm.aq_delay_ns)
			gvm_aq_run();
		gvm_aq_early();
		v = gvm.event_counter;
		if (gvm.bogus_counter > 0) {
			gvm.bogus_counter--;
			v += 1000;
		}
		break;
	default:
		gvm_violation("read of register %#x", off);
		return 0;
	}
	if (gvm.device_status == GVE_DEVSTAT_GONE)
		v = GVE_DEVSTAT_GONE;
	return cpu_to_be32(v);
}

/* one device access: false once the device has vanished (vanish_after) */
static bool gvm_present(void)
{
	if (gvm.accesses++ >= gvm.vanish_after && !gvm.vanished) {
		gvm.vanished = true;
		gvm.device_status = GVE_DEVSTAT_GONE;
		gvm.lines_at_vanish = shim_kprintf_calls;
	}
	return !gvm.vanished;
}

/* gve_adminq_alloc's registers: from the first of them the device may
 * hold the admin queue */
static bool reg_registers(uint32_t off)
{
	return off == GVE_REG_ADMINQ_PFN || off == GVE_REG_ADMINQ_LENGTH ||
	       off == GVE_REG_ADMINQ_BASE_HI || off == GVE_REG_ADMINQ_BASE_LO ||
	       off == GVE_REG_DRIVER_STATUS;
}

uint32_t gvm_bar_read(unsigned bar, uint32_t off, unsigned width)
{
	if (!gvm_present()) {
		gvm.gone_unhanded |= !gvm.registering;
		gvm.gone_reads++;
		return 0xffffffffu;
	}
	if (bar == 0)
		return reg_read(off, width);
	gvm_violation("read of doorbell BAR offset %#x", off);
	return 0;
}

void gvm_bar_write(unsigned bar, uint32_t off, unsigned width, uint32_t v)
{
	gvm.registering |= bar == 0 && reg_registers(off);
	if (!gvm_present())
		return;
	if (gvm.device_status == GVE_DEVSTAT_GONE)
		return; /* a device that has gone does nothing */
	if (bar == 0) {
		reg_write(off, width, v);
		return;
	}
	if (width != 4) {
		gvm_violation("doorbell %#x written with width %u", off, width);
		return;
	}
	db_write(off / 4, v);
}

/* ---- what the device holds
 * ------------------------------------------------------ */

/* memory the device may still touch: what gve_adminq_release's WARN
 * ("the device is unrecoverable and still holding memory") is about */
static unsigned held_ctl(struct held *held)
{
	unsigned n = 0;

	if (gvm.aq_live)
		held[n++] =
		    (typeof(held[0])){gvm.aq, GVE_ADMINQ_SIZE, "admin queue"};
	if (gvm.configured) {
		held[n++] = (typeof(held[0])){
		    gvm.counters, gvm.num_counters * 4ull, "event counters"};
		held[n++] = (typeof(held[0])){
		    gvm.irq_dbs, gvm.num_irq_dbs * 64ull, "irq doorbell array"};
	}
	if (gvm.stats_len)
		held[n++] =
		    (typeof(held[0])){gvm.stats, gvm.stats_len, "stats"};
	for (unsigned i = 0; i < GVM_MAXQ; i++) {
		struct gvm_txq *t = &gvm.tx[i];
		struct gvm_rxq *r = &gvm.rx[i];
		uint64_t dsz = dqo() ? 32 : 64, bsz = dqo() ? 32 : 8;
		if (t->live) {
			held[n++] = (typeof(held[0])){t->ring, t->size * 16ull,
						      "tx ring"};
			held[n++] = (typeof(held[0])){t->qres, 64,
						      "tx queue resources"};
			if (dqo())
				held[n++] = (typeof(held[0])){
				    t->compl, t->size * 8ull, "tx completions"};
		}
		if (r->live) {
			held[n++] = (typeof(held[0])){r->desc, r->size * dsz,
						      "rx descriptor ring"};
			held[n++] = (typeof(held[0])){r->data, r->size * bsz,
						      "rx data ring"};
			held[n++] = (typeof(held[0])){r->qres, 64,
						      "rx queue resources"};
		}
	}
	return n;
}

void gvm_check_revoke(uint64_t iova, size_t len)
{
	struct held held[HELD_MAX];
	unsigned n = held_ctl(held);

	/* the buffers the device holds: DQO RX buffers posted and not yet
	 * completed, DQO TX buffers of packets in flight, GQI_RDA TX segments
	 * not yet reported done */
	for (unsigned i = 0; i < GVM_MAXQ; i++) {
		struct gvm_txq *t = &gvm.tx[i];
		struct gvm_rxq *r = &gvm.rx[i];
		for (uint32_t k = r->head; r->live && dqo() && k != r->tail;
		     k = (k + 1) & (r->size - 1))
			if (!r->slot_done[k] &&
			    overlap(iova, len, r->posted[k], 2048))
				gvm_violation("memory revoked while the device "
					      "holds rx buffer %#llx",
					      (unsigned long long)r->posted[k]);
		for (uint32_t tag = 0; t->live && dqo() && tag < GVM_TAGS;
		     tag++)
			if (tag_held(t, tag) &&
			    overlap(iova, len, t->buf_addr[tag],
				    t->buf_len[tag]))
				gvm_violation("memory revoked while the device "
					      "holds tx tag %u",
					      tag);
		for (uint32_t k = t->reported;
		     t->live && gvm.format == GVE_QF_GQI_RDA && k != t->done;
		     k++)
			if (overlap(iova, len, t->buf_addr[k & (t->size - 1)],
				    t->buf_len[k & (t->size - 1)]))
				gvm_violation("memory revoked while the device "
					      "holds tx descriptor %u",
					      k);
	}
	for (unsigned i = 0; i < n; i++)
		if (overlap(iova, len, held[i].a, held[i].l))
			gvm_violation("memory revoked while the device holds "
				      "its %s",
				      held[i].what);
	for (unsigned i = 0; i < ARRAY_SIZE(gvm.qpls); i++)
		for (uint32_t k = 0; gvm.qpls[i].live && k < gvm.qpls[i].npages;
		     k++)
			if (overlap(iova, len, gvm.qpls[i].pages[k], 4096))
				gvm_violation("memory revoked while the device "
					      "holds page %u of page list %u",
					      k, gvm.qpls[i].id);
}
