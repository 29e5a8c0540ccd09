/* kernel/lib/status.h — named JSON status providers.
 *
 * A subsystem that has state worth showing (the validator's verdict counts,
 * the PCI functions, the cloud shape, NIC counters) registers a provider
 * under a short name; the Web UI serves it at /api/<name> and shows it on
 * "/". A provider writes exactly one JSON value through the writer it is
 * handed (kernel/lib/json.h); the writer, not the provider, deals with a
 * buffer that is too small. */
#ifndef CAPOS_STATUS_H
#define CAPOS_STATUS_H
#include "kernel/lib/json.h"

typedef void (*status_fn)(struct json *j);
struct status_provider {
	const char *name;
	status_fn fn;
};
/* the section's name is a C identifier so that the linker gives it
 * __start_/__stop_ symbols on the host as in the kernel (linker.ld), and
 * the sanitizers leave its entries unpadded */
#define STATUS_REGISTER(nm, f)                                                 \
	static const struct status_provider __status_##f                       \
	    __attribute__((used, section("capos_status"), aligned(8))) = {     \
		.name = nm, .fn = f}

/* the provider named `name`, or NULL; i-th provider for iteration */
const struct status_provider *status_find(const char *name);
const struct status_provider *status_at(unsigned i);
#endif
