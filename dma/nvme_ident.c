/* dma/nvme_ident.c — see nvme_ident.h */
#include "dma/nvme_ident.h"

#include "kernel/lib/lib.h"

void nvme_ident_str(char *dst, const uint8_t *src, unsigned n)
{
	unsigned end = n;
	while (end && (src[end - 1] == ' ' || src[end - 1] == 0))
		end--;
	for (unsigned i = 0; i < end; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[end] = 0;
}

void nvme_ident_ctrl_parse(const struct nvme_id_ctrl *id,
			   struct nvme_ident_ctrl *out)
{
	nvme_ident_str(out->sn, id->sn, sizeof(id->sn));
	nvme_ident_str(out->mn, id->mn, sizeof(id->mn));
	nvme_ident_str(out->fr, id->fr, sizeof(id->fr));
	out->mdts = id->mdts;
	out->nn = id->nn;
	out->rtd3e = id->rtd3e;
	out->vwc = id->vwc & 1;
	out->oncs = id->oncs;
}

void nvme_ident_nvm_parse(const struct nvme_id_ctrl_nvm *id, unsigned mpsmin,
			  struct nvme_ident_ctrl *out)
{
	unsigned shift = 12 + MIN(mpsmin, 15u) + id->wzsl;
	out->nvm = NVME_IDENT_NVM_READ;
	out->wzsl = id->wzsl;
	/* a limit of 2^64 bytes or more limits nothing a command carries */
	out->wz_bytes = id->wzsl && shift < 64 ? 1ull << shift : 0;
	out->dmrl = id->dmrl;
	out->dmrsl = id->dmrsl;
	out->dmsl = id->dmsl;
}

uint32_t nvme_ident_max_xfer(uint8_t mdts, unsigned mpsmin)
{
	uint64_t unit = 4096ull << MIN(mpsmin, 15u);
	if (mdts == 0 || mdts >= 32 || (unit << mdts) > NVME_VAL_XFER_CAP)
		return NVME_VAL_XFER_CAP;
	return (uint32_t)(unit << mdts);
}

const char *nvme_ident_ns_parse(const struct nvme_id_ns *id, uint32_t nsid,
				struct nvme_ns_policy *out)
{
	uint32_t idx = (uint32_t)FIELD_GET(NVME_FLBAS_IDX, id->flbas);
	if (id->nlbaf >= 16) /* NVM Command Set 1.0 §4.1.5.1: FLBAS 6:5 */
		idx |= (uint32_t)FIELD_GET(NVME_FLBAS_IDXHI, id->flbas) << 4;
	if (id->nsze == 0)
		return "size zero (inactive)";
	if (idx > id->nlbaf || idx >= 64)
		return "LBA format index beyond NLBAF";
	uint32_t lbaf = id->lbaf[idx];
	uint32_t lbads = (uint32_t)FIELD_GET(NVME_LBAF_LBADS, lbaf);
	uint32_t ms = (uint32_t)FIELD_GET(NVME_LBAF_MS, lbaf);
	if (lbads < 9 || lbads > 16)
		return "LBA data size outside 512 B..64 KiB";
	out->nsid = nsid;
	out->nsze = id->nsze;
	if (FIELD_GET(NVME_FLBAS_EXT, id->flbas)) {
		out->lba_bytes = (1u << lbads) + ms;
		out->md_bytes = 0;
	} else {
		out->lba_bytes = 1u << lbads;
		out->md_bytes = ms;
	}
	out->data_bytes = 1u << lbads;
	out->dlfeat = id->dlfeat;
	return 0;
}

unsigned nvme_ident_nslist(const uint32_t *list, uint32_t *ids, unsigned max,
			   bool *bad)
{
	unsigned n = 0;
	uint32_t prev = 0;
	*bad = false;
	for (unsigned i = 0; i < NVME_NSLIST_MAX && n < max; i++) {
		uint32_t nsid = list[i];
		if (nsid == 0)
			break;
		if (nsid <= prev || nsid == NVME_NSID_ALL) {
			*bad = true;
			break;
		}
		ids[n++] = prev = nsid;
	}
	return n;
}

unsigned nvme_ident_namespaces(const uint32_t *ids, unsigned n,
			       nvme_ident_ns_fn identify, void *ctx,
			       const char *name, struct nvme_ns_policy *out,
			       unsigned max)
{
	unsigned granted = 0;
	for (unsigned i = 0; i < n && granted < max; i++) {
		const struct nvme_id_ns *id = identify(ctx, ids[i]);
		const char *why =
		    id ? nvme_ident_ns_parse(id, ids[i], &out[granted])
		       : "Identify Namespace failed";
		if (why)
			kprintf("%s: namespace %u not granted: %s\n", name,
				ids[i], why);
		else
			granted++;
	}
	return granted;
}
