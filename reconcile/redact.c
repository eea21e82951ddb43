/*
 * Redaction for --debug traces. Everything is best effort over possibly malformed input,
 * so each scanner falls back to copying bytes rather than failing: a trace line that is
 * slightly wrong is fine, a leaked token is not.
 */
#include "reconcile/base/compat.h"
#include "reconcile/redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reconcile/base/xmem.h"

#define REDACT_NAME_MAX	  64 /* longer names are not credential names we know */
#define REDACT_PINNED_MAX 64 /* account secrets remembered */

/* Names (normalised: lower case, '-' and '_' removed) that carry credentials. */
static const char *const secret_names[] = {
    "authorization",   "proxyauthorization",
    "cookie",	       "setcookie",
    "signature",       "sig",
    "apikey",	       "xapikey",
    "keyvalue",	       "privatekey",
    "clientassertion", "ocpapimsubscriptionkey",
};
/* Suffixes of normalised names that carry credentials ("purgetokens" is a count, kept). */
static const char *const secret_suffixes[] = {"token", "secret", "password", "secretkey",
					      "signature"};

static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);
	return n >= m && memcmp(s + n - m, suf, m) == 0;
}

bool redact_name_is_secret(const char *name, size_t n)
{
	char norm[REDACT_NAME_MAX + 1];
	size_t k = 0;
	if (n > REDACT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c != '-' && c != '_')
			norm[k++] = (char)tolower(c);
	}
	norm[k] = '\0';
	for (size_t i = 0; i < CF_ARRAY_LEN(secret_names); i++)
		if (strcmp(norm, secret_names[i]) == 0)
			return true;
	for (size_t i = 0; i < CF_ARRAY_LEN(secret_suffixes); i++)
		if (ends_with(norm, k, secret_suffixes[i]))
			return true;
	return false;
}

void redact_escape(const char *s, size_t n, struct sb *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			(void)sb_addf(out, "\\x%02x", c);
		else
			(void)sb_addc(out, (char)c);
	}
}

void redact_header(const char *name, const char *value, struct sb *out)
{
	if (!redact_name_is_secret(name, strlen(name))) {
		redact_escape(value, strlen(value), out);
		return;
	}
	/* Keep the scheme word ("AzureCDN", "Basic", "Bearer"): it says which signer ran. */
	size_t w = 0;
	while (isalnum((unsigned char)value[w]) || value[w] == '-')
		w++;
	if (w && value[w] == ' ') {
		(void)sb_add(out, value, w);
		(void)sb_addc(out, ' ');
	}
	(void)sb_adds(out, REDACT_MARK);
}

static bool is_name_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

/* Value bytes of a form field or query parameter, also when quoted in free text. */
static bool is_value_char(unsigned char c)
{
	return c > ' ' && c != '&' && c != ';' && c != '"' && c != '\'' && c != ',' && c != 0x7f;
}

/*
 * Copies s, replacing the value after every "name=" whose name is secret. Looking back from
 * each '=' (rather than splitting on '&') also catches fields quoted inside other text,
 * such as a form body echoed in an error message.
 */
static void redact_assignments(const char *s, size_t n, struct sb *out)
{
	size_t i = 0;
	while (i < n) {
		if (s[i] != '=') {
			(void)sb_addc(out, s[i++]);
			continue;
		}
		size_t st = i;
		while (st > 0 && is_name_char((unsigned char)s[st - 1]))
			st--;
		(void)sb_addc(out, s[i++]);
		if (st == i - 1 || !redact_name_is_secret(s + st, i - 1 - st))
			continue;
		(void)sb_adds(out, REDACT_MARK);
		while (i < n && is_value_char((unsigned char)s[i]))
			i++;
	}
}

void redact_url(const char *url, struct sb *out)
{
	size_t n = strlen(url);
	const char *q = strchr(url, '?');
	struct sb tmp;
	sb_init(&tmp, 0);
	if (!q) {
		(void)sb_add(&tmp, url, n);
	} else {
		size_t qend = (size_t)(q - url) + 1 + strcspn(q + 1, "#");
		(void)sb_add(&tmp, url, (size_t)(q - url) + 1);
		redact_assignments(q + 1, qend - (size_t)(q - url) - 1, &tmp);
		(void)sb_add(&tmp, url + qend, n - qend);
	}
	redact_escape(tmp.buf, tmp.len, out);
	sb_release(&tmp);
}

/* Returns the index just past the JSON string starting at s[i] == '"' (or n if unclosed). */
static size_t json_string_end(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* Copies JSON text, replacing the string value of every member with a secret name. */
static void redact_json(const char *s, size_t n, struct sb *out)
{
	size_t i = 0;
	while (i < n) {
		if (s[i] != '"') {
			(void)sb_addc(out, s[i++]);
			continue;
		}
		size_t kend = json_string_end(s, n, i);
		(void)sb_add(out, s + i, kend - i);
		size_t colon = skip_ws(s, n, kend);
		bool secret = kend - i >= 2 && redact_name_is_secret(s + i + 1, kend - i - 2);
		i = kend;
		if (!secret || colon >= n || s[colon] != ':')
			continue;
		size_t v = skip_ws(s, n, colon + 1);
		if (v >= n || s[v] != '"')
			continue;
		(void)sb_add(out, s + i, v - i);
		(void)sb_adds(out, "\"" REDACT_MARK "\"");
		i = json_string_end(s, n, v);
	}
}

static bool is_token68(unsigned char c)
{
	return isalnum(c) || strchr("-._~+/=", c) != NULL;
}

/* Copies s, replacing the credential after every "Bearer " (case-insensitive). */
static void redact_bearer(const char *s, size_t n, struct sb *out)
{
	static const char word[] = "bearer ";
	size_t wl = sizeof(word) - 1;
	size_t i = 0;
	while (i < n) {
		if (n - i > wl && strncasecmp(s + i, word, wl) == 0 &&
		    is_token68((unsigned char)s[i + wl])) {
			(void)sb_add(out, s + i, wl);
			(void)sb_adds(out, REDACT_MARK);
			i += wl;
			while (i < n && is_token68((unsigned char)s[i]))
				i++;
			continue;
		}
		(void)sb_addc(out, s[i++]);
	}
}

void redact_body(const char *body, size_t len, struct sb *out)
{
	struct sb a, b;
	sb_init(&a, 0);
	sb_init(&b, 0);
	size_t first = skip_ws(body, len, 0);
	struct sb c;
	sb_init(&c, 0);
	if (first < len && (body[first] == '{' || body[first] == '[')) {
		redact_json(body, len, &c);
		redact_assignments(c.buf, c.len, &a);
	} else {
		redact_assignments(body, len, &a);
	}
	redact_bearer(a.buf, a.len, &b);
	redact_escape(b.buf, b.len, out);
	sb_release(&a);
	sb_release(&b);
	sb_release(&c);
}

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool redact_header_valid(const char *name, const char *value)
{
	if (!name || !*name || !value)
		return false;
	for (const char *p = name; *p; p++)
		if (!is_tchar((unsigned char)*p))
			return false;
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* ---- secret values held by this process ---- */

struct known {
	char *pinned[REDACT_PINNED_MAX];
	size_t npinned;
	char *recent[REDACT_RECENT_MAX];
	size_t next; /* ring position in recent */
};

static struct known g_known;

static void forget(char **v)
{
	if (*v)
		explicit_bzero(*v, strlen(*v));
	free(*v);
	*v = NULL;
}

void redact_known_add(const char *value, bool recent)
{
	if (!value || strlen(value) < REDACT_KNOWN_MIN_LEN)
		return;
	if (recent) {
		forget(&g_known.recent[g_known.next]);
		g_known.recent[g_known.next] = xstrdup(value);
		g_known.next = (g_known.next + 1) % REDACT_RECENT_MAX;
		return;
	}
	for (size_t i = 0; i < g_known.npinned; i++)
		if (strcmp(g_known.pinned[i], value) == 0)
			return;
	if (g_known.npinned < REDACT_PINNED_MAX)
		g_known.pinned[g_known.npinned++] = xstrdup(value);
}

void redact_known_clear(void)
{
	for (size_t i = 0; i < g_known.npinned; i++)
		forget(&g_known.pinned[i]);
	for (size_t i = 0; i < REDACT_RECENT_MAX; i++)
		forget(&g_known.recent[i]);
	memset(&g_known, 0, sizeof(g_known));
}

/* The longest remembered value starting at s[i..n), or 0. */
static size_t known_at(const char *s, size_t n, size_t i)
{
	size_t best = 0;
	char *const *lists[] = {g_known.pinned, g_known.recent};
	size_t counts[] = {g_known.npinned, REDACT_RECENT_MAX};
	for (size_t l = 0; l < 2; l++)
		for (size_t k = 0; k < counts[l]; k++) {
			const char *v = lists[l][k];
			size_t m = v ? strlen(v) : 0;
			if (m > best && m <= n - i && memcmp(s + i, v, m) == 0)
				best = m;
		}
	return best;
}

void redact_text(const char *s, struct sb *out)
{
	struct sb a;
	size_t n = s ? strlen(s) : 0;
	sb_init(&a, 0);
	for (size_t i = 0; i < n;) {
		size_t m = known_at(s, n, i);
		if (m) {
			(void)sb_adds(&a, REDACT_MARK);
			i += m;
		} else {
			(void)sb_addc(&a, s[i++]);
		}
	}
	redact_body(a.buf ? a.buf : "", a.len, out);
	if (a.buf)
		explicit_bzero(a.buf, a.len);
	sb_release(&a);
}
