/* tests/host/gvnic/host_auth.c — the authority interface
 * (kernel/authority/authority.h) on the host, wired to the gVNIC model.
 *
 * DeviceMmio: slot 1 is BAR0 and slot 2 BAR2 of the model; every access is
 *   bounds-, alignment- and generation-checked as the kernel does. A grant
 *   on a described PCI function (gvm_pci_dev) is refused for the reasons
 *   kernel/authority/mmio.c + mmio_grant refuses one: not the owner, not a
 *   memory BAR, outside the BAR, or overlapping the MSI-X table or PBA.
 * DMAPool: host memory with fake device addresses (one 256 MiB region per
 *   pool); the model reaches memory only through host_dma_translate, which
 *   refuses anything outside a live pool. Revoking checks with the model
 *   that the device holds none of it, then frees (ASan catches later use).
 * Interrupt: a table of bound vectors; the model raises one, a masked
 *   vector stays pending until unmasked, as with the MSI-X PBA. */
#include <stdio.h>
#include <stdlib.h>

#include "gvnic_model.h"
#include "kernel/authority/authority.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"

uint64_t auth_refusals[AUTH_NREASONS];

const char *auth_reason_name(enum auth_reason r)
{
	static const char *const n[] = {
	    "out-of-window", "stale-gen",   "misaligned",     "read-only",
	    "bad-slot",	     "not-granted", "no-memory",      "busy-in-flight",
	    "over-quota"};
	_Static_assert(ARRAY_SIZE(n) == AUTH_NREASONS, "a name per reason");
	return r < AUTH_NREASONS ? n[r] : "?";
}

/* ---- DeviceMmio --------------------------------------------------------- */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* the refusals of kernel/authority/mmio.c + mmio_grant */
static bool grant_refused(const struct pci_dev *d, uint16_t owner, unsigned bar,
			  uint32_t off, uint32_t len)
{
	if (d->owner != owner || bar >= 6 || d->bar[bar].io ||
	    !d->bar[bar].size || len == 0 ||
	    (uint64_t)off + len > d->bar[bar].size)
		return true;
	if (d->cap_msix) {
		uint64_t tlen = (uint64_t)d->msix_size * PCI_MSIX_ENTRY_SIZE;
		uint64_t plen = ALIGN_UP(d->msix_size, 64u) / 8;
		if ((bar == d->msix_table_bar &&
		     overlaps(off, len, d->msix_table_off, tlen)) ||
		    (bar == d->msix_pba_bar &&
		     overlaps(off, len, d->msix_pba_off, plen))) {
			kprintf("authority: BAR%u [0x%x, +0x%x) overlaps the "
				"MSI-X table or PBA\n",
				bar, off, len);
			return true;
		}
	}
	return false;
}

int mmio_grant(struct pci_dev *d, uint16_t owner, unsigned bar, uint32_t off,
	       uint32_t len, uint32_t flags, struct dev_mmio *out)
{
	memset(out, 0, sizeof(*out));
	if (d && grant_refused(d, owner, bar, off, len)) {
		auth_refusals[AUTH_NOT_GRANTED]++;
		return -1;
	}
	out->len = len;
	out->flags = flags;
	out->slot = (uint16_t)(bar == 0 ? 1 : 2);
	out->gen = 1;
	return 0;
}

void mmio_revoke(struct dev_mmio *m)
{
	m->gen++;
}

static bool mmio_check(const struct dev_mmio *m, uint32_t off, uint32_t w,
		       bool write, bool count)
{
	enum auth_reason r;
	if (m->slot != 1 && m->slot != 2)
		r = AUTH_BAD_SLOT;
	else if (m->gen != 1)
		r = AUTH_STALE_GEN;
	else if ((uint64_t)off + w > m->len)
		r = AUTH_OUT_OF_WINDOW;
	else if (off & (w - 1))
		r = AUTH_MISALIGNED;
	else if (write && !(m->flags & MMIO_WRITE))
		r = AUTH_READ_ONLY;
	else
		return true;
	if (count) {
		auth_refusals[r]++;
		gvm_violation("mmio %s refused: slot %u off %#x width %u (%s)",
			      write ? "write" : "read", m->slot, off, w,
			      auth_reason_name(r));
	}
	return false;
}

bool mmio_ok(const struct dev_mmio *m, uint32_t off, uint32_t width, bool write)
{
	return mmio_check(m, off, width, write, false);
}

static uint32_t rd(const struct dev_mmio *m, uint32_t off, unsigned w)
{
	if (!mmio_check(m, off, w, false, true))
		return 0xffffffffu;
	return gvm_bar_read(m->slot == 1 ? 0 : 2, off, w);
}

static bool wr(const struct dev_mmio *m, uint32_t off, unsigned w, uint32_t v)
{
	if (!mmio_check(m, off, w, true, true))
		return false;
	gvm_bar_write(m->slot == 1 ? 0 : 2, off, w, v);
	return true;
}

uint8_t mmio_read8(const struct dev_mmio *m, uint32_t off)
{
	return (uint8_t)rd(m, off, 1);
}
uint16_t mmio_read16(const struct dev_mmio *m, uint32_t off)
{
	return (uint16_t)rd(m, off, 2);
}
uint32_t mmio_read32(const struct dev_mmio *m, uint32_t off)
{
	return rd(m, off, 4);
}
uint64_t mmio_read64(const struct dev_mmio *m, uint32_t off)
{
	uint64_t lo = rd(m, off, 4);
	return lo | (uint64_t)rd(m, off + 4, 4) << 32;
}
bool mmio_write8(const struct dev_mmio *m, uint32_t off, uint8_t v)
{
	return wr(m, off, 1, v);
}
bool mmio_write16(const struct dev_mmio *m, uint32_t off, uint16_t v)
{
	return wr(m, off, 2, v);
}
bool mmio_write32(const struct dev_mmio *m, uint32_t off, uint32_t v)
{
	return wr(m, off, 4, v);
}
bool mmio_write64(const struct dev_mmio *m, uint32_t off, uint64_t v)
{
	return wr(m, off, 4, (uint32_t)v) &&
	       wr(m, off + 4, 4, (uint32_t)(v >> 32));
}

/* ---- DMAPool ------------------------------------------------------------ */

#define HP_MAX	32
#define HP_BASE 0x100000000ull
#define HP_SPAN 0x10000000ull

static struct hpool {
	bool live;
	uint8_t *mem;
	size_t len;
	uint32_t gen;
} hp[HP_MAX];

void host_irq_reset(void);

void host_auth_reset(void)
{
	host_irq_reset();
	for (unsigned i = 0; i < HP_MAX; i++)
		if (hp[i].live)
			free(hp[i].mem);
	memset(hp, 0, sizeof(hp));
	memset(auth_refusals, 0, sizeof(auth_refusals));
}

unsigned host_pools_live(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < HP_MAX; i++)
		n += hp[i].live;
	return n;
}

int dma_pool_create(uint16_t owner, size_t len, uint64_t addr_limit,
		    struct dma_pool *out)
{
	for (unsigned i = 0; i < HP_MAX; i++) {
		if (hp[i].live || hp[i].gen)
			continue; /* a slot is never reused: stale names stay
				     stale */
		uint64_t iova = HP_BASE + i * HP_SPAN;
		if (len > HP_SPAN || (addr_limit && iova + len > addr_limit)) {
			auth_refusals[AUTH_NO_MEMORY]++;
			return -1;
		}
		hp[i].mem = aligned_alloc(4096, ALIGN_UP(len, 4096));
		if (!hp[i].mem)
			return -1;
		memset(hp[i].mem, 0, len);
		hp[i].live = true;
		hp[i].len = len;
		hp[i].gen = 1;
		*out = (struct dma_pool){.va = hp[i].mem,
					 .iova = iova,
					 .len = len,
					 .slot = (uint16_t)i,
					 .gen = 1,
					 .owner = owner};
		return 0;
	}
	auth_refusals[AUTH_NO_MEMORY]++;
	return -1;
}

int dma_pool_revoke(struct dma_pool *p)
{
	struct hpool *h = p->slot < HP_MAX ? &hp[p->slot] : NULL;
	if (!h || !h->live || h->gen != p->gen) {
		gvm_violation("revoke of a pool that is not live (slot %u)",
			      p->slot);
		return -1;
	}
	gvm_check_revoke(p->iova, p->len);
	free(h->mem);
	h->mem = NULL;
	h->live = false;
	h->gen++;
	p->gen = 0;
	return 0;
}

bool dma_pool_live(const struct dma_pool *p)
{
	return p->slot < HP_MAX && hp[p->slot].live &&
	       hp[p->slot].gen == p->gen;
}

int dma_pool_carve(struct dma_pool *p, size_t len, size_t align,
		   struct dma_buf *out)
{
	size_t at = ALIGN_UP(p->used, align);
	if (!dma_pool_live(p) || at + len > p->len || at + len < at) {
		auth_refusals[AUTH_NO_MEMORY]++;
		return -1;
	}
	p->used = at + len;
	memset(p->va + at, 0, len);
	*out = (struct dma_buf){
	    .va = p->va + at, .iova = p->iova + at, .len = len};
	return 0;
}

void *host_dma_translate(uint64_t iova, size_t len)
{
	if (iova < HP_BASE)
		return NULL;
	uint64_t i = (iova - HP_BASE) / HP_SPAN,
		 off = (iova - HP_BASE) % HP_SPAN;
	if (i >= HP_MAX || !hp[i].live || off + len > hp[i].len ||
	    off + len < off)
		return NULL;
	return hp[i].mem + off;
}

/* ---- Interrupt ------------------------------------------------------------
 */

#define HI_MAX 128
static struct hirq {
	bool bound, masked, pending;
	irq_handler_t fn;
	void *arg;
	uint64_t count;
	uint32_t gen;
} hi[HI_MAX];

bool host_irq_refuse; /* tests: the kernel binds no vector */

int irq_bind(struct pci_dev *d, uint16_t owner, unsigned msix_index,
	     irq_handler_t handler, void *arg, struct irq_cap *out)
{
	if (host_irq_refuse || msix_index >= HI_MAX ||
	    msix_index >= gvm.cfg.msix || hi[msix_index].bound)
		return -1;
	hi[msix_index] = (struct hirq){.bound = true,
				       .masked = true,
				       .fn = handler,
				       .arg = arg,
				       .gen = hi[msix_index].gen + 1};
	*out = (struct irq_cap){.slot = (uint16_t)msix_index,
				.gen = hi[msix_index].gen,
				.msix_index = (uint16_t)msix_index,
				.vector = (uint8_t)(0x40 + msix_index)};
	return 0;
}

static struct hirq *irq_get(const struct irq_cap *c)
{
	if (c->slot >= HI_MAX || !hi[c->slot].bound ||
	    hi[c->slot].gen != c->gen) {
		auth_refusals[AUTH_STALE_GEN]++;
		return NULL;
	}
	return &hi[c->slot];
}

static void irq_deliver(struct hirq *h)
{
	h->pending = false;
	h->count++;
	h->fn(h->arg);
}

void irq_mask(const struct irq_cap *c)
{
	struct hirq *h = irq_get(c);
	if (h)
		h->masked = true;
}

void irq_unmask(const struct irq_cap *c)
{
	struct hirq *h = irq_get(c);
	if (!h)
		return;
	h->masked = false;
	if (h->pending)
		irq_deliver(h);
}

void irq_revoke(struct irq_cap *c)
{
	struct hirq *h = irq_get(c);
	if (h)
		h->bound = false;
	c->gen = 0;
}

uint64_t irq_count(const struct irq_cap *c)
{
	struct hirq *h = irq_get(c);
	return h ? h->count : 0;
}

void host_irq_raise(unsigned msix)
{
	if (msix >= HI_MAX || !hi[msix].bound)
		return;
	if (hi[msix].masked)
		hi[msix].pending = true;
	else
		irq_deliver(&hi[msix]);
}

bool host_irq_masked(unsigned msix)
{
	return msix < HI_MAX && hi[msix].masked;
}
uint64_t host_irq_count(unsigned msix)
{
	return msix < HI_MAX ? hi[msix].count : 0;
}

void host_irq_reset(void)
{
	memset(hi, 0, sizeof(hi));
}

void auth_dump(void)
{
	kprintf("host auth: %u pools live\n", host_pools_live());
}
