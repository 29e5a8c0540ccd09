/* kernel/lib/siphash.c — SipHash-2-4: two compression rounds per 8-byte
 * little-endian word, the length in the top byte of the last word, four
 * finalization rounds. */
#include "kernel/lib/siphash.h"

static uint64_t rotl(uint64_t x, unsigned b)
{
	return x << b | x >> (64 - b);
}

static uint64_t le64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13) ^ s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16) ^ s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21) ^ s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17) ^ s->v2;
	s->v2 = rotl(s->v2, 32);
}

static void sip_word(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *msg,
		   size_t len)
{
	const uint8_t *p = msg;
	uint64_t k0 = le64(key, 8), k1 = le64(key + 8, 8);
	struct sip s = {
	    .v0 =
		k0 ^ 0x736f6d6570736575ull, /* "somepseudorandomlygenerated" */
	    .v1 = k1 ^ 0x646f72616e646f6dull,
	    .v2 = k0 ^ 0x6c7967656e657261ull,
	    .v3 = k1 ^ 0x7465646279746573ull, /* "bytes" */
	};
	size_t whole = len & ~(size_t)7;
	for (size_t i = 0; i < whole; i += 8)
		sip_word(&s, le64(p + i, 8));
	sip_word(&s, le64(p + whole, len - whole) | (uint64_t)len << 56);
	s.v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
