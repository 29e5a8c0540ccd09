"""tests/test_format.py — the tree matches .clang-format (`make format`
applies it): every tracked C source and header, as clang-format --dry-run
--Werror sees it."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def test_tree_is_formatted():
    if not shutil.which("clang-format"):
        pytest.fail("clang-format missing (make deps installs it)")
    files = subprocess.run(["git", "ls-files", "*.c", "*.h"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    assert files
    r = subprocess.run(["clang-format", "--dry-run", "--Werror"] + files, cwd=ROOT,
                       capture_output=True, text=True)
    bad = sorted({ln.split(":")[0] for ln in r.stderr.splitlines() if "warning:" in ln or "error:" in ln})
    assert r.returncode == 0 and not bad, f"not formatted (make format): {bad}"
