/* tests/host/lib/test_random.c — SipHash-2-4 against the reference vectors
 * of its authors (key 00..0f, message 00..len-1), and the random pool:
 * every byte added steers what comes out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/lib/random.h"
#include "kernel/lib/siphash.h"
#include "shim.h"

static void test_siphash24_reference_vectors(void **state)
{
	(void)state;
	static const struct {
		size_t len;
		uint64_t want;
	} v[] = {
	    {0, 0x726fdb47dd0e0e31ull}, {1, 0x74f839c593dc67fdull},
	    {7, 0xab0200f58b01d137ull}, {8, 0x93f5f5799a932462ull},
	    {9, 0x9e0082df0ba9e4b0ull}, {15, 0xa129ca6149be45e5ull},
	};
	uint8_t key[SIPHASH_KEY_LEN], msg[16];
	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(siphash24(key, msg, v[i].len), v[i].want);
}

static void test_random_pool_follows_its_input(void **state)
{
	(void)state;
	/* nothing strong yet: the report says so */
	assert_false(random_strong());
	uint64_t a = random_u64(), b = random_u64();
	assert_int_not_equal(a, b); /* a counter, not a constant */
	random_add("test", "x", 1, false);
	assert_false(random_strong());
	uint64_t c = random_u64();
	random_add("hw", "y", 1, true);
	assert_true(random_strong());
	uint64_t d = random_u64();
	assert_int_not_equal(c, d);
	assert_string_equal(random_sources(), "test,hw");
	/* a long input is taken in slices (ASan watches the copies) */
	static uint8_t big[1000];
	random_add("big", big, sizeof(big), false);
	assert_string_equal(random_sources(), "test,hw,big");
	/* a source is listed once, matched by whole name: one whose name
	 * lies inside another's is a source of its own */
	random_add("hw", "z", 1, true);
	random_add("h", "z", 1, false);
	random_add("es", "z", 1, false);
	assert_string_equal(random_sources(), "test,hw,big,h,es");
	uint8_t out[13];
	memset(out, 0, sizeof(out));
	random_bytes(out, sizeof(out));
	unsigned zero = 0;
	for (unsigned i = 0; i < sizeof(out); i++)
		zero += out[i] == 0;
	assert_true(zero < 6);
}

/* the pool's next output after adding d[0..n) to its present state, taken
 * in a child process so every call starts from the same state */
static uint64_t output_after(const void *d, size_t n)
{
	int fd[2];
	uint64_t v = 0;
	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		random_add("probe", d, n, false);
		v = random_u64();
		_exit(write(fd[1], &v, sizeof(v)) == sizeof(v) ? 0 : 1);
	}
	close(fd[1]);
	assert_int_equal(read(fd[0], &v, sizeof(v)), sizeof(v));
	close(fd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return v;
}

/* what comes out depends on every byte added, in the first slice of a long
 * input, in the last, and in a one-byte input; the same bytes give the same
 * output (a counter alone would pass the test above) */
static void test_random_pool_every_byte_steers(void **state)
{
	(void)state;
	static uint8_t base[1000], first[1000], last[1000], mid[1000];
	for (unsigned i = 0; i < sizeof(base); i++)
		base[i] = (uint8_t)(i * 13);
	memcpy(first, base, sizeof(base));
	memcpy(last, base, sizeof(base));
	memcpy(mid, base, sizeof(base));
	first[0] ^= 1;
	last[sizeof(last) - 1] ^= 0x80;
	mid[500] ^= 4;
	uint64_t o = output_after(base, sizeof(base));
	assert_int_equal(output_after(base, sizeof(base)), o);
	uint64_t f = output_after(first, sizeof(first));
	uint64_t l = output_after(last, sizeof(last));
	uint64_t m = output_after(mid, sizeof(mid));
	assert_int_not_equal(f, o);
	assert_int_not_equal(l, o);
	assert_int_not_equal(m, o);
	assert_int_not_equal(f, l);
	/* and the length counts: a prefix is another input */
	assert_int_not_equal(output_after(base, sizeof(base) - 1), o);
	uint8_t a = 'a', b = 'b';
	assert_int_not_equal(output_after(&a, 1), output_after(&b, 1));
}

/* a case in a child process, from the state the cases before it left
 * (tests/host/shim: shim_in_child, SHIM_CHECK) */
static void in_child(void (*fn)(void))
{
	assert_true(shim_in_child(fn));
}

/* the boot line says whether a strong source (a hardware or firmware
 * generator) was mixed in, and names the sources */
static void report(void)
{
	random_report();
	SHIM_CHECK(
	    !strcmp(shim_last_line,
		    "random: seeded from none only: no RDSEED/RDRAND and no "
		    "EFI RNG, so TCP sequence numbers rest on timing "
		    "noise\n"));
	random_add("tsc-jitter", "x", 1, false);
	random_report();
	SHIM_CHECK(!strncmp(shim_last_line,
			    "random: seeded from tsc-jitter only: no RDSEED",
			    46));
	random_add("rdseed", "y", 1, true);
	random_report();
	SHIM_CHECK(
	    !strcmp(shim_last_line, "random: seeded from tsc-jitter,rdseed\n"));
}
static void test_random_report_says_whether_strong(void **state)
{
	(void)state;
	in_child(report);
}

/* the list of sources holds RANDOM_SOURCES_LEN bytes, its NUL included:
 * a name is listed whole when it fits, to the last byte, and not at all
 * when it does not (never cut); alone or after a comma */
static void one_name(void)
{
	char a[RANDOM_SOURCES_LEN + 1];
	memset(a, 'a', RANDOM_SOURCES_LEN);
	a[RANDOM_SOURCES_LEN] = 0; /* no room for its NUL */
	random_add(a, "x", 1, false);
	SHIM_CHECK(!strcmp(random_sources(), "none"));
	a[RANDOM_SOURCES_LEN - 1] = 0; /* fills the list */
	random_add(a, "x", 1, false);
	SHIM_CHECK(!strcmp(random_sources(), a));
	random_add("b", "x", 1, false);
	SHIM_CHECK(!strcmp(random_sources(), a));
}
static void two_names(void)
{
	char a[61], b[RANDOM_SOURCES_LEN];
	memset(a, 'a', 60);
	a[60] = 0;
	random_add(a, "x", 1, false);
	/* 60 + ',' + 35 + NUL is one byte too many */
	size_t fit = RANDOM_SOURCES_LEN - 1 - 61;
	memset(b, 'b', fit + 1);
	b[fit + 1] = 0;
	random_add(b, "x", 1, false);
	SHIM_CHECK(!strcmp(random_sources(), a));
	b[fit] = 0;
	random_add(b, "x", 1, false);
	const char *s = random_sources();
	SHIM_CHECK(strlen(s) == RANDOM_SOURCES_LEN - 1);
	SHIM_CHECK(!strncmp(s, a, 60) && s[60] == ',' && !strcmp(s + 61, b));
}
static void test_random_sources_bounded_by_RANDOM_SOURCES_LEN(void **state)
{
	(void)state;
	in_child(one_name);
	in_child(two_names);
}

/* random.c's construction against a model of it (random.h, random.c's
 * head comment): from the zero key, random_add takes its input in slices
 * of 64 bytes and rekeys on each with SipHash(key, slice || 0) and
 * SipHash(key, slice || 1) as the key's two halves; output i is
 * SipHash(key, i) */
static void model_add(uint8_t key[SIPHASH_KEY_LEN], const uint8_t *d,
		      size_t len)
{
	do {
		uint8_t buf[65];
		size_t n = len < 64 ? len : 64;
		uint64_t h[2];
		memcpy(buf, d, n);
		for (unsigned j = 0; j < 2; j++) {
			buf[n] = (uint8_t)j;
			h[j] = siphash24(key, buf, n + 1);
		}
		memcpy(key, h, sizeof(h));
		d += n;
		len -= n;
	} while (len);
}
static void rekeys(void)
{
	uint8_t key[SIPHASH_KEY_LEN] = {0}, big[150];
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 1);
	random_add("a", "abc", 3, false);
	model_add(key, (const uint8_t *)"abc", 3);
	random_add("b", big, sizeof(big), false); /* 64 + 64 + 22 */
	model_add(key, big, sizeof(big));
	random_add("c", "", 0, false); /* nothing, still one rekey */
	model_add(key, (const uint8_t *)"", 0);
	for (uint64_t i = 0; i < 3; i++)
		SHIM_CHECK(random_u64() == siphash24(key, &i, sizeof(i)));
	/* the two halves come from different inputs */
	uint64_t h[2];
	memcpy(h, key, sizeof(h));
	SHIM_CHECK(h[0] != h[1]);
}
static void test_random_add_rekeys_with_siphash_of_input_and_half(void **state)
{
	(void)state;
	in_child(rekeys);
}

/* random_add(src, NULL, 0) reads nothing: the same as an empty input
 * (one rekey on the empty slice), never a memcpy from NULL */
static void null_empty(void)
{
	uint8_t key[SIPHASH_KEY_LEN] = {0};
	random_add("null", NULL, 0, false);
	model_add(key, (const uint8_t *)"", 0);
	uint64_t i = 0;
	SHIM_CHECK(random_u64() == siphash24(key, &i, sizeof(i)));
}
static void test_random_add_null_empty_is_an_empty_input(void **state)
{
	(void)state;
	in_child(null_empty);
}

/* random_bytes hands out the outputs in order, each in little-endian
 * byte order, the last cut to what is left: from the zero key, bytes
 * 8k to 8k+7 are SipHash(0, k) */
static void bytes_in_order(void)
{
	uint8_t key[SIPHASH_KEY_LEN] = {0}, out[21], want[24];
	for (uint64_t i = 0; i < 3; i++) {
		uint64_t v = siphash24(key, &i, sizeof(i));
		for (unsigned b = 0; b < 8; b++)
			want[8 * i + b] = (uint8_t)(v >> (8 * b));
	}
	memset(out, 0, sizeof(out));
	random_bytes(out, sizeof(out));
	SHIM_CHECK(!memcmp(out, want, sizeof(out)));
	uint64_t i = 3; /* and the next output is the fourth */
	SHIM_CHECK(random_u64() == siphash24(key, &i, sizeof(i)));
}
static void test_random_bytes_are_the_outputs_in_order(void **state)
{
	(void)state;
	in_child(bytes_in_order);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* first: in children, from the state nothing was added to */
	    cmocka_unit_test(test_random_report_says_whether_strong),
	    cmocka_unit_test(test_random_sources_bounded_by_RANDOM_SOURCES_LEN),
	    cmocka_unit_test(
		test_random_add_rekeys_with_siphash_of_input_and_half),
	    cmocka_unit_test(test_random_bytes_are_the_outputs_in_order),
	    cmocka_unit_test(test_random_add_null_empty_is_an_empty_input),
	    cmocka_unit_test(test_siphash24_reference_vectors),
	    cmocka_unit_test(test_random_pool_follows_its_input),
	    cmocka_unit_test(test_random_pool_every_byte_steers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
