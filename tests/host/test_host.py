"""tests/host/test_host.py — runs every host test binary (cmocka, ASan+UBSan)
and gives every libFuzzer target a short run. The Makefile lists them
(tests/host/<suite>/suite.mk); `make host` has built them."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FUZZ_SECONDS = int(os.environ.get("CAPOS_FUZZ_SECONDS", "8"))


def _listed(target):
    out = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, target],
                         capture_output=True, text=True, check=True).stdout
    return [p for p in out.split() if p]


@pytest.mark.parametrize("binary", _listed("print-host"), ids=os.path.basename)
def test_host_suite(binary):
    path = os.path.join(ROOT, binary)
    assert os.path.exists(path), f"{binary} not built (make host)"
    r = subprocess.run([path], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, f"{binary} failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"


@pytest.mark.parametrize("fuzzer", _listed("print-fuzz"), ids=os.path.basename)
def test_fuzz_short(fuzzer, tmp_path):
    """A short libFuzzer run from the committed seeds; a crash or a sanitizer
    report fails the test and leaves the reproducer in build/fuzz-crashes/."""
    name = os.path.basename(fuzzer)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seeds in [os.path.join(ROOT, "tests/host", s, "corpus", name)
                  for s in os.listdir(os.path.join(ROOT, "tests/host"))]:
        if os.path.isdir(seeds):
            for f in os.listdir(seeds):
                shutil.copy(os.path.join(seeds, f), corpus / f)
    crashes = os.path.join(ROOT, "build", "fuzz-crashes", name)
    os.makedirs(crashes, exist_ok=True)
    r = subprocess.run([os.path.join(ROOT, fuzzer), f"-max_total_time={FUZZ_SECONDS}",
                        "-timeout=10", "-rss_limit_mb=2048", f"-artifact_prefix={crashes}/",
                        str(corpus)], capture_output=True, text=True, timeout=FUZZ_SECONDS + 120)
    assert r.returncode == 0, f"{name}:\n{r.stderr[-6000:]}"


def test_make_fuzz_reads_committed_seeds(tmp_path):
    """`make fuzz` starts each fuzzer from its committed seeds
    (tests/host/<suite>/corpus/<fuzzer>/) as README says, and writes what it
    finds under $(BUILD)/corpus, never into the seed folder."""
    name = "vnet_fuzz"
    fuzzer = next(f for f in _listed("print-fuzz") if os.path.basename(f) == name)
    seeds = os.path.join(ROOT, "tests/host/virtio_net/corpus", name)
    before = sorted(os.listdir(seeds))
    assert os.path.exists(os.path.join(ROOT, fuzzer)), f"{fuzzer} not built (make host)"
    r = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "fuzz",
                        f"BUILD={tmp_path}", f"FUZZERS={os.path.join(ROOT, fuzzer)}",
                        "FUZZ_SECONDS=1"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"INFO: seed corpus: files: {len(before)} " in r.stderr, r.stderr[-3000:]
    assert sorted(os.listdir(seeds)) == before
