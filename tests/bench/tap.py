"""tests/bench/tap.py — capOS's TCP against Linux's real TCP over a TAP link
(`make bench`).

One lab (tests/qemu/tap_net.py): capOS on QEMU's -netdev tap and a Linux
HTTP server (tests/qemu/tap_peer.py) in a second namespace, both behind the
same impairing relay (tests/qemu/tap_relay.c), the Linux client in a third
place on the same wire. For each link condition the same transfer runs
against capOS and against Linux, every byte checked. The relay spares the
handshake's SYNs (spare_syn=1): a lost SYN costs the client a 1 s timeout
that says nothing about either server's TCP and would swamp a row.

The host is small and shared, so one transfer says little: every row runs
CAPOS_TAP_REPEAT times (default 5) and prints the median. The repetitions
interleave the rows (clean, 1 %, 5 %, ... then again), capOS and Linux
back to back with the same relay seed, so the ratios — capOS as a ratio of
its own clean rate, and of Linux's rate over the same relay — come from
one run under the same host load. Linux runs with its default congestion
control (BBR on this host: it does not back off on random loss) and again
with Reno (RFC 5681, what capOS implements), so the loss rows have a
like-for-like yardstick — and Reno once more with the relay adding the
delay that gives Linux capOS's round trip at 1 % loss (the srtt capOS
reports in /api/net after a calibration download), since a Reno window's
rate at a loss rate is set by the round trip. Each row also prints what recovery it
took, summed over its repetitions: capOS's counters from /api/net (read
with the relay clean), Linux's from the peer namespace's /proc/net/snmp
and netstat, and the CPU seconds per transfer of the QEMU process (its
busiest thread, the vCPU, and all of it), of the relay and of the client
(this process), so a reader sees whether a number came from a clean run
or from timeouts, and where the host's CPU went. Uploads are
5 x 60 KB POSTs to /api/sink (answered with the length and an FNV-1a hash
of what arrived), each with a time limit.

TCP timestamps (RFC 7323): the boot above runs with tcp.ts=1 (Linux's
client offers them, so every connection has them); a second boot with
tcp.ts=0 then runs capOS's download rows again, same seeds and
repetitions, and a last table sets the two side by side (rate, srtt at 1 %,
timeouts, retransmits), so whether timestamps pay is read off one run.
CAPOS_TAP_TS=1 skips the second boot.

Skips (prints why, exit 0) where network namespaces cannot be made."""
import json
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "qemu"))
from tap_net import (PEER_IP, TapLab, download, http_request, upload,  # noqa: E402
                     upload_payload, why_no_lab)

MB = 1 << 20
ROWS = [  # label, relay setting, bytes
    ("clean", "", 8 * MB),
    ("1% loss", "loss=0.01", 8 * MB),
    ("5% loss", "loss=0.05", 8 * MB),
    ("20+-10 ms jitter", "delay_ms=20 jitter_ms=10", 2 * MB),
]
UPLOADS = [("5 x 60 KB, 5% loss", "loss=0.05"), ("5 x 60 KB, 25% reorder", "reorder=0.25")]
UPLOAD_LIMIT = float(os.environ.get("CAPOS_TAP_UPLOAD_LIMIT", "60"))
REPEAT = int(os.environ.get("CAPOS_TAP_REPEAT", "5"))
# handshakes are spared: a lost SYN costs Linux's client a 1 s timeout,
# which would swamp an 8 MB row whichever server it was talking to
RESET = "set loss=0 dup=0 reorder=0 delay_ms=0 jitter_ms=0 spare_syn=1"
# capOS counters a row reports (tcp_ prefix dropped when printed)
CAPOS_KEYS = ("tcp_retransmits", "tcp_fast_retransmits", "tcp_rto_expired",
              "tcp_tlp_probes", "tcp_lost_retransmits", "tcp_undos", "tcp_ooo_queued",
              "tcp_ts_rtt_samples", "tcp_paws_dropped", "tcp_disordered_acks")
TS_COMPARE = os.environ.get("CAPOS_TAP_TS", "both") != "1"
# Linux's: /proc/net/snmp Tcp RetransSegs, /proc/net/netstat TcpExt
LINUX_KEYS = (("Tcp", "RetransSegs", "retransmits"), ("TcpExt", "TCPTimeouts", "rto"),
              ("TcpExt", "TCPLossProbes", "tlp"), ("TcpExt", "TCPSackRecovery", "recoveries"),
              ("TcpExt", "TCPDSACKUndo", "dsack_undos"), ("TcpExt", "TCPPartialUndo", "partial_undos"),
              ("TcpExt", "TCPFullUndo", "full_undos"), ("TcpExt", "TCPLostRetransmit", "lost_retransmits"))


def rate(ip, size, limit=240):
    try:
        return size / download(ip, size, timeout=limit) / 1e6, None
    except Exception as e:  # noqa: BLE001 - a failed transfer is a row, not a crash
        return 0.0, f"{e.__class__.__name__}: {e}"


def handshake_us(ip, n=100):
    """median TCP handshake time (connect() returning), a clean idle
    link: the round trip through the relay without queueing"""
    ts = []
    for _ in range(n):
        with socket.socket() as s:
            t = time.perf_counter()
            s.connect((ip, 80))
            ts.append((time.perf_counter() - t) * 1e6)
        time.sleep(0.002)
    return statistics.median(ts)


def srtt_at_loss(lab, k, ip, n=3):
    """capOS's own smoothed RTT (RFC 6298, as /api/net reports it) at the
    end of an 8 MB download at 1 % loss, the median of n: the round trip a
    loss row runs at"""
    got = []
    for i in range(n):
        before = k.conns()
        lab.relay(f"{RESET} loss=0.01 seed={99 + i}")
        rate(ip, 8 * MB)
        new = [c for p, c in k.conns().items() if p not in before]
        got.append(max((c["srtt_us"] for c in new), default=0))
    return statistics.median(got)


def with_delay(setting, extra_ms):
    """a relay setting with extra_ms more one-way delay"""
    kv = dict(w.split("=", 1) for w in setting.split())
    kv["delay_ms"] = f"{float(kv.get('delay_ms', 0)) + extra_ms:.3f}"
    return " ".join(f"{k}={v}" for k, v in kv.items())


def uploads(ip):
    done, t0, errs = 0, time.monotonic(), []
    for i in range(5):
        try:
            upload(ip, upload_payload(60_000, i), timeout=UPLOAD_LIMIT)
            done += 1
        except Exception as e:  # noqa: BLE001
            errs.append(f"{e.__class__.__name__}: {e}")
    return done, time.monotonic() - t0, errs


class Counters:
    """per-row sums of capOS's and Linux's TCP counters"""

    def __init__(self, lab, ip):
        self.lab, self.ip = lab, ip

    def net(self):
        self.lab.relay(RESET + " seed=1")  # the reading itself must not be lost
        st, _, body, _ = http_request(self.ip, "GET", "/api/net")
        return json.loads(body) if st == 200 else {}

    def capos(self):
        c = self.net().get("counters", {})
        return {k: c.get(k, 0) for k in CAPOS_KEYS}

    def conns(self):
        """capOS's TCP connections by client port"""
        return {c["port"]: c for c in self.net().get("tcp", {}).get("connections", [])}

    def linux(self):
        r = subprocess.run(["ip", "netns", "exec", self.lab.peer_ns, "cat", "/proc/net/snmp",
                            "/proc/net/netstat"], capture_output=True, text=True)
        tables, lines = {}, r.stdout.splitlines()
        for head, vals in zip(lines[0::2], lines[1::2]):
            name, keys = head.split(":", 1)
            tables.setdefault(name, {}).update(zip(keys.split(), vals.split(":", 1)[1].split()))
        return {short: int(tables.get(t, {}).get(k, 0)) for t, k, short in LINUX_KEYS}


def delta(a, b):
    return {k: b[k] - a[k] for k in a}


def add(acc, d):
    for k, v in d.items():
        acc[k] = acc.get(k, 0) + v


def fmt(d):
    return " ".join(f"{k.removeprefix('tcp_')}={v}" for k, v in d.items() if v) or "-"


def peer_cc(lab, name=None):
    """the peer namespace's TCP congestion control (set it when name is
    given; connections accepted afterwards use it)"""
    key = "net.ipv4.tcp_congestion_control"
    if name:
        subprocess.run(["ip", "netns", "exec", lab.peer_ns, "sysctl", "-qw", f"{key}={name}"],
                       check=True)
    r = subprocess.run(["ip", "netns", "exec", lab.peer_ns, "sysctl", "-n", key],
                       capture_output=True, text=True)
    return r.stdout.strip()


def cpu_seconds(pid):
    """(busiest thread, whole process) CPU seconds of a QEMU process: under
    TCG the busiest thread is the vCPU"""
    tick, per = os.sysconf("SC_CLK_TCK"), []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                s = f.read()
            f = s[s.rindex(")") + 2:].split()
            per.append((int(f[11]) + int(f[12])) / tick)
        except OSError:
            pass
    return max(per, default=0.0), sum(per)


def capos_rows(lab, ip):
    """capOS's download rows alone on the machine booted now: per row the
    rates of REPEAT runs and the summed counters; and its srtt at 1 %"""
    k = Counters(lab, ip)
    download(ip, 4096)
    srtt = srtt_at_loss(lab, k, ip)
    rates, cnt = {r[0]: [] for r in ROWS}, {r[0]: {} for r in ROWS}
    for rep in range(REPEAT):
        for label, setting, size in ROWS:
            a = k.capos()
            lab.relay(f"{RESET} {setting} seed={7 + rep}")
            c, _ = rate(ip, size)
            add(cnt[label], delta(a, k.capos()))
            rates[label].append(c)
    ts = k.net().get("tcp", {}).get("timestamps")
    return rates, cnt, srtt, ts


def main():
    why = why_no_lab()
    if why:
        print(f"tap bench: skipped: {why}")
        return 0
    load0 = os.getloadavg()
    with TapLab("bench-tap", with_peer=True) as lab:
        with lab.machine(cmdline="tcp.ts=1") as m:
            ip = lab.wait_lease(m)
            qpid = m.proc.pid  # ip netns exec execs QEMU
            rpid = lab.relay_proc.pid  # and the relay
            # Linux runs three times: its default congestion control (on
            # this host BBR, which does not back off on random loss), Reno,
            # the RFC 5681 algorithm capOS implements, and Reno at capOS's
            # round trip
            cc_default = peer_cc(lab)
            rates = {r[0]: ([], [], [], []) for r in ROWS}
            errs, ccnt, lcnt = {}, {r[0]: {} for r in ROWS}, {r[0]: {} for r in ROWS}
            # CPU seconds: QEMU vCPU, QEMU all, relay, client (this
            # process) during capOS's transfers; relay, client during Linux's
            cpu = {r[0]: [0.0] * 6 for r in ROWS}
            up = []
            with lab.inside():
                download(ip, 4096)  # ARP, connection table warm
                download(PEER_IP, 4096)
                lab.relay(RESET + " seed=1")
                rtt = (handshake_us(ip), handshake_us(PEER_IP))
                k = Counters(lab, ip)
                # Linux Reno once more with capOS's round trip: the relay
                # adds, each way, half of what capOS's RTT at 1 % loss
                # exceeds Linux's idle one (a like-for-like for the loss rows)
                srtt = srtt_at_loss(lab, k, ip)
                extra_ms = max(0.0, (srtt - rtt[1]) / 2e3)
                for rep in range(REPEAT):
                    for label, setting, size in ROWS:
                        cfg = f"{RESET} {setting} seed={7 + rep}"
                        a = k.capos()
                        lab.relay(cfg)
                        c0 = cpu_seconds(qpid) + (cpu_seconds(rpid)[1], time.process_time())
                        c, ce = rate(ip, size)
                        c1 = cpu_seconds(qpid) + (cpu_seconds(rpid)[1], time.process_time())
                        add(ccnt[label], delta(a, k.capos()))
                        for i in range(4):
                            cpu[label][i] += c1[i] - c0[i]
                        a = k.linux()
                        lab.relay(cfg)
                        l0 = (cpu_seconds(rpid)[1], time.process_time())
                        lx, le = rate(PEER_IP, size)
                        l1 = (cpu_seconds(rpid)[1], time.process_time())
                        cpu[label][4] += l1[0] - l0[0]
                        cpu[label][5] += l1[1] - l0[1]
                        add(lcnt[label], delta(a, k.linux()))
                        peer_cc(lab, "reno")
                        lab.relay(cfg)
                        lr, re_ = rate(PEER_IP, size)
                        lab.relay(f"{RESET} {with_delay(setting, extra_ms)} seed={7 + rep}")
                        ld, de = rate(PEER_IP, size)
                        peer_cc(lab, cc_default)
                        rates[label][0].append(c)
                        rates[label][1].append(lx)
                        rates[label][2].append(lr)
                        rates[label][3].append(ld)
                        if ce or le or re_ or de:
                            errs.setdefault(label, ce or le or re_ or de)
                for label, setting in UPLOADS:
                    a = k.capos()
                    lab.relay(f"{RESET} {setting} seed=7")
                    c = uploads(ip)
                    cd = delta(a, k.capos())
                    lab.relay(f"{RESET} {setting} seed=7")
                    lx = uploads(PEER_IP)
                    up.append((label, c, lx, cd))
                lab.relay(RESET + " seed=7")
                ts_on = k.net().get("tcp", {}).get("timestamps")
            stats = lab.relay("stats")
        off = None
        if TS_COMPARE:
            with lab.machine(cmdline="tcp.ts=0") as m:
                ip0 = lab.wait_lease(m)
                with lab.inside():
                    off = capos_rows(lab, ip0)
    load1 = os.getloadavg()
    med = {lab_: tuple(statistics.median(v) for v in r) for lab_, r in rates.items()}
    clean = med["clean"][0] or 1e-9
    clean_d = med["clean"][3] or 1e-9
    print("TCP over a TAP link through the project's relay (capOS under TCG vs Linux; "
          f"median of {REPEAT}, rows interleaved)")
    print(f"{'download':18}{'bytes':>9}{'capOS MB/s':>12}{'x clean':>9}"
          f"{'Linux ' + cc_default:>12}{'capOS/Linux':>13}{'Linux reno':>12}{'capOS/reno':>12}"
          f"{'reno@RTT':>10}{'x clean':>9}  capOS runs (MB/s)")
    for label, _, size in ROWS:
        c, lx, lr, ld = med[label]
        runs = " ".join(f"{x:.1f}" for x in rates[label][0])
        print(f"{label:18}{size:>9}{c:>12.2f}{c / clean:>9.2f}{lx:>12.2f}"
              f"{(c / lx if lx else 0):>13.2f}{lr:>12.2f}{(c / lr if lr else 0):>12.2f}"
              f"{ld:>10.2f}{ld / clean_d:>9.2f}  {runs}"
              + (f"  {errs[label]}" if label in errs else ""))
    print(f"reno@RTT: Linux Reno with {extra_ms * 1e3:.0f} us more delay each way, so its "
          f"round trip is capOS's at 1 % loss ({srtt:.0f} us srtt, /api/net, median of 3) instead of "
          f"{rtt[1]:.0f} us; x clean against its own clean row")
    print(f"recovery, summed over the {REPEAT} runs of a row; host CPU seconds per transfer")
    for label, _, size in ROWS:
        vcpu, qemu, rc, cc, rl, cl = (x / REPEAT for x in cpu[label])
        print(f"  {label:18} capOS: {fmt(ccnt[label])}")
        print(f"  {'':18} Linux ({cc_default}): {fmt(lcnt[label])}")
        print(f"  {'':18} CPU s: capOS run: QEMU vCPU {vcpu:.2f}, QEMU all {qemu:.2f}, "
              f"relay {rc:.2f}, client {cc:.2f}; Linux run: relay {rl:.2f}, client {cl:.2f}")
    print(f"{'upload':28}{'capOS':>16}{'Linux':>16}  capOS counters")
    for label, (cd_, ct, ce), (ld, lt, le), cd in up:
        print(f"{label:28}{f'{cd_}/5 in {ct:.1f} s':>16}{f'{ld}/5 in {lt:.1f} s':>16}  {fmt(cd)}"
              + (f"  {ce[0]}" if ce else ""))
    print(f"idle round trip (median TCP handshake, clean relay): capOS {rtt[0]:.0f} us, "
          f"Linux {rtt[1]:.0f} us")
    if off:
        r0, c0, srtt0, ts_off = off
        print(f"TCP timestamps: the rows above with tcp.ts=1 (/api/net timestamps={ts_on}), "
              f"again on a second boot with tcp.ts=0 (timestamps={ts_off}); median of {REPEAT}")
        print(f"{'download':18}{'ts=1 MB/s':>11}{'ts=0 MB/s':>11}{'1/0':>7}  "
              f"counters ts=1 | ts=0, summed")
        for label, _, _ in ROWS:
            a, b = med[label][0], statistics.median(r0[label])
            print(f"{label:18}{a:>11.2f}{b:>11.2f}{(a / b if b else 0):>7.2f}  "
                  f"{fmt(ccnt[label])} | {fmt(c0[label])}")
        print(f"srtt at 1 % loss (us, median of 3): ts=1 {srtt:.0f}, ts=0 {srtt0:.0f}")
    print(f"relay: {stats}")
    print(f"host: {os.cpu_count()} CPUs, load average {load0[0]:.2f} before, {load1[0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
