/*
 * URL predicates for purge, preload and API base URLs. Pure functions over borrowed strings:
 * nothing here allocates, resolves names or touches the network, so the validator, the purge
 * expansion in the provider drivers and the security tests can share one definition of "a
 * URL cacheform is willing to send".
 *
 * Every check returns enum url_problem (URL_OK = 0) and, where a location makes sense, the
 * byte offset of the first offending character in *off (off may be NULL).
 * This is the only module that links PCRE2 (url_check_regex).
 */
#ifndef CF_URLCHECK_H
#define CF_URLCHECK_H

#include <stddef.h>
#include <stdbool.h>

#include "reconcile/base/limits.h"

#define URL_MAX		      LIM_PURGE_URL_LEN
#define URL_HOST_MAX	      253 /* DNS name length */
#define URL_LABEL_MAX	      63  /* DNS label length */
#define URL_AZURE_LOAD_MAX    LIM_AZURE_LOAD_PATH_LEN
#define URL_REGEX_TAIL_MAX    LIM_PRO_REGEX_TAIL
#define URL_REGEX_UNLIMITED   LIM_PRO_REGEX_UNLIMITED
#define URL_REGEX_BOUND_MAX   LIM_PRO_REGEX_BOUND
#define URL_REGEX_PER_REQUEST LIM_PRO_PURGE_REGEX

enum url_problem {
	URL_OK = 0,
	URL_ETOOLONG,	   /* longer than the limit for this use */
	URL_EFORM,	   /* not scheme://host[/...] or /path as required (also userinfo, "//x") */
	URL_ESCHEME,	   /* scheme not allowed here (only http/https; https for remote APIs) */
	URL_EHOST,	   /* host empty or not a DNS name / IPv4 / [IPv6] literal, or bad port */
	URL_ECRLF,	   /* CR, LF or NUL, plain or percent-encoded */
	URL_ECTRL,	   /* other control character or space: must be percent-encoded */
	URL_EUNSAFE,	   /* [ ] { } \ ` | ^ < > " or a non-ASCII byte: must be percent-encoded */
	URL_EPERCENT,	   /* '%' not followed by two hex digits */
	URL_EDOTSEG,	   /* a "." or ".." path segment, plain or percent-encoded */
	URL_ESTAR,	   /* '*' where wildcards are not allowed */
	URL_ELOADCHARS,	   /* azure /load: character outside the load API's path or query set */
	URL_ERE_PREFIX,	   /* regex does not start with http:// https:// or any:// + host + '/' */
	URL_ERE_LONG,	   /* regex: more than URL_REGEX_TAIL_MAX characters after "host/" */
	URL_ERE_UNLIMITED, /* regex: more than URL_REGEX_UNLIMITED unlimited quantifiers */
	URL_ERE_BOUND,	   /* regex: a quantifier bound above URL_REGEX_BOUND_MAX */
	URL_ERE_COMPILE,   /* regex: PCRE2 refuses it */
};

/* Returns a short lower-case description of p (static string). */
const char *url_problem_str(enum url_problem p);

/*
 * The pieces of "scheme://host[:port][/path][?query][#fragment]" or of "/path[?query]".
 * All pointers point into the string given to url_split (borrowed); a piece that is absent
 * has length 0 (scheme_len == 0 means the input was a path). The host keeps the brackets of
 * an IPv6 literal; the path runs from its '/' up to '?' or '#'.
 */
struct url_parts {
	const char *scheme, *host, *port, *path, *query, *fragment;
	size_t scheme_len, host_len, port_len, path_len, query_len, fragment_len;
	bool has_query, has_fragment;
};

/*
 * Splits s. Returns 0, or URL_EFORM when s is neither an absolute URL with a "//" authority
 * nor a path starting with a single '/', or when the authority holds userinfo ('@').
 * Does not judge characters or the host's syntax (see url_host_valid, url_check).
 */
int url_split(const char *s, struct url_parts *u);

/* True when the scheme of u equals name, ignoring case. */
bool url_scheme_is(const struct url_parts *u, const char *name);
/* True for a DNS name (LDH labels), a dotted-quad IPv4 address or a bracketed IPv6 literal. */
bool url_host_valid(const char *h, size_t n);
/* True for 127.0.0.0/8, "localhost" (any case) and "[::1]". */
bool url_host_is_loopback(const char *h, size_t n);
/* True when the n bytes at h equal the NUL-terminated name, ignoring ASCII case. */
bool url_host_equal(const char *h, size_t n, const char *name);

/*
 * Checks an API base URL (base_url, login_url): https://host[:port][/path], or http:// to a
 * loopback host; no userinfo, query or fragment. Returns URL_OK or the problem.
 */
enum url_problem url_check_base(const char *s);

enum url_flags {
	URL_F_ALLOW_PATH = 1 << 0, /* "/path" is accepted besides an absolute http(s) URL */
	URL_F_ALLOW_STAR = 1 << 1, /* '*' is a wildcard (cdnpro dirUrls) */
};

/*
 * Checks a purge or preload entry: at most max bytes (0 = URL_MAX); an absolute http(s) URL
 * with a valid host, or (URL_F_ALLOW_PATH) a path starting with '/'; every byte either
 * allowed or percent-encoded; no dot segments in the path; no '*' unless URL_F_ALLOW_STAR.
 * Returns the first problem; *off is its byte offset; *u (when not NULL) gets the pieces.
 */
enum url_problem url_check(const char *s, size_t max, unsigned flags, struct url_parts *u,
			   size_t *off);

/*
 * Checks the characters of an azure /load content path: `(/[A-Za-z0-9-_.%= ]+)+` optionally
 * followed by `?[-_A-Za-z0-9/%:;=!,.+'& ]*`, at most URL_AZURE_LOAD_MAX bytes, no '*', a '%'
 * followed by two hex digits, no dot segments. s is the path (not a full URL).
 */
enum url_problem url_check_azure_load(const char *s, size_t *off);

/*
 * Checks a CDN Pro regexPatterns entry: the prefix http:// https:// or any://, a literal host
 * (returned in *host / *host_len, borrowed from re), '/', then at most URL_REGEX_TAIL_MAX bytes;
 * at most URL_REGEX_UNLIMITED unlimited quantifiers; bounds at most URL_REGEX_BOUND_MAX; it
 * must compile with PCRE2. For URL_ERE_COMPILE the PCRE2 message is written to msg (msgsz
 * bytes, may be 0). Returns the first problem.
 */
enum url_problem url_check_regex(const char *re, const char **host, size_t *host_len, char *msg,
				 size_t msgsz, size_t *off);

#endif
