/* kernel/mm/mm_internal.h — what the page allocator and the page tables
 * share about the firmware's memory map */
#ifndef CAPOS_MM_INTERNAL_H
#define CAPOS_MM_INTERNAL_H
#include <efi.h>
#include <stdbool.h>

#include "kernel/boot/boot_internal.h"

/* host tests count the work of the map walks and the bitmap's per-page
 * steps (a hostile map must not make pmm_init take steps per page per
 * descriptor) */
#ifdef CAPOS_HOST
extern uint64_t mm_host_work;
#define MM_WORK() ((void)mm_host_work++)
#else
#define MM_WORK() ((void)0)
#endif

/* each whole descriptor of the boot memory map, desc_size bytes apart, as
 * a copy d points at: desc_size is firmware's (UEFI 2.10 §7.2.3: the
 * struct's 40 bytes or more), so a descriptor in the map need not be
 * 8-byte aligned, and a misaligned EFI_MEMORY_DESCRIPTOR * is undefined
 * behaviour. A map whose size is not a multiple of desc_size ends before
 * its last, partial entry; with desc_size below 40 it has none. */
#define MM_FOR_EACH_DESC(d)                                                    \
	for (uint64_t _o = 0;                                                  \
	     boot_mmap.desc_size >= sizeof(EFI_MEMORY_DESCRIPTOR) &&           \
	     _o <= boot_mmap.size &&                                           \
	     boot_mmap.desc_size <= boot_mmap.size - _o;                       \
	     _o += boot_mmap.desc_size)                                        \
		for (EFI_MEMORY_DESCRIPTOR _d,                                 \
		     *d = (MM_WORK(),                                          \
			   __builtin_memcpy(&_d, boot_mmap.desc + _o,          \
					    sizeof(_d)));                      \
		     d; d = NULL)

/* the identity map covers physical addresses below this: the lower
 * canonical half of 4-level paging's 48-bit space */
#define MM_IDENTITY_LIMIT (1ull << 47)

/* UEFI 2.10 §7.2.3 (GetMemoryMap) names gnu-efi's headers lack: memory
 * types 14 and 15 (15 since UEFI 2.9) and two attribute bits */
#define MM_EFI_PERSISTENT_MEMORY 14	    /* EfiPersistentMemory */
#define MM_EFI_UNACCEPTED_MEMORY 15	    /* EfiUnacceptedMemoryType */
#define MM_EFI_MEMORY_NV	 0x8000ull  /* EFI_MEMORY_NV: persistent */
#define MM_EFI_MEMORY_SP	 0x40000ull /* EFI_MEMORY_SP: specific-purpose */

/* the kernel image as loaded, [*start, *end) (paging.c: boot_image_base to
 * the linker's __image_end); pmm_init never makes it free memory */
void mm_image_range(uint64_t *start, uint64_t *end);

/* memory the kernel is using or reads, whatever the map says: the i-th of
 * this image, the map itself and the boot files claims [*first, *first +
 * *count), every page a byte of it touches; false past the last (pmm.c).
 * Never free memory; mm_init maps the map and the boot files. */
bool mm_inuse_at(unsigned i, uint64_t *first, uint64_t *count);

/* one page of [phys, phys + len) (len > 0, not wrapping) is RAM: in a
 * descriptor of RAM (conventional, loader or boot-services code or data,
 * unaccepted; any attributes) or this image, the map or a boot file, the
 * pages the allocator and the kernel use. mm_map_mmio maps no device range
 * there. */
bool mm_phys_ram(uint64_t phys, uint64_t len);

/* a line for each of the first MM_DESC_LINES descriptors refused for one
 * reason, then one line summing the rest (mm_tally): a broken or hostile
 * map may hold thousands, and a console line under TCG takes about 1 ms */
#define MM_DESC_LINES 8
struct mm_tally {
	uint64_t n;	/* descriptors refused, with a line or not */
	uint64_t pages; /* of those past the first MM_DESC_LINES; at most
			   2^64 - 1 */
};
/* count d into t: true when it is among the first MM_DESC_LINES and gets
 * a line of its own; the caller says the rest (t->n - MM_DESC_LINES of
 * them, t->pages) in one line once the map is walked (pmm.c) */
bool mm_tally_line(struct mm_tally *t, const EFI_MEMORY_DESCRIPTOR *d);

/* page-aligned, ending below 2^52 without wrapping: a descriptor that is
 * not is neither handed out nor mapped (pmm_init reports the
 * conventional ones, within MM_DESC_LINES lines) */
bool mm_desc_sane(const EFI_MEMORY_DESCRIPTOR *d);
#endif
