/* kernel/net/netboot.c — starting the stack in the kernel: the first NIC
 * net_init accepts gets the IP stack (one it refuses, an MTU below
 * IPV4_MIN_MTU, leaves it to the next registered), configured from the
 * command line (net=, ip=, mask=, gw=, tcp.ts=; see kernel/net/net.h), and
 * net_poll joins the main loop. A NIC registered after the stack's own was
 * removed takes the stack over (a driver restart). */
#include "kernel/boot/boot.h"
#include "kernel/lib/lib.h"
#include "kernel/net/net.h"

CMDLINE_KEY(net, "net", "dhcp (default), static or off");
CMDLINE_KEY(ip, "ip",
	    "static address, a.b.c.d[/prefix] (prefix 1-32; 31, 32 need gw=)");
CMDLINE_KEY(mask, "mask", "static netmask, a.b.c.d (contiguous)");
CMDLINE_KEY(
    gw, "gw",
    "static gateway, a.b.c.d (default: .2 of the subnet; reached on-link)");
CMDLINE_KEY(tcp_ts, "tcp.ts",
	    "1: TCP timestamps (RFC 7323) when a SYN offers them; 0 (default): "
	    "never");

/* the command line is read at the first NIC, and what it says of itself
 * (a bad word, net=off, net=static with no ip=) said then, once a boot:
 * each NIC registered later had those lines again */
static bool parsed, started, no_stack;
static struct net_config cfg;

#ifdef CAPOS_HOST
/* tests/host/net: a new boot, so more than one test reads a command line */
void net_boot_reset(void)
{
	parsed = started = no_stack = false;
}
#endif

void net_nic_added(struct nic *n)
{
	if (!parsed) {
		parsed = true;
		net_config_default(&cfg);
		if (!net_config_apply(&cfg, cmdline_get("net"),
				      cmdline_get("ip"), cmdline_get("mask"),
				      cmdline_get("gw")))
			kprintf("net: unable to use net=/ip=/mask=/gw=: %s; "
				"using the rest\n",
				cfg.refused);
		const char *ts = cmdline_get("tcp.ts");
		if (ts && (!strcmp(ts, "0") || !strcmp(ts, "1")))
			cfg.tcp_ts = ts[0] == '1';
		else if (ts)
			kprintf("net: unable to use tcp.ts=%s: not 0 or 1; "
				"timestamps %s\n",
				ts, cfg.tcp_ts ? "on" : "off");
		no_stack = cfg.mode == NET_MODE_OFF ||
			   (cfg.mode == NET_MODE_STATIC && !cfg.ip);
		if (cfg.mode == NET_MODE_OFF)
			kprintf("net: off (net=off); no IP stack on any NIC\n");
		else if (no_stack)
			kprintf("net: unable to configure static address: no "
				"ip= (net=static); no IP stack on any NIC\n");
	}
	if (no_stack)
		return;
	/* the stack runs on one NIC; once that one is removed
	 * (net_nic_removed: a driver restart's detach) the next registered
	 * takes it, started over by net_init (address, DHCP, connections),
	 * on the poller it already has; its counters carry on from the old
	 * stack's (net_counters_carry: /api/net counts since boot) */
	struct net_state_view v;
	net_state(&v);
	if (started && v.nic)
		return;
	struct net_counters before = *net_counters();
	if (net_init(n, &cfg) != 0)
		return;
	if (started)
		net_counters_carry(&before);
	if (!started)
		poller_add(net_poll);
	started = true;
	kprintf("net: stack on %s, %s, http port %u\n", n->name,
		cfg.mode == NET_MODE_DHCP ? "dhcp" : "static", cfg.http_port);
}
