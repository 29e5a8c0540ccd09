/* tests/host/cpu/test_lapic.c — lapic.c drives the local APIC in the mode
 * firmware handed over: the xAPIC page, or x2APIC's MSRs (0x800 + offset /
 * 16, SDM vol. 3A §11.12.1), where a write to the page would be lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

void *mm_map_mmio(uint64_t phys, size_t len)
{
	(void)phys;
	(void)len;
	mapped++;
	return page;
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

uint8_t vector_alloc(void (*handler)(void *), void *arg)
{
	(void)handler;
	(void)arg;
	return 0x40;
}

void kprintf(const char *fmt, ...)
{
	(void)fmt;
}

void panic(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

static int setup(void **st)
{
	(void)st;
	memset(x2, 0, sizeof(x2));
	memset(page, 0, sizeof(page));
	mapped = bad_msr = ioapic_calls = 0;
	platform_lapic = 0;
	return 0;
}

static void test_xapic_through_the_page(void **st)
{
	(void)st;
	msr_base = 0xfed40000ull | 1ull << 11 | 1ull << 8; /* EN, BSP */
	page[0x20 / 4] = 3u << 24;
	lapic_init();
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
	lapic_init();
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_xapic_through_the_page, setup),
	    cmocka_unit_test_setup(test_x2apic_through_msrs, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
