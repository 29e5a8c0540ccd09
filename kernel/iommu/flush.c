/* kernel/iommu/flush.c — vtd_flush on its own, apart from vtd.c, domain.c
 * and ir.c which call it: the host tests link with --wrap=vtd_flush, which
 * binds only calls between objects, so the fake unit (tests/host/iommu/
 * vtd_fake.h) sees every flush the kernel makes, vtd.c's own too. */
#include "kernel/iommu/vtd_internal.h"
#include "kernel/iommu/vtd_reg.h"
#include "kernel/lib/lib.h"

/* ECAP.C = 0: the unit does not snoop, so every structure write is pushed
 * out of the CPU caches before the unit may read it (§6.1) */
void vtd_flush(const struct vtd_unit *u, const void *p, size_t len)
{
	if (u->ecap & VTD_ECAP_C)
		return;
	for (uintptr_t a = ALIGN_DOWN((uintptr_t)p, 64); a < (uintptr_t)p + len;
	     a += 64)
		__asm__ volatile("clflush %0" ::"m"(*(volatile char *)a));
	mb();
}
