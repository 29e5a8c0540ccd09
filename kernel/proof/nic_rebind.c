/* kernel/proof/nic_rebind.c — PROOF nic-rebind: a driver restart on the
 * first virtio-net function while the IP stack holds a DHCP lease on it.
 * The function is unbound (devmgr_unbind: the driver's detach — the NIC out
 * of the registry and the stack, the device reset — then
 * auth_owner_unbind); the stack then names no NIC and no address (net_state,
 * /api/net's NIC list) and refuses a send, counted in tx_fail, and the old NIC
 * refuses one too, counted in its tx_errors. The function is bound again
 * (devmgr_rebind: a fresh owner and driver instance), the new NIC takes
 * the stack over (kernel/net/netboot.c) and the stack is polled until it
 * holds a DHCP lease again, for at most NIC_REBIND_LEASE_US. The old
 * instance's DMA pool and owner id are refused after it. */
#include "drivers/virtio-net/virtio_net.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/net/net_internal.h"
#include "kernel/pci/pci.h"
#include "kernel/proof/proof.h"
#include "kernel/time/time.h"

/* the new instance's lease: a DISCOVER-OFFER-REQUEST-ACK exchange under
 * QEMU's slirp takes well under a second; ten are the bound */
#define NIC_REBIND_LEASE_US (10ull * 1000 * 1000)

static struct pci_dev *rebind_vnet_fn(void)
{
	for (unsigned i = 0; i < pci_ndevs; i++)
		if (pci_devs[i].drv == &virtio_net_driver)
			return &pci_devs[i];
	return NULL;
}

/* poll the stack until it holds a DHCP lease or `bound_us` passed */
static bool rebind_lease(struct net_state_view *v, uint64_t bound_us)
{
	uint64_t t0 = time_now_us();
	net_state(v);
	while (!(v->configured && v->nic && !strcmp(v->source, "dhcp")) &&
	       time_now_us() - t0 < bound_us) {
		net_poll();
		time_delay_us(500);
		net_state(v);
	}
	return v->configured && v->nic && !strcmp(v->source, "dhcp");
}

/* /api/net's NIC list names `name` */
static bool rebind_api_names(const char *name)
{
	static char buf[8192];
	char key[32];
	struct json j;
	const struct status_provider *p = status_find("net");
	if (!p)
		return false;
	json_init(&j, buf, sizeof(buf));
	p->fn(&j);
	if (json_end(&j) < 0)
		return true; /* unreadable: not shown absent */
	ksnprintf(key, sizeof(key), "\"name\":\"%s\"", name);
	return strstr(buf, key) != NULL;
}

static void rebind_ip(char *buf, size_t cap, uint32_t ip)
{
	ksnprintf(buf, cap, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 0xff,
		  ip >> 8 & 0xff, ip & 0xff);
}

static void proof_nic_rebind(void)
{
	struct pci_dev *d = rebind_vnet_fn();
	struct net_state_view v;
	if (!d || !rebind_lease(&v, NIC_REBIND_LEASE_US) ||
	    v.nic != &((struct vnet_softc *)d->drv_state)->nic) {
		proof_result("nic-rebind", false, "reason=%s",
			     d ? "no-lease-on-virtio-net" : "no-virtio-net");
		return;
	}
	struct vnet_softc *sc = d->drv_state;
	struct nic *old = &sc->nic;
	char old_name[sizeof(old->name)], old_ip[16], ip[16];
	strlcpy(old_name, old->name, sizeof(old_name));
	rebind_ip(old_ip, sizeof(old_ip), v.ip);
	uint16_t old_owner = d->owner;
	struct dma_pool old_pool = sc->pool;

	uint64_t t0 = time_now_us();
	int u = devmgr_unbind(d);
	uint64_t unbind_us = time_now_us() - t0;
	/* the stack names no NIC, the registry and /api/net not the old */
	net_state(&v);
	bool in_registry = false;
	for (unsigned i = 0; i < nnics; i++)
		in_registry |= nics[i] == old;
	bool gone = !v.nic && !v.configured && !v.ip && !in_registry &&
		    !rebind_api_names(old_name);
	/* a send: the stack refuses it and counts it, and so does the old
	 * NIC, touching nothing of the device */
	uint64_t fails = net_counters()->tx_fail;
	uint64_t errs = old->stats.tx_errors;
	static uint8_t frame[64];
	bool stack_refused =
	    eth_send(frame, eth_bcast, ETHERTYPE_ARP, 28) == -1 &&
	    net_counters()->tx_fail == fails + 1;
	bool nic_refused = old->send(old, frame, sizeof(frame)) == -1 &&
			   old->stats.tx_errors == errs + 1;

	t0 = time_now_us();
	int r = devmgr_rebind(d);
	uint64_t rebind_us = time_now_us() - t0;
	struct vnet_softc *nsc = d->drv ? d->drv_state : NULL;
	t0 = time_now_us();
	bool leased =
	    nsc && rebind_lease(&v, NIC_REBIND_LEASE_US) && v.nic == &nsc->nic;
	uint64_t lease_ms = (time_now_us() - t0) / 1000;
	if (leased)
		rebind_ip(ip, sizeof(ip), v.ip);
	else
		strlcpy(ip, "-", sizeof(ip));

	struct dma_buf buf;
	bool pool_refused = !dma_pool_live(&old_pool) &&
			    dma_pool_carve(&old_pool, 64, 8, &buf) != 0;
	bool kmem_refused = auth_kmem_alloc(old_owner, 64) == 0;
	bool fresh = nsc && d->owner != old_owner && !nsc->detached;
	proof_result("nic-rebind",
		     u == 0 && gone && stack_refused && nic_refused && r == 0 &&
			 leased && pool_refused && kmem_refused && fresh,
		     "nic=%s->%s owner=%u->%u unbind=%d old_nic=%s send=%s "
		     "old_nic_send=%s rebind=%d lease=%s ip=%s->%s lease_s=%u "
		     "old_pool=%s old_kmem=%s unbind_us=%llu rebind_us=%llu "
		     "lease_ms=%llu",
		     old_name, nsc ? nsc->name : "-", old_owner, d->owner, u,
		     gone ? "gone" : "STILL-NAMED",
		     stack_refused ? "refused-counted" : "NOT-REFUSED",
		     nic_refused ? "refused-counted" : "NOT-REFUSED", r,
		     leased ? "dhcp" : "NONE", old_ip, ip, v.lease_s,
		     pool_refused ? "refused" : "ACCEPTED",
		     kmem_refused ? "refused" : "ACCEPTED",
		     (unsigned long long)unbind_us,
		     (unsigned long long)rebind_us,
		     (unsigned long long)lease_ms);
}
PROOF_REGISTER("nic-rebind", proof_nic_rebind, 75);
