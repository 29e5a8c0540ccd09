/* drivers/gvnic/gve_dqo.c — the DQO data path, with raw DMA addressing
 * (DQO_RDA) or queue page lists (DQO_QPL). Basis: Linux gve_tx_dqo.c and
 * gve_rx_dqo.c, gve_desc_dqo.h, gve_dqo.h. Little-endian descriptors;
 * completions carry a generation bit that flips each pass. Buffers are
 * fixed 2 KiB slots of the queue's buffer pages, named by tag or id, and
 * descriptors carry their addresses in both formats (gve_tx_buf_get_addr:
 * DQO_QPL names a registered page by its bus address too). */
#include "drivers/gvnic/gve_var.h"
#include "kernel/lib/lib.h"
#include "kernel/time/time.h"

/* x86 is little-endian: DQO fields are used as they are */
#define le16(v) (v)
#define le32(v) (v)
#define le64(v) (v)

void gve_dqo_rings_init(struct gve_softc *sc)
{
	for (unsigned i = 0; i < sc->nqueues; i++) {
		struct gve_tx *tx = &sc->tx[i];
		struct gve_rx *rx = &sc->rx[i];

		memset(tx->qres.va, 0, tx->qres.len);
		memset(tx->ring.va, 0, tx->ring.len);
		memset(tx->compl .va, 0, tx->compl .len);
		tx->tail = tx->head = tx->last_re = 0;
		tx->compl_head = 0;
		tx->compl_gen = 0;
		memset(tx->tag_state, GVE_TAG_FREE, sizeof(tx->tag_state));
		tx->nmissed = 0;
		tx->said_unexpected = tx->said_timed_out = false;
		/* as few index bits as ntags needs, the rest generation */
		tx->tag_idx_bits = 1;
		while ((1u << tx->tag_idx_bits) < tx->ntags)
			tx->tag_idx_bits++;
		/* a reset ends every use: a completion from before it names
		 * nothing outstanding */
		tx->tag_free_head = 0;
		tx->ntag_free = tx->ntags;
		for (uint32_t t = 0; t < tx->ntags; t++) {
			tx->tag_free[t] = (uint16_t)t;
			tx->tag_gen[t] =
			    (tx->tag_gen[t] + 1) & gve_tag_gen_mask(tx);
		}

		memset(rx->qres.va, 0, rx->qres.len);
		memset(rx->desc.va, 0, rx->desc.len);
		memset(rx->data.va, 0, rx->data.len);
		rx->bufq_tail = rx->db_tail = 0;
		rx->posted_cnt = 0;
		rx->compl_head = 0;
		rx->compl_gen = 0;
		rx->skipping = false;
		memset(rx->posted, 0, sizeof(rx->posted));
		rx->nbuf_free = 0;
		for (uint32_t b = rx->nbufs; b-- > 0;)
			rx->buf_free[rx->nbuf_free++] = (uint16_t)b;
	}
}

/* gve_rx_post_buffers_dqo: fill the buffer queue, one slot always empty;
 * the doorbell is rung each time the tail crosses a multiple of 32, as the
 * reference does (the device wants at least 8 new buffers per ring). With
 * 63 buffers in circulation every completion re-posts one, so the tail keeps
 * crossing multiples of 32 and receive cannot stall. */
static void gve_dqo_rx_post(struct gve_softc *sc, struct gve_rx *rx)
{
	struct gve_rx_buf_desc_dqo *q = rx->data.va;

	while (rx->nbuf_free && rx->posted_cnt < rx->mask) {
		uint16_t id = rx->buf_free[--rx->nbuf_free];
		struct gve_rx_buf_desc_dqo *d = &q[rx->bufq_tail];
		memset(d, 0, sizeof(*d));
		d->buf_id = le16(id);
		d->buf_addr = le64(
		    gve_buf_addr(sc, &rx->qpl, (uint64_t)id * GVE_BUF_SIZE));
		rx->posted[id] = 1;
		rx->buf_slot[id] = (uint16_t)rx->bufq_tail;
		rx->posted_cnt++;
		rx->bufq_tail = (rx->bufq_tail + 1) & rx->mask;
		if ((rx->bufq_tail & (GVE_RX_BUF_THRESH_DQO - 1)) == 0) {
			dma_wmb();
			gve_db_write_le(sc, rx->db_index, rx->bufq_tail);
			rx->db_tail = rx->bufq_tail;
		}
	}
}

void gve_dqo_start(struct gve_softc *sc)
{
	for (unsigned i = 0; i < sc->nqueues; i++)
		gve_dqo_rx_post(sc, &sc->rx[i]);
}

/* gve_tx_dqo: one data descriptor per frame (end of packet), a report-event
 * request at most every 32 descriptors, and a gap of 4 free slots; the
 * doorbell is the tail index */
int gve_dqo_send(struct gve_softc *sc, struct gve_tx *tx, const void *frame,
		 size_t len)
{
	struct gve_tx_desc_dqo *d;
	uint32_t used, tag;
	uint8_t flags = GVE_TX_PKT_DESC_DTYPE_DQO | GVE_TXD_DQO_EOP;

	gve_dqo_tx_reclaim(sc, tx);
	used = (tx->tail - tx->head) & tx->mask;
	if (sc->reset_wanted || tx->mask - used < 1 + GVE_TX_MIN_DESC_GAP ||
	    !tx->ntag_free)
		return GVE_ENOMEM;
	tag = tx->tag_free[tx->tag_free_head];
	if (++tx->tag_free_head == tx->ntags)
		tx->tag_free_head = 0;
	tx->ntag_free--;
	memcpy((uint8_t *)tx->qpl.pages.va + (size_t)tag * GVE_BUF_SIZE, frame,
	       len);
	if (((tx->tail - tx->last_re) & tx->mask) >= GVE_TX_MIN_RE_INTERVAL) {
		flags |= GVE_TXD_DQO_RE;
		tx->last_re = tx->tail;
	}
	d = &((struct gve_tx_desc_dqo *)tx->ring.va)[tx->tail];
	memset(d, 0, sizeof(*d));
	d->buf_addr =
	    le64(gve_buf_addr(sc, &tx->qpl, (uint64_t)tag * GVE_BUF_SIZE));
	d->dtype_flags = flags;
	d->compl_tag = le16(gve_tag_of(tx, tag));
	d->buf_size = le16((uint16_t)FIELD_SET(GVE_TXD_DQO_BUF_SIZE, len));
	tx->tag_state[tag] = GVE_TAG_SENT;
	tx->tail = (tx->tail + 1) & tx->mask;
	tx->packets++;
	tx->bytes += len;
	dma_wmb();
	gve_db_write_le(sc, tx->db_index, tx->tail);
	return GVE_OK;
}

/* a completion must name a use of a tag that is outstanding: an index
 * allocated and its current generation. One for an index never handed out,
 * or for a use already completed (a completion counted twice, one from
 * before the tag was freed and reused) names nothing the device holds.
 * Linux logs such a tag and ignores it (No pending data completion); capOS
 * treats it as a hostile device. *idx is the tag's index */
static bool gve_dqo_tag_ok(struct gve_softc *sc, struct gve_tx *tx,
			   uint32_t tag, uint32_t *idx)
{
	*idx = gve_tag_idx(tx, tag);
	if (*idx < tx->ntags && tx->tag_state[*idx] != GVE_TAG_FREE &&
	    tag == gve_tag_of(tx, *idx))
		return true;
	gve_hostile(sc, "tx completion for a tag not outstanding", tag);
	return false;
}

/* gve_free_pending_packet: the tag and its buffer are free again, for a
 * new use after every tag freed before it */
static void gve_dqo_tag_free(struct gve_tx *tx, uint32_t tag)
{
	if (tx->tag_state[tag] >= GVE_TAG_MISS)
		tx->nmissed--;
	uint32_t at = tx->tag_free_head + tx->ntag_free;
	tx->tag_state[tag] = GVE_TAG_FREE;
	tx->tag_gen[tag] = (tx->tag_gen[tag] + 1) & gve_tag_gen_mask(tx);
	tx->tag_free[at >= tx->ntags ? at - tx->ntags : at] = (uint16_t)tag;
	tx->ntag_free++;
}

/* an allocated tag in the wrong state for this completion: Linux logs it
 * (net_err_ratelimited) and leaves the packet as it is. The device may
 * write such completions as fast as it likes: the first of a bring-up is
 * said, the rest counted (unexpected) */
static void gve_dqo_tag_unexpected(struct gve_softc *sc, struct gve_tx *tx,
				   const char *what, uint32_t tag)
{
	tx->unexpected++;
	if (tx->said_unexpected)
		return;
	tx->said_unexpected = true;
	kprintf("%s: ignoring %s completion for tag %u in state %u (further "
		"ones counted, not logged)\n",
		sc->name, what, tag, tx->tag_state[tag]);
}

/* gve_handle_miss_completion: the packet went to the miss path; its
 * buffer stays with the device until the re-injection completion, which
 * must come within GVE_REINJECT_COMPL_TIMEOUT_S */
static void gve_dqo_miss(struct gve_softc *sc, struct gve_tx *tx, uint32_t tag)
{
	if (tx->tag_state[tag] != GVE_TAG_SENT) {
		gve_dqo_tag_unexpected(sc, tx, "miss", tag);
		return;
	}
	tx->tag_state[tag] = GVE_TAG_MISS;
	tx->tag_deadline_us[tag] =
	    time_now_us() + GVE_REINJECT_COMPL_TIMEOUT_S * 1000000ull;
	tx->nmissed++;
}

/* gve_handle_packet_completion: a packet completion frees a tag waiting
 * for its data completion; a re-injection completion frees a tag on the
 * miss path or one already timed out (removed from the timed-out list) */
static void gve_dqo_done(struct gve_softc *sc, struct gve_tx *tx, uint32_t tag,
			 bool reinjection)
{
	uint8_t st = tx->tag_state[tag];
	if (reinjection ? st == GVE_TAG_SENT : st != GVE_TAG_SENT) {
		gve_dqo_tag_unexpected(
		    sc, tx, reinjection ? "re-injection" : "packet", tag);
		return;
	}
	gve_dqo_tag_free(tx, tag);
}

/* remove_miss_completions + remove_timed_out_completions: a tag whose
 * re-injection completion did not come in time is counted as dropped and
 * quarantined for GVE_DEALLOCATE_COMPL_TIMEOUT_S, so a late completion
 * cannot name a reused tag; after that it is free. Its buffer is freed with
 * it: until then the device may still read it. */
static void gve_dqo_tags_expire(struct gve_softc *sc, struct gve_tx *tx)
{
	uint64_t now = time_now_us();

	for (uint32_t t = 0; tx->nmissed && t < tx->ntags; t++) {
		if (tx->tag_state[t] < GVE_TAG_MISS ||
		    (int64_t)(now - tx->tag_deadline_us[t]) < 0)
			continue;
		if (tx->tag_state[t] == GVE_TAG_TIMED_OUT) {
			gve_dqo_tag_free(tx, t);
			continue;
		}
		if (!tx->said_timed_out)
			kprintf("%s: no re-injection completion for tag %u: "
				"dropped (further ones counted, not logged)\n",
				sc->name, t);
		tx->said_timed_out = true;
		sc->nic.stats.tx_dropped++;
		tx->timed_out++;
		tx->tag_state[t] = GVE_TAG_TIMED_OUT;
		tx->tag_deadline_us[t] =
		    now + GVE_DEALLOCATE_COMPL_TIMEOUT_S * 1000000ull;
	}
}

/* gve_clean_tx_done_dqo: descriptor completions move the head (the last
 * descriptor fetched plus one, so the ring size means 0, as Linux's masked
 * use of hw_tx_head; it must stay within what was posted, and as an
 * absolute index a repeated one changes nothing); packet, miss and
 * re-injection completions name an outstanding use of a tag
 * (gve_dqo_tag_ok), and a packet completion with GVE_ALT_MISS_COMPL_BIT is
 * a miss. A packet completion may come before the descriptor completion
 * that covers its descriptor (report events come every
 * GVE_TX_MIN_RE_INTERVAL descriptors), so it is not held to the head */
void gve_dqo_tx_reclaim(struct gve_softc *sc, struct gve_tx *tx)
{
	const struct gve_tx_compl_dqo *ring = tx->compl .va;

	for (uint32_t budget = tx->size; budget && !sc->reset_wanted;
	     budget--) {
		const struct gve_tx_compl_dqo *c = &ring[tx->compl_head];
		uint16_t w = le16(c->id_type_gen);
		if (FIELD_GET(GVE_TXC_GEN, w) == tx->compl_gen)
			break;
		dma_rmb();
		uint32_t v = le16(c->tag), type = FIELD_GET(GVE_TXC_TYPE, w);
		if (type == GVE_COMPL_TYPE_DQO_DESC) {
			uint32_t head = v & tx->mask;
			if (v > tx->size ||
			    ((head - tx->head) & tx->mask) >
				((tx->tail - tx->head) & tx->mask)) {
				gve_hostile(sc, "tx head", v);
				return;
			}
			tx->head = head;
		} else if (type == GVE_COMPL_TYPE_DQO_PKT ||
			   type == GVE_COMPL_TYPE_DQO_MISS ||
			   type == GVE_COMPL_TYPE_DQO_REINJECTION) {
			bool alt = type == GVE_COMPL_TYPE_DQO_PKT &&
				   (v & GVE_ALT_MISS_COMPL_BIT);
			uint32_t tag;
			if (!gve_dqo_tag_ok(
				sc, tx, alt ? v & ~GVE_ALT_MISS_COMPL_BIT : v,
				&tag))
				return;
			if (alt || type == GVE_COMPL_TYPE_DQO_MISS)
				gve_dqo_miss(sc, tx, tag);
			else
				gve_dqo_done(
				    sc, tx, tag,
				    type == GVE_COMPL_TYPE_DQO_REINJECTION);
		} else {
			gve_hostile(sc, "tx completion type", type);
			return;
		}
		if (++tx->compl_head == tx->size) {
			tx->compl_head = 0;
			tx->compl_gen ^= 1;
		}
	}
	if (tx->nmissed)
		gve_dqo_tags_expire(sc, tx);
}

/* a posted buffer is the device's once a doorbell passed its slot; one
 * written to the buffer queue after the last doorbell never was. Linux
 * checks only that the buffer is allocated (gve_buf_state_is_allocated),
 * which it is from the moment it is written. */
static bool gve_dqo_rx_handed(const struct gve_rx *rx, uint32_t id)
{
	return rx->posted[id] &&
	       ((rx->buf_slot[id] - rx->db_tail) & rx->mask) >=
		   ((rx->bufq_tail - rx->db_tail) & rx->mask);
}

/* gve_rx_poll_dqo: each completion names a buffer handed to the device;
 * its length must fit that buffer; header split was not asked for; buffer
 * queue 0 only */
int gve_dqo_recv(struct gve_softc *sc, struct gve_rx *rx, void *buf, size_t cap)
{
	const struct gve_rx_compl_dqo *ring = rx->desc.va;

	for (uint32_t budget = rx->size; budget && !sc->reset_wanted;
	     budget--) {
		const struct gve_rx_compl_dqo *c = &ring[rx->compl_head];
		uint16_t lg = le16(c->len_gen);
		if (FIELD_GET(GVE_RXC_GEN, lg) == rx->compl_gen)
			return 0;
		dma_rmb();
		uint32_t id = le16(c->buf_id), len = FIELD_GET(GVE_RXC_LEN, lg);
		if (FIELD_GET(GVE_RXC_BUFQ, lg)) {
			gve_hostile(sc, "rx buffer queue id", 1);
			return 0;
		}
		if (id >= rx->nbufs || !gve_dqo_rx_handed(rx, id)) {
			gve_hostile(sc, "rx buffer id", id);
			return 0;
		}
		if (len > GVE_BUF_SIZE) {
			gve_hostile(sc, "rx length", len);
			return 0;
		}
		/* no header buffers were posted: a split header has
		 * nowhere to be */
		if (le16(c->hdr_len) & GVE_RXC_SPLIT_HEADER) {
			gve_hostile(
			    sc, "rx header length",
			    FIELD_GET(GVE_RXC_HDR_LEN, le16(c->hdr_len)));
			return 0;
		}
		bool eop = c->status0 & GVE_RXC_EOP, skip = rx->skipping;
		int got = 0;
		rx->skipping = !eop;
		if (skip || !eop) {
			if (eop)
				sc->nic.stats.rx_dropped++;
		} else if ((c->flags1 & GVE_RXC_ERR) || len < 14 || len > cap) {
			sc->nic.stats.rx_errors++;
		} else {
			memcpy(buf,
			       (uint8_t *)rx->qpl.pages.va +
				   (size_t)id * GVE_BUF_SIZE,
			       len);
			got = (int)len;
			rx->packets++;
			rx->bytes += len;
		}
		rx->posted[id] = 0;
		rx->posted_cnt--;
		rx->buf_free[rx->nbuf_free++] = (uint16_t)id;
		if (++rx->compl_head == rx->size) {
			rx->compl_head = 0;
			rx->compl_gen ^= 1;
		}
		gve_dqo_rx_post(sc, rx);
		if (got)
			return got;
	}
	return 0;
}
