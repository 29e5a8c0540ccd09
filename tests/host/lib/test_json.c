/* tests/host/lib/test_json.c — the JSON writer (kernel/lib/json.c):
 * escaping, nesting and commas, misuse, and truncation at every buffer
 * size of a sample document, each output judged by an independent strict
 * recogniser (json_check.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/lib/json.h"
#include "tests/host/lib/json_check.h"

static char out[4096];

static void t_oracle(void **s)
{
	/* the recogniser itself rejects what it must */
	static const char *good[] = {"0",
				     "-1.5e+3",
				     "\"a\\u00e9\"",
				     "[]",
				     "{}",
				     " {\"a\":[1,{\"b\":null}]} ",
				     "\"\xc3\xa9\"",
				     "true"};
	static const char *bad[] = {"",
				    "{",
				    "[1,]",
				    "{\"a\"}",
				    "01",
				    "\"\x01\"",
				    "\"\xff\"",
				    "1 2",
				    "{a:1}",
				    "\"\\x\"",
				    "[1]]",
				    "\"\xed\xa0\x80\"",
				    "\"\xc0\xaf\"",
				    "tru",
				    "\"abc"};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(json_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(json_valid(bad[i], strlen(bad[i])));
}

static void t_escape(void **s)
{
	struct json j;
	static const char ctl[] = "a\"b\\c\n\r\t\x01\x1f\x7f/";
	static const char utf[] =
	    "\xc3\xa9-\xff-\xe2\x82-\xc0\xaf-\xed\xa0\x80-"
	    "\0-\xf0\x9f\x98\x80";
	json_init(&j, out, sizeof(out));
	json_strn(&j, ctl, sizeof(ctl) - 1);
	assert_int_equal(json_end(&j), j.len);
	assert_string_equal(out,
			    "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u007f/\"");
	/* valid UTF-8 passes; invalid bytes, overlongs and surrogates become
	 * U+FFFD one byte at a time; a NUL inside a counted string is escaped
	 */
	json_init(&j, out, sizeof(out));
	json_strn(&j, utf, sizeof(utf) - 1);
	assert_true(json_end(&j) > 0);
	assert_string_equal(out,
			    "\"\xc3\xa9-\\ufffd-\\ufffd\\ufffd-\\ufffd\\ufffd-"
			    "\\ufffd\\ufffd\\ufffd-\\u0000-\xf0\x9f\x98\x80\"");
	assert_true(json_valid(out, strlen(out)));
	/* keys are escaped too; NULL is the empty string */
	json_init(&j, out, sizeof(out));
	json_obj(&j);
	json_kstr(&j, "k\"\n", NULL);
	json_obj_end(&j);
	assert_string_equal(out, "{\"k\\\"\\n\":\"\"}");
	/* every byte value, alone, yields a valid string */
	for (unsigned b = 0; b < 256; b++) {
		char c = (char)b;
		json_init(&j, out, sizeof(out));
		json_strn(&j, &c, 1);
		assert_true(json_end(&j) > 0);
		assert_true(json_valid(out, strlen(out)));
	}
}

static void t_nesting(void **s)
{
	struct json j;
	json_init(&j, out, sizeof(out));
	json_obj(&j);
	json_kstr(&j, "a", "x");
	json_karr(&j, "b");
	json_u64(&j, 1);
	json_bool(&j, false);
	json_null(&j);
	json_obj(&j);
	json_obj_end(&j);
	json_arr(&j);
	json_arr_end(&j);
	json_i64(&j, INT64_MIN);
	json_arr_end(&j);
	json_ku64(&j, "c", UINT64_MAX);
	json_kobj(&j, "d");
	json_kbool(&j, "t", true);
	json_ki64(&j, "m", -7);
	json_kstrf(&j, "hex", "0x%llx", 0xabcull);
	json_obj_end(&j);
	json_obj_end(&j);
	assert_int_equal(json_end(&j), strlen(out));
	assert_string_equal(out, "{\"a\":\"x\",\"b\":[1,false,null,{},[],"
				 "-9223372036854775808],\"c\":"
				 "18446744073709551615,\"d\":{\"t\":true,"
				 "\"m\":-7,\"hex\":\"0xabc\"}}");
	assert_true(json_valid(out, strlen(out)));
	/* a bare value is a document too */
	json_init(&j, out, sizeof(out));
	json_u64(&j, 0);
	assert_int_equal(json_end(&j), 1);
	/* as deep as JSON_DEPTH allows */
	json_init(&j, out, sizeof(out));
	for (int d = 0; d < JSON_DEPTH - 1; d++)
		json_arr(&j);
	for (int d = 0; d < JSON_DEPTH - 1; d++)
		json_arr_end(&j);
	assert_int_equal(json_end(&j), 2 * (JSON_DEPTH - 1));
}

/* each misuse voids the document: json_end says -1 and the buffer is "" */
static void misuse_check(struct json *j)
{
	assert_int_equal(json_end(j), -1);
	assert_true(j->misuse);
	assert_false(j->overflow);
	assert_string_equal(out, "");
	json_u64(j, 1); /* and later calls do nothing */
	assert_string_equal(out, "");
}

static void t_misuse(void **s)
{
	struct json j;
	json_init(&j, out, sizeof(out)); /* a key in an array */
	json_arr(&j);
	json_key(&j, "k");
	misuse_check(&j);
	json_init(&j, out, sizeof(out)); /* a member without a key */
	json_obj(&j);
	json_u64(&j, 1);
	misuse_check(&j);
	json_init(&j, out, sizeof(out)); /* a key without a value */
	json_obj(&j);
	json_key(&j, "k");
	json_obj_end(&j);
	misuse_check(&j);
	json_init(&j, out, sizeof(out)); /* two keys in a row */
	json_obj(&j);
	json_key(&j, "k");
	json_key(&j, "l");
	misuse_check(&j);
	json_init(&j, out, sizeof(out)); /* the wrong bracket */
	json_obj(&j);
	json_arr_end(&j);
	misuse_check(&j);
	json_init(&j, out, sizeof(out)); /* closing what is not open */
	json_u64(&j, 1);
	json_obj_end(&j);
	misuse_check(&j);
	json_init(&j, out, sizeof(out)); /* two top-level values */
	json_u64(&j, 1);
	json_u64(&j, 2);
	misuse_check(&j);
	json_init(&j, out, sizeof(out)); /* too deep */
	for (int d = 0; d < JSON_DEPTH; d++)
		json_arr(&j);
	misuse_check(&j);
	json_init(&j, out, sizeof(out)); /* a formatted value cut short */
	json_strf(&j, "%*s", JSON_STRF_MAX, "x");
	misuse_check(&j);
	/* unfinished: not void, but not a document either */
	json_init(&j, out, sizeof(out));
	json_obj(&j);
	assert_int_equal(json_end(&j), -1);
	json_init(&j, out, sizeof(out));
	assert_int_equal(json_end(&j), -1);
}

/* the sample: nesting, escapes, UTF-8, numbers, empty containers */
static void sample(struct json *j)
{
	json_obj(j);
	json_kstr(j, "name", "nvme0 \"QEMU\"\n\xc3\xa9\xff");
	json_ku64(j, "blocks", 131072);
	json_ki64(j, "delta", -42);
	json_kbool(j, "up", true);
	json_karr(j, "queues");
	for (unsigned q = 0; q < 3; q++) {
		json_obj(j);
		json_ku64(j, "id", q);
		json_kstrf(j, "state", "%s", q ? "live" : "admin");
		json_karr(j, "empty");
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_kobj(j, "nested");
	json_kobj(j, "deeper");
	json_key(j, "nothing");
	json_null(j);
	json_obj_end(j);
	json_obj_end(j);
	json_obj_end(j);
}

static void t_truncation_every_length(void **s)
{
	struct json j;
	json_init(&j, out, sizeof(out));
	sample(&j);
	int full = json_end(&j);
	assert_true(full > 100);
	assert_true(json_valid(out, (size_t)full));
	char *want = strdup(out);
	unsigned ok = 0, overflow = 0;
	for (size_t cap = 0; cap <= (size_t)full + 8; cap++) {
		/* exactly cap bytes on the heap: ASan catches one byte past */
		char *b = cap ? malloc(cap) : NULL;
		if (b)
			memset(b, 'Z', cap);
		json_init(&j, b, cap);
		sample(&j);
		int n = json_end(&j);
		if (n >= 0) {
			/* a result claimed complete is the whole document */
			assert_int_equal(n, full);
			assert_true(json_valid(b, (size_t)n));
			assert_memory_equal(b, want, (size_t)full + 1);
			ok++;
		} else {
			assert_true(j.overflow);
			assert_false(j.misuse);
			if (cap)
				assert_int_equal(b[0], 0);
			overflow++;
		}
		/* exactly the sizes that hold the text and its NUL succeed */
		assert_int_equal(n >= 0, cap >= (size_t)full + 1);
		free(b);
	}
	assert_int_equal(ok, 8);
	assert_int_equal(overflow, full + 1);
	free(want);
}

/* text outside the grammar shares the buffer and the truncation rule */
static void t_raw(void **s)
{
	struct json j;
	char small[8];
	json_init(&j, small, sizeof(small));
	json_raw(&j, "<p>", 3);
	json_rawf(&j, "%u", 1234);
	assert_false(j.overflow);
	assert_string_equal(small, "<p>1234");
	json_raw(&j, "x", 1);
	assert_true(j.overflow);
	assert_string_equal(small, "");
}

/* json.h: buf[len] == 0 always, and a void document is "" with len 0 — from
 * json_init on, before anything is written, and after an overflow or a
 * misuse (a caller that sends j.len bytes sends nothing of a void one) */
static void t_buf_empty_len_zero_when_void(void **s)
{
	struct json j;
	char b[16];
	memset(b, 'Z', sizeof(b));
	json_init(&j, b, sizeof(b));
	assert_int_equal(j.len, 0);
	assert_int_equal(b[0], 0);
	assert_int_equal(json_end(&j), -1); /* no value yet */
	json_raw(&j, "0123456789", 10);
	assert_int_equal(j.len, 10);
	json_raw(&j, "abcdef", 6); /* 16 bytes and the NUL do not fit */
	assert_true(j.overflow);
	assert_int_equal(j.len, 0);
	assert_int_equal(b[0], 0);
	json_init(&j, b, sizeof(b));
	json_arr(&j);
	json_u64(&j, 12345);
	json_obj_end(&j); /* the wrong bracket */
	assert_true(j.misuse);
	assert_int_equal(j.len, 0);
	assert_int_equal(b[0], 0);
}

/* RFC 8259 §8.1 (UTF-8) with RFC 3629 §4's edges: the first and last code
 * point of each length kept as they are; one past U+10FFFF, the surrogates
 * U+D800..U+DFFF and overlongs become U+FFFD a byte at a time */
static void t_rfc3629_s4_utf8_edges(void **s)
{
	static const struct {
		const char *in, *want;
	} t[] = {
	    {"\xc2\x80", "\xc2\x80"},				  /* U+0080 */
	    {"\xdf\xbf", "\xdf\xbf"},				  /* U+07FF */
	    {"\xe0\xa0\x80", "\xe0\xa0\x80"},			  /* U+0800 */
	    {"\xed\x9f\xbf", "\xed\x9f\xbf"},			  /* U+D7FF */
	    {"\xee\x80\x80", "\xee\x80\x80"},			  /* U+E000 */
	    {"\xef\xbf\xbf", "\xef\xbf\xbf"},			  /* U+FFFF */
	    {"\xf0\x90\x80\x80", "\xf0\x90\x80\x80"},		  /* U+10000 */
	    {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},		  /* U+10FFFF */
	    {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* 0x110000 */
	    {"\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd"},		  /* U+DFFF */
	    {"\xe0\x9f\xbf", "\\ufffd\\ufffd\\ufffd"}, /* overlong U+07FF */
	    {"\xf0\x8f\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* U+FFFF */
	    {"\xc1\xbf", "\\ufffd\\ufffd"},			  /* U+007F */
	};
	struct json j;
	char want[64];
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		json_init(&j, out, sizeof(out));
		json_str(&j, t[i].in);
		snprintf(want, sizeof(want), "\"%s\"", t[i].want);
		assert_int_equal(json_end(&j), strlen(want));
		if (strcmp(out, want))
			fail_msg("case %zu: got %s, want %s", i, out, want);
		assert_true(json_valid(out, strlen(out)));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_oracle),
	    cmocka_unit_test(t_escape),
	    cmocka_unit_test(t_nesting),
	    cmocka_unit_test(t_misuse),
	    cmocka_unit_test(t_truncation_every_length),
	    cmocka_unit_test(t_raw),
	    cmocka_unit_test(t_buf_empty_len_zero_when_void),
	    cmocka_unit_test(t_rfc3629_s4_utf8_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
