/* drivers/nvme/nvme_pci.c — PCI attachment of the NVMe driver: match the
 * function (class 01h/08h/02h, NVMe over PCIe Transport 1.0), open the broker
 * (which maps BAR0 for itself and resets the controller), bind one MSI-X vector
 * per completion queue, then run the bus-neutral core (nvme.c).
 *
 * Command line: nvme.poll=1 leaves the completion queues without
 * interrupts (the same completion path, driven by polling only). */
#include "drivers/nvme/nvme_var.h"
#include "kernel/boot/boot.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/pci/pci.h"

#define NVME_PCI_CLASS 0x010802u /* mass storage, NVM, NVMe I/O controller */
/* controllers the driver attaches: one per bound function, as many as the
 * authority layer has owners (an EC2 instance shows one controller per EBS
 * volume). Each softc is kernel memory charged to its owner. */
#define NVME_MAX_CTRL AUTH_OWNER_MAX

static struct nvme_softc *nvme_sc[NVME_MAX_CTRL];
static unsigned nvme_nsc;
/* controllers attached so far: each gets the next name, never one a
 * controller detached had (a rebind's block devices are new ones) */
static unsigned nvme_seq;

struct nvme_softc *nvme_first(void)
{
	return nvme_at(0);
}

struct nvme_softc *nvme_at(unsigned i)
{
	return i < nvme_nsc && nvme_sc[i]->up ? nvme_sc[i] : 0;
}

/* MSI-X entry 0 serves the admin CQ, entry q the I/O CQ q */
static void nvme_pci_irq_bind(struct nvme_softc *sc, struct pci_dev *d,
			      struct nvme_queue *q, unsigned entry)
{
	q->irq_bound = false;
	if (!sc->use_irq)
		return;
	if (irq_bind(d, sc->owner, entry, nvme_intr, q, &q->irq) != 0) {
		kprintf("%s: unable to bind MSI-X entry %u; queue %u polled\n",
			sc->name, entry, q->id);
		return;
	}
	irq_unmask(&q->irq);
	q->irq_bound = true;
}

static void nvme_pci_irq_unbind(struct nvme_softc *sc)
{
	if (sc->admin.irq_bound)
		irq_revoke(&sc->admin.irq);
	for (unsigned i = 0; i < NVME_IOQ_MAX; i++)
		if (sc->ioq[i].irq_bound)
			irq_revoke(&sc->ioq[i].irq);
}

/* before any of the owner's memory exists: the broker resets and
 * identifies the controller on its own memory; the device manager
 * classifies it from the model and serial */
static int nvme_pci_identify(struct pci_dev *d, uint16_t owner,
			     struct dev_identity *out)
{
	struct nvme_broker *b;
	if (nvme_broker_open(d, owner, &b) != 0)
		return -1;
	const struct nvme_ident_ctrl *id = nvme_broker_ident(b, owner);
	strlcpy(out->model, id->mn, sizeof(out->model));
	strlcpy(out->serial, id->sn, sizeof(out->serial));
	return 0;
}

CMDLINE_KEY(nvme_poll, "nvme.poll", "1: NVMe queues polled, no interrupts");

static int nvme_pci_attach(struct pci_dev *d, uint16_t owner)
{
	if (nvme_nsc == NVME_MAX_CTRL) {
		kprintf("nvme: unable to attach more than %u controllers\n",
			NVME_MAX_CTRL);
		return -1;
	}
	struct nvme_softc *sc = auth_kmem_alloc(owner, sizeof(*sc));
	if (!sc) {
		kprintf("nvme: unable to allocate controller state\n");
		return -1;
	}
	ksnprintf(sc->name, sizeof(sc->name), "nvme%u", nvme_seq);
	sc->pci = d;
	sc->owner = owner;
	sc->use_irq = d->cap_msix && cmdline_u64("nvme.poll", 0) == 0;
	if (nvme_broker_open(d, owner, &sc->broker) != 0) {
		kprintf("%s: unable to open controller broker\n", sc->name);
		auth_kmem_free(owner, sc, sizeof(*sc));
		return -1;
	}
	/* the queue structures are set up by nvme_attach; ids are fixed */
	sc->admin.id = 0;
	nvme_pci_irq_bind(sc, d, &sc->admin, 0);
	for (unsigned i = 0; i < NVME_IOQ_MAX; i++) {
		sc->ioq[i].id = (uint16_t)(i + 1);
		nvme_pci_irq_bind(sc, d, &sc->ioq[i], i + 1);
	}
	if (nvme_attach(sc) != 0)
		goto err_irq;
	d->drv_state = sc;
	strlcpy(d->state, "running", sizeof(d->state));
	nvme_sc[nvme_nsc++] = sc;
	nvme_seq++;
	return 0;
err_irq:
	/* nvme_attach left the controller disabled (or fenced) and the
	 * broker with its function: nothing of it to undo here */
	nvme_pci_irq_unbind(sc);
	auth_kmem_free(owner, sc, sizeof(*sc));
	return -1;
}

/* devmgr_shutdown and devmgr_unbind: queues deleted, CC.SHN, disabled
 * (nvme_detach), then the vectors go (a revoked owner's went with the
 * revoke) and the softc leaves nvme_sc (/api/nvme, nvme_at): it is kernel
 * memory of the owner, which an unbind gives back */
static int nvme_pci_detach(struct pci_dev *d)
{
	struct nvme_softc *sc = d->drv_state;
	int r = nvme_detach(sc);
	/* nothing reads the softc after this: no irq_bound to clear */
	if (!auth_owner_revoked(sc->owner))
		nvme_pci_irq_unbind(sc);
	for (unsigned i = 0; i < nvme_nsc; i++)
		if (nvme_sc[i] == sc) {
			memmove(&nvme_sc[i], &nvme_sc[i + 1],
				(nvme_nsc - i - 1) * sizeof(nvme_sc[0]));
			nvme_sc[--nvme_nsc] = 0;
			break;
		}
	d->drv_state = 0;
	return r;
}

/* /api/nvme: every attached controller */
static void nvme_status(struct json *j)
{
	json_arr(j);
	for (unsigned i = 0; i < nvme_nsc; i++)
		nvme_json(nvme_sc[i], j);
	json_arr_end(j);
}
STATUS_REGISTER("nvme", nvme_status);

static const struct pci_match nvme_ids[] = {
    {0x1b36, 0x0010, 0, 0},			 /* QEMU NVMe controller */
    {0xffff, 0xffff, NVME_PCI_CLASS, 0xffffffu}, /* any NVMe controller */
};

const struct driver nvme_driver = {
    .name = "nvme",
    .ids = nvme_ids,
    .nids = ARRAY_SIZE(nvme_ids),
    .dma = true,
    .validated = true,
    .identify = nvme_pci_identify,
    .attach = nvme_pci_attach,
    .detach = nvme_pci_detach,
};
