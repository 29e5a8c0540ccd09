/* tests/host/devmgr/test_devmgr.c — devmgr_bind_all over a fake PCI list
 * and fake drivers, with the real policy (kernel/devmgr/policy.c) and the
 * real owner table (kernel/authority): a driver is the adversary. One that
 * fails identify or attach half-way must leave its function unbound and
 * its owner with nothing (every pool seized, the device stopped); strings
 * a driver hands back without a NUL are cut at their field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/authority/authority.h"
#include "kernel/authority/virtio_broker.h"
#include "kernel/cpu/cpu.h"
#include "kernel/devmgr/blockdev.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/devmgr/shape.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "kernel/time/time.h"
#include "shim.h"
#include "tests/host/lib/status_render.h"

/* what devmgr calls outside itself: tests/host/devmgr/devmgr_env.c */
/* the virtio broker devmgr_own opens for a driver whose rings are
 * brokered (device 0x0008 here): it answers broker_ok, and records the
 * owner it was opened for and whether the driver had run yet. Called for
 * any other function, it is a failure */
static bool broker_ok;
static unsigned broker_opens, attaches_at_open, brokered_attaches;
static uint16_t broker_owner;
int virtio_broker_open(struct pci_dev *d, uint16_t owner,
		       struct virtio_broker *out)
{
	(void)out;
	if (d->device != 0x0008) {
		fprintf(stderr, "virtio_broker_open called for a driver "
				"without rings\n");
		abort();
	}
	broker_opens++;
	broker_owner = owner;
	attaches_at_open = brokered_attaches;
	return broker_ok ? 0 : -1;
}

/* [8]: the supervisor's flaky one, [9]: the brokered one, [10]: one with
 * no detach, each bound by its tests */
struct pci_dev pci_devs[11];
unsigned pci_ndevs;

/* each function's Command register as pci_enable last left it (the
 * shim's weak one records nothing) */
static uint16_t cmd[ARRAY_SIZE(pci_devs)];
void pci_enable(struct pci_dev *d, bool mem, bool io, bool bus_master)
{
	cmd[d - pci_devs] =
	    (uint16_t)((mem ? PCI_COMMAND_MEM : 0) | (io ? PCI_COMMAND_IO : 0) |
		       (bus_master ? PCI_COMMAND_MASTER : 0));
}

/* ---- drivers ------------------------------------------------------------ */
static struct dma_pool attach_pool, identify_pool; /* what they were given */
static unsigned attached;

/* takes a pool, then gives up without giving it back; its own unwind
 * turns the function's decode and bus mastering off, as the drivers' do */
static int halfway_attach(struct pci_dev *d, uint16_t owner)
{
	pci_enable(d, true, false, true);
	assert_int_equal(dma_pool_create(owner, PAGE_SIZE, 0, &attach_pool), 0);
	pci_enable(d, false, false, false);
	return -1;
}

/* takes a pool in identify, then says the device is unusable */
static int halfway_identify(struct pci_dev *d, uint16_t owner,
			    struct dev_identity *out)
{
	(void)d, (void)out;
	assert_int_equal(dma_pool_create(owner, PAGE_SIZE, 0, &identify_pool),
			 0);
	return -1;
}

/* fills both strings to the last byte: no terminator */
static int unterminated_identify(struct pci_dev *d, uint16_t owner,
				 struct dev_identity *out)
{
	(void)d, (void)owner;
	memset(out->model, 'M', sizeof(out->model));
	memset(out->serial, 'S', sizeof(out->serial));
	return 0;
}

/* registers a block device in its own kernel memory, gives the memory
 * back and fails: the registry must not keep the pointer */
static int halfway_blockdev_attach(struct pci_dev *d, uint16_t owner)
{
	(void)d;
	struct blockdev *b = auth_kmem_alloc(owner, sizeof(*b));
	assert_non_null(b);
	strlcpy(b->name, "halfway0n1", sizeof(b->name));
	blockdev_register(b);
	assert_int_equal(nblockdevs, 1);
	auth_kmem_free(owner, b, sizeof(*b));
	return -1;
}

static int ok_attach(struct pci_dev *d, uint16_t owner)
{
	(void)owner;
	attached++;
	strlcpy(d->state, "running", sizeof(d->state));
	return 0;
}

/* bound, not counted in attached (devmgr_shutdown's functions) */
static int quiet_attach(struct pci_dev *d, uint16_t owner)
{
	(void)d, (void)owner;
	return 0;
}

static int brokered_attach(struct pci_dev *d, uint16_t owner)
{
	(void)d, (void)owner;
	brokered_attaches++;
	return 0;
}

/* devmgr_shutdown's order: the functions detached, in turn */
static unsigned detached[8], ndetached;
/* takes 1500 us and the device confirms */
static int slow_detach(struct pci_dev *d)
{
	detached[ndetached++] = (unsigned)(d - pci_devs);
	time_delay_us(1500);
	return 0;
}
/* stopped without the device confirming */
static int unconfirmed_detach(struct pci_dev *d)
{
	detached[ndetached++] = (unsigned)(d - pci_devs);
	return 1;
}

#define DRIVER(nm, dev, ident, att, det)                                       \
	static const struct pci_match nm##_ids[] = {{0x1234, dev, 0, 0}};      \
	static const struct driver nm##_drv = {.name = #nm,                    \
					       .ids = nm##_ids,                \
					       .nids = 1,                      \
					       .dma = true,                    \
					       .identify = ident,              \
					       .attach = att,                  \
					       .detach = det}
DRIVER(halfway_attach, 0x0001, NULL, halfway_attach, NULL);
DRIVER(halfway_identify, 0x0002, halfway_identify, ok_attach, NULL);
DRIVER(unterminated, 0x0003, unterminated_identify, ok_attach, NULL);
DRIVER(halfway_blockdev, 0x0004, NULL, halfway_blockdev_attach, NULL);
DRIVER(slow, 0x0005, NULL, quiet_attach, slow_detach);
DRIVER(unconfirmed, 0x0006, NULL, quiet_attach, unconfirmed_detach);

/* the supervisor's: an attach that fails while flaky_down is set, a
 * detach that confirms; attaches counted */
static bool flaky_down;
static unsigned flaky_attaches;
/* the driver reports a failure from inside its attach (which still
 * answers 0) or its detach: a device that broke its ring at once */
static bool flaky_report_in_attach, flaky_report_in_detach;
static int flaky_attach(struct pci_dev *d, uint16_t owner)
{
	flaky_attaches++;
	if (flaky_report_in_attach)
		devmgr_failed(d, owner, "broken ring at bring-up");
	return flaky_down ? -1 : 0;
}
static int flaky_detach(struct pci_dev *d)
{
	if (flaky_report_in_detach)
		devmgr_failed(d, d->owner, "broken ring at detach");
	return 0;
}
DRIVER(flaky, 0x0007, NULL, flaky_attach, flaky_detach);
/* no detach: devmgr_shutdown leaves it running */
DRIVER(nodetach, 0x0009, NULL, quiet_attach, NULL);

static const struct pci_match brokered_ids[] = {{0x1234, 0x0008, 0, 0}};
static const struct driver brokered_drv = {.name = "brokered",
					   .ids = brokered_ids,
					   .nids = 1,
					   .dma = true,
					   .rings_brokered = true,
					   .attach = brokered_attach};

const struct driver *const devmgr_drivers[] = {
    &brokered_drv,	   &halfway_attach_drv,
    &halfway_identify_drv, &unterminated_drv,
    &halfway_blockdev_drv, &slow_drv,
    &unconfirmed_drv,	   &flaky_drv,
    &nodetach_drv,
};
const unsigned devmgr_ndrivers = ARRAY_SIZE(devmgr_drivers);

/* pages of a pool a failed driver kept that went back to the allocator:
 * the device may still be working its rings there */
static unsigned kept_pool_freed;
static void page_freed(uint64_t pa, size_t len)
{
	const struct dma_pool *p[] = {&attach_pool, &identify_pool};
	for (unsigned i = 0; i < 2; i++)
		if (p[i]->len && pa < (uint64_t)p[i]->va + p[i]->len &&
		    (uint64_t)p[i]->va < pa + len)
			kept_pool_freed++;
}

/* one function per driver, bound once as the kernel does */
static int setup(void **st)
{
	(void)st;
	shim_page_hook = page_freed;
	for (unsigned i = 0; i < 6; i++) {
		struct pci_dev *d = &pci_devs[i];
		d->dev = (uint8_t)i;
		d->vendor = 0x1234;
		d->device = (uint16_t)(i + 1);
		strlcpy(d->state, "unbound", sizeof(d->state));
	}
	pci_ndevs = 6;
	devmgr_bind_all();
	return 0;
}

/* attach took a pool and failed: the function is unbound, its owner
 * revoked, the pool seized (no longer live), and the owner gets nothing
 * new */
static void test_attach_fails_halfway(void **st)
{
	(void)st;
	struct pci_dev *d = &pci_devs[0];
	assert_null(d->drv);
	assert_string_equal(d->state, "attach failed");
	assert_true(d->owner != 0);
	assert_true(auth_owner_revoked(d->owner));
	assert_false(dma_pool_live(&attach_pool));
	struct dma_pool p2;
	assert_int_equal(dma_pool_create(d->owner, PAGE_SIZE, 0, &p2), -1);
	/* the revocation did not turn decode on again behind the driver's
	 * unwind: the function is left decoding nothing, off the bus */
	assert_int_equal(cmd[0], 0);
	/* seized and parked, never freed: what the driver kept (virtio-net's
	 * pool after an unconfirmed reset) stays out of the allocator */
	assert_int_equal(kept_pool_freed, 0);
	/* a report naming the owner the failed attach left it: no driver
	 * holds it, so a stale instance's — no line, nothing due or left */
	shim_count_lines("devmgr: ");
	devmgr_failed(d, d->owner, "late");
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 0);
	assert_false(d->restart.pending);
	assert_int_equal(d->restart.left, 0);
}

/* identify took a pool and failed: the same, and attach never ran for it */
static void test_identify_fails_halfway(void **st)
{
	(void)st;
	struct pci_dev *d = &pci_devs[1];
	assert_null(d->drv);
	assert_string_equal(d->state, "refused: identify");
	assert_int_equal(attached, 1); /* the third function's only */
	assert_true(auth_owner_revoked(d->owner));
	assert_false(dma_pool_live(&identify_pool));
	assert_int_equal(cmd[1], 0);
}

/* the identify strings end at their field whatever the driver wrote:
 * /api/shape shows 40 and 20 characters */
static void test_identify_unterminated(void **st)
{
	(void)st;
	struct pci_dev *d = &pci_devs[2];
	assert_ptr_equal(d->drv, &unterminated_drv);
	assert_string_equal(d->state, "running");
	assert_false(auth_owner_revoked(d->owner));
	static char buf[8192];
	status_render("shape", buf, sizeof(buf));
	char want[128];
	snprintf(want, sizeof(want), "\"model\":\"%.40s\",\"serial\":\"%.20s\"",
		 "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM",
		 "SSSSSSSSSSSSSSSSSSSSSSSS");
	assert_non_null(strstr(buf, want));
}

/* a block device registered by an attach that failed leaves the registry
 * with the failure */
static void test_attach_fails_after_blockdev(void **st)
{
	(void)st;
	struct pci_dev *d = &pci_devs[3];
	assert_null(d->drv);
	assert_string_equal(d->state, "attach failed");
	assert_int_equal(nblockdevs, 0);
}

/* registered twice, unregistered once: nothing is left behind */
static void test_blockdev_registered_twice(void **st)
{
	(void)st;
	struct blockdev b = {.block_size = 512};
	memset(b.name, 'n', sizeof(b.name)); /* unterminated: cut */
	blockdev_register(&b);
	blockdev_register(&b);
	assert_int_equal(nblockdevs, 1);
	assert_int_equal(strlen(b.name), sizeof(b.name) - 1);
	blockdev_unregister(&b);
	assert_int_equal(nblockdevs, 0);
}

/* the registry holds BLOCKDEV_MAX (256) devices, in the order registered:
 * on a full table a device registered already is found as such (the scan
 * covers every entry and reads none past it), one more is refused with a
 * line naming it and changes nothing, and unregistering one never
 * registered is a no-op; one taken from the middle leaves the rest in
 * order and its freed slot at the end cleared, so the refused one fits */
static void test_blockdev_registry_holds_BLOCKDEV_MAX(void **st)
{
	(void)st;
	static struct blockdev b[BLOCKDEV_MAX + 1];
	assert_int_equal(nblockdevs, 0);
	shim_quiet = 1; /* a line a device; shim_last_line still holds it */
	for (unsigned i = 0; i <= BLOCKDEV_MAX; i++) {
		snprintf(b[i].name, sizeof(b[i].name), "bd%u", i);
		b[i].block_size = 512;
	}
	for (unsigned i = 0; i < BLOCKDEV_MAX; i++) {
		blockdev_register(&b[i]);
		assert_int_equal(nblockdevs, i + 1);
		assert_ptr_equal(blockdevs[i], &b[i]);
	}
	blockdev_register(&b[BLOCKDEV_MAX - 1]);
	assert_string_equal(shim_last_line,
			    "devmgr: block device bd255 registered already\n");
	blockdev_register(&b[BLOCKDEV_MAX]);
	assert_string_equal(shim_last_line,
			    "devmgr: more than 256 block devices; bd256 not "
			    "registered\n");
	assert_int_equal(nblockdevs, BLOCKDEV_MAX);
	uint64_t lines = shim_kprintf_calls;
	blockdev_unregister(&b[BLOCKDEV_MAX]);
	assert_int_equal(nblockdevs, BLOCKDEV_MAX);
	assert_int_equal(shim_kprintf_calls, lines); /* nothing to say */
	blockdev_unregister(&b[10]);
	assert_int_equal(nblockdevs, BLOCKDEV_MAX - 1);
	for (unsigned i = 0; i < BLOCKDEV_MAX - 1; i++)
		assert_ptr_equal(blockdevs[i], &b[i < 10 ? i : i + 1]);
	assert_null(blockdevs[BLOCKDEV_MAX - 1]);
	blockdev_register(&b[BLOCKDEV_MAX]);
	assert_ptr_equal(blockdevs[BLOCKDEV_MAX - 1], &b[BLOCKDEV_MAX]);
	for (unsigned i = 0; i <= BLOCKDEV_MAX; i++)
		blockdev_unregister(&b[i]);
	assert_int_equal(nblockdevs, 0);
	for (unsigned i = 0; i < BLOCKDEV_MAX; i++)
		assert_null(blockdevs[i]);
	shim_quiet = 0;
}

/* The orderly end: the bound functions with a detach are detached in the
 * reverse of the bind order (here pci_devs order), one line each with the time
 * it took and what the device said; one without a detach is left
 * running, said in its line; the failed ones (no driver) say nothing.
 * Asked again, nothing is detached twice. */
static void test_shutdown_reverse_order(void **st)
{
	(void)st;
	ndetached = 0;
	shim_count_lines("devmgr: ");
	devmgr_shutdown();
	unsigned said = shim_counted;
	assert_int_equal(ndetached, 2);
	assert_int_equal(detached[0], 5); /* bound last, detached first */
	assert_int_equal(detached[1], 4);
	/* unconfirmed, slow, unterminated */
	assert_int_equal(said, 3);
	assert_non_null(strstr(shim_last_line, "0000:00:02.0 unterminated: no "
					       "detach; left running"));
	assert_null(pci_devs[5].drv);
	assert_null(pci_devs[4].drv);
	assert_string_equal(pci_devs[4].state, "shut down");
	/* the state says what the line says: stopped, not confirmed */
	assert_string_equal(pci_devs[5].state, "stopped: not confirmed");
	assert_non_null(pci_devs[2].drv);
	/* again: only the one left running says so */
	shim_count_lines("devmgr: ");
	devmgr_shutdown();
	said = shim_counted;
	shim_line_hook = NULL;
	assert_int_equal(ndetached, 2);
	assert_int_equal(said, 1);
}

/* each line names the device, its driver, the outcome and the time */
static char lines[3][256];
static unsigned nlines;
static void line_save(const char *line)
{
	if (!strncmp(line, "devmgr: ", 8) && nlines < 3)
		strlcpy(lines[nlines++], line, sizeof(lines[0]));
}
static void test_shutdown_lines(void **st)
{
	(void)st;
	/* bound again for this test: the first shutdown unbound them */
	pci_devs[4].drv = &slow_drv;
	pci_devs[5].drv = &unconfirmed_drv;
	nlines = 0;
	shim_line_hook = line_save;
	devmgr_shutdown();
	shim_line_hook = NULL;
	assert_int_equal(nlines, 3);
	assert_string_equal(lines[0], "devmgr: 0000:00:05.0 unconfirmed "
				      "stopped without a confirmed shutdown in "
				      "0 us\n");
	assert_string_equal(lines[1],
			    "devmgr: 0000:00:04.0 slow shut down in 1500 us\n");
}

/* the bind order is recorded, not read from pci_devs: two more functions,
 * 07.0 bound before 06.0 -> 06.0 detached first. Before, devmgr_shutdown
 * walked pci_devs backwards and detached 07.0 first. A function already
 * bound is not bound twice */
static void test_shutdown_follows_bind_order(void **st)
{
	(void)st;
	for (unsigned i = 6; i < 8; i++) {
		struct pci_dev *d = &pci_devs[i];
		d->dev = (uint8_t)i;
		d->vendor = 0x1234;
		d->device = (uint16_t)(i - 1); /* slow, unconfirmed */
		strlcpy(d->state, "unbound", sizeof(d->state));
	}
	pci_ndevs = 8;
	devmgr_bind(&pci_devs[7]);
	devmgr_bind(&pci_devs[6]);
	uint16_t owner = pci_devs[6].owner;
	devmgr_bind(&pci_devs[6]); /* bound: left alone */
	assert_int_equal(pci_devs[6].owner, owner);
	assert_ptr_equal(pci_devs[6].drv, &slow_drv);
	assert_ptr_equal(pci_devs[7].drv, &unconfirmed_drv);
	ndetached = 0;
	devmgr_shutdown();
	assert_int_equal(ndetached, 2);
	assert_int_equal(detached[0], 6); /* bound last, detached first */
	assert_int_equal(detached[1], 7);
}

/* devmgr_unbind: the driver's detach, then the authority layer takes
 * the owner back — memory freed when the detach confirmed the stop,
 * withheld when it did not — the function leaves the bind order, decodes
 * nothing and reads "unbound"; devmgr_rebind binds it under a fresh owner
 * and it goes to the end of the order, once. Before (no unbind), a
 * function shut down and bound again stayed in the order twice and the
 * next shutdown detached it twice */
static void test_unbind_rebind(void **st)
{
	(void)st;
	struct pci_dev *a = &pci_devs[6], *b = &pci_devs[7];
	assert_null(a->drv); /* shut down by the test before */
	/* still its owner's: unbound first, the shutdown's answer kept; a
	 * bind leaves it alone, a rebind says why not */
	uint16_t was = a->owner;
	shim_count_lines("devmgr: ");
	devmgr_bind(a);
	assert_int_equal(shim_counted, 0);
	assert_int_equal(a->owner, was);
	assert_int_equal(devmgr_rebind(a), -1);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 1);
	char want[96];
	snprintf(want, sizeof(want),
		 "devmgr: 0000:00:06.0: unable to rebind (owner %u holds it)",
		 was);
	assert_non_null(strstr(shim_last_line, want));
	assert_int_equal(devmgr_unbind(a), 0);
	snprintf(want, sizeof(want),
		 "(detach confirmed; owner %u gave everything back)\n", was);
	assert_non_null(strstr(shim_last_line,
			       "devmgr: 0000:00:06.0 (shut down) unbound in "));
	assert_non_null(strstr(shim_last_line, want));
	assert_int_equal(devmgr_unbind(b), 0); /* nothing held to withhold */
	assert_non_null(strstr(shim_last_line, "(detach not confirmed; owner"));
	assert_int_equal(devmgr_rebind(a), 0);
	assert_int_equal(devmgr_rebind(b), 0);
	assert_int_equal(devmgr_rebind(a), -1); /* bound */
	uint16_t oa = a->owner, ob = b->owner;
	assert_true(oa && ob && oa != ob);
	uint64_t out = shim_pages_in_use;
	struct dma_pool pa, pb;
	assert_int_equal(dma_pool_create(oa, 2 * PAGE_SIZE, 0, &pa), 0);
	assert_int_equal(dma_pool_create(ob, PAGE_SIZE, 0, &pb), 0);
	ndetached = 0;
	assert_int_equal(devmgr_unbind(a), 0); /* detach confirmed */
	assert_int_equal(ndetached, 1);
	assert_null(a->drv);
	assert_int_equal(a->owner, 0);
	assert_null(auth_owner_facts(oa));
	assert_string_equal(a->state, "unbound");
	assert_int_equal(cmd[6], 0);
	assert_int_equal(shim_pages_in_use, out + 1); /* b's pool */
	assert_int_equal(devmgr_unbind(b), 1); /* not confirmed: withheld */
	assert_non_null(strstr(shim_last_line, "(detach not confirmed; owner"));
	assert_non_null(strstr(shim_last_line, " withheld memory)\n"));
	assert_int_equal(shim_pages_in_use, out + 1);
	assert_int_equal(devmgr_unbind(a), -1);
	assert_false(dma_pool_live(&pa));
	/* rebound: a fresh owner, and once in the order */
	assert_int_equal(devmgr_rebind(a), 0);
	assert_true(a->owner && a->owner != oa);
	assert_string_equal(a->state, "running");
	/* a driver restarted again and again: every owner slot and every
	 * place in the bind order comes back (none is kept per restart) */
	for (unsigned k = 0; k < 2 * AUTH_OWNER_MAX; k++) {
		ndetached = 0;
		assert_int_equal(devmgr_unbind(a), 0);
		assert_int_equal(devmgr_rebind(a), 0);
	}
	assert_int_equal(shim_pages_in_use, out + 1);
	/* a function whose attach failed holds its owner but is not in the
	 * bind order: its unbind leaves the order as it was (02.0, bound
	 * first, still in it) */
	assert_null(pci_devs[0].drv);
	assert_non_null(auth_owner_facts(pci_devs[0].owner));
	assert_int_equal(devmgr_unbind(&pci_devs[0]), 1); /* its pool kept */
	assert_non_null(strstr(shim_last_line, "(detach not confirmed; owner"));
	ndetached = 0;
	shim_count_lines("devmgr: 0000:00:02.0 unterminated: no detach");
	devmgr_shutdown();
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 1);
	assert_int_equal(ndetached, 1);
	assert_int_equal(detached[0], 6);
}

/* ---- the supervisor (devmgr_failed, devmgr_poll) ------------------------ */

static void advance_us(uint64_t us)
{
	shim_clock_ns += us * 1000;
}

/* the flaky function (08.0), bound once */
static struct pci_dev *flaky_fn(void)
{
	struct pci_dev *d = &pci_devs[8];
	if (pci_ndevs < 9) {
		d->dev = 8;
		d->vendor = 0x1234;
		d->device = 0x0007;
		strlcpy(d->state, "unbound", sizeof(d->state));
		pci_ndevs = 9;
		devmgr_bind(d);
	}
	return d;
}

/* polls until `us` from now, one poll a millisecond; the restarts run */
static unsigned poll_for(uint64_t us)
{
	unsigned ran = 0;
	for (uint64_t t = 0; t < us; t += 1000) {
		ran += devmgr_poll();
		advance_us(1000);
	}
	return ran;
}

/* A driver that gives its device up is restarted — unbound, bound again
 * under a fresh owner — after DEVMGR_RESTART_DELAY_US, then twice that,
 * then four times, one line each; the failure after the
 * DEVMGR_RESTART_MAX-th is one line and the function is left failed: no
 * restart however long it waits. A report from the old owner (a stale
 * instance) changes nothing. /api/devices shows the restarts */
static void test_restart_budget_and_backoff(void **st)
{
	(void)st;
	struct pci_dev *d = flaky_fn();
	assert_ptr_equal(d->drv, &flaky_drv);
	unsigned att = flaky_attaches;
	shim_count_lines("devmgr: 0000:00:08.0 flaky restart");
	for (unsigned k = 0; k < DEVMGR_RESTART_MAX; k++) {
		uint16_t owner = d->owner;
		devmgr_failed(d, owner, "broken ring");
		devmgr_failed(d, owner, "broken ring"); /* once is enough */
		uint64_t delay = DEVMGR_RESTART_DELAY_US << k;
		/* not before its backoff */
		assert_int_equal(poll_for(delay - 1000), 0);
		assert_int_equal(d->owner, owner);
		assert_int_equal(poll_for(2000), 1);
		assert_ptr_equal(d->drv, &flaky_drv);
		assert_true(d->owner && d->owner != owner);
		assert_null(auth_owner_facts(owner)); /* given back */
		assert_int_equal(d->restart.count, k + 1);
		assert_string_equal(d->restart.why, "broken ring");
		assert_non_null(strstr(shim_last_line, "(broken ring)"));
		assert_int_equal(flaky_attaches, att + k + 1);
		/* the old instance's word is stale */
		devmgr_failed(d, owner, "stale");
		assert_false(d->restart.pending);
	}
	assert_int_equal(shim_counted, DEVMGR_RESTART_MAX);
	shim_count_lines("devmgr: ");
	devmgr_failed(d, d->owner, "broken ring");
	assert_int_equal(shim_counted, 1);
	assert_non_null(strstr(shim_last_line, "spent the budget"));
	assert_int_equal(poll_for(20 * DEVMGR_RESTART_DELAY_US), 0);
	devmgr_failed(d, d->owner, "broken ring"); /* said once */
	assert_int_equal(shim_counted, 1);
	shim_line_hook = NULL;
	assert_int_equal(d->restart.count, DEVMGR_RESTART_MAX);
	assert_int_equal(flaky_attaches, att + DEVMGR_RESTART_MAX);
	static char buf[8192];
	status_render("devices", buf, sizeof(buf));
	assert_non_null(strstr(buf,
			       "\"driver\":\"flaky\",\"state\":\"running\","
			       "\"restarts\":3,\"restart\":\"budget spent\""));
}

/* the budget is full again only once the function has run
 * DEVMGR_RESTART_CLEAN_US since it was last bound: an operator's rebind of
 * a spent function fails again at once and is left failed; bound again
 * and run that long, its next failure is restarted after the first
 * backoff */
static void test_restart_budget_refilled_after_clean_run(void **st)
{
	(void)st;
	struct pci_dev *d = flaky_fn();
	assert_true(d->restart.spent);
	assert_int_equal(devmgr_unbind(d), 0);
	assert_int_equal(devmgr_rebind(d), 0);
	devmgr_failed(d, d->owner, "broken ring");
	assert_true(d->restart.spent);
	assert_false(d->restart.pending);
	assert_int_equal(devmgr_unbind(d), 0);
	assert_int_equal(devmgr_rebind(d), 0);
	advance_us(DEVMGR_RESTART_CLEAN_US);
	uint16_t owner = d->owner;
	devmgr_failed(d, owner, "broken ring");
	assert_true(d->restart.pending);
	assert_int_equal(d->restart.used, 0);
	assert_int_equal(poll_for(DEVMGR_RESTART_DELAY_US + 1000), 1);
	assert_true(d->owner != owner);
	assert_int_equal(d->restart.used, 1);
	assert_int_equal(d->restart.count, DEVMGR_RESTART_MAX + 1);
}

/* a restart whose own bring-up fails counts as the next failure: tried
 * again after the doubled backoff, until the budget is spent, then left
 * failed (attach failed, no driver, its owner revoked), one line a
 * restart; nothing more however long it waits */
static void test_restart_fails_in_its_bring_up(void **st)
{
	(void)st;
	struct pci_dev *d = flaky_fn();
	advance_us(DEVMGR_RESTART_CLEAN_US); /* a fresh budget */
	unsigned att = flaky_attaches;
	flaky_down = true;
	shim_count_lines("devmgr: 0000:00:08.0 flaky restart");
	devmgr_failed(d, d->owner, "DEVICE_NEEDS_RESET");
	assert_int_equal(poll_for(DEVMGR_RESTART_DELAY_US + 1000), 1);
	assert_null(d->drv);
	assert_string_equal(d->state, "attach failed");
	assert_true(d->restart.pending);
	assert_non_null(strstr(shim_last_line, "next in 2000 ms"));
	/* a report naming the owner its failed attach left it: no driver
	 * holds it, nothing to say or do */
	unsigned before = shim_counted;
	devmgr_failed(d, d->owner, "late");
	assert_int_equal(shim_counted, before);
	assert_string_equal(d->restart.why, "DEVICE_NEEDS_RESET");
	assert_int_equal(poll_for(2 * DEVMGR_RESTART_DELAY_US + 1000), 1);
	assert_int_equal(poll_for(4 * DEVMGR_RESTART_DELAY_US + 1000), 1);
	assert_int_equal(shim_counted, DEVMGR_RESTART_MAX);
	assert_non_null(strstr(shim_last_line, "budget spent"));
	assert_false(d->restart.pending);
	assert_true(d->restart.spent);
	assert_int_equal(flaky_attaches, att + DEVMGR_RESTART_MAX);
	assert_int_equal(poll_for(20 * DEVMGR_RESTART_DELAY_US), 0);
	assert_int_equal(flaky_attaches, att + DEVMGR_RESTART_MAX);
	shim_line_hook = NULL;
	assert_null(d->drv);
	assert_true(auth_owner_revoked(d->owner));
	flaky_down = false;
	/* an operator brings it back */
	assert_int_equal(devmgr_unbind(d), 0);
	assert_int_equal(devmgr_rebind(d), 0);
}

/* an owner revoked on purpose (an operator, a proof: auth_owner_revoke,
 * not auth_poll's DMA fault) is not fought: the driver's report is one
 * line and no restart; an unbind from outside calls a due restart off,
 * and a fenced function is never restarted */
static void test_restart_not_against_revocation(void **st)
{
	(void)st;
	struct pci_dev *d = flaky_fn();
	advance_us(DEVMGR_RESTART_CLEAN_US);
	uint16_t owner = d->owner;
	assert_true(auth_owner_revoke(owner, "proof") >= 0);
	assert_false(auth_owner_faulted(owner));
	shim_count_lines("devmgr: ");
	devmgr_failed(d, owner, "owner revoked");
	devmgr_failed(d, owner, "owner revoked");
	assert_int_equal(shim_counted, 1);
	assert_non_null(
	    strstr(shim_last_line,
		   "devmgr: 0000:00:08.0 flaky failed (owner revoked)"));
	assert_non_null(strstr(shim_last_line, "not restarted"));
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	assert_int_equal(d->owner, owner);
	shim_line_hook = NULL;
	assert_int_equal(auth_owner_reinstate(owner), 0);
	/* due, then unbound by someone else: not bound again behind them */
	devmgr_failed(d, owner, "broken ring");
	assert_true(d->restart.pending);
	assert_int_equal(devmgr_unbind(d), 0);
	assert_false(d->restart.pending);
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	assert_null(d->drv);
	assert_int_equal(devmgr_rebind(d), 0);
	/* fenced: it may still reach memory given back */
	d->fenced = true;
	shim_count_lines("devmgr: ");
	devmgr_failed(d, d->owner, "NVMe controller given up");
	devmgr_failed(d, d->owner, "NVMe controller given up"); /* once */
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 1);
	assert_false(d->restart.pending);
	assert_non_null(strstr(shim_last_line, "fenced"));
	d->fenced = false;
}

/* a driver whose rings are brokered (virtio-net): the device manager
 * opens the broker for the new owner before the driver runs; a broker
 * it cannot open leaves the function unbound, "refused: no broker", its
 * owner revoked, the driver never attached */
static void test_broker_opened_before_driver(void **st)
{
	(void)st;
	struct pci_dev *d = &pci_devs[9];
	d->dev = 9;
	d->vendor = 0x1234;
	d->device = 0x0008;
	strlcpy(d->state, "unbound", sizeof(d->state));
	broker_ok = false;
	devmgr_bind(d);
	assert_int_equal(broker_opens, 1);
	assert_int_equal(brokered_attaches, 0);
	assert_null(d->drv);
	assert_string_equal(d->state, "refused: no broker");
	assert_true(auth_owner_revoked(broker_owner));
	/* given back, then bound again with a broker that opens */
	assert_int_equal(devmgr_unbind(d), 0); /* nothing to withhold */
	broker_ok = true;
	assert_int_equal(devmgr_rebind(d), 0);
	assert_int_equal(broker_opens, 2);
	assert_int_equal(attaches_at_open, 0); /* before the driver ran */
	assert_int_equal(brokered_attaches, 1);
	assert_int_equal(broker_owner, d->owner);
	assert_ptr_equal(d->drv, &brokered_drv);
	/* nothing of the refused bind lingers: a report is acted on, not
	 * held as if inside a bind; the operator's unbind calls it off */
	devmgr_failed(d, d->owner, "broken ring");
	assert_true(d->restart.pending);
	assert_int_equal(d->restart.held, 0);
	assert_int_equal(devmgr_unbind(d), 0); /* it holds nothing */
	assert_false(d->restart.pending);
	assert_int_equal(devmgr_rebind(d), 0);
}

/* the flaky function bound afresh, with a full budget: unbound and bound
 * again if it is bound (spent cleared), run past DEVMGR_RESTART_CLEAN_US */
static struct pci_dev *fresh_flaky(void)
{
	struct pci_dev *d = flaky_fn();
	if (d->owner && auth_owner_facts(d->owner))
		assert_true(devmgr_unbind(d) >= 0);
	assert_int_equal(devmgr_rebind(d), 0);
	advance_us(DEVMGR_RESTART_CLEAN_US);
	return d;
}

/* a function left to whoever revoked its owner on purpose — its driver
 * gave the device up when it found the revocation (virtio-net's
 * vnet_fail, NVMe's nvme_give_up: every capability it held was taken) —
 * is restarted once the owner is reinstated: one line, a fresh bind after
 * DEVMGR_RESTART_DELAY_US, under a new owner. Before, the reinstated
 * owner's function stayed failed for good: nothing would ever bind it
 * again short of an operator's unbind and rebind */
static void test_reinstated_owner_restarted(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_flaky();
	uint16_t owner = d->owner;
	unsigned att = flaky_attaches;
	assert_true(auth_owner_revoke(owner, "operator") >= 0);
	devmgr_failed(d, owner, "owner revoked");
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	assert_int_equal(d->owner, owner);
	assert_int_equal(auth_owner_reinstate(owner), 0);
	shim_count_lines("restarted (owner reinstated)");
	assert_int_equal(poll_for(DEVMGR_RESTART_DELAY_US + 2000), 1);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 1);
	assert_true(d->owner && d->owner != owner);
	assert_null(auth_owner_facts(owner));
	assert_ptr_equal(d->drv, &flaky_drv);
	assert_int_equal(flaky_attaches, att + 1);
	/* once: nothing more is due */
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
}

/* a failure recorded, then the owner revoked on purpose (an operator, a
 * proof) before the restart is due: the restart is called off with one
 * line, as a report made after such a revocation is — the function is
 * left to whoever revoked it, its owner kept. Before, the restart unbound
 * the revoked owner and bound the function again behind the revoker */
static void test_restart_called_off_by_revocation(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_flaky();
	uint16_t owner = d->owner;
	unsigned att = flaky_attaches;
	uint32_t count = d->restart.count;
	devmgr_failed(d, owner, "broken ring");
	assert_true(d->restart.pending);
	assert_true(auth_owner_revoke(owner, "proof") >= 0);
	shim_count_lines("devmgr: ");
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 1);
	assert_non_null(strstr(shim_last_line, "not restarted"));
	assert_false(d->restart.pending);
	assert_int_equal(d->owner, owner);
	assert_non_null(auth_owner_facts(owner));
	assert_int_equal(flaky_attaches, att);
	assert_int_equal(d->restart.count, count);
	/* the driver's own report of the revocation adds no line */
	shim_count_lines("devmgr: ");
	devmgr_failed(d, owner, "owner revoked");
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 0);
	assert_int_equal(auth_owner_reinstate(owner), 0);
}

/* a driver that reports a failure from inside an attach that still
 * succeeds (a device that broke its ring at once, the driver's failure
 * said before attach returned) is restarted after the backoff, as one
 * reported a moment later would be — whether the attach was the first
 * bind's or a restart's. Before, the report was dropped as "inside an
 * attach" and the function stayed failed for good with its budget full */
static void test_failure_inside_attach_restarted(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_flaky();
	assert_true(devmgr_unbind(d) >= 0);
	flaky_report_in_attach = true;
	assert_int_equal(devmgr_rebind(d), 0);
	uint16_t owner = d->owner;
	assert_false(d->restart.pending); /* recorded, not yet acted on */
	assert_int_equal(poll_for(DEVMGR_RESTART_DELAY_US + 2000), 1);
	assert_string_equal(d->restart.why, "broken ring at bring-up");
	assert_true(d->owner && d->owner != owner);
	assert_ptr_equal(d->drv, &flaky_drv);
	/* the restart's own attach failed again the same way: the next one
	 * after twice the backoff, and so on until the budget is spent */
	owner = d->owner;
	flaky_report_in_attach = false;
	assert_int_equal(poll_for(2 * DEVMGR_RESTART_DELAY_US - 2000), 0);
	assert_int_equal(poll_for(4000), 1);
	assert_true(d->owner != owner);
	assert_int_equal(d->restart.used, 2);
	/* the old instance's report from its detach, made while the
	 * restart unbinds it, is stale: nothing due after */
	flaky_report_in_detach = true;
	devmgr_failed(d, d->owner, "broken ring");
	owner = d->owner;
	shim_count_lines("broken ring at detach");
	assert_int_equal(poll_for(4 * DEVMGR_RESTART_DELAY_US + 2000), 1);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 0);
	assert_non_null(strstr(shim_last_line, "restarted (broken ring), 3"));
	flaky_report_in_detach = false;
	assert_true(d->owner != owner);
	assert_int_equal(d->restart.used, 3);
	assert_int_equal(poll_for(20 * DEVMGR_RESTART_DELAY_US), 0);
	assert_false(d->restart.pending);
	assert_false(d->restart.spent);
}

/* the driver's detach reports a failure while an operator (a proof)
 * unbinds the function: nothing is due after, the function stays
 * unbound. Before, the report made in the detach set a restart due after
 * devmgr_unbind had called restarts off, and the supervisor bound the
 * function again behind the operator */
static void test_failure_inside_operator_unbind_ignored(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_flaky();
	unsigned att = flaky_attaches;
	flaky_report_in_detach = true;
	assert_int_equal(devmgr_unbind(d), 0);
	flaky_report_in_detach = false;
	assert_false(d->restart.pending);
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	assert_null(d->drv);
	assert_int_equal(flaky_attaches, att);
	assert_int_equal(devmgr_rebind(d), 0);
}

/* the refill at its edge: a failure exactly DEVMGR_RESTART_CLEAN_US
 * after the last bind starts a new streak (the first backoff), one a
 * microsecond sooner stays in the streak (the doubled backoff) */
static void at_us(uint64_t us)
{
	shim_clock_ns = us * 1000 - 100; /* time_now_us reads us next */
}
static void test_restart_budget_refill_boundary(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_flaky();
	devmgr_failed(d, d->owner, "broken ring");
	assert_int_equal(poll_for(DEVMGR_RESTART_DELAY_US + 2000), 1);
	assert_int_equal(d->restart.used, 1);
	uint64_t up = d->restart.up_us;
	at_us(up + DEVMGR_RESTART_CLEAN_US - 1);
	devmgr_failed(d, d->owner, "broken ring");
	assert_int_equal(d->restart.used, 1);
	assert_int_equal(d->restart.at_us, up + DEVMGR_RESTART_CLEAN_US - 1 +
					       2 * DEVMGR_RESTART_DELAY_US);
	assert_int_equal(poll_for(2 * DEVMGR_RESTART_DELAY_US + 2000), 1);
	assert_int_equal(d->restart.used, 2);
	up = d->restart.up_us;
	at_us(up + DEVMGR_RESTART_CLEAN_US);
	devmgr_failed(d, d->owner, "broken ring");
	assert_int_equal(d->restart.used, 0);
	assert_int_equal(d->restart.at_us, up + DEVMGR_RESTART_CLEAN_US +
					       DEVMGR_RESTART_DELAY_US);
	/* due exactly then, not a microsecond before */
	at_us(d->restart.at_us - 1);
	assert_false(devmgr_poll());
	at_us(d->restart.at_us);
	assert_true(devmgr_poll());
	assert_int_equal(d->restart.used, 1);
}

/* the kernel leaves (devmgr_shutdown) with a restart due on a function
 * whose last restart's bring-up failed (no driver: not in the bind
 * order, so not detached): the restart is called off with the rest, and
 * nothing binds it after. Before, only the functions the shutdown
 * detached had theirs called off, and the supervisor bound this one
 * again after the drivers had been shut down */
static void test_shutdown_calls_off_due_restarts(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_flaky();
	unsigned att = flaky_attaches;
	flaky_down = true;
	devmgr_failed(d, d->owner, "broken ring");
	assert_int_equal(poll_for(DEVMGR_RESTART_DELAY_US + 2000), 1);
	assert_null(d->drv);
	assert_true(d->restart.pending);
	flaky_down = false;
	devmgr_shutdown();
	assert_false(d->restart.pending);
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	assert_null(d->drv);
	assert_int_equal(flaky_attaches, att + 1);
	static char buf[8192];
	status_render("devices", buf, sizeof(buf));
	assert_null(strstr(buf, "\"restart\":\"pending\""));
}

/* a driver's report from an interrupt handler (cpu_isr_depth) is only
 * recorded: no line, nothing due, the budget untouched — it may have cut
 * into the main loop's own restart of the function — and devmgr_poll acts
 * on it as on any other; a stale report from a handler does not displace
 * it. Before, the handler's call set the restart due and spent budget
 * right there */
static void test_failure_in_interrupt_only_recorded(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_flaky();
	uint16_t owner = d->owner;
	uint32_t count = d->restart.count;
	uint8_t used = d->restart.used;
	shim_count_lines("devmgr: ");
	cpu_isr_depth = 1;
	devmgr_failed(d, owner, "broken ring in a handler");
	devmgr_failed(d, (uint16_t)(owner - 1), "stale in a handler");
	cpu_isr_depth = 0;
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 0);
	assert_false(d->restart.pending);
	assert_int_equal(d->restart.used, used);
	assert_int_equal(d->restart.held, owner);
	assert_false(cpu_host_irqs_off);
	assert_int_equal(poll_for(DEVMGR_RESTART_DELAY_US + 2000), 1);
	assert_int_equal(d->restart.count, count + 1);
	assert_string_equal(d->restart.why, "broken ring in a handler");
	assert_true(d->owner && d->owner != owner);
	assert_int_equal(d->restart.held, 0);
}

/* a report naming an owner the function does not hold — one given back
 * by an unbind, another function's live owner, one never given out, none
 * — is a stale instance's: no line, nothing due or held, nothing
 * restarted */
static void test_failure_from_stale_owner_ignored(void **st)
{
	(void)st;
	struct pci_dev *d = fresh_flaky();
	uint16_t gone = d->owner;
	assert_int_equal(devmgr_unbind(d), 0);
	assert_int_equal(devmgr_rebind(d), 0);
	uint32_t count = d->restart.count;
	uint16_t other = pci_devs[2].owner;
	assert_non_null(auth_owner_facts(other));
	shim_count_lines("devmgr: ");
	devmgr_failed(d, gone, "given back");
	devmgr_failed(d, other, "another function's");
	devmgr_failed(d, (uint16_t)(d->owner + 1), "never given out");
	devmgr_failed(d, 0, "none");
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 0);
	assert_false(d->restart.pending);
	assert_int_equal(d->restart.held, 0);
	assert_int_equal(d->restart.count, count);
	assert_ptr_equal(pci_devs[2].drv, &unterminated_drv);
}

/* owner ids run out in a restart storm (ids are never reused: 65,535
 * binds in all): flaky is bound on the last one and fails; its restart
 * gives that owner back, is refused a new one ("refused: no owner", said
 * once) and the budget is spent at once — no id ever comes back, so no
 * retry can succeed — with no owner left live for the function and no
 * restart after. Before, it was tried again 2 s and 4 s later, one line
 * each */
static void test_restart_when_owner_ids_run_out(void **st)
{
	(void)st;
	struct pci_dev *d = flaky_fn();
	if (d->owner && auth_owner_facts(d->owner))
		assert_true(devmgr_unbind(d) >= 0);
	assert_int_equal(devmgr_rebind(d), 0);
	shim_quiet = 1;
	while (d->owner < UINT16_MAX - 2) {
		assert_int_equal(devmgr_unbind(d), 0);
		assert_int_equal(devmgr_rebind(d), 0);
	}
	/* a restart whose bring-up fails with one id still to come is
	 * tried again (the budget is not spent for want of ids) */
	advance_us(DEVMGR_RESTART_CLEAN_US);
	flaky_down = true;
	devmgr_failed(d, d->owner, "broken ring");
	assert_int_equal(poll_for(DEVMGR_RESTART_DELAY_US + 2000), 1);
	flaky_down = false;
	assert_null(d->drv);
	assert_int_equal(d->owner, UINT16_MAX - 1);
	assert_true(d->restart.pending);
	assert_false(d->restart.spent);
	assert_non_null(strstr(shim_last_line, "next in 2000 ms"));
	while (d->owner < UINT16_MAX) {
		assert_int_equal(devmgr_unbind(d), 0);
		assert_int_equal(devmgr_rebind(d), 0);
	}
	shim_quiet = 0;
	advance_us(DEVMGR_RESTART_CLEAN_US);
	unsigned att = flaky_attaches;
	shim_count_lines("devmgr: ");
	devmgr_failed(d, d->owner, "broken ring");
	assert_int_equal(poll_for(DEVMGR_RESTART_DELAY_US + 2000), 1);
	assert_null(d->drv);
	assert_int_equal(d->owner, 0);
	assert_null(auth_owner_facts(UINT16_MAX));
	assert_string_equal(d->state, "refused: no owner");
	assert_false(d->restart.pending);
	assert_true(d->restart.spent);
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	shim_line_hook = NULL;
	/* the unbind's, the policy's backend, the ids' (once) and the
	 * restart's */
	assert_int_equal(shim_counted, 4);
	assert_non_null(strstr(shim_last_line, "no owner id left"));
	assert_int_equal(flaky_attaches, att);
	assert_int_equal(devmgr_rebind(d), -1);
}

/* the kernel is leaving: a driver without a detach (devmgr_shutdown left
 * it running) that reports a failure after the shutdown is refused with
 * one line, however often it reports, and never bound again. Before, the
 * report set a restart due and devmgr_poll unbound and bound the function
 * again after the drivers had been shut down */
static void test_no_restart_after_shutdown(void **st)
{
	(void)st;
	struct pci_dev *d = &pci_devs[2];
	assert_ptr_equal(d->drv, &unterminated_drv);
	devmgr_shutdown();
	assert_ptr_equal(d->drv, &unterminated_drv); /* left running */
	uint16_t owner = d->owner;
	advance_us(DEVMGR_RESTART_CLEAN_US);
	shim_count_lines("devmgr: ");
	devmgr_failed(d, owner, "broken ring");
	devmgr_failed(d, owner, "broken ring");
	assert_false(d->restart.pending);
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 1);
	assert_non_null(strstr(shim_last_line,
			       "devmgr: 0000:00:02.0 unterminated failed "
			       "(broken ring) after devmgr_shutdown; not "
			       "restarted"));
	assert_int_equal(d->owner, owner);
	assert_int_equal(d->restart.count, 0);
}

/* an owner revoked on purpose before devmgr_shutdown (its report: the
 * "left to whoever revoked it" line), its driver without a detach left
 * running by the shutdown: the owner reinstated after the shutdown
 * restarts nothing and says nothing, and the driver's report after it is
 * the after-shutdown line, once. Before, one field (left) held both "left
 * to the revoker" and "the after-shutdown line said" for the same owner,
 * so that report said nothing at all */
static void test_revoked_then_shutdown_report_said(void **st)
{
	(void)st;
	struct pci_dev *d = &pci_devs[10];
	d->dev = 10;
	d->vendor = 0x1234;
	d->device = 0x0009;
	strlcpy(d->state, "unbound", sizeof(d->state));
	pci_ndevs = 11;
	devmgr_bind(d);
	assert_ptr_equal(d->drv, &nodetach_drv);
	uint16_t owner = d->owner;
	advance_us(DEVMGR_RESTART_CLEAN_US);
	assert_true(auth_owner_revoke(owner, "operator") >= 0);
	shim_count_lines("devmgr: 0000:00:0a.0 nodetach failed");
	devmgr_failed(d, owner, "owner revoked");
	assert_int_equal(shim_counted, 1);
	assert_non_null(strstr(shim_last_line, "left to whoever revoked it"));
	devmgr_shutdown();
	assert_ptr_equal(d->drv, &nodetach_drv); /* left running */
	/* reinstated after the shutdown: nothing restarted, nothing said */
	assert_int_equal(auth_owner_reinstate(owner), 0);
	shim_count_lines("devmgr: ");
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	assert_int_equal(shim_counted, 0);
	shim_count_lines("devmgr: ");
	devmgr_failed(d, owner, "broken ring");
	assert_int_equal(shim_counted, 1); /* said at the first report */
	assert_non_null(strstr(shim_last_line,
			       "devmgr: 0000:00:0a.0 nodetach failed (broken "
			       "ring) after devmgr_shutdown; not restarted"));
	devmgr_failed(d, owner, "broken ring");
	assert_int_equal(poll_for(10 * DEVMGR_RESTART_DELAY_US), 0);
	shim_line_hook = NULL;
	assert_int_equal(shim_counted, 1);
	assert_int_equal(d->owner, owner);
	assert_int_equal(d->restart.count, 0);
	assert_false(d->restart.pending);
}

int main(void)
{
	const struct CMUnitTest t[] = {
	    cmocka_unit_test(test_attach_fails_halfway),
	    cmocka_unit_test(test_identify_fails_halfway),
	    cmocka_unit_test(test_identify_unterminated),
	    cmocka_unit_test(test_attach_fails_after_blockdev),
	    cmocka_unit_test(test_blockdev_registered_twice),
	    cmocka_unit_test(test_blockdev_registry_holds_BLOCKDEV_MAX),
	    cmocka_unit_test(test_shutdown_reverse_order),
	    cmocka_unit_test(test_shutdown_lines),
	    cmocka_unit_test(test_shutdown_follows_bind_order),
	    cmocka_unit_test(test_unbind_rebind),
	    cmocka_unit_test(test_restart_budget_and_backoff),
	    cmocka_unit_test(test_restart_budget_refilled_after_clean_run),
	    cmocka_unit_test(test_restart_fails_in_its_bring_up),
	    cmocka_unit_test(test_restart_not_against_revocation),
	    cmocka_unit_test(test_broker_opened_before_driver),
	    cmocka_unit_test(test_restart_called_off_by_revocation),
	    cmocka_unit_test(test_failure_inside_attach_restarted),
	    cmocka_unit_test(test_failure_inside_operator_unbind_ignored),
	    cmocka_unit_test(test_restart_budget_refill_boundary),
	    cmocka_unit_test(test_reinstated_owner_restarted),
	    cmocka_unit_test(test_shutdown_calls_off_due_restarts),
	    cmocka_unit_test(test_failure_in_interrupt_only_recorded),
	    cmocka_unit_test(test_failure_from_stale_owner_ignored),
	    cmocka_unit_test(test_revoked_then_shutdown_report_said),
	    cmocka_unit_test(test_restart_when_owner_ids_run_out),
	    cmocka_unit_test(test_no_restart_after_shutdown),
	};
	return cmocka_run_group_tests(t, setup, NULL);
}
