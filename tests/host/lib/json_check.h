/* tests/host/lib/json_check.h — a strict RFC 8259 recogniser, the oracle of
 * the JSON writer's tests: json_valid(s, n) is true iff s[0..n) is exactly
 * one JSON value with optional white space around it. Strings must be valid
 * UTF-8 (RFC 8259 §8.1) with no raw control bytes. Independent of the
 * writer: it shares no code with kernel/lib/json.c. */
#ifndef CAPOS_JSON_CHECK_H
#define CAPOS_JSON_CHECK_H
#include <stdbool.h>
#include <stddef.h>

struct jc {
	const unsigned char *s;
	size_t n, i;
	int depth;
};

static bool jc_value(struct jc *c);

static void jc_ws(struct jc *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' ||
			       c->s[c->i] == '\n' || c->s[c->i] == '\r'))
		c->i++;
}

static bool jc_lit(struct jc *c, const char *w)
{
	for (; *w; w++, c->i++)
		if (c->i >= c->n || c->s[c->i] != (unsigned char)*w)
			return false;
	return true;
}

static bool jc_digits(struct jc *c)
{
	size_t st = c->i;
	while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9')
		c->i++;
	return c->i > st;
}

static bool jc_number(struct jc *c)
{
	if (c->i < c->n && c->s[c->i] == '-')
		c->i++;
	if (c->i < c->n && c->s[c->i] == '0')
		c->i++;
	else if (!jc_digits(c))
		return false;
	if (c->i < c->n && c->s[c->i] == '.') {
		c->i++;
		if (!jc_digits(c))
			return false;
	}
	if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
		c->i++;
		if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
			c->i++;
		if (!jc_digits(c))
			return false;
	}
	return true;
}

static bool jc_hex(unsigned char x)
{
	return (x >= '0' && x <= '9') || (x >= 'a' && x <= 'f') ||
	       (x >= 'A' && x <= 'F');
}

/* one UTF-8 sequence at c->i: shortest form, no surrogates, <= U+10FFFF */
static bool jc_utf8(struct jc *c)
{
	unsigned b = c->s[c->i], need;
	unsigned long cp, min;
	if (b >= 0xc2 && b <= 0xdf)
		need = 1, cp = b & 0x1f, min = 0x80;
	else if (b >= 0xe0 && b <= 0xef)
		need = 2, cp = b & 0x0f, min = 0x800;
	else if (b >= 0xf0 && b <= 0xf4)
		need = 3, cp = b & 0x07, min = 0x10000;
	else
		return false;
	c->i++;
	for (unsigned k = 0; k < need; k++, c->i++) {
		if (c->i >= c->n || (c->s[c->i] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (c->s[c->i] & 0x3f);
	}
	return cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

static bool jc_string(struct jc *c)
{
	if (!jc_lit(c, "\""))
		return false;
	while (c->i < c->n) {
		unsigned char b = c->s[c->i];
		if (b == '"') {
			c->i++;
			return true;
		}
		if (b < 0x20)
			return false;
		if (b == '\\') {
			c->i++;
			if (c->i >= c->n)
				return false;
			unsigned char e = c->s[c->i++];
			if (e == 'u') {
				for (int k = 0; k < 4; k++, c->i++)
					if (c->i >= c->n || !jc_hex(c->s[c->i]))
						return false;
			} else if (!(e == '"' || e == '\\' || e == '/' ||
				     e == 'b' || e == 'f' || e == 'n' ||
				     e == 'r' || e == 't')) {
				return false;
			}
		} else if (b >= 0x80) {
			if (!jc_utf8(c))
				return false;
		} else {
			c->i++;
		}
	}
	return false;
}

static bool jc_container(struct jc *c, bool obj)
{
	if (++c->depth > 64)
		return false;
	c->i++; /* { or [ */
	jc_ws(c);
	if (c->i < c->n && c->s[c->i] == (obj ? '}' : ']')) {
		c->i++;
		c->depth--;
		return true;
	}
	for (;;) {
		if (obj) {
			if (!jc_string(c))
				return false;
			jc_ws(c);
			if (!jc_lit(c, ":"))
				return false;
		}
		if (!jc_value(c))
			return false;
		if (c->i >= c->n)
			return false;
		if (c->s[c->i] == ',') {
			c->i++;
			jc_ws(c);
			continue;
		}
		if (c->s[c->i] != (obj ? '}' : ']'))
			return false;
		c->i++;
		c->depth--;
		return true;
	}
}

static bool jc_value(struct jc *c)
{
	jc_ws(c);
	if (c->i >= c->n)
		return false;
	bool ok;
	switch (c->s[c->i]) {
	case '{':
		ok = jc_container(c, true);
		break;
	case '[':
		ok = jc_container(c, false);
		break;
	case '"':
		ok = jc_string(c);
		break;
	case 't':
		ok = jc_lit(c, "true");
		break;
	case 'f':
		ok = jc_lit(c, "false");
		break;
	case 'n':
		ok = jc_lit(c, "null");
		break;
	default:
		ok = jc_number(c);
		break;
	}
	jc_ws(c);
	return ok;
}

static inline bool json_valid(const char *s, size_t n)
{
	struct jc c = {(const unsigned char *)s, n, 0, 0};
	return jc_value(&c) && c.i == n;
}
#endif
