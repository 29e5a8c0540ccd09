/* kernel/devmgr/shape.h — cloud shape classification and the DMA-backend
 * decision (pure C: kernel and host tests).
 *
 * Inputs are facts the kernel reads itself: PCI vendor:device and
 * subsystem IDs, the NVMe Identify Controller model (MN) and serial (SN)
 * strings from the broker's own Identify, SMBIOS system and chassis
 * strings, and whether ACPI lists an IOMMU (DMAR, IVRS, VIOT). Outputs are
 * the platform, the device's shape, the evidence bits that decided them,
 * the DMA address limit the shape needs, and the backend with a reason.
 * Identity facts: docs/devices/aws-nitro-ebs.md, azure-managed-disk.md,
 * gcp-persistent-disk.md. The kernel side (the per-device records, the
 * serial line, the "shape" status provider) is kernel/devmgr/policy.c. */
#ifndef CAPOS_SHAPE_H
#define CAPOS_SHAPE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/devmgr/devmgr.h"
#include "kernel/devmgr/smbios.h"

/* ---- PCI identities -------------------------------------------------------
 */
#define SHAPE_PCI_AMAZON	     0x1d0f
#define SHAPE_PCI_MICROSOFT	     0x1414
#define SHAPE_PCI_GOOGLE	     0x1ae0
#define SHAPE_PCI_REDHAT	     0x1b36 /* QEMU's emulated devices */
#define SHAPE_PCI_AWS_EBS	     0x8061
#define SHAPE_PCI_AWS_INSTANCE_STORE 0xcd01
#define SHAPE_PCI_AZURE_NVME	     0xb111
#define SHAPE_PCI_GCP_NVME	     0x001f
#define SHAPE_PCI_GCP_GVNIC	     0x0042
#define SHAPE_PCI_QEMU_NVME	     0x0010
/* mass storage, NVM, NVMe I/O controller (NVMe over PCIe Transport 1.0) */
#define SHAPE_PCI_CLASS_NVME 0x010802
#define SHAPE_PCI_CLASS_MASK 0xffffff

/* SMBIOS type 3 asset tag every Azure VM carries (plain Hyper-V does not) */
#define SHAPE_AZURE_ASSET_TAG "7783-7084-3265-9085-8269-3286-77"
/* Amazon's NVMe controllers decode 48 address bits */
#define SHAPE_DMA_LIMIT_48 (1ull << 48)

enum shape_platform {
	SHAPE_PLAT_UNKNOWN,
	SHAPE_PLAT_QEMU,
	SHAPE_PLAT_AWS,
	SHAPE_PLAT_AZURE,
	SHAPE_PLAT_HYPERV, /* Microsoft virtual machine without Azure's tag */
	SHAPE_PLAT_GCE,
	SHAPE_PLAT_COUNT
};

enum shape_kind {
	SHAPE_NONE,		   /* not a device the classifier knows */
	SHAPE_NVME_UNKNOWN,	   /* NVMe, no known cloud identity */
	SHAPE_QEMU_NVME,	   /* QEMU's emulated NVMe controller */
	SHAPE_AWS_EBS,		   /* AWS Nitro EBS volume */
	SHAPE_AWS_INSTANCE_STORE,  /* AWS Nitro local instance storage */
	SHAPE_AZURE_MANAGED_DISK,  /* Azure remote disk (NVMe Accelerator) */
	SHAPE_AZURE_LOCAL_DISK,	   /* Azure NVMe Direct Disk */
	SHAPE_GCP_NVME,		   /* GCP NVMe, model not read yet */
	SHAPE_GCP_PERSISTENT_DISK, /* GCP Persistent Disk / Hyperdisk */
	SHAPE_GCP_LOCAL_SSD,	   /* GCP Local SSD */
	SHAPE_GCE_GVNIC,	   /* Google Virtual NIC */
	SHAPE_KIND_COUNT
};

/* evidence: which inputs matched */
#define SHAPE_EV_PCI_ID	     (1u << 0)	/* vendor:device in the shape table */
#define SHAPE_EV_PCI_CLASS   (1u << 1)	/* only the NVMe class code */
#define SHAPE_EV_SUBSYS	     (1u << 2)	/* subsystem IDs agree */
#define SHAPE_EV_MODEL	     (1u << 3)	/* NVMe Identify MN */
#define SHAPE_EV_SERIAL	     (1u << 4)	/* NVMe Identify SN pattern */
#define SHAPE_EV_CONFLICT    (1u << 5)	/* PCI ID and model disagree */
#define SHAPE_EV_SYS_VENDOR  (1u << 8)	/* SMBIOS type 1 manufacturer */
#define SHAPE_EV_SYS_PRODUCT (1u << 9)	/* SMBIOS type 1 product */
#define SHAPE_EV_ASSET_TAG   (1u << 10) /* SMBIOS type 3 asset tag */
#define SHAPE_EV_BIOS	     (1u << 11) /* SMBIOS type 0 vendor/version */

struct shape_dev {
	uint16_t vendor, device, subsys_vendor, subsys_device;
	uint32_t class_code;
	/* NVMe Identify Controller MN / SN, trimmed; NULL before Identify */
	const char *model, *serial;
};

struct shape_result {
	enum shape_kind kind;
	unsigned evidence;
	uint64_t dma_limit;    /* 0: no limit */
	const char *limit_why; /* why the limit, NULL when none */
};

/* platform from SMBIOS; *evidence gets SHAPE_EV_SYS_* / ASSET_TAG / BIOS */
enum shape_platform shape_platform_detect(const struct smbios_info *s,
					  unsigned *evidence);
/* the shape of one PCI function on `plat` */
void shape_classify(const struct shape_dev *d, enum shape_platform plat,
		    struct shape_result *out);
/* NVMe Identify strings are space-padded ASCII without a NUL: copy n bytes
 * into out (cap >= n + 1), non-printables as '?', trailing blanks cut */
void shape_id_string(const uint8_t *raw, size_t n, char *out, size_t cap);

const char *shape_platform_name(enum shape_platform p);
const char *shape_kind_name(enum shape_kind k);
/* "pci-id,model,..." for the evidence bits: its length, or -1 and "" when
 * cap is too small */
int shape_evidence_str(unsigned evidence, char *buf, size_t cap);

/* ---- the DMA backend ------------------------------------------------------
 */
enum shape_dma_mode {
	SHAPE_DMA_AUTO, /* IOMMU if usable, else validator, else unvalidated */
	SHAPE_DMA_STRICT, /* unvalidated DMA is refused */
	SHAPE_DMA_IOMMU,  /* only an IOMMU backend is acceptable */
};

struct shape_backend_in {
	bool dma;	      /* the driver performs DMA */
	bool validated;	      /* its DMA goes through the brokered validator */
	const char *iommu;    /* ACPI IOMMU table seen ("DMAR"...), NULL none */
	bool iommu_supported; /* a working unit translates the function */
	enum shape_dma_mode mode;
	bool rings_brokered; /* its rings are the virtio broker's */
};

/* the backend and one line of why; DMA_BACKEND_NONE means "do not bind" */
enum dma_backend shape_pick_backend(const struct shape_backend_in *in,
				    char *why, size_t cap);
/* the mode devmgr.dma=v asks for ("auto", "strict", "iommu"; absent:
 * auto). What must not loosen the policy takes strict and says why in
 * *why (NULL otherwise): a value that is none of the three (a typo), or no
 * value or auto on a command line that was cut (cmdline_cut), where the
 * option, whose last word wins, may have been among the words lost */
enum shape_dma_mode shape_dma_mode_pick(const char *v, bool cut,
					const char **why);

/* ---- kernel side (kernel/devmgr/policy.c) ---------------------------------
 */
struct pci_dev;
/* read the SMBIOS entry point at physical address ep (0: none) and the
 * table it names into *s, mapping their pages as needed; NULL, or why it
 * was not read fully (a page that cannot be mapped — at or past the
 * identity map's end — is never read: nothing is parsed from it) */
const char *devmgr_smbios_read(uint64_t ep, struct smbios_info *s);
/* the platform (SMBIOS read once, on first use) */
enum shape_platform devmgr_platform(void);
/* highest device address + 1 a DMA pool of this function may use (0: none),
 * as classified so far (a function the policy keeps no record of, past
 * SHAPE_RECORDS, is classified again on each call); devmgr hands it to the
 * authority layer's owner */
uint64_t devmgr_dma_limit(const struct pci_dev *d);
/* what the device said about itself before attach (NVMe: the broker's
 * Identify, model and serial trimmed). Refines the function's shape and
 * prints it; returns the refined DMA limit (0: none). */
uint64_t devmgr_shape_identify(const struct pci_dev *d, const char *serial,
			       const char *model);
/* what the policy decided for d; false when d never reached the policy */
bool devmgr_shape_get(const struct pci_dev *d, struct shape_result *r,
		      enum dma_backend *backend, const char **why);
/* the ACPI IOMMU table the policy saw ("DMAR", ...) or NULL */
const char *devmgr_iommu_table(void);
enum shape_dma_mode devmgr_dma_mode(void);
#endif
