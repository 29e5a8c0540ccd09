/* drivers/gvnic/gve_adminq.c — the gVNIC admin queue: registration and
 * release (reset), one command engine (issue / kick-and-wait, with exec as
 * issue + kick on an idle queue), and each command the driver uses.
 * Basis: Linux gve_adminq.c and gve_adminq.h. */
#include "drivers/gvnic/gve_var.h"
#include "kernel/lib/lib.h"
#include "kernel/time/time.h"

/* ---- registration and release (gve_adminq.c: gve_adminq_alloc/release) */

static void gve_poll_delay(unsigned i)
{
	time_delay_us(i < GVE_FAST_POLLS ? GVE_FAST_POLL_US
					 : GVE_ADMINQ_POLL_US);
}

/* gve_adminq_alloc: rev 0 hands the device the page frame number; rev >= 1
 * the length, the two address halves, then RUN. */
int gve_aq_register(struct gve_softc *sc)
{
	const struct dev_mmio *r = &sc->g.reg;
	uint64_t a = sc->aq.iova;

	memset(sc->aq.va, 0, GVE_ADMINQ_SIZE);
	sc->aq_prod = sc->aq_done = 0;
	sc->aq_rung = false;
	if (sc->g.revision < 1) {
		if ((a >> 12) > 0xffffffffull) {
			kprintf("%s: unable to register admin queue: "
				"address %#llx beyond a 32-bit pfn\n",
				sc->name, (unsigned long long)a);
			return GVE_EINVAL;
		}
		mmio_write_be32(r, GVE_REG_ADMINQ_PFN, (uint32_t)(a >> 12));
	} else {
		mmio_write_be16(r, GVE_REG_ADMINQ_LENGTH, GVE_ADMINQ_SIZE);
		mmio_write_be32(r, GVE_REG_ADMINQ_BASE_HI, (uint32_t)(a >> 32));
		mmio_write_be32(r, GVE_REG_ADMINQ_BASE_LO, (uint32_t)a);
		mmio_write_be32(r, GVE_REG_DRIVER_STATUS, GVE_DRVSTAT_RUN);
	}
	sc->aq_registered = true;
	return GVE_OK;
}

/* gve_adminq_release: tell the device the admin queue is leaving, which
 * resets it, and wait until it says so. Until then the device may still
 * write any memory it was given, so on a timeout that memory stays granted
 * (memory_held) and is never reused or revoked. A device_status of all
 * ones (the device gone) can confirm nothing: the wait ends at once, the
 * memory held, rather than polling GVE_RELEASE_POLLS times for nothing */
int gve_aq_release(struct gve_softc *sc)
{
	const struct dev_mmio *r = &sc->g.reg;
	unsigned i;
	bool gone = false;

	if (sc->g.revision < 1)
		mmio_write_be32(r, GVE_REG_ADMINQ_PFN, 0);
	else
		mmio_write_be32(r, GVE_REG_DRIVER_STATUS, GVE_DRVSTAT_RESET);
	for (i = 0; i <= GVE_FAST_POLLS + GVE_RELEASE_POLLS; i++) {
		uint32_t st = mmio_read_be32(r, GVE_REG_DEVICE_STATUS);
		if ((gone = st == GVE_DEVSTAT_GONE))
			break;
		if (sc->g.revision < 1
			? mmio_read_be32(r, GVE_REG_ADMINQ_PFN) == 0
			: (st & GVE_DEVSTAT_DEVICE_IS_RESET) != 0)
			break;
		gve_poll_delay(i);
	}
	sc->aq_registered = false;
	sc->aq_rung = false; /* the device dropped what it was running */
	if (gone || i > GVE_FAST_POLLS + GVE_RELEASE_POLLS) {
		if (gone)
			kprintf("%s: unable to reset device: status reads all "
				"ones, its DMA memory stays granted\n",
				sc->name);
		else
			kprintf("%s: unable to reset device: no reset after "
				"%u ms, its DMA memory stays granted\n",
				sc->name,
				GVE_RELEASE_POLLS * GVE_ADMINQ_POLL_US / 1000);
		sc->memory_held = true;
		return gone ? GVE_EGONE : GVE_ETIMEDOUT;
	}
	sc->memory_held = false;
	return GVE_OK;
}

/* ---- the command engine ------------------------------------------------ */

static const char *const gve_status_names[] = {
    "ABORTED",
    "ALREADY_EXISTS",
    "CANCELLED",
    "DATALOSS",
    "DEADLINE_EXCEEDED",
    "FAILED_PRECONDITION",
    "INTERNAL_ERROR",
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "OUT_OF_RANGE",
    "PERMISSION_DENIED",
    "UNAUTHENTICATED",
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "UNIMPLEMENTED",
    "UNKNOWN_ERROR",
};

const char *gve_aq_status_name(uint32_t status)
{
	if (status == GVE_AQ_STATUS_UNSET)
		return "UNSET";
	if (status == GVE_AQ_STATUS_PASSED)
		return "PASSED";
	if (status >= GVE_AQ_STATUS_ABORTED)
		return gve_status_names[status - GVE_AQ_STATUS_ABORTED];
	return "INVALID";
}

/* gve_adminq_parse_err: the status codes grouped as the reference does */
int gve_aq_status_err(uint32_t status)
{
	switch (status) {
	case GVE_AQ_STATUS_PASSED:
		return GVE_OK;
	case GVE_AQ_STATUS_ABORTED:
	case GVE_AQ_STATUS_CANCELLED:
	case GVE_AQ_STATUS_DATALOSS:
	case GVE_AQ_STATUS_FAILED_PRECONDITION:
	case GVE_AQ_STATUS_UNAVAILABLE:
		return GVE_EAGAIN;
	case GVE_AQ_STATUS_DEADLINE_EXCEEDED:
		return GVE_ETIME;
	case GVE_AQ_STATUS_PERMISSION_DENIED:
	case GVE_AQ_STATUS_UNAUTHENTICATED:
		return GVE_EACCES;
	case GVE_AQ_STATUS_RESOURCE_EXHAUSTED:
		return GVE_ENOMEM;
	case GVE_AQ_STATUS_UNIMPLEMENTED:
		return GVE_ENOTSUP;
	default: /* UNSET, the other errors, and values outside the list */
		return GVE_EINVAL;
	}
}

static const char *gve_aq_opname(uint32_t op)
{
	static const char *const names[] = {
	    "command",
	    "describe device",
	    "configure device resources",
	    "register page list",
	    "unregister page list",
	    "create tx queue",
	    "create rx queue",
	    "destroy tx queue",
	    "destroy rx queue",
	    "deconfigure device resources",
	    "configure rss",
	    "set driver parameter",
	    "report stats",
	    "report link speed",
	    "get ptype map",
	    "verify driver compatibility",
	};
	return op < ARRAY_SIZE(names) ? names[op] : names[0];
}

static struct gve_aq_cmd *gve_aq_slot(struct gve_softc *sc, uint32_t n)
{
	return (struct gve_aq_cmd *)sc->aq.va + (n & GVE_ADMINQ_MASK);
}

/* the admin queue's event counter: what the device has completed; the
 * queue must be registered and the device present. device_status is read
 * after the counter, so it vouches for it: a counter of all ones from a
 * device gone is never taken for a value (one that wrapped is one) */
static int gve_aq_read_counter(struct gve_softc *sc, uint32_t *out)
{
	if (!sc->aq_registered)
		return GVE_EINVAL;
	*out = mmio_read_be32(&sc->g.reg, GVE_REG_ADMINQ_EVENT_COUNTER);
	uint32_t st = mmio_read_be32(&sc->g.reg, GVE_REG_DEVICE_STATUS);
	return st == GVE_DEVSTAT_GONE ? GVE_EGONE : GVE_OK;
}

/* the event counter between doorbells: nothing is outstanding that the
 * device was told of, so it must still read aq_done. A counter that moved
 * on counts commands the doorbell never named (never run, their status
 * UNSET), one that went back counts commands again. */
static int gve_aq_idle_counter(struct gve_softc *sc)
{
	uint32_t ec;
	int err;

	if ((err = gve_aq_read_counter(sc, &ec)))
		return err;
	if (ec != sc->aq_done) {
		gve_hostile(sc, "admin event counter", ec);
		return GVE_EDEVICE;
	}
	return GVE_OK;
}

/* the doorbell with every command issued so far: nothing may be
 * outstanding, the counter reads aq_done */
static int gve_aq_kick(struct gve_softc *sc)
{
	int err;

	if ((err = gve_aq_idle_counter(sc)))
		return err;
	mmio_write_be32(&sc->g.reg, GVE_REG_ADMINQ_DOORBELL, sc->aq_prod);
	sc->aq_rung = true;
	sc->aq_rung_us = time_now_us();
	return GVE_OK;
}

/* commands a device may lack: Linux's gve tolerates UNIMPLEMENTED from
 * VERIFY_DRIVER_COMPATIBILITY (gve_verify_driver_compatibility), and the
 * stats report and the link speed are optional (a refused stats report
 * is no failure in gve_setup_device_resources; the speed is only shown) */
static bool gve_aq_optional(uint32_t op)
{
	return op == GVE_AQ_VERIFY_DRIVER_COMPATIBILITY ||
	       op == GVE_AQ_REPORT_STATS || op == GVE_AQ_REPORT_LINK_SPEED;
}

/* the commands rung are done: check each status, return the first error.
 * UNIMPLEMENTED from an optional command says only that the device lacks
 * it: done, no line and no failure counted (Linux prints "AQ command
 * failed" for it, then goes on) */
static int gve_aq_statuses(struct gve_softc *sc, uint32_t tail, uint32_t head)
{
	sc->aq_done = head;
	dma_rmb();
	for (uint32_t n = tail; n != head; n++) {
		struct gve_aq_cmd *c = gve_aq_slot(sc, n);
		uint32_t status = be32_to_cpu(c->status);
		uint32_t op = be32_to_cpu(c->opcode);
		int err;
		sc->aq_last_status = status;
		if (status == GVE_AQ_STATUS_UNIMPLEMENTED &&
		    gve_aq_optional(op))
			continue;
		if ((err = gve_aq_status_err(status))) {
			sc->aq_fail++;
			kprintf("%s: unable to %s: status %s (%#x)\n", sc->name,
				gve_aq_opname(op), gve_aq_status_name(status),
				status);
			return err;
		}
	}
	return GVE_OK;
}

/* the commands rung did not complete in time: the queue is left as it is
 * until a reset re-registers it */
static int gve_aq_timeout(struct gve_softc *sc, uint32_t ec, uint32_t head,
			  bool budget)
{
	if (budget)
		kprintf("%s: unable to complete admin commands: counter %u of "
			"%u, the %s's %llu ms spent\n",
			sc->name, ec, head, sc->aq_budget_for,
			(unsigned long long)(sc->aq_budget_us / 1000));
	else
		kprintf("%s: unable to complete admin commands: counter %u of "
			"%u after %u ms\n",
			sc->name, ec, head,
			GVE_ADMINQ_POLLS * GVE_ADMINQ_POLL_US / 1000);
	sc->aq_timeouts++;
	sc->reset_wanted = true;
	sc->reset_reason = "admin queue timeout";
	return GVE_ETIMEDOUT;
}

/* gve_adminq_wait_for_cmd for the doorbell outstanding (aq_rung): read the
 * event counter until it reaches the commands rung — polling (`wait`),
 * or once. The counter may only move forward from the last completion the
 * driver saw (aq_done) within the commands rung. The commands time out
 * GVE_AQ_WAIT_MAX_US after the doorbell (the reference's timeout), and
 * during an attach or a recovery at its aq_deadline_us. GVE_EAGAIN: not yet;
 * anything else concludes the doorbell (aq_rung clear): done, with the first
 * error status, or failed (a refused counter, the device gone, a timeout), the
 * commands left outstanding until a reset re-registers the queue. */
static int gve_aq_wait(struct gve_softc *sc, bool wait)
{
	uint32_t tail = sc->aq_done, head = sc->aq_prod, ec = tail;
	int err;

	for (unsigned i = 0;; i++) {
		if ((err = gve_aq_read_counter(sc, &ec)))
			break;
		if (ec - tail > head - tail) {
			gve_hostile(sc, "admin event counter", ec);
			err = GVE_EDEVICE;
			break;
		}
		if (ec == head) {
			sc->aq_rung = false;
			return gve_aq_statuses(sc, tail, head);
		}
		uint64_t now = time_now_us();
		bool budget = sc->aq_deadline_us && now >= sc->aq_deadline_us;
		/* polls counted too, in case the clock stands still */
		if (budget || now - sc->aq_rung_us >= GVE_AQ_WAIT_MAX_US ||
		    i >= GVE_FAST_POLLS + GVE_ADMINQ_POLLS) {
			err = gve_aq_timeout(sc, ec, head, budget);
			break;
		}
		if (!wait)
			return GVE_EAGAIN;
		gve_poll_delay(i);
	}
	sc->aq_rung = false;
	return err;
}

/* gve_adminq_kick_and_wait: ring the doorbell with every command issued so
 * far and wait for them */
int gve_aq_kick_wait(struct gve_softc *sc)
{
	int err;

	if ((err = gve_aq_kick(sc)))
		return err;
	return gve_aq_wait(sc, true);
}

/* a command posted (gve_aq_post) and not yet collected: every other
 * command waits for it first (at detach: nothing else is asked at run
 * time), whatever its status */
static void gve_aq_settle(struct gve_softc *sc)
{
	if (sc->aq_rung)
		(void)gve_aq_wait(sc, true);
}

/* gve_adminq_issue_cmd: place a command in the next slot; when the ring is
 * full, flush what is outstanding first */
int gve_aq_issue(struct gve_softc *sc, const struct gve_aq_cmd *cmd)
{
	int err;

	gve_aq_settle(sc);
	if ((err = gve_aq_idle_counter(sc)))
		return err;
	if (sc->aq_prod - sc->aq_done >= GVE_ADMINQ_SLOTS - 1 &&
	    (err = gve_aq_kick_wait(sc)))
		return err;
	memcpy(gve_aq_slot(sc, sc->aq_prod), cmd, sizeof(*cmd));
	dma_wmb();
	sc->aq_prod++;
	sc->aq_cmds++;
	return GVE_OK;
}

/* one command on an idle queue, the doorbell rung, not waited for: a
 * later poll collects it (gve_aq_link_speed_collect). Commands still
 * outstanding were left by a doorbell that failed (counter refused, device
 * gone, timeout), each of which ends in a reset that re-registers the
 * queue: nothing more is issued until then. */
int gve_aq_post(struct gve_softc *sc, const struct gve_aq_cmd *cmd)
{
	int err;

	gve_aq_settle(sc);
	if (sc->aq_prod != sc->aq_done)
		return GVE_EAGAIN;
	if ((err = gve_aq_issue(sc, cmd)))
		return err;
	return gve_aq_kick(sc);
}

/* gve_adminq_execute_cmd: one command on an idle queue, waited for */
int gve_aq_exec(struct gve_softc *sc, const struct gve_aq_cmd *cmd)
{
	int err;

	if ((err = gve_aq_post(sc, cmd)))
		return err;
	return gve_aq_wait(sc, true);
}

static void gve_cmd_init(struct gve_aq_cmd *c, uint32_t op)
{
	memset(c, 0, sizeof(*c));
	c->opcode = cpu_to_be32(op);
}

/* ---- DESCRIBE_DEVICE and the option chain ------------------------------ */

struct gve_opts {
	int gqi_raw, gqi_rda, gqi_qpl, dqo_rda,
	    dqo_qpl; /* payload offset or 0 */
	int modring;
	uint16_t modring_len;
};

static uint16_t rd_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* gve_parse_device_option: an option whose length is short or whose
 * required-features mask is not the known one is ignored, not fatal */
static void gve_opt_one(struct gve_softc *sc, struct gve_opts *o,
			const uint8_t *buf, uint32_t off, uint16_t len)
{
	uint16_t id = rd_be16(buf + off);
	uint32_t req = rd_be32(buf + off + 4);
	int pay = (int)off + 8;
	struct {
		uint16_t id, min;
		int *slot;
	} known[] = {
	    {GVE_OPT_GQI_RDA, GVE_OPT_LEN_GQI_RDA, &o->gqi_rda},
	    {GVE_OPT_GQI_QPL, GVE_OPT_LEN_GQI_QPL, &o->gqi_qpl},
	    {GVE_OPT_DQO_RDA, GVE_OPT_LEN_DQO_RDA, &o->dqo_rda},
	    {GVE_OPT_DQO_QPL, GVE_OPT_LEN_DQO_QPL, &o->dqo_qpl},
	    {GVE_OPT_MODIFY_RING, GVE_OPT_LEN_MODIFY_RING_MIN, &o->modring},
	};

	if (id == GVE_OPT_GQI_RAW_ADDRESSING) {
		if (len == GVE_OPT_LEN_GQI_RAW_ADDRESSING && req == 0)
			o->gqi_raw = pay;
		else
			kprintf("%s: ignoring option %#x: length %u mask %#x\n",
				sc->name, id, len, req);
		return;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(known); i++) {
		if (known[i].id != id)
			continue;
		if (len < known[i].min || req != 0) {
			kprintf("%s: ignoring option %#x: length %u mask %#x\n",
				sc->name, id, len, req);
			return;
		}
		*known[i].slot = pay;
		if (id == GVE_OPT_MODIFY_RING)
			o->modring_len = len;
		return;
	}
	/* jumbo frames, buffer sizes, flow steering, timestamps, RSS and
	 * unknown ids: not used. The driver's MTU is at most GVE_MTU and its
	 * RX buffers are GVE_BUF_SIZE, Linux's default every device takes,
	 * so neither a larger maximum MTU nor other buffer sizes matter */
}

static bool gve_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* choose a ring size: the device's default, or GVE_RING_PREF when the
 * modify-ring option allows it and the default is larger */
static uint16_t gve_ring_pick(struct gve_softc *sc, uint16_t dflt, uint16_t lo,
			      uint16_t hi)
{
	if (sc->modify_ring && dflt > GVE_RING_PREF && lo <= GVE_RING_PREF &&
	    hi >= GVE_RING_PREF)
		return GVE_RING_PREF;
	return dflt;
}

/* gve_adminq_describe_device: DQO_RDA > DQO_QPL > GQI_RDA > legacy raw
 * addressing > GQI_QPL, which is also the format when no format option is
 * present; the supported-features mask comes from the chosen option */
static void gve_pick_format(struct gve_softc *sc, const struct gve_opts *o,
			    const uint8_t *buf)
{
	int fmt_opt;

	if (o->dqo_rda)
		sc->queue_format = GVE_QF_DQO_RDA, fmt_opt = o->dqo_rda;
	else if (o->dqo_qpl)
		sc->queue_format = GVE_QF_DQO_QPL, fmt_opt = o->dqo_qpl;
	else if (o->gqi_rda)
		sc->queue_format = GVE_QF_GQI_RDA, fmt_opt = o->gqi_rda;
	else if (o->gqi_raw)
		sc->queue_format = GVE_QF_GQI_RDA, fmt_opt = 0;
	else
		sc->queue_format = GVE_QF_GQI_QPL, fmt_opt = o->gqi_qpl;
	sc->features = fmt_opt ? rd_be32(buf + fmt_opt) : 0;
	/* gve_enable_supported_features: DQO_QPL's page count, 0 meaning
	 * DQO_QPL_DEFAULT_TX_PAGES */
	sc->dqo_qpl_tx_pages = 0;
	if (o->dqo_qpl && sc->queue_format == GVE_QF_DQO_QPL) {
		sc->dqo_qpl_tx_pages = rd_be16(buf + o->dqo_qpl + 4);
		if (!sc->dqo_qpl_tx_pages)
			sc->dqo_qpl_tx_pages = GVE_DQO_QPL_DEFAULT_TX_PAGES;
	}
}

static void gve_opts_apply(struct gve_softc *sc, const struct gve_opts *o,
			   const uint8_t *buf)
{
	if (o->modring && (sc->features & GVE_SUP_MODIFY_RING)) {
		sc->ring_max_rx = rd_be16(buf + o->modring + 4);
		sc->ring_max_tx = rd_be16(buf + o->modring + 6);
		if (o->modring_len >= sizeof(struct gve_opt_modify_ring)) {
			sc->ring_min_rx = rd_be16(buf + o->modring + 8);
			sc->ring_min_tx = rd_be16(buf + o->modring + 10);
		} else {
			/* gve.h: GVE_DEFAULT_MIN_{TX,RX}_RING_SIZE */
			sc->ring_min_rx = 512, sc->ring_min_tx = 256;
		}
		sc->modify_ring =
		    gve_pow2(sc->ring_min_rx) && gve_pow2(sc->ring_max_rx) &&
		    gve_pow2(sc->ring_min_tx) && gve_pow2(sc->ring_max_tx) &&
		    sc->ring_min_rx <= sc->ring_max_rx &&
		    sc->ring_min_tx <= sc->ring_max_tx;
	}
}

/* the device descriptor and its option chain, bounded by total_length,
 * which is bounded by the buffer the driver offered */
int gve_aq_parse_descriptor(struct gve_softc *sc, const uint8_t *buf,
			    uint32_t avail)
{
	const struct gve_device_descriptor *d = (const void *)buf;
	uint32_t total = be16_to_cpu(d->total_length), off = sizeof(*d);
	unsigned nopts = be16_to_cpu(d->num_device_options);
	struct gve_opts o = {0};

	if (total < sizeof(*d) || total > avail) {
		gve_hostile(sc, "descriptor total_length", total);
		return GVE_EDEVICE;
	}
	for (unsigned i = 0; i < nopts; i++) {
		uint16_t len;
		if (off + sizeof(struct gve_device_option) > total ||
		    off + sizeof(struct gve_device_option) +
			    (len = rd_be16(buf + off + 2)) >
			total) {
			gve_hostile(sc, "device option past total_length", i);
			return GVE_EDEVICE;
		}
		gve_opt_one(sc, &o, buf, off, len);
		off += sizeof(struct gve_device_option) + len;
	}
	gve_pick_format(sc, &o, buf);
	gve_opts_apply(sc, &o, buf);

	sc->max_registered_pages = be64_to_cpu(d->max_registered_pages);
	sc->dev_mtu = be16_to_cpu(d->mtu);
	sc->num_counters = be16_to_cpu(d->counters);
	/* rx_pages_per_qpl is not read: an RX page list has one page per
	 * ring entry in GQI (gve_rx_pages), as Linux's has had since "gve:
	 * set page count for RX QPL for GQI and DQO queue formats" */
	sc->tx_pages_per_qpl = be16_to_cpu(d->tx_pages_per_qpl);
	sc->default_num_queues = be16_to_cpu(d->default_num_queues);
	memcpy(sc->mac, d->mac, 6);
	sc->tx_entries = be16_to_cpu(d->tx_queue_entries);
	sc->rx_entries = be16_to_cpu(d->rx_queue_entries);
	if (sc->dev_mtu < 68) {
		gve_hostile(sc, "mtu", sc->dev_mtu);
		return GVE_EDEVICE;
	}
	if (!gve_pow2(sc->tx_entries) || !gve_pow2(sc->rx_entries)) {
		gve_hostile(sc, "ring size",
			    !gve_pow2(sc->tx_entries) ? sc->tx_entries
						      : sc->rx_entries);
		return GVE_EDEVICE;
	}
	sc->tx_entries =
	    gve_ring_pick(sc, sc->tx_entries, sc->ring_min_tx, sc->ring_max_tx);
	sc->rx_entries =
	    gve_ring_pick(sc, sc->rx_entries, sc->ring_min_rx, sc->ring_max_rx);
	if (sc->mac[0] & 1 || !(sc->mac[0] | sc->mac[1] | sc->mac[2] |
				sc->mac[3] | sc->mac[4] | sc->mac[5])) {
		gve_hostile(sc, "mac address", sc->mac[0]);
		return GVE_EDEVICE;
	}
	/* GQI counts completions in event counters; GQI_QPL sizes its TX
	 * FIFO from tx_pages_per_qpl */
	if (!gve_is_dqo(sc) &&
	    (!sc->num_counters || (gve_is_qpl(sc) && !sc->tx_pages_per_qpl))) {
		gve_hostile(sc, "counters or tx_pages_per_qpl",
			    sc->num_counters);
		return GVE_EDEVICE;
	}
	return GVE_OK;
}

/* gve_adminq_describe_device */
int gve_aq_describe(struct gve_softc *sc)
{
	struct gve_aq_cmd c;
	struct gve_aq_describe_device *p = (void *)c.payload;
	int err;

	memset(sc->desc_buf.va, 0, sc->desc_buf.len);
	gve_cmd_init(&c, GVE_AQ_DESCRIBE_DEVICE);
	p->descriptor_addr = cpu_to_be64(sc->desc_buf.iova);
	p->descriptor_version = cpu_to_be32(GVE_DESCRIPTOR_VERSION);
	p->available_length = cpu_to_be32((uint32_t)sc->desc_buf.len);
	if ((err = gve_aq_exec(sc, &c)))
		return err;
	dma_rmb();
	/* parse a private copy: the device can still write the buffer, and
	 * every length must mean the same at its check and at its use */
	memcpy(sc->desc_copy, sc->desc_buf.va, sizeof(sc->desc_copy));
	return gve_aq_parse_descriptor(sc, sc->desc_copy,
				       (uint32_t)sizeof(sc->desc_copy));
}

/* gve_verify_driver_compatibility: the driver info names the OS and the
 * formats the driver handles. os_type is GVE_DRIVER_OS_TYPE (see gve_var.h
 * and the device page for why); the version fields carry capOS's own
 * driver version and the strings say capOS. UNIMPLEMENTED is tolerated
 * (gve_aq_optional: done, quietly), every other failure fails the attach,
 * as in gve_init_priv. */
int gve_aq_verify_compat(struct gve_softc *sc)
{
	struct gve_driver_info *info = sc->info_buf.va;
	struct gve_aq_cmd c;
	struct gve_aq_verify_compat *p = (void *)c.payload;

	memset(info, 0, sizeof(*info));
	info->os_type = GVE_DRIVER_OS_TYPE;
	info->driver_major = GVE_DRIVER_MAJOR;
	info->driver_minor = GVE_DRIVER_MINOR;
	info->driver_sub = GVE_DRIVER_SUB;
	info->driver_capability_flags[0] = cpu_to_be64(GVE_DRIVER_CAPS1);
	strlcpy((char *)info->os_version_str1, GVE_OS_VERSION_STR1,
		sizeof(info->os_version_str1));
	strlcpy((char *)info->os_version_str2, GVE_VERSION_STR,
		sizeof(info->os_version_str2));
	gve_cmd_init(&c, GVE_AQ_VERIFY_DRIVER_COMPATIBILITY);
	p->driver_info_len = cpu_to_be64(sizeof(*info));
	p->driver_info_addr = cpu_to_be64(sc->info_buf.iova);
	return gve_aq_exec(sc, &c);
}

/* gve_adminq_configure_device_resources: management vector last, so the
 * notification blocks start at MSI-X entry 0 */
int gve_aq_configure(struct gve_softc *sc)
{
	struct gve_aq_cmd c;
	struct gve_aq_configure_resources *p = (void *)c.payload;

	gve_cmd_init(&c, GVE_AQ_CONFIGURE_DEVICE_RESOURCES);
	p->counter_array = cpu_to_be64(sc->counters.iova);
	p->irq_db_addr = cpu_to_be64(sc->irq_dbs.iova);
	p->num_counters = cpu_to_be32(sc->num_counters);
	p->num_irq_dbs = cpu_to_be32(sc->nblocks);
	p->irq_db_stride = cpu_to_be32(GVE_IRQ_DB_STRIDE);
	p->ntfy_blk_msix_base_idx = cpu_to_be32(0);
	p->queue_format = sc->queue_format;
	return gve_aq_exec(sc, &c);
}

int gve_aq_deconfigure(struct gve_softc *sc)
{
	struct gve_aq_cmd c;
	gve_cmd_init(&c, GVE_AQ_DECONFIGURE_DEVICE_RESOURCES);
	return gve_aq_exec(sc, &c);
}

/* gve_adminq_register_page_list: the list of page addresses is driver
 * memory the device reads during the command */
int gve_aq_register_qpl(struct gve_softc *sc, struct gve_qpl *q)
{
	struct gve_aq_cmd c;
	struct gve_aq_register_page_list *p = (void *)c.payload;
	uint64_t *list = q->list.va;
	int err;

	for (uint32_t i = 0; i < q->npages; i++)
		list[i] = cpu_to_be64(q->pages.iova + (uint64_t)i * PAGE_SIZE);
	gve_cmd_init(&c, GVE_AQ_REGISTER_PAGE_LIST);
	p->page_list_id = cpu_to_be32(q->id);
	p->num_pages = cpu_to_be32(q->npages);
	p->page_address_list_addr = cpu_to_be64(q->list.iova);
	p->page_size = cpu_to_be64(PAGE_SIZE);
	if ((err = gve_aq_exec(sc, &c)))
		return err;
	q->registered = true;
	return GVE_OK;
}

int gve_aq_unregister_qpl(struct gve_softc *sc, struct gve_qpl *q)
{
	struct gve_aq_cmd c;
	struct gve_aq_id *p = (void *)c.payload;
	int err;

	gve_cmd_init(&c, GVE_AQ_UNREGISTER_PAGE_LIST);
	p->id = cpu_to_be32(q->id);
	if ((err = gve_aq_exec(sc, &c)))
		return err;
	q->registered = false;
	return GVE_OK;
}

static void gve_cmd_create_tx(struct gve_softc *sc, struct gve_tx *tx,
			      struct gve_aq_cmd *c)
{
	struct gve_aq_create_tx_queue *p = (void *)c->payload;

	gve_cmd_init(c, GVE_AQ_CREATE_TX_QUEUE);
	p->queue_id = cpu_to_be32(tx->id);
	p->queue_resources_addr = cpu_to_be64(tx->qres.iova);
	p->tx_ring_addr = cpu_to_be64(tx->ring.iova);
	p->ntfy_id = cpu_to_be32(tx->ntfy_id);
	p->tx_ring_size = cpu_to_be16((uint16_t)tx->size);
	p->queue_page_list_id = cpu_to_be32(
	    gve_is_qpl(sc) ? tx->qpl.id : GVE_RAW_ADDRESSING_QPL_ID);
	if (gve_is_dqo(sc)) {
		p->tx_comp_ring_addr = cpu_to_be64(tx->compl .iova);
		p->tx_comp_ring_size = cpu_to_be16((uint16_t)tx->size);
	}
}

static void gve_cmd_create_rx(struct gve_softc *sc, struct gve_rx *rx,
			      struct gve_aq_cmd *c)
{
	struct gve_aq_create_rx_queue *p = (void *)c->payload;

	gve_cmd_init(c, GVE_AQ_CREATE_RX_QUEUE);
	p->queue_id = cpu_to_be32(rx->id);
	p->ntfy_id = cpu_to_be32(rx->ntfy_id);
	p->queue_resources_addr = cpu_to_be64(rx->qres.iova);
	p->rx_ring_size = cpu_to_be16((uint16_t)rx->size);
	p->packet_buffer_size = cpu_to_be16(GVE_BUF_SIZE);
	p->rx_desc_ring_addr = cpu_to_be64(rx->desc.iova);
	p->rx_data_ring_addr = cpu_to_be64(rx->data.iova);
	p->queue_page_list_id = cpu_to_be32(
	    gve_is_qpl(sc) ? rx->qpl.id : GVE_RAW_ADDRESSING_QPL_ID);
	if (gve_is_dqo(sc))
		p->rx_buff_ring_size = cpu_to_be16((uint16_t)rx->size);
	else
		p->index = cpu_to_be32(rx->id);
}

/* gve_adminq_create_{tx,rx}_queues: all TX queues in one batch, then all
 * RX queues in another */
int gve_aq_create_queues(struct gve_softc *sc)
{
	struct gve_aq_cmd c;
	int err;

	for (unsigned i = 0; i < sc->nqueues; i++) {
		gve_cmd_create_tx(sc, &sc->tx[i], &c);
		if ((err = gve_aq_issue(sc, &c)))
			return err;
	}
	if ((err = gve_aq_kick_wait(sc)))
		return err;
	for (unsigned i = 0; i < sc->nqueues; i++) {
		gve_cmd_create_rx(sc, &sc->rx[i], &c);
		if ((err = gve_aq_issue(sc, &c)))
			return err;
	}
	return gve_aq_kick_wait(sc);
}

int gve_aq_destroy_queues(struct gve_softc *sc)
{
	struct gve_aq_cmd c;
	struct gve_aq_id *p = (void *)c.payload;
	int err;

	for (unsigned i = 0; i < sc->nqueues; i++) {
		gve_cmd_init(&c, GVE_AQ_DESTROY_TX_QUEUE);
		p->id = cpu_to_be32(i);
		if ((err = gve_aq_issue(sc, &c)))
			return err;
	}
	if ((err = gve_aq_kick_wait(sc)))
		return err;
	for (unsigned i = 0; i < sc->nqueues; i++) {
		gve_cmd_init(&c, GVE_AQ_DESTROY_RX_QUEUE);
		p->id = cpu_to_be32(i);
		if ((err = gve_aq_issue(sc, &c)))
			return err;
	}
	return gve_aq_kick_wait(sc);
}

/* attach: hand the device the stats report page; detach: take it back */
int gve_aq_report_stats(struct gve_softc *sc, bool attach)
{
	struct gve_aq_cmd c;
	struct gve_aq_report_stats *p = (void *)c.payload;

	gve_cmd_init(&c, GVE_AQ_REPORT_STATS);
	if (attach) {
		memset(sc->stats_buf.va, 0, sc->stats_buf.len);
		p->stats_report_len = cpu_to_be64(sc->stats_buf.len);
		p->stats_report_addr = cpu_to_be64(sc->stats_buf.iova);
	}
	p->interval = cpu_to_be64(GVE_STATS_REPORT_INTERVAL_MS);
	return gve_aq_exec(sc, &c);
}

/* gve_adminq_report_link_speed: the device writes a be64 in Mbit/s. Posted,
 * and taken by gve_aq_link_speed_collect: at bring-up waited for, at run
 * time collected by a later poll (gve_service) */
int gve_aq_link_speed_post(struct gve_softc *sc)
{
	struct gve_aq_cmd c;
	struct gve_aq_report_link_speed *p = (void *)c.payload;
	uint64_t *v = sc->link_buf.va;

	*v = 0;
	gve_cmd_init(&c, GVE_AQ_REPORT_LINK_SPEED);
	p->link_speed_address = cpu_to_be64(sc->link_buf.iova);
	return gve_aq_post(sc, &c);
}

/* GVE_EAGAIN while the device runs it (not `wait`) within its timeout */
int gve_aq_link_speed_collect(struct gve_softc *sc, bool wait)
{
	int err;

	if (!sc->aq_rung)
		return GVE_EINVAL;
	if ((err = gve_aq_wait(sc, wait)))
		return err;
	dma_rmb();
	uint64_t mbps = be64_to_cpu(*(uint64_t *)sc->link_buf.va);
	if (mbps > 10000000ull) { /* 10 Pbit/s: not a link speed */
		kprintf("%s: ignoring link speed %llu Mbit/s\n", sc->name,
			(unsigned long long)mbps);
		mbps = 0;
	}
	sc->link_mbps = (uint32_t)mbps;
	return GVE_OK;
}

int gve_aq_link_speed(struct gve_softc *sc)
{
	int err;

	if ((err = gve_aq_link_speed_post(sc)))
		return err;
	return gve_aq_link_speed_collect(sc, true);
}

/* gve_adminq_get_ptype_map_dqo: 1024 x {l3, l4}. Issued at bring-up as
 * Linux and FreeBSD issue it (the sequence every device has seen); the map
 * itself is not read: capOS offloads no checksum and uses no RSS hash,
 * which is what a packet type would tell it */
int gve_aq_ptype_map(struct gve_softc *sc)
{
	struct gve_aq_cmd c;
	struct gve_aq_get_ptype_map *p = (void *)c.payload;

	gve_cmd_init(&c, GVE_AQ_GET_PTYPE_MAP);
	p->ptype_map_len = cpu_to_be64(GVE_PTYPE_MAP_SIZE);
	p->ptype_map_addr = cpu_to_be64(sc->ptype_buf.iova);
	return gve_aq_exec(sc, &c);
}

/* SET_DRIVER_PARAMETER(MTU) */
int gve_aq_set_mtu(struct gve_softc *sc, uint16_t mtu)
{
	struct gve_aq_cmd c;
	struct gve_aq_set_driver_parameter *p = (void *)c.payload;

	gve_cmd_init(&c, GVE_AQ_SET_DRIVER_PARAMETER);
	p->parameter_type = cpu_to_be32(GVE_PARAM_MTU);
	p->parameter_value = cpu_to_be64(mtu);
	return gve_aq_exec(sc, &c);
}
