/* tests/host/lib/test_status.c — the status provider lookup
 * (kernel/lib/status.c) over providers this file registers: status_at
 * walks exactly the section, status_find matches a whole name and never
 * a provider without a name or a function, and a NULL name finds
 * nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"

static void alpha(struct json *j)
{
	(void)j;
}
static void beta(struct json *j)
{
	(void)j;
}
static void nameless(struct json *j)
{
	(void)j;
}
STATUS_REGISTER("alpha", alpha);
STATUS_REGISTER("beta", beta);
STATUS_REGISTER(NULL, nameless);
STATUS_REGISTER("nofn", NULL);

/* the four above and no other: status_at stops at the section's end */
static void test_status_at_walks_the_section(void **st)
{
	(void)st;
	unsigned n = 0;
	bool seen[4] = {0};
	for (const struct status_provider *p; (p = status_at(n)) != NULL; n++) {
		if (p->fn == alpha)
			seen[0] = true;
		else if (p->fn == beta)
			seen[1] = true;
		else if (p->fn == nameless)
			seen[2] = !p->name;
		else if (!p->fn)
			seen[3] = !strcmp(p->name, "nofn");
	}
	assert_int_equal(n, 4);
	for (unsigned i = 0; i < 4; i++)
		assert_true(seen[i]);
	assert_null(status_at(4));
	assert_null(status_at(~0u));
}

/* a whole name finds its provider; a prefix, a longer name, a provider
 * with no function, and a NULL name (a caller with no name to look up)
 * find nothing, and nameless providers are passed over, not compared */
static void test_status_find_whole_names_only(void **st)
{
	(void)st;
	const struct status_provider *p = status_find("beta");
	assert_non_null(p);
	assert_ptr_equal(p->fn, beta);
	assert_ptr_equal(status_find("alpha")->fn, alpha);
	assert_null(status_find("alph"));
	assert_null(status_find("alphas"));
	assert_null(status_find("nofn"));
	assert_null(status_find(""));
	assert_null(status_find(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_at_walks_the_section),
	    cmocka_unit_test(test_status_find_whole_names_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
