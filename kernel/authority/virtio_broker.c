/* kernel/authority/virtio_broker.c — brokered virtqueues (virtio 1.2 §2.7,
 * §3.1.1, §4.1.4.3): the common configuration and the rings of a virtio
 * PCI function are the kernel's; the driver names queues and buffer ids.
 * See virtio_broker.h. */
#include "kernel/authority/virtio_broker.h"

#include "auth_internal.h"
#include "dma/owner.h"
#include "dma/virtq.h"
#include "kernel/iommu/iommu.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/time/time.h"

/* 256-byte config space / 4-byte minimum capability */
#define VB_CAP_WALK_MAX 48

struct vb_queue {
	bool live; /* its addresses may have reached the device */
	int grant; /* the pinned grant of its buffer area */
	uint64_t ring_pa;
	size_t ring_pages;
	char name[40]; /* "virtio-broker <pci address> q<n>" */
	struct virtq q;
};

struct vb {
	bool open;
	/* its owner's revocation took the common window with every other
	 * capability of the owner (auth_slots_seize): a new one before the
	 * next use, once the owner is reinstated (vb_rearm) */
	bool rearm;
	struct pci_dev *d;
	uint16_t owner;
	struct dev_mmio common; /* the broker's own, read-write */
	uint8_t common_bar;	/* where it lies: BAR and offset */
	uint32_t common_off;
	uint8_t status; /* device_status bits set since the reset */
	char name[16];
	struct vb_queue q[VIRTIO_BROKER_QUEUES];
};
static struct vb vbs[VIRTIO_BROKER_MAX];
/* a slot's generation moves on at each open: a closed broker's handle
 * never names the next one in its slot */
static uint32_t vb_gen[VIRTIO_BROKER_MAX];

/* a refusal of the broker's owner: one line, bounded per owner and reason
 * (auth_refused), and -1 */
#define VB_REFUSE(b, r, ...)                                                   \
	({                                                                     \
		if (auth_refused((b)->owner, (r)))                             \
			kprintf(__VA_ARGS__);                                  \
		-1;                                                            \
	})

/* a new common window for the broker after its owner's reinstatement
 * (the revocation seized the last one); 0 or -1 (nothing said: the
 * caller refuses) */
static int vb_rearm(struct vb *b)
{
	pci_enable(b->d, true, false, false);
	if (mmio_grant_broker(b->d, b->owner, b->common_bar, b->common_off,
			      VIRTIO_COMMON_SIZE, &b->common) != 0)
		return -1;
	b->rearm = false;
	return 0;
}

/* The open broker h names, for a call by caller: the handle's slot and
 * generation, then its owner (auth_broker_caller: another owner's call is
 * refused), then the owner not revoked — refused (owner-revoked) until
 * it is reinstated, when the same handle works again on a device the
 * revocation reset. NULL when refused, counted and said (bounded) */
static struct vb *vb_get(struct virtio_broker h, uint16_t caller,
			 const char *what)
{
	if (h.slot >= VIRTIO_BROKER_MAX || vb_gen[h.slot] != h.gen ||
	    !vbs[h.slot].open) {
		auth_refuse(h.slot >= VIRTIO_BROKER_MAX ? AUTH_BAD_SLOT
							: AUTH_STALE_GEN,
			    h.slot, what);
		return 0;
	}
	struct vb *b = &vbs[h.slot];
	if (!auth_broker_caller(b->owner, caller, "virtio-broker", what))
		return 0;
	if (auth_owner_revoked(b->owner)) {
		VB_REFUSE(b, AUTH_REVOKED,
			  "virtio-broker %s: %s refused: owner %u revoked\n",
			  b->name, what, b->owner);
		return 0;
	}
	if (b->rearm && vb_rearm(b) != 0) {
		VB_REFUSE(b, AUTH_NO_MEMORY,
			  "virtio-broker %s: %s refused: no common window "
			  "after owner %u's reinstatement\n",
			  b->name, what, b->owner);
		return 0;
	}
	return b;
}

static uint8_t rd8(struct vb *b, uint32_t off)
{
	return mmio_read8(&b->common, off);
}
static uint16_t rd16(struct vb *b, uint32_t off)
{
	return mmio_read16(&b->common, off);
}

/* every queue given back: the device confirmed its reset, so it holds no
 * address of them. The rings go back (withheld instead when the unit does
 * not confirm their unmap, or the owner's unbind did not confirm its
 * stop: dma_kernel_free), the buffer pools are unpinned */
static void vb_release(struct vb *b)
{
	struct dma_owner *acct = dma_owner_acct(b->owner);
	for (unsigned i = 0; i < VIRTIO_BROKER_QUEUES; i++) {
		struct vb_queue *q = &b->q[i];
		if (!q->live)
			continue;
		if (acct)
			(void)grant_unpin(&acct->grants, q->grant);
		if (dma_kernel_free(b->owner, q->ring_pa, q->ring_pages) == 0 &&
		    acct)
			dma_owner_uncharge(acct, DMA_CHARGE_SHADOW,
					   q->ring_pages * PAGE_SIZE);
		memset(q, 0, sizeof(*q));
	}
}

static uint8_t vb_reset(struct vb *b, bool failed, uint64_t wait_us)
{
	if (failed)
		mmio_write8(&b->common, VIRTIO_COMMON_STATUS,
			    rd8(b, VIRTIO_COMMON_STATUS) |
				VIRTIO_STATUS_FAILED);
	mmio_write8(&b->common, VIRTIO_COMMON_STATUS, 0);
	b->status = 0;
	pci_enable(b->d, true, false, false);
	/* §4.1.4.3.2: the reset is done when device_status reads 0; a read
	 * completion does not pass the device's posted writes */
	uint64_t deadline =
	    time_now_us() + MIN(wait_us, VIRTIO_BROKER_RESET_US);
	uint8_t s;
	while ((s = rd8(b, VIRTIO_COMMON_STATUS)) != 0 &&
	       time_now_us() < deadline)
		time_delay_us(VIRTIO_BROKER_POLL_US);
	if (s == 0)
		vb_release(b);
	return s;
}

/* the owner's revocation (a DMA fault, an operator, an unbind): the
 * device is off the bus already; reset it. The broker stays its owner's,
 * as the NVMe broker does: every call refused while the owner is revoked
 * (vb_get), and after auth_owner_reinstate the same handle brings the
 * device up again from its reset. What an unconfirmed reset leaves — the
 * rings, the pins on the buffer pools — stays until a later reset is
 * confirmed, for good if none is (the unbind counts it withheld). A
 * revocation again without a reinstatement between (an unbind of the
 * revoked owner) finds nothing set up since — every call was refused —
 * and its window seized: nothing to reset */
static void vb_revoked(void *arg, uint16_t owner)
{
	struct vb *b = arg;
	if (auth_owner_revoked(owner) || (b->rearm && vb_rearm(b) != 0))
		return;
	uint8_t s = vb_reset(b, false, VIRTIO_BROKER_RESET_US);
	unsigned held = 0;
	for (unsigned i = 0; i < VIRTIO_BROKER_QUEUES; i++)
		held += b->q[i].live;
	if (s)
		kprintf("virtio-broker %s: owner %u revoked; the device did "
			"not confirm its reset (status 0x%x): %u queues' "
			"rings and buffer pools withheld\n",
			b->name, owner, s, held);
	b->rearm = true; /* the revocation seizes the window next */
}

/* the owner is being unbound (auth_owner_unbind, after its revocation:
 * vb_revoked reset the device): the broker closes for good, its slot free
 * for the next open, whose generation differs, so every later call
 * through the old handle is refused (stale-generation). Rings a reset
 * never confirmed stay charged to the owner: the unbind counts them
 * withheld */
static uint64_t vb_unbound(void *arg, uint16_t owner, bool stopped)
{
	struct vb *b = arg;
	(void)owner, (void)stopped;
	b->open = false;
	b->rearm = false;
	return 0;
}

int virtio_broker_open(struct pci_dev *d, uint16_t owner,
		       struct virtio_broker *out)
{
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	memset(out, 0, sizeof(*out));
	bool bound = auth_owner_function(owner, d);
	if (!bound || auth_owner_revoked(owner)) {
		if (auth_refused(owner,
				 bound ? AUTH_REVOKED : AUTH_NOT_GRANTED))
			kprintf("virtio-broker %s: unable to open broker "
				"(owner %u %s)\n",
				a, owner, bound ? "revoked" : "not bound");
		return -1;
	}
	unsigned free = VIRTIO_BROKER_MAX;
	for (unsigned i = 0; i < VIRTIO_BROKER_MAX; i++) {
		if (vbs[i].open && vbs[i].d == d) {
			if (vbs[i].owner != owner)
				return VB_REFUSE(
				    &vbs[i], AUTH_NOT_GRANTED,
				    "virtio-broker %s: unable to open broker "
				    "(owner %u's)\n",
				    a, vbs[i].owner);
			*out = (struct virtio_broker){(uint16_t)i, vb_gen[i]};
			return 0;
		}
		if (!vbs[i].open && vb_gen[i] < UINT32_MAX &&
		    free == VIRTIO_BROKER_MAX)
			free = i;
	}
	if (free == VIRTIO_BROKER_MAX) {
		if (auth_refused(owner, AUTH_NO_MEMORY))
			kprintf("virtio-broker %s: unable to open broker (all "
				"%u open)\n",
				a, VIRTIO_BROKER_MAX);
		return -1;
	}

	/* every common configuration structure, as §4.1.4.1 lets a device
	 * offer more than one: the first usable is the broker's, all are
	 * guarded */
	struct {
		uint8_t bar;
		uint32_t off, len;
	} common[AUTH_GUARDS_MAX];
	unsigned n = 0, walked = 0;
	int use = -1;
	for (uint8_t pos = pci_find_cap(d, PCI_CAP_ID_VNDR, 0);
	     pos && walked < VB_CAP_WALK_MAX;
	     pos = pci_find_cap(d, PCI_CAP_ID_VNDR, pos), walked++) {
		if (pci_cfg_read8(d, pos + VIRTIO_PCI_CAP_CFG_TYPE) !=
		    VIRTIO_PCI_CAP_COMMON_CFG)
			continue;
		uint8_t len = pci_cfg_read8(d, pos + VIRTIO_PCI_CAP_LEN);
		uint8_t bar = pci_cfg_read8(d, pos + VIRTIO_PCI_CAP_BAR);
		uint32_t off = pci_cfg_read32(d, pos + VIRTIO_PCI_CAP_OFFSET);
		uint32_t length =
		    pci_cfg_read32(d, pos + VIRTIO_PCI_CAP_LENGTH);
		if (bar > 5)
			continue; /* reserved: names no BAR (§4.1.4) */
		if (n == AUTH_GUARDS_MAX) {
			if (auth_refused(owner, AUTH_NOT_GRANTED))
				kprintf("virtio-broker %s: unable to open "
					"broker (more than %u common "
					"configuration structures)\n",
					a, AUTH_GUARDS_MAX);
			return -1;
		}
		/* a short length still names the registers at off */
		common[n].bar = bar;
		common[n].off = off;
		common[n].len = MAX(length, (uint32_t)VIRTIO_COMMON_SIZE);
		if (use < 0 && len >= VIRTIO_PCI_CAP_SIZE && d->bar[bar].size &&
		    !d->bar[bar].io && !(off & 3) &&
		    length >= VIRTIO_COMMON_SIZE &&
		    (uint64_t)off + length <= d->bar[bar].size)
			use = (int)n;
		n++;
	}
	if (use < 0) {
		if (auth_refused(owner, AUTH_NOT_GRANTED))
			kprintf("virtio-broker %s: unable to open broker (no "
				"usable common configuration structure)\n",
				a);
		return -1;
	}
	struct vb *b = &vbs[free];
	memset(b, 0, sizeof(*b));
	b->d = d;
	b->owner = owner;
	b->common_bar = common[use].bar;
	b->common_off = common[use].off;
	strlcpy(b->name, a, sizeof(b->name));
	/* the guards first: they refuse if the owner holds a writable
	 * window over a common structure already */
	for (unsigned i = 0; i < n; i++)
		if (auth_owner_guard(owner, common[i].bar, common[i].off,
				     common[i].len) != 0)
			return -1;
	pci_enable(d, true, false, false);
	if (mmio_grant_broker(d, owner, common[use].bar, common[use].off,
			      VIRTIO_COMMON_SIZE, &b->common) != 0) {
		kprintf("virtio-broker %s: unable to map the common "
			"configuration\n",
			a);
		return -1;
	}
	b->open = true;
	vb_gen[free]++;
	auth_owner_on_revoke(owner, vb_revoked, b);
	auth_owner_on_unbind(owner, vb_unbound, b);
	*out = (struct virtio_broker){(uint16_t)free, vb_gen[free]};
	return 0;
}

uint8_t virtio_broker_reset(struct virtio_broker h, uint16_t owner, bool failed,
			    uint64_t wait_us)
{
	struct vb *b = vb_get(h, owner, "virtio reset");
	return b ? vb_reset(b, failed, wait_us) : 0xff;
}

static int vb_status_write(struct vb *b, uint8_t bits)
{
	uint8_t s = rd8(b, VIRTIO_COMMON_STATUS);
	if ((s & b->status) != b->status && !(bits & VIRTIO_STATUS_FAILED)) {
		kprintf("virtio-broker %s: unable to set device status 0x%x: "
			"the device dropped 0x%x (status 0x%x)\n",
			b->name, bits, b->status & ~s, s);
		return -1;
	}
	b->status |= bits;
	mmio_write8(&b->common, VIRTIO_COMMON_STATUS, s | bits);
	return 0;
}

int virtio_broker_status_set(struct virtio_broker h, uint16_t owner,
			     uint8_t bits)
{
	struct vb *b = vb_get(h, owner, "virtio status");
	if (!b)
		return -1;
	const uint8_t allowed = VIRTIO_STATUS_ACKNOWLEDGE |
				VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |
				VIRTIO_STATUS_FAILED;
	if ((bits & ~allowed) || ((bits & VIRTIO_STATUS_DRIVER_OK) &&
				  !(b->status & VIRTIO_STATUS_FEATURES_OK)))
		return VB_REFUSE(b, AUTH_NOT_GRANTED,
				 "virtio-broker %s: refused device status 0x%x "
				 "(status 0x%x set since the reset)\n",
				 b->name, bits, b->status);
	return vb_status_write(b, bits);
}

static uint64_t vb_offered(struct vb *b)
{
	uint64_t f = 0;
	for (uint32_t w = 0; w < 2; w++) {
		mmio_write32(&b->common, VIRTIO_COMMON_DFSELECT, w);
		f |= (uint64_t)mmio_read32(&b->common, VIRTIO_COMMON_DF)
		     << (32 * w);
	}
	return f;
}

uint64_t virtio_broker_offered(struct virtio_broker h, uint16_t owner)
{
	struct vb *b = vb_get(h, owner, "virtio features");
	return b ? vb_offered(b) : 0;
}

int virtio_broker_negotiate(struct virtio_broker h, uint16_t owner,
			    uint64_t wanted, uint64_t required,
			    uint64_t *features)
{
	struct vb *b = vb_get(h, owner, "virtio negotiate");
	if (!b)
		return -1;
	if (!(b->status & VIRTIO_STATUS_DRIVER) ||
	    (b->status & VIRTIO_STATUS_FEATURES_OK))
		return VB_REFUSE(b, AUTH_NOT_GRANTED,
				 "virtio-broker %s: refused feature "
				 "negotiation (status 0x%x: after DRIVER, once "
				 "a reset)\n",
				 b->name, b->status);
	uint64_t bad = (wanted | required) & ~VIRTIO_BROKER_FEATURES;
	if (bad)
		return VB_REFUSE(b, AUTH_NOT_GRANTED,
				 "virtio-broker %s: refused features 0x%llx "
				 "(they change how the device reads its rings, "
				 "or are not understood; allowed 0x%llx)\n",
				 b->name, (unsigned long long)bad,
				 (unsigned long long)VIRTIO_BROKER_FEATURES);
	required |= 1ull << VIRTIO_F_VERSION_1;
	/* under an IOMMU the device must send its DMA through it (§6.1) */
	if (dma_owner_translated(b->owner))
		required |= 1ull << VIRTIO_F_ACCESS_PLATFORM;
	uint64_t offered = vb_offered(b);
	if ((offered & required) != required) {
		kprintf("virtio-broker %s: unable to negotiate features: "
			"offered 0x%llx, need 0x%llx\n",
			b->name, (unsigned long long)offered,
			(unsigned long long)required);
		return -1;
	}
	uint64_t f = offered & (wanted | required);
	for (uint32_t w = 0; w < 2; w++) {
		mmio_write32(&b->common, VIRTIO_COMMON_GFSELECT, w);
		mmio_write32(&b->common, VIRTIO_COMMON_GF,
			     (uint32_t)(f >> (32 * w)));
	}
	/* §3.1.1 steps 5-6: FEATURES_OK, then re-read it; a device that does
	 * not accept the subset clears it */
	if (vb_status_write(b, VIRTIO_STATUS_FEATURES_OK) ||
	    !(rd8(b, VIRTIO_COMMON_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
		/* unusable until the next reset: no queue, no DRIVER_OK */
		b->status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
		kprintf("virtio-broker %s: unable to negotiate features: "
			"device refused 0x%llx\n",
			b->name, (unsigned long long)f);
		return -1;
	}
	*features = f;
	return 0;
}

bool virtio_broker_config_vector(struct virtio_broker h, uint16_t owner,
				 uint16_t vec)
{
	struct vb *b = vb_get(h, owner, "virtio vector");
	if (!b)
		return false;
	mmio_write16(&b->common, VIRTIO_COMMON_MSIX, vec);
	return rd16(b, VIRTIO_COMMON_MSIX) == vec;
}

uint16_t virtio_broker_queue_max(struct virtio_broker h, uint16_t owner,
				 uint16_t qidx)
{
	struct vb *b = vb_get(h, owner, "virtio queue size");
	if (!b)
		return 0;
	mmio_write16(&b->common, VIRTIO_COMMON_Q_SELECT, qidx);
	return rd16(b, VIRTIO_COMMON_Q_SIZE);
}

int virtio_broker_queue(struct virtio_broker h, uint16_t owner, uint16_t qidx,
			uint16_t size, const struct dma_buf *bufs,
			uint32_t buf_size, bool device_writes, uint16_t vec,
			uint16_t *notify_off)
{
	struct vb *b = vb_get(h, owner, "virtio queue");
	if (!b)
		return -1;
	struct dma_owner *acct = dma_owner_acct(b->owner);
	uint16_t numq = rd16(b, VIRTIO_COMMON_NUMQ);
	if (qidx >= VIRTIO_BROKER_QUEUES || qidx >= numq || !acct)
		return VB_REFUSE(b, AUTH_NOT_GRANTED,
				 "virtio-broker %s: refused queue %u (of %u, "
				 "at most %u)\n",
				 b->name, qidx, numq, VIRTIO_BROKER_QUEUES);
	struct vb_queue *q = &b->q[qidx];
	if (q->live)
		return VB_REFUSE(b, AUTH_BUSY,
				 "virtio-broker %s: refused queue %u: set up "
				 "already (a confirmed reset gives it back)\n",
				 b->name, qidx);
	if (!(b->status & VIRTIO_STATUS_FEATURES_OK) ||
	    (b->status & VIRTIO_STATUS_DRIVER_OK))
		return VB_REFUSE(b, AUTH_NOT_GRANTED,
				 "virtio-broker %s: refused queue %u (status "
				 "0x%x: after FEATURES_OK, before DRIVER_OK)\n",
				 b->name, qidx, b->status);
	uint16_t max = virtio_broker_queue_max(h, owner, qidx);
	if (!size || size > VIRTQ_MAX || (size & (size - 1)) || size > max ||
	    !buf_size)
		return VB_REFUSE(b, AUTH_NOT_GRANTED,
				 "virtio-broker %s: refused queue %u of %u "
				 "entries of %u bytes (device offers %u, at "
				 "most %u)\n",
				 b->name, qidx, size, buf_size, max, VIRTQ_MAX);
	/* the buffer area inside one live pool of the owner, pinned for as
	 * long as the device may read descriptors naming it */
	uint64_t bytes = (uint64_t)size * buf_size;
	const struct dma_grant *g =
	    grant_find(&acct->grants, b->owner, bufs->iova, bytes);
	int slot = g ? (int)(g - acct->grants.g) : -1;
	if (!g || !grant_pin(&acct->grants, slot))
		return VB_REFUSE(b, AUTH_NOT_GRANTED,
				 "virtio-broker %s: refused queue %u: buffers "
				 "[0x%llx, +0x%llx) not inside a live DMA pool "
				 "of owner %u\n",
				 b->name, qidx, (unsigned long long)bufs->iova,
				 (unsigned long long)bytes, b->owner);
	size_t pages =
	    ALIGN_UP(virtq_ring_bytes(size), (size_t)PAGE_SIZE) / PAGE_SIZE;
	uint64_t pa = 0;
	if (dma_owner_charge(acct, DMA_CHARGE_SHADOW, pages * PAGE_SIZE)) {
		pa = dma_kernel_alloc(b->owner, pages, 0,
				      IOMMU_READ | IOMMU_WRITE);
		if (!pa)
			dma_owner_uncharge(acct, DMA_CHARGE_SHADOW,
					   pages * PAGE_SIZE);
	}
	if (!pa) {
		(void)grant_unpin(&acct->grants, slot);
		return VB_REFUSE(b, AUTH_NO_MEMORY,
				 "virtio-broker %s: refused queue %u: no %zu "
				 "ring pages for owner %u\n",
				 b->name, qidx, pages, b->owner);
	}
	ksnprintf(q->name, sizeof(q->name), "virtio-broker %s q%u", b->name,
		  qidx);
	const struct dma_buf ring = {(void *)(uintptr_t)pa, pa,
				     pages * PAGE_SIZE};
	const struct dma_buf area = {0, bufs->iova, bytes};
	if (virtq_init(&q->q, q->name, size, &ring, &area, buf_size,
		       device_writes) != 0) {
		/* the arguments were checked above: not reached */
		(void)grant_unpin(&acct->grants, slot);
		if (dma_kernel_free(b->owner, pa, pages) == 0)
			dma_owner_uncharge(acct, DMA_CHARGE_SHADOW,
					   pages * PAGE_SIZE);
		return -1;
	}
	q->grant = slot;
	q->ring_pa = pa;
	q->ring_pages = pages;
	q->live = true; /* from here the device may hold its addresses */

	/* §4.1.5.1.3 virtqueue configuration, in the spec's order */
	mmio_write16(&b->common, VIRTIO_COMMON_Q_SELECT, qidx);
	mmio_write16(&b->common, VIRTIO_COMMON_Q_SIZE, size);
	mmio_write64(&b->common, VIRTIO_COMMON_Q_DESC, q->q.desc_iova);
	mmio_write64(&b->common, VIRTIO_COMMON_Q_DRIVER, q->q.avail_iova);
	mmio_write64(&b->common, VIRTIO_COMMON_Q_DEVICE, q->q.used_iova);
	mmio_write16(&b->common, VIRTIO_COMMON_Q_MSIX, vec);
	if (rd16(b, VIRTIO_COMMON_Q_MSIX) != vec) {
		kprintf("virtio-broker %s: unable to map queue %u to MSI-X "
			"entry %u\n",
			b->name, qidx, vec);
		return -1;
	}
	/* a device that dropped the write would use a ring of another size
	 * than the one laid out: past its end, or short of it */
	uint16_t got = rd16(b, VIRTIO_COMMON_Q_SIZE);
	if (got != size) {
		kprintf("virtio-broker %s: unable to size queue %u to %u: it "
			"reads back %u\n",
			b->name, qidx, size, got);
		return -1;
	}
	*notify_off = rd16(b, VIRTIO_COMMON_Q_NOFF);
	mmio_write16(&b->common, VIRTIO_COMMON_Q_ENABLE, 1);
	return 0;
}

/* queue qidx of a live broker, set up; else NULL, refused */
static struct vb_queue *vb_queue(struct virtio_broker h, uint16_t owner,
				 uint16_t qidx, const char *what)
{
	struct vb *b = vb_get(h, owner, what);
	if (!b)
		return 0;
	if (qidx < VIRTIO_BROKER_QUEUES && b->q[qidx].live)
		return &b->q[qidx];
	VB_REFUSE(b, AUTH_NOT_GRANTED,
		  "virtio-broker %s: refused %s on queue %u (not set up)\n",
		  b->name, what, qidx);
	return 0;
}

int virtio_broker_post(struct virtio_broker h, uint16_t owner, uint16_t qidx,
		       uint16_t id, uint32_t len)
{
	struct vb_queue *q = vb_queue(h, owner, qidx, "virtio post");
	if (!q)
		return -1;
	if (virtq_post(&q->q, id, len) == 0)
		return 0;
	return VB_REFUSE(&vbs[h.slot], AUTH_NOT_GRANTED,
			 "%s: refused post of id %u, %u bytes: "
			 "%s (%u entries of %u bytes)\n",
			 q->name, id, len, virtq_post_refusal(&q->q, id, len),
			 q->q.size, q->q.buf_size);
}

int virtio_broker_take(struct virtio_broker h, uint16_t owner, uint16_t qidx,
		       uint16_t *id, uint32_t *len)
{
	struct vb_queue *q = vb_queue(h, owner, qidx, "virtio take");
	return q ? virtq_take(&q->q, id, len) : -1;
}

bool virtio_broker_need_notify(struct virtio_broker h, uint16_t owner,
			       uint16_t qidx)
{
	struct vb_queue *q = vb_queue(h, owner, qidx, "virtio notify");
	return q && virtq_need_notify(&q->q);
}

void virtio_broker_suppress_irq(struct virtio_broker h, uint16_t owner,
				uint16_t qidx, bool suppress)
{
	struct vb_queue *q = vb_queue(h, owner, qidx, "virtio irq");
	if (q)
		virtq_suppress_irq(&q->q, suppress);
}

#ifdef CAPOS_PROOFS
void virtio_broker_inject_avail(struct virtio_broker h, uint16_t owner,
				uint16_t qidx, uint16_t id)
{
	struct vb_queue *q = vb_queue(h, owner, qidx, "virtio inject");
	if (!q)
		return;
	struct virtq *v = &q->q;
	v->avail->ring[v->avail_idx & (v->size - 1)] = id;
	mb();
	v->avail->idx = (uint16_t)(v->avail_idx + 1);
	mb();
}
#endif

#ifdef CAPOS_HOST
const volatile struct virtq_desc *virtio_broker_desc(struct virtio_broker h,
						     uint16_t owner,
						     uint16_t qidx,
						     uint16_t *size)
{
	struct vb *b = vb_get(h, owner, "virtio desc");
	if (!b || qidx >= VIRTIO_BROKER_QUEUES || !b->q[qidx].live)
		return 0;
	*size = b->q[qidx].q.size;
	return b->q[qidx].q.desc;
}
#endif
