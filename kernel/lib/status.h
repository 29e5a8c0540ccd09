/* kernel/lib/status.h — named JSON status providers.
 *
 * A subsystem that has state worth showing (the validator's verdict counts,
 * DMA grants, the cloud shape, NIC counters) registers a producer under a
 * short name; the Web UI serves it at /api/<name> and folds it into "/". The
 * producers write one JSON value into buf and return its length (or the
 * length they wanted, like snprintf). */
#ifndef CAPOS_STATUS_H
#define CAPOS_STATUS_H
#include <stddef.h>

typedef int (*status_fn)(char *buf, size_t cap);
struct status_provider {
	const char *name;
	status_fn fn;
};
#define STATUS_REGISTER(nm, f)                                                 \
	static const struct status_provider __status_##f                       \
	    __attribute__((used, section(".capos_status"), aligned(8))) = {    \
		.name = nm, .fn = f}

/* the provider named `name`, or NULL; i-th provider for iteration */
const struct status_provider *status_find(const char *name);
const struct status_provider *status_at(unsigned i);
#endif
