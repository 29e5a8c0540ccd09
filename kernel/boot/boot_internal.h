/* kernel/boot/boot_internal.h — shared between the boot files only */
#ifndef CAPOS_BOOT_INTERNAL_H
#define CAPOS_BOOT_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

int boot_relocate(uint64_t base);

/* the UEFI memory map, copied before ExitBootServices */
struct boot_memmap {
	uint8_t *desc;
	uint64_t size, desc_size;
};
extern struct boot_memmap boot_mmap;

/* the raw command line (ASCII) */
extern char boot_cmdline[512];
void cmdline_parse(const char *s, size_t n);
void bootfs_add(const char *name, const void *data, size_t len);

__attribute__((noreturn)) void kmain(void);

void cmdline_check(void);
#endif
