#include "reconcile/base/compat.h"
#include "schema/urlcheck.h"
#include "reconcile/base/host.h"
#include "reconcile/base/xmem.h"

#include <limits.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define URL_PORT_DIGITS_MAX 5
#define URL_PORT_MAX	    65535UL
#define URL_IPV6_MAX	    47 /* "[" + 45 characters of the longest textual form + "]" */
#define URL_IPV4_PARTS	    4
#define URL_IPV4_PART_MAX   255UL
#define URL_LOOPBACK_NET    127UL
#define URL_RE_NUM_DIGITS   9 /* bigger quantifier numbers count as "too big", not overflow */

/* RFC 3986 gen-delims and "unwise" characters that CDN APIs reject unless percent-encoded. */
static const char url_unsafe[] = "[]{}\\`|^<>\"#";
/* azure /load API: `^(?:\/[a-zA-Z0-9-_.%=\u0020]+)+$` and
 * `^(?:\?[-_a-zA-Z0-9\/%:;=!,.\+'&\u0020]*)?$`. */
static const char azure_load_path_punct[] = "-_.%= ";
static const char azure_load_query_punct[] = "-_/%:;=!,.+'& ";

static const char *const problem_str[] = {
    [URL_OK] = "ok",
    [URL_ETOOLONG] = "too long",
    [URL_EFORM] = "not an absolute http(s) URL or a path starting with '/'",
    [URL_ESCHEME] = "scheme not allowed",
    [URL_EHOST] = "invalid host",
    [URL_ECRLF] = "CR, LF or NUL (plain or percent-encoded)",
    [URL_ECTRL] = "control character or space must be percent-encoded",
    [URL_EUNSAFE] = "character must be percent-encoded",
    [URL_EPERCENT] = "'%' must be followed by two hex digits",
    [URL_EDOTSEG] = "'.' or '..' path segment",
    [URL_ESTAR] = "'*' is not allowed here",
    [URL_ELOADCHARS] = "character not accepted by the load API",
    [URL_ERE_PREFIX] = "regex must start with http://, https:// or any:// then a host and '/'",
    [URL_ERE_LONG] = "regex longer than 126 characters after the host",
    [URL_ERE_UNLIMITED] = "regex has more than two unlimited quantifiers (*, +, {n,})",
    [URL_ERE_BOUND] = "regex quantifier bound above 59",
    [URL_ERE_COMPILE] = "regex does not compile",
};

const char *url_problem_str(enum url_problem p)
{
	return (unsigned)p < CF_ARRAY_LEN(problem_str) ? problem_str[p] : "?";
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static void split_tail(const char *p, struct url_parts *u)
{
	u->path = p;
	u->path_len = strcspn(p, "?#");
	p += u->path_len;
	if (*p == '?') {
		u->has_query = true;
		u->query = p + 1;
		u->query_len = strcspn(p + 1, "#");
		p += 1 + u->query_len;
	}
	if (*p == '#') {
		u->has_fragment = true;
		u->fragment = p + 1;
		u->fragment_len = strlen(p + 1);
	}
}

/* Splits "host[:port]" (a is the authority, n its length); brackets stay on an IPv6 host. */
static int split_authority(const char *a, size_t n, struct url_parts *u)
{
	const char *colon = NULL;
	if (n && a[0] == '[') {
		const char *close = memchr(a, ']', n);
		if (!close)
			return URL_EFORM;
		size_t hl = (size_t)(close - a) + 1;
		if (hl < n && a[hl] != ':')
			return URL_EFORM;
		colon = hl < n ? a + hl : NULL;
	} else {
		colon = memrchr(a, ':', n);
	}
	u->host = a;
	u->host_len = colon ? (size_t)(colon - a) : n;
	if (colon) {
		u->port = colon + 1;
		u->port_len = n - u->host_len - 1;
	}
	return 0;
}

int url_split(const char *s, struct url_parts *u)
{
	const char *p = s;
	memset(u, 0, sizeof(*u));
	if (s[0] == '/') {
		/* "//host/x" is a network-path reference, not a path: refuse the ambiguity. */
		if (s[1] == '/')
			return URL_EFORM;
		split_tail(s, u);
		return 0;
	}
	if (!is_alpha(*p))
		return URL_EFORM;
	while (is_alnum(*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (strncmp(p, "://", 3) != 0)
		return URL_EFORM;
	u->scheme = s;
	u->scheme_len = (size_t)(p - s);
	p += 3;
	size_t alen = strcspn(p, "/?#");
	/* Credentials in a URL would end up in logs and ledgers. */
	if (memchr(p, '@', alen))
		return URL_EFORM;
	if (split_authority(p, alen, u) != 0)
		return URL_EFORM;
	split_tail(p + alen, u);
	return 0;
}

bool url_scheme_is(const struct url_parts *u, const char *name)
{
	return u->scheme_len == strlen(name) && url_host_equal(u->scheme, u->scheme_len, name);
}

bool url_host_equal(const char *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!name[i] || lower(h[i]) != lower(name[i]))
			return false;
	return name[n] == '\0';
}

/* Parses a dotted quad; returns true and the first octet when h is exactly one. */
static bool ipv4_parse(const char *h, size_t n, unsigned long *first)
{
	size_t parts = 0, i = 0;
	while (i < n && parts < URL_IPV4_PARTS) {
		unsigned long v = 0;
		size_t start = i;
		while (i < n && is_digit(h[i]) && i - start < 3)
			v = v * 10 + (unsigned long)(h[i++] - '0');
		if (i == start || v > URL_IPV4_PART_MAX)
			return false;
		if (parts == 0)
			*first = v;
		parts++;
		if (i < n && h[i] == '.' && parts < URL_IPV4_PARTS)
			i++;
		else
			break;
	}
	return parts == URL_IPV4_PARTS && i == n;
}

static bool ipv6_literal_valid(const char *h, size_t n)
{
	bool colon = false;
	if (n < 4 || n > URL_IPV6_MAX || h[0] != '[' || h[n - 1] != ']')
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		if (h[i] == ':')
			colon = true;
		else if (hexval(h[i]) < 0 && h[i] != '.')
			return false;
	}
	return colon;
}

static bool dns_name_valid(const char *h, size_t n)
{
	size_t label = 0;
	bool all_numeric = true;
	if (n == 0 || n > URL_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			all_numeric = true;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return false;
		if (label == 0 && c == '-')
			return false;
		if (!is_digit(c))
			all_numeric = false;
		if (++label > URL_LABEL_MAX)
			return false;
	}
	/* A numeric last label means a malformed IPv4 address, not a name. */
	return label > 0 && h[n - 1] != '-' && !all_numeric;
}

bool url_host_valid(const char *h, size_t n)
{
	unsigned long first;
	if (n && h[0] == '[')
		return ipv6_literal_valid(h, n);
	if (ipv4_parse(h, n, &first))
		return true;
	return dns_name_valid(h, n);
}

bool url_host_is_loopback(const char *h, size_t n)
{
	return host_is_loopback(h, n);
}

static bool port_valid(const struct url_parts *u)
{
	unsigned long v = 0;
	if (!u->port)
		return true;
	if (u->port_len == 0 || u->port_len > URL_PORT_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < u->port_len; i++) {
		if (!is_digit(u->port[i]))
			return false;
		v = v * 10 + (unsigned long)(u->port[i] - '0');
	}
	return v >= 1 && v <= URL_PORT_MAX;
}

static enum url_problem check_authority(const char *s, const struct url_parts *u, size_t *off)
{
	if (!url_host_valid(u->host, u->host_len) || !port_valid(u)) {
		*off = (size_t)(u->host - s);
		return URL_EHOST;
	}
	return URL_OK;
}

enum url_problem url_check_base(const char *s)
{
	struct url_parts u;
	size_t off = 0;
	if (strlen(s) > URL_MAX)
		return URL_ETOOLONG;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return (*p == '\r' || *p == '\n') ? URL_ECRLF : URL_ECTRL;
	if (url_split(s, &u) != 0 || u.scheme_len == 0 || u.has_query || u.has_fragment)
		return URL_EFORM;
	if (check_authority(s, &u, &off) != URL_OK)
		return URL_EHOST;
	if (url_scheme_is(&u, "https"))
		return URL_OK;
	if (url_scheme_is(&u, "http") && url_host_is_loopback(u.host, u.host_len))
		return URL_OK;
	return URL_ESCHEME;
}

/* Returns URL_ECRLF for a plain or encoded CR, LF or NUL (other checks come later). */
static enum url_problem scan_crlf(const char *s, size_t *off)
{
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			*off = i;
			return URL_ECRLF;
		}
		if (s[i] == '%' && hexval(s[i + 1]) == 0 &&
		    (hexval(s[i + 2]) == 0 || hexval(s[i + 2]) == 0xa || hexval(s[i + 2]) == 0xd)) {
			*off = i;
			return URL_ECRLF;
		}
	}
	return URL_OK;
}

static enum url_problem check_byte(const char *s, size_t i, unsigned flags)
{
	unsigned char c = (unsigned char)s[i];
	if (c < ' ' || c == ' ' || c == 0x7f)
		return URL_ECTRL;
	if (c >= 0x80 || strchr(url_unsafe, (int)c))
		return URL_EUNSAFE;
	if (c == '%' && (hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0))
		return URL_EPERCENT;
	if (c == '*' && !(flags & URL_F_ALLOW_STAR))
		return URL_ESTAR;
	return URL_OK;
}

/* True when seg (n bytes) spells "." or ".." with each dot plain or as %2e / %2E. */
static bool is_dot_segment(const char *seg, size_t n)
{
	size_t dots = 0;
	for (size_t i = 0; i < n;) {
		if (seg[i] == '.') {
			i++;
		} else if (seg[i] == '%' && i + 2 < n && seg[i + 1] == '2' &&
			   (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
			i += 3;
		} else {
			return false;
		}
		dots++;
	}
	return dots == 1 || dots == 2;
}

static enum url_problem scan_dot_segments(const char *path, size_t n, const char *base, size_t *off)
{
	for (size_t i = 0; i < n;) {
		size_t start = i + (path[i] == '/');
		size_t end = start;
		while (end < n && path[end] != '/')
			end++;
		if (is_dot_segment(path + start, end - start)) {
			*off = (size_t)(path + start - base);
			return URL_EDOTSEG;
		}
		if (end == i)
			break;
		i = end;
	}
	return URL_OK;
}

static enum url_problem check_form(const char *s, unsigned flags, struct url_parts *u, size_t *off)
{
	*off = 0;
	if (url_split(s, u) != 0)
		return URL_EFORM;
	if (u->scheme_len == 0)
		return (flags & URL_F_ALLOW_PATH) ? URL_OK : URL_EFORM;
	if (!url_scheme_is(u, "http") && !url_scheme_is(u, "https"))
		return URL_ESCHEME;
	return check_authority(s, u, off);
}

enum url_problem url_check(const char *s, size_t max, unsigned flags, struct url_parts *u,
			   size_t *off)
{
	struct url_parts local;
	size_t dummy, len = strlen(s);
	enum url_problem p;
	if (!u)
		u = &local;
	if (!off)
		off = &dummy;
	memset(u, 0, sizeof(*u));
	if (len > (max ? max : URL_MAX)) {
		*off = max ? max : URL_MAX;
		return URL_ETOOLONG;
	}
	if ((p = scan_crlf(s, off)) != URL_OK || (p = check_form(s, flags, u, off)) != URL_OK)
		return p;
	for (size_t i = (size_t)(u->path - s); i < len; i++) {
		if ((p = check_byte(s, i, flags)) != URL_OK) {
			*off = i;
			return p;
		}
	}
	return scan_dot_segments(u->path, u->path_len, s, off);
}

static bool in_load_set(char c, bool query)
{
	return is_alnum(c) || strchr(query ? azure_load_query_punct : azure_load_path_punct, c);
}

enum url_problem url_check_azure_load(const char *s, size_t *off)
{
	size_t dummy, len = strlen(s);
	bool query = false;
	enum url_problem p;
	if (!off)
		off = &dummy;
	*off = 0;
	if (len > URL_AZURE_LOAD_MAX) {
		*off = URL_AZURE_LOAD_MAX;
		return URL_ETOOLONG;
	}
	if ((p = scan_crlf(s, off)) != URL_OK)
		return p;
	if (s[0] != '/')
		return URL_EFORM;
	for (size_t i = 0; i < len; i++) {
		*off = i;
		char c = s[i];
		if (c == '*')
			return URL_ESTAR;
		if (c == '%' && (hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0))
			return URL_EPERCENT;
		if (!query && c == '?') {
			query = true;
			continue;
		}
		/* Path segments are one or more characters: no "//" and no trailing '/'. */
		if (!query && c == '/' && (s[i + 1] == '/' || s[i + 1] == '\0' || s[i + 1] == '?'))
			return URL_ELOADCHARS;
		if (!query && c == '/')
			continue;
		if (!in_load_set(c, query))
			return URL_ELOADCHARS;
	}
	return scan_dot_segments(s, strcspn(s, "?"), s, off);
}

/* s[i] is '\\'; returns the index just after the escape sequence. */
static size_t re_skip_escape(const char *s, size_t i)
{
	char c = s[i + 1];
	if (!c)
		return i + 1;
	if (c == 'Q') {
		const char *e = strstr(s + i + 2, "\\E");
		return e ? (size_t)(e - s) + 2 : strlen(s);
	}
	/* \x{41} \p{L} \N{U+41} \g{1} \k{n} \o{7}: the braces are not a quantifier. */
	if (strchr("xopPNgk", c) && s[i + 2] == '{') {
		const char *e = strchr(s + i + 3, '}');
		return e ? (size_t)(e - s) + 1 : strlen(s);
	}
	return i + 2;
}

/* s[i] is '['; returns the index just after the class. */
static size_t re_skip_class(const char *s, size_t i)
{
	size_t j = i + 1;
	if (s[j] == '^')
		j++;
	if (s[j] == ']')
		j++; /* a leading ']' is a literal */
	while (s[j]) {
		if (s[j] == '\\' && s[j + 1]) {
			j += 2;
		} else if (s[j] == '[' && s[j + 1] == ':') {
			const char *e = strstr(s + j + 2, ":]");
			j = e ? (size_t)(e - s) + 2 : j + 1;
		} else if (s[j] == ']') {
			return j + 1;
		} else {
			j++;
		}
	}
	return j;
}

static size_t re_number(const char *s, size_t j, unsigned long *v, bool *any)
{
	size_t start = j;
	*v = 0;
	for (; is_digit(s[j]); j++)
		*v = (j - start < URL_RE_NUM_DIGITS) ? *v * 10 + (unsigned long)(s[j] - '0')
						     : ULONG_MAX;
	*any = j > start;
	return j;
}

/*
 * Parses a counted quantifier at s[i] ('{'): {m} {m,} {m,n} {,n}. Returns its length, or 0
 * when the brace is a literal. *upper is the largest count it allows; *unlimited for {m,}.
 */
static size_t re_brace(const char *s, size_t i, bool *unlimited, unsigned long *upper)
{
	unsigned long m = 0, n = 0;
	bool has_m, has_n = false, comma = false;
	size_t j = re_number(s, i + 1, &m, &has_m);
	if (s[j] == ',') {
		comma = true;
		j = re_number(s, j + 1, &n, &has_n);
	}
	if (s[j] != '}' || (!has_m && !has_n))
		return 0;
	*unlimited = comma && !has_n;
	*upper = comma ? (has_n ? n : 0) : m;
	return j + 1 - i;
}

/* Skips "(*VERB)" and "(?#comment)"; returns the index after ')' or i when s[i] starts neither. */
static size_t re_skip_group_text(const char *s, size_t i)
{
	if (s[i] != '(' || !(s[i + 1] == '*' || (s[i + 1] == '?' && s[i + 2] == '#')))
		return i;
	const char *e = strchr(s + i + 1, ')');
	return e ? (size_t)(e - s) + 1 : strlen(s);
}

static enum url_problem re_scan_quantifiers(const char *s, size_t *off)
{
	size_t unlimited = 0, i = 0, k;
	unsigned long upper = 0;
	bool after_quant = false, unl = false;
	while (s[i]) {
		char c = s[i];
		bool was_quant = after_quant;
		after_quant = false;
		if (was_quant && (c == '+' || c == '?')) {
			i++; /* possessive or lazy modifier, not a second quantifier */
		} else if (c == '\\') {
			i = re_skip_escape(s, i);
		} else if (c == '[') {
			i = re_skip_class(s, i);
		} else if ((k = re_skip_group_text(s, i)) != i) {
			i = k;
		} else if (c == '(' && s[i + 1] == '?') {
			i += 2;
		} else if (c == '*' || c == '+' || c == '?') {
			if (c != '?' && ++unlimited > URL_REGEX_UNLIMITED) {
				*off = i;
				return URL_ERE_UNLIMITED;
			}
			after_quant = true;
			i++;
		} else if (c == '{' && (k = re_brace(s, i, &unl, &upper)) != 0) {
			*off = i;
			if (unl && ++unlimited > URL_REGEX_UNLIMITED)
				return URL_ERE_UNLIMITED;
			if (!unl && upper > URL_REGEX_BOUND_MAX)
				return URL_ERE_BOUND;
			after_quant = true;
			i += k;
		} else {
			i++;
		}
	}
	return URL_OK;
}

static enum url_problem re_compile(const char *re, char *msg, size_t msgsz, size_t *off)
{
	int code;
	PCRE2_SIZE eoff;
	pcre2_code *rx =
	    pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &code, &eoff, NULL);
	if (rx) {
		pcre2_code_free(rx);
		return URL_OK;
	}
	/* Out of memory ends the process (reconcile/base/xmem.h); it is not a problem of the regex.
	 */
	if (code == PCRE2_ERROR_HEAP_FAILED) {
		xmem_oom("compiling a regex");
	}
	*off = (size_t)eoff;
	if (msgsz && pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, msgsz) < 0)
		snprintf(msg, msgsz, "pcre2 error %d", code);
	return URL_ERE_COMPILE;
}

enum url_problem url_check_regex(const char *re, const char **host, size_t *host_len, char *msg,
				 size_t msgsz, size_t *off)
{
	static const char *const prefixes[] = {"http://", "https://", "any://"};
	const char *h = NULL;
	size_t dummy, hl;
	enum url_problem p;
	if (!off)
		off = &dummy;
	*off = 0;
	if (msgsz)
		msg[0] = '\0';
	if (strlen(re) > URL_MAX)
		return URL_ETOOLONG;
	if ((p = scan_crlf(re, off)) != URL_OK)
		return p;
	for (size_t i = 0; re[i]; i++) {
		if ((unsigned char)re[i] < ' ' || re[i] == 0x7f) {
			*off = i;
			return URL_ECTRL;
		}
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(prefixes) && !h; i++)
		if (strncmp(re, prefixes[i], strlen(prefixes[i])) == 0)
			h = re + strlen(prefixes[i]);
	if (!h)
		return URL_ERE_PREFIX;
	hl = strcspn(h, "/");
	*host = h;
	*host_len = hl;
	*off = (size_t)(h - re);
	if (h[hl] != '/' || !url_host_valid(h, hl))
		return URL_ERE_PREFIX;
	const char *tail = h + hl + 1;
	if (strlen(tail) > URL_REGEX_TAIL_MAX) {
		*off = (size_t)(tail - re) + URL_REGEX_TAIL_MAX;
		return URL_ERE_LONG;
	}
	if ((p = re_scan_quantifiers(tail, off)) != URL_OK) {
		*off += (size_t)(tail - re);
		return p;
	}
	return re_compile(re, msg, msgsz, off);
}
