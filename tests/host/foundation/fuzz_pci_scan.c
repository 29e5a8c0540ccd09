/* tests/host/foundation/fuzz_pci_scan.c — pci_init (kernel/pci/pci.c, with
 * pci_cfg.c and msix.c) over a hostile fabric, then a sequence of
 * pci_enable and MSI-X table writes, each step held against a model:
 *
 * - MCFG: one to four entries of segments 0 and 1, any bus ranges (the
 *   ones acpi_parse_mcfg would refuse, a range ending before it starts or
 *   overlapping an earlier one of its segment, are dropped here as it
 *   drops them), each with its own ECAM window;
 * - functions anywhere on those buses and off them, any header type and
 *   multi-function bit, bridges naming any secondary bus (loops, back,
 *   twice, into another entry, off every entry), a function answering at
 *   a second place too (one device decoding two addresses), or at every
 *   device number of its bus (one that ignores the Device Number: 32
 *   places, so a fabric holds more than PCI_MAX_DEVS), any BARs and
 *   sizing answers, an MSI-X capability with any size, BIR, offset, and
 *   quirks: memory decode that never turns on (and drops memory writes:
 *   PCIe Base 5.0 §7.5.1.1.3), a table that ignores mask writes or
 *   address/data writes (a step may switch any quirk on or off). Each
 *   function has 64 KiB of "device memory", at every address in ARENA's
 *   1 MiB that a well-formed memory BAR of it decodes (offset modulo
 *   64 KiB): all ones to reads, and writes lost, while its decode is off;
 * - platform devices' register pages (acpi_platform: an I/O APIC, the
 *   HPET, a VT-d unit), one to eight pages each, that a record may place
 *   at or just after the page its BAR0 register names;
 * - a PCI Express capability on a header other than type 0, first on the
 *   list, of any port type, with any Root Capabilities and Root Control,
 *   its Root registers inside the 256 bytes or past them;
 * - functions not ready: the quirk byte's top nibble n makes a function
 *   read Vendor ID 0x0001 (Configuration RRS, PCIe Base 5.0 §2.3.2, as
 *   0xffff0001) until the virtual clock is (n - 1) * 50 ms past the start
 *   of pci_init, then its ID (1-13: by 600 ms, within the scan's one
 *   wait of PCI_RRS_WAIT_MS), or all ones from 100 ms on (14: gone), or
 *   for good (15, as does an ID of vendor 0x0001 given with n = 0).
 *
 * A function answering at two places is two pci_devs entries (nothing in
 * configuration space tells them apart); their BARs coincide, so the
 * overlap check refuses both and neither gets memory decode or MSI-X.
 *
 * Oracle, after pci_init and after every step:
 * - found once: pci_devs is exactly the functions the scan rules reach
 *   (docs/pci.md "Buses and bridges"; the model's own walk), each place
 *   once, the first PCI_MAX_DEVS of them in scan order; the rest are
 *   counted in one line, never kept;
 * - RRS Software Visibility on in every Root Port the scan reached, in
 *   the table or past it, whose Root Capabilities offer it inside the 256
 *   bytes (other Root Control bits kept), and every other Root Control
 *   as firmware left it;
 * - at most one failed-MSI-X-write line per function, over pci_init and
 *   every step;
 * - each bus of a segment scanned once (function 0 of its 32 devices
 *   mapped once: at most 32 maps a bus), nothing mapped in ECAM outside
 *   the buses of the entries given, nothing written to an empty slot;
 * - every BAR kept is off RAM, every entry's ECAM, the interrupt range
 *   0xfee00000-0xfeefffff, every platform register page and every other
 *   BAR kept (of any function);
 * - memory decode is off, and never turned on after pci_init, for a
 *   function with a memory BAR the device decodes that capOS did not keep;
 * - a function not ready is found exactly when its final ID is a
 *   function's (above); pci_init takes at most 1000 ms (PCI_RRS_WAIT_MS)
 *   and 1 ms more of virtual time however many there are, at least
 *   1000 ms when the scan reaches one that never answers, under 1 ms
 *   when there are none; at most 9 lines (PCI_RRS_LINES and the sum)
 *   mention configuration request retry;
 * - every MSI-X entry the kernel believes masked (masked at enumeration,
 *   by a pci_msix_entry_set that returned true, or all when
 *   msix_fn_masked) is masked in the device: its mask bit or the
 *   function's Function Mask;
 * - lines of pci_init bounded by the table: every line that names a
 *   function names one kept in pci_devs (the retry lines aside, bounded
 *   above), at most 5 others (the sums at the end), and at most
 *   PCI_LINES_A_FN (17) a function kept in all, however many functions
 *   lie past PCI_MAX_DEVS and whatever their bridges and capabilities;
 * - a kept function's capability list that loops or points into the
 *   header (the MSI-X capability's next pointer, record byte 7's bits
 *   0-1) is one line, over pci_init and two walks of its vendor
 *   capabilities after it (as a driver's); a sound one, none.
 *
 * Input: a 14-byte header (entries, record count), records of NREC_BYTES
 * (parse_rec), then 4-byte steps (LLVMFuzzerTestOneInput). Seeds are in
 * tests/host/foundation/corpus/fuzz_pci_scan/. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/acpi/acpi.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "shim.h"

extern void (*pci_host_cfg_written)(const struct pci_dev *d, uint16_t off,
				    unsigned width);
extern void (*pci_host_msix_written)(volatile uint32_t *p);

struct acpi_mcfg_seg acpi_ecam[4];
unsigned acpi_necam;
struct acpi_range acpi_platform[ACPI_MAX_PLATFORM];
unsigned acpi_nplatform;

#define CHECK(c, what)                                                         \
	do {                                                                   \
		if (!(c)) {                                                    \
			fflush(stdout);                                        \
			fprintf(stderr, "fuzz_pci_scan: %s\n", what);          \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

#define NREC 12
_Static_assert(NREC <= ACPI_MAX_PLATFORM, "a platform range per record");
#define NREC_BYTES 72
#define WIN(k)	   (0x4000000000ull + (uint64_t)(k)*0x10000000ull)
#define ARENA	   0xc0000000ull
#define SLOT	   0x10000u

enum { Q_MEM_STUCK = 1, Q_MASK_IGNORED = 2, Q_MSG_IGNORED = 4, Q_ALIAS = 8 };

static struct rec {
	uint8_t seg, bus, devfn, abus, adevfn, quirks, capoff;
	uint32_t mask[6];
	bool sizing[6];
	bool decode, mem_on_seen;
	bool ghost;	   /* answers at every device number of its bus */
	bool reached;	   /* the model's scan reached it (kept or not) */
	uint8_t pcie;	   /* its PCI Express capability (0: none) */
	uint16_t rtctl0;   /* Root Control as firmware left it */
	bool rrs;	   /* reads Vendor ID 0x0001 until ready_ns */
	uint64_t ready_ns; /* after pci_init starts; UINT64_MAX: never */
	uint32_t final_id; /* what it reads from then on */
	uint8_t cfg[4096];
	uint8_t vis[SLOT]; /* what the CPU reads at the slot */
	uint8_t dev[SLOT]; /* what the device holds there */
} recs[NREC];
static unsigned nrec;
static uint8_t absent_fn[4096];
static bool absent_written;

/* every ECAM map: (segment, bus) function-0 maps counted; bad: outside */
static uint8_t fn0_maps[2][256];
static bool ecam_outside;

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static bool holds_ram(uint64_t a, uint64_t len)
{
	uint64_t last = a + (len - 1);
	return len && (a < 0x80000000ull ||
		       (a <= 0x1ffffffffull && 0x100000000ull <= last));
}

bool mm_holds_ram(uint64_t phys, uint64_t len)
{
	return holds_ram(phys, len);
}

static struct rec *rec_at(unsigned seg, unsigned bus, unsigned devfn)
{
	for (unsigned i = 0; i < nrec; i++) {
		struct rec *r = &recs[i];
		if (r->seg == seg && ((r->bus == bus && r->devfn == devfn) ||
				      (r->ghost && r->bus == bus &&
				       (r->devfn & 7) == (devfn & 7)) ||
				      (r->quirks & Q_ALIAS && r->abus == bus &&
				       r->adevfn == devfn)))
			return r;
	}
	return NULL;
}

static const struct acpi_mcfg_seg *entry_of(unsigned seg, unsigned bus)
{
	for (unsigned i = 0; i < acpi_necam; i++)
		if (acpi_ecam[i].seg == seg && acpi_ecam[i].bus_start <= bus &&
		    bus <= acpi_ecam[i].bus_end)
			return &acpi_ecam[i];
	return NULL;
}

/* [phys, +len) lies in a memory BAR of r as its registers and sizing
 * answers say, one well formed (a power of two aligned) */
static bool rec_decodes(const struct rec *r, uint64_t phys, uint64_t len)
{
	unsigned ht = r->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK;
	unsigned nbars = ht == 0 ? 6 : ht == 1 ? 2 : 0;
	for (unsigned i = 0; i < nbars; i++) {
		uint32_t lo = rd32(r->cfg + PCI_BAR0 + 4 * i);
		if (lo & 1)
			continue;
		uint64_t base = lo & ~15u, mask = r->mask[i] & ~15u;
		if ((lo >> 1 & 3) == 2 && i + 1 < nbars) {
			i++;
			base |= (uint64_t)rd32(r->cfg + PCI_BAR0 + 4 * i) << 32;
			mask |= (uint64_t)r->mask[i] << 32;
		} else {
			mask |= 0xffffffff00000000ull;
		}
		uint64_t size = ~mask + 1;
		if ((uint32_t)mask && size && !(size & (size - 1)) &&
		    !(base & (size - 1)) && phys >= base &&
		    phys - base < size && len <= size - (phys - base))
			return true;
	}
	return false;
}

/* the function whose BAR kept by the kernel holds [phys, +len): the
 * kernel keeps no two that overlap, and maps tables only in them */
static struct rec *rec_kept(uint64_t phys, uint64_t len)
{
	for (unsigned a = 0; a < pci_ndevs; a++)
		for (unsigned i = 0; i < 6; i++) {
			const struct pci_bar *b = &pci_devs[a].bar[i];
			if (b->size && !b->io && phys >= b->base &&
			    phys - b->base < b->size &&
			    len <= b->size - (phys - b->base))
				for (unsigned k = 0; k < nrec; k++)
					if (recs[k].cfg == pci_devs[a].cfg)
						return &recs[k];
		}
	return NULL;
}

/* device memory: each function's own 64 KiB, at every address one of
 * its BARs decodes in the arena (offset modulo 64 KiB); where a BAR the
 * kernel kept lies, that function's */
void *mm_map_mmio(uint64_t phys, size_t len)
{
	if (phys >= ARENA && phys - ARENA < 16 * SLOT) {
		uint64_t o = (phys - ARENA) % SLOT;
		if (len > SLOT - o)
			return NULL;
		struct rec *r = rec_kept(phys, len);
		for (unsigned k = 0; !r && k < nrec; k++)
			if (rec_decodes(&recs[k], phys, len))
				r = &recs[k];
		if (r)
			return r->vis + o;
		return NULL;
	}
	for (unsigned k = 0; k < acpi_necam; k++) {
		const struct acpi_mcfg_seg *s = &acpi_ecam[k];
		if (phys < s->base || phys - s->base >= 256u << 20)
			continue;
		uint64_t o = phys - s->base;
		unsigned bus = o >> 20, devfn = o >> 12 & 0xff;
		if (phys < acpi_ecam_lo(s) || phys > acpi_ecam_hi(s) ||
		    len != 4096 || (o & 0xfff))
			ecam_outside = true;
		if ((devfn & 7) == 0 && s->seg < 2)
			fn0_maps[s->seg][bus]++;
		struct rec *r = rec_at(s->seg, bus, devfn);
		if (r)
			return r->cfg;
		memset(absent_fn, 0xff, sizeof(absent_fn));
		return absent_fn;
	}
	return NULL;
}

static struct rec *rec_of(const struct pci_dev *d)
{
	for (unsigned i = 0; i < nrec; i++)
		if (d->cfg == recs[i].cfg)
			return &recs[i];
	return NULL;
}

/* the device's answer to configuration writes: BAR sizing, a Command
 * whose memory decode maps or unmaps its slot (or never turns on) */
static void cfg_written(const struct pci_dev *d, uint16_t off, unsigned width)
{
	struct rec *r = rec_of(d);
	if (!r) {
		absent_written = absent_written || d->cfg == absent_fn;
		return;
	}
	if (width == 4 && off >= PCI_BAR0 && off < PCI_BAR0 + 24) {
		unsigned i = (off - PCI_BAR0) / 4;
		if (!r->sizing[i] && rd32(r->cfg + off) == 0xffffffffu)
			memcpy(r->cfg + off, &r->mask[i], 4);
		r->sizing[i] = !r->sizing[i];
	}
	if (off != PCI_COMMAND)
		return;
	if (r->quirks & Q_MEM_STUCK)
		r->cfg[PCI_COMMAND] &= ~PCI_COMMAND_MEM;
	bool on = r->cfg[PCI_COMMAND] & PCI_COMMAND_MEM;
	if (on && !r->decode)
		memcpy(r->vis, r->dev, SLOT);
	else if (!on && r->decode)
		memset(r->vis, 0xff, SLOT);
	r->decode = on;
	r->mem_on_seen = r->mem_on_seen || on;
}

/* a table write: lost with decode off, or changed by the quirks */
static void msix_written(volatile uint32_t *p)
{
	for (unsigned i = 0; i < nrec; i++) {
		struct rec *r = &recs[i];
		uint8_t *b = (uint8_t *)(uintptr_t)p;
		if (b < r->vis || b >= r->vis + SLOT)
			continue;
		size_t o = (size_t)(b - r->vis);
		if (!r->decode) {
			*p = 0xffffffffu;
			return;
		}
		if (o % 16 == PCI_MSIX_ENTRY_CTRL && r->quirks & Q_MASK_IGNORED)
			*p = rd32(r->dev + o) & PCI_MSIX_ENTRY_CTRL_MASKBIT
				 ? *p | PCI_MSIX_ENTRY_CTRL_MASKBIT
				 : *p & ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
		if (o % 16 != PCI_MSIX_ENTRY_CTRL && r->quirks & Q_MSG_IGNORED)
			memcpy((void *)b, r->dev + o, 4);
		memcpy(r->dev + o, (const void *)b, 4);
		return;
	}
	CHECK(0, "MSI-X write outside every function's memory");
}

/* ---- the model's scan: docs/pci.md "Buses and bridges" ---------------- */
static bool want[2][256][256];
static uint64_t mscanned[4];
/* functions the model's scan reached, and those past PCI_MAX_DEVS */
static unsigned mfound, mdropped;

static bool present(uint32_t id)
{
	uint16_t v = id & 0xffff;
	return id && id != 0xffff0000u && v != 0xffff && v != 1;
}

/* the scan reaches the place of a function that never answers: the
 * scan's whole wait is spent */
static bool mwait_all;

static void model_scan(unsigned seg, unsigned bus, int depth)
{
	if (!entry_of(seg, bus) || (mscanned[bus / 64] >> bus % 64 & 1))
		return;
	mscanned[bus / 64] |= 1ull << bus % 64;
	for (unsigned dev = 0; dev < 32; dev++) {
		bool multi = false;
		for (unsigned fn = 0; fn < (multi ? 8u : 1u); fn++) {
			struct rec *r = rec_at(seg, bus, dev << 3 | fn);
			if (r && r->rrs && r->ready_ns == UINT64_MAX)
				mwait_all = true;
			if (!r || !present(r->final_id))
				continue;
			uint8_t ht = r->cfg[PCI_HEADER_TYPE];
			multi = multi || (fn == 0 && ht & PCI_HEADER_MULTI);
			/* the first PCI_MAX_DEVS are kept, the rest counted */
			if (mfound++ < PCI_MAX_DEVS)
				want[seg][bus][dev << 3 | fn] = true;
			else
				mdropped++;
			r->reached = true;
			unsigned sec = r->cfg[PCI_SECONDARY_BUS];
			if ((ht & PCI_HEADER_TYPE_MASK) == 1 && sec > bus &&
			    !(mscanned[sec / 64] >> sec % 64 & 1) &&
			    entry_of(seg, sec) && depth < 16)
				model_scan(seg, sec, depth + 1);
		}
	}
}

/* ---- oracle -------------------------------------------------------------
 */
static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a <= b + (blen - 1) && b <= a + (alen - 1);
}

/* the kernel's belief per function and entry: masked (1) or not */
static uint8_t believed[PCI_MAX_DEVS][2048];

/* does the device decode memory BAR i of r: an address in it, or an
 * answer to sizing (all ones is none) */
static bool decodes_mem(const struct rec *r, const struct pci_dev *d,
			unsigned i)
{
	unsigned nbars = d->header_type == 0 ? 6 : d->header_type == 1 ? 2 : 0;
	for (unsigned j = 0; j < nbars; j++) {
		uint32_t lo = rd32(r->cfg + PCI_BAR0 + 4 * j);
		bool is64 = !(lo & 1) && (lo >> 1 & 3) == 2;
		if (j == i)
			return !(lo & 1) &&
			       ((lo & ~15u) ||
				(r->mask[j] && r->mask[j] != ~0u) ||
				(is64 && j + 1 < nbars &&
				 rd32(r->cfg + PCI_BAR0 + 4 * j + 4)));
		if (is64 && j + 1 < nbars)
			j++;
	}
	return false;
}

static void check_state(bool after_init)
{
	for (unsigned a = 0; a < pci_ndevs; a++) {
		const struct pci_dev *d = &pci_devs[a];
		struct rec *r = rec_of(d);
		CHECK(r, "pci_devs entry is no device's");
		/* BARs */
		bool refused_mem = false;
		for (unsigned i = 0; i < 6; i++) {
			const struct pci_bar *b = &d->bar[i];
			if (!b->size) {
				refused_mem =
				    refused_mem || decodes_mem(r, d, i);
				continue;
			}
			CHECK(b->base + (b->size - 1) >= b->base, "BAR wraps");
			if (!b->io) {
				CHECK(!holds_ram(b->base, b->size),
				      "BAR kept on RAM");
				CHECK(!overlap(b->base, b->size, MSI_ADDR_BASE,
					       0x100000),
				      "BAR kept on the interrupt range");
				for (unsigned k = 0; k < acpi_nplatform; k++) {
					const struct acpi_range *q =
					    &acpi_platform[k];
					CHECK(!overlap(b->base, b->size, q->lo,
						       q->hi - q->lo + 1),
					      "BAR kept on a platform device's "
					      "registers");
				}
				for (unsigned k = 0; k < acpi_necam; k++) {
					const struct acpi_mcfg_seg *s =
					    &acpi_ecam[k];
					CHECK(!overlap(b->base, b->size,
						       acpi_ecam_lo(s),
						       acpi_ecam_hi(s) -
							   acpi_ecam_lo(s) + 1),
					      "BAR kept on ECAM");
				}
			}
			for (unsigned c = a; c < pci_ndevs; c++)
				for (unsigned j = c == a ? i + 1 : 0; j < 6;
				     j++) {
					const struct pci_bar *y =
					    &pci_devs[c].bar[j];
					CHECK(y->io != b->io ||
						  !overlap(b->base, b->size,
							   y->base, y->size),
					      "two BARs kept overlap");
				}
		}
		/* decode (a bridge's stays on: it forwards to its buses) */
		if (refused_mem && d->header_type == 0) {
			CHECK(!r->decode, "memory decode on with a refused "
					  "memory BAR");
			CHECK(after_init || !r->mem_on_seen,
			      "memory decode turned on with a refused memory "
			      "BAR");
		}
		/* MSI-X */
		if (!d->msix_table)
			continue;
		const uint8_t *t = (const uint8_t *)(uintptr_t)d->msix_table;
		struct rec *slot = NULL;
		for (unsigned k = 0; k < nrec; k++)
			if (t >= recs[k].vis && t < recs[k].vis + SLOT)
				slot = &recs[k];
		CHECK(slot, "MSI-X table in no device memory");
		const struct pci_bar *tb = &d->bar[d->msix_table_bar];
		CHECK(d->msix_table_bar < 6 && tb->size && !tb->io &&
			  d->msix_table_off + 16ull * d->msix_size <= tb->size,
		      "MSI-X table outside a BAR kept");
		bool fm = rec_of(d)->cfg[d->cap_msix + PCI_MSIX_FLAGS + 1] &
			  PCI_MSIX_FLAGS_MASKALL >> 8;
		size_t o = (size_t)(t - slot->vis);
		for (unsigned i = 0; i < d->msix_size; i++) {
			if (!believed[a][i] && !d->msix_fn_masked)
				continue;
			bool m =
			    fm || (o + 16 * i + 16 <= SLOT &&
				   slot->dev[o + 16 * i + PCI_MSIX_ENTRY_CTRL] &
				       PCI_MSIX_ENTRY_CTRL_MASKBIT);
			CHECK(m, "MSI-X entry the kernel believes masked is "
				 "not");
		}
	}
}

static void check_scan(void)
{
	CHECK(!ecam_outside, "ECAM access outside the entries given");
	CHECK(!absent_written, "a write to an absent function");
	for (unsigned s = 0; s < 2; s++)
		for (unsigned b = 0; b < 256; b++)
			CHECK(fn0_maps[s][b] <= 32, "a bus scanned twice");
	static bool got[2][256][256];
	memset(got, 0, sizeof(got));
	for (unsigned a = 0; a < pci_ndevs; a++) {
		const struct pci_dev *d = &pci_devs[a];
		CHECK(d->seg < 2, "segment");
		uint8_t devfn = (uint8_t)(d->dev << 3 | d->fn);
		CHECK(!got[d->seg][d->bus][devfn], "a function found twice");
		got[d->seg][d->bus][devfn] = true;
	}
	CHECK(!memcmp(got, want, sizeof(got)),
	      "functions found are not the ones the scan rules reach");
}

static void parse_rec(struct rec *r, const uint8_t *p)
{
	memset(r, 0, sizeof(*r));
	r->seg = p[0] & 1;
	r->bus = p[1];
	r->devfn = p[2];
	r->quirks = p[5];
	r->abus = p[70];
	r->adevfn = p[71];
	/* p[0] bit 1: a platform device's registers, 2^(bits 2-3) pages from
	 * the page BAR0's register names plus bits 4-6 pages */
	if (p[0] & 2) {
		uint64_t base = (rd32(p + 12) & ~0xfffu) +
				((uint64_t)(p[0] >> 4 & 7) << 12);
		acpi_platform[acpi_nplatform++] = (struct acpi_range){
		    .base = base,
		    .lo = base,
		    .hi = base + ((0x1000ull << (p[0] >> 2 & 3)) - 1),
		    .what = "platform"};
	}
	uint8_t *c = r->cfg;
	uint32_t id = rd32(p + 8) ^ 0x12348086u; /* zeros: a real function */
	memcpy(c, &id, 4);
	/* the quirk byte's top nibble n: not ready (reads 0xffff0001) until
	 * (n - 1) * 50 ms, then id (1-13); until 100 ms, then all ones
	 * (14); for good (15); 0: id from the start (which may itself be
	 * Vendor ID 0x0001, for good) */
	unsigned n = p[5] >> 4;
	r->final_id = n == 14 ? 0xffffffffu : id;
	r->rrs = n || (id & 0xffff) == 1;
	r->ready_ns = n == 0 || n == 15 ? UINT64_MAX
		      : n == 14		? 100000000ull
					: (n - 1) * 50000000ull;
	if (n == 15)
		r->final_id = 0xffff0001u;
	if (n) {
		const uint32_t rrs = 0xffff0001u;
		memcpy(c, &rrs, 4);
	}
	c[PCI_COMMAND] = p[6] & (PCI_COMMAND_MEM | PCI_COMMAND_IO);
	c[PCI_HEADER_TYPE] = p[3];
	unsigned ht = p[3] & PCI_HEADER_TYPE_MASK;
	unsigned nbars = ht == 0 ? 6 : ht == 1 ? 2 : 0;
	for (unsigned i = 0; i < nbars; i++) {
		memcpy(c + PCI_BAR0 + 4 * i, p + 12 + 4 * i, 4);
		memcpy(&r->mask[i], p + 36 + 4 * i, 4);
	}
	if (ht == 1)
		c[PCI_SECONDARY_BUS] = p[4];
	unsigned cap = p[7] & 0xfc;
	if (cap >= 0x40) {
		c[PCI_STATUS] = PCI_STATUS_CAP_LIST;
		c[PCI_CAP_PTR] = (uint8_t)cap;
		c[cap] = PCI_CAP_ID_MSIX;
		memcpy(c + cap + 2, p + 60, cap + 2 < 0xfe ? 2 : 0);
		if (cap + 12 <= 0x100) {
			memcpy(c + cap + 4, p + 62, 4);
			memcpy(c + cap + 8, p + 66, 4);
		}
		/* p[7] bits 0-1: its next pointer ends the list (0), comes
		 * back to it (1), points into the header (2), or goes back
		 * to the head of the list (3: the PCI Express capability
		 * below when there is one) */
		c[cap + 1] = (p[7] & 3) == 2 ? 0x10
			     : (p[7] & 3)    ? (uint8_t)cap
					     : 0;
	}
	/* p[6] bit 2: the function ignores the Device Number, answering at
	 * every device of its bus with its own function number */
	r->ghost = p[6] & 4;
	/* a header other than type 0 (no BARs past BAR1): a PCI Express
	 * capability at p[20] (0x40 up; none where it would share a byte
	 * with the MSI-X one), first on the list, port type p[21]'s low
	 * nibble, Root Capabilities p[22..23], Root Control p[24..25]. Its
	 * Root registers may lie past 0xff */
	unsigned pe = p[20] & 0xfc;
	if (ht != 0 && pe >= 0x40 &&
	    !(cap >= 0x40 && pe < cap + 12 && cap < pe + 0x20)) {
		uint16_t fl = (uint16_t)((p[21] & 0xf) << 4 | 2);
		r->pcie = (uint8_t)pe;
		c[PCI_STATUS] = PCI_STATUS_CAP_LIST;
		c[pe] = PCI_CAP_ID_EXP;
		c[pe + 1] = cap >= 0x40 ? (uint8_t)cap : 0;
		c[PCI_CAP_PTR] = (uint8_t)pe;
		if (cap >= 0x40 && (p[7] & 3) == 3)
			c[cap + 1] = (uint8_t)pe;
		memcpy(c + pe + PCI_EXP_FLAGS, &fl, 2);
		memcpy(c + pe + PCI_EXP_RTCAP, p + 22, 2);
		memcpy(c + pe + PCI_EXP_RTCTL, p + 24, 2);
		memcpy(&r->rtctl0, p + 24, 2);
	}
	r->decode =
	    !(r->quirks & Q_MEM_STUCK) && c[PCI_COMMAND] & PCI_COMMAND_MEM;
	if (!r->decode)
		c[PCI_COMMAND] &= ~PCI_COMMAND_MEM;
	/* the table as firmware left it: every entry unmasked */
	memset(r->dev, 0, SLOT);
	if (r->decode)
		memcpy(r->vis, r->dev, SLOT);
	else
		memset(r->vis, 0xff, SLOT);
}

/* the clock at the start of pci_init; lines about retries, failed MSI-X
 * entry writes and functions past PCI_MAX_DEVS (the number said) */
static uint64_t init_ns;
static unsigned rrs_lines, msix_lines, dropped_lines, dropped_said;
/* the functions a broken-capability-list line named, in order */
#define CAP_LINES 1024
static struct {
	unsigned seg, bus, dev, fn;
} cap_said[CAP_LINES];
static unsigned ncap_lines;

/* pci_init's lines: those naming a function (its address, the first
 * NAMED kept), the others, and all of them. A function kept says at most
 * 17: a line a BAR register (sizing, a claim refused or the bar line), 2
 * capabilities too long, and one each of a capability list that stops
 * the walk, RRS Software Visibility, a bridge not followed, decode off
 * and MSI-X; the overlap check says at most one line a BAR, 6 a function */
#define PCI_LINES_A_FN 17
#define NAMED	       2048
static bool in_init;
static unsigned init_lines, other_lines, nnamed;
static struct {
	unsigned seg, bus, dev, fn;
} named[NAMED];

static void rrs_ready(void)
{
	for (unsigned i = 0; i < nrec; i++)
		if (recs[i].rrs && shim_clock_ns - init_ns >= recs[i].ready_ns)
			memcpy(recs[i].cfg, &recs[i].final_id, 4);
}

static void on_line(const char *line)
{
	unsigned max, n, sg, b, dv, f;
	if (in_init && !strstr(line, "configuration request retry")) {
		init_lines++;
		if (sscanf(line, "pci %x:%x:%x.%x", &sg, &b, &dv, &f) == 4 ||
		    sscanf(line, "bar %x:%x:%x.%x", &sg, &b, &dv, &f) == 4) {
			if (nnamed < NAMED)
				named[nnamed].seg = sg, named[nnamed].bus = b,
				named[nnamed].dev = dv, named[nnamed].fn = f;
			nnamed++;
		} else {
			other_lines++;
		}
	}
	rrs_lines += strstr(line, "configuration request retry") != NULL;
	msix_lines += strstr(line, ": MSI-X entry ") != NULL;
	if (strstr(line, ": capability list ") &&
	    sscanf(line, "pci %x:%x:%x.%x", &sg, &b, &dv, &f) == 4) {
		CHECK(ncap_lines < CAP_LINES,
		      "capability list lines unbounded");
		cap_said[ncap_lines].seg = sg, cap_said[ncap_lines].bus = b;
		cap_said[ncap_lines].dev = dv, cap_said[ncap_lines].fn = f;
		ncap_lines++;
	}
	if (sscanf(line, "pci: more than %u functions; %u more ignored", &max,
		   &n) == 2) {
		dropped_lines++;
		dropped_said = n;
	}
}

static void check_lines(void)
{
	CHECK(init_lines <= PCI_LINES_A_FN * pci_ndevs + 5,
	      "pci_init said more lines than the functions kept bound");
	CHECK(other_lines <= 5, "more than 5 lines name no function");
	for (unsigned i = 0; i < nnamed && i < NAMED; i++) {
		bool kept = false;
		for (unsigned a = 0; a < pci_ndevs && !kept; a++)
			kept = pci_devs[a].seg == named[i].seg &&
			       pci_devs[a].bus == named[i].bus &&
			       pci_devs[a].dev == named[i].dev &&
			       pci_devs[a].fn == named[i].fn;
		CHECK(kept, "a line names a function not kept (past "
			    "PCI_MAX_DEVS)");
	}
}

/* the model's walk of r's capability list: it loops or points into the
 * header (below 0x40), each pointer's bottom two bits masked off */
static bool caps_broken(const struct rec *r)
{
	bool seen[256] = {0};
	if (!(r->cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return false;
	for (unsigned p = r->cfg[PCI_CAP_PTR] & 0xfc; p;
	     p = r->cfg[p + 1] & 0xfc) {
		if (p < 0x40 || seen[p])
			return true;
		seen[p] = true;
	}
	return false;
}

/* a kept function whose capability list is broken is one line, over
 * pci_init and every walk after it (a driver's); one that is not, none */
static void check_cap_lines(void)
{
	for (unsigned a = 0; a < pci_ndevs; a++) {
		const struct pci_dev *d = &pci_devs[a];
		unsigned n = 0;
		for (unsigned i = 0; i < ncap_lines; i++)
			n += cap_said[i].seg == d->seg &&
			     cap_said[i].bus == d->bus &&
			     cap_said[i].dev == d->dev &&
			     cap_said[i].fn == d->fn;
		CHECK(n <= 1, "a function's broken capability list said "
			      "more than once");
		CHECK(n == caps_broken(rec_of(d)),
		      "a broken capability list not said (or a sound one "
		      "said)");
	}
}

/* RRS Software Visibility: on in every Root Port (a type 1 header whose
 * PCI Express capability says port type 4) the scan reached, kept or past
 * PCI_MAX_DEVS, whose Root Capabilities offer it and lie inside the 256
 * bytes, the other Root Control bits kept; every other function's Root
 * Control bytes as firmware left them */
static void check_rrs_sv(void)
{
	for (unsigned i = 0; i < nrec; i++) {
		const struct rec *r = &recs[i];
		if (!r->pcie)
			continue;
		uint16_t fl, rtcap, rtctl;
		memcpy(&fl, r->cfg + r->pcie + PCI_EXP_FLAGS, 2);
		memcpy(&rtcap, r->cfg + r->pcie + PCI_EXP_RTCAP, 2);
		memcpy(&rtctl, r->cfg + r->pcie + PCI_EXP_RTCTL, 2);
		bool port =
		    r->reached &&
		    (r->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == 1 &&
		    (fl >> 4 & 0xf) == PCI_EXP_TYPE_ROOT_PORT &&
		    r->pcie + PCI_EXP_RTCAP + 2 <= 0x100;
		if (port && rtcap & PCI_EXP_RTCAP_RRS_SV)
			CHECK(rtctl == (r->rtctl0 | PCI_EXP_RTCTL_RRS_SVE),
			      "a Root Port offering RRS Software Visibility "
			      "did not get it (or lost other bits)");
		else
			CHECK(rtctl == r->rtctl0,
			      "Root Control written where RRS Software "
			      "Visibility is not offered");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shim_quiet = !getenv("FUZZ_VERBOSE");
	static uint8_t hdr[14];
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, data, size < sizeof(hdr) ? size : sizeof(hdr));
	size_t at = size < sizeof(hdr) ? size : sizeof(hdr);
	/* entries, dropped as acpi_parse_mcfg drops them */
	acpi_necam = 0;
	for (unsigned k = 0; k <= hdr[0] % 4u; k++) {
		struct acpi_mcfg_seg s = {.base = WIN(k),
					  .seg = hdr[1 + 3 * k] & 1,
					  .bus_start = hdr[2 + 3 * k],
					  .bus_end = hdr[3 + 3 * k]};
		bool ok = s.bus_start <= s.bus_end;
		for (unsigned j = 0; j < acpi_necam; j++)
			ok = ok && !(acpi_ecam[j].seg == s.seg &&
				     acpi_ecam[j].bus_start <= s.bus_end &&
				     s.bus_start <= acpi_ecam[j].bus_end);
		if (ok)
			acpi_ecam[acpi_necam++] = s;
	}
	nrec = hdr[13] % (NREC + 1);
	acpi_nplatform = 0; /* at most one per record */
	for (unsigned i = 0; i < nrec; i++) {
		uint8_t p[NREC_BYTES] = {0};
		size_t n = size - at < NREC_BYTES ? size - at : NREC_BYTES;
		memcpy(p, data + at, n);
		at += n;
		parse_rec(&recs[i], p);
	}
	memset(want, 0, sizeof(want));
	mwait_all = false;
	mfound = mdropped = 0;
	bool any_rrs = false;
	for (unsigned i = 0; i < nrec; i++)
		any_rrs = any_rrs || recs[i].rrs;
	for (unsigned i = 0; i < acpi_necam; i++) {
		bool seen = false;
		for (unsigned j = 0; j < i; j++)
			seen = seen || acpi_ecam[j].seg == acpi_ecam[i].seg;
		if (seen)
			continue;
		memset(mscanned, 0, sizeof(mscanned));
		for (unsigned j = i; j < acpi_necam; j++)
			if (acpi_ecam[j].seg == acpi_ecam[i].seg)
				model_scan(acpi_ecam[i].seg,
					   acpi_ecam[j].bus_start, 0);
	}
	memset(fn0_maps, 0, sizeof(fn0_maps));
	ecam_outside = absent_written = false;
	pci_host_cfg_written = cfg_written;
	pci_host_msix_written = msix_written;
	shim_delay_hook = rrs_ready;
	shim_line_hook = on_line;
	rrs_lines = msix_lines = dropped_lines = dropped_said = 0;
	ncap_lines = 0;
	init_ns = shim_clock_ns;
	in_init = true;
	init_lines = other_lines = nnamed = 0;
	pci_init();
	in_init = false;
	uint64_t took = shim_clock_ns - init_ns;
	shim_delay_hook = NULL;
	CHECK(took <= 1001000000ull, "the scan waited past PCI_RRS_WAIT_MS");
	/* time_now_us rounds down: the deadline may come up to 1 µs early */
	CHECK(!mwait_all || took >= 999999000ull,
	      "a function never ready skipped before PCI_RRS_WAIT_MS");
	CHECK(any_rrs || took < 1000000ull, "the scan waited for nothing");
	CHECK(rrs_lines <= 9, "more than PCI_RRS_LINES lines and a sum");
	check_lines();
	check_scan();
	CHECK(pci_ndevs == (mfound < PCI_MAX_DEVS ? mfound : PCI_MAX_DEVS),
	      "not every function up to PCI_MAX_DEVS kept");
	CHECK(mdropped ? dropped_lines == 1 && dropped_said == mdropped
		       : !dropped_lines,
	      "functions past PCI_MAX_DEVS not counted in one line");
	check_rrs_sv();
	/* each kept function's vendor capabilities walked twice, as
	 * virtio_pci's bring-up walks them */
	for (unsigned a = 0; a < pci_ndevs; a++)
		for (unsigned k = 0; k < 2; k++)
			for (uint8_t at =
				 pci_find_cap(&pci_devs[a], PCI_CAP_ID_VNDR, 0);
			     at; at = pci_find_cap(&pci_devs[a],
						   PCI_CAP_ID_VNDR, at))
				;
	check_cap_lines();
	memset(believed, 1, sizeof(believed));
	check_state(true);
	for (unsigned i = 0; i < nrec; i++)
		recs[i].mem_on_seen = false;
	/* steps: pci_enable, MSI-X entry writes, a device changing its mind */
	for (; pci_ndevs && size - at >= 4; at += 4) {
		const uint8_t *s = data + at;
		unsigned a = s[1] % pci_ndevs;
		if (!shim_quiet)
			printf("step %u %u %u %u\n", s[0] % 4, a, s[2], s[3]);
		struct pci_dev *d = &pci_devs[a];
		switch (s[0] % 4) {
		case 0:
			pci_enable(d, s[2] & 1, s[2] & 2, false);
			break;
		case 1: {
			unsigned i =
			    d->msix_size ? s[2] % (d->msix_size + 1) : s[2];
			bool m = s[3] & 1;
			const uint32_t msg[3] = {MSI_ADDR_BASE | s[3] << 12, 0,
						 s[2]};
			bool ok =
			    pci_msix_entry_set(d, i, m, s[3] & 2 ? msg : NULL);
			if (ok)
				believed[a][i] = m;
			break;
		}
		case 2:
			rec_of(d)->quirks ^= 1u << s[2] % 3;
			break;
		default:
			pci_enable(d, false, false, false);
		}
		check_state(false);
	}
	CHECK(msix_lines <= pci_ndevs,
	      "a function's failed MSI-X writes said more than once");
	shim_line_hook = NULL;
	pci_host_cfg_written = NULL;
	pci_host_msix_written = NULL;
	return 0;
}
