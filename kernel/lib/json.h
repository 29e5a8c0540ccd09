/* kernel/lib/json.h — the one JSON writer. Every /api/ status provider
 * (kernel/lib/status.h) and the Web UI write through it; it is pure and
 * builds into the kernel, dma/ and the host tests alike.
 *
 * The writer owns the grammar: it puts the commas between members and
 * elements, the colon after a key, escapes strings (RFC 8259 §7) and checks
 * that containers are balanced and that object members have keys. It writes
 * into a caller's buffer and never past it.
 *
 * Truncation is all or nothing: when a write does not fit (or the calls do
 * not form a document), the writer voids the document — buf holds "" from
 * then on, later calls do nothing, and json_end() reports -1. A too-small
 * buffer can never pass for a complete document. */
#ifndef CAPOS_JSON_H
#define CAPOS_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_DEPTH    16  /* nested containers */
#define JSON_STRF_MAX 128 /* one json_strf value, formatted */

struct json {
	char *buf;
	size_t cap;	/* bytes at buf, the terminating NUL included */
	size_t len;	/* bytes written; buf[len] == 0 */
	bool overflow;	/* something did not fit: the document is void */
	bool misuse;	/* calls that form no document: it is void */
	bool after_key; /* a key is written, its value comes next */
	bool top_done;	/* the one top-level value is complete */
	uint8_t depth;	/* open containers */
	uint16_t obj;	/* bit d: the container at depth d is an object */
	uint16_t more;	/* bit d: that container has a member already */
};

void json_init(struct json *j, char *buf, size_t cap);
/* the length of the complete document, or -1 if it is void (overflow,
 * misuse) or unfinished (a container open, no value written) */
int json_end(const struct json *j);

void json_obj(struct json *j);
void json_obj_end(struct json *j);
void json_arr(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *k);

/* values: strings are escaped; control bytes become \u00XX and bytes that
 * are not valid UTF-8 become \ufffd, so the output is always valid JSON */
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);
void json_strf(struct json *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* key + value */
void json_kobj(struct json *j, const char *k);
void json_karr(struct json *j, const char *k);
void json_kstr(struct json *j, const char *k, const char *v);
void json_kstrn(struct json *j, const char *k, const char *v, size_t n);
void json_kstrf(struct json *j, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void json_ku64(struct json *j, const char *k, uint64_t v);
void json_ki64(struct json *j, const char *k, int64_t v);
void json_kbool(struct json *j, const char *k, bool v);
/* a counter keyed by its field's own name: key and field cannot drift */
#define JSON_KFIELD(j, p, f) json_ku64((j), #f, (p)->f)

/* text outside the JSON grammar, for documents that are not JSON (the Web
 * UI's HTML page, one-line summaries): same buffer, same all-or-nothing
 * truncation */
void json_raw(struct json *j, const char *s, size_t n);
void json_rawf(struct json *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#endif
