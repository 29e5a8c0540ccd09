/* kernel/boot/boot.h — what efi_main collected from firmware, kept after
 * ExitBootServices: the command line, files from the boot volume, SMBIOS and
 * ACPI pointers, and the boot timeline. */
#ifndef CAPOS_BOOT_H
#define CAPOS_BOOT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* command line: "key=value key2 ..." from the UEFI load options, else the
 * file \capos.cfg on the boot volume. value of key, "" for a bare flag,
 * NULL when absent; a key given more than once has its last value. */
const char *cmdline_get(const char *key);
/* true when words were lost (the line longer than boot_cmdline, more
 * words than kept, or a line that could not be read at all): an option
 * absent may have been given. What guards
 * isolation never takes a looser value then: devmgr.dma absent or auto is
 * strict (iommu, stricter still, only when kept), nvme.ns grants none */
bool cmdline_cut(void);
/* value of key as a number, or def when absent/malformed */
uint64_t cmdline_u64(const char *key, uint64_t def);

/* every option is declared beside the code that reads it, with one line of
 * help: CMDLINE_KEY(nvme_ns, "nvme.ns", "namespace ids granted ..."). The
 * linker gathers section capos_cmdline (linker.ld; on the host, the
 * linker's own rule for C-identifier sections), and cmdline_check() names
 * every word on the command line that no code in this image declared, so
 * a mistyped option (nvme.nss=1) is reported, not silently dropped. */
struct cmdline_key {
	const char *name, *help;
};
#define CMDLINE_KEY(id, nm, hp)                                                \
	static const struct cmdline_key __cmdline_##id                         \
	    __attribute__((used, section("capos_cmdline"), aligned(8))) = {    \
		.name = nm, .help = hp}

/* i-th file (name, data); false past the end */
bool bootfs_at(unsigned i, const char **name, const void **data, size_t *len);
/* files of \capos\ that could not be kept (unreadable, too large, name too
 * long, no memory): a proof that reads boot files fails when this is not
 * 0 */
unsigned bootfs_lost(void);

/* firmware tables */
extern uint64_t boot_rsdp;   /* physical address of the ACPI RSDP, 0 if none */
extern uint64_t boot_smbios; /* SMBIOS entry point (2.x or 3.x), 0 if none */
extern bool boot_smbios3;
extern uint64_t boot_image_base; /* where firmware loaded us */
extern uint64_t boot_stack_top;	 /* the kernel stack (guard page below) */
/* the stack pmm_init and mm_init ran on (a frame address): in the image,
 * off the firmware's stack (kmain) */
extern uint64_t boot_early_sp;

/* boot timeline (TSC values) */
enum boot_mark {
	MARK_EFI_MAIN,
	MARK_EXIT_BOOT_SERVICES,
	MARK_PCI_DONE,
	MARK_DRIVERS_BOUND,
	MARK_COUNT
};
void boot_mark(enum boot_mark m);
extern uint64_t boot_marks[MARK_COUNT];

/* main-loop work (NIC polling, timers): called repeatedly once booted. A
 * poller returns whether it has more to do at once; when all say no, the
 * main loop halts the CPU until an interrupt, at most IDLE_WAIT_US */
void poller_add(bool (*fn)(void));
#define IDLE_WAIT_US 1000
#endif
