/* kernel/authority/virtio_broker.h — brokered virtqueues: a virtio PCI
 * function's DMA confined without an IOMMU.
 *
 * What a virtio device reads and writes in memory is named in two places:
 * the queue addresses in the common configuration structure (queue_desc,
 * queue_driver, queue_device) and the descriptor table they point at. The
 * broker owns both. It alone writes the common configuration (device
 * status, the feature bits, every per-queue field); the owner's own
 * DeviceMmio windows over any common configuration structure are
 * read-only (auth_owner_guard: mmio_grant refuses a writable one). It lays
 * each queue's descriptor table, available and used ring out in kernel
 * pages charged to the owner (DMA_CHARGE_SHADOW, mapped in the owner's
 * IOMMU domain when it has one) that no DMAPool of the driver contains,
 * and writes descriptor i once, pointing at buffer i of a buffer area it
 * checked lies inside one live DMAPool of the owner, which it pins
 * (dma_pool_revoke refused, AUTH_BUSY) until a reset of the device is
 * confirmed (device_status reads 0). An unconfirmed reset releases
 * nothing: the rings stay allocated and the pool pinned, for good if it
 * never confirms (withheld at unbind). The driver posts and takes buffer
 * ids through the broker; it never holds a ring address.
 *
 * Usage, in order (virtio 1.2 §3.1.1):
 *   virtio_broker_open(d, owner, &b)      before any window of the owner
 *   virtio_broker_reset(b, false, us)     step 1
 *   virtio_broker_status_set(b, ACK), (b, DRIVER)   steps 2-3
 *   virtio_broker_negotiate(b, wanted, required, &features)  steps 4-6
 *   virtio_broker_queue(b, qidx, ...)     step 7, per queue
 *   virtio_broker_status_set(b, DRIVER_OK) step 8
 *   virtio_broker_post / _take / _need_notify / _suppress_irq: the rings
 * A handle is a slot and a generation, and it is its owner's alone: every
 * call names the calling owner, and one through another owner's handle is
 * refused, counted not-granted and said in one bounded line
 * (auth_broker_caller), as the NVMe broker refuses it. The owner's
 * revocation resets the device (its revoke hook) and every call is
 * refused (owner-revoked) until auth_owner_reinstate; then the same
 * handle brings the device up again from step 1, on a new common window
 * (the revocation seized the last one). The owner's unbind closes the
 * broker: every call through the handle refused from then on
 * (stale-generation), however many brokers opened since. */
#ifndef CAPOS_VIRTIO_BROKER_H
#define CAPOS_VIRTIO_BROKER_H
#include <stdbool.h>
#include <stdint.h>

#include "dma/buf.h"
#include "dma/virtio_reg.h"

struct pci_dev;

/* open brokers at once (one per bound virtio function) */
#define VIRTIO_BROKER_MAX 8
/* queues per broker (virtio-net: receive and transmit) */
#define VIRTIO_BROKER_QUEUES 2
/* the longest the revoke hook waits for device_status to read 0, and the
 * pause between reads of it in any reset */
#define VIRTIO_BROKER_RESET_US 1000000u
#define VIRTIO_BROKER_POLL_US  10u

struct virtio_broker {
	uint16_t slot;
	uint32_t gen;
};

/* Find every common configuration capability of d (vendor capabilities
 * walked as the driver walks them, at most 48), map the first usable one
 * for the broker and guard them all (auth_owner_guard: no writable
 * DeviceMmio window of owner over any of them from now on; a function
 * with more than AUTH_GUARDS_MAX is refused, as one would stay
 * writable). Refused,
 * before anything of the function is touched, unless owner is d's bound
 * owner, not revoked, holding no writable window over a common structure
 * already. Called again for the same function and owner it returns the
 * same broker. 0, or -1 with one line. */
int virtio_broker_open(struct pci_dev *d, uint16_t owner,
		       struct virtio_broker *out);

/* Reset: FAILED first when failed (§2.1), device_status 0, bus mastering
 * off, then device_status read until it is 0, for at most wait_us and
 * never longer than VIRTIO_BROKER_RESET_US, whatever the driver asks (one
 * read at least). A 0 releases every queue: its rings freed (or withheld,
 * dma_kernel_free) and its buffer pool unpinned. Returns the last value
 * read (0: reset confirmed), or 0xff when the handle is refused. */
uint8_t virtio_broker_reset(struct virtio_broker b, uint16_t owner, bool failed,
			    uint64_t wait_us);
/* OR bits into device_status: only ACKNOWLEDGE, DRIVER, DRIVER_OK and
 * FAILED (FEATURES_OK is virtio_broker_negotiate's); DRIVER_OK only after
 * FEATURES_OK. A device that dropped a bit set since the reset is not
 * written to (unless FAILED). 0 or -1 */
int virtio_broker_status_set(struct virtio_broker b, uint16_t owner,
			     uint8_t bits);
/* the device's features (§3.1.1 step 4); 0 for a refused handle */
uint64_t virtio_broker_offered(struct virtio_broker b, uint16_t owner);
/* §3.1.1 steps 4-6, once per reset after DRIVER: accept offered & wanted,
 * FEATURES_OK, read back. Refused (one line, nothing written) when wanted
 * holds a bit outside VIRTIO_BROKER_FEATURES (a packed ring, indirect
 * descriptors, notification data, in-order use, event indexes ...: the
 * device would read memory the broker did not lay out, or read it
 * differently), when a bit of required (VERSION_1 always; ACCESS_PLATFORM
 * too when an IOMMU translates the owner, or the device could bypass it)
 * is not offered, or when the device refuses FEATURES_OK (then no queue
 * nor DRIVER_OK until the next reset: §3.1.1 step 6). 0 with *features,
 * or -1 */
int virtio_broker_negotiate(struct virtio_broker b, uint16_t owner,
			    uint64_t wanted, uint64_t required,
			    uint64_t *features);
#define VIRTIO_BROKER_FEATURES                                                 \
	(((1ull << VIRTIO_F_DEVICE_BITS) - 1) | (1ull << VIRTIO_F_VERSION_1) | \
	 (1ull << VIRTIO_F_ACCESS_PLATFORM))
/* config_msix_vector := vec, read back: false when the device refused */
bool virtio_broker_config_vector(struct virtio_broker b, uint16_t owner,
				 uint16_t vec);
/* queue_size of queue qidx as the device offers it (0: unavailable) */
uint16_t virtio_broker_queue_max(struct virtio_broker b, uint16_t owner,
				 uint16_t qidx);

/* Set queue qidx (< VIRTIO_BROKER_QUEUES and num_queues) up after
 * FEATURES_OK and before DRIVER_OK: size a power of two at most VIRTQ_MAX
 * and the device's queue_size; the buffer area [bufs->iova, + size *
 * buf_size) inside one live DMAPool of the owner, pinned from here; ring
 * pages from dma_kernel_alloc; descriptor i -> buffer i, device-writable
 * when device_writes; then queue_size, the three areas, MSI-X entry vec
 * (read back), and queue_enable. *notify_off: queue_notify_off as read
 * (the driver scales it by its notify multiplier). A queue set up once
 * stays until a confirmed reset, also when a later step failed: its
 * addresses may have reached the device. 0, or -1 with one line. */
int virtio_broker_queue(struct virtio_broker b, uint16_t owner, uint16_t qidx,
			uint16_t size, const struct dma_buf *bufs,
			uint32_t buf_size, bool device_writes, uint16_t vec,
			uint16_t *notify_off);

/* the rings (dma/virtq.h), behind the handle and queue checks: post
 * refuses (one line, bounded: auth_refused) an id past the queue or
 * outstanding, a length past buf_size, a queue not set up, a handle
 * refused. 0 or -1 */
int virtio_broker_post(struct virtio_broker b, uint16_t owner, uint16_t qidx,
		       uint16_t id, uint32_t len);
/* virtq_take: 1 with *id, *len; 0 none; -1 broken or refused */
int virtio_broker_take(struct virtio_broker b, uint16_t owner, uint16_t qidx,
		       uint16_t *id, uint32_t *len);
bool virtio_broker_need_notify(struct virtio_broker b, uint16_t owner,
			       uint16_t qidx);
void virtio_broker_suppress_irq(struct virtio_broker b, uint16_t owner,
				uint16_t qidx, bool suppress);
#ifdef CAPOS_PROOFS
/* Proof image only: the fault PROOF nic-restart injects — queue qidx's
 * next available entry names descriptor id and its index is published,
 * past the checks virtio_broker_post makes (memory the broker owns,
 * corrupted): what the device does with it is what the proof shows */
void virtio_broker_inject_avail(struct virtio_broker b, uint16_t owner,
				uint16_t qidx, uint16_t id);
#endif
#ifdef CAPOS_HOST
struct virtq_desc;
/* host tests: queue qidx's descriptor table (NULL when not set up) and
 * size, to check every entry the device can read */
const volatile struct virtq_desc *virtio_broker_desc(struct virtio_broker b,
						     uint16_t owner,
						     uint16_t qidx,
						     uint16_t *size);
#endif
#endif
