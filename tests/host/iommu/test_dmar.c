/* tests/host/iommu/test_dmar.c — the DMAR parser (kernel/iommu/dmar.c)
 * against QEMU's table shape, RMRRs, and every malformed length, under
 * ASan+UBSan: each table sits in a heap buffer of exactly its length, so
 * any read past it is a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dmar_build.h"
#include "kernel/iommu/dmar.h"
#include "kernel/lib/lib.h"
#include "shim.h"

static int parse(const struct dmar_buf *d, size_t len, struct dmar_info *o,
		 const char **why)
{
	uint8_t *t = malloc(len ? len : 1);
	memcpy(t, d->b, len);
	int r = dmar_parse(t, len, o, why);
	free(t);
	return r;
}

static void test_qemu_shape(void **st)
{
	struct dmar_buf d;
	struct dmar_info o;
	const char *why = NULL;
	db_qemu(&d);
	assert_int_equal(parse(&d, d.n, &o, &why), 0);
	assert_int_equal(o.haw, 39);
	assert_int_equal(o.flags, DMAR_FLAG_INTR_REMAP);
	assert_int_equal(o.nunits, 1);
	assert_int_equal(o.units[0].base, 0xfed90000ull);
	assert_int_equal(o.units[0].nscopes, 3);
	assert_int_equal(o.scopes[0].type, DMAR_SCOPE_IOAPIC);
	assert_int_equal(o.scopes[0].bus, 0xff);
	assert_int_equal(o.scopes[1].type, DMAR_SCOPE_BRIDGE);
	assert_int_equal(o.scopes[1].path[0][0], 1);
	assert_int_equal(o.scopes[2].type, DMAR_SCOPE_ENDPOINT);
	assert_int_equal(o.scopes[2].path[0][0], 2);
	assert_int_equal(o.nrmrr, 0);
}

/* a second unit with INCLUDE_PCI_ALL and an RMRR whose scope goes through
 * a bridge (two hops); then an unknown structure type, skipped */
static void test_rmrr_and_multi_hop(void **st)
{
	struct dmar_buf d;
	struct dmar_info o;
	const char *why = NULL;
	db_qemu(&d);
	size_t at = db_drhd(&d, DMAR_DRHD_INCLUDE_PCI_ALL, 0, 0xfed91000ull);
	db_len16(&d, at);
	at = db_rmrr(&d, 0x7a000000ull, 0x7a01ffffull);
	const uint8_t path[] = {0x1c, 0, 0, 0};
	db_scope(&d, 1, 0, 0, path, 2);
	db_len16(&d, at);
	at = d.n;
	db_u16(&d, 5); /* SATC: not used */
	db_u16(&d, 0);
	db_u64(&d, 0);
	db_len16(&d, at);
	assert_int_equal(parse(&d, d.n, &o, &why), 0);
	assert_int_equal(o.nunits, 2);
	assert_int_equal(o.units[1].flags, DMAR_DRHD_INCLUDE_PCI_ALL);
	assert_int_equal(o.units[1].nscopes, 0);
	assert_int_equal(o.nrmrr, 1);
	assert_int_equal(o.rmrr[0].base, 0x7a000000ull);
	assert_int_equal(o.rmrr[0].limit, 0x7a01ffffull);
	const struct dmar_scope *s = &o.scopes[o.rmrr[0].scope0];
	assert_int_equal(s->npath, 2);
	assert_int_equal(s->path[0][0], 0x1c);
	assert_int_equal(o.skipped, 1);
}

/* every prefix of a valid table: parsed only if it ends on a structure
 * boundary, never read past its end (ASan) */
static void test_truncation(void **st)
{
	struct dmar_buf d;
	struct dmar_info o;
	const char *why;
	db_qemu(&d);
	for (size_t len = 0; len < d.n; len++) {
		why = NULL;
		assert_int_equal(parse(&d, len, &o, &why), -1);
		assert_non_null(why);
	}
}

static void expect_bad(struct dmar_buf *d, const char *want)
{
	struct dmar_info o;
	const char *why = NULL;
	assert_int_equal(parse(d, d->n, &o, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, want);
}

/* QEMU's table (db_qemu: the DRHD at 48, its first scope at 48 + 16) with
 * len bytes at off set to val, and the reason the parser must give */
static const struct {
	unsigned off, len;
	uint8_t val;
	const char *want;
} malformed[] = {
    /* structure length 0 would loop forever */
    {48 + 2, 2, 0, "structure length"},
    /* structure longer than the table */
    {48 + 2, 1, 0xff, "structure length"},
    /* scope length under its header */
    {48 + 16 + 1, 1, 5, "device scope length"},
    /* a scope with no path */
    {48 + 16 + 1, 1, 6, "device scope path length"},
    /* odd path length */
    {48 + 16 + 1, 1, 9, "device scope length"},
    /* device number past 31 */
    {48 + 16 + 6, 1, 32, "device scope path entry"},
    /* register base not page aligned, or zero */
    {48 + 8, 1, 0x10, "DRHD register base"},
    {48 + 8, 8, 0, "DRHD register base"},
    /* not a DMAR */
    {0, 1, 'X', "table header"},
};

static void test_malformed(void **st)
{
	struct dmar_buf d;
	for (unsigned i = 0; i < ARRAY_SIZE(malformed); i++) {
		db_qemu(&d);
		memset(d.b + malformed[i].off, malformed[i].val,
		       malformed[i].len);
		expect_bad(&d, malformed[i].want);
	}
	/* a DMAR with no unit */
	db_header(&d, 38, 0);
	expect_bad(&d, "no DRHD unit");
}

static void test_bad_rmrr(void **st)
{
	struct dmar_buf d;
	db_qemu(&d);
	size_t at = db_rmrr(&d, 0x2000, 0x1fff); /* limit below base */
	db_len16(&d, at);
	expect_bad(&d, "RMRR range");
	db_qemu(&d);
	/* limit not one below a page boundary */
	at = db_rmrr(&d, 0x2000, 0x2ffe);
	db_len16(&d, at);
	expect_bad(&d, "RMRR range");
}

/* more scopes than the table holds: refused, not overflowed */
static void test_too_many_scopes(void **st)
{
	static struct dmar_buf d;
	db_header(&d, 38, 0);
	size_t at = db_drhd(&d, 0, 0, 0xfed90000ull);
	const uint8_t ep[] = {2, 0};
	for (unsigned i = 0; i < DMAR_MAX_SCOPES + 1; i++)
		db_scope(&d, 1, 0, 0, ep, 1);
	db_len16(&d, at);
	expect_bad(&d, "more device scopes than DMAR_MAX_SCOPES");
}

/* VT-d 3.4 §8.3.1: a device scope's Length counts its 6-byte header and
 * its path, two bytes a hop, and the scope lies inside the structure that
 * holds it. A scope longer than what is left of its DRHD, with a table
 * going on after it, and an odd length ending exactly at its DRHD's end,
 * are both refused: the first would read the next structure's bytes as
 * its path, the second half a hop */
static void test_scope_inside_its_structure_even_length(void **st)
{
	struct dmar_buf d;
	db_header(&d, 38, 0);
	size_t at = db_drhd(&d, 0, 0, 0xfed90000ull);
	const uint8_t ep[] = {2, 0, 3, 0};
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 0, ep, 2);
	d.n -= 2;			       /* the DRHD ends after hop one */
	db_len16(&d, at);		       /* 16 + 8: the scope says 10 */
	at = db_drhd(&d, 0, 0, 0xfed91000ull); /* the next structure */
	db_len16(&d, at);
	expect_bad(&d, "device scope length");
	db_header(&d, 38, 0);
	at = db_drhd(&d, 0, 0, 0xfed90000ull);
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 0, ep, 1);
	d.b[at + 16 + 1] = 9; /* 6 + 2 + 1 */
	db_u8(&d, 0);
	db_len16(&d, at); /* the DRHD ends with the scope */
	expect_bad(&d, "device scope length");
}

/* VT-d 3.4 §8.3/§8.4: a table with more DRHD units than DMAR_MAX_UNITS,
 * or more RMRRs than DMAR_MAX_RMRR, is refused whole: the unit or region
 * left out would be a device translated by a unit the kernel does not
 * program, or a reserved range it does not map */
static void test_units_and_rmrrs_past_the_limits_refused(void **st)
{
	static struct dmar_buf d;
	struct dmar_info o;
	const char *why = NULL;
	db_header(&d, 38, 0);
	for (unsigned i = 0; i < DMAR_MAX_UNITS; i++)
		db_len16(&d, db_drhd(&d, 0, 0, 0xfed90000ull + 0x1000 * i));
	assert_int_equal(parse(&d, d.n, &o, &why), 0);
	assert_int_equal(o.nunits, DMAR_MAX_UNITS);
	db_len16(&d, db_drhd(&d, 0, 0, 0xfed80000ull));
	expect_bad(&d, "more DRHD units than DMAR_MAX_UNITS");
	db_qemu(&d);
	for (unsigned i = 0; i < DMAR_MAX_RMRR; i++)
		db_len16(&d, db_rmrr(&d, 0x7a000000ull + 0x1000 * i,
				     0x7a000fffull + 0x1000 * i));
	assert_int_equal(parse(&d, d.n, &o, &why), 0);
	assert_int_equal(o.nrmrr, DMAR_MAX_RMRR);
	db_len16(&d, db_rmrr(&d, 0x7b000000ull, 0x7b000fffull));
	expect_bad(&d, "more RMRRs than DMAR_MAX_RMRR");
}

/* VT-d 3.4 §8.4 table layout: an RMRR's Segment Number is the 16 bits at
 * byte 6, its base at 8 and its limit at 16; the segment is the one its
 * device scopes' buses are in */
static void test_rmrr_segment_read(void **st)
{
	struct dmar_buf d;
	struct dmar_info o;
	const char *why = NULL;
	db_qemu(&d);
	size_t at = db_rmrr(&d, 0x7a000000ull, 0x7a000fffull);
	const uint8_t ep[] = {2, 0};
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 0, ep, 1);
	db_len16(&d, at);
	d.b[at + 6] = 0x34;
	d.b[at + 7] = 0x12;
	assert_int_equal(parse(&d, d.n, &o, &why), 0);
	assert_int_equal(o.nrmrr, 1);
	assert_int_equal(o.rmrr[0].seg, 0x1234);
	assert_int_equal(o.rmrr[0].base, 0x7a000000ull);
	assert_int_equal(o.rmrr[0].limit, 0x7a000fffull);
	assert_int_equal(o.rmrr[0].nscopes, 1);
}

/* VT-d 3.4 §8.3.1 device scope: a path of up to DMAR_MAX_PATH hops, each
 * (device 0-31, function 0-7), kept as read; a scope area too short for
 * a scope header, or a scope with no path, is refused (the table here
 * ends with the DRHD, so a read past it is ASan's) */
static void test_scope_path_limits_and_fields(void **st)
{
	struct dmar_buf d;
	struct dmar_info o;
	const char *why = NULL;
	uint8_t path[2 * DMAR_MAX_PATH];
	for (unsigned i = 0; i < DMAR_MAX_PATH; i++) {
		path[2 * i] = (uint8_t)(31 - i);
		path[2 * i + 1] = (uint8_t)(7 - i % 8);
	}
	db_header(&d, 38, 0);
	size_t at = db_drhd(&d, 0, 0, 0xfed90000ull);
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 3, path, DMAR_MAX_PATH);
	db_len16(&d, at);
	assert_int_equal(parse(&d, d.n, &o, &why), 0);
	assert_int_equal(o.nscopes, 1);
	assert_int_equal(o.scopes[0].bus, 3);
	assert_int_equal(o.scopes[0].npath, DMAR_MAX_PATH);
	for (unsigned i = 0; i < DMAR_MAX_PATH; i++) {
		assert_int_equal(o.scopes[0].path[i][0], path[2 * i]);
		assert_int_equal(o.scopes[0].path[i][1], path[2 * i + 1]);
	}
	/* one byte after the DRHD's header: no room for a scope */
	db_header(&d, 38, 0);
	at = db_drhd(&d, 0, 0, 0xfed90000ull);
	db_u8(&d, 1);
	db_len16(&d, at);
	expect_bad(&d, "device scope length");
	/* a last scope of its header alone */
	db_header(&d, 38, 0);
	at = db_drhd(&d, 0, 0, 0xfed90000ull);
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 0, path, 0);
	db_len16(&d, at);
	expect_bad(&d, "device scope path length");
}

/* VT-d 3.4 §8.2-§8.4: a structure is at least its 4-byte type and
 * length (an unknown one of 4 bytes is skipped), a DRHD at least its 16
 * bytes, an RMRR its 24, each checked before its fields are read (the
 * short one ends the table here: a read of its fields is past it); an
 * RMRR whose scope is bad refuses the table as a DRHD's does */
static void test_structure_minimum_lengths(void **st)
{
	struct dmar_buf d;
	struct dmar_info o;
	const char *why = NULL;
	db_qemu(&d);
	db_u16(&d, 0x55); /* an unknown type, header only */
	db_u16(&d, 4);
	assert_int_equal(parse(&d, d.n, &o, &why), 0);
	assert_int_equal(o.skipped, 1);
	db_qemu(&d);
	db_u16(&d, 0); /* a DRHD of 8 bytes */
	db_u16(&d, 8);
	db_u16(&d, 0);
	db_u16(&d, 0);
	expect_bad(&d, "DRHD length");
	db_qemu(&d);
	db_u16(&d, 1); /* an RMRR of 16 bytes */
	db_u16(&d, 16);
	db_u64(&d, 0);
	db_u16(&d, 0);
	db_u16(&d, 0);
	expect_bad(&d, "RMRR length");
	db_qemu(&d);
	size_t at = db_rmrr(&d, 0x7a000000ull, 0x7a000fffull);
	const uint8_t bad[] = {32, 0};
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 0, bad, 1);
	db_len16(&d, at);
	expect_bad(&d, "device scope path entry");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qemu_shape),
	    cmocka_unit_test(test_rmrr_and_multi_hop),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_bad_rmrr),
	    cmocka_unit_test(test_too_many_scopes),
	    cmocka_unit_test(test_scope_inside_its_structure_even_length),
	    cmocka_unit_test(test_units_and_rmrrs_past_the_limits_refused),
	    cmocka_unit_test(test_rmrr_segment_read),
	    cmocka_unit_test(test_scope_path_limits_and_fields),
	    cmocka_unit_test(test_structure_minimum_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
