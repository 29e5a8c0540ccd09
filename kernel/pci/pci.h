/* kernel/pci/pci.h — PCI functions as the kernel found them (ECAM). */
#ifndef CAPOS_PCI_H
#define CAPOS_PCI_H
#include <stdbool.h>
#include <stdint.h>

struct driver;

struct pci_bar {
	uint64_t base; /* bus address as programmed (firmware-assigned) */
	uint64_t size; /* 0: not implemented */
	bool io, is64, prefetch;
};

struct pci_dev {
	uint16_t seg;
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys_device;
	uint32_t class_code; /* base<<16 | sub<<8 | prog-if */
	uint8_t revision;
	uint8_t header_type;
	volatile uint8_t *cfg; /* ECAM window of this function, 4 KiB */
	struct pci_bar bar[6];
	/* BAR registers refused at enumeration (bit i: BAR i; its kind in
	 * bar[i].io): the device still decodes whatever they hold, so the
	 * decode of that kind stays off (pci_enable, pci_msix_entry_set) */
	uint8_t bar_refused;
	/* capabilities (0: absent) */
	uint8_t cap_msi, cap_msix, cap_pcie;
	uint16_t msix_size; /* table entries */
	uint8_t msix_table_bar, msix_pba_bar;
	uint32_t msix_table_off, msix_pba_off;
	volatile uint32_t
	    *msix_table;     /* kernel mapping; drivers never see it */
	bool msix_fn_masked; /* an entry refused a mask: Function Mask set */
	/* binding */
	const struct driver *drv;
	uint16_t owner;	 /* authority owner id, 0: unbound */
	void *drv_state; /* the driver's softc */
	char state[24];	 /* short status for the log and the Web UI */
	/* the device manager's supervisor (kernel/devmgr/devmgr.h:
	 * devmgr_failed, devmgr_poll) */
	struct pci_restart {
		const char *why; /* the failure being restarted (a literal) */
		uint64_t at_us;	 /* pending: when the restart runs */
		uint64_t up_us;	 /* last bound (or restarted) at */
		uint32_t count;	 /* restarts run since boot (/api/devices) */
		uint16_t left;	 /* owner left to whoever revoked it on
				  * purpose (its line said once); restarted
				  * once reinstated */
		uint16_t held;	 /* owner that reported inside an attach,
				  * a restart (busy) or an interrupt
				  * handler, said again by devmgr_poll */
		const char *held_why; /* its reason */
		uint8_t used;	      /* of DEVMGR_RESTART_MAX, this streak */
		bool pending;	      /* a restart is due at at_us */
		bool spent;	      /* budget spent: left failed */
		bool busy;	      /* inside devmgr_bind or devmgr_unbind */
		/* devmgr_shutdown went over it since its last bind: never
		 * restarted (PCI_SHUT); a report after it said in its one
		 * line (PCI_SHUT_SAID) */
		enum { PCI_NOT_SHUT, PCI_SHUT, PCI_SHUT_SAID } shut;
	} restart;
	/* a driver layer's disable of the device failed (the NVMe broker's
	 * CC.EN=0, kernel/authority/nvme_broker.c): it may still use memory
	 * given back since. Set once, never cleared: the function is not
	 * reset, probed or put on the bus again, whichever broker or owner
	 * comes next */
	bool fenced;
	/* what has been said of the function, a bit a reason (PCI_SAID_*):
	 * pci_enable's refusals (fenced, bus mastering, memory decode, I/O
	 * decode), a failed MSI-X entry write and a broken capability list
	 * are each one line, said again only for bus mastering, after it
	 * was granted */
	uint8_t said;
	/* pci_msix_entry_set calls that failed (the first one a line, all
	 * counted; /api/pci) */
	uint32_t msix_failed;
};

/* the reasons for a line of a function, each a bit of d->said */
enum {
	PCI_SAID_FENCED = 1,
	PCI_SAID_MASTER = 2, /* no owner, or the check said no */
	PCI_SAID_MEM = 4,
	PCI_SAID_IO = 8,
	PCI_SAID_MSIX = 16, /* an MSI-X entry write that failed */
	PCI_SAID_CAPS = 32, /* a capability list that loops or points
			     * into the header (pci_find_cap) */
};

/* true the first time d is said of for why: a driver that retries gets
 * one line per function per reason, not one per call */
static inline bool pci_said_first(struct pci_dev *d, uint8_t why)
{
	bool first = !(d->said & why);
	d->said |= why;
	return first;
}

/* functions kept in pci_devs; the rest are counted, one line in all */
#define PCI_MAX_DEVS 64
extern struct pci_dev pci_devs[];
extern unsigned pci_ndevs;

void pci_init(void); /* enumerate through ECAM (MCFG) */
uint8_t pci_cfg_read8(const struct pci_dev *d, uint16_t off);
uint16_t pci_cfg_read16(const struct pci_dev *d, uint16_t off);
uint32_t pci_cfg_read32(const struct pci_dev *d, uint16_t off);
void pci_cfg_write16(const struct pci_dev *d, uint16_t off, uint16_t v);
void pci_cfg_write32(const struct pci_dev *d, uint16_t off, uint32_t v);
/* next capability with `id` after `from` in list order (0: from the
 * head; else a capability it returned). Every pointer has its reserved
 * bottom two bits masked off, as the spec says. Each entry is visited
 * once: a list that loops or points into the header (below 0x40) ends
 * there, one line the first time for the function (PCI_SAID_CAPS in
 * d->said), whoever walks it and however often. 0 if none. */
uint8_t pci_find_cap(struct pci_dev *d, uint8_t id, uint8_t from);
/* the same walk, but when broken is not NULL a list that ends it sets
 * *broken and says nothing (pci_init's functions past PCI_MAX_DEVS,
 * counted in one line at its end); with NULL, pci_find_cap */
uint8_t pci_cap_find(struct pci_dev *d, uint8_t id, uint8_t from, bool *broken);
/* Memory decode, I/O decode and bus mastering as asked; INTx always off.
 * Memory (I/O) decode of a function with a refused memory (I/O) BAR is
 * refused and left off with one line: with it on, the device would
 * answer at the refused address (Linux's pci_enable_resources refuses a
 * BAR that is not claimed the same way).
 * Bus mastering is granted only to a function with an owner (d->owner),
 * and only while the check the authority layer installed says it may
 * master the bus (its owner's one function, the owner neither revoked nor
 * quarantined, the remapping unit that translates it, if any, not
 * failed); with no owner or no check installed, never; to a fenced
 * function, never. Refused, it is left off. The check is asked again
 * after the write: a quarantine that landed in between (the IOMMU's fault
 * interrupt) is not undone by it. Each reason for a refusal is one line
 * the first time for the function (d->said), a bus-mastering refusal once
 * more after each grant: a driver that retries cannot flood the log. */
void pci_enable(struct pci_dev *d, bool mem, bool io, bool bus_master);
/* the first BAR of d refused at enumeration of the kind (io: I/O, else
 * memory), -1 if none: that decode may not be turned on */
static inline int pci_decode_refused(const struct pci_dev *d, bool io)
{
	for (int i = 0; i < 6; i++)
		if (d->bar_refused >> i & 1 && d->bar[i].io == io)
			return i;
	return -1;
}
typedef bool (*pci_bus_master_check_t)(const struct pci_dev *d);
void pci_set_bus_master_check(pci_bus_master_check_t may_master);
/* MSI-X table entry i of d: the message (msg: address low, high, data;
 * NULL: left as it is), written masked, then the mask bit as asked, with
 * memory decode on for the writes (a function with Memory Space Enable
 * clear drops them) and the Command register given back as it was; read
 * back. False when the entry does not read back as written (or i is
 * past the table), with one line the first time for the function
 * (PCI_SAID_MSIX), every failure counted in d->msix_failed (/api/pci):
 * a driver that keeps writing a quirky table cannot flood the log. The
 * entry is then left masked,
 * whatever was asked (masked again and read back), or, when that does
 * not take either, the Function Mask is set for good (d->msix_fn_masked).
 * Memory decode is not turned on for a function with a refused memory
 * BAR: the Function Mask masks its entries instead. */
bool pci_msix_entry_set(struct pci_dev *d, unsigned i, bool masked,
			const uint32_t *msg);
/* "0000:BB:DD.F" */
void pci_addr_str(const struct pci_dev *d, char *buf, unsigned n);
#endif
