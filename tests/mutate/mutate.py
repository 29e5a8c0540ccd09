#!/usr/bin/python3
"""tests/mutate/mutate.py — mutation testing of one C file against the host
tests and fuzzers that link it (`make mutate`).

    make mutate FILE=dma/owner.c [N=40] [SEED=1] [LINES=100-300] [IDS=3,17] [O=dir]
    tests/mutate/mutate.py --list --file dma/owner.c [--lines 10-40]   (builds nothing)

The tree is never written. Its files (tracked and untracked, not ignored,
as they are on disk) are copied to a scratch directory (O=, kept, never
inside the tree; else a fresh one under $TMPDIR, removed afterwards) and
everything happens there:

1. Which binaries: `make print-host` and `make print-fuzz` list them, and
   make's own database (`make -pq`) gives each one's prerequisites; a binary
   is affected when FILE is one of them. `make -n -B` prints each affected
   binary's compile-and-link command, which is split into one compile per
   source (objects cached by compiler, flags and source) and one link.
2. Baseline: the affected binaries are built and run unmutated; one that
   fails (or runs past BASELINE_TIMEOUT_S) is a broken tool run (exit 1),
   not a killed mutant.
3. Mutants of FILE (only inside function bodies, never in comments,
   strings or preprocessor lines), numbered in file order:
     cmp    a comparison turned (== !=, < >=, > <=, <= >, >= <)
     bound  a boundary off by one (< <=, <= <, > >=, >= >)
     logic  && ||
     ret    an error return made success (return -X; -> return 0;,
            return false; -> return true;)
     if0    if (c) -> if (0)          if1   if (c) -> if (1)
     del    an expression statement on its own line deleted
   LINES= keeps those on the given lines (a-b[,c-d]), IDS= names some,
   N= draws that many (0: all), deterministically by SEED=.
4. Per mutant: the objects whose sources include FILE (from the compiler's
   dependency output) are recompiled without -Werror, the affected binaries
   relinked and run, cheapest first: a host test as `make host` builds it,
   a fuzzer once over each of its committed seeds (tests/host/*/corpus/
   <fuzzer>/, as `make fuzz` finds them), or, with no seeds, for
   NOSEED_RUNS inputs from -seed=SEED. A failure or a timeout (TIMEOUT_MULT x
   the baseline time + TIMEOUT_FLOOR_S) kills the mutant; one that does not
   compile or link is stillborn and counted apart.

It prints one line per mutant (id, file:line, kind, the line before and
after, killed by which binary / survived / stillborn) and the totals, and
exits 0: it is a tool, not a gate. Exit 2 is bad input (one line), exit 1
a tool failure (make, compiler or a baseline that fails).
"""
import argparse
import hashlib
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NOSEED_RUNS = 2000
TIMEOUT_MULT = 5
TIMEOUT_FLOOR_S = 10
FUZZ_INPUT_TIMEOUT_S = 10
BASELINE_TIMEOUT_S = 600
# the line of a failed run that says why: a sanitizer, libFuzzer, cmocka
WHY = re.compile(r"runtime error|ERROR: \w+Sanitizer|deadly signal|ERROR: libFuzzer|"
                 r"\[  FAILED  \] \w|\[  ERROR   \]|FAILED")
# link-only arguments: never passed to a compile
LINK_ONLY = re.compile(r"^(-l|-L|-Wl,)|\.(a|o|so)$")


class Fail(Exception):
    """the tool itself cannot go on (exit 1)"""


class BadInput(Exception):
    """the user's request is wrong (exit 2)"""


# `make mutate FILE=... N=...` passes its variables and flags to every make
# below it through the environment; the scratch tree's make gets none
MAKE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


def sh(cmd, cwd, timeout=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=MAKE_ENV)


# ---- the scratch copy and what make says ----------------------------------
def copy_tree(root, dst):
    r = sh(["git", "ls-files", "-z", "-co", "--exclude-standard"], root)
    if r.returncode != 0:
        raise Fail(f"git ls-files in {root}: {r.stderr.strip()}")
    n = 0
    for rel in sorted(set(p for p in r.stdout.split("\0") if p)):
        src = os.path.join(root, rel)
        if not os.path.isfile(src):
            continue  # deleted in the work tree
        out = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        shutil.copy2(src, out)
        n += 1
    return n


def make_list(src, target):
    r = sh(["make", "-s", "--no-print-directory", target], src)
    if r.returncode != 0:
        raise Fail(f"make {target}: {r.stderr.strip()[-500:]}")
    return r.stdout.split()


def prerequisites(src, targets):
    """target -> its prerequisites, from make's database"""
    r = sh(["make", "-pq", "--no-print-directory", "print-host"], src)
    want = set(targets)
    deps = {}
    for line in r.stdout.splitlines():
        if line.startswith(("#", "\t")) or ":" not in line:
            continue
        t, _, rest = line.partition(":")
        if t in want and not rest.startswith("="):
            deps.setdefault(t, []).extend(rest.replace("|", " ").split())
    missing = want - set(deps)
    if missing:
        raise Fail(f"make's database has no rule for {sorted(missing)}")
    return deps


def recipes(src, targets):
    """target -> (compiler, compile flags, sources, link-only args): the
    compiler line of `make -n -B target` (the one that writes -o target)"""
    r = sh(["make", "-n", "-B", "--no-print-directory"] + targets, src)
    if r.returncode != 0:
        raise Fail(f"make -n -B: {r.stderr.strip()[-500:]}")
    out = {}
    for line in r.stdout.replace("\\\n", " ").splitlines():
        try:
            a = shlex.split(line)
        except ValueError:
            continue
        if "-o" not in a:
            continue
        i = a.index("-o")
        if i + 1 >= len(a) or a[i + 1] not in targets:
            continue
        rest = a[1:i] + a[i + 2:]
        srcs = [x for x in rest if x.endswith(".c")]
        link = [x for x in rest if not x.endswith(".c") and LINK_ONLY.search(x)]
        flags = [x for x in rest if not x.endswith(".c") and not LINK_ONLY.search(x)]
        out[a[i + 1]] = dict(cc=a[0], flags=flags, srcs=srcs, link=link)
    missing = set(targets) - set(out)
    if missing:
        raise Fail(f"no compiler line found in make -n -B for {sorted(missing)}")
    return out


def seeds_of(src, fuzzer):
    """the committed seeds, where `make fuzz` reads them"""
    name = os.path.basename(fuzzer)
    files = []
    hosts = os.path.join(src, "tests", "host")
    for suite in sorted(os.listdir(hosts)) if os.path.isdir(hosts) else []:
        d = os.path.join(hosts, suite, "corpus", name)
        if os.path.isdir(d):
            files += sorted(os.path.join(d, f) for f in os.listdir(d)
                            if os.path.isfile(os.path.join(d, f)))
    return files


# ---- building -------------------------------------------------------------
class Builder:
    def __init__(self, src, work, file):
        self.src, self.work, self.file = src, work, file
        self.objdeps = {}  # object -> set of files it was compiled from

    def obj(self, cc, flags, s):
        h = hashlib.sha1("\0".join([cc] + flags + [s]).encode()).hexdigest()[:12]
        return os.path.join(self.work, "obj", f"{os.path.basename(s)[:-2]}.{h}.o")

    def compile(self, cc, flags, s, out, werror=True):
        fl = flags if werror else [f for f in flags if not f.startswith("-Werror")]
        os.makedirs(os.path.dirname(out), exist_ok=True)
        r = sh([cc] + fl + ["-MMD", "-MF", out + ".d", "-c", s, "-o", out], self.src)
        if r.returncode != 0:
            return r.stderr
        text = open(out + ".d").read().replace("\\\n", " ")
        self.objdeps[out] = {os.path.normpath(x) for x in text.split(":", 1)[-1].split()}
        return None

    def baseline(self, b):
        for s in b["srcs"]:
            o = self.obj(b["cc"], b["flags"], s)
            if o not in self.objdeps:
                err = self.compile(b["cc"], b["flags"], s, o)
                if err:
                    raise Fail(f"baseline compile of {s} failed:\n{err.strip()[-1500:]}")
        b["objs"] = [self.obj(b["cc"], b["flags"], s) for s in b["srcs"]]
        err = self.link(b, b["objs"], os.path.join(self.work, "base", b["name"]))
        if err:
            raise Fail(f"baseline link of {b['target']} failed:\n{err.strip()[-1500:]}")

    def touched(self, b):
        """the objects of b that FILE goes into"""
        return [o for o in b["objs"] if self.file in self.objdeps[o]]

    def link(self, b, objs, out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        r = sh([b["cc"]] + b["flags"] + ["-o", out] + objs + b["link"], self.src)
        return r.stderr if r.returncode != 0 else None


def run_binary(src, b, path, timeout, seed):
    """(passed, seconds, why)"""
    if b["fuzzer"]:
        art = os.path.join(os.path.dirname(path), "artifacts") + "/"
        os.makedirs(art, exist_ok=True)
        cmd = [path, f"-timeout={FUZZ_INPUT_TIMEOUT_S}", "-rss_limit_mb=2048",
               f"-artifact_prefix={art}"]
        if b["seeds"]:
            cmd += b["seeds"]
        else:
            empty = os.path.join(os.path.dirname(path), "empty-corpus")
            os.makedirs(empty, exist_ok=True)
            cmd += [f"-runs={NOSEED_RUNS}", f"-seed={seed}", empty]
    else:
        cmd = [path]
    t0 = time.time()
    p = subprocess.Popen(cmd, cwd=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=MAKE_ENV,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return False, time.time() - t0, "timeout"
    if p.returncode == 0:
        return True, time.time() - t0, ""
    lines = [l.strip() for l in out.decode(errors="replace").splitlines() if l.strip()]
    why = next((l for l in lines if WHY.search(l)), lines[-1] if lines else "")
    return False, time.time() - t0, f"rc={p.returncode} {why[:120]}".rstrip()


# ---- mutants --------------------------------------------------------------
def code_mask(text):
    """per character: True when it is code (not a comment, string, character
    constant or preprocessor line)"""
    m = [True] * len(text)
    i, n, bol = 0, len(text), True

    def clear(a, b):
        for k in range(a, min(b, n)):
            m[k] = False

    while i < n:
        c = text[i]
        if bol and c == "#":
            j = i
            while j < n and not (text[j] == "\n" and text[j - 1] != "\\"):
                j += 1
            clear(i, j)
            i = j
            continue
        if c == "\n":
            bol = True
            i += 1
            continue
        if not c.isspace():
            bol = False
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            clear(i, j)
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            clear(i, j)
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            clear(i, j + 1)
            i = j + 1
        else:
            i += 1
    return m


def match_paren(text, mask, i):
    d = 0
    while i < len(text):
        if mask[i]:
            if text[i] == "(":
                d += 1
            elif text[i] == ")":
                d -= 1
                if d == 0:
                    return i
        i += 1
    return -1


def func_bodies(text, mask):
    """(start, end) of every function body: a top-level { after a )"""
    res, depth, start = [], 0, None
    for i, c in enumerate(text):
        if not mask[i]:
            continue
        if c == "{":
            if depth == 0:
                j = i - 1
                while j >= 0 and (text[j].isspace() or not mask[j]):
                    j -= 1
                start = i if j >= 0 and text[j] == ")" else None
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and start is not None:
                res.append((start, i))
                start = None
    return res


CMP = {"==": "!=", "!=": "==", "<": ">=", ">": "<=", "<=": ">", ">=": "<"}
BOUND = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}
RELOP = re.compile(r"(?<![<>=!\-])(<=|>=|==|!=|<|>)(?![<>=])")
RET = re.compile(r"\breturn\s+(-[^;]+|false)\s*;")
STMT = re.compile(r"(?m)^[ \t]+([^\n;{}]*;)[ \t]*$")
DECL = re.compile(r"(static\s+)?(const\s+)?(volatile\s+)?(struct\s+|enum\s+|union\s+)?"
                  r"\w+(\s+|\s*\*+\s*)\**\w+(\s*\[[^]]*\])*\s*(=|;)")
ASSIGN = re.compile(r"[\w.\->\[\]*()]+\s*([-+*/%&|^]|<<|>>)?=[^=]")


def mutants(text):
    """every mutant of text: dict(id, kind, s, e, rep, line)"""
    mask = code_mask(text)
    out = []

    def code(s, e):
        return all(mask[k] for k in range(s, e))

    def add(kind, s, e, rep):
        out.append(dict(kind=kind, s=s, e=e, rep=rep, line=text.count("\n", 0, s) + 1))

    for bs, be in func_bodies(text, mask):
        body = text[bs:be]
        for m in RELOP.finditer(body):
            s, e = bs + m.start(1), bs + m.end(1)
            if not code(s, e):
                continue
            add("cmp", s, e, CMP[m.group(1)])
            if m.group(1) in BOUND:
                add("bound", s, e, BOUND[m.group(1)])
        for m in re.finditer(r"&&|\|\|", body):
            if code(bs + m.start(), bs + m.end()):
                add("logic", bs + m.start(), bs + m.end(), "||" if m.group(0) == "&&" else "&&")
        for m in RET.finditer(body):
            if code(bs + m.start(), bs + m.end()):
                add("ret", bs + m.start(1), bs + m.end(1), "true" if m.group(1) == "false" else "0")
        for m in re.finditer(r"\bif\s*\(", body):
            ps = bs + m.end() - 1
            if not code(bs + m.start(), ps + 1):
                continue
            pe = match_paren(text, mask, ps)
            if pe < 0 or pe > be:
                continue
            add("if0", ps + 1, pe, "0")
            add("if1", ps + 1, pe, "1")
        for m in STMT.finditer(body):
            st = m.group(1).strip()
            s, e = bs + m.start(1), bs + m.end(1)
            if not code(s, e) or st.count("(") != st.count(")"):
                continue
            if re.match(r"(return|break|continue|goto|case|default|else|do)\b", st):
                continue
            if DECL.match(st) and not ASSIGN.match(st):
                continue  # a declaration
            k = s - 1  # a statement starts after ; { } : ) or else, never mid-expression
            while k > bs and (text[k].isspace() or not mask[k]):
                k -= 1
            if text[k] not in ";{}:)" and not text[:k + 1].endswith("else"):
                continue
            add("del", s, e, ";")
    out.sort(key=lambda mu: (mu["s"], mu["kind"]))
    seen, res = set(), []
    for mu in out:
        t = apply(text, mu)
        h = hashlib.sha1(t.encode()).hexdigest()
        if t == text or h in seen:
            continue
        seen.add(h)
        mu["id"] = len(res)
        res.append(mu)
    return res


def apply(text, mu):
    return text[:mu["s"]] + mu["rep"] + text[mu["e"]:]


def show_change(text, mu):
    """the mutated line before and after, trimmed"""
    ls = text.rfind("\n", 0, mu["s"]) + 1
    le = text.find("\n", mu["e"])
    le = len(text) if le < 0 else le
    before = text[ls:le]
    after = text[ls:mu["s"]] + mu["rep"] + text[mu["e"]:le]
    if "\n" in before:  # a condition over several lines: its first line only
        before, after = before.split("\n")[0] + " ...", after.split("\n")[0] + " ..."
    return " ".join(before.split())[:90], " ".join(after.split())[:90]


def parse_lines(spec):
    if not spec:
        return None
    ranges = []
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", part)
        if not m:
            raise BadInput(f"LINES={spec!r}: expected a-b[,c-d] (line numbers)")
        a = int(m.group(1))
        b = int(m.group(2) or a)
        if b < a:
            raise BadInput(f"LINES={spec!r}: range {a}-{b} runs backwards")
        ranges.append((a, b))
    return ranges


def to_int(name, v, default):
    if v is None or str(v).strip() == "":
        return default
    try:
        x = int(v)
    except ValueError:
        raise BadInput(f"{name}={v!r}: expected a whole number")
    if x < 0:
        raise BadInput(f"{name}={v!r}: expected a whole number >= 0")
    return x


def select(ms, lines, ids, n, seed):
    if lines:
        ms = [m for m in ms if any(a <= m["line"] <= b for a, b in lines)]
    if ids is not None:
        ms = [m for m in ms if m["id"] in ids]
    if n and n < len(ms):
        ms = sorted(random.Random(seed).sample(ms, n), key=lambda m: m["id"])
    return ms


# ---- the run --------------------------------------------------------------
def run(args):
    root = os.path.abspath(args.root)
    n = to_int("N", args.n, 40)
    seed = to_int("SEED", args.seed, 1)
    lines = parse_lines(args.lines)
    ids = None
    if args.ids:
        ids = {to_int("IDS", x, 0) for x in args.ids.split(",") if x.strip()}
    if not args.file:
        raise BadInput("FILE= is required: make mutate FILE=dma/owner.c [N=40] [SEED=1] [LINES=a-b]")
    file = os.path.relpath(os.path.abspath(os.path.join(root, args.file)), root)
    if file.startswith("..") or not os.path.isfile(os.path.join(root, file)):
        raise BadInput(f"FILE={args.file}: no such file in {root}")

    keep = bool(args.out)
    work = os.path.abspath(args.out) if keep else tempfile.mkdtemp(prefix="capos-mutate-")
    if keep:
        real, rroot = os.path.realpath(work), os.path.realpath(root)
        if os.path.commonpath([real, rroot]) == rroot:
            raise BadInput(f"O={args.out}: the scratch directory may not be inside the tree")
        shutil.rmtree(os.path.join(work, "src"), ignore_errors=True)
    src = os.path.join(work, "src")
    os.makedirs(src, exist_ok=True)
    try:
        return run_in(root, src, work, file, n, seed, lines, ids, args)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def run_in(root, src, work, file, n, seed, lines, ids, args):
    copy_tree(root, src)
    hosts, fuzzers = make_list(src, "print-host"), make_list(src, "print-fuzz")
    deps = prerequisites(src, hosts + fuzzers)
    affected = [t for t in hosts + fuzzers if file in map(os.path.normpath, deps[t])]
    if not affected:
        raise BadInput(f"FILE={file}: no host test or fuzzer lists it among its prerequisites "
                       "(tests/host/*/suite.mk)")
    rec = recipes(src, affected)
    text = open(os.path.join(src, file)).read()
    every = mutants(text)
    chosen = select(every, lines, ids, n, seed)
    print(f"mutate: {file}: {len(every)} mutants, {len(chosen)} chosen "
          f"(N={n or 'all'} SEED={seed}" + (f" LINES={args.lines}" if lines else "")
          + (f" IDS={args.ids}" if ids is not None else "") + ")", flush=True)

    bld = Builder(src, work, file)
    bins = []
    for t in affected:
        b = dict(rec[t], target=t, name=os.path.basename(t), fuzzer=t in fuzzers)
        b["seeds"] = seeds_of(src, t) if b["fuzzer"] else []
        bld.baseline(b)
        ok, secs, why = run_binary(src, b, os.path.join(work, "base", b["name"]),
                                   BASELINE_TIMEOUT_S, seed)
        if not ok:
            raise Fail(f"baseline: {t} fails unmutated ({why}); fix the tree first")
        b["secs"] = secs
        b["timeout"] = TIMEOUT_MULT * secs + TIMEOUT_FLOOR_S
        bins.append(b)
    bins.sort(key=lambda b: (b["secs"], b["name"]))
    print("mutate: runs " + ", ".join(
        f"{b['name']} ({'%d seeds' % len(b['seeds']) if b['seeds'] else ('%d runs' % NOSEED_RUNS if b['fuzzer'] else 'host test')}, {b['secs']:.1f}s)"
        for b in bins), flush=True)

    path = os.path.join(src, file)
    counts = dict(killed=0, survived=0, stillborn=0)
    survivors = []
    try:
        for mu in chosen:
            t0 = time.time()
            open(path, "w").write(apply(text, mu))
            status, why = "survived", ""
            built = {}  # a binary's objects are compiled when it is its turn to run
            for b in bins:
                for o in bld.touched(b):
                    if o in built:
                        continue
                    mo = os.path.join(work, "mut", os.path.basename(o))
                    err = bld.compile(b["cc"], b["flags"], b["srcs"][b["objs"].index(o)], mo,
                                      werror=False)
                    if err:
                        status = "stillborn"
                        why = next((l for l in err.splitlines() if "error" in l), "does not compile")
                        break
                    built[o] = mo
                if status == "stillborn":
                    break
                out = os.path.join(work, "mut", "bin", b["name"])
                if bld.link(b, [built.get(o, o) for o in b["objs"]], out):
                    status, why = "stillborn", "does not link"
                    break
                ok, _, w = run_binary(src, b, out, b["timeout"], seed)
                if not ok:
                    status, why = "killed", f"by {b['name']} ({w})"
                    break
            counts[status] += 1
            if status == "survived":
                survivors.append(mu["id"])
            before, after = show_change(text, mu)
            print(f"#{mu['id']} {file}:{mu['line']} {mu['kind']} [{before}] -> [{after}] "
                  f"{status} {why} ({time.time() - t0:.1f}s)".rstrip(), flush=True)
    finally:
        open(path, "w").write(text)
    live = counts["killed"] + counts["survived"]
    score = f", {100.0 * counts['killed'] / live:.0f}% killed" if live else ""
    print(f"mutate: {file}: {len(chosen)} mutants: {counts['killed']} killed, "
          f"{counts['survived']} survived, {counts['stillborn']} stillborn{score}")
    if survivors:
        print("mutate: survived IDS=" + ",".join(map(str, survivors)))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--file", default=os.environ.get("FILE"))
    p.add_argument("--n")
    p.add_argument("--seed")
    p.add_argument("--lines")
    p.add_argument("--ids")
    p.add_argument("--out", help="scratch directory, kept (default: a fresh one, removed)")
    p.add_argument("--root", default=".", help="the tree (its Makefile lists the binaries)")
    p.add_argument("--list", action="store_true", help="only list the mutants")
    args = p.parse_args(argv)
    try:
        if args.list:
            if not args.file or not os.path.isfile(os.path.join(args.root, args.file)):
                raise BadInput(f"FILE={args.file}: no such file")
            text = open(os.path.join(args.root, args.file)).read()
            for mu in select(mutants(text), parse_lines(args.lines), None, 0, 1):
                before, after = show_change(text, mu)
                print(f"#{mu['id']} {args.file}:{mu['line']} {mu['kind']} [{before}] -> [{after}]")
            return 0
        return run(args)
    except BadInput as e:
        print(f"mutate: {e}", file=sys.stderr)
        return 2
    except Fail as e:
        print(f"mutate: tool failure: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
