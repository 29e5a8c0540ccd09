/* tests/host/time/test_tsc.c — time_calibrate (kernel/time/tsc.c) over an
 * HPET modelled in host memory (IA-PC HPET spec §2.3: capabilities at 0,
 * configuration at 0x10, main counter at 0xf0), whose TSC is the host's own
 * (RDTSC runs in user mode), and over the ACPI PM timer in a time model
 * (tsc_host_inl, tsc_host_rdtsc): a virtual clock both read, which each
 * read moves on and a case may stall, with an HPET over it too. Each case
 * runs under an alarm, so a calibration that never ends fails instead of
 * hanging the suite. random_add is the test's: it keeps what the
 * calibration hands the pool. */
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

/* a main counter driven by a thread: one tick per `div` host TSC cycles
 * (10 unless set) from `start`, masked to `width`; after `jump_at` ticks it
 * leaps `jump` ticks ahead once. It runs only while ENABLE_CNF (bit 0 of
 * the configuration register) is set: the spec (§2.3.5) halts the main
 * counter while it is clear. With a 10 ns period and 10 cycles a tick the
 * calibrated rate is 1 GHz whatever the host's TSC runs at. */
static struct {
	uint64_t start, width, jump_at, jump, div;
	volatile int go, stop;
} counter;

static void *counter_run(void *arg)
{
	(void)arg;
	while (!counter.go)
		;
	uint64_t t0 = host_tsc(), extra = 0;
	uint64_t div = counter.div ? counter.div : 10;
	volatile uint64_t *c = &hpet[0xf0 / 8];
	volatile uint64_t *cfg = &hpet[0x10 / 8];
	while (!counter.stop) {
		if (!(*cfg & 1)) { /* halted: counts from when enabled */
			t0 = host_tsc();
			continue;
		}
		uint64_t ticks = (host_tsc() - t0) / div;
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
	counter.div = 0;
	return r;
}

/* the time model: a virtual clock in ns that each read of either clock
 * moves on by step_ns (MODEL_STEP_NS unless set), a TSC at tsc_ghz
 * (MODEL_TSC_GHZ unless set) and the 24-bit PM timer (3.579545 MHz) over
 * it. Before the stall_at-th PM timer read of every stall_every reads (0:
 * none) the vCPU stalls stall_ns, stalls times, and once more at read
 * extra_at; with stall_after, after the read has taken the timer's value
 * (an SMI between it and the TSC read that follows). At read skew_at the
 * TSC leaps skew cycles ahead of the timer (to set a width or a gap to
 * the cycle); a stuck timer never moves.
 *
 * The model also says what a calibration must do, from the rules rather
 * than the code: the measurement ends at the first read want_ticks ticks
 * past the first read (want_read), gives up at the first read more than
 * CALIBRATE_GIVE_UP cycles past it (give_up_read), and mixes into its
 * jitter the TSC just after each read whose timer value moved from the
 * read before (jitter; for a calibration of one try, one first read) */
extern uint32_t (*tsc_host_inl)(uint16_t port);
extern uint64_t (*tsc_host_rdtsc)(void);

#define MODEL_STEP_NS	  500
#define MODEL_TSC_GHZ	  3
#define PM_HZ		  3579545ull
#define PM_WANT		  (PM_HZ / 50) /* 20 ms of ticks */
#define CALIBRATE_GIVE_UP (1ull << 33)
#define BRACKET_MAX	  (1ull << 17) /* CALIBRATE_BRACKET_MAX */
/* half the PM timer's wrap at TSC_HZ_MIN (100 MHz), in TSC cycles */
#define PM_GAP_MAX ((0xffffffull / 2 + 1) * 100000000ull / PM_HZ)
static struct {
	uint64_t ns, reads, stall_at, stall_every, stall_ns, stalls, extra_at;
	bool stall_after, stuck;
	uint64_t step_ns, tsc_ghz, tsc_off, skew_at, skew;
	/* the HPET in the model: a main counter of hpet_ns ns a tick over
	 * the same clock, counting only while enabled; the vCPU stalls
	 * hpet_stall_ns before TSC read hpet_stall_at. A TSC at tsc_ghz, or
	 * with tsc_div, one cycle each tsc_div ns */
	uint64_t hpet_ns, hpet_stall_at, hpet_stall_ns, tsc_div, rdtscs;
	/* the oracle */
	uint64_t v0, vprev, t0, last_t, want_read, give_up_read, jitter;
	bool give_up_exact; /* a read exactly CALIBRATE_GIVE_UP after */
	bool after_read, mix_next;
} vm;

static uint32_t model_inl(uint16_t port)
{
	assert_int_equal(port, 0x608);
	vm.reads++;
	bool stall = (vm.stalls && vm.stall_at &&
		      (vm.reads == vm.stall_at ||
		       (vm.stall_every && vm.reads > vm.stall_at &&
			(vm.reads - vm.stall_at) % vm.stall_every == 0))) ||
		     vm.reads == vm.extra_at;
	if (stall && !vm.stall_after)
		vm.ns += vm.stall_ns;
	vm.ns += vm.step_ns ? vm.step_ns : MODEL_STEP_NS;
	if (vm.reads == vm.skew_at)
		vm.tsc_off += vm.skew;
	uint32_t v = vm.stuck
			 ? 0x123456
			 : (uint32_t)(vm.ns * PM_HZ / 1000000000ull) & 0xffffff;
	if (stall) {
		if (vm.stall_after)
			vm.ns += vm.stall_ns;
		if (vm.reads != vm.extra_at)
			vm.stalls--;
	}
	if (vm.reads == 1)
		vm.v0 = v;
	else if (v != vm.vprev)
		vm.mix_next = true;
	/* the TSC read before this one ends the cycles counted */
	if (vm.reads > 1 && !vm.give_up_read && vm.v0 == v &&
	    vm.last_t - vm.t0 > CALIBRATE_GIVE_UP)
		vm.give_up_read = vm.reads;
	if (vm.reads > 1 && vm.last_t - vm.t0 == CALIBRATE_GIVE_UP)
		vm.give_up_exact = true;
	if (vm.reads > 1 && !vm.want_read &&
	    ((v - vm.v0) & 0xffffff) >= PM_WANT)
		vm.want_read = vm.reads;
	vm.vprev = v;
	vm.after_read = true;
	return v;
}

static uint64_t model_rdtsc(void)
{
	if (++vm.rdtscs == vm.hpet_stall_at)
		vm.ns += vm.hpet_stall_ns;
	vm.ns += vm.step_ns ? vm.step_ns : MODEL_STEP_NS;
	if (vm.hpet_ns && hpet[0x10 / 8] & 1) /* ENABLE_CNF */
		hpet[0xf0 / 8] = vm.ns / vm.hpet_ns;
	uint64_t t = vm.tsc_div
			 ? vm.ns / vm.tsc_div
			 : vm.ns * (vm.tsc_ghz ? vm.tsc_ghz : MODEL_TSC_GHZ);
	t += vm.tsc_off;
	if (vm.after_read) { /* the TSC just after a timer read */
		vm.after_read = false;
		if (vm.reads == 1)
			vm.t0 = t;
		if (vm.mix_next) {
			vm.jitter = (vm.jitter ^ t) * 0x9e3779b97f4a7c15ull;
			vm.jitter ^= vm.jitter >> 29;
			vm.mix_next = false;
		}
	}
	vm.last_t = t;
	return t;
}

/* what time_calibrate hands the random pool */
static struct {
	unsigned calls;
	char source[32];
	uint64_t value;
	bool strong;
} mixed;

void random_add(const char *source, const void *data, size_t len, bool strong)
{
	mixed.calls++;
	snprintf(mixed.source, sizeof(mixed.source), "%s", source);
	assert_int_equal(len, sizeof(mixed.value));
	memcpy(&mixed.value, data, len);
	mixed.strong = strong;
}

/* set the model up (vm is cleared first; a case sets what it varies in
 * `setup` before the run) and calibrate */
static int calibrate_vm(void (*setup)(void))
{
	memset(&vm, 0, sizeof(vm));
	memset(&mixed, 0, sizeof(mixed));
	vm.ns = 12345678901ull;	    /* anywhere in the PM timer's 4.69 s wrap */
	acpi_pm_timer_port = 0x608; /* q35's */
	acpi_hpet_base = 0;
	if (setup)
		setup();
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

static struct {
	uint64_t stall_at, stall_every, stall_ns, stalls;
	bool after;
} plan;

static void plan_setup(void)
{
	vm.stall_after = plan.after;
	vm.stall_at = plan.stall_at;
	vm.stall_every = plan.stall_every;
	vm.stall_ns = plan.stall_ns;
	vm.stalls = plan.stalls;
}

static int calibrate_model_at(uint64_t stall_at, uint64_t stall_every,
			      uint64_t stall_ns, uint64_t stalls, bool after)
{
	plan.stall_at = stall_at;
	plan.stall_every = stall_every;
	plan.stall_ns = stall_ns;
	plan.stalls = stalls;
	plan.after = after;
	return calibrate_vm(plan_setup);
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

/* the TSC's rate within 0.1% of the model's (3 GHz unless set) */
static void assert_model_rate(void)
{
	uint64_t hz = time_tsc_hz(),
		 ghz = vm.tsc_ghz ? vm.tsc_ghz : MODEL_TSC_GHZ;
	assert_true(hz > ghz * 999000000ull);
	assert_true(hz < ghz * 1001000000ull);
}

/* the model itself: a steady PM timer gives 3 GHz and the usual line */
static void test_tsc_pm_model_steady(void **st)
{
	(void)st;
	assert_int_equal(calibrate_model(0, 0, 0, 0), 0);
	assert_model_rate();
	assert_int_equal(nlines, 1);
	assert_non_null(
	    strstr(last_line, "(calibrated against ACPI PM timer)"));
}

/* the vCPU stalls 8 s mid-calibration (read 1000 of about 20000): the
 * 24-bit PM timer wraps once unseen (4.69 s) and 11859144 ticks for 8 s of
 * TSC read as 7.2 GHz, under TSC_HZ_MAX, which the old code took. The gap
 * between two reads is seen, the measurement made again, and the rate is
 * the model's, said in one line, naming the gap (before, the line named
 * the next try's first read, 3000 cycles). */
static void test_tsc_pm_stall_hiding_wrap_measured_again(void **st)
{
	(void)st;
	assert_int_equal(calibrate_model(1000, 0, 8000000000ull, 1), 0);
	assert_model_rate();
	assert_int_equal(nlines, 1);
	/* the gap named is the stall's: 3 x (8 s + 1500 ns) */
	assert_non_null(strstr(
	    last_line, "calibrated against ACPI PM timer, measured again "
		       "after a gap of 24000004500 "));
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
	assert_non_null(
	    strstr(last_line, "ACPI PM timer read 24000004500 TSC cycles apart "
			      "(over 234348443, which could hide a wrap"));
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
	assert_non_null(
	    strstr(last_line, "ACPI PM timer reads took over 131072 TSC"));
	/* the last bracket: 3 x (1000 ns + the 100 us stall) */
	assert_non_null(strstr(last_line, "(303000, the last) 5 times in a "
					  "row, in each of 8"));
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
	assert_non_null(strstr(last_line, "time: HPET gave a TSC rate of"));
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

/* ---- the rules of measure(), each at its bound ------------------------ */

/* the measurement ends at the first read at least 20 ms of ticks
 * (PM_HZ / 50) past the first: reads 100 ns apart, faster than the PM
 * timer ticks (279 ns), meet the count exactly */
static void step_50ns(void)
{
	vm.step_ns = 50;
}

/* the same, the first read (100 ns on) landing on a tick of the timer:
 * the second, 150 ns later, reads the same value */
static void step_50ns_first_read_on_a_tick(void)
{
	uint64_t k = vm.ns * PM_HZ / 1000000000ull + 1;
	vm.ns = (k * 1000000000ull + PM_HZ - 1) / PM_HZ - 100;
	vm.step_ns = 50;
}

static void test_tsc_pm_ends_at_first_read_of_20ms(void **st)
{
	(void)st;
	assert_int_equal(calibrate_vm(step_50ns), 0);
	assert_int_equal(vm.reads, vm.want_read);
	assert_model_rate();
}

/* the jitter (kernel/lib/random.h: an uncredited source) mixes the TSC
 * just after each read at which the timer moved, and no other: reads
 * faster than the timer ticks leave it unmoved between some of them.
 * Handed to the pool once, as "tsc-jitter", not strong */
static void test_tsc_pm_jitter_mixes_the_tsc_at_each_tick(void **st)
{
	(void)st;
	assert_int_equal(calibrate_vm(step_50ns_first_read_on_a_tick), 0);
	assert_int_equal(mixed.calls, 1);
	assert_string_equal(mixed.source, "tsc-jitter");
	assert_false(mixed.strong);
	assert_int_not_equal(vm.jitter, 0);
	assert_int_equal(mixed.value, vm.jitter);
	/* at the usual 1000 ns a read, every read has moved */
	assert_int_equal(calibrate_model(0, 0, 0, 0), 0);
	assert_int_equal(mixed.value, vm.jitter);
}

/* the bracket of the read that ends the measurement, one pair of TSC
 * reads 3000 cycles apart in the model, widened by a TSC leap to exactly
 * CALIBRATE_BRACKET_MAX (2^17) cycles: narrow, used at once. One cycle
 * wider, the measurement goes on to the next read. (The leap moves the
 * rate by 0.2 %, the bracket's whole point: within 0.3 %) */
static uint64_t end_read, leap;

static void leap_at_end(void)
{
	vm.skew_at = end_read;
	vm.skew = leap;
}

static void assert_rate_within_3_permille(void)
{
	uint64_t hz = time_tsc_hz();
	assert_true(hz > MODEL_TSC_GHZ * 997000000ull);
	assert_true(hz < MODEL_TSC_GHZ * 1003000000ull);
}

static void test_tsc_pm_bracket_of_CALIBRATE_BRACKET_MAX_is_narrow(void **st)
{
	(void)st;
	end_read = steady_reads();
	uint64_t pair = 2 * MODEL_STEP_NS * MODEL_TSC_GHZ;
	leap = BRACKET_MAX - pair;
	assert_int_equal(calibrate_vm(leap_at_end), 0);
	assert_int_equal(vm.reads, end_read);
	assert_rate_within_3_permille();
	leap++;
	assert_int_equal(calibrate_vm(leap_at_end), 0);
	assert_int_equal(vm.reads, end_read + 1);
	assert_rate_within_3_permille();
	assert_int_equal(nlines, 1);
	assert_null(strstr(last_line, "measured again"));
}

/* wide brackets at the start and at the end are counted apart, each up
 * to CALIBRATE_BRACKET_TRIES: four wide reads before the first narrow one
 * and one at the end make no fifth in a row, and nothing is measured
 * again */
static void four_wide_at_start_one_at_end(void)
{
	vm.stall_after = true;
	vm.stall_at = 1;
	vm.stall_every = 1;
	vm.stall_ns = 100000;
	vm.stalls = 4;
	vm.extra_at = end_read;
}

static void test_tsc_pm_wide_brackets_start_and_end_counted_apart(void **st)
{
	(void)st;
	end_read = 0;
	assert_int_equal(calibrate_vm(four_wide_at_start_one_at_end), 0);
	end_read = vm.reads;
	assert_int_equal(calibrate_vm(four_wide_at_start_one_at_end), 0);
	assert_int_equal(vm.reads, end_read + 1);
	assert_model_rate();
	assert_int_equal(nlines, 1);
	assert_null(strstr(last_line, "measured again"));
}

/* CALIBRATE_BRACKET_TRIES (5) wide brackets in a row at the end end the
 * try; the next, steady, is the rate, and the line names the last wide
 * bracket's width: 3 x (1000 ns + the 100 us stall) = 303000 cycles */
static void
test_tsc_pm_end_wide_CALIBRATE_BRACKET_TRIES_times_tried_again(void **st)
{
	(void)st;
	uint64_t end = steady_reads();
	assert_int_equal(calibrate_model_at(end, 1, 100000ull, 5, true), 0);
	assert_int_equal(vm.stalls, 0);
	assert_model_rate();
	assert_int_equal(nlines, 1);
	assert_non_null(strstr(last_line, "measured again after a gap of "
					  "303000 TSC cycles"));
}

/* a gap between two reads of exactly PM_GAP_MAX cycles (half the 24-bit
 * wrap at TSC_HZ_MIN) can hide no wrap and is kept; one cycle more is
 * measured again, the line naming it. The gap: a stall before read 1000
 * and a TSC leap of under 3 cycles to set it to the cycle */
static uint64_t gap_want;

static void gap_at_1000(void)
{
	uint64_t base = 3 * MODEL_STEP_NS * MODEL_TSC_GHZ; /* reads apart */
	vm.stall_at = 1000;
	vm.stalls = 1;
	vm.stall_ns = (gap_want - base) / MODEL_TSC_GHZ;
	vm.skew_at = 1000;
	vm.skew = (gap_want - base) % MODEL_TSC_GHZ;
}

static void test_tsc_pm_gap_of_PM_GAP_MAX_kept(void **st)
{
	(void)st;
	gap_want = PM_GAP_MAX;
	assert_int_equal(calibrate_vm(gap_at_1000), 0);
	assert_model_rate();
	assert_int_equal(nlines, 1);
	assert_null(strstr(last_line, "measured again"));
	gap_want = PM_GAP_MAX + 1;
	assert_int_equal(calibrate_vm(gap_at_1000), 0);
	assert_model_rate();
	char want[96];
	snprintf(want, sizeof(want), "measured again after a gap of %llu ",
		 (unsigned long long)PM_GAP_MAX + 1);
	assert_non_null(strstr(last_line, want));
}

/* the wrap bound holds between two consecutive reads, not over the whole
 * measurement: a 12 GHz TSC (under TSC_HZ_MAX) runs PM_GAP_MAX cycles in
 * 19.5 ms, before 20 ms of the timer are counted, and is calibrated */
static void tsc_12ghz(void)
{
	vm.tsc_ghz = 12;
}

static void test_tsc_pm_12GHz_gap_is_between_reads(void **st)
{
	(void)st;
	assert_int_equal(calibrate_vm(tsc_12ghz), 0);
	assert_model_rate();
	assert_null(strstr(last_line, "measured again"));
}

/* a PM timer that never moves is given up on at the first read begun
 * more than CALIBRATE_GIVE_UP (2^33) TSC cycles after the first: a leap
 * at read 2 makes one begin exactly 2^33 cycles after it, not yet past */
static void stuck_with_leap(void)
{
	uint64_t step = MODEL_STEP_NS * MODEL_TSC_GHZ; /* one clock read */
	vm.stuck = true;
	vm.skew_at = 2;
	vm.skew = (CALIBRATE_GIVE_UP - step) % (3 * step);
}

static void test_tsc_pm_stuck_given_up_past_CALIBRATE_GIVE_UP(void **st)
{
	(void)st;
	uint64_t before = time_tsc_hz();
	assert_int_equal(calibrate_vm(stuck_with_leap), -1);
	assert_true(vm.give_up_exact);
	assert_int_not_equal(vm.give_up_read, 0);
	assert_int_equal(vm.reads, vm.give_up_read);
	assert_int_equal(nlines, 1);
	assert_non_null(strstr(last_line, "ACPI PM timer advanced 0 of 71590 "
					  "ticks in 2^33 TSC cycles; not "
					  "running"));
	assert_int_equal(time_tsc_hz(), before);
	assert_int_equal(mixed.calls, 0);
}

/* firmware that names neither clock: one line, the rate left as it was,
 * nothing mapped at address 0 */
static void test_tsc_no_pm_timer_no_hpet(void **st)
{
	(void)st;
	uint64_t before = time_tsc_hz();
	acpi_pm_timer_port = 0;
	acpi_hpet_base = 0;
	nlines = 0;
	assert_int_equal(time_calibrate(), -1);
	assert_int_equal(nlines, 1);
	assert_non_null(strstr(last_line, "no PM timer and no HPET"));
	assert_int_equal(time_tsc_hz(), before);
}

/* the period's bounds are believed inclusive: 1 ns (a 1 GHz counter) and
 * the spec's 100 ns (§2.3.4: COUNTER_CLK_PERIOD <= 0x05F5E100) calibrate,
 * one femtosecond outside either is refused. The counter ticks so the
 * TSC would read 3 GHz: every 3 cycles at 1 ns, every 300 at 100 ns */
static void test_tsc_hpet_period_bounds_inclusive(void **st)
{
	(void)st;
	hpet_model_caps(999999, HPET_COUNT_64);
	assert_int_equal(time_calibrate(), -1);
	assert_non_null(strstr(last_line, "period of 999999 fs, outside"));
	hpet_model_caps(100000001, HPET_COUNT_64);
	assert_int_equal(time_calibrate(), -1);
	assert_non_null(strstr(last_line, "period of 100000001 fs, outside"));
	/* (the rate itself is the host's and the counter thread's, which a
	 * loaded host deschedules: only that it was believed is checked) */
	hpet_model_caps(1000000, HPET_COUNT_64);
	counter.div = 3;
	assert_int_equal(calibrate_with_counter(0, ~0ull, 0, 0), 0);
	assert_non_null(strstr(last_line, "calibrated against HPET"));
	hpet_model_caps(100000000, HPET_COUNT_64);
	counter.div = 300;
	assert_int_equal(calibrate_with_counter(0, ~0ull, 0, 0), 0);
	assert_non_null(strstr(last_line, "calibrated against HPET"));
}

/* the HPET in the model (vm.hpet_ns), 64-bit: TSC and main counter over
 * one clock, so a rate comes out to the hertz */
static struct {
	uint64_t period_ns, tsc_ghz, tsc_div, stall_at, stall_ns;
} hv;

static void hpet_in_vm(void)
{
	hpet_model_caps(hv.period_ns * 1000000ull, HPET_COUNT_64);
	vm.hpet_ns = hv.period_ns;
	vm.tsc_ghz = hv.tsc_ghz;
	vm.tsc_div = hv.tsc_div;
	vm.hpet_stall_at = hv.stall_at;
	vm.hpet_stall_ns = hv.stall_ns;
}

static int calibrate_hpet_vm(uint64_t period_ns, uint64_t tsc_ghz,
			     uint64_t tsc_div, uint64_t stall_at,
			     uint64_t stall_ns)
{
	hv.period_ns = period_ns;
	hv.tsc_ghz = tsc_ghz;
	hv.tsc_div = tsc_div;
	hv.stall_at = stall_at;
	hv.stall_ns = stall_ns;
	return calibrate_vm(hpet_in_vm);
}

/* a 64-bit HPET never wraps, so a vCPU stalled 10 s mid-measurement is
 * measured through: 3 x 10^10 TSC cycles times a 1 GHz reference is
 * 3 x 10^19, past 2^64; both are halved until the cycles are under 2^33
 * (ref_hz < 2^30: the product under 2^63), and the rate is 3 GHz */
static void test_tsc_hpet_64bit_stall_of_10s_scaled_under_2_63(void **st)
{
	(void)st;
	/* TSC read 1001: before a read of the counter, between two */
	assert_int_equal(calibrate_hpet_vm(1, 3, 0, 1001, 10000000000ull), 0);
	assert_true(vm.ns > 12345678901ull + 10000000000ull);
	assert_model_rate();
	assert_non_null(strstr(last_line, "calibrated against HPET)"));
}

/* the same stall between a read of the counter and the TSC read after it
 * (TSC read 1000): the bracket is wide, the next read completes the count
 * and ends the measurement, at 3 GHz. Before, the cycles to the end of
 * the stall, past CALIBRATE_GIVE_UP, were taken for a clock that does not
 * run: "HPET advanced 499000 of 20000000 ticks ...; not running", 1 GHz */
static void test_tsc_hpet_stall_inside_a_bracket_not_a_stopped_clock(void **st)
{
	(void)st;
	assert_int_equal(calibrate_hpet_vm(1, 3, 0, 1000, 10000000000ull), 0);
	assert_model_rate();
	assert_int_equal(nlines, 1);
	assert_non_null(strstr(last_line, "calibrated against HPET)"));
}

/* TSC_HZ_MIN (100 MHz) and TSC_HZ_MAX (16 GHz) are believed, to the
 * hertz; 17 GHz is not, said once, naming the clock */
static void test_tsc_rate_bounds_TSC_HZ_MIN_and_MAX_inclusive(void **st)
{
	(void)st;
	assert_int_equal(calibrate_hpet_vm(10, 0, 10, 0, 0), 0);
	assert_int_equal(time_tsc_hz(), 100000000ull);
	assert_int_equal(calibrate_hpet_vm(1, 16, 0, 0, 0), 0);
	assert_int_equal(time_tsc_hz(), 16000000000ull);
	assert_int_equal(calibrate_hpet_vm(1, 17, 0, 0, 0), -1);
	assert_int_equal(time_tsc_hz(), 16000000000ull);
	assert_int_equal(nlines, 1);
	assert_non_null(strstr(last_line, "HPET gave a TSC rate of 17000000 "
					  "kHz, outside 100000-16000000 kHz"));
}

/* time_delay_us returns at the first read of the clock at or past its
 * end, not a microsecond later; a delay of 0 reads the clock twice */
static void test_time_delay_us_ends_at_the_first_read_past(void **st)
{
	(void)st;
	assert_int_equal(calibrate_hpet_vm(1, 3, 0, 0, 0), 0);
	assert_int_equal(time_tsc_hz(), 3000000000ull); /* ns exact */
	tsc_host_rdtsc = model_rdtsc;
	vm.hpet_ns = 0;
	uint64_t first = (vm.ns + MODEL_STEP_NS) / 1000;
	time_delay_us(100);
	assert_int_equal(vm.ns / 1000, first + 100);
	uint64_t n = vm.rdtscs;
	time_delay_us(0);
	assert_int_equal(vm.rdtscs, n + 2);
	tsc_host_rdtsc = NULL;
}

/* time_delay_us(UINT64_MAX) saturates: its end is the end of time, never
 * a sum that wrapped to the past. The clock is read 1000 times (each read
 * a step later) and the delay is still waiting; the test leaves it. */
static jmp_buf delay_out;
static uint64_t delay_reads;
static uint64_t delay_rdtsc(void)
{
	if (++delay_reads == 1000)
		longjmp(delay_out, 1);
	return model_rdtsc();
}
static void test_time_delay_us_of_UINT64_MAX_saturates(void **st)
{
	(void)st;
	assert_int_equal(calibrate_hpet_vm(1, 3, 0, 0, 0), 0);
	tsc_host_rdtsc = delay_rdtsc;
	vm.hpet_ns = 0;
	delay_reads = 0;
	bool waited = false;
	if (setjmp(delay_out) == 0)
		time_delay_us(UINT64_MAX); /* returns only if it wrapped */
	else
		waited = true;
	tsc_host_rdtsc = NULL;
	assert_true(waited);
	assert_int_equal(delay_reads, 1000);
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
	    cmocka_unit_test(test_tsc_pm_ends_at_first_read_of_20ms),
	    cmocka_unit_test(test_tsc_pm_jitter_mixes_the_tsc_at_each_tick),
	    cmocka_unit_test(
		test_tsc_pm_bracket_of_CALIBRATE_BRACKET_MAX_is_narrow),
	    cmocka_unit_test(
		test_tsc_pm_wide_brackets_start_and_end_counted_apart),
	    cmocka_unit_test(
		test_tsc_pm_end_wide_CALIBRATE_BRACKET_TRIES_times_tried_again),
	    cmocka_unit_test(test_tsc_pm_gap_of_PM_GAP_MAX_kept),
	    cmocka_unit_test(test_tsc_pm_12GHz_gap_is_between_reads),
	    cmocka_unit_test(test_tsc_pm_stuck_given_up_past_CALIBRATE_GIVE_UP),
	    cmocka_unit_test(test_tsc_no_pm_timer_no_hpet),
	    cmocka_unit_test(test_tsc_hpet_period_bounds_inclusive),
	    cmocka_unit_test(
		test_tsc_hpet_64bit_stall_of_10s_scaled_under_2_63),
	    cmocka_unit_test(
		test_tsc_hpet_stall_inside_a_bracket_not_a_stopped_clock),
	    cmocka_unit_test(test_tsc_rate_bounds_TSC_HZ_MIN_and_MAX_inclusive),
	    cmocka_unit_test(test_time_delay_us_ends_at_the_first_read_past),
	    cmocka_unit_test(test_time_delay_us_of_UINT64_MAX_saturates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
