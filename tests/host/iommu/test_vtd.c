/* tests/host/iommu/test_vtd.c — the VT-d code (kernel/iommu vtd.c,
 * domain.c, ir.c) on the host. First over a register page in memory that
 * no unit ever answers: queued invalidation must never report a wait
 * descriptor complete that the unit did not complete, whatever the
 * sequence number — a caller (iommu_unmap, dma_pool_revoke) frees pages on
 * that word. Then over the fake unit of vtd_fake.h, brought up by
 * iommu_init: the cases tests/host/iommu/fuzz_vtd_seq.c found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/iommu/vtd_internal.h"
#include "kernel/iommu/vtd_reg.h"
#include "kernel/mm/mm.h"
#include "kernel/pci/pci.h"
#include "shim.h"
#include "vtd_fake.h"

static uint32_t regs[VTD_REG_SPAN / 4];

static struct vtd_unit *silent_unit(uint32_t wait_seq)
{
	struct vtd_unit *u = &vtd_units[0];
	memset(u, 0, sizeof(*u));
	memset(regs, 0, sizeof(regs));
	u->regs = (volatile uint8_t *)regs;
	u->ecap = VTD_ECAP_QI | VTD_ECAP_C; /* coherent: no clflush */
	u->iq = page_alloc(1, 0);
	u->status = page_alloc(1, 0);
	assert_true(u->iq && u->status);
	u->up = true;
	u->wait_seq = wait_seq;
	vtd_nunits = 1;
	return u;
}

static void free_unit(struct vtd_unit *u)
{
	page_free(u->iq, 1);
	page_free(u->status, 1);
}

/* the unit never writes the status word: every invalidation times out,
 * the unit is given up, and the caller hears -1 */
static void test_unanswered_wait_fails(void **st)
{
	static const uint32_t seqs[] = {0, 5, 0x7fffffff, UINT32_MAX - 1,
					UINT32_MAX};
	for (unsigned i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		struct vtd_unit *u = silent_unit(seqs[i]);
		print_message("wait_seq 0x%x\n", seqs[i]);
		assert_int_equal(vtd_inv_domain(u, 1), -1);
		assert_true(u->broken);
		assert_int_equal(u->waits, 0);
		free_unit(u);
	}
}

int main(void)
{
	shim_quiet = 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unanswered_wait_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
