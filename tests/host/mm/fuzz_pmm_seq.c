/* tests/host/mm/fuzz_pmm_seq.c — stateful libFuzzer target for the physical
 * page allocator (kernel/mm/pmm.c): a hostile-but-possible UEFI memory map,
 * pmm_init over it, then a program of page_alloc and page_free calls, every
 * step checked against a model of its own.
 *
 * The map (UEFI 2.10 §7.2.3 GetMemoryMap): up to 24 descriptors of any type
 * (the 16 of the spec with persistent (14) and unaccepted (15) memory, 16,
 * an OEM, an OS one and 0xffffffff), unsorted, overlapping (one may
 * start where an earlier one does), zero-length, unaligned, with ends that
 * wrap 2^64 or pass 2^52 or 2^47, starts near page 0, 1 MiB, 2^47, 2^52 and
 * 2^64, attributes (cacheability bits as the spec has them, the usual
 * UC|WC|WT|WB or none; EFI_MEMORY_SP, _NV; RUNTIME and ISA bits; the bits
 * that take nothing away), descriptor sizes of 40 to 63 bytes (not all
 * multiples of 8: descriptors off their alignment) with junk in the bytes
 * past UEFI's 40, a partial last descriptor, and descriptor sizes below 40
 * (pmm_init must panic). "Physical" memory is one window of host
 * memory at its physical address, [WIN_BASE, WIN_END); page 0 (never
 * handed out) needs none. Conventional memory mm_init maps is kept inside
 * the window whatever its attributes (moved or cut there); everything
 * else goes anywhere. A reserved descriptor for pages 1..15 (below the window)
 * is put at a place in the map the input chooses; it is the one thing the input
 * does not decide. The input also places the kernel image (mm_image_range,
 * answered here), the map itself and two boot files (a record and its
 * data each: bootfs_range, answered here), over its descriptors or not.
 *
 * The model, from the map alone (pmm.c's and mm.h's contract, not its
 * code; what is free is pmm_model.h's, which test_pmm_sweep shares): a
 * descriptor is usable when it is EfiConventionalMemory, sane
 * (mm_desc_sane: page-aligned, below 2^52 without wrapping), ends at or
 * below MM_IDENTITY_LIMIT (mm_init maps no descriptor past it) and is
 * ordinary write-back RAM (EFI_MEMORY_WB, neither _SP nor _NV). Every other
 * descriptor, the kernel image, the map itself and the boot files claim
 * each page their byte range touches; a claim wins over usable memory. Page 0
 * is never usable. The bitmap (PMM_BITMAPS bitmaps of one bit per page up to
 * the highest end of a usable descriptor that is not empty, each rounded up to
 * whole pages) lives at the lowest run of its pages at or above 1 MiB that
 * are usable and claim-free (across usable descriptors that meet); with
 * none, pmm_init panics. The pool is usable pages less the bitmap.
 *
 * Operations: page_alloc of 1..16K pages, 0, or absurd counts, under limits
 * of 0, 1 MiB, 4 GiB, the window's end, window addresses aligned or not,
 * below one page and 2^64 - 1; page_free of a whole allocation, part of
 * one, and hostile frees: twice, unaligned, of page 0, of the bitmap, of a
 * reserved page, of a free page, past an allocation's end, of SIZE_MAX
 * pages, above the pool; allocating until the pool is empty; freeing all.
 *
 * Oracles (each failure prints "ORACLE: ..." and aborts):
 *  - pmm_init panics exactly when the model does (descriptors below 40
 *    bytes, no room for the bitmap) and prints one line per conventional
 *    descriptor mm_init does not map, one giving the count and KiB of
 *    those refused for their attributes and one those of unaccepted
 *    memory (each exactly when there are such), plus its summary line;
 *  - pmm_stats: total is the model's pool, used the pages out, peak their
 *    maximum, after every step;
 *  - page_alloc hands out n whole pages, page-aligned, never page 0, all
 *    in the pool and none out already, ending at or below a non-zero
 *    limit, zeroed; next-fit: the lowest fitting run at or after the end
 *    of the last allocation, else the lowest from page 1; it fails only
 *    when no run of n pool pages fits below the limit;
 *  - page_free panics exactly when the model says the free is bad (an
 *    address not page-aligned, or any of the n pages not out now; the
 *    kernel stops there, and so does the input); a good one gives back
 *    exactly its pages;
 *  - the allocator's bitmap equals the model's page for page (set: not in
 *    the pool or out) after every step;
 *  - each page out keeps the tags written into it (nothing else writes
 *    there), checked when it is freed and by a check operation.
 * PMM_SEQ_TRACE=1 prints the map and every operation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <efi.h>

#include "kernel/boot/boot_internal.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/mm_internal.h"

/* pmm.c keeps its state in statics and pmm_init runs once per boot: it is
 * compiled into this file, so each input starts from a fresh allocator.
 * PMM_C names another copy (an old or planted one) to run against. */
#ifndef PMM_C
#define PMM_C "kernel/mm/pmm.c"
#endif
#include PMM_C

/* how many one-bit-per-page bitmaps pmm_init places: the pages in use and
 * the pages of the pool */
#ifndef PMM_BITMAPS
#define PMM_BITMAPS 2
#endif

#define PG	 4096ull
#define WIN_BASE 0x10000ull   /* page 16: pages 1..15 are below mmap_min_addr */
#define WIN_END	 0xa000000ull /* 160 MiB: bitmaps of up to 2 pages each */
#define WPAGES	 (WIN_END / PG)
#define MIB	 0x100000ull
#define MAXDESC	 24
#define MAXREC	 64

struct boot_memmap boot_mmap;

/* ---- kprintf and panic, as the kernel's: panic ends the "boot" ---------- */
static jmp_buf panic_jmp;
static bool panic_armed;
static unsigned kprintf_lines;
static bool trace;
/* the lines pmm_init printed (the first MAXLINES), for the oracle */
#define MAXLINES 32
static char lines[MAXLINES][256];

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (kprintf_lines < MAXLINES)
		vsnprintf(lines[kprintf_lines], sizeof(lines[0]), fmt, ap);
	va_end(ap);
	kprintf_lines++;
	if (trace) {
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (!panic_armed || trace) {
		fprintf(stderr, "panic: ");
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, "\n");
	}
	va_end(ap);
	if (!panic_armed) {
		fprintf(stderr, "ORACLE: a panic the model did not expect\n");
		abort();
	}
	panic_armed = false;
	longjmp(panic_jmp, 1);
}

/* the model and the oracles: no coverage feedback from them, only from
 * pmm.c and the operations (and they run faster) */
#define MODEL __attribute__((no_sanitize("coverage")))

#define ORACLE(...)                                                            \
	do {                                                                   \
		fprintf(stderr, "ORACLE: " __VA_ARGS__);                       \
		fprintf(stderr, "\n");                                         \
		abort();                                                       \
	} while (0)

/* ---- the model ------------------------------------------------------------
 */
static uint8_t m_pool[WPAGES]; /* usable, not the bitmap, not page 0 */
static uint8_t m_out[WPAGES];  /* handed out by page_alloc, not freed */
static uint8_t m_bits[WPAGES / 8];
static uint64_t m_npages, m_total, m_used, m_peak, m_hint;
static uint64_t m_bitmap, m_bitmap_pages; /* where the bitmaps are */
/* conventional descriptors mm_init does not map (a line each) */
static unsigned m_lines; /* pmm_model_lines */
/* conventional descriptors it maps that are not ordinary RAM, and
 * unaccepted memory: a line each kind, with the count and KiB */
static uint64_t m_attr_n, m_attr_pages, m_unacc_n, m_unacc_pages;

static struct rec {
	uint64_t phys, n;
} recs[MAXREC];
static unsigned nrec, rec_next;

MODEL static void m_bit(uint64_t pg)
{
	if (!m_pool[pg] || m_out[pg])
		m_bits[pg / 8] |= 1 << (pg % 8);
	else
		m_bits[pg / 8] &= ~(1 << (pg % 8));
}

static uint64_t tag_of(uint64_t pg)
{
	return pg * 0x9e3779b97f4a7c15ull ^ 0x5a5aa5a5c3c33c3cull;
}

MODEL static void tag_write(uint64_t pg)
{
	uint64_t *p = (uint64_t *)(pg * PG);
	p[0] = p[PG / 8 - 1] = tag_of(pg);
}

MODEL static void tag_check(uint64_t pg)
{
	const uint64_t *p = (const uint64_t *)(pg * PG);
	if (p[0] != tag_of(pg) || p[PG / 8 - 1] != tag_of(pg))
		ORACLE("page 0x%llx out since it was handed out was written "
		       "by someone else",
		       (unsigned long long)(pg * PG));
}

#include "efi_spec.h"

/* the model of what memory is free (pmm_model.h, shared with
 * test_pmm_sweep) */
#define PMM_MODEL_ATTR MODEL
#include "pmm_model.h"
#define d_usable pmm_model_usable

/* the lowest i in [from, end - n] whose n pages are all in the pool and
 * not out; 0 when none */
MODEL static uint64_t first_fit(uint64_t from, uint64_t n, uint64_t end)
{
	uint64_t run = 0;
	for (uint64_t i = MAX(from, 1); i < end; i++) {
		run = m_pool[i] && !m_out[i] ? run + 1 : 0;
		if (run == n)
			return i + 1 - n;
	}
	return 0;
}

/* ---- the input ------------------------------------------------------------
 */
struct in {
	const uint8_t *p;
	size_t n;
};
static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}
static uint16_t u16(struct in *in)
{
	return u8(in) | u8(in) << 8;
}

static uint64_t map_buf[(MAXDESC + 2) * 64 / 8];
static EFI_MEMORY_DESCRIPTOR descs[MAXDESC + 1];
static unsigned ndesc;

/* the "kernel image" pmm.c asks kernel/mm/paging.c for: where the input
 * put it */
static uint64_t img_start, img_end;
void mm_image_range(uint64_t *start, uint64_t *end)
{
	*start = img_start;
	*end = img_end;
}

/* the boot files' records and data (bootfs_range, which kernel/boot
 * answers in the kernel): where the input put them */
#define MAXBF 4
static uint64_t bf[MAXBF][2];
static unsigned nbf;
bool bootfs_range(unsigned i, uint64_t *start, uint64_t *end)
{
	if (i >= nbf)
		return false;
	*start = bf[i][0];
	*end = bf[i][1];
	return true;
}

/* one descriptor from 8 input bytes */
static EFI_MEMORY_DESCRIPTOR gen_desc(struct in *in)
{
	static const uint32_t types[] = {
	    EfiReservedMemoryType,
	    EfiLoaderCode,
	    EfiLoaderData,
	    EfiBootServicesCode,
	    EfiBootServicesData,
	    EfiRuntimeServicesCode,
	    EfiRuntimeServicesData,
	    EfiConventionalMemory,
	    EfiUnusableMemory,
	    EfiACPIReclaimMemory,
	    EfiACPIMemoryNVS,
	    EfiMemoryMappedIO,
	    EfiMemoryMappedIOPortSpace,
	    EfiPalCode,
	    14 /* persistent */,
	    0x70000001,
	    /* OEM */ 0x80000001,
	    /* OS */ EfiConventionalMemory,
	    EfiConventionalMemory,
	    EfiConventionalMemory,
	    EfiLoaderData,
	};
	/* the types a type byte of 252..255 picks (252 % 21 == 0: the
	 * other bytes keep their types) */
	static const uint32_t more_types[] = {
	    T_UNACCEPTED,
	    16 /* past EfiMaxMemoryType */,
	    T_UNACCEPTED,
	    0xffffffff,
	};
	EFI_MEMORY_DESCRIPTOR d = {0};
	uint8_t t = u8(in), a = u8(in);
	uint16_t w = u16(in);
	uint8_t l0 = u8(in), l1 = u8(in), attr = u8(in), off = u8(in);
	d.Type = t >= 252 ? more_types[t - 252]
			  : types[t % (sizeof(types) / sizeof(types[0]))];
	uint64_t k = w; /* pages from an anchor */
	switch (a & 7) {
	case 0:
	case 1: /* anywhere in the window */
		d.PhysicalStart = WIN_BASE + k % (WPAGES - 16) * PG;
		break;
	case 2: /* at page 0 */
		d.PhysicalStart = (k % 4) * PG;
		break;
	case 3: /* around 1 MiB, where the bitmap may start */
		d.PhysicalStart = MIB + ((int64_t)(int8_t)(w & 0xff)) * PG;
		break;
	case 4: /* around the identity map's end */
		d.PhysicalStart =
		    MM_IDENTITY_LIMIT + ((int64_t)(int16_t)w) * PG;
		break;
	case 5: /* below 2^52, or 2^64 */
		d.PhysicalStart = (w & 1 ? 0 : 1ull << 52) - (k / 2 + 1) * PG;
		break;
	case 6:
	case 7: /* where an earlier one starts (or near it) */
		if (ndesc) {
			d.PhysicalStart =
			    descs[k % ndesc].PhysicalStart +
			    ((int64_t)(int8_t)(a & 0xf0 ? (w >> 8) : 0)) * PG;
		} else {
			d.PhysicalStart = WIN_BASE + k % 64 * PG;
		}
		break;
	}
	if (a & 8) /* unaligned */
		d.PhysicalStart += 1 + (off % 0xfff);
	switch (l1 >> 6) {
	case 0:
	case 1:
		d.NumberOfPages = l0 % 64;
		break;
	case 2:
		d.NumberOfPages = (l1 & 0x3f) << 8 | l0;
		break;
	case 3: {
		static const uint64_t huge[] = {
		    1ull << 40,		 (1ull << 40) + 1,
		    UINT64_MAX,		 UINT64_MAX / PG,
		    UINT64_MAX / PG + 1, 1ull << 35,
		    1ull << 52,		 WPAGES,
		};
		d.NumberOfPages = huge[l0 % 8] - (l1 & 0x3f);
		break;
	}
	}
	d.VirtualStart = (uint64_t)off << 32 | w;
	/* attributes: bits 0-3 are UC WC WT WB as the spec has them (none
	 * of them: the usual UC|WC|WT|WB, or nothing at all when off's top
	 * bit is set); bits 4-6: 5 SP, 6 NV, 7 both; bit 7 RUNTIME with
	 * ISA bits; off's bits 4-6 add the bits that take nothing away */
	d.Attribute = attr & 0xf;
	if (!d.Attribute && !(off & 0x80))
		d.Attribute = A_UC | A_WC | A_WT | A_WB;
	if ((attr >> 4 & 7) == 5 || (attr >> 4 & 7) == 7)
		d.Attribute |= A_SP;
	if ((attr >> 4 & 7) >= 6)
		d.Attribute |= A_NV;
	if (attr & 0x80)
		d.Attribute |=
		    A_RUNTIME | A_ISA_VALID | (uint64_t)(off & 3) << 44;
	if (off & 0x10)
		d.Attribute |= A_RP | A_XP;
	if (off & 0x20)
		d.Attribute |= A_RO | A_WP | A_UCE;
	if (off & 0x40)
		d.Attribute |= A_MR | A_CPU_CRYPTO;
	/* conventional memory mm_init maps stays in the window, whatever its
	 * attributes (usable or not): moved there from above it, cut at
	 * its end */
	if (pmm_model_conv_mapped(&d)) {
		if (d.PhysicalStart >= WIN_END)
			d.PhysicalStart = WIN_BASE + (d.PhysicalStart / PG) %
							 (WPAGES - 16) * PG;
		d.NumberOfPages =
		    MIN(d.NumberOfPages, (WIN_END - d.PhysicalStart) / PG);
	}
	return d;
}

/* ---- the checks after every step ------------------------------------------
 */
MODEL static void check_state(const char *after)
{
	struct pmm_stats s;
	pmm_stats(&s);
	if (s.total != m_total || s.used != m_used || s.peak != m_peak)
		ORACLE("after %s: pmm_stats total %llu used %llu peak %llu, "
		       "model %llu %llu %llu",
		       after, (unsigned long long)s.total,
		       (unsigned long long)s.used, (unsigned long long)s.peak,
		       (unsigned long long)m_total, (unsigned long long)m_used,
		       (unsigned long long)m_peak);
	if (npages != m_npages)
		ORACLE("after %s: %llu pages in the bitmap, model %llu", after,
		       (unsigned long long)npages,
		       (unsigned long long)m_npages);
	if (memcmp(bitmap, m_bits, (m_npages + 7) / 8)) {
		for (uint64_t pg = 0; pg < m_npages; pg++)
			if (bit(pg) != (m_bits[pg / 8] >> (pg % 8) & 1))
				ORACLE("after %s: page 0x%llx is %s in the "
				       "bitmap; model: pool %d out %d",
				       after, (unsigned long long)(pg * PG),
				       bit(pg) ? "used" : "free", m_pool[pg],
				       m_out[pg]);
	}
}

/* the pool pmm_init recorded (what page_free takes back): after pmm_init
 * and at the end of each input */
MODEL static void check_pool(const char *after)
{
#if PMM_BITMAPS == 2
	for (uint64_t pg = 0; pg < m_npages; pg++)
		if (pooled(pg) != m_pool[pg])
			ORACLE("after %s: page 0x%llx is %sin the pool; the "
			       "model's %s",
			       after, (unsigned long long)(pg * PG),
			       pooled(pg) ? "" : "not ",
			       m_pool[pg] ? "has it" : "does not");
#endif
}

MODEL static bool model_init(void);

/* with n descriptors of a kind refused, pmm_init's line for them gives n
 * and their KiB (2^64 - 1 when more); with none, no line names the kind */
MODEL static void check_count_line(uint64_t n, uint64_t pages, const char *kind)
{
	char want[128];
	uint64_t kib = pages > UINT64_MAX / 4 ? UINT64_MAX : pages * 4;
	snprintf(want, sizeof(want), "pmm: %llu %s descriptors, %llu KiB",
		 (unsigned long long)n, kind, (unsigned long long)kib);
	bool named = false, exact = false;
	for (unsigned i = 0; i < MIN(kprintf_lines, MAXLINES); i++) {
		char pre[64];
		snprintf(pre, sizeof(pre), " %s descriptors, ", kind);
		named |= strstr(lines[i], pre) != NULL;
		exact |= strncmp(lines[i], want, strlen(want)) == 0;
	}
	if (n ? !exact : named)
		ORACLE("pmm_init's line for %s: want \"%s\"%s", kind,
		       n ? want : "none", n ? "" : " (no such descriptor)");
}

static bool init_map(struct in *in)
{
	uint8_t h = u8(in), nd = u8(in);
	unsigned reserved_at = (h >> 4);
	uint64_t dsize = sizeof(EFI_MEMORY_DESCRIPTOR) + 8 * (h & 3);
	bool bad_size = (h & 0x0c) == 0x0c;
	if (bad_size)
		dsize = 8 * (h >> 4 & 3) + (h >> 6) * 4; /* 0..36 bytes */
	if ((h & 0x0c) == 0x08) /* 41..63, mostly not multiples of 8 */
		dsize = 41 + (8 * (h & 3) + (h >> 4)) % 23;
	ndesc = 0;
	for (unsigned i = 0; i < nd % (MAXDESC + 1); i++) {
		if (i == reserved_at % (nd % (MAXDESC + 1)))
			descs[ndesc++] = (EFI_MEMORY_DESCRIPTOR){
			    .Type = EfiReservedMemoryType,
			    .PhysicalStart = PG,
			    .NumberOfPages = WIN_BASE / PG - 1};
		if (ndesc < MAXDESC + 1)
			descs[ndesc++] = gen_desc(in);
	}
	if (!ndesc)
		descs[ndesc++] =
		    (EFI_MEMORY_DESCRIPTOR){.Type = EfiReservedMemoryType,
					    .PhysicalStart = PG,
					    .NumberOfPages = WIN_BASE / PG - 1};
	/* the map as firmware lays it out: desc_size apart, junk between */
	uint64_t stride = dsize < sizeof(EFI_MEMORY_DESCRIPTOR)
			      ? sizeof(EFI_MEMORY_DESCRIPTOR)
			      : dsize;
	memset(map_buf, 0xee, sizeof(map_buf));
	for (unsigned i = 0; i < ndesc; i++)
		memcpy((uint8_t *)map_buf + i * stride, &descs[i],
		       sizeof(descs[i]));
	boot_mmap.desc = (uint8_t *)map_buf;
	boot_mmap.desc_size = dsize;
	boot_mmap.size = ndesc * stride;
	if ((h & 0x0c) == 0x04) { /* a partial descriptor after the last */
		EFI_MEMORY_DESCRIPTOR junk = {.Type = EfiConventionalMemory,
					      .PhysicalStart = WIN_BASE,
					      .NumberOfPages = WPAGES};
		memcpy((uint8_t *)map_buf + ndesc * stride, &junk,
		       sizeof(junk));
		boot_mmap.size += 1 + (h >> 4) % (stride - 1);
	}
	/* the kernel image and the map itself, by nd / 25 (nd % 25 is the
	 * descriptor count): 0, the image outside the window and the map in
	 * map_buf (host memory outside it too); else the image from the
	 * start of a descriptor (or a window page when that is outside the
	 * window), 1..1024 pages, its end 100 bytes short of a page for odd
	 * choices; from 6 on, the map as well, from the start of another
	 * descriptor plus 0..120 bytes (the same fallback) */
	unsigned sel = nd / (MAXDESC + 1);
	img_start = 1ull << 32;
	img_end = img_start + 16 * PG;
	if (sel) {
		uint64_t a = descs[sel % ndesc].PhysicalStart & ~(PG - 1);
		if (a < WIN_BASE || a >= WIN_END)
			a = WIN_BASE + (h * 131u + sel) % (WPAGES - 16) * PG;
		img_start = a;
		img_end =
		    a + (1 + (h ^ nd) * 37u % 1024) * PG - (sel & 1 ? 100 : 0);
	}
	if (sel >= 6) {
		uint64_t a =
		    (descs[(sel * 3 + 1) % ndesc].PhysicalStart & ~7ull) +
		    (h & 0xf) * 8;
		if (a < WIN_BASE || a + boot_mmap.size > WIN_END)
			a = WIN_BASE + (h * 97u) % (WPAGES - 32) * PG +
			    (h & 0xf) * 8;
		memcpy((void *)a, map_buf, boot_mmap.size);
		boot_mmap.desc = (uint8_t *)a;
	}
	/* from 3 on, two boot files: a record (sizeof(struct bootfs_file))
	 * from the start of a descriptor plus 0..56 bytes and its data from
	 * another's plus 0..4095, 0..3 pages and 0..255 bytes long (the same
	 * fallback to a window page) */
	nbf = 0;
	for (unsigned f = 0; sel >= 3 && f < 2; f++) {
		uint64_t r =
		    descs[(sel * 5 + 2 + f) % ndesc].PhysicalStart & ~7ull;
		uint64_t d = descs[(sel * 7 + 3 + 2 * f) % ndesc].PhysicalStart;
		if (r < WIN_BASE || r >= WIN_END - PG)
			r = WIN_BASE + (h * 61u + f) % (WPAGES - 8) * PG;
		if (d < WIN_BASE || d >= WIN_END - 8 * PG)
			d = WIN_BASE + (h * 53u + nd + f) % (WPAGES - 8) * PG;
		r += (h >> f & 7) * 8;
		d += (h * 113u + f) % PG;
		bf[nbf][0] = r;
		bf[nbf++][1] = r + sizeof(struct bootfs_file);
		bf[nbf][0] = d;
		bf[nbf++][1] = d + ((h ^ f) & 3) * PG + (nd * 7u + f) % 256;
	}
	if (trace) {
		fprintf(stderr,
			"map: desc_size %llu size %llu at 0x%llx, image "
			"[0x%llx, 0x%llx)\n",
			(unsigned long long)dsize,
			(unsigned long long)boot_mmap.size,
			(unsigned long long)(uint64_t)boot_mmap.desc,
			(unsigned long long)img_start,
			(unsigned long long)img_end);
		for (unsigned i = 0; i < nbf; i++)
			fprintf(stderr, "  boot file %s [0x%llx, 0x%llx)\n",
				i % 2 ? "data" : "record",
				(unsigned long long)bf[i][0],
				(unsigned long long)bf[i][1]);
		for (unsigned i = 0; i < ndesc; i++)
			fprintf(
			    stderr,
			    "  [%u] type %#x 0x%llx +%llu pages attr %#llx%s\n",
			    i, descs[i].Type,
			    (unsigned long long)descs[i].PhysicalStart,
			    (unsigned long long)descs[i].NumberOfPages,
			    (unsigned long long)descs[i].Attribute,
			    d_usable(&descs[i]) ? " usable" : "");
	}

	bool expect_panic = model_init() || bad_size;
	if (trace)
		fprintf(
		    stderr,
		    "model: %llu pages, bitmap at 0x%llx (%llu pages), pool "
		    "%llu%s\n",
		    (unsigned long long)m_npages, (unsigned long long)m_bitmap,
		    (unsigned long long)m_bitmap_pages,
		    (unsigned long long)m_total,
		    expect_panic ? ", pmm_init panics" : "");

	/* a fresh allocator */
	bitmap = NULL;
	npages = used = peak = total_free = hint = 0;
	kprintf_lines = 0;
	panic_armed = true;
	if (setjmp(panic_jmp)) {
		if (!expect_panic)
			ORACLE("pmm_init panicked; the model has room for the "
			       "bitmap at 0x%llx",
			       (unsigned long long)m_bitmap);
		return false;
	}
	pmm_init();
	panic_armed = false;
	if (expect_panic)
		ORACLE("pmm_init returned; the model says it panics (%s)",
		       bad_size ? "descriptors below 40 bytes"
				: "no room for the bitmap");
	if (kprintf_lines != m_lines)
		ORACLE("pmm_init printed %u lines, the model %u (one per "
		       "conventional descriptor it does not map up to "
		       "MM_DESC_LINES and one for the rest, one for those "
		       "refused for their attributes, one for unaccepted "
		       "memory, one summary)",
		       kprintf_lines, m_lines);
	check_count_line(m_attr_n, m_attr_pages, "conventional memory");
	check_count_line(m_unacc_n, m_unacc_pages, "unaccepted memory");
	if ((uint64_t)bitmap != m_bitmap)
		ORACLE("the bitmap is at 0x%llx, the model's at 0x%llx",
		       (unsigned long long)(uint64_t)bitmap,
		       (unsigned long long)m_bitmap);
	check_state("pmm_init");
	check_pool("pmm_init");
	return true;
}

/* the model of what pmm_init makes of descs[]; true when it has no room
 * for the bitmaps (pmm_init must panic) */
MODEL static bool model_init(void)
{
	memset(m_pool, 0, sizeof(m_pool));
	memset(m_out, 0, sizeof(m_out));
	m_used = m_peak = m_hint = 0;
	nrec = rec_next = 0;
	static uint8_t usable[WPAGES], claim[WPAGES];
	struct pmm_model m = {.usable = usable, .claim = claim, .npg = WPAGES};
	pmm_model_map(&m, descs, ndesc);
	/* the image, the map and the boot files */
	pmm_model_inuse(&m, img_start, img_end);
	pmm_model_inuse(&m, (uint64_t)boot_mmap.desc,
			(uint64_t)boot_mmap.desc + boot_mmap.size);
	for (unsigned i = 0; i < nbf; i++)
		pmm_model_inuse(&m, bf[i][0], bf[i][1]);
	m_lines = (unsigned)pmm_model_lines(&m);
	m_attr_n = m.attr_n;
	m_attr_pages = m.attr_pages;
	m_unacc_n = m.unacc_n;
	m_unacc_pages = m.unacc_pages;
	m_npages = m.top;
	m_bitmap_pages = pmm_model_need(&m, PMM_BITMAPS);
	m_bitmap = pmm_model_place(&m, m_bitmap_pages) * PG;
	m_total = 0;
	for (uint64_t pg = 0; pg < m_npages; pg++) {
		m_pool[pg] = pmm_model_free(&m, pg) &&
			     !(m_bitmap && pg >= m_bitmap / PG &&
			       pg < m_bitmap / PG + m_bitmap_pages);
		m_total += m_pool[pg];
	}
	memset(m_bits, 0xff, sizeof(m_bits));
	for (uint64_t pg = 0; pg < m_npages; pg++)
		m_bit(pg);
	return !m_bitmap;
}

/* ---- operations -----------------------------------------------------------
 */
static void do_alloc(uint64_t n, uint64_t limit)
{
	uint64_t end = m_npages;
	if (limit && limit / PG < end)
		end = limit / PG;
	uint64_t want = 0;
	if (n) {
		want = first_fit(m_hint, n, end);
		if (!want)
			want = first_fit(1, n, end);
	}
	uint64_t a = page_alloc(n, limit);
	if (trace)
		fprintf(stderr,
			"page_alloc(%llu, 0x%llx) = 0x%llx (model 0x%llx)\n",
			(unsigned long long)n, (unsigned long long)limit,
			(unsigned long long)a, (unsigned long long)(want * PG));
	if (!a) {
		if (want)
			ORACLE("page_alloc(%llu, 0x%llx) failed; pages "
			       "0x%llx.. fit",
			       (unsigned long long)n, (unsigned long long)limit,
			       (unsigned long long)(want * PG));
		return;
	}
	if (a % PG || a < PG || a / PG + n > m_npages || a / PG + n < a / PG)
		ORACLE("page_alloc(%llu) = 0x%llx: not pages of the pool",
		       (unsigned long long)n, (unsigned long long)a);
	if (limit && (a + n * PG > limit || a + n * PG < a))
		ORACLE("page_alloc(%llu, 0x%llx) = 0x%llx ends past the limit",
		       (unsigned long long)n, (unsigned long long)limit,
		       (unsigned long long)a);
	for (uint64_t j = 0; j < n; j++) {
		uint64_t pg = a / PG + j;
		if (!m_pool[pg])
			ORACLE("page_alloc handed out page 0x%llx, not in the "
			       "pool",
			       (unsigned long long)(pg * PG));
		if (m_out[pg])
			ORACLE("page_alloc handed out page 0x%llx, out already",
			       (unsigned long long)(pg * PG));
	}
	if (a / PG != want)
		ORACLE("page_alloc(%llu, 0x%llx) = 0x%llx; next fit is 0x%llx",
		       (unsigned long long)n, (unsigned long long)limit,
		       (unsigned long long)a, (unsigned long long)(want * PG));
	for (uint64_t j = 0; j < n; j++) {
		uint64_t pg = a / PG + j;
		const uint64_t *p = (const uint64_t *)(pg * PG);
		if (p[0] || p[PG / 16] || p[PG / 8 - 1])
			ORACLE("page 0x%llx handed out not zeroed",
			       (unsigned long long)(pg * PG));
		m_out[pg] = 1;
		m_bit(pg);
		tag_write(pg);
	}
	m_used += n;
	m_peak = MAX(m_peak, m_used);
	m_hint = a / PG + n;
	recs[rec_next] = (struct rec){a, n};
	rec_next = (rec_next + 1) % MAXREC;
	nrec = MIN(nrec + 1, MAXREC);
}

/* true when the kernel panicked: it stops there */
static bool do_free(uint64_t phys, uint64_t n)
{
	bool bad = phys % PG != 0;
	for (uint64_t j = 0; j < n && !bad; j++) {
		uint64_t pg = phys / PG + j;
		bad = pg >= WPAGES || !m_out[pg];
	}
	if (trace)
		fprintf(stderr, "page_free(0x%llx, %llu)%s\n",
			(unsigned long long)phys, (unsigned long long)n,
			bad ? " (bad: panics)" : "");
	if (!bad)
		for (uint64_t j = 0; j < n; j++)
			tag_check(phys / PG + j);
	panic_armed = true;
	if (setjmp(panic_jmp)) {
		if (!bad)
			ORACLE("page_free(0x%llx, %llu) panicked; those pages "
			       "are out",
			       (unsigned long long)phys, (unsigned long long)n);
		return true;
	}
	page_free(phys, n);
	panic_armed = false;
	if (bad)
		ORACLE("page_free(0x%llx, %llu) returned; not all of it is "
		       "out (or it is not page-aligned)",
		       (unsigned long long)phys, (unsigned long long)n);
	for (uint64_t j = 0; j < n; j++) {
		uint64_t pg = phys / PG + j;
		m_out[pg] = 0;
		m_bit(pg);
		/* dirty, as a driver leaves it: page_alloc must zero it */
		memset((void *)(pg * PG), 0xd7, 16);
		memset((void *)(pg * PG + PG - 16), 0xd7, 16);
	}
	m_used -= n;
	return false;
}

/* a page of the window, from b on, that is (want) or is not in the pool;
 * page 0 when none */
MODEL static uint64_t find_page(uint64_t from, bool want)
{
	for (uint64_t k = 0; k < WPAGES - 16; k++) {
		uint64_t pg = 16 + (from + k) % (WPAGES - 16);
		if (want ? m_pool[pg] && !m_out[pg] : !m_pool[pg])
			return pg;
	}
	return 0;
}

static void run_ops(struct in *in)
{
	bool dead = false; /* the kernel panicked */
	for (unsigned step = 0; in->n && step < 256 && !dead; step++) {
		uint8_t op = u8(in), a = u8(in), b = u8(in), c = u8(in);
		struct rec *r = nrec ? &recs[a % nrec] : NULL;
		switch (op % 10) {
		case 0:
		case 1:
		case 2: {
			uint64_t n = 0, limit = 0;
			switch (a >> 6) {
			case 0:
				n = 1 + (a & 7);
				break;
			case 1:
				n = 1 + (a & 63);
				break;
			case 2:
				n = 1 + ((uint64_t)(a & 3) << 8 | b);
				break;
			case 3: {
				const uint64_t odd[] = {0,
							m_npages,
							m_npages + 1,
							m_total,
							SIZE_MAX,
							1ull << 40,
							SIZE_MAX / PG + 1,
							2};
				n = odd[a & 7];
				break;
			}
			}
			switch (c & 7) {
			case 0:
			case 1:
				limit = 0;
				break;
			case 2:
				limit = MIB;
				break;
			case 3:
				limit = c & 8 ? 1ull << 32 : WIN_END;
				break;
			case 4:
				limit = WIN_BASE +
					((uint64_t)b << 8 | c) % WPAGES * PG;
				break;
			case 5:
				limit = WIN_BASE +
					((uint64_t)b << 8 | c) % WPAGES * PG +
					1 + (uint64_t)c * 15;
				break;
			case 6:
				limit = c & 8 ? 1 + b * 15 : PG;
				break;
			case 7:
				limit = c & 8 ? UINT64_MAX : m_bitmap + PG;
				break;
			}
			do_alloc(n, limit);
			break;
		}
		case 3: /* an allocation, whole (maybe freed already, in part
			   or whole) */
			if (r)
				dead |= do_free(r->phys, r->n);
			break;
		case 4: /* part of one */
			if (r) {
				uint64_t off = b % r->n;
				dead |= do_free(r->phys + off * PG,
						1 + c % (r->n - off));
			}
			break;
		case 5: /* hostile frees */
			switch (a % 9) {
			case 0:
				if (r)
					dead |=
					    do_free(r->phys + 1 + b * 16u, 1);
				break;
			case 1:
				dead |= do_free(0, 1 + b % 2);
				break;
			case 2:
				if (m_bitmap)
					dead |= do_free(
					    m_bitmap + b % m_bitmap_pages * PG,
					    1 + c % 2);
				break;
			case 3: /* a page not in the pool */
				dead |= do_free(
				    find_page((uint64_t)b << 8 | c, false) * PG,
				    1);
				break;
			case 4:
				if (r)
					dead |=
					    do_free(r->phys, r->n + 1 + c % 4);
				break;
			case 5:
				if (r)
					dead |= do_free(
					    r->phys,
					    b & 1 ? SIZE_MAX : r->n + m_npages);
				break;
			case 6: {
				const uint64_t far[] = {
				    WIN_END, MM_IDENTITY_LIMIT,
				    (1ull << 52) - PG, UINT64_MAX & ~(PG - 1)};
				dead |= do_free(far[b % 4], 1 + c % 2);
				break;
			}
			case 7: { /* a pool page that is not out */
				uint64_t pg =
				    find_page((uint64_t)b << 8 | c, true);
				if (pg)
					dead |= do_free(pg * PG, 1);
				break;
			}
			case 8: /* before an allocation */
				if (r && r->phys >= PG)
					dead |= do_free(r->phys - PG, 1 + r->n);
				break;
			}
			break;
		case 6: /* allocate until nothing fits (in 1024 calls) */
			for (uint64_t k = 0; k < 1024; k++) {
				uint64_t before = m_used;
				do_alloc(a & 1 ? 1 + b % 4
					       : MAX(1, m_total / 256),
					 0);
				if (m_used == before)
					break;
				check_state("page_alloc");
			}
			break;
		case 7: /* give back everything out, run by run */
			for (uint64_t pg = 1; pg < m_npages;) {
				uint64_t n = 0;
				while (pg + n < m_npages && m_out[pg + n] &&
				       n < (uint64_t)1 + b)
					n++;
				if (n && do_free(pg * PG, n))
					ORACLE("freeing pages out panicked");
				pg += n ? n : 1;
			}
			if (m_used)
				ORACLE("pages out after giving back all");
			break;
		case 8: /* nothing else wrote into pages out */
			for (uint64_t pg = 1; pg < m_npages; pg++)
				if (m_out[pg])
					tag_check(pg);
			break;
		case 9: /* nothing: the driver works with what it holds */
			break;
		}
		if (!dead)
			check_state(op % 10 < 3 ? "page_alloc"
						: "an operation");
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	trace = getenv("PMM_SEQ_TRACE") != NULL;
	void *p = mmap(
	    (void *)WIN_BASE, WIN_END - WIN_BASE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE,
	    -1, 0);
	if (p != (void *)WIN_BASE) {
		perror("fuzz_pmm_seq: the physical window");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned runs;
	struct in in = {data, size};
	if (init_map(&in)) {
		run_ops(&in);
		check_pool("the last operation");
	}
	/* hand the window's memory back now and then */
	if (++runs % 256 == 0)
		madvise((void *)WIN_BASE, WIN_END - WIN_BASE, MADV_DONTNEED);
	return 0;
}
