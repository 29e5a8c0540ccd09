/* kernel/mm/mm_internal.h — what the page allocator and the page tables
 * share about the firmware's memory map */
#ifndef CAPOS_MM_INTERNAL_H
#define CAPOS_MM_INTERNAL_H
#include <efi.h>
#include <stdbool.h>

/* the identity map covers physical addresses below this: the lower
 * canonical half of 4-level paging's 48-bit space */
#define MM_IDENTITY_LIMIT (1ull << 47)

/* UEFI 2.10 §7.2.3 (GetMemoryMap) names gnu-efi's headers lack: memory
 * types 14 and 15 (15 since UEFI 2.9) and two attribute bits */
#define MM_EFI_PERSISTENT_MEMORY 14	    /* EfiPersistentMemory */
#define MM_EFI_UNACCEPTED_MEMORY 15	    /* EfiUnacceptedMemoryType */
#define MM_EFI_MEMORY_NV	 0x8000ull  /* EFI_MEMORY_NV: persistent */
#define MM_EFI_MEMORY_SP	 0x40000ull /* EFI_MEMORY_SP: specific-purpose */

/* page-aligned, ending below 2^52 without wrapping: a descriptor that is
 * not is reported by pmm_init and neither handed out nor mapped */
bool mm_desc_sane(const EFI_MEMORY_DESCRIPTOR *d);
#endif
