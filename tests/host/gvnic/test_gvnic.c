/* tests/host/gvnic/test_gvnic.c — the gVNIC driver core against the software
 * device model: bring-up and teardown in both queue formats and both PCI
 * revisions, frames both ways with every ring, counter and generation bit
 * wrapping, admin errors for each status code, device-initiated resets
 * mid-traffic, and hostile device data for each check of the reference's
 * section 10. Every test ends by asserting the model saw no violation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "drivers/gvnic/gve_var.h"
#include "gvnic_model.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/pci/pci.h"
#include "owner_shim.h"
#include "shim.h"
#include "tests/host/lib/json_check.h"

extern const struct driver gve_driver;

/* the softc under test: `own`, or a gve_pci.c slot's (gve_driver.attach
 * keeps its softcs in a table of its own, never to be freed here) */
static struct gve_softc *sc;
static struct gve_softc *own; /* the one attach() allocated, if any */

/* sc's object of /api/gvnic, checked to be valid JSON: through the
 * registered provider when sc is gve_pci.c's (its array holds every device
 * attached so far: the object named sc's), else written alone */
static char *status_of(bool pci, char *buf, size_t cap)
{
	struct json j;
	json_init(&j, buf, cap);
	if (pci) {
		const struct status_provider *p = status_find("gvnic");
		assert_non_null(p);
		p->fn(&j);
	} else {
		gve_status_obj(sc, &j);
	}
	int n = json_end(&j);
	assert_true(n > 0 && json_valid(buf, (size_t)n));
	char name[32];
	snprintf(name, sizeof(name), "{\"name\":\"%s\"", sc->name);
	char *o = strstr(buf, name);
	assert_non_null(o);
	char *end = strchr(o, '}'); /* the objects are flat */
	assert_non_null(end);
	end[1] = 0;
	return o;
}

/* a fresh model of configuration c, nothing bound yet */
static void model_reset(const struct gvm_config *c)
{
	host_auth_reset();
	gvm_init(c);
}

/* a fresh softc attached to the model as devmgr attaches it */
static int attach(void)
{
	free(own);
	sc = own = calloc(1, sizeof(*own));
	struct gve_grants g = host_gve_grants();
	return gve_attach(sc, &g);
}

static int start(const struct gvm_config *c)
{
	model_reset(c);
	gvm.quiet = false;
	return attach();
}

/* attach()'s softc goes; sc names none */
static void softc_drop(void)
{
	free(own);
	own = sc = NULL;
}

/* the functions gve_driver.attach was called on since the test began */
static struct pci_dev *attached_devs[GVE_MAX_DEVS + 8];
static unsigned attached_n;

/* gve_driver.attach as the device manager calls it, d remembered */
static int pci_attach(struct pci_dev *d, uint16_t owner)
{
	unsigned i = 0;
	while (i < attached_n && attached_devs[i] != d)
		i++;
	if (i == attached_n && attached_n < ARRAY_SIZE(attached_devs))
		attached_devs[attached_n++] = d;
	return gve_driver.attach(d, owner);
}

/* each test's setup: nothing a test before it left, failed or not, is
 * taken for this one's — no device left attached through gve_driver (a
 * failed test's is detached here, quietly: its gve_pci.c slot is free
 * again), no softc (a failed test's sc may be a gve_pci.c slot's: freeing
 * it was ASan's bad-free in the next attach()), no line hook, vectors
 * bindable, no IOMMU translating the model's owner. The model and the
 * authority layer are reset by each test (model_reset) */
static int fresh(void **s)
{
	shim_quiet++;
	for (unsigned i = 0; i < attached_n; i++) {
		const struct gve_softc *g = attached_devs[i]->drv_state;
		if (g && !g->detached)
			(void)gve_driver.detach(attached_devs[i]);
	}
	shim_quiet--;
	attached_n = 0;
	softc_drop();
	shim_line_hook = NULL;
	host_irq_refuse = false;
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
	return 0;
}

/* after gve_detach: what it left, then the softc goes */
static void detached(bool expect_clean)
{
	if (expect_clean) {
		assert_int_equal(host_pools_live(), 0);
		assert_false(gvm.aq_live);
		/* no capability used after it was revoked (a pool revoked
		 * twice, a vector after irq_revoke) */
		assert_int_equal(auth_refusals[AUTH_STALE_GEN], 0);
		/* every vector given back (gve_irqs_revoke) */
		assert_int_equal(host_irqs_bound(), 0);
	}
	if (gvm.violations)
		fail_msg("model violation: %s", gvm.first_violation);
	softc_drop();
}

static void finish(bool expect_clean)
{
	gve_detach(sc);
	detached(expect_clean);
}

static const uint8_t formats[] = {GVE_QF_GQI_QPL, GVE_QF_GQI_RDA,
				  GVE_QF_DQO_RDA, GVE_QF_DQO_QPL};

/* a device that offers `fmt` the way GCE would: its format option (none
 * for GQI_QPL, Linux's default) */
static struct gvm_config cfgf(uint8_t rev, uint8_t fmt)
{
	struct gvm_config c;
	gvm_default_config(&c);
	c.revision = rev;
	c.dqo = fmt == GVE_QF_DQO_RDA;
	c.dqo_qpl = fmt == GVE_QF_DQO_QPL;
	c.gqi_rda = fmt == GVE_QF_GQI_RDA;
	return c;
}

static struct gvm_config cfg(uint8_t rev, bool dqo)
{
	return cfgf(rev, dqo ? GVE_QF_DQO_RDA : GVE_QF_GQI_QPL);
}

static bool fmt_dqo(uint8_t fmt)
{
	return fmt == GVE_QF_DQO_RDA || fmt == GVE_QF_DQO_QPL;
}

static void frame_make(uint8_t *f, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
	memcpy(f, "\x42\x01\x0a\x80\x00\x02\x52\x54\x00\x12\x34\x56\x08\x00",
	       14);
}

/* n frames out and n frames in, lengths cycling 60..1514 */
static void traffic(unsigned n, unsigned seed)
{
	uint8_t f[2048], g[2048];
	for (unsigned i = 0; i < n; i++) {
		size_t len = 60 + ((i + seed) * 337) % (1514 - 60 + 1);
		frame_make(f, len, i + seed);
		assert_int_equal(gve_send(sc, f, len), 0);
		assert_int_equal(gvm_wire_pop(g, sizeof(g)), (int)len);
		assert_memory_equal(f, g, len);
		/* completions are reclaimed by the next recv */
		unsigned q = i % sc->nqueues;
		frame_make(f, len, i + seed + 1000);
		assert_true(gvm_rx_inject(q, f, len));
		int got = gve_recv(sc, g, sizeof(g));
		assert_int_equal(got, (int)len);
		assert_memory_equal(f, g, len);
	}
	assert_int_equal(gve_recv(sc, g, sizeof(g)), 0);
}

/* the admin commands of gve_probe + gve_open, and gve_close +
 * gve_teardown_priv_resources, for a format with two queue pairs */
static unsigned expect_up(uint8_t fmt, uint32_t *ops)
{
	bool qpl = fmt == GVE_QF_GQI_QPL || fmt == GVE_QF_DQO_QPL;
	unsigned n = 0;
	ops[n++] = GVE_AQ_VERIFY_DRIVER_COMPATIBILITY;
	ops[n++] = GVE_AQ_DESCRIBE_DEVICE;
	ops[n++] = GVE_AQ_CONFIGURE_DEVICE_RESOURCES;
	if (fmt_dqo(fmt))
		ops[n++] = GVE_AQ_GET_PTYPE_MAP;
	ops[n++] = GVE_AQ_REPORT_STATS;
	for (int i = 0; qpl && i < 4; i++)
		ops[n++] = GVE_AQ_REGISTER_PAGE_LIST;
	ops[n++] = GVE_AQ_CREATE_TX_QUEUE;
	ops[n++] = GVE_AQ_CREATE_TX_QUEUE;
	ops[n++] = GVE_AQ_CREATE_RX_QUEUE;
	ops[n++] = GVE_AQ_CREATE_RX_QUEUE;
	ops[n++] = GVE_AQ_REPORT_LINK_SPEED;
	return n;
}

static unsigned expect_down(uint8_t fmt, uint32_t *ops)
{
	bool qpl = fmt == GVE_QF_GQI_QPL || fmt == GVE_QF_DQO_QPL;
	unsigned n = 0;
	ops[n++] = GVE_AQ_DESTROY_TX_QUEUE;
	ops[n++] = GVE_AQ_DESTROY_TX_QUEUE;
	ops[n++] = GVE_AQ_DESTROY_RX_QUEUE;
	ops[n++] = GVE_AQ_DESTROY_RX_QUEUE;
	for (int i = 0; qpl && i < 4; i++)
		ops[n++] = GVE_AQ_UNREGISTER_PAGE_LIST;
	ops[n++] = GVE_AQ_REPORT_STATS;
	ops[n++] = GVE_AQ_DECONFIGURE_DEVICE_RESOURCES;
	return n;
}

static void bringup(uint8_t rev, uint8_t fmt)
{
	struct gvm_config c = cfgf(rev, fmt);
	uint32_t ops[32];
	unsigned n;
	assert_int_equal(start(&c), 0);
	assert_int_equal(sc->state, GVE_S_UP);
	assert_int_equal(sc->queue_format, fmt);
	assert_int_equal(gvm.format, fmt);
	assert_int_equal(sc->nqueues, 2);
	assert_string_equal(gvm.version, "GVE-capos-1.0\n");
	assert_true(gvm.aq_live);
	assert_int_equal(gvm.registrations, 1);
	assert_true(sc->nic.link_up || sc->link_up);
	assert_int_equal(sc->link_mbps, 32000);
	assert_int_equal(sc->nic.mtu, 1460);
	assert_memory_equal(sc->nic.mac, "\x42\x01\x0a\x80\x00\x02", 6);
	n = expect_up(fmt, ops);
	assert_int_equal(gvm.noplog, n);
	assert_memory_equal(gvm.oplog, ops, n * 4);
	/* every used block was unmasked at turn-up */
	assert_false(gvm.irq_masked[0]);
	assert_false(gvm.irq_masked[2]);
	traffic(5, 1);
	gvm.noplog = 0;
	finish(true);
	n = expect_down(fmt, ops);
	assert_int_equal(gvm.noplog, n);
	assert_memory_equal(gvm.oplog, ops, n * 4);
	assert_int_equal(gvm.resets, 1);
	if (rev >= 1)
		assert_true(gvm.device_status & GVE_DEVSTAT_DEVICE_IS_RESET);
	else
		assert_int_equal(gvm.pfn, 0);
}

static void wrap(uint8_t fmt);
static void device_reset(uint8_t rev, uint8_t fmt);

/* every queue format x both register revisions: bring-up and teardown
 * with the exact admin-command order, a device-requested reset
 * mid-traffic, and 300 frames each way with every ring wrapping */
static void t_formats_matrix(void **s)
{
	for (unsigned f = 0; f < ARRAY_SIZE(formats); f++)
		for (uint8_t rev = 0; rev < 2; rev++) {
			bringup(rev, formats[f]);
			device_reset(rev, formats[f]);
		}
	for (unsigned f = 0; f < ARRAY_SIZE(formats); f++)
		wrap(formats[f]);
}

/* 300 frames each way on 64-entry rings: the GQI TX ring and its chunk FIFO,
 * the RX ring and its 1..7 sequence, the DQO completion generations all wrap
 * several times */
static void wrap(uint8_t fmt)
{
	struct gvm_config c = cfgf(1, fmt);
	bool dqo = fmt_dqo(fmt);
	assert_int_equal(start(&c), 0);
	traffic(300, 7);
	if (dqo) {
		/* 300 packet completions (+ descriptor ones) on queue 0: the
		 * generation flipped at least four times; 150 per RX queue */
		assert_true(sc->tx[0].packets == 300 && gvm.tx[0].ctail != 0);
		assert_true(sc->rx[0].packets > 2 * sc->rx[0].size);
		assert_true(sc->rx[1].packets > 2 * sc->rx[1].size);
	} else {
		assert_true(sc->tx[0].req > 2 * sc->tx[0].size);
		assert_true(sc->rx[0].cnt > 2 * sc->rx[0].size);
	}
	assert_int_equal(sc->nic.stats.tx_packets, 300);
	assert_int_equal(sc->nic.stats.rx_packets, 300);
	finish(true);
}

/* free-running counters near 2^32: TX descriptors, RX slots, admin queue */
static void t_counter_wrap_gqi(void **s)
{
	struct gvm_config c = cfg(1, false);
	assert_int_equal(start(&c), 0);
	const uint32_t base = 0xfffffff0u;
	for (unsigned q = 0; q < sc->nqueues; q++) {
		struct gve_tx *tx = &sc->tx[q];
		struct gve_rx *rx = &sc->rx[q];
		/* the model has used none of the RX slots: move both sides */
		tx->req = tx->done = base;
		gvm_gqi_set_base(q, base, base, base + rx->size);
		rx->cnt = base;
		rx->fill_cnt = base + rx->size;
		/* descriptors must sit where the counters point */
		uint64_t *slots = rx->data.va;
		for (uint32_t i = 0; i < rx->size; i++)
			slots[(base + i) & rx->mask] = cpu_to_be64(
			    (uint64_t)((base + i) & rx->mask) * 4096);
		gvm_gqi_tx_counter(q, base);
	}
	gvm_aq_set_base(base);
	sc->aq_prod = sc->aq_done = base;
	traffic(80, 3);
	assert_true(sc->tx[0].req < 0x100);
	assert_true(sc->rx[0].cnt < 0x100);
	/* admin commands across the wrap */
	for (int i = 0; i < 20; i++)
		assert_int_equal(gve_aq_link_speed(sc), 0);
	assert_true(sc->aq_prod < 0x100);
	finish(true);
}

/* TX completions arriving late: the ring fills, the driver refuses more,
 * then recovers space once the device completes */
static void tx_full(bool dqo)
{
	struct gvm_config c = cfg(1, dqo);
	uint8_t f[1514], g[2048];
	int sent = 0, r, wire = 0;
	assert_int_equal(start(&c), 0);
	gvm.tx[0].hold_completions = true;
	frame_make(f, sizeof(f), 9);
	while ((r = gve_send(sc, f, sizeof(f))) == 0 && sent < 1000)
		sent++;
	assert_true(sent > 0 && sent < 64);
	/* the full ring takes nothing and drops nothing: NIC_TX_FULL, the
	 * caller holds the frame (kernel/net/nic.h); before, -1 and a drop,
	 * which TCP took as sent and lost */
	assert_int_equal(r, NIC_TX_FULL);
	assert_int_equal(sc->nic.stats.tx_dropped, 0);
	gvm_tx_flush(0);
	assert_int_equal(gve_recv(sc, g, sizeof(g)), 0);
	while (gvm_wire_pop(g, sizeof(g)) > 0)
		wire++;
	assert_int_equal(wire, sent); /* the refused frame never left */
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	assert_int_equal(gvm_wire_pop(g, sizeof(g)), (int)sizeof(f));
	assert_memory_equal(f, g, sizeof(f));
	finish(true);
}
static void t_tx_full_gqi(void **s)
{
	tx_full(false);
}
static void t_tx_full_dqo(void **s)
{
	tx_full(true);
}

/* the device fills every posted RX buffer before the driver polls: the
 * next frame finds no buffer, the driver drains them all, re-posts, and the
 * device has buffers again (DQO: through the every-32 doorbell) */
static void rx_backlog(bool dqo)
{
	struct gvm_config c = cfg(1, dqo);
	uint8_t f[600], b[2048];
	assert_int_equal(start(&c), 0);
	for (int round = 0; round < 3; round++) {
		unsigned n = 0;
		frame_make(f, sizeof(f), (unsigned)round);
		while (gvm_rx_inject(0, f, sizeof(f)))
			n++;
		/* GQI: every slot; DQO: what the doorbell announced, which
		 * moves in steps of 32 */
		if (dqo)
			assert_true(n >= 32 && n <= 63);
		else
			assert_int_equal(n, 64);
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(gve_recv(sc, b, sizeof(b)),
					 (int)sizeof(f));
			assert_memory_equal(b, f, sizeof(f));
		}
		assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	}
	assert_int_equal(gvm.rx_no_buffer, 3);
	finish(true);
}
static void t_rx_backlog_gqi(void **s)
{
	rx_backlog(false);
}
static void t_rx_backlog_dqo(void **s)
{
	rx_backlog(true);
}

/* every admin status code on DESCRIBE_DEVICE: attach fails with the
 * reference's error class, the device is reset, no memory is left */
static void t_admin_status_codes(void **s)
{
	static const struct {
		uint32_t st;
		int err;
	} cases[] = {
	    {GVE_AQ_STATUS_UNSET, GVE_EINVAL},
	    {GVE_AQ_STATUS_ABORTED, GVE_EAGAIN},
	    {GVE_AQ_STATUS_ALREADY_EXISTS, GVE_EINVAL},
	    {GVE_AQ_STATUS_CANCELLED, GVE_EAGAIN},
	    {GVE_AQ_STATUS_DATALOSS, GVE_EAGAIN},
	    {GVE_AQ_STATUS_DEADLINE_EXCEEDED, GVE_ETIME},
	    {GVE_AQ_STATUS_FAILED_PRECONDITION, GVE_EAGAIN},
	    {GVE_AQ_STATUS_INTERNAL_ERROR, GVE_EINVAL},
	    {GVE_AQ_STATUS_INVALID_ARGUMENT, GVE_EINVAL},
	    {GVE_AQ_STATUS_NOT_FOUND, GVE_EINVAL},
	    {GVE_AQ_STATUS_OUT_OF_RANGE, GVE_EINVAL},
	    {GVE_AQ_STATUS_PERMISSION_DENIED, GVE_EACCES},
	    {GVE_AQ_STATUS_UNAUTHENTICATED, GVE_EACCES},
	    {GVE_AQ_STATUS_RESOURCE_EXHAUSTED, GVE_ENOMEM},
	    {GVE_AQ_STATUS_UNAVAILABLE, GVE_EAGAIN},
	    {GVE_AQ_STATUS_UNIMPLEMENTED, GVE_ENOTSUP},
	    {GVE_AQ_STATUS_UNKNOWN_ERROR, GVE_EINVAL},
	    {0x2, GVE_EINVAL},
	    {0x80000000u, GVE_EINVAL},
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gvm_config c = cfg(i & 1, false);
		model_reset(&c);
		gvm.override_op = GVE_AQ_DESCRIBE_DEVICE;
		gvm.override_status = cases[i].st;
		assert_int_equal(attach(), cases[i].err);
		assert_int_equal(sc->aq_last_status, cases[i].st);
		assert_int_equal(sc->state, GVE_S_FAILED);
		assert_int_equal(host_pools_live(), 0);
		assert_false(gvm.aq_live);
		assert_int_equal(gvm.resets, 1);
		if (gvm.violations)
			fail_msg("model violation: %s", gvm.first_violation);
	}
	/* the status on a batched command: the first failure is returned */
	struct gvm_config c = cfg(1, false);
	model_reset(&c);
	gvm.override_op = GVE_AQ_CREATE_RX_QUEUE;
	gvm.override_status = GVE_AQ_STATUS_RESOURCE_EXHAUSTED;
	assert_int_equal(attach(), GVE_ENOMEM);
	assert_int_equal(host_pools_live(), 0);
	/* the failed attach gave its vectors back itself */
	assert_int_equal(host_irqs_bound(), 0);
	finish(true);
}

/* a device without the optional admin commands (gve_aq_optional:
 * VERIFY_DRIVER_COMPATIBILITY, REPORT_STATS, REPORT_LINK_SPEED; each
 * alone, then all three, in both formats): each is sent and answered
 * UNIMPLEMENTED, and the attach comes up with its one line ("gve0:
 * <format>, ... link up"), as on a device that has them, the link speed unknown
 * (0) when the device gives none. A link flap at run time (the speed asked for
 * again) prints the link's own two lines, the detach none; no command counts as
 * failed. Before, each answer printed "unable to <command>: status
 * UNIMPLEMENTED", the stats report and the link speed a second "unable to"
 * line, and the detach another for the stats report */
static void t_optional_commands_lacked(void **s)
{
	static const uint32_t ops[] = {GVE_AQ_VERIFY_DRIVER_COMPATIBILITY,
				       GVE_AQ_REPORT_STATS,
				       GVE_AQ_REPORT_LINK_SPEED};
	const uint32_t all = 1u << ops[0] | 1u << ops[1] | 1u << ops[2];
	uint8_t b[2048];
	for (unsigned k = 0; k < 2 * (ARRAY_SIZE(ops) + 1); k++) {
		struct gvm_config c = cfg(1, k & 1);
		c.lacks = k / 2 < ARRAY_SIZE(ops) ? 1u << ops[k / 2] : all;
		model_reset(&c);
		shim_count_lines("unable");
		uint64_t lines = shim_kprintf_calls;
		assert_int_equal(attach(), 0);
		/* the attach's own line, as on any device */
		if (shim_kprintf_calls - lines != 1 || shim_counted ||
		    !strstr(shim_last_line, ", link up"))
			fail_msg(
			    "lacking %#x: %llu lines, the last: %s", c.lacks,
			    (unsigned long long)(shim_kprintf_calls - lines),
			    shim_last_line);
		lines = shim_kprintf_calls;
		assert_int_equal(sc->state, GVE_S_UP);
		assert_int_equal(
		    sc->link_mbps,
		    c.lacks & 1u << GVE_AQ_REPORT_LINK_SPEED ? 0 : 32000);
		traffic(10, k);
		gvm_set_status(0, GVE_DEVSTAT_LINK_UP);
		gve_recv(sc, b, sizeof(b));
		shim_clock_ns += NIC_LINK_LOG_US * 1000ull;
		gvm_set_status(GVE_DEVSTAT_LINK_UP, 0);
		gve_recv(sc, b, sizeof(b));
		shim_clock_ns += GVE_STATUS_POLL_US * 1000ull;
		gve_recv(sc, b, sizeof(b));
		assert_false(sc->aq_rung);
		assert_true(sc->nic.link_up);
		assert_int_equal(shim_kprintf_calls - lines,
				 2); /* the link's */
		gve_detach(sc);
		assert_int_equal(shim_kprintf_calls - lines, 2);
		assert_int_equal(shim_counted, 0);
		shim_line_hook = NULL;
		assert_int_equal(sc->aq_fail, 0);
		for (unsigned i = 0; i < ARRAY_SIZE(ops); i++) {
			unsigned sent = 0;
			for (unsigned j = 0; j < gvm.noplog; j++)
				sent += gvm.oplog[j] == ops[i];
			assert_true(sent >= 1 + (ops[i] != ops[0]));
		}
		detached(true);
	}
}

/* VERIFY_DRIVER_COMPATIBILITY refused with another status fails the
 * attach */
static void t_verify_compat(void **s)
{
	struct gvm_config c = cfg(1, false);
	model_reset(&c);
	gvm.override_op = GVE_AQ_VERIFY_DRIVER_COMPATIBILITY;
	gvm.override_status = GVE_AQ_STATUS_PERMISSION_DENIED;
	assert_int_equal(attach(), GVE_EACCES);
	finish(true);
}

/* the admin queue never completes: timeout, reset, nothing left */
static void t_admin_timeout(void **s)
{
	struct gvm_config c = cfg(1, true);
	model_reset(&c);
	gvm.stall = true;
	uint64_t t0 = shim_clock_ns;
	assert_int_equal(attach(), GVE_ETIMEDOUT);
	/* the reference's 100 x 20 ms */
	assert_true(shim_clock_ns - t0 >= 2000000000ull);
	assert_int_equal(sc->aq_timeouts, 1);
	finish(true);
}

/* A device that answers every admin command of the attach just before
 * its 2 s timeout: the attach's admin waits share GVE_ATTACH_AQ_BUDGET_US,
 * and a device that spends it fails the attach, released, nothing kept
 * (before: 9 to 14 doorbells of 1.95 s each, the attach succeeded after
 * 13.7 to 23.5 s of boot). One that answers in 100 ms still attaches. */
static void t_attach_slow_admin_bounded(void **s)
{
	for (unsigned k = 0; k < ARRAY_SIZE(formats); k++) {
		struct gvm_config c = cfgf(k & 1, formats[k]);
		model_reset(&c);
		gvm.quiet = true;
		gvm.aq_delay_ns = 1950000000ull;
		uint64_t t0 = shim_clock_ns;
		int err = attach();
		uint64_t us = (shim_clock_ns - t0) / 1000;
		if (us > GVE_ATTACH_AQ_BUDGET_US + GVE_RELEASE_WAIT_MAX_US +
			     GVE_ADMINQ_POLL_US)
			fail_msg("%s: attach took %llu ms (err %d), past the "
				 "%llu ms budget and a release",
				 gve_format_name(formats[k]),
				 (unsigned long long)(us / 1000), err,
				 (unsigned long long)(GVE_ATTACH_AQ_BUDGET_US /
						      1000));
		assert_int_equal(err, GVE_ETIMEDOUT);
		assert_int_equal(sc->state, GVE_S_FAILED);
		assert_false(gvm.aq_live);
		gvm.aq_delay_ns = 0;
		finish(true);
		model_reset(&c);
		gvm.quiet = true;
		gvm.aq_delay_ns = 100000000ull;
		assert_int_equal(attach(), GVE_OK);
		gvm.aq_delay_ns = 0;
		finish(true);
	}
}

/* a device that answers every admin command just before its timeout at
 * detach: the teardown (queues, page lists, stats report, resources:
 * some eight doorbells) waits GVE_DETACH_AQ_BUDGET_US in all, then the
 * release resets the device and every pool and vector goes back. Before,
 * the detach had no budget: each command its own 2 s, ~16 s in all on
 * the kernel's exit path, before the release's own wait */
static void t_detach_slow_admin_bounded(void **s)
{
	for (unsigned k = 0; k < ARRAY_SIZE(formats); k++) {
		struct gvm_config c = cfgf(k & 1, formats[k]);
		assert_int_equal(start(&c), 0);
		gvm.quiet = true;
		traffic(5, k);
		gvm.aq_delay_ns = 1950000000ull;
		uint64_t t0 = shim_clock_ns;
		gve_detach(sc);
		uint64_t us = (shim_clock_ns - t0) / 1000;
		if (us > GVE_DETACH_AQ_BUDGET_US + GVE_RELEASE_WAIT_MAX_US +
			     GVE_ADMINQ_POLL_US)
			fail_msg("%s: detach took %llu ms, past the %llu ms "
				 "budget and a release",
				 gve_format_name(formats[k]),
				 (unsigned long long)(us / 1000),
				 (unsigned long long)(GVE_DETACH_AQ_BUDGET_US /
						      1000));
		assert_false(sc->memory_held);
		gvm.aq_delay_ns = 0;
		detached(true);
	}
}

/* a bogus event counter is refused */
static void t_admin_counter_hostile(void **s)
{
	struct gvm_config c = cfg(1, false);
	model_reset(&c);
	gvm.bogus_counter = 1;
	assert_int_equal(attach(), GVE_EDEVICE);
	assert_true(sc->hostile >= 1);
	finish(true);
	/* at run time: the next command sees it, the driver resets */
	assert_int_equal(start(&c), 0);
	gvm.bogus_counter = 1;
	assert_int_equal(gve_aq_link_speed(sc), GVE_EDEVICE);
	uint8_t b[2048];
	gve_recv(sc, b, sizeof(b));
	assert_int_equal(sc->resets, 1);
	assert_int_equal(sc->state, GVE_S_UP);
	traffic(3, 5);
	finish(true);
}

/* an event counter refused while the driver waits on the last command of
 * bring-up, REPORT_LINK_SPEED, whose own failure gve_up only logs: the
 * refusal asked for a reset, so the attach fails as a recovery would, the
 * device released and nothing kept (the reset_wanted check after gve_up;
 * without it the attach came up with the reset it asked for dropped) */
static void t_admin_counter_hostile_link_speed(void **s)
{
	for (unsigned k = 0; k < ARRAY_SIZE(formats); k++) {
		struct gvm_config c = cfgf(k & 1, formats[k]);
		model_reset(&c);
		gvm.bogus_counter_op = GVE_AQ_REPORT_LINK_SPEED;
		assert_int_equal(attach(), GVE_EDEVICE);
		assert_int_equal(gvm.bogus_counter_op, GVM_NO_OVERRIDE);
		assert_int_equal(gvm.bogus_counter, 0);
		assert_int_equal(sc->hostile, 1);
		assert_int_equal(sc->state, GVE_S_FAILED);
		assert_false(sc->reset_wanted);
		assert_false(gvm.aq_live);
		finish(true);
	}
}

/* an event counter that counts a command complete before the doorbell
 * named it: the command never ran and its status is UNSET. A single
 * command (VERIFY_DRIVER_COMPATIBILITY at attach, REPORT_LINK_SPEED at run
 * time) and one inside a batch (the first CREATE_TX_QUEUE, seen when the
 * second is issued) are refused, not taken as done. REPORT_LINK_SPEED at
 * attach is the last command of bring-up: refused there, the attach fails
 * as the recovery does (before, the attach cleared the reset the refusal
 * asked for and came up with commands outstanding, its "resetting" line
 * followed by no reset and no later command) */
static void t_admin_counter_early(void **s)
{
	static const uint32_t ops[] = {GVE_AQ_VERIFY_DRIVER_COMPATIBILITY,
				       GVE_AQ_CREATE_TX_QUEUE,
				       GVE_AQ_REPORT_LINK_SPEED};
	for (unsigned i = 0; i < ARRAY_SIZE(ops); i++) {
		struct gvm_config c = cfg(i & 1, i == 1);
		model_reset(&c);
		gvm.aq_early_op = ops[i];
		assert_int_equal(attach(), GVE_EDEVICE);
		assert_int_equal(gvm.aq_early_op, GVM_NO_OVERRIDE);
		assert_true(sc->hostile >= 1);
		assert_int_equal(sc->state, GVE_S_FAILED);
		finish(true);
	}
	struct gvm_config c = cfg(1, false);
	assert_int_equal(start(&c), 0);
	/* at run time, posted at the line of a link coming up */
	uint8_t b[2048];
	gvm.aq_early_op = GVE_AQ_REPORT_LINK_SPEED;
	gvm_set_status(0, GVE_DEVSTAT_LINK_UP);
	gve_recv(sc, b, sizeof(b));
	shim_clock_ns += NIC_LINK_LOG_US * 1000ull;
	gvm_set_status(GVE_DEVSTAT_LINK_UP, 0);
	gve_recv(sc, b, sizeof(b));
	assert_int_equal(gvm.aq_early_op, GVM_NO_OVERRIDE);
	assert_int_equal(sc->hostile, 1);
	assert_int_equal(sc->resets, 1);
	assert_int_equal(sc->state, GVE_S_UP);
	traffic(3, 6);
	finish(true);
}

/* the device asks for a reset mid-traffic: the driver releases (handshake),
 * re-registers, rebuilds its queues and carries on */
static void device_reset(uint8_t rev, uint8_t fmt)
{
	struct gvm_config c = cfgf(rev, fmt);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	traffic(20, 2);
	/* a frame in flight is lost with the reset */
	gvm.tx[0].hold_completions = true;
	frame_make(b, 100, 1);
	assert_int_equal(gve_send(sc, b, 100), 0);
	gvm_set_status(GVE_DEVSTAT_RESET, 0);
	assert_true(sc->mgmt_pending);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_int_equal(sc->device_resets, 1);
	assert_int_equal(sc->resets, 1);
	assert_int_equal(gvm.resets, 1);
	assert_int_equal(gvm.registrations, 2);
	assert_int_equal(sc->state, GVE_S_UP);
	while (gvm_wire_pop(b, sizeof(b)) > 0)
		;
	traffic(40, 9);
	finish(true);
}
/* a hostile value at run time: an error line, a reset, and traffic again */
static void recover_after(void)
{
	uint8_t b[2048];
	gve_recv(sc, b, sizeof(b));
	assert_int_equal(sc->resets, 1);
	assert_int_equal(sc->state, GVE_S_UP);
	assert_true(sc->hostile >= 1);
	while (gvm_wire_pop(b, sizeof(b)) > 0)
		;
	traffic(10, 4);
	finish(true);
}

static void t_hostile_gqi_tx_counter(void **s)
{
	struct gvm_config c = cfg(1, false);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	traffic(3, 1);
	gvm_gqi_tx_counter(0, sc->tx[0].req + 5); /* more than was posted */
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_true(sc->reset_wanted || sc->resets == 1);
	recover_after();
}

static void gqi_rx_len(uint16_t len)
{
	struct gvm_config c = cfg(1, false);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	gvm_gqi_rx_raw(0, len, 0);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_int_equal(sc->nic.stats.rx_packets, 0);
	recover_after();
}
static void t_hostile_gqi_rx_len_short(void **s)
{
	gqi_rx_len(1);
}
static void t_hostile_gqi_rx_len_long(void **s)
{
	gqi_rx_len(2049);
}

static void t_gqi_rx_err_and_frag(void **s)
{
	struct gvm_config c = cfg(1, false);
	uint8_t b[2048], f[200];
	assert_int_equal(start(&c), 0);
	gvm_gqi_rx_raw(0, 100, GVE_RXF_ERR);	  /* error flag: dropped */
	gvm_gqi_rx_raw(0, 100, GVE_RXF_PKT_CONT); /* multi-part: dropped */
	gvm_gqi_rx_raw(0, 100, 0);
	gvm_gqi_rx_raw(0, 10, 0); /* runt: dropped */
	frame_make(f, 200, 3);
	assert_true(gvm_rx_inject(0, f, 200));
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 200);
	assert_memory_equal(b, f, 200);
	assert_int_equal(sc->nic.stats.rx_errors, 2);
	assert_int_equal(sc->nic.stats.rx_dropped, 1);
	assert_int_equal(sc->resets, 0);
	finish(true);
}

/* GQI RX lengths at their bounds: GVE_RX_PAD alone (an empty frame) is a
 * receive error, GVE_RX_BUFFER_SIZE (a full buffer) a frame; neither is
 * hostile. The byte counters count frame bytes, pad not included */
static void t_gqi_rx_len_bounds(void **s)
{
	struct gvm_config c = cfg(1, false);
	uint8_t b[2048], f[100];
	assert_int_equal(start(&c), 0);
	gvm_gqi_rx_raw(0, GVE_RX_PAD, 0);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_int_equal(sc->nic.stats.rx_errors, 1);
	gvm_gqi_rx_raw(0, GVE_RX_BUFFER_SIZE, 0);
	assert_int_equal(gve_recv(sc, b, sizeof(b)),
			 GVE_RX_BUFFER_SIZE - GVE_RX_PAD);
	assert_int_equal(sc->rx[0].bytes, GVE_RX_BUFFER_SIZE - GVE_RX_PAD);
	assert_int_equal(sc->resets, 0);
	assert_int_equal(sc->hostile, 0);
	frame_make(f, sizeof(f), 5);
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	assert_int_equal(sc->tx[0].packets, 1);
	assert_int_equal(sc->tx[0].bytes, sizeof(f));
	finish(true);
}

/* DQO RX frames the driver does not deliver (a runt of 13 bytes, one over
 * the caller's buffer) are counted errors, recv returning 0 for them, and
 * the next good frame is delivered whole */
static void t_dqo_rx_err(void **s)
{
	struct gvm_config c = cfg(1, true);
	uint8_t b[2048], f[200];
	assert_int_equal(start(&c), 0);
	frame_make(f, 200, 4);
	assert_true(gvm_rx_inject(0, f, 13));
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_true(gvm_rx_inject(0, f, 200));
	assert_int_equal(gve_recv(sc, b, 199), 0);
	assert_int_equal(sc->nic.stats.rx_errors, 2);
	assert_int_equal(sc->nic.stats.rx_packets, 0);
	assert_true(gvm_rx_inject(0, f, 14));
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 14);
	assert_true(gvm_rx_inject(0, f, 200));
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 200);
	assert_memory_equal(b, f, 200);
	assert_int_equal(sc->resets, 0);
	finish(true);
}

/* gve_send's frame bounds: 14 bytes (a bare Ethernet header) up to
 * GVE_MTU + 18 (header and a VLAN tag); one byte either side is dropped */
static void t_send_len_bounds(void **s)
{
	for (int dqo = 0; dqo < 2; dqo++) {
		struct gvm_config c = cfg(1, dqo);
		uint8_t f[GVE_MTU + 19], g[2048];
		assert_int_equal(start(&c), 0);
		frame_make(f, sizeof(f), 9);
		assert_int_equal(gve_send(sc, f, 13), -1);
		assert_int_equal(gve_send(sc, f, GVE_MTU + 19), -1);
		assert_int_equal(sc->nic.stats.tx_dropped, 2);
		assert_int_equal(gve_send(sc, f, 14), 0);
		assert_int_equal(gvm_wire_pop(g, sizeof(g)), 14);
		assert_int_equal(gve_send(sc, f, GVE_MTU + 18), 0);
		assert_int_equal(gvm_wire_pop(g, sizeof(g)), GVE_MTU + 18);
		assert_memory_equal(f, g, GVE_MTU + 18);
		finish(true);
	}
}

/* a reset the driver wants (here set as a refused value would set it) is
 * done by the next send, which then sends: not a dropped frame */
static void t_send_resets_first(void **s)
{
	struct gvm_config c = cfg(1, false);
	uint8_t f[100], g[2048];
	assert_int_equal(start(&c), 0);
	sc->reset_wanted = true;
	frame_make(f, sizeof(f), 2);
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	assert_int_equal(sc->resets, 1);
	assert_int_equal(sc->state, GVE_S_UP);
	assert_int_equal(gvm_wire_pop(g, sizeof(g)), sizeof(f));
	assert_int_equal(sc->nic.stats.tx_dropped, 0);
	finish(true);
}

/* gve_recv takes RX queues round robin: a busy queue does not starve the
 * next one */
static void t_rx_round_robin(void **s)
{
	for (int dqo = 0; dqo < 2; dqo++) {
		struct gvm_config c = cfg(1, dqo);
		uint8_t f[3][100], g[2048];
		assert_int_equal(start(&c), 0);
		assert_int_equal(sc->nqueues, 2);
		for (int i = 0; i < 3; i++) {
			frame_make(f[i], 100, 20 + i);
			assert_true(gvm_rx_inject(i == 2, f[i], 100));
		}
		static const int order[] = {0, 2, 1};
		for (int i = 0; i < 3; i++) {
			assert_int_equal(gve_recv(sc, g, sizeof(g)), 100);
			assert_memory_equal(g, f[order[i]], 100);
		}
		assert_int_equal(gve_recv(sc, g, sizeof(g)), 0);
		finish(true);
	}
}

static void t_hostile_dqo_tx_head(void **s)
{
	struct gvm_config c = cfg(1, true);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	traffic(3, 1);
	gvm_dqo_tx_raw(0, GVE_COMPL_TYPE_DQO_DESC, 40); /* never posted */
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	recover_after();
}

static void dqo_tx_tag(unsigned type, uint16_t tag)
{
	struct gvm_config c = cfg(1, true);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	traffic(3, 1);
	gvm_dqo_tx_raw(0, type, tag);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	recover_after();
}
static void t_hostile_dqo_tag_range(void **s)
{
	dqo_tx_tag(GVE_COMPL_TYPE_DQO_PKT, 5000);
}
static void t_hostile_dqo_tag_idle(void **s)
{
	dqo_tx_tag(GVE_COMPL_TYPE_DQO_PKT, 3); /* in range, not outstanding */
}
static void t_hostile_dqo_tag_alt_miss(void **s)
{
	dqo_tx_tag(GVE_COMPL_TYPE_DQO_PKT, 0x8000 | 0);
}
static void t_hostile_dqo_compl_type(void **s)
{
	dqo_tx_tag(0, 0);
}

static void dqo_rx_bad(uint16_t id, uint16_t len, bool bufq1, bool split)
{
	struct gvm_config c = cfg(1, true);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	gvm_dqo_rx_raw(0, id, len, bufq1, split);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_int_equal(sc->nic.stats.rx_packets, 0);
	recover_after();
}
static void t_hostile_dqo_rx_buf_id(void **s)
{
	dqo_rx_bad(900, 100, 0, 0);
}
static void t_hostile_dqo_rx_unposted(void **s)
{
	/* every buffer is posted in steady state; take one back on the
	 * driver's side (as between a completion and its re-post) and have
	 * the device complete it */
	struct gvm_config c = cfg(1, true);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	struct gve_rx *rx = &sc->rx[0];
	assert_int_equal(rx->posted_cnt, rx->mask);
	rx->posted[7] = 0;
	rx->posted_cnt--;
	rx->buf_free[rx->nbuf_free++] = 7;
	gvm_dqo_rx_raw(0, 7, 100, 0, 0);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	recover_after();
}
/* a buffer the driver wrote to the buffer queue past its last doorbell
 * (rung every 32 buffers) was never handed to the device: a completion
 * naming it is refused. Taken, the driver re-posts it and the next doorbell
 * hands the device one buffer in two slots */
static void t_hostile_dqo_rx_unrung(void **s)
{
	for (int k = 0; k < 2; k++) {
		struct gvm_config c =
		    cfgf(1, k ? GVE_QF_DQO_QPL : GVE_QF_DQO_RDA);
		uint8_t b[2048];
		assert_int_equal(start(&c), 0);
		struct gve_rx *rx = &sc->rx[0];
		assert_int_equal(rx->bufq_tail, 63); /* rung at 32 */
		uint16_t id =
		    ((const struct gve_rx_buf_desc_dqo *)rx->data.va)[49]
			.buf_id;
		gvm_dqo_rx_raw(0, id, 100, 0, 0);
		assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
		assert_int_equal(sc->nic.stats.rx_packets, 0);
		recover_after();
	}
}
static void t_hostile_dqo_rx_len(void **s)
{
	dqo_rx_bad(0, 4000, 0, 0);
}
static void t_hostile_dqo_rx_bufq(void **s)
{
	dqo_rx_bad(0, 100, 1, 0);
}
static void t_hostile_dqo_rx_split(void **s)
{
	dqo_rx_bad(0, 100, 0, 1);
}

/* values the device hands back at bring-up: refused, device reset, no
 * memory left behind */
static void attach_refused(struct gvm_config *c, int err)
{
	model_reset(c);
	assert_int_equal(attach(), err);
	assert_int_equal(sc->state, GVE_S_FAILED);
	finish(true);
}

static void t_hostile_irq_db_index(void **s)
{
	struct gvm_config c = cfg(1, false);
	model_reset(&c);
	gvm.irq_db_override = 4096; /* BAR2 holds 1024 doorbells */
	assert_int_equal(attach(), GVE_EDEVICE);
	finish(true);
}

static void t_hostile_queue_db_index(void **s)
{
	struct gvm_config c = cfg(1, true);
	model_reset(&c);
	gvm.db_override = 0x40000000u;
	assert_int_equal(attach(), GVE_EDEVICE);
	assert_int_equal(auth_refusals[AUTH_OUT_OF_WINDOW], 0);
	finish(true);
}

static void t_hostile_counter_index(void **s)
{
	struct gvm_config c = cfg(0, false);
	model_reset(&c);
	gvm.counter_override = 16; /* num_counters is 16 */
	assert_int_equal(attach(), GVE_EDEVICE);
	finish(true);
}

static void t_hostile_descriptor_fields(void **s)
{
	struct gvm_config c = cfg(1, false);
	c.mtu = 67;
	attach_refused(&c, GVE_EDEVICE);
	c = cfg(1, false);
	c.tx_entries = 48;
	attach_refused(&c, GVE_EDEVICE);
	c = cfg(1, false);
	c.rx_entries = 0;
	attach_refused(&c, GVE_EDEVICE);
	c = cfg(1, false);
	c.counters = 0;
	attach_refused(&c, GVE_EDEVICE);
	c = cfg(1, false);
	c.max_queues = 0;
	attach_refused(&c, GVE_EDEVICE);
	c = cfg(1, false);
	c.msix = 2;
	attach_refused(&c, GVE_EINVAL);
	c = cfg(1, false);
	c.max_registered_pages = 10; /* page lists do not fit */
	attach_refused(&c, GVE_ENOMEM);
	c = cfg(1, true);
	c.tx_entries = 32; /* DQO needs room for report-event spacing */
	attach_refused(&c, GVE_EINVAL);
	c = cfg(1, true);
	c.rx_entries = 32; /* and more buffers than the doorbell threshold */
	attach_refused(&c, GVE_EINVAL);
}

/* hand-built descriptors: total_length and the option chain */
static uint8_t dbuf[4096];
static size_t desc_build(uint16_t total, uint16_t nopts, const uint8_t *opts,
			 size_t olen)
{
	struct gve_device_descriptor *d = (void *)dbuf;
	memset(dbuf, 0, sizeof(dbuf));
	d->max_registered_pages = cpu_to_be64(1024);
	d->tx_queue_entries = cpu_to_be16(64);
	d->rx_queue_entries = cpu_to_be16(64);
	d->mtu = cpu_to_be16(1460);
	d->counters = cpu_to_be16(16);
	d->tx_pages_per_qpl = cpu_to_be16(4);
	memcpy(d->mac, "\x42\x01\x0a\x80\x00\x02", 6);
	d->num_device_options = cpu_to_be16(nopts);
	d->total_length = cpu_to_be16(total);
	if (olen)
		memcpy(dbuf + 40, opts, olen);
	return sizeof(dbuf);
}

static int attach_with_desc(void)
{
	struct gvm_config c = cfg(1, true);
	model_reset(&c);
	gvm.desc_override = dbuf;
	gvm.desc_override_len = sizeof(dbuf);
	return attach();
}

static void t_hostile_options(void **s)
{
	/* total_length beyond the 4096 bytes offered */
	desc_build(5000, 0, NULL, 0);
	assert_int_equal(attach_with_desc(), GVE_EDEVICE);
	finish(true);
	/* total_length shorter than the descriptor */
	desc_build(20, 0, NULL, 0);
	assert_int_equal(attach_with_desc(), GVE_EDEVICE);
	finish(true);
	/* an option whose length runs past total_length */
	static const uint8_t o1[] = {0, 4, 0, 40, 0, 0, 0, 0};
	desc_build(48 + 8, 1, o1, sizeof(o1));
	assert_int_equal(attach_with_desc(), GVE_EDEVICE);
	finish(true);
	/* more options than fit */
	static const uint8_t o2[] = {0, 4, 0, 8, 0, 0, 0, 0,
				     0, 0, 0, 0, 0, 0, 0, 0};
	desc_build(40 + 16, 3, o2, sizeof(o2));
	assert_int_equal(attach_with_desc(), GVE_EDEVICE);
	finish(true);
	/* a DQO_RDA option with a required feature the driver does not know
	 * is ignored: GQI_QPL is used */
	static const uint8_t o3[] = {0, 4, 0, 8, 0, 0, 0, 1,
				     0, 0, 0, 0, 0, 0, 0, 0};
	desc_build(40 + 16, 1, o3, sizeof(o3));
	assert_int_equal(attach_with_desc(), 0);
	assert_int_equal(sc->queue_format, GVE_QF_GQI_QPL);
	finish(true);
	/* an unknown id is skipped, DQO_RDA after it is taken */
	static const uint8_t o4[] = {0, 0x55, 0, 3, 0, 0, 0, 0, 1, 2,
				     3, 0,    4, 0, 8, 0, 0, 0, 0, 0,
				     0, 0,    0, 0, 0, 0, 0, 0};
	desc_build(40 + sizeof(o4), 2, o4, sizeof(o4));
	assert_int_equal(attach_with_desc(), 0);
	assert_int_equal(sc->queue_format, GVE_QF_DQO_RDA);
	finish(true);
	/* a multicast MAC is refused */
	desc_build(40, 0, NULL, 0);
	dbuf[24] = 0x01;
	assert_int_equal(attach_with_desc(), GVE_EDEVICE);
	finish(true);
}

static void t_option_priority(void **s)
{
	struct gvm_config c = cfg(1, true);
	c.gqi_qpl_opt = true;
	c.gqi_rda = true;
	c.unknown_opt = true;
	c.short_opt = true; /* a DQO_RDA too short to count, then a real one */
	assert_int_equal(start(&c), 0);
	assert_int_equal(sc->queue_format, GVE_QF_DQO_RDA);
	finish(true);
	/* gve_adminq_describe_device's priority, one pair at a time: DQO_RDA
	 * over DQO_QPL, DQO_QPL over GQI_RDA, GQI_RDA over GQI_QPL, the
	 * legacy raw-addressing option means GQI_RDA, and no format option
	 * at all means GQI_QPL */
	static const struct {
		bool dqo, dqo_qpl, gqi_rda, raw, gqi_qpl;
		uint8_t want;
	} pri[] = {
	    {1, 1, 1, 0, 1, GVE_QF_DQO_RDA}, {0, 1, 1, 0, 1, GVE_QF_DQO_QPL},
	    {0, 0, 1, 0, 1, GVE_QF_GQI_RDA}, {0, 0, 0, 1, 1, GVE_QF_GQI_RDA},
	    {0, 0, 0, 0, 1, GVE_QF_GQI_QPL}, {0, 0, 0, 0, 0, GVE_QF_GQI_QPL},
	    {0, 1, 0, 0, 0, GVE_QF_DQO_QPL},
	};
	for (unsigned i = 0; i < ARRAY_SIZE(pri); i++) {
		c = cfg(i & 1, false);
		c.dqo = pri[i].dqo;
		c.dqo_qpl = pri[i].dqo_qpl;
		c.gqi_rda = pri[i].gqi_rda;
		c.raw_addressing = pri[i].raw;
		c.gqi_qpl_opt = pri[i].gqi_qpl;
		assert_int_equal(gvm_expected_format(&c), pri[i].want);
		assert_int_equal(start(&c), 0);
		assert_int_equal(sc->queue_format, pri[i].want);
		traffic(3, i);
		finish(true);
	}
	/* DQO_QPL's page count: 0 means DQO_QPL_DEFAULT_TX_PAGES; a smaller
	 * one bounds the TX buffers (one 2 KiB buffer per completion tag) */
	c = cfgf(1, GVE_QF_DQO_QPL);
	assert_int_equal(start(&c), 0);
	assert_int_equal(sc->dqo_qpl_tx_pages, GVE_DQO_QPL_DEFAULT_TX_PAGES);
	finish(true);
	c = cfgf(1, GVE_QF_DQO_QPL);
	c.dqo_qpl_tx_pages = 4;
	assert_int_equal(start(&c), 0);
	assert_int_equal(sc->tx[0].qpl.npages, 4);
	assert_int_equal(sc->tx[0].ntags, 8);
	traffic(40, 2);
	finish(true);
	/* modify ring: 1024-entry defaults come down to 256 */
	c = cfg(1, true);
	c.modify_ring = true;
	c.tx_entries = c.rx_entries = 1024;
	assert_int_equal(start(&c), 0);
	assert_int_equal(sc->tx_entries, GVE_RING_PREF);
	assert_int_equal(gvm.tx[0].size, GVE_RING_PREF);
	traffic(10, 1);
	finish(true);
	/* jumbo MTU, larger buffers offered, and a descriptor whose
	 * rx_pages_per_qpl is below the RX ring: the driver asks the device
	 * for 1500, creates its RX queue with 2048-byte buffers (the model
	 * refuses any other size) and registers a page per RX ring entry
	 * (the model refuses fewer); traffic flows */
	c = cfg(1, false);
	c.gqi_qpl_opt =
	    true; /* the feature mask comes from the format option */
	c.jumbo = true;
	c.buffer_sizes = true;
	c.mtu = 8896;
	c.rx_pages_per_qpl = 8;
	assert_int_equal(start(&c), 0);
	assert_int_equal(sc->queue_format, GVE_QF_GQI_QPL);
	assert_int_equal(gvm.mtu_set, GVE_MTU);
	assert_int_equal(sc->nic.mtu, GVE_MTU);
	assert_int_equal(sc->rx[0].qpl.npages, sc->rx_entries);
	traffic(5, 1);
	finish(true);
	/* default_num_queues limits the queue count */
	c = cfg(1, false);
	c.default_num_queues = 1;
	c.msix = 9;
	c.max_queues = 4;
	assert_int_equal(start(&c), 0);
	assert_int_equal(sc->nqueues, 1);
	assert_int_equal(sc->nblocks, 8); /* gve_init_priv: (9 - 1) & ~1 */
	assert_int_equal(sc->rx[0].ntfy_id, 4);
	traffic(5, 2);
	finish(true);
}

/* VERIFY_DRIVER_COMPATIBILITY: what the driver says about itself, and
 * every answer handled as gve_init_priv does: UNIMPLEMENTED is fine, any
 * other failure fails the attach with the status's error class */
static void t_verify_compat_answers(void **s)
{
	struct gvm_config c = cfg(1, false);
	assert_int_equal(start(&c), 0);
	const struct gve_driver_info *info = (const void *)gvm.driver_info;
	assert_int_equal(info->os_type, GVE_OS_TYPE_LINUX);
	assert_int_equal(info->driver_major, GVE_DRIVER_MAJOR);
	assert_int_equal(be64_to_cpu(info->driver_capability_flags[0]),
			 (1u << GVE_CAP_GQI_QPL) | (1u << GVE_CAP_GQI_RDA) |
			     (1u << GVE_CAP_DQO_RDA) |
			     (1u << GVE_CAP_ALT_MISS_COMPL));
	assert_string_equal((const char *)info->os_version_str1, "capOS");
	assert_string_equal((const char *)info->os_version_str2,
			    GVE_VERSION_STR);
	finish(true);
	for (uint32_t st = GVE_AQ_STATUS_ABORTED; st != 0; st++) {
		c = cfg(st & 1, st & 2);
		model_reset(&c);
		gvm.override_op = GVE_AQ_VERIFY_DRIVER_COMPATIBILITY;
		gvm.override_status = st;
		int err = attach();
		if (st == GVE_AQ_STATUS_UNIMPLEMENTED) {
			assert_int_equal(err, 0);
			finish(true);
			continue;
		}
		assert_int_equal(err, gve_aq_status_err(st));
		assert_int_equal(sc->state, GVE_S_FAILED);
		/* the attach stopped there: no DESCRIBE_DEVICE */
		assert_int_equal(gvm.noplog, 1);
		finish(true);
	}
}

/* GQI TX as gve_tx_add_skb_copy lays out a linear frame: one descriptor,
 * the whole frame its segment, at a 64-byte aligned FIFO offset; a frame
 * that would not fit before the end of the FIFO starts at 0; space comes
 * back as completions arrive. The expected offsets are computed here from
 * Linux's rule (gve_tx_fifo_pad_alloc_one_frag, gve_tx_alloc_fifo). */
static void t_gqi_tx_layout(void **s)
{
	static const size_t lens[] = {60, 182, 183, 1514, 1000, 64, 1514};
	uint8_t f[1514], g[2048];
	for (int k = 0; k < 2; k++) {
		uint8_t fmt = k ? GVE_QF_GQI_RDA : GVE_QF_GQI_QPL;
		struct gvm_config c = cfgf(1, fmt);
		assert_int_equal(start(&c), 0);
		struct gve_tx *tx = &sc->tx[0];
		const struct gve_tx_desc_gqi *ring = tx->ring.va;
		uint32_t size = tx->qpl.npages * 4096, head = 0, wraps = 0;
		gvm.tx[0].hold_completions = true;
		int r;
		for (unsigned i = 0;; i++) {
			size_t len = lens[i % ARRAY_SIZE(lens)];
			frame_make(f, len, i);
			if ((r = gve_send(sc, f, len)))
				break;
			const struct gve_tx_desc_gqi *d =
			    &ring[(tx->req - 1) & tx->mask];
			uint64_t a = be64_to_cpu(d->seg_addr);
			uint64_t off =
			    fmt == GVE_QF_GQI_QPL ? a : a - tx->qpl.pages.iova;
			uint32_t want = head + len < size ? head : 0;
			wraps += want == 0 && head != 0;
			assert_int_equal(d->type_flags, GVE_TXD_STD);
			assert_int_equal(d->desc_cnt, 1);
			assert_int_equal(be16_to_cpu(d->len), len);
			assert_int_equal(be16_to_cpu(d->seg_len), len);
			assert_int_equal(off, want);
			head = ALIGN_UP(want + (uint32_t)len, 64u) % size;
			assert_int_equal(gvm_wire_pop(g, sizeof(g)), (int)len);
			assert_memory_equal(f, g, len);
			assert_true(i < 1000);
		}
		/* the FIFO (or the ring) was full; the frame was refused,
		 * not dropped: the caller holds it */
		assert_int_equal(r, NIC_TX_FULL);
		assert_int_equal(sc->nic.stats.tx_dropped, 0);
		assert_true(tx->fifo_avail < 1514 + 64 ||
			    tx->req - tx->done == tx->size);
		gvm_tx_flush(0);
		gve_recv(sc, g, sizeof(g));
		assert_int_equal(tx->fifo_avail, size);
		/* and again, across the end of the FIFO */
		for (unsigned i = 0; i < 3 * size / 1536; i++) {
			frame_make(f, 1514, i);
			assert_int_equal(gve_send(sc, f, 1514), 0);
			assert_int_equal(gvm_wire_pop(g, sizeof(g)), 1514);
			gvm_tx_flush(0);
			gve_recv(sc, g, sizeof(g));
		}
		assert_true(wraps + 1 >= 1);
		finish(true);
	}
}

/* the DQO miss path, as gve_clean_tx_done_dqo: a miss completion (or a
 * packet completion with GVE_ALT_MISS_COMPL_BIT) parks the tag; the
 * re-injection completion frees it; a packet completion for a parked tag
 * is ignored; with no re-injection completion the tag times out after
 * GVE_REINJECT_COMPL_TIMEOUT_S (the packet counts as dropped) and stays
 * quarantined for GVE_DEALLOCATE_COMPL_TIMEOUT_S. Without the timeout a
 * device that never re-injects would take every tag and stop transmit. */
/* the completion tag of the last frame sent: index and generation */
static uint16_t last_tag(void)
{
	const struct gve_tx_desc_dqo *ring = sc->tx[0].ring.va;
	return ring[(sc->tx[0].tail - 1) & sc->tx[0].mask].compl_tag;
}

static void t_dqo_miss_path(void **s)
{
	uint8_t f[200], g[2048];
	for (int k = 0; k < 2; k++) {
		struct gvm_config c =
		    cfgf(k, k ? GVE_QF_DQO_QPL : GVE_QF_DQO_RDA);
		assert_int_equal(start(&c), 0);
		struct gve_tx *tx = &sc->tx[0];
		gvm.tx[0].hold_completions = true;
		frame_make(f, sizeof(f), 1);
		/* miss, a stray packet completion, then re-injection */
		assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
		uint16_t t = last_tag();
		gvm_dqo_tx_raw(0, GVE_COMPL_TYPE_DQO_MISS, t);
		gve_recv(sc, g, sizeof(g));
		assert_int_equal(tx->tag_state[gve_tag_idx(tx, t)],
				 GVE_TAG_MISS);
		gvm_dqo_tx_raw(0, GVE_COMPL_TYPE_DQO_PKT, t);
		gve_recv(sc, g, sizeof(g));
		assert_int_equal(tx->tag_state[gve_tag_idx(tx, t)],
				 GVE_TAG_MISS);
		assert_int_equal(tx->unexpected, 1);
		/* as many more as the device likes: counted, no more lines
		 * (before, one line each) */
		uint64_t lines = shim_kprintf_calls;
		for (unsigned i = 0; i < 500; i++) {
			gvm_dqo_tx_raw(0,
				       i & 1 ? GVE_COMPL_TYPE_DQO_PKT
					     : GVE_COMPL_TYPE_DQO_MISS,
				       t);
			gve_recv(sc, g, sizeof(g));
		}
		assert_int_equal(tx->unexpected, 501);
		assert_int_equal(shim_kprintf_calls, lines);
		gvm_dqo_tx_raw(0, GVE_COMPL_TYPE_DQO_REINJECTION, t);
		gve_recv(sc, g, sizeof(g));
		assert_int_equal(tx->tag_state[gve_tag_idx(tx, t)],
				 GVE_TAG_FREE);
		/* the alternate miss completion, never re-injected */
		assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
		t = last_tag();
		gvm_dqo_tx_raw(0, GVE_COMPL_TYPE_DQO_PKT,
			       (uint16_t)(t | GVE_ALT_MISS_COMPL_BIT));
		gve_recv(sc, g, sizeof(g));
		assert_int_equal(tx->tag_state[gve_tag_idx(tx, t)],
				 GVE_TAG_MISS);
		shim_clock_ns +=
		    GVE_REINJECT_COMPL_TIMEOUT_S * 1000000000ull - 1000000ull;
		gve_recv(sc, g, sizeof(g));
		assert_int_equal(tx->tag_state[gve_tag_idx(tx, t)],
				 GVE_TAG_MISS);
		shim_clock_ns += 2000000ull;
		gve_recv(sc, g, sizeof(g));
		assert_int_equal(tx->tag_state[gve_tag_idx(tx, t)],
				 GVE_TAG_TIMED_OUT);
		assert_int_equal(tx->timed_out, 1);
		assert_int_equal(sc->nic.stats.tx_dropped, 1);
		/* a re-injection after the timeout frees it at once */
		gvm_dqo_tx_raw(0, GVE_COMPL_TYPE_DQO_REINJECTION, t);
		gve_recv(sc, g, sizeof(g));
		assert_int_equal(tx->tag_state[gve_tag_idx(tx, t)],
				 GVE_TAG_FREE);
		/* every tag missed and never re-injected: transmit stops ... */
		unsigned n = 0;
		while (gve_send(sc, f, sizeof(f)) == 0) {
			gvm_dqo_tx_raw(0, GVE_COMPL_TYPE_DQO_MISS, last_tag());
			gve_recv(sc, g, sizeof(g));
			assert_true(++n <= tx->ntags);
		}
		assert_int_equal(n, tx->ntags);
		assert_int_equal(tx->ntag_free, 0);
		/* ... until the timeout, and the tags stay quarantined ... */
		shim_clock_ns +=
		    (GVE_REINJECT_COMPL_TIMEOUT_S + 1) * 1000000000ull;
		lines = shim_kprintf_calls;
		gve_recv(sc, g, sizeof(g));
		assert_int_equal(tx->timed_out, 1 + n);
		/* the first timeout of the bring-up had its line: these are
		 * counted (before, a line per tag) */
		assert_int_equal(shim_kprintf_calls, lines);
		assert_int_equal(gve_send(sc, f, sizeof(f)), NIC_TX_FULL);
		/* ... for GVE_DEALLOCATE_COMPL_TIMEOUT_S; the device dropped
		 * those packets, so it holds none of their tags */
		shim_clock_ns += GVE_DEALLOCATE_COMPL_TIMEOUT_S * 1000000000ull;
		memset(gvm.tx[0].inflight, 0, sizeof(gvm.tx[0].inflight));
		gve_recv(sc, g, sizeof(g));
		assert_int_equal(tx->ntag_free, tx->ntags);
		assert_int_equal(tx->nmissed, 0);
		gvm.tx[0].hold_completions = false;
		while (gvm_wire_pop(g, sizeof(g)) > 0)
			;
		traffic(20, 5);
		assert_int_equal(sc->resets, 0);
		finish(true);
	}
}

/* a packet completion counted twice: the tag it names was freed by the
 * first and, once every other tag had a turn (oldest freed first), handed
 * to the next frame, which the device still holds. The tag's generation
 * moved on when it was freed, so the copy names a use no longer
 * outstanding and is refused (before, it completed the new frame, whose
 * buffer the next send would have overwritten under the device) */
static void t_hostile_dqo_tag_twice(void **s)
{
	uint8_t f[200], g[2048];
	for (int k = 0; k < 2; k++) {
		struct gvm_config c =
		    cfgf(1, k ? GVE_QF_DQO_QPL : GVE_QF_DQO_RDA);
		assert_int_equal(start(&c), 0);
		struct gve_tx *tx = &sc->tx[0];
		frame_make(f, sizeof(f), 1);
		assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
		uint16_t first = last_tag();
		assert_int_equal(gve_recv(sc, g, sizeof(g)), 0); /* completed */
		for (uint32_t n = 1; n < tx->ntags; n++) {
			assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
			assert_int_not_equal(gve_tag_idx(tx, last_tag()),
					     gve_tag_idx(tx, first));
			assert_int_equal(gve_recv(sc, g, sizeof(g)), 0);
		}
		while (gvm_wire_pop(g, sizeof(g)) > 0)
			;
		gvm.tx[0].hold_completions = true;
		assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
		uint16_t second = last_tag();
		uint32_t i = gve_tag_idx(tx, second);
		assert_int_equal(gve_tag_idx(tx, first), i); /* reused */
		assert_int_not_equal(first, second);
		gvm_dqo_tx_raw(0, GVE_COMPL_TYPE_DQO_PKT, first); /* a copy */
		assert_int_equal(gve_recv(sc, g, sizeof(g)), 0);
		assert_int_equal(sc->hostile, 1);
		assert_int_equal(tx->tag_state[i], GVE_TAG_SENT);
		recover_after();
	}
}

/* A packet completion the device kept from an earlier use of a tag, sent
 * while the tag is out again. It is refused unless the tag value came
 * round to the same one: with the generation in 4 bits and the last tag
 * freed reused first, that was 16 sends, one at a time (a copy of the
 * completion of frame 1 completed frame 17 while the device held it, and
 * frame 18 was written into its buffer). Now the index takes the bits
 * ntags needs and the generation the rest of GVE_TAG_BITS, and tags go
 * round oldest first, so one frame at a time comes back to a tag value
 * only after ntags << (GVE_TAG_BITS - tag_idx_bits) sends (31744 here,
 * 64-entry rings), the most 15 bits can tell apart. A device that means
 * harm needs no kept copy: it reads each tag in its descriptor, and a
 * completion it forges for a use still out only frees that buffer early,
 * a buffer of its own data pool, the next frame written into it. */
static void t_hostile_dqo_tag_stale(void **s)
{
	uint8_t f[200], g[2048];
	for (int k = 0; k < 2; k++) {
		struct gvm_config c =
		    cfgf(1, k ? GVE_QF_DQO_QPL : GVE_QF_DQO_RDA);
		assert_int_equal(start(&c), 0);
		struct gve_tx *tx = &sc->tx[0];
		frame_make(f, sizeof(f), 1);
		assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
		uint16_t first = last_tag();
		assert_int_equal(gve_recv(sc, g, sizeof(g)), 0);
		/* the first frame's index out for the 17th time */
		for (uint32_t n = 1; n < 16 * tx->ntags; n++) {
			assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
			assert_int_equal(gve_recv(sc, g, sizeof(g)), 0);
			assert_true(gvm_wire_pop(g, sizeof(g)) > 0);
		}
		gvm.tx[0].hold_completions = true;
		assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
		uint16_t held = last_tag();
		uint32_t i = gve_tag_idx(tx, held);
		assert_int_equal(gve_tag_idx(tx, first), i);
		/* the completion kept from the first use */
		gvm_dqo_tx_raw(0, GVE_COMPL_TYPE_DQO_PKT, first);
		assert_int_equal(gve_recv(sc, g, sizeof(g)), 0);
		assert_int_equal(sc->hostile, 1);
		assert_int_equal(tx->tag_state[i], GVE_TAG_SENT);
		recover_after();
	}
	/* the bound: one frame at a time, the first frame's tag value comes
	 * back at send ntags << (GVE_TAG_BITS - tag_idx_bits), no sooner */
	struct gvm_config c = cfgf(1, GVE_QF_DQO_RDA);
	assert_int_equal(start(&c), 0);
	struct gve_tx *tx = &sc->tx[0];
	uint32_t period = tx->ntags << (GVE_TAG_BITS - tx->tag_idx_bits);
	assert_int_equal(tx->ntags, 31); /* 64-entry rings */
	assert_int_equal(period, 31u << 10);
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	uint16_t first = last_tag();
	assert_int_equal(gve_recv(sc, g, sizeof(g)), 0);
	uint32_t n = 1;
	for (;; n++) {
		assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
		assert_int_equal(gve_recv(sc, g, sizeof(g)), 0);
		assert_true(gvm_wire_pop(g, sizeof(g)) > 0);
		if (last_tag() == first || n > period)
			break;
	}
	assert_int_equal(n, period);
	assert_int_equal(sc->hostile, 0);
	finish(true);
}

/* tx_head is the last descriptor fetched plus one, so a report-event on
 * the last slot reports the ring size: Linux masks it (hw_tx_head is used
 * as (tail - head) & mask); anything above the ring size is refused */
static void t_dqo_tx_head_ring_size(void **s)
{
	for (int k = 0; k < 2; k++) {
		struct gvm_config c =
		    cfgf(1, k ? GVE_QF_DQO_QPL : GVE_QF_DQO_RDA);
		assert_int_equal(start(&c), 0);
		/* put the report-event requests on slots 31 and 63 */
		sc->tx[0].last_re = 63;
		traffic(100, 3);
		assert_int_equal(sc->resets, 0);
		assert_int_equal(sc->hostile, 0);
		if (k) {
			finish(true);
			continue;
		}
		gvm_dqo_tx_raw(0, GVE_COMPL_TYPE_DQO_DESC,
			       (uint16_t)(sc->tx[0].size + 1));
		uint8_t b[2048];
		assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
		recover_after();
	}
}

/* Linux's interrupt layout with more than four blocks: (vectors - 1) & ~1
 * blocks, the management vector right after them, TX queue i on block i
 * and RX queue i on block N/2 + i; more vectors than GVE_MAX_NTFY_BLKS + 1
 * as when Linux gets fewer than it asked for */
static void t_interrupt_layout(void **s)
{
	static const struct {
		unsigned msix, blocks;
	} cases[] = {{17, 16}, {8, 6}, {200, GVE_MAX_NTFY_BLKS}};
	uint8_t f[100], b[2048];
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++)
		for (int dqo = 0; dqo < 2; dqo++) {
			struct gvm_config c = cfg(1, dqo);
			c.msix = cases[i].msix;
			c.max_queues = 4;
			assert_int_equal(start(&c), 0);
			unsigned nb = cases[i].blocks;
			assert_int_equal(sc->nblocks, nb);
			assert_int_equal(gvm.num_irq_dbs, nb);
			assert_int_equal(sc->nqueues, GVE_MAX_QUEUES);
			assert_int_equal(sc->rx[1].ntfy_id, nb / 2 + 1);
			assert_true(sc->mgmt.bound);
			assert_int_equal(sc->mgmt.irq.msix_index, nb);
			frame_make(f, sizeof(f), i);
			assert_true(gvm_rx_inject(1, f, sizeof(f)));
			assert_int_equal(host_irq_count(nb / 2 + 1), 1);
			assert_int_equal(gve_recv(sc, b, sizeof(b)),
					 (int)sizeof(f));
			gvm_set_status(GVE_DEVSTAT_REPORT_STATS, 0);
			assert_int_equal(host_irq_count(nb), 1);
			assert_true(sc->mgmt_pending);
			traffic(10, i);
			finish(true);
		}
}

/* DQO blocks mask themselves when they fire: a second event before the
 * driver re-enables raises nothing, and is delivered on the re-enable */
static void t_dqo_irq_automask(void **s)
{
	uint8_t f[100], b[2048];
	struct gvm_config c = cfg(1, true);
	assert_int_equal(start(&c), 0);
	unsigned blk = sc->rx[0].ntfy_id;
	frame_make(f, sizeof(f), 1);
	assert_true(gvm_rx_inject(0, f, sizeof(f)));
	assert_int_equal(sc->blocks[blk].interrupts, 1);
	assert_true(gvm.irq_masked[blk]);
	assert_true(gvm_rx_inject(0, f, sizeof(f)));
	assert_int_equal(sc->blocks[blk].interrupts, 1);
	assert_true(gvm.irq_pending[blk]);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), (int)sizeof(f));
	assert_int_equal(sc->blocks[blk].interrupts, 2);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), (int)sizeof(f));
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	finish(true);
}

/* a general context descriptor before a packet, as Linux sends one: the
 * device takes it and the packet after it */
static void t_dqo_ctx_desc(void **s)
{
	uint8_t f[300], g[2048];
	struct gvm_config c = cfg(1, true);
	assert_int_equal(start(&c), 0);
	struct gve_tx *tx = &sc->tx[0];
	struct gve_tx_desc_dqo *d =
	    &((struct gve_tx_desc_dqo *)tx->ring.va)[tx->tail];
	memset(d, 0, sizeof(*d));
	d->dtype_flags = GVE_TX_GENERAL_CTX_DESC_DTYPE_DQO;
	tx->tail = (tx->tail + 1) & tx->mask;
	frame_make(f, sizeof(f), 4);
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	assert_int_equal(gvm.ctx_descs, 1);
	assert_int_equal(gvm_wire_pop(g, sizeof(g)), (int)sizeof(f));
	assert_memory_equal(f, g, sizeof(f));
	traffic(5, 1);
	finish(true);
}

extern bool (*host_pci_poller)(void);
extern bool host_pci_mem, host_pci_bus_master;
extern unsigned host_pci_nics_removed, host_pci_enables;

/* the driver's detach (devmgr_shutdown) on a gVNIC up and carrying
 * traffic: the NIC unregistered first, the device reset (its admin queue
 * released), every vector and pool given back, the function off the bus,
 * no line; a send and a recv after it refused with nothing reaching the
 * device; a second detach changes nothing. Before, gve_driver had no
 * detach and the device kept its rings live as the kernel left */
static void t_pci_detach_checks(struct pci_dev *d)
{
	struct gve_softc *g = d->drv_state;
	uint8_t f[200], b[2048];
	assert_non_null(gve_driver.detach);
	unsigned removed = host_pci_nics_removed;
	uint64_t lines = shim_kprintf_calls;
	assert_int_equal(gve_driver.detach(d), 0);
	assert_int_equal(shim_kprintf_calls - lines, 0);
	assert_int_equal(host_pci_nics_removed, removed + 1);
	assert_false(gvm.aq_live);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(host_irqs_bound(), 0);
	assert_false(host_pci_mem || host_pci_bus_master);
	unsigned tx = gvm_wire_count();
	frame_make(f, sizeof(f), 9);
	assert_int_equal(g->nic.send(&g->nic, f, sizeof(f)), -1);
	assert_int_equal(g->nic.recv(&g->nic, b, sizeof(b)), 0);
	assert_false(host_pci_poller());
	assert_int_equal(gvm_wire_count(), tx);
	unsigned en = host_pci_enables;
	assert_int_equal(gve_driver.detach(d), 0);
	assert_int_equal(shim_kprintf_calls - lines, 0);
	assert_int_equal(host_pci_nics_removed, removed + 1);
	assert_int_equal(host_pci_enables, en);
	assert_int_equal(auth_refusals[AUTH_STALE_GEN], 0);
	if (gvm.violations)
		fail_msg("model violation: %s", gvm.first_violation);
}

/* the BAR windows through the PCI attachment (pci_attach) on a
 * function described as the device is: BAR0 registers, BAR1 the MSI-X
 * table and PBA, BAR2 doorbells. The doorbell window is all of BAR2 (here
 * 2 MiB, doorbells at its top); BAR1 is never granted; a device whose
 * MSI-X table or PBA sits in BAR2 gets no doorbell window and no attach. */
static void t_pci_windows(void **s)
{
	static struct pci_dev d;
	struct gvm_config c = cfg(1, false);
	struct dev_mmio m;
	c.db_len = 2u << 20;
	c.db_high = true;
	model_reset(&c);
	gvm_pci_dev(&d);
	assert_int_equal(pci_attach(&d, GVM_OWNER), 0);
	assert_true(host_pci_mem && host_pci_bus_master);
	sc = d.drv_state;
	assert_int_equal(sc->g.db.len, 2u << 20);
	assert_true(sc->tx[0].db_index > (1u << 20) / 4);
	assert_string_equal(d.state, "gve0 gqi-qpl");
	/* its main-loop work says "idle", so the loop may halt with a
	 * gVNIC bound (a plain poller would keep the vCPU spinning) */
	assert_non_null(host_pci_poller);
	assert_false(host_pci_poller());
	traffic(10, 1);
	assert_int_equal(
	    mmio_grant(&d, GVM_OWNER, GVE_MSIX_BAR, 0, 0x1000, MMIO_READ, &m),
	    -1);
	t_pci_detach_checks(&d);
	sc = NULL;
	for (int pba = 0; pba < 2; pba++) {
		c = cfg(1, false);
		if (pba)
			c.msix_pba_bar = GVE_DB_BAR, c.msix_pba_off = 0xff8;
		else
			c.msix_table_bar = GVE_DB_BAR, c.msix_table_off = 0x800;
		model_reset(&c);
		gvm_pci_dev(&d);
		assert_int_equal(pci_attach(&d, GVM_OWNER), -1);
		assert_int_equal(auth_refusals[AUTH_NOT_GRANTED], 1);
		assert_false(gvm.aq_live);
		assert_int_equal(gvm.registrations, 0);
		assert_int_equal(host_pools_live(), 0);
		/* a failed attach leaves the function off the bus */
		assert_false(host_pci_mem || host_pci_bus_master);
		assert_string_equal(d.state, "failed");
	}
	/* not the owner */
	c = cfg(1, false);
	model_reset(&c);
	gvm_pci_dev(&d);
	assert_int_equal(pci_attach(&d, GVM_OWNER + 1), -1);
	assert_int_equal(gvm.registrations, 0);
	assert_false(host_pci_mem || host_pci_bus_master);
}

/* the core's attach fails (the device reports no queues): nothing of
 * the driver's stays, and the function is left with bus mastering and
 * memory decoding off */
static void t_pci_attach_fails_off_bus(void **s)
{
	static struct pci_dev d;
	struct gvm_config c = cfg(1, false);
	model_reset(&c);
	gvm.cfg.max_queues = 0;
	gvm_pci_dev(&d);
	assert_int_equal(pci_attach(&d, GVM_OWNER), -1);
	assert_int_equal(host_pools_live(), 0);
	assert_false(host_pci_mem || host_pci_bus_master);
	assert_string_equal(d.state, "failed");
}

/* the driver's detach on a device whose reset never completes: the
 * release waits its bound and no longer, one line, the memory stays
 * granted, the function off the bus, -1 (devmgr: fenced); again on a
 * second call, with no second line or wait */
static void t_pci_detach_reset_never_completes(void **s)
{
	static struct pci_dev d;
	struct gvm_config c = cfg(1, false);
	/* the core's attach, as gve_driver's would do it: its slots (two) are
	 * the other t_pci tests' */
	assert_int_equal(start(&c), 0);
	gvm_pci_dev(&d);
	d.drv_state = sc;
	gvm.reset_never = true;
	uint64_t t0 = shim_clock_ns, lines = shim_kprintf_calls;
	assert_non_null(gve_driver.detach);
	assert_int_equal(gve_driver.detach(&d), -1);
	uint64_t waited_ms = (shim_clock_ns - t0) / 1000000;
	/* the release waits its full bound for the reset, no less */
	assert_true(waited_ms >= GVE_RELEASE_POLLS * GVE_ADMINQ_POLL_US / 1000);
	assert_true(waited_ms <=
		    GVE_RELEASE_POLLS * GVE_ADMINQ_POLL_US / 1000 + 1000);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "no reset after"));
	assert_non_null(strstr(shim_last_line, "DMA memory stays granted"));
	assert_true(sc->memory_held);
	assert_int_equal(host_pools_live(), 2);
	assert_int_equal(host_irqs_bound(), 0);
	assert_false(host_pci_mem || host_pci_bus_master);
	t0 = shim_clock_ns;
	assert_int_equal(gve_driver.detach(&d), -1);
	assert_int_equal(shim_clock_ns, t0);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_int_equal(host_pools_live(), 2);
	detached(false); /* what it left is checked above */
}

/* gve_driver.detach on the core's softc (its PCI slots are the other
 * t_pci tests'): the answer, the lines it printed, and the refusals */
static int pci_detach(struct pci_dev *d, uint64_t *lines, uint64_t *refused)
{
	uint64_t l = shim_kprintf_calls, r = shim_refusals();
	int ret = gve_driver.detach(d);
	*lines = shim_kprintf_calls - l;
	*refused = shim_refusals() - r;
	return ret;
}

/* a DMA fault revoked the owner of a gVNIC up and carrying traffic
 * (auth_owner_revoke: bus mastering off, the pools seized and parked, the
 * windows and vectors revoked): the detach asks nothing of the device
 * through windows it no longer holds (no refusal counted, the model sees
 * no refused access, no admin-queue wait), leaves the parked pools parked
 * (the device never confirmed a release: the page hook says whether it
 * still holds a ring there), one line, 1 (stopped, not confirmed); twice,
 * the same, no second line. Before: the queue teardown and the release
 * ran through refused windows and waited for them */
static void t_pci_detach_owner_revoked(void **s)
{
	static struct pci_dev d;
	struct gvm_config c = cfg(1, false);
	assert_int_equal(start(&c), 0);
	gvm_pci_dev(&d);
	d.drv_state = sc;
	traffic(10, 1);
	assert_true(auth_owner_revoke(GVM_OWNER, "DMA fault") >= 1);
	host_pci_bus_master = false; /* owner_stop_device */
	unsigned parked = shim_pools_parked(GVM_OWNER);
	uint64_t lines, refused, t0 = shim_clock_ns;
	assert_int_equal(pci_detach(&d, &lines, &refused), 1);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(shim_last_line, "revoked"));
	assert_int_equal(refused, 0);
	assert_true(shim_clock_ns - t0 < 1000000ull);
	assert_int_equal(shim_pools_parked(GVM_OWNER), parked);
	assert_int_equal(host_irqs_bound(), 0);
	assert_false(host_pci_mem || host_pci_bus_master);
	assert_int_equal(pci_detach(&d, &lines, &refused), 1);
	assert_int_equal(lines, 0);
	assert_int_equal(refused, 0);
	if (gvm.violations)
		fail_msg("model violation: %s", gvm.first_violation);
	assert_int_equal(auth_owner_reinstate(GVM_OWNER), 0);
	softc_drop();
}

/* quarantined by the IOMMU, the safe point not reached: the windows and
 * vectors are still the driver's, so the detach runs as always — queues
 * destroyed, the admin queue released (the reset seen), every pool
 * unmapped and given back, 0, no line, nothing refused */
static void t_pci_detach_owner_quarantined(void **s)
{
	static struct pci_dev d;
	struct gvm_config c = cfg(1, false);
	shim_iommu_owner = GVM_OWNER;
	shim_iommu_quarantined = false;
	assert_int_equal(start(&c), 0);
	gvm_pci_dev(&d);
	d.drv_state = sc;
	unsigned iommu_bad = shim_iommu_violations;
	shim_iommu_fault();
	host_pci_bus_master = false;
	uint64_t lines, refused;
	assert_int_equal(pci_detach(&d, &lines, &refused), 0);
	assert_int_equal(lines, 0);
	assert_int_equal(refused, 0);
	assert_false(gvm.aq_live);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(shim_iommu_violations, iommu_bad);
	assert_int_equal(host_irqs_bound(), 0);
	assert_false(host_pci_mem || host_pci_bus_master);
	detached(false); /* what it left is checked above */
}

/* detached in the middle of a reset's backoff (GVE_S_RESETTING: the
 * device released, owning nothing of ours): nothing more is asked of the
 * device, every pool and vector goes back, 0, no line */
static void t_pci_detach_mid_reset(void **s)
{
	static struct pci_dev d;
	struct gvm_config c = cfg(1, true);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	gvm_pci_dev(&d);
	d.drv_state = sc;
	gvm_set_status(GVE_DEVSTAT_RESET, 0);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	gvm_set_status(GVE_DEVSTAT_RESET, 0);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_int_equal(sc->state, GVE_S_RESETTING);
	uint64_t lines, refused;
	assert_int_equal(pci_detach(&d, &lines, &refused), 0);
	assert_int_equal(lines, 0);
	assert_int_equal(refused, 0);
	assert_false(gvm.aq_live);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(host_irqs_bound(), 0);
	assert_false(host_pci_mem || host_pci_bus_master);
	/* the backoff's end brings nothing back */
	shim_clock_ns += 2 * GVE_RESET_BACKOFF_US * 1000;
	assert_false(host_pci_poller());
	gve_service(sc);
	assert_false(gvm.aq_live);
	assert_int_equal(pci_detach(&d, &lines, &refused), 0);
	assert_int_equal(lines, 0);
	detached(false); /* what it left is checked above */
}

/* given up at run time because device_status read all ones (its memory
 * held: what the device owns cannot be told): the detach keeps every
 * pool granted, -1 (fenced), one line and no wait, the same on a second
 * call */
static void t_pci_detach_after_gone(void **s)
{
	static struct pci_dev d;
	struct gvm_config c = cfg(1, false);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	gvm_pci_dev(&d);
	d.drv_state = sc;
	gvm.device_status = GVE_DEVSTAT_GONE;
	shim_clock_ns += (GVE_STATUS_POLL_US + 1) * 1000;
	(void)gve_recv(sc, b, sizeof(b));
	gve_service(sc);
	assert_int_equal(sc->state, GVE_S_FAILED);
	assert_true(sc->memory_held);
	unsigned live = host_pools_live();
	uint64_t lines, refused, t0 = shim_clock_ns;
	assert_int_equal(pci_detach(&d, &lines, &refused), -1);
	/* a device reading all ones confirms no release: not waited for
	 * (before, the release polled it GVE_RELEASE_POLLS times, 10 s) */
	assert_true(shim_clock_ns - t0 < 1000000ull);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(shim_last_line, "status reads all ones"));
	assert_int_equal(refused, 0);
	assert_int_equal(host_pools_live(), live);
	assert_int_equal(host_irqs_bound(), 0);
	assert_false(host_pci_mem || host_pci_bus_master);
	assert_int_equal(pci_detach(&d, &lines, &refused), -1);
	assert_int_equal(lines, 0);
	assert_int_equal(host_pools_live(), live);
	detached(false); /* what it left is checked above */
}

/* a device the core gives up at run time (here: device_status reads all
 * ones) through the PCI glue: gve_pci_bus_stop tells the device manager
 * once, naming the function and the owner it was attached under, so the
 * supervisor can restart it; a second service call tells it nothing more */
static void t_pci_give_up_tells_devmgr(void **s)
{
	static struct pci_dev d;
	extern unsigned shim_devmgr_failed;
	extern uint16_t shim_devmgr_failed_owner;
	extern const char *shim_devmgr_failed_why;
	uint8_t b[2048];
	struct gvm_config c = cfg(1, false);
	model_reset(&c);
	gvm_pci_dev(&d);
	d.drv_state = NULL;
	d.owner = GVM_OWNER;
	assert_int_equal(pci_attach(&d, GVM_OWNER), 0);
	sc = d.drv_state;
	traffic(3, 0);
	unsigned told = shim_devmgr_failed;
	gvm.device_status = GVE_DEVSTAT_GONE;
	shim_clock_ns += (GVE_STATUS_POLL_US + 1) * 1000;
	(void)gve_recv(sc, b, sizeof(b));
	gve_service(sc);
	assert_int_equal(sc->state, GVE_S_FAILED);
	assert_int_equal(shim_devmgr_failed, told + 1);
	assert_int_equal(shim_devmgr_failed_owner, GVM_OWNER);
	assert_string_equal(shim_devmgr_failed_why, "gVNIC gave the device up");
	shim_clock_ns += (GVE_STATUS_POLL_US + 1) * 1000;
	(void)gve_recv(sc, b, sizeof(b));
	gve_service(sc);
	assert_int_equal(shim_devmgr_failed, told + 1);
	uint64_t lines, refused;
	assert_int_equal(pci_detach(&d, &lines, &refused), -1);
	sc = NULL;
}

/* given up because device_status read all ones, then back by the
 * detach: the release it confirms gives the memory back after all (the
 * device reset owns nothing), no line */
static void t_detach_gone_then_back(void **s)
{
	struct gvm_config c = cfg(1, false);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	gvm.device_status = GVE_DEVSTAT_GONE;
	shim_clock_ns += (GVE_STATUS_POLL_US + 1) * 1000;
	(void)gve_recv(sc, b, sizeof(b));
	assert_int_equal(sc->state, GVE_S_FAILED);
	assert_true(sc->memory_held);
	gvm.device_status = GVE_DEVSTAT_LINK_UP;
	uint64_t lines = shim_kprintf_calls;
	gve_detach(sc);
	assert_int_equal(shim_kprintf_calls - lines, 0);
	assert_false(sc->memory_held);
	detached(true);
}

/* the devices /api/gvnic lists: gve_pci.c's slots taken */
static unsigned gvnic_listed(void)
{
	static char buf[1 << 16];
	struct json j;
	const struct status_provider *p = status_find("gvnic");
	assert_non_null(p);
	json_init(&j, buf, sizeof(buf));
	p->fn(&j);
	int n = json_end(&j);
	assert_true(n > 0 && json_valid(buf, (size_t)n));
	unsigned k = 0;
	for (const char *o = buf; (o = strstr(o, "{\"name\":\"gve")); o++)
		k++;
	return k;
}

/* a failed attach keeps no slot of the GVE_MAX_DEVS: more failures than
 * there are slots, each at the core (no queues) or at the BARs, and the
 * device table is as it was, each failure is named after the same free
 * slot, and none is refused as one device too many. A device the kernel
 * keeps after a failure at run time (gve_fail) keeps its slot on purpose:
 * it stays attached, its NIC registered and its memory_held said in
 * /api/gvnic until the kernel's orderly exit detaches it (gve_driver's
 * detach, devmgr_shutdown), which frees the slot for the next attach
 * (t_pci_rebind_reuses_slot) */
static void t_pci_failed_attach_keeps_no_slot(void **s)
{
	static struct pci_dev d;
	unsigned before = gvnic_listed();
	assert_true(before < GVE_MAX_DEVS);
	char name[16];
	snprintf(name, sizeof(name), "gve%u: unable", before);
	for (unsigned i = 0; i < 2 * GVE_MAX_DEVS + 1; i++) {
		struct gvm_config c = cfg(1, false);
		if (i % 2) { /* the MSI-X table in the doorbell BAR */
			c.msix_table_bar = GVE_DB_BAR;
			c.msix_table_off = 0x800;
		}
		model_reset(&c);
		if (!(i % 2)) /* the core finds no queues */
			gvm.cfg.max_queues = 0;
		gvm_pci_dev(&d);
		assert_int_equal(pci_attach(&d, GVM_OWNER), -1);
		assert_null(strstr(shim_last_line, "devices already"));
		assert_non_null(strstr(shim_last_line, name));
		assert_int_equal(gvnic_listed(), before);
		assert_int_equal(host_pools_live(), 0);
		assert_string_equal(d.state, "failed");
	}
}

/* unbind and rebind, as the device manager does them (gve_driver's
 * detach, then its attach on the same function): each attach takes the
 * slot the detach freed, under the same name, and carries traffic; the
 * detached device is no longer listed in /api/gvnic. Before, a detached
 * slot stayed taken, so the rebind after GVE_MAX_DEVS - 1 of them was
 * refused ("devices already") and the gVNIC was gone for good */
static void t_pci_rebind_reuses_slot(void **s)
{
	static struct pci_dev d;
	extern unsigned host_pci_nics;
	unsigned before = gvnic_listed(), listed[2], nics = host_pci_nics;
	assert_true(before < GVE_MAX_DEVS);
	char want[16];
	for (unsigned i = 0; i < 2 * GVE_MAX_DEVS + 1; i++) {
		struct gvm_config c = cfg(1, i % 2);
		model_reset(&c);
		gvm_pci_dev(&d);
		d.drv_state = NULL;
		assert_int_equal(pci_attach(&d, GVM_OWNER), 0);
		sc = d.drv_state;
		assert_int_equal(host_pci_nics, nics + i + 1);
		if (i == 0)
			snprintf(want, sizeof(want), "%s", sc->name);
		assert_string_equal(sc->name, want);
		traffic(5, i);
		listed[i % 2] = gvnic_listed();
		t_pci_detach_checks(&d);
		sc = NULL;
	}
	assert_int_equal(listed[0], before + 1);
	assert_int_equal(listed[1], before + 1);
	assert_int_equal(gvnic_listed(), before);
}

/* a function without what gVNIC needs (gve.rst: BAR0 the registers and
 * BAR2 the doorbells, both memory BARs; MSI-X) is refused before anything
 * is asked of it: one line naming what it lacks, no window asked for and
 * none live, the command register never written, the device never
 * touched, no memory, no vector, no slot taken (the line names the free
 * slot, which the same function whole then attaches in). Each case lacks
 * one thing only, so each condition of gve_pci_lacks has a case that
 * fails without it (before, one line for all five, "unable to find
 * register BAR, doorbell BAR and MSI-X", and no test of any) */
static void t_pci_attach_lacks(void **s)
{
	extern unsigned host_mmio_grants;
	static struct pci_dev d;
	static const char *const why[] = {
	    "no register BAR (BAR0)", "register BAR (BAR0) is I/O, not memory",
	    "no doorbell BAR (BAR2)", "doorbell BAR (BAR2) is I/O, not memory",
	    "no MSI-X capability",
	};
	unsigned before = gvnic_listed();
	char want[96];
	for (unsigned i = 0; i < ARRAY_SIZE(why); i++) {
		struct gvm_config c = cfg(1, false);
		model_reset(&c);
		gvm_pci_dev(&d);
		if (i == 0)
			d.bar[GVE_REG_BAR].size = 0;
		else if (i == 1)
			d.bar[GVE_REG_BAR].io = true;
		else if (i == 2)
			d.bar[GVE_DB_BAR].size = 0;
		else if (i == 3)
			d.bar[GVE_DB_BAR].io = true;
		else
			d.cap_msix = 0, d.msix_size = 0;
		strcpy(d.state, "untouched");
		unsigned en = host_pci_enables, gr = host_mmio_grants;
		uint64_t lines = shim_kprintf_calls;
		assert_int_equal(pci_attach(&d, GVM_OWNER), -1);
		snprintf(want, sizeof(want), "gve%u: unable to attach: %s\n",
			 before, why[i]);
		assert_string_equal(shim_last_line, want);
		assert_int_equal(shim_kprintf_calls - lines, 1);
		assert_int_equal(host_mmio_grants, gr);
		assert_int_equal(host_mmio_live, 0);
		assert_int_equal(host_pci_enables, en);
		assert_int_equal(gvm.accesses, 0);
		assert_int_equal(host_pools_live(), 0);
		assert_int_equal(host_irqs_bound(), 0);
		assert_null(d.drv_state);
		assert_string_equal(d.state, "untouched");
		assert_int_equal(gvnic_listed(), before);
	}
	struct gvm_config c = cfg(1, false);
	model_reset(&c);
	gvm_pci_dev(&d);
	assert_int_equal(pci_attach(&d, GVM_OWNER), 0);
	sc = d.drv_state;
	snprintf(want, sizeof(want), "gve%u", before);
	assert_string_equal(sc->name, want);
	assert_int_equal(host_mmio_live, 2);
	traffic(3, 1);
	t_pci_detach_checks(&d);
	assert_int_equal(host_mmio_live, 0);
	sc = NULL;
}

/* ---- surprise removal ------------------------------------------------------
 * The device vanishes (gvm.vanish_after: every read all ones, every write
 * dropped, no completion) after n of the device accesses an operation
 * makes, for every n the healthy operation reaches, in every format and
 * revision. Whatever n, the operation ends within VANISH_NS_MAX of the
 * model's clock (one fast poll step: nothing waited on a device that can
 * confirm nothing) and VANISH_READS_MAX reads of all ones (the counter
 * and the device_status that vouches for it, then the release's one),
 * with one error line; no window is left and the slot is free, and
 * memory stays granted only when the device may hold it — never when a
 * read showed it gone before the driver wrote an admin queue registration
 * register (gvm.gone_unhanded). What a failed operation keeps is the
 * device manager's to park (devmgr_unwind: auth_owner_revoke), then a
 * healthy device attaches in the same slot, carries traffic and detaches
 * clean. */
#define VANISH_NS_MAX	 (2 * GVE_FAST_POLL_US * 1000ull)
#define VANISH_READS_MAX 3

static char vanish_lines[1024];
static unsigned vanish_nlines;
static void vanish_line(const char *line)
{
	size_t n = strlen(vanish_lines);
	vanish_nlines +=
	    !strstr(line, ": resetting device (") && !strstr(line, ": link ");
	snprintf(vanish_lines + n, sizeof(vanish_lines) - n, "%s", line);
}

struct vanish_run {
	uint64_t t0, accesses0;
};

/* the device gone after n more accesses, from now */
static struct vanish_run vanish_arm(uint64_t n)
{
	gvm.quiet = true;
	gvm.vanish_after = gvm.vanished ? gvm.vanish_after : gvm.accesses + n;
	gvm.gone_reads = 0;
	vanish_lines[0] = 0;
	vanish_nlines = 0;
	shim_line_hook = vanish_line;
	return (struct vanish_run){shim_clock_ns, gvm.accesses};
}

/* what the operation left: lines error lines wanted (besides the
 * `informational` ones: "resetting device" before a reset) */
static void vanish_check(const char *what, const struct gvm_config *c,
			 uint64_t n, uint64_t total, struct vanish_run v,
			 unsigned lines)
{
	uint64_t ns = shim_clock_ns - v.t0;
	uint64_t past = gvm.gone_reads;
	shim_line_hook = NULL;
	if (vanish_nlines != lines || ns > VANISH_NS_MAX ||
	    past > VANISH_READS_MAX ||
	    (gvm.gone_unhanded && host_pools_live()) || gvm.violations)
		fail_msg("%s %s rev %u, gone after %llu of %llu accesses: %u "
			 "lines (want %u), %llu us, %llu reads past the "
			 "vanish, %u pools (gone unhanded %d), "
			 "violation %s; lines:\n%s",
			 what, gve_format_name(gvm_expected_format(c)),
			 c->revision, (unsigned long long)n,
			 (unsigned long long)total, vanish_nlines, lines,
			 (unsigned long long)(ns / 1000),
			 (unsigned long long)past, host_pools_live(),
			 gvm.gone_unhanded,
			 gvm.violations ? gvm.first_violation : "none",
			 vanish_lines);
}

/* a healthy device of configuration c attached through gve_driver in
 * `name`'s slot, carrying traffic */
static void vanish_attach_healthy(struct pci_dev *d, const struct gvm_config *c,
				  const char *name)
{
	model_reset(c);
	gvm_pci_dev(d);
	d->drv_state = NULL;
	assert_int_equal(pci_attach(d, GVM_OWNER), 0);
	sc = d->drv_state;
	assert_string_equal(sc->name, name);
	traffic(3, 5);
}

/* what a failed operation kept goes to the device manager's parking
 * (auth_owner_revoke), then a healthy device attaches in `name`'s slot,
 * carries traffic and detaches clean */
static void vanish_then_healthy(struct pci_dev *d, const struct gvm_config *c,
				const char *name)
{
	if (host_pools_live()) {
		unsigned kept = host_pools_live();
		assert_int_equal(auth_owner_revoke(GVM_OWNER, "vanished"),
				 (int)kept);
		assert_int_equal(host_pools_live(), 0);
		assert_int_equal(shim_pools_parked(GVM_OWNER), kept);
	}
	vanish_attach_healthy(d, c, name);
	t_pci_detach_checks(d);
	sc = NULL;
}

/* one operation a vanish sweep runs in every format and revision, at
 * every n of the accesses it makes on a healthy device */
struct sweep {
	struct pci_dev *d;
	struct gvm_config c;
	const char *name;
	uint64_t n, total;
	unsigned before; /* a count `ready` took for `left` */
};

struct sweep_op {
	const char *what;
	/* the operation on a healthy device, checked; w->total its device
	 * accesses */
	void (*healthy)(struct sweep *w);
	/* up to where the operation starts, the device not yet armed */
	void (*ready)(struct sweep *w);
	/* the operation itself: what it returned */
	int (*run)(struct sweep *w);
	/* what the operation left, the device gone after w->n accesses */
	void (*left)(struct sweep *w, int r);
};

/* the sweep driver: for each format and revision the healthy operation's
 * count, then for every n below it the operation with the device gone
 * after n accesses (vanish_check: one line, bounded), what it left, and
 * a healthy device in the same slot after it (vanish_then_healthy) */
static void vanish_sweep(const struct sweep_op *op)
{
	static struct pci_dev d;
	char name[16];
	snprintf(name, sizeof(name), "gve%u", gvnic_listed());
	for (unsigned k = 0; k < 2 * ARRAY_SIZE(formats); k++) {
		struct sweep w = {&d, cfgf(k & 1, formats[k / 2]), name, 0, 0,
				  0};
		op->healthy(&w);
		for (w.n = 0; w.n < w.total; w.n++) {
			op->ready(&w);
			struct vanish_run v = vanish_arm(w.n);
			int r = op->run(&w);
			vanish_check(op->what, &w.c, w.n, w.total, v, 1);
			op->left(&w, r);
			sc = NULL;
			vanish_then_healthy(&d, &w.c, name);
		}
	}
}

/* the attach through gve_driver: refused (-1, the function `failed`,
 * off the bus, no window live, no slot taken) at every n */
static void attach_healthy(struct sweep *w)
{
	vanish_then_healthy(w->d, &w->c, w->name);
	model_reset(&w->c);
	gvm_pci_dev(w->d);
	assert_int_equal(pci_attach(w->d, GVM_OWNER), 0);
	w->total = gvm.accesses;
	sc = w->d->drv_state;
	t_pci_detach_checks(w->d);
	sc = NULL;
}

static void attach_ready(struct sweep *w)
{
	model_reset(&w->c);
	gvm_pci_dev(w->d);
	w->d->drv_state = NULL;
}

static int attach_run(struct sweep *w)
{
	return pci_attach(w->d, GVM_OWNER);
}

static void attach_left(struct sweep *w, int r)
{
	if (r != -1 || host_mmio_live || host_irqs_bound() || host_pci_mem ||
	    host_pci_bus_master || strcmp(w->d->state, "failed"))
		fail_msg(
		    "attach rev %u fmt %s gone after %llu: %d, windows "
		    "%u, state %s",
		    w->c.revision, gve_format_name(gvm_expected_format(&w->c)),
		    (unsigned long long)w->n, r, host_mmio_live, w->d->state);
	assert_true(strstr(vanish_lines, w->name) == vanish_lines);
}

static const struct sweep_op sweep_attach = {
    "attach", attach_healthy, attach_ready, attach_run, attach_left};

static void t_pci_attach_vanish_sweep(void **s)
{
	vanish_sweep(&sweep_attach);
}

/* the detach through gve_driver (devmgr_shutdown's, devmgr_unbind's):
 * at every n, -1 (the release unconfirmed: the memory stays granted,
 * fenced), the NIC unregistered, both windows revoked, every vector given
 * back, off the bus, the slot free; a second detach the same, no line */
static void detach_healthy(struct sweep *w)
{
	vanish_attach_healthy(w->d, &w->c, w->name);
	uint64_t a0 = gvm.accesses;
	t_pci_detach_checks(w->d);
	w->total = gvm.accesses - a0;
	sc = NULL;
}

static void detach_ready(struct sweep *w)
{
	vanish_attach_healthy(w->d, &w->c, w->name);
	w->before = host_pci_nics_removed;
}

static int detach_run(struct sweep *w)
{
	return gve_driver.detach(w->d);
}

static void detach_left(struct sweep *w, int r)
{
	if (r != -1 || host_mmio_live || host_irqs_bound() || host_pci_mem ||
	    host_pci_bus_master || host_pci_nics_removed != w->before + 1 ||
	    !sc->memory_held)
		fail_msg("detach rev %u fmt %s gone after %llu: %d, windows %u",
			 w->c.revision,
			 gve_format_name(gvm_expected_format(&w->c)),
			 (unsigned long long)w->n, r, host_mmio_live);
	uint64_t lines = shim_kprintf_calls;
	assert_int_equal(gve_driver.detach(w->d), -1);
	assert_int_equal(shim_kprintf_calls, lines);
}

static const struct sweep_op sweep_detach = {
    "detach", detach_healthy, detach_ready, detach_run, detach_left};

static void t_pci_detach_vanish_sweep(void **s)
{
	vanish_sweep(&sweep_detach);
}

/* a device-requested reset, run by gve_driver's main-loop poller (the
 * release, then at once the recovery: the first of a streak has no
 * backoff): at every n the device is given up — failed, every vector
 * masked, bus mastering off, the device manager told once, memory kept —
 * in one error line after the "resetting" notice; gve_driver's detach
 * then asks nothing more of it: -1, one line (the memory kept), no
 * window or vector left, the slot free */
extern unsigned shim_devmgr_failed;

static int reset_run(struct sweep *w)
{
	gvm_set_status(GVE_DEVSTAT_RESET, 0);
	return host_pci_poller();
}

static void reset_healthy(struct sweep *w)
{
	vanish_attach_healthy(w->d, &w->c, w->name);
	uint64_t a0 = gvm.accesses;
	assert_false(reset_run(w));
	assert_int_equal(sc->resets, 1);
	assert_int_equal(sc->state, GVE_S_UP);
	w->total = gvm.accesses - a0;
	traffic(2, 7);
	t_pci_detach_checks(w->d);
	sc = NULL;
}

static void reset_ready(struct sweep *w)
{
	vanish_attach_healthy(w->d, &w->c, w->name);
	w->before = shim_devmgr_failed;
}

static void reset_left(struct sweep *w, int r)
{
	assert_false(r);
	if (sc->state != GVE_S_FAILED || host_pci_bus_master ||
	    shim_devmgr_failed != w->before + 1 || !sc->memory_held)
		fail_msg("reset rev %u fmt %s gone after %llu: state %u, "
			 "devmgr told %u",
			 w->c.revision,
			 gve_format_name(gvm_expected_format(&w->c)),
			 (unsigned long long)w->n, sc->state,
			 shim_devmgr_failed - w->before);
	for (unsigned i = 0; i <= sc->nblocks; i++) {
		struct gve_block *b =
		    i < sc->nblocks ? &sc->blocks[i] : &sc->mgmt;
		assert_true(!b->bound || host_irq_masked(i));
	}
	/* nothing more is asked of it, however long */
	uint64_t a = gvm.accesses, lines = shim_kprintf_calls;
	shim_clock_ns += 10 * GVE_STATUS_POLL_US * 1000ull;
	assert_false(host_pci_poller());
	assert_int_equal(gvm.accesses, a);
	assert_int_equal(shim_kprintf_calls, lines);
	struct vanish_run v = vanish_arm(0);
	assert_int_equal(gve_driver.detach(w->d), -1);
	vanish_check("detach after reset", &w->c, w->n, w->total, v, 1);
	assert_int_equal(host_mmio_live, 0);
	assert_int_equal(host_irqs_bound(), 0);
	assert_false(host_pci_mem || host_pci_bus_master);
}

static const struct sweep_op sweep_reset = {"reset", reset_healthy, reset_ready,
					    reset_run, reset_left};

static void t_pci_reset_vanish_sweep(void **s)
{
	vanish_sweep(&sweep_reset);
}

/* at run time, the service call that posts a link speed at a link's
 * "up" line (post 0) and the one that collects it (post 1,
 * gve_aq_link_speed_collect): the device gone after each n of that call's
 * accesses is given up in that call (or, when only the post's doorbell
 * was lost, in the next, which collects) — failed, its memory held, the
 * bus told — with one line (besides the link's), waiting on nothing. Before,
 * a vanish after device_status was read gave `unable to read link speed`
 * and left the device up until the next status poll, which said it gone
 * in a second line */
static void t_service_vanish_link_speed(void **s)
{
	uint8_t b[2048];
	for (int post = 0; post < 2; post++) {
		uint64_t total = 0;
		for (uint64_t n = 0; n == 0 || n < total; n++) {
			struct gvm_config c = cfg(n & 1, false);
			assert_int_equal(start(&c), 0);
			/* the link down, then up a log period later */
			gvm.aq_delay_ns = 1000000ull;
			gvm_set_status(0, GVE_DEVSTAT_LINK_UP);
			gve_recv(sc, b, sizeof(b));
			shim_clock_ns += NIC_LINK_LOG_US * 1000ull;
			if (post) {
				gvm_set_status(GVE_DEVSTAT_LINK_UP, 0);
				gve_recv(sc, b, sizeof(b));
				assert_true(sc->aq_rung);
				shim_clock_ns +=
				    (GVE_STATUS_POLL_US + 1) * 1000ull;
			}
			uint64_t a0 = gvm.accesses;
			if (!total) { /* the healthy call's accesses */
				if (!post)
					gvm_set_status(GVE_DEVSTAT_LINK_UP, 0);
				gve_service(sc);
				total = gvm.accesses - a0;
				assert_int_equal(sc->state, GVE_S_UP);
				assert_true(sc->aq_rung == !post);
				n = (uint64_t)-1;
				finish(true);
				continue;
			}
			struct vanish_run v = vanish_arm(n);
			if (!post)
				gvm_set_status(GVE_DEVSTAT_LINK_UP, 0);
			gve_service(sc);
			/* only the doorbell lost: nothing read shows it, the
			 * next poll's collect does */
			if (!post && n == total - 1) {
				uint64_t wait =
				    (GVE_STATUS_POLL_US + 1) * 1000ull;
				assert_true(sc->aq_rung);
				shim_clock_ns += wait;
				v.t0 += wait; /* the loop's, not the driver's */
				gve_service(sc);
			}
			vanish_check("link speed", &c, n, total, v, 1);
			if (!strstr(vanish_lines, "unable to reach device") ||
			    sc->state != GVE_S_FAILED || !sc->memory_held ||
			    !host_bus_stopped)
				fail_msg("%s: gone after %llu of %llu "
					 "accesses: state %u, memory held %d, "
					 "bus stopped %d; lines:\n%s",
					 post ? "collect" : "post",
					 (unsigned long long)n,
					 (unsigned long long)total, sc->state,
					 sc->memory_held, host_bus_stopped,
					 vanish_lines);
			gve_detach(sc);
			detached(false);
		}
	}
}

/* more gVNICs than GVE_MAX_DEVS: the first past it gets one line and is
 * left as the device manager gave it — no BAR window asked for, its
 * command register never written, no memory, no vector, no NIC. Earlier
 * tests attached some through gve_driver already (gve_ndevs only grows),
 * so devices are attached until the refusal, which must come at
 * GVE_MAX_DEVS. */
static void t_pci_too_many_devices(void **s)
{
	extern unsigned host_mmio_grants, host_pci_nics;
	static struct pci_dev d[GVE_MAX_DEVS + 1];
	struct gvm_config c = cfg(1, false);
	unsigned refused = GVE_MAX_DEVS + 1;
	for (unsigned i = 0; i <= GVE_MAX_DEVS && refused > GVE_MAX_DEVS; i++) {
		model_reset(&c);
		gvm_pci_dev(&d[i]);
		strcpy(d[i].state, "untouched");
		unsigned en = host_pci_enables, gr = host_mmio_grants,
			 nics = host_pci_nics;
		uint64_t lines = shim_kprintf_calls;
		if (pci_attach(&d[i], GVM_OWNER) == 0) {
			/* one of the first GVE_MAX_DEVS: down again, so the
			 * model of the next is the only device live */
			gve_detach(d[i].drv_state);
			assert_int_equal(host_pools_live(), 0);
			continue;
		}
		refused = i;
		char want[64];
		snprintf(want, sizeof(want),
			 "gve%u: unable to attach: %u devices already\n",
			 GVE_MAX_DEVS, GVE_MAX_DEVS);
		assert_string_equal(shim_last_line, want);
		assert_int_equal(shim_kprintf_calls - lines, 1);
		assert_int_equal(host_pci_enables, en);
		assert_int_equal(host_mmio_grants, gr);
		assert_int_equal(host_pci_nics, nics);
		assert_null(d[i].drv_state);
		assert_string_equal(d[i].state, "untouched");
		assert_int_equal(gvm.registrations, 0);
		assert_false(gvm.aq_live);
		assert_int_equal(host_pools_live(), 0);
		assert_int_equal(host_irqs_bound(), 0);
	}
	assert_true(refused <= GVE_MAX_DEVS);
	/* and the next again, with the same line */
	model_reset(&c);
	gvm_pci_dev(&d[GVE_MAX_DEVS]);
	unsigned gr = host_mmio_grants;
	assert_int_equal(pci_attach(&d[GVE_MAX_DEVS], GVM_OWNER), -1);
	assert_int_equal(host_mmio_grants, gr);
	assert_non_null(strstr(shim_last_line, "devices already"));
	/* every slot taken: the poller and /api/gvnic stay inside them */
	assert_false(host_pci_poller());
	assert_int_equal(gvnic_listed(), GVE_MAX_DEVS);
	if (gvm.violations)
		fail_msg("model violation: %s", gvm.first_violation);
}

/* the model catches the mistakes the new checks are for */
static void t_model_catches_formats(void **s)
{
	uint8_t f[200], b[2048];
	struct gve_aq_cmd cmd;
	unsigned v;

	/* report_event requests closer than GVE_TX_MIN_RE_INTERVAL */
	struct gvm_config c = cfg(1, true);
	assert_int_equal(start(&c), 0);
	gvm.quiet = true;
	traffic(40, 1);
	v = gvm.violations;
	sc->tx[0].last_re = (sc->tx[0].tail - 40) & sc->tx[0].mask;
	frame_make(f, sizeof(f), 1);
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	assert_int_equal(gvm.violations, v + 1);
	assert_non_null(strstr(gvm.first_violation, "report_event"));
	/* a pool revoked under posted DQO RX buffers and an in-flight TX
	 * buffer */
	gvm.tx[0].hold_completions = true;
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	v = gvm.violations;
	gvm_check_revoke(sc->rx[0].qpl.pages.iova, 4096);
	assert_true(gvm.violations > v);
	v = gvm.violations;
	gvm_check_revoke(sc->tx[0].qpl.pages.iova +
			     (uint64_t)gve_tag_idx(&sc->tx[0], last_tag()) *
				 GVE_BUF_SIZE,
			 64);
	assert_int_equal(gvm.violations, v + 1);
	gvm.violations = 0;
	gvm_tx_flush(0);
	finish(false);

	/* an RX queue naming the TX page list, or a GQI page list shorter
	 * than its ring */
	c = cfg(1, false);
	assert_int_equal(start(&c), 0);
	gvm.quiet = true;
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = cpu_to_be32(GVE_AQ_DESTROY_RX_QUEUE);
	((struct gve_aq_id *)cmd.payload)->id = cpu_to_be32(1);
	assert_int_equal(gve_aq_exec(sc, &cmd), 0);
	struct gve_aq_create_rx_queue *p = (void *)cmd.payload;
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = cpu_to_be32(GVE_AQ_CREATE_RX_QUEUE);
	p->queue_id = cpu_to_be32(1);
	p->index = cpu_to_be32(1);
	p->ntfy_id = cpu_to_be32(sc->rx[1].ntfy_id);
	p->queue_resources_addr = cpu_to_be64(sc->rx[1].qres.iova);
	p->rx_desc_ring_addr = cpu_to_be64(sc->rx[1].desc.iova);
	p->rx_data_ring_addr = cpu_to_be64(sc->rx[1].data.iova);
	p->rx_ring_size = cpu_to_be16(64);
	p->packet_buffer_size = cpu_to_be16(2048);
	p->queue_page_list_id = cpu_to_be32(sc->tx[0].qpl.id);
	v = gvm.violations;
	assert_int_equal(gve_aq_exec(sc, &cmd), GVE_EINVAL);
	assert_int_equal(gvm.violations, v + 1);
	p->queue_page_list_id = cpu_to_be32(sc->rx[1].qpl.id);
	p->rx_ring_size = cpu_to_be16(128);
	assert_int_equal(gve_aq_exec(sc, &cmd), GVE_EINVAL);
	assert_int_equal(gvm.violations, v + 2);
	p->rx_ring_size = cpu_to_be16(64);
	assert_int_equal(gve_aq_exec(sc, &cmd), 0);
	assert_int_equal(gvm.violations, v + 2);
	/* a GQI_QPL segment off the 64-byte FIFO alignment */
	sc->tx[0].fifo_head = 8;
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	assert_int_equal(gvm.violations, v + 3);
	gvm.violations = 0;
	finish(false);

	/* DQO_QPL: a buffer outside the queue's page list */
	c = cfgf(1, GVE_QF_DQO_QPL);
	assert_int_equal(start(&c), 0);
	gvm.quiet = true;
	struct gve_rx_buf_desc_dqo *q = sc->rx[0].data.va;
	q[gvm.rx[0].head].buf_addr = sc->rx[0].desc.iova;
	v = gvm.violations;
	frame_make(f, sizeof(f), 2);
	assert_false(gvm_rx_inject(0, f, sizeof(f)));
	assert_int_equal(gvm.violations, v + 1);
	assert_non_null(strstr(gvm.first_violation, "page list") ||
				gvm.violations > 1
			    ? "ok"
			    : NULL);
	gvm.violations = 0;
	(void)b;
	finish(false);
}

/* interrupts: GQI masks in the handler and acks after the poll; DQO
 * re-enables; a masked vector stays pending */
static void t_interrupts(void **s)
{
	uint8_t f[100], b[2048];
	for (int dqo = 0; dqo < 2; dqo++) {
		struct gvm_config c = cfg(1, dqo);
		assert_int_equal(start(&c), 0);
		unsigned blk = sc->rx[0].ntfy_id;
		frame_make(f, 100, 1);
		assert_true(gvm_rx_inject(0, f, 100));
		assert_int_equal(sc->blocks[blk].interrupts, 1);
		assert_true(sc->blocks[blk].pending);
		if (!dqo)
			assert_true(gvm.irq_masked[blk]); /* handler masked */
		assert_int_equal(gve_recv(sc, b, sizeof(b)), 100);
		assert_false(sc->blocks[blk].pending);
		assert_false(gvm.irq_masked[blk]); /* re-armed */
		if (dqo)
			assert_int_equal(gvm.irq_db_raw[blk],
					 GVE_ITR_NO_UPDATE_DQO |
					     GVE_ITR_ENABLE_DQO);
		else
			assert_int_equal(be32_to_cpu(gvm.irq_db_raw[blk]),
					 GVE_IRQ_ACK | GVE_IRQ_EVENT);
		finish(true);
	}
}

static void t_link_and_stats(void **s)
{
	struct gvm_config c = cfg(1, false);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	traffic(4, 1);
	gvm_set_status(0, GVE_DEVSTAT_LINK_UP);
	gve_recv(sc, b, sizeof(b));
	assert_false(sc->nic.link_up);
	gvm.cfg.link_mbps = 100000;
	gvm_set_status(GVE_DEVSTAT_LINK_UP, 0);
	gve_recv(sc, b, sizeof(b));
	assert_true(sc->nic.link_up);
	/* within NIC_LINK_LOG_US of the "down" line: the speed is asked
	 * with the next line, at the first poll after the interval, and
	 * taken at the next read of device_status */
	shim_clock_ns += NIC_LINK_LOG_US * 1000ull;
	gve_recv(sc, b, sizeof(b));
	assert_true(sc->aq_rung);
	assert_int_equal(sc->nic.link_mbps, 32000);
	shim_clock_ns += GVE_STATUS_POLL_US * 1000ull;
	gve_recv(sc, b, sizeof(b));
	assert_false(sc->aq_rung);
	assert_int_equal(sc->nic.link_mbps, 100000);
	assert_int_equal(sc->link_changes, 2);
	gvm_set_status(GVE_DEVSTAT_REPORT_STATS, 0);
	gve_recv(sc, b, sizeof(b));
	const uint8_t *rep = host_dma_translate(gvm.stats, gvm.stats_len);
	assert_non_null(rep);
	uint64_t wc;
	memcpy(&wc, rep, 8);
	assert_int_equal(be64_to_cpu(wc), 1);
	struct gve_stat st;
	memcpy(&st, rep + 8, sizeof(st));
	assert_int_equal(be32_to_cpu(st.stat_name), GVE_STAT_TX_FRAMES_SENT);
	assert_int_equal(be64_to_cpu(st.value), sc->tx[0].packets);
	char js[1024];
	const char *o = status_of(false, js, sizeof(js));
	assert_non_null(strstr(o, "\"state\":\"up\""));
	assert_non_null(strstr(o, "\"queue_format\":\"gqi-qpl\""));
	assert_non_null(strstr(o, "\"link_up\":true,\"link_mbps\":100000,"
				  "\"link_changes\":2,"));
	finish(true);
}

/* a device flapping its link with a management interrupt each time: every
 * change counts, but the line and the REPORT_LINK_SPEED command it brings
 * on "up" come at most once per NIC_LINK_LOG_US; the first poll after the
 * interval says where the link ended up. Before, each flip was a line and
 * each "up" an admin round trip in the main loop */
static void t_link_flaps_rate_limited(void **s)
{
	struct gvm_config c = cfg(1, true);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	uint64_t lines = shim_kprintf_calls, cmds = sc->aq_cmds;
	for (unsigned i = 0; i < 1000; i++) {
		if (i & 1)
			gvm_set_status(GVE_DEVSTAT_LINK_UP, 0);
		else
			gvm_set_status(0, GVE_DEVSTAT_LINK_UP);
		gve_recv(sc, b, sizeof(b));
		assert_int_equal(sc->nic.link_up, i & 1);
		shim_clock_ns += 500000ull; /* 0.5 s in all */
	}
	assert_int_equal(sc->link_changes, 1000);
	assert_int_equal(shim_kprintf_calls, lines + 1); /* the first down */
	assert_int_equal(sc->aq_cmds, cmds);
	shim_clock_ns += NIC_LINK_LOG_US * 1000ull;
	gve_recv(sc, b, sizeof(b));
	assert_int_equal(sc->aq_cmds, cmds + 1); /* the speed, once */
	assert_string_equal(shim_last_line,
			    "gve0: link up, 999 changes not logged\n");
	assert_int_equal(sc->resets, 0);
	traffic(4, 2);
	/* not collected yet (the next device_status read): the detach's
	 * first command waits for it, then the teardown runs as ever */
	assert_true(sc->aq_rung);
	uint32_t ops[32];
	unsigned n = expect_down(sc->queue_format, ops), n0 = gvm.noplog;
	gve_detach(sc);
	assert_int_equal(sc->hostile, 0);
	assert_int_equal(gvm.noplog - n0, n);
	assert_memory_equal(gvm.oplog + n0, ops, n * 4);
	detached(true);
}

/* the device up in format k, some traffic through it, then every admin
 * command answered just before its 2 s timeout (the last event-counter
 * read of a command is at 2.001 s) */
static void start_slow_admin(unsigned k)
{
	struct gvm_config c = cfgf(k & 1, formats[k]);
	assert_int_equal(start(&c), 0);
	traffic(3, 1);
	gvm.aq_delay_ns = 1950000000ull;
}

/* a device that flaps its link and answers each admin command just
 * before its 2 s timeout: the REPORT_LINK_SPEED of each logged "up" (one
 * per NIC_LINK_LOG_US) was waited for in the poll, so the main loop was
 * held ~2 s of every ~3 s. At run time the command is posted and its
 * completion collected by a later poll: polls wait GVE_RUN_WAIT_MAX_US (0)
 * per second of polls (before: 661 ms), the speed still arrives, nothing
 * is reset. One that stops answering is reset when the posted command times
 * out, and the reset's bounds apply. */
static void t_link_speed_slow_device(void **s)
{
	for (unsigned k = 0; k < ARRAY_SIZE(formats); k++) {
		uint8_t b[2048];
		start_slow_admin(k);
		gvm.cfg.link_mbps = 50000;
		uint64_t t0 = shim_clock_ns, held = 0, worst = 0;
		/* 60 s of polls, one per ms; the link flips every 7 ms,
		 * then stays up for the last 3 s */
		for (unsigned i = 0; i < 60000; i++) {
			if (i % 7 == 0 && i < 57000)
				gvm_set_status(i % 14 ? 0 : GVE_DEVSTAT_LINK_UP,
					       i % 14 ? GVE_DEVSTAT_LINK_UP
						      : 0);
			uint64_t p0 = shim_clock_ns;
			(void)gve_recv(sc, b, sizeof(b));
			held += shim_clock_ns - p0;
			worst = MAX(worst, shim_clock_ns - p0);
			shim_clock_ns += 1000000ull;
		}
		/* each read of the shim's clock moves it 100 ns: 1 ms per
		 * second covers those ticks, no wait */
		uint64_t secs = (shim_clock_ns - t0) / 1000000000ull;
		if (held / secs > GVE_RUN_WAIT_MAX_US * 1000ull + 1000000ull)
			fail_msg(
			    "%s: polls held the loop %llu ms per second "
			    "(%llu ns in all, worst poll %llu ms), past %u us",
			    gve_format_name(formats[k]),
			    (unsigned long long)(held / secs / 1000000),
			    (unsigned long long)held,
			    (unsigned long long)(worst / 1000000),
			    GVE_RUN_WAIT_MAX_US);
		assert_int_equal(sc->link_mbps, 50000);
		assert_int_equal(sc->aq_timeouts, 0);
		assert_int_equal(sc->resets, 0);
		assert_int_equal(sc->state, GVE_S_UP);
		assert_false(sc->aq_rung);
		gvm.aq_delay_ns = 0;
		traffic(4, 2);
		/* the device stops answering: the posted command times out,
		 * and the device is reset as for any admin timeout; its
		 * recovery fails within the budget and the device is given
		 * up, no poll past GVE_SERVICE_WAIT_MAX_US */
		gvm.stall = true;
		gvm_set_status(0, GVE_DEVSTAT_LINK_UP);
		(void)gve_recv(sc, b, sizeof(b));
		shim_clock_ns += NIC_LINK_LOG_US * 1000ull;
		gvm_set_status(GVE_DEVSTAT_LINK_UP, 0);
		worst = 0;
		for (unsigned i = 0; i < 10000 && sc->state != GVE_S_FAILED;
		     i++) {
			uint64_t p0 = shim_clock_ns;
			(void)gve_recv(sc, b, sizeof(b));
			worst = MAX(worst, shim_clock_ns - p0);
			shim_clock_ns += 1000000ull;
		}
		assert_int_equal(sc->state, GVE_S_FAILED);
		assert_true(sc->aq_timeouts >= 1);
		assert_int_equal(sc->resets, 1);
		assert_true(worst / 1000 <= GVE_SERVICE_WAIT_MAX_US);
		/* /api/gvnic says so: the time the reset spent waiting for
		 * the stalled device, in ms */
		char js[1024];
		const char *o = status_of(false, js, sizeof(js));
		assert_non_null(strstr(o, "\"state\":\"failed\""));
		assert_non_null(strstr(o, "\"resets\":1,"));
		const char *ms = strstr(o, "\"reset_ms\":");
		assert_non_null(ms);
		unsigned long long v = strtoull(ms + 11, NULL, 10);
		assert_int_equal(v, sc->reset_us / 1000);
		assert_true(v >= 1000);
		gvm.stall = false;
		finish(true);
	}
}

/* the device stops answering: all ones, or no reset ever */
static void t_device_gone(void **s)
{
	struct gvm_config c = cfg(1, true);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	gvm.device_status = GVE_DEVSTAT_GONE;
	/* no management interrupt: the next timed poll of device_status */
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_int_equal(sc->state, GVE_S_UP);
	shim_clock_ns += (GVE_STATUS_POLL_US + 1) * 1000ull;
	assert_int_equal(gve_recv(sc, b, sizeof(b)), -1);
	assert_int_equal(sc->state, GVE_S_FAILED);
	assert_int_equal(gve_send(sc, b, 60), -1);
	gve_detach(sc);
	assert_true(sc->memory_held);
	/* the driver could not confirm a reset: memory stays granted */
	assert_int_equal(host_pools_live(), 2);
	softc_drop();
}

/* a device given up (gve_fail) has every vector the driver bound masked,
 * each block's and the management one: unmasked while up, masked after, and
 * an interrupt the device raises then is held, not delivered */
static void t_fail_masks_vectors(void **s)
{
	struct gvm_config c = cfg(1, true);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	unsigned nbound = 0;
	for (unsigned i = 0; i <= sc->nblocks; i++) {
		struct gve_block *k =
		    i < sc->nblocks ? &sc->blocks[i] : &sc->mgmt;
		if (!k->bound)
			continue;
		nbound++;
		assert_false(host_irq_masked(i));
	}
	assert_true(sc->mgmt.bound);
	assert_true(nbound >= 2);
	gvm.device_status = GVE_DEVSTAT_GONE;
	shim_clock_ns += (GVE_STATUS_POLL_US + 1) * 1000ull;
	assert_int_equal(gve_recv(sc, b, sizeof(b)), -1);
	assert_int_equal(sc->state, GVE_S_FAILED);
	for (unsigned i = 0; i <= sc->nblocks; i++) {
		struct gve_block *k =
		    i < sc->nblocks ? &sc->blocks[i] : &sc->mgmt;
		if (!k->bound)
			continue;
		assert_true(host_irq_masked(i));
		uint64_t n = host_irq_count(i);
		host_irq_raise(i);
		assert_int_equal(host_irq_count(i), n);
	}
	gve_detach(sc);
	softc_drop();
}

static void t_reset_never_completes(void **s)
{
	for (int rev = 0; rev < 2; rev++) {
		struct gvm_config c = cfg(rev, false);
		assert_int_equal(start(&c), 0);
		gvm.reset_never = true;
		gve_detach(sc);
		assert_true(sc->memory_held);
		/* nothing revoked under the device */
		assert_int_equal(host_pools_live(), 2);
		if (gvm.violations)
			fail_msg("model violation: %s", gvm.first_violation);
		softc_drop();
	}
}

/* an attach that fails on a device whose reset never completes: the
 * memory stays granted and that is said once, in the release's own line
 * (the last), not again as "keeping DMA memory". Before, two lines */
static void t_attach_fails_reset_never(void **s)
{
	for (int rev = 0; rev < 2; rev++) {
		struct gvm_config c = cfg(rev, false);
		model_reset(&c);
		gvm.quiet = true;
		gvm.override_op = GVE_AQ_DESCRIBE_DEVICE;
		gvm.override_status = GVE_AQ_STATUS_INTERNAL_ERROR;
		gvm.reset_never = true;
		assert_int_not_equal(attach(), GVE_OK);
		assert_true(sc->memory_held);
		assert_int_equal(sc->state, GVE_S_FAILED);
		assert_non_null(
		    strstr(shim_last_line, "DMA memory stays granted"));
		assert_int_equal(host_pools_live(), 1);
		softc_drop();
	}
}

/* a failure while recovering from a reset leaves the device reset and the
 * driver failed, not half up */
static void t_reset_recovery_fails(void **s)
{
	struct gvm_config c = cfg(1, false);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	gvm.override_op = GVE_AQ_CONFIGURE_DEVICE_RESOURCES;
	gvm.override_status = GVE_AQ_STATUS_INTERNAL_ERROR;
	gvm_set_status(GVE_DEVSTAT_RESET, 0);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), -1);
	assert_int_equal(sc->state, GVE_S_FAILED);
	assert_false(gvm.aq_live);
	finish(true);
}

/* ---- reset storms --------------------------------------------------------
 * The main loop as it runs a gVNIC: a poll (the PCI poller, or gve_recv)
 * every `idle_us` of virtual time, for at most `run_us`, stopping once the
 * device is given up. Returns the longest one poll held the loop. */
static uint64_t main_loop(bool (*poll)(void), uint64_t idle_us, uint64_t run_us)
{
	uint8_t b[2048];
	uint64_t end = shim_clock_ns + run_us * 1000, worst = 0;
	while (shim_clock_ns < end && sc->state != GVE_S_FAILED) {
		uint64_t t0 = shim_clock_ns;
		if (poll)
			(void)poll();
		else
			(void)gve_recv(sc, b, sizeof(b));
		worst = MAX(worst, shim_clock_ns - t0);
		shim_clock_ns += idle_us * 1000;
	}
	return worst / 1000;
}

/* a device that asks for a reset after every recovery (at the creation of
 * its RX queues, so at bring-up too): each reset of the streak waits twice
 * as long as the one before before it is brought up, the device released
 * meanwhile, and the request after GVE_RESET_MAX gives it up with one line
 * — reset, vectors masked, bus mastering off, nothing of ours held. Linux
 * (and this driver before) resets at once, forever. Through gve_driver and
 * its poller for one format (pci_enable's bus mastering off), through the
 * core for each format and revision. */
static void t_reset_storm_given_up(void **s)
{
	extern bool (*host_pci_poller)(void);
	extern bool host_pci_bus_master;
	for (unsigned k = 0; k <= 2 * ARRAY_SIZE(formats); k++) {
		bool pci = k == 2 * ARRAY_SIZE(formats);
		struct gvm_config c =
		    cfgf(k & 1, formats[(k / 2) % ARRAY_SIZE(formats)]);
		static struct pci_dev d;
		model_reset(&c);
		gvm.reset_storm = true;
		if (pci) {
			gvm_pci_dev(&d);
			assert_int_equal(pci_attach(&d, GVM_OWNER), 0);
			sc = d.drv_state;
			assert_true(host_pci_bus_master);
		} else {
			assert_int_equal(attach(), 0);
		}
		uint64_t t0 = shim_clock_ns;
		/* a poll every 1 ms; the backoffs add up to 15 s */
		uint64_t worst =
		    main_loop(pci ? host_pci_poller : NULL, 1000, 60000000);
		uint64_t took_us = (shim_clock_ns - t0) / 1000;
		assert_int_equal(sc->state, GVE_S_FAILED);
		assert_true(strstr(shim_last_line, "giving the device up"));
		assert_int_equal(sc->resets, GVE_RESET_MAX);
		assert_int_equal(sc->device_resets, GVE_RESET_MAX + 1);
		/* brought up once per reset carried out, released once more
		 * to give it up */
		assert_int_equal(gvm.registrations, 1 + GVE_RESET_MAX);
		assert_int_equal(gvm.resets, GVE_RESET_MAX + 1);
		assert_false(gvm.aq_live);
		/* the backoffs: 1 + 2 + 4 + 8 s between the resets */
		assert_true(took_us >= 15 * GVE_RESET_BACKOFF_US);
		assert_true(took_us < 16 * GVE_RESET_BACKOFF_US);
		/* an instant device: no poll held the loop for a millisecond */
		assert_true(worst < 1000);
		assert_true(host_bus_stopped || pci);
		if (pci) {
			assert_false(host_pci_bus_master);
			assert_string_equal(d.state, "failed");
		}
		assert_false(sc->nic.link_up);
		uint8_t b[2048] = {0};
		assert_int_equal(gve_send(sc, b, 60), -1);
		assert_int_equal(gve_recv(sc, b, sizeof(b)), -1);
		char js[2048], want[64];
		const char *o = status_of(pci, js, sizeof(js));
		assert_non_null(strstr(o, "\"state\":\"failed\""));
		assert_non_null(strstr(o, "\"link_up\":false,"));
		assert_non_null(strstr(o, "\"resets\":5,\"device_resets\":6,"
					  "\"reset_streak\":6,"));
		snprintf(want, sizeof(want), "\"reset_ms\":%llu,",
			 (unsigned long long)(sc->reset_us / 1000));
		assert_non_null(strstr(o, want));
		if (pci) {
			/* the softc is gve_pci.c's: detach, not free */
			gve_detach(sc);
			sc = NULL;
			assert_int_equal(host_pools_live(), 0);
			if (gvm.violations)
				fail_msg("model violation: %s",
					 gvm.first_violation);
		} else {
			finish(true);
		}
	}
}

/* between the resets of a streak the device is left reset (it holds no
 * queue, page list or admin queue of ours) and the link is down; it is
 * brought up when the backoff has run. A reset GVE_RESET_QUIET_US after
 * the one before starts a new streak: a device that resets now and then
 * is never given up */
static void t_reset_backoff(void **s)
{
	struct gvm_config c = cfg(1, true);
	uint8_t b[2048];
	assert_int_equal(start(&c), 0);
	gvm_set_status(GVE_DEVSTAT_RESET, 0);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_int_equal(sc->state, GVE_S_UP); /* the first: at once */
	gvm_set_status(GVE_DEVSTAT_RESET, 0);
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_int_equal(sc->state, GVE_S_RESETTING);
	assert_int_equal(sc->reset_streak, 2);
	assert_false(gvm.aq_live || gvm.configured || gvm.tx[0].live ||
		     gvm.rx[0].live || gvm.qpls[0].live);
	assert_false(sc->nic.link_up);
	assert_int_equal(gve_send(sc, b, 60), -1);
	unsigned regs = gvm.registrations;
	shim_clock_ns += (GVE_RESET_BACKOFF_US - 1000) * 1000;
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_int_equal(gvm.registrations, regs); /* not yet */
	shim_clock_ns += 2000 * 1000;
	assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
	assert_int_equal(sc->state, GVE_S_UP);
	assert_true(sc->nic.link_up);
	traffic(10, 2);
	/* now and then, forever: each a streak of one */
	for (unsigned i = 0; i < 3 * GVE_RESET_MAX; i++) {
		shim_clock_ns += GVE_RESET_QUIET_US * 1000;
		gvm_set_status(GVE_DEVSTAT_RESET, 0);
		assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
		assert_int_equal(sc->state, GVE_S_UP);
		assert_int_equal(sc->reset_streak, 1);
	}
	traffic(10, 3);
	finish(true);
}

/* a device that answers each admin command just before its timeout: a
 * recovery of ~10 such commands held the main loop ~20 s in one poll
 * (Linux's gve_reset too). The recovery's admin waits now stop at
 * GVE_RESET_AQ_BUDGET_US and the device is given up: the poll that did it
 * held the loop for the budget, no more */
static void t_reset_slow_device_budget(void **s)
{
	for (unsigned k = 0; k < ARRAY_SIZE(formats); k++) {
		uint8_t b[2048];
		start_slow_admin(k);
		gvm_set_status(GVE_DEVSTAT_RESET, 0);
		uint64_t t0 = shim_clock_ns;
		assert_int_equal(gve_recv(sc, b, sizeof(b)), -1);
		uint64_t took_us = (shim_clock_ns - t0) / 1000;
		assert_true(took_us >= GVE_RESET_AQ_BUDGET_US);
		assert_true(took_us <=
			    GVE_RESET_AQ_BUDGET_US + GVE_ADMINQ_POLL_US + 1000);
		assert_true(took_us <= GVE_SERVICE_WAIT_MAX_US);
		assert_int_equal(sc->state, GVE_S_FAILED);
		assert_true(host_bus_stopped);
		assert_int_equal(sc->aq_timeouts, 1);
		assert_int_equal(sc->aq_fail, 0); /* none refused: slow only */
		assert_false(gvm.aq_live);
		finish(true);
	}
}

/* no vector could be bound: the same poll drives everything, and
 * device_status is still read every GVE_STATUS_POLL_US */
static void t_polling_only(void **s)
{
	for (int dqo = 0; dqo < 2; dqo++) {
		struct gvm_config c = cfg(1, dqo);
		uint8_t b[2048];
		model_reset(&c);
		host_irq_refuse = true;
		assert_int_equal(attach(), 0);
		assert_false(sc->mgmt.bound);
		traffic(100, 3);
		gvm_set_status(GVE_DEVSTAT_RESET, 0); /* no vector fires */
		assert_false(sc->mgmt_pending);
		shim_clock_ns += (GVE_STATUS_POLL_US + 1) * 1000ull;
		assert_int_equal(gve_recv(sc, b, sizeof(b)), 0);
		assert_int_equal(sc->resets, 1);
		traffic(20, 4);
		finish(true);
	}
}

/* the model itself: each class of driver mistake it must catch */
/* the first violation since `v` was cleared names `what` */
static void caught(const char *what)
{
	assert_true(gvm.violations >= 1);
	if (!strstr(gvm.first_violation, what))
		fail_msg("expected \"%s\", model said: %s", what,
			 gvm.first_violation);
	gvm.violations = 0;
	gvm.first_violation[0] = 0;
}

/* a DQO TX descriptor the driver did not write: tag, buffer, length */
static void dqo_tx_forge(uint16_t tag, uint64_t addr, uint16_t len)
{
	struct gve_tx *tx = &sc->tx[0];
	struct gve_tx_desc_dqo *d =
	    &((struct gve_tx_desc_dqo *)tx->ring.va)[tx->tail];
	memset(d, 0, sizeof(*d));
	d->buf_addr = addr;
	d->dtype_flags = GVE_TX_PKT_DESC_DTYPE_DQO | GVE_TXD_DQO_EOP;
	d->compl_tag = tag;
	d->buf_size = len;
	tx->tail = (tx->tail + 1) & tx->mask;
	gve_db_write_le(sc, tx->db_index, tx->tail);
}

/* the model's checks on data buffers, each shown to fire on the mistake it
 * is for: a buffer on a structure the device holds, a buffer reused while
 * the device holds it (DQO TX tags, GQI TX FIFO space, DQO RX buffers), a
 * GQI RX slot on a ring */
static void t_model_catches_buffers(void **s)
{
	uint8_t f[200], g[2048];
	frame_make(f, sizeof(f), 3);
	/* DQO_RDA TX */
	struct gvm_config c = cfg(1, true);
	assert_int_equal(start(&c), 0);
	gvm.quiet = true;
	gvm.tx[0].hold_completions = true;
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	uint16_t t = last_tag();
	uint64_t held = ((const struct gve_tx_desc_dqo *)sc->tx[0]
			     .ring.va)[(sc->tx[0].tail - 1) & sc->tx[0].mask]
			    .buf_addr;
	assert_int_equal(gvm.violations, 0);
	dqo_tx_forge((uint16_t)(t + 1), held + 64, 100);
	caught("overlaps tag");
	dqo_tx_forge((uint16_t)(t + 2), sc->tx[1].ring.iova, 100);
	caught("overlaps the device's tx ring");
	/* DQO RX: a buffer posted again while the device holds it */
	struct gve_rx *rx = &sc->rx[0];
	struct gve_rx_buf_desc_dqo *bq = rx->data.va;
	assert_int_equal(rx->bufq_tail, 63); /* 0..31 handed over */
	bq[40].buf_id = bq[5].buf_id;
	bq[40].buf_addr = bq[5].buf_addr;
	gve_db_write_le(sc, rx->db_index, 48);
	caught("posted while the device holds");
	gvm.violations = 0;
	gve_detach(sc);
	softc_drop();
	/* GQI_QPL TX: FIFO space taken again before it was reported done */
	c = cfgf(1, GVE_QF_GQI_QPL);
	assert_int_equal(start(&c), 0);
	gvm.quiet = true;
	gvm.tx[0].hold_completions = true;
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	sc->tx[0].fifo_head = 0;
	sc->tx[0].fifo_avail = sc->tx[0].fifo_size;
	assert_int_equal(gve_send(sc, f, sizeof(f)), 0);
	caught("not yet reported done");
	gve_detach(sc);
	softc_drop();
	/* GQI_RDA RX: a slot re-posted on the descriptor ring */
	c = cfgf(1, GVE_QF_GQI_RDA);
	assert_int_equal(start(&c), 0);
	gvm.quiet = true;
	assert_true(gvm_rx_inject(0, f, sizeof(f)));
	((uint64_t *)sc->rx[0].data.va)[0] = cpu_to_be64(sc->rx[1].desc.iova);
	assert_int_equal(gve_recv(sc, g, sizeof(g)), (int)sizeof(f));
	caught("overlaps the device's rx descriptor ring");
	gvm.violations = 0;
	finish(false);
}

static void t_model_catches(void **s)
{
	struct gvm_config c = cfg(1, false);
	struct gve_grants g;
	struct dma_pool p;
	unsigned v;

	model_reset(&c);
	gvm.quiet = true;
	g = host_gve_grants();
	/* a read-only register */
	v = gvm.violations;
	mmio_write_be32(&g.reg, GVE_REG_DEVICE_STATUS, 0);
	assert_int_equal(gvm.violations, v + 1);
	/* an admin doorbell before the queue is registered */
	mmio_write_be32(&g.reg, GVE_REG_ADMINQ_DOORBELL, 1);
	assert_int_equal(gvm.violations, v + 2);
	/* little-endian where the device is big-endian */
	mmio_write32(&g.reg, GVE_REG_DRIVER_STATUS, GVE_DRVSTAT_RUN);
	assert_int_equal(gvm.violations, v + 3);
	mmio_write16(&g.reg, GVE_REG_ADMINQ_LENGTH, GVE_ADMINQ_SIZE);
	assert_int_equal(gvm.violations, v + 4);
	/* the wrong width */
	mmio_write8(&g.reg, GVE_REG_ADMINQ_DOORBELL, 1);
	assert_int_equal(gvm.violations, v + 5);
	/* an admin queue outside every pool */
	mmio_write_be16(&g.reg, GVE_REG_ADMINQ_LENGTH, GVE_ADMINQ_SIZE);
	mmio_write_be32(&g.reg, GVE_REG_ADMINQ_BASE_HI, 0);
	mmio_write_be32(&g.reg, GVE_REG_ADMINQ_BASE_LO, 0x5000);
	mmio_write_be32(&g.reg, GVE_REG_DRIVER_STATUS, GVE_DRVSTAT_RUN);
	assert_true(gvm.violations >= v + 6);
	/* a pool revoked while the device holds its admin queue */
	v = gvm.violations;
	mmio_write_be32(&g.reg, GVE_REG_DRIVER_STATUS, GVE_DRVSTAT_RESET);
	assert_int_equal(dma_pool_create(GVM_OWNER, 8192, 0, &p), 0);
	mmio_write_be32(&g.reg, GVE_REG_ADMINQ_BASE_HI,
			(uint32_t)(p.iova >> 32));
	mmio_write_be32(&g.reg, GVE_REG_ADMINQ_BASE_LO, (uint32_t)p.iova);
	mmio_write_be16(&g.reg, GVE_REG_ADMINQ_LENGTH, GVE_ADMINQ_SIZE);
	mmio_write_be32(&g.reg, GVE_REG_DRIVER_STATUS, GVE_DRVSTAT_RUN);
	assert_int_equal(gvm.violations, v);
	dma_pool_revoke(&p);
	assert_int_equal(gvm.violations, v + 1);
	assert_non_null(strstr(gvm.first_violation, "device_status") ||
				strstr(gvm.first_violation, "read-only")
			    ? gvm.first_violation
			    : NULL);
	/* a doorbell index nobody owns, and one outside BAR2 */
	v = gvm.violations;
	mmio_write32(&g.db, 4 * 1000, 1);
	assert_int_equal(gvm.violations, v + 1);
	mmio_write32(&g.db, 4096, 1);
	assert_int_equal(gvm.violations, v + 2);
	assert_int_equal(auth_refusals[AUTH_OUT_OF_WINDOW], 1);
	host_auth_reset();
}

#define T(f) cmocka_unit_test_setup(f, fresh)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(t_formats_matrix),
	    T(t_counter_wrap_gqi),
	    T(t_tx_full_gqi),
	    T(t_tx_full_dqo),
	    T(t_rx_backlog_gqi),
	    T(t_rx_backlog_dqo),
	    T(t_admin_status_codes),
	    T(t_verify_compat),
	    T(t_optional_commands_lacked),
	    T(t_admin_timeout),
	    T(t_attach_slow_admin_bounded),
	    T(t_detach_slow_admin_bounded),
	    T(t_admin_counter_hostile),
	    T(t_admin_counter_hostile_link_speed),
	    T(t_admin_counter_early),
	    T(t_hostile_gqi_tx_counter),
	    T(t_hostile_gqi_rx_len_short),
	    T(t_hostile_gqi_rx_len_long),
	    T(t_gqi_rx_err_and_frag),
	    T(t_gqi_rx_len_bounds),
	    T(t_dqo_rx_err),
	    T(t_send_len_bounds),
	    T(t_send_resets_first),
	    T(t_rx_round_robin),
	    T(t_hostile_dqo_tx_head),
	    T(t_hostile_dqo_tag_range),
	    T(t_hostile_dqo_tag_idle),
	    T(t_hostile_dqo_tag_twice),
	    T(t_hostile_dqo_tag_stale),
	    T(t_hostile_dqo_tag_alt_miss),
	    T(t_hostile_dqo_compl_type),
	    T(t_hostile_dqo_rx_buf_id),
	    T(t_hostile_dqo_rx_unposted),
	    T(t_hostile_dqo_rx_unrung),
	    T(t_hostile_dqo_rx_len),
	    T(t_hostile_dqo_rx_bufq),
	    T(t_hostile_dqo_rx_split),
	    T(t_hostile_irq_db_index),
	    T(t_hostile_queue_db_index),
	    T(t_hostile_counter_index),
	    T(t_hostile_descriptor_fields),
	    T(t_hostile_options),
	    T(t_option_priority),
	    T(t_verify_compat_answers),
	    T(t_gqi_tx_layout),
	    T(t_dqo_miss_path),
	    T(t_dqo_tx_head_ring_size),
	    T(t_interrupt_layout),
	    T(t_dqo_irq_automask),
	    T(t_dqo_ctx_desc),
	    T(t_pci_windows),
	    T(t_pci_attach_fails_off_bus),
	    T(t_pci_failed_attach_keeps_no_slot),
	    T(t_pci_rebind_reuses_slot),
	    T(t_pci_attach_lacks),
	    T(t_pci_attach_vanish_sweep),
	    T(t_pci_detach_vanish_sweep),
	    T(t_pci_reset_vanish_sweep),
	    T(t_service_vanish_link_speed),
	    T(t_pci_detach_reset_never_completes),
	    T(t_pci_detach_owner_revoked),
	    T(t_pci_detach_owner_quarantined),
	    T(t_pci_detach_mid_reset),
	    T(t_pci_detach_after_gone),
	    T(t_pci_give_up_tells_devmgr),
	    T(t_detach_gone_then_back),
	    T(t_model_catches_formats),
	    T(t_interrupts),
	    T(t_link_and_stats),
	    T(t_link_flaps_rate_limited),
	    T(t_link_speed_slow_device),
	    T(t_device_gone),
	    T(t_fail_masks_vectors),
	    T(t_reset_never_completes),
	    T(t_attach_fails_reset_never),
	    T(t_reset_recovery_fails),
	    T(t_reset_storm_given_up),
	    T(t_reset_backoff),
	    T(t_reset_slow_device_budget),
	    T(t_polling_only),
	    T(t_model_catches),
	    T(t_model_catches_buffers),
	    /* last: it fills gve_pci.c's GVE_MAX_DEVS slots for good */
	    T(t_pci_too_many_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
