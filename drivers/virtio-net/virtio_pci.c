/* drivers/virtio-net/virtio_pci.c — modern virtio PCI transport (virtio 1.2
 * §4.1). Every structure is reached through a DeviceMmio window granted
 * from the BAR its vendor capability names, after checking that the
 * structure lies inside that BAR; the common configuration is read
 * through a read-only one and written only by the virtio broker. */
#include "drivers/virtio-net/virtio_pci.h"

#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"

/* 256-byte config space / 4-byte minimum capability */
#define VIRTIO_CAP_WALK_MAX 48

struct virtio_cap {
	uint8_t pos, len, type, bar;
	uint32_t offset, length, mult;
};

static void virtio_cap_read(const struct pci_dev *d, uint8_t pos,
			    struct virtio_cap *c)
{
	c->pos = pos;
	c->len = pci_cfg_read8(d, pos + VIRTIO_PCI_CAP_LEN);
	c->type = pci_cfg_read8(d, pos + VIRTIO_PCI_CAP_CFG_TYPE);
	c->bar = pci_cfg_read8(d, pos + VIRTIO_PCI_CAP_BAR);
	c->offset = pci_cfg_read32(d, pos + VIRTIO_PCI_CAP_OFFSET);
	c->length = pci_cfg_read32(d, pos + VIRTIO_PCI_CAP_LENGTH);
	c->mult = 0;
	if (c->type == VIRTIO_PCI_CAP_NOTIFY_CFG &&
	    c->len >= VIRTIO_PCI_NOTIFY_CAP_SIZE)
		c->mult = pci_cfg_read32(d, pos + VIRTIO_PCI_NOTIFY_CAP_MULT);
}

/* §4.1.4: a usable capability is long enough, names a memory BAR 0..5 that
 * exists, and its structure [offset, offset+length) fits inside that BAR */
static bool virtio_cap_usable(const struct pci_dev *d,
			      const struct virtio_cap *c)
{
	unsigned need = c->type == VIRTIO_PCI_CAP_NOTIFY_CFG
			    ? VIRTIO_PCI_NOTIFY_CAP_SIZE
			    : VIRTIO_PCI_CAP_SIZE;
	if (c->len < need || (unsigned)c->pos + c->len > 256)
		return false;
	if (c->bar > 5 || d->bar[c->bar].size == 0 || d->bar[c->bar].io)
		return false;
	if (c->length == 0)
		return false;
	uint64_t end = (uint64_t)c->offset + c->length; /* no 32-bit wrap */
	return end <= d->bar[c->bar].size;
}

static int virtio_cap_grant(struct virtio_pci *vp, const struct virtio_cap *c,
			    uint32_t min_len, uint32_t max_len, uint32_t align,
			    struct dev_mmio *out, uint32_t flags,
			    const char *what)
{
	if (c->length < min_len || (c->offset & (align - 1))) {
		kprintf(
		    "%s: unable to use %s structure (offset 0x%x length %u)\n",
		    vp->name, what, c->offset, c->length);
		return -1;
	}
	uint32_t len = MIN(c->length, max_len);
	if (mmio_grant(vp->pci, vp->owner, c->bar, c->offset, len, flags,
		       out) != 0) {
		kprintf("%s: unable to map %s structure (BAR%u 0x%x+0x%x)\n",
			vp->name, what, c->bar, c->offset, len);
		return -1;
	}
	return 0;
}

int virtio_pci_map(struct virtio_pci *vp)
{
	struct virtio_cap caps[5] = {0}; /* first usable one of each type */
	bool seen[5] = {0};
	unsigned walked = 0;

	/* the broker first: from here no window of ours over a common
	 * configuration structure may be writable */
	if (virtio_broker_open(vp->pci, vp->owner, &vp->vb) != 0)
		return -1;

	/* §4.1.4.1: use the first capability of each type the driver can use;
	 * ignore reserved types and reserved BAR values */
	for (uint8_t pos = pci_find_cap(vp->pci, PCI_CAP_ID_VNDR, 0);
	     pos && walked < VIRTIO_CAP_WALK_MAX;
	     pos = pci_find_cap(vp->pci, PCI_CAP_ID_VNDR, pos), walked++) {
		struct virtio_cap c;
		virtio_cap_read(vp->pci, pos, &c);
		if (c.type < VIRTIO_PCI_CAP_COMMON_CFG ||
		    c.type > VIRTIO_PCI_CAP_DEVICE_CFG)
			continue; /* PCI_CFG access window, shared memory,
				     vendor */
		if (seen[c.type] || !virtio_cap_usable(vp->pci, &c))
			continue;
		caps[c.type] = c;
		seen[c.type] = true;
	}
	if (!seen[VIRTIO_PCI_CAP_COMMON_CFG] ||
	    !seen[VIRTIO_PCI_CAP_NOTIFY_CFG] || !seen[VIRTIO_PCI_CAP_ISR_CFG]) {
		kprintf("%s: unable to find virtio capabilities (common=%d "
			"notify=%d isr=%d)\n",
			vp->name, seen[1], seen[2], seen[3]);
		return -1;
	}

	/* §4.1.4.3.1: common offset 4-byte aligned; §4.1.4.4.1: notify offset
	 * 2-byte aligned, multiplier 0 or an even power of two */
	const struct virtio_cap *nc = &caps[VIRTIO_PCI_CAP_NOTIFY_CFG];
	if (nc->mult & (nc->mult - 1)) {
		kprintf("%s: unable to use notify multiplier %u\n", vp->name,
			nc->mult);
		return -1;
	}
	vp->notify_mult = nc->mult;

	if (virtio_cap_grant(vp, &caps[VIRTIO_PCI_CAP_COMMON_CFG],
			     VIRTIO_COMMON_SIZE, VIRTIO_PCI_MAP_MAX, 4,
			     &vp->common, MMIO_READ, "common configuration"))
		goto err;
	if (virtio_cap_grant(vp, nc, 2, VIRTIO_PCI_NOTIFY_MAP_MAX, 2,
			     &vp->notify, MMIO_WRITE, "notification"))
		goto err_common;
	if (virtio_cap_grant(vp, &caps[VIRTIO_PCI_CAP_ISR_CFG], 1, 4, 1,
			     &vp->isr, MMIO_READ, "ISR status"))
		goto err_notify;
	if (seen[VIRTIO_PCI_CAP_DEVICE_CFG]) {
		if (virtio_cap_grant(vp, &caps[VIRTIO_PCI_CAP_DEVICE_CFG], 1,
				     VIRTIO_PCI_MAP_MAX, 4, &vp->device,
				     MMIO_READ, "device configuration"))
			goto err_isr;
		vp->have_device = true;
	}
	return 0;

err_isr:
	mmio_revoke(&vp->isr);
err_notify:
	mmio_revoke(&vp->notify);
err_common:
	mmio_revoke(&vp->common);
err:
	return -1;
}

void virtio_pci_unmap(struct virtio_pci *vp)
{
	if (vp->have_device)
		mmio_revoke(&vp->device);
	vp->have_device = false;
	mmio_revoke(&vp->isr);
	mmio_revoke(&vp->notify);
	mmio_revoke(&vp->common);
}

uint8_t virtio_pci_status(const struct virtio_pci *vp)
{
	return mmio_read8(&vp->common, VIRTIO_COMMON_STATUS);
}

int virtio_pci_status_set(struct virtio_pci *vp, uint8_t bits)
{
	if (virtio_broker_status_set(vp->vb, vp->owner, bits) != 0)
		return -1;
	vp->status |= bits;
	return 0;
}

uint8_t virtio_pci_stop(struct virtio_pci *vp, bool failed, uint64_t wait_us)
{
	vp->status = 0;
	return virtio_broker_reset(vp->vb, vp->owner, failed, wait_us);
}

int virtio_pci_reset(struct virtio_pci *vp)
{
	/* §4.1.4.3.2: after writing 0 the driver waits for a read of 0
	 * before it reinitializes the device */
	uint8_t s = virtio_pci_stop(vp, false, VIRTIO_RESET_TIMEOUT_US);
	if (s) {
		kprintf("%s: unable to reset device (status 0x%x)\n", vp->name,
			s);
		return -1;
	}
	return 0;
}

int virtio_pci_negotiate(struct virtio_pci *vp, uint64_t wanted,
			 uint64_t required)
{
	if (virtio_broker_negotiate(vp->vb, vp->owner, wanted, required,
				    &vp->features))
		return -1;
	vp->status |= VIRTIO_STATUS_FEATURES_OK;
	return 0;
}

bool virtio_pci_config_vector(struct virtio_pci *vp, uint16_t vec)
{
	return virtio_broker_config_vector(vp->vb, vp->owner, vec);
}

uint16_t virtio_pci_num_queues(struct virtio_pci *vp)
{
	return mmio_read16(&vp->common, VIRTIO_COMMON_NUMQ);
}

uint16_t virtio_pci_queue_max(struct virtio_pci *vp, uint16_t qidx)
{
	return virtio_broker_queue_max(vp->vb, vp->owner, qidx);
}

int virtio_pci_queue_enable(struct virtio_pci *vp, uint16_t qidx, uint16_t size,
			    const struct dma_buf *bufs, uint32_t buf_size,
			    bool device_writes, uint16_t vec,
			    uint32_t *notify_off)
{
	uint16_t noff;
	if (virtio_broker_queue(vp->vb, vp->owner, qidx, size, bufs, buf_size,
				device_writes, vec, &noff) != 0)
		return -1;
	/* §4.1.4.4: cap.offset + queue_notify_off * notify_off_multiplier; the
	 * window starts at cap.offset. The 16-bit write must fit the window
	 * and be 2-byte aligned (a multiplier of 1 can make it odd, and the
	 * DeviceMmio window refuses an unaligned access). */
	uint64_t off = (uint64_t)noff * vp->notify_mult;
	if ((off & 1) || off + 2 > vp->notify.len) {
		kprintf("%s: unable to locate notify address of queue %u "
			"(offset 0x%llx unaligned or past window %u)\n",
			vp->name, qidx, (unsigned long long)off,
			vp->notify.len);
		return -1;
	}
	*notify_off = (uint32_t)off;
	return 0;
}

void virtio_pci_notify(struct virtio_pci *vp, uint32_t notify_off,
		       uint16_t qidx)
{
	/* without VIRTIO_F_NOTIFICATION_DATA: the 16-bit queue index */
	mmio_write16(&vp->notify, notify_off, qidx);
}

uint8_t virtio_pci_config_gen(const struct virtio_pci *vp)
{
	return mmio_read8(&vp->common, VIRTIO_COMMON_CFGGEN);
}

bool virtio_pci_config_read(const struct virtio_pci *vp, uint32_t off,
			    unsigned width, uint32_t *val)
{
	/* §4.1.3.1: 8-, 16- and 32-bit fields with accesses of their width */
	if (!vp->have_device || !mmio_ok(&vp->device, off, width, false))
		return false;
	switch (width) {
	case 1:
		*val = mmio_read8(&vp->device, off);
		return true;
	case 2:
		*val = mmio_read16(&vp->device, off);
		return true;
	case 4:
		*val = mmio_read32(&vp->device, off);
		return true;
	}
	return false;
}
