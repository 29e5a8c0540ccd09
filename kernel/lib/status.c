/* kernel/lib/status.c — lookup over the status providers that subsystems
 * register with STATUS_REGISTER (kernel/lib/status.h). In the kernel the
 * linker script gathers section .capos_status between __status_start and
 * __status_end; on the host a test points status_host_table at its own
 * array (none by default). */
#include "kernel/lib/status.h"

#include "kernel/lib/lib.h"

#ifdef CAPOS_HOST
const struct status_provider *status_host_table;
unsigned status_host_count;
#define STATUS_BEGIN status_host_table
#define STATUS_COUNT status_host_count
#else
extern const struct status_provider __status_start[], __status_end[];
#define STATUS_BEGIN __status_start
#define STATUS_COUNT ((unsigned)(__status_end - __status_start))
#endif

const struct status_provider *status_at(unsigned i)
{
	if (i >= STATUS_COUNT)
		return NULL;
	return &STATUS_BEGIN[i];
}

const struct status_provider *status_find(const char *name)
{
	if (!name)
		return NULL;
	for (unsigned i = 0; i < STATUS_COUNT; i++) {
		const struct status_provider *p = &STATUS_BEGIN[i];
		if (p->name && p->fn && !strcmp(p->name, name))
			return p;
	}
	return NULL;
}
