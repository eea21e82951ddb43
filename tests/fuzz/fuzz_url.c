/*
 * The URL predicates of schema/urlcheck.c on arbitrary bytes. Besides "no crash, no
 * sanitizer report", every accepted URL is checked against the security invariants the rest
 * of cacheform relies on: no CR/LF/control bytes or spaces (plain or percent-encoded CR/LF),
 * within the length cap, no "." or ".." path segment (plain or percent-encoded), a base URL
 * is https or loopback http, and url_split's pieces lie inside the input.
 */
#include "reconcile/base/compat.h"

#include <ctype.h>
#include <strings.h>

#include "schema/urlcheck.h"
#include "tests/fuzz/fuzz.h"

static bool inside(const char *s, size_t n, const char *p, size_t len)
{
	if (len == 0)
		return true;
	return p >= s && p + len <= s + n;
}

static void check_parts(const char *s, const struct url_parts *u)
{
	size_t n = strlen(s);
	FUZZ_CHECK(inside(s, n, u->scheme, u->scheme_len));
	FUZZ_CHECK(inside(s, n, u->host, u->host_len));
	FUZZ_CHECK(inside(s, n, u->port, u->port_len));
	FUZZ_CHECK(inside(s, n, u->path, u->path_len));
	FUZZ_CHECK(inside(s, n, u->query, u->query_len));
	FUZZ_CHECK(inside(s, n, u->fragment, u->fragment_len));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* True when the path has a "." or ".." segment, its dots plain or percent-encoded (an
 * encoded slash does not separate segments). */
static bool has_dot_segment(const char *p, size_t n)
{
	size_t seg = 0, dots = 0;
	bool other = false;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? p[i] : '/';
		bool encoded = false;
		if (c == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
			c = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
			i += 2;
			encoded = true;
		}
		if (c == '/' && !encoded) {
			if (seg > 0 && !other && (dots == 1 || dots == 2))
				return true;
			seg = dots = 0;
			other = false;
			continue;
		}
		seg++;
		if (c == '.')
			dots++;
		else
			other = true;
	}
	return false;
}

/* The invariants of an accepted purge/preload URL. */
static void check_accepted(const char *s, size_t max, const struct url_parts *u)
{
	size_t n = strlen(s);
	FUZZ_CHECK(n <= (max ? max : URL_MAX));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		FUZZ_CHECK(c > 0x20 && c != 0x7f);
		if (c == '%') {
			FUZZ_CHECK(i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
			int v = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			FUZZ_CHECK(v != '\r' && v != '\n' && v != 0);
		}
	}
	check_parts(s, u);
	FUZZ_CHECK(!has_dot_segment(u->path, u->path_len));
	if (u->scheme_len)
		FUZZ_CHECK(url_scheme_is(u, "http") || url_scheme_is(u, "https"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 3 * URL_MAX)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	struct url_parts u;
	memset(&u, 0, sizeof u);
	if (url_split(s, &u) == 0)
		check_parts(s, &u);

	static const unsigned flag_sets[] = {0, URL_F_ALLOW_PATH, URL_F_ALLOW_STAR,
					     URL_F_ALLOW_PATH | URL_F_ALLOW_STAR};
	static const size_t maxes[] = {0, 64};
	for (size_t f = 0; f < CF_ARRAY_LEN(flag_sets); f++) {
		for (size_t m = 0; m < CF_ARRAY_LEN(maxes); m++) {
			size_t off = (size_t)-1;
			memset(&u, 0, sizeof u);
			enum url_problem p = url_check(s, maxes[m], flag_sets[f], &u, &off);
			FUZZ_CHECK(url_problem_str(p) != NULL);
			if (p == URL_OK) {
				check_accepted(s, maxes[m], &u);
				if (!(flag_sets[f] & URL_F_ALLOW_STAR))
					FUZZ_CHECK(strchr(s, '*') == NULL);
				if (!(flag_sets[f] & URL_F_ALLOW_PATH))
					FUZZ_CHECK(u.scheme_len > 0);
			} else {
				FUZZ_CHECK(off <= strlen(s));
			}
		}
	}

	if (url_check_base(s) == URL_OK) {
		memset(&u, 0, sizeof u);
		FUZZ_CHECK(url_split(s, &u) == 0);
		FUZZ_CHECK(u.host_len > 0 && url_host_valid(u.host, u.host_len));
		FUZZ_CHECK(url_scheme_is(&u, "https") ||
			   (url_scheme_is(&u, "http") && url_host_is_loopback(u.host, u.host_len)));
		for (const char *c = s; *c; c++)
			FUZZ_CHECK((unsigned char)*c > 0x20 && *c != 0x7f);
	}

	size_t off = 0;
	if (url_check_azure_load(s, &off) == URL_OK) {
		FUZZ_CHECK(strlen(s) <= URL_AZURE_LOAD_MAX);
		FUZZ_CHECK(strchr(s, '*') == NULL && strchr(s, '\r') == NULL);
		const char *q = strchr(s, '?');
		FUZZ_CHECK(!has_dot_segment(s, q ? (size_t)(q - s) : strlen(s)));
	}

	const char *host = NULL;
	size_t host_len = 0;
	char msg[128];
	if (url_check_regex(s, &host, &host_len, msg, sizeof msg, &off) == URL_OK) {
		FUZZ_CHECK(host_len > 0 && inside(s, strlen(s), host, host_len));
		FUZZ_CHECK(strncasecmp(s, "http://", 7) == 0 ||
			   strncasecmp(s, "https://", 8) == 0 || strncasecmp(s, "any://", 6) == 0);
	}

	(void)url_host_valid(s, strlen(s));
	(void)url_host_is_loopback(s, strlen(s));
	(void)url_host_equal(s, strlen(s), "www.example.com");
	free(s);
	return 0;
}
