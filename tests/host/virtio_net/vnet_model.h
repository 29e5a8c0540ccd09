/* tests/host/virtio_net/vnet_model.h — a software virtio-net PCI function
 * (modern transport, split queues) and the kernel interfaces the driver
 * uses (PCI config space, DeviceMmio, DMAPool, Interrupt) wired to it.
 *
 * Layout, like QEMU's: vendor capabilities in config space pointing into a
 * 16 KiB memory BAR 4 — common 0x0000, ISR 0x1000, device 0x2000, notify
 * 0x3000 (multiplier 4). The model follows the spec where the driver could
 * get it wrong (status order, FEATURES_OK subset check, vector read-back,
 * queue programming before enable) and records what it saw; knobs make it
 * refuse or lie. */
#ifndef VNET_MODEL_H
#define VNET_MODEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/pci/pci.h"

/* the driver's authority owner: 1 unless a test binds another (an unbind
 * retires an id) */
extern uint16_t vm_owner;
#define VM_OWNER       vm_owner
#define VM_BAR	       4
#define VM_BAR_SIZE    0x4000u
#define VM_COMMON      0x0000u
#define VM_ISR	       0x1000u
#define VM_DEVICE      0x2000u
#define VM_NOTIFY      0x3000u
#define VM_NOTIFY_MULT 4u
#define VM_QMAX	       256
#define VM_NQ	       3
#define VM_MSIX_SIZE   4 /* MSI-X table entries */
#define VM_FRAMES      64
#define VM_ULOG	       1024

struct vm_queue {
	uint16_t size, msix, enable, notify_off;
	uint64_t desc, avail, used;
	uint16_t last_avail, used_idx;
	/* the available index at the driver's last notify: buffers past it
	 * are not the device's yet (§2.7.13: a device may wait for the
	 * notification), so a receive never uses them */
	uint16_t kicked_avail;
};

struct vm_state {
	uint8_t cfg[256]; /* PCI configuration space */
	/* common configuration */
	uint32_t dfsel, gfsel;
	uint64_t offered, accepted;
	uint16_t msix_config;
	uint8_t status, generation;
	uint16_t qsel;
	struct vm_queue q[VM_NQ];
	/* device configuration */
	uint8_t mac[6];
	uint16_t net_status;
	/* knobs */
	bool refuse_features_ok;   /* clear FEATURES_OK on the driver's write */
	bool refuse_config_vector; /* read back NO_VECTOR for config */
	bool refuse_queue_vector;  /* read back NO_VECTOR for queues */
	uint16_t qsize_max;	   /* queue_size on reset */
	uint16_t numq;		   /* num_queues (VM_NQ; at most VM_NQ live) */
	bool ignore_qsize; /* a queue_size write is dropped: reads qsize_max */
	uint16_t notify_off_of_q1; /* queue_notify_off of queue 1 */
	bool stuck_reset; /* a write of 0 to device_status is ignored */
	/* a slow reset (a hardware VF quiescing its DMA): a write of 0 to a
	 * device with a queue enabled leaves device_status reading its old
	 * value until the reset_reads-th read, which finishes the reset and
	 * reads 0. 0, or no queue enabled: at once */
	unsigned reset_reads;
	bool needs_reset_at_driver_ok; /* DRIVER_OK sets DEVICE_NEEDS_RESET */
	bool drop_features_ok;	       /* queue_enable clears FEATURES_OK */
	/* what the model saw */
	uint8_t status_writes[16];
	unsigned nstatus_writes;
	unsigned resets;
	unsigned reset_pending; /* reads of device_status left in a reset */
	bool
	    reset_refused; /* a reset was asked for and ignored (stuck_reset) */
	bool bus_master, mem_decode; /* PCI command register */
	unsigned violations;	     /* spec breaches by the driver */
	unsigned notifies[VM_NQ];
	unsigned enables; /* queue_enable writes, across resets */
	uint8_t frames[VM_FRAMES][2048]; /* transmitted: header + frame */
	uint32_t frame_len[VM_FRAMES];
	unsigned nframes;
	uint16_t rx_last_id; /* buffer the last vm_rx_inject wrote */
	/* every used entry the device published, honest or not, in order;
	 * a test empties it (nulog = 0) as it reads it. Past VM_ULOG entries
	 * the oldest are lost and ulog_lost counts them */
	struct vm_used_log {
		uint8_t q;
		uint32_t id, len;
	} ulog[VM_ULOG];
	unsigned nulog, ulog_lost;
};
extern struct vm_state vm;
extern struct pci_dev vm_pci;

/* a fresh device: offered features, caps in config space, MAC, link up */
void vm_reset_model(uint64_t offered);
/* rewrite capability `cfg_type`'s bar/offset/length in config space */
void vm_cap_set(uint8_t cfg_type, uint8_t bar, uint32_t offset,
		uint32_t length);
/* rewrite the notify capability's notify_off_multiplier */
void vm_notify_mult_set(uint32_t mult);

/* deliver one frame into the next receive buffer notified (header zeroed,
 * num_buffers 1) and raise the receive vector. false if none is posted */
bool vm_rx_inject(const void *frame, uint32_t len);
/* hostile: write a used entry of queue q (any values) and publish it */
void vm_used_push(unsigned q, uint32_t id, uint32_t len);
/* the driver's available index of queue q, and the id in available-ring
 * slot `slot` (free-running); false while the queue has no live ring */
bool vm_avail(unsigned q, uint16_t slot, uint16_t *idx, uint16_t *id);
/* change the link and raise the configuration-change vector */
void vm_set_link(bool up);
/* enter an error state: DEVICE_NEEDS_RESET in device_status and the
 * configuration-change vector (§2.1) */
void vm_needs_reset(void);

/* the kernel-interface side */
/* a fresh start: VM_OWNER bound, every pool it held given back, vectors
 * unbound, the refusal counters cleared */
void host_reset(void);
unsigned host_pools_live(void);
unsigned host_irqs_bound(void); /* entries bound now */
uint64_t host_irq_count(unsigned msix_index);
bool host_irq_masked(unsigned msix_index); /* masked now */
void *host_dma(uint64_t iova, size_t len); /* NULL outside live pools */
/* what the device reads rings through: any allocated page (no IOMMU: the
 * broker's rings are kernel pages, in no pool); NULL elsewhere */
void *host_ring(uint64_t iova, size_t len);
#endif
