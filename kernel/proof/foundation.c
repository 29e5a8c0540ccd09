/* kernel/proof/foundation.c — proofs of the foundation: the boot itself, the
 * page-table permissions, and faults provoked on purpose. */
#include "kernel/acpi/acpi.h"
#include "kernel/boot/boot.h"
#include "kernel/lib/io.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

#define KSTACK_GUARD_OFFSET (33 * PAGE_SIZE) /* KSTACK_PAGES + 1 below top */

static void proof_boot(void)
{
	struct pmm_stats s;
	pmm_stats(&s);
	bool ok = acpi_necam > 0 && pci_ndevs > 0 && time_tsc_hz() > 1000000 &&
		  boot_marks[MARK_DRIVERS_BOUND] > boot_marks[MARK_EFI_MAIN];
	uint64_t hz = time_tsc_hz();
	proof_result(
	    "boot", ok,
	    "ecam=%u pci_functions=%u tsc_khz=%lu bound_ms=%lu "
	    "peak_pages=%lu",
	    acpi_necam, pci_ndevs, hz / 1000,
	    (boot_marks[MARK_DRIVERS_BOUND] - boot_marks[MARK_EFI_MAIN]) *
		1000 / hz,
	    s.peak);
}
PROOF_REGISTER("boot", proof_boot, 0);

/* the kernel's own mappings have the permissions kernel/mm promises */
static void proof_mm(void)
{
	extern char __text_start[], __rodata_start[], __data_start[],
	    __image_end[];
	uint64_t text = mm_pte((uint64_t)__text_start);
	uint64_t ro = mm_pte((uint64_t)__rodata_start);
	uint64_t data = mm_pte((uint64_t)__data_start);
	uint64_t stack = mm_pte(boot_stack_top - PAGE_SIZE);
	uint64_t guard = mm_pte(boot_stack_top - KSTACK_GUARD_OFFSET);
	uint64_t null = mm_pte(0);
	bool t_ok = text && !(text & MM_PTE_RW) && !(text & MM_PTE_NX);
	bool r_ok = ro && !(ro & MM_PTE_RW) && (ro & MM_PTE_NX);
	bool d_ok = data && (data & MM_PTE_RW) && (data & MM_PTE_NX);
	bool s_ok = stack && (stack & MM_PTE_NX) && !guard;
	/* pmm_init ran on a stack in the image, not the firmware's */
	bool e_ok = boot_early_sp > boot_image_base &&
		    boot_early_sp <= (uint64_t)__image_end;
	/* the PAT mm_init wrote: WB, WT, UC-, UC twice (PCD|PWT: uncached) */
	uint64_t pat = rdmsr(0x277);
	bool p_ok = pat == 0x0007040600070406ull;
	proof_result(
	    "mm", t_ok && r_ok && d_ok && s_ok && !null && e_ok && p_ok,
	    "text=%s rodata=%s data=%s stack=%s guard=%s null=%s "
	    "early_stack=%s pat=0x%lx",
	    t_ok ? "RX" : "BAD", r_ok ? "R+NX" : "BAD", d_ok ? "RW+NX" : "BAD",
	    s_ok ? "RW+NX" : "BAD", guard ? "MAPPED" : "unmapped",
	    null ? "MAPPED" : "unmapped", e_ok ? "image" : "FIRMWARE", pat);
}
PROOF_REGISTER("mm", proof_mm, 1);

/* noinline so the backtrace names them */
__attribute__((noinline)) void proof_fault_trigger(void)
{
	kprintf("proof: reading through a NULL pointer on purpose\n");
	/* laundered through asm so the compiler cannot see the constant */
	uint64_t addr = 8;
	__asm__ volatile("" : "+r"(addr));
	(void)*(volatile uint64_t *)addr;
}

__attribute__((noinline)) static uint64_t proof_fault_recurse(uint64_t n)
{
	volatile uint8_t pad[512];
	pad[0] = (uint8_t)n;
	/* the guard page stops this long before the limit */
	if (n > (1u << 20))
		return pad[0];
	return proof_fault_recurse(n + 1) + pad[0];
}

void proof_fault(const char *kind)
{
	if (!strcmp(kind, "pagefault"))
		proof_fault_trigger();
	else if (!strcmp(kind, "guard")) {
		kprintf("proof: overflowing the kernel stack on purpose\n");
		proof_fault_recurse(0);
	} else
		kprintf("proof: unknown fault kind '%s' (pagefault, guard)\n",
			kind);
}
