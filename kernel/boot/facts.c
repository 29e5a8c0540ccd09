/* kernel/boot/facts.c — the boot facts (kernel/boot/boot.h): what firmware
 * handed over, the boot timeline, and the main loop's pollers. Plain data,
 * filled in by kernel/init and read by every layer; this folder includes
 * nothing of the kernel but kernel/lib. */
#include "kernel/boot/boot.h"
#include "kernel/boot/boot_internal.h"
#include "kernel/lib/lib.h"

#define MAX_POLLERS 8

uint64_t boot_rsdp, boot_smbios, boot_image_base, boot_stack_top, boot_early_sp;
bool boot_smbios3;
struct boot_memmap boot_mmap;
uint64_t boot_marks[MARK_COUNT];

static bool (*pollers[MAX_POLLERS])(void); /* each: more work waits */
static unsigned npollers;

void boot_mark(enum boot_mark m)
{
	boot_marks[m] = __builtin_ia32_rdtsc();
}

void poller_add(bool (*fn)(void))
{
	if (npollers == MAX_POLLERS)
		panic("boot: more than %d pollers", MAX_POLLERS);
	pollers[npollers++] = fn;
}

bool poller_run_all(void)
{
	bool busy = false;
	for (unsigned i = 0; i < npollers; i++)
		busy |= pollers[i]();
	return busy;
}
