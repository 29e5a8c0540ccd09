/* kernel/net/net.h — capOS's IPv4 stack, HTTP/1.1 server and Web UI over
 * one struct nic.
 *
 * Entry points (the same in the kernel and on the host):
 *
 *   net_init(nic, cfg)  take over `nic`: reset all state, start DHCP or the
 *                       static address, listen on cfg->http_port (80).
 *   net_poll()          drain received frames through nic->recv, run timers
 *                       (ARP, DHCP, TCP retransmission, HTTP timeouts), push
 *                       pending output. Call it repeatedly; in the kernel
 *                       kernel/net/netboot.c registers it with poller_add.
 *   net_input(f, len)   feed one Ethernet frame directly (tests, fuzzers).
 *
 * Time comes from time_now_us() (kernel/time/time.h). On the host that is
 * the shim's virtual clock: a test advances `shim_clock_ns` (or calls
 * time_delay_us) between net_poll() calls to fire timers deterministically.
 *
 * In the kernel, the first NIC handed to nic_register() starts the stack
 * with the command line: net=dhcp (default) | static | off, ip=a.b.c.d[/n],
 * mask=a.b.c.d, gw=a.b.c.d. With net=dhcp and ip= given, the static address
 * is the fallback when DHCP gets no answer. */
#ifndef CAPOS_NET_H
#define CAPOS_NET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/net/nic.h"

enum net_mode {
	NET_MODE_DHCP,	 /* DHCP; static config (if any) after DHCP gives up */
	NET_MODE_STATIC, /* static only */
	NET_MODE_OFF,
};

struct net_config {
	enum net_mode mode;
	uint32_t ip, mask, gw; /* host byte order; ip 0: no static address */
	uint16_t http_port;    /* 0: no HTTP server */
	bool tcp_ts;	       /* RFC 7323 timestamps offered back (tcp.ts=) */
	const char *refused;   /* why net_config_apply refused, NULL if not */
};

/* counters shown at /api/net; every drop has a reason */
struct net_counters {
	uint64_t rx_frames, tx_frames, tx_fail, tx_stalls;
	uint64_t rx_short, rx_unsupported, rx_not_for_us;
	uint64_t arp_rx, arp_requests_sent, arp_replies_sent, arp_drops;
	uint64_t arp_tx_lost;
	uint64_t arp_probes_answered, arp_conflicts, arp_bad_sender;
	uint64_t ip_rx, ip_bad, ip_csum_bad, ip_reassembled, ip_reass_bad,
	    ip_reass_too_big, ip_reass_overlap, ip_reass_duplicates,
	    ip_reass_timeouts, ip_reass_evicted, ip_not_for_us;
	uint64_t ip_proto_unknown;
	uint64_t icmp_echo_replies, icmp_bad, icmp_unreach_sent;
	uint64_t icmp_errors_limited;
	uint64_t udp_rx, udp_bad, udp_no_port;
	uint64_t dhcp_sent, dhcp_rx, dhcp_bad, dhcp_no_lease_time,
	    dhcp_declines;
	uint64_t addresses_set, addresses_removed;
	uint64_t tcp_rx, tcp_bad, tcp_csum_bad, tcp_tx, tcp_rst_sent;
	uint64_t tcp_rst_rx, tcp_accepted, tcp_refused, tcp_retransmits;
	uint64_t tcp_fast_retransmits, tcp_timeouts, tcp_ooo_dropped;
	uint64_t tcp_zero_window_probes, tcp_zero_window_timeouts;
	uint64_t tcp_tw_reused, tcp_syn_evicted;
	uint64_t tcp_idle_evicted, tcp_ooo_queued, tcp_mss_clamped;
	uint64_t tcp_ack_invalid, tcp_challenge_acks, tcp_lost_retransmits;
	uint64_t tcp_rto_expired, tcp_rto_in_recovery, tcp_tlp_probes;
	uint64_t tcp_pmtu_updates, tcp_pmtu_ignored, tcp_challenge_acks_limited,
	    tcp_undos, tcp_oow_acks_limited, tcp_cwnd_restarts,
	    tcp_syn_rcvd_relistens, tcp_peer_limited, tcp_peer_evicted;
	uint64_t tcp_paws_dropped, tcp_disordered_acks, tcp_ts_missing,
	    tcp_ts_rtt_samples;
	uint64_t http_requests, http_responses[6]; /* [k]: status k00..k99 */
	uint64_t http_timeouts, http_body_bytes;
};

struct net_state_view {
	bool configured;
	uint32_t ip, mask, gw;
	const char *source; /* "dhcp", "static", "none" */
	uint32_t lease_s;   /* DHCP lease, 0 for static */
	unsigned tcp_active, tcp_max;
	const struct nic *nic;
};

/* 0 on success; -1 when net=static has no address. A buffer that cannot
 * be allocated does not fail it: the layer that needs it drops what would
 * have used it (ARP's queue and reassembly silently, counted; TCP and the
 * HTTP server say so on the console) */
int net_init(struct nic *n, const struct net_config *cfg);
/* true when frames were handled, or a frame waits for ring room the NIC
 * has not lacked for NET_TX_STALL_US yet: call again before idling */
bool net_poll(void);
void net_input(const void *frame, size_t len);
/* the longest static prefix (ip=/n or mask=) given a default gateway, the
 * subnet's .2 (kernel/net/if.c); a /31 or /32 needs gw= */
#define NET_PREFIX_DEFAULT_GW_MAX 30
/* defaults (DHCP, HTTP on 80), then apply command-line style strings; any
 * may be NULL. false, with c->refused saying why, when a value is
 * malformed (that value not taken: a prefix outside 1 to 32, a mask not
 * contiguous) or a /31 or /32 has no gw= (neither ip= nor mask= taken) */
void net_config_default(struct net_config *c);
bool net_config_apply(struct net_config *c, const char *net, const char *ip,
		      const char *mask, const char *gw);
void net_state(struct net_state_view *v);
const struct net_counters *net_counters(void);
/* add `before` (the counters a stack had) to the running stack's: a NIC
 * that takes the stack over (netboot.c) keeps /api/net's counters
 * cumulative since boot, what the outage between NICs counted (tx_fail)
 * among them, where net_init alone starts them over */
void net_counters_carry(const struct net_counters *before);

/* the kernel's hook: called by nic_register for each new NIC (weak; the
 * kernel's kernel/net/netboot.c provides it) */
void net_nic_added(struct nic *n);
/* called by nic_unregister (and by net_poll when n's recv answers -1:
 * the NIC failed, kernel/net/nic.h; its line says "failed"): the stack on
 * n stops — its address removed
 * (net_clear_address: connections ended, ARP cache emptied), net_poll and
 * net_input do nothing, eth_send refuses (-1, counted in tx_fail) — with
 * one line; another NIC is no concern of it (kernel/net/if.c) */
void net_nic_removed(struct nic *n);
#endif
