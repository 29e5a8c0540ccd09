/* kernel/devmgr/devmgr.c — binds PCI functions to drivers. For each
 * function: the first driver whose table matches; for a DMA-capable driver,
 * a DMA backend from the policy (no backend: not bound, fail closed); an
 * owner id for its grants; then attach. One `pci` line per function. */
#include "kernel/devmgr/devmgr.h"
#include "kernel/authority/virtio_broker.h"
#include "kernel/cpu/cpu.h"
#include "kernel/devmgr/blockdev.h"
#include "kernel/devmgr/shape.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/time/time.h"

/* the next owner id: it only grows, as the authority layer never binds an
 * id an unbind retired, and stops past UINT16_MAX (no wrap to 0, a
 * retired id or a live one): from then on every bind is refused, "refused:
 * no owner", said once (ids_out_said) */
static uint32_t next_owner = 1;
static bool ids_out_said;
/* the functions in the order their attach succeeded: devmgr_shutdown
 * detaches them in the reverse of it, whatever order pci_devs holds. A
 * bound function holds an owner, and the authority layer holds at most
 * AUTH_OWNER_MAX: each function is here once at most (devmgr_unbind takes
 * it out, keeping the order of the rest; a rebind appends it), and
 * devmgr_bind checks the room before it binds anything */
static struct pci_dev *bound[AUTH_OWNER_MAX];
static unsigned nbound;
/* auth_fault_revocations at devmgr_poll's last look */
static uint32_t faults_seen;

/* d out of the bind order, the rest kept in theirs (absent: nothing).
 * (make mutate: i <= nbound survives, an equivalent: bound[nbound] is
 * NULL while nbound < AUTH_OWNER_MAX, and with AUTH_OWNER_MAX bound no
 * function outside bound[] holds an owner to be unbound) */
static void bound_drop(const struct pci_dev *d)
{
	for (unsigned i = 0; i < nbound; i++)
		if (bound[i] == d) {
			memmove(&bound[i], &bound[i + 1],
				(nbound - i - 1) * sizeof(bound[0]));
			bound[--nbound] = NULL;
			return;
		}
}

static bool devmgr_match(const struct pci_match *m, const struct pci_dev *d)
{
	if (m->vendor != 0xffff && m->vendor != d->vendor)
		return false;
	if (m->device != 0xffff && m->device != d->device)
		return false;
	return (d->class_code & m->class_mask) == m->class_code;
}

static const struct driver *devmgr_find(const struct pci_dev *d)
{
	for (unsigned i = 0; i < devmgr_ndrivers; i++) {
		const struct driver *drv = devmgr_drivers[i];
		for (unsigned j = 0; j < drv->nids; j++)
			if (devmgr_match(&drv->ids[j], d))
				return drv;
	}
	return NULL;
}

/* An owner for d, registered with the authority layer before the driver
 * exists; then what the device says about itself (identify) refines its
 * shape and DMA limit before any of its memory is allocated. NULL, or the
 * state the refused function is left in: "refused: no owner" when the
 * authority layer bound none (owner table full at AUTH_OWNER_MAX, no IOMMU
 * domain: its own line says which), "refused: identify" when identify or
 * the limit it gave failed */
static const char *devmgr_own(struct pci_dev *d, const struct driver *drv,
			      enum dma_backend b)
{
	struct auth_owner_facts f = {
	    .d = d,
	    .backend = b,
	    .brokered = drv->validated,
	    .dma_limit = drv->dma ? devmgr_dma_limit(d) : 0,
	};
	/* the authority layer binds only an owner its function names, so d
	 * names the id for the call; a refused bind leaves d as it was, not
	 * naming an id nobody holds (and the id is not used up) */
	if (next_owner > UINT16_MAX) {
		if (!ids_out_said) {
			ids_out_said = true;
			kprintf(
			    "devmgr: every owner id (1 to %u) given out: no "
			    "function is bound again (ids are never "
			    "reused); said once\n",
			    UINT16_MAX);
		}
		return "refused: no owner";
	}
	uint16_t was = d->owner;
	d->owner = (uint16_t)next_owner;
	if (auth_owner_bind(d->owner, &f) != 0) {
		d->owner = was;
		return "refused: no owner";
	}
	next_owner++;
	/* the broker before the driver: no writable window over the common
	 * configuration is ever the driver's */
	struct virtio_broker vb;
	if (drv->rings_brokered && virtio_broker_open(d, d->owner, &vb) != 0)
		return "refused: no broker";
	struct dev_identity id = {0};
	if (!drv->identify)
		return NULL;
	if (drv->identify(d, d->owner, &id) != 0)
		return "refused: identify";
	/* the driver's strings: the policy reads them only as terminated
	 * (make mutate: deleting the model's cut survives, an equivalent
	 * here — serial follows model in struct dev_identity and is cut
	 * before the policy reads either, so the read stops inside id and
	 * every copy is cut at 40) */
	id.model[sizeof(id.model) - 1] = 0;
	id.serial[sizeof(id.serial) - 1] = 0;
	uint64_t limit = devmgr_shape_identify(d, id.serial, id.model);
	if (limit && auth_owner_limit(d->owner, limit) != 0)
		return "refused: identify";
	return NULL;
}

/* identify or attach failed, maybe half-way: whatever the driver was
 * given and did not give back — pools, register windows, interrupts, bus
 * mastering — is taken from its owner, the block devices it registered
 * since (registry entries past nbd) leave the registry, and the function
 * is left unbound, decoding nothing. The revocation asks for memory
 * decode (a revoked NVMe broker halts its controller through its
 * registers, auth_owner_on_revoke), which would turn on again what the
 * driver's own unwind turned off: off after it */
static void devmgr_unwind(struct pci_dev *d, const char *state, unsigned nbd)
{
	if (!strcmp(d->state, "unbound") || !d->state[0])
		strlcpy(d->state, state, sizeof(d->state));
	d->drv = NULL;
	if (nblockdevs > nbd) /* not read: their memory may be gone already */
		kprintf(
		    "devmgr: %u block devices of the failed driver dropped\n",
		    nblockdevs - nbd);
	while (nblockdevs > nbd)
		blockdevs[--nblockdevs] = NULL;
	(void)auth_owner_revoke(d->owner, state);
	pci_enable(d, false, false, false);
}

void devmgr_bind(struct pci_dev *d)
{
	const struct driver *drv = devmgr_find(d);
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	/* bound (a driver holds its owner), or still holding the owner a
	 * shutdown or a failed attach left it (devmgr_unbind gives that back
	 * first) */
	if (!drv || auth_owner_facts(d->owner))
		return;
	enum dma_backend b = DMA_BACKEND_NONE;
	if (drv->dma) {
		const char *why = "";
		b = devmgr_pick_backend(d, drv, &why);
		kprintf("devmgr: %s %s: dma backend %s (%s)\n", a, drv->name,
			dma_backend_name(b), why);
		if (b == DMA_BACKEND_NONE) {
			strlcpy(d->state, "refused: no dma", sizeof(d->state));
			return;
		}
	}
	uint64_t t0 = time_now_us();
	unsigned nbd = nblockdevs;
	/* a failure the driver reports inside identify or attach is not the
	 * supervisor's: the attach's own answer unwinds it. Binds and
	 * unbinds never nest: busy is false on the way in */
	d->restart.busy = true;
	const char *refused = devmgr_own(d, drv, b);
	/* every function in bound[] holds an owner of the authority
	 * layer's AUTH_OWNER_MAX, so one bound just now has room; checked
	 * all the same, before any driver code runs (make mutate: the check
	 * made if (0) survives, as no test can fill bound[] past the owner
	 * table) */
	if (!refused && nbound == ARRAY_SIZE(bound)) {
		kprintf("devmgr: %s %s: not bound (%u functions bound)\n", a,
			drv->name, nbound);
		refused = "refused: no owner";
	}
	if (!refused) {
		d->drv = drv;
		if (drv->attach(d, d->owner) != 0)
			refused = "attach failed";
	}
	d->restart.busy = false;
	if (refused) {
		devmgr_unwind(d, refused, nbd);
		return;
	}
	d->restart.up_us = t0;
	d->restart.spent = false;
	d->restart.shut = PCI_NOT_SHUT;
	if (!strcmp(d->state, "unbound"))
		strlcpy(d->state, "running", sizeof(d->state));
	bound[nbound++] = d;
	kprintf("devmgr: %s %s bound in %llu us\n", a, drv->name,
		(unsigned long long)(time_now_us() - t0));
}

void devmgr_bind_all(void)
{
	for (unsigned i = 0; i < pci_ndevs; i++)
		devmgr_bind(&pci_devs[i]);
	for (unsigned i = 0; i < pci_ndevs; i++) {
		struct pci_dev *d = &pci_devs[i];
		char a[16];
		pci_addr_str(d, a, sizeof(a));
		kprintf("pci %s %04x:%04x class %06x -> %s\n", a, d->vendor,
			d->device, d->class_code,
			d->drv ? d->drv->name : "none");
	}
}

void devmgr_shutdown(void)
{
	for (unsigned i = nbound; i-- > 0;) {
		struct pci_dev *d = bound[i];
		const struct driver *drv = d->drv;
		char a[16];
		if (!drv)
			continue;
		pci_addr_str(d, a, sizeof(a));
		if (!drv->detach) {
			kprintf("devmgr: %s %s: no detach; left running\n", a,
				drv->name);
			continue;
		}
		uint64_t t0 = time_now_us();
		int r = drv->detach(d);
		/* (make mutate: r > 0 made r >= 0 here and below survives, an
		 * equivalent: r == 0 is taken first) */
		kprintf("devmgr: %s %s %s in %llu us\n", a, drv->name,
			r == 0	? "shut down"
			: r > 0 ? "stopped without a confirmed shutdown"
				: "did not stop (fenced)",
			(unsigned long long)(time_now_us() - t0));
		d->drv = NULL;
		strlcpy(d->state,
			r == 0	? "shut down"
			: r > 0 ? "stopped: not confirmed"
				: "fenced: did not stop",
			sizeof(d->state));
	}
	/* the kernel is leaving: no restart is due any more, the bound
	 * functions' nor one whose last bring-up failed (not in the bind
	 * order, nothing to detach), and none is set due after (shut) — one
	 * left running for want of a detach may still report */
	for (unsigned i = 0; i < pci_ndevs; i++) {
		pci_devs[i].restart.pending = false;
		pci_devs[i].restart.shut = PCI_SHUT;
	}
}

int devmgr_unbind(struct pci_dev *d)
{
	const struct driver *drv = d->drv;
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	if (!auth_owner_facts(d->owner)) {
		kprintf("devmgr: %s: unable to unbind (not bound)\n", a);
		return -1;
	}
	uint64_t t0 = time_now_us();
	/* no detach: nothing confirms the device stopped. A function
	 * devmgr_shutdown detached already keeps that detach's answer, which
	 * its state says; one whose attach failed was never confirmed. A
	 * failure the detach reports is the going instance's: not acted on
	 * (busy) */
	d->restart.busy = true;
	int r = drv ? (drv->detach ? drv->detach(d) : 1)
		: !strcmp(d->state, "shut down") ? 0
						 : 1;
	/* (make mutate: deleting this survives, an equivalent: with no
	 * driver every report is stale, and the next bind sets busy anew) */
	d->restart.busy = false;
	/* an unbind from outside the supervisor (an operator's, a proof's)
	 * is not fought: a restart due is called off (a restart's own
	 * unbind comes after it took the restart off) */
	d->restart.pending = false;
	uint16_t owner = d->owner;
	int w = auth_owner_unbind(owner, r == 0);
	bound_drop(d);
	d->drv = NULL;
	/* decoding nothing until the next attach, as after a failed one */
	pci_enable(d, false, false, false);
	strlcpy(d->state, "unbound", sizeof(d->state));
	/* (r > 0 made r >= 0: an equivalent, as in devmgr_shutdown) */
	kprintf("devmgr: %s %s unbound in %llu us (detach %s; owner %u %s)\n",
		a, drv ? drv->name : "(shut down)",
		(unsigned long long)(time_now_us() - t0),
		r == 0	? "confirmed"
		: r > 0 ? "not confirmed"
			: "did not stop",
		owner, w > 0 ? "withheld memory" : "gave everything back");
	return w > 0 ? 1 : 0;
}

int devmgr_rebind(struct pci_dev *d)
{
	if (auth_owner_facts(d->owner)) {
		char a[16];
		pci_addr_str(d, a, sizeof(a));
		kprintf("devmgr: %s: unable to rebind (owner %u holds it)\n", a,
			d->owner);
		return -1;
	}
	devmgr_bind(d);
	return d->drv ? 0 : -1;
}

/* ---- the supervisor ------------------------------------------------------ */

static const char *devmgr_name(const struct pci_dev *d)
{
	const struct driver *drv = d->drv ? d->drv : devmgr_find(d);
	return drv ? drv->name : "(no driver)";
}

/* a report kept for devmgr_poll: the owner and its reason written, and
 * taken, with interrupts off (an interrupt handler's report may come
 * between the two otherwise) */
static void held_set(struct pci_restart *r, uint16_t owner, const char *why)
{
	uint64_t fl = cpu_irq_save();
	r->held = owner;
	r->held_why = why;
	cpu_irq_restore(fl);
}

static uint16_t held_take(struct pci_restart *r, const char **why)
{
	uint64_t fl = cpu_irq_save();
	uint16_t owner = r->held;
	*why = r->held_why;
	r->held = 0;
	cpu_irq_restore(fl);
	return owner;
}

void devmgr_failed(struct pci_dev *d, uint16_t owner, const char *why)
{
	struct pci_restart *r = &d->restart;
	char a[16];
	/* a stale instance */
	if (!d->drv || owner != d->owner) /* a driver holds a nonzero owner */
		return;
	/* inside an attach or a restart, or an interrupt handler (it may
	 * have cut into the main loop's own use of r): held, and said again
	 * by devmgr_poll once that is over. An attach that then fails
	 * unwinds it (no driver: dropped then); one that succeeds leaves a
	 * failed instance the supervisor must restart; a report the going
	 * instance's detach made names an owner given back (stale then) */
	if (r->busy || cpu_isr_depth) {
		held_set(r, owner, why);
		return;
	}
	/* the kernel is leaving (devmgr_shutdown): a function left running
	 * without a detach is not bound again behind it */
	if (r->shut) {
		if (r->shut == PCI_SHUT) {
			pci_addr_str(d, a, sizeof(a));
			kprintf("devmgr: %s %s failed (%s) after "
				"devmgr_shutdown; not restarted\n",
				a, d->drv->name, why);
		}
		r->shut = PCI_SHUT_SAID;
		return;
	}
	/* a failure already acted on */
	if (r->pending || r->spent)
		return;
	pci_addr_str(d, a, sizeof(a));
	if (auth_owner_revoked(owner) && !auth_owner_faulted(owner)) {
		if (r->left != owner)
			kprintf(
			    "devmgr: %s %s failed (%s): owner %u was revoked "
			    "(not by a DMA fault); left to whoever revoked "
			    "it, not restarted\n",
			    a, d->drv->name, why, owner);
		r->left = owner;
		return;
	}
	if (d->fenced) {
		r->spent = true;
		kprintf("devmgr: %s %s failed (%s): fenced (it may still reach "
			"memory given back); not restarted\n",
			a, d->drv->name, why);
		return;
	}
	uint64_t now = time_now_us();
	if (now - r->up_us >= DEVMGR_RESTART_CLEAN_US)
		r->used = 0; /* ran cleanly long enough: a new streak */
	r->why = why;
	if (r->used >= DEVMGR_RESTART_MAX) {
		r->spent = true;
		kprintf(
		    "devmgr: %s %s failed (%s): %u restarts within %llu s "
		    "spent the budget (DEVMGR_RESTART_MAX); left failed\n",
		    a, d->drv->name, why, r->used,
		    (unsigned long long)(DEVMGR_RESTART_CLEAN_US / 1000000));
		return;
	}
	r->pending = true;
	r->at_us = now + (DEVMGR_RESTART_DELAY_US << r->used);
}

/* the restart: unbound (the driver's detach, the owner given back), bound
 * again; one line. A rebind that fails is the next restart's failure.
 * False when it was called off */
static bool devmgr_restart(struct pci_dev *d)
{
	struct pci_restart *r = &d->restart;
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	const char *name = devmgr_name(d);
	uint16_t old = d->owner;
	uint64_t t0 = time_now_us();
	r->pending = false;
	/* revoked on purpose since the failure (an operator, a proof): not
	 * fought, as a report made after such a revocation is not. A
	 * function with no driver had its owner revoked by its own failed
	 * bring-up (devmgr_unwind): that restart goes on */
	if (d->drv && auth_owner_revoked(old) && !auth_owner_faulted(old)) {
		r->left = old;
		kprintf("devmgr: %s %s restart (%s) called off: owner %u was "
			"revoked (not by a DMA fault) before it; left to "
			"whoever revoked it, not restarted\n",
			a, name, r->why, old);
		return false;
	}
	r->used++;
	r->count++;
	/* it holds its owner still, bound or after a failed attach. The
	 * unbind and the bind mark it busy while driver code runs */
	if (auth_owner_facts(d->owner))
		(void)devmgr_unbind(d);
	int rb = devmgr_rebind(d);
	uint64_t us = time_now_us() - t0;
	if (rb == 0) { /* devmgr_bind set up_us */
		kprintf("devmgr: %s %s restarted (%s), %u of %u in this "
			"streak: owner %u -> %u in %llu us\n",
			a, name, r->why, r->used, DEVMGR_RESTART_MAX, old,
			d->owner, (unsigned long long)us);
		return true;
	}
	/* no owner id will ever come back (they are never reused): no retry
	 * can bind it */
	if (next_owner > UINT16_MAX) {
		r->spent = true;
		kprintf("devmgr: %s %s restart (%s), %u of %u, failed (%s): no "
			"owner id left; left failed\n",
			a, name, r->why, r->used, DEVMGR_RESTART_MAX, d->state);
		return true;
	}
	if (r->used < DEVMGR_RESTART_MAX) {
		uint64_t delay = DEVMGR_RESTART_DELAY_US << r->used;
		r->pending = true;
		r->at_us = time_now_us() + delay;
		kprintf("devmgr: %s %s restart (%s), %u of %u, failed (%s); "
			"next in %llu ms\n",
			a, name, r->why, r->used, DEVMGR_RESTART_MAX, d->state,
			(unsigned long long)(delay / 1000));
		return true;
	}
	r->spent = true;
	kprintf("devmgr: %s %s restart (%s), %u of %u, failed (%s): budget "
		"spent (DEVMGR_RESTART_MAX); left failed\n",
		a, name, r->why, r->used, DEVMGR_RESTART_MAX, d->state);
	return true;
}

bool devmgr_poll(void)
{
	bool ran = false;
	/* a DMA fault revoked the owner (auth_poll) and its driver has not
	 * said so yet (an idle one may never): recorded as its failure. Looked
	 * for only when auth_poll revoked one since the last look */
	uint32_t faults = auth_fault_revocations();
	for (unsigned i = 0; faults != faults_seen && i < nbound; i++) {
		struct pci_dev *d = bound[i];
		/* one with no driver, or with a restart due, is
		 * devmgr_failed's to leave alone */
		if (auth_owner_faulted(d->owner))
			devmgr_failed(d, d->owner, "DMA fault");
	}
	/* (make mutate: deleting this survives, an equivalent but for
	 * time: every later look finds each faulted owner acted on already —
	 * due, spent, or given back by its restart) */
	faults_seen = faults;
	for (unsigned i = 0; i < pci_ndevs; i++) {
		struct pci_dev *d = &pci_devs[i];
		struct pci_restart *r = &d->restart;
		/* not busy: binds do not call devmgr_poll. (make mutate: if (1)
		 * survives, an equivalent but for time: no report held, owner
		 * 0, which devmgr_failed drops as stale) */
		if (r->held) {
			const char *why;
			uint16_t owner = held_take(r, &why);
			devmgr_failed(d, owner, why);
		}
		/* left to whoever revoked its owner on purpose, and that owner
		 * reinstated since (auth_owner_reinstate): the driver gave the
		 * device up for good when it found the revocation, so it is
		 * restarted as for any failure, within the budget — a fresh
		 * bind, under a new owner with a new broker, windows, vectors
		 * and pools, the one bring-up path there is. Not after
		 * devmgr_shutdown: nothing is restarted then */
		if (d->drv && r->left == d->owner && !r->shut &&
		    !auth_owner_revoked(r->left)) {
			uint16_t owner = r->left;
			/* (make mutate: deleting this survives, an equivalent:
			 * the failure recorded next leaves the function due or
			 * spent, and its restart binds a new owner or, called
			 * off, sets left anew) */
			r->left = 0;
			devmgr_failed(d, owner, "owner reinstated");
		}
		if (d->restart.pending &&
		    (int64_t)(time_now_us() - d->restart.at_us) >= 0)
			ran |= devmgr_restart(d);
	}
	return ran;
}

#ifdef CAPOS_HOST
int devmgr_host_reset(void)
{
	if (nbound || auth_owner_host_reset() != 0)
		return -1;
	next_owner = 1;
	/* (make mutate: deleting this survives: seen only after 65,535 more
	 * binds, which no fuzz input makes) */
	ids_out_said = false;
	faults_seen = 0;
	devmgr_policy_host_reset();
	return 0;
}
#endif
