/* tests/host/lib/status_render.h — one /api/ provider's document as the
 * Web UI serves it (status_find, then the kernel's JSON writer), checked
 * with the strict recogniser of json_check.h, which shares no code with
 * the writer. Include after <cmocka.h>. */
#ifndef CAPOS_STATUS_RENDER_H
#define CAPOS_STATUS_RENDER_H
#include <stddef.h>

#include "kernel/lib/json.h"
#include "kernel/lib/status.h"
#include "tests/host/lib/json_check.h"

/* provider name's document in buf (NUL-terminated), valid JSON: its length */
static inline int status_render(const char *name, char *buf, size_t cap)
{
	const struct status_provider *p = status_find(name);
	struct json j;
	assert_non_null(p);
	json_init(&j, buf, cap);
	p->fn(&j);
	int n = json_end(&j);
	assert_true(n > 0);
	assert_true(json_valid(buf, (size_t)n));
	return n;
}
#endif
