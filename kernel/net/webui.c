/* kernel/net/webui.c — the Web UI: /api/<name> serves the status provider
 * of that name (kernel/lib/status.h: devices, nvme, net, log, validator,
 * ...), /api lists them, /api/blob?size=N is a generated body for
 * throughput measurements, and "/" is one HTML page that shows every
 * provider: the server embeds each one's JSON, the page's script renders
 * it as tables and refreshes it with fetch() every 2 s. The Web UI reads
 * providers only, never another subsystem's state. */
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/net/http.h"
#include "kernel/net/net_internal.h"

#define BLOB_DEFAULT (4ull << 20)
#define BLOB_MAX     (1ull << 30)

#define PROV_MAX (128 * 1024) /* one provider's JSON on the page */

static char *provbuf;

/* a provider's JSON into j; false (j void) when it did not make one */
static bool provider_json(struct json *j, const struct status_provider *p)
{
	p->fn(j);
	return json_end(j) >= 0;
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

/* the renderer: a table per provider from its JSON, embedded first, then
 * fetched again every 2 s */
static const char page_script[] =
    "<script>\n"
    "function esc(s){return String(s).replace(/[&<>\"']/g,function(c){"
    "return '&#'+c.charCodeAt(0)+';'})}\n"
    "function cell(v){return '<td>'+esc(typeof v==='object'&&v!==null?"
    "JSON.stringify(v):v)+'</td>'}\n"
    "function generic(v,id){var a=id?' id=\"'+esc(id)+'\"':'';"
    "if(Array.isArray(v)&&v.length&&typeof v[0]==="
    "'object'){var k=Object.keys(v[0]);return '<table'+a+'><thead><tr>'+"
    "k.map(function(x){return '<th>'+esc(x)+'</th>'}).join('')+"
    "'</tr></thead><tbody>'+v.map(function(o){return '<tr>'+k.map("
    "function(x){return cell(o[x])}).join('')+'</tr>'}).join('')+"
    "'</tbody></table>'}"
    "if(v&&typeof v==='object'&&!Array.isArray(v)){return '<table'+a+"
    "'><tbody>'+Object.keys(v).map(function(x){var y=v[x];return '<tr><th>'"
    "+esc(x)+'</th><td>'+(y&&typeof y==='object'?generic(y):esc(y))+"
    "'</td></tr>'}).join('')+'</tbody></table>'}"
    "return '<pre'+a+'>'+esc(JSON.stringify(v))+'</pre>'}\n"
    "function render(e,d){var n=e.dataset.provider;if(n==='log'){"
    "var l=document.getElementById('log');var end=!l||l.scrollTop+"
    "l.clientHeight>=l.scrollHeight-4;e.innerHTML='<pre id=\"log\">'+"
    "esc(d.log)+'</pre>';l=document.getElementById('log');"
    "if(end)l.scrollTop=l.scrollHeight;return}e.innerHTML=generic(d,n)}\n"
    "function each(f){document.querySelectorAll('[data-provider]')"
    ".forEach(f)}\n"
    "function refresh(){each(function(e){fetch('/api/'+e.dataset.provider,"
    "{cache:'no-store'}).then(function(r){return r.json()}).then("
    "function(d){render(e,d)}).catch(function(){})})}\n"
    "each(function(e){try{render(e,JSON.parse(e.textContent))}catch(x){}});\n"
    "setInterval(refresh,2000);\n</script>\n";

/* text for HTML element content and attribute values */
static void html(struct json *j, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t run = i;
		while (run < n && s[run] != '<' && s[run] != '>' &&
		       s[run] != '&' && s[run] != '"' && s[run] != '\'' &&
		       s[run] != 0)
			run++;
		if (run > i) {
			json_raw(j, s + i, run - i);
			i = run;
			continue;
		}
		const char *e = s[i] == '<'    ? "&lt;"
				: s[i] == '>'  ? "&gt;"
				: s[i] == '&'  ? "&amp;"
				: s[i] == '"'  ? "&quot;"
				: s[i] == '\'' ? "&#39;"
					       : "\xef\xbf\xbd"; /* NUL */
		json_raw(j, e, strlen(e));
		i++;
	}
}

static void htmlz(struct json *j, const char *s)
{
	html(j, s, strlen(s));
}

static const char *provider_title(const char *name)
{
	static const struct {
		const char *name, *title;
	} t[] = {
	    {"devices", "PCI functions"},
	    {"nvme", "NVMe controllers"},
	    {"net", "Network"},
	    {"validator", "DMA validator verdicts"},
	    {"shape", "Cloud shape and DMA backend"},
	    {"authority", "Authority: capabilities and refusals"},
	    {"log", "Boot log"},
	};
	for (unsigned i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(t[i].name, name))
			return t[i].title;
	return name;
}

/* one provider: a heading and its JSON, until the script renders it */
static void page_section(struct json *j, const struct status_provider *p)
{
	struct json pj;
	json_raw(j, "<h2>", 4);
	htmlz(j, provider_title(p->name));
	json_rawf(j, " <span class=\"muted\">/api/");
	htmlz(j, p->name);
	json_rawf(j, "</span></h2>\n<div data-provider=\"");
	htmlz(j, p->name);
	json_rawf(j, "\"><pre>");
	if (!provbuf)
		provbuf = net_alloc(PROV_MAX);
	json_init(&pj, provbuf, provbuf ? PROV_MAX : 0);
	if (provbuf && provider_json(&pj, p))
		html(j, provbuf, pj.len);
	else
		json_rawf(j, "(unavailable)");
	json_rawf(j, "</pre></div>\n");
}

/* the devices, the disks and the network first, the boot log last */
static const char *const page_first[] = {"devices", "nvme", "net"};
#define PAGE_LAST "log"

static bool page_first_has(const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(page_first); i++)
		if (!strcmp(page_first[i], name))
			return true;
	return false;
}

static void page_html(struct json *j)
{
	const struct status_provider *p;
	json_rawf(j, "%s", page_head);
	for (unsigned i = 0; i < ARRAY_SIZE(page_first); i++)
		if ((p = status_find(page_first[i])) != NULL)
			page_section(j, p);
	for (unsigned i = 0; (p = status_at(i)) != NULL; i++)
		if (p->name && p->fn && !page_first_has(p->name) &&
		    strcmp(p->name, PAGE_LAST))
			page_section(j, p);
	if ((p = status_find(PAGE_LAST)) != NULL)
		page_section(j, p);
	json_rawf(j, "%s</body></html>\n", page_script);
}

/* ---- routing ------------------------------------------------------------- */

static bool path_is(const struct http_req *r, const char *p)
{
	return r->path_len == strlen(p) && !memcmp(r->path, p, r->path_len);
}

static void api_index(struct json *j)
{
	const struct status_provider *p;
	json_arr(j);
	for (unsigned i = 0; (p = status_at(i)) != NULL; i++)
		if (p->name && p->fn)
			json_str(j, p->name);
	json_str(j, "blob");
	json_arr_end(j);
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
	struct json j;
	memset(out, 0, sizeof(*out));
	if (r->method == HTTP_OTHER) {
		text(out, 405, "405 Method Not Allowed\n");
		out->extra = "Allow: GET, HEAD\r\n";
		return;
	}
	if (cap < 2) {
		text(out, 500, "500 response too large\n");
		return;
	}
	json_init(&j, scratch, cap - 1); /* a byte for the closing newline */
	out->status = 200;
	out->ctype = "application/json";
	if (path_is(r, "/") || path_is(r, "/index.html")) {
		out->ctype = "text/html; charset=utf-8";
		page_html(&j);
		if (j.overflow) {
			text(out, 500, "500 response too large\n");
			return;
		}
		out->body = scratch;
		out->len = j.len;
		return;
	}
	if (path_is(r, "/api/blob")) {
		blob(r, out);
		return;
	}
	if (path_is(r, "/api") || path_is(r, "/api/")) {
		api_index(&j);
	} else if (r->path_len > 5 && !memcmp(r->path, "/api/", 5) &&
		   r->path_len - 5 < 32) {
		char name[32];
		memcpy(name, r->path + 5, r->path_len - 5);
		name[r->path_len - 5] = 0;
		const struct status_provider *p = status_find(name);
		if (!p) {
			text(out, 404, "404 Not Found\n");
			return;
		}
		p->fn(&j);
	} else {
		text(out, 404, "404 Not Found\n");
		return;
	}
	int n = json_end(&j);
	if (n < 0) {
		text(out, 500,
		     j.overflow ? "500 response too large\n"
				: "500 status provider failed\n");
		return;
	}
	scratch[n] = '\n';
	scratch[n + 1] = 0;
	out->body = scratch;
	out->len = (size_t)n + 1;
}
