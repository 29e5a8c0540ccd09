/* kernel/lib/random.c — a SipHash-2-4 generator: output i is
 * SipHash(key, i); random_add rekeys with SipHash(key, data || j) for the
 * two halves, so every byte ever added steers every later output and the
 * key is never an output. */
#include "kernel/lib/random.h"

#include "kernel/lib/lib.h"
#include "kernel/lib/siphash.h"

static uint8_t key[SIPHASH_KEY_LEN];
static uint64_t counter;
static char sources[RANDOM_SOURCES_LEN];
static bool strong;

/* source is one of the comma-separated names in sources already (a name
 * inside another, "rng" in "efi-rng", is not) */
static bool listed(const char *source)
{
	size_t n = strlen(source);
	for (const char *s = sources; *s;) {
		size_t len = 0;
		while (s[len] && s[len] != ',')
			len++;
		if (len == n && !memcmp(s, source, n))
			return true;
		s += len + (s[len] == ',');
	}
	return false;
}

void random_add(const char *source, const void *data, size_t len, bool hw)
{
	uint8_t buf[64 + 1];
	const uint8_t *p = data;
	uint64_t halves[2];
	/* in slices, so a long input needs no buffer of its size */
	do {
		size_t n = MIN(len, sizeof(buf) - 1);
		/* data may be NULL when len is 0: nothing is read */
		if (n) {
			memcpy(buf, p, n);
			p += n;
		}
		for (unsigned j = 0; j < 2; j++) {
			buf[n] = (uint8_t)j;
			halves[j] = siphash24(key, buf, n + 1);
		}
		memcpy(key, halves, sizeof(key));
		len -= n;
	} while (len);
	strong |= hw;
	/* whole or not at all: a comma after the first name, then the NUL */
	size_t at = strlen(sources);
	if (!listed(source) &&
	    at + (at != 0) + strlen(source) < sizeof(sources))
		ksnprintf(sources + at, sizeof(sources) - at, "%s%s",
			  at ? "," : "", source);
}

uint64_t random_u64(void)
{
	uint64_t i = counter++;
	return siphash24(key, &i, sizeof(i));
}

void random_bytes(void *out, size_t len)
{
	uint8_t *o = out;
	while (len) {
		uint64_t v = random_u64();
		size_t n = MIN(len, sizeof(v));
		memcpy(o, &v, n);
		o += n;
		len -= n;
	}
}

const char *random_sources(void)
{
	return sources[0] ? sources : "none";
}

bool random_strong(void)
{
	return strong;
}

void random_report(void)
{
	if (strong)
		kprintf("random: seeded from %s\n", random_sources());
	else
		kprintf("random: seeded from %s only: no RDSEED/RDRAND and no "
			"EFI RNG, so TCP sequence numbers rest on timing "
			"noise\n",
			random_sources());
}
