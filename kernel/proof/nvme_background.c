/* kernel/proof/nvme_background.c — nvme-background: steady read traffic
 * on the first NVMe block device, from the main loop once the proofs are
 * done, so that a live view of the I/O rate (the Web UI's NVMe graph,
 * tests/qemu/test_webui.py) has something to show while it is watched.
 *
 * One read of up to BG_BLOCKS blocks every BG_INTERVAL_US, walking the
 * namespace from LBA 0 and wrapping at its end; the poller stops for good
 * after BG_MAX_FAIL failed reads and says so, and once its block device is
 * unregistered (its driver detached: nvme-rebind's unbind frees the old
 * instance's block devices) with one line, reading nothing more of it.
 *
 * The proof is that first read, of LBA 0: the host wrote nvme_proof_pat
 * (kernel/proof/nvme_proof.c) with BG_SEED into those blocks of the image
 * before the boot (tests/qemu/test_webui.py computes it on its own), and
 * no proof that runs before this one writes there; it passes when the
 * read came back and every word of it is the host's pattern. */
#include "kernel/boot/boot.h"
#include "kernel/devmgr/blockdev.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/proof/nvme_proof.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

#define BG_BLOCKS      8
#define BG_INTERVAL_US 50000 /* 20 reads a second */
#define BG_MAX_FAIL    3
#define BG_BUF_BYTES   (64u << 10) /* BG_BLOCKS of 4 KiB, or one of 64 KiB */
#define BG_SEED	       0xb6c0ffeeu /* the host's pattern at LBA 0 */

static void *bg_buf; /* page_alloc'd: identity-mapped kernel memory */
static struct blockdev *bg_dev;
/* its name, kept: once its driver detached, bg_dev names freed memory */
static char bg_name[sizeof(((struct blockdev *)0)->name)];
static uint64_t bg_next, bg_lba, bg_reads;
static unsigned bg_fail;

static uint32_t bg_blocks(void)
{
	return (uint32_t)MIN((uint64_t)BG_BLOCKS,
			     BG_BUF_BYTES / bg_dev->block_size);
}

static bool bg_read(void)
{
	uint32_t n = bg_blocks();
	if (bg_lba + n > bg_dev->block_count)
		bg_lba = 0;
	bool ok = bg_dev->read(bg_dev, bg_lba, n, bg_buf) == 0;
	bg_lba += n;
	bg_reads += ok;
	return ok;
}

/* never busy between reads: the main loop may halt, its 1 ms timer
 * (IDLE_WAIT_US) brings the next read on time */
static bool bg_poll(void)
{
	if (bg_fail >= BG_MAX_FAIL || !bg_dev)
		return false;
	/* its driver detached (nvme-rebind's unbind, or a shutdown): the
	 * block device and the memory behind it are gone, never read again */
	bool registered = false;
	for (unsigned i = 0; i < nblockdevs && !registered; i++)
		registered = blockdevs[i] == bg_dev;
	if (!registered) {
		kprintf("nvme-background: %s unregistered (its driver "
			"detached) after %llu reads; stopped\n",
			bg_name, (unsigned long long)bg_reads);
		bg_dev = 0;
		return false;
	}
	uint64_t now = time_now_us();
	if (now < bg_next)
		return false;
	bg_next = now + BG_INTERVAL_US;
	if (!bg_read() && ++bg_fail == BG_MAX_FAIL)
		kprintf(
		    "nvme-background: %u reads failed after %llu; stopped\n",
		    bg_fail, (unsigned long long)bg_reads);
	return false;
}

static void proof_nvme_background(void)
{
	for (unsigned i = 0; i < nblockdevs && !bg_dev; i++)
		if (!strncmp(blockdevs[i]->name, "nvme", 4) &&
		    blockdevs[i]->block_size <= BG_BUF_BYTES &&
		    blockdevs[i]->block_count >= BG_BLOCKS)
			bg_dev = blockdevs[i];
	if (!bg_dev) {
		proof_result("nvme-background", false,
			     "reason=no-nvme-blockdev");
		return;
	}
	strlcpy(bg_name, bg_dev->name, sizeof(bg_name));
	uint64_t pa = page_alloc(BG_BUF_BYTES / 4096, 0);
	if (!pa) {
		proof_result("nvme-background", false, "reason=no-memory");
		return;
	}
	bg_buf = (void *)pa;
	uint32_t n = bg_blocks(), bs = bg_dev->block_size;
	bool read = bg_read(); /* LBA 0 */
	/* every word of what came back against the host's pattern */
	const uint32_t *w = bg_buf;
	uint32_t words = n * (bs / 4), bad = 0;
	for (uint32_t i = 0; read && i < words; i++)
		bad +=
		    w[i] != nvme_proof_pat(i / (bs / 4), i % (bs / 4), BG_SEED);
	if (read)
		poller_add(bg_poll);
	proof_result("nvme-background", read && !bad,
		     "dev=%s interval_us=%u blocks=%u bs=%u read=%d seed=0x%x "
		     "checked_bytes=%u bad_words=%u",
		     bg_dev->name, BG_INTERVAL_US, n, bs, read, BG_SEED,
		     read ? words * 4 : 0, bad);
}
PROOF_REGISTER("nvme-background", proof_nvme_background, 48);
