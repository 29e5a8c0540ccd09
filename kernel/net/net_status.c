/* kernel/net/net_status.c — /api/net: the address, every NIC with its
 * counters, the TCP connections and the stack's own counters. */
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/net/net_internal.h"
#include "kernel/net/tcp.h"

static void nic_json(struct json *j, const struct nic *n)
{
	const uint8_t *m = n->mac;
	json_obj(j);
	json_kstrn(j, "name", n->name, strnlen(n->name, sizeof(n->name)));
	json_kstrf(j, "mac", "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		   m[3], m[4], m[5]);
	json_kbool(j, "link", n->link_up);
	json_ku64(j, "mbps", n->link_mbps);
	json_ku64(j, "mtu", n->mtu);
	JSON_KFIELD(j, &n->stats, rx_packets);
	JSON_KFIELD(j, &n->stats, rx_bytes);
	JSON_KFIELD(j, &n->stats, rx_dropped);
	JSON_KFIELD(j, &n->stats, rx_errors);
	JSON_KFIELD(j, &n->stats, tx_packets);
	JSON_KFIELD(j, &n->stats, tx_bytes);
	JSON_KFIELD(j, &n->stats, tx_dropped);
	JSON_KFIELD(j, &n->stats, tx_errors);
	json_obj_end(j);
}

#define C(f) JSON_KFIELD(j, k, f)
static void counters_json(struct json *j, const struct net_counters *k)
{
	json_obj(j);
	C(rx_frames);
	C(tx_frames);
	C(tx_fail);
	C(tx_stalls);
	C(rx_short);
	C(rx_unsupported);
	C(rx_not_for_us);
	C(arp_rx);
	C(arp_requests_sent);
	C(arp_replies_sent);
	C(arp_drops);
	C(arp_tx_lost);
	C(arp_probes_answered);
	C(arp_conflicts);
	C(arp_bad_sender);
	C(ip_rx);
	C(ip_bad);
	C(ip_csum_bad);
	C(ip_reassembled);
	C(ip_reass_bad);
	C(ip_reass_too_big);
	C(ip_reass_overlap);
	C(ip_reass_duplicates);
	C(ip_reass_timeouts);
	C(ip_reass_evicted);
	C(ip_not_for_us);
	C(ip_proto_unknown);
	C(icmp_echo_replies);
	C(icmp_bad);
	C(icmp_unreach_sent);
	C(icmp_errors_limited);
	C(udp_rx);
	C(udp_bad);
	C(udp_no_port);
	C(dhcp_sent);
	C(dhcp_rx);
	C(dhcp_bad);
	C(dhcp_no_lease_time);
	C(dhcp_declines);
	C(addresses_set);
	C(addresses_removed);
	C(tcp_rx);
	C(tcp_bad);
	C(tcp_csum_bad);
	C(tcp_tx);
	C(tcp_rst_sent);
	C(tcp_rst_rx);
	C(tcp_accepted);
	C(tcp_refused);
	C(tcp_retransmits);
	C(tcp_fast_retransmits);
	C(tcp_timeouts);
	C(tcp_ooo_dropped);
	C(tcp_zero_window_probes);
	C(tcp_zero_window_timeouts);
	C(tcp_tw_reused);
	C(tcp_syn_evicted);
	C(tcp_idle_evicted);
	C(tcp_ooo_queued);
	C(tcp_mss_clamped);
	C(tcp_ack_invalid);
	C(tcp_challenge_acks);
	C(tcp_challenge_acks_limited);
	C(tcp_oow_acks_limited);
	C(tcp_lost_retransmits);
	C(tcp_rto_expired);
	C(tcp_rto_in_recovery);
	C(tcp_tlp_probes);
	C(tcp_undos);
	C(tcp_cwnd_restarts);
	C(tcp_syn_rcvd_relistens);
	C(tcp_peer_limited);
	C(tcp_peer_evicted);
	C(tcp_paws_dropped);
	C(tcp_disordered_acks);
	C(tcp_ts_missing);
	C(tcp_ts_rtt_samples);
	C(tcp_pmtu_updates);
	C(tcp_pmtu_ignored);
	C(http_requests);
	json_ku64(j, "http_2xx", k->http_responses[2]);
	json_ku64(j, "http_4xx", k->http_responses[4]);
	json_ku64(j, "http_5xx", k->http_responses[5]);
	C(http_timeouts);
	C(http_body_bytes);
	json_obj_end(j);
}
#undef C

static void tcp_json(struct json *j, const struct net_state_view *v)
{
	char s[16];
	json_obj(j);
	json_ku64(j, "active", v->tcp_active);
	json_ku64(j, "max", v->tcp_max);
	json_kbool(j, "timestamps", net_if.cfg.tcp_ts);
	json_karr(j, "connections");
	for (unsigned i = 0; i < TCP_MAX_CONN; i++) {
		const struct tcp_conn *c = tcp_conn_at(i);
		if (c->state == TCP_CLOSED)
			continue;
		json_obj(j);
		ip_str(c->rip, s, sizeof(s));
		json_kstr(j, "peer", s);
		json_ku64(j, "port", c->rport);
		json_kstr(j, "state", tcp_state_name(c->state));
		json_ku64(j, "unacked", c->snd_max - c->snd_una);
		json_ku64(j, "queued", c->tx_len);
		json_ku64(j, "rto_ms", c->rto / 1000);
		json_ku64(j, "srtt_us", c->srtt);
		json_kbool(j, "timestamps", c->ts_ok);
		json_ku64(j, "cwnd", c->cwnd);
		json_ku64(j, "ssthresh", c->ssthresh);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void net_status(struct json *j)
{
	struct net_state_view v;
	char s[16];
	net_state(&v);
	json_obj(j);
	json_kbool(j, "configured", v.configured);
	ip_str(v.ip, s, sizeof(s));
	json_kstr(j, "ip", s);
	ip_str(v.mask, s, sizeof(s));
	json_kstr(j, "mask", s);
	ip_str(v.gw, s, sizeof(s));
	json_kstr(j, "gateway", s);
	json_kstr(j, "source", v.source);
	json_ku64(j, "lease_s", v.lease_s);
	json_kstr(j, "stack_nic", v.nic ? v.nic->name : "");
	json_karr(j, "nics");
	for (unsigned i = 0; i < nnics && i < NIC_MAX; i++)
		if (nics[i])
			nic_json(j, nics[i]);
	if (!nnics && v.nic) /* host tests drive a NIC nobody registered */
		nic_json(j, v.nic);
	json_arr_end(j);
	json_key(j, "tcp");
	tcp_json(j, &v);
	json_key(j, "counters");
	counters_json(j, net_counters());
	json_obj_end(j);
}
STATUS_REGISTER("net", net_status);
