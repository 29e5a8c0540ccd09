/* kernel/authority/mmio.c — DeviceMmio: one BAR window per capability. Every
 * access is checked for generation, bounds, alignment and direction; a
 * refused one touches nothing and is counted. */
#include "auth_internal.h"
#include "kernel/lib/lib.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"

static int grant(struct pci_dev *d, uint16_t owner, unsigned bar, uint64_t off,
		 uint64_t len, uint32_t flags, bool broker,
		 struct dev_mmio *out)
{
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	memset(out, 0, sizeof(*out));
	if (!auth_owner_function(owner, d)) {
		if (auth_refused(owner, AUTH_NOT_GRANTED))
			kprintf("authority: %s is not bound to owner %u\n", a,
				owner);
		return -1;
	}
	/* a brokered device's registers and doorbells are reached only
	 * through its broker and gate: no generic window, not even read-only */
	const struct auth_owner_facts *f = auth_owner_facts(owner);
	if (auth_owner_revoked(owner)) {
		if (auth_refused(owner, AUTH_REVOKED))
			kprintf("authority: owner %u is revoked; no DeviceMmio "
				"window on %s\n",
				owner, a);
		return -1;
	}
	if (f->brokered) {
		if (auth_refused(owner, AUTH_NOT_GRANTED))
			kprintf("authority: %s is brokered; no DeviceMmio "
				"window on it\n",
				a);
		return -1;
	}
	/* registers only a broker writes (the virtio common configuration:
	 * device status, features, queue addresses) */
	if (!broker && (flags & MMIO_WRITE) &&
	    auth_owner_guarded(owner, bar, off, len)) {
		if (auth_refused(owner, AUTH_NOT_GRANTED))
			kprintf("authority: %s BAR%u [0x%lx, +0x%lx) is "
				"written only by its broker; no writable "
				"window over it\n",
				a, bar, off, len);
		return -1;
	}
	const char *why = mmio_window_refusal(d, bar, off, len);
	if (why) {
		if (auth_refused(owner, AUTH_NOT_GRANTED))
			kprintf("authority: %s BAR%u [0x%lx, +0x%lx) %s\n", a,
				bar, off, len, why);
		return -1;
	}
	int slot = auth_slot_alloc(AUTH_MMIO, owner);
	if (slot < 0)
		return -1;
	out->phys = d->bar[bar].base + off;
	out->va = mm_map_mmio(out->phys, len);
	if (!out->va) {
		auth_slot_free(slot);
		memset(out, 0, sizeof(*out));
		if (auth_refused(owner, AUTH_NO_MEMORY))
			kprintf("authority: %s BAR%u: unable to map the "
				"window\n",
				a, bar);
		return -1;
	}
	out->len = (uint32_t)len; /* at most MMIO_WINDOW_MAX */
	out->flags = flags;
	out->slot = slot;
	out->gen = auth_slots[slot].gen;
	auth_slots[slot].dev = d;
	auth_slots[slot].mmio_va = out->va;
	auth_slots[slot].mmio_phys = out->phys;
	auth_slots[slot].mmio_len = out->len;
	auth_slots[slot].mmio_flags = flags;
	return 0;
}

int mmio_grant(struct pci_dev *d, uint16_t owner, unsigned bar, uint64_t off,
	       uint64_t len, uint32_t flags, struct dev_mmio *out)
{
	return grant(d, owner, bar, off, len, flags, false, out);
}

int mmio_grant_broker(struct pci_dev *d, uint16_t owner, unsigned bar,
		      uint64_t off, uint64_t len, struct dev_mmio *out)
{
	return grant(d, owner, bar, off, len, MMIO_READ | MMIO_WRITE, true,
		     out);
}

void mmio_revoke(struct dev_mmio *m)
{
	if (auth_slot_check(m->slot, m->gen, AUTH_MMIO, "mmio revoke"))
		auth_slot_free(m->slot);
}

/* the kernel's mapping of the window's byte off when (slot, gen) is a
 * live window that allows the access; else NULL (counted when count). The
 * window is the one the slot recorded at mmio_grant: m is the caller's
 * copy, and only its slot and generation name anything. */
static volatile uint8_t *mmio_check(const struct dev_mmio *m, uint64_t off,
				    uint32_t width, bool write, bool count)
{
	const char *what = write ? "mmio write" : "mmio read";
	enum auth_reason r;
	const struct auth_slot *s = 0;
	if (m->slot == 0 || m->slot >= AUTH_SLOTS) {
		r = AUTH_BAD_SLOT;
	} else if (auth_slots[m->slot].gen != m->gen) {
		r = auth_stale_reason(m->slot, m->gen);
	} else if (auth_slots[m->slot].kind != AUTH_MMIO) {
		r = AUTH_STALE_GEN;
	} else {
		s = &auth_slots[m->slot];
		const struct dev_mmio w = {.phys = s->mmio_phys,
					   .len = s->mmio_len,
					   .flags = s->mmio_flags};
		if ((r = mmio_access_refusal(&w, off, width, write)) ==
		    AUTH_NREASONS)
			return s->mmio_va + off;
	}
	if (count)
		auth_refuse(r, m->slot, what);
	return 0;
}

bool mmio_ok(const struct dev_mmio *m, uint64_t off, uint32_t width, bool write)
{
	return mmio_check(m, off, width, write, false) != 0;
}

#define MMIO_RW(bits)                                                          \
	uint##bits##_t mmio_read##bits(const struct dev_mmio *m, uint64_t off) \
	{                                                                      \
		volatile uint8_t *p =                                          \
		    mmio_check(m, off, bits / 8, false, true);                 \
		if (!p)                                                        \
			return (uint##bits##_t) ~0ull;                         \
		return *(volatile uint##bits##_t *)p;                          \
	}                                                                      \
	bool mmio_write##bits(const struct dev_mmio *m, uint64_t off,          \
			      uint##bits##_t v)                                \
	{                                                                      \
		volatile uint8_t *p =                                          \
		    mmio_check(m, off, bits / 8, true, true);                  \
		if (!p)                                                        \
			return false;                                          \
		*(volatile uint##bits##_t *)p = v;                             \
		return true;                                                   \
	}
MMIO_RW(8)
MMIO_RW(16)
MMIO_RW(32)

/* 64-bit registers as two 32-bit accesses, low half first */
uint64_t mmio_read64(const struct dev_mmio *m, uint64_t off)
{
	volatile uint8_t *p = mmio_check(m, off, 8, false, true);
	if (!p)
		return ~0ull;
	uint64_t lo = *(volatile uint32_t *)p;
	uint64_t hi = *(volatile uint32_t *)(p + 4);
	return hi << 32 | lo;
}

bool mmio_write64(const struct dev_mmio *m, uint64_t off, uint64_t v)
{
	volatile uint8_t *p = mmio_check(m, off, 8, true, true);
	if (!p)
		return false;
	*(volatile uint32_t *)p = (uint32_t)v;
	*(volatile uint32_t *)(p + 4) = (uint32_t)(v >> 32);
	return true;
}
