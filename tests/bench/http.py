"""tests/bench/http.py — HTTP over capOS's own TCP/IP stack (`make bench`).

Boots capOS under TCG with virtio-net on QEMU's user network, forwards a host
port to the guest's port 80 and measures, in one run and side by side:
requests/s of a small JSON endpoint with wrk at 1 and at 16 connections (MANY), the
same for the HTML page, and MB/s of a 4 MiB body (/api/blob) fetched by curl,
every byte of each checked against tests/qemu/blob.py (the twin of
kernel/net/blob.h every other checker uses): a body that differs fails the
run with one `net bench: FAIL blob: ...` line naming the first bad byte.
The guest's own counters (/api/net) are printed afterwards: retransmissions
and refusals say whether the numbers came from a clean run.

Where the time goes: around the 16-connection run of /api/devices the bench
reads the driver's counters (/api/virtio-net: frames, notifies, interrupts
per vector) and the CPU time of each QEMU thread (/proc/<pid>/task: the TCG
vCPU thread runs the guest, the main thread runs slirp and the virtio-net
device model), and prints them per request. A second boot with vnet.txirq=1 (transmit
interrupts on, which the driver suppresses by default) measures /api/devices
again, printed side by side with the ratio.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "qemu"))
from blob import blob_bytes, first_difference  # noqa: E402
from qemu import Machine, free_port  # noqa: E402

DURATION = os.environ.get("CAPOS_BENCH_SECONDS", "5")
# every client reaches the guest as 10.0.2.2 on QEMU's user network, and
# capOS serves one address at most TCP_PER_PEER_MAX (kernel/net/tcp.h)
# connections: more would measure its refusals, not its serving
MANY = 16




def wrk(url, conns):
    threads = "1" if conns == 1 else "2"
    r = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{DURATION}s", url],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    errors = re.search(r"Socket errors: (.*)", r.stdout)
    return (float(m.group(1)) if m else 0.0), (errors.group(1) if errors else "none")


def get_json(url):
    return json.loads(subprocess.run(["curl", "-s", "--max-time", "30", url],
                                     capture_output=True, text=True).stdout)


def thread_cpu(pid):
    """{thread name: CPU seconds} of one process"""
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / hz
    return out


def perf_dso(pid, seconds, out):
    """start `perf record` on QEMU for `seconds`; returns a function that
    waits for it and gives [(share %, shared object)], or None without perf"""
    if not shutil.which("perf"):
        return None
    p = subprocess.Popen(["perf", "record", "-q", "-o", out, "-p", str(pid), "--",
                          "sleep", str(seconds)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def done():
        p.wait(timeout=seconds + 60)
        r = subprocess.run(["perf", "report", "-i", out, "--stdio", "--sort", "dso",
                            "--percent-limit", "1"], capture_output=True, text=True,
                           timeout=120)
        rows = re.findall(r"^\s+([\d.]+)%\s+(.+?)\s*$", r.stdout, re.M)
        return [(float(a), re.sub(r"\[JIT\] tid \d+", "[JIT] guest code", b))
                for a, b in rows]
    return done


def where_time_goes(m, base):
    """per-request driver counters, QEMU thread CPU and (with perf) QEMU's
    profile by shared object for one wrk run"""
    v0, c0 = get_json(base + "/api/virtio-net")[0], thread_cpu(m.proc.pid)
    n0 = get_json(base + "/api/net")["counters"]["http_requests"]
    perf = perf_dso(m.proc.pid, max(1, int(DURATION) - 1), os.path.join(m.dir, "perf.data"))
    rps, _ = wrk(base + "/api/devices", MANY)
    profile = perf() if perf else None
    v1, c1 = get_json(base + "/api/virtio-net")[0], thread_cpu(m.proc.pid)
    n1 = get_json(base + "/api/net")["counters"]["http_requests"]
    reqs = max(1, n1 - n0 - 1)  # minus the /api/net read itself
    per = {
        "rx frames": v1["rx_packets"] - v0["rx_packets"],
        "tx frames": v1["tx_packets"] - v0["tx_packets"],
        "notifies": v1["notifies"] - v0["notifies"],
        "rx irqs": v1["irq"]["rx"] - v0["irq"]["rx"],
        "tx irqs": v1["irq"]["tx"] - v0["irq"]["tx"],
    }
    cpu = {k: c1.get(k, 0.0) - c0.get(k, 0.0) for k in c1}
    return rps, reqs, per, cpu, profile


def blob_mbps(url, size=4 << 20):
    """MB/s of one download of /api/blob of `size` bytes, curl's own rate;
    the body, written to a file, is checked byte for byte afterwards"""
    with tempfile.TemporaryDirectory(prefix="capos-bench-blob-") as d:
        path = os.path.join(d, "blob")
        r = subprocess.run(["curl", "-s", "-o", path, "-w",
                            "%{http_code} %{size_download} %{speed_download}",
                            "--max-time", "120", url], capture_output=True, text=True)
        code, got, speed = r.stdout.split()
        if code != "200" or int(got) != size:
            raise AssertionError(f"blob: status {code}, {got} of {size} bytes")
        with open(path, "rb") as f:
            body = f.read()
    if len(body) != size:
        raise AssertionError(f"blob: {len(body)} of {size} bytes written")
    bad = first_difference(body)
    if bad is not None:
        raise AssertionError(f"blob: byte {bad} of {size} is 0x{body[bad]:02x}, not "
                             f"0x{blob_bytes(1, bad)[0]:02x} (tests/qemu/blob.py, kernel/net/blob.h)")
    return float(speed) / 1e6


def web_vm():
    """A modern virtio-net with the Web UI forwarded to a free local port:
    (QEMU device arguments, base URL)."""
    port = free_port()
    devices = ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
               "-device", "virtio-net-pci,netdev=n0,disable-legacy=on"]
    return devices, f"http://127.0.0.1:{port}"


def main():
    if not shutil.which("wrk"):
        print("net bench: wrk not installed (apt-get install wrk)")
        return 1
    devices, base = web_vm()
    # debug-threads: QEMU names its threads ("CPU 0/TCG", ...) for the CPU split
    with Machine("bench-net", devices=devices, cmdline="", timeout=180,
                 extra=["-name", "capos,debug-threads=on"]) as m:
        m.wait_for(r"address \d+\.\d+\.\d+\.\d+ mask", 120)
        rows = []
        for label, path in [("GET /api/devices", "/api/devices"),
                            ("GET /api/nvme", "/api/nvme"), ("GET / (HTML)", "/")]:
            one, e1 = wrk(base + path, 1)
            many, emany = wrk(base + path, MANY)
            rows.append((label, one, many, e1, emany))
        blobs = [blob_mbps(base + "/api/blob?size=4194304") for _ in range(3)]
        rps, reqs, per, cpu, profile = where_time_goes(m, base)
        counters = json.loads(subprocess.run(["curl", "-s", "--max-time", "10", base + "/api/net"],
                                             capture_output=True, text=True).stdout)["counters"]
    # the same kernel with transmit interrupts left on (vnet.txirq=1): the
    # driver suppresses them by default because it reaps on every poll
    devices2, base2 = web_vm()
    with Machine("bench-net-txirq", devices=devices2, cmdline="vnet.txirq=1", timeout=180,
                 extra=["-name", "capos,debug-threads=on"]) as m2:
        m2.wait_for(r"address \d+\.\d+\.\d+\.\d+ mask", 120)
        irq_one, _ = wrk(base2 + "/api/devices", 1)
        irq_rps, irq_reqs, irq_per, _, _ = where_time_goes(m2, base2)

    print(f"HTTP over the capOS stack (TCG, virtio-net, QEMU user net; wrk {DURATION}s each)")
    print(f"{'':18}{'1 conn req/s':>14}{f'{MANY} conn req/s':>15}{f'{MANY}/1':>7}  socket errors (1 / {MANY})")
    for label, one, many, e1, emany in rows:
        ratio = many / one if one else 0.0
        print(f"{label:18}{one:>14.0f}{many:>15.0f}{ratio:>7.2f}  {e1} / {emany}")
    print("4 MiB /api/blob MB/s: " + "  ".join(f"{b:.1f}" for b in blobs) +
          f"   best {max(blobs):.1f}")
    print("guest counters: " + " ".join(f"{k}={counters[k]}" for k in
          ("http_requests", "tcp_accepted", "tcp_refused", "tcp_retransmits", "tx_fail",
           "tcp_fast_retransmits", "tcp_timeouts", "arp_drops")))
    print(f"where the time goes (/api/devices, {MANY} conns, {reqs} requests, {rps:.0f} req/s):")
    print("  per request: " + "  ".join(f"{k} {v / reqs:.2f}" for k, v in per.items()))
    total = sum(cpu.values()) or 1.0
    print("  QEMU CPU by thread: " + "  ".join(
        f"{k} {v:.1f}s ({100 * v / total:.0f}%, {1e3 * v / reqs:.2f} ms/req)"
        for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]) if v > 0.05))
    if profile:
        print("  QEMU profile by shared object (perf): " + "  ".join(
            f"{dso} {pct:.0f}%" for pct, dso in profile))
    one_dev = rows[0][1]
    print("virtio-net transmit interrupts, /api/devices req/s "
          f"(suppressed / on, ratio): 1 conn {one_dev:.0f} / {irq_one:.0f} "
          f"{one_dev / irq_one if irq_one else 0:.2f}   {MANY} conns {rps:.0f} / {irq_rps:.0f} "
          f"{rps / irq_rps if irq_rps else 0:.2f}")
    print("  with them on, per request: " +
          "  ".join(f"{k} {v / irq_reqs:.2f}" for k, v in irq_per.items()))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"net bench: FAIL {e}")
        sys.exit(1)
