/* tests/host/shapes/fuzz_smbios.c — arbitrary bytes as an SMBIOS entry point
 * and as a structure table, then through the platform and shape decisions:
 * no read outside the buffer (ASan), no undefined behaviour (UBSan), and
 * every string that comes out is printable and terminated. */
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
	if (smbios_parse_entry(buf, size, &table, &len, &s, &why) == 0) {
		if (len > SMBIOS_MAX_TABLE || len < SMBIOS_HDR_SIZE)
			abort();
	} else if (!why) {
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
