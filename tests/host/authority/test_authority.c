/* tests/host/authority/test_authority.c — the authority layer's owner table
 * and DMAPool (kernel/authority/owner.c, dmapool.c, auth.c over dma/owner.c
 * and dma/grant.c) as the kernel builds them, over the page shim
 * (tests/host/shim/pages.c): binding, the DMA limit and when it may still
 * narrow, the per-owner quotas, revoke while pinned, carve bounds, kernel
 * memory, and the refusal names and counters. Each test takes owner ids of
 * its own: the table keeps owners for the life of the process. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth_devs.h"
#include "kernel/cpu/cpu.h"
#include "kernel/devmgr/shape.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "owner_shim.h"
#include "shim.h"
#include "tests/host/lib/status_render.h"

static uint64_t refused(enum auth_reason r)
{
	return auth_refusals[r];
}

static struct dma_owner *owner_acct(uint16_t owner)
{
	struct dma_owner *o = dma_owner_acct(owner);
	assert_non_null(o);
	return o;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- the owner table ------------------------------------------------------
 */
static void test_bind(void **st)
{
	struct auth_owner_facts f = {.backend = DMA_BACKEND_UNVALIDATED,
				     .dma_limit = 1ull << 40};
	assert_int_equal(auth_owner_bind(0, &f), -1); /* 0 names no owner */
	assert_null(auth_owner_facts(10));
	assert_null(dma_owner_acct(10));
	assert_int_equal(auth_owner_bind(10, &f), 0);
	assert_int_equal(auth_owner_bind(10, &f), -1); /* id in use */
	const struct auth_owner_facts *got = auth_owner_facts(10);
	assert_non_null(got);
	assert_int_equal(got->backend, DMA_BACKEND_UNVALIDATED);
	assert_int_equal(got->dma_limit, 1ull << 40);
	assert_int_equal(auth_owner_dma_limit(10), 1ull << 40);
	/* default quotas from dma/owner.h */
	assert_int_equal(owner_acct(10)->max[DMA_CHARGE_POOL],
			 DMA_OWNER_POOL_MAX);
	assert_int_equal(owner_acct(10)->max[DMA_CHARGE_KMEM],
			 DMA_OWNER_KMEM_MAX);

	/* an owner nobody bound gets nothing */
	struct dma_pool p;
	uint64_t nomem = refused(AUTH_NO_MEMORY);
	assert_int_equal(dma_pool_create(11, PAGE_SIZE, 0, &p), -1);
	assert_int_equal(refused(AUTH_NO_MEMORY), nomem + 1);
	assert_false(dma_pool_live(&p));
	assert_null(auth_kmem_alloc(11, 64));
	assert_int_equal(auth_owner_limit(11, 1ull << 32), -1);
}

/* the table holds AUTH_OWNER_MAX owners; the next is refused, not lost */
static void test_table_full(void **st)
{
	struct auth_owner_facts f = {.backend = DMA_BACKEND_UNVALIDATED};
	unsigned before = 0, bound = 0;
	for (unsigned id = 1; id < 1000; id++) /* earlier tests' owners */
		before += auth_owner_facts((uint16_t)id) != NULL;
	assert_true(before > 0);
	for (unsigned id = 1000; id < 1000 + AUTH_OWNER_MAX; id++)
		bound += auth_owner_bind((uint16_t)id, &f) == 0;
	assert_int_equal(before + bound, AUTH_OWNER_MAX);
	assert_int_equal(auth_owner_bind(2000, &f), -1);
	assert_null(auth_owner_facts(2000));
}

/* the limit narrows until the owner's memory exists, then it is fixed;
 * every pool lies below it, whatever the driver asked */
static void test_limit(void **st)
{
	const uint16_t o = 20;
	const uint64_t lim = 0x20000000; /* in the shim's low window */
	struct dma_pool p, q;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_VALIDATOR, 0), 0);
	assert_true(auth_owner_facts(o)->brokered);
	assert_int_equal(auth_owner_limit(o, 0), -1); /* 0 is no limit */
	assert_int_equal(auth_owner_limit(o, 1ull << 48), 0); /* Amazon */
	assert_int_equal(auth_owner_dma_limit(o), 1ull << 48);
	assert_int_equal(auth_owner_limit(o, lim), 0);
	assert_int_equal(auth_owner_dma_limit(o), lim);
	/* wider than what holds: nothing changes, nothing refused */
	assert_int_equal(auth_owner_limit(o, 1ull << 48), 0);
	assert_int_equal(auth_owner_dma_limit(o), lim);

	/* the driver asks for no limit, or a wider one: the owner's binds */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(
		    dma_pool_create(o, 64 << 10, i & 1 ? 1ull << 52 : 0, &p),
		    0);
		assert_true(p.iova + p.len <= lim);
		assert_int_equal(dma_pool_revoke(&p), 0);
	}
	/* a narrower one of the driver's own binds too */
	uint64_t mine = 0x10100000;
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, mine, &p), 0);
	assert_true(p.iova + p.len <= mine);

	/* memory exists: narrowing is refused, the limit stays */
	assert_int_equal(auth_owner_limit(o, lim / 2), -1);
	assert_int_equal(auth_owner_dma_limit(o), lim);
	assert_int_equal(dma_pool_revoke(&p), 0);
	/* shadow memory the NVMe gate charged counts as memory too */
	assert_true(
	    dma_owner_charge(owner_acct(o), DMA_CHARGE_SHADOW, PAGE_SIZE));
	assert_int_equal(auth_owner_limit(o, lim / 2), -1);
	dma_owner_uncharge(owner_acct(o), DMA_CHARGE_SHADOW, PAGE_SIZE);
	/* all of it given back: the limit may narrow again */
	assert_int_equal(auth_owner_limit(o, lim / 2), 0);

	/* no memory below a limit under every page: refused, nothing kept */
	assert_int_equal(shim_owner_bind(21, DMA_BACKEND_UNVALIDATED, 0), 0);
	uint64_t nomem = refused(AUTH_NO_MEMORY);
	assert_int_equal(dma_pool_create(21, PAGE_SIZE, 0x100000, &q), -1);
	assert_int_equal(refused(AUTH_NO_MEMORY), nomem + 1);
	assert_int_equal(owner_acct(21)->use[DMA_CHARGE_POOL], 0);
	assert_int_equal(dma_owner_ngrants(owner_acct(21)), 0);
	assert_int_equal(auth_owner_limit(21, 0x100000), 0); /* still free */
}

/* Memory an owner no longer uses but still holds fixes its limit too: a
 * pool its revocation seized (parked until the driver gives it back) and
 * a pool the IOMMU did not confirm unmapped (withheld, its translation
 * perhaps still in the device's reach) are charged to it, above the
 * narrower limit. Before, only live pools counted and the limit narrowed
 * under them (found by fuzz_authority_seq). */
static void test_limit_held_memory(void **st)
{
	const uint16_t o = 27, u = 28;
	struct dma_pool p;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p), 0);
	assert_true(p.iova >> 32); /* above the limit it will ask for */
	assert_int_equal(auth_owner_revoke(o, "test"), 1); /* parked */
	assert_int_equal(auth_owner_limit(o, 1ull << 32), -1);
	assert_int_equal(auth_owner_dma_limit(o), 0);
	assert_int_equal(dma_pool_revoke(&p), 0); /* given back */
	assert_int_equal(auth_owner_limit(o, 1ull << 32), 0);
	assert_int_equal(auth_owner_reinstate(o), 0);

	static struct pci_dev dev = {.bus = 0, .dev = 11};
	shim_iommu_owner = 0;
	assert_int_equal(shim_owner_bind_fn(u, &dev, DMA_BACKEND_IOMMU), 0);
	assert_int_equal(dma_pool_create(u, PAGE_SIZE, 0, &p), 0);
	shim_iommu_fail_unmap = true;
	assert_int_equal(dma_pool_revoke(&p), -1); /* withheld */
	shim_iommu_fail_unmap = false;
	assert_int_equal(dma_owner_ngrants(owner_acct(u)), 0);
	assert_int_equal(owner_acct(u)->use[DMA_CHARGE_POOL], PAGE_SIZE);
	assert_int_equal(auth_owner_limit(u, p.iova), -1);
	assert_int_equal(auth_owner_dma_limit(u), 0);
	shim_iommu_owner = 0;
}

/* Identity before memory, as kernel/devmgr/devmgr.c devmgr_own does it: an
 * NVMe function whose PCI IDs the shape table does not know (a new Amazon
 * device ID, say) on an unknown platform binds with no limit;
 * the broker's Identify then reads Amazon's model string, the classifier
 * (kernel/devmgr/shape.c) answers 2^48, and the owner is narrowed before
 * its first pool, so every pool obeys the limit. Narrowing after a pool
 * exists is refused: no pool can predate its owner's limit. */
static void test_identity_before_memory(void **st)
{
	const uint16_t o = 25;
	struct shape_dev dev = {.vendor = SHAPE_PCI_AMAZON,
				.device = 0x7fff,
				.class_code = SHAPE_PCI_CLASS_NVME};
	struct shape_result r;
	shape_classify(&dev, SHAPE_PLAT_UNKNOWN, &r);
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_VALIDATOR, r.dma_limit),
			 0);
	assert_int_equal(auth_owner_dma_limit(o), 0);
	dev.model = "Amazon Elastic Block Store";
	dev.serial = "vol0123456789abcdef0";
	shape_classify(&dev, SHAPE_PLAT_UNKNOWN, &r);
	assert_int_equal(r.dma_limit, SHAPE_DMA_LIMIT_48);
	assert_int_equal(auth_owner_limit(o, r.dma_limit), 0);
	struct dma_pool p[4];
	for (int i = 0; i < 4; i++) {
		assert_int_equal(dma_pool_create(o, 64 << 10, 0, &p[i]), 0);
		assert_true(p[i].iova + p[i].len <= SHAPE_DMA_LIMIT_48);
	}
	/* the old order, a pool before the model is known: refused */
	const uint16_t late = 26;
	struct dma_pool q;
	assert_int_equal(shim_owner_bind(late, DMA_BACKEND_VALIDATOR, 0), 0);
	assert_int_equal(dma_pool_create(late, PAGE_SIZE, 0, &q), 0);
	assert_int_equal(auth_owner_limit(late, SHAPE_DMA_LIMIT_48), -1);
	assert_int_equal(auth_owner_dma_limit(late), 0);
	assert_int_equal(dma_pool_revoke(&q), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(dma_pool_revoke(&p[i]), 0);
}

/* ---- DMAPool --------------------------------------------------------------
 */
static void test_pool(void **st)
{
	const uint16_t o = 30;
	struct dma_pool p;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	assert_int_equal(dma_pool_create(o, 3 * PAGE_SIZE + 1, 0, &p), 0);
	assert_true(dma_pool_live(&p));
	assert_int_equal(p.len, 4 * PAGE_SIZE); /* whole pages */
	assert_int_equal(p.iova % PAGE_SIZE, 0);
	assert_int_equal((uint64_t)(uintptr_t)p.va, p.iova); /* identity */
	assert_true(p.iova >> 32); /* the shim's high window: no limit */
	assert_int_equal(p.owner, o);
	assert_true(all_zero(p.va, p.len));
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 4 * PAGE_SIZE);
	/* the owner's table covers exactly the pool */
	assert_true(dma_owner_covers(o, p.iova, p.len));
	assert_false(dma_owner_covers(o, p.iova, p.len + 1));
	assert_false(dma_owner_covers(o, p.iova - 1, 2));
	assert_false(dma_owner_covers(31, p.iova, 1)); /* nor anyone else */
	memset(p.va, 0xa5, p.len); /* the owner may write all of it */
	assert_int_equal(dma_pool_revoke(&p), 0);
	assert_false(dma_pool_live(&p));
	assert_false(dma_owner_covers(o, p.iova, 1));
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 0);
	/* once only: a second revoke is a stale capability */
	uint64_t stale = refused(AUTH_STALE_GEN);
	assert_int_equal(dma_pool_revoke(&p), -1);
	assert_int_equal(refused(AUTH_STALE_GEN), stale + 1);
	/* a zero-length pool is no pool */
	assert_int_equal(dma_pool_create(o, 0, 0, &p), -1);
	/* memory comes back zeroed whoever wrote it before */
	assert_int_equal(dma_pool_create(o, 64 * PAGE_SIZE, 0, &p), 0);
	assert_true(all_zero(p.va, p.len));
	assert_int_equal(dma_pool_revoke(&p), 0);
}

/* under an IOMMU (the shim's, tests/host/shim/iommu.c) a pool is mapped at
 * its iova below the domain's width when it is made and unmapped before its
 * pages go back; a pool whose unmap the unit does not confirm is withheld:
 * not freed, still charged */
static void test_pool_under_iommu(void **st)
{
	const uint16_t o = 32;
	struct dma_pool p, q;
	static struct pci_dev dev = {.bus = 0, .dev = 3};
	struct auth_owner_facts f = {.backend = DMA_BACKEND_IOMMU};
	/* the IOMMU backend needs a function to make the domain for */
	assert_int_equal(auth_owner_bind(34, &f), -1);
	shim_iommu_owner = 0;
	/* the domain is made */
	assert_int_equal(shim_owner_bind_fn(o, &dev, DMA_BACKEND_IOMMU), 0);
	assert_int_equal(shim_iommu_owner, o);
	assert_true(dma_owner_translated(o));
	assert_false(dma_owner_translated(33));
	assert_int_equal(dma_pool_create(o, 3 * PAGE_SIZE, 0, &p), 0);
	assert_true(p.iova + p.len <= 1ull << 39);
	assert_int_equal(shim_iommu_mapped(), 3);
	assert_int_equal(dma_pool_revoke(&p), 0);
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 0);
	/* the unit stops confirming: the pages are kept, and stay charged */
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &q), 0);
	shim_iommu_fail_unmap = true;
	assert_int_equal(dma_pool_revoke(&q), -1);
	assert_false(dma_pool_live(&q));
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], PAGE_SIZE);
	assert_int_equal(shim_iommu_violations, 0);
	shim_iommu_fail_unmap = false;
	shim_iommu_owner = 0;
}

/* Kernel pages mapped for a device (dma_kernel_alloc: the NVMe broker's
 * shadows) go back only once the unit confirms their unmap; when it does
 * not, dma_kernel_free keeps them out and says so (-1), so that the gate,
 * which charged them to the owner, keeps the charge
 * (tests/host/validator/test_gate.c + t_shadow_withheld_stays_charged).
 * Before, it returned nothing and the gate had uncharged them already. */
static void test_kernel_dma_withheld(void **st)
{
	const uint16_t o = 76;
	static struct pci_dev dev = {.bus = 0, .dev = 14};
	shim_iommu_owner = 0;
	assert_int_equal(shim_owner_bind_fn(o, &dev, DMA_BACKEND_IOMMU), 0);
	uint64_t out = shim_pages_in_use;
	uint64_t pa = dma_kernel_alloc(o, 2, 0, IOMMU_READ);
	assert_true(pa);
	assert_int_equal(shim_iommu_perm(pa + PAGE_SIZE), IOMMU_READ);
	assert_int_equal(dma_kernel_free(o, pa, 2), 0);
	assert_int_equal(shim_pages_in_use, out);
	pa = dma_kernel_alloc(o, 2, 0, IOMMU_READ | IOMMU_WRITE);
	assert_true(pa);
	shim_iommu_fail_unmap = true;
	assert_int_equal(dma_kernel_free(o, pa, 2), -1);
	shim_iommu_fail_unmap = false;
	assert_int_equal(shim_pages_in_use, out + 2); /* withheld */
	assert_int_equal(shim_iommu_mapped(), 0);
	/* an owner without a domain: nothing to confirm */
	assert_int_equal(shim_owner_bind(86, DMA_BACKEND_VALIDATOR, 0), 0);
	assert_false(dma_owner_translated(86));
	uint64_t tp = dma_kernel_alloc(86, 1, 0, IOMMU_READ);
	assert_true(tp);
	assert_int_equal(dma_kernel_free(86, tp, 1), 0);
	page_free(pa, 2); /* the test's, not the layer's */
	assert_int_equal(shim_iommu_violations, 0);
	shim_iommu_owner = 0;
}

/* iommu_unmap's -1 is a plain error (no domain: nothing of the owner is
 * mapped, no translation to wait for), not an unconfirmed invalidation
 * (IOMMU_UNCONFIRMED): a pool revoked, a pool seized by the owner's
 * revocation and kernel DMA pages freed go back to the allocator and
 * uncharged, with one line each. Before, every non-zero withheld them */
static void test_unmap_refused_not_withheld(void **st)
{
	const uint16_t o = 84;
	static struct pci_dev dev = {.bus = 0, .dev = 16};
	struct dma_pool p, q;
	shim_iommu_owner = 0;
	assert_int_equal(shim_owner_bind_fn(o, &dev, DMA_BACKEND_IOMMU), 0);
	uint64_t out = shim_pages_in_use;
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, 0, &p), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &q), 0);
	uint64_t pa = dma_kernel_alloc(o, 2, 0, IOMMU_READ);
	assert_true(pa);
	shim_iommu_refuse_unmap = true;
	uint64_t lines = shim_kprintf_calls;
	assert_int_equal(dma_pool_revoke(&p), 0);
	assert_int_equal(dma_kernel_free(o, pa, 2), 0);
	assert_int_equal(shim_kprintf_calls - lines, 2);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], PAGE_SIZE);
	/* seized by a revocation, parked, then given back */
	assert_int_equal(auth_owner_revoke(o, "test"), 1);
	assert_int_equal(dma_pool_revoke(&q), 0);
	shim_iommu_refuse_unmap = false;
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 0);
	assert_int_equal(shim_pages_in_use, out);
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(shim_iommu_violations, 0);
	assert_int_equal(auth_owner_reinstate(o), 0);
	shim_iommu_owner = 0;
}

/* A map that fails part-way and whose undo the unit does not confirm
 * (iommu_map IOMMU_UNCONFIRMED) may have left the first page's translation
 * in the unit's cache: the pages of the pool or kernel memory it was for
 * are withheld as after an unconfirmed unmap — still out of the page
 * allocator (freeing them here would abort the shim had the layer freed
 * them), a pool's still charged — and one the unit confirmed undone goes
 * back. Before, both callers freed the pages either way. */
static void test_map_unconfirmed_withheld(void **st)
{
	const uint16_t o = 83;
	static struct pci_dev dev = {.bus = 0, .dev = 15};
	struct dma_pool p;
	shim_iommu_owner = 0;
	assert_int_equal(shim_owner_bind_fn(o, &dev, DMA_BACKEND_IOMMU), 0);
	uint64_t out = shim_pages_in_use, nomem = refused(AUTH_NO_MEMORY);
	shim_iommu_fail_map = true;
	/* undo confirmed: the pages go back, nothing stays charged */
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, 0, &p), -1);
	assert_int_equal(shim_pages_in_use, out);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 0);
	assert_int_equal(dma_kernel_alloc(o, 2, 0, IOMMU_READ), 0);
	assert_int_equal(shim_pages_in_use, out);
	/* undo unconfirmed: withheld */
	shim_iommu_fail_unmap = true;
	assert_int_equal(dma_pool_create(o, 3 * PAGE_SIZE, 0, &p), -1);
	uint64_t pool = shim_iommu_failed_pa;
	assert_int_equal(p.len, 0);
	assert_int_equal(shim_pages_in_use, out + 3);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 3 * PAGE_SIZE);
	assert_false(dma_owner_covers(o, pool, PAGE_SIZE));
	assert_int_equal(dma_kernel_alloc(o, 2, 0, IOMMU_READ), 0);
	uint64_t kern = shim_iommu_failed_pa;
	assert_int_equal(shim_pages_in_use, out + 5);
	assert_int_equal(refused(AUTH_NO_MEMORY), nomem + 2);
	shim_iommu_fail_map = shim_iommu_fail_unmap = false;
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(shim_iommu_violations, 0);
	/* the test's, not the layer's: the shim aborts on a page not out */
	page_free(pool, 3);
	page_free(kern, 2);
	dma_owner_uncharge(owner_acct(o), DMA_CHARGE_POOL, 3 * PAGE_SIZE);
	assert_int_equal(shim_pages_in_use, out);
	shim_iommu_owner = 0;
}

static void test_carve(void **st)
{
	const uint16_t o = 32;
	struct dma_pool p;
	struct dma_buf b, c;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, 0, &p), 0);
	uint64_t nomem = refused(AUTH_NO_MEMORY);
	assert_int_equal(dma_pool_carve(&p, 100, 64, &b), 0);
	assert_int_equal(b.iova, p.iova);
	assert_int_equal(b.va, p.va);
	assert_int_equal(dma_pool_carve(&p, 10, 64, &c), 0);
	assert_int_equal(c.iova, p.iova + 128); /* aligned up */
	/* a bad alignment is taken as 8 */
	assert_int_equal(dma_pool_carve(&p, 8, 3, &c), 0);
	assert_int_equal(c.iova % 8, 0);
	assert_int_equal(c.iova, p.iova + 144);
	/* zero bytes, more than is left, an alignment past the end: refused,
	 * and nothing consumed */
	size_t used = p.used;
	assert_int_equal(dma_pool_carve(&p, 0, 8, &c), -1);
	assert_int_equal(dma_pool_carve(&p, 2 * PAGE_SIZE, 8, &c), -1);
	assert_int_equal(dma_pool_carve(&p, 1, 4 * PAGE_SIZE, &c), -1);
	assert_int_equal(dma_pool_carve(&p, SIZE_MAX, 8, &c), -1);
	assert_int_equal(p.used, used);
	assert_int_equal(refused(AUTH_NO_MEMORY), nomem + 4);
	/* exactly the rest fits, then nothing */
	assert_int_equal(dma_pool_carve(&p, PAGE_SIZE, PAGE_SIZE, &c), 0);
	assert_int_equal(c.iova + c.len, p.iova + p.len);
	assert_int_equal(dma_pool_carve(&p, 1, 1, &c), -1);
	/* a revoked pool carves nothing */
	assert_int_equal(dma_pool_revoke(&p), 0);
	uint64_t stale = refused(AUTH_STALE_GEN);
	p.used = 0; /* even with the offset reset by hand */
	assert_int_equal(dma_pool_carve(&p, 8, 8, &c), -1);
	assert_int_equal(refused(AUTH_STALE_GEN), stale + 1);
}

/* A carve hands out only the pool's own memory, as the grant table
 * recorded it: a copy of the capability whose va, iova or len the driver
 * rewrote — another pool's address, a longer pool — carves from the real
 * pool and no further; a carve offset whose alignment would wrap past
 * SIZE_MAX carves nothing. Before, the carve trusted the copy and handed
 * out another pool's memory or pages past the pool (found by
 * fuzz_authority_seq). */
static void test_carve_forged_fields(void **st)
{
	const uint16_t o = 33;
	struct dma_pool a, b, forged;
	struct dma_buf x;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &a), 0);
	assert_int_equal(dma_pool_create(o, 4 * PAGE_SIZE, 0, &b), 0);
	/* a's capability, b's addresses */
	forged = a;
	forged.va = b.va;
	forged.iova = b.iova;
	assert_int_equal(dma_pool_carve(&forged, 64, 8, &x), 0);
	assert_int_equal(x.iova, a.iova);
	assert_ptr_equal(x.va, a.va);
	/* a's capability, b's length: a's page and no further */
	forged = a;
	forged.len = b.len;
	assert_int_equal(dma_pool_carve(&forged, PAGE_SIZE, 8, &x), 0);
	assert_int_equal(x.iova, a.iova);
	assert_int_equal(dma_pool_carve(&forged, 8, 8, &x), -1);
	forged = a;
	forged.len = b.len;
	assert_int_equal(dma_pool_carve(&forged, 2 * PAGE_SIZE, 8, &x), -1);
	/* an offset whose alignment wraps */
	forged = a;
	forged.used = SIZE_MAX - 3;
	assert_int_equal(dma_pool_carve(&forged, 8, 8, &x), -1);
	assert_int_equal(dma_pool_revoke(&a), 0);
	assert_int_equal(dma_pool_revoke(&b), 0);
}

/* GRANT_MAX live pools per owner, however small; another owner's table is
 * its own */
static void test_grant_quota(void **st)
{
	const uint16_t o = 40, other = 41;
	static struct dma_pool p[GRANT_MAX];
	struct dma_pool x;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	assert_int_equal(shim_owner_bind(other, DMA_BACKEND_UNVALIDATED, 0), 0);
	for (unsigned i = 0; i < GRANT_MAX; i++)
		assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p[i]), 0);
	uint64_t over = refused(AUTH_OVER_QUOTA);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &x), -1);
	assert_int_equal(refused(AUTH_OVER_QUOTA), over + 1);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL],
			 GRANT_MAX * PAGE_SIZE);
	assert_int_equal(dma_pool_create(other, PAGE_SIZE, 0, &x), 0);
	assert_int_equal(dma_pool_revoke(&x), 0);
	/* one given back makes room for one */
	assert_int_equal(dma_pool_revoke(&p[7]), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p[7]), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &x), -1);
	assert_int_equal(shim_owner_release(o), 0);
	assert_int_equal(shim_owner_pools(o), 0);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 0);
}

/* DMA_OWNER_POOL_MAX bytes of pool memory per owner */
static void test_pool_bytes_quota(void **st)
{
	const uint16_t o = 42;
	struct dma_pool big, x;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	uint64_t over = refused(AUTH_OVER_QUOTA);
	assert_int_equal(dma_pool_create(o, DMA_OWNER_POOL_MAX + 1, 0, &x), -1);
	assert_int_equal(refused(AUTH_OVER_QUOTA), over + 1);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 0);
	assert_int_equal(
	    dma_pool_create(o, DMA_OWNER_POOL_MAX - PAGE_SIZE, 0, &big), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &x), 0);
	assert_int_equal(dma_pool_create(o, 1, 0, &x), -1); /* a page over */
	assert_int_equal(refused(AUTH_OVER_QUOTA), over + 2);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL],
			 DMA_OWNER_POOL_MAX);
	assert_int_equal(dma_pool_revoke(&big), 0);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], PAGE_SIZE);
	assert_int_equal(shim_owner_release(o), 0);
}

/* a pool a device may still be using (a pinned grant: a command in flight
 * or a live NVMe queue ring) is not given back: AUTH_BUSY, memory kept */
static void test_revoke_pinned(void **st)
{
	const uint16_t o = 50;
	struct dma_pool p;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_VALIDATOR, 0), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p), 0);
	p.va[17] = 0x5a;
	struct grant_table *t = &owner_acct(o)->grants;
	assert_true(grant_pin(t, p.slot));
	assert_true(grant_pin(t, p.slot));
	uint64_t busy = refused(AUTH_BUSY);
	assert_int_equal(dma_pool_revoke(&p), -1);
	assert_int_equal(refused(AUTH_BUSY), busy + 1);
	assert_true(dma_pool_live(&p));
	assert_true(dma_owner_covers(o, p.iova, p.len));
	assert_int_equal(p.va[17], 0x5a); /* still mapped, still the owner's */
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], PAGE_SIZE);
	assert_true(grant_unpin(t, p.slot));
	assert_int_equal(dma_pool_revoke(&p), -1); /* one pin left */
	assert_int_equal(refused(AUTH_BUSY), busy + 2);
	assert_true(grant_unpin(t, p.slot));
	assert_int_equal(dma_pool_revoke(&p), 0);
	assert_false(dma_pool_live(&p));
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 0);
}

/* the page hook hears of a pool's pages before they go, and only when
 * they go */
static uint64_t hook_pa;
static size_t hook_len;
static unsigned hook_calls;
static void hook(uint64_t pa, size_t len)
{
	hook_pa = pa, hook_len = len;
	hook_calls++;
	/* still mapped while the hook runs: a model may look */
	assert_int_equal(*(volatile uint8_t *)(uintptr_t)pa, 0x77);
}

static void test_free_hook(void **st)
{
	const uint16_t o = 51;
	struct dma_pool p;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	assert_int_equal(dma_pool_create(o, 3 * PAGE_SIZE, 0, &p), 0);
	p.va[0] = 0x77;
	shim_page_hook = hook;
	hook_calls = 0;
	assert_true(grant_pin(&owner_acct(o)->grants, p.slot));
	assert_int_equal(dma_pool_revoke(&p), -1);
	assert_int_equal(hook_calls, 0);
	assert_true(grant_unpin(&owner_acct(o)->grants, p.slot));
	assert_int_equal(dma_pool_revoke(&p), 0);
	shim_page_hook = NULL;
	assert_int_equal(hook_calls, 1);
	assert_int_equal(hook_pa, p.iova);
	assert_int_equal(hook_len, 3 * PAGE_SIZE);
}

/* the page shim: memory given back is gone — a stale touch faults at
 * once rather than reading what the next owner wrote */
static void test_revoked_memory_faults(void **st)
{
	const uint16_t o = 52;
	struct dma_pool p;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p), 0);
	volatile uint8_t *stale = p.va;
	stale[0] = 1;
	assert_int_equal(dma_pool_revoke(&p), 0);
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* not cmocka's, not ASan's report */
		stale[0] = 2;
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
}

/* ---- owner revocation: a DMA fault takes every capability ---------------
 * The broker's part is a revoke hook: it runs after the device is stopped
 * and before any pool is seized, and drops what pins the owner's memory
 * (the gate's ring and in-flight pins). */
static struct {
	uint16_t owner;
	struct grant_table *t;
	int unpin[2];
	unsigned calls;
	bool stopped_first, pools_live;
	const struct dma_pool *p;
} rh;

static void revoke_hook(void *arg, uint16_t owner)
{
	assert_ptr_equal(arg, &rh);
	assert_int_equal(owner, rh.owner);
	rh.calls++;
	rh.stopped_first = shim_iommu_quarantined;
	rh.pools_live = dma_pool_live(rh.p);
	for (unsigned i = 0; i < 2; i++)
		if (rh.unpin[i] >= 0)
			assert_true(grant_unpin(rh.t, rh.unpin[i]));
}

static unsigned freed_calls;
static void count_free(uint64_t pa, size_t len)
{
	(void)pa, (void)len;
	freed_calls++;
}

static void owner_json(char *buf, size_t cap)
{
	struct json j;
	json_init(&j, buf, cap);
	json_obj(&j);
	auth_owners_json(&j);
	json_obj_end(&j);
	assert_true(json_end(&j) > 0);
}

static void test_revoke_after_fault(void **st)
{
	const uint16_t o = 60;
	static struct pci_dev dev = {.bus = 0, .dev = 5};
	struct dma_pool ring, data, idle, np;
	struct dma_buf b;
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
	assert_int_equal(shim_owner_bind_fn(o, &dev, DMA_BACKEND_IOMMU), 0);
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, 0, &ring), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &data), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &idle), 0);
	assert_int_equal(shim_iommu_mapped(), 4);
	struct grant_table *t = &owner_acct(o)->grants;
	/* a live queue ring and a command in flight pin two of them */
	assert_true(grant_pin(t, ring.slot));
	assert_true(grant_pin(t, data.slot));
	rh.owner = o, rh.t = t, rh.calls = 0, rh.p = &ring;
	rh.unpin[0] = ring.slot, rh.unpin[1] = data.slot;
	auth_owner_on_revoke(o, revoke_hook, &rh);
	/* nothing happened: nothing is revoked */
	assert_int_equal(auth_poll(), 0);
	assert_false(auth_owner_revoked(o));

	/* the fault: the IOMMU quarantines the owner (interrupt context);
	 * the next safe point revokes */
	shim_iommu_fault();
	shim_page_hook = count_free;
	freed_calls = 0;
	ring.va[0] = 0x42;
	assert_int_equal(auth_poll(), 1);
	assert_int_equal(rh.calls, 1);
	assert_true(rh.stopped_first); /* the device stopped first... */
	assert_true(rh.pools_live);    /* ...the hook ran before the seizure */
	assert_true(auth_owner_revoked(o));
	/* every pool is gone from the owner and from the device's domain */
	assert_false(dma_pool_live(&ring));
	assert_false(dma_pool_live(&data));
	assert_false(dma_pool_live(&idle));
	assert_false(dma_owner_covers(o, ring.iova, 1));
	assert_int_equal(shim_owner_pools(o), 0);
	assert_int_equal(shim_iommu_mapped(), 0);
	/* parked, not freed: a kernel-resident driver's stale pointer still
	 * lands in memory nobody else was given */
	assert_int_equal(freed_calls, 0);
	assert_int_equal(ring.va[0], 0x42);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 4 * PAGE_SIZE);
	/* further use is refused, by name */
	uint64_t r0 = refused(AUTH_REVOKED);
	assert_int_equal(dma_pool_carve(&idle, 64, 8, &b), -1);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &np), -1);
	assert_int_equal(refused(AUTH_REVOKED), r0 + 2);
	assert_string_equal(auth_reason_name(AUTH_REVOKED), "owner-revoked");
	/* the grant table refuses the seized slots: no command can name them
	 * and nothing can pin them again */
	assert_false(grant_pin(t, data.slot));
	assert_false(grant_revoke(t, data.slot, data.gen));
	/* /api/authority shows it */
	char js[4096];
	owner_json(js, sizeof(js));
	assert_non_null(strstr(js, "{\"owner\":60,\"backend\":\"iommu\","
				   "\"revoked\":true,\"revocations\":1,"
				   "\"pools\":0,\"pool_kib\":16,"
				   "\"parked_pools\":3,\"seized_last\":3}"));
	/* a second safe point revokes nothing more */
	assert_int_equal(auth_poll(), 0);
	assert_int_equal(rh.calls, 1);
	/* the driver's own revoke gives the parked memory back, once */
	assert_int_equal(dma_pool_revoke(&idle), 0);
	assert_int_equal(freed_calls, 1);
	assert_int_equal(dma_pool_revoke(&idle), -1);
	assert_int_equal(dma_pool_revoke(&ring), 0);
	assert_int_equal(dma_pool_revoke(&data), 0);
	assert_int_equal(freed_calls, 3);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 0);
	shim_page_hook = NULL;
	/* reinstated on purpose: the domain is back, new pools may come */
	assert_int_equal(auth_owner_reinstate(o), 0);
	assert_false(shim_iommu_quarantined);
	assert_false(auth_owner_revoked(o));
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &np), 0);
	assert_int_equal(shim_iommu_mapped(), 1);
	assert_int_equal(dma_pool_revoke(&np), 0);
	assert_int_equal(shim_iommu_violations, 0);
	auth_owner_on_revoke(o, NULL, NULL);
	shim_iommu_owner = 0;
}

/* a fault the fault interrupt left in the records (a device still
 * recording after VTD_FAULT_PASSES) raises no fault event again: the safe
 * point takes it (iommu_fault_retake) and revokes its owner in the same
 * turn. Before, nothing took it: the owner was never revoked */
static void test_poll_takes_faults_left(void **st)
{
	(void)st;
	const uint16_t o = 65;
	static struct pci_dev dev = {.bus = 0, .dev = 16};
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
	assert_int_equal(shim_owner_bind_fn(o, &dev, DMA_BACKEND_IOMMU), 0);
	assert_int_equal(auth_poll(), 0);
	shim_iommu_fault_left = true;
	assert_int_equal(auth_poll(), 1);
	assert_false(shim_iommu_fault_left);
	assert_true(auth_owner_revoked(o));
	assert_int_equal(auth_poll(), 0);
	assert_int_equal(auth_owner_reinstate(o), 0);
	shim_iommu_owner = 0;
}

/* with no hook dropping them, pins hold: a pool the kernel still uses is
 * kept live through the revocation; the others go */
static void test_revoke_keeps_pinned(void **st)
{
	const uint16_t o = 61;
	struct dma_pool pinned, other;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_VALIDATOR, 0), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &pinned), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &other), 0);
	assert_true(grant_pin(&owner_acct(o)->grants, pinned.slot));
	assert_int_equal(auth_owner_revoke(o, "test"), 1);
	/* and its line says so (mutant #110 of dmapool.c: the count never
	 * moved, "0 pinned kept" said with a pool kept) */
	assert_non_null(
	    strstr(shim_last_line, "1 pools seized, 1 pinned kept"));
	assert_true(auth_owner_revoked(o));
	assert_true(dma_pool_live(&pinned));
	assert_false(dma_pool_live(&other));
	/* kept, but the owner is revoked: it carves nothing (it did, found
	 * by fuzz_authority_seq) until reinstatement */
	struct dma_buf b;
	uint64_t r0 = refused(AUTH_REVOKED);
	assert_int_equal(dma_pool_carve(&pinned, 64, 8, &b), -1);
	assert_int_equal(refused(AUTH_REVOKED), r0 + 1);
	assert_int_equal(pinned.used, 0);
	assert_int_equal(auth_owner_revoke(99, "test"), -1); /* unbound */
	assert_true(grant_unpin(&owner_acct(o)->grants, pinned.slot));
	assert_int_equal(dma_pool_revoke(&pinned), 0);
	assert_int_equal(dma_pool_revoke(&other), 0);
	assert_int_equal(auth_owner_reinstate(o), 0);
	assert_int_equal(auth_owner_reinstate(o), -1); /* not revoked */
}

/* A DMAPool capability is (slot, generation); the rest of struct dma_pool
 * is the driver's copy. A revoke through a copy whose iova or len the
 * driver changed gives back the grant's memory as the kernel recorded it —
 * never another live pool's pages (still mapped for the device), never
 * pages past the pool, never more of the quota than the pool took. */
static unsigned forged_frees;
static uint64_t forged_pa, forged_len;
static void forged_free(uint64_t pa, size_t len)
{
	forged_frees++;
	forged_pa = pa;
	forged_len = len;
}

static void test_revoke_forged_fields(void **st)
{
	const uint16_t o = 70;
	static struct pci_dev dev = {.bus = 0, .dev = 7};
	struct dma_pool a, b, forged;
	shim_iommu_owner = 0;
	assert_int_equal(shim_owner_bind_fn(o, &dev, DMA_BACKEND_IOMMU), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &a), 0);
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, 0, &b), 0);
	assert_int_equal(shim_iommu_mapped(), 3);
	/* a's capability, b's address */
	forged = a;
	forged.va = b.va;
	forged.iova = b.iova;
	forged.len = b.len;
	shim_page_hook = forged_free;
	forged_frees = 0;
	assert_int_equal(dma_pool_revoke(&forged), 0);
	shim_page_hook = NULL;
	assert_int_equal(forged_frees, 1);
	assert_int_equal(forged_pa, a.iova); /* a's page went back */
	assert_int_equal(forged_len, PAGE_SIZE);
	assert_false(dma_pool_live(&a));
	assert_true(dma_pool_live(&b)); /* b untouched: live, mapped, charged */
	assert_true(dma_owner_covers(o, b.iova, b.len));
	assert_int_equal(shim_iommu_mapped(), 2);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 2 * PAGE_SIZE);
	memset(b.va, 0x5a, b.len); /* still the owner's memory */
	assert_int_equal(shim_iommu_violations, 0);

	/* a length past the pool frees no page after it and uncharges no
	 * more than the pool took */
	struct dma_pool c;
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &c), 0);
	forged = c;
	forged.len = 32 * PAGE_SIZE;
	assert_int_equal(dma_pool_revoke(&forged), 0);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 2 * PAGE_SIZE);
	assert_int_equal(shim_iommu_violations, 0);

	/* the same through a revocation: the parked pool's release */
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &c), 0);
	assert_int_equal(auth_owner_revoke(o, "test"), 2);
	forged = c;
	forged.iova = b.iova;
	forged.va = b.va;
	shim_page_hook = forged_free;
	forged_frees = 0;
	assert_int_equal(dma_pool_revoke(&forged), 0);
	shim_page_hook = NULL;
	assert_int_equal(forged_frees, 1);
	assert_int_equal(forged_pa, c.iova);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 2 * PAGE_SIZE);
	assert_int_equal(dma_pool_revoke(&b), 0);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 0);
	assert_int_equal(auth_owner_reinstate(o), 0);
	assert_int_equal(shim_iommu_violations, 0);
	shim_iommu_owner = 0;
}

/* a DeviceMmio or Interrupt capability names (slot, generation): a slot
 * whose generation would wrap is retired, so a capability revoked 2^31
 * grant/revoke cycles ago never matches again */
static void test_slot_generation_wrap(void **st)
{
	const uint16_t o = 71;
	int s = auth_slot_alloc(AUTH_MMIO, o);
	assert_true(s > 0);
	uint32_t stale = auth_slots[s].gen;
	auth_slot_free(s);
	auth_slots[s].gen = UINT32_MAX - 1; /* the churn, fast-forwarded */
	for (int i = 0; i < 8; i++) {
		int n = auth_slot_alloc(AUTH_MMIO, o);
		assert_true(n > 0);
		assert_false(n == s && auth_slots[n].gen == stale);
		assert_null(
		    auth_slot_check((uint16_t)s, stale, AUTH_MMIO, "test"));
		auth_slot_free((uint16_t)n);
	}
}

/* A DeviceMmio capability is (slot, generation); va, len and flags in
 * struct dev_mmio are the driver's copy. An access through a copy it
 * rewrote — a longer window, write on a read-only one, another address —
 * is checked against the window the kernel granted, and refused. */
static uint8_t bar_mem[0x2000] __attribute__((aligned(4096)));
#define BAR_BASE 0xfe000000ull
/* and the page at 4 GiB into a BAR that large */
static uint8_t bar_hi[0x1000] __attribute__((aligned(4096)));
#define BAR_HI (BAR_BASE + (1ull << 32))
void *mm_map_mmio(uint64_t phys, size_t len)
{
	if (phys >= BAR_HI && phys - BAR_HI + len <= sizeof(bar_hi))
		return bar_hi + (phys - BAR_HI);
	if (phys < BAR_BASE || phys - BAR_BASE + len > sizeof(bar_mem))
		return NULL;
	return bar_mem + (phys - BAR_BASE);
}

/* bind o as devmgr binds it for a function with an unvalidated backend: d is
 * its one function (auth_owner_function), d names it */
static void bind_fn(uint16_t o, struct pci_dev *d)
{
	assert_int_equal(shim_owner_bind_fn(o, d, DMA_BACKEND_UNVALIDATED), 0);
}

/* a revoked owner gets no new DeviceMmio window on its own function
 * (owner-revoked), and one again once reinstated. Mutation testing found
 * nothing held it: mmio_grant's revoked check made if (0) survived every
 * test and the fuzzer's seeds */
static void test_revoked_no_mmio_window(void **st)
{
	const uint16_t o = 203;
	static struct pci_dev d = {.bus = 0, .dev = 17, .owner = o};
	struct dev_mmio m;
	d.bar[0].base = BAR_BASE;
	d.bar[0].size = sizeof(bar_mem);
	bind_fn(o, &d);
	assert_int_equal(auth_owner_revoke(o, "test"), 0); /* no pools */
	uint64_t r0 = refused(AUTH_REVOKED);
	assert_int_equal(mmio_grant(&d, o, 0, 0x100, 0x100, MMIO_READ, &m), -1);
	assert_int_equal(refused(AUTH_REVOKED), r0 + 1);
	assert_int_equal(m.len, 0);
	assert_int_equal(auth_owner_reinstate(o), 0);
	assert_int_equal(mmio_grant(&d, o, 0, 0x100, 0x100, MMIO_READ, &m), 0);
	mmio_revoke(&m);
}

/* a revoke names its capability by (slot, generation, kind): a stale
 * copy of a window whose slot went to another owner's window, and an
 * interrupt capability forged with that window's slot and generation,
 * revoke nothing — the new window stays live. Mutation testing found
 * nothing held it: auth_slot_check's generation and kind checks made
 * if (0) survived every test and the fuzzer's seeds */
static void test_stale_revoke_spares_new_holder(void **st)
{
	const uint16_t a = 204, b = 205;
	static struct pci_dev da = {.bus = 0, .dev = 18, .owner = a};
	static struct pci_dev db = {.bus = 0, .dev = 19, .owner = b};
	struct dev_mmio old, m;
	da.bar[0].base = db.bar[0].base = BAR_BASE;
	da.bar[0].size = db.bar[0].size = sizeof(bar_mem);
	bind_fn(a, &da);
	bind_fn(b, &db);
	assert_int_equal(mmio_grant(&da, a, 0, 0, 0x100, MMIO_READ, &old), 0);
	struct dev_mmio copy = old;
	mmio_revoke(&old);
	assert_int_equal(mmio_grant(&db, b, 0, 0, 0x100, MMIO_READ, &m), 0);
	assert_int_equal(m.slot, copy.slot); /* the slot is reused */
	bar_mem[0] = 0x5a;
	uint64_t stale = refused(AUTH_STALE_GEN);
	mmio_revoke(&copy);
	assert_int_equal(refused(AUTH_STALE_GEN), stale + 1);
	assert_int_equal(mmio_read8(&m, 0), 0x5a);
	struct irq_cap forged = {.slot = m.slot, .gen = m.gen};
	uint64_t bad = refused(AUTH_BAD_SLOT);
	irq_revoke(&forged);
	assert_int_equal(refused(AUTH_BAD_SLOT), bad + 1);
	assert_int_equal(mmio_read8(&m, 0), 0x5a);
	mmio_revoke(&m);
}

/* a broker's registers (the virtio common configuration): once guarded,
 * the owner gets no writable window over any byte of them — only a
 * read-only one, through which a write is refused and reaches nothing —
 * while windows beside them stay writable and the broker's own
 * (mmio_grant_broker) is read-write; a guard is refused while the owner
 * holds a writable window over the range (it would outlive the guard).
 * Before auth_owner_guard, the driver's common window was read-write */
static void test_guarded_registers_read_only(void **st)
{
	const uint16_t o = 290;
	static struct pci_dev d = {.bus = 0, .dev = 41, .owner = o};
	struct dev_mmio rw, ro, beside, own;
	d.bar[0].base = BAR_BASE;
	d.bar[0].size = sizeof(bar_mem);
	bind_fn(o, &d);
	assert_int_equal(mmio_grant(&d, o, 0, 0x200, 0x40, MMIO_WRITE, &rw), 0);
	assert_int_equal(auth_owner_guard(o, 0, 0x200, 0x38), -1);
	mmio_revoke(&rw);
	assert_int_equal(auth_owner_guard(o, 0, 0x200, 0x38), 0);
	uint64_t ng = refused(AUTH_NOT_GRANTED);
	assert_int_equal(
	    mmio_grant(&d, o, 0, 0x200, 0x38, MMIO_READ | MMIO_WRITE, &rw), -1);
	assert_int_equal(mmio_grant(&d, o, 0, 0x100, 0x101, MMIO_WRITE, &rw),
			 -1); /* its last byte is the guard's first */
	assert_int_equal(mmio_grant(&d, o, 0, 0x237, 0x10, MMIO_WRITE, &rw),
			 -1);
	assert_int_equal(refused(AUTH_NOT_GRANTED), ng + 3);
	assert_int_equal(mmio_grant(&d, o, 0, 0x200, 0x38, MMIO_READ, &ro), 0);
	assert_int_equal(mmio_grant(&d, o, 0, 0x238, 0x8, MMIO_WRITE, &beside),
			 0);
	bar_mem[0x220] = 0x11;
	uint64_t r0 = refused(AUTH_READ_ONLY);
	assert_false(mmio_write8(&ro, 0x20, 0x99));
	assert_int_equal(refused(AUTH_READ_ONLY), r0 + 1);
	assert_int_equal(bar_mem[0x220], 0x11);
	assert_int_equal(mmio_read8(&ro, 0x20), 0x11);
	assert_int_equal(mmio_grant_broker(&d, o, 0, 0x200, 0x38, &own), 0);
	assert_true(mmio_write8(&own, 0x20, 0x22));
	assert_int_equal(bar_mem[0x220], 0x22);
	mmio_revoke(&own);
	mmio_revoke(&beside);
	mmio_revoke(&ro);
}

/* a window the kernel cannot map (mm_map_mmio NULL: here a BAR outside
 * the test's bar_mem) is refused, nothing granted, its slot back.
 * Mutation testing found nothing held it: the refusal turned into 0
 * survived */
static void test_mmio_unmappable_refused(void **st)
{
	const uint16_t o = 206;
	static struct pci_dev d = {.bus = 0, .dev = 20, .owner = o};
	struct dev_mmio m;
	d.bar[0].base = BAR_BASE + 0x100000;
	d.bar[0].size = 0x1000;
	bind_fn(o, &d);
	uint64_t nomem = refused(AUTH_NO_MEMORY);
	assert_int_equal(mmio_grant(&d, o, 0, 0, 0x100, MMIO_READ, &m), -1);
	assert_int_equal(refused(AUTH_NO_MEMORY), nomem + 1);
	assert_int_equal(m.slot, 0);
	assert_int_equal(m.len, 0);
}

/* a window on a BAR index past the six a function has, on an I/O BAR, or
 * on a BAR the function does not implement is refused, nothing granted:
 * mutation testing found the BAR index check untested (a mutant reading
 * d->bar[6] survived every authority test) */
static void test_mmio_bar_not_a_window(void **st)
{
	const uint16_t o = 207;
	static struct pci_dev d = {.bus = 0, .dev = 21, .owner = o};
	struct dev_mmio m;
	d.bar[0].base = BAR_BASE;
	d.bar[0].size = sizeof(bar_mem);
	d.bar[1].base = 0xc000;
	d.bar[1].size = 0x100;
	d.bar[1].io = true;
	bind_fn(o, &d);
	const unsigned bars[] = {6, 7, 255, 1, 2};
	for (unsigned i = 0; i < ARRAY_SIZE(bars); i++) {
		uint64_t ng = refused(AUTH_NOT_GRANTED);
		assert_int_equal(
		    mmio_grant(&d, o, bars[i], 0, 0x10, MMIO_READ, &m), -1);
		assert_int_equal(refused(AUTH_NOT_GRANTED), ng + 1);
		assert_int_equal(m.len, 0);
	}
	assert_int_equal(mmio_grant(&d, o, 0, 0, 0x10, MMIO_READ, &m), 0);
	mmio_revoke(&m);
}

static void test_mmio_forged_fields(void **st)
{
	const uint16_t o = 72;
	static struct pci_dev d = {.bus = 0, .dev = 9, .owner = o};
	d.bar[0].base = BAR_BASE;
	d.bar[0].size = sizeof(bar_mem);
	struct dev_mmio m, forged;
	static uint8_t elsewhere[64];
	bind_fn(o, &d);
	assert_int_equal(mmio_grant(&d, o, 0, 0x100, 0x100, MMIO_READ, &m), 0);
	memset(bar_mem, 0, sizeof(bar_mem));
	bar_mem[0x100] = 0x11;
	assert_int_equal(mmio_read8(&m, 0), 0x11);
	assert_false(mmio_write8(&m, 0, 1)); /* read-only */

	forged = m;
	forged.len = sizeof(bar_mem);
	forged.flags = MMIO_READ | MMIO_WRITE;
	uint64_t out = refused(AUTH_OUT_OF_WINDOW),
		 ro = refused(AUTH_READ_ONLY);
	assert_false(mmio_write32(&forged, 0x200, 0xdeadbeef)); /* past it */
	assert_int_equal(mmio_read32(&forged, 0x200), 0xffffffffu);
	assert_false(mmio_write8(&forged, 0, 2)); /* still read-only */
	assert_true(all_zero(bar_mem + 0x200, 0x100));
	assert_int_equal(bar_mem[0x100], 0x11);
	assert_int_equal(refused(AUTH_OUT_OF_WINDOW), out + 2);
	assert_int_equal(refused(AUTH_READ_ONLY), ro + 1);
	assert_false(mmio_ok(&forged, 0x1000, 4, false));

	/* another address: the kernel's own mapping of the window is used */
	forged = m;
	forged.va = elsewhere;
	elsewhere[0] = 0x22;
	assert_int_equal(mmio_read8(&forged, 0), 0x11);
	mmio_revoke(&m);
	assert_int_equal(mmio_read8(&m, 0), 0xff);
}

/* d's BAR0 is bar_mem (cleared), with a 2-entry MSI-X table at 0x1000 */
static void msix_dev(struct pci_dev *d)
{
	d->bar[0].base = BAR_BASE;
	d->bar[0].size = sizeof(bar_mem);
	d->cap_msix = 0x70;
	d->msix_size = 2;
	d->msix_table_off = 0x1000;
	d->msix_pba_off = 0x1800;
	d->msix_table = (volatile uint32_t *)(bar_mem + 0x1000);
	memset(bar_mem, 0, sizeof(bar_mem));
}

/* An Interrupt capability is (slot, generation); msix_index and vector in
 * struct irq_cap are the driver's copy. Mask, unmask and revoke through a
 * copy that names another entry, an entry past the table or another
 * vector act on the entry and vector the kernel bound. Before, unmask of
 * such a copy unmasked another interrupt's entry, mask wrote a bit past
 * the MSI-X table into the BAR, and revoke freed another interrupt's CPU
 * vector and kept its own (found by fuzz_authority_seq). */
static void test_irq_forged_fields(void **st)
{
	const uint16_t o = 73;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 10, .owner = o};
	d.cfg = cfgsp;
	msix_dev(&d);
	struct irq_cap a, b, forged;
	bind_fn(o, &d);
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &a), 0);
	assert_int_equal(irq_bind(&d, o, 1, NULL, NULL, &b), 0);
	volatile uint32_t *ctl0 = d.msix_table + PCI_MSIX_ENTRY_CTRL / 4,
			  *ctl1 = ctl0 + PCI_MSIX_ENTRY_SIZE / 4;
	assert_int_equal(*ctl0 & *ctl1 & PCI_MSIX_ENTRY_CTRL_MASKBIT, 1);
	/* a's capability naming b's entry */
	forged = a;
	forged.msix_index = 1;
	irq_unmask(&forged);
	assert_int_equal(*ctl0 & PCI_MSIX_ENTRY_CTRL_MASKBIT, 0);
	assert_int_equal(*ctl1 & PCI_MSIX_ENTRY_CTRL_MASKBIT, 1);
	/* an entry far past the table */
	forged.msix_index = 200;
	irq_mask(&forged);
	assert_int_equal(*ctl0 & PCI_MSIX_ENTRY_CTRL_MASKBIT, 1);
	assert_true(
	    all_zero(bar_mem + 0x1000 + 2 * PCI_MSIX_ENTRY_SIZE,
		     sizeof(bar_mem) - 0x1000 - 2 * PCI_MSIX_ENTRY_SIZE));
	/* b's vector: revoke frees a's own, b's stays held */
	forged = a;
	forged.vector = b.vector;
	irq_revoke(&forged);
	assert_null(host_vectors[a.vector].fn);
	assert_non_null(host_vectors[b.vector].fn);
	irq_revoke(&b);
	assert_null(host_vectors[b.vector].fn);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* ---- unbind (auth_owner_unbind) -------------------------------------------
 * An unbound owner's function is given back: every capability taken, the
 * memory back to the allocator unless the device may still reach it, the
 * owner slot freed (d->owner 0) and its id retired, so that no handle the
 * old driver kept works — also after the function is bound again. */
static unsigned unb_hook_calls;
static bool unb_hook_stopped;
static uint64_t unb_hook(void *arg, uint16_t owner, bool stopped)
{
	unb_hook_calls++;
	unb_hook_stopped = stopped;
	/* the broker's part: its own kernel DMA page, by the same rule */
	return dma_kernel_free(owner, *(uint64_t *)arg, 1) != 0;
}

/* hooks that call back into the owner's lifecycle while it runs: the
 * revoke hook unbinds and revokes its own owner, the unbind hook revokes
 * and unbinds it again. Each inner call is refused (-1, counted busy,
 * bounded lines) and the outer unbind completes once: the owner gone,
 * every page back. Before, the revoke hook's unbind revoked again, which
 * ran the hook again, without end (a stack overflow) */
static int reent_unbind, reent_revoke, reent_calls;
static void reent_revoke_hook(void *arg, uint16_t owner)
{
	(void)arg;
	if (reent_calls++ > 4)
		return; /* bounded here, so the old code's loop ends */
	reent_unbind = auth_owner_unbind(owner, true);
	reent_revoke = auth_owner_revoke(owner, "hook");
}
static int reent_u2, reent_r2;
static uint64_t reent_unbind_hook(void *arg, uint16_t owner, bool stopped)
{
	(void)arg, (void)stopped;
	reent_r2 = auth_owner_revoke(owner, "unbind hook");
	reent_u2 = auth_owner_unbind(owner, true);
	return 0;
}
static void test_unbind_from_hooks_refused(void **st)
{
	(void)st;
	const uint16_t o = 612;
	static struct pci_dev d = {.bus = 0, .dev = 27, .owner = o};
	uint64_t out = shim_pages_in_use;
	bind_fn(o, &d);
	struct dma_pool p;
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p), 0);
	auth_owner_on_revoke(o, reent_revoke_hook, NULL);
	auth_owner_on_unbind(o, reent_unbind_hook, NULL);
	uint64_t busy = auth_refusals[AUTH_BUSY];
	reent_calls = 0;
	assert_int_equal(auth_owner_unbind(o, true), 0);
	assert_int_equal(reent_calls, 1);
	assert_int_equal(reent_unbind, -1);
	assert_int_equal(reent_revoke, -1);
	assert_int_equal(reent_r2, -1);
	assert_int_equal(reent_u2, -1);
	assert_int_equal(auth_refusals[AUTH_BUSY], busy + 4);
	assert_null(auth_owner_facts(o));
	assert_int_equal(d.owner, 0);
	assert_int_equal(shim_pages_in_use, out);
	assert_false(dma_pool_live(&p));
}

/* inside an interrupt handler (cpu_isr_depth, as isr_dispatch keeps it)
 * a revoke, an unbind, a pool create and a pool revoke are refused: busy,
 * nothing changed, the lines bounded per owner (AUTH_REFUSAL_LINES + 1);
 * outside one the same calls go through. Before, each ran inside the
 * handler. */
static void test_interrupt_context_refused(void **st)
{
	(void)st;
	const uint16_t o = 88;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 21, .owner = o};
	d.cfg = cfgsp;
	bind_fn(o, &d);
	struct dma_pool p, q;
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p), 0);
	uint64_t out = shim_pages_in_use, busy = auth_refusals[AUTH_BUSY];
	uint64_t lines = shim_kprintf_calls;
	cpu_isr_depth = 1;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &q), -1);
		assert_int_equal(dma_pool_revoke(&p), -1);
		assert_int_equal(auth_owner_revoke(o, "test"), -1);
		assert_int_equal(auth_owner_unbind(o, true), -1);
	}
	cpu_isr_depth = 0;
	assert_int_equal(auth_refusals[AUTH_BUSY], busy + 80);
	assert_true(shim_kprintf_calls - lines <= AUTH_REFUSAL_LINES + 1);
	assert_true(shim_kprintf_calls - lines >= 1);
	assert_int_equal(shim_pages_in_use, out);
	assert_true(dma_pool_live(&p));
	assert_false(auth_owner_revoked(o));
	assert_non_null(auth_owner_facts(o));
	/* outside a handler: each goes through */
	assert_int_equal(dma_pool_revoke(&p), 0);
	assert_int_equal(auth_owner_revoke(o, "test"), 0);
	assert_true(auth_owner_revoked(o));
	assert_int_equal(auth_owner_unbind(o, true), 0);
	assert_null(auth_owner_facts(o));
}

static void test_unbind_gives_back(void **st)
{
	const uint16_t o = 600, o2 = 601;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 20, .owner = o};
	d.cfg = cfgsp;
	msix_dev(&d);
	uint64_t out = shim_pages_in_use;
	bind_fn(o, &d);
	struct dma_pool p, parked;
	struct dev_mmio m;
	struct irq_cap c;
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, 0, &p), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &parked), 0);
	assert_int_equal(mmio_grant(&d, o, 0, 0, 0x100, MMIO_READ, &m), 0);
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &c), 0);
	void *k = auth_kmem_alloc(o, 3 * PAGE_SIZE);
	assert_non_null(k);
	uint64_t kp = dma_kernel_alloc(o, 1, 0, IOMMU_READ);
	assert_true(kp);
	unb_hook_calls = 0;
	auth_owner_on_unbind(o, unb_hook, &kp);
	assert_true(shim_pages_in_use > out);
	uint64_t w0 = auth_unbind_withheld_pages();
	assert_int_equal(auth_owner_unbind(o, true), 0);
	/* every page back, nothing withheld */
	assert_int_equal(shim_pages_in_use, out);
	assert_int_equal(auth_unbind_withheld_pages(), w0);
	assert_int_equal(unb_hook_calls, 1);
	assert_true(unb_hook_stopped);
	assert_int_equal(d.owner, 0);
	assert_null(auth_owner_facts(o));
	assert_null(host_vectors[c.vector].fn);
	/* unbind twice, and an id never bound: the same defined answer */
	uint64_t ng = refused(AUTH_NOT_GRANTED);
	assert_int_equal(auth_owner_unbind(o, true), -1);
	assert_int_equal(auth_owner_unbind(599, true), -1);
	assert_int_equal(refused(AUTH_NOT_GRANTED), ng + 2);
	/* no kernel DMA pages for it, nor for an id never bound: nothing is
	 * taken, each refusal counted (before, both were served) */
	assert_int_equal(dma_kernel_alloc(o, 1, 0, IOMMU_READ), 0);
	assert_int_equal(dma_kernel_alloc(599, 1, 0, IOMMU_READ), 0);
	assert_int_equal(shim_pages_in_use, out);
	assert_int_equal(refused(AUTH_NOT_GRANTED), ng + 4);
	/* the id is retired: never bound again, even to the same function */
	d.owner = o;
	struct auth_owner_facts f = {.d = &d,
				     .backend = DMA_BACKEND_UNVALIDATED};
	assert_int_equal(auth_owner_bind(o, &f), -1);
	/* rebound under a fresh id: the old handles stay dead */
	bind_fn(o2, &d);
	struct dma_pool p2;
	struct dev_mmio m2;
	assert_int_equal(dma_pool_create(o2, PAGE_SIZE, 0, &p2), 0);
	assert_int_equal(mmio_grant(&d, o2, 0, 0, 0x100, MMIO_READ, &m2), 0);
	bar_mem[0] = 0x42;
	uint64_t before = shim_refusals();
	struct dma_buf b;
	assert_int_equal(dma_pool_carve(&p, 64, 8, &b), -1);
	assert_int_equal(dma_pool_revoke(&p), -1);
	assert_false(dma_pool_live(&p));
	assert_false(dma_owner_covers(o, p.iova, p.len));
	assert_int_equal(mmio_read8(&m, 0), 0xff);
	assert_false(mmio_write8(&m, 0, 1));
	assert_int_equal(irq_count(&c), 0);
	irq_unmask(&c);
	auth_kmem_free(o, k, 3 * PAGE_SIZE);
	assert_null(auth_kmem_alloc(o, 64));
	assert_true(shim_refusals() >= before + 8);
	/* the new owner's capabilities are untouched by all that */
	assert_true(dma_pool_live(&p2));
	assert_int_equal(mmio_read8(&m2, 0), 0x42);
	assert_int_equal(auth_owner_unbind(o2, true), 0);
	assert_int_equal(shim_pages_in_use, out);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* detach did not confirm the stop: every pool (live or parked) and every
 * kernel DMA page stays out for good, counted; the driver's own kernel
 * memory, never device-visible, goes back */
static void test_unbind_not_stopped_withholds(void **st)
{
	const uint16_t o = 602;
	static struct pci_dev d = {.bus = 0, .dev = 21, .owner = o};
	uint64_t out = shim_pages_in_use;
	bind_fn(o, &d);
	struct dma_pool p, q;
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, 0, &p), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &q), 0);
	assert_non_null(auth_kmem_alloc(o, PAGE_SIZE));
	uint64_t kp = dma_kernel_alloc(o, 1, 0, IOMMU_READ);
	assert_true(kp);
	auth_owner_on_unbind(o, unb_hook, &kp);
	uint64_t w0 = auth_unbind_withheld_pages();
	assert_int_equal(auth_owner_unbind(o, false), 1);
	assert_false(unb_hook_stopped);
	assert_int_equal(auth_unbind_withheld_pages(), w0 + 4);
	assert_int_equal(shim_pages_in_use, out + 4); /* pools + kernel DMA */
	assert_false(dma_pool_live(&p));
	assert_int_equal(dma_pool_revoke(&p), -1); /* never handed back */
	assert_int_equal(shim_pages_in_use, out + 4);
}

/* a pool pinned by a command in flight (the NVMe gate's pins) that the
 * revoke hook did not drop: withheld even when the stop was confirmed; a
 * revoked owner and a quarantined one unbind too, their parked pools freed */
static void test_unbind_pinned_revoked_quarantined(void **st)
{
	const uint16_t a = 603, b = 604, q = 605;
	static struct pci_dev da = {.bus = 0, .dev = 22, .owner = a};
	static struct pci_dev db = {.bus = 0, .dev = 23, .owner = b};
	static struct pci_dev dq = {.bus = 0, .dev = 24, .owner = q};
	uint64_t out = shim_pages_in_use;
	bind_fn(a, &da);
	struct dma_pool p, r;
	assert_int_equal(dma_pool_create(a, PAGE_SIZE, 0, &p), 0);
	assert_int_equal(dma_pool_create(a, PAGE_SIZE, 0, &r), 0);
	assert_true(grant_pin(&owner_acct(a)->grants, p.slot));
	assert_int_equal(auth_owner_unbind(a, true), 1);
	assert_int_equal(shim_pages_in_use, out + 1); /* p only */

	out = shim_pages_in_use;
	bind_fn(b, &db);
	assert_int_equal(dma_pool_create(b, 3 * PAGE_SIZE, 0, &p), 0);
	assert_int_equal(auth_owner_revoke(b, "test"), 1);
	assert_int_equal(shim_pools_parked(b), 1);
	assert_int_equal(auth_owner_unbind(b, true), 0);
	assert_int_equal(shim_pages_in_use, out);

	/* quarantined by a DMA fault, the safe point not yet run */
	shim_iommu_owner = 0;
	assert_int_equal(shim_owner_bind_fn(q, &dq, DMA_BACKEND_IOMMU), 0);
	assert_int_equal(dma_pool_create(q, 2 * PAGE_SIZE, 0, &p), 0);
	shim_iommu_fault();
	assert_true(auth_owner_stopped(q));
	unsigned destroyed = shim_iommu_destroyed;
	assert_int_equal(auth_owner_unbind(q, true), 0);
	assert_int_equal(shim_iommu_destroyed, destroyed + 1);
	assert_int_equal(shim_iommu_owner, 0);
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(shim_pages_in_use, out);
	assert_int_equal(shim_iommu_violations, 0);
	assert_false(auth_owner_stopped(q));
}

/* a pool its owner's revocation kept because it was pinned, and unpinned
 * since (a virtio reset confirmed only at the driver's detach), is no
 * longer reachable once the device is stopped: the unbind of the revoked
 * owner seizes it and gives it back, unmapped first under the IOMMU.
 * Before, the unbind revoked nothing more for a revoked owner and counted
 * the live pool withheld for good: its pages lost on every restart of a
 * faulted function */
static void test_unbind_revoked_unpinned_gives_back(void **st)
{
	const uint16_t a = 620, q = 621;
	static struct pci_dev da = {.bus = 3, .dev = 26, .owner = a};
	static struct pci_dev dq = {.bus = 3, .dev = 27, .owner = q};
	uint64_t out = shim_pages_in_use, w0 = auth_unbind_withheld_pages();
	bind_fn(a, &da);
	struct dma_pool p, r;
	assert_int_equal(dma_pool_create(a, 2 * PAGE_SIZE, 0, &p), 0);
	assert_int_equal(dma_pool_create(a, PAGE_SIZE, 0, &r), 0);
	assert_true(grant_pin(&owner_acct(a)->grants, p.slot));
	assert_int_equal(auth_owner_revoke(a, "test"), 1); /* r; p kept */
	assert_true(dma_pool_live(&p));
	assert_true(grant_unpin(&owner_acct(a)->grants, p.slot));
	assert_int_equal(auth_owner_unbind(a, true), 0);
	assert_int_equal(shim_pages_in_use, out);
	assert_int_equal(auth_unbind_withheld_pages(), w0);
	/* still pinned at the unbind: withheld, as before */
	const uint16_t b = 622;
	static struct pci_dev db = {.bus = 3, .dev = 28, .owner = b};
	bind_fn(b, &db);
	assert_int_equal(dma_pool_create(b, PAGE_SIZE, 0, &p), 0);
	assert_true(grant_pin(&owner_acct(b)->grants, p.slot));
	assert_int_equal(auth_owner_revoke(b, "test"), 0);
	assert_int_equal(auth_owner_unbind(b, true), 1);
	assert_int_equal(shim_pages_in_use, out + 1);
	assert_int_equal(auth_unbind_withheld_pages(), w0 + 1);
	out = shim_pages_in_use;

	/* under the IOMMU: unmapped (confirmed) before it goes */
	shim_iommu_owner = 0;
	assert_int_equal(shim_owner_bind_fn(q, &dq, DMA_BACKEND_IOMMU), 0);
	assert_int_equal(dma_pool_create(q, PAGE_SIZE, 0, &p), 0);
	assert_true(grant_pin(&owner_acct(q)->grants, p.slot));
	assert_int_equal(auth_owner_revoke(q, "test"), 0);
	assert_int_equal(shim_iommu_mapped(), 1);
	assert_true(grant_unpin(&owner_acct(q)->grants, p.slot));
	assert_int_equal(auth_owner_unbind(q, true), 0);
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(shim_pages_in_use, out);
	assert_int_equal(shim_iommu_violations, 0);
	shim_iommu_owner = 0;
}

/* under the IOMMU: the pools are unmapped (confirmed) before they go and
 * the domain torn down; a unit that does not confirm the unmap keeps the
 * pages out */
static void test_unbind_iommu(void **st)
{
	const uint16_t o = 606, o2 = 607;
	static struct pci_dev d = {.bus = 0, .dev = 25, .owner = o};
	uint64_t out = shim_pages_in_use;
	shim_iommu_owner = 0;
	assert_int_equal(shim_owner_bind_fn(o, &d, DMA_BACKEND_IOMMU), 0);
	struct dma_pool p;
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, 0, &p), 0);
	assert_int_equal(shim_iommu_mapped(), 2);
	assert_int_equal(auth_owner_unbind(o, true), 0);
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(shim_iommu_owner, 0);
	assert_int_equal(shim_pages_in_use, out);
	/* the same function, a fresh owner, a fresh domain */
	assert_int_equal(shim_owner_bind_fn(o2, &d, DMA_BACKEND_IOMMU), 0);
	assert_int_equal(shim_iommu_owner, o2);
	assert_false(dma_owner_translated(o));
	assert_int_equal(dma_pool_create(o2, PAGE_SIZE, 0, &p), 0);
	/* unconfirmed: the pool's page and every table page the domain
	 * holds are counted withheld (before, 1 for the tables, whatever
	 * they were) */
	shim_iommu_fail_unmap = true;
	shim_iommu_table_pages = 4;
	uint64_t w0 = auth_unbind_withheld_pages();
	assert_int_equal(auth_owner_unbind(o2, true), 1);
	assert_int_equal(auth_unbind_withheld_pages(), w0 + 1 + 4);
	shim_iommu_fail_unmap = false;
	shim_iommu_table_pages = 1;
	assert_int_equal(shim_pages_in_use, out + 1);
	assert_int_equal(shim_iommu_violations, 0);
	shim_iommu_owner = 0;
}

/* A function with MSI and no MSI-X table has one interrupt, entry 0: the
 * kernel writes the message address and data into the MSI capability (the
 * data after the high address word when the function takes 64-bit
 * addresses), asks for one message, and keeps the capability disabled until
 * unmasked; mask, unmask and revoke go through its enable bit. */
static void test_irq_msi_only(void **st)
{
	const uint16_t o = 74;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 12, .owner = o};
	const uint8_t cap = 0x50;
	d.cfg = cfgsp;
	d.cap_msi = cap;
	pci_cfg_write16(&d, cap + PCI_MSI_FLAGS,
			PCI_MSI_FLAGS_64BIT | 0x30 | 0x0a); /* MME 3, MMC 5 */
	struct irq_cap c, x;
	bind_fn(o, &d);
	assert_int_equal(irq_bind(&d, o, 1, NULL, NULL, &x), -1);
	assert_int_equal(irq_bind(&d, o + 1, 0, NULL, NULL, &x), -1);
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &c), 0);
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &x), -1); /* once */
	uint16_t fl = pci_cfg_read16(&d, cap + PCI_MSI_FLAGS);
	assert_int_equal(fl, PCI_MSI_FLAGS_64BIT | 0x0a); /* MME 0, off */
	assert_int_equal(pci_cfg_read16(&d, cap + PCI_MSI_ADDR_LO),
			 MSI_ADDR_BASE & 0xffff);
	assert_int_equal(pci_cfg_read16(&d, cap + PCI_MSI_ADDR_LO + 2),
			 MSI_ADDR_BASE >> 16);
	assert_int_equal(pci_cfg_read16(&d, cap + PCI_MSI_ADDR_HI), 0);
	assert_int_equal(pci_cfg_read16(&d, cap + PCI_MSI_DATA_64), c.vector);
	assert_non_null(host_vectors[c.vector].fn);
	irq_unmask(&c);
	assert_true(pci_cfg_read16(&d, cap + PCI_MSI_FLAGS) &
		    PCI_MSI_FLAGS_ENABLE);
	irq_mask(&c);
	assert_false(pci_cfg_read16(&d, cap + PCI_MSI_FLAGS) &
		     PCI_MSI_FLAGS_ENABLE);
	irq_unmask(&c);
	irq_revoke(&c);
	assert_false(pci_cfg_read16(&d, cap + PCI_MSI_FLAGS) &
		     PCI_MSI_FLAGS_ENABLE);
	assert_null(host_vectors[c.vector].fn);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* An MSI capability whose structure, as long as its Message Control makes
 * it now, runs past 0xff gets no interrupt: irq_bind refuses it
 * (AUTH_NOT_GRANTED, one line, no vector) and writes nothing, where the
 * message address and data would have gone to the function's extended
 * configuration space (0x100 up). pci_probe_fn refuses such a capability
 * too; this is a device that measured 32-bit there and now says 64-bit.
 * One that fits at the same place binds. */
static void test_irq_msi_past_config_space(void **st)
{
	const uint16_t o = 78;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 14, .owner = o};
	const uint8_t cap = 0xf4;
	d.cfg = cfgsp;
	d.cap_msi = cap;
	pci_cfg_write16(&d, cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT);
	bind_fn(o, &d);
	uint64_t r0 = refused(AUTH_NOT_GRANTED);
	unsigned held = 0;
	for (unsigned v = 0; v < 256; v++)
		held += host_vectors[v].fn != NULL;
	struct irq_cap c;
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &c), -1);
	assert_int_equal(refused(AUTH_NOT_GRANTED), r0 + 1);
	for (unsigned v = 0; v < 256; v++)
		held -= host_vectors[v].fn != NULL;
	assert_int_equal(held, 0);
	assert_true(all_zero(cfgsp + cap + PCI_MSI_ADDR_LO,
			     sizeof(cfgsp) - cap - PCI_MSI_ADDR_LO));
	assert_int_equal(pci_cfg_read16(&d, cap + PCI_MSI_FLAGS),
			 PCI_MSI_FLAGS_64BIT);
	/* 32-bit: 10 bytes, to 0xfe */
	pci_cfg_write16(&d, cap + PCI_MSI_FLAGS, 0);
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &c), 0);
	assert_int_equal(pci_cfg_read16(&d, cap + PCI_MSI_DATA_32), c.vector);
	assert_true(all_zero(cfgsp + 0x100, sizeof(cfgsp) - 0x100));
	irq_revoke(&c);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* ---- a function whose memory decode follows its Command register ------
 * the table msix_dev places in bar_mem is what the CPU sees; with Memory
 * Space Enable clear the function takes no memory access (PCIe Base 5.0
 * §7.5.1.1.3): reads see all ones, writes are lost, and what the device
 * holds (and sends its messages by) is mse_table. A function whose
 * decode is stuck off keeps the bit clear whatever is written. */
static struct pci_dev *mse_dev;
static uint8_t mse_table[2 * PCI_MSIX_ENTRY_SIZE];
static bool mse_stuck_off, was_on;

static bool mse_on(void)
{
	return pci_cfg_read16(mse_dev, PCI_COMMAND) & PCI_COMMAND_MEM;
}

static void mse_model(const struct pci_dev *d, uint16_t off)
{
	if (d != mse_dev || off != PCI_COMMAND)
		return;
	if (mse_stuck_off)
		mse_dev->cfg[PCI_COMMAND] &= ~PCI_COMMAND_MEM;
	if (mse_on() == was_on)
		return;
	was_on = mse_on();
	if (was_on) { /* what the device holds shows */
		memcpy(bar_mem + 0x1000, mse_table, sizeof(mse_table));
	} else { /* what was written while on is the device's */
		memcpy(mse_table, bar_mem + 0x1000, sizeof(mse_table));
		memset(bar_mem + 0x1000, 0xff, sizeof(mse_table));
	}
}

/* entry i as the device holds it: field at byte off */
static uint32_t held(unsigned i, unsigned off)
{
	uint32_t v;
	memcpy(&v,
	       (mse_on() ? bar_mem + 0x1000 : mse_table) +
		   i * PCI_MSIX_ENTRY_SIZE + off,
	       4);
	return v;
}

/* An MSI-X table is written with memory decode on, whatever the Command
 * register says, and read back. Before, with Memory Space Enable clear
 * (firmware left it so, or a driver turned it off: pci_enable(d, false,
 * ...)) irq_bind's message and mask and every later mask were lost: the
 * device kept the address and unmasked entry firmware left, and an
 * interrupt the kernel had masked and revoked (its vector freed, to be
 * given to another owner) still fired. Memory decode is given back as it
 * was. A mask that cannot be written (the function's decode stays off)
 * masks the whole function by its Function Mask, one line, and the
 * function gets no more interrupts. */
static void test_irq_msix_memory_decode_off(void **st)
{
	const uint16_t o = 77;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 15, .owner = o};
	d.cfg = cfgsp;
	msix_dev(&d);
	memset(cfgsp, 0, sizeof(cfgsp));
	mse_dev = &d;
	mse_stuck_off = was_on = false;
	/* firmware left both entries unmasked, pointing at RAM; MSE off */
	memset(mse_table, 0, sizeof(mse_table));
	uint32_t ram = 0x100000;
	memcpy(mse_table + PCI_MSIX_ENTRY_ADDR_LO, &ram, 4);
	memcpy(mse_table + PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_ADDR_LO, &ram,
	       4);
	memset(bar_mem + 0x1000, 0xff, sizeof(mse_table));
	host_cfg_written = mse_model;
	struct irq_cap a, b;
	bind_fn(o, &d);
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &a), 0);
	assert_false(mse_on()); /* given back */
	assert_int_equal(held(0, PCI_MSIX_ENTRY_ADDR_LO), MSI_ADDR_BASE);
	assert_int_equal(held(0, PCI_MSIX_ENTRY_DATA), a.vector);
	assert_int_equal(held(0, PCI_MSIX_ENTRY_CTRL), 1);
	irq_unmask(&a);
	assert_int_equal(held(0, PCI_MSIX_ENTRY_CTRL), 0);
	irq_mask(&a);
	assert_int_equal(held(0, PCI_MSIX_ENTRY_CTRL), 1);
	irq_unmask(&a);
	irq_revoke(&a);
	assert_int_equal(held(0, PCI_MSIX_ENTRY_CTRL), 1);
	assert_false(mse_on());
	/* with memory decode on the same holds, and it stays on */
	pci_cfg_write16(&d, PCI_COMMAND, PCI_COMMAND_MEM);
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &a), 0);
	irq_unmask(&a);
	assert_int_equal(held(0, PCI_MSIX_ENTRY_CTRL), 0);
	assert_true(mse_on());
	/* the driver turns decode off, and now it stays off: a's mask is
	 * lost, so the Function Mask masks every vector; entry 1's bind is
	 * refused (no vector kept) */
	mse_stuck_off = true;
	pci_cfg_write16(&d, PCI_COMMAND, 0);
	irq_mask(&a);
	assert_int_equal(held(0, PCI_MSIX_ENTRY_CTRL), 0); /* lost */
	assert_true(d.msix_fn_masked);
	assert_true(pci_cfg_read16(&d, 0x70 + PCI_MSIX_FLAGS) &
		    PCI_MSIX_FLAGS_MASKALL);
	unsigned held_v = 0;
	for (unsigned v = 0; v < 256; v++)
		held_v += host_vectors[v].fn != NULL;
	assert_int_equal(irq_bind(&d, o, 1, NULL, NULL, &b), -1);
	for (unsigned v = 0; v < 256; v++)
		held_v -= host_vectors[v].fn != NULL;
	assert_int_equal(held_v, 0);
	mse_stuck_off = false;
	assert_int_equal(irq_bind(&d, o, 1, NULL, NULL, &b), -1);
	irq_unmask(&a); /* the Function Mask stays */
	assert_true(pci_cfg_read16(&d, 0x70 + PCI_MSIX_FLAGS) &
		    PCI_MSIX_FLAGS_MASKALL);
	irq_revoke(&a);
	host_cfg_written = NULL;
	mse_dev = NULL;
	assert_int_equal(host_vector_bad_frees, 0);
}

/* A DMA fault quarantines the owner in the IOMMU's interrupt; the safe
 * point (auth_poll) revokes it later. In between, irq_bind refuses it as
 * revoked (one counted AUTH_REVOKED refusal) and takes nothing: no CPU
 * vector, no ask for an interrupt remapping entry, no MSI-X entry
 * written. Before, the quarantined owner was bound a new interrupt (its
 * IRTE made, the table entry programmed) until auth_poll ran. */
static void test_irq_quarantined(void **st)
{
	const uint16_t o = 75;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 13};
	d.cfg = cfgsp;
	msix_dev(&d);
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
	assert_int_equal(shim_owner_bind_fn(o, &d, DMA_BACKEND_IOMMU), 0);
	struct irq_cap a, c;
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &a), 0);
	shim_iommu_fault(); /* quarantined, not yet revoked */
	assert_false(auth_owner_revoked(o));
	uint64_t r0 = refused(AUTH_REVOKED);
	unsigned asks = host_irte_asks, held = 0;
	for (unsigned v = 0; v < 256; v++)
		held += host_vectors[v].fn != NULL;
	assert_int_equal(irq_bind(&d, o, 1, NULL, NULL, &c), -1);
	assert_int_equal(refused(AUTH_REVOKED), r0 + 1);
	assert_int_equal(c.slot, 0);
	assert_int_equal(host_irte_asks, asks);
	for (unsigned v = 0; v < 256; v++)
		held -= host_vectors[v].fn != NULL;
	assert_int_equal(held, 0);
	assert_true(all_zero(bar_mem + 0x1000 + PCI_MSIX_ENTRY_SIZE,
			     PCI_MSIX_ENTRY_SIZE));
	/* the safe point revokes (a's interrupt with it); reinstated on
	 * purpose, the owner binds again */
	assert_int_equal(auth_poll(), 1);
	assert_null(host_vectors[a.vector].fn);
	assert_int_equal(auth_owner_reinstate(o), 0);
	assert_int_equal(irq_bind(&d, o, 1, NULL, NULL, &c), 0);
	irq_revoke(&c);
	assert_int_equal(host_vector_bad_frees, 0);
	shim_iommu_owner = 0;
}

/* an owner is exactly its function, so bind refuses a function that names
 * another owner, or none (d->owner): one line, nothing bound, the function
 * not taken (its own owner binds it after). Before, the bind succeeded and
 * the owner got nothing of its function (auth_owner_function is false). */
static void test_bind_function_names_owner(void **st)
{
	const uint16_t o = 81, other = 82;
	static struct pci_dev d = {.bus = 0, .dev = 18};
	struct auth_owner_facts f = {.backend = DMA_BACKEND_UNVALIDATED,
				     .d = &d};
	uint64_t lines = shim_kprintf_calls;
	d.owner = other;
	assert_int_equal(auth_owner_bind(o, &f), -1);
	assert_int_equal(shim_kprintf_calls, lines + 1);
	assert_non_null(strstr(shim_last_line, "names owner 82"));
	d.owner = 0;
	assert_int_equal(auth_owner_bind(o, &f), -1);
	assert_int_equal(shim_kprintf_calls, lines + 2);
	assert_null(auth_owner_facts(o));
	assert_null(dma_owner_acct(o));
	assert_false(auth_owner_function(o, &d));
	assert_int_equal(shim_owner_bind_fn(o, &d, DMA_BACKEND_UNVALIDATED), 0);
	assert_true(auth_owner_function(o, &d));
}

/* An owner is one function. Binding a second owner to a function another
 * owner holds is refused (one line, the first owner's facts as they were,
 * the second not bound), and a second function naming an owner (d->owner)
 * gets no Interrupt and no DeviceMmio window of it (AUTH_NOT_GRANTED,
 * nothing taken): the owner's revocation stops its one function only.
 * Before, both bound, and the second function got both. */
static void test_owner_is_one_function(void **st)
{
	const uint16_t o = 79, other = 80;
	static uint8_t cfg1[4096], cfg2[4096];
	static struct pci_dev d = {.bus = 0, .dev = 16},
			      second = {.bus = 0, .dev = 17};
	d.cfg = cfg1;
	second.cfg = cfg2;
	msix_dev(&second);
	bind_fn(o, &d);
	/* d renamed to another owner while o holds it */
	d.owner = other;
	struct auth_owner_facts f = {.backend = DMA_BACKEND_UNVALIDATED,
				     .d = &d};
	assert_int_equal(auth_owner_bind(other, &f), -1);
	assert_non_null(strstr(shim_last_line, "owner 79's"));
	assert_null(auth_owner_facts(other));
	d.owner = o;
	assert_ptr_equal(auth_owner_facts(o)->d, &d);
	assert_true(auth_owner_function(o, &d));

	second.owner = o;
	assert_false(auth_owner_function(o, &second));
	uint64_t ng = refused(AUTH_NOT_GRANTED);
	unsigned held = 0;
	for (unsigned v = 0; v < 256; v++)
		held += host_vectors[v].fn != NULL;
	struct irq_cap c;
	struct dev_mmio m;
	assert_int_equal(irq_bind(&second, o, 0, NULL, NULL, &c), -1);
	assert_int_equal(mmio_grant(&second, o, 0, 0, 0x100, MMIO_READ, &m),
			 -1);
	assert_int_equal(refused(AUTH_NOT_GRANTED), ng + 2);
	assert_int_equal(c.slot, 0);
	assert_int_equal(m.len, 0);
	for (unsigned v = 0; v < 256; v++)
		held -= host_vectors[v].fn != NULL;
	assert_int_equal(held, 0);
	assert_true(all_zero(bar_mem, sizeof(bar_mem))); /* table untouched */
}

/* ---- kernel memory for a driver's own state ----------------------------- */
static void test_kmem(void **st)
{
	const uint16_t o = 60;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	uint64_t nomem = refused(AUTH_NO_MEMORY);
	assert_null(auth_kmem_alloc(o, 0));
	assert_int_equal(refused(AUTH_NO_MEMORY), nomem + 1);
	uint8_t *a = auth_kmem_alloc(o, 100);
	assert_non_null(a);
	assert_true(all_zero(a, PAGE_SIZE));
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_KMEM], PAGE_SIZE);
	/* kernel memory is not DMA memory: no pool, no grant */
	assert_int_equal(dma_owner_ngrants(owner_acct(o)), 0);
	assert_false(dma_owner_covers(o, (uintptr_t)a, 1));
	size_t rest = DMA_OWNER_KMEM_MAX - PAGE_SIZE;
	uint8_t *b = auth_kmem_alloc(o, rest);
	assert_non_null(b);
	uint64_t over = refused(AUTH_OVER_QUOTA);
	assert_null(auth_kmem_alloc(o, 1));
	assert_int_equal(refused(AUTH_OVER_QUOTA), over + 1);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_KMEM],
			 DMA_OWNER_KMEM_MAX);
	/* kernel memory and pool memory are separate quotas */
	struct dma_pool p;
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p), 0);
	assert_int_equal(dma_pool_revoke(&p), 0);
	auth_kmem_free(o, b, rest);
	auth_kmem_free(o, a, 100);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_KMEM], 0);
	a = auth_kmem_alloc(o, DMA_OWNER_KMEM_MAX);
	assert_non_null(a);
	auth_kmem_free(o, a, DMA_OWNER_KMEM_MAX);
	auth_kmem_free(o, NULL, 100); /* nothing */
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_KMEM], 0);
}

/* kernel memory the page allocator cannot give: NULL, the charge taken
 * back and counted as no memory (a quota large enough that only the
 * allocator says no). Mutation testing found nothing held this: the
 * refusal turned into (void *)1 survived every test and fuzzer */
static void test_kmem_no_memory(void **st)
{
	const uint16_t o = 201;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	owner_acct(o)->max[DMA_CHARGE_KMEM] = 1ull << 40;
	uint64_t nomem = refused(AUTH_NO_MEMORY), out = shim_pages_in_use;
	assert_null(auth_kmem_alloc(o, (size_t)1 << 38)); /* 256 GiB */
	assert_int_equal(refused(AUTH_NO_MEMORY), nomem + 1);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_KMEM], 0);
	assert_int_equal(shim_pages_in_use, out);
	owner_acct(o)->max[DMA_CHARGE_KMEM] = DMA_OWNER_KMEM_MAX;
}

/* a carve's alignment of 1 is a power of two and is kept: carves pack
 * byte by byte. Mutation testing found nothing held it (the power-of-two
 * test made to turn 1 into the default 8 survived) */
static void test_carve_align_one(void **st)
{
	const uint16_t o = 202;
	struct dma_pool p;
	struct dma_buf a, b;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p), 0);
	assert_int_equal(dma_pool_carve(&p, 3, 1, &a), 0);
	assert_int_equal(dma_pool_carve(&p, 1, 1, &b), 0);
	assert_int_equal(b.iova, a.iova + 3);
	assert_int_equal(dma_pool_carve(&p, 1, 3, &b), 0); /* not a power */
	assert_int_equal(b.iova, a.iova + 8);
	assert_int_equal(dma_pool_revoke(&p), 0);
}

/* auth_kmem_free gives back only the caller's own allocation, whole and
 * once: another owner's memory, a pool's pages, a length that is not the
 * allocation's, a page inside it, something that is no memory and a second
 * free are refused (AUTH_NOT_GRANTED) and free nothing. Before, each was
 * freed (or the page allocator panicked): another driver's state or a live
 * pool went back to the allocator under its holder. Found by
 * fuzz_authority_seq. */
static void test_kmem_free_not_given(void **st)
{
	const uint16_t o = 62, other = 63;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	assert_int_equal(shim_owner_bind(other, DMA_BACKEND_UNVALIDATED, 0), 0);
	uint8_t *a = auth_kmem_alloc(o, 2 * PAGE_SIZE);
	uint8_t *b = auth_kmem_alloc(other, 100);
	struct dma_pool p;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p), 0);
	a[0] = b[0] = p.va[0] = 0x3c;
	uint64_t pages = shim_pages_in_use;
	uint64_t ng = refused(AUTH_NOT_GRANTED);
	auth_kmem_free(o, b, 100);	       /* another owner's */
	auth_kmem_free(o, p.va, PAGE_SIZE);    /* a live pool */
	auth_kmem_free(o, a, PAGE_SIZE);       /* not the whole of it */
	auth_kmem_free(o, a + PAGE_SIZE, 1);   /* its second page */
	auth_kmem_free(o, a, 3 * PAGE_SIZE);   /* past its end */
	auth_kmem_free(o, bar_mem, PAGE_SIZE); /* no memory at all */
	auth_kmem_free(99, a, 2 * PAGE_SIZE);  /* an owner nobody bound */
	assert_int_equal(refused(AUTH_NOT_GRANTED), ng + 7);
	assert_int_equal(shim_pages_in_use, pages);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_KMEM], 2 * PAGE_SIZE);
	assert_int_equal(owner_acct(other)->use[DMA_CHARGE_KMEM], PAGE_SIZE);
	assert_true(dma_pool_live(&p));
	assert_int_equal(a[0] + b[0] + p.va[0], 3 * 0x3c); /* all still there */
	auth_kmem_free(o, a, 2 * PAGE_SIZE);
	assert_int_equal(shim_pages_in_use, pages - 2);
	auth_kmem_free(o, a, 2 * PAGE_SIZE); /* twice */
	assert_int_equal(refused(AUTH_NOT_GRANTED), ng + 8);
	assert_int_equal(shim_pages_in_use, pages - 2);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_KMEM], 0);
	auth_kmem_free(other, b, 100);
	assert_int_equal(dma_pool_revoke(&p), 0);
	/* at most AUTH_KMEM_ALLOCS allocations live per owner */
	uint8_t *k[AUTH_KMEM_ALLOCS];
	for (unsigned i = 0; i < AUTH_KMEM_ALLOCS; i++)
		assert_non_null(k[i] = auth_kmem_alloc(o, 1));
	uint64_t over = refused(AUTH_OVER_QUOTA);
	assert_null(auth_kmem_alloc(o, 1));
	assert_int_equal(refused(AUTH_OVER_QUOTA), over + 1);
	auth_kmem_free(o, k[3], 1);
	assert_non_null(k[3] = auth_kmem_alloc(o, 1));
	for (unsigned i = 0; i < AUTH_KMEM_ALLOCS; i++)
		auth_kmem_free(o, k[i], 1);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_KMEM], 0);
}

/* A revoked owner gets nothing new until it is reinstated, kernel memory
 * included: auth_kmem_alloc is refused (AUTH_REVOKED) and charges nothing,
 * while a free of what it holds still gives it back. Before, a revoked
 * driver went on allocating up to its quota. */
static void test_kmem_revoked(void **st)
{
	const uint16_t o = 64;
	assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0), 0);
	uint8_t *a = auth_kmem_alloc(o, PAGE_SIZE);
	assert_non_null(a);
	assert_int_equal(auth_owner_revoke(o, "test"), 0);
	uint64_t r0 = refused(AUTH_REVOKED), pages = shim_pages_in_use;
	assert_null(auth_kmem_alloc(o, PAGE_SIZE));
	assert_int_equal(refused(AUTH_REVOKED), r0 + 1);
	assert_int_equal(shim_pages_in_use, pages);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_KMEM], PAGE_SIZE);
	auth_kmem_free(o, a, PAGE_SIZE); /* giving back is still allowed */
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_KMEM], 0);
	assert_int_equal(shim_pages_in_use, pages - 1);
	assert_int_equal(auth_owner_reinstate(o), 0);
	a = auth_kmem_alloc(o, PAGE_SIZE);
	assert_non_null(a);
	auth_kmem_free(o, a, PAGE_SIZE);
}

/* ---- refusal names and counters ----------------------------------------- */
static void test_reasons(void **st)
{
	for (int r = 0; r < AUTH_NREASONS; r++) {
		const char *n = auth_reason_name(r);
		assert_non_null(n);
		assert_string_not_equal(n, "?");
		for (int s = 0; s < r; s++)
			assert_string_not_equal(n, auth_reason_name(s));
	}
	assert_string_equal(auth_reason_name(AUTH_NREASONS), "?");
	assert_string_equal(auth_reason_name(AUTH_OVER_QUOTA), "over-quota");
	uint64_t before = refused(AUTH_MISALIGNED);
	for (int i = 0; i < 10; i++) /* past the printed few: still counted */
		auth_refuse(AUTH_MISALIGNED, 3, "test");
	assert_int_equal(refused(AUTH_MISALIGNED), before + 10);
}

/* an owner's charges: a charge that would pass the limit or wrap is
 * refused and counted, a charge of nothing is no charge refused, a kind
 * outside the table changes nothing, charged or uncharged, and is named
 * "?" (dma/owner.c) */
static void test_dma_owner_charge(void **st)
{
	(void)st;
	struct dma_owner o, before;
	dma_owner_init(&o);
	assert_true(dma_owner_charge(&o, DMA_CHARGE_KMEM, 0));
	assert_true(dma_owner_charge(&o, DMA_CHARGE_KMEM, DMA_OWNER_KMEM_MAX));
	assert_true(
	    dma_owner_charge(&o, DMA_CHARGE_KMEM, 0)); /* at the limit */
	assert_int_equal(o.over[DMA_CHARGE_KMEM], 0);
	assert_false(dma_owner_charge(&o, DMA_CHARGE_KMEM, 1));
	assert_int_equal(o.over[DMA_CHARGE_KMEM], 1);
	memcpy(&before, &o, sizeof(o));
	assert_false(dma_owner_charge(&o, DMA_CHARGE_N, 1));
	assert_false(dma_owner_charge(&o, (enum dma_charge) - 1, 1));
	assert_memory_equal(&before, &o, sizeof(o));
	/* nor does an uncharge of one (mutation testing: without the kind
	 * guard, or with it one off, every test passed; use[DMA_CHARGE_N]
	 * is past the array) */
	dma_owner_uncharge(&o, DMA_CHARGE_N, 1);
	dma_owner_uncharge(&o, (enum dma_charge) - 1, 1);
	assert_memory_equal(&before, &o, sizeof(o));
	dma_owner_uncharge(&o, DMA_CHARGE_KMEM, DMA_OWNER_KMEM_MAX + 1);
	assert_int_equal(o.use[DMA_CHARGE_KMEM], 0); /* never below zero */
}

/* slots the table can still issue: free, generation not retired */
static unsigned slots_issuable(void)
{
	unsigned n = 0;
	for (int i = 1; i < AUTH_SLOTS; i++)
		n += auth_slots[i].kind == AUTH_FREE &&
		     auth_slots[i].gen < UINT32_MAX - 1;
	return n;
}

static unsigned vectors_held(void)
{
	unsigned n = 0;
	for (unsigned v = 0; v < 256; v++)
		n += host_vectors[v].fn != NULL;
	return n;
}

/* The rest of a full table: one owner holds at most AUTH_OWNER_SLOTS, so
 * the tests that fill the table fill it with windows of filler owners id0,
 * id0 + 1, ..., AUTH_OWNER_SLOTS each, every one on a function of its own
 * over the same BAR. fill_grant grants the fill's window i (its owner by
 * i) at off; fill_unbind unbinds the fillers, which takes their windows */
#define FILL_OWNERS (AUTH_SLOTS / AUTH_OWNER_SLOTS + 1)
struct fill {
	uint16_t id0;
	struct pci_dev d[FILL_OWNERS];
	bool bound[FILL_OWNERS];
};
static int fill_grant(struct fill *f, unsigned i, uint64_t off,
		      struct dev_mmio *m)
{
	unsigned k = i / AUTH_OWNER_SLOTS;
	uint16_t id = (uint16_t)(f->id0 + k);
	assert_true(k < FILL_OWNERS);
	if (!f->bound[k]) {
		f->d[k] =
		    (struct pci_dev){.bus = 7, .dev = (uint8_t)k, .owner = id};
		f->d[k].bar[0].base = BAR_BASE;
		f->d[k].bar[0].size = sizeof(bar_mem);
		bind_fn(id, &f->d[k]);
		f->bound[k] = true;
	}
	return mmio_grant(&f->d[k], id, 0, off, 8, MMIO_READ | MMIO_WRITE, m);
}
static void fill_unbind(struct fill *f)
{
	for (unsigned k = 0; k < FILL_OWNERS; k++)
		if (f->bound[k]) {
			assert_int_equal(
			    auth_owner_unbind((uint16_t)(f->id0 + k), true), 0);
			f->bound[k] = false;
		}
}

/* One owner holds at most AUTH_OWNER_SLOTS capabilities: past them its
 * window and interrupt are refused (over-quota, one line, nothing taken)
 * while the table has room, and another owner still gets both; a revoke
 * lets the owner in again. Before, one driver could take every slot of the
 * table and no other driver got a window or an interrupt (the 17th grant
 * was given) */
static void test_slots_owner_quota(void **st)
{
	const uint16_t a = 5300, b = 5301;
	static uint8_t cfga[4096], cfgb[4096];
	static struct pci_dev da = {.bus = 0, .dev = 24, .owner = a};
	static struct pci_dev db = {.bus = 8, .dev = 24, .owner = b};
	static struct dev_mmio m[AUTH_OWNER_SLOTS];
	struct dev_mmio extra, mb;
	struct irq_cap ic, icb;
	da.cfg = cfga;
	msix_dev(&da);
	db = da;
	db.bus = 8;
	db.owner = b;
	db.cfg = cfgb;
	bind_fn(a, &da);
	bind_fn(b, &db);
	const unsigned free0 = slots_issuable(), vecs = vectors_held();
	for (unsigned i = 0; i < AUTH_OWNER_SLOTS; i++)
		assert_int_equal(
		    mmio_grant(&da, a, 0, 8 * i, 8, MMIO_READ, &m[i]), 0);
	uint64_t over = refused(AUTH_OVER_QUOTA), full = auth_slots_full;
	uint64_t lines = shim_kprintf_calls;
	assert_int_equal(mmio_grant(&da, a, 0, 0x800, 8, MMIO_READ, &extra),
			 -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "AUTH_OWNER_SLOTS"));
	assert_int_equal(irq_bind(&da, a, 0, NULL, NULL, &ic), -1);
	assert_int_equal(refused(AUTH_OVER_QUOTA), over + 2);
	assert_int_equal(auth_slots_full, full); /* the table had room */
	assert_int_equal(extra.slot, 0);
	assert_int_equal(ic.slot, 0);
	assert_int_equal(vectors_held(), vecs);
	assert_int_equal(slots_issuable(), free0 - AUTH_OWNER_SLOTS);
	/* another owner is served */
	assert_int_equal(mmio_grant(&db, b, 0, 0x800, 8, MMIO_READ, &mb), 0);
	assert_int_equal(irq_bind(&db, b, 0, NULL, NULL, &icb), 0);
	/* one of a's revoked: its interrupt gets the slot */
	mmio_revoke(&m[0]);
	assert_int_equal(irq_bind(&da, a, 0, NULL, NULL, &ic), 0);
	irq_revoke(&ic);
	irq_revoke(&icb);
	mmio_revoke(&mb);
	for (unsigned i = 1; i < AUTH_OWNER_SLOTS; i++)
		mmio_revoke(&m[i]);
	assert_int_equal(slots_issuable(), free0);
	assert_int_equal(vectors_held(), vecs);
	assert_int_equal(host_vector_bad_frees, 0);
	assert_int_equal(auth_owner_unbind(a, true), 0);
	assert_int_equal(auth_owner_unbind(b, true), 0);
}

/* The authority table full: every slot it can issue holds a window. One
 * more window or interrupt is refused with one line (AUTH_NO_MEMORY,
 * auth_slots_full), nothing half-made — no slot, no CPU vector, no
 * remapping entry asked for, the MSI-X entry untouched; a refusal after
 * that is counted and said only at powers of two. Revoking one window
 * lets the next request in, in that slot. Before, a full table refused
 * with no line at all (mmio_grant and irq_bind returned -1 silently) */
static void test_slots_exhausted(void **st)
{
	const uint16_t o = 208;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 22, .owner = o};
	static struct dev_mmio m[AUTH_SLOTS];
	struct dev_mmio extra;
	struct irq_cap ic;
	d.cfg = cfgsp;
	msix_dev(&d);
	bind_fn(o, &d);
	const unsigned usable = slots_issuable();
	assert_true(usable > 100);
	/* o's windows leave it room for one interrupt; fillers the rest */
	const unsigned own = AUTH_OWNER_SLOTS - 1;
	static struct fill fl = {.id0 = 5000};
	for (unsigned i = 0; i < usable; i++)
		assert_int_equal(i < own
				     ? mmio_grant(&d, o, 0, 8 * i, 8,
						  MMIO_READ | MMIO_WRITE, &m[i])
				     : fill_grant(&fl, i - own, 8 * i, &m[i]),
				 0);
	assert_int_equal(slots_issuable(), 0);

	/* one more window: one line, nothing granted */
	uint64_t nomem = refused(AUTH_NO_MEMORY), full = auth_slots_full;
	uint64_t lines = shim_kprintf_calls;
	assert_int_equal(mmio_grant(&d, o, 0, 0x800, 8, MMIO_READ, &extra), -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "AUTH_SLOTS"));
	assert_int_equal(refused(AUTH_NO_MEMORY), nomem + 1);
	assert_int_equal(auth_slots_full, full + 1);
	assert_int_equal(extra.slot, 0);
	assert_int_equal(extra.len, 0);
	assert_null(extra.va);
	/* one more interrupt: one line, no vector, no remapping entry, the
	 * MSI-X table and capability as they were */
	unsigned vecs = vectors_held(), irtes = host_irte_asks;
	uint8_t tab[2 * PCI_MSIX_ENTRY_SIZE], cfg[4096];
	memcpy(tab, bar_mem + 0x1000, sizeof(tab));
	memcpy(cfg, cfgsp, sizeof(cfg));
	lines = shim_kprintf_calls;
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &ic), -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_int_equal(auth_slots_full, full + 2);
	assert_int_equal(ic.slot, 0);
	assert_int_equal(vectors_held(), vecs);
	assert_int_equal(host_irte_asks, irtes);
	assert_memory_equal(tab, bar_mem + 0x1000, sizeof(tab));
	assert_memory_equal(cfg, cfgsp, sizeof(cfg));
	/* a driver that keeps asking is counted every time and said of a
	 * bounded number of times (auth_refused: the owner's no-memory
	 * row): refusals 3 and 4 get their line, the 5th says the rest are
	 * counted, 6..100 nothing */
	lines = shim_kprintf_calls;
	for (unsigned i = 0; i < 98; i++)
		assert_int_equal(
		    mmio_grant(&d, o, 0, 0x800, 8, MMIO_READ, &extra), -1);
	assert_int_equal(auth_slots_full, full + 100);
	assert_int_equal(refused(AUTH_NO_MEMORY), nomem + 100);
	assert_int_equal(shim_kprintf_calls - lines, AUTH_REFUSAL_LINES - 1);
	assert_non_null(strstr(shim_last_line, "further no-memory refusals"));
	/* every window still works */
	for (unsigned i = 0; i < usable; i++)
		assert_true(mmio_write8(&m[i], 0, (uint8_t)i));
	for (unsigned i = 0; i < usable; i++)
		assert_int_equal(bar_mem[8 * i], (uint8_t)i);

	/* one (a filler's) revoked: the interrupt gets its slot, then the
	 * table is full again; the interrupt revoked, the window comes back */
	const unsigned k = usable / 2;
	const uint16_t freed = m[k].slot;
	mmio_revoke(&m[k]);
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &ic), 0);
	assert_int_equal(ic.slot, freed);
	assert_int_equal(mmio_grant(&d, o, 0, 0x800, 8, MMIO_READ, &extra), -1);
	irq_revoke(&ic);
	assert_int_equal(vectors_held(), vecs);
	assert_int_equal(fill_grant(&fl, k - own, 8 * k, &m[k]), 0);
	assert_int_equal(m[k].slot, freed);
	assert_int_equal(slots_issuable(), 0);
	for (unsigned i = 0; i < usable; i++)
		mmio_revoke(&m[i]);
	fill_unbind(&fl);
	assert_int_equal(slots_issuable(), usable);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* A full table taken by an owner revocation, the driver's own deletes of
 * its seized copies, and the table filled again: every slot comes back,
 * none stays stale. The revocation frees every slot and the interrupt's
 * vector; a seized copy stays refused (owner-revoked) and its delete
 * frees nothing; after reinstatement the owner fills the whole table
 * again, under new generations, and no old copy reaches a new window */
static void test_slots_full_revoked(void **st)
{
	const uint16_t o = 209;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 23, .owner = o};
	static struct dev_mmio m[AUTH_SLOTS], old[AUTH_SLOTS];
	struct irq_cap ic, oldic;
	d.cfg = cfgsp;
	msix_dev(&d);
	bind_fn(o, &d);
	const unsigned usable = slots_issuable(), vecs = vectors_held();
	assert_true(usable > 100);
	/* o holds its AUTH_OWNER_SLOTS (an interrupt and windows), fillers
	 * the rest of the table */
	const unsigned own = AUTH_OWNER_SLOTS - 1;
	static struct fill fl = {.id0 = 5100};
	static struct dev_mmio fm[AUTH_SLOTS];
	assert_int_equal(irq_bind(&d, o, 1, NULL, NULL, &ic), 0);
	for (unsigned i = 0; i < own; i++)
		assert_int_equal(mmio_grant(&d, o, 0, 8 * i, 8,
					    MMIO_READ | MMIO_WRITE, &m[i]),
				 0);
	for (unsigned i = 0; i + AUTH_OWNER_SLOTS < usable; i++)
		assert_int_equal(fill_grant(&fl, i, 8 * (own + i), &fm[i]), 0);
	assert_int_equal(slots_issuable(), 0);
	memcpy(old, m, sizeof(m));
	oldic = ic;

	/* revoke: every slot of o back, the vector freed */
	assert_int_equal(auth_owner_revoke(o, "test"), 0);
	assert_int_equal(slots_issuable(), AUTH_OWNER_SLOTS);
	assert_int_equal(vectors_held(), vecs);
	for (int i = 1; i < AUTH_SLOTS; i++)
		assert_false(auth_slots[i].kind != AUTH_FREE &&
			     auth_slots[i].owner == o);
	/* delete: the driver's own revokes of its seized copies are refused
	 * as owner-revoked and free nothing */
	uint64_t rv = refused(AUTH_REVOKED);
	for (unsigned i = 0; i < own; i++)
		mmio_revoke(&m[i]);
	irq_revoke(&ic);
	assert_int_equal(refused(AUTH_REVOKED), rv + AUTH_OWNER_SLOTS);
	assert_int_equal(host_vector_bad_frees, 0);
	assert_int_equal(slots_issuable(), AUTH_OWNER_SLOTS);
	/* re-bind: refused while revoked, o's share of the table once
	 * reinstated, and not a slot more */
	assert_int_equal(mmio_grant(&d, o, 0, 0, 8, MMIO_READ, &m[0]), -1);
	assert_int_equal(auth_owner_reinstate(o), 0);
	for (unsigned i = 0; i < AUTH_OWNER_SLOTS; i++)
		assert_int_equal(mmio_grant(&d, o, 0, 8 * i, 8,
					    MMIO_READ | MMIO_WRITE, &m[i]),
				 0);
	assert_int_equal(slots_issuable(), 0);
	memset(bar_mem, 0, 8 * usable);
	for (unsigned i = 0; i < own; i++) {
		assert_false(mmio_write8(&old[i], 0, 0xee));
		assert_int_equal(mmio_read8(&old[i], 0), 0xff);
		mmio_revoke(&old[i]); /* frees nothing */
	}
	irq_revoke(&oldic);
	assert_true(all_zero(bar_mem, 8 * usable));
	assert_int_equal(slots_issuable(), 0);
	for (unsigned i = 0; i < AUTH_OWNER_SLOTS; i++)
		assert_true(mmio_write8(&m[i], 0, 0x5a));
	for (unsigned i = 0; i < AUTH_OWNER_SLOTS; i++)
		mmio_revoke(&m[i]);
	fill_unbind(&fl);
	assert_int_equal(slots_issuable(), usable);
	assert_int_equal(vectors_held(), vecs);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* A 64-bit access at a window's end: the last 8 bytes are the window's,
 * written low half first and read back whole; one starting 4 bytes before
 * the end would cross it and is refused (out-of-window, counted before
 * alignment), touching nothing past it; offsets near 2^32 (the offset is
 * 32 bits: offset plus width is summed in 64) are refused, not wrapped
 * into the window. A window whose length is no multiple of 8 has no
 * 64-bit access over its last bytes. Mutation testing left the bound
 * untested at the end */
static void test_mmio64_window_end(void **st)
{
	const uint16_t o = 210;
	static struct pci_dev d = {.bus = 0, .dev = 24, .owner = o};
	struct dev_mmio m, n;
	d.bar[0].base = BAR_BASE;
	d.bar[0].size = sizeof(bar_mem);
	bind_fn(o, &d);
	memset(bar_mem, 0, sizeof(bar_mem));
	assert_int_equal(
	    mmio_grant(&d, o, 0, 0x100, 0x100, MMIO_READ | MMIO_WRITE, &m), 0);
	const uint64_t v = 0x1122334455667788ull;
	assert_true(mmio_ok(&m, 0xf8, 8, true));
	assert_true(mmio_write64(&m, 0xf8, v));
	assert_int_equal(bar_mem[0x1f8], 0x88);
	assert_int_equal(bar_mem[0x1ff], 0x11);
	assert_int_equal(mmio_read64(&m, 0xf8), v);
	assert_int_equal(mmio_read32(&m, 0xfc), 0x11223344u);

	uint64_t out = refused(AUTH_OUT_OF_WINDOW),
		 mis = refused(AUTH_MISALIGNED);
	assert_false(mmio_ok(&m, 0xfc, 8, false));
	assert_false(mmio_write64(&m, 0xfc, ~0ull));
	assert_int_equal(mmio_read64(&m, 0xfc), ~0ull);
	assert_int_equal(refused(AUTH_OUT_OF_WINDOW), out + 2);
	assert_int_equal(refused(AUTH_MISALIGNED), mis);
	assert_true(all_zero(bar_mem + 0x200, 0x100));
	assert_int_equal(mmio_read64(&m, 0xf8), v);
	/* at the end, and past it */
	const uint32_t far[] = {0x100,	    0x104,	0x1f8,	    0x7ffffff8,
				0xfffffff0, 0xfffffff8, 0xfffffffc, 0xffffffff};
	for (unsigned i = 0; i < ARRAY_SIZE(far); i++) {
		out = refused(AUTH_OUT_OF_WINDOW);
		assert_false(mmio_ok(&m, far[i], 8, false));
		assert_false(mmio_write64(&m, far[i], 0));
		assert_int_equal(mmio_read64(&m, far[i]), ~0ull);
		assert_false(mmio_write32(&m, far[i], 0));
		assert_int_equal(refused(AUTH_OUT_OF_WINDOW), out + 3);
	}
	assert_true(all_zero(bar_mem, 0x100));
	assert_true(all_zero(bar_mem + 0x200, sizeof(bar_mem) - 0x200));
	mmio_revoke(&m);

	/* 0x10c bytes: 8 bytes at 0x100 fit, at 0x108 they would not; 4
	 * bytes at 0x108 do */
	assert_int_equal(
	    mmio_grant(&d, o, 0, 0, 0x10c, MMIO_READ | MMIO_WRITE, &n), 0);
	assert_true(mmio_write64(&n, 0x100, v));
	out = refused(AUTH_OUT_OF_WINDOW);
	assert_false(mmio_write64(&n, 0x108, v));
	assert_int_equal(refused(AUTH_OUT_OF_WINDOW), out + 1);
	assert_true(mmio_write32(&n, 0x108, 0xa5a5a5a5u));
	assert_int_equal(bar_mem[0x10c], 0);
	mmio_revoke(&n);
}

/* A window may start at any BAR offset (a virtio ISR structure has no
 * alignment), and an access is aligned on the device, at the window's
 * start plus its offset, not within the window: through a window at BAR
 * offset 0x101 a 4-byte access at offset 0 would be a misaligned access
 * at 0x101 on the device (split or refused by the bus, a hang on some
 * devices), and one at offset 3 is the aligned access at 0x104. A 64-bit
 * access is two 32-bit ones, each 4-byte aligned on the device: a window
 * at 0x104 (a virtio common configuration structure need only be 4-byte
 * aligned) writes its 64-bit field at 0x1c, BAR offset 0x120. Before, the
 * check was off & (width - 1), relative to the window */
static void test_mmio_window_unaligned_start(void **st)
{
	const uint16_t o = 213;
	static struct pci_dev d = {.bus = 0, .dev = 27, .owner = o};
	struct dev_mmio m, c;
	d.bar[0].base = BAR_BASE;
	d.bar[0].size = sizeof(bar_mem);
	bind_fn(o, &d);
	memset(bar_mem, 0, sizeof(bar_mem));
	for (unsigned i = 0x100; i < 0x140; i++)
		bar_mem[i] = (uint8_t)i;
	assert_int_equal(
	    mmio_grant(&d, o, 0, 0x101, 0x20, MMIO_READ | MMIO_WRITE, &m), 0);
	uint64_t mis = refused(AUTH_MISALIGNED);
	/* misaligned on the device though aligned in the window */
	assert_false(mmio_ok(&m, 0, 4, false));
	assert_int_equal(mmio_read32(&m, 0), 0xffffffffu);
	assert_false(mmio_write32(&m, 0, 0xdeadbeef));
	assert_int_equal(mmio_read16(&m, 0), 0xffff);
	assert_false(mmio_ok(&m, 0, 8, false));
	assert_int_equal(mmio_read64(&m, 0), ~0ull);
	assert_false(mmio_write64(&m, 1, 0)); /* at 0x102 */
	assert_false(mmio_write16(&m, 2, 0)); /* at 0x103 */
	assert_int_equal(refused(AUTH_MISALIGNED), mis + 6);
	assert_int_equal(bar_mem[0x101], 0x01);
	assert_int_equal(bar_mem[0x103], 0x03);
	/* aligned on the device though not in the window */
	assert_int_equal(mmio_read8(&m, 0), 0x01);
	assert_int_equal(mmio_read16(&m, 1), 0x0302);
	assert_true(mmio_ok(&m, 3, 4, false));
	assert_int_equal(mmio_read32(&m, 3), 0x07060504u);
	assert_int_equal(mmio_read64(&m, 3), 0x0b0a090807060504ull);
	assert_true(mmio_write32(&m, 7, 0xa1b2c3d4u)); /* at 0x108 */
	assert_int_equal(bar_mem[0x108], 0xd4);
	assert_int_equal(bar_mem[0x10b], 0xa1);
	assert_int_equal(refused(AUTH_MISALIGNED), mis + 6);
	mmio_revoke(&m);

	assert_int_equal(
	    mmio_grant(&d, o, 0, 0x104, 0x38, MMIO_READ | MMIO_WRITE, &c), 0);
	const uint64_t v = 0x1122334455667788ull;
	assert_true(mmio_write64(&c, 0x1c, v));
	assert_int_equal(bar_mem[0x120], 0x88);
	assert_int_equal(bar_mem[0x127], 0x11);
	assert_int_equal(mmio_read64(&c, 0x1c), v);
	assert_false(mmio_write64(&c, 0x1a, v)); /* at 0x11e */
	assert_int_equal(refused(AUTH_MISALIGNED), mis + 7);
	mmio_revoke(&c);
}

/* Offsets are 64 bits: one past 4 GiB is refused (out-of-window), never
 * cut to its low 32 bits and so into the window, by every accessor; a
 * window's offset and length past 4 GiB are refused past the BAR, not cut
 * to a window at another place; and a BAR larger than 4 GiB has windows
 * past 4 GiB, placed there. Before, the accessors and mmio_grant took 32
 * bits: (1 << 32) + 0x10 read and wrote byte 0x10 of the window */
static void test_mmio_offset_64bit(void **st)
{
	const uint16_t o = 214;
	static struct pci_dev d = {.bus = 0, .dev = 28, .owner = o};
	struct dev_mmio m;
	d.bar[0].base = BAR_BASE;
	d.bar[0].size = sizeof(bar_mem);
	bind_fn(o, &d);
	memset(bar_mem, 0, sizeof(bar_mem));
	memset(bar_hi, 0, sizeof(bar_hi));
	assert_int_equal(
	    mmio_grant(&d, o, 0, 0x100, 0x100, MMIO_READ | MMIO_WRITE, &m), 0);
	const uint64_t far[] = {1ull << 32,	     (1ull << 32) + 0x10,
				(1ull << 32) + 0xf8, 0xffffffff00000000ull,
				UINT64_MAX - 7,	     UINT64_MAX - 3,
				UINT64_MAX};
	for (unsigned i = 0; i < ARRAY_SIZE(far); i++) {
		uint64_t out = refused(AUTH_OUT_OF_WINDOW);
		assert_false(mmio_ok(&m, far[i], 1, false));
		assert_int_equal(mmio_read8(&m, far[i]), 0xff);
		assert_int_equal(mmio_read16(&m, far[i]), 0xffff);
		assert_int_equal(mmio_read32(&m, far[i]), 0xffffffffu);
		assert_int_equal(mmio_read64(&m, far[i]), ~0ull);
		assert_false(mmio_write8(&m, far[i], 0xa5));
		assert_false(mmio_write16(&m, far[i], 0xa5a5));
		assert_false(mmio_write32(&m, far[i], 0xa5a5a5a5u));
		assert_false(mmio_write64(&m, far[i], ~0ull));
		assert_int_equal(refused(AUTH_OUT_OF_WINDOW), out + 8);
	}
	assert_true(all_zero(bar_mem, sizeof(bar_mem)));
	mmio_revoke(&m);

	/* a window past 4 GiB of a BAR of 8 KiB, or longer than 4 GiB */
	struct dev_mmio w;
	const uint64_t offs[] = {(1ull << 32) + 0x100, 0x100};
	const uint64_t lens[] = {0x100, (1ull << 32) + 0x10};
	for (unsigned i = 0; i < 2; i++) {
		uint64_t ng = refused(AUTH_NOT_GRANTED);
		assert_int_equal(mmio_grant(&d, o, 0, offs[i], lens[i],
					    MMIO_READ | MMIO_WRITE, &w),
				 -1);
		assert_int_equal(w.slot, 0);
		assert_int_equal(refused(AUTH_NOT_GRANTED), ng + 1);
	}

	/* a BAR of 8 GiB: the window at 4 GiB + 0x100 is there */
	d.bar[0].size = 8ull << 30;
	assert_int_equal(
	    mmio_grant(&d, o, 0, offs[0], 0x100, MMIO_READ | MMIO_WRITE, &w),
	    0);
	assert_int_equal(w.phys, BAR_HI + 0x100);
	assert_true(mmio_write32(&w, 0x10, 0x5a5a5a5au));
	assert_int_equal(bar_hi[0x110], 0x5a);
	assert_true(all_zero(bar_mem, sizeof(bar_mem)));
	mmio_revoke(&w);
	/* and a window of 4 GiB is longer than any */
	uint64_t ng = refused(AUTH_NOT_GRANTED);
	assert_int_equal(
	    mmio_grant(&d, o, 0, 0, offs[0] - 0x100, MMIO_READ, &w), -1);
	assert_int_equal(refused(AUTH_NOT_GRANTED), ng + 1);
	d.bar[0].size = sizeof(bar_mem);
}

/* ---- refusal lines ---------------------------------------------------------
 * A driver that asks again and again after a refusal is counted every
 * time and said of a bounded number of times: the first
 * AUTH_REFUSAL_LINES refusals of a reason for an owner print their line,
 * the next one line saying the rest are counted, the rest nothing
 * (kernel/authority/auth.c + auth_refused). Before, every refusal of a
 * request printed its line, and a few printed none. */
static unsigned said_lines;
static char said_first[256];
static void said_line(const char *l)
{
	if (!said_lines++)
		snprintf(said_first, sizeof(said_first), "%s", l);
}

/* call, refused for reason r, 100 times: counted 100 times; an owner's
 * own row prints exactly AUTH_REFUSAL_LINES lines, the first holding
 * `first`, and then the line saying the rest are counted. first NULL: the
 * row shared by capability uses and owners not bound, which earlier tests
 * may have spent: at most as many lines. */
#define REFUSED_100(r, first, call)                                            \
	do {                                                                   \
		const char *first_ = (first);                                  \
		uint64_t n0_ = refused(r);                                     \
		said_lines = 0;                                                \
		said_first[0] = 0;                                             \
		shim_line_hook = said_line;                                    \
		for (int i_ = 0; i_ < 100; i_++)                               \
			assert_true(call);                                     \
		shim_line_hook = NULL;                                         \
		assert_int_equal(refused(r) - n0_, 100);                       \
		if (!first_) {                                                 \
			assert_true(said_lines <= AUTH_REFUSAL_LINES + 1);     \
			break;                                                 \
		}                                                              \
		assert_int_equal(said_lines, AUTH_REFUSAL_LINES + 1);          \
		assert_non_null(strstr(said_first, first_));                   \
		assert_non_null(strstr(shim_last_line, "counted"));            \
		assert_non_null(strstr(shim_last_line, auth_reason_name(r)));  \
	} while (0)

/* mmio_grant's and irq_bind's refusals, each from an owner of its own */
static void test_refusal_lines_mmio_irq(void **st)
{
	static uint8_t cfgsp[6][4096];
	static struct pci_dev d[6];
	struct dev_mmio m;
	struct irq_cap c, held;
	for (unsigned i = 0; i < 6; i++) {
		d[i] = (struct pci_dev){.bus = 0, .dev = (uint8_t)(26 + i)};
		d[i].cfg = cfgsp[i];
		msix_dev(&d[i]);
		bind_fn((uint16_t)(230 + i), &d[i]);
	}
	/* 230 asks on 231's function; a BAR past the six; 232 revoked */
	REFUSED_100(AUTH_NOT_GRANTED, "0000:00:1b.0 is not bound to owner 230",
		    mmio_grant(&d[1], 230, 0, 0, 0x10, MMIO_READ, &m) == -1);
	REFUSED_100(AUTH_NOT_GRANTED,
		    "BAR6 [0x0, +0x10) is not a memory window of the device",
		    mmio_grant(&d[1], 231, 6, 0, 0x10, MMIO_READ, &m) == -1);
	assert_int_equal(auth_owner_revoke(232, "test"), 0);
	REFUSED_100(
	    AUTH_REVOKED,
	    "owner 232 is revoked; no DeviceMmio window on 0000:00:1c.0",
	    mmio_grant(&d[2], 232, 0, 0, 0x10, MMIO_READ, &m) == -1);
	/* an entry past the table; one bound already; 232 revoked (its
	 * owner-revoked row spent on windows: nothing more) */
	REFUSED_100(AUTH_NOT_GRANTED,
		    "0000:00:1d.0 has no interrupt 7 for owner 233",
		    irq_bind(&d[3], 233, 7, NULL, NULL, &c) == -1);
	assert_int_equal(irq_bind(&d[4], 234, 0, NULL, NULL, &held), 0);
	REFUSED_100(AUTH_NOT_GRANTED,
		    "0000:00:1e.0 interrupt 0 is already bound",
		    irq_bind(&d[4], 234, 0, NULL, NULL, &c) == -1);
	irq_revoke(&held);
	uint64_t r0 = refused(AUTH_REVOKED), l0 = shim_kprintf_calls;
	for (int i = 0; i < 100; i++)
		assert_int_equal(irq_bind(&d[2], 232, 0, NULL, NULL, &c), -1);
	assert_int_equal(refused(AUTH_REVOKED), r0 + 100);
	assert_int_equal(shim_kprintf_calls, l0);
	assert_int_equal(auth_owner_reinstate(232), 0);
	/* a window the kernel cannot map: a BAR outside the test's memory */
	d[5].bar[0].base = BAR_BASE + 0x100000;
	REFUSED_100(AUTH_NO_MEMORY,
		    "0000:00:1f.0 BAR0: unable to map the window",
		    mmio_grant(&d[5], 235, 0, 0, 0x100, MMIO_READ, &m) == -1);
	/* a brokered function gets no window */
	static struct pci_dev b = {.bus = 0, .dev = 20, .fn = 1};
	b.bar[0].base = BAR_BASE;
	b.bar[0].size = sizeof(bar_mem);
	assert_int_equal(shim_owner_bind_fn(236, &b, DMA_BACKEND_VALIDATOR), 0);
	REFUSED_100(AUTH_NOT_GRANTED,
		    "0000:00:14.1 is brokered; no DeviceMmio window on it",
		    mmio_grant(&b, 236, 0, 0, 0x10, MMIO_READ, &m) == -1);
	/* a capability use (auth_refuse; m is the refused grant's, slot
	 * 0): bounded as before */
	REFUSED_100(AUTH_BAD_SLOT, NULL, mmio_read32(&m, 0) == ~0u);
}

/* dma_pool_create's, dma_pool_carve's and kernel memory's refusals, the
 * no-memory ones that printed nothing included */
static void test_refusal_lines_memory(void **st)
{
	static struct pci_dev dev = {.bus = 0, .dev = 22, .fn = 1};
	struct dma_pool p;
	struct dma_buf buf;
	uint8_t x;
	for (uint16_t o = 240; o <= 247; o++)
		assert_int_equal(shim_owner_bind(o, DMA_BACKEND_UNVALIDATED, 0),
				 0);
	REFUSED_100(AUTH_NO_MEMORY, "owner 240: no DMA pool of 0 bytes",
		    dma_pool_create(240, 0, 0, &p) == -1);
	REFUSED_100(AUTH_NO_MEMORY, NULL,
		    dma_pool_create(4000, PAGE_SIZE, 0, &p) == -1);
	REFUSED_100(
	    AUTH_OVER_QUOTA, "owner 241 over its DMA quota",
	    dma_pool_create(241, DMA_OWNER_POOL_MAX + PAGE_SIZE, 0, &p) == -1);
	REFUSED_100(AUTH_NO_MEMORY,
		    "no 1-page DMA pool below 0x100000 for owner 242",
		    dma_pool_create(242, PAGE_SIZE, 0x100000, &p) == -1);
	assert_int_equal(auth_owner_revoke(243, "test"), 0);
	REFUSED_100(AUTH_REVOKED, "owner 243 is revoked; no new DMA pool",
		    dma_pool_create(243, PAGE_SIZE, 0, &p) == -1);
	/* kernel memory: 243 revoked (row spent: nothing), over quota, no
	 * free pages, a free of memory not given */
	uint64_t r0 = refused(AUTH_REVOKED), l0 = shim_kprintf_calls;
	for (int i = 0; i < 100; i++)
		assert_null(auth_kmem_alloc(243, 64));
	assert_int_equal(refused(AUTH_REVOKED), r0 + 100);
	assert_int_equal(shim_kprintf_calls, l0);
	assert_int_equal(auth_owner_reinstate(243), 0);
	REFUSED_100(AUTH_OVER_QUOTA, "owner 244: no",
		    !auth_kmem_alloc(244, DMA_OWNER_KMEM_MAX + 1));
	owner_acct(245)->max[DMA_CHARGE_KMEM] = 1ull << 40;
	REFUSED_100(AUTH_NO_MEMORY,
		    "owner 245: no 268435456 KiB of kernel memory",
		    !auth_kmem_alloc(245, (size_t)1 << 38));
	owner_acct(245)->max[DMA_CHARGE_KMEM] = DMA_OWNER_KMEM_MAX;
	REFUSED_100(AUTH_NOT_GRANTED, "owner 246: free of kernel memory",
		    (auth_kmem_free(246, &x, 1), true));
	/* a carve past the pool (a use of the capability: the shared row) */
	assert_int_equal(dma_pool_create(247, PAGE_SIZE, 0, &p), 0);
	REFUSED_100(AUTH_NO_MEMORY, NULL,
		    dma_pool_carve(&p, 2 * PAGE_SIZE, 8, &buf) == -1);
	assert_int_equal(dma_pool_revoke(&p), 0);
	/* an IOMMU that refuses the pool's map */
	shim_iommu_owner = 0;
	assert_int_equal(shim_owner_bind_fn(248, &dev, DMA_BACKEND_IOMMU), 0);
	uint64_t out = shim_pages_in_use;
	shim_iommu_fail_map = true;
	REFUSED_100(AUTH_NO_MEMORY, "owner 248: no 2-page DMA pool: the IOMMU",
		    dma_pool_create(248, 2 * PAGE_SIZE, 0, &p) == -1);
	shim_iommu_fail_map = false;
	assert_int_equal(shim_pages_in_use, out);
	assert_int_equal(shim_iommu_mapped(), 0);
	shim_iommu_owner = 0;
}

/* /api/authority parses as JSON (tests/host/lib/json_check.h, a strict
 * checker sharing no code with the writer) and carries the values: every
 * refusal counter by its name, slots_full, each live capability with its
 * slot, kind, owner and generation, and each owner's backend, revocation
 * and pools, before and after the owner is revoked. No field holds text
 * from outside the kernel (kinds, backends and reasons are its own
 * names), so nothing here needs escaping beyond what the writer does */
static void test_authority_json(void **st)
{
	const uint16_t o = 211;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 25, .owner = o};
	static char js[64 << 10];
	char want[256];
	struct dev_mmio m;
	struct irq_cap ic;
	struct dma_pool p1, p2;
	d.cfg = cfgsp;
	msix_dev(&d);
	bind_fn(o, &d);
	assert_int_equal(mmio_grant(&d, o, 0, 0, 0x100, MMIO_READ, &m), 0);
	assert_int_equal(irq_bind(&d, o, 1, NULL, NULL, &ic), 0);
	assert_int_equal(dma_pool_create(o, PAGE_SIZE, 0, &p1), 0);
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, 0, &p2), 0);
	auth_refuse(AUTH_MISALIGNED, 3, "test"); /* a counter that moved */
	status_render("authority", js, sizeof(js));
	assert_int_equal(memcmp(js, "{\"refusals\":{", 13), 0);
	for (int r = 0; r < AUTH_NREASONS; r++) {
		snprintf(want, sizeof(want), "%s\"%s\":%lu%s",
			 r ? "," : "{\"refusals\":{", auth_reason_name(r),
			 (unsigned long)auth_refusals[r],
			 r + 1 < AUTH_NREASONS ? "" : "},\"slots_full\":");
		assert_non_null(strstr(js, want));
	}
	snprintf(want, sizeof(want), "\"slots_full\":%lu,\"capabilities\":[",
		 (unsigned long)auth_slots_full);
	assert_non_null(strstr(js, want));
	snprintf(want, sizeof(want),
		 "{\"slot\":%u,\"kind\":\"mmio\",\"owner\":%u,\"gen\":%u}",
		 m.slot, o, m.gen);
	assert_non_null(strstr(js, want));
	snprintf(want, sizeof(want),
		 "{\"slot\":%u,\"kind\":\"irq\",\"owner\":%u,\"gen\":%u}",
		 ic.slot, o, ic.gen);
	assert_non_null(strstr(js, want));
	snprintf(want, sizeof(want),
		 "{\"owner\":%u,\"backend\":\"unvalidated\",\"revoked\":false,"
		 "\"revocations\":0,\"pools\":2,\"pool_kib\":12,"
		 "\"parked_pools\":0,\"seized_last\":0}",
		 o);
	assert_non_null(strstr(js, want));

	assert_int_equal(auth_owner_revoke(o, "test"), 2);
	status_render("authority", js, sizeof(js));
	snprintf(want, sizeof(want), "\"owner\":%u,\"gen\"", o);
	assert_null(strstr(js, want)); /* its capabilities are gone */
	snprintf(want, sizeof(want),
		 "{\"owner\":%u,\"backend\":\"unvalidated\",\"revoked\":true,"
		 "\"revocations\":1,\"pools\":0,\"pool_kib\":12,"
		 "\"parked_pools\":2,\"seized_last\":2}",
		 o);
	assert_non_null(strstr(js, want));
	assert_int_equal(dma_pool_revoke(&p1), 0);
	assert_int_equal(dma_pool_revoke(&p2), 0);
	assert_int_equal(auth_owner_reinstate(o), 0);
	status_render("authority", js, sizeof(js));
	snprintf(want, sizeof(want),
		 "{\"owner\":%u,\"backend\":\"unvalidated\",\"revoked\":false,"
		 "\"revocations\":1,\"pools\":0,\"pool_kib\":0,"
		 "\"parked_pools\":0,\"seized_last\":2}",
		 o);
	assert_non_null(strstr(js, want));
}

/* /api/authority names a backend as devmgr's lines and /api/shape do
 * (dma_backend_name); it said "trusted" and "validator" */
static void test_authority_json_backend_names(void **st)
{
	static const struct {
		uint16_t id;
		enum dma_backend b;
		const char *name;
	} o[] = {{249, DMA_BACKEND_VALIDATOR, "brokered-validator"},
		 {250, DMA_BACKEND_UNVALIDATED, "unvalidated"}};
	char js[16384], want[96];
	for (unsigned i = 0; i < 2; i++) {
		struct auth_owner_facts f = {.backend = o[i].b};
		assert_int_equal(auth_owner_bind(o[i].id, &f), 0);
	}
	owner_json(js, sizeof(js));
	for (unsigned i = 0; i < 2; i++) {
		assert_string_equal(dma_backend_name(o[i].b), o[i].name);
		snprintf(want, sizeof(want),
			 "{\"owner\":%u,\"backend\":\"%s\",", o[i].id,
			 o[i].name);
		if (!strstr(js, want))
			fail_msg("no %s in /api/authority", want);
	}
}

/* the largest /api/authority: every slot a capability and every owner of
 * AUTH_OWNER_MAX bound (ids from 800 on, which test_table_full, run after,
 * counts as bound before it). It stays valid JSON and well inside the
 * 128 KiB the Web UI gives one provider (PROV_MAX, kernel/net/webui.c);
 * measured, printed */
static void test_authority_json_full(void **st)
{
	const uint16_t o = 212;
	static struct pci_dev d = {.bus = 0, .dev = 26, .owner = o};
	static struct dev_mmio m[AUTH_SLOTS];
	static char js[256 << 10];
	struct auth_owner_facts f = {.backend = DMA_BACKEND_UNVALIDATED};
	unsigned n = 0, owners = 0;
	d.bar[0].base = BAR_BASE;
	d.bar[0].size = sizeof(bar_mem);
	bind_fn(o, &d);
	static struct fill fl = {.id0 = 5200};
	while (n < AUTH_OWNER_SLOTS &&
	       mmio_grant(&d, o, 0, 8 * n, 8, MMIO_READ, &m[n]) == 0)
		n++;
	while (n < AUTH_SLOTS && slots_issuable() &&
	       fill_grant(&fl, n - AUTH_OWNER_SLOTS, 8 * n, &m[n]) == 0)
		n++;
	assert_int_equal(slots_issuable(), 0);
	for (uint16_t id = 800; id < 1000; id++)
		if (auth_owner_bind(id, &f) != 0)
			break;
	for (unsigned id = 1; id <= UINT16_MAX; id++) /* fillers too */
		owners += auth_owner_facts((uint16_t)id) != NULL;
	assert_int_equal(owners, AUTH_OWNER_MAX);
	int len = status_render("authority", js, sizeof(js));
	print_message("/api/authority full: %u owners, %u capabilities, %d "
		      "bytes\n",
		      owners, n, len);
	assert_true(len < 128 * 1024);
	for (unsigned i = 0; i < n; i++)
		mmio_revoke(&m[i]);
	fill_unbind(&fl);
}

/* ---- make mutate (kernel/authority mmio.c and irq.c, N=30 SEED=1): the
 * survivors ------------------------------------------------------------ */
/* a refused window hands back nothing and keeps nothing: its line names
 * the function (mutant #0: pci_addr_str deleted, the line printed an
 * unset buffer), the caller's copy is all zero (mutant #28: its phys left
 * set) and the slot it took is the next window's (mutant #27: the slot
 * kept by a window never granted) */
static void test_mmio_refused_window_keeps_nothing(void **st)
{
	const uint16_t o = 215;
	static struct pci_dev d = {.bus = 0, .dev = 29, .owner = o};
	static struct pci_dev other = {.bus = 2, .dev = 30, .fn = 3};
	struct dev_mmio m, x;
	d.bar[0].base = BAR_BASE + 0x100000; /* outside bar_mem: unmappable */
	d.bar[0].size = 0x1000;
	d.bar[1].base = BAR_BASE;
	d.bar[1].size = sizeof(bar_mem);
	bind_fn(o, &d);
	assert_int_equal(mmio_grant(&d, o, 1, 0, 0x100, MMIO_READ, &m), 0);
	const uint16_t slot = m.slot;
	mmio_revoke(&m);
	/* another function's line first: the stack holds its name */
	assert_int_equal(mmio_grant(&other, o, 0, 0, 0x100, MMIO_READ, &x), -1);
	assert_non_null(strstr(shim_last_line, "0000:02:1e.3"));
	memset(&m, 0xa5, sizeof(m));
	assert_int_equal(mmio_grant(&d, o, 0, 0, 0x100, MMIO_READ, &m), -1);
	assert_non_null(
	    strstr(shim_last_line, "0000:00:1d.0 BAR0: unable to map"));
	assert_true(all_zero((const uint8_t *)&m, sizeof(m)));
	assert_int_equal(mmio_grant(&d, o, 1, 0, 0x100, MMIO_READ, &m), 0);
	assert_int_equal(m.slot, slot);
	mmio_revoke(&m);
}

/* a DeviceMmio capability naming slot AUTH_SLOTS, the first past the
 * table, is a bad slot, and nothing of the table is read for it (mutant
 * #46, >= turned >: auth_slots[AUTH_SLOTS] read) */
static void test_mmio_slot_past_table(void **st)
{
	const struct dev_mmio m = {.slot = AUTH_SLOTS,
				   .gen = 1,
				   .len = 0x100,
				   .flags = MMIO_READ | MMIO_WRITE};
	uint64_t bad = refused(AUTH_BAD_SLOT);
	assert_false(mmio_ok(&m, 0, 4, false));
	assert_int_equal(mmio_read32(&m, 0), 0xffffffffu);
	assert_false(mmio_write32(&m, 0, 1));
	assert_int_equal(refused(AUTH_BAD_SLOT), bad + 2);
}

/* an Interrupt capability's (slot, generation) is no DeviceMmio window:
 * refused as stale before any window check (mutant #53: the kind check
 * off, refused as outside a zero-length window instead) */
static void test_mmio_names_irq_slot(void **st)
{
	const uint16_t o = 216;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 31, .owner = o};
	d.cfg = cfgsp;
	msix_dev(&d);
	bind_fn(o, &d);
	struct irq_cap c;
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &c), 0);
	const struct dev_mmio m = {.slot = c.slot,
				   .gen = c.gen,
				   .len = 0x100,
				   .flags = MMIO_READ | MMIO_WRITE};
	uint64_t before[AUTH_NREASONS];
	for (unsigned r = 0; r < AUTH_NREASONS; r++)
		before[r] = refused((enum auth_reason)r);
	assert_int_equal(mmio_read32(&m, 0), 0xffffffffu);
	for (unsigned r = 0; r < AUTH_NREASONS; r++)
		assert_int_equal(refused((enum auth_reason)r),
				 before[r] + (r == AUTH_STALE_GEN));
	irq_revoke(&c);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* a function whose MSI-X table was not mapped (msix_table NULL) has no
 * MSI-X: its MSI is bound, or, without one, nothing (mutant #12: && turned
 * ||, the missing table programmed, the bind refused) */
static void test_irq_msix_without_table_uses_msi(void **st)
{
	const uint16_t o = 217;
	static uint8_t cfgsp[4096], cfg2[4096];
	static struct pci_dev d = {.bus = 0, .dev = 32, .owner = o};
	static struct pci_dev e = {.bus = 0, .dev = 33, .owner = o + 1};
	const uint8_t cap = 0x50;
	d.cfg = cfgsp, e.cfg = cfg2;
	d.cap_msix = e.cap_msix = 0x70;
	d.msix_size = e.msix_size = 2;
	d.cap_msi = cap;
	bind_fn(o, &d);
	bind_fn(o + 1, &e);
	struct irq_cap c, x;
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &c), 0);
	assert_int_equal(pci_cfg_read16(&d, cap + PCI_MSI_DATA_32), c.vector);
	assert_false(pci_cfg_read16(&d, 0x70 + PCI_MSIX_FLAGS) &
		     PCI_MSIX_FLAGS_ENABLE);
	irq_revoke(&c);
	unsigned held = vectors_held();
	uint64_t r0 = refused(AUTH_NOT_GRANTED);
	assert_int_equal(irq_bind(&e, o + 1, 0, NULL, NULL, &x), -1);
	assert_int_equal(refused(AUTH_NOT_GRANTED), r0 + 1);
	assert_int_equal(vectors_held(), held);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* an MSI-X index at the table's size is no interrupt of the function:
 * refused as such before a vector or a remapping entry is asked for
 * (mutant #16, >= turned >: entry msix_size went as far as programming) */
static void test_irq_index_at_table_size(void **st)
{
	const uint16_t o = 219;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 34, .owner = o};
	d.cfg = cfgsp;
	msix_dev(&d);
	bind_fn(o, &d);
	struct irq_cap x;
	unsigned asks = host_irte_asks;
	uint64_t r0 = refused(AUTH_NOT_GRANTED);
	assert_int_equal(irq_bind(&d, o, 2, NULL, NULL, &x), -1);
	assert_int_equal(refused(AUTH_NOT_GRANTED), r0 + 1);
	assert_int_equal(host_irte_asks, asks);
	assert_non_null(strstr(shim_last_line, "has no interrupt 2 for owner"));
	assert_true(all_zero(bar_mem + 0x1000, 4 * PCI_MSIX_ENTRY_SIZE));
}

/* an MSI capability that ends exactly at PCI_CFG_LEGACY_SIZE fits
 * (mutant #29, > turned >=, refused it): 32-bit with per-vector masking,
 * 20 bytes from 0xec */
static void test_irq_msi_ends_at_config_end(void **st)
{
	const uint16_t o = 220;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 35, .owner = o};
	const uint8_t cap = 0xec;
	d.cfg = cfgsp;
	d.cap_msi = cap;
	pci_cfg_write16(&d, cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_MASKBIT);
	assert_int_equal(cap + PCI_MSI_CAP_LEN(PCI_MSI_FLAGS_MASKBIT),
			 PCI_CFG_LEGACY_SIZE);
	bind_fn(o, &d);
	struct irq_cap c;
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &c), 0);
	assert_int_equal(pci_cfg_read16(&d, cap + PCI_MSI_DATA_32), c.vector);
	assert_true(all_zero(cfgsp + 0x100, sizeof(cfgsp) - 0x100));
	irq_revoke(&c);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* no CPU vector left: refused (AUTH_NO_MEMORY), the slot back and no
 * remapping entry asked for (mutants #55: vector 0 bound, and #57: the
 * slot kept) */
static void nop_handler(void *arg)
{
	(void)arg;
}

static void test_irq_no_vector_takes_nothing(void **st)
{
	const uint16_t o = 221;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 36, .owner = o};
	d.cfg = cfgsp;
	msix_dev(&d);
	bind_fn(o, &d);
	bool filled[256] = {0};
	for (unsigned v = HOST_VECTOR_FIRST; v <= HOST_VECTOR_LAST; v++)
		if (!host_vectors[v].fn) {
			host_vectors[v].fn = nop_handler;
			filled[v] = true;
		}
	unsigned slots = slots_issuable(), asks = host_irte_asks;
	uint64_t r0 = refused(AUTH_NO_MEMORY);
	struct irq_cap x;
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &x), -1);
	assert_int_equal(refused(AUTH_NO_MEMORY), r0 + 1);
	assert_int_equal(slots_issuable(), slots);
	assert_int_equal(host_irte_asks, asks);
	for (unsigned v = 0; v < 256; v++)
		if (filled[v])
			host_vectors[v].fn = NULL;
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &x), 0);
	irq_revoke(&x);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* under interrupt remapping the entry irq_bind made is the slot's: revoke
 * frees it, and a bind whose MSI-X entry cannot be programmed frees it
 * before refusing; without remapping nothing is freed (mutants #75, the
 * remapped flag inverted, and #83, the failed bind's entry kept) */
static void test_irq_remapped_entry_freed(void **st)
{
	const uint16_t o = 222;
	static uint8_t cfgsp[4096], cfg2[4096];
	static struct pci_dev d = {.bus = 0, .dev = 37, .owner = o};
	static struct pci_dev e = {.bus = 0, .dev = 38, .owner = o + 1};
	d.cfg = cfgsp, e.cfg = cfg2;
	msix_dev(&d);
	bind_fn(o, &d);
	bind_fn(o + 1, &e);
	struct irq_cap c;
	host_irq_remap = true;
	host_irtes_live = host_irte_bad_frees = 0;
	assert_int_equal(irq_bind(&d, o, 0, NULL, NULL, &c), 0);
	assert_int_equal(host_irtes_live, 1);
	irq_revoke(&c);
	assert_int_equal(host_irtes_live, 0);
	/* e's decode stays off: its entry cannot be written */
	msix_dev(&e);
	mse_dev = &e;
	mse_stuck_off = true, was_on = false;
	host_cfg_written = mse_model;
	uint64_t r0 = refused(AUTH_NOT_GRANTED);
	assert_int_equal(irq_bind(&e, o + 1, 0, NULL, NULL, &c), -1);
	assert_int_equal(refused(AUTH_NOT_GRANTED), r0 + 1);
	assert_int_equal(host_irtes_live, 0);
	host_cfg_written = NULL;
	mse_dev = NULL;
	mse_stuck_off = false;
	host_irq_remap = false;
	assert_int_equal(irq_bind(&d, o, 1, NULL, NULL, &c), 0);
	irq_revoke(&c);
	assert_int_equal(host_irte_bad_frees, 0);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* a remapping entry the unit did not confirm gone from its cache (it was
 * given up) may still carry the device's interrupts to its vector: the
 * revoke withholds that vector, said in a line, and the next bind gets
 * another; an interrupt on it runs no handler. Before, irq_revoke gave the
 * vector back whatever the unit said, and the next bind (another owner's
 * handler) got the very vector the device could still signal */
static unsigned withheld_runs;
static void withheld_handler(void *arg)
{
	(void)arg;
	withheld_runs++;
}

static void test_irq_unconfirmed_vector_withheld(void **st)
{
	const uint16_t o = 226;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 40, .owner = o};
	d.cfg = cfgsp;
	msix_dev(&d);
	bind_fn(o, &d);
	struct irq_cap c, n;
	host_irq_remap = true;
	host_irtes_live = host_irte_bad_frees = 0;
	assert_int_equal(irq_bind(&d, o, 0, withheld_handler, NULL, &c), 0);
	uint8_t v = c.vector;
	host_irte_unconfirmed = true;
	irq_revoke(&c);
	host_irte_unconfirmed = false;
	assert_non_null(strstr(shim_last_line, "withheld"));
	assert_non_null(host_vectors[v].fn);
	withheld_runs = 0;
	host_vector_fire(v);
	assert_int_equal(withheld_runs, 0);
	assert_int_equal(irq_bind(&d, o, 0, withheld_handler, NULL, &n), 0);
	assert_int_not_equal(n.vector, v);
	irq_revoke(&n);
	assert_null(host_vectors[n.vector].fn);
	host_vectors[v].fn = NULL; /* this test's withheld vector back */
	host_irq_remap = false;
	assert_int_equal(host_irte_bad_frees, 0);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* irq_raise (a broker delivering the interrupt the device would have
 * sent) runs the trampoline of the one entry that owner bound on that
 * function, counted, and nothing for another owner, another entry, a
 * masked entry or a revoked owner (mutants #114, never delivered, #124,
 * another owner's entry run, and #125, another entry's; irq_raise could
 * not run on the host before: it ran cli) */
static unsigned raised[2];
static void raise_handler(void *arg)
{
	raised[(uintptr_t)arg]++;
}

static void test_irq_raise_bound_entry_only(void **st)
{
	const uint16_t o = 224;
	static uint8_t cfgsp[4096];
	static struct pci_dev d = {.bus = 0, .dev = 39, .owner = o};
	d.cfg = cfgsp;
	msix_dev(&d);
	bind_fn(o, &d);
	struct irq_cap a, b;
	assert_int_equal(irq_bind(&d, o, 0, raise_handler, (void *)0, &a), 0);
	assert_int_equal(irq_bind(&d, o, 1, raise_handler, (void *)1, &b), 0);
	raised[0] = raised[1] = 0;
	irq_raise(&d, o, 0); /* masked since irq_bind */
	assert_int_equal(raised[0] + raised[1], 0);
	irq_unmask(&a);
	irq_unmask(&b);
	irq_raise(&d, o, 1);
	assert_int_equal(raised[0], 0);
	assert_int_equal(raised[1], 1);
	assert_int_equal(irq_count(&b), 1);
	assert_int_equal(irq_count(&a), 0);
	irq_raise(&d, o + 1, 0); /* not the entry's owner */
	irq_raise(&d, o, 2);	 /* no such entry */
	assert_int_equal(raised[0] + raised[1], 1);
	irq_raise(&d, o, 0);
	assert_int_equal(raised[0], 1);
	irq_mask(&a);
	irq_raise(&d, o, 0);
	assert_int_equal(raised[0], 1);
	irq_unmask(&a);
	assert_int_equal(auth_owner_revoke(o, "test"), 0);
	irq_raise(&d, o, 0);
	irq_raise(&d, o, 1);
	assert_int_equal(raised[0] + raised[1], 2);
	assert_int_equal(auth_owner_reinstate(o), 0);
	irq_revoke(&a);
	irq_revoke(&b);
	assert_int_equal(host_vector_bad_frees, 0);
}

/* ---- make mutate (kernel/authority/dmapool.c, N=30 SEED=1): the
 * survivors ------------------------------------------------------------ */
/* pages withheld because the unit did not confirm their unmap are said,
 * once a revoke (mutant #16: dma_unmapped's dma_withhold deleted, the
 * pages kept out of the allocator without a word) */
static unsigned withheld_lines;
static void count_withheld(const char *line)
{
	withheld_lines += strstr(line, "not confirmed unmapped") != NULL;
}

static void test_pool_withheld_said_once(void **st)
{
	const uint16_t o = 225;
	static struct pci_dev dev = {.bus = 0, .dev = 40};
	struct dma_pool p;
	shim_iommu_owner = 0;
	assert_int_equal(shim_owner_bind_fn(o, &dev, DMA_BACKEND_IOMMU), 0);
	uint64_t out = shim_pages_in_use;
	assert_int_equal(dma_pool_create(o, 2 * PAGE_SIZE, 0, &p), 0);
	const uint64_t pa = p.iova;
	withheld_lines = 0;
	shim_line_hook = count_withheld;
	shim_iommu_fail_unmap = true;
	assert_int_equal(dma_pool_revoke(&p), -1);
	shim_iommu_fail_unmap = false;
	shim_line_hook = NULL;
	assert_int_equal(withheld_lines, 1);
	assert_non_null(strstr(shim_last_line, "2 pages withheld"));
	assert_int_equal(shim_pages_in_use, out + 2);
	assert_int_equal(owner_acct(o)->use[DMA_CHARGE_POOL], 2 * PAGE_SIZE);
	/* the test's, not the layer's */
	page_free(pa, 2);
	dma_owner_uncharge(owner_acct(o), DMA_CHARGE_POOL, 2 * PAGE_SIZE);
	assert_int_equal(shim_iommu_violations, 0);
	shim_iommu_owner = 0;
}

int main(void)
{
	shim_quiet = getenv("AUTH_TEST_VERBOSE") == NULL;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bind),
	    cmocka_unit_test(test_unbind_gives_back),
	    cmocka_unit_test(test_unbind_not_stopped_withholds),
	    cmocka_unit_test(test_unbind_pinned_revoked_quarantined),
	    cmocka_unit_test(test_unbind_revoked_unpinned_gives_back),
	    cmocka_unit_test(test_unbind_iommu),
	    cmocka_unit_test(test_unbind_from_hooks_refused),
	    cmocka_unit_test(test_dma_owner_charge),
	    cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_identity_before_memory),
	    cmocka_unit_test(test_limit_held_memory),
	    cmocka_unit_test(test_pool),
	    cmocka_unit_test(test_pool_under_iommu),
	    cmocka_unit_test(test_kernel_dma_withheld),
	    cmocka_unit_test(test_interrupt_context_refused),
	    cmocka_unit_test(test_unmap_refused_not_withheld),
	    cmocka_unit_test(test_map_unconfirmed_withheld),
	    cmocka_unit_test(test_carve),
	    cmocka_unit_test(test_carve_forged_fields),
	    cmocka_unit_test(test_grant_quota),
	    cmocka_unit_test(test_pool_bytes_quota),
	    cmocka_unit_test(test_revoke_pinned),
	    cmocka_unit_test(test_free_hook),
	    cmocka_unit_test(test_revoked_memory_faults),
	    cmocka_unit_test(test_revoke_after_fault),
	    cmocka_unit_test(test_poll_takes_faults_left),
	    cmocka_unit_test(test_revoke_keeps_pinned),
	    cmocka_unit_test(test_revoke_forged_fields),
	    cmocka_unit_test(test_slot_generation_wrap),
	    cmocka_unit_test(test_mmio_forged_fields),
	    cmocka_unit_test(test_irq_forged_fields),
	    cmocka_unit_test(test_irq_msi_only),
	    cmocka_unit_test(test_irq_msi_past_config_space),
	    cmocka_unit_test(test_irq_quarantined),
	    cmocka_unit_test(test_bind_function_names_owner),
	    cmocka_unit_test(test_owner_is_one_function),
	    cmocka_unit_test(test_irq_msix_memory_decode_off),
	    cmocka_unit_test(test_kmem),
	    cmocka_unit_test(test_kmem_no_memory),
	    cmocka_unit_test(test_revoked_no_mmio_window),
	    cmocka_unit_test(test_stale_revoke_spares_new_holder),
	    cmocka_unit_test(test_mmio_unmappable_refused),
	    cmocka_unit_test(test_guarded_registers_read_only),
	    cmocka_unit_test(test_mmio_bar_not_a_window),
	    cmocka_unit_test(test_carve_align_one),
	    cmocka_unit_test(test_kmem_free_not_given),
	    cmocka_unit_test(test_kmem_revoked),
	    cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_mmio64_window_end),
	    cmocka_unit_test(test_mmio_window_unaligned_start),
	    cmocka_unit_test(test_mmio_offset_64bit),
	    cmocka_unit_test(test_mmio_refused_window_keeps_nothing),
	    cmocka_unit_test(test_mmio_slot_past_table),
	    cmocka_unit_test(test_mmio_names_irq_slot),
	    cmocka_unit_test(test_irq_msix_without_table_uses_msi),
	    cmocka_unit_test(test_irq_index_at_table_size),
	    cmocka_unit_test(test_irq_msi_ends_at_config_end),
	    cmocka_unit_test(test_irq_no_vector_takes_nothing),
	    cmocka_unit_test(test_irq_remapped_entry_freed),
	    cmocka_unit_test(test_irq_unconfirmed_vector_withheld),
	    cmocka_unit_test(test_irq_raise_bound_entry_only),
	    cmocka_unit_test(test_pool_withheld_said_once),
	    cmocka_unit_test(test_slots_owner_quota),
	    cmocka_unit_test(test_slots_exhausted),
	    cmocka_unit_test(test_slots_full_revoked),
	    cmocka_unit_test(test_refusal_lines_mmio_irq),
	    cmocka_unit_test(test_refusal_lines_memory),
	    cmocka_unit_test(test_authority_json),
	    cmocka_unit_test(test_authority_json_backend_names),
	    cmocka_unit_test(test_authority_json_full),
	    cmocka_unit_test(test_table_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
