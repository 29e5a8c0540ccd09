/* kernel/net/http.h — HTTP/1.1 request parsing (RFC 9112 §2-§6, field
 * syntax RFC 9110 §5) and the server's response interface.
 *
 * http_parse_request is pure: it reads a complete header block (request
 * line, fields, empty line) and either fills struct http_req with pointers
 * into the buffer or names the status the server must answer with. */
#ifndef CAPOS_HTTP_H
#define CAPOS_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_TARGET 2048  /* longer: 414 */
#define HTTP_MAX_FIELDS 100   /* more: 431 */
#define HTTP_MAX_BODY	65536 /* larger Content-Length: 413 */
#define HTTP_MAX_HEADER 8192  /* a longer header block: 431 */

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER };

struct http_req {
	enum http_method method;
	const char *method_str;
	size_t method_len;
	const char *target, *path, *query; /* query: after '?', may be NULL */
	size_t target_len, path_len, query_len;
	unsigned minor; /* HTTP/1.minor */
	bool keep_alive;
	bool has_host;
	bool has_length;
	uint64_t content_length;
	bool has_te; /* Transfer-Encoding present */
	/* Expect: 100-continue (RFC 9110 §10.1.1): the client waits for an
	 * interim 100 before it sends the body */
	bool expect_continue;
	unsigned nfields;
	size_t header_len; /* bytes up to and including the empty line */
};

/* length of the header block in buf (through the empty line), 0 when not
 * complete yet. `from` lets a caller resume a scan: bytes before it are
 * known to hold no terminator. Leading empty lines count as part of it. */
size_t http_header_end(const char *buf, size_t len, size_t from);

/* parses buf[0..len), which must hold a complete header block (len as
 * returned by http_header_end). 0 on success, else the status to answer:
 * 400, 414, 431, 501 (Transfer-Encoding), 505. */
int http_parse_request(const char *buf, size_t len, struct http_req *r);

/* value of query parameter `key` in r->query; false if absent */
bool http_query_get(const struct http_req *r, const char *key, const char **val,
		    size_t *vlen);
const char *http_reason(int status);

/* what a route answers (kernel/net/webui.c fills it) */
struct http_resp {
	int status;
	const char *ctype;
	/* in the scratch buffer or static; copied out by the server (into
	 * the ring when it fits, else into a slab) */
	const char *body;
	size_t len;
	uint64_t blob_len; /* > 0: that many bytes of kernel/net/blob.h */
	const char *extra; /* extra header lines, each ending in \r\n */
};

/* the routes: zeroes *out, then fills it; may write the body into
 * scratch[0..cap) */
void webui_route(const struct http_req *r, char *scratch, size_t cap,
		 struct http_resp *out);
/* r's target is /api/sink, the resource kernel/net/httpd.c serves itself
 * to a POST (is_sink); webui_route answers any other method there */
bool webui_is_sink(const struct http_req *r);
#endif
