/* kernel/net/dhcp.h — the DHCP client (RFC 2131). Above ip.c. */
#ifndef CAPOS_NET_DHCP_H
#define CAPOS_NET_DHCP_H
#include <stdint.h>

/* The shortest lease the client takes: a server's shorter one is taken as
 * this long, said once per stack. A 1 s lease put T1 half a second after
 * each ACK, a renewal every 0.5 s for as long as the server answered. RFC
 * 2131 sets no minimum lease (§4.4.5 bounds only the retransmissions while
 * renewing, to 60 s); dhcpcd raises a lease under its DHCP_MIN_LEASE (20 s)
 * to it with a warning, busybox udhcpc one under 122 s silently, and
 * systemd-networkd refuses only a lease of 0 */
#define DHCP_MIN_LEASE_S 20u

void dhcp_reset(void);
void dhcp_start(void);
void dhcp_tick(uint64_t now);
#endif
