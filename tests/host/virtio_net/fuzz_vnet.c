/* tests/host/virtio_net/fuzz_vnet.c — the whole driver against the model
 * while the device interleaves honest traffic with lies (used entries of
 * its choosing, link flaps, DEVICE_NEEDS_RESET), after a bring-up the
 * device may break (queue sizes, refused vectors, FEATURES_OK taken back,
 * DEVICE_NEEDS_RESET at DRIVER_OK, a reset it never finishes).
 *
 * Input: one byte of bring-up knobs — with fault case 1 a second byte of
 * them: num_queues, a queue_size write the device drops, and a fault as in
 * the first — then 4-byte steps (op, arg lo, arg hi, x). The oracle is the
 * device's own record (vnet_model.c's used log and available rings), not
 * the driver's bookkeeping:
 *  - the driver never breaks the spec towards the device (the model counts
 *    violations) nor touches memory outside its pools (ASan);
 *  - a failed attach leaves no pool (but one a device that did not reset
 *    may still hold), no vector bound, no bus mastering, no memory
 *    decoding;
 *  - a device with fewer than 2 queues (receive and transmit) is refused
 *    before any pool exists or any queue address reaches it; one that
 *    drops the queue_size write while offering more than VNET_QSIZE
 *    entries (its rings would not be the ones laid out) is refused before
 *    any queue is enabled;
 *  - receive: used entries are taken in order, each at most once (every
 *    one taken is reposted: the available index says how many); one naming
 *    an id past the queue or a length past the 2048-byte buffer is never
 *    taken, nor anything while more entries wait than the queue has
 *    buffers; a frame handed up is the last entry taken in that call, of
 *    exactly its length less the header, no longer than the caller's room,
 *    with the bytes the device last wrote into that buffer; entries passed
 *    over were too short or too long for the caller; a call that hands up
 *    nothing took every entry waiting (or a queue's worth);
 *  - transmit: a buffer is posted only while the device does not hold it,
 *    a completion naming a buffer the device does not hold gives the
 *    device up at the next reclaim and one naming a held buffer does not;
 *    until the device lies on the transmit queue, it transmits exactly the
 *    frames sent, in order, byte for byte;
 *  - DEVICE_NEEDS_RESET with a configuration interrupt gives the device up
 *    at the next recv;
 *  - once given up: link down, send and recv -1, the device reset (or, if
 *    it would not reset, off the bus), bus mastering off;
 *  - no step waits on the device (the virtual clock moves only when the
 *    driver delays): a give-up does not spin on a reset that never ends;
 *  - link lines at most one per NIC_LINK_LOG_US (the first after the
 *    attach's own waits out the interval) however the link flaps. */
#include <stdio.h>
#include <stdlib.h>

#include "drivers/virtio-net/virtio_net.h"
#include "kernel/authority/authority.h"
#include "shim.h"
#include "vnet_model.h"

#define F(b) (1ull << (b))
#define HDR  12u
#define BUF  VNET_BUF_SIZE
#define LOG  4096 /* used entries waiting for the driver, per queue */
#define SENT 1024 /* frames sent, by sequence number */

#define check(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "fuzz_vnet: oracle: %s (line %d)\n",   \
				#c, __LINE__);                                 \
			abort();                                               \
		}                                                              \
	} while (0)

static void gen(uint8_t *f, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)((uint8_t)(i * 3 + seq) ^ (uint8_t)(seq >> 8));
}

static struct {
	/* receive entries published, not yet taken */
	struct vm_used_log rx[LOG];
	unsigned rx_head, rx_tail;
	/* what each receive buffer holds: the last honest frame written */
	int32_t content_seq[VIRTQ_MAX];
	uint32_t content_len[VIRTQ_MAX];
	/* transmit completions published, not yet reclaimed */
	uint32_t tx[LOG];
	unsigned tx_head, tx_tail;
	uint8_t held[VIRTQ_MAX]; /* transmit buffers the device holds */
	bool tx_lied;		 /* a transmit completion was made up */
	unsigned link_lines;	 /* "vnet0: link" lines since the attach */
	uint32_t sent_seq[SENT], sent_len[SENT];
	unsigned nsent, nchecked; /* frames sent; transmitted ones compared */
	uint16_t rxq, txq;	  /* queue sizes */
	uint32_t seq;
} o;

/* the model's used log into the oracle's queues */
static void drain(void)
{
	check(vm.ulog_lost == 0);
	for (unsigned i = 0; i < vm.nulog; i++) {
		struct vm_used_log *u = &vm.ulog[i];
		if (u->q == VIRTIO_NET_RXQ) {
			check(o.rx_tail - o.rx_head < LOG);
			o.rx[o.rx_tail++ % LOG] = *u;
		} else {
			check(o.tx_tail - o.tx_head < LOG);
			o.tx[o.tx_tail++ % LOG] = u->id;
		}
	}
	vm.nulog = 0;
}

/* the reclaim at the top of send and recv took every transmit completion
 * waiting: true if one named a buffer the device did not hold (the driver
 * must have given up) */
static bool tx_reclaimed(void)
{
	for (; o.tx_head != o.tx_tail; o.tx_head++) {
		uint32_t id = o.tx[o.tx_head % LOG];
		if (id >= o.txq || !o.held[id])
			return true;
		o.held[id]--;
	}
	return false;
}

/* frames the device transmitted since the last look, against those sent */
static void tx_compare(void)
{
	static uint8_t want[2048];
	if (o.tx_lied) {
		o.nchecked = vm.nframes;
		return;
	}
	check(vm.nframes <= o.nsent);
	if (vm.nframes - o.nchecked > VM_FRAMES)
		o.nchecked = vm.nframes - VM_FRAMES;
	for (; o.nchecked < vm.nframes; o.nchecked++) {
		unsigned j = o.nchecked;
		check(o.nsent - j <= SENT);
		uint32_t len = o.sent_len[j % SENT];
		memset(want, 0, HDR);
		gen(want + HDR, len, o.sent_seq[j % SENT]);
		check(vm.frame_len[j % VM_FRAMES] == HDR + len);
		check(memcmp(vm.frames[j % VM_FRAMES], want, HDR + len) == 0);
	}
}

static bool rx_deliverable(const struct vm_used_log *e, size_t cap)
{
	/* an Ethernet header at least; at most 1514 and a VLAN tag (a device
	 * without GSO or MTU features hands up nothing longer) */
	return e->len >= HDR + 14 && e->len - HDR <= 1518 &&
	       e->len - HDR <= cap;
}

/* one recv call took k entries (it reposted k buffers) and returned r */
static void rx_check(unsigned k, int r, size_t cap, const uint8_t *buf)
{
	unsigned waiting = o.rx_tail - o.rx_head;
	/* more entries than buffers the device holds (all of them: each is
	 * reposted when taken) would have been refused */
	check(waiting <= o.rxq);
	check(k <= waiting);
	for (unsigned j = 0; j < k; j++) {
		struct vm_used_log *e = &o.rx[(o.rx_head + j) % LOG];
		check(e->id < o.rxq && e->len <= BUF);
		if (j + 1 < k || r <= 0)
			check(!rx_deliverable(e, cap));
	}
	if (r > 0) {
		check(k > 0);
		struct vm_used_log *e = &o.rx[(o.rx_head + k - 1) % LOG];
		check(rx_deliverable(e, cap) && (uint32_t)r == e->len - HDR);
		int32_t seq = o.content_seq[e->id];
		if (seq >= 0) {
			static uint8_t want[2048];
			uint32_t n = MIN((uint32_t)r, o.content_len[e->id]);
			gen(want, n, (uint32_t)seq);
			check(memcmp(buf, want, n) == 0);
		}
	} else {
		check(r == 0);
		check(k == waiting || k == o.rxq);
	}
	o.rx_head += k;
}

static void failed_state(struct nic *n)
{
	static uint8_t f[64], b[2048];
	check(!n->link_up);
	check(n->send(n, f, 60) == -1);
	check(n->recv(n, b, sizeof(b)) == -1);
	check(vm.status == 0 || vm.reset_refused || vm.reset_pending);
	check(!vm.bus_master);
}

/* a slow reset that still ends well within VIRTIO_RESET_TIMEOUT_US at one
 * read every VIRTIO_BROKER_POLL_US */
#define FZ_SLOW_RESET_READS 100u
_Static_assert(FZ_SLOW_RESET_READS *VIRTIO_BROKER_POLL_US * 10 <
		   VIRTIO_RESET_TIMEOUT_US,
	       "slow reset not within the bound");

static const uint16_t qsizes[8] = {256, 128, 16, 1, 0, 3, 1024, 2};
static const uint16_t numqs[8] = {0, 1, 2, VM_NQ, 0xffff, 1, 0, 2};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	shim_quiet = 1;
	host_reset();
	vm_reset_model(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) |
		       F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_CSUM) |
		       F(VIRTIO_NET_F_MRG_RXBUF));
	vnet_count = 0;
	nnics = 0;
	memset(&o, 0, sizeof(o));
	memset(o.content_seq, 0xff, sizeof(o.content_seq));

	/* knobs: queue size, config vector, and a fault. A reset that never
	 * finishes fails the attach at its first step (case 4), or is met
	 * only when the device is given up (case 7 with bit 7); a slow one
	 * (case 3) finishes within the driver's bound, or with bit 7 not.
	 * Case 1: a second byte, num_queues (bits 0-2), a dropped
	 * queue_size write (bit 3) and a fault of its own (bits 4-7) */
	uint8_t knobs = data[0];
	size_t i = 1;
	vm.qsize_max = qsizes[knobs & 7];
	vm.refuse_config_vector = knobs & 8;
	if ((knobs >> 4 & 7) == 1 && size >= 2) {
		uint8_t more = data[i++];
		vm.numq = numqs[more & 7];
		vm.ignore_qsize = more & 8;
		knobs = more;
	}
	switch ((knobs >> 4) & 7) {
	case 3:
		vm.needs_reset_at_driver_ok = true;
		vm.reset_reads = knobs & 0x80 ? ~0u : FZ_SLOW_RESET_READS;
		break;
	case 4:
		vm.stuck_reset = true;
		break;
	case 5:
		vm.refuse_queue_vector = true;
		break;
	case 6:
		vm.drop_features_ok = true;
		break;
	case 7:
		vm.needs_reset_at_driver_ok = true;
		vm.stuck_reset = knobs & 0x80;
		break;
	}
	for (unsigned q = 0; q < VM_NQ; q++) /* as the reset would set them */
		vm.q[q].size = vm.qsize_max;

	/* devices the driver must refuse: too few queues for receive and
	 * transmit, or rings other than those laid out (the size write
	 * dropped, the device's larger size read back) */
	bool few_queues = vm.numq < 2;
	bool size_dropped = vm.ignore_qsize && vm.qsize_max > VNET_QSIZE;
	if (virtio_net_driver.attach(&vm_pci, VM_OWNER) != 0) {
		/* a pool is given back only by a device that reset (the
		 * model counts a revoke under queues it holds), and by every
		 * device that resets within the driver's bound; one that
		 * would not, or not in time, keeps it */
		bool in_time = !vm.stuck_reset && vm.reset_reads != ~0u;
		check(host_pools_live() <= (in_time ? 0u : 1u));
		check(host_irqs_bound() == 0);
		check(!vm.bus_master && !vm.mem_decode);
		check(nnics == 0 && vm.violations == 0);
		if (few_queues) { /* nothing granted, no queue address given */
			check(host_pools_live() == 0);
			for (unsigned q = 0; q < VM_NQ; q++)
				check(!vm.q[q].desc && !vm.q[q].avail &&
				      !vm.q[q].used);
		}
		if (few_queues || size_dropped)
			check(vm.enables == 0);
		host_reset();
		return 0;
	}
	check(!few_queues && !size_dropped);
	struct nic *n = nics[0];
	struct vnet_softc *sc = &vnet_softcs[0];
	o.rxq = vm.q[VIRTIO_NET_RXQ].size;
	o.txq = vm.q[VIRTIO_NET_TXQ].size;
	static uint8_t frame[1600], buf[2048];

	uint64_t t_attach = shim_clock_ns;
	while (i + 4 <= size) {
		uint64_t t0 = shim_clock_ns, calls0 = shim_kprintf_calls;
		uint8_t op = data[i], x = data[i + 3];
		uint16_t arg = (uint16_t)(data[i + 1] | data[i + 2] << 8);
		i += 4;
		bool live = !sc->failed;
		drain();
		switch (op % 8) {
		case 0: { /* an honest frame of any length the device may
			     deliver */
			uint32_t len = arg % 1515;
			gen(frame, len, o.seq);
			if (vm_rx_inject(frame, len)) {
				o.content_seq[vm.rx_last_id] = (int32_t)o.seq;
				o.content_len[vm.rx_last_id] = len;
			}
			o.seq++;
			break;
		}
		case 1: { /* a lie on the receive queue */
			if (!live)
				break;
			uint32_t id = x & 1 ? arg % o.rxq : arg % 300;
			uint32_t len = (x >> 1) % 4 == 0   ? (uint32_t)arg * 3
				       : (x >> 1) % 4 == 1 ? BUF - 4 + arg % 8
				       : (x >> 1) % 4 == 2
					   ? arg % 40
					   : HDR + 14 + arg % 1600;
			vm_used_push(VIRTIO_NET_RXQ, id, len);
			break;
		}
		case 2: /* a lie on the transmit queue */
			if (!live)
				break;
			vm_used_push(VIRTIO_NET_TXQ,
				     x & 1 ? arg % o.txq : arg % 300, 0);
			o.tx_lied = true;
			break;
		case 3: { /* a frame, handed over at once or left for later */
			uint32_t len = arg % 1600;
			gen(frame, len, o.seq);
			uint16_t a0 = 0, a1 = 0, id = 0;
			bool ring = vm_avail(VIRTIO_NET_TXQ, 0, &a0, &id);
			int r = n->send(n, frame, len);
			if (!live || len < 14 || len > 1514) {
				check(r == -1);
				break;
			}
			bool lie = tx_reclaimed();
			check(sc->failed == lie);
			unsigned held = 0;
			for (unsigned j = 0; j < o.txq; j++)
				held += o.held[j];
			/* -1 only for a device given up; NIC_TX_FULL only
			 * for want of a buffer, and nothing posted */
			check(r == 0 || r == -1 || r == NIC_TX_FULL);
			if (r == -1)
				check(sc->failed);
			if (r == NIC_TX_FULL) {
				check(!sc->failed && held == o.txq);
				check(vm_avail(VIRTIO_NET_TXQ, a0, &a1, &id));
				check(a1 == a0);
			}
			if (r == 0) {
				check(ring);
				check(vm_avail(VIRTIO_NET_TXQ, a0, &a1, &id));
				check(a1 == (uint16_t)(a0 + 1) && id < o.txq);
				check(!o.held[id]); /* not reused while held */
				o.held[id]++;
				o.sent_seq[o.nsent % SENT] = o.seq;
				o.sent_len[o.nsent % SENT] = len;
				o.nsent++;
			}
			if (x & 1)
				n->flush(n);
			o.seq++;
			break;
		}
		case 4: {
			/* a frame longer than the caller's room is dropped,
			 * never copied past it */
			size_t cap = x & 1 ? sizeof(buf) : arg % 1600;
			uint16_t a0 = 0, a1 = 0, id;
			vm_avail(VIRTIO_NET_RXQ, 0, &a0, &id);
			bool nr = vm.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
			bool need_reset = nr && sc->config_changed;
			int r = n->recv(n, buf, cap);
			if (!live) {
				check(r == -1);
				break;
			}
			bool lie = tx_reclaimed();
			if (lie || need_reset)
				check(sc->failed);
			if (sc->failed) {
				check(r == -1);
				/* given up only for a reason: an entry it may
				 * not take was waiting */
				bool bad =
				    lie || nr || o.rx_tail - o.rx_head > o.rxq;
				for (unsigned j = o.rx_head; j != o.rx_tail;
				     j++) {
					struct vm_used_log *e = &o.rx[j % LOG];
					bad |= e->id >= o.rxq || e->len > BUF;
				}
				check(bad);
				break;
			}
			check(r <= (int)cap && r <= (int)(BUF - HDR));
			check(vm_avail(VIRTIO_NET_RXQ, 0, &a1, &id));
			rx_check((uint16_t)(a1 - a0), r, cap, buf);
			break;
		}
		case 5:
			if (live)
				vm_set_link(arg & 1);
			break;
		case 6: /* DEVICE_NEEDS_RESET, rarely, and maybe no reset or
			 * a slow one */
			if (live && x >= 0xf8) {
				vm_needs_reset();
				vm.stuck_reset = x & 1;
				vm.reset_reads =
				    x & 2 ? FZ_SLOW_RESET_READS : 0;
			} else
				n->flush(n);
			break;
		case 7:
			n->flush(n);
			break;
		}
		check(vm.violations == 0);
		check(shim_clock_ns - t0 < 1000000ull);
		if (shim_kprintf_calls != calls0 &&
		    !strncmp(shim_last_line, "vnet0: link", 11))
			o.link_lines++;
		check(o.link_lines <=
		      (shim_clock_ns - t_attach) / (NIC_LINK_LOG_US * 1000ull));
		tx_compare();
		if (sc->failed)
			failed_state(n);
	}
	/* no capability used after it was revoked */
	check(auth_refusals[AUTH_STALE_GEN] == 0);
	host_reset();
	return 0;
}
