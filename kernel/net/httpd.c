/* kernel/net/httpd.c — the HTTP/1.1 server on TCP port 80.
 *
 * One small state machine per connection: read a header block, parse it
 * (kernel/net/http.c), ask the routes (kernel/net/webui.c) for a response,
 * then pump the response into the TCP transmit ring as acknowledgements
 * free space. Keep-alive and pipelining fall out of that: the next request
 * is looked at only once the previous response is fully queued.
 *
 * Responses are generated once into a scratch buffer. One that fits the
 * transmit ring is copied there at once; a larger one moves into one of a
 * few response slabs until it has drained; when all slabs are busy the
 * request simply waits (it stays unread in the receive buffer). /api/blob
 * is generated from its offset straight into the ring (kernel/net/blob.h)
 * and needs no slab.
 *
 * Timeouts (slow senders, idle keep-alive, readers that stop reading) close
 * or reset the connection, so no client can hold a slot for ever. While a
 * response is sent (and after it, closing) the stall timer measures the
 * client taking it: it restarts when HTTP_STALL_MIN_BYTES more of it are
 * acknowledged, or all of it, so a slow download that keeps going
 * completes, a stalled one is reset after HTTP_STALL_TIMEOUT_US, and one
 * acknowledged a few bytes at a time is reset as if it had stalled. */
#include "kernel/net/httpd.h"
#include "kernel/net/blob.h"
#include "kernel/net/http.h"
#include "kernel/net/net_internal.h"
#include "kernel/net/tcp.h"
#ifdef CAPOS_PROOFS
#include "kernel/boot/boot.h"

/* the TAP lab lifts the stall reset to watch TCP's own bounds behind it
 * (a zero window's probes given up, tests/qemu/test_tap.py); read at
 * httpd_init, 1 to 3600 s */
CMDLINE_KEY(httpd_stall_s, "httpd.stall_s",
	    "seconds a response may make no progress before its reset "
	    "(proof image; default 60)");
#endif

#define HTTP_SCRATCH  (256 * 1024)
#define HTTP_SLABS    6
#define HTTP_HDR_MAX  512  /* a response's status line and fields */
#define HTTP_TX_ROOM  1024 /* ring space a request waits for (any header) */
#define SINK_BODY_MAX 48   /* "<length> <fnv1a32>\n" */

enum hstate { HS_FREE, HS_READ, HS_SEND, HS_CLOSING };

static uint64_t stall_us = HTTP_STALL_TIMEOUT_US;

struct http_conn {
	enum hstate st;
	bool close_after, wait_slab;
	size_t scanned;	    /* bytes of rx known to hold no terminator */
	uint64_t body_left; /* request body bytes still to discard */
	bool sink;	    /* POST /api/sink: answer once the body is in */
	uint64_t sink_len;
	uint32_t sink_fnv;  /* FNV-1a 32 of the body so far */
	uint64_t req_start; /* first byte of the pending request, 0: none */
	uint64_t last_progress;
	uint32_t progress_una; /* snd_una at last_progress */
	/* the response body not yet in the ring */
	int slab; /* -1: none */
	const uint8_t *src;
	size_t src_len, src_off;
	uint64_t blob_off, blob_len;
};

static struct http_conn hconns[TCP_MAX_CONN];
static char *scratch;
static uint8_t *slab_mem;
static bool slab_busy[HTTP_SLABS];

static void http_accept(struct tcp_conn *c);
static void http_recv(struct tcp_conn *c);
static void http_closed(struct tcp_conn *c);
static const struct tcp_ops http_ops = {
    .accept = http_accept,
    .recv = http_recv,
    .sent = http_recv,
    .closed = http_closed,
};

static void slab_put(struct http_conn *h)
{
	if (h->slab >= 0)
		slab_busy[h->slab] = false;
	h->slab = -1;
}

static int slab_get(void)
{
	for (int i = 0; i < HTTP_SLABS; i++)
		if (!slab_busy[i]) {
			slab_busy[i] = true;
			return i;
		}
	return -1;
}

/* the stall and idle timers start over now */
static void progress(struct tcp_conn *c, struct http_conn *h)
{
	h->last_progress = net_now_us();
	h->progress_una = c->snd_una;
}

/* sending or closing: the client took HTTP_STALL_MIN_BYTES more of the
 * response since the timer last started, or all of it. Bytes written into
 * the ring are not progress (each ACK of a byte frees room for a byte) */
static void send_progress(struct tcp_conn *c, struct http_conn *h)
{
	uint32_t acked = c->snd_una - h->progress_una;
	if (acked >= HTTP_STALL_MIN_BYTES || (acked && !tcp_tx_pending(c)))
		progress(c, h);
}

static void http_accept(struct tcp_conn *c)
{
	struct http_conn *h = &hconns[c->index];
	memset(h, 0, sizeof(*h));
	h->st = HS_READ;
	h->slab = -1;
	progress(c, h);
	c->idle = true;
}

static void http_closed(struct tcp_conn *c)
{
	struct http_conn *h = &hconns[c->index];
	slab_put(h);
	h->st = HS_FREE;
}

static void http_abort(struct tcp_conn *c)
{
	http_closed(c);
	tcp_abort(c);
}

/* move as much of the pending body into the ring as fits; true when done */
static bool pump(struct tcp_conn *c, struct http_conn *h)
{
	while (h->src_off < h->src_len) {
		size_t n =
		    tcp_write(c, h->src + h->src_off, h->src_len - h->src_off);
		if (!n)
			break;
		h->src_off += n;
	}
	if (h->src_off >= h->src_len && h->blob_off < h->blob_len) {
		size_t n =
		    tcp_write_fill(c, (size_t)(h->blob_len - h->blob_off),
				   blob_fill, h->blob_off);
		h->blob_off += n;
		net_if.c.http_body_bytes += n;
	}
	bool done = h->src_off >= h->src_len && h->blob_off >= h->blob_len;
	if (done)
		slab_put(h);
	return done;
}

/* queue status line, fields and body. false: no slab free, try later */
static bool respond(struct tcp_conn *c, struct http_conn *h, bool head,
		    const struct http_resp *r)
{
	char hdr[HTTP_HDR_MAX];
	uint64_t body_len = r->blob_len ? r->blob_len : r->len;
	int hl =
	    ksnprintf(hdr, sizeof(hdr),
		      "HTTP/1.1 %d %s\r\n"
		      "Server: capOS\r\n"
		      "Content-Type: %s\r\n"
		      "Content-Length: %llu\r\n"
		      "Cache-Control: no-store\r\n"
		      "%s"
		      "Connection: %s\r\n\r\n",
		      r->status, http_reason(r->status),
		      r->ctype ? r->ctype : "text/plain; charset=utf-8",
		      (unsigned long long)body_len, r->extra ? r->extra : "",
		      h->close_after ? "close" : "keep-alive");
	if (hl < 0 || (size_t)hl >= sizeof(hdr) || (size_t)hl > tcp_tx_space(c))
		return false;
	size_t blen = head ? 0 : r->len;
	bool fits = (size_t)hl + blen <= tcp_tx_space(c);
	int slab = -1;
	if (!fits && (slab = slab_get()) < 0)
		return false;
	h->src = NULL;
	h->src_len = h->src_off = 0;
	h->blob_off = 0;
	h->blob_len = head ? 0 : r->blob_len;
	tcp_write(c, hdr, (size_t)hl);
	if (fits) { /* the body may live on the caller's stack: copy now */
		tcp_write(c, r->body, blen);
	} else {
		h->slab = slab;
		h->src = slab_mem + (size_t)slab * HTTP_SCRATCH;
		memcpy((uint8_t *)h->src, r->body, blen);
		h->src_len = blen;
	}
	net_if.c.http_body_bytes += blen;
	unsigned k = (unsigned)r->status / 100;
	if (k < ARRAY_SIZE(net_if.c.http_responses))
		net_if.c.http_responses[k]++;
	h->st = HS_SEND;
	progress(c, h);
	return true;
}

/* the request at the front of the receive buffer (an error answers it
 * unread) is a HEAD: its method token, after any empty lines (RFC 9112
 * §2.2), is HEAD and a space, as http_parse_request reads it */
static bool rx_is_head(struct tcp_conn *c)
{
	size_t len, i = 0;
	const char *buf = (const char *)tcp_rx_data(c, &len);
	while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return len - i >= 5 && !memcmp(buf + i, "HEAD ", 5);
}

/* an error closes the connection: after a bad request the framing of
 * whatever follows cannot be trusted. A HEAD gets the status and the
 * length and no content (RFC 9110 §9.3.2), whatever the error */
static bool respond_error(struct tcp_conn *c, struct http_conn *h, int status)
{
	char body[64];
	struct http_resp r = {.status = status};
	ksnprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));
	r.body = body;
	r.len = strlen(body);
	h->close_after = true;
	return respond(c, h, rx_is_head(c), &r);
}

/* POST /api/sink: a request body that is checked, not discarded — the
 * answer "<length> <fnv1a32>" lets a client verify an upload byte for byte */
static bool is_sink(const struct http_req *r)
{
	return r->method_len == 4 && !memcmp(r->method_str, "POST", 4) &&
	       webui_is_sink(r);
}

static void sink_take(struct http_conn *h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h->sink_fnv = (h->sink_fnv ^ p[i]) * 0x01000193u;
	h->sink_len += n;
}

/* the interim answer a client that sent Expect: 100-continue waits for
 * before its body (RFC 9110 §15.2.1); only whole, so that it can never be
 * cut into the response stream: with no room the client sends the body
 * after its own timeout, as it would to an HTTP/1.0 server */
static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
static void continue_100(struct tcp_conn *c)
{
	if (tcp_tx_space(c) >= sizeof(continue_line) - 1)
		tcp_write(c, continue_line, sizeof(continue_line) - 1);
}

/* the answer fits the ring: the request was read with HTTP_TX_ROOM free
 * (http_run_once), nothing but the 100 is written until the answer, and
 * acknowledgements only free more; it takes no slab. So respond fails
 * only on a connection that can no longer send (tcp_tx_space 0), which is
 * reset: false, and the connection is gone */
_Static_assert(HTTP_HDR_MAX + SINK_BODY_MAX + sizeof(continue_line) - 1 <=
		   HTTP_TX_ROOM,
	       "the sink's answer fits the room its request waited for");
static bool sink_answer(struct tcp_conn *c, struct http_conn *h)
{
	char body[SINK_BODY_MAX];
	struct http_resp r = {.status = 200};
	ksnprintf(body, sizeof(body), "%llu %08x\n",
		  (unsigned long long)h->sink_len, h->sink_fnv);
	r.body = body;
	r.len = strlen(body);
	h->sink = false;
	if (respond(c, h, false, &r))
		return true;
	http_abort(c);
	return false;
}

/* one request from the receive buffer; false when it has to wait */
static bool handle_request(struct tcp_conn *c, struct http_conn *h)
{
	size_t len;
	const char *buf = (const char *)tcp_rx_data(c, &len);
	size_t end = http_header_end(buf, len, h->scanned);
	if (!end) {
		h->scanned = len;
		if (len >= HTTP_MAX_HEADER) {
			return respond_error(c, h, 431);
		}
		if (tcp_peer_closed(c)) {
			h->st = HS_CLOSING;
			tcp_close(c);
		}
		return false;
	}
	/* the cap holds however the block arrived: out-of-order segments
	 * or a pipelined request make it readable all at once */
	if (end > HTTP_MAX_HEADER)
		return respond_error(c, h, 431);
	struct http_req req;
	int e = http_parse_request(buf, end, &req);
	if (e)
		return respond_error(c, h, e);
	net_if.c.http_requests++;
	if (req.has_length && req.content_length > HTTP_MAX_BODY) {
		return respond_error(c, h, 413);
	}
	if (is_sink(&req)) {
		h->close_after = !req.keep_alive || tcp_peer_closed(c);
		tcp_rx_consume(c, end);
		h->scanned = 0;
		h->req_start = 0;
		h->sink = true;
		h->sink_len = 0;
		h->sink_fnv = 0x811c9dc5u;
		h->body_left = req.has_length ? req.content_length : 0;
		if (h->body_left && req.expect_continue && req.minor >= 1)
			continue_100(c);
		return h->body_left || sink_answer(c, h);
	}
	struct http_resp r;
	webui_route(&req, scratch, HTTP_SCRATCH, &r);
	/* a final answer in place of the 100 a client with Expect:
	 * 100-continue waits for leaves it free to send its body or not
	 * (RFC 9110 §10.1.1): unless the body is all in, what follows
	 * cannot be framed, so the answer closes */
	bool unframed = req.expect_continue && req.has_length &&
			req.content_length > len - end;
	h->close_after = !req.keep_alive || tcp_peer_closed(c) || unframed;
	if (!respond(c, h, req.method == HTTP_HEAD, &r)) {
		h->wait_slab = true;
		return false;
	}
	h->wait_slab = false;
	tcp_rx_consume(c, end);
	h->scanned = 0;
	h->body_left = req.has_length ? req.content_length : 0;
	h->req_start = 0;
	return true;
}

static void http_run_once(struct tcp_conn *c)
{
	struct http_conn *h = &hconns[c->index];
	for (int guard = 0; guard < 64 && h->st != HS_FREE; guard++) {
		size_t len;
		tcp_rx_data(c, &len);
		if (h->body_left && len) { /* a body we do not use */
			size_t n = (size_t)MIN((uint64_t)len, h->body_left);
			if (h->sink)
				sink_take(h, tcp_rx_data(c, &len), n);
			tcp_rx_consume(c, n);
			h->body_left -= n;
			/* an upload is progress while it is awaited; once
			 * answered, only the client taking the answer is */
			if (h->st == HS_READ)
				progress(c, h);
			tcp_rx_data(c, &len);
			if (h->sink && !h->body_left && !sink_answer(c, h))
				return;
		}
		if (h->st == HS_CLOSING) {
			tcp_rx_consume(c, len);
			return;
		}
		if (h->st == HS_SEND) {
			if (!pump(c, h))
				return;
			if (h->close_after) {
				h->st = HS_CLOSING;
				tcp_close(c);
				return;
			}
			h->st = HS_READ;
			progress(c, h);
			continue;
		}
		if (h->body_left || !len) {
			/* a FIN with nothing left to read: no request, or a
			 * body that can never complete */
			if (!len && tcp_peer_closed(c)) {
				h->st = HS_CLOSING;
				tcp_close(c);
			}
			return;
		}
		/* room for any header: the rest waits for acknowledgements.
		 * That wait is on the client reading its responses, not
		 * sending its request: the header timer (408) starts after
		 * it. Until then the idle timeout applies, counted from the
		 * last response queued: a client that has not taken the
		 * responses by then has its connection closed after them,
		 * the waiting request unanswered (RFC 9112 §9.3.2: it
		 * retries it) */
		if (tcp_tx_space(c) < HTTP_TX_ROOM)
			return;
		if (!h->req_start)
			h->req_start = net_now_us();
		if (!handle_request(c, h))
			return;
	}
}

/* runs the machine, then tells TCP whether the slot is reclaimable */
static void http_run(struct tcp_conn *c)
{
	http_run_once(c);
	struct http_conn *h = &hconns[c->index];
	/* reclaimable under pressure once silent for TCP_IDLE_EVICT_US
	 * (tcp.c: conn_alloc): between requests; while the client owes us
	 * bytes of a header or a body; while we send and it has stopped
	 * acknowledging (a client that trickles bytes, or ACKs for a large
	 * body, inside the stall timeout could otherwise hold the slot for
	 * days). Never with a whole request waiting for a slab, nor with a
	 * response written whole and still in flight (the client is owed
	 * its end) */
	c->idle = (h->st == HS_READ && !h->wait_slab && !tcp_tx_pending(c)) ||
		  h->st == HS_SEND;
}

static void http_recv(struct tcp_conn *c)
{
	if (hconns[c->index].st != HS_FREE)
		http_run(c);
}

/* more than `us` from `since` to `now` (the timers are set from
 * net_now_us, which may be past the tick's `now`) */
static bool past(uint64_t now, uint64_t since, uint64_t us)
{
	return now > since && now - since > us;
}

void httpd_tick(uint64_t now)
{
	unsigned n = tcp_conn_span();
	for (unsigned i = 0; i < n; i++) {
		struct http_conn *h = &hconns[i];
		struct tcp_conn *c = tcp_conn_at(i);
		if (h->st == HS_FREE)
			continue;
		if (h->wait_slab)
			http_run(c);
		if (h->st == HS_READ && h->req_start &&
		    past(now, h->req_start, HTTP_HEADER_TIMEOUT_US)) {
			/* a request read whole but still waiting for a slab
			 * met a busy server (503), not a slow client (408) */
			int status = h->wait_slab ? 503 : 408;
			net_if.c.http_timeouts++;
			h->req_start = 0;
			h->wait_slab = false;
			if (respond_error(c, h, status))
				http_run(c);
			else
				http_abort(c);
		} else if (h->st == HS_READ && !h->req_start &&
			   past(now, h->last_progress, HTTP_IDLE_TIMEOUT_US)) {
			h->st = HS_CLOSING;
			progress(c, h);
			tcp_close(c);
		} else if (h->st != HS_READ) {
			send_progress(c, h);
			if (past(now, h->last_progress, stall_us)) {
				net_if.c.http_timeouts++;
				http_abort(c);
			}
		}
	}
}

#if defined(CAPOS_PROOFS) || defined(CAPOS_HOST)
void httpd_stall_set_s(uint64_t s)
{
	stall_us = MIN(MAX(s, 1ull), 3600ull) * 1000000;
}
#endif

void httpd_init(uint16_t port)
{
	if (!scratch) {
		scratch = net_alloc(HTTP_SCRATCH);
		slab_mem = net_alloc((size_t)HTTP_SLABS * HTTP_SCRATCH);
	}
	memset(hconns, 0, sizeof(hconns));
	memset(slab_busy, 0, sizeof(slab_busy));
#ifdef CAPOS_PROOFS
	httpd_stall_set_s(
	    cmdline_u64("httpd.stall_s", HTTP_STALL_TIMEOUT_US / 1000000));
#endif
	if (!scratch || !slab_mem || tcp_listen(port, &http_ops) != 0)
		kprintf("httpd: unable to listen on port %u\n", port);
}
