/* tests/host/virtio_net/fuzz_vnet.c — the whole driver against the model
 * while the device interleaves honest traffic with lies (used entries of
 * its choosing, link flaps). Whatever the device does, the driver never
 * breaks the spec towards it (the model counts violations), never touches
 * memory outside its pools (ASan), and once it has given up it refuses I/O. */
#include <stdio.h>
#include <stdlib.h>

#include "drivers/virtio-net/virtio_net.h"
#include "kernel/authority/authority.h"
#include "shim.h"
#include "vnet_model.h"

#define F(b) (1ull << (b))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shim_quiet = 1;
	host_reset();
	vm_reset_model(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) |
		       F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_CSUM) |
		       F(VIRTIO_NET_F_MRG_RXBUF));
	vnet_count = 0;
	nnics = 0;
	if (virtio_net_driver.attach(&vm_pci, VM_OWNER) != 0)
		abort();
	struct nic *n = nics[0];
	static uint8_t frame[1600], buf[2048];
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;

	size_t i = 0;
	while (i + 3 <= size) {
		uint8_t op = data[i];
		uint16_t arg = (uint16_t)(data[i + 1] | data[i + 2] << 8);
		i += 3;
		bool live = vm.status & VIRTIO_STATUS_DRIVER_OK;
		switch (op % 6) {
		case 0: /* an honest frame of any length the device may deliver
			 */
			vm_rx_inject(frame, arg % 1515);
			break;
		case 1: /* a lie on the receive queue */
			if (live)
				vm_used_push(VIRTIO_NET_RXQ, arg % 300,
					     (uint32_t)arg * 3);
			break;
		case 2: /* a lie on the transmit queue */
			if (live)
				vm_used_push(VIRTIO_NET_TXQ, arg % 300, arg);
			break;
		case 3: /* a frame, handed over at once or left for later */
			n->send(n, frame, arg % 1600);
			if (arg & 0x8000)
				n->flush(n);
			break;
		case 4: {
			/* a frame longer than the caller's room is dropped,
			 * never copied past it */
			size_t cap = arg % 2 ? sizeof(buf) : arg % 1600;
			int r = n->recv(n, buf, cap);
			if (r > (int)cap)
				abort();
			break;
		}
		case 5:
			if (live)
				vm_set_link(arg & 1);
			break;
		}
		if (vm.violations)
			abort();
		if (vnet_softcs[0].failed &&
		    (n->send(n, frame, 60) != -1 ||
		     n->recv(n, buf, sizeof(buf)) != -1 || vm.status != 0))
			abort();
	}
	/* no capability used after it was revoked */
	if (auth_refusals[AUTH_STALE_GEN])
		abort();
	host_reset();
	return 0;
}
