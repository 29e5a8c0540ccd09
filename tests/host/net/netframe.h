/* tests/host/net/netframe.h — the frames a test peer (10.0.2.2, QEMU's
 * gateway) sends to the capOS IP stack (10.0.2.15), built with the stack's
 * own wire helpers. Shared by the fake-NIC tests (netfake.c) and the gVNIC
 * model test (tests/host/gvnic/test_gvnic_http.c); the binary that carries
 * the stack defines stack_mac, the MAC of the NIC the stack runs on. */
#ifndef CAPOS_NETFRAME_H
#define CAPOS_NETFRAME_H
#include <stddef.h>
#include <stdint.h>

#include "kernel/net/net.h"
#include "kernel/net/net_wire.h"

#define PEER_IP	 0x0a000202u /* 10.0.2.2 */
#define STACK_IP 0x0a00020fu /* 10.0.2.15 */
extern const uint8_t peer_mac[6];
extern const uint8_t stack_mac[6];

/* the stack's static configuration: STACK_IP/24, PEER_IP the gateway */
void peer_net_config(struct net_config *c);

/* an ARP packet from sha/spa for tpa in a zeroed 64-byte frame f: to tha
 * (also the target hardware address) or, tha NULL, to the broadcast
 * address */
void build_arp(uint8_t f[64], uint16_t op, const uint8_t *sha, uint32_t spa,
	       const uint8_t *tha, uint32_t tpa);
/* an IPv4 packet to stack_mac, padded to the Ethernet minimum; the length */
size_t build_ipv4(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto,
		  const void *payload, size_t len);
/* a DHCP reply from PEER_IP (UDP 67 to 68, IP and Ethernet broadcast,
 * checksummed) for stack_mac: the message type option, then n bytes of
 * options as given (at most 255); the frame length. f holds
 * ETH_FRAME_MAX bytes */
size_t build_dhcp_reply(uint8_t *f, uint32_t xid, uint8_t type, uint32_t yiaddr,
			const uint8_t *opts, size_t n);
/* a TCP segment from PEER_IP to STACK_IP; mss 0: no MSS option */
size_t build_tcp(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq,
		 uint32_t ack, uint8_t flags, uint16_t win, const void *data,
		 size_t len, uint16_t mss);
/* the same from src: another host (off the /24, it is reached through the
 * gateway PEER_IP, whose MAC the stack knows) */
size_t build_tcp_from(uint8_t *f, uint32_t src, uint16_t sport, uint16_t dport,
		      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		      const void *data, size_t len, uint16_t mss);
/* options build_tcp appends after the MSS option (a multiple of 4 bytes;
 * fake_tcp_optlen 0: none) */
extern uint8_t fake_tcp_opts[40];
extern size_t fake_tcp_optlen;

/* the first row of a fake kernel's pci_devs (the Web UI's PCI table):
 * QEMU q35's host bridge at 00:00.0 (needs kernel/pci/pci.h) */
#define NETFRAME_Q35_HOST_BRIDGE                                               \
	{                                                                      \
		.bus = 0, .dev = 0, .fn = 0, .vendor = 0x8086,                 \
		.device = 0x29c0, .class_code = 0x060000,                      \
		.state = "host bridge"                                         \
	}
#endif
