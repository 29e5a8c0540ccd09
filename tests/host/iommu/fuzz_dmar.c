/* tests/host/iommu/fuzz_dmar.c — arbitrary bytes as a DMAR table. The
 * oracle: the parser never reads past the input (ASan), and whatever it
 * accepts is internally consistent — every unit's and RMRR's scopes lie
 * inside the scope array, every path has 1..DMAR_MAX_PATH hops with valid
 * device/function numbers, register bases are page aligned and non-zero,
 * RMRR ranges are ordered and page bounded — and is what the fuzzer's
 * own reading of the bytes (VT-d 3.4 §8.3-§8.4 layout) finds: every
 * structure inside the table, every device scope of a DRHD or RMRR of
 * even length inside its structure, no more units, RMRRs or scopes than
 * the limits, and each unit, RMRR and scope holding those bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/iommu/dmar.h"
#include "shim.h"

static void check_scopes(const struct dmar_info *o, unsigned first, unsigned n)
{
	if (first > o->nscopes || n > o->nscopes - first)
		__builtin_trap();
	for (unsigned i = first; i < first + n; i++) {
		const struct dmar_scope *s = &o->scopes[i];
		if (!s->npath || s->npath > DMAR_MAX_PATH)
			__builtin_trap();
		for (unsigned h = 0; h < s->npath; h++)
			if (s->path[h][0] > 31 || s->path[h][1] > 7)
				__builtin_trap();
	}
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* the scopes in [p, end) against o->scopes from *k on; false when the
 * layout is not one an accepted table may have or a scope differs */
static bool model_scopes(const uint8_t *p, const uint8_t *end,
			 const struct dmar_info *o, unsigned *k)
{
	while (p < end) {
		size_t left = (size_t)(end - p);
		if (left < 6 || p[1] < 8 || p[1] > left || p[1] % 2 ||
		    (p[1] - 6) / 2 > DMAR_MAX_PATH || *k >= o->nscopes)
			return false;
		const struct dmar_scope *s = &o->scopes[(*k)++];
		if (s->type != p[0] || s->bus != p[5] ||
		    s->npath != (p[1] - 6) / 2)
			return false;
		for (unsigned h = 0; h < s->npath; h++)
			if (s->path[h][0] != p[6 + 2 * h] ||
			    s->path[h][1] != p[7 + 2 * h])
				return false;
		p += p[1];
	}
	return true;
}

/* an accepted table read again, structure by structure: true when o is
 * what its bytes say, in order, with nothing more */
static bool model_agrees(const uint8_t *t, size_t len,
			 const struct dmar_info *o)
{
	unsigned nu = 0, nr = 0, k = 0, skipped = 0;
	if (o->haw != (uint8_t)(t[36] + 1) || o->flags != t[37])
		return false;
	for (size_t at = 48; at < len;) {
		if (len - at < 4)
			return false;
		const uint8_t *p = t + at;
		uint16_t type = get16(p), slen = get16(p + 2);
		if (slen < 4 || slen > len - at)
			return false;
		unsigned first = k;
		if (type == 0) {
			if (slen < 16 || nu >= o->nunits)
				return false;
			const struct dmar_unit *u = &o->units[nu++];
			if (u->flags != p[4] || u->seg != get16(p + 6) ||
			    u->base != get64(p + 8) ||
			    !model_scopes(p + 16, p + slen, o, &k) ||
			    u->scope0 != first || u->nscopes != k - first)
				return false;
		} else if (type == 1) {
			if (slen < 24 || nr >= o->nrmrr)
				return false;
			const struct dmar_rmrr *r = &o->rmrr[nr++];
			if (r->seg != get16(p + 6) || r->base != get64(p + 8) ||
			    r->limit != get64(p + 16) ||
			    !model_scopes(p + 24, p + slen, o, &k) ||
			    r->scope0 != first || r->nscopes != k - first)
				return false;
		} else {
			skipped++;
		}
		at += slen;
	}
	return nu == o->nunits && nr == o->nrmrr && k == o->nscopes &&
	       skipped == o->skipped;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dmar_info o;
	const char *why = NULL;
	/* the signature is checked first; let the fuzzer spend its bytes on
	 * what follows it */
	uint8_t *t = malloc(size + 4);
	memcpy(t, "DMAR", 4);
	memcpy(t + 4, data, size);
	shim_quiet = 1;
	if (dmar_parse(t, size + 4, &o, &why) == 0) {
		if (!o.nunits || o.nunits > DMAR_MAX_UNITS ||
		    o.nrmrr > DMAR_MAX_RMRR || o.nscopes > DMAR_MAX_SCOPES)
			__builtin_trap();
		for (unsigned i = 0; i < o.nunits; i++) {
			if (!o.units[i].base || (o.units[i].base & 0xfff))
				__builtin_trap();
			check_scopes(&o, o.units[i].scope0, o.units[i].nscopes);
		}
		for (unsigned i = 0; i < o.nrmrr; i++) {
			const struct dmar_rmrr *r = &o.rmrr[i];
			if (r->limit < r->base || (r->base & 0xfff) ||
			    ((r->limit + 1) & 0xfff))
				__builtin_trap();
			check_scopes(&o, r->scope0, r->nscopes);
		}
		if (!model_agrees(t, size + 4, &o))
			__builtin_trap();
	} else if (!why) {
		__builtin_trap(); /* a refusal always says why */
	}
	free(t);
	return 0;
}
