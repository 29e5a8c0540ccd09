/* kernel/devmgr/smbios.h — the SMBIOS strings the cloud-shape classifier
 * reads (pure C: kernel, host tests, fuzzer).
 *
 * DMTF DSP0134 (SMBIOS 3.x): §5.2.1 the 2.1 (32-bit) entry point "_SM_",
 * §5.2.2 the 3.0 (64-bit) entry point "_SM3_", §6.1 the structure table
 * (header, formatted area, string set), §7.1 BIOS (type 0), §7.2 System
 * (type 1), §7.4 Chassis (type 3). Everything is bounded by the lengths the
 * caller gives; a malformed entry point or table is an error with a reason,
 * never a read past the buffer. */
#ifndef CAPOS_SMBIOS_H
#define CAPOS_SMBIOS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- entry points (DSP0134 §5.2) ----------------------------------------- */
#define SMBIOS2_EP_LEN		 0x1f /* 2.1 entry point; some firmware says 0x1e */
#define SMBIOS2_EP_CKSUM	 0x04 /* u8: bytes [0, len) sum to 0 */
#define SMBIOS2_EP_LENGTH	 0x05 /* u8 */
#define SMBIOS2_EP_MAJOR	 0x06 /* u8 */
#define SMBIOS2_EP_MINOR	 0x07 /* u8 */
#define SMBIOS2_EP_DMI		 0x10 /* "_DMI_" intermediate anchor */
#define SMBIOS2_EP_DMI_CKSUM_LEN 15   /* bytes [0x10, 0x1f) sum to 0 */
#define SMBIOS2_EP_TABLE_LEN	 0x16 /* le16 */
#define SMBIOS2_EP_TABLE_ADDR	 0x18 /* le32 */
#define SMBIOS3_EP_LEN		 0x18
#define SMBIOS3_EP_CKSUM	 0x05 /* u8 */
#define SMBIOS3_EP_LENGTH	 0x06 /* u8 */
#define SMBIOS3_EP_MAJOR	 0x07 /* u8 */
#define SMBIOS3_EP_MINOR	 0x08 /* u8 */
#define SMBIOS3_EP_TABLE_MAX	 0x0c /* le32: maximum table size */
#define SMBIOS3_EP_TABLE_ADDR	 0x10 /* le64 */

/* ---- structures (DSP0134 §6.1.2, §7) --------------------------------------
 */
#define SMBIOS_HDR_TYPE	    0 /* u8 */
#define SMBIOS_HDR_LEN	    1 /* u8: formatted area, header included, >= 4 */
#define SMBIOS_HDR_HANDLE   2 /* le16 */
#define SMBIOS_HDR_SIZE	    4
#define SMBIOS_TYPE_BIOS    0
#define SMBIOS_TYPE_SYSTEM  1
#define SMBIOS_TYPE_CHASSIS 3
#define SMBIOS_TYPE_END	    127
/* string-number fields (1-based index into the string set, 0: none) */
#define SMBIOS_BIOS_VENDOR	    0x04
#define SMBIOS_BIOS_VERSION	    0x05
#define SMBIOS_SYS_MANUFACTURER	    0x04
#define SMBIOS_SYS_PRODUCT	    0x05
#define SMBIOS_SYS_VERSION	    0x06
#define SMBIOS_CHASSIS_MANUFACTURER 0x04
#define SMBIOS_CHASSIS_ASSET_TAG    0x08

/* the walk stops after this many structures (real tables have ~50) */
#define SMBIOS_MAX_STRUCTS 1024
/* longest table capOS reads: far above any real one (a few KiB) */
#define SMBIOS_MAX_TABLE (1u << 20)
#define SMBIOS_STR_MAX	 64

struct smbios_info {
	bool present; /* a table was parsed (maybe partly: see error) */
	uint8_t major, minor;
	unsigned nstructs;
	const char *error; /* why the walk stopped early, NULL if it did not */
	/* strings: printable ASCII, trailing blanks trimmed, "" when absent */
	char bios_vendor[SMBIOS_STR_MAX];
	char bios_version[SMBIOS_STR_MAX];
	char sys_vendor[SMBIOS_STR_MAX];  /* type 1 Manufacturer */
	char sys_product[SMBIOS_STR_MAX]; /* type 1 Product Name */
	char sys_version[SMBIOS_STR_MAX];
	char chassis_vendor[SMBIOS_STR_MAX];
	char chassis_asset_tag[SMBIOS_STR_MAX];
};

/* An entry point of `avail` readable bytes (2.1 or 3.0). On success fills
 * the table's physical address and length (3.0 gives a maximum; the walk
 * stops at the end structure) and info->major/minor; returns 0. On a bad
 * anchor, length or checksum returns -1 with *why set. */
int smbios_parse_entry(const uint8_t *ep, size_t avail, uint64_t *table,
		       uint32_t *len, struct smbios_info *info,
		       const char **why);

/* Walk len bytes of structure table, filling the strings above (each
 * cleared first, nstructs and error too: nothing of a table read before
 * into info stays). Returns 0 when the end structure (or the end of a
 * well-formed table) was reached, -1 when the table is malformed; what was
 * read before the fault is kept and info->error says what was wrong. */
int smbios_parse_table(const uint8_t *t, size_t len, struct smbios_info *info);
#endif
