/* kernel/net/dhcp.h — the DHCP client (RFC 2131). Above ip.c. */
#ifndef CAPOS_NET_DHCP_H
#define CAPOS_NET_DHCP_H
#include <stdint.h>

/* The shortest lease the client takes: a server's shorter one, 0 included,
 * is taken as this long, said once per stack. A 1 s lease put T1 half a
 * second after each ACK, a renewal every 0.5 s for as long as the server
 * answered. RFC 2131 sets no minimum lease (§4.4.5 bounds only the
 * retransmissions while renewing, to 60 s) and RFC 2132 §9.2 gives 0 no
 * meaning of its own; dhcpcd raises a lease under its DHCP_MIN_LEASE (20 s),
 * 0 among them, to it with a warning, busybox udhcpc one under its floor
 * silently, and systemd-networkd ignores an ACK whose lease is 0 or missing
 * (a server that always sends 0 then leaves it with no address) */
#define DHCP_MIN_LEASE_S 20u
/* An ACK with no lease option (RFC 2131 section 4.3.1 and table 3 make it
 * a MUST) is taken as this long, as busybox udhcpc does ("using 1 hour
 * lease"), said once a lease and counted in dhcp_no_lease_time. Clients
 * differ: ISC dhclient drops the ACK ("no expiry time on offered lease"),
 * rejects the server and starts over, and systemd-networkd ignores the ACK
 * unless FallbackLeaseLifetimeSec= is set, so a link whose one server
 * omits it never gets an address; dhcpcd takes the lease as infinite and
 * never asks the server again, keeping the address after the server has
 * given it to another host. A finite default is renewed at its T1 (30
 * minutes), where the server confirms the address, NAKs it or names a
 * lease time: an address it has taken back is given up within 30
 * minutes, or within the hour when it does not answer */
#define DHCP_DEFAULT_LEASE_S 3600u

void dhcp_reset(void);
void dhcp_start(void);
void dhcp_tick(uint64_t now);
/* the last message the NIC's ring refused (NIC_TX_FULL), sent again while
 * its exchange (state and transaction id) stands, rather than at its
 * retransmission seconds later: net_poll calls it at every poll, after
 * arp_flush; a refusal again sets net_if.tx_full, so net_poll stays busy
 * until the transmit-stall bound (NET_TX_STALL_US) */
void dhcp_flush(void);
#endif
