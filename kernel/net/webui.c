/* kernel/net/webui.c — the Web UI's routes: "/" (an HTML page that renders
 * its tables on the server and refreshes them with fetch() every 2 s) and
 * JSON at /api/devices, /api/nvme, /api/net, /api/log, /api/<provider> for
 * every STATUS_REGISTER provider, plus /api/blob?size=N (a generated body
 * for throughput measurements). All text goes through kernel/net/json.c. */
#include "kernel/console/console.h"
#include "kernel/devmgr/blockdev.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/status.h"
#include "kernel/net/http.h"
#include "kernel/net/json.h"
#include "kernel/net/net_internal.h"
#include "kernel/net/tcp.h"
#include "kernel/pci/pci.h"

#define LOG_API_MAX  (64 * 1024) /* tail of the boot log in /api/log */
#define LOG_PAGE_MAX (24 * 1024) /* and on the page */
#define BLOB_DEFAULT (4ull << 20)
#define BLOB_MAX     (1ull << 30)

#define PROV_MAX (16 * 1024) /* one provider's JSON on the page */

static char *logbuf, *provbuf;

static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

static void pci_addr(const struct pci_dev *d, char *buf, size_t cap)
{
	ksnprintf(buf, cap, "%04x:%02x:%02x.%x", d->seg, d->bus, d->dev, d->fn);
}

static const char *drv_name(const struct pci_dev *d)
{
	return d->drv && d->drv->name ? d->drv->name : "none";
}

/* ---- JSON producers ---------------------------------------------------- */

static void devices_json(struct jbuf *j)
{
	char a[16], s[16];
	jb_arr(j);
	for (unsigned i = 0; i < pci_ndevs; i++) {
		const struct pci_dev *d = &pci_devs[i];
		jb_obj(j);
		pci_addr(d, a, sizeof(a));
		jb_kstr(j, "addr", a);
		ksnprintf(s, sizeof(s), "%04x", d->vendor);
		jb_kstr(j, "vendor", s);
		ksnprintf(s, sizeof(s), "%04x", d->device);
		jb_kstr(j, "device", s);
		ksnprintf(s, sizeof(s), "%06x", d->class_code & 0xffffff);
		jb_kstr(j, "class", s);
		jb_kstr(j, "driver", drv_name(d));
		jb_key(j, "state");
		jb_strn(j, d->state, bounded_len(d->state, sizeof(d->state)));
		jb_obj_end(j);
	}
	jb_arr_end(j);
}

static void nvme_json(struct jbuf *j)
{
	jb_arr(j);
	for (unsigned i = 0; i < nblockdevs && i < BLOCKDEV_MAX; i++) {
		const struct blockdev *b = blockdevs[i];
		if (!b)
			continue;
		jb_obj(j);
		jb_key(j, "name");
		jb_strn(j, b->name, bounded_len(b->name, sizeof(b->name)));
		jb_ku64(j, "block_size", b->block_size);
		jb_ku64(j, "block_count", b->block_count);
		jb_ku64(j, "bytes", b->block_count * b->block_size);
		jb_obj_end(j);
	}
	jb_arr_end(j);
}

static void mac_str(const uint8_t *m, char *buf, size_t cap)
{
	ksnprintf(buf, cap, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		  m[3], m[4], m[5]);
}

static void nic_json(struct jbuf *j, const struct nic *n)
{
	char m[24];
	jb_obj(j);
	jb_key(j, "name");
	jb_strn(j, n->name, bounded_len(n->name, sizeof(n->name)));
	mac_str(n->mac, m, sizeof(m));
	jb_kstr(j, "mac", m);
	jb_kbool(j, "link", n->link_up);
	jb_ku64(j, "mbps", n->link_mbps);
	jb_ku64(j, "mtu", n->mtu);
	jb_ku64(j, "rx_packets", n->stats.rx_packets);
	jb_ku64(j, "rx_bytes", n->stats.rx_bytes);
	jb_ku64(j, "rx_dropped", n->stats.rx_dropped);
	jb_ku64(j, "rx_errors", n->stats.rx_errors);
	jb_ku64(j, "tx_packets", n->stats.tx_packets);
	jb_ku64(j, "tx_bytes", n->stats.tx_bytes);
	jb_ku64(j, "tx_dropped", n->stats.tx_dropped);
	jb_ku64(j, "tx_errors", n->stats.tx_errors);
	jb_obj_end(j);
}

#define C(f) jb_ku64(j, #f, k->f)
static void counters_json(struct jbuf *j, const struct net_counters *k)
{
	jb_obj(j);
	C(rx_frames);
	C(tx_frames);
	C(tx_fail);
	C(rx_short);
	C(rx_unsupported);
	C(rx_not_for_us);
	C(arp_rx);
	C(arp_requests_sent);
	C(arp_replies_sent);
	C(arp_drops);
	C(ip_rx);
	C(ip_bad);
	C(ip_csum_bad);
	C(ip_fragments_dropped);
	C(ip_not_for_us);
	C(ip_proto_unknown);
	C(icmp_echo_replies);
	C(icmp_bad);
	C(icmp_unreach_sent);
	C(udp_rx);
	C(udp_bad);
	C(udp_no_port);
	C(dhcp_sent);
	C(dhcp_rx);
	C(dhcp_bad);
	C(tcp_rx);
	C(tcp_bad);
	C(tcp_csum_bad);
	C(tcp_tx);
	C(tcp_rst_sent);
	C(tcp_rst_rx);
	C(tcp_accepted);
	C(tcp_refused);
	C(tcp_retransmits);
	C(tcp_fast_retransmits);
	C(tcp_timeouts);
	C(tcp_ooo_dropped);
	C(tcp_zero_window_probes);
	C(tcp_tw_reused);
	C(tcp_syn_evicted);
	C(tcp_idle_evicted);
	C(http_requests);
	jb_ku64(j, "http_2xx", k->http_responses[2]);
	jb_ku64(j, "http_4xx", k->http_responses[4]);
	jb_ku64(j, "http_5xx", k->http_responses[5]);
	C(http_timeouts);
	C(http_body_bytes);
	jb_obj_end(j);
}
#undef C

static void net_json_j(struct jbuf *j)
{
	struct net_state_view v;
	char s[16];
	net_state(&v);
	jb_obj(j);
	jb_kbool(j, "configured", v.configured);
	ip_str(v.ip, s, sizeof(s));
	jb_kstr(j, "ip", s);
	ip_str(v.mask, s, sizeof(s));
	jb_kstr(j, "mask", s);
	ip_str(v.gw, s, sizeof(s));
	jb_kstr(j, "gateway", s);
	jb_kstr(j, "source", v.source);
	jb_ku64(j, "lease_s", v.lease_s);
	jb_kstr(j, "stack_nic", v.nic ? v.nic->name : "");
	jb_key(j, "nics");
	jb_arr(j);
	for (unsigned i = 0; i < nnics && i < NIC_MAX; i++)
		if (nics[i])
			nic_json(j, nics[i]);
	if (!nnics && v.nic) /* host tests drive a NIC nobody registered */
		nic_json(j, v.nic);
	jb_arr_end(j);
	jb_key(j, "tcp");
	jb_obj(j);
	jb_ku64(j, "active", v.tcp_active);
	jb_ku64(j, "max", v.tcp_max);
	jb_key(j, "connections");
	jb_arr(j);
	for (unsigned i = 0; i < TCP_MAX_CONN; i++) {
		const struct tcp_conn *c = tcp_conn_at(i);
		if (c->state == TCP_CLOSED)
			continue;
		jb_obj(j);
		ip_str(c->rip, s, sizeof(s));
		jb_kstr(j, "peer", s);
		jb_ku64(j, "port", c->rport);
		jb_kstr(j, "state", tcp_state_name(c->state));
		jb_ku64(j, "unacked", c->snd_max - c->snd_una);
		jb_ku64(j, "queued", c->tx_len);
		jb_ku64(j, "rto_ms", c->rto / 1000);
		jb_obj_end(j);
	}
	jb_arr_end(j);
	jb_obj_end(j);
	jb_key(j, "counters");
	counters_json(j, net_counters());
	jb_obj_end(j);
}


static size_t log_tail(size_t max)
{
	if (!logbuf)
		logbuf = net_alloc(LOG_API_MAX);
	if (!logbuf)
		return 0;
	size_t n = console_log_copy(logbuf, LOG_API_MAX);
	if (n > LOG_API_MAX)
		n = LOG_API_MAX;
	if (n > max) { /* keep whole lines at the start */
		size_t cut = n - max;
		memmove(logbuf, logbuf + cut, max);
		n = max;
		for (size_t i = 0; i < n && i < 256; i++)
			if (logbuf[i] == '\n') {
				memmove(logbuf, logbuf + i + 1, n - i - 1);
				n -= i + 1;
				break;
			}
	}
	return n;
}

static void log_json(struct jbuf *j)
{
	size_t n = log_tail(LOG_API_MAX);
	jb_obj(j);
	jb_key(j, "log");
	jb_strn(j, logbuf ? logbuf : "", n);
	jb_obj_end(j);
}

/* a provider's JSON, checked to have fit */
static bool provider_json(struct jbuf *j, const struct status_provider *p)
{
	size_t room = j->len < j->cap ? j->cap - j->len : 0;
	if (room < 2)
		return false;
	int n = p->fn(j->buf + j->len, room);
	if (n < 0 || (size_t)n >= room) {
		j->buf[j->len] = 0;
		return false;
	}
	j->len += (size_t)n;
	return true;
}

/* ---- the page ------------------------------------------------------------ */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>capOS</title><style>"
    "body{font:14px system-ui,sans-serif;margin:1em 2em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #bbb;padding:2px 8px;text-align:left;"
    "font-family:monospace}th{background:#eee}"
    "pre{background:#f6f6f6;padding:.5em;max-height:30em;overflow:auto}"
    "h2{margin-bottom:.2em}.muted{color:#777}"
    "</style></head><body>\n<h1>capOS</h1>\n";

/* the refresher: re-renders every table from the JSON endpoints */
static const char page_script[] =
    "<script>\n"
    "function esc(s){return String(s).replace(/[&<>\"']/g,function(c){"
    "return '&#'+c.charCodeAt(0)+';'})}\n"
    "function cell(v){return '<td>'+esc(typeof v==='object'&&v!==null?"
    "JSON.stringify(v):v)+'</td>'}\n"
    "function rows(id,list,keys){var t=document.getElementById(id);"
    "if(!t)return;var b=t.tBodies[0];var h='';list.forEach(function(o){"
    "h+='<tr>'+keys.map(function(k){return cell(o[k])}).join('')+'</tr>'});"
    "b.innerHTML=h}\n"
    "function generic(v){if(Array.isArray(v)&&v.length&&typeof v[0]==="
    "'object'){var k=Object.keys(v[0]);return '<table><thead><tr>'+k.map("
    "function(x){return '<th>'+esc(x)+'</th>'}).join('')+'</tr></thead>"
    "<tbody>'+v.map(function(o){return '<tr>'+k.map(function(x){return "
    "cell(o[x])}).join('')+'</tr>'}).join('')+'</tbody></table>'}"
    "if(v&&typeof v==='object'&&!Array.isArray(v)){return '<table><tbody>'+"
    "Object.keys(v).map(function(x){var y=v[x];return '<tr><th>'+esc(x)+"
    "'</th><td>'+(y&&typeof y==='object'?generic(y):esc(y))+'</td></tr>'})"
    ".join('')+'</tbody></table>'}return '<pre>'+esc(JSON.stringify(v))+"
    "'</pre>'}\n"
    "function get(u,f){return fetch(u,{cache:'no-store'}).then(function(r)"
    "{return r.json()}).then(f).catch(function(){})}\n"
    "function refresh(){\n"
    "get('/api/devices',function(d){rows('devices',d,['addr','vendor',"
    "'device','class','driver','state'])});\n"
    "get('/api/nvme',function(d){rows('nvme',d,['name','block_size',"
    "'block_count','bytes'])});\n"
    "get('/api/net',function(d){rows('nics',d.nics,['name','mac','link',"
    "'mtu','rx_packets','rx_bytes','rx_dropped','tx_packets','tx_bytes',"
    "'tx_dropped']);var e=document.getElementById('netcounters');"
    "if(e)e.innerHTML=generic(d.counters);var a=document.getElementById("
    "'addr');if(a)a.textContent=d.ip+' via '+d.source+', tcp '+"
    "d.tcp.active+'/'+d.tcp.max});\n"
    "document.querySelectorAll('[data-provider]').forEach(function(e){"
    "get('/api/'+e.dataset.provider,function(d){e.innerHTML=generic(d)})});\n"
    "get('/api/log',function(d){var l=document.getElementById('log');"
    "if(l){var n=l.scrollTop+l.clientHeight>=l.scrollHeight-4;"
    "l.textContent=d.log;if(n)l.scrollTop=l.scrollHeight}});\n"
    "}\nsetInterval(refresh,2000);\n</script>\n";

static void html_td(struct jbuf *j, const char *s, size_t n)
{
	jb_raw(j, "<td>");
	jb_html(j, s, n);
	jb_raw(j, "</td>");
}

static void html_tdz(struct jbuf *j, const char *s)
{
	html_td(j, s, strlen(s));
}

static void page_devices(struct jbuf *j)
{
	char a[16], s[24];
	jb_raw(j, "<h2>PCI functions</h2>\n<table id=\"devices\"><thead><tr>"
		  "<th>address</th><th>vendor</th><th>device</th><th>class</th>"
		  "<th>driver</th><th>state</th></tr></thead><tbody>\n");
	for (unsigned i = 0; i < pci_ndevs; i++) {
		const struct pci_dev *d = &pci_devs[i];
		pci_addr(d, a, sizeof(a));
		jb_raw(j, "<tr>");
		html_tdz(j, a);
		ksnprintf(s, sizeof(s), "%04x", d->vendor);
		html_tdz(j, s);
		ksnprintf(s, sizeof(s), "%04x", d->device);
		html_tdz(j, s);
		ksnprintf(s, sizeof(s), "%06x", d->class_code & 0xffffff);
		html_tdz(j, s);
		html_tdz(j, drv_name(d));
		html_td(j, d->state, bounded_len(d->state, sizeof(d->state)));
		jb_raw(j, "</tr>\n");
	}
	jb_raw(j, "</tbody></table>\n");
}

static void page_nvme(struct jbuf *j)
{
	jb_raw(j,
	       "<h2>NVMe namespaces</h2>\n<table id=\"nvme\"><thead><tr>"
	       "<th>name</th><th>block size</th><th>blocks</th><th>bytes</th>"
	       "</tr></thead><tbody>\n");
	for (unsigned i = 0; i < nblockdevs && i < BLOCKDEV_MAX; i++) {
		const struct blockdev *b = blockdevs[i];
		if (!b)
			continue;
		jb_raw(j, "<tr>");
		html_td(j, b->name, bounded_len(b->name, sizeof(b->name)));
		jb_printf(j, "<td>%u</td><td>%llu</td><td>%llu</td></tr>\n",
			  b->block_size, (unsigned long long)b->block_count,
			  (unsigned long long)(b->block_count * b->block_size));
	}
	jb_raw(j, "</tbody></table>\n");
}

static void page_nics(struct jbuf *j, const struct nic *n)
{
	char m[24];
	jb_raw(j, "<tr>");
	html_td(j, n->name, bounded_len(n->name, sizeof(n->name)));
	mac_str(n->mac, m, sizeof(m));
	html_tdz(j, m);
	jb_printf(
	    j,
	    "<td>%s</td><td>%u</td><td>%llu</td><td>%llu</td><td>%llu</td>"
	    "<td>%llu</td><td>%llu</td><td>%llu</td></tr>\n",
	    n->link_up ? "true" : "false", n->mtu,
	    (unsigned long long)n->stats.rx_packets,
	    (unsigned long long)n->stats.rx_bytes,
	    (unsigned long long)n->stats.rx_dropped,
	    (unsigned long long)n->stats.tx_packets,
	    (unsigned long long)n->stats.tx_bytes,
	    (unsigned long long)n->stats.tx_dropped);
}

static void page_net(struct jbuf *j)
{
	struct net_state_view v;
	char s[16];
	net_state(&v);
	ip_str(v.ip, s, sizeof(s));
	jb_raw(j, "<h2>Network</h2>\n<p id=\"addr\">");
	jb_html(j, s, strlen(s));
	jb_printf(j, " via %s, tcp %u/%u</p>\n", v.source, v.tcp_active,
		  v.tcp_max);
	jb_raw(j,
	       "<table id=\"nics\"><thead><tr><th>nic</th><th>mac</th>"
	       "<th>link</th><th>mtu</th><th>rx packets</th><th>rx bytes</th>"
	       "<th>rx dropped</th><th>tx packets</th><th>tx bytes</th>"
	       "<th>tx dropped</th></tr></thead><tbody>\n");
	for (unsigned i = 0; i < nnics && i < NIC_MAX; i++)
		if (nics[i])
			page_nics(j, nics[i]);
	if (!nnics && v.nic)
		page_nics(j, v.nic);
	jb_raw(j, "</tbody></table>\n<details><summary>stack counters"
		  "</summary><div id=\"netcounters\"></div></details>\n");
}

static const char *provider_title(const char *name)
{
	static const struct {
		const char *name, *title;
	} t[] = {
	    {"validator", "DMA validator verdicts"},
	    {"grants", "DMA grants"},
	    {"dma", "DMA grants"},
	    {"cloud", "Cloud shape and DMA backend"},
	    {"shape", "Cloud shape and DMA backend"},
	    {"authority", "Authority: capabilities and refusals"},
	    {"platform", "Cloud shape and DMA backend"},
	};
	for (unsigned i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(t[i].name, name))
			return t[i].title;
	return name;
}

static bool builtin_api(const char *name);

static void page_providers(struct jbuf *j)
{
	for (unsigned i = 0;; i++) {
		const struct status_provider *p = status_at(i);
		if (!p)
			break;
		if (!p->name || builtin_api(p->name))
			continue;
		jb_raw(j, "<h2>");
		jb_html(j, provider_title(p->name),
			strlen(provider_title(p->name)));
		jb_raw(j, " <span class=\"muted\">/api/");
		jb_html(j, p->name, strlen(p->name));
		jb_raw(j, "</span></h2>\n<div data-provider=\"");
		jb_html(j, p->name, strlen(p->name));
		jb_raw(j, "\"><pre>");
		/* the JSON itself, HTML-escaped, until the script renders it */
		struct jbuf pj;
		if (!provbuf)
			provbuf = net_alloc(PROV_MAX);
		if (provbuf) {
			jb_init(&pj, provbuf, PROV_MAX);
			if (provider_json(&pj, p))
				jb_html(j, provbuf, pj.len);
			else
				jb_raw(j, "(unavailable)");
		}
		jb_raw(j, "</pre></div>\n");
	}
}

static void page_html(struct jbuf *j)
{
	jb_raw(j, page_head);
	page_devices(j);
	page_nvme(j);
	page_net(j);
	page_providers(j);
	size_t n = log_tail(LOG_PAGE_MAX);
	jb_raw(j, "<h2>Boot log</h2>\n<pre id=\"log\">");
	jb_html(j, logbuf ? logbuf : "", n);
	jb_raw(j, "</pre>\n");
	jb_raw(j, page_script);
	jb_raw(j, "</body></html>\n");
}

/* ---- routing ------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*fn)(struct jbuf *j);
} builtins[] = {
    {"devices", devices_json},
    {"nvme", nvme_json},
    {"net", net_json_j},
    {"log", log_json},
};

static bool builtin_api(const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(builtins); i++)
		if (!strcmp(builtins[i].name, name))
			return true;
	return false;
}

static bool path_is(const struct http_req *r, const char *p)
{
	return r->path_len == strlen(p) && !memcmp(r->path, p, r->path_len);
}

static void api_index(struct jbuf *j)
{
	jb_arr(j);
	for (unsigned i = 0; i < ARRAY_SIZE(builtins); i++)
		jb_str(j, builtins[i].name);
	for (unsigned i = 0;; i++) {
		const struct status_provider *p = status_at(i);
		if (!p)
			break;
		if (p->name && !builtin_api(p->name))
			jb_str(j, p->name);
	}
	jb_str(j, "blob");
	jb_arr_end(j);
}

static void text(struct http_resp *out, int status, const char *body)
{
	out->status = status;
	out->body = body;
	out->len = strlen(body);
	out->body_static = true;
}

static void blob(const struct http_req *r, struct http_resp *out)
{
	const char *v;
	size_t vl;
	uint64_t size = BLOB_DEFAULT;
	if (http_query_get(r, "size", &v, &vl) &&
	    (!parse_u64(v, vl, &size) || size > BLOB_MAX)) {
		text(out, 400, "size: a number up to 1073741824\n");
		return;
	}
	out->status = 200;
	out->ctype = "application/octet-stream";
	out->blob_len = size;
	if (!size) {
		out->body = "";
		out->body_static = true;
	}
}

void webui_blob_fill(uint64_t off, uint8_t *dst, size_t n)
{
	static const char pat[64] =
	    "capOS blob 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLM\n";
	while (n) {
		size_t p = (size_t)(off % sizeof(pat));
		size_t k = MIN(n, sizeof(pat) - p);
		memcpy(dst, pat + p, k);
		dst += k;
		n -= k;
		off += k;
	}
}

void webui_route(const struct http_req *r, char *scratch, size_t cap,
		 struct http_resp *out)
{
	struct jbuf j;
	memset(out, 0, sizeof(*out));
	if (r->method == HTTP_OTHER) {
		text(out, 405, "405 Method Not Allowed\n");
		out->extra = "Allow: GET, HEAD\r\n";
		return;
	}
	jb_init(&j, scratch, cap);
	out->status = 200;
	out->ctype = "application/json";
	if (path_is(r, "/") || path_is(r, "/index.html")) {
		out->ctype = "text/html; charset=utf-8";
		page_html(&j);
	} else if (path_is(r, "/api") || path_is(r, "/api/")) {
		api_index(&j);
	} else if (path_is(r, "/api/blob")) {
		blob(r, out);
		return;
	} else if (r->path_len > 5 && !memcmp(r->path, "/api/", 5) &&
		   r->path_len - 5 < 32) {
		char name[32];
		memcpy(name, r->path + 5, r->path_len - 5);
		name[r->path_len - 5] = 0;
		const struct status_provider *p = NULL;
		bool done = false;
		for (unsigned i = 0; i < ARRAY_SIZE(builtins); i++)
			if (!strcmp(builtins[i].name, name)) {
				builtins[i].fn(&j);
				done = true;
			}
		if (!done && (p = status_find(name)) != NULL) {
			if (!provider_json(&j, p)) {
				text(out, 500, "500 status provider failed\n");
				return;
			}
			done = true;
		}
		if (!done) {
			text(out, 404, "404 Not Found\n");
			return;
		}
	} else {
		text(out, 404, "404 Not Found\n");
		return;
	}
	if (out->ctype[0] == 'a')
		jb_raw(&j, "\n");
	if (jb_overflow(&j)) {
		text(out, 500, "500 response too large\n");
		return;
	}
	out->body = scratch;
	out->len = j.len;
}
