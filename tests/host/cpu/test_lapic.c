/* tests/host/cpu/test_lapic.c — lapic.c drives the local APIC in the mode
 * firmware handed over: the xAPIC page, or x2APIC's MSRs (0x800 + offset /
 * 16, SDM vol. 3A §11.12.1), where a write to the page would be lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/cpu/cpu.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"

static uint64_t msr_base;   /* IA32_APIC_BASE */
static uint64_t x2[256];    /* MSRs 0x800-0x8ff */
static uint32_t page[1024]; /* the xAPIC MMIO page */
static unsigned mapped, bad_msr;

uint64_t lapic_host_rdmsr(uint32_t m)
{
	if (m == 0x1b)
		return msr_base;
	if (m >= 0x800 && m < 0x900)
		return x2[m - 0x800];
	bad_msr++;
	return 0;
}

void lapic_host_wrmsr(uint32_t m, uint64_t v)
{
	if (m == 0x1b)
		msr_base = v;
	else if (m >= 0x800 && m < 0x900)
		x2[m - 0x800] = v;
	else
		bad_msr++;
}

/* the 8259s' data ports, 0x21 and 0xa1 (OCW1, the interrupt mask) */
static int pic_mask[2];
void lapic_host_outb(uint16_t p, uint8_t v)
{
	if (p == 0x21)
		pic_mask[0] = v;
	else if (p == 0xa1)
		pic_mask[1] = v;
	else
		bad_msr++;
}

static bool map_refused; /* the page is RAM, or past 2^47 */
void *mm_map_mmio(uint64_t phys, size_t len)
{
	(void)phys;
	(void)len;
	mapped++;
	return map_refused ? NULL : page;
}

/* the I/O APICs (kernel/cpu/ioapic.c) are tested in foundation_test, over
 * a MADT acpi_init parses */
static unsigned ioapic_calls;
void ioapic_mask_all(void)
{
	ioapic_calls++;
}

/* the base lapic_init reports for acpi_platform (kernel/acpi keeps PCI
 * BARs off it; tested in foundation_test) */
static uint64_t platform_lapic;
void acpi_platform_lapic(uint64_t base)
{
	platform_lapic = base;
}

/* the CPU's vectors (kernel/cpu/cpu.c): 0x40, or none free (0) */
static unsigned vector_allocs;
static uint8_t vector_free_one = 0x40;
uint8_t vector_alloc(void (*handler)(void *), void *arg)
{
	(void)handler;
	(void)arg;
	vector_allocs++;
	return vector_free_one;
}

static char lines[4][160]; /* the last lines said */
static unsigned nlines;
void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(lines[nlines++ % 4], sizeof(lines[0]), fmt, ap);
	va_end(ap);
}

static jmp_buf panicked;
static char panic_line[160];
void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(panic_line, sizeof(panic_line), fmt, ap);
	va_end(ap);
	longjmp(panicked, 1);
}

static int setup(void **st)
{
	(void)st;
	memset(x2, 0, sizeof(x2));
	memset(page, 0, sizeof(page));
	mapped = bad_msr = ioapic_calls = nlines = 0;
	platform_lapic = 0;
	pic_mask[0] = pic_mask[1] = -1;
	map_refused = false;
	vector_free_one = 0x40;
	return 0;
}

static void test_xapic_through_the_page(void **st)
{
	(void)st;
	msr_base = 0xfed40000ull | 1ull << 11 | 1ull << 8; /* EN, BSP */
	page[0x20 / 4] = 3u << 24;
	page[0x80 / 4] = 0xff;	 /* TPR: firmware left every class blocked */
	page[0x360 / 4] = 0x700; /* LINT1: NMI, unmasked */
	lapic_init();
	assert_int_equal(page[0x80 / 4], 0); /* §11.8.3.1: nothing blocked */
	assert_int_equal(page[0x320 / 4], 0x10000); /* every LVT masked */
	assert_int_equal(page[0x350 / 4], 0x10000);
	assert_int_equal(page[0x360 / 4], 0x10000);
	assert_int_equal(page[0x370 / 4], 0x10000);
	/* both 8259s masked whole (OCW1): devices interrupt by MSI only */
	assert_int_equal(pic_mask[0], 0xff);
	assert_int_equal(pic_mask[1], 0xff);
	assert_int_equal(nlines, 1);
	assert_string_equal(lines[0], "cpu: LAPIC id 3 at 0xfed40000\n");
	/* the page the CPU decodes, moved off the MADT's usual 0xfee00000,
	 * is what the BAR check is told about */
	assert_int_equal(platform_lapic, 0xfed40000);
	assert_int_equal(ioapic_calls, 1); /* the I/O APICs masked too */
	assert_int_equal(mapped, 1);
	assert_int_equal(page[0xf0 / 4], 0x1ff); /* SVR: enable, vector */
	assert_int_equal(x2[0x0f], 0);
	assert_int_equal(lapic_id(), 3);
	assert_true(lapic_timer_start(1000, true));
	assert_int_equal(page[0x320 / 4], 0x40);
	assert_int_equal(page[0x380 / 4], 1000);
	page[0xb0 / 4] = 1;
	lapic_eoi();
	assert_int_equal(page[0xb0 / 4], 0);
	assert_int_equal(bad_msr, 0);
}

/* x2APIC left on by firmware: every register through its MSR, the id the
 * whole 32-bit register, and the page never mapped */
static void test_x2apic_through_msrs(void **st)
{
	(void)st;
	msr_base = 0xfee00000ull | 1ull << 11 | 1ull << 10; /* EN, EXTD */
	x2[0x02] = 7;
	x2[0x08] = 0xff; /* TPR */
	lapic_init();
	assert_int_equal(x2[0x08], 0);
	assert_int_equal(x2[0x36], 0x10000); /* LINT1 */
	assert_int_equal(pic_mask[0], 0xff);
	assert_int_equal(pic_mask[1], 0xff);
	assert_int_equal(msr_base, 0xfee00000ull | 1ull << 11 | 1ull << 10);
	assert_int_equal(nlines, 1);
	assert_string_equal(lines[0], "cpu: LAPIC id 7, x2APIC mode (MSRs)\n");
	assert_int_equal(platform_lapic, 0xfee00000);
	assert_int_equal(ioapic_calls, 1);
	assert_int_equal(mapped, 0);
	assert_int_equal(x2[0x0f], 0x1ff);   /* SVR */
	assert_int_equal(x2[0x32], 0x10000); /* LVT timer masked */
	assert_int_equal(x2[0x35], 0x10000); /* LINT0 */
	assert_int_equal(x2[0x37], 0x10000); /* error */
	assert_int_equal(lapic_id(), 7);
	assert_true(lapic_timer_start(5000, true));
	assert_int_equal(x2[0x32], 0x40);
	assert_int_equal(x2[0x3e], 0x3); /* divide by 16 */
	assert_int_equal(x2[0x38], 5000);
	x2[0x39] = 1234;
	assert_int_equal(lapic_timer_left(), 1234);
	x2[0x0b] = 1;
	lapic_eoi();
	assert_int_equal(x2[0x0b], 0);
	assert_int_equal(bad_msr, 0);
	for (unsigned i = 0; i < 1024; i++)
		assert_int_equal(page[i], 0);
}

/* firmware that left the APIC globally disabled (IA32_APIC_BASE.EN clear,
 * SDM vol. 3A §11.4.3): xAPIC mode, and EN is set with the base kept */
static void test_apic_disabled_by_firmware_enabled(void **st)
{
	(void)st;
	msr_base = 0xfee00000ull; /* EN clear, EXTD clear */
	lapic_init();
	assert_int_equal(msr_base, 0xfee00000ull | 1ull << 11);
	assert_int_equal(mapped, 1);
	assert_int_equal(page[0xf0 / 4], 0x1ff);
	assert_int_equal(x2[0x0f], 0);
}

/* an xAPIC page kernel/mm will not map (moved over RAM, past 2^47): no
 * interrupt can be taken or acknowledged, so the kernel stops, naming it,
 * before writing through a NULL page */
static void test_xapic_page_unmappable_panics(void **st)
{
	(void)st;
	msr_base = 0x7f000000ull | 1ull << 11;
	map_refused = true;
	if (!setjmp(panicked)) {
		lapic_init();
		fail_msg("lapic_init went on without its registers");
	}
	assert_string_equal(panic_line,
			    "lapic: registers at 0x7f000000 cannot be mapped");
}

/* MSI addresses and remapping entries carry an 8-bit destination (docs/
 * pci.md): an x2APIC id above 255 is said once, 255 is not */
static void test_x2apic_id_above_255_said(void **st)
{
	(void)st;
	msr_base = 0xfee00000ull | 1ull << 11 | 1ull << 10;
	x2[0x02] = 255;
	lapic_init();
	assert_int_equal(nlines, 1);
	setup(NULL);
	x2[0x02] = 256;
	lapic_init();
	assert_int_equal(nlines, 2);
	assert_string_equal(lines[1], "cpu: LAPIC id 256 is above 255; MSIs "
				      "cannot reach it (not supported)\n");
}

/* the one-shot timer (SDM §11.5.4): its vector is allocated once, on the
 * first start that wants an interrupt; a start without one (or with no
 * vector free) leaves the LVT masked and says it will not interrupt.
 * The vector is lapic.c's for the process: this case runs first */
static void test_timer_vector_once_and_masked_without_irq(void **st)
{
	(void)st;
	msr_base = 0xfee00000ull | 1ull << 11 | 1ull << 10;
	lapic_init();
	vector_allocs = 0;
	vector_free_one = 0; /* none free yet */
	assert_false(lapic_timer_start(100, true));
	assert_int_equal(x2[0x32], 0x10000);
	assert_int_equal(x2[0x38], 100); /* counting all the same */
	vector_free_one = 0x40;
	assert_false(lapic_timer_start(200, false));
	assert_int_equal(vector_allocs, 1); /* none asked for */
	assert_int_equal(x2[0x32], 0x10000);
	assert_true(lapic_timer_start(300, true));
	assert_int_equal(vector_allocs, 2);
	assert_int_equal(x2[0x32], 0x40);
	assert_true(lapic_timer_start(400, true));
	assert_int_equal(vector_allocs, 2); /* kept */
	assert_false(lapic_timer_start(500, false));
	assert_int_equal(x2[0x32], 0x10000);
	assert_int_equal(x2[0x38], 500);
	assert_int_equal(vector_allocs, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* first: lapic_timer_start keeps its vector for the process */
	    cmocka_unit_test_setup(
		test_timer_vector_once_and_masked_without_irq, setup),
	    cmocka_unit_test_setup(test_xapic_through_the_page, setup),
	    cmocka_unit_test_setup(test_x2apic_through_msrs, setup),
	    cmocka_unit_test_setup(test_apic_disabled_by_firmware_enabled,
				   setup),
	    cmocka_unit_test_setup(test_xapic_page_unmappable_panics, setup),
	    cmocka_unit_test_setup(test_x2apic_id_above_255_said, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
