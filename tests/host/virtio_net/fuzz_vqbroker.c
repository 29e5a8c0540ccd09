/* tests/host/virtio_net/fuzz_vqbroker.c — the virtio broker
 * (kernel/authority/virtio_broker.c) under sequences a hostile driver and
 * a hostile device draw together: queue set-up of any size over the
 * driver's pool, posts of any id and length, used entries honest or of
 * the device's choosing, takes, pool revokes, resets the device confirms
 * or never does, owner revocation and unbind. Input: 4-byte steps (op,
 * a, b, c). Oracles, checked after every step against the device model's
 * own view (vnet_model.c) and an independent record of what was posted:
 *  - every descriptor of a queue the device has enabled and not reset
 *    names memory inside one live pool of the owner, and its rings are
 *    still allocated (the model also counts ring pages freed under an
 *    enabled queue as a violation);
 *  - a post is accepted exactly when the record says the queue is set up,
 *    the id below its size and not outstanding, the length within the
 *    buffer; a take hands back only an id the record holds as posted, once
 *    (no buffer completed twice, none the device forged), with a length
 *    within what was posted (0 on transmit); a take that finds nothing
 *    has taken every entry the device published (none lost or skipped);
 *  - a reset the device confirmed leaves no grant of the owner pinned, and
 *    the pool can be revoked; while a queue lives the pool cannot;
 *  - a call through the handle naming another owner (any id but the
 *    broker's) is refused, counted not-granted once, and the device sees
 *    nothing of it (no status write, no register change);
 *  - while the owner is revoked every call through the handle is refused
 *    (owner-revoked) and the device sees nothing; once reinstated the
 *    same handle resets the device and brings it up again.
 * An unconfirmed teardown is closed by an unbind (the owner's id retired,
 * a fresh one bound) while ids remain below ID_END. */
#include <stdio.h>
#include <stdlib.h>

#include "dma/owner.h"
#include "dma/virtio_reg.h"
#include "dma/virtq.h"
#include "kernel/authority/auth_internal.h"
#include "kernel/authority/virtio_broker.h"
#include "owner_shim.h"
#include "shim.h"
#include "vnet_model.h"

#define BUF  2048u
#define QMAX 32u /* largest queue drawn */
/* owner ids an unbind may retire: each unconfirmed teardown withholds its
 * pool and rings for good */
#define ID_END 1000u
#define F(b)   (1ull << (b))
#define check(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr,                                        \
				"fuzz_vqbroker: oracle: %s (line %d)\n", #c,   \
				__LINE__);                                     \
			abort();                                               \
		}                                                              \
	} while (0)

static uint16_t next_id = 2;

static struct {
	struct virtio_broker b;
	bool open;
	struct dma_pool pool;
	bool pool_live;
	bool live[2]; /* set up and not released, as the record says */
	uint16_t size[2];
	uint8_t out[2][QMAX];	/* posted, not taken */
	uint8_t held[2][QMAX];	/* posted, not yet completed by the device */
	uint32_t plen[2][QMAX]; /* the length each id was posted with */
	uint16_t taken[2];	/* takes since the queue was set up */
	bool broken[2];
	bool stuck;   /* the device ignores resets */
	bool revoked; /* the owner revoked, not yet reinstated */
} s;

static void fresh_device(void)
{
	host_reset();
	vm_reset_model(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) |
		       F(VIRTIO_F_RING_PACKED) | F(VIRTIO_F_INDIRECT_DESC));
	memset(&s, 0, sizeof(s));
}

static unsigned owner_pins(void)
{
	struct dma_owner *o = dma_owner_acct(VM_OWNER);
	unsigned n = 0;
	for (unsigned i = 0; o && i < GRANT_MAX; i++)
		n += o->grants.g[i].pins;
	return n;
}

static void queues_released(void)
{
	memset(s.live, 0, sizeof(s.live));
	memset(s.out, 0, sizeof(s.out));
	memset(s.held, 0, sizeof(s.held));
	memset(s.broken, 0, sizeof(s.broken));
	memset(s.taken, 0, sizeof(s.taken));
}

/* what the device can read now: every enabled queue of a device not
 * reset, its descriptors inside the owner's live pools */
static void check_device_view(void)
{
	check(vm.violations == 0);
	if (vm.status == 0)
		return;
	for (unsigned q = 0; q < 2; q++) {
		if (!vm.q[q].enable)
			continue;
		uint16_t n = vm.q[q].size;
		volatile struct virtq_desc *d =
		    host_ring(vm.q[q].desc, 16u * n);
		check(d != NULL);
		check(host_ring(vm.q[q].used, VIRTQ_USED_BYTES(n)) != NULL);
		for (uint16_t i = 0; i < n; i++)
			check(dma_owner_covers(VM_OWNER, d[i].addr,
					       d[i].len ? d[i].len : 1));
	}
}

/* what the device has seen of the driver: a call that must not reach it
 * leaves this as it was */
struct seen {
	uint8_t status;
	unsigned nstatus_writes;
	struct vm_queue q[2];
};
static struct seen device_seen(void)
{
	struct seen v = {vm.status, vm.nstatus_writes, {vm.q[0], vm.q[1]}};
	return v;
}
static void check_unseen(const struct seen *v)
{
	struct seen now = device_seen();
	check(now.status == v->status);
	check(now.nstatus_writes == v->nstatus_writes);
	check(!memcmp(now.q, v->q, sizeof(now.q)));
}

/* one call of the driver's through the handle while it may not reach the
 * device: refused, and the device sees nothing */
static void refused_call(uint16_t caller, uint8_t a, uint8_t b)
{
	struct seen v = device_seen();
	uint16_t q = a & 1, id;
	uint32_t len;
	uint64_t f;
	struct dma_buf area = {s.pool.va, s.pool.iova, BUF};
	switch ((a >> 1) % 6) {
	case 0:
		check(virtio_broker_post(s.b, caller, q, b % QMAX, 64) == -1);
		break;
	case 1:
		check(virtio_broker_take(s.b, caller, q, &id, &len) == -1);
		break;
	case 2:
		check(virtio_broker_reset(s.b, caller, b & 1, 1000) == 0xff);
		break;
	case 3:
		check(virtio_broker_status_set(s.b, caller,
					       VIRTIO_STATUS_DRIVER_OK) == -1);
		break;
	case 4:
		check(virtio_broker_negotiate(s.b, caller, F(VIRTIO_NET_F_MAC),
					      0, &f) == -1);
		break;
	default:
		check(virtio_broker_queue(s.b, caller, q, 1, &area, BUF, true,
					  VIRTIO_MSI_NO_VECTOR, &id) == -1);
		break;
	}
	check_unseen(&v);
}

/* another owner names this owner's handle: refused, counted not-granted
 * (once), the device untouched */
static void foreign_step(uint8_t a, uint8_t b)
{
	if (!s.open)
		return;
	uint16_t caller = (uint16_t)(VM_OWNER + 1 + (b % 7));
	uint64_t ng = auth_refusals[AUTH_NOT_GRANTED];
	refused_call(caller, a, b);
	check(auth_refusals[AUTH_NOT_GRANTED] == ng + 1);
}

static void setup_step(uint8_t a, uint8_t b)
{
	uint64_t f;
	if (s.revoked) { /* its own owner, revoked: refused as revoked */
		uint64_t rv = auth_refusals[AUTH_REVOKED];
		if (s.open)
			refused_call(VM_OWNER, a, b);
		check(auth_refusals[AUTH_REVOKED] == rv + s.open);
		return;
	}
	if (!s.open) {
		if (virtio_broker_open(&vm_pci, VM_OWNER, &s.b) != 0)
			return;
		s.open = true;
	}
	if (!s.live[0] && !s.live[1]) {
		if (virtio_broker_reset(s.b, VM_OWNER, false, 100) != 0)
			return;
		virtio_broker_status_set(s.b, VM_OWNER,
					 VIRTIO_STATUS_ACKNOWLEDGE);
		virtio_broker_status_set(s.b, VM_OWNER, VIRTIO_STATUS_DRIVER);
		/* now and then a driver that asks for a packed ring or
		 * indirect descriptors: refused, nothing negotiated */
		uint64_t want = a & 0x80 ? F(VIRTIO_F_RING_PACKED) : 0;
		want |= a & 0x40 ? F(VIRTIO_F_INDIRECT_DESC) : 0;
		if (virtio_broker_negotiate(s.b, VM_OWNER,
					    want | F(VIRTIO_NET_F_MAC), 0,
					    &f) != 0) {
			check(want != 0);
			return;
		}
		check(f == (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC)));
	}
	if (!s.pool_live) {
		if (dma_pool_create(VM_OWNER, 2 * QMAX * BUF, 0, &s.pool) != 0)
			return;
		s.pool_live = true;
	}
	for (uint16_t q = 0; q < 2; q++) {
		if (s.live[q])
			continue;
		uint16_t n = (uint16_t)(1u << ((a >> (q * 3)) % 6)); /* 1..32 */
		/* the buffer area: the right one, or one the driver moved
		 * past its pool's end */
		uint64_t off =
		    q * QMAX * BUF + (b & (1u << q) ? QMAX * BUF : 0);
		struct dma_buf area = {s.pool.va + off, s.pool.iova + off,
				       (size_t)n * BUF};
		uint16_t noff;
		int r =
		    virtio_broker_queue(s.b, VM_OWNER, q, n, &area, BUF, q == 0,
					VIRTIO_MSI_NO_VECTOR, &noff);
		bool inside = off + (uint64_t)n * BUF <= 2 * QMAX * BUF;
		if (r == 0) {
			check(inside);
			s.live[q] = true;
			s.size[q] = n;
			s.taken[q] = 0;
		}
	}
	if (s.live[0] && s.live[1])
		virtio_broker_status_set(s.b, VM_OWNER,
					 VIRTIO_STATUS_DRIVER_OK);
}

static void post_step(uint8_t a, uint8_t b, uint8_t c)
{
	if (!s.open)
		return;
	uint16_t q = a & 1, id = (uint16_t)(b % (QMAX + 4));
	uint32_t len = (uint32_t)c * 9; /* past BUF too */
	if (a & 2)
		id = (uint16_t)(0xff00 | b);
	bool ok = !s.revoked && s.live[q] && !s.broken[q] && id < s.size[q] &&
		  !s.out[q][id] && len && len <= BUF;
	int r = virtio_broker_post(s.b, VM_OWNER, q, id, len);
	check((r == 0) == ok);
	if (r == 0) {
		s.out[q][id] = s.held[q][id] = 1;
		s.plen[q][id] = len;
	}
}

static void device_step(uint8_t a, uint8_t b, uint8_t c)
{
	unsigned q = a & 1;
	if (!vm.q[q].enable || vm.status == 0 ||
	    !host_ring(vm.q[q].used, VIRTQ_USED_BYTES(vm.q[q].size)))
		return;
	if (a & 2) { /* hostile: an id near the queue's or any, any length */
		uint32_t id = a & 4 ? b % (QMAX + 4)
				    : (uint32_t)b | (uint32_t)(a & 0xf0) << 4;
		vm_used_push(q, id, (uint32_t)c << 4);
		return;
	}
	/* honest: a buffer it holds, a length within it */
	for (unsigned i = 0; i < QMAX; i++) {
		unsigned id = (b + i) % QMAX;
		if (s.held[q][id]) {
			s.held[q][id] = 0;
			vm_used_push(q, id, q == 0 ? (uint32_t)c * 8 : 0);
			return;
		}
	}
}

static void take_step(uint8_t a)
{
	if (!s.open)
		return;
	uint16_t q = a & 1, id;
	uint32_t len;
	int r = virtio_broker_take(s.b, VM_OWNER, q, &id, &len);
	if (s.revoked) {
		check(r == -1);
		return;
	}
	if (r == 1) {
		check(s.live[q] && id < s.size[q]);
		/* the device's word alone never completes a buffer the
		 * driver does not hold: an id it forged, or one completed
		 * already (never twice) */
		check(s.out[q][id]);
		/* nor says more was written than the post offered */
		check(q != 0 || len <= s.plen[q][id]);
		check(q != 1 || len == 0);
		s.out[q][id] = s.held[q][id] = 0;
		s.taken[q]++;
	} else if (r < 0 && s.live[q]) {
		s.broken[q] = true;
	} else if (r == 0 && s.live[q] && vm.q[q].enable) {
		/* nothing waiting: every entry the device published was
		 * taken (none lost, none skipped) */
		check(vm.q[q].used_idx == s.taken[q]);
	}
}

static void reset_step(uint8_t a, uint8_t b)
{
	if (!s.open || s.revoked)
		return; /* setup_step draws the refused reset */
	/* a device that never resets is drawn while an unbind can still
	 * close it */
	vm.stuck_reset = s.stuck = (a & 1) && next_id < ID_END;
	vm.reset_reads = b & 7;
	uint8_t st = virtio_broker_reset(s.b, VM_OWNER, a & 2, 1000);
	if (st == 0) {
		check(owner_pins() == 0); /* nothing pinned after teardown */
		queues_released();
		if (s.pool_live) {
			check(dma_pool_revoke(&s.pool) == 0);
			s.pool_live = false;
		}
	} else if (s.live[0] || s.live[1]) {
		check(owner_pins() > 0);
	}
}

static void pool_step(void)
{
	if (!s.pool_live)
		return;
	int r = dma_pool_revoke(&s.pool);
	if (s.live[0] || s.live[1])
		check(r != 0); /* pinned while a queue names it */
	if (r == 0)
		s.pool_live = false;
}

/* an unconfirmed teardown is closed for good: the owner unbound, its id
 * retired, a fresh owner and device. false when no id is left */
static bool unbind_step(bool stopped)
{
	if (next_id >= ID_END)
		return false;
	uint64_t withheld = auth_unbind_withheld_pages();
	int r = auth_owner_unbind(VM_OWNER, stopped);
	check(r >= 0);
	check(vm.violations == 0);
	if (s.stuck && (s.live[0] || s.live[1]))
		check(r == 1 && auth_unbind_withheld_pages() > withheld);
	vm_owner = next_id++;
	vm_pci.owner = VM_OWNER;
	fresh_device();
	return true;
}

/* the owner revoked (again, maybe: nothing more happens to the device);
 * the broker stays its owner's */
static void revoke_step(uint8_t a)
{
	if (s.stuck && next_id >= ID_END)
		vm.stuck_reset = s.stuck = false;
	bool queues = s.live[0] || s.live[1];
	struct seen v = device_seen();
	check(auth_owner_revoke(VM_OWNER, "fuzz") >= 0);
	check(vm.violations == 0);
	if (s.revoked) {
		check_unseen(&v);
		return;
	}
	s.revoked = true;
	if (s.stuck && queues) {
		/* withheld: the pool kept pinned, the rings kept */
		check(owner_pins() > 0);
		check(auth_owner_reinstate(VM_OWNER) == 0);
		unbind_step(a & 1);
		return;
	}
	check(owner_pins() == 0);
	queues_released();
}

/* reinstated: the parked pool given back, and the same handle resets
 * the device (one that does not ignore resets: a stuck one was unbound
 * at the revocation) */
static void reinstate_step(void)
{
	if (!s.revoked)
		return;
	check(auth_owner_reinstate(VM_OWNER) == 0);
	s.revoked = false;
	if (s.pool_live) { /* parked by the revocation: given back */
		check(dma_pool_revoke(&s.pool) == 0);
		s.pool_live = false;
	}
	if (s.open && !s.stuck)
		check(virtio_broker_reset(s.b, VM_OWNER, false, 1000) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shim_quiet = 1;
	fresh_device();
	for (size_t i = 0; i + 4 <= size; i += 4) {
		uint8_t op = data[i], a = data[i + 1], b = data[i + 2],
			c = data[i + 3];
		switch (op % 11) {
		case 0:
			setup_step(a, b);
			break;
		case 1:
		case 2:
			post_step(a, b, c);
			break;
		case 3:
			device_step(a, b, c);
			break;
		case 4:
		case 5:
			take_step(a);
			break;
		case 6:
			reset_step(a, b);
			break;
		case 7:
			if (a & 0x80)
				revoke_step(a);
			else
				pool_step();
			break;
		case 8:
			if (s.stuck || (a & 0x80))
				unbind_step(a & 1) || (revoke_step(a), true);
			break;
		case 9:
			foreign_step(a, b);
			break;
		case 10:
			reinstate_step();
			break;
		}
		check_device_view();
	}
	/* what this input leaves: a device that would not reset is given
	 * up with its owner, so the next input starts clean */
	if (s.stuck && (s.live[0] || s.live[1]) && !unbind_step(false))
		abort(); /* ID_END reached with a stuck device: not drawn */
	return 0;
}
