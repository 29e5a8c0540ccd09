/* kernel/proof/nic_restart.c — PROOF nic-restart: the device manager's
 * supervisor restarts a virtio-net function its device gave up. While the
 * stack holds a DHCP lease on the first virtio-net function, the proof
 * corrupts its transmit ring (virtio_broker_inject_avail: one entry names
 * descriptor 0xffff, past the queue's size) and notifies the queue. QEMU's
 * virtqueue_get_head calls virtio_error ("Guest says index 65535 is
 * available"), which on a VERSION_1 device sets DEVICE_NEEDS_RESET and
 * raises a configuration interrupt. The stack is polled and the
 * supervisor with it (devmgr_poll, as the main loop does) for at most
 * NIC_RESTART_US: the link poll reads NEEDS_RESET, vnet_fail gives the
 * device up and tells the device manager (devmgr_failed), which after
 * DEVMGR_RESTART_DELAY_US unbinds the function and binds it again under a
 * fresh owner; the new instance takes the stack over and a new DHCP lease
 * follows. A send made in the outage is refused and counted in the
 * stack's tx_fail, which the takeover keeps (net_counters_carry). */
#include "drivers/virtio-net/virtio_net.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"
#include "kernel/net/net_internal.h"
#include "kernel/pci/pci.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

/* the backoff (1 s), the failure seen and a DHCP exchange under slirp
 * (well under a second): fifteen are the bound */
#define NIC_RESTART_US (15ull * 1000 * 1000)

static struct pci_dev *restart_vnet_fn(void)
{
	for (unsigned i = 0; i < pci_ndevs; i++)
		if (pci_devs[i].drv == &virtio_net_driver)
			return &pci_devs[i];
	return NULL;
}

static bool restart_leased(const struct pci_dev *d)
{
	struct net_state_view v;
	net_state(&v);
	return d->drv && d->drv_state && v.configured &&
	       v.nic == &((struct vnet_softc *)d->drv_state)->nic &&
	       !strcmp(v.source, "dhcp");
}

static void proof_nic_restart(void)
{
	struct pci_dev *d = restart_vnet_fn();
	uint64_t t0 = time_now_us();
	while (d && !restart_leased(d) && time_now_us() - t0 < NIC_RESTART_US) {
		net_poll();
		time_delay_us(500);
	}
	if (!d || !restart_leased(d)) {
		proof_result("nic-restart", false, "reason=%s",
			     d ? "no-lease-on-virtio-net" : "no-virtio-net");
		return;
	}
	struct vnet_softc *sc = d->drv_state;
	uint16_t old_owner = d->owner;
	uint32_t restarts = d->restart.count;
	uint64_t fails0 = net_counters()->tx_fail;
	/* the fault: an available entry naming descriptor 0xffff, in ring
	 * memory the virtio broker owns (no driver can post one: the
	 * broker's post refuses an id past the queue's size) */
	virtio_broker_inject_avail(sc->vp.vb, sc->vp.owner, VIRTIO_NET_TXQ,
				   0xffff);
	virtio_pci_notify(&sc->vp, sc->tx_notify, VIRTIO_NET_TXQ);
	t0 = time_now_us();
	uint64_t failed_ms = 0, restarted_ms = 0;
	bool failed = false, refused = false;
	static uint8_t frame[64];
	while (time_now_us() - t0 < NIC_RESTART_US) {
		net_poll();
		if (!failed && d->drv_state == sc && sc->failed) {
			failed = true;
			failed_ms = (time_now_us() - t0) / 1000;
			/* a send in the outage: refused by the failed NIC and
			 * counted, a count the takeover must keep */
			refused =
			    eth_send(frame, eth_bcast, ETHERTYPE_ARP, 28) == -1;
		}
		if (devmgr_poll() && !restarted_ms)
			restarted_ms = (time_now_us() - t0) / 1000;
		if (restarted_ms && restart_leased(d))
			break;
		time_delay_us(500);
	}
	uint64_t lease_ms = (time_now_us() - t0) / 1000;
	bool leased = restart_leased(d);
	const char *why = d->restart.why ? d->restart.why : "-";
	bool ok = failed && !strcmp(why, "DEVICE_NEEDS_RESET") &&
		  d->restart.count == restarts + 1 && d->owner != old_owner &&
		  leased && refused && net_counters()->tx_fail >= fails0 + 1;
	proof_result("nic-restart", ok,
		     "why=%s failed=%s owner=%u->%u restarts=%u lease=%s "
		     "outage_send=%s tx_fail=%llu->%llu failed_ms=%llu "
		     "restarted_ms=%llu lease_ms=%llu",
		     why, failed ? "yes" : "NO", old_owner, d->owner,
		     d->restart.count, leased ? "dhcp" : "NONE",
		     refused ? "refused-counted" : "NOT-REFUSED",
		     (unsigned long long)fails0,
		     (unsigned long long)net_counters()->tx_fail,
		     (unsigned long long)failed_ms,
		     (unsigned long long)restarted_ms,
		     (unsigned long long)lease_ms);
}
PROOF_REGISTER("nic-restart", proof_nic_restart, 76);
