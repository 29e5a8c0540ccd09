/* tests/host/validator/test_ident.c — the Identify parser (dma/nvme_ident.c)
 * against a hostile device: every field it reads from an Identify
 * Controller or Namespace page or an Active Namespace ID list set to its
 * edges and to absurd values. What it may never do: read outside the page
 * or field it was handed, write past the array it fills, or give a policy
 * a transfer limit, block size or namespace the device did not describe
 * exactly. Buffers are heap blocks of exactly the size the parser is told,
 * so one byte past them is an ASan report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dma/nvme_ident.h"
#include "tests/host/shim/shim.h"

/* ---- ASCII fields ------------------------------------------------------- */
/* nvme_ident_str over a copy of src in a block of exactly n bytes */
static void str_of(char *dst, const char *src, unsigned n)
{
	uint8_t *b = malloc(n);
	assert_non_null(b);
	memcpy(b, src, n);
	nvme_ident_str(dst, b, n);
	free(b);
}

static void t_ident_str(void **s)
{
	(void)s;
	char d[48];
	/* space padded, a field of 20 full of text: nothing past it read */
	memset(d, 0x55, sizeof(d));
	str_of(d, "capos-nvme0         ", 20);
	assert_string_equal(d, "capos-nvme0");
	assert_int_equal((uint8_t)d[12], 0x55); /* only n + 1 bytes written */
	str_of(d, "ABCDEFGHIJKLMNOPQRST", 20);
	assert_string_equal(d, "ABCDEFGHIJKLMNOPQRST");
	assert_int_equal((uint8_t)d[21], 0x55);
	/* NUL padded, and spaces and NULs mixed at the end */
	str_of(d, "ab\0\0\0\0\0\0", 8);
	assert_string_equal(d, "ab");
	str_of(d, "ab \0 \0  ", 8);
	assert_string_equal(d, "ab");
	/* nothing but padding: empty */
	str_of(d, "        ", 8);
	assert_string_equal(d, "");
	str_of(d, "\0\0\0\0\0\0\0\0", 8);
	assert_string_equal(d, "");
	/* inside the text: a space stays, a NUL and every byte outside
	 * 0x20..0x7e reads as '?' (never raw on the console) */
	str_of(d, "a b\0c", 5);
	assert_string_equal(d, "a b?c");
	str_of(d, "\x1f \x7e\x7f\x80\xff\x01z", 8);
	assert_string_equal(d, "? ~????z");
}

/* ---- Identify Controller ---------------------------------------------- */
static void t_ident_ctrl(void **s)
{
	(void)s;
	struct nvme_id_ctrl *id = calloc(1, sizeof(*id));
	struct nvme_ident_ctrl c;
	assert_non_null(id);
	memcpy(id->sn, "SN-1                ", 20);
	memcpy(id->mn, "Model \x01 X", 9);
	memcpy(id->fr, "1.0     ", 8);
	id->mdts = 0xff; /* absurd: 2^255 pages */
	id->nn = 0xffffffff;
	id->vwc = 0xfe; /* bit 0 clear: no volatile cache, whatever else */
	memset(&c, 0x55, sizeof(c));
	nvme_ident_ctrl_parse(id, &c);
	assert_string_equal(c.sn, "SN-1");
	assert_string_equal(c.mn, "Model ? X");
	assert_string_equal(c.fr, "1.0");
	assert_int_equal(c.mdts, 0xff);
	assert_int_equal(c.nn, 0xffffffff);
	assert_false(c.vwc);
	assert_int_equal(nvme_ident_max_xfer(c.mdts, 0), NVME_VAL_XFER_CAP);
	id->vwc = 1;
	nvme_ident_ctrl_parse(id, &c);
	assert_true(c.vwc);
	id->vwc = 3;
	id->mdts = 5;
	id->nn = 2;
	nvme_ident_ctrl_parse(id, &c);
	assert_true(c.vwc);
	assert_int_equal(c.mdts, 5);
	assert_int_equal(c.nn, 2);
	/* ONCS (bytes 521:520) as the device says it: the policy decides */
	assert_int_equal(c.oncs, 0);
	id->oncs = NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES | 0x8000;
	nvme_ident_ctrl_parse(id, &c);
	assert_int_equal(c.oncs, 0x800c);
	free(id);
}

/* MDTS (NVMe 2.0 §5.17.2.1: 2^MDTS units of CAP.MPSMIN, 0 no limit) for
 * every byte a device can send and every MPSMIN, against a reading of its
 * own: 2^(12 + MPSMIN + MDTS) bytes, NVME_VAL_XFER_CAP when that is more
 * or MDTS is 0. Never 0, never above the cap, never above what the
 * device said. */
static void t_ident_max_xfer(void **s)
{
	(void)s;
	for (unsigned mps = 0; mps < 16; mps++)
		for (unsigned mdts = 0; mdts < 256; mdts++) {
			uint32_t want = NVME_VAL_XFER_CAP;
			if (mdts && 12 + mps + mdts <= 21)
				want = 1u << (12 + mps + mdts);
			uint32_t got = nvme_ident_max_xfer((uint8_t)mdts, mps);
			if (got != want)
				fail_msg("MDTS %u MPSMIN %u: %u, not %u", mdts,
					 mps, got, want);
		}
	assert_int_equal(NVME_VAL_XFER_CAP, 1u << 21);
	assert_int_equal(nvme_ident_max_xfer(5, 0), 128u << 10);
	assert_int_equal(nvme_ident_max_xfer(9, 0), 2u << 20);
	/* an MPSMIN past CAP's 4 bits: as large as 15 */
	assert_int_equal(nvme_ident_max_xfer(1, 40), NVME_VAL_XFER_CAP);
}

/* ---- Identify Namespace ----------------------------------------------- */
#define LBAF(lbads, ms) ((uint32_t)(lbads) << 16 | (uint32_t)(ms))
#define FLBAS_EXT	0x10

static struct nvme_id_ns *ns_page(uint64_t nsze, uint8_t nlbaf, uint8_t flbas)
{
	struct nvme_id_ns *id = calloc(1, sizeof(*id));
	assert_non_null(id);
	id->nsze = id->ncap = id->nuse = nsze;
	id->nlbaf = nlbaf;
	id->flbas = flbas;
	return id;
}

/* parse; on a refusal the entry is left as it was */
static const char *parse(const struct nvme_id_ns *id, uint32_t nsid,
			 struct nvme_ns_policy *out)
{
	struct nvme_ns_policy before;
	memset(out, 0xa5, sizeof(*out));
	before = *out;
	const char *why = nvme_ident_ns_parse(id, nsid, out);
	if (why)
		assert_memory_equal(out, &before, sizeof(before));
	return why;
}

static void expect_ns(const struct nvme_ns_policy *p, uint32_t nsid,
		      uint64_t nsze, uint32_t lba, uint32_t md, uint32_t data)
{
	assert_int_equal(p->nsid, nsid);
	assert_int_equal(p->nsze, nsze);
	assert_int_equal(p->lba_bytes, lba);
	assert_int_equal(p->md_bytes, md);
	assert_int_equal(p->data_bytes, data);
}

static void t_ident_ns_sizes(void **s)
{
	(void)s;
	struct nvme_ns_policy p;
	struct nvme_id_ns *id = ns_page(2048, 0, 0);
	id->lbaf[0] = LBAF(9, 0);
	assert_null(parse(id, 7, &p));
	expect_ns(&p, 7, 2048, 512, 0, 512);
	assert_int_equal(p.dlfeat, 0); /* DLFEAT (byte 33) as it is */
	id->dlfeat = 0x19;
	assert_null(parse(id, 7, &p));
	assert_int_equal(p.dlfeat, 0x19);
	id->dlfeat = 0;
	/* size 0 is an inactive namespace; 1 block and 2^64 - 1 are sizes */
	id->nsze = 0;
	assert_string_equal(parse(id, 7, &p), "size zero (inactive)");
	id->nsze = 1;
	assert_null(parse(id, 7, &p));
	expect_ns(&p, 7, 1, 512, 0, 512);
	id->nsze = UINT64_MAX;
	assert_null(parse(id, 7, &p));
	expect_ns(&p, 7, UINT64_MAX, 512, 0, 512);
	/* LBADS 9..16 (512 B to 64 KiB), nothing else */
	static const struct {
		uint8_t lbads;
		bool ok;
	} ds[] = {{0, false},  {1, false},  {8, false},	 {9, true},
		  {12, true},  {16, true},  {17, false}, {31, false},
		  {32, false}, {63, false}, {64, false}, {255, false}};
	for (unsigned i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		id->lbaf[0] = LBAF(ds[i].lbads, 0);
		const char *why = parse(id, 7, &p);
		if (ds[i].ok) {
			assert_null(why);
			expect_ns(&p, 7, UINT64_MAX, 1u << ds[i].lbads, 0,
				  1u << ds[i].lbads);
		} else {
			assert_string_equal(
			    why, "LBA data size outside 512 B..64 KiB");
		}
	}
	/* metadata: separate (MPTR) or at the end of each block */
	id->lbaf[0] = LBAF(12, 8);
	assert_null(parse(id, 7, &p));
	expect_ns(&p, 7, UINT64_MAX, 4096, 8, 4096);
	id->flbas = FLBAS_EXT;
	assert_null(parse(id, 7, &p));
	expect_ns(&p, 7, UINT64_MAX, 4104, 0, 4096);
	/* the largest of both: 64 KiB + 65535 bytes per block */
	id->lbaf[0] = LBAF(16, 0xffff);
	assert_null(parse(id, 7, &p));
	expect_ns(&p, 7, UINT64_MAX, 65536 + 65535, 0, 65536);
	id->flbas = 0;
	assert_null(parse(id, 7, &p));
	expect_ns(&p, 7, UINT64_MAX, 65536, 0xffff, 65536);
	/* the descriptor's top byte (Relative Performance, reserved bits)
	 * is no part of the size */
	id->lbaf[0] = LBAF(12, 0) | 0xff000000u;
	assert_null(parse(id, 7, &p));
	expect_ns(&p, 7, UINT64_MAX, 4096, 0, 4096);
	free(id);
}

/* The format in use is FLBAS 3:0, with FLBAS 6:5 above it when there are
 * more than 16 formats (NLBAF, 0's based, 16 or more: NVM Command Set 1.0
 * §4.1.5.1); it must be one of the NLBAF + 1 the page lists, and the
 * table holds 64 whatever NLBAF says. */
static void t_ident_ns_format_index(void **s)
{
	(void)s;
	struct nvme_ns_policy p;
	struct nvme_id_ns *id = ns_page(100, 0, 1);
	for (unsigned i = 0; i < 64; i++)
		id->lbaf[i] = LBAF(9 + i % 8, i); /* tell them apart */
	/* index 1 of a single format: refused; of two: the second */
	assert_string_equal(parse(id, 3, &p), "LBA format index beyond NLBAF");
	id->nlbaf = 1;
	assert_null(parse(id, 3, &p));
	expect_ns(&p, 3, 100, 1024, 1, 1024);
	/* 16 formats (NLBAF 15): FLBAS 6:5 ignored */
	id->nlbaf = 15;
	id->flbas = 0x60 | 2;
	assert_null(parse(id, 3, &p));
	expect_ns(&p, 3, 100, 2048, 2, 2048);
	id->flbas = 0x20 | 15;
	assert_null(parse(id, 3, &p));
	expect_ns(&p, 3, 100, 1u << (9 + 15 % 8), 15, 1u << (9 + 15 % 8));
	/* 17 formats (NLBAF 16): FLBAS 6:5 count; index 16 is the last */
	id->nlbaf = 16;
	id->flbas = 0x20 | 0;
	assert_null(parse(id, 3, &p));
	expect_ns(&p, 3, 100, 512, 16, 512);
	id->flbas = 0x20 | 1; /* 17 */
	assert_string_equal(parse(id, 3, &p), "LBA format index beyond NLBAF");
	id->flbas = 0x40 | 0; /* 32 */
	assert_string_equal(parse(id, 3, &p), "LBA format index beyond NLBAF");
	/* 64 formats: index 63, FLBAS 6:5 = 3 and 3:0 = 15, is the last
	 * entry of the table; with the extended bit too */
	id->nlbaf = 63;
	id->flbas = 0x60 | 15;
	assert_null(parse(id, 3, &p));
	expect_ns(&p, 3, 100, 1u << (9 + 63 % 8), 63, 1u << (9 + 63 % 8));
	id->flbas = 0x60 | FLBAS_EXT | 15;
	assert_null(parse(id, 3, &p));
	expect_ns(&p, 3, 100, (1u << (9 + 63 % 8)) + 63, 0, 1u << (9 + 63 % 8));
	id->nlbaf = 62;
	assert_string_equal(parse(id, 3, &p), "LBA format index beyond NLBAF");
	/* NLBAF past the table (up to 255) names no entry beyond it: the
	 * index has 6 bits */
	id->nlbaf = 255;
	id->flbas = 0x60 | 15;
	assert_null(parse(id, 3, &p));
	expect_ns(&p, 3, 100, 1u << (9 + 63 % 8), 63, 1u << (9 + 63 % 8));
	/* FLBAS bit 7 (reserved) changes nothing */
	id->flbas = 0x80 | 0x60 | 15;
	assert_null(parse(id, 3, &p));
	expect_ns(&p, 3, 100, 1u << (9 + 63 % 8), 63, 1u << (9 + 63 % 8));
	free(id);
}

/* ---- Active Namespace ID list ---------------------------------------- */
/* nvme_ident_nslist over a page (NVME_NSLIST_MAX entries, exactly) holding
 * ids[0..n) then zeros, into an array of exactly max */
static unsigned nslist(const uint32_t *v, unsigned nv, uint32_t *out,
		       unsigned max, bool *bad)
{
	uint32_t *page = calloc(NVME_NSLIST_MAX, sizeof(uint32_t));
	uint32_t *ids = malloc((max ? max : 1) * sizeof(uint32_t));
	assert_non_null(page);
	assert_non_null(ids);
	memcpy(page, v, nv * sizeof(uint32_t));
	*bad = !*bad; /* the result must not depend on what it held */
	unsigned n = nvme_ident_nslist(page, ids, max, bad);
	assert_true(n <= max);
	memcpy(out, ids, n * sizeof(uint32_t));
	free(ids);
	free(page);
	return n;
}

static void t_ident_nslist(void **s)
{
	(void)s;
	uint32_t out[NVME_NSLIST_MAX];
	bool bad = false;
	static const uint32_t ok[] = {1, 2, 5, 0x7fffffff, 0xfffffffe};
	assert_int_equal(nslist(ok, 5, out, 16, &bad), 5);
	assert_false(bad);
	assert_memory_equal(out, ok, sizeof(ok));
	bad = true;
	assert_int_equal(nslist(ok, 5, out, 16, &bad), 5);
	assert_false(bad);
	/* empty: the first entry 0 */
	assert_int_equal(nslist(ok, 0, out, 16, &bad), 0);
	assert_false(bad);
	/* out of order, repeated, or the broadcast NSID: the list ends
	 * there, said */
	static const uint32_t rep[] = {3, 3, 4};
	assert_int_equal(nslist(rep, 3, out, 16, &bad), 1);
	assert_true(bad);
	assert_int_equal(out[0], 3);
	static const uint32_t down[] = {1, 5, 2, 6};
	bad = true;
	assert_int_equal(nslist(down, 4, out, 16, &bad), 2);
	assert_true(bad);
	static const uint32_t all[] = {1, 0xffffffff};
	assert_int_equal(nslist(all, 2, out, 16, &bad), 1);
	assert_true(bad);
	assert_int_equal(nslist(&all[1], 1, out, 16, &bad), 0);
	assert_true(bad);
	/* after a zero nothing is read as an entry */
	static const uint32_t gap[] = {1, 0, 2};
	assert_int_equal(nslist(gap, 3, out, 16, &bad), 1);
	assert_false(bad);
	/* at most max: the rest is not looked at (not said to be bad) */
	static const uint32_t many[] = {1, 2, 3, 4, 5, 2};
	assert_int_equal(nslist(many, 6, out, 4, &bad), 4);
	assert_false(bad);
	assert_int_equal(out[3], 4);
	assert_int_equal(nslist(many, 6, out, 0, &bad), 0);
	/* a full page: every entry, nothing read past it */
	uint32_t *full = malloc(NVME_NSLIST_MAX * sizeof(uint32_t));
	assert_non_null(full);
	for (unsigned i = 0; i < NVME_NSLIST_MAX; i++)
		full[i] = i + 1;
	assert_int_equal(
	    nvme_ident_nslist(full, out, 2 * NVME_NSLIST_MAX, &bad),
	    NVME_NSLIST_MAX);
	assert_false(bad);
	assert_int_equal(out[NVME_NSLIST_MAX - 1], NVME_NSLIST_MAX);
	/* in place, as the broker reads its page */
	assert_int_equal(nvme_ident_nslist(full, full, NVME_NSLIST_MAX, &bad),
			 NVME_NSLIST_MAX);
	assert_int_equal(full[NVME_NSLIST_MAX - 1], NVME_NSLIST_MAX);
	free(full);
}

/* ---- the namespaces to grant ------------------------------------------ */
struct ns_dev {
	struct nvme_id_ns page;
	unsigned calls;
	uint32_t asked[16];
};

/* nsid 2 fails its Identify; nsid 3 is inactive (size 0); nsid 6 has an
 * index past NLBAF; the others are 1000 * nsid blocks of 512 bytes */
static const struct nvme_id_ns *ns_identify(void *ctx, uint32_t nsid)
{
	struct ns_dev *d = ctx;
	if (d->calls < 16)
		d->asked[d->calls] = nsid;
	d->calls++;
	if (nsid == 2)
		return NULL;
	memset(&d->page, 0, sizeof(d->page));
	d->page.nsze = nsid == 3 ? 0 : 1000ull * nsid;
	d->page.lbaf[0] = LBAF(9, 0);
	d->page.flbas = nsid == 6 ? 1 : 0;
	return &d->page;
}

static unsigned lines;
static void count_line(const char *line)
{
	(void)line;
	lines++;
}

static unsigned namespaces(const uint32_t *v, unsigned n,
			   struct nvme_ns_policy *out, unsigned max,
			   struct ns_dev *d)
{
	uint32_t *ids = malloc((n ? n : 1) * sizeof(uint32_t));
	struct nvme_ns_policy *o = malloc((max ? max : 1) * sizeof(*o));
	assert_non_null(ids);
	assert_non_null(o);
	memcpy(ids, v, n * sizeof(uint32_t));
	memset(d, 0, sizeof(*d));
	lines = 0;
	shim_line_hook = count_line;
	struct nvme_ident_src src = {
	    .identify = ns_identify, .ctx = d, .vs = 0x10000, .name = "t"};
	unsigned g = nvme_ident_namespaces(ids, n, &src, o, max);
	shim_line_hook = 0;
	assert_true(g <= max);
	memcpy(out, o, g * sizeof(*o));
	free(o);
	free(ids);
	return g;
}

static void t_ident_namespaces(void **s)
{
	(void)s;
	struct ns_dev d;
	struct nvme_ns_policy out[8];
	static const uint32_t ids[] = {1, 2, 3, 4, 5, 6, 7};
	/* one line for each left out, with the reason; the rest in order */
	assert_int_equal(namespaces(ids, 7, out, 8, &d), 4);
	assert_int_equal(d.calls, 7);
	assert_int_equal(lines, 3);
	expect_ns(&out[0], 1, 1000, 512, 0, 512);
	expect_ns(&out[1], 4, 4000, 512, 0, 512);
	expect_ns(&out[2], 5, 5000, 512, 0, 512);
	expect_ns(&out[3], 7, 7000, 512, 0, 512);
	assert_string_equal(shim_last_line,
			    "t: namespace 6 not granted: LBA format index "
			    "beyond NLBAF\n");
	/* room for two: the third usable one is not even identified */
	assert_int_equal(namespaces(ids, 7, out, 2, &d), 2);
	assert_int_equal(d.calls, 4);
	assert_int_equal(d.asked[3], 4);
	assert_int_equal(lines, 2);
	expect_ns(&out[1], 4, 4000, 512, 0, 512);
	/* none asked for, no room: nothing identified */
	assert_int_equal(namespaces(ids, 0, out, 8, &d), 0);
	assert_int_equal(d.calls, 0);
	assert_int_equal(namespaces(ids, 7, out, 0, &d), 0);
	assert_int_equal(d.calls, 0);
	assert_int_equal(lines, 0);
	/* a failed Identify says so */
	assert_int_equal(namespaces(&ids[1], 1, out, 8, &d), 0);
	assert_int_equal(lines, 1);
	assert_string_equal(shim_last_line, "t: namespace 2 not granted: "
					    "Identify Namespace failed\n");
}

/* ---- a namespace's identifiers ---------------------------------------- */
/* a descriptor list of exactly NVME_IDENTIFY_BYTES on the heap: one byte
 * past it is an ASan report */
static uint8_t *desc_page(void)
{
	uint8_t *p = calloc(1, NVME_IDENTIFY_BYTES);
	assert_non_null(p);
	return p;
}

/* one descriptor at pos: type, length, then the value v (n bytes, or
 * the byte v0 repeated when v is NULL); returns where the next goes */
static unsigned put_desc(uint8_t *p, unsigned pos, uint8_t nidt, uint8_t nidl,
			 const uint8_t *v, uint8_t v0)
{
	p[pos] = nidt;
	p[pos + 1] = nidl;
	for (unsigned i = 0; i < nidl; i++)
		p[pos + 4 + i] = v ? v[i] : v0;
	return pos + 4 + nidl;
}

/* unknown-type descriptors from pos up to exactly end (end - pos >= 60) */
static void fill_to(uint8_t *p, unsigned pos, unsigned end)
{
	while (end - pos >= 264)
		pos = put_desc(p, pos, 0x80, 200, 0, 1);
	if (end - pos > 259)
		pos = put_desc(p, pos, 0x80, 100, 0, 1);
	put_desc(p, pos, 0x81, (uint8_t)(end - pos - 4), 0, 2);
}

static const uint8_t NGUID_A[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
				    0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
				    0xdd, 0xee, 0xff, 0x01};
static const uint8_t EUI_A[8] = {0x00, 0x11, 0x22, 0x33,
				 0x44, 0x55, 0x66, 0x77};

/* QEMU 7.2's answer (hw/nvme/ctrl.c nvme_identify_ns_descr_list: UUID,
 * then EUI64 when set, then CSI) and NGUID, each read; an unknown type
 * skipped by its NIDL; the list's values over Identify Namespace's */
static void t_ident_descs_read(void **s)
{
	(void)s;
	uint8_t *p = desc_page();
	unsigned pos = put_desc(p, 0, NVME_NIDT_UUID, 16, 0, 0xab);
	pos = put_desc(p, pos, 0x7f, 3, 0, 0xee); /* unknown: skipped */
	pos = put_desc(p, pos, NVME_NIDT_EUI64, 8, EUI_A, 0);
	pos = put_desc(p, pos, NVME_NIDT_NGUID, 16, NGUID_A, 0);
	pos = put_desc(p, pos, NVME_NIDT_CSI, 1, 0, NVME_CSI_NVM);
	struct nvme_ns_ids ids = {.have = NVME_NSIDS_EUI64};
	memset(ids.eui64, 0x99, 8); /* Identify Namespace's: replaced */
	unsigned at = 77;
	assert_null(nvme_ident_ns_descs(p, &ids, &at));
	assert_int_equal(ids.have, NVME_NSIDS_EUI64 | NVME_NSIDS_NGUID |
				       NVME_NSIDS_UUID | NVME_NSIDS_CSI);
	assert_memory_equal(ids.eui64, EUI_A, 8);
	assert_memory_equal(ids.nguid, NGUID_A, 16);
	assert_int_equal(ids.uuid[15], 0xab);
	assert_int_equal(ids.csi, NVME_CSI_NVM);
	char h[NVME_IDENT_ID_STR];
	nvme_ident_id_str(&ids, NVME_NSIDS_EUI64, h);
	assert_string_equal(h, "0011223344556677");
	nvme_ident_id_str(&ids, NVME_NSIDS_NGUID, h);
	assert_string_equal(h, "112233445566778899aabbccddeeff01");
	/* an identifier of zeros is none: Identify Namespace's stays */
	memset(p, 0, NVME_IDENTIFY_BYTES);
	put_desc(p, 0, NVME_NIDT_NGUID, 16, 0, 0);
	ids = (struct nvme_ns_ids){.have = NVME_NSIDS_NGUID};
	ids.nguid[0] = 5;
	assert_null(nvme_ident_ns_descs(p, &ids, &at));
	assert_int_equal(ids.have, NVME_NSIDS_NGUID);
	assert_int_equal(ids.nguid[0], 5);
	nvme_ident_id_str(&ids, NVME_NSIDS_UUID, h);
	assert_string_equal(h, "none");
	/* descriptors to the page's last byte: read, nothing past it */
	memset(p, 0, NVME_IDENTIFY_BYTES);
	pos = 0;
	for (unsigned i = 0; i < 19; i++) /* 19 x 204 bytes */
		pos = put_desc(p, pos, 0x80, 200, 0, 1);
	pos = put_desc(p, pos, NVME_NIDT_UUID, 16, 0, 0); /* zeros: none */
	pos = put_desc(p, pos, 0x81, (uint8_t)(NVME_IDENTIFY_BYTES - pos - 4),
		       0, 2);
	assert_int_equal(pos, NVME_IDENTIFY_BYTES);
	ids = (struct nvme_ns_ids){0};
	assert_null(nvme_ident_ns_descs(p, &ids, &at));
	assert_int_equal(ids.have, 0);
	/* the zeros after the last one: 1..3 bytes left end it too */
	for (unsigned left = 1; left < 4; left++) {
		memset(p, 0, NVME_IDENTIFY_BYTES);
		fill_to(p, 0, NVME_IDENTIFY_BYTES - left);
		assert_null(nvme_ident_ns_descs(p, &ids, &at));
		p[NVME_IDENTIFY_BYTES - 1] = 1; /* not zeros: cut short */
		assert_non_null(nvme_ident_ns_descs(p, &ids, &at));
		assert_int_equal(at, NVME_IDENTIFY_BYTES - left);
	}
	free(p);
}

/* hostile lists: none of their identifiers is believed, ids untouched,
 * the descriptor's offset named */
static void t_ident_descs_hostile(void **s)
{
	(void)s;
	uint8_t *p = desc_page();
	const struct nvme_ns_ids was = {.have = NVME_NSIDS_EUI64,
					.eui64 = {1, 2, 3, 4, 5, 6, 7, 8}};
	struct nvme_ns_ids ids;
	unsigned at;
	struct {
		const char *what;
		unsigned at;
	} c[6];
	/* a length that disagrees with its type, each type */
	static const uint8_t types[4] = {NVME_NIDT_EUI64, NVME_NIDT_NGUID,
					 NVME_NIDT_UUID, NVME_NIDT_CSI};
	for (unsigned t = 0; t < 4; t++) {
		memset(p, 0, NVME_IDENTIFY_BYTES);
		unsigned pos =
		    put_desc(p, 0,
			     NVME_NIDT_UUID == types[t] ? NVME_NIDT_NGUID
							: NVME_NIDT_UUID,
			     16, 0, 9);
		put_desc(p, pos, types[t], 2, 0, 9);
		ids = was;
		assert_string_equal(nvme_ident_ns_descs(p, &ids, &at),
				    "a descriptor's NIDL is not its type's "
				    "length");
		assert_int_equal(at, 20);
		assert_memory_equal(&ids, &was, sizeof(ids));
	}
	/* a type given twice, with the same value or another */
	memset(p, 0, NVME_IDENTIFY_BYTES);
	unsigned pos = put_desc(p, 0, NVME_NIDT_NGUID, 16, NGUID_A, 0);
	put_desc(p, pos, NVME_NIDT_NGUID, 16, NGUID_A, 0);
	ids = was;
	c[0].what = nvme_ident_ns_descs(p, &ids, &at);
	c[0].at = at;
	assert_string_equal(c[0].what, "a descriptor type given twice");
	assert_int_equal(c[0].at, 20);
	assert_memory_equal(&ids, &was, sizeof(ids));
	/* one that runs past the page: its NIDL, or its header */
	for (unsigned left = 4; left < 20; left++) {
		memset(p, 0, NVME_IDENTIFY_BYTES);
		pos = NVME_IDENTIFY_BYTES - left;
		fill_to(p, 0, pos);
		/* a UUID needs 20 bytes: left of them are there */
		p[pos] = NVME_NIDT_UUID;
		p[pos + 1] = NVME_NIDL_UUID;
		memset(p + pos + 4, 7, left - 4);
		ids = was;
		assert_string_equal(nvme_ident_ns_descs(p, &ids, &at),
				    "a descriptor runs past 4096 bytes");
		assert_int_equal(at, pos);
		assert_memory_equal(&ids, &was, sizeof(ids));
	}
	free(p);
}

/* Identify Namespace's NGUID (1.2 on) and EUI64 (1.1 on) by version; a
 * descriptor list over them */
static void t_ident_ns_ids_versions(void **s)
{
	(void)s;
	struct nvme_id_ns *id = calloc(1, sizeof(*id));
	assert_non_null(id);
	id->nsze = 8;
	id->lbaf[0] = LBAF(9, 0);
	memcpy(id->nguid, NGUID_A, 16);
	memcpy(id->eui64, EUI_A, 8);
	struct nvme_ns_policy p;
	unsigned at;
	static const struct {
		uint32_t vs;
		uint8_t have;
	} v[] = {{0x10000, 0},
		 {0x10100, NVME_NSIDS_EUI64},
		 {0x10200, NVME_NSIDS_EUI64 | NVME_NSIDS_NGUID},
		 {0x20000, NVME_NSIDS_EUI64 | NVME_NSIDS_NGUID}};
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_null(nvme_ident_ns_parse(id, 1, &p));
		assert_null(nvme_ident_ns_ids(&p.ids, v[i].vs, NULL, &at));
		assert_int_equal(p.ids.have, v[i].have);
	}
	assert_memory_equal(p.ids.nguid, NGUID_A, 16);
	free(id);
}

/* the identity rule across a reset: an identifier known before and
 * changed, or gone, is another namespace; one unknown before proves
 * nothing; the first such is named */
static void t_ident_ids_changed(void **s)
{
	(void)s;
	struct nvme_ns_ids a = {.have = NVME_NSIDS_NGUID | NVME_NSIDS_UUID};
	memcpy(a.nguid, NGUID_A, 16);
	a.uuid[0] = 1;
	struct nvme_ns_ids b = a;
	assert_int_equal(nvme_ident_ids_changed(&a, &b), 0);
	b.nguid[15] ^= 1;
	assert_int_equal(nvme_ident_ids_changed(&a, &b), NVME_NSIDS_NGUID);
	b = a;
	b.have &= (uint8_t)~NVME_NSIDS_UUID;
	assert_int_equal(nvme_ident_ids_changed(&a, &b), NVME_NSIDS_UUID);
	/* unknown before: known now is no change */
	b = a;
	b.have |= NVME_NSIDS_EUI64;
	b.eui64[0] = 7;
	assert_int_equal(nvme_ident_ids_changed(&a, &b), 0);
	struct nvme_ns_ids none = {0};
	assert_int_equal(nvme_ident_ids_changed(&none, &a), 0);
	assert_int_equal(nvme_ident_ids_changed(&none, &none), 0);
	assert_int_equal(nvme_ident_ids_changed(&a, &none), NVME_NSIDS_NGUID);
	/* the CSI is a value: NVM (0) known is compared as any */
	struct nvme_ns_ids c = {.have = NVME_NSIDS_CSI, .csi = NVME_CSI_NVM};
	struct nvme_ns_ids d = c;
	d.csi = 2;
	assert_int_equal(nvme_ident_ids_changed(&c, &d), NVME_NSIDS_CSI);
	assert_string_equal(nvme_ident_id_name(NVME_NSIDS_CSI), "CSI");
}

/* the namespaces to grant with their descriptor lists (version 1.3): one
 * refused or unusable keeps Identify Namespace's identifiers, said once a
 * probe; one naming a command set other than NVM is not granted */
struct descs_dev {
	struct ns_dev ns;
	uint8_t *page;
};
static const struct nvme_id_ns *descs_identify(void *ctx, uint32_t nsid)
{
	struct descs_dev *d = ctx;
	const struct nvme_id_ns *id = ns_identify(&d->ns, nsid);
	memcpy(d->ns.page.eui64, EUI_A, 8);
	d->ns.page.eui64[7] = (uint8_t)nsid;
	return id;
}
static const uint8_t *descs_list(void *ctx, uint32_t nsid)
{
	struct descs_dev *d = ctx;
	memset(d->page, 0, NVME_IDENTIFY_BYTES);
	if (nsid == 1) /* refused */
		return NULL;
	if (nsid == 4) /* a bad length */
		put_desc(d->page, 0, NVME_NIDT_EUI64, 16, 0, 1);
	if (nsid == 5) /* the Zoned Namespace command set */
		put_desc(d->page, 0, NVME_NIDT_CSI, 1, 0, 2);
	if (nsid == 7)
		put_desc(d->page, 0, NVME_NIDT_EUI64, 8, 0, 0x42);
	return d->page;
}

static void t_ident_namespaces_descs(void **s)
{
	(void)s;
	struct descs_dev d = {.page = desc_page()};
	struct nvme_ns_policy out[8];
	static const uint32_t ids[] = {1, 4, 5, 7};
	struct nvme_ident_src src = {.identify = descs_identify,
				     .descs = descs_list,
				     .ctx = &d,
				     .vs = 0x10300,
				     .name = "t"};
	lines = 0;
	shim_line_hook = count_line;
	assert_int_equal(nvme_ident_namespaces(ids, 4, &src, out, 8), 3);
	shim_line_hook = 0;
	/* namespace 1's refusal said (once a probe: not 4's list), 5's
	 * command set */
	assert_int_equal(lines, 2);
	assert_true(src.said);
	assert_string_equal(shim_last_line, "t: namespace 5 not granted: its "
					    "command set (CSI) is not NVM\n");
	assert_int_equal(out[0].nsid, 1);
	assert_int_equal(out[0].ids.have, NVME_NSIDS_EUI64);
	assert_int_equal(out[0].ids.eui64[7], 1);
	assert_int_equal(out[1].nsid, 4);
	assert_int_equal(out[1].ids.eui64[7], 4);
	assert_int_equal(out[2].nsid, 7);
	assert_int_equal(out[2].ids.eui64[0], 0x42);
	/* before 1.3 no list is asked */
	src.vs = 0x10200;
	src.said = false;
	d.ns.calls = 0;
	assert_int_equal(nvme_ident_namespaces(&ids[2], 1, &src, out, 8), 1);
	assert_false(src.said);
	free(d.page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_ident_str),
	    cmocka_unit_test(t_ident_ctrl),
	    cmocka_unit_test(t_ident_max_xfer),
	    cmocka_unit_test(t_ident_ns_sizes),
	    cmocka_unit_test(t_ident_ns_format_index),
	    cmocka_unit_test(t_ident_nslist),
	    cmocka_unit_test(t_ident_namespaces),
	    cmocka_unit_test(t_ident_descs_read),
	    cmocka_unit_test(t_ident_descs_hostile),
	    cmocka_unit_test(t_ident_ns_ids_versions),
	    cmocka_unit_test(t_ident_ids_changed),
	    cmocka_unit_test(t_ident_namespaces_descs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
