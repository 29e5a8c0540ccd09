/* tests/host/validator/fuzz_validator.c — libFuzzer target for
 * dma/nvme_validate.c.
 *
 * Input: 3 policy bytes, then 64-byte commands; the bytes after the
 * commands (up to 16 KiB) fill the arena that holds PRP list pages.
 * Address fields with bit 63 clear are taken as offsets into the arena (so
 * the fuzzer reaches grant edges quickly); with bit 63 set they are used as
 * they are (wild addresses).
 *
 * The ORACLE does not trust the validator: for every ACCEPTED command it
 * recomputes, from the command alone, how many bytes the device would move
 * and walks the data pointer the way the device would (PRP1, then PRP2 or
 * the kernel's list copy), checking every range — and the metadata buffer
 * and queue bases — against its own list of the owner's ranges. The list
 * fetch aborts if the validator asks it to read outside those ranges.
 * Write Zeroes and Dataset Management (a range list: data) are accepted
 * only when the policy's ONCS, drawn from the first policy byte, names
 * them; Compare only when it names Compare (policy byte 2, bit 0x02
 * clear).
 *
 * Every command is decided a second time in the IOMMU shape (hw_confined:
 * the grant lookups of data addresses left to the IOMMU). Its oracle: the
 * list fetch still reads only the owner's memory (the kernel's own reads
 * stay checked); a command the checked shape accepts is accepted; where
 * the two verdicts differ, the checked one is a data-address rule — the
 * only rules the shape gives up; and the command it accepts passes the same
 * oracle with the IOMMU's part taken out: every range the device would
 * reach (PRP1, PRP2, list entries, metadata) lies outside the interrupt
 * window and, when the input sets a 48-bit device limit (an AWS
 * controller's), below it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dma/nvme_validate.h"
#include "val_fixture.h"

#define ARENA	  (64u * 1024)
#define PS	  4096ull
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static uint8_t *arena;
static uint64_t A;
static struct grant_table gt;
/* the oracle's own copy of owner 1's ranges: [A+lo, A+hi) */
static const struct {
	uint32_t lo, hi;
} own[] = {{0x1000, 0x9000}, {0xa000, 0xc000}, {0xe000, 0xe3e8}};
static uint64_t listbuf[NVME_VAL_LIST_MAX];

static bool oracle_in(uint64_t a, uint64_t len)
{
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		uint64_t lo = A + own[i].lo, hi = A + own[i].hi;
		if (len && a >= lo && a <= hi && len <= hi - a)
			return true;
	}
	return false;
}

/* the IOMMU shape: a range only the device dereferences is the IOMMU's,
 * except what no IOMMU confines — the interrupt window, and anything at or
 * past the device's address limit (conf_limit, 0: none), which a device
 * decoding fewer bits reaches through an alias */
static uint64_t conf_limit;
static bool conf_in(uint64_t a, uint64_t len)
{
	if (!len || a + len < a)
		return false;
	if (conf_limit && (a >= conf_limit || len > conf_limit - a))
		return false;
	return a + len <= 0xfee00000ull || a >= 0xfef00000ull;
}

static void die(const char *what, uint64_t a, uint64_t len)
{
	fprintf(stderr, "ORACLE: %s 0x%llx+%llu\n", what, (unsigned long long)a,
		(unsigned long long)len);
	abort();
}

static bool fetch(void *ctx, uint64_t iova, uint64_t *dst, uint32_t n)
{
	(void)ctx;
	if (!oracle_in(iova, (uint64_t)n * 8))
		die("list fetch outside the owner's memory", iova, n * 8ull);
	memcpy(dst, (void *)(uintptr_t)iova, (size_t)n * 8);
	return true;
}

static uint64_t addr(uint64_t raw)
{
	return (raw >> 63) ? raw : A + (raw & 0xffff);
}

static void init(void)
{
	if (arena)
		return;
	arena = aligned_alloc(PS, ARENA);
	A = (uint64_t)(uintptr_t)arena;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (grant_add(&gt, OWNER, A + own[i].lo, own[i].hi - own[i].lo,
			      NULL) < 0)
			abort();
	/* a neighbour's memory and a revoked grant of the owner */
	grant_add(&gt, 2, A + 0xc000, 0x1000, NULL);
	uint32_t gen;
	int s = grant_add(&gt, OWNER, A + 0x9000, 0x1000, &gen);
	grant_revoke(&gt, s, gen);
}

/* bytes the device moves for an accepted command, from the command alone;
 * -1: the opcode must never be accepted */
static int64_t oracle_len(const struct nvme_val_policy *p, enum nvme_qtype qt,
			  const struct nvme_sqe *c,
			  const struct nvme_ns_policy **ns)
{
	uint8_t opc = c->cdw0 & 0xff;
	*ns = 0;
	if (qt == NVME_QT_ADMIN) {
		uint32_t fid = c->cdw10 & 0xff;
		switch (opc) {
		case 0x06:
			return 4096;
		case 0x02:
			return ((int64_t)((c->cdw10 >> 16) |
					  ((c->cdw11 & 0xffff) << 16)) +
				1) *
			       4;
		case 0x09:
		case 0x0a:
			if (fid == 0x0d)
				return -1;
			if (fid == 0x03)
				return 4096;
			if (fid == 0x0c)
				return 256;
			if (fid == 0x0e)
				return 8;
			if (fid == 0x16)
				return 512;
			if (fid >= 0x01 && fid <= 0x0f)
				return 0;
			return -1;
		case 0x00:
		case 0x01:
		case 0x04:
		case 0x05:
		case 0x08:
		case 0x0c:
		case 0x18:
			return 0;
		default:
			return -1;
		}
	}
	for (unsigned i = 0; i < p->nns; i++)
		if (p->ns[i].nsid == c->nsid)
			*ns = &p->ns[i];
	if (!*ns)
		return -1;
	switch (opc) {
	case 0x05: /* Compare: ONCS bit 0 */
		if (!(p->oncs & 1))
			return -1;
		/* fall through */
	case 0x01:
	case 0x02:
		return ((int64_t)(c->cdw12 & 0xffff) + 1) * (*ns)->lba_bytes;
	case 0x09: /* Dataset Management: ONCS bit 2 */
		if (!(p->oncs & 4))
			return -1;
		return ((int64_t)(c->cdw10 & 0xff) + 1) * 16;
	case 0x08: /* Write Zeroes: ONCS bit 3 */
		return (p->oncs & 8) ? 0 : -1;
	case 0x00:
		return 0;
	default:
		return -1;
	}
}

static bool oracle_granted(const struct nvme_val_policy *p, uint32_t nsid)
{
	for (unsigned i = 0; i < p->nns; i++)
		if (nsid && p->ns[i].nsid == nsid)
			return true;
	return false;
}

/* which namespaces an accepted Identify, Get Log Page or Get/Set Features
 * reaches, from NVMe 2.0 alone (Figure 273 CNS, §5.16.1 logs, Figure 317
 * features); anything reaching a namespace the owner was not given is a
 * finding, as is a Set of a setting that is not the driver's */
static void oracle_scope(const struct nvme_val_policy *p,
			 const struct nvme_sqe *c)
{
	uint8_t opc = c->cdw0 & 0xff, id = c->cdw10 & 0xff;
	bool every = c->nsid == 0 || c->nsid == 0xffffffffu;
	bool one = false, all = false;
	if (opc == 0x06) {
		one = id == 0x00 || id == 0x03 || id == 0x05 || id == 0x08;
		all = id == 0x02 || id == 0x07;
		if (!one && !all && id != 0x01 && id != 0x06)
			die("accepted an Identify CNS of the broker's", id, 0);
	} else if (opc == 0x02) {
		one = id == 0x02;
		all = id == 0x04;
		if (!one && !all && id != 0x03 && id != 0x05)
			die("accepted a log page of the broker's", id, 0);
	} else if (opc == 0x09 || opc == 0x0a) {
		one = id == 0x03 || id == 0x05;
		if (opc == 0x09 && !one && id != 0x01 && id != 0x07 &&
		    id != 0x08 && id != 0x09)
			die("accepted a Set Features of the broker's", id, 0);
		if (opc == 0x09 && id == 0x07 && (p->cq_live || p->sq_live))
			die("Number of Queues after queues exist", 0, 0);
		if (opc == 0x09 && id == 0x09 &&
		    (c->cdw11 & 0xffff) > p->iv_max)
			die("Interrupt Vector Configuration vector", c->cdw11,
			    0);
	} else {
		return;
	}
	if (all && !p->all_ns)
		die("namespace list while not all are granted", c->nsid, id);
	if (one && (every ? !p->all_ns : !oracle_granted(p, c->nsid)))
		die("namespace not granted", c->nsid, id);
	if (!one && !all && !every && !oracle_granted(p, c->nsid))
		die("controller-wide command naming a foreign namespace",
		    c->nsid, id);
}

/* dev_in: may the device reach this data range (oracle_in, or conf_in in
 * the IOMMU shape); queue bases are the kernel's to read: oracle_in */
static void oracle(const struct nvme_val_policy *p, enum nvme_qtype qt,
		   const struct nvme_sqe *c, const struct nvme_val_result *r,
		   bool (*dev_in)(uint64_t, uint64_t))
{
	const struct nvme_ns_policy *ns;
	int64_t len = oracle_len(p, qt, c, &ns);
	uint8_t opc = c->cdw0 & 0xff;
	if (len < 0)
		die("accepted a forbidden opcode", opc, c->cdw10 & 0xff);
	if (c->cdw0 & (0x3u << 8 | 0x3u << 14))
		die("accepted fused or SGL", c->cdw0, 0);
	if (qt == NVME_QT_ADMIN)
		oracle_scope(p, c);
	if (qt == NVME_QT_ADMIN && (opc == 0x01 || opc == 0x05)) {
		uint64_t q = ((c->cdw10 >> 16) + 1ull) * (opc == 1 ? 64 : 16);
		if (!(c->cdw11 & 1) || (c->prp1 & (PS - 1)) ||
		    !oracle_in(c->prp1, q))
			die("queue base", c->prp1, q);
		return;
	}
	if ((uint64_t)len > p->max_xfer)
		die("transfer above max", len, p->max_xfer);
	if (ns && ns->md_bytes && opc != 0x09 && opc != 0x00 && opc != 0x08) {
		uint64_t md = ((c->cdw12 & 0xffff) + 1ull) * ns->md_bytes;
		if (!r->uses_mptr || !dev_in(c->mptr, md))
			die("metadata", c->mptr, md);
	}
	if (len == 0)
		return;
	/* walk the data pointer as the device does */
	uint64_t first = PS - (c->prp1 & (PS - 1));
	if (first > (uint64_t)len)
		first = (uint64_t)len;
	if (!dev_in(c->prp1, first))
		die("prp1", c->prp1, first);
	uint64_t rem = (uint64_t)len - first;
	if (rem == 0)
		return;
	if (rem <= PS) {
		if (r->kind != NVME_DATA_PRP2_PAGE || (c->prp2 & (PS - 1)) ||
		    !dev_in(c->prp2, rem))
			die("prp2", c->prp2, rem);
		return;
	}
	uint64_t n = (rem + PS - 1) / PS;
	if (r->kind != NVME_DATA_PRP_LIST || r->nlist != n)
		die("list shape", r->kind, r->nlist);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t l = rem > PS ? PS : rem;
		if ((listbuf[i] & (PS - 1)) || !dev_in(listbuf[i], l))
			die("list entry", listbuf[i], l);
		rem -= l;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init();
	if (size < 3)
		return 0;
	/* policy byte 2, bit 0x01: the IOMMU shape's 48-bit device limit */
	const bool dev_limit_48 = data[2] & 0x01;
	struct nvme_val_policy p;
	val_policy(&p, &gt, OWNER);
	p.max_xfer = (data[0] & 1) ? 128 * 1024 : NVME_VAL_XFER_CAP;
	p.qsize_max = 256;
	p.nns = 2;
	p.ns[1] = (struct nvme_ns_policy){.nsid = 2,
					  .lba_bytes =
					      (data[0] & 2) ? 4096 + 8 : 4096,
					  .md_bytes = (data[0] & 2) ? 0 : 8};
	/* a grant hint: the owner's, a neighbour's, a revoked or an empty
	 * slot (the validator must re-check whatever it is handed) */
	p.hint = (data[0] & 4) ? &gt.g[(data[0] >> 3) & 7] : 0;
	/* ONCS: Dataset Management and Write Zeroes each named or not;
	 * Compare named unless policy byte 2 has bit 0x02 (clear in every
	 * seed written before Compare was optional) */
	p.oncs = (uint16_t)(((data[0] & 0x40) ? NVME_ONCS_DSM : 0) |
			    ((data[0] & 0x80) ? NVME_ONCS_WRITE_ZEROES : 0) |
			    ((data[2] & 0x02) ? 0 : NVME_ONCS_COMPARE));
	p.all_ns = data[1] & 1;
	p.cq_live = data[1] & 0x3e;
	p.sq_live = (data[1] >> 2) & 0x3e & p.cq_live;
	for (unsigned q = 1; q < 8; q++)
		p.sq_cq[q] = (uint16_t)(q & ~1u) ? (uint16_t)(q & ~1u) : 1;
	data += 3;
	size -= 3;
	size_t ncmd = MIN(size / 64, (size_t)8);
	/* the rest fills the arena; bit-63-clear words become arena offsets
	 * so list entries land near grant edges */
	memset(arena, 0, ARENA);
	size_t rest = size - ncmd * 64;
	memcpy(arena, data + ncmd * 64, MIN(rest, (size_t)ARENA));
	for (size_t i = 0; i + 8 <= ARENA; i += 8) {
		uint64_t w;
		memcpy(&w, arena + i, 8);
		if (w && !(w >> 63))
			w = A + ((w & 0xffff) & ~7ull) + ((w >> 16) & 7);
		memcpy(arena + i, &w, 8);
	}
	const struct nvme_val_list list = {.fetch = fetch, .out = listbuf};
	for (size_t k = 0; k < ncmd; k++) {
		struct nvme_sqe c;
		memcpy(&c, data + k * 64, 64);
		c.prp1 = addr(c.prp1);
		c.prp2 = addr(c.prp2);
		c.mptr = (c.mptr == 0) ? 0 : addr(c.mptr);
		/* NSIDs near the granted ones most of the time */
		if (!(c.cdw3 & 4))
			c.nsid &= 3;
		/* bias toward valid shapes: clear FUSE/PSDT most of the time */
		if (!(c.cdw3 & 1))
			c.cdw0 &= ~(0x3u << 8 | 0x3u << 14);
		enum nvme_qtype qt = (c.cdw3 & 2) ? NVME_QT_ADMIN : NVME_QT_IO;
		struct nvme_val_result r;
		enum nvme_verdict v = nvme_validate(&p, qt, &c, &list, &r);
		if ((unsigned)v >= NVME_V_NREASONS)
			die("verdict out of range", v, 0);
		if (v == NVME_V_ACCEPT)
			oracle(&p, qt, &c, &r, oracle_in);
		p.hw_confined = true;
		p.dev_limit = conf_limit = dev_limit_48 ? 1ull << 48 : 0;
		enum nvme_verdict w = nvme_validate(&p, qt, &c, &list, &r);
		p.hw_confined = false;
		if (v == NVME_V_ACCEPT && w != NVME_V_ACCEPT)
			die("the IOMMU shape refused a command the checks "
			    "accept",
			    w, 0);
		if (v != w && v != NVME_V_PRP1_OUT_OF_GRANT &&
		    v != NVME_V_PRP2_OUT_OF_GRANT &&
		    v != NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT &&
		    v != NVME_V_MPTR_OUT_OF_GRANT)
			die("the IOMMU shape dropped a rule that is not a data "
			    "address",
			    v, w);
		/* every device range of an accepted command: outside the
		 * window and below the device's limit */
		if (w == NVME_V_ACCEPT)
			oracle(&p, qt, &c, &r, conf_in);
		p.dev_limit = conf_limit = 0;
	}
	return 0;
}
