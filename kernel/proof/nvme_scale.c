/* kernel/proof/nvme_scale.c — cloud-scale device counts (nvme-scale).
 *
 * Every NVMe controller the device manager bound, and every namespace each
 * one was granted, as block devices: a pattern written at the first, a
 * middle and the last block of each namespace through struct blockdev,
 * read back and compared. One NVME_NS line per namespace names the
 * controller's serial, the NSID, the block size, the LBAs and the pattern
 * seed, so the test can find the same bytes in the image files on the host.
 * Sparse NSIDs and mixed block sizes come from QEMU's nvme-subsys. */
#include "drivers/nvme/nvme_var.h"
#include "kernel/lib/lib.h"
#include "kernel/proof/proof.h"

void nvme_proof_fill(void *buf, uint64_t lba, uint32_t nblk, uint32_t bs,
		     uint32_t seed);

/* the largest block the proof writes: 64 KiB (LBADS 16) */
static uint8_t scale_wbuf[64 << 10], scale_rbuf[64 << 10];

static bool scale_ns(unsigned ci, struct nvme_ns *ns)
{
	struct blockdev *bd = &ns->bdev;
	uint32_t seed = 0x5ca1e000u ^ (ci << 16) ^ ns->nsid;
	uint64_t lbas[3] = {0, bd->block_count / 2, bd->block_count - 1};
	bool ok = bd->block_size <= sizeof(scale_wbuf);
	for (unsigned i = 0; ok && i < 3; i++) {
		nvme_proof_fill(scale_wbuf, lbas[i], 1, bd->block_size, seed);
		memset(scale_rbuf, 0, bd->block_size);
		ok = bd->write(bd, lbas[i], 1, scale_wbuf) == 0 &&
		     bd->flush(bd) == 0 &&
		     bd->read(bd, lbas[i], 1, scale_rbuf) == 0 &&
		     !memcmp(scale_wbuf, scale_rbuf, bd->block_size);
	}
	kprintf("NVME_NS ctrl=%s serial=%s nsid=%u bs=%u blocks=%llu "
		"lbas=%llu,%llu,%llu seed=0x%x ok=%d\n",
		ns->sc->name, ns->sc->id.sn, ns->nsid, bd->block_size,
		(unsigned long long)bd->block_count,
		(unsigned long long)lbas[0], (unsigned long long)lbas[1],
		(unsigned long long)lbas[2], seed, ok);
	return ok;
}

static void proof_nvme_scale(void)
{
	unsigned nctrl = 0, nns = 0, nok = 0;
	for (unsigned ci = 0; nvme_at(ci); ci++) {
		struct nvme_softc *sc = nvme_at(ci);
		nctrl++;
		for (unsigned i = 0; i < sc->nns; i++) {
			nns++;
			nok += scale_ns(ci, &sc->ns[i]);
		}
	}
	proof_result("nvme-scale", nctrl && nns && nok == nns,
		     "controllers=%u namespaces=%u passed=%u blockdevs=%u",
		     nctrl, nns, nok, nblockdevs);
}
PROOF_REGISTER("nvme-scale", proof_nvme_scale, 47);
