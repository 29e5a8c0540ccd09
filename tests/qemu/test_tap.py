"""tests/qemu/test_tap.py — capOS's TCP/IP against Linux's real TCP over a
TAP link (issue 15).

One lab for the module (tests/qemu/tap_net.py): a network namespace of its
own with QEMU's -netdev tap, Debian's dnsmasq answering DHCP only on the
lab's link, and the project's relay (tests/qemu/tap_relay.c) between
capOS and the Linux client, impairing the link reproducibly (seeded loss,
reordering, duplication, jitter, corruption, an MTU) since this host kernel
has no netem. One boot of capOS serves every test. Every transfer is
checked byte for byte: downloads against the blob pattern, uploads by the
length and FNV-1a hash /api/sink answers. Crafted segments come from a
station of the test's own (scapy builds and parses them) and carry the RFC
section in the test's name. Skips, saying why, only where namespaces
cannot be made."""
import json
import os
import re
import subprocess
import time

import pytest

from blob import blob_bytes
from tap_net import (CLIENT_IP, RawPeer, TapLab, download, http_request,
                     upload, upload_payload, why_no_lab)

WHY = why_no_lab()
pytestmark = pytest.mark.skipif(WHY is not None, reason=f"no TAP lab: {WHY}")
MAC = "52:54:00:12:34:56"  # QEMU's default for the first NIC
CLEAN = "set loss=0 dup=0 reorder=0 delay_ms=0 jitter_ms=0 corrupt=0 mtu=0 seed=1"


@pytest.fixture(scope="module")
def lab():
    try:
        import scapy.all  # noqa: F401
    except ImportError:
        pytest.skip("python3-scapy not installed (make deps)")
    # httpd.stall_s=600 (proof image): HTTP's 60 s stall reset would end a
    # zero window before TCP's own bound, which a test below watches;
    # tcp.ts=1 whatever the default, for the timestamps test
    with TapLab("tap") as lab:
        with lab.machine(cmdline="httpd.stall_s=600 tcp.ts=1") as m:
            lab.m = m
            lab.ip = lab.wait_lease(m)
            yield lab


@pytest.fixture
def clean(lab):
    lab.relay(CLEAN)
    yield lab
    lab.relay(CLEAN)


def test_tap_rfc2131_s3_1_address_in_use_declined():
    """dnsmasq would give capOS 10.77.0.13 (a dhcp-host entry for its MAC),
    which a second Linux host on the link already holds: capOS's ARP probe
    finds it, capOS logs the holder's MAC and sends a DHCPDECLINE (dnsmasq
    logs it), and 10 s later takes another address, which curl reaches.
    A lab of its own, first in the file: the module's lab (same namespace
    name) only starts with the first test that uses it."""
    taken = "10.77.0.13"
    with TapLab("tap-decline", dnsmasq_args=[f"--dhcp-host={MAC},{taken}"]) as lab:
        with lab.squatter(taken) as holder, lab.machine() as m:
            mt = m.wait_for(r"^vnet0: dhcp: (\S+) is in use by (\S+); declining it", 120)
            assert mt.group(1) == taken and mt.group(2) == holder, mt.group(0)
            ip = lab.wait_lease(m, timeout=60)
            assert ip != taken and ip.startswith("10.77.0."), ip
            with open(os.path.join(lab.dir, "dnsmasq.log")) as f:
                log = f.read()
            assert re.search(rf"DHCPDECLINE\(ltap\) {re.escape(taken)} {MAC} "
                             rf"address in use by {holder}", log), log
            assert f"DHCPACK(ltap) {ip} {MAC}" in log, log
            assert f"address {taken} " not in m.log, "bound the address in use"
            with lab.inside():
                r = subprocess.run(["curl", "-sS", "--max-time", "30", "-o", "/dev/null",
                                    "-w", "%{http_code}", f"http://{ip}/api/net"],
                                   capture_output=True, text=True, timeout=60)
            assert r.stdout == "200", r.stderr


def test_tap_dhcp_lease_from_dnsmasq(lab):
    a, b, c, d = map(int, lab.ip.split("."))
    assert (a, b, c) == (10, 77, 0) and 10 <= d <= 20, lab.ip
    with open(os.path.join(lab.dir, "dnsmasq.leases")) as f:
        leases = f.read()
    assert "52:54:00:12:34:56" in leases and lab.ip in leases, leases


def test_tap_download_clean_curl(clean):
    lab = clean
    out = os.path.join(lab.dir, "curl.bin")
    with lab.inside():
        r = subprocess.run(["curl", "-sS", "--max-time", "120", "-o", out, "-w",
                            "%{http_code}", f"http://{lab.ip}/api/blob?size=4194304"],
                           capture_output=True, text=True, timeout=150)
    assert r.stdout == "200", r.stderr
    with open(out, "rb") as f:
        assert f.read() == blob_bytes(4 << 20)


IMPAIRMENTS = [
    ("loss1", "loss=0.01"),
    ("loss5", "loss=0.05"),
    ("dup5", "dup=0.05"),
    ("reorder25", "reorder=0.25"),
    ("jitter", "delay_ms=5 jitter_ms=4"),
    ("corrupt2", "corrupt=0.02"),
    ("mix", "loss=0.02 dup=0.02 reorder=0.1 corrupt=0.01"),
]


@pytest.mark.parametrize("name,setting", IMPAIRMENTS, ids=[i[0] for i in IMPAIRMENTS])
def test_tap_transfers_under_impairment(clean, name, setting):
    lab = clean
    lab.relay(f"{CLEAN} {setting} seed=11")
    with lab.inside():
        download(lab.ip, 1 << 20, timeout=120)
        for i in range(3):
            upload(lab.ip, upload_payload(60_000, i), timeout=60)
    assert "PANIC" not in lab.m.log and "exception" not in lab.m.log.lower()


def test_tap_rfc1191_path_mtu_1400(clean):
    """the relay drops frames over 1400 bytes of IP and answers with ICMP
    "fragmentation needed"; capOS shrinks its segments and the transfer
    completes"""
    lab = clean
    lab.relay(f"{CLEAN} mtu=1400")
    with lab.inside():
        download(lab.ip, 1 << 20, timeout=60)
    assert re.search(r"tcp: path MTU to 10\.77\.0\.1 is 1400: MSS 1460 -> 1360", lab.m.log)
    stats = json.loads(lab.relay("stats"))
    assert stats["down"]["icmp"] > 0


def _counters(lab):
    with lab.inside():
        st, _, body, _ = http_request(lab.ip, "GET", "/api/net")
    assert st == 200
    return json.loads(body)["counters"]


def test_rfc5927_s4_1_frag_needed_for_no_flow_ignored(raw, lab):
    """an ICMP "fragmentation needed" whose quoted segment is no connection
    of capOS's changes nothing"""
    sc = raw.sc
    before = _counters(lab)["tcp_pmtu_ignored"]
    quote = bytes(sc.IP(src=raw.target, dst=raw.IP, proto=6, len=1500) /
                  sc.TCP(sport=80, dport=45555, seq=12345))[:28]
    raw.send(sc.ICMP(type=3, code=4, nexthopmtu=600) / sc.Raw(quote))
    time.sleep(1)
    assert _counters(lab)["tcp_pmtu_ignored"] == before + 1


# ---- crafted segments -------------------------------------------------------------
@pytest.fixture
def raw(clean):
    p = RawPeer(clean, clean.ip)
    p.resolve()
    yield p
    p.close()


def _rst(raw, sport, seq):
    raw.send(raw.sc.TCP(sport=sport, dport=80, flags="R", seq=seq))


def test_rfc5961_s3_2_rst_in_window_gets_challenge_ack(raw):
    TCP = raw.sc.TCP
    seq, ack, _ = raw.connect(41001)
    raw.send(TCP(sport=41001, dport=80, flags="R", seq=seq + 100))  # in window, not exact
    ch = raw.tcp_in(41001)
    assert ch is not None and ch.flags == "A" and ch.ack == seq, "no challenge ACK"
    raw.send(TCP(sport=41001, dport=80, flags="R", seq=seq + 10_000_000))  # outside
    assert raw.tcp_in(41001, timeout=1.5) is None, "answered an out-of-window RST"
    # the connection survived both: a request is still served
    raw.send(TCP(sport=41001, dport=80, flags="PA", seq=seq, ack=ack) /
             b"GET /api/blob?size=10 HTTP/1.1\r\nHost: x\r\n\r\n")
    d = raw.tcp_in(41001, want=lambda t: len(t.payload) > 0)
    assert d is not None and b"200 OK" in bytes(d.payload)
    _rst(raw, 41001, seq + 44)


def test_rfc5961_s4_2_syn_on_established_gets_challenge_ack(raw):
    TCP = raw.sc.TCP
    seq, ack, _ = raw.connect(41002)
    raw.send(TCP(sport=41002, dport=80, flags="S", seq=seq + 5, options=[("MSS", 1460)]))
    ch = raw.tcp_in(41002)
    assert ch is not None and ch.flags == "A" and ch.ack == seq and ch.seq == ack
    _rst(raw, 41002, seq)


def test_rfc5961_s5_2_ack_of_unsent_data_dropped_and_acked(raw):
    TCP = raw.sc.TCP
    seq, ack, _ = raw.connect(41003)
    req = b"GET /api/blob?size=10 HTTP/1.1\r\nHost: x\r\n\r\n"
    raw.send(TCP(sport=41003, dport=80, flags="PA", seq=seq, ack=ack + 50_000) / req)
    a = raw.tcp_in(41003)
    assert a is not None and a.flags == "A" and a.ack == seq, f"data taken: {a!r}"
    assert raw.tcp_in(41003, timeout=1.5) is None, "a response to a dropped segment"
    raw.send(TCP(sport=41003, dport=80, flags="PA", seq=seq, ack=ack) / req)
    d = raw.tcp_in(41003, want=lambda t: len(t.payload) > 0)
    assert d is not None and b"200 OK" in bytes(d.payload)
    _rst(raw, 41003, seq + len(req))


def _fetch(raw, sport, seq, ack, size, limit=30.0):
    """GET the blob, ACK in order; returns (body, largest payload seen)"""
    TCP = raw.sc.TCP
    req = f"GET /api/blob?size={size} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    raw.send(TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack, window=65535) / req)
    seq += len(req)
    data, biggest, end = bytearray(), 0, time.monotonic() + limit
    while time.monotonic() < end:
        t = raw.tcp_in(sport, timeout=1.0)
        if t is None:
            continue
        n = len(bytes(t.payload))
        biggest = max(biggest, n)
        if t.seq == ack and n:
            data += bytes(t.payload)
            ack += n
        if "F" in t.flags and t.seq + n == ack:
            ack += 1
            raw.send(TCP(sport=sport, dport=80, flags="A", seq=seq, ack=ack, window=65535))
            break
        raw.send(TCP(sport=sport, dport=80, flags="A", seq=seq, ack=ack, window=65535))
    _rst(raw, sport, seq)
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    return body, biggest


def test_rfc9293_s3_7_1_peer_mss_below_256_honoured(raw):
    seq, ack, _ = raw.connect(41004, options=[("MSS", 100)])
    body, biggest = _fetch(raw, 41004, seq, ack, 3000)
    assert body == blob_bytes(3000)
    assert biggest == 100, f"largest segment {biggest} bytes, peer MSS 100"


def test_rfc9293_s3_7_1_tiny_mss_clamped_and_logged(raw, lab):
    seq, ack, _ = raw.connect(41005, options=[("MSS", 20)])
    body, biggest = _fetch(raw, 41005, seq, ack, 1000)
    assert body == blob_bytes(1000)
    assert biggest == 64, biggest  # TCP_MSS_MIN
    assert re.search(r"tcp: peer 10\.77\.0\.3:41005 MSS 20 below 64, using 64", lab.m.log)


def test_rfc7323_s2_2_wscale_and_rfc2018_s2_sack_permitted(raw):
    _, _, sa = raw.connect(41006, options=[("MSS", 1460), ("WScale", 7), ("SAckOK", b"")])
    opts = dict((k, v) for k, v in sa.options)
    assert opts.get("WScale") == 1 and "SAckOK" in opts, sa.options
    _, _, sb = raw.connect(41007, options=[("MSS", 1460)])
    names = [k for k, _ in sb.options]
    assert "WScale" not in names and "SAckOK" not in names, sb.options
    # RFC 7323 §3.2: no TSopt on a SYN-ACK whose SYN had none
    assert "Timestamp" not in dict(sa.options) and "Timestamp" not in names
    _rst(raw, 41006, 1001)
    _rst(raw, 41007, 1001)


def test_rfc7323_s3_2_tsecr_echoed_s5_3_paws_old_segment_acked(raw):
    """a SYN with TSopt gets one back echoing its TSval; a request whose
    TSval is older than TS.Recent is dropped and answered by an ACK that
    echoes TS.Recent (PAWS, §5.3 R1); sent again with a newer TSval it is
    served, the response echoing that one"""
    TCP = raw.sc.TCP
    sport, req = 41020, b"GET /api/blob?size=10 HTTP/1.1\r\nHost: x\r\n\r\n"
    raw.send(TCP(sport=sport, dport=80, flags="S", seq=1000, window=65535,
                 options=[("MSS", 1460), ("Timestamp", (1000, 0))]))
    sa = raw.tcp_in(sport, want=lambda t: t.flags == "SA")
    assert sa is not None, "no SYN-ACK"
    ts = dict(sa.options).get("Timestamp")
    assert ts is not None and ts[1] == 1000, sa.options
    seq, ack = 1001, sa.seq + 1

    def seg(flags, tsval, data=b""):
        raw.send(TCP(sport=sport, dport=80, flags=flags, seq=seq, ack=ack, window=65535,
                     options=[("Timestamp", (tsval, ts[0]))]) / data)

    seg("A", 1001)
    seg("PA", 900, req)  # older than TS.Recent (1001)
    a = raw.tcp_in(sport)
    assert a is not None and a.flags == "A" and a.ack == seq and _seg_len(a) == 0, a
    assert dict(a.options).get("Timestamp", (0, 0))[1] == 1001, a.options
    assert raw.tcp_in(sport, timeout=1.5) is None, "a response to a PAWS-dropped request"
    seg("PA", 1002, req)
    d = raw.tcp_in(sport, want=lambda t: _seg_len(t) > 0)
    assert d is not None and b"200 OK" in bytes(d.payload) and d.ack == seq + len(req)
    assert dict(d.options).get("Timestamp", (0, 0))[1] == 1002, d.options
    _rst(raw, sport, seq + len(req))


def test_rfc9293_s3_10_7_4_out_of_order_kept_rfc2018_s4_sacked(raw):
    TCP = raw.sc.TCP
    seq, ack, _ = raw.connect(41008, options=[("MSS", 1460), ("WScale", 7), ("SAckOK", b"")])
    req = b"GET /api/blob?size=10 HTTP/1.1\r\nHost: x\r\n\r\n"
    raw.send(TCP(sport=41008, dport=80, flags="PA", seq=seq + 10, ack=ack) / req[10:])
    a = raw.tcp_in(41008)
    assert a is not None and a.ack == seq
    sack = dict(a.options).get("SAck")
    assert sack == (seq + 10, seq + len(req)), a.options
    raw.send(TCP(sport=41008, dport=80, flags="A", seq=seq, ack=ack) / req[:10])
    d = raw.tcp_in(41008, want=lambda t: len(t.payload) > 0)
    assert d is not None and b"200 OK" in bytes(d.payload) and d.ack == seq + len(req)
    _rst(raw, 41008, seq + len(req))


def _seg_len(t):
    """the segment's data, without the Ethernet padding scapy counts in
    the payload of a short frame (a one-byte probe)"""
    return t.underlayer.len - t.underlayer.ihl * 4 - t.dataofs * 4


def test_rfc1122_4_2_2_17_zero_window_probe_gives_up_on_silence(raw, lab):
    """a download into a window the peer then closes: capOS probes it with
    one byte at snd_una; the peer answers two probes (zero-window ACKs, the
    byte refused) and the connection goes on, then falls silent: after
    TCP_MAX_RETRIES (8) probes unanswered, each interval twice the last
    up to TCP_RTO_MAX_US (60 s), capOS resets the connection with a RST
    at snd_una, counted in tcp_zero_window_timeouts, not HTTP's stall
    (lifted to 600 s on the lab's command line)"""
    TCP = raw.sc.TCP
    sport, answered = 41009, 2
    before = _counters(lab)
    seq, ack, _ = raw.connect(sport)
    req = b"GET /api/blob?size=100000 HTTP/1.1\r\nHost: x\r\n\r\n"
    raw.send(TCP(sport=sport, dport=80, flags="PA", seq=seq, ack=ack, window=4000) / req)
    seq, ack0 = seq + len(req), ack
    # the reader takes 4000 bytes and stops reading: each ACK's window is
    # what is left of the 4000, the last one 0
    end = time.monotonic() + 10
    while ack - ack0 < 4000 and time.monotonic() < end:
        t = raw.tcp_in(sport, timeout=0.5, want=lambda t: _seg_len(t) > 0)
        if t is not None and t.seq == ack:
            ack += _seg_len(t)
            raw.send(TCP(sport=sport, dport=80, flags="A", seq=seq, ack=ack,
                         window=max(0, 4000 - (ack - ack0))))
    assert ack - ack0 == 4000, f"{ack - ack0} bytes of the download came"
    closed = time.monotonic()
    probes, rst = [], None
    while rst is None:
        t = raw.tcp_in(sport, timeout=75)
        assert t is not None, f"nothing for 75 s after {len(probes)} probes"
        if "R" in t.flags:
            rst = (time.monotonic(), t.seq)
            break
        if _seg_len(t) == 1 and t.seq == ack:
            probes.append(time.monotonic())
            if len(probes) <= answered:
                raw.send(TCP(sport=sport, dport=80, flags="A", seq=seq, ack=ack, window=0))
    gaps = [b - a for a, b in zip(probes, probes[1:] + [rst[0]])]
    print(f"probes {len(probes)}, first {probes[0] - closed:.2f} s after the window closed, "
          f"gaps {[round(g, 2) for g in gaps]} s, RST {rst[0] - closed:.1f} s after")
    assert len(probes) == answered + 8, gaps  # TCP_MAX_RETRIES unanswered after the answers
    assert rst[1] == ack, f"RST at {rst[1]}, snd_una {ack}"
    for a, b in zip(gaps, gaps[1:]):
        if 2 * a < 55:
            assert 1.5 <= b / a <= 2.5, gaps  # backed off: doubled
        else:
            assert 55 <= b <= 66, gaps  # at TCP_RTO_MAX_US
    after = _counters(lab)
    assert after["tcp_zero_window_timeouts"] == before["tcp_zero_window_timeouts"] + 1
    assert after["http_timeouts"] == before["http_timeouts"]


def test_rfc5227_s2_1_1_arp_probe_answered(raw):
    sc = raw.sc
    raw.raw(sc.Ether(src=raw.MAC, dst="ff:ff:ff:ff:ff:ff") /
            sc.ARP(op=1, hwsrc=raw.MAC, psrc="0.0.0.0", pdst=raw.target))
    for e in raw._frames(5):
        if e.haslayer(sc.ARP) and e[sc.ARP].op == 2 and e[sc.ARP].psrc == raw.target:
            assert e[sc.ARP].hwdst == raw.MAC
            return
    pytest.fail("probe for capOS's address not answered")


def test_tap_linux_client_saw_no_reset(lab):
    """after everything above, Linux's own client still gets clean answers"""
    lab.relay(CLEAN)
    with lab.inside():
        download(lab.ip, 64 << 10)
    assert CLIENT_IP.startswith("10.77.0.")


def _echo_reply(raw, ident, timeout=5):
    sc = raw.sc
    for e in raw._frames(timeout):
        if e.haslayer(sc.ICMP) and e[sc.IP].src == raw.target and \
                e[sc.ICMP].type == 0 and e[sc.ICMP].id == ident:
            return e
    return None


def test_rfc791_s3_2_fragmented_echo_reassembled_and_answered(raw):
    sc = raw.sc
    data = bytes((i * 7) & 0xFF for i in range(1200))
    pkt = sc.IP(src=raw.IP, dst=raw.target, id=4242) / sc.ICMP(id=0x77, seq=1) / data
    frags = sc.fragment(pkt, fragsize=400)
    assert len(frags) == 4
    for f in reversed(frags):  # out of order
        raw.raw(sc.Ether(src=raw.MAC, dst=raw.tmac) / f)
    e = _echo_reply(raw, 0x77)
    assert e is not None, "fragmented echo not answered"
    assert bytes(e[sc.ICMP].payload) == data


def test_rfc791_s3_2_linux_ping_3000_bytes_both_ways_fragmented(clean):
    """Linux's own ICMP socket sends a 3000-byte echo (Linux fragments it);
    capOS reassembles it and answers in fragments that Linux reassembles"""
    import socket as s_
    lab = clean
    data = bytes((i * 31) & 0xFF for i in range(3000))
    with lab.inside():
        sk = s_.socket(s_.AF_INET, s_.SOCK_DGRAM, s_.IPPROTO_ICMP)
    try:
        sk.setsockopt(s_.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT
        sk.settimeout(5)
        sk.sendto(b"\x08\x00\x00\x00\x00\x00\x00\x01" + data, (lab.ip, 0))
        reply = sk.recv(65536)
    finally:
        sk.close()
    assert reply[0] == 0 and reply[8:] == data, f"{len(reply)} bytes back"


def test_rfc5722_overlapping_fragments_dropped(raw):
    """RFC 5722's rule applied to IPv4: a fragment overlapping held data
    with other bytes drops the datagram; no reply comes"""
    sc = raw.sc
    data = bytes(800)
    pkt = sc.IP(src=raw.IP, dst=raw.target, id=4343) / sc.ICMP(id=0x78, seq=1) / data
    frags = sc.fragment(pkt, fragsize=400)
    evil = frags[1].copy()
    evil.frag = frags[1].frag - 10  # 80 bytes into the first fragment
    evil[sc.Raw].load = b"\xee" * len(evil[sc.Raw].load)
    del evil.chksum
    for f in (frags[0], evil, *frags[1:]):
        raw.raw(sc.Ether(src=raw.MAC, dst=raw.tmac) / f)
    assert _echo_reply(raw, 0x78, timeout=3) is None, "answered an overlapping datagram"
