/* tests/host/nvme/fuzz_nvme_cqe.c — a device (or gate) handing the NVMe
 * driver arbitrary completion entries: whatever the 16-byte entries say
 * (phase, CID, SQID, SQHD, status), nvme_complete consumes at most one ring,
 * never dispatches a command twice or one that is not outstanding, and the
 * driver's counters add up. Then the first command still outstanding times
 * out: the model, running again, holds one command and answers the Abort
 * as the input's last byte says (enum fb_abort: honoured, raced by the
 * real completion, answered twice, ignored, a lie, never answered), and
 * still no command is answered twice or lost — nvme_abort's 0 means its
 * command was answered. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fake_broker.h"
#include "shim.h"

static struct nvme_softc sc;
static unsigned ndone;

static void done(struct nvme_softc *s, struct nvme_ccb *ccb,
		 const struct nvme_cqe *e)
{
	(void)s, (void)e;
	ndone++;
	nvme_ccb_put(ccb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool up;
	shim_quiet = 1;
	if (!up) {
		fake_broker_init(3);
		fake_broker_softc(&sc);
		if (nvme_attach(&sc) != 0)
			__builtin_trap();
		up = true;
	}
	/* a known state: the controller reset, the queues re-created (each
	 * reset an incident of its own, never a storm's backoff) */
	sc.reset_streak = 0;
	if (nvme_recover(&sc, "fuzz") != 0)
		__builtin_trap();
	struct nvme_queue *q = &sc.ioq[0];
	/* a few real commands outstanding (the model is stalled) */
	fb.device_stalled = true;
	struct dma_buf b;
	if (nvme_buf_get(&sc, 4096, &b) != 0)
		__builtin_trap();
	unsigned sent = 0;
	ndone = 0;
	for (unsigned i = 0; i < 4; i++) {
		struct nvme_io r = fb_read(i, 1, b.iova, 512);
		sent += nvme_io_submit(&sc, q, &r, done, 0) == 0;
	}
	/* the input is the ring's content from the head on */
	struct nvme_cqe *ring = q->cq.va;
	size_t n = size / sizeof(struct nvme_cqe);
	if (n > q->entries)
		n = q->entries;
	for (size_t i = 0; i < n; i++)
		memcpy(&ring[(q->cq_head + i) % q->entries],
		       data + i * sizeof(struct nvme_cqe),
		       sizeof(struct nvme_cqe));
	uint64_t before = q->completed + q->bad_cid + q->bad_cqe;
	int got = nvme_complete(&sc, q);
	if (got < 0 || (size_t)got > q->entries)
		__builtin_trap();
	if (ndone > sent || q->inflight + ndone != sent)
		__builtin_trap();
	if (q->completed + q->bad_cid + q->bad_cqe != before + (uint64_t)got)
		__builtin_trap();
	/* the Abort of the first command still outstanding */
	struct nvme_ccb *late = 0;
	for (unsigned i = 0; i < q->nccb && !late; i++)
		if (q->ccb[i].state == NVME_CCB_INFLIGHT)
			late = &q->ccb[i];
	if (late && size) {
		uint16_t cid = late->cid;
		fb.device_stalled = false;
		fb.hold_io = true;
		fb.abort_mode =
		    (enum fb_abort)(data[size - 1] % FB_ABORT_MODES);
		/* 300 us of the shim's clock: the model answers at the next
		 * poll, and each wait spins 100 ns a read (3000 made every
		 * input 5x slower for no new edge) */
		int r = nvme_abort(&sc, late, 300);
		bool answered =
		    late->state != NVME_CCB_INFLIGHT || late->cid != cid;
		if ((r == 0) != answered)
			__builtin_trap();
		if (ndone > sent || q->inflight + ndone != sent)
			__builtin_trap();
	}
	/* a reset completes every remaining command exactly once */
	sc.reset_streak = 0;
	if (nvme_recover(&sc, "fuzz") != 0 || ndone != sent)
		__builtin_trap();
	nvme_buf_put(&sc, &b);
	return 0;
}
