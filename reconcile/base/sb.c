#include "reconcile/base/compat.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define SB_INITIAL_CAP 64
#define SB_U64_DIGITS  20 /* UINT64_MAX is 18446744073709551615 */

static char sb_empty[1];

void sb_init(struct sb *sb, size_t max)
{
	sb->buf = sb_empty;
	sb->len = 0;
	sb->cap = 0;
	sb->max = max ? max : SB_DEFAULT_MAX;
	sb->overflow = false;
}

void sb_release(struct sb *sb)
{
	if (!sb)
		return;
	if (sb->cap)
		free(sb->buf);
	sb_init(sb, sb->max);
}

void sb_reset(struct sb *sb)
{
	sb->len = 0;
	sb->buf[0] = '\0';
	sb->overflow = false;
}

char *sb_detach(struct sb *sb)
{
	char *p = sb->cap ? sb->buf : xstrdup("");
	sb_init(sb, sb->max);
	return p;
}

static int sb_reserve(struct sb *sb, size_t n)
{
	if (n > sb->max - sb->len) {
		sb->overflow = true;
		return -1;
	}
	size_t need = sb->len + n + 1;
	if (need <= sb->cap)
		return 0;
	size_t ncap = sb->cap ? sb->cap : SB_INITIAL_CAP;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (sb->cap) {
		sb->buf = xreallocarray(sb->buf, ncap, 1);
	} else {
		sb->buf = xmalloc(ncap);
		sb->buf[0] = '\0';
	}
	sb->cap = ncap;
	return 0;
}

int sb_add(struct sb *sb, const void *p, size_t n)
{
	if (sb_reserve(sb, n) < 0)
		return -1;
	if (n)
		memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	if (sb->cap)
		sb->buf[sb->len] = '\0';
	return 0;
}

int sb_adds(struct sb *sb, const char *s)
{
	return sb_add(sb, s, strlen(s));
}

int sb_addc(struct sb *sb, char c)
{
	/* the usual case, room for the byte and its NUL, without the calls of sb_add: digests
	 * and signatures are built a character at a time, tens of times per request (issue 17) */
	if (sb->len < sb->max && sb->len + 2 <= sb->cap) {
		sb->buf[sb->len++] = c;
		sb->buf[sb->len] = '\0';
		return 0;
	}
	return sb_add(sb, &c, 1);
}

int sb_vaddf(struct sb *sb, const char *fmt, va_list ap)
{
	/* Formatted straight into the room there is: a second vsnprintf only when it did not
	 * fit (measuring first, always, was a twentieth of a large plan's CPU, issue 17). */
	va_list cp;
	va_copy(cp, ap);
	size_t room = sb->cap ? sb->cap - sb->len : 0;
	int n = vsnprintf(room ? sb->buf + sb->len : NULL, room, fmt, cp);
	va_end(cp);
	if (n < 0 || (size_t)n > sb->max - sb->len) {
		if (room)
			sb->buf[sb->len] = '\0'; /* nothing appended */
		if (n >= 0)
			sb->overflow = true;
		return -1;
	}
	if ((size_t)n < room) {
		sb->len += (size_t)n;
		return 0;
	}
	if (room)
		sb->buf[sb->len] = '\0';
	if (sb_reserve(sb, (size_t)n) < 0)
		return -1;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int sb_addu(struct sb *sb, uint64_t v)
{
	char d[SB_U64_DIGITS];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return sb_add(sb, d + i, sizeof(d) - i);
}

int sb_addi(struct sb *sb, int64_t v)
{
	if (v >= 0)
		return sb_addu(sb, (uint64_t)v);
	/* as unsigned: -INT64_MIN does not fit an int64_t */
	char d[SB_U64_DIGITS + 1];
	uint64_t u = (uint64_t)0 - (uint64_t)v;
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	d[--i] = '-';
	return sb_add(sb, d + i, sizeof(d) - i);
}

int sb_addf(struct sb *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = sb_vaddf(sb, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * Length of the well-formed UTF-8 sequence at p[0..n) (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF), or 0 when p[0] does not start one.
 */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] < 0xc2 ? 0 : p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : p[0] < 0xf5 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* the second byte's range excludes overlong forms, surrogates and > U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return len;
}

/* One byte below 0x80: the short escapes JSON names, other control bytes as \u00XX. */
static int json_ascii(struct sb *sb, unsigned char c)
{
	switch (c) {
	case '"':
		return sb_adds(sb, "\\\"");
	case '\\':
		return sb_adds(sb, "\\\\");
	case '\n':
		return sb_adds(sb, "\\n");
	case '\r':
		return sb_adds(sb, "\\r");
	case '\t':
		return sb_adds(sb, "\\t");
	default:
		return c < 0x20 ? sb_addf(sb, "\\u%04x", c) : sb_addc(sb, (char)c);
	}
}

int sb_add_json_strn(struct sb *sb, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	int r = sb_addc(sb, '"');
	for (size_t i = 0; i < n && r == 0;) {
		/* a run that needs no escape goes in one copy: a character at a time, strings
		 * were most of writing a plan file (issue 17) */
		size_t j = i;
		while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\')
			j++;
		if (j > i) {
			r = sb_add(sb, p + i, j - i);
			i = j;
			continue;
		}
		size_t k = p[i] < 0x80 ? 1 : utf8_len(p + i, n - i);
		if (k == 1)
			r = json_ascii(sb, p[i]);
		else if (k == 0)
			r = sb_adds(sb, SB_JSON_INVALID_UTF8);
		else
			r = sb_add(sb, p + i, k);
		i += k ? k : 1;
	}
	if (r == 0)
		r = sb_addc(sb, '"');
	return r;
}

int sb_add_json_str(struct sb *sb, const char *s)
{
	return sb_add_json_strn(sb, s, strlen(s));
}

void sb_truncate(struct sb *sb, size_t n)
{
	if (n >= sb->len)
		return;
	sb->len = n;
	sb->buf[n] = '\0';
}

int sb_add_safe(struct sb *sb, const char *s)
{
	int rc = 0;
	if (s[0] == ':' && s[1] == ':') {
		rc |= sb_adds(sb, "\\x3a");
		s++;
	}
	for (; *s && rc == 0; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < ' ' || c == 0x7f)
			rc |= sb_addf(sb, "\\x%02x", c);
		else
			rc |= sb_addc(sb, (char)c);
	}
	return rc ? -1 : 0;
}
