/* kernel/lib/json.c — the JSON writer (kernel/lib/json.h). */
#include "kernel/lib/json.h"

#include "kernel/lib/lib.h"

void json_init(struct json *j, char *buf, size_t cap)
{
	*j = (struct json){.buf = buf, .cap = cap};
	if (cap)
		buf[0] = 0;
}

/* the document is void from here on: nothing of it may pass for whole */
static void json_void(struct json *j, bool overflow)
{
	if (overflow)
		j->overflow = true;
	else
		j->misuse = true;
	j->len = 0;
	if (j->cap)
		j->buf[0] = 0;
}

static bool json_dead(const struct json *j)
{
	return j->overflow || j->misuse;
}

int json_end(const struct json *j)
{
	if (json_dead(j) || j->depth || !j->top_done || j->len > INT32_MAX)
		return -1;
	return (int)j->len;
}

void json_raw(struct json *j, const char *s, size_t n)
{
	if (json_dead(j) || !n)
		return;
	if (n >= j->cap - j->len) { /* the NUL needs a byte too */
		json_void(j, true);
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = 0;
}

static void json_vrawf(struct json *j, const char *fmt, va_list ap)
{
	if (json_dead(j))
		return;
	size_t room = j->cap - j->len;
	int n = kvsnprintf(room ? j->buf + j->len : NULL, room, fmt, ap);
	if (n < 0 || (size_t)n >= room) {
		json_void(j, true);
		return;
	}
	j->len += (size_t)n;
}

void json_rawf(struct json *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_vrawf(j, fmt, ap);
	va_end(ap);
}

static bool in_obj(const struct json *j)
{
	return j->depth && (j->obj >> j->depth & 1);
}

/* the comma before every member or element but the first */
static void json_comma(struct json *j)
{
	if (j->more >> j->depth & 1)
		json_raw(j, ",", 1);
	j->more |= (uint16_t)(1u << j->depth);
}

/* before a value: the comma in an array, the key in an object */
static bool json_value(struct json *j)
{
	if (json_dead(j))
		return false;
	if (j->after_key) {
		j->after_key = false;
		return true;
	}
	if (!j->depth) {
		if (j->top_done) { /* one document, one value */
			json_void(j, false);
			return false;
		}
		return true;
	}
	if (in_obj(j)) { /* a member without a key */
		json_void(j, false);
		return false;
	}
	json_comma(j);
	return !json_dead(j);
}

/* after a value: at depth 0 the document is complete */
static void json_done(struct json *j)
{
	if (!j->depth && !json_dead(j))
		j->top_done = true;
}

static void json_open(struct json *j, bool obj)
{
	if (!json_value(j))
		return;
	if (j->depth + 1 >= JSON_DEPTH) {
		json_void(j, false);
		return;
	}
	json_raw(j, obj ? "{" : "[", 1);
	j->depth++;
	j->obj = (uint16_t)((j->obj & ~(1u << j->depth)) | (obj << j->depth));
	j->more &= (uint16_t) ~(1u << j->depth);
}

static void json_close(struct json *j, bool obj)
{
	if (json_dead(j))
		return;
	if (!j->depth || in_obj(j) != obj || j->after_key) {
		json_void(j, false);
		return;
	}
	json_raw(j, obj ? "}" : "]", 1);
	j->depth--;
	json_done(j);
}

void json_obj(struct json *j)
{
	json_open(j, true);
}

void json_obj_end(struct json *j)
{
	json_close(j, true);
}

void json_arr(struct json *j)
{
	json_open(j, false);
}

void json_arr_end(struct json *j)
{
	json_close(j, false);
}

/* the length of the valid UTF-8 sequence at s (RFC 3629 §4), 0 if invalid */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t min, cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* s[0..n) as the body of a JSON string (RFC 8259 §7) */
static void json_escape(struct json *j, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n && !json_dead(j);) {
		size_t run = i;
		while (run < n && plain(u[run])) /* copy what needs nothing */
			run++;
		if (run > i) {
			json_raw(j, s + i, run - i);
			i = run;
			continue;
		}
		unsigned c = u[i];
		const char *e = c == '"'    ? "\\\""
				: c == '\\' ? "\\\\"
				: c == '\n' ? "\\n"
				: c == '\r' ? "\\r"
				: c == '\t' ? "\\t"
					    : NULL;
		size_t l;
		if (e) {
			json_raw(j, e, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			json_rawf(j, "\\u%04x", c);
			i++;
		} else if ((l = utf8_len(u + i, n - i)) != 0) {
			json_raw(j, s + i, l);
			i += l;
		} else {
			json_raw(j, "\\ufffd", 6);
			i++;
		}
	}
}

void json_strn(struct json *j, const char *s, size_t n)
{
	if (!json_value(j))
		return;
	json_raw(j, "\"", 1);
	json_escape(j, s, n);
	json_raw(j, "\"", 1);
	json_done(j);
}

void json_str(struct json *j, const char *s)
{
	json_strn(j, s ? s : "", s ? strlen(s) : 0);
}

static void json_vstrf(struct json *j, const char *fmt, va_list ap)
{
	char v[JSON_STRF_MAX];
	int n = kvsnprintf(v, sizeof(v), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(v)) { /* a value cut short: misuse */
		json_void(j, false);
		return;
	}
	json_strn(j, v, (size_t)n);
}

void json_strf(struct json *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_vstrf(j, fmt, ap);
	va_end(ap);
}

/* a bare token: a number, true, false, null */
static void json_token(struct json *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void json_token(struct json *j, const char *fmt, ...)
{
	if (!json_value(j))
		return;
	va_list ap;
	va_start(ap, fmt);
	json_vrawf(j, fmt, ap);
	va_end(ap);
	json_done(j);
}

void json_u64(struct json *j, uint64_t v)
{
	json_token(j, "%llu", (unsigned long long)v);
}

void json_i64(struct json *j, int64_t v)
{
	json_token(j, "%lld", (long long)v);
}

void json_bool(struct json *j, bool v)
{
	json_token(j, "%s", v ? "true" : "false");
}

void json_null(struct json *j)
{
	json_token(j, "null");
}

void json_key(struct json *j, const char *k)
{
	if (json_dead(j))
		return;
	if (!k || !in_obj(j) || j->after_key) {
		json_void(j, false);
		return;
	}
	json_comma(j);
	json_raw(j, "\"", 1);
	json_escape(j, k, strlen(k));
	json_raw(j, "\":", 2);
	j->after_key = !json_dead(j);
}

void json_kobj(struct json *j, const char *k)
{
	json_key(j, k);
	json_obj(j);
}

void json_karr(struct json *j, const char *k)
{
	json_key(j, k);
	json_arr(j);
}

void json_kstr(struct json *j, const char *k, const char *v)
{
	json_key(j, k);
	json_str(j, v);
}

void json_kstrn(struct json *j, const char *k, const char *v, size_t n)
{
	json_key(j, k);
	json_strn(j, v, n);
}

void json_kstrf(struct json *j, const char *k, const char *fmt, ...)
{
	va_list ap;
	json_key(j, k);
	va_start(ap, fmt);
	json_vstrf(j, fmt, ap);
	va_end(ap);
}

void json_ku64(struct json *j, const char *k, uint64_t v)
{
	json_key(j, k);
	json_u64(j, v);
}

void json_ki64(struct json *j, const char *k, int64_t v)
{
	json_key(j, k);
	json_i64(j, v);
}

void json_kbool(struct json *j, const char *k, bool v)
{
	json_key(j, k);
	json_bool(j, v);
}
