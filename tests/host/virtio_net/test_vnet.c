/* tests/host/virtio_net/test_vnet.c — the whole virtio-net driver (transport,
 * bring-up, struct nic) against the software PCI function in vnet_model.c:
 * the spec's bring-up order, feature subset, capability checks against the
 * BAR, vector read-back, unwinding, and a device that lies at run time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "drivers/virtio-net/virtio_net.h"
#include "kernel/authority/authority.h"
#include "kernel/lib/status.h"
#include "owner_shim.h"
#include "shim.h"
#include "vnet_model.h"

#define F(b) (1ull << (b))
#define WANTED                                                                 \
	(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS))
/* what QEMU offers, roughly: far more than capOS takes */
#define OFFERED                                                                \
	(WANTED | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |          \
	 F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) |                 \
	 F(VIRTIO_F_EVENT_IDX) | F(VIRTIO_F_INDIRECT_DESC) |                   \
	 F(VIRTIO_NET_F_MTU))

static int setup(void **st)
{
	shim_quiet = getenv("VNET_VERBOSE") ? 0 : 1;
	shim_devmgr_failed = 0;
	host_reset();
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
	vm_reset_model(OFFERED);
	vnet_count = 0;
	nnics = 0;
	return 0;
}

static int attach(void)
{
	return virtio_net_driver.attach(&vm_pci, VM_OWNER);
}

static struct nic *nic0(void)
{
	assert_int_equal(nnics, 1);
	return nics[0];
}

static void frame(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 3);
}

static void test_bringup_follows_the_spec(void **st)
{
	assert_int_equal(attach(), 0);
	assert_int_equal(vm.violations, 0);
	/* §3.1.1: reset, ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK */
	static const uint8_t order[] = {0, 1, 3, 0xb, 0xf};
	assert_int_equal(vm.nstatus_writes, sizeof(order));
	assert_memory_equal(vm.status_writes, order, sizeof(order));
	assert_int_equal(vm.accepted,
			 WANTED); /* nothing it does not implement */
	assert_int_equal(vm.msix_config, VNET_VEC_CONFIG);
	assert_int_equal(vm.q[0].msix, VNET_VEC_RX);
	assert_int_equal(vm.q[1].msix, VNET_VEC_TX);
	assert_true(vm.q[0].enable && vm.q[1].enable);
	assert_int_equal(vm.q[0].size, 256);

	struct nic *n = nic0();
	assert_memory_equal(n->mac, vm.mac, 6);
	assert_true(n->link_up);
	assert_int_equal((vnet_softcs[0].rx.size - vnet_softcs[0].rx.nfree),
			 256); /* receive ring full */
	assert_string_equal(vm_pci.state, "up msix");
	assert_true(vm.bus_master);
}

/* a burst costs one notify, and one per VNET_TX_BATCH frames while it
 * grows (under QEMU each notify is an exit and an I/O-thread wake-up) */
static void test_tx_one_notify_per_burst(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t f[1514];
	frame(f, 1514, 3);
	uint64_t before = vm.notifies[1];
	for (unsigned i = 0; i < VNET_TX_BATCH + 4; i++)
		assert_int_equal(n->send(n, f, 1514), 0);
	assert_int_equal(vm.nframes, VNET_TX_BATCH);
	n->flush(n);
	n->flush(n); /* nothing new: no notify */
	assert_int_equal(vm.nframes, VNET_TX_BATCH + 4);
	assert_int_equal(vm.notifies[1] - before, 2);
	/* the driver's count (/api/virtio-net) is the device's */
	assert_int_equal(vnet_softcs[0].notifies,
			 vm.notifies[0] + vm.notifies[1]);
}

/* the receive interrupt is on only while the ring is empty (NAPI): frames
 * waiting turn it off, the empty ring turns it back on */
static void test_rx_irq_only_when_empty(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	struct vnet_softc *sc = &vnet_softcs[0];
	uint8_t f[100], buf[2048];
	frame(f, 100, 5);
	uint64_t i0 = irq_count(&sc->irq[VNET_VEC_RX]);
	assert_true(vm_rx_inject(f, 100));
	assert_true(vm_rx_inject(f, 100));
	assert_int_equal(irq_count(&sc->irq[VNET_VEC_RX]) - i0, 2);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 100);
	assert_true(vm_rx_inject(f, 100)); /* the driver is polling */
	assert_int_equal(irq_count(&sc->irq[VNET_VEC_RX]) - i0, 2);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 100);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 100);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_true(vm_rx_inject(f, 100)); /* idle: it interrupts again */
	assert_int_equal(irq_count(&sc->irq[VNET_VEC_RX]) - i0, 3);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 100);
}

static void test_send_and_receive(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t f[1514], buf[2048];

	frame(f, 60, 1);
	assert_int_equal(n->send(n, f, 60), 0);
	assert_int_equal(vm.nframes, 0); /* queued: the device hears at flush */
	n->flush(n);
	assert_int_equal(vm.nframes, 1);
	assert_int_equal(vm.frame_len[0], 12 + 60);
	static const uint8_t zero[12];
	assert_memory_equal(vm.frames[0], zero, 12); /* §5.1.6.2 header */
	assert_memory_equal(vm.frames[0] + 12, f, 60);
	assert_int_equal(n->stats.tx_packets, 1);
	assert_int_equal(n->stats.tx_bytes, 60);

	/* a full-size frame both ways; sizes outside 14..1514 refused */
	frame(f, 1514, 9);
	assert_int_equal(n->send(n, f, 1514), 0);
	n->flush(n);
	assert_int_equal(n->send(n, f, 1515), -1);
	assert_int_equal(n->send(n, f, 13), -1);
	assert_int_equal(n->stats.tx_errors, 2);
	assert_int_equal(n->stats.tx_packets, 2);
	assert_int_equal(n->stats.tx_bytes, 60 + 1514);
	assert_true(vm_rx_inject(f, 1514));
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 1514);
	assert_memory_equal(buf, f, 1514);
	assert_int_equal(n->stats.rx_packets, 1);
	assert_int_equal(n->stats.rx_bytes, 1514);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_int_equal((vnet_softcs[0].rx.size - vnet_softcs[0].rx.nfree),
			 256); /* reposted */
	assert_true(host_irq_count(VNET_VEC_RX) >= 1);

	/* many more than a ring's worth: transmit buffers are reclaimed */
	for (int i = 0; i < 3000; i++) {
		assert_int_equal(n->send(n, f, 100), 0);
		if (i % 7 == 0) {
			assert_true(vm_rx_inject(f, 200));
			assert_int_equal(n->recv(n, buf, sizeof(buf)), 200);
		}
	}
	assert_int_equal(n->stats.tx_dropped, 0);
	assert_int_equal(host_irq_count(VNET_VEC_TX), 0); /* suppressed */
	assert_int_equal(vm.violations, 0);
}

static void test_bad_receive_lengths(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t f[1600], buf[2048];
	frame(f, sizeof(f), 3);
	assert_true(vm_rx_inject(f, 5)); /* shorter than an Ethernet header */
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_int_equal(n->stats.rx_errors, 1);
	/* longer than 1514 and a VLAN tag, which a device without GSO or
	 * MTU features never hands up (Linux: rx_length_errors) */
	assert_true(vm_rx_inject(f, 1519));
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_int_equal(n->stats.rx_errors, 2);
	assert_true(vm_rx_inject(f, 1518));
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 1518);
	/* the shortest: an Ethernet header alone is a frame, one byte less
	 * is not */
	assert_true(vm_rx_inject(f, 14));
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 14);
	assert_true(vm_rx_inject(f, 13));
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_int_equal(n->stats.rx_errors, 3);
	assert_true(vm_rx_inject(f, 200)); /* larger than the caller's buffer */
	assert_int_equal(n->recv(n, buf, 100), 0);
	assert_int_equal(n->stats.rx_dropped, 1);
	assert_true(vm_rx_inject(f, 200));
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 200);
	assert_int_equal((vnet_softcs[0].rx.size - vnet_softcs[0].rx.nfree),
			 256);
}

static void test_refuses_device_without_version_1(void **st)
{
	vm_reset_model(OFFERED & ~F(VIRTIO_F_VERSION_1));
	assert_int_equal(attach(), -1);
	assert_false(vm.bus_master || vm.mem_decode);
	assert_true(vm.status & VIRTIO_STATUS_FAILED);
	assert_false(vm.status & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(nnics, 0);
	assert_int_equal(vm.violations, 0);
}

/* under an IOMMU the device must route its DMA through it: a device that
 * offers VIRTIO_F_ACCESS_PLATFORM gets it accepted and its pool mapped; one
 * that does not is refused before bus mastering, its pool given back and
 * unmapped */
static void test_access_platform_under_iommu(void **st)
{
	shim_iommu_owner = VM_OWNER;
	vm_reset_model(OFFERED | F(VIRTIO_F_ACCESS_PLATFORM));
	assert_int_equal(attach(), 0);
	assert_int_equal(vm.accepted, WANTED | F(VIRTIO_F_ACCESS_PLATFORM));
	assert_int_not_equal(shim_iommu_mapped(), 0);
	assert_int_equal(vm.violations, 0);
	host_reset(); /* every pool revoked: every page unmapped */
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(shim_iommu_violations, 0);
}

static void test_refuses_iommu_bypass(void **st)
{
	shim_iommu_owner = VM_OWNER;
	vm_reset_model(OFFERED);
	assert_int_equal(attach(), -1);
	assert_false(vm.bus_master);
	assert_false(vm.status & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(nnics, 0);
	assert_int_equal(vm.violations, 0);
}

static void test_no_access_platform_without_iommu(void **st)
{
	vm_reset_model(OFFERED | F(VIRTIO_F_ACCESS_PLATFORM));
	assert_int_equal(attach(), 0);
	assert_int_equal(vm.accepted, WANTED);
	assert_int_equal(shim_iommu_mapped(), 0);
}

static void test_features_ok_not_accepted(void **st)
{
	vm.refuse_features_ok = true;
	assert_int_equal(attach(), -1);
	assert_true(vm.status & VIRTIO_STATUS_FAILED);
	assert_false(vm.status & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(vm.violations, 0);
}

static void test_capability_outside_bar(void **st)
{
	/* past the end of BAR 4 */
	vm_cap_set(VIRTIO_PCI_CAP_COMMON_CFG, VM_BAR, 0x3f00, 0x1000);
	assert_int_equal(attach(), -1);
	assert_int_equal(vm.nstatus_writes, 0); /* device never touched */
	/* offset + length wraps 32 bits */
	setup(st);
	vm_cap_set(VIRTIO_PCI_CAP_NOTIFY_CFG, VM_BAR, 0xfffff000u, 0x2000);
	assert_int_equal(attach(), -1);
	/* a BAR index that does not exist, and an I/O BAR */
	setup(st);
	vm_cap_set(VIRTIO_PCI_CAP_COMMON_CFG, 7, 0, 0x1000);
	assert_int_equal(attach(), -1);
	setup(st);
	vm_cap_set(VIRTIO_PCI_CAP_ISR_CFG, 0, 0, 1);
	assert_int_equal(attach(), -1);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(vm.violations, 0);
}

static void test_notify_offset_outside_window(void **st)
{
	vm.notify_off_of_q1 = 0x2000; /* * 4 = 32 KiB past a 4 KiB structure */
	vm.q[1].notify_off = 0x2000;
	assert_int_equal(attach(), -1);
	/* queue addresses were handed over: reset before the pool went */
	assert_int_equal(vm.status, 0);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(vm.violations, 0);
}

/* a multiplier of 1 is a power of two, but queue 1's notify_off of 1 then
 * puts its notify address at an odd offset, where the 16-bit notify write
 * is refused: the queue could never be notified, so the attach fails */
static void test_notify_offset_unaligned(void **st)
{
	vm_notify_mult_set(1);
	assert_int_equal(attach(), -1);
	/* queue addresses were handed over: reset before the pool went */
	assert_int_equal(vm.status, 0);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(vm.violations, 0);
}

/* a device whose capabilities cannot be used (a notify multiplier that is
 * not a power of two) is left off the bus: no memory decoding either */
static void test_unusable_caps_leave_it_off(void **st)
{
	vm_notify_mult_set(3);
	assert_int_equal(attach(), -1);
	assert_false(vm.bus_master || vm.mem_decode);
	assert_int_equal(host_pools_live(), 0);
}

static void test_queue_vector_refused(void **st)
{
	vm.refuse_queue_vector = true;
	assert_int_equal(attach(), -1);
	assert_false(vm.bus_master);
	assert_int_equal(vm.status_writes[vm.nstatus_writes - 1],
			 0); /* reset last */
	assert_true(vm.status_writes[vm.nstatus_writes - 2] &
		    VIRTIO_STATUS_FAILED);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(vm.violations, 0);
}

static void test_config_vector_refused_runs_polled(void **st)
{
	vm.refuse_config_vector = true;
	assert_int_equal(attach(), 0);
	assert_string_equal(vm_pci.state, "up polled");
	assert_int_equal(vm.q[0].msix, VIRTIO_MSI_NO_VECTOR);
	struct nic *n = nic0();
	uint8_t f[64], buf[2048];
	frame(f, 64, 5);
	assert_true(vm_rx_inject(f, 64));
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 64);
	assert_int_equal(vm.violations, 0);
}

static void test_link_follows_config_interrupt(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	vm_set_link(false);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_false(n->link_up);
	assert_int_equal(host_irq_count(VNET_VEC_CONFIG), 1);
	vm_set_link(true);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_true(n->link_up);
	assert_int_equal(vnet_softcs[0].link_changes,
			 3); /* boot up, down, up */
}

/* a link change the device does not announce (no configuration interrupt)
 * is read at the next recv after VNET_LINK_POLL_US, not at every recv (each
 * config read is an exit under QEMU); one it announces is read at once, and
 * the interrupt is used up by that read. Kills the mutants that dropped the
 * poll interval, config_changed's clearing or link_checked_us' update */
static void test_link_poll_interval(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	const uint64_t poll_ns = VNET_LINK_POLL_US * 1000ull;
	assert_true(n->link_up);
	/* unannounced: not seen before the interval, seen after it */
	vm.net_status = 0;
	vm.generation++;
	shim_clock_ns += poll_ns / 2;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_true(n->link_up);
	shim_clock_ns += poll_ns / 2 + 1000;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_false(n->link_up);
	/* that read restarted the interval */
	vm.net_status = VIRTIO_NET_S_LINK_UP;
	vm.generation++;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_false(n->link_up);
	/* announced: seen at once; the interrupt is then used up */
	vm_set_link(true);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_true(n->link_up);
	vm.net_status = 0;
	vm.generation++;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_true(n->link_up);
	shim_clock_ns += poll_ns;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_false(n->link_up);
	assert_int_equal(vnet_softcs[0].link_changes, 4);
	assert_int_equal(vm.violations, 0);
}

/* a device flapping its link as fast as the driver polls: every change is
 * counted, but at most one line per NIC_LINK_LOG_US goes to the log; the
 * first poll after the interval says where the link ended up and how many
 * changes went unlogged. Before, each flip was a line */
static void test_link_flaps_rate_limited(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	struct vnet_softc *sc = &vnet_softcs[0];
	uint8_t buf[2048];
	uint64_t lines = shim_kprintf_calls;
	for (unsigned i = 0; i < 1000; i++) {
		vm_set_link(i & 1);
		assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
		assert_int_equal(n->link_up, i & 1);
		shim_clock_ns += 500000ull; /* 0.5 s in all */
	}
	assert_int_equal(sc->link_changes, 1 + 1000); /* boot's up, flaps */
	assert_int_equal(shim_kprintf_calls, lines);  /* boot's line < 1 s */
	/* the next poll after the interval: one line, the state and count */
	shim_clock_ns += NIC_LINK_LOG_US * 1000ull;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_int_equal(shim_kprintf_calls, lines + 1);
	assert_string_equal(shim_last_line,
			    "vnet0: link up (config interrupts 1000), 1000 "
			    "changes not logged\n");
	/* quiet link: nothing more; the next change is logged at once */
	shim_clock_ns += 10 * NIC_LINK_LOG_US * 1000ull;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_int_equal(shim_kprintf_calls, lines + 1);
	vm_set_link(false);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_int_equal(shim_kprintf_calls, lines + 2);
	assert_string_equal(shim_last_line,
			    "vnet0: link down (config interrupts 1001)\n");
	assert_int_equal(vm.violations, 0);
}

static void hostile_common(void)
{
	struct nic *n = nic0();
	uint8_t buf[2048], f[64] = {0};
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	/* FAILED told, then reset so the device lets go of our memory */
	assert_true(vm.status_writes[vm.nstatus_writes - 2] &
		    VIRTIO_STATUS_FAILED);
	assert_int_equal(vm.status, 0);
	assert_false(n->link_up);
	uint64_t tx_errors = n->stats.tx_errors;
	assert_int_equal(n->send(n, f, 64), -1);
	assert_int_equal(n->stats.tx_errors, tx_errors + 1);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_string_equal(vm_pci.state, "failed");
	assert_false(vm.bus_master);
	assert_int_equal(vm.violations, 0);
	/* its vectors masked: nothing more of it is taken */
	for (unsigned i = 0; i < VNET_NVEC; i++)
		assert_true(host_irq_masked(i));
}

static void test_hostile_used_id(void **st)
{
	assert_int_equal(attach(), 0);
	vm_used_push(VIRTIO_NET_RXQ, 999, 64);
	hostile_common();
}

static unsigned out_of_range_lines;
static void count_out_of_range(const char *line)
{
	if (strstr(line, "virtio-broker 0000:00:00.0 q0: unable to accept "
			 "used ring entry: id out of range"))
		out_of_range_lines++;
}

/* the first id past the ring (rx.size, VIRTQ_MAX here) is out of range,
 * not looked up in out[] past its end */
static void test_hostile_used_id_at_size(void **st)
{
	assert_int_equal(attach(), 0);
	assert_int_equal(vnet_softcs[0].rx.size, VIRTQ_MAX);
	out_of_range_lines = 0;
	shim_line_hook = count_out_of_range;
	vm_used_push(VIRTIO_NET_RXQ, VIRTQ_MAX, 64);
	hostile_common();
	shim_line_hook = NULL;
	assert_int_equal(out_of_range_lines, 1);
}

/* a whole ring of bad frames: one recv takes each once (rx_errors counts
 * all of them), gives each buffer back and says 0, not a length */
static void test_recv_ring_of_bad_frames(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	struct vnet_softc *sc = &vnet_softcs[0];
	uint8_t f[64] = {0}, buf[2048];
	for (unsigned i = 0; i < sc->rx.size; i++)
		assert_true(vm_rx_inject(f, 5));
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	assert_int_equal(n->stats.rx_errors, sc->rx.size);
	assert_int_equal((sc->rx.size - sc->rx.nfree), sc->rx.size);
	assert_true(vm_rx_inject(f, 64));
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 64);
	assert_int_equal(n->stats.rx_errors, sc->rx.size);
	assert_int_equal(vm.violations, 0);
}

static void test_hostile_used_length(void **st)
{
	assert_int_equal(attach(), 0);
	/* a real, posted id — but more bytes than its buffer holds */
	vm_used_push(VIRTIO_NET_RXQ, 0, VNET_BUF_SIZE + 1);
	hostile_common();
}

static void test_hostile_tx_completion(void **st)
{
	assert_int_equal(attach(), 0);
	/* completes a transmit buffer that was never posted; the send that
	 * finds it gives the device up and drops its frame */
	vm_used_push(VIRTIO_NET_TXQ, 5, 0);
	struct nic *n = nic0();
	uint8_t f[64] = {0};
	assert_int_equal(n->send(n, f, 64), -1);
	assert_int_equal(n->stats.tx_dropped, 1);
	assert_int_equal(n->stats.tx_packets, 0);
	hostile_common();
}

/* a transmit completion for a buffer never posted, found by the reclaim at
 * the top of recv while a configuration change is pending: the device is
 * given up there, and the link it reported before must not be read back
 * up from a device that is reset and failed */
static void test_failed_link_stays_down(void **st)
{
	assert_int_equal(attach(), 0);
	vm_used_push(VIRTIO_NET_TXQ, 5, 0);
	vm_set_link(true); /* a configuration interrupt, still link up */
	hostile_common();
	assert_int_equal(vnet_softcs[0].link_changes, 1); /* boot's up only */
}

/* §2.1: a device in an error state sets DEVICE_NEEDS_RESET and raises a
 * configuration change; the driver may not count on what it has in flight
 * ever completing. It is given up as for a broken ring, at the next poll
 * after the interrupt, or after VNET_LINK_POLL_US when it runs polled */
static void test_needs_reset_at_run_time(void **st)
{
	assert_int_equal(attach(), 0);
	vm_needs_reset();
	hostile_common();

	setup(st);
	vm.refuse_config_vector = true;
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	vm_needs_reset();
	shim_clock_ns += (VNET_LINK_POLL_US + 1) * 1000ull;
	hostile_common();
	/* the device manager is told, once, why (its restart is the
	 * reset-and-recover); before, nobody was */
	assert_int_equal(shim_devmgr_failed, 1);
	assert_string_equal(shim_devmgr_failed_why, "DEVICE_NEEDS_RESET");
	assert_int_equal(shim_devmgr_failed_owner, VM_OWNER);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_int_equal(shim_devmgr_failed, 1);
}

/* a device that resets itself at run time (device_status reads 0, or
 * DRIVER_OK gone) has forgotten the queues and will complete nothing: the
 * next status read gives it up, as DEVICE_NEEDS_RESET does. Before, the
 * link stayed up and sends filled the ring and were dropped for good */
static void test_status_bits_cleared_at_run_time(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	assert_int_equal(n->recv(n, buf, sizeof(buf)), 0);
	vm.status &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	shim_clock_ns += (VNET_LINK_POLL_US + 1) * 1000ull;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_true(vnet_softcs[0].failed);
	assert_false(n->link_up);
	assert_false(vm.bus_master);
	assert_string_equal(vm_pci.state, "failed");
	assert_int_equal(vm.violations, 0);
}

/* a device given up at run time that never finishes its reset: the give-up
 * runs in the main loop (recv), so it asks for the reset and takes the
 * device off the bus without waiting for device_status to read 0 (the
 * wait of §4.1.4.3.2 comes before a reinitialization, which a failed
 * device never gets); before, recv spun VIRTIO_RESET_TIMEOUT_US (1 s) */
static void test_give_up_does_not_wait_for_reset(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	vm.stuck_reset = true;
	vm_used_push(VIRTIO_NET_RXQ, 999, 64);
	uint64_t t0 = shim_clock_ns;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_true(shim_clock_ns - t0 < 1000000ull); /* under 1 ms */
	assert_true(vm.reset_refused);
	assert_true(vm.status & VIRTIO_STATUS_FAILED);
	assert_false(vm.bus_master);
	assert_false(n->link_up);
	assert_string_equal(vm_pci.state, "failed");
	assert_int_equal(vm.violations, 0);
}

/* a device that needs a reset at DRIVER_OK and then will not reset
 * (device_status never reads 0): the attach unwinds, the device off the
 * bus, and the DMAPool holding its queues stays granted — never revoked,
 * its pages never back in the allocator — with one line (the model counts
 * a revoke while the device still holds queues in the pool). Before, the
 * pool was revoked once bus mastering was off, which only a device that
 * honours Bus Master Enable makes safe. A device that does reset gives
 * its pool back (test_features_ok_taken_back). */
/* §4.1.4.3.2 at bring-up: a device the firmware left running (OVMF's own
 * virtio-net driver sets DRIVER_OK) that never reads 0 after the reset is
 * not initialized: nothing but the reset is written, no pool, no NIC */
static void test_bringup_reset_not_done(void **st)
{
	vm.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	vm.stuck_reset = true;
	assert_int_equal(attach(), -1);
	assert_true(vm.reset_refused);
	assert_int_equal(vm.nstatus_writes, 1); /* the 0 alone */
	assert_false(vm.bus_master || vm.mem_decode);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(nnics, 0);
}

/* queue sizes the device allows: 3 is no queue (§4.1.4.3.1: a power of
 * two), and above VNET_QSIZE the driver writes its own size and the device
 * must hold it */
static void test_queue_sizes_offered(void **st)
{
	vm.qsize_max = 3;
	for (unsigned q = 0; q < VM_NQ; q++)
		vm.q[q].size = vm.qsize_max;
	uint64_t lines = shim_kprintf_calls;
	assert_int_equal(attach(), -1);
	/* one line (before: the transport's and the driver's) */
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_string_equal(shim_last_line, "vnet0: unable to use queue 0: "
					    "size 3 is not a power of two\n");
	assert_true(vm.status & VIRTIO_STATUS_FAILED);
	assert_int_equal(nnics, 0);
	assert_int_equal(host_pools_live(), 0);
	setup(st);
	vm.qsize_max = 1024;
	for (unsigned q = 0; q < VM_NQ; q++)
		vm.q[q].size = vm.qsize_max;
	assert_int_equal(attach(), 0);
	assert_int_equal(vnet_softcs[0].rx.size, VNET_QSIZE);
	assert_int_equal(vm.q[VIRTIO_NET_RXQ].size, VNET_QSIZE);
	assert_int_equal(vm.q[VIRTIO_NET_TXQ].size, VNET_QSIZE);
	assert_int_equal(vm.violations, 0);
}

/* a device configuration window too short for the MAC: the read is
 * refused before it leaves the window, and the device is not run */
static void test_device_config_window_short(void **st)
{
	vm_cap_set(VIRTIO_PCI_CAP_DEVICE_CFG, VM_BAR, VM_DEVICE, 4);
	assert_int_equal(attach(), -1);
	assert_int_equal(nnics, 0);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(vm.violations, 0);
}

static void test_unwind_reset_refused_keeps_pool(void **st)
{
	vm.needs_reset_at_driver_ok = true;
	vm.stuck_reset = true;
	assert_int_equal(attach(), -1);
	assert_true(vm.reset_refused);
	assert_int_not_equal(vm.status, 0);
	assert_false(vm.bus_master || vm.mem_decode);
	assert_int_equal(host_pools_live(), 1);
	/* the rings kept (the device may still use them), in no pool */
	assert_non_null(host_ring(vm.q[VIRTIO_NET_RXQ].desc, 16));
	assert_null(host_dma(vm.q[VIRTIO_NET_RXQ].desc, 16));
	assert_non_null(strstr(shim_last_line, "keeping DMA memory"));
	assert_int_equal(nnics, 0);
	assert_int_equal(vm.violations, 0);
}

/* a device that needs a reset at DRIVER_OK and resets slowly, as a
 * hardware VF quiescing its DMA may (device_status reads 0 only at the
 * 50th read): the unwind waits for the 0 (§4.1.4.3.2) and then gives the
 * pool back. Before, device_status was read once, the device counted as
 * not reset and its pool was kept for good */
static void test_unwind_slow_reset_gives_pool_back(void **st)
{
	vm.needs_reset_at_driver_ok = true;
	vm.reset_reads = 50;
	assert_int_equal(attach(), -1);
	assert_int_equal(vm.reset_pending, 0);
	assert_int_equal(vm.status, 0);
	assert_false(vm.bus_master || vm.mem_decode);
	assert_int_equal(host_pools_live(), 0);
	assert_null(strstr(shim_last_line, "keeping DMA memory"));
	assert_int_equal(nnics, 0);
	assert_int_equal(vm.violations, 0);
}

/* the same device when its reset outlasts VIRTIO_RESET_TIMEOUT_US: the
 * unwind waits that long and no longer, then keeps the pool with one line.
 * Before, it did not wait at all */
static void test_unwind_reset_past_bound_keeps_pool(void **st)
{
	vm.needs_reset_at_driver_ok = true;
	vm.reset_reads = ~0u;
	uint64_t t0 = shim_clock_ns, lines = shim_kprintf_calls;
	assert_int_equal(attach(), -1);
	uint64_t waited_us = (shim_clock_ns - t0) / 1000;
	assert_true(waited_us >= VIRTIO_RESET_TIMEOUT_US);
	assert_true(waited_us < VIRTIO_RESET_TIMEOUT_US + 1000);
	assert_int_not_equal(vm.reset_pending, 0);
	assert_false(vm.bus_master || vm.mem_decode);
	assert_int_equal(host_pools_live(), 1);
	assert_non_null(strstr(shim_last_line, "keeping DMA memory"));
	/* "unable to start device", then the one line keeping the pool */
	assert_int_equal(shim_kprintf_calls - lines, 2);
	assert_int_equal(nnics, 0);
	assert_int_equal(vm.violations, 0);
}

/* FEATURES_OK accepted, then taken back while the queues are set up: the
 * features are no longer agreed, and DRIVER_OK may not be set without
 * FEATURES_OK (§3.1.1); the attach fails and unwinds */
static void test_features_ok_taken_back(void **st)
{
	vm.drop_features_ok = true;
	assert_int_equal(attach(), -1);
	assert_int_equal(vm.status, 0); /* reset: it held queue addresses */
	assert_true(vm.status_writes[vm.nstatus_writes - 2] &
		    VIRTIO_STATUS_FAILED);
	assert_false(vm.bus_master || vm.mem_decode);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(nnics, 0);
	assert_int_equal(vm.violations, 0);
}

/* whatever the test did, the driver never used a capability after it was
 * revoked (a pool revoked twice, a window after mmio_revoke) */
/* the shim's interrupt calls refuse a capability for an entry not bound
 * (never, or no longer: revoked, or bound again since) and count it as the
 * kernel's auth_slot_check does, so every test's teardown sees a driver
 * that masks, unmasks, counts or revokes a vector it does not hold
 * (before, the shim ignored such a call and no test could fail on it) */
static void test_irq_unbound_entry_refused(void **st)
{
	struct irq_cap never = {0}, c;
	irq_mask(&never);
	irq_unmask(&never);
	assert_int_equal(irq_count(&never), 0);
	assert_int_equal(auth_refusals[AUTH_STALE_GEN], 3);
	assert_int_equal(irq_bind(&vm_pci, VM_OWNER, 1, NULL, NULL, &c), 0);
	irq_mask(&c); /* held: fine */
	assert_int_equal(auth_refusals[AUTH_STALE_GEN], 3);
	struct irq_cap old = c;
	irq_revoke(&c);
	irq_mask(&old);
	irq_revoke(&old);
	assert_int_equal(auth_refusals[AUTH_STALE_GEN], 5);
	c.slot = VM_MSIX_SIZE; /* past the table */
	irq_mask(&c);
	assert_int_equal(auth_refusals[AUTH_BAD_SLOT], 1);
	memset(auth_refusals, 0, sizeof(auth_refusals)); /* for teardown */
}

/* a device with fewer queues than the driver needs (receive and
 * transmit: no control queue is negotiated, so 2): one line, FAILED, no
 * queue address given, nothing granted or bound, off the bus. Two is
 * enough */
static void test_too_few_queues(void **st)
{
	for (uint16_t nq = 0; nq < 2; nq++) {
		setup(st);
		vm.numq = nq;
		uint64_t lines = shim_kprintf_calls;
		assert_int_equal(attach(), -1);
		assert_int_equal(shim_kprintf_calls - lines, 1);
		char want[96];
		snprintf(want, sizeof(want),
			 "vnet0: unable to use device: %u queue(s), rx and tx "
			 "need 2\n",
			 nq);
		assert_string_equal(shim_last_line, want);
		assert_true(vm.status & VIRTIO_STATUS_FAILED);
		assert_false(vm.status & VIRTIO_STATUS_DRIVER_OK);
		for (unsigned q = 0; q < VM_NQ; q++)
			assert_true(!vm.q[q].enable && !vm.q[q].desc);
		assert_int_equal(host_pools_live(), 0);
		assert_int_equal(host_irqs_bound(), 0);
		assert_false(vm.bus_master || vm.mem_decode);
		assert_int_equal(nnics, 0);
		assert_int_equal(vm.violations, 0);
	}
	setup(st);
	vm.numq = 2;
	assert_int_equal(attach(), 0);
	assert_true(vm.q[VIRTIO_NET_RXQ].enable && vm.q[VIRTIO_NET_TXQ].enable);
	assert_int_equal(vm.violations, 0);
}

/* a device that drops the queue-size write (it reads back the size it
 * offered, larger than VNET_QSIZE): the ring laid out for VNET_QSIZE
 * entries is never enabled; one line, the device FAILED then reset,
 * its pool revoked after the reset, no vector bound, off the bus */
static void test_queue_size_ignored(void **st)
{
	vm.qsize_max = 1024;
	for (unsigned q = 0; q < VM_NQ; q++)
		vm.q[q].size = vm.qsize_max;
	vm.ignore_qsize = true;
	uint64_t lines = shim_kprintf_calls;
	assert_int_equal(attach(), -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_string_equal(shim_last_line,
			    "virtio-broker 0000:00:00.0: unable to size queue "
			    "0 to 256: it reads back 1024\n");
	assert_false(vm.q[0].enable || vm.q[1].enable);
	assert_int_equal(vm.status_writes[vm.nstatus_writes - 1], 0);
	assert_true(vm.status_writes[vm.nstatus_writes - 2] &
		    VIRTIO_STATUS_FAILED);
	assert_int_equal(vm.status, 0);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(host_irqs_bound(), 0);
	assert_false(vm.bus_master || vm.mem_decode);
	assert_int_equal(nnics, 0);
	assert_int_equal(vm.violations, 0);
}

/* no capability used that the driver does not hold: a stale or unbound
 * one (DMA, window or interrupt) fails the test */
static int teardown(void **st)
{
	return auth_refusals[AUTH_STALE_GEN] || auth_refusals[AUTH_BAD_SLOT]
		   ? -1
		   : 0;
}

/* every way bring-up can fail leaves the device quiescent: off the bus
 * (no bus mastering, no memory decoding), no vector bound, and either
 * reset after it held queue addresses (device_status 0, the pool given
 * back), or never given a queue address and told FAILED (§3.1.1: no reset
 * after it, so the host still sees the driver gave up; with no ring and
 * bus mastering off it has nothing to reach), or never touched (its
 * capabilities unusable), or one whose reset it refused (the pool kept:
 * the device may still hold it). At most three lines each */
static void q_caps_unusable(void)
{
	vm_notify_mult_set(3);
}
static void q_cap_outside_bar(void)
{
	vm_cap_set(VIRTIO_PCI_CAP_COMMON_CFG, VM_BAR, 0x3f00, 0x1000);
}
static void q_bringup_reset_stuck(void)
{
	vm.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	vm.stuck_reset = true;
}
static void q_no_version_1(void)
{
	vm_reset_model(OFFERED & ~F(VIRTIO_F_VERSION_1));
}
static void q_features_ok_refused(void)
{
	vm.refuse_features_ok = true;
}
static void q_iommu_bypass(void)
{
	shim_iommu_owner = VM_OWNER;
}
static void q_pool_map_fails(void)
{
	shim_iommu_owner = VM_OWNER;
	vm_reset_model(OFFERED | F(VIRTIO_F_ACCESS_PLATFORM));
	shim_iommu_fail_map = true;
}
static void q_one_queue(void)
{
	vm.numq = 1;
}
static void q_qsize_3(void)
{
	vm.qsize_max = 3;
	for (unsigned q = 0; q < VM_NQ; q++)
		vm.q[q].size = vm.qsize_max;
}
static void q_queue_vector_refused(void)
{
	vm.refuse_queue_vector = true;
}
static void q_notify_outside(void)
{
	vm.notify_off_of_q1 = 0x2000;
	vm.q[1].notify_off = 0x2000;
}
static void q_config_window_short(void)
{
	vm_cap_set(VIRTIO_PCI_CAP_DEVICE_CFG, VM_BAR, VM_DEVICE, 4);
}
static void q_needs_reset(void)
{
	vm.needs_reset_at_driver_ok = true;
}
static void q_needs_reset_stuck(void)
{
	vm.needs_reset_at_driver_ok = true;
	vm.stuck_reset = true;
}
static void q_needs_reset_slow(void)
{
	vm.needs_reset_at_driver_ok = true;
	vm.reset_reads = ~0u;
}
static void q_features_ok_dropped(void)
{
	vm.drop_features_ok = true;
}

static void test_every_bringup_failure_quiescent(void **st)
{
	static const struct {
		const char *name;
		void (*set)(void);
	} cases[] = {
	    {"caps unusable", q_caps_unusable},
	    {"cap outside BAR", q_cap_outside_bar},
	    {"bring-up reset stuck", q_bringup_reset_stuck},
	    {"no VERSION_1", q_no_version_1},
	    {"FEATURES_OK refused", q_features_ok_refused},
	    {"IOMMU bypass", q_iommu_bypass},
	    {"pool not mapped", q_pool_map_fails},
	    {"one queue", q_one_queue},
	    {"queue size 3", q_qsize_3},
	    {"queue vector refused", q_queue_vector_refused},
	    {"notify outside", q_notify_outside},
	    {"config window short", q_config_window_short},
	    {"NEEDS_RESET at DRIVER_OK", q_needs_reset},
	    {"NEEDS_RESET, reset stuck", q_needs_reset_stuck},
	    {"NEEDS_RESET, reset slow", q_needs_reset_slow},
	    {"FEATURES_OK dropped", q_features_ok_dropped},
	};
	for (unsigned c = 0; c < ARRAY_SIZE(cases); c++) {
		setup(st);
		shim_iommu_fail_map = false;
		cases[c].set();
		uint64_t lines = shim_kprintf_calls;
		int r = attach();
		shim_iommu_fail_map = false;
		bool held = false; /* a queue address the device still has */
		for (unsigned q = 0; q < VM_NQ; q++)
			held |= vm.q[q].enable || vm.q[q].desc ||
				vm.q[q].avail || vm.q[q].used;
		bool kept = vm.reset_refused || vm.reset_pending;
		bool ok = r == -1 && !vm.bus_master && !vm.mem_decode &&
			  host_irqs_bound() == 0 && nnics == 0 &&
			  vm.violations == 0 &&
			  shim_kprintf_calls - lines <= 3 &&
			  host_pools_live() == (kept && vm.enables ? 1u : 0u) &&
			  (kept || vm.nstatus_writes == 0 || vm.status == 0 ||
			   ((vm.status & VIRTIO_STATUS_FAILED) && !held &&
			    vm.enables == 0));
		if (!ok)
			fail_msg("%s: attach %d, bus master %d, decode %d, "
				 "vectors %u, status 0x%x, queue held %d, "
				 "enables %u, pools %u, lines %lu, "
				 "violations %u",
				 cases[c].name, r, vm.bus_master, vm.mem_decode,
				 host_irqs_bound(), vm.status, held, vm.enables,
				 host_pools_live(),
				 (unsigned long)(shim_kprintf_calls - lines),
				 vm.violations);
	}
}

/* ---- detach (devmgr_shutdown) ------------------------------------------ */

static int detach(void)
{
	assert_non_null(virtio_net_driver.detach); /* before: none */
	return virtio_net_driver.detach(&vm_pci);
}

/* the orderly end: the NIC leaves the registry and the stack first, the
 * device is reset (the last status write is the 0, and it reads 0) and
 * off the bus, its vectors revoked and its pool given back, its windows
 * revoked and decoding off. A send made afterwards through the struct
 * nic is refused without a touch of the device or the freed rings, a
 * recv too; a second detach changes nothing and says nothing. Before,
 * virtio-net had no detach: the device kept its rings live as the kernel
 * left */
static void test_detach_resets_and_frees(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t f[100], buf[2048];
	frame(f, 100, 7);
	assert_int_equal(n->send(n, f, 100), 0);
	n->flush(n);
	assert_int_equal(vm.nframes, 1);
	assert_int_equal(host_irqs_bound(), VNET_NVEC);
	vm.reset_reads = 50; /* a slow reset is waited for */
	uint64_t lines = shim_kprintf_calls;
	assert_int_equal(detach(), 0);
	assert_int_equal(shim_kprintf_calls - lines, 0);
	assert_int_equal(nnics, 0);
	assert_int_equal(vm.status, 0);
	assert_int_equal(vm.reset_pending, 0);
	assert_int_equal(vm.status_writes[vm.nstatus_writes - 1], 0);
	assert_false(vm.status & VIRTIO_STATUS_FAILED);
	assert_false(vm.bus_master || vm.mem_decode);
	assert_int_equal(host_irqs_bound(), 0);
	assert_int_equal(host_pools_live(), 0);
	assert_false(vnet_softcs[0].msix);
	/* after it: refused, and the device hears nothing */
	unsigned writes = vm.nstatus_writes, notified = vm.notifies[1];
	assert_int_equal(n->send(n, f, 100), -1);
	n->flush(n);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_int_equal(vm.nframes, 1);
	assert_int_equal(vm.notifies[1], notified);
	/* twice: harmless */
	assert_int_equal(detach(), 0);
	assert_int_equal(shim_kprintf_calls - lines, 0);
	assert_int_equal(vm.nstatus_writes, writes);
	assert_int_equal(vm.violations, 0);
}

/* a driver restart, three times over: attach, detach, attach again. Each
 * new instance takes the slot the detached one left (vnet0 again, one
 * entry in /api/virtio-net), brings the device up from a reset with a
 * fresh pool, registers one NIC, and moves a frame. Before, each attach
 * took the next of VNET_MAX slots: the second restart was refused
 * ("unable to attach another device") and /api/virtio-net kept listing
 * the dead instance beside the live one */
static void test_restart_reuses_slot(void **st)
{
	uint8_t f[100];
	static char buf[1 << 14];
	for (unsigned round = 0; round < 3; round++) {
		assert_int_equal(attach(), 0);
		struct nic *n = nic0();
		assert_string_equal(n->name, "vnet0");
		assert_ptr_equal(n, &vnet_softcs[0].nic);
		assert_int_equal(host_pools_live(), 1);
		assert_int_equal(host_irqs_bound(), VNET_NVEC);
		frame(f, 100, (uint8_t)round);
		assert_int_equal(n->send(n, f, 100), 0);
		n->flush(n);
		assert_int_equal(vm.nframes, round + 1);
		struct json j;
		json_init(&j, buf, sizeof(buf));
		status_find("virtio-net")->fn(&j);
		assert_true(json_end(&j) > 0);
		assert_non_null(strstr(buf, "\"vnet0\""));
		assert_null(strstr(buf, "\"vnet1\""));
		assert_int_equal(detach(), 0);
		assert_int_equal(nnics, 0);
		assert_int_equal(host_pools_live(), 0);
		assert_int_equal(host_irqs_bound(), 0);
		/* gone from /api/virtio-net until the next attach */
		json_init(&j, buf, sizeof(buf));
		status_find("virtio-net")->fn(&j);
		assert_true(json_end(&j) > 0);
		assert_string_equal(buf, "[]");
	}
	assert_int_equal(vm.violations, 0);
}

/* a device that never finishes its reset: the detach waits
 * VIRTIO_RESET_TIMEOUT_US and no longer, says so in one line, keeps the
 * pool granted (the device may still work its rings) with bus mastering
 * off, and answers -1 (fenced) — again on a second call, without a second
 * line or wait */
static void test_detach_reset_never_done_keeps_pool(void **st)
{
	assert_int_equal(attach(), 0);
	vm.stuck_reset = true;
	uint64_t t0 = shim_clock_ns, lines = shim_kprintf_calls;
	assert_int_equal(detach(), -1);
	uint64_t waited_us = (shim_clock_ns - t0) / 1000;
	assert_true(waited_us >= VIRTIO_RESET_TIMEOUT_US);
	assert_true(waited_us < VIRTIO_RESET_TIMEOUT_US + 1000);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "keeping DMA memory"));
	assert_true(vm.reset_refused);
	assert_false(vm.bus_master);
	assert_int_equal(host_pools_live(), 1);
	/* the rings kept (the device may still use them), in no pool */
	assert_non_null(host_ring(vm.q[VIRTIO_NET_RXQ].desc, 16));
	assert_null(host_dma(vm.q[VIRTIO_NET_RXQ].desc, 16));
	assert_int_equal(host_irqs_bound(), 0);
	assert_int_equal(nnics, 0);
	t0 = shim_clock_ns;
	assert_int_equal(detach(), -1);
	assert_int_equal(shim_clock_ns, t0);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_int_equal(host_pools_live(), 1);
	assert_int_equal(vm.violations, 0);
}

/* a device given up at run time (a hostile used id: FAILED, reset asked
 * for, its pool kept) is detached as well: the reset is asked for again
 * and, seen this time, its pool goes back */
static void test_detach_after_failure(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	vm_used_push(VIRTIO_NET_RXQ, 999, 64);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_int_equal(host_pools_live(), 1);
	assert_int_equal(detach(), 0);
	assert_int_equal(vm.status, 0);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(host_irqs_bound(), 0);
	assert_int_equal(nnics, 0);
	assert_int_equal(vm.violations, 0);
}

/* a DMA fault revoked the owner with a frame in flight (auth_poll:
 * bus mastering off, the pool seized and parked, windows and vectors
 * revoked): the detach touches no register and no vector the authority
 * layer would refuse (no refusal counted, the model sees no refused
 * access), does not wait out VIRTIO_RESET_TIMEOUT_US on a register it
 * cannot read, leaves the parked pool parked (the device never confirmed
 * a reset: the page hook says whether it still holds a ring there), says
 * so in one line and answers 1 (stopped without a confirmation); twice,
 * the same, without a second line. Before: every register access
 * refused and counted, a 2 s wait on a status read as 0xff, and -1 */
static void test_detach_owner_revoked(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t f[100];
	frame(f, 100, 3);
	assert_int_equal(n->send(n, f, 100), 0);
	assert_true(auth_owner_revoke(VM_OWNER, "DMA fault") >= 1);
	vm.bus_master = false; /* owner_stop_device */
	unsigned parked = shim_pools_parked(VM_OWNER);
	assert_true(parked >= 1);
	uint64_t lines = shim_kprintf_calls, t0 = shim_clock_ns;
	uint64_t refused = shim_refusals();
	assert_int_equal(detach(), 1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "revoked"));
	assert_true(shim_clock_ns - t0 < 1000000ull);
	assert_int_equal(shim_refusals(), refused);
	assert_int_equal(shim_pools_parked(VM_OWNER), parked);
	assert_false(vm.bus_master || vm.mem_decode);
	assert_int_equal(host_irqs_bound(), 0);
	assert_int_equal(nnics, 0);
	assert_int_equal(n->send(n, f, 100), -1);
	assert_int_equal(detach(), 1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_int_equal(shim_refusals(), refused);
	assert_int_equal(vm.violations, 0);
	assert_int_equal(auth_owner_reinstate(VM_OWNER), 0);
}

/* quarantined by the IOMMU (a DMA fault before the safe point revoked
 * it): the windows and vectors are still the driver's, so the detach
 * resets the device as always — bus mastering stays off, nothing refused
 * — and the pool goes back only after the reset read 0; 0, no line */
static void test_detach_owner_quarantined(void **st)
{
	shim_iommu_owner = VM_OWNER;
	vm_reset_model(OFFERED | F(VIRTIO_F_ACCESS_PLATFORM));
	assert_int_equal(attach(), 0);
	unsigned iommu_bad = shim_iommu_violations;
	shim_iommu_fault();
	vm.bus_master = false;
	uint64_t lines = shim_kprintf_calls, refused = shim_refusals();
	assert_int_equal(detach(), 0);
	assert_int_equal(shim_kprintf_calls - lines, 0);
	assert_int_equal(shim_refusals(), refused);
	assert_int_equal(vm.status, 0);
	assert_int_equal(host_pools_live(), 0);
	assert_int_equal(host_irqs_bound(), 0);
	assert_false(vm.bus_master || vm.mem_decode);
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(shim_iommu_violations, iommu_bad);
	assert_int_equal(detach(), 0);
	assert_int_equal(vm.violations, 0);
	shim_iommu_owner = 0;
	shim_iommu_quarantined = false;
}

/* given up at run time (FAILED, its pool kept) and then a device that
 * will not reset: the detach keeps the pool (-1, one line), twice */
static void test_detach_after_failure_reset_never_done(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	vm_used_push(VIRTIO_NET_RXQ, 999, 64);
	vm.stuck_reset = true;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	uint64_t lines = shim_kprintf_calls, refused = shim_refusals();
	assert_int_equal(detach(), -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "keeping DMA memory"));
	assert_int_equal(host_pools_live(), 1);
	assert_int_equal(detach(), -1);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_int_equal(shim_refusals(), refused);
	assert_int_equal(vm.violations, 0);
}

/* a DMA fault revoked the owner (its vectors seized, its windows
 * revoked, bus mastering off) and the next recv's link look finds it out
 * (auth_owner_revoked, before the status read it would be refused) and
 * gives the device up: vnet_fail touches nothing — no vector mask, no
 * FAILED status, no reset request, no reset wait: the one refused access
 * is the transmit reclaim's take through the broker the revocation
 * closed (AUTH_REVOKED), the pool left parked, one line that says the
 * owner was revoked; the detach after it the same. Before: the status read,
 * each of the VNET_NVEC vector masks and four register accesses refused and
 * counted (8), and a line claiming the device was marked FAILED */
static void test_fail_after_revocation_touches_nothing(void **st)
{
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	assert_true(auth_owner_revoke(VM_OWNER, "DMA fault") >= 1);
	vm.bus_master = false; /* owner_stop_device */
	unsigned parked = shim_pools_parked(VM_OWNER);
	shim_clock_ns += (VNET_LINK_POLL_US + 1) * 1000ull; /* a link look */
	uint64_t refused = shim_refusals();
	uint64_t revoked = auth_refusals[AUTH_REVOKED];
	shim_count_lines("unable to continue: owner 1 revoked");
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_int_equal(shim_refusals() - refused, 1);
	assert_int_equal(auth_refusals[AUTH_REVOKED] - revoked, 1);
	assert_int_equal(shim_counted, 1);
	shim_line_hook = NULL;
	assert_int_equal(shim_pools_parked(VM_OWNER), parked);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_int_equal(shim_refusals() - refused, 1);
	assert_int_equal(detach(), 1);
	assert_int_equal(shim_refusals() - refused, 1);
	assert_int_equal(vm.violations, 0);
	assert_int_equal(auth_owner_reinstate(VM_OWNER), 0);
}

/* a transmit ring the device broke, found by recv's reclaim when a link
 * look is due, on a device that also asks for a reset (and ignores the
 * one it is given): the device is failed once — FAILED told once, one
 * "unable to" line — and its status is not looked at after (before, the
 * look read DEVICE_NEEDS_RESET from the failed device and said "unable to
 * use device" in a second line) */
static unsigned failed_writes(void)
{
	unsigned k = 0;
	for (unsigned i = 0; i < vm.nstatus_writes; i++)
		k += (vm.status_writes[i] & VIRTIO_STATUS_FAILED) != 0;
	return k;
}
static void test_tx_fault_at_link_look_fails_once(void **st)
{
	(void)st;
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	unsigned failed = failed_writes();
	vm.stuck_reset = true;
	vm_used_push(VIRTIO_NET_TXQ, 999, 0);
	vm_needs_reset(); /* a configuration change: a link look is due */
	shim_count_lines("vnet0: unable to");
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_int_equal(shim_counted, 1);
	shim_line_hook = NULL;
	assert_int_equal(failed_writes(), failed + 1);
	assert_string_equal(vm_pci.state, "failed");
	assert_int_equal(vm.violations, 0);
	vm.stuck_reset = false;
}

/* ---- restarts (the device manager's devmgr_unbind, devmgr_rebind) -------- */

/* one frame out through the NIC now registered, and the device saw it */
static void restart_moves_a_frame(unsigned frames_before)
{
	uint8_t f[100];
	struct nic *n = nic0();
	assert_string_equal(n->name, "vnet0");
	frame(f, 100, 9);
	assert_int_equal(n->send(n, f, 100), 0);
	n->flush(n);
	assert_int_equal(vm.nframes, frames_before + 1);
}

/* the detach leaves the function naming no instance: its slot is the
 * next attach's. Before, d->drv_state still pointed at the slot, which a
 * later attach (of any function) reuses */
static void test_detach_clears_drv_state(void **st)
{
	(void)st;
	assert_int_equal(attach(), 0);
	assert_ptr_equal(vm_pci.drv_state, &vnet_softcs[0]);
	assert_int_equal(detach(), 0);
	assert_null(vm_pci.drv_state);
	assert_int_equal(detach(), 0); /* the same answer, found by slot */
	assert_int_equal(vm.violations, 0);
}

/* a restart after a DMA fault revoked the owner: the driver reports it
 * once ("owner revoked"), its detach answers 1 touching nothing, and the
 * new attach — the parked pool left withheld, a fresh pool of its own —
 * takes the slot, resets the device and works */
static void test_restart_after_revoked_owner(void **st)
{
	(void)st;
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	assert_true(auth_owner_revoke(VM_OWNER, "DMA fault") >= 1);
	vm.bus_master = false;
	shim_clock_ns += (VNET_LINK_POLL_US + 1) * 1000ull;
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_int_equal(shim_devmgr_failed, 1);
	assert_string_equal(shim_devmgr_failed_why, "owner revoked");
	assert_int_equal(detach(), 1);
	assert_null(vm_pci.drv_state);
	/* a fresh owner (here the old one reinstated); the parked pool
	 * stays withheld, as the authority layer's unbind keeps it with the
	 * stop not confirmed (the device never reset: the model still holds
	 * its rings there) */
	assert_int_equal(auth_owner_reinstate(VM_OWNER), 0);
	unsigned frames = vm.nframes;
	assert_int_equal(attach(), 0);
	assert_ptr_equal(vm_pci.drv_state, &vnet_softcs[0]);
	assert_int_equal(vnet_count, 1);
	restart_moves_a_frame(frames);
	assert_int_equal(host_pools_live(), 1);
	assert_int_equal(shim_devmgr_failed, 1);
	assert_int_equal(vm.violations, 0);
	assert_int_equal(detach(), 0);
}

/* revoked and reinstated before the driver looked (an idle NIC, or the
 * proof's quick pair): its broker is its owner's again, but the
 * revocation reset the device and took the rings, its vectors and its
 * pool; the next recv finds its transmit queue gone (the take refused:
 * not set up) and gives the device up as a broken ring, touching the
 * device only through the broker (no violation); the device manager's
 * restart (detach, a fresh attach) brings it back and a frame goes out.
 * What the driver cannot do is go on as if nothing happened: its
 * capabilities are dead (docs/devices/virtio-net.md) */
static void test_revoke_reinstate_before_driver_looked(void **st)
{
	(void)st;
	assert_int_equal(attach(), 0);
	struct nic *n = nic0();
	uint8_t buf[2048];
	assert_true(auth_owner_revoke(VM_OWNER, "operator") >= 1);
	vm.bus_master = false;
	assert_int_equal(vm.status, 0); /* the broker's revoke hook */
	assert_int_equal(auth_owner_reinstate(VM_OWNER), 0);
	assert_int_equal(n->recv(n, buf, sizeof(buf)), -1);
	assert_int_equal(shim_devmgr_failed, 1);
	assert_string_equal(shim_devmgr_failed_why, "broken ring");
	assert_int_equal(vm.violations, 0);
	assert_int_equal(detach(), 0); /* the reset confirmed: pool back */
	unsigned frames = vm.nframes;
	assert_int_equal(attach(), 0);
	restart_moves_a_frame(frames);
	assert_int_equal(vm.violations, 0);
	assert_int_equal(detach(), 0);
}

/* a restart under an owner the IOMMU quarantined (a DMA fault the safe
 * point has not revoked yet): the detach resets as always (0), and once
 * the fresh owner's domain confines it again the new attach works */
static void test_restart_after_quarantined_owner(void **st)
{
	(void)st;
	shim_iommu_owner = VM_OWNER;
	vm_reset_model(OFFERED | F(VIRTIO_F_ACCESS_PLATFORM));
	assert_int_equal(attach(), 0);
	shim_iommu_fault();
	vm.bus_master = false;
	assert_int_equal(detach(), 0);
	assert_int_equal(host_pools_live(), 0);
	shim_iommu_quarantined = false; /* the new owner's domain */
	unsigned frames = vm.nframes;
	assert_int_equal(attach(), 0);
	assert_true(virtio_has(&vnet_softcs[0].vp, VIRTIO_F_ACCESS_PLATFORM));
	restart_moves_a_frame(frames);
	assert_int_equal(detach(), 0);
	assert_int_equal(shim_iommu_mapped(), 0);
	assert_int_equal(vm.violations, 0);
	shim_iommu_owner = 0;
}

/* a restart after a detach that answered -1 (the device never confirmed
 * its reset: its pool stays granted, withheld) once the device does
 * reset: the new instance takes the slot with a pool of its own — the
 * old one is never reused or given back behind the device — and works */
static void test_restart_after_detach_not_stopped(void **st)
{
	(void)st;
	assert_int_equal(attach(), 0);
	struct dma_pool old = vnet_softcs[0].pool;
	vm.stuck_reset = true;
	assert_int_equal(detach(), -1);
	assert_int_equal(host_pools_live(), 1);
	vm.stuck_reset = false;
	unsigned frames = vm.nframes;
	assert_int_equal(attach(), 0);
	assert_int_equal(host_pools_live(), 2);
	assert_true(dma_pool_live(&old));
	assert_true(vnet_softcs[0].pool.iova != old.iova);
	restart_moves_a_frame(frames);
	assert_int_equal(detach(), 0);
	assert_int_equal(host_pools_live(), 1); /* the withheld one */
	assert_int_equal(vm.violations, 0);
	shim_owner_release(VM_OWNER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_detach_owner_revoked, setup,
					    NULL),
	    cmocka_unit_test_setup_teardown(
		test_fail_after_revocation_touches_nothing, setup, NULL),
	    cmocka_unit_test_setup_teardown(test_detach_owner_quarantined,
					    setup, NULL),
	    cmocka_unit_test_setup_teardown(
		test_detach_after_failure_reset_never_done, setup, NULL),
	    cmocka_unit_test_setup_teardown(test_detach_resets_and_frees, setup,
					    NULL),
	    cmocka_unit_test_setup_teardown(test_restart_reuses_slot, setup,
					    NULL),
	    cmocka_unit_test_setup_teardown(
		test_detach_reset_never_done_keeps_pool, setup, NULL),
	    cmocka_unit_test_setup_teardown(test_detach_after_failure, setup,
					    NULL),
	    cmocka_unit_test_setup_teardown(test_bringup_follows_the_spec,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_and_receive, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tx_one_notify_per_burst, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rx_irq_only_when_empty, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_receive_lengths, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_refuses_device_without_version_1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_features_ok_not_accepted,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access_platform_under_iommu,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_iommu_bypass, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_no_access_platform_without_iommu, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_capability_outside_bar, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_notify_offset_outside_window,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_offset_unaligned, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unusable_caps_leave_it_off,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_vector_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_config_vector_refused_runs_polled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link_follows_config_interrupt,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_tx_fault_at_link_look_fails_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_used_id, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_used_id_at_size, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_recv_ring_of_bad_frames, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_used_length, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_tx_completion, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_link_flaps_rate_limited, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_link_poll_interval, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_status_bits_cleared_at_run_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_give_up_does_not_wait_for_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_link_stays_down, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_needs_reset_at_run_time, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_unwind_reset_refused_keeps_pool, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_unwind_slow_reset_gives_pool_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_unwind_reset_past_bound_keeps_pool, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_features_ok_taken_back, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bringup_reset_not_done, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_queue_sizes_offered, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_device_config_window_short,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_irq_unbound_entry_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_few_queues, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_queue_size_ignored, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_every_bringup_failure_quiescent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_detach_clears_drv_state, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_restart_after_revoked_owner,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_revoke_reinstate_before_driver_looked, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_restart_after_quarantined_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_restart_after_detach_not_stopped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
