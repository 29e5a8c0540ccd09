/* kernel/cpu/lapic.c — the local APIC (Intel SDM vol. 3A ch. 11) in the
 * mode firmware left it: xAPIC through its MMIO page, or x2APIC (§11.12,
 * IA32_APIC_BASE.EXTD) through MSRs 0x800 + offset / 16 — firmware on
 * many-core and cloud machines hands over in x2APIC mode, where MMIO
 * writes do nothing. Enabled with a spurious vector, legacy 8259s and
 * every I/O APIC entry masked (kernel/cpu/ioapic.c), every LVT masked
 * (devices interrupt through MSI/MSI-X only). The timer,
 * one-shot, bounds the main loop's halt (kernel/init/main.c). */
#include "kernel/acpi/acpi.h"
#include "kernel/cpu/cpu.h"
#include "kernel/lib/io.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"

#define MSR_APIC_BASE	  0x1b
#define APIC_BASE_EN	  (1ull << 11)
#define APIC_BASE_EXTD	  (1ull << 10) /* x2APIC mode */
#define MSR_X2APIC	  0x800	       /* + xAPIC offset / 16 */
#define LAPIC_ID	  0x020
#define LAPIC_TPR	  0x080
#define LAPIC_EOI	  0x0b0
#define LAPIC_SVR	  0x0f0
#define LAPIC_SVR_ENABLE  0x100
#define LAPIC_LVT_TIMER	  0x320
#define LAPIC_LVT_LINT0	  0x350
#define LAPIC_LVT_LINT1	  0x360
#define LAPIC_LVT_ERROR	  0x370
#define LAPIC_LVT_MASK	  0x10000
#define LAPIC_TIMER_ICR	  0x380
#define LAPIC_TIMER_CCR	  0x390
#define LAPIC_TIMER_DCR	  0x3e0
#define LAPIC_TIMER_DIV16 0x3
#define SPURIOUS_VECTOR	  0xff

#ifdef CAPOS_HOST
/* the host test (tests/host/cpu) plays the MSRs and the 8259 ports */
uint64_t lapic_host_rdmsr(uint32_t m);
void lapic_host_wrmsr(uint32_t m, uint64_t v);
void lapic_host_outb(uint16_t p, uint8_t v);
#define rdmsr(m)    lapic_host_rdmsr(m)
#define wrmsr(m, v) lapic_host_wrmsr(m, v)
#define outb(p, v)  lapic_host_outb(p, v)
#endif

static volatile uint32_t *lapic;
static bool x2apic;

static void lapic_w(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(MSR_X2APIC + reg / 16, v);
	else
		lapic[reg / 4] = v;
}
static uint32_t lapic_r(uint32_t reg)
{
	return x2apic ? (uint32_t)rdmsr(MSR_X2APIC + reg / 16) : lapic[reg / 4];
}

void lapic_init(void)
{
	/* mask both 8259 PICs and every I/O APIC entry: devices interrupt
	 * through MSI/MSI-X only */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	ioapic_mask_all();
	uint64_t base = rdmsr(MSR_APIC_BASE);
	/* the page the CPU decodes, whatever the MADT says, is kept off
	 * PCI BARs (in x2APIC mode too, as the MADT's is) */
	acpi_platform_lapic(base & ~0xfffull);
	x2apic = (base & (APIC_BASE_EN | APIC_BASE_EXTD)) ==
		 (APIC_BASE_EN | APIC_BASE_EXTD);
	if (!x2apic) {
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
		lapic = mm_map_mmio(base & ~0xffful, 4096);
		if (!lapic) /* e.g. moved over RAM: no interrupts without it */
			panic("lapic: registers at 0x%lx cannot be mapped",
			      base & ~0xffful);
	}
	lapic_w(LAPIC_TPR, 0);
	lapic_w(LAPIC_LVT_TIMER, LAPIC_LVT_MASK);
	lapic_w(LAPIC_LVT_LINT0, LAPIC_LVT_MASK);
	lapic_w(LAPIC_LVT_LINT1, LAPIC_LVT_MASK);
	lapic_w(LAPIC_LVT_ERROR, LAPIC_LVT_MASK);
	lapic_w(LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	if (x2apic)
		kprintf("cpu: LAPIC id %u, x2APIC mode (MSRs)\n", lapic_id());
	else
		kprintf("cpu: LAPIC id %u at 0x%lx\n", lapic_id(),
			base & ~0xffful);
	/* MSI addresses and remapping entries carry an 8-bit destination */
	if (lapic_id() > 255)
		kprintf("cpu: LAPIC id %u is above 255; MSIs cannot reach it "
			"(not supported)\n",
			lapic_id());
}

/* the timer interrupt only ends a halt (cpu_wait_irq) */
static void lapic_timer_fire(void *arg)
{
	(void)arg;
}

bool lapic_timer_start(uint32_t count, bool irq)
{
	static uint8_t vector;
	if (irq && !vector)
		vector = vector_alloc(lapic_timer_fire, NULL);
	/* one-shot mode (LVT bits 17-18 clear), bus clock / 16 */
	lapic_w(LAPIC_LVT_TIMER, irq && vector ? vector : LAPIC_LVT_MASK);
	lapic_w(LAPIC_TIMER_DCR, LAPIC_TIMER_DIV16);
	lapic_w(LAPIC_TIMER_ICR, count);
	return irq && vector;
}

uint32_t lapic_timer_left(void)
{
	return lapic_r(LAPIC_TIMER_CCR);
}

void lapic_eoi(void)
{
	lapic_w(LAPIC_EOI, 0);
}
uint32_t lapic_id(void)
{
	/* x2APIC: the whole register is the 32-bit id (§11.12.5.1) */
	return x2apic ? lapic_r(LAPIC_ID) : lapic_r(LAPIC_ID) >> 24;
}
