"""tests/qemu/net_tools.py — host-side helpers for the network proofs and
the HTTP benchmark: Debian packages on demand, a free port, plain HTTP over
a socket (no proxies, no client library surprises), and the abuse traffic.
Everything talks to 127.0.0.1 only and every loop and wait is bounded."""
import errno
import os
import random
import selectors
import shutil
import socket
import subprocess
import time


def ensure_packages(pkgs):
    """Install missing Debian packages when running as root. Returns a list
    of (binary, package) still missing (empty when all are there)."""
    missing = [(b, p) for b, p in pkgs if shutil.which(b) is None]
    if missing and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        names = sorted({p for _, p in missing})
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True,
                       timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", *names], env=env,
                       capture_output=True, timeout=1200)
        missing = [(b, p) for b, p in pkgs if shutil.which(b) is None]
    return missing




def http_get(port, path, timeout=30.0, headers=None):
    """One HTTP/1.1 request with Connection: close. Returns (status,
    headers dict (lower-case keys), body bytes)."""
    req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        req += f"{k}: {v}\r\n"
    req += "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(req.encode())
        data = bytearray()
        end = time.time() + timeout
        while time.time() < end:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, sep, body = bytes(data).partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError(f"GET {path}: no complete response header ({len(data)} bytes)")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def http_get_retry(port, path, total=60.0, timeout=20.0):
    """http_get until it succeeds or `total` seconds pass (the guest may be
    busy timing out abusive connections)."""
    end = time.time() + total
    last = None
    while time.time() < end:
        try:
            return http_get(port, path, timeout=timeout)
        except (OSError, AssertionError, ValueError, IndexError) as e:
            last = e
            time.sleep(1)
    raise AssertionError(f"GET {path} did not succeed within {total}s: {last!r}")


# ---- abuse --------------------------------------------------------------------
def _connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def _drain(s, limit=1 << 20):
    """Read until close, error or limit; returns bytes read."""
    got = 0
    try:
        while got < limit:
            b = s.recv(65536)
            if not b:
                break
            got += len(b)
    except OSError:
        pass
    return got


def abuse_random_bytes(port, conns=20, size=4096, seed=1, seconds=60.0):
    """Connections that send random garbage instead of HTTP, all at once;
    each is then read until the server answers or closes. Returns how many
    got any answer and how many were still open after `seconds`."""
    rng = random.Random(seed)
    sel = selectors.DefaultSelector()
    for _ in range(conns):
        try:
            s = _connect(port)
            s.sendall(bytes(rng.getrandbits(8) for _ in range(size)))
            s.shutdown(socket.SHUT_WR)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, [0])
        except OSError:
            pass
    answered = 0
    end = time.time() + seconds
    while sel.get_map() and time.time() < end:
        for key, _ in sel.select(timeout=1.0):
            try:
                b = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                b = b""
            if b:
                key.data[0] += len(b)
                continue
            sel.unregister(key.fileobj)
            key.fileobj.close()
            answered += key.data[0] > 0
    left = len(sel.get_map())
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return answered, left


def abuse_oversized_headers(port, conns=5, size=256 * 1024):
    """A request line followed by an endless header; the server has to cut
    it off (an error status or a close), not buffer it all."""
    statuses = []
    for i in range(conns):
        try:
            with _connect(port, timeout=30) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
                sent = 0
                try:
                    while sent < size:
                        s.sendall(b"A" * 4096)
                        sent += 4096
                except OSError:
                    pass
                try:
                    first = s.recv(64)
                except OSError:
                    first = b""
                statuses.append(first.split(b"\r\n")[0].decode("latin-1"))
        except OSError as e:
            statuses.append(f"error {e.__class__.__name__}")
    return statuses


def abuse_half_open(port, conns=40):
    """Connections that are opened and never sent anything; returned so the
    caller decides when to close them."""
    socks = []
    for _ in range(conns):
        try:
            socks.append(_connect(port))
        except OSError:
            break
    return socks


def abuse_slow_senders(port, conns=4, seconds=8.0):
    """Send one request a few bytes at a time, spread over `seconds`."""
    req = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    socks = []
    for _ in range(conns):
        try:
            socks.append(_connect(port, timeout=seconds + 30))
        except OSError:
            pass
    step = seconds / max(1, len(req) // 4)
    for i in range(0, len(req), 4):
        for s in socks:
            try:
                s.sendall(req[i:i + 4])
            except OSError:
                pass
        time.sleep(step)
    results = []
    for s in socks:
        try:
            head = s.recv(64)
        except OSError:
            head = b""
        results.append(head.split(b"\r\n")[0].decode("latin-1"))
        s.close()
    return results


def abuse_many_connections(port, conns=500, path="/api/devices", seconds=120.0):
    """`conns` connections started at once (non-blocking connects), each
    sending one request as soon as it is up; all are then read concurrently
    until each has a status line or is closed, or `seconds` pass. Returns
    (opened, answered_200, closed_without_answer, still_open)."""
    req = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    for _ in range(conns):
        s = socket.socket()
        s.setblocking(False)
        if s.connect_ex(("127.0.0.1", port)) not in (0, errno.EINPROGRESS):
            s.close()
            continue
        sel.register(s, selectors.EVENT_WRITE, bytearray())
    opened = ok = dead = 0
    end = time.time() + seconds
    while sel.get_map() and time.time() < end:
        for key, ev in sel.select(timeout=1.0):
            s, buf = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    sel.unregister(s)
                    s.close()
                    continue
                opened += 1
                try:
                    s.send(req)
                except OSError:
                    pass
                sel.modify(s, selectors.EVENT_READ, buf)
                continue
            try:
                chunk = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                chunk = None
            if chunk:
                buf += chunk
                if b"\r\n" not in buf:
                    continue
                if buf.startswith(b"HTTP/1.1 200"):
                    ok += 1
                else:
                    dead += 1
            else:
                dead += 1
            sel.unregister(s)
            s.close()
    left = len(sel.get_map())
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return opened, ok, dead, left


# ---- a second station on the guest's Ethernet segment ------------------------------
def _csum(data):
    """RFC 1071 Internet checksum"""
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def _ip4(a):
    return bytes(int(x) for x in a.split("."))


def _mac(a):
    return bytes.fromhex(a.replace(":", ""))


class L2Peer:
    """A host-side station on the same Ethernet segment as capOS: QEMU's
    dgram netdev on a hub with the NIC carries every frame both ways as one
    UDP datagram. The peer is 10.0.2.99 with a locally administered MAC."""

    MAC = "02:00:00:00:00:99"
    IP = "10.0.2.99"

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.qemu_port = free_port_udp()

    def netdev_args(self, id_):
        return ["-netdev", f"dgram,id={id_},local.type=inet,local.host=127.0.0.1,"
                f"local.port={self.qemu_port},remote.type=inet,"
                f"remote.host=127.0.0.1,remote.port={self.port}"]

    def send(self, frame):
        self.sock.sendto(frame, ("127.0.0.1", self.qemu_port))

    def drain(self):
        self.sock.setblocking(False)
        try:
            while True:
                self.sock.recv(65536)
        except OSError:
            pass
        self.sock.setblocking(True)

    def arp_request(self, target_ip):
        arp = (b"\x00\x01\x08\x00\x06\x04\x00\x01" + _mac(self.MAC) + _ip4(self.IP) +
               b"\0" * 6 + _ip4(target_ip))
        return (b"\xff" * 6 + _mac(self.MAC) + b"\x08\x06" + arp).ljust(60, b"\0")

    def arp_reply(self, to_mac, to_ip):
        arp = (b"\x00\x01\x08\x00\x06\x04\x00\x02" + _mac(self.MAC) + _ip4(self.IP) +
               _mac(to_mac) + _ip4(to_ip))
        return (_mac(to_mac) + _mac(self.MAC) + b"\x08\x06" + arp).ljust(60, b"\0")

    def icmp_echo(self, dst_mac, dst_ip, ident, seq, payload):
        icmp = b"\x08\x00\x00\x00" + ident.to_bytes(2, "big") + seq.to_bytes(2, "big") + payload
        icmp = icmp[:2] + _csum(icmp).to_bytes(2, "big") + icmp[4:]
        hdr = (b"\x45\x00" + (20 + len(icmp)).to_bytes(2, "big") + b"\x12\x34\x00\x00\x40\x01"
               + b"\0\0" + _ip4(self.IP) + _ip4(dst_ip))
        hdr = hdr[:10] + _csum(hdr).to_bytes(2, "big") + hdr[12:]
        return _mac(dst_mac) + _mac(self.MAC) + b"\x08\x00" + hdr + icmp

    def expect(self, match, timeout=20.0, guest_mac=None, guest_ip=None):
        """receive frames until match(frame) is true; answers the guest's ARP
        requests for the peer on the way. Returns the frame or None."""
        end = time.time() + timeout
        while time.time() < end:
            self.sock.settimeout(max(0.05, end - time.time()))
            try:
                f = self.sock.recv(65536)
            except OSError:
                return None
            if (guest_mac and len(f) >= 42 and f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x01"
                    and f[38:42] == _ip4(self.IP)):
                self.send(self.arp_reply(guest_mac, guest_ip))
                continue
            if match(f):
                return f
        return None

    def close(self):
        self.sock.close()


def free_port_udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def l2_arp_and_ping(peer, guest_mac, guest_ip, count=5):
    """ARP for the guest, then ping it; every answer is checked byte by byte
    (checksums recomputed here, independent of tshark). Returns a dict."""
    peer.drain()
    peer.send(peer.arp_request(guest_ip))

    def is_arp_reply(f):
        return (len(f) >= 42 and f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02"
                and f[0:6] == _mac(peer.MAC) and f[28:32] == _ip4(guest_ip))
    f = peer.expect(is_arp_reply, guest_mac=guest_mac, guest_ip=guest_ip)
    assert f is not None, "capOS did not answer an ARP request"
    assert f[22:28] == _mac(guest_mac) and f[6:12] == _mac(guest_mac), f[:42].hex()
    assert f[32:38] == _mac(peer.MAC) and f[38:42] == _ip4(peer.IP), f[:42].hex()
    rtts = []
    for seq in range(count):
        payload = bytes((seq * 7 + i) & 0xff for i in range(56))
        t0 = time.time()
        peer.send(peer.icmp_echo(guest_mac, guest_ip, 0xcafe, seq, payload))

        def is_reply(fr, seq=seq):
            # from capOS's MAC: on the hub QEMU's user network also sees the
            # request and answers on the guest's behalf (TTL 255, its own MAC)
            return (len(fr) >= 42 and fr[6:12] == _mac(guest_mac)
                    and fr[12:14] == b"\x08\x00" and fr[23] == 1
                    and fr[34] == 0 and fr[38:40] == b"\xca\xfe"
                    and int.from_bytes(fr[40:42], "big") == seq)
        r = peer.expect(is_reply, guest_mac=guest_mac, guest_ip=guest_ip)
        assert r is not None, f"no echo reply to seq {seq}"
        ihl = (r[14] & 0xf) * 4
        ip = r[14:14 + ihl]
        total = int.from_bytes(ip[2:4], "big")
        icmp = r[14 + ihl:14 + total]
        assert _csum(ip) == 0, "bad IP header checksum in echo reply"
        assert _csum(icmp) == 0, "bad ICMP checksum in echo reply"
        assert ip[12:16] == _ip4(guest_ip) and ip[16:20] == _ip4(peer.IP)
        assert icmp[8:] == payload, "echo payload differs"
        rtts.append(time.time() - t0)
    return {"arp": "answered", "pings": count, "rtt_ms_max": round(1000 * max(rtts), 1)}


def l2_garbage(peer, frames=300, seed=7, guest_mac=None):
    """Random frames (random length 14..1514, some aimed at the guest's MAC
    and IPv4/ARP ethertypes) onto the segment."""
    rng = random.Random(seed)
    for i in range(frames):
        n = rng.randint(14, 1514)
        f = bytearray(rng.getrandbits(8) for _ in range(n))
        if guest_mac and i % 2:
            f[0:6] = _mac(guest_mac)
            f[12:14] = rng.choice([b"\x08\x00", b"\x08\x06", b"\x86\xdd"])
            if f[12:14] == b"\x08\x00" and n > 34:
                f[14] = 0x45  # plausible IPv4 header, garbage beyond
        peer.send(bytes(f))
        if i % 50 == 49:
            time.sleep(0.05)
    return frames
