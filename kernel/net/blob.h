/* kernel/net/blob.h — the bytes /api/blob serves: the one definition the
 * kernel's generator (kernel/net/httpd.c, pump) and every C checker
 * (tests/host/net) share; tests/qemu/blob.py is its Python twin.
 *
 * The body is a run of 8-byte little-endian words, word k (bytes 8k to
 * 8k+7) being blob_word(k), output k of splitmix64 seeded 0. Each of its
 * steps is a bijection of 64-bit integers, so no two words of a body are
 * equal: a stream shifted by a nonzero multiple of 8 bytes differs from the
 * blob in every whole word it compares, and one shifted by any other amount
 * matches only by chance (1 in 256 a byte). The body has no period: the
 * 64-byte line served before hid a stream shifted by any multiple of 64.
 * A word costs three multiplies and three shift-xors, written straight
 * into the TCP ring (tcp_write_fill). */
#ifndef CAPOS_NET_BLOB_H
#define CAPOS_NET_BLOB_H
#include "kernel/lib/lib.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "blob words are stored little-endian");

static inline uint64_t blob_word(uint64_t k)
{
	uint64_t z = (k + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* the blob's n bytes from offset off into dst */
static inline void blob_fill(uint64_t off, uint8_t *dst, size_t n)
{
	uint64_t k = off / 8;
	size_t i = 0;
	unsigned b = off % 8;
	if (b) { /* the rest of a word begun before off */
		uint64_t w = blob_word(k++) >> (8 * b);
		for (; b < 8 && i < n; b++, i++, w >>= 8)
			dst[i] = (uint8_t)w;
	}
	for (; n - i >= 8; i += 8) {
		uint64_t w = blob_word(k++);
		__builtin_memcpy(dst + i, &w, 8);
	}
	if (i < n) /* the start of the word after dst's end */
		for (uint64_t w = blob_word(k); i < n; i++, w >>= 8)
			dst[i] = (uint8_t)w;
}
#endif
