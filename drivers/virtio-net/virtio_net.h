/* drivers/virtio-net/virtio_net.h — software state of one virtio network
 * device (no hardware definitions: those are in virtio_reg.h). */
#ifndef CAPOS_VIRTIO_NET_H
#define CAPOS_VIRTIO_NET_H
#include <stdbool.h>
#include <stdint.h>

#include "dma/virtq.h"
#include "drivers/virtio-net/virtio_pci.h"
#include "kernel/authority/authority.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/net/nic.h"

#define VNET_MAX	  2
#define VNET_QSIZE	  256  /* entries per queue, if the device allows */
#define VNET_TX_BATCH	  16   /* frames posted before a notify at the latest */
#define VNET_BUF_SIZE	  2048 /* >= VIRTIO_NET_RX_MIN_BUF, one per descriptor */
#define VNET_LINK_POLL_US 100000 /* re-read status this often without IRQs */

/* MSI-X table entries capOS uses on a virtio-net function */
enum { VNET_VEC_CONFIG, VNET_VEC_RX, VNET_VEC_TX, VNET_NVEC };

/* one queue as the driver holds it: its buffers (in the pool) and which
 * of them are its own; the rings are the broker's */
struct vnet_q {
	uint16_t size;
	struct dma_buf bufs; /* buffer i at bufs.va + i * VNET_BUF_SIZE */
	uint16_t nfree;	     /* ids in free[]: not posted */
	uint16_t free[VIRTQ_MAX];
};

struct vnet_softc {
	char name[8]; /* "vnet0" */
	struct virtio_pci vp;
	struct nic nic;
	struct dma_pool pool; /* the buffers of both queues, nothing else */
	struct vnet_q rx, tx;
	uint32_t rx_notify, tx_notify; /* byte offsets in vp.notify */
	struct irq_cap irq[VNET_NVEC];
	bool msix;		      /* vectors bound and mapped */
	volatile bool config_changed; /* set by the config-change interrupt */
	uint64_t link_checked_us;
	uint16_t status;   /* last virtio_net_config.status read */
	bool failed;	   /* device broke the protocol: FAILED set, no I/O */
	bool detached;	   /* vnet_detach ran: failed too, no I/O; the slot is
			      the next attach's (a restart) */
	int detach_result; /* vnet_detach's answer, given again */
	uint64_t notifies, link_changes;
	struct nic_link_log link_log;
	unsigned tx_unkicked; /* frames posted since the last TX notify */
	bool rx_irq_off;      /* receive interrupt suppressed: frames waiting */
};

extern const struct driver virtio_net_driver;
extern struct vnet_softc vnet_softcs[VNET_MAX];
extern unsigned vnet_count;
#endif
