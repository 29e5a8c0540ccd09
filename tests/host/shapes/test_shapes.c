/* tests/host/shapes/test_shapes.c — the cloud-shape classifier, the SMBIOS
 * parser and the DMA-backend decision, with each cloud's real identities
 * (PCI IDs and NVMe model strings QEMU cannot present). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/devmgr/devmgr.h"
#include "kernel/devmgr/shape.h"
#include "kernel/devmgr/smbios.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "smbios_build.h"

/* ---- what kernel/devmgr/policy.c calls outside devmgr ---------------------
 * Page tables: nothing is mapped yet (mm_pte finds no page), and
 * mm_map_mmio maps a page unless it lies in [mm_refuse_lo, mm_refuse_hi) —
 * as the kernel's refuses anything at or past the identity map's end
 * (2^47). Every page asked for is counted. */
static uint64_t mm_refuse_lo, mm_refuse_hi;
static unsigned mm_maps, mm_refused;
uint64_t boot_smbios;

uint64_t mm_pte(uint64_t va)
{
	(void)va;
	return 0;
}

/* every page is firmware memory here but those in [mm_refuse_lo,
 * mm_refuse_hi) (MMIO, or nothing the map describes) */
bool mm_map_firmware(uint64_t phys, uint64_t len)
{
	mm_maps++;
	if (phys + len > mm_refuse_lo && phys < mm_refuse_hi) {
		mm_refused++;
		return false;
	}
	return true;
}

/* asked only for the legacy segment: counted, never mapped */
static unsigned mmio_maps;
void *mm_map_mmio(uint64_t phys, size_t len)
{
	(void)len;
	mmio_maps++;
	return phys >= 0xf0000 && phys < 0x100000 ? NULL : (void *)phys;
}

bool acpi_has_iommu(const char **which)
{
	*which = NULL;
	return false;
}

const char *cmdline_get(const char *key)
{
	(void)key;
	return NULL;
}
bool cmdline_cut(void)
{
	return false;
}

void pci_addr_str(const struct pci_dev *d, char *buf, unsigned n)
{
	snprintf(buf, n, "%04x:%02x:%02x.%x", d->seg, d->bus, d->dev, d->fn);
}

/* ---- SMBIOS: platforms -------------------------------------------------- */
static struct smbios_info info_of(struct tb *t)
{
	struct smbios_info s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(t->b, t->n, &s), 0);
	assert_null(s.error);
	return s;
}

static enum shape_platform platform_of(const char *vendor, const char *product,
				       const char *asset, unsigned *ev)
{
	static struct tb t;
	memset(&t, 0, sizeof(t));
	tb_bios(&t, "EDK II", "0.0.0");
	tb_system(&t, vendor, product);
	tb_chassis(&t, vendor, asset);
	tb_end(&t);
	struct smbios_info s = info_of(&t);
	return shape_platform_detect(&s, ev);
}

static void test_platform_aws(void **st)
{
	unsigned ev;
	assert_int_equal(platform_of("Amazon EC2", "m5.large", NULL, &ev),
			 SHAPE_PLAT_AWS);
	assert_int_equal(ev, SHAPE_EV_SYS_VENDOR);
	assert_string_equal(shape_platform_name(SHAPE_PLAT_AWS), "aws-ec2");
}

static void test_platform_azure_vs_hyperv(void **st)
{
	unsigned ev;
	assert_int_equal(platform_of("Microsoft Corporation", "Virtual Machine",
				     SHAPE_AZURE_ASSET_TAG, &ev),
			 SHAPE_PLAT_AZURE);
	assert_int_equal(ev, SHAPE_EV_ASSET_TAG | SHAPE_EV_SYS_VENDOR |
				 SHAPE_EV_SYS_PRODUCT);
	/* same system strings, another or no asset tag: plain Hyper-V */
	assert_int_equal(
	    platform_of("Microsoft Corporation", "Virtual Machine", NULL, &ev),
	    SHAPE_PLAT_HYPERV);
	assert_int_equal(ev, SHAPE_EV_SYS_VENDOR | SHAPE_EV_SYS_PRODUCT);
	assert_int_equal(platform_of("Microsoft Corporation", "Virtual Machine",
				     "7783-7084-3265-9085-8269-3286-78", &ev),
			 SHAPE_PLAT_HYPERV);
	/* one digit short of the tag is not the tag */
	assert_int_equal(platform_of("Microsoft Corporation", "Virtual Machine",
				     "7783-7084-3265-9085-8269-3286-7", &ev),
			 SHAPE_PLAT_HYPERV);
	/* Microsoft hardware that is not a VM is neither */
	assert_int_equal(
	    platform_of("Microsoft Corporation", "Surface Pro", NULL, &ev),
	    SHAPE_PLAT_UNKNOWN);
}

static void test_platform_gce(void **st)
{
	unsigned ev;
	assert_int_equal(
	    platform_of("Google", "Google Compute Engine", NULL, &ev),
	    SHAPE_PLAT_GCE);
	assert_int_equal(ev, SHAPE_EV_SYS_VENDOR | SHAPE_EV_SYS_PRODUCT);
}

static void test_platform_qemu_and_unknown(void **st)
{
	unsigned ev;
	assert_int_equal(
	    platform_of("QEMU", "Standard PC (Q35 + ICH9, 2009)", NULL, &ev),
	    SHAPE_PLAT_QEMU);
	assert_int_equal(ev, SHAPE_EV_SYS_VENDOR | SHAPE_EV_SYS_PRODUCT);
	assert_int_equal(platform_of("Dell Inc.", "PowerEdge R640", NULL, &ev),
			 SHAPE_PLAT_UNKNOWN);
	assert_int_equal(ev, 0);
	/* near misses are not matches */
	assert_int_equal(platform_of("Amazon EC2 ", "x", NULL, &ev) ==
			     SHAPE_PLAT_AWS,
			 1); /* trailing blanks are trimmed by the parser */
	assert_int_equal(platform_of("amazon ec2", "x", NULL, &ev),
			 SHAPE_PLAT_UNKNOWN);
	assert_int_equal(platform_of("Googlex", "Compute", NULL, &ev),
			 SHAPE_PLAT_UNKNOWN);
	struct smbios_info none = {0};
	assert_int_equal(shape_platform_detect(&none, &ev), SHAPE_PLAT_UNKNOWN);
	assert_int_equal(shape_platform_detect(NULL, &ev), SHAPE_PLAT_UNKNOWN);
}

static void test_platform_xen_era_aws(void **st)
{
	static struct tb t;
	unsigned ev;
	memset(&t, 0, sizeof(t));
	tb_bios(&t, "Xen", "4.11.amazon");
	tb_system(&t, "Xen", "HVM domU");
	tb_end(&t);
	struct smbios_info s = info_of(&t);
	assert_int_equal(shape_platform_detect(&s, &ev), SHAPE_PLAT_AWS);
	assert_int_equal(ev, SHAPE_EV_SYS_VENDOR | SHAPE_EV_BIOS);
	/* Xen without Amazon's BIOS string is just Xen */
	memset(&t, 0, sizeof(t));
	tb_bios(&t, "Xen", "4.11");
	tb_system(&t, "Xen", "HVM domU");
	tb_end(&t);
	s = info_of(&t);
	assert_int_equal(shape_platform_detect(&s, &ev), SHAPE_PLAT_UNKNOWN);
}

/* ---- devices ----------------------------------------------------------- */
static struct shape_result classify(uint16_t v, uint16_t dev, uint32_t cls,
				    const char *model, const char *serial,
				    enum shape_platform plat)
{
	struct shape_dev d = {.vendor = v,
			      .device = dev,
			      .subsys_vendor = v,
			      .subsys_device = dev,
			      .class_code = cls,
			      .model = model,
			      .serial = serial};
	struct shape_result r;
	shape_classify(&d, plat, &r);
	return r;
}

#define NVME SHAPE_PCI_CLASS_NVME
#define P_ID (SHAPE_EV_PCI_ID | SHAPE_EV_SUBSYS)

static void test_aws_ebs(void **st)
{
	/* before Identify: the PCI ID alone, and the 48-bit limit */
	struct shape_result r =
	    classify(0x1d0f, 0x8061, NVME, NULL, NULL, SHAPE_PLAT_AWS);
	assert_int_equal(r.kind, SHAPE_AWS_EBS);
	assert_int_equal(r.evidence, P_ID);
	assert_int_equal(r.dma_limit, 1ull << 48);
	assert_non_null(r.limit_why);
	/* after Identify: model and the vol... serial agree */
	r = classify(0x1d0f, 0x8061, NVME, "Amazon Elastic Block Store",
		     "vol0123456789abcdef0", SHAPE_PLAT_AWS);
	assert_int_equal(r.kind, SHAPE_AWS_EBS);
	assert_int_equal(r.evidence, P_ID | SHAPE_EV_MODEL | SHAPE_EV_SERIAL);
	assert_string_equal(shape_kind_name(r.kind), "aws-nitro-ebs");
	/* the older EBS device IDs Linux also quirks */
	for (unsigned id = 0; id < 2; id++) {
		r = classify(0x1d0f, id ? 0x0065 : 0x0061, NVME, NULL, NULL,
			     SHAPE_PLAT_UNKNOWN);
		assert_int_equal(r.kind, SHAPE_AWS_EBS);
		assert_int_equal(r.dma_limit, 1ull << 48);
	}
}

static void test_aws_instance_store(void **st)
{
	static const uint16_t ids[] = {0xcd00, 0xcd01, 0xcd02};
	for (unsigned i = 0; i < 3; i++) {
		struct shape_result r =
		    classify(0x1d0f, ids[i], NVME, NULL, NULL, SHAPE_PLAT_AWS);
		assert_int_equal(r.kind, SHAPE_AWS_INSTANCE_STORE);
		assert_int_equal(r.dma_limit, 1ull << 48);
	}
	struct shape_result r =
	    classify(0x1d0f, 0xcd01, NVME, "Amazon EC2 NVMe Instance Storage",
		     "AWS1234567890ABCDEF", SHAPE_PLAT_AWS);
	assert_int_equal(r.kind, SHAPE_AWS_INSTANCE_STORE);
	assert_int_equal(r.evidence, P_ID | SHAPE_EV_MODEL);
	assert_string_equal(shape_kind_name(r.kind), "aws-instance-store");
	/* an EBS device ID with the instance-store model: the model names
	 * which, the disagreement is recorded */
	r = classify(0x1d0f, 0x8061, NVME, "Amazon EC2 NVMe Instance Storage",
		     NULL, SHAPE_PLAT_AWS);
	assert_int_equal(r.kind, SHAPE_AWS_INSTANCE_STORE);
	assert_true(r.evidence & SHAPE_EV_CONFLICT);
}

static void test_azure(void **st)
{
	struct shape_result r =
	    classify(0x1414, 0xb111, NVME, NULL, NULL, SHAPE_PLAT_AZURE);
	assert_int_equal(r.kind, SHAPE_AZURE_MANAGED_DISK);
	assert_int_equal(r.evidence, P_ID);
	assert_int_equal(r.dma_limit, 0);
	r = classify(0x1414, 0xb111, NVME, "MSFT NVMe Accelerator v1.0",
		     "SN: 000001", SHAPE_PLAT_AZURE);
	assert_int_equal(r.kind, SHAPE_AZURE_MANAGED_DISK);
	assert_int_equal(r.evidence, P_ID | SHAPE_EV_MODEL);
	assert_string_equal(shape_kind_name(r.kind), "azure-managed-disk");
	/* local disks: the model decides (their device IDs are not in the
	 * table); both generations */
	r = classify(0x1414, 0xb112, NVME, "Microsoft NVMe Direct Disk v2",
		     NULL, SHAPE_PLAT_AZURE);
	assert_int_equal(r.kind, SHAPE_AZURE_LOCAL_DISK);
	assert_int_equal(r.evidence, SHAPE_EV_PCI_CLASS | SHAPE_EV_MODEL);
	r = classify(0x1414, 0xb111, NVME, "Microsoft NVMe Direct Disk v1",
		     NULL, SHAPE_PLAT_AZURE);
	assert_int_equal(r.kind, SHAPE_AZURE_LOCAL_DISK);
	assert_int_equal(r.evidence, P_ID | SHAPE_EV_MODEL | SHAPE_EV_CONFLICT);
}

static void test_gcp(void **st)
{
	struct shape_result r =
	    classify(0x1ae0, 0x001f, NVME, NULL, NULL, SHAPE_PLAT_GCE);
	assert_int_equal(r.kind, SHAPE_GCP_NVME); /* PD or Local SSD: unread */
	r = classify(0x1ae0, 0x001f, NVME, "nvme_card-pd", "nvme_card-pd",
		     SHAPE_PLAT_GCE);
	assert_int_equal(r.kind, SHAPE_GCP_PERSISTENT_DISK);
	assert_int_equal(r.evidence, P_ID | SHAPE_EV_MODEL);
	assert_int_equal(r.dma_limit, 0);
	assert_string_equal(shape_kind_name(r.kind), "gcp-persistent-disk");
	r = classify(0x1ae0, 0x001f, NVME, "nvme_card", NULL, SHAPE_PLAT_GCE);
	assert_int_equal(r.kind, SHAPE_GCP_LOCAL_SSD);
	assert_int_equal(r.evidence, P_ID | SHAPE_EV_MODEL);
	r = classify(0x1ae0, 0x001f, NVME, "nvme_card12", NULL, SHAPE_PLAT_GCE);
	assert_int_equal(r.kind, SHAPE_GCP_LOCAL_SSD);
	/* not Google's pattern: the PCI ID stands, no model evidence */
	r = classify(0x1ae0, 0x001f, NVME, "nvme_cardX", NULL, SHAPE_PLAT_GCE);
	assert_int_equal(r.kind, SHAPE_GCP_NVME);
	assert_int_equal(r.evidence, P_ID);
	r = classify(0x1ae0, 0x001f, NVME, "nvme_card-pdx", NULL,
		     SHAPE_PLAT_GCE);
	assert_int_equal(r.kind, SHAPE_GCP_NVME);
	/* gVNIC, subsystem 1ae0:0058 */
	struct shape_dev g = {.vendor = 0x1ae0,
			      .device = 0x0042,
			      .subsys_vendor = 0x1ae0,
			      .subsys_device = 0x0058,
			      .class_code = 0x020000};
	shape_classify(&g, SHAPE_PLAT_GCE, &r);
	assert_int_equal(r.kind, SHAPE_GCE_GVNIC);
	assert_int_equal(r.evidence, SHAPE_EV_PCI_ID | SHAPE_EV_SUBSYS);
}

static void test_qemu_and_unknown(void **st)
{
	struct shape_result r = classify(0x1b36, 0x0010, NVME, "QEMU NVMe Ctrl",
					 "capos0", SHAPE_PLAT_QEMU);
	assert_int_equal(r.kind, SHAPE_QEMU_NVME);
	assert_int_equal(r.evidence, P_ID | SHAPE_EV_MODEL);
	assert_int_equal(r.dma_limit, 0);
	/* QEMU's controller on an EC2-looking platform: the platform rule
	 * bounds its DMA too (what the local AWS proof exercises) */
	r = classify(0x1b36, 0x0010, NVME, "QEMU NVMe Ctrl",
		     "vol0123456789abcdef0", SHAPE_PLAT_AWS);
	assert_int_equal(r.kind, SHAPE_QEMU_NVME);
	assert_false(r.evidence & SHAPE_EV_SERIAL); /* not EBS: not counted */
	assert_int_equal(r.dma_limit, 1ull << 48);
	/* QEMU's IDs with Amazon's model string: trust neither */
	r = classify(0x1b36, 0x0010, NVME, "Amazon Elastic Block Store", NULL,
		     SHAPE_PLAT_QEMU);
	assert_int_equal(r.kind, SHAPE_NVME_UNKNOWN);
	assert_true(r.evidence & SHAPE_EV_CONFLICT);
	/* an NVMe SSD nobody listed */
	r = classify(0x144d, 0xa808, NVME, "Samsung SSD 970 EVO", NULL,
		     SHAPE_PLAT_UNKNOWN);
	assert_int_equal(r.kind, SHAPE_NVME_UNKNOWN);
	assert_int_equal(r.evidence, SHAPE_EV_PCI_CLASS);
	/* ...unless its model is a cloud's: then the model alone */
	r = classify(0x144d, 0xa808, NVME, "Amazon Elastic Block Store", NULL,
		     SHAPE_PLAT_UNKNOWN);
	assert_int_equal(r.kind, SHAPE_AWS_EBS);
	assert_int_equal(r.dma_limit, 1ull << 48);
	/* not storage at all */
	r = classify(0x1af4, 0x1041, 0x020000, NULL, NULL, SHAPE_PLAT_QEMU);
	assert_int_equal(r.kind, SHAPE_NONE);
	assert_int_equal(r.evidence, 0);
	r = classify(0x1af4, 0x1041, 0x020000, NULL, NULL, SHAPE_PLAT_AWS);
	assert_int_equal(r.dma_limit, 0); /* the platform rule is for NVMe */
}

static void test_id_string(void **st)
{
	char out[41];
	uint8_t mn[40];
	memset(mn, ' ', sizeof(mn));
	memcpy(mn, "Amazon Elastic Block Store", 26);
	shape_id_string(mn, 40, out, sizeof(out));
	assert_string_equal(out, "Amazon Elastic Block Store");
	memcpy(mn, "ab\x01\xff", 4);
	shape_id_string(mn, 4, out, sizeof(out));
	assert_string_equal(out, "ab??");
	memcpy(mn, "ab\0cd", 5);
	shape_id_string(mn, 5, out, sizeof(out));
	assert_string_equal(out, "ab");
	memset(mn, 'x', 40);
	shape_id_string(mn, 40, out, 8); /* bounded by the output */
	assert_string_equal(out, "xxxxxxx");
	memset(mn, ' ', 40);
	shape_id_string(mn, 40, out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_evidence_str(void **st)
{
	char b[128];
	assert_int_equal(shape_evidence_str(0, b, sizeof(b)), 4);
	assert_string_equal(b, "none");
	shape_evidence_str(SHAPE_EV_PCI_ID | SHAPE_EV_MODEL |
			       SHAPE_EV_ASSET_TAG,
			   b, sizeof(b));
	assert_string_equal(b, "pci-id,model,smbios-asset-tag");
	/* too small: all or nothing, never a clipped name */
	int n = shape_evidence_str(SHAPE_EV_PCI_ID | SHAPE_EV_MODEL, b, 12);
	assert_int_equal(n, -1);
	assert_string_equal(b, "");
	assert_int_equal(
	    shape_evidence_str(SHAPE_EV_PCI_ID | SHAPE_EV_MODEL, b, 13), 12);
	assert_string_equal(b, "pci-id,model");
}

/* ---- the DMA backend ------------------------------------------------------
 */
static enum dma_backend pick(bool dma, bool validated, const char *iommu,
			     bool supported, enum shape_dma_mode mode,
			     char *why)
{
	struct shape_backend_in in = {dma,	 validated, iommu,
				      supported, mode,	    false};
	return shape_pick_backend(&in, why, 160);
}

static void test_backend(void **st)
{
	char why[160];
	assert_int_equal(pick(true, true, NULL, false, SHAPE_DMA_AUTO, why),
			 DMA_BACKEND_VALIDATOR);
	assert_non_null(strstr(why, "no iommu table"));
	assert_non_null(strstr(why, "brokered validator"));
	/* DMAR present but the function in no unit's scope: said plainly,
	 * validator used; an IOMMU capOS has no backend for: the same */
	assert_int_equal(pick(true, true, "DMAR", false, SHAPE_DMA_AUTO, why),
			 DMA_BACKEND_VALIDATOR);
	assert_non_null(strstr(why, "DMAR present but the function is in no "
				    "remapping unit's scope"));
	assert_int_equal(pick(true, true, "IVRS", false, SHAPE_DMA_AUTO, why),
			 DMA_BACKEND_VALIDATOR);
	assert_non_null(
	    strstr(why, "IVRS present but capOS has no iommu backend"));
	/* once capOS has one, it wins */
	assert_int_equal(pick(true, true, "IVRS", true, SHAPE_DMA_AUTO, why),
			 DMA_BACKEND_IOMMU);
	/* NICs: unvalidated in auto, refused in strict */
	assert_int_equal(pick(true, false, NULL, false, SHAPE_DMA_AUTO, why),
			 DMA_BACKEND_UNVALIDATED);
	assert_non_null(strstr(why, "by construction only"));
	assert_int_equal(
	    pick(true, false, "VIOT", false, SHAPE_DMA_STRICT, why),
	    DMA_BACKEND_NONE);
	assert_non_null(strstr(why, "not bound"));
	assert_int_equal(pick(true, true, NULL, false, SHAPE_DMA_STRICT, why),
			 DMA_BACKEND_VALIDATOR);
	/* virtio-net: its rings brokered, so strict binds it; the IOMMU
	 * still wins where it is usable, and dma=iommu still wants one */
	struct shape_backend_in vq = {
	    .dma = true, .mode = SHAPE_DMA_STRICT, .rings_brokered = true};
	assert_int_equal(shape_pick_backend(&vq, why, 160),
			 DMA_BACKEND_VALIDATOR);
	assert_string_equal(why, "no iommu table (DMAR/IVRS/VIOT); brokered "
				 "virtqueues");
	vq.iommu = "DMAR", vq.iommu_supported = true;
	assert_int_equal(shape_pick_backend(&vq, why, 160), DMA_BACKEND_IOMMU);
	vq.iommu_supported = false, vq.mode = SHAPE_DMA_IOMMU;
	assert_int_equal(shape_pick_backend(&vq, why, 160), DMA_BACKEND_NONE);
	/* iommu required and none usable: nothing DMA-capable binds */
	assert_int_equal(pick(true, true, "DMAR", false, SHAPE_DMA_IOMMU, why),
			 DMA_BACKEND_NONE);
	assert_non_null(strstr(why, "dma=iommu requires one"));
	assert_int_equal(pick(true, true, NULL, false, SHAPE_DMA_IOMMU, why),
			 DMA_BACKEND_NONE);
	assert_int_equal(pick(true, true, "DMAR", true, SHAPE_DMA_IOMMU, why),
			 DMA_BACKEND_IOMMU);
	assert_int_equal(pick(false, false, NULL, false, SHAPE_DMA_AUTO, why),
			 DMA_BACKEND_NONE);
	/* the reason always fits and is terminated */
	struct shape_backend_in in = {
	    true, false, "DMAR", false, SHAPE_DMA_STRICT, false};
	char small[16];
	shape_pick_backend(&in, small, sizeof(small));
	assert_int_equal(strlen(small), 15);
}

static void test_mode_parse(void **st)
{
	(void)st;
	const char *why;
	assert_int_equal(shape_dma_mode_pick("strict", false, &why),
			 SHAPE_DMA_STRICT);
	assert_null(why);
	assert_int_equal(shape_dma_mode_pick("iommu", false, &why),
			 SHAPE_DMA_IOMMU);
	assert_null(why);
	assert_int_equal(shape_dma_mode_pick("auto", false, &why),
			 SHAPE_DMA_AUTO);
	assert_null(why);
	/* nor a kept auto on a cut line: the last of a key's words wins, and
	 * devmgr.dma=strict appended may be in what was lost */
	assert_int_equal(shape_dma_mode_pick("auto", true, &why),
			 SHAPE_DMA_STRICT);
	assert_non_null(why);
	assert_int_equal(shape_dma_mode_pick("strict", true, &why),
			 SHAPE_DMA_STRICT);
	assert_null(why);
	/* absent from a whole command line: auto */
	assert_int_equal(shape_dma_mode_pick(NULL, false, &why),
			 SHAPE_DMA_AUTO);
	assert_null(why);
	/* a typo must not loosen the policy */
	assert_int_equal(shape_dma_mode_pick("Strict", false, &why),
			 SHAPE_DMA_STRICT);
	assert_non_null(why);
	assert_int_equal(shape_dma_mode_pick("", false, &why),
			 SHAPE_DMA_STRICT);
	assert_non_null(why);
	/* nor may a cut command line, which may have lost devmgr.dma=strict */
	assert_int_equal(shape_dma_mode_pick(NULL, true, &why),
			 SHAPE_DMA_STRICT);
	assert_non_null(why);
}

/* ---- SMBIOS: entry points ----------------------------------------------- */
static void test_entry_2_1(void **st)
{
	uint8_t ep[32];
	uint64_t table;
	uint32_t len;
	const char *why;
	struct smbios_info s = {0};
	tb_ep2(ep, 0xf0000, 0x1234);
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why), 0);
	assert_int_equal(table, 0xf0000);
	assert_int_equal(len, 0x1234);
	assert_int_equal(s.major, 2);
	assert_int_equal(s.minor, 8);
	/* the 2.1 spec's own 0x1e length is tolerated */
	ep[SMBIOS2_EP_LENGTH] = 0x1e;
	ep[SMBIOS2_EP_CKSUM] = 0;
	ep[SMBIOS2_EP_CKSUM] = (uint8_t)-tb_sum(ep, 0x1e);
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why), 0);
	/* a flipped byte breaks the checksum */
	tb_ep2(ep, 0xf0000, 0x1234);
	ep[SMBIOS2_EP_TABLE_ADDR] ^= 1;
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why),
			 -1);
	assert_non_null(strstr(why, "checksum"));
	/* a broken intermediate anchor */
	tb_ep2(ep, 0xf0000, 0x1234);
	ep[SMBIOS2_EP_DMI] = 'X';
	ep[SMBIOS2_EP_CKSUM] += '_' - 'X'; /* outer sum still 0 */
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why),
			 -1);
	assert_non_null(strstr(why, "_DMI_"));
	/* too short a buffer */
	tb_ep2(ep, 0xf0000, 0x1234);
	assert_int_equal(smbios_parse_entry(ep, 0x1e, &table, &len, &s, &why),
			 -1);
	/* an empty table */
	tb_ep2(ep, 0xf0000, 0);
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why),
			 -1);
	assert_non_null(strstr(why, "empty"));
}

static void test_entry_3_0(void **st)
{
	uint8_t ep[32];
	uint64_t table;
	uint32_t len;
	const char *why;
	struct smbios_info s = {0};
	tb_ep3(ep, 0x7f6a0000ull, 0x2000);
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why), 0);
	assert_int_equal(table, 0x7f6a0000ull);
	assert_int_equal(len, 0x2000);
	assert_int_equal(s.major, 3);
	/* an absurd maximum is clamped, not trusted */
	tb_ep3(ep, 0x1000, 0xffffff00u);
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why), 0);
	assert_int_equal(len, SMBIOS_MAX_TABLE);
	/* wrapping the address space */
	tb_ep3(ep, 0xfffffffffffff000ull, 0x2000);
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why),
			 -1);
	/* length byte larger than what can be read */
	tb_ep3(ep, 0x1000, 0x100);
	ep[SMBIOS3_EP_LENGTH] = 0x40;
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why),
			 -1);
	/* no anchor at all */
	memset(ep, 0, 32);
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why),
			 -1);
	assert_non_null(strstr(why, "anchor"));
	assert_int_equal(smbios_parse_entry(ep, 3, &table, &len, &s, &why), -1);
}

/* ---- SMBIOS: the table ----------------------------------------------------
 */
static void test_table_strings(void **st)
{
	static struct tb t;
	memset(&t, 0, sizeof(t));
	tb_bios(&t, "Amazon EC2", "1.0");
	tb_system(&t, "Amazon EC2   ", "c5.\x01xlarge");
	tb_system(&t, "Second", "Ignored"); /* the first of a type counts */
	tb_chassis(&t, "Amazon EC2", NULL);
	tb_end(&t);
	tb_system(&t, "After", "End"); /* past the end structure: not read */
	struct smbios_info s = info_of(&t);
	assert_string_equal(s.bios_vendor, "Amazon EC2");
	assert_string_equal(s.sys_vendor, "Amazon EC2");
	assert_string_equal(s.sys_product, "c5.?xlarge");
	assert_string_equal(s.sys_version, "1.0");
	assert_string_equal(s.chassis_asset_tag, "");
	assert_int_equal(s.nstructs, 5);
	/* a 100-character string is cut to what the field holds */
	char longs[101];
	memset(longs, 'a', 100);
	longs[100] = 0;
	memset(&t, 0, sizeof(t));
	tb_system(&t, longs, "p");
	tb_end(&t);
	s = info_of(&t);
	assert_int_equal(strlen(s.sys_vendor), SMBIOS_STR_MAX - 1);
}

static void test_table_bad_string_index(void **st)
{
	static struct tb t;
	memset(&t, 0, sizeof(t));
	uint8_t f[0x1b - 4] = {0};
	const char *strs[] = {"only", NULL};
	f[SMBIOS_SYS_MANUFACTURER - 4] = 1;
	f[SMBIOS_SYS_PRODUCT - 4] = 7; /* no seventh string */
	tb_struct(&t, SMBIOS_TYPE_SYSTEM, 0x1b, f, strs);
	tb_end(&t);
	struct smbios_info s = info_of(&t);
	assert_string_equal(s.sys_vendor, "only");
	assert_string_equal(s.sys_product, "");
	/* a structure too short to hold the field: "" */
	memset(&t, 0, sizeof(t));
	tb_struct(&t, SMBIOS_TYPE_SYSTEM, 5, (const uint8_t[]){1}, strs);
	tb_end(&t);
	s = info_of(&t);
	assert_string_equal(s.sys_vendor, "only");
	assert_string_equal(s.sys_product, "");
}

static void test_table_malformed(void **st)
{
	static struct tb t;
	struct smbios_info s;
	/* header length below 4 */
	memset(&t, 0, sizeof(t));
	tb_system(&t, "QEMU", "pc");
	size_t second = t.n;
	tb_end(&t);
	t.b[second + SMBIOS_HDR_LEN] = 3;
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(t.b, t.n, &s), -1);
	assert_non_null(strstr(s.error, "shorter than its header"));
	assert_string_equal(s.sys_vendor, "QEMU"); /* what came before stays */
	/* formatted area past the table */
	memset(&t, 0, sizeof(t));
	tb_system(&t, "QEMU", "pc");
	t.b[SMBIOS_HDR_LEN] = 0xff;
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(t.b, 0x40, &s), -1);
	assert_non_null(strstr(s.error, "past the table"));
	/* string set cut off by the table length */
	memset(&t, 0, sizeof(t));
	tb_system(&t, "QEMU", "Standard PC");
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(t.b, t.n - 1, &s), -1);
	assert_non_null(strstr(s.error, "not terminated"));
	/* a table without an end structure, cut exactly: fine */
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(t.b, t.n, &s), 0);
	assert_string_equal(s.sys_product, "Standard PC");
	/* a stray tail shorter than a header is ignored */
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(t.b, t.n + 3, &s), 0);
	/* an endless run of tiny structures is cut off */
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < SMBIOS_MAX_STRUCTS + 5; i++)
		tb_struct(&t, 0x80, 4, NULL, NULL);
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(t.b, t.n, &s), -1);
	assert_int_equal(s.nstructs, SMBIOS_MAX_STRUCTS);
	/* nothing at all */
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(t.b, 0, &s), 0);
	assert_int_equal(s.nstructs, 0);
}

/* the whole path for every cloud: entry point -> table -> platform, and
 * the NVMe function's shape with the identity that cloud presents */
static void test_end_to_end(void **st)
{
	static const struct {
		const char *vendor, *product, *asset;
		uint16_t pv, pd;
		const char *model;
		enum shape_platform plat;
		enum shape_kind kind;
		uint64_t limit;
	} c[] = {
	    {"Amazon EC2", "m6i.large", NULL, 0x1d0f, 0x8061,
	     "Amazon Elastic Block Store", SHAPE_PLAT_AWS, SHAPE_AWS_EBS,
	     1ull << 48},
	    {"Microsoft Corporation", "Virtual Machine", SHAPE_AZURE_ASSET_TAG,
	     0x1414, 0xb111, "MSFT NVMe Accelerator v1.0", SHAPE_PLAT_AZURE,
	     SHAPE_AZURE_MANAGED_DISK, 0},
	    {"Google", "Google Compute Engine", NULL, 0x1ae0, 0x001f,
	     "nvme_card-pd", SHAPE_PLAT_GCE, SHAPE_GCP_PERSISTENT_DISK, 0},
	    {"QEMU", "Standard PC (Q35 + ICH9, 2009)", NULL, 0x1b36, 0x0010,
	     "QEMU NVMe Ctrl", SHAPE_PLAT_QEMU, SHAPE_QEMU_NVME, 0},
	};
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		static struct tb t;
		uint8_t ep[32];
		uint64_t table;
		uint32_t len;
		const char *why;
		unsigned ev;
		memset(&t, 0, sizeof(t));
		tb_system(&t, c[i].vendor, c[i].product);
		tb_chassis(&t, c[i].vendor, c[i].asset);
		tb_end(&t);
		if (i & 1)
			tb_ep3(ep, 0x1000, (uint32_t)t.n + 64);
		else
			tb_ep2(ep, 0x1000, (uint16_t)t.n);
		struct smbios_info s = {0};
		assert_int_equal(
		    smbios_parse_entry(ep, 32, &table, &len, &s, &why), 0);
		assert_true(len >= t.n);
		/* the table "at" 0x1000 is t.b; a 3.0 maximum overshoots and
		 * the end structure stops the walk */
		assert_int_equal(smbios_parse_table(t.b, len, &s), 0);
		enum shape_platform p = shape_platform_detect(&s, &ev);
		assert_int_equal(p, c[i].plat);
		struct shape_result r =
		    classify(c[i].pv, c[i].pd, NVME, c[i].model, NULL, p);
		assert_int_equal(r.kind, c[i].kind);
		assert_int_equal(r.dma_limit, c[i].limit);
	}
}

/* The SMBIOS entry point and table are read only where they could be
 * mapped as firmware memory (mm_map_firmware: memory the map calls
 * firmware's, below the identity map's end, 2^47), and a page it did not
 * map is not read — the reason is kept
 * (devmgr prints it on one line, /api/shape serves it) and nothing is
 * parsed. Before, phys_make_readable ignored the failure and the entry
 * point or table was read unmapped (a page fault at boot). */
static void test_smbios_unmappable_not_read(void **st)
{
	static struct tb t;
	static uint8_t ep[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
	struct smbios_info s;
	memset(&t, 0, sizeof(t));
	tb_system(&t, "Google", "Google Compute Engine");
	tb_end(&t);
	tb_ep3(ep, (uint64_t)t.b, (uint32_t)t.n);
	uint64_t e = (uint64_t)ep, tbl = (uint64_t)t.b;
	/* everything mappable: read whole, every page asked for */
	mm_refuse_lo = mm_refuse_hi = 0;
	mm_maps = mm_refused = 0;
	assert_null(devmgr_smbios_read(e, &s));
	assert_string_equal(s.sys_vendor, "Google");
	assert_true(mm_maps >= 2);
	/* the entry point's page cannot be mapped: nothing read */
	mm_refuse_lo = ALIGN_DOWN(e, PAGE_SIZE);
	mm_refuse_hi = mm_refuse_lo + PAGE_SIZE;
	mm_refused = 0;
	const char *why = devmgr_smbios_read(e, &s);
	assert_non_null(why);
	assert_non_null(strstr(why, "entry point"));
	assert_non_null(strstr(why, "cannot be mapped"));
	assert_int_equal(mm_refused, 1);
	assert_false(s.present);
	assert_string_equal(s.sys_vendor, "");
	/* the table's last page cannot be mapped: the table is not read */
	mm_refuse_lo = ALIGN_DOWN(tbl + t.n - 1, PAGE_SIZE);
	mm_refuse_hi = mm_refuse_lo + PAGE_SIZE;
	mm_refused = 0;
	why = devmgr_smbios_read(e, &s);
	assert_non_null(why);
	assert_non_null(strstr(why, "table at"));
	assert_int_equal(mm_refused, 1);
	assert_false(s.present);
	assert_string_equal(s.sys_vendor, "");
	/* as the kernel's mm: nothing at or past 2^47 maps; a table there
	 * is not read */
	mm_refuse_lo = 1ull << 47;
	mm_refuse_hi = ~0ull;
	tb_ep3(ep, 1ull << 47, 0x2000);
	mm_refused = 0;
	why = devmgr_smbios_read(e, &s);
	assert_non_null(why);
	assert_non_null(strstr(why, "table at 0x800000000000 (8192 bytes)"));
	assert_int_equal(mm_refused, 1);
	assert_false(s.present);
	/* a page that is no firmware memory is not mapped as a device's
	 * either (it may be a BAR: reads have effects) but in the legacy
	 * segment. Before, mm_map_mmio mapped it and the kernel read it */
	tb_ep3(ep, (uint64_t)t.b, (uint32_t)t.n);
	mm_refuse_lo = ALIGN_DOWN(tbl, PAGE_SIZE);
	mm_refuse_hi = mm_refuse_lo + PAGE_SIZE;
	mmio_maps = 0;
	why = devmgr_smbios_read(e, &s);
	assert_non_null(why);
	assert_non_null(strstr(why, "cannot be mapped"));
	assert_int_equal(mmio_maps, 0);
	assert_false(s.present);
	mm_refuse_lo = 0xf0000;
	mm_refuse_hi = 0x100000;
	tb_ep3(ep, 0xf1000, 0x100);
	why = devmgr_smbios_read(e, &s);
	assert_non_null(strstr(why, "table at 0xf1000"));
	assert_int_equal(mmio_maps, 1); /* the legacy segment: asked */
	mm_refuse_lo = mm_refuse_hi = 0;
	/* no entry point at all */
	assert_non_null(strstr(devmgr_smbios_read(0, &s), "no SMBIOS"));
}

/* ---- the tests that kill make mutate's survivors in smbios.c -------------
 */
/* DSP0134 §5.2.1, §5.2.2: an entry point is SMBIOS2_EP_LEN (0x1f) or
 * SMBIOS3_EP_LEN (0x18) bytes; exactly that much readable is enough */
static void test_smbios_s5_2_entry_point_exactly_its_length(void **st)
{
	uint8_t ep[32];
	uint64_t table;
	uint32_t len;
	const char *why;
	struct smbios_info s = {0};
	tb_ep2(ep, 0xf0000, 0x1234);
	uint8_t *e = malloc(SMBIOS2_EP_LEN); /* exact: ASan sees a byte more */
	memcpy(e, ep, SMBIOS2_EP_LEN);
	assert_int_equal(
	    smbios_parse_entry(e, SMBIOS2_EP_LEN, &table, &len, &s, &why), 0);
	assert_int_equal(table, 0xf0000);
	free(e);
	tb_ep3(ep, 0x7f6a0000ull, 0x2000);
	e = malloc(SMBIOS3_EP_LEN);
	memcpy(e, ep, SMBIOS3_EP_LEN);
	assert_int_equal(
	    smbios_parse_entry(e, SMBIOS3_EP_LEN, &table, &len, &s, &why), 0);
	assert_int_equal(table, 0x7f6a0000ull);
	assert_int_equal(len, 0x2000);
	free(e);
}

/* DSP0134 §5.2.2: a 3.0 entry point whose Entry Point Length is below
 * SMBIOS3_EP_LEN (0x18) does not hold the table address it would be read
 * for: refused, though its checksum over that length holds */
static void test_smbios_s5_2_2_entry_point_length_below_0x18_refused(void **st)
{
	uint8_t ep[32];
	uint64_t table = 0;
	uint32_t len = 0;
	const char *why;
	struct smbios_info s = {0};
	for (uint8_t n = SMBIOS3_EP_LENGTH + 1; n < SMBIOS3_EP_LEN; n++) {
		tb_ep3(ep, 0x7f6a0000ull, 0x2000);
		ep[SMBIOS3_EP_LENGTH] = n;
		ep[SMBIOS3_EP_CKSUM] = 0;
		ep[SMBIOS3_EP_CKSUM] = (uint8_t)-tb_sum(ep, n);
		assert_int_equal(
		    smbios_parse_entry(ep, 32, &table, &len, &s, &why), -1);
		assert_string_equal(why, "3.0 entry point length out of range");
	}
}

/* DSP0134 §6.1.2: a structure's Length covers its formatted area only; a
 * string-number field at or past it is absent (""), not read from the
 * string set after it or past the table (here allocated to its exact
 * length, so ASan sees a read past it) */
static void test_smbios_s6_1_2_field_past_length_absent(void **st)
{
	static struct tb t;
	struct smbios_info s;
	/* System: Manufacturer only (Length 6 holds offsets 4, 5); its first
	 * string's byte 0x03 would name string 3 as a Version at offset 6 */
	memset(&t, 0, sizeof(t));
	const char *strs[] = {"\x03", "b", "c", NULL};
	tb_struct(&t, SMBIOS_TYPE_SYSTEM, 6, (const uint8_t[]){1, 2}, strs);
	tb_end(&t);
	s = info_of(&t);
	assert_string_equal(s.sys_vendor, "?");
	assert_string_equal(s.sys_product, "b");
	assert_string_equal(s.sys_version, "");
	/* Chassis of header only, no strings, the table's last bytes: its
	 * asset tag field (offset 8) lies past the table */
	memset(&t, 0, sizeof(t));
	tb_struct(&t, SMBIOS_TYPE_CHASSIS, 4, NULL, NULL);
	uint8_t *b = malloc(t.n);
	memcpy(b, t.b, t.n);
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(b, t.n, &s), 0);
	assert_int_equal(s.nstructs, 1);
	assert_string_equal(s.chassis_vendor, "");
	assert_string_equal(s.chassis_asset_tag, "");
	free(b);
}

/* the walk counts its structures afresh (SMBIOS_MAX_STRUCTS bounds one
 * walk): an info read before, its count left at the bound, reads the
 * next table whole */
static void test_smbios_walk_counts_afresh_to_max_structs(void **st)
{
	static struct tb t;
	memset(&t, 0, sizeof(t));
	tb_bios(&t, "SeaBIOS", "1.16");
	tb_system(&t, "QEMU", "Standard PC (Q35 + ICH9, 2009)");
	tb_end(&t);
	struct smbios_info s;
	memset(&s, 0, sizeof(s));
	s.nstructs = SMBIOS_MAX_STRUCTS;
	s.error = "earlier";
	assert_int_equal(smbios_parse_table(t.b, t.n, &s), 0);
	assert_null(s.error);
	assert_int_equal(s.nstructs, 3);
	assert_int_equal(smbios_parse_table(t.b, t.n, &s), 0);
	assert_int_equal(s.nstructs, 3);
	assert_string_equal(s.sys_vendor, "QEMU");
}

/* DSP0134 §5.2: an entry point cut short (the firmware's page ends, or
 * the caller has fewer bytes) is refused by its anchor's length rule, and
 * no byte past what is readable is read: each cut is an exact-size copy */
static void test_smbios_s5_2_cut_entry_point_not_read_past(void **st)
{
	uint8_t ep2[32], ep3[32];
	uint64_t table;
	uint32_t len;
	const char *why;
	struct smbios_info s = {0};
	tb_ep2(ep2, 0xf0000, 0x1234);
	tb_ep3(ep3, 0x7f6a0000ull, 0x2000);
	for (size_t n = 0; n < SMBIOS2_EP_LEN; n++) {
		uint8_t *e = malloc(n ? n : 1);
		memcpy(e, ep2, n);
		assert_int_equal(
		    smbios_parse_entry(e, n, &table, &len, &s, &why), -1);
		assert_string_equal(why, n < 4
					     ? "no _SM_ or _SM3_ anchor"
					     : "2.1 entry point length out of "
					       "range");
		if (n < SMBIOS3_EP_LEN) {
			memcpy(e, ep3, n);
			assert_int_equal(
			    smbios_parse_entry(e, n, &table, &len, &s, &why),
			    -1);
			assert_string_equal(why, n < 5
						     ? "no _SM_ or _SM3_ anchor"
						     : "3.0 entry point length "
						       "out of range");
		}
		free(e);
	}
}

/* DSP0134 §5.2.2: the 3.0 entry point's checksum covers its Entry Point
 * Length; a byte changed fails it. On success *why is NULL and the
 * version is the entry point's (3.4 here) */
static void test_smbios_s5_2_2_entry_point_checksum(void **st)
{
	uint8_t ep[32];
	uint64_t table;
	uint32_t len;
	const char *why = "earlier";
	struct smbios_info s = {0};
	tb_ep3(ep, 0x7f6a0000ull, 0x2000);
	ep[SMBIOS3_EP_MINOR] = 4;
	ep[SMBIOS3_EP_CKSUM] -= 4;
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why), 0);
	assert_null(why);
	assert_int_equal(s.major, 3);
	assert_int_equal(s.minor, 4);
	for (unsigned i = 0; i < SMBIOS3_EP_LEN; i++) {
		tb_ep3(ep, 0x7f6a0000ull, 0x2000);
		ep[i] ^= 0x40;
		assert_int_equal(
		    smbios_parse_entry(ep, 32, &table, &len, &s, &why), -1);
		if (i >= 5 && i != SMBIOS3_EP_LENGTH) /* past the anchor */
			assert_string_equal(why, "3.0 entry point checksum");
	}
}

/* DSP0134 §5.2.1: the 2.1 entry point has two checksums, the whole
 * entry point's and the intermediate one over "_DMI_" and what follows
 * it, and the "_DMI_" anchor itself; each is checked alone */
static void test_smbios_s5_2_1_each_checksum_and_anchor(void **st)
{
	uint8_t ep[32];
	uint64_t table;
	uint32_t len;
	const char *why;
	struct smbios_info s = {0};
	/* a byte before the intermediate part: only the outer sum fails */
	tb_ep2(ep, 0xf0000, 0x1234);
	ep[SMBIOS2_EP_MAJOR] ^= 1;
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why),
			 -1);
	assert_string_equal(why, "2.1 entry point checksum");
	/* the anchor broken, both sums holding */
	tb_ep2(ep, 0xf0000, 0x1234);
	ep[SMBIOS2_EP_DMI] = 'X';
	ep[SMBIOS2_EP_DMI + 5] += '_' - 'X'; /* intermediate sum 0 */
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why),
			 -1);
	assert_string_equal(why, "2.1 intermediate (_DMI_) anchor or checksum");
	/* the intermediate sum broken, anchor and outer sum holding */
	tb_ep2(ep, 0xf0000, 0x1234);
	ep[SMBIOS2_EP_DMI + 5] += 1;
	ep[SMBIOS2_EP_CKSUM] -= 1;
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why),
			 -1);
	assert_string_equal(why, "2.1 intermediate (_DMI_) anchor or checksum");
}

/* a structure table must hold at least one header (SMBIOS_HDR_SIZE
 * bytes) for the entry point to name it; the walk judges the rest */
static void test_smbios_table_length_at_least_hdr_size(void **st)
{
	uint8_t ep[32];
	uint64_t table;
	uint32_t len;
	const char *why;
	struct smbios_info s = {0};
	tb_ep2(ep, 0xf0000, SMBIOS_HDR_SIZE);
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why), 0);
	assert_int_equal(len, SMBIOS_HDR_SIZE);
	tb_ep2(ep, 0xf0000, SMBIOS_HDR_SIZE - 1);
	assert_int_equal(smbios_parse_entry(ep, 32, &table, &len, &s, &why),
			 -1);
	assert_string_equal(why, "empty structure table");
}

/* DSP0134 §6.1.3: strings are read as printable ASCII (0x20-0x7e); DEL
 * (0x7f) and bytes above it are '?' */
static void test_smbios_s6_1_3_del_not_printable(void **st)
{
	static struct tb t;
	memset(&t, 0, sizeof(t));
	tb_system(&t,
		  "A\x7f"
		  "B\x80"
		  "C~",
		  "p");
	tb_end(&t);
	struct smbios_info s = info_of(&t);
	assert_string_equal(s.sys_vendor, "A?B?C~");
}

/* DSP0134 §6.1.2: a header (SMBIOS_HDR_SIZE bytes) at the table's end
 * has no string set after it: the walk stops with an error, the table is
 * not taken as whole; a formatted area that reaches the table's end is
 * the same fault, said as such */
static void test_smbios_s6_1_2_header_at_end_without_strings(void **st)
{
	static struct tb t;
	struct smbios_info s;
	memset(&t, 0, sizeof(t));
	tb_system(&t, "QEMU", "pc");
	size_t n = t.n;
	tb_struct(&t, 0x80, 4, NULL, NULL); /* its two NULs not in len */
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(t.b, n + SMBIOS_HDR_SIZE, &s), -1);
	assert_string_equal(s.error, "string set not terminated");
	assert_int_equal(s.nstructs, 1);
	memset(&t, 0, sizeof(t));
	tb_system(&t, "QEMU", "pc");
	memset(&s, 0, sizeof(s));
	assert_int_equal(smbios_parse_table(t.b, 0x1b, &s), -1);
	assert_string_equal(s.error, "string set not terminated");
}

/* DSP0134 §7.1, §7.4: as for System, the first BIOS and the first
 * Chassis structure are read, a second ignored, and no other type's
 * fields are taken for theirs (a Baseboard, type 2, has a Manufacturer
 * at offset 4 and an Asset Tag at 8 as well) */
static void test_smbios_s7_first_of_each_type_only(void **st)
{
	static struct tb t;
	memset(&t, 0, sizeof(t));
	const char *board[] = {"Board Inc", "B1", "v", "sn", "board-tag", NULL};
	static const uint8_t bf[0x0f - 4] = {1, 2, 3, 4, 5};
	tb_struct(&t, 2, 0x0f, bf, board);
	tb_bios(&t, "First BIOS", "1");
	tb_bios(&t, "Second BIOS", "2");
	tb_chassis(&t, "First Chassis", SHAPE_AZURE_ASSET_TAG);
	tb_chassis(&t, "Second Chassis", "other-tag");
	tb_end(&t);
	struct smbios_info s = info_of(&t);
	assert_string_equal(s.bios_vendor, "First BIOS");
	assert_string_equal(s.bios_version, "1");
	assert_string_equal(s.chassis_vendor, "First Chassis");
	assert_string_equal(s.chassis_asset_tag, SHAPE_AZURE_ASSET_TAG);
	assert_int_equal(s.nstructs, 6);
}

/* every string is read afresh: a table without System or Chassis
 * structures leaves them "", whatever an earlier table read into the
 * same info (before, its strings stayed) */
static void test_smbios_strings_cleared_before_walk(void **st)
{
	static struct tb t;
	memset(&t, 0, sizeof(t));
	tb_bios(&t, "Amazon EC2", "1.0");
	tb_system(&t, "Amazon EC2", "m5.large");
	tb_chassis(&t, "Amazon EC2", SHAPE_AZURE_ASSET_TAG);
	tb_end(&t);
	struct smbios_info s = info_of(&t);
	assert_string_equal(s.sys_vendor, "Amazon EC2");
	memset(&t, 0, sizeof(t));
	tb_bios(&t, "SeaBIOS", "1.16");
	tb_end(&t);
	assert_int_equal(smbios_parse_table(t.b, t.n, &s), 0);
	assert_string_equal(s.bios_vendor, "SeaBIOS");
	assert_string_equal(s.sys_vendor, "");
	assert_string_equal(s.sys_product, "");
	assert_string_equal(s.sys_version, "");
	assert_string_equal(s.chassis_vendor, "");
	assert_string_equal(s.chassis_asset_tag, "");
	unsigned ev;
	assert_int_equal(shape_platform_detect(&s, &ev), SHAPE_PLAT_UNKNOWN);
	/* and a field past a structure's Length is "" too */
	memset(&t, 0, sizeof(t));
	const char *strs[] = {"QEMU", NULL};
	tb_struct(&t, SMBIOS_TYPE_SYSTEM, 5, (const uint8_t[]){1}, strs);
	tb_end(&t);
	strcpy(s.sys_product, "stale");
	assert_int_equal(smbios_parse_table(t.b, t.n, &s), 0);
	assert_string_equal(s.sys_vendor, "QEMU");
	assert_string_equal(s.sys_product, "");
}

/* ---- the tests that kill make mutate's survivors in shape.c --------------
 */
/* a platform or kind past SHAPE_PLAT_COUNT / SHAPE_KIND_COUNT (a value no
 * enum names) is "?", not read past the name tables */
static void test_shape_names_bounded_by_count(void **st)
{
	assert_string_equal(shape_platform_name(SHAPE_PLAT_GCE), "gce");
	assert_string_equal(shape_platform_name(SHAPE_PLAT_COUNT), "?");
	assert_string_equal(shape_platform_name(SHAPE_PLAT_COUNT + 7), "?");
	assert_string_equal(shape_kind_name(SHAPE_GCE_GVNIC), "gce-gvnic");
	assert_string_equal(shape_kind_name(SHAPE_KIND_COUNT), "?");
	assert_string_equal(shape_kind_name(SHAPE_KIND_COUNT + 7), "?");
}

/* DSP0134 §7.1: Xen-era EC2 says "amazon" in the BIOS Version; a Xen
 * guest whose version is as long but does not say it is no EC2, nor is
 * one saying only part of it */
static void test_shape_xen_bios_version_must_say_amazon(void **st)
{
	static const struct {
		const char *ver;
		enum shape_platform p;
	} c[] = {
	    {"4.11.amazon", SHAPE_PLAT_AWS},
	    {"AMAZON-4.2", SHAPE_PLAT_AWS},
	    {"4.11.2-citrix", SHAPE_PLAT_UNKNOWN},
	    {"4.11.amazo", SHAPE_PLAT_UNKNOWN},
	    {"amazo n", SHAPE_PLAT_UNKNOWN},
	    {"amazon 4.11", SHAPE_PLAT_AWS},
	};
	static struct tb t;
	unsigned ev;
	for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
		memset(&t, 0, sizeof(t));
		tb_bios(&t, "Xen", c[i].ver);
		tb_system(&t, "Xen", "HVM domU");
		tb_end(&t);
		struct smbios_info s = info_of(&t);
		if (shape_platform_detect(&s, &ev) != c[i].p)
			fail_msg("case %u (\"%s\")", i, c[i].ver);
	}
}

/* DSP0134 §7.2: QEMU says itself in either System string, Manufacturer
 * "QEMU" or a Product Name "Standard PC (...)" (a -smbios type=1 may
 * replace the other); either alone is QEMU, with its evidence bit */
static void test_shape_qemu_either_system_string(void **st)
{
	unsigned ev;
	assert_int_equal(platform_of("QEMU", "pc", NULL, &ev), SHAPE_PLAT_QEMU);
	assert_int_equal(ev, SHAPE_EV_SYS_VENDOR);
	assert_int_equal(
	    platform_of("Acme", "Standard PC (i440FX + PIIX, 1996)", NULL, &ev),
	    SHAPE_PLAT_QEMU);
	assert_int_equal(ev, SHAPE_EV_SYS_PRODUCT);
	assert_int_equal(platform_of("Acme", "Standard PC", NULL, &ev),
			 SHAPE_PLAT_UNKNOWN);
}

/* NVMe Identify strings: a cap of 0 writes nothing; DEL (0x7f), like any
 * byte outside 0x20-0x7e, is '?' */
static void test_shape_id_string_cap_0_and_del(void **st)
{
	char out[8] = "keep";
	shape_id_string((const uint8_t *)"abc", 3, out, 0);
	assert_string_equal(out, "keep");
	shape_id_string((const uint8_t *)"a\x7f~", 3, out, sizeof(out));
	assert_string_equal(out, "a?~");
}

/* the evidence bits say what matched, and only that: none without
 * SMBIOS; EC2's BIOS vendor as well as its system vendor; GCE by either
 * System string alone (DSP0134 §7.1, §7.2) */
static void test_shape_dsp0134_s7_platform_evidence_bits(void **st)
{
	unsigned ev = ~0u;
	struct smbios_info none = {0};
	assert_int_equal(shape_platform_detect(&none, &ev), SHAPE_PLAT_UNKNOWN);
	assert_int_equal(ev, 0);
	static struct tb t;
	memset(&t, 0, sizeof(t));
	tb_bios(&t, "Amazon EC2", "1.0");
	tb_system(&t, "Amazon EC2", "m6i.large");
	tb_end(&t);
	struct smbios_info s = info_of(&t);
	assert_int_equal(shape_platform_detect(&s, &ev), SHAPE_PLAT_AWS);
	assert_int_equal(ev, SHAPE_EV_SYS_VENDOR | SHAPE_EV_BIOS);
	assert_int_equal(platform_of("Google", "n2-standard-2", NULL, &ev),
			 SHAPE_PLAT_GCE);
	assert_int_equal(ev, SHAPE_EV_SYS_VENDOR);
	assert_int_equal(
	    platform_of("Acme", "Google Compute Engine", NULL, &ev),
	    SHAPE_PLAT_GCE);
	assert_int_equal(ev, SHAPE_EV_SYS_PRODUCT);
}

/* GCP Local SSD's model is "nvme_card" and digits only ("nvme_card0" to
 * "nvme_card9..."); a model that does not start so, however short, is
 * not one */
static void test_shape_gcp_local_ssd_model_nvme_card_digits(void **st)
{
	static const struct {
		const char *model;
		enum shape_kind kind;
	} c[] = {
	    {"nvme_card", SHAPE_GCP_LOCAL_SSD},
	    {"nvme_card0", SHAPE_GCP_LOCAL_SSD},
	    {"nvme_card9", SHAPE_GCP_LOCAL_SSD},
	    {"nvme_card19", SHAPE_GCP_LOCAL_SSD},
	    {"nvme_card/", SHAPE_NVME_UNKNOWN}, /* '0' - 1 */
	    {"nvme_card:", SHAPE_NVME_UNKNOWN}, /* '9' + 1 */
	    {"xvme_card1", SHAPE_NVME_UNKNOWN},
	    {"WDC", SHAPE_NVME_UNKNOWN},
	};
	for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
		/* an exact copy: ASan sees a read past it */
		char *h = malloc(strlen(c[i].model) + 1);
		strcpy(h, c[i].model);
		struct shape_result r =
		    classify(0x144d, 0xa808, NVME, h, NULL, SHAPE_PLAT_GCE);
		if (r.kind != c[i].kind)
			fail_msg("case %u (\"%s\"): %s", i, c[i].model,
				 shape_kind_name(r.kind));
		free(h);
	}
}

/* SHAPE_EV_SUBSYS only when the subsystem vendor is the device's own;
 * an Amazon controller by PCI ID keeps its 48-bit limit, said as the
 * controller's, whatever model it reports */
static void test_shape_subsys_and_dma48_by_pci_id(void **st)
{
	struct shape_dev d = {.vendor = 0x1d0f,
			      .device = 0x8061,
			      .subsys_vendor = 0x1af4,
			      .class_code = NVME};
	struct shape_result r;
	shape_classify(&d, SHAPE_PLAT_UNKNOWN, &r);
	assert_int_equal(r.evidence, SHAPE_EV_PCI_ID);
	assert_int_equal(r.dma_limit, SHAPE_DMA_LIMIT_48);
	assert_string_equal(r.limit_why,
			    "amazon nvme controller: 48-bit dma addresses");
	d.model = "QEMU NVMe Ctrl"; /* conflicts: the kind is unknown */
	shape_classify(&d, SHAPE_PLAT_UNKNOWN, &r);
	assert_int_equal(r.kind, SHAPE_NVME_UNKNOWN);
	assert_true(r.evidence & SHAPE_EV_CONFLICT);
	assert_int_equal(r.dma_limit, SHAPE_DMA_LIMIT_48);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_platform_aws),
	    cmocka_unit_test(test_platform_azure_vs_hyperv),
	    cmocka_unit_test(test_platform_gce),
	    cmocka_unit_test(test_platform_qemu_and_unknown),
	    cmocka_unit_test(test_platform_xen_era_aws),
	    cmocka_unit_test(test_aws_ebs),
	    cmocka_unit_test(test_aws_instance_store),
	    cmocka_unit_test(test_azure),
	    cmocka_unit_test(test_gcp),
	    cmocka_unit_test(test_qemu_and_unknown),
	    cmocka_unit_test(test_id_string),
	    cmocka_unit_test(test_evidence_str),
	    cmocka_unit_test(test_backend),
	    cmocka_unit_test(test_mode_parse),
	    cmocka_unit_test(test_entry_2_1),
	    cmocka_unit_test(test_entry_3_0),
	    cmocka_unit_test(test_table_strings),
	    cmocka_unit_test(test_table_bad_string_index),
	    cmocka_unit_test(test_table_malformed),
	    cmocka_unit_test(test_end_to_end),
	    cmocka_unit_test(test_smbios_unmappable_not_read),
	    cmocka_unit_test(test_smbios_s5_2_entry_point_exactly_its_length),
	    cmocka_unit_test(
		test_smbios_s5_2_2_entry_point_length_below_0x18_refused),
	    cmocka_unit_test(test_smbios_s6_1_2_field_past_length_absent),
	    cmocka_unit_test(test_smbios_walk_counts_afresh_to_max_structs),
	    cmocka_unit_test(test_smbios_s5_2_cut_entry_point_not_read_past),
	    cmocka_unit_test(test_smbios_s5_2_2_entry_point_checksum),
	    cmocka_unit_test(test_smbios_s5_2_1_each_checksum_and_anchor),
	    cmocka_unit_test(test_smbios_table_length_at_least_hdr_size),
	    cmocka_unit_test(test_smbios_s6_1_3_del_not_printable),
	    cmocka_unit_test(test_smbios_s6_1_2_header_at_end_without_strings),
	    cmocka_unit_test(test_smbios_s7_first_of_each_type_only),
	    cmocka_unit_test(test_smbios_strings_cleared_before_walk),
	    cmocka_unit_test(test_shape_names_bounded_by_count),
	    cmocka_unit_test(test_shape_xen_bios_version_must_say_amazon),
	    cmocka_unit_test(test_shape_qemu_either_system_string),
	    cmocka_unit_test(test_shape_id_string_cap_0_and_del),
	    cmocka_unit_test(test_shape_dsp0134_s7_platform_evidence_bits),
	    cmocka_unit_test(test_shape_gcp_local_ssd_model_nvme_card_digits),
	    cmocka_unit_test(test_shape_subsys_and_dma48_by_pci_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
