/* kernel/devmgr/policy.c — which DMA backend a driver gets, on which
 * platform, for which device shape, and why.
 *
 * The decisions themselves are pure (kernel/devmgr/shape.c): this file
 * gathers their inputs — SMBIOS through the entry point firmware handed
 * over, ACPI's IOMMU tables, the PCI function, later the broker's Identify
 * data — keeps one record per function, prints one `shape:` line per
 * DMA-capable function and serves the records as the "shape" status
 * provider (/api/shape).
 *
 * An IOMMU is the first choice: a function in the scope of a working VT-d
 * unit (kernel/iommu) gets the IOMMU backend; one behind a unit that failed
 * is not bound; AMD-Vi (IVRS) and virtio-iommu (VIOT) have no backend yet,
 * and there the policy says so and falls back to the brokered validator.
 * Drivers without a validator for their device class (the NICs, edu) run with
 * unvalidated DMA from their own pools — said plainly, and refused under
 * devmgr.dma=strict. A DMA-capable driver left with no usable backend is not
 * bound. */
#include "kernel/acpi/acpi.h"
#include "kernel/boot/boot.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/devmgr/shape.h"
#include "kernel/iommu/iommu.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"

#define SHAPE_RECORDS 128 /* DMA-capable functions the policy records */

struct shape_rec {
	const struct pci_dev *d;
	const char *driver;
	struct shape_result r;
	enum dma_backend backend;
	char why[160];
	char model[sizeof(((struct dev_identity *)0)->model)];
	char serial[sizeof(((struct dev_identity *)0)->serial)];
	bool identified;
};

static struct shape_rec recs[SHAPE_RECORDS];
static unsigned nrecs;
/* the last function decided past SHAPE_RECORDS: devmgr_bind identifies a
 * function right after its backend is picked, so the `identified` line
 * names the driver, backend and reason it was bound with; the why
 * devmgr_pick_backend hands back lives until the next such decision */
static struct shape_rec spill;
static struct {
	bool done;
	struct smbios_info smbios;
	const char *smbios_why; /* why SMBIOS could not be read, or NULL */
	enum shape_platform plat;
	unsigned evidence;
	const char *iommu;
	enum shape_dma_mode mode;
} pol;

/* the legacy BIOS segment, where SMBIOS 2.x firmware may keep its entry
 * point and table (DSP0134 §5.2.1) and some maps leave out */
#define LEGACY_SEG_LO 0xf0000ull
#define LEGACY_SEG_HI 0x100000ull

/* firmware tables lie outside the RAM mm_init maps: map what is missing,
 * page by page, as firmware memory (mm_map_firmware: its memory type by
 * the memory map) or, in the legacy segment only, uncached. False when
 * some page of [pa, pa + len) is neither mapped nor mappable so, or the
 * range wraps: the caller must not read it. Not mm_map_mmio anywhere
 * else: a pointer to a device's registers (a BAR, which the map need
 * not list) would have the kernel read them, and reads can have effects */
static bool phys_make_readable(uint64_t pa, uint64_t len)
{
	if (pa + len < pa)
		return false;
	for (uint64_t p = ALIGN_DOWN(pa, PAGE_SIZE); p < pa + len;
	     p += PAGE_SIZE)
		if (!(mm_pte(p) & MM_PTE_P) && !mm_map_firmware(p, PAGE_SIZE) &&
		    !(p >= LEGACY_SEG_LO && p < LEGACY_SEG_HI &&
		      mm_map_mmio(p, PAGE_SIZE)))
			return false;
	return true;
}

#ifdef CAPOS_HOST
void devmgr_policy_host_reset(void)
{
	memset(recs, 0, sizeof(recs));
	nrecs = 0;
	memset(&spill, 0, sizeof(spill));
	memset(&pol, 0, sizeof(pol));
}
#endif

const char *devmgr_smbios_read(uint64_t ep, struct smbios_info *s)
{
	static char why_map[96];
	uint64_t table;
	uint32_t len;
	const char *why;
	memset(s, 0, sizeof(*s));
	if (!ep)
		return "firmware gave no SMBIOS entry point";
	if (!phys_make_readable(ep, 32)) {
		ksnprintf(why_map, sizeof(why_map),
			  "entry point at 0x%lx cannot be mapped; not read",
			  ep);
		return why_map;
	}
	if (smbios_parse_entry((const uint8_t *)ep, 32, &table, &len, s,
			       &why) != 0)
		return why;
	if (!phys_make_readable(table, len)) {
		ksnprintf(why_map, sizeof(why_map),
			  "table at 0x%lx (%u bytes) cannot be mapped; not "
			  "read",
			  table, len);
		return why_map;
	}
	if (smbios_parse_table((const uint8_t *)table, len, s) != 0)
		return s->error; /* partial: strings kept */
	return NULL;
}

CMDLINE_KEY(devmgr_dma, "devmgr.dma",
	    "auto, strict or iommu: the DMA isolation a driver must have");

static void policy_init(void)
{
	if (pol.done)
		return;
	pol.done = true;
	const char *m = cmdline_get("devmgr.dma"), *why;
	pol.mode = shape_dma_mode_pick(m, cmdline_cut(), &why);
	if (why)
		kprintf("devmgr: devmgr.dma%s%s: %s; using strict\n",
			m ? "=" : "", m ? m : "", why);
	pol.smbios_why = devmgr_smbios_read(boot_smbios, &pol.smbios);
	if (pol.smbios_why)
		kprintf("devmgr: unable to read SMBIOS fully (%s)\n",
			pol.smbios_why);
	if (!acpi_has_iommu(&pol.iommu))
		pol.iommu = NULL;
	pol.plat = shape_platform_detect(&pol.smbios, &pol.evidence);
	char ev[96];
	shape_evidence_str(pol.evidence, ev, sizeof(ev));
	kprintf("platform: %s evidence=%s smbios=%u.%u vendor=\"%s\" "
		"product=\"%s\" asset=\"%s\" iommu=%s dma=%s\n",
		shape_platform_name(pol.plat), ev, pol.smbios.major,
		pol.smbios.minor, pol.smbios.sys_vendor, pol.smbios.sys_product,
		pol.smbios.chassis_asset_tag, pol.iommu ? pol.iommu : "none",
		pol.mode == SHAPE_DMA_AUTO     ? "auto"
		: pol.mode == SHAPE_DMA_STRICT ? "strict"
					       : "iommu");
}

enum shape_platform devmgr_platform(void)
{
	policy_init();
	return pol.plat;
}

static struct shape_rec *rec_find(const struct pci_dev *d, bool create)
{
	for (unsigned i = 0; i < nrecs; i++)
		if (recs[i].d == d)
			return &recs[i];
	if (!create || nrecs == SHAPE_RECORDS)
		return NULL;
	struct shape_rec *r = &recs[nrecs++]; /* never used: zero */
	r->d = d;
	return r;
}

static void rec_classify(struct shape_rec *r)
{
	const struct pci_dev *d = r->d;
	struct shape_dev in = {
	    .vendor = d->vendor,
	    .device = d->device,
	    .subsys_vendor = d->subsys_vendor,
	    .subsys_device = d->subsys_device,
	    .class_code = d->class_code,
	    .model = r->identified ? r->model : NULL,
	    .serial = r->identified ? r->serial : NULL,
	};
	shape_classify(&in, pol.plat, &r->r);
}

static void rec_print(const struct shape_rec *r, const char *what)
{
	char a[16], ev[128];
	pci_addr_str(r->d, a, sizeof(a));
	shape_evidence_str(r->r.evidence | pol.evidence, ev, sizeof(ev));
	kprintf("shape: %s %s %s platform=%s shape=%s evidence=%s "
		"dma_limit=0x%lx backend=%s reason=\"%s\"\n",
		a, r->driver ? r->driver : "-", what,
		shape_platform_name(pol.plat), shape_kind_name(r->r.kind), ev,
		r->r.dma_limit, dma_backend_name(r->backend), r->why);
}

enum dma_backend devmgr_pick_backend(const struct pci_dev *d,
				     const struct driver *drv, const char **why)
{
	policy_init();
	struct shape_rec *r = rec_find(d, true);
	if (!r) { /* more functions than records: decide, keep in spill */
		spill = (struct shape_rec){.d = d};
		r = &spill;
	}
	r->driver = drv->name;
	rec_classify(r);
	uint16_t sid;
	const char *iwhy;
	enum iommu_scope sc = iommu_scope(d, &sid, &iwhy);
	struct shape_backend_in in = {
	    .dma = drv->dma,
	    .validated = drv->validated,
	    .rings_brokered = drv->rings_brokered,
	    .iommu = pol.iommu,
	    .iommu_supported = sc == IOMMU_IN_SCOPE,
	    .mode = pol.mode,
	};
	r->backend = shape_pick_backend(&in, r->why, sizeof(r->why));
	if (sc == IOMMU_UNIT_FAILED && drv->dma) {
		/* its DMA passes a unit in an unknown state: fail closed
		 * whatever the mode */
		ksnprintf(r->why, sizeof(r->why),
			  "DMAR present but its remapping unit failed (%s): "
			  "not bound",
			  iwhy);
		r->backend = DMA_BACKEND_NONE;
	}
	rec_print(r, "bind");
	*why = r->why;
	return r->backend;
}

bool devmgr_shape_get(const struct pci_dev *d, struct shape_result *r,
		      enum dma_backend *backend, const char **why)
{
	const struct shape_rec *rec = rec_find(d, false);
	if (!rec)
		return false;
	*r = rec->r;
	*backend = rec->backend;
	*why = rec->why;
	return true;
}

const char *devmgr_iommu_table(void)
{
	policy_init();
	return pol.iommu;
}

enum shape_dma_mode devmgr_dma_mode(void)
{
	policy_init();
	return pol.mode;
}

uint64_t devmgr_dma_limit(const struct pci_dev *d)
{
	struct shape_rec tmp = {.d = d};
	const struct shape_rec *r = rec_find(d, false);
	if (!r) { /* past SHAPE_RECORDS: classified again, not kept */
		policy_init();
		rec_classify(&tmp);
		r = &tmp;
	}
	return r->r.dma_limit;
}

uint64_t devmgr_shape_identify(const struct pci_dev *d, const char *serial,
			       const char *model)
{
	policy_init();
	struct shape_rec *r = rec_find(d, true);
	if (!r) { /* more functions than records: classify, keep in spill */
		if (spill.d != d) /* not the one last decided: none known */
			spill = (struct shape_rec){.d = d};
		r = &spill;
	}
	strlcpy(r->serial, serial, sizeof(r->serial));
	strlcpy(r->model, model, sizeof(r->model));
	r->identified = true;
	rec_classify(r);
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	kprintf("shape: %s identify model=\"%s\" serial=\"%s\"\n", a, r->model,
		r->serial);
	rec_print(r, "identified");
	return r->r.dma_limit;
}

/* ---- /api/shape ------------------------------------------------------------
 */
/* a string, or null where there is none (nothing read, no model yet) */
static void kstr_or_null(struct json *j, const char *k, const char *v)
{
	json_key(j, k);
	if (v)
		json_str(j, v);
	else
		json_null(j);
}

static void shape_status(struct json *j)
{
	char ev[128], a[16];
	policy_init();
	shape_evidence_str(pol.evidence, ev, sizeof(ev));
	json_obj(j);
	json_kstr(j, "platform", shape_platform_name(pol.plat));
	json_kstr(j, "evidence", ev);
	json_kobj(j, "smbios");
	json_kstrf(j, "version", "%u.%u", pol.smbios.major, pol.smbios.minor);
	json_kstr(j, "vendor", pol.smbios.sys_vendor);
	json_kstr(j, "product", pol.smbios.sys_product);
	json_kstr(j, "chassis_asset_tag", pol.smbios.chassis_asset_tag);
	json_kstr(j, "bios_vendor", pol.smbios.bios_vendor);
	kstr_or_null(j, "error", pol.smbios_why);
	json_obj_end(j);
	kstr_or_null(j, "iommu", pol.iommu);
	json_kbool(j, "iommu_backend", pol.iommu && !strcmp(pol.iommu, "DMAR"));
	json_kstr(j, "dma_mode",
		  pol.mode == SHAPE_DMA_AUTO	 ? "auto"
		  : pol.mode == SHAPE_DMA_STRICT ? "strict"
						 : "iommu");
	json_karr(j, "devices");
	for (unsigned i = 0; i < nrecs; i++) {
		const struct shape_rec *r = &recs[i];
		pci_addr_str(r->d, a, sizeof(a));
		shape_evidence_str(r->r.evidence, ev, sizeof(ev));
		json_obj(j);
		json_kstr(j, "pci", a);
		json_kstrf(j, "id", "%04x:%04x", r->d->vendor, r->d->device);
		json_kstrf(j, "subsystem", "%04x:%04x", r->d->subsys_vendor,
			   r->d->subsys_device);
		json_kstr(j, "driver", r->driver);
		json_kbool(j, "bound", r->d->drv != NULL);
		json_kstr(j, "shape", shape_kind_name(r->r.kind));
		json_kstr(j, "evidence", ev);
		kstr_or_null(j, "model", r->identified ? r->model : NULL);
		kstr_or_null(j, "serial", r->identified ? r->serial : NULL);
		json_kstrf(j, "dma_limit", "0x%lx", r->r.dma_limit);
		json_kstr(j, "backend", dma_backend_name(r->backend));
		json_kstr(j, "reason", r->why);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
STATUS_REGISTER("shape", shape_status);
