/* kernel/proof/nvme_proof.c — NVMe proofs run in QEMU against the emulated
 * controller, through the driver and the doorbell gate (tests/qemu/
 * test_nvme.py reads the markers and checks QEMU's trace and the disk image
 * from outside):
 *   nvme-bringup   reset, brokered enable, identify, I/O queues, interrupts
 *   nvme-integrity patterned writes at scattered LBAs, 1 block .. MDTS, every
 *                  PRP shape (PRP1, PRP2, list, chained list), read back
 *   nvme-toctou    the driver rewrites a rung command and its PRP list; the
 *                  device performs the validated copy
 *   nvme-zero      Write Zeroes and Discard through struct blockdev over a
 *                  written pattern, read back; one past the end refused
 *   nvme-recover   timeout, bad CID, bad phase, CFS: error line, reset,
 *                  outstanding commands failed (never dropped), back up
 *   nvme-bench     bare loop vs full stack (polled, interrupts): 4 KiB
 *                  random read QD1/QD32, 128 KiB and MDTS sequential
 *                  read/write, a per-I/O cycle breakdown
 * nvme-hostile lives in nvme_hostile.c. */
#include "kernel/proof/nvme_proof.h"
#include "kernel/boot/boot.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/proof/nvme_inject.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

/* ---- shared helpers ------------------------------------------------------ */
int nvme_proof_fence(struct nvme_softc *sc, unsigned code)
{
	struct nvme_sqe c = {0};
	struct nvme_cqe e;
	c.cdw0 = NVME_ADM_GET_FEATURES;
	c.cdw10 = (uint32_t)FIELD_SET(NVME_FEAT_FID, NVME_FID_ARBITRATION);
	c.cdw11 = NVME_FENCE_BASE | code;
	int r = nvme_exec(sc, &sc->admin, &c, &e, NVME_ADMIN_TIMEOUT_US);
	kprintf("NVME_FENCE code=%u ok=%d\n", code, r == 0);
	return r;
}

uint32_t nvme_proof_pat(uint64_t lba, uint32_t word, uint32_t seed)
{
	uint32_t x = (uint32_t)lba * 0x9e3779b1u ^
		     (uint32_t)(lba >> 32) * 0x7feb352du ^ word * 0x85ebca77u ^
		     seed;
	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return x;
}

void nvme_proof_fill(void *buf, uint64_t lba, uint32_t nblk, uint32_t bs,
		     uint32_t seed)
{
	uint32_t *w = buf;
	for (uint32_t b = 0; b < nblk; b++)
		for (uint32_t i = 0; i < bs / 4; i++)
			*w++ = nvme_proof_pat(lba + b, i, seed);
}

static uint64_t canary;

uint64_t nvme_canary_get(void)
{
	if (!canary)
		canary = page_alloc(NVME_CANARY_PAGES, 0);
	return canary;
}

static uint64_t canary_word(uint64_t off)
{
	return 0xca7a11ce00000000ull | off;
}

void nvme_canary_fill(void)
{
	uint64_t *p = (uint64_t *)nvme_canary_get();
	for (uint64_t i = 0; p && i < NVME_CANARY_PAGES * PAGE_SIZE / 8; i++)
		p[i] = canary_word(i * 8);
}

uint64_t nvme_canary_check(void)
{
	const volatile uint64_t *p = (const uint64_t *)nvme_canary_get();
	uint64_t bad = 0;
	for (uint64_t i = 0; p && i < NVME_CANARY_PAGES * PAGE_SIZE / 8; i++)
		bad += p[i] != canary_word(i * 8);
	return p ? bad : ~0ull;
}

static struct nvme_softc *proof_sc(const char *name)
{
	struct nvme_softc *sc = nvme_first();
	if (!sc || !sc->nns || !sc->nioq) {
		proof_result(name, false, "reason=no-nvme-controller");
		return 0;
	}
	return sc;
}

/* model name without spaces, for key=value markers */
static void proof_word(char *dst, const char *src, unsigned n)
{
	unsigned i = 0;
	for (; src[i] && i + 1 < n; i++)
		dst[i] = src[i] == ' ' ? '_' : src[i];
	dst[i] = 0;
}

/* ---- nvme-bringup -------------------------------------------------------- */
static void proof_nvme_bringup(void)
{
	struct nvme_softc *sc = proof_sc("nvme-bringup");
	if (!sc)
		return;
	struct nvme_ns *ns = &sc->ns[0];
	bool live = sc->up && sc->admin.live;
	for (unsigned i = 0; i < sc->nioq; i++)
		live &= sc->ioq[i].live;
	/* one read of every namespace on each I/O queue: the queues and the
	 * namespaces really work */
	bool io = true;
	struct dma_buf b;
	char nslist[256];
	struct json t; /* "nsid:block size:blocks,..." */
	json_init(&t, nslist, sizeof(nslist));
	if (nvme_buf_get(sc, PAGE_SIZE, &b)) {
		io = false;
	} else {
		for (unsigned n = 0; n < sc->nns; n++) {
			const struct nvme_ns *x = &sc->ns[n];
			for (unsigned i = 0; i < sc->nioq; i++) {
				struct nvme_io r = {.opc = NVME_IO_READ,
						    .nsid = x->nsid,
						    .slba = 0,
						    .nlb = 1,
						    .iova = b.iova,
						    .len = x->lba_bytes};
				io &= nvme_io_sync(sc, &sc->ioq[i], &r, 0) == 0;
			}
			json_rawf(&t, "%s%u:%u:%llu", n ? "," : "", x->nsid,
				  x->lba_bytes, (unsigned long long)x->nsze);
		}
		nvme_buf_put(sc, &b);
	}
	uint64_t ioirqs = 0;
	for (unsigned i = 0; i < sc->nioq; i++)
		ioirqs += sc->ioq[i].irqs;
	bool irq_ok = !sc->use_irq || (sc->admin.irqs > 0 && ioirqs > 0);
	const struct nvme_val_stats *st =
	    nvme_broker_stats(sc->broker, sc->owner);
	uint64_t refused = 0;
	for (unsigned v = 1; v < NVME_V_NREASONS; v++)
		refused += st->n[v];
	int fence = nvme_proof_fence(sc, NVME_FENCE_BRINGUP_DONE);
	char mn[sizeof(sc->id.mn)];
	proof_word(mn, sc->id.mn, sizeof(mn));
	proof_result(
	    "nvme-bringup",
	    live && io && irq_ok && refused == 0 && fence == 0 &&
		sc->resets == 0,
	    "model=%s serial=%s vs=%u.%u mdts=%u max_xfer=%u ioq=%u "
	    "ns=%u nsid=%u blocks=%llu bs=%u irq=%s admin_irqs=%llu "
	    "io_irqs=%llu io=%d refused=%llu resets=%u namespaces=%s",
	    mn, sc->id.sn, (unsigned)FIELD_GET(NVME_VS_MJR, sc->vs),
	    (unsigned)FIELD_GET(NVME_VS_MNR, sc->vs), sc->id.mdts, sc->max_xfer,
	    sc->nioq, sc->nns, ns->nsid, (unsigned long long)ns->nsze,
	    ns->lba_bytes, sc->use_irq ? "msix" : "polled",
	    (unsigned long long)sc->admin.irqs, (unsigned long long)ioirqs, io,
	    (unsigned long long)refused, sc->resets,
	    t.overflow ? "too-many" : nslist);
}
PROOF_REGISTER("nvme-bringup", proof_nvme_bringup, 40);

/* ---- nvme-integrity ------------------------------------------------------ */
#define INTEGRITY_SEED 0x1d2c3b4au

struct icase {
	uint32_t nblk;	   /* 0: the maximum transfer */
	int32_t less;	   /* blocks less than nblk (for "MDTS - 1") */
	uint32_t buf_off;  /* in-page offset of the data (PRP1 offset) */
	uint32_t list_off; /* where the PRP list starts in its page */
};

/* PRP shape the spec rules give for len bytes at in-page offset off with
 * the list starting at list_off (NVMe 2.0 §4.1.1) */
static const char *prp_shape(uint32_t off, uint32_t len, uint32_t list_off)
{
	uint32_t first = PAGE_SIZE - off;
	if (len <= first)
		return "prp1";
	uint32_t rem = len - first;
	if (rem <= PAGE_SIZE)
		return "prp2";
	uint32_t nent = (rem + PAGE_SIZE - 1) / PAGE_SIZE;
	uint32_t room = (PAGE_SIZE - list_off) / 8;
	return nent > room ? "chain" : "list";
}

static bool integrity_one(struct nvme_softc *sc, unsigned i,
			  const struct icase *c, uint64_t lba, uint64_t *bytes,
			  unsigned *shapes)
{
	struct nvme_ns *ns = &sc->ns[0];
	uint32_t bs = ns->lba_bytes;
	uint32_t nblk = c->nblk ? c->nblk : sc->max_xfer / bs;
	nblk -= (uint32_t)c->less;
	uint32_t len = nblk * bs;
	struct dma_buf wb, rb;
	bool ok = false;
	if (nvme_buf_get(sc, len + c->buf_off, &wb))
		return false;
	if (nvme_buf_get(sc, len + c->buf_off, &rb)) {
		nvme_buf_put(sc, &wb);
		return false;
	}
	struct nvme_queue *q = &sc->ioq[i % sc->nioq];
	nvme_proof_fill((uint8_t *)wb.va + c->buf_off, lba, nblk, bs,
			INTEGRITY_SEED);
	memset(rb.va, 0xa5, rb.len);
	struct nvme_io w = {.opc = NVME_IO_WRITE,
			    .nsid = ns->nsid,
			    .slba = lba,
			    .nlb = nblk,
			    .iova = wb.iova + c->buf_off,
			    .len = len,
			    .list_off = c->list_off};
	struct nvme_io r = w;
	r.opc = NVME_IO_READ;
	r.iova = rb.iova + c->buf_off;
	struct nvme_cqe we = {0}, re = {0};
	int wr = nvme_io_sync(sc, q, &w, &we);
	int rr = wr ? -1 : nvme_io_sync(sc, q, &r, &re);
	const char *shape = prp_shape(c->buf_off, len, c->list_off);
	if (wr == 0 && rr == 0)
		ok = memcmp((uint8_t *)wb.va + c->buf_off,
			    (uint8_t *)rb.va + c->buf_off, len) == 0;
	/* the bytes around the read target were not touched */
	const uint8_t *rp = rb.va;
	for (uint32_t k = 0; k < c->buf_off; k++)
		ok &= rp[k] == 0xa5;
	for (size_t k = c->buf_off + len; k < rb.len; k++)
		ok &= rp[k] == 0xa5;
	kprintf("NVME_REGION lba=%llu blocks=%u bs=%u seed=0x%x shape=%s "
		"buf_off=%u list_off=%u queue=%u ok=%d (write SCT %u SC 0x%x, "
		"read SCT %u SC 0x%x)\n",
		(unsigned long long)lba, nblk, bs, INTEGRITY_SEED, shape,
		c->buf_off, c->list_off, q->id, ok, nvme_cqe_sct(&we),
		nvme_cqe_sc(&we), nvme_cqe_sct(&re), nvme_cqe_sc(&re));
	if (ok) {
		*bytes += len;
		*shapes |= shape[0] == 'c'   ? 8
			   : shape[0] == 'l' ? 4
			   : shape[3] == '2' ? 2
					     : 1;
	}
	nvme_buf_put(sc, &rb);
	nvme_buf_put(sc, &wb);
	return ok;
}

/* A burst: BURST_OPS 4 KiB writes, then reads, QD BURST_QD spread over
 * every I/O queue, completions handled as they come (each done callback
 * submits the next op). The rings wrap several times; every read is
 * checked against the pattern. */
#define BURST_OPS  384
#define BURST_QD   32
#define BURST_SEED 0xb0a57000u
#define BURST_LBA0 120200ull

struct burst {
	struct nvme_softc *sc;
	uint32_t nsid, nblk, bs;
	bool write;
	unsigned next, done, bad, inflight;
	struct dma_buf buf[BURST_QD];
};
static struct burst *burst_cur;

static uint64_t burst_lba(const struct burst *b, unsigned op)
{
	return BURST_LBA0 + (uint64_t)op * (b->nblk + 1);
}

static void burst_done(struct nvme_softc *sc, struct nvme_ccb *ccb,
		       const struct nvme_cqe *e);

static void burst_issue(struct burst *b, unsigned slot)
{
	unsigned op = b->next++;
	struct nvme_softc *sc = b->sc;
	if (b->write)
		nvme_proof_fill(b->buf[slot].va, burst_lba(b, op), b->nblk,
				b->bs, BURST_SEED);
	else
		memset(b->buf[slot].va, 0x3c, PAGE_SIZE);
	struct nvme_io io = {.opc = b->write ? NVME_IO_WRITE : NVME_IO_READ,
			     .nsid = b->nsid,
			     .slba = burst_lba(b, op),
			     .nlb = b->nblk,
			     .iova = b->buf[slot].iova,
			     .len = b->nblk * b->bs};
	/* the cookie carries slot and op: slot in the low byte */
	if (nvme_io_submit(sc, &sc->ioq[op % sc->nioq], &io, burst_done,
			   (void *)(uintptr_t)(((uintptr_t)op << 8) | slot)) !=
	    0) {
		b->bad++;
		return;
	}
	b->inflight++;
}

static void burst_done(struct nvme_softc *sc, struct nvme_ccb *ccb,
		       const struct nvme_cqe *e)
{
	struct burst *b = burst_cur;
	uintptr_t ck = (uintptr_t)ccb->cookie;
	unsigned slot = (unsigned)(ck & 0xff), op = (unsigned)(ck >> 8);
	nvme_ccb_put(ccb);
	b->inflight--;
	b->done++;
	if (!nvme_cqe_ok(e)) {
		b->bad++;
	} else if (!b->write) {
		const uint32_t *w = b->buf[slot].va;
		for (uint32_t k = 0; k < b->nblk; k++)
			for (uint32_t i = 0; i < b->bs / 4; i++)
				b->bad +=
				    *w++ != nvme_proof_pat(burst_lba(b, op) + k,
							   i, BURST_SEED);
	}
	if (b->next < BURST_OPS)
		burst_issue(b, slot);
}

static bool burst_run(struct burst *b, bool write)
{
	b->write = write;
	b->next = b->done = b->inflight = 0;
	for (unsigned i = 0; i < BURST_QD && b->next < BURST_OPS; i++)
		burst_issue(b, i);
	uint64_t t0 = time_now_us();
	while (b->inflight && !b->sc->dead && time_now_us() - t0 < 60000000ull)
		for (unsigned q = 0; q < b->sc->nioq; q++)
			nvme_poll(b->sc, &b->sc->ioq[q]);
	return b->done == BURST_OPS && !b->bad;
}

static bool integrity_burst(struct nvme_softc *sc)
{
	static struct burst b;
	memset(&b, 0, sizeof(b));
	b.sc = sc;
	b.nsid = sc->ns[0].nsid;
	b.bs = sc->ns[0].lba_bytes;
	b.nblk = PAGE_SIZE / b.bs;
	burst_cur = &b;
	unsigned got = 0;
	for (; got < BURST_QD; got++)
		if (nvme_buf_get(sc, PAGE_SIZE, &b.buf[got]))
			break;
	bool ok = got == BURST_QD &&
		  burst_lba(&b, BURST_OPS) < sc->ns[0].nsze &&
		  burst_run(&b, true) && burst_run(&b, false);
	for (unsigned i = 0; i < got; i++)
		nvme_buf_put(sc, &b.buf[i]);
	kprintf("NVME_BURST lba0=%llu stride=%u ops=%u blocks=%u bs=%u "
		"seed=0x%x qd=%u queues=%u ok=%d bad=%u\n",
		(unsigned long long)BURST_LBA0, b.nblk + 1, BURST_OPS, b.nblk,
		b.bs, BURST_SEED, BURST_QD, sc->nioq, ok, b.bad);
	return ok;
}

static void proof_nvme_integrity(void)
{
	static const struct icase cases[] = {
	    {1, 0, 0, 0},     /* one block: PRP1 */
	    {1, 0, 3584, 0},  /* one block at the end of a page: PRP1 */
	    {2, 0, 3584, 0},  /* straddles a page: PRP2 */
	    {8, 0, 0, 0},     /* one page: PRP1 */
	    {16, 0, 0, 0},    /* two pages: PRP2 */
	    {17, 0, 2048, 0}, /* three pages from an offset: list */
	    {24, 0, 0, 0},    /* three pages: list */
	    {64, 0, 0, 4064}, /* eight pages, list with 4 slots: chain */
	    {0, 0, 0, 0},     /* MDTS: list */
	    {0, 1, 512, 0},   /* MDTS - 1 block from an offset: list */
	    {0, 0, 0, 4016},  /* MDTS, list page holds 10 slots: chain */
	    {0, 0, 0, 4088},  /* MDTS, list page holds 1 slot: chain */
	};
	struct nvme_softc *sc = proof_sc("nvme-integrity");
	if (!sc)
		return;
	nvme_proof_fence(sc, NVME_FENCE_INTEGRITY);
	struct nvme_ns *ns = &sc->ns[0];
	uint32_t maxblk = sc->max_xfer / ns->lba_bytes;
	unsigned pass = 0, shapes = 0;
	uint64_t bytes = 0;
	if (ns->nsze < ARRAY_SIZE(cases) * 10007ull + 2 * maxblk) {
		proof_result("nvme-integrity", false,
			     "reason=namespace-too-small blocks=%llu",
			     (unsigned long long)ns->nsze);
		return;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		/* scattered, never overlapping, mostly not block-group
		 * aligned */
		uint64_t lba = (uint64_t)i * 10007 + 77;
		pass += integrity_one(sc, i, &cases[i], lba, &bytes, &shapes);
	}
	bool burst = integrity_burst(sc);
	struct nvme_io fl = {.opc = NVME_IO_FLUSH, .nsid = ns->nsid};
	int fr = nvme_io_sync(sc, &sc->ioq[0], &fl, 0);
	proof_result(
	    "nvme-integrity",
	    pass == ARRAY_SIZE(cases) && shapes == 15 && fr == 0 && burst,
	    "regions=%u passed=%u bytes=%llu shapes=%s%s%s%s flush=%d "
	    "max_xfer=%u burst=%d burst_ops=%u",
	    (unsigned)ARRAY_SIZE(cases), pass, (unsigned long long)bytes,
	    shapes & 1 ? "prp1," : "", shapes & 2 ? "prp2," : "",
	    shapes & 4 ? "list," : "", shapes & 8 ? "chain" : "", fr == 0,
	    sc->max_xfer, burst, BURST_OPS);
}
PROOF_REGISTER("nvme-integrity", proof_nvme_integrity, 41);

/* ---- nvme-toctou --------------------------------------------------------- */
#define TOCTOU_LBA    130000ull /* validated target (+ TOCTOU_DECOY: the swap) */
#define TOCTOU_DECOY  64ull
#define TOCTOU_BLOCKS 24 /* three pages: PRP1 + a two-entry list */
#define TOCTOU_SEED   0x70c70c70u
#define DECOY_SEED    0xdec0de00u

/* submit, then — the gate having validated and copied the command at the
 * doorbell — point the driver's SQ entry and its PRP list at the canary
 * and at the decoy LBA, then let the command run */
static int toctou_run(struct nvme_softc *sc, struct nvme_io *io)
{
	struct nvme_queue *q = &sc->ioq[0];
	struct nvme_ccb *ccb = nvme_ccb_get(q);
	uint64_t cn = nvme_canary_get();
	if (!ccb || nvme_io_prepare(sc, ccb, io) ||
	    nvme_submit(sc, q, ccb, nvme_fill_cmd, 0)) {
		if (ccb)
			nvme_ccb_put(ccb);
		return -1;
	}
	volatile struct nvme_sqe *s = (struct nvme_sqe *)q->sq.va + ccb->slot;
	volatile uint64_t *l = (uint64_t *)ccb->list.va;
	s->prp1 = cn;
	s->prp2 = cn + PAGE_SIZE;
	s->cdw10 = (uint32_t)(io->slba + TOCTOU_DECOY);
	l[0] = cn + 2 * PAGE_SIZE;
	l[1] = cn + 3 * PAGE_SIZE;
	int r = nvme_wait(sc, q, ccb, NVME_IO_TIMEOUT_US);
	nvme_ccb_put(ccb);
	return r;
}

static void proof_nvme_toctou(void)
{
	struct nvme_softc *sc = proof_sc("nvme-toctou");
	if (!sc)
		return;
	struct nvme_ns *ns = &sc->ns[0];
	uint32_t bs = ns->lba_bytes, len = TOCTOU_BLOCKS * bs;
	uint64_t lba = MIN(TOCTOU_LBA, ns->nsze - TOCTOU_DECOY - TOCTOU_BLOCKS);
	struct dma_buf a, b;
	if (!nvme_canary_get() || nvme_buf_get(sc, len, &a) ||
	    nvme_buf_get(sc, len, &b)) {
		proof_result("nvme-toctou", false, "reason=no-memory");
		return;
	}
	nvme_proof_fence(sc, NVME_FENCE_TOCTOU);
	nvme_canary_fill();
	/* the decoy LBA holds a known pattern first */
	nvme_proof_fill(a.va, lba + TOCTOU_DECOY, TOCTOU_BLOCKS, bs,
			DECOY_SEED);
	struct nvme_io w = {.opc = NVME_IO_WRITE,
			    .nsid = ns->nsid,
			    .slba = lba + TOCTOU_DECOY,
			    .nlb = TOCTOU_BLOCKS,
			    .iova = a.iova,
			    .len = len};
	int setup = nvme_io_sync(sc, &sc->ioq[0], &w, 0);
	/* the write that is rewritten after the doorbell */
	nvme_proof_fill(a.va, lba, TOCTOU_BLOCKS, bs, TOCTOU_SEED);
	w.slba = lba;
	int wr = toctou_run(sc, &w);
	/* the read that is rewritten after the doorbell */
	memset(b.va, 0, len);
	struct nvme_io r = w;
	r.opc = NVME_IO_READ;
	r.iova = b.iova;
	int rr = toctou_run(sc, &r);
	bool data_ok = rr == 0 && memcmp(a.va, b.va, len) == 0;
	/* the decoy still holds its own pattern */
	memset(b.va, 0, len);
	r.slba = lba + TOCTOU_DECOY;
	int dr = nvme_io_sync(sc, &sc->ioq[0], &r, 0);
	nvme_proof_fill(a.va, lba + TOCTOU_DECOY, TOCTOU_BLOCKS, bs,
			DECOY_SEED);
	bool decoy_ok = dr == 0 && memcmp(a.va, b.va, len) == 0;
	uint64_t bad = nvme_canary_check();
	nvme_buf_put(sc, &b);
	nvme_buf_put(sc, &a);
	proof_result("nvme-toctou",
		     setup == 0 && wr == 0 && data_ok && decoy_ok && bad == 0,
		     "lba=%llu decoy_lba=%llu blocks=%u bs=%u seed=0x%x "
		     "decoy_seed=0x%x write=%d read=%d data_ok=%d decoy_ok=%d "
		     "canary=0x%llx canary_bad_bytes=%llu",
		     (unsigned long long)lba,
		     (unsigned long long)(lba + TOCTOU_DECOY), TOCTOU_BLOCKS,
		     bs, TOCTOU_SEED, DECOY_SEED, wr == 0, rr == 0, data_ok,
		     decoy_ok, (unsigned long long)nvme_canary_get(),
		     (unsigned long long)bad);
}
PROOF_REGISTER("nvme-toctou", proof_nvme_toctou, 43);

/* ---- nvme-zero ----------------------------------------------------------- */
/* A pattern over ZERO_BLOCKS blocks from ZERO_LBA (clear of the other
 * proofs' regions, 4 KiB aligned in the image), then through the block
 * interface Write Zeroes over ZERO_WZ_OFF + ZERO_WZ_BLOCKS and Discard
 * over ZERO_DC_OFF + ZERO_DC_BLOCKS, read back: the pattern around them,
 * zeros where Write Zeroes ran, and zeros where discarded only when the
 * namespace's DLFEAT promises them (discard_zeroes; else unchecked). One
 * Write Zeroes past the namespace's end is refused with nothing sent. The
 * host checks the image and QEMU's trace (tests/qemu/test_nvme.py). */
#define ZERO_LBA       113152ull
#define ZERO_BLOCKS    512u
#define ZERO_WZ_OFF    64u
#define ZERO_WZ_BLOCKS 128u
#define ZERO_DC_OFF    256u
#define ZERO_DC_BLOCKS 256u
#define ZERO_SEED      0x2e80f00du

static bool zero_is(const uint8_t *p, size_t len, int v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)v)
			return false;
	return true;
}

static uint64_t zero_submitted(const struct nvme_softc *sc)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < sc->nioq; i++)
		n += sc->ioq[i].submitted;
	return n;
}

static void proof_nvme_zero(void)
{
	struct nvme_softc *sc = proof_sc("nvme-zero");
	if (!sc)
		return;
	struct blockdev *bd = &sc->ns[0].bdev;
	uint32_t bs = bd->block_size;
	size_t len = (size_t)ZERO_BLOCKS * bs;
	size_t pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
	uint64_t lba = ZERO_LBA;
	if (bd->block_count < ZERO_LBA + ZERO_BLOCKS) {
		proof_result("nvme-zero", false, "reason=namespace-too-small");
		return;
	}
	uint8_t *want = (uint8_t *)page_alloc(pages, 0);
	uint8_t *got = want ? (uint8_t *)page_alloc(pages, 0) : 0;
	if (!got) {
		if (want)
			page_free((uint64_t)want, pages);
		proof_result("nvme-zero", false, "reason=no-memory");
		return;
	}
	nvme_proof_fence(sc, NVME_FENCE_ZERO);
	nvme_proof_fill(want, lba, ZERO_BLOCKS, bs, ZERO_SEED);
	int w = bd->write(bd, lba, ZERO_BLOCKS, want);
	int wz = bd->write_zeroes(bd, lba + ZERO_WZ_OFF, ZERO_WZ_BLOCKS);
	int dc = bd->discard(bd, lba + ZERO_DC_OFF, ZERO_DC_BLOCKS);
	int fl = bd->flush(bd);
	memset(got, 0xa5, len);
	int rd = bd->read(bd, lba, ZERO_BLOCKS, got);
	/* what must read back: the pattern, zeros over Write Zeroes */
	memset(want + (size_t)ZERO_WZ_OFF * bs, 0, (size_t)ZERO_WZ_BLOCKS * bs);
	const uint8_t *dcp = got + (size_t)ZERO_DC_OFF * bs;
	size_t dclen = (size_t)ZERO_DC_BLOCKS * bs;
	bool zeros = zero_is(got + (size_t)ZERO_WZ_OFF * bs,
			     (size_t)ZERO_WZ_BLOCKS * bs, 0);
	bool discarded_zeros = zero_is(dcp, dclen, 0);
	memcpy(want + (size_t)ZERO_DC_OFF * bs, dcp, dclen); /* next check */
	bool pattern = rd == 0 && memcmp(want, got, len) == 0;
	bool dc_ok = !bd->discard_zeroes || discarded_zeros;
	/* past the end: refused before any command is built */
	uint64_t before = zero_submitted(sc);
	int past = bd->write_zeroes(bd, bd->block_count - 1, 2);
	int past_dc = bd->discard(bd, bd->block_count, 1);
	bool refused =
	    past == -1 && past_dc == -1 && zero_submitted(sc) == before;
	kprintf("NVME_ZERO lba=%llu blocks=%u bs=%u seed=0x%x wz=%u+%u "
		"discard=%u+%u discard_zeroes=%d\n",
		(unsigned long long)lba, ZERO_BLOCKS, bs, ZERO_SEED,
		ZERO_WZ_OFF, ZERO_WZ_BLOCKS, ZERO_DC_OFF, ZERO_DC_BLOCKS,
		bd->discard_zeroes);
	page_free((uint64_t)got, pages);
	page_free((uint64_t)want, pages);
	proof_result("nvme-zero",
		     w == 0 && wz == 0 && dc == 0 && fl == 0 && pattern &&
			 zeros && dc_ok && refused,
		     "write=%d wz=%d discard=%d flush=%d pattern=%s zeros=%s "
		     "discarded=%s past_end=%s oncs=0x%x dlfeat=%u",
		     w, wz, dc, fl, pattern ? "equal" : "DIFFERS",
		     zeros ? "equal" : "DIFFERS",
		     !bd->discard_zeroes
			 ? (discarded_zeros ? "zeros-unpromised" : "unpromised")
		     : discarded_zeros ? "zeros"
				       : "NOT-ZEROS",
		     refused ? "refused" : "ACCEPTED", sc->oncs,
		     sc->ns[0].dlfeat);
}
PROOF_REGISTER("nvme-zero", proof_nvme_zero, 43);

/* ---- nvme-recover -------------------------------------------------------- */
struct rec_count {
	unsigned done, aborted;
	uint8_t ok; /* bit i: read i (SLBA 8 * i) completed with success */
};

static void rec_done(struct nvme_softc *sc, struct nvme_ccb *ccb,
		     const struct nvme_cqe *e)
{
	struct rec_count *rc = ccb->cookie;
	rc->done++;
	/* aborted by the driver or the gate (08h), or by QEMU 7.2's Delete
	 * I/O SQ, which cancels what has not started with Command Abort
	 * Requested (07h) */
	if (nvme_cqe_sct(e) == NVME_SCT_GENERIC &&
	    (nvme_cqe_sc(e) == NVME_SC_ABORT_SQ_DELETED ||
	     nvme_cqe_sc(e) == NVME_SC_ABORT_REQ))
		rc->aborted++;
	else if (nvme_cqe_ok(e) && ccb->cmd.cdw10 / 8 < 8)
		rc->ok |= (uint8_t)(1u << (ccb->cmd.cdw10 / 8));
	nvme_ccb_put(ccb);
}

/* the reads a reset delivered as done hold the disk's bytes: each is read
 * again after the recovery and compared (the buffers were filled with
 * REC_FILL first; the disk's bytes are not all REC_FILL). The number
 * checked, or -1 when one differs. */
#define REC_FILL 0xa5
static bool rec_filled(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != REC_FILL)
			return false;
	return true;
}

static int rec_reads_match(struct nvme_softc *sc, const struct dma_buf *b,
			   uint8_t ok)
{
	struct dma_buf c;
	int n = 0;
	if (nvme_buf_get(sc, PAGE_SIZE, &c))
		return -1;
	for (unsigned i = 0; i < 8 && n >= 0; i++) {
		if (!(ok & (1u << i)))
			continue;
		struct nvme_io r = {.opc = NVME_IO_READ,
				    .nsid = sc->ns[0].nsid,
				    .slba = i * 8,
				    .nlb = 8,
				    .iova = c.iova,
				    .len = 8 * sc->ns[0].lba_bytes};
		const uint8_t *got = (const uint8_t *)b->va + i * PAGE_SIZE;
		memset(c.va, REC_FILL ^ 0xff, r.len);
		if (nvme_io_sync(sc, &sc->ioq[0], &r, 0) != 0 ||
		    memcmp(got, c.va, r.len) != 0 || rec_filled(c.va, r.len))
			n = -1;
		else
			n++;
	}
	nvme_buf_put(sc, &c);
	return n;
}

static bool rec_read_ok(struct nvme_softc *sc)
{
	struct dma_buf b;
	if (nvme_buf_get(sc, PAGE_SIZE, &b))
		return false;
	struct nvme_io r = {.opc = NVME_IO_READ,
			    .nsid = sc->ns[0].nsid,
			    .slba = 8,
			    .nlb = 1,
			    .iova = b.iova,
			    .len = sc->ns[0].lba_bytes};
	bool ok = true;
	for (unsigned i = 0; i < sc->nioq; i++)
		ok &= nvme_io_sync(sc, &sc->ioq[i], &r, 0) == 0;
	nvme_buf_put(sc, &b);
	return ok && sc->up && !sc->dead;
}

/* one fault: inject, run a read with a short wait, expect a reset */
static bool rec_fault(struct nvme_softc *sc, enum nvme_inject inj,
		      uint64_t *counter)
{
	/* each fault is an incident of its own, not a reset storm: no
	 * backoff (NVME_RESET_*; tests/host/nvme test the storm) */
	sc->reset_streak = 0;
	unsigned resets = sc->resets;
	uint64_t before = counter ? *counter : 0;
	struct dma_buf b;
	if (nvme_buf_get(sc, PAGE_SIZE, &b))
		return false;
	struct nvme_queue *q = &sc->ioq[0];
	struct nvme_ccb *ccb = nvme_ccb_get(q);
	struct nvme_io r = {.opc = NVME_IO_READ,
			    .nsid = sc->ns[0].nsid,
			    .nlb = 1,
			    .iova = b.iova,
			    .len = sc->ns[0].lba_bytes};
	int w = -1;
	if (ccb && nvme_io_prepare(sc, ccb, &r) == 0 &&
	    nvme_inject_arm(sc->broker, q->id, inj) == 0 &&
	    nvme_submit(sc, q, ccb, nvme_fill_cmd, 0) == 0)
		w = nvme_wait(sc, q, ccb, 300000);
	nvme_inject_clear(sc->broker);
	bool aborted =
	    ccb && nvme_cqe_sc(&ccb->cqe) == NVME_SC_ABORT_SQ_DELETED;
	if (ccb)
		nvme_ccb_put(ccb);
	nvme_buf_put(sc, &b);
	return w != 0 && aborted && sc->resets == resets + 1 &&
	       (!counter || *counter == before + 1) && rec_read_ok(sc);
}

/* eight reads of 8 blocks, namespace 1's blocks 0-63 into b's eight
 * pages, each rung with a doorbell of its own: all on I/O queue 0, or
 * spread over every I/O queue. How many were accepted */
static unsigned rec_reads_submit(struct nvme_softc *sc, const struct dma_buf *b,
				 bool spread, struct rec_count *rc)
{
	unsigned sent = 0;
	for (unsigned i = 0; i < 8; i++) {
		struct nvme_io r = {.opc = NVME_IO_READ,
				    .nsid = sc->ns[0].nsid,
				    .slba = i * 8,
				    .nlb = 8,
				    .iova = b->iova + i * PAGE_SIZE,
				    .len = 8 * sc->ns[0].lba_bytes};
		struct nvme_queue *q = &sc->ioq[spread ? i % sc->nioq : 0];
		sent += nvme_io_submit(sc, q, &r, rec_done, rc) == 0;
	}
	return sent;
}

/* 6. the driver as the broker's adversary: eight reads rung over every
 * I/O queue, a doorbell each, then nvme_broker_reset at once — not
 * nvme_recover, whose deletes (nvme_ioq_delete_all) it skips, the mix of
 * reads in flight and rung but not fetched that crashed QEMU 7.2 at
 * CC.EN=0 (README, Debugging). The broker deletes the I/O queues itself
 * before the disable (broker_halt_delete). The driver then recovers
 * (nvme_recover: the reset's drop answered nothing, so each read is
 * failed once, aborted). The sent, done and aborted counts. */
static void rec_hostile_reset(struct nvme_softc *sc, unsigned *sent,
			      struct rec_count *rc)
{
	struct dma_buf b;
	*sent = 0;
	if (nvme_buf_get(sc, 8 * PAGE_SIZE, &b) != 0)
		return;
	nvme_proof_fence(sc, NVME_FENCE_HOSTILE_RESET);
	*sent = rec_reads_submit(sc, &b, true, rc);
	(void)nvme_broker_reset(sc->broker, sc->owner);
	sc->reset_streak = 0;
	nvme_recover(sc, "proof: the broker reset under the driver");
	nvme_buf_put(sc, &b);
}

static void proof_nvme_recover(void)
{
	struct nvme_softc *sc = proof_sc("nvme-recover");
	if (!sc)
		return;
	nvme_proof_fence(sc, NVME_FENCE_RECOVER);
	/* 1. a command that never completes: Asynchronous Event Request
	 * (each step a reset of its own, as in rec_fault) */
	sc->reset_streak = 0;
	unsigned resets = sc->resets;
	struct nvme_sqe aer = {0};
	struct nvme_cqe e;
	aer.cdw0 = NVME_ADM_ASYNC_EVENT;
	int ar = nvme_exec(sc, &sc->admin, &aer, &e, 300000);
	bool timeout_ok = ar != 0 &&
			  nvme_cqe_sc(&e) == NVME_SC_ABORT_SQ_DELETED &&
			  sc->resets == resets + 1 && rec_read_ok(sc);
	/* 2. commands outstanding when the controller is reset: each one
	 * completes exactly once, with its real result or aborted. The
	 * eight go on eight doorbells, so QEMU may hold some in flight
	 * beside some rung but not yet fetched when the reset begins: the
	 * mix its own reset (CC.EN=0, nvme_ctrl_reset) crashed on, its
	 * namespace drain fetching reads that completed after their SQ was
	 * freed (README, Debugging). The recovery deletes the I/O queues
	 * first (nvme_ioq_delete_all): QEMU's Delete I/O SQ waits out every
	 * read it fetched, those it fetches meanwhile too, and the disable
	 * finds no I/O queue left. */
	struct rec_count rc = {0};
	struct dma_buf b;
	unsigned sent = 0;
	int checked = -1;
	if (nvme_buf_get(sc, 8 * PAGE_SIZE, &b) == 0) {
		memset(b.va, REC_FILL, 8 * PAGE_SIZE);
		sent = rec_reads_submit(sc, &b, false, &rc);
		sc->reset_streak = 0;
		nvme_recover(sc, "proof: reset with commands outstanding");
		checked = rec_reads_match(sc, &b, rc.ok);
		nvme_buf_put(sc, &b);
	}
	bool inflight_ok = sent == 8 && rc.done == 8 && checked >= 0 &&
			   (unsigned)checked + rc.aborted == 8 &&
			   rec_read_ok(sc);
	/* 3.-5. a device handing back garbage */
	bool cid_ok = rec_fault(sc, NVME_INJECT_BAD_CID, &sc->ioq[0].bad_cid);
	bool phase_ok =
	    rec_fault(sc, NVME_INJECT_BAD_PHASE, &sc->ioq[0].bad_phase);
	bool sqhd_ok = rec_fault(sc, NVME_INJECT_BAD_SQHD, &sc->ioq[0].bad_cqe);
	bool cfs_ok = rec_fault(sc, NVME_INJECT_CFS, 0);
	struct rec_count hr = {0};
	unsigned hsent;
	rec_hostile_reset(sc, &hsent, &hr);
	bool hreset_ok =
	    hsent == 8 && hr.done == 8 && hr.aborted == 8 && rec_read_ok(sc);
	proof_result(
	    "nvme-recover",
	    timeout_ok && inflight_ok && cid_ok && phase_ok && sqhd_ok &&
		cfs_ok && hreset_ok,
	    "timeout=%d inflight_sent=%u inflight_done=%u "
	    "inflight_aborted=%u inflight_checked=%d bad_cid=%d bad_phase=%d "
	    "bad_sqhd=%d cfs_injected=%d hreset_sent=%u hreset_done=%u "
	    "hreset_aborted=%u resets=%u failed_by_reset=%llu up=%d",
	    timeout_ok, sent, rc.done, rc.aborted, checked, cid_ok, phase_ok,
	    sqhd_ok, cfs_ok, hsent, hr.done, hr.aborted, sc->resets,
	    (unsigned long long)sc->reset_failed_cmds, sc->up);
}
PROOF_REGISTER("nvme-recover", proof_nvme_recover, 44);

/* ---- nvme-bench ----------------------------------------------------------
 * Every row runs three ways in this one boot, side by side: bare (the
 * broker's minimal loop on its own queue pair: nvme_broker_bare_run), the
 * full stack polled (driver + gate + validator, spinning on nvme_poll) and
 * the full stack interrupt-driven (reaping only after the queue's MSI-X
 * count moves). Completion callbacks resubmit; they run plugged, so each
 * burst of resubmissions costs one doorbell (nvme_q_plug). A fourth,
 * profiled pass splits a polled I/O's TSC cycles into driver submit,
 * validate+copy, doorbells, wait and completion (nvme_broker_prof). */
#define BENCH_QD_MAX 32

/* poll_nochk: the polled full stack in the gate's other shape (address
 * checks off, the IOMMU confining), in the same boot: only under the IOMMU */
enum bench_path { BENCH_BARE, BENCH_POLL, BENCH_IRQ, BENCH_POLL_NOCHK };
static const char *const bench_path_name[] = {"bare", "poll", "irq",
					      "poll_nochk"};

struct bench {
	struct nvme_softc *sc;
	struct nvme_queue *q;
	uint8_t opc;
	bool random;
	uint32_t nblk, bs, len;
	uint64_t span, lcg, seq;
	unsigned left, inflight, done, errors;
	uint64_t submit_tsc; /* driver submit time, when profiling */
	bool prof;
	struct dma_buf buf[BENCH_QD_MAX];
};

static uint64_t bench_lba(struct bench *bn)
{
	if (!bn->random)
		return (bn->seq++ % bn->span) * bn->nblk;
	bn->lcg = bn->lcg * 6364136223846793005ull + 1442695040888963407ull;
	return ((bn->lcg >> 33) % bn->span) * bn->nblk;
}

static void bench_done(struct nvme_softc *sc, struct nvme_ccb *ccb,
		       const struct nvme_cqe *e);

static int bench_issue(struct bench *bn, unsigned slot)
{
	struct nvme_io r = {.opc = bn->opc,
			    .nsid = bn->sc->ns[0].nsid,
			    .slba = bench_lba(bn),
			    .nlb = bn->nblk,
			    .iova = bn->buf[slot].iova,
			    .len = bn->len};
	uint64_t t0 = bn->prof ? time_tsc() : 0;
	int rc = nvme_io_submit(bn->sc, bn->q, &r, bench_done,
				(void *)(uintptr_t)(slot + 1));
	if (bn->prof)
		bn->submit_tsc += time_tsc() - t0;
	if (rc != 0)
		return -1;
	bn->left--;
	bn->inflight++;
	return 0;
}

static struct bench *bench_cur;

static void bench_done(struct nvme_softc *sc, struct nvme_ccb *ccb,
		       const struct nvme_cqe *e)
{
	struct bench *bn = bench_cur;
	unsigned slot = (unsigned)((uintptr_t)ccb->cookie - 1);
	nvme_ccb_put(ccb);
	bn->inflight--;
	bn->done++;
	bn->errors += !nvme_cqe_ok(e);
	if (bn->left)
		bench_issue(bn, slot);
}

/* cycles spent waiting (empty polls), when profiling */
static uint64_t bench_wait_tsc;
/* interrupt waits, and those that ended by the 1 ms fallback */
static uint64_t bench_irq_waits, bench_irq_lost;

/* one pass of n commands of len bytes at queue depth qd through the
 * driver on ioq[0]; TSC cycles, or 0 on error */
static uint64_t bench_stack(struct nvme_softc *sc, uint8_t opc, bool random,
			    uint32_t len, unsigned qd, unsigned n, bool irq,
			    bool prof)
{
	static struct bench bn;
	memset(&bn, 0, sizeof(bn));
	bn.sc = sc;
	bn.q = &sc->ioq[0];
	bn.opc = opc;
	bn.random = random;
	bn.bs = sc->ns[0].lba_bytes;
	bn.len = len;
	bn.nblk = len / bn.bs;
	bn.span = sc->ns[0].nsze / bn.nblk;
	bn.lcg = 12345;
	bn.left = n;
	bn.prof = prof;
	bench_cur = &bn;
	bench_wait_tsc = bench_irq_waits = bench_irq_lost = 0;
	unsigned got = 0;
	for (; got < qd; got++)
		if (nvme_buf_get(sc, len, &bn.buf[got]))
			break;
	if (opc == NVME_IO_WRITE)
		for (unsigned i = 0; i < got; i++)
			memset(bn.buf[i].va, 0x5c, len);
	uint64_t t0 = time_tsc(), limit = 60 * time_tsc_hz();
	nvme_q_plug(bn.q); /* the first burst: one doorbell */
	for (unsigned i = 0; i < got && bn.left; i++)
		bench_issue(&bn, i);
	nvme_q_unplug(sc, bn.q);
	while (bn.inflight) {
		uint64_t seen = bn.q->irqs, w0 = prof ? time_tsc() : 0;
		if (nvme_poll(sc, bn.q) == 0) {
			if (irq) {
				/* the MSI-X handler counts; a lost interrupt
				 * costs a millisecond, not a hang */
				uint64_t end = time_now_us() + 1000;
				while (bn.q->irqs == seen &&
				       time_now_us() < end)
					__asm__ __volatile__("pause");
				bench_irq_waits++;
				bench_irq_lost += bn.q->irqs == seen;
			} else {
				__asm__ __volatile__("pause");
			}
			if (prof)
				bench_wait_tsc += time_tsc() - w0;
		}
		if (time_tsc() - t0 > limit || sc->dead)
			break;
	}
	uint64_t cycles = time_tsc() - t0;
	for (unsigned i = 0; i < got; i++)
		nvme_buf_put(sc, &bn.buf[i]);
	if (got != qd || bn.errors || bn.done != n || !cycles)
		return 0;
	return cycles;
}

static uint64_t bench_bare(struct nvme_softc *sc, uint8_t opc, bool random,
			   uint32_t len, unsigned qd, unsigned n)
{
	struct nvme_bare_job j = {.opc = opc,
				  .nsid = sc->ns[0].nsid,
				  .lba_bytes = sc->ns[0].lba_bytes,
				  .nsze = sc->ns[0].nsze,
				  .len = len,
				  .random = random,
				  .qd = qd,
				  .n = n};
	return nvme_broker_bare_run(sc->broker, sc->owner, &j);
}

struct bench_row {
	const char *name;
	uint8_t opc;
	bool random;
	uint32_t len;	  /* 0: the maximum transfer */
	unsigned qd, div; /* commands: nvme.bench_ops / div */
	bool irq;	  /* also interrupt-driven */
};

static const struct bench_row bench_rows[] = {
    {"randread4k_qd1", NVME_IO_READ, true, 4096, 1, 1, true},
    {"randread4k_qd32", NVME_IO_READ, true, 4096, 32, 1, true},
    {"seqread128k", NVME_IO_READ, false, 128 * 1024, 1, 16, true},
    {"seqwrite128k", NVME_IO_WRITE, false, 128 * 1024, 1, 16, true},
    {"readmdts", NVME_IO_READ, false, 0, 1, 32, false},
    {"writemdts", NVME_IO_WRITE, false, 0, 1, 32, false},
};

/* one line per row and path: IOPS and KiB/s, the best of
 * NVME_BENCH_ROUNDS interleaved rounds (the order turned each round), so a
 * stall of the shared host hits every path alike */
CMDLINE_KEY(nvme_bench_rounds, "nvme.bench_rounds",
	    "nvme-bench: rounds per row (proof image)");
CMDLINE_KEY(nvme_bench_ops, "nvme.bench_ops",
	    "nvme-bench: I/Os per path of a row, over its rounds (proof "
	    "image)");
CMDLINE_KEY(nvme_bench_rows, "nvme.bench_rows",
	    "nvme-bench: the rows to run, comma-separated (proof image)");
#define NVME_BENCH_ROUNDS 3
/* nvme.bench_rounds overrides it (a shared, busy host wants more); read
 * once a run, so a bad number is said once */
#define NVME_BENCH_ROUNDS_MAX 16
static unsigned bench_rounds(void)
{
	uint64_t r = cmdline_u64("nvme.bench_rounds", NVME_BENCH_ROUNDS);
	return (unsigned)MIN(MAX(r, 1ull), (uint64_t)NVME_BENCH_ROUNDS_MAX);
}

static bool bench_row_run(struct nvme_softc *sc, const struct bench_row *r,
			  unsigned ops, unsigned rounds)
{
	uint32_t len = r->len ? r->len : sc->max_xfer;
	unsigned n = MAX(ops / r->div / rounds, 8u);
	uint64_t hz = time_tsc_hz(), best[4] = {0}, fallbacks = 0, waits = 0;
	bool ok = true, irq = r->irq && sc->use_irq && sc->ioq[0].irq_bound;
	bool shapes = dma_owner_translated(sc->owner);
	bool checks = nvme_broker_addr_checks(sc->broker, sc->owner);
	for (unsigned round = 0; round < rounds; round++)
		/* the order turns each round: a path run right after the bare
		 * loop measured up to a third faster than the same path run
		 * after the interrupt-driven one (QEMU's device and IOMMU
		 * state carry over), so no path keeps one place */
		for (int k = 0; k <= BENCH_POLL_NOCHK; k++) {
			int p = (int)((k + round) % (BENCH_POLL_NOCHK + 1));
			if ((p == BENCH_IRQ && !irq) ||
			    (p == BENCH_POLL_NOCHK && !shapes))
				continue;
			/* between rounds the queues are idle: the shape may
			 * change (each command keeps the pins it took) */
			nvme_broker_bench_shape(sc->broker, sc->owner,
						p == BENCH_POLL_NOCHK ? false
								      : checks);
			uint64_t cyc =
			    p == BENCH_BARE
				? bench_bare(sc, r->opc, r->random, len, r->qd,
					     n)
				: bench_stack(sc, r->opc, r->random, len, r->qd,
					      n, p == BENCH_IRQ, false);
			ok &= cyc != 0;
			if (cyc && (!best[p] || cyc < best[p]))
				best[p] = cyc;
			if (p == BENCH_IRQ) {
				waits += bench_irq_waits;
				fallbacks += bench_irq_lost;
			}
		}
	nvme_broker_bench_shape(sc->broker, sc->owner, checks);
	for (int p = BENCH_BARE; p <= BENCH_POLL_NOCHK; p++) {
		if ((p == BENCH_IRQ && !irq) ||
		    (p == BENCH_POLL_NOCHK && !shapes))
			continue;
		uint64_t iops = best[p] ? (uint64_t)n * hz / best[p] : 0;
		kprintf("BENCH nvme row=%s path=%s len=%u qd=%u ops=%u "
			"rounds=%u iops=%llu kib_per_s=%llu cycles_per_io=%llu",
			r->name, bench_path_name[p], len, r->qd, n, rounds,
			(unsigned long long)iops,
			(unsigned long long)(iops * len / 1024),
			(unsigned long long)(best[p] / n));
		if (p == BENCH_IRQ)
			kprintf(" irq_waits=%llu irq_fallbacks=%llu",
				(unsigned long long)waits,
				(unsigned long long)fallbacks);
		kprintf("\n");
	}
	return ok;
}

/* the profiled pass: where a polled 4 KiB random read's cycles go */
static bool bench_breakdown(struct nvme_softc *sc, unsigned qd, unsigned n)
{
	struct nvme_broker_prof *pf = nvme_broker_prof(sc->broker, sc->owner);
	uint64_t bare = bench_bare(sc, NVME_IO_READ, true, 4096, qd, n);
	memset(pf, 0, sizeof(*pf));
	pf->on = true;
	uint64_t w =
	    bench_stack(sc, NVME_IO_READ, true, 4096, qd, n, false, true);
	pf->on = false;
	if (!w || !bare)
		return false;
	uint64_t sub = bench_cur->submit_tsc, wait = bench_wait_tsc;
	uint64_t val = pf->ring - MIN(pf->ring, pf->db_sq);
	uint64_t db = pf->db_sq + pf->db_cq;
	uint64_t used = sub + pf->ring + pf->db_cq + wait;
	uint64_t reap = w - MIN(w, used);
	kprintf("BENCH nvme breakdown qd=%u ops=%u submit=%llu validate=%llu "
		"doorbell=%llu wait=%llu reap=%llu total=%llu bare=%llu "
		"gate_reap=%llu head=%llu sq_doorbells_per_kio=%llu "
		"cq_doorbells_per_kio=%llu\n",
		qd, n, (unsigned long long)(sub / n),
		(unsigned long long)(val / n), (unsigned long long)(db / n),
		(unsigned long long)(wait / n), (unsigned long long)(reap / n),
		(unsigned long long)(w / n), (unsigned long long)(bare / n),
		(unsigned long long)(pf->reap / n),
		(unsigned long long)(pf->head / n),
		(unsigned long long)(pf->db_sq_n * 1000 / n),
		(unsigned long long)(pf->db_cq_n * 1000 / n));
	return true;
}

/* The gate's own CPU work per command in each shape under the IOMMU:
 * TSC cycles in the gate's ring call (validate, pin and copy; the SQ
 * doorbell write taken out), polled 4 KiB random reads at qd, the shapes
 * alternated, the least of each — a finer measure than IOPS on a shared
 * host. */
#define BENCH_SHAPE_PASSES 6
static bool bench_shape_cycles(struct nvme_softc *sc, unsigned qd, unsigned n)
{
	struct nvme_broker_prof *pf = nvme_broker_prof(sc->broker, sc->owner);
	bool checks = nvme_broker_addr_checks(sc->broker, sc->owner);
	uint64_t best[2] = {0};
	for (unsigned k = 0; k < 2 * BENCH_SHAPE_PASSES; k++) {
		bool on = k & 1;
		nvme_broker_bench_shape(sc->broker, sc->owner, on);
		memset(pf, 0, sizeof(*pf));
		pf->on = true;
		uint64_t w = bench_stack(sc, NVME_IO_READ, true, 4096, qd, n,
					 false, true);
		pf->on = false;
		if (!w)
			return false;
		/* reap time also counts empty polls while the device works:
		 * only the ring side, where the shapes differ, is compared */
		uint64_t gate = pf->ring - MIN(pf->ring, pf->db_sq);
		uint64_t per = gate / n;
		if (!best[on] || per < best[on])
			best[on] = per;
	}
	nvme_broker_bench_shape(sc->broker, sc->owner, checks);
	kprintf("BENCH nvme shape_cycles qd=%u ops=%u checks_on=%llu "
		"checks_off=%llu\n",
		qd, n, (unsigned long long)best[1],
		(unsigned long long)best[0]);
	return true;
}

/* nvme.bench_rows=a,b runs only those rows and no breakdown (a shorter
 * boot for tests/bench/iommu.py); bench_rows_bad checks every name first */
static bool bench_row_wanted(const char *rows, const char *name)
{
	size_t l = strlen(name);
	for (const char *p = rows; p && *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == l && !strncmp(p, name, l))
			return true;
		p = e ? e + 1 : 0;
	}
	return false;
}

/* true when rows is empty or one of its names is no row: the bench fails
 * then, rather than measuring less than asked and passing */
static bool bench_rows_bad(const char *rows)
{
	if (!*rows)
		return true;
	for (const char *p = rows;;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		bool known = false;
		for (unsigned i = 0; i < ARRAY_SIZE(bench_rows); i++)
			known |= strlen(bench_rows[i].name) == n &&
				 !strncmp(p, bench_rows[i].name, n);
		if (!known)
			return true;
		if (!e)
			return false;
		p = e + 1;
	}
}

static void proof_nvme_bench(void)
{
	struct nvme_softc *sc = proof_sc("nvme-bench");
	if (!sc)
		return;
	nvme_proof_fence(sc, NVME_FENCE_BENCH);
	unsigned n = (unsigned)cmdline_u64("nvme.bench_ops", 4000);
	unsigned rounds = bench_rounds();
	const char *rows = cmdline_get("nvme.bench_rows");
	if (rows && bench_rows_bad(rows)) {
		proof_result("nvme-bench", false,
			     "reason=no-such-row nvme.bench_rows=%s", rows);
		return;
	}
#ifdef CAPOS_NVME_VALIDATOR_OFF
	const char *val = "off";
#else
	const char *val = "on";
#endif
	if (nvme_broker_bare_open(sc->broker, sc->owner) != 0) {
		proof_result("nvme-bench", false, "reason=no-bare-queue-pair");
		return;
	}
	bool ok = true;
	for (unsigned i = 0; i < ARRAY_SIZE(bench_rows); i++)
		if (!rows || bench_row_wanted(rows, bench_rows[i].name))
			ok &= bench_row_run(sc, &bench_rows[i], n, rounds);
	if (!rows) {
		ok &= bench_breakdown(sc, 1, n / 2);
		ok &= bench_breakdown(sc, 32, n / 2);
	}
	if (dma_owner_translated(sc->owner)) {
		ok &= bench_shape_cycles(sc, 1, n / 8);
		ok &= bench_shape_cycles(sc, 32, n / 8);
	}
	nvme_broker_bare_close(sc->broker, sc->owner);
	size_t shadow =
	    nvme_broker_shadow_bytes(sc->broker, sc->owner, sc->ioq[0].id);
	kprintf("BENCH nvme shadow_bytes_per_qpair=%zu queue_entries=%u "
		"ioq=%u validator=%s address_checks=%s\n",
		shadow, sc->ioq[0].entries, sc->nioq, val,
		nvme_broker_addr_checks(sc->broker, sc->owner) ? "on" : "off");
	proof_result("nvme-bench", ok && shadow,
		     "validator=%s ops=%u shadow_bytes_per_qpair=%zu", val, n,
		     shadow);
}
PROOF_REGISTER("nvme-bench", proof_nvme_bench, 46);
