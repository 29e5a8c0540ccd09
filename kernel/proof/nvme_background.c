/* kernel/proof/nvme_background.c — nvme-background: steady read traffic
 * on the first NVMe block device, from the main loop once the proofs are
 * done, so that a live view of the I/O rate (the Web UI's NVMe graph,
 * tests/qemu/test_webui.py) has something to show while it is watched.
 *
 * One read of up to BG_BLOCKS blocks every BG_INTERVAL_US, walking the
 * namespace from LBA 0 and wrapping at its end; the poller stops for good
 * after BG_MAX_FAIL failed reads and says so. The proof itself passes when
 * the first read came back. */
#include "kernel/boot/boot.h"
#include "kernel/devmgr/blockdev.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

#define BG_BLOCKS      8
#define BG_INTERVAL_US 50000 /* 20 reads a second */
#define BG_MAX_FAIL    3
#define BG_BUF_BYTES   (64u << 10) /* BG_BLOCKS of 4 KiB, or one of 64 KiB */

static void *bg_buf; /* page_alloc'd: identity-mapped kernel memory */
static struct blockdev *bg_dev;
static uint64_t bg_next, bg_lba, bg_reads;
static unsigned bg_fail;

static bool bg_read(void)
{
	uint32_t n = (uint32_t)MIN((uint64_t)BG_BLOCKS,
				   BG_BUF_BYTES / bg_dev->block_size);
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
	if (bg_fail >= BG_MAX_FAIL)
		return false;
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
	uint64_t pa = page_alloc(BG_BUF_BYTES / 4096, 0);
	if (!pa) {
		proof_result("nvme-background", false, "reason=no-memory");
		return;
	}
	bg_buf = (void *)pa;
	bool ok = bg_read();
	if (ok)
		poller_add(bg_poll);
	proof_result("nvme-background", ok, "dev=%s interval_us=%u blocks=%u",
		     bg_dev->name, BG_INTERVAL_US, BG_BLOCKS);
}
PROOF_REGISTER("nvme-background", proof_nvme_background, 48);
