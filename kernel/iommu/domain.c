/* kernel/iommu/domain.c — one VT-d domain per owner: a domain id, a context
 * entry for the owner's source id and second-level page tables (VT-d spec
 * §3.7, §9.3, §9.8) that map exactly the owner's DMA pools. Unmapping
 * invalidates the domain's IOTLB entries and waits for the unit to confirm
 * before the caller may reuse the pages (§6.5.3.3). Also the "iommu"
 * status provider (/api/iommu). */
#include "kernel/cpu/cpu.h"
#include "kernel/iommu/vtd_internal.h"
#include "kernel/iommu/vtd_reg.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"

#define VTD_IOVA_MSI_LO	 0xfee00000ull /* always an interrupt request */
#define VTD_IOVA_MSI_END 0xfef00000ull

struct vtd_domain *vtd_domain_of(uint16_t owner)
{
	for (unsigned i = 0; owner && i < VTD_MAX_DOMAINS; i++)
		if (vtd_domains[i].used && vtd_domains[i].owner == owner)
			return &vtd_domains[i];
	return NULL;
}

/* the context entry slot for sid, allocating its bus's context table */
static uint64_t *vtd_context(struct vtd_unit *u, uint16_t sid, bool alloc)
{
	uint64_t *root = (uint64_t *)u->root + 2 * (sid >> 8);
	if (!(root[0] & VTD_ROOT_P)) {
		if (!alloc)
			return NULL;
		uint64_t ct = page_alloc(1, 0);
		if (!ct)
			return NULL;
		vtd_flush(u, (void *)ct, PAGE_SIZE);
		root[1] = 0;
		root[0] = ct | VTD_ROOT_P;
		vtd_flush(u, root, 16);
	}
	uint64_t *ct = (uint64_t *)(root[0] & VTD_SL_ADDR_MASK);
	return ct + 2 * (sid & 0xff);
}

/* §9.3: translate (TT 00), faults reported (FPD 0), the domain's tables */
static int vtd_context_set(struct vtd_domain *dm, uint64_t *ce)
{
	ce[1] = (uint64_t)dm->u->aw << VTD_CTX_AW_SHIFT |
		(uint64_t)dm->did << VTD_CTX_DID_SHIFT;
	barrier();
	ce[0] = dm->pt | VTD_CTX_P;
	vtd_flush(dm->u, ce, 16);
	/* CM=1 units may cache the not-present entry, under domain id 0
	 * (§6.1): a device-selective context-cache flush with domain id 0,
	 * then a domain-selective IOTLB flush of the domain the entry names
	 * (as Linux's domain_context_mapping_one: QEMU 7.2's
	 * vtd_iotlb_domain_invalidate resyncs the shadow tables only of
	 * devices whose context entry holds that domain id, none holds 0);
	 * others that buffer writes see it after a write-buffer flush (§6.8) */
	if (dm->u->cap & VTD_CAP_CM)
		return vtd_inv_context(dm->u, dm->sid, 0, dm->did);
	return vtd_write_buffer_flush(dm->u);
}

static void vtd_ce_clear(struct vtd_unit *u, uint64_t *ce)
{
	ce[0] = 0;
	ce[1] = 0;
	vtd_flush(u, ce, 16);
}

/* 0, or -1 when the unit did not confirm the invalidation */
static int vtd_context_clear(struct vtd_domain *dm)
{
	uint64_t *ce = vtd_context(dm->u, dm->sid, false);
	if (ce)
		vtd_ce_clear(dm->u, ce);
	/* context cache and IOTLB of the domain id, waited for */
	return vtd_inv_context(dm->u, dm->sid, dm->did, dm->did);
}

static volatile uint32_t vtd_quarantines;

uint32_t iommu_quarantines(void)
{
	return vtd_quarantines;
}

void vtd_domain_quarantine(struct vtd_domain *dm)
{
	if (dm->quarantined) {
		/* a further fault (or quarantine asked for): something may
		 * have set Bus Master Enable since (pci_enable refuses a
		 * quarantined owner, but a device or a write outside it may
		 * still have set it). The context
		 * entry is clear already; the device is stopped again, so that
		 * it neither floods the fault records every owner shares nor
		 * signals. Said once a quarantine, the rest counted
		 * (bm_again, /api/iommu): a device that keeps setting it and
		 * faulting is not a line a fault */
		if (vtd_stop_sid(dm->u, dm->sid) && !dm->bm_again++)
			kprintf("iommu: owner %u quarantined already: bus "
				"mastering was on again; off (again counted)\n",
				dm->owner);
		return;
	}
	dm->quarantined = true;
	dm->bm_again = 0;
	vtd_quarantines++;
	vtd_stop_sid(dm->u, dm->sid);
	if (vtd_context_clear(dm) != 0) {
		dm->stop_unconfirmed = true;
		kprintf(
		    "iommu: owner %u quarantined: bus mastering off, context "
		    "entry cleared but its invalidation not confirmed; "
		    "nothing it mapped is given back\n",
		    dm->owner);
		return;
	}
	kprintf("iommu: owner %u quarantined: bus mastering off, context "
		"entry cleared\n",
		dm->owner);
}

bool iommu_owner_quarantined(uint16_t owner)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	return dm && dm->quarantined;
}

void iommu_owner_quarantine(uint16_t owner)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	if (dm)
		vtd_domain_quarantine(dm);
}

int iommu_owner_resume(uint16_t owner)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	if (!dm || dm->u->broken || dm->stop_unconfirmed)
		return -1;
	if (!dm->quarantined)
		return 0;
	uint64_t *ce = vtd_context(dm->u, dm->sid, false);
	if (!ce)
		return -1;
	/* the fault event is held off from the entry turning present to
	 * the flag's clearing: a fault of the resumed device in between was
	 * taken as one of the old quarantine (bus mastering off, counted)
	 * and the owner then ran on, its fault not acted on */
	uint64_t flags = cpu_irq_save();
	int r = vtd_context_set(dm, ce);
	if (r)
		/* unconfirmed (CM or RWBF): still quarantined, so no entry */
		vtd_ce_clear(dm->u, ce);
	else
		dm->quarantined = false;
	cpu_irq_restore(flags);
	if (r)
		return -1;
	kprintf("iommu: owner %u resumed\n", owner);
	return 0;
}

int iommu_domain_create(uint16_t owner, uint16_t seg, uint16_t sid)
{
	struct vtd_unit *u = vtd_unit_for_sid(seg, sid);
	struct vtd_domain *dm = NULL;
	if (!u || u->broken || !owner || vtd_domain_of(owner)) {
		kprintf("iommu: no domain for owner %u (%s)\n", owner,
			!u || u->broken ? "no working unit" : "bad owner");
		return -1;
	}
	unsigned free = VTD_MAX_DOMAINS;
	for (unsigned i = 0; i < VTD_MAX_DOMAINS; i++) {
		struct vtd_domain *o = &vtd_domains[i];
		if (o->used && o->u == u && o->sid == sid) {
			/* functions behind one conventional bridge share a
			 * requester id: the IOMMU cannot tell them apart */
			kprintf("iommu: owner %u: source id %04x already "
				"belongs to owner %u; not isolable\n",
				owner, sid, o->owner);
			return -1;
		}
		/* a slot whose creation went unconfirmed keeps its table
		 * page (and its domain id) withheld: never reused */
		if (!o->used && !o->pt && free == VTD_MAX_DOMAINS)
			free = i;
	}
	/* domain id = slot + 1: never 0, unique per unit */
	if (free == VTD_MAX_DOMAINS || free + 1 >= u->ndid) {
		kprintf("iommu: owner %u: out of domains\n", owner);
		return -1;
	}
	dm = &vtd_domains[free];
	memset(dm, 0, sizeof(*dm));
	dm->pt = page_alloc(1, 0);
	uint64_t *ce = dm->pt ? vtd_context(u, sid, true) : NULL;
	if (!ce || (ce[0] & VTD_CTX_P)) {
		if (dm->pt)
			page_free(dm->pt, 1);
		dm->pt = 0;
		kprintf("iommu: owner %u: unable to set context for %04x\n",
			owner, sid);
		return -1;
	}
	vtd_flush(u, (void *)dm->pt, PAGE_SIZE);
	dm->ptpages = 1; /* the top-level table */
	dm->u = u;
	dm->owner = owner;
	dm->sid = sid;
	dm->did = (uint16_t)(free + 1);
	/* the fault event is held off from the slot's use to the entry's
	 * write: a fault of this source in between quarantined the domain
	 * (entry cleared), then the entry was written present */
	uint64_t flags = cpu_irq_save();
	dm->used = true;
	int r = vtd_context_set(dm, ce);
	if (r) {
		/* unconfirmed (CM or RWBF; the unit is given up): the entry
		 * goes again, and the table page stays withheld in the slot, as
		 * the unit may have cached a pointer to it */
		vtd_ce_clear(u, ce);
		dm->used = false;
	}
	cpu_irq_restore(flags);
	if (r)
		return -1;
	kprintf("iommu: owner %u domain %u sid %02x:%02x.%u on unit %u "
		"(%u-level, %u-bit)\n",
		owner, dm->did, sid >> 8, (sid >> 3) & 0x1f, sid & 7,
		(unsigned)(u - vtd_units), u->levels, u->agaw);
	return 0;
}

/* the table pages under table, a level-`level` table (leaf pages are the
 * owner's memory, not the domain's: never freed here) */
static void vtd_tables_free(uint64_t table, unsigned level)
{
	const uint64_t *t = (const uint64_t *)table;
	for (unsigned i = 0; level > 1 && i < 512; i++)
		if (t[i] & (VTD_SL_R | VTD_SL_W))
			vtd_tables_free(t[i] & VTD_SL_ADDR_MASK, level - 1);
	page_free(table, 1);
}

int iommu_domain_destroy(uint16_t owner)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	if (!dm)
		return -1;
	/* interrupt entries its owner did not give back go first (each
	 * invalidated in the interrupt entry cache) */
	for (unsigned i = 0; dm->irtes && i < VTD_IRT_ENTRIES; i++)
		if (dm->u->irte_owner[i] == owner)
			iommu_irq_free(owner, (uint16_t)i);
	/* the context entry (clear already when quarantined), then the
	 * context cache and the IOTLB of the domain id, waited for: only then
	 * is nothing of the tables cached (§6.5.3.3) */
	uint64_t *ce = vtd_context(dm->u, dm->sid, false);
	if (ce)
		vtd_ce_clear(dm->u, ce);
	int r = vtd_inv_context(dm->u, dm->sid, dm->did, dm->did);
	dm->used = false;
	if (r != 0 || dm->stop_unconfirmed) {
		/* the unit may still hold the tables (and the domain id):
		 * they stay in the slot, withheld, and the slot is never
		 * reused (iommu_domain_create takes only a slot with no
		 * table) */
		kprintf("iommu: owner %u domain %u: teardown not confirmed; "
			"%lu table pages and the domain id withheld\n",
			owner, dm->did, dm->ptpages);
		return IOMMU_UNCONFIRMED;
	}
	vtd_tables_free(dm->pt, dm->u->levels);
	kprintf("iommu: owner %u domain %u torn down (%lu table pages freed, "
		"%lu leaf pages were still mapped)\n",
		owner, dm->did, dm->ptpages, dm->pages);
	memset(dm, 0, sizeof(*dm)); /* slot and domain id free again */
	return 0;
}

uint64_t iommu_domain_table_pages(uint16_t owner)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	return dm ? dm->ptpages : 0;
}

bool iommu_owner_translated(uint16_t owner)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	return dm && !dm->u->broken;
}

uint64_t iommu_addr_limit(uint16_t owner)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	return dm ? 1ull << dm->u->agaw : 0;
}

/* the leaf entry for iova, walking (and with alloc, building) the levels;
 * NULL without alloc where a level is absent, *span then the bytes of
 * address space the absent entry covers (none of it is mapped) */
static uint64_t *vtd_pte(struct vtd_domain *dm, uint64_t iova, bool alloc,
			 uint64_t *span)
{
	uint64_t *t = (uint64_t *)dm->pt;
	for (unsigned l = dm->u->levels; l > 1; l--) {
		unsigned shift = 12 + 9 * (l - 1);
		uint64_t *e = &t[(iova >> shift) & 511];
		if (!(*e & (VTD_SL_R | VTD_SL_W))) {
			if (!alloc) {
				*span = 1ull << shift;
				return NULL;
			}
			uint64_t p = page_alloc(1, 0);
			if (!p)
				return NULL;
			vtd_flush(dm->u, (void *)p, PAGE_SIZE);
			/* non-leaf R|W: access is the AND over levels */
			*e = p | VTD_SL_R | VTD_SL_W;
			vtd_flush(dm->u, e, 8);
			dm->ptpages++;
		}
		t = (uint64_t *)(*e & VTD_SL_ADDR_MASK);
	}
	return &t[(iova >> 12) & 511];
}

/* clear the leaf entries of [iova, iova+len), below 2^AGAW; a span no
 * table reaches is stepped over whole, so the walk is bounded by the
 * tables the domain holds, not by len (2^36 pages below 2^48) */
static void vtd_clear(struct vtd_domain *dm, uint64_t iova, size_t len)
{
	for (uint64_t a = iova, span; a < iova + len;
	     a = ALIGN_DOWN(a, span) + span) {
		span = PAGE_SIZE;
		uint64_t *pte = vtd_pte(dm, a, false, &span);
		if (pte && *pte) {
			*pte = 0;
			vtd_flush(dm->u, pte, 8);
			dm->pages--;
		}
	}
}

/* iommu_map's refusals, a bit a reason in struct vtd_domain's map_said:
 * each said once per owner, every one counted (/api/iommu maps_refused,
 * and the domain's); an owner with no domain is said at refusals 1, 2, 4,
 * ... of those */
#define VTD_MAP_UNIT   1u /* its unit was given up */
#define VTD_MAP_RANGE  2u /* unaligned, empty, out of range, bad perm */
#define VTD_MAP_MAPPED 4u /* a page of the range mapped already */
#define VTD_MAP_NOMEM  8u /* no page for a table */
static uint64_t vtd_maps_refused, vtd_maps_no_domain;

static void vtd_map_refused(struct vtd_domain *dm, uint16_t owner, unsigned why,
			    uint64_t iova, size_t len)
{
	static const char *const name[] = {
	    "unit given up", "bad range or permission", "already mapped",
	    "no memory for a table"};
	vtd_maps_refused++;
	if (!dm) {
		if (line_due(++vtd_maps_no_domain))
			kprintf("iommu: owner %u: map 0x%lx+0x%zx refused (no "
				"domain; %lu such)\n",
				owner, iova, len, vtd_maps_no_domain);
		return;
	}
	dm->maps_refused++;
	if (dm->map_said & why)
		return;
	dm->map_said |= why;
	kprintf("iommu: owner %u: map 0x%lx+0x%zx refused (%s; again "
		"counted)\n",
		owner, iova, len, name[__builtin_ctz(why)]);
}

int iommu_map(uint16_t owner, uint64_t iova, uint64_t pa, size_t len,
	      unsigned perm)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	if (!dm || dm->u->broken) {
		vtd_map_refused(dm, owner, VTD_MAP_UNIT, iova, len);
		return -1;
	}
	if (!len || !perm || (perm & ~3u) ||
	    ((iova | pa | len) & (PAGE_SIZE - 1)) || iova < PAGE_SIZE ||
	    iova + len > (1ull << dm->u->agaw) || iova + len < iova ||
	    pa + len > (1ull << dm->u->haw) || pa + len < pa ||
	    (iova < VTD_IOVA_MSI_END && iova + len > VTD_IOVA_MSI_LO)) {
		vtd_map_refused(dm, owner, VTD_MAP_RANGE, iova, len);
		return -1;
	}
	uint64_t bits = ((perm & IOMMU_READ) ? VTD_SL_R : 0) |
			((perm & IOMMU_WRITE) ? VTD_SL_W : 0);
	for (size_t off = 0; off < len; off += PAGE_SIZE) {
		uint64_t *pte = vtd_pte(dm, iova + off, true, NULL);
		if (!pte || *pte) {
			/* out of table pages, or a second mapping of the
			 * same iova: undo what this call did. Entries it
			 * made present may be cached until the unit confirms
			 * their invalidation */
			vtd_clear(dm, iova, off);
			bool live = vtd_inv_domain(dm->u, dm->did) && off;
			vtd_map_refused(dm, owner,
					pte ? VTD_MAP_MAPPED : VTD_MAP_NOMEM,
					iova + off, len - off);
			return live ? IOMMU_UNCONFIRMED : -1;
		}
		*pte = ((pa + off) & VTD_SL_ADDR_MASK) | bits;
		vtd_flush(dm->u, pte, 8);
		dm->pages++;
	}
	/* not-present to present needs no invalidation unless the unit
	 * caches not-present entries (CM=1, §6.1), else a write-buffer flush
	 * where the unit buffers writes (RWBF, §6.8); unconfirmed, the map
	 * fails and takes its entries back (the unit is given up by then),
	 * but the unit may have cached them meanwhile */
	if ((dm->u->cap & VTD_CAP_CM) ? vtd_inv_domain(dm->u, dm->did)
				      : vtd_write_buffer_flush(dm->u)) {
		vtd_clear(dm, iova, len);
		return IOMMU_UNCONFIRMED;
	}
	return 0;
}

int iommu_unmap(uint16_t owner, uint64_t iova, size_t len)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	if (!dm)
		return -1;
	/* every page [iova, iova+len) touches, a range past 2^64 running to
	 * the end, below 2^AGAW: a walk of a higher iova would land on the
	 * entry of a lower one (the levels ignore the bits above) */
	uint64_t lim = 1ull << dm->u->agaw;
	uint64_t start = ALIGN_DOWN(iova, PAGE_SIZE);
	uint64_t end = iova + len < iova ? lim : MIN(iova + len, lim);
	if (len && start < end)
		vtd_clear(dm, start, ALIGN_UP(end, PAGE_SIZE) - start);
	/* the pages may be reused only after the unit says no cached
	 * translation of them is left, and never after a quarantine whose
	 * invalidation it did not confirm (the old context entry may still
	 * point it at them) */
	return vtd_inv_domain(dm->u, dm->did) || dm->stop_unconfirmed
		   ? IOMMU_UNCONFIRMED
		   : 0;
}

uint64_t iommu_fault_count(uint16_t owner, struct iommu_fault *last)
{
	struct vtd_domain *dm = vtd_domain_of(owner);
	if (!dm)
		return 0;
	if (last)
		*last = dm->last;
	return dm->faults;
}

/* ---- /api/iommu ---------------------------------------------------------- */
static void iommu_status(struct json *j)
{
	json_obj(j);
	json_karr(j, "units");
	for (unsigned i = 0; i < vtd_nunits; i++) {
		const struct vtd_unit *u = &vtd_units[i];
		json_obj(j);
		json_kstrf(j, "base", "0x%lx", u->base);
		json_kbool(j, "up", u->up);
		json_kbool(j, "broken", u->broken);
		json_kstr(j, "reason", u->why ? u->why : "");
		json_kstrf(j, "cap", "0x%lx", u->cap);
		json_kstrf(j, "ecap", "0x%lx", u->ecap);
		json_ku64(j, "levels", u->levels);
		json_ku64(j, "address_bits", u->agaw);
		json_kbool(j, "interrupt_remapping", u->ir);
		json_ku64(j, "fault_irqs", u->fault_irqs);
		json_ku64(j, "faults", u->faults);
		json_ku64(j, "faults_unowned", u->faults_unowned);
		json_ku64(j, "fault_overflows", u->overflows);
		json_ku64(j, "waits", u->waits);
		json_ku64(j, "iotlb_invalidations", u->iotlb_invs);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_karr(j, "domains");
	for (unsigned i = 0; i < VTD_MAX_DOMAINS; i++) {
		const struct vtd_domain *d = &vtd_domains[i];
		if (!d->used)
			continue;
		json_obj(j);
		json_ku64(j, "owner", d->owner);
		json_ku64(j, "domain", d->did);
		json_kstrf(j, "sid", "%02x:%02x.%u", d->sid >> 8,
			   (d->sid >> 3) & 0x1f, d->sid & 7);
		json_ku64(j, "mapped_pages", d->pages);
		json_ku64(j, "table_pages", d->ptpages);
		json_ku64(j, "irtes", d->irtes);
		json_kbool(j, "quarantined", d->quarantined);
		json_ku64(j, "bus_master_again", d->bm_again);
		json_ku64(j, "maps_refused", d->maps_refused);
		json_ku64(j, "irqs_refused", d->irqs_refused);
		json_ku64(j, "faults", d->faults);
		if (d->faults) {
			json_kobj(j, "last_fault");
			json_kstrf(j, "addr", "0x%lx", d->last.addr);
			json_ku64(j, "reason", d->last.reason);
			json_kbool(j, "write", d->last.write);
			json_obj_end(j);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
	/* table pages of domains whose creation went unconfirmed: the unit
	 * may hold a pointer to them, so they never go back */
	uint64_t withheld = 0;
	for (unsigned i = 0; i < VTD_MAX_DOMAINS; i++)
		if (!vtd_domains[i].used)
			withheld += vtd_domains[i].ptpages;
	json_ku64(j, "withheld_table_pages", withheld);
	json_ku64(j, "maps_refused", vtd_maps_refused);
	json_ku64(j, "irqs_refused", vtd_irqs_refused);
	json_obj_end(j);
}
STATUS_REGISTER("iommu", iommu_status);
