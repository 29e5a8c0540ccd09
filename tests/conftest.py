"""tests/conftest.py — the closing line of `make test`: "N passed, N failed"."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "qemu"))


def pytest_terminal_summary(terminalreporter):
    st = terminalreporter.stats
    passed = len([r for r in st.get("passed", []) if r.when == "call"])
    failed = len({r.nodeid for r in st.get("failed", []) + st.get("error", [])})
    skipped = len(st.get("skipped", []))
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    terminalreporter.write_line(line)
