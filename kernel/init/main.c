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
#include "kernel/lib/random.h"
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

/* read here in both images: the user image says they need the proof one */
CMDLINE_KEY(run_list, "proofs", "proofs to run: all, or names (proof image)");
CMDLINE_KEY(exit, "exit", "leave QEMU after the proofs (proof image)");
CMDLINE_KEY(fault, "fault", "pagefault or guard: provoke it (proof image)");

/* LAPIC timer ticks in IDLE_WAIT_US, measured against the calibrated
 * clock; 0 when the timer did not count (then the loop never halts) */
static uint32_t idle_ticks(void)
{
	lapic_timer_start(0xffffffffu, false);
	time_delay_us(1000);
	uint32_t per_ms = 0xffffffffu - lapic_timer_left();
	lapic_timer_start(0, false);
	uint64_t t = (uint64_t)per_ms * IDLE_WAIT_US / 1000;
	if (!lapic_timer_start(0, true)) /* no vector: never halt */
		return 0;
	return t > 0 && t < 0xffffffffu ? (uint32_t)t : 0;
}

/* the main loop: run the pollers; when all are idle, halt until an
 * interrupt (a NIC's queue, the LAPIC timer after IDLE_WAIT_US for the
 * pollers' timers) — an idle guest leaves the host's CPU to others */
static __attribute__((noreturn)) void main_loop(void)
{
	uint32_t ticks = idle_ticks();
	kprintf("capOS: up; main loop running (idle: halt, timer %u ticks)\n",
		ticks);
	for (;;) {
		uint64_t seen = cpu_irqs_taken();
		/* the safe point for revocations: no driver is mid-call */
		bool busy = auth_poll() > 0;
		/* then the supervisor: a driver that gave its device up, or
		 * whose owner a DMA fault revoked, restarted when due */
		busy |= devmgr_poll();
		busy |= poller_run_all();
		if (busy || !ticks)
			continue;
		lapic_timer_start(ticks, true);
		cpu_wait_irq(seen);
	}
}

static __attribute__((noreturn)) void kmain_stack(void)
{
	cpu_exit_hook = auth_dump;
	cpu_init();
	cpu_seed_random();
	acpi_init(boot_rsdp);
	time_calibrate();
	random_report();
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
	main_loop();
}

/* the stack pmm_init and mm_init run on. The firmware's stack, which
 * efi_main ran on, is boot-services memory that only the firmware's word
 * keeps from the page allocator: a map that calls it conventional had
 * page_alloc hand it out, and zero it, under the running kernel. This one
 * is in this image (.bss), which pmm_init never makes free. */
static uint8_t boot_stack[16384] __attribute__((aligned(16)));

static __attribute__((noreturn)) void stack_switch(uint64_t top,
						   void (*fn)(void))
{
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%1" ::"r"(top),
			 "r"(fn)
			 : "memory");
	__builtin_unreachable();
}

static __attribute__((noreturn)) void kmain_mm(void)
{
	boot_early_sp = (uint64_t)__builtin_frame_address(0);
	pmm_init();
	mm_init();
	/* then to a stack with a guard page under it */
	boot_stack_top = mm_stack_alloc(KSTACK_PAGES);
	stack_switch(boot_stack_top, kmain_stack);
}

void kmain(void)
{
	/* off the firmware's stack before the page allocator exists */
	stack_switch((uint64_t)boot_stack + sizeof(boot_stack), kmain_mm);
}
