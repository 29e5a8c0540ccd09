/* tests/qemu/tap_relay.c — a userspace Ethernet relay that impairs a link
 * reproducibly (this host kernel has no netem qdisc). Built by `make`
 * into build/tools/tap_relay; driven by tests/qemu/tap_net.py.
 *
 * One "near" port, a TAP device this process opens (the Linux client's
 * interface), and one or more "far" ports: another TAP device opened here
 * (whose interface the harness may move into a second namespace) or an
 * AF_PACKET socket on an existing interface (QEMU's TAP device: what the
 * relay sends there reaches the guest, what the guest sends is read here).
 * Frames from the near port go to the far port that last sent from the
 * destination MAC (flooded while unknown); frames from a far port go to the
 * near port.
 *
 * Impairments, per direction, each from its own generator seeded from
 * "<seed>-up" / "<seed>-down" so a run is reproducible: loss, duplication,
 * reordering (a frame is held back and sent after the next one, or after
 * HOLD_US), delay with jitter (frames leave in order of their due time, so
 * jitter reorders as netem does), corruption (one byte of the TCP segment
 * flipped; the checksum then fails), and an IP MTU: a larger IPv4 frame is
 * dropped and, when it carries DF, answered with ICMP "fragmentation
 * needed" (RFC 1191 §4) quoting its header. Only TCP frames are impaired
 * (ARP and DHCP stay reliable, so set-up does not flake); with spare_syn=1
 * neither are SYNs (a lost SYN costs the client a 1 s timeout that would
 * swamp a throughput row).
 *
 * It is C, not a script, because it is part of the wire it measures: a
 * relay that spends tens of microseconds a frame adds that to every round
 * trip and takes a host CPU from QEMU on a two-core machine.
 *
 * Control on stdin, one command a line, each answered by one line on stdout:
 *   set loss=0.01 dup=0 reorder=0 delay_ms=0 jitter_ms=0 corrupt=0 mtu=0
 *       spare_syn=0 seed=1      -> ok {the settings as JSON}
 *   stats                       -> {"up": {counters}, "down": {counters}}
 *   quit
 * It prints "ready <far names>" once every port is open. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23 /* Linux 4.20 */
#endif

#define MAX_FAR	  4
#define MAX_FRAME 65536
#define BATCH	  256	/* frames read from one port per wake-up */
#define HOLD_US	  20000 /* a reordered frame waits at most this */
#define MAC_SLOTS 64
#define QUEUE_MAX (1 << 16)   /* delayed frames in flight; more are counted */
#define ROUTER_IP 0x0a4d00feu /* 10.77.0.254, the router that sends ICMP */

struct port {
	char name[IFNAMSIZ];
	int fd;
	bool packet; /* AF_PACKET socket, else a TAP fd */
};

enum {
	C_LOSS,
	C_DUP,
	C_REORDER,
	C_DELAY,
	C_JITTER,
	C_CORRUPT,
	C_MTU,
	C_SPARE,
	NCFG
};
static const char *const cfg_key[NCFG] = {"loss",     "dup",	   "reorder",
					  "delay_ms", "jitter_ms", "corrupt",
					  "mtu",      "spare_syn"};

enum {
	N_IN,
	N_OUT,
	N_LOST,
	N_DUP,
	N_REORDERED,
	N_CORRUPT,
	N_TOO_BIG,
	N_ICMP,
	N_SEND_FAILED,
	N_QUEUE_FULL,
	NCNT
};
static const char *const cnt_key[NCNT] = {
    "in",      "out",	  "lost", "dup",	 "reordered",
    "corrupt", "too_big", "icmp", "send_failed", "queue_full"};

struct frame {
	uint64_t due, seq; /* µs; seq keeps equal due times in order */
	struct port *to;
	struct dir *d;
	size_t len;
	uint8_t data[];
};

struct dir {
	const char *name;
	double cfg[NCFG];
	uint64_t rng[4];
	struct frame *held;
	uint64_t n[NCNT];
};

static struct port near_port, far_port[MAX_FAR];
static unsigned nfar;
static struct dir up = {.name = "up"}, down = {.name = "down"};
static struct {
	uint8_t mac[6];
	struct port *p;
} macs[MAC_SLOTS];
static unsigned nmacs;
static struct frame **queue; /* binary heap by (due, seq) */
static unsigned qlen;
static uint64_t qseq;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *what)
{
	fprintf(stderr, "tap_relay: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- reproducible randomness: xoshiro256** seeded by splitmix64 ------- */
static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static void rng_seed(uint64_t s[4], const char *text)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the seed text */
	for (const char *c = text; *c; c++)
		h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
	for (int i = 0; i < 4; i++) {
		uint64_t z = (h += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		s[i] = z ^ (z >> 31);
	}
}

static uint64_t rng_next(uint64_t s[4])
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static double rng_unit(uint64_t s[4]) /* [0, 1) */
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* ---- ports ------------------------------------------------------------ */
static void open_tap(struct port *p, const char *name)
{
	struct ifreq ifr = {0};
	strncpy(p->name, name, IFNAMSIZ - 1);
	p->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	if (p->fd < 0)
		die("/dev/net/tun");
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(p->fd, TUNSETIFF, &ifr) < 0)
		die(name);
}

static void open_packet(struct port *p, const char *ifname)
{
	strncpy(p->name, ifname, IFNAMSIZ - 1);
	p->packet = true;
	p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (p->fd < 0)
		die("AF_PACKET socket");
	int rcvbuf = 4 << 20, one = 1;
	setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* Linux 4.20: our own sends are not read back (checked below too) */
	setsockopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		   sizeof(one));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex(ifname)};
	if (!sll.sll_ifindex || bind(p->fd, (void *)&sll, sizeof(sll)) < 0)
		die(ifname);
}

/* one frame, or 0 when none waits */
static ssize_t port_recv(struct port *p, uint8_t *buf)
{
	for (;;) {
		if (!p->packet) {
			ssize_t n = read(p->fd, buf, MAX_FRAME);
			return n < 0 ? 0 : n;
		}
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(p->fd, buf, MAX_FRAME, 0, (void *)&from, &fl);
		if (n < 0)
			return 0;
		if (from.sll_pkttype != PACKET_OUTGOING)
			return n;
	}
}

static void port_send(struct port *p, struct dir *d, const uint8_t *f,
		      size_t len)
{
	ssize_t n = p->packet ? send(p->fd, f, len, 0) : write(p->fd, f, len);
	if (n != (ssize_t)len)
		d->n[N_SEND_FAILED]++;
}

/* ---- frames ----------------------------------------------------------- */
static bool is_ipv4(const uint8_t *f, size_t len)
{
	return len >= 34 && f[12] == 0x08 && f[13] == 0x00;
}

static bool is_tcp(const uint8_t *f, size_t len)
{
	return is_ipv4(f, len) && f[23] == 6;
}

static bool is_syn(const uint8_t *f, size_t len)
{
	size_t at = 14 + (size_t)(f[14] & 15) * 4 + 13;
	return at < len && (f[at] & 0x02);
}

static uint16_t csum(const uint8_t *b, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ICMP type 3 code 4 back to the sender of `f`, quoting its IP header and
 * 8 bytes; 0 when no answer is due (DF clear, or a header that lies) */
static size_t frag_needed(const uint8_t *f, size_t len, unsigned mtu,
			  uint8_t *out)
{
	const uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	if (ihl < 20 || 14 + ihl + 8 > len || !(ip[6] & 0x40))
		return 0;
	size_t quote = ihl + 8, icmp_len = 8 + quote, ip_len = 20 + icmp_len;
	memcpy(out, f + 6, 6); /* back to where it came from */
	memcpy(out + 6, f, 6);
	out[12] = 0x08;
	out[13] = 0x00;
	uint8_t *h = out + 14, *icmp = h + 20;
	memset(h, 0, 20);
	h[0] = 0x45;
	put16(h + 2, (uint16_t)ip_len);
	h[8] = 64;
	h[9] = 1;
	put16(h + 12, ROUTER_IP >> 16);
	put16(h + 14, ROUTER_IP & 0xffff);
	memcpy(h + 16, ip + 12, 4);
	put16(h + 10, csum(h, 20));
	memset(icmp, 0, 8);
	icmp[0] = 3;
	icmp[1] = 4;
	put16(icmp + 6, (uint16_t)mtu);
	memcpy(icmp + 8, ip, quote);
	put16(icmp + 2, csum(icmp, icmp_len));
	return 14 + ip_len;
}

static struct frame *frame_new(struct port *to, struct dir *d, const uint8_t *f,
			       size_t len, uint64_t due)
{
	struct frame *fr = malloc(sizeof(*fr) + len);
	if (!fr)
		die("malloc");
	fr->due = due;
	fr->seq = qseq++;
	fr->to = to;
	fr->d = d;
	fr->len = len;
	memcpy(fr->data, f, len);
	return fr;
}

static bool before(const struct frame *a, const struct frame *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void queue_push(struct frame *fr)
{
	unsigned i = qlen++;
	while (i) {
		unsigned parent = (i - 1) / 2;
		if (!before(fr, queue[parent]))
			break;
		queue[i] = queue[parent];
		i = parent;
	}
	queue[i] = fr;
}

static struct frame *queue_pop(void)
{
	struct frame *top = queue[0], *last = queue[--qlen];
	unsigned i = 0;
	for (;;) {
		unsigned c = 2 * i + 1;
		if (c >= qlen)
			break;
		if (c + 1 < qlen && before(queue[c + 1], queue[c]))
			c++;
		if (!before(queue[c], last))
			break;
		queue[i] = queue[c];
		i = c;
	}
	if (qlen)
		queue[i] = last;
	return top;
}

/* ---- impairment ------------------------------------------------------- */
static void emit(struct port *to, struct dir *d, const uint8_t *f, size_t len,
		 uint64_t now)
{
	double delay = d->cfg[C_DELAY], j = d->cfg[C_JITTER];
	if (delay <= 0 && j <= 0) {
		d->n[N_OUT]++;
		port_send(to, d, f, len);
		return;
	}
	if (j > 0)
		delay += (rng_unit(d->rng) * 2 - 1) * j;
	if (qlen == QUEUE_MAX) {
		d->n[N_QUEUE_FULL]++;
		return;
	}
	uint64_t wait = delay > 0 ? (uint64_t)(delay * 1000) : 0;
	queue_push(frame_new(to, d, f, len, now + wait));
}

static void release_held(struct dir *d, uint64_t now)
{
	struct frame *h = d->held;
	d->held = NULL;
	emit(h->to, d, h->data, h->len, now);
	free(h);
}

static void impair(struct dir *d, uint8_t *f, size_t len, struct port *to,
		   struct port *back, uint64_t now)
{
	double *c = d->cfg;
	d->n[N_IN]++;
	if (!is_tcp(f, len) || (c[C_SPARE] > 0 && is_syn(f, len))) {
		d->n[N_OUT]++;
		port_send(to, d, f, len);
		return;
	}
	if (c[C_MTU] > 0 && len - 14 > (size_t)c[C_MTU]) {
		static uint8_t icmp[14 + 20 + 8 + 60 + 8];
		d->n[N_TOO_BIG]++;
		size_t n = frag_needed(f, len, (unsigned)c[C_MTU], icmp);
		if (n) {
			d->n[N_ICMP]++;
			port_send(back, d, icmp, n);
		}
		return;
	}
	if (c[C_LOSS] > 0 && rng_unit(d->rng) < c[C_LOSS]) {
		d->n[N_LOST]++;
		return;
	}
	if (c[C_CORRUPT] > 0 && rng_unit(d->rng) < c[C_CORRUPT]) {
		size_t at = 14 + (size_t)(f[14] & 15) * 4 + 20;
		if (at < len) {
			size_t i = at + rng_next(d->rng) % (len - at);
			f[i] ^= 0x5a;
			d->n[N_CORRUPT]++;
		}
	}
	unsigned copies = c[C_DUP] > 0 && rng_unit(d->rng) < c[C_DUP] ? 2 : 1;
	d->n[N_DUP] += copies - 1;
	if (c[C_REORDER] > 0 && !d->held && rng_unit(d->rng) < c[C_REORDER]) {
		d->n[N_REORDERED]++;
		d->held = frame_new(to, d, f, len, now + HOLD_US);
		return;
	}
	while (copies--)
		emit(to, d, f, len, now);
	if (d->held)
		release_held(d, now);
}

static struct port *mac_lookup(const uint8_t *mac)
{
	for (unsigned i = 0; i < nmacs; i++)
		if (!memcmp(macs[i].mac, mac, 6))
			return macs[i].p;
	return NULL;
}

static void mac_learn(const uint8_t *mac, struct port *p)
{
	for (unsigned i = 0; i < nmacs; i++)
		if (!memcmp(macs[i].mac, mac, 6)) {
			macs[i].p = p;
			return;
		}
	unsigned i = nmacs < MAC_SLOTS ? nmacs++ : 0; /* full: forget one */
	memcpy(macs[i].mac, mac, 6);
	macs[i].p = p;
}

static void from_near(uint8_t *f, size_t len, uint64_t now)
{
	struct port *p = mac_lookup(f);
	if (p) {
		impair(&up, f, len, p, &near_port, now);
		return;
	}
	static uint8_t copy[MAX_FRAME]; /* each flooded copy impaired alone */
	for (unsigned i = 0; i < nfar; i++) {
		memcpy(copy, f, len);
		impair(&up, copy, len, &far_port[i], &near_port, now);
	}
}

static void from_far(struct port *p, uint8_t *f, size_t len, uint64_t now)
{
	mac_learn(f + 6, p);
	impair(&down, f, len, &near_port, p, now);
}

static void timers(uint64_t now)
{
	struct dir *dirs[2] = {&up, &down};
	for (int i = 0; i < 2; i++)
		if (dirs[i]->held && dirs[i]->held->due <= now)
			release_held(dirs[i], now);
	while (qlen && queue[0]->due <= now) {
		struct frame *fr = queue_pop();
		fr->d->n[N_OUT]++;
		port_send(fr->to, fr->d, fr->data, fr->len);
		free(fr);
	}
}

/* µs until the next timer, or -1 for none */
static int64_t next_timeout(uint64_t now)
{
	uint64_t t = UINT64_MAX;
	if (up.held)
		t = up.held->due;
	if (down.held && down.held->due < t)
		t = down.held->due;
	if (qlen && queue[0]->due < t)
		t = queue[0]->due;
	if (t == UINT64_MAX)
		return -1;
	return t > now ? (int64_t)(t - now) : 0;
}

/* ---- control ---------------------------------------------------------- */
static void configure(struct dir *d, const double *cfg, const char *seed)
{
	char text[160];
	memcpy(d->cfg, cfg, sizeof(d->cfg));
	snprintf(text, sizeof(text), "%s-%s", seed, d->name);
	rng_seed(d->rng, text);
	free(d->held); /* as a new link: nothing carries over */
	d->held = NULL;
}

static void print_cfg(const double *cfg)
{
	/* keys in sorted order, as the reader may compare */
	static const int order[NCFG] = {C_CORRUPT, C_DELAY, C_DUP,     C_JITTER,
					C_LOSS,	   C_MTU,   C_REORDER, C_SPARE};
	printf("ok {");
	for (int i = 0; i < NCFG; i++)
		printf("%s\"%s\": %g", i ? ", " : "", cfg_key[order[i]],
		       cfg[order[i]]);
	printf("}\n");
}

static void print_stats(void)
{
	struct dir *dirs[2] = {&up, &down};
	printf("{");
	for (int i = 0; i < 2; i++) {
		printf("%s\"%s\": {", i ? ", " : "", dirs[i]->name);
		for (int k = 0; k < NCNT; k++)
			printf("%s\"%s\": %llu", k ? ", " : "", cnt_key[k],
			       (unsigned long long)dirs[i]->n[k]);
		printf("}");
	}
	printf("}\n");
}

/* false on quit */
static bool command(char *line)
{
	char *save, *w = strtok_r(line, " \t\r", &save);
	if (!w)
		return true;
	if (!strcmp(w, "set")) {
		double cfg[NCFG];
		const char *seed = "1";
		memcpy(cfg, up.cfg, sizeof(cfg));
		while ((w = strtok_r(NULL, " \t\r", &save))) {
			char *eq = strchr(w, '=');
			if (!eq)
				continue;
			*eq++ = 0;
			if (!strcmp(w, "seed")) {
				seed = eq;
				continue;
			}
			for (int k = 0; k < NCFG; k++)
				if (!strcmp(w, cfg_key[k]))
					cfg[k] = strtod(eq, NULL);
		}
		configure(&up, cfg, seed);
		configure(&down, cfg, seed);
		print_cfg(cfg);
	} else if (!strcmp(w, "stats")) {
		print_stats();
	} else if (!strcmp(w, "quit")) {
		return false;
	} else {
		printf("error unknown command\n");
	}
	fflush(stdout);
	return true;
}

int main(int argc, char **argv)
{
	bool have_near = false;
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--near-tap")) {
			open_tap(&near_port, argv[++i]);
			have_near = true;
		} else if (i + 1 < argc && nfar < MAX_FAR &&
			   !strcmp(argv[i], "--far-tap")) {
			open_tap(&far_port[nfar++], argv[++i]);
		} else if (i + 1 < argc && nfar < MAX_FAR &&
			   !strcmp(argv[i], "--far-packet")) {
			open_packet(&far_port[nfar++], argv[++i]);
		} else {
			fprintf(stderr, "tap_relay: unexpected argument %s\n",
				argv[i]);
			return 2;
		}
	}
	if (!have_near || !nfar) {
		fprintf(stderr, "usage: tap_relay --near-tap NAME (--far-tap "
				"NAME | --far-packet IF)...\n");
		return 2;
	}
	/* delays of tens of microseconds: no 50 us timer slack on ppoll */
	prctl(PR_SET_TIMERSLACK, 1ul, 0, 0, 0);
	queue = malloc(sizeof(*queue) * QUEUE_MAX);
	if (!queue)
		die("malloc");
	configure(&up, up.cfg, "1");
	configure(&down, down.cfg, "1");
	printf("ready");
	for (unsigned i = 0; i < nfar; i++)
		printf(" %s", far_port[i].name);
	printf("\n");
	fflush(stdout);

	static uint8_t buf[MAX_FRAME];
	static char line[4096];
	size_t have = 0;
	struct pollfd pfd[1 + 1 + MAX_FAR];
	struct port *by_slot[1 + 1 + MAX_FAR] = {NULL, &near_port};
	unsigned nfd = 2;
	pfd[0] = (struct pollfd){.fd = 0, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = near_port.fd, .events = POLLIN};
	for (unsigned i = 0; i < nfar; i++) {
		by_slot[nfd] = &far_port[i];
		pfd[nfd++] =
		    (struct pollfd){.fd = far_port[i].fd, .events = POLLIN};
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	for (;;) {
		int64_t wait = next_timeout(now_us());
		struct timespec ts = {(time_t)(wait / 1000000),
				      (long)(wait % 1000000) * 1000};
		if (ppoll(pfd, nfd, wait < 0 ? NULL : &ts, NULL) < 0 &&
		    errno != EINTR)
			die("ppoll");
		uint64_t now = now_us();
		if (pfd[0].revents) {
			ssize_t n =
			    read(0, line + have, sizeof(line) - 1 - have);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				return 0;
			have += n > 0 ? (size_t)n : 0;
			char *nl;
			while ((nl = memchr(line, '\n', have))) {
				*nl = 0;
				if (!command(line))
					return 0;
				have -= (size_t)(nl + 1 - line);
				memmove(line, nl + 1, have);
			}
			if (have == sizeof(line) - 1)
				have = 0; /* a line too long: dropped */
		}
		for (unsigned s = 1; s < nfd; s++) {
			if (!pfd[s].revents)
				continue;
			for (int k = 0; k < BATCH; k++) {
				ssize_t n = port_recv(by_slot[s], buf);
				if (n <= 0)
					break;
				if (n < 14)
					continue;
				if (by_slot[s] == &near_port)
					from_near(buf, (size_t)n, now);
				else
					from_far(by_slot[s], buf, (size_t)n,
						 now);
			}
		}
		timers(now);
	}
}
