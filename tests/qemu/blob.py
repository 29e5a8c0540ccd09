"""tests/qemu/blob.py — the bytes /api/blob serves, for every Python checker
(net_tools.py, tap_net.py, tap_peer.py, through them the QEMU tests and
tests/bench): the twin of kernel/net/blob.h. Word k of the body (bytes 8k
to 8k+7, little-endian) is output k of splitmix64 seeded 0, so the body has
no period and a stream shifted by any amount is caught."""
import array
import sys

_M = (1 << 64) - 1
_cache = b""


def blob_word(k):
    z = ((k + 1) * 0x9E3779B97F4A7C15) & _M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
    return z ^ (z >> 31)


def blob_bytes(n, off=0):
    """the blob's n bytes from offset off (about 0.4 s per 8 MiB the first
    time; the longest prefix made is kept)"""
    global _cache
    end, have = off + n, _cache  # tap_peer.py's threads share the cache
    if len(have) < end:
        words = array.array("Q", (blob_word(k) for k in
                                  range(len(have) // 8, (end + 7) // 8)))
        if sys.byteorder == "big":
            words.byteswap()
        have += words.tobytes()
        _cache = have
    return have[off:end]


def first_difference(body, off=0):
    """the index of the first byte of body that is not the blob's from off,
    None when all are"""
    want = blob_bytes(len(body), off)
    if body == want:
        return None
    return next(i for i in range(len(body)) if body[i] != want[i])
