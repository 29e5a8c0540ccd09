"""tests/mutate/test_mutate.py — `make mutate` (tests/mutate/mutate.py) on a
tree of its own, tests/mutate/fixture/: clamp.c, a host test that checks
clamp_len, a fuzzer whose committed seed checks sum_bytes, and a function
no test calls (untested). Mutants a test catches are killed by that test,
those only the fuzzer's seed catches by the fuzzer, the untested ones
survive; the binary that does not link clamp.c is never run; and neither
the fixture nor the repository changes."""
import os
import re
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE = os.path.join(ROOT, "tests", "mutate", "fixture")
TOOL = os.path.join(ROOT, "tests", "mutate", "mutate.py")


def status():
    """git's view of the repository and every fixture file's mtime: a tool
    that writes a mutant into the tree and puts the file back is caught"""
    git = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    times = {os.path.join(d, f): os.stat(os.path.join(d, f)).st_mtime_ns
             for d, _, fs in os.walk(FIXTURE) for f in fs}
    return git, times


def mutate(*args):
    return subprocess.run(["/usr/bin/python3", TOOL, "--root", FIXTURE, *args],
                          capture_output=True, text=True, timeout=240)


def test_mutate_fixture():
    before = status()
    r = mutate("--file", "clamp.c", "--n", "0")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert status() == before, "mutate.py changed the tree"
    rows = {}
    for m in re.finditer(r"^#(\d+) clamp\.c:(\d+) (\w+) \[(.*?)\] -> \[(.*?)\] (\w+)(.*)$",
                         out, re.M):
        rows[(int(m.group(2)), m.group(3))] = (m.group(6), m.group(7))
    # clamp_len: caught by the host test
    assert rows[(7, "if0")][0] == "killed" and "clamp_test" in rows[(7, "if0")][1], out
    assert rows[(7, "cmp")][0] == "killed" and "clamp_test" in rows[(7, "cmp")][1], out
    assert rows[(8, "ret")][0] == "killed", out
    # sum_bytes: only the fuzzer's committed seed sees it
    for kind in ("bound", "cmp"):
        assert rows[(18, kind)][0] == "killed" and "fuzz_clamp" in rows[(18, kind)][1], out
    assert rows[(19, "del")][0] == "killed" and "fuzz_clamp" in rows[(19, "del")][1], out
    # untested: every mutant survives
    planted = [v for (line, _), v in rows.items() if line in (26, 27)]
    assert len(planted) == 5 and all(s == "survived" for s, _ in planted), out
    assert "other_test" not in out, "a binary that does not link clamp.c was run"
    m = re.search(r"^mutate: clamp\.c: (\d+) mutants: (\d+) killed, (\d+) survived, "
                  r"(\d+) stillborn", out, re.M)
    assert m and int(m.group(1)) == len(rows) == 17, out
    assert int(m.group(2)) + int(m.group(3)) + int(m.group(4)) == 17, out


def test_mutate_selection_and_bad_input():
    """N and SEED draw the same mutants every time, LINES keeps its lines;
    bad input is one line and exit 2"""
    lst = mutate("--file", "clamp.c", "--list", "--lines", "18-19")
    assert lst.returncode == 0 and len(lst.stdout.splitlines()) == 3, lst.stdout
    r = mutate("--file", "clamp.c", "--lines", "3-", "--n", "2")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = mutate("--file", "clamp.c", "--out", FIXTURE)  # O= in the tree
    assert r.returncode == 2 and "may not be inside the tree" in r.stderr, r.stderr
    r = mutate("--file", "clamp.h")  # no rule lists it
    assert r.returncode == 2 and "no host test or fuzzer" in r.stderr, r.stderr
    import importlib.util
    spec = importlib.util.spec_from_file_location("mutate", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ms = mod.mutants(open(os.path.join(FIXTURE, "clamp.c")).read())
    a = [m["id"] for m in mod.select(ms, None, None, 5, 7)]
    assert a == [m["id"] for m in mod.select(ms, None, None, 5, 7)] and len(a) == 5
    assert a != [m["id"] for m in mod.select(ms, None, None, 5, 8)]
