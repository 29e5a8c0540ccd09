/* kernel/cpu/cpu.c — GDT with a TSS, IDT, exception reporting and vector
 * dispatch (Intel SDM vol. 3A ch. 3, 6, 7). */
#include "kernel/cpu/cpu.h"
#include "cpu_internal.h"
#include "kernel/boot/boot.h"
#include "kernel/lib/io.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/random.h"
#include "kernel/mm/mm.h"

#ifdef CAPOS_HOST
/* the host test (tests/host/cpu) plays the control registers, the exit,
 * CPUID, one RDSEED or RDRAND (its CF) and the loads of GDTR, IDTR and TR */
__attribute__((noreturn)) void cpu_host_exit(bool pass);
void cpu_host_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]);
bool cpu_host_rdrand(bool seed, uint64_t *v);
void cpu_host_load(const void *gdtr, const void *idtr, uint16_t tr);
#define read_cr2() 0ul
#define read_cr3() 0ul
#endif

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS	 0x18
#define IST_DF	 1 /* double fault: a stack overflow into the guard page */
#define IST_NMI	 2

struct tss {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3, iomap;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS layout");

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_entry) == 16, "IDT entry layout");

static uint64_t gdt[5];
static struct tss tss;
static struct idt_entry idt[256];
extern const uint64_t isr_stub_table[256];

static struct {
	void (*fn)(void *);
	void *arg;
} vectors[256];

static const char *const exc_names[32] = {"divide error",
					  "debug",
					  "NMI",
					  "breakpoint",
					  "overflow",
					  "bound range",
					  "invalid opcode",
					  "device not available",
					  "double fault",
					  "coprocessor overrun",
					  "invalid TSS",
					  "segment not present",
					  "stack fault",
					  "general protection",
					  "page fault",
					  "reserved",
					  "x87 FP",
					  "alignment check",
					  "machine check",
					  "SIMD FP",
					  "virtualization",
					  "control protection"};

static void gdt_load(void)
{
	gdt[1] = 0x00af9a000000ffffull; /* 64-bit code, DPL 0 */
	gdt[2] = 0x00cf92000000ffffull; /* data */
	uint64_t t = (uint64_t)&tss, lim = sizeof(tss) - 1;
	gdt[3] = (lim & 0xffff) | (t & 0xffffff) << 16 | 0x89ull << 40 |
		 ((lim >> 16) & 0xf) << 48 | ((t >> 24) & 0xff) << 56;
	gdt[4] = t >> 32;
	struct {
		uint16_t lim;
		uint64_t base;
	} __attribute__((packed)) d = {sizeof(gdt) - 1, (uint64_t)gdt};
#ifdef CAPOS_HOST
	cpu_host_load(&d, NULL, SEL_TSS);
#else
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "mov %2, %%fs\n\t"
			 "mov %2, %%gs\n\t"
			 "ltr %w3" ::"m"(d),
			 "i"(SEL_CODE), "r"(SEL_DATA), "r"(SEL_TSS)
			 : "rax", "memory");
#endif
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
#ifdef CAPOS_HOST
	cpu_host_cpuid(leaf, sub, r);
#else
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
#endif
}

/* one RDSEED (seed = true) or RDRAND value; the instruction may run dry
 * for a moment (CF = 0), so a few tries (Intel's DRNG guide: 10) */
static bool hw_random(bool seed, uint64_t *v)
{
	for (int i = 0; i < 10; i++) {
		uint8_t ok;
#ifdef CAPOS_HOST
		ok = cpu_host_rdrand(seed, v);
#else
		if (seed)
			__asm__ volatile("rdseed %0; setc %1"
					 : "=r"(*v), "=qm"(ok)::"cc");
		else
			__asm__ volatile("rdrand %0; setc %1"
					 : "=r"(*v), "=qm"(ok)::"cc");
#endif
		if (ok)
			return true;
	}
	return false;
}

void cpu_seed_random(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	uint32_t max = r[0];
	cpuid(1, 0, r);
	bool rdrand = r[2] >> 30 & 1, rdseed = false;
	if (max >= 7) {
		cpuid(7, 0, r);
		rdseed = r[1] >> 18 & 1;
	}
	if (!rdrand && !rdseed)
		return;
	uint64_t v[4];
	unsigned n = 0, from_rdrand = 0;
	for (; n < 4; n++) {
		if (hw_random(rdseed, &v[n]))
			continue;
		if (!(rdseed && rdrand && hw_random(false, &v[n])))
			break;
		from_rdrand++;
	}
	if (n < 4) {
		kprintf("random: %s ran dry (%u of 4 values)\n",
			rdseed ? "RDSEED" : "RDRAND", n);
		return;
	}
	/* the source's name says what the values came from: a value RDSEED
	 * could not give came from RDRAND */
	const char *src = !rdseed || from_rdrand == 4 ? "rdrand"
			  : from_rdrand		      ? "rdseed+rdrand"
						      : "rdseed";
	random_add(src, v, sizeof(v), true);
}

void cpu_init(void)
{
	tss.ist[IST_DF - 1] = mm_stack_alloc(4);
	tss.ist[IST_NMI - 1] = mm_stack_alloc(4);
	tss.iomap = sizeof(tss);
	gdt_load();
	for (int v = 0; v < 256; v++) {
		uint64_t h = isr_stub_table[v];
		idt[v] = (struct idt_entry){
		    .off0 = h & 0xffff,
		    .sel = SEL_CODE,
		    .ist = v == 8   ? IST_DF
			   : v == 2 ? IST_NMI
				    : 0,
		    .type = 0x8e, /* present, DPL 0, interrupt gate */
		    .off1 = (h >> 16) & 0xffff,
		    .off2 = h >> 32};
	}
	struct {
		uint16_t lim;
		uint64_t base;
	} __attribute__((packed)) d = {sizeof(idt) - 1, (uint64_t)idt};
#ifdef CAPOS_HOST
	cpu_host_load(NULL, &d, 0);
#else
	__asm__ volatile("lidt %0" ::"m"(d));
#endif
}

static void print_addr(const char *label, uint64_t a)
{
	uint64_t base = boot_image_base;
	extern char __image_end[];
	if (a >= base && a < (uint64_t)__image_end)
		kprintf("%s capos+0x%lx\n", label, a - base);
	else
		kprintf("%s 0x%lx\n", label, a);
}

void cpu_backtrace(uint64_t rbp, uint64_t rip)
{
	kprintf("backtrace (image base 0x%lx; symbolise with addr2line -f -e "
		"build/capos.elf):\n",
		boot_image_base);
	print_addr("  #0", rip);
	for (int i = 1; i < 32 && rbp; i++) {
		/* walk only through aligned, mapped memory: a corrupt frame
		 * pointer ends the walk instead of faulting in the handler */
		if (rbp & 7 || rbp < 0x1000 || !(mm_pte(rbp) & MM_PTE_P) ||
		    !(mm_pte(rbp + 8) & MM_PTE_P))
			break;
		uint64_t *fp = (uint64_t *)rbp;
		if (!fp[1])
			break;
		char label[8];
		ksnprintf(label, sizeof(label), "  #%d", i);
		/* the return address points after the call */
		print_addr(label, fp[1] - 1);
		if (fp[0] <= rbp)
			break;
		rbp = fp[0];
	}
}

static __attribute__((noreturn)) void exception(struct cpu_frame *f)
{
	/* a fault inside the report (the backtrace's page-table walk over
	 * corrupt tables, say) would report again and fault again, for ever:
	 * a double fault's IST stack starts afresh each time. Said once,
	 * and the kernel stops */
	static bool reporting;
	const char *name =
	    f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "?";
	kprintf("\nEXCEPTION %lu (%s) error=0x%lx%s\n", f->vector, name,
		f->error, reporting ? " inside the exception report" : "");
	print_addr("  rip", f->rip);
	if (reporting)
		cpu_exit(false);
	reporting = true;
	kprintf("  cs=0x%lx rflags=0x%lx rsp=0x%lx ss=0x%lx\n", f->cs,
		f->rflags, f->rsp, f->ss);
	kprintf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f->rax,
		f->rbx, f->rcx, f->rdx);
	kprintf("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n", f->rsi,
		f->rdi, f->rbp, f->r8);
	kprintf("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n", f->r9,
		f->r10, f->r11, f->r12);
	kprintf("  r13=%016lx r14=%016lx r15=%016lx\n", f->r13, f->r14, f->r15);
	kprintf("  cr2=%016lx cr3=%016lx\n", read_cr2(), read_cr3());
	cpu_backtrace(f->rbp, f->rip);
	cpu_exit(false);
}

static volatile uint64_t irqs_taken;
/* interrupts on a vector nobody bound: a device firing after its Interrupt
 * was revoked (it may ignore the mask bit), or in a storm. Each is
 * acknowledged; the report comes at the 1st, 2nd, 4th, 8th... on each
 * vector, so a storm costs an EOI each, not a serial line (Linux rate-limits
 * its "No irq handler for vector" line the same way) */
static uint64_t unbound[256];

uint64_t cpu_irqs_taken(void)
{
	return irqs_taken;
}

void cpu_wait_irq(uint64_t seen)
{
	__asm__ volatile("cli" ::: "memory");
	if (irqs_taken == seen)
		__asm__ volatile("sti; hlt" ::: "memory");
	else
		__asm__ volatile("sti" ::: "memory");
}

/* the handler of a withheld vector (vector_withhold): allocated for good,
 * never called (isr_dispatch counts its interrupts as unbound) */
static void vector_withheld(void *arg)
{
	(void)arg;
}

void isr_dispatch(struct cpu_frame *f)
{
	if (f->vector < 32)
		exception(f);
	if (f->vector == 0xff) /* spurious: no EOI (SDM §11.9) */
		return;
	if (vectors[f->vector].fn && vectors[f->vector].fn != vector_withheld) {
		cpu_isr_depth++;
		vectors[f->vector].fn(vectors[f->vector].arg);
		cpu_isr_depth--;
	} else {
		if (line_due(++unbound[f->vector]))
			kprintf("cpu: interrupt on unbound vector %lu (%lu so "
				"far)\n",
				f->vector, unbound[f->vector]);
	}
	irqs_taken++;
	lapic_eoi();
}

uint8_t vector_alloc(void (*handler)(void *), void *arg)
{
	for (int v = 48; v < 0xf0; v++)
		if (!vectors[v].fn) {
			vectors[v].arg = arg;
			vectors[v].fn = handler;
			return (uint8_t)v;
		}
	return 0;
}

void vector_free(uint8_t v)
{
	vectors[v].fn = NULL;
	vectors[v].arg = NULL;
}

void vector_withhold(uint8_t v)
{
	vectors[v].fn = vector_withheld;
	vectors[v].arg = NULL;
}

void irq_enable(void)
{
	__asm__ volatile("sti");
}

void (*cpu_exit_hook)(void);

/* isa-debug-exit at 0xf4: QEMU exits with (value << 1) | 1 */
void cpu_exit(bool pass)
{
	void (*hook)(void) = cpu_exit_hook;
	cpu_exit_hook = NULL; /* a fault inside the hook must not loop */
	if (hook)
		hook();
#ifdef CAPOS_HOST
	cpu_host_exit(pass);
#endif
	outw(0xf4, pass ? 0x10 : 0x11);
	__asm__ volatile("cli");
	for (;;)
		__asm__ volatile("hlt");
}
