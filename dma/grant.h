/* dma/grant.h — DMA grants with generations (pure C: kernel and host).
 *
 * A grant is a physically contiguous range of device-visible memory given to
 * one owner. It is named by (slot, generation); revoking bumps the
 * generation, so every reference made under the old one stops matching. The
 * validator asks grant_covers() for each address a command names. */
#ifndef CAPOS_DMA_GRANT_H
#define CAPOS_DMA_GRANT_H
#include <stdbool.h>
#include <stdint.h>

#define GRANT_MAX 64
/* the highest generation a slot is issued at before it is retired */
#define GRANT_GEN_LAST (UINT32_MAX - 1)

struct dma_grant {
	uint64_t base, len; /* device address range [base, base+len) */
	uint32_t gen;	    /* bumped on revoke */
	uint16_t owner;
	bool live;
	/* seized by an owner revocation (grant_seize): not live, so nothing
	 * names it any more, but its memory is withheld until the holder's
	 * own revoke releases it (grant_release) */
	bool parked;
	uint32_t pins; /* commands in flight on the device that name it */
};

struct grant_table {
	struct dma_grant g[GRANT_MAX];
};

/* register [base, base+len) for owner. Returns the slot, or -1 when full,
 * when the range is empty or wraps, or when it overlaps a live or parked
 * grant of any owner. *gen receives its generation. A slot
 * never repeats a generation: one whose generation reached GRANT_GEN_LAST
 * is not issued again. */
int grant_add(struct grant_table *t, uint16_t owner, uint64_t base,
	      uint64_t len, uint32_t *gen);
/* revoke slot if (slot, gen) is current; false if stale or unknown, and
 * false while it is pinned: memory a device may still be using is not
 * given back (the caller keeps it; fail closed) */
bool grant_revoke(struct grant_table *t, int slot, uint32_t gen);
/* Owner revocation (a DMA fault): take a live, unpinned grant away from
 * its holder. The caller has stopped the device first; the slot stops
 * being live at once but is parked — never reused and its memory not
 * given back — until the holder's own revoke of (slot, gen) calls
 * grant_release. false when not live, or pinned (kept: the caller must
 * drop what pins it first). */
bool grant_seize(struct grant_table *t, int slot);
/* is (slot, gen) a grant seized from its holder? */
bool grant_parked(const struct grant_table *t, int slot, uint32_t gen);
/* the holder gives a parked grant back: the slot's generation moves on and
 * it may be reused; true when (slot, gen) was parked (the caller frees the
 * memory) */
bool grant_release(struct grant_table *t, int slot, uint32_t gen);
/* is (slot, gen) a live grant? */
bool grant_live(const struct grant_table *t, int slot, uint32_t gen);
/* does one live grant of owner contain all of [addr, addr+len)? len > 0;
 * false when addr+len wraps past 2^64. */
bool grant_covers(const struct grant_table *t, uint16_t owner, uint64_t addr,
		  uint64_t len);
/* in-flight accounting: the NVMe gate pins every grant an accepted command
 * names until the device completes it (or the controller is reset). pin
 * fails on a slot that is not live; unpin on an unpinned slot does nothing
 * and returns false. */
bool grant_pin(struct grant_table *t, int slot);
bool grant_unpin(struct grant_table *t, int slot);
/* the live grant of owner that contains all of [addr, addr+len), or NULL.
 * Same rule as grant_covers; the validator caches the answer for the rest
 * of one command (the table does not change while it runs). */
const struct dma_grant *grant_find(const struct grant_table *t, uint16_t owner,
				   uint64_t addr, uint64_t len);
/* does grant g (live, of the owner: as grant_find returned it) contain
 * [addr, addr+len)? No wrap is possible: grants never wrap. */
static inline bool grant_contains(const struct dma_grant *g, uint64_t addr,
				  uint64_t len)
{
	return addr >= g->base && len <= g->len &&
	       addr - g->base <= g->len - len;
}
#endif
