/* dma/virtq.c — split virtqueue set-up and the checked
 * consumer of the used ring (virtio 1.2 §2.7.8, §2.7.14). */
#include "dma/virtq.h"

#include "kernel/lib/lib.h"

int virtq_init(struct virtq *q, const char *name, uint16_t size,
	       const struct dma_buf *ring, const struct dma_buf *bufs,
	       uint32_t buf_size, bool device_writes)
{
	if (size == 0 || size > VIRTQ_MAX || (size & (size - 1)) != 0)
		return -1; /* §2.7: a power of two */
	if (ring->len < virtq_ring_bytes(size) ||
	    (ring->iova & (VIRTQ_DESC_ALIGN - 1)) ||
	    ((uintptr_t)ring->va & (VIRTQ_DESC_ALIGN - 1)))
		return -1;
	if (buf_size == 0 || bufs->len / buf_size < size)
		return -1;

	memset(q, 0, sizeof(*q));
	q->name = name;
	q->size = size;
	q->device_writes = device_writes;

	/* descriptor table, then the available ring, then the used ring at
	 * the next 4-byte boundary (§2.7 alignment table) */
	size_t avail_off = (size_t)size * sizeof(struct virtq_desc);
	size_t used_off = ALIGN_UP(avail_off + VIRTQ_AVAIL_BYTES(size),
				   (size_t)VIRTQ_USED_ALIGN);
	uint8_t *base = ring->va;
	memset(base, 0, virtq_ring_bytes(size));
	q->desc = (volatile struct virtq_desc *)base;
	q->avail = (volatile struct virtq_avail *)(base + avail_off);
	q->used = (volatile struct virtq_used *)(base + used_off);
	q->desc_iova = ring->iova;
	q->avail_iova = ring->iova + avail_off;
	q->used_iova = ring->iova + used_off;

	q->buf_iova = bufs->iova;
	q->buf_size = buf_size;
	for (uint16_t i = 0; i < size; i++) {
		q->desc[i].addr = q->buf_iova + (uint64_t)i * buf_size;
		q->desc[i].len = buf_size;
		q->desc[i].flags = device_writes ? VIRTQ_DESC_F_WRITE : 0;
		q->desc[i].next = 0;
	}
	return 0;
}

const char *virtq_post_refusal(const struct virtq *q, uint16_t id, uint32_t len)
{
	if (q->broken)
		return "queue broken";
	if (id >= q->size)
		return "id past the queue";
	if (q->out[id])
		return "id outstanding";
	if (!len)
		return "length 0";
	if (len > q->buf_size)
		return "length past the buffer";
	return "allowed";
}

static int virtq_broken(struct virtq *q, const char *what, uint32_t a,
			uint32_t b)
{
	kprintf("%s: unable to accept used ring entry: %s (%u, limit %u)\n",
		q->name, what, a, b);
	q->broken = true;
	return -1;
}

int virtq_take(struct virtq *q, uint16_t *id, uint32_t *len)
{
	if (q->broken)
		return -1;
	uint16_t idx = q->used->idx;
	uint16_t pending = (uint16_t)(idx - q->last_used);
	if (pending == 0)
		return 0;
	/* every unconsumed used entry names a buffer the device holds: more
	 * than that means the index is garbage (this also bounds it by size) */
	if (pending > q->nout)
		return virtq_broken(q, "used.idx ahead of outstanding buffers",
				    pending, q->nout);
	dma_rmb(); /* the index before the entry it covers (§2.7.14) */

	volatile struct virtq_used_elem *e =
	    &q->used->ring[q->last_used & (q->size - 1)];
	uint32_t eid = e->id, elen = e->len;
	if (eid >= q->size)
		return virtq_broken(q, "id out of range", eid, q->size);
	if (!q->out[eid])
		return virtq_broken(q, "id not outstanding", eid, q->size);
	/* the device reports what it wrote; it may not have written more than
	 * it was given. A device-readable (transmit) buffer gets nothing
	 * written, so its length carries no information and is not used. */
	if (q->device_writes && elen > q->post_len[eid])
		return virtq_broken(q, "length past the buffer", elen,
				    q->post_len[eid]);

	q->out[eid] = 0;
	q->nout--;
	q->last_used++;
	q->completed++;
	*id = (uint16_t)eid;
	*len = q->device_writes ? elen : 0;
	return 1;
}
