/* tests/host/mm/test_pmm_sweep.c — pmm_init's sweep of the map sorted by
 * address (kernel/mm/pmm.c: map_sort, sweep_next) against a model of what
 * is free written from docs/mm.md, page by page (pmm_model.h, which
 * fuzz_pmm_seq uses too).
 *
 * - test_pmm_sweep_same_as_model: random maps (unsorted, overlapping,
 *   adjacent, empty, unaligned, wrapping, every type and some attributes
 *   refused; descriptors of 40, 44 and 48 bytes with junk past the 40 and
 *   a partial last one; the image, the map itself and boot files over
 *   them or not): pmm_init panics exactly when the model has no run of
 *   the bitmaps' pages free at or above 1 MiB; else it prints the model's
 *   count of lines, its page count is the model's, the bitmaps are at the
 *   model's lowest such run, every page is used in the bitmap and out of
 *   the pool exactly when the model says it is not free or is the
 *   bitmaps', the free total is the model's free pages less the bitmaps',
 *   and the map afterwards holds the same descriptors, byte for byte, in
 *   address order.
 * - test_pmm_sweep_large_map_work: a map of PMM_BIG descriptors as a large
 *   server's firmware gives (small runs of every kind across memory),
 *   listed out of order: pmm_init's work (mm_host_work: descriptors read or
 *   moved, bitmap steps) stays within BIG_WORK, 4 n log2 n plus 4 steps
 *   per page of the window; the walk per run before session 12 took about
 *   3 n^2 (805 million steps for 16384 descriptors, 1000 times BIG_WORK).
 *
 * Each pmm_init runs in a child (pmm keeps its state in statics and
 * panics by aborting); the results come back through shared memory. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <efi.h>

#include "kernel/boot/boot_internal.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "shim.h"

#include "kernel/mm/pmm.c" /* its statics: bitmap, npages, total_free */

struct boot_memmap boot_mmap;

static uint64_t image_start, image_end;
void mm_image_range(uint64_t *start, uint64_t *end)
{
	*start = image_start;
	*end = image_end;
}

#include "efi_spec.h"
#include "pmm_model.h"
#define A_RAM (A_UC | A_WC | A_WT | A_WB)

/* "physical" memory: a window of host memory at its own address, as
 * test_pmm's (mm_window.h) */
#define WIN_BASE  0x20000000ull
#define WIN_PAGES 1024ull  /* where the random maps put memory */
#define BIG_PAGES 65536ull /* mapped, touched only where the big map is */
#define PG	  4096ull
/* the pages the model sees: every page below the window's end */
#define MODEL_PAGES (WIN_BASE / PG + WIN_PAGES)

/* fn in a child with the window mapped and filled with `fill`: 0 when it
 * returned, else its exit code or 128 + its signal (a panic aborts) */
static int in_child_window(void (*fn)(void), int fill)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		void *p = mmap(
		    (void *)WIN_BASE, BIG_PAGES * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != (void *)WIN_BASE)
			abort();
		if (fill) /* anonymous memory is 0 already */
			memset(p, fill, WIN_PAGES * PG);
		fn();
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define PMM_BIG	  16384 /* descriptors of the large map */
#define MAX_DESC  PMM_BIG
#define MAX_DSIZE 48
#define BITS_MAX  (64 * 1024) /* both bitmaps, for a top in the window */

static uint8_t raw[MAX_DESC * MAX_DSIZE + MAX_DSIZE];
static uint64_t raw_size, raw_dsize;
static uint64_t map_addr; /* where the child puts the map: 0 in raw */
static struct {
	uint64_t rec, data, len;
} files[3];
static unsigned nfiles;

struct result {
	int rc; /* in_child_window's */
	uint64_t bm, np, tf, work, lines, hash;
	bool perm_ok;
	uint8_t bits[BITS_MAX];
};
static struct result *res; /* shared with the child */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static uint64_t line_n, line_h;
static void line_hook(const char *line)
{
	line_n++;
	for (const char *p = line; *p; p++)
		line_h = (line_h ^ (uint8_t)*p) * 0x100000001b3ull;
	line_h = (line_h ^ '\n') * 0x100000001b3ull;
}

/* the map, the image and the boot files where the parent chose */
static void child_setup(void)
{
	uint8_t *m = raw;
	if (map_addr) {
		memcpy((void *)map_addr, raw, raw_size);
		m = (uint8_t *)map_addr;
	}
	boot_mmap.desc = m;
	boot_mmap.size = raw_size;
	boot_mmap.desc_size = raw_dsize;
	for (unsigned i = 0; i < nfiles; i++) {
		struct bootfs_file *f = (void *)files[i].rec;
		memset(f, 0, sizeof(*f));
		f->data = (const void *)files[i].data;
		f->len = files[i].len;
		bootfs_add(f);
	}
	shim_line_hook = line_hook;
	line_n = 0;
	line_h = 0xcbf29ce484222325ull;
}

static int cmp_entry(const void *a, const void *b)
{
	return memcmp(a, b, raw_dsize);
}

/* the map pmm_init left holds the parent's descriptors, in address
 * order, and the partial tail as it was */
static bool map_is_permutation(const uint8_t *m)
{
	uint64_t n = raw_size / raw_dsize, tail = raw_size - n * raw_dsize;
	static uint8_t a[sizeof(raw)], b[sizeof(raw)];
	memcpy(a, raw, raw_size);
	memcpy(b, m, raw_size);
	for (uint64_t i = 1; i < n; i++) {
		EFI_MEMORY_DESCRIPTOR x, y;
		memcpy(&x, b + (i - 1) * raw_dsize, sizeof(x));
		memcpy(&y, b + i * raw_dsize, sizeof(y));
		if (x.PhysicalStart > y.PhysicalStart)
			return false;
	}
	qsort(a, n, raw_dsize, cmp_entry);
	qsort(b, n, raw_dsize, cmp_entry);
	return !memcmp(a, b, n * raw_dsize) &&
	       !memcmp(raw + n * raw_dsize, m + n * raw_dsize, tail);
}

static void save(struct result *r, uint64_t bm, uint64_t np, uint64_t tf,
		 uint64_t work)
{
	r->bm = bm;
	r->np = np;
	r->tf = tf;
	r->work = work;
	r->lines = line_n;
	r->hash = line_h;
	uint64_t bytes = 2 * ALIGN_UP((np + 7) / 8, PAGE_SIZE);
	if (bytes <= BITS_MAX)
		memcpy(r->bits, (void *)bm, bytes);
}

static void run_new(void)
{
	child_setup();
	mm_host_work = 0;
	pmm_init();
	save(res, (uint64_t)bitmap, npages, total_free, mm_host_work);
	res->perm_ok = map_is_permutation(boot_mmap.desc);
}

/* a window address, page-aligned or not */
static uint64_t win_addr(bool aligned)
{
	uint64_t a = WIN_BASE + below(WIN_PAGES) * PG;
	return aligned ? a : a + below(PG);
}

static void put(uint64_t i, uint32_t type, uint64_t start, uint64_t pages,
		uint64_t attr)
{
	EFI_MEMORY_DESCRIPTOR d = {.Type = type,
				   .PhysicalStart = start,
				   .NumberOfPages = pages,
				   .Attribute = attr};
	uint8_t *p = raw + i * raw_dsize;
	for (uint64_t k = 0; k < raw_dsize; k++)
		p[k] = (uint8_t)rnd(); /* junk past UEFI's 40 bytes */
	memcpy(p, &d, sizeof(d));
}

static const uint32_t types[] = {
    EfiReservedMemoryType,  EfiLoaderCode,	 EfiLoaderData,
    EfiBootServicesCode,    EfiBootServicesData, EfiRuntimeServicesCode,
    EfiRuntimeServicesData, EfiUnusableMemory,	 EfiACPIReclaimMemory,
    EfiACPIMemoryNVS,	    EfiMemoryMappedIO,	 T_PERSISTENT,
    T_UNACCEPTED,	    0x80000000u};

/* a random map of up to max descriptors: conventional memory mapped
 * inside the window (the bitmaps go there), claims anywhere */
static void random_map(unsigned max)
{
	static const uint64_t dsizes[] = {40, 40, 48, 44};
	raw_dsize = dsizes[below(4)];
	unsigned n = 1 + below(max);
	uint64_t prev_end = WIN_BASE, prev_start = WIN_BASE;
	for (unsigned i = 0; i < n; i++) {
		uint64_t start, pages, attr = A_RAM;
		uint32_t type;
		unsigned how = below(8);
		if (below(2)) {
			type = EfiConventionalMemory;
			start = how < 3	  ? prev_end
				: how < 4 ? prev_start
					  : win_addr(true);
			if (start < WIN_BASE ||
			    start >= WIN_BASE + WIN_PAGES * PG)
				start = win_addr(true);
			pages =
			    below((WIN_BASE + WIN_PAGES * PG - start) / PG + 1);
			/* (MIN evaluates its arguments twice: one draw) */
			uint64_t cap = 1 + below(200);
			pages = below(4) ? MIN(pages, cap) : pages;
			if (!below(16))
				attr = below(2) ? A_UC : A_RAM | A_SP;
			if (!below(32))
				start += 8; /* unaligned: not used, claims */
		} else {
			type = types[below(ARRAY_SIZE(types))];
			start = how < 2	  ? prev_end
				: how < 3 ? prev_start
				: how < 4 ? below(64) * PG + below(2) * 8
					  : win_addr(below(4) != 0);
			pages = how == 7 && below(4) == 0
				    ? (below(2) ? UINT64_MAX
						: (1ull << 52) / PG - below(8))
				: below(4) ? 1 + below(64)
					   : below(WIN_PAGES);
		}
		if (!below(32))
			pages = 0;
		put(i, type, start, pages, attr);
		prev_start = start;
		prev_end = start + pages * PG;
	}
	/* mostly, somewhere a run the bitmaps fit in (a map of 24 random
	 * descriptors often has none, and then both only panic) */
	if (below(4))
		put(below(n), EfiConventionalMemory,
		    WIN_BASE + below(WIN_PAGES - 64) * PG, 64, A_RAM);
	raw_size = n * raw_dsize + (below(4) ? 0 : below(raw_dsize));
	image_start = image_end = 0;
	if (below(2)) {
		image_start = win_addr(below(2));
		image_end = image_start + below(32 * PG);
	}
	map_addr = 0;
	if (!below(4)) { /* the map in the window, page-aligned or not */
		map_addr = win_addr(below(2)) & ~7ull;
		if (map_addr + raw_size > WIN_BASE + WIN_PAGES * PG)
			map_addr = 0;
	}
	/* records in pages of their own (each a third of the window), never
	 * over the map: writing one there would change the map */
	nfiles = 0;
	for (unsigned i = 0, want = below(4); i < want; i++) {
		uint64_t rec = WIN_BASE + (i * 300 + below(300)) * PG +
			       below((PG - sizeof(struct bootfs_file)) / 8) * 8;
		if (map_addr && rec < map_addr + raw_size &&
		    map_addr < rec + sizeof(struct bootfs_file))
			continue;
		files[nfiles].rec = rec;
		files[nfiles].data = win_addr(false);
		files[nfiles++].len = below(8 * PG);
	}
}

/* the map through pmm_init, in a child, against the model */
static void check_one(unsigned k)
{
	static uint8_t usable[MODEL_PAGES], claim[MODEL_PAGES];
	static EFI_MEMORY_DESCRIPTOR d[MAX_DESC];
	struct pmm_model m = {
	    .usable = usable, .claim = claim, .npg = MODEL_PAGES};
	const struct result *r = res;
	memset(res, 0, sizeof(*res));
	res->rc = in_child_window(run_new, 0);
	uint64_t n = raw_size / raw_dsize;
	for (uint64_t i = 0; i < n; i++)
		memcpy(&d[i], raw + i * raw_dsize, sizeof(d[i]));
	pmm_model_map(&m, d, n);
	pmm_model_inuse(&m, image_start, image_end);
	uint64_t map = map_addr ? map_addr : (uint64_t)raw;
	pmm_model_inuse(&m, map, map + raw_size);
	for (unsigned i = 0; i < nfiles; i++) {
		pmm_model_inuse(&m, files[i].rec,
				files[i].rec + sizeof(struct bootfs_file));
		pmm_model_inuse(&m, files[i].data,
				files[i].data + files[i].len);
	}
	if (m.top > MODEL_PAGES)
		fail_msg("map %u: free memory past the window (a test bug)", k);
	uint64_t need = pmm_model_need(&m, 2), at = pmm_model_place(&m, need);
	if (!at) {
		if (!r->rc)
			fail_msg("map %u: pmm_init returned; the model has no "
				 "run of %lu free pages at or above 1 MiB",
				 k, (unsigned long)need);
		return;
	}
	if (r->rc)
		fail_msg("map %u: pmm_init ended %d; the %lu pages at 0x%lx "
			 "are free",
			 k, r->rc, (unsigned long)need,
			 (unsigned long)(at * PG));
	if (r->lines != pmm_model_lines(&m))
		fail_msg("map %u: %lu lines, the model %lu", k,
			 (unsigned long)r->lines,
			 (unsigned long)pmm_model_lines(&m));
	if (r->np != m.top || r->bm != at * PG)
		fail_msg("map %u: %lu pages, bitmaps at 0x%lx; the model %lu, "
			 "0x%lx",
			 k, (unsigned long)r->np, (unsigned long)r->bm,
			 (unsigned long)m.top, (unsigned long)(at * PG));
	uint64_t bytes = ALIGN_UP((r->np + 7) / 8, PAGE_SIZE), nfree = 0;
	if (2 * bytes > BITS_MAX)
		fail_msg("map %u: bitmaps of %lu bytes (a test bug)", k,
			 (unsigned long)bytes);
	for (uint64_t pg = 0; pg < r->np; pg++) {
		bool fr = pmm_model_free(&m, pg),
		     in_bm = pg >= at && pg < at + need;
		bool u = r->bits[pg / 8] >> (pg % 8) & 1,
		     p = r->bits[bytes + pg / 8] >> (pg % 8) & 1;
		nfree += fr;
		if (u != (in_bm || !fr) || p != (fr && !in_bm))
			fail_msg("map %u: page 0x%lx is %s and %s the pool; "
				 "the model: usable %d, claimed %d%s",
				 k, (unsigned long)(pg * PG),
				 u ? "used" : "free", p ? "in" : "not in",
				 usable[pg], claim[pg],
				 in_bm ? ", the bitmaps'" : "");
	}
	if (r->tf != nfree - need)
		fail_msg("map %u: %lu pages free, the model %lu", k,
			 (unsigned long)r->tf, (unsigned long)(nfree - need));
	if (!r->perm_ok)
		fail_msg("map %u: the map after pmm_init is not the same "
			 "descriptors in address order",
			 k);
}

#define SAME_MAPS 400
static void test_pmm_sweep_same_as_model(void **st)
{
	unsigned panics = 0;
	for (unsigned k = 0; k < SAME_MAPS; k++) {
		random_map(k % 10 ? 24 : 400);
		check_one(k);
		panics += res->rc != 0;
	}
	/* most maps have room for the bitmaps: the comparison bites */
	if (panics > SAME_MAPS / 4)
		fail_msg("%u of %u maps panicked", panics, SAME_MAPS);
}

/* n descriptors as firmware lists a large machine's memory: runs of one
 * to four pages, conventional memory between boot-services, loader,
 * runtime and ACPI data, one after another up memory (n / 2 free runs),
 * a run the bitmaps fit in above them, all shuffled (a map out of
 * order) */
static void big_map(unsigned n)
{
	raw_dsize = 48;
	rng = 0x9e3779b97f4a7c15ull; /* the same map for the same n */
	uint64_t at = WIN_BASE;
	for (unsigned i = 1; i < n; i++) {
		static const uint32_t t[] = {
		    EfiConventionalMemory, EfiBootServicesData,
		    EfiConventionalMemory, EfiLoaderData,
		    EfiConventionalMemory, EfiRuntimeServicesData,
		    EfiConventionalMemory, EfiACPIReclaimMemory};
		uint64_t pages = 1 + below(4);
		put(i, t[i % 8], at, pages, A_RAM);
		at += pages * PG;
	}
	put(0, EfiConventionalMemory, at, 64, A_RAM);
	if (at + 64 * PG > WIN_BASE + BIG_PAGES * PG)
		abort();
	for (unsigned i = n - 1; i > 0; i--) {
		uint8_t t[MAX_DSIZE];
		unsigned j = below(i + 1);
		memcpy(t, raw + i * raw_dsize, raw_dsize);
		memcpy(raw + i * raw_dsize, raw + j * raw_dsize, raw_dsize);
		memcpy(raw + j * raw_dsize, t, raw_dsize);
	}
	raw_size = n * raw_dsize;
	image_start = image_end = 0;
	map_addr = 0;
	nfiles = 0;
}

static unsigned log2_up(unsigned n)
{
	unsigned l = 0;
	while ((1u << l) < n)
		l++;
	return l;
}

#define BIG_WORK(n) (16ull * (n)*log2_up(n) + 4 * WIN_PAGES)
static void test_pmm_sweep_large_map_work(void **st)
{
	big_map(PMM_BIG);
	memset(res, 0, sizeof(*res));
	res->rc = in_child_window(run_new, 0);
	assert_int_equal(res->rc, 0);
	if (res->work > BIG_WORK(PMM_BIG))
		fail_msg("pmm_init over %u descriptors took %lu steps, more "
			 "than %llu",
			 PMM_BIG, (unsigned long)res->work, BIG_WORK(PMM_BIG));
	assert_true(res->perm_ok);
}

/* PMM_MEASURE=1: pmm_init's work and time over big maps of 1024 to
 * PMM_BIG descriptors, printed (docs/mm.md has the numbers) */
static void measure(void)
{
	printf("%8s %14s %10s\n", "descs", "steps", "ms");
	for (unsigned n = 1024; n <= PMM_BIG; n *= 2) {
		big_map(n);
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		res->rc = in_child_window(run_new, 0xa5);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%8u %14lu %10.1f\n", n, (unsigned long)res->work,
		       (b.tv_sec - a.tv_sec) * 1e3 +
			   (b.tv_nsec - a.tv_nsec) / 1e6);
	}
}

int main(void)
{
	shim_quiet = 1;
	res = mmap(NULL, sizeof(struct result), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		abort();
	if (getenv("PMM_MEASURE")) {
		measure();
		return 0;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pmm_sweep_same_as_model),
	    cmocka_unit_test(test_pmm_sweep_large_map_work),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
