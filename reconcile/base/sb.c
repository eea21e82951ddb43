#include "reconcile/base/compat.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#define SB_INITIAL_CAP 64

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
	return sb_add(sb, &c, 1);
}

int sb_vaddf(struct sb *sb, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -1;
	if (sb_reserve(sb, (size_t)n) < 0)
		return -1;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int sb_addf(struct sb *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = sb_vaddf(sb, fmt, ap);
	va_end(ap);
	return r;
}

int sb_add_json_str(struct sb *sb, const char *s)
{
	int r = sb_addc(sb, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p && r == 0; p++) {
		switch (*p) {
		case '"':
			r = sb_adds(sb, "\\\"");
			break;
		case '\\':
			r = sb_adds(sb, "\\\\");
			break;
		case '\n':
			r = sb_adds(sb, "\\n");
			break;
		case '\r':
			r = sb_adds(sb, "\\r");
			break;
		case '\t':
			r = sb_adds(sb, "\\t");
			break;
		default:
			if (*p < 0x20)
				r = sb_addf(sb, "\\u%04x", *p);
			else
				r = sb_addc(sb, (char)*p);
		}
	}
	if (r == 0)
		r = sb_addc(sb, '"');
	return r;
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
