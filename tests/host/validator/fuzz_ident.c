/* tests/host/validator/fuzz_ident.c — libFuzzer target for the Namespace
 * Identification Descriptor list (Identify CNS 03h) a hostile controller
 * answers: dma/nvme_ident.c + nvme_ident_ns_descs, then the identity
 * comparison a reset makes with what it found.
 *
 * Input: one byte whose low four bits are the identifiers Identify
 * Namespace gave before the list (NVME_NSIDS_*, their values drawn from
 * the next 48 bytes), then the list's page (the rest, up to 4096 bytes,
 * zeros after it: the spec's padding). The page lies in a heap block of
 * exactly NVME_IDENTIFY_BYTES, so one byte read past it is an ASan report.
 *
 * The ORACLE reads the page its own way, in two passes: it first cuts the
 * page into descriptors by their headers alone (where each starts and how
 * long it says it is) until a NIDL of 0 or the end, noting the first that
 * does not fit; then judges them. From that it knows whether the list is
 * usable, the offset of the first fault, and the identifiers a usable list
 * gives. The parser must agree on all three: a usable list's identifiers
 * (each equal to the bytes at its descriptor, none all zeros), the ones it
 * did not name left as Identify Namespace gave them; an unusable one
 * leaving the identifiers as they were, byte for byte. Then the identity
 * rule: the result is never another namespace than itself, and compared
 * with what Identify Namespace gave, it is another namespace exactly when
 * a usable list replaced a known identifier by another value. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dma/nvme_ident.h"
#include "tests/host/shim/shim.h"

#define PAGE NVME_IDENTIFY_BYTES

struct desc {
	unsigned at, type, len;
};

/* the oracle's own table of the identifier types */
static const struct {
	unsigned nidt, bit, len;
} types[] = {
    {1, NVME_NSIDS_EUI64, 8},
    {2, NVME_NSIDS_NGUID, 16},
    {3, NVME_NSIDS_UUID, 16},
    {4, NVME_NSIDS_CSI, 1},
};

static uint8_t *field(struct nvme_ns_ids *ids, unsigned bit)
{
	switch (bit) {
	case NVME_NSIDS_EUI64:
		return ids->eui64;
	case NVME_NSIDS_NGUID:
		return ids->nguid;
	case NVME_NSIDS_UUID:
		return ids->uuid;
	default:
		return &ids->csi;
	}
}

/* the page as descriptors: how many fit before the list ends (a NIDL of
 * 0, the page's end, or trailing zeros too short for a header); *cut is
 * the offset of one that does not fit (PAGE when none) */
static unsigned cut_page(const uint8_t *p, struct desc *d, unsigned *cut)
{
	unsigned n = 0;
	*cut = PAGE;
	for (unsigned at = 0; at < PAGE;) {
		if (PAGE - at < 4) {
			bool zeros = true;
			for (unsigned i = at; i < PAGE; i++)
				zeros &= p[i] == 0;
			if (!zeros)
				*cut = at;
			break;
		}
		unsigned len = p[at + 1];
		if (len == 0)
			break;
		if (at + 4 + len > PAGE) {
			*cut = at;
			break;
		}
		d[n++] = (struct desc){at, p[at], len};
		at += 4 + len;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shim_quiet = 1;
	if (size < 1 + 48)
		return 0;
	/* what Identify Namespace gave: zeros are none */
	struct nvme_ns_ids before = {0};
	unsigned have = data[0] & 0xf;
	for (unsigned t = 0; t < 4; t++) {
		if (!(have & types[t].bit))
			continue;
		uint8_t *f = field(&before, types[t].bit);
		memcpy(f, data + 1 + 12 * t, types[t].len);
		bool zero = types[t].bit != NVME_NSIDS_CSI;
		for (unsigned i = 0; i < types[t].len; i++)
			zero &= f[i] == 0;
		if (zero)
			memset(f, 0, types[t].len);
		else
			before.have |= (uint8_t)types[t].bit;
	}
	uint8_t *page = calloc(1, PAGE);
	if (!page)
		abort();
	size_t n = size - 49 < PAGE ? size - 49 : PAGE;
	memcpy(page, data + 49, n);

	/* the oracle */
	static struct desc d[PAGE / 5 + 1];
	unsigned cut;
	unsigned nd = cut_page(page, d, &cut);
	unsigned fault = cut, seen = 0;
	struct nvme_ns_ids want = before;
	for (unsigned i = 0; i < nd; i++) {
		unsigned t = 0;
		while (t < 4 && types[t].nidt != d[i].type)
			t++;
		if (t == 4)
			continue; /* a type capOS does not know */
		if (d[i].len != types[t].len || (seen & types[t].bit)) {
			fault = d[i].at;
			break;
		}
		seen |= types[t].bit;
		const uint8_t *v = page + d[i].at + 4;
		bool zero = types[t].bit != NVME_NSIDS_CSI;
		for (unsigned k = 0; k < types[t].len; k++)
			zero &= v[k] == 0;
		if (!zero) {
			memcpy(field(&want, types[t].bit), v, types[t].len);
			want.have |= (uint8_t)types[t].bit;
		}
	}
	/* a fault before the cut is the first one the walk meets */
	bool usable = fault == PAGE;

	struct nvme_ns_ids got = before;
	unsigned at = 0x5a5a;
	const char *why = nvme_ident_ns_descs(page, &got, &at);
	if (usable != !why)
		__builtin_trap();
	if (!usable && at != fault)
		__builtin_trap();
	if (memcmp(&got, usable ? &want : &before, sizeof(got)))
		__builtin_trap();
	/* none of the identifiers kept is all zeros */
	for (unsigned t = 0; t < 3; t++) {
		if (!(got.have & types[t].bit))
			continue;
		bool zero = true;
		for (unsigned k = 0; k < types[t].len; k++)
			zero &= field(&got, types[t].bit)[k] == 0;
		if (zero)
			__builtin_trap();
	}
	/* the identity rule */
	if (nvme_ident_ids_changed(&got, &got))
		__builtin_trap();
	bool other = false;
	for (unsigned t = 0; t < 4; t++)
		if ((before.have & types[t].bit) &&
		    memcmp(field(&before, types[t].bit),
			   field(&got, types[t].bit), types[t].len))
			other = true;
	if ((nvme_ident_ids_changed(&before, &got) != 0) != other)
		__builtin_trap();
	free(page);
	return 0;
}
