"""tests/qemu/test_webui.py — the Web UI's page ("/", kernel/net/webui.c)
as a person sees it, in headless Debian Chromium (driven over the DevTools
protocol, tests/qemu/cdp.py), against the proof image in QEMU.

One boot: virtio-net on QEMU's user network with a host port forwarded to
the guest's port 80, and an NVMe controller with two namespaces on which
nvme-bringup, nvme-integrity and nvme-hostile run first, so the NVMe
queues have done I/O and the DMA validator has refused commands of many
kinds; nvme-background checks that its first read (LBA 0) returns the
pattern the test wrote there before the boot, then keeps reading the disk
from the main loop (20 reads a second). One browser at a 1280 x 900 window
opens "/" and the tests check:

  background nvme-background's first read held, word for word, the pattern
             written into the image before the boot (no other check here
             covers what it reads)
  strings    a device string with a quote, a backslash and markup (the
             NVMe serial) is that JSON string in /api/nvme and text on the
             page, never markup
  cells      no table cell or key/value entry holds JSON text (an object or
             array that parses), and every provider's section was rendered
  renderer   the page's renderer, handed a provider of every JSON shape
             with strings that would be markup, makes tables and text of
             it, never markup or JSON text
  width      the document is no wider than 1280 px, nor is any section
  bars       the bar chart has a bar per validator verdict and authority
             refusal with the value /api/validator and /api/authority
             report, and its rendered heights order as the values do
  graphs     with a download running, the rate graphs' paths and a
             screenshot of them change between two moments a few seconds
             apart, and the plotted send rate and NVMe command rate match
             the guest's own counters (/api/net, /api/nvme) measured over
             the same time
  external   the page names no resource outside capOS (no http(s):// src or
             href, no CSS url() or @import) and every request the browser
             made went to capOS's own HTTP server

Screenshots land in build/: webui-full.png (the whole page),
webui-graphs-1.png and webui-graphs-2.png (the graphs, before and after)."""
import json
import os
import re
import threading
import time

import pytest

from blob import blob_bytes
from cdp import Browser
from net_tools import ensure_packages, http_get, http_get_retry
from qemu import BUILD, Machine, free_port
from test_nvme import NS1_EUI64, NS1_UUID, QEMU_DMRSL, expected_blocks

HERE = os.path.dirname(os.path.abspath(__file__))
VEC_DIR = os.path.join(HERE, "nvme_vectors")
WIDTH, HEIGHT = 1280, 900
PROOFS = "virtio-net,nvme-bringup,nvme-integrity,nvme-hostile,nvme-background"
BLOB = 256 << 10  # one download of the traffic generator
# nvme-background's first read (kernel/proof/nvme_background.c: BG_SEED,
# BG_BLOCKS): the test writes this pattern at LBA 0 of namespace 1 (QEMU's
# 512-byte blocks), no proof before it writes there
BG_SEED, BG_BLOCKS, BG_BS = 0xB6C0FFEE, 8, 512
# the NVMe serial QEMU reports (Identify SN, 20 bytes): a quote, a
# backslash and markup, each escaped by another writer on its way to the
# screen (kernel/lib/json.c, webui.c's html(), the renderer's esc())
SERIAL = 'w"\\<i>&\'</pre>'


def cells_js():
    """the text of every table cell and key/value entry on the page"""
    return ("[...document.querySelectorAll('td, th, .kv .k, .kv .v')]"
            ".map(e => e.textContent.trim())")


@pytest.fixture(scope="module")
def ui():
    missing = ensure_packages([("chromium", "chromium")])
    if missing:
        pytest.skip("not root and missing Debian packages: chromium (apt-get install it)")
    port = free_port()
    disk = os.path.join(BUILD, "qemu", "webui-ns1.img")
    disk2 = os.path.join(BUILD, "qemu", "webui-ns2.img")
    os.makedirs(os.path.dirname(disk), exist_ok=True)
    for path, size in ((disk, 64 << 20), (disk2, 16 << 20)):
        with open(path, "wb") as f:
            f.truncate(size)
    with open(disk, "r+b") as f:  # what nvme-background must read back
        f.write(expected_blocks(0, BG_BLOCKS, BG_BS, BG_SEED))
    vectors = {}
    for n in sorted(os.listdir(VEC_DIR)):
        if n.endswith(".vec"):
            with open(os.path.join(VEC_DIR, n), "rb") as f:
                vectors[n] = f.read()
    m = Machine("webui", mem="256M", timeout=300, files=vectors, devices=[
        "-netdev", f"user,id=u0,hostfwd=tcp:127.0.0.1:{port}-:80",
        "-device", "virtio-net-pci,netdev=u0",
        "-drive", f"file={disk},format=raw,if=none,id=nvm",
        "-drive", f"file={disk2},format=raw,if=none,id=nvm2",
        "-device", "nvme-subsys,id=subsys0,nqn=capos-subsys0",
        "-device", f"nvme,id=nvmec,serial={SERIAL},subsys=subsys0",
        "-device", f"nvme-ns,drive=nvm,bus=nvmec,nsid=1,"
                   f"eui64={NS1_EUI64:#018x},uuid={NS1_UUID}",
        "-device", "nvme-ns,drive=nvm2,bus=nvmec,nsid=2"],
        cmdline=f"proofs={PROOFS} nvme.ns=1")
    with m:
        m.wait_for(r"^capOS: up; main loop running", 300)
        failed = [str(p) for p in m.proofs.values() if not p.passed]
        assert not failed, f"proofs failed: {failed}"
        m.wait_for(r"^vnet0: address 10\.0\.2\.15 ", 120)
        st, _, _ = http_get_retry(port, "/", total=90)
        assert st == 200, f"GET / answered {st}"
        with Browser(WIDTH, HEIGHT, log=os.path.join(m.dir, "chromium.log")) as b:
            b.navigate(f"http://127.0.0.1:{port}/")
            b.wait_for("document.readyState === 'complete'", 60, "the page to load")
            # the script ran: the bar chart and a first refresh round
            b.wait_for("document.querySelectorAll('#bars rect.bar').length > 0", 60,
                       "the bar chart")
            b.wait_for("!!document.querySelector('#g-net-bytes path.line')", 60,
                       "the network graph's first line (a second sample)")
            yield m, b, port
        assert m.proc.poll() is None, "QEMU died during the run\n" + m.tail()


def test_background_read_pattern(ui):
    """nvme-background read LBA 0 and found, word for word, the pattern
    this test wrote into the image before the boot"""
    m, _, _ = ui
    kv = m.proofs["nvme-background"].kv
    assert m.proofs["nvme-background"].passed, kv
    assert kv["read"] == "1" and int(kv["bs"]) == BG_BS, kv
    assert int(kv["seed"], 16) == BG_SEED, kv
    assert int(kv["checked_bytes"]) == BG_BLOCKS * BG_BS, kv
    assert kv["bad_words"] == "0", kv


def test_api_nvme_limits(ui):
    """/api/nvme shows the controller's NVM limits (Identify CNS 06h) as
    QEMU 7.2 reports them (test_nvme.py: only DMRSL) and each namespace's
    per-command limits: capOS's own, QEMU's DMRSL being above them"""
    _, _, port = ui
    st, _, body = http_get_retry(port, "/api/nvme", total=30)
    assert st == 200, st
    ctrl = json.loads(body)[0]
    assert ctrl["nvm_limits"] == {"identify": "read", "wzsl": 0, "dmrl": 0,
                                  "dmrsl": QEMU_DMRSL, "dmsl": 0}, ctrl["nvm_limits"]
    ns = ctrl["namespaces"][0]
    assert (ns["wz_blocks"], ns["dsm_ranges"], ns["dsm_range_blocks"],
            ns["dsm_blocks"]) == (65536, 256, 65536, 256 * 65536), ns


def test_api_nvme_identifiers(ui):
    """/api/nvme shows namespace 1's identifiers as QEMU was given them (test_nvme.py:
    an EUI64 and a UUID; QEMU 7.2 has no NGUID, so the key is absent), as hex, and
    the page shows them in cells of their own"""
    _, b, port = ui
    st, _, body = http_get_retry(port, "/api/nvme", total=30)
    assert st == 200, st
    ns = json.loads(body)[0]["namespaces"][0]
    want = {"eui64": f"{NS1_EUI64:016x}", "uuid": NS1_UUID.replace("-", "")}
    assert {k: ns.get(k) for k in ("nguid", "eui64", "uuid")} == {"nguid": None, **want}, ns
    b.wait_for("[...document.querySelectorAll('td, th, .kv .v')].some("
               f"e => e.textContent.trim() === {want['uuid']!r})", 30,
               "namespace 1's UUID in a cell")
    cells = b.eval(cells_js())
    assert want["eui64"] in cells and want["uuid"] in cells


def test_hardware_strings_escaped(ui):
    """a device string with a quote, a backslash and markup (the NVMe
    serial) reaches /api/nvme as that JSON string and the page as text in
    the nvme table, never as markup: no <i> anywhere (the page has none),
    the boot log's nvme0 line included"""
    m, b, port = ui
    st, _, body = http_get_retry(port, "/api/nvme", total=30)
    assert st == 200, st
    assert json.loads(body)[0]["serial"] == SERIAL, body[:300]
    r = b.eval("(() => { const s = document.querySelector('[data-provider=nvme]');"
               "return {cells: [...s.querySelectorAll('td, .kv .v')]"
               ".map(e => e.textContent), pre: s.querySelectorAll('pre').length,"
               "i: document.querySelectorAll('i').length}; })()")
    assert SERIAL in r["cells"], f"serial not shown as text: {r['cells'][:40]}"
    assert r["pre"] == 0 and r["i"] == 0, f"the serial became markup: {r}"


def test_cells_hold_no_json(ui):
    m, b, port = ui
    # every section rendered by the script: only the log stays a <pre>
    raw = b.eval("[...document.querySelectorAll('[data-provider]')]"
                 ".filter(e => e.dataset.provider !== 'log' && "
                 "(e.classList.contains('stale') || e.querySelector(':scope > pre')))"
                 ".map(e => e.dataset.provider)")
    assert not raw, f"sections left unrendered or stale: {raw}"
    cells = b.eval(cells_js())
    assert len(cells) > 200, f"only {len(cells)} cells on the page"
    bad = []
    for t in cells:
        if t[:1] in "{[":
            try:
                json.loads(t)
                bad.append(t)
            except ValueError:
                pass
        elif '{"' in t:
            bad.append(t)
    assert not bad, f"{len(bad)} cells hold JSON text, e.g. {bad[0][:200]!r}"
    # the nested values the old page showed as JSON text are tables now:
    # the validator's per-controller gate and the NVMe queues
    for sel in ("[data-provider=validator] tr.sub .kv",
                "[data-provider=nvme] tr.sub table th"):
        assert b.eval(f"document.querySelectorAll({sel!r}).length") > 0, \
            f"no {sel} on the page"


# a provider no page was written for: every JSON shape, awkward keys and
# strings that would be markup if they were not escaped
ODD = {
    "name": "<img src=x onerror=window.pwned=1>", "n": 1, "f": 1.5, "t": True,
    "nil": None, "empty_obj": {}, "empty_arr": [], "scalars": [1, "two", None],
    "nested": {"deeper": {"deepest": {"x": [{"a": 1}, {"b": {"c": [2, 3]}}]}}},
    "rows": [{"id": 1, "q": {"depth": 2}, "tags": ["a", "b"]},
             {"id": 2, "extra": "only here", "q": {"depth": 3}},
             {"id": "3\"'><script>window.pwned=2</script>", "q": None}],
    "mixed": [1, {"k": "v"}, [4, 5], [{"z": 0}]],
    "grid": [[1, 2], [3, 4]],
    "'quote\"key<b>": "x",
}


def test_renderer_any_shape(ui):
    """the page's renderer on a provider it has never seen"""
    m, b, port = ui
    r = b.eval("(() => { const d = document.createElement('div');"
               f"d.innerHTML = view({json.dumps(ODD)}, 'odd');"
               "document.body.appendChild(d);"
               "const cells = [...d.querySelectorAll('td, th, .kv .k, .kv .v, li')]"
               ".map(e => e.textContent.trim());"
               "const out = {cells, tables: d.querySelectorAll('table').length,"
               "heads: [...d.querySelectorAll('th')].map(e => e.textContent),"
               "tags: [...d.querySelectorAll('script, img, b')].length,"
               "text: d.textContent, pwned: window.pwned || 0};"
               "d.remove(); return out; })()")
    assert r["tags"] == 0 and not r["pwned"], f"provider strings became markup: {r}"
    for t in ("<img src=x onerror=window.pwned=1>", "'quote\"key<b>", "only here"):
        assert t in r["text"], f"{t!r} not shown as text"
    bad = [t for t in r["cells"] if t[:1] in "{[" and _parses(t)]
    assert not bad, f"cells hold JSON text: {bad}"
    # rows: one table with a header per key any element has
    for h in ("id", "extra"):
        assert h in r["heads"], f"no column {h!r}: {r['heads']}"
    assert r["tables"] >= 3, r
    # many controllers: the chart sums them into one group (one sample of
    # three made up here, drawn, read back and taken away again at once)
    fake = {"controllers": [{"pci": f"p{i}", "gate": {"verdicts": {"accept": 10 * i,
                                                                    "fused": i}}}
                            for i in range(1, 4)]}
    got = b.eval("(() => { const h = hist.validator; h.push({t: 0, d: "
                 f"{json.dumps(fake)}}}); bars();"
                 "const r = [...document.querySelectorAll('#bars rect.bar')]"
                 ".filter(x => x.dataset.group.startsWith('validator'))"
                 ".map(x => [x.dataset.group, x.dataset.name, +x.dataset.value]);"
                 "h.pop(); bars(); return r; })()")
    assert sorted(got) == [["validator, 3 controllers", "accept", 60],
                           ["validator, 3 controllers", "fused", 6]], got


def _parses(t):
    try:
        json.loads(t)
        return True
    except ValueError:
        return False


def test_fits_1280(ui):
    m, b, port = ui
    w = b.eval("({doc: document.documentElement.scrollWidth, "
               "body: document.body.scrollWidth, view: window.innerWidth})")
    assert w["view"] == WIDTH, f"window is {w['view']} px wide, not {WIDTH}"
    assert w["doc"] <= WIDTH and w["body"] <= WIDTH, f"page wider than {WIDTH} px: {w}"
    # nor does a section hide overflow in a scroller of its own
    wide = b.eval("[...document.querySelectorAll('[data-provider], figure')]"
                  ".filter(e => e.scrollWidth > e.clientWidth + 1)"
                  ".map(e => (e.dataset.provider || e.id || e.tagName) + ' ' + "
                  "e.scrollWidth + '>' + e.clientWidth)")
    assert not wide, f"sections wider than the page: {wide}"
    b.screenshot(os.path.join(BUILD, "webui-full.png"), full=True)


def test_bar_chart(ui):
    m, b, port = ui
    bars = b.eval("[...document.querySelectorAll('#bars rect.bar')].map(r => ({"
                  "g: r.dataset.group, n: r.dataset.name, v: +r.dataset.value, "
                  "h: r.getBoundingClientRect().height}))")
    want = {}
    _, _, body = http_get(port, "/api/validator", timeout=60)
    cs = json.loads(body)["controllers"]
    assert cs, "no validator controller"
    for c in cs:  # a group per controller, up to two; else their sum
        g = f"validator {c['pci']}" if len(cs) <= 2 else f"validator, {len(cs)} controllers"
        for k, v in c["gate"]["verdicts"].items():
            want[(g, k)] = want.get((g, k), 0) + v
    _, _, body = http_get(port, "/api/authority", timeout=60)
    for k, v in json.loads(body)["refusals"].items():
        want[("authority refusals", k)] = v
    got = {(x["g"], x["n"]): x for x in bars}
    assert set(got) == set(want), \
        f"bars {sorted(set(got) ^ set(want))} differ from the counters"
    for key, v in want.items():
        # accepted commands still grow (nvme-background): the bar is the
        # page's last sample, the counter was read after it
        ok = got[key]["v"] <= v if key[1] == "accept" else got[key]["v"] == v
        assert ok, f"bar {key} shows {got[key]['v']}, the counter is {v}"
    # what a person sees: no bar for 0, a bar for anything else, taller
    # for more (log scale: strictly)
    for x in bars:
        assert (x["h"] > 0.5) == (x["v"] > 0), f"bar {x} height does not match its value"
    ordered = sorted(bars, key=lambda x: x["v"])
    for lo, hi in zip(ordered, ordered[1:]):
        if hi["v"] > lo["v"]:
            assert hi["h"] > lo["h"], f"{hi} not taller than {lo}"
    # the hostile vectors gave the chart something to show
    values = {x["v"] for x in bars if x["g"].startswith("validator") and x["n"] != "accept"}
    assert len(values - {0}) >= 3, f"refusal counters barely moved: {sorted(values)}"


def graph_state(b):
    return b.eval("[...document.querySelectorAll('#dash svg path.line')].map(p => ({"
                  "g: p.closest('svg').id, c: p.getAttribute('class'), "
                  "d: p.getAttribute('d'), last: +p.dataset.last}))")


def guest_counters(port):
    """(bytes sent by the NICs, NVMe I/O commands completed, when)"""
    _, _, body = http_get_retry(port, "/api/net", total=30)
    tx = sum(n["tx_bytes"] for n in json.loads(body)["nics"])
    _, _, body = http_get_retry(port, "/api/nvme", total=30)
    io = sum(q["completed"] for c in json.loads(body) for q in c["queues"] if q["id"])
    return tx, io, time.time()


def plotted(state, graph, cls):
    return next(x["last"] for x in state if x["g"] == graph and x["c"] == cls)


def test_graphs_move(ui):
    m, b, port = ui
    box = b.eval("(r => ({x: r.left + scrollX, y: r.top + scrollY, width: r.width, "
                 "height: r.height}))(document.querySelector('#dash .charts')"
                 ".getBoundingClientRect())")
    stop, done, errors = threading.Event(), [0], []

    def traffic():
        while not stop.is_set():
            try:
                st, _, body = http_get(port, f"/api/blob?size={BLOB}", timeout=60)
                assert st == 200 and body == blob_bytes(BLOB), (st, len(body))
                done[0] += 1
            except (OSError, AssertionError) as e:
                errors.append(repr(e))
                time.sleep(0.5)
    before = graph_state(b)
    shot1 = b.screenshot(os.path.join(BUILD, "webui-graphs-1.png"), clip=box)
    c0 = guest_counters(port)
    th = threading.Thread(target=traffic, daemon=True)
    th.start()
    try:
        # two refresh rounds (3 s each, longer when the guest is slow) with
        # the download running, then the graphs as they are
        stamp = b.eval("document.getElementById('stamp').textContent")
        for i in range(2):
            stamp = b.wait_for(f"(s => s !== {stamp!r} && s)"
                               "(document.getElementById('stamp').textContent)", 30,
                               f"refresh round {i + 1} with traffic flowing")
        after = graph_state(b)
        shot2 = b.screenshot(os.path.join(BUILD, "webui-graphs-2.png"), clip=box)
        c1 = guest_counters(port)
    finally:
        stop.set()
        th.join(90)
    assert done[0] >= 2, f"only {done[0]} downloads completed: {errors[:3]}"
    moved = [(x["g"], x["c"]) for x, y in zip(before, after) if x["d"] != y["d"]]
    for g in (("g-net-bytes", "line s1"), ("g-net-frames", "line s1"), ("g-nvme", "line s0")):
        assert g in moved, f"graph {g} did not move: {before} -> {after}"
    assert shot1 != shot2, "the graphs look the same a few seconds apart"
    # the plotted rates are the guest's: within a factor of 4 of what its
    # own counters say over the same seconds
    dt = c1[2] - c0[2]
    tx, io = (c1[0] - c0[0]) / dt, (c1[1] - c0[1]) / dt
    assert tx > 100e3, f"the guest sent only {tx:.0f} B/s during the downloads"
    assert io > 2, f"only {io:.1f} NVMe commands/s (nvme-background reads 20/s)"
    for what, shown, real in (("B/s sent", plotted(after, "g-net-bytes", "line s1"), tx),
                              ("NVMe commands/s", plotted(after, "g-nvme", "line s0"), io)):
        assert real / 4 <= shown <= real * 4, \
            f"the graph shows {shown:.1f} {what}, the guest's counters {real:.1f}"
    legend = b.eval("document.querySelector('#g-net-bytes').parentNode"
                    ".querySelector('.legend').textContent")
    assert re.search(r"sent [\d.]+ [kM]B/s", legend), f"legend: {legend!r}"


def test_no_external_urls(ui):
    m, b, port = ui
    own = f"http://127.0.0.1:{port}/"
    _, _, body = http_get(port, "/", timeout=60)
    served = body.decode("utf-8")
    dom = b.eval("document.documentElement.outerHTML")
    for name, html in (("served page", served), ("rendered DOM", dom)):
        for ref in re.findall(r"""\b(?:src|href|action)\s*=\s*["']?([^"'\s>]+)""", html, re.I):
            assert not re.match(r"(?i)([a-z][a-z0-9+.-]*:)?//", ref) or ref.startswith(own), \
                f"{name} refers to {ref}"
        assert not re.search(r"(?i)@import|url\(\s*['\"]?(https?:)?//", html), \
            f"{name} imports a style sheet or font from elsewhere"
        assert not re.search(r"(?i)<(link|script|img|iframe)[^>]+(src|href)=[\"']?https?://",
                             html), f"{name} loads a resource from a URL"
    reqs = b.requests()
    assert reqs, "the browser recorded no requests"
    foreign = [u for u in reqs if not (u.startswith(own) or u.startswith("data:"))]
    assert not foreign, f"the browser fetched from outside capOS: {foreign}"
    # the page's own refreshes are among them
    assert any(u.startswith(own + "api/") for u in reqs), reqs[:10]


def test_script_ran_clean(ui):
    """the page's script threw nothing, and every provider answered it"""
    m, b, port = ui
    b.eval("1")  # collect the events that arrived meanwhile
    thrown = [e["params"]["exceptionDetails"] for e in b.events
              if e.get("method") == "Runtime.exceptionThrown"]
    assert not thrown, f"the page's script threw: {thrown[:3]}"
    stamp = b.eval("document.getElementById('stamp').textContent")
    assert stamp.startswith("updated ") and "did not answer" not in stamp, stamp
