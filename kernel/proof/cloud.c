/* kernel/proof/cloud.c — the local cloud proofs and the policy's
 * own invariants, as PROOF markers (tests/qemu/test_cloud.py boots them).
 *
 * A cloud proof runs under QEMU dressed in that cloud's SMBIOS strings: the
 * kernel must name the platform, the policy must have picked the brokered
 * validator for the NVMe function and said why (mentioning the IOMMU table
 * when ACPI has one), the function must be bound, the DMA limit must be the
 * one the platform calls for, and a write/read round trip through the
 * block interface must return what was written. The pattern is left on
 * the disk (blocks at lba=) so the host can read it back after QEMU exits. */
#include "kernel/devmgr/blockdev.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/devmgr/shape.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/proof/proof.h"

#define RT_BLOCKS 8

/* the first NVMe function the policy saw, with its record */
static struct pci_dev *nvme_fn(struct shape_result *r, enum dma_backend *b,
			       const char **why)
{
	for (unsigned i = 0; i < pci_ndevs; i++) {
		struct pci_dev *d = &pci_devs[i];
		if ((d->class_code & SHAPE_PCI_CLASS_MASK) ==
			SHAPE_PCI_CLASS_NVME &&
		    devmgr_shape_get(d, r, b, why))
			return d;
	}
	return NULL;
}

static struct blockdev *nvme_blockdev(void)
{
	for (unsigned i = 0; i < nblockdevs; i++)
		if (!strncmp(blockdevs[i]->name, "nvme", 4))
			return blockdevs[i];
	return NULL;
}

/* write a named pattern near the end of the disk, read it back, compare */
static const char *round_trip(struct blockdev *bd, const char *name,
			      uint64_t *lba_out)
{
	if (!bd)
		return "no-blockdev";
	if (bd->block_count < 2 * RT_BLOCKS || bd->block_size > PAGE_SIZE)
		return "disk-too-small";
	size_t bytes = (size_t)RT_BLOCKS * bd->block_size;
	size_t pages = ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE;
	uint64_t w = page_alloc(pages, 0), r = page_alloc(pages, 0);
	const char *res = "ok";
	if (!w || !r) {
		res = "no-memory";
		goto out;
	}
	uint64_t lba = bd->block_count - 2 * RT_BLOCKS;
	uint8_t *wp = (uint8_t *)w, *rp = (uint8_t *)r;
	for (size_t i = 0; i < bytes; i++)
		wp[i] = (uint8_t)(i * 7 + lba);
	for (unsigned blk = 0; blk < RT_BLOCKS; blk++)
		ksnprintf((char *)wp + blk * bd->block_size, 64,
			  "CAPOS-CLOUD %s block %u", name, blk);
	if (bd->write(bd, lba, RT_BLOCKS, wp) != 0) {
		res = "write-failed";
		goto out;
	}
	if (bd->flush && bd->flush(bd) != 0) {
		res = "flush-failed";
		goto out;
	}
	memset(rp, 0xa5, bytes);
	if (bd->read(bd, lba, RT_BLOCKS, rp) != 0) {
		res = "read-failed";
		goto out;
	}
	if (memcmp(wp, rp, bytes) != 0)
		res = "mismatch";
	*lba_out = lba;
out:
	if (w)
		page_free(w, pages);
	if (r)
		page_free(r, pages);
	return res;
}

static void cloud_proof(const char *name, enum shape_platform want)
{
	struct shape_result r = {0};
	enum dma_backend b = DMA_BACKEND_NONE;
	const char *why = "";
	enum shape_platform p = devmgr_platform();
	const char *iommu = devmgr_iommu_table();
	struct pci_dev *d = nvme_fn(&r, &b, &why);
	uint64_t want_limit = want == SHAPE_PLAT_AWS ? SHAPE_DMA_LIMIT_48 : 0;
	bool said_iommu = !iommu || strstr(why, iommu);
	bool bound = d && d->drv && !strcmp(d->state, "running");
	struct blockdev *bd = nvme_blockdev();
	uint64_t lba = 0;
	const char *rt = bound ? round_trip(bd, name, &lba) : "not-bound";
	char ev[128];
	shape_evidence_str(r.evidence, ev, sizeof(ev));
	/* VT-d (DMAR) has a backend in capOS; other IOMMUs fall back */
	enum dma_backend want_b = iommu && !strcmp(iommu, "DMAR")
				      ? DMA_BACKEND_IOMMU
				      : DMA_BACKEND_VALIDATOR;
	bool pass = p == want && d && b == want_b && said_iommu && bound &&
		    r.dma_limit == want_limit && !strcmp(rt, "ok");
	proof_result(name, pass,
		     "platform=%s want=%s shape=%s evidence=%s backend=%s "
		     "iommu=%s iommu_said=%s dma_limit=0x%lx bound=%s "
		     "blockdev=%s rw=%s lba=%lu block=%u",
		     shape_platform_name(p), shape_platform_name(want),
		     shape_kind_name(r.kind), ev, dma_backend_name(b),
		     iommu ? iommu : "none", said_iommu ? "yes" : "no",
		     r.dma_limit, bound ? "yes" : "no", bd ? bd->name : "none",
		     rt, lba, bd ? bd->block_size : 0);
}

static void proof_cloud_aws(void)
{
	cloud_proof("cloud-aws-ebs-local-proof", SHAPE_PLAT_AWS);
}
PROOF_REGISTER("cloud-aws-ebs-local-proof", proof_cloud_aws, 60);

static void proof_cloud_azure(void)
{
	cloud_proof("cloud-azure-disk-local-proof", SHAPE_PLAT_AZURE);
}
PROOF_REGISTER("cloud-azure-disk-local-proof", proof_cloud_azure, 60);

/* GCP Persistent Disk's local stand-in */
static void proof_cloud_gcp(void)
{
	cloud_proof("cloud-prod-storage-bound-local-proof", SHAPE_PLAT_GCE);
}
PROOF_REGISTER("cloud-prod-storage-bound-local-proof", proof_cloud_gcp, 60);

/* The policy's invariants over every function it decided: a reason is
 * always given; "none" means not bound; under devmgr.dma=strict nothing
 * unvalidated is bound; with an IOMMU table the reason says so. */
static void proof_devmgr_policy(void)
{
	unsigned decided = 0, refused = 0, bad = 0;
	enum shape_dma_mode mode = devmgr_dma_mode();
	const char *iommu = devmgr_iommu_table();
	char first_bad[24] = "-";
	for (unsigned i = 0; i < pci_ndevs; i++) {
		struct pci_dev *d = &pci_devs[i];
		struct shape_result r;
		enum dma_backend b;
		const char *why;
		if (!devmgr_shape_get(d, &r, &b, &why))
			continue;
		decided++;
		bool ok = why && why[0];
		if (b == DMA_BACKEND_NONE) {
			refused++;
			ok &= d->drv == NULL;
		}
		if (mode != SHAPE_DMA_AUTO)
			ok &= b != DMA_BACKEND_UNVALIDATED;
		if (mode == SHAPE_DMA_IOMMU)
			ok &= b == DMA_BACKEND_NONE || b == DMA_BACKEND_IOMMU;
		if (iommu)
			ok &= strstr(why, iommu) != NULL;
		if (!ok && !bad++)
			pci_addr_str(d, first_bad, sizeof(first_bad));
	}
	proof_result("devmgr-policy", decided > 0 && bad == 0,
		     "platform=%s mode=%s iommu=%s decided=%u refused=%u "
		     "violations=%u first=%s",
		     shape_platform_name(devmgr_platform()),
		     mode == SHAPE_DMA_AUTO	? "auto"
		     : mode == SHAPE_DMA_STRICT ? "strict"
						: "iommu",
		     iommu ? iommu : "none", decided, refused, bad, first_bad);
}
PROOF_REGISTER("devmgr-policy", proof_devmgr_policy, 61);
