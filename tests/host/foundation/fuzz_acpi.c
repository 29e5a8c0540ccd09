/* tests/host/foundation/fuzz_acpi.c — hostile firmware tables through
 * acpi_init (kernel/acpi/acpi.c). The input is the firmware's memory, at
 * FW_BASE, the RSDP at its first byte; that and nothing else is memory the
 * kernel maps for firmware (mm_map_firmware), and every byte after the
 * input is poisoned, the page before it unmapped, so a read outside what
 * the tables said is ASan's or a fault. After each acpi_init an
 * independent reading of the same bytes (ACPI 6.5 ch. 5, the tables'
 * specs) must agree:
 *
 * - a table acpi_find lists is one the root table (the XSDT when the RSDP
 *   is revision 2 with a good extended checksum and an XSDT address and
 *   that XSDT is usable — valid, signed XSDT, at least one entry, one of
 *   its first 64 a valid table — else the RSDT when it is valid, signed
 *   RSDT and lists an entry; at most its first 64 entries) points at,
 *   wholly in the
 *   input, its length 36 bytes to 1 MiB and its checksum good; of MCFG,
 *   FACP, APIC and DMAR it is the first such entry of the signature (a
 *   repeat is not read); an invalid RSDP or no usable root table leaves
 *   everything empty, nothing of the previous input kept;
 * - every ECAM segment is a 16-byte entry inside that MCFG, its buses in
 *   order, its base nonzero and its last bus below 2^64, not meeting RAM,
 *   another segment's ECAM or its segment's buses;
 * - every I/O APIC is a 12-byte entry inside that MADT, address nonzero,
 *   no two alike, at most ACPI_MAX_IOAPICS;
 * - the HPET base is the first HPET table's (in system memory, nonzero,
 *   8-byte aligned); the PM timer port is that FADT's X_PM_TMR_BLK when
 *   its address is nonzero (only in system I/O, 32 or 24 bits at bit
 *   offset 0, access size 0 or dword, up to 0xfffc; else none), else its
 * PM_TMR_BLK (PM_TMR_LEN 4, up to 0xfffc);
 * - every platform range is whole pages around a base one of those tables
 *   names for its kind (I/O APIC, the MADT's local APIC or an override,
 *   an HPET, a DRHD), none twice, and every I/O APIC kept has one;
 * - acpi_init says at most 4 lines, and 13 per root entry, whatever the
 *   tables hold (a table of 87381 bad entries is not 87381 lines).
 *
 * Input: a flags byte, then the firmware's memory. With flag bit 0 the
 * harness first sets the checksum bytes of the RSDP, both root tables and
 * every table they list that lies in the input, so mutations reach what
 * lies behind the checksums; without it they are as the input has them.
 *
 * Seeds (tests/host/foundation/corpus/fuzz_acpi/): QEMU q35's tables
 * through the XSDT, the same through an ACPI 1.0 RSDT, the same through
 * an RSDT beside an XSDT with a wrong signature, a set with a DMAR, a
 * Local APIC Address Override, a second MADT and a repeated pointer, and
 * q35's FADT with its X_PM_TMR_BLK in system memory. */
#include <sanitizer/asan_interface.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel/acpi/acpi.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "shim.h"

#define FW_BASE	  0x40000000ull
#define FW_REGION (2ull << 20)
#define MAX_ROOT  64
#define RAM_LO	  0x100000000ull /* system memory, for the MCFG check */
#define RAM_HI	  0x140000000ull

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static size_t img_n;

bool mm_map_firmware(uint64_t phys, uint64_t len)
{
	return phys >= FW_BASE && len <= img_n && phys - FW_BASE <= img_n - len;
}

bool mm_holds_ram(uint64_t phys, uint64_t len)
{
	return len && phys < RAM_HI && RAM_LO <= phys + (len - 1);
}

static bool in_img(uint64_t p, uint64_t n)
{
	return mm_map_firmware(p, n);
}
static const uint8_t *at(uint64_t p)
{
	return (const uint8_t *)(uintptr_t)p;
}
static uint64_t rd(uint64_t p, unsigned n)
{
	uint64_t v = 0;
	memcpy(&v, at(p), n);
	return v;
}
static bool sum0(uint64_t p, uint64_t n)
{
	uint8_t s = 0;
	for (uint64_t i = 0; i < n; i++)
		s += at(p)[i];
	return !s;
}

/* a table the kernel may read: in the input, a sane length, checksum 0 */
static bool valid(uint64_t p)
{
	if (!p || !in_img(p, 36))
		return false;
	uint64_t len = rd(p + 4, 4);
	return len >= 36 && len <= 1u << 20 && in_img(p, len) && sum0(p, len);
}
static uint64_t len_of(uint64_t p)
{
	return rd(p + 4, 4);
}

static void fix_sum(uint64_t p, uint64_t n, uint64_t at_)
{
	uint8_t *b = (uint8_t *)(uintptr_t)p;
	b[at_] = 0;
	uint8_t s = 0;
	for (uint64_t i = 0; i < n; i++)
		s += b[i];
	b[at_] = (uint8_t)-s;
}

/* a table's checksum set, if its header and length lie in the input */
static void fix_table(uint64_t t)
{
	if (in_img(t, 36) && len_of(t) >= 36 && len_of(t) <= 1u << 20 &&
	    in_img(t, len_of(t)))
		fix_sum(t, len_of(t), 9);
}

/* a root table's checksum and those of the tables it lists */
static void fix_root(uint64_t r, unsigned w)
{
	fix_table(r);
	if (!in_img(r, 36) || len_of(r) < 36 || !in_img(r, len_of(r)))
		return;
	/* the count read once: a table over the root may change its length */
	uint64_t n = (len_of(r) - 36) / w;
	for (uint64_t i = 0; i < n && i < MAX_ROOT; i++)
		fix_table(rd(r + 36 + i * w, w));
	fix_table(r); /* a table over the root may have changed it */
}

static void fix_sums(void)
{
	if (!in_img(FW_BASE, 20))
		return;
	fix_sum(FW_BASE, 20, 8);
	bool v2 = at(FW_BASE)[15] >= 2 && in_img(FW_BASE, 36);
	if (v2)
		fix_sum(FW_BASE, 36, 32);
	/* both roots acpi_init may take, once the RSDP's sums are good: the
	 * RSDT first, so a mutation that leaves the XSDT good keeps it so */
	fix_root(rd(FW_BASE + 16, 4), 4);
	if (v2 && rd(FW_BASE + 20, 4) >= 36 && rd(FW_BASE + 24, 8))
		fix_root(rd(FW_BASE + 24, 8), 8);
}

static uint64_t root[MAX_ROOT];
static unsigned nroot;

/* a root table the kernel may use: valid, its own signature, at least
 * one entry; an XSDT also lists (in its first 64 entries) a valid table */
static bool root_usable(uint64_t r, const char *sig, unsigned w, bool listed)
{
	if (!valid(r) || memcmp(at(r), sig, 4) || len_of(r) < 36 + w)
		return false;
	uint64_t n = (len_of(r) - 36) / w;
	for (uint64_t i = 0; listed && i < n && i < MAX_ROOT; i++)
		if (valid(rd(r + 36 + i * w, w)))
			return true;
	return !listed;
}

/* the root table's entries, as ACPI 6.5 §5.2.5-5.2.8 give them: the XSDT
 * when a revision-2 RSDP with a good extended checksum names one and it
 * is usable, else the RSDT if it is; false when there is no valid RSDP or
 * no usable root */
static bool read_root(void)
{
	nroot = 0;
	if (!in_img(FW_BASE, 20) || memcmp(at(FW_BASE), "RSD PTR ", 8) ||
	    !sum0(FW_BASE, 20))
		return false;
	uint8_t rev = at(FW_BASE)[15];
	if (rev >= 2 && !in_img(FW_BASE, 36))
		return false;
	uint64_t r = rd(FW_BASE + 16, 4);
	unsigned w = 4;
	if (rev >= 2 && rd(FW_BASE + 20, 4) >= 36 && sum0(FW_BASE, 36) &&
	    rd(FW_BASE + 24, 8) &&
	    root_usable(rd(FW_BASE + 24, 8), "XSDT", 8, true)) {
		r = rd(FW_BASE + 24, 8);
		w = 8;
	} else if (!root_usable(r, "RSDT", 4, false)) {
		return false;
	}
	uint64_t n = (len_of(r) - 36) / w;
	for (uint64_t i = 0; i < n && i < MAX_ROOT; i++)
		root[nroot++] = rd(r + 36 + i * w, w);
	return true;
}

static bool is(uint64_t t, const char *sig)
{
	return !memcmp(at(t), sig, 4);
}

/* the first valid table of sig the root lists, its fixed fields whole */
static uint64_t first(const char *sig, uint64_t min)
{
	for (unsigned i = 0; i < nroot; i++)
		if (valid(root[i]) && is(root[i], sig) &&
		    len_of(root[i]) >= min)
			return root[i];
	return 0;
}

static bool ecam_meets(const struct acpi_mcfg_seg *a,
		       const struct acpi_mcfg_seg *b)
{
	return acpi_ecam_lo(a) <= acpi_ecam_hi(b) &&
	       acpi_ecam_lo(b) <= acpi_ecam_hi(a);
}

static void check_mcfg(void)
{
	uint64_t m = acpi_find("MCFG");
	CHECK(acpi_necam <= ARRAY_SIZE(acpi_ecam));
	if (!m)
		CHECK(acpi_necam == 0);
	for (unsigned i = 0; i < acpi_necam; i++) {
		const struct acpi_mcfg_seg *s = &acpi_ecam[i];
		bool found = false;
		for (uint64_t e = m + 44; e + 16 <= m + len_of(m); e += 16)
			found |= rd(e, 8) == s->base &&
				 rd(e + 8, 2) == s->seg &&
				 at(e)[10] == s->bus_start &&
				 at(e)[11] == s->bus_end;
		CHECK(found);
		CHECK(s->base && s->bus_start <= s->bus_end);
		CHECK(s->base + ((((uint64_t)s->bus_end + 1) << 20) - 1) >=
		      s->base);
		CHECK(!mm_holds_ram(acpi_ecam_lo(s),
				    acpi_ecam_hi(s) - acpi_ecam_lo(s) + 1));
		for (unsigned j = 0; j < i; j++) {
			const struct acpi_mcfg_seg *o = &acpi_ecam[j];
			CHECK(!ecam_meets(s, o));
			CHECK(o->seg != s->seg || o->bus_end < s->bus_start ||
			      s->bus_end < o->bus_start);
		}
	}
}

/* the MADT has an entry of type, at least min bytes, whose width-byte
 * field at off is v; walked as far as its entries are whole (length at
 * least 2, inside the table) */
static bool madt_has(uint64_t m, uint8_t type, uint8_t min, unsigned off,
		     unsigned width, uint64_t v)
{
	for (uint64_t p = m + 44, end = m + len_of(m);
	     end - p >= 2 && at(p)[1] >= 2 && at(p)[1] <= end - p;
	     p += at(p)[1])
		if (at(p)[0] == type && at(p)[1] >= min &&
		    rd(p + off, width) == v)
			return true;
	return false;
}

static void check_madt(void)
{
	uint64_t m = acpi_find("APIC");
	CHECK(acpi_nioapics <= ACPI_MAX_IOAPICS);
	if (!m)
		CHECK(acpi_nioapics == 0);
	for (unsigned i = 0; i < acpi_nioapics; i++) {
		const struct acpi_ioapic *a = &acpi_ioapics[i];
		CHECK(a->base && a->base <= UINT32_MAX);
		CHECK(madt_has(m, 1, 12, 4, 4, a->base));
		for (unsigned j = 0; j < i; j++)
			CHECK(acpi_ioapics[j].base != a->base);
		if (acpi_nplatform < ACPI_MAX_PLATFORM)
			CHECK(acpi_platform_at(a->base, a->base));
	}
}

/* the base of an HPET table the kernel may use (in system memory,
 * nonzero, 8-byte aligned), else 0 */
static uint64_t hpet_base(uint64_t t)
{
	if (!valid(t) || !is(t, "HPET") || len_of(t) < 56 || at(t)[40])
		return 0;
	uint64_t b = rd(t + 44, 8);
	return b & 7 ? 0 : b;
}

/* the PM timer port of FADT f (ACPI 6.5 §5.2.9): X_PM_TMR_BLK when its
 * address is nonzero, and then only a 32- or 24-bit register at bit offset
 * 0 in system I/O read as a dword (or access size 0) at a port up to 0xfffc;
 * else PM_TMR_BLK with PM_TMR_LEN 4 up to 0xfffc; else none */
static uint16_t pm_port(uint64_t f)
{
	if (len_of(f) >= 220 && rd(f + 212, 8)) {
		uint64_t a = rd(f + 212, 8);
		const uint8_t *g = at(f + 208);
		bool ok = g[0] == 1 && (g[1] == 32 || g[1] == 24) && !g[2] &&
			  (g[3] == 0 || g[3] == 3) && a <= 0xfffc;
		return ok ? (uint16_t)a : 0;
	}
	if (len_of(f) < 92)
		return 0;
	uint64_t b = rd(f + 76, 4);
	return at(f)[91] == 4 && b <= 0xfffc ? (uint16_t)b : 0;
}

static void check_hpet_fadt(void)
{
	uint64_t want = 0;
	for (unsigned i = 0; i < nroot && !want; i++)
		want = hpet_base(root[i]);
	CHECK(acpi_hpet_base == want);
	uint64_t f = acpi_find("FACP");
	uint16_t port = acpi_pm_timer_port;
	if (!f) {
		CHECK(!port);
		return;
	}
	CHECK(port == pm_port(f));
}

static void check_platform(void)
{
	uint64_t m = acpi_find("APIC"), d = acpi_find("DMAR");
	CHECK(acpi_nplatform <= ACPI_MAX_PLATFORM);
	for (unsigned i = 0; i < acpi_nplatform; i++) {
		const struct acpi_range *r = &acpi_platform[i];
		CHECK(!(r->lo & (PAGE_SIZE - 1)));
		CHECK((r->hi & (PAGE_SIZE - 1)) == PAGE_SIZE - 1);
		CHECK(r->lo <= r->base && r->base <= r->hi);
		bool named = false;
		if (!strcmp(r->what, "I/O APIC")) {
			for (unsigned j = 0; j < acpi_nioapics; j++)
				named |= acpi_ioapics[j].base == r->base;
		} else if (!strcmp(r->what, "local APIC")) {
			named = m && (rd(m + 36, 4) == r->base ||
				      madt_has(m, 5, 12, 4, 8, r->base));
		} else if (!strcmp(r->what, "HPET")) {
			for (unsigned j = 0; j < nroot; j++)
				named |=
				    r->base && hpet_base(root[j]) == r->base;
		} else if (!strcmp(r->what, "VT-d unit") && d &&
			   len_of(d) >= 48) {
			for (uint64_t p = d + 48, end = d + len_of(d);
			     end - p >= 4 && rd(p + 2, 2) >= 4 &&
			     rd(p + 2, 2) <= end - p;
			     p += rd(p + 2, 2))
				named |= rd(p, 2) == 0 && rd(p + 2, 2) >= 16 &&
					 rd(p + 8, 8) == r->base;
		}
		CHECK(named);
		for (unsigned j = 0; j < i; j++)
			CHECK(acpi_platform[j].lo != r->lo ||
			      acpi_platform[j].hi != r->hi ||
			      strcmp(acpi_platform[j].what, r->what));
	}
}

static void check_tables(void)
{
	static const struct {
		char sig[5];
		uint64_t min;
		bool one;
	} sigs[] = {{"MCFG", 44, true},
		    {"FACP", 36, true},
		    {"APIC", 44, true},
		    {"DMAR", 36, true},
		    {"HPET", 56, false}};
	for (unsigned i = 0; i < ARRAY_SIZE(sigs); i++) {
		uint64_t t = acpi_find(sigs[i].sig);
		if (sigs[i].one) {
			CHECK(t == first(sigs[i].sig, sigs[i].min));
			continue;
		}
		bool listed = false;
		for (unsigned j = 0; j < nroot; j++)
			listed |= root[j] == t;
		CHECK(!t || (listed && valid(t) && is(t, sigs[i].sig)));
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	shim_quiet = 1;
	/* the firmware's memory, and an inaccessible page before it */
	void *p =
	    mmap((void *)(uintptr_t)(FW_BASE - 4096), FW_REGION + 4096,
		 PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)(uintptr_t)(FW_BASE - 4096) ||
	    mprotect(p, 4096, PROT_NONE))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size || size - 1 > FW_REGION)
		return 0;
	bool fix = data[0] & 1;
	data++, size--;
	uint8_t *fw = (uint8_t *)(uintptr_t)FW_BASE;
	ASAN_UNPOISON_MEMORY_REGION(fw, FW_REGION);
	memset(fw, 0, FW_REGION);
	memcpy(fw, data, size);
	ASAN_POISON_MEMORY_REGION(fw + size, FW_REGION - size);
	img_n = size;
	if (fix)
		fix_sums();
	uint64_t lines = shim_kprintf_calls;
	acpi_init(FW_BASE);
	lines = shim_kprintf_calls - lines;
	if (!read_root()) {
		CHECK(lines <= 4);
		CHECK(!acpi_necam && !acpi_nioapics && !acpi_nplatform &&
		      !acpi_hpet_base && !acpi_pm_timer_port);
		CHECK(!acpi_find("FACP") && !acpi_find("APIC") &&
		      !acpi_find("HPET") && !acpi_find("MCFG"));
		return 0;
	}
	/* the closing list is 2 + one per table kprintf calls */
	CHECK(lines <= 4 + 13 * nroot);
	check_tables();
	check_mcfg();
	check_madt();
	check_hpet_fadt();
	check_platform();
	/* the CPU's own base, off the MADT's: held once, said once */
	unsigned n = acpi_nplatform;
	acpi_platform_lapic(0xfed40000);
	acpi_platform_lapic(0xfed40000);
	CHECK(acpi_nplatform <= n + 1);
	if (n < ACPI_MAX_PLATFORM)
		CHECK(acpi_platform_at(0xfed40000, 0xfed40fff));
	return 0;
}
