/* drivers/gvnic/gve_gqi.c — the GQI data path with queue page lists (QPL).
 * Basis: Linux gve_tx.c and gve_rx.c, gve_desc.h. Every frame is copied
 * through bounce pages registered with the device; descriptors carry byte
 * offsets into the queue's page list, never addresses. */
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
		memset(tx->pkt_at, 0, sizeof(tx->pkt_at));
		tx->req = tx->done = 0;
		tx->chunk_head = tx->chunk_tail = 0;
		tx->nchunks = tx->qpl.npages * (PAGE_SIZE / GVE_BUF_SIZE);

		memset(rx->qres.va, 0, rx->qres.len);
		/* a zeroed descriptor ring reads empty: sequence 0 is never
		 * valid (gve_desc.h: gve_next_seqno) */
		memset(rx->desc.va, 0, rx->desc.len);
		for (uint32_t s = 0; s < rx->size; s++)
			slots[s] = cpu_to_be64((uint64_t)s * PAGE_SIZE);
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

/* gve_tx_add_skb_copy: the first descriptor carries up to 182 bytes, a
 * segment descriptor the rest; both point into one 2 KiB chunk of the
 * queue's page list. The doorbell is the free-running descriptor count. */
int gve_gqi_send(struct gve_softc *sc, struct gve_tx *tx, const void *frame,
		 size_t len)
{
	uint32_t hlen = MIN((uint32_t)len, GVE_TX_MIN_PKT_DESC_BYTES);
	uint32_t ndesc = len > hlen ? 2 : 1;
	struct gve_tx_desc_gqi *ring = tx->ring.va, *d;
	uint64_t off;

	gve_gqi_tx_reclaim(sc, tx);
	if (sc->reset_wanted || tx->size - (tx->req - tx->done) < ndesc ||
	    tx->chunk_head - tx->chunk_tail >= tx->nchunks)
		return GVE_ENOMEM;
	off = (uint64_t)(tx->chunk_head % tx->nchunks) * GVE_BUF_SIZE;
	memcpy((uint8_t *)tx->qpl.pages.va + off, frame, len);

	d = &ring[tx->req & tx->mask];
	memset(d, 0, sizeof(*d));
	d->type_flags = GVE_TXD_STD;
	d->desc_cnt = (uint8_t)ndesc;
	d->len = cpu_to_be16((uint16_t)len);
	d->seg_len = cpu_to_be16((uint16_t)hlen);
	d->seg_addr = cpu_to_be64(off);
	if (ndesc == 2) {
		d = &ring[(tx->req + 1) & tx->mask];
		memset(d, 0, sizeof(*d));
		d->type_flags = GVE_TXD_SEG;
		d->seg_len = cpu_to_be16((uint16_t)(len - hlen));
		d->seg_addr = cpu_to_be64(off + hlen);
	}
	/* the chunk is free again once the packet's last descriptor is done */
	tx->pkt_at[(tx->req + ndesc - 1) & tx->mask] = 1;
	tx->chunk_head++;
	tx->req += ndesc;
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
		uint8_t *end = &tx->pkt_at[tx->done & tx->mask];
		if (*end) {
			*end = 0;
			tx->chunk_tail++;
		}
		tx->done++;
	}
}

/* gve_rx: a descriptor is ready when its sequence number is the expected
 * one; its length counts the 2-byte pad and must fit the buffer. The slot is
 * re-posted at once: the frame is copied out. */
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
		if (len < GVE_RX_PAD || len > GVE_BUF_SIZE) {
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
