/* tests/host/gvnic/fuzz_gvnic.c — libFuzzer target: the gVNIC driver core
 * under arbitrary device behaviour.
 *
 * Input byte 0 picks a mode. With bit 7 set, the rest is a device
 * descriptor handed to the option parser as DESCRIBE_DEVICE's answer.
 * Otherwise bit 0 picks the PCI revision, bits 1-2 the queue format (all
 * four), bit 3 a device without the optional admin commands (compatibility,
 * stats report, link speed: UNIMPLEMENTED), bit 4 a device
 * with 17 MSI-X vectors (Linux's layout past four blocks) and bit 5 a
 * device that vanishes (surprise removal: every read all ones, for good)
 * after as many register and doorbell accesses as the next byte says (with
 * bit 6, the next two), counted from the attach's first (a healthy attach
 * makes some 105 to 200); the rest is a
 * script of device actions — frames, forged counters and completions
 * (miss, re-injection, alternate miss), a DQO TX completion written
 * twice, status bits, admin status overrides, the clock jumping past the
 * miss-path timeouts — interleaved with driver sends and receives. A model
 * violation (the driver broke the interface: DMA outside its pools, a data
 * buffer on a ring or other structure the device holds, outside the queue's
 * page list, or reused while the device holds it), a sanitizer report, memory
 * revoked while the device holds it, or a frame oracle failing is a finding.
 *
 * The frame oracle: every frame the model delivers carries a serial number
 * and a pattern derived from it; a frame the driver receives that carries
 * the mark must be one delivered and not yet received, byte for byte
 * (never twice, never another's bytes), and one without it needs a forged
 * completion to account for it. The model zeroes each buffer as it
 * is handed over, so a forged completion can only return zeroes or a frame
 * the device wrote since. Every frame the driver accepts to send must leave
 * on the wire once, unchanged, and nothing else. Until the script forges a
 * counter, completion or event counter, the driver may refuse nothing
 * (gve_hostile): the model is an honest device. A copy of one of the last
 * GVM_CLOG packet, miss or re-injection completions names a use of a tag
 * that is over; the driver must refuse it (gve_hostile or its ignored
 * count), not complete whatever now holds the tag. However the link flaps,
 * link lines come at most once per NIC_LINK_LOG_US. However the device
 * asks for resets (after every recovery, too) and however slowly it
 * answers admin commands, no driver call holds the main loop past its
 * bound, and none at run time waits on the device at all (fz_held), and the
 * device is reset at most GVE_RESET_MAX times and once more to give it up in a
 * streak (fz_resets). Each script ends with fz_buffers_back (no buffer
 * completed twice; with an honest device, none never completed) and a
 * detach that leaves no vector, no memory after a confirmed release, and
 * does not wait on a device gone (the script may make every register read
 * all ones). A device that vanished during the attach is never attached:
 * the attach fails in one line without waiting, leaves no vector, and
 * keeps memory only when its release was unconfirmed and never when the
 * device read all ones before it was handed the admin queue
 * (gvm.gone_unhanded). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/gvnic/gve_var.h"
#include "gvnic_model.h"
#include "kernel/lib/lib.h"
#include "shim.h"

static struct gve_softc sc;

/* frames delivered to the driver: serial -> length, and whether received */
#define FZ_SERIALS 512
static uint16_t fz_len[FZ_SERIALS];
static uint8_t fz_state[FZ_SERIALS]; /* 0 none, 1 delivered, 2 received */
static uint32_t fz_serial;
/* forged RX completions written: the only source of an unmarked frame */
static uint32_t fz_forged;

/* a finding: say which oracle fired, then stop */
static void fz_fail(const char *why, uint32_t serial)
{
	fprintf(stderr, "fuzz_gvnic: %s (serial %u)\n", why, serial);
	__builtin_trap();
}

static void fz_frame(uint8_t *f, size_t len, uint32_t serial, uint8_t kind)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(serial * 131 + i * 7 + kind);
	memcpy(f, "GVM", 3);
	f[3] = kind;
	f[4] = (uint8_t)(serial >> 24), f[5] = (uint8_t)(serial >> 16);
	f[6] = (uint8_t)(serial >> 8), f[7] = (uint8_t)serial;
}

/* what gve_recv returned: one of the model's frames at most once, exact */
static void fz_received(const uint8_t *f, int n)
{
	uint8_t want[2048];
	if (n < 8 || memcmp(f, "GVMR", 4)) {
		/* bytes the model never delivered: a forged completion's */
		if (!fz_forged--)
			fz_fail("received a frame no completion accounts for",
				0);
		return;
	}
	uint32_t s = (uint32_t)f[4] << 24 | (uint32_t)f[5] << 16 |
		     (uint32_t)f[6] << 8 | f[7];
	if (s == 0 || s >= FZ_SERIALS || fz_state[s] == 0)
		fz_fail("received a frame never delivered", s);
	if (fz_state[s] == 2)
		fz_fail("received a frame twice", s);
	fz_frame(want, fz_len[s], s, 'R');
	if ((size_t)n != fz_len[s] || memcmp(f, want, (size_t)n))
		fz_fail("received a frame changed", s);
	fz_state[s] = 2;
}

/* one driver call held the main loop at most GVE_SERVICE_WAIT_MAX_US less
 * the two releases in it, which the model confirms at once: one
 * recovery's budget (and one poll step past it), plus the clock's own
 * ticks (100 ns a read). A call at run time — the device up, and neither
 * reset nor registered again during it — waits on nothing:
 * GVE_RUN_WAIT_MAX_US, plus the ticks */
#define FZ_HELD_MAX_NS                                                         \
	((GVE_SERVICE_WAIT_MAX_US - 2 * GVE_RELEASE_WAIT_MAX_US) * 1000ull +   \
	 10000000ull)
#define FZ_RUN_HELD_MAX_NS (GVE_RUN_WAIT_MAX_US * 1000ull + 1000000ull)
struct fz_call {
	uint64_t t0;
	bool up;
	unsigned resets, registrations;
};
static struct fz_call fz_call(void)
{
	return (struct fz_call){shim_clock_ns, sc.state == GVE_S_UP, gvm.resets,
				gvm.registrations};
}
static void fz_held(struct fz_call c)
{
	uint64_t held = shim_clock_ns - c.t0;
	bool run = c.up && sc.state == GVE_S_UP && gvm.resets == c.resets &&
		   gvm.registrations == c.registrations;
	if (held > FZ_HELD_MAX_NS)
		fz_fail("one call held the main loop past its bound",
			(uint32_t)(held / 1000000));
	if (run && held > FZ_RUN_HELD_MAX_NS)
		fz_fail("one call at run time waited on the device",
			(uint32_t)(held / 1000));
}

/* device resets (the model's, so whatever the driver counts): at most
 * GVE_RESET_MAX carried out and the release that gives the device up in
 * one streak. A streak ends when a reset comes GVE_RESET_QUIET_US after
 * the one before; the driver measures that from its own reset, which may
 * lie up to a call's bound before the step's end, so the oracle ends it a
 * bound early: it may miss a storm, never blame a driver that kept it */
static unsigned fz_streak, fz_resets_seen;
static uint64_t fz_reset_ns;
static void fz_resets(void)
{
	unsigned n = gvm.resets - fz_resets_seen;
	if (!n)
		return;
	fz_resets_seen = gvm.resets;
	if (shim_clock_ns - fz_reset_ns + FZ_HELD_MAX_NS >=
	    GVE_RESET_QUIET_US * 1000ull)
		fz_streak = 0;
	fz_reset_ns = shim_clock_ns;
	fz_streak += n;
	if (fz_streak > GVE_RESET_MAX + 1)
		fz_fail("device reset past GVE_RESET_MAX in a streak",
			fz_streak);
}

static int fz_recv(uint8_t *f, size_t cap)
{
	struct fz_call c = fz_call();
	int n = gve_recv(&sc, f, cap);
	fz_held(c);
	if (n > 0)
		fz_received(f, n);
	return n;
}

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint32_t take(struct rd *r, unsigned bytes)
{
	uint32_t v = 0;
	while (bytes--) {
		v = v << 8 | (r->n ? *r->p : 0);
		if (r->n)
			r->p++, r->n--;
	}
	return v;
}

static void fz_descriptor(const uint8_t *data, size_t size)
{
	static uint8_t buf[4096];
	memset(buf, 0, sizeof(buf));
	memcpy(buf, data, MIN(size, sizeof(buf)));
	memset(&sc, 0, sizeof(sc));
	strlcpy(sc.name, "gve0", sizeof(sc.name));
	(void)gve_aq_parse_descriptor(&sc, buf, sizeof(buf));
	/* or as the device's answer through the full bring-up */
	struct gvm_config c;
	gvm_default_config(&c);
	host_auth_reset();
	gvm_init(&c);
	gvm.quiet = !getenv("FUZZ_GVNIC_TRACE");
	gvm.desc_override = buf;
	gvm.desc_override_len = sizeof(buf);
	memset(&sc, 0, sizeof(sc));
	struct gve_grants g = host_gve_grants();
	if (gve_attach(&sc, &g) == 0) {
		uint8_t f[64] = {0};
		(void)gve_send(&sc, f, sizeof(f));
		(void)gve_recv(&sc, f, sizeof(f));
	}
	gve_detach(&sc);
}

/* every buffer comes back: the ring accounting holds after every
 * script, and once an honest device (nothing forged) up and not resetting
 * has given every completion it held, no buffer stays with the device —
 * every DQO completion tag free (none on the miss path: only a forged
 * completion puts one there), the GQI TX descriptors and FIFO space
 * reclaimed. A buffer never completed (leaked) or completed twice breaks
 * the counts */
static void fz_buffers_back(bool forged_any, uint8_t *f, size_t cap)
{
	if (sc.state != GVE_S_UP)
		return;
	bool honest = !forged_any && !sc.reset_wanted &&
		      gvm.device_status != GVE_DEVSTAT_GONE;
	for (unsigned q = 0; honest && q < sc.nqueues; q++)
		if (gvm.tx[q].live)
			gvm_tx_flush(q);
	while (honest && fz_recv(f, cap) > 0)
		;
	honest &= sc.state == GVE_S_UP && !sc.reset_wanted;
	for (unsigned q = 0; sc.state == GVE_S_UP && q < sc.nqueues; q++) {
		const struct gve_tx *tx = &sc.tx[q];
		const struct gve_rx *rx = &sc.rx[q];
		bool dqo = gve_is_dqo(&sc);
		if (dqo && (tx->ntag_free > tx->ntags ||
			    rx->posted_cnt + rx->nbuf_free != rx->nbufs))
			fz_fail("buffer counts broken (completed twice?)", q);
		if (!dqo && (tx->req - tx->done > tx->size ||
			     tx->fifo_avail > tx->fifo_size ||
			     rx->fill_cnt - rx->cnt != rx->size))
			fz_fail("buffer counts broken (completed twice?)", q);
		if (!honest)
			continue;
		if (dqo ? tx->ntag_free != tx->ntags || tx->nmissed
			: tx->done != tx->req ||
			      tx->fifo_avail != tx->fifo_size)
			fz_fail("tx buffer never completed by an honest device",
				q);
	}
}

static void fz_script(uint8_t mode, struct rd *r)
{
	struct gvm_config c;
	uint8_t f[2048];

	static const uint8_t fmts[] = {GVE_QF_GQI_QPL, GVE_QF_GQI_RDA,
				       GVE_QF_DQO_RDA, GVE_QF_DQO_QPL};
	uint8_t fmt = fmts[(mode >> 1) & 3];
	gvm_default_config(&c);
	c.revision = mode & 1;
	c.dqo = fmt == GVE_QF_DQO_RDA;
	c.dqo_qpl = fmt == GVE_QF_DQO_QPL;
	c.gqi_rda = fmt == GVE_QF_GQI_RDA;
	if (mode & 8) /* a device without the optional commands */
		c.lacks = 1u << GVE_AQ_VERIFY_DRIVER_COMPATIBILITY |
			  1u << GVE_AQ_REPORT_STATS |
			  1u << GVE_AQ_REPORT_LINK_SPEED;
	if (mode & 16)
		c.msix = 17, c.max_queues = 4;
	bool dqo = c.dqo || c.dqo_qpl;
	host_auth_reset();
	gvm_init(&c);
	gvm.quiet = !getenv("FUZZ_GVNIC_TRACE");
	if (mode & 32) /* bit 6: past the attach's 255 accesses */
		gvm.vanish_after = take(r, mode & 64 ? 2 : 1);
	memset(&sc, 0, sizeof(sc));
	struct gve_grants g = host_gve_grants();
	uint64_t ta = shim_clock_ns;
	int rc = gve_attach(&sc, &g);
	if (gvm.vanished) {
		/* every attach ends reading device_status: a device gone
		 * during it is seen */
		if (rc == 0)
			fz_fail("attached a device that vanished", 0);
		if (shim_clock_ns - ta > FZ_RUN_HELD_MAX_NS)
			fz_fail("attach waited on a device gone",
				(uint32_t)((shim_clock_ns - ta) / 1000));
		if (shim_kprintf_calls - gvm.lines_at_vanish != 1)
			fz_fail("not one line for an attach the device left",
				(uint32_t)(shim_kprintf_calls -
					   gvm.lines_at_vanish));
	}
	if (rc != 0) {
		bool held = sc.memory_held;
		gve_detach(&sc);
		if (host_irqs_bound())
			fz_fail("vector left bound after a failed attach",
				host_irqs_bound());
		if ((!held || gvm.gone_unhanded) && host_pools_live())
			fz_fail("memory kept after a failed attach",
				host_pools_live());
		return;
	}
	memset(fz_state, 0, sizeof(fz_state));
	fz_serial = fz_forged = 0;
	fz_streak = 0;
	fz_resets_seen = gvm.resets;
	fz_reset_ns = shim_clock_ns;
	bool forged_any = false; /* a forged counter, completion or value */
	uint64_t t_up = shim_clock_ns, link_lines = 0;
	for (unsigned steps = 0; r->n && steps < 256; steps++) {
		uint64_t calls0 = shim_kprintf_calls;
		unsigned q = take(r, 1);
		unsigned op = q % 13;
		q = (q >> 4) % sc.nqueues;
		/* a device gone stays gone and writes nothing: no frame,
		 * completion or status change (its memory would hold what
		 * it wrote before, never zeroed for a buffer it did not see
		 * posted) */
		if (gvm.device_status == GVE_DEVSTAT_GONE && op != 0 &&
		    op != 7 && op != 9 && op != 11)
			op = 13;
		switch (op) {
		case 0: { /* the driver sends: the frame leaves once */
			size_t len = 14 + take(r, 1) * 6;
			uint8_t w[2048];
			fz_frame(f, len, ++fz_serial, 'T');
			struct fz_call c = fz_call();
			uint64_t dropped = sc.nic.stats.tx_dropped;
			int rc = gve_send(&sc, f, len);
			int sent = rc == 0;
			fz_held(c);
			/* a frame of a good length to a device up is taken or
			 * held (NIC_TX_FULL, nothing dropped), never dropped */
			if (rc == -1 && sc.state == GVE_S_UP &&
			    len <= GVE_MTU + 18)
				fz_fail("frame dropped by a device up",
					fz_serial);
			if (rc == NIC_TX_FULL &&
			    sc.nic.stats.tx_dropped != dropped)
				fz_fail("held frame counted dropped",
					fz_serial);
			int n = gvm_wire_pop(w, sizeof(w));
			/* a device gone sends nothing: the frame is lost
			 * with it */
			if (sent && gvm.device_status != GVE_DEVSTAT_GONE &&
			    (n != (int)len || memcmp(f, w, len)))
				fz_fail("sent frame lost or changed",
					fz_serial);
			if (!sent && n > 0)
				fz_fail("refused frame sent", fz_serial);
			if (gvm_wire_pop(w, sizeof(w)) > 0)
				fz_fail("frame sent twice", fz_serial);
			break;
		}
		case 1: { /* the device delivers a frame */
			size_t len = 14 + take(r, 1) * 5;
			uint32_t s = ++fz_serial;
			fz_frame(f, len, s, 'R');
			if (s < FZ_SERIALS && gvm_rx_inject(q, f, len)) {
				fz_len[s] = (uint16_t)len;
				fz_state[s] = 1;
			}
			break;
		}
		case 2:
			if (!dqo && gvm.tx[q].live) {
				gvm_gqi_tx_counter(q, sc.tx[q].done +
							  take(r, 1) - 8);
				forged_any = true;
			}
			break;
		case 3:
			if (!dqo && gvm.rx[q].live &&
			    gvm.rx[q].fill != gvm.rx[q].cnt) {
				gvm_gqi_rx_raw(q, (uint16_t)take(r, 2),
					       (uint16_t)(take(r, 2) & ~7u));
				fz_forged++;
				forged_any = true;
			}
			break;
		case 4:
			if (dqo && gvm.tx[q].live) {
				gvm_dqo_tx_raw(q, take(r, 1) & 7,
					       (uint16_t)take(r, 2));
				forged_any = true;
			}
			break;
		case 5:
			if (dqo && gvm.rx[q].live) {
				uint32_t v = take(r, 1);
				gvm_dqo_rx_raw(q, (uint16_t)take(r, 2),
					       (uint16_t)(take(r, 2) & 0x3fff),
					       v & 1, v & 2);
				fz_forged++;
				forged_any = true;
			}
			break;
		case 6: { /* device status bits: reset, link, stats; bit 4:
			   * a reset asked for after every recovery; bits 5
			   * and 6 both: the device is gone for good (every
			   * register reads all ones) */
			uint32_t v = take(r, 1);
			gvm.reset_storm = v & 0x10;
			if ((v & 0x60) == 0x60) {
				gvm.device_status = GVE_DEVSTAT_GONE;
				break;
			}
			gvm_set_status(
			    v & (GVE_DEVSTAT_RESET | GVE_DEVSTAT_LINK_UP |
				 GVE_DEVSTAT_REPORT_STATS),
			    GVE_DEVSTAT_LINK_UP | GVE_DEVSTAT_REPORT_STATS);
			break;
		}
		case 7: /* the next command of some opcode fails */
			gvm.override_op = take(r, 1) % 16;
			gvm.override_status = 0xfffffff0u | take(r, 1);
			break;
		case 8: { /* a bogus event counter; the admin commands of
			   * each doorbell answered 0..2.03 s after it (16 ms
			   * steps: 125 is just before the driver's last read,
			   * 2.001 s after the doorbell, 126 past it). A
			   * command answered after the driver gave up on it
			   * moves the counter with no doorbell outstanding:
			   * not an honest device */
			uint32_t v = take(r, 1);
			gvm.bogus_counter = v & 1;
			gvm.aq_delay_ns = (uint64_t)(v >> 1) * 16000000ull;
			forged_any |= gvm.bogus_counter ||
				      gvm.aq_delay_ns >= 1000000000ull;
			break;
		}
		case 9: { /* the link speed asked for, as at a link "up" */
			gvm.cfg.link_mbps = take(r, 4);
			if (sc.state != GVE_S_UP || sc.aq_rung)
				break;
			struct fz_call c = fz_call();
			(void)gve_aq_link_speed_post(&sc);
			fz_held(c);
			break;
		}
		case 10: /* completions held back, or all given now */
			gvm.tx[q].hold_completions = take(r, 1) & 1;
			if (!gvm.tx[q].hold_completions && gvm.tx[q].live)
				gvm_tx_flush(q);
			break;
		case 11: /* time passes: miss-path timeouts, status polls */
			shim_clock_ns += (uint64_t)take(r, 1) * 500000000ull;
			break;
		case 12: { /* a TX completion counted twice */
			struct gve_tx *tx = &sc.tx[q];
			unsigned k = take(r, 1) % GVM_CLOG;
			if (!dqo)
				break;
			while (fz_recv(f, sizeof(f)) > 0)
				;
			/* the driver read every completion written: the copy
			 * is the next it reads, unless a reset comes first */
			bool read = sc.state == GVE_S_UP && !sc.reset_wanted &&
				    tx->compl_head == gvm.tx[q].ctail;
			uint64_t refused = sc.hostile + tx->unexpected,
				 resets = sc.resets;
			if (!gvm_dqo_tx_replay(q, k))
				break;
			forged_any = true;
			while (fz_recv(f, sizeof(f)) > 0)
				;
			/* it names a use of a tag that is over (the device
			 * holds nothing for it): refused, never completed */
			if (read && sc.resets == resets &&
			    sc.hostile + tx->unexpected == refused)
				fz_fail("accepted a completion counted twice",
					k);
			break;
		}
		default:
			break;
		}
		/* the driver polls after every device action */
		while (fz_recv(f, sizeof(f)) > 0)
			;
		fz_resets();
		/* link lines at most one per NIC_LINK_LOG_US, however the
		 * link flaps (a line ends in another line's step only if it
		 * was not the step's last: counted at least this often) */
		if (shim_kprintf_calls != calls0 &&
		    !strncmp(shim_last_line, "gve0: link", 10) &&
		    ++link_lines > 1 + (shim_clock_ns - t_up) /
					   (NIC_LINK_LOG_US * 1000ull))
			fz_fail("link lines past one per NIC_LINK_LOG_US",
				(uint32_t)link_lines);
		/* a device that forged nothing is never refused */
		if (!forged_any && sc.hostile)
			fz_fail("refused a value an honest device gave",
				(uint32_t)sc.hostile);
	}
	gvm.override_op = GVM_NO_OVERRIDE;
	gvm.bogus_counter = 0;
	fz_buffers_back(forged_any, f, sizeof(f));
	/* the detach: nothing of the driver's left but what the device may
	 * still own, and a device gone (all ones) is not waited for: it can
	 * confirm nothing */
	bool gone = gvm.device_status == GVE_DEVSTAT_GONE;
	uint64_t t0 = shim_clock_ns;
	gve_detach(&sc);
	if (gone && shim_clock_ns - t0 > FZ_RUN_HELD_MAX_NS)
		fz_fail("detach waited on a device gone",
			(uint32_t)((shim_clock_ns - t0) / 1000000));
	/* its admin waits within their budget (and a poll step past it),
	 * then one release */
	if (shim_clock_ns - t0 >
	    (GVE_DETACH_AQ_BUDGET_US + GVE_RELEASE_WAIT_MAX_US +
	     GVE_ADMINQ_POLL_US) *
		    1000ull +
		10000000ull)
		fz_fail("detach held the main loop past its bound",
			(uint32_t)((shim_clock_ns - t0) / 1000000));
	if (host_irqs_bound())
		fz_fail("vector left bound after detach", host_irqs_bound());
	if (!sc.memory_held && host_pools_live() != 0)
		fz_fail("memory leaked after a confirmed reset",
			host_pools_live());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shim_quiet = !getenv("FUZZ_GVNIC_TRACE");
	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		fz_descriptor(data + 1, size - 1);
	} else {
		struct rd r = {data + 1, size - 1};
		fz_script(data[0], &r);
	}
	return 0;
}
