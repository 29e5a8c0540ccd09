#!/usr/bin/python3
"""tests/bench/nvme.py — capOS's NVMe stack against the emulated device's own
limit (`make bench`).

Each boot of the proof image runs the in-kernel proof `nvme-bench`
(kernel/proof/nvme_proof.c). In that one boot, on the same controller, every
row runs three ways, interleaved over three rounds (best of each):

    bare  the broker's minimal polled loop on a queue pair it created in
          kernel memory: write SQ entries, one doorbell, spin on the CQ
          phase; no driver, no gate, no validator (nvme_broker_bare_run)
    poll  the full stack (driver + doorbell gate + validator), polled
    irq   the full stack, reaping when the queue's MSI-X count moves

and prints

    BENCH nvme row=<name> path=<bare|poll|irq> ... iops=N kib_per_s=N cycles_per_io=N
    BENCH nvme breakdown qd=N submit=C validate=C doorbell=C wait=C reap=C total=C bare=C ...
    BENCH nvme shadow_bytes_per_qpair=N ...

Ratios are taken inside one boot (poll/bare, irq/poll); the table shows each
boot's ratio and the median over boots. A second kernel built with
-DCAPOS_NVME_VALIDATOR_OFF (the gate and its copies stay, the refusals are
compiled out) boots alternately for the validator's price (off/on). TCG
numbers say nothing about real hardware; absolute figures are examples.
"""
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
from qemu import BUILD, PROOF_BUILD, Machine  # noqa: E402

NOVAL_BUILD = os.path.join(BUILD, "novalidate")
ROUNDS = int(os.environ.get("NVME_BENCH_ROUNDS", "2"))
OPS = int(os.environ.get("NVME_BENCH_OPS", "4000"))
ROW_RE = re.compile(r"^BENCH nvme row=(\w+) path=(\w+) len=(\d+) qd=(\d+) "
                    r"ops=\d+ rounds=\d+ iops=(\d+) kib_per_s=(\d+) "
                    r"cycles_per_io=(\d+)", re.M)
BRK_RE = re.compile(r"^BENCH nvme breakdown (.*)$", re.M)
SHADOW_RE = re.compile(r"^BENCH nvme shadow_bytes_per_qpair=(\d+) "
                       r"queue_entries=(\d+) ioq=(\d+)", re.M)
ROWS = [("randread4k_qd1", "4 KiB random read, QD1", "iops", 0.9, 0.7),
        ("randread4k_qd32", "4 KiB random read, QD32", "iops", 0.9, 0.9),
        ("seqread128k", "128 KiB sequential read", "kib_per_s", None, None),
        ("seqwrite128k", "128 KiB sequential write", "kib_per_s", None, None),
        ("readmdts", "read at MDTS", "kib_per_s", None, None),
        ("writemdts", "write at MDTS", "kib_per_s", None, None)]
BRK_KEYS = ["submit", "validate", "doorbell", "wait", "reap", "total", "bare"]


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
                timeout=900)
    with m:
        m.wait()
    res = {"rows": {}, "brk": {}, "shadow": None, "len": {}}
    for row, path, ln, _qd, iops, kibs, _cyc in ROW_RE.findall(m.log):
        res["rows"][(row, path)] = {"iops": int(iops), "kib_per_s": int(kibs)}
        res["len"][row] = int(ln)
    for line in BRK_RE.findall(m.log):
        kv = dict(x.split("=", 1) for x in line.split())
        res["brk"][int(kv["qd"])] = {k: int(v) for k, v in kv.items()}
    s = SHADOW_RE.search(m.log)
    if s:
        res["shadow"] = tuple(int(x) for x in s.groups())
    ok = m.proofs.get("nvme-bench") and m.proofs["nvme-bench"].passed
    if not ok or not res["rows"] or len(res["brk"]) != 2:
        sys.exit(f"nvme bench: validator={side} run produced no numbers\n{m.tail()}")
    return res


def ratio(run, row, a, b, unit):
    x, y = run["rows"].get((row, a)), run["rows"].get((row, b))
    return x[unit] / y[unit] if x and y and y[unit] else None


def fmt_ratios(rs):
    rs = [r for r in rs if r is not None]
    if not rs:
        return f"{'-':>24}"
    each = "(" + "/".join(f"{r:.2f}" for r in rs) + ")"
    return f"{statistics.median(rs):>6.2f} {each:<17}"


def verdict(rs, target):
    rs = [r for r in rs if r is not None]
    if target is None or not rs:
        return ""
    return " met" if statistics.median(rs) >= target else f" below {target:.2f}"


def main():
    build_novalidate()
    sides = {"on": os.path.join(PROOF_BUILD, "esp"),
             "off": os.path.join(NOVAL_BUILD, "proof", "esp")}
    runs = {"on": [], "off": []}
    for n in range(ROUNDS):
        for side in ("on", "off"):
            runs[side].append(boot(side, sides[side], n))
    on = runs["on"]
    print(f"nvme: full stack (driver + gate + validator) against bare (the "
          f"broker's minimal polled loop), same boot, same controller; "
          f"{ROUNDS} boots, best of 3 interleaved rounds per path, {OPS} "
          f"ops per 4 KiB row; median ratio (each boot's)")
    print(f"  {'':28} {'bare':>9} {'poll':>9} {'poll/bare':>25} "
          f"{'irq':>9} {'irq/poll':>25}")
    for row, label, unit, t_stack, t_irq in ROWS:
        last = on[-1]["rows"]
        bare = last.get((row, "bare"), {}).get(unit, 0)
        poll = last.get((row, "poll"), {}).get(unit, 0)
        irq = last.get((row, "irq"), {}).get(unit)
        sb = [ratio(r, row, "poll", "bare", unit) for r in on]
        ip = [ratio(r, row, "irq", "poll", unit) for r in on]
        name = f"{label} ({'IOPS' if unit == 'iops' else 'KiB/s'})"
        print(f"  {name:28} {bare:>9} {poll:>9} {fmt_ratios(sb)}"
              f"{verdict(sb, t_stack):<12} {irq if irq is not None else '-':>9} "
              f"{fmt_ratios(ip)}{verdict(ip, t_irq)}")
    print(f"  (absolute columns: the last boot; MDTS = "
          f"{on[-1]['len'].get('readmdts', 0) // 1024} KiB)")
    print("  per-I/O breakdown, polled 4 KiB random read, TSC cycles "
          "(last boot; 'bare' is the bare loop's whole I/O):")
    print("  " + f"{'qd':>4} " + " ".join(f"{k:>9}" for k in BRK_KEYS) +
          f" {'sq db/io':>9} {'cq db/io':>9}")
    for qd in sorted(on[-1]["brk"]):
        b = on[-1]["brk"][qd]
        print("  " + f"{qd:>4} " + " ".join(f"{b[k]:>9}" for k in BRK_KEYS) +
              f" {b['sq_doorbells_per_kio'] / 1000:>9.3f}"
              f" {b['cq_doorbells_per_kio'] / 1000:>9.3f}")
    if on[-1]["shadow"]:
        sh, ent, nq = on[-1]["shadow"]
        print(f"  shadow memory per I/O queue pair: {sh // 1024} KiB "
              f"({ent} entries; {nq} pairs)")
    print(f"nvme: validator on vs compiled out (poll path), best of {ROUNDS} "
          f"boots each")
    print(f"  {'':28} {'on':>9} {'off':>9} {'off/on':>8}")
    for row, label, unit, _t, _u in ROWS[:4]:
        a = max(r["rows"].get((row, "poll"), {}).get(unit, 0) for r in runs["on"])
        b = max(r["rows"].get((row, "poll"), {}).get(unit, 0) for r in runs["off"])
        print(f"  {label:28} {a:>9} {b:>9} {b / a if a else 0:>8.2f}")


if __name__ == "__main__":
    main()
