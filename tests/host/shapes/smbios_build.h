/* tests/host/shapes/smbios_build.h — builds SMBIOS tables and entry points
 * the way firmware lays them out (DSP0134 §5.2, §6.1), for the tests. */
#ifndef SMBIOS_BUILD_H
#define SMBIOS_BUILD_H
#include <stdint.h>
#include <string.h>

#include "kernel/devmgr/smbios.h"

struct tb {
	uint8_t b[1 << 16];
	size_t n;
	uint16_t handle;
};

/* one structure: header, flen-4 bytes of fields (NULL: zero), then the
 * NULL-terminated list of strings and the double-NUL end */
static inline void tb_struct(struct tb *t, uint8_t type, uint8_t flen,
			     const uint8_t *fields, const char *const *strs)
{
	uint8_t *p = t->b + t->n;
	size_t o = flen;
	int k = 0;
	p[0] = type;
	p[1] = flen;
	p[2] = (uint8_t)t->handle;
	p[3] = (uint8_t)(t->handle++ >> 8);
	if (flen > 4) {
		memset(p + 4, 0, flen - 4u);
		if (fields)
			memcpy(p + 4, fields, flen - 4u);
	}
	for (; strs && strs[k]; k++) {
		size_t l = strlen(strs[k]);
		memcpy(p + o, strs[k], l + 1);
		o += l + 1;
	}
	if (!k)
		p[o++] = 0;
	p[o++] = 0;
	t->n += o;
}

static inline void tb_bios(struct tb *t, const char *vendor, const char *ver)
{
	uint8_t f[0x12 - 4] = {0};
	const char *s[] = {vendor, ver, NULL};
	f[SMBIOS_BIOS_VENDOR - 4] = 1;
	f[SMBIOS_BIOS_VERSION - 4] = 2;
	tb_struct(t, SMBIOS_TYPE_BIOS, 0x12, f, s);
}

static inline void tb_system(struct tb *t, const char *vendor,
			     const char *product)
{
	uint8_t f[0x1b - 4] = {0};
	const char *s[] = {vendor, product, "1.0", NULL};
	f[SMBIOS_SYS_MANUFACTURER - 4] = 1;
	f[SMBIOS_SYS_PRODUCT - 4] = 2;
	f[SMBIOS_SYS_VERSION - 4] = 3;
	tb_struct(t, SMBIOS_TYPE_SYSTEM, 0x1b, f, s);
}

/* asset == NULL: the field says "no string" (index 0) */
static inline void tb_chassis(struct tb *t, const char *vendor,
			      const char *asset)
{
	uint8_t f[0x15 - 4] = {0};
	const char *s[] = {vendor, asset, NULL};
	f[SMBIOS_CHASSIS_MANUFACTURER - 4] = 1;
	f[0x05 - 4] = 0x01; /* chassis type: other */
	f[SMBIOS_CHASSIS_ASSET_TAG - 4] = asset ? 2 : 0;
	tb_struct(t, SMBIOS_TYPE_CHASSIS, 0x15, f, s);
}

static inline void tb_end(struct tb *t)
{
	tb_struct(t, SMBIOS_TYPE_END, 4, NULL, NULL);
}

static inline uint8_t tb_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

/* SMBIOS 2.1 (32-bit) entry point, 0x1f bytes */
static inline void tb_ep2(uint8_t ep[32], uint32_t addr, uint16_t len)
{
	memset(ep, 0, 32);
	memcpy(ep, "_SM_", 4);
	ep[SMBIOS2_EP_LENGTH] = SMBIOS2_EP_LEN;
	ep[SMBIOS2_EP_MAJOR] = 2;
	ep[SMBIOS2_EP_MINOR] = 8;
	memcpy(ep + SMBIOS2_EP_DMI, "_DMI_", 5);
	ep[SMBIOS2_EP_TABLE_LEN] = (uint8_t)len;
	ep[SMBIOS2_EP_TABLE_LEN + 1] = (uint8_t)(len >> 8);
	for (int i = 0; i < 4; i++)
		ep[SMBIOS2_EP_TABLE_ADDR + i] = (uint8_t)(addr >> (8 * i));
	ep[SMBIOS2_EP_DMI + 5] = (uint8_t)-tb_sum(ep + SMBIOS2_EP_DMI, 15);
	ep[SMBIOS2_EP_CKSUM] = (uint8_t)-tb_sum(ep, SMBIOS2_EP_LEN);
}

/* SMBIOS 3.0 (64-bit) entry point, 0x18 bytes */
static inline void tb_ep3(uint8_t ep[32], uint64_t addr, uint32_t max)
{
	memset(ep, 0, 32);
	memcpy(ep, "_SM3_", 5);
	ep[SMBIOS3_EP_LENGTH] = SMBIOS3_EP_LEN;
	ep[SMBIOS3_EP_MAJOR] = 3;
	ep[SMBIOS3_EP_MINOR] = 0;
	ep[0x0a] = 1; /* entry point revision */
	for (int i = 0; i < 4; i++)
		ep[SMBIOS3_EP_TABLE_MAX + i] = (uint8_t)(max >> (8 * i));
	for (int i = 0; i < 8; i++)
		ep[SMBIOS3_EP_TABLE_ADDR + i] = (uint8_t)(addr >> (8 * i));
	ep[SMBIOS3_EP_CKSUM] = (uint8_t)-tb_sum(ep, SMBIOS3_EP_LEN);
}
#endif
