/* kernel/proof/firstboot.c — the live proofs a cloud image runs at boot.
 *
 * `make image CLOUD=gce|aws|azure` builds a proof image whose \capos.cfg
 * asks for these proofs and names the cloud the image was built for
 * (firstboot.cloud=), without `exit`: every boot of a cloud image runs
 * them, prints one PROOF line each on COM1 (the serial console every cloud
 * lets the VM's owner read) and then stays up. There is no first-boot
 * marker: remembering a boot would mean writing to the disk, and the disk
 * is the user's — every proof here only reads, so running them again on
 * the next boot is harmless.
 *
 *   firstboot-cloud  the platform SMBIOS names is the image's cloud
 *   firstboot-nvme   every NVMe function is bound, with a shape that
 *                    belongs to that cloud
 *   firstboot-disk   the boot disk read back through the nvme driver: its
 *                    GPT (both headers, CRC32), the ESP's FAT32 boot
 *                    sector, the same blocks read in one request and
 *                    block by block, and \capos.cfg as firmware read it
 *   firstboot-gvnic  every gVNIC function is bound and its NIC is up (GCE)
 *   firstboot-dhcp   the IP stack gets a DHCP lease on the first NIC (GCE)
 *
 * What each line means on a real cloud: docs/devices/gce-gvnic.md,
 * gcp-persistent-disk.md, aws-nitro-ebs.md, azure-managed-disk.md. */
#include "kernel/boot/boot.h"
#include "kernel/devmgr/blockdev.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/devmgr/shape.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/net/net.h"
#include "kernel/pci/pci.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

/* the boot disk's first bytes, read twice (one request / block by block):
 * the ESP's boot sector, FSInfo, reserved sectors and the start of the FAT */
#define FB_SPAN_BYTES	   (128u * 1024)
#define FB_GPT_ENTRIES_MAX (32u * 1024) /* entry array bytes read */
#define FB_FAT_CHAIN_MAX   64		/* clusters followed in a chain */
#define FB_CFG_MAX	   512		/* \capos.cfg bytes compared */
/* gVNIC link: how long the proof waits for the device to report it */
#define FB_LINK_WAIT_US (5ull * 1000000)
/* DHCP: the stack's back-off (4 s, doubling) sends DISCOVERs at 0, 4, 12
 * and 28 s */
#define FB_DHCP_WAIT_US (30ull * 1000000)

static uint16_t le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}
static uint32_t le32(const uint8_t *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}
static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* for key=value detail: blanks become '_' */
static void kv_word(char *dst, size_t cap, const char *src)
{
	strlcpy(dst, src[0] ? src : "-", cap);
	for (char *p = dst; *p; p++)
		if (*p == ' ' || *p == '=')
			*p = '_';
}

/* ---- firstboot-cloud ------------------------------------------------------
 */

static const struct {
	const char *name;
	enum shape_platform plat;
} fb_clouds[] = {
    {"gce", SHAPE_PLAT_GCE},
    {"aws", SHAPE_PLAT_AWS},
    {"azure", SHAPE_PLAT_AZURE},
};

CMDLINE_KEY(firstboot_cloud, "firstboot.cloud",
	    "gce, aws or azure: the cloud a cloud image was built for");

/* the cloud the image was built for; false when firstboot.cloud= is
 * missing or names no cloud */
static bool fb_want(enum shape_platform *out, const char **name)
{
	*name = cmdline_get("firstboot.cloud");
	for (unsigned i = 0; *name && i < ARRAY_SIZE(fb_clouds); i++)
		if (!strcmp(*name, fb_clouds[i].name)) {
			*out = fb_clouds[i].plat;
			return true;
		}
	return false;
}

static void proof_firstboot_cloud(void)
{
	enum shape_platform want = SHAPE_PLAT_UNKNOWN;
	const char *want_name;
	bool want_ok = fb_want(&want, &want_name);
	enum shape_platform p = devmgr_platform();
	struct smbios_info si;
	unsigned ev = 0;
	/* SMBIOS read again, apart from the policy's record, so the line
	 * carries the strings it decided on; the same reader maps what it
	 * reads (a failed entry point leaves si empty: no platform) */
	const char *why = devmgr_smbios_read(boot_smbios, &si);
	enum shape_platform again = shape_platform_detect(&si, &ev);
	char evs[96], vendor[40], product[40], whyw[100];
	shape_evidence_str(ev, evs, sizeof(evs));
	kv_word(vendor, sizeof(vendor), si.sys_vendor);
	kv_word(product, sizeof(product), si.sys_product);
	if (why)
		kv_word(whyw, sizeof(whyw), why);
	bool pass = want_ok && p == want && again == p;
	proof_result("firstboot-cloud", pass,
		     "platform=%s want=%s evidence=%s vendor=%s product=%s "
		     "smbios=%u.%u reread=%s%s%s",
		     shape_platform_name(p),
		     want_ok	 ? shape_platform_name(want)
		     : want_name ? "bad-firstboot.cloud"
				 : "unset",
		     evs, vendor, product, si.major, si.minor,
		     again == p ? "agrees" : "differs",
		     why ? " smbios_error=" : "", why ? whyw : "");
}
PROOF_REGISTER("firstboot-cloud", proof_firstboot_cloud, 70);

/* ---- firstboot-nvme -------------------------------------------------------
 */

/* does an NVMe shape belong to the platform? QEMU's emulated controller
 * counts as "emulated": the image booted under QEMU dressed as a cloud */
static const char *fb_shape_match(enum shape_platform p, enum shape_kind k)
{
	if (k == SHAPE_QEMU_NVME)
		return "emulated";
	switch (p) {
	case SHAPE_PLAT_GCE:
		return k == SHAPE_GCP_NVME || k == SHAPE_GCP_PERSISTENT_DISK ||
			       k == SHAPE_GCP_LOCAL_SSD
			   ? "yes"
			   : "no";
	case SHAPE_PLAT_AWS:
		return k == SHAPE_AWS_EBS || k == SHAPE_AWS_INSTANCE_STORE
			   ? "yes"
			   : "no";
	case SHAPE_PLAT_AZURE:
		return k == SHAPE_AZURE_MANAGED_DISK ||
			       k == SHAPE_AZURE_LOCAL_DISK
			   ? "yes"
			   : "no";
	default:
		return "no";
	}
}

static unsigned fb_nvme_blockdevs(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nblockdevs; i++)
		n += !strncmp(blockdevs[i]->name, "nvme", 4);
	return n;
}

static void proof_firstboot_nvme(void)
{
	enum shape_platform p = devmgr_platform();
	unsigned fns = 0, bound = 0, mismatched = 0;
	char shapes[96] = "", backends[64] = "", bad[24] = "-", state[24] = "-";
	const char *match = "none";
	for (unsigned i = 0; i < pci_ndevs; i++) {
		struct pci_dev *d = &pci_devs[i];
		if ((d->class_code & SHAPE_PCI_CLASS_MASK) !=
		    SHAPE_PCI_CLASS_NVME)
			continue;
		fns++;
		struct shape_result r = {0};
		enum dma_backend b = DMA_BACKEND_NONE;
		const char *why;
		devmgr_shape_get(d, &r, &b, &why);
		if (d->drv && !strcmp(d->state, "running")) {
			bound++;
		} else if (!strcmp(bad, "-")) {
			pci_addr_str(d, bad, sizeof(bad));
			kv_word(state, sizeof(state), d->state);
		}
		const char *m = fb_shape_match(p, r.kind);
		if (!strcmp(m, "no"))
			mismatched++;
		if (!strcmp(match, "none") || !strcmp(m, "no"))
			match = m;
		const char *k = shape_kind_name(r.kind);
		if (!strstr(shapes, k))
			ksnprintf(shapes + strlen(shapes),
				  sizeof(shapes) - strlen(shapes), "%s%s",
				  shapes[0] ? "," : "", k);
		const char *bn = dma_backend_name(b);
		if (!strstr(backends, bn))
			ksnprintf(backends + strlen(backends),
				  sizeof(backends) - strlen(backends), "%s%s",
				  backends[0] ? "," : "", bn);
	}
	unsigned nbd = fb_nvme_blockdevs();
	bool pass = fns > 0 && bound == fns && nbd > 0 && mismatched == 0;
	proof_result("firstboot-nvme", pass,
		     "functions=%u bound=%u blockdevs=%u shapes=%s "
		     "shape_match=%s backends=%s first_unbound=%s state=%s",
		     fns, bound, nbd, shapes[0] ? shapes : "-", match,
		     backends[0] ? backends : "-", bad, state);
}
PROOF_REGISTER("firstboot-nvme", proof_firstboot_nvme, 71);

/* ---- firstboot-disk -------------------------------------------------------
 */

/* IEEE 802.3 CRC-32 (reflected 0xEDB88320), as UEFI 2.10 §5.3.2 uses it */
static uint32_t fb_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

/* the EFI system partition type, C12A7328-F81F-11D2-BA4B-00A0C93EC93B, in
 * its on-disk (mixed-endian) byte order */
static const uint8_t fb_esp_type[16] = {0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8,
					0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0,
					0xc9, 0x3e, 0xc9, 0x3b};

/* GPT header (UEFI 2.10 §5.3.2, table 5.5) */
#define GPT_SIG		0x00 /* "EFI PART" */
#define GPT_REVISION	0x08 /* le32, 0x00010000 */
#define GPT_HDR_SIZE	0x0c /* le32, 92 */
#define GPT_HDR_CRC	0x10 /* le32, over HDR_SIZE bytes with this 0 */
#define GPT_MY_LBA	0x18
#define GPT_ALT_LBA	0x20
#define GPT_DISK_GUID	0x38
#define GPT_ENTRIES_LBA 0x48
#define GPT_NENTRIES	0x50 /* le32 */
#define GPT_ENTRY_SIZE	0x54 /* le32, 128 * 2^n */
#define GPT_ENTRIES_CRC 0x58 /* le32 */
#define GPT_HDR_MIN	92
#define GPTE_TYPE	0x00
#define GPTE_FIRST	0x20
#define GPTE_LAST	0x28
#define GPTE_NAME	0x38 /* 36 UTF-16LE code units */
/* FAT32 boot sector (Microsoft FAT32 File System Specification 1.03) */
#define BPB_BYTES_PER_SEC 11
#define BPB_SEC_PER_CLUS  13
#define BPB_RSVD_SEC_CNT  14
#define BPB_NUM_FATS	  16
#define BPB_FAT_SZ32	  36
#define BPB_ROOT_CLUS	  44
#define BS_VOL_LAB	  71
#define BS_FIL_SYS_TYPE	  82
#define FAT_DIRENT	  32
#define FAT_ATTR_LFN	  0x0f
#define FAT_ATTR_DIR	  0x10
#define FAT_EOC		  0x0ffffff8u

struct fb_disk {
	struct blockdev *bd;
	unsigned reads;	 /* read requests issued */
	uint64_t bytes;	 /* bytes read */
	const char *err; /* first failure, NULL when none */
};

/* bytes [off, off+len) of the disk into out: whole blocks through the
 * block interface, never a write */
static bool fb_read(struct fb_disk *k, uint64_t off, size_t len, void *out)
{
	struct blockdev *bd = k->bd;
	uint32_t bs = bd->block_size;
	uint64_t lba = off / bs, end = ALIGN_UP(off + len, (uint64_t)bs) / bs;
	size_t span = (size_t)(end - lba) * bs;
	size_t pages = ALIGN_UP(span, PAGE_SIZE) / PAGE_SIZE;
	if (end > bd->block_count) {
		k->err = k->err ? k->err : "read-past-end";
		return false;
	}
	uint64_t buf = page_alloc(pages, 0);
	if (!buf) {
		k->err = k->err ? k->err : "no-memory";
		return false;
	}
	bool ok = bd->read(bd, lba, (uint32_t)(end - lba), (void *)buf) == 0;
	k->reads++;
	if (ok) {
		k->bytes += span;
		memcpy(out, (uint8_t *)buf + (off - lba * bs), len);
	} else if (!k->err) {
		k->err = "read-failed";
	}
	page_free(buf, pages);
	return ok;
}

struct fb_gpt {
	uint64_t alt_lba, entries_lba;
	uint32_t nentries, entry_size, entries_crc;
	uint8_t guid[16];
};

/* one GPT header at `lba`: signature, revision, size, CRC, and that it
 * says it lives where it was read */
static const char *fb_gpt_header(struct fb_disk *k, uint64_t lba,
				 struct fb_gpt *g)
{
	uint8_t h[512];
	if (!fb_read(k, lba * k->bd->block_size, sizeof(h), h))
		return "unreadable";
	uint32_t hsz = le32(h + GPT_HDR_SIZE);
	if (memcmp(h + GPT_SIG, "EFI PART", 8))
		return "no-signature";
	if (le32(h + GPT_REVISION) != 0x00010000u || hsz < GPT_HDR_MIN ||
	    hsz > sizeof(h))
		return "bad-header";
	uint32_t crc = le32(h + GPT_HDR_CRC);
	memset(h + GPT_HDR_CRC, 0, 4);
	if (fb_crc32(h, hsz) != crc)
		return "header-crc";
	if (le64(h + GPT_MY_LBA) != lba)
		return "wrong-my-lba";
	g->alt_lba = le64(h + GPT_ALT_LBA);
	g->entries_lba = le64(h + GPT_ENTRIES_LBA);
	g->nentries = le32(h + GPT_NENTRIES);
	g->entry_size = le32(h + GPT_ENTRY_SIZE);
	g->entries_crc = le32(h + GPT_ENTRIES_CRC);
	memcpy(g->guid, h + GPT_DISK_GUID, 16);
	if (g->entry_size < 128 || (g->entry_size & (g->entry_size - 1)) ||
	    (uint64_t)g->nentries * g->entry_size > FB_GPT_ENTRIES_MAX)
		return "bad-entry-array";
	return NULL;
}

static bool fb_name_is(const uint8_t *utf16, const char *ascii)
{
	for (unsigned i = 0; i < 36; i++) {
		uint16_t c = le16(utf16 + 2 * i);
		if (c != (uint8_t)ascii[i])
			return false;
		if (!c)
			return true;
	}
	return false;
}

struct fb_esp {
	uint64_t first, last; /* LBAs */
	bool named;	      /* "capOS ESP", as make image names it */
};

/* the entry array: its CRC, then the first ESP entry */
static const char *fb_gpt_entries(struct fb_disk *k, const struct fb_gpt *g,
				  uint8_t *arr, struct fb_esp *esp)
{
	size_t n = (size_t)g->nentries * g->entry_size;
	if (!fb_read(k, g->entries_lba * k->bd->block_size, n, arr))
		return "entries-unreadable";
	if (fb_crc32(arr, n) != g->entries_crc)
		return "entries-crc";
	for (uint32_t i = 0; i < g->nentries; i++) {
		const uint8_t *e = arr + (size_t)i * g->entry_size;
		if (memcmp(e + GPTE_TYPE, fb_esp_type, 16))
			continue;
		esp->first = le64(e + GPTE_FIRST);
		esp->last = le64(e + GPTE_LAST);
		esp->named = fb_name_is(e + GPTE_NAME, "capOS ESP");
		return esp->first <= esp->last ? NULL : "bad-esp-entry";
	}
	return "no-esp";
}

/* the ESP's FAT32 file system, as far as the proof walks it */
struct fb_fat {
	uint64_t base; /* byte offset of the partition */
	uint32_t bps, spc, rsvd, nfats, fatsz, root;
	char label[12];
};

static const char *fb_fat_boot(const uint8_t *bs, struct fb_fat *f)
{
	if (bs[510] != 0x55 || bs[511] != 0xaa)
		return "no-boot-signature";
	if (memcmp(bs + BS_FIL_SYS_TYPE, "FAT32   ", 8))
		return "not-fat32";
	f->bps = le16(bs + BPB_BYTES_PER_SEC);
	f->spc = bs[BPB_SEC_PER_CLUS];
	f->rsvd = le16(bs + BPB_RSVD_SEC_CNT);
	f->nfats = bs[BPB_NUM_FATS];
	f->fatsz = le32(bs + BPB_FAT_SZ32);
	f->root = le32(bs + BPB_ROOT_CLUS);
	memcpy(f->label, bs + BS_VOL_LAB, 11);
	f->label[11] = 0;
	for (int i = 10; i >= 0 && f->label[i] == ' '; i--)
		f->label[i] = 0;
	if ((f->bps != 512 && f->bps != 1024 && f->bps != 2048 &&
	     f->bps != 4096) ||
	    !f->spc || (f->spc & (f->spc - 1)) || !f->nfats || !f->fatsz ||
	    f->root < 2)
		return "bad-bpb";
	return NULL;
}

static uint64_t fb_clus_off(const struct fb_fat *f, uint32_t c)
{
	uint64_t data = (uint64_t)f->rsvd + (uint64_t)f->nfats * f->fatsz;
	return f->base + (data + (uint64_t)(c - 2) * f->spc) * f->bps;
}

static bool fb_fat_next(struct fb_disk *k, const struct fb_fat *f, uint32_t c,
			uint32_t *next)
{
	uint8_t e[4];
	if (!fb_read(k, f->base + (uint64_t)f->rsvd * f->bps + 4ull * c, 4, e))
		return false;
	*next = le32(e) & 0x0fffffffu;
	return true;
}

/* \capos.cfg from the ESP's root directory (8.3 name CAPOS.CFG): up to
 * cap bytes into out; its length, or -1 (k->err says why) */
static long fb_read_cfg(struct fb_disk *k, const struct fb_fat *f,
			uint8_t *clus, char *out, size_t cap)
{
	size_t csz = (size_t)f->spc * f->bps;
	uint32_t c = f->root, first = 0, size = 0;
	bool found = false;
	for (unsigned hops = 0; !found && c >= 2 && c < FAT_EOC; hops++) {
		if (hops == FB_FAT_CHAIN_MAX) {
			k->err = k->err ? k->err : "dir-chain-too-long";
			return -1;
		}
		if (!fb_read(k, fb_clus_off(f, c), csz, clus))
			return -1;
		for (size_t o = 0; o + FAT_DIRENT <= csz; o += FAT_DIRENT) {
			const uint8_t *d = clus + o;
			if (d[0] == 0)
				goto walked;
			if (d[0] == 0xe5 || d[11] == FAT_ATTR_LFN ||
			    (d[11] & FAT_ATTR_DIR))
				continue;
			if (!memcmp(d, "CAPOS   CFG", 11)) {
				first =
				    (uint32_t)le16(d + 20) << 16 | le16(d + 26);
				size = le32(d + 28);
				found = true;
				break;
			}
		}
		if (!found && !fb_fat_next(k, f, c, &c))
			return -1;
	}
walked:
	if (!found) {
		k->err = k->err ? k->err : "no-capos.cfg";
		return -1;
	}
	size_t want = MIN((size_t)size, cap), got = 0;
	for (unsigned hops = 0; got < want; hops++) {
		if (first < 2 || first >= FAT_EOC || hops == FB_FAT_CHAIN_MAX) {
			k->err = k->err ? k->err : "bad-cfg-chain";
			return -1;
		}
		size_t n = MIN(csz, want - got);
		if (!fb_read(k, fb_clus_off(f, first), n, out + got) ||
		    !fb_fat_next(k, f, first, &first))
			return -1;
		got += n;
	}
	return (long)got;
}

/* every key=value word of the file is what the kernel's command line
 * holds: firmware's FAT and NVMe drivers read the file before
 * ExitBootServices, capOS's nvme driver read it again just now */
static const char *fb_cfg_agrees(char *cfg, size_t n, unsigned *words)
{
	*words = 0;
	for (size_t i = 0; i < n; i++)
		if (cfg[i] == '\n' || cfg[i] == '\r' || cfg[i] == '\t')
			cfg[i] = ' ';
	cfg[n] = 0;
	for (char *p = cfg; *p;) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '#')
			break;
		char *w = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = 0;
		char *eq = strchr(w, '=');
		if (eq)
			*eq = 0;
		const char *v = cmdline_get(w);
		if (!v || strcmp(v, eq ? eq + 1 : ""))
			return "differs";
		(*words)++;
	}
	return *words ? "agrees" : "empty";
}

/* the boot disk: the first NVMe block device whose GPT has an ESP named
 * as `make image` names it, else the first with any ESP (a data disk
 * carrying another system's ESP must not be taken for the image) */
static struct blockdev *fb_boot_disk(unsigned *scanned)
{
	struct blockdev *any = NULL;
	size_t pages = FB_GPT_ENTRIES_MAX / PAGE_SIZE;
	uint64_t arr = page_alloc(pages, 0);
	*scanned = 0;
	for (unsigned i = 0; arr && i < nblockdevs; i++) {
		struct blockdev *bd = blockdevs[i];
		if (strncmp(bd->name, "nvme", 4) || bd->block_size > 4096 ||
		    bd->block_count < 64)
			continue;
		(*scanned)++;
		struct fb_disk k = {.bd = bd};
		struct fb_gpt g;
		struct fb_esp esp = {0};
		if (fb_gpt_header(&k, 1, &g) ||
		    fb_gpt_entries(&k, &g, (uint8_t *)arr, &esp))
			continue;
		if (esp.named) {
			any = bd;
			break;
		}
		any = any ? any : bd;
	}
	if (arr)
		page_free(arr, pages);
	return any;
}

struct fb_disk_report {
	const char *gpt, *backup, *fat, *same, *cfg;
	uint64_t alt_lba, esp_lba;
	unsigned cfg_words;
	char label[12];
	bool named;
};

static void fb_disk_check(struct fb_disk *k, struct fb_disk_report *r,
			  uint8_t *a, uint8_t *b)
{
	struct blockdev *bd = k->bd;
	uint8_t mbr[512];
	struct fb_gpt g, g2;
	struct fb_esp esp = {0}, esp2 = {0};
	if (!fb_read(k, 0, sizeof(mbr), mbr) || mbr[510] != 0x55 ||
	    mbr[511] != 0xaa || mbr[446 + 4] != 0xee) {
		r->gpt = "no-protective-mbr";
		return;
	}
	if ((r->gpt = fb_gpt_header(k, 1, &g)) ||
	    (r->gpt = fb_gpt_entries(k, &g, a, &esp)))
		return;
	r->gpt = "ok";
	r->alt_lba = g.alt_lba;
	r->esp_lba = esp.first;
	r->named = esp.named;
	/* the backup header: where the primary says, pointing back at LBA 1,
	 * the same disk and the same entry array (the array itself is the
	 * one at its own LBA; a cloud that grew the disk left it in place) */
	if (g.alt_lba >= bd->block_count)
		r->backup = "past-end";
	else if ((r->backup = fb_gpt_header(k, g.alt_lba, &g2)))
		;
	else if (g2.alt_lba != 1 || memcmp(g.guid, g2.guid, 16) ||
		 g2.entries_crc != g.entries_crc || g2.nentries != g.nentries)
		r->backup = "differs";
	else if ((r->backup = fb_gpt_entries(k, &g2, b, &esp2)))
		;
	else if (esp2.first != esp.first || esp2.last != esp.last)
		r->backup = "esp-differs";
	else
		r->backup = "ok";
	/* the partition's head in one request (a multi-page transfer, PRP
	 * lists) and again one block per request: the same bytes */
	uint32_t bs = bd->block_size;
	uint64_t off = esp.first * bs;
	uint64_t span =
	    MIN((uint64_t)FB_SPAN_BYTES, (esp.last - esp.first + 1) * bs);
	span = ALIGN_DOWN(span, (uint64_t)bs);
	r->same = "read-failed";
	if (!fb_read(k, off, span, a))
		return;
	for (uint64_t o = 0; o < span; o += bs)
		if (!fb_read(k, off + o, bs, b + o))
			return;
	r->same = memcmp(a, b, span) ? "differs" : "yes";
	struct fb_fat f = {.base = off};
	if ((r->fat = fb_fat_boot(a, &f)))
		return;
	r->fat = "FAT32";
	strlcpy(r->label, f.label, sizeof(r->label));
	char cfg[FB_CFG_MAX + 1];
	size_t csz = (size_t)f.spc * f.bps;
	if (csz > FB_SPAN_BYTES) {
		r->cfg = "cluster-too-large";
		return;
	}
	long n = fb_read_cfg(k, &f, b, cfg, FB_CFG_MAX);
	r->cfg = n < 0 ? k->err : fb_cfg_agrees(cfg, (size_t)n, &r->cfg_words);
}

static void proof_firstboot_disk(void)
{
	unsigned scanned;
	struct blockdev *bd = fb_boot_disk(&scanned);
	struct fb_disk k = {.bd = bd};
	struct fb_disk_report r = {.gpt = "no-boot-disk",
				   .backup = "-",
				   .fat = "-",
				   .same = "-",
				   .cfg = "-",
				   .label = "-"};
	size_t pages = FB_SPAN_BYTES / PAGE_SIZE;
	uint64_t a = 0, b = 0;
	if (bd) {
		a = page_alloc(pages, 0);
		b = page_alloc(pages, 0);
		if (a && b)
			fb_disk_check(&k, &r, (uint8_t *)a, (uint8_t *)b);
		else
			r.gpt = "no-memory";
	}
	if (a)
		page_free(a, pages);
	if (b)
		page_free(b, pages);
	bool grown = bd && r.alt_lba && r.alt_lba != bd->block_count - 1;
	bool pass = bd && !strcmp(r.gpt, "ok") && !strcmp(r.backup, "ok") &&
		    r.named && !strcmp(r.same, "yes") &&
		    !strcmp(r.fat, "FAT32") && !strcmp(r.cfg, "agrees");
	proof_result("firstboot-disk", pass,
		     "disk=%s scanned=%u block=%u blocks=%lu gpt=%s backup=%s "
		     "backup_lba=%lu grown=%s esp_lba=%lu esp_named=%s fs=%s "
		     "label=%s same_bytes=%s cfg=%s cfg_words=%u reads=%u "
		     "bytes=%lu writes=0",
		     bd ? bd->name : "none", scanned, bd ? bd->block_size : 0,
		     bd ? bd->block_count : 0, r.gpt, r.backup, r.alt_lba,
		     grown ? "yes" : "no", r.esp_lba, r.named ? "yes" : "no",
		     r.fat, r.label[0] ? r.label : "-", r.same, r.cfg,
		     r.cfg_words, k.reads, k.bytes);
}
PROOF_REGISTER("firstboot-disk", proof_firstboot_disk, 72);

/* ---- firstboot-gvnic ------------------------------------------------------
 */

static struct nic *fb_nic(const char *name, size_t n)
{
	for (unsigned i = 0; i < nnics; i++)
		if (strlen(nics[i]->name) == n &&
		    !strncmp(nics[i]->name, name, n))
			return nics[i];
	return NULL;
}

/* gVNIC functions, how many are bound to a registered NIC and how many of
 * those report link; the first NIC and the first function's state */
static unsigned fb_gvnics(unsigned *bound, unsigned *up, struct nic **first,
			  char *state, size_t cap)
{
	unsigned fns = 0;
	*bound = *up = 0;
	*first = NULL;
	for (unsigned i = 0; i < pci_ndevs; i++) {
		struct pci_dev *d = &pci_devs[i];
		if (d->vendor != SHAPE_PCI_GOOGLE ||
		    d->device != SHAPE_PCI_GCP_GVNIC)
			continue;
		if (!fns++)
			kv_word(state, cap, d->state);
		/* the gve driver's state is "<nic name> <queue format>" */
		const char *sp = strchr(d->state, ' ');
		struct nic *n = d->drv && sp
				    ? fb_nic(d->state, (size_t)(sp - d->state))
				    : NULL;
		if (!n)
			continue;
		(*bound)++;
		*up += n->link_up;
		*first = *first ? *first : n;
	}
	return fns;
}

static void proof_firstboot_gvnic(void)
{
	unsigned bound, up;
	char nic[64] = "-", state[24] = "-";
	struct nic *n0;
	unsigned fns = fb_gvnics(&bound, &up, &n0, state, sizeof(state));
	/* link is read at attach and then by the driver's service poll, which
	 * the main loop runs; until it starts, the stack's receive poll (on
	 * the first NIC) runs the same service */
	uint64_t t0 = time_now_us();
	while (bound && up < bound && time_now_us() - t0 < FB_LINK_WAIT_US) {
		net_poll();
		time_delay_us(1000);
		fns = fb_gvnics(&bound, &up, &n0, state, sizeof(state));
	}
	if (n0) {
		const uint8_t *m = n0->mac;
		ksnprintf(nic, sizeof(nic),
			  "%s mac=%02x:%02x:%02x:%02x:%02x:%02x mtu=%u",
			  n0->name, m[0], m[1], m[2], m[3], m[4], m[5],
			  n0->mtu);
	}
	bool pass = fns > 0 && bound == fns && up == fns;
	proof_result("firstboot-gvnic", pass,
		     "functions=%u bound=%u link_up=%u state=%s nic=%s%s", fns,
		     bound, up, state, nic,
		     fns ? "" : " reason=no-gvnic-function");
}
PROOF_REGISTER("firstboot-gvnic", proof_firstboot_gvnic, 73);

/* ---- firstboot-dhcp -------------------------------------------------------
 */

static void fb_ip(char *buf, size_t cap, uint32_t ip)
{
	ksnprintf(buf, cap, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 0xff,
		  ip >> 8 & 0xff, ip & 0xff);
}

static void proof_firstboot_dhcp(void)
{
	struct net_state_view v;
	net_state(&v);
	if (!nnics || !v.nic) {
		proof_result("firstboot-dhcp", false, "nics=%u reason=%s",
			     nnics, nnics ? "stack-not-started" : "no-nic");
		return;
	}
	/* the stack runs from the main loop, which has not started: poll it
	 * here until the lease or the deadline */
	uint64_t t0 = time_now_us();
	while (!v.configured && time_now_us() - t0 < FB_DHCP_WAIT_US) {
		net_poll();
		time_delay_us(500);
		net_state(&v);
	}
	uint64_t ms = (time_now_us() - t0) / 1000;
	char ip[16], gw[16];
	fb_ip(ip, sizeof(ip), v.ip);
	fb_ip(gw, sizeof(gw), v.gw);
	unsigned prefix = 0;
	for (uint32_t m = v.mask; m; m <<= 1)
		prefix++;
	bool pass = v.configured && !strcmp(v.source, "dhcp") && v.ip;
	proof_result("firstboot-dhcp", pass,
		     "nic=%s source=%s ip=%s/%u gw=%s lease_s=%u ms=%lu",
		     v.nic->name, v.source, ip, prefix, gw, v.lease_s, ms);
}
PROOF_REGISTER("firstboot-dhcp", proof_firstboot_dhcp, 74);
