/* kernel/devmgr/shape.c — see shape.h. Pure: tables and string compares.
 *
 * Sources for each identity (checked, not guessed):
 *  - Amazon 1d0f: EBS 0x0061/0x0065/0x8061, instance storage
 *    0xcd00/0xcd01/0xcd02, all limited to 48-bit DMA addresses (Linux
 *    drivers/nvme/host/pci.c nvme_id_table, NVME_QUIRK_DMA_ADDRESS_BITS_48,
 *    added by Amazon in 2021).
 *  - Microsoft 1414:b111, model "MSFT NVMe Accelerator v1.0" for remote
 *    disks, "Microsoft NVMe Direct Disk v1/v2" for local disks (Azure's
 *    azure-vm-utils documentation; OpenVMM's NVMe emulator).
 *  - Google 1ae0:001f class 010802, model "nvme_card-pd" for Persistent
 *    Disk / Hyperdisk, "nvme_card" or "nvme_cardN" for Local SSD;
 *    1ae0:0042 gVNIC.
 *  - SMBIOS: "Amazon EC2"; "Microsoft Corporation" / "Virtual Machine" with
 *    chassis asset tag 7783-7084-3265-9085-8269-3286-77 on Azure only;
 *    "Google" / "Google Compute Engine"; "QEMU" (cloud-init's ds-identify
 *    and Azure's docs use the same strings). */
#include "kernel/devmgr/shape.h"

#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"

struct pci_shape {
	uint16_t vendor, device;
	enum shape_kind kind;
	bool dma48; /* Amazon's 48-bit DMA address limit */
};

static const struct pci_shape pci_shapes[] = {
    {SHAPE_PCI_AMAZON, 0x0061, SHAPE_AWS_EBS, true},
    {SHAPE_PCI_AMAZON, 0x0065, SHAPE_AWS_EBS, true},
    {SHAPE_PCI_AMAZON, SHAPE_PCI_AWS_EBS, SHAPE_AWS_EBS, true},
    {SHAPE_PCI_AMAZON, 0xcd00, SHAPE_AWS_INSTANCE_STORE, true},
    {SHAPE_PCI_AMAZON, SHAPE_PCI_AWS_INSTANCE_STORE, SHAPE_AWS_INSTANCE_STORE,
     true},
    {SHAPE_PCI_AMAZON, 0xcd02, SHAPE_AWS_INSTANCE_STORE, true},
    {SHAPE_PCI_MICROSOFT, SHAPE_PCI_AZURE_NVME, SHAPE_AZURE_MANAGED_DISK,
     false},
    {SHAPE_PCI_GOOGLE, SHAPE_PCI_GCP_NVME, SHAPE_GCP_NVME, false},
    {SHAPE_PCI_GOOGLE, SHAPE_PCI_GCP_GVNIC, SHAPE_GCE_GVNIC, false},
    {SHAPE_PCI_REDHAT, SHAPE_PCI_QEMU_NVME, SHAPE_QEMU_NVME, false},
};

enum match { EXACT, PREFIX, PREFIX_DIGITS };
struct model_shape {
	const char *model;
	enum match how;
	enum shape_kind kind;
};

static const struct model_shape model_shapes[] = {
    {"Amazon Elastic Block Store", EXACT, SHAPE_AWS_EBS},
    {"Amazon EC2 NVMe Instance Storage", EXACT, SHAPE_AWS_INSTANCE_STORE},
    {"MSFT NVMe Accelerator", PREFIX, SHAPE_AZURE_MANAGED_DISK},
    {"Microsoft NVMe Direct Disk", PREFIX, SHAPE_AZURE_LOCAL_DISK},
    {"nvme_card-pd", EXACT, SHAPE_GCP_PERSISTENT_DISK},
    {"nvme_card", PREFIX_DIGITS, SHAPE_GCP_LOCAL_SSD},
    {"QEMU NVMe Ctrl", EXACT, SHAPE_QEMU_NVME},
};

static const char *const platform_names[SHAPE_PLAT_COUNT] = {
    [SHAPE_PLAT_UNKNOWN] = "unknown", [SHAPE_PLAT_QEMU] = "qemu",
    [SHAPE_PLAT_AWS] = "aws-ec2",     [SHAPE_PLAT_AZURE] = "azure",
    [SHAPE_PLAT_HYPERV] = "hyper-v",  [SHAPE_PLAT_GCE] = "gce",
};

static const char *const kind_names[SHAPE_KIND_COUNT] = {
    [SHAPE_NONE] = "none",
    [SHAPE_NVME_UNKNOWN] = "nvme-unknown",
    [SHAPE_QEMU_NVME] = "qemu-nvme",
    [SHAPE_AWS_EBS] = "aws-nitro-ebs",
    [SHAPE_AWS_INSTANCE_STORE] = "aws-instance-store",
    [SHAPE_AZURE_MANAGED_DISK] = "azure-managed-disk",
    [SHAPE_AZURE_LOCAL_DISK] = "azure-local-disk",
    [SHAPE_GCP_NVME] = "gcp-nvme",
    [SHAPE_GCP_PERSISTENT_DISK] = "gcp-persistent-disk",
    [SHAPE_GCP_LOCAL_SSD] = "gcp-local-ssd",
    [SHAPE_GCE_GVNIC] = "gce-gvnic",
};

const char *shape_platform_name(enum shape_platform p)
{
	return p < SHAPE_PLAT_COUNT ? platform_names[p] : "?";
}

const char *shape_kind_name(enum shape_kind k)
{
	return k < SHAPE_KIND_COUNT ? kind_names[k] : "?";
}

static bool str_eq(const char *a, const char *b)
{
	return !strcmp(a, b);
}

static bool str_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* ASCII case-insensitive substring */
static bool str_has_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; *s; s++) {
		size_t i = 0;
		while (i < n && s[i] && (s[i] | 0x20) == (needle[i] | 0x20))
			i++;
		if (i == n)
			return true;
	}
	return false;
}

void shape_id_string(const uint8_t *raw, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	if (!cap)
		return;
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		if (!raw[i])
			break;
		out[k++] =
		    (raw[i] >= 0x20 && raw[i] < 0x7f) ? (char)raw[i] : '?';
	}
	while (k && out[k - 1] == ' ')
		k--;
	out[k] = 0;
}

/* ---- platform ----------------------------------------------------------- */
enum shape_platform shape_platform_detect(const struct smbios_info *s,
					  unsigned *evidence)
{
	unsigned ev = 0;
	enum shape_platform p = SHAPE_PLAT_UNKNOWN;
	if (!s || !s->present) {
		*evidence = 0;
		return p;
	}
	bool ms_vendor = str_eq(s->sys_vendor, "Microsoft Corporation");
	bool ms_vm = str_eq(s->sys_product, "Virtual Machine");
	if (str_eq(s->sys_vendor, "Amazon EC2")) {
		p = SHAPE_PLAT_AWS;
		ev |= SHAPE_EV_SYS_VENDOR;
		if (str_eq(s->bios_vendor, "Amazon EC2"))
			ev |= SHAPE_EV_BIOS;
	} else if (str_eq(s->chassis_asset_tag, SHAPE_AZURE_ASSET_TAG)) {
		/* the tag alone decides Azure (a Hyper-V guest elsewhere
		 * carries the same system strings without it) */
		p = SHAPE_PLAT_AZURE;
		ev |= SHAPE_EV_ASSET_TAG;
		ev |= ms_vendor ? SHAPE_EV_SYS_VENDOR : 0;
		ev |= ms_vm ? SHAPE_EV_SYS_PRODUCT : 0;
	} else if (ms_vendor && ms_vm) {
		p = SHAPE_PLAT_HYPERV;
		ev |= SHAPE_EV_SYS_VENDOR | SHAPE_EV_SYS_PRODUCT;
	} else if (str_eq(s->sys_vendor, "Google") ||
		   str_eq(s->sys_product, "Google Compute Engine")) {
		p = SHAPE_PLAT_GCE;
		ev |= str_eq(s->sys_vendor, "Google") ? SHAPE_EV_SYS_VENDOR : 0;
		ev |= str_eq(s->sys_product, "Google Compute Engine")
			  ? SHAPE_EV_SYS_PRODUCT
			  : 0;
	} else if (str_eq(s->sys_vendor, "Xen") &&
		   str_has_ci(s->bios_version, "amazon")) {
		/* Xen-era EC2 (no NVMe storage there: see the AWS page) */
		p = SHAPE_PLAT_AWS;
		ev |= SHAPE_EV_SYS_VENDOR | SHAPE_EV_BIOS;
	} else if (str_eq(s->sys_vendor, "QEMU") ||
		   str_prefix(s->sys_product, "Standard PC (")) {
		p = SHAPE_PLAT_QEMU;
		ev |= str_eq(s->sys_vendor, "QEMU") ? SHAPE_EV_SYS_VENDOR : 0;
		ev |= str_prefix(s->sys_product, "Standard PC (")
			  ? SHAPE_EV_SYS_PRODUCT
			  : 0;
	}
	*evidence = ev;
	return p;
}

/* ---- devices ------------------------------------------------------------ */
static const struct pci_shape *pci_lookup(uint16_t vendor, uint16_t device)
{
	for (size_t i = 0; i < ARRAY_SIZE(pci_shapes); i++)
		if (pci_shapes[i].vendor == vendor &&
		    pci_shapes[i].device == device)
			return &pci_shapes[i];
	return NULL;
}

static bool model_match(const struct model_shape *m, const char *model)
{
	size_t n = strlen(m->model);
	switch (m->how) {
	case EXACT:
		return str_eq(model, m->model);
	case PREFIX:
		return str_prefix(model, m->model);
	case PREFIX_DIGITS:
		if (!str_prefix(model, m->model))
			return false;
		for (const char *p = model + n; *p; p++)
			if (*p < '0' || *p > '9')
				return false;
		return true;
	}
	return false;
}

static enum shape_kind model_lookup(const char *model)
{
	for (size_t i = 0; i < ARRAY_SIZE(model_shapes); i++)
		if (model_match(&model_shapes[i], model))
			return model_shapes[i].kind;
	return SHAPE_NONE;
}

/* the PCI vendor a shape belongs to: shapes of one vendor may refine each
 * other (PCI says "GCP NVMe", the model says which), others conflict */
static uint16_t kind_vendor(enum shape_kind k)
{
	switch (k) {
	case SHAPE_AWS_EBS:
	case SHAPE_AWS_INSTANCE_STORE:
		return SHAPE_PCI_AMAZON;
	case SHAPE_AZURE_MANAGED_DISK:
	case SHAPE_AZURE_LOCAL_DISK:
		return SHAPE_PCI_MICROSOFT;
	case SHAPE_GCP_NVME:
	case SHAPE_GCP_PERSISTENT_DISK:
	case SHAPE_GCP_LOCAL_SSD:
	case SHAPE_GCE_GVNIC:
		return SHAPE_PCI_GOOGLE;
	case SHAPE_QEMU_NVME:
		return SHAPE_PCI_REDHAT;
	default:
		return 0;
	}
}

void shape_classify(const struct shape_dev *d, enum shape_platform plat,
		    struct shape_result *out)
{
	const struct pci_shape *ps = pci_lookup(d->vendor, d->device);
	bool nvme =
	    (d->class_code & SHAPE_PCI_CLASS_MASK) == SHAPE_PCI_CLASS_NVME;
	enum shape_kind pk = SHAPE_NONE, mk = SHAPE_NONE;
	unsigned ev = 0;
	memset(out, 0, sizeof(*out));
	if (ps) {
		pk = ps->kind;
		ev |= SHAPE_EV_PCI_ID;
		if (d->subsys_vendor == d->vendor)
			ev |= SHAPE_EV_SUBSYS;
	} else if (nvme) {
		pk = SHAPE_NVME_UNKNOWN;
		ev |= SHAPE_EV_PCI_CLASS;
	}
	if (d->model && d->model[0])
		mk = model_lookup(d->model);
	out->kind = pk;
	if (mk != SHAPE_NONE) {
		ev |= SHAPE_EV_MODEL;
		if (pk == SHAPE_NONE || pk == SHAPE_NVME_UNKNOWN) {
			out->kind = mk; /* the model alone */
		} else if (kind_vendor(pk) == kind_vendor(mk)) {
			out->kind = mk;
			if (pk != mk && pk != SHAPE_GCP_NVME)
				ev |= SHAPE_EV_CONFLICT;
		} else {
			/* e.g. QEMU's IDs with Amazon's model: trust neither */
			ev |= SHAPE_EV_CONFLICT;
			out->kind = nvme ? SHAPE_NVME_UNKNOWN : SHAPE_NONE;
		}
	}
	/* EBS serials are the volume id without its dash: "vol0123..." */
	if (out->kind == SHAPE_AWS_EBS && d->serial &&
	    str_prefix(d->serial, "vol"))
		ev |= SHAPE_EV_SERIAL;
	out->evidence = ev;
	if (ps && ps->dma48) {
		out->dma_limit = SHAPE_DMA_LIMIT_48;
		out->limit_why = "amazon nvme controller: 48-bit dma addresses";
	} else if (kind_vendor(out->kind) == SHAPE_PCI_AMAZON) {
		out->dma_limit = SHAPE_DMA_LIMIT_48;
		out->limit_why = "amazon nvme model: 48-bit dma addresses";
	} else if (plat == SHAPE_PLAT_AWS && nvme) {
		/* any NVMe function on EC2 is Amazon's or behind its
		 * hardware: the limit costs nothing below 256 TiB */
		out->dma_limit = SHAPE_DMA_LIMIT_48;
		out->limit_why = "nvme on amazon ec2: 48-bit dma addresses";
	}
}

int shape_evidence_str(unsigned ev, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
	    {SHAPE_EV_PCI_ID, "pci-id"},
	    {SHAPE_EV_PCI_CLASS, "pci-class"},
	    {SHAPE_EV_SUBSYS, "subsystem"},
	    {SHAPE_EV_MODEL, "model"},
	    {SHAPE_EV_SERIAL, "serial"},
	    {SHAPE_EV_CONFLICT, "conflict"},
	    {SHAPE_EV_SYS_VENDOR, "smbios-vendor"},
	    {SHAPE_EV_SYS_PRODUCT, "smbios-product"},
	    {SHAPE_EV_ASSET_TAG, "smbios-asset-tag"},
	    {SHAPE_EV_BIOS, "smbios-bios"},
	};
	struct json t;
	json_init(&t, buf, cap);
	bool any = false;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(ev & names[i].bit))
			continue;
		json_rawf(&t, "%s%s", any ? "," : "", names[i].name);
		any = true;
	}
	if (!any)
		json_rawf(&t, "none");
	return t.overflow ? -1 : (int)t.len;
}

/* ---- the DMA backend ------------------------------------------------------
 */
enum shape_dma_mode shape_dma_mode_pick(const char *v, bool cut,
					const char **why)
{
	*why = NULL;
	if (!v && !cut)
		return SHAPE_DMA_AUTO;
	if (!v) {
		*why = "the command line was cut, and devmgr.dma may be in "
		       "what was lost";
		return SHAPE_DMA_STRICT;
	}
	if (str_eq(v, "auto") && cut) {
		/* a key's last word wins: one in what was lost would */
		*why = "the command line was cut, and a later devmgr.dma, "
		       "which would win, may be in what was lost";
		return SHAPE_DMA_STRICT;
	}
	if (str_eq(v, "auto"))
		return SHAPE_DMA_AUTO;
	if (str_eq(v, "strict"))
		return SHAPE_DMA_STRICT;
	if (str_eq(v, "iommu"))
		return SHAPE_DMA_IOMMU;
	*why = "not auto, strict or iommu";
	return SHAPE_DMA_STRICT;
}

enum dma_backend shape_pick_backend(const struct shape_backend_in *in,
				    char *why, size_t cap)
{
	char note[80];
	if (!in->dma) {
		ksnprintf(why, cap, "no dma");
		return DMA_BACKEND_NONE;
	}
	if (in->iommu && in->iommu_supported) {
		ksnprintf(why, cap, "%s present: iommu backend", in->iommu);
		return DMA_BACKEND_IOMMU;
	}
	if (in->iommu && !strcmp(in->iommu, "DMAR"))
		ksnprintf(note, sizeof(note),
			  "DMAR present but the function is in no remapping "
			  "unit's scope");
	else if (in->iommu)
		ksnprintf(note, sizeof(note),
			  "%s present but capOS has no iommu backend yet",
			  in->iommu);
	else
		ksnprintf(note, sizeof(note),
			  "no iommu table (DMAR/IVRS/VIOT)");
	if (in->mode == SHAPE_DMA_IOMMU) {
		ksnprintf(why, cap, "%s; dma=iommu requires one: not bound",
			  note);
		return DMA_BACKEND_NONE;
	}
	/* the NVMe gate checks every command; the virtio broker writes every
	 * descriptor itself, inside a pinned pool: both confine the device
	 * without an IOMMU */
	if (in->validated || in->rings_brokered) {
		ksnprintf(why, cap, "%s; %s", note,
			  in->validated ? "brokered validator"
					: "brokered virtqueues");
		return DMA_BACKEND_VALIDATOR;
	}
	if (in->mode == SHAPE_DMA_STRICT) {
		ksnprintf(why, cap,
			  "%s; dma=strict and no validator for this driver: "
			  "not bound",
			  note);
		return DMA_BACKEND_NONE;
	}
	ksnprintf(why, cap,
		  "%s; no validator for this driver class: dma confined to "
		  "its own pools by construction only",
		  note);
	return DMA_BACKEND_UNVALIDATED;
}
