/* tests/host/authority/auth_devs.h — what the real Interrupt and DeviceMmio
 * code (kernel/authority/irq.c, mmio.c) calls outside the authority layer,
 * for the host binaries of this suite that link it (authority_test,
 * fuzz_authority_seq): CPU vectors that remember who holds them, a local
 * APIC with id 0, an IOMMU without interrupt remapping unless a test asks
 * for it (host_irq_remap), and PCI
 * configuration space read and written through struct pci_dev's cfg (the
 * test points it at 4 KiB of its own). Each binary includes it once; it
 * defines mm_map_mmio itself, over its own BAR memory. A binary that links
 * kernel/pci/pci_cfg.c itself (its accessors, pci_enable and the
 * pci_host_cfg_written hook) defines AUTH_DEVS_PCI_CFG first and gets
 * none of the configuration-space part here. */
#ifndef CAPOS_AUTH_DEVS_H
#define CAPOS_AUTH_DEVS_H
#include <stdio.h>
#include <string.h>

#include "kernel/cpu/cpu.h"
#include "kernel/iommu/iommu.h"
#include "kernel/pci/pci.h"

#define HOST_VECTOR_FIRST 0x30
#define HOST_VECTOR_LAST  0xef

/* every CPU vector: the handler and argument vector_alloc gave it (NULL:
 * free). vector_free of a free vector is counted, not ignored. */
static struct {
	void (*fn)(void *);
	void *arg;
} host_vectors[256];
static unsigned host_vector_bad_frees;

uint8_t vector_alloc(void (*handler)(void *), void *arg)
{
	for (unsigned v = HOST_VECTOR_FIRST; v <= HOST_VECTOR_LAST; v++)
		if (!host_vectors[v].fn) {
			host_vectors[v].fn = handler;
			host_vectors[v].arg = arg;
			return (uint8_t)v;
		}
	return 0;
}

void vector_free(uint8_t v)
{
	if (!host_vectors[v].fn)
		host_vector_bad_frees++;
	host_vectors[v].fn = NULL;
	host_vectors[v].arg = NULL;
}

/* withheld as kernel/cpu/cpu.c withholds: held for good, no handler */
static void host_vector_withheld(void *arg)
{
	(void)arg;
}

void vector_withhold(uint8_t v)
{
	if (!host_vectors[v].fn)
		host_vector_bad_frees++;
	host_vectors[v].fn = host_vector_withheld;
	host_vectors[v].arg = NULL;
}

/* deliver vector v as the CPU would: false when nothing holds it */
static inline bool host_vector_fire(uint8_t v)
{
	if (!host_vectors[v].fn)
		return false;
	host_vectors[v].fn(host_vectors[v].arg);
	return true;
}

uint32_t lapic_id(void)
{
	return 0;
}

/* calls of iommu_irq_alloc: irq_bind asked the IOMMU for an entry */
static unsigned host_irte_asks;
/* with host_irq_remap set the IOMMU remaps interrupts: each ask makes an
 * entry (host_irtes_live), each iommu_irq_free gives one back; a free
 * with none live is counted (host_irte_bad_frees), not ignored */
static bool host_irq_remap;
static unsigned host_irtes_live, host_irte_bad_frees;

int iommu_irq_alloc(uint16_t owner, uint8_t vector, uint32_t apic_id,
		    uint32_t *msi_addr, uint32_t *msi_data, uint16_t *handle)
{
	host_irte_asks++;
	(void)owner, (void)vector, (void)apic_id;
	(void)msi_addr, (void)msi_data;
	if (host_irq_remap) {
		*handle = (uint16_t)host_irtes_live++;
		return 0;
	}
	return 1; /* not remapped: compatibility format */
}

/* with host_irte_unconfirmed the unit does not confirm a free */
static bool host_irte_unconfirmed;

int iommu_irq_free(uint16_t owner, uint16_t handle)
{
	(void)owner, (void)handle;
	if (host_irtes_live)
		host_irtes_live--;
	else
		host_irte_bad_frees++;
	return host_irte_unconfirmed ? IOMMU_UNCONFIRMED : 0;
}

#ifndef AUTH_DEVS_PCI_CFG
uint16_t pci_cfg_read16(const struct pci_dev *d, uint16_t off)
{
	return (uint16_t)(d->cfg[off] | d->cfg[off + 1] << 8);
}

/* a test playing the device is told of each 16-bit write once it is in
 * configuration space (NULL: plain memory) */
static void (*host_cfg_written)(const struct pci_dev *d, uint16_t off);

void pci_cfg_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{
	d->cfg[off] = (uint8_t)v;
	d->cfg[off + 1] = (uint8_t)(v >> 8);
	if (host_cfg_written)
		host_cfg_written(d, off);
}

void pci_cfg_write32(const struct pci_dev *d, uint16_t off, uint32_t v)
{
	pci_cfg_write16(d, off, (uint16_t)v);
	pci_cfg_write16(d, off + 2, (uint16_t)(v >> 16));
}

/* kernel/pci/pci_cfg.c's, without its pci_enable (the shim's stands in) */
void pci_addr_str(const struct pci_dev *d, char *buf, unsigned n)
{
	snprintf(buf, n, "%04x:%02x:%02x.%x", d->seg, d->bus, d->dev, d->fn);
}
#endif
#endif
