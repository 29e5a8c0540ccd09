/* kernel/mm/pmm.c — a bitmap page allocator over EfiConventionalMemory
 * that is ordinary write-back RAM (EFI_MEMORY_WB, neither specific-purpose
 * nor persistent). Loader data and boot-services memory are never handed
 * out, nor are this image, the memory map and the boot files, whatever the
 * map calls them. Two bitmaps, the pages in use and the pages of the pool
 * (what pmm_init found free: page_free takes back only these), live in
 * the lowest run of free, unclaimed pages at or above 1 MiB that holds
 * them. pmm_init sorts the map by address and sweeps memory run by run,
 * never page by page per descriptor, so a hostile map costs it a sort and
 * two walks, not steps per page per claim nor a walk per run. docs/mm.md
 * says what is free and why. */
#include <efi.h>

#include "kernel/boot/boot_internal.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/mm_internal.h"

static uint8_t *bitmap; /* 1 = used */
static uint8_t *pool;	/* 1 = pmm_init found the page free */
static uint64_t npages, used, peak, total_free, hint;

#ifdef CAPOS_HOST
uint64_t mm_host_work;
#endif

static bool bit(uint64_t i)
{
	MM_WORK();
	return bitmap[i / 8] >> (i % 8) & 1;
}
static bool pooled(uint64_t i)
{
	return pool[i / 8] >> (i % 8) & 1;
}
static void set(uint64_t i)
{
	MM_WORK();
	bitmap[i / 8] |= 1 << (i % 8);
}
static void clr(uint64_t i)
{
	MM_WORK();
	bitmap[i / 8] &= ~(1 << (i % 8));
}

/* no x86-64 physical address reaches 2^52 (MAXPHYADDR <= 52, Intel SDM
 * vol. 3A §4.1.4) */
#define PHYS_LIMIT (1ull << 52)

/* a descriptor whose range is page-aligned and ends below PHYS_LIMIT: the
 * end neither wraps nor overflows the page count (paging.c maps only
 * these too) */
bool mm_desc_sane(const EFI_MEMORY_DESCRIPTOR *d)
{
	return d->PhysicalStart % PAGE_SIZE == 0 &&
	       d->PhysicalStart < PHYS_LIMIT &&
	       d->NumberOfPages <= (PHYS_LIMIT - d->PhysicalStart) / PAGE_SIZE;
}

/* conventional memory mm_init maps: sane and ending at or below the
 * identity map's end (a descriptor across it is not mapped at all) */
static bool desc_conv_mapped(const EFI_MEMORY_DESCRIPTOR *d)
{
	return d->Type == EfiConventionalMemory && mm_desc_sane(d) &&
	       d->PhysicalStart + d->NumberOfPages * PAGE_SIZE <=
		   MM_IDENTITY_LIMIT;
}

/* ordinary RAM by its attributes (UEFI 2.10 §7.2.3): it may be cached
 * write-back, and is neither specific-purpose memory (SP: set aside for a
 * driver or application; Linux's do_add_efi_memmap soft-reserves it, and
 * makes conventional memory without WB reserved) nor persistent (NV:
 * page_alloc's zeroing would erase what it keeps). The other bits say what
 * the range supports (UC/WC/WT beside WB, RP, XP, RO, WP, ...) and take
 * nothing away. */
static bool attr_ram(uint64_t attr)
{
	return (attr & EFI_MEMORY_WB) &&
	       !(attr & (MM_EFI_MEMORY_SP | MM_EFI_MEMORY_NV));
}

/* free memory: conventional, mapped, ordinary RAM */
static bool desc_free(const EFI_MEMORY_DESCRIPTOR *d)
{
	return desc_conv_mapped(d) && attr_ram(d->Attribute);
}

/* a sum of descriptors' pages that firmware may make absurd: it stops at
 * 2^64 - 1, as does its KiB */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}
static uint64_t kib_sat(uint64_t pages)
{
	return pages > UINT64_MAX / 4 ? UINT64_MAX : pages * 4;
}

bool mm_tally_line(struct mm_tally *t, const EFI_MEMORY_DESCRIPTOR *d)
{
	if (++t->n <= MM_DESC_LINES)
		return true;
	t->pages = add_sat(t->pages, d->NumberOfPages);
	return false;
}

/* a descriptor the identity map can hold (whole, sane, below 2^47; mapped
 * on demand by mm_map_firmware) whose
 * memory firmware may keep its tables in: not the page allocator's
 * (conventional), not device registers (MMIO: a read may have side
 * effects), not memory with errors (unusable), not unaccepted memory (a
 * TDX or SEV-SNP guest's read of it faults: #VE, #VC). Attributes do not
 * matter for a read: RP and XP say what the range supports, not how it is
 * mapped, and uncached memory reads the same, only slower. */
static bool desc_firmware(const EFI_MEMORY_DESCRIPTOR *d)
{
	return d->Type != EfiConventionalMemory &&
	       d->Type != EfiMemoryMappedIO &&
	       d->Type != EfiMemoryMappedIOPortSpace &&
	       d->Type != EfiUnusableMemory &&
	       d->Type != MM_EFI_UNACCEPTED_MEMORY && mm_desc_sane(d) &&
	       d->PhysicalStart + d->NumberOfPages * PAGE_SIZE <=
		   MM_IDENTITY_LIMIT;
}

bool mm_firmware_readable(uint64_t phys, uint64_t len)
{
	uint64_t end = phys + len;
	if (boot_mmap.desc_size < sizeof(EFI_MEMORY_DESCRIPTOR) || !len ||
	    end < phys || phys < PAGE_SIZE) /* page 0 is never mapped */
		return false;
	/* walk from phys through descriptors that hold it (adjacent ones
	 * may each hold a part) until end, or until none holds phys */
	for (bool moved = true; phys < end && moved;) {
		moved = false;
		MM_FOR_EACH_DESC(d)
		if (desc_firmware(d) && d->PhysicalStart <= phys &&
		    d->PhysicalStart + d->NumberOfPages * PAGE_SIZE > phys) {
			phys = d->PhysicalStart + d->NumberOfPages * PAGE_SIZE;
			moved = true;
		}
	}
	return phys >= end;
}

/* the pages a descriptor that is not free memory claims: every page its
 * bytes touch, from *first on (the page after its last whole one too when
 * it is not page-aligned; none when it is empty); the count may run past
 * 2^64 bytes (a wrapping descriptor), callers clip it */
static uint64_t claim(const EFI_MEMORY_DESCRIPTOR *d, uint64_t *first)
{
	uint64_t n = d->NumberOfPages;
	*first = d->PhysicalStart / PAGE_SIZE;
	if (n && d->PhysicalStart % PAGE_SIZE && n < UINT64_MAX)
		n++;
	return n;
}

/* Memory the kernel is using, or will read, whatever the map says: this
 * image (firmware loads it as loader code; a map that lists it as
 * conventional memory would put the bitmaps or page_alloc's zeroing on the
 * running kernel), the memory map (pmm_init, mm_init and
 * mm_firmware_readable go on reading it) and the boot files (bootfs_range:
 * each file's record and data, loader data that proofs read long after).
 * The i-th claims [*first, *first + *count): every page a byte of it
 * touches, as a descriptor that is not free memory does; false past the
 * last. */
bool mm_inuse_at(unsigned i, uint64_t *first, uint64_t *count)
{
	uint64_t start, end;
	if (i == 0) {
		mm_image_range(&start, &end);
	} else if (i == 1) {
		start = (uint64_t)boot_mmap.desc;
		end = start + boot_mmap.size;
	} else if (!bootfs_range(i - 2, &start, &end)) {
		return false;
	}
	*first = start / PAGE_SIZE;
	/* empty (a wrapping one: absurd) */
	*count = end <= start ? 0 : (end - 1) / PAGE_SIZE + 1 - *first;
	return true;
}

/* the claim [first, first + count) holds one of the pages [pg, pg + n) */
static bool overlaps(uint64_t first, uint64_t count, uint64_t pg, uint64_t n)
{
	return count && first < pg + n && (first >= pg || count > pg - first);
}

/* a run of the pages [first, first + count) (saturating at 2^64 - 1: a
 * wrapping claim) folded into the run [*s, *e) being found from pg on: the
 * lowest page at or after pg, and a run of held pages from it */
static void fold(uint64_t first, uint64_t count, uint64_t pg, uint64_t *s,
		 uint64_t *e)
{
	uint64_t end = count > UINT64_MAX - first ? UINT64_MAX : first + count;
	if (!count || end <= pg)
		return;
	first = MAX(first, pg);
	if (first < *s) {
		*e = end >= *s ? MAX(end, *e) : end;
		*s = first;
	} else if (first <= *e) { /* in or just after [*s, *e) */
		*e = MAX(*e, end);
	}
}

/* the map's whole descriptors (MM_FOR_EACH_DESC's), the i-th as a copy */
static uint64_t map_count(void)
{
	return boot_mmap.desc_size < sizeof(EFI_MEMORY_DESCRIPTOR)
		   ? 0
		   : boot_mmap.size / boot_mmap.desc_size;
}
static EFI_MEMORY_DESCRIPTOR map_at(uint64_t i)
{
	EFI_MEMORY_DESCRIPTOR d;
	MM_WORK();
	memcpy(&d, boot_mmap.desc + i * boot_mmap.desc_size, sizeof(d));
	return d;
}
static void map_swap(uint64_t i, uint64_t j)
{
	uint8_t *a = boot_mmap.desc + i * boot_mmap.desc_size,
		*b = boot_mmap.desc + j * boot_mmap.desc_size, t;
	MM_WORK();
	for (uint64_t k = 0; k < boot_mmap.desc_size; k++) {
		t = a[k];
		a[k] = b[k];
		b[k] = t;
	}
}
/* the descriptor at root sinks in the heap of the first n to where its
 * start is not below its children's (the larger child's start read once
 * per level, its own once) */
static void map_sift(uint64_t root, uint64_t n)
{
	uint64_t key = map_at(root).PhysicalStart;
	for (uint64_t c; (c = 2 * root + 1) < n; root = c) {
		uint64_t kc = map_at(c).PhysicalStart, k1;
		if (c + 1 < n && (k1 = map_at(c + 1).PhysicalStart) > kc) {
			c++;
			kc = k1;
		}
		if (key >= kc)
			return;
		map_swap(root, c);
	}
}

/* the map in address order, in place (a heapsort of whole descriptors,
 * their bytes past UEFI's 40 with them; a partial last one stays where it
 * is): what it says is unchanged, only the order, which pmm.c and paging.c
 * never depend on. A map already in order, as firmware usually gives it,
 * is left as it is. */
static void map_sort(void)
{
	uint64_t n = map_count();
	bool sorted = true;
	for (uint64_t i = 1; i < n && sorted; i++)
		sorted = map_at(i - 1).PhysicalStart <= map_at(i).PhysicalStart;
	if (sorted)
		return;
	for (uint64_t i = n / 2; i-- > 0;)
		map_sift(i, n);
	for (uint64_t end = n; end-- > 1;) {
		map_swap(0, end);
		map_sift(0, end);
	}
}

/* the next run of pages of one kind in the sorted map (free memory, or
 * the claims of descriptors that are not), from descriptor *i on: [*s, *e)
 * the pages of every such descriptor that starts at or before the run's
 * end (they meet or overlap), *i left at the first that does not; false
 * when none is left. The map in address order is in order of first page,
 * so each descriptor is read once per walk */
static bool run_next(uint64_t *i, bool free, uint64_t *s, uint64_t *e)
{
	bool have = false;
	for (uint64_t n = map_count(), first, count, end; *i < n; ++*i) {
		EFI_MEMORY_DESCRIPTOR d = map_at(*i);
		if (desc_free(&d) != free || !(count = claim(&d, &first)))
			continue;
		end = count > UINT64_MAX - first ? UINT64_MAX : first + count;
		if (!have) {
			*s = first;
			*e = end;
			have = true;
		} else if (first <= *e) {
			*e = MAX(*e, end);
		} else {
			break;
		}
	}
	return have;
}

/* a sweep of the sorted map upwards for free pages no claim holds: the
 * free run and the descriptors' claim run it has reached, and the run of
 * memory the kernel is using (mm_inuse_at: not in the map, not sorted)
 * found from some page on */
struct sweep {
	uint64_t fi, fs, fe; /* free: next descriptor, run [fs, fe) */
	uint64_t ci, cs, ce; /* claims: the same; UINT64_MAX: none left */
	uint64_t is, ie;     /* in use: the lowest run from a page */
};

/* the lowest page at or after pg (not below the pg of the sweep's last
 * call) that is free memory no claim holds, UINT64_MAX when none is; *past
 * is the page after the run of such pages from it. Each step passes the
 * end of a free run or of a claim run, and each walk reads a descriptor
 * once, so a sweep of the whole map reads each descriptor twice and
 * walks the kernel's own ranges once per run of them it passes. */
static uint64_t sweep_next(struct sweep *w, uint64_t pg, uint64_t *past)
{
	for (;;) {
		while (w->fe <= pg)
			if (!run_next(&w->fi, true, &w->fs, &w->fe))
				return UINT64_MAX;
		uint64_t f = MAX(pg, w->fs), first, count;
		while (w->ce <= f)
			if (!run_next(&w->ci, false, &w->cs, &w->ce))
				w->cs = w->ce = UINT64_MAX;
		if (w->ie <= f) { /* passed: from f on afresh */
			w->is = UINT64_MAX;
			w->ie = 0;
			for (unsigned i = 0; mm_inuse_at(i, &first, &count);
			     i++)
				fold(first, count, f, &w->is, &w->ie);
			if (w->is == UINT64_MAX)
				w->ie = UINT64_MAX; /* none from f on */
		}
		uint64_t c = MIN(MAX(w->cs, f), MAX(w->is, f));
		if (c > f) {
			*past = MIN(w->fe, c);
			return f;
		}
		/* past the claims that hold f */
		pg = MAX(w->cs <= f ? w->ce : 0, w->is <= f ? w->ie : 0);
	}
}

/* RAM by the map, whatever its attributes: what Linux's E820 calls RAM
 * (conventional memory, loader and boot-services code and data) and
 * unaccepted memory (a TDX or SEV-SNP guest's RAM) */
static bool desc_ram(const EFI_MEMORY_DESCRIPTOR *d)
{
	return d->Type == EfiConventionalMemory || d->Type == EfiLoaderCode ||
	       d->Type == EfiLoaderData || d->Type == EfiBootServicesCode ||
	       d->Type == EfiBootServicesData ||
	       d->Type == MM_EFI_UNACCEPTED_MEMORY;
}

/* a descriptor of system memory: a type the kernel or firmware keeps
 * data in (UEFI 2.10 §7.2.3). Not reserved (firmware is known to report
 * BAR space so; Linux's do_mark_busy leaves it to PCI), MMIO, MMIO port
 * space, nor a type no spec names (OEM and OS types: Linux makes them
 * reserved) */
static bool desc_memory(const EFI_MEMORY_DESCRIPTOR *d)
{
	switch (d->Type) {
	case EfiLoaderCode:
	case EfiLoaderData:
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiRuntimeServicesCode:
	case EfiRuntimeServicesData:
	case EfiConventionalMemory:
	case EfiUnusableMemory:
	case EfiACPIReclaimMemory:
	case EfiACPIMemoryNVS:
	case EfiPalCode:
	case MM_EFI_PERSISTENT_MEMORY:
	case MM_EFI_UNACCEPTED_MEMORY:
		return true;
	default:
		return false;
	}
}

/* some page of [phys, phys + len) is memory the kernel is using or one a
 * descriptor of `kind` claims; false for an empty or wrapping range */
static bool range_holds(uint64_t phys, uint64_t len,
			bool (*kind)(const EFI_MEMORY_DESCRIPTOR *))
{
	if (!len || phys + (len - 1) < phys)
		return false;
	uint64_t first, count, pg = phys / PAGE_SIZE,
			       n = (phys + (len - 1)) / PAGE_SIZE - pg + 1;
	for (unsigned i = 0; mm_inuse_at(i, &first, &count); i++)
		if (overlaps(first, count, pg, n))
			return true;
	MM_FOR_EACH_DESC(d)
	if (kind(d)) {
		count = claim(d, &first);
		if (overlaps(first, count, pg, n))
			return true;
	}
	return false;
}

bool mm_phys_ram(uint64_t phys, uint64_t len)
{
	return range_holds(phys, len, desc_ram);
}

bool mm_holds_ram(uint64_t phys, uint64_t len)
{
	return range_holds(phys, len, desc_memory);
}

/* Conventional memory is free unless another descriptor claims the same
 * pages (firmware that overlaps its entries): any claim wins, so neither
 * the bitmap nor an allocation lands on loader data or firmware memory. A
 * descriptor that is not page-aligned, runs past PHYS_LIMIT or ends past
 * MM_IDENTITY_LIMIT (mm_init does not map it) is reported and never free
 * (a line each for the first MM_DESC_LINES, one for the rest);
 * so is one that is not ordinary RAM by its attributes (attr_ram), and
 * unaccepted memory, which capOS does not accept (those two on one line
 * each, however many descriptors). This image, the map itself and the
 * boot files are never free, whatever the map says (mm_inuse_at). The free
 * pages are found run by run in the map sorted by address (map_sort,
 * sweep_next): O(n log n) in the map's n descriptors. */
void pmm_init(void)
{
	uint64_t top = 0, attr_n = 0, attr_pages = 0, unacc_n = 0,
		 unacc_pages = 0;
	struct mm_tally unmapped = {0};
	if (boot_mmap.desc_size < sizeof(EFI_MEMORY_DESCRIPTOR))
		panic("pmm: memory map descriptors of %lu bytes, fewer than "
		      "UEFI's %lu",
		      boot_mmap.desc_size,
		      (uint64_t)sizeof(EFI_MEMORY_DESCRIPTOR));
	MM_FOR_EACH_DESC(d)
	if (d->Type == MM_EFI_UNACCEPTED_MEMORY) {
		unacc_n++;
		unacc_pages = add_sat(unacc_pages, d->NumberOfPages);
	} else if (d->Type != EfiConventionalMemory) {
		continue;
	} else if (!desc_conv_mapped(d)) {
		if (mm_tally_line(&unmapped, d))
			kprintf("pmm: conventional memory at 0x%lx, %lu pages, "
				"is unaligned or ends past the identity map "
				"(2^47); not used\n",
				d->PhysicalStart, d->NumberOfPages);
	} else if (!desc_free(d)) {
		attr_n++;
		attr_pages = add_sat(attr_pages, d->NumberOfPages);
	} else if (d->NumberOfPages) { /* an empty one sizes nothing */
		top = MAX(top, d->PhysicalStart + d->NumberOfPages * PAGE_SIZE);
	}
	if (unmapped.n > MM_DESC_LINES)
		kprintf("pmm: %lu more conventional memory descriptors "
			"unaligned or ending past the identity map, %lu KiB; "
			"not used\n",
			unmapped.n - MM_DESC_LINES, kib_sat(unmapped.pages));
	if (attr_n)
		kprintf("pmm: %lu conventional memory descriptors, %lu KiB, "
			"are not write-back RAM (no EFI_MEMORY_WB, or "
			"EFI_MEMORY_SP or _NV); not used\n",
			attr_n, kib_sat(attr_pages));
	if (unacc_n)
		kprintf("pmm: %lu unaccepted memory descriptors, %lu KiB: "
			"capOS does not accept memory; not used\n",
			unacc_n, kib_sat(unacc_pages));
	npages = top / PAGE_SIZE;
	/* each bitmap's; they take twice this */
	uint64_t bytes = ALIGN_UP((npages + 7) / 8, PAGE_SIZE);
	/* the lines above name descriptors in the firmware's order; the
	 * sweeps below want the map in address order */
	map_sort();
	/* at the lowest run of free pages nothing claims, at or above 1 MiB.
	 * With no free memory there is no room even for bitmaps of no
	 * bytes. */
	uint64_t need = 2 * bytes / PAGE_SIZE, pg, past;
	struct sweep w = {0};
	for (pg = 0x100000 / PAGE_SIZE;
	     !bitmap && (pg = sweep_next(&w, pg, &past)) != UINT64_MAX;
	     pg = past)
		if (past - pg >= need)
			bitmap = (uint8_t *)(pg * PAGE_SIZE);
	if (!bitmap)
		panic("pmm: no room for the page bitmap");
	pool = bitmap + bytes;
	memset(bitmap, 0xff, bytes);
	/* page 0 stays reserved: a device address of 0 is always a bug. Free
	 * runs end at or below top. */
	w = (struct sweep){0};
	for (pg = 1; (pg = sweep_next(&w, pg, &past)) != UINT64_MAX;)
		for (; pg < past; pg++) {
			clr(pg);
			total_free++;
		}
	for (uint64_t i = 0; i < need; i++)
		set((uint64_t)bitmap / PAGE_SIZE + i);
	total_free -= need;
	for (uint64_t i = 0; i < bytes; i++)
		pool[i] = ~bitmap[i];
	kprintf("mm: %lu KiB free in conventional memory, bitmaps %lu KiB\n",
		total_free * 4, 2 * bytes / 1024);
}

uint64_t page_alloc(size_t n, uint64_t limit)
{
	uint64_t end = npages;
	if (limit && limit / PAGE_SIZE < end)
		end = limit / PAGE_SIZE;
	if (n == 0 || n > end)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t start = pass == 0 ? hint : 1;
		for (uint64_t i = start; i + n <= end;) {
			uint64_t run = 0;
			while (run < n && !bit(i + run))
				run++;
			if (run == n) {
				for (uint64_t j = 0; j < n; j++)
					set(i + j);
				used += n;
				peak = MAX(peak, used);
				hint = i + n;
				memset((void *)(i * PAGE_SIZE), 0,
				       n * PAGE_SIZE);
				return i * PAGE_SIZE;
			}
			i += run + 1;
		}
	}
	return 0;
}

/* Page-granular (part of an allocation may go back), but only pages
 * page_alloc handed out: page 0, memory the map claims, the bitmaps, a page
 * already free or an address that is not page-aligned is a kernel bug, and
 * taking it back would hand it out next (the bitmaps' pages: every page
 * twice). */
void page_free(uint64_t phys, size_t n)
{
	uint64_t pg = phys / PAGE_SIZE;
	if (phys % PAGE_SIZE)
		panic("pmm: free of 0x%lx, not page-aligned", phys);
	for (size_t j = 0; j < n; j++)
		if (pg + j >= npages || !bit(pg + j) || !pooled(pg + j))
			panic("pmm: free of page 0x%lx that is not allocated",
			      (pg + j) * PAGE_SIZE);
	for (size_t j = 0; j < n; j++)
		clr(pg + j);
	used -= n;
}

void pmm_stats(struct pmm_stats *s)
{
	s->total = total_free;
	s->used = used;
	s->peak = peak;
}
