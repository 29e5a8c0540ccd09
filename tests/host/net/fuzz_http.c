/* tests/host/net/fuzz_http.c — the HTTP request parser and the routes on
 * any bytes, and the same bytes sent through a fresh TCP connection to the
 * server. Oracles: a sane status, every JSON answer parses; and the bytes
 * the server sends back are a sequence of responses framed as the requests
 * in the input ask: each a status line and a header section with a
 * Content-Length, then exactly that much content, none for a HEAD (RFC 9110
 * §9.3.2, errors included) or an interim 1xx; no more final responses than
 * requests, and nothing after one that says Connection: close, which the
 * last request the server can frame must get. The requests are framed here
 * from the input (header block, then Content-Length bytes), not from the
 * server's state. Every header block the parser accepts is read again
 * independently (judge_accepted): nothing a second server could frame
 * otherwise is let through. A route's 405 names the target's methods in
 * Allow (RFC 9110 §15.5.6). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/http.h"
#include "kernel/net/tcp.h"
#include "netfake.h"
#include "shim.h"
#include "tests/host/lib/json_check.h"

#define MAX_REQS 512

struct expect {
	bool head; /* the request's method token is HEAD */
	bool last; /* the server closes after answering it */
};

/* the request's method token, after any empty lines, is HEAD */
static bool starts_head(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == '\r' || s[i] == '\n'))
		i++;
	return n - i >= 5 && !memcmp(s + i, "HEAD ", 5);
}

/* the final responses the input's requests must get, in order; the
 * count. A request whose response waits for more input (an incomplete
 * header, an /api/sink body not all there) ends the list */
static unsigned frame_requests(const char *s, size_t size, struct expect *x)
{
	size_t pos = 0;
	unsigned n = 0;
	while (pos < size && n < MAX_REQS) {
		const char *q = s + pos;
		size_t left = size - pos;
		size_t end = http_header_end(q, left, 0);
		bool head = starts_head(q, left);
		if (!end) {
			if (left >= HTTP_MAX_HEADER) /* 431 */
				x[n++] = (struct expect){head, true};
			break;
		}
		struct http_req r;
		if (end > HTTP_MAX_HEADER || http_parse_request(q, end, &r) ||
		    (r.has_length && r.content_length > HTTP_MAX_BODY)) {
			x[n++] = (struct expect){head, true};
			break;
		}
		uint64_t body = r.has_length ? r.content_length : 0;
		bool sink = r.method_len == 4 &&
			    !memcmp(r.method_str, "POST", 4) &&
			    r.path_len == 9 && !memcmp(r.path, "/api/sink", 9);
		if (sink && body > left - end)
			break; /* answered once the body is in */
		x[n++] = (struct expect){r.method == HTTP_HEAD, !r.keep_alive};
		if (!r.keep_alive || body > left - end)
			break;
		pos += end + (size_t)body;
	}
	return n;
}

static void bad(const char *why, const char *s, size_t n)
{
	fprintf(stderr, "fuzz_http: %s: \"%.*s\"\n", why,
		(int)(n > 200 ? 200 : n), s);
	abort();
}

/* ---- an independent reading of a header block the parser accepted ----
 * Its own line splitter and field reader, sharing no code with http.c:
 * what lets a second server on the path frame the same bytes otherwise
 * (request smuggling) must have been refused: obs-fold, a field name not
 * followed at once by ':', Transfer-Encoding, a Content-Length that is not
 * a list of equal 1*DIGIT values (no sign, nothing after the digits, no
 * empty element: RFC 9110 §8.6), a Host given twice or missing in
 * HTTP/1.1, NUL or a lone CR anywhere, the target '*' with a method other
 * than OPTIONS (RFC 9112 §3.2.4). And
 * what the parser says of the block is what it holds: the length, the
 * framing, keep-alive. */
static bool ieq_n(const char *a, size_t n, const char *w)
{
	if (strlen(w) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] + 32) : a[i];
		if (c != w[i])
			return false;
	}
	return true;
}

static void trim(const char **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t'))
		(*v)++, (*n)--;
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

/* the Content-Length value as a list of decimals: false if any element
 * is not all digits or they differ; *len is their value, *any whether
 * one was seen (across fields) */
static bool cl_value(const char *v, size_t n, unsigned long long *len,
		     bool *any)
{
	size_t i = 0;
	trim(&v, &n);
	if (!n)
		return false;
	while (i <= n) {
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		const char *e = v + s;
		size_t en = i - s;
		trim(&e, &en);
		i++;
		if (!en) /* "5,", ",5", "5,,5" */
			return false;
		unsigned long long x = 0;
		for (size_t k = 0; k < en; k++) {
			if (e[k] < '0' || e[k] > '9' || x > (~0ull - 9) / 10)
				return false;
			x = x * 10 + (unsigned long long)(e[k] - '0');
		}
		if (*any && x != *len)
			return false;
		*any = true;
		*len = x;
	}
	return true;
}

static void judge_accepted(const char *s, size_t end, const struct http_req *r)
{
	size_t pos = 0, nfields = 0, hosts = 0;
	bool any_cl = false, close = false, ka = false, first = true;
	unsigned long long cl = 0;
	while (pos < end && (s[pos] == '\r' || s[pos] == '\n'))
		pos++;
	for (size_t k = pos; k < end; k++)
		if (!s[k] ||
		    (s[k] == '\r' && (k + 1 >= end || s[k + 1] != '\n')))
			bad("accepted: a NUL or a lone CR", s, end);
	for (;;) {
		const char *nl = memchr(s + pos, '\n', end - pos);
		if (!nl)
			bad("accepted: a block with no empty line", s, end);
		const char *l = s + pos;
		size_t n = (size_t)(nl - l);
		if (n && l[n - 1] == '\r')
			n--;
		pos = (size_t)(nl - s) + 1;
		if (first) { /* method SP target SP HTTP/1.d */
			const char *sp1 = memchr(l, ' ', n);
			const char *sp2 =
			    sp1 ? memchr(sp1 + 1, ' ',
					 n - (size_t)(sp1 + 1 - l))
				: NULL;
			if (!sp2 || sp1 == l || sp2 == sp1 + 1 ||
			    n - (size_t)(sp2 + 1 - l) != 8 ||
			    memcmp(sp2 + 1, "HTTP/1.", 7) ||
			    (unsigned)(sp2[8] - '0') != r->minor)
				bad("accepted: not a request line", s, end);
			if (sp2 == sp1 + 2 && sp1[1] == '*' &&
			    (sp1 - l != 7 || memcmp(l, "OPTIONS", 7)))
				bad("accepted: '*' for a method other than "
				    "OPTIONS",
				    s, end);
			first = false;
			continue;
		}
		if (!n)
			break;
		nfields++;
		if (l[0] == ' ' || l[0] == '\t')
			bad("accepted: obs-fold", s, end);
		const char *colon = memchr(l, ':', n);
		if (!colon || colon == l)
			bad("accepted: a field line without a name", s, end);
		size_t nn = (size_t)(colon - l);
		for (size_t k = 0; k < nn; k++)
			if ((unsigned char)l[k] <= ' ' || l[k] == 0x7f ||
			    (unsigned char)l[k] >= 0x80)
				bad("accepted: a field name with space or "
				    "controls",
				    s, end);
		const char *v = colon + 1;
		size_t vn = n - nn - 1;
		if (ieq_n(l, nn, "transfer-encoding"))
			bad("accepted: Transfer-Encoding", s, end);
		if (ieq_n(l, nn, "content-length") &&
		    !cl_value(v, vn, &cl, &any_cl))
			bad("accepted: a Content-Length not one length", s,
			    end);
		if (ieq_n(l, nn, "host"))
			hosts++;
		if (ieq_n(l, nn, "connection")) {
			for (size_t i = 0; i < vn;) {
				while (i < vn && (v[i] == ',' || v[i] == ' ' ||
						  v[i] == '\t'))
					i++;
				size_t t = i;
				while (i < vn && v[i] != ',' && v[i] != ' ' &&
				       v[i] != '\t')
					i++;
				close |= ieq_n(v + t, i - t, "close");
				ka |= ieq_n(v + t, i - t, "keep-alive");
			}
		}
	}
	if (pos != end || r->header_len != end)
		bad("accepted: the block ends elsewhere", s, end);
	if (nfields > HTTP_MAX_FIELDS || hosts > 1 ||
	    (r->minor >= 1 && hosts != 1))
		bad("accepted: too many fields, or Host not once", s, end);
	if (r->has_length != any_cl || (any_cl && r->content_length != cl))
		bad("accepted: a length other than the block's", s, end);
	if (r->keep_alive != (r->minor >= 1 ? !close : ka && !close))
		bad("accepted: keep-alive other than Connection says", s, end);
}

static size_t find(const char *s, size_t n, const char *w)
{
	size_t m = strlen(w);
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(s + i, w, m))
			return i;
	return SIZE_MAX;
}

/* the server's bytes against the requests: see the top of the file */
static void check_stream(const char *s, size_t n, const struct expect *x,
			 unsigned nx)
{
	unsigned k = 0;
	bool closed = false;
	while (n) {
		if (closed)
			bad("bytes after a Connection: close response", s, n);
		if (n < 13) {
			if (memcmp(s, "HTTP/1.1 ", n < 9 ? n : 9))
				bad("not a status line", s, n);
			return; /* the rest has not come yet */
		}
		if (memcmp(s, "HTTP/1.1 ", 9) || s[9] < '1' || s[9] > '5' ||
		    s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' ||
		    s[12] != ' ')
			bad("not a status line", s, n);
		size_t he = find(s, n, "\r\n\r\n");
		if (he == SIZE_MAX) {
			if (n > 1024)
				bad("a header section without end", s, n);
			return;
		}
		size_t hl = he + 4;
		if (s[9] == '1') { /* interim: no content, no request used */
			s += hl;
			n -= hl;
			continue;
		}
		if (k >= nx)
			bad("a response to no request", s, n);
		size_t cl = find(s, hl, "\r\nContent-Length: ");
		if (cl == SIZE_MAX)
			bad("no Content-Length", s, n);
		unsigned long long len = strtoull(s + cl + 18, NULL, 10);
		bool close =
		    find(s, hl, "\r\nConnection: close\r\n") != SIZE_MAX;
		if (x[k].last && !close)
			bad("the last request's response keeps the connection",
			    s, n);
		size_t body = x[k].head ? 0 : (size_t)len;
		k++;
		closed = close;
		if (n - hl < body)
			return; /* content still on its way */
		s += hl + body;
		n -= hl + body;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *scratch;
	static struct peer p;
	static struct expect x[MAX_REQS];
	static uint16_t port = 40000;
	if (fake_setup_once()) {
		scratch = malloc(256 * 1024);
		peer_init(&p, port);
	}
	const char *s = (const char *)data;
	size_t end = http_header_end(s, size, 0);
	if (end > size)
		abort();
	struct http_req r;
	if (end && http_parse_request(s, end, &r) == 0) {
		judge_accepted(s, end, &r);
		/* the path points into the input, or is the literal "/" an
		 * absolute-form target without a path stands for */
		bool inside = r.path >= s && r.path + r.path_len <= s + size;
		if (!inside && !(r.path_len == 1 && r.path[0] == '/'))
			abort();
		struct http_resp out;
		webui_route(&r, scratch, 256 * 1024, &out);
		if (out.status < 200 || out.status > 599)
			abort();
		/* RFC 9110 §15.5.6: a 405 lists the target's methods, POST
		 * at /api/sink (read here from the raw path, as the server's
		 * is_sink does), GET and HEAD elsewhere */
		bool sink = r.path_len == 9 && !memcmp(r.path, "/api/sink", 9);
		if (out.status == 405 &&
		    (!out.extra ||
		     strcmp(out.extra,
			    sink ? "Allow: POST\r\n" : "Allow: GET, HEAD\r\n")))
			bad("a 405 whose Allow is not the target's", s, end);
		/* every JSON answer is one whole document */
		if (out.status == 200 && out.ctype &&
		    !strcmp(out.ctype, "application/json") &&
		    !json_valid(out.body, out.len))
			abort();
	}
	/* through the server on a connection of its own, in pieces of up to
	 * 1400 bytes */
	peer_abort(&p);
	port = (uint16_t)(port + 1 < 60000 ? port + 1 : 40000);
	peer_init(&p, port);
	fake_clear();
	if (!peer_connect(&p))
		abort(); /* every earlier connection was reset: a slot is free
			  */
	for (size_t off = 0; off < size;) {
		size_t n = size - off > 1400 ? 1400 : size - off;
		peer_send(&p, TCP_ACK | TCP_PSH, data + off, n);
		off += n;
		peer_pump(&p);
	}
	peer_pump(&p);
	unsigned nx = frame_requests(s, size, x);
	check_stream((const char *)p.rx, p.rx_len, x, nx);
	p.rx_len = 0;
	fake_clear();
	return 0;
}
