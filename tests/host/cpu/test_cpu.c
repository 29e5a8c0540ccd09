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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/cpu/cpu.h"
#include "kernel/cpu/cpu_internal.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"

/* ---- what cpu.c calls outside kernel/cpu -------------------------------- */
/* the stubs' addresses, each different in every 16-bit part of the gate */
#define H(i)   (0x0123456789abcdefull ^ ((uint64_t)(i)*0x0001000100010001ull))
#define R4(b)  H(b), H(b + 1), H(b + 2), H(b + 3)
#define R16(b) R4(b), R4(b + 4), R4(b + 8), R4(b + 12)
#define R64(b) R16(b), R16(b + 16), R16(b + 32), R16(b + 48)
const uint64_t isr_stub_table[256] = {R64(0), R64(64), R64(128), R64(192)};
char __image_end[1];
uint64_t boot_image_base;
static unsigned stacks; /* stacks handed out: each 0x10000 apart */
uint64_t mm_stack_alloc(size_t n)
{
	assert_int_equal(n, 4);
	return 0x7f0000000000ull + 0x10000ull * ++stacks;
}
/* the backtrace's page-table walk: present inside [walk_lo, walk_hi) (a
 * test's frames) and, with low_present, below 0x1000; with walk_faults it
 * faults (a page fault taken inside it), up to 8 deep so the old code
 * ends too */
static bool walk_faults, low_present;
static unsigned walk_depth;
static uint64_t walk_lo, walk_hi;
void isr_dispatch(struct cpu_frame *f);
uint64_t mm_pte(uint64_t va)
{
	if (walk_faults && walk_depth < 8) {
		walk_depth++;
		struct cpu_frame f = {.vector = 14, .rip = 0x1234, .rbp = va};
		isr_dispatch(&f);
	}
	if ((va >= walk_lo && va < walk_hi) || (low_present && va < 0x1000))
		return MM_PTE_P;
	return 0;
}

static jmp_buf exited;
static int exit_status;
static int child_pipe = -1; /* in a child: lines go up it, then _exit */
static char lines[40][160];
static unsigned eois, nlines, reports;
void cpu_host_exit(bool pass)
{
	if (child_pipe >= 0) {
		for (unsigned i = 0; i < nlines && i < 40; i++)
			if (write(child_pipe, lines[i], strlen(lines[i])) < 0)
				_exit(98);
		_exit(pass ? 33 : 35);
	}
	exit_status = pass ? 1 : 2;
	longjmp(exited, 1);
}

/* CPUID (SDM vol. 2A): leaf 0 EAX the highest basic leaf; leaf 1 ECX bit
 * 30 RDRAND; leaf 7 subleaf 0 EBX bit 18 RDSEED. A leaf above the highest
 * returns the highest's data (Intel), here all ones, so a read of leaf 7
 * the CPU does not have claims RDSEED */
static struct {
	uint32_t max;
	bool rdrand, rdseed;
	/* the instructions: CF clear on every call after `good` calls (~0:
	 * never) and on the first `fail_first` calls of each */
	unsigned fail_first, good, seed_calls, rand_calls;
	bool seed_dry, rand_dry;
	unsigned seed_dry_from; /* RDSEED dry from this call on (0: never) */
	uint64_t next;
} cpu;

void cpu_host_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	memset(r, 0, 4 * sizeof(r[0]));
	if (leaf > cpu.max) {
		memset(r, 0xff, 4 * sizeof(r[0]));
		return;
	}
	if (leaf == 0)
		r[0] = cpu.max;
	if (leaf == 1)
		r[2] = (uint32_t)cpu.rdrand << 30;
	if (leaf == 7 && sub == 0)
		r[1] = (uint32_t)cpu.rdseed << 18;
}

bool cpu_host_rdrand(bool seed, uint64_t *v)
{
	/* only an instruction CPUID names may run (#UD otherwise) */
	assert_true(seed ? cpu.rdseed : cpu.rdrand);
	unsigned n = seed ? cpu.seed_calls++ : cpu.rand_calls++;
	if (n < cpu.fail_first || (seed ? cpu.seed_dry : cpu.rand_dry) ||
	    (seed && cpu.seed_dry_from && n >= cpu.seed_dry_from) ||
	    cpu.seed_calls + cpu.rand_calls > cpu.good) {
		*v = 0;
		return false;
	}
	*v = ++cpu.next;
	return true;
}

/* the loads of GDTR, IDTR (a 10-byte pseudo-descriptor, SDM vol. 3A
 * §3.5.1) and TR */
static struct {
	uint16_t gdt_lim, idt_lim, tr;
	uint64_t gdt, idt;
	unsigned loads;
} desc;

void cpu_host_load(const void *gdtr, const void *idtr, uint16_t tr)
{
	desc.loads++;
	if (gdtr) {
		memcpy(&desc.gdt_lim, gdtr, 2);
		memcpy(&desc.gdt, (const char *)gdtr + 2, 8);
		desc.tr = tr;
	}
	if (idtr) {
		memcpy(&desc.idt_lim, idtr, 2);
		memcpy(&desc.idt, (const char *)idtr + 2, 8);
	}
}

static struct {
	unsigned calls;
	char source[16];
	size_t len;
	bool strong;
} mixed;
void random_add(const char *source, const void *data, size_t len, bool strong)
{
	(void)data;
	mixed.calls++;
	snprintf(mixed.source, sizeof(mixed.source), "%s", source);
	mixed.len = len;
	mixed.strong = strong;
}

void lapic_eoi(void)
{
	eois++;
}
void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(lines[nlines % 40], sizeof(lines[0]), fmt, ap);
	va_end(ap);
	nlines++;
	reports += strstr(fmt, "EXCEPTION") != NULL;
}

static unsigned fired, fired_depth;
static void *fired_arg;
static void handler(void *arg)
{
	fired++;
	fired_arg = arg;
	fired_depth = cpu_isr_depth;
}

static void interrupt(uint8_t vector)
{
	struct cpu_frame f = {.vector = vector};
	isr_dispatch(&f);
}

static int setup(void **st)
{
	(void)st;
	eois = nlines = fired = 0;
	fired_arg = NULL;
	memset(&cpu, 0, sizeof(cpu));
	cpu.good = ~0u;
	memset(&mixed, 0, sizeof(mixed));
	walk_lo = walk_hi = 0;
	low_present = false;
	boot_image_base = (uint64_t)(uintptr_t)__image_end; /* none */
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
	/* the handler ran inside the count (auth_in_interrupt asks it), and
	 * it is back to 0 after */
	assert_int_equal(fired_depth, 1);
	assert_int_equal(cpu_isr_depth, 0);
	assert_int_equal(eois, 1);
	assert_int_equal(cpu_irqs_taken(), seen + 1);
	assert_int_equal(nlines, 0);
	vector_free(v);
	interrupt(v); /* freed: no handler, still acknowledged */
	assert_int_equal(fired, 1);
	assert_int_equal(eois, 2);
}

/* a withheld vector (a remapping entry the unit did not confirm gone may
 * still name it) runs no handler, is acknowledged and said as an unbound
 * one is, and is never handed out again, not even after every other
 * vector was */
static void test_withheld_vector(void **st)
{
	(void)st;
	int x;
	uint8_t v = vector_alloc(handler, &x);
	vector_withhold(v);
	interrupt(v);
	assert_int_equal(fired, 0);
	assert_int_equal(eois, 1);
	assert_int_equal(nlines, 1);
	uint8_t got[256] = {0};
	for (uint8_t w; (w = vector_alloc(handler, &x));)
		got[w] = 1;
	assert_int_equal(got[v], 0);
	for (unsigned w = 48; w < 0xf0; w++)
		vector_free((uint8_t)w);
}

/* the LAPIC's spurious vector sets no in-service bit: no EOI (SDM vol. 3A
 * §11.9), nothing else done */
static void test_spurious_not_acknowledged(void **st)
{
	(void)st;
	interrupt(0xff);
	assert_int_equal(eois, 0);
	assert_int_equal(nlines, 0);
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
	assert_int_equal(nlines, 10);
	interrupt(0x91); /* another vector is reported on its own */
	assert_int_equal(nlines, 11);
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

/* ---- cpu_init: GDT, TSS, IDT as the SDM lays them out ------------------- */

/* an interrupt gate per vector (SDM vol. 3A §6.14.1, Figure 6-8): the stub's
 * offset in three parts, the kernel code selector, type 0xe present at DPL
 * 0, IST 1 for the double fault and 2 for the NMI (§6.14.5), 0 for the
 * rest; the GDT's 64-bit TSS descriptor (§7.2.3, Figure 7-4: limit 103,
 * type 9, present, base in four parts) loaded into TR; in the TSS
 * (Figure 7-11) IST1 and IST2 at 0x24 and 0x2c are the stacks handed out,
 * and the I/O map base at 0x66 is the TSS's size: no I/O bitmap */
static void test_cpu_init_sdm_gates_tss_and_descriptors(void **st)
{
	(void)st;
	memset(&desc, 0, sizeof(desc));
	stacks = 0;
	cpu_init();
	assert_int_equal(desc.loads, 2);
	assert_int_equal(desc.idt_lim, 256 * 16 - 1);
	const uint8_t *idt = (const uint8_t *)(uintptr_t)desc.idt;
	for (unsigned v = 0; v < 256; v++) {
		const uint8_t *g = idt + 16 * v;
		uint16_t off0, sel, off1;
		uint32_t off2, rsvd;
		memcpy(&off0, g, 2);
		memcpy(&sel, g + 2, 2);
		memcpy(&off1, g + 6, 2);
		memcpy(&off2, g + 8, 4);
		memcpy(&rsvd, g + 12, 4);
		assert_int_equal(
		    (uint64_t)off2 << 32 | (uint64_t)off1 << 16 | off0, H(v));
		assert_int_equal(sel, 0x08);
		assert_int_equal(g[4], v == 8 ? 1 : v == 2 ? 2 : 0);
		assert_int_equal(g[5], 0x8e);
		assert_int_equal(rsvd, 0);
	}
	assert_int_equal(desc.gdt_lim, 5 * 8 - 1);
	const uint64_t *gdt = (const uint64_t *)(uintptr_t)desc.gdt;
	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[1], 0x00af9a000000ffffull); /* L, P, code */
	assert_int_equal(gdt[2], 0x00cf92000000ffffull); /* P, data */
	assert_int_equal(desc.tr, 0x18);
	uint64_t lo = gdt[3], hi = gdt[4];
	assert_int_equal((lo & 0xffff) | ((lo >> 48) & 0xf) << 16, 103);
	assert_int_equal((lo >> 40) & 0xff, 0x89); /* P, DPL 0, type 9 */
	uint64_t base = ((lo >> 16) & 0xffffff) | ((lo >> 56) & 0xff) << 24 |
			(hi & 0xffffffff) << 32;
	assert_int_equal(hi >> 32, 0);
	const uint8_t *tss = (const uint8_t *)(uintptr_t)base;
	uint64_t ist1, ist2;
	uint16_t iomap;
	memcpy(&ist1, tss + 0x24, 8);
	memcpy(&ist2, tss + 0x2c, 8);
	memcpy(&iomap, tss + 0x66, 2);
	assert_int_equal(ist1, 0x7f0000000000ull + 0x10000);
	assert_int_equal(ist2, 0x7f0000000000ull + 0x20000);
	assert_int_equal(iomap, 104);
}

/* ---- cpu_seed_random: CPUID, RDSEED, RDRAND ----------------------------- */

/* neither instruction (CPUID.1:ECX[30], CPUID.(7,0):EBX[18]): neither is
 * run (#UD), nothing is added and nothing said */
static void test_seed_random_neither_instruction(void **st)
{
	(void)st;
	cpu.max = 7;
	cpu_seed_random();
	assert_int_equal(cpu.seed_calls + cpu.rand_calls, 0);
	assert_int_equal(mixed.calls, 0);
	assert_int_equal(nlines, 0);
}

/* RDSEED when leaf 7 says so: four values, 32 bytes, strong */
static void test_seed_random_rdseed_four_values(void **st)
{
	(void)st;
	cpu.max = 7; /* leaf 7 is the highest: still read */
	cpu.rdseed = cpu.rdrand = true;
	cpu_seed_random();
	assert_int_equal(cpu.seed_calls, 4);
	assert_int_equal(cpu.rand_calls, 0);
	assert_int_equal(mixed.calls, 1);
	assert_string_equal(mixed.source, "rdseed");
	assert_int_equal(mixed.len, 32);
	assert_true(mixed.strong);
}

/* a CPU whose highest basic leaf is 6 has no leaf 7 to read (its reply
 * would be leaf 6's, here claiming RDSEED): RDRAND is used */
static void test_seed_random_no_leaf_7_rdrand(void **st)
{
	(void)st;
	cpu.max = 6;
	cpu.rdrand = true;
	cpu_seed_random();
	assert_int_equal(cpu.seed_calls, 0);
	assert_int_equal(cpu.rand_calls, 4);
	assert_string_equal(mixed.source, "rdrand");
	assert_true(mixed.strong);
}

/* RDSEED may run dry (CF = 0): ten tries a value (Intel's DRNG guide),
 * then RDRAND for that value when the CPU has it */
static void test_seed_random_rdseed_dry_falls_back_to_rdrand(void **st)
{
	(void)st;
	cpu.max = 7;
	cpu.rdseed = cpu.rdrand = true;
	cpu.seed_dry = true;
	cpu_seed_random();
	assert_int_equal(cpu.seed_calls, 4 * 10);
	assert_int_equal(cpu.rand_calls, 4);
	assert_int_equal(mixed.calls, 1);
	assert_string_equal(mixed.source, "rdrand"); /* named for what it was */
	assert_int_equal(nlines, 0);
}

/* RDSEED dry half-way: the two values it could not give come from
 * RDRAND, and the source is named for both */
static void test_seed_random_rdseed_dry_half_way_named_for_both(void **st)
{
	(void)st;
	cpu.max = 7;
	cpu.rdseed = cpu.rdrand = true;
	cpu.seed_dry_from = 2;
	cpu_seed_random();
	assert_int_equal(cpu.seed_calls, 2 + 2 * 10);
	assert_int_equal(cpu.rand_calls, 2);
	assert_int_equal(mixed.calls, 1);
	assert_string_equal(mixed.source, "rdseed+rdrand");
	assert_int_equal(nlines, 0);
}

/* without RDRAND, a dry RDSEED is one line naming how many values came,
 * and nothing is added: a value short is no seed */
static void test_seed_random_rdseed_dry_without_rdrand_said(void **st)
{
	(void)st;
	cpu.max = 7;
	cpu.rdseed = true;
	cpu.good = 2; /* two values, then dry */
	cpu_seed_random();
	assert_int_equal(cpu.seed_calls, 2 + 10);
	assert_int_equal(mixed.calls, 0);
	assert_int_equal(nlines, 1);
	assert_string_equal(lines[0],
			    "random: RDSEED ran dry (2 of 4 values)\n");
}

/* the tenth try is the last: nine failures then a value is kept, ten are
 * a dry instruction */
static void test_seed_random_ten_tries_a_value(void **st)
{
	(void)st;
	cpu.max = 7;
	cpu.rdrand = true;
	cpu.fail_first = 9;
	cpu_seed_random();
	assert_int_equal(cpu.rand_calls, 9 + 4);
	assert_int_equal(mixed.calls, 1);
	setup(NULL);
	cpu.max = 7;
	cpu.rdrand = true;
	cpu.fail_first = 10;
	cpu_seed_random();
	assert_int_equal(cpu.rand_calls, 10);
	assert_int_equal(mixed.calls, 0);
	assert_string_equal(lines[0],
			    "random: RDRAND ran dry (0 of 4 values)\n");
}

/* ---- cpu_backtrace: a frame-pointer walk over memory it may not trust ---- */

/* frames in host memory: frame i at mem[4 i], its saved rbp (fp[0]) the
 * next frame, its return address (fp[1]) 0x1001 + 0x10 i */
static uint64_t mem[4 * 48] __attribute__((aligned(16)));

static uint64_t frames(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		mem[4 * i] = (uint64_t)(uintptr_t)&mem[4 * (i + 1)];
		mem[4 * i + 1] = 0x1001 + 0x10 * i;
	}
	mem[4 * n] = 0;
	mem[4 * n + 1] = 0; /* no return address: the end */
	walk_lo = (uint64_t)(uintptr_t)mem;
	walk_hi = walk_lo + sizeof(mem);
	return walk_lo;
}

/* 32 frames at most, #0 (the rip) to #31: the header and 32 lines */
static void test_backtrace_at_most_32_frames(void **st)
{
	(void)st;
	cpu_backtrace(frames(40), 0x999);
	assert_int_equal(nlines, 1 + 32);
	assert_string_equal(lines[1], "  #0 0x999\n");
	assert_string_equal(lines[2], "  #1 0x1000\n");
	assert_string_equal(lines[32], "  #31 0x11e0\n");
	/* a chain of 3 ends at the frame with no return address */
	setup(NULL);
	cpu_backtrace(frames(3), 0x999);
	assert_int_equal(nlines, 1 + 1 + 3);
	assert_string_equal(lines[4], "  #3 0x1020\n");
}

/* a frame pointer that is misaligned, below 0x1000, or whose frame (either
 * word) is not mapped ends the walk before it is read */
static void test_backtrace_untrusted_frame_pointer_ends_walk(void **st)
{
	(void)st;
	uint64_t rbp = frames(8);
	cpu_backtrace(rbp + 4, 0x999); /* misaligned, in mapped memory */
	assert_int_equal(nlines, 2);
	setup(NULL);
	rbp = frames(8);
	low_present = true; /* a walk that says page 0 is present */
	cpu_backtrace(0x800, 0x999);
	assert_int_equal(nlines, 2);
	setup(NULL);
	rbp = frames(8);
	walk_lo = rbp + 8; /* fp[0] not mapped, fp[1] mapped */
	cpu_backtrace(rbp, 0x999);
	assert_int_equal(nlines, 2);
	setup(NULL);
	rbp = frames(8);
	walk_hi = rbp + 8; /* fp[0] mapped, fp[1] not */
	cpu_backtrace(rbp, 0x999);
	assert_int_equal(nlines, 2);
}

/* a saved rbp at or below its own frame (a loop, a corrupt link) ends the
 * walk after that frame: stacks grow down, callers' frames lie above */
static void test_backtrace_link_not_upward_ends_walk(void **st)
{
	(void)st;
	uint64_t rbp = frames(8);
	mem[4 * 2] = (uint64_t)(uintptr_t)&mem[4 * 2]; /* frame 2 to itself */
	cpu_backtrace(rbp, 0x999);
	assert_int_equal(nlines, 1 + 1 + 3);
	setup(NULL);
	rbp = frames(8);
	mem[4 * 1] = rbp; /* frame 1 back down to frame 0 */
	cpu_backtrace(rbp, 0x999);
	assert_int_equal(nlines, 1 + 1 + 2);
}

/* an address in the image, base to one before __image_end, is printed
 * as capos+offset for addr2line; outside it, as it is */
static void test_backtrace_image_addresses(void **st)
{
	(void)st;
	uint64_t end = (uint64_t)(uintptr_t)__image_end;
	boot_image_base = end - 0x100;
	char want[64];
	cpu_backtrace(0, end - 0x100);
	assert_string_equal(lines[1], "  #0 capos+0x0\n");
	cpu_backtrace(0, end - 1);
	assert_string_equal(lines[3], "  #0 capos+0xff\n");
	cpu_backtrace(0, end);
	snprintf(want, sizeof(want), "  #0 0x%lx\n", (unsigned long)end);
	assert_string_equal(lines[5], want);
	cpu_backtrace(0, end - 0x101);
	snprintf(want, sizeof(want), "  #0 0x%lx\n",
		 (unsigned long)end - 0x101);
	assert_string_equal(lines[7], want);
}

/* ---- exceptions, each in a child (the report stops the kernel) --------- */

/* an exception in a child process: its first line, and how it exited */
static int exception_in_child(uint64_t vector, char *first, size_t n)
{
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		child_pipe = fd[1];
		nlines = 0;
		struct cpu_frame f = {.vector = vector, .rip = 0x5678};
		isr_dispatch(&f);
		_exit(99); /* the exception returned */
	}
	close(fd[1]);
	char buf[4096];
	ssize_t got = 0, r;
	while ((r = read(fd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += r;
	buf[got] = 0;
	close(fd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	const char *l = buf[0] == '\n' ? buf + 1 : buf;
	const char *e = strchr(l, '\n');
	snprintf(first, n, "%.*s", e ? (int)(e - l) : (int)strlen(l), l);
	return WEXITSTATUS(status);
}

/* vectors 0-31 are exceptions (SDM vol. 3A §6.3.1, Table 6-1), named up
 * to 21 (#CP); the reserved ones are '?'. Each report ends in cpu_exit
 * as a failure (QEMU's status 35) */
static void test_exception_named_reported_and_stopped(void **st)
{
	(void)st;
	char first[160];
	assert_int_equal(exception_in_child(14, first, sizeof(first)), 35);
	assert_string_equal(first, "EXCEPTION 14 (page fault) error=0x0");
	assert_int_equal(exception_in_child(0, first, sizeof(first)), 35);
	assert_string_equal(first, "EXCEPTION 0 (divide error) error=0x0");
	assert_int_equal(exception_in_child(21, first, sizeof(first)), 35);
	assert_string_equal(first,
			    "EXCEPTION 21 (control protection) error=0x0");
	assert_int_equal(exception_in_child(31, first, sizeof(first)), 35);
	assert_string_equal(first, "EXCEPTION 31 (?) error=0x0");
}

/* vector 32, the first past the exceptions, is an interrupt: acknowledged
 * and reported as unbound, not an exception */
static void test_vector_32_is_an_interrupt(void **st)
{
	(void)st;
	interrupt(32);
	assert_int_equal(eois, 1);
	assert_int_equal(nlines, 1);
	assert_string_equal(lines[0],
			    "cpu: interrupt on unbound vector 32 (1 so far)\n");
}

/* vector_alloc hands out 48 to 0xef, each once (below 48 the exceptions
 * and the 8259s' old range, from 0xf0 the LAPIC's own), then 0 */
static void test_vector_alloc_48_to_0xef(void **st)
{
	(void)st;
	int x;
	uint8_t got[256] = {0};
	unsigned n = 0;
	for (;;) {
		uint8_t v = vector_alloc(handler, &x);
		if (!v)
			break;
		assert_true(v >= 48 && v <= 0xef);
		assert_int_equal(got[v], 0);
		got[v] = 1;
		n++;
	}
	assert_int_equal(n, 0xf0 - 48);
	vector_free(100);
	assert_int_equal(vector_alloc(handler, NULL), 100);
	for (unsigned v = 48; v < 0xf0; v++)
		vector_free((uint8_t)v);
}

/* cpu_exit runs its hook once, cleared before it runs (a fault inside the
 * hook reaches cpu_exit again and must not loop), then exits */
static unsigned hooks;
static void hook(void)
{
	hooks++;
	assert_null(cpu_exit_hook);
}

static void test_cpu_exit_hook_once(void **st)
{
	(void)st;
	hooks = 0;
	cpu_exit_hook = hook;
	if (!setjmp(exited))
		cpu_exit(true);
	assert_int_equal(exit_status, 1);
	assert_int_equal(hooks, 1);
	if (!setjmp(exited))
		cpu_exit(false);
	assert_int_equal(exit_status, 2);
	assert_int_equal(hooks, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* first: an exception stops the kernel, so cpu.c reports one a
	     * process (the children fork from a process that took none) */
	    cmocka_unit_test_setup(test_exception_named_reported_and_stopped,
				   setup),
	    cmocka_unit_test_setup(test_bound_vector, setup),
	    cmocka_unit_test_setup(test_withheld_vector, setup),
	    cmocka_unit_test_setup(test_spurious_not_acknowledged, setup),
	    cmocka_unit_test_setup(test_unbound_storm, setup),
	    cmocka_unit_test_setup(test_fault_inside_report, setup),
	    cmocka_unit_test_setup(test_cpu_init_sdm_gates_tss_and_descriptors,
				   setup),
	    cmocka_unit_test_setup(test_seed_random_neither_instruction, setup),
	    cmocka_unit_test_setup(test_seed_random_rdseed_four_values, setup),
	    cmocka_unit_test_setup(test_seed_random_no_leaf_7_rdrand, setup),
	    cmocka_unit_test_setup(
		test_seed_random_rdseed_dry_falls_back_to_rdrand, setup),
	    cmocka_unit_test_setup(
		test_seed_random_rdseed_dry_half_way_named_for_both, setup),
	    cmocka_unit_test_setup(
		test_seed_random_rdseed_dry_without_rdrand_said, setup),
	    cmocka_unit_test_setup(test_seed_random_ten_tries_a_value, setup),
	    cmocka_unit_test_setup(test_backtrace_at_most_32_frames, setup),
	    cmocka_unit_test_setup(
		test_backtrace_untrusted_frame_pointer_ends_walk, setup),
	    cmocka_unit_test_setup(test_backtrace_link_not_upward_ends_walk,
				   setup),
	    cmocka_unit_test_setup(test_backtrace_image_addresses, setup),
	    cmocka_unit_test_setup(test_vector_32_is_an_interrupt, setup),
	    cmocka_unit_test_setup(test_vector_alloc_48_to_0xef, setup),
	    cmocka_unit_test_setup(test_cpu_exit_hook_once, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
