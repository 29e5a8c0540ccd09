/* drivers/gvnic/gve.c — gVNIC bring-up, teardown, reset and service: the
 * bus-neutral core. Order of every step follows the Linux GVE driver
 * (gve_main.c: gve_probe, gve_init_priv, gve_setup_device_resources,
 * gve_open, gve_close, gve_teardown_priv_resources, gve_reset), numbered
 * below as the steps of gve_attach. */
#include "drivers/gvnic/gve_var.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/time/time.h"

/* ---- register and doorbell access -------------------------------------- */

uint32_t gve_reg_read(struct gve_softc *sc, uint32_t off)
{
	return mmio_read_be32(&sc->g.reg, off);
}

/* doorbell indices come from the device and are validated when received;
 * the window check in the accessor is the second line of defence */
void gve_db_write_be(struct gve_softc *sc, uint32_t index, uint32_t v)
{
	mmio_write_be32(&sc->g.db, index * 4, v);
}

void gve_db_write_le(struct gve_softc *sc, uint32_t index, uint32_t v)
{
	mmio_write32(&sc->g.db, index * 4, v);
}

static bool gve_db_index_ok(struct gve_softc *sc, uint32_t index)
{
	return index < sc->g.db.len / 4;
}

void gve_hostile(struct gve_softc *sc, const char *what, uint64_t val)
{
	kprintf("%s: unable to accept %s %#llx from device: resetting\n",
		sc->name, what, (unsigned long long)val);
	sc->hostile++;
	sc->reset_wanted = true;
	sc->reset_reason = what;
}

/* ---- DMA memory -------------------------------------------------------- */

static int gve_carve(struct gve_softc *sc, struct dma_pool *p, size_t len,
		     size_t align, struct dma_buf *out, const char *what)
{
	if (dma_pool_carve(p, len, align, out) == 0)
		return GVE_OK;
	kprintf("%s: unable to carve %s (%zu bytes)\n", sc->name, what, len);
	return GVE_ENOMEM;
}

/* pages of each queue's buffers: a GQI TX FIFO of at most
 * GVE_TX_QPL_PAGES_MAX pages (gve_tx_fifo_init), one page per GQI RX slot
 * (gve_rx_prefill_pages), one 2 KiB buffer per DQO completion tag or RX
 * buffer (gve_tx_buf_get_addr, gve_rx_post_buffers_dqo) */
static uint32_t gve_dqo_ntags(uint32_t size)
{
	/* gve_tx_alloc_ring_dqo: completions can never overrun the ring when
	 * it holds one descriptor completion per 32 entries and two (miss +
	 * re-injection) per outstanding packet */
	return (size - size / GVE_TX_MIN_RE_INTERVAL) / 2;
}

static uint32_t gve_tx_pages(struct gve_softc *sc)
{
	uint32_t n = GVE_TX_QPL_PAGES_MAX;
	if (gve_is_dqo(sc)) {
		n = ALIGN_UP(gve_dqo_ntags(sc->tx_entries) * GVE_BUF_SIZE,
			     PAGE_SIZE) /
		    PAGE_SIZE;
		return sc->dqo_qpl_tx_pages ? MIN(n, sc->dqo_qpl_tx_pages) : n;
	}
	/* GQI_QPL: the device's suggestion bounds the FIFO */
	return gve_is_qpl(sc) ? MIN(sc->tx_pages_per_qpl, n) : n;
}

static uint32_t gve_rx_pages(struct gve_softc *sc)
{
	if (gve_is_dqo(sc))
		return ALIGN_UP((sc->rx_entries - 1u) * GVE_BUF_SIZE,
				PAGE_SIZE) /
		       PAGE_SIZE;
	return sc->rx_entries;
}

/* each piece rounded to a page: the carve alignment */
static size_t gve_tx_bytes(struct gve_softc *sc)
{
	size_t n = sc->tx_entries;
	return PAGE_SIZE + ALIGN_UP(n * 16, PAGE_SIZE) +
	       ALIGN_UP(n * 8, PAGE_SIZE) +
	       (size_t)gve_tx_pages(sc) * PAGE_SIZE +
	       ALIGN_UP((size_t)gve_tx_pages(sc) * 8, PAGE_SIZE);
}

static size_t gve_rx_bytes(struct gve_softc *sc)
{
	size_t n = sc->rx_entries, d = gve_is_dqo(sc) ? 32 : 64,
	       b = gve_is_dqo(sc) ? 32 : 8;
	return PAGE_SIZE + ALIGN_UP(n * d, PAGE_SIZE) +
	       ALIGN_UP(n * b, PAGE_SIZE) +
	       (size_t)gve_rx_pages(sc) * PAGE_SIZE +
	       ALIGN_UP((size_t)gve_rx_pages(sc) * 8, PAGE_SIZE);
}

static int gve_qpl_carve(struct gve_softc *sc, struct gve_qpl *q, uint32_t id,
			 uint32_t npages)
{
	int err;
	q->id = id;
	q->npages = npages;
	if ((err = gve_carve(sc, &sc->data_pool, (size_t)npages * PAGE_SIZE,
			     PAGE_SIZE, &q->pages, "queue buffers")))
		return err;
	if (!gve_is_qpl(sc))
		return GVE_OK;
	return gve_carve(sc, &sc->data_pool, (size_t)npages * 8, 64, &q->list,
			 "page address list");
}

static int gve_tx_carve(struct gve_softc *sc, struct gve_tx *tx, unsigned i)
{
	struct dma_pool *p = &sc->data_pool;
	int err;

	tx->id = i;
	tx->ntfy_id = i; /* gve_tx_idx_to_ntfy */
	tx->size = sc->tx_entries;
	tx->mask = tx->size - 1;
	if ((err = gve_carve(sc, p, 64, 64, &tx->qres, "queue resources")) ||
	    (err = gve_carve(sc, p, tx->size * 16, PAGE_SIZE, &tx->ring,
			     "tx ring")))
		return err;
	if (gve_is_dqo(sc)) {
		tx->ntags = MIN(gve_dqo_ntags(tx->size),
				gve_tx_pages(sc) * (PAGE_SIZE / GVE_BUF_SIZE));
		if ((err = gve_carve(sc, p, tx->size * 8, PAGE_SIZE, &tx->compl,
				     "tx completion ring")))
			return err;
	}
	/* gve_tx_qpl_id: TX page list i is queue i */
	return gve_qpl_carve(sc, &tx->qpl, i, gve_tx_pages(sc));
}

static int gve_rx_carve(struct gve_softc *sc, struct gve_rx *rx, unsigned i)
{
	struct dma_pool *p = &sc->data_pool;
	size_t dsz = gve_is_dqo(sc) ? 32 : 64, bsz = gve_is_dqo(sc) ? 32 : 8;
	int err;

	rx->id = i;
	rx->ntfy_id = sc->nblocks / 2 + i; /* gve_rx_idx_to_ntfy */
	rx->size = sc->rx_entries;
	rx->mask = rx->size - 1;
	rx->nbufs = gve_is_dqo(sc) ? rx->size - 1 : rx->size;
	if ((err = gve_carve(sc, p, 64, 64, &rx->qres, "queue resources")) ||
	    (err = gve_carve(sc, p, rx->size * dsz, PAGE_SIZE, &rx->desc,
			     "rx descriptor ring")) ||
	    (err = gve_carve(sc, p, rx->size * bsz, PAGE_SIZE, &rx->data,
			     "rx data ring")))
		return err;
	/* gve_rx_qpl_id: RX page lists are numbered after the TX ones */
	return gve_qpl_carve(sc, &rx->qpl, sc->tx_max + i, gve_rx_pages(sc));
}

/* control structures: admin queue, descriptor, driver info, link speed,
 * stats report, ptype map */
static int gve_ctl_alloc(struct gve_softc *sc)
{
	struct dma_pool *p = &sc->ctl_pool;
	uint64_t limit = sc->g.dma_limit;
	int err;

	if (sc->g.revision < 1 && (!limit || limit > (1ull << 44)))
		limit = 1ull << 44; /* rev 0 holds a 32-bit page frame number */
	if (dma_pool_create(sc->g.owner, 8 * PAGE_SIZE, limit, p)) {
		kprintf("%s: unable to allocate control memory\n", sc->name);
		return GVE_ENOMEM;
	}
	sc->ctl_pool_ok = true;
	if ((err = gve_carve(sc, p, GVE_ADMINQ_SIZE, PAGE_SIZE, &sc->aq,
			     "admin queue")) ||
	    (err = gve_carve(sc, p, PAGE_SIZE, PAGE_SIZE, &sc->desc_buf,
			     "device descriptor")) ||
	    (err = gve_carve(sc, p, PAGE_SIZE, PAGE_SIZE, &sc->stats_buf,
			     "stats report")) ||
	    (err = gve_carve(sc, p, GVE_PTYPE_MAP_SIZE, PAGE_SIZE,
			     &sc->ptype_buf, "ptype map")) ||
	    (err = gve_carve(sc, p, sizeof(struct gve_driver_info), 64,
			     &sc->info_buf, "driver info")) ||
	    (err = gve_carve(sc, p, 8, 64, &sc->link_buf, "link speed")))
		return err;
	return GVE_OK;
}

/* data structures, sized from the described device */
static int gve_data_alloc(struct gve_softc *sc)
{
	size_t need = 2 * PAGE_SIZE + (size_t)sc->num_counters * 4 +
		      sc->nblocks * GVE_IRQ_DB_STRIDE +
		      sc->nqueues * (gve_tx_bytes(sc) + gve_rx_bytes(sc));
	uint64_t pages = 0;
	int err;

	if (sc->tx_entries > GVE_RING_MAX || sc->rx_entries > GVE_RING_MAX ||
	    need > GVE_DATA_POOL_MAX) {
		kprintf(
		    "%s: unable to size rings: tx %u rx %u need %zu bytes\n",
		    sc->name, sc->tx_entries, sc->rx_entries, need);
		return GVE_ENOMEM;
	}
	/* DQO: report-event requests every 32 descriptors must fit the TX
	 * ring, and the buffer-queue doorbell rung every 32 buffers needs more
	 * than 32 buffers in circulation, or receive could stall */
	if (gve_is_dqo(sc) && (sc->tx_entries < 2 * GVE_TX_MIN_RE_INTERVAL ||
			       sc->rx_entries < 2 * GVE_RX_BUF_THRESH_DQO)) {
		kprintf("%s: unable to use rings smaller than %u (tx %u rx "
			"%u)\n",
			sc->name, 2 * GVE_TX_MIN_RE_INTERVAL, sc->tx_entries,
			sc->rx_entries);
		return GVE_EINVAL;
	}
	if (gve_is_qpl(sc)) {
		pages = sc->nqueues *
			((uint64_t)gve_tx_pages(sc) + gve_rx_pages(sc));
		if (pages > sc->max_registered_pages) {
			kprintf("%s: unable to register %llu pages: device "
				"allows %llu\n",
				sc->name, (unsigned long long)pages,
				(unsigned long long)sc->max_registered_pages);
			return GVE_ENOMEM;
		}
	}
	if (dma_pool_create(sc->g.owner, ALIGN_UP(need, PAGE_SIZE),
			    sc->g.dma_limit, &sc->data_pool)) {
		kprintf("%s: unable to allocate %zu bytes of ring memory\n",
			sc->name, need);
		return GVE_ENOMEM;
	}
	sc->data_pool_ok = true;
	if ((err = gve_carve(sc, &sc->data_pool, (size_t)sc->num_counters * 4,
			     64, &sc->counters, "event counters")) ||
	    (err =
		 gve_carve(sc, &sc->data_pool, sc->nblocks * GVE_IRQ_DB_STRIDE,
			   64, &sc->irq_dbs, "irq doorbell indices")))
		return err;
	for (unsigned i = 0; i < sc->nqueues; i++)
		if ((err = gve_tx_carve(sc, &sc->tx[i], i)) ||
		    (err = gve_rx_carve(sc, &sc->rx[i], i)))
			return err;
	return GVE_OK;
}

/* ---- interrupts ---------------------------------------------------------
 * A vector only flags work; the poll (gve_service, gve_recv) does it, so
 * polling and interrupts run the same path. GQI masks the block in the
 * handler and the poll acks it; DQO re-arms with ENABLE after the poll. */

void gve_intr_mgmt(void *arg)
{
	struct gve_softc *sc = arg;
	sc->mgmt_pending = true;
}

void gve_intr_block(void *arg)
{
	struct gve_block *b = arg;
	b->interrupts++;
	b->pending = true;
	if (!gve_is_dqo(b->sc))
		gve_db_write_be(b->sc, b->irq_db_index, GVE_IRQ_MASK);
}

/* which blocks carry queues: TX i on block i, RX i on block N/2 + i
 * (gve_tx_idx_to_ntfy, gve_rx_idx_to_ntfy) */
static bool gve_block_used(struct gve_softc *sc, unsigned i)
{
	unsigned half = sc->nblocks / 2;
	return i < half ? i < sc->nqueues : i - half < sc->nqueues;
}

/* gve_alloc_notify_blocks: MSI-X entry i is block i and entry N (after the
 * last block) the management vector. Only the vectors of blocks that carry
 * a queue are bound: the device raises no other. */
static void gve_irqs_bind(struct gve_softc *sc)
{
	for (unsigned i = 0; i <= sc->nblocks; i++) {
		bool mgmt = i == sc->nblocks;
		struct gve_block *b = mgmt ? &sc->mgmt : &sc->blocks[i];
		b->sc = sc;
		b->index = i;
		if (!mgmt && !gve_block_used(sc, i))
			continue;
		if (irq_bind(sc->g.pdev, sc->g.owner, i,
			     mgmt ? gve_intr_mgmt : gve_intr_block,
			     mgmt ? (void *)sc : (void *)b, &b->irq) == 0)
			b->bound = true;
		else
			kprintf("%s: unable to bind vector %u: polling it\n",
				sc->name, i);
	}
}

static void gve_irqs_revoke(struct gve_softc *sc)
{
	for (unsigned i = 0; i <= sc->nblocks; i++) {
		struct gve_block *b =
		    i < sc->nblocks ? &sc->blocks[i] : &sc->mgmt;
		if (b->bound)
			irq_revoke(&b->irq);
		b->bound = false;
	}
}

/* gve_turnup: GQI writes 0 (unmask) to each block's doorbell; DQO enables
 * with the reference's rate limits (GVE_TX_IRQ_RATELIMIT_US_DQO 50,
 * GVE_RX_IRQ_RATELIMIT_US_DQO 20) */
static void gve_irqs_enable(struct gve_softc *sc, bool on)
{
	for (unsigned i = 0; i < sc->nblocks; i++) {
		struct gve_block *b = &sc->blocks[i];
		uint32_t us = i < sc->nblocks / 2 ? 50 : 20;
		if (!gve_block_used(sc, i))
			continue;
		if (gve_is_dqo(sc))
			gve_db_write_le(
			    sc, b->irq_db_index,
			    on ? GVE_ITR_ENABLE_DQO |
				     (uint32_t)FIELD_SET(GVE_ITR_INTERVAL_DQO,
							 us / 2)
			       : GVE_ITR_NO_UPDATE_DQO);
		else
			gve_db_write_be(sc, b->irq_db_index,
					on ? 0 : GVE_IRQ_MASK);
		if (b->bound)
			on ? irq_unmask(&b->irq) : irq_mask(&b->irq);
	}
}

/* after a poll: re-arm each block whose vector fired */
static void gve_irqs_rearm(struct gve_softc *sc)
{
	for (unsigned i = 0; i < sc->nblocks; i++) {
		struct gve_block *b = &sc->blocks[i];
		if (!b->pending)
			continue;
		b->pending = false;
		if (gve_is_dqo(sc))
			gve_db_write_le(sc, b->irq_db_index,
					GVE_ITR_NO_UPDATE_DQO |
					    GVE_ITR_ENABLE_DQO);
		else
			gve_db_write_be(sc, b->irq_db_index,
					GVE_IRQ_ACK | GVE_IRQ_EVENT);
	}
}

/* ---- device resources (gve_setup_device_resources) --------------------- */

static int gve_resources_setup(struct gve_softc *sc)
{
	int err;

	memset(sc->counters.va, 0, sc->counters.len);
	memset(sc->irq_dbs.va, 0, sc->irq_dbs.len);
	if ((err = gve_aq_configure(sc)))
		return err;
	sc->resources_ok = true;
	dma_rmb();
	for (unsigned i = 0; i < sc->nblocks; i++) {
		uint32_t v =
		    be32_to_cpu(*(uint32_t *)((uint8_t *)sc->irq_dbs.va +
					      i * GVE_IRQ_DB_STRIDE));
		if (!gve_db_index_ok(sc, v)) {
			gve_hostile(sc, "irq doorbell index", v);
			return GVE_EDEVICE;
		}
		sc->blocks[i].irq_db_index = v;
	}
	if (gve_is_dqo(sc) && (err = gve_aq_ptype_map(sc)))
		return err;
	if (sc->dev_mtu > GVE_MTU && (err = gve_aq_set_mtu(sc, GVE_MTU)))
		return err;
	/* a refused stats report is no failure (gve_setup_device_resources);
	 * an admin queue that stopped answering, or a device gone, is */
	if ((err = gve_aq_report_stats(sc, true)) == GVE_ETIMEDOUT ||
	    err == GVE_EGONE)
		return err;
	if (err)
		kprintf("%s: unable to start stats report\n", sc->name);
	return GVE_OK;
}

static void gve_resources_teardown(struct gve_softc *sc)
{
	if (!sc->resources_ok)
		return;
	/* detaching the stats report may fail; deconfigure goes on, but
	 * not to a device gone, which the release that follows says */
	int err = gve_aq_report_stats(sc, false);
	if (err != GVE_EGONE && (err = gve_aq_deconfigure(sc)) &&
	    err != GVE_EGONE)
		kprintf("%s: unable to deconfigure device resources\n",
			sc->name);
	sc->resources_ok = false;
}

/* ---- queues up and down (gve_open, gve_close) -------------------------- */

static int gve_queues_bind(struct gve_softc *sc)
{
	dma_rmb();
	for (unsigned i = 0; i < sc->nqueues; i++) {
		const struct gve_queue_resources *tq = sc->tx[i].qres.va,
						 *rq = sc->rx[i].qres.va;
		uint32_t tdb = be32_to_cpu(tq->db_index),
			 tctr = be32_to_cpu(tq->counter_index),
			 rdb = be32_to_cpu(rq->db_index);
		if (!gve_db_index_ok(sc, tdb) || !gve_db_index_ok(sc, rdb)) {
			gve_hostile(sc, "queue doorbell index",
				    gve_db_index_ok(sc, tdb) ? rdb : tdb);
			return GVE_EDEVICE;
		}
		if (!gve_is_dqo(sc) && tctr >= sc->num_counters) {
			gve_hostile(sc, "queue counter index", tctr);
			return GVE_EDEVICE;
		}
		sc->tx[i].db_index = tdb;
		sc->tx[i].counter_index = tctr;
		sc->rx[i].db_index = rdb;
	}
	return GVE_OK;
}

static int gve_up(struct gve_softc *sc)
{
	int err;

	if (gve_is_dqo(sc))
		gve_dqo_rings_init(sc);
	else
		gve_gqi_rings_init(sc);
	/* gve_register_qpls: TX page lists first, then RX */
	for (unsigned i = 0; gve_is_qpl(sc) && i < sc->nqueues; i++)
		if ((err = gve_aq_register_qpl(sc, &sc->tx[i].qpl)))
			return err;
	for (unsigned i = 0; gve_is_qpl(sc) && i < sc->nqueues; i++)
		if ((err = gve_aq_register_qpl(sc, &sc->rx[i].qpl)))
			return err;
	if ((err = gve_aq_create_queues(sc)))
		return err;
	sc->rings_ok = true;
	if ((err = gve_queues_bind(sc)))
		return err;
	if (gve_is_dqo(sc))
		gve_dqo_start(sc);
	else
		gve_gqi_start(sc);
	gve_irqs_enable(sc, true);
	sc->state = GVE_S_UP;
	uint32_t st = gve_reg_read(sc, GVE_REG_DEVICE_STATUS);
	sc->status_read_us = time_now_us();
	sc->last_status = st;
	if (st == GVE_DEVSTAT_GONE)
		return GVE_EGONE;
	sc->link_up = st & GVE_DEVSTAT_LINK_UP;
	/* the link speed is optional, a device gone is not */
	if (sc->link_up && (err = gve_aq_link_speed(sc))) {
		if (err == GVE_EGONE)
			return err;
		kprintf("%s: unable to read link speed\n", sc->name);
	}
	return GVE_OK;
}

/* gve_close: mask, destroy TX then RX queues, unregister page lists */
static int gve_down(struct gve_softc *sc)
{
	int err = GVE_OK;

	if (sc->state == GVE_S_UP)
		gve_irqs_enable(sc, false);
	sc->state = GVE_S_DOWN;
	if (sc->rings_ok && (err = gve_aq_destroy_queues(sc)))
		return err;
	sc->rings_ok = false;
	/* gve_unregister_qpls: TX page lists first, then RX */
	for (unsigned k = 0; gve_is_qpl(sc) && k < 2 * sc->nqueues; k++) {
		struct gve_qpl *q = k < sc->nqueues
					? &sc->tx[k].qpl
					: &sc->rx[k - sc->nqueues].qpl;
		if (q->registered && (err = gve_aq_unregister_qpl(sc, q)))
			return err;
	}
	return GVE_OK;
}

/* after the device reset, it holds nothing of ours */
static void gve_forget_device_state(struct gve_softc *sc)
{
	for (unsigned i = 0; i < sc->nqueues; i++) {
		sc->tx[i].qpl.registered = false;
		sc->rx[i].qpl.registered = false;
	}
	sc->rings_ok = sc->resources_ok = false;
	if (sc->state == GVE_S_UP)
		sc->state = GVE_S_DOWN;
}

/* ---- reset (gve_reset with attempt_teardown = false) -------------------
 * Linux resets at once, as often as asked, and brings the device up again
 * in the same step. Here a device that asks after every recovery, or
 * answers each admin command just before its timeout, would hold capOS's
 * one main loop for good, so recovery is bounded (GVE_RESET_*, gve_var.h):
 * the device is released at once (reset: it owns nothing of ours and is
 * quiet), brought up again after the streak's backoff within a budget of
 * admin waits, and given up at the streak's limit. */

static int gve_recover(struct gve_softc *sc)
{
	int err;
	if ((err = gve_aq_register(sc)) || (err = gve_aq_verify_compat(sc)) ||
	    (err = gve_resources_setup(sc)) || (err = gve_up(sc)))
		return err;
	return GVE_OK;
}

/* the device is given up at run time: nothing more is asked of it, its
 * vectors are masked and the bus glue turns its bus mastering off, so it
 * can neither write memory nor raise an interrupt whatever it does. Its
 * memory is returned at detach unless a release was never confirmed
 * (memory_held). */
static void gve_fail(struct gve_softc *sc)
{
	for (unsigned i = 0; i <= sc->nblocks; i++) {
		struct gve_block *b =
		    i < sc->nblocks ? &sc->blocks[i] : &sc->mgmt;
		if (b->bound)
			irq_mask(&b->irq);
	}
	if (sc->g.bus_stop)
		sc->g.bus_stop(sc->g.pdev);
	sc->reset_wanted = false;
	sc->state = GVE_S_FAILED;
	sc->nic.link_up = sc->link_up = false;
}

/* release (reset) the device before giving it up: an unconfirmed release
 * leaves the memory granted (gve_aq_release sets memory_held) */
static void gve_release_and_fail(struct gve_softc *sc)
{
	if (sc->aq_registered)
		gve_aq_release(sc);
	gve_forget_device_state(sc);
	gve_fail(sc);
}

/* the admin waits from now on end within us in all, said as `what`'s */
static void gve_aq_budget(struct gve_softc *sc, const char *what, uint64_t us)
{
	sc->aq_deadline_us = time_now_us() + us;
	sc->aq_budget_us = us;
	sc->aq_budget_for = what;
}

/* bring the device up again after its backoff, within the budget */
static void gve_reset_recover(struct gve_softc *sc)
{
	uint64_t t0 = time_now_us();
	int err;

	gve_aq_budget(sc, "recovery", GVE_RESET_AQ_BUDGET_US);
	err = gve_recover(sc);
	sc->aq_deadline_us = 0;
	if (err != GVE_OK || sc->reset_wanted) {
		/* a device gone is said once, by the release */
		if (err != GVE_EGONE || !sc->aq_registered ||
		    gve_aq_release(sc) == GVE_OK)
			kprintf("%s: unable to recover after reset: giving the "
				"device up: link down, bus mastering off\n",
				sc->name);
		gve_release_and_fail(sc);
	}
	sc->reset_us += time_now_us() - t0;
}

static void gve_reset(struct gve_softc *sc)
{
	const char *why = sc->reset_reason ? sc->reset_reason : "requested";
	uint64_t now = time_now_us(), backoff = 0;
	bool give_up;

	sc->reset_wanted = false;
	sc->reset_reason = NULL;
	if (sc->state == GVE_S_UP)
		gve_irqs_enable(sc, false);
	if (!sc->reset_streak || now - sc->reset_last_us >= GVE_RESET_QUIET_US)
		sc->reset_streak = 0;
	sc->reset_last_us = now;
	give_up = ++sc->reset_streak > GVE_RESET_MAX;
	if (give_up) {
		kprintf("%s: unable to recover: %u resets asked for (the "
			"last: %s), each within %llu s of the one before: "
			"giving the device up: link down, bus mastering off\n",
			sc->name, sc->reset_streak, why,
			(unsigned long long)(GVE_RESET_QUIET_US / 1000000));
	} else {
		char more[64] = "";
		if (sc->reset_streak > 1) {
			backoff = GVE_RESET_BACKOFF_US
				  << (sc->reset_streak - 2);
			ksnprintf(more, sizeof(more),
				  ": %u in a row, recovery in %llu ms",
				  sc->reset_streak,
				  (unsigned long long)(backoff / 1000));
		}
		kprintf("%s: resetting device (%s)%s\n", sc->name, why, more);
		sc->resets++;
	}
	/* released at once, whatever comes next: a device left reset owns
	 * nothing of ours and is quiet through the backoff */
	give_up |= gve_aq_release(sc) != GVE_OK;
	gve_forget_device_state(sc);
	if (give_up)
		gve_fail(sc);
	else
		sc->state = GVE_S_RESETTING;
	sc->reset_us += time_now_us() - now;
	sc->recover_at_us = time_now_us() + backoff;
	if (sc->state == GVE_S_RESETTING && !backoff)
		gve_reset_recover(sc);
}

/* the REPORT_STATS request: fill the report page the device was given */
static void gve_stats_fill(struct gve_softc *sc)
{
	struct gve_stat *s = (void *)((uint8_t *)sc->stats_buf.va + 8);
	unsigned n = 0, max = (unsigned)((sc->stats_buf.len - 8) / sizeof(*s));

	for (unsigned i = 0; i < sc->nqueues && n + 4 <= max; i++) {
		s[n++] = (struct gve_stat){cpu_to_be32(GVE_STAT_TX_FRAMES_SENT),
					   cpu_to_be32(i),
					   cpu_to_be64(sc->tx[i].packets)};
		s[n++] = (struct gve_stat){cpu_to_be32(GVE_STAT_TX_BYTES_SENT),
					   cpu_to_be32(i),
					   cpu_to_be64(sc->tx[i].bytes)};
		s[n++] = (struct gve_stat){
		    cpu_to_be32(GVE_STAT_TX_LAST_COMPLETION), cpu_to_be32(i),
		    cpu_to_be64(sc->tx[i].done)};
		s[n++] = (struct gve_stat){
		    cpu_to_be32(GVE_STAT_RX_NEXT_EXPECTED_SEQ), cpu_to_be32(i),
		    cpu_to_be64(sc->rx[i].seqno)};
	}
	dma_wmb();
	uint64_t *written = sc->stats_buf.va;
	*written = cpu_to_be64(be64_to_cpu(*written) + 1);
}

/* a read of all ones at run time: the device is given up, its memory
 * held (what it still owns cannot be told), in one line */
static void gve_gone(struct gve_softc *sc)
{
	kprintf("%s: unable to reach device: status reads all ones\n",
		sc->name);
	sc->memory_held = true;
	gve_fail(sc);
}

/* gve_service_task: the management work — device_status, link, stats,
 * resets — then re-arm the blocks that fired */
void gve_service(struct gve_softc *sc)
{
	if (sc->state == GVE_S_RESETTING) {
		/* one step of a reset per call: the recovery, when due */
		if (time_now_us() >= sc->recover_at_us)
			gve_reset_recover(sc);
		sc->nic.link_up = sc->link_up && sc->state == GVE_S_UP;
		sc->nic.link_mbps = sc->link_mbps;
		return;
	}
	if (sc->state == GVE_S_FAILED || !sc->aq_registered)
		return;
	/* device_status is read when the management vector fired, and every
	 * GVE_STATUS_POLL_US in case it did not: each read of a register is a
	 * trap to the hypervisor */
	uint64_t now = time_now_us();
	if (!sc->mgmt_pending && !sc->reset_wanted &&
	    now - sc->status_read_us < GVE_STATUS_POLL_US) {
		if (sc->state == GVE_S_UP)
			gve_irqs_rearm(sc);
		return;
	}
	sc->status_read_us = now;
	sc->mgmt_pending = false;
	uint32_t st = gve_reg_read(sc, GVE_REG_DEVICE_STATUS);
	if (st == GVE_DEVSTAT_GONE) {
		gve_gone(sc);
		return;
	}
	if ((st & GVE_DEVSTAT_RESET) && !sc->reset_wanted) {
		sc->device_resets++;
		sc->reset_wanted = true;
		sc->reset_reason = "device requested";
	}
	if ((st & GVE_DEVSTAT_REPORT_STATS) &&
	    !(sc->last_status & GVE_DEVSTAT_REPORT_STATS))
		gve_stats_fill(sc);
	/* the link speed asked for at the last logged "up": taken once the
	 * device completed it; a timeout asks for a reset */
	if (sc->aq_rung && sc->state == GVE_S_UP) {
		int err = gve_aq_link_speed_collect(sc, false);
		if (err == GVE_EGONE) {
			gve_gone(sc);
			return;
		}
		if (err != GVE_OK && err != GVE_EAGAIN)
			kprintf("%s: unable to read link speed\n", sc->name);
	}
	/* the device decides how often its link changes: every change is
	 * counted, the line and the link-speed command come at most once
	 * per NIC_LINK_LOG_US (nic_link_log); the command is posted, never
	 * waited for here (GVE_RUN_WAIT_MAX_US) */
	bool link = st & GVE_DEVSTAT_LINK_UP, changed = link != sc->link_up;
	uint64_t unlogged;
	sc->link_up = link;
	sc->link_changes += changed;
	if (nic_link_log(&sc->link_log, now, changed, &unlogged)) {
		char more[48] = "";
		if (unlogged)
			ksnprintf(more, sizeof(more),
				  ", %llu changes not logged",
				  (unsigned long long)unlogged);
		kprintf("%s: link %s%s\n", sc->name, link ? "up" : "down",
			more);
		int err = GVE_OK;
		if (link && sc->state == GVE_S_UP && !sc->aq_rung &&
		    !sc->reset_wanted && (err = gve_aq_link_speed_post(sc))) {
			if (err == GVE_EGONE) {
				gve_gone(sc);
				return;
			}
			kprintf("%s: unable to read link speed\n", sc->name);
		}
	}
	sc->last_status = st;
	if (sc->reset_wanted)
		gve_reset(sc);
	if (sc->state == GVE_S_UP)
		gve_irqs_rearm(sc);
	sc->nic.link_up = sc->link_up && sc->state == GVE_S_UP;
	sc->nic.link_mbps = sc->link_mbps;
}

/* ---- frames ------------------------------------------------------------ */

int gve_send(struct gve_softc *sc, const void *frame, size_t len)
{
	struct gve_tx *tx = &sc->tx[0];
	int err;

	if (sc->reset_wanted)
		gve_service(sc);
	if (sc->state != GVE_S_UP || len < 14 || len > GVE_MTU + 18) {
		sc->nic.stats.tx_dropped++;
		return -1;
	}
	err = gve_is_dqo(sc) ? gve_dqo_send(sc, tx, frame, len)
			     : gve_gqi_send(sc, tx, frame, len);
	/* their one refusal, GVE_ENOMEM: no descriptor, FIFO room or tag
	 * free now, or a reset pending. The frame is not taken; the caller
	 * holds it and sends it again after a recv has reclaimed
	 * (kernel/net/nic.h) */
	if (err)
		return NIC_TX_FULL;
	sc->nic.stats.tx_packets++;
	sc->nic.stats.tx_bytes += len;
	return 0;
}

int gve_recv(struct gve_softc *sc, void *buf, size_t cap)
{
	gve_service(sc);
	if (sc->state != GVE_S_UP)
		return sc->state == GVE_S_FAILED ? -1 : 0;
	for (unsigned i = 0; i < sc->nqueues; i++) {
		if (gve_is_dqo(sc))
			gve_dqo_tx_reclaim(sc, &sc->tx[i]);
		else
			gve_gqi_tx_reclaim(sc, &sc->tx[i]);
	}
	for (unsigned k = 0; k < sc->nqueues && !sc->reset_wanted; k++) {
		struct gve_rx *rx = &sc->rx[(sc->rx_rr + k) % sc->nqueues];
		int n = gve_is_dqo(sc) ? gve_dqo_recv(sc, rx, buf, cap)
				       : gve_gqi_recv(sc, rx, buf, cap);
		if (n > 0) {
			sc->rx_rr = (sc->rx_rr + k + 1) % sc->nqueues;
			sc->nic.stats.rx_packets++;
			sc->nic.stats.rx_bytes += (unsigned)n;
			return n;
		}
	}
	return 0;
}

static int gve_nic_send(struct nic *n, const void *frame, size_t len)
{
	return gve_send(n->priv, frame, len);
}

static int gve_nic_recv(struct nic *n, void *buf, size_t cap)
{
	return gve_recv(n->priv, buf, cap);
}

const char *gve_format_name(uint8_t f)
{
	static const char *const names[] = {"unspecified", "gqi-rda", "gqi-qpl",
					    "dqo-rda", "dqo-qpl"};
	return f < ARRAY_SIZE(names) ? names[f] : "?";
}

/* one object of /api/gvnic (gve_pci.c: gve_status_json) */
void gve_status_obj(const struct gve_softc *sc, struct json *j)
{
	json_obj(j);
	json_kstr(j, "name", sc->name);
	json_kstr(j, "state",
		  sc->state == GVE_S_UP		 ? "up"
		  : sc->state == GVE_S_FAILED	 ? "failed"
		  : sc->state == GVE_S_RESETTING ? "resetting"
						 : "down");
	json_kstr(j, "queue_format", gve_format_name(sc->queue_format));
	json_ku64(j, "revision", sc->g.revision);
	JSON_KFIELD(j, sc, nqueues);
	JSON_KFIELD(j, sc, tx_entries);
	JSON_KFIELD(j, sc, rx_entries);
	json_ku64(j, "mtu", sc->nic.mtu);
	json_kbool(j, "link_up", sc->link_up);
	JSON_KFIELD(j, sc, link_mbps);
	JSON_KFIELD(j, sc, link_changes);
	JSON_KFIELD(j, sc, aq_cmds);
	JSON_KFIELD(j, sc, aq_fail);
	JSON_KFIELD(j, sc, aq_timeouts);
	JSON_KFIELD(j, sc, resets);
	JSON_KFIELD(j, sc, device_resets);
	JSON_KFIELD(j, sc, reset_streak);
	json_ku64(j, "reset_ms", sc->reset_us / 1000);
	JSON_KFIELD(j, sc, hostile);
	json_obj_end(j);
}

/* ---- attach and detach ------------------------------------------------- */

static void gve_version_write(struct gve_softc *sc)
{
	const char *s;
	for (s = GVE_VERSION_PREFIX; *s; s++)
		mmio_write8(&sc->g.reg, GVE_REG_DRIVER_VERSION, (uint8_t)*s);
	for (s = GVE_VERSION_STR; *s; s++)
		mmio_write8(&sc->g.reg, GVE_REG_DRIVER_VERSION, (uint8_t)*s);
	mmio_write8(&sc->g.reg, GVE_REG_DRIVER_VERSION, '\n');
}

/* gve_init_priv: one notification block per MSI-X vector but the
 * management one, an even count split between TX and RX; queues limited by
 * the registers, the blocks and default_num_queues. More vectors than
 * GVE_MAX_NTFY_BLKS + 1 are handled as Linux handles getting fewer vectors
 * than it asked for (gve_alloc_notify_blocks): the block count follows the
 * vectors used. */
static int gve_queues_count(struct gve_softc *sc)
{
	if (sc->g.msix_vectors < GVE_MIN_MSIX) {
		kprintf("%s: unable to configure interrupts: %u MSI-X vectors, "
			"need %u\n",
			sc->name, sc->g.msix_vectors, GVE_MIN_MSIX);
		return GVE_EINVAL;
	}
	sc->nblocks = MIN((sc->g.msix_vectors - 1) & ~1u, GVE_MAX_NTFY_BLKS);
	sc->tx_max = MIN(sc->max_tx_queues, sc->nblocks / 2);
	uint32_t q = MIN(sc->tx_max, MIN(sc->max_rx_queues, sc->nblocks / 2));
	if (sc->default_num_queues)
		q = MIN(q, sc->default_num_queues);
	sc->nqueues = MIN(q, GVE_MAX_QUEUES);
	if (!gve_is_dqo(sc) && sc->num_counters < sc->nqueues) {
		gve_hostile(sc, "counters", sc->num_counters);
		return GVE_EDEVICE;
	}
	return GVE_OK;
}

static void gve_release_memory(struct gve_softc *sc)
{
	if (sc->memory_held) {
		kprintf("%s: keeping DMA memory: the device may still own it\n",
			sc->name);
		return;
	}
	if (sc->data_pool_ok)
		dma_pool_revoke(&sc->data_pool);
	if (sc->ctl_pool_ok)
		dma_pool_revoke(&sc->ctl_pool);
	sc->data_pool_ok = sc->ctl_pool_ok = false;
}

static void gve_nic_fill(struct gve_softc *sc)
{
	struct nic *n = &sc->nic;
	strlcpy(n->name, sc->name, sizeof(n->name));
	memcpy(n->mac, sc->mac, 6);
	n->mtu = MIN(sc->dev_mtu, GVE_MTU);
	n->link_up = sc->link_up;
	n->link_mbps = sc->link_mbps;
	n->send = gve_nic_send;
	n->recv = gve_nic_recv;
	n->priv = sc;
}

/* a step of the attach failed: its line, but for a device gone (all
 * ones), which the release says, once, with what it keeps */
static void gve_attach_say(struct gve_softc *sc, int err, const char *step)
{
	if (err != GVE_EGONE)
		kprintf("%s: unable to %s\n", sc->name, step);
}

/* Bring-up in the reference order:
 *  1 write the version bytes; 2 read the queue limits;
 *  3 register the admin queue (method by PCI revision);
 *  4 VERIFY_DRIVER_COMPATIBILITY; 5 DESCRIBE_DEVICE;
 *  6 notification blocks and queue counts from the MSI-X vectors;
 *  7 ring memory, vectors; 8 CONFIGURE_DEVICE_RESOURCES (+ ptype map,
 *    stats report); 9 page lists, queues, doorbells, interrupts. */
int gve_attach(struct gve_softc *sc, const struct gve_grants *g)
{
	bool said = false;
	int err;

	sc->g = *g;
	strlcpy(sc->name, g->name ? g->name : "gve0", sizeof(sc->name));
	sc->state = GVE_S_DOWN;
	gve_version_write(sc);					     /* 1 */
	sc->max_tx_queues = gve_reg_read(sc, GVE_REG_MAX_TX_QUEUES); /* 2 */
	sc->max_rx_queues = gve_reg_read(sc, GVE_REG_MAX_RX_QUEUES);
	/* either limit all ones: the device is gone before it was handed
	 * anything, so nothing is kept */
	if (sc->max_tx_queues == GVE_DEVSTAT_GONE ||
	    sc->max_rx_queues == GVE_DEVSTAT_GONE) {
		kprintf("%s: unable to reach device: queue limits read all "
			"ones\n",
			sc->name);
		sc->state = GVE_S_FAILED;
		return GVE_EGONE;
	}
	if (!sc->max_tx_queues || !sc->max_rx_queues) {
		kprintf("%s: unable to use queue limits tx %u rx %u\n",
			sc->name, sc->max_tx_queues, sc->max_rx_queues);
		sc->state = GVE_S_FAILED;
		return GVE_EDEVICE;
	}
	/* every admin wait of the attach within one budget */
	gve_aq_budget(sc, "attach", GVE_ATTACH_AQ_BUDGET_US);
	if ((err = gve_ctl_alloc(sc)))
		goto fail_mem;
	if ((err = gve_aq_register(sc))) /* 3 */
		goto fail_mem;
	if ((err = gve_aq_verify_compat(sc))) { /* 4 */
		gve_attach_say(sc, err, "verify driver compatibility");
		goto fail_aq;
	}
	if ((err = gve_aq_describe(sc))) { /* 5 */
		gve_attach_say(sc, err, "describe device");
		goto fail_aq;
	}
	if ((err = gve_queues_count(sc))) /* 6 */
		goto fail_aq;
	if ((err = gve_data_alloc(sc))) /* 7 */
		goto fail_aq;
	gve_irqs_bind(sc);
	if ((err = gve_resources_setup(sc))) /* 8 */
		goto fail_irq;
	/* a step that asked for a reset (a refused value, an admin timeout)
	 * fails the attach, as it gives a recovery up (gve_reset_recover),
	 * even when the step itself was optional (stats, link speed) */
	if ((err = gve_up(sc)) || sc->reset_wanted) { /* 9 */
		gve_attach_say(sc, err, "bring up queues");
		if (!err)
			err = GVE_EDEVICE;
		goto fail_irq;
	}
	sc->aq_deadline_us = 0;
	if (sc->mgmt.bound)
		irq_unmask(&sc->mgmt.irq);
	gve_nic_fill(sc);
	kprintf("%s: %s, %u queue pair(s), rings tx %u rx %u, mtu %u, mac "
		"%02x:%02x:%02x:%02x:%02x:%02x, link %s\n",
		sc->name, gve_format_name(sc->queue_format), sc->nqueues,
		sc->tx_entries, sc->rx_entries, sc->nic.mtu, sc->mac[0],
		sc->mac[1], sc->mac[2], sc->mac[3], sc->mac[4], sc->mac[5],
		sc->link_up ? "up" : "down");
	return GVE_OK;

fail_irq:
	gve_irqs_revoke(sc);
fail_aq:
	/* releasing the admin queue resets the device: after that it owns
	 * nothing and the memory may go. One that never confirms keeps it,
	 * said once, by the release */
	if (gve_aq_release(sc) != GVE_OK)
		said = true;
	else if (err == GVE_EGONE) /* gone, and back by the release */
		kprintf("%s: unable to reach device: status read all ones\n",
			sc->name);
	gve_forget_device_state(sc);
fail_mem:
	sc->aq_deadline_us = 0;
	if (!said)
		gve_release_memory(sc);
	sc->state = GVE_S_FAILED;
	sc->reset_wanted = false;
	return err ? err : GVE_EINVAL;
}

/* gve_remove: close, teardown resources, release the admin queue (reset),
 * then free; memory the device may still own is never returned. One line
 * when it is kept: the release's own when that is what failed. The
 * teardown's admin waits end within GVE_DETACH_AQ_BUDGET_US in all; the
 * release resets the device whatever it reached */
void gve_detach(struct gve_softc *sc)
{
	bool said = false;
	int err = GVE_OK;
	if (sc->aq_registered) {
		gve_aq_budget(sc, "detach", GVE_DETACH_AQ_BUDGET_US);
		/* a device gone is asked nothing more but the release, which
		 * says so, once */
		if (sc->state == GVE_S_UP && (err = gve_down(sc)) &&
		    err != GVE_EGONE)
			kprintf("%s: unable to stop queues\n", sc->name);
		if (!sc->rings_ok && err != GVE_EGONE)
			gve_resources_teardown(sc);
		said = gve_aq_release(sc) != GVE_OK;
		gve_forget_device_state(sc);
	}
	gve_irqs_revoke(sc);
	if (!said)
		gve_release_memory(sc);
	sc->state = GVE_S_DOWN;
}

/* the owner was revoked (a DMA fault): the authority layer turned bus
 * mastering off and took the windows, the vectors and the pools (parked,
 * no release ever seen). Nothing is asked of the device — every access
 * would be refused — and nothing is given back: the vectors are
 * forgotten, the memory stays where the revocation parked it
 * (memory_held), the driver failed so gve_service leaves it alone */
void gve_detach_revoked(struct gve_softc *sc)
{
	for (unsigned i = 0; i <= sc->nblocks; i++)
		(i < sc->nblocks ? &sc->blocks[i] : &sc->mgmt)->bound = false;
	gve_forget_device_state(sc);
	sc->aq_registered = false;
	sc->memory_held = true;
	sc->reset_wanted = false;
	sc->state = GVE_S_FAILED;
	sc->nic.link_up = sc->link_up = false;
}
