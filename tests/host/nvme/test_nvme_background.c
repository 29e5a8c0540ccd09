/* tests/host/nvme/test_nvme_background.c — the nvme-background proof's
 * poller (kernel/proof/nvme_background.c, included here so its statics are
 * in reach) over the real block device registry: once its block device is
 * unregistered — the driver detached, as nvme-rebind's unbind does before
 * it frees the old instance's memory — the poller reads nothing more of
 * it (the device's memory is freed here, so ASan finds any use) and says
 * so in one line. Before, it went on calling the freed device's read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "kernel/proof/nvme_background.c"
#include "shim.h"

static bool (*poller)(void);
void poller_add(bool (*fn)(void))
{
	poller = fn;
}
static bool passed;
void proof_result(const char *name, bool pass, const char *fmt, ...)
{
	(void)name, (void)fmt;
	passed = pass;
}
uint32_t nvme_proof_pat(uint64_t lba, uint32_t word, uint32_t seed)
{
	(void)lba, (void)word, (void)seed;
	return 0;
}

static unsigned reads;
static int dev_read(struct blockdev *b, uint64_t lba, uint32_t count, void *buf)
{
	(void)lba;
	memset(buf, 0, (size_t)count * b->block_size);
	reads++;
	return 0;
}

static void test_background_stops_at_unregister(void **st)
{
	(void)st;
	struct blockdev *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	strlcpy(d->name, "nvme0n1", sizeof(d->name));
	d->block_size = 4096;
	d->block_count = 1024;
	d->read = dev_read;
	blockdev_register(d);
	proof_nvme_background();
	assert_true(passed);
	assert_non_null(poller);
	assert_int_equal(reads, 1);
	shim_clock_ns += 2ull * BG_INTERVAL_US * 1000;
	poller();
	assert_int_equal(reads, 2);
	/* the driver detaches: unregistered, then its memory freed */
	blockdev_unregister(d);
	free(d);
	uint64_t lines = shim_kprintf_calls;
	for (unsigned i = 0; i < 4; i++) {
		shim_clock_ns += 2ull * BG_INTERVAL_US * 1000;
		assert_false(poller());
	}
	assert_int_equal(reads, 2);
	assert_int_equal(shim_kprintf_calls - lines, 1);
	assert_non_null(strstr(shim_last_line, "nvme0n1 unregistered"));
}

int main(void)
{
	const struct CMUnitTest t[] = {
	    cmocka_unit_test(test_background_stops_at_unregister),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
