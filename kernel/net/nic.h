/* kernel/net/nic.h — the device-neutral network interface. virtio-net and
 * gVNIC implement it; the IP stack and the Web UI run over any struct nic. */
#ifndef CAPOS_NIC_H
#define CAPOS_NIC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nic_stats {
	uint64_t rx_packets, rx_bytes, rx_dropped, rx_errors;
	uint64_t tx_packets, tx_bytes, tx_dropped, tx_errors;
};

/* nic->send: the transmit ring is full, the frame was not taken */
#define NIC_TX_FULL (-2)

struct nic {
	char name[16];
	uint8_t mac[6];
	bool link_up;
	uint32_t link_mbps; /* 0: unknown */
	uint16_t mtu;
	/* queue one Ethernet frame (no FCS); the frame is copied. 0 queued,
	 * NIC_TX_FULL no room now (nothing taken: send it again once recv has
	 * reclaimed finished transmits), -1 refused. The device may not see
	 * it before flush */
	int (*send)(struct nic *n, const void *frame, size_t len);
	/* hand the device what send queued, with one notification (may be
	 * NULL: send hands over each frame itself) */
	void (*flush)(struct nic *n);
	/* copy the next received frame into buf; returns its length, 0 when
	 * none is waiting, -1 once the NIC has failed (its driver gave the
	 * device up: for good until its detach; the stack leaves it then,
	 * net_poll). Also reclaims finished transmits. */
	int (*recv)(struct nic *n, void *buf, size_t cap);
	struct nic_stats stats;
	void *priv;
};

/* link lines. The device decides how often its link changes, so a driver
 * says so at most once per NIC_LINK_LOG_US; changes in between are counted
 * and the next line — the next change, or the first poll after the
 * interval — gives the state then and how many went unsaid */
#define NIC_LINK_LOG_US 1000000
struct nic_link_log {
	uint64_t next_us;  /* no line before this time */
	uint64_t unlogged; /* changes since the last line */
};

/* a link change (changed) or a poll at `now`: true when the driver writes
 * its line now, *unlogged then the changes before it that had none */
static inline bool nic_link_log(struct nic_link_log *l, uint64_t now,
				bool changed, uint64_t *unlogged)
{
	if (changed && now < l->next_us) {
		l->unlogged++;
		return false;
	}
	if (!changed && (!l->unlogged || now < l->next_us))
		return false;
	*unlogged = l->unlogged;
	l->unlogged = 0;
	l->next_us = now + NIC_LINK_LOG_US;
	return true;
}

#define NIC_MAX 4
void nic_register(struct nic *n);
/* before a driver stops its device (its detach): n leaves the registry
 * and the stack (net_nic_removed), so nothing sends through it or polls it
 * after. n registered or not, once or twice: harmless */
void nic_unregister(struct nic *n);
extern struct nic *nics[NIC_MAX];
extern unsigned nnics;
#endif
