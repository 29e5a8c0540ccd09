/* kernel/boot/boot_internal.h — how the boot facts are filled in: by
 * efi_main (kernel/init/efi.c) before ExitBootServices, and read by the
 * page allocator and page tables (kernel/mm). */
#ifndef CAPOS_BOOT_INTERNAL_H
#define CAPOS_BOOT_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the UEFI memory map, copied before ExitBootServices */
struct boot_memmap {
	uint8_t *desc;
	uint64_t size, desc_size;
};
extern struct boot_memmap boot_mmap;

/* the raw command line (ASCII) */
extern char boot_cmdline[512];
void cmdline_parse(const char *s, size_t n);
/* there was a command line but it could not be read (\capos.cfg
 * unreadable, no memory for the load options): no option is set,
 * cmdline_cut() is true and cmdline_check says why */
void cmdline_lost(const char *why);
/* prints the command line and one line per problem (a word no CMDLINE_KEY
 * declares, a key given more than once, more than the words kept, a line
 * longer than boot_cmdline, a line lost);
 * returns how many problems it printed */
unsigned cmdline_check(void);
/* one file of \capos\ on the boot volume; efi.c allocates it (and the
 * data) from firmware as loader data, and the page allocator never hands
 * out what a kept file takes (bootfs_range), so there is no fixed limit on
 * the number of files */
#define BOOTFS_NAME_MAX 64
struct bootfs_file {
	struct bootfs_file *next;
	const void *data;
	size_t len;
	char name[BOOTFS_NAME_MAX];
};
void bootfs_add(struct bootfs_file *f);
/* a file that could not be kept: one "bootfs: unable to keep" line, and
 * bootfs_lost() counts it */
void bootfs_lose(const char *name, const char *why);
/* the memory the kept files take, which the kernel reads long after
 * ExitBootServices (proofs): the i-th range [*start, *end) — each file's
 * record, then its data — false past the last. The page allocator never
 * hands these out, whatever the memory map calls them. */
bool bootfs_range(unsigned i, uint64_t *start, uint64_t *end);

/* run every registered poller once (the main loop); true when one may
 * have more to do now (or cannot say) */
bool poller_run_all(void);
#endif
