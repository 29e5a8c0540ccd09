/* kernel/cpu/ioapic.c — every redirection entry of every I/O APIC the MADT
 * lists (kernel/acpi) masked at boot: capOS takes device interrupts as
 * MSI/MSI-X only (pci_enable sets INTx Disable), and an entry firmware
 * left unmasked would deliver on whatever vector firmware chose, perhaps
 * one capOS later hands a driver (Linux masks them all too: clear_IO_APIC
 * in arch/x86/kernel/apic/io_apic.c). Registers (Intel 82093AA datasheet
 * §3): IOREGSEL at +0x00 selects, IOWIN at +0x10 reads and writes the
 * selected one; the version register 0x01 holds the highest entry's
 * number in bits 16-23; entry n is registers 0x10+2n (low dword, mask
 * bit 16) and 0x11+2n. Only the low dword is written, its other bits as
 * read. An entry whose delivery mode is SMI (bits 8-10: 010) is left as
 * firmware set it: it goes to firmware's System Management Mode, not a
 * vector, and masking it broke SMIs on real boards (Linux's
 * clear_IO_APIC_pin leaves it alone too). */
#include "kernel/acpi/acpi.h"
#include "kernel/cpu/cpu.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"

#define IOAPIC_IOREGSEL	       0x00
#define IOAPIC_IOWIN	       0x10
#define IOAPIC_WINDOW	       0x20 /* the bytes the kernel touches */
#define IOAPIC_VER	       0x01
#define IOAPIC_VER_MAXREDIR(v) ((v) >> 16 & 0xff)
#define IOAPIC_REDTBL(n)       (0x10 + 2 * (n))
#define IOAPIC_RTE_MASKED      (1u << 16)
#define IOAPIC_RTE_DELMODE(lo) ((lo) >> 8 & 7)
#define IOAPIC_DELMODE_SMI     2
/* IOREGSEL selects with 8 bits: entry 119's high dword is register 0xff */
#define IOAPIC_MAX_ENTRIES 120
/* lines about the first IOAPIC_LINES I/O APICs, then one about the rest:
 * the MADT may list ACPI_MAX_IOAPICS, each at an address nothing answers */
#define IOAPIC_LINES 8

#ifdef CAPOS_HOST
/* the host test (tests/host/foundation) plays the I/O APIC */
uint32_t ioapic_host_read(volatile uint32_t *p);
void ioapic_host_write(volatile uint32_t *p, uint32_t v);
#define mmio_r32(p)    ioapic_host_read(p)
#define mmio_w32(p, v) ioapic_host_write(p, v)
#else
#define mmio_r32(p)    (*(p))
#define mmio_w32(p, v) (*(p) = (v))
#endif

static uint32_t ioapic_rd(volatile uint32_t *r, uint8_t reg)
{
	mmio_w32(r + IOAPIC_IOREGSEL / 4, reg);
	return mmio_r32(r + IOAPIC_IOWIN / 4);
}

static void ioapic_wr(volatile uint32_t *r, uint8_t reg, uint32_t v)
{
	mmio_w32(r + IOAPIC_IOREGSEL / 4, reg);
	mmio_w32(r + IOAPIC_IOWIN / 4, v);
}

/* what the I/O APICs past the first IOAPIC_LINES came to, said at once */
struct ioapic_tally {
	unsigned n, entries, was, stuck, alone;
};

/* t NULL: a line about a; else a is counted into t, quietly */
static void ioapic_mask_one(const struct acpi_ioapic *a, struct ioapic_tally *t)
{
	const struct acpi_mcfg_seg *s =
	    acpi_ecam_at(a->base, a->base + IOAPIC_WINDOW - 1);
	volatile uint32_t *r = s ? NULL : mm_map_mmio(a->base, IOAPIC_WINDOW);
	if (t)
		t->n++;
	if (!r) {
		if (t)
			t->alone++;
		else
			kprintf("ioapic %u: registers at 0x%lx %s; left as "
				"firmware set it\n",
				a->id, a->base,
				s ? "lie in an MCFG entry's ECAM"
				  : "cannot be mapped");
		return;
	}
	uint32_t ver = ioapic_rd(r, IOAPIC_VER);
	if (ver == 0xffffffffu) {
		if (t)
			t->alone++;
		else
			kprintf("ioapic %u at 0x%lx: version register reads "
				"all ones (nothing answers); left alone\n",
				a->id, a->base);
		return;
	}
	unsigned n = IOAPIC_VER_MAXREDIR(ver) + 1, was = 0, stuck = 0, smi = 0;
	if (n > IOAPIC_MAX_ENTRIES) {
		if (!t)
			kprintf("ioapic %u at 0x%lx: claims %u entries; the "
				"first %u (all IOREGSEL reaches) masked\n",
				a->id, a->base, n, IOAPIC_MAX_ENTRIES);
		n = IOAPIC_MAX_ENTRIES;
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t reg = (uint8_t)IOAPIC_REDTBL(i);
		uint32_t lo = ioapic_rd(r, reg);
		if (lo & IOAPIC_RTE_MASKED)
			continue;
		if (IOAPIC_RTE_DELMODE(lo) == IOAPIC_DELMODE_SMI) {
			smi++;
			continue;
		}
		was++;
		ioapic_wr(r, reg, lo | IOAPIC_RTE_MASKED);
		stuck += !(ioapic_rd(r, reg) & IOAPIC_RTE_MASKED);
	}
	if (t) {
		t->entries += n, t->was += was, t->stuck += stuck;
		return;
	}
	kprintf("ioapic %u at 0x%lx: GSI %u-%u, %u entries, %u found unmasked",
		a->id, a->base, a->gsi_base, a->gsi_base + n - 1, n, was);
	if (stuck)
		kprintf("; %u of them will not mask", stuck);
	else
		kprintf("; all masked");
	if (smi)
		kprintf(" (%u SMI entries left unmasked)", smi);
	kprintf("\n");
}

void ioapic_mask_all(void)
{
	if (!acpi_find("APIC")) {
		kprintf("ioapic: no MADT; I/O APICs unknown, left as firmware "
			"set them\n");
		return;
	}
	if (!acpi_nioapics)
		kprintf("ioapic: the MADT lists no I/O APIC; none masked\n");
	struct ioapic_tally rest = {0};
	for (unsigned i = 0; i < acpi_nioapics; i++)
		ioapic_mask_one(&acpi_ioapics[i],
				i < IOAPIC_LINES ? NULL : &rest);
	if (rest.n)
		kprintf("ioapic: %u more I/O APICs: %u entries, %u found "
			"unmasked, %u of them will not mask; %u left as "
			"firmware set them\n",
			rest.n, rest.entries, rest.was, rest.stuck, rest.alone);
}
