/* drivers/gvnic/gve_gqi.c — the GQI data path, with queue page lists
 * (GQI_QPL) or raw DMA addressing (GQI_RDA). Basis: Linux gve_tx.c and
 * gve_rx.c, gve_desc.h. Every frame is copied through the queue's buffer
 * pages; a descriptor names a byte offset into the registered page list
 * (QPL) or the address of the same bytes (RDA), gve_buf_addr. */
#include "drivers/gvnic/gve_var.h"
#include "kernel/lib/lib.h"

void gve_gqi_rings_init(struct gve_softc *sc)
{
	for (unsigned i = 0; i < sc->nqueues; i++) {
		struct gve_tx *tx = &sc->tx[i];
		struct gve_rx *rx = &sc->rx[i];
		uint64_t *slots = rx->data.va;

		memset(tx->qres.va, 0, tx->qres.len);
		memset(tx->ring.va, 0, tx->ring.len);
		memset(tx->fifo_used, 0, sizeof(tx->fifo_used));
		tx->req = tx->done = 0;
		/* gve_tx_fifo_init: the FIFO is the whole buffer area */
		tx->fifo_size = tx->qpl.npages * PAGE_SIZE;
		tx->fifo_avail = tx->fifo_size;
		tx->fifo_head = 0;

		memset(rx->qres.va, 0, rx->qres.len);
		/* a zeroed descriptor ring reads empty: sequence 0 is never
		 * valid (gve_desc.h: gve_next_seqno) */
		memset(rx->desc.va, 0, rx->desc.len);
		/* gve_rx_prefill_pages: slot s is page s */
		for (uint32_t s = 0; s < rx->size; s++)
			slots[s] = cpu_to_be64(gve_buf_addr(
			    sc, &rx->qpl, (uint64_t)s * PAGE_SIZE));
		rx->cnt = 0;
		rx->fill_cnt = rx->size; /* every slot prefilled */
		rx->seqno = 1;
		rx->skipping = false;
	}
}

/* gve_create_rings: hand the device the prefilled RX slots */
void gve_gqi_start(struct gve_softc *sc)
{
	dma_wmb();
	for (unsigned i = 0; i < sc->nqueues; i++)
		gve_db_write_be(sc, sc->rx[i].db_index, sc->rx[i].fill_cnt);
}

/* gve_tx_fifo_pad_alloc_one_frag + gve_tx_alloc_fifo: a frame is never
 * split; when it would not fit before the end of the FIFO the tail is
 * padding and the frame starts at offset 0. The head is then re-aligned to
 * GVE_TX_FIFO_ALIGN. Space is taken only when strictly more is free
 * (gve_tx_fifo_can_alloc). Returns the bytes consumed, 0 when full. */
static uint32_t gve_gqi_fifo_alloc(struct gve_tx *tx, uint32_t len,
				   uint32_t *off)
{
	uint32_t pad = tx->fifo_head + len < tx->fifo_size
			   ? 0
			   : tx->fifo_size - tx->fifo_head;
	uint32_t start = pad ? 0 : tx->fifo_head;
	uint32_t end = ALIGN_UP(start + len, GVE_TX_FIFO_ALIGN);
	uint32_t used = pad + (end - start);

	if (len > tx->fifo_size || tx->fifo_avail <= used)
		return 0;
	tx->fifo_avail -= used;
	tx->fifo_head = end == tx->fifo_size ? 0 : end;
	*off = start;
	return used;
}

/* gve_tx_add_skb_copy for a linear frame: the whole frame is the packet
 * descriptor's segment (hlen = skb_headlen), so one descriptor, no segment
 * descriptors; DPDK's gve_tx_burst_qpl does the same for a non-TSO frame.
 * The doorbell is the free-running descriptor count. */
int gve_gqi_send(struct gve_softc *sc, struct gve_tx *tx, const void *frame,
		 size_t len)
{
	struct gve_tx_desc_gqi *d;
	uint32_t off, used;

	gve_gqi_tx_reclaim(sc, tx);
	if (sc->reset_wanted || tx->req - tx->done >= tx->size ||
	    !(used = gve_gqi_fifo_alloc(tx, (uint32_t)len, &off)))
		return GVE_ENOMEM;
	memcpy((uint8_t *)tx->qpl.pages.va + off, frame, len);

	d = &((struct gve_tx_desc_gqi *)tx->ring.va)[tx->req & tx->mask];
	memset(d, 0, sizeof(*d));
	d->type_flags = GVE_TXD_STD;
	d->desc_cnt = 1;
	d->len = cpu_to_be16((uint16_t)len);
	d->seg_len = cpu_to_be16((uint16_t)len);
	d->seg_addr = cpu_to_be64(gve_buf_addr(sc, &tx->qpl, off));
	/* gve_clean_tx_done returns the FIFO space once this is done */
	tx->fifo_used[tx->req & tx->mask] = used;
	tx->req++;
	tx->packets++;
	tx->bytes += len;
	dma_wmb();
	gve_db_write_be(sc, tx->db_index, tx->req);
	return GVE_OK;
}

/* gve_clean_tx_done: the event counter is the device's free-running count
 * of descriptors done; it may not run past what was posted */
void gve_gqi_tx_reclaim(struct gve_softc *sc, struct gve_tx *tx)
{
	const uint32_t *ctr = sc->counters.va;
	uint32_t done;

	if (sc->reset_wanted)
		return;
	done = be32_to_cpu(ctr[tx->counter_index]);
	if (done - tx->done > tx->req - tx->done) {
		gve_hostile(sc, "tx completion counter", done);
		return;
	}
	while (tx->done != done) {
		uint32_t *used = &tx->fifo_used[tx->done & tx->mask];
		tx->fifo_avail += *used; /* gve_tx_free_fifo */
		*used = 0;
		tx->done++;
	}
}

/* gve_rx: a descriptor is ready when its sequence number is the expected
 * one; its length counts the 2-byte pad and must fit the buffer. The slot is
 * re-posted at once with the same page: the frame is copied out. */
int gve_gqi_recv(struct gve_softc *sc, struct gve_rx *rx, void *buf, size_t cap)
{
	const struct gve_rx_desc_gqi *ring = rx->desc.va;

	for (uint32_t budget = rx->size; budget && !sc->reset_wanted;
	     budget--) {
		const struct gve_rx_desc_gqi *d = &ring[rx->cnt & rx->mask];
		uint16_t fs = be16_to_cpu(d->flags_seq);
		if (FIELD_GET(GVE_RX_SEQ, fs) != rx->seqno)
			return 0;
		dma_rmb();
		uint16_t len = be16_to_cpu(d->len);
		if (len < GVE_RX_PAD || len > GVE_RX_BUFFER_SIZE) {
			gve_hostile(sc, "rx length", len);
			return 0;
		}
		const uint8_t *data = (const uint8_t *)rx->qpl.pages.va +
				      (size_t)(rx->cnt & rx->mask) * PAGE_SIZE +
				      GVE_RX_PAD;
		size_t flen = len - GVE_RX_PAD;
		bool cont = fs & GVE_RXF_PKT_CONT, skip = rx->skipping;
		int got = 0;

		rx->skipping = cont;
		if (skip || cont) {
			/* multi-descriptor packets exceed the 2 KiB buffers the
			 * driver asked for: drop every piece */
			if (!cont)
				sc->nic.stats.rx_dropped++;
		} else if ((fs & GVE_RXF_ERR) || flen < 14 || flen > cap) {
			sc->nic.stats.rx_errors++;
		} else {
			memcpy(buf, data, flen);
			got = (int)flen;
			rx->packets++;
			rx->bytes += flen;
		}
		rx->cnt++;
		rx->seqno = rx->seqno == 7 ? 1 : rx->seqno + 1;
		rx->fill_cnt++;
		dma_wmb();
		gve_db_write_be(sc, rx->db_index, rx->fill_cnt);
		if (got)
			return got;
	}
	return 0;
}
