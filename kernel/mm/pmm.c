/* kernel/mm/pmm.c — a bitmap page allocator over EfiConventionalMemory
 * that is ordinary write-back RAM (EFI_MEMORY_WB, neither specific-purpose
 * nor persistent). Loader data (this image, the files read from the boot
 * volume) and boot-services memory (the firmware stack we still run on until
 * kmain switches) are never handed out. Two bitmaps, the pages in use and the
 * pages of the pool (what pmm_init found free: page_free takes back only
 * these), live in the first free region large enough to hold them.
 * docs/mm.md says what is free and why. */
#include <efi.h>

#include "kernel/boot/boot_internal.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/mm_internal.h"

static uint8_t *bitmap; /* 1 = used */
static uint8_t *pool;	/* 1 = pmm_init found the page free */
static uint64_t npages, used, peak, total_free, hint;

static bool bit(uint64_t i)
{
	return bitmap[i / 8] >> (i % 8) & 1;
}
static bool pooled(uint64_t i)
{
	return pool[i / 8] >> (i % 8) & 1;
}
static void set(uint64_t i)
{
	bitmap[i / 8] |= 1 << (i % 8);
}
static void clr(uint64_t i)
{
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

/* a descriptor mm_init maps (whole, sane, inside the identity map) whose
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

/* Memory the kernel is using while pmm_init runs, whatever the map says:
 * this image (firmware loads it as loader code; a map that lists it as
 * conventional memory would put the bitmaps or page_alloc's zeroing on the
 * running kernel) and the memory map (pmm_init, mm_init and
 * mm_firmware_readable go on reading it). Each claims every page a byte of
 * it touches, as a descriptor that is not free memory does. */
#define NINUSE 2
static uint64_t inuse_first[NINUSE], inuse_count[NINUSE];

static void inuse_init(void)
{
	uint64_t start[NINUSE], end[NINUSE];
	mm_image_range(&start[0], &end[0]);
	start[1] = (uint64_t)boot_mmap.desc;
	end[1] = start[1] + boot_mmap.size;
	for (int i = 0; i < NINUSE; i++) {
		inuse_first[i] = start[i] / PAGE_SIZE;
		if (end[i] <= start[i]) /* empty (a wrapping one: absurd) */
			inuse_count[i] = 0;
		else
			inuse_count[i] =
			    (end[i] - 1) / PAGE_SIZE + 1 - inuse_first[i];
	}
}

/* the claim [first, first + count) holds one of the pages [pg, pg + n) */
static bool overlaps(uint64_t first, uint64_t count, uint64_t pg, uint64_t n)
{
	return count && first < pg + n && (first >= pg || count > pg - first);
}

/* one of the pages [pg, pg + n) is claimed by a descriptor that is not
 * free memory, or is memory the kernel is using */
static bool claimed(uint64_t pg, uint64_t n)
{
	for (int i = 0; i < NINUSE; i++)
		if (overlaps(inuse_first[i], inuse_count[i], pg, n))
			return true;
	MM_FOR_EACH_DESC(d)
	if (!desc_free(d)) {
		uint64_t first, count = claim(d, &first);
		if (overlaps(first, count, pg, n))
			return true;
	}
	return false;
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

bool mm_holds_ram(uint64_t phys, uint64_t len)
{
	if (!len || phys + (len - 1) < phys)
		return false;
	uint64_t pg = phys / PAGE_SIZE,
		 n = (phys + (len - 1)) / PAGE_SIZE - pg + 1;
	inuse_init(); /* the image and the map, as pmm_init found them */
	for (int i = 0; i < NINUSE; i++)
		if (overlaps(inuse_first[i], inuse_count[i], pg, n))
			return true;
	MM_FOR_EACH_DESC(d)
	if (desc_memory(d)) {
		uint64_t first, count = claim(d, &first);
		if (overlaps(first, count, pg, n))
			return true;
	}
	return false;
}

/* takes the claimed pages [pg, pg + n) out of free memory (those the
 * bitmap covers) */
static void unfree(uint64_t pg, uint64_t n)
{
	if (pg >= npages)
		return;
	n = MIN(n, npages - pg);
	for (uint64_t i = 0; i < n; i++)
		if (!bit(pg + i)) {
			set(pg + i);
			total_free--;
		}
}

/* Conventional memory is free unless another descriptor claims the same
 * pages (firmware that overlaps its entries): any claim wins, so neither
 * the bitmap nor an allocation lands on loader data or firmware memory. A
 * descriptor that is not page-aligned, runs past PHYS_LIMIT or ends past
 * MM_IDENTITY_LIMIT (mm_init does not map it) is reported and never free;
 * so is one that is not ordinary RAM by its attributes (attr_ram), and
 * unaccepted memory, which capOS does not accept (those two on one line
 * each, however many descriptors). This image and the map itself are
 * never free, whatever the map says. */
void pmm_init(void)
{
	uint64_t top = 0, attr_n = 0, attr_pages = 0, unacc_n = 0,
		 unacc_pages = 0;
	if (boot_mmap.desc_size < sizeof(EFI_MEMORY_DESCRIPTOR))
		panic("pmm: memory map descriptors of %lu bytes, fewer than "
		      "UEFI's %lu",
		      boot_mmap.desc_size,
		      (uint64_t)sizeof(EFI_MEMORY_DESCRIPTOR));
	inuse_init();
	MM_FOR_EACH_DESC(d)
	if (d->Type == MM_EFI_UNACCEPTED_MEMORY) {
		unacc_n++;
		unacc_pages = add_sat(unacc_pages, d->NumberOfPages);
	} else if (d->Type != EfiConventionalMemory) {
		continue;
	} else if (!desc_conv_mapped(d)) {
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
	/* in a descriptor that holds pages: with none (no free memory) there
	 * is no room even for bitmaps of no bytes */
	MM_FOR_EACH_DESC(d)
	if (!bitmap && desc_free(d) && d->NumberOfPages &&
	    d->NumberOfPages * PAGE_SIZE >= 2 * bytes &&
	    d->PhysicalStart >= 0x100000 &&
	    !claimed(d->PhysicalStart / PAGE_SIZE, 2 * bytes / PAGE_SIZE))
		bitmap = (uint8_t *)d->PhysicalStart;
	if (!bitmap)
		panic("pmm: no room for the page bitmap");
	pool = bitmap + bytes;
	memset(bitmap, 0xff, bytes);
	MM_FOR_EACH_DESC(d)
	if (desc_free(d))
		for (uint64_t i = 0; i < d->NumberOfPages; i++) {
			uint64_t pg = d->PhysicalStart / PAGE_SIZE + i;
			/* page 0 stays reserved: a device address of 0 is
			 * always a bug */
			if (pg == 0 || !bit(pg))
				continue;
			clr(pg);
			total_free++;
		}
	MM_FOR_EACH_DESC(d)
	if (!desc_free(d)) {
		uint64_t pg, n = claim(d, &pg);
		unfree(pg, n);
	}
	for (int i = 0; i < NINUSE; i++)
		unfree(inuse_first[i], inuse_count[i]);
	for (uint64_t i = 0; i < 2 * bytes / PAGE_SIZE; i++)
		set((uint64_t)bitmap / PAGE_SIZE + i);
	total_free -= 2 * bytes / PAGE_SIZE;
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
