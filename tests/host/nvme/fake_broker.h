/* tests/host/nvme/fake_broker.h — the broker and blockdev the NVMe driver
 * core links against on the host (see fake_broker.c); DMAPool is the
 * kernel's own. */
#ifndef FAKE_BROKER_H
#define FAKE_BROKER_H
#include <stdbool.h>
#include <stdint.h>

#include "drivers/nvme/nvme_var.h"
#include "tests/host/validator/fake_nvme.h"

/* a fault applied once to the next completion the gate delivers into the
 * driver's CQ inject_qid, as kernel/proof/nvme_inject.c does in the kernel */
enum fb_inject {
	FB_INJECT_NONE,
	FB_INJECT_BAD_CID,   /* a CID generation the driver never issued */
	FB_INJECT_BAD_PHASE, /* the wrong phase tag */
	/* an SQ head one past the tail the driver rang: the controller
	 * claims to have consumed an entry it was never given */
	FB_INJECT_BAD_SQHD,
	FB_INJECT_CID, /* the CID inject_cid instead of the command's */
	/* the true SQ head plus the ring's size: the right slot modulo the
	 * ring, but no index in it */
	FB_INJECT_SQHD_PAST_RING,
};

/* what the model does with an Abort (NVMe 2.0 §5.1) for the command it
 * holds (hold_io) */
enum fb_abort {
	/* QEMU 7.2's nvme_abort: nothing; DW0 bit 0 set, "not aborted" */
	FB_ABORT_IGNORE,
	/* the held command completes with Command Abort Requested, posted
	 * before the Abort's own completion, which says aborted (DW0 0) */
	FB_ABORT_HONOUR,
	/* the held command's real completion (executed: its data moved)
	 * wins the race; the Abort then finds nothing: "not aborted" */
	FB_ABORT_RACE,
	/* both: the real completion, then Command Abort Requested for the
	 * same command again (a device that answers it twice), the Abort
	 * saying aborted */
	FB_ABORT_TWICE,
	/* the Abort says aborted, the held command is never answered */
	FB_ABORT_LIE,
	/* the Abort itself is never answered */
	FB_ABORT_STALL,
	/* the Abort says aborted, posted first; the held command's Command
	 * Abort Requested follows FB_ABORT_LATE_STEPS steps of the model
	 * later (NVMe 2.0 §5.1 orders neither before the other) */
	FB_ABORT_LATE,
};
#define FB_ABORT_MODES	    7
#define FB_ABORT_LATE_STEPS 3

struct nvme_broker {
	struct fake_nvme dev;
	struct nvme_gate gate;
	struct nvme_val_policy pol;
	uint16_t owner;
	uint64_t cap;
	uint32_t vs, csts;
	bool enabled;
	/* stopped by nvme_broker_stop, the gate's queues kept for the reap */
	bool draining;
	bool
	    fail_enable; /* nvme_broker_enable fails (controller never ready) */
	bool fail_open;	 /* nvme_broker_open fails (fenced, owner revoked) */
	bool device_stalled;  /* the model executes nothing (a hung device) */
	uint32_t nn_override; /* nonzero: Identify Controller reports this NN */
	int mdts_override;    /* >= 0: Identify Controller reports this MDTS */
	uint8_t lbads_override; /* nonzero: namespace 1's LBADS (log2 block) */
	uint64_t nsze_override; /* nonzero: namespace 1's NSZE (blocks) */
	bool ns1_inactive;	/* namespace 1's Identify Namespace all zeros */
	/* may be NULL: called on every namespace's Identify Namespace page
	 * after the model and the overrides above wrote it (namespaces but
	 * 1 are all zeros until then: inactive) */
	void (*ns_hook)(uint32_t nsid, struct nvme_id_ns *id);
	/* may be NULL (an empty list): writes nsid's Namespace
	 * Identification Descriptor list (CNS 03h) into page, asked only
	 * with vs 1.3 or later; false: the command failed */
	bool (*descs_hook)(uint32_t nsid, uint8_t *page);
	/* nonzero: the fail_cmd-th command the model executes (1-based,
	 * counted in dev.nlog) completes with fail_status; the stall_cmd-th
	 * is never executed (device_stalled from then on, until a reset) */
	unsigned fail_cmd, stall_cmd;
	uint16_t fail_status;
	unsigned enables, resets;
	bool identified; /* id and pol.ns filled (nvme_broker_ident) */
	/* reset since: the next enable identifies the controller again
	 * and the policy follows it (nvme_ident_follow), as the kernel
	 * broker's broker_reidentify; fail_reident: that identify fails
	 * (the enable is refused) */
	bool reident, fail_reident;
	unsigned reidents;
	struct nvme_ident_ctrl id;
	/* hold_io: the next I/O command the model fetches is held — not
	 * executed, not answered — until an Abort names it (abort_mode says
	 * what then), a Delete I/O SQ resolves it or a reset forgets it;
	 * everything else runs. held: one is held now (held_sqid, held_cid:
	 * the device's CID) */
	bool hold_io, held;
	bool holding; /* run asynchronously since a hold, until a reset */
	uint16_t held_sqid, held_cid;
	enum fb_abort abort_mode;
	unsigned aborts_seen; /* Abort commands the model took */
	unsigned late_in;     /* FB_ABORT_LATE: steps until the held answer */
	enum fb_inject inject;
	uint16_t inject_qid;
	uint16_t inject_cid; /* FB_INJECT_CID */
	/* may be NULL: runs once, at the next nvme_broker_stop, before the
	 * controller stops — what the device does in the last moment before
	 * CC.EN=0 (a test completes commands there) */
	void (*before_stop)(void);
	unsigned stops;
	/* the next stop or reset finds the controller ignoring CC.EN=0: it
	 * fails and the controller is fenced for good (fenced), as the
	 * kernel broker's broker_halt does */
	bool fence_at_stop;
	bool fenced;
	/* nvme_broker_shutdown on an enabled controller: how many, and how
	 * many commands the model had executed at the last one (dev.nlog),
	 * so a test sees what reached the device before CC.SHN; idle ones
	 * (not enabled) counted apart. shst_fail: the shutdown does not
	 * complete (the controller is stopped all the same) */
	unsigned shutdowns, idle_shutdowns, shutdown_nlog;
	bool shst_fail;
};

extern struct nvme_broker fb;
/* a fresh model, gate and grant table for owner */
void fake_broker_init(uint16_t owner);
/* sc as devmgr hands it to nvme_attach on this broker: named nvme0, fb's
 * owner, I/O queue ids 1..NVME_IOQ_MAX */
void fake_broker_softc(struct nvme_softc *sc);
/* a Read of nlb blocks from slba of namespace 1 into [iova, iova+len) */
static inline struct nvme_io fb_read(uint64_t slba, uint32_t nlb, uint64_t iova,
				     uint32_t len)
{
	return (struct nvme_io){.opc = NVME_IO_READ,
				.nsid = 1,
				.slba = slba,
				.nlb = nlb,
				.iova = iova,
				.len = len};
}
#endif
