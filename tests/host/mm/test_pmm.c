/* tests/host/mm/test_pmm.c — kernel/mm/pmm.c over UEFI memory maps built
 * here (UEFI 2.10 §7.2.3 GetMemoryMap). The "physical" memory is a window
 * mapped at a fixed low address (ordinary memory under ASan's x86_64
 * layout), so page numbers stay small and the bitmap stays a few KiB. pmm
 * keeps its state in statics and pmm_init runs once per boot, so each case
 * runs in a child process. */
#include <setjmp.h>
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

#include <cmocka.h>

#include <efi.h>

#include "kernel/boot/boot_internal.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/mm_internal.h"
#include "shim.h"

/* the bitmaps for a top of 0x20000000 + up to 1024 pages: 131072 + 1024
 * pages at one bit each is 16.1 KiB, rounded up to 5 pages; two of them
 * (pages in use, pages of the pool) */
#define BITMAP_PAGES 10

struct boot_memmap boot_mmap;

/* where the "kernel image" is (kernel/mm/paging.c has it from the linker
 * script); none unless a test places it */
static uint64_t image_start, image_end;
/* each walk of the kernel's own ranges (mm_inuse_at from i = 0) asks for
 * the image first: the walks, counted */
static uint64_t image_range_calls;
void mm_image_range(uint64_t *start, uint64_t *end)
{
	image_range_calls++;
	*start = image_start;
	*end = image_end;
}

#include "efi_spec.h"
/* what OVMF and most firmware give RAM */
#define A_RAM (A_UC | A_WC | A_WT | A_WB)

#define MM_TEST_MAP_MAX 8
#include "mm_window.h"

static void desc(uint32_t type, uint64_t start, uint64_t pages)
{
	desc_attr(type, start, pages, A_RAM);
}

/* what firmware left in the window: a pattern that must survive where it
 * is not free memory */
static int in_child(void (*fn)(void))
{
	return in_child_window(fn, 0xa5);
}

static bool all_a5(uint64_t start, uint64_t pages)
{
	const uint8_t *p = (const uint8_t *)start;
	for (uint64_t i = 0; i < pages * PG; i++)
		if (p[i] != 0xa5)
			return false;
	return true;
}

/* ---- a sane map --------------------------------------------------------- */
static void sane(void)
{
	desc(EfiLoaderCode, WIN_BASE, 16);
	desc(EfiConventionalMemory, WIN_BASE + 16 * PG, 512);
	desc(EfiBootServicesData, WIN_BASE + 528 * PG, 496);
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 512 - BITMAP_PAGES)
		_exit(10);
	uint64_t a = page_alloc(8, 0);
	if (a < WIN_BASE + 16 * PG || a + 8 * PG > WIN_BASE + 528 * PG)
		_exit(11);
	if (!all_a5(WIN_BASE, 16) || !all_a5(WIN_BASE + 528 * PG, 496))
		_exit(12);
}

static void test_pmm_sane_map(void **st)
{
	assert_int_equal(in_child(sane), 0);
}

/* ---- a descriptor whose end wraps the address space ----------------------
 * PhysicalStart + NumberOfPages * 4096 past 2^64 (or NumberOfPages * 4096
 * itself overflowing) must not make pmm clear bits past its bitmap */
static void wraps(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 512);
	desc(EfiConventionalMemory, WIN_BASE + 512 * PG, (1ull << 52) + 4);
	desc(EfiLoaderData, WIN_BASE + 600 * PG, 8);
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total > 512)
		_exit(10);
	if (!all_a5(WIN_BASE + 600 * PG, 8))
		_exit(11);
}

static void test_pmm_wrapping_descriptor_ignored(void **st)
{
	assert_int_equal(in_child(wraps), 0);
}

/* ---- conventional memory past the identity map --------------------------
 * mm_init maps no descriptor that ends past MM_IDENTITY_LIMIT (2^47), so
 * its pages are not free: not handed out, and no bitmap sized for them (4
 * GiB of bitmap for 2^47 of address space: "no room for the page bitmap") */
static void past_identity(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 512);
	/* across 2^47, and wholly above it */
	desc(EfiConventionalMemory, (1ull << 47) - 4 * PG, 8);
	desc(EfiConventionalMemory, 1ull << 47, 16);
	shim_kprintf_calls = 0;
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 512 - BITMAP_PAGES)
		_exit(10);
	/* one line for each descriptor not used, one summary */
	if (shim_kprintf_calls != 3)
		_exit(11);
	uint64_t a;
	while ((a = page_alloc(1, 0)))
		if (a < WIN_BASE || a >= WIN_BASE + 512 * PG)
			_exit(12);
}

static void test_pmm_past_identity_map_not_used(void **st)
{
	assert_int_equal(in_child(past_identity), 0);
}

/* ---- overlapping descriptors -----------------------------------------------
 * firmware that lists loader data (this image, the boot files) inside a
 * conventional range: those pages are not free, and nothing (not the bitmap
 * either) is placed on them */
static void overlap(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 1024);
	desc(EfiLoaderData, WIN_BASE, 8);
	desc(EfiConventionalMemory, WIN_BASE + 256 * PG, 64); /* twice */
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	/* less the loader data and the bitmap */
	if (s.total != 1024 - 8 - BITMAP_PAGES)
		_exit(10);
	if (!all_a5(WIN_BASE, 8))
		_exit(11);
	for (int i = 0; i < 1024 - 8 - BITMAP_PAGES; i++) {
		uint64_t a = page_alloc(1, 0);
		if (!a || a < WIN_BASE + 8 * PG)
			_exit(12);
	}
	if (page_alloc(1, 0))
		_exit(13);
	if (!all_a5(WIN_BASE, 8))
		_exit(14);
}

static void test_pmm_overlapping_descriptors(void **st)
{
	assert_int_equal(in_child(overlap), 0);
}

/* ---- claims by descriptors that are not page-aligned or empty ------------
 * a claim covers every page its bytes touch: loader data at page 100 + 8
 * bytes, one page long, holds the first 8 bytes of page 101 too (Linux
 * frees to its buddy allocator only the whole pages of free memory:
 * memblock's free ranges are rounded inward) */
static void unaligned_claim(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 1024);
	desc(EfiLoaderData, WIN_BASE + 100 * PG + 8, 1);
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 1024 - 2 - BITMAP_PAGES)
		_exit(10);
	uint64_t a;
	while ((a = page_alloc(1, 0)))
		if (a == WIN_BASE + 100 * PG || a == WIN_BASE + 101 * PG)
			_exit(11);
	if (!all_a5(WIN_BASE + 100 * PG, 2))
		_exit(12);
}

static void test_pmm_unaligned_claim_whole_pages(void **st)
{
	assert_int_equal(in_child(unaligned_claim), 0);
}

/* an empty descriptor claims nothing: not where the bitmap goes either
 * (the only room for it here) */
static void empty_claim(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 1024);
	desc(EfiLoaderData, WIN_BASE + PG, 0);
	desc(EfiReservedMemoryType, WIN_BASE + 2 * PG + 8, 0);
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 1024 - BITMAP_PAGES)
		_exit(10);
}

static void test_pmm_empty_claim_nothing(void **st)
{
	assert_int_equal(in_child(empty_claim), 0);
}

/* an empty conventional descriptor (UEFI 2.10 §7.2.3: NumberOfPages must
 * not be 0) holds no memory, so it does not size the bitmaps either: one
 * at 1 TiB made them 32 MiB each for 4 MiB of memory ("no room for the
 * page bitmap"), and one just below 2^47 4 GiB each */
static void empty_free(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 1024);
	desc(EfiConventionalMemory, 1ull << 40, 0);
	desc(EfiConventionalMemory, (1ull << 47) - PG, 0);
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 1024 - BITMAP_PAGES)
		_exit(10);
}

/* with no free page at all, pmm_init panics ("no room for the page
 * bitmap"), as it always did: an empty descriptor is no home for bitmaps
 * of no bytes either (and one inside claimed memory was judged by where
 * the claim is, so whether it panicked depended on the map) */
static void only_empty_free(void)
{
	desc(EfiReservedMemoryType, WIN_BASE, 512);
	desc(EfiConventionalMemory, WIN_BASE + 512 * PG, 0);
	pmm_init();
}

static void test_pmm_empty_free_sizes_nothing(void **st)
{
	assert_int_equal(in_child(empty_free), 0);
	assert_int_equal(in_child(only_empty_free), 128 + SIGABRT);
}

/* ---- frees of pages page_alloc did not hand out ---------------------------
 * each panics (the kernel's answer to a double free): taking back page 0,
 * memory the map claims or the bitmap's own pages would hand them out
 * next; a free is page-granular (part of an allocation may go back) but
 * page-aligned */
static int bad_free; /* which free free_in_sane tries last */

static void free_in_sane(void)
{
	desc(EfiLoaderCode, WIN_BASE, 16);
	desc(EfiConventionalMemory, WIN_BASE + 16 * PG, 512);
	desc(EfiBootServicesData, WIN_BASE + 528 * PG, 496);
	pmm_init();
	uint64_t a = page_alloc(4, 0);
	if (!a)
		_exit(10);
	page_free(a + PG, 2); /* the middle of it: fine */
	const uint64_t at[] = {
	    a,			  /* its first page: fine */
	    0,			  /* page 0 */
	    WIN_BASE + 4 * PG,	  /* loader code */
	    WIN_BASE + 16 * PG,	  /* the bitmap: where free memory starts */
	    WIN_BASE + 600 * PG,  /* boot-services data */
	    a + 8,		  /* inside its first page, unaligned */
	    WIN_BASE + 1024 * PG, /* past the end of memory */
	};
	page_free(at[bad_free], 1);
}

static void test_pmm_free_not_allocated_panics(void **st)
{
	assert_int_equal(in_child(free_in_sane), 0);
	for (bad_free = 1; bad_free <= 6; bad_free++)
		assert_int_equal(in_child(free_in_sane), 128 + SIGABRT);
}

/* ---- a map whose size is not a whole number of descriptors ------------ */
static void partial(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 512);
	/* a second descriptor cut short: only its first 8 bytes are in the
	 * map, and nothing of it may be read */
	uint8_t *buf = malloc(sizeof(map[0]) + 8);
	memcpy(buf, map, sizeof(map[0]));
	uint32_t conv = EfiConventionalMemory; /* its start: unreadable */
	memset(buf + sizeof(map[0]), 0, 8);
	memcpy(buf + sizeof(map[0]), &conv, 4);
	boot_mmap.desc = buf;
	boot_mmap.size = sizeof(map[0]) + 8;
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 512 - BITMAP_PAGES)
		_exit(10);
	free(buf);
}

static void test_pmm_partial_descriptor_not_read(void **st)
{
	assert_int_equal(in_child(partial), 0);
}

/* ---- descriptors whose size is not a multiple of 8 -----------------------
 * desc_size is firmware's (UEFI 2.10 §7.2.3: at least the struct's 40
 * bytes, more in later revisions); with 44, the second descriptor's 64-bit
 * fields sit 4 bytes off their alignment. pmm reads each descriptor by
 * copying it out, not through a misaligned pointer (undefined behaviour,
 * which UBSan here turns into an abort). */
static uint64_t odd_buf[64];
static uint64_t odd_size;

static void odd_map(uint64_t dsize)
{
	const EFI_MEMORY_DESCRIPTOR d[] = {
	    {.Type = EfiConventionalMemory,
	     .PhysicalStart = WIN_BASE,
	     .NumberOfPages = 512,
	     .Attribute = A_RAM},
	    {.Type = EfiLoaderData,
	     .PhysicalStart = WIN_BASE + 100 * PG,
	     .NumberOfPages = 4,
	     .Attribute = A_RAM},
	    {.Type = EfiACPIReclaimMemory,
	     .PhysicalStart = WIN_BASE + 600 * PG,
	     .NumberOfPages = 4,
	     .Attribute = A_RAM},
	};
	memset(odd_buf, 0xee, sizeof(odd_buf));
	for (unsigned i = 0; i < 3; i++)
		memcpy((uint8_t *)odd_buf + i * dsize, &d[i], sizeof(d[i]));
	boot_mmap.desc = (uint8_t *)odd_buf;
	boot_mmap.size = 3 * dsize;
	boot_mmap.desc_size = dsize;
}

static void odd_size_run(void)
{
	odd_map(odd_size);
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 512 - 4 - BITMAP_PAGES)
		_exit(10);
	if (!mm_firmware_readable(WIN_BASE + 600 * PG, 36) ||
	    mm_firmware_readable(WIN_BASE + 200 * PG, 36))
		_exit(11);
	uint64_t a;
	while ((a = page_alloc(1, 0)))
		if (a >= WIN_BASE + 100 * PG && a < WIN_BASE + 104 * PG)
			_exit(12);
}

static void test_pmm_descriptor_size_not_multiple_of_8(void **st)
{
	const uint64_t sizes[] = {40, 41, 44, 52, 63};
	for (unsigned i = 0; i < 5; i++) {
		odd_size = sizes[i];
		assert_int_equal(in_child(odd_size_run), 0);
	}
}

/* ---- what the kernel is using, listed as conventional memory -------------
 * a map that puts the running kernel image, or the memory map itself, in
 * conventional memory: neither becomes free (every page a byte of it
 * touches), so the bitmaps (first in line for the start of the first free
 * descriptor at or above 1 MiB: here they move to the second) and
 * page_alloc's zeroing stay off them */
static void image_in_conventional(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 512);
	desc(EfiConventionalMemory, WIN_BASE + 512 * PG, 512);
	image_start = WIN_BASE;
	image_end = WIN_BASE + 24 * PG + 100; /* 25 pages */
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 1024 - 25 - BITMAP_PAGES)
		_exit(10);
	uint64_t a;
	while ((a = page_alloc(1, 0)))
		if (a < WIN_BASE + 25 * PG)
			_exit(11);
	if (!all_a5(WIN_BASE, 25))
		_exit(12);
}

static void test_pmm_image_in_conventional_not_used(void **st)
{
	assert_int_equal(in_child(image_in_conventional), 0);
}

static void map_in_conventional(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 512);
	desc(EfiConventionalMemory, WIN_BASE + 512 * PG, 512);
	desc(EfiLoaderData, WIN_BASE + 600 * PG, 8);
	desc(EfiACPIReclaimMemory, WIN_BASE + 700 * PG, 4);
	/* the map at 8 bytes into page 2 of the free memory */
	uint8_t *m = (uint8_t *)(WIN_BASE + 2 * PG + 8);
	memcpy(m, map, boot_mmap.size);
	boot_mmap.desc = m;
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (memcmp(m, map, boot_mmap.size))
		_exit(10);
	if (s.total != 1024 - 1 - 8 - 4 - BITMAP_PAGES)
		_exit(11);
	uint64_t a;
	while ((a = page_alloc(1, 0)))
		if (a == WIN_BASE + 2 * PG)
			_exit(12);
	if (memcmp(m, map, boot_mmap.size) ||
	    !mm_firmware_readable(WIN_BASE + 700 * PG, 36))
		_exit(13);
}

static void test_pmm_map_in_conventional_not_used(void **st)
{
	assert_int_equal(in_child(map_in_conventional), 0);
}

/* ---- the bitmaps past claims inside free memory ----------------------------
 * the only free descriptor starts with the image (pages 0..2) and holds
 * loader data at page 5: the bitmaps go to the lowest run of pages nothing
 * claims (pages 6..15), not nowhere ("no room for the page bitmap", as
 * when only a descriptor's start was tried), and pages 3 and 4 stay free */
static void bitmap_past_claims(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 1024);
	desc(EfiLoaderData, WIN_BASE + 5 * PG, 1);
	image_start = WIN_BASE;
	image_end = WIN_BASE + 3 * PG;
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 1024 - 3 - 1 - BITMAP_PAGES)
		_exit(10);
	if (page_alloc(1, 0) != WIN_BASE + 3 * PG ||
	    page_alloc(1, 0) != WIN_BASE + 4 * PG ||
	    page_alloc(1, 0) != WIN_BASE + (6 + BITMAP_PAGES) * PG)
		_exit(11);
	if (!all_a5(WIN_BASE, 3) || !all_a5(WIN_BASE + 5 * PG, 1))
		_exit(12);
}

static void test_pmm_bitmap_past_claims(void **st)
{
	assert_int_equal(in_child(bitmap_past_claims), 0);
}

/* ---- free descriptors that meet, listed out of address order -----------
 * pages 0-3, 8-11 and 4-7 of the window, in that order: 12 free pages in
 * one run, room for the 10 pages of bitmaps. next_free's run from page 0
 * ends at page 8 (the descriptor at 8 was folded before the one reaching
 * it), the next is 4 pages; read as two runs neither held the bitmaps and
 * pmm_init panicked "no room for the page bitmap" */
static void free_runs_out_of_order(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 4);
	desc(EfiConventionalMemory, WIN_BASE + 8 * PG, 4);
	desc(EfiConventionalMemory, WIN_BASE + 4 * PG, 4);
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 12 - BITMAP_PAGES)
		_exit(10);
	if (page_alloc(1, 0) != WIN_BASE + BITMAP_PAGES * PG)
		_exit(11);
}

static void test_pmm_bitmap_in_run_of_unsorted_descriptors(void **st)
{
	assert_int_equal(in_child(free_runs_out_of_order), 0);
}

/* ---- the boot files, listed as conventional memory --------------------------
 * efi.c allocates each file of \capos\ (its record and its data) as loader
 * data, which proofs read long after ExitBootServices. A map that calls
 * all of it conventional memory (here the whole window) still hands none
 * of it out: every page a byte of a record or of the data touches is
 * claimed (bootfs_range, kernel/boot/cmdline.c) */
static void bootfs_in_conventional(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 1024);
	/* a record at page 20, its data over pages 40..42; a second record
	 * inside a page, and a file of no bytes (its data claims nothing) */
	struct bootfs_file *f1 = (struct bootfs_file *)(WIN_BASE + 20 * PG);
	struct bootfs_file *f2 = (struct bootfs_file *)(WIN_BASE + 60 * PG + 8);
	struct bootfs_file *f3 = (struct bootfs_file *)(WIN_BASE + 70 * PG);
	*f1 = (struct bootfs_file){.data = (void *)(WIN_BASE + 40 * PG + 100),
				   .len = 2 * PG,
				   .name = "one.vec"};
	*f2 = (struct bootfs_file){
	    .data = (void *)(WIN_BASE + 50 * PG), .len = 1, .name = "two.vec"};
	*f3 = (struct bootfs_file){.data = (void *)(WIN_BASE + 80 * PG),
				   .len = 0,
				   .name = "empty.vec"};
	bootfs_add(f1);
	bootfs_add(f2);
	bootfs_add(f3);
	/* pages 20, 40..42, 50, 60 and 70 */
	const uint64_t kept[] = {20, 40, 41, 42, 50, 60, 70};
	const unsigned nkept = sizeof(kept) / sizeof(kept[0]);
	memset((void *)(WIN_BASE + 40 * PG + 100), 0x3c, 2 * PG);
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 1024 - nkept - BITMAP_PAGES)
		_exit(10);
	if (f1->next != f2 || f2->next != f3 || strcmp(f2->name, "two.vec"))
		_exit(11);
	uint64_t a;
	while ((a = page_alloc(1, 0)))
		for (unsigned i = 0; i < nkept; i++)
			if (a == WIN_BASE + kept[i] * PG)
				_exit(12);
	const uint8_t *d = f1->data;
	for (uint64_t i = 0; i < 2 * PG; i++)
		if (d[i] != 0x3c)
			_exit(13);
	if (f1->next != f2 || f2->next != f3 || strcmp(f3->name, "empty.vec"))
		_exit(14);
}

static void test_pmm_bootfs_in_conventional_not_used(void **st)
{
	assert_int_equal(in_child(bootfs_in_conventional), 0);
}

/* ---- memory attributes (UEFI 2.10 §7.2.3) --------------------------------
 * conventional memory is ordinary RAM only when it may be cached write-back
 * (EFI_MEMORY_WB) and is neither specific-purpose (EFI_MEMORY_SP: set aside
 * for a driver or application, "soft reserved" in Linux) nor persistent
 * (EFI_MEMORY_NV: page_alloc's zeroing would erase what it keeps). Linux's
 * do_add_efi_memmap makes conventional memory without WB reserved and with
 * SP soft-reserved. The other bits (UC/WC/WT beside WB, RP, XP, RO, WP,
 * MORE_RELIABLE, CPU_CRYPTO, RUNTIME) say what the range supports and take
 * nothing away. Refused descriptors claim their pages like any memory that
 * is not free, and are counted on one line, not one line each. */
static void attributes(void)
{
	/* refused, first in map order at or above 1 MiB: no bitmap there */
	desc_attr(EfiConventionalMemory, WIN_BASE, 64, A_UC);
	desc_attr(EfiConventionalMemory, WIN_BASE + 64 * PG, 64, A_RAM | A_SP);
	desc_attr(EfiConventionalMemory, WIN_BASE + 128 * PG, 64, A_RAM | A_NV);
	desc_attr(EfiConventionalMemory, WIN_BASE + 192 * PG, 64, 0);
	/* usable: every other bit beside WB */
	desc_attr(EfiConventionalMemory, WIN_BASE + 256 * PG, 512,
		  A_WB | A_UCE | A_WP | A_RP | A_XP | A_MR | A_RO |
		      A_CPU_CRYPTO | A_RUNTIME);
	/* a refused one over usable memory claims its pages */
	desc_attr(EfiConventionalMemory, WIN_BASE + 760 * PG, 8, A_WT);
	shim_kprintf_calls = 0;
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 512 - 8 - BITMAP_PAGES)
		_exit(10);
	/* one line for the five refused descriptors, one summary */
	if (shim_kprintf_calls != 2)
		_exit(11);
	uint64_t a;
	while ((a = page_alloc(1, 0)))
		if (a < WIN_BASE + 256 * PG || a >= WIN_BASE + 760 * PG)
			_exit(12);
	if (!all_a5(WIN_BASE, 256) || !all_a5(WIN_BASE + 760 * PG, 8))
		_exit(13);
}

static void test_pmm_conventional_needs_write_back(void **st)
{
	assert_int_equal(in_child(attributes), 0);
}

/* unaccepted memory (UEFI 2.9 type 15: a TDX or SEV-SNP guest's memory the
 * guest has not accepted; a touch faults in the guest) and persistent
 * memory (type 14) are never free, whatever their attributes, and claim
 * what they overlap; pmm_init names the unaccepted memory it leaves (on
 * such a guest that may be most of RAM) on one line */
static void unaccepted(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 1024);
	desc(T_UNACCEPTED, WIN_BASE + 512 * PG, 128);
	desc(T_UNACCEPTED, WIN_BASE + 700 * PG, 4);
	desc(T_PERSISTENT, WIN_BASE + 640 * PG, 32);
	desc(T_UNACCEPTED, 0x100000000ull, 1ull << 20); /* above the window */
	shim_kprintf_calls = 0;
	pmm_init();
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 1024 - 128 - 4 - 32 - BITMAP_PAGES)
		_exit(10);
	if (shim_kprintf_calls != 2)
		_exit(11);
	uint64_t a;
	while ((a = page_alloc(1, 0)))
		if ((a >= WIN_BASE + 512 * PG && a < WIN_BASE + 672 * PG) ||
		    (a >= WIN_BASE + 700 * PG && a < WIN_BASE + 704 * PG))
			_exit(12);
	if (!all_a5(WIN_BASE + 512 * PG, 160) ||
	    !all_a5(WIN_BASE + 700 * PG, 4))
		_exit(13);
}

static void test_pmm_unaccepted_persistent_not_used(void **st)
{
	assert_int_equal(in_child(unaccepted), 0);
}

/* ---- where firmware tables may be read (mm_firmware_readable) -----------
 * only inside descriptors mm_init maps (sane, below 2^47) that hold
 * firmware data, never free memory, MMIO or page 0; reads only the map */
static void test_mm_firmware_readable(void **st)
{
	const uint64_t A = 0x7f000000; /* ACPI reclaim, then NVS after it */
	nmap = 0;
	desc(EfiACPIReclaimMemory, A, 16);
	desc(EfiACPIMemoryNVS, A + 16 * PG, 4);
	desc(EfiConventionalMemory, A + 32 * PG, 16);
	desc(EfiMemoryMappedIO, A + 64 * PG, 16);
	desc(EfiReservedMemoryType, 0, 1);
	desc(EfiACPIReclaimMemory, (1ull << 47) - 4 * PG, 8); /* past 2^47 */
	desc(EfiACPIReclaimMemory, A + 80 * PG + 8, 4);	      /* unaligned */
	assert_true(mm_firmware_readable(A, 36));
	assert_true(mm_firmware_readable(A + 16 * PG - 36, 36));
	/* across two adjacent descriptors, whole */
	assert_true(mm_firmware_readable(A + 15 * PG, 2 * PG));
	assert_true(mm_firmware_readable(A, 20 * PG));
	/* one byte past the NVS descriptor: a gap */
	assert_false(mm_firmware_readable(A + 20 * PG - 36, 37));
	assert_false(mm_firmware_readable(A + 20 * PG, 1));
	assert_false(mm_firmware_readable(A - 1, 2));
	/* memory the page allocator hands out, device registers */
	assert_false(mm_firmware_readable(A + 32 * PG, 36));
	assert_false(mm_firmware_readable(A + 64 * PG, 36));
	/* page 0 (left unmapped), a descriptor mm_init does not map */
	assert_false(mm_firmware_readable(0x40, 36));
	assert_false(mm_firmware_readable((1ull << 47) - 4 * PG, 36));
	assert_false(mm_firmware_readable(A + 81 * PG, 36));
	/* empty and wrapping ranges */
	assert_false(mm_firmware_readable(A, 0));
	assert_false(mm_firmware_readable(A, UINT64_MAX));
	/* a map with no whole descriptor in it */
	boot_mmap.desc_size = 0;
	assert_false(mm_firmware_readable(A, 36));
	nmap = 0;
}

/* unaccepted memory (type 15) is never readable: on a TDX guest a read of
 * a private page the guest has not accepted raises #VE, on SEV-SNP a #VC /
 * nested page fault, and the kernel has no handler for either; an ACPI
 * table pointer there is refused like any other outside firmware memory.
 * What the other attributes say does not matter for reading: RP and XP in
 * the memory map are what a range supports, not how it is mapped now, and
 * an uncached range reads the same, only slower. Persistent memory (type
 * 14) reads like RAM. */
static void test_mm_firmware_readable_not_unaccepted(void **st)
{
	const uint64_t A = 0x7f000000;
	nmap = 0;
	desc(EfiACPIReclaimMemory, A, 16);
	desc(T_UNACCEPTED, A + 16 * PG, 16);
	desc_attr(EfiRuntimeServicesData, A + 32 * PG, 4,
		  A_UC | A_RP | A_XP | A_RUNTIME);
	desc(T_PERSISTENT, A + 36 * PG, 4);
	assert_true(mm_firmware_readable(A, 36));
	assert_false(mm_firmware_readable(A + 16 * PG, 36));
	assert_false(mm_firmware_readable(A + 20 * PG, 36));
	/* from ACPI memory into unaccepted memory */
	assert_false(mm_firmware_readable(A + 16 * PG - 16, 32));
	assert_true(mm_firmware_readable(A + 32 * PG, 36));
	assert_true(mm_firmware_readable(A + 32 * PG, 8 * PG));
	nmap = 0;
}

/* ---- what a device's BAR may not claim (mm_holds_ram) -------------------
 * a byte of the range in a descriptor of system memory, of any type the
 * kernel or firmware keeps data in (conventional, loader, boot and runtime
 * services, ACPI, unusable, PAL code, persistent, unaccepted), or in the
 * kernel image; not reserved, MMIO or port space, nor a type no spec
 * names (Linux makes those reserved, and firmware is known to report BAR
 * space as reserved). Descriptors mm_init does not map count too. */
static void test_mm_holds_ram(void **st)
{
	const uint64_t A = 0x7f000000;
	nmap = 0;
	desc(EfiConventionalMemory, A, 16);
	desc(EfiMemoryMappedIO, A + 16 * PG, 16);
	desc(EfiReservedMemoryType, A + 32 * PG, 16);
	desc(EfiACPIMemoryNVS, A + 48 * PG, 1);
	desc(T_PERSISTENT, (1ull << 47), 16); /* past the identity map */
	desc(0x70000001, A + 64 * PG, 16);    /* OEM type */
	desc(EfiRuntimeServicesData, A + 80 * PG + 8, 1); /* unaligned */
	assert_true(mm_holds_ram(A, PG));
	assert_true(mm_holds_ram(A + 15 * PG, 2 * PG)); /* into MMIO */
	assert_true(mm_holds_ram(A - PG, PG + 1));
	assert_true(mm_holds_ram(A + 16 * PG, 1ull << 40)); /* over it all */
	assert_false(mm_holds_ram(A - PG, PG));
	assert_false(mm_holds_ram(A + 16 * PG, 32 * PG)); /* MMIO, reserved */
	assert_true(mm_holds_ram(A + 48 * PG + PG - 1, 1));
	assert_false(mm_holds_ram(A + 49 * PG, 15 * PG));
	assert_false(mm_holds_ram(A + 64 * PG, 16 * PG));
	assert_true(mm_holds_ram((1ull << 47) + 8 * PG, PG));
	assert_true(mm_holds_ram(A + 81 * PG, 4)); /* its last partial page */
	assert_false(mm_holds_ram(A + 82 * PG, 4));
	/* empty and wrapping ranges hold nothing; one that ends at 2^64 */
	assert_false(mm_holds_ram(A, 0));
	assert_false(mm_holds_ram(1ull << 63, 1ull << 63));
	/* the kernel image, whatever the map says of it */
	image_start = A + 96 * PG;
	image_end = A + 100 * PG;
	assert_true(mm_holds_ram(A + 99 * PG, PG));
	image_start = image_end = 0;
	nmap = 0;
}

/* ---- thousands of claims over all of memory ------------------------------
 * hostile firmware: 4096 descriptors that each claim all memory but the
 * middle of the window (from page 0 up to it; from it to 2^52, or wrapping
 * 2^64; reserved, loader data, MMIO, unaligned), amid 64 conventional ones
 * over the whole window. pmm_init's work (mm_host_work: descriptors read
 * or moved, bitmap steps) stays within a sort of the map (4 n log2 n), a
 * few walks of it and one step per free page; walking each claim's pages
 * took a step per page below the top of free memory (132 k) per claim. */
extern uint64_t mm_host_work; /* kernel/mm/mm_internal.h */
#define HOSTILE_CLAIMS 4096
#define HOSTILE_FREE   64
/* 4 n log2 n (n = 4160 < 2^13): pmm_init sorts the unsorted map */
#define HOSTILE_WORK (4 * 13 * (HOSTILE_CLAIMS + HOSTILE_FREE) + 4 * WIN_PAGES)

static void many_claims(void)
{
	static EFI_MEMORY_DESCRIPTOR big[HOSTILE_CLAIMS + HOSTILE_FREE];
	const uint64_t lo = WIN_BASE + 256 * PG, hi = WIN_BASE + 768 * PG;
	unsigned n = 0;
	for (unsigned i = 0; i < HOSTILE_CLAIMS; i++) {
		EFI_MEMORY_DESCRIPTOR *d = &big[n++];
		*d = (EFI_MEMORY_DESCRIPTOR){.Type = EfiReservedMemoryType,
					     .PhysicalStart = 0,
					     .NumberOfPages = lo / PG,
					     .Attribute = A_RAM};
		if (i % 4 == 1) {
			d->Type = EfiLoaderData;
			d->PhysicalStart = hi;
			d->NumberOfPages = ((1ull << 52) - hi) / PG;
		} else if (i % 4 == 2) {
			d->Type = EfiMemoryMappedIO;
			d->PhysicalStart = hi + 8;
			d->NumberOfPages = UINT64_MAX;
		} else if (i % 4 == 3) {
			d->PhysicalStart = PG + 8; /* claims pages 1 to lo */
			d->NumberOfPages = lo / PG - 2;
		}
		if (i % (HOSTILE_CLAIMS / HOSTILE_FREE) == 0)
			big[n++] = (EFI_MEMORY_DESCRIPTOR){
			    .Type = EfiConventionalMemory,
			    .PhysicalStart = WIN_BASE,
			    .NumberOfPages = WIN_PAGES,
			    .Attribute = A_RAM};
	}
	map_use(big, n);
	mm_host_work = 0;
	pmm_init();
	uint64_t work = mm_host_work;
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 512 - BITMAP_PAGES)
		_exit(10);
	uint64_t a = page_alloc(512 - BITMAP_PAGES, 0);
	if (a < lo || a + (512 - BITMAP_PAGES) * PG > hi)
		_exit(11);
	if (!all_a5(WIN_BASE, 256) || !all_a5(hi, WIN_PAGES - 768))
		_exit(12);
	if (work > HOSTILE_WORK) {
		fprintf(stderr, "pmm_init took %llu steps, more than %llu\n",
			(unsigned long long)work,
			(unsigned long long)HOSTILE_WORK);
		_exit(13);
	}
}

static void test_pmm_many_claims_bounded_work(void **st)
{
	assert_int_equal(in_child(many_claims), 0);
}

/* ---- page_alloc of no pages, or of more than there are ---------------------
 * n = 0 is no allocation (0, nothing marked used: a caller that took the
 * address would hold pages no one handed out), and n past the pages the
 * bitmap covers, SIZE_MAX among them, fails at once: a run search for it
 * would wrap i + n and read past the bitmap */
static void alloc_bounds(void)
{
	desc(EfiConventionalMemory, WIN_BASE, 1024);
	pmm_init();
	struct pmm_stats s;
	const uint64_t npages = WIN_BASE / PG + 1024;
	const size_t bad[] = {0,
			      npages + 1,
			      (size_t)npages << 12,
			      SIZE_MAX / PG,
			      SIZE_MAX - 1,
			      SIZE_MAX};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (page_alloc(bad[i], 0) || page_alloc(bad[i], 1ull << 40))
			_exit(10 + i);
		pmm_stats(&s);
		if (s.used)
			_exit(20 + i);
	}
	/* the whole pool still goes out, in one piece */
	if (!page_alloc(1024 - BITMAP_PAGES, 0))
		_exit(30);
}

static void test_pmm_alloc_zero_or_past_npages_fails(void **st)
{
	assert_int_equal(in_child(alloc_bounds), 0);
}

/* ---- conventional memory that ends exactly at MM_IDENTITY_LIMIT ----------
 * mm_init maps a descriptor ending at or below 2^47 (paging.c,
 * desc_in_map), so pmm_init counts one that ends exactly there as mapped:
 * without EFI_MEMORY_WB it is named on the attributes line, not as past
 * the identity map; the one a page higher is past it */
static unsigned past_lines, attr_lines;
static char past_line[256], attr_line[256];
static void limit_line(const char *line)
{
	if (strstr(line, "ends past the identity map")) {
		past_lines++;
		snprintf(past_line, sizeof(past_line), "%s", line);
	}
	if (strstr(line, "are not write-back RAM")) {
		attr_lines++;
		snprintf(attr_line, sizeof(attr_line), "%s", line);
	}
}

static void identity_limit(void)
{
	const uint64_t lim = 1ull << 47; /* MM_IDENTITY_LIMIT */
	desc(EfiConventionalMemory, WIN_BASE, 1024);
	desc_attr(EfiConventionalMemory, lim - 4 * PG, 4, A_UC);
	desc(EfiConventionalMemory, lim - 3 * PG, 4); /* to a page past */
	shim_line_hook = limit_line;
	pmm_init();
	shim_line_hook = NULL;
	if (past_lines != 1 || !strstr(past_line, "0x7fffffffd000, 4 pages"))
		_exit(10);
	if (attr_lines != 1 ||
	    !strstr(attr_line, "1 conventional memory descriptors, 16 KiB"))
		_exit(11);
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 1024 - BITMAP_PAGES)
		_exit(12);
}

static void test_pmm_identity_limit_inclusive(void **st)
{
	assert_int_equal(in_child(identity_limit), 0);
}

/* ---- the kernel's own ranges, walked once per run of them passed ---------
 * pmm_init's two sweeps ask mm_inuse_at for every range of the image, the
 * map and the boot files (a walk of the boot file list, which has no fixed
 * length: boot_internal.h) only when a sweep has passed the run of such
 * ranges it last found, and never again once none is left above it. Here
 * the map (pages 2-3) and INUSE_FILES files whose records and data touch
 * one after another (pages 10 to 10 + INUSE_FILES: one run) lie below
 * INUSE_HOLES one-page reserved holes, so free memory comes in hundreds of
 * runs: at most INUSE_WALKS walks, each counted by mm_image_range. A sweep
 * that walks once per range of a run, or once per free run after the last
 * range, takes hundreds. */
#define INUSE_FILES 256
#define INUSE_HOLES 200
#define INUSE_RUNS  2 /* the map, the files */
/* per sweep, one walk for each run passed and one that finds none left */
#define INUSE_WALKS (2 * (INUSE_RUNS + 1))

static void inuse_walks(void)
{
	EFI_MEMORY_DESCRIPTOR *m = (EFI_MEMORY_DESCRIPTOR *)(WIN_BASE + 2 * PG);
	unsigned n = 0;
	m[n++] = (EFI_MEMORY_DESCRIPTOR){.Type = EfiConventionalMemory,
					 .PhysicalStart = WIN_BASE,
					 .NumberOfPages = 1024,
					 .Attribute = A_RAM};
	for (unsigned i = 0; i < INUSE_HOLES; i++)
		m[n++] = (EFI_MEMORY_DESCRIPTOR){
		    .Type = EfiReservedMemoryType,
		    .PhysicalStart = WIN_BASE + (600 + 2 * i) * PG,
		    .NumberOfPages = 1,
		    .Attribute = A_RAM};
	map_use(m, n); /* 201 descriptors: pages 2 and 3 */
	for (unsigned i = 0; i < INUSE_FILES; i++) {
		/* the record at the start of page 10 + i, its data from the
		 * middle of it into the next */
		struct bootfs_file *f =
		    (struct bootfs_file *)(WIN_BASE + (10 + i) * PG);
		*f = (struct bootfs_file){
		    .data = (void *)(WIN_BASE + (10 + i) * PG + PG / 2),
		    .len = PG,
		    .name = "walk.vec"};
		bootfs_add(f);
	}
	image_range_calls = 0;
	pmm_init();
	if (image_range_calls > INUSE_WALKS) {
		fprintf(stderr, "%llu walks of the kernel's ranges, bound %u\n",
			(unsigned long long)image_range_calls, INUSE_WALKS);
		_exit(10);
	}
	/* and what they claim stays claimed */
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total !=
	    1024 - 2 - (INUSE_FILES + 1) - INUSE_HOLES - BITMAP_PAGES)
		_exit(11);
	uint64_t a;
	while ((a = page_alloc(1, 0)))
		if ((a >= WIN_BASE + 2 * PG && a < WIN_BASE + 4 * PG) ||
		    (a >= WIN_BASE + 10 * PG &&
		     a < WIN_BASE + (11 + INUSE_FILES) * PG))
			_exit(12);
}

static void test_pmm_inuse_walks_once_per_run(void **st)
{
	assert_int_equal(in_child(inuse_walks), 0);
}

/* ---- thousands of conventional descriptors pmm cannot use ----------------
 * a broken or hostile map of BAD_DESCS conventional descriptors, half
 * unaligned over the window's upper half, half past the identity map, and
 * one good one: a line for each of the first MM_DESC_LINES, then one
 * summing the rest (before: a line each, 3000), and every one of them still
 * refused: nothing allocated outside the good one, the window's upper half
 * left as firmware filled it */
#define BAD_DESCS 3000
static unsigned bad_lines, bad_rest_lines;
static char bad_rest_line[256];
static void bad_line(const char *line)
{
	if (strstr(line, "is unaligned or ends past the identity map"))
		bad_lines++;
	if (strstr(line, "more conventional memory descriptors")) {
		bad_rest_lines++;
		snprintf(bad_rest_line, sizeof(bad_rest_line), "%s", line);
	}
}

static void many_bad(void)
{
	static EFI_MEMORY_DESCRIPTOR big[BAD_DESCS + 1];
	big[0] = (EFI_MEMORY_DESCRIPTOR){.Type = EfiConventionalMemory,
					 .PhysicalStart = WIN_BASE,
					 .NumberOfPages = 512,
					 .Attribute = A_RAM};
	for (unsigned i = 1; i <= BAD_DESCS; i++)
		big[i] = (EFI_MEMORY_DESCRIPTOR){
		    .Type = EfiConventionalMemory,
		    .PhysicalStart = i % 2 ? WIN_BASE + (512 + i % 500) * PG + 8
					   : (1ull << 47) + i * PG,
		    .NumberOfPages = 4,
		    .Attribute = A_RAM};
	map_use(big, BAD_DESCS + 1);
	shim_line_hook = bad_line;
	pmm_init();
	shim_line_hook = NULL;
	if (bad_lines != MM_DESC_LINES || bad_rest_lines != 1)
		_exit(10);
	char want[128];
	snprintf(want, sizeof(want),
		 "%u more conventional memory "
		 "descriptors unaligned or ending past the identity map, %u "
		 "KiB;",
		 BAD_DESCS - MM_DESC_LINES,
		 (BAD_DESCS - MM_DESC_LINES) * 4 * 4);
	if (!strstr(bad_rest_line, want))
		_exit(11);
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != 512 - BITMAP_PAGES)
		_exit(12);
	uint64_t a;
	while ((a = page_alloc(1, 0)))
		if (a < WIN_BASE || a >= WIN_BASE + 512 * PG)
			_exit(13);
	if (!all_a5(WIN_BASE + 512 * PG, WIN_PAGES - 512))
		_exit(14);
}

static void test_pmm_bad_descriptor_lines_bounded(void **st)
{
	assert_int_equal(in_child(many_bad), 0);
}

int main(void)
{
	shim_quiet = 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pmm_sane_map),
	    cmocka_unit_test(test_pmm_wrapping_descriptor_ignored),
	    cmocka_unit_test(test_pmm_past_identity_map_not_used),
	    cmocka_unit_test(test_pmm_overlapping_descriptors),
	    cmocka_unit_test(test_pmm_unaligned_claim_whole_pages),
	    cmocka_unit_test(test_pmm_empty_claim_nothing),
	    cmocka_unit_test(test_pmm_empty_free_sizes_nothing),
	    cmocka_unit_test(test_pmm_free_not_allocated_panics),
	    cmocka_unit_test(test_pmm_partial_descriptor_not_read),
	    cmocka_unit_test(test_pmm_descriptor_size_not_multiple_of_8),
	    cmocka_unit_test(test_pmm_image_in_conventional_not_used),
	    cmocka_unit_test(test_pmm_map_in_conventional_not_used),
	    cmocka_unit_test(test_pmm_bootfs_in_conventional_not_used),
	    cmocka_unit_test(test_pmm_bitmap_past_claims),
	    cmocka_unit_test(test_pmm_bitmap_in_run_of_unsorted_descriptors),
	    cmocka_unit_test(test_pmm_conventional_needs_write_back),
	    cmocka_unit_test(test_pmm_unaccepted_persistent_not_used),
	    cmocka_unit_test(test_mm_firmware_readable),
	    cmocka_unit_test(test_mm_firmware_readable_not_unaccepted),
	    cmocka_unit_test(test_mm_holds_ram),
	    cmocka_unit_test(test_pmm_many_claims_bounded_work),
	    cmocka_unit_test(test_pmm_alloc_zero_or_past_npages_fails),
	    cmocka_unit_test(test_pmm_identity_limit_inclusive),
	    cmocka_unit_test(test_pmm_inuse_walks_once_per_run),
	    cmocka_unit_test(test_pmm_bad_descriptor_lines_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
