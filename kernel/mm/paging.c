/* kernel/mm/paging.c — capOS's own 4-level page tables (Intel SDM vol. 3A
 * §4.5). Memory is identity-mapped with 2 MiB pages where it can be,
 * read-write, never executable, cached as its memory map entry allows:
 * write-back only with EFI_MEMORY_WB, uncached otherwise and for MMIO. The
 * image is mapped with 4 KiB pages: text RX, rodata R+NX, data RW+NX.
 * Device ranges are mapped on demand, uncached and NX. The kernel writes
 * the PAT itself, so the two cache bits it uses mean what it says. */
#include <efi.h>

#include "kernel/boot/boot.h"
#include "kernel/boot/boot_internal.h"
#include "kernel/lib/io.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/mm_internal.h"

#define PTE_P	 (1ull << 0)
#define PTE_RW	 (1ull << 1)
#define PTE_PWT	 (1ull << 3)
#define PTE_PCD	 (1ull << 4)
#define PTE_PS	 (1ull << 7)
#define PTE_NX	 (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define MSR_EFER 0xc0000080
#define EFER_NXE (1ull << 11)
#define CR0_NW	 (1ull << 29)
#define CR0_CD	 (1ull << 30)
#define CR0_WP	 (1ull << 16)
#define CR4_PGE	 (1ull << 7)

/* The PAT (Intel SDM vol. 3A, "Page Attribute Table (PAT)"): entry
 * PAT*4 + PCD*2 + PWT of IA32_PAT gives a page its memory type. The kernel
 * writes the processor's reset value, whatever firmware left there: entry 0
 * write-back (no cache bit: RAM), 1 write-through, 2 UC-, 3 uncached
 * (PCD|PWT: MMIO and memory without EFI_MEMORY_WB), 4..7 the same again
 * (the PAT bit means nothing). UC, not UC- (which an MTRR may make WC), so
 * no MTRR can loosen a device mapping. Linux puts WC at entry 1; capOS maps
 * nothing write-combined. */
#define MSR_PAT	    0x277
#define PAT_UC	    0x00ull
#define PAT_WT	    0x04ull
#define PAT_WB	    0x06ull
#define PAT_UCMINUS 0x07ull
#define PAT_KERNEL                                                             \
	(PAT_WB | PAT_WT << 8 | PAT_UCMINUS << 16 | PAT_UC << 24 |             \
	 PAT_WB << 32 | PAT_WT << 40 | PAT_UCMINUS << 48 | PAT_UC << 56)
#define PTE_WB 0ull		   /* PAT entry 0 */
#define PTE_UC (PTE_PCD | PTE_PWT) /* PAT entry 3 */

#ifdef CAPOS_HOST
/* the host test (tests/host/mm/test_paging.c) plays the privileged
 * instructions: MSRs, control registers, cache and TLB flushes, CPUID's
 * PAT bit */
uint64_t paging_host_rdmsr(uint32_t m);
void paging_host_wrmsr(uint32_t m, uint64_t v);
uint64_t paging_host_rdcr(int cr);
void paging_host_wrcr(int cr, uint64_t v);
void paging_host_wbinvd(void);
void paging_host_invlpg(uint64_t va);
bool paging_host_has_pat(void);
#define rdmsr(m)    paging_host_rdmsr(m)
#define wrmsr(m, v) paging_host_wrmsr(m, v)
#define RDCR(n)	    paging_host_rdcr(n)
#define WRCR(n, v)  paging_host_wrcr(n, v)
#define wbinvd()    paging_host_wbinvd()
#define invlpg(va)  paging_host_invlpg(va)
#define has_pat()   paging_host_has_pat()
/* glibc's startup files define __data_start; the test's image has its own */
#define __data_start paging_host_data_start
#else
#define RDCR(n)                                                                \
	({                                                                     \
		uint64_t _v;                                                   \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(_v));             \
		_v;                                                            \
	})
#define WRCR(n, v)                                                             \
	__asm__ volatile("mov %0, %%cr" #n ::"r"((uint64_t)(v)) : "memory")
static inline void wbinvd(void)
{
	__asm__ volatile("wbinvd" ::: "memory");
}
static inline void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}
/* CPUID.01H:EDX[16] (SDM vol. 2A, CPUID) */
static bool has_pat(void)
{
	uint32_t a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return d >> 16 & 1;
}
#endif

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[],
    __data_start[], __image_end[];

static uint64_t *pml4;

static uint64_t *table_alloc(void)
{
	uint64_t p = page_alloc(1, 0);
	if (!p)
		panic("mm: out of memory for page tables");
	return (uint64_t *)p;
}

/* the PTE for va at `level` (1: 4 KiB PTE, 2: 2 MiB PDE), creating tables on
 * the way and splitting a 2 MiB page that covers va when level is 1; NULL
 * when a table is needed and no page is left (nothing changed at the level
 * that needed it) */
static uint64_t *mm_walk_try(uint64_t va, int level)
{
	uint64_t *t = pml4;
	for (int l = 4; l > level; l--) {
		uint64_t *e = &t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(*e & PTE_P)) {
			uint64_t nt = page_alloc(1, 0);
			if (!nt)
				return NULL;
			*e = nt | PTE_P | PTE_RW;
		} else if (*e & PTE_PS) {
			/* split a 2 MiB page into 512 4 KiB ones, same flags */
			uint64_t *nt = (uint64_t *)page_alloc(1, 0);
			if (!nt)
				return NULL;
			uint64_t base = *e & PTE_ADDR & ~0x1fffffull;
			uint64_t fl = (*e & ~PTE_ADDR) & ~PTE_PS;
			for (int i = 0; i < 512; i++)
				nt[i] = (base + i * 4096ull) | fl;
			*e = (uint64_t)nt | PTE_P | PTE_RW;
		}
		t = (uint64_t *)(*e & PTE_ADDR);
	}
	return &t[(va >> (12 + 9 * (level - 1))) & 511];
}

/* mm_walk_try for the kernel's own mappings (mm_init, firmware tables,
 * guard pages), which cannot go on without their table */
static uint64_t *mm_walk(uint64_t va, int level)
{
	uint64_t *e = mm_walk_try(va, level);
	if (!e)
		panic("mm: out of memory for page tables");
	return e;
}

#define LARGE 0x200000ull /* a 2 MiB page */

/* maps the pages of [pa, end) (page-aligned) that nothing maps yet with
 * flags, with 2 MiB pages where a whole aligned 2 MiB is unmapped; what is
 * mapped (the image, a device window, a page of an earlier range) stays */
static void map_absent(uint64_t pa, uint64_t end, uint64_t flags)
{
	while (pa < end) {
		if ((pa & (LARGE - 1)) == 0 && end - pa >= LARGE) {
			uint64_t *e = mm_walk(pa, 2);
			if (!(*e & PTE_P)) {
				*e = pa | flags | PTE_PS;
				pa += LARGE;
				continue;
			}
			if (*e & PTE_PS) {
				pa += LARGE;
				continue;
			}
		}
		if (!(mm_pte(pa) & PTE_P)) /* so no large page to split */
			*mm_walk(pa, 1) = pa | flags;
		pa += PAGE_SIZE;
	}
}

/* makes the mapped pages of [pa, end) (page-aligned) uncached, splitting
 * a large page the range covers only in part, and maps nothing: it skips
 * what no table maps a table at a time, so its work is bounded by the page
 * tables there are, not by the range (a reserved range of 2^46 bytes
 * costs a step per missing top-level entry) */
static void uncache_mapped(uint64_t pa, uint64_t end)
{
	while (pa < end) {
		uint64_t *t = pml4, *e;
		int l = 4;
		for (;; l--) {
			e = &t[(pa >> (12 + 9 * (l - 1))) & 511];
			if (!(*e & PTE_P) || l == 1 || (*e & PTE_PS))
				break;
			t = (uint64_t *)(*e & PTE_ADDR);
		}
		uint64_t span = 1ull << (12 + 9 * (l - 1));
		uint64_t next = ALIGN_DOWN(pa, span) + span;
		if ((*e & PTE_P) && (*e & PTE_UC) != PTE_UC) {
			if (l > 1 &&
			    (pa != ALIGN_DOWN(pa, span) || end < next)) {
				e = mm_walk(pa, 1); /* a part: split */
				next = pa + PAGE_SIZE;
			}
			*e |= PTE_UC;
		}
		pa = next;
	}
}

/* a descriptor the identity map can hold: sane (mm_desc_sane; pmm_init
 * reported the conventional ones that are not) and ending at or below
 * 2^47 */
static bool desc_in_map(const EFI_MEMORY_DESCRIPTOR *d)
{
	return mm_desc_sane(d) &&
	       d->PhysicalStart + d->NumberOfPages * PAGE_SIZE <=
		   MM_IDENTITY_LIMIT;
}

/* mapped by mm_init: RAM the kernel runs in, reads and hands out
 * (conventional memory, loader and boot-services code and data). Firmware
 * memory (runtime, ACPI, reserved, persistent, ...) is mapped as the
 * kernel reads it (mm_map_firmware), device ranges as drivers map them
 * (mm_map_mmio): firmware lists reserved and MMIO ranges of terabytes (a
 * 64-bit PCI window) that the page tables to map them up front would not
 * fit in memory. */
static bool desc_upfront(const EFI_MEMORY_DESCRIPTOR *d)
{
	return d->Type == EfiConventionalMemory || d->Type == EfiLoaderCode ||
	       d->Type == EfiLoaderData || d->Type == EfiBootServicesCode ||
	       d->Type == EfiBootServicesData;
}

/* the memory type a descriptor's range is mapped with: write-back only
 * when its attributes allow it (EFI_MEMORY_WB) and it is not MMIO, which
 * is uncached whatever they say; otherwise uncached (UC is right for any
 * memory, only slower). Linux maps EFI ranges without WB uncached too
 * (arch/x86/platform/efi/efi_64.c, __map_region: _PAGE_PCD). */
static uint64_t desc_cache(const EFI_MEMORY_DESCRIPTOR *d)
{
	bool mmio = d->Type == EfiMemoryMappedIO ||
		    d->Type == EfiMemoryMappedIOPortSpace;
	return !mmio && (d->Attribute & EFI_MEMORY_WB) ? PTE_WB : PTE_UC;
}

/* maps what is unmapped of [lo, hi) (page-aligned, below 2^47) where
 * descriptors hold it, each with its memory type: the uncached ranges
 * first, then the write-back ones where nothing is mapped yet, so
 * uncached wins where firmware overlaps its entries */
static void map_window(uint64_t lo, uint64_t hi)
{
	for (int pass = 0; pass < 2; pass++)
		MM_FOR_EACH_DESC(d)
		{
			uint64_t cache = desc_cache(d),
				 end = d->PhysicalStart +
				       d->NumberOfPages * PAGE_SIZE;
			if ((cache == PTE_UC) != (pass == 0) || !desc_in_map(d))
				continue;
			if (MAX(lo, d->PhysicalStart) < MIN(hi, end))
				map_absent(MAX(lo, d->PhysicalStart),
					   MIN(hi, end),
					   PTE_P | PTE_RW | PTE_NX | cache);
		}
}

void mm_image_range(uint64_t *start, uint64_t *end)
{
	*start = boot_image_base;
	*end = (uint64_t)__image_end;
}

static void mm_map_image(void)
{
	uint64_t base, end;
	mm_image_range(&base, &end);
	for (uint64_t va = base; va < end; va += PAGE_SIZE) {
		uint64_t fl = PTE_P;
		if (va >= (uint64_t)__text_start && va < (uint64_t)__text_end)
			fl |= 0; /* read + execute */
		else if (va >= (uint64_t)__data_start)
			fl |= PTE_RW | PTE_NX;
		else
			fl |= PTE_NX; /* headers, rodata, relocations */
		*mm_walk(va, 1) = va | fl;
	}
}

/* IA32_PAT to PAT_KERNEL the way SDM vol. 3A changes memory types ("MTRR
 * Considerations in MP Systems", which "Programming the PAT" asks for):
 * caches disabled and written back, TLB flushed (global pages too), the
 * MSR written, caches written back and TLB flushed again, then caches on
 * (whatever firmware left in CR0.CD/NW). Interrupts are off (efi_main). */
static void pat_init(void)
{
	if (!has_pat()) {
		kprintf("mm: no PAT (CPUID); PCD and PWT alone choose the "
			"memory type\n");
		return;
	}
	uint64_t was = rdmsr(MSR_PAT), cr0 = RDCR(0), cr4 = RDCR(4);
	if (was == PAT_KERNEL)
		return;
	WRCR(0, (cr0 | CR0_CD) & ~CR0_NW);
	wbinvd();
	WRCR(4, cr4 & ~CR4_PGE);
	WRCR(3, RDCR(3));
	wrmsr(MSR_PAT, PAT_KERNEL);
	wbinvd();
	WRCR(3, RDCR(3));
	WRCR(0, cr0 & ~(CR0_CD | CR0_NW));
	WRCR(4, cr4);
	kprintf("mm: PAT was 0x%lx, now 0x%llx\n", was, PAT_KERNEL);
}

void mm_init(void)
{
	struct mm_tally above = {0};
	pml4 = table_alloc();
	/* RAM: uncached ranges, then write-back ones where nothing is mapped
	 * (where firmware overlaps its entries, uncached wins: write-back on
	 * device registers is wrong, uncached on RAM only slow); then what
	 * an uncached range of firmware or device memory overlaps of them */
	for (int pass = 0; pass < 3; pass++)
		MM_FOR_EACH_DESC(d)
		{
			uint64_t cache = desc_cache(d),
				 start = d->PhysicalStart,
				 end = start + d->NumberOfPages * PAGE_SIZE;
			if ((cache == PTE_UC) != (pass != 1) ||
			    desc_upfront(d) != (pass < 2))
				continue;
			if (!mm_desc_sane(d)) /* pmm_init said so */
				continue;
			/* the identity map lives in the lower canonical half */
			if (end > MM_IDENTITY_LIMIT) {
				if (pass < 2 && mm_tally_line(&above, d))
					kprintf("mm: RAM at 0x%lx+0x%lx is "
						"above the identity map's "
						"0x%llx; not mapped\n",
						start, end - start,
						MM_IDENTITY_LIMIT);
				continue;
			}
			if (pass < 2)
				map_absent(start, end,
					   PTE_P | PTE_RW | PTE_NX | cache);
			else
				uncache_mapped(start, end);
		}
	if (above.n > MM_DESC_LINES)
		kprintf("mm: %lu more RAM descriptors, %lu pages, are above "
			"the identity map's 0x%llx; not mapped\n",
			above.n - MM_DESC_LINES, above.pages,
			MM_IDENTITY_LIMIT);
	/* the map and the boot files, which the kernel reads, whatever the
	 * map calls them: with their descriptors' types, write-back where
	 * none holds them (the loader allocated them as loader data) */
	uint64_t first, count;
	for (unsigned i = 0; mm_inuse_at(i, &first, &count); i++) {
		uint64_t lo = first * PAGE_SIZE,
			 hi =
			     MIN(first + count, MM_IDENTITY_LIMIT / PAGE_SIZE) *
			     PAGE_SIZE;
		if (lo < hi) {
			map_window(lo, hi);
			map_absent(lo, hi, PTE_P | PTE_RW | PTE_NX | PTE_WB);
		}
	}
	/* page 0 stays unmapped: a NULL dereference faults */
	*mm_walk(0, 1) = 0;
	mm_map_image();
	pat_init();
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	WRCR(0, RDCR(0) | CR0_WP);
	WRCR(3, (uint64_t)pml4);
	kprintf(
	    "mm: own page tables at 0x%lx (text RX, rodata R, data RW+NX)\n",
	    (uint64_t)pml4);
}

bool mm_map_firmware(uint64_t phys, uint64_t len)
{
	if (!mm_firmware_readable(phys, len))
		return false;
	if (pml4) /* else still on the firmware's tables, which map it */
		map_window(ALIGN_DOWN(phys, PAGE_SIZE),
			   ALIGN_UP(phys + len, PAGE_SIZE));
	return true;
}

/* never over RAM: the identity map has one mapping per page, so a device
 * window there (a BAR firmware placed over memory) would make RAM the
 * allocator hands out uncached, and hand it to the driver the window is
 * granted to. Linux's ioremap refuses RAM too ("ioremap on RAM at",
 * arch/x86/mm/ioremap.c). Nor page 0, which stays unmapped. */
void *mm_map_mmio(uint64_t phys, size_t len)
{
	if (len == 0 || phys + len < phys || phys + len > MM_IDENTITY_LIMIT ||
	    phys < PAGE_SIZE)
		return NULL;
	if (mm_phys_ram(phys, len)) {
		kprintf(
		    "mm: device range 0x%lx+0x%lx is RAM by the memory map; "
		    "not mapped\n",
		    phys, (uint64_t)len);
		return NULL;
	}
	/* a driver's window (kernel/authority/mmio.c) of up to
	 * MMIO_WINDOW_MAX needs a table per 2 MiB: out of pages for one, the
	 * window is refused (the caller says so), not the kernel stopped.
	 * The pages mapped before stay mapped, uncached, to the same device
	 * range, and the next call finds their tables */
	for (uint64_t pa = ALIGN_DOWN(phys, PAGE_SIZE); pa < phys + len;
	     pa += PAGE_SIZE) {
		uint64_t *e = mm_walk_try(pa, 1);
		if (!e)
			return NULL;
		*e = pa | PTE_P | PTE_RW | PTE_UC | PTE_NX;
		invlpg(pa);
	}
	return (void *)phys;
}

void mm_unmap_page(uint64_t va)
{
	*mm_walk(va, 1) = 0;
	invlpg(va);
}

uint64_t mm_stack_alloc(size_t n)
{
	uint64_t base = page_alloc(n + 1, 0);
	if (!base)
		panic("mm: no memory for a stack");
	mm_unmap_page(base); /* the guard page */
	return base + (n + 1) * PAGE_SIZE;
}

/* the leaf entry that maps va (with the large-page bit as found), 0 when
 * unmapped; for self-checks of the permissions above */
uint64_t mm_pte(uint64_t va)
{
	uint64_t *t = pml4;
	if (!t) /* still on the firmware's tables */
		return 0;
	for (int l = 4; l >= 1; l--) {
		uint64_t e = t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(e & PTE_P))
			return 0;
		if (l == 1 || (e & PTE_PS))
			return e;
		t = (uint64_t *)(e & PTE_ADDR);
	}
	return 0;
}
