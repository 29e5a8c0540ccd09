/* tests/host/virtio_net/fuzz_virtq.c — a device that writes arbitrary used
 * ring contents between driver operations. Whatever it writes, the driver
 * never reads or hands out anything outside its queue (ASan), never takes
 * an id it did not post, and keeps its own accounting consistent. */
#include <stdio.h>

#include "shim.h"
#include "vdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	shim_quiet = 1;
	if (size < 1)
		return 0;
	struct vq_env e;
	uint16_t qsize = (uint16_t)(1u << (data[0] % 9)); /* 1..256 */
	bool rx = data[0] & 0x80;
	if (vq_env_init(&e, qsize, 64, rx) != 0)
		abort();
	size_t i = 1;
	while (i < size) {
		uint8_t op = data[i++];
		switch (op % 4) {
		case 0: { /* driver posts one buffer */
			int id = vq_alloc(&e);
			/* a free id of a right length is refused only on a
			 * queue the device broke */
			if (id >= 0 &&
			    virtq_post(&e.q, (uint16_t)id, 1 + (op >> 2))) {
				if (!e.q.broken)
					abort();
				vq_free(&e, (uint16_t)id);
			}
			break;
		}
		case 1: { /* device writes a used entry of its choosing */
			if (i + 5 > size)
				goto out;
			uint32_t id = data[i] | (uint32_t)data[i + 1] << 8;
			uint32_t len = data[i + 2] | (uint32_t)data[i + 3] << 8;
			i += 4;
			vdev_push(&e, id, len);
			break;
		}
		case 2: { /* device sets used->idx to anything */
			if (i + 2 > size)
				goto out;
			e.q.used->idx = (uint16_t)(data[i] | data[i + 1] << 8);
			i += 2;
			break;
		}
		case 3: { /* driver consumes */
			uint16_t id;
			uint32_t len;
			int r = virtq_take(&e.q, &id, &len);
			if (r == 1) {
				if (id >= e.q.size || e.q.out[id])
					abort();
				if (rx && len > e.q.post_len[id])
					abort();
				/* touch the buffer the way the driver does */
				memset(vq_buf(&e, id), 0, rx ? len : 0);
				vq_free(&e, id);
			} else if (r < 0 && !e.q.broken) {
				abort();
			}
			break;
		}
		}
		if (e.q.nout + e.nfree != e.q.size)
			abort();
	}
out:
	vq_env_free(&e);
	return 0;
}
