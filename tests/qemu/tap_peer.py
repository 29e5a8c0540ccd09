#!/usr/bin/env python3
"""tests/qemu/tap_peer.py — the Linux side of the Linux<->Linux comparison:
the same two routes as capOS (GET /api/blob?size=N, the blob pattern of
kernel/net/webui.c webui_blob_at; POST /api/sink, answered with
"<length> <fnv1a32 hex>"), served by Linux's TCP. Usage: tap_peer.py IP PORT"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TEXT = b"capOS blob 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLM\n"
PATTERN = (TEXT + b"\0" * 64)[:64]
CHUNK = PATTERN * 1024


def fnv1a(data, h=0x811C9DC5):
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urlparse(self.path)
        if u.path != "/api/blob":
            self.send_error(404)
            return
        size = int(parse_qs(u.query).get("size", ["1048576"])[0])
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        left = size
        while left:
            n = min(left, len(CHUNK))
            self.wfile.write(CHUNK[:n])
            left -= n
        self.close_connection = True

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        body = f"{len(data)} {fnv1a(data):08x}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


if __name__ == "__main__":
    ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
