#!/usr/bin/env python3
"""tests/qemu/tap_relay.py — a userspace Ethernet relay that impairs a link
reproducibly (this host kernel has no netem qdisc).

One "near" port, a TAP device this process opens (the Linux client's
interface), and one or more "far" ports: another TAP device opened here
(whose interface the harness may move into a second namespace) or an
AF_PACKET socket on an existing interface (QEMU's TAP device: what the relay
sends there reaches the guest, what the guest sends is read here). Frames
from the near port go to the far port that last sent from the destination
MAC (flooded while unknown); frames from a far port go to the near port.

Impairments, per direction, each from its own random.Random(seed) so a run
is reproducible: loss, duplication, reordering (a frame is held back and
sent after the next one, or after 20 ms), delay with jitter (frames leave in
order of their due time, so jitter reorders as netem does), corruption (one
byte of the TCP payload flipped; the checksum then fails), and an IP MTU:
a larger IPv4 frame is dropped and, when it carries DF, answered with ICMP
"fragmentation needed" (RFC 1191) quoting its header. Only TCP frames are
impaired (ARP and DHCP stay reliable, so set-up does not flake); with
spare_syn=1 neither are SYNs (a lost SYN costs the client a 1 s timeout
that would swamp a throughput row).

Control on stdin, one command a line, each answered by one line on stdout:
  set loss=0.01 dup=0 reorder=0 delay_ms=0 jitter_ms=0 corrupt=0 mtu=0 spare_syn=0 seed=1
  stats          -> a JSON object of counters per direction
  quit
It prints "ready <far names>" once every port is open."""
import fcntl
import heapq
import json
import os
import random
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
PACKET_IGNORE_OUTGOING = 23  # Linux 4.20: our own sends are not read back
HOLD_S = 0.020
ROUTER_IP = bytes([10, 77, 0, 254])  # the fictional router that sends ICMP


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class TapPort:
    def __init__(self, name):
        self.name, self.fd = name, open_tap(name)

    def fileno(self):
        return self.fd

    def recv(self):
        try:
            return os.read(self.fd, 65536)
        except BlockingIOError:
            return None

    def send(self, frame):
        try:
            os.write(self.fd, frame)
        except OSError:
            pass


class PacketPort:
    def __init__(self, ifname):
        self.name = ifname
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.s.bind((ifname, 0))
        self.s.setblocking(False)
        try:  # else every frame sent to the guest costs a read and a drop
            self.s.setsockopt(263, PACKET_IGNORE_OUTGOING, 1)  # SOL_PACKET
        except OSError:
            pass

    def fileno(self):
        return self.s.fileno()

    def recv(self):
        while True:
            try:
                data, addr = self.s.recvfrom(65536)
            except BlockingIOError:
                return None
            if addr[2] != PACKET_OUTGOING:  # our own sends show up too
                return data

    def send(self, frame):
        try:
            self.s.send(frame)
        except OSError:
            pass


def csum(b):
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frag_needed(frame, mtu):
    """ICMP type 3 code 4 back to the sender of `frame` (RFC 1191 §4),
    quoting its IP header and 8 bytes; None when no answer is due"""
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    if not (struct.unpack("!H", ip[6:8])[0] & 0x4000):
        return None
    quote = ip[:ihl + 8]
    icmp = struct.pack("!BBHHH", 3, 4, 0, 0, mtu) + quote
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0,
                      ROUTER_IP, ip[12:16])
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return frame[6:12] + frame[0:6] + b"\x08\x00" + hdr + icmp


class Direction:
    KEYS = ("loss", "dup", "reorder", "delay_ms", "jitter_ms", "corrupt", "mtu", "spare_syn")

    def __init__(self, name):
        self.name = name
        self.cfg = {k: 0 for k in self.KEYS}
        self.rng = random.Random(1)
        self.held = None  # (deadline, frame, port)
        self.n = dict.fromkeys(("in", "out", "lost", "dup", "reordered", "corrupt",
                                "too_big", "icmp"), 0)

    def configure(self, cfg, seed):
        self.cfg.update(cfg)
        self.rng = random.Random(f"{seed}-{self.name}")
        self.held = None


class Relay:
    def __init__(self, near, fars):
        self.near, self.fars = near, fars
        self.mac = {}  # mac -> far port
        self.up, self.down = Direction("up"), Direction("down")  # near->far, far->near
        self.q = []  # (due, seq, port, frame)
        self.seq = 0

    @staticmethod
    def is_tcp(frame):
        return len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 6

    @staticmethod
    def is_syn(frame):
        at = 14 + (frame[14] & 15) * 4 + 13
        return len(frame) > at and frame[at] & 0x02

    def emit(self, port, frame, d, now):
        if d.cfg["delay_ms"] or d.cfg["jitter_ms"]:
            j = d.cfg["jitter_ms"]
            delay = max(0.0, d.cfg["delay_ms"] + (d.rng.uniform(-j, j) if j else 0)) / 1e3
            self.seq += 1
            heapq.heappush(self.q, (now + delay, self.seq, port, frame))
        else:
            d.n["out"] += 1
            port.send(frame)

    def impair(self, d, frame, dst, back, now):
        d.n["in"] += 1
        if not self.is_tcp(frame) or (d.cfg["spare_syn"] and self.is_syn(frame)):
            d.n["out"] += 1
            dst.send(frame)
            return
        c, r = d.cfg, d.rng
        if c["mtu"] and len(frame) - 14 > c["mtu"]:
            d.n["too_big"] += 1
            icmp = frag_needed(frame, int(c["mtu"]))
            if icmp:
                d.n["icmp"] += 1
                back.send(icmp)
            return
        if c["loss"] and r.random() < c["loss"]:
            d.n["lost"] += 1
            return
        if c["corrupt"] and r.random() < c["corrupt"]:
            ihl = (frame[14] & 15) * 4
            at = 14 + ihl + 20
            if at < len(frame):
                i = r.randrange(at, len(frame))
                frame = frame[:i] + bytes([frame[i] ^ 0x5A]) + frame[i + 1:]
                d.n["corrupt"] += 1
        copies = 2 if c["dup"] and r.random() < c["dup"] else 1
        d.n["dup"] += copies - 1
        if c["reorder"] and d.held is None and r.random() < c["reorder"]:
            d.n["reordered"] += 1
            d.held = (now + HOLD_S, frame, dst)
            return
        for _ in range(copies):
            self.emit(dst, frame, d, now)
        if d.held is not None:
            _, f, p = d.held
            d.held = None
            self.emit(p, f, d, now)

    def from_near(self, frame, now):
        port = self.mac.get(frame[0:6])
        targets = [port] if port else self.fars
        for p in targets:
            self.impair(self.up, frame, p, self.near, now)

    def from_far(self, port, frame, now):
        self.mac[frame[6:12]] = port
        self.impair(self.down, frame, self.near, port, now)

    def timers(self, now):
        for d in (self.up, self.down):
            if d.held is not None and d.held[0] <= now:
                _, f, p = d.held
                d.held = None
                self.emit(p, f, d, now)
        while self.q and self.q[0][0] <= now:
            _, _, port, frame = heapq.heappop(self.q)
            (self.up if port is not self.near else self.down).n["out"] += 1
            port.send(frame)

    def next_timeout(self, now):
        t = [d.held[0] for d in (self.up, self.down) if d.held is not None]
        if self.q:
            t.append(self.q[0][0])
        return max(0.0, min(t) - now) if t else 0.5

    def command(self, line):
        words = line.split()
        if not words:
            return None
        if words[0] == "set":
            kv = dict(w.split("=", 1) for w in words[1:])
            seed = kv.pop("seed", "1")
            cfg = {k: float(v) for k, v in kv.items() if k in Direction.KEYS}
            for d in (self.up, self.down):
                d.configure(cfg, seed)
            return "ok " + json.dumps(self.up.cfg, sort_keys=True)
        if words[0] == "stats":
            return json.dumps({"up": self.up.n, "down": self.down.n})
        if words[0] == "quit":
            raise SystemExit(0)
        return "error unknown command"

    def run(self):
        by_fd = {self.near.fileno(): self.near}
        for p in self.fars:
            by_fd[p.fileno()] = p
        stdin = sys.stdin.fileno()
        os.set_blocking(stdin, False)
        buf = b""
        rlist = [stdin] + list(by_fd)
        while True:
            now = time.monotonic()
            ready, _, _ = select.select(rlist, [], [], self.next_timeout(now))
            now = time.monotonic()
            for fd in ready:
                if fd == stdin:
                    data = os.read(stdin, 4096)
                    if not data:
                        return
                    buf += data
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        out = self.command(line.decode())
                        if out is not None:
                            print(out, flush=True)
                    continue
                port = by_fd[fd]
                for _ in range(256):
                    frame = port.recv()
                    if frame is None:
                        break
                    if port is self.near:
                        self.from_near(frame, now)
                    else:
                        self.from_far(port, frame, now)
            self.timers(now)


def main(argv):
    near, fars = None, []
    it = iter(argv)
    for a in it:
        if a == "--near-tap":
            near = TapPort(next(it))
        elif a == "--far-tap":
            fars.append(TapPort(next(it)))
        elif a == "--far-packet":
            fars.append(PacketPort(next(it)))
        else:
            print(f"tap_relay: unknown argument {a}", file=sys.stderr)
            return 2
    if near is None or not fars:
        print("usage: tap_relay.py --near-tap NAME (--far-tap NAME | --far-packet IF)...",
              file=sys.stderr)
        return 2
    print("ready " + " ".join(p.name for p in fars), flush=True)
    Relay(near, fars).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
