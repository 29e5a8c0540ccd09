/* kernel/iommu/dmar.c — DMAR table parser (VT-d spec §8.1–§8.4). Every
 * structure length is checked against the table and every device scope
 * against its structure before a byte of it is read. */
#include "kernel/iommu/dmar.h"
#include "kernel/lib/lib.h"

#define DMAR_HDR_LEN   48 /* ACPI header 36, HAW, flags, 10 reserved */
#define DMAR_OFF_HAW   36
#define DMAR_OFF_FLAGS 37
#define DMAR_TYPE_DRHD 0
#define DMAR_TYPE_RMRR 1
#define DRHD_HDR_LEN   16 /* type, length, flags, size, segment, base */
#define RMRR_HDR_LEN   24 /* type, length, rsvd, segment, base, limit */
#define SCOPE_HDR_LEN  6  /* type, length, flags, rsvd, enum id, bus */

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* §8.3.1: the device scopes in [p, end) */
static int dmar_scopes(const uint8_t *p, const uint8_t *end,
		       struct dmar_info *out, unsigned *first, unsigned *n,
		       const char **why)
{
	*first = out->nscopes;
	*n = 0;
	while (p < end) {
		if (end - p < SCOPE_HDR_LEN || p[1] < SCOPE_HDR_LEN ||
		    p[1] > end - p || (p[1] - SCOPE_HDR_LEN) % 2) {
			*why = "device scope length";
			return -1;
		}
		unsigned hops = (p[1] - SCOPE_HDR_LEN) / 2;
		if (hops == 0 || hops > DMAR_MAX_PATH) {
			*why = "device scope path length";
			return -1;
		}
		if (out->nscopes == DMAR_MAX_SCOPES) {
			*why = "more device scopes than DMAR_MAX_SCOPES";
			return -1;
		}
		struct dmar_scope *s = &out->scopes[out->nscopes++];
		/* p[4], an I/O APIC's or HPET's enumeration id, is not kept:
		 * capOS resolves only PCI scopes (kernel/iommu/scope.c) */
		s->type = p[0];
		s->bus = p[5];
		s->npath = (uint8_t)hops;
		for (unsigned i = 0; i < hops; i++) {
			s->path[i][0] = p[SCOPE_HDR_LEN + 2 * i];
			s->path[i][1] = p[SCOPE_HDR_LEN + 2 * i + 1];
			if (s->path[i][0] > 31 || s->path[i][1] > 7) {
				*why = "device scope path entry";
				return -1;
			}
		}
		(*n)++;
		p += p[1];
	}
	return 0;
}

static int dmar_drhd(const uint8_t *p, uint16_t len, struct dmar_info *out,
		     const char **why)
{
	if (len < DRHD_HDR_LEN) {
		*why = "DRHD length";
		return -1;
	}
	if (out->nunits == DMAR_MAX_UNITS) {
		*why = "more DRHD units than DMAR_MAX_UNITS";
		return -1;
	}
	struct dmar_unit *u = &out->units[out->nunits];
	u->flags = p[4];
	u->seg = rd16(p + 6);
	u->base = rd64(p + 8);
	if (!u->base || (u->base & (PAGE_SIZE - 1))) {
		*why = "DRHD register base";
		return -1;
	}
	if (dmar_scopes(p + DRHD_HDR_LEN, p + len, out, &u->scope0, &u->nscopes,
			why))
		return -1;
	out->nunits++;
	return 0;
}

static int dmar_rmrr(const uint8_t *p, uint16_t len, struct dmar_info *out,
		     const char **why)
{
	if (len < RMRR_HDR_LEN) {
		*why = "RMRR length";
		return -1;
	}
	if (out->nrmrr == DMAR_MAX_RMRR) {
		*why = "more RMRRs than DMAR_MAX_RMRR";
		return -1;
	}
	struct dmar_rmrr *r = &out->rmrr[out->nrmrr];
	r->seg = rd16(p + 6);
	r->base = rd64(p + 8);
	r->limit = rd64(p + 16);
	/* §8.4: 4 KiB aligned base, limit one below a 4 KiB boundary */
	if (r->limit < r->base || (r->base & (PAGE_SIZE - 1)) ||
	    ((r->limit + 1) & (PAGE_SIZE - 1))) {
		*why = "RMRR range";
		return -1;
	}
	if (dmar_scopes(p + RMRR_HDR_LEN, p + len, out, &r->scope0, &r->nscopes,
			why))
		return -1;
	out->nrmrr++;
	return 0;
}

int dmar_parse(const uint8_t *t, size_t len, struct dmar_info *out,
	       const char **why)
{
	memset(out, 0, sizeof(*out));
	if (len < DMAR_HDR_LEN || memcmp(t, "DMAR", 4) != 0) {
		*why = "table header";
		return -1;
	}
	out->haw = (uint8_t)(t[DMAR_OFF_HAW] + 1);
	out->flags = t[DMAR_OFF_FLAGS];
	const uint8_t *p = t + DMAR_HDR_LEN, *end = t + len;
	while (p < end) {
		if (end - p < 4) {
			*why = "structure header";
			return -1;
		}
		uint16_t type = rd16(p), slen = rd16(p + 2);
		if (slen < 4 || slen > end - p) {
			*why = "structure length";
			return -1;
		}
		int r = 0;
		if (type == DMAR_TYPE_DRHD)
			r = dmar_drhd(p, slen, out, why);
		else if (type == DMAR_TYPE_RMRR)
			r = dmar_rmrr(p, slen, out, why);
		else
			out->skipped++;
		if (r)
			return -1;
		p += slen;
	}
	if (!out->nunits) {
		*why = "no DRHD unit";
		return -1;
	}
	return 0;
}
