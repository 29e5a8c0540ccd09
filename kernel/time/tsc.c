/* kernel/time/tsc.c — a monotonic clock from the TSC, calibrated once
 * against the ACPI PM timer (3.579545 MHz, ACPI 6.5 §4.8.3.3) or, without
 * one, the HPET main counter (IA-PC HPET spec §2.3.7). */
#include "kernel/acpi/acpi.h"
#include "kernel/lib/io.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/random.h"
#include "kernel/mm/mm.h"
#include "kernel/time/time.h"

#define PM_TIMER_HZ	  3579545ull
#define HPET_CAP	  0x000
#define HPET_CFG	  0x010
#define HPET_COUNTER	  0x0f0
#define HPET_CFG_ENABLE	  1ull
#define HPET_CAP_COUNT_64 (1ull << 13) /* COUNT_SIZE_CAP, §2.3.4 */
/* what a TSC can be: below the lower bound a reference clock that jumped
 * made the measurement, and time_now_ns's arithmetic needs a rate
 * under 18 GHz */
#define TSC_HZ_MIN 100000000ul	 /* 100 MHz */
#define TSC_HZ_MAX 16000000000ul /* 16 GHz */
/* a 20 ms calibration still unfinished after this many TSC cycles (1.7 s
 * at 5 GHz, 8.6 s at 1 GHz) has a reference clock that does not run */
#define CALIBRATE_GIVE_UP (1ull << 33)

static uint64_t tsc_hz = 1000000000ull; /* until calibrated */

uint64_t time_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

uint64_t time_tsc_hz(void)
{
	return tsc_hz;
}

/* ticks of the reference clock, its frequency, and its width mask */
static uint64_t ref_read(int src, volatile uint64_t *hpet)
{
	return src == 1 ? inl(acpi_pm_timer_port) : hpet[HPET_COUNTER / 8];
}

int time_calibrate(void)
{
	volatile uint64_t *hpet = NULL;
	uint64_t ref_hz, mask;
	int src;
	if (acpi_pm_timer_port) {
		src = 1;
		ref_hz = PM_TIMER_HZ;
		/* 24 bits are always implemented; the FADT's TMR_VAL_EXT
		 * (32 bits) is not read, as Linux's ACPI_PM_MASK does not:
		 * 20 ms is 71591 ticks of the 2^24 (docs/acpi.md) */
		mask = 0xffffff;
	} else if (acpi_hpet_base) {
		src = 2;
		hpet = mm_map_mmio(acpi_hpet_base, 4096);
		if (!hpet) {
			kprintf("time: HPET at 0x%lx cannot be mapped; TSC "
				"assumed 1 GHz\n",
				acpi_hpet_base);
			return -1;
		}
		uint64_t period_fs = hpet[HPET_CAP / 8] >> 32;
		/* the spec's bound is 100 ns (a 10 MHz counter); one
		 * faster than 1 GHz is no HPET anyone built */
		if (period_fs < 1000000ull || period_fs > 100000000ull) {
			kprintf(
			    "time: HPET at 0x%lx reports a period of %lu fs, "
			    "outside 1000000-100000000; TSC assumed 1 "
			    "GHz\n",
			    acpi_hpet_base, period_fs);
			return -1;
		}
		ref_hz = 1000000000000000ull / period_fs;
		/* a 32-bit main counter wraps every 2^32 ticks (300 s at
		 * 14.3 MHz): a calibration across the wrap must count the
		 * ticks modulo 2^32, not as a step back of 2^64 - n */
		mask = hpet[HPET_CAP / 8] & HPET_CAP_COUNT_64 ? ~0ull
							      : 0xffffffffull;
		hpet[HPET_CFG / 8] |= HPET_CFG_ENABLE;
	} else {
		kprintf("time: no PM timer and no HPET; TSC assumed 1 GHz\n");
		return -1;
	}
	/* 20 ms of the reference clock */
	uint64_t want = ref_hz / 50, r0 = ref_read(src, hpet), t0 = time_tsc();
	uint64_t r1, t1, rprev = r0, jitter = 0;
	for (;;) {
		r1 = ref_read(src, hpet);
		t1 = time_tsc();
		/* where the TSC stands at each tick of the other clock: its
		 * low bits are timing noise (interrupts, the bus, a host's
		 * scheduler), the kernel's weakest entropy source */
		if (r1 != rprev) {
			jitter = (jitter ^ t1) * 0x9e3779b97f4a7c15ull;
			jitter ^= jitter >> 29;
			rprev = r1;
		}
		if (((r1 - r0) & mask) >= want)
			break;
		/* firmware may name a clock that does not run (a PM timer
		 * port nothing answers, an HPET that stays disabled): give
		 * up after seconds of any plausible TSC rather than hang */
		if (t1 - t0 > CALIBRATE_GIVE_UP) {
			kprintf("time: %s advanced %lu of %lu ticks in 2^33 "
				"TSC cycles; not running, TSC assumed 1 GHz\n",
				src == 1 ? "ACPI PM timer" : "HPET",
				(r1 - r0) & mask, want);
			return -1;
		}
	}
	random_add("tsc-jitter", &jitter, sizeof(jitter), false);
	/* ref_hz < 2^30; scaled so the product stays below 2^63 even when
	 * the vCPU stalled for seconds mid-measurement */
	uint64_t dt = t1 - t0, ticks = (r1 - r0) & mask;
	while (dt >= 1ull << 33) {
		dt >>= 1;
		ticks >>= 1;
	}
	uint64_t hz = ticks ? dt * ref_hz / ticks : 0;
	if (hz < TSC_HZ_MIN || hz > TSC_HZ_MAX) {
		/* a counter that jumped (or crawled) mid-measurement: a rate
		 * of 0 would divide by zero in time_now_ns */
		kprintf("time: %s gave a TSC rate of %lu kHz, outside %lu-%lu "
			"kHz; not believed, TSC assumed 1 GHz\n",
			src == 1 ? "ACPI PM timer" : "HPET", hz / 1000,
			TSC_HZ_MIN / 1000, TSC_HZ_MAX / 1000);
		return -1;
	}
	tsc_hz = hz;
	kprintf("time: TSC %lu kHz (calibrated against %s)\n", tsc_hz / 1000,
		src == 1 ? "ACPI PM timer" : "HPET");
	return 0;
}

uint64_t time_now_ns(void)
{
	/* split so nothing overflows 64 bits for TSC rates below 18 GHz */
	uint64_t t = time_tsc();
	return t / tsc_hz * 1000000000ull + t % tsc_hz * 1000000000ull / tsc_hz;
}

uint64_t time_now_us(void)
{
	return time_now_ns() / 1000;
}

void time_delay_us(uint64_t us)
{
	uint64_t end = time_now_us() + us;
	while (time_now_us() < end)
		__asm__ volatile("pause");
}
