/*
 * JSON decoding for the provider drivers: the only module besides prov_*.c that touches
 * json-c. Getters check types: a member of the wrong type is an error, never a zero.
 * Objects are json-c's; a parsed document is owned by the caller (codec_put) and every
 * pointer handed out by a getter is borrowed from it.
 */
#ifndef CF_CODEC_H
#define CF_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"

#define CODEC_MAX_DEPTH 32		  /* nesting of a provider response */
#define CODEC_MAX_BODY	((size_t)8 << 20) /* bytes of one response we agree to parse */

struct json_object;

enum codec_flags {
	CODEC_OPTIONAL = 1 << 0, /* absent or null is fine: getter returns 0 and *present false */
	CODEC_CI = 1 << 1,	 /* key matched case-insensitively (ambiguous match is an error) */
	CODEC_LOOSE = 1 << 2,	 /* bools as "true"/"false", integers as decimal strings */
};

/*
 * Parses body[0..len) as one strict JSON document (UTF-8 checked, depth capped, nothing but
 * whitespace after it). *out is the root; caller frees with codec_put().
 */
int codec_parse(const char *body, size_t len, struct json_object **out, struct cf_err *e);
void codec_put(struct json_object *o);

/* Like codec_parse, and the root must be an object. */
int codec_parse_obj(const char *body, size_t len, struct json_object **out, struct cf_err *e);

/*
 * Member lookup in object obj. *present (may be NULL) tells whether the member exists and is
 * not null. Without CODEC_OPTIONAL an absent or null member is an error.
 */
int codec_member(struct json_object *obj, const char *key, unsigned flags, struct json_object **out,
		 bool *present, struct cf_err *e);
int codec_str(struct json_object *obj, const char *key, unsigned flags, const char **out,
	      struct cf_err *e);
int codec_bool(struct json_object *obj, const char *key, unsigned flags, bool *out, bool *present,
	       struct cf_err *e);
/* Integer within [min, max]; fractions and out-of-range values are errors. */
int codec_int(struct json_object *obj, const char *key, unsigned flags, int64_t min, int64_t max,
	      int64_t *out, bool *present, struct cf_err *e);
/* Array member: *out and *n (0 when optional and absent). */
int codec_arr(struct json_object *obj, const char *key, unsigned flags, struct json_object **out,
	      size_t *n, struct cf_err *e);
int codec_obj(struct json_object *obj, const char *key, unsigned flags, struct json_object **out,
	      struct cf_err *e);

/* Element access for arrays; `what` names the element in messages ("Rules[2]"). */
struct json_object *codec_at(struct json_object *arr, size_t i);
int codec_as_str(struct json_object *v, const char *what, const char **out, struct cf_err *e);
int codec_as_obj(struct json_object *v, const char *what, struct cf_err *e);
/* Fills *n with v's length when v is an array; CF_EAPI naming `what` otherwise. */
int codec_as_arr(struct json_object *v, const char *what, size_t *n, struct cf_err *e);
/* Value as integer (CODEC_LOOSE: decimal string accepted) within [min, max]. */
int codec_as_int(struct json_object *v, const char *what, unsigned flags, int64_t min, int64_t max,
		 int64_t *out, struct cf_err *e);

/* Compact serialisation of v; borrowed, valid until v's document is put or changed. */
const char *codec_text(struct json_object *v);
/* Parses text (an object) and sets its integer member key to val; returns the new compact text
 * (caller frees) or NULL when text is not an object. */
char *codec_set_int(const char *text, const char *key, int64_t val);

/* Returns the version of the json-c loaded at run time, e.g. "0.16". Static. */
const char *codec_lib_version(void);

#endif
