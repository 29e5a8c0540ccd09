/* tests/host/lib/test_string.c — the kernel's own mem and str functions
 * (kernel/lib/string.c), which gcc may also call implicitly, held to the
 * rules of C11 7.24 (strnlen to POSIX.1-2008) that the kernel relies on.
 * On the host the C library keeps these names, so string.c is compiled
 * into this file under k-prefixed ones; the host's own functions build the
 * expected values, the kernel's are the ones under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define memcpy	kmemcpy
#define memmove kmemmove
#define memset	kmemset
#define memcmp	kmemcmp
#define strlen	kstrlen
#define strnlen kstrnlen
#define strcmp	kstrcmp
#define strncmp kstrncmp
#define strchr	kstrchr
#define strstr	kstrstr
/* lib.h declares the libc names on the host: its own declarations here */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strstr(const char *s, const char *sub);
#include "kernel/lib/string.c"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr
#undef strstr

#define BUF 48 /* past 5 quadwords: every split of n into n / 8 and n % 8 */

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 37 * i + 1);
}

/* C11 7.24.2.1: memcpy copies n characters and returns s1; nothing past
 * the n bytes is written, at every length and alignment */
static void test_memcpy_c11_7_24_2_1(void **st)
{
	(void)st;
	uint8_t src[BUF + 8], dst[BUF + 16], want[BUF + 16];
	fill(src, sizeof(src), 3);
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n <= BUF; n++) {
			memset(dst, 0xa5, sizeof(dst));
			memcpy(want, dst, sizeof(dst));
			memcpy(want + off, src + off, n);
			assert_ptr_equal(kmemcpy(dst + off, src + off, n),
					 dst + off);
			assert_memory_equal(dst, want, sizeof(dst));
		}
}

/* C11 7.24.2.2: memmove copies as if through a temporary array, so
 * objects that overlap either way come out right; it returns s1 */
static void test_memmove_overlap_c11_7_24_2_2(void **st)
{
	(void)st;
	uint8_t buf[2 * BUF], want[2 * BUF], tmp[2 * BUF];
	for (size_t n = 0; n <= BUF; n++)
		for (size_t d = 0; d <= 2 * BUF - n; d += 1)
			for (size_t s = 0; s <= 2 * BUF - n; s += 3) {
				fill(buf, sizeof(buf), (uint8_t)n);
				memcpy(want, buf, sizeof(buf));
				memcpy(tmp, want + s, n);
				memcpy(want + d, tmp, n);
				assert_ptr_equal(kmemmove(buf + d, buf + s, n),
						 buf + d);
				assert_memory_equal(buf, want, sizeof(buf));
			}
}

/* C11 7.24.6.1: memset writes the value of c converted to unsigned char
 * into each of the first n characters, returns s, and nothing else */
static void test_memset_c11_7_24_6_1(void **st)
{
	(void)st;
	static const int vals[] = {0, 0x5a, 0xff, 0x17f, -1};
	uint8_t dst[BUF + 16], want[BUF + 16];
	for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++)
		for (size_t off = 0; off < 8; off++)
			for (size_t n = 0; n <= BUF; n++) {
				fill(dst, sizeof(dst), 9);
				memcpy(want, dst, sizeof(dst));
				memset(want + off, vals[v], n);
				assert_ptr_equal(kmemset(dst + off, vals[v], n),
						 dst + off);
				assert_memory_equal(dst, want, sizeof(dst));
			}
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

/* C11 7.24.4.1: memcmp compares the first n characters as unsigned char;
 * its sign is that of the first pair that differs, 0 when none does (n 0
 * too); nothing past n is read */
static void test_memcmp_c11_7_24_4_1(void **st)
{
	(void)st;
	uint8_t *a = malloc(BUF), *b = malloc(BUF);
	assert_non_null(a);
	assert_non_null(b);
	for (size_t n = 0; n <= BUF; n++)
		for (size_t at = 0; at <= n; at++) {
			static const uint8_t pairs[][2] = {
			    {1, 2}, {2, 1}, {0x7f, 0x80}, {0xff, 0}};
			for (size_t p = 0; p < 4; p++) {
				fill(a, BUF, 5);
				memcpy(b, a, BUF);
				if (at < n)
					a[at] = pairs[p][0],
					b[at] = pairs[p][1];
				/* what lies past n differs and is not read */
				uint8_t *x = a + BUF - n, *y = b + BUF - n;
				memmove(x, a, n);
				memmove(y, b, n);
				assert_int_equal(sign(kmemcmp(x, y, n)),
						 sign(memcmp(x, y, n)));
				assert_int_equal(kmemcmp(x, y, n) == 0,
						 at == n);
			}
		}
	free(a);
	free(b);
}

/* a copy of s in a buffer of exactly its size, so ASan sees any read
 * past its terminator */
static char *exact(const char *s)
{
	char *p = malloc(strlen(s) + 1);
	assert_non_null(p);
	memcpy(p, s, strlen(s) + 1);
	return p;
}

/* C11 7.24.6.3: strlen counts the characters before the terminating
 * null; POSIX.1-2008 strnlen the same, but at most maxlen and never
 * reading s[maxlen] */
static void test_strlen_strnlen_c11_7_24_6_3(void **st)
{
	(void)st;
	static const char *const strs[] = {"", "a", "capOS", "0123456789"};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		char *s = exact(strs[i]);
		size_t len = strlen(strs[i]);
		assert_int_equal(kstrlen(s), len);
		for (size_t max = 0; max <= len + 2; max++)
			assert_int_equal(kstrnlen(s, max),
					 max < len ? max : len);
		free(s);
	}
	/* an unterminated field of 4: strnlen stops at max, reads no more */
	char *f = malloc(4);
	assert_non_null(f);
	memcpy(f, "abcd", 4);
	assert_int_equal(kstrnlen(f, 4), 4);
	assert_int_equal(kstrnlen(f, 3), 3);
	free(f);
}

/* C11 7.24.4.2 and 7.24.4.4: strcmp and strncmp compare as unsigned char
 * up to the first difference or terminator (strncmp: at most n
 * characters, nothing past a terminator); a prefix is less */
static void test_strcmp_strncmp_c11_7_24_4(void **st)
{
	(void)st;
	static const char *const strs[] = {"",	  "a",	  "b",	  "ab", "abc",
					   "abd", "\x80", "\x7f", "A",	"abcd"};
	const size_t ns = sizeof(strs) / sizeof(strs[0]);
	for (size_t i = 0; i < ns; i++)
		for (size_t j = 0; j < ns; j++) {
			char *a = exact(strs[i]), *b = exact(strs[j]);
			assert_int_equal(sign(kstrcmp(a, b)),
					 sign(strcmp(a, b)));
			for (size_t n = 0; n <= 6; n++)
				assert_int_equal(sign(kstrncmp(a, b, n)),
						 sign(strncmp(a, b, n)));
			free(a);
			free(b);
		}
}

/* C11 7.24.5.2: strchr finds the first c (converted to char) in s, the
 * terminating null being part of the string; NULL when c is not there,
 * and nothing past the terminator is read */
static void test_strchr_c11_7_24_5_2(void **st)
{
	(void)st;
	char *s = exact("capos\x80x");
	assert_ptr_equal(kstrchr(s, 'c'), s);
	assert_ptr_equal(kstrchr(s, 'o'), s + 3);
	assert_ptr_equal(kstrchr(s, 'x'), s + 6);
	assert_ptr_equal(kstrchr(s, 0x80), s + 5);
	assert_ptr_equal(kstrchr(s, 0x180), s + 5); /* converted to char */
	assert_ptr_equal(kstrchr(s, 0), s + 7);
	assert_null(kstrchr(s, 'z'));
	free(s);
	char *e = exact("");
	assert_ptr_equal(kstrchr(e, 0), e);
	assert_null(kstrchr(e, 'a'));
	free(e);
}

/* C11 7.24.5.7: strstr finds the first occurrence of the sequence s2 in
 * s1, s1 itself when s2 is empty, NULL when there is none */
static void test_strstr_c11_7_24_5_7(void **st)
{
	(void)st;
	static const char *const hay[] = {"", "a", "aab", "abab", "xyzabc"};
	static const char *const sub[] = {"",	 "a",  "b",   "ab",
					  "aab", "bc", "abc", "abcd"};
	for (size_t i = 0; i < sizeof(hay) / sizeof(hay[0]); i++)
		for (size_t j = 0; j < sizeof(sub) / sizeof(sub[0]); j++) {
			char *h = exact(hay[i]), *s = exact(sub[j]);
			char *want = strstr(h, s);
			assert_ptr_equal(kstrstr(h, s), want);
			free(h);
			free(s);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memcpy_c11_7_24_2_1),
	    cmocka_unit_test(test_memmove_overlap_c11_7_24_2_2),
	    cmocka_unit_test(test_memset_c11_7_24_6_1),
	    cmocka_unit_test(test_memcmp_c11_7_24_4_1),
	    cmocka_unit_test(test_strlen_strnlen_c11_7_24_6_3),
	    cmocka_unit_test(test_strcmp_strncmp_c11_7_24_4),
	    cmocka_unit_test(test_strchr_c11_7_24_5_2),
	    cmocka_unit_test(test_strstr_c11_7_24_5_7),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
