#!/usr/bin/python3
"""tests/bench/nvme.py — what the NVMe on-notify validator costs (`make bench`).

Two kernels, same QEMU flags, measured in one run: the proof image
(validator on) and a second proof image with -DCAPOS_NVME_VALIDATOR_OFF, which
keeps the doorbell gate, the shadow queues and every copy but compiles the
refusals out (dma/nvme_validate.c). Each boot runs the in-kernel proof
`nvme-bench` (kernel/proof/nvme_proof.c), which times with time_now_us and
prints

    BENCH nvme validator=on qd=1 iops=N
    BENCH nvme validator=on qd=32 iops=N
    BENCH nvme validator=on seqwrite_kib=128 kib_per_s=N

Boots alternate on/off/on/off so drift of the host hits both sides; the
table shows the best of each and the ratio off/on (the validator's price:
1.00 means free). TCG numbers say nothing about real hardware speed; only
the ratio is meaningful.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
from qemu import BUILD, PROOF_BUILD, Machine  # noqa: E402

NOVAL_BUILD = os.path.join(BUILD, "novalidate")
ROUNDS = int(os.environ.get("NVME_BENCH_ROUNDS", "3"))
OPS = int(os.environ.get("NVME_BENCH_OPS", "4000"))
BENCH_RE = re.compile(r"^BENCH nvme validator=(\w+) (qd=\d+ iops|seqwrite_kib=128 kib_per_s)=(\d+)",
                      re.M)
ROWS = [("4 KiB random read, QD1 (IOPS)", "qd=1 iops"),
        ("4 KiB random read, QD32 (IOPS)", "qd=32 iops"),
        ("128 KiB sequential write (KiB/s)", "seqwrite_kib=128 kib_per_s")]


def build_novalidate():
    r = subprocess.run(["make", "-s", f"BUILD={NOVAL_BUILD}",
                        "KEXTRA=-DCAPOS_NVME_VALIDATOR_OFF", "proof"],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"nvme bench: unable to build the validator-off kernel\n{r.stdout}{r.stderr}")


def boot(side, esp, n):
    img = os.path.join(BUILD, "qemu", f"bench-nvme-{side}.img")
    os.makedirs(os.path.dirname(img), exist_ok=True)
    with open(img, "wb") as f:
        f.truncate(64 << 20)
    m = Machine(f"bench-nvme-{side}-{n}", esp=esp,
                devices=["-drive", f"file={img},format=raw,if=none,id=nvm",
                         "-device", "nvme,serial=capos-bench,drive=nvm"],
                cmdline=f"proofs=nvme-bench nvme.bench_ops={OPS} exit",
                timeout=600)
    with m:
        m.wait()
    got = {(s, k): int(v) for s, k, v in BENCH_RE.findall(m.log)}
    want = "on" if side == "on" else "off"
    res = {k: got.get((want, k)) for _, k in ROWS}
    if None in res.values() or not m.proofs.get("nvme-bench") or \
            not m.proofs["nvme-bench"].passed:
        sys.exit(f"nvme bench: validator={side} run produced no numbers\n{m.tail()}")
    return res


def main():
    build_novalidate()
    sides = {"on": os.path.join(PROOF_BUILD, "esp"),
             "off": os.path.join(NOVAL_BUILD, "proof", "esp")}
    runs = {"on": [], "off": []}
    for n in range(ROUNDS):
        for side in ("on", "off"):
            runs[side].append(boot(side, sides[side], n))
    print(f"nvme: validator on vs compiled out, best of {ROUNDS} boots each, "
          f"{OPS} ops per read test (QEMU TCG; the host is shared, so each "
          f"side's spread is shown)")
    print(f"  {'':34} {'validator on':>14} {'off':>14} {'off/on':>8}   spread on | off")
    for label, k in ROWS:
        on = [r[k] for r in runs["on"]]
        off = [r[k] for r in runs["off"]]
        ratio = max(off) / max(on) if max(on) else 0
        print(f"  {label:34} {max(on):>14} {max(off):>14} {ratio:>8.2f}   "
              f"{min(on)}-{max(on)} | {min(off)}-{max(off)}")


if __name__ == "__main__":
    main()
