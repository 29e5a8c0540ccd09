/* tests/host/mm/pmm_old_tu.c — the page allocator as it was before
 * pmm_init sorted the map (tests/host/mm/pmm_old.c, kernel/mm/pmm.c of
 * session 11 unchanged: next_free walked the whole map for every run, so
 * its work grew with the square of the map's descriptors), under other
 * names, for test_pmm_sweep to hold the new one against on the same
 * maps. */
#define mm_host_work	     old_mm_host_work
#define mm_desc_sane	     old_mm_desc_sane
#define mm_firmware_readable old_mm_firmware_readable
#define mm_inuse_at	     old_mm_inuse_at
#define mm_phys_ram	     old_mm_phys_ram
#define mm_holds_ram	     old_mm_holds_ram
#define pmm_init	     old_pmm_init
#define page_alloc	     old_page_alloc
#define page_free	     old_page_free
#define pmm_stats	     old_pmm_stats
#include "pmm_old.c"

/* where old_pmm_init put the bitmaps, the pages they track, the pool */
void old_pmm_state(uint64_t *bm, uint64_t *np, uint64_t *tf);
void old_pmm_state(uint64_t *bm, uint64_t *np, uint64_t *tf)
{
	*bm = (uint64_t)bitmap;
	*np = npages;
	*tf = total_free;
}
