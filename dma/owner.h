/* dma/owner.h — one owner's DMA accounting (pure C: kernel and host).
 *
 * An owner is one bound PCI function's driver. Everything DMA-related that
 * the owner causes is charged here, under limits, so one hostile or buggy
 * driver cannot exhaust what every other driver needs:
 *   grants — its own grant table: at most GRANT_MAX live pools, whatever
 *            other owners hold (the validator only ever looks at the owner's
 *            own table);
 *   pool   — bytes of DMAPool memory it holds;
 *   shadow — kernel memory the NVMe gate allocated because of it (shadow
 *            rings and shadow PRP-list pages);
 *   kmem   — kernel memory for the driver's own state (auth_kmem_alloc:
 *            softc, namespace tables), which a userspace driver would
 *            hold in its own address space.
 * A charge over the limit is refused and counted; nothing is taken. */
#ifndef CAPOS_DMA_OWNER_H
#define CAPOS_DMA_OWNER_H
#include <stdbool.h>
#include <stdint.h>

#include "dma/grant.h"

/* default limits per owner (kernel/authority applies them at bind) */
#define DMA_OWNER_POOL_MAX   (32ull << 20)
#define DMA_OWNER_SHADOW_MAX (4ull << 20)
#define DMA_OWNER_KMEM_MAX   (1ull << 20)

enum dma_charge {
	DMA_CHARGE_POOL,
	DMA_CHARGE_SHADOW,
	DMA_CHARGE_KMEM,
	DMA_CHARGE_N
};

struct dma_owner {
	struct grant_table grants;
	uint64_t use[DMA_CHARGE_N], max[DMA_CHARGE_N];
	uint64_t over[DMA_CHARGE_N]; /* charges refused by the limit */
};

/* a fresh owner: empty grant table, the default limits */
void dma_owner_init(struct dma_owner *o);
/* charge bytes of kind to o: false (and counted) when it would pass the
 * limit or wrap */
bool dma_owner_charge(struct dma_owner *o, enum dma_charge kind,
		      uint64_t bytes);
/* give back what a charge took; never below zero */
void dma_owner_uncharge(struct dma_owner *o, enum dma_charge kind,
			uint64_t bytes);
/* live grants of o */
unsigned dma_owner_ngrants(const struct dma_owner *o);
#endif
