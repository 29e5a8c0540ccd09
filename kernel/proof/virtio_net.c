/* kernel/proof/virtio_net.c — the kernel's word on virtio-net bring-up
 * (drivers/virtio-net/virtio_net.h): VERSION_1 negotiated, DRIVER_OK set,
 * the receive ring full, one line per attached device (a detached slot is
 * skipped). tests/qemu/test_net.py boots
 * it and checks the wire from the host. */
#include "drivers/virtio-net/virtio_net.h"
#include "kernel/lib/lib.h"
#include "kernel/proof/proof.h"

/* the kernel's word on bring-up: modern features, full RX ring, vectors */
static void vnet_proof(void)
{
	unsigned live = 0;
	for (unsigned i = 0; i < vnet_count; i++) {
		struct vnet_softc *sc = &vnet_softcs[i];
		uint8_t *m = sc->nic.mac;
		/* a detached instance's slot (a restart's, a failed attach's)
		 * is no device */
		if (sc->detached)
			continue;
		live++;
		bool ok =
		    !sc->failed && virtio_has(&sc->vp, VIRTIO_F_VERSION_1) &&
		    sc->rx.nfree == 0 && sc->rx.size > 0 && sc->tx.size > 0 &&
		    (virtio_pci_status(&sc->vp) & VIRTIO_STATUS_DRIVER_OK);
		proof_result(
		    "virtio-net", ok,
		    "dev=%s mac=%02x:%02x:%02x:%02x:%02x:%02x features=0x%llx "
		    "rxq=%u rx_posted=%u txq=%u msix=%d link=%s",
		    sc->name, m[0], m[1], m[2], m[3], m[4], m[5],
		    (unsigned long long)sc->vp.features, sc->rx.size,
		    sc->rx.size - sc->rx.nfree, sc->tx.size, sc->msix,
		    sc->nic.link_up ? "up" : "down");
	}
	if (live == 0)
		proof_result("virtio-net", false, "reason=no-device-attached");
}
PROOF_REGISTER("virtio-net", vnet_proof, 20);
