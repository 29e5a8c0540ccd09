/* kernel/lib/status.c — the table of status providers (kernel/lib/status.h),
 * gathered by the linker from section .capos_status */
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"

extern const struct status_provider __status_start[], __status_end[];

const struct status_provider *status_at(unsigned i)
{
	return __status_start + i < __status_end ? __status_start + i : NULL;
}

const struct status_provider *status_find(const char *name)
{
	for (const struct status_provider *p = __status_start; p < __status_end;
	     p++)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}
