/* tests/host/foundation/fuzz_pci_cfg.c — a hostile function's configuration
 * space and BAR sizing answers, through the capability walk, BAR decode and
 * the BAR overlap check (kernel/pci/pci_cfg.c), each held against a model
 * written from the spec here:
 *
 * - capabilities: the list from PCI_CAP_PTR, each pointer's reserved
 *   bottom two bits masked off (PCI 3.0 §6.7), followed while it is in
 *   0x40..0xfc and not seen before. For every id, iterating
 *   pci_find_cap (from = the last one found) yields exactly that list's
 *   entries of the id, in order, then 0; a from not on the list finds 0;
 *   without the status bit nothing is found;
 * - BARs: the device answers the all-ones write of BAR register i with
 *   mask[i]. Decode writes nothing but the BAR registers it sizes and
 *   leaves configuration space as it found it; returns 2 only for a 64-bit
 *   BAR not in the last register; and reports the base and size the
 *   model computes (PCI 3.0 §6.2.5.1: size = 2^width - writable mask, kept
 *   only if a nonzero power of two, the base nonzero and aligned to it;
 *   I/O on 16 bits), so every size it keeps is a power of two, aligned,
 *   inside the BAR's address space;
 * - overlap: after pci_bars_check no two BARs of the function overlap, and
 *   a BAR that overlapped none is as decoded.
 *
 * Input: six little-endian masks (24 bytes), then configuration space. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "shim.h"

int pci_bar_decode(struct pci_dev *d, int i);
void pci_bars_check(struct pci_dev *devs, unsigned n, uint8_t *clash);
extern void (*pci_host_cfg_written)(const struct pci_dev *d, uint16_t off,
				    unsigned width);

static uint8_t cfg[4096];
static uint32_t mask[6];
static uint16_t wr_lo, wr_hi; /* the registers decode of one BAR may write */
static bool wr_bad;

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static uint32_t rd32(unsigned off)
{
	uint32_t v;
	memcpy(&v, cfg + off, 4);
	return v;
}

/* the device: all ones written to a BAR register reads back as its mask;
 * the next write there (decode putting the address back) is kept as
 * written, even all ones */
static bool sizing[6];

static void model_written(const struct pci_dev *d, uint16_t off, unsigned width)
{
	if (off < wr_lo || off + width > wr_hi)
		wr_bad = true;
	if (width != 4 || off < PCI_BAR0 || off >= PCI_BAR0 + 24)
		return;
	unsigned i = (off - PCI_BAR0) / 4;
	if (!sizing[i] && rd32(off) == 0xffffffffu)
		memcpy(cfg + off, &mask[i], 4);
	sizing[i] = !sizing[i];
}

static void check_caps(struct pci_dev *d)
{
	uint8_t list[48];
	unsigned n = 0;
	uint64_t seen = 0;
	if (rd32(PCI_STATUS & ~3u) >> 16 & PCI_STATUS_CAP_LIST)
		for (unsigned p = cfg[PCI_CAP_PTR] & ~3u;
		     p >= 0x40 && !(seen >> (p - 0x40) / 4 & 1);
		     p = cfg[p + 1] & ~3u) {
			seen |= 1ull << (p - 0x40) / 4;
			list[n++] = (uint8_t)p;
		}
	/* every id on the list, and ones that are not */
	unsigned ids[52], nids = 0;
	for (unsigned k = 0; k < n; k++)
		ids[nids++] = cfg[list[k]];
	ids[nids++] = PCI_CAP_ID_MSI;
	ids[nids++] = PCI_CAP_ID_MSIX;
	ids[nids++] = PCI_CAP_ID_EXP;
	ids[nids++] = 0xff;
	for (unsigned k = 0; k < nids; k++) {
		uint8_t at = 0;
		for (unsigned m = 0; m < n; m++) {
			if (cfg[list[m]] != ids[k])
				continue;
			at = pci_find_cap(d, (uint8_t)ids[k], at);
			CHECK(at == list[m]);
		}
		CHECK(pci_find_cap(d, (uint8_t)ids[k], at) == 0);
	}
	for (unsigned p = 0x40; p < 0x100; p += 4)
		if (!(seen >> (p - 0x40) / 4 & 1))
			CHECK(pci_find_cap(d, cfg[p], (uint8_t)p) == 0);
}

struct want {
	uint64_t base, size;
	bool io, is64;
	int used;
};

/* what decode must report for BAR i, from the configuration before */
static struct want model_bar(int i, int last)
{
	struct want w = {.used = 1};
	uint32_t lo = rd32(PCI_BAR0 + 4 * i), mlo = mask[i];
	uint64_t base, size;
	w.io = lo & PCI_BAR_IO;
	w.is64 = !w.io && (lo >> 1 & 3) == 2;
	if (w.is64 && i == last)
		return (struct want){.used = 1};
	if (w.io) {
		base = lo & ~3u;
		size = mlo == 0 || mlo == ~0u
			   ? 0
			   : (0x10000 - (mlo & 0xfffc)) & 0xffff;
	} else if (!w.is64) {
		base = lo & ~15u;
		size = mlo == 0 || mlo == ~0u || !(mlo & ~15u)
			   ? 0
			   : (1ull << 32) - (mlo & ~15u);
	} else {
		w.used = 2;
		base =
		    ((uint64_t)rd32(PCI_BAR0 + 4 * i + 4) << 32 | lo) & ~15ull;
		size = -((uint64_t)mask[i + 1] << 32 | (mlo & ~15u));
	}
	if (size && !(size & (size - 1)) && base && !(base & (size - 1))) {
		w.base = base;
		w.size = size;
	}
	return w;
}

static bool overlap(const struct pci_bar *x, const struct pci_bar *y)
{
	return x->size && y->size && x->io == y->io &&
	       x->base <= y->base + (y->size - 1) &&
	       y->base <= x->base + (x->size - 1);
}

static void check_bars(struct pci_dev *d)
{
	unsigned ht = cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK;
	int nbars = ht == 0 ? 6 : ht == 1 ? 2 : 0;
	d->header_type = (uint8_t)ht;
	static uint8_t before[4096];
	memcpy(before, cfg, sizeof(cfg));
	memset(sizing, 0, sizeof(sizing));
	pci_host_cfg_written = model_written;
	for (int i = 0; i < nbars;) {
		struct want w = model_bar(i, nbars - 1);
		wr_lo = PCI_BAR0 + 4 * i;
		wr_hi = wr_lo + 4 * w.used;
		wr_bad = false;
		int used = pci_bar_decode(d, i);
		const struct pci_bar *b = &d->bar[i];
		CHECK(!wr_bad);
		CHECK(used == w.used);
		CHECK(b->base == w.base && b->size == w.size);
		if (b->size) {
			CHECK(b->io == w.io && b->is64 == w.is64);
			CHECK(!(b->size & (b->size - 1)));
			CHECK(!(b->base & (b->size - 1)));
			CHECK(b->base + (b->size - 1) >= b->base);
			if (!b->is64)
				CHECK(b->base + b->size <= 1ull << 32);
		}
		i += used;
	}
	pci_host_cfg_written = NULL;
	CHECK(!memcmp(before, cfg, sizeof(cfg)));
	struct pci_bar was[6];
	memcpy(was, d->bar, sizeof(was));
	uint8_t clash;
	pci_bars_check(d, 1, &clash);
	for (int i = 0; i < 6; i++) {
		bool hit = false;
		for (int j = 0; j < 6; j++)
			hit |= j != i && overlap(&was[i], &was[j]);
		if (hit)
			CHECK(d->bar[i].size == 0);
		else
			CHECK(d->bar[i].base == was[i].base &&
			      d->bar[i].size == was[i].size);
		for (int j = 0; j < i; j++)
			CHECK(!overlap(&d->bar[i], &d->bar[j]));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pci_dev d = {.cfg = cfg};
	shim_quiet = 1;
	memset(mask, 0, sizeof(mask));
	memset(cfg, 0, sizeof(cfg));
	if (size <= sizeof(mask)) {
		memcpy(mask, data, size);
	} else {
		memcpy(mask, data, sizeof(mask));
		size -= sizeof(mask);
		memcpy(cfg, data + sizeof(mask),
		       size < sizeof(cfg) ? size : sizeof(cfg));
	}
	check_caps(&d);
	check_bars(&d);
	return 0;
}
