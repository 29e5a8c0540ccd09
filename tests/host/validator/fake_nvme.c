/* tests/host/validator/fake_nvme.c — see fake_nvme.h */
#include "fake_nvme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS 4096u

void fake_nvme_init(struct fake_nvme *f)
{
	memset(f, 0, sizeof(*f));
	f->lba_bytes = 512;
	f->fail_alloc_after = -1;
	f->oncs = NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES;
	f->dlfeat = NVME_DLFEAT_READ_ZEROES;
	f->blocks = 2048;
}

static void env_doorbell(void *ctx, uint32_t index, uint32_t value)
{
	struct fake_nvme *f = ctx;
	if (index < 2 * FAKE_QMAX)
		f->db[index] = value;
	f->ndoorbells++;
}

static int env_shadow_alloc(void *ctx, size_t len, bool dev_writes,
			    struct dma_buf *out)
{
	struct fake_nvme *f = ctx;
	(void)dev_writes;
	if (f->fail_alloc_after >= 0 &&
	    f->shadow_allocs >= (unsigned)f->fail_alloc_after)
		return -1;
	size_t n = (len + PS - 1) & ~(size_t)(PS - 1);
	void *p = aligned_alloc(PS, n);
	if (!p)
		return -1;
	memset(p, 0, n);
	out->va = p;
	out->iova = (uint64_t)(uintptr_t)p;
	out->len = n;
	f->shadow_allocs++;
	f->shadow_bytes += n;
	return 0;
}

static int env_shadow_free(void *ctx, struct dma_buf *b)
{
	struct fake_nvme *f = ctx;
	f->shadow_bytes -= b->len;
	f->shadow_allocs--;
	if (f->withhold_frees && f->nwithheld < 16) {
		f->withheld[f->nwithheld++] = b->va;
		f->withheld_bytes += b->len;
		return -1;
	}
	free(b->va);
	return 0;
}

static void *env_drv_va(void *ctx, uint64_t iova, size_t len)
{
	(void)ctx, (void)len;
	return (void *)(uintptr_t)iova;
}

static void env_interrupt(void *ctx, uint16_t iv)
{
	struct fake_nvme *f = ctx;
	if (iv < FAKE_QMAX)
		f->gate_irqs[iv]++;
	else
		f->gate_irqs_other++;
	if (f->gate_irq)
		f->gate_irq(f->gate_irq_ctx, iv);
}

void fake_nvme_env(struct fake_nvme *f, struct nvme_gate_env *env)
{
	env->ctx = f;
	env->interrupt = env_interrupt;
	env->doorbell = env_doorbell;
	env->shadow_alloc = env_shadow_alloc;
	env->shadow_free = env_shadow_free;
	env->drv_va = env_drv_va;
}

void fake_nvme_admin(struct fake_nvme *f, uint64_t asq, uint64_t acq,
		     uint16_t entries)
{
	f->sq[0].base = asq;
	f->sq[0].size = entries;
	f->sq[0].head = 0;
	f->sq[0].cqid = 0;
	f->sq[0].live = true;
	f->cq[0].base = acq;
	f->cq[0].size = entries;
	f->cq[0].tail = 0;
	f->cq[0].phase = 1;
	f->cq[0].live = true;
}

static void touch(struct fake_nvme *f, uint64_t a, uint64_t len, bool write)
{
	if (f->touch)
		f->touch(f->touch_ctx, a, len, write);
}

/* move len bytes between buf and the PRPs of cmd; to_host: device writes */
static void seg(struct fake_nvme *f, uint64_t a, uint8_t *buf, uint64_t n,
		bool to_host)
{
	f->in_xfer = true;
	touch(f, a, n, to_host);
	f->in_xfer = false;
	if (f->touch_veto) { /* the hook kept the model out of freed memory */
		f->touch_veto = false;
		return;
	}
	if (to_host)
		memcpy((void *)(uintptr_t)a, buf, n);
	else
		memcpy(buf, (void *)(uintptr_t)a, n);
}

static void prp_xfer(struct fake_nvme *f, const struct nvme_sqe *c,
		     uint8_t *buf, uint64_t len, bool to_host)
{
	uint64_t done = PS - (c->prp1 % PS);
	if (done > len)
		done = len;
	seg(f, c->prp1, buf, done, to_host);
	if (done == len)
		return;
	if (len - done <= PS) {
		seg(f, c->prp2, buf + done, len - done, to_host);
		return;
	}
	uint64_t slot = c->prp2;
	while (done < len) {
		uint64_t rem = len - done;
		uint64_t left = (rem + PS - 1) / PS;
		if (slot % PS == PS - 8 && left > 1) { /* chain */
			touch(f, slot, 8, false);
			if (f->touch_veto)
				break;
			slot = *(uint64_t *)(uintptr_t)slot;
		}
		touch(f, slot, 8, false);
		if (f->touch_veto)
			break;
		uint64_t a = *(uint64_t *)(uintptr_t)slot;
		slot += 8;
		uint64_t n = rem < PS ? rem : PS;
		seg(f, a, buf + done, n, to_host);
		done += n;
	}
	f->touch_veto = false;
}

static void post(struct fake_nvme *f, uint16_t cqid, uint16_t sqid,
		 uint16_t cid, uint16_t status, uint32_t dw0)
{
	if (cqid >= FAKE_QMAX || !f->cq[cqid].live)
		return;
	if (f->trace)
		fprintf(stderr,
			"  device posts cq%u: sq%u cid 0x%x status 0x%x\n",
			cqid, sqid, cid, status >> 1);
	struct nvme_cqe *q = (struct nvme_cqe *)(uintptr_t)f->cq[cqid].base;
	struct nvme_cqe *e = &q[f->cq[cqid].tail];
	if ((f->cq[cqid].tail + 1u) % f->cq[cqid].size == f->db[2 * cqid + 1])
		f->cq_overrun++;
	touch(f, (uint64_t)(uintptr_t)e, sizeof(*e), true);
	if (f->touch_veto) {
		f->touch_veto = false;
		return;
	}
	e->dw0 = dw0;
	e->dw1 = 0;
	e->sqhd = sqid < FAKE_QMAX ? f->sq[sqid].head : 0;
	e->sqid = sqid;
	e->cid = cid;
	e->status = (uint16_t)((status & ~1u) | f->cq[cqid].phase);
	if (++f->cq[cqid].tail == f->cq[cqid].size) {
		f->cq[cqid].tail = 0;
		f->cq[cqid].phase ^= 1;
	}
	if (f->posted)
		f->posted(f->touch_ctx, cqid, e);
}

void fake_nvme_post(struct fake_nvme *f, uint16_t cqid, uint16_t sqid,
		    uint16_t cid, uint16_t status)
{
	post(f, cqid, sqid, cid, status, 0);
}

void fake_nvme_identify(const struct fake_nvme *f, uint32_t cns, uint32_t nsid,
			uint8_t *buf)
{
	memset(buf, 0, 4096);
	if (cns == NVME_CNS_CTRL) {
		struct nvme_id_ctrl *id = (struct nvme_id_ctrl *)buf;
		memcpy(id->mn, "FAKE NVMe", 9);
		id->mdts = 5;
		id->nn = 1;
		id->oncs = f->oncs;
	} else if (cns == NVME_CNS_CS_CTRL) {
		struct nvme_id_ctrl_nvm *id = (struct nvme_id_ctrl_nvm *)buf;
		id->wzsl = f->wzsl;
		id->dmrl = f->dmrl;
		id->dmrsl = f->dmrsl;
		id->dmsl = f->dmsl;
	} else if (cns == NVME_CNS_NS && nsid == 1) {
		struct nvme_id_ns *id = (struct nvme_id_ns *)buf;
		id->nsze = f->blocks;
		id->dlfeat = f->dlfeat;
		id->lbaf[0] = 9u << NVME_LBAF_LBADS_SHIFT; /* 512-byte blocks */
	}
}

static uint16_t exec_admin(struct fake_nvme *f, const struct nvme_sqe *c,
			   uint32_t *dw0)
{
	uint8_t buf[4096];
	uint16_t q = (uint16_t)(c->cdw10 & 0xffff);
	uint16_t qs = (uint16_t)((c->cdw10 >> 16) + 1);
	switch (nvme_sqe_opc(c)) {
	case NVME_ADM_IDENTIFY:
		if ((c->cdw10 & 0xff) == NVME_CNS_CS_CTRL &&
		    (f->no_cs_ctrl || c->cdw11 >> 24 != NVME_CSI_NVM))
			return (uint16_t)(NVME_SC_INVALID_FIELD << 1);
		fake_nvme_identify(f, c->cdw10 & 0xff, c->nsid, buf);
		prp_xfer(f, c, buf, 4096, true);
		return 0;
	case NVME_ADM_CREATE_CQ:
		if (!q || q >= FAKE_QMAX || f->cq[q].live)
			return 0x2 | (1 << 9); /* sct 1 sc 1 shifted below */
		f->cq[q].base = c->prp1;
		f->cq[q].size = qs;
		f->cq[q].tail = 0;
		f->db[2 * q + 1] = 0;
		f->cq[q].phase = 1;
		f->cq[q].live = true;
		return 0;
	case NVME_ADM_CREATE_SQ: {
		uint16_t cq = (uint16_t)(c->cdw11 >> 16);
		if (!q || q >= FAKE_QMAX || f->sq[q].live || cq >= FAKE_QMAX ||
		    !f->cq[cq].live)
			return (uint16_t)(1u << 1 | 1u << 9);
		f->sq[q].base = c->prp1;
		f->sq[q].size = qs;
		f->sq[q].head = 0;
		f->db[2 * q] =
		    0; /* a new queue starts empty (NVMe 2.0 §3.3.1) */
		f->sq[q].cqid = cq;
		f->sq[q].live = true;
		return 0;
	}
	case NVME_ADM_DELETE_SQ:
		if (q < FAKE_QMAX)
			f->sq[q].live = false;
		return 0;
	case NVME_ADM_DELETE_CQ:
		if (q < FAKE_QMAX)
			f->cq[q].live = false;
		return 0;
	case NVME_ADM_SET_FEATURES:
		*dw0 = c->cdw11;
		return 0;
	default:
		return 0;
	}
}

/* blocks [slba, slba + nlb) of the namespace set to byte v: false when
 * they pass its end (nothing changed); only the part inside the disk
 * buffer is stored */
static bool clear_blocks(struct fake_nvme *f, uint64_t slba, uint64_t nlb,
			 int v)
{
	uint64_t blocks = f->blocks;
	if (slba > blocks || nlb > blocks - slba)
		return false;
	uint64_t disk = FAKE_DISK_BYTES / f->lba_bytes;
	if (v >= 0 && slba < disk) {
		uint64_t n = nlb < disk - slba ? nlb : disk - slba;
		memset(f->disk + slba * f->lba_bytes, v, n * f->lba_bytes);
	}
	return true;
}

/* Dataset Management (NVM Command Set 1.0 §3.2.3): the range list is read
 * through the data pointer like any data (the touch hook sees it); with
 * AD every range is deallocated, each checked first */
static uint16_t exec_dsm(struct fake_nvme *f, const struct nvme_sqe *c)
{
	struct nvme_dsm_range rg[NVME_DSM_RANGES_MAX];
	uint32_t nr = ((c->cdw10 >> NVME_DSM_NR_SHIFT) & NVME_DSM_NR_MASK) + 1;
	memset(rg, 0, sizeof(rg));
	prp_xfer(f, c, (uint8_t *)rg, (uint64_t)nr * NVME_DSM_RANGE_BYTES,
		 false);
	f->ndsm++;
	if (!((c->cdw11 >> NVME_DSM_AD_SHIFT) & NVME_DSM_AD_MASK))
		return 0; /* hints only */
	uint32_t rd =
	    (f->dlfeat >> NVME_DLFEAT_READ_SHIFT) & NVME_DLFEAT_READ_MASK;
	int v = rd == 1 ? 0 : rd == 2 ? 0xff : -1;
	uint64_t all = 0;
	for (uint32_t i = 0; i < nr; i++) {
		if (f->dmrsl && rg[i].nlb > f->dmrsl)
			all = UINT64_MAX;
		else
			all += rg[i].nlb;
	}
	if ((f->dmrl && nr > f->dmrl) || (f->dmsl && all > f->dmsl) ||
	    all == UINT64_MAX) {
		f->over_limit++;
		return (uint16_t)(NVME_SC_INVALID_FIELD << 1);
	}
	for (uint32_t i = 0; i < nr; i++)
		if (!clear_blocks(f, rg[i].slba, rg[i].nlb, -1))
			return (uint16_t)(NVME_SC_LBA_RANGE << 1);
	for (uint32_t i = 0; i < nr; i++) {
		clear_blocks(f, rg[i].slba, rg[i].nlb, v);
		f->dealloc_blocks += rg[i].nlb;
	}
	return 0;
}

static uint16_t exec_io(struct fake_nvme *f, const struct nvme_sqe *c)
{
	uint64_t slba = c->cdw10 | ((uint64_t)c->cdw11 << 32);
	uint64_t len = ((uint64_t)(c->cdw12 & 0xffff) + 1) * f->lba_bytes;
	uint64_t off = slba * f->lba_bytes;
	switch (nvme_sqe_opc(c)) {
	case NVME_IO_READ:
	case NVME_IO_WRITE:
		if (off > FAKE_DISK_BYTES || len > FAKE_DISK_BYTES - off)
			return (uint16_t)(NVME_SC_LBA_RANGE << 1);
		if (nvme_sqe_opc(c) == NVME_IO_WRITE)
			f->disk_written = true;
		prp_xfer(f, c, f->disk + off, len,
			 nvme_sqe_opc(c) == NVME_IO_READ);
		return 0;
	case NVME_IO_WRITE_ZEROES:
		if (f->lie & NVME_ONCS_WRITE_ZEROES)
			return (uint16_t)(NVME_SC_INVALID_OPCODE << 1);
		if (f->wzsl && f->wzsl < 32 && len > (uint64_t)PS << f->wzsl) {
			f->over_limit++;
			return (uint16_t)(NVME_SC_INVALID_FIELD << 1);
		}
		if (!clear_blocks(f, slba, (c->cdw12 & 0xffff) + 1u, 0))
			return (uint16_t)(NVME_SC_LBA_RANGE << 1);
		f->nwz++;
		f->wz_blocks += (c->cdw12 & 0xffff) + 1u;
		f->disk_written = true;
		return 0;
	case NVME_IO_DSM:
		if (f->lie & NVME_ONCS_DSM)
			return (uint16_t)(NVME_SC_INVALID_OPCODE << 1);
		return exec_dsm(f, c);
	default:
		return 0;
	}
}

unsigned fake_nvme_step(struct fake_nvme *f)
{
	unsigned n = 0;
	for (unsigned q = 0; q < FAKE_QMAX; q++) {
		if (!f->sq[q].live)
			continue;
		while (f->sq[q].live && f->sq[q].head != f->db[2 * q] &&
		       f->db[2 * q] < f->sq[q].size) {
			struct nvme_sqe c;
			uint64_t a =
			    f->sq[q].base + (uint64_t)f->sq[q].head * 64;
			touch(f, a, 64, false);
			memcpy(&c, (void *)(uintptr_t)a, 64);
			f->sq[q].head =
			    (uint16_t)((f->sq[q].head + 1) % f->sq[q].size);
			if (f->nlog < 256)
				f->log[f->nlog++] = c;
			uint32_t dw0 = 0;
			uint16_t st =
			    q == 0 ? exec_admin(f, &c, &dw0) : exec_io(f, &c);
			if (f->next_status) {
				st = f->next_status;
				f->next_status = 0;
			}
			post(f, f->sq[q].cqid, (uint16_t)q, nvme_sqe_cid(&c),
			     st, dw0);
			n++;
		}
	}
	return n;
}

/* ---- the asynchronous model -------------------------------------------- */
void fake_nvme_reset(struct fake_nvme *f)
{
	memset(f->sq, 0, sizeof(f->sq));
	memset(f->cq, 0, sizeof(f->cq));
	memset(f->db, 0, sizeof(f->db));
	f->ninfl = 0;
	f->next_status = 0;
}

/* a controller posts only into a CQ with a free slot (NVMe 2.0 §3.3.1.2) */
static bool cq_room(const struct fake_nvme *f, uint16_t cqid)
{
	if (cqid >= FAKE_QMAX || !f->cq[cqid].live || !f->cq[cqid].size)
		return false;
	return (uint32_t)(f->cq[cqid].tail + 1) % f->cq[cqid].size !=
	       f->db[2 * cqid + 1];
}

static bool post_room(struct fake_nvme *f, uint16_t sqid, uint16_t cid,
		      uint16_t status, uint32_t dw0)
{
	if (sqid >= FAKE_QMAX || !f->sq[sqid].live)
		return false;
	uint16_t cqid = f->sq[sqid].cqid;
	if (!cq_room(f, cqid))
		return false;
	post(f, cqid, sqid, cid, status, dw0);
	return true;
}

static void keep(struct fake_nvme *f, uint16_t sqid, uint16_t cid,
		 uint16_t status, uint32_t dw0, uint32_t mark)
{
	if (f->nghost == FAKE_GHOSTS || sqid >= FAKE_QMAX)
		return;
	f->ghost[f->nghost++] = (struct fake_cqe){.cqid = f->sq[sqid].cqid,
						  .sqid = sqid,
						  .cid = cid,
						  .status = status,
						  .dw0 = dw0,
						  .mark = mark};
}

unsigned fake_nvme_fetch(struct fake_nvme *f, uint16_t q, unsigned max)
{
	unsigned n = 0;
	if (q >= FAKE_QMAX)
		return 0;
	while (f->sq[q].live && f->sq[q].head != f->db[2 * q] &&
	       f->db[2 * q] < f->sq[q].size && f->ninfl < FAKE_INFL &&
	       (!max || n < max)) {
		struct fake_cmd *k = &f->infl[f->ninfl++];
		uint64_t a = f->sq[q].base + (uint64_t)f->sq[q].head * 64;
		touch(f, a, 64, false);
		if (f->touch_veto) {
			f->touch_veto = false;
			f->ninfl--;
			break;
		}
		memcpy(&k->c, (void *)(uintptr_t)a, 64);
		k->sqid = q;
		k->done = false;
		k->mark = f->fetch_mark
			      ? f->fetch_mark(f->touch_ctx, q, f->sq[q].head)
			      : 0;
		if (f->trace)
			fprintf(stderr,
				"  device fetched sq%u cid 0x%x opc 0x%x cdw10 "
				"0x%x\n",
				q, nvme_sqe_cid(&k->c), nvme_sqe_opc(&k->c),
				k->c.cdw10);
		k->status = 0;
		k->dw0 = 0;
		f->sq[q].head = (uint16_t)((f->sq[q].head + 1) % f->sq[q].size);
		if (f->nlog < 256)
			f->log[f->nlog++] = k->c;
		n++;
	}
	return n;
}

static struct fake_cmd infl_take(struct fake_nvme *f, unsigned i)
{
	struct fake_cmd k = f->infl[i];
	memmove(&f->infl[i], &f->infl[i + 1],
		(f->ninfl - i - 1) * sizeof(f->infl[0]));
	f->ninfl--;
	return k;
}

/* Delete I/O SQ: the fetched commands of q are completed or aborted before
 * the deletion completes (NVMe 2.0 §5.6); unfetched ones are dropped */
static void resolve_sq(struct fake_nvme *f, uint16_t q)
{
	const uint16_t aborted = (uint16_t)(NVME_SC_ABORT_SQ_DELETED << 1);
	for (unsigned i = 0; i < f->ninfl;) {
		if (f->infl[i].sqid != q) {
			i++;
			continue;
		}
		struct fake_cmd k = infl_take(f, i);
		uint16_t cid = nvme_sqe_cid(&k.c);
		switch (f->del_mode % FAKE_DEL_NMODES) {
		case FAKE_DEL_RUN:
			if (!k.done)
				k.status = exec_io(f, &k.c);
			(void)post_room(f, q, cid, k.status, k.dw0);
			break;
		case FAKE_DEL_ABORT:
			(void)post_room(f, q, cid, k.done ? k.status : aborted,
					k.dw0);
			break;
		case FAKE_DEL_SILENT:
			break;
		case FAKE_DEL_LATE:
			keep(f, q, cid, k.done ? k.status : aborted, k.dw0,
			     k.mark);
			break;
		}
	}
}

static uint16_t exec_async(struct fake_nvme *f, const struct fake_cmd *k,
			   uint32_t *dw0)
{
	if (k->sqid != 0)
		return exec_io(f, &k->c);
	uint16_t q = (uint16_t)(k->c.cdw10 & 0xffff);
	switch (nvme_sqe_opc(&k->c)) {
	case NVME_ADM_DELETE_SQ:
		if (!q || q >= FAKE_QMAX || !f->sq[q].live)
			return (uint16_t)(NVME_SC_QID_INVALID << 1 | 1u << 9);
		resolve_sq(f, q);
		break;
	case NVME_ADM_DELETE_CQ:
		if (!q || q >= FAKE_QMAX || !f->cq[q].live)
			return (uint16_t)(NVME_SC_QID_INVALID << 1 | 1u << 9);
		for (unsigned s = 1; s < FAKE_QMAX; s++)
			if (f->sq[s].live && f->sq[s].cqid == q) /* 0Ch */
				return (uint16_t)(0x0cu << 1 | 1u << 9);
		break;
	case NVME_ADM_ABORT: {
		/* the target completes with Command Abort Requested (NVMe
		 * 2.0 §5.1), posted like any completion: held while its CQ
		 * is full */
		uint16_t cid = (uint16_t)(k->c.cdw10 >> 16);
		*dw0 = 1; /* not aborted */
		for (unsigned i = 0; i < f->ninfl; i++) {
			struct fake_cmd *t = &f->infl[i];
			if (t->sqid == q && !t->done &&
			    nvme_sqe_cid(&t->c) == cid) {
				t->done = true;
				t->status = (uint16_t)(NVME_SC_ABORT_REQ << 1);
				*dw0 = 0;
				break;
			}
		}
		return 0;
	}
	}
	return exec_admin(f, &k->c, dw0);
}

bool fake_nvme_complete(struct fake_nvme *f, unsigned i, uint16_t status,
			bool dup, bool keep_copy)
{
	if (!f->ninfl)
		return false;
	struct fake_cmd k = infl_take(f, i % f->ninfl);
	if (!k.done) {
		k.dw0 = 0;
		k.status = status ? status : exec_async(f, &k, &k.dw0);
		k.done = true;
	}
	uint16_t cid = nvme_sqe_cid(&k.c);
	if (!post_room(f, k.sqid, cid, k.status, k.dw0)) {
		/* no room: hold it (a deleted SQ's commands were resolved) */
		if (f->sq[k.sqid].live)
			f->infl[f->ninfl++] = k;
		return false;
	}
	f->copy = true;
	if (dup)
		(void)post_room(f, k.sqid, cid, k.status, k.dw0);
	f->copy = false;
	if (keep_copy)
		keep(f, k.sqid, cid, k.status, k.dw0, k.mark);
	return true;
}

bool fake_nvme_forge(struct fake_nvme *f, uint16_t cqid, uint16_t sqid,
		     uint16_t cid, uint16_t status)
{
	if (!cq_room(f, cqid))
		return false;
	f->copy = true;
	post(f, cqid, sqid, cid, status, 0);
	f->copy = false;
	return true;
}

bool fake_nvme_ghost(struct fake_nvme *f, unsigned i)
{
	if (!f->nghost)
		return false;
	i %= f->nghost;
	struct fake_cqe e = f->ghost[i];
	f->ghost[i] = f->ghost[--f->nghost];
	if (!cq_room(f, e.cqid))
		return false;
	f->copy = true;
	post(f, e.cqid, e.sqid, e.cid, e.status, e.dw0);
	f->copy = false;
	return true;
}

unsigned fake_nvme_drain(struct fake_nvme *f)
{
	unsigned n = 0;
	for (uint16_t q = 0; q < FAKE_QMAX; q++)
		(void)fake_nvme_fetch(f, q, 0);
	for (unsigned k = f->ninfl; k && f->ninfl; k--)
		n += fake_nvme_complete(f, 0, 0, false, false);
	return n;
}
