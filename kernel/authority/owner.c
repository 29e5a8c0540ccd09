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
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"

struct auth_owner {
	uint16_t id; /* 0: free */
	struct auth_owner_facts f;
	struct dma_owner dma;
};

static struct auth_owner owners[AUTH_OWNER_MAX];

static struct auth_owner *owner_find(uint16_t id)
{
	for (unsigned i = 0; id && i < AUTH_OWNER_MAX; i++)
		if (owners[i].id == id)
			return &owners[i];
	return 0;
}

int auth_owner_bind(uint16_t id, const struct auth_owner_facts *f)
{
	struct auth_owner *o = 0;
	for (unsigned i = 0; i < AUTH_OWNER_MAX && !o; i++)
		if (!owners[i].id)
			o = &owners[i];
	if (!id || owner_find(id) || !o) {
		kprintf("authority: unable to bind owner %u (%s)\n", id,
			!o ? "owner table full" : "id in use");
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
	dma_owner_init(&o->dma, id);
	return 0;
}

static bool owner_holds_memory(const struct auth_owner *o)
{
	return dma_owner_ngrants(&o->dma) || o->dma.use[DMA_CHARGE_SHADOW];
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
	if (!o || !pages ||
	    !dma_owner_charge(&o->dma, DMA_CHARGE_KMEM, pages * PAGE_SIZE)) {
		auth_refusals[o && pages ? AUTH_OVER_QUOTA : AUTH_NO_MEMORY]++;
		kprintf(
		    "authority: owner %u: no %zu KiB of kernel memory "
		    "(quota %llu KiB)\n",
		    id, pages * 4,
		    o ? (unsigned long long)(o->dma.max[DMA_CHARGE_KMEM] >> 10)
		      : 0ull);
		return 0;
	}
	uint64_t pa = page_alloc(pages, 0);
	if (!pa) {
		dma_owner_uncharge(&o->dma, DMA_CHARGE_KMEM, pages * PAGE_SIZE);
		auth_refusals[AUTH_NO_MEMORY]++;
		return 0;
	}
	return (void *)pa; /* zeroed, identity mapped */
}

void auth_kmem_free(uint16_t id, void *p, size_t len)
{
	struct auth_owner *o = owner_find(id);
	size_t pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
	if (!p || !pages)
		return;
	if (o)
		dma_owner_uncharge(&o->dma, DMA_CHARGE_KMEM, pages * PAGE_SIZE);
	page_free((uint64_t)p, pages);
}
