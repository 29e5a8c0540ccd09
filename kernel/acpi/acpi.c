/* kernel/acpi/acpi.c — RSDP → XSDT (or RSDT) → the tables capOS uses
 * (ACPI 6.5 ch. 5; MCFG: PCI Firmware spec 3.3 §4.1.2; DMAR: VT-d spec §8;
 * IVRS: AMD IOMMU spec §5; VIOT: ACPI 6.5 §5.2.32; MADT: ACPI 6.5
 * §5.2.12; HPET: IA-PC HPET spec 1.0a §3.2.4). Every table is
 * checksum-verified and length-bounded before it is read; a bad one is
 * reported and ignored. Tables are read through the identity map, and only
 * in firmware memory kernel/mm maps for it (mm_map_firmware, which maps
 * what mm_firmware_readable allows): a pointer or a length reaching past
 * that is refused before a byte there is read. Pure apart from identity-mapped
 * physical addresses, so tests/host builds it over tables in host memory. */
#include "kernel/acpi/acpi.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"

struct acpi_rsdp {
	char sig[8];
	uint8_t checksum;
	char oem[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t xchecksum;
	uint8_t rsvd[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");

struct acpi_sdt {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt) == 36, "SDT header layout");

#define ACPI_MAX_TABLE	(1u << 20)
#define ACPI_MAX_TABLES 64 /* root table entries read */
/* lines about one table's entries, then one saying how many more there
 * were (a 1 MiB MADT of bad entries would be 87381 lines) */
#define ACPI_TABLE_LINES   8
#define FADT_PM_TMR_BLK	   76
#define FADT_PM_TMR_LEN	   91
#define FADT_X_PM_TMR_BLK  208 /* generic address structure */
#define MCFG_ENTRIES	   44
#define MADT_LAPIC_ADDR	   36
#define MADT_ENTRIES	   44
#define MADT_IOAPIC	   1 /* type, length, id, rsvd, address, GSI base */
#define MADT_IOAPIC_LEN	   12
#define MADT_LAPIC_OVR	   5 /* type, length, rsvd[2], 64-bit address */
#define MADT_LAPIC_OVR_LEN 12
#define DMAR_ENTRIES	   48 /* after the header: HAW, flags, reserved */
#define DMAR_DRHD	   0  /* type, length, flags, size, segment, base */
#define DMAR_DRHD_LEN	   16
#define IOAPIC_REG_SPAN	   1024 /* Linux's IO_APIC_SLOT_SIZE */
#define LAPIC_REG_SPAN	   4096
#define HPET_REG_SPAN                                                          \
	1024	    /* the spec's register space; Linux's HPET_MMAP_SIZE */
#define HPET_GAS 40 /* Base Address: space id, width, offset, size, addr */
/* a Generic Address Structure (ACPI 6.5 §5.2.3.2): address space, register
 * bit width, bit offset, access size (0 undefined, 1 byte ... 4 qword),
 * 64-bit address */
#define GAS_SPACE	     0
#define GAS_WIDTH	     1
#define GAS_OFFSET	     2
#define GAS_ACCESS	     3
#define GAS_ADDRESS	     4
#define GAS_LEN		     12
#define GAS_SYSTEM_MEMORY    0
#define GAS_SYSTEM_IO	     1
#define GAS_ACCESS_UNDEFINED 0
#define GAS_ACCESS_DWORD     3
/* the last port a 4-byte inl can read */
#define PM_TMR_PORT_MAX 0xfffc
/* room for the words of a table's or root table's fault */
#define ROOT_WHY 160

struct acpi_mcfg_seg acpi_ecam[4];
unsigned acpi_necam;
uint16_t acpi_pm_timer_port;
uint64_t acpi_hpet_base;
struct acpi_ioapic acpi_ioapics[ACPI_MAX_IOAPICS];
unsigned acpi_nioapics;
struct acpi_range acpi_platform[ACPI_MAX_PLATFORM];
unsigned acpi_nplatform;

static const char lapic_what[] = "local APIC";

static struct {
	char sig[5];
	uint64_t phys;
} tables[ACPI_MAX_TABLES];
static unsigned ntables;
static unsigned table_lines;   /* said about the table being parsed */
static unsigned platform_lost; /* ranges past acpi_platform's room */

#define table_say(...)                                                         \
	do {                                                                   \
		if (table_lines++ < ACPI_TABLE_LINES)                          \
			kprintf(__VA_ARGS__);                                  \
	} while (0)

/* a signature as text: a byte that is not printable ASCII reads as '?'
 * (the firmware's bytes never reach the console raw) */
static void sig_text(char out[5], const char *sig)
{
	for (unsigned i = 0; i < 4; i++)
		out[i] = sig[i] >= 0x20 && sig[i] < 0x7f ? sig[i] : '?';
	out[4] = 0;
}

static bool sum_ok(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s == 0;
}

/* why the table at phys (not 0: its callers pass over 0) may not be read,
 * in words for a line (NULL: it may be): its header outside the firmware memory
 * the kernel maps, a length below its 36-byte header or above ACPI_MAX_TABLE,
 * the rest of it outside that memory, or a checksum that fails. Says nothing
 * itself */
static const char *table_fault(uint64_t phys, char *buf, size_t n)
{
	const struct acpi_sdt *h = (const void *)phys;
	char sig[5];
	if (!mm_map_firmware(phys, sizeof(*h))) {
		ksnprintf(buf, n,
			  "table at 0x%lx is outside the firmware memory the "
			  "kernel maps",
			  phys);
		return buf;
	}
	sig_text(sig, h->sig);
	if (h->length < sizeof(*h) || h->length > ACPI_MAX_TABLE) {
		ksnprintf(buf, n, "table %s at 0x%lx has bad length %u", sig,
			  phys, h->length);
		return buf;
	}
	if (!mm_map_firmware(phys, h->length)) {
		ksnprintf(buf, n,
			  "table %s at 0x%lx, %u bytes, runs past the "
			  "firmware memory the kernel maps",
			  sig, phys, h->length);
		return buf;
	}
	if (!sum_ok(h, h->length)) {
		ksnprintf(buf, n, "table %s at 0x%lx fails its checksum", sig,
			  phys);
		return buf;
	}
	return NULL;
}

/* a table the root lists that may be read; one that may not is said in
 * one line (a pointer of 0 is no table, and quietly so) */
static bool table_ok(uint64_t phys)
{
	char why[ROOT_WHY];
	if (!phys)
		return false;
	if (table_fault(phys, why, sizeof(why))) {
		kprintf("acpi: %s; ignored\n", why);
		return false;
	}
	return true;
}

/* why the root table at phys, an XSDT (8-byte entries) or an RSDT (4), may
 * not be used (NULL: it may be): it must be there, pass table_fault, carry
 * its own signature and list at least one entry (as ACPICA asks of a root
 * table); with usable, one of its first ACPI_MAX_TABLES entries must be a
 * table table_fault passes, checked quietly (acpi_add says why each entry
 * fails once the root is chosen) */
static const char *root_fault(uint64_t phys, const char *kind, unsigned width,
			      bool usable, char *buf, size_t n)
{
	const struct acpi_sdt *h = (const void *)phys;
	if (!phys) {
		ksnprintf(buf, n, "no %s (its address is 0)", kind);
		return buf;
	}
	if (table_fault(phys, buf, n))
		return buf;
	if (memcmp(h->sig, kind, 4)) {
		char sig[5];
		sig_text(sig, h->sig);
		ksnprintf(buf, n, "%s at 0x%lx has the signature %s", kind,
			  phys, sig);
		return buf;
	}
	unsigned entries = (h->length - sizeof(*h)) / width;
	if (!entries) {
		ksnprintf(buf, n, "%s at 0x%lx lists no table", kind, phys);
		return buf;
	}
	if (!usable)
		return NULL;
	if (entries > ACPI_MAX_TABLES)
		entries = ACPI_MAX_TABLES;
	char entry_why[ROOT_WHY];
	for (unsigned i = 0; i < entries; i++) {
		uint64_t p = 0;
		memcpy(&p, (const uint8_t *)h + sizeof(*h) + i * width, width);
		if (p && !table_fault(p, entry_why, sizeof(entry_why)))
			return NULL;
	}
	ksnprintf(buf, n,
		  "%s at 0x%lx lists no table that can be read (of its "
		  "first %u entries)",
		  kind, phys, entries);
	return buf;
}

static void acpi_parse_mcfg(const struct acpi_sdt *h)
{
	const uint8_t *p = (const uint8_t *)h + MCFG_ENTRIES;
	const uint8_t *end = (const uint8_t *)h + h->length;
	for (; p + 16 <= end; p += 16) {
		if (acpi_necam == ARRAY_SIZE(acpi_ecam)) {
			kprintf("acpi: MCFG has more than %u entries; the rest "
				"ignored\n",
				(unsigned)ARRAY_SIZE(acpi_ecam));
			return;
		}
		struct acpi_mcfg_seg *s = &acpi_ecam[acpi_necam];
		memcpy(&s->base, p, 8);
		memcpy(&s->seg, p + 8, 2);
		s->bus_start = p[10];
		s->bus_end = p[11];
		if (s->bus_end < s->bus_start || !s->base) {
			table_say(
			    "acpi: MCFG entry with bad bus range; ignored\n");
			continue;
		}
		/* bus b's functions are at base + b MiB (bus 0's address,
		 * whatever the start bus): the last bus must not wrap */
		uint64_t span = (uint64_t)(s->bus_end + 1) << 20;
		if (s->base + (span - 1) < s->base) {
			table_say(
			    "acpi: MCFG entry at 0x%lx, buses %u-%u, runs "
			    "past 2^64; ignored\n",
			    s->base, s->bus_start, s->bus_end);
			continue;
		}
		/* a bus of a segment in two entries would be scanned twice,
		 * its functions found twice; so would configuration space
		 * two entries place at the same addresses (as two segments'
		 * or two bus ranges' functions: one device, two owners) */
		bool buses = false;
		uint64_t lo = acpi_ecam_lo(s), hi = acpi_ecam_hi(s);
		for (unsigned i = 0; i < acpi_necam; i++) {
			const struct acpi_mcfg_seg *e = &acpi_ecam[i];
			buses |= e->seg == s->seg &&
				 e->bus_start <= s->bus_end &&
				 s->bus_start <= e->bus_end;
		}
		bool alias = acpi_ecam_at(lo, hi); /* the earlier entries' */
		/* and the scan would size "BARs" in system memory, writing
		 * all ones into the kernel's */
		const char *why = buses	  ? "overlaps an earlier one"
				  : alias ? "overlaps an earlier entry's ECAM"
				  : mm_holds_ram(lo, hi - lo + 1)
				      ? "holds system memory"
				      : NULL;
		if (why) {
			table_say(
			    "acpi: MCFG entry for segment %u buses %u-%u at "
			    "0x%lx %s; ignored\n",
			    s->seg, s->bus_start, s->bus_end, s->base, why);
			continue;
		}
		acpi_necam++;
	}
}

/* the PM timer's I/O port (ACPI 6.5 §4.8.3.3, §5.2.9). X_PM_TMR_BLK, a
 * Generic Address Structure, supersedes PM_TMR_BLK when its address is not
 * 0 (the spec: PM_TMR_BLK is then ignored; ACPICA's acpi_tb_convert_fadt
 * the same). It is used only in system I/O space, as Linux's x86
 * acpi_parse_fadt and its acpi_pm clocksource (an inl) read it: one in
 * system memory or any other space is said and refused, and so is one
 * whose register is not 32 (or 24) bits wide, whose bit offset is not 0
 * (the counter must be the port's low bits), whose access size is neither
 * undefined (0) nor a dword (3), or whose port is past PM_TMR_PORT_MAX (a
 * 4-byte inl there would run past port 0xffff): no PM timer then
 * (time_calibrate takes the HPET). An X_PM_TMR_BLK at address 0 with any
 * other field set is said; PM_TMR_BLK is read then, as when it is all 0.
 * PM_TMR_BLK must have PM_TMR_LEN 4 and a port up to PM_TMR_PORT_MAX, else
 * one line and no PM timer */
static void acpi_parse_fadt(const struct acpi_sdt *h)
{
	const uint8_t *f = (const uint8_t *)h, *x = f + FADT_X_PM_TMR_BLK;
	uint64_t xa = 0;
	bool has_x = h->length >= FADT_X_PM_TMR_BLK + GAS_LEN;
	if (has_x)
		memcpy(&xa, x + GAS_ADDRESS, 8);
	if (xa) {
		/* a counter at bit n of the port: an inl reads it shifted
		 * left by n, its top bits lost (older ACPICA's
		 * acpi_hw_validate_register only warned of such an offset,
		 * "Unsupported register bit offset", and read it as 0) */
		char offset[64];
		ksnprintf(offset, sizeof(offset),
			  "has bit offset %u (the counter is not at bit 0 of "
			  "the port)",
			  x[GAS_OFFSET]);
		const char *why =
		    x[GAS_SPACE] == GAS_SYSTEM_MEMORY
			? "is in system memory (capOS, as Linux, reads the PM "
			  "timer only from an I/O port)"
		    : x[GAS_SPACE] != GAS_SYSTEM_IO
			? "is in neither system I/O nor system memory"
		    : x[GAS_WIDTH] != 32 && x[GAS_WIDTH] != 24
			? "is not a 32-bit (or 24-bit) register"
		    : x[GAS_OFFSET] ? offset
		    : x[GAS_ACCESS] != GAS_ACCESS_UNDEFINED &&
			    x[GAS_ACCESS] != GAS_ACCESS_DWORD
			? "is not read as a dword"
		    : xa > PM_TMR_PORT_MAX ? "is past I/O port 0xfffc"
					   : NULL;
		if (why) {
			table_say("acpi: FADT X_PM_TMR_BLK at 0x%lx (address "
				  "space %u, %u bits, access size %u) %s; no "
				  "PM timer\n",
				  xa, x[GAS_SPACE], x[GAS_WIDTH], x[GAS_ACCESS],
				  why);
			return;
		}
		acpi_pm_timer_port = (uint16_t)xa;
		return;
	}
	if (has_x &&
	    (x[GAS_SPACE] || x[GAS_WIDTH] || x[GAS_OFFSET] || x[GAS_ACCESS]))
		table_say("acpi: FADT X_PM_TMR_BLK (address space %u, %u bits) "
			  "has address 0; PM_TMR_BLK read instead\n",
			  x[GAS_SPACE], x[GAS_WIDTH]);
	uint32_t blk = 0;
	if (h->length >= FADT_PM_TMR_LEN + 1)
		memcpy(&blk, f + FADT_PM_TMR_BLK, 4);
	if (!blk)
		return; /* the FADT names no PM timer */
	const char *why = f[FADT_PM_TMR_LEN] != 4
			      ? "has PM_TMR_LEN other than 4"
			  : blk > PM_TMR_PORT_MAX ? "is past I/O port 0xfffc"
						  : NULL;
	if (why) {
		table_say(
		    "acpi: FADT PM_TMR_BLK at 0x%x (PM_TMR_LEN %u) %s; no "
		    "PM timer\n",
		    blk, f[FADT_PM_TMR_LEN], why);
		return;
	}
	acpi_pm_timer_port = (uint16_t)blk;
}

/* the pages of len bytes of registers at base join acpi_platform (a
 * range that would run past 2^64 ends there), unless the same pages of
 * the same device are there already */
static void platform_add(uint64_t base, uint64_t len, const char *what)
{
	uint64_t last = base + (len - 1);
	struct acpi_range r = {.base = base,
			       .lo = base & ~(uint64_t)(PAGE_SIZE - 1),
			       .hi = (last < base ? UINT64_MAX : last) |
				     (PAGE_SIZE - 1),
			       .what = what};
	for (unsigned i = 0; i < acpi_nplatform; i++)
		if (acpi_platform[i].lo == r.lo &&
		    acpi_platform[i].hi == r.hi &&
		    acpi_platform[i].what == what)
			return;
	if (acpi_nplatform == ARRAY_SIZE(acpi_platform)) {
		if (!platform_lost++)
			kprintf("acpi: more than %u platform register ranges; "
				"%s at 0x%lx and any after it not checked "
				"against PCI BARs\n",
				(unsigned)ARRAY_SIZE(acpi_platform), what,
				base);
		return;
	}
	acpi_platform[acpi_nplatform++] = r;
}

/* the I/O APICs and the local APIC's address. Each entry's length is
 * checked against the table before a byte of it is read: one shorter
 * than its header (length 0 would never end the walk) or running past
 * the table ends the walk, what came before it kept */
static void acpi_parse_madt(const struct acpi_sdt *h)
{
	const uint8_t *t = (const uint8_t *)h, *end = t + h->length;
	uint32_t lapic32;
	memcpy(&lapic32, t + MADT_LAPIC_ADDR, 4);
	uint64_t lapic = lapic32;
	for (const uint8_t *p = t + MADT_ENTRIES; p < end; p += p[1]) {
		unsigned off = (unsigned)(p - t);
		const char *bad = end - p < 2 || p[1] > end - p
				      ? "runs past the end of the table"
				  : p[1] < 2
				      ? "is shorter than its 2-byte header"
				      : NULL;
		if (bad) {
			table_say("acpi: MADT entry at offset %u %s; the rest "
				  "of the MADT ignored\n",
				  off, bad);
			break;
		}
		if (p[0] == MADT_LAPIC_OVR && p[1] >= MADT_LAPIC_OVR_LEN) {
			uint64_t a;
			memcpy(&a, p + 4, 8);
			lapic = a ? a : lapic;
		}
		if (p[0] != MADT_IOAPIC)
			continue;
		uint32_t addr = 0, gsi = 0;
		if (p[1] >= MADT_IOAPIC_LEN) {
			memcpy(&addr, p + 4, 4);
			memcpy(&gsi, p + 8, 4);
		}
		bool seen = false;
		for (unsigned i = 0; i < acpi_nioapics; i++)
			seen |= acpi_ioapics[i].base == addr;
		const char *why =
		    p[1] < MADT_IOAPIC_LEN ? "is shorter than 12 bytes"
		    : !addr		   ? "has address 0"
		    : seen		   ? "has an earlier one's address"
		    : acpi_nioapics == ACPI_MAX_IOAPICS
			? "is past the I/O APICs capOS keeps (its pins are "
			  "left as firmware set them)"
			: NULL;
		if (why) {
			table_say("acpi: MADT I/O APIC entry at offset %u %s; "
				  "ignored\n",
				  off, why);
			continue;
		}
		acpi_ioapics[acpi_nioapics++] = (struct acpi_ioapic){
		    .base = addr, .gsi_base = gsi, .id = p[2]};
		platform_add(addr, IOAPIC_REG_SPAN, "I/O APIC");
	}
	if (lapic)
		platform_add(lapic, LAPIC_REG_SPAN, lapic_what);
}

void acpi_platform_lapic(uint64_t base)
{
	const struct acpi_range *madt = NULL;
	for (unsigned i = 0; i < acpi_nplatform; i++) {
		const struct acpi_range *r = &acpi_platform[i];
		if (r->what != lapic_what)
			continue;
		if (r->lo == (base & ~(uint64_t)(PAGE_SIZE - 1)))
			return; /* the MADT's page, or said and added before */
		madt = madt ? madt : r;
	}
	if (madt)
		kprintf("acpi: local APIC at 0x%lx by IA32_APIC_BASE, at 0x%lx "
			"by the MADT; PCI BARs are kept off both\n",
			base, madt->base);
	platform_add(base, LAPIC_REG_SPAN, lapic_what);
}

/* the HPET's register block (the Base Address GAS, HPET 1.0a §3.2.4):
 * only one in system memory is read (tsc.c reads its 64-bit registers
 * at base + offset, so its base must be 8-byte aligned); the first such
 * HPET is the clock, every one joins acpi_platform */
static void acpi_parse_hpet(const struct acpi_sdt *h)
{
	const uint8_t *t = (const uint8_t *)h;
	uint64_t base;
	memcpy(&base, t + HPET_GAS + 4, 8);
	const char *why = t[HPET_GAS] != GAS_SYSTEM_MEMORY
			      ? "is not in system memory"
			  : !base    ? "is at address 0"
			  : base & 7 ? "is not 8-byte aligned"
				     : NULL;
	if (why) {
		table_say(
		    "acpi: HPET at 0x%lx (address space %u) %s; ignored\n",
		    base, t[HPET_GAS], why);
		return;
	}
	if (!acpi_hpet_base)
		acpi_hpet_base = base;
	platform_add(base, HPET_REG_SPAN, "HPET");
}

/* the VT-d units' register pages (DRHD: 2^size pages from its base,
 * VT-d 3.0 §8.3) for acpi_platform, from every DRHD before the first
 * malformed structure: the units are there whether or not kernel/iommu
 * can use the table (dmar_parse checks all of it and says why not) */
static void acpi_parse_dmar(const struct acpi_sdt *h)
{
	const uint8_t *t = (const uint8_t *)h, *end = t + h->length;
	if (h->length < DMAR_ENTRIES)
		return;
	for (const uint8_t *p = t + DMAR_ENTRIES; end - p >= 4;) {
		uint16_t type, len;
		memcpy(&type, p, 2);
		memcpy(&len, p + 2, 2);
		if (len < 4 || len > end - p)
			return;
		uint64_t base = 0;
		if (type == DMAR_DRHD && len >= DMAR_DRHD_LEN)
			memcpy(&base, p + 8, 8);
		if (base)
			platform_add(base, (uint64_t)PAGE_SIZE << (p[5] & 15),
				     "VT-d unit");
		p += len;
	}
}

/* the fixed fields a table must hold before capOS parses it: MCFG 44 bytes
 * (its entries follow), HPET 56 (its base address ends there), MADT 44
 * (its entries follow) */
static bool fixed_fields_ok(const struct acpi_sdt *h)
{
	static const struct {
		char sig[4];
		uint32_t min;
	} mins[] = {{"MCFG", 44}, {"HPET", 56}, {"APIC", MADT_ENTRIES}};
	for (unsigned i = 0; i < ARRAY_SIZE(mins); i++)
		if (!memcmp(h->sig, mins[i].sig, 4) &&
		    h->length < mins[i].min) {
			kprintf("acpi: table %.4s is %u bytes, shorter than "
				"its %u bytes of fixed fields; ignored\n",
				mins[i].sig, h->length, mins[i].min);
			return false;
		}
	return true;
}

/* the tables capOS parses of which ACPI allows one (an HPET is one per
 * timer block) */
static bool one_only(const char *sig)
{
	static const char *const sigs[] = {"MCFG", "FACP", "APIC", "DMAR"};
	for (unsigned i = 0; i < ARRAY_SIZE(sigs); i++)
		if (!memcmp(sig, sigs[i], 4))
			return true;
	return false;
}

/* a table the root lists: listed (acpi_find) and parsed once, the first
 * of a signature ACPI allows once the only one (as Linux reads instance
 * 0); a repeat is said and ignored */
static void acpi_add(uint64_t phys)
{
	for (unsigned i = 0; i < ntables; i++)
		if (tables[i].phys == phys) {
			kprintf("acpi: table %s at 0x%lx is listed twice; "
				"read once\n",
				tables[i].sig, phys);
			return;
		}
	if (!table_ok(phys))
		return;
	const struct acpi_sdt *h = (const void *)phys;
	if (!fixed_fields_ok(h))
		return;
	char sig[5];
	sig_text(sig, h->sig);
	if (one_only(h->sig) && acpi_find(sig)) {
		kprintf("acpi: a second %s at 0x%lx; ignored (the first, at "
			"0x%lx, is used)\n",
			sig, phys, acpi_find(sig));
		return;
	}
	memcpy(tables[ntables].sig, sig, 5);
	tables[ntables++].phys = phys;
	table_lines = 0;
	if (!memcmp(h->sig, "MCFG", 4))
		acpi_parse_mcfg(h);
	else if (!memcmp(h->sig, "FACP", 4))
		acpi_parse_fadt(h);
	else if (!memcmp(h->sig, "APIC", 4))
		acpi_parse_madt(h);
	else if (!memcmp(h->sig, "DMAR", 4))
		acpi_parse_dmar(h);
	else if (!memcmp(h->sig, "HPET", 4))
		acpi_parse_hpet(h);
	if (table_lines > ACPI_TABLE_LINES)
		kprintf("acpi: %s at 0x%lx: %u more lines like those not "
			"printed\n",
			sig, phys, table_lines - ACPI_TABLE_LINES);
}

void acpi_init(uint64_t rsdp_phys)
{
	const struct acpi_rsdp *r = (const void *)rsdp_phys;
	/* everything is learnt afresh: nothing an earlier call found stays,
	 * whatever this one finds or refuses */
	ntables = acpi_necam = 0;
	memset(acpi_ecam, 0, sizeof(acpi_ecam));
	acpi_pm_timer_port = 0;
	acpi_hpet_base = 0;
	acpi_nioapics = acpi_nplatform = platform_lost = 0;
	memset(acpi_ioapics, 0, sizeof(acpi_ioapics));
	memset(acpi_platform, 0, sizeof(acpi_platform));
	/* ACPI 1.0's RSDP is 20 bytes, revision 2's 36 */
	if (r &&
	    (!mm_map_firmware(rsdp_phys, 20) ||
	     (r->revision >= 2 && !mm_map_firmware(rsdp_phys, sizeof(*r))))) {
		kprintf("acpi: RSDP at 0x%lx is outside the firmware memory "
			"the kernel maps; running without ACPI\n",
			rsdp_phys);
		return;
	}
	if (!r || memcmp(r->sig, "RSD PTR ", 8) != 0 || !sum_ok(r, 20)) {
		kprintf("acpi: no valid RSDP; running without ACPI\n");
		return;
	}
	/* the XSDT when the RSDP names one (ACPI 6.5 §5.2.5.3: an OS uses the
	 * XSDT when it is there), else the RSDT; an XSDT that root_fault
	 * refuses gives way to an RSDT it passes, as ACPICA's 2014
	 * acpi_tb_validate_xsdt did (today's ACPICA has no fallback, only
	 * Linux's acpi=rsdt), said in one line */
	bool xsdt = r->revision >= 2 && r->length >= sizeof(*r) &&
		    sum_ok(r, sizeof(*r)) && r->xsdt;
	char xwhy[ROOT_WHY], rwhy[ROOT_WHY];
	uint64_t root = r->rsdt;
	unsigned width = 4;
	if (xsdt && !root_fault(r->xsdt, "XSDT", 8, true, xwhy, sizeof(xwhy))) {
		root = r->xsdt;
		width = 8;
	} else if (root_fault(r->rsdt, "RSDT", 4, false, rwhy, sizeof(rwhy))) {
		if (xsdt)
			kprintf("acpi: %s; ignored\n", xwhy);
		kprintf("acpi: %s; running without ACPI\n", rwhy);
		return;
	} else if (xsdt) {
		kprintf("acpi: %s; the RSDT at 0x%lx is used instead\n", xwhy,
			root);
	}
	const struct acpi_sdt *h = (const void *)root;
	unsigned n = (h->length - sizeof(*h)) / width;
	if (n > ACPI_MAX_TABLES) {
		kprintf("acpi: %s lists %u tables; the %u after the first %u "
			"ignored\n",
			width == 8 ? "XSDT" : "RSDT", n, n - ACPI_MAX_TABLES,
			ACPI_MAX_TABLES);
		n = ACPI_MAX_TABLES;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t p = 0;
		memcpy(&p, (const uint8_t *)h + sizeof(*h) + i * width, width);
		acpi_add(p);
	}
	kprintf("acpi: %s with %u tables:", width == 8 ? "XSDT" : "RSDT",
		ntables);
	for (unsigned i = 0; i < ntables; i++)
		kprintf(" %s", tables[i].sig);
	kprintf("\n");
}

uint64_t acpi_find(const char *sig)
{
	for (unsigned i = 0; i < ntables; i++)
		if (!memcmp(tables[i].sig, sig, 4))
			return tables[i].phys;
	return 0;
}

bool acpi_has_iommu(const char **which)
{
	static const char *const sigs[] = {"DMAR", "IVRS", "VIOT"};
	for (unsigned i = 0; i < ARRAY_SIZE(sigs); i++)
		if (acpi_find(sigs[i])) {
			if (which)
				*which = sigs[i];
			return true;
		}
	return false;
}
