/* dma/nvme_validate.c — see nvme_validate.h.
 *
 * The rules follow NVMe 2.0 §4.1.1 (PRP entries and lists), §5 (admin
 * commands) and the NVM Command Set 1.0 §3 (I/O commands). Building with
 * -DCAPOS_NVME_VALIDATOR_OFF keeps the same classification and copying (the
 * gate path is unchanged) but compiles every refusal out: only for the
 * benchmark that prices the checks. */
#include "dma/nvme_validate.h"

#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"

#ifdef CAPOS_NVME_VALIDATOR_OFF
#define VAL_ON 0
#else
#define VAL_ON 1
#endif
/* refuse with v when cond holds (compiled out with the validator off) */
#define REFUSE_IF(cond, v)                                                     \
	do {                                                                   \
		if (VAL_ON && (cond))                                          \
			return (v);                                            \
	} while (0)

static const char *const verdict_names[NVME_V_NREASONS] = {
    [NVME_V_ACCEPT] = "accept",
    [NVME_V_OPCODE_FORBIDDEN] = "opcode_forbidden",
    [NVME_V_FUSED] = "fused",
    [NVME_V_PSDT_SGL] = "psdt_sgl",
    [NVME_V_FEATURE_FORBIDDEN] = "feature_forbidden",
    [NVME_V_HMB] = "hmb",
    [NVME_V_DBBUF_CONFIG] = "dbbuf_config",
    [NVME_V_NSID_NOT_GRANTED] = "nsid_not_granted",
    [NVME_V_FEATURE_VALUE] = "feature_value",
    [NVME_V_CNS_FORBIDDEN] = "cns_forbidden",
    [NVME_V_LOG_FORBIDDEN] = "log_forbidden",
    [NVME_V_LEN_WRAPS] = "len_wraps",
    [NVME_V_XFER_EXCEEDS_MDTS] = "xfer_exceeds_mdts",
    [NVME_V_PRP1_MISALIGNED] = "prp1_misaligned",
    [NVME_V_PRP1_OUT_OF_GRANT] = "prp1_out_of_grant",
    [NVME_V_PRP2_MISALIGNED] = "prp2_misaligned",
    [NVME_V_PRP2_OUT_OF_GRANT] = "prp2_out_of_grant",
    [NVME_V_PRP_LIST_PTR_MISALIGNED] = "prp_list_ptr_misaligned",
    [NVME_V_PRP_LIST_PTR_OUT_OF_GRANT] = "prp_list_ptr_out_of_grant",
    [NVME_V_PRP_LIST_ENTRY_MISALIGNED] = "prp_list_entry_misaligned",
    [NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT] = "prp_list_entry_out_of_grant",
    [NVME_V_PRP_LIST_UNREADABLE] = "prp_list_unreadable",
    [NVME_V_MPTR_UNEXPECTED] = "mptr_unexpected",
    [NVME_V_MPTR_MISALIGNED] = "mptr_misaligned",
    [NVME_V_MPTR_OUT_OF_GRANT] = "mptr_out_of_grant",
    [NVME_V_QUEUE_ID_NOT_GRANTED] = "queue_id_not_granted",
    [NVME_V_QUEUE_STATE] = "queue_state",
    [NVME_V_QUEUE_SIZE] = "queue_size",
    [NVME_V_QUEUE_NOT_CONTIGUOUS] = "queue_not_contiguous",
    [NVME_V_QUEUE_BASE_MISALIGNED] = "queue_base_misaligned",
    [NVME_V_QUEUE_BASE_OUT_OF_GRANT] = "queue_base_out_of_grant",
    [NVME_V_QUEUE_IV] = "queue_iv",
    [NVME_V_DOORBELL_OUT_OF_RANGE] = "doorbell_out_of_range",
    [NVME_V_QUEUE_NOT_OWNED] = "queue_not_owned",
    [NVME_V_GATE_NO_MEMORY] = "gate_no_memory",
    [NVME_V_OVER_QUOTA] = "over_quota",
};

const char *nvme_verdict_name(enum nvme_verdict v)
{
	if ((unsigned)v >= NVME_V_NREASONS || !verdict_names[v])
		return "unknown";
	return verdict_names[v];
}

void nvme_val_stats_json(const struct nvme_val_stats *s, struct json *j)
{
	json_obj(j);
	for (unsigned v = 0; v < NVME_V_NREASONS; v++)
		json_ku64(j, nvme_verdict_name((enum nvme_verdict)v), s->n[v]);
	json_obj_end(j);
}

const struct nvme_ns_policy *nvme_val_ns(const struct nvme_val_policy *p,
					 uint32_t nsid)
{
	/* binary search: the broker grants in ascending NSID order (the
	 * Active Namespace ID list's) */
	unsigned lo = 0, hi = MIN(p->nns, (unsigned)NVME_VAL_MAX_NS);
	while (lo < hi && nsid) {
		unsigned mid = lo + (hi - lo) / 2;
		if (p->ns[mid].nsid == nsid)
			return &p->ns[mid];
		if (p->ns[mid].nsid < nsid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

uint64_t nvme_val_xfer_bytes(const struct nvme_ns_policy *n, uint32_t nlb0)
{
	/* (nlb0 + 1) <= 2^32 and lba_bytes < 2^32: the product fits in 64
	 * bits, but say so rather than rely on it */
	uint64_t blocks = (uint64_t)nlb0 + 1, bytes;
	if (__builtin_mul_overflow(blocks, (uint64_t)n->lba_bytes, &bytes))
		return 0;
	return bytes;
}

/* grant lookups for one command: the last grant that matched answers most
 * PRP entries of a command without a table scan */
struct gcache {
	const struct nvme_val_policy *p;
	const struct dma_grant *last;
	uint64_t last_bit; /* 1 << slot of last */
	uint64_t used;	   /* grant slots that matched */
};

static inline bool covered(struct gcache *c, uint64_t addr, uint64_t len)
{
#ifdef CAPOS_NVME_VALIDATOR_OFF
	(void)c, (void)addr, (void)len;
	return true;
#else
	if (c->last && grant_contains(c->last, addr, len)) {
		c->used |= c->last_bit;
		return true;
	}
	const struct dma_grant *g =
	    grant_find(c->p->grants, c->p->owner, addr, len);
	if (!g)
		return false;
	c->last = g;
	c->last_bit = 1ull << (unsigned)(g - c->p->grants->g);
	c->used |= c->last_bit;
	return true;
#endif
}

/* An address only the device dereferences: under hw_confined the IOMMU
 * confines it, so no grant lookup (and no pin). One range stays refused:
 * the x86 interrupt window, where a device write is an interrupt request
 * and not memory — QEMU 7.2 delivers compatibility-format MSIs even with
 * interrupt remapping on (shared/reference/vtd.md), so the IOMMU would not
 * stop it. It lies in no grant, so the verdict is the same. Nor may the
 * range reach the device's address limit (dev_limit), past which the device
 * would reach the window, or anything else, through an alias. */
#define VAL_MSI_LO  0xfee00000ull
#define VAL_MSI_END 0xfef00000ull
static inline bool dev_covered(struct gcache *c, uint64_t addr, uint64_t len)
{
	if (c->p->hw_confined) {
		/* a device that decodes fewer bits reaches addr modulo its
		 * limit: nothing at or past it (so no alias of the window) */
		const uint64_t lim = c->p->dev_limit;
		if (lim && (addr >= lim || len > lim - addr))
			return false;
		if (addr + len < addr) /* past 2^64: no device address */
			return false;
		return addr + len <= VAL_MSI_LO || addr >= VAL_MSI_END;
	}
	return covered(c, addr, len);
}

/* Walk the PRP list at prp2 for `rem` bytes after the first page, copying
 * entries into list->out and checking the copies (NVMe 2.0 §4.1.1: list
 * entries are page aligned; the list pointer may carry a qword-aligned
 * offset; when a list page cannot hold the remaining entries its last slot
 * points, page aligned, at the next list page). */
static enum nvme_verdict val_prp_list(struct gcache *c,
				      const struct nvme_val_list *list,
				      uint64_t ptr, uint64_t rem,
				      struct nvme_val_result *res)
{
	const uint32_t shift = c->p->page_shift;
	const uint64_t ps = 1ull << shift, pmask = ps - 1;
	/* the shadow list holds NVME_VAL_LIST_MAX entries: this bound stays
	 * even with the validator compiled out */
	if (((rem + pmask) >> shift) > NVME_VAL_LIST_MAX)
		return NVME_V_XFER_EXCEEDS_MDTS;
	const uint32_t nent = (uint32_t)((rem + pmask) >> shift);
	if (!list || !list->fetch || !list->out)
		return NVME_V_PRP_LIST_UNREADABLE;
	REFUSE_IF(ptr & 7, NVME_V_PRP_LIST_PTR_MISALIGNED);
	uint64_t *out = list->out;
	uint32_t got = 0;
	/* each pass either finishes or takes >= 0 entries and moves to a
	 * page-aligned list page (room 2^(shift-3)): at most nent+1 passes */
	while (got < nent) {
		uint32_t room = (uint32_t)((ps - (ptr & pmask)) >> 3);
		uint32_t need = nent - got;
		bool chain = need > room;
		uint32_t take = chain ? room - 1 : need;
		uint32_t n = take + (chain ? 1 : 0);
		REFUSE_IF(!covered(c, ptr, (uint64_t)n * 8),
			  NVME_V_PRP_LIST_PTR_OUT_OF_GRANT);
		if (!list->fetch(list->ctx, ptr, out + got, n))
			return NVME_V_PRP_LIST_UNREADABLE;
		uint32_t i = got;
#ifndef CAPOS_NVME_VALIDATOR_OFF
		/* fast path: every entry but the command's last moves a whole
		 * page; when all of them are page aligned and inside the grant
		 * PRP1 matched, one branch-free pass decides them (the OR of
		 * the misalignment bits and the out-of-range flags is 0) */
		uint32_t full_end = MIN(got + take, nent - 1);
		if (!c->p->hw_confined && c->last && c->last->len >= ps &&
		    full_end > got) {
			const uint64_t lo = c->last->base;
			const uint64_t span = c->last->len - ps;
			uint64_t bad = 0, bad2 = 0;
			uint32_t k = got;
			/* two independent accumulators: the loop is bound by
			 * the OR chain, not by loads */
			for (; k + 2 <= full_end; k += 2) {
				bad |= (out[k] & pmask) |
				       (uint64_t)(out[k] - lo > span);
				bad2 |= (out[k + 1] & pmask) |
					(uint64_t)(out[k + 1] - lo > span);
			}
			if (k < full_end)
				bad |= (out[k] & pmask) |
				       (uint64_t)(out[k] - lo > span);
			bad |= bad2;
			if (!bad) {
				c->used |= c->last_bit;
				rem -= (uint64_t)(full_end - got) << shift;
				i = full_end;
			}
		}
#endif
		for (; i < got + take; i++) {
			uint64_t e = out[i];
			uint64_t len = rem > ps ? ps : rem;
			REFUSE_IF(e & pmask, NVME_V_PRP_LIST_ENTRY_MISALIGNED);
			REFUSE_IF(!dev_covered(c, e, len),
				  NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT);
			rem -= len;
		}
		got += take;
		if (chain) {
			ptr = out[got];
			REFUSE_IF(ptr & pmask, NVME_V_PRP_LIST_PTR_MISALIGNED);
		}
	}
	res->kind = NVME_DATA_PRP_LIST;
	res->nlist = nent;
	return NVME_V_ACCEPT;
}

/* the data pointer of a command that moves len bytes (PRPs, §4.1.1) */
static enum nvme_verdict val_data(struct gcache *c, const struct nvme_sqe *cmd,
				  const struct nvme_val_list *list,
				  uint64_t len, struct nvme_val_result *res)
{
	const uint64_t ps = 1ull << c->p->page_shift, pmask = ps - 1;
	res->xfer = (uint32_t)MIN(len, (uint64_t)UINT32_MAX);
	if (len == 0) {
		res->kind = NVME_DATA_NONE;
		return NVME_V_ACCEPT;
	}
	REFUSE_IF(len > c->p->max_xfer, NVME_V_XFER_EXCEEDS_MDTS);
	uint64_t prp1 = cmd->prp1;
	REFUSE_IF(prp1 & 3, NVME_V_PRP1_MISALIGNED);
	uint64_t first = ps - (prp1 & pmask);
	if (first > len)
		first = len;
	REFUSE_IF(prp1 + first < prp1, NVME_V_LEN_WRAPS);
	REFUSE_IF(!dev_covered(c, prp1, first), NVME_V_PRP1_OUT_OF_GRANT);
	uint64_t rem = len - first;
	if (rem == 0) {
		res->kind = NVME_DATA_PRP1;
		return NVME_V_ACCEPT;
	}
	if (rem <= ps) {
		REFUSE_IF(cmd->prp2 & pmask, NVME_V_PRP2_MISALIGNED);
		REFUSE_IF(!dev_covered(c, cmd->prp2, rem),
			  NVME_V_PRP2_OUT_OF_GRANT);
		res->kind = NVME_DATA_PRP2_PAGE;
		return NVME_V_ACCEPT;
	}
	return val_prp_list(c, list, cmd->prp2, rem, res);
}

/* separate metadata: MPTR names one contiguous buffer (PSDT 00) */
static enum nvme_verdict val_mptr(struct gcache *c, const struct nvme_sqe *cmd,
				  uint64_t md_len, struct nvme_val_result *res)
{
	if (md_len == 0) {
		REFUSE_IF(cmd->mptr != 0, NVME_V_MPTR_UNEXPECTED);
		return NVME_V_ACCEPT;
	}
	REFUSE_IF(cmd->mptr & 3, NVME_V_MPTR_MISALIGNED);
	REFUSE_IF(cmd->mptr + md_len < cmd->mptr, NVME_V_LEN_WRAPS);
	REFUSE_IF(!dev_covered(c, cmd->mptr, md_len), NVME_V_MPTR_OUT_OF_GRANT);
	res->uses_mptr = true;
	return NVME_V_ACCEPT;
}

static bool bit(uint64_t set, unsigned q)
{
	return (set >> q) & 1;
}

/* Create I/O CQ / SQ (NVMe 2.0 §5.4, §5.5) */
static enum nvme_verdict val_create_q(struct gcache *c,
				      const struct nvme_sqe *cmd, bool sq,
				      struct nvme_val_result *res)
{
	const struct nvme_val_policy *p = c->p;
	uint32_t qid = FIELD_GET(NVME_CREATEQ_QID, cmd->cdw10);
	uint32_t qsize0 = FIELD_GET(NVME_CREATEQ_QSIZE, cmd->cdw10);
	REFUSE_IF(qid == 0 || qid > p->qid_max || qid >= NVME_VAL_MAX_QID,
		  NVME_V_QUEUE_ID_NOT_GRANTED);
	REFUSE_IF(qsize0 == 0 || qsize0 + 1 > p->qsize_max, NVME_V_QUEUE_SIZE);
	REFUSE_IF(!FIELD_GET(NVME_CREATEQ_PC, cmd->cdw11),
		  NVME_V_QUEUE_NOT_CONTIGUOUS);
	if (sq) {
		uint32_t cqid = FIELD_GET(NVME_CREATESQ_CQID, cmd->cdw11);
		REFUSE_IF(bit(p->sq_live, qid), NVME_V_QUEUE_STATE);
		REFUSE_IF(cqid == 0 || cqid >= NVME_VAL_MAX_QID ||
			      !bit(p->cq_live, cqid),
			  NVME_V_QUEUE_STATE);
	} else {
		REFUSE_IF(bit(p->cq_live, qid), NVME_V_QUEUE_STATE);
		REFUSE_IF(FIELD_GET(NVME_CREATECQ_IV, cmd->cdw11) > p->iv_max,
			  NVME_V_QUEUE_IV);
	}
	uint64_t bytes =
	    (uint64_t)(qsize0 + 1) * (sq ? NVME_SQE_BYTES : NVME_CQE_BYTES);
	REFUSE_IF(cmd->prp1 & ((1ull << p->page_shift) - 1),
		  NVME_V_QUEUE_BASE_MISALIGNED);
	REFUSE_IF(cmd->prp1 + bytes < cmd->prp1, NVME_V_LEN_WRAPS);
	REFUSE_IF(!covered(c, cmd->prp1, bytes),
		  NVME_V_QUEUE_BASE_OUT_OF_GRANT);
	res->kind = NVME_DATA_QUEUE;
	res->xfer = (uint32_t)bytes;
	return NVME_V_ACCEPT;
}

static enum nvme_verdict val_delete_q(const struct nvme_val_policy *p,
				      const struct nvme_sqe *cmd, bool sq)
{
	uint32_t qid = FIELD_GET(NVME_DELETEQ_QID, cmd->cdw10);
	REFUSE_IF(qid == 0 || qid > p->qid_max || qid >= NVME_VAL_MAX_QID,
		  NVME_V_QUEUE_ID_NOT_GRANTED);
	if (sq) {
		REFUSE_IF(!bit(p->sq_live, qid), NVME_V_QUEUE_STATE);
		return NVME_V_ACCEPT;
	}
	REFUSE_IF(!bit(p->cq_live, qid), NVME_V_QUEUE_STATE);
	for (unsigned q = 1; q < NVME_VAL_MAX_QID; q++)
		REFUSE_IF(bit(p->sq_live, q) && p->sq_cq[q] == qid,
			  NVME_V_QUEUE_STATE);
	return NVME_V_ACCEPT;
}

/* The admin scope table (see nvme_validate.h; the reason for each row is in
 * docs/devices/nvme.md). Controller-wide settings that change how every
 * namespace behaves, or that are platform policy, are Get-only. */
#define CNS(id, scope, nm)                                                     \
	{                                                                      \
		NVME_SK_CNS, (id), (scope), NVME_SCOPE_BROKER, 0, 0, (nm)      \
	}
#define LOG(id, scope, nm)                                                     \
	{                                                                      \
		NVME_SK_LOG, (id), (scope), NVME_SCOPE_BROKER, 0, 0, (nm)      \
	}
#define FEAT(id, get, set, chk, n, nm)                                         \
	{                                                                      \
		NVME_SK_FEATURE, (id), (get), (set), (chk), (n), (nm)          \
	}
const struct nvme_scope_row nvme_scope_table[] = {
    CNS(NVME_CNS_NS, NVME_SCOPE_NS, "Identify Namespace"),
    CNS(NVME_CNS_CTRL, NVME_SCOPE_CTRL, "Identify Controller"),
    CNS(NVME_CNS_ACTIVE_NSLIST, NVME_SCOPE_ALL_NS, "Active Namespace ID list"),
    CNS(NVME_CNS_NS_DESC_LIST, NVME_SCOPE_NS,
	"Namespace Identification Descriptor list"),
    CNS(NVME_CNS_CS_NS, NVME_SCOPE_NS,
	"I/O Command Set specific Identify Namespace"),
    CNS(NVME_CNS_CS_CTRL, NVME_SCOPE_CTRL,
	"I/O Command Set specific Identify Controller"),
    CNS(NVME_CNS_CS_ACTIVE_NSLIST, NVME_SCOPE_ALL_NS,
	"I/O Command Set specific Active Namespace ID list"),
    CNS(NVME_CNS_INDEP_NS, NVME_SCOPE_NS,
	"I/O Command Set Independent Identify Namespace"),
    LOG(NVME_LOG_SMART, NVME_SCOPE_NS, "SMART / Health Information"),
    LOG(NVME_LOG_FW_SLOT, NVME_SCOPE_CTRL, "Firmware Slot Information"),
    LOG(NVME_LOG_CHANGED_NS, NVME_SCOPE_ALL_NS, "Changed Namespace List"),
    LOG(NVME_LOG_CMD_EFFECTS, NVME_SCOPE_CTRL,
	"Commands Supported and Effects"),
    FEAT(NVME_FID_ARBITRATION, NVME_SCOPE_CTRL, NVME_SCOPE_CTRL, NVME_CHK_NONE,
	 0, "Arbitration"),
    FEAT(NVME_FID_POWER_MGMT, NVME_SCOPE_CTRL, NVME_SCOPE_BROKER, NVME_CHK_NONE,
	 0, "Power Management"),
    FEAT(NVME_FID_LBA_RANGE, NVME_SCOPE_NS, NVME_SCOPE_NS, NVME_CHK_NONE, 4096,
	 "LBA Range Type"),
    FEAT(NVME_FID_TEMP_THRESH, NVME_SCOPE_CTRL, NVME_SCOPE_BROKER,
	 NVME_CHK_NONE, 0, "Temperature Threshold"),
    FEAT(NVME_FID_ERR_RECOVERY, NVME_SCOPE_NS, NVME_SCOPE_NS, NVME_CHK_NONE, 0,
	 "Error Recovery"),
    FEAT(NVME_FID_VWC, NVME_SCOPE_CTRL, NVME_SCOPE_BROKER, NVME_CHK_NONE, 0,
	 "Volatile Write Cache"),
    FEAT(NVME_FID_NUM_QUEUES, NVME_SCOPE_CTRL, NVME_SCOPE_CTRL_CHECK,
	 NVME_CHK_NO_IOQ, 0, "Number of Queues"),
    FEAT(NVME_FID_IRQ_COALESCE, NVME_SCOPE_CTRL, NVME_SCOPE_CTRL, NVME_CHK_NONE,
	 0, "Interrupt Coalescing"),
    FEAT(NVME_FID_IRQ_CONFIG, NVME_SCOPE_CTRL, NVME_SCOPE_CTRL_CHECK,
	 NVME_CHK_IV, 0, "Interrupt Vector Configuration"),
    FEAT(NVME_FID_WRITE_ATOMIC, NVME_SCOPE_CTRL, NVME_SCOPE_BROKER,
	 NVME_CHK_NONE, 0, "Write Atomicity Normal"),
    FEAT(NVME_FID_ASYNC_EVENT, NVME_SCOPE_CTRL, NVME_SCOPE_BROKER,
	 NVME_CHK_NONE, 0, "Asynchronous Event Configuration"),
    FEAT(NVME_FID_APST, NVME_SCOPE_CTRL, NVME_SCOPE_BROKER, NVME_CHK_NONE, 256,
	 "Autonomous Power State Transition"),
    FEAT(NVME_FID_TIMESTAMP, NVME_SCOPE_CTRL, NVME_SCOPE_BROKER, NVME_CHK_NONE,
	 8, "Timestamp"),
    FEAT(NVME_FID_KATO, NVME_SCOPE_CTRL, NVME_SCOPE_BROKER, NVME_CHK_NONE, 0,
	 "Keep Alive Timer"),
    FEAT(NVME_FID_HOST_BEHAVIOR, NVME_SCOPE_CTRL, NVME_SCOPE_BROKER,
	 NVME_CHK_NONE, 512, "Host Behavior Support"),
};
#undef CNS
#undef LOG
#undef FEAT
const unsigned nvme_scope_rows = ARRAY_SIZE(nvme_scope_table);

const struct nvme_scope_row *nvme_scope_find(enum nvme_scope_key key,
					     uint8_t id)
{
	for (unsigned i = 0; i < nvme_scope_rows; i++)
		if (nvme_scope_table[i].key == key &&
		    nvme_scope_table[i].id == id)
			return &nvme_scope_table[i];
	return 0;
}

enum nvme_verdict nvme_val_scope(const struct nvme_val_policy *p,
				 const struct nvme_sqe *cmd,
				 const struct nvme_scope_row *row, bool set,
				 enum nvme_verdict forbidden)
{
	uint8_t scope = row ? (set ? row->set : row->get) : NVME_SCOPE_BROKER;
	uint32_t nsid = cmd->nsid;
	bool every = nsid == 0 || nsid == NVME_NSID_ALL;
	bool granted = nvme_val_ns(p, nsid) != 0;
	switch (scope) {
	case NVME_SCOPE_CTRL:
	case NVME_SCOPE_CTRL_CHECK:
		/* the NSID is unused; one naming a namespace must be ours */
		REFUSE_IF(!every && !granted, NVME_V_NSID_NOT_GRANTED);
		break;
	case NVME_SCOPE_NS:
		REFUSE_IF(every ? !p->all_ns : !granted,
			  NVME_V_NSID_NOT_GRANTED);
		return NVME_V_ACCEPT;
	case NVME_SCOPE_ALL_NS:
		REFUSE_IF(!p->all_ns, NVME_V_NSID_NOT_GRANTED);
		return NVME_V_ACCEPT;
	default:
		REFUSE_IF(true, forbidden);
		return NVME_V_ACCEPT;
	}
	if (scope != NVME_SCOPE_CTRL_CHECK)
		return NVME_V_ACCEPT;
	switch (row->check) {
	case NVME_CHK_NO_IOQ:
		/* queues are counted once, before the first is created
		 * (NVMe 2.0 §5.27.1.5); later it is a sequence error */
		REFUSE_IF(p->cq_live || p->sq_live, NVME_V_FEATURE_VALUE);
		break;
	case NVME_CHK_IV:
		REFUSE_IF(FIELD_GET(NVME_IVC_IV, cmd->cdw11) > p->iv_max,
			  NVME_V_FEATURE_VALUE);
		break;
	default:
		REFUSE_IF(true, NVME_V_FEATURE_VALUE);
	}
	return NVME_V_ACCEPT;
}

static enum nvme_verdict val_admin(struct gcache *c, const struct nvme_sqe *cmd,
				   const struct nvme_val_list *list,
				   struct nvme_val_result *res)
{
	const struct nvme_val_policy *p = c->p;
	const struct nvme_scope_row *row;
	enum nvme_verdict v;
	uint8_t opc = nvme_sqe_opc(cmd);
	/* admin commands carry no separate metadata */
	REFUSE_IF(cmd->mptr != 0, NVME_V_MPTR_UNEXPECTED);
	switch (opc) {
	case NVME_ADM_IDENTIFY:
		row = nvme_scope_find(NVME_SK_CNS,
				      FIELD_GET(NVME_IDENTIFY_CNS, cmd->cdw10));
		v = nvme_val_scope(p, cmd, row, false, NVME_V_CNS_FORBIDDEN);
		if (v != NVME_V_ACCEPT)
			return v;
		return val_data(c, cmd, list, NVME_IDENTIFY_BYTES, res);
	case NVME_ADM_GET_LOG_PAGE: {
		row = nvme_scope_find(NVME_SK_LOG,
				      FIELD_GET(NVME_GLP_LID, cmd->cdw10));
		v = nvme_val_scope(p, cmd, row, false, NVME_V_LOG_FORBIDDEN);
		if (v != NVME_V_ACCEPT)
			return v;
		uint64_t numd = FIELD_GET(NVME_GLP_NUMDL, cmd->cdw10) |
				(FIELD_GET(NVME_GLP_NUMDU, cmd->cdw11) << 16);
		return val_data(c, cmd, list, (numd + 1) * 4, res);
	}
	case NVME_ADM_GET_FEATURES:
	case NVME_ADM_SET_FEATURES: {
		bool set = opc == NVME_ADM_SET_FEATURES;
		uint32_t fid = FIELD_GET(NVME_FEAT_FID, cmd->cdw10);
		REFUSE_IF(fid == NVME_FID_HMB, NVME_V_HMB);
		/* Save makes a setting outlive this owner (and resets) */
		REFUSE_IF(set && FIELD_GET(NVME_FEAT_SV, cmd->cdw10),
			  NVME_V_FEATURE_FORBIDDEN);
		row = nvme_scope_find(NVME_SK_FEATURE, (uint8_t)fid);
		v = nvme_val_scope(p, cmd, row, set, NVME_V_FEATURE_FORBIDDEN);
		if (v != NVME_V_ACCEPT)
			return v;
		return val_data(c, cmd, list, row ? row->bytes : 0, res);
	}
	case NVME_ADM_CREATE_CQ:
		return val_create_q(c, cmd, false, res);
	case NVME_ADM_CREATE_SQ:
		return val_create_q(c, cmd, true, res);
	case NVME_ADM_DELETE_CQ:
		return val_delete_q(p, cmd, false);
	case NVME_ADM_DELETE_SQ:
		return val_delete_q(p, cmd, true);
	case NVME_ADM_ABORT: {
		uint32_t sqid = FIELD_GET(NVME_ABORT_SQID, cmd->cdw10);
		REFUSE_IF(sqid != 0 && (sqid >= NVME_VAL_MAX_QID ||
					!bit(p->sq_live, sqid)),
			  NVME_V_QUEUE_ID_NOT_GRANTED);
		return NVME_V_ACCEPT;
	}
	case NVME_ADM_ASYNC_EVENT:
	case NVME_ADM_KEEP_ALIVE:
		return NVME_V_ACCEPT;
	case NVME_ADM_DBBUF_CONFIG:
		REFUSE_IF(true, NVME_V_DBBUF_CONFIG);
		return NVME_V_ACCEPT;
	default:
		/* destructive, privileged, vendor, or carrying addresses this
		 * validator cannot see: Format, Sanitize, Firmware, Namespace
		 * Management/Attachment, Security, Virtualization, MI, ... */
		REFUSE_IF(true, NVME_V_OPCODE_FORBIDDEN);
		return NVME_V_ACCEPT;
	}
}

static enum nvme_verdict val_io(struct gcache *c, const struct nvme_sqe *cmd,
				const struct nvme_val_list *list,
				struct nvme_val_result *res)
{
	uint8_t opc = nvme_sqe_opc(cmd);
	switch (opc) {
	case NVME_IO_READ:
	case NVME_IO_WRITE:
	case NVME_IO_FLUSH:
		break;
	/* optional (ONCS): a controller without them is not sent them */
	case NVME_IO_COMPARE:
		REFUSE_IF(!(c->p->oncs & NVME_ONCS_COMPARE),
			  NVME_V_OPCODE_FORBIDDEN);
		break;
	case NVME_IO_WRITE_ZEROES:
		REFUSE_IF(!(c->p->oncs & NVME_ONCS_WRITE_ZEROES),
			  NVME_V_OPCODE_FORBIDDEN);
		break;
	case NVME_IO_DSM:
		REFUSE_IF(!(c->p->oncs & NVME_ONCS_DSM),
			  NVME_V_OPCODE_FORBIDDEN);
		break;
	default:
		REFUSE_IF(true, NVME_V_OPCODE_FORBIDDEN);
		return NVME_V_ACCEPT;
	}
	const struct nvme_ns_policy *ns = nvme_val_ns(c->p, cmd->nsid);
	REFUSE_IF(!ns, NVME_V_NSID_NOT_GRANTED);
	if (!ns) /* only reachable with the validator off */
		return val_data(c, cmd, list, 0, res);
	enum nvme_verdict v;
	switch (opc) {
	case NVME_IO_READ:
	case NVME_IO_WRITE:
	case NVME_IO_COMPARE: {
		uint32_t nlb0 = FIELD_GET(NVME_RW_NLB, cmd->cdw12);
		uint64_t len = nvme_val_xfer_bytes(ns, nlb0);
		REFUSE_IF(len == 0, NVME_V_LEN_WRAPS);
		REFUSE_IF(len > c->p->max_xfer, NVME_V_XFER_EXCEEDS_MDTS);
		v = val_mptr(c, cmd, (uint64_t)(nlb0 + 1) * ns->md_bytes, res);
		if (v != NVME_V_ACCEPT)
			return v;
		return val_data(c, cmd, list, len, res);
	}
	case NVME_IO_DSM: {
		uint32_t nr0 = FIELD_GET(NVME_DSM_NR, cmd->cdw10);
		v = val_mptr(c, cmd, 0, res);
		if (v != NVME_V_ACCEPT)
			return v;
		return val_data(c, cmd, list,
				(uint64_t)(nr0 + 1) * NVME_DSM_RANGE_BYTES,
				res);
	}
	default: /* Flush, Write Zeroes: no data, no metadata */
		v = val_mptr(c, cmd, 0, res);
		if (v != NVME_V_ACCEPT)
			return v;
		return val_data(c, cmd, list, 0, res);
	}
}

enum nvme_verdict nvme_validate(const struct nvme_val_policy *p,
				enum nvme_qtype qt, const struct nvme_sqe *cmd,
				const struct nvme_val_list *list,
				struct nvme_val_result *res)
{
	struct nvme_val_result scratch;
	struct gcache c = {.p = p, .last = 0, .last_bit = 0, .used = 0};
	const struct dma_grant *h = p->hint;
	if (h && h >= p->grants->g && h < p->grants->g + GRANT_MAX && h->live &&
	    h->owner == p->owner) {
		c.last = h;
		c.last_bit = 1ull << (unsigned)(h - p->grants->g);
	}
	enum nvme_verdict v;
	if (!res)
		res = &scratch;
	res->kind = NVME_DATA_NONE;
	res->xfer = 0;
	res->nlist = 0;
	res->uses_mptr = false;
	res->grants = 0;
	REFUSE_IF(FIELD_GET(NVME_CDW0_FUSE, cmd->cdw0) != 0, NVME_V_FUSED);
	REFUSE_IF(FIELD_GET(NVME_CDW0_PSDT, cmd->cdw0) != NVME_PSDT_PRP,
		  NVME_V_PSDT_SGL);
	if (qt == NVME_QT_ADMIN)
		v = val_admin(&c, cmd, list, res);
	else
		v = val_io(&c, cmd, list, res);
	res->grants = c.used;
	res->last = c.last;
	return v;
}
