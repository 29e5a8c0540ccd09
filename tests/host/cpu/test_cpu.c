/* tests/host/cpu/test_cpu.c — interrupt dispatch (kernel/cpu/cpu.c +
 * isr_dispatch) with the CPU's frames built by hand: a bound vector runs its
 * handler, every interrupt but the spurious one is acknowledged (EOI), and
 * a storm on a vector nobody bound — a device that keeps firing after its
 * Interrupt was revoked — cannot keep the CPU printing; an exception
 * inside the exception report ends the report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/cpu/cpu.h"
#include "kernel/cpu/cpu_internal.h"
#include "kernel/lib/lib.h"

/* ---- what cpu.c calls outside kernel/cpu -------------------------------- */
const uint64_t isr_stub_table[256];
char __image_end[1];
uint64_t boot_image_base;
uint64_t mm_stack_alloc(size_t n)
{
	(void)n;
	return 0;
}
/* the backtrace's page-table walk; with walk_faults set it faults (a
 * page fault taken inside it), up to 8 deep so the old code ends too */
static bool walk_faults;
static unsigned walk_depth;
void isr_dispatch(struct cpu_frame *f);
uint64_t mm_pte(uint64_t va)
{
	if (walk_faults && walk_depth < 8) {
		walk_depth++;
		struct cpu_frame f = {.vector = 14, .rip = 0x1234, .rbp = va};
		isr_dispatch(&f);
	}
	return 0;
}

static jmp_buf exited;
static int exit_status;
void cpu_host_exit(bool pass)
{
	exit_status = pass ? 1 : 2;
	longjmp(exited, 1);
}
void random_add(const char *source, const void *data, size_t len, bool strong)
{
	(void)source, (void)data, (void)len, (void)strong;
}

static unsigned eois, lines, reports;
void lapic_eoi(void)
{
	eois++;
}
void kprintf(const char *fmt, ...)
{
	lines++;
	reports += strstr(fmt, "EXCEPTION") != NULL;
}

static unsigned fired;
static void *fired_arg;
static void handler(void *arg)
{
	fired++;
	fired_arg = arg;
}

static void interrupt(uint8_t vector)
{
	struct cpu_frame f = {.vector = vector};
	isr_dispatch(&f);
}

static int setup(void **st)
{
	(void)st;
	eois = lines = fired = 0;
	fired_arg = NULL;
	return 0;
}

static void test_bound_vector(void **st)
{
	(void)st;
	int x;
	uint8_t v = vector_alloc(handler, &x);
	assert_true(v >= 48 && v < 0xf0);
	uint64_t seen = cpu_irqs_taken();
	interrupt(v);
	assert_int_equal(fired, 1);
	assert_ptr_equal(fired_arg, &x);
	assert_int_equal(eois, 1);
	assert_int_equal(cpu_irqs_taken(), seen + 1);
	assert_int_equal(lines, 0);
	vector_free(v);
	interrupt(v); /* freed: no handler, still acknowledged */
	assert_int_equal(fired, 1);
	assert_int_equal(eois, 2);
}

/* the LAPIC's spurious vector sets no in-service bit: no EOI (SDM vol. 3A
 * §11.9), nothing else done */
static void test_spurious_not_acknowledged(void **st)
{
	(void)st;
	interrupt(0xff);
	assert_int_equal(eois, 0);
	assert_int_equal(lines, 0);
}

/* a storm on an unbound vector: every interrupt acknowledged (a missing
 * EOI would block every vector of its priority and below), but reported
 * at the 1st, 2nd, 4th, ... only: 10 lines for 1000 interrupts */
static void test_unbound_storm(void **st)
{
	(void)st;
	for (unsigned i = 0; i < 1000; i++)
		interrupt(0x90);
	assert_int_equal(eois, 1000);
	assert_int_equal(lines, 10);
	interrupt(0x91); /* another vector is reported on its own */
	assert_int_equal(lines, 11);
	assert_int_equal(eois, 1001);
}

/* a page fault inside the exception report (its backtrace walks page
 * tables that may be what is corrupt) is said in one more line and the
 * kernel stops; before, each nested fault reported again and faulted
 * again, for ever on the kernel (a double fault restarts its stack) */
static void test_fault_inside_report(void **st)
{
	(void)st;
	reports = 0;
	walk_faults = true;
	if (!setjmp(exited)) {
		struct cpu_frame f = {
		    .vector = 13, .rip = 0x5678, .rbp = 0x8000};
		isr_dispatch(&f);
		fail_msg("the exception returned");
	}
	walk_faults = false;
	assert_int_equal(exit_status, 2); /* failure */
	assert_int_equal(reports, 2);
	assert_int_equal(walk_depth, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_bound_vector, setup),
	    cmocka_unit_test_setup(test_spurious_not_acknowledged, setup),
	    cmocka_unit_test_setup(test_unbound_storm, setup),
	    cmocka_unit_test_setup(test_fault_inside_report, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
