/* kernel/acpi/acpi.h — the ACPI tables the kernel uses (checksum-verified). */
#ifndef CAPOS_ACPI_H
#define CAPOS_ACPI_H
#include <stdbool.h>
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
extern uint64_t acpi_hpet_base;	    /* 0: none */
#endif
