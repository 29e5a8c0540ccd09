/* tests/host/gvnic/fuzz_gvnic.c — libFuzzer target: the gVNIC driver core
 * under arbitrary device behaviour.
 *
 * Input byte 0 picks a mode. With bit 7 set, the rest is a device
 * descriptor handed to the option parser as DESCRIBE_DEVICE's answer.
 * Otherwise bit 0 picks the PCI revision, bits 1-2 the queue format (all
 * four), bit 3 an UNIMPLEMENTED compatibility answer and bit 4 a device
 * with 17 MSI-X vectors (Linux's layout past four blocks); the rest is a
 * script of device actions — frames, forged counters and completions
 * (miss, re-injection, alternate miss), status bits, admin status
 * overrides, the clock jumping past the miss-path timeouts — interleaved
 * with driver sends and receives. A model violation (the driver broke the
 * interface), a sanitizer report, or memory revoked while the device holds it
 * is a finding. */
#include <stdlib.h>

#include "drivers/gvnic/gve_var.h"
#include "gvnic_model.h"
#include "kernel/lib/lib.h"
#include "shim.h"

static struct gve_softc sc;

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
	gvm.quiet = true;
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
	c.compat_unimplemented = mode & 8;
	if (mode & 16)
		c.msix = 17, c.max_queues = 4;
	bool dqo = c.dqo || c.dqo_qpl;
	host_auth_reset();
	gvm_init(&c);
	gvm.quiet = true;
	memset(&sc, 0, sizeof(sc));
	struct gve_grants g = host_gve_grants();
	if (gve_attach(&sc, &g) != 0) {
		gve_detach(&sc);
		return;
	}
	for (unsigned steps = 0; r->n && steps < 256; steps++) {
		unsigned q = take(r, 1);
		unsigned op = q % 13;
		q = (q >> 4) % sc.nqueues;
		switch (op) {
		case 0: { /* the driver sends */
			size_t len = 14 + take(r, 1) * 6;
			memset(f, (int)len, len);
			(void)gve_send(&sc, f, len);
			while (gvm_wire_pop(f, sizeof(f)) > 0)
				;
			break;
		}
		case 1: { /* the device delivers a frame */
			size_t len = 14 + take(r, 1) * 5;
			memset(f, 0x5a, len);
			(void)gvm_rx_inject(q, f, len);
			break;
		}
		case 2:
			if (!dqo && gvm.tx[q].live)
				gvm_gqi_tx_counter(q, sc.tx[q].done +
							  take(r, 1) - 8);
			break;
		case 3:
			if (!dqo && gvm.rx[q].live &&
			    gvm.rx[q].fill != gvm.rx[q].cnt)
				gvm_gqi_rx_raw(q, (uint16_t)take(r, 2),
					       (uint16_t)(take(r, 2) & ~7u));
			break;
		case 4:
			if (dqo && gvm.tx[q].live)
				gvm_dqo_tx_raw(q, take(r, 1) & 7,
					       (uint16_t)take(r, 2));
			break;
		case 5:
			if (dqo && gvm.rx[q].live) {
				uint32_t v = take(r, 1);
				gvm_dqo_rx_raw(q, (uint16_t)take(r, 2),
					       (uint16_t)(take(r, 2) & 0x3fff),
					       v & 1, v & 2);
			}
			break;
		case 6: /* device status bits: reset, link, stats */
			gvm_set_status(take(r, 1) & (GVE_DEVSTAT_RESET |
						     GVE_DEVSTAT_LINK_UP |
						     GVE_DEVSTAT_REPORT_STATS),
				       GVE_DEVSTAT_LINK_UP |
					   GVE_DEVSTAT_REPORT_STATS);
			break;
		case 7: /* the next command of some opcode fails */
			gvm.override_op = take(r, 1) % 16;
			gvm.override_status = 0xfffffff0u | take(r, 1);
			break;
		case 8:
			gvm.bogus_counter = take(r, 1) & 1;
			break;
		case 9:
			gvm.cfg.link_mbps = take(r, 4);
			(void)gve_aq_link_speed(&sc);
			break;
		case 10:
			if (!dqo)
				gvm.tx[q].hold_completions = take(r, 1) & 1;
			else
				gvm_tx_flush(q);
			if (!gvm.tx[q].hold_completions && gvm.tx[q].live)
				gvm_tx_flush(q);
			break;
		case 11: /* time passes: miss-path timeouts, status polls */
			shim_clock_ns += (uint64_t)take(r, 1) * 500000000ull;
			break;
		default:
			break;
		}
		/* the driver polls after every device action */
		while (gve_recv(&sc, f, sizeof(f)) > 0)
			;
	}
	gvm.override_op = GVM_NO_OVERRIDE;
	gvm.bogus_counter = 0;
	gve_detach(&sc);
	if (!sc.memory_held && host_pools_live() != 0)
		__builtin_trap(); /* memory leaked after a confirmed reset */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shim_quiet = 1;
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
