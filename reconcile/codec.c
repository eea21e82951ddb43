/* The JSON layer (codec.h): parsing with caps, typed getters with paths, the tree writer. */
#include "reconcile/base/compat.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <strings.h>
#include <json-c/json.h>

#include "reconcile/codec.h"
#include "reconcile/base/xmem.h"

#define CODEC_INT_DIGITS_MAX 19 /* decimal digits of INT64_MAX */
#define CODEC_ECHO_MAX	     40 /* bytes of a bad value a message quotes */
#define CODEC_INDENT	     2	/* spaces per level of CODEC_PRETTY */
#define CODEC_WALK_MAX	     16 /* members up to which a lookup walks instead of hashing */
#define CODEC_HIGH_BITS	     UINT64_C(0x8080808080808080) /* the top bit of each byte of a word */

/*
 * json-c 0.16's tokener hands an object key it failed to strdup() straight on, and crashes on
 * it when memory runs out (test_oom's release sweep: SIGSEGV in json_object_object_add_ex).
 * This definition preempts the C library's for the libraries cacheform links, so a failed copy
 * ends like every allocation of ours: "cacheform: out of memory", exit 1. (Under ASan the
 * sanitizer's own strdup is preempted the same way; the copy still uses its malloc.)
 */
char *strdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* ---- errors ---- */

static int code_of(unsigned flags)
{
	return flags & CODEC_FILE ? CF_EINVAL : CF_EAPI;
}

int codec_err(struct cf_err *e, unsigned flags, const char *path, const char *fmt, ...)
{
	char msg[CF_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(e, code_of(flags), "%s: %s", path[0] ? path : "document", msg);
}

static const char *type_name(struct json_object *v)
{
	return codec_type_name(codec_type_of(v));
}

/* ---- paths ---- */

static const char *path_done(struct codec_path *p, int n)
{
	if (n < 0 || (size_t)n >= sizeof(p->s))
		memcpy(p->s + sizeof(p->s) - 4, "...", 4);
	return p->s;
}

const char *codec_path_key(struct codec_path *p, const char *parent, const char *key)
{
	return path_done(p,
			 snprintf(p->s, sizeof(p->s), "%s%s%s", parent, parent[0] ? "." : "", key));
}

const char *codec_path_idx(struct codec_path *p, const char *parent, size_t i)
{
	return path_done(p, snprintf(p->s, sizeof(p->s), "%s[%zu]", parent, i));
}

/* ---- parsing ---- */

static bool only_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* True when every byte is below 0x80: such a body is valid UTF-8 as it stands. */
static bool ascii_only(const char *p, size_t n)
{
	uint64_t any = 0;
	size_t i = 0;
	for (; i + sizeof(any) <= n; i += sizeof(any)) {
		uint64_t w;
		memcpy(&w, p + i, sizeof(w));
		any |= w;
	}
	for (; i < n; i++)
		any |= (unsigned char)p[i];
	return (any & CODEC_HIGH_BITS) == 0;
}

/*
 * A provider's answer is parsed once per request. The tokener is kept from one parse to the
 * next (json_tokener_reset) rather than allocated and freed each time: its depth stack alone
 * is over a kilobyte, zeroed on every allocation. One is kept; a parse that finds it taken
 * (another thread parsing at the same moment) makes its own.
 */
static _Atomic(struct json_tokener *) spare_tok;

static struct json_tokener *tok_take(void)
{
	struct json_tokener *tok = atomic_exchange(&spare_tok, NULL);
	return tok ? tok : json_tokener_new_ex(CODEC_MAX_DEPTH);
}

static void tok_give(struct json_tokener *tok)
{
	json_tokener_reset(tok);
	struct json_tokener *old = atomic_exchange(&spare_tok, tok);
	if (old)
		json_tokener_free(old);
}

int codec_parse(const char *body, size_t len, struct json_object **out, struct cf_err *e)
{
	*out = NULL;
	if (!body || only_space(body, len))
		return err_set(e, CF_EAPI, "empty response body where JSON was expected");
	if (len > CODEC_MAX_BODY)
		return err_set(e, CF_ELIMIT, "response body of %zu bytes is over the %zu byte cap",
			       len, CODEC_MAX_BODY);
	if (memchr(body, '\0', len))
		return err_set(e, CF_EAPI, "response body contains a NUL byte");
	struct json_tokener *tok = tok_take();
	if (!tok)
		return err_set(e, CF_EAPI, "cannot allocate a JSON parser");
	/* json-c checks UTF-8 a byte at a time, through a call per byte; an answer without a
	 * byte above 0x7f (ARM's are) passes that check whatever it holds, so it is skipped */
	json_tokener_set_flags(tok, ascii_only(body, len)
					? JSON_TOKENER_STRICT
					: JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *root = json_tokener_parse_ex(tok, body, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	int rc = 0;
	if (jerr == json_tokener_continue)
		rc = err_set(e, CF_EAPI, "truncated JSON in response body");
	else if (jerr != json_tokener_success)
		rc = err_set(e, CF_EAPI, "invalid JSON in response body at byte %zu: %s",
			     json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
	else if (!only_space(body + json_tokener_get_parse_end(tok),
			     len - json_tokener_get_parse_end(tok)))
		rc = err_set(e, CF_EAPI, "trailing data after JSON in response body");
	tok_give(tok);
	if (rc != 0) {
		json_object_put(root);
		return rc;
	}
	*out = root;
	return 0;
}

void codec_put(struct json_object *o)
{
	json_object_put(o);
}

int codec_parse_obj(const char *body, size_t len, struct json_object **out, struct cf_err *e)
{
	int rc = codec_parse(body, len, out, e);
	if (rc != 0)
		return rc;
	if (!json_object_is_type(*out, json_type_object)) {
		rc =
		    err_set(e, CF_EAPI, "response body is %s, want a JSON object", type_name(*out));
		json_object_put(*out);
		*out = NULL;
	}
	return rc;
}

/*
 * json_tokener_parse_ex reports json_tokener_continue both for truncated input and for a
 * number or literal that ends exactly at the end of its input (it waits for a delimiter), so
 * the end is marked by feeding the NUL a C string would have: what is still incomplete then
 * was cut short.
 */
static struct json_object *parse_once(const char *json, size_t len, int depth, const char **why,
				      size_t *at)
{
	struct json_tokener *tok = json_tokener_new_ex(depth);
	if (!tok)
		xmem_oom("json-c");
	/* codec_write never writes anything but UTF-8: other bytes were not written by cacheform */
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *root = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	*at = json_tokener_get_parse_end(tok);
	*why = NULL;
	if (jerr == json_tokener_continue) {
		root = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		*at = len;
		if (jerr != json_tokener_success)
			*why = only_space(json, len) ? "empty document" : "unexpected end of input";
	} else if (jerr != json_tokener_success) {
		*why = json_tokener_error_desc(jerr);
	} else if (*at < len) {
		*why = "unexpected data after the document";
	}
	if (*why) {
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

/*
 * Compares two parses by their text, not with json_object_equal(): NaN, which json-c accepts,
 * is unequal to itself. A serialisation that fails is out of memory.
 */
static bool same_json(struct json_object *a, struct json_object *b)
{
	const char *ta = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
	if (!ta)
		xmem_oom("json-c");
	char *copy = xstrdup(ta);
	const char *tb = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);
	if (!tb)
		xmem_oom("json-c");
	bool same = strcmp(copy, tb) == 0;
	free(copy);
	return same;
}

struct json_object *codec_parse_doc(const char *json, size_t len, int depth, const char **why,
				    size_t *at)
{
	*at = 0;
	if (len > INT32_MAX) {
		*why = "document too large";
		return NULL;
	}
	/*
	 * json-c reports some allocation failures as syntax errors and ignores others (a
	 * member that could not be inserted is dropped). Parsing is a function of the input
	 * alone, so two parses that disagree mean an allocation failed in one of them.
	 */
	const char *again;
	size_t at2;
	struct json_object *root = parse_once(json, len, depth, why, at);
	struct json_object *other = parse_once(json, len, depth, &again, &at2);
	bool agree = root ? other && same_json(root, other) : !other && *at == at2;
	json_object_put(other);
	if (!agree) {
		json_object_put(root);
		xmem_oom("json-c");
	}
	return root;
}

/* ---- typed getters ---- */

enum codec_type codec_type_of(struct json_object *v)
{
	static const enum codec_type map[] = {
	    [json_type_null] = CODEC_NULL,     [json_type_boolean] = CODEC_BOOL,
	    [json_type_double] = CODEC_DOUBLE, [json_type_int] = CODEC_INT,
	    [json_type_object] = CODEC_OBJECT, [json_type_array] = CODEC_ARRAY,
	    [json_type_string] = CODEC_STRING};
	enum json_type t = json_object_get_type(v);
	return (size_t)t < CF_ARRAY_LEN(map) ? map[t] : CODEC_NULL;
}

const char *codec_type_name(enum codec_type t)
{
	static const char *const names[] = {"null",   "boolean", "double", "int",
					    "object", "array",	 "string"};
	return names[t];
}

int codec_is(struct json_object *v, const char *what, enum codec_type t, unsigned flags,
	     struct cf_err *e)
{
	if (codec_type_of(v) == t)
		return 0;
	return codec_err(e, flags, what, "expected %s, found %s", codec_type_name(t), type_name(v));
}

/* Case-insensitive lookup: two members that differ only in case make the answer ambiguous,
 * and guessing between them could read the wrong setting. */
static int find_ci(struct json_object *obj, const char *at, const char *key, unsigned flags,
		   struct json_object **out, bool *found, struct cf_err *e)
{
	struct codec_path p;
	/* strcasecmp only for keys whose first letters agree as it would compare them: most
	 * members of an answer differ there, and every ARM member is read this way */
	int first = tolower((unsigned char)key[0]);
	*found = false;
	*out = NULL;
	json_object_object_foreach(obj, k, v)
	{
		if (tolower((unsigned char)k[0]) != first || strcasecmp(k, key) != 0)
			continue;
		if (*found)
			return codec_err(e, flags, codec_path_key(&p, at, key),
					 "appears twice with different case");
		*found = true;
		*out = v;
	}
	return 0;
}

/*
 * Exact lookup. json-c hashes the key on every lookup, some two hundred instructions; the
 * objects of a provider's answer have a handful of members, and walking them comparing first
 * bytes costs a fraction of that (issue 17). Keys are unique in a json-c object (a repeated
 * member replaces the earlier one), so the walk finds what the hash would.
 */
static bool find_exact(struct json_object *obj, const char *key, struct json_object **out)
{
	if (json_object_object_length(obj) > CODEC_WALK_MAX)
		return json_object_object_get_ex(obj, key, out);
	json_object_object_foreach(obj, k, v)
	{
		if (k[0] == key[0] && strcmp(k, key) == 0) {
			*out = v;
			return true;
		}
	}
	*out = NULL;
	return false;
}

int codec_member(struct json_object *obj, const char *at, const char *key, unsigned flags,
		 struct json_object **out, bool *present, struct cf_err *e)
{
	struct codec_path p;
	bool found = false;
	*out = NULL;
	if (present)
		*present = false;
	if (codec_is(obj, at, CODEC_OBJECT, flags, e) != 0)
		return code_of(flags);
	/* the member's path names errors only: built when there is one (two snprintf per member
	 * read were a tenth of a 10,000-endpoint plan's CPU, issue 17) */
	if (flags & CODEC_CI) {
		int rc = find_ci(obj, at, key, flags, out, &found, e);
		if (rc != 0)
			return rc;
	} else {
		found = find_exact(obj, key, out);
	}
	if (!found || !*out) {
		*out = NULL;
		if (flags & CODEC_OPTIONAL)
			return 0;
		return codec_err(e, flags, codec_path_key(&p, at, key), found ? "null" : "missing");
	}
	if (present)
		*present = true;
	return 0;
}

int codec_get(struct json_object *obj, const char *at, const char *key, enum codec_type t,
	      unsigned flags, struct json_object **out, struct cf_err *e)
{
	struct codec_path p;
	int rc = codec_member(obj, at, key, flags | CODEC_OPTIONAL, out, NULL, e);
	if (rc != 0 || (!*out && (flags & CODEC_OPTIONAL)))
		return rc;
	if (*out && codec_type_of(*out) == t)
		return 0; /* the path is for errors only */
	codec_path_key(&p, at, key);
	/* required: absent is "missing", null is a value of the wrong type */
	if (!*out && !((flags & CODEC_CI) == 0 && json_object_object_get_ex(obj, key, NULL)))
		return codec_err(e, flags, p.s, "missing");
	rc = codec_is(*out, p.s, t, flags, e);
	if (rc != 0)
		*out = NULL;
	return rc;
}

/* A member for a getter of type t: CODEC_LOOSE takes any type (the getter converts strings),
 * else the type is checked here. */
static int member_of(struct json_object *obj, const char *at, const char *key, enum codec_type t,
		     unsigned flags, struct json_object **out, bool *present, struct cf_err *e)
{
	if (flags & CODEC_LOOSE)
		return codec_member(obj, at, key, flags, out, present, e);
	int rc = codec_get(obj, at, key, t, flags, out, e);
	if (present)
		*present = rc == 0 && *out;
	return rc;
}

int codec_as_str(struct json_object *v, const char *what, unsigned flags, const char **out,
		 struct cf_err *e)
{
	int rc = codec_is(v, what, CODEC_STRING, flags, e);
	if (rc != 0)
		return rc;
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return codec_err(e, flags, what, "contains a NUL character");
	return 0;
}

int codec_str(struct json_object *obj, const char *at, const char *key, unsigned flags,
	      const char **out, struct cf_err *e)
{
	struct json_object *v;
	struct codec_path p;
	*out = NULL;
	int rc = codec_get(obj, at, key, CODEC_STRING, flags, &v, e);
	if (rc != 0 || !v)
		return rc;
	/* the path names errors only: built when there is one (issue 17) */
	const char *s = json_object_get_string(v);
	if (strlen(s) == (size_t)json_object_get_string_len(v)) {
		*out = s;
		return 0;
	}
	return codec_as_str(v, codec_path_key(&p, at, key), flags, out, e);
}

int codec_bool(struct json_object *obj, const char *at, const char *key, unsigned flags, bool *out,
	       bool *present, struct cf_err *e)
{
	struct json_object *v;
	struct codec_path p;
	int rc = member_of(obj, at, key, CODEC_BOOL, flags, &v, present, e);
	if (rc != 0 || !v)
		return rc;
	if (json_object_is_type(v, json_type_boolean)) { /* the path is for errors only */
		*out = json_object_get_boolean(v);
		return 0;
	}
	codec_path_key(&p, at, key);
	if ((flags & CODEC_LOOSE) && json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
			*out = strcasecmp(s, "true") == 0;
			return 0;
		}
		return codec_err(e, flags, p.s, "the string '%.*s', want true or false",
				 CODEC_ECHO_MAX, s);
	}
	rc = codec_is(v, p.s, CODEC_BOOL, flags, e);
	if (rc == 0)
		*out = json_object_get_boolean(v);
	return rc;
}

/* Decimal digits with an optional leading '-': the whole string, nothing else. */
static int parse_dec(const char *s, int64_t *out)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	size_t n = strlen(d);
	if (n == 0 || n > CODEC_INT_DIGITS_MAX || strspn(d, "0123456789") != n)
		return -1;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int codec_as_int(struct json_object *v, const char *what, unsigned flags, int64_t min, int64_t max,
		 int64_t *out, struct cf_err *e)
{
	int64_t x;
	if ((flags & CODEC_LOOSE) && json_object_is_type(v, json_type_string)) {
		if (parse_dec(json_object_get_string(v), &x) != 0)
			return codec_err(e, flags, what, "the string '%.*s', want an integer",
					 CODEC_ECHO_MAX, json_object_get_string(v));
	} else if (codec_is(v, what, CODEC_INT, flags, e) != 0) {
		return code_of(flags);
	} else {
		x = json_object_get_int64(v);
		/* json-c keeps values above INT64_MAX as uint64; those are out of range anyway */
		if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
			return codec_err(e, flags, what, "out of range");
	}
	if (x < 0 && min == 0)
		return codec_err(e, flags, what, "%lld is negative", (long long)x);
	if (x < min || x > max)
		return codec_err(e, flags, what, "%lld is out of range %lld..%lld", (long long)x,
				 (long long)min, (long long)max);
	*out = x;
	return 0;
}

int codec_int(struct json_object *obj, const char *at, const char *key, unsigned flags, int64_t min,
	      int64_t max, int64_t *out, bool *present, struct cf_err *e)
{
	struct json_object *v;
	struct codec_path p;
	int rc = member_of(obj, at, key, CODEC_INT, flags, &v, present, e);
	if (rc != 0 || !v)
		return rc;
	/* an int in range needs no path (it names errors only); json-c keeps values above
	 * INT64_MAX as uint64 and reads them as INT64_MAX: those take the slow path */
	if (json_object_is_type(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);
		if (x >= min && x <= max && x != INT64_MAX) {
			*out = x;
			return 0;
		}
	}
	return codec_as_int(v, codec_path_key(&p, at, key), flags, min, max, out, e);
}

int codec_as_num(struct json_object *v, const char *what, unsigned flags, double *out,
		 struct cf_err *e)
{
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return codec_err(e, flags, what, "expected a number, found %s", type_name(v));
	*out = json_object_get_double(v);
	return 0;
}

int codec_arr(struct json_object *obj, const char *at, const char *key, unsigned flags,
	      struct json_object **out, size_t *n, struct cf_err *e)
{
	*n = 0;
	int rc = codec_get(obj, at, key, CODEC_ARRAY, flags, out, e);
	if (rc == 0 && *out)
		*n = json_object_array_length(*out);
	return rc;
}

int codec_obj(struct json_object *obj, const char *at, const char *key, unsigned flags,
	      struct json_object **out, struct cf_err *e)
{
	return codec_get(obj, at, key, CODEC_OBJECT, flags, out, e);
}

struct json_object *codec_at(struct json_object *arr, size_t i)
{
	return json_object_array_get_idx(arr, i);
}

size_t codec_len(struct json_object *arr)
{
	return json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

const char *codec_s(struct json_object *v)
{
	return json_object_get_string(v);
}

size_t codec_slen(struct json_object *v)
{
	return (size_t)json_object_get_string_len(v);
}

bool codec_b(struct json_object *v)
{
	return json_object_get_boolean(v);
}

int64_t codec_i(struct json_object *v)
{
	return json_object_get_int64(v);
}

/* ---- building ---- */

/* json-c reports allocation failure by returning NULL (or -1): exit as xmalloc does instead,
 * so a failed allocation never turns into a JSON null, a missing member or an assertion. */
static struct json_object *need(struct json_object *o)
{
	if (!o)
		xmem_oom("json-c");
	return o;
}

struct json_object *codec_new_obj(void)
{
	return need(json_object_new_object());
}

struct json_object *codec_new_arr(void)
{
	return need(json_object_new_array());
}

struct json_object *codec_new_str(const char *s)
{
	return s ? need(json_object_new_string(s)) : NULL;
}

struct json_object *codec_new_int(int64_t v)
{
	return need(json_object_new_int64(v));
}

struct json_object *codec_new_bool(bool b)
{
	return need(json_object_new_boolean(b));
}

void codec_add(struct json_object *obj, const char *key, struct json_object *v)
{
	if (json_object_object_add(obj, key, v) < 0)
		xmem_oom("json-c");
}

void codec_push(struct json_object *arr, struct json_object *v)
{
	if (json_object_array_add(arr, v) < 0)
		xmem_oom("json-c");
}

/* ---- writing ---- */

static int write_value(struct sb *out, struct json_object *v, int level, enum codec_style style);

/* A new line and the indent of level (CODEC_PRETTY only). Copied, not formatted: through
 * "%*s" it was half of writing a plan file (800 instructions a line, issue 17). */
static int newline(struct sb *out, int level, enum codec_style style)
{
	static const char spaces[] = "                                ";
	if (style != CODEC_PRETTY)
		return 0;
	size_t n = level > 0 ? (size_t)level * CODEC_INDENT : 0;
	int r = sb_addc(out, '\n');
	while (r == 0 && n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		r = sb_add(out, spaces, k);
		n -= k;
	}
	return r;
}

static int write_object(struct sb *out, struct json_object *v, int level, enum codec_style style)
{
	bool first = true;
	int r = sb_addc(out, '{');
	json_object_object_foreach(v, k, m)
	{
		if (r == 0 && !first)
			r = sb_addc(out, ',');
		first = false;
		if (r == 0)
			r = newline(out, level + 1, style);
		if (r == 0)
			r = sb_add_json_str(out, k);
		if (r == 0)
			r = sb_adds(out, style == CODEC_PRETTY ? ": " : ":");
		if (r == 0)
			r = write_value(out, m, level + 1, style);
	}
	/* json-c's layout, kept byte for byte: an empty container is also closed on a new line */
	if (r == 0)
		r = newline(out, level, style);
	return r == 0 ? sb_addc(out, '}') : r;
}

static int write_array(struct sb *out, struct json_object *v, int level, enum codec_style style)
{
	size_t n = json_object_array_length(v);
	int r = sb_addc(out, '[');
	for (size_t i = 0; i < n && r == 0; i++) {
		if (i)
			r = sb_addc(out, ',');
		if (r == 0)
			r = newline(out, level + 1, style);
		if (r == 0)
			r = write_value(out, json_object_array_get_idx(v, i), level + 1, style);
	}
	if (r == 0)
		r = newline(out, level, style);
	return r == 0 ? sb_addc(out, ']') : r;
}

/* Numbers, booleans and null are written as json-c writes them (a parsed number keeps the
 * text it was read from); strings and containers here. */
static int write_value(struct sb *out, struct json_object *v, int level, enum codec_style style)
{
	switch (json_object_get_type(v)) {
	case json_type_object:
		return write_object(out, v, level, style);
	case json_type_array:
		return write_array(out, v, level, style);
	case json_type_string:
		return sb_add_json_strn(out, json_object_get_string(v),
					(size_t)json_object_get_string_len(v));
	case json_type_null:
		return sb_adds(out, "null");
	case json_type_boolean:
		return sb_adds(out, json_object_get_boolean(v) ? "true" : "false");
	case json_type_int: {
		/* json-c's own "%" PRId64; the clamped ends may be a uint64 it prints otherwise */
		int64_t i = json_object_get_int64(v);
		if (i != INT64_MAX && i != INT64_MIN)
			return sb_addi(out, i);
		break;
	}
	default:
		break;
	}
	const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	if (!s)
		xmem_oom("json-c");
	return sb_adds(out, s);
}

int codec_write(struct sb *out, struct json_object *v, enum codec_style style)
{
	return write_value(out, v, 0, style);
}

char *codec_dup_text(struct json_object *v)
{
	struct sb sb;
	sb_init(&sb, 0);
	if (codec_write(&sb, v, CODEC_COMPACT) < 0) {
		sb_release(&sb);
		return xstrdup("");
	}
	return sb_detach(&sb);
}

char *codec_set_int(const char *text, const char *key, int64_t val)
{
	struct json_object *o = NULL;
	if (codec_parse_obj(text, strlen(text), &o, NULL) != 0)
		return NULL;
	codec_add(o, key, codec_new_int(val));
	char *out = codec_dup_text(o);
	json_object_put(o);
	return out;
}

const char *codec_lib_version(void)
{
	return json_c_version();
}
