/* kernel/devmgr/devices.c — /api/devices: every PCI function, the driver
 * bound to it, that driver's word on its state and the supervisor's
 * restarts of it. */
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/pci/pci.h"

static void devices_status(struct json *j)
{
	json_arr(j);
	for (unsigned i = 0; i < pci_ndevs; i++) {
		const struct pci_dev *d = &pci_devs[i];
		json_obj(j);
		json_kstrf(j, "addr", "%04x:%02x:%02x.%x", d->seg, d->bus,
			   d->dev, d->fn);
		json_kstrf(j, "vendor", "%04x", d->vendor);
		json_kstrf(j, "device", "%04x", d->device);
		json_kstrf(j, "class", "%06x", d->class_code & 0xffffff);
		json_kstr(j, "driver",
			  d->drv && d->drv->name ? d->drv->name : "none");
		/* drivers write state; it need not be terminated */
		json_kstrn(j, "state", d->state,
			   strnlen(d->state, sizeof(d->state)));
		/* the supervisor (devmgr_failed): restarts since boot, and
		 * whether one is due or the budget is spent */
		json_ku64(j, "restarts", d->restart.count);
		json_kstr(j, "restart",
			  d->restart.pending ? "pending"
			  : d->restart.spent ? "budget spent"
					     : "-");
		json_obj_end(j);
	}
	json_arr_end(j);
}
STATUS_REGISTER("devices", devices_status);
