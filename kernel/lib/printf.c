/* kernel/lib/printf.c — a small vsnprintf (C11 7.21.6.1) for the
 * conversions d i u x X p s c %: flags '-' '0' '#' '+' ' ', width and
 * precision (either may be '*'), length hh h l ll z j t. Pure; the host
 * tests build it too and compare it with the C library's. Always
 * NUL-terminates when n > 0; returns the length it wanted, as C's
 * snprintf does. A conversion it does not know ends the output there: the
 * arguments after it could not be told apart. A width or precision above
 * 100000 is taken as 100000, which bounds the loop that pads. */
#include "lib.h"

struct out {
	char *buf;
	size_t cap, len;
};

struct spec {
	bool left, zero, alt, plus, space;
	int width, prec; /* prec < 0: none */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	for (; n > 0; n--)
		put(o, c);
}

/* one field: prefix (a sign, 0x), zeros, body[0..n), padded to width */
static void field(struct out *o, const struct spec *sp, const char *pre,
		  int zeros, const char *body, int n)
{
	int len = (int)strlen(pre) + zeros + n;
	if (sp->zero && !sp->left && sp->prec < 0 && sp->width > len) {
		zeros += sp->width - len; /* '0': zeros after the prefix */
		len = sp->width;
	}
	if (!sp->left)
		pad(o, ' ', sp->width - len);
	while (*pre)
		put(o, *pre++);
	pad(o, '0', zeros);
	for (int i = 0; i < n; i++)
		put(o, body[i]);
	if (sp->left)
		pad(o, ' ', sp->width - len);
}

static void put_num(struct out *o, const struct spec *sp, uint64_t v,
		    const char *pre, unsigned base, bool upper)
{
	char tmp[24];
	int n = sizeof(tmp);
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	if (v || sp->prec) /* C: a precision of 0 prints 0 as nothing */
		do {
			tmp[--n] = digits[v % base];
			v /= base;
		} while (v);
	int ndig = (int)sizeof(tmp) - n;
	field(o, sp, pre, sp->prec > ndig ? sp->prec - ndig : 0, tmp + n, ndig);
}

/* a '*' width or precision, or digits, within -100000..100000 */
static int number(const char **fmt, va_list *ap)
{
	if (**fmt == '*') {
		(*fmt)++;
		int v = va_arg(*ap, int);
		return v > 100000 ? 100000 : v < -100000 ? -100000 : v;
	}
	int v = 0;
	for (; **fmt >= '0' && **fmt <= '9'; (*fmt)++)
		v = MIN(v * 10 + (**fmt - '0'), 100000);
	return v;
}

static void convert(struct out *o, const char **fmtp, va_list *ap)
{
	const char *fmt = *fmtp;
	struct spec sp = {.prec = -1};
	for (;; fmt++) {
		if (*fmt == '-')
			sp.left = true;
		else if (*fmt == '0')
			sp.zero = true;
		else if (*fmt == '#')
			sp.alt = true;
		else if (*fmt == '+')
			sp.plus = true;
		else if (*fmt == ' ')
			sp.space = true;
		else
			break;
	}
	sp.width = number(&fmt, ap);
	if (sp.width < 0) { /* a negative '*' width is a '-' flag */
		sp.left = true;
		sp.width = -sp.width;
	}
	if (*fmt == '.') {
		fmt++;
		sp.prec = number(&fmt, ap); /* negative: as if none */
		if (sp.prec < 0)
			sp.prec = -1;
	}
	int lng = 0; /* -2 hh, -1 h, 0 int, 1 64 bits */
	for (;; fmt++) {
		if (*fmt == 'l' || *fmt == 'z' || *fmt == 'j' || *fmt == 't')
			lng = 1;
		else if (*fmt == 'h')
			lng--;
		else
			break;
	}
	*fmtp = fmt;
	uint64_t u;
	int64_t s;
	const char *str;
	switch (*fmt) {
	case 'd':
	case 'i':
		s = lng > 0 ? va_arg(*ap, int64_t) : va_arg(*ap, int);
		if (lng == -1)
			s = (short)s;
		else if (lng < -1)
			s = (signed char)s;
		put_num(o, &sp, s < 0 ? -(uint64_t)s : (uint64_t)s,
			s < 0	   ? "-"
			: sp.plus  ? "+"
			: sp.space ? " "
				   : "",
			10, false);
		return;
	case 'u':
	case 'x':
	case 'X':
		u = lng > 0 ? va_arg(*ap, uint64_t) : va_arg(*ap, unsigned);
		if (lng == -1)
			u = (unsigned short)u;
		else if (lng < -1)
			u = (unsigned char)u;
		put_num(o, &sp, u,
			*fmt == 'u' || !sp.alt || !u ? ""
			: *fmt == 'X'		     ? "0X"
						     : "0x",
			*fmt == 'u' ? 10 : 16, *fmt == 'X');
		return;
	case 'p':
		put_num(o, &sp, (uintptr_t)va_arg(*ap, void *), "0x", 16,
			false);
		return;
	case 's':
		str = va_arg(*ap, const char *);
		if (!str)
			str = "(null)";
		int n = 0; /* with a precision, no byte past it is read */
		while ((sp.prec < 0 || n < sp.prec) && str[n])
			n++;
		sp.zero = false;
		field(o, &sp, "", 0, str, n);
		return;
	case 'c': {
		char c = (char)va_arg(*ap, int);
		sp.zero = false;
		field(o, &sp, "", 0, &c, 1);
		return;
	}
	case '%':
		put(o, '%');
		return;
	case 0: /* '%' at the end of the format */
		return;
	default: /* unknown: it and what follows are not formatted */
		put(o, '%');
		put(o, *fmt);
		*fmtp = fmt + strlen(fmt) - 1;
	}
}

int kvsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = {buf, cap, 0};
	va_list aq;
	va_copy(aq, ap);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		convert(&o, &fmt, &aq);
		if (!*fmt)
			break;
	}
	va_end(aq);
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = 0;
	return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

int ksnprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = kvsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}
