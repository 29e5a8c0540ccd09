/* kernel/authority/dmapool.c — DMAPool: physically contiguous memory granted
 * to one owner, registered in the kernel grant table (dma/grant.h) that the
 * NVMe validator consults. Without an IOMMU a device address is the physical
 * address. */
#include "dma/grant.h"
#include "auth_internal.h"
#include "kernel/devmgr/shape.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"

static struct grant_table grants;

struct grant_table *dma_grants(void) { return &grants; }

bool dma_owner_covers(uint16_t owner, uint64_t iova, uint64_t len)
{
	return grant_covers(&grants, owner, iova, len);
}

int dma_pool_create(uint16_t owner, size_t len, uint64_t addr_limit,
		    struct dma_pool *out)
{
	memset(out, 0, sizeof(*out));
	/* the device manager's limit for this owner's device (AWS NVMe:
	 * 2^48) binds whatever the driver asked for */
	uint64_t own = devmgr_owner_dma_limit(owner);
	if (own && (!addr_limit || own < addr_limit))
		addr_limit = own;
	size_t pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
	uint64_t pa = pages ? page_alloc(pages, addr_limit) : 0;
	if (!pa) {
		auth_refusals[AUTH_NO_MEMORY]++;
		kprintf("authority: no %zu-page DMA pool below 0x%lx for owner "
			"%u\n",
			pages, addr_limit, owner);
		return -1;
	}
	uint32_t gen;
	int slot = grant_add(&grants, owner, pa, pages * PAGE_SIZE, &gen);
	if (slot < 0) {
		page_free(pa, pages);
		auth_refusals[AUTH_NO_MEMORY]++;
		return -1;
	}
	out->va = (uint8_t *)pa;
	out->iova = pa;
	out->len = pages * PAGE_SIZE;
	out->slot = slot;
	out->gen = gen;
	out->owner = owner;
	return 0;
}

bool dma_pool_live(const struct dma_pool *p)
{
	return p->len && grant_live(&grants, p->slot, p->gen);
}

void dma_pool_revoke(struct dma_pool *p)
{
	if (!grant_revoke(&grants, p->slot, p->gen)) {
		/* a live grant that will not go is pinned by DMA in flight:
		 * the memory stays, the caller hears why */
		auth_refuse(grant_live(&grants, p->slot, p->gen) ? AUTH_BUSY
								: AUTH_STALE_GEN,
			    p->slot, "dma revoke");
		return;
	}
	page_free(p->iova, p->len / PAGE_SIZE);
	p->used = p->len; /* nothing more can be carved */
}

int dma_pool_carve(struct dma_pool *p, size_t len, size_t align,
		   struct dma_buf *out)
{
	if (!dma_pool_live(p)) {
		auth_refuse(AUTH_STALE_GEN, p->slot, "dma carve");
		return -1;
	}
	if (align == 0 || (align & (align - 1)))
		align = 8;
	size_t off = ALIGN_UP(p->used, align);
	if (len == 0 || off > p->len || len > p->len - off) {
		auth_refusals[AUTH_NO_MEMORY]++;
		return -1;
	}
	p->used = off + len;
	out->va = p->va + off;
	out->iova = p->iova + off;
	out->len = len;
	memset(out->va, 0, len);
	return 0;
}
