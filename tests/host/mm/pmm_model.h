/* tests/host/mm/pmm_model.h — what pmm_init must make of a memory map,
 * page by page, written from docs/mm.md ("What is free") and UEFI 2.10
 * §7.2.3, not from kernel/mm/pmm.c's code: naive and per page, for the
 * small maps of fuzz_pmm_seq and test_pmm_sweep, which both use it.
 *
 * Over the pages [0, npg): a page is usable when a usable descriptor holds
 * it (EfiConventionalMemory, page-aligned, ending below 2^52 without
 * wrapping and at or below MM_IDENTITY_LIMIT, with EFI_MEMORY_WB and
 * neither _SP nor _NV); it is claimed when another descriptor's bytes
 * touch it (the page its end falls into too when its start is not
 * page-aligned; an empty one claims nothing) or a byte of the image, the
 * map or a boot file does. A page is free when it is usable, not claimed
 * and not page 0. The bitmaps go to the lowest run of `need` free pages
 * at or above 1 MiB; with none (or need 0), pmm_init panics. */
#ifndef CAPOS_TESTS_PMM_MODEL_H
#define CAPOS_TESTS_PMM_MODEL_H
#include "efi_spec.h"

#ifndef PMM_MODEL_ATTR
#define PMM_MODEL_ATTR
#endif

#define PMM_MODEL_PG  4096ull
#define PMM_MODEL_LIM (1ull << 52)

struct pmm_model {
	uint8_t *usable, *claim; /* [npg] each, the caller's */
	uint64_t npg;
	uint64_t top; /* the page after the highest non-empty usable one */
	/* conventional descriptors mm_init does not map (a line each for
	 * the first MM_DESC_LINES, one for the rest);
	 * mapped ones refused for their attributes and unaccepted memory (a
	 * line each kind: count and pages, saturating) */
	uint64_t unused_conv, attr_n, attr_pages, unacc_n, unacc_pages;
};

/* the lines pmm_init prints: the unmapped conventional descriptors', one
 * for those refused for their attributes, one for unaccepted memory and
 * the summary */
PMM_MODEL_ATTR static uint64_t pmm_model_lines(const struct pmm_model *m)
{
	uint64_t unmapped = m->unused_conv <= MM_DESC_LINES ? m->unused_conv
							    : MM_DESC_LINES + 1;
	return unmapped + !!m->attr_n + !!m->unacc_n + 1;
}

PMM_MODEL_ATTR static uint64_t pmm_model_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

PMM_MODEL_ATTR static bool pmm_model_conv_mapped(const EFI_MEMORY_DESCRIPTOR *d)
{
	return d->Type == EfiConventionalMemory &&
	       d->PhysicalStart % PMM_MODEL_PG == 0 &&
	       d->PhysicalStart < PMM_MODEL_LIM &&
	       d->NumberOfPages <=
		   (PMM_MODEL_LIM - d->PhysicalStart) / PMM_MODEL_PG &&
	       d->PhysicalStart + d->NumberOfPages * PMM_MODEL_PG <=
		   MM_IDENTITY_LIMIT;
}

PMM_MODEL_ATTR static bool pmm_model_usable(const EFI_MEMORY_DESCRIPTOR *d)
{
	return pmm_model_conv_mapped(d) && (d->Attribute & A_WB) &&
	       !(d->Attribute & (A_SP | A_NV));
}

/* the pages [first, first + n) (n may run past 2^64: saturate), clipped to
 * [0, npg), set in a */
PMM_MODEL_ATTR static void pmm_model_mark(uint8_t *a, uint64_t npg,
					  uint64_t first, uint64_t n)
{
	if (first >= npg)
		return;
	memset(a + first, 1, n > npg - first ? npg - first : n);
}

/* the image, the map or a boot file, [start, end): every page a byte of
 * it touches is claimed */
PMM_MODEL_ATTR static void pmm_model_inuse(struct pmm_model *m, uint64_t start,
					   uint64_t end)
{
	if (end > start)
		pmm_model_mark(m->claim, m->npg, start / PMM_MODEL_PG,
			       (end - 1) / PMM_MODEL_PG + 1 -
				   start / PMM_MODEL_PG);
}

/* the n descriptors (whole ones, as copies) into m, afresh */
PMM_MODEL_ATTR static void
pmm_model_map(struct pmm_model *m, const EFI_MEMORY_DESCRIPTOR *d, uint64_t n)
{
	memset(m->usable, 0, m->npg);
	memset(m->claim, 0, m->npg);
	m->top = m->unused_conv = m->attr_n = m->attr_pages = m->unacc_n =
	    m->unacc_pages = 0;
	for (uint64_t i = 0; i < n; i++, d++) {
		uint64_t f = d->PhysicalStart / PMM_MODEL_PG,
			 pages = d->NumberOfPages;
		if (pmm_model_usable(d)) {
			pmm_model_mark(m->usable, m->npg, f, pages);
			if (pages)
				m->top = MAX(m->top, f + pages);
			continue;
		}
		if (pages && d->PhysicalStart % PMM_MODEL_PG &&
		    pages < UINT64_MAX)
			pages++; /* the page its end falls into */
		pmm_model_mark(m->claim, m->npg, f, pages);
		if (pmm_model_conv_mapped(d)) {
			m->attr_n++;
			m->attr_pages =
			    pmm_model_sat(m->attr_pages, d->NumberOfPages);
		} else if (d->Type == EfiConventionalMemory) {
			m->unused_conv++;
		} else if (d->Type == T_UNACCEPTED) {
			m->unacc_n++;
			m->unacc_pages =
			    pmm_model_sat(m->unacc_pages, d->NumberOfPages);
		}
	}
}

PMM_MODEL_ATTR static bool pmm_model_free(const struct pmm_model *m,
					  uint64_t pg)
{
	return pg && pg < m->npg && m->usable[pg] && !m->claim[pg];
}

/* the bitmaps' pages: both, each one bit per page below top rounded up to
 * whole pages */
PMM_MODEL_ATTR static uint64_t pmm_model_need(const struct pmm_model *m,
					      unsigned bitmaps)
{
	return bitmaps * (((m->top + 7) / 8 + PMM_MODEL_PG - 1) / PMM_MODEL_PG);
}

/* the first page of the lowest run of need free pages at or above 1 MiB;
 * 0 when there is none (pmm_init panics) */
PMM_MODEL_ATTR static uint64_t pmm_model_place(const struct pmm_model *m,
					       uint64_t need)
{
	uint64_t run = 0;
	for (uint64_t p = 0x100000 / PMM_MODEL_PG; need && p < m->npg; p++) {
		run = pmm_model_free(m, p) ? run + 1 : 0;
		if (run == need)
			return p + 1 - need;
	}
	return 0;
}
#endif
