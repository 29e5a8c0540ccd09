/* tests/host/iommu/dmar_build.h — builds DMAR tables the way QEMU 7.2's
 * build_dmar_q35 (hw/i386/acpi-build.c) lays them out, for the test and
 * the fuzzer's seed. */
#ifndef DMAR_BUILD_H
#define DMAR_BUILD_H
#include <stdint.h>
#include <string.h>

struct dmar_buf {
	uint8_t b[1024];
	size_t n;
};

static inline void db_put(struct dmar_buf *d, const void *p, size_t n)
{
	memcpy(d->b + d->n, p, n);
	d->n += n;
}

static inline void db_u8(struct dmar_buf *d, uint8_t v)
{
	db_put(d, &v, 1);
}
static inline void db_u16(struct dmar_buf *d, uint16_t v)
{
	db_put(d, &v, 2);
}
static inline void db_u64(struct dmar_buf *d, uint64_t v)
{
	db_put(d, &v, 8);
}

static inline void db_len16(struct dmar_buf *d, size_t at)
{
	uint16_t l = (uint16_t)(d->n - at);
	memcpy(d->b + at + 2, &l, 2);
}

/* header: 36-byte ACPI header, HAW-1, flags, 10 reserved */
static inline void db_header(struct dmar_buf *d, uint8_t haw_minus1,
			     uint8_t flags)
{
	memset(d->b, 0, sizeof(d->b));
	memcpy(d->b, "DMAR", 4);
	d->n = 36;
	db_u8(d, haw_minus1);
	db_u8(d, flags);
	uint8_t z[10] = {0};
	db_put(d, z, 10);
}

static inline void db_scope(struct dmar_buf *d, uint8_t type, uint8_t id,
			    uint8_t bus, const uint8_t *path, unsigned hops)
{
	db_u8(d, type);
	db_u8(d, (uint8_t)(6 + 2 * hops));
	db_u16(d, 0);
	db_u8(d, id);
	db_u8(d, bus);
	db_put(d, path, 2 * hops);
}

/* the fixed part of a DRHD (VT-d 3.4 §8.3): type 0, length (db_len16
 * fills it), flags, reserved, segment, register base; returns where it
 * starts */
static inline size_t db_drhd(struct dmar_buf *d, uint8_t flags,
			     uint16_t segment, uint64_t base)
{
	size_t at = d->n;
	db_u16(d, 0);
	db_u16(d, 0);
	db_u8(d, flags);
	db_u8(d, 0);
	db_u16(d, segment);
	db_u64(d, base);
	return at;
}

/* the fixed part of an RMRR (VT-d 3.4 §8.4): type 1, length, reserved,
 * segment 0, base and limit; returns where it starts */
static inline size_t db_rmrr(struct dmar_buf *d, uint64_t base, uint64_t limit)
{
	size_t at = d->n;
	db_u16(d, 1);
	db_u16(d, 0);
	db_u16(d, 0);
	db_u16(d, 0);
	db_u64(d, base);
	db_u64(d, limit);
	return at;
}

/* one DRHD as QEMU builds it: IOAPIC, then a bridge (00:01.0) and an
 * endpoint (00:02.0), at 0xfed90000 */
static inline void db_qemu(struct dmar_buf *d)
{
	db_header(d, 38, 1);
	size_t at = db_drhd(d, 0, 0, 0xfed90000ull);
	const uint8_t ioapic[] = {0, 0}, br[] = {1, 0}, ep[] = {2, 0};
	db_scope(d, 3, 0, 0xff, ioapic, 1);
	db_scope(d, 2, 0, 0, br, 1);
	db_scope(d, 1, 0, 0, ep, 1);
	db_len16(d, at);
	uint32_t len = (uint32_t)d->n;
	memcpy(d->b + 4, &len, 4);
}
#endif
