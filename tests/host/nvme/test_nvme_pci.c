/* tests/host/nvme/test_nvme_pci.c — the NVMe driver's PCI attachment
 * (drivers/nvme/nvme_pci.c) on the host over the fake broker: what an
 * attach that fails leaves of the owner's kernel memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dma/owner.h"
#include "fake_broker.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/pci/pci.h"
#include "owner_shim.h"
#include "shim.h"

#define OWNER 7

extern const struct driver nvme_driver;

/* what nvme_pci.c needs from the kernel besides the broker: no MSI-X
 * (d->cap_msix is 0, so no vector is bound), the default command line */
int irq_bind(struct pci_dev *d, uint16_t owner, unsigned msix_index,
	     irq_handler_t fn, void *arg, struct irq_cap *out)
{
	(void)d, (void)owner, (void)msix_index, (void)fn, (void)arg, (void)out;
	return -1;
}
void irq_unmask(const struct irq_cap *c)
{
	(void)c;
}
void irq_revoke(struct irq_cap *c)
{
	(void)c;
}
uint64_t cmdline_u64(const char *key, uint64_t def)
{
	(void)key;
	return def;
}

static uint64_t kmem_used(void)
{
	return dma_owner_acct(OWNER)->use[DMA_CHARGE_KMEM];
}

/* a broker that will not open (fenced after identify, owner revoked):
 * the attach fails and gives back the controller state it allocated */
static void test_broker_open_fails(void **state)
{
	(void)state;
	static struct pci_dev d;
	fake_broker_init(OWNER);
	fb.fail_open = true;
	assert_int_equal(kmem_used(), 0);
	assert_int_equal(nvme_driver.attach(&d, OWNER), -1);
	assert_int_equal(kmem_used(), 0);
}

/* the controller never becomes ready: the same */
static void test_enable_fails(void **state)
{
	(void)state;
	static struct pci_dev d;
	fake_broker_init(OWNER);
	fb.fail_enable = true;
	assert_int_equal(nvme_driver.attach(&d, OWNER), -1);
	assert_int_equal(kmem_used(), 0);
}

int main(void)
{
	shim_quiet = getenv("NVME_TEST_VERBOSE") == NULL;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_broker_open_fails),
	    cmocka_unit_test(test_enable_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
