/* JSON decoding with type-checking getters (json-c stays in here and in prov_*.c). */
#include "reconcile/base/compat.h"

#include <errno.h>
#include <strings.h>
#include <json-c/json.h>

#include "reconcile/codec.h"
#include "reconcile/base/xmem.h"

#define CODEC_INT_DIGITS_MAX 19 /* decimal digits of INT64_MAX */

static const char *type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a fractional number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "unknown";
}

static bool only_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
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
	struct json_tokener *tok = json_tokener_new_ex(CODEC_MAX_DEPTH);
	if (!tok)
		return err_set(e, CF_EAPI, "cannot allocate a JSON parser");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
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
	json_tokener_free(tok);
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

/* Case-insensitive lookup: two members that differ only in case make the answer ambiguous,
 * and guessing between them could read the wrong setting. */
static int find_ci(struct json_object *obj, const char *key, struct json_object **out, bool *found,
		   struct cf_err *e)
{
	*found = false;
	*out = NULL;
	json_object_object_foreach(obj, k, v)
	{
		if (strcasecmp(k, key) != 0)
			continue;
		if (*found)
			return err_set(e, CF_EAPI, "field '%s' appears twice with different case",
				       key);
		*found = true;
		*out = v;
	}
	return 0;
}

int codec_member(struct json_object *obj, const char *key, unsigned flags, struct json_object **out,
		 bool *present, struct cf_err *e)
{
	bool found = false;
	*out = NULL;
	if (present)
		*present = false;
	if (!json_object_is_type(obj, json_type_object))
		return err_set(e, CF_EAPI, "looking up '%s' in %s, want an object", key,
			       type_name(obj));
	if (flags & CODEC_CI) {
		int rc = find_ci(obj, key, out, &found, e);
		if (rc != 0)
			return rc;
	} else {
		found = json_object_object_get_ex(obj, key, out);
	}
	if (!found || !*out) {
		*out = NULL;
		if (flags & CODEC_OPTIONAL)
			return 0;
		return err_set(e, CF_EAPI, "field '%s' is %s", key, found ? "null" : "missing");
	}
	if (present)
		*present = true;
	return 0;
}

int codec_as_str(struct json_object *v, const char *what, const char **out, struct cf_err *e)
{
	if (!json_object_is_type(v, json_type_string))
		return err_set(e, CF_EAPI, "'%s' is %s, want a string", what, type_name(v));
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return err_set(e, CF_EAPI, "'%s' contains a NUL character", what);
	return 0;
}

int codec_as_obj(struct json_object *v, const char *what, struct cf_err *e)
{
	if (!json_object_is_type(v, json_type_object))
		return err_set(e, CF_EAPI, "'%s' is %s, want an object", what, type_name(v));
	return 0;
}

int codec_as_arr(struct json_object *v, const char *what, size_t *n, struct cf_err *e)
{
	*n = 0;
	if (!json_object_is_type(v, json_type_array))
		return err_set(e, CF_EAPI, "'%s' is %s, want an array", what, type_name(v));
	*n = json_object_array_length(v);
	return 0;
}

int codec_str(struct json_object *obj, const char *key, unsigned flags, const char **out,
	      struct cf_err *e)
{
	struct json_object *v;
	*out = NULL;
	int rc = codec_member(obj, key, flags, &v, NULL, e);
	if (rc != 0 || !v)
		return rc;
	return codec_as_str(v, key, out, e);
}

int codec_bool(struct json_object *obj, const char *key, unsigned flags, bool *out, bool *present,
	       struct cf_err *e)
{
	struct json_object *v;
	int rc = codec_member(obj, key, flags, &v, present, e);
	if (rc != 0 || !v)
		return rc;
	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v);
		return 0;
	}
	if ((flags & CODEC_LOOSE) && json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
			*out = strcasecmp(s, "true") == 0;
			return 0;
		}
		return err_set(e, CF_EAPI, "'%s' is the string '%.40s', want true or false", key,
			       s);
	}
	return err_set(e, CF_EAPI, "'%s' is %s, want a boolean", key, type_name(v));
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
	if (json_object_is_type(v, json_type_int)) {
		errno = 0;
		x = json_object_get_int64(v);
		/* json-c keeps values above INT64_MAX as uint64; those are out of range anyway */
		if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
			return err_set(e, CF_EAPI, "'%s' is out of range", what);
	} else if ((flags & CODEC_LOOSE) && json_object_is_type(v, json_type_string)) {
		if (parse_dec(json_object_get_string(v), &x) != 0)
			return err_set(e, CF_EAPI, "'%s' is the string '%.40s', want an integer",
				       what, json_object_get_string(v));
	} else {
		return err_set(e, CF_EAPI, "'%s' is %s, want an integer", what, type_name(v));
	}
	if (x < min || x > max)
		return err_set(e, CF_EAPI, "'%s' is %lld, want %lld..%lld", what, (long long)x,
			       (long long)min, (long long)max);
	*out = x;
	return 0;
}

int codec_int(struct json_object *obj, const char *key, unsigned flags, int64_t min, int64_t max,
	      int64_t *out, bool *present, struct cf_err *e)
{
	struct json_object *v;
	int rc = codec_member(obj, key, flags, &v, present, e);
	if (rc != 0 || !v)
		return rc;
	return codec_as_int(v, key, flags, min, max, out, e);
}

int codec_arr(struct json_object *obj, const char *key, unsigned flags, struct json_object **out,
	      size_t *n, struct cf_err *e)
{
	*n = 0;
	int rc = codec_member(obj, key, flags, out, NULL, e);
	if (rc != 0 || !*out)
		return rc;
	if (!json_object_is_type(*out, json_type_array)) {
		rc = err_set(e, CF_EAPI, "'%s' is %s, want an array", key, type_name(*out));
		*out = NULL;
		return rc;
	}
	*n = json_object_array_length(*out);
	return 0;
}

int codec_obj(struct json_object *obj, const char *key, unsigned flags, struct json_object **out,
	      struct cf_err *e)
{
	int rc = codec_member(obj, key, flags, out, NULL, e);
	if (rc != 0 || !*out)
		return rc;
	rc = codec_as_obj(*out, key, e);
	if (rc != 0)
		*out = NULL;
	return rc;
}

struct json_object *codec_at(struct json_object *arr, size_t i)
{
	return json_object_array_get_idx(arr, i);
}

const char *codec_text(struct json_object *v)
{
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
}

char *codec_set_int(const char *text, const char *key, int64_t val)
{
	struct json_object *o = NULL;
	if (codec_parse_obj(text, strlen(text), &o, NULL) != 0)
		return NULL;
	json_object_object_add(o, key, json_object_new_int64(val));
	char *out = xstrdup(codec_text(o));
	json_object_put(o);
	return out;
}

const char *codec_lib_version(void)
{
	return json_c_version();
}
