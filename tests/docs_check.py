#!/usr/bin/python3
"""tests/docs_check.py — the docs checker (`make docs-check`, and
tests/test_docs.py inside `make test`).

It checks docs/*.md and docs/devices/*.md against the code they describe:

1. Code references resolve. A reference is a backticked repository path
   followed by `+` and one or more backticked symbols:

       `drivers/nvme/nvme.c` + `nvme_attach`
       `kernel/devmgr/shape.c` + `shape_classify` + `shape_platform_name`

   The path is relative to the repository root (a top-level file such as
   `Makefile` counts too). The file must exist and every symbol must occur
   in it as a whole identifier (not as part of a longer one). A symbol is a
   C-style identifier, optionally written `name()`, or `struct name`,
   `enum name`, `union name` (then that keyword must precede it in the file).
   The backticked pieces may be split across a line break. A path after a
   `+` starts a new reference (`a.h` + `a.c` names two files). The prose
   form `` `symbol` in `path` `` is checked the same way when the path's
   folder exists in the repository.
   A bare backticked path (no `+`) whose parent directory exists in the
   repository must name an existing file or directory; paths into folders
   capOS does not have (another project's `drivers/nvme/host/pci.c`) and
   paths with wildcards or placeholders (`*`, `<device>`, `{a,b}`) are not
   checked. Fenced code blocks are not read. A relative Markdown link
   [text](page.md) must point at an existing file.

2. Every driver in the binding table has a page. The table is
   kernel/devmgr/bindings.c (entries `&xxx_driver`); the driver's `.name`
   string is read from the `const struct driver xxx_driver = {...}`
   definition in its source, and the name maps to docs/devices/<page>.md
   (DRIVER_PAGES below, otherwise <name>.md).

3. Every device page (docs/devices/*.md except README.md and template.md)
   has exactly the three sections `## Spec basis`, `## Wire format`,
   `## capOS mapping`, in that order, and no other `##` section.
   template.md (placeholders only) is not read; README.md (the index) has
   its references checked but no sections, and must link every page.

One line per problem, `path:line: what`; exit status 1 if there was any.

    /usr/bin/python3 tests/docs_check.py [--root DIR]
"""
import argparse
import os
import re
import sys

SECTIONS = ["Spec basis", "Wire format", "capOS mapping"]
EXEMPT = {"README.md", "template.md"}
# driver .name -> page under docs/devices/ where the two differ
DRIVER_PAGES = {"gvnic": "gce-gvnic.md", "gve": "gce-gvnic.md"}
# top-level folders a bare path may point into (plus whatever exists)
SOURCE_ROOTS = {"kernel", "dma", "drivers", "tests", "docs"}
SKIP_ROOTS = {"build", ".git"}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
SYMBOL_RE = re.compile(rf"^(?:(struct|enum|union)\s+)?({IDENT})(?:\(\))?$")
PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.+-]+)*/?$")
FENCE_RE = re.compile(r"^(```|~~~)")
# `path` then any number of  + `symbol`
REF_RE = re.compile(r"`([^`\n]+)`((?:\s*\+\s*`[^`\n]+`)+)")
PLUS_SYM_RE = re.compile(r"\s*\+\s*`([^`\n]+)`")
BARE_RE = re.compile(r"`([^`\n]+)`")
LINK_RE = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
IN_RE = re.compile(r"`([^`\n]+)`\s+in\s+`([^`\n]+/[^`\n]+)`")


class Problems:
    def __init__(self, root):
        self.root = root
        self.lines = []

    def add(self, path, line, msg):
        rel = os.path.relpath(path, self.root)
        self.lines.append(f"{rel}:{line}: {msg}" if line else f"{rel}: {msg}")


def strip_fences(text):
    """The text with fenced code blocks blanked (line numbers kept)."""
    out, fenced = [], False
    for line in text.split("\n"):
        if FENCE_RE.match(line.strip()):
            fenced = not fenced
            out.append("")
        else:
            out.append("" if fenced else line)
    return "\n".join(out)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def is_repo_path(root, p):
    """Is p meant as a path in this repository (not a URL, option, glob)?"""
    if any(c in p for c in "*<>{}$ ") or "://" in p or p.startswith(("/", ".", "-")):
        return False
    if not PATH_RE.match(p):
        return False
    return True


_file_cache = {}


def read_source(path):
    if path not in _file_cache:
        with open(path, encoding="utf-8", errors="replace") as f:
            _file_cache[path] = f.read()
    return _file_cache[path]


def symbol_in(text, sym):
    m = SYMBOL_RE.match(sym.strip())
    kw, name = m.group(1), m.group(2)
    pat = rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])"
    if kw:
        pat = rf"\b{kw}\s+" + pat
    return re.search(pat, text) is not None


def check_refs(root, md, probs):
    text = strip_fences(read_source(md))
    used = []  # spans of `path` + `sym` references, skipped by the bare check
    nrefs = 0
    for m in REF_RE.finditer(text):
        path, line = m.group(1).strip(), line_of(text, m.start())
        used.append((m.start(), m.end()))
        syms = PLUS_SYM_RE.findall(m.group(2))
        if not is_repo_path(root, path):
            probs.add(md, line, f"`{path}` + `{syms[0]}`: `{path}` is not a "
                      "repository path (write `dir/file.c` + `symbol`)")
            continue
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            probs.add(md, line, f"`{path}` + `{syms[0]}`: no such file {path}")
            continue
        for s in syms:
            if "/" in s and is_repo_path(root, s.strip()):
                path, full = s.strip(), os.path.join(root, s.strip())
                nrefs += 1
                if not os.path.isfile(full):
                    probs.add(md, line, f"`{path}`: no such file")
                    break
                continue
            src = read_source(full)
            nrefs += 1
            if not SYMBOL_RE.match(s.strip()):
                probs.add(md, line, f"`{path}` + `{s}`: `{s}` is not an "
                          "identifier (name, name(), struct name)")
            elif not symbol_in(src, s):
                probs.add(md, line, f"`{path}` + `{s}`: symbol {s} not found "
                          f"in {path}")
    for m in IN_RE.finditer(text):
        sym, path = m.group(1).strip(), m.group(2).strip()
        if any(a <= m.start() < b for a, b in used) or not SYMBOL_RE.match(sym):
            continue
        if not is_repo_path(root, path) or not os.path.isdir(
                os.path.join(root, os.path.dirname(path))):
            continue
        used.append((m.start(), m.end()))
        nrefs += 1
        full, line = os.path.join(root, path), line_of(text, m.start())
        if not os.path.isfile(full):
            probs.add(md, line, f"`{sym}` in `{path}`: no such file {path}")
        elif not symbol_in(read_source(full), sym):
            probs.add(md, line, f"`{sym}` in `{path}`: symbol {sym} not found "
                      f"in {path}")
    for m in LINK_RE.finditer(text):
        target = m.group(1)
        if "://" in target or target.startswith(("mailto:", "/")):
            continue
        nrefs += 1
        if not os.path.exists(os.path.join(os.path.dirname(md), target)):
            probs.add(md, line_of(text, m.start()), f"link ({target}): no such "
                      "file")
    for m in BARE_RE.finditer(text):
        if any(a <= m.start() < b for a, b in used):
            continue
        p = m.group(1).strip()
        if "/" not in p or not is_repo_path(root, p):
            continue
        top = p.split("/", 1)[0]
        if top in SKIP_ROOTS or (top not in SOURCE_ROOTS and
                                 not os.path.isdir(os.path.join(root, top))):
            continue
        parent = os.path.dirname(p.rstrip("/"))
        if not os.path.isdir(os.path.join(root, parent)):
            continue  # a folder capOS does not have: another project's path
        nrefs += 1
        if not os.path.exists(os.path.join(root, p)):
            probs.add(md, line_of(text, m.start()), f"`{p}`: no such file")
    return nrefs


def check_sections(md, probs):
    text = strip_fences(read_source(md))
    heads = [(i + 1, l[3:].strip()) for i, l in enumerate(text.split("\n"))
             if l.startswith("## ")]
    names = [h for _, h in heads]
    for s in SECTIONS:
        if s not in names:
            probs.add(md, 0, f"missing section '## {s}'")
    for ln, h in heads:
        if h not in SECTIONS:
            probs.add(md, ln, f"section '## {h}' is not one of the three "
                      "(Spec basis, Wire format, capOS mapping); use ###")
        elif names.count(h) > 1 and ln != heads[names.index(h)][0]:
            probs.add(md, ln, f"section '## {h}' appears twice")
    present = [h for h in names if h in SECTIONS]
    dedup = [h for i, h in enumerate(present) if h not in present[:i]]
    if dedup == [s for s in SECTIONS if s in dedup] or len(dedup) < 2:
        return
    probs.add(md, 0, "sections out of order: want Spec basis, Wire format, "
              "capOS mapping")


def driver_sources(root):
    for top in ("drivers", "kernel", "dma"):
        for dp, _, fns in os.walk(os.path.join(root, top)):
            for fn in sorted(fns):
                if fn.endswith(".c"):
                    yield os.path.join(dp, fn)


def bound_drivers(root, probs):
    """[(symbol, name or None)] for every &xxx_driver in the binding table."""
    table = os.path.join(root, "kernel/devmgr/bindings.c")
    if not os.path.isfile(table):
        probs.add(table, 0, "binding table missing")
        return []
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", read_source(table), flags=re.S)
    m = re.search(r"devmgr_drivers\s*\[\s*\]\s*=\s*\{(.*?)\}", text, re.S)
    if not m:
        probs.add(table, 0, "no devmgr_drivers[] = { ... } in the binding table")
        return []
    syms = re.findall(rf"&\s*({IDENT})", m.group(1))
    out = []
    for sym in syms:
        defn = re.compile(rf"\bstruct\s+driver\s+{sym}\s*=\s*\{{(.*?)\}};", re.S)
        name = None
        for src in driver_sources(root):
            d = defn.search(read_source(src))
            if d:
                n = re.search(r"\.name\s*=\s*\"([^\"]+)\"", d.group(1))
                name = n.group(1) if n else None
                if not name:
                    probs.add(src, 0, f"{sym} has no .name string")
                break
        else:
            probs.add(table, 0, f"&{sym}: no `const struct driver {sym} = "
                      "{...}` definition found in drivers/, kernel/, dma/")
        out.append((sym, name))
    return out


def check(root):
    """All problems in the tree at root, and counts for the summary."""
    root = os.path.abspath(root)
    _file_cache.clear()
    probs = Problems(root)
    docs = os.path.join(root, "docs")
    devices = os.path.join(docs, "devices")
    mds = []
    for d in (docs, devices):
        if os.path.isdir(d):
            mds += sorted(os.path.join(d, f) for f in os.listdir(d)
                          if f.endswith(".md"))
    # the template is all placeholders: not read at all
    nrefs = sum(check_refs(root, md, probs) for md in mds
                if md != os.path.join(devices, "template.md"))
    pages = [md for md in mds if os.path.dirname(md) == devices and
             os.path.basename(md) not in EXEMPT]
    for md in pages:
        check_sections(md, probs)
    readme = os.path.join(devices, "README.md")
    if pages and os.path.isfile(readme):
        linked = set(LINK_RE.findall(strip_fences(read_source(readme))))
        for md in pages:
            if os.path.basename(md) not in linked:
                probs.add(readme, 0, f"page {os.path.basename(md)} is not "
                          "listed (linked) in the index")
    drivers = bound_drivers(root, probs)
    for sym, name in drivers:
        if not name:
            continue
        page = DRIVER_PAGES.get(name, name + ".md")
        if not os.path.isfile(os.path.join(devices, page)):
            probs.add(os.path.join(devices, page), 0,
                      f"driver {name} ({sym} in kernel/devmgr/bindings.c) "
                      f"has no page docs/devices/{page}")
    return probs.lines, {"files": len(mds), "refs": nrefs,
                         "pages": len(pages), "drivers": len(drivers)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), ".."))
    a = ap.parse_args(argv)
    problems, n = check(a.root)
    for p in problems:
        print(p)
    print(f"docs-check: {n['files']} docs, {n['refs']} code references, "
          f"{n['pages']} device pages, {n['drivers']} bound drivers: "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
