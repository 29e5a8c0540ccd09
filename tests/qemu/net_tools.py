"""tests/qemu/net_tools.py — host-side helpers for the network proofs and
the HTTP benchmark: Debian packages on demand, a free port, plain HTTP over
a socket (no proxies, no client library surprises), and the abuse traffic.
Everything talks to 127.0.0.1 only and every loop and wait is bounded."""
import os
import random
import selectors
import shutil
import socket
import subprocess
import time

# kernel/net/webui.c webui_blob_fill: a 64-byte period (the C array is
# char[64], so a 63-character text is followed by its NUL)
BLOB_TEXT = b"capOS blob 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLM\n"
BLOB_PATTERN = (BLOB_TEXT + b"\0" * 64)[:64]


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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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


def abuse_random_bytes(port, conns=20, size=4096, seed=1):
    """Connections that send random garbage instead of HTTP."""
    rng = random.Random(seed)
    answered = 0
    for _ in range(conns):
        try:
            with _connect(port) as s:
                s.sendall(bytes(rng.getrandbits(8) for _ in range(size)))
                s.shutdown(socket.SHUT_WR)
                if _drain(s):
                    answered += 1
        except OSError:
            pass
    return answered


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
    """`conns` connections opened at once, each sending one request; then all
    are read concurrently until each has a status line, closed, or time runs
    out. Returns (opened, answered_200, refused_or_reset)."""
    socks = []
    for _ in range(conns):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
            socks.append(s)
        except OSError:
            s.close()
    req = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    for s in socks:
        try:
            s.sendall(req)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, bytearray())
        except OSError:
            s.close()
    ok = dead = 0
    end = time.time() + seconds
    while sel.get_map() and time.time() < end:
        for key, _ in sel.select(timeout=1.0):
            s, buf = key.fileobj, key.data
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
            sel.unregister(s)
            s.close()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return len(socks), ok, dead
