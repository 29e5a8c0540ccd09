/* tests/host/mm/test_paging.c — the page tables kernel/mm/paging.c builds
 * from UEFI memory maps built here, read back entry by entry with mm_pte:
 * each range's memory type (write-back only with EFI_MEMORY_WB, uncached
 * otherwise and for MMIO, uncached where entries overlap), device mappings
 * (mm_map_mmio) and the PAT the kernel writes (Intel SDM vol. 3A, "Page
 * Attribute Table (PAT)"). The page tables come from kernel/mm/pmm.c over a
 * window of host memory at its physical address, as in test_pmm.c; the
 * privileged instructions are played here (paging_host_*). pmm and paging
 * keep their state in statics, so each case runs in a child process. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

#include <efi.h>

#include "kernel/boot/boot.h"
#include "kernel/boot/boot_internal.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/mm_internal.h"
#include "shim.h"

#define MM_TEST_MAP_MAX 4200
#include "mm_window.h"

#define MIB 0x100000ull

#include "efi_spec.h"
#define A_RAM (A_UC | A_WC | A_WT | A_WB)

/* what the PTE's PWT and PCD bits select (PAT entry 0 or 3 as the kernel
 * writes the PAT) */
#define CACHE (MM_PTE_PWT | MM_PTE_PCD)
#define WB    0ull
#define UC    (MM_PTE_PWT | MM_PTE_PCD)
#define PS    (1ull << 7)

/* the IA32_PAT at reset (SDM: WB, WT, UC-, UC, twice), written from the
 * SDM's memory type encodings, not from kernel/mm */
#define PAT_RESET 0x0007040600070406ull
#define MSR_PAT	  0x277u
#define MSR_EFER  0xc0000080u
#define CR0_WP	  (1ull << 16)
#define CR0_NW	  (1ull << 29)
#define CR0_CD	  (1ull << 30)
#define CR4_PGE	  (1ull << 7)

struct boot_memmap boot_mmap;
uint64_t boot_image_base;

/* the "image": four pages of host memory; text is the second, data the
 * fourth (the linker script's symbols, set here) */
char test_image[4 * PG] __attribute__((aligned(4096)));
__asm__(".globl __text_start\n.set __text_start, test_image + 4096\n"
	".globl __text_end\n.set __text_end, test_image + 8192\n"
	".globl __rodata_start\n.set __rodata_start, test_image + 8192\n"
	".globl __rodata_end\n.set __rodata_end, test_image + 12288\n"
	/* __data_start, which glibc's startup files define too */
	".globl paging_host_data_start\n"
	".set paging_host_data_start, test_image + 12288\n"
	".globl __image_end\n.set __image_end, test_image + 16384\n");

/* ---- the processor, as paging.c sees it ----------------------------------
 */
static uint64_t msr_pat, msr_efer, cr[5];
static bool cpu_pat = true;
static unsigned pat_writes;
static bool pat_written_uncached; /* CR0.CD set, NW clear at the write */

/* what paging.c did to the processor, in order: control register writes
 * ('C', the register, its value), MSR writes ('M'), WBINVD ('W') and
 * INVLPG ('I', the address); the first EVENTS_MAX */
#define EVENTS_MAX 4096
static struct cpu_event {
	char kind;
	uint32_t n;
	uint64_t v;
} events[EVENTS_MAX];
static unsigned nevents;
static void event(char kind, uint32_t n, uint64_t v)
{
	if (nevents < EVENTS_MAX)
		events[nevents++] = (struct cpu_event){kind, n, v};
}

uint64_t paging_host_rdmsr(uint32_t m)
{
	if (m == MSR_PAT && cpu_pat)
		return msr_pat;
	if (m == MSR_EFER)
		return msr_efer;
	fprintf(stderr, "rdmsr 0x%x: #GP\n", m);
	abort();
}
void paging_host_wrmsr(uint32_t m, uint64_t v)
{
	event('M', m, v);
	if (m == MSR_PAT && cpu_pat) {
		msr_pat = v;
		pat_writes++;
		pat_written_uncached = (cr[0] & CR0_CD) && !(cr[0] & CR0_NW);
		return;
	}
	if (m == MSR_EFER) {
		msr_efer = v;
		return;
	}
	fprintf(stderr, "wrmsr 0x%x: #GP\n", m);
	abort();
}
uint64_t paging_host_rdcr(int n)
{
	return cr[n];
}
void paging_host_wrcr(int n, uint64_t v)
{
	event('C', n, v);
	cr[n] = v;
}
void paging_host_wbinvd(void)
{
	event('W', 0, 0);
}
void paging_host_invlpg(uint64_t va)
{
	event('I', 0, va);
}
bool paging_host_has_pat(void)
{
	return cpu_pat;
}

static void (*child_fn)(void);
static void child(void)
{
	boot_image_base = (uint64_t)test_image;
	child_fn();
}

/* run fn in a child with the image placed: 0 when it returned, else how
 * it died */
static int in_child(void (*fn)(void))
{
	child_fn = fn;
	return in_child_window(child, 0);
}

/* va is mapped present, writable, not executable, with this memory type
 * (and a large page or not) */
static bool mapped(uint64_t va, uint64_t cache, bool large)
{
	uint64_t e = mm_pte(va);
	bool ok = (e & MM_PTE_P) && (e & MM_PTE_RW) && (e & MM_PTE_NX) &&
		  (e & CACHE) == cache && !!(e & PS) == large;
	if (!ok)
		fprintf(stderr, "0x%llx: entry 0x%llx, want cache 0x%llx%s\n",
			(unsigned long long)va, (unsigned long long)e,
			(unsigned long long)cache, large ? " large" : "");
	return ok;
}

/* ---- each range with the memory type its attributes allow ----------------
 * write-back only with EFI_MEMORY_WB; uncached for memory without it (UC
 * only, WT only, no attribute at all) and for MMIO whatever its attributes
 * say; where entries overlap, uncached wins in either map order */
static void memory_types(void)
{
	/* free memory, where the page tables go */
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	/* an uncached entry before write-back runtime data it overlaps (4
	 * MiB at 1 GiB: two large pages, one split for it), and one after
	 * conventional memory it overlaps */
	desc_attr(EfiReservedMemoryType, 0x40100000, 1, A_UC);
	desc_attr(EfiRuntimeServicesData, 0x40000000, 1024, A_RAM | A_RUNTIME);
	desc_attr(EfiReservedMemoryType, WIN_BASE + 900 * PG, 2, A_UC);
	desc_attr(EfiACPIMemoryNVS, 0x7f000000, 16, A_UC);     /* UC only */
	desc_attr(EfiReservedMemoryType, 0x7f100000, 4, 0);    /* none */
	desc_attr(EfiReservedMemoryType, 0x7f200000, 4, A_WB); /* WB only */
	desc_attr(EfiACPIReclaimMemory, 0x7f300000, 4, A_RAM);
	desc_attr(EfiACPIReclaimMemory, 0x7f400000, 4, A_WT); /* WT only */
	desc_attr(EfiMemoryMappedIO, 0xfec00000, 1, A_UC);
	/* MMIO that claims write-back (4 MiB, two large pages) */
	desc_attr(EfiMemoryMappedIO, 0xffc00000, 1024, A_RAM | A_RUNTIME);
	desc_attr(EfiMemoryMappedIOPortSpace, 0x7f500000, 1, A_UC | A_WB);
	pmm_init();
	mm_init();
	/* firmware and device memory is not mapped up front */
	if (mm_pte(0x40000000) || mm_pte(0x40100000) || mm_pte(0x7f000000) ||
	    mm_pte(0x7f300000) || mm_pte(0xfec00000) || mm_pte(0xffc00000) ||
	    mm_pte(0x7f500000))
		_exit(16);
	/* firmware memory as the kernel reads it; device ranges as drivers
	 * map them (never as firmware memory) */
	if (!mm_map_firmware(0x40000000, 1024 * PG) ||
	    !mm_map_firmware(0x7f000000, 16 * PG) ||
	    !mm_map_firmware(0x7f100000 + 8, 4 * PG - 8) ||
	    !mm_map_firmware(0x7f200000, 4 * PG) ||
	    !mm_map_firmware(0x7f300000, 4 * PG) ||
	    !mm_map_firmware(0x7f400000, 1) || !mm_map_firmware(0x7f403000, PG))
		_exit(17);
	if (mm_map_firmware(0xfec00000, 64) ||
	    mm_map_firmware(0xffc00000, 64) ||
	    mm_map_firmware(0x7f500000, 64) || mm_pte(0xfec00000) ||
	    !mm_map_mmio(0xfec00000, PG) || !mm_map_mmio(0xffc00000, PG) ||
	    !mm_map_mmio(0xffe00000, PG) || !mm_map_mmio(0x7f500000, PG))
		_exit(18);
	if (!mapped(WIN_BASE + PG, WB, true) ||
	    !mapped(WIN_BASE + 899 * PG, WB, false) ||
	    !mapped(WIN_BASE + 900 * PG, UC, false) ||
	    !mapped(WIN_BASE + 901 * PG, UC, false) ||
	    !mapped(WIN_BASE + 902 * PG, WB, false))
		_exit(10);
	if (!mapped(0x40000000, WB, false) || !mapped(0x400ff000, WB, false) ||
	    !mapped(0x40100000, UC, false) || !mapped(0x40101000, WB, false) ||
	    !mapped(0x40200000, WB, true) || !mapped(0x403ff000, WB, true))
		_exit(11);
	if (!mapped(0x7f000000, UC, false) || !mapped(0x7f00f000, UC, false) ||
	    !mapped(0x7f100000, UC, false) || !mapped(0x7f200000, WB, false) ||
	    !mapped(0x7f300000, WB, false) || !mapped(0x7f400000, UC, false))
		_exit(12);
	if (!mapped(0xfec00000, UC, false) || !mapped(0xffc00000, UC, false) ||
	    !mapped(0xffe00000, UC, false) || !mapped(0x7f500000, UC, false))
		_exit(13);
	/* the image keeps its own permissions, write-back */
	uint64_t text = mm_pte((uint64_t)test_image + PG);
	uint64_t data = mm_pte((uint64_t)test_image + 3 * PG);
	if (!text || (text & (MM_PTE_NX | MM_PTE_RW | CACHE)) ||
	    !(data & MM_PTE_RW) || !(data & MM_PTE_NX) || (data & CACHE))
		_exit(14);
	if (mm_pte(0))
		_exit(15);
}

static void test_paging_memory_types(void **st)
{
	assert_int_equal(in_child(memory_types), 0);
}

/* ---- device windows (kernel/authority's DeviceMmio, the LAPIC, ECAM) ----
 * mm_map_mmio maps uncached: where nothing was mapped, inside a large
 * write-back page (split, its other pages untouched) and unaligned */
static void mmio_windows(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiRuntimeServicesData, 0x40000000, 512, A_RAM);
	pmm_init();
	mm_init();
	if (!mm_map_firmware(0x40000000, 512 * PG) ||
	    !mapped(0x40000000, WB, true))
		_exit(13);
	if (!mm_map_mmio(0xfeb00000, 0x100) || !mapped(0xfeb00000, UC, false))
		_exit(10);
	if (mm_map_mmio(0x40003010, 0x2000) != (void *)0x40003010 ||
	    !mapped(0x40003000, UC, false) || !mapped(0x40004000, UC, false) ||
	    !mapped(0x40005000, UC, false) || !mapped(0x40002000, WB, false) ||
	    !mapped(0x40006000, WB, false))
		_exit(11);
	/* past the identity map, or wrapping: refused */
	if (mm_map_mmio(1ull << 47, PG) || mm_map_mmio(UINT64_MAX - 8, 16))
		_exit(12);
}

static void test_paging_mmio_uncached(void **st)
{
	assert_int_equal(in_child(mmio_windows), 0);
}

/* ---- never a device window over RAM ---------------------------------------
 * a BAR (or LAPIC, ECAM, HPET) that firmware placed over memory: mapping it
 * would make RAM uncached and hand it to the driver granted the window.
 * Refused, with a line, for conventional memory (with or without WB),
 * loader and boot-services code and data, unaccepted memory, the image
 * and a range that only touches such memory, or page 0; reserved memory,
 * runtime data and MMIO are mapped */
static void mmio_not_over_ram(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiConventionalMemory, 0x60000000, 16, A_UC);
	desc_attr(EfiLoaderCode, 0x60100000, 4, A_RAM);
	desc_attr(EfiLoaderData, 0x60200000, 4, A_RAM);
	desc_attr(EfiBootServicesCode, 0x60300000, 4, A_RAM);
	desc_attr(EfiBootServicesData, 0x60400000, 4, A_RAM);
	desc_attr(T_UNACCEPTED, 0x60500000, 4, A_RAM);
	desc_attr(EfiReservedMemoryType, 0x60600000, 4, A_UC);
	desc_attr(EfiRuntimeServicesData, 0x60700000, 4, A_RAM | A_RUNTIME);
	desc_attr(EfiMemoryMappedIO, 0x60800000, 4, A_UC);
	pmm_init();
	mm_init();
	const uint64_t ram[] = {WIN_BASE + 5 * PG, 0x60000000,
				0x60100000,	   0x60200000,
				0x60300000,	   0x60400000,
				0x60500000,	   (uint64_t)test_image + PG};
	for (unsigned i = 0; i < sizeof(ram) / sizeof(ram[0]); i++) {
		uint64_t before = mm_pte(ram[i]);
		shim_kprintf_calls = 0;
		if (mm_map_mmio(ram[i], 64) || shim_kprintf_calls != 1 ||
		    mm_pte(ram[i]) != before)
			_exit(10 + i);
	}
	/* the last byte of a window below the loader code reaches into it */
	if (mm_map_mmio(0x600ff000, PG + 1) || mm_map_mmio(0, 16) ||
	    mm_map_mmio(0xff8, 16))
		_exit(20);
	if (!mm_map_mmio(0x600ff000, PG) || !mapped(0x600ff000, UC, false) ||
	    !mm_map_mmio(0x60600000, PG) || !mapped(0x60600000, UC, false) ||
	    !mm_map_mmio(0x60700000, PG) || !mapped(0x60700000, UC, false) ||
	    !mm_map_mmio(0x60800000, 4 * PG) || !mapped(0x60803000, UC, false))
		_exit(21);
}

static void test_paging_mmio_not_over_ram(void **st)
{
	assert_int_equal(in_child(mmio_not_over_ram), 0);
}

/* ---- a firmware map that would not fit in page tables -------------------
 * real server firmware reports 64-bit PCI windows of terabytes: here a
 * reserved range of 2^46 bytes (ending at 2^47), an uncached one from 4 GiB
 * to 2^45, a 4 TiB MMIO window and 4096 small firmware and device ranges
 * all over the address space, beside 4 MiB of RAM. Mapping them up front
 * with 2 MiB pages took 2^25 page directory entries (256 MiB of tables,
 * "out of memory for page tables"); mm_init maps the RAM, the image and
 * the map within PT_BUDGET pages of tables, and the rest maps on demand:
 * a firmware table in the reserved range (mm_map_firmware), a device
 * page in the MMIO window (mm_map_mmio), each with a table or three */
#define PT_BUDGET 16 /* pages of page tables */

static void huge_ranges(void)
{
	static const uint32_t small[] = {
	    EfiReservedMemoryType, EfiMemoryMappedIO, EfiRuntimeServicesData,
	    EfiACPIMemoryNVS};
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiReservedMemoryType, 1ull << 46, (1ull << 46) / PG, A_RAM);
	desc_attr(EfiReservedMemoryType, 4ull << 30,
		  ((1ull << 45) - (4ull << 30)) / PG, A_UC);
	desc_attr(EfiMemoryMappedIO, 1ull << 45, (4ull << 40) / PG, A_UC);
	for (unsigned i = 0; i < 4096; i++)
		desc_attr(small[i % 4], (i + 1ull) << 34 | (uint64_t)i * PG, 1,
			  i % 2 ? A_UC : A_RAM);
	struct pmm_stats s;
	pmm_init();
	mm_init();
	pmm_stats(&s);
	if (s.used > PT_BUDGET) {
		fprintf(stderr, "%llu pages of page tables, budget %u\n",
			(unsigned long long)s.used, PT_BUDGET);
		_exit(10);
	}
	/* what the kernel reads is mapped: RAM, the image, the map */
	if (!mapped(WIN_BASE, WB, true) ||
	    !mapped(WIN_BASE + WIN_PAGES * PG - PG, WB, true))
		_exit(11);
	uint64_t text = mm_pte((uint64_t)test_image + PG);
	if (!text || (text & (MM_PTE_NX | MM_PTE_RW)) ||
	    !(mm_pte((uint64_t)map) & MM_PTE_P) ||
	    !(mm_pte((uint64_t)&map[nmap - 1]) & MM_PTE_P))
		_exit(12);
	/* the rest on demand */
	const uint64_t acpi = (1ull << 46) + 0x123456789ull;
	if (mm_pte(acpi) || mm_pte(1ull << 45) || mm_pte(8ull << 30))
		_exit(13);
	if (!mm_map_firmware(acpi, 4000) ||
	    !mapped(ALIGN_DOWN(acpi, PG), WB, false) ||
	    !mapped(ALIGN_DOWN(acpi, PG) + PG, WB, false) ||
	    mm_pte(ALIGN_DOWN(acpi, PG) + 2 * PG))
		_exit(14);
	if (mm_map_firmware(1ull << 45, 64) ||
	    !mm_map_mmio((1ull << 45) + 0x10000, PG) ||
	    !mapped((1ull << 45) + 0x10000, UC, false))
		_exit(15);
	/* an ACPI NVS page of the small ones, inside the uncached range */
	const uint64_t nvs = (4ull << 34) | 3 * PG;
	if (!mm_map_firmware(nvs, 16) || !mapped(nvs, UC, false))
		_exit(16);
	pmm_stats(&s);
	if (s.used > PT_BUDGET + 9)
		_exit(17);
}

static void test_paging_huge_ranges_on_demand(void **st)
{
	assert_int_equal(in_child(huge_ranges), 0);
}

/* ---- the PAT the cache bits select from ----------------------------------
 * firmware may leave any IA32_PAT (here every entry uncached, or entry 0
 * uncached and entry 3 write-back, which would turn the two mappings
 * around): mm_init writes the reset value, with the caches disabled
 * (CR0.CD, not NW) while it does, and leaves them on; NX enabled and
 * supervisor writes to read-only pages refused (CR0.WP) */
static uint64_t pat_left;

static void pat_case(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	msr_pat = pat_left;
	cr[0] = 0x80000011ull | CR0_CD | CR0_NW; /* caches left off */
	cr[4] = CR4_PGE;
	pmm_init();
	mm_init();
	if (msr_pat != PAT_RESET)
		_exit(10);
	if (pat_left != PAT_RESET &&
	    (pat_writes != 1 || !pat_written_uncached ||
	     (cr[0] & (CR0_CD | CR0_NW)) || !(cr[4] & CR4_PGE)))
		_exit(11);
	if (pat_left == PAT_RESET && pat_writes)
		_exit(12);
	if (!(msr_efer & (1ull << 11)) || !(cr[0] & CR0_WP) || !cr[3])
		_exit(13);
}

static void test_paging_pat_written(void **st)
{
	pat_left = 0;
	assert_int_equal(in_child(pat_case), 0);
	pat_left = 0x0000000600070400ull; /* entry 0 UC, entry 3 WB */
	assert_int_equal(in_child(pat_case), 0);
	pat_left = PAT_RESET; /* already right: not written */
	assert_int_equal(in_child(pat_case), 0);
}

/* a processor without PAT (CPUID.01H:EDX[16] clear): the MSR is not
 * touched (it would fault), PCD and PWT alone select UC */
static void no_pat(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiMemoryMappedIO, 0xfec00000, 1, A_UC);
	cpu_pat = false;
	shim_kprintf_calls = 0;
	pmm_init();
	mm_init();
	if (!mm_map_mmio(0xfec00000, PG) || !mapped(0xfec00000, UC, false) ||
	    pat_writes)
		_exit(10);
}

static void test_paging_no_pat(void **st)
{
	assert_int_equal(in_child(no_pat), 0);
}

/* ---- the entry for va maps va itself ---------------------------------------
 * (the identity map: the address bits of the leaf entry, a 2 MiB page's
 * from its 2 MiB boundary) */
#define ADDR 0x000ffffffffff000ull
static bool maps_itself(uint64_t va)
{
	uint64_t e = mm_pte(va);
	uint64_t want = e & PS ? ALIGN_DOWN(va, 0x200000) : ALIGN_DOWN(va, PG);
	if ((e & MM_PTE_P) && (e & ADDR & ~(e & PS ? 0x1fffffull : 0)) == want)
		return true;
	fprintf(stderr, "0x%llx: entry 0x%llx does not map it\n",
		(unsigned long long)va, (unsigned long long)e);
	return false;
}

/* ---- the PAT written as the SDM changes memory types ----------------------
 * Intel SDM vol. 3A, "MTRR Considerations in MP Systems" (which
 * "Programming the PAT" asks for): no-fill cache mode (CR0.CD set, NW
 * clear), WBINVD, every TLB entry flushed, then the MSR; then WBINVD and
 * every TLB entry flushed again before the caches go back on (CD and NW
 * clear), and CR4.PGE back as firmware left it, set or clear. Every TLB
 * entry, global ones too, is flushed by CR4.PGE going from 1 to 0, or by a
 * CR3 write while PGE is clear (SDM vol. 3A §4.10.4.1: with PGE set, a
 * CR3 write keeps global entries; a CR4 write that leaves PGE as it is
 * flushes nothing) */
static bool ev(unsigned i, char kind, uint32_t n)
{
	return events[i].kind == kind && events[i].n == n;
}

static bool pge_left; /* firmware left CR4.PGE set */

/* event i flushes every TLB entry, with CR4 as *cr4 before it (updated) */
static bool full_flush(unsigned i, uint64_t *cr4)
{
	bool was = *cr4 & CR4_PGE;
	if (ev(i, 'C', 4))
		*cr4 = events[i].v;
	return (ev(i, 'C', 3) && !was) ||
	       (ev(i, 'C', 4) && was && !(events[i].v & CR4_PGE));
}

static void pat_sequence(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	msr_pat = 0;
	cr[0] = 0x80000011ull;
	cr[4] = pge_left ? CR4_PGE : 0;
	pmm_init();
	nevents = 0;
	mm_init();
	unsigned w = nevents;
	for (unsigned i = 0; i < nevents; i++)
		if (ev(i, 'M', MSR_PAT))
			w = i;
	if (w == nevents)
		_exit(10);
	/* before it, in this order: CD on, WBINVD, a full flush; and nothing
	 * turning the caches or PGE back on until the write */
	uint64_t cr4 = pge_left ? CR4_PGE : 0;
	int cd = -1, inv = -1, flush = -1;
	for (unsigned i = 0; i < w; i++) {
		uint64_t v = events[i].v;
		if (ev(i, 'C', 0) && (v & CR0_CD) && !(v & CR0_NW) && cd < 0)
			cd = i;
		else if (ev(i, 'C', 0) && cd >= 0 && !(v & CR0_CD))
			_exit(11);
		if (ev(i, 'W', 0) && cd >= 0 && inv < 0)
			inv = i;
		if (full_flush(i, &cr4) && inv >= 0 && flush < 0)
			flush = i;
		else if (ev(i, 'C', 4) && flush >= 0 && (v & CR4_PGE))
			_exit(11);
	}
	if (cd < 0 || inv < 0 || flush < 0)
		_exit(12);
	/* after it: WBINVD and a full flush before the caches go on, then
	 * CR4 as firmware left it */
	int inv2 = -1, flush2 = -1, on = -1;
	for (unsigned i = w + 1; i < nevents; i++) {
		uint64_t v = events[i].v;
		if (ev(i, 'W', 0) && on < 0 && inv2 < 0)
			inv2 = i;
		if (full_flush(i, &cr4) && on < 0 && flush2 < 0)
			flush2 = i;
		if (ev(i, 'C', 0) && !(v & (CR0_CD | CR0_NW)) && on < 0)
			on = i;
		if (ev(i, 'C', 4) && (v & CR4_PGE) && on < 0)
			_exit(13); /* PGE back before the caches */
	}
	if (inv2 < 0 || flush2 < 0 || on < 0 ||
	    cr[4] != (pge_left ? CR4_PGE : 0))
		_exit(14);
}

static void test_paging_pat_sdm_sequence(void **st)
{
	pge_left = true;
	assert_int_equal(in_child(pat_sequence), 0);
	pge_left = false;
	assert_int_equal(in_child(pat_sequence), 0);
}

/* ---- a changed entry is invalidated (SDM vol. 3A §4.10.4) ---------------
 * once the kernel runs on its own tables, an entry it changes may be in
 * the TLB: mm_unmap_page (a stack's guard page among them) and
 * mm_map_mmio (over a page mapped write-back before) INVLPG each page they
 * change */
static bool invalidated(uint64_t va)
{
	for (unsigned i = 0; i < nevents; i++)
		if (ev(i, 'I', 0) && ALIGN_DOWN(events[i].v, PG) == va)
			return true;
	fprintf(stderr, "0x%llx: no INVLPG\n", (unsigned long long)va);
	return false;
}

static void tlb_case(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiReservedMemoryType, 0x60000000, 8, A_RAM);
	pmm_init();
	mm_init();
	nevents = 0;
	uint64_t top = mm_stack_alloc(2);
	if (!top || mm_pte(top - 3 * PG) || !invalidated(top - 3 * PG) ||
	    !mapped(top - PG, WB, false))
		_exit(10);
	nevents = 0;
	mm_unmap_page(WIN_BASE + 900 * PG);
	if (mm_pte(WIN_BASE + 900 * PG) || !invalidated(WIN_BASE + 900 * PG))
		_exit(11);
	if (!mm_map_firmware(0x60000000, 8 * PG) ||
	    !mapped(0x60000000, WB, false))
		_exit(12);
	nevents = 0;
	if (!mm_map_mmio(0x60000010, 3 * PG))
		_exit(13);
	for (uint64_t pa = 0x60000000; pa < 0x60004000; pa += PG)
		if (!mapped(pa, UC, false) || !invalidated(pa))
			_exit(14);
}

static void test_paging_unmap_invalidates_tlb(void **st)
{
	assert_int_equal(in_child(tlb_case), 0);
}

/* ---- no memory left for a page table --------------------------------------
 * table_alloc panics ("out of memory for page tables") rather than use
 * page_alloc's 0 as a table: mm_init with the pool empty, and mm_map_mmio
 * needing a new table once it is */
static int panic_fd = -1;
static int exhaust; /* 0: the pool empty before mm_init, 2: before a
		       stack */

static void exhausted(void)
{
	dup2(panic_fd, 2);
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	pmm_init();
	if (exhaust)
		mm_init();
	while (page_alloc(1, 0))
		;
	if (exhaust == 0)
		mm_init();
	else
		mm_stack_alloc(2);
	_exit(10);
}

/* exhausted() in mode k panics with `line` */
static void panics_with(int k, const char *line)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	panic_fd = fileno(f);
	exhaust = k;
	assert_int_equal(in_child(exhausted), 128 + SIGABRT);
	char buf[512] = {0};
	rewind(f);
	assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
	fclose(f);
	assert_non_null(strstr(buf, line));
}

static void test_paging_tables_exhausted_panics(void **st)
{
	panics_with(0, "out of memory for page tables");
}

/* ---- no memory left for a device window's page table ----------------------
 * a driver's window (kernel/authority/mmio.c, up to MMIO_WINDOW_MAX) takes
 * a page table per 2 MiB: with the pool empty, mm_map_mmio refuses it (NULL,
 * nothing mapped where it needed a table) rather than stop the kernel; with
 * three pages given back (the walk to 0x7000000000 needs a page directory
 * and a page table), the same call maps it uncached */
#define EXHAUST_VA 0x7000000000ull /* no table there yet */
static void window_exhausted(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	pmm_init();
	mm_init();
	uint64_t last[3] = {0}, p;
	while ((p = page_alloc(1, 0)) != 0) {
		last[0] = last[1];
		last[1] = last[2];
		last[2] = p;
	}
	if (!last[0] || mm_map_mmio(EXHAUST_VA, PG) || mm_pte(EXHAUST_VA) ||
	    mm_map_mmio(EXHAUST_VA + PG, 2 * PG) || mm_pte(EXHAUST_VA + PG))
		_exit(10);
	for (int i = 0; i < 3; i++)
		page_free(last[i], 1);
	if (mm_map_mmio(EXHAUST_VA, 2 * PG) != (void *)EXHAUST_VA ||
	    !mapped(EXHAUST_VA, UC, false) ||
	    !mapped(EXHAUST_VA + PG, UC, false))
		_exit(11);
}

static void test_paging_mmio_tables_exhausted_refused(void **st)
{
	assert_int_equal(in_child(window_exhausted), 0);
}

/* ---- no memory for a stack -------------------------------------------------
 * mm_stack_alloc panics ("no memory for a stack") rather than unmap page 0
 * as a guard and hand out a stack at page 1 */
static void test_paging_stack_exhausted_panics(void **st)
{
	panics_with(2, "no memory for a stack");
}

/* ---- an uncached descriptor over a whole large page of RAM ---------------
 * makes the 2 MiB page uncached and keeps it one page: only a large page
 * the range covers in part is split (SDM vol. 3A §4.5: a PDE with PS maps
 * 2 MiB) */
static void uncache_large(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiReservedMemoryType, WIN_BASE + 0x200000, 512, A_UC);
	pmm_init();
	mm_init();
	if (!mapped(WIN_BASE, WB, true) ||
	    !mapped(WIN_BASE + 0x200000, UC, true) ||
	    !mapped(WIN_BASE + 0x400000 - PG, UC, true) ||
	    !maps_itself(WIN_BASE + 0x200000))
		_exit(10);
}

/* one from the middle of a large page into the next: each is split, only
 * the pages the range holds uncached */
static void uncache_across(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiReservedMemoryType, WIN_BASE + 0x100000, 512, A_UC);
	pmm_init();
	mm_init();
	if (!mapped(WIN_BASE, WB, false) ||
	    !mapped(WIN_BASE + 0x100000 - PG, WB, false) ||
	    !mapped(WIN_BASE + 0x100000, UC, false) ||
	    !mapped(WIN_BASE + 0x200000, UC, false) ||
	    !mapped(WIN_BASE + 0x300000 - PG, UC, false) ||
	    !mapped(WIN_BASE + 0x300000, WB, false) ||
	    !maps_itself(WIN_BASE + 0x300000 - PG))
		_exit(10);
}

static void test_paging_uncache_whole_large_page_kept(void **st)
{
	assert_int_equal(in_child(uncache_large), 0);
	assert_int_equal(in_child(uncache_across), 0);
}

/* ---- a descriptor the identity map cannot hold is not mapped --------------
 * one that is not page-aligned (mm_desc_sane) is neither handed out nor
 * mapped: mm_init does not map loader data that starts 8 bytes into a
 * page, and mm_map_firmware over ACPI tables an unaligned descriptor
 * overlaps maps them by their own descriptor, each entry mapping its own
 * page; the unaligned start never reaches an entry's address and flag
 * bits */
static void insane_not_mapped(void)
{
	const uint64_t A = 0x7f000000;
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiACPIReclaimMemory, A, 4, A_RAM);
	desc_attr(EfiReservedMemoryType, A + 8, 2, A_UC);   /* unaligned */
	desc_attr(EfiLoaderData, 0x7e000000 + 8, 2, A_RAM); /* RAM, too */
	pmm_init();
	mm_init();
	if (mm_pte(0x7e000000) || mm_pte(0x7e001000) || mm_pte(0x7e002000))
		_exit(12);
	if (!mm_map_firmware(A, 4 * PG))
		_exit(10);
	for (uint64_t pa = A; pa < A + 4 * PG; pa += PG)
		if (!mapped(pa, WB, false) || !maps_itself(pa))
			_exit(11);
}

static void test_paging_insane_descriptor_not_mapped(void **st)
{
	assert_int_equal(in_child(insane_not_mapped), 0);
}

/* ---- RAM mapped up front --------------------------------------------------
 * conventional memory, loader and boot-services code and data are mapped
 * by mm_init, write-back as their WB allows, each page itself; runtime,
 * ACPI and reserved memory wait for mm_map_firmware */
static void ram_upfront(void)
{
	static const uint32_t ram[] = {EfiLoaderCode, EfiLoaderData,
				       EfiBootServicesCode,
				       EfiBootServicesData};
	static const uint32_t fw[] = {
	    EfiRuntimeServicesCode, EfiRuntimeServicesData,
	    EfiACPIReclaimMemory, EfiReservedMemoryType, EfiPalCode};
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	for (unsigned i = 0; i < 4; i++)
		desc_attr(ram[i], 0x60000000 + i * 0x100000ull, 4, A_RAM);
	for (unsigned i = 0; i < 5; i++)
		desc_attr(fw[i], 0x61000000 + i * 0x100000ull, 4, A_RAM);
	pmm_init();
	mm_init();
	for (unsigned i = 0; i < 4; i++)
		for (uint64_t p = 0; p < 4; p++) {
			uint64_t pa = 0x60000000 + i * 0x100000ull + p * PG;
			if (!mapped(pa, WB, false) || !maps_itself(pa))
				_exit(10 + i);
		}
	for (unsigned i = 0; i < 5; i++)
		if (mm_pte(0x61000000 + i * 0x100000ull))
			_exit(20 + i);
}

static void test_paging_ram_mapped_upfront(void **st)
{
	assert_int_equal(in_child(ram_upfront), 0);
}

/* ---- the image's pages, section by section --------------------------------
 * text read + execute, rodata (and the headers before text) read-only and
 * not executable, data read-write and not executable: no page both
 * writable and executable, and the page at __text_end (rodata's first) not
 * executable */
static void image_sections(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	pmm_init();
	mm_init();
	const uint64_t want[4] = {MM_PTE_NX, 0, MM_PTE_NX,
				  MM_PTE_RW | MM_PTE_NX};
	for (unsigned i = 0; i < 4; i++) {
		uint64_t va = (uint64_t)test_image + i * PG, e = mm_pte(va);
		if (!(e & MM_PTE_P) ||
		    (e & (MM_PTE_RW | MM_PTE_NX)) != want[i] ||
		    (e & CACHE) != WB || !maps_itself(va))
			_exit(10 + i);
	}
}

static void test_paging_image_permissions(void **st)
{
	assert_int_equal(in_child(image_sections), 0);
}

/* ---- MM_IDENTITY_LIMIT (2^47) is the end of the identity map --------------
 * RAM ending exactly there is mapped (a 2 MiB page below it), RAM past it
 * is not and gets its line; firmware and device memory past it is mapped
 * on demand or never, with no line calling it RAM. A device window ending
 * exactly there maps; one a byte longer is refused */
static unsigned above_lines;
static char above_line[256];
static void above_hook(const char *line)
{
	if (strstr(line, "above the identity map")) {
		above_lines++;
		snprintf(above_line, sizeof(above_line), "%s", line);
	}
}

static void limit_ram(void)
{
	const uint64_t lim = 1ull << 47;
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiLoaderData, lim - 0x200000, 512, A_RAM);
	desc_attr(EfiLoaderData, lim, 16, A_RAM);
	desc_attr(EfiMemoryMappedIO, lim, (1ull << 40) / PG, A_UC);
	desc_attr(EfiReservedMemoryType, lim + (1ull << 40), 16, A_UC);
	pmm_init();
	shim_line_hook = above_hook;
	mm_init();
	shim_line_hook = NULL;
	if (above_lines != 1 || !strstr(above_line, "RAM at 0x800000000000+"))
		_exit(10);
	if (!mapped(lim - 0x200000, WB, true) || !mapped(lim - PG, WB, true) ||
	    !maps_itself(lim - PG))
		_exit(11);
}

/* thousands of RAM descriptors above the identity map (a broken or
 * hostile map): a line for each of the first MM_DESC_LINES, then one
 * summing the rest (before: a line each, 4000), and none of them mapped */
#define ABOVE_DESCS 4000
static unsigned above_rest_lines;
static void above_many_hook(const char *line)
{
	above_hook(line);
	if (strstr(line, "more RAM descriptors")) {
		above_rest_lines++;
		snprintf(above_line, sizeof(above_line), "%s", line);
	}
}

static void above_many(void)
{
	const uint64_t lim = 1ull << 47;
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	for (unsigned i = 0; i < ABOVE_DESCS; i++)
		desc_attr(i % 2 ? EfiLoaderData : EfiBootServicesCode,
			  lim + 2 * i * PG, 2, A_RAM);
	pmm_init();
	shim_line_hook = above_many_hook;
	mm_init();
	shim_line_hook = NULL;
	/* the summary says "above the identity map" too */
	if (above_lines != MM_DESC_LINES + 1 || above_rest_lines != 1)
		_exit(10);
	char want[96];
	snprintf(want, sizeof(want), "%u more RAM descriptors, %u pages,",
		 ABOVE_DESCS - MM_DESC_LINES,
		 2 * (ABOVE_DESCS - MM_DESC_LINES));
	if (!strstr(above_line, want))
		_exit(11);
	for (unsigned i = 0; i < 2 * ABOVE_DESCS; i++)
		if (mm_pte(lim + i * PG))
			_exit(12);
}

static void test_paging_above_identity_lines_bounded(void **st)
{
	assert_int_equal(in_child(above_many), 0);
}

static void limit_mmio(void)
{
	const uint64_t lim = 1ull << 47;
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	pmm_init();
	mm_init();
	if (mm_map_mmio(lim - PG, PG + 1) || mm_map_mmio(lim - 8, 16))
		_exit(10);
	if (mm_map_mmio(lim - PG, PG) != (void *)(lim - PG) ||
	    !mapped(lim - PG, UC, false) ||
	    mm_map_mmio(lim - 2 * PG + 16, 2 * PG - 16) !=
		(void *)(lim - 2 * PG + 16) ||
	    !mapped(lim - 2 * PG, UC, false) || !maps_itself(lim - 2 * PG))
		_exit(11);
}

static void test_paging_identity_limit_inclusive(void **st)
{
	assert_int_equal(in_child(limit_ram), 0);
	assert_int_equal(in_child(limit_mmio), 0);
}

/* ---- the memory map keeps its descriptor's memory type --------------------
 * mm_init maps the map (and the boot files) whatever the map calls them,
 * with the type of the descriptors that hold them: here runtime data
 * without EFI_MEMORY_WB, so uncached, not write-back */
static void map_type(void)
{
	const uint64_t lo = ALIGN_DOWN((uint64_t)map, PG),
		       hi = ALIGN_UP((uint64_t)(map + MM_TEST_MAP_MAX), PG);
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiRuntimeServicesData, lo, (hi - lo) / PG, A_UC);
	pmm_init();
	mm_init();
	const uint64_t last = ALIGN_DOWN((uint64_t)&map[nmap] - 1, PG);
	if (!mapped(lo, UC, false) || !mapped(last, UC, false) ||
	    !maps_itself(lo))
		_exit(10);
}

/* and where no descriptor holds them, write-back: the map and a boot file
 * (its record and its data) in memory the map does not list */
static struct bootfs_file bare_file;
static uint8_t bare_data[3 * PG];

static void map_bare(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	bare_file = (struct bootfs_file){
	    .data = bare_data, .len = sizeof(bare_data), .name = "bare.vec"};
	bootfs_add(&bare_file);
	pmm_init();
	mm_init();
	const uint64_t m = ALIGN_DOWN((uint64_t)map, PG),
		       last = ALIGN_DOWN((uint64_t)&map[nmap] - 1, PG),
		       f = ALIGN_DOWN((uint64_t)&bare_file, PG),
		       d = ALIGN_DOWN((uint64_t)bare_data, PG),
		       dl = ALIGN_DOWN((uint64_t)&bare_data[3 * PG - 1], PG);
	if (!mapped(m, WB, false) || !mapped(last, WB, false) ||
	    !maps_itself(m) || !mapped(f, WB, false) || !mapped(d, WB, false) ||
	    !mapped(dl, WB, false) || !maps_itself(dl))
		_exit(10);
}

static void test_paging_map_keeps_descriptor_type(void **st)
{
	assert_int_equal(in_child(map_type), 0);
	assert_int_equal(in_child(map_bare), 0);
}

/* ---- page 0 stays unmapped
 * --------------------------------------------------- even where the map calls
 * it RAM (OVMF and most firmware list memory from address 0): a NULL
 * dereference faults. Page 1 is not page 0: a device window there maps */
static void page0(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiBootServicesData, 0, 1, A_RAM);
	desc_attr(EfiBootServicesCode, 2 * PG, 14, A_RAM);
	pmm_init();
	mm_init();
	if (mm_pte(0) || !mapped(2 * PG, WB, false) || !maps_itself(2 * PG))
		_exit(10);
	if (mm_map_mmio(0, PG) || mm_map_mmio(PG - 1, 2) ||
	    mm_map_mmio(PG, 64) != (void *)PG || !mapped(PG, UC, false) ||
	    mm_pte(0))
		_exit(11);
}

static void test_paging_page0_unmapped(void **st)
{
	assert_int_equal(in_child(page0), 0);
}

/* ---- before mm_init, on the firmware's page tables --------------------------
 * which map what firmware memory the kernel reads (acpi_init may run
 * first): mm_map_firmware only checks the range, mm_pte has no entry to
 * give, and neither touches a table of its own */
static void before_tables(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiACPIReclaimMemory, 0x7f000000, 4, A_RAM);
	pmm_init();
	if (!mm_map_firmware(0x7f000000, 64) || mm_map_firmware(WIN_BASE, 64) ||
	    mm_pte(0x7f000000) || mm_pte(WIN_BASE))
		_exit(10);
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.used)
		_exit(11);
	mm_init();
	if (mm_pte(0x7f000000) || !mm_map_firmware(0x7f000000, 64) ||
	    !mapped(0x7f000000, WB, false))
		_exit(12);
}

static void test_paging_before_own_tables(void **st)
{
	assert_int_equal(in_child(before_tables), 0);
}

/* ---- a device window maps its own pages and no more ------------------------
 * the pages its bytes touch: not the page after a window that ends on a
 * page boundary (here the first page of RAM, which stays a write-back large
 * page), nor after a window inside one page */
static void mmio_own_pages(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	pmm_init();
	mm_init();
	if (!mm_map_mmio(WIN_BASE - 2 * PG, 2 * PG) ||
	    !mapped(WIN_BASE - PG, UC, false) || !mapped(WIN_BASE, WB, true))
		_exit(10);
	if (!mm_map_mmio(0xfeb00000, PG) || mm_pte(0xfeb01000) ||
	    !mm_map_mmio(0xfeb10010, PG - 0x10) || mm_pte(0xfeb11000) ||
	    !mapped(0xfeb10000, UC, false))
		_exit(11);
}

static void test_paging_mmio_only_its_pages(void **st)
{
	assert_int_equal(in_child(mmio_own_pages), 0);
}

/* ---- a split writes its own table and nothing past it ---------------------
 * a page table holds 512 entries (SDM vol. 3A §4.5); a 2 MiB page split
 * for a device window inside it fills one table page. Here the pool is
 * down to that one page, and the page after it is in use (a canary) */
static void split_bounded(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiRuntimeServicesData, 0x40000000, 512, A_RAM);
	pmm_init();
	mm_init();
	if (!mm_map_firmware(0x40000000, 512 * PG) ||
	    !mapped(0x40000000, WB, true))
		_exit(10);
	/* every page out, then one back whose next page holds the canary */
	uint64_t a, t = 0;
	while ((a = page_alloc(1, 0)))
		if (!t && page_alloc(1, 0) == a + PG)
			t = a;
	if (!t)
		_exit(11);
	memset((void *)(t + PG), 0x5a, PG);
	page_free(t, 1);
	if (!mm_map_mmio(0x40003000, PG) || !mapped(0x40003000, UC, false) ||
	    !mapped(0x40004000, WB, false) || !mapped(0x401ff000, WB, false))
		_exit(12);
	const uint8_t *c = (const uint8_t *)(t + PG);
	for (unsigned i = 0; i < PG; i++)
		if (c[i] != 0x5a)
			_exit(13);
}

static void test_paging_split_stays_in_its_table(void **st)
{
	assert_int_equal(in_child(split_bounded), 0);
}

/* ---- mapping what is mapped ----------------------------------------------
 * mm_map_firmware over a range mapped already (ACPI tables are read more
 * than once), whole 2 MiB pages of it and a part, and RAM descriptors
 * that overlap over whole 2 MiB pages, change nothing and end */
static void map_again(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiLoaderData, WIN_BASE + 0x200000, 512, A_RAM);
	desc_attr(EfiACPIReclaimMemory, 0x40000000, 1024, A_RAM);
	pmm_init();
	mm_init();
	for (int k = 0; k < 3; k++)
		if (!mm_map_firmware(0x40000000, 1024 * PG) ||
		    !mm_map_firmware(0x40100000, 0x200000))
			_exit(10);
	if (!mapped(0x40000000, WB, true) || !mapped(0x403ff000, WB, true) ||
	    !mapped(WIN_BASE + 0x200000, WB, true) || !maps_itself(0x40200000))
		_exit(11);
}

static void test_paging_map_twice_unchanged(void **st)
{
	assert_int_equal(in_child(map_again), 0);
}

/* ---- MMIO is uncached whatever its attributes say --------------------------
 * a memory-mapped I/O descriptor (or I/O port space) that claims
 * EFI_MEMORY_WB is device registers all the same: RAM it overlaps becomes
 * uncached in mm_init, and firmware memory it overlaps maps uncached
 * through mm_map_firmware */
static void mmio_wb(void)
{
	desc_attr(EfiConventionalMemory, WIN_BASE, WIN_PAGES, A_RAM);
	desc_attr(EfiMemoryMappedIO, WIN_BASE + 800 * PG, 2, A_UC | A_WB);
	desc_attr(EfiACPIReclaimMemory, 0x7f000000, 4, A_RAM);
	desc_attr(EfiMemoryMappedIOPortSpace, 0x7f002000, 1, A_WB);
	pmm_init();
	mm_init();
	if (!mapped(WIN_BASE + 799 * PG, WB, false) ||
	    !mapped(WIN_BASE + 800 * PG, UC, false) ||
	    !mapped(WIN_BASE + 801 * PG, UC, false) ||
	    !mapped(WIN_BASE + 802 * PG, WB, false))
		_exit(10);
	if (!mm_map_firmware(0x7f000000, 2 * PG) ||
	    !mm_map_firmware(0x7f003000, PG) || !mapped(0x7f000000, WB, false))
		_exit(11);
	/* the ACPI page the port space overlaps: uncached */
	if (!mm_map_firmware(0x7f002000, PG) || !mapped(0x7f002000, UC, false))
		_exit(12);
}

static void test_paging_mmio_claiming_wb_uncached(void **st)
{
	assert_int_equal(in_child(mmio_wb), 0);
}

int main(void)
{
	shim_quiet = 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paging_memory_types),
	    cmocka_unit_test(test_paging_mmio_uncached),
	    cmocka_unit_test(test_paging_mmio_not_over_ram),
	    cmocka_unit_test(test_paging_huge_ranges_on_demand),
	    cmocka_unit_test(test_paging_pat_written),
	    cmocka_unit_test(test_paging_no_pat),
	    cmocka_unit_test(test_paging_pat_sdm_sequence),
	    cmocka_unit_test(test_paging_unmap_invalidates_tlb),
	    cmocka_unit_test(test_paging_tables_exhausted_panics),
	    cmocka_unit_test(test_paging_mmio_tables_exhausted_refused),
	    cmocka_unit_test(test_paging_uncache_whole_large_page_kept),
	    cmocka_unit_test(test_paging_insane_descriptor_not_mapped),
	    cmocka_unit_test(test_paging_ram_mapped_upfront),
	    cmocka_unit_test(test_paging_image_permissions),
	    cmocka_unit_test(test_paging_identity_limit_inclusive),
	    cmocka_unit_test(test_paging_above_identity_lines_bounded),
	    cmocka_unit_test(test_paging_map_keeps_descriptor_type),
	    cmocka_unit_test(test_paging_mmio_only_its_pages),
	    cmocka_unit_test(test_paging_split_stays_in_its_table),
	    cmocka_unit_test(test_paging_map_twice_unchanged),
	    cmocka_unit_test(test_paging_mmio_claiming_wb_uncached),
	    cmocka_unit_test(test_paging_stack_exhausted_panics),
	    cmocka_unit_test(test_paging_page0_unmapped),
	    cmocka_unit_test(test_paging_before_own_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
