/* kernel/net/webui.c — the Web UI: /api/<name> serves the status provider
 * of that name (kernel/lib/status.h: devices, nvme, net, log, validator,
 * ...), /api lists them, /api/blob?size=N is a generated body for
 * throughput measurements, and "/" is one HTML page that shows every
 * provider: the server embeds each one's JSON, the page's script renders
 * it as tables by its shape, refreshes it with fetch() every 3 s and draws
 * live rate graphs and a verdict bar chart from it. The Web UI reads
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

/* the style sheet, the header and the dashboard: three live graphs and
 * the bar chart, drawn by the script into these <svg> elements */
static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width\">"
    "<link rel=\"icon\" href=\"data:,\"><title>capOS</title><style>\n"
    "*{box-sizing:border-box}\n"
    "body{font:14px/1.4 system-ui,sans-serif;color:#222;margin:0 auto;\n"
    "padding:0 16px 2em;max-width:1280px}\n"
    "header{display:flex;align-items:baseline;gap:1em;\n"
    "border-bottom:2px solid #468;margin-bottom:.6em}\n"
    "h1{margin:.3em 0;font-size:1.6em}\n"
    "h2{font-size:1.15em;margin:1.4em 0 .3em;border-bottom:1px solid #ccc}\n"
    ".muted{color:#777}.stale{opacity:.5}\n"
    "table{border-collapse:collapse;margin:.2em 0 .5em;max-width:100%}\n"
    "td,th{border:1px solid #ccc;padding:1px 6px;text-align:left;\n"
    "vertical-align:top;font:12px ui-monospace,monospace;\n"
    "overflow-wrap:break-word}\n"
    "table.wide{width:100%}\n"
    "th{background:#e8edf3;font-weight:600}\n"
    "tr.sub>td{background:#f7f9fb;padding:2px 8px 4px 24px}\n"
    ".kv{display:grid;grid-template-columns:repeat(auto-fill,\n"
    "minmax(17em,1fr));column-gap:18px;margin:.2em 0 .4em;\n"
    "font:12px ui-monospace,monospace}\n"
    ".kv>div{display:flex;justify-content:space-between;gap:.6em;\n"
    "border-bottom:1px dotted #ccc;min-width:0}\n"
    ".kv .k{color:#456}.kv .v{text-align:right;overflow-wrap:anywhere}\n"
    ".nk{font-weight:600;color:#345;margin-top:.3em}\n"
    "[data-provider]{overflow-x:auto}\n"
    "pre{background:#f6f6f6;padding:.5em;max-height:24em;overflow:auto;\n"
    "white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px}\n"
    ".charts{display:grid;grid-template-columns:repeat(3,1fr);gap:12px;\n"
    "margin-bottom:12px}\n"
    "figure{margin:0;border:1px solid #ccc;border-radius:4px;\n"
    "padding:6px 8px;min-width:0}\n"
    "figcaption{font-weight:600}\n"
    "svg{display:block;width:100%;height:auto}\n"
    "svg text{font:10px system-ui,sans-serif;fill:#444}\n"
    ".legend{font-size:12px;min-height:1.4em}\n"
    ".key{display:inline-block;width:12px;height:3px;margin:0 4px 3px 0}\n"
    "line.grid{stroke:#e4e4e4}line.axis{stroke:#888}\n"
    "line.sep{stroke:#bbb;stroke-dasharray:3 3}\n"
    "path.line{fill:none;stroke-width:2}\n"
    ".s0{stroke:#2b7bb9;background:#2b7bb9;fill:#2b7bb9}\n"
    ".s1{stroke:#e07b20;background:#e07b20;fill:#e07b20}\n"
    "rect.ok{fill:#3a9a5b}rect.ref{fill:#d0453a}rect.auth{fill:#8a5cc2}\n"
    "text.group{font-weight:600;fill:#222}text.val{font-size:9px}\n"
    "text.lbl{font-size:9px;fill:#999}text.lbl.nz{fill:#222}\n"
    "</style></head><body>\n"
    "<header><h1>capOS</h1><span id=\"stamp\" class=\"muted\">as "
    "served</span></header>\n"
    "<div id=\"dash\"><div class=\"charts\">\n"
    "<figure><figcaption>Network bytes/s</figcaption>"
    "<svg id=\"g-net-bytes\" viewBox=\"0 0 400 140\"></svg>"
    "<div class=\"legend\"></div></figure>\n"
    "<figure><figcaption>Network frames/s</figcaption>"
    "<svg id=\"g-net-frames\" viewBox=\"0 0 400 140\"></svg>"
    "<div class=\"legend\"></div></figure>\n"
    "<figure><figcaption>NVMe I/O commands/s</figcaption>"
    "<svg id=\"g-nvme\" viewBox=\"0 0 400 140\"></svg>"
    "<div class=\"legend\"></div></figure>\n"
    "</div><figure><figcaption>DMA validator verdicts and authority "
    "refusals (counts since boot, log scale)</figcaption>"
    "<svg id=\"bars\" viewBox=\"0 0 1240 292\"></svg></figure></div>\n";

/* the renderer: every section's embedded JSON first, then each provider
 * fetched again, one at a time, every PERIOD ms; the graphs plot rates
 * between successive samples of /api/net and /api/nvme */
static const char page_script[] =
    "<script>\n"
    "'use strict';\n"
    "const PERIOD = 3000, SPAN = 120, KEEP = 48, LOG_EVERY = 4;\n"
    "const esc = s => String(s).replace(/[&<>\"']/g,\n"
    "  c => '&#' + c.charCodeAt(0) + ';');\n"
    "const scalar = v => v === null || typeof v !== 'object';\n"
    "const isobj = v => !scalar(v) && !Array.isArray(v);\n"
    "const muted = (a, w) => `<span class='muted'${a}>${w}</span>`;\n"
    "function text(v) {\n"
    "  if (v === null) return muted('', '-');\n"
    "  if (typeof v === 'boolean') return v ? 'yes' : 'no';\n"
    "  return esc(v);\n"
    "}\n"
    "/* any JSON value as HTML, driven by its shape: scalars as text,\n"
    " * objects as key/value lists with their nested values below,\n"
    " * arrays of objects as tables with a header row; an element's\n"
    " * nested values go to a row of their own under its row */\n"
    "function view(v, id) {\n"
    "  const a = id ? ` id='${esc(id)}'` : '';\n"
    "  if (scalar(v)) return `<span${a}>${text(v)}</span>`;\n"
    "  if (Array.isArray(v)) {\n"
    "    if (!v.length) return muted(a, 'none');\n"
    "    if (v.every(scalar))\n"
    "      return `<span${a}>${v.map(text).join(', ')}</span>`;\n"
    "    if (v.every(isobj)) return table(v, a);\n"
    "    return `<ol${a}>` +\n"
    "      v.map(x => `<li>${view(x)}</li>`).join('') + '</ol>';\n"
    "  }\n"
    "  const k = Object.keys(v);\n"
    "  if (!k.length) return muted(a, 'empty');\n"
    "  const s = k.filter(x => scalar(v[x]));\n"
    "  return `<div class='obj'${a}>` + (s.length ? kv(v, s) : '') +\n"
    "    nested(v, k.filter(x => !scalar(v[x]))) + '</div>';\n"
    "}\n"
    "const kv = (v, keys) => \"<div class='kv'>\" + keys.map(x =>\n"
    "  `<div><span class='k'>${esc(x)}</span>` +\n"
    "  `<span class='v'>${text(v[x])}</span></div>`).join('') + '</div>';\n"
    "const nested = (v, keys) => keys.map(x =>\n"
    "  `<div class='nk'>${esc(x)}</div>` +\n"
    "  `<div class='nv'>${view(v[x])}</div>`).join('');\n"
    "function table(v, a) {\n"
    "  const keys = [];\n"
    "  for (const o of v)\n"
    "    for (const x of Object.keys(o))\n"
    "      if (!keys.includes(x)) keys.push(x);\n"
    "  const cols = keys.filter(\n"
    "    x => v.every(o => !(x in o) || scalar(o[x])));\n"
    "  const sub = keys.filter(x => !cols.includes(x));\n"
    "  const w = sub.length ? \" class='wide'\" : '';\n"
    "  let h = `<table${a}${w}><thead><tr>` +\n"
    "    cols.map(x => `<th>${esc(x)}</th>`).join('') +\n"
    "    '</tr></thead><tbody>';\n"
    "  for (const o of v) {\n"
    "    h += '<tr>' + cols.map(x =>\n"
    "      `<td>${x in o ? text(o[x]) : ''}</td>`).join('') + '</tr>';\n"
    "    const mine = sub.filter(x => x in o);\n"
    "    if (mine.length)\n"
    "      h += `<tr class='sub'><td colspan='${cols.length || 1}'>` +\n"
    "        nested(o, mine) + '</td></tr>';\n"
    "  }\n"
    "  return h + '</tbody></table>';\n"
    "}\n"
    "\n"
    "/* ---- samples, rates and the live graphs ---- */\n"
    "const hist = {};\n"
    "function sample(n, d) {\n"
    "  const h = hist[n] || (hist[n] = []);\n"
    "  h.push({t: performance.now() / 1000, d});\n"
    "  if (h.length > KEEP) h.shift();\n"
    "}\n"
    "const sum = (a, f) =>\n"
    "  (a || []).reduce((s, x) => s + (Number(f(x)) || 0), 0);\n"
    "const nic = f => d => sum(d.nics, f);\n"
    "const GRAPHS = [\n"
    "  {id: 'g-net-bytes', src: 'net', unit: 'B/s', series: [\n"
    "    ['received', nic(x => x.rx_bytes)],\n"
    "    ['sent', nic(x => x.tx_bytes)]]},\n"
    "  {id: 'g-net-frames', src: 'net', unit: 'frames/s', series: [\n"
    "    ['received', nic(x => x.rx_packets)],\n"
    "    ['sent', nic(x => x.tx_packets)]]},\n"
    "  {id: 'g-nvme', src: 'nvme', unit: 'commands/s', series: [\n"
    "    ['I/O completed', d => sum(d, c =>\n"
    "      sum(c.queues, q => q.id ? q.completed : 0))]]},\n"
    "];\n"
    "function human(v, unit) {\n"
    "  const p = ['', 'k', 'M', 'G'];\n"
    "  let i = 0;\n"
    "  for (; v >= 1000 && i < 3; i++) v /= 1000;\n"
    "  const n = v >= 100 || Number.isInteger(v) ? Math.round(v)\n"
    "                                            : v.toFixed(1);\n"
    "  return `${n} ${p[i]}${unit}`.trim();\n"
    "}\n"
    "function nice(m) {\n"
    "  const e = Math.pow(10, Math.floor(Math.log10(m))), f = m / e;\n"
    "  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * e;\n"
    "}\n"
    "function rates(h, f) {\n"
    "  const r = [];\n"
    "  for (let i = 1; i < h.length; i++) {\n"
    "    const dt = h[i].t - h[i - 1].t;\n"
    "    const dv = f(h[i].d) - f(h[i - 1].d);\n"
    "    if (dt > 0 && dv >= 0) r.push([h[i].t, dv / dt]);\n"
    "  }\n"
    "  return r;\n"
    "}\n"
    "const line = (c, x1, x2, y1, y2) => `<line class='${c}' ` +\n"
    "  `x1='${x1}' x2='${x2}' y1='${y1}' y2='${y2}'/>`;\n"
    "const label = (c, x, y, t, anchor, more) => `<text class='${c}' ` +\n"
    "  `x='${x}' y='${y}' text-anchor='${anchor}'${more || ''}>` +\n"
    "  `${esc(t)}</text>`;\n"
    "function graph(g) {\n"
    "  const W = 400, H = 140, X0 = 44, X1 = W - 8, Y0 = 10, Y1 = H - 20;\n"
    "  const e = document.getElementById(g.id), h = hist[g.src] || [];\n"
    "  const leg = e.parentNode.querySelector('.legend');\n"
    "  if (h.length < 2) {\n"
    "    leg.textContent = h.length ? 'waiting for the next sample'\n"
    "                               : `no /api/${g.src}`;\n"
    "    return;\n"
    "  }\n"
    "  const now = h[h.length - 1].t;\n"
    "  const all = g.series.map(s => rates(h, s[1]));\n"
    "  const top = Math.max(1, ...all.flat().map(p => p[1]));\n"
    "  const max = nice(top);\n"
    "  let s = '';\n"
    "  for (const f of [0, 0.5, 1]) {\n"
    "    const y = (Y1 - f * (Y1 - Y0)).toFixed(1);\n"
    "    s += line('grid', X0, X1, y, y) +\n"
    "      label('tick', X0 - 4, y, human(f * max, ''), 'end', \" dy='4'\");\n"
    "  }\n"
    "  for (const t of [SPAN, SPAN / 2, 0]) {\n"
    "    const x = (X1 - t / SPAN * (X1 - X0)).toFixed(1);\n"
    "    s += label('tick', x, H - 5, t ? `-${t} s` : 'now',\n"
    "               t === SPAN ? 'start' : t ? 'middle' : 'end');\n"
    "  }\n"
    "  const lg = [];\n"
    "  all.forEach((r, i) => {\n"
    "    let d = '';\n"
    "    for (const [t, v] of r) {\n"
    "      const x = X1 - (now - t) / SPAN * (X1 - X0);\n"
    "      if (x < X0) continue;\n"
    "      const y = Y1 - v / max * (Y1 - Y0);\n"
    "      d += `${d ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;\n"
    "    }\n"
    "    const last = r.length ? r[r.length - 1][1] : 0;\n"
    "    s += `<path class='line s${i}' data-last='${last.toFixed(1)}'` +\n"
    "      ` d='${d}'/>`;\n"
    "    if (d) /* the newest sample, also when it is the only one */\n"
    "      s += `<circle class='dot s${i}' r='2.5' ` +\n"
    "        `cx='${X1}' cy='${(Y1 - last / max * (Y1 - Y0)).toFixed(1)}'/>`;\n"
    "    lg.push(`<span class='key s${i}'></span>` +\n"
    "      esc(`${g.series[i][0]} ${human(last, g.unit)}`));\n"
    "  });\n"
    "  e.innerHTML = s;\n"
    "  leg.innerHTML = lg.join(' &nbsp; ');\n"
    "}\n"
    "\n"
    "/* ---- the bar chart: validator verdicts, authority refusals ---- */\n"
    "const num = v => typeof v === 'number' && v >= 0;\n"
    "const latest = n => hist[n] && hist[n][hist[n].length - 1].d;\n"
    "/* one group per controller while that stays readable, else their sum */\n"
    "function bardata() {\n"
    "  const b = [], v = latest('validator'), a = latest('authority');\n"
    "  const cs = (v && v.controllers) || [], sums = {};\n"
    "  for (const c of cs) {\n"
    "    const vd = (c.gate && c.gate.verdicts) || {};\n"
    "    for (const k of Object.keys(vd).filter(k => num(vd[k])))\n"
    "      if (cs.length > 2)\n"
    "        sums[k] = (sums[k] || 0) + vd[k];\n"
    "      else\n"
    "        b.push({g: `validator ${c.pci}`, n: k, v: vd[k]});\n"
    "  }\n"
    "  for (const k of Object.keys(sums))\n"
    "    b.push({g: `validator, ${cs.length} controllers`, n: k,\n"
    "            v: sums[k]});\n"
    "  b.forEach(x => x.c = x.n === 'accept' ? 'ok' : 'ref');\n"
    "  const r = (a && a.refusals) || {};\n"
    "  for (const k of Object.keys(r).filter(k => num(r[k])))\n"
    "    b.push({g: 'authority refusals', n: k, v: r[k], c: 'auth'});\n"
    "  return b;\n"
    "}\n"
    "function bars() {\n"
    "  const e = document.getElementById('bars'), b = bardata();\n"
    "  const W = 1240, X0 = 84, Y0 = 26, Y1 = 176, H = 292;\n"
    "  if (!b.length) {\n"
    "    e.innerHTML = label('group', 10, 20, 'no verdicts or refusals',\n"
    "                        'start');\n"
    "    return;\n"
    "  }\n"
    "  /* logarithmic: 1 and 10 000 both readable */\n"
    "  const top = Math.ceil(Math.log10(Math.max(...b.map(x => x.v), 1)));\n"
    "  const y = v => Y1 - (v ? (Math.log10(v) + 1) / (top + 2) *\n"
    "                       (Y1 - Y0) : 0);\n"
    "  const bw = (W - X0 - 4) / b.length;\n"
    "  let s = '', group = '';\n"
    "  for (let p = 0; p <= top; p++) {\n"
    "    const yy = y(Math.pow(10, p)).toFixed(1);\n"
    "    s += line('grid', X0, W, yy, yy) + label('tick', X0 - 4, yy,\n"
    "      human(Math.pow(10, p), ''), 'end', \" dy='4'\");\n"
    "  }\n"
    "  s += line('axis', X0, W, Y1, Y1);\n"
    "  b.forEach((x, i) => {\n"
    "    const x0 = X0 + i * bw, cx = (x0 + bw / 2).toFixed(1);\n"
    "    const yy = y(x.v);\n"
    "    if (x.g !== group) {\n"
    "      group = x.g;\n"
    "      s += line('sep', x0.toFixed(1), x0.toFixed(1), 4, Y1) +\n"
    "        label('group', (x0 + 4).toFixed(1), 14, x.g, 'start');\n"
    "    }\n"
    "    s += `<rect class='bar ${x.c}' data-group='${esc(x.g)}'` +\n"
    "      ` data-name='${esc(x.n)}' data-value='${esc(x.v)}'` +\n"
    "      ` x='${(x0 + 1.5).toFixed(1)}' y='${yy.toFixed(1)}'` +\n"
    "      ` width='${Math.max(bw - 3, 1).toFixed(1)}'` +\n"
    "      ` height='${(Y1 - yy).toFixed(1)}'>` +\n"
    "      `<title>${esc(`${x.g}: ${x.n} = ${x.v}`)}</title></rect>`;\n"
    "    if (x.v)\n"
    "      s += label('val', cx, (yy - 3).toFixed(1), human(x.v, ''),\n"
    "                 'middle');\n"
    "    s += label(x.v ? 'lbl nz' : 'lbl', 0, 0, x.n, 'end',\n"
    "      ` dy='3' transform='translate(${cx} ${Y1 + 8}) rotate(-50)'`);\n"
    "  });\n"
    "  e.setAttribute('viewBox', `0 0 ${W} ${H}`);\n"
    "  e.innerHTML = s;\n"
    "}\n"
    "\n"
    "/* ---- sections and the refresh loop ---- */\n"
    "const secs = [...document.querySelectorAll('[data-provider]')];\n"
    "function render(e, d) {\n"
    "  const n = e.dataset.provider;\n"
    "  if (n !== 'log' || typeof d.log !== 'string') {\n"
    "    e.innerHTML = view(d, n);\n"
    "    return;\n"
    "  }\n"
    "  let l = document.getElementById('log');\n"
    "  const end = !l || l.scrollTop + l.clientHeight >= l.scrollHeight - 4;\n"
    "  e.innerHTML = `<pre id='log'>${esc(d.log)}</pre>`;\n"
    "  l = document.getElementById('log');\n"
    "  if (end) l.scrollTop = l.scrollHeight;\n"
    "}\n"
    "function got(e, d) {\n"
    "  e.classList.remove('stale');\n"
    "  sample(e.dataset.provider, d);\n"
    "  render(e, d);\n"
    "}\n"
    "function draw() {\n"
    "  GRAPHS.forEach(graph);\n"
    "  bars();\n"
    "}\n"
    "let round = 0;\n"
    "/* one provider at a time, so a slow guest is never asked for more\n"
    " * than one response at once; the next round PERIOD after this one\n"
    " * began */\n"
    "async function cycle() {\n"
    "  const t0 = performance.now();\n"
    "  let bad = 0;\n"
    "  round++;\n"
    "  for (const e of secs) {\n"
    "    const n = e.dataset.provider;\n"
    "    if (n === 'log' && round % LOG_EVERY) continue;\n"
    "    try {\n"
    "      const r = await fetch(`/api/${n}`, {cache: 'no-store',\n"
    "        signal: AbortSignal.timeout(10000)});\n"
    "      if (!r.ok) throw new Error(r.status);\n"
    "      got(e, await r.json());\n"
    "    } catch (x) {\n"
    "      bad++;\n"
    "      e.classList.add('stale');\n"
    "    }\n"
    "  }\n"
    "  draw();\n"
    "  document.getElementById('stamp').textContent =\n"
    "    `updated ${new Date().toLocaleTimeString()}, every ` +\n"
    "    `${PERIOD / 1000} s` + (bad ? `; ${bad} did not answer` : '');\n"
    "  setTimeout(cycle, Math.max(500, PERIOD - (performance.now() - t0)));\n"
    "}\n"
    "for (const e of secs) {\n"
    "  try {\n"
    "    got(e, JSON.parse(e.textContent));\n"
    "  } catch (x) {\n"
    "    e.classList.add('stale');\n"
    "  }\n"
    "}\n"
    "draw();\n"
    "setTimeout(cycle, PERIOD);\n"
    "</script>\n";

/* s into the page, or, with j NULL, only counted: its length */
static size_t put(struct json *j, const char *s, size_t n)
{
	if (j)
		json_raw(j, s, n);
	return n;
}
#define PUT(j, lit) put((j), (lit), sizeof(lit) - 1)

/* s as HTML text (attr false: element content, where only '<' and '&'
 * are markup) or as a double-quoted attribute value (attr: '&' and '"');
 * a NUL, which neither may hold, as U+FFFD. Written into j, or with j
 * NULL only counted; the length either way */
static size_t html(struct json *j, const char *s, size_t n, bool attr)
{
	size_t len = 0;
	for (size_t i = 0; i < n;) {
		size_t run = i;
		while (run < n && s[run] != '&' && s[run] != 0 &&
		       s[run] != (attr ? '"' : '<'))
			run++;
		if (run > i) {
			len += put(j, s + i, run - i);
			i = run;
			continue;
		}
		const char *e = s[i] == '&'   ? "&amp;"
				: s[i] == '<' ? "&lt;"
				: s[i] == '"' ? "&quot;"
					      : "\xef\xbf\xbd"; /* NUL */
		len += put(j, e, strlen(e));
		i++;
	}
	return len;
}

static size_t htmlz(struct json *j, const char *s, bool attr)
{
	return html(j, s, strlen(s), attr);
}

static const char *provider_title(const char *name)
{
	static const struct {
		const char *name, *title;
	} t[] = {
	    {"devices", "PCI functions"},
	    {"pci", "PCI enumeration"},
	    {"nvme", "NVMe controllers"},
	    {"net", "Network"},
	    {"validator", "DMA validator verdicts"},
	    {"shape", "Cloud shape and DMA backend"},
	    {"authority", "Authority: capabilities and refusals"},
	    {"iommu", "IOMMU units and domains"},
	    {"virtio-net", "virtio-net devices"},
	    {"gvnic", "gVNIC devices"},
	    {"log", "Boot log"},
	};
	for (unsigned i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(t[i].name, name))
			return t[i].title;
	return name;
}

/* one provider: a heading and its JSON (doc, n bytes) until the script
 * renders it, or "(unavailable)" when doc is NULL. Written into j, or
 * with j NULL only counted; the length either way */
static size_t page_section(struct json *j, const struct status_provider *p,
			   const char *doc, size_t n)
{
	size_t len = PUT(j, "<h2>");
	len += htmlz(j, provider_title(p->name), false);
	len += PUT(j, " <span class=\"muted\">/api/");
	len += htmlz(j, p->name, false);
	len += PUT(j, "</span></h2>\n<div data-provider=\"");
	len += htmlz(j, p->name, true);
	len += PUT(j, "\"><pre>");
	len += doc ? html(j, doc, n, false) : PUT(j, "(unavailable)");
	return len + PUT(j, "</pre></div>\n");
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

/* the i-th section of the page, NULL past the last */
static const struct status_provider *page_at(unsigned i)
{
	const struct status_provider *p;
	for (unsigned k = 0; k < ARRAY_SIZE(page_first); k++)
		if ((p = status_find(page_first[k])) != NULL && !i--)
			return p;
	for (unsigned k = 0; (p = status_at(k)) != NULL; k++)
		if (p->name && p->fn && !page_first_has(p->name) &&
		    strcmp(p->name, PAGE_LAST) && !i--)
			return p;
	p = status_find(PAGE_LAST);
	return p && !i ? p : NULL;
}

static const char page_end[] = "</body></html>\n";

/* the page: a section whose JSON would leave no room for the sections
 * after it (each at least "(unavailable)"), the script and the end is
 * "(unavailable)" alone, and the rest of the page is served */
static void page_html(struct json *j)
{
	const struct status_provider *p;
	size_t rest = sizeof(page_script) - 1 + sizeof(page_end) - 1;
	for (unsigned i = 0; (p = page_at(i)) != NULL; i++)
		rest += page_section(NULL, p, NULL, 0);
	json_raw(j, page_head, sizeof(page_head) - 1);
	if (!provbuf)
		provbuf = net_alloc(PROV_MAX);
	for (unsigned i = 0; (p = page_at(i)) != NULL; i++) {
		struct json pj;
		rest -= page_section(NULL, p, NULL, 0);
		json_init(&pj, provbuf, provbuf ? PROV_MAX : 0);
		bool fits =
		    provbuf && provider_json(&pj, p) &&
		    j->len + page_section(NULL, p, provbuf, pj.len) + rest <
			j->cap;
		page_section(j, p, fits ? provbuf : NULL, pj.len);
	}
	json_raw(j, page_script, sizeof(page_script) - 1);
	json_raw(j, page_end, sizeof(page_end) - 1);
}

/* ---- routing ------------------------------------------------------------- */

/* the longest path a route can match: "/api/" and a provider's name */
#define ROUTE_PATH_MAX 40

static unsigned hexval(char c)
{
	return c <= '9' ? (unsigned)(c - '0')
			: (unsigned)((c | 0x20) - 'a' + 10);
}

/* r's path in the normal form of RFC 9110 §4.2.3: a percent-encoded
 * unreserved character (RFC 3986 §2.3) decoded, any other escape kept
 * (%2F is not a '/'); http.c let through only well-formed escapes. Its
 * length, or cap when it is longer than any route */
static size_t path_norm(const struct http_req *r, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < r->path_len; i++) {
		char c = r->path[i];
		if (c == '%' && i + 2 < r->path_len) {
			char d = (char)(hexval(r->path[i + 1]) << 4 |
					hexval(r->path[i + 2]));
			if ((d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') ||
			    (d >= 'A' && d <= 'Z') || (d && strchr("-._~", d)))
				c = d, i += 2;
		}
		if (k == cap)
			return cap;
		out[k++] = c;
	}
	return k;
}

static bool path_is(const char *path, size_t len, const char *p)
{
	return len == strlen(p) && !memcmp(path, p, len);
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
	if (!size)
		out->body = "";
}

bool webui_is_sink(const struct http_req *r)
{
	return r->path_len == 9 && !memcmp(r->path, "/api/sink", 9);
}

void webui_route(const struct http_req *r, char *scratch, size_t cap,
		 struct http_resp *out)
{
	struct json j;
	char path[ROUTE_PATH_MAX];
	size_t plen = path_norm(r, path, sizeof(path));
	memset(out, 0, sizeof(*out));
	/* RFC 9110 §15.5.6: a 405 lists the methods the target supports.
	 * The sink's POST never gets here (httpd.c serves it) */
	if (r->method == HTTP_OTHER || webui_is_sink(r)) {
		text(out, 405, "405 Method Not Allowed\n");
		out->extra = webui_is_sink(r) ? "Allow: POST\r\n"
					      : "Allow: GET, HEAD\r\n";
		return;
	}
	if (cap < 2) {
		text(out, 500, "500 response too large\n");
		return;
	}
	json_init(&j, scratch, cap - 1); /* a byte for the closing newline */
	out->status = 200;
	out->ctype = "application/json";
	if (path_is(path, plen, "/") || path_is(path, plen, "/index.html")) {
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
	if (path_is(path, plen, "/api/blob")) {
		blob(r, out);
		return;
	}
	if (path_is(path, plen, "/api") || path_is(path, plen, "/api/")) {
		api_index(&j);
	} else if (plen > 5 && plen < sizeof(path) &&
		   !memcmp(path, "/api/", 5)) {
		char name[ROUTE_PATH_MAX - 4];
		memcpy(name, path + 5, plen - 5);
		name[plen - 5] = 0;
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
