"""tests/conftest.py — the closing line of `make test`: "N passed, N failed".

With --proof-report (`make run-pci-nvme` passes it) the summary first shows
what the QEMU boots of this session proved: each boot's PROOF lines and
tally, and its hostile NVMe vectors counted by the verdict the gate gave
(NVME_VECTOR lines, kernel/proof/nvme_hostile.c)."""
import collections
import glob
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "qemu"))

from qemu import BUILD  # noqa: E402

MARKER = re.compile(r"^(PROOF \S+ (?:PASS|FAIL).*|capOS: proofs pass=\d+ fail=\d+)$", re.M)
VECTOR = re.compile(r"^NVME_VECTOR file=(\S+) expect=(\S+) got=(\S+) .*ok=(\d)", re.M)


def pytest_addoption(parser):
    parser.addoption("--proof-report", action="store_true",
                     help="print each QEMU boot's PROOF lines and the hostile "
                          "NVMe vectors by verdict before the closing count")


def pytest_sessionstart(session):
    session.config.capos_t0 = time.time()


def boots_since(t0):
    """(name, serial log) of every QEMU boot started since t0, in order."""
    out = []
    for cmd in glob.glob(os.path.join(BUILD, "qemu", "*", "cmdline.txt")):
        if os.path.getmtime(cmd) < t0:
            continue
        d = os.path.dirname(cmd)
        try:
            with open(os.path.join(d, "serial.log"), "rb") as f:
                log = f.read().decode("latin-1").replace("\r", "")
        except FileNotFoundError:
            log = ""
        out.append((os.path.getmtime(cmd), os.path.basename(d), d, log))
    return [(n, d, log) for _, n, d, log in sorted(out)]


def proof_report(write, t0):
    for name, d, log in boots_since(t0):
        write(f"== boot {name} ({os.path.relpath(d)}/serial.log)")
        markers = MARKER.findall(log)
        for line in markers:
            write(line)
        if not markers:
            write("(no PROOF line)")
        vecs = VECTOR.findall(log)
        if not vecs:
            continue
        by_verdict = collections.Counter(got for _, _, got, _ in vecs)
        bad = [(f, e, g) for f, e, g, ok in vecs if ok != "1" or e != g]
        write(f"hostile vectors by verdict: {len(vecs)} vectors, "
              f"{len(by_verdict)} verdicts, {len(vecs) - len(bad)} as expected")
        for verdict, n in sorted(by_verdict.items(), key=lambda kv: (-kv[1], kv[0])):
            write(f"  {verdict:32} {n}")
        for f, e, g in bad:
            write(f"  NOT AS EXPECTED {f}: expect={e} got={g}")


def qemu_crashes(write, t0):
    """the boots of this session whose QEMU crashed and that ran again
    (tests/qemu/qemu.py, Machine._rerun_after_crash)"""
    try:
        with open(os.path.join(BUILD, "qemu", "qemu-crashes.log")) as f:
            lines = [ln.split(" ", 1) for ln in f.read().splitlines()]
    except FileNotFoundError:
        return
    for when, what in lines:
        if float(when) >= t0:
            write(f"QEMU crash, boot run again: {what}")


def pytest_terminal_summary(terminalreporter, config):
    if config.getoption("--proof-report"):
        proof_report(terminalreporter.write_line, config.capos_t0)
    qemu_crashes(terminalreporter.write_line, config.capos_t0)
    st = terminalreporter.stats
    passed = len([r for r in st.get("passed", []) if r.when == "call"])
    failed = len({r.nodeid for r in st.get("failed", []) + st.get("error", [])})
    skipped = len(st.get("skipped", []))
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    terminalreporter.write_line(line)
