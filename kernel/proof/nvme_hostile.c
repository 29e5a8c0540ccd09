/* kernel/proof/nvme_hostile.c — the nvme-hostile proof: hostile commands,
 * one per vector file, submitted through the driver's own queues; each must
 * come back as the gate's rejection (SCT 7, SC 0xC0) with the verdict the
 * vector names, the verdict counter must move by one, and canary pages
 * (kernel memory never granted to the driver) must be unchanged.
 *
 * Vectors are data: every file \capos\nvme-*.vec on the boot volume (copied
 * there from tests/qemu/nvme_vectors/) is one vector, read at run time with
 * bootfs_at, so a new vector needs no rebuild. Format:
 * tests/qemu/nvme_vectors/README.md. */
#include "dma/nvme_reg.h"
#include "kernel/authority/authority.h"
#include "kernel/boot/boot.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/proof/nvme_proof.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

#define VEC_MAX_KV   24
#define VEC_LIST_MAX 16
/* the x86 MSI window: a device write there is an interrupt */
#define VEC_MSI_BASE 0xfee00000ull

struct vec_kv {
	char key[16];
	char val[160];
};

struct vec {
	const char *name;
	unsigned nkv;
	struct vec_kv kv[VEC_MAX_KV];
};

/* what expressions may name */
struct vec_env {
	struct nvme_softc *sc;
	uint64_t canary, pool, plist, revoked;
	uint64_t poolend;   /* first byte past the driver's DMA pool */
	uint64_t bar0;	    /* the controller's register page */
	uint32_t ungranted; /* lowest NSID the broker did not grant */
	uint32_t list_off;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

/* "key = value" lines, '#' comments. false (with an error line) when a
 * line is malformed or there are too many keys. */
static bool vec_parse(struct vec *v, const char *name, const char *data,
		      size_t len)
{
	const char *p = data, *end = data + len;
	v->name = name;
	v->nkv = 0;
	while (p < end) {
		const char *nl = p;
		while (nl < end && *nl != '\n')
			nl++;
		const char *s = p, *e = nl;
		for (const char *h = s; h < e; h++)
			if (*h == '#') {
				e = h;
				break;
			}
		p = nl < end ? nl + 1 : end;
		trim(&s, &e);
		if (s == e)
			continue;
		const char *eq = s;
		while (eq < e && *eq != '=')
			eq++;
		const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
		if (eq == e)
			goto bad;
		trim(&ks, &ke);
		trim(&vs, &ve);
		if (ks == ke || vs >= ve || v->nkv == VEC_MAX_KV ||
		    (size_t)(ke - ks) >= sizeof(v->kv[0].key) ||
		    (size_t)(ve - vs) >= sizeof(v->kv[0].val))
			goto bad;
		struct vec_kv *kv = &v->kv[v->nkv++];
		memcpy(kv->key, ks, (size_t)(ke - ks));
		kv->key[ke - ks] = 0;
		memcpy(kv->val, vs, (size_t)(ve - vs));
		kv->val[ve - vs] = 0;
		continue;
	bad:
		kprintf("nvme-hostile: %s: unable to parse line \"%.*s\"\n",
			name, (int)(e - s), s);
		return false;
	}
	return true;
}

static const char *vec_get(const struct vec *v, const char *key)
{
	for (unsigned i = 0; i < v->nkv; i++)
		if (!strcmp(v->kv[i].key, key))
			return v->kv[i].val;
	return 0;
}

/* one term: a number or a name the environment defines */
static bool vec_term(const struct vec_env *env, const char *s, size_t n,
		     uint64_t *out)
{
	struct nvme_softc *sc = env->sc;
	struct {
		const char *name;
		uint64_t val;
	} names[] = {
	    {"canary", env->canary},
	    {"pool", env->pool},
	    {"list", env->plist + env->list_off},
	    {"listpage", env->plist},
	    {"revoked", env->revoked},
	    {"ns", sc->ns[0].nsid},
	    {"bs", sc->ns[0].lba_bytes},
	    {"maxblocks", sc->max_xfer / sc->ns[0].lba_bytes},
	    {"pageblocks", PAGE_SIZE / sc->ns[0].lba_bytes},
	    {"entries", sc->ioq[0].entries},
	    {"qfree", sc->nioq + 1u},
	    {"cq1", 1},
	    {"ungranted", env->ungranted},
	    {"poolend", env->poolend},
	    {"bar0", env->bar0},
	    {"doorbells", env->bar0 + NVME_REG_DBS},
	    {"msi", VEC_MSI_BASE},
	    {"vectors", sc->pci->msix_size},
	};
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i].name) == n &&
		    !strncmp(names[i].name, s, n)) {
			*out = names[i].val;
			return true;
		}
	return parse_u64(s, n, out);
}

/* term (('+'|'-') term)*, wrapping modulo 2^64 on purpose: vectors name
 * addresses near the top of the address space */
static bool vec_expr(const struct vec_env *env, const char *s, size_t n,
		     uint64_t *out)
{
	uint64_t acc = 0;
	char op = '+';
	const char *e = s + n;
	while (s < e) {
		const char *t = s;
		while (t < e && *t != '+' && *t != '-')
			t++;
		const char *ts = s, *te = t;
		trim(&ts, &te);
		uint64_t v;
		if (ts == te || !vec_term(env, ts, (size_t)(te - ts), &v))
			return false;
		acc = op == '+' ? acc + v : acc - v;
		if (t < e)
			op = *t++;
		s = t;
	}
	*out = acc;
	return true;
}

static bool vec_num(const struct vec *v, const struct vec_env *env,
		    const char *key, uint64_t def, uint64_t *out)
{
	const char *s = vec_get(v, key);
	if (!s) {
		*out = def;
		return true;
	}
	if (vec_expr(env, s, strlen(s), out))
		return true;
	kprintf("nvme-hostile: %s: unable to evaluate %s = %s\n", v->name, key,
		s);
	return false;
}

static const char *const vec_keys[] = {
    "expect", "queue", "opc",  "fuse",	"psdt",	    "nsid",  "cdw2",  "cdw3",
    "mptr",   "prp1",  "prp2", "cdw10", "cdw11",    "cdw12", "cdw13", "cdw14",
    "cdw15",  "slba",  "nlb",  "list",	"list_off", "qid",   "value", "what",
};

static bool vec_keys_known(const struct vec *v)
{
	for (unsigned i = 0; i < v->nkv; i++) {
		bool ok = false;
		for (unsigned k = 0; k < ARRAY_SIZE(vec_keys); k++)
			ok |= !strcmp(v->kv[i].key, vec_keys[k]);
		if (!ok) {
			kprintf("nvme-hostile: %s: unknown key %s\n", v->name,
				v->kv[i].key);
			return false;
		}
	}
	return true;
}

static int verdict_by_name(const char *s)
{
	for (unsigned i = 0; s && i < NVME_V_NREASONS; i++)
		if (!strcmp(nvme_verdict_name((enum nvme_verdict)i), s))
			return (int)i;
	return -1;
}

/* the command a vector describes */
static bool vec_command(const struct vec *v, struct vec_env *env,
			struct nvme_sqe *c)
{
	uint64_t opc, fuse, psdt, x, slba, nlb;
	static const char *const dw[] = {"cdw10", "cdw11", "cdw12",
					 "cdw13", "cdw14", "cdw15"};
	memset(c, 0, sizeof(*c));
	if (!vec_num(v, env, "list_off", 0, &x) || x > PAGE_SIZE - 8 || (x & 7))
		return false;
	env->list_off = (uint32_t)x;
	if (!vec_num(v, env, "opc", ~0ull, &opc) || opc > 0xff ||
	    !vec_num(v, env, "fuse", 0, &fuse) || fuse > 3 ||
	    !vec_num(v, env, "psdt", 0, &psdt) || psdt > 3)
		return false;
	c->cdw0 = (uint32_t)(FIELD_SET(NVME_CDW0_OPC, opc) |
			     FIELD_SET(NVME_CDW0_FUSE, fuse) |
			     FIELD_SET(NVME_CDW0_PSDT, psdt));
	if (!vec_num(v, env, "nsid", 0, &x))
		return false;
	c->nsid = (uint32_t)x;
	if (!vec_num(v, env, "cdw2", 0, &x))
		return false;
	c->cdw2 = (uint32_t)x;
	if (!vec_num(v, env, "cdw3", 0, &x))
		return false;
	c->cdw3 = (uint32_t)x;
	if (!vec_num(v, env, "mptr", 0, &c->mptr) ||
	    !vec_num(v, env, "prp1", 0, &c->prp1) ||
	    !vec_num(v, env, "prp2", 0, &c->prp2))
		return false;
	uint32_t *d = &c->cdw10;
	for (unsigned i = 0; i < ARRAY_SIZE(dw); i++) {
		if (!vec_num(v, env, dw[i], 0, &x))
			return false;
		d[i] = (uint32_t)x;
	}
	/* conveniences for Read/Write: SLBA and a 1-based block count */
	if (vec_get(v, "slba")) {
		if (!vec_num(v, env, "slba", 0, &slba))
			return false;
		c->cdw10 = (uint32_t)slba;
		c->cdw11 = (uint32_t)(slba >> 32);
	}
	if (vec_get(v, "nlb")) {
		if (!vec_num(v, env, "nlb", 1, &nlb) || nlb == 0 ||
		    nlb > 0x10000)
			return false;
		c->cdw12 = (c->cdw12 & ~NVME_RW_NLB_MASK) |
			   (uint32_t)FIELD_SET(NVME_RW_NLB, nlb - 1);
	}
	return opc != ~0ull;
}

/* the PRP list entries a vector writes into the list page */
static bool vec_list(const struct vec *v, struct vec_env *env)
{
	const char *s = vec_get(v, "list");
	if (!s)
		return true;
	uint64_t *l = (uint64_t *)(env->plist + env->list_off);
	unsigned n = 0, room = (PAGE_SIZE * 2 - env->list_off) / 8;
	while (*s) {
		const char *c = s;
		while (*c && *c != ',')
			c++;
		uint64_t x;
		if (n == room || n == VEC_LIST_MAX ||
		    !vec_expr(env, s, (size_t)(c - s), &x)) {
			kprintf("nvme-hostile: %s: unable to build list entry "
				"%u\n",
				v->name, n);
			return false;
		}
		l[n++] = x;
		s = *c ? c + 1 : c;
	}
	return true;
}

struct vec_result {
	bool ok;
	int want, got; /* verdicts; got -1: not rejected */
	uint16_t sct, sc;
};

/* queue = io | admin: a command through the driver's engine */
static void vec_run_cmd(const struct vec *v, struct vec_env *env,
			struct nvme_queue *q, struct vec_result *r)
{
	struct nvme_softc *sc = env->sc;
	struct nvme_ccb *ccb = nvme_ccb_get(q);
	if (!ccb || !vec_command(v, env, &ccb->cmd) || !vec_list(v, env)) {
		if (ccb)
			nvme_ccb_put(ccb);
		kprintf("nvme-hostile: %s: unable to build command\n", v->name);
		return;
	}
	if (nvme_submit(sc, q, ccb, nvme_fill_cmd, nvme_done_sync) != 0) {
		nvme_ccb_put(ccb);
		return;
	}
	(void)nvme_wait(sc, q, ccb, NVME_ADMIN_TIMEOUT_US);
	uint32_t why;
	r->sct = nvme_cqe_sct(&ccb->cqe);
	r->sc = nvme_cqe_sc(&ccb->cqe);
	if (nvme_cqe_rejected(&ccb->cqe, &why))
		r->got = (int)why;
	nvme_ccb_put(ccb);
}

/* queue = ring | cqhead: a doorbell value the gate must refuse */
static void vec_run_ring(const struct vec *v, struct vec_env *env, bool cq,
			 struct vec_result *r)
{
	uint64_t qid, val;
	if (!vec_num(v, env, "qid", 1, &qid) || qid > 0xffff ||
	    !vec_num(v, env, "value", 0, &val) || val > 0xffff) {
		kprintf("nvme-hostile: %s: unable to read qid/value\n",
			v->name);
		return;
	}
	const struct nvme_val_stats *st = nvme_broker_stats(env->sc->broker);
	struct nvme_val_stats before = *st;
	int rc = cq ? nvme_broker_cq_head(env->sc->broker, (uint16_t)qid,
					  (uint16_t)val)
		    : nvme_broker_sq_ring(env->sc->broker, (uint16_t)qid,
					  (uint16_t)val);
	if (rc >= 0)
		return;
	for (unsigned i = 0; i < NVME_V_NREASONS; i++)
		if (st->n[i] == before.n[i] + 1)
			r->got = (int)i;
}

static bool vec_run(const struct vec *v, struct vec_env *env,
		    struct vec_result *r)
{
	struct nvme_softc *sc = env->sc;
	const char *queue = vec_get(v, "queue");
	memset(r, 0, sizeof(*r));
	r->got = -1;
	r->want = verdict_by_name(vec_get(v, "expect"));
	if (!vec_keys_known(v) || r->want <= 0 || !queue) {
		kprintf("nvme-hostile: %s: unable to use vector (needs queue "
			"and a rejecting expect)\n",
			v->name);
		return false;
	}
	const struct nvme_val_stats *st = nvme_broker_stats(sc->broker);
	struct nvme_val_stats before = *st;
	if (!strcmp(queue, "io"))
		vec_run_cmd(v, env, &sc->ioq[0], r);
	else if (!strcmp(queue, "admin"))
		vec_run_cmd(v, env, &sc->admin, r);
	else if (!strcmp(queue, "ring") || !strcmp(queue, "cqhead"))
		vec_run_ring(v, env, queue[0] == 'c', r);
	else
		kprintf("nvme-hostile: %s: unknown queue %s\n", v->name, queue);
	/* exactly one verdict moved, the expected one, and nothing was
	 * accepted meanwhile */
	bool counted = st->n[r->want] == before.n[r->want] + 1 &&
		       st->n[NVME_V_ACCEPT] == before.n[NVME_V_ACCEPT];
	r->ok = r->got == r->want && counted;
	return true;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	if (a < b)
		return false;
	for (size_t i = 0; i < b; i++) {
		char c = s[a - b + i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != suf[i])
			return false;
	}
	return true;
}

static bool is_vector_file(const char *name)
{
	return (!strncmp(name, "nvme-", 5) || !strncmp(name, "NVME-", 5)) &&
	       has_suffix(name, ".vec");
}

static uint64_t revoked_pattern(uint64_t off)
{
	return 0x5e7043d0000000ull | off;
}

/* the lowest namespace id the broker did not grant the driver (its grants
 * are in ascending order) */
static uint32_t ungranted_nsid(const struct nvme_broker *b)
{
	uint32_t nsid = 1;
	for (unsigned i = 0; i < nvme_broker_nns(b); i++)
		if (nvme_broker_ns(b, i)->nsid == nsid)
			nsid++;
		else if (nvme_broker_ns(b, i)->nsid > nsid)
			break;
	return nsid;
}

static void proof_nvme_hostile(void)
{
	static struct vec v;
	struct nvme_softc *sc = nvme_first();
	if (!sc || !sc->nns || !sc->nioq) {
		proof_result("nvme-hostile", false,
			     "reason=no-nvme-controller");
		return;
	}
	struct vec_env env = {.sc = sc};
	struct dma_buf pool;
	struct dma_pool gone;
	env.canary = nvme_canary_get();
	if (!env.canary || nvme_buf_get(sc, 6 * PAGE_SIZE, &pool) ||
	    dma_pool_create(sc->owner, 2 * PAGE_SIZE, 0, &gone)) {
		proof_result("nvme-hostile", false, "reason=no-memory");
		return;
	}
	env.pool = pool.iova;
	env.plist = pool.iova + 4 * PAGE_SIZE;
	env.poolend = sc->pool.iova + sc->pool.len;
	env.bar0 = sc->pci->bar[0].base;
	env.ungranted = ungranted_nsid(sc->broker);
	/* the vectors' boundaries must really be foreign to the driver */
	bool bounds_foreign = !dma_owner_covers(sc->owner, env.poolend, 1) &&
			      !dma_owner_covers(sc->owner, env.bar0, 1) &&
			      !dma_owner_covers(sc->owner, VEC_MSI_BASE, 1);
	/* the ungranted namespace's settings, read by the kernel itself
	 * before and after (absent: no such active namespace) */
	uint32_t er0 = 0, er1 = 0;
	bool er_ok = nvme_broker_get_feature(sc->broker, NVME_FID_ERR_RECOVERY,
					     env.ungranted, &er0) == 0;
	/* a grant the driver held and lost: named afterwards, it must be as
	 * foreign as any other memory */
	env.revoked = gone.iova;
	uint64_t *rp = (uint64_t *)gone.va;
	for (unsigned i = 0; i < 2 * PAGE_SIZE / 8; i++)
		rp[i] = revoked_pattern(i);
	dma_pool_revoke(&gone);
	nvme_canary_fill();

	nvme_proof_fence(sc, NVME_FENCE_HOSTILE_BEGIN);
	unsigned nvec = 0, npass = 0, nbad = 0;
	uint64_t classes = 0;
	const char *name;
	const void *data;
	size_t len;
	for (unsigned i = 0; bootfs_at(i, &name, &data, &len); i++) {
		if (!is_vector_file(name))
			continue;
		nvec++;
		struct vec_result r = {.got = -1};
		bool parsed =
		    vec_parse(&v, name, data, len) && vec_run(&v, &env, &r);
		if (!parsed)
			nbad++;
		npass += r.ok;
		if (r.ok)
			classes |= 1ull << r.want;
		kprintf("NVME_VECTOR file=%s expect=%s got=%s sct=%u sc=0x%x "
			"ok=%d\n",
			name, r.want > 0 ? nvme_verdict_name(r.want) : "?",
			r.got >= 0 ? nvme_verdict_name(r.got) : "not-rejected",
			r.sct, r.sc, r.ok);
	}
	nvme_proof_fence(sc, NVME_FENCE_HOSTILE_END);

	bool er_same =
	    !er_ok ||
	    (nvme_broker_get_feature(sc->broker, NVME_FID_ERR_RECOVERY,
				     env.ungranted, &er1) == 0 &&
	     er1 == er0);
	uint64_t cbad = nvme_canary_check(), rbad = 0;
	for (unsigned i = 0; i < 2 * PAGE_SIZE / 8; i++)
		rbad += rp[i] != revoked_pattern(i);
	/* the queues still work after all that */
	struct nvme_io rd = {.opc = NVME_IO_READ,
			     .nsid = sc->ns[0].nsid,
			     .nlb = 1,
			     .iova = pool.iova,
			     .len = sc->ns[0].lba_bytes};
	bool alive = nvme_io_sync(sc, &sc->ioq[0], &rd, 0) == 0 && !sc->resets;
	nvme_buf_put(sc, &pool);
	nvme_dump(sc); /* queues, counters and the gate's verdicts */
	unsigned nclasses = 0;
	for (; classes; classes &= classes - 1)
		nclasses++;
	/* the doorbell page (and every other register) is never the
	 * driver's: a window over it is refused, so the gate cannot be
	 * bypassed by ringing the device directly */
	struct dev_mmio db;
	bool db_refused = mmio_grant(sc->pci, sc->owner, 0, 0x1000, 0x1000,
				     MMIO_READ | MMIO_WRITE, &db) != 0;
	unsigned lost = bootfs_lost();
	proof_result(
	    "nvme-hostile",
	    nvec >= 20 && npass == nvec && !nbad && !cbad && !rbad && alive &&
		db_refused && !lost && bounds_foreign && er_same,
	    "vectors=%u passed=%u malformed=%u verdict_classes=%u "
	    "boot_files_lost=%u canary=0x%llx canary_pages=%u canary_bad=%llu "
	    "revoked=0x%llx revoked_bad=%llu alive=%d doorbell_window=%s "
	    "poolend=0x%llx bar0=0x%llx msi=0x%llx bounds_foreign=%d "
	    "ungranted_ns=%u ungranted_errrec=%s ungranted_errrec_before=0x%x "
	    "ungranted_errrec_after=0x%x",
	    nvec, npass, nbad, nclasses, lost, (unsigned long long)env.canary,
	    NVME_CANARY_PAGES, (unsigned long long)cbad,
	    (unsigned long long)env.revoked, (unsigned long long)rbad, alive,
	    db_refused ? "refused" : "GRANTED", (unsigned long long)env.poolend,
	    (unsigned long long)env.bar0, VEC_MSI_BASE, bounds_foreign,
	    env.ungranted,
	    !er_ok    ? "absent"
	    : er_same ? "unchanged"
		      : "CHANGED",
	    er0, er1);
}
PROOF_REGISTER("nvme-hostile", proof_nvme_hostile, 42);
