/* tests/host/time/test_tsc.c — time_calibrate (kernel/time/tsc.c) over an
 * HPET modelled in host memory (IA-PC HPET spec §2.3: capabilities at 0,
 * configuration at 0x10, main counter at 0xf0). The TSC is the host's own
 * (RDTSC runs in user mode). Only the HPET path runs here: the PM timer is
 * an I/O port. Each case runs under an alarm, so a calibration that never
 * ends fails instead of hanging the suite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/acpi/acpi.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/time/time.h"

/* what tsc.c takes from the rest of the kernel */
uint16_t acpi_pm_timer_port;
uint64_t acpi_hpet_base;

void kprintf(const char *fmt, ...)
{
	(void)fmt;
}

void panic(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

void *mm_map_mmio(uint64_t phys, size_t len)
{
	return len && phys + len >= phys ? (void *)(uintptr_t)phys : NULL;
}

static uint64_t hpet[0x100 / 8];

static void hpet_model(uint64_t period_fs)
{
	memset(hpet, 0, sizeof(hpet));
	hpet[0] = period_fs << 32;
	acpi_pm_timer_port = 0;
	acpi_hpet_base = (uint64_t)(uintptr_t)hpet;
}

/* an HPET whose main counter never moves (not enabled, or not there and
 * the firmware says otherwise): calibration gives up within seconds and
 * keeps its 1 GHz assumption */
static void test_tsc_stuck_hpet_gives_up(void **st)
{
	hpet_model(10000000); /* 10 ns: a 100 MHz counter */
	alarm(30);
	assert_int_equal(time_calibrate(), -1);
	alarm(0);
	assert_int_equal(time_tsc_hz(), 1000000000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tsc_stuck_hpet_gives_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
