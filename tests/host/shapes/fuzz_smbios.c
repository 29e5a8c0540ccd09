/* tests/host/shapes/fuzz_smbios.c — arbitrary bytes as an SMBIOS entry point
 * and as a structure table, then through the platform and shape decisions:
 * no read outside the buffer (ASan), no undefined behaviour (UBSan), and
 * every string that comes out is printable and terminated. The entry point
 * is judged again by an independent reading of DSP0134 §5.2 (ep_expect):
 * smbios_parse_entry accepts exactly the entry points it accepts, with the
 * same table address, length and version. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/devmgr/shape.h"
#include "kernel/devmgr/smbios.h"
#include "shim.h"

static void check_str(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		abort(); /* not terminated */
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
}

static uint64_t rd_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = n; i--;)
		v = v << 8 | p[i];
	return v;
}

static bool sum_zero(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return !s;
}

/* DSP0134 §5.2.2 "_SM3_": its Entry Point Length (byte 6) from 0x18 to
 * what is readable, its bytes summing to 0, the table address at 0x10,
 * the maximum size at 0x0c. §5.2.1 "_SM_": 0x1f bytes readable, length
 * 0x1f (or 0x1e, 2.1's own misprint), the whole and "_DMI_" with the 15
 * bytes from it each summing to 0, the address at 0x18, the length at
 * 0x16. Either: the table not at 0, at least a header long, not wrapping;
 * a length past SMBIOS_MAX_TABLE is cut to it */
static bool ep_expect(const uint8_t *b, size_t n, uint64_t *table,
		      uint32_t *len, uint8_t *major, uint8_t *minor)
{
	if (n >= 5 && !memcmp(b, "_SM3_", 5)) {
		if (n < 0x18 || b[6] < 0x18 || b[6] > n || !sum_zero(b, b[6]))
			return false;
		*table = rd_le(b + 0x10, 8);
		*len = (uint32_t)rd_le(b + 0x0c, 4);
		*major = b[7], *minor = b[8];
	} else if (n >= 4 && !memcmp(b, "_SM_", 4)) {
		if (n < 0x1f || (b[5] != 0x1e && b[5] != 0x1f) ||
		    !sum_zero(b, b[5]) || memcmp(b + 0x10, "_DMI_", 5) ||
		    !sum_zero(b + 0x10, 15))
			return false;
		*table = rd_le(b + 0x18, 4);
		*len = (uint32_t)rd_le(b + 0x16, 2);
		*major = b[6], *minor = b[7];
	} else {
		return false;
	}
	if (!*table || *len < SMBIOS_HDR_SIZE || *table + *len < *table)
		return false;
	if (*len > SMBIOS_MAX_TABLE)
		*len = SMBIOS_MAX_TABLE;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smbios_info s;
	uint64_t table;
	uint32_t len;
	const char *why;
	unsigned ev;
	shim_quiet = 1;
	/* exact-size copies so ASan sees any overread */
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	memset(&s, 0, sizeof(s));
	uint64_t want_table;
	uint32_t want_len;
	uint8_t major, minor;
	bool want =
	    ep_expect(buf, size, &want_table, &want_len, &major, &minor);
	if (smbios_parse_entry(buf, size, &table, &len, &s, &why) == 0) {
		if (len > SMBIOS_MAX_TABLE || len < SMBIOS_HDR_SIZE || why)
			abort();
		if (!want || table != want_table || len != want_len ||
		    s.major != major || s.minor != minor)
			abort();
	} else if (!why || want) {
		abort();
	}
	memset(&s, 0, sizeof(s));
	int r = smbios_parse_table(buf, size, &s);
	if ((r != 0) != (s.error != NULL) || s.nstructs > SMBIOS_MAX_STRUCTS)
		abort();
	check_str(s.sys_vendor, sizeof(s.sys_vendor));
	check_str(s.sys_product, sizeof(s.sys_product));
	check_str(s.sys_version, sizeof(s.sys_version));
	check_str(s.chassis_asset_tag, sizeof(s.chassis_asset_tag));
	check_str(s.bios_vendor, sizeof(s.bios_vendor));
	check_str(s.bios_version, sizeof(s.bios_version));
	check_str(s.chassis_vendor, sizeof(s.chassis_vendor));
	enum shape_platform p = shape_platform_detect(&s, &ev);
	if (p >= SHAPE_PLAT_COUNT)
		abort();
	/* the first bytes as an Identify model string */
	char model[41];
	shape_id_string(buf, size < 40 ? size : 40, model, sizeof(model));
	check_str(model, sizeof(model));
	struct shape_dev d = {
	    .vendor = size > 1 ? (uint16_t)(buf[0] | buf[1] << 8) : 0,
	    .device = size > 3 ? (uint16_t)(buf[2] | buf[3] << 8) : 0,
	    .class_code = SHAPE_PCI_CLASS_NVME,
	    .model = model,
	    .serial = model};
	struct shape_result res;
	shape_classify(&d, p, &res);
	if (res.kind >= SHAPE_KIND_COUNT)
		abort();
	char evs[128];
	if (shape_evidence_str(res.evidence | ev, evs, sizeof(evs)) < 0)
		abort();
	free(buf);
	return 0;
}
