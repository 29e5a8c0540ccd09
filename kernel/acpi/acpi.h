/* kernel/acpi/acpi.h — the ACPI tables the kernel uses (checksum-verified). */
#ifndef CAPOS_ACPI_H
#define CAPOS_ACPI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* reads the tables anew: every value below (and acpi_find's list) is
 * reset first, so nothing of an earlier call survives one that fails */
void acpi_init(uint64_t rsdp_phys);
/* physical address of a verified table by signature ("MCFG"), 0 if absent */
uint64_t acpi_find(const char *sig);
/* IOMMU tables seen: DMAR (Intel VT-d), IVRS (AMD-Vi), VIOT (virtio-iommu) */
bool acpi_has_iommu(const char **which);

struct acpi_mcfg_seg {
	uint64_t base;
	uint16_t seg;
	uint8_t bus_start, bus_end;
};
/* the first and last byte of an entry's configuration space, its buses'
 * (the base is bus 0's; acpi_init kept no entry whose last one wraps) */
static inline uint64_t acpi_ecam_lo(const struct acpi_mcfg_seg *s)
{
	return s->base + ((uint64_t)s->bus_start << 20);
}
static inline uint64_t acpi_ecam_hi(const struct acpi_mcfg_seg *s)
{
	return s->base + ((uint64_t)s->bus_end << 20 | 0xfffff);
}
extern struct acpi_mcfg_seg acpi_ecam[4];
extern unsigned acpi_necam;
extern uint16_t acpi_pm_timer_port; /* 0: none */
extern uint64_t acpi_hpet_base;	    /* 0: none; else in memory, 8-aligned */

/* the MCFG entry whose ECAM meets [lo, hi] (inclusive), NULL if none */
static inline const struct acpi_mcfg_seg *acpi_ecam_at(uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < acpi_necam; i++)
		if (lo <= acpi_ecam_hi(&acpi_ecam[i]) &&
		    acpi_ecam_lo(&acpi_ecam[i]) <= hi)
			return &acpi_ecam[i];
	return NULL;
}

/* an I/O APIC the MADT lists (ACPI 6.5 §5.2.12.3), its address not 0 */
struct acpi_ioapic {
	uint64_t base; /* IOREGSEL at +0x00, IOWIN at +0x10 */
	uint32_t gsi_base;
	uint8_t id;
};
/* as many as Linux keeps on x86-64 (MAX_IO_APICS): one past them is left
 * as firmware set it, unmasked (kernel/cpu/ioapic.c) */
#define ACPI_MAX_IOAPICS 128
extern struct acpi_ioapic acpi_ioapics[ACPI_MAX_IOAPICS];
extern unsigned acpi_nioapics;

/* the register ranges of the platform's own devices: each I/O APIC
 * (MADT), the local APIC (the MADT's address, or its override, and the
 * base in IA32_APIC_BASE when that differs: acpi_platform_lapic), each
 * HPET in system memory, each VT-d unit (DMAR's DRHD register bases), as the
 * whole pages that hold them (a window on a page maps all of it). No PCI BAR
 * may lie on one (kernel/pci, pci_bar_claim) */
struct acpi_range {
	uint64_t base;	 /* as the table gives it */
	uint64_t lo, hi; /* first and last byte of its pages */
	const char *what;
};
/* every I/O APIC kept, two local APIC pages, and room for the HPETs and
 * VT-d units of a large server */
#define ACPI_MAX_PLATFORM (ACPI_MAX_IOAPICS + 64)
extern struct acpi_range acpi_platform[ACPI_MAX_PLATFORM];
extern unsigned acpi_nplatform;

/* the local APIC's base as the CPU decodes it (IA32_APIC_BASE; lapic_init
 * reports it after acpi_init): its page joins acpi_platform unless the
 * MADT's local APIC is on it already; a base other than the MADT's is
 * said in one line, and both are kept from BARs. No MADT: added quietly */
void acpi_platform_lapic(uint64_t base);

/* the platform range that meets [lo, hi] (inclusive), NULL if none */
static inline const struct acpi_range *acpi_platform_at(uint64_t lo,
							uint64_t hi)
{
	for (unsigned i = 0; i < acpi_nplatform; i++)
		if (lo <= acpi_platform[i].hi && acpi_platform[i].lo <= hi)
			return &acpi_platform[i];
	return NULL;
}
#endif
