/* tests/host/lib/test_printf.c — the kernel's ksnprintf (kernel/lib/printf.c)
 * against the C library's snprintf (C11 7.21.6.1) as the oracle: every flag
 * combination, width, precision and length modifier of the conversions the
 * kernel uses, at the edge values of each type, truncated at every buffer
 * size (same bytes, same return value: the length it wanted). Then
 * parse_u64 and strlcpy (kernel/lib/parse.c). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/lib/lib.h"

static unsigned compared;

/* the same call through both; the format is built at run time */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void same(const char *fmt, ...)
{
	char want[256], got[256];
	va_list ap, aq;
	va_start(ap, fmt);
	va_copy(aq, ap);
	int wn = vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_true(wn >= 0 && (size_t)wn < sizeof(want));
	for (size_t cap = 0; cap <= (size_t)wn + 1; cap++) {
		va_list ac;
		va_copy(ac, aq);
		memset(got, 0x55, sizeof(got));
		int gn = kvsnprintf(cap ? got : NULL, cap, fmt, ac);
		va_end(ac);
		if (gn != wn ||
		    (cap && (strncmp(got, want, cap - 1) ||
			     got[MIN(cap - 1, (size_t)wn)])) ||
		    got[cap] != 0x55) {
			fail_msg("format \"%s\" cap %zu: want \"%s\" (%d), got "
				 "\"%.*s\" (%d)",
				 fmt, cap, want, wn, (int)MIN(cap, sizeof(got)),
				 got, gn);
		}
		compared++;
	}
	va_end(aq);
}

static const char *const flags[] = {"",	  "-",	"0",  "#",   "+",
				    " ",  "-0", "#0", "+0",  " 0",
				    "-#", "-+", "+ ", "-+0", "#-0"};
static const char *const widths[] = {"", "1", "2", "5", "21", "*"};
static const char *const precs[] = {"", ".", ".0", ".1", ".3", ".25", ".*"};
static const int stars[] = {0, 3, 7, -1, -9}; /* '*' values: -ve is '-' */

/* every flag, width and precision for one conversion */
#define EVERY(conv, type, v)                                                   \
	for (size_t f = 0; f < ARRAY_SIZE(flags); f++)                         \
		for (size_t w = 0; w < ARRAY_SIZE(widths); w++)                \
			for (size_t p = 0; p < ARRAY_SIZE(precs); p++)         \
				for (size_t s = 0; s < ARRAY_SIZE(stars);      \
				     s++) {                                    \
					char fm[32];                           \
					bool sw = widths[w][0] == '*',         \
					     sp = strchr(precs[p], '*');       \
					if (!sw && !sp && s)                   \
						break;                         \
					if (strchr(flags[f], '#') &&           \
					    strchr("diu",                      \
						   conv[sizeof(conv) - 2]))    \
						break; /* undefined */         \
					snprintf(fm, sizeof(fm),               \
						 "[%%%s%s%s" conv "]",         \
						 flags[f], widths[w],          \
						 precs[p]);                    \
					if (sw && sp)                          \
						same(fm, stars[s], stars[s],   \
						     (type)(v));               \
					else if (sw || sp)                     \
						same(fm, stars[s], (type)(v)); \
					else                                   \
						same(fm, (type)(v));           \
				}

static const int64_t sv[] = {0,
			     1,
			     -1,
			     42,
			     -42,
			     127,
			     -128,
			     200,
			     255,
			     256,
			     32767,
			     -32768,
			     65535,
			     INT_MAX,
			     INT_MIN,
			     (int64_t)UINT_MAX,
			     INT64_MAX,
			     INT64_MIN,
			     0x123456789abcLL};

static void test_integers(void **st)
{
	/* %d of an int, %hd of a short, %hhd of a signed char: C converts
	 * the promoted argument back to the narrow type before printing */
	for (size_t i = 0; i < ARRAY_SIZE(sv); i++) {
		int64_t v = sv[i];
		EVERY("d", int, v);
		EVERY("i", int, v);
		EVERY("hd", int, v);
		EVERY("hhd", int, v);
		EVERY("ld", long, v);
		EVERY("lld", long long, v);
		EVERY("zd", ssize_t, v);
		EVERY("u", unsigned, v);
		EVERY("hu", unsigned, v);
		EVERY("hhu", unsigned, v);
		EVERY("lu", unsigned long, v);
		EVERY("llu", unsigned long long, v);
		EVERY("zu", size_t, v);
		EVERY("x", unsigned, v);
		EVERY("X", unsigned, v);
		EVERY("hx", unsigned, v);
		EVERY("hhx", unsigned, v);
		EVERY("lx", unsigned long, v);
		EVERY("llX", unsigned long long, v);
		EVERY("zx", size_t, v);
		EVERY("jx", uintmax_t, v);
	}
}

static void test_strings(void **st)
{
	static const char *const strs[] = {"", "a", "abc", "hello world",
					   "\xc3\xa9t\xc3\xa9"};
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		const char *str = strs[i];
		for (size_t f = 0; f < ARRAY_SIZE(flags); f++) {
			if (strchr(flags[f], '0') || strchr(flags[f], '#') ||
			    strchr(flags[f], '+') || strchr(flags[f], ' '))
				continue; /* undefined for %s and %c */
			for (size_t w = 0; w + 1 < ARRAY_SIZE(widths); w++) {
				for (size_t p = 0; p + 1 < ARRAY_SIZE(precs);
				     p++) {
					char fm[32];
					snprintf(fm, sizeof(fm), "<%%%s%s%ss>",
						 flags[f], widths[w], precs[p]);
					same(fm, str);
				}
				char fm[32];
				snprintf(fm, sizeof(fm), "<%%%s%sc>", flags[f],
					 widths[w]);
				same(fm, str[0] ? str[0] : 'z');
			}
		}
	}
	same("%*s|%-*s|%.*s|%.*s", -4, "ab", 4, "ab", -1, "abc", 2, "abc");
	/* text around conversions, a literal %, several arguments */
	same("a%%b%sc%dd%ue%xf%cg", "S", -5, 6u, 0xabu, 'q');
	same("%s: unable to accept %s %#llx from device: resetting", "gve0",
	     "tx head", 0xdeadbeefcafeULL);
	same("%s: ignoring option %#x: length %u mask %#x", "gve0", 0x11u, 8u,
	     0u);
	same("%p %p", (void *)0x1000, (void *)~(uintptr_t)0);
	same("%20p|%-20p|", (void *)0xabc, (void *)0xabc);
}

/* no conversion the kernel lacks may shift the arguments of the ones after
 * it (a %s fed an integer would dereference it): formatting stops there */
static void test_unknown_conversion_stops(void **st)
{
	char b[64];
	const char *volatile fmt = "a%qb%s"; /* hidden from the format check */
	int n = ksnprintf(b, sizeof(b), fmt, 7, "never");
	assert_string_equal(b, "a%q");
	assert_int_equal(n, 3);
	fmt = "end%";
	assert_int_equal(ksnprintf(b, sizeof(b), fmt), 3);
	assert_string_equal(b, "end");
	/* a size of 0 writes nothing, not even a NUL, and says the length */
	b[0] = 'x';
	assert_int_equal(ksnprintf(b, 0, "%s", "abc"), 3);
	assert_int_equal(b[0], 'x');
	/* a width or precision is bounded (the loop that pads is); '*' of
	 * INT_MIN is no overflow */
	fmt = "%*d";
	assert_int_equal(ksnprintf(b, sizeof(b), fmt, INT_MIN, 1), 100000);
	fmt = "%.*u";
	assert_int_equal(ksnprintf(b, sizeof(b), fmt, INT_MAX, 1), 100000);
	fmt = "%9999999d";
	assert_int_equal(ksnprintf(b, sizeof(b), fmt, 1), 100000);
	/* %s of NULL */
	const char *volatile none = NULL;
	assert_int_equal(ksnprintf(b, sizeof(b), "[%s]", none), 8);
	assert_string_equal(b, "[(null)]");
}

/* C11 7.21.6.1p6: the '0' flag pads with zeros for d i u x X only (C leaves
 * it undefined for s and c); the kernel, as the C library here, ignores it
 * for %s and %c and pads them with spaces, with '-' on either side */
static void test_c11_7_21_6_1_zero_flag_numeric_only(void **st)
{
	char b[32];
	const char *volatile fmt = "[%05s|%05c|%-05c|%05.1s]";
	assert_int_equal(ksnprintf(b, sizeof(b), fmt, "ab", 'A', 'B', "xy"),
			 25);
	assert_string_equal(b, "[   ab|    A|B    |    x]");
	fmt = "[%05d|%05x]";
	assert_int_equal(ksnprintf(b, sizeof(b), fmt, -4, 0xabu), 13);
	assert_string_equal(b, "[-0004|000ab]");
}

static void test_parse_u64(void **st)
{
	static const struct {
		const char *s;
		bool ok;
		uint64_t v;
	} t[] = {
	    {"0", true, 0},
	    {"18446744073709551615", true, UINT64_MAX},
	    {"18446744073709551616", false, 0},
	    {"99999999999999999999", false, 0},
	    {"0xffffffffffffffff", true, UINT64_MAX},
	    {"0x10000000000000000", false, 0},
	    {"0XaBc", true, 0xabc},
	    {"0x", false, 0},
	    {"0", true, 0},
	    {"", false, 0},
	    {"-1", false, 0},
	    {"+1", false, 0},
	    {" 1", false, 0},
	    {"1 ", false, 0},
	    {"0x 1", false, 0},
	    {"12a", false, 0},
	    {"0x0000000000000000000001", true, 1},
	    /* an x or X after another digit than 0 is no hex prefix */
	    {"1x5", false, 0},
	    {"9X1", false, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t v = 12345;
		bool ok = parse_u64(t[i].s, strlen(t[i].s), &v);
		if (ok != t[i].ok || (ok && v != t[i].v) || (!ok && v != 12345))
			fail_msg("parse_u64(\"%s\"): %d %llu", t[i].s, ok,
				 (unsigned long long)v);
	}
	/* the length bounds it: a digit past len is not read */
	uint64_t v;
	assert_true(parse_u64("129", 2, &v));
	assert_int_equal(v, 12);
	assert_false(parse_u64("0x1", 2, &v));
}

static void test_strlcpy(void **st)
{
	char b[8];
	memset(b, 'x', sizeof(b));
	assert_int_equal(strlcpy(b, "hello world", 0), 11);
	assert_int_equal(b[0], 'x'); /* size 0: nothing written */
	assert_int_equal(strlcpy(b, "hello world", 1), 11);
	assert_string_equal(b, "");
	assert_int_equal(strlcpy(b, "hello world", sizeof(b)), 11);
	assert_string_equal(b, "hello w");
	assert_int_equal(strlcpy(b, "hi", sizeof(b)), 2);
	assert_string_equal(b, "hi");
}

/* every digit parse_u64 takes, at both ends of each range ('0' '9',
 * 'a' 'f', 'A' 'F') in hex and the characters just outside them ('/' ':'
 * '`' 'g' '@' 'G') refused; a hex digit is no decimal one */
static void test_parse_u64_digit_ranges(void **st)
{
	(void)st;
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
	    {"0123456789", 123456789},
	    {"0x0123456789", 0x123456789},
	    {"0xabcdef", 0xabcdef},
	    {"0XABCDEF", 0xabcdef},
	    {"0xA", 0xa},
	    {"0xF", 0xf},
	    {"0xa", 0xa},
	    {"0xf", 0xf},
	    {"9", 9},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t v = 0;
		if (!parse_u64(ok[i].s, strlen(ok[i].s), &v) || v != ok[i].v)
			fail_msg("parse_u64(\"%s\") = %llu", ok[i].s,
				 (unsigned long long)v);
	}
	static const char *const bad[] = {"0x/", "0x:", "0x`", "0xg",
					  "0x@", "0xG", "/",   ":",
					  "a",	 "F",	"1f",  "1A"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 7;
		if (parse_u64(bad[i], strlen(bad[i]), &v) || v != 7)
			fail_msg("parse_u64(\"%s\") taken", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_unknown_conversion_stops),
	    cmocka_unit_test(test_c11_7_21_6_1_zero_flag_numeric_only),
	    cmocka_unit_test(test_parse_u64),
	    cmocka_unit_test(test_strlcpy),
	    cmocka_unit_test(test_parse_u64_digit_ranges),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	printf("printf: %u comparisons\n", compared);
	return r;
}
