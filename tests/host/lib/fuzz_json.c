/* tests/host/lib/fuzz_json.c — the JSON writer under any sequence of calls
 * and any buffer size. Oracle: whatever json_end() calls complete is one
 * valid JSON document (tests/host/lib/json_check.h) and is exactly what a
 * large buffer gets; its strings, decoded, are the keys and values written,
 * in order, each byte of invalid UTF-8 as U+FFFD (json.h), so an escape that
 * parses but means another byte is caught too; anything else is void (""
 * in the buffer); nothing is written past the buffer (it is exactly cap
 * bytes on the heap, ASan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/lib/json.h"
#include "tests/host/lib/json_check.h"

struct in {
	const uint8_t *d;
	size_t n, i;
};

static unsigned take(struct in *in)
{
	return in->i < in->n ? in->d[in->i++] : 0;
}

/* a run of input bytes as a string: any bytes, NUL-free for keys */
static size_t take_str(struct in *in, char *out, size_t cap, bool nul_ok)
{
	size_t len = take(in) % 24, k = 0;
	while (k < len && k + 1 < cap && in->i < in->n) {
		char c = (char)in->d[in->i++];
		if (c || nul_ok)
			out[k++] = c;
	}
	out[k] = 0;
	return k;
}

/* the strings written, as the document must say them */
struct rec {
	char *arena;
	size_t used;
	size_t *off, *len;
	unsigned n;
};

/* s[0..n) as json.h promises to write it: valid UTF-8 kept, every byte of
 * an invalid sequence U+FFFD; judged by json_check.h's recogniser */
static void expect(struct rec *r, const char *s, size_t n)
{
	if (!r)
		return;
	char *o = r->arena + r->used;
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		struct jc c = {(const unsigned char *)s, n, i, 0};
		if ((unsigned char)s[i] < 0x80) {
			o[k++] = s[i++];
		} else if (jc_utf8(&c)) {
			memcpy(o + k, s + i, c.i - i);
			k += c.i - i;
			i = c.i;
		} else {
			memcpy(o + k, "\xef\xbf\xbd", 3);
			k += 3;
			i++;
		}
	}
	r->off[r->n] = r->used;
	r->len[r->n++] = k;
	r->used += k;
}

static void utf8_put(char *o, size_t *k, unsigned long cp)
{
	if (cp < 0x80) {
		o[(*k)++] = (char)cp;
	} else if (cp < 0x800) {
		o[(*k)++] = (char)(0xc0 | cp >> 6);
		o[(*k)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		o[(*k)++] = (char)(0xe0 | cp >> 12);
		o[(*k)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[(*k)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		o[(*k)++] = (char)(0xf0 | cp >> 18);
		o[(*k)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		o[(*k)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[(*k)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static unsigned long hex4(const char *p)
{
	char h[5] = {p[0], p[1], p[2], p[3], 0};
	return strtoul(h, NULL, 16);
}

/* the string at doc[*i] == '"' (already recognised as valid) decoded into
 * o, as a JSON parser reads it (RFC 8259 §7); *i moves past it */
static size_t decode(const char *doc, size_t *i, char *o)
{
	size_t k = 0, p = *i + 1;
	while (doc[p] != '"') {
		if (doc[p] != '\\') {
			o[k++] = doc[p++];
			continue;
		}
		char e = doc[p + 1];
		p += 2;
		if (e != 'u') {
			o[k++] = e == 'b'   ? '\b'
				 : e == 'f' ? '\f'
				 : e == 'n' ? '\n'
				 : e == 'r' ? '\r'
				 : e == 't' ? '\t'
					    : e;
			continue;
		}
		unsigned long cp = hex4(doc + p);
		p += 4;
		if (cp >= 0xd800 && cp < 0xdc00 && doc[p] == '\\' &&
		    doc[p + 1] == 'u') {
			unsigned long lo = hex4(doc + p + 2);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
				p += 6;
			}
		}
		utf8_put(o, &k, cp);
	}
	*i = p + 1;
	return k;
}

/* every string of doc (keys and values, in order) is the one recorded */
static void check_strings(const char *doc, size_t n, const struct rec *r)
{
	char *o = malloc(n + 1);
	unsigned k = 0;
	for (size_t i = 0; i < n;) {
		if (doc[i] != '"') {
			i++;
			continue;
		}
		size_t l = decode(doc, &i, o);
		if (k >= r->n || l != r->len[k] ||
		    memcmp(o, r->arena + r->off[k], l)) {
			fprintf(stderr, "string %u decodes to \"%.*s\"\n", k,
				(int)l, o);
			abort();
		}
		k++;
	}
	if (k != r->n)
		abort(); /* a string written is missing */
	free(o);
}

static void play(struct json *j, const uint8_t *d, size_t n, struct rec *r)
{
	struct in in = {d, n, 0};
	char s[32];
	size_t l;
	unsigned a, b;
	while (in.i < in.n) {
		switch (take(&in) % 11) {
		case 0:
			json_obj(j);
			break;
		case 1:
			json_obj_end(j);
			break;
		case 2:
			json_arr(j);
			break;
		case 3:
			json_arr_end(j);
			break;
		case 4:
			l = take_str(&in, s, sizeof(s), false);
			json_key(j, s);
			expect(r, s, l);
			break;
		case 5:
			l = take_str(&in, s, sizeof(s), true);
			json_strn(j, s, l);
			expect(r, s, l);
			break;
		case 6:
			json_u64(j, (uint64_t)take(&in) << (take(&in) % 57));
			break;
		case 7:
			json_i64(j, -(int64_t)take(&in) * 1000003);
			break;
		case 8:
			json_bool(j, take(&in) & 1);
			break;
		case 9:
			json_null(j);
			break;
		default:
			a = take(&in);
			b = take(&in);
			json_strf(j, "%u:%x", a, b);
			l = (size_t)snprintf(s, sizeof(s), "%u:%x", a, b);
			expect(r, s, l);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char big[1 << 16];
	if (size < 2)
		return 0;
	size_t cap = (data[0] | (size_t)data[1] << 8) % 2048;
	struct json jb, js;
	/* each call reads a byte at least and writes at most 3 bytes per
	 * byte of a 23-byte string */
	struct rec r = {malloc(size * 72 + 1), 0, malloc(size * sizeof(size_t)),
			malloc(size * sizeof(size_t)), 0};
	json_init(&jb, big, sizeof(big));
	play(&jb, data + 2, size - 2, &r);
	int nb = json_end(&jb);
	if (nb >= 0 && !json_valid(big, (size_t)nb))
		abort();
	if (nb >= 0 && strlen(big) != (size_t)nb)
		abort();
	if (nb >= 0)
		check_strings(big, (size_t)nb, &r);
	free(r.arena);
	free(r.off);
	free(r.len);
	char *b = cap ? malloc(cap) : NULL;
	json_init(&js, b, cap);
	play(&js, data + 2, size - 2, NULL);
	int ns = json_end(&js);
	if (ns >= 0 && (ns != nb || memcmp(b, big, (size_t)nb + 1)))
		abort(); /* complete means: the same whole document */
	if (ns < 0 && nb >= 0 && (!js.overflow || cap > (size_t)nb))
		abort(); /* only a buffer too small fails a good document */
	if ((js.overflow || js.misuse) && cap && b[0])
		abort(); /* a void document leaves "" */
	free(b);
	return 0;
}
