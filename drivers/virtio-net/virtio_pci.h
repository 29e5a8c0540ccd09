/* drivers/virtio-net/virtio_pci.h — the modern virtio PCI transport
 * (virtio 1.2 §4.1) over capOS DeviceMmio windows: one window per virtio
 * structure, each granted from the BAR its capability names. The common
 * configuration window is read-only: every write to it (device status,
 * features, queues, vectors) is the virtio broker's
 * (kernel/authority/virtio_broker.h), opened by virtio_pci_map first. */
#ifndef CAPOS_VIRTIO_PCI_H
#define CAPOS_VIRTIO_PCI_H
#include <stdbool.h>
#include <stdint.h>

#include "kernel/authority/authority.h"
#include "kernel/authority/virtio_broker.h"

struct pci_dev;

/* the first 4 KiB of a structure is all any device uses (§4.1.4 note) */
#define VIRTIO_PCI_MAP_MAX 4096u
/* the notify window spans queue_notify_off * multiplier; capOS maps at
 * most this much of it */
#define VIRTIO_PCI_NOTIFY_MAP_MAX 65536u
/* the longest wait for device_status to read 0 after a reset is written
 * (a hardware device may take a while to quiesce its DMA; the broker
 * reads it every VIRTIO_BROKER_POLL_US) */
#define VIRTIO_RESET_TIMEOUT_US 1000000u

struct virtio_pci {
	struct pci_dev *pci;
	const char *name; /* "vnet0" */
	uint16_t owner;
	struct virtio_broker vb; /* writes the common configuration */
	struct dev_mmio common;	 /* VIRTIO_PCI_CAP_COMMON_CFG, read-only */
	struct dev_mmio notify;	 /* VIRTIO_PCI_CAP_NOTIFY_CFG */
	struct dev_mmio isr;	 /* VIRTIO_PCI_CAP_ISR_CFG */
	struct dev_mmio device;	 /* VIRTIO_PCI_CAP_DEVICE_CFG (may be absent) */
	bool have_device;
	uint32_t notify_mult; /* notify_off_multiplier */
	uint8_t status;	      /* device_status bits set since the last reset */
	uint64_t features;    /* negotiated */
};

/* open the broker (virtio_broker_open), then find and grant the common
 * (read-only), notify, ISR and device windows. 0 or -1 */
int virtio_pci_map(struct virtio_pci *vp);
void virtio_pci_unmap(struct virtio_pci *vp);

/* the broker's reset (virtio_broker_reset: FAILED first when failed, bus
 * mastering off, device_status read until 0 for at most wait_us; a 0
 * gives the queues back). The last value read: 0 when confirmed */
uint8_t virtio_pci_stop(struct virtio_pci *vp, bool failed, uint64_t wait_us);
/* reset and wait VIRTIO_RESET_TIMEOUT_US for it (§4.1.4.3.2): before a
 * (re)initialization. 0, or -1 with one line */
int virtio_pci_reset(struct virtio_pci *vp);
uint8_t virtio_pci_status(const struct virtio_pci *vp);
/* OR bits into device_status through the broker (virtio_broker_status_set);
 * vp->status follows. 0 or -1 */
int virtio_pci_status_set(struct virtio_pci *vp, uint8_t bits);

/* §3.1.1 steps 4-6 through the broker (virtio_broker_negotiate): accept
 * offered & wanted; every bit of `required` must be offered. 0 or -1 */
int virtio_pci_negotiate(struct virtio_pci *vp, uint64_t wanted,
			 uint64_t required);
static inline bool virtio_has(const struct virtio_pci *vp, unsigned bit)
{
	return (vp->features >> bit) & 1;
}

/* map the configuration-change event to MSI-X entry `vec` (or
 * VIRTIO_MSI_NO_VECTOR); false if the device refused (§4.1.5.1.2) */
bool virtio_pci_config_vector(struct virtio_pci *vp, uint16_t vec);

/* num_queues: the virtqueues the device has (§4.1.4.3) */
uint16_t virtio_pci_num_queues(struct virtio_pci *vp);
/* queue_size of queue `qidx` < num_queues as the device offers it: the
 * largest it supports, 0 when it is unavailable; the caller checks it */
uint16_t virtio_pci_queue_max(struct virtio_pci *vp, uint16_t qidx);
/* §4.1.5.1.3 through the broker: queue qidx of `size` entries over the
 * buffer area bufs (one buffer of buf_size bytes per entry), MSI-X entry
 * vec; *notify_off: its byte offset in the notify window, checked to fit
 * it. 0 or -1 */
int virtio_pci_queue_enable(struct virtio_pci *vp, uint16_t qidx, uint16_t size,
			    const struct dma_buf *bufs, uint32_t buf_size,
			    bool device_writes, uint16_t vec,
			    uint32_t *notify_off);
/* available-buffer notification, §4.1.5.2 */
void virtio_pci_notify(struct virtio_pci *vp, uint32_t notify_off,
		       uint16_t qidx);

/* device configuration (§2.5): one field of `width` bytes at off. Callers
 * reading several fields bracket them with virtio_pci_config_gen and retry
 * when it moved (§2.5.1). false if absent or outside the window */
uint8_t virtio_pci_config_gen(const struct virtio_pci *vp);
bool virtio_pci_config_read(const struct virtio_pci *vp, uint32_t off,
			    unsigned width, uint32_t *val);
#endif
