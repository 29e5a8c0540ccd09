/* tests/host/shim/iommu.c — kernel/iommu/iommu.h for host tests that link
 * the real authority layer. Every function is in scope; one owner,
 * shim_iommu_owner, is translated (0: none) — a test sets it, or
 * iommu_domain_create does when the owner table binds an owner with the
 * IOMMU backend. Its mappings are kept page by page, with the permissions
 * asked (shim_iommu_perm), so a test sees what the DMA pool code mapped and
 * unmapped. A second map of a mapped page or an unmap
 * of an unmapped one counts in shim_iommu_violations; with
 * shim_iommu_fail_unmap set, unmap reports the unit did not confirm
 * (IOMMU_UNCONFIRMED); with shim_iommu_refuse_unmap set, it unmaps and says
 * -1, as the real one says for an owner with no domain; with
 * shim_iommu_fail_map set, a map of two pages or more fails part-way, and
 * its undo is not confirmed either when shim_iommu_fail_unmap is set. */
#include "kernel/iommu/iommu.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "shim.h"

uint16_t shim_iommu_owner;
unsigned shim_iommu_violations;
bool shim_iommu_fail_unmap;
bool shim_iommu_refuse_unmap;
bool shim_iommu_fail_map;
uint64_t shim_iommu_failed_pa;
bool shim_iommu_quarantined;

#define SHIM_IOMMU_PAGES 8192
static uint64_t mapped[SHIM_IOMMU_PAGES]; /* iova | 1 */
static uint8_t perms[SHIM_IOMMU_PAGES];	  /* as iommu_map was asked */
/* entries at or past used have never held a page; nmapped hold one now
 * (the lookups stay short: a fuzzer maps and unmaps on every step) */
static unsigned used, nmapped;

static uint64_t *slot(uint64_t iova, bool want_free)
{
	for (unsigned i = 0; i < used; i++)
		if (want_free ? !mapped[i] : mapped[i] == (iova | 1))
			return &mapped[i];
	return want_free && used < SHIM_IOMMU_PAGES ? &mapped[used++] : NULL;
}

unsigned shim_iommu_mapped(void)
{
	return nmapped;
}

unsigned shim_iommu_perm(uint64_t iova)
{
	uint64_t *s = slot(iova & ~(uint64_t)(PAGE_SIZE - 1), false);
	return s ? perms[s - mapped] : 0;
}

bool shim_iommu_unit_failed;

enum iommu_scope iommu_scope(const struct pci_dev *d, uint16_t *sid,
			     const char **why)
{
	*sid = d ? (uint16_t)(d->bus << 8 | d->dev << 3 | d->fn) : 0;
	if (why)
		*why = shim_iommu_unit_failed ? "unit failed" : "in scope";
	return shim_iommu_unit_failed ? IOMMU_UNIT_FAILED : IOMMU_IN_SCOPE;
}

int iommu_domain_create(uint16_t owner, uint16_t seg, uint16_t sid)
{
	(void)seg, (void)sid;
	if (shim_iommu_owner)
		return -1; /* the shim translates one owner */
	shim_iommu_owner = owner;
	return 0;
}

/* the domain goes: its owner translated no more. Pages still mapped stay
 * in the table (the caller withholds them: a later map of one is a
 * violation); with shim_iommu_fail_unmap set the teardown is not
 * confirmed either */
unsigned shim_iommu_destroyed;
/* the table pages the translated owner's domain holds: the top-level one
 * and one more a level for each 1 GiB, 2 MiB run a test's pools touched
 * are not modelled; a test sets how many (default 1) */
uint64_t shim_iommu_table_pages = 1;
uint64_t iommu_domain_table_pages(uint16_t owner)
{
	return owner && owner == shim_iommu_owner ? shim_iommu_table_pages : 0;
}
int iommu_domain_destroy(uint16_t owner)
{
	if (!owner || owner != shim_iommu_owner)
		return -1;
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
	shim_iommu_destroyed++;
	return shim_iommu_fail_unmap ? IOMMU_UNCONFIRMED : 0;
}

uint64_t iommu_addr_limit(uint16_t owner)
{
	return owner && owner == shim_iommu_owner ? 1ull << 39 : 0;
}

int iommu_map(uint16_t owner, uint64_t iova, uint64_t pa, size_t len,
	      unsigned perm)
{
	if (!iommu_addr_limit(owner))
		return -1;
	for (uint64_t a = iova; a < iova + len; a += PAGE_SIZE) {
		uint64_t *s = slot(a, false);
		if (s) {
			shim_iommu_violations++;
			continue;
		}
		s = slot(a, true);
		if (!s)
			return -1;
		*s = a | 1;
		perms[s - mapped] = (uint8_t)perm;
		nmapped++;
		if (shim_iommu_fail_map && len > PAGE_SIZE) {
			/* part-way: the first page mapped, then undone */
			shim_iommu_failed_pa = pa;
			*s = 0;
			nmapped--;
			return shim_iommu_fail_unmap ? IOMMU_UNCONFIRMED : -1;
		}
	}
	return 0;
}

int iommu_unmap(uint16_t owner, uint64_t iova, size_t len)
{
	if (!iommu_addr_limit(owner))
		return -1;
	for (uint64_t a = iova; a < iova + len; a += PAGE_SIZE) {
		uint64_t *s = slot(a, false);
		if (s) {
			*s = 0;
			nmapped--;
		} else
			shim_iommu_violations++;
	}
	if (shim_iommu_refuse_unmap)
		return -1;
	return shim_iommu_fail_unmap ? IOMMU_UNCONFIRMED : 0;
}

/* a fault quarantines the translated owner: a test calls shim_iommu_fault,
 * as the fault interrupt would */
static uint32_t quarantines;
void shim_iommu_fault(void)
{
	shim_iommu_quarantined = true;
	quarantines++;
}

bool shim_iommu_fault_left;
unsigned iommu_fault_retake(void)
{
	if (!shim_iommu_fault_left)
		return 0;
	shim_iommu_fault_left = false;
	shim_iommu_fault();
	return 1;
}

uint32_t iommu_quarantines(void)
{
	return quarantines;
}

bool iommu_owner_quarantined(uint16_t owner)
{
	return owner && owner == shim_iommu_owner && shim_iommu_quarantined;
}

void iommu_owner_quarantine(uint16_t owner)
{
	if (owner && owner == shim_iommu_owner && !shim_iommu_quarantined)
		shim_iommu_fault();
}

int iommu_owner_resume(uint16_t owner)
{
	if (!owner || owner != shim_iommu_owner)
		return -1;
	shim_iommu_quarantined = false;
	return 0;
}
