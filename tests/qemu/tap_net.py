"""tests/qemu/tap_net.py — capOS on a TAP link in a network namespace of its
own, talking to Linux's real TCP through the project's impairing relay
(tests/qemu/tap_relay.c). Used by tests/qemu/test_tap.py and
tests/bench/tap.py.

    with TapLab("tap") as lab:          # namespaces, TAPs, relay, dnsmasq
        with lab.machine(cmdline="") as m:
            ip = lab.wait_lease(m)
            lab.relay("set loss=0.01 seed=7")
            with lab.inside():          # this thread's sockets live in the lab
                body, secs = download(ip, 1 << 20)

Topology (every name carries the test's pid, every address is 10.77.0.0/24
inside the lab's namespaces, nothing touches the host's own network):

  ns capos-<pid>:  ltap 10.77.0.1 (Linux client, dnsmasq) <-relay-> qtap
                   (QEMU's -netdev tap, no address, ARP off) -> capOS
  ns capos-<pid>-peer (with_peer=True): ptap 10.77.0.2, a Linux HTTP server
                   (tests/qemu/tap_peer.py) on the same relay, for
                   Linux<->Linux numbers over the same wire
  ns capos-<pid>-squat (lab.squatter(ip)): a macvlan of ltap holding `ip`,
                   a second Linux host on the client's side of the relay
                   (its ARP answers reach capOS like the client's)

Everything made is removed on exit: the relay and dnsmasq are stopped,
the namespaces deleted (which deletes their interfaces)."""
import contextlib
import ctypes
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time

from blob import first_difference
from qemu import BUILD, Machine

HERE = os.path.dirname(os.path.abspath(__file__))
RELAY = os.path.join(BUILD, "tools", "tap_relay")  # tests/qemu/tap_relay.c
NET = "10.77.0"
CLIENT_IP, PEER_IP = f"{NET}.1", f"{NET}.2"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def sh(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip() or r.returncode}")
    return r


def why_no_lab():
    """None when namespaces and TAP devices can be made here, else why not"""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "dnsmasq"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"{tool} not installed (apt-get install {'iproute2' if tool == 'ip' else 'dnsmasq-base'})"
    if not os.access(RELAY, os.X_OK):
        return f"{RELAY} not built (make tools)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    name = f"capos-probe-{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode:
        return f"ip netns add failed: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


@contextlib.contextmanager
def netns(name):
    """run this thread (and the processes it starts) inside namespace `name`"""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), f"setns {name}")
        yield
    finally:
        _libc.setns(home, CLONE_NEWNET)
        os.close(fd)
        os.close(home)


class TapMachine(Machine):
    """a Machine whose QEMU runs inside the lab's namespace"""

    def __init__(self, ns, *a, **kw):
        super().__init__(*a, **kw)
        self.ns = ns

    def command(self):
        return ["ip", "netns", "exec", self.ns] + super().command()


class TapLab:
    def __init__(self, name, with_peer=False, dnsmasq_args=()):
        # one lab per xdist worker even when a file's tests are spread
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        self.name = f"{name}-{worker}" if worker else name
        self.ns = f"capos-{os.getpid()}"
        self.peer_ns = f"capos-{os.getpid()}-peer" if with_peer else None
        self.dir = os.path.join(BUILD, "qemu", name + "-lab")
        self.procs = []
        self.relay_proc = None
        self.dnsmasq_args = list(dnsmasq_args)

    # ---- set-up / tear-down ---------------------------------------------------
    def __enter__(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        try:
            self._setup()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _ns(self, *cmd, ns=None):
        return sh("ip", "netns", "exec", ns or self.ns, *cmd)

    def _setup(self):
        sh("ip", "netns", "add", self.ns)
        self._ns("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1",
                 "net.ipv4.ping_group_range=0 2147483647")
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        # QEMU's TAP: persistent, so the relay can open a packet socket on it
        # before QEMU starts; no address and no ARP, so Linux itself never
        # answers the guest on it (everything must cross the relay)
        sh("ip", "-n", self.ns, "tuntap", "add", "qtap", "mode", "tap")
        sh("ip", "-n", self.ns, "link", "set", "qtap", "arp", "off", "up")
        args = [RELAY, "--near-tap", "ltap", "--far-packet", "qtap"]
        if self.peer_ns:
            args += ["--far-tap", "ptap"]
        self.relay_log = open(os.path.join(self.dir, "relay.stderr"), "w")
        self.relay_proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns] + args, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.relay_log, text=True, bufsize=1)
        line = self._relay_line(10)
        if not line.startswith("ready"):
            raise RuntimeError(f"relay did not start: {line!r}")
        sh("ip", "-n", self.ns, "addr", "add", f"{CLIENT_IP}/24", "dev", "ltap")
        sh("ip", "-n", self.ns, "link", "set", "ltap", "up")
        if self.peer_ns:
            sh("ip", "netns", "add", self.peer_ns)
            self._ns("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=self.peer_ns)
            sh("ip", "-n", self.ns, "link", "set", "ptap", "netns", self.peer_ns)
            sh("ip", "-n", self.peer_ns, "link", "set", "lo", "up")
            sh("ip", "-n", self.peer_ns, "addr", "add", f"{PEER_IP}/24", "dev", "ptap")
            sh("ip", "-n", self.peer_ns, "link", "set", "ptap", "up")
            self._spawn("peer", ["ip", "netns", "exec", self.peer_ns, sys.executable,
                                 os.path.join(HERE, "tap_peer.py"), PEER_IP, "80"])
        dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        self._spawn("dnsmasq", [
            "ip", "netns", "exec", self.ns, dnsmasq, "--keep-in-foreground",
            "--conf-file=/dev/null", "--port=0", "--interface=ltap", "--bind-interfaces",
            "--except-interface=lo", f"--dhcp-range={NET}.10,{NET}.20,255.255.255.0,1h",
            f"--dhcp-option=3,{CLIENT_IP}", "--log-dhcp",
            # no ping before an offer: its unanswered ARP would leave the
            # neighbour entry FAILED, and the first connection after the
            # lease would fail at once with "no route to host"
            "--no-ping",
            f"--log-facility={self.dir}/dnsmasq.log",
            f"--dhcp-leasefile={self.dir}/dnsmasq.leases",
            f"--pid-file={self.dir}/dnsmasq.pid"] + self.dnsmasq_args)

    def _spawn(self, name, cmd):
        log = open(os.path.join(self.dir, name + ".log"), "a")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.procs.append(p)
        return p

    def __exit__(self, *exc):
        if self.relay_proc:
            try:
                self.relay_proc.stdin.write("quit\n")
                self.relay_proc.stdin.flush()
                self.relay_proc.wait(5)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.relay_proc.kill()
                self.relay_proc.wait()
            self.relay_log.close()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in (self.peer_ns, self.ns):
            if ns:
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    @contextlib.contextmanager
    def squatter(self, ip):
        """a second host on the link holding `ip`: a macvlan of ltap (a MAC of
        its own) in a namespace of its own, so Linux answers ARP for `ip`
        there; yields its MAC"""
        ns = f"{self.ns}-squat"
        sh("ip", "netns", "add", ns)
        try:
            sh("ip", "-n", self.ns, "link", "add", "squat", "link", "ltap",
               "type", "macvlan", "mode", "bridge")
            sh("ip", "-n", self.ns, "link", "set", "squat", "netns", ns)
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "squat")
            sh("ip", "-n", ns, "link", "set", "squat", "up")
            r = sh("ip", "-n", ns, "-o", "link", "show", "squat")
            yield re.search(r"link/ether (\S+)", r.stdout).group(1)
        finally:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    # ---- the relay --------------------------------------------------------------
    def _relay_line(self, timeout):
        r, _, _ = select.select([self.relay_proc.stdout], [], [], timeout)
        if not r:
            raise RuntimeError("relay: no answer")
        return self.relay_proc.stdout.readline().strip()

    def relay(self, command):
        self.relay_proc.stdin.write(command + "\n")
        self.relay_proc.stdin.flush()
        return self._relay_line(10)

    # ---- capOS ------------------------------------------------------------------
    def machine(self, cmdline="", name=None, timeout=300, mem="256M"):
        devices = ["-netdev", "tap,id=n0,ifname=qtap,script=no,downscript=no,vnet_hdr=off",
                   "-device", "virtio-net-pci,netdev=n0,disable-legacy=on"]
        return TapMachine(self.ns, name or self.name, devices=devices, cmdline=cmdline,
                          timeout=timeout, mem=mem)

    def wait_lease(self, m, timeout=180):
        mt = m.wait_for(r"^vnet0: address (\S+) mask \S+ gateway \S+ \(dhcp\)", timeout)
        # whatever the link learnt before the address existed is stale
        subprocess.run(["ip", "-n", self.ns, "neigh", "flush", "dev", "ltap"],
                       capture_output=True)
        return mt.group(1)

    def inside(self, peer=False):
        return netns(self.peer_ns if peer else self.ns)


# ---- clients (call inside lab.inside()) -----------------------------------------
def http_request(ip, method, path, body=b"", timeout=120.0, port=80):
    """one request on a new connection; returns (status, headers, body, seconds)"""
    t0 = time.monotonic()
    with socket.create_connection((ip, port), timeout=timeout) as s:
        s.settimeout(timeout)
        req = (f"{method} {path} HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode()
        s.sendall(req + body)
        data = bytearray()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    secs = time.monotonic() - t0
    head, sep, rest = bytes(data).partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError(f"{method} {path}: no response header ({len(data)} bytes)")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {k.strip().lower(): v.strip() for k, _, v in
            (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), hdrs, rest, secs


def download(ip, size, timeout=300.0):
    """GET /api/blob of `size` bytes; checks every byte; returns seconds"""
    st, hdrs, body, secs = http_request(ip, "GET", f"/api/blob?size={size}", timeout=timeout)
    assert st == 200, f"blob: status {st}"
    assert len(body) == size, f"blob: {len(body)} of {size} bytes"
    bad = first_difference(body)
    if bad is not None:
        raise AssertionError(f"blob: byte {bad} differs")
    return secs


def fnv1a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def upload(ip, data, timeout=300.0):
    """POST `data` to /api/sink, which answers "<length> <fnv1a32 hex>";
    checks both; returns seconds"""
    st, _, body, secs = http_request(ip, "POST", "/api/sink", data, timeout=timeout)
    assert st == 200, f"sink: status {st} {body[:80]!r}"
    want = f"{len(data)} {fnv1a(data):08x}"
    assert body.decode().strip() == want, f"sink: {body!r}, want {want}"
    return secs


def upload_payload(n, seed):
    import random
    return random.Random(seed).randbytes(n)


def tcp_info_retrans(sock):
    """tcpi_total_retrans of a Linux socket (struct tcp_info offset 100)"""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return int.from_bytes(raw[100:104], "little")


def parse_kv(line):
    return dict(re.findall(r"(\w+)=(\S+)", line))


# ---- crafted segments (scapy builds and parses; the socket is our own) ------------
class RawPeer:
    """a station of our own on the lab's wire (10.77.0.3, a MAC of its own):
    frames go out through an AF_PACKET socket on ltap, so they cross the
    relay like any other; it answers ARP for its address. Linux ignores its
    traffic (not its address, not its MAC), so no RST from the host."""
    IP, MAC = f"{NET}.3", "02:00:00:77:00:03"

    def __init__(self, lab, target):
        from scapy.all import ARP, IP, TCP, Ether  # noqa: F401 - imported for the methods
        self.sc = __import__("scapy.all", fromlist=["*"])
        with lab.inside():
            self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            self.s.bind(("ltap", 0))
        self.s.settimeout(0.2)
        self.target, self.tmac = target, None

    def close(self):
        self.s.close()

    def _frames(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                data, addr = self.s.recvfrom(65536)
            except socket.timeout:
                continue
            if addr[2] == 4:  # our own transmissions
                continue
            e = self.sc.Ether(data)
            if e.haslayer(self.sc.ARP) and e[self.sc.ARP].op == 1 and \
                    e[self.sc.ARP].pdst == self.IP:
                a = e[self.sc.ARP]
                self.raw(self.sc.Ether(src=self.MAC, dst=a.hwsrc) / self.sc.ARP(
                    op=2, hwsrc=self.MAC, psrc=self.IP, hwdst=a.hwsrc, pdst=a.psrc))
                continue
            yield e

    def raw(self, frame):
        self.s.send(bytes(frame))

    def resolve(self, timeout=10):
        for _ in range(5):
            self.raw(self.sc.Ether(src=self.MAC, dst="ff:ff:ff:ff:ff:ff") / self.sc.ARP(
                op=1, hwsrc=self.MAC, psrc=self.IP, pdst=self.target))
            for e in self._frames(2):
                if e.haslayer(self.sc.ARP) and e[self.sc.ARP].op == 2 and \
                        e[self.sc.ARP].psrc == self.target:
                    self.tmac = e[self.sc.ARP].hwsrc
                    return self.tmac
        raise AssertionError("capOS did not answer ARP")

    def send(self, l4):
        self.raw(self.sc.Ether(src=self.MAC, dst=self.tmac) /
                 self.sc.IP(src=self.IP, dst=self.target) / l4)

    def tcp_in(self, sport, timeout=5.0, want=lambda t: True):
        """the next TCP segment from capOS to `sport` that `want` accepts"""
        for e in self._frames(timeout):
            if e.haslayer(self.sc.TCP) and e[self.sc.IP].src == self.target and \
                    e[self.sc.TCP].dport == sport and want(e[self.sc.TCP]):
                return e[self.sc.TCP]
        return None

    def connect(self, sport, options=(("MSS", 1460),)):
        """three-way handshake; returns (our next seq, capOS's next seq, SYN-ACK)"""
        TCP = self.sc.TCP
        self.send(TCP(sport=sport, dport=80, flags="S", seq=1000, options=list(options),
                      window=65535))
        sa = self.tcp_in(sport, want=lambda t: t.flags == "SA")
        assert sa is not None, "no SYN-ACK"
        self.send(TCP(sport=sport, dport=80, flags="A", seq=1001, ack=sa.seq + 1,
                      window=65535))
        return 1001, sa.seq + 1, sa
