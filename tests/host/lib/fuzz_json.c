/* tests/host/lib/fuzz_json.c — the JSON writer under any sequence of calls
 * and any buffer size. Oracle: whatever json_end() calls complete is one
 * valid JSON document (tests/host/lib/json_check.h) and is exactly what a
 * large buffer gets; anything else is void ("" in the buffer); nothing is
 * written past the buffer (it is exactly cap bytes on the heap, ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/lib/json.h"
#include "tests/host/lib/json_check.h"

struct in {
	const uint8_t *d;
	size_t n, i;
};

static unsigned take(struct in *in)
{
	return in->i < in->n ? in->d[in->i++] : 0;
}

/* a run of input bytes as a string: any bytes, NUL-free for keys */
static size_t take_str(struct in *in, char *out, size_t cap, bool nul_ok)
{
	size_t len = take(in) % 24, k = 0;
	while (k < len && k + 1 < cap && in->i < in->n) {
		char c = (char)in->d[in->i++];
		if (c || nul_ok)
			out[k++] = c;
	}
	out[k] = 0;
	return k;
}

static void play(struct json *j, const uint8_t *d, size_t n)
{
	struct in in = {d, n, 0};
	char s[32];
	size_t l;
	while (in.i < in.n) {
		switch (take(&in) % 11) {
		case 0:
			json_obj(j);
			break;
		case 1:
			json_obj_end(j);
			break;
		case 2:
			json_arr(j);
			break;
		case 3:
			json_arr_end(j);
			break;
		case 4:
			take_str(&in, s, sizeof(s), false);
			json_key(j, s);
			break;
		case 5:
			l = take_str(&in, s, sizeof(s), true);
			json_strn(j, s, l);
			break;
		case 6:
			json_u64(j, (uint64_t)take(&in) << (take(&in) % 57));
			break;
		case 7:
			json_i64(j, -(int64_t)take(&in) * 1000003);
			break;
		case 8:
			json_bool(j, take(&in) & 1);
			break;
		case 9:
			json_null(j);
			break;
		default:
			json_strf(j, "%u:%x", take(&in), take(&in));
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char big[1 << 16];
	if (size < 2)
		return 0;
	size_t cap = (data[0] | (size_t)data[1] << 8) % 2048;
	struct json jb, js;
	json_init(&jb, big, sizeof(big));
	play(&jb, data + 2, size - 2);
	int nb = json_end(&jb);
	if (nb >= 0 && !json_valid(big, (size_t)nb))
		abort();
	if (nb >= 0 && strlen(big) != (size_t)nb)
		abort();
	char *b = cap ? malloc(cap) : NULL;
	json_init(&js, b, cap);
	play(&js, data + 2, size - 2);
	int ns = json_end(&js);
	if (ns >= 0 && (ns != nb || memcmp(b, big, (size_t)nb + 1)))
		abort(); /* complete means: the same whole document */
	if (ns < 0 && nb >= 0 && (!js.overflow || cap > (size_t)nb))
		abort(); /* only a buffer too small fails a good document */
	if ((js.overflow || js.misuse) && cap && b[0])
		abort(); /* a void document leaves "" */
	free(b);
	return 0;
}
