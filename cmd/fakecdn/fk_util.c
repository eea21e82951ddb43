#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

#include <ctype.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>

#define MS_PER_S       1000
#define NS_PER_MS      1000000
#define UUID_BYTES     16
#define MS_PER_MIN     60000.0
#define JB_INITIAL_CAP 4096

int64_t fk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / NS_PER_MS;
}

void fk_fmt_time(int64_t ms, bool with_ms, char out[FK_TIME_LEN])
{
	time_t t = (time_t)(ms / MS_PER_S);
	struct tm tm;

	gmtime_r(&t, &tm);
	if (with_ms)
		snprintf(out, FK_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(ms % MS_PER_S));
	else
		snprintf(out, FK_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void random_bytes(unsigned char *p, size_t n)
{
	/* RAND_bytes only fails when the DRBG cannot be seeded; ids must not repeat then. */
	if (RAND_bytes(p, (int)n) != 1) {
		fputs("fakecdn: no randomness available\n", stderr);
		exit(1);
	}
}

/* Ids must be unique, not secret: a per-thread xorshift128+ seeded from RAND_bytes spares
 * the DRBG (its lock and fork check, a getpid) on every answer that carries an id. */
static uint64_t id_bits(void)
{
	static _Thread_local uint64_t st[2];
	uint64_t a, b;

	while (st[0] == 0 && st[1] == 0)
		random_bytes((unsigned char *)st, sizeof(st));
	a = st[0];
	b = st[1];
	st[0] = b;
	a ^= a << 23;
	st[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
	return st[1] + b;
}

void fk_uuid(char out[FK_UUID_LEN + 1])
{
	unsigned char b[UUID_BYTES];
	char hex[2 * UUID_BYTES + 1];

	for (size_t i = 0; i < sizeof(b); i += sizeof(uint64_t)) {
		uint64_t v = id_bits();

		memcpy(b + i, &v, sizeof(v));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	fk_hex(b, sizeof(b), false, hex);
	snprintf(out, FK_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
		 hex + 16, hex + 20);
}

void fk_random_hex(size_t n, char *out)
{
	unsigned char b[64];

	if (n > sizeof(b))
		n = sizeof(b);
	random_bytes(b, n);
	fk_hex(b, n, false, out);
}

double fk_rand01(void)
{
	uint64_t v;

	random_bytes((unsigned char *)&v, sizeof(v));
	return (double)(v >> 11) / (double)(UINT64_C(1) << 53);
}

void fk_hex(const unsigned char *p, size_t n, bool upper, char *out)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

char *fk_b64_encode(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

unsigned char *fk_b64_decode(const char *s, size_t *n)
{
	size_t len = strlen(s);
	unsigned char *out;
	int got;

	if (len == 0 || len % 4 != 0)
		return NULL;
	out = xmalloc(len / 4 * 3 + 1);
	got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts padding bytes as data; drop them. */
	if (s[len - 1] == '=')
		got--;
	if (s[len - 2] == '=')
		got--;
	out[got] = '\0';
	*n = (size_t)got;
	return out;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *fk_url_decode(const char *s, size_t n, bool plus_space)
{
	char *out = xmalloc(n + 1);
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[j++] = plus_space && s[i] == '+' ? ' ' : s[i];
			continue;
		}
		if (i + 2 >= n || hexval((unsigned char)s[i + 1]) < 0 ||
		    hexval((unsigned char)s[i + 2]) < 0) {
			free(out);
			return NULL;
		}
		out[j++] =
		    (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
		i += 2;
	}
	out[j] = '\0';
	return out;
}

bool fk_secure_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0;
}

int fk_split_path(const char *path, char *buf, size_t bufsz, const char **seg, int max)
{
	size_t len = strlen(path);
	int count = 0;
	char *p;

	if (len + 1 > bufsz)
		return -1;
	memcpy(buf, path, len + 1);
	p = buf;
	while (*p) {
		char *slash;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		if (count == max)
			return -1;
		seg[count++] = p;
		slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return count;
}

const char *fk_jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

struct json_object *fk_jfind(struct json_object *arr, const char *key, const char *val)
{
	size_t n = arr ? json_object_array_length(arr) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *v = fk_jstr(o, key);

		if (v && val && strcasecmp(v, val) == 0)
			return o;
	}
	return NULL;
}

int64_t fk_jint(struct json_object *o, const char *key, int64_t fallback)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return fallback;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return fallback;
	return json_object_get_int64(v);
}

bool fk_jbool(struct json_object *o, const char *key, bool fallback)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return fallback;
	return json_object_get_boolean(v);
}

struct json_object *fk_jarr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

struct json_object *fk_jobj(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

struct json_object *fk_jarr_ensure(struct json_object *o, const char *key)
{
	struct json_object *a = fk_jarr(o, key);

	if (!a) {
		a = json_object_new_array();
		json_object_object_add(o, key, a);
	}
	return a;
}

/* What json-c 0.16's json_escape_str does to a byte (without '/', NOSLASHESCAPE): 0 kept,
 * 1 a two-byte escape, 2 a \u00xx escape (lower-case hex, json-c's json_hex_chars). */
static const unsigned char json_esc[256] = {
    [0x00] = 2, [0x01] = 2, [0x02] = 2, [0x03] = 2, [0x04] = 2, [0x05] = 2, [0x06] = 2,
    [0x07] = 2, ['\b'] = 1, ['\t'] = 1, ['\n'] = 1, [0x0b] = 2, ['\f'] = 1, ['\r'] = 1,
    [0x0e] = 2, [0x0f] = 2, [0x10] = 2, [0x11] = 2, [0x12] = 2, [0x13] = 2, [0x14] = 2,
    [0x15] = 2, [0x16] = 2, [0x17] = 2, [0x18] = 2, [0x19] = 2, [0x1a] = 2, [0x1b] = 2,
    [0x1c] = 2, [0x1d] = 2, [0x1e] = 2, [0x1f] = 2, ['"'] = 1,	['\\'] = 1,
};

/* The writer reserves once per string and stores bytes itself: sb's calls per byte run were
 * most of the writing. Capped like sb (SB_DEFAULT_MAX). */
static bool jb_reserve(struct fk_jw *b, size_t n)
{
	if (b->over || n > SB_DEFAULT_MAX - b->len) {
		b->over = true;
		return false;
	}
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : JB_INITIAL_CAP;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		b->p = xreallocarray(b->p, ncap, 1);
		b->cap = ncap;
	}
	return true;
}

static inline void jb_add(struct fk_jw *b, const char *s, size_t n)
{
	if (b->len + n + 1 <= b->cap || jb_reserve(b, n)) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
}

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Whether any of the 8 bytes in w needs an escape: below 0x20, '"' or '\\' (the classic
 * has-zero-byte tests; exact for "any", which is all that is asked). */
static inline bool word_needs_escape(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), bs = w ^ (ONES * '\\');

	return (((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((bs - ONES) & ~bs)) & HIGHS;
}

static void jb_str(struct fk_jw *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	char *out;

	/* worst case: every byte a \u00xx escape, plus the quotes */
	if (n > SB_DEFAULT_MAX / 6 || !jb_reserve(b, 6 * n + 2)) {
		b->over = true;
		return;
	}
	out = b->p + b->len;
	*out++ = '"';
	while (i < n) {
		uint64_t w;

		if (n - i >= sizeof(w)) {
			memcpy(&w, u + i, sizeof(w));
			if (!word_needs_escape(w)) {
				memcpy(out, u + i, sizeof(w));
				out += sizeof(w);
				i += sizeof(w);
				continue;
			}
		}
		for (size_t end = n - i >= sizeof(w) ? i + sizeof(w) : n; i < end; i++) {
			unsigned char c = u[i];

			if (!json_esc[c]) {
				*out++ = (char)c;
				continue;
			}
			*out++ = '\\';
			if (json_esc[c] == 2) {
				*out++ = 'u';
				*out++ = '0';
				*out++ = '0';
				*out++ = hex[c >> 4];
				*out++ = hex[c & 0x0f];
				continue;
			}
			*out++ = c == '\b'   ? 'b'
				 : c == '\t' ? 't'
				 : c == '\n' ? 'n'
				 : c == '\f' ? 'f'
				 : c == '\r' ? 'r'
					     : (char)c;
		}
	}
	*out++ = '"';
	b->len = (size_t)(out - b->p);
}

static void jb_json(struct fk_jw *b, struct json_object *o)
{
	const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *t;
	bool first = true;

	if (b->over)
		return;
	if (!o) {
		jb_add(b, "null", 4);
		return;
	}
	/* A node with userdata may carry its own serialiser (a parsed double keeps its text):
	 * json-c writes those, as it writes doubles and ints past int64. */
	if (json_object_get_userdata(o))
		goto jsonc;
	switch (json_object_get_type(o)) {
	case json_type_null:
		jb_add(b, "null", 4);
		return;
	case json_type_boolean:
		if (json_object_get_boolean(o))
			jb_add(b, "true", 4);
		else
			jb_add(b, "false", 5);
		return;
	case json_type_int: {
		int64_t v = json_object_get_int64(o);
		char d[24];
		size_t k = sizeof(d);
		uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

		if (v == INT64_MAX)
			break;
		do {
			d[--k] = (char)('0' + m % 10);
			m /= 10;
		} while (m);
		if (v < 0)
			d[--k] = '-';
		jb_add(b, d + k, sizeof(d) - k);
		return;
	}
	case json_type_string:
		jb_str(b, json_object_get_string(o), (size_t)json_object_get_string_len(o));
		return;
	case json_type_object:
		jb_add(b, "{", 1);
		json_object_object_foreach(o, key, val)
		{
			if (!first)
				jb_add(b, ",", 1);
			first = false;
			jb_str(b, key, strlen(key));
			jb_add(b, ":", 1);
			jb_json(b, val);
		}
		jb_add(b, "}", 1);
		return;
	case json_type_array: {
		size_t n = json_object_array_length(o);

		jb_add(b, "[", 1);
		for (size_t i = 0; i < n; i++) {
			if (i)
				jb_add(b, ",", 1);
			jb_json(b, json_object_array_get_idx(o, i));
		}
		jb_add(b, "]", 1);
		return;
	}
	default:
		break;
	}
jsonc:
	t = json_object_to_json_string_ext(o, flags);
	jb_add(b, t, strlen(t));
}

void fk_jw_raw(struct fk_jw *w, const char *s)
{
	jb_add(w, s, strlen(s));
}

void fk_jw_str(struct fk_jw *w, const char *s)
{
	jb_str(w, s, strlen(s));
}

void fk_jw_json(struct fk_jw *w, struct json_object *o)
{
	jb_json(w, o);
}

char *fk_jw_finish(struct fk_jw *w, size_t *len)
{
	char *p = w->p;

	if (w->over || !jb_reserve(w, 0)) {
		free(w->p);
		*w = (struct fk_jw){NULL, 0, 0, false};
		return NULL;
	}
	p[w->len] = '\0';
	*len = w->len;
	*w = (struct fk_jw){NULL, 0, 0, false};
	return p;
}

char *fk_json_text(struct json_object *o)
{
	struct fk_jw w = {NULL, 0, 0, false};
	size_t len;
	char *text;

	/* json-c's writer built a printbuf per answer and a copy of it; this writes the same
	 * bytes (tests/unit/test_fk_json.c compares them) straight into the answer's buffer. */
	jb_json(&w, o);
	text = fk_jw_finish(&w, &len);
	return text ? text
		    : xstrdup(json_object_to_json_string_ext(
			  o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

bool fk_bucket_take(struct fk_bucket *b, int64_t rate_per_minute, int64_t burst, int64_t now,
		    int64_t *remaining, int64_t *retry_s)
{
	double rate = (double)rate_per_minute / MS_PER_MIN; /* tokens per ms */
	double cap = (double)burst, wait_s;

	if (now > b->last_ms)
		b->tokens += (double)(now - b->last_ms) * rate;
	b->last_ms = now > b->last_ms ? now : b->last_ms;
	if (b->tokens > cap)
		b->tokens = cap;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		*remaining = (int64_t)b->tokens; /* non-negative: truncation is floor */
		return true;
	}
	wait_s = (1.0 - b->tokens) / rate / 1000.0;
	*retry_s = (int64_t)wait_s + ((double)(int64_t)wait_s < wait_s); /* ceil, without libm */
	if (*retry_s < 1)
		*retry_s = 1;
	return false;
}
