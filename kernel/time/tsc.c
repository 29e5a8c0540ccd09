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
/* measurements tried before a stalled one is given up on (see
 * time_calibrate: a gap between two reads long enough to hide a wrap).
 * The gap is judged at TSC_HZ_MIN, so at a real rate a gap of tens of ms
 * (a loaded host's scheduler) that hid no wrap is measured again too:
 * tries are cheap (20 ms each), and a host that stalls every one of them
 * in a row is one whose timing cannot be trusted anyway */
#define CALIBRATE_TRIES 8
/* the TSC is read on both sides of the reference reads that start and end
 * a measurement; a pair further apart than this stalled in between (an
 * SMI, a host's scheduler) and would shift the rate by the stall over
 * 20 ms: it is read again, CALIBRATE_BRACKET_TRIES times at most. 2^17
 * cycles is 44 us at 3 GHz (0.2% of 20 ms at each end) and Linux's
 * TSC_DEFAULT_THRESHOLD, its tsc_read_refs' bound before the rate is
 * known; a PM timer or HPET read takes about a microsecond */
#define CALIBRATE_BRACKET_MAX	(1ull << 17)
#define CALIBRATE_BRACKET_TRIES 5

#ifdef CAPOS_HOST
/* tests/host/time play the clocks: the PM timer's port always, the TSC
 * when set (NULL: the host's own, RDTSC runs in user mode) */
uint32_t (*tsc_host_inl)(uint16_t port);
uint64_t (*tsc_host_rdtsc)(void);
#define inl(p) tsc_host_inl(p)
#endif

static uint64_t tsc_hz = 1000000000ull; /* until calibrated */

uint64_t time_tsc(void)
{
#ifdef CAPOS_HOST
	if (tsc_host_rdtsc)
		return tsc_host_rdtsc();
#endif
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

/* the reference (*r) and the TSC just after it (*t); false when the TSC
 * just before it was more than CALIBRATE_BRACKET_MAX cycles earlier (*wide:
 * how many), so *t may be late by a stall the reference did not see */
static bool ref_bracket(int src, volatile uint64_t *hpet, uint64_t *r,
			uint64_t *t, uint64_t *wide)
{
	uint64_t before = time_tsc();
	*r = ref_read(src, hpet);
	*t = time_tsc();
	*wide = *t - before;
	return *wide <= CALIBRATE_BRACKET_MAX;
}

/* one measurement of want ticks of the reference: the TSC cycles (*dt)
 * and ticks (*ticks) it took, between two reference reads each bracketed
 * within CALIBRATE_BRACKET_MAX TSC cycles (Linux's tsc_read_refs): the
 * first read again while its bracket is wider, the measurement going on
 * past want until one is not. 0 done; 1 two consecutive reads were more
 * than gap_max TSC cycles apart (*gap), so the count cannot be trusted;
 * 2 CALIBRATE_BRACKET_TRIES brackets in a row at the start or at the end
 * were wider (*gap: the last one's cycles); -1 the reference had not
 * reached want ticks CALIBRATE_GIVE_UP cycles after the first read. *gap is
 * written only when 1 or 2 is returned: the rate line names the gap of the try
 * before */
static int measure(int src, volatile uint64_t *hpet, uint64_t want,
		   uint64_t mask, uint64_t gap_max, uint64_t *jitter,
		   uint64_t *dt, uint64_t *ticks, uint64_t *gap)
{
	uint64_t r0, t0, r1, t1, rprev, tprev, w;
	unsigned wide = 0;
	while (!ref_bracket(src, hpet, &r0, &t0, &w))
		if (++wide == CALIBRATE_BRACKET_TRIES) {
			*gap = w;
			return 2;
		}
	rprev = r0;
	tprev = t0;
	wide = 0;
	for (;;) {
		bool narrow = ref_bracket(src, hpet, &r1, &t1, &w);
		*dt = t1 - t0;
		*ticks = (r1 - r0) & mask;
		if (t1 - tprev > gap_max) {
			*gap = t1 - tprev;
			return 1;
		}
		tprev = t1;
		/* where the TSC stands at each tick of the other clock: its
		 * low bits are timing noise (interrupts, the bus, a host's
		 * scheduler), the kernel's weakest entropy source */
		if (r1 != rprev) {
			*jitter = (*jitter ^ t1) * 0x9e3779b97f4a7c15ull;
			*jitter ^= *jitter >> 29;
			rprev = r1;
		}
		if (*ticks >= want) {
			if (narrow)
				return 0;
			*gap = w;
			if (++wide == CALIBRATE_BRACKET_TRIES)
				return 2;
		}
		/* firmware may name a clock that does not run (a PM timer
		 * port nothing answers, an HPET that stays disabled): give
		 * up after seconds of any plausible TSC rather than hang.
		 * The cycles counted end at the TSC read before this read of
		 * the reference, as a stall between the two is no stopped
		 * clock; nor is a complete count (its wide brackets end the
		 * try above) */
		uint64_t counted = *dt - w;
		if (*ticks < want && counted > CALIBRATE_GIVE_UP)
			return -1;
	}
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
	/* a gap between two reads of the reference that could hide a wrap:
	 * half its wrap at the slowest believable TSC rate (half the 24-bit
	 * PM timer's 4.69 s is 234M cycles at TSC_HZ_MIN, 78 ms at 3 GHz).
	 * Below it, the ticks counted before the gap (under want, far below
	 * half the wrap) and those within it stay under one wrap, so the
	 * count modulo the width is the count. A vCPU stalled longer (TCG
	 * on a loaded host, a hypervisor's pause) lost whole wraps, and
	 * the rate it gives is too high by them: an 8 s stall reads a 3 GHz
	 * TSC as 7.2 GHz, inside TSC_HZ_MAX. A 64-bit HPET never wraps. */
	uint64_t gap_max =
	    mask == ~0ull ? ~0ull : (mask / 2 + 1) * TSC_HZ_MIN / ref_hz;
	uint64_t want = ref_hz / 50, jitter = 0, dt = 0, ticks = 0, gap = 0;
	int tries = 0, r;
	do {
		r = measure(src, hpet, want, mask, gap_max, &jitter, &dt,
			    &ticks, &gap);
	} while (r > 0 && ++tries < CALIBRATE_TRIES);
	if (r < 0) {
		kprintf("time: %s advanced %lu of %lu ticks in 2^33 "
			"TSC cycles; not running, TSC assumed 1 GHz\n",
			src == 1 ? "ACPI PM timer" : "HPET", ticks, want);
		return -1;
	}
	if (r == 2) {
		kprintf("time: %s reads took over %lu TSC cycles (%lu, the "
			"last) %d times in a row, in each of %d tries; TSC "
			"assumed 1 GHz\n",
			src == 1 ? "ACPI PM timer" : "HPET",
			(unsigned long)CALIBRATE_BRACKET_MAX, gap,
			CALIBRATE_BRACKET_TRIES, CALIBRATE_TRIES);
		return -1;
	}
	if (r == 1) {
		kprintf("time: %s read %lu TSC cycles apart (over %lu, which "
			"could hide a wrap) in each of %d tries; TSC assumed 1 "
			"GHz\n",
			src == 1 ? "ACPI PM timer" : "HPET", gap, gap_max,
			CALIBRATE_TRIES);
		return -1;
	}
	random_add("tsc-jitter", &jitter, sizeof(jitter), false);
	/* ref_hz < 2^30; scaled so the product stays below 2^63 even when
	 * the vCPU stalled for seconds mid-measurement */
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
	if (tries)
		kprintf("time: TSC %lu kHz (calibrated against %s, measured "
			"again after a gap of %lu TSC cycles between or "
			"within reads)\n",
			tsc_hz / 1000, src == 1 ? "ACPI PM timer" : "HPET",
			gap);
	else
		kprintf("time: TSC %lu kHz (calibrated against %s)\n",
			tsc_hz / 1000, src == 1 ? "ACPI PM timer" : "HPET");
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
	/* saturated: a huge delay ends at the end of time, not in the past */
	uint64_t now = time_now_us();
	uint64_t end = us > UINT64_MAX - now ? UINT64_MAX : now + us;
	while (time_now_us() < end)
		__asm__ volatile("pause");
}
