#!/usr/bin/env python3
"""tests/qemu/tap_peer.py — the Linux side of the Linux<->Linux comparison:
the same two routes as capOS (GET /api/blob?size=N, the bytes of
kernel/net/blob.h from tests/qemu/blob.py; POST /api/sink, answered with
"<length> <fnv1a32 hex>"), served by Linux's TCP. Usage: tap_peer.py IP PORT"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from blob import blob_bytes

CHUNK = 64 << 10
READY = 16 << 20  # made before serving: the bench's downloads are 8 MiB


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
        for off in range(0, size, CHUNK):
            self.wfile.write(blob_bytes(min(CHUNK, size - off), off))
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
    srv = ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H)
    blob_bytes(READY)  # connections wait in the listen queue meanwhile
    srv.serve_forever()
