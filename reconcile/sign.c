/*
 * AzureCDN and CDN Pro request signing (docs.azure.cn/cdn/cdn-api-signature;
 * CDN Pro "Authentication", docs.cdnetworks.com/cdn/apidocs). OpenSSL is used only for HMAC and
 * base64.
 */
#include "reconcile/base/compat.h"
#include "reconcile/sign.h"

#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

/* A signed URL has a handful of query pairs; more is not a URL we built. */
#define SIGN_MAX_QUERY_PAIRS 64
/* Bound on one decoded query name or value; the APIs use short ASCII values. */
#define SIGN_MAX_QUERY_PART 2048
#define SIGN_SHA256_LEN	    32
#define SIGN_SHA1_LEN	    20

struct qpair {
	char *name;
	char *value;
	size_t seq; /* position in the URL: keeps the first of repeated names */
};

/*
 * The azure-china HMAC-SHA256 context, keyed once: HMAC() fetched the MAC and the digest and
 * keyed a new context for every request, 24,000 instructions of the 34,000 a signature took
 * (issue 17). Re-initialising a keyed context without a key restarts it with the same key.
 * One key (the last used) stays keyed; its copy is only compared, and the account holds the
 * key for the whole run anyway.
 */
static struct {
	EVP_MAC_CTX *ctx;
	char *key;
} hmac_keyed;

static void hmac_forget(void)
{
	EVP_MAC_CTX_free(hmac_keyed.ctx);
	if (hmac_keyed.key)
		sign_wipe(hmac_keyed.key, strlen(hmac_keyed.key));
	free(hmac_keyed.key);
	hmac_keyed.ctx = NULL;
	hmac_keyed.key = NULL;
}

/* HMAC-SHA256 of msg keyed with key into mac (SIGN_SHA256_LEN bytes). Returns 0 or -1. */
static int hmac_sha256(const char *key, const unsigned char *msg, size_t n, unsigned char *mac)
{
	size_t maclen = 0;
	if (!hmac_keyed.ctx || strcmp(hmac_keyed.key, key) != 0) {
		hmac_forget();
		EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
		EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
		EVP_MAC_free(m); /* the context holds its own reference */
		char digest[] = "SHA256";
		OSSL_PARAM p[] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		    OSSL_PARAM_construct_end()};
		if (!c || !EVP_MAC_init(c, (const unsigned char *)key, strlen(key), p)) {
			EVP_MAC_CTX_free(c);
			return -1;
		}
		hmac_keyed.ctx = c;
		hmac_keyed.key = xstrdup(key);
	} else if (!EVP_MAC_init(hmac_keyed.ctx, NULL, 0, NULL)) {
		hmac_forget();
		return -1;
	}
	if (!EVP_MAC_update(hmac_keyed.ctx, msg, n) ||
	    !EVP_MAC_final(hmac_keyed.ctx, mac, &maclen, SIGN_SHA256_LEN) ||
	    maclen != SIGN_SHA256_LEN) {
		hmac_forget();
		return -1;
	}
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Returns the URL-decoded copy of s[0..n) ('+' is a space, as in form decoding); caller frees.
 * NULL for a malformed escape or an embedded NUL. */
static char *url_decode(const char *s, size_t n)
{
	if (n > SIGN_MAX_QUERY_PART)
		return NULL;
	char *out = xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int hi = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void qpairs_free(struct qpair *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(q[i].name);
		free(q[i].value);
	}
}

/* Splits query (without '?', without fragment) into decoded pairs. Returns the count or -1. */
static int query_split(const char *q, size_t qlen, struct qpair *out)
{
	size_t n = 0;
	size_t i = 0;
	while (i < qlen) {
		size_t end = i;
		while (end < qlen && q[end] != '&')
			end++;
		if (end > i) {
			if (n == SIGN_MAX_QUERY_PAIRS)
				goto fail;
			const char *eq = memchr(q + i, '=', end - i);
			size_t nlen = eq ? (size_t)(eq - (q + i)) : end - i;
			out[n].name = url_decode(q + i, nlen);
			out[n].value =
			    eq ? url_decode(eq + 1, (size_t)(q + end - (eq + 1))) : xstrdup("");
			out[n].seq = n;
			n++;
			if (!out[n - 1].name || !out[n - 1].value)
				goto fail;
		}
		i = end + 1;
	}
	return (int)n;
fail:
	qpairs_free(out, n);
	return -1;
}

/* Appends the sorted "name:value" list; only the first value of a repeated name counts. */
static int add_sorted_query(const char *q, size_t qlen, struct sb *out)
{
	struct qpair pairs[SIGN_MAX_QUERY_PAIRS];
	int n = query_split(q, qlen, pairs);
	if (n < 0)
		return -1;
	qsort(pairs, (size_t)n, sizeof(pairs[0]), qpair_cmp);
	int ret = 0;
	bool first = true;
	for (int i = 0; i < n && ret == 0; i++) {
		if (i > 0 && strcmp(pairs[i].name, pairs[i - 1].name) == 0)
			continue;
		if (!first)
			ret = sb_adds(out, ", ");
		first = false;
		if (ret == 0)
			ret = sb_addf(out, "%s:%s", pairs[i].name, pairs[i].value);
	}
	qpairs_free(pairs, (size_t)n);
	return ret;
}

void sign_azurecn_date(time_t t, char *date, size_t n)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(date, n, "1970-01-01 00:00:00");
		return;
	}
	snprintf(date, n, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Sets *path to the start of the path in url and *plen to its length; the query follows. */
static int url_path(const char *url, const char **path, size_t *plen)
{
	const char *p = url;
	const char *scheme = strstr(url, "://");
	if (scheme) {
		p = strchr(scheme + 3, '/');
		if (!p) {
			/* "https://host" and "https://host?q": the path is empty, signed as "/" */
			p = scheme + 3 + strcspn(scheme + 3, "?#");
		}
	}
	if (*p != '/' && *p != '?' && *p != '\0' && *p != '#')
		return -1;
	*path = p;
	*plen = strcspn(p, "?#");
	return 0;
}

int sign_azurecn_string(const char *method, const char *url, const char *date, struct sb *out)
{
	const char *path;
	size_t plen;
	if (!method || !url || !date || url_path(url, &path, &plen) < 0)
		return -1;
	int ret = plen ? sb_add(out, path, plen) : sb_adds(out, "/");
	ret |= sb_adds(out, "\r\n");
	if (path[plen] == '?') {
		const char *q = path + plen + 1;
		if (add_sorted_query(q, strcspn(q, "#"), out) < 0)
			return -1;
	}
	ret |= sb_addf(out, "\r\n%s\r\n", date);
	for (const char *m = method; *m; m++)
		ret |= sb_addc(out, (char)(*m >= 'a' && *m <= 'z' ? *m - 'a' + 'A' : *m));
	return ret ? -1 : 0;
}

int sign_azurecn_auth(const char *key_id, const char *key_value, const char *method,
		      const char *url, const char *date, struct sb *auth)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char mac[EVP_MAX_MD_SIZE];
	struct sb sts;
	int ret = -1;

	if (!key_id || !key_value)
		return -1;
	sb_init(&sts, 0);
	if (sign_azurecn_string(method, url, date, &sts) < 0)
		goto out;
	if (hmac_sha256(key_value, (const unsigned char *)sts.buf, sts.len, mac) < 0)
		goto out;
	if (sb_adds(auth, "AzureCDN ") < 0 || sb_adds(auth, key_id) < 0 || sb_addc(auth, ':') < 0)
		goto out;
	for (unsigned i = 0; i < SIGN_SHA256_LEN; i++) {
		if (sb_addc(auth, hex[mac[i] >> 4]) < 0 || sb_addc(auth, hex[mac[i] & 15]) < 0)
			goto out;
	}
	ret = 0;
out:
	sign_wipe(mac, sizeof(mac));
	sb_release(&sts);
	return ret;
}

void sign_rfc1123_date(time_t t, char *date, size_t n)
{
	/* Fixed English names: strftime's %a/%b follow LC_TIME, which the server does not. */
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11) {
		snprintf(date, n, "Thu, 01 Jan 1970 00:00:00 GMT");
		return;
	}
	snprintf(date, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Appends base64 of in[0..n) to out. Returns 0 or -1. */
static int add_base64(struct sb *out, const unsigned char *in, size_t n)
{
	size_t need = 4 * ((n + 2) / 3) + 1;
	char *buf = xmalloc(need);
	int len = EVP_EncodeBlock((unsigned char *)buf, in, (int)n);
	int ret = len < 0 ? -1 : sb_add(out, buf, (size_t)len);
	sign_wipe(buf, need);
	free(buf);
	return ret;
}

int sign_cdnpro_auth(const char *user, const char *api_key, const char *date, struct sb *auth)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	struct sb cred;
	int ret = -1;

	if (!user || !api_key || !date || strchr(user, ':'))
		return -1;
	sb_init(&cred, 0);
	if (!HMAC(EVP_sha1(), api_key, (int)strlen(api_key), (const unsigned char *)date,
		  strlen(date), mac, &maclen) ||
	    maclen != SIGN_SHA1_LEN)
		goto out;
	if (sb_addf(&cred, "%s:", user) < 0 || add_base64(&cred, mac, maclen) < 0)
		goto out;
	if (sb_adds(auth, "Basic ") < 0 ||
	    add_base64(auth, (const unsigned char *)cred.buf, cred.len) < 0)
		goto out;
	ret = 0;
out:
	sign_wipe(mac, sizeof(mac));
	sign_wipe(cred.buf, cred.len);
	sb_release(&cred);
	return ret;
}

void sign_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

const char *sign_lib_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}
