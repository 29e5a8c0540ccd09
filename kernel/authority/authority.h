/* kernel/authority/authority.h — the capabilities a driver holds.
 *
 * A driver is handed exactly what a userspace driver would be granted:
 *   struct dev_mmio  (DeviceMmio) one BAR window, bounds- and
 * generation-checked struct irq_cap   (Interrupt)  one MSI-X vector bound to a
 * handler struct dma_pool  (DMAPool)    physically contiguous memory, one owner
 * Every capability names an authority-table slot and the generation it was
 * issued under. Revoking bumps the slot's generation, so a stale copy fails
 * closed: no access, an error return, and a counted refusal reason.
 *
 * The same header is the driver-facing interface on the host: tests/host/shim
 * implements it against software device models. See
 * docs/authority-gate-design.md. */
#ifndef CAPOS_AUTHORITY_H
#define CAPOS_AUTHORITY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dma/buf.h"

struct pci_dev;

/* how a function's DMA is confined (the device manager decides at bind) */
enum dma_backend {
	DMA_BACKEND_NONE,      /* not DMA-capable, or no usable backend */
	DMA_BACKEND_IOMMU,     /* hardware translation (kernel/iommu) */
	DMA_BACKEND_VALIDATOR, /* brokered: the NVMe on-notify validator (dma/),
				* or virtqueues the virtio broker lays out */
	DMA_BACKEND_UNVALIDATED, /* device whose DMA is not validated (edu, NICs
				  * whose queues hold only pool addresses) */
};

/* its one name, in devmgr's lines, /api/shape and /api/authority alike */
static inline const char *dma_backend_name(enum dma_backend b)
{
	switch (b) {
	case DMA_BACKEND_IOMMU:
		return "iommu";
	case DMA_BACKEND_VALIDATOR:
		return "brokered-validator";
	case DMA_BACKEND_UNVALIDATED:
		return "unvalidated";
	default:
		return "none";
	}
}

/* ---- owners --------------------------------------------------------------
 * One owner per bound function. The device manager registers it at bind,
 * before the driver exists, with what it knows: the function, the DMA
 * backend, whether the function is brokered (its registers reachable only
 * through a broker), and the highest device address its DMA may use. The
 * authority layer enforces these facts; it never asks the device manager. */
#define AUTH_OWNER_MAX 128 /* bound functions the authority layer tracks */
struct auth_owner_facts {
	struct pci_dev *d;
	enum dma_backend backend;
	bool brokered;
	uint64_t dma_limit; /* every pool and shadow lies below; 0: none */
};
/* 0, or -1 (table full, id in use, the function not naming owner in its
 * d->owner or another owner's, or backend IOMMU and no domain for the
 * function: one line, nothing bound). f->d NULL binds an owner with no
 * function, which gets no function's capabilities. Under
 * DMA_BACKEND_IOMMU the owner's VT-d domain is created here, empty, before
 * any of its memory exists. */
int auth_owner_bind(uint16_t owner, const struct auth_owner_facts *f);
/* d is owner's function: owner bound with d as its facts' function, and d
 * naming owner (d->owner). An owner is exactly one function — its IOMMU
 * domain is that function's source id, its revocation stops that function
 * — so any other function naming it gets nothing of it: no bus mastering
 * (pci_enable's check), no DeviceMmio window, no Interrupt, no broker. */
bool auth_owner_function(uint16_t owner, const struct pci_dev *d);
/* lower the owner's DMA limit (a device learned to be narrower after
 * Identify). Refused (-1, one line) once the owner holds any DMA memory —
 * a pool live, parked or withheld, a shadow: every pool of an owner obeys
 * its final limit. */
int auth_owner_limit(uint16_t owner, uint64_t dma_limit);
/* the facts of a bound owner, NULL when owner is not bound */
const struct auth_owner_facts *auth_owner_facts(uint16_t owner);

/* Revocation of every capability an owner holds — a DMA fault is one
 * (iommu_owner_quarantined), an administrator may cause another. In order:
 * the device is stopped (bus mastering off; under the IOMMU the owner's
 * context entry is cleared and the invalidation waited for), the owner's
 * revoke hook runs (the NVMe broker stops the controller and drops its gate
 * queues, releasing their ring and in-flight pins), then every DMAPool is
 * seized — unmapped from the owner's domain and parked: not live, its
 * memory withheld until the driver's own dma_pool_revoke gives it back —
 * and every DeviceMmio and Interrupt capability is revoked. A pool still
 * pinned after the hook is kept (one line each). Afterwards every use of an
 * old capability, and every request for a new one, is refused with
 * AUTH_REVOKED until auth_owner_reinstate. Returns pools seized, or -1
 * when owner is not bound, or when called inside an interrupt handler
 * (refused, counted busy: auth_poll is the safe point that runs it for
 * faulted owners). */
int auth_owner_revoke(uint16_t owner, const char *why);
/* revoked and not reinstated? */
bool auth_owner_revoked(uint16_t owner);
/* revoked by auth_poll for a DMA fault (not by an operator, a proof or a
 * failed attach), and not reinstated: the device manager restarts such a
 * function (devmgr_poll) */
bool auth_owner_faulted(uint16_t owner);
/* how many such revocations auth_poll has made since boot: one load for
 * the device manager's poll when none happened since its last look */
uint32_t auth_fault_revocations(void);
/* revoked, or quarantined by the IOMMU after a DMA fault and not yet
 * revoked (auth_poll does that at the safe point): its device must not
 * master the bus. pci_enable asks the authority layer this (the check is
 * installed at the first auth_owner_bind) for every owned function, and
 * grants bus mastering only to an owner's function (auth_owner_function)
 * while the owner is not stopped. */
bool auth_owner_stopped(uint16_t owner);
/* lift a revocation on purpose: the IOMMU context entry comes back (bus
 * mastering is the caller's); old capabilities stay dead, new ones may be
 * requested. 0 or -1. */
int auth_owner_reinstate(uint16_t owner);
/* Give owner's function back (the device manager's devmgr_unbind, after
 * the driver's detach; stopped: the detach confirmed the device stopped).
 * The layer stops it itself anyway and takes every capability back as
 * auth_owner_revoke does (when revoked already: only the pools its
 * revocation kept pinned and that are unpinned now), then gives
 * the memory back — parked pools, the driver's kernel memory, the broker's
 * pages (auth_owner_on_unbind) — EXCEPT what the device may still reach:
 * with stopped false every pool and shadow page, and any pool still
 * pinned or whose unmap the IOMMU did not confirm, is withheld for good
 * (never back to the allocator; counted, one line). Under the IOMMU its
 * domain is then torn down (iommu_domain_destroy). The owner slot is
 * freed, d->owner set to 0, and the id retired: never bound again, so every
 * handle of the old owner (window, interrupt, pool, kernel memory,
 * broker) is refused also after a rebind of the same function under a
 * fresh id. 0 (nothing withheld), 1 (pages withheld), -1 (owner not bound:
 * never bound, unbound already; one line, AUTH_NOT_GRANTED; or called
 * inside an interrupt handler: refused, AUTH_BUSY). */
int auth_owner_unbind(uint16_t owner, bool stopped);
/* pages every unbind so far withheld */
uint64_t auth_unbind_withheld_pages(void);
#ifdef CAPOS_HOST
/* host tests (a fuzzer's next input): the owner table as at boot — no id
 * retired, no fault revocation, withheld page or refusal counted, no
 * refusal line said (auth_refused's bound is the process's otherwise).
 * Only once every owner was unbound (auth_owner_unbind), else -1 and
 * nothing changed */
int auth_owner_host_reset(void);
#endif
/* the safe point (main loop, proofs): revoke every owner whose device
 * faulted since the last call; returns owners revoked */
unsigned auth_poll(void);

/* kernel memory for a driver's own state (never device-visible), zeroed,
 * charged to owner under DMA_OWNER_KMEM_MAX (dma/owner.h), at most
 * AUTH_KMEM_ALLOCS allocations live per owner. NULL when refused (one
 * line), AUTH_REVOKED while the owner is revoked. */
#define AUTH_KMEM_ALLOCS 16
void *auth_kmem_alloc(uint16_t owner, size_t len);
/* give back an allocation: p and len as auth_kmem_alloc took and returned
 * them, by the same owner, once. Anything else — another owner's memory, a
 * pool's, a length that is not the allocation's, a second free — is
 * refused (AUTH_NOT_GRANTED, one line) and frees nothing. */
void auth_kmem_free(uint16_t owner, void *p, size_t len);

/* why an access was refused; counted in auth_refusals[]. Every refusal
 * below that says "one line" says it at most AUTH_REFUSAL_LINES times per
 * owner and reason, then once that the rest are only counted
 * (kernel/authority/auth_internal.h + auth_refused) */
enum auth_reason {
	AUTH_OUT_OF_WINDOW, /* offset+width past the window, or wrapped */
	AUTH_STALE_GEN,	    /* capability revoked (generation moved on) */
	AUTH_MISALIGNED,    /* access not naturally aligned */
	AUTH_READ_ONLY,	    /* write through a read-only window */
	AUTH_BAD_SLOT,	    /* slot not an authority entry of that kind */
	AUTH_NOT_GRANTED,   /* request for a BAR range or vector not allowed */
	AUTH_NO_MEMORY,	    /* DMA pool or vector space exhausted */
	AUTH_BUSY,	    /* revoke of a grant pinned by in-flight DMA or
			     * a live queue ring */
	AUTH_OVER_QUOTA,    /* the owner's grant or pool-memory quota */
	AUTH_REVOKED,	    /* the owner's capabilities were revoked (a DMA
			     * fault: auth_owner_revoke) */
	AUTH_NREASONS
};
extern uint64_t auth_refusals[AUTH_NREASONS];
const char *auth_reason_name(enum auth_reason r);

/* ---- DeviceMmio --------------------------------------------------------- */
#define MMIO_READ  1u
#define MMIO_WRITE 2u

struct dev_mmio {
	volatile uint8_t
	    *va;	/* kernel mapping of the window start (uncached) */
	uint64_t phys;	/* physical address of the window start */
	uint32_t len;	/* window length in bytes (at most MMIO_WINDOW_MAX) */
	uint32_t flags; /* MMIO_READ | MMIO_WRITE */
	uint16_t slot;	/* authority table slot */
	uint32_t gen;	/* generation the window was granted under */
};

/* the longest DeviceMmio window: struct dev_mmio's 32-bit len */
#define MMIO_WINDOW_MAX 0xffffffffull

/* grant [off, off+len) of BAR `bar` of d to `owner`. off and len are 64
 * bits, as a BAR may be larger than 4 GiB: a window may start anywhere in
 * it, and an offset or length past the BAR, or a length over
 * MMIO_WINDOW_MAX, is refused, never cut to 32 bits. Refuses windows that
 * overlap the MSI-X table or PBA (the kernel programs those). 0 or -1. */
int mmio_grant(struct pci_dev *d, uint16_t owner, unsigned bar, uint64_t off,
	       uint64_t len, uint32_t flags, struct dev_mmio *out);
void mmio_revoke(struct dev_mmio *m);

/* Accessors. off is the byte offset in the window, 64 bits so that no
 * caller's offset is cut before it is checked: one at or past the window's
 * end is refused (out-of-window). Each access the device sees must be
 * naturally aligned at its address on the device (the window's start plus
 * off), not only within the window. A refused read returns all ones; a
 * refused write returns false and touches nothing. Both count the reason.
 * 64-bit registers are accessed as two 32-bit halves, low then high, each
 * 4-byte aligned on the device. */
uint8_t mmio_read8(const struct dev_mmio *m, uint64_t off);
uint16_t mmio_read16(const struct dev_mmio *m, uint64_t off);
uint32_t mmio_read32(const struct dev_mmio *m, uint64_t off);
uint64_t mmio_read64(const struct dev_mmio *m, uint64_t off);
bool mmio_write8(const struct dev_mmio *m, uint64_t off, uint8_t v);
bool mmio_write16(const struct dev_mmio *m, uint64_t off, uint16_t v);
bool mmio_write32(const struct dev_mmio *m, uint64_t off, uint32_t v);
bool mmio_write64(const struct dev_mmio *m, uint64_t off, uint64_t v);
/* non-counting check, for callers that want to test before acting */
bool mmio_ok(const struct dev_mmio *m, uint64_t off, uint32_t width,
	     bool write);

/* big-endian registers (gVNIC) */
static inline uint32_t mmio_read_be32(const struct dev_mmio *m, uint64_t off)
{
	return __builtin_bswap32(mmio_read32(m, off));
}
static inline bool mmio_write_be32(const struct dev_mmio *m, uint64_t off,
				   uint32_t v)
{
	return mmio_write32(m, off, __builtin_bswap32(v));
}
static inline bool mmio_write_be16(const struct dev_mmio *m, uint64_t off,
				   uint16_t v)
{
	return mmio_write16(m, off, __builtin_bswap16(v));
}

/* ---- DMAPool ------------------------------------------------------------ */
/* struct dma_buf (dma/buf.h): one DMA object a pool hands out */

struct dma_pool {
	uint8_t *va;   /* CPU address of the pool */
	uint64_t iova; /* device address of the pool */
	size_t len;
	size_t used; /* carve offset */
	uint16_t slot;
	uint32_t gen;
	uint16_t owner;
};

/* a zeroed, physically contiguous, page-aligned pool of len bytes whose
 * device addresses all lie below addr_limit (0: no limit), charged to
 * owner: at most GRANT_MAX live pools and DMA_OWNER_POOL_MAX bytes per
 * owner (dma/owner.h; AUTH_OVER_QUOTA past them). 0 or -1; when its
 * IOMMU map failed and the unit did not confirm the undo
 * (IOMMU_UNCONFIRMED) the pages are withheld and stay charged, as a pool
 * revoked unconfirmed. Refused (-1, AUTH_BUSY) inside an interrupt
 * handler, as dma_pool_revoke is. */
int dma_pool_create(uint16_t owner, size_t len, uint64_t addr_limit,
		    struct dma_pool *out);
/* revoke: bumps the grant generation (the validator rejects the old one)
 * and returns the memory. 0, or -1 when refused: AUTH_BUSY (memory kept)
 * while commands in flight on a device, or a live NVMe queue ring, still
 * name the pool; AUTH_STALE_GEN when it was revoked already. */
int dma_pool_revoke(struct dma_pool *p);
bool dma_pool_live(const struct dma_pool *p);
/* carve len bytes aligned to `align` (power of two) from memory never
 * carved before (zero unless the owner wrote it through the pool's va).
 * 0 or -1; refused (AUTH_REVOKED) while the owner is revoked, also from a
 * pool the revocation kept because it was pinned. */
int dma_pool_carve(struct dma_pool *p, size_t len, size_t align,
		   struct dma_buf *out);

/* ---- Interrupt ---------------------------------------------------------- */
typedef void (*irq_handler_t)(void *arg);

struct irq_cap {
	uint16_t slot;
	uint32_t gen;
	uint16_t msix_index; /* entry in the function's MSI-X table */
	uint8_t vector;	     /* CPU vector (kernel-assigned) */
};

/* bind MSI-X entry `msix_index` of d to handler(arg); the kernel programs the
 * table entry (masked until irq_unmask). 0 or -1; refused (AUTH_REVOKED,
 * one line, no vector or remapping entry taken) while owner is revoked or
 * its device is quarantined by the IOMMU (iommu_owner_quarantined: a DMA
 * fault not yet turned into a revocation by auth_poll). */
int irq_bind(struct pci_dev *d, uint16_t owner, unsigned msix_index,
	     irq_handler_t handler, void *arg, struct irq_cap *out);
void irq_mask(const struct irq_cap *c);
void irq_unmask(const struct irq_cap *c);
void irq_revoke(struct irq_cap *c);
/* interrupts delivered so far on this capability */
uint64_t irq_count(const struct irq_cap *c);
/* Deliver d's interrupt `msix_index` as if the device had sent it, for a
 * kernel broker that posted completions on the device's behalf (the NVMe
 * gate's own): the handler runs, with interrupts off as for the real
 * message, and the count moves. Nothing when owner has not bound that
 * entry, is revoked, or the entry is masked (a masked device's message
 * waits; this one is not kept). The handler must not call back into the
 * broker that raised it (nvme_intr only counts). */
void irq_raise(const struct pci_dev *d, uint16_t owner, unsigned msix_index);

/* print every live capability and the refusal counters */
void auth_dump(void);

/* true when an IOMMU translates owner's device addresses: only its pools
 * are reachable, and a device that can bypass the IOMMU (virtio without
 * VIRTIO_F_ACCESS_PLATFORM) must not be run */
bool dma_owner_translated(uint16_t owner);

/* true when [iova, iova+len) lies inside one live pool of owner — also
 * while the owner is revoked, for a pool the revocation kept because it
 * was pinned: live for what pins it, though it carves nothing and the
 * device is stopped (docs/authority-gate-design.md) */
bool dma_owner_covers(uint16_t owner, uint64_t iova, uint64_t len);
#endif
