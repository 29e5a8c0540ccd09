/* kernel/cpu/cpu.h — GDT/IDT, exceptions, LAPIC, interrupt vectors */
#ifndef CAPOS_CPU_H
#define CAPOS_CPU_H
#include <stdbool.h>
#include <stdint.h>

void cpu_init(void); /* GDT, TSS (with IST stacks), IDT */
/* RDSEED, else RDRAND, into kernel/lib/random.h when CPUID offers them */
void cpu_seed_random(void);
/* the local APIC; the 8259s and every I/O APIC entry masked first */
void lapic_init(void);
/* every redirection entry of the MADT's I/O APICs masked, one line each
 * (after acpi_init; lapic_init calls it) */
void ioapic_mask_all(void);
void lapic_eoi(void);
uint32_t lapic_id(void);
void irq_enable(void);
/* the LAPIC timer, one-shot, counting bus clock / 16 down from count (0
 * stops it); with irq its expiry interrupts (and so ends a halt). False
 * when no interrupt will come (masked, or no vector was free) */
bool lapic_timer_start(uint32_t count, bool irq);
uint32_t lapic_timer_left(void);
/* interrupts handled so far; cpu_wait_irq halts until the next one unless
 * one came since `seen` was read (checked with interrupts off, then
 * sti; hlt: no wake-up is lost between the check and the halt) */
uint64_t cpu_irqs_taken(void);
void cpu_wait_irq(uint64_t seen);

/* interrupts off on this CPU, the RFLAGS before returned for
 * cpu_irq_restore, which turns them on again only if they were on (so the
 * pair nests inside a handler). A host build (CAPOS_HOST) may not run cli:
 * there the pair keeps cpu_host_irqs_off, so host tests see whether the
 * kernel would have had interrupts off */
#ifndef CAPOS_HOST
static inline uint64_t cpu_irq_save(void)
{
	uint64_t flags;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory");
	return flags;
}
static inline void cpu_irq_restore(uint64_t flags)
{
	if (flags & (1u << 9)) /* RFLAGS.IF */
		__asm__ volatile("sti" ::: "memory");
}
#else
__attribute__((weak)) bool cpu_host_irqs_off;
static inline uint64_t cpu_irq_save(void)
{
	uint64_t was = cpu_host_irqs_off;
	cpu_host_irqs_off = true;
	return was;
}
static inline void cpu_irq_restore(uint64_t flags)
{
	cpu_host_irqs_off = flags;
}
#endif

/* interrupt handlers running now on this CPU: isr_dispatch counts one up
 * around the handler's call, and nothing more (a host test sets it to play
 * an interrupt). What must never run inside a handler asks it
 * (auth_in_interrupt, kernel/authority) */
__attribute__((weak)) unsigned cpu_isr_depth;

/* a free CPU vector with handler(arg), or 0 when none is left */
uint8_t vector_alloc(void (*handler)(void *), void *arg);
void vector_free(uint8_t v);
/* v is never given out again and its handler is gone: an interrupt on it
 * is counted as on an unbound vector. For a vector a device may still
 * signal through a remapping entry the unit did not confirm it dropped
 * from its cache (kernel/authority/irq.c): handed to another owner, that
 * device's interrupts would run the other owner's handler */
void vector_withhold(uint8_t v);

/* leave QEMU through isa-debug-exit (status 33 pass, 35 fail); halts
 * forever when there is no such device */
__attribute__((noreturn)) void cpu_exit(bool pass);
/* called once by cpu_exit before it leaves (the kernel prints its refusal
 * counters there, whatever the way out) */
extern void (*cpu_exit_hook)(void);
/* print a frame-pointer backtrace starting at rbp, addresses as image
 * offsets the host symbolises with addr2line on build/capos.elf */
void cpu_backtrace(uint64_t rbp, uint64_t rip);
#endif
