#!/usr/bin/python3
"""tests/docs_check.py — the docs checker (`make docs-check`, and
tests/test_docs.py inside `make test`).

It checks docs/*.md, docs/devices/*.md and the top-level README.md against
the code they describe:

1. Code references resolve, in every form a page writes them. The canonical
   form is a backticked repository path, `+`, and one or more backticked
   symbols:

       `drivers/nvme/nvme.c` + `nvme_attach`
       `kernel/devmgr/shape.c` + `shape_classify` + `shape_platform_name`

   The path is relative to the repository root (a top-level file such as
   `Makefile` counts too). The file must exist and every symbol must occur
   in it as a whole identifier (not as part of a longer one). A symbol is a
   C-style identifier, optionally written `name()`, or `struct name`,
   `enum name`, `union name` (then that keyword must precede it in the file).
   A code span may cross a line break. A path after a `+` starts a new
   reference (`a.h` + `a.c` names two files). These forms are checked the
   same way when the path's folder exists in the repository:
   `path` `symbol` (side by side), `path` (`sym`, `sym` and `sym`),
   `symbol` in `path`, `symbol` (`path`), `symbol` (path), `path:symbol`,
   `./path`, and a link [x](../../path#symbol) (a #L<n> line anchor is an
   error: name the symbol). A path (backticked, or in plain prose) whose
   parent directory exists in the repository must name an existing file or
   directory; paths into folders capOS does not have (another project's
   `drivers/nvme/host/pci.c`) and paths with wildcards or placeholders
   (`*`, `<device>`, `{a,b}`) are not checked. Fenced code blocks are not
   read, except a block of reference examples (every line `path` + `sym`).
   A relative Markdown link must point at an existing file, and a page
   named by file name (`template.md`, DESIGN.md) must exist somewhere in
   the repository.

4. What a page restates or names exists and is true:
   - a value given for a constant, `NAME` (value) — also `A` / `B` (a/b),
     `A` x `B` (product), 256 MiB (`NAME`), `NAME` bit N (the bit number
     or its mask) and a table row | 0x24/0x28 | `A` / `B` | — equals what the code
     defines: #define, enum member or const, in a file the page names or
     else anywhere; expressions of numbers, u/l suffixes, casts, shifts,
     other constants and MIN/MAX are evaluated; KiB/MiB/GiB/bytes are
     scaled, and s/ms/us/ns compare against a _S/_MS/_US/_NS constant;
   - a named test (`test_*`, `t_*`, `test_*.py`) is defined under tests/;
   - a proof (PROOF <name>, or `name` next to the word proof) is
     PROOF_REGISTERed;
   - `make <target>` names a target of the Makefile (or a .mk file).

2. Every driver in the binding table has a page. The table is
   kernel/devmgr/bindings.c (entries `&xxx_driver`); the driver's `.name`
   string is read from the `const struct driver xxx_driver = {...}`
   definition in its source, and the name maps to docs/devices/<page>.md
   (DRIVER_PAGES below, otherwise <name>.md).

3. Every device page (docs/devices/*.md except README.md and template.md)
   has exactly the three sections `## Spec basis`, `## Wire format`,
   `## capOS mapping`, in that order, and no other `##` section; its
   capOS mapping links (or names as `docs/<x>.md`) a design document in
   docs/ that the driver binds into.
   template.md (placeholders only) is not read; README.md (the index) has
   its references checked but no sections, and must link every page.

One line per problem, `path:line: what`; exit status 1 if there was any.

    /usr/bin/python3 tests/docs_check.py [--root DIR]
"""
import argparse
import ast
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
LINK_RE = re.compile(r"\]\(([^)\s#]+)(?:#([^)\s]*))?\)")
EXAMPLE_RE = re.compile(r"^\s*`[^`]+`(?:\s*\+\s*`[^`]+`)+\s*$")
# what may stand between a path and the symbols it carries
PLUS_GAP = re.compile(r"^\s*\+\s*$")
JUXT_GAP = re.compile(r"^[ \t]*\n?[ \t]*$")
PAREN_GAP = re.compile(r"^\s*\(\s*$")
LIST_GAP = re.compile(r"^\s*(?:,|\+|and|,\s*and|or)\s*$")
IN_GAP = re.compile(r"^\s+in\s+$")
CLOSE_RE = re.compile(r"^\s*\)")
PLAIN_PAREN_RE = re.compile(r"^\s*\(\s*((?:kernel|dma|drivers|tests)/[\w./+-]*\w)"
                            r"\s*\)")
PLAIN_PATH_RE = re.compile(r"(?<![\w/.:@<>~-])((?:kernel|dma|drivers|tests|docs)"
                           r"/[A-Za-z0-9_./+-]*[A-Za-z0-9_/])")
MD_NAME_RE = re.compile(r"(?<![\w/.<>~-])([A-Za-z0-9_][A-Za-z0-9_.-]*\.md)\b")
# restated constants, tests, make targets, proofs
CONST_NAME_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
PAREN_VALUE_RE = re.compile(r"^[ \t]*\n?[ \t]*\(([^()`]*)")
BIT_RE = re.compile(r"^[ \t]*\n?[ \t]*\(?bit\s+(\d+)\b")
ROW_NUM_RE = re.compile(r"^(?:0[xX][0-9a-fA-F]+|\d+)(?:\s*/\s*(?:0[xX][0-9a-fA-F]+"
                        r"|\d+))*$")
ROW_CONST_RE = re.compile(r"^`[A-Z][A-Z0-9_]*`(?:\s*/\s*`[A-Z][A-Z0-9_]*`)*$")
OPERATOR_TAIL = re.compile(r"(?:^|\s)(?:[-+*/×x]|<<|>>)\s*$")
BULLET_TAIL = re.compile(r"(?:^|\n)[ \t]*(?:[-*+]|\d+\.)[ \t]+$")
CHAIN_GAP = re.compile(r"^\s*(/|x|×|\*)\s*$")
# "256 MiB (`EDU_DMA_LIMIT`)", "0x40000 (`EDU_BUF_ADDR`)": a unit or hex
REVERSE_RE = re.compile(r"(?:^|[\s(])(0[xX][0-9a-fA-F]+|(?:2\^\d+|\d[\d,]*"
                        r"(?:\.\d+)?)[ \t]*(KiB|MiB|GiB|TiB|bytes?|ns|µs|us|ms|s))"
                        r"\s*\($")
TEST_NAME_RE = re.compile(r"^(?:test|t)_[a-z0-9_]+$")
TEST_FILE_RE = re.compile(r"^test_\w+\.py$")
MAKE_RE = re.compile(r"^make\s+(.*)$")
PROOF_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PROOF_AFTER = re.compile(r"^\s+proofs?\b", re.I)
PROOF_BEFORE = re.compile(r"\bproofs?\s+$", re.I)
PROOF_MARK_RE = re.compile(r"\bPROOF\s+([a-z0-9][a-z0-9-]*)\b")
# "PROOF line(s)" and "PROOF marker(s)" talk about the format, not a proof
PROOF_WORDS = {"line", "lines", "marker", "markers", "name"}


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


# ---- reading a page ----------------------------------------------------------

def page_text(md):
    """The page with fenced blocks blanked, except blocks that consist only
    of reference examples (`path` + `symbol` lines): those are checked."""
    out, fenced, block = [], False, []
    for line in read_source(md).split("\n"):
        if FENCE_RE.match(line.strip()):
            if fenced:
                keep = [l for l in block if l.strip()]
                ok = keep and all(EXAMPLE_RE.match(l) for l in keep)
                out += block if ok else [""] * len(block)
                block = []
            fenced = not fenced
            out.append("")
        elif fenced:
            block.append(line)
        else:
            out.append(line)
    out += [""] * len(block)
    return "\n".join(out)


class Span:
    """One inline code span: its text (whitespace runs folded to one space)
    and where it starts and ends in the page."""
    __slots__ = ("start", "end", "text")

    def __init__(self, start, end, text):
        self.start, self.end, self.text = start, end, text


def code_spans(text):
    """Inline code spans, paired left to right as Markdown pairs them; a span
    may cross one line break but not a blank line."""
    spans, i = [], 0
    while True:
        a = text.find("`", i)
        if a < 0:
            return spans
        b = text.find("`", a + 1)
        if b < 0:
            return spans
        body = text[a + 1:b]
        if re.search(r"\n[ \t]*\n", body) or body.count("\n") > 1:
            i = a + 1  # an unpaired backtick: literal
            continue
        spans.append(Span(a, b + 1, " ".join(body.split())))
        i = b + 1


def gap(text, spans, k):
    """The plain text between span k-1 and span k (k may be len(spans))."""
    a = spans[k - 1].end if k > 0 else 0
    b = spans[k].start if k < len(spans) else len(text)
    return text[a:b]


def norm_path(p):
    """A path as the page wrote it, without ./ and with a:sym split off."""
    p = p.strip()
    while p.startswith("./"):
        p = p[2:]
    return p


def split_colon(p):
    """`file.c:symbol` -> (file.c, symbol); otherwise (p, None)."""
    m = re.match(rf"^([^:\s]+\.[A-Za-z0-9]+):({IDENT})(?:\(\))?$", p)
    return (m.group(1), m.group(2)) if m else (p, None)


def in_capos(root, p):
    """Is p a path into a folder capOS has (so it must exist)?"""
    if "/" not in p or not is_repo_path(root, p):
        return False
    top = p.split("/", 1)[0]
    if top in SKIP_ROOTS or (top not in SOURCE_ROOTS and
                             not os.path.isdir(os.path.join(root, top))):
        return False
    return os.path.isdir(os.path.join(root, os.path.dirname(p.rstrip("/"))))


class Refs:
    """Counts and reports references of one page."""

    def __init__(self, root, md, text, probs):
        self.root, self.md, self.text, self.probs = root, md, text, probs
        self.n = 0
        self.used = set()

    def line(self, pos):
        return line_of(self.text, pos)

    def add(self, pos, msg):
        self.probs.add(self.md, self.line(pos), msg)

    def sym(self, pos, path, sym, form):
        """Check that sym occurs in path; form is how the page wrote it."""
        self.n += 1
        full = os.path.join(self.root, path)
        if not os.path.isfile(full):
            self.add(pos, f"{form}: no such file {path}")
        elif not SYMBOL_RE.match(sym.strip()):
            self.add(pos, f"{form}: `{sym}` is not an identifier (name, "
                     "name(), struct name)")
        elif not symbol_in(read_source(full), sym):
            self.add(pos, f"{form}: symbol {sym.strip()} not found in {path}")


def check_refs(root, md, probs, idx):
    text = page_text(md)
    spans = code_spans(text)
    r = Refs(root, md, text, probs)
    used = set()  # spans consumed as part of a reference

    # 1. `path` followed by symbols: `p` + `s`, `p` `s`, `p` (`s`, `t`)
    for i, sp in enumerate(spans):
        if i in used:
            continue
        raw = norm_path(sp.text)
        path, csym = split_colon(raw)
        nxt = gap(text, spans, i + 1) if i + 1 < len(spans) else ""
        plus = i + 1 < len(spans) and PLUS_GAP.match(nxt)
        if not plus and "/" not in path and csym is None:
            continue
        if not plus and not in_capos(root, path):
            continue
        if plus and "/" not in path and "." not in path and \
                not os.path.isfile(os.path.join(root, path)):
            continue  # prose about the form itself: `file` + `symbol`
        if plus and not is_repo_path(root, path):
            r.add(sp.start, f"`{path}` + `{spans[i + 1].text}`: `{path}` is "
                  "not a repository path (write `dir/file.c` + `symbol`)")
            used.update((i, i + 1))
            continue
        if csym is not None:
            used.add(i)
            r.sym(sp.start, path, csym, f"`{path}:{csym}`")
            continue
        full = os.path.join(root, path)
        if plus and not os.path.isfile(full):
            used.update((i, i + 1))
            r.n += 1
            r.add(sp.start, f"`{path}` + `{spans[i + 1].text}`: no such file "
                  f"{path}")
            continue
        if not os.path.isfile(full):
            continue  # a directory, or a missing file the bare check reports
        mode = "plus" if plus else None
        if not plus:
            if JUXT_GAP.match(nxt):
                mode = "juxt"
            elif PAREN_GAP.match(nxt):
                mode = "paren"
        if mode is None or i + 1 >= len(spans):
            continue
        if mode != "plus" and not SYMBOL_RE.match(spans[i + 1].text):
            continue
        used.add(i)
        j = i + 1
        while j < len(spans):
            g = gap(text, spans, j)
            first = j == i + 1
            if mode == "plus" and not PLUS_GAP.match(g):
                break
            if mode == "juxt" and not (first and JUXT_GAP.match(g) or
                                       not first and PLUS_GAP.match(g)):
                break
            if mode == "paren" and not (first and PAREN_GAP.match(g) or
                                        not first and LIST_GAP.match(g)):
                break
            s = spans[j].text
            if "/" in s and is_repo_path(root, norm_path(s)):
                if mode != "plus":
                    break
                # a path after a `+` starts a new reference
                path, full = norm_path(s), os.path.join(root, norm_path(s))
                used.add(j)
                r.n += 1
                if not os.path.isfile(full):
                    r.add(spans[j].start, f"`{path}`: no such file")
                    break
                j += 1
                continue
            if mode != "plus" and not SYMBOL_RE.match(s):
                break
            used.add(j)
            form = f"`{path}` + `{s}`" if mode == "plus" else \
                f"`{path}` `{s}`" if mode == "juxt" else f"`{path}` (`{s}`)"
            r.sym(spans[j].start, path, s, form)
            j += 1

    # 2. `symbol` in `path`, `symbol` (`path`), `symbol` (path)
    for i, sp in enumerate(spans):
        if i in used or not SYMBOL_RE.match(sp.text):
            continue
        nxt = gap(text, spans, i + 1)
        path, j = None, None
        if i + 1 < len(spans) and i + 1 not in used and (
                IN_GAP.match(nxt) or PAREN_GAP.match(nxt) and
                CLOSE_RE.match(gap(text, spans, i + 2))):
            path, j = norm_path(spans[i + 1].text), i + 1
        else:
            m = PLAIN_PAREN_RE.match(nxt)
            if m:
                path = norm_path(m.group(1))
        if not path or not in_capos(root, path) or \
                os.path.isdir(os.path.join(root, path)):
            continue
        used.add(i)
        if j is not None:
            used.add(j)
        word = " in " if IN_GAP.match(nxt) else " ("
        r.sym(sp.start, path, sp.text,
              f"`{sp.text}`{word}`{path}`" + (")" if word == " (" else ""))

    # 3. a bare path (backticked, or in plain prose) must exist
    for i, sp in enumerate(spans):
        if i in used:
            continue
        p = norm_path(sp.text)
        if not in_capos(root, p):
            continue
        r.n += 1
        if not os.path.exists(os.path.join(root, p)):
            r.add(sp.start, f"`{p}`: no such file")
    plain = blank_spans(text, spans)
    for m in PLAIN_PATH_RE.finditer(plain):
        p = norm_path(m.group(1))
        if not in_capos(root, p):
            continue
        r.n += 1
        if not os.path.exists(os.path.join(root, p)):
            r.add(m.start(1), f"{p}: no such file")

    # 4. a named page (DESIGN.md, template.md) must exist in the repository
    unlinked = re.sub(r"\]\([^)]*\)", lambda m: " " * len(m.group(0)), text)
    for m in MD_NAME_RE.finditer(unlinked):
        name = m.group(1)
        if name not in idx.md_names:
            r.add(m.start(1), f"{name}: no such file in the repository")

    # 5. relative links
    for m in LINK_RE.finditer(text):
        target, frag = m.group(1), m.group(2)
        if "://" in target or target.startswith(("mailto:", "/")):
            continue
        r.n += 1
        full = os.path.normpath(os.path.join(os.path.dirname(md), target))
        if not os.path.exists(full):
            r.add(m.start(), f"link ({target}): no such file")
            continue
        rel = os.path.relpath(full, root)
        if frag and re.match(r"^L\d+", frag):
            r.add(m.start(), f"link ({target}#{frag}): a line number; name "
                  "the symbol (`file` + `symbol`)")
        elif frag and not rel.endswith(".md") and SYMBOL_RE.match(frag):
            r.sym(m.start(), rel, frag, f"link ({target}#{frag})")
    r.used = used
    return r, spans


def blank_spans(text, spans):
    """The page with code spans, link targets and URLs blanked: plain prose."""
    chars = list(text)
    for sp in spans:
        for k in range(sp.start, sp.end):
            if chars[k] != "\n":
                chars[k] = " "
    out = "".join(chars)
    out = re.sub(r"\]\([^)]*\)|https?://\S+",
                 lambda m: re.sub(r"[^\n]", " ", m.group(0)), out)
    return out


# ---- what the code defines: constants, tests, proofs, make targets ----------

C_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
DEFINE_RE = re.compile(rf"^[ \t]*#[ \t]*define[ \t]+({IDENT})(?![(\w])[ \t]*(.*)$",
                       re.M)
ENUM_RE = re.compile(r"\benum\s*(?:[A-Za-z_]\w*)?\s*\{([^{}]*)\}", re.S)
CONST_RE = re.compile(rf"\bconst\s+[A-Za-z_][\w \t*]*?\b({IDENT})\s*(\[\s*\])?"
                      r"\s*=\s*([^;{}]+);")
MAKEVAR_RE = re.compile(rf"^({IDENT})\s*[:?]?=\s*(\S.*)$", re.M)
MAKERULE_RE = re.compile(r"^([A-Za-z0-9_./%$()-][A-Za-z0-9_./%$() \t-]*?)"
                         r"\s*::?(?![=])", re.M)
PROOF_REG_RE = re.compile(r"\bPROOF_REGISTER\s*\(\s*\"([^\"]+)\"")
CAST_RE = re.compile(r"\(\s*(?:const\s+)?(?:unsigned|signed|long|int|short|char|"
                     r"u?int(?:8|16|32|64|ptr|max)_t|size_t|u8|u16|u32|u64)"
                     r"(?:\s+(?:long|int))*\s*\)")
NUM_SUFFIX_RE = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)(?:[uU][lL]{0,2}|[lL]{1,2}[uU]?)\b")
SRC_EXT = (".c", ".h")


class Index:
    """Everything the checks look up in the tree, read once."""

    def __init__(self, root):
        self.root = root
        self.defs = {}  # name -> [(relpath, expr text)]
        self.proofs = set()
        self.tests = set()  # test functions under tests/
        self.targets = set()
        self.md_names = set()
        self.test_files = set()
        self.words = set()  # every identifier in a source file
        for dp, dns, fns in os.walk(root, followlinks=True):
            dns[:] = [d for d in dns if d not in SKIP_ROOTS and
                      not d.startswith(".")]
            rel_dir = os.path.relpath(dp, root)
            top = rel_dir.split(os.sep)[0]
            for fn in fns:
                full = os.path.join(dp, fn)
                rel = os.path.relpath(full, root)
                if fn.endswith(".md"):
                    self.md_names.add(fn)
                if fn == "Makefile" or fn.endswith(".mk"):
                    self.read_make(read_source(full), rel)
                if top == "tests":
                    self.test_files.add(fn)
                if top == "tests" and fn.endswith(".py"):
                    t = read_source(full)
                    self.tests.update(re.findall(rf"^\s*def\s+({IDENT})\s*\(",
                                                 t, re.M))
                if not fn.endswith(SRC_EXT):
                    continue
                t = C_COMMENT.sub(" ", read_source(full).replace("\\\n", " "))
                self.words.update(re.findall(IDENT, t))
                if top == "tests":
                    self.tests.update(re.findall(
                        r"^[ \t]*(?:static[ \t]+)?(?:void|int|bool)[ \t*]+"
                        r"((?:test|t)_\w+)[ \t]*\(", t, re.M))
                self.proofs.update(PROOF_REG_RE.findall(t))
                for m in DEFINE_RE.finditer(t):
                    self.defs.setdefault(m.group(1), []).append(
                        (rel, m.group(2).strip()))
                for m in ENUM_RE.finditer(t):
                    self.read_enum(m.group(1), rel)
                for m in CONST_RE.finditer(t):
                    self.defs.setdefault(m.group(1), []).append(
                        (rel, m.group(3).strip()))

    def read_make(self, text, rel):
        text = text.replace("\\\n", " ")
        for m in MAKERULE_RE.finditer(text):
            if m.group(1).startswith(("\t", " ")):
                continue
            self.targets.update(m.group(1).split())
        for m in MAKEVAR_RE.finditer(text):
            self.defs.setdefault(m.group(1), []).append((rel, m.group(2)))

    def read_enum(self, body, rel):
        prev = None
        for item in body.split(","):
            m = re.match(rf"^\s*({IDENT})\s*(?:=\s*(.+?))?\s*$", item, re.S)
            if not m:
                continue
            expr = m.group(2) if m.group(2) is not None else \
                (f"({prev}) + 1" if prev is not None else "0")
            self.defs.setdefault(m.group(1), []).append((rel, expr))
            prev = m.group(1)

    def value(self, name, prefer=(), depth=0):
        """The value of a constant (int or str), or None if it cannot be
        worked out; prefer: files to take a definition from first."""
        defs = self.defs.get(name)
        if not defs or depth > 20:
            return None
        ordered = sorted(defs, key=lambda d: (d[0] not in prefer,
                                              d[0].startswith("tests/")))
        for rel, expr in ordered:
            v = self.eval(expr, prefer, depth)
            if v is not None:
                return v
        return None

    def eval(self, expr, prefer, depth):
        expr = expr.strip()
        s = re.match(r'^"((?:[^"\\]|\\.)*)"$', expr)
        if s:
            return s.group(1)
        expr = NUM_SUFFIX_RE.sub(r"\1", CAST_RE.sub("", expr))
        if not expr or re.search(r"[\"'{}\[\];?:]|sizeof|->|\.\w", expr):
            return None
        expr = expr.replace("&&", " and ").replace("||", " or ")
        expr = re.sub(r"!(?!=)", " not ", expr)
        expr = re.sub(r"(?<=[\w)\s])/(?!/)", "//", expr)
        expr = re.sub(r"\b0([0-7]+)\b", r"0o\1", expr)
        try:
            tree = ast.parse(expr, mode="eval")
        except SyntaxError:
            return None
        return self._ev(tree.body, prefer, depth)

    def _ev(self, n, prefer, depth):
        if isinstance(n, ast.Constant) and isinstance(n.value, int):
            return n.value
        if isinstance(n, ast.Name):
            return self.value(n.id, prefer, depth + 1)
        if isinstance(n, ast.UnaryOp):
            v = self._ev(n.operand, prefer, depth)
            if not isinstance(v, int):
                return None
            return {ast.USub: -v, ast.UAdd: v, ast.Invert: ~v,
                    ast.Not: int(not v)}.get(type(n.op))
        if isinstance(n, ast.BinOp):
            a, b = self._ev(n.left, prefer, depth), self._ev(n.right, prefer,
                                                             depth)
            if not isinstance(a, int) or not isinstance(b, int):
                return None
            try:
                return BINOPS[type(n.op)](a, b)
            except (KeyError, ZeroDivisionError, ValueError):
                return None
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and \
                n.func.id in ("MIN", "MAX") and len(n.args) == 2:
            a, b = (self._ev(x, prefer, depth) for x in n.args)
            if isinstance(a, int) and isinstance(b, int):
                return min(a, b) if n.func.id == "MIN" else max(a, b)
        return None


BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
          ast.Mult: lambda a, b: a * b, ast.FloorDiv: lambda a, b: a // b,
          ast.Mod: lambda a, b: a % b, ast.LShift: lambda a, b: a << b,
          ast.RShift: lambda a, b: a >> b, ast.BitOr: lambda a, b: a | b,
          ast.BitAnd: lambda a, b: a & b, ast.BitXor: lambda a, b: a ^ b}

SIZE_UNITS = {"b": 1, "byte": 1, "bytes": 1, "kib": 1 << 10, "mib": 1 << 20,
              "gib": 1 << 30, "tib": 1 << 40}
TIME_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "ms": 10**6, "s": 10**9,
              "min": 60 * 10**9}
NAME_TIME = [("_NS", "ns"), ("_US", "us"), ("_MS", "ms"), ("_SEC", "s"),
             ("_SECS", "s"), ("_S", "s")]
VALUE_RE = re.compile(
    r"^\s*(?:default\s+)?(?P<num>0[xX][0-9a-fA-F]+|2\^\d+|\d[\d,]*(?:\.\d+)?)"
    r"(?:\s*|-)(?P<unit>KiB|MiB|GiB|TiB|bytes?|B|ns|µs|us|ms|s|min)?"
    r"(?![\w^])")
STRING_RE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"')


def parse_number(s):
    s = s.replace(",", "")
    if s.lower().startswith("0x"):
        return int(s, 16)
    if s.startswith("2^"):
        return 1 << int(s[2:])
    return float(s) if "." in s else int(s)


def name_time_unit(name):
    for suffix, unit in NAME_TIME:
        if name.endswith(suffix):
            return unit
    return None


def same_value(names, code, said, unit):
    """Does the code value (int) match the page's number said in unit?"""
    if unit is None:
        return code == said
    u = unit.lower()
    if u in SIZE_UNITS:
        want = said * SIZE_UNITS[u]
        return code == want or ("PAGES" in names[-1] and code * 4096 == want)
    tu = next((name_time_unit(n) for n in reversed(names)
               if name_time_unit(n)), None)
    if tu is None:
        return code == said
    return abs(code * TIME_UNITS[tu] - said * TIME_UNITS[u]) < 1e-6


def show(v):
    return f'"{v}"' if isinstance(v, str) else str(v)


def check_claims(root, md, text, spans, idx, r):
    """Restated constant values; named tests, proofs and make targets."""
    prefer = {norm_path(split_colon(s.text)[0]) for s in spans if "/" in s.text}
    for i, sp in enumerate(spans):
        t = sp.text
        # 1. `NAME` (value), `A` / `B` (a/b), `A` x `B` (product)
        if CONST_NAME_RE.match(t):
            after = gap(text, spans, i + 1)
            m = PAREN_VALUE_RE.match(after)
            chain, op, k = [t], None, i
            while m and k > 0 and CONST_NAME_RE.match(spans[k - 1].text):
                g = CHAIN_GAP.match(gap(text, spans, k))
                if not g or (op and g.group(1) != op):
                    break
                op = g.group(1)
                chain.insert(0, spans[k - 1].text)
                k -= 1
            # "100 x `FOO` (2 s)": the value is of an expression, not FOO
            lead = gap(text, spans, k)
            bullet = BULLET_TAIL.search(lead)
            if m and (bullet or not OPERATOR_TAIL.search(lead)):
                claim = m.group(1)
                if op == "/":
                    parts = claim.split(",")[0].split("/")
                    if len(parts) == len(chain):
                        for n, part in zip(chain, parts):
                            const_claim(idx, prefer, r, sp.start, [n], part)
                    else:
                        const_claim(idx, prefer, r, sp.start, [t], parts[-1])
                elif op:
                    const_claim(idx, prefer, r, sp.start, chain, claim)
                else:
                    const_claim(idx, prefer, r, sp.start, [t], claim)
            b = BIT_RE.match(after)
            if b:
                bit_claim(idx, prefer, r, sp.start, t, int(b.group(1)))
            before = gap(text, spans, i)
            m = REVERSE_RE.search(before)
            if m and CLOSE_RE.match(after):
                const_claim(idx, prefer, r, sp.start, [t], m.group(1))
        # 2. tests
        name = t[:-2] if t.endswith("()") else t
        if TEST_NAME_RE.match(name) and i not in r.used:
            r.n += 1
            if name not in idx.tests:
                r.add(sp.start, f"`{t}`: no test function {name} under tests/")
        if TEST_FILE_RE.match(t) and "/" not in t:
            r.n += 1
            if t not in idx.test_files:
                r.add(sp.start, f"`{t}`: no test file {t} under tests/")
        # 3. make targets
        mk = MAKE_RE.match(t)
        if mk:
            for word in mk.group(1).split():
                if "=" in word or word.startswith("-") or "/" in word or \
                        not re.match(r"^[a-z][a-z0-9_-]*$", word):
                    continue
                r.n += 1
                if word not in idx.targets:
                    r.add(sp.start, f"`{t}`: no make target {word} in the "
                          "Makefile")
        # 4. proof names in backticks next to the word proof
        if PROOF_NAME_RE.match(t) and not t.startswith("PROOF") and (
                PROOF_AFTER.match(gap(text, spans, i + 1)) or
                PROOF_BEFORE.search(gap(text, spans, i))):
            r.n += 1
            if t not in idx.proofs:
                r.add(sp.start, f"proof `{t}`: no PROOF_REGISTER(\"{t}\", ...)")
    # 5. a table row: | 0x80/0x88 | `A` / `B` | ...
    pos = 0
    for line in text.split("\n"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")] \
            if line.lstrip().startswith("|") else []
        nums = [c for c in cells if ROW_NUM_RE.match(c)]
        consts = [c for c in cells if ROW_CONST_RE.match(c)]
        if len(nums) == 1 and len(consts) == 1:
            vals = [v.strip() for v in nums[0].split("/")]
            names = re.findall(r"`([A-Z][A-Z0-9_]*)`", consts[0])
            if len(vals) == len(names):
                for n, v in zip(names, vals):
                    const_claim(idx, prefer, r, pos, [n], v)
        pos += len(line) + 1
    for m in PROOF_MARK_RE.finditer(text):
        if m.group(1) in PROOF_WORDS:
            continue
        r.n += 1
        if m.group(1) not in idx.proofs:
            r.add(m.start(), f"PROOF {m.group(1)}: no PROOF_REGISTER(\""
                  f"{m.group(1)}\", ...) in the source")


def bit_claim(idx, prefer, r, pos, name, bit):
    """`NAME` bit N: NAME is the bit number or the mask of that bit."""
    r.n += 1
    if name not in idx.defs:
        r.add(pos, f"`{name}`: no definition of {name} in the source, but "
              f"the page gives it a value (bit {bit})")
        return
    v = idx.value(name, prefer)
    if isinstance(v, int) and v not in (bit, 1 << bit):
        r.add(pos, f"`{name}` is {v} ({hex(v)}) in the code, the page says "
              f"bit {bit}")


def const_claim(idx, prefer, r, pos, names, claim):
    s = STRING_RE.match(claim)
    v = VALUE_RE.match(claim)
    if not s and not v:
        return
    r.n += 1
    said = s.group(1) if s else parse_number(v.group("num"))
    unit = None if s else v.group("unit")
    vals = []
    for n in names:
        if n not in idx.defs:
            r.add(pos, f"`{n}`: no definition of {n} in the source, but the "
                  f"page gives it a value ({claim.strip()})")
            return
        vals.append(idx.value(n, prefer))
    if any(x is None for x in vals):
        return  # defined, but not by an expression this checker evaluates
    if s:
        ok = len(vals) == 1 and vals[0] == said
    elif not all(isinstance(x, int) for x in vals):
        ok = False
    else:
        code = 1
        for x in vals:
            code *= x
        ok = same_value(names, code, said, unit)
    if not ok:
        what = " x ".join(f"`{n}`" for n in names)
        hexa = bool(v) and v.group("num").lower().startswith("0x")
        got = " x ".join(hex(x) if hexa and isinstance(x, int) else show(x)
                         for x in vals)
        said_s = f'"{said}"' if s else f"{v.group('num')}" + \
            (f" {unit}" if unit else "")
        r.add(pos, f"{what} is {got} in the code, the page says {said_s}")


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
    check_design_link(md, text, heads, probs)
    present = [h for h in names if h in SECTIONS]
    dedup = [h for i, h in enumerate(present) if h not in present[:i]]
    if dedup == [s for s in SECTIONS if s in dedup] or len(dedup) < 2:
        return
    probs.add(md, 0, "sections out of order: want Spec basis, Wire format, "
              "capOS mapping")


def check_design_link(md, text, heads, probs):
    """A page's capOS mapping names the design document it binds into: a
    link to ../<design>.md or the path `docs/<design>.md`."""
    lines = text.split("\n")
    start = next((ln for ln, h in heads if h == "capOS mapping"), None)
    if start is None:
        return
    end = next((ln for ln, h in heads if ln > start), len(lines) + 1)
    body = "\n".join(lines[start:end - 1])
    docs = os.path.dirname(os.path.dirname(md))
    design = {f for f in os.listdir(docs) if f.endswith(".md")}
    named = set(re.findall(r"\]\(\.\./([A-Za-z0-9_.-]+\.md)", body)) | \
        set(re.findall(r"`docs/([A-Za-z0-9_.-]+\.md)`", body))
    if not named & design:
        probs.add(md, start, "'## capOS mapping' links no design document "
                  "(../authority-gate-design.md, ../dma-isolation-design.md, "
                  "...) that the driver binds into")


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
    readme_top = os.path.join(root, "README.md")
    if os.path.isfile(readme_top):
        mds.append(readme_top)
    idx = Index(root)
    nrefs = 0
    # the template is all placeholders: not read at all
    for md in mds:
        if md == os.path.join(devices, "template.md"):
            continue
        r, spans = check_refs(root, md, probs, idx)
        check_claims(root, md, r.text, spans, idx, r)
        nrefs += r.n
    pages = [md for md in mds if os.path.dirname(md) == devices and
             os.path.basename(md) not in EXEMPT]
    for md in pages:
        check_sections(md, probs)
    readme = os.path.join(devices, "README.md")
    if pages and os.path.isfile(readme):
        linked = {m.group(1) for m in
                  LINK_RE.finditer(strip_fences(read_source(readme)))}
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
