/* kernel/net/json.h — the one JSON writer (and HTML escaper) the Web UI and
 * every /api/ producer use. Writes into a caller's buffer; never overruns it;
 * like snprintf, `len` keeps counting past the end so the caller can tell a
 * truncated document (jb_overflow) from a complete one. Commas between
 * members and elements are inserted by the writer, not the caller. */
#ifndef CAPOS_JSON_H
#define CAPOS_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JB_DEPTH 16
struct jbuf {
	char *buf;
	size_t cap, len;
	unsigned depth;
	bool after_key;
	bool first[JB_DEPTH];
};

void jb_init(struct jbuf *j, char *buf, size_t cap);
bool jb_overflow(const struct jbuf *j);

void jb_obj(struct jbuf *j);
void jb_obj_end(struct jbuf *j);
void jb_arr(struct jbuf *j);
void jb_arr_end(struct jbuf *j);
void jb_key(struct jbuf *j, const char *k);
void jb_str(struct jbuf *j, const char *s);
void jb_strn(struct jbuf *j, const char *s, size_t n);
void jb_u64(struct jbuf *j, uint64_t v);
void jb_bool(struct jbuf *j, bool v);
void jb_null(struct jbuf *j);
/* key + value shorthands */
void jb_kstr(struct jbuf *j, const char *k, const char *v);
void jb_ku64(struct jbuf *j, const char *k, uint64_t v);
void jb_kbool(struct jbuf *j, const char *k, bool v);

/* raw text, and text escaped for HTML element content/attributes */
void jb_raw(struct jbuf *j, const char *s);
void jb_rawn(struct jbuf *j, const char *s, size_t n);
void jb_printf(struct jbuf *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void jb_html(struct jbuf *j, const char *s, size_t n);

/* JSON-escape s[0..n) into out (NUL-terminated, quotes not added); returns
 * the length wanted. Control bytes become \u00XX; bytes >= 0x80 that are not
 * valid UTF-8 become \ufffd, so the output is always valid JSON. */
size_t json_escape(char *out, size_t cap, const char *s, size_t n);
#endif
