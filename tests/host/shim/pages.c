/* tests/host/shim/pages.c — the physical page allocator of kernel/mm/mm.h
 * on the host, so kernel/authority (DMAPool, the owner table, kernel memory
 * of drivers) runs unchanged over it.
 *
 * What mm.h promises holds here: n contiguous, page-aligned, zeroed pages,
 * all below the caller's limit, and the address is both the CPU's and the
 * device's (capOS identity-maps and has no IOMMU). Host heap addresses lie
 * far above the limits drivers ask for (a revision-0 gVNIC names its admin
 * queue by a 32-bit page frame number: below 2^44), so the pages come from
 * one window reserved low in the address space, SHIM_PAGE_BASE up, handed
 * out next-fit like kernel/mm/pmm.c. A page not in use is PROT_NONE: a
 * driver or model touching memory after it was freed faults at once, and an
 * unused page follows every allocation, so running off its end faults too.
 * Freeing a page that is not allocated aborts, as the kernel panics. */
#include <sys/mman.h>

#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "shim.h"

/* below 2 GiB: ordinary memory under AddressSanitizer's x86_64 layout */
#define SHIM_PAGE_BASE 0x10000000ull
#define SHIM_PAGES     (0x60000000ull / PAGE_SIZE) /* 1.5 GiB of window */

shim_page_hook_fn shim_page_hook;

static uint8_t inuse[SHIM_PAGES];
static uint64_t hint, used;
static bool reserved;

static void window_reserve(void)
{
	void *w = mmap(
	    (void *)SHIM_PAGE_BASE, SHIM_PAGES * PAGE_SIZE, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
	    -1, 0);
	if (w != (void *)SHIM_PAGE_BASE)
		panic("shim: unable to reserve the page window at 0x%llx\n",
		      SHIM_PAGE_BASE);
	reserved = true;
}

/* fresh zero pages (or none) over [pa, pa + n pages) of the window */
static void window_map(uint64_t pa, size_t n, bool usable)
{
	void *p = mmap((void *)pa, n * PAGE_SIZE,
		       usable ? PROT_READ | PROT_WRITE : PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		       -1, 0);
	if (p != (void *)pa)
		panic("shim: unable to map pages at 0x%llx\n",
		      (unsigned long long)pa);
}

static uint64_t page_addr(uint64_t i)
{
	return SHIM_PAGE_BASE + i * PAGE_SIZE;
}

uint64_t page_alloc(size_t n, uint64_t limit)
{
	if (!reserved)
		window_reserve();
	uint64_t end = SHIM_PAGES;
	if (limit && limit < page_addr(end))
		end = limit < SHIM_PAGE_BASE
			  ? 0
			  : (limit - SHIM_PAGE_BASE) / PAGE_SIZE;
	if (n == 0 || n > end)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = pass ? 0 : hint; i + n <= end;) {
			uint64_t run = 0;
			while (run < n && !inuse[i + run])
				run++;
			if (run == n) {
				memset(&inuse[i], 1, n);
				used += n;
				hint = i + n + 1; /* leave a guard page */
				window_map(page_addr(i), n, true);
				return page_addr(i);
			}
			i += run + 1;
		}
	}
	return 0;
}

void page_free(uint64_t pa, size_t n)
{
	uint64_t i = (pa - SHIM_PAGE_BASE) / PAGE_SIZE;
	if (pa < SHIM_PAGE_BASE || pa % PAGE_SIZE || n > SHIM_PAGES ||
	    i > SHIM_PAGES - n)
		panic("shim: free of 0x%llx (%zu pages) outside the window\n",
		      (unsigned long long)pa, n);
	for (size_t j = 0; j < n; j++)
		if (!inuse[i + j])
			panic("shim: free of page 0x%llx that is not "
			      "allocated\n",
			      (unsigned long long)page_addr(i + j));
	if (shim_page_hook)
		shim_page_hook(pa, n * PAGE_SIZE);
	window_map(pa, n, false);
	memset(&inuse[i], 0, n);
	used -= n;
}
