/* kernel/lib/siphash.h — SipHash-2-4 (Aumasson and Bernstein, 2012): a
 * keyed 64-bit PRF, for values an outsider must not predict or steer
 * (TCP initial sequence numbers, RFC 6528) and for mixing the random
 * pool (kernel/lib/random.h). Pure; the host tests check it against the
 * reference vectors. */
#ifndef CAPOS_SIPHASH_H
#define CAPOS_SIPHASH_H
#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *msg,
		   size_t len);
#endif
