/* tests/host/validator/test_validator.c — one test per validator rule and
 * its boundaries (dma/nvme_validate.c). Device addresses are host addresses
 * inside an arena: owner 1 holds [0, 2 MiB), owner 2 [2, 3 MiB), and the
 * last MiB is nobody's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dma/nvme_validate.h"
#include "kernel/lib/json.h"
#include "tests/host/lib/json_check.h"
#include "val_fixture.h"

static uint8_t *arena;
static uint64_t A; /* arena device address */
static struct grant_table gt;
static int gslot;
static uint32_t ggen;
static struct nvme_val_policy pol;
static uint64_t listbuf[NVME_VAL_LIST_MAX];
static unsigned nfetch;

static bool fetch_fails; /* the list page cannot be read */

static bool fetch(void *ctx, uint64_t iova, uint64_t *dst, uint32_t n)
{
	(void)ctx;
	if (fetch_fails)
		return false;
	/* the validator grant-checked the list page before asking */
	assert_true(grant_covers(&gt, OWNER, iova, (uint64_t)n * 8));
	memcpy(dst, (void *)(uintptr_t)iova, (size_t)n * 8);
	nfetch++;
	return true;
}
static const struct nvme_val_list list = {.fetch = fetch, .out = listbuf};

static int setup(void **state)
{
	(void)state;
	arena = aligned_alloc(4096, 4 * MIB);
	assert_non_null(arena);
	memset(arena, 0, 4 * MIB);
	A = (uint64_t)(uintptr_t)arena;
	memset(&gt, 0, sizeof(gt));
	gslot = grant_add(&gt, OWNER, A, 2 * MIB, &ggen);
	assert_true(gslot >= 0);
	assert_true(grant_add(&gt, 2, A + 2 * MIB, MIB, NULL) >= 0);
	val_policy(&pol, &gt, OWNER);
	pol.nns = 2;
	pol.ns[1] = (struct nvme_ns_policy){
	    .nsid = 2, .lba_bytes = 4096, .md_bytes = 8};
	nfetch = 0;
	fetch_fails = false;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(arena);
	return 0;
}

static struct nvme_sqe rw(uint8_t opc, uint32_t nsid, uint64_t prp1,
			  uint64_t prp2, uint32_t nlb0)
{
	struct nvme_sqe c = {0};
	c.cdw0 = opc | (0x1234u << 16);
	c.nsid = nsid;
	c.prp1 = prp1;
	c.prp2 = prp2;
	c.cdw12 = nlb0;
	return c;
}

static struct nvme_sqe adm(uint8_t opc, uint64_t prp1)
{
	struct nvme_sqe c = {0};
	c.cdw0 = opc | (7u << 16);
	c.prp1 = prp1;
	return c;
}

static enum nvme_verdict io(const struct nvme_sqe *c, struct nvme_val_result *r)
{
	return nvme_validate(&pol, NVME_QT_IO, c, &list, r);
}
static enum nvme_verdict ad(const struct nvme_sqe *c, struct nvme_val_result *r)
{
	return nvme_validate(&pol, NVME_QT_ADMIN, c, &list, r);
}

/* ---- basics ------------------------------------------------------------- */
static void t_accept_4k_read(void **s)
{
	(void)s;
	struct nvme_val_result r;
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A + 8192, 0xdead000, 7);
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_PRP1);
	assert_int_equal(r.xfer, 4096);
	assert_false(r.uses_mptr);
}

static void t_names_distinct(void **s)
{
	(void)s;
	for (int i = 0; i < NVME_V_NREASONS; i++) {
		const char *a = nvme_verdict_name((enum nvme_verdict)i);
		assert_string_not_equal(a, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(
			    a, nvme_verdict_name((enum nvme_verdict)j));
	}
	assert_string_equal(nvme_verdict_name(NVME_V_NREASONS), "unknown");
	struct nvme_val_stats st = {0};
	nvme_val_count(&st, NVME_V_HMB);
	nvme_val_count(&st, NVME_V_HMB);
	char buf[2048];
	struct json j;
	json_init(&j, buf, sizeof(buf));
	nvme_val_stats_json(&st, &j);
	int n = json_end(&j);
	assert_true(n > 0 && json_valid(buf, (size_t)n));
	assert_non_null(strstr(buf, "\"hmb\":2"));
	assert_non_null(strstr(buf, "\"accept\":0"));
	/* every verdict name is a key: one per reason */
	unsigned keys = 0;
	for (const char *p = buf; (p = strstr(p, "\":")) != NULL; p++)
		keys++;
	assert_int_equal(keys, NVME_V_NREASONS);
	/* too small: void, not a half object */
	char small[8];
	json_init(&j, small, sizeof(small));
	nvme_val_stats_json(&st, &j);
	assert_int_equal(json_end(&j), -1);
	assert_string_equal(small, "");
}

/* ---- opcode policy ------------------------------------------------------ */
static void t_admin_forbidden(void **s)
{
	(void)s;
	const uint8_t bad[] = {NVME_ADM_FORMAT_NVM,
			       NVME_ADM_SANITIZE,
			       NVME_ADM_FW_COMMIT,
			       NVME_ADM_FW_DOWNLOAD,
			       NVME_ADM_NS_MGMT,
			       NVME_ADM_NS_ATTACH,
			       NVME_ADM_SECURITY_SEND,
			       NVME_ADM_SECURITY_RECV,
			       NVME_ADM_VIRT_MGMT,
			       NVME_ADM_MI_SEND,
			       NVME_ADM_MI_RECV,
			       NVME_ADM_SELF_TEST,
			       NVME_ADM_DIRECTIVE_SEND,
			       NVME_ADM_DIRECTIVE_RECV,
			       NVME_ADM_GET_LBA_STATUS,
			       0xc0,
			       0xff,
			       0x03,
			       0x7f};
	for (size_t i = 0; i < sizeof(bad); i++) {
		struct nvme_sqe c = adm(bad[i], A);
		assert_int_equal(ad(&c, NULL), NVME_V_OPCODE_FORBIDDEN);
	}
	struct nvme_sqe c = adm(NVME_ADM_DBBUF_CONFIG, A);
	c.prp2 = A + 4096;
	assert_int_equal(ad(&c, NULL), NVME_V_DBBUF_CONFIG);
}

static void t_admin_allowed(void **s)
{
	(void)s;
	struct nvme_val_result r;
	struct nvme_sqe c = adm(NVME_ADM_IDENTIFY, A);
	c.cdw10 = NVME_CNS_CTRL;
	assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_PRP1);
	c = adm(NVME_ADM_ASYNC_EVENT, 0);
	assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_NONE);
	c = adm(NVME_ADM_KEEP_ALIVE, 0);
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	c = adm(NVME_ADM_ABORT, 0);
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT); /* admin SQ */
	c.cdw10 = 3;				       /* SQ 3 does not exist */
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_ID_NOT_GRANTED);
	/* I/O opcodes are not admin opcodes and vice versa */
	c = rw(NVME_IO_READ, 1, A, 0, 0); /* 0x02 = Get Log, log id 0 */
	assert_int_equal(ad(&c, NULL), NVME_V_LOG_FORBIDDEN);
	c.cdw10 = NVME_LOG_SMART; /* of namespace 1 */
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	c = adm(NVME_ADM_IDENTIFY, A);
	c.nsid = 1;
	assert_int_equal(io(&c, NULL), NVME_V_OPCODE_FORBIDDEN);
}

static void t_io_forbidden(void **s)
{
	(void)s;
	const uint8_t bad[] = {NVME_IO_WRITE_UNCOR,
			       NVME_IO_VERIFY,
			       NVME_IO_RESV_REGISTER,
			       NVME_IO_RESV_REPORT,
			       NVME_IO_RESV_ACQUIRE,
			       NVME_IO_RESV_RELEASE,
			       0x79,
			       0x7a,
			       0x7d,
			       0x80,
			       0xff};
	for (size_t i = 0; i < sizeof(bad); i++) {
		struct nvme_sqe c = rw(bad[i], 1, A, 0, 0);
		assert_int_equal(io(&c, NULL), NVME_V_OPCODE_FORBIDDEN);
	}
}

static void t_fused_sgl(void **s)
{
	(void)s;
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A, 0, 0);
	c.cdw0 |= 1u << NVME_CDW0_FUSE_SHIFT;
	assert_int_equal(io(&c, NULL), NVME_V_FUSED);
	c = rw(NVME_IO_COMPARE, 1, A, 0, 0);
	c.cdw0 |= 2u << NVME_CDW0_FUSE_SHIFT;
	assert_int_equal(io(&c, NULL), NVME_V_FUSED);
	for (uint32_t psdt = 1; psdt <= 3; psdt++) {
		c = rw(NVME_IO_READ, 1, A, 0, 0);
		c.cdw0 |= psdt << NVME_CDW0_PSDT_SHIFT;
		assert_int_equal(io(&c, NULL), NVME_V_PSDT_SGL);
		c = adm(NVME_ADM_IDENTIFY, A);
		c.cdw0 |= psdt << NVME_CDW0_PSDT_SHIFT;
		assert_int_equal(ad(&c, NULL), NVME_V_PSDT_SGL);
	}
}

static void t_features(void **s)
{
	(void)s;
	struct nvme_val_result r;
	struct nvme_sqe c = adm(NVME_ADM_SET_FEATURES, 0);
	c.cdw10 = NVME_FID_HMB;
	c.cdw11 = 1;
	c.cdw13 = (uint32_t)(A + 3 * MIB); /* descriptor list */
	assert_int_equal(ad(&c, NULL), NVME_V_HMB);
	c.cdw0 = NVME_ADM_GET_FEATURES;
	assert_int_equal(ad(&c, NULL), NVME_V_HMB);
	c = adm(NVME_ADM_SET_FEATURES, 0);
	c.cdw10 = 0x7f;
	assert_int_equal(ad(&c, NULL), NVME_V_FEATURE_FORBIDDEN);
	c.cdw10 = NVME_FID_HOST_BEHAVIOR; /* set: refused; get: 512 bytes */
	c.prp1 = A;
	assert_int_equal(ad(&c, NULL), NVME_V_FEATURE_FORBIDDEN);
	c.cdw0 = NVME_ADM_GET_FEATURES;
	assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.xfer, 512);
	c.cdw0 = NVME_ADM_SET_FEATURES;
	c.cdw10 = NVME_FID_VWC | (1u << 31); /* SV: persist the setting */
	assert_int_equal(ad(&c, NULL), NVME_V_FEATURE_FORBIDDEN);
	c.cdw0 = NVME_ADM_GET_FEATURES; /* bit 31 means nothing to Get */
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	c.cdw0 = NVME_ADM_SET_FEATURES;
	c.cdw10 = NVME_FID_NUM_QUEUES; /* no data: PRPs ignored */
	c.prp1 = A + 3 * MIB;
	assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_NONE);
	/* Timestamp moves 8 bytes: the last 8 bytes of the grant are fine,
	 * one byte further is not */
	c.cdw0 = NVME_ADM_GET_FEATURES;
	c.cdw10 = NVME_FID_TIMESTAMP;
	c.prp1 = A + 2 * MIB - 8;
	assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.xfer, 8);
	c.prp1 = A + 2 * MIB - 4; /* the last 4 bytes spill onto PRP2 */
	assert_int_equal(ad(&c, NULL), NVME_V_PRP2_OUT_OF_GRANT);
	c.cdw10 = NVME_FID_LBA_RANGE; /* 4096 bytes: page crossing */
	c.nsid = 1;
	c.prp1 = A + 0x800;
	c.prp2 = A + 0x1000;
	assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_PRP2_PAGE);
}

static void t_nsid(void **s)
{
	(void)s;
	const uint32_t bad[] = {0, 3, 0x10000, NVME_NSID_ALL};
	for (size_t i = 0; i < 4; i++) {
		struct nvme_sqe c = rw(NVME_IO_READ, bad[i], A, 0, 0);
		assert_int_equal(io(&c, NULL), NVME_V_NSID_NOT_GRANTED);
		c = rw(NVME_IO_FLUSH, bad[i], 0, 0, 0);
		assert_int_equal(io(&c, NULL), NVME_V_NSID_NOT_GRANTED);
	}
	struct nvme_sqe c = rw(NVME_IO_FLUSH, 1, 0, 0, 0);
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
}

/* ---- PRP1 / PRP2 -------------------------------------------------------- */
static void t_prp1(void **s)
{
	(void)s;
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A + 2, 0, 0);
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_MISALIGNED);
	c.prp1 = A + 1;
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_MISALIGNED);
	c.prp1 = A + 4; /* dword aligned offset: fine */
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	/* 512 bytes ending exactly at the grant's end, and one dword on */
	c.prp1 = A + 2 * MIB - 512;
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	c.prp1 = A + 2 * MIB - 508; /* crosses into the next page: PRP2 */
	assert_int_equal(io(&c, NULL), NVME_V_PRP2_OUT_OF_GRANT);
	/* a grant whose end is not page aligned: one byte in, one out */
	assert_true(grant_add(&gt, 3, A + 3 * MIB, 1000, NULL) >= 0);
	struct nvme_val_policy p3 = pol;
	p3.owner = 3;
	c.prp1 = A + 3 * MIB + 488;
	assert_int_equal(nvme_validate(&p3, NVME_QT_IO, &c, &list, NULL),
			 NVME_V_ACCEPT);
	c.prp1 = A + 3 * MIB + 492;
	assert_int_equal(nvme_validate(&p3, NVME_QT_IO, &c, &list, NULL),
			 NVME_V_PRP1_OUT_OF_GRANT);
	c.prp1 = A - 4; /* one dword before the grant */
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
	c.prp1 = A + 2 * MIB; /* owner 2's memory */
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
	c.prp1 = 0;
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
}

static void t_prp2_page(void **s)
{
	(void)s;
	struct nvme_val_result r;
	/* 4 KiB at offset 0x200: the tail is on PRP2's page */
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A + 0x200, A + 0x5000, 7);
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_PRP2_PAGE);
	c.prp2 = A + 0x5200;
	assert_int_equal(io(&c, NULL), NVME_V_PRP2_MISALIGNED);
	c.prp2 = A + 0x5004;
	assert_int_equal(io(&c, NULL), NVME_V_PRP2_MISALIGNED);
	c.prp2 = A + 2 * MIB; /* owner 2 */
	assert_int_equal(io(&c, NULL), NVME_V_PRP2_OUT_OF_GRANT);
	/* the second page only needs its first 0x200 bytes: a PRP2 page at
	 * the grant's last page start is fine */
	c.prp2 = A + 2 * MIB - 4096;
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	/* exactly 8 KiB page aligned: two pages, PRP2 a data page */
	c = rw(NVME_IO_WRITE, 1, A, A + 0x3000, 15);
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_PRP2_PAGE);
	assert_int_equal(nfetch, 0);
}

static void t_wrap(void **s)
{
	(void)s;
	/* PRP1 in the last dword of the address space: first chunk wraps */
	struct nvme_sqe c = rw(NVME_IO_READ, 1, UINT64_MAX - 3, 0, 0);
	assert_int_equal(io(&c, NULL), NVME_V_LEN_WRAPS);
	/* a grant may not wrap, and a range may not wrap past 2^64 */
	struct grant_table t = {0};
	const uint64_t top = UINT64_MAX - 4095; /* the last page */
	/* a range ending at 2^64 is refused like a wrapping one */
	assert_int_equal(grant_add(&t, 1, top, 4096, NULL), -1);
	assert_true(grant_add(&t, 1, top - 4096, 4096, NULL) >= 0);
	assert_true(grant_covers(&t, 1, top - 4096, 4096));
	assert_false(grant_covers(&t, 1, top - 4096, 4097));
	assert_false(grant_covers(&t, 1, UINT64_MAX, 2));
	assert_false(grant_covers(&t, 1, top - 4096, 0));
	struct nvme_val_policy p2 = pol;
	p2.grants = &t;
	c = rw(NVME_IO_READ, 1, top - 4096, 0, 7);
	assert_int_equal(nvme_validate(&p2, NVME_QT_IO, &c, &list, NULL),
			 NVME_V_ACCEPT);
	c.prp1 = top + 0x200; /* the first chunk runs to 2^64 */
	assert_int_equal(nvme_validate(&p2, NVME_QT_IO, &c, &list, NULL),
			 NVME_V_LEN_WRAPS);
	/* NLB+1 at the 16-bit maximum times a 4 KiB LBA is 256 MiB: MDTS */
	c = rw(NVME_IO_READ, 2, A, 0, 0xffff);
	assert_int_equal(io(&c, NULL), NVME_V_XFER_EXCEEDS_MDTS);
	struct nvme_ns_policy huge = {.nsid = 1, .lba_bytes = 0xffffffffu};
	assert_int_equal(nvme_val_xfer_bytes(&huge, 0xffff),
			 0x10000ull * 0xffffffffull);
}

static void t_stale_generation(void **s)
{
	(void)s;
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A + 4096, 0, 7);
	struct nvme_val_result r;
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_ptr_equal(r.last, &gt.g[gslot]);
	pol.hint = r.last; /* as the gate does: the hint is re-checked */
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_true(r.grants == 1ull << gslot);
	assert_true(grant_revoke(&gt, gslot, ggen));
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
	/* a hint at another owner's grant, or outside the table, is not
	 * taken */
	pol.hint = &gt.g[1]; /* owner 2's */
	c.prp1 = A + 2 * MIB;
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
	struct dma_grant fake = {
	    .base = A, .len = 4 * MIB, .owner = OWNER, .live = true};
	pol.hint = &fake;
	c.prp1 = A + 3 * MIB;
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
	pol.hint = 0;
	c.prp1 = A + 4096;
	assert_false(grant_revoke(&gt, gslot, ggen)); /* stale */
	assert_false(grant_live(&gt, gslot, ggen));
	uint32_t gen2;
	int slot2 = grant_add(&gt, OWNER, A, 2 * MIB, &gen2);
	assert_int_equal(slot2, gslot); /* slot reused, generation not */
	assert_int_not_equal(gen2, ggen);
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	/* a grant of another owner never covers */
	assert_false(grant_covers(&gt, 2, A + 4096, 4096));
}

static void t_mdts(void **s)
{
	(void)s;
	/* 128 KiB = 256 blocks of 512 B: NLB 255 fits, 256 does not */
	uint64_t *l = (uint64_t *)(arena + 0x10000);
	for (int i = 0; i < 40; i++)
		l[i] = A + 0x20000 + (uint64_t)i * 4096;
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A + 0x40000, A + 0x10000, 255);
	struct nvme_val_result r;
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_PRP_LIST);
	assert_int_equal(r.nlist, 31);
	c.cdw12 = 256;
	assert_int_equal(io(&c, NULL), NVME_V_XFER_EXCEEDS_MDTS);
	/* Get Log Page: NUMD (0-based dwords) above max transfer */
	c = adm(NVME_ADM_GET_LOG_PAGE, A);
	c.cdw10 = (uint32_t)((32768u - 1) << 16) | NVME_LOG_CMD_EFFECTS;
	c.prp2 = A + 0x10000;
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	/* one dword over max transfer, a list the validator could walk (its
	 * entries are all in the grant): only the MDTS check refuses it */
	c.cdw10 = 32768u << 16 | NVME_LOG_CMD_EFFECTS;
	assert_int_equal(ad(&c, NULL), NVME_V_XFER_EXCEEDS_MDTS);
	c.cdw10 = 0xffffu << 16 | NVME_LOG_CMD_EFFECTS;
	c.cdw11 = 0xffff; /* 16 GiB */
	assert_int_equal(ad(&c, NULL), NVME_V_XFER_EXCEEDS_MDTS);
	/* the shadow list bound holds even if a policy asks for more */
	pol.max_xfer = 8 * MIB;
	c = rw(NVME_IO_READ, 1, A, A + 0x10000, 8191); /* 4 MiB */
	assert_int_equal(io(&c, NULL), NVME_V_XFER_EXCEEDS_MDTS);
}

/* ---- the admin scope table ---------------------------------------------- */
/* What each Identify CNS, log page and feature may do, written out here
 * independently of nvme_scope_table: B broker only (refused), C
 * controller-wide, K controller-wide with a value check, N one granted
 * namespace, A only when every namespace is granted. */
struct want_row {
	uint8_t key, id;
	char get, set;
	uint16_t bytes;
};
static const struct want_row want_rows[] = {
    {NVME_SK_CNS, 0x00, 'N', 'B', 0},	  /* Identify Namespace */
    {NVME_SK_CNS, 0x01, 'C', 'B', 0},	  /* Identify Controller */
    {NVME_SK_CNS, 0x02, 'A', 'B', 0},	  /* Active Namespace ID list */
    {NVME_SK_CNS, 0x03, 'N', 'B', 0},	  /* NS Identification Descriptors */
    {NVME_SK_CNS, 0x05, 'N', 'B', 0},	  /* I/O CS Identify Namespace */
    {NVME_SK_CNS, 0x06, 'C', 'B', 0},	  /* I/O CS Identify Controller */
    {NVME_SK_CNS, 0x07, 'A', 'B', 0},	  /* I/O CS Active NSID list */
    {NVME_SK_CNS, 0x08, 'N', 'B', 0},	  /* CS Independent Identify NS */
    {NVME_SK_LOG, 0x02, 'N', 'B', 0},	  /* SMART / Health */
    {NVME_SK_LOG, 0x03, 'C', 'B', 0},	  /* Firmware Slot */
    {NVME_SK_LOG, 0x04, 'A', 'B', 0},	  /* Changed Namespace List */
    {NVME_SK_LOG, 0x05, 'C', 'B', 0},	  /* Commands Supported and Effects */
    {NVME_SK_FEATURE, 0x01, 'C', 'C', 0}, /* Arbitration */
    {NVME_SK_FEATURE, 0x02, 'C', 'B', 0}, /* Power Management */
    {NVME_SK_FEATURE, 0x03, 'N', 'N', 4096}, /* LBA Range Type */
    {NVME_SK_FEATURE, 0x04, 'C', 'B', 0},    /* Temperature Threshold */
    {NVME_SK_FEATURE, 0x05, 'N', 'N', 0},    /* Error Recovery (DULBE) */
    {NVME_SK_FEATURE, 0x06, 'C', 'B', 0},    /* Volatile Write Cache */
    {NVME_SK_FEATURE, 0x07, 'C', 'K', 0},    /* Number of Queues */
    {NVME_SK_FEATURE, 0x08, 'C', 'C', 0},    /* Interrupt Coalescing */
    {NVME_SK_FEATURE, 0x09, 'C', 'K', 0},    /* Interrupt Vector Config */
    {NVME_SK_FEATURE, 0x0a, 'C', 'B', 0},    /* Write Atomicity Normal */
    {NVME_SK_FEATURE, 0x0b, 'C', 'B', 0},    /* Async Event Configuration */
    {NVME_SK_FEATURE, 0x0c, 'C', 'B', 256},  /* APST */
    {NVME_SK_FEATURE, 0x0e, 'C', 'B', 8},    /* Timestamp */
    {NVME_SK_FEATURE, 0x0f, 'C', 'B', 0},    /* Keep Alive Timer */
    {NVME_SK_FEATURE, 0x16, 'C', 'B', 512},  /* Host Behavior Support */
};

static const struct want_row *want_find(uint8_t key, uint8_t id)
{
	for (size_t i = 0; i < sizeof(want_rows) / sizeof(want_rows[0]); i++)
		if (want_rows[i].key == key && want_rows[i].id == id)
			return &want_rows[i];
	return NULL;
}

/* the command that reads (or, for features, sets) id on nsid */
static struct nvme_sqe scope_cmd(uint8_t key, uint8_t id, bool set,
				 uint32_t nsid)
{
	uint8_t opc = key == NVME_SK_CNS   ? NVME_ADM_IDENTIFY
		      : key == NVME_SK_LOG ? NVME_ADM_GET_LOG_PAGE
		      : set		   ? NVME_ADM_SET_FEATURES
					   : NVME_ADM_GET_FEATURES;
	struct nvme_sqe c = adm(opc, A + 0x1000);
	c.prp2 = A + 0x2000;
	c.nsid = nsid;
	c.cdw10 = id; /* CNS, LID (NUMD 0: one dword) or FID */
	return c;
}

static enum nvme_verdict forbidden_for(uint8_t key, uint8_t id)
{
	if (key == NVME_SK_CNS)
		return NVME_V_CNS_FORBIDDEN;
	if (key == NVME_SK_LOG)
		return NVME_V_LOG_FORBIDDEN;
	return id == NVME_FID_HMB ? NVME_V_HMB : NVME_V_FEATURE_FORBIDDEN;
}

/* one row, one direction: accepted where it should be, refused with its
 * verdict everywhere else */
static void check_scope(uint8_t key, uint8_t id, bool set, char want,
			uint16_t bytes)
{
	struct nvme_val_result r;
	const uint32_t ours = 1, theirs = 3; /* 3: active, not granted */
	struct nvme_sqe c = scope_cmd(key, id, set, ours);
	switch (want) {
	case 'B':
		for (int all = 0; all < 2; all++) {
			pol.all_ns = all;
			c.nsid = ours;
			assert_int_equal(ad(&c, NULL), forbidden_for(key, id));
			c.nsid = 0;
			assert_int_equal(ad(&c, NULL), forbidden_for(key, id));
		}
		break;
	case 'C':
		for (int all = 0; all < 2; all++) {
			pol.all_ns = all;
			const uint32_t ok[] = {0, ours, NVME_NSID_ALL};
			for (int i = 0; i < 3; i++) {
				c.nsid = ok[i];
				assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
			}
		}
		pol.all_ns = false;
		c.nsid = theirs; /* a controller-wide id naming theirs */
		assert_int_equal(ad(&c, NULL), NVME_V_NSID_NOT_GRANTED);
		break;
	case 'N':
		pol.all_ns = false;
		assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
		c.nsid = 2; /* the second granted namespace */
		assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
		const uint32_t no[] = {theirs, 0, NVME_NSID_ALL, 0x10000};
		for (int i = 0; i < 4; i++) {
			c.nsid = no[i];
			assert_int_equal(ad(&c, NULL), NVME_V_NSID_NOT_GRANTED);
		}
		/* every namespace granted: the broadcast id is ours too */
		pol.all_ns = true;
		c.nsid = NVME_NSID_ALL;
		assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
		c.nsid = 0;
		assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
		c.nsid = theirs; /* not in the set at all: still refused */
		assert_int_equal(ad(&c, NULL), NVME_V_NSID_NOT_GRANTED);
		c.nsid = ours;
		break;
	case 'A':
		pol.all_ns = false;
		const uint32_t any[] = {0, ours, NVME_NSID_ALL};
		for (int i = 0; i < 3; i++) {
			c.nsid = any[i];
			assert_int_equal(ad(&c, NULL), NVME_V_NSID_NOT_GRANTED);
		}
		pol.all_ns = true;
		c.nsid = 0;
		assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
		break;
	case 'K':
		pol.all_ns = false;
		if (id == NVME_FID_NUM_QUEUES) {
			pol.cq_live = pol.sq_live = 0;
			assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
			pol.cq_live = 1u << 1; /* a create in flight */
			assert_int_equal(ad(&c, NULL), NVME_V_FEATURE_VALUE);
			pol.cq_live = 0;
			pol.sq_live = 1u << 3;
			assert_int_equal(ad(&c, NULL), NVME_V_FEATURE_VALUE);
			pol.sq_live = 0;
		} else {
			assert_int_equal(id, NVME_FID_IRQ_CONFIG);
			c.cdw11 = pol.iv_max | 1u << 16; /* CD set */
			assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
			c.cdw11 = pol.iv_max + 1u;
			assert_int_equal(ad(&c, NULL), NVME_V_FEATURE_VALUE);
			c.cdw11 = 0xffff;
			assert_int_equal(ad(&c, NULL), NVME_V_FEATURE_VALUE);
			c.cdw11 = 0;
			assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
		}
		c.nsid = theirs;
		assert_int_equal(ad(&c, NULL), NVME_V_NSID_NOT_GRANTED);
		c.nsid = ours;
		break;
	default:
		fail();
	}
	if (want == 'B')
		return;
	/* the accepted form moves the row's bytes */
	pol.all_ns = true;
	c.nsid = ours;
	assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
	uint32_t want_bytes = key == NVME_SK_CNS   ? NVME_IDENTIFY_BYTES
			      : key == NVME_SK_LOG ? 4
						   : bytes;
	assert_int_equal(r.xfer, want_bytes);
	/* the data pointer is still checked */
	if (want_bytes) {
		c.prp1 = A + 3 * MIB;
		assert_int_equal(ad(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
	}
	/* Save never: the setting would outlive the owner */
	if (set) {
		c = scope_cmd(key, id, set, ours);
		c.cdw10 |= 1u << 31;
		assert_int_equal(ad(&c, NULL), NVME_V_FEATURE_FORBIDDEN);
	}
	pol.all_ns = false;
}

static void t_scope_table(void **s)
{
	(void)s;
	/* namespace 3 is active on the controller but not granted */
	for (uint8_t key = NVME_SK_CNS; key <= NVME_SK_FEATURE; key++)
		for (unsigned id = 0; id < 256; id++) {
			const struct want_row *w = want_find(key, (uint8_t)id);
			char get = w ? w->get : 'B', set = w ? w->set : 'B';
			check_scope(key, (uint8_t)id, false, get,
				    w ? w->bytes : 0);
			if (key == NVME_SK_FEATURE)
				check_scope(key, (uint8_t)id, true, set,
					    w ? w->bytes : 0);
		}
	/* and the table holds nothing this test does not expect */
	for (unsigned i = 0; i < nvme_scope_rows; i++) {
		const struct nvme_scope_row *row = &nvme_scope_table[i];
		assert_non_null(want_find(row->key, row->id));
		assert_ptr_equal(nvme_scope_find(row->key, row->id), row);
		assert_non_null(row->name);
	}
	assert_int_equal(nvme_scope_rows,
			 sizeof(want_rows) / sizeof(want_rows[0]));
}

/* the issue-9 sequence: DULBE on a namespace the driver was not given */
static void t_scope_dulbe(void **s)
{
	(void)s;
	struct nvme_sqe c = adm(NVME_ADM_SET_FEATURES, 0);
	c.cdw10 = NVME_FID_ERR_RECOVERY;
	c.cdw11 = 1u << NVME_ERRREC_DULBE_SHIFT;
	c.nsid = 3;
	assert_int_equal(ad(&c, NULL), NVME_V_NSID_NOT_GRANTED);
	c.nsid = NVME_NSID_ALL; /* ours and theirs at once */
	assert_int_equal(ad(&c, NULL), NVME_V_NSID_NOT_GRANTED);
	c.nsid = 1;
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
}

/* ---- PRP lists ---------------------------------------------------------- */
static uint64_t *page(unsigned n)
{
	return (uint64_t *)(arena + n * 4096u);
}

static void t_list_basic(void **s)
{
	(void)s;
	struct nvme_val_result r;
	uint64_t *l = page(16);
	l[0] = A + 0x21000;
	l[1] = A + 0x22000;
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A + 0x20000, A + 16 * 4096, 23);
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT); /* 12 KiB: 3 pages */
	assert_int_equal(r.kind, NVME_DATA_PRP_LIST);
	assert_int_equal(r.nlist, 2);
	assert_memory_equal(listbuf, l, 16);
	/* list pointer with a qword-aligned offset is allowed */
	l[10] = l[0];
	l[11] = l[1];
	c.prp2 = A + 16 * 4096 + 80;
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	c.prp2 = A + 16 * 4096 + 84;
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_PTR_MISALIGNED);
	c.prp2 = A + 2 * MIB; /* list in owner 2's memory: never read */
	unsigned before = nfetch;
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_PTR_OUT_OF_GRANT);
	assert_int_equal(nfetch, before);
	c.prp2 = A + 2 * MIB - 8; /* last slot chains (to 0): outside */
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_PTR_OUT_OF_GRANT);
	c.prp2 = A + 16 * 4096;
	l[1] = A + 0x22200;
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_ENTRY_MISALIGNED);
	l[1] = A + 2 * MIB;
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT);
	l[1] = A + 2 * MIB - 4096; /* last page of the grant */
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	l[0] = A - 4096; /* the page just below the grant */
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT);
	/* a list page the fetcher cannot read is unreadable, not accepted
	 * (whatever the shadow list held before) */
	fetch_fails = true;
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_UNREADABLE);
	fetch_fails = false;
	/* without a fetcher a list is unreadable, not accepted */
	l[0] = A + 0x21000;
	assert_int_equal(nvme_validate(&pol, NVME_QT_IO, &c, NULL, NULL),
			 NVME_V_PRP_LIST_UNREADABLE);
}

/* the batched pass over whole-page entries falls back per entry */
static void t_list_fast_path(void **s)
{
	(void)s;
	uint64_t *l = page(18);
	for (int i = 0; i < 6; i++)
		l[i] = A + 0x50000 + (uint64_t)i * 4096;
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A + 0x40000, A + 18 * 4096, 55);
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT); /* 28 KiB: 6 entries */
	l[2] = A + 0x52008;
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_ENTRY_MISALIGNED);
	l[2] = A + 2 * MIB;
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT);
	l[2] = A - 4096;
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT);
	l[2] = A + 2 * MIB - 4096; /* the grant's last whole page */
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	/* a middle entry in a second grant of the same owner is fine */
	int small = grant_add(&gt, OWNER, A + 3 * MIB, 4096, NULL);
	assert_true(small >= 0);
	l[2] = A + 3 * MIB;
	struct nvme_val_result r;
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	/* both grants are reported for pinning, nothing else */
	assert_true(r.grants == ((1ull << gslot) | (1ull << small)));
	l[3] = A + 3 * MIB + 4096; /* just past that small grant */
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT);
}

/* Every entry the batched pass decides is checked, whatever its place:
 * lists of 5 and 6 entries, each entry in turn misaligned, then outside
 * the grant (mutation testing: the pair loop ending one pair early — an
 * even count left its second-to-last entry unchecked — passed every
 * test); a list pointer with bit 0 set, and a list running past its
 * grant's end by a byte or two (bounds one off each way passed every
 * test). And the largest list: a 2 MiB transfer whose PRP1 is not page
 * aligned needs exactly NVME_VAL_LIST_MAX entries, which fit (a bound one
 * lower passed every test too). */
static void t_list_edges(void **s)
{
	(void)s;
	uint64_t *l = page(18);
	for (uint32_t n = 5; n <= 6; n++) {
		struct nvme_sqe c =
		    rw(NVME_IO_READ, 1, A + 0x40000, A + 18 * 4096, 8 * n + 7);
		for (uint32_t i = 0; i < n; i++)
			l[i] = A + 0x50000 + (uint64_t)i * 4096;
		assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
		for (uint32_t i = 0; i < n; i++) {
			uint64_t good = l[i];
			l[i] = good + 8;
			assert_int_equal(io(&c, NULL),
					 NVME_V_PRP_LIST_ENTRY_MISALIGNED);
			l[i] = A + 2 * MIB;
			assert_int_equal(io(&c, NULL),
					 NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT);
			l[i] = good;
		}
	}
	/* the list pointer's low three bits, each alone */
	struct nvme_sqe c3 =
	    rw(NVME_IO_READ, 1, A + 0x40000, A + 18 * 4096 + 1, 23);
	for (uint64_t b = 1; b < 8; b <<= 1) {
		c3.prp2 = A + 18 * 4096 + 80 + b;
		assert_int_equal(io(&c3, NULL), NVME_V_PRP_LIST_PTR_MISALIGNED);
	}
	/* a list's whole length is in the grant: the two entries of a
	 * 12 KiB read end exactly at the grant's end, fine; three in a
	 * grant of 22 bytes are refused, before they are read */
	uint64_t *tail = (uint64_t *)(uintptr_t)(A + 2 * MIB - 16);
	tail[0] = A + 0x50000;
	tail[1] = A + 0x51000;
	c3.prp2 = A + 2 * MIB - 16;
	assert_int_equal(io(&c3, NULL), NVME_V_ACCEPT);
	assert_true(grant_add(&gt, OWNER, A + 3 * MIB, 22, NULL) >= 0);
	c3.prp2 = A + 3 * MIB;
	c3.cdw12 = 31; /* 16 KiB: three entries */
	unsigned before = nfetch;
	assert_int_equal(io(&c3, NULL), NVME_V_PRP_LIST_PTR_OUT_OF_GRANT);
	assert_int_equal(nfetch, before);
	struct nvme_val_result r;
	pol.max_xfer = NVME_VAL_XFER_CAP;
	for (uint32_t i = 0; i < NVME_VAL_LIST_MAX; i++)
		l[i] = A + 0x100000 + (uint64_t)(i % 16) * 4096;
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A + 0x40000 + 0x200,
			       A + 18 * 4096, NVME_VAL_XFER_CAP / 512 - 1);
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.nlist, NVME_VAL_LIST_MAX);
	assert_true(listbuf[NVME_VAL_LIST_MAX - 1] == l[NVME_VAL_LIST_MAX - 1]);
}

static void t_list_chain(void **s)
{
	(void)s;
	struct nvme_val_result r;
	/* list pointer 16 bytes before the end of page 16: room for 2
	 * slots; 5 entries are needed so slot 2 chains to page 17 */
	uint64_t *l = page(16), *l2 = page(17);
	l[510] = A + 0x31000;
	l[511] = A + 17 * 4096; /* chain */
	l2[0] = A + 0x32000;
	l2[1] = A + 0x33000;
	l2[2] = A + 0x34000;
	l2[3] = A + 0x35000;
	struct nvme_sqe c =
	    rw(NVME_IO_READ, 1, A + 0x30000, A + 16 * 4096 + 4080, 47);
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT); /* 24 KiB, 6 pages */
	assert_int_equal(r.nlist, 5);
	assert_true(listbuf[0] == A + 0x31000 && listbuf[1] == A + 0x32000 &&
		    listbuf[4] == A + 0x35000);
	l[511] = A + 17 * 4096 + 8; /* chain pointers carry no offset */
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_PTR_MISALIGNED);
	l[511] = A + 2 * MIB; /* chain into owner 2 */
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_PTR_OUT_OF_GRANT);
	/* exactly 2 entries needed: both fit, slot 511 is data, no chain */
	l[511] = A + 0x36000;
	c.cdw12 = 23; /* 12 KiB */
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.nlist, 2);
	assert_true(listbuf[1] == A + 0x36000);
	/* A list whose chain points back at its own page: the walk is bounded
	 * by the entry count the length needs, never by the list's shape. At
	 * the largest transfer (2 MiB: 511 list entries) it reads the one slot
	 * before the chain, then the whole page once, and stops before the
	 * chain slot would send it round again. */
	pol.max_xfer = NVME_VAL_XFER_CAP;
	l[511] = A + 16 * 4096;
	for (int i = 0; i < 511; i++)
		l[i] = A + 0x40000 + (uint64_t)(i % 8) * 4096;
	c.prp2 = A + 16 * 4096 + 4088; /* room 1: a chain slot only */
	c.cdw12 = NVME_VAL_XFER_CAP / 512 - 1;
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.nlist, 511);
	assert_true(listbuf[0] == l[0] && listbuf[510] == l[510]);
	/* one entry more than the cap allows is refused before any walk */
	c.cdw12 += 8;
	assert_int_equal(io(&c, NULL), NVME_V_XFER_EXCEEDS_MDTS);
}

/* ---- metadata pointer --------------------------------------------------- */
static void t_mptr(void **s)
{
	(void)s;
	struct nvme_val_result r;
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A, 0, 0);
	c.mptr = A + 3 * MIB; /* ns 1 has no separate metadata */
	assert_int_equal(io(&c, NULL), NVME_V_MPTR_UNEXPECTED);
	c = rw(NVME_IO_WRITE, 2, A, A + 4096, 1); /* ns 2: 2 x 4 KiB + 2x8 md */
	assert_int_equal(io(&c, NULL), NVME_V_MPTR_OUT_OF_GRANT); /* mptr 0 */
	c.mptr = A + 0x100002;
	assert_int_equal(io(&c, NULL), NVME_V_MPTR_MISALIGNED);
	c.mptr = A + 2 * MIB - 16;
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_true(r.uses_mptr);
	c.mptr = A + 2 * MIB - 12;
	assert_int_equal(io(&c, NULL), NVME_V_MPTR_OUT_OF_GRANT);
	c.mptr = UINT64_MAX - 7;
	assert_int_equal(io(&c, NULL), NVME_V_LEN_WRAPS);
	c = adm(NVME_ADM_IDENTIFY, A);
	c.mptr = A;
	assert_int_equal(ad(&c, NULL), NVME_V_MPTR_UNEXPECTED);
	c = rw(NVME_IO_WRITE_ZEROES, 1, 0, 0, 100);
	c.mptr = A;
	assert_int_equal(io(&c, NULL), NVME_V_MPTR_UNEXPECTED);
	c.mptr = 0;
	c.prp1 = 0xbad; /* ignored: no data */
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_NONE);
	c = rw(NVME_IO_DSM, 1, A + 2 * MIB - 32, 0, 0);
	c.cdw10 = 1; /* 2 ranges, 32 bytes */
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	c.cdw10 = 2; /* 48 bytes: spills past the page (and grant) end */
	assert_int_equal(io(&c, NULL), NVME_V_PRP2_OUT_OF_GRANT);
}

/* Compare, Write Zeroes and Dataset Management are optional (ONCS): a
 * controller whose Identify does not name one is never sent it, whatever
 * else the command gets right; each bit lets its own opcode only. Before,
 * Compare was accepted whatever ONCS said */
static void t_oncs_optional(void **s)
{
	(void)s;
	struct nvme_sqe wz = rw(NVME_IO_WRITE_ZEROES, 1, 0, 0, 100);
	struct nvme_sqe dsm = rw(NVME_IO_DSM, 1, A, 0, 0);
	struct nvme_sqe cmp = rw(NVME_IO_COMPARE, 1, A, 0, 0);
	dsm.cdw11 = 1u << NVME_DSM_AD_SHIFT;
	assert_int_equal(io(&wz, NULL), NVME_V_ACCEPT);
	assert_int_equal(io(&dsm, NULL), NVME_V_ACCEPT);
	assert_int_equal(io(&cmp, NULL), NVME_V_ACCEPT);
	pol.oncs = NVME_ONCS_WRITE_ZEROES;
	assert_int_equal(io(&wz, NULL), NVME_V_ACCEPT);
	assert_int_equal(io(&dsm, NULL), NVME_V_OPCODE_FORBIDDEN);
	assert_int_equal(io(&cmp, NULL), NVME_V_OPCODE_FORBIDDEN);
	pol.oncs = NVME_ONCS_DSM | NVME_ONCS_COMPARE;
	assert_int_equal(io(&wz, NULL), NVME_V_OPCODE_FORBIDDEN);
	assert_int_equal(io(&dsm, NULL), NVME_V_ACCEPT);
	assert_int_equal(io(&cmp, NULL), NVME_V_ACCEPT);
	pol.oncs = NVME_ONCS_COMPARE;
	assert_int_equal(io(&wz, NULL), NVME_V_OPCODE_FORBIDDEN);
	assert_int_equal(io(&dsm, NULL), NVME_V_OPCODE_FORBIDDEN);
	assert_int_equal(io(&cmp, NULL), NVME_V_ACCEPT);
	pol.oncs = 0;
	assert_int_equal(io(&wz, NULL), NVME_V_OPCODE_FORBIDDEN);
	assert_int_equal(io(&dsm, NULL), NVME_V_OPCODE_FORBIDDEN);
	assert_int_equal(io(&cmp, NULL), NVME_V_OPCODE_FORBIDDEN);
	/* read and write are not optional */
	struct nvme_sqe rd = rw(NVME_IO_READ, 1, A, 0, 0);
	assert_int_equal(io(&rd, NULL), NVME_V_ACCEPT);
}

/* ---- the IOMMU shape: address checks off ---------------------------------
 * Under hw_confined the grant lookups of addresses only the device
 * dereferences are skipped (the IOMMU confines them) and their grants are
 * not pinned; what the kernel reads through the CPU — the PRP list it
 * copies, a queue ring it shadows — and every command-policy rule still
 * refuse. */
static struct nvme_sqe mkq_cq(uint16_t qid, uint16_t qsize0, uint64_t base);
/* A device that decodes fewer address bits (AWS NVMe: 48) reaches an
 * address modulo 2^48: in the IOMMU shape an address at or above the
 * device's limit would alias into the interrupt window (or anywhere the
 * window check did not look), so it is refused like the window itself. */
static void t_hw_confined_dev_limit(void **s)
{
	(void)s;
	const uint64_t lim = 1ull << 48;
	uint64_t *l = page(16);
	struct nvme_sqe c;
	pol.hw_confined = true;
	pol.dev_limit = lim;
	/* below the limit: the device's business, as before */
	c = rw(NVME_IO_READ, 1, A + 3 * MIB, 0, 7);
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	c = rw(NVME_IO_READ, 1, lim - 4096, 0, 7);
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	/* the window seen through the alias, and past the limit at all */
	c = rw(NVME_IO_READ, 1, lim + 0xfee00000ull, 0, 7);
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
	c = rw(NVME_IO_READ, 1, lim, 0, 7);
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
	c = rw(NVME_IO_READ, 1, A + 0x1000, lim + 0xfee00000ull, 15);
	assert_int_equal(io(&c, NULL), NVME_V_PRP2_OUT_OF_GRANT);
	l[0] = A + 3 * MIB;
	l[1] = (1ull << 63) + 0xfee00000ull; /* a list entry */
	c = rw(NVME_IO_READ, 1, A + 0x20000, A + 16 * 4096, 23);
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT);
	c = rw(NVME_IO_WRITE, 2, A, A + 4096, 1);
	c.mptr = lim + 0xfee00000ull; /* separate metadata */
	assert_int_equal(io(&c, NULL), NVME_V_MPTR_OUT_OF_GRANT);
	c.mptr = lim - 4; /* its last bytes past the limit */
	assert_int_equal(io(&c, NULL), NVME_V_MPTR_OUT_OF_GRANT);
	c.mptr = lim - 16;
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	/* no limit: only the window itself */
	pol.dev_limit = 0;
	c = rw(NVME_IO_READ, 1, lim + 0xfee00000ull, 0, 7);
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	/* and no range that wraps past 2^64 (its end would read as 0, below
	 * the window) */
	c = rw(NVME_IO_READ, 1, A + 0x1000, 0xfffffffffffff000ull, 15);
	assert_int_equal(io(&c, NULL), NVME_V_PRP2_OUT_OF_GRANT);
	c = rw(NVME_IO_READ, 1, 0xfffffffffffff000ull, 0, 7);
	assert_int_equal(io(&c, NULL), NVME_V_LEN_WRAPS);
}

static void t_hw_confined(void **s)
{
	(void)s;
	struct nvme_val_result r;
	pol.hw_confined = true;
	/* data pages outside every grant: the device's business now */
	struct nvme_sqe c = rw(NVME_IO_READ, 1, A + 3 * MIB, 0, 7);
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.grants, 0); /* nothing pinned */
	c = rw(NVME_IO_READ, 1, A + 0x1000, A + 3 * MIB, 15);
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_PRP2_PAGE);
	uint64_t *l = page(16);
	l[0] = A + 3 * MIB;
	l[1] = A + 2 * MIB; /* owner 2's page */
	c = rw(NVME_IO_READ, 1, A + 0x20000, A + 16 * 4096, 23);
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.nlist, 2);
	assert_memory_equal(listbuf, l, 16); /* still the kernel's copy */
	c = rw(NVME_IO_WRITE, 2, A, A + 4096, 1);
	c.mptr = A + 3 * MIB;
	assert_int_equal(io(&c, &r), NVME_V_ACCEPT);
	assert_true(r.uses_mptr);
	/* the interrupt window is never memory: refused in either shape */
	c = rw(NVME_IO_READ, 1, 0xfee00000ull, 0, 7);
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
	c = rw(NVME_IO_READ, 1, 0xfedff000ull, 0xfeeff000ull, 15);
	assert_int_equal(io(&c, NULL), NVME_V_PRP2_OUT_OF_GRANT);
	c = rw(NVME_IO_READ, 1, 0xfedff000ull, 0xfef00000ull, 15);
	assert_int_equal(io(&c, NULL), NVME_V_ACCEPT);
	l[1] = 0xfeeff000ull; /* a list entry */
	c = rw(NVME_IO_READ, 1, A + 0x20000, A + 16 * 4096, 23);
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT);
	l[1] = A + 2 * MIB;
	c = rw(NVME_IO_WRITE, 2, A, A + 4096, 1);
	c.mptr = 0xfee00ffcull; /* separate metadata */
	assert_int_equal(io(&c, NULL), NVME_V_MPTR_OUT_OF_GRANT);
	c.mptr = 0xfedffff8ull; /* its last bytes */
	assert_int_equal(io(&c, NULL), NVME_V_MPTR_OUT_OF_GRANT);
	/* the list page itself is read by the kernel: still checked, never
	 * fetched */
	unsigned before = nfetch;
	c = rw(NVME_IO_READ, 1, A + 0x20000, A + 2 * MIB, 23);
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_PTR_OUT_OF_GRANT);
	assert_int_equal(nfetch, before);
	/* a queue ring the gate shadows and posts into: still checked */
	c = mkq_cq(1, 63, A + 3 * MIB);
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_BASE_OUT_OF_GRANT);
	/* command policy and format: unchanged */
	c = rw(NVME_IO_READ, 3, A, 0, 0);
	assert_int_equal(io(&c, NULL), NVME_V_NSID_NOT_GRANTED);
	c = adm(NVME_ADM_FORMAT_NVM, A);
	assert_int_equal(ad(&c, NULL), NVME_V_OPCODE_FORBIDDEN);
	c = rw(NVME_IO_READ, 1, A + 3 * MIB + 2, 0, 7);
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_MISALIGNED);
	c = rw(NVME_IO_READ, 1, A, 0, 1024);
	assert_int_equal(io(&c, NULL), NVME_V_XFER_EXCEEDS_MDTS);
	l[1] = A + 0x22200;
	c = rw(NVME_IO_READ, 1, A + 0x20000, A + 16 * 4096, 23);
	assert_int_equal(io(&c, NULL), NVME_V_PRP_LIST_ENTRY_MISALIGNED);
	/* the same commands with the checks on: refused by the grant rules */
	pol.hw_confined = false;
	c = rw(NVME_IO_READ, 1, A + 3 * MIB, 0, 7);
	assert_int_equal(io(&c, NULL), NVME_V_PRP1_OUT_OF_GRANT);
	c = rw(NVME_IO_WRITE, 2, A, A + 4096, 1);
	c.mptr = A + 3 * MIB;
	assert_int_equal(io(&c, NULL), NVME_V_MPTR_OUT_OF_GRANT);
}

/* ---- queues ------------------------------------------------------------- */
static struct nvme_sqe mkq(bool sq, uint16_t qid, uint16_t qsize0,
			   uint64_t base, uint32_t cdw11)
{
	struct nvme_sqe c =
	    adm(sq ? NVME_ADM_CREATE_SQ : NVME_ADM_CREATE_CQ, base);
	c.cdw10 = qid | ((uint32_t)qsize0 << 16);
	c.cdw11 = cdw11;
	return c;
}

static struct nvme_sqe mkq_cq(uint16_t qid, uint16_t qsize0, uint64_t base)
{
	return mkq(false, qid, qsize0, base, 1 | 2);
}

static void t_queues(void **s)
{
	(void)s;
	struct nvme_val_result r;
	struct nvme_sqe c = mkq(false, 1, 63, A + 0x8000, 1 | 2 | (4u << 16));
	assert_int_equal(ad(&c, &r), NVME_V_ACCEPT);
	assert_int_equal(r.kind, NVME_DATA_QUEUE);
	assert_int_equal(r.xfer, 64 * 16);
	c = mkq(false, 0, 63, A, 1);
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_ID_NOT_GRANTED);
	c = mkq(false, 9, 63, A, 1);
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_ID_NOT_GRANTED);
	c = mkq(false, 8, 63, A, 1);
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	c = mkq(false, 1, 0, A, 1);
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_SIZE);
	c = mkq(false, 1, 1023, A, 1);
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	c = mkq(false, 1, 1024, A, 1);
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_SIZE);
	c = mkq(false, 1, 63, A, 0); /* PC=0 */
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_NOT_CONTIGUOUS);
	c = mkq(false, 1, 63, A + 0x100, 1);
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_BASE_MISALIGNED);
	c = mkq(false, 1, 63, A + 2 * MIB - 4096, 1); /* 1 KiB fits */
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	pol.cq_live = 1u << 1;
	c = mkq(true, 1, 63, A + 2 * MIB - 4096, 1 | (1u << 16));
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT); /* 64*64 = 4 KiB */
	c.cdw10 = 1 | (64u << 16);		       /* one entry more */
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_BASE_OUT_OF_GRANT);
	c = mkq(false, 2, 63, A, 1 | 2 | (5u << 16));
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_IV);
	/* a ring that would run past 2^64 wraps (before any grant lookup) */
	c = mkq(false, 2, 63, 0xfffffffffffff000ull, 1);
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_BASE_OUT_OF_GRANT);
	c = mkq(false, 2, 1023, 0xfffffffffffff000ull, 1); /* 16 KiB */
	assert_int_equal(ad(&c, NULL), NVME_V_LEN_WRAPS);
	/* pairing: CQ before SQ; no double create; delete in order */
	pol.cq_live = 0;
	c = mkq(true, 1, 63, A, 1 | (1u << 16));
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_STATE);
	pol.cq_live = 1u << 1;
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	/* a CQ id past the table names no CQ (and no bit of cq_live:
	 * mutation testing, a bound one off passed every test) */
	pol.cq_live = ~0ull;
	for (uint32_t cq = 64; cq <= 0xffff; cq += 0xffff - 64) {
		c = mkq(true, 1, 63, A, 1 | (cq << 16));
		assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_STATE);
	}
	pol.cq_live = 1u << 1;
	c = mkq(false, 1, 63, A, 1);
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_STATE);
	pol.sq_live = 1u << 1;
	pol.sq_cq[1] = 1;
	c = mkq(true, 1, 63, A, 1 | (1u << 16));
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_STATE);
	c = adm(NVME_ADM_DELETE_CQ, 0);
	c.cdw10 = 1;
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_STATE); /* SQ uses it */
	c.cdw10 = 2; /* a CQ never created */
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_STATE);
	c = adm(NVME_ADM_DELETE_SQ, 0);
	c.cdw10 = 1;
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	c.cdw10 = 2;
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_STATE);
	c.cdw10 = 0; /* the admin queue is the kernel's */
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_ID_NOT_GRANTED);
	pol.sq_live = 0;
	c = adm(NVME_ADM_DELETE_CQ, 0);
	c.cdw10 = 1;
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	/* the owner's last queue id (qid_max) can be deleted, one past it
	 * cannot (mutation testing: the delete's bound one off passed
	 * every test) */
	pol.sq_live = 3u << 8;
	pol.cq_live = 3u << 8;
	c = adm(NVME_ADM_DELETE_SQ, 0);
	c.cdw10 = 8;
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	c.cdw10 = 9;
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_ID_NOT_GRANTED);
	pol.sq_live = 0;
	c = adm(NVME_ADM_DELETE_CQ, 0);
	c.cdw10 = 8;
	assert_int_equal(ad(&c, NULL), NVME_V_ACCEPT);
	c.cdw10 = 9;
	assert_int_equal(ad(&c, NULL), NVME_V_QUEUE_ID_NOT_GRANTED);
	pol.cq_live = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(t_accept_4k_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_hw_confined, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_hw_confined_dev_limit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_names_distinct, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_admin_forbidden, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_admin_allowed, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_io_forbidden, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_fused_sgl, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_nsid, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_scope_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_scope_dulbe, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_prp1, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_prp2_page, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_stale_generation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(t_mdts, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_list_basic, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_list_fast_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_list_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_list_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_mptr, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_oncs_optional, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_queues, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
