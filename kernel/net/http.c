/* kernel/net/http.c — HTTP/1.1 request-line and field parsing (RFC 9112).
 * Pure and strict: anything outside the grammar is a 400, never a guess
 * (request smuggling lives in lenient parsers). Bare LF line ends are
 * accepted (RFC 9112 §2.2 allows it); obs-fold, whitespace before the
 * colon, NUL or a lone CR are not. */
#include "kernel/net/http.h"

#include "kernel/lib/lib.h"

/* RFC 9110 §5.6.2 tchar */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static const char *find_byte(const char *s, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == c)
			return s + i;
	return NULL;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool ieq(const char *a, size_t n, const char *b)
{
	size_t m = strlen(b);
	if (n != m)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != b[i])
			return false;
	return true;
}

size_t http_header_end(const char *buf, size_t len, size_t from)
{
	size_t i = 0;
	/* RFC 9112 §2.2: empty lines before the request line are ignored */
	while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (from > i + 2)
		i = from - 2; /* back up over a terminator split across reads */
	for (; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* next line of buf[*pos..end): content [start, start+n), CR stripped.
 * false on a lone CR inside the line or when no LF remains. */
static bool next_line(const char *buf, size_t end, size_t *pos,
		      const char **line, size_t *n)
{
	size_t s = *pos;
	for (size_t i = s; i < end; i++) {
		if (buf[i] != '\n')
			continue;
		size_t e = i;
		if (e > s && buf[e - 1] == '\r')
			e--;
		for (size_t k = s; k < e; k++)
			if (buf[k] == '\r' || buf[k] == 0)
				return false;
		*line = buf + s;
		*n = e - s;
		*pos = i + 1;
		return true;
	}
	return false;
}

static int parse_version(const char *v, size_t n, unsigned *minor)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) || v[6] != '.' || v[5] < '0' ||
	    v[5] > '9' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	*minor = (unsigned)(v[7] - '0');
	return 0;
}

static bool host_valid(const char *v, size_t n);

/* RFC 9112 §3.2: origin-form, absolute-form (http://host/path), and
 * asterisk-form ('*'), which only OPTIONS may use (§3.2.4) */
static int parse_target(struct http_req *r)
{
	const char *t = r->target;
	size_t n = r->target_len;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)t[i] <= 0x20 ||
		    (unsigned char)t[i] >= 0x7f || t[i] == '#')
			return 400;
		/* pct-encoded = "%" HEXDIG HEXDIG (RFC 3986 §2.1) */
		if (t[i] == '%' &&
		    (i + 2 >= n || !is_hex(t[i + 1]) || !is_hex(t[i + 2])))
			return 400;
	}
	if (n == 1 && t[0] == '*') {
		if (r->method_len != 7 || memcmp(r->method_str, "OPTIONS", 7))
			return 400;
		r->path = t;
		r->path_len = 1;
		return 0;
	}
	if (n >= 7 && ieq(t, 7, "http://")) {
		size_t i = 7;
		while (i < n && t[i] != '/' && t[i] != '?')
			i++;
		if (i == 7 || !host_valid(t + 7, i - 7)) /* as Host's */
			return 400;
		t += i;
		n -= i;
		if (!n) {
			t = "/";
			n = 1;
		}
	} else if (t[0] != '/') { /* origin-form: absolute-path first */
		return 400;
	}
	const char *q = find_byte(t, '?', n);
	r->path = t[0] == '?' ? "/" : t;
	r->path_len = t[0] == '?' ? 1 : (q ? (size_t)(q - t) : n);
	if (q) {
		r->query = q + 1;
		r->query_len = n - (size_t)(q + 1 - t);
	}
	return 0;
}

static int parse_request_line(const char *l, size_t n, struct http_req *r)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i >= n || l[i] != ' ')
		return 400;
	r->method_str = l;
	r->method_len = i;
	if (i == 3 && !memcmp(l, "GET", 3))
		r->method = HTTP_GET;
	else if (i == 4 && !memcmp(l, "HEAD", 4))
		r->method = HTTP_HEAD;
	else
		r->method = HTTP_OTHER;
	size_t ts = ++i;
	while (i < n && l[i] != ' ')
		i++;
	if (i == ts || i >= n)
		return 400;
	r->target = l + ts;
	r->target_len = i - ts;
	if (r->target_len > HTTP_MAX_TARGET)
		return 414;
	int e = parse_version(l + i + 1, n - i - 1, &r->minor);
	if (e)
		return e;
	return parse_target(r);
}

/* RFC 9110 §8.6: a list of identical decimal lengths ("5, 5") is one
 * length; every element of it is 1*DIGIT, so an empty one ("5,", ",5",
 * "5,,5") is as invalid as an empty value (RFC 9112 §6.3 (5)) */
static int parse_length(const char *v, size_t n, struct http_req *r)
{
	size_t i = 0;
	for (;;) {
		size_t s = i;
		uint64_t x = 0;
		while (i < n && v[i] >= '0' && v[i] <= '9') {
			if (x > (UINT64_MAX - 9) / 10)
				return 400;
			x = x * 10 + (uint64_t)(v[i++] - '0');
		}
		if (i == s)
			return 400;
		if (r->has_length && r->content_length != x)
			return 400;
		r->has_length = true;
		r->content_length = x;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i == n)
			return 0;
		if (v[i] != ',')
			return 400;
		i++;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
	}
}

/* RFC 3986 §2.3 unreserved and §2.2 sub-delims */
static bool uri_char(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("-._~!$&'()*+,;=", c) != NULL;
}

/* RFC 9112 §3.2: Host = uri-host [ ":" port ] (RFC 3986 §3.2.2-§3.2.3):
 * an IP-literal in brackets, or a reg-name / IPv4address (unreserved,
 * pct-encoded, sub-delims); then ":" and digits. Empty is allowed. */
static bool host_valid(const char *v, size_t n)
{
	size_t i = 0;
	if (n && v[0] == '[') {
		for (i = 1; i < n && v[i] != ']'; i++)
			if (!uri_char((unsigned char)v[i]) && v[i] != ':')
				return false;
		if (i >= n || i == 1)
			return false;
		i++;
	} else {
		for (; i < n && v[i] != ':'; i++) {
			if (v[i] == '%') {
				if (i + 2 >= n || !is_hex(v[i + 1]) ||
				    !is_hex(v[i + 2]))
					return false;
				i += 2;
			} else if (!uri_char((unsigned char)v[i])) {
				return false;
			}
		}
	}
	if (i < n) {
		if (v[i] != ':')
			return false;
		for (i++; i < n; i++)
			if (v[i] < '0' || v[i] > '9')
				return false;
	}
	return true;
}

/* Connection: a comma list of tokens (RFC 9110 §7.6.1) */
static void parse_connection(const char *v, size_t n, bool *close, bool *ka)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (ieq(v + s, i - s, "close"))
			*close = true;
		else if (ieq(v + s, i - s, "keep-alive"))
			*ka = true;
	}
}

static int parse_field(const char *l, size_t n, struct http_req *r, bool *close,
		       bool *ka)
{
	if (l[0] == ' ' || l[0] == '\t') /* obs-fold: RFC 9112 §5.2 */
		return 400;
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i >= n || l[i] != ':') /* no space before ':' (§5.1) */
		return 400;
	const char *name = l;
	size_t name_len = i++;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	size_t e = n;
	while (e > i && (l[e - 1] == ' ' || l[e - 1] == '\t'))
		e--;
	const char *v = l + i;
	size_t vn = e - i;
	for (size_t k = 0; k < vn; k++) {
		unsigned char c = (unsigned char)v[k];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 400;
	}
	if (ieq(name, name_len, "host")) {
		if (r->has_host || !host_valid(v, vn)) /* RFC 9112 §3.2 */
			return 400;
		r->has_host = true;
	} else if (ieq(name, name_len, "content-length")) {
		return parse_length(v, vn, r);
	} else if (ieq(name, name_len, "expect")) {
		/* any other expectation: 417, a MAY of RFC 9110 §10.1.1 not
		 * taken; it is ignored */
		if (ieq(v, vn, "100-continue"))
			r->expect_continue = true;
	} else if (ieq(name, name_len, "transfer-encoding")) {
		r->has_te = true;
	} else if (ieq(name, name_len, "connection")) {
		parse_connection(v, vn, close, ka);
	}
	return 0;
}

int http_parse_request(const char *buf, size_t len, struct http_req *r)
{
	memset(r, 0, sizeof(*r));
	size_t pos = 0;
	while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	const char *l;
	size_t n;
	if (!next_line(buf, len, &pos, &l, &n))
		return 400;
	int e = parse_request_line(l, n, r);
	if (e)
		return e;
	bool close = false, ka = false, ended = false;
	while (next_line(buf, len, &pos, &l, &n)) {
		if (n == 0) {
			ended = true;
			break;
		}
		if (++r->nfields > HTTP_MAX_FIELDS)
			return 431;
		e = parse_field(l, n, r, &close, &ka);
		if (e)
			return e;
	}
	if (!ended)
		return 400;
	r->header_len = pos;
	if (r->minor >= 1 && !r->has_host)
		return 400;
	if (r->has_te) /* request bodies in chunked coding are not read */
		return 501;
	r->keep_alive = r->minor >= 1 ? !close : (ka && !close);
	return 0;
}

bool http_query_get(const struct http_req *r, const char *key, const char **val,
		    size_t *vlen)
{
	size_t kl = strlen(key);
	const char *q = r->query;
	size_t n = r->query_len, i = 0;
	while (q && i < n) {
		size_t s = i;
		while (i < n && q[i] != '&')
			i++;
		const char *eq = find_byte(q + s, '=', i - s);
		size_t name_len = eq ? (size_t)(eq - (q + s)) : i - s;
		if (name_len == kl && !memcmp(q + s, key, kl)) {
			*val = eq ? eq + 1 : q + i;
			*vlen = eq ? (size_t)(q + i - (eq + 1)) : 0;
			return true;
		}
		i++;
	}
	return false;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}
