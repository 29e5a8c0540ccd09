/* tests/host/gvnic/test_gvnic_http.c — capOS's IP stack and Web UI
 * (kernel/net) over the gVNIC driver over the device model: an HTTP
 * GET /api/devices travels as Ethernet frames through the driver's rings and
 * the model's wire, once per queue format, and the JSON that comes back is
 * the one the devices provider (kernel/devmgr/devices.c) writes from the
 * PCI table below.
 *
 * The test plays the peer (10.0.2.2) with the stack's own wire helpers:
 * frames it builds go in through gvm_rx_inject, frames the stack sends come
 * out of the model's wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "drivers/gvnic/gve_var.h"
#include "gvnic_model.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"
#include "kernel/net/net.h"
#include "kernel/net/net_wire.h"
#include "kernel/pci/pci.h"
#include "shim.h"
#include "tests/host/net/netframe.h"

/* ---- the kernel state the Web UI shows ----------------------------------- */
static const struct driver gve_drv_stub = {.name = "gve"};
struct pci_dev pci_devs[2] = {
    NETFRAME_Q35_HOST_BRIDGE,
    {.bus = 0,
     .dev = 4,
     .fn = 0,
     .vendor = 0x1ae0,
     .device = 0x0042,
     .class_code = 0x020000,
     .drv = &gve_drv_stub,
     .state = "gve0"},
};
unsigned pci_ndevs = 2;

/* the model's MAC: the stack runs on the gVNIC */
const uint8_t stack_mac[6] = {0x42, 0x01, 0x0a, 0x80, 0x00, 0x02};

static struct gve_softc *sc;

static void pump(void)
{
	for (int i = 0; i < 8; i++) {
		shim_clock_ns += 1000000;
		net_poll();
	}
}

static void peer_send_frame(const uint8_t *f, size_t len)
{
	assert_true(gvm_rx_inject(0, f, len));
	pump();
}

static uint16_t peer_port = 40000;

static void tcp_out(uint32_t seq, uint32_t ack, uint8_t flags, const char *data,
		    size_t len)
{
	uint8_t f[1600];
	peer_send_frame(f, build_tcp(f, peer_port, 80, seq, ack, flags, 65535,
				     data, len, flags & TCP_SYN ? 1460 : 0));
}

/* next TCP segment the stack sent to the peer; false when none */
static bool tcp_in(struct tcp_view *tv, uint8_t *keep)
{
	int n;
	while ((n = gvm_wire_pop(keep, 2048)) > 0) {
		struct eth_view e;
		struct ipv4_view ip;
		if (eth_parse(keep, (size_t)n, &e) || e.type != ETHERTYPE_IPV4)
			continue;
		assert_memory_equal(e.src, stack_mac, 6);
		if (ipv4_parse(e.payload, e.len, &ip) ||
		    ip.proto != IP_PROTO_TCP)
			continue;
		assert_int_equal(tcp_parse(&ip, tv), 0);
		if (tv->dport != peer_port)
			continue; /* the tail of an earlier connection */
		return true;
	}
	return false;
}

/* one HTTP/1.1 GET on a fresh connection; the response body */
static const char *http_get(const char *path)
{
	static char resp[65536];
	struct tcp_view tv;
	uint8_t f[2048];
	char req[128];

	peer_port++;
	tcp_out(5000, 0, TCP_SYN, NULL, 0);
	assert_true(tcp_in(&tv, f));
	assert_int_equal(tv.flags & (TCP_SYN | TCP_ACK), TCP_SYN | TCP_ACK);
	assert_int_equal(tv.ack, 5001);
	uint32_t rcv = tv.seq + 1, snd = 5001;
	int rl = ksnprintf(req, sizeof(req),
			   "GET %s HTTP/1.1\r\nHost: capos\r\n"
			   "Connection: close\r\n\r\n",
			   path);
	tcp_out(snd, rcv, TCP_ACK | TCP_PSH, req, (size_t)rl);
	snd += (uint32_t)rl;

	/* collect the response, acknowledging each segment, until FIN */
	size_t rlen = 0;
	bool fin = false;
	for (int round = 0; round < 200 && !fin; round++) {
		bool any = false;
		while (tcp_in(&tv, f)) {
			any = true;
			if (tv.seq == rcv && tv.len) {
				assert_true(rlen + tv.len < sizeof(resp));
				memcpy(resp + rlen, tv.data, tv.len);
				rlen += tv.len;
				rcv += (uint32_t)tv.len;
			}
			if ((tv.flags & TCP_FIN) && tv.seq + tv.len == rcv) {
				rcv++;
				fin = true;
			}
		}
		if (any)
			tcp_out(snd, rcv, TCP_ACK | (fin ? TCP_FIN : 0), NULL,
				0);
		else
			pump();
	}
	assert_true(fin);
	resp[rlen] = 0;
	assert_true(strncmp(resp, "HTTP/1.1 200", 12) == 0);
	const char *body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	return body + 4;
}

static void http_get_devices(uint8_t fmt)
{
	struct gvm_config c;
	uint8_t f[2048];
	int n;

	gvm_default_config(&c);
	c.dqo = fmt == GVE_QF_DQO_RDA;
	c.dqo_qpl = fmt == GVE_QF_DQO_QPL;
	c.gqi_rda = fmt == GVE_QF_GQI_RDA;
	host_auth_reset();
	gvm_init(&c);
	sc = calloc(1, sizeof(*sc));
	struct gve_grants g = host_gve_grants();
	assert_int_equal(gve_attach(sc, &g), 0);
	assert_int_equal(sc->queue_format, fmt);
	ksnprintf(pci_devs[1].state, sizeof(pci_devs[1].state), "gve0 %s",
		  gve_format_name(fmt));

	struct net_config nc;
	peer_net_config(&nc);
	shim_clock_ns += 1000000000ull;
	assert_int_equal(net_init(&sc->nic, &nc), 0);
	pump();
	while (gvm_wire_pop(f, sizeof(f)) > 0) /* announcements, if any */
		;

	/* the peer asks who has 10.0.2.15; the stack answers from the gVNIC */
	uint8_t a[64];
	build_arp(a, ARP_OP_REQUEST, peer_mac, PEER_IP, NULL, STACK_IP);
	peer_send_frame(a, 60);
	n = gvm_wire_pop(f, sizeof(f));
	assert_true(n >= 42);
	assert_int_equal(rd16(f + 12), ETHERTYPE_ARP);
	assert_int_equal(rd16(f + 20), ARP_OP_REPLY);
	assert_memory_equal(f + 22, stack_mac, 6);

	const char *body = http_get("/api/devices");
	char want[512];
	ksnprintf(want, sizeof(want),
		  "[{\"addr\":\"0000:00:00.0\",\"vendor\":\"8086\",\"device\":"
		  "\"29c0\",\"class\":\"060000\",\"driver\":\"none\",\"state\":"
		  "\"host bridge\",\"restarts\":0,\"restart\":\"-\"},{\"addr\":"
		  "\"0000:00:04.0\",\"vendor\":\"1ae0\",\"device\":\"0042\","
		  "\"class\":\"020000\",\"driver\":\"gve\",\"state\":\"gve0 "
		  "%s\",\"restarts\":0,\"restart\":\"-\"}]\n",
		  gve_format_name(fmt));
	assert_string_equal(body, want);
	/* the frames really crossed the driver's rings */
	assert_true(sc->nic.stats.rx_packets >= 4);
	assert_true(sc->nic.stats.tx_packets >= 4);
	assert_true(sc->tx[0].packets + sc->tx[1].packets >= 4);

	/* the device asks for a reset between two requests: the driver
	 * rebuilds its queues under the stack, which carries on; /api/net
	 * shows the NIC as the driver describes it */
	gvm_set_status(GVE_DEVSTAT_RESET, 0);
	pump();
	assert_int_equal(sc->resets, 1);
	assert_int_equal(gvm.registrations, 2);
	body = http_get("/api/net");
	assert_non_null(strstr(body, "\"stack_nic\":\"gve0\""));
	assert_non_null(strstr(body, "\"mac\":\"42:01:0a:80:00:02\""));
	assert_non_null(strstr(body, "\"mbps\":32000"));
	assert_non_null(strstr(body, "\"mtu\":1460"));

	gve_detach(sc);
	assert_int_equal(host_pools_live(), 0);
	if (gvm.violations)
		fail_msg("model violation: %s", gvm.first_violation);
	free(sc);
	sc = NULL;
}

static void t_http_gqi_qpl(void **s)
{
	http_get_devices(GVE_QF_GQI_QPL);
}
static void t_http_gqi_rda(void **s)
{
	http_get_devices(GVE_QF_GQI_RDA);
}
static void t_http_dqo_rda(void **s)
{
	http_get_devices(GVE_QF_DQO_RDA);
}
static void t_http_dqo_qpl(void **s)
{
	http_get_devices(GVE_QF_DQO_QPL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_http_gqi_qpl),
	    cmocka_unit_test(t_http_gqi_rda),
	    cmocka_unit_test(t_http_dqo_rda),
	    cmocka_unit_test(t_http_dqo_qpl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
