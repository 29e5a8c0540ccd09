/* tests/host/virtio_net/test_virtq.c — the split virtqueue against a
 * software device: layout, round trips, index wrap, and a device that lies
 * about indices, ids and lengths (each must be refused, never used). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "shim.h"
#include "vdev.h"

static void test_init_rejects_bad_arguments(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 0, 2048, true), -1);
	vq_env_free(&e);
	assert_int_equal(vq_env_init(&e, 3, 2048, true), -1);
	vq_env_free(&e);
	assert_int_equal(vq_env_init(&e, 512, 2048, true),
			 -1); /* > VIRTQ_MAX */
	vq_env_free(&e);

	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	struct virtq q;
	struct dma_buf small = e.ring;
	small.len = virtq_ring_bytes(8) - 1;
	assert_int_equal(virtq_init(&q, "t", 8, &small, &e.bufs, 2048, true),
			 -1);
	struct dma_buf odd = e.ring;
	odd.iova += 8; /* descriptor table must be 16-byte aligned */
	assert_int_equal(virtq_init(&q, "t", 8, &odd, &e.bufs, 2048, true), -1);
	odd.iova = e.ring.iova + 1; /* every low bit is checked */
	assert_int_equal(virtq_init(&q, "t", 8, &odd, &e.bufs, 2048, true), -1);
	/* the CPU's view of the table too */
	odd = e.ring;
	odd.va = (uint8_t *)e.ring.va + 1;
	assert_int_equal(virtq_init(&q, "t", 8, &odd, &e.bufs, 2048, true), -1);
	odd.va = (uint8_t *)e.ring.va + 8;
	assert_int_equal(virtq_init(&q, "t", 8, &odd, &e.bufs, 2048, true), -1);
	/* buffers of no size */
	assert_int_equal(virtq_init(&q, "t", 8, &e.ring, &e.bufs, 0, true), -1);
	struct dma_buf few = e.bufs;
	few.len = 7 * 2048;
	assert_int_equal(virtq_init(&q, "t", 8, &e.ring, &few, 2048, true), -1);
	vq_env_free(&e);
}

static void test_layout_matches_spec(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 256, 2048, true), 0);
	struct virtq *q = &e.q;
	/* §2.7: desc 16*n @16, avail 6+2n @2, used 6+8n @4 */
	assert_int_equal(q->desc_iova, VQ_RING_IOVA);
	assert_int_equal(q->avail_iova, VQ_RING_IOVA + 16 * 256);
	assert_true(q->used_iova >= q->avail_iova + 6 + 2 * 256);
	assert_int_equal(q->used_iova % 4, 0);
	assert_true(virtq_ring_bytes(256) >=
		    (q->used_iova - VQ_RING_IOVA) + 6 + 8 * 256);
	for (unsigned i = 0; i < 256; i++) {
		assert_int_equal(q->desc[i].addr, VQ_BUF_IOVA + i * 2048ull);
		assert_int_equal(q->desc[i].flags, VIRTQ_DESC_F_WRITE);
		assert_int_equal(q->desc[i].next, 0);
	}
	assert_int_equal(e.nfree, 256);
	vq_env_free(&e);

	assert_int_equal(vq_env_init(&e, 4, 2048, false), 0);
	assert_int_equal(e.q.desc[0].flags, 0); /* transmit: device-readable */
	vq_env_free(&e);
}

static void test_roundtrip_out_of_order(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	int id;
	while ((id = vq_alloc(&e)) >= 0)
		virtq_post(&e.q, (uint16_t)id, 2048);
	assert_int_equal(e.q.nout, 8);
	assert_int_equal(e.q.avail->idx, 8);

	int got[8];
	for (int i = 0; i < 8; i++)
		got[i] = vdev_pop(&e);
	assert_int_equal(vdev_pop(&e), -1);
	/* complete in reverse order, with distinct lengths */
	for (int i = 7; i >= 0; i--)
		vdev_push(&e, (uint32_t)got[i], 100 + (uint32_t)i);
	for (int i = 7; i >= 0; i--) {
		uint16_t rid;
		uint32_t len;
		assert_int_equal(virtq_take(&e.q, &rid, &len), 1);
		assert_int_equal(rid, got[i]);
		assert_int_equal(len, 100 + i);
	}
	uint16_t rid;
	uint32_t len;
	assert_int_equal(virtq_take(&e.q, &rid, &len), 0);
	assert_int_equal(e.q.nout, 0);
	assert_int_equal(e.q.completed, 8);
	vq_env_free(&e);
}

/* virtq_init over a queue and ring already used (a device broken, then
 * set up again): nothing of the old queue or its ring survives */
static void test_init_again_starts_clean(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	for (int i = 0; i < 3; i++)
		virtq_post(&e.q, (uint16_t)vq_alloc(&e), 2048);
	vdev_push(&e, (uint32_t)vdev_pop(&e), 64);
	uint16_t rid;
	uint32_t len;
	assert_int_equal(virtq_take(&e.q, &rid, &len), 1);
	e.q.used->idx = 7; /* a lie: the queue is broken */
	assert_int_equal(virtq_take(&e.q, &rid, &len), -1);
	assert_int_equal(virtq_init(&e.q, "t", 8, &e.ring, &e.bufs, 2048, true),
			 0);
	assert_false(e.q.broken);
	assert_int_equal(e.q.nout, 0);
	assert_int_equal(e.q.completed, 0);
	assert_int_equal(e.q.used->idx, 0);
	assert_int_equal(e.q.avail->idx, 0);
	assert_int_equal(virtq_take(&e.q, &rid, &len), 0);
	for (uint16_t i = 0; i < 8; i++) /* no id outstanding any more */
		assert_int_equal(virtq_post(&e.q, i, 2048), 0);
	vq_env_free(&e);
}

static void test_indices_wrap(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 4, 64, false), 0);
	/* 70000 > 65536: both free-running indices wrap */
	for (unsigned n = 0; n < 70000; n++) {
		int id = vq_alloc(&e);
		assert_true(id >= 0);
		virtq_post(&e.q, (uint16_t)id, 60);
		int did = vdev_pop(&e);
		assert_int_equal(did, id);
		vdev_push(&e, (uint32_t)did, 0);
		uint16_t rid;
		uint32_t len;
		assert_int_equal(virtq_take(&e.q, &rid, &len), 1);
		assert_int_equal(rid, id);
		vq_free(&e, rid);
	}
	assert_int_equal(e.nfree, 4);
	assert_false(e.q.broken);
	vq_env_free(&e);
}

static void post_all(struct vq_env *e)
{
	int id;
	while ((id = vq_alloc(e)) >= 0)
		virtq_post(&e->q, (uint16_t)id, e->q.buf_size);
}

static void test_hostile_index_jump(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	post_all(&e);
	vdev_push(&e, 0, 64);
	e.q.used->idx =
	    (uint16_t)(e.q.used->idx + 1000); /* jump past the ring */
	uint16_t rid;
	uint32_t len;
	assert_int_equal(virtq_take(&e.q, &rid, &len), -1);
	assert_true(e.q.broken);
	/* broken stays broken, even if the device "fixes" the index */
	e.q.used->idx = 1;
	assert_int_equal(virtq_take(&e.q, &rid, &len), -1);
	vq_env_free(&e);
}

static void test_hostile_index_past_outstanding(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	for (int i = 0; i < 2; i++)
		virtq_post(&e.q, (uint16_t)vq_alloc(&e), 2048);
	/* 3 used entries for 2 buffers: within the ring size, still a lie */
	e.q.used->idx = 3;
	uint16_t rid;
	uint32_t len;
	assert_int_equal(virtq_take(&e.q, &rid, &len), -1);
	vq_env_free(&e);
}

static void test_hostile_id_out_of_range(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	post_all(&e);
	vdev_push(&e, 8, 64);
	uint16_t rid = 0xabcd;
	uint32_t len = 0xabcd;
	assert_int_equal(virtq_take(&e.q, &rid, &len), -1);
	assert_int_equal(rid, 0xabcd); /* nothing handed out */
	vq_env_free(&e);

	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	post_all(&e);
	vdev_push(&e, 0xffffffffu, 64);
	assert_int_equal(virtq_take(&e.q, &rid, &len), -1);
	vq_env_free(&e);
}

static void test_hostile_id_twice(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	post_all(&e);
	vdev_push(&e, 3, 64);
	vdev_push(&e, 3, 64); /* the same buffer completed twice */
	uint16_t rid;
	uint32_t len;
	assert_int_equal(virtq_take(&e.q, &rid, &len), 1);
	assert_int_equal(rid, 3);
	assert_int_equal(virtq_take(&e.q, &rid, &len), -1);
	vq_env_free(&e);
}

static void test_hostile_length(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	post_all(&e);
	vdev_push(&e, 1, 2048); /* exactly the buffer: fine */
	vdev_push(&e, 2, 2049); /* one past: refused */
	uint16_t rid;
	uint32_t len;
	assert_int_equal(virtq_take(&e.q, &rid, &len), 1);
	assert_int_equal(len, 2048);
	assert_int_equal(virtq_take(&e.q, &rid, &len), -1);
	vq_env_free(&e);

	/* posted shorter than the buffer: the posted length is the limit */
	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	virtq_post(&e.q, (uint16_t)vq_alloc(&e), 100);
	vdev_push(&e, (uint32_t)vdev_pop(&e), 101);
	assert_int_equal(virtq_take(&e.q, &rid, &len), -1);
	vq_env_free(&e);

	/* transmit: the device writes nothing, its length is not used */
	assert_int_equal(vq_env_init(&e, 8, 2048, false), 0);
	virtq_post(&e.q, (uint16_t)vq_alloc(&e), 100);
	vdev_push(&e, (uint32_t)vdev_pop(&e), 0xffffffffu);
	assert_int_equal(virtq_take(&e.q, &rid, &len), 1);
	assert_int_equal(len, 0);
	vq_env_free(&e);
}

static void test_notify_suppression(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	assert_true(virtq_need_notify(&e.q));
	e.q.used->flags = VIRTQ_USED_F_NO_NOTIFY;
	assert_false(virtq_need_notify(&e.q));
	virtq_suppress_irq(&e.q, true);
	assert_int_equal(e.q.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_suppress_irq(&e.q, false);
	assert_int_equal(e.q.avail->flags, 0);
	vq_env_free(&e);
}

/* a post the queue's own record refuses (the driver is not trusted
 * either: the broker posts for it): an id past the queue, an id the
 * device holds already, a length past the buffer, a length of 0 (QEMU
 * takes a zero-sized buffer for a broken ring and stops the device:
 * virtqueue_map_desc); nothing is written —
 * no descriptor length, ring slot or index — and the reason is named */
static void test_post_refused(void **st)
{
	struct vq_env e;
	assert_int_equal(vq_env_init(&e, 8, 2048, true), 0);
	struct virtq *q = &e.q;
	assert_int_equal(virtq_post(q, 3, 2048), 0);
	uint16_t idx = q->avail->idx;
	struct {
		uint16_t id;
		uint32_t len;
		const char *why;
	} bad[] = {{8, 64, "id past the queue"},
		   {0xffff, 64, "id past the queue"},
		   {3, 64, "id outstanding"},
		   {4, 2049, "length past the buffer"},
		   {4, 0, "length 0"}};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(virtq_post(q, bad[i].id, bad[i].len), -1);
		assert_string_equal(
		    virtq_post_refusal(q, bad[i].id, bad[i].len), bad[i].why);
	}
	assert_int_equal(q->avail->idx, idx);
	assert_int_equal(q->nout, 1);
	assert_int_equal(q->desc[4].len, 2048); /* as virtq_init left it */
	for (unsigned i = 0; i < 8; i++)	/* addresses never move */
		assert_int_equal(q->desc[i].addr, VQ_BUF_IOVA + i * 2048ull);
	assert_int_equal(virtq_post(q, 4, 2048), 0); /* the boundary */
	vq_env_free(&e);
}

int main(void)
{
	shim_quiet = 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_rejects_bad_arguments),
	    cmocka_unit_test(test_layout_matches_spec),
	    cmocka_unit_test(test_roundtrip_out_of_order),
	    cmocka_unit_test(test_init_again_starts_clean),
	    cmocka_unit_test(test_indices_wrap),
	    cmocka_unit_test(test_hostile_index_jump),
	    cmocka_unit_test(test_hostile_index_past_outstanding),
	    cmocka_unit_test(test_hostile_id_out_of_range),
	    cmocka_unit_test(test_hostile_id_twice),
	    cmocka_unit_test(test_hostile_length),
	    cmocka_unit_test(test_notify_suppression),
	    cmocka_unit_test(test_post_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
