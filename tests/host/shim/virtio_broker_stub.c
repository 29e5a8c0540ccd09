/* tests/host/shim/virtio_broker_stub.c — the virtio broker's open as a
 * suite without brokered rings sees it: devmgr_own opens the broker only
 * for a driver whose rings are brokered, so a call here is a failure.
 * Weak, so a suite that links kernel/authority/virtio_broker.c, or stubs
 * it itself (tests/host/devmgr/test_devmgr.c), has its own. */
#include <stdio.h>
#include <stdlib.h>

#include "kernel/authority/virtio_broker.h"

__attribute__((weak)) int virtio_broker_open(struct pci_dev *d, uint16_t owner,
					     struct virtio_broker *out)
{
	(void)d, (void)owner, (void)out;
	fprintf(stderr, "virtio_broker_open called for a driver without "
			"rings\n");
	abort();
}
