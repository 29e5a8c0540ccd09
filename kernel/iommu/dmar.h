/* kernel/iommu/dmar.h — the ACPI DMA Remapping table (VT-d spec §8) as
 * capOS uses it: remapping units (DRHD), their device scopes, and reserved
 * memory regions (RMRR). Pure: dmar_parse reads a table in memory and
 * checks every length against its container, so the host tests and a
 * fuzzer build it unchanged. */
#ifndef CAPOS_DMAR_H
#define CAPOS_DMAR_H
#include <stddef.h>
#include <stdint.h>

#define DMAR_MAX_UNITS	8
#define DMAR_MAX_RMRR	8
#define DMAR_MAX_SCOPES 64
#define DMAR_MAX_PATH	8 /* hops below the start bus */

/* §8.3.1 device scope types */
enum dmar_scope_type {
	DMAR_SCOPE_ENDPOINT = 1,
	DMAR_SCOPE_BRIDGE = 2, /* the bridge and everything below it */
	DMAR_SCOPE_IOAPIC = 3,
	DMAR_SCOPE_HPET = 4,
	DMAR_SCOPE_NAMESPACE = 5,
};

struct dmar_scope {
	uint8_t type;
	uint8_t bus; /* start bus */
	uint8_t npath;
	uint8_t path[DMAR_MAX_PATH][2]; /* (device, function) per hop */
};

#define DMAR_DRHD_INCLUDE_PCI_ALL 0x1

struct dmar_unit {
	uint64_t base; /* register page */
	uint16_t seg;
	uint8_t flags;
	unsigned scope0, nscopes; /* into dmar_info.scopes */
};

struct dmar_rmrr {
	uint64_t base, limit; /* inclusive limit */
	uint16_t seg;
	unsigned scope0, nscopes;
};

struct dmar_info {
	uint8_t haw; /* host address width: bits */
	uint8_t flags;
	struct dmar_unit units[DMAR_MAX_UNITS];
	unsigned nunits;
	struct dmar_rmrr rmrr[DMAR_MAX_RMRR];
	unsigned nrmrr;
	struct dmar_scope scopes[DMAR_MAX_SCOPES];
	unsigned nscopes;
	unsigned skipped; /* structures of other types (ATSR, RHSA, SATC...) */
};

#define DMAR_FLAG_INTR_REMAP 0x1

/* parse a whole DMAR table of len bytes (header included). 0, or -1 with
 * *why naming the first malformed structure; on -1 out holds nothing a
 * caller may use. */
int dmar_parse(const uint8_t *t, size_t len, struct dmar_info *out,
	       const char **why);
#endif
