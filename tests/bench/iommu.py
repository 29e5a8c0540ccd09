#!/usr/bin/python3
"""tests/bench/iommu.py — the DMA backends side by side (`make bench`).

Three machines, booted alternately, each with an NVMe controller and a
virtio-net function:

    validator  no IOMMU: NVMe behind the brokered validator (the gate with
               its address checks), virtio-net unvalidated
    iommu+chk  -device intel-iommu: every function in its VT-d domain, the
               NVMe gate with its address checks (nvme.addr_checks=on)
    iommu      the same, the gate's address checks off: the IOMMU confines
               the data addresses, the gate keeps its command policy
               (nvme.addr_checks=off)

Each boot runs the nvme-bench proof for the 4 KiB random read rows only
(nvme.bench_rows; best of 3 interleaved rounds inside the boot, full stack,
polled) and then serves HTTP: wrk against /api/devices at 1 and at 32
connections. Printed: each figure per backend (median over boots) and its
ratio to the validator backend; the target is that the IOMMU backend costs
at most 10% (ratio >= 0.90). The 'bare' column is the broker's minimal
loop on the same controller in the same boot: the device's own limit under
that backend. TCG numbers say nothing about real hardware.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qemu"))
from qemu import BUILD, Machine, free_port  # noqa: E402

ROUNDS = int(os.environ.get("IOMMU_BENCH_ROUNDS", "2"))
OPS = int(os.environ.get("IOMMU_BENCH_OPS", "3000"))
DURATION = os.environ.get("CAPOS_BENCH_SECONDS", "4")
ROWS = [("randread4k_qd1", "NVMe 4 KiB random read QD1 (IOPS)"),
        ("randread4k_qd32", "NVMe 4 KiB random read QD32 (IOPS)")]
HTTP = [(1, "HTTP /api/devices, 1 conn (req/s)"),
        (32, "HTTP /api/devices, 32 conns (req/s)")]
BACKENDS = [("validator", [], "on", "disable-legacy=on"),
            ("iommu+chk", ["-device", "intel-iommu,intremap=on"], "on",
             "disable-legacy=on,iommu_platform=on"),
            ("iommu", ["-device", "intel-iommu,intremap=on"], "off",
             "disable-legacy=on,iommu_platform=on")]
ROW_RE = re.compile(r"^BENCH nvme row=(\w+) path=(\w+) len=\d+ qd=\d+ ops=\d+ "
                    r"rounds=\d+ iops=(\d+)", re.M)
BACKEND_RE = re.compile(r"^devmgr: \S+ nvme: dma backend (\S+)", re.M)
CHECKS_RE = re.compile(r"gate address checks (on|off)")


def wrk(url, conns):
    threads = "1" if conns == 1 else "2"
    r = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{DURATION}s", url],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    return float(m.group(1)) if m else 0.0


def boot(name, extra, checks, vnet, n):
    img = os.path.join(BUILD, "qemu", f"bench-iommu-{name}.img")
    os.makedirs(os.path.dirname(img), exist_ok=True)
    with open(img, "wb") as f:
        f.truncate(64 << 20)
    port = free_port()
    devices = extra + [
        "-drive", f"file={img},format=raw,if=none,id=nvm",
        "-device", "nvme,serial=capos-bench,drive=nvm",
        "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
        "-device", f"virtio-net-pci,netdev=n0,{vnet}"]
    rows = ",".join(r for r, _ in ROWS)
    m = Machine(f"bench-iommu-{name.replace('+', '-')}-{n}", devices=devices,
                cmdline=f"proofs=nvme-bench nvme.bench_ops={OPS} nvme.bench_rows={rows} "
                        f"nvme.addr_checks={checks}",
                timeout=900)
    res = {}
    with m:
        m.wait_for(r"address \d+\.\d+\.\d+\.\d+ mask", 600)
        for conns, _ in HTTP:
            res[("http", conns)] = wrk(f"http://127.0.0.1:{port}/api/devices", conns)
        m.quit()
    log = m.log
    for row, path, iops in ROW_RE.findall(log):
        res[(row, path)] = int(iops)
    be = BACKEND_RE.search(log)
    ck = CHECKS_RE.search(log)
    want = "validator" if name == "validator" else "iommu"
    ok = m.proofs.get("nvme-bench") and m.proofs["nvme-bench"].passed
    if not ok or not be or be.group(1) != want or not ck or ck.group(1) != checks:
        sys.exit(f"iommu bench: {name} boot did not run as asked "
                 f"(backend {be and be.group(1)}, checks {ck and ck.group(1)})\n{m.tail()}")
    return res


def main():
    if not shutil.which("wrk"):
        print("iommu bench: wrk not installed (apt-get install wrk)")
        return 1
    runs = {b[0]: [] for b in BACKENDS}
    for n in range(ROUNDS):
        for name, extra, checks, vnet in BACKENDS:
            runs[name].append(boot(name, extra, checks, vnet, n))

    def med(name, key):
        xs = [r.get(key, 0) for r in runs[name]]
        return statistics.median(xs) if xs else 0

    names = [b[0] for b in BACKENDS]
    print(f"iommu: DMA backends side by side, {ROUNDS} boots each, alternated; "
          f"median over boots (NVMe: full stack, polled, best of 3 rounds of "
          f"{OPS} ops per boot)")
    print(f"  {'':38}" + "".join(f"{n:>11}" for n in names) +
          "".join(f"{n + '/val':>15}" for n in names[1:]))
    lines = [(label, (row, "poll")) for row, label in ROWS] + \
            [(label, ("http", c)) for c, label in HTTP]
    worst = None
    for label, key in lines:
        vals = [med(n, key) for n in names]
        rat = [v / vals[0] if vals[0] else 0 for v in vals[1:]]
        worst = min([worst] + rat) if worst is not None else min(rat)
        print(f"  {label:38}" + "".join(f"{v:>11.0f}" for v in vals) +
              "".join(f"{r:>15.2f}" for r in rat))
    for row, label in ROWS:
        vals = [med(n, (row, "bare")) for n in names]
        print(f"  {'  bare loop, ' + label.split('(')[0].strip()[5:]:38}" +
              "".join(f"{v:>11.0f}" for v in vals))
    verdict = "met" if worst is not None and worst >= 0.90 else "NOT met"
    print(f"  target: the IOMMU backend costs at most 10% against the validator "
          f"backend (ratio >= 0.90): {verdict} (lowest ratio {worst:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
