/* kernel/init/reloc.c — self-relocation. The image is linked at 0; firmware
 * loads it anywhere. Before touching any pointer stored in data, add the load
 * address to every R_X86_64_RELATIVE slot (ELF x86-64 psABI §4.4.1). Runs
 * before anything else, so it may use only PC-relative addressing. */
#include <stdint.h>

#include "kernel/init/init.h"

struct elf64_rela {
	uint64_t r_offset;
	uint64_t r_info;
	int64_t r_addend;
};
#define R_X86_64_RELATIVE 8

extern const struct elf64_rela __rela_start[]
    __attribute__((visibility("hidden")));
extern const struct elf64_rela __rela_end[]
    __attribute__((visibility("hidden")));

int boot_relocate(uint64_t base)
{
	for (const struct elf64_rela *r = __rela_start; r < __rela_end; r++) {
		if ((uint32_t)r->r_info != R_X86_64_RELATIVE)
			return -1;
		*(uint64_t *)(base + r->r_offset) = base + r->r_addend;
	}
	return 0;
}
