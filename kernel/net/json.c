/* kernel/net/json.c — JSON writer, JSON string escaper and HTML escaper.
 * Pure: built into the kernel, the host tests and the fuzzers. */
#include "kernel/net/json.h"

#include "kernel/lib/lib.h"

void jb_init(struct jbuf *j, char *buf, size_t cap)
{
	j->buf = buf;
	j->cap = cap;
	j->len = 0;
	j->depth = 0;
	j->after_key = false;
	j->first[0] = true;
	if (cap)
		buf[0] = 0;
}

bool jb_overflow(const struct jbuf *j)
{
	return j->len >= j->cap;
}


static void put(struct jbuf *j, char c)
{
	if (j->len + 1 < j->cap) {
		j->buf[j->len] = c;
		j->buf[j->len + 1] = 0;
	}
	j->len++;
}

void jb_rawn(struct jbuf *j, const char *s, size_t n)
{
	if (j->len + n < j->cap) {
		memcpy(j->buf + j->len, s, n);
		j->buf[j->len + n] = 0;
		j->len += n;
		return;
	}
	for (size_t i = 0; i < n; i++)
		put(j, s[i]);
}

void jb_raw(struct jbuf *j, const char *s)
{
	jb_rawn(j, s, strlen(s));
}

void jb_printf(struct jbuf *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = j->len < j->cap ? j->cap - j->len : 0;
	int n = kvsnprintf(room ? j->buf + j->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		j->len += (size_t)n;
	if (j->len >= j->cap && j->cap) /* keep what fits terminated */
		j->buf[j->cap - 1] = 0;
}

/* separator before a value or a key */
static void sep(struct jbuf *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		put(j, ',');
	j->first[j->depth] = false;
}

static void open(struct jbuf *j, char c)
{
	sep(j);
	put(j, c);
	if (j->depth + 1 < JB_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close(struct jbuf *j, char c)
{
	if (j->depth)
		j->depth--;
	j->after_key = false;
	put(j, c);
}

void jb_obj(struct jbuf *j)
{
	open(j, '{');
}
void jb_obj_end(struct jbuf *j)
{
	close(j, '}');
}
void jb_arr(struct jbuf *j)
{
	open(j, '[');
}
void jb_arr_end(struct jbuf *j)
{
	close(j, ']');
}

/* length of the valid UTF-8 sequence at s (RFC 3629 §4), 0 if invalid */
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

size_t json_escape(char *out, size_t cap, const char *s, size_t n)
{
	struct jbuf j;
	jb_init(&j, out, cap);
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		size_t run = i;
		/* copy the longest run of bytes that need no escape at once */
		while (run < n && u[run] >= 0x20 && u[run] < 0x7f &&
		       u[run] != '"' && u[run] != '\\')
			run++;
		if (run > i) {
			jb_rawn(&j, s + i, run - i);
			i = run;
			continue;
		}
		switch (c) {
		case '"':
			jb_rawn(&j, "\\\"", 2);
			i++;
			continue;
		case '\\':
			jb_rawn(&j, "\\\\", 2);
			i++;
			continue;
		case '\n':
			jb_rawn(&j, "\\n", 2);
			i++;
			continue;
		case '\r':
			jb_rawn(&j, "\\r", 2);
			i++;
			continue;
		case '\t':
			jb_rawn(&j, "\\t", 2);
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			jb_printf(&j, "\\u%04x", c);
			i++;
			continue;
		}
		size_t l = utf8_len(u + i, n - i);
		if (!l) {
			jb_rawn(&j, "\\ufffd", 6);
			i++;
		} else {
			jb_rawn(&j, s + i, l);
			i += l;
		}
	}
	return j.len;
}

void jb_strn(struct jbuf *j, const char *s, size_t n)
{
	sep(j);
	put(j, '"');
	size_t room = j->len < j->cap ? j->cap - j->len : 0;
	size_t w = json_escape(room ? j->buf + j->len : NULL, room, s, n);
	j->len += w;
	if (j->len >= j->cap && j->cap)
		j->buf[j->cap - 1] = 0;
	put(j, '"');
}

void jb_str(struct jbuf *j, const char *s)
{
	jb_strn(j, s ? s : "", s ? strlen(s) : 0);
}

void jb_key(struct jbuf *j, const char *k)
{
	jb_str(j, k);
	put(j, ':');
	j->after_key = true;
}

void jb_u64(struct jbuf *j, uint64_t v)
{
	sep(j);
	jb_printf(j, "%llu", (unsigned long long)v);
}


void jb_bool(struct jbuf *j, bool v)
{
	sep(j);
	jb_raw(j, v ? "true" : "false");
}

void jb_null(struct jbuf *j)
{
	sep(j);
	jb_raw(j, "null");
}


void jb_kstr(struct jbuf *j, const char *k, const char *v)
{
	jb_key(j, k);
	jb_str(j, v);
}

void jb_ku64(struct jbuf *j, const char *k, uint64_t v)
{
	jb_key(j, k);
	jb_u64(j, v);
}

void jb_kbool(struct jbuf *j, const char *k, bool v)
{
	jb_key(j, k);
	jb_bool(j, v);
}

void jb_html(struct jbuf *j, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t run = i;
		while (run < n && s[run] != '<' && s[run] != '>' &&
		       s[run] != '&' && s[run] != '"' && s[run] != '\'' &&
		       s[run] != 0)
			run++;
		if (run > i) {
			jb_rawn(j, s + i, run - i);
			i = run;
			continue;
		}
		switch (s[i++]) {
		case '<':
			jb_raw(j, "&lt;");
			break;
		case '>':
			jb_raw(j, "&gt;");
			break;
		case '&':
			jb_raw(j, "&amp;");
			break;
		case '"':
			jb_raw(j, "&quot;");
			break;
		case '\'':
			jb_raw(j, "&#39;");
			break;
		default:
			jb_raw(j, "\xef\xbf\xbd");
			break; /* NUL */
		}
	}
}
