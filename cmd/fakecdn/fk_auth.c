#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_auth.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <ctype.h>
#include <pthread.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#define CHINA_SCHEME "AzureCDN "
#define BASIC_SCHEME "Basic "
#define STS_MAX	     (64 << 10)
#define MS_PER_S     1000
#define MIN_YEAR     1970
#define MAX_YEAR     9999
#define SHA256_LEN   32
#define HMAC_BLOCK   64 /* SHA-256's block */
#define HMAC_IPAD    0x36
#define HMAC_OPAD    0x5c

static void set_fail(struct fk_azurecn_auth *out, int status, const char *type, const char *msg)
{
	out->status = status;
	out->type = type;
	snprintf(out->message, sizeof(out->message), "%s", msg);
}

static int cmp_args(const void *a, const void *b)
{
	const struct fk_kv *x = *(const struct fk_kv *const *)a,
			   *y = *(const struct fk_kv *const *)b;

	return strcmp(x->name, y->name);
}

char *fk_azurecn_string_to_sign(const struct fk_req *req, const char *date)
{
	const struct fk_kv **sorted = xcalloc(req->nargs + 1, sizeof(*sorted));
	size_t n = 0;
	struct sb sb;

	/* Only the first value of a repeated name is signed (the vendor samples' value[0]). */
	for (size_t i = 0; i < req->nargs; i++) {
		bool seen = false;

		for (size_t j = 0; j < n; j++)
			seen = seen || strcmp(sorted[j]->name, req->args[i].name) == 0;
		if (!seen)
			sorted[n++] = &req->args[i];
	}
	qsort(sorted, n, sizeof(*sorted), cmp_args);
	sb_init(&sb, STS_MAX);
	sb_adds(&sb, req->path);
	sb_adds(&sb, "\r\n");
	for (size_t i = 0; i < n; i++)
		sb_addf(&sb, "%s%s:%s", i ? ", " : "", sorted[i]->name, sorted[i]->value);
	sb_addf(&sb, "\r\n%s\r\n%s", date, req->method);
	free(sorted);
	return sb_detach(&sb);
}

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
/* One context, reachable for the process's life (a per-thread one leaked at thread exit). */
static EVP_MD_CTX *sha256_ctx;
static pthread_mutex_t sha256_mu = PTHREAD_MUTEX_INITIALIZER;

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* HMAC-SHA256 (RFC 2104) on a digest fetched once and one context: OpenSSL 3's HMAC() looks
 * the MAC and the digest up by name on every call, most of a signature check. Lock held.
 * Returns false when OpenSSL failed (the caller falls back to HMAC()). */
static bool hmac_sha256_locked(EVP_MD_CTX *ctx, const char *key, const char *msg,
			       unsigned char mac[SHA256_LEN])
{
	unsigned char k0[HMAC_BLOCK] = {0}, pad[HMAC_BLOCK], inner[SHA256_LEN];
	size_t klen = strlen(key);
	bool ok;

	if (klen > HMAC_BLOCK)
		ok = EVP_DigestInit_ex2(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, key, klen) &&
		     EVP_DigestFinal_ex(ctx, k0, NULL);
	else
		ok = (memcpy(k0, key, klen), true);
	for (size_t i = 0; i < HMAC_BLOCK; i++)
		pad[i] = k0[i] ^ HMAC_IPAD;
	ok = ok && EVP_DigestInit_ex2(ctx, sha256_md, NULL) &&
	     EVP_DigestUpdate(ctx, pad, HMAC_BLOCK) && EVP_DigestUpdate(ctx, msg, strlen(msg)) &&
	     EVP_DigestFinal_ex(ctx, inner, NULL);
	for (size_t i = 0; i < HMAC_BLOCK; i++)
		pad[i] = k0[i] ^ HMAC_OPAD;
	ok = ok && EVP_DigestInit_ex2(ctx, sha256_md, NULL) &&
	     EVP_DigestUpdate(ctx, pad, HMAC_BLOCK) && EVP_DigestUpdate(ctx, inner, SHA256_LEN) &&
	     EVP_DigestFinal_ex(ctx, mac, NULL);
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(pad, sizeof(pad));
	return ok;
}

static bool hmac_sha256(const char *key, const char *msg, unsigned char mac[SHA256_LEN])
{
	bool ok;

	pthread_once(&sha256_once, fetch_sha256);
	pthread_mutex_lock(&sha256_mu);
	if (!sha256_ctx)
		sha256_ctx = EVP_MD_CTX_new();
	ok = sha256_md && sha256_ctx && hmac_sha256_locked(sha256_ctx, key, msg, mac);
	pthread_mutex_unlock(&sha256_mu);
	return ok;
}

void fk_azurecn_mac(const char *key, const char *msg, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = SHA256_LEN;

	if (!hmac_sha256(key, msg, mac))
		HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg),
		     mac, &len);
	fk_hex(mac, len, true, out);
}

int64_t fk_parse_china_date(const char *s)
{
	int y, mo, d, h, mi, se, used = 0;
	struct tm tm;

	if (sscanf(s, "%d-%d-%d %d:%d:%d%n", &y, &mo, &d, &h, &mi, &se, &used) != 6 ||
	    s[used] != '\0')
		return -1;
	if (y < MIN_YEAR || y > MAX_YEAR || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	return (int64_t)timegm(&tm);
}

int64_t fk_parse_http_date(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

static struct json_object *find_key(struct json_object *keys, const char *id)
{
	size_t n = keys ? json_object_array_length(keys) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *k = json_object_array_get_idx(keys, i);
		const char *kid = fk_jstr(k, "id");

		if (kid && strcmp(kid, id) == 0)
			return k;
	}
	return NULL;
}

/* Checks the key's status, the signature and the key's access; out->type stays "" if good. */
static void check_key(const struct fk_req *req, struct json_object *key, const char *sig,
		      const char *date, bool write, struct fk_azurecn_auth *out)
{
	const char *value = fk_jstr(key, "value"), *status = fk_jstr(key, "status");
	const char *access = fk_jstr(key, "access");
	char expect[65];
	char *sts;

	if (!value || (status && strcmp(status, "Active") != 0)) {
		set_fail(out, 401, "InvalidApiKey", "The API key is not active.");
		return;
	}
	sts = fk_azurecn_string_to_sign(req, date);
	fk_azurecn_mac(value, sts, expect);
	free(sts);
	if (!fk_secure_equal(expect, sig)) {
		set_fail(out, 401, "WrongSignature", "The signature is wrong.");
		return;
	}
	if (write && (!access || strcmp(access, "read-write") != 0))
		set_fail(out, 403, "PermissionDenied",
			 "The API key does not have permission to perform this operation.");
}

void fk_azurecn_verify(const struct fk_req *req, struct json_object *keys, bool write,
		       int64_t window_s, struct fk_azurecn_auth *out)
{
	const char *auth = fk_req_header(req, "Authorization");
	const char *date = fk_req_header(req, "x-azurecdn-request-date");
	char keyid[256];
	const char *colon;
	int64_t t;

	set_fail(out, 200, "", "");
	if (!auth || !*auth) {
		set_fail(out, 401, "MissingAuthorizationHeader", "Missing authorization header.");
		return;
	}
	colon = strchr(auth, ':');
	if (strncmp(auth, CHINA_SCHEME, strlen(CHINA_SCHEME)) != 0 || !colon ||
	    colon == auth + strlen(CHINA_SCHEME) || !colon[1] ||
	    (size_t)(colon - auth) - strlen(CHINA_SCHEME) >= sizeof(keyid)) {
		set_fail(out, 401, "InvalidAuthorizationHeader",
			 "The authorization header is invalid.");
		return;
	}
	if (!date || !*date) {
		set_fail(out, 401, "MissingRequestDateHeader",
			 "Missing x-azurecdn-request-date header.");
		return;
	}
	t = fk_parse_china_date(date);
	if (t < 0) {
		set_fail(out, 401, "InvalidRequestDateHeader",
			 "The x-azurecdn-request-date header is invalid.");
		return;
	}
	if (llabs(req->now_ms / MS_PER_S - t) > window_s) {
		set_fail(out, 401, "AuthorizationHeaderExpired",
			 "The authorization header has expired.");
		return;
	}
	snprintf(keyid, sizeof(keyid), "%.*s", (int)(colon - auth - (int)strlen(CHINA_SCHEME)),
		 auth + strlen(CHINA_SCHEME));
	if (!find_key(keys, keyid)) {
		set_fail(out, 401, "ApiKeyNotFound", "The API key was not found.");
		return;
	}
	check_key(req, find_key(keys, keyid), colon + 1, date, write, out);
}

char *fk_cdnpro_password(const char *api_key, const char *date)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	HMAC(EVP_sha1(), api_key, (int)strlen(api_key), (const unsigned char *)date, strlen(date),
	     mac, &len);
	return fk_b64_encode(mac, len);
}

static bool user_matches(struct json_object *users, const char *user, const char *pass,
			 const char *date)
{
	size_t n = users ? json_object_array_length(users) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *u = json_object_array_get_idx(users, i);
		const char *name = fk_jstr(u, "user"), *key = fk_jstr(u, "api_key");
		char *expect;
		bool ok;

		if (!name || !key || strcmp(name, user) != 0)
			continue;
		expect = fk_cdnpro_password(key, date);
		ok = fk_secure_equal(expect, pass);
		free(expect);
		return ok;
	}
	return false;
}

bool fk_cdnpro_verify(const struct fk_req *req, struct json_object *users, int64_t window_s)
{
	const char *auth = fk_req_header(req, "Authorization");
	const char *date = fk_req_header(req, "Date");
	unsigned char *cred;
	char *colon;
	size_t n = 0;
	bool ok = false;
	int64_t t;

	if (!auth || !date)
		return false;
	/* The vendor's JS client sends " Basic …" with a leading space; the server accepts it. */
	while (isspace((unsigned char)*auth))
		auth++;
	if (strncasecmp(auth, BASIC_SCHEME, strlen(BASIC_SCHEME)) != 0)
		return false;
	t = fk_parse_http_date(date);
	if (t < 0 || llabs(req->now_ms / MS_PER_S - t) > window_s)
		return false;
	cred = fk_b64_decode(auth + strlen(BASIC_SCHEME), &n);
	if (!cred)
		return false;
	colon = memchr(cred, ':', n);
	if (colon && strlen((char *)cred) == n) {
		*colon = '\0';
		ok = user_matches(users, (char *)cred, colon + 1, date);
	}
	free(cred);
	return ok;
}
