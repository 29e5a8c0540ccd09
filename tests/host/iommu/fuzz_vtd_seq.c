/* tests/host/iommu/fuzz_vtd_seq.c — stateful libFuzzer target for the VT-d
 * code (kernel/iommu vtd.c, domain.c, ir.c) over a fake remapping unit
 * (vtd_fake.h: registers, invalidation queue, fault records), brought up
 * by the real iommu_init from a DMAR table.
 *
 * The input's first two bytes choose the unit: 3- or 4-level tables in
 * SAGAW (4-level with or without 3-level),
 * MGAW, host address width, caching mode, coherency, interrupt remapping,
 * write-buffer flushing, drain bits, 1-4 fault records, 16-256 domain ids.
 * Then a program of 13-byte operations on owners 0..3 (0 is never valid)
 * and four endpoints (00:02.0, 00:03.0, 01:00.0, 00:1f.7): create a domain
 * (any owner on any function); map any iova/pa/len/rights (unaligned,
 * overlapping, at and past the address width, into the MSI window,
 * wrapping, pa past the host address width); unmap any range, or a part
 * of a live mapping of any owner; quarantine and resume; record DMA faults
 * in the unit and poll them; allocate and free interrupt remapping entries
 * (own and others' handles, APIC ids from 255, the xAPIC broadcast, up);
 * stop the unit (it never completes another invalidation, or reports a
 * queue error); set a function's Bus Master Enable again.
 *
 * An independent model (from the VT-d spec and iommu.h, not from the
 * code) predicts every call's result and state. Oracles, after every step
 * (each failure prints one "ORACLE: ..." line and aborts):
 *  - every call returns what the model says (refusals included; a map
 *    that made entries present, then failed — part-way, or caching mode
 *    — on a unit that did not confirm the undo says IOMMU_UNCONFIRMED,
 *    as its pages may still be cached), the
 *    unit breaks exactly when it was stopped and the call had to
 *    invalidate, and bus mastering is off exactly where the model says:
 *    a quarantined owner's function, an unowned faulting one, every
 *    function of a broken unit (until set again), and a quarantined
 *    owner's function again at its next fault or quarantine;
 *  - the hardware view: from the root table the unit latched, each
 *    function's context entry is present exactly when its owner has a
 *    domain and is not quarantined, translates (TT 0, FPD 0, AW in SAGAW,
 *    a unique non-zero DID), and walking its tables as the unit would
 *    (the levels of AW, IOVAs below 2^min(AW, MGAW), R/W ANDed over the
 *    levels, no PS or stray bits) gives exactly the model's live
 *    (iova -> pa, rights) of that owner — nothing more, nothing less; a
 *    quarantined owner's tables still hold its mappings; on a unit that
 *    is not coherent every root, context and table entry and IRTE read
 *    is what the kernel last flushed (vtd_fake.h fake_read), as the unit
 *    reads memory, not the CPU's caches;
 *  - no page-table page is shared between domains or with the root,
 *    context, interrupt remapping or queue pages; each domain's mapped
 *    and table page counts are its tables'; the pages the page shim has
 *    out are exactly those structures (nothing leaked or freed twice);
 *  - on a unit that buffers writes (RWBF), no entry the kernel wrote is
 *    left unflushed (write-buffer flush or invalidation) when a call
 *    returns on a working unit;
 *  - IOTLB ordering: the fake unit keeps what it may have cached — every
 *    context entry and translation it could have seen since the last
 *    invalidation that covered it, sampled on every invalidation it runs
 *    and every entry the kernel flushes — and when a call returns on a
 *    working unit, everything a function can still reach through those
 *    caches is a live translation of its owner (nothing for a
 *    quarantined or unowned function) — the IOTLB keyed by source id, as
 *    QEMU 7.2's, so a translation stays its function's after the context
 *    cache lost the entry, until an IOTLB invalidation of its domain id;
 *    every table page the unit may walk is still allocated, and every
 *    context entry it may have cached names a table some domain slot
 *    holds (live or withheld); the same for the interrupt entry cache;
 *  - interrupt remapping: each present IRTE is exactly one live
 *    allocation (vector, APIC id, the owner's source id verified, SVT 1,
 *    SQ 0), the handles and MSI address/data are as §5.1.2.2 says; a
 *    quarantined owner is refused any new entry (-1, remapping unit or
 *    not) until resumed;
 *  - fault records are consumed, counted for the owner of the source id
 *    (last fault's sid, reason, direction, page; for an interrupt-
 *    remapping fault the index, no direction), overflow cleared;
 *  - lines of unowned faults (counted through shim_line_hook): each
 *    unowned source is a fault line at most once, at most
 *    VTD_UNOWNED_SAID of them whatever the order, a fault of a source
 *    past them one line in all, and only once they are all said; and
 *    none lost: after a poll, every unowned source it took was said, or
 *    the one line for the rest was;
 *  - overflows (a fault that found every record set: FSTS.PFO): each take
 *    that finds PFO counts one (fault_overflows), and the first of the
 *    unit is the one "fault records overflowed" line, never another;
 *  - an owner's fault lines: one a quarantine, at the fault that starts
 *    it (a fault of an owner quarantined already is counted only, until
 *    iommu_owner_resume).
 * FUZZ_VTD_TRACE=1 prints every operation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel/lib/lib.h"
#include "shim.h"
#include "vtd_fake.h"

#define PS	4096ull
#define NOWN	4    /* owner ids 0..3; 0 never gets a domain */
#define MAXP	1024 /* mapped pages per owner (the harness's bound) */
#define MAXC	4096 /* cached translations per domain id */
#define MAXCTX	8
#define MSI_LO	0xfee00000ull
#define MSI_END 0xfef00000ull
#define OPBYTES 13

static bool trace;

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ORACLE: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

#define CHECK(c, ...)                                                          \
	do {                                                                   \
		if (!(c))                                                      \
			fail(__VA_ARGS__);                                     \
	} while (0)

/* ---- the model ----------------------------------------------------------- */
struct tr {
	uint64_t iova, pa;
	unsigned perm;
};

static struct model {
	unsigned levels, awbits, width; /* width: 2^width is the IOVA limit */
	uint64_t limit;
	unsigned ndid;
	bool ir;
	bool broken;
	struct {
		bool dom, quar;
		unsigned fn;
		uint64_t faults;
		struct iommu_fault last;
		struct tr map[MAXP];
		unsigned n;
		uint64_t refused; /* maps refused (not the unconfirmed ones) */
	} o[NOWN];
	bool bme[FAKE_NFN];
	struct {
		uint16_t owner; /* 0 free */
		bool retired;	/* freed while the unit failed: never reused */
		uint8_t vector;
		uint32_t apic;
	} irq[VTD_IRT_ENTRIES];
	uint32_t quarantines;
	unsigned withheld; /* tables of domains whose creation broke the unit */
	bool pfo;	   /* a fault found every record set since the take */
	uint64_t overflows; /* takes that found PFO */
} m;
static uint32_t quar0;
static uint64_t pages0;

static int fn_owner(unsigned fn)
{
	for (unsigned o = 1; o < NOWN; o++)
		if (m.o[o].dom && m.o[o].fn == fn)
			return (int)o;
	return 0;
}

static int sid_fn(uint16_t sid)
{
	for (unsigned f = 0; f < FAKE_NFN; f++)
		if (fake_sid(f) == sid)
			return (int)f;
	return -1;
}

static struct tr *model_find(unsigned o, uint64_t iova)
{
	for (unsigned i = 0; i < m.o[o].n; i++)
		if (m.o[o].map[i].iova == iova)
			return &m.o[o].map[i];
	return NULL;
}

/* ---- the hardware view ----------------------------------------------------
 */
/* a table page and what the walk knows of it (for flushes of one entry) */
struct tpage {
	uint64_t pa;
	uint16_t did;
	unsigned level, perm;
	uint64_t base; /* first iova it maps */
	int dom;       /* owner whose context or domain reached it, or -1 */
};
static struct tpage tpages[FAKE_MAX_PAGES];
static unsigned ntpages;

static struct tr walked[MAXP * 2];
static unsigned nwalked;

static void add_tpage(uint64_t pa, uint16_t did, unsigned level, unsigned perm,
		      uint64_t base, int dom)
{
	if (ntpages < FAKE_MAX_PAGES)
		tpages[ntpages++] =
		    (struct tpage){pa, did, level, perm, base, dom};
}

static struct tpage *find_tpage(uint64_t pa)
{
	for (unsigned i = 0; i < ntpages; i++)
		if (tpages[i].pa == pa)
			return &tpages[i];
	return NULL;
}

/* one entry as the unit reads it; leaves go to walked[] */
static void walk_level(uint64_t t, unsigned level, unsigned perm, uint64_t base,
		       uint16_t did, int dom, bool record)
{
	/* the unit walks only pages that are still the kernel's tables: a
	 * table page freed while an entry the unit may have cached (context
	 * or upper level) still names it is read as tables once reused */
	CHECK(shim_page_allocated(t, PS),
	      "the unit may walk table page 0x%lx (level %u, domain id %u), "
	      "freed",
	      t, level, did);
	if (record)
		add_tpage(t, did, level, perm, base, dom);
	const uint64_t *e = fake_table(t);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t v = e[i];
		unsigned p = (unsigned)(v & 3) & perm;
		uint64_t iova = base + ((uint64_t)i << (12 + 9 * (level - 1)));
		if (!(v & 3)) {
			CHECK(!v,
			      "not-present entry 0x%lx at level %u holds "
			      "bits",
			      v, level);
			continue;
		}
		CHECK(!(v & ~(VTD_SL_ADDR_MASK | 3)),
		      "entry 0x%lx at level %u: PS, SNP or reserved bits", v,
		      level);
		CHECK(iova < (1ull << m.width),
		      "entry at level %u for iova 0x%lx past 2^%u", level, iova,
		      m.width);
		if (level > 1) {
			walk_level(v & VTD_SL_ADDR_MASK, level - 1, p, iova,
				   did, dom, record);
			continue;
		}
		if (!p)
			continue;
		CHECK(nwalked < sizeof(walked) / sizeof(walked[0]),
		      "too many translations");
		walked[nwalked++] = (struct tr){iova, v & VTD_SL_ADDR_MASK, p};
	}
}

static unsigned ctx_levels(uint64_t hi)
{
	unsigned aw = hi & 7;
	if (aw == 1 && !fake.c.no_three)
		return 3;
	if (aw == 2 && fake.c.four_level)
		return 4;
	return 0; /* not in SAGAW: the unit faults (context invalid) */
}

/* ---- the unit's caches -----------------------------------------------------
 */
static struct {
	uint64_t lo, hi;
} ctxc[FAKE_NFN][MAXCTX];
static unsigned nctxc[FAKE_NFN];
static struct tr *iotlb[1u << 16]; /* by domain id */
static unsigned niotlb[1u << 16], capiotlb[1u << 16];
static uint16_t used_dids[256];
static unsigned nused_dids;
static struct {
	uint64_t lo, hi;
} iecc[VTD_IRT_ENTRIES][4];
static unsigned niecc[VTD_IRT_ENTRIES];
static bool caches_valid; /* false once the unit broke */
/* QEMU 7.2 keys its IOTLB by source id and looks it up before the context
 * entry (shared/reference/vtd.md): a translation a function cached stays
 * its own after its context entry is cleared and the context cache
 * flushed, until an IOTLB invalidation of the domain id. The domain ids
 * whose IOTLB entries each function may still hit */
#define MAXFD 8
static uint16_t fn_dids[FAKE_NFN][MAXFD];
static unsigned nfn_dids[FAKE_NFN];

static void fn_did_add(unsigned fn, uint16_t did)
{
	for (unsigned i = 0; i < nfn_dids[fn]; i++)
		if (fn_dids[fn][i] == did)
			return;
	CHECK(nfn_dids[fn] < MAXFD, "IOTLB source model overflow");
	fn_dids[fn][nfn_dids[fn]++] = did;
}

/* an IOTLB invalidation of did (global: every id) */
static void fn_dids_drop(bool global, uint16_t did)
{
	for (unsigned f = 0; f < FAKE_NFN; f++) {
		unsigned w = 0;
		for (unsigned i = 0; i < nfn_dids[f]; i++)
			if (!global && fn_dids[f][i] != did)
				fn_dids[f][w++] = fn_dids[f][i];
		nfn_dids[f] = w;
	}
}

static void iotlb_add(uint16_t did, const struct tr *t)
{
	for (unsigned i = 0; i < niotlb[did]; i++)
		if (!memcmp(&iotlb[did][i], t, sizeof(*t)))
			return;
	if (niotlb[did] == capiotlb[did]) {
		if (!capiotlb[did]) {
			CHECK(nused_dids < 256, "too many domain ids");
			used_dids[nused_dids++] = did;
		}
		capiotlb[did] = capiotlb[did] ? 2 * capiotlb[did] : 64;
		CHECK(capiotlb[did] <= MAXC * 4, "iotlb model overflow");
		iotlb[did] =
		    realloc(iotlb[did], capiotlb[did] * sizeof(struct tr));
	}
	iotlb[did][niotlb[did]++] = *t;
}

static void ctxc_add(unsigned fn, uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < nctxc[fn]; i++)
		if (ctxc[fn][i].lo == lo && ctxc[fn][i].hi == hi)
			return;
	CHECK(nctxc[fn] < MAXCTX, "context cache model overflow");
	ctxc[fn][nctxc[fn]].lo = lo;
	ctxc[fn][nctxc[fn]++].hi = hi;
}

static void iec_sample(unsigned i)
{
	if (!fake.irt)
		return;
	const uint64_t *e = fake_irte(i);
	if (!(e[0] & VTD_IRTE_P))
		return;
	for (unsigned k = 0; k < niecc[i]; k++)
		if (iecc[i][k].lo == e[0] && iecc[i][k].hi == e[1])
			return;
	CHECK(niecc[i] < 4, "IEC model overflow at %u", i);
	iecc[i][niecc[i]].lo = e[0];
	iecc[i][niecc[i]++].hi = e[1];
}

/* everything the unit could read now may be in its caches from now on;
 * also rebuilds the table-page index for single-entry flushes */
static void sample(void)
{
	ntpages = 0;
	for (unsigned f = 0; f < FAKE_NFN; f++) {
		const uint64_t *ce = fake_ctx(f);
		if (ce && (ce[0] & VTD_CTX_P))
			ctxc_add(f, ce[0], ce[1]);
		for (unsigned k = 0; k < nctxc[f]; k++) {
			uint64_t lo = ctxc[f][k].lo, hi = ctxc[f][k].hi;
			unsigned lv = ctx_levels(hi);
			if (!lv || ((lo >> 2) & 3))
				continue;
			uint16_t did = (uint16_t)(hi >> 8);
			/* a cached context entry names a domain's top-level
			 * table: one the kernel still holds (a live domain's,
			 * or one withheld), not a page freed and handed out
			 * again */
			bool held = false;
			for (unsigned i = 0; i < VTD_MAX_DOMAINS; i++)
				held |= vtd_domains[i].pt &&
					vtd_domains[i].pt ==
					    (lo & VTD_SL_ADDR_MASK);
			CHECK(held,
			      "function %u: the unit may hold a context entry "
			      "(domain id %u) naming table page 0x%lx, no "
			      "domain's",
			      f, did, lo & VTD_SL_ADDR_MASK);
			fn_did_add(f, did);
			nwalked = 0;
			walk_level(lo & VTD_SL_ADDR_MASK, lv, 3, 0, did,
				   fn_owner(f), true);
			for (unsigned i = 0; i < nwalked; i++)
				iotlb_add(did, &walked[i]);
		}
	}
	for (unsigned i = 0; i < VTD_IRT_ENTRIES; i++)
		iec_sample(i);
}

static void on_flush(const void *p, size_t len)
{
	uint64_t a = (uint64_t)p;
	if (fake.irt && a >= fake.irt && a < fake.irt + PS) {
		iec_sample((unsigned)((a - fake.irt) / 16));
		return;
	}
	struct tpage *t = find_tpage(a & ~(PS - 1));
	if (t && t->level == 1 && len <= 8) {
		uint64_t v = *(const uint64_t *)a;
		unsigned i = (unsigned)((a & (PS - 1)) / 8);
		if (v & t->perm & 3) {
			struct tr tr = {t->base + ((uint64_t)i << 12),
					v & VTD_SL_ADDR_MASK,
					(unsigned)(v & 3) & t->perm};
			iotlb_add(t->did, &tr);
		}
		return;
	}
	if (len >= PS && !t)
		return; /* a fresh zeroed page, not reachable yet */
	sample();	/* an upper-level, context or root entry changed */
}

/* a fault armed to be recorded during the next poll, at the first
 * invalidation the kernel runs in it (a quarantine): then the pass may
 * have gone by the record it lands in, and FSTS.PPF may be set already, so
 * no fault event would announce it; the poll must take it all the same */
static struct {
	bool armed, in_poll, recorded;
	struct iommu_fault f;
} late;

static unsigned frcd_set(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < fake.c.nfr; i++)
		n += !!(fake.frcd_dw3[i] & VTD_FRCD_DW3_F);
	return n;
}

static void on_inv(enum fake_inv_kind k, unsigned g, uint16_t did, uint16_t sid,
		   uint32_t idx, bool before)
{
	if (before && late.armed && late.in_poll) {
		unsigned n = frcd_set();
		late.armed = false;
		fake_fault(late.f.sid, late.f.reason, late.f.write,
			   late.f.addr);
		late.recorded = frcd_set() > n;
		m.pfo |= !!(fake.fsts & VTD_FSTS_PFO);
	}
	if (before) {
		sample();
		return;
	}
	switch (k) {
	case FAKE_CC:
		for (unsigned f = 0; f < FAKE_NFN; f++) {
			unsigned w = 0;
			for (unsigned i = 0; i < nctxc[f]; i++) {
				uint16_t d = (uint16_t)(ctxc[f][i].hi >> 8);
				bool gone =
				    g == VTD_QI_G_GLOBAL ||
				    (g == VTD_QI_G_DOMAIN && d == did) ||
				    (g == VTD_QI_G_DEVICE && d == did &&
				     fake_sid(f) == sid);
				if (!gone)
					ctxc[f][w++] = ctxc[f][i];
			}
			nctxc[f] = w;
		}
		break;
	case FAKE_IOTLB:
		if (g == VTD_QI_G_GLOBAL || g == VTD_QI_G_DOMAIN)
			fn_dids_drop(g == VTD_QI_G_GLOBAL, did);
		if (g == VTD_QI_G_GLOBAL)
			for (unsigned i = 0; i < nused_dids; i++)
				niotlb[used_dids[i]] = 0;
		else if (g == VTD_QI_G_DOMAIN)
			niotlb[did] = 0;
		/* page-selective: kept (capOS never uses it) */
		break;
	case FAKE_IEC:
		if (!g)
			memset(niecc, 0, sizeof(niecc));
		else if (idx < VTD_IRT_ENTRIES)
			niecc[idx] = 0;
		break;
	}
	sample();
}

static void caches_reset(void)
{
	memset(nctxc, 0, sizeof(nctxc));
	memset(nfn_dids, 0, sizeof(nfn_dids));
	for (unsigned i = 0; i < nused_dids; i++) {
		free(iotlb[used_dids[i]]);
		iotlb[used_dids[i]] = NULL;
		niotlb[used_dids[i]] = capiotlb[used_dids[i]] = 0;
	}
	nused_dids = 0;
	memset(niecc, 0, sizeof(niecc));
	ntpages = 0;
}

/* ---- the oracle
 * -------------------------------------------------------------- */
static int tr_cmp(const void *a, const void *b)
{
	const struct tr *x = a, *y = b;
	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

/* the translations of tables at pt (levels) equal owner o's model */
static void check_tables(unsigned o, uint64_t pt, unsigned levels,
			 const char *what)
{
	nwalked = 0;
	walk_level(pt, levels, 3, 0, 0, (int)o, false);
	CHECK(nwalked == m.o[o].n, "owner %u %s: %u translations, model %u", o,
	      what, nwalked, m.o[o].n);
	static struct tr want[MAXP];
	memcpy(want, m.o[o].map, m.o[o].n * sizeof(struct tr));
	qsort(want, m.o[o].n, sizeof(struct tr), tr_cmp);
	qsort(walked, nwalked, sizeof(struct tr), tr_cmp);
	for (unsigned i = 0; i < nwalked; i++)
		CHECK(!memcmp(&walked[i], &want[i], sizeof(struct tr)),
		      "owner %u %s: iova 0x%lx -> 0x%lx perm %u, model iova "
		      "0x%lx -> 0x%lx perm %u",
		      o, what, walked[i].iova, walked[i].pa, walked[i].perm,
		      want[i].iova, want[i].pa, want[i].perm);
}

static uint64_t pages_of_tree(uint64_t pt, unsigned level, uint64_t *set,
			      unsigned *n, unsigned max)
{
	for (unsigned i = 0; i < *n; i++)
		CHECK(set[i] != pt, "table page 0x%lx reached twice", pt);
	CHECK(*n < max, "too many table pages");
	set[(*n)++] = pt;
	uint64_t c = 1;
	if (level > 1) {
		const uint64_t *e = (const uint64_t *)pt;
		for (unsigned i = 0; i < 512; i++)
			if (e[i] & 3)
				c += pages_of_tree(e[i] & VTD_SL_ADDR_MASK,
						   level - 1, set, n, max);
	}
	return c;
}

static void check(void)
{
	struct vtd_unit *u = &vtd_units[0];
	fake_step();
	CHECK(!fake.misuse, "unit misused: %s", fake.misuse);
	CHECK(u->broken == m.broken, "unit broken %d, model %d", u->broken,
	      m.broken);
	CHECK(fake.gsts & VTD_GCMD_TE, "translation turned off");
	CHECK(fake.gsts & VTD_GCMD_QIE, "queued invalidation turned off");
	CHECK(!!(fake.gsts & VTD_GCMD_IRE) == m.ir, "IRE %d, model %d",
	      !!(fake.gsts & VTD_GCMD_IRE), m.ir);
	CHECK(fake.root == u->root, "root table not the latched one");
	CHECK(!fake.c.rwbf || m.broken || !fake.wb_dirty,
	      "an entry written and left in the unit's write buffer (RWBF)");
	CHECK(iommu_quarantines() - quar0 == m.quarantines,
	      "quarantines %u, model %u", iommu_quarantines() - quar0,
	      m.quarantines);
	for (unsigned f = 0; f < FAKE_NFN; f++)
		CHECK(fake_bme(f) == m.bme[f],
		      "function %u bus master %d, "
		      "model %d",
		      f, fake_bme(f), m.bme[f]);
	/* the set of table pages: disjoint between domains and the unit's */
	static uint64_t set[FAKE_MAX_PAGES];
	unsigned n = 0;
	uint64_t expect = 3 + (m.ir ? 1 : 0);
	set[n++] = u->root, set[n++] = u->iq, set[n++] = u->status;
	if (m.ir)
		set[n++] = u->irt;
	const uint64_t *root = (const uint64_t *)u->root;
	for (unsigned b = 0; b < 256; b++)
		if (root[2 * b] & VTD_ROOT_P) {
			CHECK(!root[2 * b + 1] &&
				  !(root[2 * b] & ~(VTD_SL_ADDR_MASK | 1)),
			      "root entry %u has stray bits", b);
			pages_of_tree(root[2 * b] & VTD_SL_ADDR_MASK, 1, set,
				      &n, FAKE_MAX_PAGES);
			expect++;
		}
	uint16_t dids[FAKE_NFN];
	unsigned ndids = 0;
	for (unsigned f = 0; f < FAKE_NFN; f++) {
		const uint64_t *ce = fake_ctx(f);
		int o = fn_owner(f);
		bool want = o && !m.o[o].quar;
		bool have = ce && (ce[0] & VTD_CTX_P);
		CHECK(have == want,
		      "function %u: context present %d, model %d "
		      "(owner %d)",
		      f, have, want, o);
		if (!have)
			continue;
		CHECK(!(ce[0] & 0xffeull) && !(ce[1] & ~0xffff07ull),
		      "function %u: context 0x%lx:0x%lx: TT, FPD or reserved "
		      "bits",
		      f, ce[1], ce[0]);
		unsigned lv = ctx_levels(ce[1]);
		CHECK(lv == m.levels,
		      "function %u: context AW %lu, want %u "
		      "levels",
		      f, ce[1] & 7, m.levels);
		uint16_t did = (uint16_t)(ce[1] >> 8);
		CHECK(did && did < m.ndid, "function %u: domain id %u", f, did);
		for (unsigned i = 0; i < ndids; i++)
			CHECK(dids[i] != did, "domain id %u shared", did);
		dids[ndids++] = did;
		check_tables((unsigned)o, ce[0] & VTD_SL_ADDR_MASK, lv,
			     "context");
	}
	/* each owner's domain: its tables, counters, the calls' answers */
	for (unsigned o = 0; o < NOWN; o++) {
		struct vtd_domain *dm = vtd_domain_of((uint16_t)o);
		CHECK(!!dm == m.o[o].dom, "owner %u domain %d, model %d", o,
		      !!dm, m.o[o].dom);
		CHECK(iommu_addr_limit((uint16_t)o) ==
			  (m.o[o].dom ? m.limit : 0),
		      "owner %u address limit 0x%lx", o,
		      iommu_addr_limit((uint16_t)o));
		CHECK(iommu_owner_translated((uint16_t)o) ==
			  (m.o[o].dom && !m.broken),
		      "owner %u translated", o);
		CHECK(iommu_owner_quarantined((uint16_t)o) ==
			  (m.o[o].dom && m.o[o].quar),
		      "owner %u quarantined %d, model %d", o,
		      iommu_owner_quarantined((uint16_t)o), m.o[o].quar);
		struct iommu_fault last;
		uint64_t fc = iommu_fault_count((uint16_t)o, &last);
		CHECK(fc == m.o[o].faults, "owner %u faults %lu, model %lu", o,
		      fc, m.o[o].faults);
		if (fc)
			CHECK(last.sid == m.o[o].last.sid &&
				  last.reason == m.o[o].last.reason &&
				  last.write == m.o[o].last.write &&
				  last.addr == m.o[o].last.addr,
			      "owner %u last fault", o);
		if (!dm)
			continue;
		check_tables(o, dm->pt, m.levels, "tables");
		uint64_t c =
		    pages_of_tree(dm->pt, m.levels, set, &n, FAKE_MAX_PAGES);
		CHECK(dm->pages == m.o[o].n,
		      "owner %u mapped pages %lu, model "
		      "%u",
		      o, dm->pages, m.o[o].n);
		CHECK(dm->ptpages == c,
		      "owner %u table pages %lu, walked "
		      "%lu",
		      o, dm->ptpages, c);
		CHECK(dm->maps_refused == m.o[o].refused,
		      "owner %u maps refused %lu, model %lu", o,
		      dm->maps_refused, m.o[o].refused);
		unsigned irqs = 0;
		for (unsigned i = 0; i < VTD_IRT_ENTRIES; i++)
			irqs += m.irq[i].owner == o;
		CHECK(dm->irtes == irqs, "owner %u irtes %u, model %u", o,
		      dm->irtes, irqs);
		expect += c;
	}
	unsigned orphans = 0;
	for (unsigned i = 0; i < VTD_MAX_DOMAINS; i++)
		if (!vtd_domains[i].used && vtd_domains[i].pt) {
			orphans++;
			expect += pages_of_tree(vtd_domains[i].pt, m.levels,
						set, &n, FAKE_MAX_PAGES);
		}
	CHECK(orphans == m.withheld, "%u tables withheld, model %u", orphans,
	      m.withheld);
	CHECK(shim_pages_in_use - pages0 == expect,
	      "pages out %lu, the unit's structures %lu",
	      shim_pages_in_use - pages0, expect);
	/* interrupt remapping table */
	if (m.ir) {
		CHECK(fake.irt == u->irt, "IRT not the latched one");
		for (unsigned i = 0; i < VTD_IRT_ENTRIES; i++) {
			const uint64_t *e = fake_irte(i);
			uint64_t lo = e[0], hi = e[1];
			unsigned o = m.irq[i].owner;
			if (!o) {
				CHECK(!(lo & VTD_IRTE_P),
				      "IRTE %u present, no allocation", i);
				continue;
			}
			uint64_t wlo = VTD_IRTE_P |
				       (uint64_t)m.irq[i].vector << 16 |
				       (uint64_t)m.irq[i].apic << 40;
			uint64_t whi = fake_sid(m.o[o].fn) | 1ull << 18;
			CHECK(lo == wlo && hi == whi,
			      "IRTE %u 0x%lx:0x%lx, want 0x%lx:0x%lx", i, hi,
			      lo, whi, wlo);
		}
	}
	/* on a unit that is not coherent, all of that was read as the unit
	 * reads memory: root, context and table entries and IRTEs as the
	 * kernel last flushed them (vtd_fake.h fake_read) */
	CHECK(!fake.misuse, "unit misused: %s", fake.misuse);
	/* what the unit may still have cached */
	if (!caches_valid)
		return;
	sample();
	for (unsigned f = 0; f < FAKE_NFN; f++) {
		int o = fn_owner(f);
		bool live = o && !m.o[o].quar;
		/* through its context cache or, keyed by its source id,
		 * the IOTLB alone (fn_dids: every id its cached context
		 * entries name, and those since) */
		for (unsigned k = 0; k < nfn_dids[f]; k++) {
			uint16_t did = fn_dids[f][k];
			for (unsigned i = 0; i < niotlb[did]; i++) {
				const struct tr *t = &iotlb[did][i];
				const struct tr *w =
				    live ? model_find((unsigned)o, t->iova)
					 : NULL;
				CHECK(
				    w && w->pa == t->pa && w->perm == t->perm,
				    "function %u (owner %d%s) can still reach "
				    "iova 0x%lx -> 0x%lx perm %u through the "
				    "unit's caches (domain id %u)",
				    f, o,
				    o && m.o[o].quar ? ", quarantined" : "",
				    t->iova, t->pa, t->perm, did);
			}
		}
	}
	for (unsigned i = 0; i < VTD_IRT_ENTRIES; i++)
		for (unsigned k = 0; k < niecc[i]; k++) {
			unsigned o = m.irq[i].owner;
			CHECK(o, "IRTE %u still cached after its free", i);
			uint64_t wlo = VTD_IRTE_P |
				       (uint64_t)m.irq[i].vector << 16 |
				       (uint64_t)m.irq[i].apic << 40;
			CHECK(iecc[i][k].lo == wlo,
			      "IRTE %u: a stale entry "
			      "cached",
			      i);
		}
}

/* ---- operations
 * ---------------------------------------------------------------- */
static uint32_t le32(const uint8_t *a)
{
	return a[0] | a[1] << 8 | a[2] << 16 | (uint32_t)a[3] << 24;
}

static uint64_t any_iova(void)
{
	for (unsigned o = 1; o < NOWN; o++)
		if (m.o[o].n)
			return m.o[o].map[0].iova;
	return PS;
}

static uint64_t sel_iova(uint8_t mode, uint32_t r)
{
	switch (mode % 8) {
	case 0:
		return (1 + r % 64) * PS;
	case 1:
		return (1 + r % 64) * PS + ((r >> 8) & 0xfff);
	case 2:
		return m.limit - (1 + r % 8) * PS;
	case 3:
		return m.limit + (r % 4) * PS + ((r & 0x100) ? m.limit : 0);
	case 4:
		return MSI_LO + ((int64_t)(r % 8) - 4) * (int64_t)PS;
	case 5: {
		unsigned o = 1 + r % 3;
		uint64_t base = m.o[o].n ? m.o[o].map[(r >> 8) % m.o[o].n].iova
					 : any_iova();
		return base + ((int64_t)((r >> 16) % 3) - 1) * (int64_t)PS;
	}
	case 6:
		return (uint64_t)r << 32 | r;
	default:
		return (r & 1) ? 0 : 0 - (1 + r % 4) * PS;
	}
}

static uint64_t sel_pa(uint8_t mode, uint32_t r)
{
	switch (mode % 8) {
	case 4:
		return (1ull << fake.c.haw) - (r % 4) * PS;
	case 5:
		return (1ull << 52) - (r % 4) * PS;
	case 6:
		return 0 - (1 + r % 4) * PS;
	case 7:
		return (uint64_t)(r & 0xffff) << 40 | 0x123000;
	default:
		return 0x100000 + (uint64_t)(r & 0xffff) * PS;
	}
}

static uint64_t sel_len(uint8_t mode, uint8_t r)
{
	switch (mode % 8) {
	case 4:
		return (1 + r % 16) * PS + ((r * 0x111u) & 0xfff);
	case 5:
		return 0;
	case 6:
		return 0 - (uint64_t)r * PS;
	case 7:
		return 1ull << (32 + r % 24);
	default:
		return (1 + r % 16) * PS;
	}
}

/* an entry turning present must be confirmed to the unit: by an
 * invalidation where it caches not-present entries (CM), by a write-buffer
 * flush where it buffers writes (RWBF) */
static bool must_confirm(void)
{
	return fake.c.cm || fake.c.rwbf;
}

/* the unit breaks on a call that had to invalidate, when it was stopped */
static void expect_break(bool must, bool may)
{
	bool now = vtd_units[0].broken;
	if (!fake.stop)
		CHECK(!now, "unit broke while answering");
	else if (must)
		CHECK(now, "stopped unit not given up after a call that had "
			   "to invalidate");
	else if (!may)
		CHECK(now == m.broken, "unit broke on a call that needed no "
				       "invalidation");
	if (now && !m.broken) {
		m.broken = true;
		caches_valid = false;
		for (unsigned f = 0; f < FAKE_NFN; f++)
			m.bme[f] = false;
	}
}

/* a fault (or a quarantine asked for) stops the owner's device even when
 * it was quarantined already: its bus mastering may have been set since */
static void m_quarantine(unsigned o)
{
	for (unsigned f = 0; f < FAKE_NFN; f++)
		if (fake_sid(f) == fake_sid(m.o[o].fn))
			m.bme[f] = false;
	if (m.o[o].quar)
		return;
	m.o[o].quar = true;
	m.quarantines++;
}

static void op_create(const uint8_t *a)
{
	unsigned o = a[0] % NOWN, fn = a[1] % FAKE_NFN;
	bool ok = o && !m.broken && !m.o[o].dom && !fn_owner(fn);
	unsigned used = 0;
	for (unsigned i = 1; i < NOWN; i++)
		used += m.o[i].dom;
	ok = ok && used + 2 <= m.ndid; /* domain ids 1..ndid-1 */
	if (trace)
		printf("create owner %u fn %u\n", o, fn);
	int r = iommu_domain_create((uint16_t)o, 0, fake_sid(fn));
	expect_break(ok && must_confirm(), false);
	if (ok && m.broken) {
		ok = false;
		m.withheld++;
	}
	CHECK(r == (ok ? 0 : -1), "create owner %u fn %u: %d", o, fn, r);
	if (ok) {
		m.o[o].dom = true;
		m.o[o].fn = fn;
		m.o[o].n = 0;
		m.o[o].refused = 0;
	}
}

static void op_map(unsigned o, uint64_t iova, uint64_t pa, uint64_t len,
		   unsigned perm)
{
	bool ok = o && m.o[o].dom && !m.broken && len && perm &&
		  !(perm & ~3u) && !((iova | pa | len) & (PS - 1)) &&
		  iova >= PS && iova + len >= iova && iova + len <= m.limit &&
		  !(iova < MSI_END && iova + len > MSI_LO) && pa + len >= pa &&
		  pa + len <= (1ull << fake.c.haw);
	bool overlap = false;
	uint64_t made = 0; /* pages the call makes present before it stops */
	if (ok)
		for (; made < len && !overlap; made += PS)
			overlap = model_find(o, iova + made) != NULL;
	made = overlap ? made - PS : len;
	if (ok && !overlap && (len / PS > 64 || m.o[o].n + len / PS > MAXP))
		return; /* the harness's bound */
	if (trace)
		printf("map owner %u 0x%lx -> 0x%lx +0x%lx perm %u\n", o, iova,
		       pa, len, perm);
	int r = iommu_map((uint16_t)o, iova, pa, len, perm);
	expect_break(ok && !overlap && must_confirm(), ok && overlap);
	bool success = ok && !overlap && !m.broken;
	/* entries it made present and then took back without the unit's
	 * confirmation may be cached: the caller must not reuse the pages */
	int want = success		    ? 0
		   : ok && made && m.broken ? IOMMU_UNCONFIRMED
					    : -1;
	CHECK(r == want,
	      "map owner %u 0x%lx -> 0x%lx +0x%lx perm %u: %d, model %d", o,
	      iova, pa, len, perm, r, want);
	/* every failure but a whole map whose confirmation failed is a
	 * refusal, counted (and said once a reason) */
	if (o && m.o[o].dom && !success && !(ok && !overlap))
		m.o[o].refused++;
	if (success)
		for (uint64_t off = 0; off < len; off += PS)
			m.o[o].map[m.o[o].n++] =
			    (struct tr){iova + off, pa + off, perm};
}

static void op_unmap(unsigned o, uint64_t iova, uint64_t len)
{
	/* pages the range touches, below the address width; a range past
	 * 2^64 runs to its end */
	uint64_t end = iova + len < iova ? UINT64_MAX : iova + len;
	uint64_t start = iova & ~(PS - 1);
	if (end > m.limit)
		end = m.limit;
	/* no bound on the range: the kernel walks the tables, not the pages
	 * (test_unmap_huge_range_bounded) */
	if (trace)
		printf("unmap owner %u 0x%lx +0x%lx\n", o, iova, len);
	int r = iommu_unmap((uint16_t)o, iova, len);
	bool dom = o && m.o[o].dom;
	expect_break(dom, false);
	CHECK(r == (!dom       ? -1
		    : m.broken ? IOMMU_UNCONFIRMED
			       : 0),
	      "unmap owner %u 0x%lx +0x%lx: "
	      "%d",
	      o, iova, len, r);
	if (!dom || !len)
		return;
	unsigned w = 0;
	for (unsigned i = 0; i < m.o[o].n; i++) {
		uint64_t v = m.o[o].map[i].iova;
		if (!(v >= start && v < end))
			m.o[o].map[w++] = m.o[o].map[i];
	}
	m.o[o].n = w;
}

static void op_quarantine(unsigned o)
{
	if (trace)
		printf("quarantine owner %u\n", o);
	iommu_owner_quarantine((uint16_t)o);
	bool act = o && m.o[o].dom && !m.o[o].quar;
	expect_break(act, false);
	if (o && m.o[o].dom)
		m_quarantine(o);
}

static void op_resume(unsigned o)
{
	if (trace)
		printf("resume owner %u\n", o);
	int r = iommu_owner_resume((uint16_t)o);
	bool dom = o && m.o[o].dom;
	bool act = dom && !m.broken && m.o[o].quar;
	expect_break(act && must_confirm(), false);
	int want = !dom || m.broken ? -1 : 0;
	CHECK(r == want, "resume owner %u: %d, model %d", o, r, want);
	if (act && !m.broken)
		m.o[o].quar = false;
}

/* the owner unbound (kernel/authority auth_owner_unbind): its interrupt
 * entries freed, its context entry cleared, the context cache and IOTLB of
 * its domain id invalidated — always a wait, so a stopped unit breaks —
 * then its tables freed and the slot and id free again; unconfirmed, the
 * tables stay withheld in the slot. Its mappings are gone from the model,
 * so the cache oracle (check) fails on any translation of the dead domain
 * the unit may still hold, also under a later domain given the same id */
static void op_destroy(unsigned o)
{
	if (trace)
		printf("destroy owner %u\n", o);
	int r = iommu_domain_destroy((uint16_t)o);
	bool dom = o && m.o[o].dom;
	expect_break(dom, false);
	int want = !dom ? -1 : m.broken ? IOMMU_UNCONFIRMED : 0;
	CHECK(r == want, "destroy owner %u: %d, model %d", o, r, want);
	if (!dom)
		return;
	for (unsigned i = 0; i < VTD_IRT_ENTRIES; i++)
		if (m.irq[i].owner == o) {
			m.irq[i].owner = 0;
			m.irq[i].retired = m.broken;
		}
	m.o[o].dom = m.o[o].quar = false;
	m.o[o].n = 0;
	m.o[o].faults = 0;
	if (m.broken)
		m.withheld++;
}

/* ---- lines of unowned faults ------------------------------------------ */
static uint16_t said_sid[VTD_UNOWNED_SAID + 1];
static unsigned nsaid, more_lines, overflow_lines;
/* fault lines of each owner, and those the model expects: one a
 * quarantine, at the fault that starts it */
static unsigned owner_lines[NOWN], owner_lines_want[NOWN];

static bool sid_said(uint16_t sid)
{
	for (unsigned i = 0; i < nsaid; i++)
		if (said_sid[i] == sid)
			return true;
	return false;
}

static void on_line(const char *line)
{
	const char *p = strstr(line, " fault owner 0 sid ");
	unsigned b, d, f;
	if (p && sscanf(p, " fault owner 0 sid %x:%x.%u", &b, &d, &f) == 3) {
		uint16_t sid = (uint16_t)(b << 8 | d << 3 | f);
		CHECK(!sid_said(sid), "unowned source %04x said twice", sid);
		CHECK(nsaid < VTD_UNOWNED_SAID,
		      "more than VTD_UNOWNED_SAID (%u) unowned sources said",
		      VTD_UNOWNED_SAID);
		said_sid[nsaid++] = sid;
	}
	unsigned o;
	p = strstr(line, " fault owner ");
	if (p && sscanf(p, " fault owner %u sid", &o) == 1 && o) {
		CHECK(o < NOWN, "a fault line of owner %u", o);
		owner_lines[o]++;
	}
	if (strstr(line, "fault records overflowed"))
		CHECK(!overflow_lines++, "fault records overflowed said twice");
	if (strstr(line, "unowned sources counted only")) {
		CHECK(!more_lines++, "the line for further unowned sources "
				     "said twice");
		CHECK(nsaid == VTD_UNOWNED_SAID,
		      "further unowned sources said past %u of %u", nsaid,
		      VTD_UNOWNED_SAID);
	}
}

/* a fault record as VT-d §7.1 says to read it: a DMA fault names the page
 * and the direction (T), an interrupt-remapping fault (reason 0x20 and
 * up) the interrupt index in FI 63:48, no address, no direction */
static struct iommu_fault record_read(uint16_t sid, uint8_t reason, bool write,
				      uint64_t fi)
{
	if (reason >= 0x20)
		return (struct iommu_fault){
		    .sid = sid, .reason = reason, .addr = fi >> 48};
	return (struct iommu_fault){.sid = sid,
				    .reason = reason,
				    .write = write,
				    .addr = fi & ~(PS - 1)};
}

static void op_fault(const uint8_t *a)
{
	/* the others QEMU records (7, 0xC, 0xE), and interrupt-remapping
	 * ones (IRTE not present, compatibility format, source id, one
	 * past those the spec names) */
	static const uint8_t more[8] = {7,    0xc,  0xe,  0x20,
					0x22, 0x25, 0x26, 0x27};
	uint16_t sid = (a[0] & 0x80) ? (uint16_t)(a[4] << 8 | a[5])
				     : fake_sid(a[0] % FAKE_NFN);
	uint8_t reason =
	    a[1] >= 0xf8 ? more[a[1] & 7] : (uint8_t)(1 + a[1] % 6);
	bool write = a[2] & 1;
	uint64_t addr = reason >= 0x20 ? (uint64_t)(a[6] | a[7] << 8) << 48
				       : (uint64_t)le32(a + 6) << 12 | a[10];
	if (trace)
		printf("fault sid %04x reason %u %s 0x%lx%s\n", sid, reason,
		       write ? "write" : "read", addr,
		       a[3] == 0xa5 ? " (during the next poll)" : "");
	if (a[3] == 0xa5) {
		late.armed = true;
		/* the record as written; read at the poll */
		late.f = (struct iommu_fault){.sid = sid,
					      .reason = reason,
					      .write = write,
					      .addr = addr & ~(PS - 1)};
		return;
	}
	fake_fault(sid, reason, write, addr);
	m.pfo |= !!(fake.fsts & VTD_FSTS_PFO);
}

static void op_poll(void)
{
	/* the records as the kernel will find them, in order */
	bool must = false;
	struct iommu_fault f[5];
	unsigned nf = 0;
	for (unsigned i = 0; i < fake.c.nfr; i++) {
		if (!(fake.frcd_dw3[i] & VTD_FRCD_DW3_F))
			continue;
		uint32_t off = FAKE_FRO + 16 * i;
		f[nf++] = record_read(
		    (uint16_t)*fake_reg(off + 8), fake.frcd_dw3[i] & 0xff,
		    !(fake.frcd_dw3[i] & VTD_FRCD_DW3_T), fake_reg64(off));
	}
	if (trace)
		printf("poll (%u records)\n", nf);
	for (unsigned i = 0; i < nf; i++) {
		int fn = sid_fn(f[i].sid);
		int o = fn >= 0 ? fn_owner((unsigned)fn) : 0;
		if (o && !m.o[o].quar)
			must = true;
	}
	late.in_poll = true;
	late.recorded = false;
	unsigned r = iommu_fault_poll();
	late.in_poll = false;
	late.armed = false; /* no invalidation ran: never recorded */
	if (late.recorded) {
		int fn = sid_fn(late.f.sid);
		int o = fn >= 0 ? fn_owner((unsigned)fn) : 0;
		must |= o && !m.o[o].quar;
		/* taken after the record it came during */
		f[nf++] = record_read(late.f.sid, late.f.reason, late.f.write,
				      late.f.addr);
	}
	fake_step(); /* the unit takes the kernel's W1C writes */
	CHECK(r == nf, "poll took %u faults, %u recorded", r, nf);
	expect_break(must, false);
	for (unsigned i = 0; i < nf; i++) {
		int fn = sid_fn(f[i].sid);
		int o = fn >= 0 ? fn_owner((unsigned)fn) : 0;
		if (o) {
			m.o[o].faults++;
			m.o[o].last = f[i];
			owner_lines_want[o] += !m.o[o].quar;
			m_quarantine((unsigned)o);
		} else {
			for (unsigned g = 0; g < FAKE_NFN; g++)
				if (fake_sid(g) == f[i].sid)
					m.bme[g] = false;
			CHECK(sid_said(f[i].sid) || more_lines,
			      "a fault of unowned source %04x not said",
			      f[i].sid);
		}
	}
	for (unsigned i = 0; i < fake.c.nfr; i++)
		CHECK(!(fake.frcd_dw3[i] & VTD_FRCD_DW3_F),
		      "fault record %u not cleared", i);
	CHECK(!(fake.fsts & VTD_FSTS_PFO), "overflow not cleared");
	m.overflows += m.pfo;
	m.pfo = false;
	CHECK(vtd_units[0].overflows == m.overflows,
	      "%lu overflows counted, model %lu", vtd_units[0].overflows,
	      m.overflows);
	CHECK(!m.overflows || overflow_lines, "an overflow not said");
	for (unsigned o = 1; o < NOWN; o++)
		CHECK(owner_lines[o] == owner_lines_want[o],
		      "owner %u: %u fault lines, model %u (one a quarantine)",
		      o, owner_lines[o], owner_lines_want[o]);
}

static void op_irq_alloc(const uint8_t *a)
{
	unsigned o = a[0] % NOWN;
	uint8_t vector = a[1];
	uint32_t apic =
	    (a[2] & 0x80) ? (a[2] & 1 ? 0xffffffffu : 256u + a[3]) : a[3];
	int want;
	int idx = -1;
	if (o && m.o[o].dom && m.o[o].quar)
		want = -1; /* nothing new for a quarantined owner */
	else if (!o || !m.o[o].dom || !m.ir)
		want = 1;
	else if (m.broken || apic >= 255) /* 255: the xAPIC broadcast */
		want = -1;
	else {
		for (unsigned i = 0; i < VTD_IRT_ENTRIES && idx < 0; i++)
			if (!m.irq[i].owner && !m.irq[i].retired)
				idx = (int)i;
		want = idx < 0 ? -1 : 0;
	}
	if (trace)
		printf("irq_alloc owner %u vector %u apic %u\n", o, vector,
		       apic);
	uint32_t addr = 0, data = 0xdead;
	uint16_t h = 0xffff;
	int r = iommu_irq_alloc((uint16_t)o, vector, apic, &addr, &data, &h);
	expect_break(want == 0, false);
	if (want == 0 && m.broken)
		want = -1;
	CHECK(r == want, "irq_alloc owner %u apic %u: %d, model %d", o, apic, r,
	      want);
	if (r)
		return;
	CHECK(h == idx, "irq handle %u, model %d", h, idx);
	CHECK(addr == (0xfee00000u | (uint32_t)(h & 0x7fff) << 5 | 1u << 4 |
		       (h >> 15 ? 1u << 2 : 0)) &&
		  data == 0,
	      "irq %u: MSI 0x%x/0x%x", h, addr, data);
	m.irq[h].owner = (uint16_t)o;
	m.irq[h].vector = vector;
	m.irq[h].apic = apic;
}

static void op_irq_free(const uint8_t *a)
{
	unsigned o = a[0] % NOWN;
	uint16_t h = (uint16_t)(a[2] | a[3] << 8);
	if (a[1] & 1) {
		unsigned live[VTD_IRT_ENTRIES], n = 0;
		for (unsigned i = 0; i < VTD_IRT_ENTRIES; i++)
			if (m.irq[i].owner)
				live[n++] = i;
		if (n)
			h = (uint16_t)live[a[2] % n];
	}
	if (trace)
		printf("irq_free owner %u handle %u\n", o, h);
	iommu_irq_free((uint16_t)o, h);
	bool act =
	    o && m.o[o].dom && h < VTD_IRT_ENTRIES && m.irq[h].owner == o;
	expect_break(act, false);
	if (act) {
		m.irq[h].owner = 0;
		m.irq[h].retired = m.broken;
	}
}

static void op_stop(const uint8_t *a)
{
	if (trace)
		printf("stop unit%s\n", a[0] & 1 ? " (queue error)" : "");
	fake.stop = true;
	fake.stop_iqe = a[0] & 1;
}

static void op_bme(const uint8_t *a)
{
	unsigned fn = a[0] % FAKE_NFN;
	if (trace)
		printf("bus master on fn %u\n", fn);
	fake_set_bme(fn);
	m.bme[fn] = true;
}

static void setup(const uint8_t *c)
{
	static const unsigned mgaws[4] = {39, 48, 36, 42};
	static const unsigned haws[4] = {39, 46, 48, 52};
	struct fake_cfg cfg = {
	    .four_level = c[0] & 1,
	    .no_three = (c[0] & 1) && (c[1] & 64),
	    .mgaw = mgaws[(c[0] >> 1) & 3],
	    .cm = c[0] & 8,
	    .coherent = c[0] & 16,
	    .ir = c[0] & 32,
	    .rwbf = c[0] & 64,
	    .drain = c[0] & 128,
	    .nfr = 1 + (c[1] & 3),
	    .nd = ((c[1] >> 2) & 3) == 3 ? 2 : (c[1] >> 2) & 3,
	    .haw = haws[(c[1] >> 4) & 3],
	};
	memset(&m, 0, sizeof(m));
	caches_reset();
	pages0 = shim_pages_in_use;
	quar0 = iommu_quarantines();
	fake_setup(&cfg);
	fake_inv_hook = on_inv;
	fake_flush_hook = on_flush;
	caches_valid = true;
	iommu_init();
	/* the widest width SAGAW offers, whatever MGAW (which only clips the
	 * addresses): Linux's iommu->agaw from cap_sagaw */
	m.levels = cfg.four_level ? 4 : 3;
	m.awbits = m.levels == 4 ? 48 : 39;
	m.width = MIN(m.awbits, cfg.mgaw);
	m.limit = 1ull << m.width;
	m.ndid = 1u << (4 + 2 * cfg.nd);
	m.ir = cfg.ir;
	struct vtd_unit *u = &vtd_units[0];
	CHECK(vtd_nunits == 1 && u->up && !u->broken, "unit not up: %s",
	      u->why ? u->why : "?");
	CHECK(u->levels == m.levels && u->agaw == m.width,
	      "unit chose %u levels, %u bits; model %u, %u", u->levels, u->agaw,
	      m.levels, m.width);
	CHECK(*fake_reg(VTD_FECTL) == 0, "fault event masked");
	CHECK(fake.cc && fake.iotlb, "no global invalidation at bring-up");
	CHECK(!m.ir || fake.iec, "no IEC invalidation at bring-up");
	/* every in-scope endpoint's bus mastering is off until bound */
	for (unsigned f = 0; f < FAKE_NFN; f++)
		m.bme[f] = false;
	check();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	shim_quiet = 1;
	trace = getenv("FUZZ_VTD_TRACE") != NULL;
	if (trace)
		setvbuf(stdout, NULL, _IONBF, 0);
	if (size < 2)
		return 0;
	setup(d);
	nsaid = more_lines = overflow_lines = 0;
	memset(owner_lines, 0, sizeof(owner_lines));
	memset(owner_lines_want, 0, sizeof(owner_lines_want));
	shim_line_hook = on_line;
	d += 2, size -= 2;
	for (unsigned step = 0; size && step < 64; step++) {
		uint8_t a[OPBYTES] = {0};
		size_t k = MIN(size, (size_t)OPBYTES);
		memcpy(a, d, k);
		d += k, size -= k;
		const uint8_t *x = a + 1;
		switch (a[0] % 12) {
		case 0:
			op_create(x);
			break;
		case 1:
			op_map(x[0] % NOWN, sel_iova(x[1], le32(x + 2)),
			       sel_pa(x[6], (uint32_t)(x[7] | x[8] << 8)),
			       sel_len(x[9], x[10]), x[11] % 5);
			break;
		case 2:
			op_unmap(x[0] % NOWN, sel_iova(x[1], le32(x + 2)),
				 sel_len(x[6], x[7]));
			break;
		case 3: { /* a part of a live mapping, of any owner */
			unsigned v = x[1] % NOWN;
			uint64_t base = m.o[v].n
					    ? m.o[v].map[x[2] % m.o[v].n].iova
					    : any_iova();
			op_unmap(x[0] % NOWN,
				 base + (x[3] % 4) * PS +
				     (x[5] & 0x80 ? 0x800 : 0),
				 (x[4] % 8) * PS + (x[5] & 1 ? 0x10 : 0));
			break;
		}
		case 4:
			op_quarantine(x[0] % NOWN);
			break;
		case 5:
			op_resume(x[0] % NOWN);
			break;
		case 6:
			op_fault(x);
			break;
		case 7:
			op_poll();
			break;
		case 8:
			op_irq_alloc(x);
			break;
		case 9:
			op_irq_free(x);
			break;
		case 10:
			op_stop(x);
			break;
		default:
			/* x[11] from 0xf0: an unbind's domain teardown */
			if (x[11] >= 0xf0)
				op_destroy(x[0] % NOWN);
			else
				op_bme(x);
			break;
		}
		check();
	}
	shim_line_hook = NULL;
	fake_inv_hook = NULL;
	fake_flush_hook = NULL;
	fake_teardown();
	CHECK(shim_pages_in_use == pages0, "pages leaked: %lu",
	      shim_pages_in_use - pages0);
	return 0;
}
