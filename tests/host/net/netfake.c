/* tests/host/net/netfake.c — see netfake.h */
#include "netfake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/status.h"
#include "kernel/pci/pci.h"
#include "shim.h"

const uint8_t stack_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
struct fake_nic fake;

/* ---- the kernel state the Web UI shows --------------------------------- */
static const struct driver fake_drv = {.name = "virtio-net"};
struct pci_dev pci_devs[3] = {
    NETFRAME_Q35_HOST_BRIDGE,
    {.bus = 0,
     .dev = 2,
     .fn = 0,
     .vendor = 0x1af4,
     .device = 0x1041,
     .class_code = 0x020000,
     .drv = &fake_drv,
     .state = "up <b>&\"x\""},
    {.bus = 0,
     .dev = 3,
     .fn = 0,
     .vendor = 0x1b36,
     .device = 0x0010,
     .class_code = 0x010802,
     .state = "namespace 1"},
};
unsigned pci_ndevs = 3;

/* the providers of the subsystems not linked here: the NVMe driver's
 * (drivers/nvme/nvme.c nvme_json, abridged) and the boot log's
 * (kernel/console/serial.c), with bytes that need escaping */
static void fake_nvme_status(struct json *j)
{
	json_arr(j);
	json_obj(j);
	json_kstr(j, "name", "nvme0");
	json_karr(j, "namespaces");
	json_obj(j);
	json_ku64(j, "nsid", 1);
	json_kstr(j, "blockdev", "nvme0n1");
	json_ku64(j, "blocks", 131072);
	json_ku64(j, "bs", 512);
	json_obj_end(j);
	json_arr_end(j);
	json_obj_end(j);
	json_arr_end(j);
}
STATUS_REGISTER("nvme", fake_nvme_status);

static void fake_log_status(struct json *j)
{
	static const char log[] = "capOS boot\n\"quoted\" \\ back\tslash\x01\n"
				  "pci 0000:00:02.0 1af4:1041 class 020000 -> "
				  "virtio-net <b>\n";
	json_obj(j);
	json_kstrn(j, "log", log, sizeof(log) - 1);
	json_obj_end(j);
}
STATUS_REGISTER("log", fake_log_status);

/* ---- the fake NIC -------------------------------------------------------- */
static int fake_send(struct nic *n, const void *f, size_t len)
{
	if (len > ETH_FRAME_MAX || len < ETH_MIN_FRAME)
		abort(); /* the stack must pad and never exceed the MTU */
	if (fake.tx_err) {
		fake.tx_err--;
		return -1;
	}
	if (fake.tx_room == 0)
		return NIC_TX_FULL;
	if (fake.tx_room > 0)
		fake.tx_room--;
	n->stats.tx_packets++;
	n->stats.tx_bytes += len;
	if (fake.drop_tx)
		return 0;
	if (fake.ntx == FAKE_MAXQ) {
		/* a full log: compact what was read */
		memmove(fake.tx, fake.tx + fake.txr,
			(fake.ntx - fake.txr) * sizeof(struct frame));
		fake.ntx -= fake.txr;
		fake.txr = 0;
		if (fake.ntx == FAKE_MAXQ)
			return -1;
	}
	fake.tx[fake.ntx].len = len;
	memcpy(fake.tx[fake.ntx].b, f, len);
	fake.ntx++;
	return 0;
}

static int fake_recv(struct nic *n, void *buf, size_t cap)
{
	if (fake.rxr == fake.nrx)
		return 0;
	struct frame *f = &fake.rx[fake.rxr++];
	if (fake.rxr == fake.nrx)
		fake.rxr = fake.nrx = 0;
	size_t l = f->len < cap ? f->len : cap;
	memcpy(buf, f->b, l);
	n->stats.rx_packets++;
	return (int)l;
}

void fake_setup(bool dhcp)
{
	fake_tcp_optlen = 0;
	if (!fake.tx) {
		fake.tx = calloc(FAKE_MAXQ, sizeof(struct frame));
		fake.rx = calloc(64, sizeof(struct frame));
	}
	fake.ntx = fake.txr = fake.nrx = fake.rxr = 0;
	fake.drop_tx = false;
	fake.tx_room = -1;
	fake.tx_err = 0;
	memset(&fake.nic, 0, sizeof(fake.nic));
	strcpy(fake.nic.name, "fake0");
	memcpy(fake.nic.mac, stack_mac, 6);
	fake.nic.link_up = true;
	fake.nic.mtu = 1500;
	fake.nic.send = fake_send;
	fake.nic.recv = fake_recv;
	struct net_config c;
	if (dhcp)
		net_config_default(&c);
	else
		peer_net_config(&c);
	shim_clock_ns += 1000000000ull;
	if (net_init(&fake.nic, &c) != 0)
		abort();
	if (!dhcp) {
		/* the peer asks for us first, as QEMU's slirp does */
		uint8_t f[64];
		build_arp(f, ARP_OP_REQUEST, peer_mac, PEER_IP, NULL, STACK_IP);
		inject(f, 60);
		fake_clear();
	}
}

void fake_teardown(void)
{
	fake_clear();
}

const struct frame *fake_pop(void)
{
	if (fake.txr == fake.ntx)
		return NULL;
	return &fake.tx[fake.txr++];
}

bool fake_pop_tcp(struct tcp_view *t)
{
	const struct frame *fr;
	while ((fr = fake_pop())) {
		struct eth_view e;
		struct ipv4_view ip;
		if (eth_parse(fr->b, fr->len, &e) ||
		    ipv4_parse(e.payload, e.len, &ip) ||
		    ip.proto != IP_PROTO_TCP || tcp_parse(&ip, t))
			continue;
		return true;
	}
	return false;
}

void fake_clear(void)
{
	fake.txr = fake.ntx = 0;
}

void advance_us(uint64_t us)
{
	shim_clock_ns += us * 1000;
	net_poll();
}

void inject(const void *f, size_t len)
{
	net_input(f, len);
	net_poll(); /* flushes output and runs timers */
}

/* ---- the scripted peer ------------------------------------------------- */
void peer_init(struct peer *p, uint16_t sport)
{
	memset(p, 0, sizeof(*p));
	p->ip = PEER_IP;
	p->sport = sport;
	p->dport = 80;
	p->iss = 1000u * sport;
	p->snd_nxt = p->iss;
	p->win = 65535;
	p->auto_ack = true;
	p->rx_cap = 1 << 20;
	p->rx = malloc(p->rx_cap);
}

void peer_free(struct peer *p)
{
	free(p->rx);
	p->rx = NULL;
}

void peer_send(struct peer *p, uint8_t flags, const void *data, size_t len)
{
	uint8_t f[ETH_FRAME_MAX + 64];
	size_t n =
	    build_tcp_from(f, p->ip, p->sport, p->dport, p->snd_nxt,
			   (flags & TCP_ACK) ? p->rcv_nxt : 0, flags, p->win,
			   data, len, (flags & TCP_SYN) ? 1460 : 0);
	p->snd_nxt += (uint32_t)len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
	inject(f, n);
}

void peer_ack(struct peer *p)
{
	peer_send(p, TCP_ACK, NULL, 0);
}

static void peer_segment(struct peer *p, const struct tcp_view *t)
{
	p->segs++;
	if (t->flags & TCP_RST) {
		p->got_rst = true;
		return;
	}
	if ((t->flags & TCP_SYN) && (t->flags & TCP_ACK)) {
		p->rcv_nxt = t->seq + 1;
		p->peer_mss = t->mss;
		p->established = true;
		return;
	}
	bool newdata = false;
	if (t->len) {
		if (t->seq == p->rcv_nxt) {
			size_t n = t->len;
			if (p->rx_len + n > p->rx_cap) {
				p->rx_cap = (p->rx_len + n) * 2;
				p->rx = realloc(p->rx, p->rx_cap);
			}
			memcpy(p->rx + p->rx_len, t->data, n);
			p->rx_len += n;
			p->rcv_nxt += (uint32_t)n;
			newdata = true;
		} else {
			p->dup_segs++;
		}
	}
	if ((t->flags & TCP_FIN) && t->seq + t->len == p->rcv_nxt &&
	    !p->got_fin) {
		p->got_fin = true;
		p->rcv_nxt++;
		newdata = true;
	}
	(void)newdata;
}

void peers_pump(struct peer **ps, unsigned n)
{
	for (int round = 0; round < 10000; round++) {
		const struct frame *f = fake_pop();
		if (!f)
			return;
		struct eth_view e;
		struct ipv4_view ip;
		struct tcp_view t;
		if (eth_parse(f->b, f->len, &e) || e.type != ETHERTYPE_IPV4 ||
		    ipv4_parse(e.payload, e.len, &ip) ||
		    ip.proto != IP_PROTO_TCP)
			continue;
		if (tcp_parse(&ip, &t))
			abort(); /* the stack's own checksum must verify */
		for (unsigned i = 0; i < n; i++) {
			struct peer *p = ps[i];
			if (t.dport != p->sport || ip.dst != p->ip)
				continue;
			uint32_t before = p->rcv_nxt;
			peer_segment(p, &t);
			if (p->auto_ack && !p->got_rst &&
			    (p->rcv_nxt != before || t.len))
				peer_ack(p);
		}
	}
}

void peer_pump(struct peer *p)
{
	peers_pump(&p, 1);
}

int peer_http_response(struct peer *p, char *hdr, size_t hcap, char *body,
		       size_t bcap, size_t *body_len)
{
	char *s = (char *)p->rx;
	char *end = NULL;
	for (size_t i = 0; i + 3 < p->rx_len; i++)
		if (!memcmp(s + i, "\r\n\r\n", 4)) {
			end = s + i + 4;
			break;
		}
	if (!end)
		return 0;
	size_t hl = (size_t)(end - s);
	char *cl = NULL;
	for (size_t i = 0; i + 16 < hl; i++)
		if (!strncasecmp(s + i, "\r\nContent-Length:", 17)) {
			cl = s + i + 17;
			break;
		}
	size_t blen = cl ? strtoul(cl, NULL, 10) : 0;
	if (hl + blen > p->rx_len)
		return 0;
	int status = atoi(s + 9);
	size_t c = hl < hcap - 1 ? hl : hcap - 1;
	memcpy(hdr, s, c);
	hdr[c] = 0;
	*body_len = blen;
	if (body && bcap) {
		size_t bc = blen < bcap - 1 ? blen : bcap - 1;
		memcpy(body, end, bc);
		body[bc] = 0;
	}
	memmove(p->rx, p->rx + hl + blen, p->rx_len - hl - blen);
	p->rx_len -= hl + blen;
	return status;
}

int peer_take_response(struct peer *p, struct peer_resp *r)
{
	return peer_http_response(p, r->hdr, sizeof(r->hdr), r->body,
				  sizeof(r->body), &r->blen);
}

int peer_await_response(struct peer *p, unsigned tries, uint64_t step_us,
			char *hdr, size_t hcap, char *body, size_t bcap,
			size_t *body_len)
{
	int st = 0;
	for (unsigned i = 0; i < tries && !st; i++) {
		peer_pump(p);
		st = peer_http_response(p, hdr, hcap, body, bcap, body_len);
		if (!st)
			advance_us(step_us);
	}
	return st;
}

void peer_abort(struct peer *p)
{
	peer_send(p, TCP_RST | TCP_ACK, NULL, 0);
	peer_free(p);
}

bool peer_connect(struct peer *p)
{
	peer_send(p, TCP_SYN, NULL, 0);
	for (int i = 0; i < 4 && !p->established; i++)
		peer_pump(p);
	if (!p->established)
		return false;
	p->auto_ack = true;
	peer_ack(p);
	return true;
}

bool fake_setup_once(void)
{
	static bool up;
	if (up)
		return false;
	shim_quiet = 1;
	fake_setup(false);
	up = true;
	return true;
}

int fake_cm_setup(void **state)
{
	(void)state;
	shim_quiet = 1;
	fake_setup(false);
	return 0;
}

int fake_cm_teardown(void **state)
{
	(void)state;
	fake_teardown();
	return 0;
}
