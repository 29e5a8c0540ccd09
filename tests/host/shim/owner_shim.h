/* tests/host/shim/owner_shim.h — the device manager's part for a host test
 * that links the real authority layer (kernel/authority/auth.c, owner.c,
 * dmapool.c over dma/owner.c, dma/grant.c and the page shim pages.c).
 *
 * devmgr binds an owner before its driver exists; a test does the same in
 * its setup. The owner table keeps owners for the life of the process (the
 * kernel never unbinds), so a later test finds its owner bound and starts
 * from whatever the earlier one left: shim_owner_release gives every pool
 * still live back through the real dma_pool_revoke. Header only, so suites
 * that do not link kernel/authority never see it. */
#ifndef CAPOS_OWNER_SHIM_H
#define CAPOS_OWNER_SHIM_H
#include "dma/owner.h"
#include "kernel/authority/auth_internal.h"
#include "kernel/pci/pci.h"

/* every refusal the authority layer counted so far (auth_refusals) */
static inline uint64_t shim_refusals(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < AUTH_NREASONS; i++)
		n += auth_refusals[i];
	return n;
}

/* pools of owner a revocation seized (parked) and nobody gave back */
static inline unsigned shim_pools_parked(uint16_t owner)
{
	struct dma_owner *o = dma_owner_acct(owner);
	unsigned n = 0;
	for (unsigned i = 0; o && i < GRANT_MAX; i++)
		n += o->grants.g[i].parked;
	return n;
}

/* bind owner as devmgr would for a driver with DMA backend b; 0 or -1 */
static inline int shim_owner_bind(uint16_t owner, enum dma_backend b,
				  uint64_t dma_limit)
{
	if (auth_owner_facts(owner))
		return 0; /* bound by an earlier test of this process */
	struct auth_owner_facts f = {
	    .backend = b,
	    .brokered = b == DMA_BACKEND_VALIDATOR,
	    .dma_limit = dma_limit,
	};
	return auth_owner_bind(owner, &f);
}

/* bind owner to its one function d as devmgr does: d names owner first
 * (d->owner), or auth_owner_bind refuses it; 0 or -1 */
static inline int shim_owner_bind_fn(uint16_t owner, struct pci_dev *d,
				     enum dma_backend b)
{
	struct auth_owner_facts f = {
	    .d = d,
	    .backend = b,
	    .brokered = b == DMA_BACKEND_VALIDATOR,
	};
	d->owner = owner;
	return auth_owner_bind(owner, &f);
}

/* live pools of owner */
static inline unsigned shim_owner_pools(uint16_t owner)
{
	struct dma_owner *o = dma_owner_acct(owner);
	return o ? dma_owner_ngrants(o) : 0;
}

/* revoke every live pool of owner, and give back the memory of pools a
 * revocation seized; returns how many stay (pinned) */
static inline unsigned shim_owner_release(uint16_t owner)
{
	struct dma_owner *o = dma_owner_acct(owner);
	unsigned kept = 0;
	for (unsigned i = 0; o && i < GRANT_MAX; i++) {
		const struct dma_grant *g = &o->grants.g[i];
		if (!g->live && !g->parked) /* parked: seized by a revocation */
			continue;
		struct dma_pool p = {
		    .va = (uint8_t *)(uintptr_t)g->base,
		    .iova = g->base,
		    .len = g->len,
		    .slot = (uint16_t)i,
		    .gen = g->gen,
		    .owner = owner,
		};
		kept += dma_pool_revoke(&p) != 0;
	}
	return kept;
}
#endif
