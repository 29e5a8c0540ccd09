/* tests/host/virtio_net/vdev.h — a software virtio device for one split
 * virtqueue: it reads the available ring the way a device does and writes
 * used entries, honestly or as told. */
#ifndef VDEV_H
#define VDEV_H
#include <stdlib.h>

#include "dma/virtq.h"

struct vq_env {
	struct virtq q;
	struct dma_buf ring, bufs;
	void *ring_mem, *buf_mem;
	uint16_t dev_avail; /* device's next available-ring slot */
	uint16_t dev_used;  /* device's used->idx */
	/* the driver's side: ids not posted, as drivers/virtio-net keeps
	 * them */
	uint16_t nfree;
	uint16_t free[VIRTQ_MAX];
};

/* fake device addresses: far from the CPU addresses, so a mix-up shows */
#define VQ_RING_IOVA 0x100000000ull
#define VQ_BUF_IOVA  0x200000000ull

static inline int vq_env_init(struct vq_env *e, uint16_t size,
			      uint32_t buf_size, bool rx)
{
	memset(e, 0, sizeof(*e));
	size_t rlen = virtq_ring_bytes(size ? size : 1);
	e->ring_mem = aligned_alloc(4096, ALIGN_UP(rlen, (size_t)4096));
	e->buf_mem = malloc((size_t)(size ? size : 1) * buf_size);
	e->ring = (struct dma_buf){e->ring_mem, VQ_RING_IOVA, rlen};
	e->bufs = (struct dma_buf){e->buf_mem, VQ_BUF_IOVA,
				   (size_t)(size ? size : 1) * buf_size};
	int r =
	    virtq_init(&e->q, "test", size, &e->ring, &e->bufs, buf_size, rx);
	for (uint16_t i = 0; r == 0 && i < size; i++)
		e->free[e->nfree++] = (uint16_t)(size - 1 - i);
	return r;
}

/* driver side: an id not posted (-1: none), give one back, its buffer */
static inline int vq_alloc(struct vq_env *e)
{
	return e->nfree ? e->free[--e->nfree] : -1;
}
static inline void vq_free(struct vq_env *e, uint16_t id)
{
	e->free[e->nfree++] = id;
}
static inline uint8_t *vq_buf(struct vq_env *e, uint16_t id)
{
	return (uint8_t *)e->buf_mem + (size_t)id * e->q.buf_size;
}

static inline void vq_env_free(struct vq_env *e)
{
	free(e->ring_mem);
	free(e->buf_mem);
}

/* device side: next available id, or -1 when the driver offered nothing */
static inline int vdev_pop(struct vq_env *e)
{
	if (e->dev_avail == e->q.avail->idx)
		return -1;
	uint16_t id = e->q.avail->ring[e->dev_avail & (e->q.size - 1)];
	e->dev_avail++;
	return id;
}

/* device side: write a used entry (any values) and publish it */
static inline void vdev_push(struct vq_env *e, uint32_t id, uint32_t len)
{
	e->q.used->ring[e->dev_used & (e->q.size - 1)].id = id;
	e->q.used->ring[e->dev_used & (e->q.size - 1)].len = len;
	e->dev_used++;
	e->q.used->idx = e->dev_used;
}
#endif
