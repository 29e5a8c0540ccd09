/* tests/host/iommu/vtd_fake.h — a VT-d remapping unit on the host, under
 * the real kernel/iommu code (vtd.c, domain.c, ir.c), for test_vtd.c and
 * fuzz_vtd_seq.c (each includes it once; it defines what vtd.c reaches
 * outside kernel/iommu: pci_devs, acpi_find, mm_map_mmio, vector_alloc,
 * lapic_id).
 *
 * The register page is plain memory. The unit acts whenever the kernel
 * waits, i.e. reads the clock: the binary is linked with
 * -Wl,--wrap=time_now_us,--wrap=vtd_flush,--wrap=page_alloc (suite.mk:
 * page_alloc fails at the fake.alloc_fail-th call from now), and every
 * time_now_us call first lets the unit take what was written — as QEMU
 * 7.2's intel_iommu does synchronously on the register write
 * (shared/reference/vtd.md §5):
 *  - GCMD: TE, QIE, IRE, CFI follow the write; SRTP latches RTADDR, SIRTP
 *    IRTA (GSTS.RTPS/IRTPS); WBF completes at once (never on a stopped
 *    unit) and clears wb_dirty, which every vtd_flush sets and every
 *    invalidation descriptor run clears (§6.8). The page keeps a
 *    sentinel (bit 0, reserved) after each write so the next is seen.
 *  - IQT: every descriptor from IQH to IQT runs in order: context-cache,
 *    IOTLB and interrupt-entry-cache invalidations are reported to the
 *    test (fake_inv), a wait with Status Write writes its data; an unknown
 *    type or a wait without SW sets FSTS.IQE and stops there; SW with IF
 *    (QEMU aborts) is a misuse.
 *  - FSTS and FRCD are write-1-to-clear, at the write (vtd_host_wrote):
 *    FSTS keeps FRI = 0xab as a marker so a write is never the value
 *    already there; an injected fault record (fake_fault) has a non-zero
 *    reason, so the kernel's W1C of F alone is a visible write. After a
 *    record's write, fake_cleared_hook runs (a device faulting again).
 *  - A unit that stops (fake.stop) leaves every descriptor unrun; with
 *    fake.stop_iqe it reports an invalidation queue error instead. Each
 *    clock read then moves the shim's clock 1 ms, so the kernel's wait
 *    times out at once.
 * Every vtd_flush the kernel makes (vtd_flush is alone in kernel/iommu/
 * flush.c, so the wrap binds vtd.c's calls as well as domain.c's and
 * ir.c's) is reported too (fake_flush_hook), so a test sees table states
 * that last only inside one call. A unit that is not coherent
 * (!c.coherent, ECAP.C = 0) reads memory, not the CPU's caches: for every
 * page the kernel flushes a line of (its own structures, context tables,
 * second-level tables) the fake keeps what each line held at its last
 * flush (fake_sh, dropped when the page is freed) and calls it a misuse
 * when what the unit reads is not that (fake_read): the root table at
 * SRTP, the interrupt remapping table at SIRTP, each descriptor as IQT
 * passes it, the wait status word before it writes it, and what a test or
 * the fuzzer walks as the unit would — the root and context entry of a
 * function (fake_ctx), table pages (fake_table), IRTEs (fake_irte); a line
 * never flushed since the page was allocated counts as unflushed. */
#ifndef VTD_FAKE_H
#define VTD_FAKE_H
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dmar_build.h"
#include "kernel/cpu/cpu.h"
#include "kernel/iommu/dmar.h"
#include "kernel/iommu/iommu.h"
#include "kernel/iommu/vtd_internal.h"
#include "kernel/iommu/vtd_reg.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "shim.h"

#define FAKE_BASE      0xfed90000ull
#define FAKE_NFN       4
#define FAKE_FRO       0x220 /* QEMU's */
#define FAKE_IRO       0xf0
#define FAKE_VECTOR    0x41
#define FAKE_FRI       (0xabu << 8)
#define FAKE_RTPS      (1u << 30)
#define FAKE_IRTPS     (1u << 24)
#define FAKE_GCMD_NONE 1u /* reserved bit: no write since the last look */

/* four endpoints: 00:02.0, 00:03.0, 01:00.0 (a second context table),
 * 00:1f.7 */
struct pci_dev pci_devs[FAKE_NFN];
unsigned pci_ndevs;
static uint8_t fake_cfg[FAKE_NFN][4096];
static const uint8_t fake_bdf[FAKE_NFN][3] = {
    {0, 2, 0}, {0, 3, 0}, {1, 0, 0}, {0, 0x1f, 7}};

static inline uint16_t fake_sid(unsigned fn)
{
	return (uint16_t)(fake_bdf[fn][0] << 8 | fake_bdf[fn][1] << 3 |
			  fake_bdf[fn][2]);
}

struct fake_cfg {
	bool four_level; /* SAGAW offers 48-bit (4-level) besides 39-bit */
	bool no_three;	 /* ... and not 39-bit (3-level) */
	unsigned mgaw;	 /* CAP.MGAW + 1 */
	unsigned haw;	 /* DMAR host address width */
	bool cm, coherent, ir, rwbf, drain;
	unsigned nfr; /* fault recording registers, 1..4 */
	unsigned nd;  /* CAP.ND: 2^(4 + 2 nd) domain ids */
};

static struct fake_unit {
	uint32_t regs[VTD_REG_SPAN / 4];
	struct fake_cfg c;
	bool active; /* a unit is set up: time_now_us lets it act */
	uint32_t gsts, fsts;
	uint32_t frcd_dw3[4]; /* last values the unit wrote */
	unsigned iqh;
	uint64_t root, irt; /* latched */
	bool stop, stop_iqe;
	const char *misuse;
	uint64_t cc, iotlb, iec, waits; /* descriptors run */
	/* RWBF: an entry the kernel wrote since the last write-buffer flush
	 * (GCMD.WBF, or any invalidation descriptor run, §6.8): the unit may
	 * not see it yet */
	bool wb_dirty;
	uint64_t wbf; /* write-buffer flushes done */
	unsigned
	    alloc_fail; /* page_alloc calls to the one that fails; 0 none */
	struct dmar_buf dmar;
} fake;

/* not coherent (ECAP.C = 0): the unit reads memory, not the CPU's caches.
 * For each page the kernel flushed a line of since it was allocated, what
 * memory held at each 64-byte line's last vtd_flush and which lines were
 * flushed; what the unit reads must match it. FAKE_SH_PAGES is past what
 * a test or a fuzz input makes (at most 64 steps, a few tables each) */
#define FAKE_SH_PAGES 1024
static struct fake_shadow {
	uint64_t pa;
	uint64_t flushed; /* one bit per line */
	uint8_t b[4096];
} fake_sh[FAKE_SH_PAGES];
static unsigned fake_nsh;

static inline void fake_misuse(const char *what)
{
	if (!fake.misuse)
		fake.misuse = what;
}

static inline struct fake_shadow *fake_sh_of(uint64_t pa, bool add)
{
	pa &= ~0xfffull;
	for (unsigned i = 0; i < fake_nsh; i++)
		if (fake_sh[i].pa == pa)
			return &fake_sh[i];
	if (!add)
		return NULL;
	if (fake_nsh == FAKE_SH_PAGES) {
		fake_misuse("fake: more flushed pages than FAKE_SH_PAGES");
		return NULL;
	}
	fake_sh[fake_nsh] = (struct fake_shadow){.pa = pa};
	return &fake_sh[fake_nsh++];
}

/* page_free (shim_page_hook): a page allocated again starts unflushed */
static inline void fake_sh_drop(uint64_t pa, size_t len)
{
	for (unsigned i = 0; i < fake_nsh;)
		if (fake_sh[i].pa >= pa && fake_sh[i].pa < pa + len)
			fake_sh[i] = fake_sh[--fake_nsh];
		else
			i++;
}

/* the unit reads [pa, pa + len) (within one page): on a unit that is not
 * coherent every byte of it must be what the kernel's last vtd_flush of
 * its line pushed to memory, else the unit reads stale memory */
static inline void fake_read(uint64_t pa, size_t len, const char *what)
{
	if (fake.c.coherent || !pa)
		return;
	const struct fake_shadow *sh = fake_sh_of(pa, false);
	unsigned off = (unsigned)(pa & 0xfff), last = off + (unsigned)len - 1;
	/* the lines off..last lie in: bits off / 64 to last / 64 */
	uint64_t lines = (~0ull >> (63 - last / 64)) & (~0ull << (off / 64));
	if (!sh || (sh->flushed & lines) != lines ||
	    memcmp(&sh->b[off], (const void *)pa, len))
		fake_misuse(what);
}

/* the unit wrote [pa, pa + len) itself (memory holds it now, whatever the
 * CPU's caches do) */
static inline void fake_wrote_mem(uint64_t pa, size_t len)
{
	struct fake_shadow *sh = fake_sh_of(pa, false);
	if (sh)
		memcpy(&sh->b[pa & 0xfff], (const void *)pa, len);
}

/* the context entry of function fn in the root table the unit latched
 * (NULL: none latched, or no context table for its bus), read as the unit
 * reads them: the root entry and the context entry flushed (§9.1, §9.3) */
static inline const uint64_t *fake_ctx(unsigned fn)
{
	if (!fake.root)
		return NULL;
	uint16_t sid = fake_sid(fn);
	const uint64_t *root = (const uint64_t *)fake.root + 2 * (sid >> 8);
	fake_read((uint64_t)root, 16, "root entry read unflushed");
	if (!(root[0] & VTD_ROOT_P))
		return NULL;
	const uint64_t *ce =
	    (const uint64_t *)(root[0] & VTD_SL_ADDR_MASK) + 2 * (sid & 0xff);
	fake_read((uint64_t)ce, 16, "context entry read unflushed");
	return ce;
}

/* a second-level table page as the unit reads it (§9.8): all 512
 * entries, any of which it may walk */
static inline const uint64_t *fake_table(uint64_t pt)
{
	fake_read(pt, 4096, "second-level table read unflushed");
	return (const uint64_t *)pt;
}

/* IRTE i of the table the unit latched, as the unit reads it (§9.10) */
static inline const uint64_t *fake_irte(unsigned i)
{
	const uint64_t *e = (const uint64_t *)fake.irt + 2 * i;
	fake_read((uint64_t)e, 16, "interrupt remapping entry read unflushed");
	return e;
}

/* the test's view of what the unit does (any may be NULL) */
enum fake_inv_kind { FAKE_CC, FAKE_IOTLB, FAKE_IEC };
static void (*fake_inv_hook)(enum fake_inv_kind k, unsigned g, uint16_t did,
			     uint16_t sid, uint32_t idx, bool before);
static void (*fake_flush_hook)(const void *p, size_t len);

/* ---- what vtd.c reaches outside kernel/iommu ------------------------- */
uint64_t acpi_find(const char *sig)
{
	return fake.active && !memcmp(sig, "DMAR", 4) ? (uint64_t)fake.dmar.b
						      : 0;
}
void *mm_map_mmio(uint64_t phys, size_t len)
{
	return phys == FAKE_BASE && len <= VTD_REG_SPAN ? (void *)fake.regs
							: NULL;
}
uint8_t vector_alloc(void (*handler)(void *), void *arg)
{
	(void)handler, (void)arg;
	return FAKE_VECTOR;
}
uint32_t lapic_id(void)
{
	return 0;
}

static inline uint32_t *fake_reg(uint32_t off)
{
	return &fake.regs[off / 4];
}
static inline uint64_t fake_reg64(uint32_t off)
{
	return fake.regs[off / 4] | (uint64_t)fake.regs[off / 4 + 1] << 32;
}

static inline bool fake_bme(unsigned fn)
{
	return pci_cfg_read16(&pci_devs[fn], PCI_COMMAND) & PCI_COMMAND_MASTER;
}
static inline void fake_set_bme(unsigned fn)
{
	pci_cfg_write16(&pci_devs[fn], PCI_COMMAND,
			pci_cfg_read16(&pci_devs[fn], PCI_COMMAND) |
			    PCI_COMMAND_MASTER);
}

/* ---- the unit ---------------------------------------------------------- */

static inline void fake_gcmd(void)
{
	uint32_t v = *fake_reg(VTD_GCMD);
	if (v == FAKE_GCMD_NONE)
		return;
	*fake_reg(VTD_GCMD) = FAKE_GCMD_NONE;
	const uint32_t known = VTD_GCMD_TE | VTD_GCMD_SRTP | VTD_GCMD_WBF |
			       VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_SIRTP |
			       VTD_GCMD_CFI;
	if (v & ~known)
		fake_misuse("GCMD write with unknown bits");
	const uint32_t persist =
	    VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI;
	if ((v & VTD_GCMD_QIE) && !(fake.gsts & VTD_GCMD_QIE)) {
		fake.iqh = 0;
		*fake_reg(VTD_IQH) = 0;
	}
	fake.gsts = (fake.gsts & ~persist) | (v & persist);
	if (v & VTD_GCMD_SRTP) {
		fake.root = fake_reg64(VTD_RTADDR) & ~0xfffull;
		fake.gsts |= FAKE_RTPS;
		fake_read(fake.root, 4096,
			  "root table latched (SRTP) unflushed");
	}
	if (v & VTD_GCMD_WBF) {
		if (fake.stop) { /* GSTS.WBFS stays set: never completes */
			fake.gsts |= VTD_GCMD_WBF;
		} else {
			fake.gsts &= ~VTD_GCMD_WBF;
			fake.wb_dirty = false;
			fake.wbf++;
		}
	}
	if (v & VTD_GCMD_SIRTP) {
		fake.irt = fake_reg64(VTD_IRTA) & ~0xfffull;
		fake.gsts |= FAKE_IRTPS;
		fake_read(fake.irt, 4096,
			  "interrupt remapping table latched (SIRTP) "
			  "unflushed");
	}
	*fake_reg(VTD_GSTS) = fake.gsts;
}

static inline void fake_show_fsts(void)
{
	uint32_t ppf = 0;
	for (unsigned i = 0; i < fake.c.nfr; i++)
		if (fake.frcd_dw3[i] & VTD_FRCD_DW3_F)
			ppf = VTD_FSTS_PPF;
	fake.fsts = (fake.fsts & ~VTD_FSTS_PPF) | ppf;
	*fake_reg(VTD_FSTS) = fake.fsts | FAKE_FRI;
}

static inline void fake_w1c(void)
{
	uint32_t v = *fake_reg(VTD_FSTS);
	if (v != (fake.fsts | FAKE_FRI))
		fake.fsts &= ~(v & (VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE |
				    VTD_FSTS_ITE));
	for (unsigned i = 0; i < fake.c.nfr; i++) {
		uint32_t *dw3 = fake_reg(FAKE_FRO + 16 * i + 12);
		if (*dw3 != fake.frcd_dw3[i] && (*dw3 & VTD_FRCD_DW3_F))
			fake.frcd_dw3[i] = 0;
		*dw3 = fake.frcd_dw3[i];
	}
	fake_show_fsts();
}

static inline void fake_desc(uint64_t lo, uint64_t hi)
{
	unsigned type = lo & 0xf, g = (lo >> 4) & 3;
	uint16_t did = (uint16_t)(lo >> 16), sid = (uint16_t)(lo >> 32);
	switch (type) {
	case VTD_QI_CC:
		if (!g)
			fake_misuse(
			    "context-cache invalidation, granularity 0");
		if (fake_inv_hook)
			fake_inv_hook(FAKE_CC, g, did, sid, 0, true);
		fake.cc++;
		if (fake_inv_hook)
			fake_inv_hook(FAKE_CC, g, did, sid, 0, false);
		break;
	case VTD_QI_IOTLB:
		if (!g)
			fake_misuse("IOTLB invalidation, granularity 0");
		if (fake_inv_hook)
			fake_inv_hook(FAKE_IOTLB, g, did, 0, 0, true);
		fake.iotlb++;
		if (fake_inv_hook)
			fake_inv_hook(FAKE_IOTLB, g, did, 0, 0, false);
		break;
	case VTD_QI_IEC: {
		unsigned gi = (lo >> 4) & 1;
		uint32_t idx = (uint32_t)(lo >> 32) & 0xffff;
		if ((lo >> 27) & 0x1f)
			fake_misuse("IEC index mask (never used)");
		if (fake_inv_hook)
			fake_inv_hook(FAKE_IEC, gi, 0, 0, idx, true);
		fake.iec++;
		if (fake_inv_hook)
			fake_inv_hook(FAKE_IEC, gi, 0, 0, idx, false);
		break;
	}
	case VTD_QI_WAIT:
		if ((lo & VTD_QI_WAIT_SW) && (lo & (1u << 4)))
			fake_misuse("wait descriptor with SW and IF (QEMU "
				    "7.2 aborts)");
		if (!(lo & VTD_QI_WAIT_SW))
			fake_misuse("wait descriptor without Status Write");
		if (lo & VTD_QI_WAIT_SW) {
			if (hi & 3)
				fake_misuse("wait status address unaligned");
			else {
				/* a dirty line of the status word would be
				 * written back over what the unit writes */
				fake_read(hi, 4,
					  "wait status word written unflushed");
				*(volatile uint32_t *)hi = (uint32_t)(lo >> 32);
				fake_wrote_mem(hi, 4);
			}
		}
		fake.waits++;
		break;
	default:
		fake_misuse("invalidation descriptor of an unknown type");
		break;
	}
}

static inline void fake_iq(void)
{
	if (!(fake.gsts & VTD_GCMD_QIE))
		return;
	uint64_t base = fake_reg64(VTD_IQA) & ~0xfffull;
	unsigned n = 256u << (fake_reg64(VTD_IQA) & 7);
	unsigned tail = (*fake_reg(VTD_IQT) >> VTD_IQT_SHIFT) & 0x7fff;
	if (tail >= n) {
		fake_misuse("IQT past the queue");
		return;
	}
	/* IQE or ITE set: no descriptor is fetched until cleared */
	while (fake.iqh != tail &&
	       !(fake.fsts & (VTD_FSTS_IQE | VTD_FSTS_ITE))) {
		if (fake.stop) {
			if (fake.stop_iqe)
				fake.fsts |= VTD_FSTS_IQE;
			break;
		}
		const uint64_t *d = (const uint64_t *)base + 2 * fake.iqh;
		fake_read((uint64_t)d, 16,
			  "invalidation descriptor fetched unflushed");
		fake_desc(d[0], d[1]);
		fake.wb_dirty = false; /* invalidations drain the buffer */
		fake.iqh = (fake.iqh + 1) % n;
	}
	*fake_reg(VTD_IQH) = fake.iqh << VTD_IQT_SHIFT;
}

/* let the unit take what the kernel wrote */
static inline void fake_step(void)
{
	if (!fake.active)
		return;
	fake_gcmd();
	fake_w1c();
	fake_iq();
	fake_show_fsts();
}

/* a kernel write to the unit's registers (vtd.c, host build): the fault
 * status and fault recording registers are write-1-to-clear at once, so a
 * record the kernel cleared reads clear before it looks again */
/* after the kernel cleared a fault record (a device that records again at
 * once, say); NULL: none */
static void (*fake_cleared_hook)(void);
/* cpu_host_irqs_off: kernel/cpu/cpu.h's cpu_irq_save, host build */

void vtd_host_wrote(const struct vtd_unit *u, uint32_t off)
{
	if (!fake.active || u->regs != (volatile uint8_t *)fake.regs)
		return;
	if (off == VTD_FSTS ||
	    (off >= FAKE_FRO && off < FAKE_FRO + 16 * fake.c.nfr)) {
		/* the fault interrupt takes records too (vtd_fault_intr):
		 * once it is unmasked, any other take with interrupts on
		 * may race it */
		if (!cpu_host_irqs_off &&
		    !(*fake_reg(VTD_FECTL) & VTD_FECTL_IM))
			fake_misuse("fault record or status cleared with "
				    "interrupts on");
		fake_w1c();
		fake_show_fsts();
	}
	if (off != VTD_FSTS && off >= FAKE_FRO &&
	    off < FAKE_FRO + 16 * fake.c.nfr && fake_cleared_hook)
		fake_cleared_hook();
}

uint64_t __real_page_alloc(size_t n, uint64_t limit);
uint64_t __wrap_page_alloc(size_t n, uint64_t limit)
{
	if (fake.alloc_fail && !--fake.alloc_fail)
		return 0;
	return __real_page_alloc(n, limit);
}

uint64_t __real_time_now_us(void);
uint64_t __wrap_time_now_us(void)
{
	fake_step();
	/* a stopped unit: the kernel's wait runs out in 100 reads, not in
	 * a million of the shim's 100 ns ticks */
	if (fake.active && fake.stop)
		shim_clock_ns += 1000000;
	return __real_time_now_us();
}
void __real_vtd_flush(const struct vtd_unit *u, const void *p, size_t len);
void __wrap_vtd_flush(const struct vtd_unit *u, const void *p, size_t len)
{
	__real_vtd_flush(u, p, len);
	if (fake.active)
		fake.wb_dirty = true;
	/* memory holds those lines now */
	for (uint64_t a = (uint64_t)p & ~63ull;
	     fake.active && p && a < (uint64_t)p + len; a += 64) {
		struct fake_shadow *sh = fake_sh_of(a, true);
		if (!sh)
			break;
		memcpy(&sh->b[a & 0xfff], (const void *)a, 64);
		sh->flushed |= 1ull << ((a & 0xfff) / 64);
	}
	if (fake.active && fake_flush_hook)
		fake_flush_hook(p, len);
}

/* a DMA fault as QEMU's vtd_report_dmar_fault records it: one record per
 * source id while its F is set; no free record sets PFO, lost */
static inline void fake_fault(uint16_t sid, uint8_t reason, bool write,
			      uint64_t addr)
{
	int slot = -1;
	for (unsigned i = 0; i < fake.c.nfr; i++) {
		uint32_t off = FAKE_FRO + 16 * i;
		if (fake.frcd_dw3[i] & VTD_FRCD_DW3_F) {
			if ((*fake_reg(off + 8) & 0xffff) == sid)
				return;
		} else if (slot < 0) {
			slot = (int)i;
		}
	}
	if (slot < 0) {
		fake.fsts |= VTD_FSTS_PFO;
		fake_show_fsts();
		return;
	}
	uint32_t off = FAKE_FRO + 16 * (unsigned)slot;
	*fake_reg(off) = (uint32_t)addr & ~0xfffu;
	*fake_reg(off + 4) = (uint32_t)(addr >> 32);
	*fake_reg(off + 8) = sid;
	fake.frcd_dw3[slot] = VTD_FRCD_DW3_F | (write ? 0 : VTD_FRCD_DW3_T) |
			      (reason ? reason : 1);
	*fake_reg(off + 12) = fake.frcd_dw3[slot];
	fake_show_fsts();
}

/* a fresh unit with configuration c behind a DMAR (one DRHD, INCLUDE_PCI_
 * ALL) and the four endpoints; the caller then runs iommu_init() */
static inline void fake_setup(const struct fake_cfg *c)
{
	memset(&fake, 0, sizeof(fake));
	fake_nsh = 0;
	shim_page_hook = fake_sh_drop;
	fake.c = *c;
	uint64_t cap = (uint64_t)(c->nd & 7) << VTD_CAP_ND_SHIFT |
		       (uint64_t)((c->no_three ? 0 : VTD_SAGAW_39) |
				  (c->four_level ? VTD_SAGAW_48 : 0))
			   << VTD_CAP_SAGAW_SHIFT |
		       (uint64_t)(c->mgaw - 1) << VTD_CAP_MGAW_SHIFT |
		       (uint64_t)(FAKE_FRO / 16) << VTD_CAP_FRO_SHIFT |
		       (uint64_t)(c->nfr - 1) << VTD_CAP_NFR_SHIFT |
		       (c->cm ? VTD_CAP_CM : 0) | (c->rwbf ? VTD_CAP_RWBF : 0) |
		       (c->drain ? VTD_CAP_DRD | VTD_CAP_DWD : 0);
	uint64_t ecap = VTD_ECAP_QI | (c->coherent ? VTD_ECAP_C : 0) |
			(c->ir ? VTD_ECAP_IR : 0) |
			(uint64_t)(FAKE_IRO / 16) << VTD_ECAP_IRO_SHIFT;
	fake.regs[VTD_VER / 4] = 0x10;
	fake.regs[VTD_CAP / 4] = (uint32_t)cap;
	fake.regs[VTD_CAP / 4 + 1] = (uint32_t)(cap >> 32);
	fake.regs[VTD_ECAP / 4] = (uint32_t)ecap;
	fake.regs[VTD_ECAP / 4 + 1] = (uint32_t)(ecap >> 32);
	fake.regs[VTD_GCMD / 4] = FAKE_GCMD_NONE;
	fake.regs[VTD_FECTL / 4] = VTD_FECTL_IM;
	fake_show_fsts();
	db_header(&fake.dmar, (uint8_t)(c->haw - 1), c->ir ? 1 : 0);
	size_t at =
	    db_drhd(&fake.dmar, DMAR_DRHD_INCLUDE_PCI_ALL, 0, FAKE_BASE);
	db_len16(&fake.dmar, at);
	uint32_t len = (uint32_t)fake.dmar.n;
	memcpy(fake.dmar.b + 4, &len, 4);
	pci_ndevs = FAKE_NFN;
	for (unsigned i = 0; i < FAKE_NFN; i++) {
		struct pci_dev *d = &pci_devs[i];
		memset(d, 0, sizeof(*d));
		memset(fake_cfg[i], 0, sizeof(fake_cfg[i]));
		d->bus = fake_bdf[i][0], d->dev = fake_bdf[i][1];
		d->fn = fake_bdf[i][2], d->cfg = fake_cfg[i];
		/* firmware left bus mastering on */
		fake_cfg[i][PCI_COMMAND] = PCI_COMMAND_MASTER;
	}
	memset(vtd_units, 0, sizeof(vtd_units[0]) * DMAR_MAX_UNITS);
	memset(vtd_domains, 0, sizeof(vtd_domains));
	vtd_nunits = 0;
	fake.active = true;
}
/* ---- the end of a test: every page the kernel took, given back --------- */
#define FAKE_MAX_PAGES 8192
static uint64_t fake_pages[FAKE_MAX_PAGES];
static unsigned fake_npages;

static inline void fake_page(uint64_t pa)
{
	if (!pa)
		return;
	for (unsigned i = 0; i < fake_npages; i++)
		if (fake_pages[i] == pa)
			return;
	if (fake_npages < FAKE_MAX_PAGES)
		fake_pages[fake_npages++] = pa;
}

static inline void fake_tree(uint64_t pt, unsigned level)
{
	fake_page(pt);
	if (level <= 1)
		return;
	const uint64_t *t = (const uint64_t *)pt;
	for (unsigned i = 0; i < 512; i++)
		if (t[i] & (VTD_SL_R | VTD_SL_W))
			fake_tree(t[i] & VTD_SL_ADDR_MASK, level - 1);
}

/* the pages of the unit's structures and every table reachable from the
 * root table or a domain; freed with page_free (which aborts on a page
 * freed twice or never allocated) */
static inline void fake_teardown(void)
{
	struct vtd_unit *u = &vtd_units[0];
	fake_npages = 0;
	if (u->root) {
		const uint64_t *root = (const uint64_t *)u->root;
		for (unsigned b = 0; b < 256; b++) {
			if (!(root[2 * b] & VTD_ROOT_P))
				continue;
			uint64_t ctp = root[2 * b] & VTD_SL_ADDR_MASK;
			fake_page(ctp);
			const uint64_t *ct = (const uint64_t *)ctp;
			for (unsigned f = 0; f < 256; f++)
				if (ct[2 * f] & VTD_CTX_P)
					fake_tree(ct[2 * f] & VTD_SL_ADDR_MASK,
						  (ct[2 * f + 1] & 7) == 2 ? 4
									   : 3);
		}
	}
	/* also the tables of a domain not created (withheld) */
	for (unsigned i = 0; i < VTD_MAX_DOMAINS; i++)
		if (vtd_domains[i].pt)
			fake_tree(vtd_domains[i].pt, u->levels);
	fake_page(u->irt);
	fake_page(u->iq);
	fake_page(u->status);
	fake_page(u->root);
	for (unsigned i = 0; i < fake_npages; i++)
		page_free(fake_pages[i], 1);
	fake.active = false;
	shim_page_hook = NULL;
	memset(vtd_units, 0, sizeof(vtd_units[0]) * DMAR_MAX_UNITS);
	memset(vtd_domains, 0, sizeof(vtd_domains));
	vtd_nunits = 0;
}
#endif
