/* tests/host/iommu/fuzz_dmar.c — arbitrary bytes as a DMAR table. The
 * oracle: the parser never reads past the input (ASan), and whatever it
 * accepts is internally consistent — every unit's and RMRR's scopes lie
 * inside the scope array, every path has 1..DMAR_MAX_PATH hops with valid
 * device/function numbers, register bases are page aligned and non-zero,
 * RMRR ranges are ordered and page bounded. */
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
	} else if (!why) {
		__builtin_trap(); /* a refusal always says why */
	}
	free(t);
	return 0;
}
