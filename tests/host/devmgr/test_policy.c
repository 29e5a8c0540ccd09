/* tests/host/devmgr/test_policy.c — the DMA-backend policy
 * (kernel/devmgr/policy.c) as devmgr_bind_all meets it, with the real
 * shape rules, SMBIOS parser and owner table: under each devmgr.dma mode
 * and command line, which driver is bound with which backend and which is
 * refused (docs/dma-isolation-design.md's policy), the DMA limit an
 * identify narrows the owner to, what happens past SHAPE_RECORDS
 * functions, and firmware's SMBIOS entry point as the
 * adversary. The policy reads its inputs once, on first use, into static
 * state, so each case runs in a child process of its own (in_child). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/authority/authority.h"
#include "kernel/devmgr/blockdev.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/devmgr/shape.h"
#include "kernel/devmgr/smbios.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "shim.h"
#include "tests/host/lib/status_render.h"

/* a why the policy hands back pointing into a frame that has returned is
 * a finding, not a lucky read */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_stack_use_after_return=1";
}

/* ---- the world one child sees ------------------------------------------- */
static const char *dma_opt; /* devmgr.dma=, NULL: absent */
static bool line_cut;	    /* cmdline_cut() */
static const char *iommu_table;
uint64_t boot_smbios;

/* firmware memory: the pages of fw are mapped, nothing else is */
static uint8_t fw[2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

uint64_t mm_pte(uint64_t va)
{
	return va >= (uint64_t)fw && va < (uint64_t)fw + sizeof(fw) ? MM_PTE_P
								    : 0;
}
bool mm_map_firmware(uint64_t phys, uint64_t len)
{
	(void)phys, (void)len;
	return false;
}
/* the pages the policy asked to map uncached; only LEGACY_OK "maps" */
#define LEGACY_OK 0xff000ull
static uint64_t mmio_asked[8];
static unsigned nmmio_asked;
void *mm_map_mmio(uint64_t phys, size_t len)
{
	(void)len;
	if (nmmio_asked < ARRAY_SIZE(mmio_asked))
		mmio_asked[nmmio_asked] = phys;
	nmmio_asked++;
	return phys == LEGACY_OK ? (void *)phys : NULL;
}
bool acpi_has_iommu(const char **which)
{
	*which = iommu_table;
	return iommu_table != NULL;
}
const char *cmdline_get(const char *key)
{
	return !strcmp(key, "devmgr.dma") ? dma_opt : NULL;
}
bool cmdline_cut(void)
{
	return line_cut;
}
void pci_addr_str(const struct pci_dev *d, char *buf, unsigned n)
{
	snprintf(buf, n, "%04x:%02x:%02x.%x", d->seg, d->bus, d->dev, d->fn);
}

#define NDEVS		   132 /* more than SHAPE_RECORDS (128, kernel/devmgr/policy.c) */
#define SHAPE_RECORDS_KEPT 128 /* SHAPE_RECORDS */
struct pci_dev pci_devs[NDEVS];
unsigned pci_ndevs;

/* ---- drivers: a NIC (unvalidated DMA), a brokered disk, one without DMA
 * that names its own state, and a function nothing matches --------------- */
#define DEV_NIC	     0x0010
#define DEV_DISK     0x0011
#define DEV_NODMA    0x0012
#define DEV_NOMATCH  0x0013
#define DEV_FAILS    0x0014 /* attach fails */
#define DEV_SAYS     0x0015 /* attach names its state, then fails */
#define DEV_BLK	     0x0016 /* attach registers a block device, then fails */
#define DEV_AMZ	     0x0017 /* identify says an Amazon model */
#define DEV_AMZ_POOL 0x0018 /* identify takes a pool, then says so */

static unsigned attached[4];
static int count_attach(struct pci_dev *d, uint16_t owner)
{
	(void)owner;
	attached[d->device - DEV_NIC]++;
	return 0;
}
static int nodma_attach(struct pci_dev *d, uint16_t owner)
{
	count_attach(d, owner);
	strlcpy(d->state, "link down", sizeof(d->state));
	return 0;
}

static struct blockdev failed_bd = {.name = "failed0n1", .block_size = 512};
static int failing_attach(struct pci_dev *d, uint16_t owner)
{
	(void)owner;
	if (d->device == DEV_SAYS)
		strlcpy(d->state, "reset timeout", sizeof(d->state));
	if (d->device == DEV_BLK)
		blockdev_register(&failed_bd);
	return -1;
}

static const struct pci_match nic_ids[] = {{0x1234, DEV_NIC, 0, 0}};
static const struct pci_match disk_ids[] = {{0x1234, DEV_DISK, 0, 0}};
static const struct pci_match nodma_ids[] = {{0x1234, DEV_NODMA, 0, 0}};
static const struct driver nic_drv = {.name = "nic",
				      .ids = nic_ids,
				      .nids = 1,
				      .dma = true,
				      .attach = count_attach};
static const struct driver disk_drv = {.name = "disk",
				       .ids = disk_ids,
				       .nids = 1,
				       .dma = true,
				       .validated = true,
				       .attach = count_attach};
static const struct driver nodma_drv = {
    .name = "nodma", .ids = nodma_ids, .nids = 1, .attach = nodma_attach};
static const struct pci_match fails_ids[] = {{0x1234, DEV_FAILS, 0, 0},
					     {0x1234, DEV_SAYS, 0, 0},
					     {0x1234, DEV_BLK, 0, 0}};
static const struct driver fails_drv = {
    .name = "fails", .ids = fails_ids, .nids = 3, .attach = failing_attach};

/* an identify whose model narrows the owner's DMA limit to
 * SHAPE_DMA_LIMIT_48; DEV_AMZ_POOL's first takes a pool, which the limit
 * cannot follow */
static struct dma_pool amz_pool;
static unsigned amz_attached;
static int amazon_identify(struct pci_dev *d, uint16_t owner,
			   struct dev_identity *out)
{
	if (d->device == DEV_AMZ_POOL &&
	    dma_pool_create(owner, PAGE_SIZE, 0, &amz_pool) != 0)
		return -1;
	strlcpy(out->model, "Amazon Elastic Block Store", sizeof(out->model));
	strlcpy(out->serial, "vol0", sizeof(out->serial));
	return 0;
}
static int amazon_attach(struct pci_dev *d, uint16_t owner)
{
	(void)d, (void)owner;
	amz_attached++;
	return 0;
}
static const struct pci_match amz_ids[] = {{0x1234, DEV_AMZ, 0, 0},
					   {0x1234, DEV_AMZ_POOL, 0, 0}};
static const struct driver amz_drv = {.name = "amz",
				      .ids = amz_ids,
				      .nids = 2,
				      .dma = true,
				      .identify = amazon_identify,
				      .attach = amazon_attach};
const struct driver *const devmgr_drivers[] = {&nic_drv, &disk_drv, &nodma_drv,
					       &fails_drv, &amz_drv};
const unsigned devmgr_ndrivers = ARRAY_SIZE(devmgr_drivers);

/* functions 0..n-1 with these device ids (class NVMe for the disk) */
static void devices(const uint16_t *ids, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct pci_dev *d = &pci_devs[i];
		memset(d, 0, sizeof(*d));
		d->bus = (uint8_t)(i >> 5);
		d->dev = (uint8_t)(i & 31);
		d->vendor = 0x1234;
		d->device = ids[i];
		d->class_code = ids[i] == DEV_DISK ? 0x010802 : 0x020000;
		strlcpy(d->state, "unbound", sizeof(d->state));
	}
	pci_ndevs = n;
}

/* the functions of ids bound under devmgr.dma=iommu, one VT-d unit (DMAR) */
static void bind_under_iommu(const uint16_t *ids, unsigned n)
{
	dma_opt = "iommu";
	iommu_table = "DMAR";
	devices(ids, n);
	devmgr_bind_all();
}

/* the four kinds, functions 0-3 */
static void bind_four(void)
{
	static const uint16_t ids[] = {DEV_NIC, DEV_DISK, DEV_NODMA,
				       DEV_NOMATCH};
	devices(ids, 4);
	devmgr_bind_all();
}

/* the lines the kernel printed, one after another (cut at LOG_MAX) */
#define LOG_MAX (1u << 17)
static char printed[LOG_MAX];
static size_t nprinted;
static void line_hook(const char *line)
{
	size_t n = strlen(line);
	if (nprinted + n + 2 > LOG_MAX)
		return;
	memcpy(printed + nprinted, line, n);
	nprinted += n;
	if (!n || line[n - 1] != '\n')
		printed[nprinted++] = '\n';
}

/* the printed lines holding s: how many; the first in *first */
static unsigned lines_with(const char *s, const char **first)
{
	static char buf[256];
	unsigned k = 0;
	buf[0] = 0;
	for (const char *l = printed; l < printed + nprinted;) {
		const char *e =
		    memchr(l, '\n', (size_t)(printed + nprinted - l));
		size_t n = (size_t)(e - l);
		char one[512];
		snprintf(one, sizeof(one), "%.*s", (int)n, l);
		if (strstr(one, s) && !k++)
			strlcpy(buf, one, sizeof(buf));
		l = e + 1;
	}
	if (first)
		*first = buf;
	return k;
}

/* /api/shape as the Web UI serves it */
static char doc[32768];
static const char *render_shape(void)
{
	const struct status_provider *p = status_find("shape");
	struct json j;
	SHIM_CHECK(p != NULL);
	json_init(&j, doc, sizeof(doc));
	p->fn(&j);
	int n = json_end(&j);
	SHIM_CHECK(n > 0 && json_valid(doc, (size_t)n));
	return doc;
}

/* fn in a child with a fresh policy; the case fails unless fn returns */
static void in_child(void (*fn)(void))
{
	shim_line_hook_fn was = shim_line_hook;
	shim_line_hook = line_hook; /* the child's lines, kept in printed */
	bool ok = shim_in_child(fn);
	shim_line_hook = was;
	assert_true(ok);
}

/* the backend the policy recorded for function i (NONE: none recorded) */
static enum dma_backend backend_of(unsigned i)
{
	struct shape_result r;
	enum dma_backend b;
	const char *why;
	if (!devmgr_shape_get(&pci_devs[i], &r, &b, &why))
		return DMA_BACKEND_NONE;
	return b;
}

/* ---- auto: the IOMMU first, else the validator, else unvalidated DMA
 * from the driver's own pools (docs/dma-isolation-design.md) ------------- */
static void auto_mode(void)
{
	bind_four();
	SHIM_CHECK(pci_devs[0].drv == &nic_drv && attached[0] == 1);
	SHIM_CHECK(backend_of(0) == DMA_BACKEND_UNVALIDATED);
	SHIM_CHECK(pci_devs[1].drv == &disk_drv && attached[1] == 1);
	SHIM_CHECK(backend_of(1) == DMA_BACKEND_VALIDATOR);
	SHIM_CHECK(strstr(render_shape(), "\"dma_mode\":\"auto\""));
	SHIM_CHECK(!strcmp(pci_devs[0].state, "running"));
	SHIM_CHECK(
	    lines_with("devmgr: 0000:00:00.0 nic: dma backend unvalidated (",
		       NULL) == 1);
	/* one line a function after binding, unbound ones too */
	SHIM_CHECK(lines_with("pci ", NULL) == 4);
	SHIM_CHECK(lines_with("pci 0000:00:00.0 1234:0010 class 020000 -> nic",
			      NULL) == 1);
	SHIM_CHECK(lines_with("pci 0000:00:03.0 1234:0013 class 020000 -> none",
			      NULL) == 1);
	/* one platform line, read once; no line about devmgr.dma, one
	 * about the SMBIOS firmware did not give */
	const char *l;
	SHIM_CHECK(lines_with("platform: ", &l) == 1 && strstr(l, " dma=auto"));
	SHIM_CHECK(lines_with("devmgr: devmgr.dma", NULL) == 0);
	SHIM_CHECK(
	    lines_with("devmgr: unable to read SMBIOS fully (firmware gave no "
		       "SMBIOS entry point)",
		       NULL) == 1);
}
static void test_auto_mode_unvalidated_nic_bound(void **st)
{
	(void)st;
	in_child(auto_mode);
}

/* ---- devmgr.dma=strict: unvalidated DMA is refused; the validator and a
 * driver without DMA are still bound -------------------------------------- */
static void strict_refuses(void)
{
	bind_four();
	SHIM_CHECK(pci_devs[0].drv == NULL && attached[0] == 0);
	SHIM_CHECK(!strcmp(pci_devs[0].state, "refused: no dma"));
	SHIM_CHECK(pci_devs[0].owner ==
		   0); /* nothing granted, nothing to take */
	SHIM_CHECK(pci_devs[1].drv == &disk_drv);
	SHIM_CHECK(backend_of(1) == DMA_BACKEND_VALIDATOR);
	SHIM_CHECK(pci_devs[2].drv == &nodma_drv);
	SHIM_CHECK(strstr(render_shape(), "\"dma_mode\":\"strict\""));
	const char *l;
	SHIM_CHECK(lines_with("platform: ", &l) == 1 &&
		   strstr(l, " dma=strict"));
}
static void strict_mode(void)
{
	dma_opt = "strict";
	strict_refuses();
}
static void test_strict_mode_refuses_unvalidated_dma(void **st)
{
	(void)st;
	in_child(strict_mode);
}

/* a command line that was cut may have lost a devmgr.dma=strict: strict,
 * with or without an auto that a lost later word would override */
static void cut_line(void)
{
	line_cut = true;
	strict_refuses();
}
static void cut_line_auto(void)
{
	line_cut = true;
	dma_opt = "auto";
	strict_refuses();
}
static void typo(void)
{
	dma_opt = "stirct";
	strict_refuses();
	SHIM_CHECK(lines_with("devmgr: devmgr.dma=stirct: not auto, strict or "
			      "iommu; using strict",
			      NULL) == 1);
}
static void test_cut_or_unknown_dma_mode_is_strict(void **st)
{
	(void)st;
	in_child(cut_line);
	in_child(cut_line_auto);
	in_child(typo);
}

/* devmgr.dma=iommu with no IOMMU: nothing that does DMA is bound */
static void iommu_mode(void)
{
	dma_opt = "iommu";
	bind_four();
	SHIM_CHECK(pci_devs[0].drv == NULL && pci_devs[1].drv == NULL);
	SHIM_CHECK(attached[0] == 0 && attached[1] == 0);
	SHIM_CHECK(pci_devs[2].drv == &nodma_drv);
	SHIM_CHECK(strstr(render_shape(), "\"dma_mode\":\"iommu\""));
	const char *l;
	SHIM_CHECK(lines_with("platform: ", &l) == 1 &&
		   strstr(l, " dma=iommu"));
}
static void test_iommu_mode_refuses_all_dma_without_iommu(void **st)
{
	(void)st;
	in_child(iommu_mode);
}

/* a DMAR whose working unit translates the function: the IOMMU backend,
 * whatever the mode and the driver's validator */
static void dmar_in_scope(void)
{
	static const uint16_t ids[] = {DEV_DISK};
	bind_under_iommu(ids, 1);
	SHIM_CHECK(pci_devs[0].drv == &disk_drv);
	SHIM_CHECK(backend_of(0) == DMA_BACKEND_IOMMU);
	SHIM_CHECK(strstr(render_shape(), "\"iommu_backend\":true"));
}
static void test_dmar_in_scope_gets_iommu_backend(void **st)
{
	(void)st;
	in_child(dmar_in_scope);
}

/* the supervisor and the IOMMU: a DMA fault revokes the owner at the safe
 * point (auth_poll) and the device manager restarts the function after
 * DEVMGR_RESTART_DELAY_US, its driver silent (no devmgr_failed): a fresh
 * owner in a fresh domain, attached again. An owner revoked on purpose
 * (auth_owner_revoke: it quarantines the domain too) is left alone.
 * Before (no supervisor) the faulted function stayed revoked */
static void dmar_fault_restarted(void)
{
	/* the second function did not fault: left alone */
	static const uint16_t ids[] = {DEV_DISK, DEV_NODMA};
	bind_under_iommu(ids, 2);
	struct pci_dev *d = &pci_devs[0], *e = &pci_devs[1];
	uint16_t owner = d->owner, other = e->owner;
	SHIM_CHECK(d->drv == &disk_drv && backend_of(0) == DMA_BACKEND_IOMMU);
	SHIM_CHECK(e->drv == &nodma_drv && other);
	shim_iommu_owner = owner;
	shim_iommu_fault();
	SHIM_CHECK(auth_poll() == 1 && auth_owner_faulted(owner));
	SHIM_CHECK(!devmgr_poll()); /* recorded, due in a second */
	SHIM_CHECK(d->restart.pending && d->owner == owner);
	shim_clock_ns += DEVMGR_RESTART_DELAY_US * 1000;
	SHIM_CHECK(devmgr_poll());
	SHIM_CHECK(d->drv == &disk_drv && d->owner && d->owner != owner);
	SHIM_CHECK(backend_of(0) == DMA_BACKEND_IOMMU);
	SHIM_CHECK(!auth_owner_revoked(d->owner) && attached[1] == 2);
	SHIM_CHECK(d->restart.count == 1);
	SHIM_CHECK(e->owner == other && !e->restart.pending &&
		   e->restart.count == 0);
	/* on purpose: not fought */
	owner = d->owner;
	shim_iommu_owner = owner;
	shim_iommu_quarantined = false;
	SHIM_CHECK(auth_owner_revoke(owner, "operator") >= 0);
	(void)auth_poll();
	SHIM_CHECK(!auth_owner_faulted(owner));
	shim_clock_ns += 10 * DEVMGR_RESTART_DELAY_US * 1000;
	SHIM_CHECK(!devmgr_poll());
	SHIM_CHECK(d->owner == owner && d->restart.count == 1);
}
static void test_dma_fault_restarted_by_supervisor(void **st)
{
	(void)st;
	in_child(dmar_fault_restarted);
}

/* devmgr_host_reset (a fuzzer's next input) refuses while any function
 * holds an owner — one bound, and one whose attach failed (not in the
 * bind order) — and changes nothing then; once every one was given back
 * it starts owner ids at 1 again and forgets the DMA faults it had seen,
 * so a fault after it is restarted as the first one was */
static void host_reset_like_boot(void)
{
	static const uint16_t ids[] = {DEV_DISK, DEV_FAILS};
	bind_under_iommu(ids, 2);
	struct pci_dev *d = &pci_devs[0], *f = &pci_devs[1];
	SHIM_CHECK(d->drv == &disk_drv && d->owner == 1);
	SHIM_CHECK(!f->drv && f->owner == 2 && auth_owner_facts(2));
	shim_iommu_owner = 1;
	shim_iommu_fault();
	SHIM_CHECK(auth_poll() == 1 && !devmgr_poll() && d->restart.pending);
	SHIM_CHECK(devmgr_host_reset() == -1);
	SHIM_CHECK(devmgr_unbind(d) == 0);
	SHIM_CHECK(devmgr_host_reset() == -1); /* 02's owner still held */
	SHIM_CHECK(auth_owner_facts(2));
	SHIM_CHECK(devmgr_unbind(f) >= 0);
	SHIM_CHECK(devmgr_host_reset() == 0);
	memset(&d->restart, 0, sizeof(d->restart));
	shim_iommu_quarantined = false;
	SHIM_CHECK(devmgr_rebind(d) == 0 && d->owner == 1);
	shim_iommu_owner = 1;
	shim_iommu_fault();
	SHIM_CHECK(auth_poll() == 1 && auth_owner_faulted(1));
	SHIM_CHECK(!devmgr_poll() && d->restart.pending);
}
/* a restart whose bring-up was refused before any owner was bound (the
 * IOMMU unit failed since: "refused: no dma") leaves nothing to unbind:
 * the next restart binds again without an "unable to unbind" line */
static void restart_after_refused_bring_up(void)
{
	static const uint16_t ids[] = {DEV_DISK};
	bind_under_iommu(ids, 1);
	struct pci_dev *d = &pci_devs[0];
	SHIM_CHECK(d->drv == &disk_drv);
	devmgr_failed(d, d->owner, "broken ring");
	shim_iommu_unit_failed = true;
	shim_clock_ns += DEVMGR_RESTART_DELAY_US * 1000;
	SHIM_CHECK(devmgr_poll());
	SHIM_CHECK(!d->drv && !d->owner && d->restart.pending);
	SHIM_CHECK(!strcmp(d->state, "refused: no dma"));
	shim_clock_ns += 2 * DEVMGR_RESTART_DELAY_US * 1000;
	SHIM_CHECK(devmgr_poll());
	SHIM_CHECK(lines_with("unable to unbind", NULL) == 0);
	SHIM_CHECK(d->restart.count == 2);
}
static void test_restart_after_refused_bring_up(void **st)
{
	(void)st;
	in_child(restart_after_refused_bring_up);
}

static void test_host_reset_like_boot(void **st)
{
	(void)st;
	in_child(host_reset_like_boot);
}

/* a DMA fault on the NEW owner right after each restart: restarted
 * again inside the same streak, 2 s then 4 s later, each under a fresh
 * owner in a fresh domain; the fault after the third restart spends the
 * budget and the faulted owner stays (revoked, its pools parked), no
 * restart however long it waits */
static void dmar_fault_on_new_owner(void)
{
	static const uint16_t ids[] = {DEV_DISK};
	bind_under_iommu(ids, 1);
	struct pci_dev *d = &pci_devs[0];
	for (unsigned k = 0; k <= DEVMGR_RESTART_MAX; k++) {
		uint16_t owner = d->owner;
		SHIM_CHECK(d->drv == &disk_drv && owner);
		shim_iommu_owner = owner;
		shim_iommu_quarantined = false;
		shim_iommu_fault();
		SHIM_CHECK(auth_poll() == 1 && auth_owner_faulted(owner));
		SHIM_CHECK(!devmgr_poll());
		if (k == DEVMGR_RESTART_MAX) {
			SHIM_CHECK(d->restart.spent && !d->restart.pending);
			shim_clock_ns += 20 * DEVMGR_RESTART_DELAY_US * 1000;
			SHIM_CHECK(!devmgr_poll());
			SHIM_CHECK(d->owner == owner &&
				   auth_owner_revoked(owner));
			break;
		}
		SHIM_CHECK(d->restart.pending && d->restart.used == k);
		uint64_t delay = DEVMGR_RESTART_DELAY_US << k;
		shim_clock_ns += (delay - 1000) * 1000;
		SHIM_CHECK(!devmgr_poll());
		shim_clock_ns += 2000 * 1000;
		SHIM_CHECK(devmgr_poll());
		SHIM_CHECK(d->owner != owner && !auth_owner_facts(owner));
		SHIM_CHECK(backend_of(0) == DMA_BACKEND_IOMMU);
		SHIM_CHECK(d->restart.count == k + 1);
	}
}
static void test_dma_fault_on_new_owner_after_restart(void **st)
{
	(void)st;
	in_child(dmar_fault_on_new_owner);
}

/* ---- binding itself (kernel/devmgr/devmgr.c) ---------------------------- */
/* a driver without DMA is bound without asking the policy, and the state
 * its attach set is kept; a function no driver matches is left alone */
static void nodma_and_nomatch(void)
{
	bind_four();
	SHIM_CHECK(pci_devs[2].drv == &nodma_drv && attached[2] == 1);
	SHIM_CHECK(!strcmp(pci_devs[2].state, "link down"));
	struct shape_result r;
	enum dma_backend b;
	const char *why;
	SHIM_CHECK(!devmgr_shape_get(&pci_devs[2], &r, &b, &why));
	SHIM_CHECK(pci_devs[3].drv == NULL && pci_devs[3].owner == 0);
	SHIM_CHECK(!strcmp(pci_devs[3].state, "unbound"));
	SHIM_CHECK(!devmgr_shape_get(&pci_devs[3], &r, &b, &why));
	SHIM_CHECK(devmgr_dma_limit(&pci_devs[3]) == 0);
}
static void test_no_dma_driver_bound_without_policy(void **st)
{
	(void)st;
	in_child(nodma_and_nomatch);
}

/* a driver's table entry matches on vendor, device and class under its
 * mask together: another vendor's function with the same device id is
 * not the driver's */
static void other_vendor(void)
{
	static const uint16_t ids[] = {DEV_NODMA, DEV_NIC};
	devices(ids, 2);
	pci_devs[0].vendor = 0x8086;
	pci_devs[1].vendor = 0x1235;
	devmgr_bind_all();
	for (unsigned i = 0; i < 2; i++) {
		SHIM_CHECK(pci_devs[i].drv == NULL && pci_devs[i].owner == 0);
		SHIM_CHECK(!strcmp(pci_devs[i].state, "unbound"));
	}
	SHIM_CHECK(attached[0] == 0 && attached[2] == 0);
	SHIM_CHECK(lines_with("-> none", NULL) == 2);
}
static void test_match_needs_the_vendor(void **st)
{
	(void)st;
	in_child(other_vendor);
}

/* past AUTH_OWNER_MAX (128) bound functions the owner table is full: a
 * function that gets no owner is not attached (its driver would hold
 * capabilities no owner answers for), and its state reads so: "refused:
 * no owner", not "refused: identify" (no driver code ran for it, identify
 * included); the devmgr line for it is the authority's own reason */
static void past_owners(void)
{
	static uint16_t ids[NDEVS];
	for (unsigned i = 0; i < NDEVS; i++)
		ids[i] = DEV_NODMA;
	shim_quiet = 1;
	devices(ids, NDEVS);
	devmgr_bind_all();
	SHIM_CHECK(attached[2] == AUTH_OWNER_MAX);
	for (unsigned i = 0; i < NDEVS; i++) {
		const char *want =
		    i < AUTH_OWNER_MAX ? "link down" : "refused: no owner";
		if (strcmp(pci_devs[i].state, want)) {
			fprintf(stderr,
				"function %u: state \"%s\", want \"%s\"\n", i,
				pci_devs[i].state, want);
			SHIM_CHECK(0);
		}
		SHIM_CHECK((pci_devs[i].drv != NULL) == (i < AUTH_OWNER_MAX));
		/* a refused bind leaves the function naming no owner: not
		 * an id nobody holds */
		SHIM_CHECK((pci_devs[i].owner != 0) == (i < AUTH_OWNER_MAX));
	}
	SHIM_CHECK(lines_with("owner table full", NULL) ==
		   NDEVS - AUTH_OWNER_MAX);
	SHIM_CHECK(lines_with("refused: identify", NULL) == 0);
}
static void test_functions_past_AUTH_OWNER_MAX_not_attached(void **st)
{
	(void)st;
	in_child(past_owners);
}

/* a driver restarted until the owner ids run out: ids 1 to UINT16_MAX are
 * each bound once (an unbind retires its id), then every rebind is
 * refused, "refused: no owner", said in one line however often asked —
 * no wrap to 0, to a retired id or to the live one of another function,
 * and the refused function names no owner. Before, the uint16_t counter
 * wrapped: a bind of id 0, then of retired ids, each refused with a line
 * ("id in use", "id retired by an unbind") */
static void ids_run_out(void)
{
	static const uint16_t ids[] = {DEV_NODMA, DEV_NODMA};
	shim_quiet = 1;
	devices(ids, 2);
	devmgr_bind_all();
	struct pci_dev *d = &pci_devs[0], *other = &pci_devs[1];
	SHIM_CHECK(d->owner == 1 && other->owner == 2);
	unsigned binds = 2;
	for (unsigned k = 0; k < UINT16_MAX + 8u; k++) {
		nprinted = 0;
		SHIM_CHECK(devmgr_unbind(d) == 0);
		if (devmgr_rebind(d) != 0)
			break;
		binds++;
		SHIM_CHECK(d->owner == binds);
	}
	SHIM_CHECK(binds == UINT16_MAX);
	SHIM_CHECK(d->owner == 0 && d->drv == NULL);
	SHIM_CHECK(!strcmp(d->state, "refused: no owner"));
	SHIM_CHECK(lines_with("every owner id (1 to 65535) given out", NULL) ==
		   1);
	for (unsigned k = 0; k < 3; k++)
		SHIM_CHECK(devmgr_rebind(d) == -1 && d->owner == 0);
	SHIM_CHECK(lines_with("given out", NULL) == 1);
	SHIM_CHECK(lines_with("unable to bind owner", NULL) == 0);
	/* the other function keeps its owner */
	SHIM_CHECK(other->owner == 2 && auth_owner_function(2, other));
}
static void test_owner_ids_run_out(void **st)
{
	(void)st;
	in_child(ids_run_out);
}

/* an attach that fails having registered no block device: unbound, and
 * no line about block devices dropped (a line only for what happened) */
static void fails_clean(void)
{
	static const uint16_t ids[] = {DEV_FAILS};
	devices(ids, 1);
	devmgr_bind_all();
	SHIM_CHECK(pci_devs[0].drv == NULL);
	SHIM_CHECK(!strcmp(pci_devs[0].state, "attach failed"));
	SHIM_CHECK(lines_with("block devices of the failed driver dropped",
			      NULL) == 0);
}
/* one that registered a block device: the registry drops it, said once;
 * one that named its own state keeps it */
static void fails_said(void)
{
	static const uint16_t ids[] = {DEV_BLK, DEV_SAYS};
	devices(ids, 2);
	devmgr_bind_all();
	SHIM_CHECK(pci_devs[0].drv == NULL && nblockdevs == 0);
	SHIM_CHECK(lines_with("devmgr: 1 block devices of the failed driver "
			      "dropped",
			      NULL) == 1);
	SHIM_CHECK(pci_devs[1].drv == NULL);
	SHIM_CHECK(!strcmp(pci_devs[1].state, "reset timeout"));
	SHIM_CHECK(auth_owner_revoked(pci_devs[1].owner));
}
static void test_failed_attach_without_blockdev_says_nothing_dropped(void **st)
{
	(void)st;
	in_child(fails_clean);
	in_child(fails_said);
}

/* ---- more functions than SHAPE_RECORDS: each still decided, by the same
 * rules, with a reason that outlives the call; only the first
 * SHAPE_RECORDS kept ------------------------------------------------------ */
static void past_records(void)
{
	static uint16_t ids[NDEVS];
	for (unsigned i = 0; i < NDEVS; i++)
		ids[i] = DEV_NIC;
	dma_opt = "strict";
	shim_quiet = 1; /* a line a function: the hook still sees them */
	devices(ids, NDEVS);
	unsigned kept = 0;
	for (unsigned i = 0; i < NDEVS; i++) {
		const char *why = NULL;
		SHIM_CHECK(devmgr_pick_backend(&pci_devs[i], &nic_drv, &why) ==
			   DMA_BACKEND_NONE);
		SHIM_CHECK(why && strstr(why, "dma=strict"));
		struct shape_result r;
		enum dma_backend b;
		const char *w;
		kept += devmgr_shape_get(&pci_devs[i], &r, &b, &w);
	}
	SHIM_CHECK(kept > 0 && kept < NDEVS);
	/* asked again, a function past the records is not kept either */
	struct shape_result r;
	enum dma_backend b;
	const char *w;
	SHIM_CHECK(!devmgr_shape_get(&pci_devs[NDEVS - 1], &r, &b, &w));
}
static void test_functions_past_SHAPE_RECORDS_decided_not_kept(void **st)
{
	(void)st;
	in_child(past_records);
}

/* ---- SMBIOS from firmware ----------------------------------------------- */
/* a 3.0 entry point at fw + at, its table at fw + 64: one type 1
 * structure naming the system's vendor; cut: the table is said to be that
 * many bytes shorter than it is */
static void smbios_at(const char *vendor, size_t at, size_t cut)
{
	memset(fw, 0, sizeof(fw));
	uint8_t *ep = fw + at, *t = fw + 64;
	size_t n = 0;
	t[n++] = SMBIOS_TYPE_SYSTEM;
	t[n++] = 8; /* formatted area: header, manufacturer, product, version */
	t[n++] = 1, t[n++] = 0;
	t[n++] = 1; /* SMBIOS_SYS_MANUFACTURER: string 1 */
	t[n++] = 0, t[n++] = 0, t[n++] = 0;
	memcpy(t + n, vendor, strlen(vendor));
	n += strlen(vendor) + 2;
	t[n++] = SMBIOS_TYPE_END, t[n++] = 4, t[n++] = 2, t[n++] = 0;
	t[n++] = 0, t[n++] = 0;
	n -= cut;
	memcpy(ep, "_SM3_", 5);
	ep[SMBIOS3_EP_LENGTH] = SMBIOS3_EP_LEN;
	ep[SMBIOS3_EP_MAJOR] = 3;
	for (unsigned i = 0; i < 4; i++)
		ep[SMBIOS3_EP_TABLE_MAX + i] = (uint8_t)(n >> (8 * i));
	for (unsigned i = 0; i < 8; i++)
		ep[SMBIOS3_EP_TABLE_ADDR + i] =
		    (uint8_t)((uint64_t)t >> (8 * i));
	uint8_t sum = 0;
	for (unsigned i = 0; i < SMBIOS3_EP_LEN; i++)
		sum += ep[i];
	ep[SMBIOS3_EP_CKSUM] = (uint8_t)-sum;
	boot_smbios = (uint64_t)ep;
}
static void smbios_fixture(const char *vendor)
{
	smbios_at(vendor, 0, 0);
}

/* what the device says at identify is classified on the platform SMBIOS
 * names, even before any function was bound: an NVMe function on EC2 is
 * held to SHAPE_DMA_LIMIT_48 (docs/devices/aws-nitro-ebs.md) */
static void identify_first(void)
{
	static const uint16_t ids[] = {DEV_DISK};
	smbios_fixture("Amazon EC2");
	devices(ids, 1);
	SHIM_CHECK(devmgr_shape_identify(&pci_devs[0], "x", "y") ==
		   SHAPE_DMA_LIMIT_48);
	SHIM_CHECK(devmgr_platform() == SHAPE_PLAT_AWS);
	SHIM_CHECK(lines_with("shape: 0000:00:00.0 identify model=\"y\" "
			      "serial=\"x\"",
			      NULL) == 1);
}
static void test_identify_classified_on_smbios_platform(void **st)
{
	(void)st;
	in_child(identify_first);
}

/* the limit a model refines at identify is the function's from then on,
 * on any platform: Amazon's NVMe model takes SHAPE_DMA_LIMIT_48 */
static void identify_refines(void)
{
	static const uint16_t ids[] = {DEV_DISK};
	devices(ids, 1);
	devmgr_bind_all();
	SHIM_CHECK(devmgr_dma_limit(&pci_devs[0]) == 0);
	SHIM_CHECK(devmgr_shape_identify(&pci_devs[0], "vol0",
					 "Amazon Elastic Block Store") ==
		   SHAPE_DMA_LIMIT_48);
	SHIM_CHECK(devmgr_dma_limit(&pci_devs[0]) == SHAPE_DMA_LIMIT_48);
}
static void test_identify_refines_dma_limit(void **st)
{
	(void)st;
	in_child(identify_refines);
}

/* every `shape:` line names the evidence it rests on: the platform's
 * (SMBIOS) and the function's own */
static void shape_line(void)
{
	static const uint16_t ids[] = {DEV_NIC};
	smbios_fixture("Amazon EC2");
	devices(ids, 1);
	devmgr_bind_all();
	const char *l;
	SHIM_CHECK(lines_with("shape: 0000:00:00.0 nic bind", &l) == 1);
	SHIM_CHECK(strstr(l, " evidence=smbios-vendor "));
}
static void test_shape_line_names_its_evidence(void **st)
{
	(void)st;
	in_child(shape_line);
}

/* the first question asked of the policy reads its inputs, whichever it
 * is */
static void platform_first(void)
{
	smbios_fixture("Amazon EC2");
	SHIM_CHECK(devmgr_platform() == SHAPE_PLAT_AWS);
	const char *l;
	SHIM_CHECK(lines_with("platform: ", &l) == 1);
	SHIM_CHECK(strstr(l, "platform: aws-ec2 evidence=smbios-vendor "));
	SHIM_CHECK(lines_with("unable to read SMBIOS", NULL) == 0);
}
static void iommu_table_first(void)
{
	iommu_table = "DMAR";
	SHIM_CHECK(devmgr_iommu_table() &&
		   !strcmp(devmgr_iommu_table(), "DMAR"));
}
static void dma_mode_first(void)
{
	dma_opt = "strict";
	SHIM_CHECK(devmgr_dma_mode() == SHAPE_DMA_STRICT);
}
static void status_first(void)
{
	smbios_fixture("Amazon EC2");
	const char *d = render_shape();
	SHIM_CHECK(strstr(d, "\"platform\":\"aws-ec2\",\"evidence\":"
			     "\"smbios-vendor\""));
	SHIM_CHECK(strstr(d, "\"error\":null"));
	SHIM_CHECK(strstr(d, "\"iommu\":null"));
}
static void dma_limit_first(void)
{
	static const uint16_t ids[] = {DEV_DISK};
	smbios_fixture("Amazon EC2");
	devices(ids, 1);
	SHIM_CHECK(devmgr_dma_limit(&pci_devs[0]) == SHAPE_DMA_LIMIT_48);
}
static void test_policy_inputs_read_on_first_question(void **st)
{
	(void)st;
	in_child(dma_limit_first);
	in_child(platform_first);
	in_child(iommu_table_first);
	in_child(dma_mode_first);
	in_child(status_first);
}

/* an NVMe function on EC2 is bound with its owner held below
 * SHAPE_DMA_LIMIT_48 from the start (before identify), and what the
 * policy decided is what /api/shape and devmgr_shape_get say */
static void aws_bound(void)
{
	static const uint16_t ids[] = {DEV_DISK, DEV_NIC};
	smbios_fixture("Amazon EC2");
	dma_opt = "strict";
	devices(ids, 2);
	devmgr_bind_all();
	SHIM_CHECK(pci_devs[0].drv == &disk_drv && pci_devs[1].drv == NULL);
	SHIM_CHECK(devmgr_dma_limit(&pci_devs[0]) == SHAPE_DMA_LIMIT_48);
	SHIM_CHECK(auth_owner_facts(pci_devs[0].owner)->dma_limit ==
		   SHAPE_DMA_LIMIT_48);
	struct shape_result r = {0};
	enum dma_backend b = DMA_BACKEND_NONE;
	const char *why = NULL;
	SHIM_CHECK(devmgr_shape_get(&pci_devs[0], &r, &b, &why));
	SHIM_CHECK(r.kind == SHAPE_NVME_UNKNOWN &&
		   r.dma_limit == SHAPE_DMA_LIMIT_48);
	SHIM_CHECK(b == DMA_BACKEND_VALIDATOR);
	SHIM_CHECK(why && strstr(why, "; brokered validator"));
	const char *d = render_shape();
	SHIM_CHECK(strstr(d, "{\"pci\":\"0000:00:00.0\",\"id\":\"1234:0011\""));
	SHIM_CHECK(strstr(
	    d, "\"driver\":\"disk\",\"bound\":true,\"shape\":"
	       "\"nvme-unknown\",\"evidence\":\"pci-class\",\"model\":null"));
	SHIM_CHECK(strstr(d, "{\"pci\":\"0000:00:01.0\",\"id\":\"1234:0010\""));
	SHIM_CHECK(strstr(d, "\"driver\":\"nic\",\"bound\":false,\"shape\":"
			     "\"none\",\"evidence\":\"none\""));
}
static void test_ec2_nvme_owner_limited_at_bind(void **st)
{
	(void)st;
	in_child(aws_bound);
}

/* past SHAPE_RECORDS kept functions, the limit is decided all the same:
 * an NVMe function on EC2 whose record did not fit is still bound below
 * SHAPE_DMA_LIMIT_48, and identify refines it */
static void aws_past_records(void)
{
	static uint16_t ids[NDEVS];
	for (unsigned i = 0; i < NDEVS; i++)
		ids[i] = i < NDEVS - 2 ? DEV_NIC : DEV_DISK;
	smbios_fixture("Amazon EC2");
	dma_opt = "strict"; /* the NICs take records, and no owners */
	shim_quiet = 1;
	devices(ids, NDEVS);
	devmgr_bind_all();
	for (unsigned i = NDEVS - 2; i < NDEVS; i++) {
		struct pci_dev *d = &pci_devs[i];
		struct shape_result r;
		enum dma_backend b;
		const char *why;
		SHIM_CHECK(d->drv == &disk_drv);
		SHIM_CHECK(!devmgr_shape_get(d, &r, &b, &why)); /* not kept */
		SHIM_CHECK(devmgr_dma_limit(d) == SHAPE_DMA_LIMIT_48);
		SHIM_CHECK(auth_owner_facts(d->owner)->dma_limit ==
			   SHAPE_DMA_LIMIT_48);
		SHIM_CHECK(devmgr_shape_identify(d, "vol0",
						 "Amazon Elastic Block "
						 "Store") ==
			   SHAPE_DMA_LIMIT_48);
	}
}
static void test_dma_limit_kept_past_SHAPE_RECORDS(void **st)
{
	(void)st;
	in_child(aws_past_records);
}

/* past SHAPE_RECORDS kept functions, the `identified` line devmgr_bind
 * prints right after the backend is picked names the driver, backend and
 * reason the function was bound with (it said `- identified ...
 * backend=none reason=""` for a bound function) */
static void identified_past_records(void)
{
	static uint16_t ids[NDEVS];
	for (unsigned i = 0; i < NDEVS; i++)
		ids[i] = i < SHAPE_RECORDS_KEPT ? DEV_NIC : DEV_DISK;
	shim_quiet = 1;
	devices(ids, NDEVS);
	for (unsigned i = 0; i < SHAPE_RECORDS_KEPT; i++) {
		const char *why;
		SHIM_CHECK(devmgr_pick_backend(&pci_devs[i], &nic_drv, &why) ==
			   DMA_BACKEND_UNVALIDATED);
	}
	for (unsigned i = SHAPE_RECORDS_KEPT; i < NDEVS; i++) {
		struct pci_dev *d = &pci_devs[i];
		const char *why = NULL;
		SHIM_CHECK(devmgr_pick_backend(d, &disk_drv, &why) ==
			   DMA_BACKEND_VALIDATOR);
		char want[256], a[16];
		const char *l;
		snprintf(want, sizeof(want), " reason=\"%s\"", why);
		devmgr_shape_identify(d, "vol0", "QEMU NVMe Ctrl");
		pci_addr_str(d, a, sizeof(a));
		char key[64];
		snprintf(key, sizeof(key), "shape: %s disk identified ", a);
		const char *line;
		SHIM_CHECK(lines_with(key, &line) == 1);
		l = strstr(line, " backend=");
		SHIM_CHECK(l &&
			   !strncmp(l, " backend=brokered-validator ", 28));
		SHIM_CHECK(strstr(line, want));
		SHIM_CHECK(!devmgr_shape_get(d, &(struct shape_result){0},
					     &(enum dma_backend){0}, &why));
	}
}
static void test_identified_line_past_SHAPE_RECORDS_names_backend(void **st)
{
	(void)st;
	in_child(identified_past_records);
}

/* past SHAPE_RECORDS kept functions, identify for a function other than
 * the one last decided (the spare record holds that one; a driver without
 * DMA has no backend picked) is classified as itself: its own line, no
 * driver or backend known, its own limit (an NVMe function on EC2:
 * SHAPE_DMA_LIMIT_48), not the last decided NIC's */
static void identify_other_past_records(void)
{
	static uint16_t ids[NDEVS];
	for (unsigned i = 0; i < NDEVS; i++)
		ids[i] = i <= SHAPE_RECORDS_KEPT ? DEV_NIC : DEV_DISK;
	smbios_fixture("Amazon EC2");
	shim_quiet = 1;
	devices(ids, NDEVS);
	for (unsigned i = 0; i <= SHAPE_RECORDS_KEPT; i++) {
		const char *why;
		SHIM_CHECK(devmgr_pick_backend(&pci_devs[i], &nic_drv, &why) ==
			   DMA_BACKEND_UNVALIDATED);
	}
	struct pci_dev *d = &pci_devs[SHAPE_RECORDS_KEPT + 1];
	SHIM_CHECK(devmgr_shape_identify(d, "x", "y") == SHAPE_DMA_LIMIT_48);
	char key[64], a[16];
	const char *line;
	pci_addr_str(d, a, sizeof(a));
	snprintf(key, sizeof(key), "shape: %s - identified ", a);
	SHIM_CHECK(lines_with(key, &line) == 1);
	SHIM_CHECK(strstr(line, " backend=none reason=\"\""));
}
static void test_identify_past_SHAPE_RECORDS_of_another_function(void **st)
{
	(void)st;
	in_child(identify_other_past_records);
}

/* the model identify reads narrows the owner before attach: a function
 * whose driver says "Amazon Elastic Block Store" is bound with its owner
 * held to SHAPE_DMA_LIMIT_48; one whose driver took a pool before saying
 * so cannot be narrowed (the pool may lie above the limit): refused at
 * identify, its owner revoked, the pool seized, attach never run */
static void identify_narrows(void)
{
	static const uint16_t ids[] = {DEV_AMZ, DEV_AMZ_POOL};
	devices(ids, 2);
	devmgr_bind_all();
	SHIM_CHECK(pci_devs[0].drv == &amz_drv);
	SHIM_CHECK(!strcmp(pci_devs[0].state, "running"));
	SHIM_CHECK(auth_owner_facts(pci_devs[0].owner)->dma_limit ==
		   SHAPE_DMA_LIMIT_48);
	SHIM_CHECK(pci_devs[1].drv == NULL);
	SHIM_CHECK(!strcmp(pci_devs[1].state, "refused: identify"));
	SHIM_CHECK(auth_owner_revoked(pci_devs[1].owner));
	SHIM_CHECK(!dma_pool_live(&amz_pool));
	SHIM_CHECK(amz_attached == 1);
	SHIM_CHECK(lines_with("unable to narrow its DMA limit", NULL) == 1);
}
static void test_identify_limit_narrows_owner_or_refuses(void **st)
{
	(void)st;
	in_child(identify_narrows);
}

/* a DMAR unit that failed: nothing whose DMA passes it is bound, in auto
 * mode too (docs/dma-isolation-design.md: fail closed) */
static void unit_failed(void)
{
	iommu_table = "DMAR";
	shim_iommu_unit_failed = true;
	bind_four();
	for (unsigned i = 0; i < 2; i++) {
		const char *why = NULL;
		SHIM_CHECK(pci_devs[i].drv == NULL && attached[i] == 0);
		SHIM_CHECK(!strcmp(pci_devs[i].state, "refused: no dma"));
		struct shape_result r;
		enum dma_backend b = DMA_BACKEND_IOMMU;
		SHIM_CHECK(devmgr_shape_get(&pci_devs[i], &r, &b, &why));
		SHIM_CHECK(b == DMA_BACKEND_NONE && strstr(why, "unit failed"));
	}
	SHIM_CHECK(pci_devs[2].drv == &nodma_drv);
}
static void test_failed_iommu_unit_refuses_dma_in_auto_mode(void **st)
{
	(void)st;
	in_child(unit_failed);
}

/* SMBIOS whose entry point ends at the last mapped byte is read: only
 * the pages it covers are asked for */
static void test_smbios_read_to_the_last_mapped_byte(void **st)
{
	(void)st;
	struct smbios_info s;
	smbios_at("Google", sizeof(fw) - 32, 0); /* the 32 bytes read */
	assert_null(devmgr_smbios_read(boot_smbios, &s));
	assert_string_equal(s.sys_vendor, "Google");
}

/* a table the parser stops in is reported, with what was read before */
static void test_smbios_table_error_reported(void **st)
{
	(void)st;
	struct smbios_info s;
	smbios_at("Google", 0, 2); /* the end structure's strings cut */
	const char *why = devmgr_smbios_read(boot_smbios, &s);
	assert_non_null(why);
	assert_string_equal(why, "string set not terminated");
	assert_string_equal(s.sys_vendor, "Google");
}

/* uncached maps only inside the legacy BIOS segment (DSP0134 §5.2.1:
 * [LEGACY_SEG_LO, LEGACY_SEG_HI) = [0xf0000, 0x100000)), never of a page
 * past it, which may be a device's registers */
static void test_smbios_uncached_map_only_in_legacy_segment(void **st)
{
	(void)st;
	struct smbios_info s;
	nmmio_asked = 0;
	assert_non_null(devmgr_smbios_read(0xf0000, &s));
	assert_int_equal(nmmio_asked, 1);
	assert_int_equal(mmio_asked[0], 0xf0000);
	nmmio_asked = 0; /* its first page maps, the next is past the end */
	assert_non_null(devmgr_smbios_read(LEGACY_OK + PAGE_SIZE - 16, &s));
	assert_int_equal(nmmio_asked, 1);
	assert_int_equal(mmio_asked[0], LEGACY_OK);
	assert_false(s.present);
}

/* an entry point whose 32 bytes would run past the top of the address
 * space is never read (a firmware value is not trusted) */
static void test_smbios_entry_point_wrapping_not_read(void **st)
{
	(void)st;
	struct smbios_info s;
	const char *why = devmgr_smbios_read(~0ull - 15, &s);
	assert_non_null(why);
	assert_non_null(strstr(why, "cannot be mapped"));
	assert_false(s.present);
}

int main(void)
{
	const struct CMUnitTest t[] = {
	    cmocka_unit_test(test_auto_mode_unvalidated_nic_bound),
	    cmocka_unit_test(test_strict_mode_refuses_unvalidated_dma),
	    cmocka_unit_test(test_cut_or_unknown_dma_mode_is_strict),
	    cmocka_unit_test(test_iommu_mode_refuses_all_dma_without_iommu),
	    cmocka_unit_test(test_dmar_in_scope_gets_iommu_backend),
	    cmocka_unit_test(test_dma_fault_restarted_by_supervisor),
	    cmocka_unit_test(test_dma_fault_on_new_owner_after_restart),
	    cmocka_unit_test(test_host_reset_like_boot),
	    cmocka_unit_test(test_restart_after_refused_bring_up),
	    cmocka_unit_test(test_no_dma_driver_bound_without_policy),
	    cmocka_unit_test(
		test_failed_attach_without_blockdev_says_nothing_dropped),
	    cmocka_unit_test(test_match_needs_the_vendor),
	    cmocka_unit_test(test_functions_past_AUTH_OWNER_MAX_not_attached),
	    cmocka_unit_test(test_owner_ids_run_out),
	    cmocka_unit_test(
		test_functions_past_SHAPE_RECORDS_decided_not_kept),
	    cmocka_unit_test(test_identify_classified_on_smbios_platform),
	    cmocka_unit_test(test_identify_refines_dma_limit),
	    cmocka_unit_test(test_shape_line_names_its_evidence),
	    cmocka_unit_test(test_smbios_entry_point_wrapping_not_read),
	    cmocka_unit_test(test_policy_inputs_read_on_first_question),
	    cmocka_unit_test(test_ec2_nvme_owner_limited_at_bind),
	    cmocka_unit_test(test_dma_limit_kept_past_SHAPE_RECORDS),
	    cmocka_unit_test(test_failed_iommu_unit_refuses_dma_in_auto_mode),
	    cmocka_unit_test(
		test_identified_line_past_SHAPE_RECORDS_names_backend),
	    cmocka_unit_test(
		test_identify_past_SHAPE_RECORDS_of_another_function),
	    cmocka_unit_test(test_identify_limit_narrows_owner_or_refuses),
	    cmocka_unit_test(test_smbios_read_to_the_last_mapped_byte),
	    cmocka_unit_test(test_smbios_table_error_reported),
	    cmocka_unit_test(test_smbios_uncached_map_only_in_legacy_segment),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
