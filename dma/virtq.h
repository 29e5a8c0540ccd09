/* dma/virtq.h — one split virtqueue (virtio 1.2 §2.7) with a
 * fixed buffer per descriptor.
 *
 * Descriptor i always points at buffer i of the queue's buffer area, so a
 * descriptor id names a buffer and chains are never built (one descriptor
 * per packet: §5.1.6.2 puts header and packet in one descriptor). The
 * descriptor addresses are written once, by virtq_init; afterwards only
 * lengths, ring slots and indexes move. The queue keeps its own copy of
 * everything it hands out (outstanding ids, posted lengths); whatever the
 * device writes back is checked against that copy before use, and a post
 * is checked against it too (virtq_post). The virtio broker
 * (kernel/authority/virtio_broker.h) holds every struct virtq: a driver
 * names a queue, never its ring memory. Pure C: builds into the kernel and
 * into host tests. */
#ifndef CAPOS_VIRTQ_H
#define CAPOS_VIRTQ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dma/buf.h"
#include "dma/virtio_reg.h"
#include "kernel/lib/lib.h"

#define VIRTQ_MAX 256 /* capOS never uses more entries per queue */

struct virtq {
	const char *name;   /* "vnet0 rx": prefix of error lines */
	uint16_t size;	    /* power of two, <= VIRTQ_MAX */
	bool device_writes; /* receive queue: buffers are device-writable */
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	uint64_t desc_iova, avail_iova, used_iova;
	uint64_t buf_iova; /* buffer i at buf_iova + i * buf_size */
	uint32_t buf_size;
	uint16_t avail_idx;	      /* driver's copy of avail->idx */
	uint16_t last_used;	      /* next used-ring slot to consume */
	uint16_t nout;		      /* buffers the device holds */
	uint8_t out[VIRTQ_MAX];	      /* 1: posted, not yet returned */
	uint32_t post_len[VIRTQ_MAX]; /* length the id was posted with */
	bool broken; /* the device broke the ring protocol: queue unusable */
	uint64_t posted, completed;
};

/* bytes of ring memory (descriptors, available and used ring) for n entries */
static inline size_t virtq_ring_bytes(uint16_t n)
{
	size_t avail_off = (size_t)n * sizeof(struct virtq_desc);
	size_t used_off = ALIGN_UP(avail_off + VIRTQ_AVAIL_BYTES(n),
				   (size_t)VIRTQ_USED_ALIGN);
	return used_off + VIRTQ_USED_BYTES(n);
}

/* lay the queue out in ring (>= virtq_ring_bytes, 16-byte aligned) and
 * point descriptor i at bufs->iova + i * buf_size (bufs->len >= size *
 * buf_size; its va is not used); no id is outstanding. 0, or -1 on bad
 * arguments */
int virtq_init(struct virtq *q, const char *name, uint16_t size,
	       const struct dma_buf *ring, const struct dma_buf *bufs,
	       uint32_t buf_size, bool device_writes);

/* hand buffer id (len bytes) to the device: descriptor length, ring slot,
 * then — after a write barrier — the index (§2.7.13). Refused (-1, nothing
 * written) for an id past the queue or outstanding already, a length of 0
 * (QEMU's virtqueue_map_desc takes a zero-sized buffer for a broken ring
 * and stops the device) or past buf_size, or a broken queue: the caller
 * says why (virtq_post_refusal) */
static inline int virtq_post(struct virtq *q, uint16_t id, uint32_t len)
{
	if (id >= q->size || q->out[id] || !len || len > q->buf_size ||
	    q->broken)
		return -1;
	q->desc[id].len = len;
	q->post_len[id] = len;
	q->out[id] = 1;
	q->nout++;
	q->avail->ring[q->avail_idx & (q->size - 1)] = id;
	dma_wmb(); /* ring entry visible before the index that publishes it */
	q->avail->idx = ++q->avail_idx;
	q->posted++;
	return 0;
}
/* why virtq_post refused (id, len): one word for the caller's line */
const char *virtq_post_refusal(const struct virtq *q, uint16_t id,
			       uint32_t len);

/* does the device want an available-buffer notification? §2.7.10: the
 * index store must be ordered before the flag load, hence a full fence */
static inline bool virtq_need_notify(const struct virtq *q)
{
	mb();
	return !(q->used->flags & VIRTQ_USED_F_NO_NOTIFY);
}

/* ask the device not to interrupt for this queue (a hint, §2.7.7) */
static inline void virtq_suppress_irq(struct virtq *q, bool suppress)
{
	q->avail->flags = suppress ? VIRTQ_AVAIL_F_NO_INTERRUPT : 0;
}

/* next used buffer: 1 with *id and *len (checked), 0 when none is waiting,
 * -1 when the device broke the ring protocol (the queue is then broken) */
int virtq_take(struct virtq *q, uint16_t *id, uint32_t *len);
#endif
