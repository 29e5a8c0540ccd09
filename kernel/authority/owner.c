/* kernel/authority/owner.c — the authority layer's owner table.
 *
 * The device manager binds an owner before its driver exists
 * (auth_owner_bind) and may narrow its DMA limit until the owner holds
 * memory (auth_owner_limit). Everything below reads the facts from here:
 * DMA pools and NVMe shadows obey the limit, mmio_grant refuses windows on
 * a brokered function, and each owner's DMA accounts (dma/owner.h: its own
 * grant table and quotas) live beside its facts. An owner whose backend is
 * the IOMMU gets its VT-d domain here, at bind, before anything of it —
 * identify pages, pools, shadows — exists (kernel/iommu/iommu.h). */
#include "dma/owner.h"
#include "auth_internal.h"
#include "kernel/iommu/iommu.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"

struct auth_owner {
	uint16_t id; /* 0: free */
	struct auth_owner_facts f;
	struct dma_owner dma;
	bool revoked;	      /* auth_owner_revoke, until reinstated */
	bool faulted;	      /* revoked by auth_poll for a DMA fault */
	uint32_t revocations; /* times revoked */
	uint32_t seized;      /* pools taken by the last revocation */
	auth_revoke_hook_t hook;
	void *hook_arg;
	auth_unbind_hook_t unbind_hook;
	void *unbind_arg;
	/* being unbound with its stop not confirmed (auth_owner_withholds) */
	bool withhold;
	/* inside its revocation or its unbind (the hooks run there): a
	 * revoke or unbind of it from a hook is refused, not run inside the
	 * one under way (which would recurse without end, or free the owner
	 * under it) */
	bool busy;
	/* its live kernel memory (auth_kmem_alloc), so that auth_kmem_free
	 * gives back only what this owner was given, once; pa 0: free */
	struct {
		uint64_t pa;
		size_t pages;
	} kmem[AUTH_KMEM_ALLOCS];
	/* refusal lines said per reason (auth_refused): at most
	 * AUTH_REFUSAL_LINES + 1 */
	uint8_t said[AUTH_NREASONS];
	/* BAR ranges only a broker writes (auth_owner_guard) */
	struct {
		uint8_t bar;
		uint64_t off, len;
	} guard[AUTH_GUARDS_MAX];
	unsigned nguard;
};

static struct auth_owner owners[AUTH_OWNER_MAX];
/* ids an unbind retired: never bound again, so no capability of the old
 * owner — a pool's (owner, slot, generation), a kernel allocation, its
 * refusal row — ever resolves against a later owner (auth_owner_unbind) */
static uint8_t retired[(UINT16_MAX + 1) / 8];
_Static_assert(sizeof(retired) * 8 == UINT16_MAX + 1,
	       "one bit for each of the 65,536 owner ids");
/* pages unbinds withheld for good (the device may still reach them) */
static uint64_t unbind_withheld_pages;

static bool id_retired(uint16_t id)
{
	return retired[id / 8] & (1u << (id % 8));
}

static struct auth_owner *owner_find(uint16_t id)
{
	for (unsigned i = 0; id && i < AUTH_OWNER_MAX; i++)
		if (owners[i].id == id)
			return &owners[i];
	return 0;
}

static bool owner_may_master(const struct pci_dev *d);

int auth_owner_bind(uint16_t id, const struct auth_owner_facts *f)
{
	struct auth_owner *o = 0, *holder = 0;
	for (unsigned i = 0; i < AUTH_OWNER_MAX; i++) {
		if (!owners[i].id && !o)
			o = &owners[i];
		if (owners[i].id && f->d && owners[i].f.d == f->d)
			holder = &owners[i];
	}
	if (!id || owner_find(id) || id_retired(id) || !o) {
		kprintf("authority: unable to bind owner %u (%s)\n", id,
			!o		 ? "owner table full"
			: id_retired(id) ? "id retired by an unbind"
					 : "id in use");
		return -1;
	}
	/* the owner is its function (auth_owner_function): one that names
	 * another owner would get nothing of this one */
	if (f->d && f->d->owner != id) {
		kprintf(
		    "authority: unable to bind owner %u (its function names "
		    "owner %u)\n",
		    id, f->d->owner);
		return -1;
	}
	/* one owner per function: a second would share its bus mastering
	 * and source id, and the first's revocation would stop it */
	if (holder) {
		kprintf("authority: unable to bind owner %u (its function is "
			"owner %u's)\n",
			id, holder->id);
		return -1;
	}
	/* the device reaches only what this domain maps; its bus mastering
	 * stays off (kernel/iommu cleared it) until the domain exists */
	uint16_t sid = 0;
	if (f->backend == DMA_BACKEND_IOMMU &&
	    (!f->d || iommu_scope(f->d, &sid, NULL) != IOMMU_IN_SCOPE ||
	     iommu_domain_create(id, f->d->seg, sid) != 0)) {
		kprintf("authority: unable to bind owner %u (no IOMMU "
			"domain)\n",
			id);
		return -1;
	}
	o->id = id;
	o->f = *f;
	dma_owner_init(&o->dma);
	/* from the first owner on, pci_enable grants bus mastering of an
	 * owned function only through owner_may_master */
	pci_set_bus_master_check(owner_may_master);
	return 0;
}

/* any pool still charged to it — live, parked by a revocation until the
 * driver gives it back, or withheld because the IOMMU did not confirm its
 * unmap (the device may still reach it) — or any shadow */
static bool owner_holds_memory(const struct auth_owner *o)
{
	return o->dma.use[DMA_CHARGE_POOL] || o->dma.use[DMA_CHARGE_SHADOW];
}

int auth_owner_limit(uint16_t id, uint64_t limit)
{
	struct auth_owner *o = owner_find(id);
	if (!o || !limit)
		return -1;
	if (o->f.dma_limit && o->f.dma_limit <= limit)
		return 0; /* already as narrow */
	if (owner_holds_memory(o)) {
		kprintf("authority: owner %u: unable to narrow its DMA limit "
			"to 0x%llx after its memory exists\n",
			id, (unsigned long long)limit);
		return -1;
	}
	o->f.dma_limit = limit;
	return 0;
}

uint8_t *auth_owner_said(uint16_t id)
{
	struct auth_owner *o = owner_find(id);
	return o ? o->said : 0;
}

const struct auth_owner_facts *auth_owner_facts(uint16_t id)
{
	struct auth_owner *o = owner_find(id);
	return o ? &o->f : 0;
}

struct dma_owner *dma_owner_acct(uint16_t id)
{
	struct auth_owner *o = owner_find(id);
	return o ? &o->dma : 0;
}

uint64_t auth_owner_dma_limit(uint16_t id)
{
	struct auth_owner *o = owner_find(id);
	return o ? o->f.dma_limit : 0;
}

void *auth_kmem_alloc(uint16_t id, size_t len)
{
	struct auth_owner *o = owner_find(id);
	size_t pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
	unsigned k = 0;
	/* a revoked owner gets nothing new until reinstated (its frees
	 * still give back what it holds) */
	if (o && o->revoked) {
		if (auth_refused(id, AUTH_REVOKED))
			kprintf("authority: owner %u is revoked; no kernel "
				"memory\n",
				id);
		return 0;
	}
	while (o && k < AUTH_KMEM_ALLOCS && o->kmem[k].pa)
		k++;
	if (!o || !pages || k == AUTH_KMEM_ALLOCS ||
	    !dma_owner_charge(&o->dma, DMA_CHARGE_KMEM, pages * PAGE_SIZE)) {
		if (auth_refused(id,
				 o && pages ? AUTH_OVER_QUOTA : AUTH_NO_MEMORY))
			kprintf(
			    "authority: owner %u: no %zu KiB of kernel "
			    "memory (quota %llu KiB in %u allocations)\n",
			    id, pages * 4,
			    o ? (unsigned long long)(o->dma.max
							 [DMA_CHARGE_KMEM] >>
						     10)
			      : 0ull,
			    AUTH_KMEM_ALLOCS);
		return 0;
	}
	uint64_t pa = page_alloc(pages, 0);
	if (!pa) {
		dma_owner_uncharge(&o->dma, DMA_CHARGE_KMEM, pages * PAGE_SIZE);
		if (auth_refused(id, AUTH_NO_MEMORY))
			kprintf("authority: owner %u: no %zu KiB of kernel "
				"memory (no free pages)\n",
				id, pages * 4);
		return 0;
	}
	o->kmem[k].pa = pa;
	o->kmem[k].pages = pages;
	return (void *)pa; /* zeroed, identity mapped */
}

void auth_kmem_free(uint16_t id, void *p, size_t len)
{
	struct auth_owner *o = owner_find(id);
	size_t pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
	if (!p || !pages)
		return;
	/* the owner's own allocation, whole: never another owner's memory,
	 * a pool's, a page it was not given, nor one freed already */
	for (unsigned k = 0; o && k < AUTH_KMEM_ALLOCS; k++)
		if (o->kmem[k].pa == (uint64_t)p && o->kmem[k].pages == pages) {
			o->kmem[k].pa = 0;
			dma_owner_uncharge(&o->dma, DMA_CHARGE_KMEM,
					   pages * PAGE_SIZE);
			page_free((uint64_t)p, pages);
			return;
		}
	if (auth_refused(id, AUTH_NOT_GRANTED))
		kprintf("authority: owner %u: free of kernel memory 0x%lx (%zu "
			"pages) it was not given; kept\n",
			id, (uint64_t)p, pages);
}

/* ---- revocation ---------------------------------------------------------- */
void auth_owner_on_revoke(uint16_t id, auth_revoke_hook_t fn, void *arg)
{
	struct auth_owner *o = owner_find(id);
	if (o) {
		o->hook = fn;
		o->hook_arg = arg;
	}
}

void auth_owner_on_unbind(uint16_t id, auth_unbind_hook_t fn, void *arg)
{
	struct auth_owner *o = owner_find(id);
	if (o) {
		o->unbind_hook = fn;
		o->unbind_arg = arg;
	}
}

bool auth_owner_withholds(uint16_t id)
{
	struct auth_owner *o = owner_find(id);
	return o && o->withhold;
}

bool auth_owner_revoked(uint16_t id)
{
	struct auth_owner *o = owner_find(id);
	return o && o->revoked;
}

/* revocations auth_poll made for a DMA fault, since boot */
static uint32_t fault_revocations;

uint32_t auth_fault_revocations(void)
{
	return fault_revocations;
}

bool auth_owner_faulted(uint16_t id)
{
	struct auth_owner *o = owner_find(id);
	return o && o->revoked && o->faulted;
}

bool auth_owner_stopped(uint16_t id)
{
	return auth_owner_revoked(id) || iommu_owner_quarantined(id);
}

bool auth_owner_function(uint16_t owner, const struct pci_dev *d)
{
	struct auth_owner *o = owner_find(owner);
	return o && d && o->f.d == d && d->owner == owner;
}

/* pci_enable's check: the function of a bound owner (no other function
 * naming it: revocation stops only this one), the owner neither revoked
 * nor quarantined, no failed remapping unit translating it. A unit that stopped
 * answering turned bus mastering off for its functions and is not
 * trusted again (docs/devices/intel-vtd.md): what it still caches may
 * reach memory given back since, so a driver's reset must not turn it on
 * again */
static bool owner_may_master(const struct pci_dev *d)
{
	uint16_t sid;
	return auth_owner_function(d->owner, d) &&
	       !auth_owner_stopped(d->owner) &&
	       iommu_scope(d, &sid, NULL) != IOMMU_UNIT_FAILED;
}

/* the device stops reaching memory before anything it could reach is
 * taken: bus mastering off and, under the IOMMU, the context entry cleared
 * with the invalidation waited for (a fault did this already). The owner's
 * one function is all there is to stop: no other function naming the
 * owner is granted bus mastering (owner_may_master) */
static void owner_stop_device(struct auth_owner *o)
{
	if (o->f.backend == DMA_BACKEND_IOMMU)
		iommu_owner_quarantine(o->id);
	if (o->f.d)
		pci_enable(o->f.d, true, false, false);
}

/* a revoke or unbind of o from inside its own revocation or unbind (a
 * hook): refused, counted (busy), one line at most AUTH_REFUSAL_LINES
 * times */
static bool owner_busy(const struct auth_owner *o, const char *what)
{
	if (!o->busy)
		return false;
	if (auth_refused(o->id, AUTH_BUSY))
		kprintf("authority: unable to %s owner %u (its revocation or "
			"unbind is under way)\n",
			what, o->id);
	return true;
}

int auth_owner_revoke(uint16_t id, const char *why)
{
	if (auth_in_interrupt(id, "revoke"))
		return -1;
	struct auth_owner *o = owner_find(id);
	if (!o || owner_busy(o, "revoke"))
		return -1;
	o->busy = true;
	owner_stop_device(o);
	/* with the device stopped, the pins on its rings and in-flight
	 * commands protect nothing the device can reach; the hook drops the
	 * kernel's own use of that memory (the gate's CPU reads and writes of
	 * the driver's rings) and with it the pins */
	if (o->hook)
		o->hook(o->hook_arg, id);
	unsigned kept = 0;
	unsigned pools = dma_owner_seize(id, &kept);
	unsigned caps = auth_slots_seize(id);
	o->revoked = true;
	o->revocations++;
	o->seized = pools;
	o->busy = false;
	kprintf("authority: owner %u revoked (%s): device stopped, %u pools "
		"seized, %u pinned kept, %u mmio/irq capabilities revoked; "
		"further use is refused\n",
		id, why, pools, kept, caps);
	return (int)pools;
}

int auth_owner_reinstate(uint16_t id)
{
	struct auth_owner *o = owner_find(id);
	if (!o || !o->revoked)
		return -1;
	if (o->f.backend == DMA_BACKEND_IOMMU && iommu_owner_resume(id) != 0)
		return -1;
	o->revoked = o->faulted = false;
	kprintf("authority: owner %u reinstated\n", id);
	return 0;
}

/* the owner's pools after its revocation: a parked one freed when the
 * stop was confirmed, else withheld, as is one still pinned (live) or one
 * whose unmap went unconfirmed (charged, neither live nor parked). Returns
 * the pages withheld */
static uint64_t owner_pools_give_back(struct auth_owner *o, bool stopped)
{
	for (unsigned i = 0; i < GRANT_MAX; i++) {
		const struct dma_grant *g = &o->dma.grants.g[i];
		if (!g->parked || !stopped)
			continue;
		uint64_t base = g->base, len = g->len;
		(void)grant_release(&o->dma.grants, (int)i, g->gen);
		dma_owner_uncharge(&o->dma, DMA_CHARGE_POOL, len);
		page_free(base, len / PAGE_SIZE);
	}
	return o->dma.use[DMA_CHARGE_POOL] / PAGE_SIZE;
}

int auth_owner_unbind(uint16_t id, bool stopped)
{
	if (auth_in_interrupt(id, "unbind"))
		return -1;
	struct auth_owner *o = owner_find(id);
	if (!o) {
		if (auth_refused(id, AUTH_NOT_GRANTED))
			kprintf("authority: unable to unbind owner %u (not "
				"bound)\n",
				id);
		return -1;
	}
	if (owner_busy(o, "unbind"))
		return -1;
	/* stopped by the layer itself, whatever the driver's detach said,
	 * and every capability taken: a revoked owner's are gone already.
	 * Kernel DMA pages the revoke hook and the unbind hook give back are
	 * withheld when the stop was not confirmed */
	o->withhold = !stopped;
	unsigned kept;
	if (!o->revoked)
		(void)auth_owner_revoke(id, "unbind");
	else /* pools its revocation kept pinned and unpinned since */
		(void)dma_owner_seize(id, &kept);
	/* the broker closes: its shadows and own pages freed, or withheld by
	 * the same rule */
	uint64_t withheld = 0;
	o->busy = true;
	if (o->unbind_hook)
		withheld += o->unbind_hook(o->unbind_arg, id, stopped);
	withheld += owner_pools_give_back(o, stopped);
	/* shadows the hook did not free (it withheld them, or there was no
	 * broker to free them) stay out; the driver's own kernel memory was
	 * never device-visible and goes back */
	withheld += o->dma.use[DMA_CHARGE_SHADOW] / PAGE_SIZE;
	for (unsigned k = 0; k < AUTH_KMEM_ALLOCS; k++)
		if (o->kmem[k].pa)
			page_free(o->kmem[k].pa, o->kmem[k].pages);
	const char *domain = "no domain";
	if (o->f.backend == DMA_BACKEND_IOMMU) {
		/* what an unconfirmed teardown keeps: every table page */
		uint64_t tables = iommu_domain_table_pages(id);
		int r = iommu_domain_destroy(id);
		domain = r == 0 ? "domain torn down"
			 : r == IOMMU_UNCONFIRMED
			     ? "domain teardown not confirmed (its tables "
			       "withheld)"
			     : "no domain";
		if (r == IOMMU_UNCONFIRMED)
			withheld += tables;
	}
	if (o->f.d && o->f.d->owner == id)
		o->f.d->owner = 0;
	unbind_withheld_pages += withheld;
	kprintf("authority: owner %u unbound (stop %s): %llu pages withheld, "
		"%s; its id is retired and its capabilities refused\n",
		id, stopped ? "confirmed" : "not confirmed",
		(unsigned long long)withheld, domain);
	retired[id / 8] |= (uint8_t)(1u << (id % 8));
	memset(o, 0, sizeof(*o));
	return withheld ? 1 : 0;
}

static bool ranges_meet(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

bool auth_owner_guarded(uint16_t id, unsigned bar, uint64_t off, uint64_t len)
{
	const struct auth_owner *o = owner_find(id);
	for (unsigned i = 0; o && i < o->nguard; i++)
		if (o->guard[i].bar == bar &&
		    ranges_meet(off, len, o->guard[i].off, o->guard[i].len))
			return true;
	return false;
}

int auth_owner_guard(uint16_t id, unsigned bar, uint64_t off, uint64_t len)
{
	struct auth_owner *o = owner_find(id);
	for (unsigned i = 0; o && i < o->nguard; i++)
		if (o->guard[i].bar == bar && o->guard[i].off == off &&
		    o->guard[i].len == len)
			return 0; /* guarded since before any window */
	if (!o || !o->f.d || bar > 5 || o->nguard == AUTH_GUARDS_MAX) {
		kprintf("authority: unable to guard BAR%u [0x%llx, +0x%llx) of "
			"owner %u (%s)\n",
			bar, (unsigned long long)off, (unsigned long long)len,
			id, !o || !o->f.d ? "no function" : "too many guards");
		return -1;
	}
	/* a writable window the owner holds already over the range would
	 * outlive the guard */
	uint64_t pa = o->f.d->bar[bar].base + off;
	for (unsigned s = 1; s < AUTH_SLOTS; s++) {
		const struct auth_slot *sl = &auth_slots[s];
		if (sl->kind == AUTH_MMIO && sl->owner == id &&
		    (sl->mmio_flags & MMIO_WRITE) &&
		    ranges_meet(sl->mmio_phys, sl->mmio_len, pa, len)) {
			kprintf("authority: unable to guard BAR%u [0x%llx, "
				"+0x%llx) of owner %u (it holds a writable "
				"window over it, slot %u)\n",
				bar, (unsigned long long)off,
				(unsigned long long)len, id, s);
			return -1;
		}
	}
	o->guard[o->nguard].bar = (uint8_t)bar;
	o->guard[o->nguard].off = off;
	o->guard[o->nguard].len = len;
	o->nguard++;
	return 0;
}

uint64_t auth_unbind_withheld_pages(void)
{
	return unbind_withheld_pages;
}

#ifdef CAPOS_HOST
int auth_owner_host_reset(void)
{
	for (unsigned i = 0; i < AUTH_OWNER_MAX; i++)
		if (owners[i].id)
			return -1;
	memset(retired, 0, sizeof(retired));
	unbind_withheld_pages = 0;
	fault_revocations = 0;
	auth_refusals_host_reset();
	return 0;
}
#endif

unsigned auth_poll(void)
{
	/* the main loop calls this on every turn: one load when nothing
	 * faulted since the last look */
	static uint32_t seen;
	/* fault records no fault event will announce (kernel/iommu) */
	(void)iommu_fault_retake();
	uint32_t now = iommu_quarantines();
	if (now == seen)
		return 0;
	seen = now;
	unsigned n = 0;
	for (unsigned i = 0; i < AUTH_OWNER_MAX; i++) {
		struct auth_owner *o = &owners[i];
		if (o->id && !o->revoked && o->f.backend == DMA_BACKEND_IOMMU &&
		    iommu_owner_quarantined(o->id)) {
			auth_owner_revoke(o->id, "DMA fault");
			o->faulted = true;
			fault_revocations++;
			n++;
		}
	}
	return n;
}

void auth_owners_json(struct json *j)
{
	json_karr(j, "owners");
	for (unsigned i = 0; i < AUTH_OWNER_MAX; i++) {
		const struct auth_owner *o = &owners[i];
		if (!o->id)
			continue;
		unsigned parked = 0;
		for (unsigned k = 0; k < GRANT_MAX; k++)
			parked += o->dma.grants.g[k].parked;
		json_obj(j);
		json_ku64(j, "owner", o->id);
		json_kstr(j, "backend", dma_backend_name(o->f.backend));
		json_kbool(j, "revoked", o->revoked);
		json_ku64(j, "revocations", o->revocations);
		json_ku64(j, "pools", dma_owner_ngrants(&o->dma));
		json_ku64(j, "pool_kib", o->dma.use[DMA_CHARGE_POOL] >> 10);
		json_ku64(j, "parked_pools", parked);
		json_ku64(j, "seized_last", o->seized);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_ku64(j, "unbind_withheld_pages", unbind_withheld_pages);
}
