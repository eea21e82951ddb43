/*
 * The JSON layer: the only module of cacheform that includes json-c (fakecdn, a program of
 * its own, keeps its state in json-c trees; tests/lint_layers.sh checks). Every JSON document
 * cacheform reads (provider answers, the plan file, ledger records) is parsed here with size and
 * depth caps, and read through the typed getters below; every document it builds as a tree (the
 * plan file, ledger records, request bodies derived from a provider's answer) is written here. Text
 * outputs built with the string builder write their strings with sb_add_json_str
 * (reconcile/base/sb.h), the one string escaper, which the tree writer uses as well.
 *
 * Getters check types: a member of the wrong type is an error, never a zero. Each error
 * names the JSON path of the value ("endpoints[3].desired.rules[0].ttl: expected int, found
 * double"); `at` is the path of the object looked in ("" at the root), `what` the path of a
 * value itself. Objects are json-c's; a parsed document is owned by the caller (codec_put)
 * and every pointer handed out by a getter is borrowed from it.
 */
#ifndef CF_CODEC_H
#define CF_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/sb.h"

#define CODEC_MAX_DEPTH 32		  /* nesting of a provider response */
#define CODEC_MAX_BODY	((size_t)8 << 20) /* bytes of one response we agree to parse */
#define CODEC_PATH_MAX	192		  /* longest JSON path an error message names */

struct json_object;

enum codec_flags {
	CODEC_OPTIONAL = 1 << 0, /* absent or null is fine: getter returns 0 and *present false */
	CODEC_CI = 1 << 1,	 /* key matched case-insensitively (ambiguous match is an error) */
	CODEC_LOOSE = 1 << 2,	 /* bools as "true"/"false", integers as decimal strings */
	CODEC_FILE = 1 << 3,	 /* a document cacheform wrote (plan, ledger): errors are
				    CF_EINVAL, not CF_EAPI (a provider's answer) */
};

/* The JSON value types, named in messages as json-c names them ("int", "string"...). */
enum codec_type {
	CODEC_NULL,
	CODEC_BOOL,
	CODEC_DOUBLE,
	CODEC_INT,
	CODEC_OBJECT,
	CODEC_ARRAY,
	CODEC_STRING,
};

/* ---- parsing ---- */

/*
 * Parses body[0..len) as one strict JSON document (UTF-8 checked, depth capped at
 * CODEC_MAX_DEPTH, at most CODEC_MAX_BODY bytes, nothing but whitespace after it): a
 * provider's answer. *out is the root; caller frees with codec_put().
 */
int codec_parse(const char *body, size_t len, struct json_object **out, struct cf_err *e);
void codec_put(struct json_object *o);

/* Like codec_parse, and the root must be an object. */
int codec_parse_obj(const char *body, size_t len, struct json_object **out, struct cf_err *e);

/*
 * Parses exactly len bytes of a document cacheform wrote (plan file, ledger record; the
 * caller caps the size) with nesting bounded by depth and UTF-8 checked (the writer never
 * writes anything else, so the document reads back as it was written). Returns the root (caller
 * puts), or NULL with *why (static text) describing the syntax error and *at its byte offset
 * ("unexpected end of input" for a truncated document). NULL with *why NULL: the document is
 * `null`. json-c allocation failures, which it reports as syntax errors or not at all, exit as xmem
 * does.
 */
struct json_object *codec_parse_doc(const char *json, size_t len, int depth, const char **why,
				    size_t *at);

/* ---- paths ---- */

struct codec_path {
	char s[CODEC_PATH_MAX];
};
/* "parent.key" ("key" at the root) and "parent[i]" into p; returns p->s. A path longer than
 * CODEC_PATH_MAX ends in "...". */
const char *codec_path_key(struct codec_path *p, const char *parent, const char *key);
const char *codec_path_idx(struct codec_path *p, const char *parent, size_t i);

/* ---- typed getters ---- */

/* Type of v (CODEC_NULL for NULL) and its name in messages ("int"; static). */
enum codec_type codec_type_of(struct json_object *v);
const char *codec_type_name(enum codec_type t);
/* Sets the error "path: message" (CF_EINVAL with CODEC_FILE, else CF_EAPI) and returns the
 * code: for checks of a value's content beyond its type. */
int codec_err(struct cf_err *e, unsigned flags, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 0 when v has type t, else the error "what: expected T, found U". */
int codec_is(struct json_object *v, const char *what, enum codec_type t, unsigned flags,
	     struct cf_err *e);

/*
 * Member key of object obj (path at). *present (may be NULL) tells whether the member exists
 * and is not null. Without CODEC_OPTIONAL an absent or null member is an error.
 */
int codec_member(struct json_object *obj, const char *at, const char *key, unsigned flags,
		 struct json_object **out, bool *present, struct cf_err *e);
/* Member of type t: *out is NULL when optional and absent or null. */
int codec_get(struct json_object *obj, const char *at, const char *key, enum codec_type t,
	      unsigned flags, struct json_object **out, struct cf_err *e);
/* String member without NUL characters; *out borrowed. */
int codec_str(struct json_object *obj, const char *at, const char *key, unsigned flags,
	      const char **out, struct cf_err *e);
int codec_bool(struct json_object *obj, const char *at, const char *key, unsigned flags, bool *out,
	       bool *present, struct cf_err *e);
/* Integer within [min, max]; fractions and out-of-range values are errors. */
int codec_int(struct json_object *obj, const char *at, const char *key, unsigned flags, int64_t min,
	      int64_t max, int64_t *out, bool *present, struct cf_err *e);
/* Array member: *out and *n (0 when optional and absent). */
int codec_arr(struct json_object *obj, const char *at, const char *key, unsigned flags,
	      struct json_object **out, size_t *n, struct cf_err *e);
int codec_obj(struct json_object *obj, const char *at, const char *key, unsigned flags,
	      struct json_object **out, struct cf_err *e);

/* Value v itself (path what) as a string without NUL characters. */
int codec_as_str(struct json_object *v, const char *what, unsigned flags, const char **out,
		 struct cf_err *e);
/* Value as integer (CODEC_LOOSE: decimal string accepted) within [min, max]. */
int codec_as_int(struct json_object *v, const char *what, unsigned flags, int64_t min, int64_t max,
		 int64_t *out, struct cf_err *e);
/* A number (int or double) as a double. */
int codec_as_num(struct json_object *v, const char *what, unsigned flags, double *out,
		 struct cf_err *e);

/* Accessors for values whose type was checked; NULL-safe where noted. */
struct json_object *codec_at(struct json_object *arr, size_t i);
size_t codec_len(struct json_object *arr);  /* elements of an array */
const char *codec_s(struct json_object *v); /* string (borrowed) */
size_t codec_slen(struct json_object *v);   /* its length in bytes (a NUL may be inside) */
bool codec_b(struct json_object *v);
int64_t codec_i(struct json_object *v);

/* ---- building and writing ---- */

/*
 * Constructors for a tree the caller owns (codec_put on the root frees it all). json-c's
 * allocation failures exit as xmem does. codec_new_str(NULL) is NULL, which codec_add
 * and codec_push write as null.
 */
struct json_object *codec_new_obj(void);
struct json_object *codec_new_arr(void);
struct json_object *codec_new_str(const char *s);
struct json_object *codec_new_int(int64_t v);
struct json_object *codec_new_bool(bool b);
/* Adds (replaces) member key of obj / appends to arr; the container takes v. */
void codec_add(struct json_object *obj, const char *key, struct json_object *v);
void codec_push(struct json_object *arr, struct json_object *v);

enum codec_style {
	CODEC_COMPACT, /* {"a":1,"b":[true]} */
	CODEC_PRETTY,  /* two-space indent, "key": value, one member per line */
};
/* Appends v as JSON text; strings through sb_add_json_str. Returns 0 or -1 (out's cap). */
int codec_write(struct sb *out, struct json_object *v, enum codec_style style);
/* Compact text of v; caller frees. */
char *codec_dup_text(struct json_object *v);
/* Parses text (an object) and sets its integer member key to val; returns the new compact text
 * (caller frees) or NULL when text is not an object. */
char *codec_set_int(const char *text, const char *key, int64_t val);

/* Returns the version of the json-c loaded at run time, e.g. "0.16". Static. */
const char *codec_lib_version(void);

#endif
