/* dma/nvme_validate.h — the on-notify validator: one NVMe command against
 * one owner's policy (pure C: kernel, host tests, fuzzers, benchmark).
 *
 * nvme_validate() decides whether the device may execute a command the
 * driver wrote. It reads nothing but the policy, the command copy it is
 * given and — through list->fetch — the driver's PRP list pages, which it
 * copies into kernel memory (list->out) before looking at them; every
 * address it accepts is checked on that copy. It never writes the device and
 * never follows a pointer the grant table did not cover first.
 *
 * Every rule has its own verdict, so a rejection says which rule fired. */
#ifndef CAPOS_NVME_VALIDATE_H
#define CAPOS_NVME_VALIDATE_H
#include <stdbool.h>
#include <stdint.h>

#include "dma/grant.h"
#include "dma/nvme_reg.h"

enum nvme_verdict {
	NVME_V_ACCEPT = 0,
	/* opcode policy */
	NVME_V_OPCODE_FORBIDDEN, /* not on this queue type's allowlist, or
				  * an optional one ONCS does not name */
	NVME_V_FUSED,		 /* FUSE != 00: fused pairs are not supported */
	NVME_V_PSDT_SGL,	 /* PSDT != 00: SGLs are not supported */
	NVME_V_FEATURE_FORBIDDEN, /* Get/Set Features FID not on the allowlist
				   */
	NVME_V_HMB,		  /* Set Features Host Memory Buffer (0x0D) */
	NVME_V_DBBUF_CONFIG,	  /* Doorbell Buffer Config (0x7C) */
	NVME_V_NSID_NOT_GRANTED,  /* namespace not in the owner's set, or a
				   * broadcast NSID / namespace list while
				   * not every namespace is granted */
	NVME_V_FEATURE_VALUE,	  /* controller-wide Set Features whose value
				   * check failed (nvme_scope_table) */
	NVME_V_CNS_FORBIDDEN,	  /* Identify CNS not on the scope table */
	NVME_V_LOG_FORBIDDEN,	  /* Get Log Page id not on the scope table */
	/* transfer length */
	NVME_V_LEN_WRAPS, /* NLB/NUMD arithmetic or address wraps 2^64 */
	NVME_V_XFER_EXCEEDS_MDTS, /* more bytes than the max transfer size */
	/* data pointer (PRP) */
	NVME_V_PRP1_MISALIGNED,		/* PRP1 not dword aligned */
	NVME_V_PRP1_OUT_OF_GRANT,	/* first page's bytes not in a grant */
	NVME_V_PRP2_MISALIGNED,		/* PRP2 as 2nd data page: offset != 0 */
	NVME_V_PRP2_OUT_OF_GRANT,	/* PRP2 data page not in a grant */
	NVME_V_PRP_LIST_PTR_MISALIGNED, /* list pointer not qword aligned, or a
					 * chain pointer with an offset */
	NVME_V_PRP_LIST_PTR_OUT_OF_GRANT, /* list page not in a grant */
	NVME_V_PRP_LIST_ENTRY_MISALIGNED, /* list entry has an in-page offset */
	NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT, /* list entry's page not in a grant
					     */
	NVME_V_PRP_LIST_UNREADABLE,	    /* list fetch failed (gate could not
					     * map the driver's page) */
	/* metadata pointer */
	NVME_V_MPTR_UNEXPECTED,	  /* MPTR != 0 where no separate metadata */
	NVME_V_MPTR_MISALIGNED,	  /* MPTR not dword aligned */
	NVME_V_MPTR_OUT_OF_GRANT, /* metadata bytes not in a grant */
	/* queue management */
	NVME_V_QUEUE_ID_NOT_GRANTED, /* qid 0 or outside the owner's range */
	NVME_V_QUEUE_STATE, /* create of a live qid, SQ before its CQ, delete
			     * of an absent queue or of a CQ still in use */
	NVME_V_QUEUE_SIZE,  /* QSIZE 0 or above the policy's limit */
	NVME_V_QUEUE_NOT_CONTIGUOUS,	/* PC=0 (PRP-list queues) */
	NVME_V_QUEUE_BASE_MISALIGNED,	/* queue base not page aligned */
	NVME_V_QUEUE_BASE_OUT_OF_GRANT, /* queue memory not in a grant */
	NVME_V_QUEUE_IV,		/* interrupt vector out of range */
	/* doorbell gate (not a command verdict: a refused ring call) */
	NVME_V_DOORBELL_OUT_OF_RANGE, /* tail >= queue size */
	NVME_V_QUEUE_NOT_OWNED, /* ring of a queue the gate does not hold */
	NVME_V_GATE_NO_MEMORY,	/* no kernel memory for a shadow queue */
	NVME_V_OVER_QUOTA,	/* the owner's shadow-memory quota is spent */
	NVME_V_NREASONS
};

const char *nvme_verdict_name(enum nvme_verdict v);

enum nvme_qtype { NVME_QT_ADMIN, NVME_QT_IO };

/* namespaces a policy can grant: one Active Namespace ID list page
 * (NVME_NSLIST_MAX), which is all the broker reads */
#define NVME_VAL_MAX_NS	 1024
#define NVME_VAL_MAX_QID 64 /* I/O queue ids 1..63 tracked by the gate */
/* shadow PRP list: one page of entries per outstanding command; with
 * max_xfer <= 2 MiB at 4 KiB pages no list ever needs a chain */
#define NVME_VAL_LIST_MAX 512u
#define NVME_VAL_XFER_CAP (2u << 20)

/* a namespace's identifiers (dma/nvme_ident.c reads them): each one only
 * when its bit in have is set — an identifier of all zeros is none, its
 * value unknown, never equal to another */
struct nvme_ns_ids {
	uint8_t have; /* NVME_NSIDS_* */
	uint8_t csi;  /* the Command Set Identifier (NVME_CSI_*) */
	uint8_t eui64[NVME_NIDL_EUI64];
	uint8_t nguid[NVME_NIDL_NGUID];
	uint8_t uuid[NVME_NIDL_UUID];
};
#define NVME_NSIDS_EUI64 (1u << 0)
#define NVME_NSIDS_NGUID (1u << 1)
#define NVME_NSIDS_UUID	 (1u << 2)
#define NVME_NSIDS_CSI	 (1u << 3)

struct nvme_ns_policy {
	uint32_t nsid;	     /* 1-based */
	uint32_t lba_bytes;  /* bytes moved per LBA (data + metadata if
			      * extended) */
	uint32_t md_bytes;   /* separate metadata per LBA (MPTR), 0: none */
	uint32_t data_bytes; /* data bytes per LBA (2^LBADS) */
	uint64_t nsze;	     /* size in LBAs */
	uint8_t dlfeat;	     /* Identify Namespace DLFEAT (NVME_DLFEAT_*):
			      * what a deallocated block reads */
	/* which namespace this is */
	struct nvme_ns_ids ids;
};

struct dma_owner;
struct nvme_val_policy {
	struct grant_table *grants; /* read here; the gate pins in it */
	struct dma_owner *acct;	    /* charged for the gate's shadows (NULL:
				     * uncharged) */
	uint16_t owner;
	uint8_t page_shift; /* 12 + CC.MPS */
	uint32_t max_xfer;  /* bytes: MDTS (capped by NVME_VAL_XFER_CAP) */
	/* Identify Controller ONCS: Compare, Write Zeroes and Dataset
	 * Management are accepted only when it names them (NVME_ONCS_COMPARE,
	 * NVME_ONCS_WRITE_ZEROES, NVME_ONCS_DSM); else
	 * NVME_V_OPCODE_FORBIDDEN */
	uint16_t oncs;
	uint16_t qid_max;   /* I/O queue ids 1..qid_max (< NVME_VAL_MAX_QID) */
	uint32_t qsize_max; /* entries per I/O queue (1-based) */
	uint16_t iv_max;    /* highest MSI-X vector an I/O CQ may name */
	unsigned nns;
	struct nvme_ns_policy ns[NVME_VAL_MAX_NS]; /* ascending nsid */
	/* every active namespace of the controller is in ns[] (the broker
	 * sets it): only then may an admin command name the broadcast NSID
	 * or read a namespace list */
	bool all_ns;
	/* queue state the gate maintains: bit q set when I/O queue q exists
	 * (or its create is in flight); sq_cq[q]: the CQ an SQ posts to */
	uint64_t cq_live, sq_live;
	uint16_t sq_cq[NVME_VAL_MAX_QID];
	/* Address checks off (the IOMMU backend's fast shape): an IOMMU
	 * confines every access the device makes to the owner's domain, so
	 * the grant lookups of addresses only the device dereferences — PRP1
	 * and PRP2 data pages, PRP list entries, MPTR — are skipped and those
	 * grants are not pinned (an unmapped page faults instead of being
	 * reached). Addresses the kernel itself reads or writes through the
	 * CPU stay checked in every shape: the PRP list pages the gate copies
	 * and the queue rings it shadows and posts into. Command policy
	 * (opcodes, namespaces, scopes, queues, lengths, alignment) is the
	 * same. Only the broker sets it, and only for an owner the IOMMU
	 * translates (dma_owner_translated). */
	bool hw_confined;
	/* The device decodes only addresses below this (0: all 64 bits;
	 * AWS's NVMe controllers: 2^48, the owner's DMA limit). With
	 * hw_confined a device-only address at or above it is refused: the
	 * device would reach it modulo the limit, where the interrupt
	 * window check never looked. Pools and shadows lie below it. */
	uint64_t dev_limit;
	/* optional: an entry of grants->g to try before scanning the table
	 * (the gate passes the last one that matched); re-checked for
	 * liveness and owner on every use */
	const struct dma_grant *hint;
};

/* Where PRP list entries come from. fetch copies n 8-byte entries from the
 * driver's memory at device address iova (already grant-checked by the
 * validator) into dst; false when it cannot. The validator checks dst — the
 * kernel copy — never the driver's page again. */
struct nvme_val_list {
	void *ctx;
	bool (*fetch)(void *ctx, uint64_t iova, uint64_t *dst, uint32_t n);
	uint64_t *out; /* NVME_VAL_LIST_MAX entries (a shadow list page) */
};

/* what the gate needs to build the device's copy */
enum nvme_data_kind {
	NVME_DATA_NONE, /* no data pointer used: PRP1/PRP2 zeroed in copy */
	NVME_DATA_PRP1, /* PRP1 only: PRP2 zeroed in copy */
	NVME_DATA_PRP2_PAGE, /* PRP1 + PRP2 as a second data page */
	NVME_DATA_PRP_LIST,  /* PRP2 -> list: out[0..nlist) holds the entries */
	NVME_DATA_QUEUE,     /* Create I/O SQ/CQ: PRP1 is a queue base */
};

struct nvme_val_result {
	enum nvme_data_kind kind;
	uint32_t xfer;	 /* bytes the data pointer describes */
	uint32_t nlist;	 /* PRP list entries written to list->out */
	bool uses_mptr;	 /* MPTR is kept in the copy (else zeroed) */
	uint64_t grants; /* bit i: grant slot i covers some address it names
			  * (the gate pins these while the command runs) */
	const struct dma_grant *last; /* the last grant that matched */
};
_Static_assert(GRANT_MAX <= 64, "nvme_val_result.grants is a 64-bit mask");

/* Decide one command. cmd is already the kernel's copy. list may be NULL
 * when no command can need a PRP list (the result is then PRP_LIST_UNREADABLE
 * for such a command). res may be NULL. Pure: no counters, no side effects
 * except list->out. */
enum nvme_verdict nvme_validate(const struct nvme_val_policy *p,
				enum nvme_qtype qt, const struct nvme_sqe *cmd,
				const struct nvme_val_list *list,
				struct nvme_val_result *res);

/* The admin scope table: which Identify CNS values, Get Log Page ids and
 * Get/Set Features ids a driver may use, and on which namespaces (NVMe 2.0
 * §5.16, §5.17, §5.27.1). One row per id; an id without a row is the
 * broker's alone. docs/devices/nvme.md gives each row's reason. */
enum nvme_scope {
	NVME_SCOPE_BROKER = 0, /* refused: the broker's alone */
	NVME_SCOPE_CTRL,       /* controller-wide: allowed; an NSID it names
				* must be 0, FFFFFFFFh or granted */
	NVME_SCOPE_CTRL_CHECK, /* controller-wide, allowed when the row's
				* value check passes */
	NVME_SCOPE_NS,	       /* one namespace: a granted NSID; 0 and
				* FFFFFFFFh (every namespace) only with
				* all_ns */
	NVME_SCOPE_ALL_NS,     /* names or reaches every namespace: only with
				* all_ns */
};
enum nvme_scope_key { NVME_SK_CNS, NVME_SK_LOG, NVME_SK_FEATURE };
enum nvme_scope_check {
	NVME_CHK_NONE,
	NVME_CHK_NO_IOQ, /* no I/O queue exists (nor is being created) */
	NVME_CHK_IV,	 /* CDW11 bits 15:0 name a vector <= iv_max */
};
struct nvme_scope_row {
	uint8_t key;	/* enum nvme_scope_key */
	uint8_t id;	/* CNS, log page id or feature id */
	uint8_t get;	/* enum nvme_scope: Identify, Get Log, Get Features */
	uint8_t set;	/* enum nvme_scope: Set Features (features only) */
	uint8_t check;	/* enum nvme_scope_check, for NVME_SCOPE_CTRL_CHECK */
	uint16_t bytes; /* feature data bytes (0: none); unused otherwise */
	const char *name;
};
extern const struct nvme_scope_row nvme_scope_table[];
extern const unsigned nvme_scope_rows;
/* the row for (key, id), or NULL: the broker's alone */
const struct nvme_scope_row *nvme_scope_find(enum nvme_scope_key key,
					     uint8_t id);
/* the namespaces an Identify, Get Log Page or Get/Set Features (cmd: its
 * NSID, and CDW11 for a value check) reaches, against row's scope for the
 * owner of p: NVME_V_ACCEPT, NVME_V_NSID_NOT_GRANTED, a value check's
 * NVME_V_FEATURE_VALUE, or forbidden for a row that is NULL or the
 * broker's alone */
enum nvme_verdict nvme_val_scope(const struct nvme_val_policy *p,
				 const struct nvme_sqe *cmd,
				 const struct nvme_scope_row *row, bool set,
				 enum nvme_verdict forbidden);

/* bytes a transfer of nlb0+1 blocks moves on namespace n; 0 on overflow */
uint64_t nvme_val_xfer_bytes(const struct nvme_ns_policy *n, uint32_t nlb0);
/* the namespace policy for nsid, or NULL when not granted */
const struct nvme_ns_policy *nvme_val_ns(const struct nvme_val_policy *p,
					 uint32_t nsid);

/* verdict counters (the gate keeps one per controller) */
struct nvme_val_stats {
	uint64_t n[NVME_V_NREASONS];
};
static inline void nvme_val_count(struct nvme_val_stats *s, enum nvme_verdict v)
{
	if ((unsigned)v < NVME_V_NREASONS)
		s->n[v]++;
}
/* one JSON object {"accept":N,"opcode_forbidden":N,...} */
struct json;
void nvme_val_stats_json(const struct nvme_val_stats *s, struct json *j);
#endif
