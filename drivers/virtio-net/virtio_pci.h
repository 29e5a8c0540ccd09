/* drivers/virtio-net/virtio_pci.h — the modern virtio PCI transport
 * (virtio 1.2 §4.1) over capOS DeviceMmio windows: one window per virtio
 * structure, each granted from the BAR its capability names. */
#ifndef CAPOS_VIRTIO_PCI_H
#define CAPOS_VIRTIO_PCI_H
#include <stdbool.h>
#include <stdint.h>

#include "drivers/virtio-net/virtq.h"
#include "kernel/authority/authority.h"

struct pci_dev;

/* the first 4 KiB of a structure is all any device uses (§4.1.4 note) */
#define VIRTIO_PCI_MAP_MAX 4096u
/* the notify window spans queue_notify_off * multiplier; capOS maps at
 * most this much of it */
#define VIRTIO_PCI_NOTIFY_MAP_MAX 65536u
/* the longest wait for device_status to read 0 after a reset is written
 * (a hardware device may take a while to quiesce its DMA), and the pause
 * between reads */
#define VIRTIO_RESET_TIMEOUT_US 1000000u
#define VIRTIO_RESET_POLL_US	10u

struct virtio_pci {
	struct pci_dev *pci;
	const char *name; /* "vnet0" */
	uint16_t owner;
	struct dev_mmio common; /* VIRTIO_PCI_CAP_COMMON_CFG */
	struct dev_mmio notify; /* VIRTIO_PCI_CAP_NOTIFY_CFG */
	struct dev_mmio isr;	/* VIRTIO_PCI_CAP_ISR_CFG */
	struct dev_mmio device; /* VIRTIO_PCI_CAP_DEVICE_CFG (may be absent) */
	bool have_device;
	uint32_t notify_mult; /* notify_off_multiplier */
	uint8_t status;	      /* device_status bits set since the last reset */
	uint64_t offered;     /* device features */
	uint64_t features;    /* negotiated */
};

/* find and grant the common, notify, ISR and device windows. 0 or -1 */
int virtio_pci_map(struct virtio_pci *vp);
void virtio_pci_unmap(struct virtio_pci *vp);

/* write 0 to device_status and wait for it to read 0 (§4.1.4.3.2), at
 * most VIRTIO_RESET_TIMEOUT_US: before a (re)initialization. 0/-1 */
int virtio_pci_reset(struct virtio_pci *vp);
/* write 0 to device_status and return: a reset asked for, not waited on */
void virtio_pci_reset_request(struct virtio_pci *vp);
/* after a reset was asked for: read device_status until it reads 0 or `us`
 * microseconds passed (at least one read); the last value read */
uint8_t virtio_pci_reset_wait(const struct virtio_pci *vp, uint64_t us);
uint8_t virtio_pci_status(const struct virtio_pci *vp);
/* OR bits into device_status (§3.1.1): the value read plus bits. A device
 * that dropped a bit the driver set since the reset (FEATURES_OK taken
 * back) is not written to, so DRIVER_OK never goes out without
 * FEATURES_OK: -1. FAILED is always written. 0 or -1 */
int virtio_pci_status_set(struct virtio_pci *vp, uint8_t bits);

/* §3.1.1 steps 4-6: accept offered & wanted; every bit of `required` must
 * be offered; set FEATURES_OK and read it back. 0 or -1 */
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
/* §4.1.5.1.3: program queue qidx with q's size and areas and MSI-X entry
 * `vec`, locate its notify address (*notify_off: byte offset in the notify
 * window) and enable it. 0 or -1 */
int virtio_pci_queue_enable(struct virtio_pci *vp, uint16_t qidx,
			    const struct virtq *q, uint16_t vec,
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
