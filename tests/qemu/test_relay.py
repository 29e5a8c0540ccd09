"""tests/qemu/test_relay.py — the TAP lab's impairing relay
(tests/qemu/tap_relay.c) on its own: every number the TAP tests and
`make bench` report goes through it, so each impairment is checked against
what arrives on the other side.

A namespace of its own holds the relay between two TAP devices (near: rn,
far: rf); the test sends Ethernet frames into one with a packet socket and
reads what comes out of the other. Frames carry their number in the IPv4
identification field. No QEMU boot."""
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

import pytest

from net_tools import _csum as csum  # RFC 1071
from tap_net import RELAY, netns, sh, why_no_lab

WHY = why_no_lab()
pytestmark = pytest.mark.skipif(WHY is not None, reason=f"no TAP lab: {WHY}")
NEAR_MAC, FAR_MAC = bytes.fromhex("02aa00000001"), bytes.fromhex("02aa00000002")
SRC_IP, DST_IP = bytes([10, 99, 0, 1]), bytes([10, 99, 0, 2])
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
CLEAN = "set loss=0 dup=0 reorder=0 delay_ms=0 jitter_ms=0 corrupt=0 mtu=0 spare_syn=0"


def frame(n, proto=6, size=200, df=True, syn=False, dst=FAR_MAC, src=NEAR_MAC):
    """an IPv4 frame numbered n (identification field) of `size` bytes"""
    l4 = struct.pack("!HHIIBBHHH", 4000, 80, n, 0, 5 << 4, 0x02 if syn else 0x10,
                     65535, 0, 0) if proto == 6 else struct.pack("!HHHH", 4000, 80, 8, 0)
    l4 += bytes((n + i) & 0xFF for i in range(size - 14 - 20 - len(l4)))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), n & 0xFFFF,
                     0x4000 if df else 0, 64, proto, 0, SRC_IP, DST_IP)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst + src + b"\x08\x00" + ip + l4


def ident(f):
    return struct.unpack("!H", f[18:20])[0]


class Relay:
    def __init__(self):
        self.ns = f"capos-relay-{os.getpid()}"
        sh("ip", "netns", "add", self.ns)
        sh("ip", "netns", "exec", self.ns, "sysctl", "-qw",
           "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, RELAY, "--near-tap", "rn", "--far-tap", "rf"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self.line().startswith("ready rf")
        self.sock = {}
        for name in ("rn", "rf"):
            sh("ip", "-n", self.ns, "link", "set", name, "arp", "off", "up")
            with netns(self.ns):
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
                s.bind((name, 0))
            s.setblocking(False)
            self.sock[name] = s

    def line(self):
        r, _, _ = select.select([self.proc.stdout], [], [], 10)
        assert r, "relay: no answer"
        return self.proc.stdout.readline().strip()

    def cmd(self, c):
        self.proc.stdin.write(c + "\n")
        self.proc.stdin.flush()
        return self.line()

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(5)
        for s in self.sock.values():
            s.close()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)

    def drain(self, name, quiet=0.3):
        """(arrival time, frame) of our frames arriving on `name` until
        nothing came for `quiet` seconds"""
        s, got = self.sock[name], []
        while True:
            r, _, _ = select.select([s], [], [], quiet)
            if not r:
                return got
            while True:
                try:
                    data, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] != PACKET_OUTGOING and len(data) >= 34 and \
                        data[12:14] == b"\x08\x00" and data[26:30] in (SRC_IP, bytes([10, 77, 0, 254])):
                    got.append((time.monotonic(), data))

    def send(self, frames, gap=0.0):
        for f in frames:
            self.sock["rn"].send(f)
            if gap:
                time.sleep(gap)
        return time.monotonic()

    def stats(self):
        return json.loads(self.cmd("stats"))


@pytest.fixture(scope="module")
def relay():
    r = Relay()
    yield r
    r.close()


def through(relay, setting, frames, gap=0.0002):
    """frames sent near -> far under `setting`; what arrived, and the
    relay's counter deltas for that direction"""
    assert relay.cmd(f"{CLEAN} {setting}").startswith("ok {")
    before = relay.stats()["up"]
    relay.drain("rf", quiet=0.05)
    relay.send(frames, gap)
    got = [f for _, f in relay.drain("rf")]
    after = relay.stats()["up"]
    return got, {k: after[k] - before[k] for k in after}


def test_relay_loss_is_seeded_and_near_its_rate(relay):
    frames = [frame(n) for n in range(2000)]
    a, d = through(relay, "loss=0.1 seed=3", frames)
    b, _ = through(relay, "loss=0.1 seed=3", frames)
    c, _ = through(relay, "loss=0.1 seed=4", frames)
    lost = 2000 - len(a)
    assert 140 <= lost <= 260, (lost, d)  # 10 % of 2000, binomial sd 13
    assert d["lost"] == lost and d["out"] == len(a) and d["send_failed"] == 0
    assert [ident(f) for f in a] == [ident(f) for f in b]  # same seed, same drops
    assert [ident(f) for f in a] != [ident(f) for f in c]
    assert all(f == frames[ident(f)] for f in a)  # unchanged, in order
    assert [ident(f) for f in a] == sorted(ident(f) for f in a)


def test_relay_spares_non_tcp_and_syns(relay):
    udp = [frame(n, proto=17) for n in range(50)]
    got, _ = through(relay, "loss=1", udp)
    assert len(got) == 50
    syns = [frame(n, syn=n % 2 == 0) for n in range(50)]
    got, _ = through(relay, "loss=1 spare_syn=1", syns)
    assert sorted(ident(f) for f in got) == list(range(0, 50, 2))


def test_relay_duplicates_and_corrupts(relay):
    frames = [frame(n) for n in range(100)]
    got, d = through(relay, "dup=1", frames)
    assert len(got) == 200 and d["dup"] == 100
    got, d = through(relay, "corrupt=1", frames)
    assert len(got) == 100 and d["corrupt"] == 100
    for f in got:
        diff = [i for i in range(len(f)) if f[i] != frames[ident(f)][i]]
        assert len(diff) == 1 and diff[0] >= 14 + 20 + 20, diff  # one payload byte


def test_relay_reorders_and_delays(relay):
    frames = [frame(n) for n in range(200)]
    got, d = through(relay, "reorder=0.2 seed=5", frames)
    order = [ident(f) for f in got]
    assert sorted(order) == list(range(200)) and d["reordered"] > 10
    assert order != sorted(order)
    assert relay.cmd(f"{CLEAN} delay_ms=30").startswith("ok")
    relay.drain("rf", quiet=0.05)
    t0 = time.monotonic()
    relay.send(frames[:5])
    got = relay.drain("rf")
    assert len(got) == 5 and all(t - t0 >= 0.028 for t, _ in got)
    got, _ = through(relay, "delay_ms=10 jitter_ms=8 seed=2", frames, gap=0.001)
    order = [ident(f) for f in got]
    assert sorted(order) == list(range(200)) and order != sorted(order)


def test_relay_rfc1191_frag_needed(relay):
    assert relay.cmd(f"{CLEAN} mtu=1400").startswith("ok")
    relay.drain("rn", quiet=0.05)
    relay.drain("rf", quiet=0.05)
    big, big_nodf, small = frame(1, size=1514), frame(2, size=1514, df=False), frame(3, size=1414)
    relay.send([big, big_nodf, small])
    far = [f for _, f in relay.drain("rf")]
    back = [f for _, f in relay.drain("rn")]
    assert [ident(f) for f in far] == [3]  # 1400 bytes of IP pass
    assert len(back) == 1  # only the DF frame is answered
    f = back[0]
    assert f[0:6] == NEAR_MAC and f[6:12] == FAR_MAC
    ip, icmp = f[14:34], f[34:]
    assert ip[9] == 1 and ip[12:16] == bytes([10, 77, 0, 254]) and ip[16:20] == SRC_IP
    assert csum(ip) == 0 and csum(icmp[:struct.unpack("!H", ip[2:4])[0] - 20]) == 0
    assert icmp[0] == 3 and icmp[1] == 4 and struct.unpack("!H", icmp[6:8])[0] == 1400
    assert icmp[8:8 + 28] == big[14:14 + 28]  # its header and 8 bytes
    s = relay.stats()["up"]
    assert s["too_big"] >= 2 and s["icmp"] >= 1


def test_relay_commands(relay):
    assert relay.cmd("bogus") == "error unknown command"
    ok = relay.cmd("set loss=0.25 mtu=1300 seed=x")
    cfg = json.loads(ok[3:])
    assert cfg["loss"] == 0.25 and cfg["mtu"] == 1300 and cfg["dup"] == 0
    st = relay.stats()
    assert set(st) == {"up", "down"} and "queue_full" in st["up"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
