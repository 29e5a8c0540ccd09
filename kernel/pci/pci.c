/* kernel/pci/pci.c — enumerate every function through ECAM (PCIe Base 5.0
 * §7.2.2), following bridges to their secondary buses; decode BARs and
 * find the MSI, MSI-X and PCIe capabilities. Firmware has assigned bus
 * numbers and BAR addresses; capOS keeps them. */
#include "kernel/pci/pci.h"
#include "kernel/acpi/acpi.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci_reg.h"
#include "kernel/time/time.h"

struct pci_dev pci_devs[PCI_MAX_DEVS];
unsigned pci_ndevs;

int pci_bar_decode(struct pci_dev *d, int i);
void pci_bars_check(struct pci_dev *devs, unsigned n, uint8_t *clash);
void pci_bar_refuse(struct pci_dev *d, int i);

/* the MCFG entry that holds bus of segment seg, NULL if none: a segment's
 * buses may be split over several entries, each with its own base
 * (acpi_parse_mcfg kept no two whose buses overlap) */
static const struct acpi_mcfg_seg *ecam_entry(uint16_t seg, unsigned bus)
{
	for (unsigned i = 0; i < acpi_necam; i++)
		if (acpi_ecam[i].seg == seg && acpi_ecam[i].bus_start <= bus &&
		    bus <= acpi_ecam[i].bus_end)
			return &acpi_ecam[i];
	return NULL;
}

/* the MCFG base is bus 0's address even when the entry's buses start
 * later (as Linux and FreeBSD read it); acpi_parse_mcfg refused any entry
 * whose last bus would wrap past 2^64 */
static volatile uint8_t *ecam_fn(const struct acpi_mcfg_seg *s, unsigned bus,
				 unsigned dev, unsigned fn)
{
	uint64_t pa = s->base + ((uint64_t)bus << 20 | dev << 15 | fn << 12);
	return mm_map_mmio(pa, 4096);
}

/* a function with a refused BAR may have decode of its kind on as
 * firmware left it (or as the device says): the device answers at the
 * refused address. Off, one line; pci_enable refuses it from now on.
 * Not for a bridge (below) */
static void pci_decode_off(struct pci_dev *d)
{
	uint16_t cmd = pci_cfg_read16(d, PCI_COMMAND), off = 0;
	/* a bridge's decode bits also gate what it forwards to its
	 * secondary bus (PCI-to-PCI Bridge Architecture spec, the Command
	 * register): off, every device behind it would be cut off for one
	 * bad BAR of the bridge's own. Its refused BAR is only ignored, as
	 * Linux does */
	if (d->header_type != 0) {
		if (d->bar_refused &&
		    (cmd & (PCI_COMMAND_MEM | PCI_COMMAND_IO))) {
			char a[16];
			pci_addr_str(d, a, sizeof(a));
			kprintf("pci %s: a BAR of this bridge was refused; its "
				"decode left on, for the buses behind it\n",
				a);
		}
		return;
	}
	if (pci_decode_refused(d, false) >= 0)
		off |= cmd & PCI_COMMAND_MEM;
	if (pci_decode_refused(d, true) >= 0)
		off |= cmd & PCI_COMMAND_IO;
	if (!off)
		return;
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	kprintf("pci %s: %s decode turned off: a BAR of it was refused\n", a,
		off == PCI_COMMAND_IO	 ? "I/O"
		: off == PCI_COMMAND_MEM ? "memory"
					 : "memory and I/O");
	pci_cfg_write16(d, PCI_COMMAND, cmd & ~off);
}

static void pci_msix_init(struct pci_dev *d)
{
	char a[16];
	uint16_t ctl = pci_cfg_read16(d, d->cap_msix + PCI_MSIX_FLAGS);
	uint32_t tbl = pci_cfg_read32(d, d->cap_msix + PCI_MSIX_TABLE);
	uint32_t pba = pci_cfg_read32(d, d->cap_msix + PCI_MSIX_PBA);
	d->msix_size = (ctl & PCI_MSIX_FLAGS_QSIZE_MASK) + 1;
	d->msix_table_bar = tbl & PCI_MSIX_BIR_MASK;
	d->msix_table_off = tbl & ~PCI_MSIX_BIR_MASK;
	d->msix_pba_bar = pba & PCI_MSIX_BIR_MASK;
	d->msix_pba_off = pba & ~PCI_MSIX_BIR_MASK;
	pci_addr_str(d, a, sizeof(a));
	const struct pci_bar *b =
	    d->msix_table_bar < 6 ? &d->bar[d->msix_table_bar] : NULL;
	uint64_t len = (uint64_t)d->msix_size * PCI_MSIX_ENTRY_SIZE;
	if (!b || b->io || !b->size || d->msix_table_off + len > b->size) {
		kprintf("pci %s: MSI-X table outside its BAR; MSI-X unused\n",
			a);
		d->cap_msix = 0;
		d->msix_size = 0;
		return;
	}
	d->msix_table = mm_map_mmio(b->base + d->msix_table_off, len);
	if (!d->msix_table) {
		kprintf("pci %s: MSI-X table at 0x%lx cannot be mapped; MSI-X "
			"unused\n",
			a, b->base + d->msix_table_off);
		d->cap_msix = 0;
		d->msix_size = 0;
		return;
	}
	/* every entry masked until a driver binds it (irq_bind), with
	 * memory decode on for it; one that will not mask has the Function
	 * Mask mask them all (one line) */
	for (unsigned i = 0; i < d->msix_size; i++)
		if (!pci_msix_entry_set(d, i, true, NULL))
			break;
}

/* the capability at c (0: none), or 0 and one line when its structure,
 * len bytes as its own control bits make it, runs past the 256 bytes the
 * list lives in: the kernel would read and write the function's extended
 * configuration space (0x100 up) as that capability's registers */
static uint8_t pci_cap_fits(const struct pci_dev *d, uint8_t c,
			    const char *name, unsigned len)
{
	if (!c || c + len <= PCI_CFG_LEGACY_SIZE)
		return c;
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	kprintf("pci %s: %s capability at 0x%x is %u bytes, past "
		"configuration space 0x%x; %s unused\n",
		a, name, c, len, PCI_CFG_LEGACY_SIZE - 1, name);
	return 0;
}

static void pci_probe_fn(uint16_t seg, unsigned bus, unsigned dev, unsigned fn,
			 volatile uint8_t *cfg, uint32_t id,
			 uint8_t header_type);
static void pci_scan_bus(uint16_t seg, unsigned bus, int depth);

/* why memory BAR b may not be the device's, NULL if it may: it claims
 * system memory by the boot memory map (its driver's window would be on
 * the kernel's memory), the ECAM of an MCFG entry (every function's
 * configuration space), the x86 interrupt address range (the local
 * APIC's registers, for the CPU) or the register pages of a platform
 * device the ACPI tables name (an I/O APIC, the local APIC, the HPET, a
 * VT-d unit: acpi_platform). A device answers reads of its own BAR
 * registers, so a hostile one reports any base it likes. buf holds the
 * reason when it names an entry */
static const char *pci_bar_claim(const struct pci_bar *b, char *buf, unsigned n)
{
	uint64_t last = b->base + (b->size - 1);
	const struct acpi_mcfg_seg *s;
	const struct acpi_range *r;
	if (mm_holds_ram(b->base, b->size))
		return "lies on system memory (UEFI memory map)";
	if ((s = acpi_ecam_at(b->base, last))) {
		ksnprintf(buf, n, "overlaps the ECAM of segment %u buses %u-%u",
			  s->seg, s->bus_start, s->bus_end);
		return buf;
	}
	if (b->base <= MSI_ADDR_LAST && MSI_ADDR_BASE <= last)
		return "overlaps the interrupt address range "
		       "0xfee00000-0xfeefffff";
	if ((r = acpi_platform_at(b->base, last))) {
		ksnprintf(buf, n, "overlaps the %s registers at 0x%lx", r->what,
			  r->base);
		return buf;
	}
	return NULL;
}

/* one line per implemented BAR, so a test can hold the decode against
 * QEMU's own `info pci` */
static void pci_bars_print(const struct pci_dev *d)
{
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	for (int i = 0; i < 6; i++) {
		const struct pci_bar *b = &d->bar[i];
		if (!b->size)
			continue;
		kprintf("bar %s %d %s base=0x%lx size=0x%lx\n", a, i,
			b->io	  ? "io"
			: b->is64 ? (b->prefetch ? "mem64pf" : "mem64")
				  : (b->prefetch ? "mem32pf" : "mem32"),
			b->base, b->size);
	}
}

/* the buses of the segment being scanned that were scanned already: each
 * bus once, however many bridges name it */
static uint64_t scanned[256 / 64];

/* what the scan does not say one by one, summed in lines at the end of
 * pci_init: the lines of functions past PCI_MAX_DEVS, which are not kept
 * but whose bridges are still followed (a bridge not followed; a
 * capability list, or a Root Port's PCI Express capability, that does not
 * read), as only the bus space would bound them (256 buses x 32 x 8 a
 * segment), while the table bounds those of the functions it keeps; and
 * every bus but the first whose ECAM cannot be mapped */
static unsigned past_bridges, past_caps, ecam_unmapped;

/* follow the bridge at c (its function's address in a) to its secondary
 * bus: only to a bus after its own that an MCFG entry of the segment
 * holds (the bridge's own or another), not scanned yet. Not followed, a
 * line when say (a function kept), else counted (past_bridges) */
static void pci_follow_bridge(uint16_t seg, unsigned bus, volatile uint8_t *c,
			      const char *a, int depth, bool say)
{
	unsigned sec = c[PCI_SECONDARY_BUS];
	const char *why =
	    sec <= bus				? "not after its own bus"
	    : scanned[sec / 64] >> sec % 64 & 1 ? "scanned already"
	    : !ecam_entry(seg, sec) ? "in no MCFG entry of the segment"
	    : depth >= 16	    ? "more than 16 bridges deep"
				    : NULL;
	if (!why)
		pci_scan_bus(seg, sec, depth + 1);
	else if (say)
		kprintf("pci %s: bridge to bus %u: %s; not followed\n", a, sec,
			why);
	else
		past_bridges++;
}

/* Configuration RRS Software Visibility on in the Root Port d, when its
 * Root Capabilities offer it, before the scan reads the functions below
 * it (Linux's pci_enable_rrs_sv, as it scans each bridge): a function
 * there that is not ready then reads Vendor ID 0x0001, which
 * pci_wait_ready waits on with its bound, instead of the Root Complex
 * re-issuing the read until the function answers or it gives up. Root
 * Control's other bits are kept. QEMU's pcie-root-port offers none
 * (Root Capabilities 0); a PCI Express capability that would run past
 * the 256 bytes is left alone, said when say (a function kept), else
 * counted (past_caps) */
static void pci_enable_rrs_sv(const struct pci_dev *d, bool say)
{
	uint8_t c = d->cap_pcie;
	if (!c ||
	    (pci_cfg_read16(d, c + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_TYPE) >> 4 !=
		PCI_EXP_TYPE_ROOT_PORT)
		return;
	if (c + PCI_EXP_RTCAP + 2 > PCI_CFG_LEGACY_SIZE) {
		if (!say) {
			past_caps++;
			return;
		}
		char a[16];
		pci_addr_str(d, a, sizeof(a));
		kprintf("pci %s: PCI Express capability at 0x%x runs past "
			"configuration space 0x%x; RRS Software Visibility "
			"left as it is\n",
			a, c, PCI_CFG_LEGACY_SIZE - 1);
		return;
	}
	if (pci_cfg_read16(d, c + PCI_EXP_RTCAP) & PCI_EXP_RTCAP_RRS_SV)
		pci_cfg_write16(d, c + PCI_EXP_RTCTL,
				pci_cfg_read16(d, c + PCI_EXP_RTCTL) |
				    PCI_EXP_RTCTL_RRS_SVE);
}

/* Vendor ID 0x0001: a Configuration Request Retry Status (RRS)
 * completion the Root Complex turned into data (PCIe Base 5.0 §2.3.2,
 * with RRS Software Visibility on; the PCI-SIG reserved the value for it,
 * no vendor has it): the function is there but not ready. It is read
 * again after delays doubling from PCI_RRS_FIRST_US until it answers or
 * the scan's one deadline, PCI_RRS_WAIT_MS after the first such function
 * was met, passes: however many functions are not ready, the scan waits
 * at most PCI_RRS_WAIT_MS in all (docs/pci.md says why that bound). The
 * first PCI_RRS_LINES such functions are a line each, the rest one line
 * at the end of pci_init */
#define PCI_VENDOR_RRS	 0x0001
#define PCI_RRS_WAIT_MS	 1000
#define PCI_RRS_FIRST_US 1000
#define PCI_RRS_LINES	 8
static uint64_t rrs_deadline_us; /* 0: none met yet in this scan */
static unsigned rrs_lines, rrs_more_ready, rrs_more_skipped;

/* the function at c (address a) read id, whose Vendor ID is 0x0001:
 * wait for it as above; what it reads at the end (0x0001 still when the
 * deadline passed) */
static uint32_t pci_wait_ready(volatile uint8_t *c, uint32_t id, const char *a)
{
	uint64_t start = time_now_us(), delay = PCI_RRS_FIRST_US;
	if (!rrs_deadline_us)
		rrs_deadline_us = start + PCI_RRS_WAIT_MS * 1000ull;
	for (;;) {
		uint64_t now = time_now_us();
		if ((id & 0xffff) != PCI_VENDOR_RRS || now >= rrs_deadline_us)
			break;
		time_delay_us(delay < rrs_deadline_us - now
				  ? delay
				  : rrs_deadline_us - now);
		delay *= 2;
		id = *(volatile uint32_t *)c;
	}
	bool ready = (id & 0xffff) != PCI_VENDOR_RRS;
	uint64_t ms = (time_now_us() - start) / 1000;
	if (rrs_lines == PCI_RRS_LINES) {
		if (ready)
			rrs_more_ready++;
		else
			rrs_more_skipped++;
	} else if (ready) {
		rrs_lines++;
		kprintf("pci %s: configuration request retry (not ready) "
			"for %lu ms; then it read %04x:%04x\n",
			a, ms, id & 0xffff, id >> 16);
	} else {
		rrs_lines++;
		kprintf("pci %s: Vendor ID 0x0001: configuration request "
			"retry (not ready) for %lu ms, the scan's wait of "
			"%u ms spent; skipped\n",
			a, ms, PCI_RRS_WAIT_MS);
	}
	return id;
}

/* the Vendor ID and Device ID dword id names a function: not one of the
 * dwords broken boards read for an empty slot (0, all ones, either half
 * all ones with the other 0; Linux's pci_bus_generic_read_dev_vendor_id),
 * nor Vendor ID 0xffff (invalid, PCI 3.0 §6.2.1), nor 0x0001 (not ready
 * by the end of pci_wait_ready's wait) */
static bool pci_fn_present(uint32_t id)
{
	uint16_t vendor = id & 0xffff;
	return !(id == 0 || id == 0xffff0000u || vendor == 0xffff ||
		 vendor == PCI_VENDOR_RRS);
}

static void pci_scan_bus(uint16_t seg, unsigned bus, int depth)
{
	const struct acpi_mcfg_seg *s = ecam_entry(seg, bus);
	if (!s || (scanned[bus / 64] >> bus % 64 & 1))
		return;
	scanned[bus / 64] |= 1ull << bus % 64;
	for (unsigned dev = 0; dev < 32; dev++) {
		bool multi = false;
		/* functions 1-7 only when function 0 is there and says
		 * multi-function; each function's ID and header type read
		 * once, so what is probed is what was checked */
		for (unsigned fn = 0; fn < (multi ? 8u : 1u); fn++) {
			volatile uint8_t *c = ecam_fn(s, bus, dev, fn);
			if (!c) { /* an MCFG base past what can be mapped */
				if (!ecam_unmapped++)
					kprintf("pci: ECAM of bus %u at 0x%lx "
						"cannot be mapped; bus "
						"skipped\n",
						bus, s->base);
				return;
			}
			char a[16];
			ksnprintf(a, sizeof(a), "%04x:%02x:%02x.%x", seg, bus,
				  dev, fn);
			uint32_t id = *(volatile uint32_t *)c;
			if ((id & 0xffff) == PCI_VENDOR_RRS)
				id = pci_wait_ready(c, id, a);
			if (!pci_fn_present(id))
				continue;
			uint8_t ht = c[PCI_HEADER_TYPE];
			multi = multi || (fn == 0 && ht & PCI_HEADER_MULTI);
			ht &= PCI_HEADER_TYPE_MASK;
			unsigned kept = pci_ndevs;
			pci_probe_fn(seg, bus, dev, fn, c, id, ht);
			if (ht != 1)
				continue;
			/* a bridge past PCI_MAX_DEVS is not kept, but the bus
			 * behind it is scanned all the same (its functions
			 * counted as ignored): a Root Port there gets RRS
			 * Software Visibility too, so a function below it
			 * that is not ready costs the scan's bounded wait,
			 * not the Root Complex's own retries. Its lines are
			 * counted, not said */
			bool in = pci_ndevs > kept, broken = false;
			struct pci_dev gone = {.seg = seg,
					       .bus = bus,
					       .dev = dev,
					       .fn = fn,
					       .cfg = c};
			if (!in)
				gone.cap_pcie = pci_cap_find(
				    &gone, PCI_CAP_ID_EXP, 0, &broken);
			past_caps += broken;
			pci_enable_rrs_sv(in ? &pci_devs[kept] : &gone, in);
			pci_follow_bridge(seg, bus, c, a, depth, in);
		}
	}
}

/* functions past PCI_MAX_DEVS: not kept, one line at the end */
static unsigned pci_dropped;

static void pci_probe_fn(uint16_t seg, unsigned bus, unsigned dev, unsigned fn,
			 volatile uint8_t *cfg, uint32_t id,
			 uint8_t header_type)
{
	if (pci_ndevs == PCI_MAX_DEVS) {
		pci_dropped++;
		return;
	}
	struct pci_dev *d = &pci_devs[pci_ndevs++];
	memset(d, 0, sizeof(*d));
	d->seg = seg;
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	d->cfg = cfg;
	d->vendor = id & 0xffff;
	d->device = id >> 16;
	uint32_t rc = pci_cfg_read32(d, PCI_REVISION);
	d->revision = rc & 0xff;
	d->class_code = rc >> 8;
	d->header_type = header_type;
	strlcpy(d->state, "unbound", sizeof(d->state));
	if (d->header_type == 0) {
		d->subsys_vendor = pci_cfg_read16(d, PCI_SUBSYS_VENDOR);
		d->subsys_device = pci_cfg_read16(d, PCI_SUBSYS_ID);
	}
	unsigned nbars = d->header_type == 0 ? 6 : d->header_type == 1 ? 2 : 0;
	uint16_t cmd = pci_cfg_read16(d, PCI_COMMAND);
	pci_cfg_write16(d, PCI_COMMAND,
			cmd & ~(PCI_COMMAND_MEM | PCI_COMMAND_IO));
	for (unsigned i = 0; i < nbars;)
		i += pci_bar_decode(d, i);
	pci_cfg_write16(d, PCI_COMMAND, cmd);
	for (unsigned i = 0; i < nbars; i++) {
		struct pci_bar *b = &d->bar[i];
		char a[16], buf[64];
		const char *why = b->size && !b->io
				      ? pci_bar_claim(b, buf, sizeof(buf))
				      : NULL;
		if (!why)
			continue;
		pci_addr_str(d, a, sizeof(a));
		kprintf("pci %s: BAR%u [0x%lx, +0x%lx) %s; ignored\n", a, i,
			b->base, b->size, why);
		pci_bar_refuse(d, (int)i);
	}
	pci_bars_print(d);
	uint8_t msi = pci_find_cap(d, PCI_CAP_ID_MSI, 0);
	d->cap_msi = pci_cap_fits(
	    d, msi, "MSI",
	    PCI_MSI_CAP_LEN(msi ? pci_cfg_read16(d, msi + PCI_MSI_FLAGS) : 0));
	d->cap_pcie = pci_find_cap(d, PCI_CAP_ID_EXP, 0);
	d->cap_msix = pci_cap_fits(d, pci_find_cap(d, PCI_CAP_ID_MSIX, 0),
				   "MSI-X", PCI_MSIX_CAP_LEN);
	/* no messages until irq_bind programs them: firmware may have left
	 * MSI or MSI-X on, with addresses of its own (Linux's pci_msi_init
	 * and pci_msix_init turn both off at enumeration too) */
	if (d->cap_msi)
		pci_cfg_write16(d, d->cap_msi + PCI_MSI_FLAGS,
				pci_cfg_read16(d, d->cap_msi + PCI_MSI_FLAGS) &
				    ~PCI_MSI_FLAGS_ENABLE);
	if (d->cap_msix)
		pci_cfg_write16(
		    d, d->cap_msix + PCI_MSIX_FLAGS,
		    pci_cfg_read16(d, d->cap_msix + PCI_MSIX_FLAGS) &
			~PCI_MSIX_FLAGS_ENABLE);
}

void pci_init(void)
{
	pci_ndevs = pci_dropped = 0;
	past_bridges = past_caps = ecam_unmapped = 0;
	rrs_deadline_us = 0;
	rrs_lines = rrs_more_ready = rrs_more_skipped = 0;
	if (acpi_necam == 0) {
		kprintf("pci: no MCFG (ECAM) table; no PCI devices\n");
		return;
	}
	static uint8_t clash[PCI_MAX_DEVS];
	/* each segment once, from its first entry: every entry's start bus
	 * of it, with one record of the buses scanned (a bridge may lead
	 * into another entry of the segment) */
	for (unsigned i = 0; i < acpi_necam; i++) {
		uint16_t seg = acpi_ecam[i].seg;
		bool seen = false;
		for (unsigned j = 0; j < i; j++)
			seen = seen || acpi_ecam[j].seg == seg;
		if (seen)
			continue;
		memset(scanned, 0, sizeof(scanned));
		for (unsigned j = i; j < acpi_necam; j++)
			if (acpi_ecam[j].seg == seg)
				pci_scan_bus(seg, acpi_ecam[j].bus_start, 0);
	}
	/* every BAR of every function is known: overlapping ones go before
	 * the MSI-X tables are mapped through them */
	pci_bars_check(pci_devs, pci_ndevs, clash);
	for (unsigned i = 0; i < pci_ndevs; i++) {
		pci_decode_off(&pci_devs[i]);
		if (pci_devs[i].cap_msix)
			pci_msix_init(&pci_devs[i]);
	}
	if (rrs_more_ready + rrs_more_skipped)
		kprintf("pci: %u more functions answered configuration request "
			"retry (not ready): %u then ready, %u skipped\n",
			rrs_more_ready + rrs_more_skipped, rrs_more_ready,
			rrs_more_skipped);
	if (ecam_unmapped > 1)
		kprintf(
		    "pci: ECAM of %u more buses cannot be mapped; skipped\n",
		    ecam_unmapped - 1);
	if (pci_dropped)
		kprintf("pci: more than %d functions; %u more ignored\n",
			PCI_MAX_DEVS, pci_dropped);
	if (past_bridges + past_caps)
		kprintf("pci: of the functions past the %d kept, %u bridges "
			"not followed and %u capabilities that do not read, "
			"not said one by one\n",
			PCI_MAX_DEVS, past_bridges, past_caps);
	kprintf("pci: %u functions found through ECAM\n", pci_ndevs);
}

/* /api/pci: the functions kept and ignored, and each function whose MSI-X
 * entry writes failed (the first said, every one counted here) */
static void pci_status(struct json *j)
{
	json_obj(j);
	json_ku64(j, "functions", pci_ndevs);
	json_ku64(j, "ignored", pci_dropped);
	json_karr(j, "msix_failed");
	for (unsigned i = 0; i < pci_ndevs; i++) {
		const struct pci_dev *d = &pci_devs[i];
		if (!d->msix_failed)
			continue;
		json_obj(j);
		json_kstrf(j, "addr", "%04x:%02x:%02x.%x", d->seg, d->bus,
			   d->dev, d->fn);
		json_ku64(j, "writes", d->msix_failed);
		json_kbool(j, "function_mask", d->msix_fn_masked);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
STATUS_REGISTER("pci", pci_status);
