/* tests/host/virtio_net/test_vqbroker.c — the virtio broker
 * (kernel/authority/virtio_broker.c) against the virtio-net PCI function
 * model (vnet_model.c) and the real owner table, DMAPool and grants, with
 * a hostile driver: its own writes to the common configuration, features
 * that change how the device reads memory, posts of ids and lengths the
 * queue does not hold, a pool revoked under a live queue, and revocation,
 * resets confirmed or not, and unbind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dma/virtio_reg.h"
#include "dma/virtq.h"
#include "kernel/authority/authority.h"
#include "kernel/authority/virtio_broker.h"
#include "kernel/time/time.h"
#include "owner_shim.h"
#include "shim.h"
#include "vnet_model.h"

#define F(b) (1ull << (b))
#define BUF  2048u
#define QN   8u /* entries per queue in these tests */

static struct dma_pool pool; /* QN buffers per queue, both queues */
/* the function the broker is opened on: vm_pci, or a copy of it bound to
 * an owner of its own (own_fresh) */
static struct pci_dev *dev, others[4];
static unsigned nothers;

static int setup(void **st)
{
	shim_quiet = getenv("VQB_VERBOSE") ? 0 : 1;
	vm_owner = 1;
	dev = &vm_pci;
	host_reset();
	vm_reset_model(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) |
		       F(VIRTIO_F_RING_PACKED) | F(VIRTIO_F_INDIRECT_DESC) |
		       F(VIRTIO_F_EVENT_IDX) | F(VIRTIO_F_IN_ORDER) |
		       F(VIRTIO_F_NOTIFICATION_DATA));
	memset(&pool, 0, sizeof(pool));
	return 0;
}

/* the model's function under a fresh owner id (its refusal lines not
 * spent by earlier tests; an unbind retires it): the same device, another
 * struct pci_dev, as one owner is one function */
static void own_fresh(uint16_t id)
{
	assert_true(nothers < ARRAY_SIZE(others));
	dev = &others[nothers++];
	*dev = vm_pci;
	dev->owner = id;
	vm_owner = id;
	assert_int_equal(shim_owner_bind_fn(id, dev, DMA_BACKEND_UNVALIDATED),
			 0);
}

/* open, reset, ACKNOWLEDGE, DRIVER: ready for features */
static struct virtio_broker open_driver(void)
{
	struct virtio_broker b;
	assert_int_equal(virtio_broker_open(dev, VM_OWNER, &b), 0);
	assert_int_equal(virtio_broker_reset(b, VM_OWNER, false, 1000), 0);
	assert_int_equal(
	    virtio_broker_status_set(b, VM_OWNER, VIRTIO_STATUS_ACKNOWLEDGE),
	    0);
	assert_int_equal(
	    virtio_broker_status_set(b, VM_OWNER, VIRTIO_STATUS_DRIVER), 0);
	return b;
}

/* and the features: ready for queues */
static struct virtio_broker open_ready(void)
{
	struct virtio_broker b = open_driver();
	uint64_t f;
	assert_int_equal(
	    virtio_broker_negotiate(b, VM_OWNER, F(VIRTIO_NET_F_MAC), 0, &f),
	    0);
	assert_int_equal(f, F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC));
	return b;
}

/* both queues over one pool, QN buffers each, then DRIVER_OK */
static struct virtio_broker up(void)
{
	struct virtio_broker b = open_ready();
	assert_int_equal(dma_pool_create(VM_OWNER, 2 * QN * BUF, 0, &pool), 0);
	for (uint16_t q = 0; q < 2; q++) {
		struct dma_buf area = {pool.va + q * QN * BUF,
				       pool.iova + q * QN * BUF, QN * BUF};
		uint16_t noff;
		assert_int_equal(
		    virtio_broker_queue(b, VM_OWNER, q, QN, &area, BUF, q == 0,
					VIRTIO_MSI_NO_VECTOR, &noff),
		    0);
		assert_int_equal(noff, vm.q[q].notify_off);
	}
	assert_int_equal(
	    virtio_broker_status_set(b, VM_OWNER, VIRTIO_STATUS_DRIVER_OK), 0);
	return b;
}

/* every descriptor the device can read names memory inside one live pool
 * of the owner, and the rings lie in none */
static void check_descs(struct virtio_broker b)
{
	for (uint16_t q = 0; q < 2; q++) {
		uint16_t n = 0;
		const volatile struct virtq_desc *d =
		    virtio_broker_desc(b, VM_OWNER, q, &n);
		assert_non_null(d);
		assert_int_equal(vm.q[q].desc, (uint64_t)(uintptr_t)d);
		assert_null(host_dma(vm.q[q].desc, 16));
		assert_null(host_dma(vm.q[q].avail, 2));
		assert_null(host_dma(vm.q[q].used, 2));
		for (uint16_t i = 0; i < n; i++)
			assert_true(
			    dma_owner_covers(VM_OWNER, d[i].addr, d[i].len));
	}
}

/* the broker's bring-up as the device saw it: status in order, the
 * queues pointing at kernel pages, every descriptor inside the pool */
static void test_bringup(void **st)
{
	struct virtio_broker b = up();
	assert_int_equal(vm.status, 0x0f);
	assert_true(vm.q[0].enable && vm.q[1].enable);
	check_descs(b);
	assert_int_equal(vm.violations, 0);
}

/* the driver's own windows over the common configuration: a writable one
 * is refused once the broker is open (queue_desc, queue_driver,
 * queue_device and the feature bits are out of its reach); a read-only
 * one is granted and refuses every write, touching nothing */
static void test_driver_cannot_write_common(void **st)
{
	struct virtio_broker b = up();
	struct dev_mmio w;
	uint64_t ng = auth_refusals[AUTH_NOT_GRANTED];
	assert_int_equal(mmio_grant(dev, VM_OWNER, VM_BAR, VM_COMMON, 0x38,
				    MMIO_READ | MMIO_WRITE, &w),
			 -1);
	assert_int_equal(mmio_grant(dev, VM_OWNER, VM_BAR, VM_COMMON + 0x20, 8,
				    MMIO_WRITE, &w),
			 -1);
	assert_int_equal(auth_refusals[AUTH_NOT_GRANTED], ng + 2);
	assert_int_equal(
	    mmio_grant(dev, VM_OWNER, VM_BAR, VM_COMMON, 0x38, MMIO_READ, &w),
	    0);
	uint64_t desc = vm.q[0].desc, accepted = vm.accepted;
	unsigned viol = vm.violations;
	uint64_t ro = auth_refusals[AUTH_READ_ONLY];
	assert_false(mmio_write16(&w, VIRTIO_COMMON_Q_SELECT, 0));
	assert_false(mmio_write64(&w, VIRTIO_COMMON_Q_DESC, 0x1000));
	assert_false(mmio_write64(&w, VIRTIO_COMMON_Q_DRIVER, 0x1000));
	assert_false(mmio_write64(&w, VIRTIO_COMMON_Q_DEVICE, 0x1000));
	assert_false(mmio_write32(&w, VIRTIO_COMMON_GF, ~0u));
	assert_false(mmio_write8(&w, VIRTIO_COMMON_STATUS, 0));
	assert_int_equal(auth_refusals[AUTH_READ_ONLY], ro + 6);
	assert_int_equal(vm.q[0].desc, desc);
	assert_int_equal(vm.accepted, accepted);
	assert_int_equal(vm.status, 0x0f);
	vm.violations = viol; /* the model counts refused accesses too */
	check_descs(b);
	/* the notify and device windows beside it stay the driver's */
	assert_int_equal(
	    mmio_grant(dev, VM_OWNER, VM_BAR, VM_NOTIFY, 0x10, MMIO_WRITE, &w),
	    0);
}

/* a broker for an owner that holds a writable window over the common
 * configuration already is refused (the window would outlive it), and so
 * is one for another owner's function */
static void test_open_refused(void **st)
{
	struct virtio_broker b;
	vm_pci.owner = 99; /* names another owner */
	assert_int_equal(virtio_broker_open(dev, VM_OWNER, &b), -1);
	vm_pci.owner = VM_OWNER;
	assert_int_equal(virtio_broker_open(dev, VM_OWNER, &b), 0);
	struct virtio_broker again;
	assert_int_equal(virtio_broker_open(&vm_pci, VM_OWNER, &again), 0);
	assert_int_equal(again.slot, b.slot);
	assert_int_equal(again.gen, b.gen);
}

/* features that change how the device reads the rings are refused before
 * anything is written: packed ring, indirect descriptors, event indexes,
 * in-order use, notification data, and any bit past the device's and
 * VERSION_1/ACCESS_PLATFORM */
static void test_features_refused(void **st)
{
	const unsigned bad[] = {VIRTIO_F_RING_PACKED,
				VIRTIO_F_INDIRECT_DESC,
				VIRTIO_F_EVENT_IDX,
				VIRTIO_F_IN_ORDER,
				VIRTIO_F_NOTIFICATION_DATA,
				VIRTIO_F_RING_RESET,
				63};
	struct virtio_broker b = open_driver();
	uint64_t f = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned writes = vm.nstatus_writes;
		assert_int_equal(
		    virtio_broker_negotiate(b, VM_OWNER, F(bad[i]), 0, &f), -1);
		assert_int_equal(
		    virtio_broker_negotiate(b, VM_OWNER, 0, F(bad[i]), &f), -1);
		assert_int_equal(vm.accepted, 0);
		assert_int_equal(vm.nstatus_writes, writes);
	}
	/* FEATURES_OK is the broker's own; DRIVER_OK not before it */
	assert_int_equal(
	    virtio_broker_status_set(b, VM_OWNER, VIRTIO_STATUS_FEATURES_OK),
	    -1);
	assert_int_equal(
	    virtio_broker_status_set(b, VM_OWNER, VIRTIO_STATUS_DRIVER_OK), -1);
	assert_false(vm.status & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(virtio_broker_negotiate(b, VM_OWNER, 0, 0, &f), 0);
	assert_int_equal(f, F(VIRTIO_F_VERSION_1));
}

/* counts the broker's refused-post lines */
static unsigned post_lines;
static void count_post(const char *line)
{
	if (strstr(line, ": refused post of id"))
		post_lines++;
}

/* posts the queue's own record refuses: an id past the queue, an id the
 * device holds, a length past the buffer or of 0 — each refused, one line each
 * up to AUTH_REFUSAL_LINES, nothing reaching the available ring */
static void test_post_refused(void **st)
{
	own_fresh(78);
	struct virtio_broker b = up();
	uint16_t idx, id;
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 2, BUF), 0);
	assert_true(vm_avail(0, 0, &idx, &id));
	assert_int_equal(idx, 1);
	post_lines = 0;
	shim_line_hook = count_post;
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, QN, 64), -1);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 0xffff, 64), -1);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 2, 64), -1);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 3, BUF + 1), -1);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 3, 0), -1);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 1, 3, 0), -1);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 2, 0, 64),
			 -1); /* no queue */
	for (int i = 0; i < 100; i++)
		assert_int_equal(virtio_broker_post(b, VM_OWNER, 1, QN, 64),
				 -1);
	shim_line_hook = NULL;
	assert_int_equal(post_lines, AUTH_REFUSAL_LINES);
	assert_true(vm_avail(0, 0, &idx, &id));
	assert_int_equal(idx, 1);
	assert_int_equal(vm.violations, 0);
}

/* the buffer pool cannot be revoked while a queue names it; after a
 * confirmed reset it can, and the rings go back to the allocator first */
static void test_pool_pinned_until_reset(void **st)
{
	struct virtio_broker b = up();
	uint64_t busy = auth_refusals[AUTH_BUSY];
	assert_int_equal(dma_pool_revoke(&pool), -1);
	assert_int_equal(auth_refusals[AUTH_BUSY], busy + 1);
	assert_true(dma_pool_live(&pool));
	check_descs(b);
	uint64_t ring = vm.q[0].desc;
	assert_int_equal(virtio_broker_reset(b, VM_OWNER, false, 1000), 0);
	assert_null(host_ring(ring, 16)); /* given back */
	assert_int_equal(dma_pool_revoke(&pool), 0);
	assert_int_equal(vm.violations, 0); /* nothing freed under it */
	/* the queues are gone: posts refused until set up again */
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 0, 64), -1);
}

/* a reset the device does not confirm releases nothing: the pool stays
 * pinned, the rings allocated, the queue refused to be set up again */
static void test_unconfirmed_reset_withholds(void **st)
{
	struct virtio_broker b = up();
	vm.stuck_reset = true;
	assert_int_not_equal(virtio_broker_reset(b, VM_OWNER, true, 1000), 0);
	assert_false(vm.bus_master);
	assert_int_equal(dma_pool_revoke(&pool), -1);
	assert_non_null(host_ring(vm.q[0].desc, 16));
	struct dma_buf area = {pool.va, pool.iova, QN * BUF};
	uint16_t noff;
	assert_int_equal(
	    virtio_broker_queue(b, VM_OWNER, 0, QN, &area, BUF, true, 0, &noff),
	    -1);
	assert_int_equal(vm.violations, 0);
	/* a later read of 0 confirms it */
	vm.stuck_reset = false;
	assert_int_equal(virtio_broker_reset(b, VM_OWNER, false, 1000), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* buffers outside every live pool of the owner (the pool revoked, or an
 * address of the driver's choosing) are refused: nothing is pinned, no
 * ring allocated, nothing written to the device's queue registers */
static void test_queue_outside_grant_refused(void **st)
{
	struct virtio_broker b = open_ready();
	assert_int_equal(dma_pool_create(VM_OWNER, QN * BUF, 0, &pool), 0);
	uint64_t pages = shim_pages_in_use;
	uint16_t noff;
	struct dma_buf past = {pool.va + BUF, pool.iova + BUF, QN * BUF};
	assert_int_equal(
	    virtio_broker_queue(b, VM_OWNER, 0, QN, &past, BUF, true, 0, &noff),
	    -1);
	struct dma_buf kern = {0, 0x1000, QN * BUF};
	assert_int_equal(
	    virtio_broker_queue(b, VM_OWNER, 0, QN, &kern, BUF, true, 0, &noff),
	    -1);
	struct dma_buf big = {pool.va, pool.iova, QN * BUF};
	assert_int_equal(virtio_broker_queue(b, VM_OWNER, 0, QN, &big, BUF + 1,
					     true, 0, &noff),
			 -1);
	assert_int_equal(
	    virtio_broker_queue(b, VM_OWNER, 0, 3, &big, BUF, true, 0, &noff),
	    -1);
	assert_int_equal(shim_pages_in_use, pages);
	assert_int_equal(vm.q[0].desc, 0);
	assert_int_equal(dma_pool_revoke(&pool), 0); /* never pinned */
}

/* the owner revoked: the revoke hook resets the device, gives the rings
 * back and unpins the pool, which the revocation then parks; every call
 * through the handle is refused as revoked while it lasts, and the device
 * sees none of them. Reinstated, the same handle brings the device up
 * again from its reset on a new pool (the broker's common window anew:
 * the revocation seized the old one) and a frame goes out. Before, the
 * revocation closed the broker for good: after the reinstatement every
 * call was still refused as revoked, the device left reset, while the
 * NVMe broker's handle worked again */
static void test_revoke_then_reinstate_same_handle(void **st)
{
	struct virtio_broker b = up();
	uint64_t ring = vm.q[1].used;
	assert_true(auth_owner_revoke(VM_OWNER, "test") >= 1);
	assert_int_equal(vm.status, 0);
	assert_null(host_ring(ring, 8));
	assert_int_equal(shim_pools_parked(VM_OWNER), 1);
	uint64_t rv = auth_refusals[AUTH_REVOKED];
	unsigned writes = vm.nstatus_writes;
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 0, 64), -1);
	uint16_t id;
	uint32_t len;
	assert_int_equal(virtio_broker_take(b, VM_OWNER, 1, &id, &len), -1);
	assert_int_equal(virtio_broker_reset(b, VM_OWNER, false, 1000), 0xff);
	assert_int_equal(
	    virtio_broker_status_set(b, VM_OWNER, VIRTIO_STATUS_ACKNOWLEDGE),
	    -1);
	assert_int_equal(auth_refusals[AUTH_REVOKED], rv + 4);
	assert_int_equal(vm.nstatus_writes, writes);
	assert_int_equal(vm.violations, 0);
	assert_int_equal(auth_owner_reinstate(VM_OWNER), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0); /* the parked pool */
	b = up(); /* open (the same broker), reset, ..., DRIVER_OK */
	check_descs(b);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 1, 0, 64), 0);
	vm_used_push(1, 0, 0);
	assert_int_equal(virtio_broker_take(b, VM_OWNER, 1, &id, &len), 1);
	assert_int_equal(id, 0);
	assert_int_equal(vm.violations, 0);
}

/* the handle is its owner's alone: another owner naming it — a driver
 * that kept, was handed or guessed owner 1's handle — is refused at every
 * call, counted not-granted, and the device sees nothing: no status
 * write, no queue field, no ring entry; its lines bounded
 * (AUTH_REFUSAL_LINES). The owner's own calls go on working. Before, the
 * slot and generation were the whole authority */
static void test_other_owner_refused(void **st)
{
	struct virtio_broker b = up();
	/* a bound owner with no function: its own row of refusal lines */
	const uint16_t other = 66;
	struct auth_owner_facts none = {0};
	assert_int_equal(auth_owner_bind(other, &none), 0);
	struct vm_queue q[2] = {vm.q[0], vm.q[1]};
	uint8_t status = vm.status;
	unsigned writes = vm.nstatus_writes;
	uint64_t ng = auth_refusals[AUTH_NOT_GRANTED];
	uint16_t id, noff;
	uint32_t len;
	uint64_t f;
	shim_count_lines("named owner 1's broker");
	assert_int_equal(virtio_broker_post(b, other, 1, 0, 64), -1);
	assert_int_equal(virtio_broker_take(b, other, 0, &id, &len), -1);
	assert_int_equal(virtio_broker_reset(b, other, true, 1000), 0xff);
	assert_int_equal(
	    virtio_broker_status_set(b, other, VIRTIO_STATUS_FAILED), -1);
	assert_int_equal(virtio_broker_negotiate(b, other, 0, 0, &f), -1);
	assert_false(virtio_broker_config_vector(b, other, 0));
	assert_int_equal(virtio_broker_queue_max(b, other, 0), 0);
	struct dma_buf area = {pool.va, pool.iova, QN * BUF};
	assert_int_equal(virtio_broker_queue(b, other, 0, QN, &area, BUF, true,
					     VIRTIO_MSI_NO_VECTOR, &noff),
			 -1);
	assert_null(virtio_broker_desc(b, other, 0, &noff));
	shim_line_hook = NULL;
	assert_int_equal(auth_refusals[AUTH_NOT_GRANTED] - ng, 9);
	assert_int_equal(shim_counted, AUTH_REFUSAL_LINES);
	assert_int_equal(vm.status, status);
	assert_int_equal(vm.nstatus_writes, writes);
	assert_memory_equal(vm.q, q, sizeof(q));
	assert_int_equal(vm.violations, 0);
	/* the owner's own handle use is untouched */
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 1, 0, 64), 0);
	check_descs(b);
}

/* unbind with a device that never confirms its reset: the rings and the
 * pool are withheld (counted), nothing freed under the device; the old
 * handle is refused. The owner is one of its own (an unbind retires it) */
static void test_unbind_unconfirmed_withholds(void **st)
{
	own_fresh(77);
	struct virtio_broker b = up();
	uint64_t pages = shim_pages_in_use;
	vm.stuck_reset = true;
	assert_int_equal(auth_owner_unbind(77, false), 1);
	assert_int_equal(shim_pages_in_use, pages); /* nothing freed */
	assert_int_equal(vm.violations, 0);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 0, 64), -1);
	vm.stuck_reset = false;
	memset(vm.q, 0, sizeof(vm.q)); /* forget the withheld rings */
}

/* a device that clears FEATURES_OK on the broker's write did not accept
 * the subset (§3.1.1 step 6: it is unusable): the broker goes on refusing
 * queue set-up and DRIVER_OK until the next reset, nothing pinned and no
 * queue address written. Before, the broker kept FEATURES_OK in its own
 * record of the status, so a driver that ignored the refusal had both
 * queues programmed into a device that had refused its features */
static void test_features_refused_by_device(void **st)
{
	struct virtio_broker b = open_driver();
	uint64_t f = 0;
	vm.refuse_features_ok = true;
	assert_int_equal(
	    virtio_broker_negotiate(b, VM_OWNER, F(VIRTIO_NET_F_MAC), 0, &f),
	    -1);
	assert_false(vm.status & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(dma_pool_create(VM_OWNER, QN * BUF, 0, &pool), 0);
	struct dma_buf area = {pool.va, pool.iova, QN * BUF};
	uint16_t noff;
	assert_int_equal(virtio_broker_queue(b, VM_OWNER, 0, QN, &area, BUF,
					     true, VIRTIO_MSI_NO_VECTOR, &noff),
			 -1);
	assert_int_equal(vm.q[0].desc, 0);
	assert_int_equal(
	    virtio_broker_status_set(b, VM_OWNER, VIRTIO_STATUS_DRIVER_OK), -1);
	assert_int_equal(dma_pool_revoke(&pool), 0); /* never pinned */
	/* a reset starts over: the same device accepting, it comes up */
	vm.refuse_features_ok = false;
	b = up();
	check_descs(b);
	assert_int_equal(vm.violations, 0);
}

/* the wait a reset is given is the driver's number: however large, the
 * broker reads device_status for at most VIRTIO_BROKER_RESET_US (a
 * device that never confirms cannot hold the caller, and the kernel's
 * one main loop, for longer). Before, a wait of 2^62 us polled a
 * device refusing its reset for good: here the model gives in one poll
 * interval past the bound, and the old broker was still polling then */
static void test_reset_wait_bounded(void **st)
{
	struct virtio_broker b = up();
	vm.reset_reads = VIRTIO_BROKER_RESET_US / VIRTIO_BROKER_POLL_US + 100;
	uint64_t t0 = time_now_us();
	assert_int_not_equal(
	    virtio_broker_reset(b, VM_OWNER, false, 1ull << 62), 0);
	assert_true(time_now_us() - t0 <=
		    VIRTIO_BROKER_RESET_US + 2 * VIRTIO_BROKER_POLL_US);
	assert_int_equal(dma_pool_revoke(&pool), -1); /* still pinned */
	/* a wait past the clock's end is the same bound, not one read (a
	 * device confirming at its second read is heard) */
	vm.reset_reads = 2;
	assert_int_equal(virtio_broker_reset(b, VM_OWNER, false, UINT64_MAX),
			 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
}

/* the device lies in its used ring: an id never posted, an id used twice,
 * a length past what was posted (but inside the buffer), the index
 * jumping past the buffers it holds, the index going backwards. Each one
 * breaks the queue: no id is handed to the driver for it, posts are
 * refused (queue broken) until a confirmed reset, and a buffer the
 * driver posted is never completed twice */
enum lie { LIE_NEVER_POSTED, LIE_TWICE, LIE_LONG, LIE_JUMP, LIE_BACK, LIES };
static void test_device_lies(void **st)
{
	for (unsigned l = 0; l < LIES; l++) {
		struct virtio_broker b = up();
		volatile struct virtq_used *u =
		    host_ring(vm.q[0].used, VIRTQ_USED_BYTES(QN));
		uint16_t id = 0xffff;
		uint32_t len = 0;
		assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 0, 100), 0);
		assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 1, 100), 0);
		switch (l) {
		case LIE_NEVER_POSTED:
			vm_used_push(0, 5, 10);
			break;
		case LIE_TWICE:
			vm_used_push(0, 0, 10);
			vm_used_push(0, 0, 10);
			assert_int_equal(
			    virtio_broker_take(b, VM_OWNER, 0, &id, &len), 1);
			assert_int_equal(id, 0);
			break;
		case LIE_LONG:
			vm_used_push(0, 1, 101); /* posted 100 of BUF */
			break;
		case LIE_JUMP:
			u->idx = 3; /* two buffers held */
			break;
		case LIE_BACK:
			vm_used_push(0, 1, 10);
			assert_int_equal(
			    virtio_broker_take(b, VM_OWNER, 0, &id, &len), 1);
			u->idx = 0;
			break;
		}
		id = 0xffff;
		assert_int_equal(virtio_broker_take(b, VM_OWNER, 0, &id, &len),
				 -1);
		assert_int_equal(id, 0xffff);
		assert_int_equal(virtio_broker_take(b, VM_OWNER, 0, &id, &len),
				 -1);
		assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 2, 100),
				 -1);
		/* the other queue is its own: untouched */
		assert_int_equal(virtio_broker_post(b, VM_OWNER, 1, 0, 60), 0);
		vm_used_push(1, 0, 0xffffffffu); /* a transmit length: unused */
		assert_int_equal(virtio_broker_take(b, VM_OWNER, 1, &id, &len),
				 1);
		assert_int_equal(id, 0);
		assert_int_equal(len, 0);
		assert_int_equal(vm.violations, 0);
	}
	/* a confirmed reset gives the broken queue back; up() again works */
	struct virtio_broker b = up();
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 2, 100), 0);
}

/* sequences through the handle's life: the same id on both queues is two
 * buffers; a queue index past the broker's refused on every ring call;
 * revocation with a device that does not confirm its reset keeps the
 * queues and the pin across the reinstatement (posts go on, the pool
 * cannot go), and a later confirmed reset releases them; after the
 * unbind every call through the old handle is refused (stale
 * generation) and the device sees none of them; the function rebound to
 * a new owner opens a broker of its own whose handle is not the old one */
static void test_handle_sequences(void **st)
{
	own_fresh(79);
	struct virtio_broker b = up();
	uint16_t id, noff;
	uint32_t len;
	/* the same id on both queues: buffer 3 of each area */
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 3, BUF), 0);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 1, 3, 60), 0);
	vm_used_push(1, 3, 0);
	vm_used_push(0, 3, 64);
	assert_int_equal(virtio_broker_take(b, VM_OWNER, 0, &id, &len), 1);
	assert_true(id == 3 && len == 64);
	assert_int_equal(virtio_broker_take(b, VM_OWNER, 1, &id, &len), 1);
	assert_true(id == 3 && len == 0);
	/* queue indexes past the broker's */
	const uint16_t badq[] = {2, VIRTIO_BROKER_QUEUES, 0xffff};
	for (unsigned i = 0; i < ARRAY_SIZE(badq); i++) {
		assert_int_equal(
		    virtio_broker_post(b, VM_OWNER, badq[i], 0, 64), -1);
		assert_int_equal(
		    virtio_broker_take(b, VM_OWNER, badq[i], &id, &len), -1);
		assert_false(virtio_broker_need_notify(b, VM_OWNER, badq[i]));
		virtio_broker_suppress_irq(b, VM_OWNER, badq[i], true);
	}
	/* revoked with a reset the device ignores: kept across it */
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 4, BUF), 0);
	vm.stuck_reset = true;
	assert_true(auth_owner_revoke(VM_OWNER, "test") >= 0);
	assert_true(dma_pool_live(&pool)); /* pinned: kept, not seized */
	assert_int_equal(auth_owner_reinstate(VM_OWNER), 0);
	assert_int_equal(dma_pool_revoke(&pool), -1);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 4, BUF), -1);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 5, BUF), 0);
	vm_used_push(0, 4, 10);
	assert_int_equal(virtio_broker_take(b, VM_OWNER, 0, &id, &len), 1);
	assert_int_equal(id, 4);
	vm.stuck_reset = false;
	assert_int_equal(virtio_broker_reset(b, VM_OWNER, false, 1000), 0);
	assert_int_equal(dma_pool_revoke(&pool), 0);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 5, BUF), -1);
	/* unbound: the old handle is dead, the device sees nothing of it */
	b = up();
	assert_int_equal(auth_owner_unbind(VM_OWNER, true), 0);
	uint8_t status = vm.status;
	unsigned writes = vm.nstatus_writes;
	uint64_t stale = auth_refusals[AUTH_STALE_GEN];
	struct dma_buf area = {pool.va, pool.iova, QN * BUF};
	assert_int_equal(virtio_broker_reset(b, VM_OWNER, false, 1000), 0xff);
	assert_int_equal(
	    virtio_broker_status_set(b, VM_OWNER, VIRTIO_STATUS_ACKNOWLEDGE),
	    -1);
	assert_int_equal(virtio_broker_queue(b, VM_OWNER, 0, QN, &area, BUF,
					     true, VIRTIO_MSI_NO_VECTOR, &noff),
			 -1);
	assert_int_equal(virtio_broker_post(b, VM_OWNER, 0, 0, 64), -1);
	assert_int_equal(virtio_broker_take(b, VM_OWNER, 0, &id, &len), -1);
	assert_int_equal(auth_refusals[AUTH_STALE_GEN] - stale, 5);
	assert_int_equal(vm.status, status);
	assert_int_equal(vm.nstatus_writes, writes);
	/* the same function, rebound: a broker of the new owner's */
	dev->owner = 80;
	vm_owner = 80;
	assert_int_equal(shim_owner_bind_fn(80, dev, DMA_BACKEND_UNVALIDATED),
			 0);
	struct virtio_broker nb = up();
	assert_false(nb.slot == b.slot && nb.gen == b.gen);
	assert_int_equal(virtio_broker_post(b, 80, 0, 0, 64), -1);
	assert_int_equal(virtio_broker_post(nb, 80, 0, 0, 64), 0);
	check_descs(nb);
	assert_int_equal(vm.violations, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_bringup, setup),
	    cmocka_unit_test_setup(test_driver_cannot_write_common, setup),
	    cmocka_unit_test_setup(test_open_refused, setup),
	    cmocka_unit_test_setup(test_features_refused, setup),
	    cmocka_unit_test_setup(test_post_refused, setup),
	    cmocka_unit_test_setup(test_pool_pinned_until_reset, setup),
	    cmocka_unit_test_setup(test_unconfirmed_reset_withholds, setup),
	    cmocka_unit_test_setup(test_queue_outside_grant_refused, setup),
	    cmocka_unit_test_setup(test_revoke_then_reinstate_same_handle,
				   setup),
	    cmocka_unit_test_setup(test_other_owner_refused, setup),
	    cmocka_unit_test_setup(test_unbind_unconfirmed_withholds, setup),
	    cmocka_unit_test_setup(test_features_refused_by_device, setup),
	    cmocka_unit_test_setup(test_reset_wait_bounded, setup),
	    cmocka_unit_test_setup(test_device_lies, setup),
	    cmocka_unit_test_setup(test_handle_sequences, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
