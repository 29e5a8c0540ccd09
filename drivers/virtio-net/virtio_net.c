/* drivers/virtio-net/virtio_net.c — the virtio network device (virtio 1.2
 * §5.1) on the modern PCI transport, exposed as a struct nic.
 *
 * One receive and one transmit queue, one buffer per descriptor, header and
 * frame in the same buffer. The receive queue is kept full; finished
 * transmits are reclaimed on every send and receive. The IP stack polls
 * recv from the main loop; MSI-X vectors (config, rx, tx) are bound so the
 * device may interrupt, and the config-change vector makes link changes
 * visible at once (they are also re-read every VNET_LINK_POLL_US). */
#include "drivers/virtio-net/virtio_net.h"

#include "kernel/boot/boot.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/pci/pci.h"
#include "kernel/time/time.h"

#define VNET_HDR_LEN sizeof(struct virtio_net_hdr)
#define VNET_ETH_MIN 14
/* the longest frame a device without GSO or MTU features hands up: 1514
 * and a VLAN tag (Linux's GOOD_PACKET_LEN); longer is a device error */
#define VNET_ETH_MAX (VIRTIO_NET_MAX_FRAME + 4)
#define BIT64(n)     (1ull << (n))

_Static_assert(VNET_BUF_SIZE >= VIRTIO_NET_RX_MIN_BUF,
	       "rx buffer below §5.1.6.3 minimum");

struct vnet_softc vnet_softcs[VNET_MAX];
unsigned vnet_count;

/* features capOS implements; VERSION_1 is required (modern transport) */
#define VNET_FEATURES_WANTED                                                   \
	(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MAC) |                 \
	 BIT64(VIRTIO_NET_F_STATUS))
#define VNET_FEATURES_REQUIRED BIT64(VIRTIO_F_VERSION_1)

/* ---- failure and link state -------------------------------------------- */

/* stop a device that held queue addresses: the broker's reset (device
 * status 0, §2.4 and §4.1.4.3.1), bus mastering off, then device_status
 * read until it is 0 for at most wait_us (a read completion does not pass
 * the device's posted writes). The last value read says whether it did
 * reset: the broker gives the rings back and unpins the buffer pool only
 * after a 0, so the pool goes back only then (the attach unwind and
 * vnet_detach wait VIRTIO_RESET_TIMEOUT_US for it, as §4.1.4.3.2 and
 * Linux's vp_reset wait). A device given up (failed) is told FAILED first
 * (§2.1); vnet_fail, in the main loop, keeps the pool whatever it reads,
 * so it reads once and does not wait. */
static uint8_t vnet_stop(struct vnet_softc *sc, bool failed, uint64_t wait_us)
{
	return virtio_pci_stop(&sc->vp, failed, wait_us);
}

/* the device broke the ring protocol or asked for a reset: tell it, stop
 * it from touching our memory (vnet_stop) and refuse further I/O; then
 * the device manager is told, once (devmgr_failed: it restarts the
 * function — unbind, which runs vnet_detach, and a fresh attach — when
 * its budget allows). A revoked owner's device was stopped by the
 * authority layer (bus mastering off, windows and vectors seized, the
 * pool parked): nothing of it is touched, one line, and the device
 * manager decides by who revoked it */
static void vnet_fail(struct vnet_softc *sc, const char *why)
{
	if (sc->failed)
		return;
	sc->failed = true;
	sc->nic.link_up = false;
	if (auth_owner_revoked(sc->vp.owner)) {
		sc->msix = false; /* its vectors were seized */
		strlcpy(sc->vp.pci->state, "failed", sizeof(sc->vp.pci->state));
		kprintf("%s: unable to continue: owner %u revoked, device "
			"stopped by the authority layer, its DMA memory "
			"parked\n",
			sc->name, sc->vp.owner);
		devmgr_failed(sc->vp.pci, sc->vp.owner, "owner revoked");
		return;
	}
	for (unsigned i = 0; sc->msix && i < VNET_NVEC; i++)
		irq_mask(&sc->irq[i]);
	uint8_t st = vnet_stop(sc, true, 0);
	strlcpy(sc->vp.pci->state, "failed", sizeof(sc->vp.pci->state));
	kprintf("%s: unable to continue: device marked FAILED, %s (status "
		"0x%x), bus mastering off\n",
		sc->name, st ? "reset not done" : "reset", st);
	devmgr_failed(sc->vp.pci, sc->vp.owner, why);
}

/* read mac and status consistently under config_generation (§2.5.1) */
static bool vnet_config_read(struct vnet_softc *sc, uint8_t mac[6],
			     uint16_t *status)
{
	for (int tries = 0; tries < 8; tries++) {
		uint8_t gen = virtio_pci_config_gen(&sc->vp);
		uint32_t v;
		bool ok = true;
		for (unsigned i = 0; mac && i < 6; i++) {
			ok &= virtio_pci_config_read(
			    &sc->vp, VIRTIO_NET_CFG_MAC + i, 1, &v);
			mac[i] = (uint8_t)v;
		}
		if (status) {
			ok &= virtio_pci_config_read(
			    &sc->vp, VIRTIO_NET_CFG_STATUS, 2, &v);
			*status = (uint16_t)v;
		}
		if (!ok)
			return false;
		if (virtio_pci_config_gen(&sc->vp) == gen)
			return true;
	}
	return false;
}

/* a link line at most once per NIC_LINK_LOG_US (nic_link_log): with a
 * configuration interrupt each flip of the device's link bit is read at
 * the next recv. Every change counts in link_changes */
static void vnet_link_log(struct vnet_softc *sc, uint64_t now, bool changed)
{
	uint64_t unlogged;
	if (!nic_link_log(&sc->link_log, now, changed, &unlogged))
		return;
	char more[48] = "";
	if (unlogged)
		ksnprintf(more, sizeof(more), ", %llu changes not logged",
			  (unsigned long long)unlogged);
	kprintf("%s: link %s (config interrupts %llu)%s\n", sc->name,
		sc->nic.link_up ? "up" : "down",
		(unsigned long long)(sc->msix
					 ? irq_count(&sc->irq[VNET_VEC_CONFIG])
					 : 0),
		more);
}

/* §5.1.4: without VIRTIO_NET_F_STATUS the link is assumed up. A failed
 * device is reset: its link stays down whatever it reports */
static void vnet_link_update(struct vnet_softc *sc, uint64_t now)
{
	bool up = true;
	if (sc->failed)
		return;
	if (virtio_has(&sc->vp, VIRTIO_NET_F_STATUS)) {
		uint16_t st;
		if (!vnet_config_read(sc, NULL, &st))
			return;
		sc->status = st;
		up = st & VIRTIO_NET_S_LINK_UP;
	}
	bool changed = up != sc->nic.link_up;
	if (changed) {
		sc->nic.link_up = up;
		sc->link_changes++;
	}
	vnet_link_log(sc, now, changed);
}

static void vnet_link_poll(struct vnet_softc *sc)
{
	uint64_t now = time_now_us();
	/* a failed device was told FAILED and reset: nothing it says now is
	 * looked at (a second failure line, or a link) */
	if (sc->failed || (!sc->config_changed &&
			   now - sc->link_checked_us < VNET_LINK_POLL_US))
		return;
	sc->config_changed = false;
	sc->link_checked_us = now;
	/* a DMA fault revoked the owner: its status register is not ours to
	 * read any more */
	if (auth_owner_revoked(sc->vp.owner)) {
		vnet_fail(sc, "owner revoked");
		return;
	}
	/* §2.1: a device in an error state sets DEVICE_NEEDS_RESET and raises
	 * a configuration change; what it holds may or may not complete. One
	 * that cleared a bit the driver set (DRIVER_OK: it reset itself, and
	 * no longer knows the queues) will complete nothing. Either is given
	 * up as for a broken ring; the device manager's restart is the
	 * reset-and-recover (a new bring-up under a fresh owner) */
	uint8_t st = virtio_pci_status(&sc->vp);
	if ((st & VIRTIO_STATUS_DEVICE_NEEDS_RESET) ||
	    (st & sc->vp.status) != sc->vp.status) {
		kprintf("%s: unable to use device: %s (status 0x%x)\n",
			sc->name,
			st & VIRTIO_STATUS_DEVICE_NEEDS_RESET
			    ? "DEVICE_NEEDS_RESET"
			    : "it cleared status bits the driver set",
			st);
		vnet_fail(sc, st & VIRTIO_STATUS_DEVICE_NEEDS_RESET
				  ? "DEVICE_NEEDS_RESET"
				  : "status bits cleared");
		return;
	}
	vnet_link_update(sc, now);
}

/* ---- interrupts ------------------------------------------------------------
 */

static void vnet_irq_config(void *arg)
{
	struct vnet_softc *sc = arg;
	sc->config_changed = true; /* acted on by the next poll */
}

static void vnet_irq_queue(void *arg)
{
	/* the main loop polls the rings; the interrupt only wakes it (and
	 * irq_count records it) */
	(void)arg;
}

static void vnet_vectors_unbind(struct vnet_softc *sc)
{
	for (unsigned i = VNET_NVEC; sc->msix && i-- > 0;)
		irq_revoke(&sc->irq[i]);
	sc->msix = false;
}

/* §4.1.5.1.2: config vector now, queue vectors at queue set-up. Without
 * MSI-X (or with too small a table) the device is polled only. */
static void vnet_vectors_bind(struct vnet_softc *sc)
{
	struct pci_dev *d = sc->vp.pci;
	irq_handler_t fn[VNET_NVEC] = {vnet_irq_config, vnet_irq_queue,
				       vnet_irq_queue};
	unsigned i;

	if (!d->cap_msix || d->msix_size < VNET_NVEC) {
		kprintf("%s: polling only (MSI-X table has %u entries)\n",
			sc->name, d->cap_msix ? d->msix_size : 0);
		return;
	}
	for (i = 0; i < VNET_NVEC; i++)
		if (irq_bind(d, sc->vp.owner, i, fn[i], sc, &sc->irq[i]) != 0)
			break;
	if (i < VNET_NVEC) {
		kprintf("%s: unable to bind MSI-X entry %u; polling only\n",
			sc->name, i);
		while (i-- > 0)
			irq_revoke(&sc->irq[i]);
		return;
	}
	sc->msix = true;
	if (!virtio_pci_config_vector(&sc->vp, VNET_VEC_CONFIG)) {
		kprintf("%s: unable to map config changes to MSI-X entry %u; "
			"polling only\n",
			sc->name, VNET_VEC_CONFIG);
		virtio_pci_config_vector(&sc->vp, VIRTIO_MSI_NO_VECTOR);
		vnet_vectors_unbind(sc);
	}
}

/* ---- queues -----------------------------------------------------------------
 */

/* one DMAPool: the receive buffers, then the transmit buffers. The rings
 * are the broker's (virtio_pci_queue_enable), in no pool of ours */
static int vnet_queues_alloc(struct vnet_softc *sc)
{
	uint16_t n[2];
	/* receive and transmit queue; no control queue (CTRL_VQ is not
	 * negotiated). Each refusal is one line, and no queue address has
	 * gone to the device yet */
	uint16_t numq = virtio_pci_num_queues(&sc->vp);
	if (numq < 2) {
		kprintf("%s: unable to use device: %u queue(s), rx and tx "
			"need 2\n",
			sc->name, numq);
		return -1;
	}
	for (uint16_t q = 0; q < 2; q++) {
		uint16_t max = virtio_pci_queue_max(&sc->vp, q);
		/* §4.1.4.3.1: 0 (unavailable) or a power of two (without
		 * RING_PACKED) */
		if (max == 0 || (max & (max - 1))) {
			kprintf("%s: unable to use queue %u: size %u%s\n",
				sc->name, q, max,
				max ? " is not a power of two" : "");
			return -1;
		}
		n[q] = MIN(max, (uint16_t)VNET_QSIZE);
	}
	size_t len = ((size_t)n[0] + n[1]) * VNET_BUF_SIZE;
	if (dma_pool_create(sc->vp.owner, len, 0, &sc->pool) != 0) {
		kprintf("%s: unable to allocate DMA pool (%zu bytes)\n",
			sc->name, len);
		return -1;
	}
	struct vnet_q *qs[2] = {&sc->rx, &sc->tx};
	for (unsigned q = 0; q < 2; q++) {
		if (dma_pool_carve(&sc->pool, (size_t)n[q] * VNET_BUF_SIZE,
				   PAGE_SIZE, &qs[q]->bufs)) {
			kprintf("%s: unable to lay out buffers in the DMA "
				"pool\n",
				sc->name);
			dma_pool_revoke(&sc->pool);
			return -1;
		}
		qs[q]->size = n[q];
		/* hand ids out low first: easier to read in a dump */
		for (uint16_t i = 0; i < n[q]; i++)
			qs[q]->free[i] = (uint16_t)(n[q] - 1 - i);
		qs[q]->nfree = n[q];
	}
	return 0;
}

static int vnet_queues_enable(struct vnet_softc *sc)
{
	uint16_t rxv = sc->msix ? VNET_VEC_RX : VIRTIO_MSI_NO_VECTOR;
	uint16_t txv = sc->msix ? VNET_VEC_TX : VIRTIO_MSI_NO_VECTOR;
	if (virtio_pci_queue_enable(&sc->vp, VIRTIO_NET_RXQ, sc->rx.size,
				    &sc->rx.bufs, VNET_BUF_SIZE, true, rxv,
				    &sc->rx_notify))
		return -1;
	if (virtio_pci_queue_enable(&sc->vp, VIRTIO_NET_TXQ, sc->tx.size,
				    &sc->tx.bufs, VNET_BUF_SIZE, false, txv,
				    &sc->tx_notify))
		return -1;
	return 0;
}

/* an id of q the device does not hold, -1 when it holds them all */
static int vnet_id_get(struct vnet_q *q)
{
	return q->nfree ? q->free[--q->nfree] : -1;
}
/* an id the broker gave back (virtio_broker_take: outstanding, so not in
 * free[]) */
static void vnet_id_put(struct vnet_q *q, uint16_t id)
{
	q->free[q->nfree++] = id;
}
static uint8_t *vnet_buf(const struct vnet_q *q, uint16_t id)
{
	return (uint8_t *)q->bufs.va + (size_t)id * VNET_BUF_SIZE;
}

static void vnet_kick(struct vnet_softc *sc, uint32_t off, uint16_t qidx)
{
	if (virtio_broker_need_notify(sc->vp.vb, sc->vp.owner, qidx)) {
		virtio_pci_notify(&sc->vp, off, qidx);
		sc->notifies++;
	}
}

/* hand buffer id of queue qidx to the device (the broker checks it) */
static void vnet_post(struct vnet_softc *sc, uint16_t qidx, uint16_t id,
		      uint32_t len)
{
	/* refused: our own bookkeeping is wrong, so stop */
	if (virtio_broker_post(sc->vp.vb, sc->vp.owner, qidx, id, len) != 0)
		vnet_fail(sc, "post refused by the broker");
}

/* §5.1.6.3: keep the receive queue as full as possible */
static void vnet_rx_fill(struct vnet_softc *sc)
{
	int id;
	bool any = false;
	while (!sc->failed && (id = vnet_id_get(&sc->rx)) >= 0) {
		vnet_post(sc, VIRTIO_NET_RXQ, (uint16_t)id, VNET_BUF_SIZE);
		any = true;
	}
	if (any && !sc->failed)
		vnet_kick(sc, sc->rx_notify, VIRTIO_NET_RXQ);
}

static void vnet_tx_reclaim(struct vnet_softc *sc)
{
	uint16_t id;
	uint32_t len;
	int r;
	while ((r = virtio_broker_take(sc->vp.vb, sc->vp.owner, VIRTIO_NET_TXQ,
				       &id, &len)) == 1)
		vnet_id_put(&sc->tx, id);
	if (r < 0)
		vnet_fail(sc, "broken ring");
}

/* ---- struct nic
 * --------------------------------------------------------------- */

/* the next received buffer (virtq_take's result). The receive interrupt
 * is on only while the ring is empty, as NAPI does it: a frame waiting
 * turns it off (the main loop polls while there is work, and under QEMU
 * each interrupt is an exit and an EOI); the empty ring turns it on and is
 * read once more, so a frame that landed in between is taken now and a
 * later one interrupts the halted loop (§2.7.7) */
static int vnet_rx_take(struct vnet_softc *sc, uint16_t *id, uint32_t *len)
{
	struct virtio_broker vb = sc->vp.vb;
	int r = virtio_broker_take(vb, sc->vp.owner, VIRTIO_NET_RXQ, id, len);
	if (r == 0 && sc->rx_irq_off) {
		virtio_broker_suppress_irq(vb, sc->vp.owner, VIRTIO_NET_RXQ,
					   false);
		sc->rx_irq_off = false;
		mb(); /* the flag visible before the index is read again */
		r = virtio_broker_take(vb, sc->vp.owner, VIRTIO_NET_RXQ, id,
				       len);
	}
	if (r == 1 && !sc->rx_irq_off) {
		virtio_broker_suppress_irq(vb, sc->vp.owner, VIRTIO_NET_RXQ,
					   true);
		sc->rx_irq_off = true;
	}
	return r;
}

static void vnet_flush(struct nic *n)
{
	struct vnet_softc *sc = n->priv;
	if (!sc->tx_unkicked || sc->failed)
		return;
	sc->tx_unkicked = 0;
	vnet_kick(sc, sc->tx_notify, VIRTIO_NET_TXQ);
}

static int vnet_send(struct nic *n, const void *frame, size_t len)
{
	struct vnet_softc *sc = n->priv;
	if (sc->failed || len < VNET_ETH_MIN || len > VIRTIO_NET_MAX_FRAME) {
		n->stats.tx_errors++;
		return -1;
	}
	vnet_tx_reclaim(sc);
	if (sc->failed) { /* the reclaim found the device broken */
		n->stats.tx_dropped++;
		return -1;
	}
	/* every buffer is the device's: the caller holds the frame and sends
	 * it again after a later recv has reclaimed some (nic.h) */
	int id = vnet_id_get(&sc->tx);
	if (id < 0)
		return NIC_TX_FULL;
	/* §5.1.6.2: flags 0, GSO_NONE, num_buffers 0; a fully checksummed frame
	 */
	uint8_t *b = vnet_buf(&sc->tx, (uint16_t)id);
	memset(b, 0, VNET_HDR_LEN);
	memcpy(b + VNET_HDR_LEN, frame, len);
	vnet_post(sc, VIRTIO_NET_TXQ, (uint16_t)id,
		  (uint32_t)(VNET_HDR_LEN + len));
	if (sc->failed) {
		n->stats.tx_errors++;
		return -1;
	}
	/* one notify per burst (vnet_flush), and one every VNET_TX_BATCH
	 * frames so a long burst keeps the device busy while it grows: under
	 * QEMU each notify is an exit and a wake-up of its I/O thread */
	if (++sc->tx_unkicked >= VNET_TX_BATCH)
		vnet_flush(n);
	n->stats.tx_packets++;
	n->stats.tx_bytes += len;
	return 0;
}

static int vnet_recv(struct nic *n, void *buf, size_t cap)
{
	struct vnet_softc *sc = n->priv;
	if (sc->failed)
		return -1;
	vnet_tx_reclaim(sc);
	vnet_link_poll(sc);

	/* bounded: at most one queue's worth of bad frames per call */
	for (unsigned i = 0; i < sc->rx.size && !sc->failed; i++) {
		uint16_t id;
		uint32_t len;
		int r = vnet_rx_take(sc, &id, &len);
		if (r == 0)
			return 0;
		if (r < 0) {
			vnet_fail(sc, "broken ring");
			return -1;
		}
		const uint8_t *b = vnet_buf(&sc->rx, id);
		int got = -1;
		if (len < VNET_HDR_LEN + VNET_ETH_MIN ||
		    len > VNET_HDR_LEN + VNET_ETH_MAX) {
			n->stats.rx_errors++;
		} else if (len - VNET_HDR_LEN > cap) {
			n->stats.rx_dropped++;
		} else {
			got = (int)(len - VNET_HDR_LEN);
			memcpy(buf, b + VNET_HDR_LEN, (size_t)got);
			n->stats.rx_packets++;
			n->stats.rx_bytes += (uint64_t)got;
		}
		/* the copy is taken: the buffer goes straight back to the
		 * device */
		vnet_post(sc, VIRTIO_NET_RXQ, id, VNET_BUF_SIZE);
		if (!sc->failed)
			vnet_kick(sc, sc->rx_notify, VIRTIO_NET_RXQ);
		if (got >= 0)
			return got;
	}
	return sc->failed ? -1 : 0;
}

/* ---- attach
 * ------------------------------------------------------------------ */

static void vnet_nic_setup(struct vnet_softc *sc, const uint8_t mac[6])
{
	struct nic *n = &sc->nic;
	strlcpy(n->name, sc->name, sizeof(n->name));
	memcpy(n->mac, mac, 6);
	n->mtu = VIRTIO_NET_MAX_FRAME - VNET_ETH_MIN;
	n->link_mbps = 0; /* VIRTIO_NET_F_SPEED_DUPLEX not negotiated */
	n->send = vnet_send;
	n->flush = vnet_flush;
	n->recv = vnet_recv;
	n->priv = sc;
}

/* without VIRTIO_NET_F_MAC: a locally administered address (§5.1.4.2) */
static void vnet_mac_local(struct vnet_softc *sc, uint8_t mac[6])
{
	struct pci_dev *d = sc->vp.pci;
	uint8_t m[6] = {0x02,
			0xca,
			0x05,
			d->bus,
			(uint8_t)(d->dev << 3 | d->fn),
			(uint8_t)(sc - vnet_softcs)};
	memcpy(mac, m, 6);
}

CMDLINE_KEY(vnet_txirq, "vnet.txirq",
	    "1: keep virtio-net transmit interrupts (the bench's A/B)");

/* a slot for a new instance: one a detached instance left (a driver
 * restart: its NIC is out of the registry and the stack, its vectors
 * revoked or seized, what the device may still reach held by the
 * authority layer, not by the softc), else the next unused; NULL when
 * all VNET_MAX are running */
static struct vnet_softc *vnet_slot(void)
{
	for (unsigned i = 0; i < vnet_count; i++)
		if (vnet_softcs[i].detached)
			return &vnet_softcs[i];
	return vnet_count < VNET_MAX ? &vnet_softcs[vnet_count] : NULL;
}

static int vnet_attach(struct pci_dev *d, uint16_t owner)
{
	struct vnet_softc *sc = vnet_slot();
	if (!sc) {
		kprintf(
		    "virtio-net: unable to attach another device (max %u)\n",
		    VNET_MAX);
		return -1;
	}
	unsigned slot = (unsigned)(sc - vnet_softcs);
	memset(sc, 0, sizeof(*sc));
	ksnprintf(sc->name, sizeof(sc->name), "vnet%u", slot);
	sc->vp.pci = d;
	sc->vp.name = sc->name;
	sc->vp.owner = owner;
	uint8_t mac[6], st;

	/* memory decoding now; bus mastering only once queues exist */
	pci_enable(d, true, false, false);
	/* §4.1.5.1.1: find the structures before touching the device */
	if (virtio_pci_map(&sc->vp))
		goto err_off; /* it revoked what it had granted */
	/* §3.1.1 step 1: reset */
	if (virtio_pci_reset(&sc->vp))
		goto err_unmap;
	/* steps 2-3: ACKNOWLEDGE, DRIVER */
	if (virtio_pci_status_set(&sc->vp, VIRTIO_STATUS_ACKNOWLEDGE) ||
	    virtio_pci_status_set(&sc->vp, VIRTIO_STATUS_DRIVER))
		goto err_failed;
	/* steps 4-6: features, FEATURES_OK, read back. Under an IOMMU the
	 * device must send its DMA through it (§6.1 VIRTIO_F_ACCESS_PLATFORM);
	 * one that would bypass it is not run. */
	uint64_t need = VNET_FEATURES_REQUIRED;
	if (dma_owner_translated(owner))
		need |= BIT64(VIRTIO_F_ACCESS_PLATFORM);
	if (virtio_pci_negotiate(&sc->vp, VNET_FEATURES_WANTED | need, need))
		goto err_failed;
	/* step 7: device-specific set-up — queues, vectors, config */
	if (vnet_queues_alloc(sc))
		goto err_failed;
	vnet_vectors_bind(sc);
	if (vnet_queues_enable(sc))
		goto err_queues;
	if (virtio_has(&sc->vp, VIRTIO_NET_F_MAC)) {
		if (!vnet_config_read(sc, mac, NULL)) {
			kprintf("%s: unable to read MAC address\n", sc->name);
			goto err_queues;
		}
	} else {
		vnet_mac_local(sc, mac);
	}
	vnet_nic_setup(sc, mac);
	pci_enable(d, true, false, true);
	/* step 8: DRIVER_OK; only now may the device use the queues. Not
	 * written to a device that took FEATURES_OK back; one that drops a
	 * bit at DRIVER_OK or needs a reset is not run either */
	if (virtio_pci_status_set(&sc->vp, VIRTIO_STATUS_DRIVER_OK))
		goto err_queues;
	st = virtio_pci_status(&sc->vp);
	if ((st & VIRTIO_STATUS_DEVICE_NEEDS_RESET) ||
	    (st & sc->vp.status) != sc->vp.status) {
		kprintf("%s: unable to start device (status 0x%x)\n", sc->name,
			st);
		goto err_queues;
	}
	/* finished transmits are reaped on every send and receive: an interrupt
	 * for them would only cost an exit (§2.7.7; the vector stays mapped).
	 * vnet.txirq=1 keeps them, for the side-by-side bench. */
	virtio_broker_suppress_irq(sc->vp.vb, sc->vp.owner, VIRTIO_NET_TXQ,
				   cmdline_u64("vnet.txirq", 0) == 0);
	vnet_rx_fill(sc);
	for (unsigned i = 0; sc->msix && i < VNET_NVEC; i++)
		irq_unmask(&sc->irq[i]);
	sc->link_checked_us = time_now_us();
	vnet_link_update(sc, sc->link_checked_us);

	d->drv_state = sc;
	strlcpy(d->state, sc->msix ? "up msix" : "up polled", sizeof(d->state));
	if (slot == vnet_count)
		vnet_count++;
	nic_register(&sc->nic);
	kprintf("%s: virtio-net %02x:%02x:%02x:%02x:%02x:%02x features 0x%llx "
		"queues "
		"%u/%u %s link %s\n",
		sc->name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
		(unsigned long long)sc->vp.features, sc->rx.size, sc->tx.size,
		sc->msix ? "msix" : "polled", sc->nic.link_up ? "up" : "down");
	return 0;

err_queues:
	/* the device may hold queue addresses: stopped and off the bus, and
	 * the pool goes back only if it confirmed its reset (device_status
	 * read back 0 within VIRTIO_RESET_TIMEOUT_US). One that did not may
	 * still work its rings — bus mastering is the device's own to
	 * honour — so the pool stays granted, never revoked or reused (as
	 * gVNIC's memory_held; Linux's vp_reset waits for the 0 before
	 * anything is freed) */
	st = vnet_stop(sc, true, VIRTIO_RESET_TIMEOUT_US);
	vnet_vectors_unbind(sc);
	if (st == 0)
		dma_pool_revoke(&sc->pool);
	else
		kprintf("%s: keeping DMA memory (%zu bytes): the device did "
			"not confirm its reset (status 0x%x); bus mastering "
			"off\n",
			sc->name, sc->pool.len, st);
	goto err_unmap;
err_failed:
	virtio_pci_status_set(&sc->vp, VIRTIO_STATUS_FAILED);
err_unmap:
	virtio_pci_unmap(&sc->vp);
err_off:
	pci_enable(d, false, false, false);
	sc->detached = true; /* a reused slot is free again, never listed */
	return -1;
}

/* devmgr_shutdown: the NIC leaves the stack first (nic_unregister: no
 * send reaches the device after it, and the driver refuses one made
 * through the struct nic anyway: detached counts as failed), then the
 * vectors are masked, the device reset and off the bus (vnet_stop) with
 * VIRTIO_RESET_TIMEOUT_US for device_status to read 0, the vectors
 * revoked, and the pool given back only when the reset was seen (one
 * that did not reset may still work its rings: its pool stays granted,
 * with one line, as the attach unwind keeps it). The register windows go
 * and decoding is turned off. 0 reset, -1 not (fenced: memory kept).
 * An owner a DMA fault revoked (auth_owner_revoke) has its device off the
 * bus and its windows, vectors and pool taken already (the pool parked:
 * no reset was ever seen): nothing of it is touched, decoding goes off,
 * one line, 1 (stopped, not confirmed). A quarantined owner not yet
 * revoked still holds its windows: the reset runs as always. d->drv_state
 * is cleared: the slot is the next attach's, of any function, and d names
 * no instance after it. A second call finds the detached slot that still
 * names d and says the same; one whose slot another attach took since
 * (nothing of d left to stop, its first answer gone) answers -1, not
 * known to have stopped */
static int vnet_detach(struct pci_dev *d)
{
	struct vnet_softc *sc = d->drv_state;
	for (unsigned i = 0; !sc && i < vnet_count; i++)
		if (vnet_softcs[i].detached && vnet_softcs[i].vp.pci == d)
			sc = &vnet_softcs[i];
	if (!sc)
		return -1;
	if (sc->detached)
		return sc->detach_result;
	d->drv_state = NULL;
	nic_unregister(&sc->nic);
	sc->detached = sc->failed = true;
	sc->nic.link_up = false;
	if (auth_owner_revoked(sc->vp.owner)) {
		kprintf("%s: owner %u revoked: device stopped by the authority "
			"layer, its DMA memory (%zu bytes) parked; no reset "
			"seen\n",
			sc->name, sc->vp.owner, sc->pool.len);
		sc->msix = false; /* its vectors were seized */
		pci_enable(d, false, false, false);
		return sc->detach_result = 1;
	}
	for (unsigned i = 0; sc->msix && i < VNET_NVEC; i++)
		irq_mask(&sc->irq[i]);
	uint8_t st = vnet_stop(sc, false, VIRTIO_RESET_TIMEOUT_US);
	vnet_vectors_unbind(sc);
	if (st)
		kprintf("%s: keeping DMA memory (%zu bytes): the device did "
			"not confirm its reset (status 0x%x); bus mastering "
			"off\n",
			sc->name, sc->pool.len, st);
	else
		dma_pool_revoke(&sc->pool);
	virtio_pci_unmap(&sc->vp);
	pci_enable(d, false, false, false);
	return sc->detach_result = st ? -1 : 0;
}

static const struct pci_match vnet_ids[] = {
    {VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_NET_MODERN, 0, 0},
    {VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_NET_TRANSITIONAL, 0, 0},
};

const struct driver virtio_net_driver = {
    .name = "virtio-net",
    .ids = vnet_ids,
    .nids = ARRAY_SIZE(vnet_ids),
    .dma = true,
    .rings_brokered = true,
    .attach = vnet_attach,
    .detach = vnet_detach,
};

/* ---- status ------------------------------------------------------------- */

/* /api/virtio-net: per device the negotiated features, ring occupancy and
 * interrupt counts (the QEMU proof reads these from the host) */
static uint64_t vnet_irqs(struct vnet_softc *sc, unsigned vec)
{
	return sc->msix ? irq_count(&sc->irq[vec]) : 0;
}

static void vnet_status_json(struct json *j)
{
	json_arr(j);
	for (unsigned i = 0; i < vnet_count; i++) {
		struct vnet_softc *sc = &vnet_softcs[i];
		struct nic_stats *s = &sc->nic.stats;
		if (sc->detached) /* gone; its slot waits for the next */
			continue;
		json_obj(j);
		json_kstr(j, "name", sc->name);
		json_kbool(j, "failed", sc->failed);
		json_kstrf(j, "features", "0x%llx",
			   (unsigned long long)sc->vp.features);
		json_kbool(j, "msix", sc->msix);
		json_kobj(j, "rxq");
		json_ku64(j, "size", sc->rx.size);
		json_ku64(j, "posted", sc->rx.size - sc->rx.nfree);
		json_obj_end(j);
		json_kobj(j, "txq");
		json_ku64(j, "size", sc->tx.size);
		json_ku64(j, "posted", sc->tx.size - sc->tx.nfree);
		json_obj_end(j);
		json_kobj(j, "irq");
		json_ku64(j, "config", vnet_irqs(sc, VNET_VEC_CONFIG));
		json_ku64(j, "rx", vnet_irqs(sc, VNET_VEC_RX));
		json_ku64(j, "tx", vnet_irqs(sc, VNET_VEC_TX));
		json_obj_end(j);
		JSON_KFIELD(j, sc, notifies);
		json_kbool(j, "link_up", sc->nic.link_up);
		JSON_KFIELD(j, sc, link_changes);
		JSON_KFIELD(j, s, rx_packets);
		JSON_KFIELD(j, s, tx_packets);
		JSON_KFIELD(j, s, rx_errors);
		JSON_KFIELD(j, s, rx_dropped);
		json_obj_end(j);
	}
	json_arr_end(j);
}
STATUS_REGISTER("virtio-net", vnet_status_json);
