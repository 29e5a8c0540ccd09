/* tests/host/authority/fuzz_authority_seq.c — stateful libFuzzer target for
 * the authority layer as the kernel builds it (kernel/authority auth.c,
 * owner.c, dmapool.c, mmio.c, irq.c over dma/owner.c and dma/grant.c and
 * the page shim), driven by hostile drivers.
 *
 * Four owners are bound as the device manager binds them: 1 unvalidated, 2
 * under the (shim's) IOMMU, 3 brokered behind the validator, each owning
 * one PCI function with a 8 KiB memory BAR whose MSI-X table (4 entries)
 * and PBA lie inside it, and 4 unvalidated, owning a function with MSI and no
 * MSI-X (irq_bind's MSI path: the capability in configuration space,
 * 64-bit addresses when the input's length is odd). A fifth function, with
 * MSI-X, names owner 1 (struct pci_dev's owner) but is not the one owner 1
 * was bound with: an owner is one function (auth_owner_function), and this
 * one gets nothing of it — no bus mastering, window or interrupt; binding
 * it to an owner it does not name is refused (checked once, at set-up). The
 * input is a program of operations, each an opcode byte and its argument bytes:
 * create, carve and revoke DMA pools; grant, access and revoke DeviceMmio
 * windows; bind, mask, unmask, count and revoke Interrupts, fire CPU
 * vectors and raise entries as a broker does (irq_raise); allocate and free
 * kernel memory (any pointer, any length, any owner, again); revoke and
 * reinstate owners, and an IOMMU fault with the safe point after it or not yet
 * (owner 2 quarantined, not revoked); and the kernel's and device manager's own
 * parts: pins on grants (commands in flight), narrowing an owner's DMA limit
 * (auth_owner_limit), the NVMe gate's shadow pages (dma_kernel_alloc and
 * dma_kernel_free, charged to the owner as the gate charges them), revoke hooks
 * (auth_owner_on_revoke: one that looks, one that drops the owner's pins
 * as the NVMe broker's does) and an IOMMU that stops confirming
 * unmaps and starts again (shim_iommu_fail_unmap), and whose maps fail
 * part-way (shim_iommu_fail_map: the undo is an unmap, confirmed or
 * not); and the devices
 * themselves (opcodes 240..255): pci_enable with any decode and bus
 * mastering, the stray function naming no owner (252) and quirks (below,
 * "the devices"). Every capability the
 * driver gets back is its copy in one of a few slots, and the driver
 * keeps old copies and forges them: any field of struct dma_pool, struct
 * dev_mmio or struct irq_cap rewritten, another copy's fields, a copy of a
 * capability revoked long ago. Owner ids 0 and 5 are never bound.
 *
 * The fuzzer keeps its own model of what each owner holds — pools by
 * (owner, slot, generation) as live, parked (seized by an owner
 * revocation), withheld (revoked or seized while the IOMMU did not confirm
 * the unmap, or made while it did not confirm a failed map's undo) or
 * dead, windows and interrupts by (slot, generation), kernel
 * memory by (owner, address, pages), the kernel's shadow pages, each
 * owner's DMA limit and revoke hook, every byte of each BAR and its guard
 * bytes and of configuration space — and predicts the outcome of every
 * call from it. Oracles (each failure prints one "ORACLE: ..." line and
 * aborts), after every step:
 *  - every call succeeds or is refused exactly as the model says: a
 *    capability is its (owner,) slot and generation and nothing else, a
 *    revoked owner gets nothing new (no pool, window, interrupt or kernel
 *    memory) and its pools carve nothing, a quarantined one no interrupt
 *    before the safe point revokes it, a reinstated owner's old
 *    capabilities stay dead; a carve hands out only bytes of the pool it
 *    names, va = iova, at the alignment asked; a pool or shadow page lies
 *    below the lowest of the caller's, the owner's and the domain's
 *    limits, or there is no memory there and it is refused; a limit
 *    narrows only while the owner holds no pool (live, parked or
 *    withheld) and no shadow;
 *  - the kernel's grant tables hold exactly the model's live and parked
 *    pools (slot, generation, base, length); no two pools or kernel
 *    allocations overlap; dma_owner_covers answers for every owner exactly
 *    what the model's live pools cover (a pool kept pinned through its
 *    owner's revocation included); each pool's and allocation's tag bytes
 *    are intact;
 *  - each owner's charged pool, shadow and kernel memory equal the
 *    model's sums (pools live, parked and withheld; shadow pages live and
 *    withheld, across inputs too: dma_kernel_free says -1 exactly when it
 *    withholds), within the quotas;
 *    the pages the page shim has out equal the same sum (nothing freed
 *    twice — the shim aborts — nor leaked); withheld pages stay out across
 *    inputs and are never handed out again; under the IOMMU the mapped
 *    pages are exactly owner 2's live pools (read-write) and the live
 *    shadow pages made for it (with the permissions asked), never a
 *    withheld one;
 *  - an MMIO access through any copy succeeds only inside a live window
 *    (offsets past 4 GiB included, never cut to 32 bits), aligned on the
 *    device (the window's BAR offset, which may be 1, 2 or 4 bytes past
 *    an 8-byte boundary, plus the offset; a 64-bit access as two 4-byte
 *    halves), in a direction the window was granted, reads the model's
 *    bytes (all ones with decode off) or all ones, counts one refusal
 *    when refused; every byte of every BAR and its guard bytes equals
 *    the model's (the MSI-X table holds what irq_bind, mask and unmask
 *    wrote for the live interrupts, while the function met no quirk),
 *    and so does configuration space (the Command register as
 *    pci_enable leaves it; MSI-X enabled and unmasked as a whole at the
 *    first bind; the MSI capability's address, data, one message, its
 *    enable bit as the interrupt's mask);
 *  - the MSI-X tables as the devices hold them (check_msix,
 *    check_others): every interrupt believed masked is masked, an entry
 *    that would send sends the kernel's message, no operation changes an
 *    entry but those it names;
 *  - the authority table's live slots are exactly the model's live
 *    windows and interrupts; the CPU vectors held are exactly those of the
 *    live interrupts, none freed twice, and a fired vector reaches the
 *    handler of the interrupt that holds it, an irq_raise the handler of
 *    the live unmasked interrupt its owner bound on that function and
 *    entry, or none; with every slot but 0 live,
 *    a grant or bind that would pass is refused and counted once in
 *    auth_slots_full (seed slots_full fills the table);
 *  - bus mastering asked through pci_enable is granted (the check the
 *    owner table installs for kernel/pci) exactly to a bound owner's one
 *    function, the owner neither revoked nor quarantined — never to a
 *    function that names no owner: a driver asks
 *    after each revocation and each reinstatement, granted or refused;
 *    and, whatever the model predicts, no function that names a revoked
 *    owner, nor one that is no owner's function, has bus mastering on in
 *    the device after any step;
 *  - the refusal lines are bounded (line_seen): each comes after its
 *    refusal was counted, and over the whole run at most
 *    AUTH_REFUSAL_LINES + 1 of them per owner and reason, as the kernel
 *    keeps its rows (bound owners 1..4 each; uses and unbound owners one);
 *  - a revoke hook runs once per revocation of its owner, with that owner
 *    and its argument, after the device stopped (bus mastering off, the
 *    IOMMU context cleared) and before any pool, window or interrupt of
 *    the owner was taken.
 * At the end of each input everything is given back through the real
 * calls, and the next starts from an empty layer but for withheld pages
 * (the layer's for good; the harness frees them itself past MAXWH ranges)
 * and the owners' DMA limits (put back as the device manager bound them).
 * irq_raise (opcode 23: the broker delivering an interrupt on the
 * device's behalf) is called with the function, owner and entry of any
 * copy's binding, live, stale or forged, or any function and owner: it
 * reaches exactly the live, unmasked interrupt that owner bound there
 * (its handler once, its count one on), none of a revoked owner, and
 * counts no refusal (its cli and sti do nothing in the host build).
 * AUTH_SEQ_TRACE=1 prints every operation. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_DEVS_PCI_CFG /* kernel/pci/pci_cfg.c is linked */
#include "auth_devs.h"
extern void (*pci_host_cfg_written)(const struct pci_dev *d, uint16_t off,
				    unsigned width);
extern void (*pci_host_msix_written)(volatile uint32_t *p);
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci_reg.h"
#include "owner_shim.h"
#include "shim.h"

/* The harness is instrumented like the layer: its branches (which op,
 * which field forged, which copy used) are what leads the fuzzer to forged
 * copies the layer then takes down the same path as honest ones. */

#define PS	 4096u
#define NOWN	 4 /* owners 1..4; 0 and 5 are never bound */
#define NDEV	 5 /* function i < 4 is owner i+1's; STRAY no one's */
#define MSI_DEV	 3 /* MSI only: no MSI-X table (irq_bind's MSI path) */
#define STRAY	 4 /* names owner 1, bound with function 0; or none (op_unown) */
#define CAP_MSI	 0x50
#define BAR_LEN	 0x2000u
#define BAR_PA	 0xfe000000ull
#define GUARD	 256u
#define MSIX_OFF 0x1000u
#define MSIX_N	 4u
#define PBA_OFF	 0x1800u
#define PBA_LEN	 8u /* ALIGN_UP(4, 64) / 8 */
#define CAP_MSIX 0x70
#define NPC	 8 /* the driver's copies, of each kind */
#define NMC	 6
#define NIC	 6
#define NKC	 8
#define MAXREC	 128
#define MAXOPS	 256
#define MAXWH	 48 /* withheld ranges kept across inputs (below) */

static int trace;
#define TRACE(...)                                                             \
	do {                                                                   \
		if (trace)                                                     \
			fprintf(stderr, __VA_ARGS__);                          \
	} while (0)

static void oracle(const char *what, uint64_t a, uint64_t b)
{
	fprintf(stderr, "ORACLE: %s 0x%llx 0x%llx\n", what,
		(unsigned long long)a, (unsigned long long)b);
	abort();
}
#define CHECK(c, what, a, b)                                                   \
	do {                                                                   \
		if (!(c))                                                      \
			oracle(what, (uint64_t)(a), (uint64_t)(b));            \
	} while (0)

/* ---- the machine: five functions, their BARs with guards -------------- */
static struct pci_dev devs[NDEV];
static uint8_t cfg[NDEV][4096];
/* what the kernel's mapping of each BAR reads (between guards): the
 * device's memory while its decode is on, all ones while it is off */
static uint8_t bar_mem[NDEV][GUARD + BAR_LEN + GUARD]
    __attribute__((aligned(4096)));
static uint8_t bar_model[NDEV][GUARD + BAR_LEN + GUARD];

/* ---- the devices ----------------------------------------------------------
 * Each function holds its BAR's memory itself (bar_dev: the MSI-X table
 * it sends messages by) behind the Command register's Memory Space
 * Enable: with it clear, memory writes are lost and reads return all ones
 * (PCIe Base 5.0 §7.5.1.1.3). The kernel's configuration accesses are the
 * real kernel/pci/pci_cfg.c (pci_enable included) and its table writes
 * the real kernel/pci/msix.c; both tell the model of each write through
 * their host hooks. Quirks, switched on and off by the input: a table
 * that ignores mask-bit writes (Q_MASK) or message writes (Q_MSG), a
 * Memory Space Enable that never sticks (Q_STUCK), and a BAR refused at
 * enumeration (refused: struct pci_dev's bar_refused, decode turned off
 * as pci_init turns it off). A function that met none of them in the
 * input is ideal: its table must then be the model's, byte for byte. */
enum { Q_MASK = 1, Q_MSG = 2, Q_STUCK = 4 };
static uint8_t bar_dev[NDEV][BAR_LEN];
static uint8_t quirks[NDEV];
static bool refused[NDEV], decode[NDEV], ideal[NDEV];
static bool fnm[NDEV];	       /* the kernel set the Function Mask for good */
static bool decode_refused_on; /* memory decode on with a refused BAR */

void *mm_map_mmio(uint64_t phys, size_t len)
{
	for (unsigned i = 0; i < NDEV; i++) {
		uint64_t base = BAR_PA + i * 0x10000ull;
		if (phys >= base && phys - base <= BAR_LEN &&
		    len <= BAR_LEN - (phys - base))
			return bar_mem[i] + GUARD + (phys - base);
	}
	return NULL;
}

static void bars_reset(void)
{
	for (unsigned i = 0; i < NDEV; i++) {
		uint8_t *m = bar_model[i];
		memset(m, 0xcc, sizeof(bar_model[i]));
		/* bit 0 clear: a stray MSI-X mask bit shows */
		for (unsigned b = 0; b < BAR_LEN; b++)
			m[GUARD + b] = (uint8_t)((b * 7 + i * 31) << 1);
		if (i != MSI_DEV) {
			memset(m + GUARD + MSIX_OFF, 0,
			       MSIX_N * PCI_MSIX_ENTRY_SIZE);
			for (unsigned e = 0; e < MSIX_N; e++) /* masked */
				m[GUARD + MSIX_OFF + e * PCI_MSIX_ENTRY_SIZE +
				  PCI_MSIX_ENTRY_CTRL] =
				    PCI_MSIX_ENTRY_CTRL_MASKBIT;
			memset(m + GUARD + PBA_OFF, 0, PBA_LEN);
		}
		memcpy(bar_mem[i], m, sizeof(bar_model[i]));
		memcpy(bar_dev[i], m + GUARD, BAR_LEN);
	}
}

static void put_le(uint8_t *p, uint64_t v, unsigned w)
{
	for (unsigned i = 0; i < w; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}
static uint64_t get_le(const uint8_t *p, unsigned w)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < w; i++)
		v |= (uint64_t)p[i] << 8 * i;
	return v;
}
static uint8_t *msix_model(unsigned dev, unsigned idx, unsigned field)
{
	return bar_model[dev] + GUARD + MSIX_OFF + idx * PCI_MSIX_ENTRY_SIZE +
	       field;
}

/* configuration space, and the model of it: the MSI-X functions' message
 * control (table size, all masked at reset), the MSI function's capability
 * (64-bit addresses or not, per input; a multiple-message count it may
 * not use; its enable bit is the interrupt's mask) */
static uint8_t cfg_model[NDEV][4096];
static bool msi64;
static uint16_t cfgm16(unsigned dev, unsigned off)
{
	return (uint16_t)get_le(&cfg_model[dev][off], 2);
}
static void cfgm_put(unsigned dev, unsigned off, uint64_t v, unsigned w)
{
	put_le(&cfg_model[dev][off], v, w);
}
/* functions fenced (the NVMe broker's disable failed: struct pci_dev
 * fenced), as the model has it: never bus mastering again */
static bool fenced_m[NDEV];
static void cfg_reset(bool is64)
{
	msi64 = is64;
	memset(cfg_model, 0, sizeof(cfg_model));
	for (unsigned i = 0; i < NDEV; i++) {
		/* as the device manager left it: pci_enable(d, true, false,
		 * true), bus mastering refused to the stray function */
		cfgm_put(i, PCI_COMMAND,
			 PCI_COMMAND_MEM | PCI_COMMAND_INTX_DISABLE |
			     (i == STRAY ? 0 : PCI_COMMAND_MASTER),
			 2);
		quirks[i] = 0;
		refused[i] = false;
		devs[i].fenced = fenced_m[i] = false;
		if (i == STRAY) /* op_unown may have cleared it */
			devs[i].owner = 1;
		decode[i] = ideal[i] = true;
		devs[i].bar_refused = 0;
		devs[i].msix_fn_masked = fnm[i] = false;
		if (i == MSI_DEV)
			cfgm_put(i, CAP_MSI + PCI_MSI_FLAGS,
				 0x100 | 0x0a | 0x30 |
				     (is64 ? PCI_MSI_FLAGS_64BIT : 0),
				 2);
		else
			cfgm_put(i, CAP_MSIX + PCI_MSIX_FLAGS,
				 (MSIX_N - 1) | PCI_MSIX_FLAGS_MASKALL, 2);
	}
	decode_refused_on = false;
	memcpy(cfg, cfg_model, sizeof(cfg));
}

/* ---- the devices' answers ---------------------------------------------- */
static unsigned dev_of(const struct pci_dev *d)
{
	CHECK(d >= devs && d < devs + NDEV, "access to no function",
	      (uintptr_t)d, 0);
	return (unsigned)(d - devs);
}

/* decode on: the mapping shows the device's memory; off: all ones */
static void decode_set(unsigned i, bool on)
{
	decode[i] = on;
	if (on)
		memcpy(bar_mem[i] + GUARD, bar_dev[i], BAR_LEN);
	else
		memset(bar_mem[i] + GUARD, 0xff, BAR_LEN);
}

/* a configuration write (kernel/pci/pci_cfg.c's hook): the Command
 * register's Memory Space Enable turns decode on or off, unless it never
 * sticks */
static void cfg_written(const struct pci_dev *d, uint16_t off, unsigned w)
{
	unsigned i = dev_of(d);
	if (off > PCI_COMMAND || off + w <= PCI_COMMAND)
		return;
	if (quirks[i] & Q_STUCK)
		cfg[i][PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MEM;
	bool on = cfg[i][PCI_COMMAND] & PCI_COMMAND_MEM;
	decode_refused_on |= on && refused[i];
	if (on != decode[i])
		decode_set(i, on);
}

/* a table write (kernel/pci/msix.c's hook), in the mapping already: lost
 * with decode off; else kept by the device, but for what its quirks
 * ignore */
static void msix_written(volatile uint32_t *p)
{
	uint8_t *b = (uint8_t *)(uintptr_t)p;
	unsigned i = 0;
	while (i < NDEV &&
	       !(b >= bar_mem[i] + GUARD && b < bar_mem[i] + GUARD + BAR_LEN))
		i++;
	CHECK(i < NDEV, "MSI-X write outside every BAR", (uintptr_t)p, 0);
	size_t o = (size_t)(b - (bar_mem[i] + GUARD));
	CHECK(i != MSI_DEV && o >= MSIX_OFF &&
		  o < MSIX_OFF + MSIX_N * PCI_MSIX_ENTRY_SIZE && o % 4 == 0,
	      "MSI-X write outside the table", i, o);
	if (!decode[i]) {
		*p = 0xffffffffu;
		return;
	}
	uint32_t was = (uint32_t)get_le(bar_dev[i] + o, 4), v = *p;
	bool ctrl = (o - MSIX_OFF) % PCI_MSIX_ENTRY_SIZE == PCI_MSIX_ENTRY_CTRL;
	if (ctrl && quirks[i] & Q_MASK)
		v = (v & ~PCI_MSIX_ENTRY_CTRL_MASKBIT) |
		    (was & PCI_MSIX_ENTRY_CTRL_MASKBIT);
	if (!ctrl && quirks[i] & Q_MSG)
		v = was;
	*p = v;
	put_le(bar_dev[i] + o, v, 4);
}

/* ---- the model ---------------------------------------------------------- */
/* P_WITHHELD: revoked or seized while the IOMMU did not confirm the unmap,
 * or refused at creation when it did not confirm a failed map's undo: out
 * of the grant table, its pages never freed and still charged */
enum { P_LIVE, P_PARKED, P_DEAD, P_WITHHELD };
static struct prec {
	uint16_t owner, slot;
	uint32_t gen;
	uint64_t base, len;
	uint8_t state, tag;
	uint32_t pins;
} recs[MAXREC];
static unsigned nrec;

static struct mrec {
	unsigned dev;
	uint32_t off, len, flags;
	uint16_t slot, owner;
	uint32_t gen;
	bool live;
} mrecs[MAXREC];
static unsigned nmrec;

static struct irec {
	unsigned dev, index;
	uint16_t slot, owner;
	uint32_t gen;
	uint8_t vector;
	bool live;
	bool masked; /* as the layer must hold it: never unmasked, masked,
			an unmask that did not take */
	uint64_t count;
} irecs[MAXREC];
static unsigned nirec;

static struct krec {
	uint16_t owner;
	uint64_t pa, pages;
	bool live;
	uint8_t tag;
} krecs[MAXREC];
static unsigned nkrec;

/* the kernel's own device-visible pages (dma_kernel_alloc), allocated and
 * freed as the NVMe gate does its shadows: charged to the owner
 * (DMA_CHARGE_SHADOW) first, uncharged when given back — and not when
 * dma_kernel_free says it withheld them: the charge follows the pages */
enum { K_LIVE, K_FREED, K_WITHHELD };
static struct karec {
	uint16_t owner;
	uint64_t pa, pages;
	unsigned perm;
	uint8_t state, tag;
	bool charged;
} karecs[MAXREC];
static unsigned nkarec;

/* pages withheld by earlier inputs: never freed, never handed out again;
 * pools and charged shadows among them stay charged to their owner (kind:
 * DMA_CHARGE_POOL or _SHADOW). Past MAXWH the harness gives them back
 * itself (reclaim_withheld: a new boot, as far as the layer's memory
 * goes) */
static struct whrec {
	uint16_t owner;
	uint64_t base, len;
	bool charged;
	uint8_t kind;
} whs[MAXWH + 2 * MAXREC];
static unsigned nwh;
static uint64_t proc_pages_base, withheld_pages;

static bool revoked[NOWN + 2];
/* owner 2's device quarantined by the (shim's) IOMMU: by a fault, or by
 * its revocation; until reinstated. Between a fault and the safe point it
 * is quarantined but not revoked */
static bool quar2;
static uint64_t mlimit[NOWN + 2]; /* auth_owner_limit's, 0: none */
static bool fail_unmap;		  /* the shim's IOMMU stops confirming */
static bool fail_map;	    /* and maps of two pages or more fail part-way */
static uint64_t pages_base; /* shim pages out before the input */

/* revoke hooks: 0 none, 1 one that only looks, 2 one that drops the
 * kernel's pins on the owner's pools as the NVMe broker's does */
static uint8_t hook_kind[NOWN + 2];
static unsigned hook_calls[NOWN + 2], hook_want[NOWN + 2];

/* the driver's copies */
static struct dma_pool pc[NPC];
static struct dev_mmio mc[NMC];
static struct irq_cap ic[NIC];
static int kc[NKC]; /* index into krecs, -1: none */

static bool bound(uint16_t o)
{
	return o >= 1 && o <= NOWN;
}

/* ---- refusal lines --------------------------------------------------------
 * A driver that repeats a refusal is said of a bounded number of times
 * (kernel/authority/auth.c + auth_refused): per owner and reason at most
 * AUTH_REFUSAL_LINES lines and one saying the rest are counted. Row o
 * (1..NOWN) holds the lines of bound owner o's requests; row 0 those of
 * capability uses (auth_refuse) and of owner ids not bound (0, NOWN + 1).
 * Each driver step names the row its refusal is charged to (line_row; -1
 * outside the driver's steps: revocations, faults, the kernel's own
 * calls, teardown). An "authority:" line in a driver step is a refusal's —
 * but for the line of pages withheld, which is the IOMMU's — and comes
 * after its refusal was counted: it is charged to the reason whose
 * counter moved in the step. The kernel's rows live as long as the
 * process, and so do these counts. */
static int line_row = -1;
static uint64_t line_refusals0[AUTH_NREASONS]; /* at the step's start */
static unsigned lines_said[NOWN + 1][AUTH_NREASONS];

static void line_seen(const char *l)
{
	if (line_row < 0 || strncmp(l, "authority:", 10) ||
	    strstr(l, "withheld"))
		return;
	int r = 0;
	while (r < AUTH_NREASONS && auth_refusals[r] == line_refusals0[r])
		r++;
	CHECK(r < AUTH_NREASONS, "refusal line with no refusal counted",
	      line_row, 0);
	TRACE("  line (row %d, %s): %s", line_row, auth_reason_name(r), l);
	CHECK(++lines_said[line_row][r] <= AUTH_REFUSAL_LINES + 1,
	      "refusal lines past the bound (row, reason)", line_row, r);
}

/* the step is a driver's: its refusal lines go to owner o's row (0 for a
 * capability use or an owner not bound) */
static void driver_step(uint16_t o)
{
	line_row = bound(o) ? o : 0;
	memcpy(line_refusals0, auth_refusals, sizeof(line_refusals0));
}

/* dev is owner o's one function: it names o, and o was bound with it */
static bool own_fn(unsigned dev, uint16_t o)
{
	return bound(o) && devs[dev].owner == o && dev == o - 1u;
}

/* the live or parked pool a copy names: (owner, slot, generation), and a
 * zeroed copy (len 0) names nothing */
static bool held(const struct prec *r)
{
	return r->state == P_LIVE || r->state == P_PARKED;
}
static struct prec *pool_named(const struct dma_pool *p)
{
	if (!p->len)
		return NULL;
	for (unsigned i = 0; i < nrec; i++)
		if (held(&recs[i]) && recs[i].owner == p->owner &&
		    recs[i].slot == p->slot && recs[i].gen == p->gen)
			return &recs[i];
	return NULL;
}
static struct prec *live_on_slot(uint16_t owner, uint16_t slot)
{
	for (unsigned i = 0; i < nrec; i++)
		if (recs[i].state == P_LIVE && recs[i].owner == owner &&
		    recs[i].slot == slot)
			return &recs[i];
	return NULL;
}
static struct mrec *mmio_named(const struct dev_mmio *m)
{
	for (unsigned i = 0; i < nmrec; i++)
		if (mrecs[i].live && mrecs[i].slot == m->slot &&
		    mrecs[i].gen == m->gen)
			return &mrecs[i];
	return NULL;
}
static struct irec *irq_named(const struct irq_cap *c)
{
	for (unsigned i = 0; i < nirec; i++)
		if (irecs[i].live && irecs[i].slot == c->slot &&
		    irecs[i].gen == c->gen)
			return &irecs[i];
	return NULL;
}

static uint64_t pool_charged(uint16_t o)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < nrec; i++)
		if (recs[i].owner == o && recs[i].state != P_DEAD)
			n += recs[i].len;
	for (unsigned i = 0; i < nwh; i++)
		if (whs[i].owner == o && whs[i].charged &&
		    whs[i].kind == DMA_CHARGE_POOL)
			n += whs[i].len;
	return n;
}
static uint64_t shadow_charged(uint16_t o)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < nkarec; i++)
		if (karecs[i].owner == o && karecs[i].state != K_FREED &&
		    karecs[i].charged)
			n += karecs[i].pages * PS;
	for (unsigned i = 0; i < nwh; i++)
		if (whs[i].owner == o && whs[i].charged &&
		    whs[i].kind == DMA_CHARGE_SHADOW)
			n += whs[i].len;
	return n;
}
/* the lowest of a caller's limit (0: none), the owner's and, for owner 2,
 * the IOMMU domain's width */
static uint64_t eff_limit(uint16_t o, uint64_t limit)
{
	uint64_t caps[] = {bound(o) ? mlimit[o] : 0, o == 2 ? 1ull << 39 : 0};
	for (unsigned i = 0; i < 2; i++)
		if (caps[i] && (!limit || caps[i] < limit))
			limit = caps[i];
	return limit;
}
/* can the page allocator give n pages below limit? Asked of the shim
 * itself (it is not under test); a limit above its high window always can
 * (the inputs hold far less than a window) */
static bool pages_below(uint64_t n, uint64_t limit)
{
	if (!n)
		return false;
	if (!limit || limit >= 1ull << 45)
		return true;
	uint64_t pa = page_alloc(n, limit);
	if (pa)
		page_free(pa, n);
	return pa != 0;
}
/* memory handed out is never one of the withheld pages */
static void check_not_withheld(uint64_t base, uint64_t len)
{
	for (unsigned i = 0; i < nwh; i++)
		CHECK(base >= whs[i].base + whs[i].len ||
			  whs[i].base >= base + len,
		      "withheld pages handed out again", base, whs[i].base);
	for (unsigned i = 0; i < nrec; i++)
		CHECK(recs[i].state != P_WITHHELD ||
			  base >= recs[i].base + recs[i].len ||
			  recs[i].base >= base + len,
		      "withheld pool handed out again", base, recs[i].base);
	for (unsigned i = 0; i < nkarec; i++)
		CHECK(karecs[i].state != K_WITHHELD ||
			  base >= karecs[i].pa + karecs[i].pages * PS ||
			  karecs[i].pa >= base + len,
		      "withheld kernel page handed out again", base,
		      karecs[i].pa);
}
static unsigned pools_in(uint16_t o, bool parked_too)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nrec; i++)
		n += recs[i].owner == o &&
		     (recs[i].state == P_LIVE ||
		      (parked_too && recs[i].state == P_PARKED));
	return n;
}
static uint64_t kmem_charged(uint16_t o, unsigned *allocs)
{
	uint64_t n = 0;
	unsigned a = 0;
	for (unsigned i = 0; i < nkrec; i++)
		if (krecs[i].live && krecs[i].owner == o) {
			n += krecs[i].pages * PS;
			a++;
		}
	if (allocs)
		*allocs = a;
	return n;
}
/* live capabilities of owner o: at AUTH_OWNER_SLOTS its next one is
 * refused (over-quota) whatever room the table has */
static unsigned slots_of(uint16_t o)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nmrec; i++)
		n += mrecs[i].live && mrecs[i].owner == o;
	for (unsigned i = 0; i < nirec; i++)
		n += irecs[i].live && irecs[i].owner == o;
	return n;
}
static unsigned slots_live(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nmrec; i++)
		n += mrecs[i].live;
	for (unsigned i = 0; i < nirec; i++)
		n += irecs[i].live;
	return n;
}

/* the table entries an operation may write (bit i of allowed[dev]: entry
 * i): the entry of the interrupt it names, those of an owner it revokes.
 * Any other entry that changes, or a Function Mask set on another
 * function, is a capability operation reaching another's interrupt */
static uint8_t allowed[NDEV];
static uint8_t tbl_before[NDEV][MSIX_N * PCI_MSIX_ENTRY_SIZE];
static bool fm_before[NDEV];

static bool fn_mask_set(unsigned dev)
{
	return cfg[dev][CAP_MSIX + PCI_MSIX_FLAGS + 1] &
	       PCI_MSIX_FLAGS_MASKALL >> 8;
}

/* does a write of entry idx (its mask bit as asked; the message too, or
 * not) take on the device as it is now: decode on or turned on (not with
 * a refused BAR, not when it never sticks), and nothing the device ignores
 * differs from what it holds already */
static bool entry_takes(unsigned dev, unsigned idx, bool masked, bool msg,
			uint8_t vector)
{
	bool on = cfg[dev][PCI_COMMAND] & PCI_COMMAND_MEM;
	if (!on && (refused[dev] || quirks[dev] & Q_STUCK))
		return false;
	const uint8_t *e = bar_dev[dev] + MSIX_OFF + idx * PCI_MSIX_ENTRY_SIZE;
	if (quirks[dev] & Q_MASK &&
	    (bool)(e[PCI_MSIX_ENTRY_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT) !=
		masked)
		return false;
	if (msg && quirks[dev] & Q_MSG &&
	    (get_le(e + PCI_MSIX_ENTRY_ADDR_LO, 4) != MSI_ADDR_BASE ||
	     get_le(e + PCI_MSIX_ENTRY_ADDR_HI, 4) != 0 ||
	     get_le(e + PCI_MSIX_ENTRY_DATA, 4) != vector))
		return false;
	return true;
}

/* an interrupt masked or unmasked in the model: an MSI-X entry's mask
 * bit (the layer's belief: an unmask that does not take leaves it
 * masked), or the MSI function's enable bit */
static void irq_model_mask(struct irec *r, bool mask)
{
	if (r->dev != MSI_DEV) {
		allowed[r->dev] |= (uint8_t)(1u << r->index);
		r->masked = mask || !entry_takes(r->dev, r->index, false, false,
						 r->vector);
	}
	if (r->dev == MSI_DEV) {
		uint16_t fl = cfgm16(r->dev, CAP_MSI + PCI_MSI_FLAGS);
		cfgm_put(r->dev, CAP_MSI + PCI_MSI_FLAGS,
			 mask ? fl & ~PCI_MSI_FLAGS_ENABLE
			      : fl | PCI_MSI_FLAGS_ENABLE,
			 2);
	} else if (mask) {
		*msix_model(r->dev, r->index, PCI_MSIX_ENTRY_CTRL) |=
		    PCI_MSIX_ENTRY_CTRL_MASKBIT;
	} else {
		*msix_model(r->dev, r->index, PCI_MSIX_ENTRY_CTRL) &=
		    (uint8_t)~PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
}

/* an Interrupt the model takes away: its entry masked, its vector free */
static void irq_model_revoke(struct irec *r)
{
	irq_model_mask(r, true);
	r->live = false;
}

/* ---- the oracle ----------------------------------------------------------
 */
static bool model_covers(uint16_t o, uint64_t a, uint64_t len)
{
	for (unsigned i = 0; i < nrec; i++) {
		const struct prec *r = &recs[i];
		if (r->state == P_LIVE && r->owner == o && a >= r->base &&
		    len <= r->len && a - r->base <= r->len - len)
			return true;
	}
	return false;
}

/* The MSI-X tables against what the layer must believe, on any device:
 *  - an interrupt the layer holds masked (never unmasked, masked, an
 *    unmask that did not take) and every entry no live interrupt holds
 *    (revoked, seized with its owner, never bound) is masked in the
 *    device: its entry's mask bit or the function's Function Mask; and
 *    so is every one the kernel's own record says is masked;
 *  - the kernel's record of each live interrupt's mask is the model's
 *    (the device's answer to its writes);
 *  - an entry the device would send by (MSI-X on, neither masked) sends
 *    the message the kernel programmed for the live interrupt there;
 *  - the Function Mask is set only on a function that refused a write,
 *    and for good; memory decode is never on with a refused BAR. */
static void check_msix(void)
{
	CHECK(!decode_refused_on, "memory decode on with a refused BAR", 0, 0);
	for (unsigned d = 0; d < NDEV; d++) {
		if (d == MSI_DEV)
			continue;
		if (devs[d].msix_fn_masked && !fnm[d]) {
			CHECK(!ideal[d],
			      "Function Mask set on a function that took every "
			      "write",
			      d, 0);
			fnm[d] = true;
			cfg_model[d][CAP_MSIX + PCI_MSIX_FLAGS + 1] |=
			    PCI_MSIX_FLAGS_MASKALL >> 8;
		}
		CHECK(devs[d].msix_fn_masked == fnm[d], "Function Mask lifted",
		      d, 0);
		bool fm = fn_mask_set(d);
		bool en = cfg[d][CAP_MSIX + PCI_MSIX_FLAGS + 1] &
			  PCI_MSIX_FLAGS_ENABLE >> 8;
		for (unsigned idx = 0; idx < MSIX_N; idx++) {
			const struct irec *r = NULL;
			for (unsigned i = 0; i < nirec; i++)
				if (irecs[i].live && irecs[i].dev == d &&
				    irecs[i].index == idx)
					r = &irecs[i];
			const uint8_t *e =
			    bar_dev[d] + MSIX_OFF + idx * PCI_MSIX_ENTRY_SIZE;
			bool em = e[PCI_MSIX_ENTRY_CTRL] &
				  PCI_MSIX_ENTRY_CTRL_MASKBIT;
			CHECK(em || fm || (r && !r->masked),
			      "interrupt believed masked is not masked in the "
			      "device",
			      d, idx);
			if (r) {
				const struct auth_slot *k =
				    &auth_slots[r->slot];
				CHECK(
				    em || fm ||
					!(k->masked || devs[d].msix_fn_masked),
				    "interrupt the kernel holds masked is "
				    "not masked in the device",
				    d, idx);
				CHECK(
				    k->masked == r->masked,
				    "kernel's mask record is not the device's "
				    "answer",
				    d, idx);
			}
			if (em || fm || !en)
				continue;
			CHECK(r, "unmasked entry with no interrupt", d, idx);
			uint64_t lo = get_le(e + PCI_MSIX_ENTRY_ADDR_LO, 4),
				 hi = get_le(e + PCI_MSIX_ENTRY_ADDR_HI, 4),
				 data = get_le(e + PCI_MSIX_ENTRY_DATA, 4);
			CHECK(lo == MSI_ADDR_BASE && hi == 0,
			      "unmasked entry sends to another address", idx,
			      lo | hi << 32);
			CHECK(data == r->vector,
			      "unmasked entry sends another message", idx,
			      data);
		}
	}
}

/* no table entry but those the operation named changed (allowed) */
static void snap_tables(void)
{
	for (unsigned d = 0; d < NDEV; d++) {
		allowed[d] = 0;
		if (d == MSI_DEV)
			continue;
		memcpy(tbl_before[d], bar_dev[d] + MSIX_OFF,
		       sizeof(tbl_before[d]));
		fm_before[d] = fn_mask_set(d);
	}
}
static void check_others(void)
{
	for (unsigned d = 0; d < NDEV; d++) {
		if (d == MSI_DEV)
			continue;
		for (unsigned idx = 0; idx < MSIX_N; idx++)
			CHECK(allowed[d] >> idx & 1 ||
				  !memcmp(tbl_before[d] +
					      idx * PCI_MSIX_ENTRY_SIZE,
					  bar_dev[d] + MSIX_OFF +
					      idx * PCI_MSIX_ENTRY_SIZE,
					  PCI_MSIX_ENTRY_SIZE),
			      "an entry the operation did not name changed", d,
			      idx);
		CHECK(allowed[d] || fn_mask_set(d) == fm_before[d],
		      "Function Mask of a function the operation did not name "
		      "changed",
		      d, fm_before[d]);
	}
}

static void check_all(void)
{
	/* the grant tables are the model's live and parked pools */
	for (uint16_t o = 1; o <= NOWN; o++) {
		struct dma_owner *acct = dma_owner_acct(o);
		unsigned live = 0;
		for (uint16_t k = 0; k < GRANT_MAX; k++) {
			const struct dma_grant *g = &acct->grants.g[k];
			if (!g->live && !g->parked)
				continue;
			struct prec *r = NULL;
			for (unsigned i = 0; i < nrec && !r; i++)
				if (held(&recs[i]) && recs[i].owner == o &&
				    recs[i].slot == k)
					r = &recs[i];
			CHECK(r, "grant the model does not hold", o, k);
			CHECK(r->gen == g->gen && r->base == g->base &&
				  r->len == g->len,
			      "grant differs from the pool", g->base, r->base);
			CHECK(g->live == (r->state == P_LIVE) &&
				  g->parked == (r->state == P_PARKED),
			      "grant state", k, r->state);
			CHECK(g->pins == r->pins, "pins", g->pins, r->pins);
			live += g->live;
		}
		CHECK(live == pools_in(o, false), "pools missing from grants",
		      o, live);
		CHECK(dma_owner_ngrants(acct) == live, "ngrants", o, live);
		/* charges: the model's sums, within the quotas */
		unsigned allocs;
		uint64_t km = kmem_charged(o, &allocs);
		CHECK(acct->use[DMA_CHARGE_POOL] == pool_charged(o),
		      "pool charge drifts", acct->use[DMA_CHARGE_POOL],
		      pool_charged(o));
		CHECK(acct->use[DMA_CHARGE_KMEM] == km, "kmem charge drifts",
		      acct->use[DMA_CHARGE_KMEM], km);
		CHECK(acct->use[DMA_CHARGE_SHADOW] == shadow_charged(o),
		      "shadow charge drifts", acct->use[DMA_CHARGE_SHADOW],
		      shadow_charged(o));
		CHECK(auth_owner_dma_limit(o) == mlimit[o], "owner limit",
		      auth_owner_dma_limit(o), mlimit[o]);
		CHECK(hook_calls[o] == hook_want[o], "revoke hook calls",
		      hook_calls[o], hook_want[o]);
		for (int c = 0; c < DMA_CHARGE_N; c++)
			CHECK(acct->use[c] <= acct->max[c], "over quota",
			      acct->use[c], acct->max[c]);
		CHECK(auth_owner_revoked(o) == revoked[o], "revoked flag", o,
		      revoked[o]);
	}
	/* pages out (before any is touched: a page freed under the model
	 * faults), no overlap, tags */
	uint64_t pages = 0;
	for (unsigned i = 0; i < nrec; i++)
		pages += recs[i].state == P_DEAD ? 0 : recs[i].len / PS;
	for (unsigned i = 0; i < nkrec; i++)
		pages += krecs[i].live ? krecs[i].pages : 0;
	for (unsigned i = 0; i < nkarec; i++)
		pages += karecs[i].state == K_FREED ? 0 : karecs[i].pages;
	CHECK(shim_pages_in_use - pages_base == pages, "pages out",
	      shim_pages_in_use - pages_base, pages);
	for (unsigned i = 0; i < nrec; i++) {
		const struct prec *r = &recs[i];
		if (r->state == P_DEAD)
			continue;
		const volatile uint8_t *va = (uint8_t *)(uintptr_t)r->base;
		CHECK(va[0] == r->tag && va[r->len - 1] == r->tag,
		      "pool memory changed under its owner", r->base, r->tag);
		for (unsigned j = 0; j < i; j++)
			CHECK(recs[j].state == P_DEAD ||
				  recs[j].base >= r->base + r->len ||
				  r->base >= recs[j].base + recs[j].len,
			      "two pools overlap", r->base, recs[j].base);
	}
	for (unsigned i = 0; i < nkrec; i++) {
		const struct krec *k = &krecs[i];
		if (!k->live)
			continue;
		const volatile uint8_t *va = (uint8_t *)(uintptr_t)k->pa;
		CHECK(va[0] == k->tag && va[k->pages * PS - 1] == k->tag,
		      "kernel memory changed under its owner", k->pa, k->tag);
		for (unsigned j = 0; j < nrec; j++)
			CHECK(recs[j].state == P_DEAD ||
				  recs[j].base >= k->pa + k->pages * PS ||
				  k->pa >= recs[j].base + recs[j].len,
			      "kernel memory overlaps a pool", k->pa,
			      recs[j].base);
	}
	for (unsigned i = 0; i < nkarec; i++) {
		const struct karec *k = &karecs[i];
		if (k->state == K_FREED)
			continue;
		const volatile uint8_t *va = (uint8_t *)(uintptr_t)k->pa;
		CHECK(va[0] == k->tag && va[k->pages * PS - 1] == k->tag,
		      "kernel DMA page changed under the kernel", k->pa,
		      k->tag);
	}
	/* the IOMMU maps owner 2's live pools (read and write) and the live
	 * kernel pages made for it (as asked), nothing else: not a withheld
	 * page, whatever the unit confirmed */
	uint64_t mapped = 0;
	for (unsigned i = 0; i < nrec; i++)
		if (recs[i].owner == 2 && recs[i].state == P_LIVE) {
			mapped += recs[i].len / PS;
			CHECK(shim_iommu_perm(recs[i].base) ==
				      (IOMMU_READ | IOMMU_WRITE) &&
				  shim_iommu_perm(recs[i].base + recs[i].len -
						  PS) ==
				      (IOMMU_READ | IOMMU_WRITE),
			      "pool mapped", recs[i].base,
			      shim_iommu_perm(recs[i].base));
		}
	for (unsigned i = 0; i < nkarec; i++)
		if (karecs[i].owner == 2 && karecs[i].state == K_LIVE) {
			const struct karec *k = &karecs[i];
			mapped += k->pages;
			CHECK(shim_iommu_perm(k->pa) == k->perm &&
				  shim_iommu_perm(k->pa + (k->pages - 1) *
							      PS) == k->perm,
			      "kernel page mapped", k->pa,
			      shim_iommu_perm(k->pa));
		}
	CHECK(shim_iommu_mapped() == mapped, "iommu mapped",
	      shim_iommu_mapped(), mapped);
	CHECK(shim_iommu_violations == 0, "iommu violations",
	      shim_iommu_violations, 0);
	/* dma_owner_covers of the last pools, for every owner id */
	for (unsigned i = nrec > 12 ? nrec - 12 : 0; i < nrec; i++) {
		const struct prec *r = &recs[i];
		for (uint16_t o = 0; o <= NOWN + 1; o++) {
			CHECK(dma_owner_covers(o, r->base, r->len) ==
				  model_covers(o, r->base, r->len),
			      "covers", r->base, o);
			CHECK(dma_owner_covers(o, r->base + r->len - 1, 2) ==
				  model_covers(o, r->base + r->len - 1, 2),
			      "covers past the end", r->base, o);
		}
	}
	check_msix();
	/* what revocation is for, asked of the devices themselves and not of
	 * the model: no function naming a revoked owner, and no function
	 * that is not its owner's, masters the bus */
	for (unsigned d = 0; d < NDEV; d++) {
		uint16_t o = devs[d].owner;
		if (cfg[d][PCI_COMMAND] & PCI_COMMAND_MASTER)
			CHECK(own_fn(d, o) && !revoked[o] && !devs[d].fenced,
			      "bus mastering on with the owner revoked, on no "
			      "owner's function or on a fenced one",
			      d, o);
	}
	/* configuration space: the Command register, MSI-X enables and
	 * Function Masks, the MSI capability */
	for (unsigned d = 0; d < NDEV; d++)
		if (memcmp(cfg[d], cfg_model[d], sizeof(cfg[d]))) {
			unsigned b = 0;
			while (cfg[d][b] == cfg_model[d][b])
				b++;
			oracle("config byte differs", d, b);
		}
	/* the BARs: the guards untouched, the mapping all ones or the
	 * device's memory as decode is, the device's memory the model's (its
	 * MSI-X table too while the function is ideal) */
	for (unsigned d = 0; d < NDEV; d++) {
		CHECK(!memcmp(bar_mem[d], bar_model[d], GUARD) &&
			  !memcmp(bar_mem[d] + GUARD + BAR_LEN,
				  bar_model[d] + GUARD + BAR_LEN, GUARD),
		      "BAR guard bytes changed", d, 0);
		CHECK(decode[d] ==
			  (bool)(cfg[d][PCI_COMMAND] & PCI_COMMAND_MEM),
		      "decode is not the Command register's", d, decode[d]);
		static uint8_t ones[BAR_LEN];
		if (!ones[0])
			memset(ones, 0xff, sizeof(ones));
		const uint8_t *vis = decode[d] ? bar_dev[d] : ones;
		if (memcmp(bar_mem[d] + GUARD, vis, BAR_LEN)) {
			unsigned b = 0;
			while (bar_mem[d][GUARD + b] == vis[b])
				b++;
			oracle("BAR mapping is not the device (a write past "
			       "it?)",
			       d, b);
		}
		unsigned t0 = MSIX_OFF,
			 t1 = d == MSI_DEV || ideal[d]
				  ? MSIX_OFF
				  : MSIX_OFF + MSIX_N * PCI_MSIX_ENTRY_SIZE;
		if (memcmp(bar_dev[d], bar_model[d] + GUARD, t0) ||
		    memcmp(bar_dev[d] + t1, bar_model[d] + GUARD + t1,
			   BAR_LEN - t1)) {
			unsigned b = 0;
			while ((b >= t0 && b < t1) ||
			       bar_dev[d][b] == bar_model[d][GUARD + b])
				b++;
			oracle("BAR byte (offset from the BAR) differs", d, b);
		}
	}
	/* the authority table */
	for (uint16_t s = 1; s < AUTH_SLOTS; s++) {
		const struct auth_slot *k = &auth_slots[s];
		const struct mrec *m =
		    mmio_named(&(struct dev_mmio){.slot = s, .gen = k->gen});
		const struct irec *q =
		    irq_named(&(struct irq_cap){.slot = s, .gen = k->gen});
		if (k->kind == AUTH_FREE) {
			CHECK(!m && !q, "slot freed under a capability", s,
			      k->gen);
			continue;
		}
		CHECK(k->kind == AUTH_MMIO ? m && m->owner == k->owner
					   : q && q->owner == k->owner,
		      "slot the model does not hold", s, k->kind);
	}
	unsigned held = 0;
	for (unsigned v = 0; v < 256; v++)
		held += host_vectors[v].fn != NULL;
	unsigned want = 0;
	for (unsigned i = 0; i < nirec; i++)
		if (irecs[i].live) {
			want++;
			CHECK(host_vectors[irecs[i].vector].fn,
			      "live interrupt lost its vector", irecs[i].slot,
			      irecs[i].vector);
		}
	CHECK(held == want, "vectors held", held, want);
	CHECK(host_vector_bad_frees == 0, "vector freed twice",
	      host_vector_bad_frees, 0);
}

/* ---- the input ------------------------------------------------------------
 */
static const uint8_t *in;
static size_t inlen, pos;
static uint8_t next(void)
{
	return pos < inlen ? in[pos++] : 0;
}
static uint32_t next32(void)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | next();
	return v;
}
static uint16_t owner_sel(void)
{
	return next() % (NOWN + 2);
}

/* ---- DMAPool -------------------------------------------------------------
 */
static void op_pool_create(void)
{
	uint16_t o = owner_sel();
	uint8_t k = next(), b = next(), l = next();
	unsigned dst = next() % NPC;
	size_t len;
	switch (k % 4) {
	case 0:
		len = b;
		break;
	case 1:
		len = (size_t)(b % 8 + 1) * PS;
		break;
	case 2:
		len = (size_t)(b % 4 + 1) << (o == 2 ? 16 : 23);
		break;
	default: /* the rest of the quota, a page under or over it */
		len = DMA_OWNER_POOL_MAX - pool_charged(o) + (b % 3) * PS - PS;
		/* the shim's IOMMU maps page by page in a list, slowly: owner
		 * 2 meets its quota with a page too many only */
		if (o == 2)
			len = DMA_OWNER_POOL_MAX - pool_charged(o) + PS;
		break;
	}
	/* none, wide, the low window, its first 128 MiB, below every page */
	static const uint64_t limits[] = {0, 1ull << 32, 1ull << 52, 0x10000000,
					  0x100000};
	uint64_t limit = limits[l % 5];
	size_t pages = ALIGN_UP(len, PS) / PS;
	bool must_fail = !bound(o) || !pages || revoked[o] ||
			 pools_in(o, false) >= GRANT_MAX ||
			 pages > (DMA_OWNER_POOL_MAX - pool_charged(o)) / PS;
	/* the pool lies below the caller's limit, the owner's and its
	 * domain's: no memory there, no pool */
	uint64_t eff = eff_limit(o, limit);
	must_fail = must_fail || !pages_below(pages, eff);
	bool may = !must_fail && pools_in(o, true) < GRANT_MAX && nrec < MAXREC;
	TRACE("pool_create owner %u len 0x%zx limit 0x%llx -> pc%u\n", o, len,
	      (unsigned long long)limit, dst);
	if (!may && !must_fail)
		return; /* the model would lose track */
	driver_step(o);
	/* a map that fails part-way refuses the pool; when the unit did
	 * not confirm the undo its pages may still be reached: withheld,
	 * and still charged */
	bool map_fails = may && o == 2 && fail_map && pages > 1;
	int r = dma_pool_create(o, len, limit, &pc[dst]);
	CHECK(r == 0 || !may || map_fails, "pool create refused", o, len);
	CHECK(r != 0 || !(must_fail || map_fails), "pool create allowed", o,
	      len);
	if (r) {
		CHECK(pc[dst].len == 0 && pc[dst].va == NULL,
		      "refused create left a pool", o, pc[dst].len);
		if (map_fails && fail_unmap) {
			uint64_t pa = shim_iommu_failed_pa;
			check_not_withheld(pa, pages * PS);
			recs[nrec++] = (struct prec){.owner = o,
						     .base = pa,
						     .len = pages * PS,
						     .state = P_WITHHELD};
		}
		return;
	}
	struct dma_pool *p = &pc[dst];
	uint64_t lim = eff ? eff : UINT64_MAX;
	CHECK(p->owner == o && p->len == pages * PS &&
		  (uint64_t)(uintptr_t)p->va == p->iova && p->iova % PS == 0 &&
		  p->iova + p->len <= lim && p->used == 0,
	      "pool create gave", p->iova, p->len);
	CHECK(p->va[0] == 0 && p->va[p->len / 2] == 0 && p->va[p->len - 1] == 0,
	      "pool not zeroed", p->iova, 0);
	check_not_withheld(p->iova, p->len);
	struct prec *n = &recs[nrec++];
	*n = (struct prec){.owner = o,
			   .slot = p->slot,
			   .gen = p->gen,
			   .base = p->iova,
			   .len = p->len,
			   .state = P_LIVE,
			   .tag = (uint8_t)(nrec * 13 + 1)};
	p->va[0] = p->va[p->len - 1] = n->tag;
}

static void op_pool_revoke(void)
{
	unsigned i = next() % NPC;
	struct prec *r = pool_named(&pc[i]);
	bool ok = r && (r->state == P_PARKED || r->pins == 0);
	/* a live pool the unit does not confirm unmapped: revoked, but its
	 * pages withheld and still charged; the call says -1 */
	bool withheld = ok && r->state == P_LIVE && r->owner == 2 && fail_unmap;
	TRACE("pool_revoke pc%u (owner %u slot %u gen %u)%s\n", i, pc[i].owner,
	      pc[i].slot, pc[i].gen, withheld ? " withheld" : "");
	driver_step(0);
	int got = dma_pool_revoke(&pc[i]);
	CHECK((got == 0) == (ok && !withheld), "pool revoke", got, ok);
	if (ok)
		r->state = withheld ? P_WITHHELD : P_DEAD;
}

static void op_pool_carve(void)
{
	unsigned i = next() % NPC;
	uint8_t k = next(), b = next(), a = next();
	static const size_t aligns[] = {0, 1, 3, 8, 64, 4096, 1u << 20, 6};
	size_t len, align = aligns[a % 8];
	switch (k % 4) {
	case 0:
		len = 0;
		break;
	case 1:
		len = b + 1u;
		break;
	case 2:
		len = (size_t)(b % 16 + 1) * 512;
		break;
	default:
		len = SIZE_MAX - b;
		break;
	}
	struct prec *r = pool_named(&pc[i]);
	bool may = r && r->state == P_LIVE && !revoked[r->owner];
	struct dma_buf buf;
	TRACE("pool_carve pc%u len 0x%zx align %zu\n", i, len, align);
	driver_step(0);
	if (dma_pool_carve(&pc[i], len, align, &buf) != 0)
		return;
	CHECK(may, "carve through a dead, parked or revoked pool", pc[i].iova,
	      r ? r->state : 9);
	size_t eff = align && !(align & (align - 1)) ? align : 8;
	CHECK(buf.len == len && buf.iova >= r->base && len <= r->len &&
		  buf.iova - r->base <= r->len - len,
	      "carve outside its pool", buf.iova, r->base);
	CHECK((uint64_t)(uintptr_t)buf.va == buf.iova, "carve va != iova",
	      (uintptr_t)buf.va, buf.iova);
	CHECK((buf.iova - r->base) % eff == 0, "carve misaligned", buf.iova,
	      eff);
}

static void op_pool_forge(void)
{
	unsigned s = next() % NPC, d = next() % NPC;
	uint8_t f = next(), v = next();
	struct dma_pool *p = &pc[d], *o = &pc[v % NPC];
	pc[d] = pc[s];
	switch (f % 8) {
	case 0:
		p->va = o->va, p->iova = o->iova;
		break;
	case 1:
		p->iova += ((int64_t)v - 128) * PS;
		if (v & 1) /* no pointer arithmetic: va may be NULL */
			p->va = (uint8_t *)((uintptr_t)p->va +
					    ((int64_t)v - 128) * PS);
		break;
	case 2: {
		const size_t lens[] = {o->len, p->len + (v / 4 + 1) * PS, 0,
				       SIZE_MAX - v};
		p->len = lens[v % 4];
		break;
	}
	case 3: {
		const size_t used[] = {0, p->len, SIZE_MAX - v};
		p->used = used[v % 3];
		break;
	}
	case 4: {
		const uint16_t slots[] = {(uint16_t)(p->slot + 1),
					  (uint16_t)(p->slot - 1), o->slot, v};
		p->slot = slots[v % 4];
		break;
	}
	case 5: {
		const uint32_t gens[] = {p->gen + 1, p->gen - 1, o->gen};
		p->gen = gens[v % 3];
		break;
	}
	case 6:
		p->owner = v % (NOWN + 2);
		break;
	default: /* a copy kept from any pool the input ever made */
		if (nrec) {
			const struct prec *r = &recs[v % nrec];
			*p = (struct dma_pool){
			    .va = (uint8_t *)(uintptr_t)r->base,
			    .iova = r->base,
			    .len = r->len,
			    .slot = r->slot,
			    .gen = r->gen,
			    .owner = r->owner};
		}
		break;
	}
	TRACE("pool_forge pc%u -> pc%u field %u (owner %u slot %u gen %u len "
	      "0x%zx)\n",
	      s, d, f % 8, p->owner, p->slot, p->gen, p->len);
}

/* the kernel's pins (a command in flight) on whatever holds a slot now */
static void op_pin(bool pin)
{
	if (!nrec)
		return;
	const struct prec *r = &recs[next() % nrec];
	struct prec *l = live_on_slot(r->owner, r->slot);
	struct grant_table *t = &dma_owner_acct(r->owner)->grants;
	TRACE("%s owner %u slot %u\n", pin ? "pin" : "unpin", r->owner,
	      r->slot);
	bool got = pin ? grant_pin(t, r->slot) : grant_unpin(t, r->slot);
	bool want = l && (pin || l->pins);
	CHECK(got == want, pin ? "pin" : "unpin", got, want);
	if (got)
		l->pins += pin ? 1 : -1;
}

/* ---- DeviceMmio ----------------------------------------------------------
 */
static void op_mmio_grant(void)
{
	unsigned dev = next() % NDEV;
	uint16_t o = owner_sel();
	uint8_t b = next(), fo = next(), fl = next(), fv = next();
	unsigned dst = next() % NMC;
	static const unsigned bars[] = {0, 0, 0, 1, 6};
	static const uint32_t offs[] = {
	    0,	    0x100,  0xff0, 0xfc0,  0x1040,	0x17f8, 0x1808, 0x1ff0,
	    0x2000, 0x1f00, 0x400, 0x1800, 0xfffffff0u, 0x1000, 0x800,	0x1c00};
	static const uint32_t lens[] = {4,	0x10,	0x100,	    0x40,
					0x1000, 0x2000, 0,	    0xffffffffu,
					0x8,	0x3c0,	0x10000010, 0x200};
	/* the top two bits of fo start the window 1, 2 or 4 bytes past an
	 * 8-byte boundary: accesses are aligned on the device, not in it */
	static const uint32_t skews[] = {0, 1, 2, 4};
	unsigned bar = bars[b % 5];
	uint32_t off = offs[fo % 16] + (fo / 16 % 4) * 8 + skews[fo / 64];
	uint32_t len = lens[fv % 12];
	uint32_t flags = fl % 4;
	uint64_t end = (uint64_t)off + len;
	bool fits = bar == 0 && len && end <= BAR_LEN &&
		    (dev == MSI_DEV ||
		     (!(off < MSIX_OFF + MSIX_N * PCI_MSIX_ENTRY_SIZE &&
			MSIX_OFF < end) &&
		      !(off < PBA_OFF + PBA_LEN && PBA_OFF < end)));
	bool want = own_fn(dev, o) && o != 3 && !revoked[o] && fits;
	TRACE("mmio_grant dev %u owner %u bar %u [0x%x,+0x%x) flags %u -> "
	      "mc%u\n",
	      dev, o, bar, off, len, flags, dst);
	if (want && nmrec >= MAXREC)
		return;
	driver_step(o);
	/* the owner at its AUTH_OWNER_SLOTS, or the table full (every slot
	 * but 0 a live capability): a grant that would pass is refused,
	 * counted, and nothing is granted */
	bool quota = want && slots_of(o) >= AUTH_OWNER_SLOTS;
	bool full = want && !quota && slots_live() >= AUTH_SLOTS - 1;
	uint64_t full0 = auth_slots_full,
		 over0 = auth_refusals[AUTH_OVER_QUOTA];
	want = want && !full && !quota;
	int r = mmio_grant(&devs[dev], o, bar, off, len, flags, &mc[dst]);
	CHECK((r == 0) == want, "mmio grant", r, want);
	CHECK(auth_slots_full == full0 + full, "full table refusals",
	      auth_slots_full - full0, full);
	CHECK(auth_refusals[AUTH_OVER_QUOTA] == over0 + quota,
	      "owner slot quota refusals",
	      auth_refusals[AUTH_OVER_QUOTA] - over0, quota);
	if (r) {
		CHECK(mc[dst].len == 0 && mc[dst].slot == 0,
		      "refused grant left a window", mc[dst].slot, 0);
		return;
	}
	const struct dev_mmio *m = &mc[dst];
	CHECK(m->len == len && m->flags == flags &&
		  m->phys == BAR_PA + dev * 0x10000ull + off &&
		  m->va == bar_mem[dev] + GUARD + off,
	      "mmio grant gave", m->phys, m->len);
	mrecs[nmrec++] = (struct mrec){.dev = dev,
				       .off = off,
				       .len = len,
				       .flags = flags,
				       .slot = m->slot,
				       .owner = o,
				       .gen = m->gen,
				       .live = true};
}

static void op_mmio_access(void)
{
	unsigned i = next() % NMC;
	uint8_t w8 = next(), os = next(), ov = next();
	uint64_t val = (uint64_t)next32() << 32 | next32();
	static const unsigned widths[] = {1, 2, 4, 8};
	unsigned w = widths[w8 % 4];
	bool write = w8 & 4;
	const struct dev_mmio *c = &mc[i];
	const uint32_t offs[] = {ov,	      c->len - w,  c->len,
				 c->len - 1,  0xfffffffcu, 0x1000u + ov,
				 c->len + ov, ov * 4u};
	/* bit 7 of os: the offset 4 GiB further (the accessors take 64
	 * bits; cut to 32 it would land in the window) */
	uint64_t off = offs[os % 8] + (os & 0x80 ? 1ull << 32 : 0);
	const struct mrec *r = mmio_named(c);
	/* aligned on the device: the window's BAR offset plus off (BAR_PA
	 * is page-aligned), a 64-bit access as two 4-byte halves */
	bool ok = r && off + w <= r->len &&
		  (r->off + off) % (w > 4 ? 4 : w) == 0 &&
		  (r->flags & (write ? MMIO_WRITE : MMIO_READ));
	uint64_t before = 0, after = 0;
	for (int k = 0; k < AUTH_NREASONS; k++)
		before += auth_refusals[k];
	TRACE("mmio %s%u mc%u off 0x%lx (slot %u gen %u) -> %s\n",
	      write ? "write" : "read", w * 8, i, off, c->slot, c->gen,
	      ok ? "ok" : "refused");
	driver_step(0);
	CHECK(mmio_ok(c, off, w, write) == ok, "mmio_ok", off, ok);
	uint8_t *mb = ok ? bar_model[r->dev] + GUARD + r->off + off : NULL;
	uint64_t mask = w == 8 ? ~0ull : (1ull << 8 * w) - 1;
	if (write) {
		bool got;
		switch (w) {
		case 1:
			got = mmio_write8(c, off, (uint8_t)val);
			break;
		case 2:
			got = mmio_write16(c, off, (uint16_t)val);
			break;
		case 4:
			got = mmio_write32(c, off, (uint32_t)val);
			break;
		default:
			got = mmio_write64(c, off, val);
			break;
		}
		CHECK(got == ok, "mmio write", off, ok);
		/* the device keeps it, or loses it with decode off */
		uint8_t *vis =
		    ok ? bar_mem[r->dev] + GUARD + r->off + off : NULL;
		if (ok && decode[r->dev]) {
			put_le(mb, val, w);
			memcpy(bar_dev[r->dev] + r->off + off, vis, w);
		} else if (ok) {
			memset(vis, 0xff, w);
		}
	} else {
		uint64_t got;
		switch (w) {
		case 1:
			got = mmio_read8(c, off);
			break;
		case 2:
			got = mmio_read16(c, off);
			break;
		case 4:
			got = mmio_read32(c, off);
			break;
		default:
			got = mmio_read64(c, off);
			break;
		}
		uint64_t want = ok && decode[r->dev] ? get_le(mb, w) : mask;
		CHECK(got == want, "mmio read", got, want);
	}
	for (int k = 0; k < AUTH_NREASONS; k++)
		after += auth_refusals[k];
	CHECK(after - before == !ok, "refusals counted", after - before, ok);
}

static void op_mmio_revoke(void)
{
	unsigned i = next() % NMC;
	struct mrec *r = mmio_named(&mc[i]);
	TRACE("mmio_revoke mc%u (slot %u gen %u)\n", i, mc[i].slot, mc[i].gen);
	driver_step(0);
	mmio_revoke(&mc[i]);
	if (r)
		r->live = false;
}

static void op_mmio_forge(void)
{
	unsigned s = next() % NMC, d = next() % NMC;
	uint8_t f = next(), v = next();
	struct dev_mmio *m = &mc[d];
	const struct dev_mmio *o = &mc[v % NMC];
	mc[d] = mc[s];
	switch (f % 8) {
	case 0:
		m->va = v & 1 ? o->va : bar_mem[v % NDEV] + GUARD;
		break;
	case 1:
		m->phys = v & 1 ? o->phys : BAR_PA;
		break;
	case 2: {
		const uint32_t lens[] = {o->len, BAR_LEN, 0xffffffffu,
					 m->len + 4};
		m->len = lens[v % 4];
		break;
	}
	case 3:
		m->flags = v % 4;
		break;
	case 4: {
		const uint16_t slots[] = {(uint16_t)(m->slot + 1),
					  (uint16_t)(m->slot - 1), o->slot, v};
		m->slot = slots[v % 4];
		break;
	}
	case 5: {
		const uint32_t gens[] = {m->gen + 1, m->gen - 1, o->gen};
		m->gen = gens[v % 3];
		break;
	}
	case 6: /* an Interrupt's slot and generation */
		m->slot = ic[v % NIC].slot, m->gen = ic[v % NIC].gen;
		break;
	default: /* a copy of any window the input was ever granted */
		if (nmrec) {
			const struct mrec *r = &mrecs[v % nmrec];
			*m = (struct dev_mmio){
			    .va = bar_mem[r->dev] + GUARD + r->off,
			    .phys = BAR_PA + r->dev * 0x10000ull + r->off,
			    .len = r->len,
			    .flags = r->flags,
			    .slot = r->slot,
			    .gen = r->gen};
		}
		break;
	}
	TRACE("mmio_forge mc%u -> mc%u field %u (slot %u gen %u len 0x%x)\n", s,
	      d, f % 8, m->slot, m->gen, m->len);
}

/* ---- Interrupt ----------------------------------------------------------- */
static struct irec *fired;
static void irq_handler(void *arg)
{
	fired = arg;
}

static void op_irq_bind(void)
{
	unsigned dev = next() % NDEV;
	uint16_t o = owner_sel();
	unsigned idx = next() % (MSIX_N + 2);
	unsigned dst = next() % NIC;
	bool taken = false;
	for (unsigned i = 0; i < nirec; i++)
		taken |= irecs[i].live && irecs[i].dev == dev &&
			 irecs[i].index == idx;
	/* an MSI-X entry of the table, or the MSI function's one message;
	 * not on a function whose Function Mask the kernel set for good */
	bool want = own_fn(dev, o) && idx < (dev == MSI_DEV ? 1 : MSIX_N) &&
		    !revoked[o] && !(o == 2 && quar2) && !taken && !fnm[dev];
	TRACE("irq_bind dev %u owner %u entry %u -> ic%u\n", dev, o, idx, dst);
	if (want && nirec >= MAXREC)
		return;
	driver_step(o);
	/* the owner at its AUTH_OWNER_SLOTS, or the table full: refused
	 * before anything is taken (no vector, the entry untouched: the table
	 * checks after every step hold it) */
	bool quota = want && slots_of(o) >= AUTH_OWNER_SLOTS;
	bool full = want && !quota && slots_live() >= AUTH_SLOTS - 1;
	uint64_t full0 = auth_slots_full,
		 over0 = auth_refusals[AUTH_OVER_QUOTA];
	want = want && !full && !quota;
	/* the entry is written (masked, the message of the vector
	 * vector_alloc gives: the lowest free) and read back: a write the
	 * device does not take is refused */
	if (want && dev != MSI_DEV) {
		uint8_t nv = HOST_VECTOR_FIRST;
		while (nv < HOST_VECTOR_LAST && host_vectors[nv].fn)
			nv++;
		allowed[dev] |= (uint8_t)(1u << idx);
		want = entry_takes(dev, idx, true, true, nv);
	}
	struct irec *n = &irecs[nirec];
	int r = irq_bind(&devs[dev], o, idx, irq_handler, n, &ic[dst]);
	CHECK((r == 0) == want, "irq bind", r, want);
	CHECK(auth_slots_full == full0 + full, "full table refusals",
	      auth_slots_full - full0, full);
	CHECK(auth_refusals[AUTH_OVER_QUOTA] == over0 + quota,
	      "owner slot quota refusals",
	      auth_refusals[AUTH_OVER_QUOTA] - over0, quota);
	if (r) {
		CHECK(ic[dst].slot == 0, "refused bind left a capability",
		      ic[dst].slot, 0);
		return;
	}
	const struct irq_cap *c = &ic[dst];
	CHECK(c->msix_index == idx && c->vector >= HOST_VECTOR_FIRST &&
		  host_vectors[c->vector].fn,
	      "irq bind gave", c->msix_index, c->vector);
	*n = (struct irec){.dev = dev,
			   .index = idx,
			   .slot = c->slot,
			   .owner = o,
			   .gen = c->gen,
			   .vector = c->vector,
			   .live = true,
			   .masked = true};
	nirec++;
	if (dev == MSI_DEV) {
		/* address, data, one message (MME 0), disabled until unmask */
		uint16_t fl = cfgm16(dev, CAP_MSI + PCI_MSI_FLAGS);
		cfgm_put(dev, CAP_MSI + PCI_MSI_ADDR_LO, MSI_ADDR_BASE, 4);
		if (msi64) {
			cfgm_put(dev, CAP_MSI + PCI_MSI_ADDR_HI, 0, 4);
			cfgm_put(dev, CAP_MSI + PCI_MSI_DATA_64, c->vector, 2);
		} else {
			cfgm_put(dev, CAP_MSI + PCI_MSI_DATA_32, c->vector, 2);
		}
		cfgm_put(dev, CAP_MSI + PCI_MSI_FLAGS,
			 fl & ~0x70 & ~PCI_MSI_FLAGS_ENABLE, 2);
		return;
	}
	*msix_model(dev, idx, PCI_MSIX_ENTRY_CTRL) |=
	    PCI_MSIX_ENTRY_CTRL_MASKBIT;
	put_le(msix_model(dev, idx, PCI_MSIX_ENTRY_ADDR_LO), MSI_ADDR_BASE, 4);
	put_le(msix_model(dev, idx, PCI_MSIX_ENTRY_ADDR_HI), 0, 4);
	put_le(msix_model(dev, idx, PCI_MSIX_ENTRY_DATA), c->vector, 4);
	/* MSI-X on, the function's mask-all off */
	uint16_t fl = cfgm16(dev, CAP_MSIX + PCI_MSIX_FLAGS);
	cfgm_put(dev, CAP_MSIX + PCI_MSIX_FLAGS,
		 (fl | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL, 2);
}

static void op_irq_use(void)
{
	unsigned i = next() % NIC, k = next() % 4;
	struct irec *r = irq_named(&ic[i]);
	static const char *const what[] = {"mask", "unmask", "revoke", "count"};
	TRACE("irq_%s ic%u (slot %u gen %u entry %u vector 0x%x)\n", what[k], i,
	      ic[i].slot, ic[i].gen, ic[i].msix_index, ic[i].vector);
	driver_step(0);
	/* the model first: it asks the device as it is before the write */
	switch (k) {
	case 0:
		if (r)
			irq_model_mask(r, true);
		irq_mask(&ic[i]);
		break;
	case 1:
		if (r)
			irq_model_mask(r, false);
		irq_unmask(&ic[i]);
		break;
	case 2:
		if (r)
			irq_model_revoke(r);
		irq_revoke(&ic[i]);
		break;
	default: {
		uint64_t got = irq_count(&ic[i]);
		CHECK(got == (r ? r->count : 0), "irq count", got,
		      r ? r->count : 0);
		break;
	}
	}
}

static void op_irq_forge(void)
{
	unsigned s = next() % NIC, d = next() % NIC;
	uint8_t f = next(), v = next();
	struct irq_cap *c = &ic[d];
	const struct irq_cap *o = &ic[v % NIC];
	ic[d] = ic[s];
	switch (f % 6) {
	case 0: {
		const uint16_t slots[] = {(uint16_t)(c->slot + 1),
					  (uint16_t)(c->slot - 1), o->slot, v};
		c->slot = slots[v % 4];
		break;
	}
	case 1: {
		const uint32_t gens[] = {c->gen + 1, c->gen - 1, o->gen};
		c->gen = gens[v % 3];
		break;
	}
	case 2: {
		const uint16_t idx[] = {o->msix_index, v % 8, 200, 0xffff};
		c->msix_index = idx[v % 4];
		break;
	}
	case 3:
		c->vector = v & 1 ? o->vector : v;
		break;
	case 4: /* a DeviceMmio's slot and generation */
		c->slot = mc[v % NMC].slot, c->gen = mc[v % NMC].gen;
		break;
	default: /* a copy of any Interrupt the input ever bound */
		if (nirec) {
			const struct irec *r = &irecs[v % nirec];
			*c = (struct irq_cap){.slot = r->slot,
					      .gen = r->gen,
					      .msix_index = (uint16_t)r->index,
					      .vector = r->vector};
		}
		break;
	}
	TRACE("irq_forge ic%u -> ic%u field %u (slot %u gen %u entry %u "
	      "vector 0x%x)\n",
	      s, d, f % 6, c->slot, c->gen, c->msix_index, c->vector);
}

static void op_irq_fire(void)
{
	uint8_t v = next();
	uint8_t vec = HOST_VECTOR_FIRST + v % 16;
	if (v & 0x80 && nirec)
		vec = irecs[v % nirec].vector;
	struct irec *want = NULL;
	for (unsigned i = 0; i < nirec; i++)
		if (irecs[i].live && irecs[i].vector == vec)
			want = &irecs[i];
	TRACE("fire vector 0x%x\n", vec);
	fired = NULL;
	bool got = host_vector_fire(vec);
	CHECK(got == (want != NULL), "vector held", vec, got);
	CHECK(fired == want, "vector reached another handler", vec,
	      want ? want->slot : 0);
	if (want)
		want->count++;
}

/* the model's answer to irq_masked: MSI-X, the mask the layer holds (the
 * device's answer to its last write) or the Function Mask, either the
 * kernel's for good or the Message Control bit; MSI, the enable bit */
static bool irq_model_masked(const struct irec *r)
{
	if (r->dev == MSI_DEV)
		return !(cfgm16(r->dev, CAP_MSI + PCI_MSI_FLAGS) &
			 PCI_MSI_FLAGS_ENABLE);
	return r->masked || fnm[r->dev] ||
	       (cfgm16(r->dev, CAP_MSIX + PCI_MSIX_FLAGS) &
		PCI_MSIX_FLAGS_MASKALL);
}

/* irq_raise, as the NVMe broker raises the interrupt its gate posted a
 * completion for: the function and owner of the binding a driver's copy
 * was made for (any copy: live, stale, forged; one naming no binding of
 * the input, or at the input's choice, any function and owner) and the
 * entry the copy names. It reaches exactly the live interrupt bound on
 * that function by that owner for that entry, unmasked, its owner not
 * revoked: that handler once, its count one on; nothing else, no refusal
 * counted (the kernel's call, not a driver's) */
static void op_irq_raise(void)
{
	unsigned i = next() % NIC;
	uint8_t k = next();
	const struct irq_cap *c = &ic[i];
	unsigned dev = k % NDEV;
	uint16_t o = (uint16_t)((k >> 3) % (NOWN + 2));
	if (!(k & 0x80))
		for (unsigned j = 0; j < nirec; j++)
			if (irecs[j].slot == c->slot &&
			    irecs[j].gen == c->gen) {
				dev = irecs[j].dev;
				o = irecs[j].owner;
			}
	unsigned idx = c->msix_index;
	struct irec *want = NULL;
	for (unsigned j = 0; j < nirec; j++)
		if (irecs[j].live && irecs[j].dev == dev &&
		    irecs[j].owner == o && irecs[j].index == idx)
			want = &irecs[j];
	if (want && (revoked[o] || irq_model_masked(want)))
		want = NULL;
	TRACE("irq_raise ic%u: dev %u owner %u entry %u -> %s\n", i, dev, o,
	      idx, want ? "delivered" : "nothing");
	uint64_t refused0[AUTH_NREASONS];
	memcpy(refused0, auth_refusals, sizeof(refused0));
	fired = NULL;
	irq_raise(&devs[dev], o, idx);
	CHECK(fired == want, "irq_raise reached another interrupt or none",
	      want ? want->slot : 0, fired ? fired->slot : 0);
	CHECK(!memcmp(refused0, auth_refusals, sizeof(refused0)),
	      "irq_raise counted a refusal", dev, o);
	if (want)
		want->count++;
}

/* ---- kernel memory -------------------------------------------------------
 */
static void op_kmem_alloc(void)
{
	uint16_t o = owner_sel();
	uint8_t k = next();
	unsigned dst = next() % NKC;
	unsigned allocs;
	uint64_t charged = kmem_charged(o, &allocs);
	const size_t lens[] = {0,
			       1,
			       100,
			       PS,
			       PS + 1,
			       8 * PS,
			       64 * PS,
			       DMA_OWNER_KMEM_MAX,
			       DMA_OWNER_KMEM_MAX - charged};
	size_t len = lens[k % 9], pages = ALIGN_UP(len, PS) / PS;
	bool want = bound(o) && !revoked[o] && pages &&
		    pages <= (DMA_OWNER_KMEM_MAX - charged) / PS &&
		    allocs < AUTH_KMEM_ALLOCS;
	TRACE("kmem_alloc owner %u len 0x%zx -> kc%u\n", o, len, dst);
	if (want && nkrec >= MAXREC)
		return;
	driver_step(o);
	uint8_t *p = auth_kmem_alloc(o, len);
	CHECK((p != NULL) == want, "kmem alloc", (uintptr_t)p, want);
	if (!p)
		return;
	CHECK((uintptr_t)p % PS == 0 && p[0] == 0 && p[pages * PS - 1] == 0,
	      "kmem alloc gave", (uintptr_t)p, pages);
	check_not_withheld((uintptr_t)p, pages * PS);
	struct krec *n = &krecs[nkrec];
	*n = (struct krec){.owner = o,
			   .pa = (uintptr_t)p,
			   .pages = pages,
			   .live = true,
			   .tag = (uint8_t)(nkrec * 7 + 3)};
	kc[dst] = (int)nkrec++;
	p[0] = p[pages * PS - 1] = n->tag;
}

static void op_kmem_free(void)
{
	uint16_t o = owner_sel();
	uint8_t s = next(), v = next(), l = next();
	const struct krec *k = kc[v % NKC] >= 0 ? &krecs[kc[v % NKC]]
			       : nkrec		? &krecs[v % nkrec]
						: NULL;
	uint64_t p = 0, kpages = k ? k->pages : 1;
	switch (s % 6) {
	case 0: /* an allocation of anyone's, live or freed already */
		p = k ? k->pa : 0;
		break;
	case 1: /* a pool's memory, through a copy */
		p = (uintptr_t)pc[v % NPC].va;
		kpages = pc[v % NPC].len / PS;
		break;
	case 2: /* the second page of an allocation */
		p = k ? k->pa + PS : 0;
		break;
	case 3:
		p = 0;
		break;
	case 4: /* not memory at all: a BAR */
		p = (uintptr_t)bar_mem[v % NDEV];
		break;
	default: /* any pool the input ever made */
		if (nrec) {
			p = recs[v % nrec].base;
			kpages = recs[v % nrec].len / PS;
		}
		break;
	}
	const size_t lens[] = {kpages * PS, (kpages + 1) * PS, 1, 0};
	size_t len = lens[l % 4], pages = ALIGN_UP(len, PS) / PS;
	struct krec *hit = NULL;
	for (unsigned i = 0; i < nkrec && p && pages; i++)
		if (krecs[i].live && krecs[i].owner == o && krecs[i].pa == p &&
		    krecs[i].pages == pages)
			hit = &krecs[i];
	TRACE("kmem_free owner %u 0x%llx len 0x%zx -> %s\n", o,
	      (unsigned long long)p, len, hit ? "freed" : "refused");
	driver_step(o);
	auth_kmem_free(o, (void *)(uintptr_t)p, len);
	if (hit)
		hit->live = false;
}

/* ---- owners --------------------------------------------------------------
 */

/* bus mastering as pci_enable must grant it (the check the owner table
 * installs for kernel/pci): to a bound owner's function, the owner
 * neither revoked nor quarantined */
static bool may_master(unsigned dev)
{
	uint16_t o = devs[dev].owner;
	return own_fn(dev, o) && !revoked[o] && !(o == 2 && quar2) &&
	       !fenced_m[dev];
}

/* the Command register as pci_enable(d, mem, io, bm) leaves it: memory
 * decode not with a refused BAR nor where it does not stick, bus
 * mastering only as may_master says, INTx off */
static void model_enable(unsigned dev, bool mem, bool io, bool bm)
{
	uint16_t c = cfgm16(dev, PCI_COMMAND);
	mem = mem && !refused[dev] && !(quirks[dev] & Q_STUCK);
	bm = bm && may_master(dev);
	c = mem ? c | PCI_COMMAND_MEM : c & ~PCI_COMMAND_MEM;
	c = io ? c | PCI_COMMAND_IO : c & ~PCI_COMMAND_IO;
	c = bm ? c | PCI_COMMAND_MASTER : c & ~PCI_COMMAND_MASTER;
	cfgm_put(dev, PCI_COMMAND, c | PCI_COMMAND_INTX_DISABLE, 2);
}

/* a driver or the device manager calls the real pci_enable */
static void enable(unsigned dev, bool mem, bool io, bool bm)
{
	model_enable(dev, mem, io, bm);
	pci_enable(&devs[dev], mem, io, bm);
	bool got = cfg[dev][PCI_COMMAND] & PCI_COMMAND_MASTER;
	if (bm)
		CHECK(got == may_master(dev), "bus mastering granted", got,
		      may_master(dev));
}

static void owner_model_revoke(uint16_t o, int got)
{
	int want = 0;
	/* a pool the unit does not confirm unmapped is seized but withheld:
	 * never released, still charged */
	for (unsigned i = 0; i < nrec; i++)
		if (recs[i].owner == o && recs[i].state == P_LIVE &&
		    !recs[i].pins) {
			recs[i].state =
			    o == 2 && fail_unmap ? P_WITHHELD : P_PARKED;
			want++;
		}
	for (unsigned i = 0; i < nmrec; i++)
		if (mrecs[i].owner == o)
			mrecs[i].live = false;
	for (unsigned i = 0; i < nirec; i++)
		if (irecs[i].owner == o && irecs[i].live)
			irq_model_revoke(&irecs[i]);
	revoked[o] = true;
	/* owner_stop_device: pci_enable(d, true, false, false) */
	model_enable(o - 1, true, false, false);
	if (hook_kind[o])
		hook_want[o]++; /* once per revocation */
	CHECK(got == want, "pools seized", got, want);
}

static void op_pci_enable(void)
{
	unsigned dev = next() % NDEV;
	uint8_t f = next();
	TRACE("pci_enable dev %u mem %u io %u bm %u\n", dev, f & 1, f >> 1 & 1,
	      f >> 2 & 1);
	enable(dev, f & 1, f >> 1 & 1, f >> 2 & 1);
}

/* a disable of the function failed, as the NVMe broker's broker_halt
 * meets it: bus mastering off (pci_enable(d, true, false, false)), then
 * the function marked fenced for good; its driver asks for bus mastering
 * again at once, refused */
static void op_fence(void)
{
	unsigned dev = next() % NDEV;
	TRACE("fence dev %u\n", dev);
	enable(dev, true, false, false);
	devs[dev].fenced = fenced_m[dev] = true;
	enable(dev, true, false, true);
}

/* the stray function names no owner (d->owner 0, as a function no
 * driver was bound to), or owner 1 again; a driver asks for bus mastering
 * on it at once, refused: with no owner, nothing — DMA included — was
 * granted (a pci_enable that let an unowned function master the bus, as
 * before test_pci_enable_unowned_never_masters, fails on seed
 * unowned_function) */
static void op_unown(void)
{
	devs[STRAY].owner = devs[STRAY].owner ? 0 : 1;
	TRACE("stray function names owner %u\n", devs[STRAY].owner);
	enable(STRAY, true, false, true);
}

/* the device changes its ways: a quirk on or off, or a BAR refused (as
 * at enumeration: pci_init turns memory decode off, and it stays off) */
static void op_quirk(void)
{
	unsigned dev = next() % NDEV;
	uint8_t q = next();
	struct pci_dev *d = &devs[dev];
	TRACE("quirk dev %u: %s\n", dev,
	      (const char *const[]){
		  "mask writes ignored", "message writes ignored",
		  "decode does not stick", "BAR2 refused"}[q % 4]);
	ideal[dev] = false;
	switch (q % 4) {
	case 0:
		quirks[dev] ^= Q_MASK;
		break;
	case 1:
		quirks[dev] ^= Q_MSG;
		break;
	case 2:
		quirks[dev] ^= Q_STUCK;
		if (quirks[dev] &
		    Q_STUCK) { /* it drops its Memory Space Enable */
			cfg[dev][PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MEM;
			cfg_model[dev][PCI_COMMAND] &=
			    (uint8_t)~PCI_COMMAND_MEM;
			decode_set(dev, false);
		}
		break;
	default:
		refused[dev] = true;
		d->bar[2].io = false;
		d->bar_refused |= 1u << 2;
		cfg_model[dev][PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MEM;
		pci_cfg_write16(d, PCI_COMMAND,
				pci_cfg_read16(d, PCI_COMMAND) &
				    ~PCI_COMMAND_MEM);
		break;
	}
}

/* An owner's revoke hook, as auth_owner_revoke must run it: with that
 * owner and the argument it was registered with, after the device
 * stopped (bus mastering off; owner 2's IOMMU context cleared) and before
 * anything of the owner was taken (every pool, window and interrupt the
 * model holds live is still live). Kind 2 drops the kernel's pins on the
 * owner's pools, as the NVMe broker drops its gate's. */
static uint8_t hook_ctx[NOWN + 2];
static void fuzz_hook(void *arg, uint16_t owner)
{
	uint8_t *c = arg;
	CHECK(c >= hook_ctx && c < hook_ctx + NOWN + 2, "hook argument",
	      (uintptr_t)arg, owner);
	unsigned o = (unsigned)(c - hook_ctx);
	TRACE("  revoke hook of owner %u called for %u\n", o, owner);
	CHECK(o == owner && bound(owner) && hook_kind[o],
	      "hook called for another owner", o, owner);
	hook_calls[o]++;
	bool bm = cfg[o - 1][PCI_COMMAND] & PCI_COMMAND_MASTER;
	CHECK(!bm && (o != 2 || shim_iommu_quarantined),
	      "hook ran before the device stopped", o, bm);
	struct grant_table *t = &dma_owner_acct(o)->grants;
	for (unsigned i = 0; i < nrec; i++)
		if (recs[i].owner == o && recs[i].state == P_LIVE)
			CHECK(grant_live(t, recs[i].slot, recs[i].gen),
			      "hook ran after a pool was seized", o,
			      recs[i].base);
	for (unsigned i = 0; i < nmrec; i++)
		if (mrecs[i].owner == o && mrecs[i].live)
			CHECK(auth_slots[mrecs[i].slot].gen == mrecs[i].gen,
			      "hook ran after a window was revoked", o,
			      mrecs[i].slot);
	for (unsigned i = 0; i < nirec; i++)
		if (irecs[i].owner == o && irecs[i].live)
			CHECK(auth_slots[irecs[i].slot].gen == irecs[i].gen,
			      "hook ran after an interrupt was revoked", o,
			      irecs[i].slot);
	if (*c != 2)
		return;
	for (unsigned i = 0; i < nrec; i++)
		for (; recs[i].owner == o && recs[i].state == P_LIVE &&
		       recs[i].pins;
		     recs[i].pins--)
			CHECK(grant_unpin(t, recs[i].slot), "hook unpin", o,
			      recs[i].slot);
}

static void op_hook(void)
{
	uint16_t o = owner_sel();
	uint8_t k = next() % 3;
	TRACE("revoke hook owner %u kind %u\n", o, k);
	auth_owner_on_revoke(o, k ? fuzz_hook : NULL, k ? &hook_ctx[o] : NULL);
	if (bound(o))
		hook_kind[o] = hook_ctx[o] = k;
}

/* the device manager narrows an owner's DMA limit: only while the owner
 * holds no DMA memory — no pool live, parked or withheld (each still
 * charged to it), no shadow — and never wider */
static void op_owner_limit(void)
{
	uint16_t o = owner_sel();
	static const uint64_t lims[] = {0, 1ull << 48, 1ull << 32, 0x10000000,
					0x100000};
	uint64_t lim = lims[next() % 5];
	int want = -1;
	if (bound(o) && lim) {
		if (mlimit[o] && mlimit[o] <= lim)
			want = 0;
		else if (!pool_charged(o) && !shadow_charged(o))
			want = 0, mlimit[o] = lim;
	}
	TRACE("owner_limit %u 0x%llx -> %d\n", o, (unsigned long long)lim,
	      want);
	int got = auth_owner_limit(o, lim);
	CHECK(got == want, "owner limit", got, want);
}

/* dma_kernel_alloc as the NVMe gate's shadow allocator calls it: charged
 * to the owner first (DMA_CHARGE_SHADOW, refused past its quota), pages
 * below the caller's limit, the owner's and its domain's, mapped for owner
 * 2's device with the permissions asked */
static void op_kalloc(void)
{
	uint16_t o = owner_sel();
	static const size_t npages[] = {1, 2, 8, 256};
	static const uint64_t lims[] = {0, 1ull << 32, 0x10000000, 0x100000};
	static const unsigned perms[] = {IOMMU_READ, IOMMU_READ | IOMMU_WRITE};
	uint8_t a = next(), b = next();
	size_t pages = npages[a % 4];
	uint64_t limit = lims[a / 4 % 4];
	unsigned perm = perms[b % 2];
	struct dma_owner *acct = dma_owner_acct(o);
	TRACE("kernel_alloc owner %u %zu pages limit 0x%llx perm %u\n", o,
	      pages, (unsigned long long)limit, perm);
	if (nkarec >= MAXREC)
		return;
	bool charge = acct != NULL;
	bool quota =
	    !charge || shadow_charged(o) + pages * PS <= DMA_OWNER_SHADOW_MAX;
	if (charge) {
		bool got =
		    dma_owner_charge(acct, DMA_CHARGE_SHADOW, pages * PS);
		CHECK(got == quota, "shadow charge", got, quota);
		if (!got)
			return;
	}
	uint64_t eff = eff_limit(o, limit);
	/* an owner not bound (never, or unbound) gets none */
	bool want = charge && pages_below(pages, eff);
	/* a map that fails part-way: no pages; withheld (out, and, the
	 * gate having heard "none", uncharged) when the unit did not
	 * confirm the undo */
	bool map_fails = want && o == 2 && fail_map && pages > 1;
	uint64_t pa = dma_kernel_alloc(o, pages, limit, perm);
	CHECK((pa != 0) == (want && !map_fails), "kernel alloc", pa, want);
	if (!pa) {
		if (charge)
			dma_owner_uncharge(acct, DMA_CHARGE_SHADOW, pages * PS);
		if (map_fails && fail_unmap) {
			check_not_withheld(shim_iommu_failed_pa, pages * PS);
			karecs[nkarec++] =
			    (struct karec){.owner = o,
					   .pa = shim_iommu_failed_pa,
					   .pages = pages,
					   .state = K_WITHHELD};
		}
		return;
	}
	uint8_t *va = (uint8_t *)(uintptr_t)pa;
	CHECK(pa % PS == 0 && (!eff || pa + pages * PS <= eff) && va[0] == 0 &&
		  va[pages * PS - 1] == 0,
	      "kernel alloc gave", pa, eff);
	check_not_withheld(pa, pages * PS);
	struct karec *k = &karecs[nkarec];
	*k = (struct karec){.owner = o,
			    .pa = pa,
			    .pages = pages,
			    .perm = perm,
			    .state = K_LIVE,
			    .tag = (uint8_t)(nkarec * 5 + 7),
			    .charged = charge};
	nkarec++;
	va[0] = va[pages * PS - 1] = k->tag;
}

/* the kernel gives its page back (honestly: the kernel is not the
 * adversary) as the gate does (gate_free): unmapped and freed, then
 * uncharged; or withheld when the unit does not confirm the unmap —
 * dma_kernel_free says so, and the charge stays with the pages */
static void op_kfree(void)
{
	if (!nkarec)
		return;
	struct karec *k = &karecs[next() % nkarec];
	if (k->state != K_LIVE)
		return;
	bool withheld = k->owner == 2 && fail_unmap;
	TRACE("kernel_free owner %u 0x%llx %llu pages%s\n", k->owner,
	      (unsigned long long)k->pa, (unsigned long long)k->pages,
	      withheld ? " withheld" : "");
	int got = dma_kernel_free(k->owner, k->pa, k->pages);
	CHECK(got == (withheld ? -1 : 0), "kernel free", got, withheld);
	if (k->charged && got == 0)
		dma_owner_uncharge(dma_owner_acct(k->owner), DMA_CHARGE_SHADOW,
				   k->pages * PS);
	k->state = withheld ? K_WITHHELD : K_FREED;
}

/* the IOMMU stops confirming unmaps, or confirms again; its maps of two
 * pages or more fail part-way, or not */
static void op_unit(void)
{
	uint8_t b = next();
	fail_unmap = b & 1;
	fail_map = b & 2;
	TRACE("iommu unmaps %s, maps %s\n",
	      fail_unmap ? "unconfirmed" : "confirmed",
	      fail_map ? "failing" : "working");
	shim_iommu_fail_unmap = fail_unmap;
	shim_iommu_fail_map = fail_map;
}

static void op_owner_revoke(void)
{
	uint16_t o = owner_sel();
	TRACE("owner_revoke %u\n", o);
	int got = auth_owner_revoke(o, "fuzz");
	quar2 |= o == 2;
	if (!bound(o)) {
		CHECK(got == -1, "revoke of an unbound owner", o, got);
		return;
	}
	owner_model_revoke(o, got);
	/* its driver turns bus mastering on again: refused */
	enable(o - 1, true, false, true);
}

static void op_owner_reinstate(void)
{
	uint16_t o = owner_sel();
	TRACE("owner_reinstate %u\n", o);
	int got = auth_owner_reinstate(o);
	bool want = bound(o) && revoked[o];
	CHECK((got == 0) == want, "reinstate", got, want);
	if (want) {
		revoked[o] = false;
		quar2 &= o != 2;
	}
	/* bus mastering is the caller's to put back, and a driver asks
	 * whatever reinstate said: granted only to an owner neither revoked
	 * nor quarantined (a fault with no safe point yet) */
	if (bound(o))
		enable(o - 1, true, false, true);
}

/* a DMA fault of owner 2's device (the IOMMU quarantines it in its
 * interrupt), then — unless poll is false — the main loop's safe point.
 * Without it the owner is quarantined but not yet revoked: it must get no
 * new interrupt in between (irq_bind) */
static void op_iommu_fault(bool poll)
{
	TRACE("iommu fault%s\n", poll ? ", auth_poll" : " (no safe point yet)");
	shim_iommu_fault();
	quar2 = true;
	if (!poll)
		return;
	unsigned got = auth_poll();
	if (revoked[2]) {
		CHECK(got == 0, "poll revoked a revoked owner", got, 0);
		return;
	}
	CHECK(got == 1, "poll did not revoke the faulted owner", got, 1);
	unsigned pools = 0;
	for (unsigned i = 0; i < nrec; i++)
		pools += recs[i].owner == 2 && recs[i].state == P_LIVE &&
			 !recs[i].pins;
	owner_model_revoke(2, (int)pools);
}

/* ---- one input -----------------------------------------------------------
 */
static void setup_once(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	shim_quiet = 1;
	trace = getenv("AUTH_SEQ_TRACE") != NULL;
	shim_line_hook = line_seen;
	pci_host_cfg_written = cfg_written;
	pci_host_msix_written = msix_written;
	for (unsigned i = 0; i < NDEV; i++) {
		struct pci_dev *d = &devs[i];
		d->bus = 1;
		d->dev = (uint8_t)i;
		d->owner = (uint16_t)(i == STRAY ? 1 : i + 1);
		d->cfg = cfg[i];
		d->bar[0].base = BAR_PA + i * 0x10000ull;
		d->bar[0].size = BAR_LEN;
		if (i == MSI_DEV) {
			d->cap_msi = CAP_MSI;
			continue;
		}
		d->cap_msix = CAP_MSIX;
		d->msix_size = MSIX_N;
		d->msix_table_bar = d->msix_pba_bar = 0;
		d->msix_table_off = MSIX_OFF;
		d->msix_pba_off = PBA_OFF;
		d->msix_table =
		    (volatile uint32_t *)(bar_mem[i] + GUARD + MSIX_OFF);
	}
	static const enum dma_backend be[NOWN] = {
	    DMA_BACKEND_UNVALIDATED, DMA_BACKEND_IOMMU, DMA_BACKEND_VALIDATOR,
	    DMA_BACKEND_UNVALIDATED};
	/* a bind of a function that names another owner (STRAY names 1) is
	 * refused: an owner is its function */
	struct auth_owner_facts g = {.d = &devs[STRAY],
				     .backend = DMA_BACKEND_UNVALIDATED};
	if (auth_owner_bind(NOWN + 2, &g) != -1 || auth_owner_facts(NOWN + 2))
		oracle("an owner bound to a function naming another", NOWN + 2,
		       devs[STRAY].owner);
	for (uint16_t o = 1; o <= NOWN; o++)
		if (shim_owner_bind_fn(o, &devs[o - 1], be[o - 1]) != 0)
			oracle("bind", o, 0);
	if (shim_iommu_owner != 2)
		oracle("iommu owner", shim_iommu_owner, 2);
	/* one owner per function: a second owner on owner 1's is refused,
	 * even once the function names it */
	g.d = &devs[0];
	devs[0].owner = NOWN + 1;
	if (auth_owner_bind(NOWN + 1, &g) != -1 || auth_owner_facts(NOWN + 1))
		oracle("a second owner bound to a function", NOWN + 1, 0);
	devs[0].owner = 1;
	proc_pages_base = shim_pages_in_use;
}

/* ---- an owner's whole life: bind, use, unbind, rebind (opcode 250) -------
 * The model's owners 1..4 are bound once for the process; an unbind
 * retires its id for good (auth_owner_unbind), so a driver restart is
 * played here, whole, on a function of its own (spare: MSI, no BAR) under
 * fresh ids (from LC_ID0; none past LC_ID_END, so a long run never runs
 * the ids out): bound (a second owner on the function, and a retired id,
 * refused), a pool, kernel memory, a shadow page given back by an unbind
 * hook as the NVMe broker gives its own, an interrupt, maybe a pin on the
 * pool, maybe a revocation first (and the pin dropped after it: the pool
 * the revocation kept is no longer pinned at the unbind); then unbound, the
 * stop confirmed or not.
 * Oracles: every old handle is refused after the unbind — the pool
 * (carve, live), the interrupt (its unmask does not reach the device's MSI
 * enable), kernel memory (a new allocation for the old id) — also once the
 * function is bound again under a fresh id whose first pool may sit in the same
 * grant slot and generation; no page is freed while the stop was unconfirmed
 * (only the kernel memory the driver never gave the device comes back) nor
 * while pinned; every other page comes back (a pool unpinned since the
 * revocation kept it too); the function names no owner after
 * the unbind and only one owner is ever bound on it. What is withheld stays out
 * for good (counted in withheld_pages, given back by reclaim_withheld). */
#define LC_ID0	  1000u
#define LC_ID_END 60000u
static struct pci_dev spare;
static uint8_t spare_cfg[4096];
static uint32_t lc_next = LC_ID0;
static uint64_t lc_shadow;
static int lc_shadow_freed;
static uint64_t lc_unbind_hook(void *arg, uint16_t owner, bool stopped)
{
	(void)arg, (void)stopped;
	lc_shadow_freed = dma_kernel_free(owner, lc_shadow, 1);
	return lc_shadow_freed != 0; /* withheld: charged to no one */
}
static bool lc_msi_on(void)
{
	return get_le(&spare_cfg[CAP_MSI + PCI_MSI_FLAGS], 2) &
	       PCI_MSI_FLAGS_ENABLE;
}
static uint16_t lc_bind(void)
{
	uint16_t id = (uint16_t)lc_next++;
	CHECK(shim_owner_bind_fn(id, &spare, DMA_BACKEND_VALIDATOR) == 0,
	      "lifecycle: a fresh id refused", id, 0);
	/* one owner a function: another id on it is refused, however the
	 * function names it */
	uint16_t other = (uint16_t)lc_next++;
	spare.owner = other;
	CHECK(auth_owner_bind(
		  other,
		  &(struct auth_owner_facts){
		      .d = &spare, .backend = DMA_BACKEND_VALIDATOR}) == -1 &&
		  !auth_owner_facts(other),
	      "lifecycle: an owner bound twice on one function", id, other);
	spare.owner = id;
	return id;
}
static void op_lifecycle(void)
{
	uint8_t a = next(), b = next();
	if (lc_next + 5 > LC_ID_END || nwh + 2 > sizeof(whs) / sizeof(whs[0]))
		return;
	bool stopped = a & 1, pin = a & 2, revoke = a & 4, irq = a & 8;
	size_t pool_pages = 1 + (b & 1), kpages = 1 + (b >> 1 & 1);
	/* the pin dropped after the revocation kept the pool (a reset
	 * confirmed only at the detach): no longer pinned at the unbind */
	bool unpin = pin && revoke && (b & 4);
	TRACE("lifecycle stopped=%d pin=%d revoke=%d irq=%d unpin=%d\n",
	      stopped, pin, revoke, irq, unpin);
	if (!spare.cfg) {
		spare.bus = 2;
		spare.cfg = spare_cfg;
		spare.cap_msi = CAP_MSI;
	}
	memset(spare_cfg, 0, sizeof(spare_cfg));
	put_le(&spare_cfg[CAP_MSI + PCI_MSI_FLAGS], 0x100 | 0x0a | 0x30, 2);
	/* the spare function is none of the model's devices */
	void (*cw)(const struct pci_dev *, uint16_t, unsigned) =
	    pci_host_cfg_written;
	pci_host_cfg_written = NULL;
	uint64_t start = shim_pages_in_use;
	uint16_t id = lc_bind();
	struct dma_pool p, q;
	struct dma_buf buf;
	CHECK(dma_pool_create(id, pool_pages * PS, 0, &p) == 0,
	      "lifecycle: pool refused", id, 0);
	void *k = auth_kmem_alloc(id, kpages * PS);
	CHECK(k, "lifecycle: kernel memory refused", id, 0);
	lc_shadow = dma_kernel_alloc(id, 1, 0, IOMMU_READ);
	CHECK(lc_shadow, "lifecycle: shadow refused", id, 0);
	lc_shadow_freed = 1;
	auth_owner_on_unbind(id, lc_unbind_hook, NULL);
	struct irq_cap c = {0};
	if (irq) {
		CHECK(irq_bind(&spare, id, 0, NULL, NULL, &c) == 0,
		      "lifecycle: interrupt refused", id, 0);
		irq_unmask(&c);
		CHECK(lc_msi_on(), "lifecycle: unmask did not reach", id, 0);
	}
	struct dma_owner *acct = dma_owner_acct(id);
	if (pin)
		CHECK(grant_pin(&acct->grants, p.slot),
		      "lifecycle: pin refused", id, 0);
	if (revoke) {
		(void)auth_owner_revoke(id, "lifecycle");
		/* revoked, still bound: the function is still its */
		uint16_t other = (uint16_t)lc_next++;
		spare.owner = other;
		CHECK(auth_owner_bind(
			  other,
			  &(struct auth_owner_facts){
			      .d = &spare, .backend = DMA_BACKEND_VALIDATOR}) ==
			      -1 &&
			  !auth_owner_facts(other),
		      "lifecycle: an owner bound twice on one function", id,
		      other);
		spare.owner = id;
		if (unpin)
			CHECK(grant_unpin(&acct->grants, p.slot),
			      "lifecycle: unpin refused", id, 0);
	}
	uint64_t before = shim_pages_in_use;
	int r = auth_owner_unbind(id, stopped);
	/* what may come back: the driver's kernel memory always; the pool
	 * and the shadow only with the stop confirmed, the pool not while
	 * pinned */
	bool pinned = pin && !unpin;
	uint64_t kept =
	    (stopped && !pinned ? 0 : pool_pages) + (stopped ? 0 : 1);
	CHECK(shim_pages_in_use == before - kpages - (pool_pages + 1 - kept),
	      "lifecycle: pages given back while the device may reach "
	      "them, or kept when it cannot",
	      before - shim_pages_in_use, kept);
	CHECK(r == (kept ? 1 : 0), "lifecycle: unbind's answer", r, kept);
	CHECK(lc_shadow_freed == (stopped ? 0 : -1),
	      "lifecycle: the hook's free answered", lc_shadow_freed, stopped);
	CHECK(spare.owner == 0 && !auth_owner_facts(id),
	      "lifecycle: the function still names its owner", spare.owner, id);
	CHECK(!irq || !lc_msi_on(), "lifecycle: interrupt left on", id, 0);
	/* bound again under a fresh id: a retired one is refused */
	spare.owner = id;
	CHECK(auth_owner_bind(
		  id,
		  &(struct auth_owner_facts){
		      .d = &spare, .backend = DMA_BACKEND_VALIDATOR}) == -1,
	      "lifecycle: a retired id bound again", id, 0);
	spare.owner = 0;
	uint16_t id2 = lc_bind();
	CHECK(dma_pool_create(id2, PS, 0, &q) == 0,
	      "lifecycle: the new owner's pool refused", id2, 0);
	/* every old handle refused */
	CHECK(!dma_pool_live(&p) && dma_pool_carve(&p, 8, 8, &buf) != 0,
	      "lifecycle: an old pool accepted after unbind", p.slot, p.gen);
	CHECK(dma_pool_live(&q), "lifecycle: the new pool dead", q.slot, q.gen);
	if (irq) {
		irq_unmask(&c);
		CHECK(!lc_msi_on(),
		      "lifecycle: an old interrupt accepted after "
		      "unbind",
		      c.slot, c.gen);
	}
	void *k2 = auth_kmem_alloc(id, PS);
	CHECK(!k2, "lifecycle: kernel memory for an unbound owner", id, 0);
	CHECK(auth_owner_unbind(id, true) == -1,
	      "lifecycle: an unbound owner unbound again", id, 0);
	/* the new owner goes cleanly: its pool back */
	CHECK(auth_owner_unbind(id2, true) == 0, "lifecycle: clean unbind", id2,
	      0);
	CHECK(shim_pages_in_use == start + kept,
	      "lifecycle: pages leaked or freed twice", shim_pages_in_use,
	      start + kept);
	withheld_pages += kept;
	pages_base += kept; /* out of the model's reach, for good */
	if (kept) {
		/* the pool's pages (if kept) then the shadow's: given back by
		 * the harness once many are out */
		if (!(stopped && !pinned))
			whs[nwh++] = (struct whrec){.base = p.iova,
						    .len = pool_pages * PS};
		if (!stopped)
			whs[nwh++] =
			    (struct whrec){.base = lc_shadow, .len = PS};
	}
	pci_host_cfg_written = cw;
}

/* Withheld pages are the layer's forever; the harness gives them back
 * itself once there are many (MAXWH ranges), so that a long run does not
 * fill the page shim's windows and owner 2's quota: unmapped already
 * (the shim drops a mapping it then does not confirm), uncharged where
 * the layer kept the charge, freed. */
static void reclaim_withheld(void)
{
	if (nwh < MAXWH)
		return;
	TRACE("reclaim %u withheld ranges, %llu pages\n", nwh,
	      (unsigned long long)withheld_pages);
	for (unsigned i = 0; i < nwh; i++) {
		if (whs[i].charged)
			dma_owner_uncharge(dma_owner_acct(whs[i].owner),
					   whs[i].kind, whs[i].len);
		page_free(whs[i].base, whs[i].len / PS);
	}
	nwh = 0;
	withheld_pages = 0;
}

/* give everything back through the real calls: the next input starts from
 * an empty layer */
static void teardown(void)
{
	shim_iommu_fail_unmap = fail_unmap = false;
	shim_iommu_fail_map = fail_map = false;
	/* a fault no safe point reached: resumed, so that the one below
	 * revokes nothing */
	if (quar2 && !revoked[2])
		CHECK(iommu_owner_resume(2) == 0, "teardown resume", 2, 0);
	quar2 = false;
	for (uint16_t o = 0; o <= NOWN + 1; o++) {
		auth_owner_on_revoke(o, NULL, NULL);
		hook_kind[o] = hook_ctx[o] = 0;
	}
	for (unsigned i = 0; i < nrec; i++)
		while (recs[i].state == P_LIVE && recs[i].pins) {
			CHECK(
			    grant_unpin(&dma_owner_acct(recs[i].owner)->grants,
					recs[i].slot),
			    "teardown unpin", recs[i].slot, recs[i].pins);
			recs[i].pins--;
		}
	for (uint16_t o = 1; o <= NOWN; o++) {
		if (revoked[o])
			CHECK(auth_owner_reinstate(o) == 0,
			      "teardown reinstate", o, 0);
		revoked[o] = false;
		CHECK(shim_owner_release(o) == 0, "teardown release", o, 0);
		auth_slots_seize(o);
	}
	(void)auth_poll();
	for (unsigned i = 0; i < nkrec; i++)
		if (krecs[i].live)
			auth_kmem_free(krecs[i].owner,
				       (void *)(uintptr_t)krecs[i].pa,
				       krecs[i].pages * PS);
	for (unsigned i = 0; i < nkarec; i++) {
		struct karec *k = &karecs[i];
		if (k->state == K_LIVE) {
			CHECK(dma_kernel_free(k->owner, k->pa, k->pages) == 0,
			      "teardown kernel free", k->owner, k->pa);
			if (k->charged)
				dma_owner_uncharge(dma_owner_acct(k->owner),
						   DMA_CHARGE_SHADOW,
						   k->pages * PS);
			k->state = K_FREED;
		} else if (k->state == K_WITHHELD) {
			whs[nwh++] = (struct whrec){.owner = k->owner,
						    .base = k->pa,
						    .len = k->pages * PS,
						    .charged = k->charged,
						    .kind = DMA_CHARGE_SHADOW};
			withheld_pages += k->pages;
		}
	}
	/* what this input's IOMMU withheld stays out, and its pools stay
	 * charged */
	for (unsigned i = 0; i < nrec; i++)
		if (recs[i].state == P_WITHHELD) {
			whs[nwh++] = (struct whrec){.owner = recs[i].owner,
						    .base = recs[i].base,
						    .len = recs[i].len,
						    .charged = true,
						    .kind = DMA_CHARGE_POOL};
			withheld_pages += recs[i].len / PS;
		}
	nrec = nkarec = 0;
	for (uint16_t o = 1; o <= NOWN; o++) {
		const struct dma_owner *a = dma_owner_acct(o);
		for (int c = 0; c < DMA_CHARGE_N; c++) {
			uint64_t want = c == DMA_CHARGE_POOL ? pool_charged(o)
					: c == DMA_CHARGE_SHADOW
					    ? shadow_charged(o)
					    : 0;
			CHECK(a->use[c] == want, "charge left after teardown",
			      o, a->use[c]);
		}
		/* the device manager's bind, again: no limit of its own */
		((struct auth_owner_facts *)auth_owner_facts(o))->dma_limit = 0;
		mlimit[o] = 0;
		for (int k = 0; k < GRANT_MAX; k++)
			CHECK(!a->grants.g[k].live && !a->grants.g[k].parked &&
				  !a->grants.g[k].pins,
			      "grant left after teardown", o, k);
	}
	for (uint16_t s = 1; s < AUTH_SLOTS; s++)
		CHECK(auth_slots[s].kind == AUTH_FREE, "slot left", s,
		      auth_slots[s].kind);
	for (unsigned v = 0; v < 256; v++)
		CHECK(!host_vectors[v].fn, "vector left", v, 0);
	CHECK(shim_pages_in_use == proc_pages_base + withheld_pages,
	      "pages leaked", shim_pages_in_use,
	      proc_pages_base + withheld_pages);
	CHECK(shim_iommu_mapped() == 0, "iommu left mapped",
	      shim_iommu_mapped(), 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	setup_once();
	in = d, inlen = n, pos = 0;
	nrec = nmrec = nirec = nkrec = 0;
	memset(pc, 0, sizeof(pc));
	memset(mc, 0, sizeof(mc));
	memset(ic, 0, sizeof(ic));
	for (unsigned i = 0; i < NKC; i++)
		kc[i] = -1;
	reclaim_withheld();
	nkarec = 0;
	cfg_reset(n & 1);
	bars_reset();
	memset(hook_calls, 0, sizeof(hook_calls));
	memset(hook_want, 0, sizeof(hook_want));
	pages_base = shim_pages_in_use;
	TRACE("---- input of %zu bytes\n", n);
	for (unsigned step = 0; step < MAXOPS && pos < inlen; step++) {
		uint8_t v = next();
		line_row = -1; /* until the op says it is a driver's */
		snap_tables();
		/* 240..255: the device (below them, op % 24 as before); 254
		 * its fence, 252 the stray function's owner */
		if (v >= 240) {
			if (v & 1)
				op_quirk();
			else if (v == 254)
				op_fence();
			else if (v == 252)
				op_unown();
			else if (v == 250)
				op_lifecycle();
			else
				op_pci_enable();
			line_row = -1;
			check_all();
			check_others();
			continue;
		}
		switch (v % 24) {
		case 0:
		case 1:
			op_pool_create();
			break;
		case 2:
			op_pool_revoke();
			break;
		case 3:
			op_pool_carve();
			break;
		case 4:
			op_pool_forge();
			break;
		case 5:
			op_pin(true);
			break;
		case 6:
			op_pin(false);
			break;
		case 7:
			op_mmio_grant();
			break;
		case 8:
			op_mmio_access();
			break;
		case 9:
			op_mmio_revoke();
			break;
		case 10:
			op_mmio_forge();
			break;
		case 11:
			op_irq_bind();
			break;
		case 12:
			op_irq_use();
			break;
		case 13:
			op_irq_forge();
			break;
		case 14:
			op_irq_fire();
			break;
		case 15:
			op_kmem_alloc();
			break;
		case 16:
			op_kmem_free();
			break;
		case 18:
			op_owner_limit();
			break;
		case 19:
			op_kalloc();
			break;
		case 20:
			op_kfree();
			break;
		case 21:
			op_hook();
			break;
		case 22:
			op_unit();
			break;
		case 23:
			op_irq_raise();
			break;
		default: /* 17 */
			switch (v = next(), v % 3) {
			case 0:
				op_owner_revoke();
				break;
			case 1:
				op_owner_reinstate();
				break;
			default: /* the top bit: no safe point yet */
				op_iommu_fault(!(v & 0x80));
				break;
			}
			break;
		}
		line_row = -1;
		check_all();
		check_others();
	}
	teardown();
	return 0;
}
