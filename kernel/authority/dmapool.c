/* kernel/authority/dmapool.c — DMAPool: physically contiguous memory granted
 * to one owner, registered in the kernel grant table (dma/grant.h) that the
 * NVMe validator consults. Without an IOMMU a device address is the physical
 * address. */
#include "auth_internal.h"
#include "dma/owner.h"
#include "kernel/iommu/iommu.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"

bool dma_owner_covers(uint16_t owner, uint64_t iova, uint64_t len)
{
	struct dma_owner *o = dma_owner_acct(owner);
	return o && grant_covers(&o->grants, owner, iova, len);
}

bool dma_owner_translated(uint16_t owner)
{
	return iommu_addr_limit(owner) != 0;
}

/* the lowest of limit (0: none), the owner's DMA limit (AWS NVMe: 2^48,
 * set by the device manager at bind; it binds whatever the driver asked
 * for) and, under the IOMMU, the domain's address width (a pool's iova is
 * its physical address) */
static uint64_t owner_alloc_limit(uint16_t owner, uint64_t limit)
{
	const uint64_t caps[] = {auth_owner_dma_limit(owner),
				 iommu_addr_limit(owner)};
	for (unsigned i = 0; i < ARRAY_SIZE(caps); i++)
		if (caps[i] && (!limit || caps[i] < limit))
			limit = caps[i];
	return limit;
}

/* pages the IOMMU did not confirm unreachable (iommu_unmap or iommu_map
 * IOMMU_UNCONFIRMED: the unit may still hold a translation of
 * them, and a device that ignores Bus Master Enable may use it) never go
 * back to the allocator. The caller keeps them, and the charge where it
 * has one (a pool's; a shadow's after dma_kernel_free, not after a
 * dma_kernel_alloc that said 0: the unit refuses every map after that
 * one); this says so, once. */
static void dma_withhold(uint16_t owner, const char *what, uint64_t pa,
			 size_t pages)
{
	kprintf("authority: owner %u %s 0x%lx not confirmed unmapped; %zu "
		"pages withheld\n",
		owner, what, pa, pages);
}

/* take [pa, pa+pages) out of owner's domain, if it has one: true when the
 * pages may go back to the allocator. Only an unmap the unit did not
 * confirm (IOMMU_UNCONFIRMED) withholds them (one dma_withhold line); -1
 * means the owner has no domain, so nothing of it is mapped to wait for: a
 * plain error, said, and the pages are free to go */
static bool dma_unmapped(uint16_t owner, const char *what, uint64_t pa,
			 size_t pages)
{
	if (!iommu_addr_limit(owner))
		return true;
	int r = iommu_unmap(owner, pa, pages * PAGE_SIZE);
	if (r == IOMMU_UNCONFIRMED) {
		dma_withhold(owner, what, pa, pages);
		return false;
	}
	if (r != 0)
		kprintf("authority: owner %u %s 0x%lx: iommu unmap refused "
			"(%d: no domain); nothing mapped, freed\n",
			owner, what, pa, r);
	return true;
}

int dma_pool_create(uint16_t owner, size_t len, uint64_t addr_limit,
		    struct dma_pool *out)
{
	memset(out, 0, sizeof(*out));
	if (auth_in_interrupt(owner, "DMA pool create"))
		return -1;
	struct dma_owner *o = dma_owner_acct(owner);
	addr_limit = owner_alloc_limit(owner, addr_limit);
	size_t pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
	if (!o || !pages) {
		if (auth_refused(owner, AUTH_NO_MEMORY))
			kprintf("authority: owner %u: no DMA pool of %zu bytes "
				"(%s)\n",
				owner, len, o ? "empty" : "owner not bound");
		return -1;
	}
	if (auth_owner_revoked(owner)) {
		if (auth_refused(owner, AUTH_REVOKED))
			kprintf("authority: owner %u is revoked; no new DMA "
				"pool\n",
				owner);
		return -1;
	}
	if (dma_owner_ngrants(o) == GRANT_MAX ||
	    !dma_owner_charge(o, DMA_CHARGE_POOL, pages * PAGE_SIZE)) {
		if (auth_refused(owner, AUTH_OVER_QUOTA))
			kprintf(
			    "authority: owner %u over its DMA quota (%u of %u "
			    "pools, %llu of %llu KiB; asked %zu KiB)\n",
			    owner, dma_owner_ngrants(o), GRANT_MAX,
			    (unsigned long long)(o->use[DMA_CHARGE_POOL] >> 10),
			    (unsigned long long)(o->max[DMA_CHARGE_POOL] >> 10),
			    pages * 4);
		return -1;
	}
	uint64_t pa = page_alloc(pages, addr_limit);
	uint32_t gen;
	int slot =
	    pa ? grant_add(&o->grants, owner, pa, pages * PAGE_SIZE, &gen) : -1;
	if (slot < 0) {
		if (pa)
			page_free(pa, pages);
		dma_owner_uncharge(o, DMA_CHARGE_POOL, pages * PAGE_SIZE);
		if (auth_refused(owner, AUTH_NO_MEMORY))
			kprintf("authority: no %zu-page DMA pool below 0x%lx "
				"for owner %u\n",
				pages, addr_limit, owner);
		return -1;
	}
	int m = dma_owner_translated(owner)
		    ? iommu_map(owner, pa, pa, pages * PAGE_SIZE,
				IOMMU_READ | IOMMU_WRITE)
		    : 0;
	if (m != 0) {
		(void)grant_revoke(&o->grants, slot, gen);
		/* withheld, it stays charged, as a pool revoked unconfirmed */
		if (m == IOMMU_UNCONFIRMED) {
			dma_withhold(owner, "pool", pa, pages);
		} else {
			page_free(pa, pages);
			dma_owner_uncharge(o, DMA_CHARGE_POOL,
					   pages * PAGE_SIZE);
		}
		if (auth_refused(owner, AUTH_NO_MEMORY))
			kprintf(
			    "authority: owner %u: no %zu-page DMA pool: the "
			    "IOMMU refused its map (%d)\n",
			    owner, pages, m);
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

uint64_t dma_kernel_alloc(uint16_t owner, size_t pages, uint64_t limit,
			  unsigned perm)
{
	/* pages for a device are only ever an owner's: one never bound, or
	 * unbound already (its id retired), has no device to map them for */
	if (!dma_owner_acct(owner)) {
		if (auth_refused(owner, AUTH_NOT_GRANTED))
			kprintf("authority: owner %u not bound: no kernel DMA "
				"pages\n",
				owner);
		return 0;
	}
	uint64_t pa = page_alloc(pages, owner_alloc_limit(owner, limit));
	int m = pa && dma_owner_translated(owner)
		    ? iommu_map(owner, pa, pa, pages * PAGE_SIZE, perm)
		    : 0;
	if (m == IOMMU_UNCONFIRMED)
		dma_withhold(owner, "kernel DMA", pa, pages);
	else if (m != 0)
		page_free(pa, pages);
	return m ? 0 : pa;
}

int dma_kernel_free(uint16_t owner, uint64_t pa, size_t pages)
{
	/* an owner being unbound whose stop was not confirmed: the device
	 * may still reach the page, mapped or not */
	if (auth_owner_withholds(owner)) {
		dma_withhold(owner, "kernel DMA (stop not confirmed)", pa,
			     pages);
		return -1;
	}
	if (!dma_unmapped(owner, "kernel DMA", pa, pages))
		return -1;
	page_free(pa, pages);
	return 0;
}

static struct grant_table *pool_table(const struct dma_pool *p)
{
	struct dma_owner *o = p->len ? dma_owner_acct(p->owner) : 0;
	return o ? &o->grants : 0;
}

bool dma_pool_live(const struct dma_pool *p)
{
	struct grant_table *t = pool_table(p);
	return t && grant_live(t, p->slot, p->gen);
}

/* The pool's memory as the grant table recorded it at dma_pool_create. A
 * DMAPool capability is (owner, slot, generation); va, iova and len in
 * struct dma_pool are the driver's copy, and a revoke through a copy it
 * rewrote must not unmap, free or uncharge anything but the grant's own
 * pages. */
static const struct dma_grant *pool_grant(const struct dma_pool *p,
					  const struct grant_table *t)
{
	return p->slot < GRANT_MAX ? &t->g[p->slot] : 0;
}

/* a pool its owner's revocation seized: unmapped already, its memory
 * parked until now */
static int pool_release(struct dma_pool *p, struct grant_table *t)
{
	const struct dma_grant *g = pool_grant(p, t);
	if (!g || !grant_release(t, p->slot, p->gen))
		return -1;
	dma_owner_uncharge(dma_owner_acct(p->owner), DMA_CHARGE_POOL, g->len);
	page_free(g->base, g->len / PAGE_SIZE);
	p->used = p->len;
	return 0;
}

int dma_pool_revoke(struct dma_pool *p)
{
	if (auth_in_interrupt(p->owner, "DMA pool revoke"))
		return -1;
	struct grant_table *t = pool_table(p);
	if (t && pool_release(p, t) == 0)
		return 0;
	if (!t || !grant_revoke(t, p->slot, p->gen)) {
		/* a live grant that will not go is pinned by DMA in flight
		 * or by a live queue ring: the memory stays, the caller hears
		 * why */
		enum auth_reason r = t && grant_live(t, p->slot, p->gen)
					 ? AUTH_BUSY
					 : AUTH_STALE_GEN;
		auth_refuse(r, p->slot, "dma revoke");
		return -1;
	}
	/* revoked: the slot keeps the range it held until grant_add */
	uint64_t base = pool_grant(p, t)->base, len = pool_grant(p, t)->len;
	/* the device's translation goes first, confirmed by the unit; a
	 * pool it cannot confirm never returns to the allocator (and stays
	 * charged to its owner) */
	if (!dma_unmapped(p->owner, "pool", base, len / PAGE_SIZE)) {
		p->used = p->len;
		return -1;
	}
	dma_owner_uncharge(dma_owner_acct(p->owner), DMA_CHARGE_POOL, len);
	page_free(base, len / PAGE_SIZE);
	p->used = p->len; /* nothing more can be carved */
	return 0;
}

unsigned dma_owner_seize(uint16_t owner, unsigned *kept)
{
	struct dma_owner *o = dma_owner_acct(owner);
	unsigned n = 0;
	*kept = 0;
	for (int i = 0; o && i < GRANT_MAX; i++) {
		const struct dma_grant *g = &o->grants.g[i];
		if (!g->live)
			continue;
		if (!grant_seize(&o->grants, i)) {
			(*kept)++;
			kprintf(
			    "authority: owner %u pool 0x%lx still pinned (%u); "
			    "kept\n",
			    owner, g->base, g->pins);
			continue;
		}
		n++;
		/* a page the unit did not confirm unmapped stays charged and
		 * is never released: pool_release cannot find it parked */
		if (!dma_unmapped(owner, "pool", g->base, g->len / PAGE_SIZE))
			o->grants.g[i].parked = false;
	}
	return n;
}

int dma_pool_carve(struct dma_pool *p, size_t len, size_t align,
		   struct dma_buf *out)
{
	if (!dma_pool_live(p)) {
		struct grant_table *t = pool_table(p);
		auth_refuse(t && grant_parked(t, p->slot, p->gen)
				? AUTH_REVOKED
				: AUTH_STALE_GEN,
			    p->slot, "dma carve");
		return -1;
	}
	/* a pool its owner's revocation kept live (pinned then) is still
	 * the owner's, but nothing new comes of it until reinstatement */
	if (auth_owner_revoked(p->owner)) {
		auth_refuse(AUTH_REVOKED, p->slot, "dma carve");
		return -1;
	}
	/* the pool as the grant table recorded it: va, iova and len of p are
	 * the driver's copy, and a carve through a copy it rewrote must hand
	 * out nothing but the pool's own memory (used, the carve offset, is
	 * the driver's to keep, and only moves within the pool) */
	const struct dma_grant *g = pool_grant(p, pool_table(p));
	if (align == 0 || (align & (align - 1)))
		align = 8;
	size_t off = ALIGN_UP(p->used, align);
	if (len == 0 || off < p->used || off > g->len || len > g->len - off) {
		auth_refuse(AUTH_NO_MEMORY, p->slot, "dma carve");
		return -1;
	}
	/* no second zeroing: the pool was zeroed when it was allocated and a
	 * carve hands out only memory never carved before */
	p->used = off + len;
	out->va = (uint8_t *)(uintptr_t)g->base + off; /* identity mapped */
	out->iova = g->base + off;
	out->len = len;
	return 0;
}
