/* kernel/devmgr/devmgr.h — binding PCI functions to drivers, handing out
 * grants, classifying the platform and choosing the DMA backend. */
#ifndef CAPOS_DEVMGR_H
#define CAPOS_DEVMGR_H
#include <stdbool.h>
#include <stdint.h>

#include "kernel/authority/authority.h" /* enum dma_backend */

struct pci_dev;

struct pci_match {
	uint16_t vendor, device; /* 0xffff: any */
	uint32_t class_code, class_mask;
};

/* what a device said about itself before attach */
struct dev_identity {
	char model[41], serial[21];
};

struct driver {
	const char *name;
	const struct pci_match *ids;
	unsigned nids;
	bool dma;	/* performs DMA: needs a backend to be bound */
	bool validated; /* its DMA goes through the brokered validator (dma/) */
	/* a virtio function whose common configuration and rings are the
	 * virtio broker's (kernel/authority/virtio_broker.h): the device
	 * manager opens the broker at bind, before the driver runs */
	bool rings_brokered;
	/* optional, before any of the owner's memory exists: what only the
	 * device can say about itself (for NVMe, the broker's Identify), so
	 * the device manager can classify it and set the owner's limits
	 * first. 0, or -1 when the device is unusable (not bound). The
	 * strings are read up to their last byte, terminated or not. */
	int (*identify)(struct pci_dev *d, uint16_t owner,
			struct dev_identity *out);
	/* 0 on success; on failure prints "<name>: unable to ..." itself.
	 * After a failure of identify or attach the device manager revokes
	 * the owner: whatever the driver did not give back is taken */
	int (*attach)(struct pci_dev *d, uint16_t owner);
	/* optional: the orderly end (devmgr_shutdown) — the device told,
	 * stopped, off the bus, everything outstanding answered. 0 when the
	 * device confirmed it, 1 when it was stopped without that, -1 when
	 * it did not stop (fenced). Without one the device is left running */
	int (*detach)(struct pci_dev *d);
};

/* the binding table (kernel/devmgr/bindings.c) */
extern const struct driver *const devmgr_drivers[];
extern const unsigned devmgr_ndrivers;

/* every function of pci_devs, in turn (devmgr_bind), then one `pci` line
 * each */
void devmgr_bind_all(void);
/* bind one function to the first driver that matches it; a function bound
 * already is left alone. The order the attaches succeed in is recorded */
void devmgr_bind(struct pci_dev *d);
/* Before the kernel leaves (the proof image's exit): every bound function
 * whose driver has a detach is detached, in the reverse of the order
 * devmgr_bind bound them in (recorded, not pci_devs order), one line each
 * with how long it took; one without a detach is left running, said in
 * its line. Every restart due is called off, a function's whose last
 * restart failed (no driver, so nothing detached) among them, and none
 * is set due after it until the function is bound again (a driver left
 * running that reports then: one line, not restarted). Its one caller is
 * the proof image's exit: panic and a fault's exit detach nothing, and
 * the user image has no way out. */
void devmgr_shutdown(void);
/* Give a bound function back (a driver restart): the driver's detach,
 * then auth_owner_unbind with whether the detach confirmed the stop (0;
 * no detach or 1: not confirmed, its memory withheld), d out of the bind
 * order, its decode off, its state "unbound" (/api/devices). 0, 1 when the
 * authority layer withheld memory, -1 when d holds no owner (one line).
 * A function devmgr_shutdown detached, or whose attach failed, holds its
 * owner still: unbound here without a second detach (the shutdown's
 * answer stands; a failed attach's stop is not confirmed). */
int devmgr_unbind(struct pci_dev *d);
/* bind an unbound function again as devmgr_bind does: the policy decides
 * the backend anew, a fresh owner id, the driver's identify and attach.
 * 0, or -1 (its owner not given back yet, or the bind refused: its state
 * says why). devmgr_bind leaves alone a function that holds an owner. */
int devmgr_rebind(struct pci_dev *d);

/* The supervisor. A driver that gives its device up at run time says so
 * once, from the main loop or a proof (never an interrupt handler; one
 * from a handler all the same is only held, for devmgr_poll):
 * devmgr_failed(d, owner, why), why a string literal. It only records;
 * devmgr_poll, the main loop's, restarts the function after a backoff —
 * devmgr_unbind, then devmgr_rebind: a fresh owner, fresh capabilities,
 * the policy asked again — one line per restart. At most
 * DEVMGR_RESTART_MAX restarts in a streak, the k-th (from 0)
 * DEVMGR_RESTART_DELAY_US << k after the failure or the restart before
 * (1 s, 2 s, 4 s); a rebind that fails is the next restart's failure.
 * With no owner id left (they are never reused) a failed restart spends
 * the budget at once. The streak ends (the budget is full again) once the
 * function has run DEVMGR_RESTART_CLEAN_US since its last bind. A failure with
 * the budget spent is one line and the function is left failed. Not restarted:
 * a report from an owner the function no longer holds (a stale instance), one
 * made inside an attach that then fails (the attach's own failure unwinds it;
 * one made inside an attach that succeeds is held and acted on by the next
 * devmgr_poll, as is one inside a restart's), a fenced function (it may still
 * reach memory given back: pci.h), an owner revoked other than by a DMA fault
 * (an operator or a proof revoked it: one line, left to them; revoked between
 * the failure and its restart, the restart is called off). An owner auth_poll
 * revoked for a DMA fault (auth_owner_faulted) is restarted whether or not its
 * driver noticed, inside the same budget: under the IOMMU the fresh owner's
 * fresh domain confines it again. */
#define DEVMGR_RESTART_MAX	3
#define DEVMGR_RESTART_DELAY_US (1000ull * 1000)
#define DEVMGR_RESTART_CLEAN_US (600ull * 1000 * 1000) /* 10 min */
void devmgr_failed(struct pci_dev *d, uint16_t owner, const char *why);
/* the main loop's: restarts due now, and a DMA-fault revocation no
 * driver has reported yet recorded as a failure. True when it restarted
 * something */
bool devmgr_poll(void);
#ifdef CAPOS_HOST
/* host tests (a fuzzer's next input): everything as at boot — owner ids
 * from 1 again and the "no owner id left" line unsaid, the DMA-fault
 * count last seen, the policy's records and its platform not read yet
 * (devmgr_policy_host_reset: its lines said again), the authority layer's
 * owner table, refusal counts and refusal lines (auth_owner_host_reset).
 * Only once every function was unbound (devmgr_unbind), else -1 and
 * nothing changed; the functions themselves (pci_devs) are the caller's */
int devmgr_host_reset(void);
void devmgr_policy_host_reset(void);
#endif

/* kernel/devmgr/policy.c: the DMA backend for a DMA-capable driver on d, and
 * why; DMA_BACKEND_NONE means "do not bind" */
enum dma_backend devmgr_pick_backend(const struct pci_dev *d,
				     const struct driver *drv,
				     const char **why);
#endif
