/* kernel/net/dhcp.h — the DHCP client (RFC 2131). Above ip.c. */
#ifndef CAPOS_NET_DHCP_H
#define CAPOS_NET_DHCP_H
#include <stdint.h>

void dhcp_reset(void);
void dhcp_start(void);
void dhcp_tick(uint64_t now);
#endif
