/* kernel/devmgr/smbios.c — see smbios.h. Pure: reads only the buffers it is
 * given, every index checked against their lengths. */
#include "kernel/devmgr/smbios.h"

#include "kernel/lib/lib.h"

static uint32_t le16(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8;
}
static uint32_t le32(const uint8_t *p)
{
	return le16(p) | le16(p + 2) << 16;
}
static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

/* DSP0134 §5.2.2: the 64-bit entry point */
static int smbios3_entry(const uint8_t *ep, size_t avail, uint64_t *table,
			 uint32_t *len, struct smbios_info *info,
			 const char **why)
{
	uint8_t n = avail > SMBIOS3_EP_LENGTH ? ep[SMBIOS3_EP_LENGTH] : 0;
	if (avail < SMBIOS3_EP_LEN || n < SMBIOS3_EP_LEN || n > avail) {
		*why = "3.0 entry point length out of range";
		return -1;
	}
	if (sum8(ep, n) != 0) {
		*why = "3.0 entry point checksum";
		return -1;
	}
	*table = le64(ep + SMBIOS3_EP_TABLE_ADDR);
	*len = le32(ep + SMBIOS3_EP_TABLE_MAX);
	info->major = ep[SMBIOS3_EP_MAJOR];
	info->minor = ep[SMBIOS3_EP_MINOR];
	return 0;
}

/* DSP0134 §5.2.1: the 32-bit entry point with its "_DMI_" part. Length 0x1e
 * is accepted too: SMBIOS 2.1 itself documented it wrongly. */
static int smbios2_entry(const uint8_t *ep, size_t avail, uint64_t *table,
			 uint32_t *len, struct smbios_info *info,
			 const char **why)
{
	uint8_t n = avail > SMBIOS2_EP_LENGTH ? ep[SMBIOS2_EP_LENGTH] : 0;
	if (avail < SMBIOS2_EP_LEN || (n != 0x1e && n != SMBIOS2_EP_LEN)) {
		*why = "2.1 entry point length out of range";
		return -1;
	}
	if (sum8(ep, n) != 0) {
		*why = "2.1 entry point checksum";
		return -1;
	}
	if (memcmp(ep + SMBIOS2_EP_DMI, "_DMI_", 5) != 0 ||
	    sum8(ep + SMBIOS2_EP_DMI, SMBIOS2_EP_DMI_CKSUM_LEN) != 0) {
		*why = "2.1 intermediate (_DMI_) anchor or checksum";
		return -1;
	}
	*table = le32(ep + SMBIOS2_EP_TABLE_ADDR);
	*len = le16(ep + SMBIOS2_EP_TABLE_LEN);
	info->major = ep[SMBIOS2_EP_MAJOR];
	info->minor = ep[SMBIOS2_EP_MINOR];
	return 0;
}

int smbios_parse_entry(const uint8_t *ep, size_t avail, uint64_t *table,
		       uint32_t *len, struct smbios_info *info,
		       const char **why)
{
	int r;
	*why = NULL;
	if (avail >= 5 && !memcmp(ep, "_SM3_", 5))
		r = smbios3_entry(ep, avail, table, len, info, why);
	else if (avail >= 4 && !memcmp(ep, "_SM_", 4))
		r = smbios2_entry(ep, avail, table, len, info, why);
	else {
		*why = "no _SM_ or _SM3_ anchor";
		return -1;
	}
	if (r)
		return r;
	if (!*table || *len < SMBIOS_HDR_SIZE) {
		*why = "empty structure table";
		return -1;
	}
	if (*table + *len < *table) {
		*why = "structure table wraps the address space";
		return -1;
	}
	if (*len > SMBIOS_MAX_TABLE)
		*len = SMBIOS_MAX_TABLE;
	return 0;
}

/* the string set of a structure: [s, end) ends with two NULs (§6.1.3).
 * Returns the offset just past them, or 0 when the set runs off the table. */
static size_t strings_end(const uint8_t *t, size_t len, size_t s)
{
	for (size_t p = s; p + 1 < len; p++)
		if (t[p] == 0 && t[p + 1] == 0)
			return p + 2;
	return 0;
}

/* copy string number idx (1-based) of the set at [s, end) into out:
 * printable ASCII only, trailing blanks trimmed; "" for 0 or a bad index */
static void string_get(const uint8_t *t, size_t s, size_t end, uint8_t idx,
		       char out[SMBIOS_STR_MAX])
{
	out[0] = 0;
	if (!idx)
		return;
	size_t p = s;
	for (uint8_t i = 1; i < idx && p < end; i++) {
		while (p < end && t[p])
			p++;
		p++; /* past this string's NUL */
	}
	size_t n = 0; /* an index past the set copies nothing */
	for (; p < end && t[p] && n < SMBIOS_STR_MAX - 1; p++)
		out[n++] = (t[p] >= 0x20 && t[p] < 0x7f) ? (char)t[p] : '?';
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

/* a string-number field at `field` of a formatted area [off, off+flen);
 * one at or past flen is absent (out stays "") */
static void field_string(const uint8_t *t, size_t off, size_t flen, size_t s,
			 size_t end, unsigned field, char out[SMBIOS_STR_MAX])
{
	if (field < flen)
		string_get(t, s, end, t[off + field], out);
}

int smbios_parse_table(const uint8_t *t, size_t len, struct smbios_info *info)
{
	bool seen_bios = false, seen_sys = false, seen_chassis = false;
	size_t off = 0;
	/* everything is read afresh: no string of an earlier table stays */
	info->present = true;
	info->error = NULL;
	info->nstructs = 0;
	char *strs[] = {info->bios_vendor,	info->bios_version,
			info->sys_vendor,	info->sys_product,
			info->sys_version,	info->chassis_vendor,
			info->chassis_asset_tag};
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		strs[i][0] = 0;
	while (off + SMBIOS_HDR_SIZE <= len) {
		if (info->nstructs == SMBIOS_MAX_STRUCTS) {
			info->error = "more structures than capOS reads";
			return -1;
		}
		uint8_t type = t[off + SMBIOS_HDR_TYPE];
		size_t flen = t[off + SMBIOS_HDR_LEN];
		if (flen < SMBIOS_HDR_SIZE) {
			info->error = "structure shorter than its header";
			return -1;
		}
		if (flen > len - off) {
			info->error = "formatted area past the table";
			return -1;
		}
		size_t s = off + flen;
		size_t end = strings_end(t, len, s);
		if (!end) {
			info->error = "string set not terminated";
			return -1;
		}
		info->nstructs++;
		if (type == SMBIOS_TYPE_END)
			return 0;
		if (type == SMBIOS_TYPE_BIOS && !seen_bios) {
			seen_bios = true;
			field_string(t, off, flen, s, end, SMBIOS_BIOS_VENDOR,
				     info->bios_vendor);
			field_string(t, off, flen, s, end, SMBIOS_BIOS_VERSION,
				     info->bios_version);
		} else if (type == SMBIOS_TYPE_SYSTEM && !seen_sys) {
			seen_sys = true;
			field_string(t, off, flen, s, end,
				     SMBIOS_SYS_MANUFACTURER, info->sys_vendor);
			field_string(t, off, flen, s, end, SMBIOS_SYS_PRODUCT,
				     info->sys_product);
			field_string(t, off, flen, s, end, SMBIOS_SYS_VERSION,
				     info->sys_version);
		} else if (type == SMBIOS_TYPE_CHASSIS && !seen_chassis) {
			seen_chassis = true;
			field_string(t, off, flen, s, end,
				     SMBIOS_CHASSIS_MANUFACTURER,
				     info->chassis_vendor);
			field_string(t, off, flen, s, end,
				     SMBIOS_CHASSIS_ASSET_TAG,
				     info->chassis_asset_tag);
		}
		off = end;
	}
	return 0;
}
