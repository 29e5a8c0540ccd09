/* tests/host/devmgr/fuzz_devmgr_seq.c — the device manager's supervisor
 * (kernel/devmgr/devmgr.c: devmgr_failed, devmgr_poll) under hostile
 * sequences, with the real policy and owner table: drivers that report
 * failures now, twice, from a stale owner, from inside their attach or
 * detach or an interrupt handler, attaches that fail; an operator's (a
 * proof's) unbind, rebind, revocation and reinstatement; the kernel's
 * devmgr_shutdown (function 2's driver has no detach: left running); the
 * clock jumping by milliseconds up to past DEVMGR_RESTART_CLEAN_US; a
 * going driver instance asking the authority layer for kernel memory as
 * an owner it no longer holds.
 * Oracles, checked after every step by an independent record of what the
 * harness did:
 *   - one live owner at most per function (every id it was seen holding
 *     and every id up to the highest seen asked of the owner table);
 *   - the budget: restarts k and k + DEVMGR_RESTART_MAX of one function
 *     more than DEVMGR_RESTART_CLEAN_US apart (a streak is at most
 *     DEVMGR_RESTART_MAX restarts, the next needs a clean run since);
 *   - no restart of a function the operator unbound (until it binds it
 *     again), nor of one whose owner it revoked while a driver held it
 *     (until it reinstates, unbinds or rebinds it);
 *   - no restart after devmgr_shutdown (until the operator binds the
 *     function again);
 *   - a report from an interrupt handler only recorded: the function's
 *     restart state as before but the report held (a current owner's),
 *     and no line;
 *   - inputs independent: each is run twice, after the input before it
 *     and after itself, and says the same lines and counts the same
 *     refusals both times (the reset leaves nothing behind).
 * Each input starts from the state of boot, in this process (coverage
 * guides it): every function the last input left holding an owner is
 * given back through the real devmgr_unbind, then owner ids start at 1
 * again (devmgr_host_reset, host builds only). Input: one op byte and one
 * argument byte a step. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/authority/authority.h"
#include "kernel/cpu/cpu.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/time/time.h"
#include "shim.h"

/* what devmgr calls outside itself: tests/host/devmgr/devmgr_env.c */
#define NFN 3
struct pci_dev pci_devs[NFN];
unsigned pci_ndevs;
void pci_enable(struct pci_dev *d, bool mem, bool io, bool bus_master)
{
	(void)d, (void)mem, (void)io, (void)bus_master;
}

/* ---- the driver: what it does is the input's ---------------------------- */
static bool attach_fails[NFN], report_in_attach[NFN], report_in_detach[NFN];
static int seq_attach(struct pci_dev *d, uint16_t owner)
{
	unsigned i = (unsigned)(d - pci_devs);
	if (report_in_attach[i])
		devmgr_failed(d, owner, "in attach");
	return attach_fails[i] ? -1 : 0;
}
static int seq_detach(struct pci_dev *d)
{
	unsigned i = (unsigned)(d - pci_devs);
	if (report_in_detach[i])
		devmgr_failed(d, d->owner, "in detach");
	return 0;
}
static const struct pci_match seq_ids[] = {{0x1234, 0x0042, 0, 0}};
static const struct driver seq_drv = {.name = "seq",
				      .ids = seq_ids,
				      .nids = 1,
				      .dma = true,
				      .attach = seq_attach,
				      .detach = seq_detach};
/* function 2's: no detach, so devmgr_shutdown leaves it running */
static const struct pci_match nodetach_ids[] = {{0x1234, 0x0043, 0, 0}};
static const struct driver nodetach_drv = {.name = "nodetach",
					   .ids = nodetach_ids,
					   .nids = 1,
					   .dma = true,
					   .attach = seq_attach};
const struct driver *const devmgr_drivers[] = {&seq_drv, &nodetach_drv};
const unsigned devmgr_ndrivers = 2;

/* ---- the record --------------------------------------------------------- */
static uint16_t max_id; /* the highest owner id seen */
static uint64_t restart_at[NFN][DEVMGR_RESTART_MAX + 1];
static uint32_t restarts_seen[NFN];
static bool op_unbound[NFN], op_revoked[NFN], op_shut[NFN];

static uint64_t now_us(void)
{
	return shim_clock_ns / 1000;
}

static void bug(const char *what, unsigned i)
{
	fprintf(stderr, "fuzz_devmgr_seq: %s (function %u)\n", what, i);
	abort();
}

static void check(void)
{
	for (unsigned i = 0; i < NFN; i++) {
		struct pci_dev *d = &pci_devs[i];
		if (d->owner > max_id)
			max_id = d->owner;
		unsigned live = 0;
		for (unsigned id = 1; id <= max_id; id++) {
			const struct auth_owner_facts *f =
			    auth_owner_facts((uint16_t)id);
			live += f && f->d == d;
		}
		if (live > 1)
			bug("two live owners for one function", i);
		while (restarts_seen[i] < d->restart.count) {
			uint32_t k = restarts_seen[i]++;
			if (op_unbound[i])
				bug("restart of a function the operator "
				    "unbound",
				    i);
			if (op_revoked[i])
				bug("restart of a function whose owner the "
				    "operator revoked",
				    i);
			if (op_shut[i])
				bug("restart after devmgr_shutdown", i);
			uint64_t *t = restart_at[i];
			if (k >= DEVMGR_RESTART_MAX &&
			    now_us() - t[k % (DEVMGR_RESTART_MAX + 1)] <=
				DEVMGR_RESTART_CLEAN_US)
				bug("more than DEVMGR_RESTART_MAX restarts "
				    "within DEVMGR_RESTART_CLEAN_US",
				    i);
			t[k % (DEVMGR_RESTART_MAX + 1)] = now_us();
		}
		if (op_unbound[i] && d->drv)
			bug("a function the operator unbound bound again", i);
	}
}

/* the driver reports from an interrupt handler, as its own owner (arg
 * even) or a stale one: only recorded */
static void in_handler(struct pci_dev *d, uint8_t arg)
{
	const struct pci_restart was = d->restart;
	uint64_t lines = shim_kprintf_calls;
	uint16_t owner =
	    arg & 2 ? (uint16_t)(arg / 4 % (max_id + 1)) : d->owner;
	bool current = d->drv && owner && owner == d->owner;
	cpu_isr_depth = 1;
	devmgr_failed(d, owner, "in a handler");
	cpu_isr_depth = 0;
	const struct pci_restart *r = &d->restart;
	if (shim_kprintf_calls != lines || r->pending != was.pending ||
	    r->at_us != was.at_us || r->used != was.used ||
	    r->spent != was.spent || r->count != was.count ||
	    r->left != was.left || r->shut != was.shut || r->why != was.why ||
	    r->up_us != was.up_us)
		bug("devmgr_failed acted inside an interrupt handler",
		    (unsigned)(d - pci_devs));
	if (r->held != (current ? owner : was.held))
		bug("a report from an interrupt handler not held as it was "
		    "made",
		    (unsigned)(d - pci_devs));
}

/* the state of boot: the last input's functions given back through the
 * real unbind (its knobs off first: no report, no failure from the
 * detach), any owner left over too, then the device manager's and the
 * authority layer's tables as at boot and a fresh record */
static void reset(void)
{
	memset(attach_fails, 0, sizeof(attach_fails));
	memset(report_in_attach, 0, sizeof(report_in_attach));
	memset(report_in_detach, 0, sizeof(report_in_detach));
	for (unsigned i = 0; i < NFN; i++)
		if (pci_devs[i].owner && auth_owner_facts(pci_devs[i].owner))
			(void)devmgr_unbind(&pci_devs[i]);
	for (unsigned id = 1; id <= max_id; id++)
		if (auth_owner_facts((uint16_t)id))
			(void)auth_owner_unbind((uint16_t)id, true);
	if (devmgr_host_reset() != 0)
		bug("an owner left after every function was unbound", 0);
	memset(pci_devs, 0, sizeof(pci_devs));
	max_id = 0;
	memset(restart_at, 0, sizeof(restart_at));
	memset(restarts_seen, 0, sizeof(restarts_seen));
	memset(op_unbound, 0, sizeof(op_unbound));
	memset(op_revoked, 0, sizeof(op_revoked));
	memset(op_shut, 0, sizeof(op_shut));
	shim_clock_ns = 0;
}

/* every line an input makes, hashed (FNV-1a, each line and its end) */
static uint64_t said_hash;
static void line_hash(const char *line)
{
	for (const char *c = line;; c++) {
		said_hash = (said_hash ^ (uint8_t)*c) * 0x100000001b3ull;
		if (!*c)
			break;
	}
}

/* the input's steps from the state of boot; said_hash: the lines they
 * made (not the reset's, which gives back the input before's functions) */
static void run(const uint8_t *in, size_t n)
{
	shim_quiet = 1;
	shim_line_hook = NULL;
	reset();
	said_hash = 0xcbf29ce484222325ull;
	shim_line_hook = line_hash;
	pci_ndevs = NFN;
	for (unsigned i = 0; i < NFN; i++) {
		struct pci_dev *d = &pci_devs[i];
		d->dev = (uint8_t)i;
		d->vendor = 0x1234;
		d->device = i == 2 ? 0x0043 : 0x0042;
		strlcpy(d->state, "unbound", sizeof(d->state));
	}
	devmgr_bind_all();
	check();
	for (size_t p = 0; p + 1 < n; p += 2) {
		uint8_t op = in[p], arg = in[p + 1];
		unsigned i = arg % NFN;
		struct pci_dev *d = &pci_devs[i];
		/* 224..239: a driver instance asks the authority layer for
		 * kernel memory as an owner it held, or any id (a going
		 * instance after its restart): refused unless that owner is
		 * bound and not revoked, each refusal counted and its line
		 * bounded (auth_refused); what it got it gives back */
		if (op >= 224 && op < 240) {
			uint16_t owner = (uint16_t)(arg / NFN % (max_id + 1));
			void *p = auth_kmem_alloc(owner, 4096);
			if (p)
				auth_kmem_free(owner, p, 4096);
			check();
			continue;
		}
		/* 240..255: the kernel's (below 224, op % 12 as before) */
		if (op >= 240) {
			if (op & 1)
				in_handler(d, arg);
			else {
				devmgr_shutdown();
				memset(op_shut, 1, sizeof(op_shut));
			}
			check();
			continue;
		}
		switch (op % 12) {
		case 0: /* the driver gives the device up */
		case 1:
			devmgr_failed(d, d->owner, "broken ring");
			break;
		case 2: /* a stale instance: an id it held before, or any */
			devmgr_failed(d, (uint16_t)(arg / NFN % (max_id + 1)),
				      "stale");
			break;
		case 3: /* the operator unbinds it */
			if (devmgr_unbind(d) >= 0) {
				op_unbound[i] = true;
				op_revoked[i] = false;
			}
			break;
		case 4: /* and binds it again */
			if (devmgr_rebind(d) == 0)
				op_shut[i] = false;
			op_unbound[i] = op_revoked[i] = false;
			break;
		case 5: /* a proof revokes its owner */
			if (d->drv && d->owner &&
			    !auth_owner_revoked(d->owner) &&
			    auth_owner_revoke(d->owner, "proof") >= 0)
				op_revoked[i] = true;
			break;
		case 6:
			if (auth_owner_reinstate(d->owner) == 0)
				op_revoked[i] = false;
			break;
		case 7:
			attach_fails[i] = arg & 8;
			report_in_attach[i] = arg & 16;
			report_in_detach[i] = arg & 32;
			break;
		case 8: /* time: 1 ms .. 256 ms */
			shim_clock_ns += (arg + 1ull) * 1000 * 1000;
			break;
		case 9: /* time: seconds, up to past the clean run */
			shim_clock_ns += (arg & 1 ? DEVMGR_RESTART_CLEAN_US
						  : (arg + 1ull) * 1000000) *
					 1000;
			break;
		default:
			(void)devmgr_poll();
			break;
		}
		check();
	}
}

/* the refusal counts (/api/authority), hashed */
static uint64_t first_refusals;
static uint64_t refusals_hash(void)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (unsigned r = 0; r < AUTH_NREASONS; r++)
		h = (h ^ auth_refusals[r]) * 0x100000001b3ull;
	return h;
}

/* Each input is run twice: after the input before it, then after itself.
 * Both runs start from the state of boot (reset), so they say the same
 * lines; a difference is state the reset left behind (a refusal line
 * bounded per process, a once-only line, a counter): inputs would not be
 * independent, and a crash found would not replay on its own */
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
	run(in, n);
	uint64_t first = said_hash;
	first_refusals = refusals_hash();
	run(in, n);
	if (refusals_hash() != first_refusals)
		bug("the same input counted other refusals when run again "
		    "(state the reset left)",
		    0);
	if (said_hash != first)
		bug("the same input said other lines when run again (state "
		    "the reset left)",
		    0);
	return 0;
}
