/* dma/nvme_ident.h — the one Identify parser (pure C: kernel and host).
 *
 * The broker parses the controller's Identify data once, before the driver
 * exists, and the validator's policy, the device manager's classification
 * and the driver all take what it found: the same names, transfer limit and
 * namespaces everywhere (NVMe 2.0 §5.17.2, NVM Command Set 1.0 §4.1.5.1).
 * Every value the device hands over is checked here; a namespace the parser
 * cannot describe exactly is not granted, with the reason. */
#ifndef CAPOS_DMA_NVME_IDENT_H
#define CAPOS_DMA_NVME_IDENT_H
#include <stdbool.h>
#include <stdint.h>

#include "dma/nvme_reg.h"
#include "dma/nvme_validate.h"

struct nvme_ident_ctrl {
	char sn[21], mn[41], fr[9]; /* trimmed; unprintable bytes as '?' */
	uint8_t mdts;
	uint32_t nn;
	uint32_t rtd3e; /* shutdown's typical latency, us (0: not reported) */
	bool vwc;
	uint16_t oncs; /* optional NVM commands (NVME_ONCS_*) */
	/* the NVM Command Set's own limits (CNS 06h, CSI 00h), each 0 when
	 * none is known: nvm says whether they were read (NVME_IDENT_NVM_*) */
	uint8_t nvm;
	uint8_t wzsl;	   /* as reported: 2^n pages of CAP.MPSMIN */
	uint64_t wz_bytes; /* WZSL in bytes (0: none, or 2^64 and up) */
	uint8_t dmrl;	   /* ranges a Dataset Management command */
	uint32_t dmrsl;	   /* blocks a range */
	uint64_t dmsl;	   /* blocks of all ranges of one command */
};
#define NVME_IDENT_NVM_UNASKED 0 /* VS below NVME_VS_1_2 (or not probed) */
#define NVME_IDENT_NVM_REFUSED 1 /* the controller answered an error */
#define NVME_IDENT_NVM_READ    2

/* the fields capOS uses from an Identify Controller page */
void nvme_ident_ctrl_parse(const struct nvme_id_ctrl *id,
			   struct nvme_ident_ctrl *out);
/* the limits of a CNS 06h (CSI 00h) page into out (nvm READ); WZSL in
 * bytes at 2^(12+mpsmin) per unit, none when that is 2^64 or more */
void nvme_ident_nvm_parse(const struct nvme_id_ctrl_nvm *id, unsigned mpsmin,
			  struct nvme_ident_ctrl *out);
/* bytes per command: 2^MDTS pages of 2^(12+mpsmin) bytes, capped at
 * NVME_VAL_XFER_CAP (also for MDTS 0, "no limit") */
uint32_t nvme_ident_max_xfer(uint8_t mdts, unsigned mpsmin);
/* One Identify Namespace page into a policy entry for nsid: bytes per LBA
 * (data, plus metadata on an extended format), separate metadata per LBA,
 * size in blocks, and its NGUID and EUI64 into out->ids (whatever the
 * controller's version: nvme_ident_ns_ids judges that). NULL when usable,
 * else why not (not granted). */
const char *nvme_ident_ns_parse(const struct nvme_id_ns *id, uint32_t nsid,
				struct nvme_ns_policy *out);
/* The Active Namespace ID list page: its ascending NSIDs into ids (at most
 * max). Stops at the first zero; an entry out of order, or the broadcast
 * NSID, ends the list there (*bad set). Returns how many. */
unsigned nvme_ident_nslist(const uint32_t *list, uint32_t *ids, unsigned max,
			   bool *bad);
/* Identify Namespace for nsid: the page, or NULL when the command failed */
typedef const struct nvme_id_ns *(*nvme_ident_ns_fn)(void *ctx, uint32_t nsid);
/* the Namespace Identification Descriptor list (CNS 03h) of nsid: the
 * page (NVME_IDENTIFY_BYTES), or NULL when the command failed */
typedef const uint8_t *(*nvme_ident_descs_fn)(void *ctx, uint32_t nsid);

/* One Namespace Identification Descriptor list (NVMe 2.0 §5.17.2.3) read
 * defensively: the walk ends at a NIDL of 0 or the page's end; a
 * descriptor that runs past NVME_IDENTIFY_BYTES, one whose NIDL is not
 * the length its type fixes, or a type given twice makes the list
 * unusable: NULL is returned only for a usable one, else why not, with
 * *at that descriptor's byte offset, and ids is then left as it was. A
 * type capOS does not know is skipped by its NIDL (as the spec tells
 * the host); an identifier of all zeros is none. A usable list's
 * identifiers replace those ids had (the CSI too); the rest stay. */
const char *nvme_ident_ns_descs(const uint8_t *page, struct nvme_ns_ids *ids,
				unsigned *at);
/* ids as Identify Namespace gave them (nvme_ident_ns_parse: its NGUID and
 * EUI64) for a controller of version vs — EUI64 only from 1.1 on, NGUID
 * from 1.2, as Linux's nvme_identify_ns takes them — then the descriptor
 * list descs over them (NULL: none read): nvme_ident_ns_descs's answer */
const char *nvme_ident_ns_ids(struct nvme_ns_ids *ids, uint32_t vs,
			      const uint8_t *descs, unsigned *at);
/* Is now another namespace than was? The NVME_NSIDS_* bit of the first
 * identifier was had that now lacks or holds another value, or 0 for
 * none. An identifier was lacked proves nothing either way (unknown). */
unsigned nvme_ident_ids_changed(const struct nvme_ns_ids *was,
				const struct nvme_ns_ids *now);
/* an identifier's name ("EUI64", "NGUID", "UUID", "CSI"), and its value
 * as lowercase hex, bytes in their order (the CSI one byte), or "none",
 * into dst of NVME_IDENT_ID_STR bytes */
#define NVME_IDENT_ID_STR (2 * NVME_NIDL_NGUID + 1)
const char *nvme_ident_id_name(unsigned bit);
void nvme_ident_id_str(const struct nvme_ns_ids *ids, unsigned bit, char *dst);

/* Where nvme_ident_namespaces reads the namespaces from, and what it
 * says: ctx for both calls; descs NULL, or vs below NVME_VS_1_3, asks
 * for no descriptor list; name NULL says nothing. said: the one line a
 * probe gets for descriptor lists refused or unusable was said */
struct nvme_ident_src {
	nvme_ident_ns_fn identify;
	nvme_ident_descs_fn descs;
	void *ctx;
	uint32_t vs;
	const char *name;
	bool said;
};
/* the namespaces to grant: each of ids[0..n) identified and parsed, in
 * order, into out (at most max), then its identifiers read
 * (nvme_ident_ns_ids; a descriptor list refused or unusable leaves
 * Identify Namespace's, said in one line a probe); one line "<name>:
 * namespace N not granted: why" for each one left out — one whose
 * descriptor list names a command set other than NVM among them.
 * Returns how many. */
unsigned nvme_ident_namespaces(const uint32_t *ids, unsigned n,
			       struct nvme_ident_src *src,
			       struct nvme_ns_policy *out, unsigned max);
/* What one probe found that the gate's policy and the driver follow: kept
 * across the probe after a controller reset (nvme_ident_follow) */
struct nvme_ident_seen {
	struct nvme_ident_ctrl id;
	uint32_t max_xfer;
	unsigned nns;
	bool all_ns;
	struct nvme_ns_policy ns[NVME_VAL_MAX_NS];
};
/* The controller was identified again after a reset (firmware activated
 * across it may have changed any of this) into id, *max_xfer and pol's
 * namespaces; was is what the one before found. Of each limit the
 * narrower is kept — the transfer limit (id->mdts with it), ONCS (a bit
 * only when both have it), the NVM limits (0: none) — as Linux's
 * nvme_init_identify never widens max_hw_sectors (min_not_zero): the
 * driver sized its memory by the old one, and commands follow the new
 * where it is narrower. A namespace that is gone, or whose format
 * (lba_bytes, md_bytes, data_bytes) changed, is dropped; one whose
 * identity changed (nvme_ident_ids_changed) is another namespace under
 * the same NSID, as Linux's nvme_validate_ns removes one whose
 * identifiers changed: granted as the new one it is (its format and size
 * its own); one that is new (active now, not before) is granted as at
 * the open; one whose size changed keeps the new NSZE. pol->all_ns stays
 * the probe's only when no namespace was dropped. pol->max_xfer and
 * pol->oncs are set from the result. One line for the controller,
 * "<name>: identified again after the reset<note>: " and what changed of
 * its limits and firmware revision (or "nothing changed"), and one per
 * namespace dropped, replaced, resized or new, "<name>: after the
 * reset: namespace N ..." */
void nvme_ident_follow(const struct nvme_ident_seen *was,
		       struct nvme_ident_ctrl *id, uint32_t *max_xfer,
		       struct nvme_val_policy *pol, const char *name,
		       const char *note);
/* an ASCII identify field (space padded) as a C string */
void nvme_ident_str(char *dst, const uint8_t *src, unsigned n);
#endif
