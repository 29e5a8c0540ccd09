/* kernel/authority/irq.c — Interrupt: one MSI-X entry (or the single MSI
 * message of an MSI-only function) bound to a handler. Only the kernel
 * writes the MSI-X table or the MSI capability: without interrupt remapping
 * an MSI is a 4-byte device write to the address in the table, so a driver
 * that could program it could make the device write anywhere. */
#include "auth_internal.h"
#include "kernel/cpu/cpu.h"
#include "kernel/iommu/iommu.h"
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"

static void irq_trampoline(void *arg)
{
	struct auth_slot *s = arg;
	s->count++;
	if (s->handler)
		s->handler(s->arg);
}

/* vectors withheld by irq_give_back, for good */
static uint64_t irq_vectors_withheld;

/* s's remapping entry and CPU vector back. An entry the unit did not
 * confirm gone from its interrupt entry cache (iommu_irq_free: the unit
 * was given up) may still carry the device's interrupts to the vector it
 * names, so the vector is withheld (vector_withhold: never given to
 * another owner, whose handler those interrupts would run); said at the
 * withheld vectors 1, 2, 4, ... (line_due) */
static void irq_give_back(const struct auth_slot *s)
{
	if (!s->remapped ||
	    iommu_irq_free(s->owner, s->irte) != IOMMU_UNCONFIRMED) {
		vector_free(s->vector);
		return;
	}
	vector_withhold(s->vector);
	if (line_due(++irq_vectors_withheld))
		kprintf("authority: vector %u withheld: the remapping unit "
			"did not confirm interrupt entry %u gone (%lu "
			"vectors withheld)\n",
			s->vector, s->irte, irq_vectors_withheld);
}

/* fl: Message Control as irq_bind read it and measured the capability
 * by, read once (a device that answers differently now must not move the
 * data register out of what was measured) */
static void msi_program(struct pci_dev *d, uint16_t fl, uint32_t addr,
			uint16_t data)
{
	uint8_t c = d->cap_msi;
	pci_cfg_write32(d, c + PCI_MSI_ADDR_LO, addr);
	if (fl & PCI_MSI_FLAGS_64BIT) {
		pci_cfg_write32(d, c + PCI_MSI_ADDR_HI, 0);
		pci_cfg_write16(d, c + PCI_MSI_DATA_64, data);
	} else {
		pci_cfg_write16(d, c + PCI_MSI_DATA_32, data);
	}
	/* one message (MME = 0); enabled only on irq_unmask */
	pci_cfg_write16(d, c + PCI_MSI_FLAGS,
			fl & ~0x70 & ~PCI_MSI_FLAGS_ENABLE);
}

int irq_bind(struct pci_dev *d, uint16_t owner, unsigned msix_index,
	     irq_handler_t handler, void *arg, struct irq_cap *out)
{
	char a[16];
	pci_addr_str(d, a, sizeof(a));
	memset(out, 0, sizeof(*out));
	bool msix = d->cap_msix && d->msix_table;
	/* a function whose MSI-X table refused a mask has every vector
	 * masked by its Function Mask (pci_msix_entry_set) and gets no more:
	 * enabling one would lift that mask */
	if ((msix && (msix_index >= d->msix_size || d->msix_fn_masked)) ||
	    (!msix && (!d->cap_msi || msix_index != 0)) ||
	    !auth_owner_function(owner, d)) {
		if (auth_refused(owner, AUTH_NOT_GRANTED))
			kprintf("authority: %s has no interrupt %u for owner "
				"%u\n",
				a, msix_index, owner);
		return -1;
	}
	/* the MSI structure, as long as its Message Control makes it now,
	 * must end inside the 256 bytes the capability list lives in
	 * (pci_probe_fn measured it too): past 0xff the writes below would
	 * land in the function's extended configuration space */
	uint16_t msi_fl =
	    msix ? 0 : pci_cfg_read16(d, d->cap_msi + PCI_MSI_FLAGS);
	if (!msix &&
	    d->cap_msi + PCI_MSI_CAP_LEN(msi_fl) > PCI_CFG_LEGACY_SIZE) {
		if (auth_refused(owner, AUTH_NOT_GRANTED))
			kprintf("authority: %s MSI capability at 0x%x is %u "
				"bytes, past configuration space 0x%x; no "
				"interrupt\n",
				a, d->cap_msi, PCI_MSI_CAP_LEN(msi_fl),
				PCI_CFG_LEGACY_SIZE - 1);
		return -1;
	}
	/* quarantined: the IOMMU stopped the device after a DMA fault, in
	 * its interrupt; the safe point (auth_poll) has yet to revoke the
	 * owner. It gets no new interrupt in between either */
	bool quarantined = iommu_owner_quarantined(owner);
	if (quarantined || auth_owner_revoked(owner)) {
		if (auth_refused(owner, AUTH_REVOKED))
			kprintf("authority: owner %u is %s; no interrupt on "
				"%s\n",
				owner,
				quarantined ? "quarantined (DMA fault)"
					    : "revoked",
				a);
		return -1;
	}
	/* one entry, one binding: revoking a second would mask the first */
	for (int i = 1; i < AUTH_SLOTS; i++)
		if (auth_slots[i].kind == AUTH_IRQ && auth_slots[i].dev == d &&
		    auth_slots[i].index == msix_index) {
			if (auth_refused(owner, AUTH_NOT_GRANTED))
				kprintf("authority: %s interrupt %u is already "
					"bound\n",
					a, msix_index);
			return -1;
		}
	int slot = auth_slot_alloc(AUTH_IRQ, owner);
	if (slot < 0)
		return -1;
	struct auth_slot *s = &auth_slots[slot];
	s->index = (uint16_t)msix_index;
	uint8_t v = vector_alloc(irq_trampoline, s);
	if (!v) {
		auth_slot_free(slot);
		if (auth_refused(owner, AUTH_NO_MEMORY))
			kprintf("authority: out of CPU vectors for %s\n", a);
		return -1;
	}
	s->dev = d;
	s->vector = v;
	s->handler = handler;
	s->arg = arg;
	s->count = 0;
	s->msix = msix;
	uint32_t addr = MSI_ADDR_BASE | lapic_id() << MSI_ADDR_DEST_SHIFT;
	uint32_t data = v; /* fixed, edge */
	/* under interrupt remapping the device names a kernel-owned entry
	 * that checks its source id; elsewhere compatibility format */
	int ir = iommu_irq_alloc(owner, v, lapic_id(), &addr, &data, &s->irte);
	if (ir < 0) {
		vector_free(v);
		auth_slot_free(slot);
		if (auth_refused(owner, AUTH_NO_MEMORY))
			kprintf("authority: no interrupt remapping entry for "
				"%s\n",
				a);
		return -1;
	}
	s->remapped = ir == 0;
	s->masked = true;
	if (msix) {
		/* written masked, with memory decode on, and read back: with
		 * Memory Space Enable off the writes would be lost */
		const uint32_t msg[3] = {addr, 0, data};
		if (!pci_msix_entry_set(d, msix_index, true, msg)) {
			irq_give_back(s);
			auth_slot_free(slot);
			if (auth_refused(owner, AUTH_NOT_GRANTED))
				kprintf(
				    "authority: %s MSI-X entry %u cannot be "
				    "programmed; no interrupt\n",
				    a, msix_index);
			return -1;
		}
		uint16_t fl = pci_cfg_read16(d, d->cap_msix + PCI_MSIX_FLAGS);
		pci_cfg_write16(d, d->cap_msix + PCI_MSIX_FLAGS,
				(fl | PCI_MSIX_FLAGS_ENABLE) &
				    ~PCI_MSIX_FLAGS_MASKALL);
	} else {
		msi_program(d, msi_fl, addr, (uint16_t)data);
	}
	out->slot = slot;
	out->gen = s->gen;
	out->msix_index = msix_index;
	out->vector = v;
	return 0;
}

/* An Interrupt capability is (slot, generation); msix_index and vector in
 * struct irq_cap are the driver's copy. Mask, unmask and revoke act on the
 * entry and vector the slot recorded at irq_bind: a copy naming another
 * entry (or one past the table) or another vector must not reach them. */
static void irq_set_mask(const struct irq_cap *c, bool mask)
{
	struct auth_slot *s =
	    auth_slot_check(c->slot, c->gen, AUTH_IRQ, "irq mask");
	if (!s)
		return;
	if (s->msix) {
		/* with memory decode on for it, and read back: an unmask
		 * that did not take leaves the entry masked, a mask that did
		 * not take masks every vector of the function */
		s->masked =
		    !pci_msix_entry_set(s->dev, s->index, mask, NULL) || mask;
	} else {
		uint8_t cap = s->dev->cap_msi;
		uint16_t fl = pci_cfg_read16(s->dev, cap + PCI_MSI_FLAGS);
		pci_cfg_write16(s->dev, cap + PCI_MSI_FLAGS,
				mask ? fl & ~PCI_MSI_FLAGS_ENABLE
				     : fl | PCI_MSI_FLAGS_ENABLE);
	}
}

void irq_mask(const struct irq_cap *c)
{
	irq_set_mask(c, true);
}
void irq_unmask(const struct irq_cap *c)
{
	irq_set_mask(c, false);
}

void irq_revoke(struct irq_cap *c)
{
	struct auth_slot *s =
	    auth_slot_check(c->slot, c->gen, AUTH_IRQ, "irq revoke");
	if (!s)
		return;
	irq_set_mask(c, true);
	irq_give_back(s);
	auth_slot_free(c->slot);
}

void irq_seize(uint16_t slot)
{
	struct irq_cap c = {.slot = slot, .gen = auth_slots[slot].gen};
	irq_revoke(&c);
}

/* MSI-X: as the kernel last set the entry and read it back, not the
 * table now (with memory decode off it reads all ones) */
static bool irq_masked(const struct auth_slot *s)
{
	if (!s->msix)
		return !(
		    pci_cfg_read16(s->dev, s->dev->cap_msi + PCI_MSI_FLAGS) &
		    PCI_MSI_FLAGS_ENABLE);
	uint16_t fl = pci_cfg_read16(s->dev, s->dev->cap_msix + PCI_MSIX_FLAGS);
	return s->masked || s->dev->msix_fn_masked ||
	       (fl & PCI_MSIX_FLAGS_MASKALL);
}

void irq_raise(const struct pci_dev *d, uint16_t owner, unsigned msix_index)
{
	if (auth_owner_revoked(owner))
		return;
	for (int i = 1; i < AUTH_SLOTS; i++) {
		struct auth_slot *s = &auth_slots[i];
		if (s->kind != AUTH_IRQ || s->dev != d || s->owner != owner ||
		    s->index != msix_index)
			continue;
		if (irq_masked(s))
			return;
		/* as the vector would run it: interrupts off, so the device's
		 * own message on this vector cannot nest inside */
		uint64_t flags = cpu_irq_save();
		irq_trampoline(s);
		cpu_irq_restore(flags);
		return;
	}
}

uint64_t irq_count(const struct irq_cap *c)
{
	struct auth_slot *s =
	    auth_slot_check(c->slot, c->gen, AUTH_IRQ, "irq count");
	return s ? s->count : 0;
}
