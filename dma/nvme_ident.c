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

/* an identifier type's bit in struct nvme_ns_ids (0: a type capOS does
 * not know), its length and where it is kept */
static unsigned ident_type_bit(unsigned nidt)
{
	return nidt == NVME_NIDT_EUI64	 ? NVME_NSIDS_EUI64
	       : nidt == NVME_NIDT_NGUID ? NVME_NSIDS_NGUID
	       : nidt == NVME_NIDT_UUID	 ? NVME_NSIDS_UUID
	       : nidt == NVME_NIDT_CSI	 ? NVME_NSIDS_CSI
					 : 0;
}

static unsigned ident_type_len(unsigned bit)
{
	return bit == NVME_NSIDS_EUI64	 ? NVME_NIDL_EUI64
	       : bit == NVME_NSIDS_NGUID ? NVME_NIDL_NGUID
	       : bit == NVME_NSIDS_UUID	 ? NVME_NIDL_UUID
	       : bit == NVME_NSIDS_CSI	 ? NVME_NIDL_CSI
					 : 0;
}

static size_t ident_off(unsigned bit)
{
	return bit == NVME_NSIDS_EUI64	 ? offsetof(struct nvme_ns_ids, eui64)
	       : bit == NVME_NSIDS_NGUID ? offsetof(struct nvme_ns_ids, nguid)
	       : bit == NVME_NSIDS_UUID	 ? offsetof(struct nvme_ns_ids, uuid)
					 : offsetof(struct nvme_ns_ids, csi);
}

static uint8_t *ident_val(struct nvme_ns_ids *ids, unsigned bit)
{
	return (uint8_t *)ids + ident_off(bit);
}

static const uint8_t *ident_cval(const struct nvme_ns_ids *ids, unsigned bit)
{
	return (const uint8_t *)ids + ident_off(bit);
}

static void ident_drop(struct nvme_ns_ids *ids, unsigned bit)
{
	ids->have &= (uint8_t)~bit;
	memset(ident_val(ids, bit), 0, ident_type_len(bit));
}

/* the identifier v of type bit into ids: kept only when not all zeros
 * (none); the CSI is a value, kept whatever it is */
static void ident_take(struct nvme_ns_ids *ids, unsigned bit, const uint8_t *v)
{
	unsigned n = ident_type_len(bit);
	bool zero = bit != NVME_NSIDS_CSI;
	for (unsigned i = 0; i < n && zero; i++)
		zero = !v[i];
	if (zero) {
		ident_drop(ids, bit);
		return;
	}
	memcpy(ident_val(ids, bit), v, n);
	ids->have |= (uint8_t)bit;
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
	memset(&out->ids, 0, sizeof(out->ids));
	ident_take(&out->ids, NVME_NSIDS_NGUID, id->nguid);
	ident_take(&out->ids, NVME_NSIDS_EUI64, id->eui64);
	return 0;
}

const char *nvme_ident_ns_descs(const uint8_t *page, struct nvme_ns_ids *ids,
				unsigned *at)
{
	struct nvme_ns_ids l = {0};
	uint8_t seen = 0;
	unsigned pos = 0;
	*at = 0;
	/* each descriptor takes at least 5 bytes: at most 819 turns */
	while (pos < NVME_IDENTIFY_BYTES) {
		const struct nvme_ns_desc *d =
		    (const struct nvme_ns_desc *)(page + pos);
		unsigned left = NVME_IDENTIFY_BYTES - pos;
		/* the bytes after the last descriptor are zeros: a NIDL of 0,
		 * or a header cut by the page's end that is all zeros */
		if (left < sizeof(*d)) {
			for (unsigned i = 0; i < left; i++)
				if (page[pos + i]) {
					*at = pos;
					return "a descriptor runs past 4096 "
					       "bytes";
				}
			break;
		}
		if (d->nidl == 0)
			break;
		*at = pos;
		if (d->nidl > left - sizeof(*d))
			return "a descriptor runs past 4096 bytes";
		unsigned bit = ident_type_bit(d->nidt);
		if (bit && d->nidl != ident_type_len(bit))
			return "a descriptor's NIDL is not its type's length";
		if (seen & bit)
			return "a descriptor type given twice";
		seen |= (uint8_t)bit;
		if (bit)
			ident_take(&l, bit, d->nid);
		pos += (unsigned)sizeof(*d) + d->nidl;
	}
	for (unsigned bit = 1; bit <= NVME_NSIDS_CSI; bit <<= 1)
		if (l.have & bit) {
			ids->have |= (uint8_t)bit;
			memcpy(ident_val(ids, bit), ident_cval(&l, bit),
			       ident_type_len(bit));
		}
	return 0;
}

const char *nvme_ident_ns_ids(struct nvme_ns_ids *ids, uint32_t vs,
			      const uint8_t *descs, unsigned *at)
{
	/* reserved bytes before these versions: not believed */
	if (vs < NVME_VS_1_1)
		ident_drop(ids, NVME_NSIDS_EUI64);
	if (vs < NVME_VS_1_2)
		ident_drop(ids, NVME_NSIDS_NGUID);
	*at = 0;
	return descs ? nvme_ident_ns_descs(descs, ids, at) : 0;
}

unsigned nvme_ident_ids_changed(const struct nvme_ns_ids *was,
				const struct nvme_ns_ids *now)
{
	for (unsigned bit = 1; bit <= NVME_NSIDS_CSI; bit <<= 1) {
		if (!(was->have & bit))
			continue;
		if (!(now->have & bit) ||
		    memcmp(ident_cval(was, bit), ident_cval(now, bit),
			   ident_type_len(bit)))
			return bit;
	}
	return 0;
}

const char *nvme_ident_id_name(unsigned bit)
{
	return bit == NVME_NSIDS_EUI64	 ? "EUI64"
	       : bit == NVME_NSIDS_NGUID ? "NGUID"
	       : bit == NVME_NSIDS_UUID	 ? "UUID"
	       : bit == NVME_NSIDS_CSI	 ? "CSI"
					 : "?";
}

void nvme_ident_id_str(const struct nvme_ns_ids *ids, unsigned bit, char *dst)
{
	static const char hex[] = "0123456789abcdef";
	unsigned n = ident_type_len(bit);
	if (!(ids->have & bit) || !n) {
		strlcpy(dst, "none", NVME_IDENT_ID_STR);
		return;
	}
	const uint8_t *v = ident_cval(ids, bit);
	for (unsigned i = 0; i < n; i++) {
		dst[2 * i] = hex[v[i] >> 4];
		dst[2 * i + 1] = hex[v[i] & 0xf];
	}
	dst[2 * n] = 0;
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

/* p's identifiers (CNS 03h over Identify Namespace's); NULL, or why p is
 * not granted */
static const char *ident_ns_read_ids(struct nvme_ident_src *s,
				     struct nvme_ns_policy *p)
{
	bool ask = s->descs && s->vs >= NVME_VS_1_3;
	const uint8_t *page = ask ? s->descs(s->ctx, p->nsid) : 0;
	unsigned at;
	const char *bad = nvme_ident_ns_ids(&p->ids, s->vs, page, &at);
	if ((bad || (ask && !page)) && s->name && !s->said) {
		s->said = true;
		if (bad)
			kprintf("%s: namespace %u: identifier list (Identify "
				"CNS 03h) not used: %s (byte %u); its "
				"Identify Namespace NGUID/EUI64 kept (not "
				"said again this probe)\n",
				s->name, p->nsid, bad, at);
		else
			kprintf("%s: namespace %u: identifier list (Identify "
				"CNS 03h) refused; its Identify Namespace "
				"NGUID/EUI64 kept (not said again this "
				"probe)\n",
				s->name, p->nsid);
	}
	/* CC.CSS selects the NVM command set alone: a namespace of another
	 * set is not one the gate's rules describe */
	if ((p->ids.have & NVME_NSIDS_CSI) && p->ids.csi != NVME_CSI_NVM)
		return "its command set (CSI) is not NVM";
	return 0;
}

unsigned nvme_ident_namespaces(const uint32_t *ids, unsigned n,
			       struct nvme_ident_src *src,
			       struct nvme_ns_policy *out, unsigned max)
{
	unsigned granted = 0;
	for (unsigned i = 0; i < n && granted < max; i++) {
		const struct nvme_id_ns *id = src->identify(src->ctx, ids[i]);
		const char *why =
		    id ? nvme_ident_ns_parse(id, ids[i], &out[granted])
		       : "Identify Namespace failed";
		if (!why)
			why = ident_ns_read_ids(src, &out[granted]);
		if (!why)
			granted++;
		else if (src->name)
			kprintf("%s: namespace %u not granted: %s\n", src->name,
				ids[i], why);
	}
	return granted;
}

/* the narrower of two limits, 0 meaning none */
static uint64_t ident_lim_min(uint64_t a, uint64_t b)
{
	return a && b ? MIN(a, b) : a | b;
}

/* the controller's half of nvme_ident_follow */
static void ident_follow_ctrl(const struct nvme_ident_seen *was,
			      struct nvme_ident_ctrl *id, uint32_t *max_xfer,
			      const char *name, const char *note)
{
	const struct nvme_ident_ctrl *o = &was->id;
	/* the four parts at their widest (32-bit and 64-bit values, an
	 * 8-character firmware revision each side) take 225 bytes */
	char line[320];
	int n = 0;
	if (*max_xfer != was->max_xfer)
		n += ksnprintf(line + n, sizeof(line) - (size_t)n,
			       " max transfer %u -> %u KiB (MDTS %u -> %u);",
			       was->max_xfer / 1024, *max_xfer / 1024, o->mdts,
			       id->mdts);
	if (id->oncs != o->oncs)
		n += ksnprintf(line + n, sizeof(line) - (size_t)n,
			       " ONCS 0x%x -> 0x%x;", o->oncs, id->oncs);
	if (id->wzsl != o->wzsl || id->dmrl != o->dmrl ||
	    id->dmrsl != o->dmrsl || id->dmsl != o->dmsl)
		n += ksnprintf(line + n, sizeof(line) - (size_t)n,
			       " NVM limits WZSL %u DMRL %u DMRSL %u DMSL %llu "
			       "-> %u %u %u %llu;",
			       o->wzsl, o->dmrl, o->dmrsl,
			       (unsigned long long)o->dmsl, id->wzsl, id->dmrl,
			       id->dmrsl, (unsigned long long)id->dmsl);
	if (strcmp(id->fr, o->fr))
		n += ksnprintf(line + n, sizeof(line) - (size_t)n,
			       " firmware %s -> %s;", o->fr, id->fr);
	kprintf("%s: identified again after the reset%s:%s%s\n", name,
		note ? note : "", n ? line : " nothing changed",
		n ? " of each limit the narrower kept" : "");
	if (*max_xfer > was->max_xfer) {
		*max_xfer = was->max_xfer;
		id->mdts = o->mdts;
	}
	id->oncs &= o->oncs;
	id->nvm = MAX(id->nvm, o->nvm);
	id->wzsl = (uint8_t)ident_lim_min(id->wzsl, o->wzsl);
	id->wz_bytes = ident_lim_min(id->wz_bytes, o->wz_bytes);
	id->dmrl = (uint8_t)ident_lim_min(id->dmrl, o->dmrl);
	id->dmrsl = (uint32_t)ident_lim_min(id->dmrsl, o->dmrsl);
	id->dmsl = ident_lim_min(id->dmsl, o->dmsl);
}

/* was's namespace nsid, or NULL; i walks was->ns (both lists ascend) */
static const struct nvme_ns_policy *
ident_was_ns(const struct nvme_ident_seen *was, unsigned *i, uint32_t nsid,
	     const char *name)
{
	for (; *i < was->nns && was->ns[*i].nsid < nsid; ++*i)
		kprintf("%s: after the reset: namespace %u gone (not active "
			"or not usable); no longer granted\n",
			name, was->ns[*i].nsid);
	return *i < was->nns && was->ns[*i].nsid == nsid ? &was->ns[(*i)++] : 0;
}

void nvme_ident_follow(const struct nvme_ident_seen *was,
		       struct nvme_ident_ctrl *id, uint32_t *max_xfer,
		       struct nvme_val_policy *pol, const char *name,
		       const char *note)
{
	ident_follow_ctrl(was, id, max_xfer, name, note);
	pol->max_xfer = *max_xfer;
	pol->oncs = id->oncs;
	unsigned i = 0, k = 0;
	for (unsigned j = 0; j < pol->nns; j++) {
		const struct nvme_ns_policy *n = &pol->ns[j];
		const struct nvme_ns_policy *o =
		    ident_was_ns(was, &i, n->nsid, name);
		if (!o) {
			kprintf("%s: after the reset: namespace %u is new; "
				"granted\n",
				name, n->nsid);
			pol->ns[k++] = *n;
			continue;
		}
		unsigned bit = nvme_ident_ids_changed(&o->ids, &n->ids);
		if (bit) {
			char a[NVME_IDENT_ID_STR], b[NVME_IDENT_ID_STR];
			nvme_ident_id_str(&o->ids, bit, a);
			nvme_ident_id_str(&n->ids, bit, b);
			kprintf("%s: after the reset: namespace %u is another "
				"namespace (%s %s -> %s): the one before no "
				"longer granted, this one granted\n",
				name, n->nsid, nvme_ident_id_name(bit), a, b);
			pol->ns[k++] = *n;
			continue;
		}
		if (o->lba_bytes != n->lba_bytes ||
		    o->md_bytes != n->md_bytes ||
		    o->data_bytes != n->data_bytes) {
			kprintf("%s: after the reset: namespace %u changed "
				"format (%u-byte blocks, %u of metadata -> %u, "
				"%u); no longer granted\n",
				name, n->nsid, o->lba_bytes, o->md_bytes,
				n->lba_bytes, n->md_bytes);
			continue;
		}
		if (o->nsze != n->nsze)
			kprintf("%s: after the reset: namespace %u resized: "
				"%llu -> %llu blocks\n",
				name, n->nsid, (unsigned long long)o->nsze,
				(unsigned long long)n->nsze);
		pol->ns[k++] = *n;
	}
	(void)ident_was_ns(was, &i, UINT32_MAX, name);
	/* the probe's own answer, unless a namespace active now was dropped */
	pol->all_ns = pol->all_ns && k == pol->nns;
	pol->nns = k;
}
