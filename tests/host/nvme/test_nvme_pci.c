/* tests/host/nvme/test_nvme_pci.c — the NVMe driver's PCI attachment
 * (drivers/nvme/nvme_pci.c) on the host over the fake broker: what an
 * attach that fails leaves of the owner's kernel memory, and what a detach
 * leaves reachable (nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dma/owner.h"
#include "fake_broker.h"
#include "kernel/devmgr/blockdev.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/pci/pci.h"
#include "owner_shim.h"
#include "shim.h"

#define OWNER 7

extern const struct driver nvme_driver;

/* what nvme_pci.c needs from the kernel besides the broker: MSI-X
 * vectors (bound while msix_ok; a function with d->cap_msix 0 binds none)
 * counted per entry, the default command line */
static bool msix_ok;
static int bound[NVME_IOQ_MAX + 1]; /* binds minus revokes, per entry */
static unsigned binds;
int irq_bind(struct pci_dev *d, uint16_t owner, unsigned msix_index,
	     irq_handler_t fn, void *arg, struct irq_cap *out)
{
	(void)d, (void)owner, (void)fn, (void)arg;
	if (!msix_ok || msix_index > NVME_IOQ_MAX)
		return -1;
	bound[msix_index]++;
	binds++;
	*out = (struct irq_cap){.slot = (uint16_t)(msix_index + 1),
				.gen = 1,
				.msix_index = (uint16_t)msix_index,
				.vector = (uint8_t)(0x40 + msix_index)};
	return 0;
}
void irq_unmask(const struct irq_cap *c)
{
	(void)c;
}
void irq_revoke(struct irq_cap *c)
{
	assert_true(c->msix_index <= NVME_IOQ_MAX);
	bound[c->msix_index]--;
}
uint64_t cmdline_u64(const char *key, uint64_t def)
{
	(void)key;
	return def;
}

static uint64_t kmem_used(void)
{
	return dma_owner_acct(OWNER)->use[DMA_CHARGE_KMEM];
}

/* a broker that will not open (fenced after identify, owner revoked):
 * the attach fails and gives back the controller state it allocated */
static void test_broker_open_fails(void **state)
{
	(void)state;
	static struct pci_dev d;
	fake_broker_init(OWNER);
	fb.fail_open = true;
	assert_int_equal(kmem_used(), 0);
	assert_int_equal(nvme_driver.attach(&d, OWNER), -1);
	assert_int_equal(kmem_used(), 0);
}

/* the controller never becomes ready: the same */
static void test_enable_fails(void **state)
{
	(void)state;
	static struct pci_dev d;
	fake_broker_init(OWNER);
	fb.fail_enable = true;
	assert_int_equal(nvme_driver.attach(&d, OWNER), -1);
	assert_int_equal(kmem_used(), 0);
}

/* ---- the attach unwind -------------------------------------------------- */
/* What an attach that fails part-way must leave: the owner's kernel memory,
 * pools, grants and shadows as before it, no vector bound, the controller
 * disabled (the broker not enabled, its gate holding no queue, the model's
 * queues gone) — and one line from the driver naming the step, after at
 * most one line of the cause said where it was met (the owner's quota in
 * the authority layer, the command's timeout in nvme_wait). The broker's
 * own lines are the kernel broker's, not printed by this fake. */
struct before {
	uint64_t use[DMA_CHARGE_N], pages;
	unsigned pools;
};
static struct before before_attach(void)
{
	struct dma_owner *o = dma_owner_acct(OWNER);
	struct before b = {.pages = shim_pages_in_use,
			   .pools = shim_owner_pools(OWNER)};
	memcpy(b.use, o->use, sizeof(b.use));
	return b;
}

static unsigned nlines;
static char lines[8][256];
static void keep_line(const char *l)
{
	if (nlines < 8)
		strlcpy(lines[nlines], l, sizeof(lines[0]));
	nlines++;
}

static void assert_unwound(const struct before *b, const char *why,
			   const char *cause)
{
	struct dma_owner *o = dma_owner_acct(OWNER);
	for (unsigned i = 0; i < DMA_CHARGE_N; i++)
		assert_int_equal(o->use[i], b->use[i]);
	assert_int_equal(shim_owner_pools(OWNER), b->pools);
	assert_int_equal(shim_pages_in_use, b->pages);
	for (unsigned i = 0; i < GRANT_MAX; i++) {
		assert_false(o->grants.g[i].live);
		assert_int_equal(o->grants.g[i].pins, 0);
	}
	for (unsigned i = 0; i <= NVME_IOQ_MAX; i++)
		assert_int_equal(bound[i], 0);
	/* the controller disabled once for each enable (nvme_attach's
	 * unwind; before, nvme_pci_attach's close disabled it again: one
	 * more CAP.TO of boot for a controller that did not stop), nothing
	 * of the gate's or the model's */
	assert_int_equal(fb.resets, fb.enables);
	assert_false(fb.enabled);
	assert_false(fb.draining);
	assert_int_equal(fb.gate.pol->sq_live | fb.gate.pol->cq_live, 0);
	assert_int_equal(fb.dev.shadow_allocs, 0);
	for (unsigned q = 0; q < FAKE_QMAX; q++)
		assert_false(fb.dev.sq[q].live || fb.dev.cq[q].live);
	assert_int_equal(nblockdevs, 0);
	/* one line, the step's own, after at most one of the cause when
	 * another layer met it (the owner's quota, the command's timeout) */
	unsigned want = cause ? 2 : 1;
	if (nlines != want)
		for (unsigned i = 0; i < nlines && i < 8; i++)
			print_message("line %u: %s", i, lines[i]);
	assert_int_equal(nlines, want);
	assert_non_null(strstr(lines[want - 1], why));
	if (cause)
		assert_non_null(strstr(lines[0], cause));
}

/* the oracle on every page_free of a failed attach: the driver's pool
 * goes back only once the controller is disabled and the gate holds no
 * queue of it (pool_frees counts the frees it judged) */
static unsigned pool_frees;
static void pool_freed(uint64_t pa, size_t len)
{
	(void)pa, (void)len;
	pool_frees++;
	assert_false(fb.enabled);
	assert_false(fb.draining);
	assert_int_equal(fb.gate.pol->sq_live | fb.gate.pol->cq_live, 0);
}

/* one attach of a function with MSI-X, every vector bound, that fails */
static void attach_fails(const struct before *b, const char *why,
			 const char *cause)
{
	static struct pci_dev d;
	d.cap_msix = true;
	msix_ok = true;
	binds = 0;
	nlines = 0;
	pool_frees = 0;
	shim_line_hook = keep_line;
	shim_page_hook = pool_freed;
	assert_int_equal(nvme_driver.attach(&d, OWNER), -1);
	shim_page_hook = NULL;
	shim_line_hook = NULL;
	/* a pool was made (and revoked) once the controller was enabled */
	if (fb.enables)
		assert_true(pool_frees > 0);
	assert_unwound(b, why, cause);
}

/* the model's five attach commands, in order: Set Features Number of
 * Queues, Create I/O CQ 1, SQ 1, CQ 2, SQ 2 */
static const char *const attach_cmd[] = {
    "unable to set number of queues", "unable to create I/O CQ 1",
    "unable to create I/O SQ 1",      "unable to create I/O CQ 2",
    "unable to create I/O SQ 2",
};

/* Each of the attach's admin commands fails in turn (the device answers
 * Internal Error): the queues created before it are undone with the rest,
 * every vector goes back. */
static void test_attach_command_fails_unwinds(void **state)
{
	(void)state;
	for (unsigned k = 1; k <= ARRAY_SIZE(attach_cmd); k++) {
		fake_broker_init(OWNER);
		struct before b = before_attach();
		fb.fail_cmd = k;
		fb.fail_status = (uint16_t)FIELD_SET(NVME_CQE_SC, 0x06);
		attach_fails(&b, attach_cmd[k - 1], NULL);
		assert_int_equal(fb.dev.nlog, k); /* it got that far */
		assert_int_equal(binds, NVME_IOQ_MAX + 1);
	}
}

/* Each of them never answered: the attach fails at its timeout (no
 * reset), with the same unwind: the timeout's line, then the step's */
static void test_attach_command_timeout_unwinds(void **state)
{
	(void)state;
	for (unsigned k = 1; k <= ARRAY_SIZE(attach_cmd); k++) {
		fake_broker_init(OWNER);
		struct before b = before_attach();
		fb.stall_cmd = k;
		attach_fails(&b, attach_cmd[k - 1],
			     "timed out after 2000 ms; the attach fails");
		assert_int_equal(fb.dev.nlog, k - 1);
		assert_int_equal(fb.enables, 1);
	}
}

/* allocations that fail: the controller state, the DMA pool, the
 * namespace table (each by the owner's limit, as a hostile or busy owner
 * meets it) */
/* /api/nvme as the Web UI serves it */
static const char *api_nvme(void)
{
	static char buf[8192];
	struct json j;
	const struct status_provider *p = status_find("nvme");
	assert_non_null(p);
	json_init(&j, buf, sizeof(buf));
	p->fn(&j);
	assert_true(json_end(&j) > 0);
	return buf;
}

static void test_attach_alloc_fails_unwinds(void **state)
{
	(void)state;
	struct dma_owner *o;
	/* the softc */
	fake_broker_init(OWNER);
	o = dma_owner_acct(OWNER);
	uint64_t kmax = o->max[DMA_CHARGE_KMEM], pmax = o->max[DMA_CHARGE_POOL];
	struct before b = before_attach();
	o->max[DMA_CHARGE_KMEM] = o->use[DMA_CHARGE_KMEM];
	attach_fails(&b, "unable to allocate controller state",
		     "no 32 KiB of kernel memory");
	assert_int_equal(binds, 0);
	o->max[DMA_CHARGE_KMEM] = kmax;
	/* the pool */
	fake_broker_init(OWNER);
	b = before_attach();
	o->max[DMA_CHARGE_POOL] = o->use[DMA_CHARGE_POOL];
	attach_fails(&b, "unable to allocate DMA pool", "over its DMA quota");
	assert_int_equal(binds, NVME_IOQ_MAX + 1);
	assert_int_equal(fb.enables, 0);
	o->max[DMA_CHARGE_POOL] = pmax;
	/* the namespace table (the one granted and NVME_NS_LATE more), after
	 * every queue is up */
	fake_broker_init(OWNER);
	b = before_attach();
	o->max[DMA_CHARGE_KMEM] =
	    o->use[DMA_CHARGE_KMEM] +
	    ALIGN_UP(sizeof(struct nvme_softc), PAGE_SIZE);
	char why[48];
	snprintf(why, sizeof(why), "unable to allocate %u namespaces",
		 1 + NVME_NS_LATE);
	attach_fails(&b, why, "of kernel memory");
	assert_int_equal(fb.dev.nlog, ARRAY_SIZE(attach_cmd));
	o->max[DMA_CHARGE_KMEM] = kmax;
	/* the controller never becomes ready */
	fake_broker_init(OWNER);
	b = before_attach();
	fb.fail_enable = true;
	attach_fails(&b, "unable to enable controller", NULL);
	assert_int_equal(binds, NVME_IOQ_MAX + 1);
}

/* a detach gives the controller up for good: its vectors revoked, the
 * softc out of nvme_sc (nvme_first, nvme_at, /api/nvme as its status
 * provider serves it), its namespaces out of the block device registry
 * and the softc off the function; the next attach, a rebind, gets the next
 * name, never the detached one's (before 3a21e14 nvme_at kept the freed softc
 * and the name came from the count of controllers) */
static void test_detach_drops_softc_next_name(void **state)
{
	(void)state;
	static struct pci_dev d;
	d.cap_msix = true;
	msix_ok = true;
	fake_broker_init(OWNER);
	unsigned nb = nblockdevs;
	assert_int_equal(nvme_driver.attach(&d, OWNER), 0);
	struct nvme_softc *sc = d.drv_state;
	assert_non_null(sc);
	assert_ptr_equal(nvme_first(), sc);
	assert_non_null(strstr(api_nvme(), sc->name));
	assert_true(nblockdevs > nb);
	unsigned k;
	assert_int_equal(sscanf(sc->name, "nvme%u", &k), 1);
	for (unsigned i = 0; i <= NVME_IOQ_MAX; i++)
		assert_int_equal(bound[i], 1);
	assert_int_equal(nvme_driver.detach(&d), 0);
	assert_null(d.drv_state);
	assert_null(nvme_first());
	assert_null(nvme_at(0));
	assert_string_equal(api_nvme(), "[]");
	assert_int_equal(nblockdevs, nb);
	for (unsigned i = 0; i <= NVME_IOQ_MAX; i++)
		assert_int_equal(bound[i], 0);
	/* the unbind gives the owner's kernel memory back */
	auth_kmem_free(OWNER, sc, sizeof(*sc));
	fake_broker_init(OWNER);
	assert_int_equal(nvme_driver.attach(&d, OWNER), 0);
	struct nvme_softc *again = d.drv_state;
	char want[16];
	snprintf(want, sizeof(want), "nvme%u", k + 1);
	assert_string_equal(again->name, want);
	assert_ptr_equal(nvme_first(), again);
	assert_null(nvme_at(1));
	assert_int_equal(nvme_driver.detach(&d), 0);
	assert_null(nvme_first());
	auth_kmem_free(OWNER, again, sizeof(*again));
}

int main(void)
{
	shim_quiet = getenv("NVME_TEST_VERBOSE") == NULL;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_broker_open_fails),
	    cmocka_unit_test(test_enable_fails),
	    cmocka_unit_test(test_attach_command_fails_unwinds),
	    cmocka_unit_test(test_attach_command_timeout_unwinds),
	    cmocka_unit_test(test_attach_alloc_fails_unwinds),
	    cmocka_unit_test(test_detach_drops_softc_next_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
