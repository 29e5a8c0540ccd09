/* tests/host/edu/test_edu.c — the edu driver (drivers/edu/edu.c) over the
 * real authority layer: attach takes its window, pool and interrupt; a DMA
 * fault revokes its owner (auth_owner_revoke, as auth_poll does); once the
 * owner is reinstated, edu_recover takes the capabilities anew and gives
 * the seized pool back. The device is a register file (BAR0 in host
 * memory): it answers EDU_ID and keeps what is written; it runs no
 * transfer, so edu_dma ends by its 1 s timeout (the shim's clock).
 * Interrupts are slots of the real table without a CPU vector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/edu/edu_var.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "owner_shim.h"
#include "shim.h"

extern const struct driver edu_driver;

#define OWNER	 5
#define BAR_BASE 0xfe000000ull
static uint8_t bar_mem[0x1000] __attribute__((aligned(4096)));
static uint8_t cfg[4096], cfg2[4096];
static struct pci_dev dev = {.bus = 0, .dev = 3, .owner = OWNER, .cfg = cfg};

void *mm_map_mmio(uint64_t phys, size_t len)
{
	if (phys < BAR_BASE || phys - BAR_BASE + len > sizeof(bar_mem))
		return NULL;
	return bar_mem + (phys - BAR_BASE);
}

/* kernel/pci/pci_cfg.c's pci_enable writes the command register of the
 * function's configuration space (cfg): is Bus Master Enable on? */
static bool bus_master(const struct pci_dev *d)
{
	return pci_cfg_read16(d, PCI_COMMAND) & PCI_COMMAND_MASTER;
}

/* ---- Interrupt capabilities: slots of the real table, as irq.c keeps
 * them (one binding per function and entry, refused for a revoked owner),
 * without a CPU vector or MSI programming --------------------------------- */
int irq_bind(struct pci_dev *d, uint16_t owner, unsigned msix_index,
	     irq_handler_t handler, void *arg, struct irq_cap *out)
{
	memset(out, 0, sizeof(*out));
	if (d->owner != owner || auth_owner_revoked(owner))
		return -1;
	for (int i = 1; i < AUTH_SLOTS; i++)
		if (auth_slots[i].kind == AUTH_IRQ && auth_slots[i].dev == d &&
		    auth_slots[i].index == msix_index)
			return -1; /* already bound */
	int slot = auth_slot_alloc(AUTH_IRQ, owner);
	if (slot < 0)
		return -1;
	struct auth_slot *s = &auth_slots[slot];
	s->dev = d;
	s->index = (uint16_t)msix_index;
	s->handler = handler;
	s->arg = arg;
	s->count = 0;
	out->slot = (uint16_t)slot;
	out->gen = s->gen;
	out->msix_index = (uint16_t)msix_index;
	out->vector = (uint8_t)(0x40 + slot);
	return 0;
}

void irq_mask(const struct irq_cap *c)
{
	(void)auth_slot_check(c->slot, c->gen, AUTH_IRQ, "irq mask");
}

void irq_unmask(const struct irq_cap *c)
{
	(void)auth_slot_check(c->slot, c->gen, AUTH_IRQ, "irq unmask");
}

void irq_revoke(struct irq_cap *c)
{
	if (auth_slot_check(c->slot, c->gen, AUTH_IRQ, "irq revoke"))
		auth_slot_free(c->slot);
}

void irq_seize(uint16_t slot)
{
	auth_slot_free(slot);
}

uint64_t irq_count(const struct irq_cap *c)
{
	struct auth_slot *s =
	    auth_slot_check(c->slot, c->gen, AUTH_IRQ, "irq count");
	return s ? s->count : 0;
}

/* live Interrupt slots of the function */
static unsigned irqs_bound(void)
{
	unsigned n = 0;
	for (int i = 1; i < AUTH_SLOTS; i++)
		n +=
		    auth_slots[i].kind == AUTH_IRQ && auth_slots[i].dev == &dev;
	return n;
}

static uint64_t reg64(uint32_t off)
{
	uint64_t v;
	memcpy(&v, bar_mem + off, 8);
	return v;
}

/* the model's transfer ends at edu_dma's first look: its interrupt is
 * latched (edu_intr's work) */
static struct edu_softc *completing;
static void complete_transfer(void)
{
	if (!completing)
		return;
	completing->irq_status |= EDU_DMA_IRQ;
	uint64_t cmd = reg64(EDU_DMA_CMD) & ~(uint64_t)EDU_DMA_CMD_START;
	memcpy(bar_mem + EDU_DMA_CMD, &cmd, 8); /* the device's end */
}

/* after a DMA fault revoked edu's owner, the driver refuses transfers
 * at once; once the owner is reinstated, edu_recover gives the seized
 * pool's memory back and takes a new pool, the register window and the
 * interrupt anew, bus mastering on, and transfers write the registers
 * again. While the owner stays revoked it refuses. */
static void test_edu_recovers_after_revocation(void **st)
{
	dev.bar[0].base = BAR_BASE;
	dev.bar[0].size = sizeof(bar_mem);
	dev.cap_msi = 0x50;
	memset(bar_mem, 0, sizeof(bar_mem));
	uint32_t id = 0x010000ed; /* version 1.0 */
	memcpy(bar_mem + EDU_ID, &id, 4);
	/* as devmgr binds it: the function named, so a revocation stops it */
	struct auth_owner_facts f = {.backend = DMA_BACKEND_UNVALIDATED,
				     .d = &dev};
	assert_int_equal(auth_owner_bind(OWNER, &f), 0);
	assert_int_equal(edu_driver.attach(&dev, OWNER), 0);
	struct edu_softc *sc = edu_first();
	assert_non_null(sc);
	assert_true(bus_master(&dev));
	assert_true(dma_pool_live(&sc->pool));
	assert_int_equal(irqs_bound(), 1);
	assert_int_equal(edu_recover(sc), 0); /* nothing to recover */
	assert_int_equal(sc->recoveries, 0);

	/* a transfer writes its registers and ends by its interrupt */
	completing = sc;
	shim_delay_hook = complete_transfer;
	assert_int_equal(edu_dma(sc, sc->out.iova, EDU_BUF_ADDR, EDU_XFER, 0),
			 0);
	shim_delay_hook = NULL;
	assert_int_equal(reg64(EDU_DMA_SRC), sc->out.iova);

	/* the fault: auth_poll revokes the owner */
	uint64_t old = sc->out.iova;
	assert_int_equal(auth_owner_revoke(OWNER, "DMA fault"), 1);
	assert_false(bus_master(&dev));
	assert_false(dma_pool_live(&sc->pool));
	assert_int_equal(shim_pools_parked(OWNER), 1);
	assert_int_equal(irqs_bound(), 0);
	memset(bar_mem + EDU_DMA_SRC, 0, 32);
	uint64_t revoked = auth_refusals[AUTH_REVOKED];
	/* refused at once, the device untouched, nothing counted */
	assert_int_equal(edu_dma(sc, old, EDU_BUF_ADDR, EDU_XFER, 0), -1);
	assert_int_equal(reg64(EDU_DMA_SRC), 0);
	assert_int_equal(auth_refusals[AUTH_REVOKED], revoked);
	/* still revoked: no recovery */
	assert_int_equal(edu_recover(sc), -1);
	assert_false(dma_pool_live(&sc->pool));
	assert_int_equal(shim_pools_parked(OWNER), 1);

	/* reinstated: everything anew */
	assert_int_equal(auth_owner_reinstate(OWNER), 0);
	uint32_t pending = EDU_DMA_IRQ;
	memcpy(bar_mem + EDU_IRQ_STATUS, &pending, 4);
	assert_int_equal(edu_recover(sc), 0);
	assert_int_equal(sc->recoveries, 1);
	assert_true(dma_pool_live(&sc->pool));
	/* the seized memory came back */
	assert_int_equal(shim_pools_parked(OWNER), 0);
	assert_int_equal(shim_owner_pools(OWNER), 1);
	assert_int_equal(irqs_bound(), 1);
	assert_true(bus_master(&dev));
	/* the interrupt latched meanwhile was acknowledged */
	uint32_t ack;
	memcpy(&ack, bar_mem + EDU_IRQ_ACK, 4);
	assert_int_equal(ack, EDU_DMA_IRQ);
	assert_int_equal(mmio_read32(&sc->regs, EDU_ID), id);
	shim_delay_hook = complete_transfer;
	assert_int_equal(edu_dma(sc, sc->out.iova, EDU_BUF_ADDR, EDU_XFER, 0),
			 0);
	shim_delay_hook = NULL;
	completing = NULL;
	assert_int_equal(reg64(EDU_DMA_SRC), sc->out.iova);
	assert_int_equal(reg64(EDU_DMA_DST), EDU_BUF_ADDR);
	assert_int_equal(reg64(EDU_DMA_COUNT), EDU_XFER);
	/* once: a second call keeps the same capabilities */
	struct dma_pool was = sc->pool;
	assert_int_equal(edu_recover(sc), 0);
	assert_int_equal(sc->pool.slot, was.slot);
	assert_int_equal(sc->pool.gen, was.gen);
	assert_int_equal(sc->recoveries, 1);
	assert_int_equal(shim_owner_pools(OWNER), 1);
}

/* Bus mastering of an owned function is granted (pci_enable, through the
 * check the owner table installs) only while its owner is neither revoked
 * nor quarantined. A DMA fault quarantines edu's owner (the IOMMU turns
 * bus mastering off in its interrupt); until the safe point revokes it, a
 * driver that turns bus mastering on again is refused, and so is
 * edu_recover after a reinstatement that a second fault followed. Before,
 * pci_enable turned it on for any caller, and edu_recover asked only
 * whether the owner was revoked. */
static void test_edu_recover_refused_while_quarantined(void **st)
{
	const uint16_t o = OWNER + 1;
	static struct pci_dev d = {.bus = 0, .dev = 4, .owner = OWNER + 1};
	d.cfg = cfg2;
	d.bar[0].base = BAR_BASE;
	d.bar[0].size = sizeof(bar_mem);
	d.cap_msi = 0x50;
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
	struct auth_owner_facts f = {.backend = DMA_BACKEND_IOMMU, .d = &d};
	assert_int_equal(auth_owner_bind(o, &f), 0);
	assert_int_equal(edu_driver.attach(&d, o), 0);
	struct edu_softc *sc = d.drv_state;
	assert_ptr_not_equal(sc, edu_first()); /* edu1: dev is edu0 */
	unsigned r0 = sc->recoveries;
	assert_true(bus_master(&d));
	/* the fault: quarantined, bus mastering off (as the unit's interrupt
	 * does), the safe point not reached yet */
	shim_iommu_fault();
	pci_cfg_write16(&d, PCI_COMMAND,
			pci_cfg_read16(&d, PCI_COMMAND) & ~PCI_COMMAND_MASTER);
	assert_false(auth_owner_revoked(o));
	pci_enable(&d, true, false, true); /* a driver turns it on again */
	assert_false(bus_master(&d));
	assert_true(pci_cfg_read16(&d, PCI_COMMAND) & PCI_COMMAND_MEM);
	assert_int_equal(edu_recover(sc), 0); /* nothing revoked yet */
	assert_false(bus_master(&d));
	/* the safe point revokes; reinstated on purpose, then a second fault
	 * before the driver recovered: quarantined, not revoked */
	assert_int_equal(auth_poll(), 1);
	assert_int_equal(edu_recover(sc), -1);
	assert_int_equal(auth_owner_reinstate(o), 0);
	shim_iommu_fault();
	assert_int_equal(edu_recover(sc), -1);
	assert_false(bus_master(&d));
	assert_false(dma_pool_live(&sc->pool));
	assert_int_equal(sc->recoveries, r0);
	/* revoked at the safe point, reinstated: recovered, bus mastering on */
	assert_int_equal(auth_poll(), 1);
	assert_int_equal(auth_owner_reinstate(o), 0);
	assert_int_equal(edu_recover(sc), 0);
	assert_true(bus_master(&d));
	assert_int_equal(sc->recoveries, r0 + 1);
	/* a function whose owner is unknown to the authority layer gets none */
	static struct pci_dev stray = {.bus = 0, .dev = 5, .owner = 99};
	static uint8_t cfg3[4096];
	stray.cfg = cfg3;
	pci_enable(&stray, true, false, true);
	assert_false(bus_master(&stray));
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
}

/* A remapping unit that stops answering turns bus mastering off for its
 * functions and is never trusted again (docs/devices/intel-vtd.md): what
 * it still caches may reach memory given back since. The owner is not
 * revoked or quarantined by that, so a driver's reset (pci_enable, as
 * edu_recover and nvme_broker_enable call it) turned bus mastering on
 * again through the failed unit; now the check refuses the function */
static void test_bus_master_refused_after_unit_failed(void **st)
{
	(void)st;
	const uint16_t o = OWNER + 2;
	static struct pci_dev d = {.bus = 0, .dev = 6, .owner = OWNER + 2};
	static uint8_t cfg4[4096];
	d.cfg = cfg4;
	shim_iommu_owner = 0;
	shim_iommu_unit_failed = false;
	struct auth_owner_facts f = {.backend = DMA_BACKEND_IOMMU, .d = &d};
	assert_int_equal(auth_owner_bind(o, &f), 0);
	pci_enable(&d, true, false, true);
	assert_true(bus_master(&d));
	/* the unit fails: bus mastering off, as vtd_unit_broken does */
	shim_iommu_unit_failed = true;
	pci_cfg_write16(&d, PCI_COMMAND,
			pci_cfg_read16(&d, PCI_COMMAND) & ~PCI_COMMAND_MASTER);
	assert_false(auth_owner_revoked(o));
	pci_enable(&d, true, false, true); /* the driver's reset */
	assert_false(bus_master(&d));
	assert_true(pci_cfg_read16(&d, PCI_COMMAND) & PCI_COMMAND_MEM);
	shim_iommu_unit_failed = false;
	shim_iommu_owner = 0;
}

/* An owner is one function: the one devmgr bound it with. A second
 * function naming the same owner (d->owner) is never granted bus
 * mastering, so revoking the owner — which stops its one function —
 * leaves no function of it mastering the bus. Before, the check asked
 * only whether the owner was bound, and the second function kept bus
 * mastering through the revocation (owner_stop_device stops f.d). */
static void test_bus_master_second_function_refused(void **st)
{
	(void)st;
	const uint16_t o = OWNER + 3;
	static struct pci_dev d = {.bus = 0, .dev = 7, .owner = OWNER + 3},
			      second = {.bus = 0, .dev = 8, .owner = OWNER + 3};
	static uint8_t cfg5[4096], cfg6[4096];
	d.cfg = cfg5;
	second.cfg = cfg6;
	struct auth_owner_facts f = {.backend = DMA_BACKEND_UNVALIDATED,
				     .d = &d};
	assert_int_equal(auth_owner_bind(o, &f), 0);
	pci_enable(&d, true, false, true);
	pci_enable(&second, true, false, true);
	assert_true(bus_master(&d));
	assert_false(bus_master(&second)); /* refused, left off */
	assert_true(pci_cfg_read16(&second, PCI_COMMAND) & PCI_COMMAND_MEM);
	assert_int_equal(auth_owner_revoke(o, "test"), 0);
	assert_false(bus_master(&d));
	assert_false(bus_master(&second));
	assert_int_equal(auth_owner_reinstate(o), 0);
}

/* each function gets its own softc, up to EDU_MAX; one more is refused
 * with a line and the bound ones keep what they hold. Before, every
 * attach wrote the one static softc: a second edu device took over the
 * first's state, its window, pool and interrupt never revoked */
static void test_edu_one_softc_per_device(void **st)
{
	(void)st;
	static struct pci_dev more[EDU_MAX];
	static uint8_t mcfg[EDU_MAX][4096];
	struct edu_softc *first = dev.drv_state;
	assert_non_null(first);
	assert_ptr_equal(first, edu_first());
	struct dma_pool was = first->pool;
	unsigned bound = 0, k;
	/* a function whose ID is not edu's: the attach unwinds and leaves it
	 * off the bus, its slot free (before, bus mastering stayed on) */
	static struct pci_dev odd = {.bus = 2, .dev = 0, .owner = OWNER + 9};
	static uint8_t ocfg[4096];
	odd.cfg = ocfg;
	odd.bar[0].base = BAR_BASE;
	odd.bar[0].size = sizeof(bar_mem);
	odd.cap_msi = 0x50;
	struct auth_owner_facts of = {.backend = DMA_BACKEND_UNVALIDATED,
				      .d = &odd};
	assert_int_equal(auth_owner_bind(OWNER + 9, &of), 0);
	uint32_t id_was;
	memcpy(&id_was, bar_mem + EDU_ID, 4);
	memset(bar_mem + EDU_ID, 0, 4);
	assert_int_equal(edu_driver.attach(&odd, OWNER + 9), -1);
	memcpy(bar_mem + EDU_ID, &id_was, 4);
	assert_false(bus_master(&odd));
	assert_null(odd.drv_state);
	/* the earlier tests bound two already; fill the table, then one more */
	for (k = 0; k < EDU_MAX; k++) {
		uint16_t o = (uint16_t)(OWNER + 10 + k);
		more[k] = (struct pci_dev){
		    .bus = 1, .dev = (uint8_t)k, .owner = o, .cfg = mcfg[k]};
		more[k].bar[0].base = BAR_BASE;
		more[k].bar[0].size = sizeof(bar_mem);
		more[k].cap_msi = 0x50;
		struct auth_owner_facts f = {.backend = DMA_BACKEND_UNVALIDATED,
					     .d = &more[k]};
		assert_int_equal(auth_owner_bind(o, &f), 0);
		if (edu_driver.attach(&more[k], o) != 0)
			break;
		struct edu_softc *sc = more[k].drv_state;
		assert_ptr_equal(sc->pci, &more[k]);
		bound++;
	}
	assert_int_equal(bound, EDU_MAX - 2);
	assert_non_null(strstr(shim_last_line, "EDU_MAX"));
	assert_null(more[k].drv_state);
	assert_false(bus_master(&more[k]));
	/* edu0 is still dev's, with the pool it had */
	assert_ptr_equal(first->pci, &dev);
	assert_ptr_equal(edu_first(), first);
	assert_true(dma_pool_live(&first->pool));
	assert_int_equal(first->pool.slot, was.slot);
	assert_int_equal(first->pool.gen, was.gen);
	/* names follow the slots */
	assert_string_equal(first->name, "edu0");
	assert_string_equal(((struct edu_softc *)more[0].drv_state)->name,
			    "edu2");
	/* idle, detached: their slots free again for the tests after */
	uint64_t idle = 0;
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
	for (k = 0; k < bound; k++) {
		assert_int_equal(edu_driver.detach(&more[k]), 0);
		assert_null(more[k].drv_state);
	}
}

/* the driver's detach (devmgr_shutdown): edu0, idle, gives everything
 * back — bus mastering and decoding off, the interrupt revoked, the pool
 * freed (not parked), its slot free — with no line; detached again,
 * nothing. A function whose transfer still runs (EDU_DMA_CMD_START set:
 * one edu_dma gave up on after 1 s) keeps its pool granted with one line
 * and answers -1, twice without a second line. Before, edu had no detach:
 * its interrupt stayed live and bus mastering on as the kernel left */
static void test_edu_detach(void **st)
{
	(void)st;
	assert_non_null(edu_driver.detach);
	struct edu_softc *sc = dev.drv_state;
	assert_non_null(sc);
	assert_true(bus_master(&dev));
	assert_int_equal(irqs_bound(), 1);
	uint64_t idle = 0;
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
	uint64_t lines = shim_kprintf_calls;
	unsigned parked = shim_pools_parked(OWNER);
	assert_int_equal(edu_driver.detach(&dev), 0);
	assert_int_equal(shim_kprintf_calls - lines, 0);
	assert_false(bus_master(&dev));
	assert_false(pci_cfg_read16(&dev, PCI_COMMAND) & PCI_COMMAND_MEM);
	assert_int_equal(irqs_bound(), 0);
	assert_false(dma_pool_live(&sc->pool));
	assert_int_equal(shim_pools_parked(OWNER), parked);
	assert_null(dev.drv_state);
	assert_int_equal(edu_driver.detach(&dev), 0);
	assert_int_equal(shim_kprintf_calls - lines, 0);

	/* a transfer still running: its pool stays */
	static struct pci_dev busy = {.bus = 3, .dev = 0, .owner = OWNER + 30};
	static uint8_t bcfg[4096];
	busy.cfg = bcfg;
	busy.bar[0].base = BAR_BASE;
	busy.bar[0].size = sizeof(bar_mem);
	busy.cap_msi = 0x50;
	struct auth_owner_facts f = {.backend = DMA_BACKEND_UNVALIDATED,
				     .d = &busy};
	assert_int_equal(auth_owner_bind(OWNER + 30, &f), 0);
	assert_int_equal(edu_driver.attach(&busy, OWNER + 30), 0);
	struct edu_softc *b = busy.drv_state;
	assert_ptr_equal(b, sc); /* edu0's slot, free again */
	uint64_t run = EDU_DMA_CMD_START | EDU_DMA_CMD_IRQ;
	memcpy(bar_mem + EDU_DMA_CMD, &run, 8);
	lines = shim_kprintf_calls;
	assert_int_equal(edu_driver.detach(&busy), -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "keeping DMA memory"));
	assert_false(bus_master(&busy));
	assert_true(dma_pool_live(&b->pool));
	assert_int_equal(edu_driver.detach(&busy), -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_true(dma_pool_live(&b->pool));
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
}

/* a fresh edu on its own function and owner o (slot bus 4 + k) */
static struct edu_softc *edu_fresh(struct pci_dev *d, uint8_t *c, uint16_t o,
				   enum dma_backend b)
{
	memset(d, 0, sizeof(*d));
	d->bus = (uint8_t)(o & 0xff);
	d->owner = o;
	d->cfg = c;
	d->bar[0].base = BAR_BASE;
	d->bar[0].size = sizeof(bar_mem);
	d->cap_msi = 0x50;
	struct auth_owner_facts f = {.backend = b, .d = d};
	assert_int_equal(auth_owner_bind(o, &f), 0);
	assert_int_equal(edu_driver.attach(d, o), 0);
	assert_true(bus_master(d));
	return d->drv_state;
}

/* quarantined by the IOMMU, the safe point not reached: the window, the
 * interrupt and the pool are still the driver's, so the detach gives
 * them back as always (no transfer running: the pool unmapped and freed,
 * the interrupt revoked), nothing refused, no line, 0, the softc free.
 * Before: nothing given back (the interrupt and the pool left live to a
 * wiped softc) */
static void test_edu_detach_owner_quarantined(void **st)
{
	(void)st;
	static struct pci_dev d;
	static uint8_t c[4096];
	const uint16_t o = OWNER + 42;
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
	struct edu_softc *sc = edu_fresh(&d, c, o, DMA_BACKEND_IOMMU);
	uint16_t irq_slot = sc->irq.slot;
	uint64_t idle = 0;
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
	shim_iommu_fault();
	pci_cfg_write16(&d, PCI_COMMAND,
			pci_cfg_read16(&d, PCI_COMMAND) & ~PCI_COMMAND_MASTER);
	assert_true(auth_owner_stopped(o));
	uint64_t lines = shim_kprintf_calls, refused = shim_refusals();
	assert_int_equal(edu_driver.detach(&d), 0);
	assert_int_equal(shim_kprintf_calls - lines, 0);
	assert_int_equal(shim_refusals(), refused);
	assert_int_equal(shim_owner_pools(o), 0);
	assert_int_equal(shim_pools_parked(o), 0);
	assert_int_not_equal(auth_slots[irq_slot].kind, AUTH_IRQ);
	assert_false(pci_cfg_read16(&d, PCI_COMMAND) & PCI_COMMAND_MEM);
	assert_null(d.drv_state);
	assert_int_equal(edu_driver.detach(&d), 0);
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
}

/* a DMA fault revoked the owner (auth_owner_revoke: bus mastering off,
 * the window and the interrupt revoked, the pool seized and parked), a
 * transfer perhaps still running: the detach touches no register it no
 * longer holds (no refusal counted), leaves the parked pool parked (no
 * transfer's end was seen), turns decoding off, says so in one line and
 * answers 1 (stopped, not confirmed); again 1, no second line. Before: 0
 * (as if the device had confirmed), no line, the softc wiped */
static void test_edu_detach_owner_revoked(void **st)
{
	(void)st;
	static struct pci_dev d;
	static uint8_t c[4096];
	const uint16_t o = OWNER + 40;
	struct edu_softc *sc = edu_fresh(&d, c, o, DMA_BACKEND_UNVALIDATED);
	uint64_t run = EDU_DMA_CMD_START | EDU_DMA_CMD_IRQ;
	memcpy(bar_mem + EDU_DMA_CMD, &run, 8);
	assert_int_equal(auth_owner_revoke(o, "DMA fault"), 1);
	assert_false(bus_master(&d));
	assert_int_equal(shim_pools_parked(o), 1);
	uint64_t lines = shim_kprintf_calls, refused = shim_refusals();
	assert_int_equal(edu_driver.detach(&d), 1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "revoked"));
	assert_int_equal(shim_refusals(), refused);
	assert_int_equal(shim_pools_parked(o), 1);
	assert_false(pci_cfg_read16(&d, PCI_COMMAND) & PCI_COMMAND_MEM);
	assert_int_equal(edu_driver.detach(&d), 1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_int_equal(shim_refusals(), refused);
	assert_ptr_equal(d.drv_state, sc); /* its slot kept with the pool */
	uint64_t idle = 0;
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
}

/* revoked, reinstated, not yet recovered (edu_recover not run: the
 * recovery is under way): the same — the parked pool is not given back
 * by a detach that cannot see the device, 1, one line */
static void test_edu_detach_mid_recovery(void **st)
{
	(void)st;
	static struct pci_dev d;
	static uint8_t c[4096];
	const uint16_t o = OWNER + 41;
	(void)edu_fresh(&d, c, o, DMA_BACKEND_UNVALIDATED);
	assert_int_equal(auth_owner_revoke(o, "DMA fault"), 1);
	assert_int_equal(auth_owner_reinstate(o), 0);
	uint64_t lines = shim_kprintf_calls, refused = shim_refusals();
	assert_int_equal(edu_driver.detach(&d), 1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_int_equal(shim_refusals(), refused);
	assert_int_equal(shim_pools_parked(o), 1);
	assert_false(bus_master(&d));
	assert_int_equal(edu_driver.detach(&d), 1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
}

/* a DMA fault during a transfer: the IOMMU's interrupt quarantines the
 * owner while edu_dma waits (the model runs no transfer; the fault comes
 * at its third look). The wait ends at the next look, one line, -1:
 * not EDU_DMA_TIMEOUT_US later. Before: the full 1 s, and a line that
 * blamed the device */
static unsigned looks;
static void fault_at_third_look(void)
{
	if (++looks == 3)
		shim_iommu_fault();
}
static void test_edu_dma_ends_when_owner_stopped_mid_transfer(void **st)
{
	(void)st;
	static struct pci_dev d;
	static uint8_t c[4096];
	const uint16_t o = OWNER + 43;
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
	struct edu_softc *sc = edu_fresh(&d, c, o, DMA_BACKEND_IOMMU);
	looks = 0;
	shim_delay_hook = fault_at_third_look;
	uint64_t t0 = shim_clock_ns, lines = shim_kprintf_calls;
	uint64_t refused = shim_refusals();
	assert_int_equal(edu_dma(sc, sc->out.iova, EDU_BUF_ADDR, EDU_XFER, 0),
			 -1);
	shim_delay_hook = NULL;
	assert_true(shim_clock_ns - t0 < 100000); /* under 100 us */
	assert_int_equal(looks, 3);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "quarantined"));
	assert_int_equal(shim_refusals(), refused);
	/* the registers were written: the transfer had started */
	assert_int_equal(reg64(EDU_DMA_SRC), sc->out.iova);
	uint64_t idle = 0; /* the model's transfer ended: the softc is free */
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
	assert_int_equal(edu_driver.detach(&d), 0);
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
}

/* an interrupt of the transfer before (EDU_DMA_IRQ still in irq_status)
 * is not this transfer's: edu_dma clears it before starting, then waits
 * for its own (the model runs none; the owner quarantined at the third
 * look ends the wait). Without the clear it returned 0 at once, the
 * transfer not done */
static void test_edu_dma_stale_interrupt_not_taken(void **st)
{
	(void)st;
	static struct pci_dev d;
	static uint8_t c[4096];
	const uint16_t o = OWNER + 44;
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
	struct edu_softc *sc = edu_fresh(&d, c, o, DMA_BACKEND_IOMMU);
	sc->irq_status = EDU_DMA_IRQ;
	looks = 0;
	shim_delay_hook = fault_at_third_look;
	assert_int_equal(edu_dma(sc, sc->out.iova, EDU_BUF_ADDR, EDU_XFER, 0),
			 -1);
	shim_delay_hook = NULL;
	assert_int_equal(looks, 3);
	uint64_t idle = 0;
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
	assert_int_equal(edu_driver.detach(&d), 0);
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
}

/* a transfer that does not end within EDU_DMA_TIMEOUT_US: the driver
 * cannot tell whether the device still runs it (a late end would write
 * sc->in under the next transfer, or its interrupt be taken as the next
 * one's), so it gives the device up: bus mastering off, one line, the
 * device manager told once (devmgr_failed: a restart under a fresh
 * owner, whose detach keeps the pool while EDU_DMA_CMD says it runs);
 * every transfer after is refused at once, the device untouched, and
 * edu_recover refuses too. Before, the timeout was a -1 like any other
 * and the next edu_dma programmed the engine again */
static void test_edu_gives_up_on_dma_timeout(void **st)
{
	(void)st;
	static struct pci_dev d;
	static uint8_t c[4096];
	const uint16_t o = OWNER + 45;
	struct edu_softc *sc = edu_fresh(&d, c, o, DMA_BACKEND_UNVALIDATED);
	unsigned told = shim_devmgr_failed;
	uint64_t t0 = shim_clock_ns, lines = shim_kprintf_calls;
	assert_int_equal(edu_dma(sc, sc->out.iova, EDU_BUF_ADDR, EDU_XFER, 0),
			 -1);
	assert_true(shim_clock_ns - t0 >= EDU_DMA_TIMEOUT_US * 1000ull);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "giving the device up"));
	assert_false(bus_master(&d));
	assert_int_equal(shim_devmgr_failed, told + 1);
	assert_int_equal(shim_devmgr_failed_owner, o);
	assert_string_equal(shim_devmgr_failed_why, "DMA did not complete");
	assert_string_equal(d.state, "failed");
	/* refused at once from now on: the engine is not programmed again */
	memset(bar_mem + EDU_DMA_SRC, 0, 32);
	t0 = shim_clock_ns;
	lines = shim_kprintf_calls;
	assert_int_equal(edu_dma(sc, sc->out.iova, EDU_BUF_ADDR, EDU_XFER, 0),
			 -1);
	assert_true(shim_clock_ns - t0 < 10000);
	assert_int_equal(reg64(EDU_DMA_SRC), 0);
	assert_int_equal(reg64(EDU_DMA_CMD), 0);
	assert_int_equal(shim_kprintf_calls - lines, 0);
	assert_int_equal(edu_recover(sc), -1);
	assert_false(bus_master(&d));
	assert_int_equal(shim_devmgr_failed, told + 1);
	/* the restart's detach: the transfer ended (EDU_DMA_CMD_START
	 * clear), so the pool goes back and the slot is free (one still
	 * running keeps them: test_edu_detach) */
	uint64_t idle = 0;
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
	assert_int_equal(edu_driver.detach(&d), 0);
	assert_null(d.drv_state);
}

/* a DMA fault revoked the owner while a transfer ran: its pool is
 * parked, and without an IOMMU the engine still writes it. Reinstated,
 * edu_recover gives that memory back only once EDU_DMA_CMD reads idle
 * (the model's transfer ends at the third look, its memory still parked
 * then); an engine that stays running past EDU_DMA_TIMEOUT_US keeps the
 * pool parked, one line, and the device is given up. Before: the pool
 * freed at once and bus mastering turned on under the running transfer */
static uint16_t watched;
static unsigned parked_at_end;
static void end_transfer_at_third_look(void)
{
	if (++looks != 3)
		return;
	parked_at_end = shim_pools_parked(watched);
	uint64_t idle = 0;
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
}
static void test_edu_recover_waits_for_engine_idle(void **st)
{
	(void)st;
	static struct pci_dev d, d2;
	static uint8_t c[4096], c2[4096];
	uint64_t run = EDU_DMA_CMD_START | EDU_DMA_CMD_IRQ, idle = 0;
	/* the transfer ends while edu_recover waits */
	const uint16_t o = OWNER + 46;
	struct edu_softc *sc = edu_fresh(&d, c, o, DMA_BACKEND_UNVALIDATED);
	memcpy(bar_mem + EDU_DMA_CMD, &run, 8);
	assert_int_equal(auth_owner_revoke(o, "DMA fault"), 1);
	assert_int_equal(auth_owner_reinstate(o), 0);
	assert_int_equal(shim_pools_parked(o), 1);
	looks = 0;
	parked_at_end = 0;
	watched = o;
	shim_delay_hook = end_transfer_at_third_look;
	assert_int_equal(edu_recover(sc), 0);
	shim_delay_hook = NULL;
	assert_int_equal(looks, 3);
	assert_int_equal(parked_at_end, 1); /* not freed under the transfer */
	assert_int_equal(shim_pools_parked(o), 0);
	assert_int_equal(shim_owner_pools(o), 1);
	assert_true(bus_master(&d));
	assert_int_equal(edu_driver.detach(&d), 0);

	/* the engine never stops: the parked pool stays, given up */
	const uint16_t o2 = OWNER + 47;
	sc = edu_fresh(&d2, c2, o2, DMA_BACKEND_UNVALIDATED);
	memcpy(bar_mem + EDU_DMA_CMD, &run, 8);
	assert_int_equal(auth_owner_revoke(o2, "DMA fault"), 1);
	assert_int_equal(auth_owner_reinstate(o2), 0);
	unsigned told = shim_devmgr_failed;
	uint64_t t0 = shim_clock_ns;
	assert_int_equal(edu_recover(sc), -1);
	assert_true(shim_clock_ns - t0 >= EDU_DMA_TIMEOUT_US * 1000ull);
	assert_non_null(strstr(shim_last_line, "kept parked"));
	assert_int_equal(shim_pools_parked(o2), 1);
	assert_false(dma_pool_live(&sc->pool));
	assert_int_equal(irqs_bound(), 0);
	assert_false(bus_master(&d2));
	assert_true(sc->failed);
	assert_int_equal(shim_devmgr_failed, told + 1);
	/* the restart's detach sees the pool parked: kept, 1 */
	assert_int_equal(edu_driver.detach(&d2), 1);
	assert_int_equal(shim_pools_parked(o2), 1);
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
	/* test scaffolding only: its softc slot free for the tests after
	 * (EDU_MAX of them; the driver keeps a slot whose pool is parked) */
	memset(sc, 0, sizeof(*sc));
	d2.drv_state = NULL;
}

/* after a restart the engine may still run a transfer the previous
 * instance started (its detach kept the pool: test_edu_detach): the
 * attach waits, bus mastering off meanwhile, for EDU_DMA_CMD to read
 * idle (the model's transfer ends at the third look, latching its
 * interrupt), acknowledges that late interrupt — not taken as the new
 * instance's first transfer — and only then turns bus mastering on. An
 * engine still running after EDU_DMA_TIMEOUT_US: the attach refused, one
 * line, nothing granted, the function off the bus, the slot free.
 * Before: bus mastering on at once, no look at the engine */
static struct pci_dev *attaching;
static bool master_while_running;
static void old_transfer_ends_at_third_look(void)
{
	if (bus_master(attaching))
		master_while_running = true;
	if (++looks != 3)
		return;
	uint64_t idle = 0;
	uint32_t irq = EDU_DMA_IRQ;
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
	memcpy(bar_mem + EDU_IRQ_STATUS, &irq, 4);
}
static void test_edu_attach_waits_for_engine_idle(void **st)
{
	(void)st;
	static struct pci_dev d, d2;
	static uint8_t c[4096], c2[4096];
	uint64_t run = EDU_DMA_CMD_START | EDU_DMA_CMD_IRQ, idle = 0;
	uint32_t zero = 0, ack;
	memcpy(bar_mem + EDU_IRQ_ACK, &zero, 4);
	memcpy(bar_mem + EDU_DMA_CMD, &run, 8);
	looks = 0;
	master_while_running = false;
	attaching = &d;
	shim_delay_hook = old_transfer_ends_at_third_look;
	struct edu_softc *sc =
	    edu_fresh(&d, c, OWNER + 48, DMA_BACKEND_UNVALIDATED);
	shim_delay_hook = NULL;
	assert_int_equal(looks, 3);
	assert_false(master_while_running);
	memcpy(&ack, bar_mem + EDU_IRQ_ACK, 4);
	assert_int_equal(ack, EDU_DMA_IRQ); /* the late end acknowledged */
	assert_int_equal(sc->irq_status, 0);
	memcpy(bar_mem + EDU_IRQ_STATUS, &zero, 4);
	assert_int_equal(edu_driver.detach(&d), 0);

	/* never idle: refused */
	const uint16_t o = OWNER + 49;
	d2 = (struct pci_dev){.bus = 0x31, .owner = o, .cfg = c2};
	d2.bar[0].base = BAR_BASE;
	d2.bar[0].size = sizeof(bar_mem);
	d2.cap_msi = 0x50;
	struct auth_owner_facts f = {.backend = DMA_BACKEND_UNVALIDATED,
				     .d = &d2};
	assert_int_equal(auth_owner_bind(o, &f), 0);
	memcpy(bar_mem + EDU_DMA_CMD, &run, 8);
	uint64_t t0 = shim_clock_ns, lines = shim_kprintf_calls;
	assert_int_equal(edu_driver.attach(&d2, o), -1);
	assert_true(shim_clock_ns - t0 >= EDU_DMA_TIMEOUT_US * 1000ull);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "still running"));
	assert_false(bus_master(&d2));
	assert_false(pci_cfg_read16(&d2, PCI_COMMAND) & PCI_COMMAND_MEM);
	assert_null(d2.drv_state);
	assert_int_equal(shim_owner_pools(o), 0);
	for (int i = 1; i < AUTH_SLOTS; i++)
		assert_false(auth_slots[i].owner == o &&
			     auth_slots[i].kind != AUTH_FREE);
	memcpy(bar_mem + EDU_DMA_CMD, &idle, 8);
}

int main(void)
{
	shim_quiet = 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edu_recovers_after_revocation),
	    cmocka_unit_test(test_edu_recover_refused_while_quarantined),
	    cmocka_unit_test(test_bus_master_refused_after_unit_failed),
	    cmocka_unit_test(test_bus_master_second_function_refused),
	    cmocka_unit_test(test_edu_one_softc_per_device),
	    cmocka_unit_test(test_edu_detach),
	    cmocka_unit_test(test_edu_dma_ends_when_owner_stopped_mid_transfer),
	    cmocka_unit_test(test_edu_dma_stale_interrupt_not_taken),
	    cmocka_unit_test(test_edu_gives_up_on_dma_timeout),
	    cmocka_unit_test(test_edu_recover_waits_for_engine_idle),
	    cmocka_unit_test(test_edu_attach_waits_for_engine_idle),
	    cmocka_unit_test(test_edu_detach_owner_quarantined),
	    cmocka_unit_test(test_edu_detach_owner_revoked),
	    cmocka_unit_test(test_edu_detach_mid_recovery),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
