/* tests/host/net/fuzz_http.c — the HTTP request parser and the routes on
 * any bytes, and the same bytes sent through a TCP connection to the
 * server. Oracle: a sane status, and every JSON answer parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/net/http.h"
#include "kernel/net/tcp.h"
#include "netfake.h"
#include "shim.h"
#include "tests/host/lib/json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *scratch;
	static struct peer p;
	if (fake_setup_once()) {
		scratch = malloc(256 * 1024);
		peer_init(&p, 40000);
	}
	const char *s = (const char *)data;
	size_t end = http_header_end(s, size, 0);
	if (end > size)
		abort();
	struct http_req r;
	if (end && http_parse_request(s, end, &r) == 0) {
		/* the path points into the input, or is the literal "/" an
		 * absolute-form target without a path stands for */
		bool inside = r.path >= s && r.path + r.path_len <= s + size;
		if (!inside && !(r.path_len == 1 && r.path[0] == '/'))
			abort();
		struct http_resp out;
		webui_route(&r, scratch, 256 * 1024, &out);
		if (out.status < 200 || out.status > 599)
			abort();
		/* every JSON answer is one whole document */
		if (out.status == 200 && out.ctype &&
		    !strcmp(out.ctype, "application/json") &&
		    !json_valid(out.body, out.len))
			abort();
	}
	/* through the server, in pieces of up to 1400 bytes */
	if (!p.established || p.got_rst || p.got_fin) {
		uint16_t port =
		    (uint16_t)(p.sport + 1 < 60000 ? p.sport + 1 : 40000);
		peer_free(&p);
		peer_init(&p, port);
		peer_connect(&p);
	}
	for (size_t off = 0; off < size;) {
		size_t n = size - off > 1400 ? 1400 : size - off;
		peer_send(&p, TCP_ACK | TCP_PSH, data + off, n);
		off += n;
		peer_pump(&p);
	}
	peer_pump(&p);
	p.rx_len = 0;
	fake_clear();
	return 0;
}
