/* tests/host/foundation/test_foundation.c — ACPI parsing, the PCI capability
 * walk and BAR decode, grants, the command line, the boot files and printf,
 * built for the host with ASan+UBSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "dma/grant.h"
#include "kernel/acpi/acpi.h"
#include "kernel/boot/boot.h"
#include "kernel/boot/boot_internal.h"
#include "kernel/cpu/cpu.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "shim.h"
#include "tests/host/lib/json_check.h"

int pci_bar_decode(struct pci_dev *d, int i);
extern void (*pci_host_cfg_written)(const struct pci_dev *d, uint16_t off,
				    unsigned width);

/* ---- ACPI ------------------------------------------------------------------
 */
/* the firmware memory kernel/mm maps for reading (mm_map_firmware; its
 * rule over a memory map is tested in pmm_test and paging_test): everything,
 * unless a test lists the ranges that are, then a read must lie wholly in one
 * of them */
static struct {
	uint64_t lo, hi;
} fw[4];
static unsigned nfw;

bool mm_map_firmware(uint64_t phys, uint64_t len)
{
	if (!nfw)
		return true;
	for (unsigned i = 0; i < nfw; i++)
		if (len && phys >= fw[i].lo && phys < fw[i].hi &&
		    len <= fw[i].hi - phys)
			return true;
	return false;
}

/* system memory by the boot memory map, as kernel/mm answers
 * mm_holds_ram (its own rule over a map is tested in pmm_test): none
 * unless a test lists ranges, then a range holds RAM when it meets one */
static struct {
	uint64_t lo, hi;
} ram[2];
static unsigned nram;

bool mm_holds_ram(uint64_t phys, uint64_t len)
{
	for (unsigned i = 0; i < nram; i++)
		if (len && phys < ram[i].hi && ram[i].lo <= phys + (len - 1))
			return true;
	return false;
}

static void fw_add(const void *p, size_t n)
{
	fw[nfw].lo = (uint64_t)p;
	fw[nfw++].hi = (uint64_t)p + n;
}

/* one readable page followed by an inaccessible one: a read past the
 * returned end faults, as a read past the kernel's identity map would */
static uint8_t *guarded_page_end(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + pg, pg, PROT_NONE), 0);
	return p + pg;
}

static void guarded_free(uint8_t *end)
{
	long pg = sysconf(_SC_PAGESIZE);
	munmap(end - pg, 2 * pg);
}

static void fix_sum(uint8_t *p, size_t n, size_t at)
{
	uint8_t s = 0;
	p[at] = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	p[at] = -s;
}

struct fake_acpi {
	uint8_t rsdp[36];
	uint8_t xsdt[36 + 8 * 4];
	uint8_t mcfg[44 + 16];
	uint8_t fadt[244];
	uint8_t junk[36];
};

static void sdt(uint8_t *t, const char *sig, uint32_t len)
{
	memset(t, 0, len);
	memcpy(t, sig, 4);
	memcpy(t + 4, &len, 4);
	t[8] = 1;
}

static void acpi_build_into(struct fake_acpi *a)
{
	memset(a, 0, sizeof(*a));
	nfw = 0; /* all of it readable */
	sdt(a->mcfg, "MCFG", sizeof(a->mcfg));
	uint64_t base = 0xb0000000;
	memcpy(a->mcfg + 44, &base, 8);
	a->mcfg[44 + 10] = 0;
	a->mcfg[44 + 11] = 255;
	fix_sum(a->mcfg, sizeof(a->mcfg), 9);
	sdt(a->fadt, "FACP", sizeof(a->fadt));
	uint32_t pm = 0x608;
	memcpy(a->fadt + 76, &pm, 4);
	a->fadt[91] = 4;
	fix_sum(a->fadt, sizeof(a->fadt), 9);
	sdt(a->junk, "JUNK", sizeof(a->junk));
	fix_sum(a->junk, sizeof(a->junk), 9);
	sdt(a->xsdt, "XSDT", 36 + 8 * 3);
	uint64_t p[3] = {(uint64_t)a->mcfg, (uint64_t)a->fadt,
			 (uint64_t)a->junk};
	memcpy(a->xsdt + 36, p, sizeof(p));
	fix_sum(a->xsdt, 36 + 8 * 3, 9);
	memcpy(a->rsdp, "RSD PTR ", 8);
	a->rsdp[15] = 2;
	uint32_t len = 36;
	memcpy(a->rsdp + 20, &len, 4);
	uint64_t x = (uint64_t)a->xsdt;
	memcpy(a->rsdp + 24, &x, 8);
	fix_sum(a->rsdp, 20, 8);
	fix_sum(a->rsdp, 36, 32);
}

static struct fake_acpi *acpi_build(void)
{
	struct fake_acpi *a = malloc(sizeof(*a));
	acpi_build_into(a);
	return a;
}

/* what acpi_init found on an earlier call (the setup of every ACPI test
 * below): another machine's tables — two ECAM segments, a PM timer at
 * 0x408, an HPET, a MADT. None of it may be seen by the next call */
static int acpi_earlier_boot(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t *hpet = calloc(1, 56), *madt = calloc(1, 44);
	sdt(hpet, "HPET", 56);
	uint64_t hb = 0xfed00000, la = 0xfee00000;
	memcpy(hpet + 44, &hb, 8);
	fix_sum(hpet, 56, 9);
	sdt(madt, "APIC", 44);
	memcpy(madt + 36, &la, 4);
	fix_sum(madt, 44, 9);
	uint8_t *mcfg = calloc(1, 44 + 32);
	sdt(mcfg, "MCFG", 44 + 32);
	uint64_t e[2] = {0xe0000000, 0xd0000000};
	for (int i = 0; i < 2; i++) {
		memcpy(mcfg + 44 + 16 * i, &e[i], 8);
		mcfg[44 + 16 * i + 8] = (uint8_t)i; /* segment */
		mcfg[44 + 16 * i + 11] = 63;
	}
	fix_sum(mcfg, 44 + 32, 9);
	uint32_t pm = 0x408;
	memcpy(a->fadt + 76, &pm, 4);
	fix_sum(a->fadt, sizeof(a->fadt), 9);
	uint32_t len = 36 + 8 * 4;
	memcpy(a->xsdt + 4, &len, 4);
	uint64_t p[4] = {(uint64_t)mcfg, (uint64_t)a->fadt, (uint64_t)hpet,
			 (uint64_t)madt};
	memcpy(a->xsdt + 36, p, sizeof(p));
	fix_sum(a->xsdt, len, 9);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_necam, 2);
	assert_int_equal(acpi_pm_timer_port, 0x408);
	assert_int_equal(acpi_hpet_base, 0xfed00000);
	assert_int_not_equal(acpi_find("APIC"), 0);
	free(hpet);
	free(madt);
	free(mcfg);
	free(a);
	return 0;
}

static void test_acpi_good(void **st)
{
	struct fake_acpi *a = acpi_build();
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_necam, 1);
	assert_int_equal(acpi_ecam[0].base, 0xb0000000);
	assert_int_equal(acpi_ecam[0].bus_end, 255);
	assert_int_equal(acpi_ecam[1].base, 0);
	assert_int_equal(acpi_pm_timer_port, 0x608);
	assert_int_equal(acpi_hpet_base, 0); /* none here */
	assert_int_equal(acpi_find("HPET"), 0);
	assert_int_not_equal(acpi_find("JUNK"), 0);
	assert_false(acpi_has_iommu(NULL));
	assert_int_equal(acpi_nplatform, 0); /* no MADT, HPET or DMAR */
	free(a);
}

static void test_acpi_bad_checksum_ignored(void **st)
{
	struct fake_acpi *a = acpi_build();
	a->mcfg[20] ^= 0x55; /* corrupt, checksum now wrong */
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_necam, 0); /* MCFG ignored */
	assert_int_equal(acpi_find("MCFG"), 0);
	assert_int_equal(acpi_pm_timer_port, 0x608); /* the rest still used */
	free(a);
}

static void test_acpi_bad_length_ignored(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint32_t huge = 0x7fffffff; /* would read far past the table */
	memcpy(a->junk + 4, &huge, 4);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_find("JUNK"), 0);
	assert_int_not_equal(acpi_find("MCFG"), 0);
	free(a);
}

/* nothing an earlier call found (acpi_earlier_boot) survives a call that
 * finds no ACPI at all */
static void assert_acpi_empty(void)
{
	assert_int_equal(acpi_necam, 0);
	assert_int_equal(acpi_ecam[0].base, 0);
	assert_int_equal(acpi_pm_timer_port, 0);
	assert_int_equal(acpi_hpet_base, 0);
	assert_int_equal(acpi_find("FACP"), 0);
	assert_int_equal(acpi_find("HPET"), 0);
	assert_int_equal(acpi_find("APIC"), 0);
	assert_int_equal(acpi_nioapics, 0);
	assert_int_equal(acpi_nplatform, 0);
}

static void test_acpi_bad_rsdp(void **st)
{
	struct fake_acpi *a = acpi_build();
	a->rsdp[0] = 'X';
	acpi_init((uint64_t)a->rsdp);
	assert_acpi_empty();
	acpi_earlier_boot(st);
	acpi_init(0);
	assert_acpi_empty();
	free(a);
}

/* a root table that fails its checksum: no ACPI, and nothing of the
 * earlier call is left either */
static void test_acpi_bad_root_forgets_earlier(void **st)
{
	struct fake_acpi *a = acpi_build();
	a->xsdt[20] ^= 0x55;
	acpi_init((uint64_t)a->rsdp);
	assert_acpi_empty();
	free(a);
}

static void test_acpi_iommu_detected(void **st)
{
	struct fake_acpi *a = acpi_build();
	sdt(a->junk, "DMAR", sizeof(a->junk));
	fix_sum(a->junk, sizeof(a->junk), 9);
	acpi_init((uint64_t)a->rsdp);
	const char *w = NULL;
	assert_true(acpi_has_iommu(&w));
	assert_string_equal(w, "DMAR");
	free(a);
}

/* an HPET table no longer than its SDT header has no Base Address field
 * (IA-PC HPET 1.0a §3.2.4, offset 44): it is ignored, not read past its
 * end (the junk slot is the last bytes of the allocation) */
static void test_acpi_short_hpet_not_read_past(void **st)
{
	struct fake_acpi *a = acpi_build();
	sdt(a->junk, "HPET", sizeof(a->junk));
	fix_sum(a->junk, sizeof(a->junk), 9);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_hpet_base, 0);
	assert_int_equal(acpi_find("HPET"), 0);
	assert_int_not_equal(acpi_find("MCFG"), 0);
	free(a);
}

/* f(arg) with what it printed (the shim's kprintf writes to stdout,
 * caught here in a temporary file) */
static const char *logged(void (*f)(uint64_t), uint64_t arg)
{
	static char log[16384];
	fflush(stdout);
	int saved = dup(1);
	FILE *t = tmpfile();
	assert_non_null(t);
	dup2(fileno(t), 1);
	shim_quiet = 0;
	f(arg);
	fflush(stdout);
	shim_quiet = 1;
	dup2(saved, 1);
	close(saved);
	rewind(t);
	size_t n = fread(log, 1, sizeof(log) - 1, t);
	log[n] = 0;
	fclose(t);
	return log;
}

static const char *acpi_init_log(uint64_t rsdp)
{
	return logged(acpi_init, rsdp);
}

/* log holds the line fmt makes of addr */
static void expect_log(const char *log, const char *fmt, uint64_t addr)
{
	char want[256];
	snprintf(want, sizeof(want), fmt, (unsigned long)addr);
	if (!strstr(log, want))
		fail_msg("expected \"%s\" in:\n%s", want, log);
}

/* the XSDT's n-th entry points at t; its checksum is fixed up */
static void xsdt_point(struct fake_acpi *a, unsigned n, const void *t)
{
	uint64_t p = (uint64_t)t;
	memcpy(a->xsdt + 36 + 8 * n, &p, 8);
	fix_sum(a->xsdt, 36 + 8 * 3, 9);
}

/* an RSDP outside the memory the kernel maps for firmware is not read */
static void test_acpi_rsdp_unmapped_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	fw_add(a->xsdt, sizeof(*a) - offsetof(struct fake_acpi, xsdt));
	expect_log(acpi_init_log((uint64_t)a->rsdp),
		   "acpi: RSDP at 0x%lx is outside the firmware memory the "
		   "kernel maps; running without ACPI\n",
		   (uint64_t)a->rsdp);
	assert_int_equal(acpi_find("FACP"), 0);
	assert_int_equal(acpi_necam, 0);
	free(a);
}

/* a revision-2 RSDP whose first 20 bytes are mapped and whose last 16
 * (length, XSDT address) are not: refused before those are read (the old
 * code read them, and faulted here) */
static void test_acpi_rsdp_v2_tail_unmapped_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t *end = guarded_page_end();
	uint8_t *r = end - 20;
	memcpy(r, a->rsdp, 20); /* revision 2, its 20-byte checksum holds */
	fw_add(end - 4096, 4096);
	fw_add(a, sizeof(*a));
	expect_log(acpi_init_log((uint64_t)r),
		   "acpi: RSDP at 0x%lx is outside the firmware memory the "
		   "kernel maps; running without ACPI\n",
		   (uint64_t)r);
	assert_int_equal(acpi_find("FACP"), 0);
	assert_int_equal(acpi_necam, 0);
	guarded_free(end);
	free(a);
}

/* the XSDT outside the mapped memory: no ACPI, nothing read through it */
static void test_acpi_root_unmapped_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	fw_add(a->rsdp, sizeof(a->rsdp));
	fw_add(a->mcfg, sizeof(*a) - offsetof(struct fake_acpi, mcfg));
	expect_log(acpi_init_log((uint64_t)a->rsdp),
		   "acpi: table at 0x%lx is outside the firmware memory the "
		   "kernel maps; ignored\n",
		   (uint64_t)a->xsdt);
	assert_int_equal(acpi_find("FACP"), 0);
	assert_int_equal(acpi_necam, 0);
	free(a);
}

/* an XSDT whose header is mapped but whose length runs past the mapped
 * memory (its last entry): refused, its entries are not read */
static void test_acpi_root_length_past_mapping_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	fw_add(a->rsdp, sizeof(a->rsdp));
	fw_add(a->xsdt, 36 + 8 * 2);
	fw_add(a->mcfg, sizeof(*a) - offsetof(struct fake_acpi, mcfg));
	expect_log(acpi_init_log((uint64_t)a->rsdp),
		   "acpi: table XSDT at 0x%lx, 60 bytes, runs past the "
		   "firmware memory the kernel maps; ignored\n",
		   (uint64_t)a->xsdt);
	assert_int_equal(acpi_find("FACP"), 0);
	assert_int_equal(acpi_find("MCFG"), 0);
	free(a);
}

/* one table outside the mapped memory: that table is refused, the others
 * are used */
static void test_acpi_table_unmapped_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	fw_add(a, offsetof(struct fake_acpi, mcfg));
	fw_add(a->fadt, sizeof(*a) - offsetof(struct fake_acpi, fadt));
	expect_log(acpi_init_log((uint64_t)a->rsdp),
		   "acpi: table at 0x%lx is outside the firmware memory the "
		   "kernel maps; ignored\n",
		   (uint64_t)a->mcfg);
	assert_int_equal(acpi_find("MCFG"), 0);
	assert_int_equal(acpi_necam, 0);
	assert_int_not_equal(acpi_find("FACP"), 0);
	assert_int_equal(acpi_pm_timer_port, 0x608);
	free(a);
}

/* an MCFG whose header is the last mapped bytes and whose length runs on
 * into memory that is not mapped: refused before its checksum reads there
 * (the old code summed it, and faulted here); the others are used */
static void test_acpi_table_length_past_mapping_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t *end = guarded_page_end();
	uint8_t *t = end - 44; /* header and fixed fields; entries beyond */
	memcpy(t, a->mcfg, 44);
	xsdt_point(a, 0, t);
	fw_add(end - 4096, 4096);
	fw_add(a, sizeof(*a));
	expect_log(acpi_init_log((uint64_t)a->rsdp),
		   "acpi: table MCFG at 0x%lx, 60 bytes, runs past the "
		   "firmware memory the kernel maps; ignored\n",
		   (uint64_t)t);
	assert_int_equal(acpi_find("MCFG"), 0);
	assert_int_equal(acpi_necam, 0);
	assert_int_not_equal(acpi_find("FACP"), 0);
	guarded_free(end);
	free(a);
}

/* ---- PCI -------------------------------------------------------------------
 */
static uint8_t cfg[4096];
static struct pci_dev dev = {.cfg = cfg};

static void cap(uint8_t at, uint8_t id, uint8_t next)
{
	cfg[at] = id;
	cfg[at + 1] = next;
}

static void test_pci_caps_found(void **st)
{
	memset(cfg, 0, sizeof(cfg));
	cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CAP_PTR] = 0x40;
	cap(0x40, PCI_CAP_ID_VNDR, 0x50);
	cap(0x50, PCI_CAP_ID_MSIX, 0x60);
	cap(0x60, PCI_CAP_ID_VNDR, 0);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_MSIX, 0), 0x50);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0), 0x40);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0x40), 0x60);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_MSI, 0), 0);
}

static void test_pci_caps_loop_bounded(void **st)
{
	memset(cfg, 0, sizeof(cfg));
	cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CAP_PTR] = 0x40;
	cap(0x40, PCI_CAP_ID_VNDR, 0x50);
	cap(0x50, PCI_CAP_ID_VNDR, 0x40); /* loop */
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_MSIX, 0), 0);
}

static void test_pci_caps_wild_pointer(void **st)
{
	memset(cfg, 0, sizeof(cfg));
	cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CAP_PTR] = 0x40;
	cap(0x40, PCI_CAP_ID_VNDR, 0x13); /* 0x10 masked: inside the header */
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_MSIX, 0), 0);
	cfg[PCI_CAP_PTR] = 0x10; /* into the BARs */
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0), 0);
	cfg[PCI_STATUS] = 0; /* no list at all */
	cfg[PCI_CAP_PTR] = 0x40;
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0), 0);
}

/* A capability pointer's bottom two bits are reserved, and software masks
 * them off before using it as a pointer (PCI 3.0 §6.7; Linux's
 * __pci_find_next_cap_ttl: pos &= ~3): 0x52 is 0x50, a next of 0x03 ends
 * the list. Before, the walk refused any such pointer as wild and found
 * nothing past it. */
static void test_pci_caps_reserved_bits_masked(void **st)
{
	memset(cfg, 0, sizeof(cfg));
	cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CAP_PTR] = 0x43;
	cap(0x40, PCI_CAP_ID_VNDR, 0x52);
	cap(0x50, PCI_CAP_ID_MSIX, 0x61);
	cap(0x60, PCI_CAP_ID_VNDR, 0x03); /* the end, reserved bits set */
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_MSIX, 0), 0x50);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0), 0x40);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0x40), 0x60);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0x60), 0);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_MSI, 0), 0);
	/* masked, a loop is still a loop, and the header still out */
	cap(0x60, PCI_CAP_ID_VNDR, 0x42);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_MSI, 0), 0);
	cap(0x60, PCI_CAP_ID_VNDR, 0x3f);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_MSI, 0), 0);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0x40), 0x60);
}

static void pci_enable_arg(uint64_t d)
{
	pci_enable((struct pci_dev *)d, true, false, true);
}

static void pci_enable_arg2(uint64_t d)
{
	pci_enable((struct pci_dev *)d, true, false, false);
}

/* Bus mastering of an owned function is granted only while the check the
 * authority layer installs says its owner may master the bus (neither
 * revoked nor quarantined); with none installed, never (a function with
 * no owner, never at all: test_pci_enable_unowned_never_masters). The
 * check is asked again after the write:
 * a quarantine that lands in between (the IOMMU's fault interrupt) is not
 * undone. Before, pci_enable set Bus Master Enable for any caller. */
static unsigned bm_asks;
static bool bm_says[2];
static bool bm_check(const struct pci_dev *d)
{
	assert_int_equal(d->owner, 7);
	return bm_says[bm_asks++ % 2];
}

static uint16_t command(const struct pci_dev *d)
{
	return pci_cfg_read16(d, PCI_COMMAND);
}

static void test_pci_enable_bus_master_checked(void **st)
{
	static uint8_t c[4096];
	struct pci_dev d = {.cfg = c, .dev = 6};
	const uint16_t on =
	    PCI_COMMAND_MEM | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
	memset(c, 0, sizeof(c));
	pci_set_bus_master_check(NULL);
	d.owner = 7; /* no check installed: refused */
	const char *log = logged(pci_enable_arg, (uint64_t)&d);
	assert_int_equal(command(&d), on & ~PCI_COMMAND_MASTER);
	assert_string_equal(log, "pci 0000:00:06.0: bus mastering refused: "
				 "owner 7 is revoked, quarantined, unknown to "
				 "the authority layer or bound to another "
				 "function, or its remapping unit failed; "
				 "left off\n");
	pci_set_bus_master_check(bm_check);
	bm_asks = 0, bm_says[0] = bm_says[1] = true;
	pci_enable(&d, true, false, true);
	assert_int_equal(command(&d), on);
	bm_asks = 0, bm_says[0] = bm_says[1] = false; /* on: turned off */
	pci_enable(&d, true, false, true);
	assert_int_equal(command(&d), on & ~PCI_COMMAND_MASTER);
	assert_int_equal(bm_asks, 1);
	/* granted again, then quarantined between the check and the write:
	 * a line (a refusal after a grant is said again) */
	bm_asks = 0, bm_says[0] = bm_says[1] = true;
	pci_enable(&d, true, false, true);
	assert_int_equal(command(&d), on);
	bm_asks = 0, bm_says[0] = true, bm_says[1] = false;
	log = logged(pci_enable_arg, (uint64_t)&d);
	assert_int_equal(command(&d), on & ~PCI_COMMAND_MASTER);
	assert_int_equal(bm_asks, 2);
	assert_non_null(strstr(log, "bus mastering refused"));
	/* turning it off asks no one */
	bm_asks = 0;
	pci_enable(&d, false, false, false);
	assert_int_equal(command(&d), PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(bm_asks, 0);
	pci_set_bus_master_check(NULL);
}

/* A function with no owner (d->owner 0) never masters the bus: every
 * caller that asks for bus mastering is a driver the device manager
 * attached after binding the function's owner, or the NVMe broker it
 * opened (docs/authority-gate-design.md, "No owner, no capability"), so
 * none relies on it. Not with no check installed, not with one that would
 * say yes (it is not even asked: it answers for owners), each refusal one
 * line; memory decode is granted, and bus mastering firmware left on goes
 * off. Before, may_master said yes to any function with no owner: DMA for
 * a function the authority layer never granted anything. */
static void test_pci_enable_unowned_never_masters(void **st)
{
	static uint8_t c[4096];
	struct pci_dev d = {.cfg = c, .dev = 6};
	const uint16_t mem = PCI_COMMAND_MEM | PCI_COMMAND_INTX_DISABLE;
	memset(c, 0, sizeof(c));
	pci_set_bus_master_check(NULL);
	const char *log = logged(pci_enable_arg, (uint64_t)&d);
	assert_int_equal(command(&d), mem);
	assert_string_equal(log, "pci 0000:00:06.0: bus mastering refused: "
				 "the function has no owner; left off\n");
	pci_set_bus_master_check(bm_check);
	bm_asks = 0, bm_says[0] = bm_says[1] = true;
	pci_cfg_write16(&d, PCI_COMMAND, PCI_COMMAND_MASTER); /* firmware's */
	log = logged(pci_enable_arg, (uint64_t)&d);
	assert_int_equal(command(&d), mem);
	assert_int_equal(bm_asks, 0);
	assert_string_equal(log, ""); /* said once (test below) */
	pci_set_bus_master_check(NULL);
}

/* A fenced function (struct pci_dev fenced: a disable of it failed, so it
 * may still hold addresses of memory given back since) never gets bus
 * mastering again: not with its owner in good standing (the check says
 * yes and is not even asked), not once it has no owner at all, the first
 * refusal one line naming the fence (the rest are not said:
 * test_pci_enable_refusals_said_once); memory decode is still granted
 * (the broker reads its registers) and turning bus mastering off still
 * works.
 * Before, pci_enable never looked at the fence: the first two calls set
 * Bus Master Enable. */
static void test_pci_enable_fenced_never_masters(void **st)
{
	static uint8_t c[4096];
	struct pci_dev d = {.cfg = c, .dev = 6, .owner = 7, .fenced = true};
	const uint16_t mem = PCI_COMMAND_MEM | PCI_COMMAND_INTX_DISABLE;
	memset(c, 0, sizeof(c));
	pci_set_bus_master_check(bm_check);
	bm_asks = 0, bm_says[0] = bm_says[1] = true;
	const char *log = logged(pci_enable_arg, (uint64_t)&d);
	assert_int_equal(command(&d), mem);
	assert_int_equal(bm_asks, 0);
	assert_string_equal(log, "pci 0000:00:06.0: bus mastering refused: "
				 "the function is fenced (an earlier disable "
				 "of it failed); left off\n");
	d.owner = 0; /* unbound since: still refused, said already */
	log = logged(pci_enable_arg, (uint64_t)&d);
	assert_int_equal(command(&d), mem);
	assert_string_equal(log, "");
	/* on in the device (the firmware's, a racing write): off, no line */
	pci_cfg_write16(&d, PCI_COMMAND, PCI_COMMAND_MASTER);
	log = logged(pci_enable_arg2, (uint64_t)&d);
	assert_int_equal(command(&d), mem);
	assert_string_equal(log, "");
	pci_set_bus_master_check(NULL);
}

static void pci_enable_20_arg(uint64_t d)
{
	for (int k = 0; k < 20; k++)
		pci_enable((struct pci_dev *)d, true, true, true);
}

static unsigned lines_in(const char *log)
{
	unsigned n = 0;
	for (; *log; log++)
		n += *log == '\n';
	return n;
}

/* pci_enable's refusals are bounded: a driver that retries (the NVMe
 * broker's fence at every enable, a recovery loop) gets one line per
 * function per reason — fenced, memory decode, I/O decode, bus mastering
 * refused by the check or for want of an owner — however often it asks,
 * and another function its own line. A bus-mastering refusal is said once
 * more only after bus mastering was granted since, so a later revocation
 * or quarantine is heard of. Before, each of 20 calls was a line of each
 * reason: 60 for d alone. */
static void test_pci_enable_refusals_said_once(void **st)
{
	static uint8_t c[4096], c2[4096], c3[4096];
	struct pci_dev d = {.cfg = c,
			    .dev = 6,
			    .owner = 7,
			    .fenced = true,
			    .bar_refused = 3},
		       e = {.cfg = c2, .dev = 7, .owner = 7},
		       u = {.cfg = c3, .dev = 8};
	d.bar[1].io = true;
	memset(c, 0, sizeof(c));
	memset(c2, 0, sizeof(c2));
	memset(c3, 0, sizeof(c3));
	pci_set_bus_master_check(bm_check);
	bm_says[0] = bm_says[1] = true;
	const char *log = logged(pci_enable_20_arg, (uint64_t)&d);
	assert_string_equal(log,
			    "pci 0000:00:06.0: memory decode refused: BAR0 was "
			    "refused at enumeration; left off\n"
			    "pci 0000:00:06.0: I/O decode refused: BAR1 was "
			    "refused at enumeration; left off\n"
			    "pci 0000:00:06.0: bus mastering refused: the "
			    "function is fenced (an earlier disable of it "
			    "failed); left off\n");
	assert_int_equal(command(&d), PCI_COMMAND_INTX_DISABLE);
	/* the check says no: one line for 20 calls */
	bm_says[0] = bm_says[1] = false;
	log = logged(pci_enable_20_arg, (uint64_t)&e);
	assert_int_equal(lines_in(log), 1);
	assert_non_null(strstr(log, "pci 0000:00:07.0: bus mastering "
				    "refused: owner 7 is revoked"));
	assert_int_equal(command(&e), PCI_COMMAND_MEM | PCI_COMMAND_IO |
					  PCI_COMMAND_INTX_DISABLE);
	/* granted (reinstated, say), then refused again: one more line */
	bm_says[0] = bm_says[1] = true;
	log = logged(pci_enable_20_arg, (uint64_t)&e);
	assert_string_equal(log, "");
	assert_true(command(&e) & PCI_COMMAND_MASTER);
	bm_says[0] = bm_says[1] = false;
	log = logged(pci_enable_20_arg, (uint64_t)&e);
	assert_int_equal(lines_in(log), 1);
	assert_false(command(&e) & PCI_COMMAND_MASTER);
	/* a function with no owner: one line for 20 calls */
	log = logged(pci_enable_20_arg, (uint64_t)&u);
	assert_string_equal(log, "pci 0000:00:08.0: bus mastering refused: "
				 "the function has no owner; left off\n");
	pci_set_bus_master_check(NULL);
}

/* iterating a list with from = the last capability found ends: a list
 * that loops back (here onto its own first entry, then through two)
 * yields each capability once, never one it already returned */
static void test_pci_caps_iteration_visits_once(void **st)
{
	memset(cfg, 0, sizeof(cfg));
	cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CAP_PTR] = 0x40;
	cap(0x40, PCI_CAP_ID_VNDR, 0x40); /* points at itself */
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0), 0x40);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0x40), 0);
	cap(0x40, PCI_CAP_ID_VNDR, 0x50);
	cap(0x50, PCI_CAP_ID_VNDR, 0x40); /* back to the first */
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0), 0x40);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0x40), 0x50);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0x50), 0);
	/* the longest list without a loop, 48 entries, is walked whole */
	for (unsigned p = 0x40; p < 0x100; p += 4)
		cap(p, p == 0xfc ? PCI_CAP_ID_MSIX : PCI_CAP_ID_VNDR,
		    p == 0xfc ? 0 : p + 4);
	assert_int_equal(pci_find_cap(&dev, PCI_CAP_ID_MSIX, 0), 0xfc);
	unsigned n = 0;
	for (uint8_t at = pci_find_cap(&dev, PCI_CAP_ID_VNDR, 0); at && n < 100;
	     at = pci_find_cap(&dev, PCI_CAP_ID_VNDR, at))
		n++;
	assert_int_equal(n, 47);
}

static void test_pci_cfg_bounds(void **st)
{
	assert_int_equal(pci_cfg_read32(&dev, 4094), 0xffffffffu);
	assert_int_equal(pci_cfg_read16(&dev, 4095), 0xffff);
	assert_int_equal(pci_cfg_read8(&dev, 4096), 0xff);
}

/* a fake BAR that answers the sizing protocol: writes of all ones read back
 * as the size mask. Config memory here is plain memory, so emulate by
 * pre-storing what the device would return and checking decode. */
static void test_pci_bar_zero_size(void **st)
{
	memset(cfg, 0, sizeof(cfg));
	/* plain memory reads back 0xffffffff after the sizing write: a BAR
	 * that "sizes" to nothing sensible is treated as unimplemented */
	uint32_t v = 0xfe000000;
	memcpy(cfg + PCI_BAR0, &v, 4);
	int used = pci_bar_decode(&dev, 0);
	assert_int_equal(used, 1);
	assert_int_equal(dev.bar[0].size, 0);
	assert_int_equal(dev.bar[0].base, 0); /* reported and ignored */
	/* a 64-bit BAR in the last slot has no upper half */
	v = 0xfe000000 | (PCI_BAR_TYPE_64 << PCI_BAR_TYPE_SHIFT);
	memcpy(cfg + PCI_BAR0 + 20, &v, 4);
	assert_int_equal(pci_bar_decode(&dev, 5), 1);
	assert_false(dev.bar[5].is64);
}

/* a device that answers BAR sizing: after all ones are written to BAR
 * register i it reads back bar_mask[i] (0: not implemented) */
static uint32_t bar_mask[7];

static void bar_model(const struct pci_dev *d, uint16_t off, unsigned width)
{
	uint32_t v;
	if (width != 4 || off < PCI_BAR0 || off >= PCI_BAR0 + 24)
		return;
	memcpy(&v, cfg + off, 4); /* d->cfg is cfg */
	if (v == 0xffffffffu)
		memcpy(cfg + off, &bar_mask[(off - PCI_BAR0) / 4], 4);
}

/* BAR i of a type 0 function at lo (and hi), answering sizing with mlo
 * (and mhi); decoded */
static const struct pci_bar *bar_sized(int i, uint32_t lo, uint32_t mlo,
				       uint32_t hi, uint32_t mhi)
{
	memset(cfg, 0, sizeof(cfg));
	memset(bar_mask, 0, sizeof(bar_mask));
	memcpy(cfg + PCI_BAR0 + 4 * i, &lo, 4);
	memcpy(cfg + PCI_BAR0 + 4 * i + 4, &hi, 4);
	bar_mask[i] = mlo;
	bar_mask[i + 1] = mhi;
	dev.header_type = 0;
	pci_host_cfg_written = bar_model;
	pci_bar_decode(&dev, i);
	pci_host_cfg_written = NULL;
	/* what firmware programmed is back */
	uint32_t now;
	memcpy(&now, cfg + PCI_BAR0 + 4 * i, 4);
	assert_int_equal(now, lo);
	return &dev.bar[i];
}

/* a mask that is not ones from the size up (PCI 3.0 §6.2.5.1: the size is
 * a power of two, the base aligned to it) is no size at all: the BAR is
 * ignored, not given a size that runs past 4 GiB from a 32-bit BAR or to
 * 2^64 from a 64-bit one; well-formed ones decode as they did */
static void test_pci_bar_sizing_hostile(void **st)
{
	const uint32_t m64 = PCI_BAR_TYPE_64 << PCI_BAR_TYPE_SHIFT;
	const struct pci_bar *b;
	/* 32-bit, address bits 31:16 read-only zero: ~mask + 1 = 0xffff0010 */
	b = bar_sized(0, 0xfe000000, 0x0000fff0, 0, 0);
	assert_int_equal(b->size, 0);
	assert_int_equal(b->base, 0);
	/* holes in the mask */
	b = bar_sized(2, 0xfe000000, 0xff0ff000, 0, 0);
	assert_int_equal(b->size, 0);
	/* 64-bit whose upper half does not take the ones: 2^64 - 2^32 + 16 */
	b = bar_sized(0, 0x00000000 | m64, 0xfffffff0 | m64, 0x8, 0);
	assert_int_equal(b->size, 0);
	assert_int_equal(b->base, 0);
	assert_true(b->is64);
	/* 1 MiB, programmed at an address not aligned to it */
	b = bar_sized(0, 0xfe080000, 0xfff00000, 0, 0);
	assert_int_equal(b->size, 0);
	assert_int_equal(b->base, 0);
	/* I/O with holes in its 16 decoded bits */
	b = bar_sized(1, 0xc001, 0x0000f0f1, 0, 0);
	assert_int_equal(b->size, 0);
	/* well formed: 32-bit 16 MiB, 64-bit prefetchable 4 GiB above 4 GiB,
	 * I/O 32 bytes decoding 16 bits, 32-bit 16 bytes (all address bits) */
	b = bar_sized(0, 0xfe000000, 0xff000000, 0, 0);
	assert_int_equal(b->base, 0xfe000000);
	assert_int_equal(b->size, 0x1000000);
	b = bar_sized(2, m64 | PCI_BAR_PREFETCH, m64 | PCI_BAR_PREFETCH, 0x10,
		      0xffffffff);
	assert_int_equal(b->base, 0x1000000000);
	assert_int_equal(b->size, 0x100000000);
	assert_true(b->is64 && b->prefetch);
	b = bar_sized(4, 0xc021 & ~0x20u, 0x0000ffe1, 0, 0);
	assert_true(b->io);
	assert_int_equal(b->base, 0xc000);
	assert_int_equal(b->size, 32);
	b = bar_sized(3, 0xfebf1000, 0xfffffff0, 0, 0);
	assert_int_equal(b->base, 0xfebf1000);
	assert_int_equal(b->size, 16);
}

/* a BAR firmware left at address 0 was not assigned (page 0 is RAM, port
 * 0 the DMA controller's), and a 32-bit memory BAR with no writable
 * address bit is not implemented: neither has a size. The old code gave a
 * 32-bit BAR at 0 whose mask is only its type bits 4 GiB, all of low
 * memory, and pci_msix_init would then map an MSI-X table anywhere in it
 * and set the mask bit of each entry there, in RAM */
static void test_pci_bar_unassigned_ignored(void **st)
{
	const uint32_t m64 = PCI_BAR_TYPE_64 << PCI_BAR_TYPE_SHIFT;
	const struct pci_bar *b;
	b = bar_sized(0, PCI_BAR_PREFETCH, PCI_BAR_PREFETCH, 0, 0);
	assert_int_equal(b->size, 0);
	b = bar_sized(0, m64, 0xfffff000 | m64, 0, 0xffffffff);
	assert_int_equal(b->size, 0);
	assert_int_equal(b->base, 0);
	b = bar_sized(1, PCI_BAR_IO, 0xffffffe1, 0, 0);
	assert_int_equal(b->size, 0);
	/* the same 64-bit BAR at 4 GiB is fine */
	b = bar_sized(0, m64, 0xfffff000 | m64, 1, 0xffffffff);
	assert_int_equal(b->base, 0x100000000);
	assert_int_equal(b->size, 0x1000);
}

/* a bridge (type 1 header) has two BARs: a 64-bit BAR1 has no upper half
 * (0x18 holds the bus numbers), so it is ignored as BAR5 of a type 0 header
 * is, not decoded with the bus numbers as its high address bits */
static void test_pci_bridge_bar1_64bit_ignored(void **st)
{
	memset(cfg, 0, sizeof(cfg));
	struct pci_dev br = {.cfg = cfg, .header_type = 1};
	uint32_t v = 0xfe000000 | (PCI_BAR_TYPE_64 << PCI_BAR_TYPE_SHIFT);
	memcpy(cfg + PCI_BAR0 + 4, &v, 4);
	cfg[PCI_SECONDARY_BUS - 1] = 0; /* primary */
	cfg[PCI_SECONDARY_BUS] = 1;
	cfg[PCI_SUBORDINATE_BUS] = 2;
	assert_int_equal(pci_bar_decode(&br, 1), 1);
	assert_false(br.bar[1].is64);
	assert_int_equal(br.bar[1].base, 0);
	assert_int_equal(br.bar[1].size, 0);
	assert_int_equal(cfg[PCI_SECONDARY_BUS], 1);
	assert_int_equal(cfg[PCI_SUBORDINATE_BUS], 2);
}

/* ---- PCI enumeration over a fake ECAM --------------------------------------
 * kernel/pci/pci.c maps each function's 4 KiB through mm_map_mmio; here that
 * answers with the functions a test placed, absolute bus numbers from the
 * ECAM base (PCI Firmware 3.3 §4.1.2: the base is bus 0's), all ones for
 * any other function inside the 256 MiB, and NULL elsewhere */
#define ECAM_BASE  0xe0000000ull
#define ECAM2_BASE 0xd0000000ull /* a second window, for split MCFGs */
static struct fake_fn {
	uint64_t ecam; /* the window it is in: ECAM_BASE unless moved */
	unsigned bus, dev, fn;
	uint8_t cfg[4096];
	uint32_t bar_mask[6]; /* what BAR i reads after all ones */
} fns[80];
static unsigned nfns;
static uint8_t absent_fn[4096];

/* 64 KiB of memory BAR space at BAR_MEM_BASE, for MSI-X tables */
#define BAR_MEM_BASE 0xfe200000ull
static uint8_t bar_mem[0x10000];

static void *ioapic_model_map(uint64_t phys, size_t len);

void *mm_map_mmio(uint64_t phys, size_t len)
{
	void *io = ioapic_model_map(phys, len);
	if (io)
		return io;
	if (phys >= BAR_MEM_BASE && phys - BAR_MEM_BASE < sizeof(bar_mem) &&
	    len <= sizeof(bar_mem) - (phys - BAR_MEM_BASE))
		return bar_mem + (phys - BAR_MEM_BASE);
	uint64_t win = phys >= ECAM_BASE ? ECAM_BASE : ECAM2_BASE;
	if (phys < win || phys - win >= 256u << 20 || len != 4096)
		return NULL;
	uint64_t o = phys - win;
	for (unsigned i = 0; i < nfns; i++)
		if (fns[i].ecam == win && fns[i].bus == o >> 20 &&
		    fns[i].dev == (o >> 15 & 31) && fns[i].fn == (o >> 12 & 7))
			return fns[i].cfg;
	memset(absent_fn, 0xff, sizeof(absent_fn));
	return absent_fn;
}

/* a function at bus:dev.fn; header type 1 (a bridge to sec) when sec */
static struct fake_fn *fn_at(unsigned bus, unsigned dev, unsigned fn,
			     unsigned sec)
{
	struct fake_fn *f = &fns[nfns++];
	memset(f, 0, sizeof(*f));
	f->ecam = ECAM_BASE;
	f->bus = bus;
	f->dev = dev;
	f->fn = fn;
	f->cfg[PCI_VENDOR_ID] = 0x86;
	f->cfg[PCI_VENDOR_ID + 1] = 0x80;
	f->cfg[PCI_DEVICE_ID] = (uint8_t)(bus << 4 | dev);
	f->cfg[PCI_HEADER_TYPE] = sec ? 1 : 0;
	f->cfg[PCI_SECONDARY_BUS] = (uint8_t)sec;
	f->cfg[PCI_SUBORDINATE_BUS] = (uint8_t)sec;
	return f;
}

/* one segment, buses lo..hi, base ECAM_BASE; no function placed yet */
static void ecam_seg(unsigned lo, unsigned hi)
{
	nfns = 0;
	pci_ndevs = 0;
	acpi_necam = 1;
	acpi_ecam[0] = (struct acpi_mcfg_seg){
	    .base = ECAM_BASE, .seg = 0, .bus_start = lo, .bus_end = hi};
}

static void pci_init_arg(uint64_t unused)
{
	pci_init();
}

/* how many times pci_devs holds bus:dev.fn */
static unsigned found(unsigned bus, unsigned dev, unsigned fn)
{
	unsigned n = 0;
	for (unsigned i = 0; i < pci_ndevs; i++)
		n += pci_devs[i].bus == bus && pci_devs[i].dev == dev &&
		     pci_devs[i].fn == fn;
	return n;
}

/* the fake functions answer BAR sizing with their bar_mask */
static void fns_bar_model(const struct pci_dev *d, uint16_t off, unsigned width)
{
	for (unsigned i = 0; i < nfns; i++) {
		uint32_t v;
		if (fns[i].cfg != d->cfg || width != 4 || off < PCI_BAR0 ||
		    off >= PCI_BAR0 + 24)
			continue;
		memcpy(&v, fns[i].cfg + off, 4);
		if (v == 0xffffffffu)
			memcpy(fns[i].cfg + off,
			       &fns[i].bar_mask[(off - PCI_BAR0) / 4], 4);
	}
}

/* BAR i of f: a 32-bit memory BAR at base, size bytes */
static void fn_bar(struct fake_fn *f, int i, uint32_t base, uint32_t size)
{
	memcpy(f->cfg + PCI_BAR0 + 4 * i, &base, 4);
	f->bar_mask[i] = ~(size - 1);
}

/* every bus is scanned once: two bridges that name the same secondary bus
 * do not make its functions two pci_devs entries (two owners, two drivers
 * for one device); a bridge pointing back at its own bus or an earlier
 * one is not followed, and each such bridge is one line */
static void test_pci_bus_scanned_once(void **st)
{
	ecam_seg(0, 255);
	fn_at(0, 1, 0, 1);
	fn_at(0, 2, 0, 1); /* the same secondary bus again */
	fn_at(1, 0, 0, 0);
	fn_at(1, 3, 0, 1); /* back to its own bus */
	fn_at(1, 4, 0, 2);
	fn_at(2, 0, 0, 1); /* back to bus 1 */
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(found(1, 0, 0), 1);
	assert_int_equal(pci_ndevs, 6);
	if (!strstr(log, "pci 0000:00:02.0: bridge to bus 1: scanned "
			 "already; not followed\n") ||
	    !strstr(log, "pci 0000:01:03.0: bridge to bus 1: not after its "
			 "own bus; not followed\n") ||
	    !strstr(log, "pci 0000:02:00.0: bridge to bus 1: not after its "
			 "own bus; not followed\n"))
		fail_msg("log:\n%s", log);
}

/* the MCFG base is the address of bus 0 even when the entry starts at a
 * later bus (Linux and FreeBSD read it so): bus 0x10 is at base + 0x10 MiB,
 * not at base (the old code read bus 0x10's functions there) */
static void test_pci_ecam_start_bus_offset(void **st)
{
	ecam_seg(0x10, 0x1f);
	fn_at(0x10, 0, 0, 0x11);
	fn_at(0x11, 2, 0, 0);
	fn_at(0, 0, 0, 0); /* where bus 0 would be: not this segment's */
	pci_init();
	assert_int_equal(pci_ndevs, 2);
	assert_int_equal(found(0x10, 0, 0), 1);
	assert_int_equal(found(0x11, 2, 0), 1);
	assert_ptr_equal(pci_devs[1].cfg, fns[1].cfg);
}

/* f's Vendor ID and Device ID dword */
static void fn_id(struct fake_fn *f, uint32_t id)
{
	memcpy(f->cfg + PCI_VENDOR_ID, &id, 4);
}

/* A slot that reads back one of the dwords broken boards give for an
 * empty slot (0, all ones, and either half all ones with the other 0:
 * Linux's pci_bus_generic_read_dev_vendor_id) has no function, nor does
 * Vendor ID 0xffff (the spec's invalid value) with any Device ID; Vendor
 * ID 0x0001 is a Configuration Request Retry Status completion (PCIe Base
 * 5.0 §2.3.2: the function is not ready) and is skipped with one line. The
 * old scan checked only Vendor ID 0xffff and probed the others, as a
 * function whose other registers it then read and wrote (BAR sizing). A
 * multi-function device 0 whose function 0 reads empty hides functions
 * 1-7 as before; vendor 0 with a real device ID is probed, as in Linux. */
static void test_pci_absent_vendor_ids(void **st)
{
	ecam_seg(0, 0);
	const uint32_t absent[] = {0x00000000, 0xffff0000, 0x0000ffff,
				   0x1234ffff};
	for (unsigned i = 0; i < 4; i++) {
		struct fake_fn *f = fn_at(0, 1 + i, 0, 0);
		fn_id(f, absent[i]);
		f->cfg[PCI_HEADER_TYPE] = PCI_HEADER_MULTI;
		fn_at(0, 1 + i, 1, 0); /* hidden behind function 0 */
	}
	fn_id(fn_at(0, 6, 0, 0), 0xffff0001); /* not ready */
	fn_id(fn_at(0, 7, 0, 0), 0x12340000); /* vendor 0, probed */
	fn_at(0, 8, 0, 0);		      /* 8086:0008 */
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(pci_ndevs, 2);
	assert_int_equal(found(0, 7, 0), 1);
	assert_int_equal(pci_devs[0].device, 0x1234);
	assert_int_equal(found(0, 8, 0), 1);
	if (!strstr(log, "pci 0000:00:06.0: Vendor ID 0x0001: configuration "
			 "request retry (not ready) for 1000 ms, the scan's "
			 "wait of 1000 ms spent; skipped\n"))
		fail_msg("log:\n%s", log);
}

/* functions that answer Configuration Request Retry Status (Vendor ID
 * 0x0001) until the virtual clock reaches ready_ns, then read id; the
 * shim calls this after every time_delay_us */
static struct {
	struct fake_fn *f;
	uint64_t ready_ns;
	uint32_t id;
} rrs[16];
static unsigned nrrs;

static void rrs_hook(void)
{
	for (unsigned i = 0; i < nrrs; i++)
		if (shim_clock_ns >= rrs[i].ready_ns)
			fn_id(rrs[i].f, rrs[i].id);
}

/* f reads 0xffff0001 (the Root Complex's answer for a retry: PCIe Base
 * 5.0 §2.3.2) until ms from now, then id */
static void fn_rrs(struct fake_fn *f, uint64_t ms, uint32_t id)
{
	fn_id(f, 0xffff0001u);
	rrs[nrrs++] = (typeof(rrs[0])){f, shim_clock_ns + ms * 1000000, id};
	shim_delay_hook = rrs_hook;
}

/* a function not ready at the scan (Vendor ID 0x0001) is read again after
 * delays doubling from 1 ms until it answers: here after 1 + 2 + 4 ms, a
 * multi-function device whose function 1 is found behind it. The old scan
 * skipped it for good, with function 1 */
static void test_pci_rrs_waited_until_ready(void **st)
{
	ecam_seg(0, 0);
	nrrs = 0;
	struct fake_fn *f = fn_at(0, 6, 0, 0);
	f->cfg[PCI_HEADER_TYPE] = PCI_HEADER_MULTI;
	fn_rrs(f, 5, 0x00108086);
	fn_at(0, 6, 1, 0);
	uint64_t t0 = shim_clock_ns;
	const char *log = logged(pci_init_arg, 0);
	shim_delay_hook = NULL;
	assert_int_equal(found(0, 6, 0), 1);
	assert_int_equal(found(0, 6, 1), 1);
	assert_int_equal(pci_devs[0].device, 0x0010);
	assert_true(shim_clock_ns - t0 < 8000000); /* 7 ms of delays */
	if (!strstr(log, "pci 0000:00:06.0: configuration request retry (not "
			 "ready) for 7 ms; then it read 8086:0010\n"))
		fail_msg("log:\n%s", log);
}

/* a PCI Express capability at `at`, the only one: device/port type
 * `type`, Root Capabilities rtcap, Root Control rtctl (PCIe Base 5.0
 * §7.5.3: flags at +2, Root Control at +0x1c, Root Capabilities +0x1e) */
static void fn_pcie(struct fake_fn *f, uint8_t at, unsigned type,
		    uint16_t rtcap, uint16_t rtctl)
{
	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	f->cfg[PCI_CAP_PTR] = at;
	f->cfg[at] = PCI_CAP_ID_EXP;
	f->cfg[at + 1] = 0;
	f->cfg[at + 2] = (uint8_t)(type << 4 | 2);
	memcpy(&f->cfg[at + 0x1c], &rtctl, 2);
	memcpy(&f->cfg[at + 0x1e], &rtcap, 2);
}

static uint16_t rtctl_of(const struct fake_fn *f, uint8_t at)
{
	uint16_t v;
	memcpy(&v, &f->cfg[at + 0x1c], 2);
	return v;
}

/* RRS Software Visibility goes on (Root Control bit 4) in a Root Port
 * whose Root Capabilities bit 0 offers it, before the scan reads the
 * functions below it, as Linux's pci_enable_rrs_sv does; Root Control's
 * other bits are kept. Not in a Root Port that does not offer it, nor in
 * a Downstream Port or an endpoint whatever their bytes there say; a
 * Root Port whose capability runs past 0xff is said in one line and left
 * alone. Before, no Root Port's bit was touched */
static void test_pci_rrs_sv_enabled_in_root_ports(void **st)
{
	ecam_seg(0, 4);
	struct fake_fn *rp = fn_at(0, 1, 0, 1), *rp_no = fn_at(0, 2, 0, 2),
		       *dsp = fn_at(0, 3, 0, 3), *ep = fn_at(0, 4, 0, 0),
		       *rp_far = fn_at(0, 5, 0, 4);
	fn_pcie(rp, 0x40, 4, 0x0001, 0x0007);
	fn_pcie(rp_no, 0x40, 4, 0x0000, 0x0000);
	fn_pcie(dsp, 0x40, 6, 0x0001, 0x0000);
	fn_pcie(ep, 0x40, 0, 0x0001, 0x0000);
	rp_far->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	rp_far->cfg[PCI_CAP_PTR] = 0xf0;
	rp_far->cfg[0xf0] = PCI_CAP_ID_EXP;
	rp_far->cfg[0xf2] = 4 << 4 | 2;
	fn_at(1, 0, 0, 0);
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(rtctl_of(rp, 0x40), 0x0017);
	assert_int_equal(rtctl_of(rp_no, 0x40), 0);
	assert_int_equal(rtctl_of(dsp, 0x40), 0);
	assert_int_equal(rtctl_of(ep, 0x40), 0);
	assert_int_equal(found(1, 0, 0), 1);
	if (!strstr(log, "pci 0000:00:05.0: PCI Express capability at 0xf0 "
			 "runs past configuration space 0xff; RRS Software "
			 "Visibility left as it is\n"))
		fail_msg("log:\n%s", log);
}

/* a Root Port found once the table is full (past PCI_MAX_DEVS, 64) is
 * not kept, but the bus behind it is scanned and its functions counted
 * as ignored: it gets RRS Software Visibility all the same, before that
 * scan, so a function there that is not ready costs the scan's bounded
 * wait and not the Root Complex's retries. One that does not offer it is
 * left alone. Before, only a kept Root Port's bit was set */
static void test_pci_rrs_sv_in_root_port_past_the_table(void **st)
{
	ecam_seg(0, 2);
	for (unsigned dev = 0; dev < 8; dev++)
		for (unsigned fn = 0; fn < 8; fn++)
			fn_at(0, dev, fn, 0)->cfg[PCI_HEADER_TYPE] =
			    PCI_HEADER_MULTI;
	struct fake_fn *rp = fn_at(0, 8, 0, 1), *rp_no = fn_at(0, 9, 0, 2);
	fn_pcie(rp, 0x40, 4, 0x0001, 0x0007);
	fn_pcie(rp_no, 0x40, 4, 0x0000, 0x0000);
	fn_at(1, 0, 0, 0);
	fn_at(2, 0, 0, 0);
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(pci_ndevs, 64);
	assert_int_equal(rtctl_of(rp, 0x40), 0x0017);
	assert_int_equal(rtctl_of(rp_no, 0x40), 0);
	if (!strstr(log, "pci: more than 64 functions; 4 more ignored\n"))
		fail_msg("log:\n%s", log);
}

/* one that never becomes ready is skipped when PCI_RRS_WAIT_MS (1000)
 * has passed, with one line; the scan goes on to the next device */
static void test_pci_rrs_never_ready_skipped(void **st)
{
	ecam_seg(0, 0);
	nrrs = 0;
	fn_rrs(fn_at(0, 3, 0, 0), UINT64_MAX / 2000000, 0);
	fn_at(0, 4, 0, 0);
	uint64_t t0 = shim_clock_ns;
	const char *log = logged(pci_init_arg, 0);
	shim_delay_hook = NULL;
	uint64_t took = shim_clock_ns - t0;
	assert_int_equal(pci_ndevs, 1);
	assert_int_equal(found(0, 4, 0), 1);
	assert_true(took >= 999999000ull && took < 1001000000ull);
	const char *m = strstr(log, "configuration request retry");
	if (!m || strstr(m + 1, "configuration request retry") ||
	    !strstr(log, "pci 0000:00:03.0: Vendor ID 0x0001: configuration "
			 "request retry (not ready) for 1000 ms, the scan's "
			 "wait of 1000 ms spent; skipped\n"))
		fail_msg("log:\n%s", log);
}

/* many functions not ready share one deadline: ten that turn ready one
 * after another (bus 1, each 10 ms after the one before, each while it
 * is waited for) and 31 that never answer (bus 0) cost the scan
 * PCI_RRS_WAIT_MS (1000 ms) in all, not 1000 ms each, and PCI_RRS_LINES
 * (8) lines, then one summing the rest. The bridge at 00:00.0 leads to
 * bus 1 before bus 0's devices 1-31 are read. The old scan found none of
 * the ten and said a line for each of the 41 */
static void test_pci_rrs_many_bounded(void **st)
{
	ecam_seg(0, 1);
	nrrs = 0;
	fn_at(0, 0, 0, 1);
	for (unsigned dev = 1; dev < 32; dev++)
		fn_id(fn_at(0, dev, 0, 0), 0xffff0001u);
	for (unsigned dev = 0; dev < 10; dev++)
		fn_rrs(fn_at(1, dev, 0, 0), 10 * (dev + 1), 0x00aa8086);
	uint64_t t0 = shim_clock_ns;
	const char *log = logged(pci_init_arg, 0);
	shim_delay_hook = NULL;
	uint64_t took = shim_clock_ns - t0;
	assert_int_equal(pci_ndevs, 11);
	assert_int_equal(found(1, 9, 0), 1);
	assert_true(took >= 999999000ull && took < 1001000000ull);
	unsigned lines = 0;
	for (const char *m = log; (m = strstr(m, "configuration request "
						 "retry"));
	     m++)
		lines++;
	if (lines != 9 ||
	    !strstr(log, "pci: 33 more functions answered configuration "
			 "request retry (not ready): 2 then ready, 31 "
			 "skipped\n"))
		fail_msg("%u lines; log:\n%s", lines, log);
}

/* past PCI_MAX_DEVS (64) functions the rest are not kept and are one line
 * in all, not a line each (a bus of multi-function devices made up to
 * 256 lines a bus before) */
static void test_pci_too_many_functions_one_line(void **st)
{
	ecam_seg(0, 0);
	for (unsigned dev = 0; dev < 9; dev++)
		for (unsigned fn = 0; fn < 8; fn++)
			fn_at(0, dev, fn, 0)->cfg[PCI_HEADER_TYPE] =
			    PCI_HEADER_MULTI;
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(pci_ndevs, 64);
	const char *m = strstr(log, "more than");
	if (!m || strstr(m + 1, "more than") ||
	    !strstr(log, "pci: more than 64 functions; 8 more ignored\n"))
		fail_msg("log:\n%s", log);
}

/* Functions past PCI_MAX_DEVS are not kept, but their bridges are still
 * followed and a Root Port there still gets RRS Software Visibility. What
 * they would say — a bridge not followed, a capability list that does
 * not read, a Root Port's PCI Express capability past 0xff — is counted
 * in one line at the end of pci_init: only the bus space (256 buses x 32
 * x 8 a segment) would bound it, where the table bounds the lines of the
 * functions it keeps. Before, each was a line of its own: 18 here */
static unsigned count_in(const char *log, const char *what)
{
	unsigned n = 0;
	for (const char *m = log; (m = strstr(m, what)); m++)
		n++;
	return n;
}

static void test_pci_lines_past_the_table_bounded(void **st)
{
	ecam_seg(0, 1);
	for (unsigned dev = 0; dev < 8; dev++)
		for (unsigned fn = 0; fn < 8; fn++)
			fn_at(0, dev, fn, 0)->cfg[PCI_HEADER_TYPE] =
			    PCI_HEADER_MULTI;
	/* past the table: four bridges to a bus in no MCFG entry, four
	 * whose capability list loops (to another such bus), three Root
	 * Ports whose capability runs past 0xff, and a Root Port offering
	 * RRS Software Visibility to bus 1, which is followed */
	for (unsigned dev = 8; dev < 12; dev++)
		fn_at(0, dev, 0, 5);
	for (unsigned dev = 12; dev < 16; dev++) {
		struct fake_fn *f = fn_at(0, dev, 0, 6);
		f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
		f->cfg[PCI_CAP_PTR] = 0x40;
		f->cfg[0x40] = PCI_CAP_ID_MSI;
		f->cfg[0x41] = 0x40;
	}
	for (unsigned dev = 16; dev < 19; dev++) {
		struct fake_fn *f = fn_at(0, dev, 0, 7);
		f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
		f->cfg[PCI_CAP_PTR] = 0xf0;
		f->cfg[0xf0] = PCI_CAP_ID_EXP;
		f->cfg[0xf2] = 4 << 4 | 2;
	}
	struct fake_fn *rp = fn_at(0, 19, 0, 1);
	fn_pcie(rp, 0x40, 4, 0x0001, 0x0007);
	fn_at(1, 0, 0, 0);
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(pci_ndevs, 64);
	assert_int_equal(rtctl_of(rp, 0x40), 0x0017);
	if (count_in(log, "; not followed") || count_in(log, "walk stopped") ||
	    count_in(log, "runs past") ||
	    !strstr(log, "pci: more than 64 functions; 13 more ignored\n") ||
	    !strstr(log, "pci: of the functions past the 64 kept, 11 "
			 "bridges not followed and 7 capabilities that do "
			 "not read, not said one by one\n"))
		fail_msg("log:\n%s", log);
}

/* A kept function's capability list that loops, or points into the
 * header, is one line for the function (PCI_SAID_CAPS), however many
 * walks meet it: the three of the probe (MSI, PCI Express, MSI-X) and a
 * driver's, here ten walks over the vendor capabilities as virtio_pci's
 * bring-up does. Before, a line a walk: 13 for each function here */
static void pci_init_and_walk(uint64_t unused)
{
	pci_init();
	for (unsigned i = 0; i < pci_ndevs; i++)
		for (unsigned k = 0; k < 10; k++)
			for (uint8_t at =
				 pci_find_cap(&pci_devs[i], PCI_CAP_ID_VNDR, 0);
			     at; at = pci_find_cap(&pci_devs[i],
						   PCI_CAP_ID_VNDR, at))
				;
}

static void test_pci_cap_list_said_once(void **st)
{
	ecam_seg(0, 0);
	struct fake_fn *loop = fn_at(0, 1, 0, 0), *wild = fn_at(0, 2, 0, 0);
	loop->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	loop->cfg[PCI_CAP_PTR] = 0x40;
	loop->cfg[0x40] = PCI_CAP_ID_VNDR;
	loop->cfg[0x41] = 0x50;
	loop->cfg[0x50] = PCI_CAP_ID_VNDR;
	loop->cfg[0x51] = 0x40; /* back to the first */
	wild->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	wild->cfg[PCI_CAP_PTR] = 0x40;
	wild->cfg[0x40] = PCI_CAP_ID_VNDR;
	wild->cfg[0x41] = 0x10; /* into the BARs */
	const char *log = logged(pci_init_and_walk, 0);
	assert_int_equal(pci_ndevs, 2);
	if (count_in(log, "capability list") != 2 ||
	    !strstr(log, "pci 0000:00:01.0: capability list loops at 0x40; "
			 "walk stopped (said once for the function)\n") ||
	    !strstr(log, "pci 0000:00:02.0: capability list points into the "
			 "header at 0x10; walk stopped (said once for the "
			 "function)\n"))
		fail_msg("%u lines; log:\n%s", count_in(log, "capability list"),
			 log);
	/* the walks still find what lies before the break */
	assert_int_equal(pci_find_cap(&pci_devs[0], PCI_CAP_ID_VNDR, 0x40),
			 0x50);
	assert_int_equal(pci_find_cap(&pci_devs[1], PCI_CAP_ID_VNDR, 0), 0x40);
}

/* an MCFG entry whose ECAM cannot be mapped is one line and a sum, however
 * many of its buses bridges lead to; before, a line a bus (10 here, up to
 * 255 a segment) */
static void test_pci_ecam_unmapped_lines_bounded(void **st)
{
	ecam_seg(0, 0);
	acpi_necam = 2;
	acpi_ecam[1] = (struct acpi_mcfg_seg){
	    .base = 0x7000000000ull, .seg = 0, .bus_start = 1, .bus_end = 0x20};
	for (unsigned dev = 0; dev < 10; dev++)
		fn_at(0, dev, 0, dev + 1);
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(pci_ndevs, 10);
	if (count_in(log, "cannot be mapped") != 2 ||
	    !strstr(log, "pci: ECAM of bus 1 at 0x7000000000 cannot be "
			 "mapped; bus skipped\n") ||
	    !strstr(log, "pci: ECAM of 9 more buses cannot be mapped; "
			 "skipped\n"))
		fail_msg("log:\n%s", log);
}

/* One segment's buses may be split over several MCFG entries, each with
 * its own base (PCI Firmware 3.3 §4.1.2 allows an entry per bus range;
 * Linux's pci_mmconfig_lookup finds the one holding the bus). A bridge on
 * one entry's bus to a bus of the other is followed, and that bus is read
 * through the other entry's base; a bus reached both from a bridge and as
 * an entry's start bus is scanned once. The old scan kept each entry to
 * itself: the bridge to 0x85 was "past the segment's last bus". */
static void test_pci_bridge_into_split_mcfg(void **st)
{
	ecam_seg(0, 0x7f);
	acpi_necam = 2;
	acpi_ecam[1] = (struct acpi_mcfg_seg){
	    .base = ECAM2_BASE, .seg = 0, .bus_start = 0x80, .bus_end = 0xff};
	fn_at(0, 1, 0, 0x85);
	fn_at(0, 2, 0, 0x80);
	struct fake_fn *far = fn_at(0x85, 0, 0, 0),
		       *root = fn_at(0x80, 2, 0, 0);
	far->ecam = root->ecam = ECAM2_BASE;
	fn_at(0x85, 0, 0, 0)->cfg[PCI_DEVICE_ID] = 0xee; /* wrong window */
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(pci_ndevs, 4);
	assert_int_equal(found(0x85, 0, 0), 1);
	assert_int_equal(found(0x80, 2, 0), 1);
	for (unsigned i = 0; i < pci_ndevs; i++)
		if (pci_devs[i].bus == 0x85)
			assert_ptr_equal(pci_devs[i].cfg, far->cfg);
	if (strstr(log, "not followed"))
		fail_msg("log:\n%s", log);
}

/* an MCFG entry whose buses' ECAM runs past 2^64 is refused: bus b is at
 * base + b MiB, which would wrap to low memory; one that ends exactly at
 * 2^64 is kept */
static void test_acpi_mcfg_range_wraps_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint64_t base = 0xfffffffff0100000ull; /* + 256 MiB wraps */
	memcpy(a->mcfg + 44, &base, 8);
	fix_sum(a->mcfg, sizeof(a->mcfg), 9);
	expect_log(acpi_init_log((uint64_t)a->rsdp),
		   "acpi: MCFG entry at 0x%lx, buses 0-255, runs past 2^64; "
		   "ignored\n",
		   base);
	assert_int_equal(acpi_necam, 0);
	a->mcfg[44 + 11] = 254; /* buses 0-254 end below 2^64 */
	fix_sum(a->mcfg, sizeof(a->mcfg), 9);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_necam, 1);
	free(a);
}

/* no two memory BARs overlap, of one function or of two: firmware never
 * assigns that, and a device that reports it could have a driver's window
 * on one BAR reach what the other holds (the MSI-X table, which
 * mmio_window_refusal keeps out of windows on its own BAR only, or another
 * owner's registers). Both BARs of each overlapping pair are ignored, so
 * MSI-X in one of them is unused; the rest of the machine is kept */
void pci_bars_check(struct pci_dev *devs, unsigned n, uint8_t *clash);
static struct pci_dev same_bars[PCI_MAX_DEVS];

/* PCI_MAX_DEVS functions with the same six BARs (one function answering
 * at every place, as one that ignores the Device Number does): every BAR
 * refused, with a line only for a pair that refuses a BAR not refused
 * yet, at most one a BAR. Before, each overlapping pair was a line:
 * 6 x 64 x 63 / 2 = 12,096 lines at boot. */
static void test_pci_bars_overlap_lines_bounded(void **st)
{
	for (unsigned a = 0; a < PCI_MAX_DEVS; a++) {
		same_bars[a] = (struct pci_dev){.dev = (uint8_t)(a % 32),
						.bus = (uint8_t)(a / 32)};
		for (unsigned i = 0; i < 6; i++)
			same_bars[a].bar[i] = (struct pci_bar){
			    .base = 0xfe000000 + 0x1000 * i, .size = 0x1000};
	}
	static uint8_t clash[PCI_MAX_DEVS];
	uint64_t before = shim_kprintf_calls;
	pci_bars_check(same_bars, PCI_MAX_DEVS, clash);
	uint64_t lines = shim_kprintf_calls - before;
	assert_true(lines >= 6 && lines <= 6 * PCI_MAX_DEVS);
	for (unsigned a = 0; a < PCI_MAX_DEVS; a++) {
		assert_int_equal(same_bars[a].bar_refused, 0x3f);
		for (unsigned i = 0; i < 6; i++)
			assert_int_equal(same_bars[a].bar[i].size, 0);
	}
}

static void test_pci_bars_overlap_ignored(void **st)
{
	ecam_seg(0, 0);
	struct fake_fn *a = fn_at(0, 1, 0, 0), *b = fn_at(0, 2, 0, 0),
		       *c = fn_at(0, 3, 0, 0), *e = fn_at(0, 4, 0, 0);
	fn_bar(a, 0, 0xfe000000, 0x4000);
	fn_bar(b, 0, 0xfe002000, 0x2000); /* inside a's BAR0 */
	fn_bar(c, 0, 0xfe100000, 0x4000); /* alone */
	fn_bar(c, 1, 0xfe104000, 0x1000); /* right after: no overlap */
	fn_bar(e, 0, 0xfe200000, 0x1000);
	fn_bar(e, 2, 0xfe200000, 0x1000); /* e's own BAR0 again */
	/* e's MSI-X table, 4 entries, in BAR2 */
	e->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	e->cfg[PCI_CAP_PTR] = 0x40;
	e->cfg[0x40] = PCI_CAP_ID_MSIX;
	e->cfg[0x40 + PCI_MSIX_FLAGS] = 3;
	e->cfg[0x40 + PCI_MSIX_TABLE] = 2;
	e->cfg[0x40 + PCI_MSIX_PBA] = 2;
	e->cfg[0x40 + PCI_MSIX_PBA + 1] = 0x8;
	/* f alone, with its MSI-X table in its BAR0: mapped, entries masked */
	struct fake_fn *f = fn_at(0, 5, 0, 0);
	fn_bar(f, 0, BAR_MEM_BASE + 0x8000, 0x1000);
	memcpy(f->cfg + 0x40, e->cfg + 0x40, 12);
	f->cfg[0x40 + PCI_MSIX_TABLE] = 0;
	f->cfg[0x40 + PCI_MSIX_PBA] = 0;
	f->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	f->cfg[PCI_CAP_PTR] = 0x40;
	memset(bar_mem, 0, sizeof(bar_mem));
	pci_host_cfg_written = fns_bar_model;
	const char *log = logged(pci_init_arg, 0);
	pci_host_cfg_written = NULL;
	assert_int_equal(pci_ndevs, 5);
	assert_int_equal(pci_devs[4].cap_msix, 0x40);
	assert_int_equal(pci_devs[4].msix_size, 4);
	assert_ptr_equal(pci_devs[4].msix_table, bar_mem + 0x8000);
	assert_int_equal(bar_mem[0x8000 + 3 * 16 + PCI_MSIX_ENTRY_CTRL], 1);
	assert_int_equal(bar_mem[0], 0); /* e's table was never written */
	assert_int_equal(pci_devs[0].bar[0].size, 0);
	assert_int_equal(pci_devs[1].bar[0].size, 0);
	assert_int_equal(pci_devs[2].bar[0].size, 0x4000);
	assert_int_equal(pci_devs[2].bar[1].size, 0x1000);
	assert_int_equal(pci_devs[3].bar[0].size, 0);
	assert_int_equal(pci_devs[3].bar[2].size, 0);
	assert_int_equal(pci_devs[3].cap_msix, 0);
	assert_null(pci_devs[3].msix_table);
	if (!strstr(log, "pci 0000:00:02.0: BAR0 [0xfe002000, +0x2000) "
			 "overlaps 0000:00:01.0 BAR0; both ignored\n") ||
	    !strstr(log, "pci 0000:00:04.0: BAR2 [0xfe200000, +0x1000) "
			 "overlaps 0000:00:04.0 BAR0; both ignored\n"))
		fail_msg("log:\n%s", log);
}

/* A memory BAR may not claim what is not the device's: system memory by
 * the boot memory map (a driver's window on it would be a window on the
 * kernel's memory, and pci_msix_init would write mask bits there), the
 * ECAM of an MCFG entry (every function's configuration space: another
 * device's MSI-X capability, Command register, BARs), or the x86
 * interrupt address range 0xfee00000-0xfeefffff (the local APIC's
 * registers for the CPU). A hostile device reports whatever base it
 * likes: it answers reads of its own BAR register. Such a BAR is ignored
 * with one line, and MSI-X in it unused; the old code kept them all and
 * masked the "MSI-X table" in RAM. Other BARs, I/O ones included, stay. */
static void test_pci_bar_claiming_ram_or_kernel_mmio_ignored(void **st)
{
	ecam_seg(0, 0x3f);
	struct fake_fn *a = fn_at(0, 1, 0, 0), *b = fn_at(0, 2, 0, 0),
		       *c = fn_at(0, 3, 0, 0), *e = fn_at(0, 4, 0, 0),
		       *g = fn_at(0, 5, 0, 0);
	nram = 2;
	ram[0].lo = 0x7f008000; /* one page of RAM inside a's BAR0 */
	ram[0].hi = 0x7f009000;
	ram[1].lo = BAR_MEM_BASE + 0x4000; /* e's BAR0 */
	ram[1].hi = BAR_MEM_BASE + 0x5000;
	fn_bar(a, 0, 0x7f000000, 0x10000);
	fn_bar(a, 1, 0xfe000000, 0x1000);	       /* kept */
	fn_bar(b, 0, ECAM_BASE + 0x3f00000, 0x100000); /* bus 0x3f's ECAM */
	fn_bar(b, 1, ECAM_BASE + 0x4000000, 0x100000); /* past the buses */
	fn_bar(c, 0, 0xfee00000, 0x1000);
	fn_bar(c, 2, 0xfef00000, 0x1000); /* right after: kept */
	uint32_t io = 0xc001;
	memcpy(c->cfg + PCI_BAR0 + 4, &io, 4);
	c->bar_mask[1] = 0xffffffe1;
	fn_bar(e, 0, BAR_MEM_BASE + 0x4000, 0x1000);
	e->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	e->cfg[PCI_CAP_PTR] = 0x40;
	e->cfg[0x40] = PCI_CAP_ID_MSIX;
	e->cfg[0x40 + PCI_MSIX_FLAGS] = 3;
	fn_bar(g, 0, 0xfeb00000, 0x100000); /* below the range: kept */
	memset(bar_mem, 0, sizeof(bar_mem));
	pci_host_cfg_written = fns_bar_model;
	const char *log = logged(pci_init_arg, 0);
	pci_host_cfg_written = NULL;
	nram = 0;
	assert_int_equal(pci_ndevs, 5);
	assert_int_equal(pci_devs[0].bar[0].size, 0);
	assert_int_equal(pci_devs[0].bar[1].size, 0x1000);
	assert_int_equal(pci_devs[1].bar[0].size, 0);
	assert_int_equal(pci_devs[1].bar[1].size, 0x100000);
	assert_int_equal(pci_devs[2].bar[0].size, 0);
	assert_int_equal(pci_devs[2].bar[1].size, 32);
	assert_int_equal(pci_devs[2].bar[2].size, 0x1000);
	assert_int_equal(pci_devs[3].bar[0].size, 0);
	assert_int_equal(pci_devs[3].cap_msix, 0);
	for (size_t i = 0; i < sizeof(bar_mem); i++)
		assert_int_equal(bar_mem[i], 0); /* no mask bit set in RAM */
	assert_int_equal(pci_devs[4].bar[0].size, 0x100000);
	if (!strstr(log, "pci 0000:00:01.0: BAR0 [0x7f000000, +0x10000) lies "
			 "on system memory (UEFI memory map); ignored\n") ||
	    !strstr(log, "pci 0000:00:02.0: BAR0 [0xe3f00000, +0x100000) "
			 "overlaps the ECAM of segment 0 buses 0-63; "
			 "ignored\n") ||
	    !strstr(log, "pci 0000:00:03.0: BAR0 [0xfee00000, +0x1000) "
			 "overlaps the interrupt address range "
			 "0xfee00000-0xfeefffff; ignored\n"))
		fail_msg("log:\n%s", log);
}

/* the MSI-X table of fake function mse_fn, 4 entries in bar_mem at
 * 0xc000: with its Memory Space Enable clear the CPU reads all ones there
 * and its writes are lost; the device holds mse_tbl (PCIe Base 5.0
 * §7.5.1.1.3) */
static struct fake_fn *mse_fn;
static uint8_t mse_tbl[4 * PCI_MSIX_ENTRY_SIZE];

static void mse_fn_model(const struct pci_dev *d, uint16_t off, unsigned width)
{
	fns_bar_model(d, off, width);
	if (d->cfg != mse_fn->cfg || off != PCI_COMMAND)
		return;
	bool on = mse_fn->cfg[PCI_COMMAND] & PCI_COMMAND_MEM;
	uint8_t *t = bar_mem + 0xc000;
	if (on && t[0] == 0xff && t[1] == 0xff) {
		memcpy(t, mse_tbl, sizeof(mse_tbl));
	} else if (!on && !(t[0] == 0xff && t[1] == 0xff)) {
		memcpy(mse_tbl, t, sizeof(mse_tbl));
		memset(t, 0xff, sizeof(mse_tbl));
	}
}

/* Every MSI-X entry is masked at enumeration with memory decode on for
 * it (pci_msix_entry_set), and the Command register given back; MSI and
 * MSI-X are disabled as firmware may have left them (Linux's
 * pci_msi_init and pci_msix_init do the same: a device sends nothing
 * until irq_bind programs it). Before, with memory decode off, the masks
 * were lost and firmware's unmasked entries and enable bits stayed. */
static void test_pci_msix_masked_with_decode_off(void **st)
{
	ecam_seg(0, 0);
	struct fake_fn *f = mse_fn = fn_at(0, 1, 0, 0);
	fn_bar(f, 0, BAR_MEM_BASE + 0xc000, 0x1000);
	f->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	f->cfg[PCI_CAP_PTR] = 0x40;
	f->cfg[0x40] = PCI_CAP_ID_MSIX;
	f->cfg[0x41] = 0x50;
	f->cfg[0x40 + PCI_MSIX_FLAGS] = 3;
	f->cfg[0x40 + PCI_MSIX_FLAGS + 1] = PCI_MSIX_FLAGS_ENABLE >> 8;
	f->cfg[0x40 + PCI_MSIX_PBA + 1] = 0x8; /* 0x800 */
	f->cfg[0x50] = PCI_CAP_ID_MSI;
	f->cfg[0x50 + PCI_MSI_FLAGS] = PCI_MSI_FLAGS_ENABLE;
	memset(mse_tbl, 0, sizeof(mse_tbl)); /* all four unmasked */
	memset(bar_mem + 0xc000, 0xff, sizeof(mse_tbl));
	pci_host_cfg_written = mse_fn_model;
	pci_init();
	pci_host_cfg_written = NULL;
	assert_int_equal(pci_ndevs, 1);
	assert_int_equal(pci_devs[0].msix_size, 4);
	assert_false(f->cfg[PCI_COMMAND] & PCI_COMMAND_MEM); /* given back */
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(
		    mse_tbl[i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_CTRL],
		    PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(pci_cfg_read16(&pci_devs[0], 0x40 + PCI_MSIX_FLAGS) &
			     PCI_MSIX_FLAGS_ENABLE,
			 0);
	assert_int_equal(pci_cfg_read16(&pci_devs[0], 0x50 + PCI_MSI_FLAGS) &
			     PCI_MSI_FLAGS_ENABLE,
			 0);
	mse_fn = NULL;
}

/* Command writes that left memory decode on, per fake function: the
 * device answers at every BAR it decodes while that bit is set */
static unsigned mem_on_writes[80];

static void decode_count_model(const struct pci_dev *d, uint16_t off,
			       unsigned width)
{
	fns_bar_model(d, off, width);
	for (unsigned i = 0; i < nfns; i++)
		if (fns[i].cfg == d->cfg && off == PCI_COMMAND &&
		    fns[i].cfg[PCI_COMMAND] & PCI_COMMAND_MEM)
			mem_on_writes[i]++;
}

static struct pci_dev *enable_dev;
static void enable_mem_arg(uint64_t io)
{
	pci_enable(enable_dev, !io, io, false);
}

/* A function with a refused memory BAR (over RAM, over the interrupt
 * range, overlapping another, answering sizing with no address bit) never
 * has memory decode turned on by the kernel: with it on, the device
 * answers at the refused address, whatever capOS ignored. pci_init turns
 * off decode firmware left on, pci_enable refuses it with one line (as
 * Linux's pci_enable_resources refuses a BAR not claimed), and an MSI-X
 * table write (pci_msix_entry_set) does not force it on: the Function
 * Mask, a configuration write, masks every vector instead. A refused I/O
 * BAR keeps I/O decode off and leaves memory decode alone. Before, the
 * refused BARs' functions got decode on from all three. */
static void test_pci_decode_off_with_refused_bar(void **st)
{
	ecam_seg(0, 0);
	memset(mem_on_writes, 0, sizeof(mem_on_writes));
	struct fake_fn *a = fn_at(0, 1, 0, 0), *b = fn_at(0, 2, 0, 0),
		       *c = fn_at(0, 3, 0, 0), *e = fn_at(0, 4, 0, 0),
		       *g = fn_at(0, 5, 0, 0), *h = fn_at(0, 6, 0, 0);
	nram = 1;
	ram[0].lo = 0x7f000000;
	ram[0].hi = 0x7f100000;
	/* a: BAR0 on RAM, MSI-X table (4 entries) in BAR1 */
	fn_bar(a, 0, 0x7f000000, 0x10000);
	fn_bar(a, 1, BAR_MEM_BASE + 0xa000, 0x1000);
	a->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	a->cfg[PCI_CAP_PTR] = 0x40;
	a->cfg[0x40] = PCI_CAP_ID_MSIX;
	a->cfg[0x40 + PCI_MSIX_FLAGS] = 3;
	a->cfg[0x40 + PCI_MSIX_TABLE] = 1;
	a->cfg[0x40 + PCI_MSIX_PBA] = 1;
	a->cfg[0x40 + PCI_MSIX_PBA + 1] = 0x8;
	/* b: BAR0 answers sizing with its type bits only; firmware left
	 * memory and I/O decode on */
	uint32_t pf = PCI_BAR_PREFETCH;
	memcpy(b->cfg + PCI_BAR0, &pf, 4);
	b->bar_mask[0] = PCI_BAR_PREFETCH;
	b->cfg[PCI_COMMAND] = PCI_COMMAND_MEM | PCI_COMMAND_IO;
	/* c: BAR0 over the interrupt address range */
	fn_bar(c, 0, 0xfee00000, 0x1000);
	/* e and g: BARs over each other */
	fn_bar(e, 0, 0xfe000000, 0x4000);
	fn_bar(g, 0, 0xfe002000, 0x1000);
	/* h: an I/O BAR programmed but sizing to zero, a good memory BAR */
	uint32_t io = 0xc001;
	memcpy(h->cfg + PCI_BAR0, &io, 4);
	h->bar_mask[0] = 0;
	fn_bar(h, 1, 0xfe100000, 0x1000);
	memset(bar_mem, 0, sizeof(bar_mem));
	pci_host_cfg_written = decode_count_model;
	const char *log = logged(pci_init_arg, 0);
	nram = 0;
	assert_int_equal(pci_ndevs, 6);
	if (!strstr(log, "pci 0000:00:02.0: memory decode turned off: a BAR "
			 "of it was refused\n") ||
	    !strstr(log, "pci 0000:00:01.0: MSI-X entry 0 (memory decode "
			 "refused: BAR0) not given the kernel's mask; every "
			 "vector masked by the Function Mask\n"))
		fail_msg("log:\n%s", log);
	assert_int_equal(b->cfg[PCI_COMMAND], PCI_COMMAND_IO); /* I/O kept */
	/* a's table untouched, every vector masked by the Function Mask */
	assert_true(pci_devs[0].msix_fn_masked);
	assert_true(pci_cfg_read16(&pci_devs[0], 0x40 + PCI_MSIX_FLAGS) &
		    PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(bar_mem[0xa000 + PCI_MSIX_ENTRY_CTRL], 0);
	static const char *const why[] = {"BAR0", "BAR0", "BAR0", "BAR0",
					  "BAR0"};
	for (unsigned i = 0; i < 5; i++) {
		char want[128];
		enable_dev = &pci_devs[i];
		log = logged(enable_mem_arg, 0);
		snprintf(want, sizeof(want),
			 "pci 0000:00:%02x.0: memory decode refused: %s was "
			 "refused at enumeration; left off\n",
			 i + 1, why[i]);
		assert_string_equal(log, want);
		assert_false(fns[i].cfg[PCI_COMMAND] & PCI_COMMAND_MEM);
	}
	/* a's table writes did not force it on: the kernel never wrote
	 * memory decode on for a..g but in giving b firmware's Command back
	 * after sizing (then turned off) */
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(mem_on_writes[i], i == 1);
	enable_dev = &pci_devs[5]; /* h: I/O refused, memory granted */
	log = logged(enable_mem_arg, 1);
	assert_string_equal(log, "pci 0000:00:06.0: I/O decode refused: BAR0 "
				 "was refused at enumeration; left off\n");
	assert_false(h->cfg[PCI_COMMAND] & PCI_COMMAND_IO);
	pci_enable(&pci_devs[5], true, false, false);
	assert_true(h->cfg[PCI_COMMAND] & PCI_COMMAND_MEM);
	pci_host_cfg_written = NULL;
}

/* a bridge with a refused BAR keeps the decode firmware left on: it also
 * gates what the bridge forwards, and the device behind it stays
 * reachable. Its refused BAR is ignored, as Linux does */
static void test_pci_bridge_decode_kept_with_refused_bar(void **st)
{
	ecam_seg(0, 0);
	acpi_ecam[0].bus_end = 1;
	struct fake_fn *br = fn_at(0, 1, 0, 1);
	fn_at(1, 0, 0, 0);
	/* BAR0 over the interrupt range */
	fn_bar(br, 0, 0xfee00000, 0x1000);
	br->cfg[PCI_COMMAND] = PCI_COMMAND_MEM | PCI_COMMAND_MASTER;
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(pci_ndevs, 2);
	assert_int_equal(found(1, 0, 0), 1);
	assert_int_equal(pci_devs[0].bar[0].size, 0);
	assert_true(br->cfg[PCI_COMMAND] & PCI_COMMAND_MEM);
	if (!strstr(log, "pci 0000:00:01.0: a BAR of this bridge was refused; "
			 "its decode left on, for the buses behind it\n"))
		fail_msg("log:\n%s", log);
}

extern void (*pci_host_msix_written)(volatile uint32_t *p);

/* a table write during which an IOMMU fault turns bus mastering off (its
 * interrupt handler, vtd_stop_sid): pci_msix_entry_set gives back only
 * the memory decode it turned on, never the bus mastering of its first
 * read of Command. Before, the whole Command went back, bus mastering
 * on again for a device the IOMMU had just stopped */
static struct fake_fn *bme_fn;
static void bme_cleared(volatile uint32_t *p)
{
	(void)p;
	bme_fn->cfg[PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MASTER;
}

static void test_pci_msix_write_keeps_bus_master_off(void **st)
{
	ecam_seg(0, 0);
	struct fake_fn *f = bme_fn = fn_at(0, 1, 0, 0);
	fn_bar(f, 0, BAR_MEM_BASE + 0xd000, 0x1000);
	f->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	f->cfg[PCI_CAP_PTR] = 0x40;
	f->cfg[0x40] = PCI_CAP_ID_MSIX;
	f->cfg[0x40 + PCI_MSIX_FLAGS] = 1;
	f->cfg[0x40 + PCI_MSIX_PBA + 1] = 0x8;
	pci_host_cfg_written = fns_bar_model;
	pci_init();
	pci_host_cfg_written = NULL;
	assert_int_equal(pci_ndevs, 1);
	assert_non_null(pci_devs[0].msix_table);
	f->cfg[PCI_COMMAND] = PCI_COMMAND_MASTER; /* decode off, DMA on */
	pci_host_msix_written = bme_cleared;
	assert_true(pci_msix_entry_set(&pci_devs[0], 0, true, NULL));
	pci_host_msix_written = NULL;
	assert_int_equal(
	    f->cfg[PCI_COMMAND] & (PCI_COMMAND_MASTER | PCI_COMMAND_MEM), 0);
	bme_fn = NULL;
}

/* a table that keeps its message: address and data writes are lost */
static uint32_t kept_msg[3] = {0xfee01000, 0, 0x41};
static void msg_ignored(volatile uint32_t *p)
{
	unsigned o = (unsigned)((uintptr_t)p % PCI_MSIX_ENTRY_SIZE) / 4;
	if (o * 4 != PCI_MSIX_ENTRY_CTRL)
		*p = kept_msg[o];
}

static struct pci_dev *msix_dev;
static void unmask_with_msg_arg(uint64_t unused)
{
	const uint32_t msg[3] = {0xfee00000, 0, 0x30};
	assert_false(pci_msix_entry_set(msix_dev, 1, false, msg));
}

/* An entry whose message does not read back is left masked, whatever was
 * asked: irq_bind and irq_unmask unmask with a message, and an unmask
 * that took with a message that did not would have the device send the
 * old one (another vector, another CPU). The entry is masked again and
 * read back. Before, the unmask stayed and the line said "left masked". */
static void test_pci_msix_failed_write_left_masked(void **st)
{
	static uint8_t c[4096];
	uint8_t *t = bar_mem + 0xe000;
	struct pci_dev d = {.cfg = c,
			    .dev = 7,
			    .cap_msix = 0x40,
			    .msix_size = 4,
			    .msix_table = (volatile uint32_t *)t};
	memset(c, 0, sizeof(c));
	c[PCI_COMMAND] = PCI_COMMAND_MEM;
	memset(t, 0, 4 * PCI_MSIX_ENTRY_SIZE);
	for (unsigned i = 0; i < 4; i++) {
		memcpy(t + 16 * i, kept_msg, sizeof(kept_msg));
		t[16 * i + PCI_MSIX_ENTRY_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	pci_host_msix_written = msg_ignored;
	msix_dev = &d;
	const char *log = logged(unmask_with_msg_arg, 0);
	pci_host_msix_written = NULL;
	assert_string_equal(log, "pci 0000:00:07.0: MSI-X entry 1 did not "
				 "take the kernel's unmask; left masked\n");
	assert_int_equal(t[16 + PCI_MSIX_ENTRY_CTRL],
			 PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_false(d.msix_fn_masked);
}

/* a table whose entries never take a mask: the mask bit reads clear */
static void mask_ignored(volatile uint32_t *p)
{
	if ((uintptr_t)p % PCI_MSIX_ENTRY_SIZE == PCI_MSIX_ENTRY_CTRL)
		*p &= ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

static void msix_mask_20_arg(uint64_t unused)
{
	for (unsigned k = 0; k < 20; k++)
		assert_false(pci_msix_entry_set(msix_dev, k % 4, true, NULL));
}

/* A failed MSI-X entry write is one line the first time for the function
 * (PCI_SAID_MSIX) and counted every time (d->msix_failed, /api/pci): a
 * driver that keeps masking a table that will not take it (irq_mask on
 * every interrupt) cannot flood the log. Each failure still masks every
 * vector by the Function Mask. Before, each of the 20 calls was a line. */
static void test_pci_msix_failures_said_once(void **st)
{
	static uint8_t c[4096];
	uint8_t *t = bar_mem + 0xe000;
	memset(c, 0, sizeof(c));
	c[PCI_COMMAND] = PCI_COMMAND_MEM;
	memset(t, 0, 4 * PCI_MSIX_ENTRY_SIZE);
	pci_ndevs = 1;
	struct pci_dev *d = &pci_devs[0];
	*d = (struct pci_dev){.cfg = c,
			      .dev = 9,
			      .cap_msix = 0x40,
			      .msix_size = 4,
			      .msix_table = (volatile uint32_t *)t};
	pci_host_msix_written = mask_ignored;
	msix_dev = d;
	const char *log = logged(msix_mask_20_arg, 0);
	pci_host_msix_written = NULL;
	assert_string_equal(log, "pci 0000:00:09.0: MSI-X entry 0 did not "
				 "take the kernel's mask; every vector masked "
				 "by the Function Mask\n");
	assert_int_equal(d->msix_failed, 20);
	assert_true(d->msix_fn_masked);
	assert_true(c[0x40 + PCI_MSIX_FLAGS + 1] & PCI_MSIX_FLAGS_MASKALL >> 8);
	/* /api/pci shows the count */
	const struct status_provider *p = status_find("pci");
	assert_non_null(p);
	static char buf[512];
	struct json j;
	json_init(&j, buf, sizeof(buf));
	p->fn(&j);
	int n = json_end(&j);
	assert_true(n > 0 && json_valid(buf, (size_t)n));
	assert_non_null(strstr(buf, "\"msix_failed\":[{\"addr\":\"0000:00:09."
				    "0\",\"writes\":20,\"function_mask\":"
				    "true}]"));
	pci_ndevs = 0;
}

/* A capability's structure, as long as its own control bits make it
 * (MSI: 10, 14, 20 or 24 bytes, PCI 3.0 §6.8.1; MSI-X: 12, §6.8.2), must
 * end inside the 256 bytes the list lives in; one that runs past 0xff is
 * unused with one line (its registers there would be the function's
 * extended configuration space, which irq_bind would write as MSI address
 * and data). MSI-X refused, the function still has its MSI. Before, every
 * such capability was kept. */
static void test_pci_cap_past_config_space(void **st)
{
	ecam_seg(0, 0);
	/* a: 64-bit MSI at 0xf4 (14 bytes: to 0x102) */
	struct fake_fn *a = fn_at(0, 1, 0, 0);
	a->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	a->cfg[PCI_CAP_PTR] = 0xf4;
	a->cfg[0xf4] = PCI_CAP_ID_MSI;
	a->cfg[0xf4 + PCI_MSI_FLAGS] = PCI_MSI_FLAGS_64BIT;
	/* b: MSI with 64-bit addresses and per-vector masking at 0xe8 (24
	 * bytes, to 0x100: fits), MSI-X at 0xf8 (12 bytes: to 0x104) */
	struct fake_fn *b = fn_at(0, 2, 0, 0);
	b->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	b->cfg[PCI_CAP_PTR] = 0xe8;
	b->cfg[0xe8] = PCI_CAP_ID_MSI;
	b->cfg[0xe8 + 1] = 0xf8;
	b->cfg[0xe8 + PCI_MSI_FLAGS] = PCI_MSI_FLAGS_64BIT;
	b->cfg[0xe8 + PCI_MSI_FLAGS + 1] = PCI_MSI_FLAGS_MASKBIT >> 8;
	b->cfg[0xf8] = PCI_CAP_ID_MSIX;
	/* c: the same MSI at 0xec (to 0x104); 32-bit MSI at 0xf4 fits */
	struct fake_fn *c = fn_at(0, 3, 0, 0);
	memcpy(c->cfg, b->cfg, 0x40);
	c->cfg[PCI_DEVICE_ID] = 3;
	c->cfg[PCI_CAP_PTR] = 0xec;
	memcpy(c->cfg + 0xec, b->cfg + 0xe8, 4);
	c->cfg[0xec + 1] = 0;
	struct fake_fn *e = fn_at(0, 4, 0, 0);
	e->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	e->cfg[PCI_CAP_PTR] = 0xf4;
	e->cfg[0xf4] = PCI_CAP_ID_MSI;
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(pci_ndevs, 4);
	assert_int_equal(pci_devs[0].cap_msi, 0);
	assert_int_equal(pci_devs[1].cap_msi, 0xe8);
	assert_int_equal(pci_devs[1].cap_msix, 0);
	assert_null(pci_devs[1].msix_table);
	assert_int_equal(pci_devs[2].cap_msi, 0);
	assert_int_equal(pci_devs[3].cap_msi, 0xf4);
	if (!strstr(log,
		    "pci 0000:00:01.0: MSI capability at 0xf4 is 14 "
		    "bytes, past configuration space 0xff; MSI unused\n") ||
	    !strstr(log, "pci 0000:00:02.0: MSI-X capability at 0xf8 is 12 "
			 "bytes, past configuration space 0xff; MSI-X "
			 "unused\n") ||
	    !strstr(log, "pci 0000:00:03.0: MSI capability at 0xec is 24 "
			 "bytes, past configuration space 0xff; MSI unused\n"))
		fail_msg("log:\n%s", log);
}

/* two MCFG entries of one segment whose buses overlap: the later one is
 * refused, so no bus is scanned twice (its functions would be two
 * pci_devs entries); entries of another segment, or of the same segment's
 * other buses, are kept */
static void test_acpi_mcfg_overlap_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t *mcfg = calloc(1, 44 + 48);
	sdt(mcfg, "MCFG", 44 + 48);
	const uint8_t segs[3][3] = {{0, 0, 0x8f}, {0, 0x80, 0xff}, {1, 0, 0}};
	for (int i = 0; i < 3; i++) {
		uint64_t b = i == 2 ? ECAM2_BASE : ECAM_BASE;
		memcpy(mcfg + 44 + 16 * i, &b, 8);
		mcfg[44 + 16 * i + 8] = segs[i][0];
		mcfg[44 + 16 * i + 10] = segs[i][1];
		mcfg[44 + 16 * i + 11] = segs[i][2];
	}
	fix_sum(mcfg, 44 + 48, 9);
	xsdt_point(a, 0, mcfg);
	const char *log = acpi_init_log((uint64_t)a->rsdp);
	if (!strstr(log, "acpi: MCFG entry for segment 0 buses 128-255 at "
			 "0xe0000000 overlaps an earlier one; ignored\n"))
		fail_msg("log:\n%s", log);
	assert_int_equal(acpi_necam, 2);
	assert_int_equal(acpi_ecam[1].seg, 1);
	nfns = 0;
	pci_ndevs = 0;
	fn_at(0, 0, 0, 0x80); /* a bridge from bus 0 */
	fn_at(0x80, 0, 0, 0);
	pci_init();
	assert_int_equal(found(0x80, 0, 0), 1);
	free(mcfg);
	free(a);
}

/* MCFG entries whose configuration space is not the machine's own: two
 * entries whose ECAM address ranges overlap (another segment, or other
 * buses, at the same addresses: every function there would be found
 * twice, under two addresses, with two owners and two drivers), and an
 * entry whose ECAM holds system memory (the scan would size "BARs" in the
 * kernel's memory by writing all ones there). Each is one line and
 * ignored; entries past the fourth are one line in all. Before, all of
 * them were kept (and the fifth on dropped silently). */
static void test_acpi_mcfg_aliasing_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	enum { N = 8 };
	uint8_t *mcfg = calloc(1, 44 + 16 * N);
	sdt(mcfg, "MCFG", 44 + 16 * N);
	const struct {
		uint64_t base;
		uint8_t seg, lo, hi;
	} e[N] = {
	    {ECAM_BASE, 0, 0, 0x3f},
	    {ECAM_BASE, 1, 0, 0}, /* seg 0's bus 0 again */
	    {ECAM_BASE - (0x10ull << 20), 2, 0x10, 0x10}, /* seg 0's bus 0 */
	    {ECAM_BASE + (0x40ull << 20), 3, 0, 0},	  /* right after */
	    {0x7f000000, 4, 0, 0},			  /* on RAM */
	    {ECAM2_BASE, 5, 0, 0},
	    {ECAM2_BASE + (1ull << 20), 6, 0, 0},
	    {ECAM2_BASE + (2ull << 20), 7, 0, 0}, /* a fifth */
	};
	for (int i = 0; i < N; i++) {
		memcpy(mcfg + 44 + 16 * i, &e[i].base, 8);
		mcfg[44 + 16 * i + 8] = e[i].seg;
		mcfg[44 + 16 * i + 10] = e[i].lo;
		mcfg[44 + 16 * i + 11] = e[i].hi;
	}
	fix_sum(mcfg, 44 + 16 * N, 9);
	xsdt_point(a, 0, mcfg);
	nram = 1;
	ram[0].lo = 0x7f080000;
	ram[0].hi = 0x7f081000;
	const char *log = acpi_init_log((uint64_t)a->rsdp);
	nram = 0;
	if (!strstr(log, "acpi: MCFG entry for segment 1 buses 0-0 at "
			 "0xe0000000 overlaps an earlier entry's ECAM; "
			 "ignored\n") ||
	    !strstr(log, "acpi: MCFG entry for segment 2 buses 16-16 at "
			 "0xdf000000 overlaps an earlier entry's ECAM; "
			 "ignored\n") ||
	    !strstr(log, "acpi: MCFG entry for segment 4 buses 0-0 at "
			 "0x7f000000 holds system memory; ignored\n") ||
	    !strstr(log, "acpi: MCFG has more than 4 entries; the rest "
			 "ignored\n"))
		fail_msg("log:\n%s", log);
	assert_int_equal(acpi_necam, 4);
	assert_int_equal(acpi_ecam[0].seg, 0);
	assert_int_equal(acpi_ecam[1].seg, 3);
	assert_int_equal(acpi_ecam[2].seg, 5);
	assert_int_equal(acpi_ecam[3].seg, 6);
	free(mcfg);
	free(a);
}

/* ---- grants
 * ------------------------------------------------------------------ */
static void test_grants(void **st)
{
	struct grant_table t = {0};
	uint32_t g1, g2;
	int s1 = grant_add(&t, 7, 0x10000, 0x2000, &g1);
	assert_true(s1 >= 0);
	assert_true(grant_covers(&t, 7, 0x10000, 0x2000));
	assert_true(grant_covers(&t, 7, 0x11fff, 1));
	assert_false(grant_covers(&t, 7, 0x11fff, 2)); /* one byte past */
	assert_false(grant_covers(&t, 7, 0xffff, 2));  /* one byte before */
	assert_false(grant_covers(&t, 8, 0x10000, 1)); /* other owner */
	assert_false(grant_covers(&t, 7, 0x10000, 0));
	assert_false(grant_covers(&t, 7, UINT64_MAX - 1, 4)); /* wraps */
	assert_int_equal(grant_add(&t, 7, UINT64_MAX - 4, 16, NULL), -1);
	assert_true(grant_revoke(&t, s1, g1));
	assert_false(grant_live(&t, s1, g1));
	assert_false(grant_covers(&t, 7, 0x10000, 1));
	assert_false(grant_revoke(&t, s1, g1)); /* stale */
	int s2 = grant_add(&t, 7, 0x10000, 0x1000, &g2);
	assert_int_equal(s2, s1);     /* slot reused ... */
	assert_int_not_equal(g2, g1); /* ... never with the old generation */
	assert_false(grant_live(&t, s1, g1));
	/* a slot index outside the table names no grant, whatever the
	 * generation (a forged capability) */
	assert_false(grant_live(&t, -1, t.g[0].gen));
	assert_false(grant_live(&t, GRANT_MAX, 0));
	assert_false(grant_live(&t, GRANT_MAX, t.g[0].gen));
	/* a full table refuses: no slot is handed out twice */
	for (int i = 1; i < GRANT_MAX; i++)
		assert_true(grant_add(&t, 7, 0x100000 + 0x1000 * (uint64_t)i,
				      0x1000, NULL) >= 0);
	assert_int_equal(grant_add(&t, 7, 0x200000, 0x1000, NULL), -1);
	assert_false(grant_covers(&t, 7, 0x200000, 1));
}

/* memory a live or parked grant holds is never granted again, to another
 * owner or the same one, until its holder gives it back: the validator
 * would otherwise let a second owner's commands reach it */
static void test_grant_overlap_refused(void **st)
{
	(void)st;
	struct grant_table t = {0};
	uint32_t g1, g2;
	int s1 = grant_add(&t, 7, 0x10000, 0x2000, &g1);
	assert_true(s1 >= 0);
	assert_int_equal(grant_add(&t, 8, 0x10000, 0x2000, NULL), -1);
	assert_int_equal(grant_add(&t, 8, 0x11fff, 1, NULL),
			 -1); /* last byte */
	assert_int_equal(grant_add(&t, 8, 0xf000, 0x1001, NULL),
			 -1); /* first */
	assert_int_equal(grant_add(&t, 8, 0x8000, 0x10000, NULL),
			 -1); /* over */
	assert_int_equal(grant_add(&t, 7, 0x11000, 0x1000, NULL), -1); /* own */
	assert_false(grant_covers(&t, 8, 0x10000, 1));
	/* touching is not overlapping */
	assert_true(grant_add(&t, 8, 0x12000, 0x1000, NULL) >= 0);
	assert_true(grant_add(&t, 8, 0xf000, 0x1000, NULL) >= 0);
	/* parked (seized from its holder): still refused */
	assert_true(grant_seize(&t, s1));
	assert_int_equal(grant_add(&t, 8, 0x10000, 0x1000, NULL), -1);
	/* given back: free to grant */
	assert_true(grant_release(&t, s1, g1));
	int s2 = grant_add(&t, 8, 0x10000, 0x2000, &g2);
	assert_true(s2 >= 0);
	/* revoked: free to grant */
	assert_true(grant_revoke(&t, s2, g2));
	assert_true(grant_add(&t, 7, 0x10800, 0x800, NULL) >= 0);
}

/* ---- command line -------------------------------------------------------- */
/* a generation never repeats: a slot whose generation would wrap is
 * retired, so a capability revoked long ago never names a live grant
 * again, however many add/revoke cycles a driver runs */
static void test_grant_generation_wrap(void **st)
{
	struct grant_table t = {0};
	uint32_t g0, g;
	int s0 = grant_add(&t, 7, 0x10000, 0x1000, &g0);
	assert_int_equal(s0, 0);
	assert_true(grant_revoke(&t, s0, g0));
	t.g[s0].gen = UINT32_MAX - 1; /* 2^31 add/revoke cycles later */
	for (int i = 0; i < 8; i++) {
		int s = grant_add(&t, 7, 0x10000, 0x1000, &g);
		assert_true(s >= 0);
		assert_false(s == s0 && g == g0);
		assert_false(grant_live(&t, s0, g0));
		if (i & 1) { /* seized and released moves it on too */
			assert_true(grant_seize(&t, s));
			assert_true(grant_release(&t, s, g));
		} else {
			assert_true(grant_revoke(&t, s, g));
		}
		assert_false(grant_live(&t, s0, g0));
	}
}

static void test_cmdline(void **st)
{
	const char cfgtxt[] =
	    "proofs=a,b\nexit\tnet.ip=10.0.2.15 n=0x10 bad=12z # c=1";
	cmdline_parse(cfgtxt, sizeof(cfgtxt) - 1);
	assert_string_equal(cmdline_get("proofs"), "a,b");
	assert_string_equal(cmdline_get("exit"), "");
	assert_string_equal(cmdline_get("net.ip"), "10.0.2.15");
	assert_null(cmdline_get("c"));
	assert_int_equal(cmdline_u64("n", 1), 16);
	assert_int_equal(cmdline_u64("bad", 7), 7);
	assert_int_equal(cmdline_u64("absent", 9), 9);
	/* a '#' starting a word comments out the rest of its line only */
	const char lines[] = "# capos.cfg\nproofs=x # the proofs\nexit\n"
			     "a=b#c\n";
	cmdline_parse(lines, sizeof(lines) - 1);
	assert_string_equal(cmdline_get("proofs"), "x");
	assert_string_equal(cmdline_get("exit"), "");
	assert_string_equal(cmdline_get("a"), "b#c");
	assert_null(cmdline_get("the"));
	/* a comment ends at a lone CR too: a file with CR line endings */
	const char cr[] = "# capos.cfg\rproofs=y # the proofs\rexit\r";
	cmdline_parse(cr, sizeof(cr) - 1);
	assert_string_equal(cmdline_get("proofs"), "y");
	assert_string_equal(cmdline_get("exit"), "");
	assert_null(cmdline_get("the"));
	assert_false(cmdline_cut());
	/* a key given twice: the last value, as Linux reads an appended
	 * option */
	const char twice[] = "devmgr.dma=strict net=off devmgr.dma=auto";
	cmdline_parse(twice, sizeof(twice) - 1);
	assert_string_equal(cmdline_get("devmgr.dma"), "auto");
	assert_string_equal(cmdline_get("net"), "off");
	char big[2000];
	memset(big, 'a', sizeof(big));
	cmdline_parse(big, sizeof(big)); /* truncated, not overflowed */
	/* a word longer than boot_cmdline holds is lost whole */
	char key[512];
	memset(key, 'a', 511);
	key[511] = 0;
	assert_null(cmdline_get(key));
	assert_true(cmdline_cut());
}

/* spacing takes no room: a config file's indentation, blank lines and
 * comment lines whose words fit is not cut (before, every space, tab and
 * newline took a byte of boot_cmdline and the last words were lost); the
 * word the cut falls in is lost whole, never kept cut short; a comment
 * that starts just past the end loses nothing */
static void test_cmdline_spacing_and_cut_word(void **st)
{
	char cfg[2048] = "";
	for (unsigned i = 0; i < 20; i++)
		strcat(cfg, "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t"
			    "proofs=a    # the proofs we want\n\n\n");
	strcat(cfg, "devmgr.dma=strict\n");
	assert_true(strlen(cfg) > 900);
	cmdline_parse(cfg, strlen(cfg));
	assert_non_null(cmdline_get("devmgr.dma"));
	assert_string_equal(cmdline_get("devmgr.dma"), "strict");
	assert_false(cmdline_cut());

	/* 500 bytes of one word and a space, then nvme.ns=1,20: the cut
	 * falls after "nvme.ns=1,2", which names another namespace */
	char line[600];
	memset(line, 'x', sizeof(line));
	memcpy(line, "a=", 2);
	line[499] = ' ';
	memcpy(line + 500, "nvme.ns=1,20", 13);
	cmdline_parse(line, strlen(line));
	assert_true(cmdline_cut());
	assert_null(cmdline_get("nvme.ns"));
	assert_non_null(cmdline_get("a"));

	/* 511 bytes of words, then a comment: all kept, nothing cut */
	memset(line, 'x', sizeof(line));
	memcpy(line, "a=", 2);
	memcpy(line + 511, " # a comment", 13);
	cmdline_parse(line, strlen(line));
	assert_false(cmdline_cut());
	assert_int_equal(strlen(cmdline_get("a")), 509);
}

/* a NUL byte in \capos.cfg with words after it: they are lost, said, and
 * the line counts as cut (before, silently ignored: devmgr.dma=strict
 * after it was never read); trailing NULs lose nothing. A byte that is
 * not printable ASCII becomes '?', so its word is reported malformed, not
 * printed raw to the console (an escape sequence) */
static void test_cmdline_nul_and_binary(void **st)
{
	const char cfg[] = "proofs=a\0devmgr.dma=strict\n";
	cmdline_parse(cfg, sizeof(cfg) - 1);
	assert_string_equal(cmdline_get("proofs"), "a");
	assert_true(cmdline_cut());
	assert_int_equal(cmdline_check(), 1);
	const char tail[] = "proofs=a\n\0\0";
	cmdline_parse(tail, sizeof(tail));
	assert_false(cmdline_cut());
	assert_int_equal(cmdline_check(), 0);
	const char esc[] = "proofs=a\x1b[2J n\xc3\xa9t=1";
	cmdline_parse(esc, sizeof(esc) - 1);
	assert_string_equal(cmdline_get("proofs"), "a?[2J");
	assert_non_null(cmdline_get("n??t"));
	assert_false(cmdline_cut());
}

/* every word is checked against the options the image declares: a dotted
 * one is no exception (a mistyped nvme.ns must not pass unnoticed), and a
 * line cut short or past MAX_ARGS words is reported too */
CMDLINE_KEY(t_proofs, "proofs", "test");
CMDLINE_KEY(t_nvme_ns, "nvme.ns", "test");
static void test_cmdline_unknown_reported(void **st)
{
	(void)st;
	const char ok[] = "proofs=a nvme.ns=1";
	cmdline_parse(ok, sizeof(ok) - 1);
	assert_int_equal(cmdline_check(), 0);
	const char typo[] = "proofs=a nvme.nss=1 bogus";
	cmdline_parse(typo, sizeof(typo) - 1);
	assert_int_equal(cmdline_check(), 2);
	/* a key given more than once is one problem, however often */
	const char again[] = "proofs=a nvme.ns=1 proofs=b proofs=c";
	cmdline_parse(again, sizeof(again) - 1);
	assert_int_equal(cmdline_check(), 1);
	assert_false(cmdline_cut());
	/* 40 words, 20 of each declared key: more than MAX_ARGS (32) is one
	 * problem, each repeated key one more */
	char many_ok[40 * 10 + 1];
	for (unsigned i = 0; i < 40; i++)
		memcpy(many_ok + 10 * i, i & 1 ? "nvme.ns=1 " : "proofs=aa ",
		       10);
	cmdline_parse(many_ok, 40 * 10);
	assert_int_equal(cmdline_check(), 3);
	assert_true(cmdline_cut());
	/* longer than boot_cmdline: one problem, the kept words still read */
	char big[700];
	memset(big, 'y', sizeof(big));
	memcpy(big, "nvme.ns=1 ", 10);
	cmdline_parse(big, sizeof(big));
	assert_int_equal(cmdline_check(), 1);
	assert_string_equal(cmdline_get("nvme.ns"), "1");
	/* only spacing (a file's last newline) past the end loses nothing */
	memset(big + 9, ' ', sizeof(big) - 9);
	big[sizeof(big) - 1] = '\n';
	cmdline_parse(big, sizeof(big));
	assert_int_equal(cmdline_check(), 0);
}

/* ---- boot files: no cap, in order, losses counted ------------------------ */
static void test_bootfs_no_cap(void **st)
{
	(void)st;
	/* far more than the 64 the old table held */
	enum { N = 300 };
	static struct bootfs_file f[N];
	static char data[N];
	for (unsigned i = 0; i < N; i++) {
		snprintf(f[i].name, sizeof(f[i].name), "nvme-%03u.vec", i);
		f[i].data = &data[i];
		f[i].len = 1;
		bootfs_add(&f[i]);
	}
	const char *name;
	const void *d;
	size_t len;
	unsigned n = 0;
	for (; bootfs_at(n, &name, &d, &len); n++) {
		char want[BOOTFS_NAME_MAX];
		snprintf(want, sizeof(want), "nvme-%03u.vec", n);
		assert_string_equal(name, want);
		assert_ptr_equal(d, &data[n]);
	}
	assert_int_equal(n, N);
	assert_int_equal(bootfs_lost(), 0);
	bootfs_lose("x.vec", "test");
	bootfs_lose("y.vec", "test");
	assert_int_equal(bootfs_lost(), 2);
}

/* every boot file walked in order, by bootfs_at and by bootfs_range (as
 * the page allocator's sweep walks mm_inuse_at, once per run of pages)
 * follows each link once: 1000 files cost under 1000 steps a walk. The
 * walk from the head on each lookup cost n^2/2 (about 500000 a walk);
 * lookups out of order still find the right file. */
extern unsigned long bootfs_host_steps;
static void test_bootfs_walk_linear(void **st)
{
	(void)st;
	enum { M = 1000 };
	static struct bootfs_file f[M];
	static char data[M];
	const char *name;
	const void *d;
	size_t len;
	unsigned n = 0, n0;
	while (bootfs_at(n, &name, &d, &len)) /* test_bootfs_no_cap's */
		n++;
	n0 = n;
	for (unsigned i = n0; i < M; i++) {
		snprintf(f[i].name, sizeof(f[i].name), "w-%04u.vec", i);
		f[i].data = &data[i];
		f[i].len = 1;
		bootfs_add(&f[i]);
	}
	for (int walk = 0; walk < 3; walk++) {
		bootfs_host_steps = 0;
		for (n = 0; bootfs_at(n, &name, &d, &len); n++)
			;
		assert_int_equal(n, M);
		assert_true(bootfs_host_steps <= M);
		bootfs_host_steps = 0;
		uint64_t s, e;
		for (n = 0; bootfs_range(n, &s, &e); n++)
			if (n / 2 >= n0 && n % 2)
				assert_int_equal(s, (uint64_t)&data[n / 2]);
		assert_int_equal(n, 2 * M);
		assert_true(bootfs_host_steps <= M);
	}
	/* out of order: back to the head, forward past the cursor */
	assert_true(bootfs_at(M - 1, &name, &d, &len));
	assert_string_equal(name, "w-0999.vec");
	assert_true(bootfs_at(0, &name, &d, &len));
	assert_string_equal(name, n0 ? "nvme-000.vec" : "w-0000.vec");
	assert_true(bootfs_at(500, &name, &d, &len));
	assert_string_equal(name, "w-0500.vec");
	uint64_t s, e;
	assert_true(bootfs_range(2 * 400, &s, &e));
	assert_int_equal(s, (uint64_t)&f[400]);
	assert_int_equal(e, s + sizeof(f[400]));
	assert_true(bootfs_range(2 * 999 + 1, &s, &e));
	assert_int_equal(s, (uint64_t)&data[999]);
	assert_int_equal(e, s + 1);
	assert_false(bootfs_range(2 * M, &s, &e));
	assert_false(bootfs_at(M, &name, &d, &len));
	assert_true(bootfs_at(M - 1, &name, &d, &len));
}

/* ---- printf -------------------------------------------------------------- */
static void test_printf(void **st)
{
	char b[64];
	ksnprintf(b, sizeof(b), "%d|%5u|%-4s|%04x|%lx|%c|%%|%.3s", -42, 7u,
		  "ab", 0xbeef, 0x123456789abcul, 'z', "abcdef");
	assert_string_equal(b, "-42|    7|ab  |beef|123456789abc|z|%|abc");
	/* a negative '*' width is a '-' flag (C11 7.21.6.1) */
	ksnprintf(b, sizeof(b), "%*s|%*s|", -4, "ab", 4, "ab");
	assert_string_equal(b, "ab  |  ab|");
	assert_int_equal(ksnprintf(b, 4, "%s", "hello"), 5); /* wanted */
	assert_string_equal(b, "hel");
	const char *volatile none = NULL; /* hidden from gcc's format check */
	ksnprintf(b, sizeof(b), "%zu %lu %s", (size_t)3, UINT64_MAX, none);
	assert_string_equal(b, "3 18446744073709551615 (null)");
}

/* C11 7.21.6.1: with a precision, %s reads no more than that many bytes,
 * so a fixed-width field with no NUL (an ACPI signature at the end of a
 * buffer) prints without reading past it */
static void test_printf_precision_reads_no_further(void **st)
{
	char b[16];
	char *sig = malloc(4);
	memcpy(sig, "MCFG", 4); /* no NUL: the next byte is not ours */
	assert_int_equal(ksnprintf(b, sizeof(b), "[%.4s]", sig), 6);
	assert_string_equal(b, "[MCFG]");
	free(sig);
}

/* ---- I/O APICs (kernel/cpu/ioapic.c) over a MADT ---------------------------
 * A model I/O APIC (82093AA datasheet §3): its registers by number, reached
 * only through IOREGSEL (+0x00, selects) and IOWIN (+0x10, reads and writes
 * the selected one) of the window mm_map_mmio hands out. Any other access,
 * a register it does not have, or a write to anything but an entry's low
 * dword counts as bad. */
#define IOAPIC_A 0xfec00000ull
#define IOAPIC_B 0xfec01000ull
static struct ioapic_model {
	uint64_t phys;
	uint32_t win[8]; /* +0x00..+0x1f */
	uint32_t reg[256];
	unsigned nent;	/* redirection entries */
	uint32_t stuck; /* entries (of the first 32) whose mask bit will not
			   set */
	unsigned bad, maps;
} ioa[2];

static void ioapic_model(struct ioapic_model *m, uint64_t phys, unsigned n)
{
	memset(m, 0, sizeof(*m));
	m->phys = phys;
	m->nent = n;
	m->reg[1] = 0x20 | (n - 1) << 16; /* version, highest entry */
	for (unsigned i = 0; i < n; i++)
		m->reg[0x10 + 2 * i] = 1u << 16; /* masked, as at reset */
}

static void *ioapic_model_map(uint64_t phys, size_t len)
{
	for (unsigned i = 0; i < 2; i++)
		if (ioa[i].phys && phys == ioa[i].phys && len <= 32) {
			ioa[i].maps++;
			return ioa[i].win;
		}
	return NULL;
}

static struct ioapic_model *ioapic_at(volatile uint32_t *p, unsigned *off)
{
	for (unsigned i = 0; i < 2; i++)
		if (p >= ioa[i].win && p < ioa[i].win + 8) {
			*off = (unsigned)(p - ioa[i].win) * 4;
			return &ioa[i];
		}
	fail_msg("I/O APIC access outside every model's window");
	return NULL;
}

static bool ioapic_has(const struct ioapic_model *m, unsigned sel)
{
	return sel <= 2 || (sel >= 0x10 && sel < 0x10 + 2 * m->nent);
}

uint32_t ioapic_host_read(volatile uint32_t *p)
{
	unsigned off;
	struct ioapic_model *m = ioapic_at(p, &off);
	unsigned sel = m->win[0] & 0xff;
	if (off != 0x10 || !ioapic_has(m, sel)) {
		m->bad++;
		return 0;
	}
	return m->reg[sel];
}

void ioapic_host_write(volatile uint32_t *p, uint32_t v)
{
	unsigned off;
	struct ioapic_model *m = ioapic_at(p, &off);
	unsigned sel = m->win[0] & 0xff;
	if (off == 0) {
		m->win[0] = v;
		return;
	}
	if (off != 0x10 || sel < 0x10 || (sel & 1) || !ioapic_has(m, sel)) {
		m->bad++;
		return;
	}
	if ((sel - 0x10) / 2 < 32 && m->stuck >> (sel - 0x10) / 2 & 1)
		v &= ~(1u << 16); /* stuck: one of the first 32 entries */
	m->reg[sel] = v;
}

static void ioapic_mask_all_arg(uint64_t unused)
{
	ioapic_mask_all();
}

static uint8_t *madt_ioapic(uint8_t *p, uint8_t id, uint32_t addr, uint32_t gsi)
{
	p[0] = 1;
	p[1] = 12;
	p[2] = id;
	memcpy(p + 4, &addr, 4);
	memcpy(p + 8, &gsi, 4);
	return p + 12;
}

/* a MADT of len bytes at t (local APIC at 0xfee00000), in the XSDT's
 * third slot */
static uint8_t *madt_start(struct fake_acpi *a, uint8_t *t, uint32_t len)
{
	uint32_t la = 0xfee00000;
	sdt(t, "APIC", len);
	memcpy(t + 36, &la, 4);
	t[40] = 1; /* PC-AT compatible */
	xsdt_point(a, 2, t);
	return t + 44;
}

/* A MADT may list ACPI_MAX_IOAPICS I/O APICs, each at an address nothing
 * answers: the first IOAPIC_LINES (8) are a line each, the rest one line
 * with their counts. Before, every one was a line (128 of them; the MADT's
 * own lines stop at ACPI_TABLE_LINES) */
static void test_ioapic_lines_bounded(void **st)
{
	(void)st;
	struct fake_acpi *a = acpi_build();
	uint8_t *end = guarded_page_end();
	const unsigned n = 20;
	uint32_t len = 44 + 12 * n;
	uint8_t *t = end - len;
	uint8_t *p = madt_start(a, t, len);
	/* the 9th and 10th answer (A: two entries unmasked; B: one that
	 * will not mask), the others cannot be mapped */
	for (unsigned i = 0; i < n; i++)
		p = madt_ioapic(p, (uint8_t)(i + 1),
				i == 8	 ? IOAPIC_A
				: i == 9 ? IOAPIC_B
					 : 0xfec10000u + i * 0x1000,
				24 * i);
	fix_sum(t, len, 9);
	ioapic_model(&ioa[0], IOAPIC_A, 24);
	ioapic_model(&ioa[1], IOAPIC_B, 8);
	ioa[0].reg[0x10 + 2 * 2] = 0x31;
	ioa[0].reg[0x10 + 2 * 7] = 0x32;
	ioa[1].reg[0x10 + 2 * 3] = 0x33;
	ioa[1].stuck = 1u << 3;
	(void)acpi_init_log((uint64_t)a->rsdp);
	assert_int_equal(acpi_nioapics, n);
	const char *log = logged(ioapic_mask_all_arg, 0);
	unsigned lines = 0;
	for (const char *c = log; *c; c++)
		lines += *c == '\n';
	if (lines != 8 + 1 ||
	    !strstr(log, "ioapic 8: registers at 0xfec17000 cannot be mapped; "
			 "left as firmware set it\n") ||
	    strstr(log, "ioapic 9:") ||
	    !strstr(log, "ioapic: 12 more I/O APICs: 32 entries, 3 found "
			 "unmasked, 1 of them will not mask; 10 left as "
			 "firmware set them\n"))
		fail_msg("%u lines:\n%s", lines, log);
	/* masked all the same */
	assert_int_equal(ioa[0].reg[0x10 + 2 * 2], 0x10031);
	assert_int_equal(ioa[0].reg[0x10 + 2 * 7], 0x10032);
	assert_int_equal(ioa[0].bad + ioa[1].bad, 0);
	free(a);
}

/* Every redirection entry of every I/O APIC the MADT lists is masked:
 * the low dword written with bit 16 set, its other bits (vector, trigger,
 * polarity) as they were, the high dword (destination) untouched; an
 * entry that does not take the mask is named; an SMI entry (firmware's
 * System Management Mode, no vector) is left as it is, as Linux does. Other
 * MADT entries (a processor's local APIC, an interrupt source override) are
 * walked past. Before, capOS never touched the I/O APIC: entries firmware left
 * unmasked delivered on firmware's vectors. */
static void test_ioapic_entries_masked(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t t[44 + 8 + 12 + 10 + 12];
	uint8_t *p = madt_start(a, t, sizeof(t));
	p[0] = 0, p[1] = 8, p[2] = 0, p[3] = 0, p[4] = 1; /* processor */
	p = madt_ioapic(p + 8, 1, IOAPIC_A, 0);
	p[0] = 2, p[1] = 10; /* interrupt source override */
	p = madt_ioapic(p + 10, 2, IOAPIC_B, 24);
	fix_sum(t, sizeof(t), 9);
	ioapic_model(&ioa[0], IOAPIC_A, 24);
	ioapic_model(&ioa[1], IOAPIC_B, 8);
	ioa[0].reg[0x10] = 0x00000030;	       /* edge, vector 0x30 */
	ioa[0].reg[0x10 + 2 * 2] = 0x0000a031; /* level, low, 0x31 */
	ioa[0].reg[0x10 + 2 * 23] = 0x00000939;
	ioa[0].reg[0x11 + 2 * 23] = 0x03000000; /* destination 3 */
	ioa[0].reg[0x10 + 2 * 7] = 0x00000200;	/* SMI: firmware's */
	for (unsigned i = 0; i < 8; i++)
		ioa[1].reg[0x10 + 2 * i] = 0x40 + i;
	ioa[1].stuck = 1u << 3;
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_nioapics, 2);
	assert_int_equal(acpi_ioapics[1].base, IOAPIC_B);
	assert_int_equal(acpi_ioapics[1].gsi_base, 24);
	assert_int_equal(acpi_ioapics[1].id, 2);
	const char *log = logged(ioapic_mask_all_arg, 0);
	if (!strstr(log, "ioapic 1 at 0xfec00000: GSI 0-23, 24 entries, 3 "
			 "found unmasked; all masked (1 SMI entries left "
			 "unmasked)\n") ||
	    !strstr(log, "ioapic 2 at 0xfec01000: GSI 24-31, 8 entries, 8 "
			 "found unmasked; 1 of them will not mask\n"))
		fail_msg("log:\n%s", log);
	for (unsigned i = 0; i < 24; i++)
		assert_true(i == 7 || ioa[0].reg[0x10 + 2 * i] & 1u << 16);
	assert_int_equal(ioa[0].reg[0x10 + 2 * 7], 0x00000200);
	assert_int_equal(ioa[0].reg[0x10], 0x00010030);
	assert_int_equal(ioa[0].reg[0x10 + 2 * 2], 0x0001a031);
	assert_int_equal(ioa[0].reg[0x10 + 2 * 23], 0x00010939);
	assert_int_equal(ioa[0].reg[0x11 + 2 * 23], 0x03000000);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(ioa[1].reg[0x10 + 2 * i],
				 (i == 3 ? 0 : 1u << 16) | (0x40 + i));
	assert_int_equal(ioa[0].bad + ioa[1].bad, 0);
	free(a);
}

/* The MADT is the adversary. An entry whose length runs past the table
 * (or is the table's last byte), or is shorter than its own header
 * (length 0 would never end the walk), ends the walk with one line, the
 * entries before it kept; an I/O APIC entry shorter than 12 bytes or at
 * address 0 is refused with one line, the walk goes on. The table ends at
 * an inaccessible page: a read past it faults. I/O APICs that cannot be
 * mapped, or that the MADT places in ECAM, are left alone with one line;
 * the others are still masked. */
static void test_madt_malformed_entries_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t *end = guarded_page_end();
	/* an address of 0, a short entry, A, B in the MCFG's ECAM, one
	 * that cannot be mapped, then length 0 and an I/O APIC after it */
	uint32_t len = 44 + 12 + 8 + 12 + 12 + 12 + 2 + 12;
	uint8_t *t = end - len;
	uint8_t *p = madt_start(a, t, len);
	p = madt_ioapic(p, 3, 0, 0);
	p[0] = 1, p[1] = 8, p += 8;
	p = madt_ioapic(p, 1, IOAPIC_A, 0);
	p = madt_ioapic(p, 5, 0xb0000000, 48); /* bus 0's ECAM */
	p = madt_ioapic(p, 6, 0xfec02000, 64); /* no device: not mapped */
	p[0] = 9, p[1] = 0, p += 2;
	madt_ioapic(p, 2, IOAPIC_B, 24);
	fix_sum(t, len, 9);
	ioapic_model(&ioa[0], IOAPIC_A, 24);
	ioapic_model(&ioa[1], IOAPIC_B, 8);
	ioa[0].reg[0x10 + 2 * 5] = 0x35;
	ioa[1].reg[0x10] = 0x36;
	const char *log = acpi_init_log((uint64_t)a->rsdp);
	if (!strstr(log, "acpi: MADT I/O APIC entry at offset 44 has address "
			 "0; ignored\n") ||
	    !strstr(log, "acpi: MADT I/O APIC entry at offset 56 is shorter "
			 "than 12 bytes; ignored\n") ||
	    !strstr(log, "acpi: MADT entry at offset 100 is shorter than its "
			 "2-byte header; the rest of the MADT ignored\n"))
		fail_msg("log:\n%s", log);
	assert_int_equal(acpi_nioapics, 3);
	assert_int_equal(acpi_ioapics[0].base, IOAPIC_A);
	log = logged(ioapic_mask_all_arg, 0);
	if (!strstr(log, "ioapic 1 at 0xfec00000: GSI 0-23, 24 entries, 1 "
			 "found unmasked; all masked\n") ||
	    !strstr(log, "ioapic 5: registers at 0xb0000000 lie in an MCFG "
			 "entry's ECAM; left as firmware set it\n") ||
	    !strstr(log, "ioapic 6: registers at 0xfec02000 cannot be mapped; "
			 "left as firmware set it\n"))
		fail_msg("log:\n%s", log);
	assert_int_equal(ioa[0].reg[0x10 + 2 * 5], 0x10035);
	assert_int_equal(ioa[1].reg[0x10], 0x36); /* past the bad entry */
	assert_int_equal(ioa[1].maps, 0);
	assert_int_equal(ioa[0].bad, 0);

	/* the last entry's length runs past the table; then a table whose
	 * last entry is one byte (its length would be past the end) */
	for (unsigned left = 6; left; left = left == 6 ? 1 : 0) {
		len = 44 + 12 + left;
		t = end - len;
		p = madt_ioapic(madt_start(a, t, len), 1, IOAPIC_A, 0);
		p[0] = 1;
		if (left > 1)
			p[1] = 12;
		fix_sum(t, len, 9);
		log = acpi_init_log((uint64_t)a->rsdp);
		if (!strstr(log, "acpi: MADT entry at offset 56 runs past the "
				 "end of the table; the rest of the MADT "
				 "ignored\n"))
			fail_msg("log:\n%s", log);
		assert_int_equal(acpi_nioapics, 1);
	}
	guarded_free(end);
	ioa[0].phys = ioa[1].phys = 0;
	free(a);
}

/* no MADT, or one that lists no I/O APIC: one line each, nothing mapped */
static void test_ioapic_none(void **st)
{
	struct fake_acpi *a = acpi_build();
	acpi_init((uint64_t)a->rsdp);
	assert_string_equal(logged(ioapic_mask_all_arg, 0),
			    "ioapic: no MADT; I/O APICs unknown, left as "
			    "firmware set them\n");
	uint8_t t[44];
	madt_start(a, t, sizeof(t));
	fix_sum(t, sizeof(t), 9);
	acpi_init((uint64_t)a->rsdp);
	assert_string_equal(
	    logged(ioapic_mask_all_arg, 0),
	    "ioapic: the MADT lists no I/O APIC; none masked\n");
	free(a);
}

/* A version register claiming more entries than IOREGSEL's 8 bits reach
 * (82093AA datasheet §3.2.2: maximum redirection entry, bits 16-23, here
 * 255): only the first IOAPIC_MAX_ENTRIES (120) are masked, said in one
 * line; a register number past 0xff would wrap onto the ID, version and
 * arbitration registers (0x00-0x02), which are never written */
static void test_ioapic_entries_past_IOAPIC_MAX_ENTRIES_not_reached(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t t[44 + 12 + 12];
	uint8_t *p = madt_ioapic(madt_start(a, t, sizeof(t)), 1, IOAPIC_A, 0);
	madt_ioapic(p, 2, IOAPIC_B, 120); /* exactly 120: no such line */
	fix_sum(t, sizeof(t), 9);
	ioapic_model(&ioa[0], IOAPIC_A, 120);
	ioapic_model(&ioa[1], IOAPIC_B, 120);
	ioa[0].reg[0] = 1u << 24; /* ID 1 */
	ioa[0].reg[1] = 0x20 | 0xffu << 16;
	for (unsigned i = 0; i < 120; i++)
		ioa[0].reg[0x10 + 2 * i] = 0x30 + i; /* unmasked */
	acpi_init((uint64_t)a->rsdp);
	const char *log = logged(ioapic_mask_all_arg, 0);
	if (!strstr(log, "ioapic 1 at 0xfec00000: claims 256 entries; the "
			 "first 120 (all IOREGSEL reaches) masked\n") ||
	    !strstr(log, "ioapic 1 at 0xfec00000: GSI 0-119, 120 entries, 120 "
			 "found unmasked; all masked\n"))
		fail_msg("log:\n%s", log);
	if (strstr(log, "ioapic 2 at 0xfec01000: claims") ||
	    !strstr(log, "ioapic 2 at 0xfec01000: GSI 120-239, 120 entries, 0 "
			 "found unmasked; all masked\n"))
		fail_msg("log:\n%s", log);
	for (unsigned i = 0; i < 120; i++)
		assert_int_equal(ioa[0].reg[0x10 + 2 * i], 0x10030 + i);
	assert_int_equal(ioa[0].reg[0], 1u << 24);
	assert_int_equal(ioa[0].bad + ioa[1].bad, 0);
	ioa[0].phys = ioa[1].phys = 0;
	free(a);
}

/* past the first IOAPIC_LINES I/O APICs, one whose version register reads
 * all ones (nothing answers) is counted among those left as firmware set
 * them in the one line about the rest, and nothing is written to it */
static void test_ioapic_silent_past_IOAPIC_LINES_counted(void **st)
{
	struct fake_acpi *a = acpi_build();
	const unsigned n = 8 + 2; /* IOAPIC_LINES (8), and two more */
	uint8_t t[44 + 12 * 10];
	uint8_t *p = madt_start(a, t, sizeof(t));
	for (unsigned i = 0; i < n; i++) /* the first 8 cannot be mapped */
		p = madt_ioapic(p, (uint8_t)(i + 1),
				i == n - 2   ? IOAPIC_A
				: i == n - 1 ? IOAPIC_B
					     : 0xfec10000u + i * 0x1000,
				24 * i);
	fix_sum(t, sizeof(t), 9);
	ioapic_model(&ioa[0], IOAPIC_A, 120); /* and claims 256 */
	ioa[0].reg[1] = 0x20 | 0xffu << 16;
	ioapic_model(&ioa[1], IOAPIC_B, 8);
	ioa[1].reg[1] = 0xffffffffu;
	ioa[1].reg[0x10] = 0x41; /* unmasked, and to stay so */
	acpi_init((uint64_t)a->rsdp);
	const char *log = logged(ioapic_mask_all_arg, 0);
	unsigned lines = 0;
	for (const char *c = log; *c; c++)
		lines += *c == '\n';
	if (lines != 8 + 1 ||
	    !strstr(log, "ioapic: 2 more I/O APICs: 120 entries, 0 found "
			 "unmasked, 0 of them will not mask; 1 left as "
			 "firmware set them\n"))
		fail_msg("%u lines:\n%s", lines, log);
	/* among the first IOAPIC_LINES, the same is its own line */
	uint8_t t2[44 + 12];
	madt_ioapic(madt_start(a, t2, sizeof(t2)), 3, IOAPIC_B, 0);
	fix_sum(t2, sizeof(t2), 9);
	acpi_init((uint64_t)a->rsdp);
	log = logged(ioapic_mask_all_arg, 0);
	if (strcmp(log, "ioapic 3 at 0xfec01000: version register reads all "
			"ones (nothing answers); left alone\n"))
		fail_msg("log:\n%s", log);
	assert_int_equal(ioa[1].reg[0x10], 0x41);
	assert_int_equal(ioa[0].bad + ioa[1].bad, 0);
	ioa[0].phys = ioa[1].phys = 0;
	free(a);
}

/* A memory BAR may not lie on the register pages of the platform's own
 * devices the ACPI tables name (acpi_platform): an I/O APIC and the local
 * APIC (MADT, here moved by its override entry), the HPET, a VT-d unit
 * (DMAR; its Size field makes it two pages). A driver's window there
 * would reach the I/O APIC's or the remapping unit's registers. Such a
 * BAR is refused as the others are: one line, memory decode off; a BAR
 * sharing a page with one is refused too (a window maps whole pages), one
 * right after a range is kept. Before, only RAM, ECAM and the interrupt
 * range were checked. */
static void test_pci_bar_on_platform_registers_refused(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t m[44 + 12 + 12], h[56], d[48 + 16];
	uint8_t *p = madt_ioapic(madt_start(a, m, sizeof(m)), 1, IOAPIC_A, 0);
	uint64_t la = 0xfed40000, hb = 0xfed00000, vb = 0xfed90000;
	p[0] = 5, p[1] = 12;
	memcpy(p + 4, &la, 8);
	fix_sum(m, sizeof(m), 9);
	sdt(h, "HPET", sizeof(h));
	memcpy(h + 44, &hb, 8);
	fix_sum(h, sizeof(h), 9);
	sdt(d, "DMAR", sizeof(d));
	d[36] = 38;		    /* HAW - 1 */
	d[48] = 0, d[50] = 16;	    /* DRHD, 16 bytes */
	d[48 + 5] = 1;		    /* Size: 2^1 pages */
	memcpy(d + 48 + 8, &vb, 8); /* register base */
	fix_sum(d, sizeof(d), 9);
	uint32_t xl = 36 + 8 * 4;
	memcpy(a->xsdt + 4, &xl, 4);
	uint64_t tp[4] = {(uint64_t)a->mcfg, (uint64_t)m, (uint64_t)h,
			  (uint64_t)d};
	memcpy(a->xsdt + 36, tp, sizeof(tp));
	fix_sum(a->xsdt, xl, 9);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_nplatform, 4);
	assert_int_equal(acpi_platform[3].lo, 0xfed90000);
	assert_int_equal(acpi_platform[3].hi, 0xfed91fff);

	ecam_seg(0, 0);
	struct fake_fn *f[7];
	for (unsigned i = 0; i < 7; i++)
		f[i] = fn_at(0, i + 1, 0, 0);
	fn_bar(f[0], 0, 0xfec00000, 0x1000); /* the I/O APIC */
	f[0]->cfg[PCI_COMMAND] = PCI_COMMAND_MEM;
	fn_bar(f[1], 0, 0xfec00800, 0x800);  /* its page */
	fn_bar(f[2], 0, 0xfed40000, 0x1000); /* the local APIC, moved */
	fn_bar(f[3], 0, 0xfed00000, 0x1000); /* the HPET */
	fn_bar(f[4], 0, 0xfed91000, 0x1000); /* the unit's second page */
	fn_bar(f[5], 0, 0xfed92000, 0x1000); /* after it: kept */
	fn_bar(f[6], 0, 0xfec01000, 0x1000); /* after the I/O APIC: kept */
	pci_host_cfg_written = fns_bar_model;
	const char *log = logged(pci_init_arg, 0);
	pci_host_cfg_written = NULL;
	assert_int_equal(pci_ndevs, 7);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(pci_devs[i].bar[0].size, 0);
	assert_int_equal(pci_devs[5].bar[0].size, 0x1000);
	assert_int_equal(pci_devs[6].bar[0].size, 0x1000);
	assert_false(f[0]->cfg[PCI_COMMAND] & PCI_COMMAND_MEM);
	static const char *const want[] = {
	    "pci 0000:00:01.0: BAR0 [0xfec00000, +0x1000) overlaps the I/O "
	    "APIC registers at 0xfec00000; ignored\n",
	    "pci 0000:00:02.0: BAR0 [0xfec00800, +0x800) overlaps the I/O "
	    "APIC registers at 0xfec00000; ignored\n",
	    "pci 0000:00:03.0: BAR0 [0xfed40000, +0x1000) overlaps the local "
	    "APIC registers at 0xfed40000; ignored\n",
	    "pci 0000:00:04.0: BAR0 [0xfed00000, +0x1000) overlaps the HPET "
	    "registers at 0xfed00000; ignored\n",
	    "pci 0000:00:05.0: BAR0 [0xfed91000, +0x1000) overlaps the VT-d "
	    "unit registers at 0xfed90000; ignored\n",
	    "pci 0000:00:01.0: memory decode turned off: a BAR of it was "
	    "refused\n"};
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(log, want[i]))
			fail_msg("expected \"%s\" in:\n%s", want[i], log);
	acpi_init(0);
	free(a);
}

static void platform_lapic_arg(uint64_t base)
{
	acpi_platform_lapic(base);
}

/* The local APIC the CPU decodes is where IA32_APIC_BASE puts it, which
 * need not be the MADT's address: lapic_init reports it, and a base off
 * the MADT's page joins acpi_platform too (one line; reporting it again
 * says and adds nothing), so a BAR there is refused as one on the MADT's
 * is. The MADT's own page adds nothing; with no MADT the base is added
 * quietly. Before, only the MADT's address was held against BARs. */
static void test_lapic_msr_base_kept_from_bars(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t t[44];
	madt_start(a, t, sizeof(t));
	fix_sum(t, sizeof(t), 9);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_nplatform, 1);
	assert_string_equal(logged(platform_lapic_arg, 0xfee00000), "");
	assert_int_equal(acpi_nplatform, 1);
	assert_string_equal(
	    logged(platform_lapic_arg, 0xfed40000),
	    "acpi: local APIC at 0xfed40000 by IA32_APIC_BASE, at 0xfee00000 "
	    "by the MADT; PCI BARs are kept off both\n");
	assert_string_equal(logged(platform_lapic_arg, 0xfed40000), "");
	assert_int_equal(acpi_nplatform, 2);
	const struct acpi_range *r = acpi_platform_at(0xfed40800, 0xfed40fff);
	assert_non_null(r);
	assert_string_equal(r->what, "local APIC");
	assert_non_null(acpi_platform_at(0xfee00000, 0xfee00000));
	assert_null(acpi_platform_at(0xfed41000, 0xfed41000));

	acpi_build_into(a);
	acpi_init((uint64_t)a->rsdp); /* no MADT */
	assert_int_equal(acpi_nplatform, 0);
	assert_string_equal(logged(platform_lapic_arg, 0xfee00000), "");
	assert_non_null(acpi_platform_at(0xfee00fff, 0xfee00fff));
	acpi_init(0);
	free(a);
}

static uint8_t *xsdt_of(struct fake_acpi *a, const uint64_t *t, unsigned n);

/* tables below 4 GiB, where an RSDT's 32-bit entries can point: the
 * fake's tables, an RSDT listing them (MCFG, FACP, JUNK) and the RSDP
 * naming it beside the XSDT */
struct low_acpi {
	struct fake_acpi a;
	uint8_t rsdt[36 + 4 * 3];
};

static void low_acpi_build_into(struct low_acpi *l)
{
	acpi_build_into(&l->a);
	sdt(l->rsdt, "RSDT", sizeof(l->rsdt));
	uint32_t p[3] = {(uint32_t)(uintptr_t)l->a.mcfg,
			 (uint32_t)(uintptr_t)l->a.fadt,
			 (uint32_t)(uintptr_t)l->a.junk};
	memcpy(l->rsdt + 36, p, sizeof(p));
	fix_sum(l->rsdt, sizeof(l->rsdt), 9);
	uint32_t r = (uint32_t)(uintptr_t)l->rsdt;
	memcpy(l->a.rsdp + 16, &r, 4);
	fix_sum(l->a.rsdp, 20, 8);
	fix_sum(l->a.rsdp, 36, 32);
}

static struct low_acpi *low_acpi_build(void)
{
	struct low_acpi *l =
	    mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	assert_true(l != MAP_FAILED);
	assert_true((uint64_t)(uintptr_t)l + sizeof(*l) <= UINT32_MAX);
	low_acpi_build_into(l);
	return l;
}

/* A revision-2 RSDP names an XSDT and an RSDT. A good XSDT is the root
 * (ACPI 6.5 §5.2.5.3), the RSDT not read. One that is not usable — its
 * signature wrong, too short to list a table, an absurd length, a failing
 * checksum, or no entry that is a table capOS can read — gives way to the
 * RSDT, said in one line, as ACPICA's acpi_tb_validate_xsdt did (before,
 * capOS then ran with no ACPI tables at all) */
static void test_acpi_xsdt_bad_rsdt_used(void **st)
{
	static const struct {
		unsigned what;
		const char *why;
	} c[] = {
	    {0, "XSDT at 0x%lx has the signature XSDX"},
	    {1, "XSDT at 0x%lx lists no table"},
	    {2, "table XSDT at 0x%lx has bad length 2147483647"},
	    {3, "table XSDT at 0x%lx fails its checksum"},
	    {4, "XSDT at 0x%lx lists no table that can be read (of its first 3 "
		"entries)"},
	};
	struct low_acpi *l = low_acpi_build();
	struct fake_acpi *a = &l->a;
	uint64_t x = (uint64_t)(uintptr_t)a->xsdt;
	char want[512], why[256];
	/* a good XSDT is used: nothing said but the list */
	assert_string_equal(acpi_init_log((uint64_t)(uintptr_t)a->rsdp),
			    "acpi: XSDT with 3 tables: MCFG FACP JUNK\n");
	for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
		low_acpi_build_into(l);
		uint32_t len;
		switch (c[i].what) {
		case 0:
			a->xsdt[3] = 'X';
			break;
		case 1:
			len = 36;
			memcpy(a->xsdt + 4, &len, 4);
			break;
		case 2:
			len = 0x7fffffff;
			memcpy(a->xsdt + 4, &len, 4);
			break;
		case 3:
			a->xsdt[40] ^= 0x55;
			break;
		case 4:
			memset(a->xsdt + 36, 0, 8 * 2);	    /* 0, 0, a table */
			memset(a->xsdt + 36 + 16, 0xff, 8); /* unreadable */
			fw_add(l, sizeof(*l));
			break;
		}
		if (c[i].what != 2 && c[i].what != 3) /* its sum holds */
			fix_sum(a->xsdt, c[i].what == 1 ? 36 : 36 + 8 * 3, 9);
		snprintf(why, sizeof(why), c[i].why, (unsigned long)x);
		snprintf(want, sizeof(want),
			 "acpi: %s; the RSDT at 0x%lx is used instead\n"
			 "acpi: RSDT with 3 tables: MCFG FACP JUNK\n",
			 why, (unsigned long)(uintptr_t)l->rsdt);
		assert_string_equal(acpi_init_log((uint64_t)(uintptr_t)a->rsdp),
				    want);
		assert_int_equal(acpi_find("MCFG"),
				 (uint64_t)(uintptr_t)a->mcfg);
		assert_int_equal(acpi_necam, 1);
		assert_int_equal(acpi_pm_timer_port, 0x608);
		acpi_earlier_boot(st);
	}
	munmap(l, sizeof(*l));
}

/* Both roots unusable: no tables, nothing of the earlier call kept, and
 * two lines whatever is wrong with them (the XSDT's, then the RSDT's) */
static void test_acpi_xsdt_and_rsdt_bad(void **st)
{
	struct low_acpi *l = low_acpi_build();
	struct fake_acpi *a = &l->a;
	a->xsdt[40] ^= 0x55;
	l->rsdt[3] = 'X';
	fix_sum(l->rsdt, sizeof(l->rsdt), 9);
	char want[512];
	snprintf(want, sizeof(want),
		 "acpi: table XSDT at 0x%lx fails its checksum; ignored\n"
		 "acpi: RSDT at 0x%lx has the signature RSDX; running without "
		 "ACPI\n",
		 (unsigned long)(uintptr_t)a->xsdt,
		 (unsigned long)(uintptr_t)l->rsdt);
	assert_string_equal(acpi_init_log((uint64_t)(uintptr_t)a->rsdp), want);
	assert_acpi_empty();
	/* an RSDT of 0 entries and a 1 MiB XSDT of unreadable ones */
	acpi_earlier_boot(st);
	uint32_t len = 36;
	l->rsdt[3] = 'T';
	memcpy(l->rsdt + 4, &len, 4);
	fix_sum(l->rsdt, len, 9);
	uint64_t *t = calloc(1, 1u << 20);
	for (unsigned i = 0; i < ((1u << 20) - 36) / 8; i++)
		t[i] = 0x10;
	uint8_t *x = xsdt_of(a, t, ((1u << 20) - 36) / 8);
	fw_add(x, 36 + 8 * (((1u << 20) - 36) / 8));
	fw_add(l, sizeof(*l));
	const char *log = acpi_init_log((uint64_t)(uintptr_t)a->rsdp);
	snprintf(want, sizeof(want),
		 "acpi: XSDT at 0x%lx lists no table that can be read (of its "
		 "first 64 entries); ignored\n"
		 "acpi: RSDT at 0x%lx lists no table; running without ACPI\n",
		 (unsigned long)(uintptr_t)x,
		 (unsigned long)(uintptr_t)l->rsdt);
	assert_string_equal(log, want);
	assert_acpi_empty();
	free(x);
	free(t);
	munmap(l, sizeof(*l));
}

/* The FADT's X_PM_TMR_BLK (a Generic Address Structure) supersedes
 * PM_TMR_BLK when its address is not 0. capOS reads the PM timer with inl,
 * as Linux's acpi_pm does: one in system memory (or any space but system
 * I/O), not 32 (or 24) bits wide, with a nonzero bit offset (the counter
 * not at bit 0 of the port: an inl would read it shifted; before, that was
 * taken), read other than as a dword, or past port 0xfffc is refused with
 * one line and there is no PM timer (PM_TMR_BLK,
 * 0x608 here, is not read: the spec has it ignored). Before, such an
 * X_PM_TMR_BLK fell back quietly to PM_TMR_BLK. One at address 0 with its
 * other fields set is said and PM_TMR_BLK read; PM_TMR_BLK with PM_TMR_LEN
 * other than 4 or past 0xfffc is said and refused (before: quietly) */
static void test_acpi_pm_timer_gas(void **st)
{
	static const struct {
		uint8_t space, width, offset, access;
		uint64_t addr;
		uint8_t pm_len;
		uint32_t pm;
		uint16_t port;
		const char *line;
	} c[] = {
	    {1, 32, 0, 0, 0x408, 4, 0x608, 0x408, ""},
	    {1, 32, 0, 3, 0x408, 4, 0x608, 0x408, ""},
	    {1, 24, 0, 3, 0x408, 4, 0x608, 0x408, ""},
	    {0, 0, 0, 0, 0, 4, 0x608, 0x608, ""},
	    {0, 32, 0, 3, 0xfed80008, 4, 0x608, 0,
	     "acpi: FADT X_PM_TMR_BLK at 0xfed80008 (address space 0, 32 "
	     "bits, access size 3) is in system memory (capOS, as Linux, reads "
	     "the PM timer only from an I/O port); no PM timer\n"},
	    {2, 32, 0, 3, 0x408, 4, 0x608, 0,
	     "acpi: FADT X_PM_TMR_BLK at 0x408 (address space 2, 32 bits, "
	     "access size 3) is in neither system I/O nor system memory; no "
	     "PM timer\n"},
	    {1, 16, 0, 0, 0x408, 4, 0x608, 0,
	     "acpi: FADT X_PM_TMR_BLK at 0x408 (address space 1, 16 bits, "
	     "access size 0) is not a 32-bit (or 24-bit) register; no PM "
	     "timer\n"},
	    {1, 32, 0, 1, 0x408, 4, 0x608, 0,
	     "acpi: FADT X_PM_TMR_BLK at 0x408 (address space 1, 32 bits, "
	     "access size 1) is not read as a dword; no PM timer\n"},
	    {1, 32, 8, 3, 0x408, 4, 0x608, 0,
	     "acpi: FADT X_PM_TMR_BLK at 0x408 (address space 1, 32 bits, "
	     "access size 3) has bit offset 8 (the counter is not at bit 0 "
	     "of the port); no PM timer\n"},
	    {1, 24, 1, 0, 0x408, 4, 0x608, 0,
	     "acpi: FADT X_PM_TMR_BLK at 0x408 (address space 1, 24 bits, "
	     "access size 0) has bit offset 1 (the counter is not at bit 0 "
	     "of the port); no PM timer\n"},
	    {1, 32, 0, 3, 0x10008, 4, 0x608, 0,
	     "acpi: FADT X_PM_TMR_BLK at 0x10008 (address space 1, 32 bits, "
	     "access size 3) is past I/O port 0xfffc; no PM timer\n"},
	    {1, 32, 0, 3, 0, 4, 0x608, 0x608,
	     "acpi: FADT X_PM_TMR_BLK (address space 1, 32 bits) has address "
	     "0; PM_TMR_BLK read instead\n"},
	    {0, 0, 0, 0, 0, 2, 0x608, 0,
	     "acpi: FADT PM_TMR_BLK at 0x608 (PM_TMR_LEN 2) has PM_TMR_LEN "
	     "other than 4; no PM timer\n"},
	    {0, 0, 0, 0, 0, 4, 0xfffe, 0,
	     "acpi: FADT PM_TMR_BLK at 0xfffe (PM_TMR_LEN 4) is past I/O port "
	     "0xfffc; no PM timer\n"},
	    {0, 0, 0, 0, 0, 0, 0, 0, ""},
	};
	struct fake_acpi *a = acpi_build();
	for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
		uint8_t *f = a->fadt;
		f[208] = c[i].space;
		f[209] = c[i].width;
		f[210] = c[i].offset;
		f[211] = c[i].access;
		memcpy(f + 212, &c[i].addr, 8);
		memcpy(f + 76, &c[i].pm, 4);
		f[91] = c[i].pm_len;
		fix_sum(f, sizeof(a->fadt), 9);
		char want[512];
		snprintf(want, sizeof(want),
			 "%sacpi: XSDT with 3 tables: MCFG FACP JUNK\n",
			 c[i].line);
		assert_string_equal(acpi_init_log((uint64_t)a->rsdp), want);
		if (acpi_pm_timer_port != c[i].port)
			fail_msg("case %u: port 0x%x, not 0x%x", i,
				 acpi_pm_timer_port, c[i].port);
		assert_int_equal(acpi_nplatform, 0); /* no range for it */
	}
	free(a);
}

/* The HPET's Base Address is a Generic Address Structure: one in system
 * I/O or PCI configuration space (space id 1, 2) is no memory address,
 * and one off an 8-byte boundary splits every 64-bit register read
 * (tsc.c). Either, or address 0, is refused with one line and no HPET is
 * used (the clock falls back as without one) or held against BARs. A
 * second good HPET (another timer block) is kept from BARs; the first is
 * the clock. Before, the address was read whatever the space. */
static void test_acpi_hpet_not_in_memory_refused(void **st)
{
	static const struct {
		uint8_t space;
		uint64_t base;
		const char *line;
	} c[] = {
	    {1, 0xfed00000,
	     "acpi: HPET at 0xfed00000 (address space 1) is not in system "
	     "memory; ignored\n"},
	    {2, 0xfed00000,
	     "acpi: HPET at 0xfed00000 (address space 2) is not in system "
	     "memory; ignored\n"},
	    {0, 0xfed00004,
	     "acpi: HPET at 0xfed00004 (address space 0) is not 8-byte "
	     "aligned; ignored\n"},
	    {0, 0,
	     "acpi: HPET at 0x0 (address space 0) is at address 0; "
	     "ignored\n"},
	};
	struct fake_acpi *a = acpi_build();
	uint8_t h[56], h2[56];
	for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
		sdt(h, "HPET", sizeof(h));
		h[40] = c[i].space;
		h[41] = 64;
		memcpy(h + 44, &c[i].base, 8);
		fix_sum(h, sizeof(h), 9);
		xsdt_point(a, 2, h);
		char want[256];
		snprintf(want, sizeof(want),
			 "%sacpi: XSDT with 3 tables: MCFG FACP HPET\n",
			 c[i].line);
		assert_string_equal(acpi_init_log((uint64_t)a->rsdp), want);
		assert_int_equal(acpi_hpet_base, 0);
		assert_int_equal(acpi_nplatform, 0);
		assert_non_null(acpi_find("HPET"));
	}
	/* two good ones: the first is the clock, both are held */
	sdt(h, "HPET", sizeof(h));
	sdt(h2, "HPET", sizeof(h2));
	uint64_t b1 = 0xfed00000, b2 = 0xfed01000;
	memcpy(h + 44, &b1, 8);
	memcpy(h2 + 44, &b2, 8);
	fix_sum(h, sizeof(h), 9);
	fix_sum(h2, sizeof(h2), 9);
	xsdt_point(a, 1, h);
	xsdt_point(a, 2, h2);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_hpet_base, 0xfed00000);
	assert_int_equal(acpi_nplatform, 2);
	assert_non_null(acpi_platform_at(0xfed01000, 0xfed01000));
	acpi_init(0);
	free(a);
}

/* the RSDP of a now points at a new XSDT listing the n tables at t[] (to
 * free with the fake); returns it */
static uint8_t *xsdt_of(struct fake_acpi *a, const uint64_t *t, unsigned n)
{
	uint32_t len = 36 + 8 * n;
	uint8_t *x = malloc(len);
	sdt(x, "XSDT", len);
	memcpy(x + 36, t, 8 * n);
	fix_sum(x, len, 9);
	uint64_t xp = (uint64_t)x;
	memcpy(a->rsdp + 24, &xp, 8);
	fix_sum(a->rsdp, 36, 32);
	return x;
}

static unsigned count_of(const char *log, const char *s)
{
	unsigned n = 0;
	for (const char *p = log; (p = strstr(p, s)); p++)
		n++;
	return n;
}

/* The root table is the firmware's: one listing more than
 * ACPI_MAX_TABLES entries has only the first 64 read, said in one line
 * (before, every entry was checked: 131069 entries of a 1 MiB XSDT, each
 * a line and up to a 1 MiB checksum; here 100 unmapped pointers were 100
 * lines). A pointer listed twice is read once; a second MADT (or MCFG,
 * FADT, DMAR) is ignored with one line, the first used, as Linux reads
 * instance 0 (before, both were parsed: the I/O APIC twice, the second
 * MADT's own I/O APIC and local APIC kept). */
static void test_acpi_root_bounded_and_repeats_ignored(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint64_t t[100];
	for (unsigned i = 0; i < 100; i++)
		t[i] = 0x10;	  /* outside the firmware memory below */
	t[0] = (uint64_t)a->fadt; /* one it can read: the XSDT is usable */
	fw_add(a, sizeof(*a));
	uint8_t *x = xsdt_of(a, t, 100);
	fw_add(x, 36 + 8 * 100);
	const char *log = acpi_init_log((uint64_t)a->rsdp);
	if (!strstr(log, "acpi: XSDT lists 100 tables; the 36 after the "
			 "first 64 ignored\n"))
		fail_msg("no cut line in:\n%s", log);
	assert_int_equal(count_of(log, "is outside the firmware memory"), 63);
	free(x);

	uint8_t m1[44 + 12], m2[44 + 12];
	madt_ioapic(madt_start(a, m1, sizeof(m1)), 1, IOAPIC_A, 0);
	fix_sum(m1, sizeof(m1), 9);
	madt_ioapic(madt_start(a, m2, sizeof(m2)), 2, IOAPIC_B, 24);
	uint32_t la2 = 0xfee10000;
	memcpy(m2 + 36, &la2, 4);
	fix_sum(m2, sizeof(m2), 9);
	uint64_t r[4] = {(uint64_t)a->fadt, (uint64_t)m1, (uint64_t)m1,
			 (uint64_t)m2};
	nfw = 0;
	x = xsdt_of(a, r, 4);
	log = acpi_init_log((uint64_t)a->rsdp);
	char want[160];
	snprintf(want, sizeof(want),
		 "acpi: table APIC at 0x%lx is listed twice; read once\n",
		 (unsigned long)(uintptr_t)m1);
	if (!strstr(log, want))
		fail_msg("expected \"%s\" in:\n%s", want, log);
	snprintf(want, sizeof(want),
		 "acpi: a second APIC at 0x%lx; ignored (the first, at 0x%lx, "
		 "is used)\n",
		 (unsigned long)(uintptr_t)m2, (unsigned long)(uintptr_t)m1);
	if (!strstr(log, want))
		fail_msg("expected \"%s\" in:\n%s", want, log);
	assert_int_equal(acpi_find("APIC"), (uint64_t)m1);
	assert_int_equal(acpi_nioapics, 1);
	assert_int_equal(acpi_ioapics[0].base, IOAPIC_A);
	assert_int_equal(acpi_nplatform, 2); /* its I/O APIC and local APIC */
	assert_null(acpi_platform_at(0xfee10000, 0xfee10000));
	assert_null(acpi_platform_at(IOAPIC_B, IOAPIC_B));
	acpi_init(0);
	free(x);
	free(a);
}

/* A table's entries are the firmware's too: a MADT of ACPI_MAX_IOAPICS +
 * 23 I/O APICs, the second at the first's address (refused: before, kept
 * twice) and 22 past the ACPI_MAX_IOAPICS kept, has its 23 refusals said
 * in ACPI_TABLE_LINES (8) lines and one more counting the rest (before,
 * 23 lines: a 1 MiB MADT of bad entries would be 87381); a DMAR of
 * ACPI_MAX_PLATFORM units overflows acpi_platform in one line, not one
 * per unit; a signature's
 * bytes that are not printable ASCII are printed as '?', never raw. */
static void test_acpi_table_lines_bounded(void **st)
{
	struct fake_acpi *a = acpi_build();
	enum { NIO = ACPI_MAX_IOAPICS + 22, NDRHD = ACPI_MAX_PLATFORM };
	static uint8_t m[44 + 12 * (NIO + 1)];
	uint8_t *p = madt_start(a, m, sizeof(m));
	p = madt_ioapic(p, 0, 0xfec00000, 0);
	for (unsigned i = 0; i < NIO; i++)
		p = madt_ioapic(p, (uint8_t)i, 0xfec00000 + 0x1000 * i, 24 * i);
	fix_sum(m, sizeof(m), 9);
	static uint8_t d[48 + 16 * NDRHD];
	sdt(d, "DMAR", sizeof(d));
	d[36] = 38;
	for (unsigned i = 0; i < NDRHD; i++) {
		uint8_t *u = d + 48 + 16 * i;
		uint64_t b = 0xd0000000 + 0x1000 * i;
		u[2] = 16;
		memcpy(u + 8, &b, 8);
	}
	fix_sum(d, sizeof(d), 9);
	uint8_t e[36];
	sdt(e, "\x1b[2J", sizeof(e)); /* a terminal's clear-screen */
	e[20] = 1;		      /* and a bad checksum */
	uint64_t r[3] = {(uint64_t)m, (uint64_t)d, (uint64_t)e};
	uint8_t *x = xsdt_of(a, r, 3);
	const char *log = acpi_init_log((uint64_t)a->rsdp);
	/* 23 refused: the repeat, then 22 past the ACPI_MAX_IOAPICS kept */
	assert_int_equal(count_of(log, "has an earlier one's address"), 1);
	assert_int_equal(count_of(log, "past the I/O APICs capOS keeps"), 7);
	char want[160];
	snprintf(want, sizeof(want),
		 "acpi: APIC at 0x%lx: 15 more lines like those not "
		 "printed\n",
		 (unsigned long)(uintptr_t)m);
	if (!strstr(log, want))
		fail_msg("expected \"%s\" in:\n%s", want, log);
	assert_int_equal(count_of(log, "platform register ranges"), 1);
	/* a large server's I/O APICs are all kept, so all are masked (as
	 * many as Linux keeps on x86-64; eight before, the rest unmasked) */
	assert_true(acpi_nioapics >= 128);
	assert_int_equal(acpi_nioapics, ACPI_MAX_IOAPICS);
	for (unsigned i = 1; i < ACPI_MAX_IOAPICS; i++)
		assert_int_equal(acpi_ioapics[i].base, 0xfec00000 + 0x1000 * i);
	assert_int_equal(acpi_nplatform, ACPI_MAX_PLATFORM);
	assert_non_null(strstr(log, "acpi: table ?[2J at 0x"));
	for (const char *c = log; *c; c++)
		assert_true(*c == '\n' || (*c >= 0x20 && *c < 0x7f));
	acpi_init(0);
	free(x);
	free(a);
}

/* ---- the tests that kill make mutate's survivors in kernel/pci --------- */

/* PCIe Base 5.0 §7.2.2: a function's ECAM is 4096 bytes; its last word
 * (0xffe) and last dword (0xffc) are read and written like any other,
 * only accesses past the end or misaligned are refused */
static void test_pci_cfg_last_word_of_ecam(void **st)
{
	static uint8_t c[4096];
	struct pci_dev d = {.cfg = c};
	memset(c, 0, sizeof(c));
	pci_cfg_write32(&d, 4092, 0x11223344u);
	assert_int_equal(pci_cfg_read32(&d, 4092), 0x11223344u);
	assert_int_equal(pci_cfg_read16(&d, 4094), 0x1122);
	pci_cfg_write16(&d, 4094, 0xabcd);
	assert_int_equal(c[4094], 0xcd);
	assert_int_equal(pci_cfg_read8(&d, 4095), 0xab);
	assert_int_equal(pci_cfg_read16(&d, 4094), 0xabcd);
}

/* PCI Firmware 3.3 §4.1.2: the MCFG entries acpi_parse_mcfg kept
 * (acpi_necam) are the ECAM; a slot of acpi_ecam past them, whatever it
 * holds, is none. A bridge to bus 1, which only that stale slot names,
 * is not followed (one line), and bus 1's function is not found */
static void test_pci_mcfg_slots_past_the_count_ignored(void **st)
{
	ecam_seg(0, 0);
	acpi_ecam[1] = (struct acpi_mcfg_seg){
	    .base = ECAM_BASE, .seg = 0, .bus_start = 1, .bus_end = 1};
	fn_at(0, 1, 0, 1);
	fn_at(1, 0, 0, 0);
	const char *log = logged(pci_init_arg, 0);
	memset(&acpi_ecam[1], 0, sizeof(acpi_ecam[1]));
	assert_int_equal(pci_ndevs, 1);
	assert_int_equal(found(1, 0, 0), 0);
	if (!strstr(log, "pci 0000:00:01.0: bridge to bus 1: in no MCFG entry "
			 "of the segment; not followed\n"))
		fail_msg("log:\n%s", log);
}

/* PCI 3.0 §6.2.1: Vendor ID and Device ID as read (the ID dword's low
 * and high halves), and one "bar" line per implemented BAR, its kind,
 * base and size, the lines tests/qemu holds against QEMU's `info pci` */
static void test_pci_ids_and_bar_lines(void **st)
{
	ecam_seg(0, 0);
	struct fake_fn *f = fn_at(0, 1, 0, 0);
	fn_id(f, 0x10d38086u);
	fn_bar(f, 0, 0xfe100000u, 0x1000);
	uint32_t io = 0xc001, lo64 = 0xfe11000cu;
	memcpy(f->cfg + PCI_BAR0 + 4, &io, 4);
	f->bar_mask[1] = 0xffffffe1u;
	memcpy(f->cfg + PCI_BAR0 + 8, &lo64, 4);
	f->bar_mask[2] = 0xffff000cu;
	f->bar_mask[3] = 0xffffffffu;
	pci_host_cfg_written = fns_bar_model;
	const char *log = logged(pci_init_arg, 0);
	pci_host_cfg_written = NULL;
	assert_int_equal(pci_ndevs, 1);
	assert_int_equal(pci_devs[0].vendor, 0x8086);
	assert_int_equal(pci_devs[0].device, 0x10d3);
	if (!strstr(log, "bar 0000:00:01.0 0 mem32 base=0xfe100000 "
			 "size=0x1000\n"
			 "bar 0000:00:01.0 1 io base=0xc000 size=0x20\n"
			 "bar 0000:00:01.0 2 mem64pf base=0xfe110000 "
			 "size=0x10000\n"))
		fail_msg("log:\n%s", log);
}

/* PCI 3.0 §6.8.2: an MSI-X table the kernel cannot map leaves the
 * function without MSI-X, its capability and its table size 0 (drivers
 * size their vectors by msix_size: gVNIC, virtio-net, the NVMe broker's
 * iv_max), one line */
static void test_pci_msix_table_unmapped_no_vectors(void **st)
{
	ecam_seg(0, 0);
	struct fake_fn *f = fn_at(0, 1, 0, 0);
	fn_bar(f, 0, 0xfc000000u, 0x1000); /* outside what mm_map_mmio maps */
	f->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	f->cfg[PCI_CAP_PTR] = 0x40;
	f->cfg[0x40] = PCI_CAP_ID_MSIX;
	f->cfg[0x40 + PCI_MSIX_FLAGS] = 3;
	f->cfg[0x40 + PCI_MSIX_PBA + 1] = 0x8;
	pci_host_cfg_written = fns_bar_model;
	const char *log = logged(pci_init_arg, 0);
	pci_host_cfg_written = NULL;
	assert_int_equal(pci_ndevs, 1);
	assert_int_equal(pci_devs[0].bar[0].size, 0x1000);
	assert_int_equal(pci_devs[0].cap_msix, 0);
	assert_int_equal(pci_devs[0].msix_size, 0);
	assert_null(pci_devs[0].msix_table);
	if (!strstr(log, "pci 0000:00:01.0: MSI-X table at 0xfc000000 cannot "
			 "be mapped; MSI-X unused\n"))
		fail_msg("log:\n%s", log);
}

/* /api/pci lists only the functions whose MSI-X entry writes failed */
static void test_pci_status_lists_only_failed_msix(void **st)
{
	pci_ndevs = 2;
	pci_devs[0] = (struct pci_dev){.dev = 1};
	pci_devs[1] = (struct pci_dev){.dev = 2, .msix_failed = 3};
	const struct status_provider *p = status_find("pci");
	assert_non_null(p);
	static char buf[512];
	struct json j;
	json_init(&j, buf, sizeof(buf));
	p->fn(&j);
	int n = json_end(&j);
	pci_ndevs = 0;
	assert_true(n > 0 && json_valid(buf, (size_t)n));
	assert_non_null(strstr(buf, "\"msix_failed\":[{\"addr\":\"0000:00:02."
				    "0\",\"writes\":3,\"function_mask\":"
				    "false}]"));
}

/* a function of 4 MSI-X entries whose table lies in bar_mem at 0xe000,
 * memory decode on; entry 0 unmasked with firmware's message */
static uint8_t *msix4_tbl;
static void msix4(struct pci_dev *d, uint8_t *c)
{
	memset(c, 0, 4096);
	c[PCI_COMMAND] = PCI_COMMAND_MEM;
	msix4_tbl = bar_mem + 0xe000;
	memset(msix4_tbl, 0, 5 * PCI_MSIX_ENTRY_SIZE);
	const uint32_t old[3] = {0xfee01000u, 0xffffffffu, 0x41};
	memcpy(msix4_tbl, old, sizeof(old));
	*d = (struct pci_dev){.cfg = c,
			      .dev = 7,
			      .cap_msix = 0x40,
			      .msix_size = 4,
			      .msix_table = (volatile uint32_t *)msix4_tbl};
}

/* pci.h: an entry past the table (i >= msix_size) is refused, false, and
 * nothing is written: not the bytes after the table, nor the Function
 * Mask, nor a failure counted */
static void test_pci_msix_entry_past_the_table_refused(void **st)
{
	static uint8_t c[4096];
	struct pci_dev d;
	msix4(&d, c);
	uint8_t *past = msix4_tbl + 4 * PCI_MSIX_ENTRY_SIZE;
	memset(past, 0x5a, PCI_MSIX_ENTRY_SIZE);
	const uint32_t msg[3] = {0xfee00000u, 0, 0x30};
	assert_false(pci_msix_entry_set(&d, 4, true, NULL));
	assert_false(pci_msix_entry_set(&d, 4, false, msg));
	assert_false(pci_msix_entry_set(&d, 0xffff, true, NULL));
	for (unsigned i = 0; i < PCI_MSIX_ENTRY_SIZE; i++)
		assert_int_equal(past[i], 0x5a);
	assert_int_equal(d.msix_failed, 0);
	assert_false(d.msix_fn_masked);
	assert_int_equal(c[0x40 + PCI_MSIX_FLAGS + 1], 0);
}

/* each address or data write of an entry, and whether its mask bit was
 * set when it landed */
static unsigned msg_writes, msg_writes_unmasked;
static void msg_write_seen(volatile uint32_t *p)
{
	uintptr_t o = (uintptr_t)p - (uintptr_t)msix4_tbl;
	if (o % PCI_MSIX_ENTRY_SIZE == PCI_MSIX_ENTRY_CTRL)
		return;
	msg_writes++;
	if (!(msix4_tbl[o - o % PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_CTRL] &
	      PCI_MSIX_ENTRY_CTRL_MASKBIT))
		msg_writes_unmasked++;
}

/* PCI 3.0 §6.8.3.5: software that changes an entry's Message Address or
 * Data while the entry is unmasked gets undefined results. The kernel
 * masks the entry before the three writes, all of which land (firmware's
 * upper address 0xffffffff becomes the message's 0), then unmasks it as
 * asked */
static void test_pci_msix_message_written_masked(void **st)
{
	static uint8_t c[4096];
	struct pci_dev d;
	msix4(&d, c);
	const uint32_t msg[3] = {0xfee00000u, 0, 0x30};
	msg_writes = msg_writes_unmasked = 0;
	pci_host_msix_written = msg_write_seen;
	bool ok = pci_msix_entry_set(&d, 0, false, msg);
	pci_host_msix_written = NULL;
	assert_true(ok);
	assert_int_equal(msg_writes, 3);
	assert_int_equal(msg_writes_unmasked, 0);
	assert_memory_equal(msix4_tbl, msg, sizeof(msg));
	assert_int_equal(msix4_tbl[PCI_MSIX_ENTRY_CTRL], 0);
	assert_int_equal(d.msix_failed, 0);
}

/* a table that drops the Message Data write only */
static void data_dropped(volatile uint32_t *p)
{
	uintptr_t o = (uintptr_t)p - (uintptr_t)msix4_tbl;
	if (o % PCI_MSIX_ENTRY_SIZE == PCI_MSIX_ENTRY_DATA)
		*p = 0x41;
}

/* an entry whose Message Address took but whose Message Data did not is
 * a write that failed (every word is read back, each on its own): left
 * masked, counted. Its old data with the new address would be another
 * vector */
static void test_pci_msix_message_read_back_whole(void **st)
{
	static uint8_t c[4096];
	struct pci_dev d;
	msix4(&d, c);
	msix4_tbl[4] = msix4_tbl[5] = msix4_tbl[6] = msix4_tbl[7] = 0;
	const uint32_t msg[3] = {0xfee00000u, 0, 0x30};
	pci_host_msix_written = data_dropped;
	bool ok = pci_msix_entry_set(&d, 0, false, msg);
	pci_host_msix_written = NULL;
	assert_false(ok);
	assert_int_equal(msix4_tbl[PCI_MSIX_ENTRY_CTRL],
			 PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(d.msix_failed, 1);
}

/* an MSI-X capability at 0x40 of f: size entries, table in BAR tbir at
 * toff, PBA in BAR pbir at poff */
static void fn_msix(struct fake_fn *f, unsigned size, uint32_t tbir,
		    uint32_t toff, uint32_t pbir, uint32_t poff)
{
	uint16_t ctl = (uint16_t)(size - 1);
	uint32_t t = toff | tbir, p = poff | pbir;
	f->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	f->cfg[PCI_CAP_PTR] = 0x40;
	f->cfg[0x40] = PCI_CAP_ID_MSIX;
	memcpy(f->cfg + 0x40 + PCI_MSIX_FLAGS, &ctl, 2);
	memcpy(f->cfg + 0x40 + PCI_MSIX_TABLE, &t, 4);
	memcpy(f->cfg + 0x40 + PCI_MSIX_PBA, &p, 4);
}

/* PCI 3.0 §6.8.2.4-5: the table (16 bytes an entry) lies at its offset
 * inside the memory BAR its BIR names. One that ends exactly at its BAR's
 * end is used, its offsets and the PBA's BIR and offset kept; one entry
 * past the end, a BIR of 6 or 7 (reserved), an I/O BAR or an
 * unimplemented one is `MSI-X table outside its BAR`: MSI-X unused, no
 * vectors, nothing mapped, and the bytes after the BAR (which a mask
 * would have written) untouched */
static void test_pci_msix_table_inside_its_bar(void **st)
{
	ecam_seg(0, 0);
	struct fake_fn *ok = fn_at(0, 1, 0, 0), *past = fn_at(0, 2, 0, 0),
		       *bir6 = fn_at(0, 3, 0, 0), *io = fn_at(0, 4, 0, 0),
		       *none = fn_at(0, 5, 0, 0);
	fn_bar(ok, 1, BAR_MEM_BASE + 0x1000, 0x1000);
	fn_bar(ok, 2, BAR_MEM_BASE + 0x2000, 0x1000);
	fn_msix(ok, 4, 1, 0x1000 - 64, 2, 0x100);
	fn_bar(past, 0, BAR_MEM_BASE + 0x3000, 0x1000);
	fn_msix(past, 4, 0, 0x1000 - 48, 0, 0x800);
	fn_bar(bir6, 0, BAR_MEM_BASE + 0x5000, 0x1000);
	fn_msix(bir6, 4, 6, 0, 0, 0x800);
	uint32_t iob = 0xc001;
	memcpy(io->cfg + PCI_BAR0, &iob, 4);
	io->bar_mask[0] = 0xffffff01u; /* 256 bytes of I/O */
	fn_msix(io, 4, 0, 0, 0, 0x80);
	fn_bar(none, 1, BAR_MEM_BASE + 0x6000, 0x1000);
	fn_msix(none, 4, 0, 0, 1, 0x800);
	memset(bar_mem, 0, 0x7000);
	memset(bar_mem + 0x4000, 0x5a, 64); /* after past's BAR */
	pci_host_cfg_written = fns_bar_model;
	const char *log = logged(pci_init_arg, 0);
	pci_host_cfg_written = NULL;
	assert_int_equal(pci_ndevs, 5);
	const struct pci_dev *d = &pci_devs[0];
	assert_int_equal(d->cap_msix, 0x40);
	assert_int_equal(d->msix_size, 4);
	assert_int_equal(d->msix_table_bar, 1);
	assert_int_equal(d->msix_table_off, 0x1000 - 64);
	assert_int_equal(d->msix_pba_bar, 2);
	assert_int_equal(d->msix_pba_off, 0x100);
	assert_ptr_equal(d->msix_table, bar_mem + 0x2000 - 64);
	for (unsigned i = 1; i < 5; i++) {
		char want[96];
		snprintf(want, sizeof(want),
			 "pci 0000:00:%02x.0: MSI-X table outside its BAR; "
			 "MSI-X unused\n",
			 i + 1);
		if (!strstr(log, want))
			fail_msg("no \"%s\" in:\n%s", want, log);
		assert_int_equal(pci_devs[i].cap_msix, 0);
		assert_int_equal(pci_devs[i].msix_size, 0);
		assert_null(pci_devs[i].msix_table);
	}
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(bar_mem[0x4000 + i], 0x5a);
}

/* PCIe Base 5.0 §7.5.1.1.3: a refused I/O BAR turns off the I/O decode
 * firmware left on and leaves memory decode, one line; a function with
 * nothing refused, and a bridge with nothing refused, keep their decode
 * with no line */
static void test_pci_refused_io_bar_turns_off_io_only(void **st)
{
	ecam_seg(0, 1);
	struct fake_fn *a = fn_at(0, 1, 0, 0), *b = fn_at(0, 2, 0, 0),
		       *br = fn_at(0, 3, 0, 1);
	uint32_t io = 0xc001;
	memcpy(a->cfg + PCI_BAR0, &io, 4);
	a->bar_mask[0] = 0; /* programmed, sizes to zero */
	fn_bar(a, 1, 0xfe100000u, 0x1000);
	a->cfg[PCI_COMMAND] = PCI_COMMAND_MEM | PCI_COMMAND_IO;
	fn_bar(b, 0, 0xfe101000u, 0x1000);
	b->cfg[PCI_COMMAND] = PCI_COMMAND_MEM | PCI_COMMAND_IO;
	br->cfg[PCI_COMMAND] = PCI_COMMAND_MEM | PCI_COMMAND_IO;
	pci_host_cfg_written = fns_bar_model;
	const char *log = logged(pci_init_arg, 0);
	pci_host_cfg_written = NULL;
	assert_int_equal(pci_ndevs, 3);
	assert_int_equal(a->cfg[PCI_COMMAND], PCI_COMMAND_MEM);
	assert_int_equal(b->cfg[PCI_COMMAND], PCI_COMMAND_MEM | PCI_COMMAND_IO);
	assert_int_equal(br->cfg[PCI_COMMAND],
			 PCI_COMMAND_MEM | PCI_COMMAND_IO);
	assert_int_equal(count_in(log, "decode turned off"), 1);
	assert_int_equal(count_in(log, "bridge was refused"), 0);
	if (!strstr(log, "pci 0000:00:01.0: I/O decode turned off: a BAR of "
			 "it was refused\n"))
		fail_msg("log:\n%s", log);
}

/* PCI 3.0 §6.2.1: bit 7 of Header Type says function 0 has siblings and
 * is not part of the type. A multi-function device's function 0 of
 * type 0 is sized as one (its BAR, its subsystem IDs) and its function
 * 1 found; a single-function device's function 1 is not looked at */
static void test_pci_header_multi_bit(void **st)
{
	ecam_seg(0, 0);
	struct fake_fn *m = fn_at(0, 1, 0, 0);
	m->cfg[PCI_HEADER_TYPE] = PCI_HEADER_MULTI;
	fn_bar(m, 0, 0xfe100000u, 0x1000);
	fn_at(0, 1, 1, 0);
	fn_at(0, 2, 0, 0);
	fn_at(0, 2, 1, 0); /* answers, but device 2 is single-function */
	pci_host_cfg_written = fns_bar_model;
	pci_init();
	pci_host_cfg_written = NULL;
	assert_int_equal(pci_ndevs, 3);
	assert_int_equal(found(0, 1, 1), 1);
	assert_int_equal(found(0, 2, 1), 0);
	assert_int_equal(pci_devs[0].header_type, 0);
	assert_int_equal(pci_devs[0].bar[0].size, 0x1000);
}

/* PCI 3.0 §6.2.1 and §6.2.4: the segment, revision, class code, and a
 * type 0 header's subsystem IDs are kept as read (drivers bind by class:
 * NVMe is 010802); a bridge's bytes at 0x2c are its prefetchable upper
 * base, no subsystem IDs. A function without MSI or MSI-X has nothing
 * written at their would-be registers (its Device ID, odd and with bit
 * 15 set here) and no MSI-X line */
static void test_pci_header_fields_kept(void **st)
{
	ecam_seg(0, 1);
	acpi_ecam[0].seg = 3;
	struct fake_fn *e = fn_at(0, 1, 0, 0), *br = fn_at(0, 2, 0, 1);
	fn_id(e, 0xabcd8086u);
	uint32_t rc = 0x01080205u; /* class 010802, revision 5 */
	memcpy(e->cfg + PCI_REVISION, &rc, 4);
	uint32_t sub = 0x11223344u;
	memcpy(e->cfg + PCI_SUBSYS_VENDOR, &sub, 4);
	memcpy(br->cfg + PCI_SUBSYS_VENDOR, &sub, 4);
	const char *log = logged(pci_init_arg, 0);
	acpi_ecam[0].seg = 0;
	assert_int_equal(pci_ndevs, 2);
	const struct pci_dev *d = &pci_devs[0];
	assert_int_equal(d->seg, 3);
	assert_int_equal(d->revision, 5);
	assert_int_equal(d->class_code, 0x010802);
	assert_int_equal(d->subsys_vendor, 0x3344);
	assert_int_equal(d->subsys_device, 0x1122);
	assert_int_equal(pci_devs[1].subsys_vendor, 0);
	assert_int_equal(pci_devs[1].subsys_device, 0);
	assert_int_equal(pci_devs[1].seg, 3);
	uint16_t did;
	memcpy(&did, e->cfg + PCI_DEVICE_ID, 2);
	assert_int_equal(did, 0xabcd);
	assert_null(strstr(log, "MSI"));
}

/* the scan follows bridges 16 deep and no deeper: a chain of 17 bridges
 * (bus 0 to 17) reaches bus 16's function, not bus 17's, one line */
static void test_pci_bridges_16_deep(void **st)
{
	ecam_seg(0, 255);
	for (unsigned b = 0; b < 17; b++)
		fn_at(b, 0, 0, b + 1);
	fn_at(16, 1, 0, 0);
	fn_at(17, 1, 0, 0);
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(found(16, 1, 0), 1);
	assert_int_equal(found(17, 1, 0), 0);
	if (!strstr(log, "pci 0000:10:00.0: bridge to bus 17: more than 16 "
			 "bridges deep; not followed\n"))
		fail_msg("log:\n%s", log);
}

/* the sums at the end of pci_init are said only when there is something
 * to sum: one bus whose ECAM cannot be mapped is its own line and no
 * "more buses" line; no MCFG at all is one line and no scan */
static void test_pci_summary_lines_only_when_due(void **st)
{
	ecam_seg(0, 0);
	acpi_necam = 2;
	acpi_ecam[1] = (struct acpi_mcfg_seg){
	    .base = 0x7000000000ull, .seg = 0, .bus_start = 1, .bus_end = 1};
	fn_at(0, 1, 0, 1);
	const char *log = logged(pci_init_arg, 0);
	memset(&acpi_ecam[1], 0, sizeof(acpi_ecam[1]));
	assert_int_equal(count_in(log, "cannot be mapped"), 1);
	assert_null(strstr(log, "more buses"));
	ecam_seg(0, 0);
	acpi_necam = 0;
	log = logged(pci_init_arg, 0);
	assert_string_equal(log, "pci: no MCFG (ECAM) table; no PCI devices\n");
	assert_int_equal(pci_ndevs, 0);
}

/* /api/pci reads the pci_ndevs functions kept, not a slot past them */
static void test_pci_status_kept_functions_only(void **st)
{
	pci_ndevs = 1;
	pci_devs[0] = (struct pci_dev){.dev = 1};
	pci_devs[1] = (struct pci_dev){.dev = 2, .msix_failed = 3};
	const struct status_provider *p = status_find("pci");
	static char buf[512];
	struct json j;
	json_init(&j, buf, sizeof(buf));
	p->fn(&j);
	int n = json_end(&j);
	pci_ndevs = 0;
	memset(&pci_devs[1], 0, sizeof(pci_devs[1]));
	assert_true(n > 0 && json_valid(buf, (size_t)n));
	assert_non_null(strstr(buf, "\"msix_failed\":[]"));
}

/* PCIe Base 5.0 §7.5.3.13: Root Capabilities are the two bytes at +0x1e
 * of the PCI Express capability, and the capability list lies in the
 * first 256 bytes. A capability at 0xe0 puts them at 0xfe-0xff, the last
 * two bytes there: read, not "past configuration space". A Root Port
 * with its capability there offering RRS Software Visibility gets the
 * bit (Root Control at 0xfc, 0x0007 becomes 0x0017), and no line */
static void test_pci_pcie5_s7_5_3_13_root_caps_ending_at_0xff_read(void **st)
{
	ecam_seg(0, 1);
	struct fake_fn *rp = fn_at(0, 1, 0, 1);
	fn_pcie(rp, 0xe0, 4, 0x0001, 0x0007);
	fn_at(1, 0, 0, 0);
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(pci_ndevs, 2);
	assert_int_equal(rtctl_of(rp, 0xe0), 0x0017);
	if (strstr(log, "runs past"))
		fail_msg("log:\n%s", log);
}

/* PCIe Base 5.0 §7.2.2: each PCI Segment is a configuration space of its
 * own, and an MCFG entry's start bus is a root bus of its segment only
 * (PCI Firmware 3.3 §4.1.2). Segment 0 holds buses 0-0xff, segment 1
 * starts at bus 0x80: segment 0's bus 0x80, which no bridge names, is
 * not scanned (its function is not found), segment 1's is, once */
static void test_pci_pcie5_s7_2_2_start_bus_roots_its_own_segment(void **st)
{
	ecam_seg(0, 0xff);
	acpi_necam = 2;
	acpi_ecam[1] = (struct acpi_mcfg_seg){
	    .base = ECAM2_BASE, .seg = 1, .bus_start = 0x80, .bus_end = 0xff};
	fn_at(0, 1, 0, 0);
	fn_at(0x80, 2, 0, 0); /* segment 0, bus 0x80: no bridge leads there */
	fn_at(0x80, 3, 0, 0)->ecam = ECAM2_BASE; /* segment 1's root bus */
	pci_init();
	assert_int_equal(pci_ndevs, 2);
	assert_int_equal(found(0, 1, 0), 1);
	assert_int_equal(found(0x80, 2, 0), 0);
	assert_int_equal(found(0x80, 3, 0), 1);
	for (unsigned i = 0; i < pci_ndevs; i++)
		assert_int_equal(pci_devs[i].seg, pci_devs[i].bus ? 1 : 0);
}

/* PCI 3.0 §6.7: a kept bridge whose capability list loops is said in its
 * own line, once (PCI_SAID_CAPS); it is not also counted among the
 * functions past the PCI_MAX_DEVS kept, whose summary line is then not
 * due at all */
static void test_pci_pci3_s6_7_kept_bridge_broken_caps_not_summed(void **st)
{
	ecam_seg(0, 1);
	struct fake_fn *br = fn_at(0, 1, 0, 1);
	br->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	br->cfg[PCI_CAP_PTR] = 0x40;
	br->cfg[0x40] = PCI_CAP_ID_VNDR;
	br->cfg[0x41] = 0x40; /* back to itself */
	fn_at(1, 0, 0, 0);
	const char *log = logged(pci_init_arg, 0);
	assert_int_equal(pci_ndevs, 2);
	if (count_in(log, "capability list") != 1 ||
	    !strstr(log, "pci 0000:00:01.0: capability list loops at 0x40; "
			 "walk stopped (said once for the function)\n") ||
	    strstr(log, "past the 64 kept"))
		fail_msg("log:\n%s", log);
}

/* ---- the tests that kill make mutate's survivors in kernel/acpi -------- */

/* ACPI 6.5 §5.2.9: PM_TMR_BLK (offset 76) and PM_TMR_LEN (91) are fields
 * of a FADT at least 92 bytes long; one shorter (ACPI 1.0 tables grew)
 * names no PM timer, and nothing past its Length is read: here the FADT
 * is 88 bytes ending at an inaccessible page, PM_TMR_BLK inside it */
static void test_acpi_65_s5_2_9_fadt_pm_tmr_len_inside_length(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t *end = guarded_page_end();
	uint8_t *f = end - 88;
	sdt(f, "FACP", 88);
	uint32_t pm = 0x608;
	memcpy(f + 76, &pm, 4);
	fix_sum(f, 88, 9);
	xsdt_point(a, 1, f);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_find("FACP"), (uint64_t)f);
	assert_int_equal(acpi_pm_timer_port, 0);
	acpi_init(0);
	guarded_free(end);
	free(a);
}

/* ACPI 6.5 §5.2.9: X_PM_TMR_BLK at address 0 is ignored for PM_TMR_BLK;
 * with any one of its other fields set (space, width, bit offset, access
 * size) it is said in one line, PM_TMR_BLK read */
static void test_acpi_65_s5_2_9_x_pm_tmr_blk_any_field_said(void **st)
{
	static const uint8_t c[][4] = {
	    {1, 0, 0, 0}, {0, 32, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 3}};
	struct fake_acpi *a = acpi_build();
	for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
		uint8_t *f = a->fadt;
		memcpy(f + 208, c[i], 4);
		memset(f + 212, 0, 8);
		fix_sum(f, sizeof(a->fadt), 9);
		char want[512];
		snprintf(want, sizeof(want),
			 "acpi: FADT X_PM_TMR_BLK (address space %u, %u bits) "
			 "has address 0; PM_TMR_BLK read instead\n"
			 "acpi: XSDT with 3 tables: MCFG FACP JUNK\n",
			 c[i][0], c[i][1]);
		const char *log = acpi_init_log((uint64_t)a->rsdp);
		if (strcmp(log, want))
			fail_msg("case %u:\n%s", i, log);
		assert_int_equal(acpi_pm_timer_port, 0x608);
	}
	acpi_init(0);
	free(a);
}

/* ACPI 6.5 §5.2.5.3: an RSDP of revision 0 (ACPI 1.0), or one naming no
 * XSDT, has only the RSDT; when that is refused, that is the one line (no
 * line about an XSDT there is none of) */
static void test_acpi_65_s5_2_5_3_rsdt_only_refused_one_line(void **st)
{
	struct low_acpi *l = low_acpi_build();
	struct fake_acpi *a = &l->a;
	for (unsigned i = 0; i < 2; i++) {
		low_acpi_build_into(l);
		if (i == 0) {
			a->rsdp[15] = 0; /* revision 0: 20 bytes */
		} else {
			memset(a->rsdp + 24, 0, 8); /* no XSDT */
		}
		fix_sum(a->rsdp, 20, 8);
		fix_sum(a->rsdp, 36, 32);
		l->rsdt[3] = 'X';
		fix_sum(l->rsdt, sizeof(l->rsdt), 9);
		char want[256];
		snprintf(want, sizeof(want),
			 "acpi: RSDT at 0x%lx has the signature RSDX; running "
			 "without ACPI\n",
			 (unsigned long)(uintptr_t)l->rsdt);
		assert_string_equal(acpi_init_log((uint64_t)(uintptr_t)a->rsdp),
				    want);
		assert_acpi_empty();
		/* and the RSDT, good, is used without a word about an XSDT */
		l->rsdt[3] = 'T';
		fix_sum(l->rsdt, sizeof(l->rsdt), 9);
		assert_string_equal(
		    acpi_init_log((uint64_t)(uintptr_t)a->rsdp),
		    "acpi: RSDT with 3 tables: MCFG FACP JUNK\n");
	}
	acpi_init(0);
	munmap(l, sizeof(*l));
}

/* VT-d 3.0 §8.3, §8.4: only a DRHD (type 0) names a remapping unit's
 * registers; an RMRR (type 1) carries a reserved memory region's base at
 * the same offset 8, and it is no unit: acpi_platform holds the DRHD's
 * page only */
static void test_acpi_vtd_s8_4_rmrr_base_not_a_unit(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t d[48 + 16 + 24];
	uint64_t vb = 0xfed90000, rb = 0x7f000000, rl = 0x7f0fffff;
	sdt(d, "DMAR", sizeof(d));
	d[36] = 38;
	d[48] = 0, d[50] = 16; /* DRHD, 16 bytes */
	memcpy(d + 48 + 8, &vb, 8);
	uint8_t *r = d + 48 + 16;
	r[0] = 1, r[2] = 24; /* RMRR, 24 bytes: base at 8, limit at 16 */
	memcpy(r + 8, &rb, 8);
	memcpy(r + 16, &rl, 8);
	fix_sum(d, sizeof(d), 9);
	xsdt_point(a, 2, d);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_find("DMAR"), (uint64_t)d);
	assert_int_equal(acpi_nplatform, 1);
	assert_int_equal(acpi_platform[0].lo, 0xfed90000);
	assert_null(acpi_platform_at(rb, rl));
	acpi_init(0);
	free(a);
}

/* a signature is printed as ASCII 0x20 to 0x7e: a space is itself, DEL
 * (0x7f) a '?' like any other byte that is not printable */
static void test_acpi_sig_printed_0x20_to_0x7e_only(void **st)
{
	struct fake_acpi *a = acpi_build();
	sdt(a->junk, "A C\x7f", sizeof(a->junk));
	a->junk[20] = 1; /* its checksum fails: said with its signature */
	const char *log = acpi_init_log((uint64_t)a->rsdp);
	char want[128];
	snprintf(want, sizeof(want),
		 "acpi: table A C? at 0x%lx fails its checksum; ignored\n",
		 (unsigned long)(uintptr_t)a->junk);
	if (!strstr(log, want))
		fail_msg("expected \"%s\" in:\n%s", want, log);
	free(a);
}

/* ACPI 6.5 §5.2.7, §5.2.8: a root entry of 0 is no table, passed over
 * without a word; an RSDT address of 0 in an ACPI 1.0 RSDP is said as
 * such, and nothing at address 0 is read */
static void test_acpi_65_s5_2_7_zero_entry_quiet_zero_rsdt_said(void **st)
{
	struct fake_acpi *a = acpi_build();
	xsdt_point(a, 2, NULL);
	assert_string_equal(acpi_init_log((uint64_t)a->rsdp),
			    "acpi: XSDT with 2 tables: MCFG FACP\n");
	a->rsdp[15] = 0; /* ACPI 1.0: the RSDT only, at 0 */
	fix_sum(a->rsdp, 20, 8);
	assert_string_equal(
	    acpi_init_log((uint64_t)a->rsdp),
	    "acpi: no RSDT (its address is 0); running without ACPI\n");
	assert_acpi_empty();
	free(a);
}

/* a table of ACPI_MAX_TABLE (1 MiB) bytes is read; one byte more is not */
static void test_acpi_table_of_acpi_max_table_bytes_read(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint32_t max = 1u << 20;
	uint8_t *big = calloc(1, max + 1);
	sdt(big, "BIG1", max);
	fix_sum(big, max, 9);
	xsdt_point(a, 2, big);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_find("BIG1"), (uint64_t)(uintptr_t)big);
	sdt(big, "BIG1", max + 1);
	fix_sum(big, max + 1, 9);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_find("BIG1"), 0);
	assert_int_not_equal(acpi_find("FACP"), 0);
	free(big);
	free(a);
}

/* ACPI 6.5 §5.2.5.3: the RSDT, when it is the only root, is used though
 * none of its entries can be read (each is said); only an XSDT must list
 * a readable table to be preferred */
static void test_acpi_65_s5_2_5_3_rsdt_kept_without_readable_entry(void **st)
{
	struct low_acpi *l = low_acpi_build();
	l->a.rsdp[15] = 0;
	fix_sum(l->a.rsdp, 20, 8);
	uint32_t p[3] = {0x10, 0x20, 0x30};
	memcpy(l->rsdt + 36, p, sizeof(p));
	fix_sum(l->rsdt, sizeof(l->rsdt), 9);
	fw_add(l, sizeof(*l));
	const char *log = acpi_init_log((uint64_t)(uintptr_t)l->a.rsdp);
	assert_int_equal(count_of(log, "is outside the firmware memory"), 3);
	if (!strstr(log, "acpi: RSDT with 0 tables:\n"))
		fail_msg("log:\n%s", log);
	munmap(l, sizeof(*l));
}

/* the XSDT's entries are read inside its Length only, when none of them
 * is a table either: here its one entry (0) ends a readable page */
static void test_acpi_xsdt_entries_not_read_past_its_length(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t *end = guarded_page_end(), *x = end - 44;
	sdt(x, "XSDT", 44);
	fix_sum(x, 44, 9);
	uint64_t xp = (uint64_t)(uintptr_t)x;
	memcpy(a->rsdp + 24, &xp, 8);
	fix_sum(a->rsdp, 36, 32);
	char want[256];
	snprintf(want, sizeof(want),
		 "acpi: XSDT at 0x%lx lists no table that can be read (of its "
		 "first 1 entries); ignored\n"
		 "acpi: no RSDT (its address is 0); running without ACPI\n",
		 (unsigned long)xp);
	assert_string_equal(acpi_init_log((uint64_t)a->rsdp), want);
	guarded_free(end);
	free(a);
}

static uint8_t *mcfg_entry(uint8_t *e, uint64_t base, uint16_t seg,
			   uint8_t start, uint8_t end)
{
	memcpy(e, &base, 8);
	memcpy(e + 8, &seg, 2);
	e[10] = start, e[11] = end;
	return e + 16;
}

/* PCI Firmware 3.3 §4.1.2: an MCFG entry's buses run from its start to
 * its end bus, its base is not 0; a reversed range or base 0 is refused,
 * and so is an entry sharing even one bus (its first or its last) with
 * an earlier entry of its segment */
static void test_acpi_pcifw_s4_1_2_mcfg_bus_range_and_base(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t m[44 + 16 * 6];
	sdt(m, "MCFG", sizeof(m));
	uint8_t *e = m + 44;
	e = mcfg_entry(e, 0xa0000000, 0, 10, 20);
	e = mcfg_entry(e, 0xb0000000, 0, 0, 10); /* its last, e1's first */
	e = mcfg_entry(e, 0xc0000000, 1, 0, 10);
	e = mcfg_entry(e, 0xd0000000, 1, 10, 20); /* its first, e3's last */
	e = mcfg_entry(e, 0xe0000000, 2, 20, 10); /* reversed */
	mcfg_entry(e, 0, 3, 0, 0);		  /* base 0 */
	fix_sum(m, sizeof(m), 9);
	xsdt_point(a, 0, m);
	const char *log = acpi_init_log((uint64_t)a->rsdp);
	assert_int_equal(acpi_necam, 2);
	assert_int_equal(acpi_ecam[0].base, 0xa0000000);
	assert_int_equal(acpi_ecam[1].base, 0xc0000000);
	assert_int_equal(count_of(log, "overlaps an earlier one; ignored"), 2);
	assert_int_equal(count_of(log, "bad bus range; ignored"), 2);
	free(a);
}

/* ACPI 6.5 §5.2.9: X_PM_TMR_BLK is read from a FADT whose Length holds
 * it (220 bytes), PM_TMR_BLK and PM_TMR_LEN from one of 92, and port
 * PM_TMR_PORT_MAX (0xfffc) itself is a PM timer either way */
static void test_acpi_65_s5_2_9_fadt_fields_at_their_bounds(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t f[244];
	uint32_t pm = 0x608, top = 0xfffc;
	uint64_t xa = 0xfffc;
	sdt(f, "FACP", 220);
	memcpy(f + 76, &pm, 4);
	f[91] = 4;
	f[208] = 1, f[209] = 32, f[211] = 3;
	memcpy(f + 212, &xa, 8);
	fix_sum(f, 220, 9);
	xsdt_point(a, 1, f);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_pm_timer_port, 0xfffc);
	sdt(f, "FACP", 92);
	memcpy(f + 76, &top, 4);
	f[91] = 4;
	fix_sum(f, 92, 9);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_pm_timer_port, 0xfffc);
	acpi_init(0);
	free(a);
}

/* the same pages of the same device are one platform range: a VT-d unit
 * listed twice is one; an HPET on the unit's page is another device, its
 * own range */
static void test_acpi_platform_range_once_per_device(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t d[48 + 16 * 2], h[56];
	uint64_t b = 0xfed90000;
	sdt(d, "DMAR", sizeof(d));
	d[36] = 38;
	for (unsigned i = 0; i < 2; i++) {
		d[48 + 16 * i + 2] = 16;
		memcpy(d + 48 + 16 * i + 8, &b, 8);
	}
	fix_sum(d, sizeof(d), 9);
	sdt(h, "HPET", sizeof(h));
	memcpy(h + 44, &b, 8);
	fix_sum(h, sizeof(h), 9);
	uint64_t t[4] = {(uint64_t)a->mcfg, (uint64_t)a->fadt, (uint64_t)d,
			 (uint64_t)h};
	uint8_t *x = xsdt_of(a, t, 4);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_nplatform, 2);
	assert_string_equal(acpi_platform[0].what, "VT-d unit");
	assert_string_equal(acpi_platform[1].what, "HPET");
	assert_int_equal(acpi_platform[1].lo, acpi_platform[0].lo);
	acpi_init(0);
	free(x);
	free(a);
}

/* ACPI 6.5 §5.2.12: a MADT entry of 2 bytes (its header alone) ending the
 * table is whole; an I/O APIC entry shorter than 12 bytes is said and not
 * read (here its address would lie past the table, at an inaccessible
 * page); a local APIC address of 0 is none */
static void test_acpi_65_s5_2_12_madt_entry_bounds(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t *end = guarded_page_end();
	uint32_t len = 44 + 12 + 8 + 2;
	uint8_t *t = end - len;
	uint8_t *p = madt_ioapic(madt_start(a, t, len), 0, 0xfec00000, 0);
	memset(t + 36, 0, 4); /* local APIC address 0 */
	p[0] = 1, p[1] = 8;   /* a short I/O APIC entry at offset 56 */
	p[8] = 0x7f, p[9] = 2;
	fix_sum(t, len, 9);
	assert_string_equal(acpi_init_log((uint64_t)a->rsdp),
			    "acpi: MADT I/O APIC entry at offset 56 is shorter "
			    "than 12 bytes; ignored\n"
			    "acpi: XSDT with 3 tables: MCFG FACP APIC\n");
	assert_int_equal(acpi_nioapics, 1);
	assert_int_equal(acpi_nplatform, 1); /* the I/O APIC's page only */
	assert_string_equal(acpi_platform[0].what, "I/O APIC");
	acpi_init(0);
	guarded_free(end);
	free(a);
}

/* acpi_platform_lapic names the MADT's local APIC, not another device's
 * range, when IA32_APIC_BASE differs; with acpi_platform full
 * (ACPI_MAX_PLATFORM) it reads no range past the last */
static void test_acpi_platform_lapic_names_the_madt_lapic(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t m[44 + 12];
	madt_ioapic(madt_start(a, m, sizeof(m)), 0, 0xfec00000, 0);
	fix_sum(m, sizeof(m), 9);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_nplatform, 2);
	assert_string_equal(logged(platform_lapic_arg, 0xfee01000),
			    "acpi: local APIC at 0xfee01000 by IA32_APIC_BASE, "
			    "at 0xfee00000 by the MADT; PCI BARs are kept off "
			    "both\n");
	enum { NDRHD = ACPI_MAX_PLATFORM };
	static uint8_t d[48 + 16 * NDRHD];
	sdt(d, "DMAR", sizeof(d));
	d[36] = 38;
	for (unsigned i = 0; i < NDRHD; i++) {
		uint64_t b = 0xd0000000 + 0x1000 * i;
		d[48 + 16 * i + 2] = 16;
		memcpy(d + 48 + 16 * i + 8, &b, 8);
	}
	fix_sum(d, sizeof(d), 9);
	xsdt_point(a, 2, d);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_nplatform, ACPI_MAX_PLATFORM);
	(void)logged(platform_lapic_arg, 0xfee00000);
	assert_int_equal(acpi_nplatform, ACPI_MAX_PLATFORM);
	acpi_init(0);
	free(a);
}

/* VT-d 3.0 §8.1: each remapping structure's Length is at least its 4-byte
 * header and inside the table; a 4-byte one is whole and passed over, one
 * of length 0 (which would never end the walk) or running past the table
 * ends it, nothing after or past it read */
static void test_acpi_vtd_s8_1_dmar_structure_length_bounds(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t d[48 + 4 + 16 + 4 + 16];
	uint64_t ba = 0xfed90000, bb = 0xfed91000;
	sdt(d, "DMAR", sizeof(d));
	d[36] = 38;
	uint8_t *p = d + 48;
	p[0] = 0x7f, p[2] = 4; /* a 4-byte structure of another type */
	p += 4;
	p[2] = 16; /* DRHD A */
	memcpy(p + 8, &ba, 8);
	p += 16;
	p[0] = 0x7f; /* length 0: the walk ends */
	p += 4;
	p[2] = 16; /* DRHD B, not reached */
	memcpy(p + 8, &bb, 8);
	fix_sum(d, sizeof(d), 9);
	xsdt_point(a, 2, d);
	acpi_init((uint64_t)a->rsdp);
	assert_int_equal(acpi_nplatform, 1);
	assert_int_equal(acpi_platform[0].lo, 0xfed90000);
	/* a DRHD of 16 bytes with 12 left in the table, at a page's end */
	uint8_t *end = guarded_page_end(), *t = end - 60;
	sdt(t, "DMAR", 60);
	t[36] = 38;
	t[48 + 2] = 16;
	memcpy(t + 48 + 4, &ba, 8); /* what there is of it */
	fix_sum(t, 60, 9);
	xsdt_point(a, 2, t);
	acpi_init((uint64_t)a->rsdp);
	assert_int_not_equal(acpi_find("DMAR"), 0);
	assert_int_equal(acpi_nplatform, 0);
	acpi_init(0);
	guarded_free(end);
	free(a);
}

/* ACPI_TABLE_LINES (8) lines about a table's entries are all said, and
 * no "more lines" line follows them */
static void test_acpi_table_lines_exactly_acpi_table_lines(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint8_t m[44 + 12 * 8];
	uint8_t *p = madt_start(a, m, sizeof(m));
	for (unsigned i = 0; i < 8; i++)
		p = madt_ioapic(p, (uint8_t)i, 0, 0); /* address 0 */
	fix_sum(m, sizeof(m), 9);
	const char *log = acpi_init_log((uint64_t)a->rsdp);
	assert_int_equal(count_of(log, "has address 0; ignored"), 8);
	if (strstr(log, "more lines like those"))
		fail_msg("log:\n%s", log);
	free(a);
}

/* ACPI 6.5 §5.2.5.3: the RSDP's first 20 bytes sum to 0; one whose
 * signature is right and checksum wrong is no RSDP */
static void test_acpi_65_s5_2_5_3_rsdp_checksum_checked(void **st)
{
	struct fake_acpi *a = acpi_build();
	a->rsdp[9] ^= 1; /* an OEM ID byte */
	assert_string_equal(acpi_init_log((uint64_t)a->rsdp),
			    "acpi: no valid RSDP; running without ACPI\n");
	assert_acpi_empty();
	free(a);
}

/* a root listing exactly ACPI_MAX_TABLES (64) entries is read whole,
 * without the line about entries cut */
static void test_acpi_root_of_exactly_acpi_max_tables_entries(void **st)
{
	struct fake_acpi *a = acpi_build();
	uint64_t t[64] = {(uint64_t)a->fadt};
	uint8_t *x = xsdt_of(a, t, 64);
	assert_string_equal(acpi_init_log((uint64_t)a->rsdp),
			    "acpi: XSDT with 1 tables: FACP\n");
	free(x);
	free(a);
}

/* acpi_has_iommu with no place for the table's name answers all the same */
static void test_acpi_has_iommu_which_may_be_null(void **st)
{
	struct fake_acpi *a = acpi_build();
	sdt(a->junk, "DMAR", sizeof(a->junk));
	fix_sum(a->junk, sizeof(a->junk), 9);
	acpi_init((uint64_t)a->rsdp);
	assert_true(acpi_has_iommu(NULL));
	acpi_init(0);
	assert_false(acpi_has_iommu(NULL));
	free(a);
}

int main(void)
{
	shim_quiet = 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_acpi_good, acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_bad_checksum_ignored,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_bad_length_ignored,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_bad_rsdp, acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_bad_root_forgets_earlier,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_iommu_detected, acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_short_hpet_not_read_past,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_rsdp_unmapped_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_rsdp_v2_tail_unmapped_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_root_unmapped_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_root_length_past_mapping_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_table_unmapped_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_table_length_past_mapping_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_ioapic_entries_masked,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_ioapic_lines_bounded,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_madt_malformed_entries_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_ioapic_none, acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_ioapic_entries_past_IOAPIC_MAX_ENTRIES_not_reached,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(test_ioapic_silent_past_IOAPIC_LINES_counted,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_pci_bar_on_platform_registers_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_lapic_msr_base_kept_from_bars,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_xsdt_bad_rsdt_used,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_xsdt_and_rsdt_bad,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_pm_timer_gas, acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_hpet_not_in_memory_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_root_bounded_and_repeats_ignored,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_table_lines_bounded,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_65_s5_2_9_fadt_pm_tmr_len_inside_length,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_65_s5_2_9_x_pm_tmr_blk_any_field_said,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_65_s5_2_5_3_rsdt_only_refused_one_line,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_vtd_s8_4_rmrr_base_not_a_unit,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_sig_printed_0x20_to_0x7e_only,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_65_s5_2_7_zero_entry_quiet_zero_rsdt_said,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_table_of_acpi_max_table_bytes_read,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_65_s5_2_5_3_rsdt_kept_without_readable_entry,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_xsdt_entries_not_read_past_its_length,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_pcifw_s4_1_2_mcfg_bus_range_and_base,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_65_s5_2_9_fadt_fields_at_their_bounds,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_platform_range_once_per_device,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_65_s5_2_12_madt_entry_bounds,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_platform_lapic_names_the_madt_lapic,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_vtd_s8_1_dmar_structure_length_bounds,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_table_lines_exactly_acpi_table_lines,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_65_s5_2_5_3_rsdp_checksum_checked,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(
		test_acpi_root_of_exactly_acpi_max_tables_entries,
		acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_has_iommu_which_may_be_null,
				   acpi_earlier_boot),
	    cmocka_unit_test(test_pci_caps_found),
	    cmocka_unit_test(test_pci_caps_loop_bounded),
	    cmocka_unit_test(test_pci_caps_wild_pointer),
	    cmocka_unit_test(test_pci_enable_bus_master_checked),
	    cmocka_unit_test(test_pci_enable_unowned_never_masters),
	    cmocka_unit_test(test_pci_enable_fenced_never_masters),
	    cmocka_unit_test(test_pci_enable_refusals_said_once),
	    cmocka_unit_test(test_pci_cap_past_config_space),
	    cmocka_unit_test(test_pci_caps_reserved_bits_masked),
	    cmocka_unit_test(test_pci_caps_iteration_visits_once),
	    cmocka_unit_test(test_pci_cfg_bounds),
	    cmocka_unit_test(test_pci_bar_zero_size),
	    cmocka_unit_test(test_pci_bridge_bar1_64bit_ignored),
	    cmocka_unit_test(test_pci_bar_sizing_hostile),
	    cmocka_unit_test(test_pci_bar_unassigned_ignored),
	    cmocka_unit_test(test_pci_bus_scanned_once),
	    cmocka_unit_test(test_pci_ecam_start_bus_offset),
	    cmocka_unit_test(test_pci_bridge_into_split_mcfg),
	    cmocka_unit_test(test_pci_absent_vendor_ids),
	    cmocka_unit_test(test_pci_rrs_waited_until_ready),
	    cmocka_unit_test(test_pci_rrs_never_ready_skipped),
	    cmocka_unit_test(test_pci_rrs_sv_enabled_in_root_ports),
	    cmocka_unit_test(test_pci_rrs_sv_in_root_port_past_the_table),
	    cmocka_unit_test(test_pci_rrs_many_bounded),
	    cmocka_unit_test(test_pci_too_many_functions_one_line),
	    cmocka_unit_test(test_pci_lines_past_the_table_bounded),
	    cmocka_unit_test(test_pci_cap_list_said_once),
	    cmocka_unit_test(test_pci_ecam_unmapped_lines_bounded),
	    cmocka_unit_test(test_pci_bars_overlap_ignored),
	    cmocka_unit_test(test_pci_bars_overlap_lines_bounded),
	    cmocka_unit_test(test_pci_msix_masked_with_decode_off),
	    cmocka_unit_test(test_pci_bar_claiming_ram_or_kernel_mmio_ignored),
	    cmocka_unit_test(test_pci_decode_off_with_refused_bar),
	    cmocka_unit_test(test_pci_bridge_decode_kept_with_refused_bar),
	    cmocka_unit_test(test_pci_msix_write_keeps_bus_master_off),
	    cmocka_unit_test(test_pci_msix_failed_write_left_masked),
	    cmocka_unit_test(test_pci_msix_failures_said_once),
	    cmocka_unit_test_setup(test_acpi_mcfg_range_wraps_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_mcfg_overlap_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test_setup(test_acpi_mcfg_aliasing_refused,
				   acpi_earlier_boot),
	    cmocka_unit_test(test_grants),
	    cmocka_unit_test(test_grant_generation_wrap),
	    cmocka_unit_test(test_grant_overlap_refused),
	    cmocka_unit_test(test_cmdline),
	    cmocka_unit_test(test_cmdline_spacing_and_cut_word),
	    cmocka_unit_test(test_cmdline_nul_and_binary),
	    cmocka_unit_test(test_cmdline_unknown_reported),
	    cmocka_unit_test(test_bootfs_no_cap),
	    cmocka_unit_test(test_bootfs_walk_linear),
	    cmocka_unit_test(test_printf),
	    cmocka_unit_test(test_printf_precision_reads_no_further),
	    cmocka_unit_test(test_pci_cfg_last_word_of_ecam),
	    cmocka_unit_test(test_pci_mcfg_slots_past_the_count_ignored),
	    cmocka_unit_test(test_pci_ids_and_bar_lines),
	    cmocka_unit_test(test_pci_msix_table_unmapped_no_vectors),
	    cmocka_unit_test(test_pci_status_lists_only_failed_msix),
	    cmocka_unit_test(test_pci_msix_entry_past_the_table_refused),
	    cmocka_unit_test(test_pci_msix_message_written_masked),
	    cmocka_unit_test(test_pci_msix_message_read_back_whole),
	    cmocka_unit_test(test_pci_msix_table_inside_its_bar),
	    cmocka_unit_test(test_pci_refused_io_bar_turns_off_io_only),
	    cmocka_unit_test(test_pci_header_multi_bit),
	    cmocka_unit_test(test_pci_header_fields_kept),
	    cmocka_unit_test(test_pci_bridges_16_deep),
	    cmocka_unit_test(test_pci_summary_lines_only_when_due),
	    cmocka_unit_test(test_pci_status_kept_functions_only),
	    cmocka_unit_test(
		test_pci_pcie5_s7_5_3_13_root_caps_ending_at_0xff_read),
	    cmocka_unit_test(
		test_pci_pcie5_s7_2_2_start_bus_roots_its_own_segment),
	    cmocka_unit_test(
		test_pci_pci3_s6_7_kept_bridge_broken_caps_not_summed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
