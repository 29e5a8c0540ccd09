/* kernel/mm/mm_internal.h — what the page allocator and the page tables
 * share about the firmware's memory map */
#ifndef CAPOS_MM_INTERNAL_H
#define CAPOS_MM_INTERNAL_H
#include <efi.h>
#include <stdbool.h>

/* the identity map covers physical addresses below this: the lower
 * canonical half of 4-level paging's 48-bit space */
#define MM_IDENTITY_LIMIT (1ull << 47)

/* page-aligned, ending below 2^52 without wrapping: a descriptor that is
 * not is reported by pmm_init and neither handed out nor mapped */
bool mm_desc_sane(const EFI_MEMORY_DESCRIPTOR *d);
#endif
