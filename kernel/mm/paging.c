/* kernel/mm/paging.c — capOS's own 4-level page tables (Intel SDM vol. 3A
 * §4.5). RAM is identity-mapped with 2 MiB pages, read-write, never
 * executable. The image is mapped with 4 KiB pages: text RX, rodata R+NX,
 * data RW+NX. Device ranges are mapped on demand, uncached and NX. */
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
#define CR0_WP	 (1ull << 16)

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
 * the way and splitting a 2 MiB page that covers va when level is 1 */
static uint64_t *mm_walk(uint64_t va, int level)
{
	uint64_t *t = pml4;
	for (int l = 4; l > level; l--) {
		uint64_t *e = &t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(*e & PTE_P)) {
			*e = (uint64_t)table_alloc() | PTE_P | PTE_RW;
		} else if (*e & PTE_PS) {
			/* split a 2 MiB page into 512 4 KiB ones, same flags */
			uint64_t *nt = table_alloc();
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

static void mm_map_range(uint64_t pa, uint64_t len, uint64_t flags)
{
	uint64_t end = ALIGN_UP(pa + len, PAGE_SIZE);
	pa = ALIGN_DOWN(pa, PAGE_SIZE);
	while (pa < end) {
		if ((pa & 0x1fffff) == 0 && end - pa >= 0x200000) {
			uint64_t *e = mm_walk(pa, 2);
			/* keep an existing split table; else a large page */
			if (!(*e & PTE_P) || (*e & PTE_PS)) {
				*e = pa | flags | PTE_PS;
				pa += 0x200000;
				continue;
			}
		}
		*mm_walk(pa, 1) = pa | flags;
		pa += PAGE_SIZE;
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

void mm_init(void)
{
	pml4 = table_alloc();
	MM_FOR_EACH_DESC(d)
	{
		uint64_t len = d->NumberOfPages * PAGE_SIZE;
		if (!mm_desc_sane(d)) /* pmm_init said so */
			continue;
		/* the identity map lives in the lower canonical half */
		if (d->PhysicalStart + len > MM_IDENTITY_LIMIT) {
			kprintf("mm: 0x%lx+0x%lx is above the identity map's "
				"0x%llx; not mapped\n",
				d->PhysicalStart, len, MM_IDENTITY_LIMIT);
			continue;
		}
		if (d->Type == EfiMemoryMappedIO ||
		    d->Type == EfiMemoryMappedIOPortSpace)
			mm_map_range(d->PhysicalStart, len,
				     PTE_P | PTE_RW | PTE_PCD | PTE_PWT |
					 PTE_NX);
		else
			mm_map_range(d->PhysicalStart, len,
				     PTE_P | PTE_RW | PTE_NX);
	}
	/* page 0 stays unmapped: a NULL dereference faults */
	*mm_walk(0, 1) = 0;
	mm_map_image();
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	uint64_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" ::"r"(cr0 | CR0_WP));
	__asm__ volatile("mov %0, %%cr3" ::"r"((uint64_t)pml4) : "memory");
	kprintf(
	    "mm: own page tables at 0x%lx (text RX, rodata R, data RW+NX)\n",
	    (uint64_t)pml4);
}

void *mm_map_mmio(uint64_t phys, size_t len)
{
	if (len == 0 || phys + len < phys || phys + len > MM_IDENTITY_LIMIT)
		return NULL;
	for (uint64_t pa = ALIGN_DOWN(phys, PAGE_SIZE); pa < phys + len;
	     pa += PAGE_SIZE) {
		*mm_walk(pa, 1) =
		    pa | PTE_P | PTE_RW | PTE_PCD | PTE_PWT | PTE_NX;
		__asm__ volatile("invlpg (%0)" ::"r"(pa) : "memory");
	}
	return (void *)phys;
}

void mm_unmap_page(uint64_t va)
{
	*mm_walk(va, 1) = 0;
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
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
