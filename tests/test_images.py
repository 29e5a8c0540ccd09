"""tests/test_images.py — the two kernel images, checked on the host (no QEMU).

`make` builds the image a user boots (build/capos.elf); `make proof` builds
the proof image (build/proof/capos.elf, kernel/proof/ linked in,
-DCAPOS_PROOFS) that tests/qemu boots. The user image must carry no proof
and no fault-injection code: no symbol naming a proof or an injection, an
empty proof table (.capos_proofs, between __proofs_start and __proofs_end),
no PROOF marker format. The proof image must carry all of them, so each
check is seen to fail on an image that has them. And no PROOF_REGISTER
lives outside kernel/proof/.
"""
import glob
import os
import re
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("CAPOS_BUILD", os.path.join(ROOT, "build"))
USER_ELF = os.path.join(BUILD, "capos.elf")
PROOF_ELF = os.path.join(BUILD, "proof", "capos.elf")

# a proof, its runner or a fault hook, by name (the proof table's own
# bounds are checked by size instead)
FORBIDDEN = re.compile(r"proof|inject", re.I)
TABLE_BOUNDS = {"__proofs_start", "__proofs_end"}
PROOF_ENTRY_BYTES = 24  # struct proof_entry: name, fn, order (kernel/proof/proof.h)


def symbols(elf):
    """{name: address} of every symbol nm lists, locals included."""
    if not os.path.exists(elf):
        pytest.fail(f"{elf} missing: run `make all proof` first")
    out = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    return syms


def suspects(syms):
    return sorted(n for n in syms if FORBIDDEN.search(n) and n not in TABLE_BOUNDS)


def table_entries(syms):
    return (syms["__proofs_end"] - syms["__proofs_start"]) // PROOF_ENTRY_BYTES


def registered_in(paths):
    """(file, proof name) of every PROOF_REGISTER use in these sources."""
    out = []
    for p in paths:
        with open(p, errors="replace") as f:
            for m in re.finditer(r'^\s*PROOF_REGISTER\("([^"]+)"', f.read(), re.M):
                out.append((os.path.relpath(p, ROOT), m.group(1)))
    return out


def kernel_sources():
    pats = ["kernel/**/*.c", "dma/*.c", "drivers/**/*.c"]
    return sorted({p for pat in pats for p in glob.glob(os.path.join(ROOT, pat), recursive=True)})


def test_user_image_has_no_proof_code():
    syms = symbols(USER_ELF)
    assert suspects(syms) == [], f"proof or fault-injection symbols in the user image: {suspects(syms)}"
    assert table_entries(syms) == 0, ".capos_proofs is not empty in the user image"
    with open(USER_ELF, "rb") as f:
        data = f.read()
    assert b"PROOF %s" not in data, "the PROOF marker format is in the user image"


def test_proof_image_has_every_proof_and_the_hooks():
    syms = symbols(PROOF_ELF)
    names = suspects(syms)
    # the runner, the marker, the broker's fault hooks and their arming
    for want in ("proofs_run", "proof_result", "nvme_broker_inject_set", "nvme_inject_arm"):
        assert want in names, f"{want} missing from the proof image"
    proof_src = [p for p in kernel_sources() if "/kernel/proof/" in p]
    assert table_entries(syms) == len(registered_in(proof_src)) > 0
    with open(PROOF_ELF, "rb") as f:
        assert b"PROOF %s" in f.read()


def test_proofs_register_only_under_kernel_proof():
    outside = [r for r in registered_in(kernel_sources()) if not r[0].startswith("kernel/proof/")]
    assert outside == [], f"PROOF_REGISTER outside kernel/proof/: {outside}"
