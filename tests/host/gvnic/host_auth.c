/* tests/host/gvnic/host_auth.c — the authority interface
 * (kernel/authority/authority.h) on the host, wired to the gVNIC model.
 *
 * DMAPool, the owner table and the refusal counters and names are the
 * kernel's own (AUTH_SRC over tests/host/shim/pages.c); the driver's owner
 * is GVM_OWNER, bound as devmgr binds it. The model reaches memory only
 * through host_dma_translate, which refuses anything outside a live pool of
 * that owner, and hears through shim_page_hook of every pool before its
 * pages go back, to check that the device holds none of it.
 *
 * DeviceMmio and Interrupt stay modelled here: the model must intercept
 * every register access and raise the vectors itself, which the kernel's
 * mmio.c (uncached loads and stores) and irq.c (MSI-X table, IDT) cannot
 * do on the host.
 * DeviceMmio: slot 1 is BAR0 and slot 2 BAR2 of the model; every access is
 *   slot- and generation-checked here and bounds-, alignment- and
 *   direction-checked by the kernel's own mmio_access_refusal. A grant on
 *   a described PCI function (gvm_pci_dev) is refused when it is not the
 *   owner's or when the kernel's mmio_window_refusal refuses the window
 *   (not a memory BAR, outside the BAR, over the MSI-X table or PBA).
 * Interrupt: a table of bound vectors; the model raises one, a masked
 *   vector stays pending until unmasked, as with the MSI-X PBA. */
#include <stdio.h>
#include <stdlib.h>

#include "drivers/gvnic/gve_var.h"
#include "gvnic_model.h"
#include "kernel/authority/auth_internal.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "mmio_model.h"
#include "owner_shim.h"
#include "shim.h"

/* ---- DeviceMmio --------------------------------------------------------- */

/* the refusals of kernel/authority/mmio.c mmio_grant: its window rule */
static bool grant_refused(const struct pci_dev *d, uint16_t owner, unsigned bar,
			  uint64_t off, uint64_t len)
{
	if (d->owner != owner)
		return true;
	const char *why = mmio_window_refusal(d, bar, off, len);
	if (why)
		kprintf("authority: BAR%u [0x%lx, +0x%lx) %s\n", bar, off, len,
			why);
	return why != NULL;
}

unsigned host_mmio_grants; /* mmio_grant calls, granted or refused */
unsigned host_mmio_live;   /* windows granted and not yet revoked */

int mmio_grant(struct pci_dev *d, uint16_t owner, unsigned bar, uint64_t off,
	       uint64_t len, uint32_t flags, struct dev_mmio *out)
{
	host_mmio_grants++;
	memset(out, 0, sizeof(*out));
	if (d && grant_refused(d, owner, bar, off, len)) {
		auth_refusals[AUTH_NOT_GRANTED]++;
		return -1;
	}
	out->phys = off; /* the window's offset in the BAR: its alignment */
	out->len = (uint32_t)len;
	out->flags = flags;
	out->slot = (uint16_t)(bar == 0 ? 1 : 2);
	out->gen = 1;
	host_mmio_live++;
	return 0;
}

void mmio_revoke(struct dev_mmio *m)
{
	if (m->gen == 1 && (m->slot == 1 || m->slot == 2))
		host_mmio_live--;
	m->gen++;
}

static bool mmio_check(const struct dev_mmio *m, uint64_t off, uint32_t w,
		       bool write, bool count)
{
	enum auth_reason r;
	if (m->slot != 1 && m->slot != 2)
		r = AUTH_BAD_SLOT;
	else if (m->gen != 1 || auth_owner_revoked(GVM_OWNER))
		r = AUTH_STALE_GEN; /* a revocation freed the window's slot */
	else if ((r = mmio_access_refusal(m, off, w, write)) == AUTH_NREASONS)
		return true;
	if (count) {
		auth_refuse(r, m->slot, write ? "mmio write" : "mmio read");
		gvm_violation("mmio %s refused: slot %u off %#lx width %u (%s)",
			      write ? "write" : "read", m->slot, off, w,
			      auth_reason_name(r));
	}
	return false;
}

bool mmio_ok(const struct dev_mmio *m, uint64_t off, uint32_t width, bool write)
{
	return mmio_check(m, off, width, write, false);
}

static uint32_t rd(const struct dev_mmio *m, uint64_t off, unsigned w)
{
	if (!mmio_check(m, off, w, false, true))
		return 0xffffffffu;
	return gvm_bar_read(m->slot == 1 ? 0 : 2, (uint32_t)off, w);
}

static bool wr(const struct dev_mmio *m, uint64_t off, unsigned w, uint32_t v)
{
	if (!mmio_check(m, off, w, true, true))
		return false;
	gvm_bar_write(m->slot == 1 ? 0 : 2, (uint32_t)off, w, v);
	return true;
}

/* ---- DMAPool: the kernel's, for GVM_OWNER ------------------------------ */

void host_irq_reset(void);

static void host_page_hook(uint64_t pa, size_t len)
{
	gvm_check_revoke(pa, len);
}

void host_auth_reset(void)
{
	host_irq_reset();
	/* what the previous test left goes back without asking the model:
	 * the next gvm_init forgets what the device held */
	shim_page_hook = NULL;
	/* a test that revoked the owner and failed before reinstating it */
	if (auth_owner_revoked(GVM_OWNER))
		(void)auth_owner_reinstate(GVM_OWNER);
	if (shim_owner_bind(GVM_OWNER, DMA_BACKEND_UNVALIDATED, 0) != 0 ||
	    shim_owner_release(GVM_OWNER) != 0)
		panic("host auth: unable to set up owner %u\n", GVM_OWNER);
	memset(auth_refusals, 0, sizeof(auth_refusals));
	host_mmio_live = 0;
	host_bus_stopped = false;
	shim_page_hook = host_page_hook;
}

bool host_bus_stopped;
static void host_bus_stop(struct pci_dev *d)
{
	(void)d;
	host_bus_stopped = true;
}

struct gve_grants host_gve_grants(void)
{
	struct gve_grants g = {0};
	g.bus_stop = host_bus_stop;
	mmio_grant(NULL, GVM_OWNER, 0, 0, 0x1000, MMIO_READ | MMIO_WRITE,
		   &g.reg);
	mmio_grant(NULL, GVM_OWNER, 2, 0, gvm.cfg.db_len,
		   MMIO_READ | MMIO_WRITE, &g.db);
	g.owner = GVM_OWNER;
	g.revision = gvm.cfg.revision;
	g.msix_vectors = gvm.cfg.msix;
	g.name = "gve0";
	return g;
}

unsigned host_pools_live(void)
{
	return shim_owner_pools(GVM_OWNER);
}

void *host_dma_translate(uint64_t iova, size_t len)
{
	/* no IOMMU: a device address is the host address */
	return dma_owner_covers(GVM_OWNER, iova, MAX(len, (size_t)1))
		   ? (void *)(uintptr_t)iova
		   : NULL;
}

/* ---- Interrupt ---------------------------------------------------------- */

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
	*out = model_irq_cap(msix_index, hi[msix_index].gen);
	return 0;
}

/* a revocation seized every vector (auth_slots_seize) */
static void irqs_seized(void)
{
	if (auth_owner_revoked(GVM_OWNER))
		for (unsigned i = 0; i < HI_MAX; i++)
			hi[i].bound = false;
}

static struct hirq *irq_get(const struct irq_cap *c)
{
	irqs_seized();
	if (c->slot >= HI_MAX || !hi[c->slot].bound ||
	    hi[c->slot].gen != c->gen) {
		auth_refuse(AUTH_STALE_GEN, c->slot, "irq");
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

/* vectors still bound: none after a clean detach */
unsigned host_irqs_bound(void)
{
	unsigned n = 0;
	irqs_seized();
	for (unsigned i = 0; i < HI_MAX; i++)
		n += hi[i].bound;
	return n;
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
