/* kernel/proof/nvme_hostile.c — the nvme-hostile proof: hostile commands,
 * one per vector file, submitted through the driver's own queues; each must
 * come back as the gate's rejection (SCT 7, SC 0xC0) with the verdict the
 * vector names, the verdict counter must move by one, and canary pages
 * (kernel memory never granted to the driver) must be unchanged.
 *
 * Vectors are data: every file \capos\nvme-*.vec on the boot volume (copied
 * there from tests/qemu/nvme_vectors/) is one vector, read at run time with
 * bootfs_at, so a new vector needs no rebuild. Format:
 * tests/qemu/nvme_vectors/README.md.
 *
 * In the IOMMU shape (the gate's address checks off, nvme.addr_checks=off
 * under intel-iommu) the vectors whose rule is a device data address —
 * PRP1, PRP2, list entries, MPTR outside the grants — are not the gate's
 * to refuse: they run last, together, and reach the device, and the IOMMU
 * must block each (QEMU's vtd_dmar_fault is the witness; the canary and
 * the revoked pool's bytes stay). The fault then revokes the owner: its
 * pools are seized, the gate's queues dropped, every outstanding command is
 * answered and later I/O fails at once (iommu_phase). Every other vector is
 * still refused by the gate with its verdict. */
#include "dma/nvme_reg.h"
#include "kernel/authority/authority.h"
#include "kernel/boot/boot.h"
#include "kernel/cpu/cpu.h"
#include "kernel/iommu/iommu.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
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
	unsigned nlist; /* entries the last vec_list wrote */
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
	env->nlist = 0;
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
	env->nlist = n;
	return true;
}

struct vec_result {
	bool ok;
	int want, got;	/* verdicts; got -1: not rejected */
	unsigned moved; /* verdict counters that changed while it ran */
	uint16_t sct, sc;
	bool cmd, irq; /* a command the gate answered; its queue's interrupt
			* came while it ran */
};

/* the one verdict counter that rose from before to now, by exactly one,
 * every other unchanged (NVME_V_ACCEPT included); -1 when none changed,
 * more than one did, or one by other than one. *nmoved: how many changed */
static int verdict_moved(const struct nvme_val_stats *before,
			 const struct nvme_val_stats *now, unsigned *nmoved)
{
	int v = -1;
	*nmoved = 0;
	for (unsigned i = 0; i < NVME_V_NREASONS; i++) {
		if (now->n[i] == before->n[i])
			continue;
		(*nmoved)++;
		v = now->n[i] == before->n[i] + 1 ? (int)i : -1;
	}
	return *nmoved == 1 ? v : -1;
}

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
	uint64_t irqs = q->irqs;
	if (nvme_submit(sc, q, ccb, nvme_fill_cmd, 0) != 0) {
		nvme_ccb_put(ccb);
		return;
	}
	(void)nvme_wait(sc, q, ccb, NVME_ADMIN_TIMEOUT_US);
	uint32_t why;
	r->sct = nvme_cqe_sct(&ccb->cqe);
	r->sc = nvme_cqe_sc(&ccb->cqe);
	if (nvme_cqe_rejected(&ccb->cqe, &why)) {
		r->got = (int)why;
		/* the gate posted the refusal itself: the interrupt is the
		 * gate's (irq_raise), the device never saw the command */
		r->cmd = true;
		r->irq = q->irqs != irqs;
	}
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
	const struct nvme_val_stats *st =
	    nvme_broker_stats(env->sc->broker, env->sc->owner);
	struct nvme_val_stats before = *st;
	int rc = cq ? nvme_broker_cq_head(env->sc->broker, env->sc->owner,
					  (uint16_t)qid, (uint16_t)val)
		    : nvme_broker_sq_ring(env->sc->broker, env->sc->owner,
					  (uint16_t)qid, (uint16_t)val);
	if (rc >= 0)
		return;
	/* the gate's refusal shows only in its counters: it is the one that
	 * moved, alone and by one */
	r->got = verdict_moved(&before, st, &r->moved);
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
	const struct nvme_val_stats *st =
	    nvme_broker_stats(sc->broker, sc->owner);
	struct nvme_val_stats before = *st;
	if (!strcmp(queue, "io"))
		vec_run_cmd(v, env, &sc->ioq[0], r);
	else if (!strcmp(queue, "admin"))
		vec_run_cmd(v, env, &sc->admin, r);
	else if (!strcmp(queue, "ring") || !strcmp(queue, "cqhead"))
		vec_run_ring(v, env, queue[0] == 'c', r);
	else
		kprintf("nvme-hostile: %s: unknown queue %s\n", v->name, queue);
	/* exactly one verdict counter moved, by one, and it is the expected
	 * one (so nothing was accepted or refused otherwise meanwhile) */
	int moved = verdict_moved(&before, st, &r->moved);
	r->ok = r->got == r->want && moved == r->want;
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

/* ---- the IOMMU shape ------------------------------------------------------
 * verdicts of rules about addresses only the device dereferences */
static bool verdict_dev_addr(int v)
{
	return v == NVME_V_PRP1_OUT_OF_GRANT || v == NVME_V_PRP2_OUT_OF_GRANT ||
	       v == NVME_V_PRP_LIST_ENTRY_OUT_OF_GRANT ||
	       v == NVME_V_MPTR_OUT_OF_GRANT;
}

#define IOMMU_VEC_MAX	   32
#define IOMMU_VEC_TARGETS  4
#define IOMMU_PHASE_US	   500000 /* QEMU runs the commands meanwhile */
#define IOMMU_IO_AFTER_MAX 100000 /* later I/O must fail within this */

struct iommu_vec {
	const char *name;
	struct nvme_queue *q;
	struct nvme_ccb *ccb;
	uint64_t target[IOMMU_VEC_TARGETS]; /* pages outside the grants */
	unsigned ntarget;
	int gate; /* the gate's verdict when it refused, else -1 */
	bool device_done;
	/* every target lies in the controller's own BAR0: QEMU's model refuses
	 * such a transfer itself (an error completion) before any IOMMU */
	bool own_bar;
};

struct iommu_phase {
	unsigned n, sent, gate, device_done, answered, targetless;
	uint64_t faults;
	bool revoked, pools_gone, shadows_gone, recover_refused, io_refused;
	bool quarantine_enable_refused;
	uint64_t io_after_us;
};

/* the pages a built command names that the owner holds no grant for */
static void vec_targets(const struct vec_env *env, const struct nvme_sqe *c,
			struct iommu_vec *x)
{
	uint64_t a[3 + VEC_LIST_MAX];
	unsigned n = 0;
	a[n++] = c->prp1;
	a[n++] = c->prp2;
	a[n++] = c->mptr;
	const uint64_t *l = (const uint64_t *)(env->plist + env->list_off);
	for (unsigned i = 0; i < env->nlist; i++)
		a[n++] = l[i];
	const struct pci_dev *d = env->sc->pci;
	x->ntarget = 0;
	x->own_bar = true;
	for (unsigned i = 0; i < n && x->ntarget < IOMMU_VEC_TARGETS; i++) {
		uint64_t pg = a[i] & ~(uint64_t)(PAGE_SIZE - 1);
		if (!a[i] || dma_owner_covers(env->sc->owner, pg, 1))
			continue;
		x->target[x->ntarget++] = pg;
		x->own_bar &= pg >= d->bar[0].base &&
			      pg - d->bar[0].base < d->bar[0].size;
	}
	x->own_bar &= x->ntarget > 0;
}

/* submit one deferred vector without waiting */
static bool iommu_vec_send(const struct vec *v, struct vec_env *env,
			   struct iommu_vec *x)
{
	struct nvme_softc *sc = env->sc;
	const char *queue = vec_get(v, "queue");
	x->q = queue && !strcmp(queue, "admin") ? &sc->admin : &sc->ioq[0];
	x->gate = -1;
	x->ccb = nvme_ccb_get(x->q);
	if (!x->ccb || !vec_command(v, env, &x->ccb->cmd) ||
	    !vec_list(v, env)) {
		if (x->ccb)
			nvme_ccb_put(x->ccb);
		x->ccb = 0;
		return false;
	}
	vec_targets(env, &x->ccb->cmd, x);
	/* the gate copies the list now, at the ring: the next vector may
	 * rewrite the list page */
	if (nvme_submit(sc, x->q, x->ccb, nvme_fill_cmd, 0)) {
		nvme_ccb_put(x->ccb);
		x->ccb = 0;
		return false;
	}
	return true;
}

/* Every deferred vector goes out with the fault interrupt held off, so
 * each command meets the IOMMU before the first fault stops the device;
 * then the fault is taken, the safe point revokes the owner, and the
 * driver must get answers and errors, not hangs. */
static void iommu_phase(struct vec_env *env, struct vec *v,
			struct iommu_phase *ph)
{
	static struct iommu_vec xv[IOMMU_VEC_MAX];
	struct nvme_softc *sc = env->sc;
	const char *name;
	const void *data;
	size_t len;
	memset(ph, 0, sizeof(*ph));
	uint64_t f0 = iommu_fault_count(sc->owner, NULL);
	uint64_t flags = cpu_irq_save();
	for (unsigned i = 0; bootfs_at(i, &name, &data, &len); i++) {
		if (!is_vector_file(name) || !vec_parse(v, name, data, len) ||
		    !verdict_dev_addr(verdict_by_name(vec_get(v, "expect"))))
			continue;
		if (ph->n == IOMMU_VEC_MAX)
			break;
		struct iommu_vec *x = &xv[ph->n++];
		x->name = name;
		if (!iommu_vec_send(v, env, x))
			kprintf("nvme-hostile: %s: unable to send\n", name);
	}
	uint64_t end = time_now_us() + IOMMU_PHASE_US;
	while (time_now_us() < end)
		__asm__ volatile("pause");
	/* the gate's refusals (the interrupt window) and whatever the device
	 * completed, before anything is revoked */
	nvme_complete(sc, &sc->ioq[0]);
	nvme_complete(sc, &sc->admin);
	for (unsigned i = 0; i < ph->n; i++) {
		struct iommu_vec *x = &xv[i];
		uint32_t why;
		if (!x->ccb || x->ccb->state == NVME_CCB_INFLIGHT)
			continue;
		if (nvme_cqe_rejected(&x->ccb->cqe, &why))
			x->gate = (int)why;
		else
			x->device_done = true;
	}
	iommu_fault_poll();
	cpu_irq_restore(flags);
	ph->faults = iommu_fault_count(sc->owner, NULL) - f0;
	/* quarantined by the fault, not yet revoked (that waits for the safe
	 * point below): a driver that resets and re-enables its controller
	 * now is refused, and bus mastering stays off. The reset drops the
	 * gate's queues itself, so the revoke hook below finds none to drop;
	 * tests/host/nvme + test_owner_revoked revokes with them live */
	(void)nvme_broker_reset(sc->broker, sc->owner);
	ph->quarantine_enable_refused =
	    iommu_owner_quarantined(sc->owner) &&
	    nvme_broker_enable(sc->broker, sc->owner, &sc->admin.sq,
			       &sc->admin.cq, sc->admin.entries) != 0 &&
	    !(pci_cfg_read16(sc->pci, PCI_COMMAND) & PCI_COMMAND_MASTER);
	ph->revoked = auth_poll() == 1 && auth_owner_revoked(sc->owner);
	ph->pools_gone = !dma_pool_live(&sc->pool);
	ph->shadows_gone =
	    nvme_broker_shadow_bytes(sc->broker, sc->owner, 0) == 0 &&
	    nvme_broker_shadow_bytes(sc->broker, sc->owner, 1) == 0;
	/* the driver finds out: every command it had is answered, the
	 * controller does not come back */
	ph->recover_refused =
	    nvme_recover(sc, "owner revoked after a DMA fault") != 0;
	for (unsigned i = 0; i < ph->n; i++) {
		struct iommu_vec *x = &xv[i];
		bool answered = x->ccb && x->ccb->state != NVME_CCB_INFLIGHT;
		ph->answered += answered;
		ph->sent += x->ccb && x->gate < 0;
		ph->gate += x->gate >= 0;
		ph->device_done += x->device_done;
		ph->targetless += x->ccb && x->gate < 0 && !x->ntarget;
		kprintf("NVME_IOMMU_VECTOR file=%s sent=%u gate=%s "
			"device_done=%u sct=%u sc=0x%x own_bar=%u answered=%u "
			"targets=",
			x->name, x->ccb && x->gate < 0,
			x->gate >= 0 ? nvme_verdict_name(x->gate) : "-",
			x->device_done,
			x->device_done ? nvme_cqe_sct(&x->ccb->cqe) : 0,
			x->device_done ? nvme_cqe_sc(&x->ccb->cqe) : 0,
			x->own_bar, answered);
		for (unsigned k = 0; k < x->ntarget; k++)
			kprintf("%s0x%lx", k ? "," : "", x->target[k]);
		kprintf("\n");
		if (answered)
			nvme_ccb_put(x->ccb);
	}
	struct nvme_io rd = {.opc = NVME_IO_READ,
			     .nsid = sc->ns[0].nsid,
			     .nlb = 1,
			     .iova = env->pool,
			     .len = sc->ns[0].lba_bytes};
	uint64_t t0 = time_now_us();
	ph->io_refused = nvme_io_sync(sc, &sc->ioq[0], &rd, 0) != 0;
	ph->io_after_us = time_now_us() - t0;
}

static uint64_t revoked_pattern(uint64_t off)
{
	return 0x5e7043d0000000ull | off;
}

/* the lowest namespace id the broker did not grant the driver (its grants
 * are in ascending order) */
static uint32_t ungranted_nsid(const struct nvme_broker *b, uint16_t owner)
{
	uint32_t nsid = 1;
	for (unsigned i = 0; i < nvme_broker_nns(b, owner); i++)
		if (nvme_broker_ns(b, owner, i)->nsid == nsid)
			nsid++;
		else if (nvme_broker_ns(b, owner, i)->nsid > nsid)
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
	env.ungranted = ungranted_nsid(sc->broker, sc->owner);
	/* the vectors' boundaries must really be foreign to the driver */
	bool bounds_foreign = !dma_owner_covers(sc->owner, env.poolend, 1) &&
			      !dma_owner_covers(sc->owner, env.bar0, 1) &&
			      !dma_owner_covers(sc->owner, VEC_MSI_BASE, 1);
	/* the ungranted namespace's settings, read by the kernel itself
	 * before and after; either read failing fails the proof (the vectors
	 * need that namespace active: nvme_vectors/README.md) */
	uint32_t er0 = 0, er1 = 0, gf = 0;
	bool er_ok = nvme_broker_witness_feature(sc->broker, sc->owner,
						 NVME_FID_ERR_RECOVERY,
						 env.ungranted, &er0) == 0;
	/* the driver's own way to the kernel's Get Features stops at its
	 * grants: refused unsent */
	bool gf_refused = nvme_broker_get_feature(sc->broker, sc->owner,
						  NVME_FID_ERR_RECOVERY,
						  env.ungranted, &gf) != 0;
	/* a grant the driver held and lost: named afterwards, it must be as
	 * foreign as any other memory */
	env.revoked = gone.iova;
	uint64_t *rp = (uint64_t *)gone.va;
	for (unsigned i = 0; i < 2 * PAGE_SIZE / 8; i++)
		rp[i] = revoked_pattern(i);
	dma_pool_revoke(&gone);
	nvme_canary_fill();

	bool shape_iommu = !nvme_broker_addr_checks(sc->broker, sc->owner);
	nvme_proof_fence(sc, NVME_FENCE_HOSTILE_BEGIN);
	unsigned nvec = 0, npass = 0, nbad = 0, ndeferred = 0;
	unsigned ncmd = 0, ncmd_irq = 0; /* gate-answered commands; with irq */
	uint64_t classes = 0;
	const char *name;
	const void *data;
	size_t len;
	for (unsigned i = 0; bootfs_at(i, &name, &data, &len); i++) {
		if (!is_vector_file(name))
			continue;
		struct vec_result r = {.got = -1};
		bool parsed = vec_parse(&v, name, data, len);
		/* the IOMMU's to block: they run last (iommu_phase) */
		if (parsed && shape_iommu &&
		    verdict_dev_addr(verdict_by_name(vec_get(&v, "expect")))) {
			ndeferred++;
			continue;
		}
		nvec++;
		parsed = parsed && vec_run(&v, &env, &r);
		if (!parsed)
			nbad++;
		npass += r.ok;
		ncmd += r.cmd;
		ncmd_irq += r.irq;
		if (r.ok)
			classes |= 1ull << r.want;
		kprintf("NVME_VECTOR file=%s expect=%s got=%s sct=%u sc=0x%x "
			"moved=%u ok=%d\n",
			name, r.want > 0 ? nvme_verdict_name(r.want) : "?",
			r.got >= 0 ? nvme_verdict_name(r.got) : "not-rejected",
			r.sct, r.sc, r.moved, r.ok);
	}
	nvme_proof_fence(sc, NVME_FENCE_HOSTILE_END);

	bool er1_ok = nvme_broker_witness_feature(sc->broker, sc->owner,
						  NVME_FID_ERR_RECOVERY,
						  env.ungranted, &er1) == 0;
	bool er_same = er_ok && er1_ok && er1 == er0;
	/* the queues still work after all that */
	struct nvme_io rd = {.opc = NVME_IO_READ,
			     .nsid = sc->ns[0].nsid,
			     .nlb = 1,
			     .iova = pool.iova,
			     .len = sc->ns[0].lba_bytes};
	bool alive = nvme_io_sync(sc, &sc->ioq[0], &rd, 0) == 0 && !sc->resets;
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
	struct iommu_phase ph = {0};
	bool ph_ok = true;
	if (shape_iommu) {
		iommu_phase(&env, &v, &ph);
		/* each sent vector names memory outside the grants (the test
		 * finds QEMU's fault there); the five at the interrupt window
		 * stay the gate's */
		ph_ok = ph.n == ndeferred && ph.n >= 10 && ph.sent >= 10 &&
			ph.sent + ph.gate == ph.n && !ph.targetless &&
			ph.faults >= 1 && ph.revoked && ph.pools_gone &&
			ph.shadows_gone && ph.recover_refused &&
			ph.quarantine_enable_refused && ph.answered == ph.n &&
			ph.io_refused && ph.io_after_us < IOMMU_IO_AFTER_MAX;
	}
	uint64_t cbad = nvme_canary_check(), rbad = 0;
	for (unsigned i = 0; i < 2 * PAGE_SIZE / 8; i++)
		rbad += rp[i] != revoked_pattern(i);
	nvme_buf_put(sc, &pool);
	unsigned lost = bootfs_lost();
	proof_result(
	    "nvme-hostile",
	    nvec >= 20 && npass == nvec && !nbad && !cbad && !rbad && alive &&
		db_refused && !lost && bounds_foreign && er_same &&
		gf_refused && ph_ok &&
		(!sc->use_irq || (ncmd && ncmd_irq == ncmd)),
	    "vectors=%u passed=%u malformed=%u verdict_classes=%u "
	    "boot_files_lost=%u canary=0x%llx canary_pages=%u canary_bad=%llu "
	    "revoked=0x%llx revoked_bad=%llu alive=%d doorbell_window=%s "
	    "poolend=0x%llx bar0=0x%llx msi=0x%llx bounds_foreign=%d "
	    "ungranted_ns=%u ungranted_getfeat=%s ungranted_errrec=%s "
	    "ungranted_errrec_before=0x%x ungranted_errrec_after=0x%x "
	    "address_checks=%s deferred=%u "
	    "sent=%u gate_refused=%u device_done=%u faults=%llu "
	    "owner_revoked=%d pools_gone=%d shadows_gone=%d answered=%u "
	    "recover_refused=%d quarantine_enable_refused=%d io_after=%s "
	    "io_after_us=%llu refusals=%u refusal_irqs=%u",
	    nvec, npass, nbad, nclasses, lost, (unsigned long long)env.canary,
	    NVME_CANARY_PAGES, (unsigned long long)cbad,
	    (unsigned long long)env.revoked, (unsigned long long)rbad, alive,
	    db_refused ? "refused" : "GRANTED", (unsigned long long)env.poolend,
	    (unsigned long long)env.bar0, VEC_MSI_BASE, bounds_foreign,
	    env.ungranted, gf_refused ? "refused" : "READ",
	    !er_ok    ? "UNREAD-BEFORE"
	    : !er1_ok ? "UNREAD-AFTER"
	    : er_same ? "unchanged"
		      : "CHANGED",
	    er0, er1, shape_iommu ? "off" : "on", ndeferred, ph.sent, ph.gate,
	    ph.device_done, (unsigned long long)ph.faults, ph.revoked,
	    ph.pools_gone, ph.shadows_gone, ph.answered, ph.recover_refused,
	    ph.quarantine_enable_refused, ph.io_refused ? "refused" : "ok",
	    (unsigned long long)ph.io_after_us, ncmd, ncmd_irq);
}
PROOF_REGISTER("nvme-hostile", proof_nvme_hostile, 42);
