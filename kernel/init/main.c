/* kernel/init/main.c — from ExitBootServices to the steady state: memory,
 * CPU tables, ACPI, clock, interrupts, PCI, drivers, proofs, then the main
 * loop. */
#include "kernel/acpi/acpi.h"
#include "kernel/authority/authority.h"
#include "kernel/boot/boot.h"
#include "kernel/boot/boot_internal.h"
#include "kernel/cpu/cpu.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/init/init.h"
#include "kernel/iommu/iommu.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#ifdef CAPOS_PROOFS
#include "kernel/proof/proof.h"
#endif
#include "kernel/time/time.h"

#define KSTACK_PAGES 32

static uint64_t mark_ms(enum boot_mark m)
{
	return (boot_marks[m] - boot_marks[MARK_EFI_MAIN]) * 1000 /
	       time_tsc_hz();
}

static void boot_timeline(void)
{
	extern char __image_base[], __image_end[];
	struct pmm_stats s;
	pmm_stats(&s);
	kprintf("BENCH boot ebs_ms=%lu pci_ms=%lu bound_ms=%lu image_bytes=%lu "
		"peak_pages=%lu\n",
		mark_ms(MARK_EXIT_BOOT_SERVICES), mark_ms(MARK_PCI_DONE),
		mark_ms(MARK_DRIVERS_BOUND),
		(uint64_t)(__image_end - __image_base), s.peak);
}

static __attribute__((noreturn)) void kmain_stack(void)
{
	cpu_exit_hook = auth_dump;
	cpu_init();
	acpi_init(boot_rsdp);
	time_calibrate();
	lapic_init();
	cmdline_check();
	pci_init();
	iommu_init(); /* before any driver can set bus mastering */
	boot_mark(MARK_PCI_DONE);
	irq_enable();
	devmgr_bind_all();
	boot_mark(MARK_DRIVERS_BOUND);
	boot_timeline();
#ifdef CAPOS_PROOFS
	proofs_run();
	if (cmdline_get("fault"))
		proof_fault(cmdline_get("fault"));
	if (!cmdline_get("exit"))
		auth_dump(); /* with exit, cpu_exit prints them */
	proof_finish();
#else
	/* the user image carries no proofs (kernel/proof is linked only into
	 * the proof image, make PROOFS=1) */
	if (cmdline_get("proofs") || cmdline_get("fault") ||
	    cmdline_get("exit"))
		kprintf("capOS: proofs=, fault= and exit need the proof image "
			"(make PROOFS=1); ignored\n");
	auth_dump();
#endif
	kprintf("capOS: up; main loop running\n");
	for (;;) {
		/* the safe point for revocations: no driver is mid-call */
		auth_poll();
		poller_run_all();
		if (!poller_count())
			__asm__ volatile("hlt");
	}
}

void kmain(void)
{
	pmm_init();
	mm_init();
	/* leave the firmware's stack for one with a guard page under it */
	uint64_t top = mm_stack_alloc(KSTACK_PAGES);
	boot_stack_top = top;
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%1" ::"r"(top),
			 "r"(kmain_stack)
			 : "memory");
	__builtin_unreachable();
}
