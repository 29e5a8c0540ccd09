/* kernel/mm/mm.h — physical pages and the kernel's page tables.
 * capOS identity-maps: a kernel virtual address equals the physical one. */
#ifndef CAPOS_MM_H
#define CAPOS_MM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* physical page allocator, fed by the UEFI memory map */
void pmm_init(void);
/* n contiguous zeroed pages, all below `limit` (0: anywhere); 0 if none */
uint64_t page_alloc(size_t n, uint64_t limit);
void page_free(uint64_t phys, size_t n);
struct pmm_stats {
	uint64_t total, used, peak; /* pages */
};
void pmm_stats(struct pmm_stats *s);

/* own page tables: image text RX, rodata R+NX, data RW+NX; RAM, the memory
 * map and the boot files RW+NX, write-back only where EFI_MEMORY_WB allows
 * (else uncached); firmware and device memory only on demand
 * (mm_map_firmware, mm_map_mmio). Writes the PAT the cache bits select
 * from */
void mm_init(void);
/* [phys, phys + len) lies wholly in memory firmware may keep data in:
 * descriptors of the boot memory map that are sane (page-aligned, below
 * 2^52), end at or below the identity map's 2^47, and are neither
 * conventional memory (the page allocator hands it out), MMIO, unusable nor
 * unaccepted memory; never page 0. */
bool mm_firmware_readable(uint64_t phys, uint64_t len);
/* maps [phys, phys + len) for reading when mm_firmware_readable allows it
 * (false otherwise), with its descriptors' memory types, where nothing is
 * mapped yet: mm_init maps only RAM, so the kernel reads firmware tables
 * (ACPI, SMBIOS) only after this */
bool mm_map_firmware(uint64_t phys, uint64_t len);
/* some byte of [phys, phys + len) is system memory by the boot memory
 * map: a descriptor of a type the kernel or firmware keeps data in (any
 * but reserved, MMIO, MMIO port space and types no spec names), sane or
 * not, mapped or not, or the kernel image, the map or a boot file. No device
 * register may lie there (a BAR that claims it would give its driver a
 * window on the kernel's memory). False for an empty or wrapping range. */
bool mm_holds_ram(uint64_t phys, uint64_t len);
/* an uncached, non-executable mapping of a device range (identity); NULL
 * when the range is empty, wraps, reaches past 2^47, holds page 0 or RAM
 * by the memory map (then with a line), or when no page is left for a page
 * table it needs (no line: the caller says what it could not map) */
void *mm_map_mmio(uint64_t phys, size_t len);
/* make one page not-present (guard pages) */
void mm_unmap_page(uint64_t va);
/* the leaf page-table entry mapping va, 0 when unmapped */
uint64_t mm_pte(uint64_t va);
#define MM_PTE_P   (1ull << 0)
#define MM_PTE_RW  (1ull << 1)
#define MM_PTE_PWT (1ull << 3)
#define MM_PTE_PCD (1ull << 4)
#define MM_PTE_NX  (1ull << 63)
/* a stack of n pages with an unmapped guard page below it; returns its top */
uint64_t mm_stack_alloc(size_t n);
#endif
