/* tests/host/time/test_tsc.c — time_calibrate (kernel/time/tsc.c) over an
 * HPET modelled in host memory (IA-PC HPET spec §2.3: capabilities at 0,
 * configuration at 0x10, main counter at 0xf0), whose TSC is the host's own
 * (RDTSC runs in user mode), and over the ACPI PM timer in a time model
 * (tsc_host_inl, tsc_host_rdtsc): a virtual clock both read, which each
 * read moves on and a case may stall. Each case runs under an alarm, so a
 * calibration that never ends fails instead of hanging the suite. */
#include <pthread.h>
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

static char last_line[256]; /* what the kernel said last */
static unsigned nlines;	    /* and how many lines */

void kprintf(const char *fmt, ...)
{
	va_list ap;
	nlines++;
	va_start(ap, fmt);
	vsnprintf(last_line, sizeof(last_line), fmt, ap);
	va_end(ap);
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

#define HPET_COUNT_64 (1ull << 13) /* COUNT_SIZE_CAP */

static uint64_t host_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void hpet_model_caps(uint64_t period_fs, uint64_t caps)
{
	memset(hpet, 0, sizeof(hpet));
	hpet[0] = period_fs << 32 | caps;
	acpi_pm_timer_port = 0;
	acpi_hpet_base = (uint64_t)(uintptr_t)hpet;
}

static void hpet_model(uint64_t period_fs)
{
	hpet_model_caps(period_fs, 0);
}

/* a main counter driven by a thread: one tick per 10 host TSC cycles from
 * `start`, masked to `width`; after `jump_at` ticks it leaps `jump` ticks
 * ahead once. With a 10 ns period the calibrated rate is then 1 GHz
 * whatever the host's TSC runs at. */
static struct {
	uint64_t start, width, jump_at, jump;
	volatile int go, stop;
} counter;

static void *counter_run(void *arg)
{
	(void)arg;
	while (!counter.go)
		;
	uint64_t t0 = host_tsc(), extra = 0;
	volatile uint64_t *c = &hpet[0xf0 / 8];
	while (!counter.stop) {
		uint64_t ticks = (host_tsc() - t0) / 10;
		if (counter.jump && ticks >= counter.jump_at)
			extra = counter.jump;
		*c = (counter.start + ticks + extra) & counter.width;
	}
	return NULL;
}

static int calibrate_with_counter(uint64_t start, uint64_t width,
				  uint64_t jump_at, uint64_t jump)
{
	pthread_t th;
	counter.start = start;
	counter.width = width;
	counter.jump_at = jump_at;
	counter.jump = jump;
	counter.go = counter.stop = 0;
	hpet[0xf0 / 8] = start & width;
	assert_int_equal(pthread_create(&th, NULL, counter_run, NULL), 0);
	counter.go = 1;
	alarm(30);
	int r = time_calibrate();
	alarm(0);
	counter.stop = 1;
	pthread_join(th, NULL);
	return r;
}

/* the time model: a virtual clock in ns that each read of either clock
 * moves on by MODEL_STEP_NS, a 3 GHz TSC and the 24-bit PM timer
 * (3.579545 MHz) over it. Before the stall_at-th PM timer read of every
 * stall_every reads (0: none) the vCPU stalls stall_ns, stalls times;
 * with stall_after, after the read has taken the timer's value (an SMI
 * between it and the TSC read that follows). */
extern uint32_t (*tsc_host_inl)(uint16_t port);
extern uint64_t (*tsc_host_rdtsc)(void);

#define MODEL_STEP_NS 500
#define MODEL_TSC_GHZ 3
static struct {
	uint64_t ns, reads, stall_at, stall_every, stall_ns, stalls;
	bool stall_after;
} vm;

static uint32_t model_inl(uint16_t port)
{
	assert_int_equal(port, 0x608);
	vm.reads++;
	bool stall = vm.stalls && vm.stall_at &&
		     (vm.reads == vm.stall_at ||
		      (vm.stall_every && vm.reads > vm.stall_at &&
		       (vm.reads - vm.stall_at) % vm.stall_every == 0));
	if (stall && !vm.stall_after)
		vm.ns += vm.stall_ns;
	vm.ns += MODEL_STEP_NS;
	uint32_t v = (uint32_t)(vm.ns * 3579545ull / 1000000000ull) & 0xffffff;
	if (stall) {
		if (vm.stall_after)
			vm.ns += vm.stall_ns;
		vm.stalls--;
	}
	return v;
}

static uint64_t model_rdtsc(void)
{
	vm.ns += MODEL_STEP_NS;
	return vm.ns * MODEL_TSC_GHZ;
}

static int calibrate_model_at(uint64_t stall_at, uint64_t stall_every,
			      uint64_t stall_ns, uint64_t stalls, bool after)
{
	memset(&vm, 0, sizeof(vm));
	vm.stall_after = after;
	vm.ns = 12345678901ull; /* anywhere in the PM timer's 4.69 s wrap */
	vm.stall_at = stall_at;
	vm.stall_every = stall_every;
	vm.stall_ns = stall_ns;
	vm.stalls = stalls;
	acpi_pm_timer_port = 0x608; /* q35's */
	acpi_hpet_base = 0;
	tsc_host_inl = model_inl;
	tsc_host_rdtsc = model_rdtsc;
	nlines = 0;
	alarm(30);
	int r = time_calibrate();
	alarm(0);
	tsc_host_inl = NULL;
	tsc_host_rdtsc = NULL;
	return r;
}

static int calibrate_model(uint64_t stall_at, uint64_t stall_every,
			   uint64_t stall_ns, uint64_t stalls)
{
	return calibrate_model_at(stall_at, stall_every, stall_ns, stalls,
				  false);
}

/* the PM timer reads a steady calibration takes: the last is the one that
 * ends the measurement */
static uint64_t steady_reads(void)
{
	assert_int_equal(calibrate_model(0, 0, 0, 0), 0);
	return vm.reads;
}

/* the TSC's rate within 0.1% of the model's 3 GHz */
static void assert_model_rate(void)
{
	uint64_t hz = time_tsc_hz();
	assert_true(hz > MODEL_TSC_GHZ * 999000000ull);
	assert_true(hz < MODEL_TSC_GHZ * 1001000000ull);
}

/* the model itself: a steady PM timer gives 3 GHz and the usual line */
static void test_tsc_pm_model_steady(void **st)
{
	(void)st;
	assert_int_equal(calibrate_model(0, 0, 0, 0), 0);
	assert_model_rate();
	assert_int_equal(nlines, 1);
	assert_null(strstr(last_line, "measured again"));
}

/* the vCPU stalls 8 s mid-calibration (read 1000 of about 20000): the
 * 24-bit PM timer wraps once unseen (4.69 s) and 11859144 ticks for 8 s of
 * TSC read as 7.2 GHz, under TSC_HZ_MAX, which the old code took. The gap
 * between two reads is seen, the measurement made again, and the rate is
 * the model's, said in one line. */
static void test_tsc_pm_stall_hiding_wrap_measured_again(void **st)
{
	(void)st;
	assert_int_equal(calibrate_model(1000, 0, 8000000000ull, 1), 0);
	assert_model_rate();
	assert_int_equal(nlines, 1);
	assert_non_null(strstr(last_line, "measured again after a gap"));
}

/* the same stall of 8 s just before the measurement ends (46 reads before
 * its last): still seen */
static void test_tsc_pm_stall_at_the_end(void **st)
{
	(void)st;
	uint64_t end = steady_reads();
	assert_int_equal(calibrate_model(end - 46, 0, 8000000000ull, 1), 0);
	assert_model_rate();
	assert_non_null(strstr(last_line, "measured again"));
}

/* a stall of 50 ms (150M cycles at 3 GHz, under the 234M that are half a
 * wrap at TSC_HZ_MIN) hides none: both clocks ran through it, the rate is
 * right and nothing is measured again */
static void test_tsc_pm_short_stall_kept(void **st)
{
	(void)st;
	assert_int_equal(calibrate_model(1000, 0, 50000000ull, 1), 0);
	assert_model_rate();
	assert_null(strstr(last_line, "measured again"));
}

/* a vCPU that stalls 8 s in every measurement: CALIBRATE_TRIES of them,
 * one line, and the rate left as it was (the 1 GHz assumption at boot,
 * here the last case's); the clock still divides */
static void test_tsc_pm_stall_every_try_gives_up(void **st)
{
	(void)st;
	uint64_t before = time_tsc_hz();
	assert_int_equal(calibrate_model(1000, 1000, 8000000000ull, 100), -1);
	assert_int_equal(nlines, 1);
	assert_non_null(strstr(last_line, "could hide a wrap"));
	assert_non_null(strstr(last_line, "in each of 8 tries"));
	assert_int_equal(time_tsc_hz(), before);
	assert_true(vm.stalls == 100 - 8);
	assert_true(time_now_ns() > 0);
}

/* a stall of 5 ms between the first PM timer read and the TSC read after
 * it (an SMI, the host's scheduler): before, the measurement began with a
 * TSC 5 ms late and read 3 GHz as 2.25 GHz (15 ms of TSC for 20 ms of
 * timer), believed. The TSC read on both sides brackets it 15M cycles
 * wide, over CALIBRATE_BRACKET_MAX: the timer is read again, and the rate
 * is the model's, with no line more */
static void test_tsc_pm_stall_after_first_read_bracketed(void **st)
{
	(void)st;
	assert_int_equal(calibrate_model_at(1, 0, 5000000ull, 1, true), 0);
	assert_int_equal(vm.stalls, 0);
	assert_model_rate();
	assert_int_equal(nlines, 1);
}

/* the same stall after the read that ends the measurement: before, it
 * ended with a TSC 5 ms late and read 3.75 GHz; now the measurement goes
 * on to the next read with a narrow bracket */
static void test_tsc_pm_stall_after_last_read_bracketed(void **st)
{
	(void)st;
	uint64_t end = steady_reads();
	assert_int_equal(calibrate_model_at(end, 0, 5000000ull, 1, true), 0);
	assert_int_equal(vm.stalls, 0);
	assert_model_rate();
	assert_int_equal(nlines, 1);
}

/* every PM timer read stalls 100 us (300000 cycles, over
 * CALIBRATE_BRACKET_MAX, far under the wrap's gap): no bracket is ever
 * narrow, each try gives up after CALIBRATE_BRACKET_TRIES reads, and
 * after CALIBRATE_TRIES one line says so and the rate is left as it was */
static void test_tsc_pm_every_read_slow_gives_up(void **st)
{
	(void)st;
	uint64_t before = time_tsc_hz();
	assert_int_equal(calibrate_model_at(1, 1, 100000ull, ~0ull, true), -1);
	assert_int_equal(nlines, 1);
	assert_non_null(strstr(last_line, "reads took over 131072 TSC"));
	assert_non_null(strstr(last_line, "5 times in a row, in each of 8"));
	assert_int_equal(vm.reads, 5 * 8);
	assert_int_equal(time_tsc_hz(), before);
}

/* the spec bounds the period at 100 ns; a period of 1 ps (a 1 THz
 * counter) is refused at once rather than calibrated against */
static void test_tsc_hpet_period_out_of_range(void **st)
{
	(void)st;
	hpet_model(1000);
	assert_int_equal(time_calibrate(), -1);
	assert_non_null(strstr(last_line, "outside 1000000-100000000"));
}

/* an HPET whose registers cannot be mapped (kernel/mm refuses the range:
 * RAM by the memory map, past 2^47) is said to be so, not to report a
 * period of 0 fs it never reported: nothing was read */
static void test_tsc_hpet_unmappable_says_so(void **st)
{
	(void)st;
	hpet_model(10000000);
	acpi_hpet_base = 0xfffffffffffff000ull; /* the stub maps nothing */
	assert_int_equal(time_calibrate(), -1);
	assert_null(strstr(last_line, "period"));
	assert_non_null(strstr(last_line, "cannot be mapped"));
}

/* a 32-bit main counter (COUNT_SIZE_CAP clear) that wraps during the
 * 20 ms: the ticks counted modulo 2^32 give a real rate. Counted as a
 * 64-bit step back, the wrap read as 2^64 - n ticks and the TSC rate came
 * out near 0, and time_now_ns divided by it. */
static void test_tsc_hpet_32bit_wrap(void **st)
{
	(void)st;
	hpet_model_caps(10000000, 0); /* 10 ns, 32-bit */
	/* 10^6 ticks (10^7 TSC cycles) before the wrap, 2 x 10^6 wanted */
	int r = calibrate_with_counter(0xffffffffull - 1000000, 0xffffffffull,
				       0, 0);
	assert_int_equal(r, 0);
	assert_true(time_tsc_hz() >= 500000000ull);
}

/* a counter that leaps 2^40 ticks mid-measurement (a hypervisor's, or a
 * hostile one): the rate it implies is refused, the 1 GHz assumption
 * kept, and the clock still divides by something. Were the leap before
 * the first read (the test thread descheduled), the run measures a
 * steady counter and returns 0 with a real rate: tried again. */
static void test_tsc_hpet_jump_refused(void **st)
{
	(void)st;
	int r = 0;
	for (int tries = 0; tries < 5 && r == 0; tries++) {
		hpet_model_caps(10000000, HPET_COUNT_64);
		r = calibrate_with_counter(0, ~0ull, 1000000, 1ull << 40);
		if (r == 0) /* only a steady counter may be believed */
			assert_true(time_tsc_hz() >= 500000000ull);
	}
	assert_int_equal(r, -1);
	assert_non_null(strstr(last_line, "not believed"));
	assert_true(time_tsc_hz() >= 100000000ull);
	assert_true(time_now_ns() > 0);
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
	    cmocka_unit_test(test_tsc_hpet_period_out_of_range),
	    cmocka_unit_test(test_tsc_hpet_unmappable_says_so),
	    cmocka_unit_test(test_tsc_hpet_32bit_wrap),
	    cmocka_unit_test(test_tsc_hpet_jump_refused),
	    cmocka_unit_test(test_tsc_pm_model_steady),
	    cmocka_unit_test(test_tsc_pm_stall_hiding_wrap_measured_again),
	    cmocka_unit_test(test_tsc_pm_stall_at_the_end),
	    cmocka_unit_test(test_tsc_pm_short_stall_kept),
	    cmocka_unit_test(test_tsc_pm_stall_every_try_gives_up),
	    cmocka_unit_test(test_tsc_pm_stall_after_first_read_bracketed),
	    cmocka_unit_test(test_tsc_pm_stall_after_last_read_bracketed),
	    cmocka_unit_test(test_tsc_pm_every_read_slow_gives_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
