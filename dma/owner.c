/* dma/owner.c — see owner.h */
#include "dma/owner.h"

#include "kernel/lib/lib.h"

void dma_owner_init(struct dma_owner *o)
{
	memset(o, 0, sizeof(*o));
	o->max[DMA_CHARGE_POOL] = DMA_OWNER_POOL_MAX;
	o->max[DMA_CHARGE_SHADOW] = DMA_OWNER_SHADOW_MAX;
	o->max[DMA_CHARGE_KMEM] = DMA_OWNER_KMEM_MAX;
}

bool dma_owner_charge(struct dma_owner *o, enum dma_charge kind, uint64_t bytes)
{
	if ((unsigned)kind >= DMA_CHARGE_N)
		return false;
	uint64_t after = o->use[kind] + bytes;
	if (after < o->use[kind] || after > o->max[kind]) {
		o->over[kind]++;
		return false;
	}
	o->use[kind] = after;
	return true;
}

void dma_owner_uncharge(struct dma_owner *o, enum dma_charge kind,
			uint64_t bytes)
{
	if ((unsigned)kind >= DMA_CHARGE_N)
		return;
	o->use[kind] -= MIN(bytes, o->use[kind]);
}

unsigned dma_owner_ngrants(const struct dma_owner *o)
{
	unsigned n = 0;
	for (unsigned i = 0; i < GRANT_MAX; i++)
		n += o->grants.g[i].live;
	return n;
}
