/* tests/host/virtio_net/vnet_model.c — the virtio-net PCI function model
 * and the kernel interfaces (PCI, DeviceMmio, Interrupt, the command line)
 * the driver reaches it through. DMAPool, the owner table and the refusal
 * counters and names are the kernel's own (AUTH_SRC over
 * tests/host/shim/pages.c), for owner VM_OWNER; DeviceMmio and Interrupt
 * stay modelled because the model must see every register access and raise
 * the vectors itself. See vnet_model.h. */
#include <stdio.h>
#include <stdlib.h>

#include "dma/virtio_reg.h"
#include "kernel/authority/auth_internal.h"
#include "kernel/lib/lib.h"
#include "mmio_model.h"
#include "owner_shim.h"
#include "shim.h"
#include "vnet_model.h"

struct vm_state vm;
struct pci_dev vm_pci;
uint16_t vm_owner = 1;

#define CAP_COMMON 0x40
#define CAP_ISR	   0x50
#define CAP_DEVICE 0x60
#define CAP_NOTIFY 0x70
#define CAP_PCICFG 0x84
#define CAP_MSIX   0x98

static void violation(const char *what, uint64_t a)
{
	vm.violations++;
	fprintf(stderr, "vnet model: driver broke the spec: %s (0x%llx)\n",
		what, (unsigned long long)a);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void vm_cap(uint8_t pos, uint8_t next, uint8_t type, uint8_t len,
		   uint32_t off, uint32_t length)
{
	uint8_t *c = &vm.cfg[pos];
	c[0] = PCI_CAP_ID_VNDR;
	c[1] = next;
	c[2] = len;
	c[3] = type;
	c[4] = VM_BAR;
	put32(c + 8, off);
	put32(c + 12, length);
}

void vm_cap_set(uint8_t cfg_type, uint8_t bar, uint32_t offset, uint32_t length)
{
	uint8_t pos = cfg_type == VIRTIO_PCI_CAP_COMMON_CFG   ? CAP_COMMON
		      : cfg_type == VIRTIO_PCI_CAP_ISR_CFG    ? CAP_ISR
		      : cfg_type == VIRTIO_PCI_CAP_DEVICE_CFG ? CAP_DEVICE
							      : CAP_NOTIFY;
	vm.cfg[pos + 4] = bar;
	put32(&vm.cfg[pos + 8], offset);
	put32(&vm.cfg[pos + 12], length);
}

void vm_notify_mult_set(uint32_t mult)
{
	put32(&vm.cfg[CAP_NOTIFY + 16], mult);
}

static void vm_device_reset(void)
{
	vm.dfsel = vm.gfsel = 0;
	vm.accepted = 0;
	vm.msix_config = VIRTIO_MSI_NO_VECTOR;
	vm.status = 0;
	vm.qsel = 0;
	memset(vm.q, 0, sizeof(vm.q));
	for (unsigned i = 0; i < VM_NQ; i++) {
		vm.q[i].size = vm.qsize_max;
		vm.q[i].msix = VIRTIO_MSI_NO_VECTOR;
		vm.q[i].notify_off = (uint16_t)i;
	}
	vm.q[1].notify_off = vm.notify_off_of_q1;
	vm.resets++;
}

void vm_reset_model(uint64_t offered)
{
	memset(&vm, 0, sizeof(vm));
	vm.offered = offered;
	vm.qsize_max = VM_QMAX;
	vm.numq = VM_NQ;
	vm.notify_off_of_q1 = 1;
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
	memcpy(vm.mac, mac, 6);
	vm.net_status = VIRTIO_NET_S_LINK_UP;
	vm_device_reset();
	vm.resets = 0;

	vm.cfg[0] = 0xf4, vm.cfg[1] = 0x1a, vm.cfg[2] = 0x41, vm.cfg[3] = 0x10;
	vm.cfg[0x06] = 0x10; /* capability list */
	vm.cfg[0x34] = CAP_COMMON;
	vm_cap(CAP_COMMON, CAP_ISR, VIRTIO_PCI_CAP_COMMON_CFG, 16, VM_COMMON,
	       0x1000);
	vm_cap(CAP_ISR, CAP_DEVICE, VIRTIO_PCI_CAP_ISR_CFG, 16, VM_ISR, 0x1000);
	vm_cap(CAP_DEVICE, CAP_NOTIFY, VIRTIO_PCI_CAP_DEVICE_CFG, 16, VM_DEVICE,
	       0x1000);
	vm_cap(CAP_NOTIFY, CAP_PCICFG, VIRTIO_PCI_CAP_NOTIFY_CFG, 20, VM_NOTIFY,
	       0x1000);
	put32(&vm.cfg[CAP_NOTIFY + 16], VM_NOTIFY_MULT);
	vm_cap(CAP_PCICFG, CAP_MSIX, VIRTIO_PCI_CAP_PCI_CFG, 20, 0, 0);
	vm.cfg[CAP_PCICFG + 4] = 0; /* bar 0 (an I/O BAR): must be ignored */
	vm.cfg[CAP_MSIX] = 0x11;
	vm.cfg[CAP_MSIX + 1] = 0;

	memset(&vm_pci, 0, sizeof(vm_pci));
	vm_pci.vendor = VIRTIO_PCI_VENDOR;
	vm_pci.device = VIRTIO_PCI_DEVICE_NET_MODERN;
	vm_pci.bar[0] =
	    (struct pci_bar){.base = 0xc000, .size = 0x20, .io = true};
	vm_pci.bar[4] = (struct pci_bar){
	    .base = 0xfe000000, .size = VM_BAR_SIZE, .is64 = true};
	vm_pci.cap_msix = CAP_MSIX;
	vm_pci.msix_size = VM_MSIX_SIZE;
	vm_pci.owner = VM_OWNER;
}

/* ---- PCI -------------------------------------------------------------------
 */
uint8_t pci_cfg_read8(const struct pci_dev *d, uint16_t off)
{
	return off < 256 ? vm.cfg[off] : 0xff;
}
uint16_t pci_cfg_read16(const struct pci_dev *d, uint16_t off)
{
	return (uint16_t)(pci_cfg_read8(d, off) | pci_cfg_read8(d, off + 1)
						      << 8);
}
uint32_t pci_cfg_read32(const struct pci_dev *d, uint16_t off)
{
	return pci_cfg_read16(d, off) | (uint32_t)pci_cfg_read16(d, off + 2)
					    << 16;
}
uint8_t pci_find_cap(struct pci_dev *d, uint8_t id, uint8_t from)
{
	uint8_t pos = from ? vm.cfg[from + 1] : vm.cfg[0x34];
	for (int n = 0; pos >= 0x40 && n < 48; n++, pos = vm.cfg[pos + 1])
		if (vm.cfg[pos] == id)
			return pos;
	return 0;
}
void pci_addr_str(const struct pci_dev *d, char *buf, unsigned n)
{
	ksnprintf(buf, n, "%04x:%02x:%02x.%x", d->seg, d->bus, d->dev, d->fn);
}
/* as kernel/authority's check: no bus mastering for a revoked or
 * quarantined owner */
void pci_enable(struct pci_dev *d, bool mem, bool io, bool bus_master)
{
	vm.mem_decode = mem;
	vm.bus_master = bus_master && !auth_owner_stopped(VM_OWNER);
}

/* ---- interrupts
 * ---------------------------------------------------------------- */
static struct {
	bool bound, masked, pending;
	irq_handler_t fn;
	void *arg;
	uint64_t count;
	uint32_t gen;
} irqs[VM_MSIX_SIZE];

static void vm_raise(uint16_t vec)
{
	if (vec >= VM_MSIX_SIZE || !irqs[vec].bound)
		return;
	if (irqs[vec].masked) {
		irqs[vec].pending = true;
		return;
	}
	irqs[vec].count++;
	irqs[vec].fn(irqs[vec].arg);
}

static void irqs_seize(void)
{
	for (unsigned i = 0; i < VM_MSIX_SIZE; i++)
		irqs[i].bound = false;
}

int irq_bind(struct pci_dev *d, uint16_t owner, unsigned idx, irq_handler_t fn,
	     void *arg, struct irq_cap *out)
{
	if (idx >= VM_MSIX_SIZE || irqs[idx].bound)
		return -1;
	irqs[idx].bound = irqs[idx].masked = true;
	irqs[idx].fn = fn;
	irqs[idx].arg = arg;
	irqs[idx].gen++;
	*out = model_irq_cap(idx, irqs[idx].gen);
	return 0;
}
/* a capability for an entry not bound, or bound again since, is refused
 * and counted as the kernel's auth_slot_check does (test teardowns check
 * the count): an irq_mask of an unbound entry is a driver bug, never a
 * silent no-op */
static bool irq_live(const struct irq_cap *c, const char *what)
{
	/* a revocation seized every vector (auth_slots_seize) */
	if (auth_owner_revoked(VM_OWNER))
		irqs_seize();
	if (c->slot < VM_MSIX_SIZE && irqs[c->slot].bound &&
	    irqs[c->slot].gen == c->gen)
		return true;
	auth_refuse(c->slot < VM_MSIX_SIZE ? AUTH_STALE_GEN : AUTH_BAD_SLOT,
		    c->slot, what);
	return false;
}
void irq_mask(const struct irq_cap *c)
{
	if (irq_live(c, "irq mask"))
		irqs[c->slot].masked = true;
}
void irq_unmask(const struct irq_cap *c)
{
	if (!irq_live(c, "irq unmask"))
		return;
	irqs[c->slot].masked = false;
	if (irqs[c->slot].pending) {
		irqs[c->slot].pending = false;
		vm_raise(c->slot);
	}
}
void irq_revoke(struct irq_cap *c)
{
	if (irq_live(c, "irq revoke"))
		irqs[c->slot].bound = false;
}
uint64_t irq_count(const struct irq_cap *c)
{
	return irq_live(c, "irq count") ? irqs[c->slot].count : 0;
}
unsigned host_irqs_bound(void)
{
	unsigned n = 0;
	if (auth_owner_revoked(VM_OWNER))
		irqs_seize();
	for (unsigned i = 0; i < VM_MSIX_SIZE; i++)
		n += irqs[i].bound;
	return n;
}
bool host_irq_masked(unsigned i)
{
	return i < VM_MSIX_SIZE && irqs[i].masked;
}
uint64_t host_irq_count(unsigned i)
{
	return i < VM_MSIX_SIZE ? irqs[i].count : 0;
}

/* ---- DMAPool: the kernel's, for VM_OWNER
 * ------------------------------------------- */
static bool in(uint64_t a, uint64_t base, uint64_t len)
{
	return a >= base && a - base < len;
}

/* told before a pool's pages go back: the device must have let go first
 * (reset, or no queue in the pool). Off the bus is not enough: a device
 * that would not reset may not honour Bus Master Enable either */
static void vm_check_revoke(uint64_t pa, size_t len)
{
	for (unsigned i = 0; i < VM_NQ; i++)
		if (vm.q[i].enable &&
		    (in(vm.q[i].desc, pa, len) || in(vm.q[i].avail, pa, len) ||
		     in(vm.q[i].used, pa, len)))
			violation("pool revoked while the device holds queue",
				  i);
}

void *host_ring(uint64_t iova, size_t len)
{
	return shim_page_allocated(iova, MAX(len, (size_t)1))
		   ? (void *)(uintptr_t)iova
		   : NULL;
}

void *host_dma(uint64_t iova, size_t len)
{
	/* no IOMMU: a device address is the host address */
	return dma_owner_covers(VM_OWNER, iova, MAX(len, (size_t)1))
		   ? (void *)(uintptr_t)iova
		   : NULL;
}

unsigned host_pools_live(void)
{
	return shim_owner_pools(VM_OWNER);
}

void host_reset(void)
{
	/* what the last test left goes back without asking the model: the
	 * next vm_reset_model forgets what the device held */
	shim_page_hook = NULL;
	/* the broker the last test left closes: a revocation resets the
	 * device (one that resets at once now), gives its rings back and
	 * unpins the pool; a test that revoked the owner and failed before
	 * reinstating it is reinstated */
	vm.stuck_reset = false;
	vm.reset_reads = vm.reset_pending = 0;
	if (auth_owner_facts(VM_OWNER) && !auth_owner_revoked(VM_OWNER)) {
		int q = shim_quiet;
		shim_quiet = 1;
		(void)auth_owner_revoke(VM_OWNER, "test reset");
		shim_quiet = q;
	}
	if (auth_owner_revoked(VM_OWNER))
		(void)auth_owner_reinstate(VM_OWNER);
	if ((!auth_owner_facts(VM_OWNER) &&
	     shim_owner_bind_fn(VM_OWNER, &vm_pci, DMA_BACKEND_UNVALIDATED) !=
		 0) ||
	    shim_owner_release(VM_OWNER) != 0)
		panic("vnet model: unable to set up owner %u\n", VM_OWNER);
	memset(irqs, 0, sizeof(irqs));
	memset(auth_refusals, 0, sizeof(auth_refusals));
	shim_page_hook = vm_check_revoke;
}

/* ---- queues
 * ------------------------------------------------------------------------ */
static volatile struct virtq_avail *q_avail(struct vm_queue *q)
{
	return host_ring(q->avail, VIRTQ_AVAIL_BYTES(q->size));
}
static volatile struct virtq_used *q_used(struct vm_queue *q)
{
	return host_ring(q->used, VIRTQ_USED_BYTES(q->size));
}
static volatile struct virtq_desc *q_desc(struct vm_queue *q, uint16_t id)
{
	return host_ring(q->desc + 16ull * id, 16);
}

static void q_complete(unsigned qi, uint32_t id, uint32_t len)
{
	struct vm_queue *q = &vm.q[qi];
	volatile struct virtq_used *u = q_used(q);
	u->ring[q->used_idx & (q->size - 1)].id = id;
	u->ring[q->used_idx & (q->size - 1)].len = len;
	q->used_idx++;
	if (vm.nulog < VM_ULOG)
		vm.ulog[vm.nulog++] =
		    (struct vm_used_log){(uint8_t)qi, id, len};
	else
		vm.ulog_lost++;
	u->idx = q->used_idx;
	if (!(q_avail(q)->flags & VIRTQ_AVAIL_F_NO_INTERRUPT))
		vm_raise(q->msix);
}

void vm_used_push(unsigned qi, uint32_t id, uint32_t len)
{
	q_complete(qi, id, len);
}

static void vm_tx(void)
{
	struct vm_queue *q = &vm.q[VIRTIO_NET_TXQ];
	volatile struct virtq_avail *a = q_avail(q);
	for (int n = 0; n < VM_QMAX && q->last_avail != a->idx; n++) {
		uint16_t id = a->ring[q->last_avail++ & (q->size - 1)];
		volatile struct virtq_desc *d =
		    id < q->size ? q_desc(q, id) : NULL;
		if (!d ||
		    (d->flags & (VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT))) {
			violation("bad transmit descriptor", id);
			continue;
		}
		uint8_t *buf = host_dma(d->addr, d->len);
		if (!buf || d->len > sizeof(vm.frames[0])) {
			violation("transmit buffer outside the pools", d->addr);
			continue;
		}
		unsigned f = vm.nframes++ % VM_FRAMES;
		memcpy(vm.frames[f], buf, d->len);
		vm.frame_len[f] = d->len;
		q_complete(VIRTIO_NET_TXQ, id, 0);
	}
}

bool vm_rx_inject(const void *frame, uint32_t len)
{
	struct vm_queue *q = &vm.q[VIRTIO_NET_RXQ];
	volatile struct virtq_avail *a = q_avail(q);
	if (!(vm.status & VIRTIO_STATUS_DRIVER_OK) || !vm.bus_master || !a ||
	    q->last_avail == q->kicked_avail)
		return false;
	uint16_t id = a->ring[q->last_avail++ & (q->size - 1)];
	volatile struct virtq_desc *d = id < q->size ? q_desc(q, id) : NULL;
	if (!d || !(d->flags & VIRTQ_DESC_F_WRITE) || d->len < 12 + len) {
		violation("bad receive descriptor", id);
		return false;
	}
	uint8_t *buf = host_dma(d->addr, 12 + len);
	struct virtio_net_hdr h = {.num_buffers = 1};
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + 12, frame, len);
	vm.rx_last_id = id;
	q_complete(VIRTIO_NET_RXQ, id, 12 + len);
	return true;
}

bool vm_avail(unsigned qi, uint16_t slot, uint16_t *idx, uint16_t *id)
{
	struct vm_queue *q = &vm.q[qi];
	volatile struct virtq_avail *a = q->enable ? q_avail(q) : NULL;
	if (!a)
		return false;
	*idx = a->idx;
	*id = a->ring[slot & (q->size - 1)];
	return true;
}

void vm_set_link(bool up)
{
	vm.net_status = up ? VIRTIO_NET_S_LINK_UP : 0;
	vm.generation++;
	vm_raise(vm.msix_config);
}

void vm_needs_reset(void)
{
	vm.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	vm_raise(vm.msix_config);
}

/* ---- BAR 4
 * -------------------------------------------------------------------------- */
static struct vm_queue *vm_sel(void)
{
	return vm.qsel < MIN(vm.numq, VM_NQ) ? &vm.q[vm.qsel] : NULL;
}

static uint16_t vm_vector(uint16_t want, bool refuse)
{
	if (refuse || (want >= VM_MSIX_SIZE && want != VIRTIO_MSI_NO_VECTOR))
		return VIRTIO_MSI_NO_VECTOR;
	return want;
}

static bool vm_queue_enabled(void)
{
	for (unsigned i = 0; i < VM_NQ; i++)
		if (vm.q[i].enable)
			return true;
	return false;
}

static void vm_status_write(uint8_t v)
{
	if (vm.nstatus_writes < sizeof(vm.status_writes))
		vm.status_writes[vm.nstatus_writes++] = v;
	if (v == 0) {
		if (vm.stuck_reset)
			vm.reset_refused = true;
		else if (vm.reset_reads && vm_queue_enabled())
			vm.reset_pending = vm.reset_reads;
		else
			vm_device_reset();
		return;
	}
	if (vm.reset_pending)
		violation("status written before the reset read back 0", v);
	if ((v & vm.status) != vm.status)
		violation("status bits cleared without reset", v);
	if ((v & VIRTIO_STATUS_DRIVER) && !(v & VIRTIO_STATUS_ACKNOWLEDGE))
		violation("DRIVER before ACKNOWLEDGE", v);
	if ((v & VIRTIO_STATUS_FEATURES_OK) &&
	    !(vm.status & VIRTIO_STATUS_FEATURES_OK)) {
		if (vm.accepted & ~vm.offered)
			violation("accepted features not offered", vm.accepted);
		if (vm.refuse_features_ok ||
		    !(vm.accepted & (1ull << VIRTIO_F_VERSION_1)))
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK) &&
	    !(v & VIRTIO_STATUS_FAILED))
		violation("DRIVER_OK without FEATURES_OK", v);
	if ((v & VIRTIO_STATUS_DRIVER_OK) && vm.needs_reset_at_driver_ok)
		v |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	vm.status = v;
}

static uint32_t vm_common_read(uint32_t off, unsigned w)
{
	struct vm_queue *q = vm_sel();
	switch (off) {
	case 0x04:
		return vm.dfsel < 2 ? (uint32_t)(vm.offered >> (32 * vm.dfsel))
				    : 0;
	case 0x0c:
		return vm.gfsel < 2 ? (uint32_t)(vm.accepted >> (32 * vm.gfsel))
				    : 0;
	case 0x10:
		return vm.msix_config;
	case 0x12:
		return vm.numq;
	case 0x14:
		if (vm.reset_pending && --vm.reset_pending == 0)
			vm_device_reset();
		return vm.status;
	case 0x15:
		return vm.generation;
	case 0x16:
		return vm.qsel;
	case 0x18:
		return q ? q->size : 0;
	case 0x1a:
		return q ? q->msix : VIRTIO_MSI_NO_VECTOR;
	case 0x1c:
		return q ? q->enable : 0;
	case 0x1e:
		return q ? q->notify_off : 0;
	}
	return 0;
}

/* a 64-bit queue address written as two 32-bit halves: the high one at
 * the offset with bit 2 set */
static void half_write(uint64_t *r, uint32_t off, uint32_t v)
{
	if (off & 4)
		*r = (*r & 0xffffffffull) | (uint64_t)v << 32;
	else
		*r = (*r & ~0xffffffffull) | v;
}

static void vm_common_write(uint32_t off, unsigned w, uint32_t v)
{
	struct vm_queue *q = vm_sel();
	if (off >= 0x18 && q && q->enable)
		violation("queue field written while enabled", off);
	switch (off) {
	case 0x00:
		vm.dfsel = v;
		return;
	case 0x08:
		vm.gfsel = v;
		return;
	case 0x0c:
		if (vm.status & VIRTIO_STATUS_FEATURES_OK)
			violation("features written after FEATURES_OK", v);
		if (vm.gfsel < 2) {
			vm.accepted &= ~(0xffffffffull << (32 * vm.gfsel));
			vm.accepted |= (uint64_t)v << (32 * vm.gfsel);
		}
		return;
	case 0x10:
		vm.msix_config =
		    vm_vector((uint16_t)v, vm.refuse_config_vector);
		return;
	case 0x14:
		vm_status_write((uint8_t)v);
		return;
	case 0x16:
		vm.qsel = (uint16_t)v;
		return;
	}
	if (!q)
		return;
	switch (off) {
	case 0x18:
		if (!v || v > vm.qsize_max || (v & (v - 1)))
			violation("bad queue size", v);
		if (!vm.ignore_qsize)
			q->size = (uint16_t)v;
		return;
	case 0x1a:
		q->msix = vm_vector((uint16_t)v, vm.refuse_queue_vector);
		return;
	case 0x1c:
		if (v != 1 || !host_ring(q->desc, 16u * q->size) ||
		    !q_avail(q) || !q_used(q) || (q->desc & 15) ||
		    (q->avail & 1) || (q->used & 3))
			violation("queue enabled with bad areas", vm.qsel);
		q->enable = 1;
		vm.enables++;
		if (vm.drop_features_ok)
			vm.status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
		return;
	case 0x20:
	case 0x24:
		half_write(&q->desc, off, v);
		return;
	case 0x28:
	case 0x2c:
		half_write(&q->avail, off, v);
		return;
	case 0x30:
	case 0x34:
		half_write(&q->used, off, v);
		return;
	}
	violation("write to a read-only common field", off);
}

static const uint8_t vm_width[0x38] = {
    [0x00] = 4, [0x04] = 4, [0x08] = 4, [0x0c] = 4, [0x10] = 2,
    [0x12] = 2, [0x14] = 1, [0x15] = 1, [0x16] = 2, [0x18] = 2,
    [0x1a] = 2, [0x1c] = 2, [0x1e] = 2, [0x20] = 4, [0x24] = 4,
    [0x28] = 4, [0x2c] = 4, [0x30] = 4, [0x34] = 4};

static uint32_t vm_bar_read(uint32_t off, unsigned w)
{
	if (!vm.mem_decode)
		violation("BAR read with memory decoding off", off);
	if (off < VM_COMMON + 0x38) {
		if (vm_width[off] != w)
			violation("common field read with the wrong width",
				  off);
		return vm_common_read(off, w);
	}
	if (off >= VM_ISR && off < VM_ISR + 0x1000)
		return 0;
	if (off >= VM_DEVICE && off < VM_DEVICE + 0x1000) {
		uint32_t o = off - VM_DEVICE;
		if (o < 6 && w == 1)
			return vm.mac[o];
		if (o == 6 && w == 2)
			return vm.net_status;
		violation("device config read with the wrong width", o);
		return 0;
	}
	return 0;
}

static void vm_bar_write(uint32_t off, unsigned w, uint32_t v)
{
	if (!vm.mem_decode)
		violation("BAR write with memory decoding off", off);
	if (off < VM_COMMON + 0x38) {
		if (vm_width[off] != w)
			violation("common field written with the wrong width",
				  off);
		vm_common_write(off, w, v);
		return;
	}
	if (off >= VM_NOTIFY && off < VM_NOTIFY + 0x1000) {
		uint32_t qi = (off - VM_NOTIFY) / VM_NOTIFY_MULT;
		if (w != 2 || qi != v || v >= VM_NQ)
			violation("bad notify", off);
		else if (!(vm.status & VIRTIO_STATUS_DRIVER_OK))
			violation("notify before DRIVER_OK", v);
		else if (!vm.bus_master)
			violation("notify with bus mastering off", v);
		else {
			vm.notifies[v]++;
			volatile struct virtq_avail *a = q_avail(&vm.q[v]);
			if (a)
				vm.q[v].kicked_avail = a->idx;
			if (v == VIRTIO_NET_TXQ)
				vm_tx();
		}
		return;
	}
	violation("write outside the writable structures", off);
}

/* ---- DeviceMmio
 * ---------------------------------------------------------------------- */
int mmio_grant(struct pci_dev *d, uint16_t owner, unsigned bar, uint64_t off,
	       uint64_t len, uint32_t flags, struct dev_mmio *out)
{
	memset(out, 0, sizeof(*out));
	if (bar != VM_BAR || off > VM_BAR_SIZE || len > VM_BAR_SIZE - off) {
		auth_refusals[AUTH_NOT_GRANTED]++;
		return -1;
	}
	/* as kernel/authority/mmio.c: registers only a broker writes */
	if ((flags & MMIO_WRITE) && auth_owner_guarded(owner, bar, off, len)) {
		auth_refusals[AUTH_NOT_GRANTED]++;
		return -1;
	}
	*out = (struct dev_mmio){.phys = off,
				 .len = (uint32_t)len,
				 .flags = flags,
				 .slot = 1,
				 .gen = 1};
	return 0;
}

int mmio_grant_broker(struct pci_dev *d, uint16_t owner, unsigned bar,
		      uint64_t off, uint64_t len, struct dev_mmio *out)
{
	memset(out, 0, sizeof(*out));
	/* as kernel/authority/mmio.c: nothing for a revoked owner */
	if (bar != VM_BAR || off > VM_BAR_SIZE || len > VM_BAR_SIZE - off ||
	    auth_owner_revoked(owner))
		return -1;
	*out = (struct dev_mmio){.phys = off,
				 .len = (uint32_t)len,
				 .flags = MMIO_READ | MMIO_WRITE,
				 .slot = 1,
				 .gen = 1};
	return 0;
}

void mmio_revoke(struct dev_mmio *m)
{
	m->gen = 0;
}

/* the kernel's checks (kernel/authority/mmio.c), in its order: the slot
 * and generation here, the rest mmio_access_refusal's; AUTH_NREASONS when
 * the access is allowed */
static enum auth_reason mmio_check(const struct dev_mmio *m, uint64_t off,
				   uint32_t w, bool write)
{
	if (m->slot != 1)
		return AUTH_BAD_SLOT;
	/* a revocation freed the window's slot (auth_slots_seize) */
	if (m->gen != 1 || auth_owner_revoked(VM_OWNER))
		return AUTH_STALE_GEN;
	return mmio_access_refusal(m, off, w, write);
}

bool mmio_ok(const struct dev_mmio *m, uint64_t off, uint32_t w, bool write)
{
	return mmio_check(m, off, w, write) == AUTH_NREASONS;
}

static uint32_t rd(const struct dev_mmio *m, uint64_t off, unsigned w)
{
	enum auth_reason r = mmio_check(m, off, w, false);
	if (r != AUTH_NREASONS) {
		auth_refuse(r, m->slot, "mmio read");
		violation("refused MMIO read", (uint32_t)off);
		return 0xffffffffu;
	}
	return vm_bar_read((uint32_t)(m->phys + off), w);
}

static bool wr(const struct dev_mmio *m, uint64_t off, unsigned w, uint32_t v)
{
	enum auth_reason r = mmio_check(m, off, w, true);
	if (r != AUTH_NREASONS) {
		auth_refuse(r, m->slot, "mmio write");
		violation("refused MMIO write", (uint32_t)off);
		return false;
	}
	vm_bar_write((uint32_t)(m->phys + off), w, v);
	return true;
}

/* ---- command line: none
 * ---------------------------------------------------------- */
uint64_t cmdline_u64(const char *key, uint64_t def)
{
	return def;
}
