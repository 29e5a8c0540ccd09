/* kernel/lib/status.c — lookup over the status providers that subsystems
 * register with STATUS_REGISTER (kernel/lib/status.h): the linker gathers
 * section capos_status between __start_capos_status and
 * __stop_capos_status (linker.ld in the kernel, the linker's own rule for
 * C-identifier sections on the host). */
#include "kernel/lib/status.h"

#include "kernel/lib/lib.h"

extern const struct status_provider __start_capos_status[]
    __attribute__((weak));
extern const struct status_provider __stop_capos_status[] __attribute__((weak));

static unsigned status_count(void)
{
	/* weak: a host binary with no provider has no section at all */
	if (!__start_capos_status)
		return 0;
	return (unsigned)(__stop_capos_status - __start_capos_status);
}

const struct status_provider *status_at(unsigned i)
{
	if (i >= status_count())
		return NULL;
	return &__start_capos_status[i];
}

const struct status_provider *status_find(const char *name)
{
	if (!name)
		return NULL;
	for (unsigned i = 0; i < status_count(); i++) {
		const struct status_provider *p = &__start_capos_status[i];
		if (p->name && p->fn && !strcmp(p->name, name))
			return p;
	}
	return NULL;
}
