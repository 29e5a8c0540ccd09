/* kernel/pci/pci_cfg.c — configuration-space access, the capability walk and
 * BAR decode. Pure over d->cfg (a 4 KiB ECAM window; in host tests, a
 * buffer), so tests/host checks the walk against loops and bad pointers. */
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"

uint8_t pci_cfg_read8(const struct pci_dev *d, uint16_t off)
{
	return off < 4096 ? d->cfg[off] : 0xff;
}

uint16_t pci_cfg_read16(const struct pci_dev *d, uint16_t off)
{
	return off <= 4094 && !(off & 1) ? *(volatile uint16_t *)(d->cfg + off)
					 : 0xffff;
}

uint32_t pci_cfg_read32(const struct pci_dev *d, uint16_t off)
{
	return off <= 4092 && !(off & 3) ? *(volatile uint32_t *)(d->cfg + off)
					 : 0xffffffffu;
}

#ifdef CAPOS_HOST
/* tests/host play the device: told of each write once it is in the buffer,
 * a model may change what later reads return (a BAR's size mask after all
 * ones were written). NULL: config space is plain memory. */
void (*pci_host_cfg_written)(const struct pci_dev *d, uint16_t off,
			     unsigned width);
#define HOST_WRITTEN(d, off, w)                                                \
	do {                                                                   \
		if (pci_host_cfg_written)                                      \
			pci_host_cfg_written(d, off, w);                       \
	} while (0)
#else
#define HOST_WRITTEN(d, off, w) ((void)0)
#endif

void pci_cfg_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{
	if (off <= 4094 && !(off & 1)) {
		*(volatile uint16_t *)(d->cfg + off) = v;
		HOST_WRITTEN(d, off, 2);
	}
}

void pci_cfg_write32(const struct pci_dev *d, uint16_t off, uint32_t v)
{
	if (off <= 4092 && !(off & 3)) {
		*(volatile uint32_t *)(d->cfg + off) = v;
		HOST_WRITTEN(d, off, 4);
	}
}

/* The list lives in the first 256 bytes. A pointer's bottom two bits are
 * reserved: software masks them off before using it (PCI 3.0 §6.7; Linux's
 * __pci_find_next_cap_ttl does the same); 0 ends the list. What is left
 * must be past the header: 48 dword slots from 0x40, one bit each. The
 * walk always starts at the head and remembers every entry it passed, so
 * a list that comes back to an entry stops there, and "the next one after
 * from" is later in the list than from: iterating with from ends, each
 * capability once. A from that is not on the list finds nothing. */
uint8_t pci_cap_find(struct pci_dev *d, uint8_t id, uint8_t from, bool *broken)
{
	if (!(pci_cfg_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	uint64_t seen = 0;
	bool past = !from;
	for (uint8_t p = pci_cfg_read8(d, PCI_CAP_PTR) & PCI_CAP_PTR_MASK; p;
	     p = pci_cfg_read8(d, p + 1) & PCI_CAP_PTR_MASK) {
		bool wild = p < 0x40;
		if (wild || (seen & 1ull << (p - 0x40) / 4)) {
			if (broken) {
				*broken = true;
				return 0;
			}
			/* the list is the device's for good: said once for
			 * the function, not at every walk (three at probe,
			 * then each driver's) */
			if (!pci_said_first(d, PCI_SAID_CAPS))
				return 0;
			char a[16];
			pci_addr_str(d, a, sizeof(a));
			kprintf("pci %s: capability list %s at 0x%x; walk "
				"stopped (said once for the function)\n",
				a, wild ? "points into the header" : "loops",
				p);
			return 0;
		}
		seen |= 1ull << (p - 0x40) / 4;
		if (past && pci_cfg_read8(d, p) == id)
			return p;
		past = past || p == from;
	}
	return 0;
}

uint8_t pci_find_cap(struct pci_dev *d, uint8_t id, uint8_t from)
{
	return pci_cap_find(d, id, from, NULL);
}

void pci_addr_str(const struct pci_dev *d, char *buf, unsigned n)
{
	ksnprintf(buf, n, "%04x:%02x:%02x.%x", d->seg, d->bus, d->dev, d->fn);
}

/* BAR i of d is not the device's to decode: base and size 0, and the
 * decode of its kind stays off (pci_decode_refused) */
void pci_bar_refuse(struct pci_dev *d, int i)
{
	d->bar[i].base = d->bar[i].size = 0;
	d->bar_refused |= 1u << i;
}

/* size BAR i with decode off (PCI 3.0 §6.2.5.1). Returns how many BAR
 * registers it used (2 for a 64-bit BAR). d->header_type says how many
 * BARs there are (6 of a type 0 header, 2 of a bridge's). */
int pci_bar_decode(struct pci_dev *d, int i)
{
	uint16_t off = PCI_BAR0 + 4 * i;
	uint32_t lo = pci_cfg_read32(d, off), hi = 0, mlo, mhi = 0xffffffffu;
	struct pci_bar *b = &d->bar[i];
	memset(b, 0, sizeof(*b));
	d->bar_refused &= ~(1u << i);
	b->io = lo & PCI_BAR_IO;
	b->is64 = !b->io && FIELD_GET(PCI_BAR_TYPE, lo) == PCI_BAR_TYPE_64;
	b->prefetch = !b->io && (lo & PCI_BAR_PREFETCH);
	/* the last BAR register: BAR5 of a type 0 header, BAR1 of a bridge's
	 * (after it, 0x18, are the bus numbers) */
	int last = d->header_type == 1 ? 1 : 5;
	if (b->is64 && i == last) {
		char a[16];
		pci_addr_str(d, a, sizeof(a));
		kprintf("pci %s: 64-bit BAR%d has no upper half; ignored\n", a,
			i);
		b->is64 = false;
		pci_bar_refuse(d, i);
		return 1;
	}
	pci_cfg_write32(d, off, 0xffffffffu);
	mlo = pci_cfg_read32(d, off);
	pci_cfg_write32(d, off, lo);
	if (b->is64) {
		hi = pci_cfg_read32(d, off + 4);
		pci_cfg_write32(d, off + 4, 0xffffffffu);
		mhi = pci_cfg_read32(d, off + 4);
		pci_cfg_write32(d, off + 4, hi);
	}
	uint64_t mask = (uint64_t)mhi << 32 | (mlo & (b->io ? ~3u : ~15u));
	if (!b->is64)
		mask |= 0xffffffff00000000ull;
	b->base = ((uint64_t)hi << 32 | lo) & (b->io ? ~3ull : ~15ull);
	/* a 32-bit BAR none of whose address bits take the ones is not
	 * implemented (2^32 would be its size) */
	b->size =
	    (mlo == 0 || mlo == 0xffffffffu || !(uint32_t)mask) && !b->is64
		? 0
		: ~mask + 1;
	if (b->io)
		b->size &= 0xffff;
	/* a size firmware left at address 0 was not assigned (page 0 is
	 * RAM); an address that sizes to zero names nothing; the writable
	 * bits are ones from the size up, so the size is a power of two and
	 * the base a multiple of it (a mask with holes, or address bits that
	 * do not take the ones, would make one that runs past the BAR's
	 * width); a register that answers the ones with some bits (an
	 * unimplemented one is hardwired to zero; all ones is no answer) but
	 * no address bit among them decodes nothing capOS can place. One
	 * line, base and size 0, refused */
	const char *why = NULL;
	if (b->size && !b->base)
		why = "firmware left it at 0 (not assigned)";
	else if (!b->size && b->base)
		why = "programmed but sizes to zero";
	else if (!b->size && mlo && mlo != 0xffffffffu)
		why = "answers sizing with no address bit";
	else if (b->size & (b->size - 1) || b->base & (b->size - 1))
		why = "not a power of two aligned to its base";
	if (why) {
		char a[16];
		pci_addr_str(d, a, sizeof(a));
		kprintf("pci %s: BAR%d at 0x%lx sizes to 0x%lx (mask 0x%lx), "
			"%s; ignored\n",
			a, i, b->base, b->size, mask, why);
		pci_bar_refuse(d, i);
	}
	return b->is64 ? 2 : 1;
}

static bool bar_overlaps(const struct pci_bar *x, const struct pci_bar *y)
{
	return x->size && y->size && x->io == y->io &&
	       x->base <= y->base + (y->size - 1) &&
	       y->base <= x->base + (x->size - 1);
}

/* no two BARs of devs[0..n) (of one function or of two) may share an
 * address of the same space: firmware never assigns that, and a window on
 * one would reach what the other holds. Every BAR in an overlapping pair
 * is ignored (base and size 0); a pair is one line only when it refuses a
 * BAR not refused yet, so there are at most as many lines as BARs (a
 * function answering at 64 places with six coinciding BARs would be
 * 6 x 64 x 63 / 2 lines, a pair each); clash[n] is the caller's scratch.
 * Run before anything maps a BAR. */
void pci_bars_check(struct pci_dev *devs, unsigned n, uint8_t *clash)
{
	memset(clash, 0, n);
	for (unsigned a = 0; a < n; a++)
		for (int i = 0; i < 6; i++)
			for (unsigned b = a; b < n; b++)
				for (int j = b == a ? i + 1 : 0; j < 6; j++) {
					const struct pci_bar *x =
					    &devs[a].bar[i];
					const struct pci_bar *y =
					    &devs[b].bar[j];
					if (!bar_overlaps(x, y))
						continue;
					bool fresh = !(clash[a] >> i & 1) ||
						     !(clash[b] >> j & 1);
					clash[a] |= 1u << i;
					clash[b] |= 1u << j;
					if (!fresh)
						continue;
					char sa[16], sb[16];
					pci_addr_str(&devs[a], sa, sizeof(sa));
					pci_addr_str(&devs[b], sb, sizeof(sb));
					kprintf("pci %s: BAR%d [0x%lx, +0x%lx) "
						"overlaps %s BAR%d; both "
						"ignored\n",
						sb, j, y->base, y->size, sa, i);
				}
	for (unsigned a = 0; a < n; a++)
		for (int i = 0; i < 6; i++)
			if (clash[a] >> i & 1)
				pci_bar_refuse(&devs[a], i);
}

/* installed by the authority layer (kernel/pci does not include it) */
static pci_bus_master_check_t bus_master_check;

void pci_set_bus_master_check(pci_bus_master_check_t may_master)
{
	bus_master_check = may_master;
}

/* only an owned function masters the bus: every caller that asks for it
 * is a driver the device manager attached after binding the function's
 * owner, or the NVMe broker it opened (docs/authority-gate-design.md, "No
 * owner, no capability"); a function with no owner was granted nothing
 * by the authority layer, so it gets no DMA either */
static bool may_master(const struct pci_dev *d)
{
	return d->owner && bus_master_check && bus_master_check(d);
}

/* false when decode of the kind may not be turned on; the first such
 * refusal of the function is one line */
static bool may_decode(struct pci_dev *d, bool io)
{
	int i = pci_decode_refused(d, io);
	if (i < 0)
		return true;
	if (pci_said_first(d, io ? PCI_SAID_IO : PCI_SAID_MEM)) {
		char a[16];
		pci_addr_str(d, a, sizeof(a));
		kprintf("pci %s: %s decode refused: BAR%d was refused at "
			"enumeration; left off\n",
			a, io ? "I/O" : "memory", i);
	}
	return false;
}

void pci_enable(struct pci_dev *d, bool mem, bool io, bool bus_master)
{
	/* a fenced function (a disable of it failed: it may still hold
	 * addresses of memory given back since) never masters the bus again,
	 * whoever owns it now or whether anyone does */
	bool fenced = bus_master && d->fenced;
	bool bm = bus_master && !fenced && may_master(d);
	mem = mem && may_decode(d, false);
	io = io && may_decode(d, true);
	uint16_t c = pci_cfg_read16(d, PCI_COMMAND);
	c = mem ? c | PCI_COMMAND_MEM : c & ~PCI_COMMAND_MEM;
	c = io ? c | PCI_COMMAND_IO : c & ~PCI_COMMAND_IO;
	c = bm ? c | PCI_COMMAND_MASTER : c & ~PCI_COMMAND_MASTER;
	pci_cfg_write16(d, PCI_COMMAND, c | PCI_COMMAND_INTX_DISABLE);
	/* the owner quarantined since the check (the fault interrupt turned
	 * bus mastering off before the write above or turns it off after):
	 * off again, so the write did not undo it */
	if (bm && !may_master(d)) {
		bm = false;
		c = pci_cfg_read16(d, PCI_COMMAND);
		pci_cfg_write16(d, PCI_COMMAND, c & ~PCI_COMMAND_MASTER);
	}
	/* granted: the next refusal (a later revocation or quarantine) is
	 * said again, once */
	if (bm)
		d->said &= (uint8_t)~PCI_SAID_MASTER;
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	if (fenced) {
		if (pci_said_first(d, PCI_SAID_FENCED))
			kprintf("pci %s: bus mastering refused: the function "
				"is fenced (an earlier disable of it failed); "
				"left off\n",
				a);
	} else if (bus_master && !bm && pci_said_first(d, PCI_SAID_MASTER)) {
		if (!d->owner)
			kprintf("pci %s: bus mastering refused: the function "
				"has no owner; left off\n",
				a);
		else
			kprintf("pci %s: bus mastering refused: owner %u is "
				"revoked, quarantined, unknown to the "
				"authority layer or bound to another "
				"function, or its remapping unit failed; left "
				"off\n",
				a, d->owner);
	}
}
