/* tests/host/shim/pages.c — the physical page allocator of kernel/mm/mm.h
 * on the host, so kernel/authority (DMAPool, the owner table, kernel memory
 * of drivers) runs unchanged over it.
 *
 * What mm.h promises holds here: n contiguous, page-aligned, zeroed pages,
 * all below the caller's limit, and the address is both the CPU's and the
 * device's (capOS identity-maps and has no IOMMU). The pages come from two
 * windows reserved at fixed addresses, handed out next-fit like
 * kernel/mm/pmm.c: a high one above 2^44, so every device address has high
 * bits a driver could drop when it splits or truncates one, and a low one
 * below 2 GiB, starting below 2^28, for callers whose limit excludes the
 * high one (a revision-0 gVNIC names its admin queue by a 32-bit page
 * frame number; edu's DMA mask is 28 bits). Both are
 * ordinary memory under AddressSanitizer's x86_64 layout. A page not in use
 * is PROT_NONE: touching memory after it was freed faults at once, and an
 * unused page follows every allocation, so running off its end faults too.
 * Freeing a page that is not allocated aborts, as the kernel panics. */
#include <sys/mman.h>

#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "shim.h"

#define WINDOW_PAGES ((1ull << 30) / PAGE_SIZE) /* 1 GiB each */

static struct window {
	uint64_t base, hint;
	bool reserved;
	uint8_t inuse[WINDOW_PAGES];
} windows[] = {
    {.base = 0x100080000000ull}, /* above ASan's high shadow */
    {.base = 0x8000000ull},	 /* below ASan's low shadow */
};

shim_page_hook_fn shim_page_hook;
uint64_t shim_pages_in_use;

static uint64_t page_addr(const struct window *w, uint64_t i)
{
	return w->base + i * PAGE_SIZE;
}

/* fresh zero pages, or none, over [pa, pa + n pages) */
static void window_map(uint64_t pa, size_t n, bool usable, bool fresh)
{
	void *p = mmap((void *)pa, n * PAGE_SIZE,
		       usable ? PROT_READ | PROT_WRITE : PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			   (fresh ? MAP_FIXED_NOREPLACE : MAP_FIXED),
		       -1, 0);
	if (p != (void *)pa)
		panic("shim: unable to map %zu pages at 0x%llx\n", n,
		      (unsigned long long)pa);
}

static uint64_t window_alloc(struct window *w, size_t n, uint64_t limit)
{
	uint64_t end = WINDOW_PAGES;
	if (limit && limit < page_addr(w, end))
		end = limit < w->base ? 0 : (limit - w->base) / PAGE_SIZE;
	if (n > end)
		return 0;
	if (!w->reserved) {
		window_map(w->base, WINDOW_PAGES, false, true);
		w->reserved = true;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = pass ? 0 : w->hint; i + n <= end;) {
			uint64_t run = 0;
			while (run < n && !w->inuse[i + run])
				run++;
			if (run == n) {
				memset(&w->inuse[i], 1, n);
				w->hint = i + n + 1; /* leave a guard page */
				window_map(page_addr(w, i), n, true, false);
				return page_addr(w, i);
			}
			i += run + 1;
		}
	}
	return 0;
}

uint64_t page_alloc(size_t n, uint64_t limit)
{
	uint64_t pa = 0;
	for (unsigned i = 0; n && !pa && i < ARRAY_SIZE(windows); i++)
		pa = window_alloc(&windows[i], n, limit);
	if (pa)
		shim_pages_in_use += n;
	return pa;
}

void page_free(uint64_t pa, size_t n)
{
	struct window *w = NULL;
	for (unsigned i = 0; i < ARRAY_SIZE(windows); i++)
		if (pa >= windows[i].base &&
		    pa - windows[i].base < WINDOW_PAGES * PAGE_SIZE)
			w = &windows[i];
	uint64_t i = w ? (pa - w->base) / PAGE_SIZE : 0;
	if (!w || pa % PAGE_SIZE || n > WINDOW_PAGES - i)
		panic("shim: free of 0x%llx (%zu pages) outside the windows\n",
		      (unsigned long long)pa, n);
	for (size_t j = 0; j < n; j++)
		if (!w->inuse[i + j])
			panic("shim: free of page 0x%llx that is not "
			      "allocated\n",
			      (unsigned long long)page_addr(w, i + j));
	if (shim_page_hook)
		shim_page_hook(pa, n * PAGE_SIZE);
	window_map(pa, n, false, false);
	memset(&w->inuse[i], 0, n);
	shim_pages_in_use -= n;
}

bool shim_page_allocated(uint64_t pa, size_t len)
{
	for (unsigned i = 0; len && i < ARRAY_SIZE(windows); i++) {
		const struct window *w = &windows[i];
		uint64_t span = WINDOW_PAGES * PAGE_SIZE;
		if (pa < w->base || pa - w->base >= span ||
		    len > span - (pa - w->base))
			continue;
		for (uint64_t p = (pa - w->base) / PAGE_SIZE;
		     p <= (pa - w->base + len - 1) / PAGE_SIZE; p++)
			if (!w->inuse[p])
				return false;
		return true;
	}
	return false;
}
