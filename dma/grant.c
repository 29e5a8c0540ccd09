/* dma/grant.c — see grant.h */
#include "grant.h"

int grant_add(struct grant_table *t, uint16_t owner, uint64_t base,
	      uint64_t len, uint32_t *gen)
{
	if (len == 0 || base + len < base)
		return -1;
	/* memory another grant holds (live, or parked until its holder
	 * gives it back) is never granted again, to any owner */
	for (int i = 0; i < GRANT_MAX; i++)
		if ((t->g[i].live || t->g[i].parked) &&
		    base < t->g[i].base + t->g[i].len &&
		    t->g[i].base < base + len)
			return -1;
	for (int i = 0; i < GRANT_MAX; i++) {
		struct dma_grant *g = &t->g[i];
		/* a slot whose generation has run out is retired: issuing it
		 * again would wrap and repeat a generation a revoked
		 * capability still names (revoke and release add one more) */
		if (g->live || g->parked || g->gen >= GRANT_GEN_LAST)
			continue;
		g->base = base;
		g->len = len;
		g->owner = owner;
		g->gen++; /* a reused slot never repeats a generation */
		g->live = true;
		g->pins = 0;
		if (gen)
			*gen = g->gen;
		return i;
	}
	return -1;
}

bool grant_live(const struct grant_table *t, int slot, uint32_t gen)
{
	if (slot < 0 || slot >= GRANT_MAX)
		return false;
	return t->g[slot].live && t->g[slot].gen == gen;
}

bool grant_revoke(struct grant_table *t, int slot, uint32_t gen)
{
	if (!grant_live(t, slot, gen) || t->g[slot].pins)
		return false;
	t->g[slot].live = false;
	t->g[slot].gen++;
	return true;
}

bool grant_seize(struct grant_table *t, int slot)
{
	if (slot < 0 || slot >= GRANT_MAX || !t->g[slot].live ||
	    t->g[slot].pins)
		return false;
	t->g[slot].live = false;
	t->g[slot].parked = true;
	return true;
}

bool grant_parked(const struct grant_table *t, int slot, uint32_t gen)
{
	return slot >= 0 && slot < GRANT_MAX && t->g[slot].parked &&
	       t->g[slot].gen == gen;
}

bool grant_release(struct grant_table *t, int slot, uint32_t gen)
{
	if (!grant_parked(t, slot, gen))
		return false;
	t->g[slot].parked = false;
	t->g[slot].gen++;
	return true;
}

const struct dma_grant *grant_find(const struct grant_table *t, uint16_t owner,
				   uint64_t addr, uint64_t len)
{
	if (len == 0 || addr + len < addr)
		return 0;
	for (int i = 0; i < GRANT_MAX; i++) {
		const struct dma_grant *g = &t->g[i];
		if (g->live && g->owner == owner &&
		    grant_contains(g, addr, len))
			return g;
	}
	return 0;
}

bool grant_covers(const struct grant_table *t, uint16_t owner, uint64_t addr,
		  uint64_t len)
{
	return grant_find(t, owner, addr, len) != 0;
}

bool grant_pin(struct grant_table *t, int slot)
{
	if (slot < 0 || slot >= GRANT_MAX || !t->g[slot].live ||
	    t->g[slot].pins == UINT32_MAX)
		return false;
	t->g[slot].pins++;
	return true;
}

bool grant_unpin(struct grant_table *t, int slot)
{
	if (slot < 0 || slot >= GRANT_MAX || !t->g[slot].pins)
		return false;
	t->g[slot].pins--;
	return true;
}
