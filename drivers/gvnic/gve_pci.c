/* drivers/gvnic/gve_pci.c — PCI attachment of the gVNIC core: the only file
 * of the driver that knows about PCI. It grants BAR0 (registers) and BAR2
 * (doorbells) as DeviceMmio windows, counts the MSI-X vectors the kernel will
 * bind, and hands the core nothing else (gve_main.c: gve_probe). */
#include "drivers/gvnic/gve_var.h"
#include "kernel/boot/boot.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/pci/pci.h"

#define GVE_REG_WINDOW	  0x1000u
#define GVE_DB_WINDOW_MAX (1ull << 31) /* a DeviceMmio length is 32 bits */

/* slots [0, gve_ndevs) have been used; one whose device was detached
 * (detached) is free again: the next attach takes the lowest free slot
 * and its name, so unbind and rebind may repeat without end. What a
 * detach kept (memory_held) stays with the old owner in the authority
 * layer, not in the slot */
static struct gve_softc gve_softcs[GVE_MAX_DEVS];
static unsigned gve_ndevs;

static bool gve_slot_free(unsigned i)
{
	return i >= gve_ndevs || gve_softcs[i].detached;
}

/* the management work (device_status, resets, link) runs from the main
 * loop even when no network stack polls this NIC. It never asks the loop
 * to stay awake: gve_service paces itself (GVE_STATUS_POLL_US), and a
 * halted loop wakes on the management vector or the idle timer. */
static bool gve_pci_poll(void)
{
	for (unsigned i = 0; i < gve_ndevs; i++)
		gve_service(&gve_softcs[i]);
	return false;
}

/* the core gave the device up at run time (gve_grants.bus_stop): bus
 * mastering off, as virtio-net's vnet_stop leaves a failed device, so it
 * can neither write memory nor signal MSI-X; memory decoding stays for
 * the registers a detach may still touch; the device manager is told
 * (devmgr_failed: a restart when its budget allows) */
static void gve_pci_bus_stop(struct pci_dev *d)
{
	pci_enable(d, true, false, false);
	strlcpy(d->state, "failed", sizeof(d->state));
	devmgr_failed(d, d->owner, "gVNIC gave the device up");
}

/* gve.rst: BAR0 holds the registers and BAR2 the doorbells, both memory
 * BARs, and the device signals through MSI-X. NULL, or the first of them
 * the function lacks: it is refused before anything is asked of it */
static const char *gve_pci_lacks(const struct pci_dev *d)
{
	if (!d->bar[GVE_REG_BAR].size)
		return "no register BAR (BAR0)";
	if (d->bar[GVE_REG_BAR].io)
		return "register BAR (BAR0) is I/O, not memory";
	if (!d->bar[GVE_DB_BAR].size)
		return "no doorbell BAR (BAR2)";
	if (d->bar[GVE_DB_BAR].io)
		return "doorbell BAR (BAR2) is I/O, not memory";
	if (!d->cap_msix)
		return "no MSI-X capability";
	return NULL;
}

static int gve_pci_attach(struct pci_dev *d, uint16_t owner)
{
	const char *lacks;
	struct gve_softc *sc;
	struct gve_grants g = {0};
	char name[8];
	unsigned slot = 0;

	while (slot < GVE_MAX_DEVS && !gve_slot_free(slot))
		slot++;
	ksnprintf(name, sizeof(name), "gve%u", slot);
	if (slot == GVE_MAX_DEVS) {
		kprintf("%s: unable to attach: %u devices already\n", name,
			GVE_MAX_DEVS);
		return -1;
	}
	if ((lacks = gve_pci_lacks(d))) {
		kprintf("%s: unable to attach: %s\n", name, lacks);
		return -1;
	}
	pci_enable(d, true, false, true);
	if (mmio_grant(d, owner, GVE_REG_BAR, 0,
		       (uint32_t)MIN(d->bar[GVE_REG_BAR].size, GVE_REG_WINDOW),
		       MMIO_READ | MMIO_WRITE, &g.reg)) {
		kprintf("%s: unable to map register BAR\n", name);
		goto err_off;
	}
	/* gve_probe maps all of BAR2: doorbell indices the device assigns
	 * may lie anywhere in it */
	if (d->bar[GVE_DB_BAR].size > GVE_DB_WINDOW_MAX ||
	    mmio_grant(d, owner, GVE_DB_BAR, 0,
		       (uint32_t)d->bar[GVE_DB_BAR].size,
		       MMIO_READ | MMIO_WRITE, &g.db)) {
		kprintf("%s: unable to map doorbell BAR\n", name);
		goto err_reg;
	}
	g.pdev = d;
	g.owner = owner;
	g.revision = d->revision;
	g.msix_vectors = d->msix_size;
	g.name = name;
	g.bus_stop = gve_pci_bus_stop;
	sc = &gve_softcs[slot];
	memset(sc, 0, sizeof(*sc));
	if (gve_attach(sc, &g)) {
		sc->detached = true; /* the slot stays free */
		goto err_db;
	}
	if (slot == gve_ndevs && gve_ndevs++ == 0)
		poller_add(gve_pci_poll);
	d->drv_state = sc;
	ksnprintf(d->state, sizeof(d->state), "%s %s", name,
		  gve_format_name(sc->queue_format));
	nic_register(&sc->nic);
	return 0;

err_db:
	mmio_revoke(&g.db);
err_reg:
	mmio_revoke(&g.reg);
err_off:
	/* no DMA and no decoding for a function the driver gave up on: the
	 * core reset the device or kept the memory it may still own
	 * (memory_held), and either way the device has nothing to do */
	pci_enable(d, false, false, false);
	strlcpy(d->state, "failed", sizeof(d->state));
	return -1;
}

/* devmgr_shutdown: the NIC leaves the stack first (nic_unregister: no
 * send reaches the device after it; gve_send refuses one made through the
 * struct nic, the device down), then gve_detach — queues destroyed,
 * resources deconfigured, the admin queue released (the device reset,
 * waited for as gve_aq_release waits), vectors revoked, the memory given
 * back unless the device may still own it (memory_held) — then the
 * windows revoked and the function off the bus. 0, or -1 when the memory
 * is kept (fenced). An owner a DMA fault revoked has its device off the
 * bus and its windows, vectors and pools taken (parked): nothing is asked
 * of the device (gve_detach_revoked), the pools stay parked, decoding
 * goes off, one line, 1 (stopped, not confirmed). A second call changes
 * nothing and says the same */
static int gve_pci_detach(struct pci_dev *d)
{
	struct gve_softc *sc = d->drv_state;
	if (sc->detached)
		return sc->detach_result;
	sc->detached = true;
	nic_unregister(&sc->nic);
	if (auth_owner_revoked(sc->g.owner)) {
		kprintf("%s: owner %u revoked: device stopped by the authority "
			"layer, its DMA memory parked; no release seen\n",
			sc->name, sc->g.owner);
		gve_detach_revoked(sc);
		sc->detach_result = 1;
	} else {
		gve_detach(sc);
		mmio_revoke(&sc->g.db);
		mmio_revoke(&sc->g.reg);
		sc->detach_result = sc->memory_held ? -1 : 0;
	}
	pci_enable(d, false, false, false);
	return sc->detach_result;
}

static const struct pci_match gve_ids[] = {
    {GVE_PCI_VENDOR, GVE_PCI_DEVICE, 0, 0},
};

const struct driver gve_driver = {
    .name = "gve",
    .ids = gve_ids,
    .nids = ARRAY_SIZE(gve_ids),
    .dma = true,
    .attach = gve_pci_attach,
    .detach = gve_pci_detach,
};

/* /api/gvnic: per attached device its state, queue format, rings, link,
 * admin queue counts, resets and refused values (gve.c: gve_status_obj) */
static void gve_status_json(struct json *j)
{
	json_arr(j);
	for (unsigned i = 0; i < gve_ndevs; i++)
		if (!gve_softcs[i].detached)
			gve_status_obj(&gve_softcs[i], j);
	json_arr_end(j);
}
STATUS_REGISTER("gvnic", gve_status_json);
