/* kernel/authority/auth_internal.h — the authority table (kernel only) */
#ifndef CAPOS_AUTH_INTERNAL_H
#define CAPOS_AUTH_INTERNAL_H
#include "kernel/authority/authority.h"

#define AUTH_SLOTS 128
enum auth_kind { AUTH_FREE, AUTH_MMIO, AUTH_IRQ };

struct auth_slot {
	enum auth_kind kind;
	uint16_t owner;
	uint32_t gen;
	/* DeviceMmio: the window as granted. Accesses are checked against
	 * and made through these, never the caller's copy in struct
	 * dev_mmio */
	volatile uint8_t *mmio_va;
	uint64_t mmio_phys; /* the window's start on the device */
	uint32_t mmio_len, mmio_flags;
	/* Interrupt */
	struct pci_dev *dev;
	irq_handler_t handler;
	void *arg;
	uint64_t count;
	bool msix;	/* else MSI */
	bool masked;	/* MSI-X: the entry as last set and read back */
	uint16_t index; /* MSI-X entry (0 for MSI) */
	bool remapped;	/* through an IRTE (kernel/iommu) */
	uint16_t irte;
	uint8_t vector;
	/* generation of the capability an owner revocation took from this
	 * slot: its later uses are refused as AUTH_REVOKED */
	uint32_t seized_gen;
};
extern struct auth_slot auth_slots[AUTH_SLOTS];

/* the most DeviceMmio and Interrupt capabilities one owner holds at once
 * (a driver needs at most 8: virtio-net's four windows, the broker's and
 * three interrupts), so that one owner cannot take the whole table from
 * the others */
#define AUTH_OWNER_SLOTS 16
/* a free slot for owner's capability of that kind, or -1 when owner holds
 * AUTH_OWNER_SLOTS already (counted as AUTH_OVER_QUOTA) or every slot is
 * in use or retired (its generation run out: counted as AUTH_NO_MEMORY
 * and in auth_slots_full); one line each, auth_refused: owner's row */
int auth_slot_alloc(enum auth_kind kind, uint16_t owner);
extern uint64_t auth_slots_full; /* requests the full table refused */
/* the slot if (slot, gen) is a live capability of that kind; else counts
 * the refusal and returns NULL */
struct auth_slot *auth_slot_check(uint16_t slot, uint32_t gen,
				  enum auth_kind kind, const char *what);
void auth_slot_free(uint16_t slot);
/* revoke every DeviceMmio and Interrupt slot of owner (auth_owner_revoke);
 * returns how many */
unsigned auth_slots_seize(uint16_t owner);
/* an Interrupt slot taken by an owner revocation: masked, its IRTE and CPU
 * vector freed (kernel/authority/irq.c; the host shim has no interrupts) */
void irq_seize(uint16_t slot);
/* refusal reason for a capability (slot, gen) that no longer matches */
enum auth_reason auth_stale_reason(uint16_t slot, uint32_t gen);

/* Called by auth_owner_revoke once the owner's device is stopped and
 * before its pools are seized: whoever holds kernel state naming the
 * owner's memory (the NVMe broker: gate queues, pins, shadows) drops it
 * here. One hook per owner; NULL clears it. */
typedef void (*auth_revoke_hook_t)(void *arg, uint16_t owner);
void auth_owner_on_revoke(uint16_t owner, auth_revoke_hook_t fn, void *arg);
/* Called by auth_owner_unbind after the revocation (the device stopped,
 * the revoke hook run, the pools seized): whoever holds kernel state of
 * the owner (the NVMe broker) closes it for good — its kernel DMA pages
 * freed, or withheld when stopped is false or their unmap was not
 * confirmed — and every later use of its handle is refused. Returns the
 * pages it withheld that are charged to no one (the charged ones the
 * unbind counts from the owner's account). One hook per owner. */
typedef uint64_t (*auth_unbind_hook_t)(void *arg, uint16_t owner, bool stopped);
void auth_owner_on_unbind(uint16_t owner, auth_unbind_hook_t fn, void *arg);
/* A broker's registers: from now on no DeviceMmio window of owner that
 * allows writes may overlap [off, off+len) of BAR `bar` of its function
 * (mmio_grant, and the host models of it, ask auth_owner_guarded); a
 * read-only one may. Refused (-1, one line) when owner has no function,
 * holds AUTH_GUARDS_MAX guards already, or holds a writable window over
 * the range now. A range guarded already is not added again. The guards
 * stay while the owner is bound (also across its revocation), and go
 * with it (unbind). */
#define AUTH_GUARDS_MAX 4
int auth_owner_guard(uint16_t owner, unsigned bar, uint64_t off, uint64_t len);
/* the broker's own read-write window over registers it guards: mmio_grant
 * without the guard (kernel/authority only: no driver is handed this) */
int mmio_grant_broker(struct pci_dev *d, uint16_t owner, unsigned bar,
		      uint64_t off, uint64_t len, struct dev_mmio *out);
bool auth_owner_guarded(uint16_t owner, unsigned bar, uint64_t off,
			uint64_t len);
/* owner is being unbound and its stop was not confirmed: dma_kernel_free
 * withholds every page it is given (-1) */
bool auth_owner_withholds(uint16_t owner);
/* seize every unpinned live pool of owner (unmapped under the IOMMU, the
 * invalidation waited for); *kept: pools still pinned, left alone.
 * Returns pools seized. kernel/authority/dmapool.c */
unsigned dma_owner_seize(uint16_t owner, unsigned *kept);
struct json;
void auth_owners_json(struct json *j); /* kernel/authority/owner.c */
/* Every refusal a driver can repeat at will goes through auth_refused:
 * counted in auth_refusals (served in /api/authority), and said of a
 * bounded number of times per owner and reason: the first
 * AUTH_REFUSAL_LINES get their caller's line (true: print it), the next
 * one line saying that the rest are counted and not printed, the rest
 * nothing. Each bound owner has a row of its own (owner.c); capability
 * uses (auth_refuse, whose caller names a slot, not an owner) and owner
 * ids not bound share one. So the lines of a driver that retries are at
 * most (AUTH_REFUSAL_LINES + 1) per reason for its owner, and one owner's
 * refusals never silence another's. */
#define AUTH_REFUSAL_LINES 4
bool auth_refused(uint16_t owner, enum auth_reason r);
#ifdef CAPOS_HOST
/* auth_owner_host_reset's: auth_refusals and the shared row as at boot
 * (the rows of bound owners go with them) */
void auth_refusals_host_reset(void);
#endif
/* A broker call (the virtio and the NVMe broker alike) names its caller,
 * as mmio_grant, irq_bind and auth_kmem_free name theirs: a handle of
 * owner's broker is owner's alone. true when caller is owner; otherwise
 * the call is refused — counted not-granted in the caller's row, one line
 * bounded as every refusal ("<who>: <what> refused: owner <caller> named
 * owner <owner>'s broker") — and the caller gets nothing of the broker */
bool auth_broker_caller(uint16_t owner, uint16_t caller, const char *who,
			const char *what);
/* the row of lines said per reason of a bound owner, NULL when not bound
 * (owner.c) */
uint8_t *auth_owner_said(uint16_t owner);
/* a refused use of a capability: auth_refused's shared row, its line
 * "authority: refused <what> on slot <slot> (<reason>)" */
void auth_refuse(enum auth_reason r, uint16_t slot, const char *what);
/* called inside an interrupt handler (cpu_isr_depth)? Then the caller
 * refuses: a revoke, unbind, pool create or pool revoke runs hooks, takes
 * and frees memory and rewrites tables the handlers read, so it runs only
 * outside them (auth_poll is the safe point). true with the refusal
 * counted busy and said through auth_refused (bounded per owner) */
bool auth_in_interrupt(uint16_t owner, const char *what);
/* why [off, off+len) of BAR `bar` of d cannot be a DeviceMmio window (not a
 * memory window of the device: past the BAR, empty or over
 * MMIO_WINDOW_MAX; or over the MSI-X table or PBA, which the kernel alone
 * programs); NULL when it can. mmio_grant and the host models of it
 * (tests/host) ask the same question. */
const char *mmio_window_refusal(const struct pci_dev *d, unsigned bar,
				uint64_t off, uint64_t len);
/* an access of width bytes at off through the live window m: outside it,
 * misaligned, or in a direction its flags do not allow; AUTH_NREASONS
 * when allowed. Alignment is the device's: of m->phys + off, the address
 * the access carries (a memory BAR's base is 16-byte aligned, so this is
 * the alignment of its offset in the BAR), never of off alone — a window
 * may start at any BAR offset (a virtio ISR structure has no alignment),
 * and a 4-byte access at off 0 of a window at BAR offset 0x101 would be
 * misaligned on the device. A 64-bit access is made as two 32-bit ones,
 * so it needs 4-byte alignment (virtio 1.2 §4.1.3.1: 32-bit aligned
 * accesses for 64-bit fields; a common configuration structure is only
 * 4-byte aligned). mmio_check (mmio.c) asks it after the slot and
 * generation, with the window the slot recorded, as do the host models
 * (tests/host). */
static inline enum auth_reason mmio_access_refusal(const struct dev_mmio *m,
						   uint64_t off, uint32_t width,
						   bool write)
{
	if (off > m->len || width > m->len - off)
		return AUTH_OUT_OF_WINDOW;
	uint32_t unit = width > 4 ? 4 : width; /* the widest bus access */
	if ((m->phys + off) & (unit - 1))
		return AUTH_MISALIGNED;
	if (!(m->flags & (write ? MMIO_WRITE : MMIO_READ)))
		return AUTH_READ_ONLY;
	return AUTH_NREASONS;
}

/* Owners the authority layer accounts for (kernel/authority/owner.c): one
 * per bound function. Each has its DMA accounts (dma/owner.h): its
 * grant table — every live DMAPool of the owner is one grant there — and
 * its quotas. The NVMe broker hands the owner's table to the validator,
 * which checks command addresses against it, and to the gate, which pins
 * what is in flight and charges its shadows to the owner. */
struct dma_owner;
struct dma_owner *dma_owner_acct(uint16_t owner); /* NULL: not bound */
/* the owner's DMA limit (auth_owner_facts), 0 when none or unbound */
uint64_t auth_owner_dma_limit(uint16_t owner);

/* kernel-owned pages that owner's device reads or writes but its driver
 * never holds (the broker's probe queue, shadow rings and Identify page):
 * zeroed, below limit (and below the owner's DMA limit), mapped in the
 * owner's IOMMU domain when it has one, with perm (IOMMU_READ: the device
 * reads it; | IOMMU_WRITE: and writes it). 0 for an owner not bound (never
 * bound, or unbound: counted not-granted, one line bounded as every
 * refusal is), if none, or if the map
 * failed: the pages go back, or, when the unit did not confirm the map's
 * undo (IOMMU_UNCONFIRMED), are withheld (never freed, not charged: the
 * unit refuses every later map then, so this happens once a unit) */
uint64_t dma_kernel_alloc(uint16_t owner, size_t pages, uint64_t limit,
			  unsigned perm);
/* unmapped (and the IOTLB invalidation waited for) before they are freed:
 * 0. -1 when the unit does not confirm the unmap: the pages are withheld —
 * never freed, the device may still reach them — and whoever charged them
 * to the owner (the NVMe gate, its shadows) keeps the charge */
int dma_kernel_free(uint16_t owner, uint64_t pa, size_t pages);
#endif
