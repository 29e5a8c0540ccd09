/* kernel/pci/msix.c — the kernel's writes to a function's MSI-X table
 * (PCI 3.0 §6.8.2). The table lies in a memory BAR, and a function whose
 * Memory Space Enable (Command bit 1) is clear does not take memory
 * writes (PCIe Base 5.0 §7.5.1.1.3: they are Unsupported Requests), while
 * it still sends its messages as the table last held them: a mask written
 * then is lost and the interrupt the kernel thinks masked is not. So each
 * write here turns memory decode on for itself, gives the Command register
 * back as it was, and reads the entry back. Pure over pci_cfg_* and
 * d->msix_table, so host tests run it over a device model. */
#include "kernel/lib/lib.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"

#ifdef CAPOS_HOST
/* host fuzzers play the device: told of each table write once it is in
 * the buffer, a model may drop it (decode off) or change it */
void (*pci_host_msix_written)(volatile uint32_t *p);
#endif

static void tbl_write(volatile uint32_t *p, uint32_t v)
{
	*p = v;
#ifdef CAPOS_HOST
	if (pci_host_msix_written)
		pci_host_msix_written(p);
#endif
}

static volatile uint32_t *entry(const struct pci_dev *d, unsigned i)
{
	return d->msix_table + i * (PCI_MSIX_ENTRY_SIZE / 4);
}

/* the Function Mask in Message Control, a configuration write memory
 * decode does not gate: every vector of d masked (PCI 3.0 §6.8.2.3),
 * for good (d->msix_fn_masked); read back */
static bool fn_mask(struct pci_dev *d)
{
	uint8_t c = d->cap_msix;
	d->msix_fn_masked = true;
	pci_cfg_write16(d, c + PCI_MSIX_FLAGS,
			pci_cfg_read16(d, c + PCI_MSIX_FLAGS) |
			    PCI_MSIX_FLAGS_MASKALL);
	return pci_cfg_read16(d, c + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_MASKALL;
}

bool pci_msix_entry_set(struct pci_dev *d, unsigned i, bool masked,
			const uint32_t *msg)
{
	if (!d->msix_table || i >= d->msix_size)
		return false;
	uint16_t cmd = pci_cfg_read16(d, PCI_COMMAND);
	/* not for a function with a refused memory BAR: with decode on it
	 * would answer at that BAR's address too (the Function Mask, a
	 * configuration write, masks without it) */
	bool on = cmd & PCI_COMMAND_MEM;
	int refused = on ? -1 : pci_decode_refused(d, false);
	bool turned_on = !on && refused < 0;
	if (turned_on)
		pci_cfg_write16(d, PCI_COMMAND, cmd | PCI_COMMAND_MEM);
	/* a function whose decode stays off reads all ones: a mask would
	 * seem to take */
	bool dec = on || (turned_on &&
			  (pci_cfg_read16(d, PCI_COMMAND) & PCI_COMMAND_MEM));
	volatile uint32_t *e = entry(d, i);
	volatile uint32_t *ctrl = &e[PCI_MSIX_ENTRY_CTRL / 4];
	/* not read while the device does not decode (all ones, and an
	 * Unsupported Request on real hardware) */
	uint32_t ctl = dec ? *ctrl : 0;
	if (dec && msg) { /* masked while the message changes */
		tbl_write(ctrl, ctl | PCI_MSIX_ENTRY_CTRL_MASKBIT);
		tbl_write(&e[PCI_MSIX_ENTRY_ADDR_LO / 4], msg[0]);
		tbl_write(&e[PCI_MSIX_ENTRY_ADDR_HI / 4], msg[1]);
		tbl_write(&e[PCI_MSIX_ENTRY_DATA / 4], msg[2]);
	}
	ctl = masked ? ctl | PCI_MSIX_ENTRY_CTRL_MASKBIT
		     : ctl & ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
	if (dec)
		tbl_write(ctrl, ctl);
	/* the read also makes the posted writes land before it returns */
	bool ok = dec && *ctrl == ctl &&
		  (!msg || (e[PCI_MSIX_ENTRY_ADDR_LO / 4] == msg[0] &&
			    e[PCI_MSIX_ENTRY_ADDR_HI / 4] == msg[1] &&
			    e[PCI_MSIX_ENTRY_DATA / 4] == msg[2]));
	/* a write that did not take leaves the entry masked, whatever was
	 * asked: an unmask that took with a message that did not would
	 * send the old one. Masked again and read back */
	bool left_masked = false;
	if (!ok && dec) {
		tbl_write(ctrl, *ctrl | PCI_MSIX_ENTRY_CTRL_MASKBIT);
		left_masked = *ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	/* only memory decode goes back as it was: bus mastering, which an
	 * IOMMU fault may have turned off meanwhile (from its interrupt),
	 * stays as it is now */
	if (turned_on)
		pci_cfg_write16(d, PCI_COMMAND,
				pci_cfg_read16(d, PCI_COMMAND) &
				    ~PCI_COMMAND_MEM);
	if (ok)
		return true;
	/* every failure masks as above; only the first of the function is
	 * a line (a driver that keeps masking a quirky table would print a
	 * line a call), the rest are counted for /api/pci */
	bool fm = !left_masked && fn_mask(d);
	d->msix_failed++;
	if (!pci_said_first(d, PCI_SAID_MSIX))
		return false;
	char a[16], why[48] = "did not take the";
	pci_addr_str(d, a, sizeof(a));
	if (refused >= 0)
		ksnprintf(why, sizeof(why),
			  "(memory decode refused: BAR%d) not given the",
			  refused);
	kprintf("pci %s: MSI-X entry %u %s kernel's %s%s\n", a, i, why,
		masked ? "mask" : "unmask",
		left_masked ? "; left masked"
		: fm	    ? "; every vector masked by the Function Mask"
			    : "; nor the Function Mask");
	return false;
}
