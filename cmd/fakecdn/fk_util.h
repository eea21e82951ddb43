/*
 * Small helpers of the emulator: clock, random ids, hex and base64, URL decoding,
 * path splitting and JSON accessors. Nothing here takes the state lock.
 */
#ifndef FK_UTIL_H
#define FK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <json-c/json.h>

#define FK_UUID_LEN	36
#define FK_TIME_LEN	96
#define FK_MAX_SEGMENTS 16

/* Milliseconds since the epoch (wall clock: tasks and quotas are stored as absolute times). */
int64_t fk_now_ms(void);
/* Formats ms as RFC 3339 UTC: "2026-11-21T12:00:42Z", or with milliseconds when with_ms. */
void fk_fmt_time(int64_t ms, bool with_ms, char out[FK_TIME_LEN]);
/* Random version-4 UUID, lower case. */
void fk_uuid(char out[FK_UUID_LEN + 1]);
/* n random bytes as 2n lower-case hex characters (out holds 2n+1). */
void fk_random_hex(size_t n, char *out);
/* Uniform random number in [0, 1). */
double fk_rand01(void);
/* A token bucket of rate_per_minute tokens and burst capacity: takes one token at now (ms).
 * True with *remaining (whole tokens left); false with *retry_s (seconds until one is there,
 * at least 1). CDN Pro's customer bucket and ARM's (fk_cdnpro.c, fk_azure.c). */
struct fk_bucket {
	double tokens;
	int64_t last_ms; /* last refill */
};
bool fk_bucket_take(struct fk_bucket *b, int64_t rate_per_minute, int64_t burst, int64_t now,
		    int64_t *remaining, int64_t *retry_s);
/* Hex of p (out holds 2n+1), upper or lower case. */
void fk_hex(const unsigned char *p, size_t n, bool upper, char *out);
/* Base64 of p; caller frees. */
char *fk_b64_encode(const unsigned char *p, size_t n);
/* Decodes strict base64 (padding required); NULL when malformed. Caller frees; *n = length. */
unsigned char *fk_b64_decode(const char *s, size_t *n);
/* Percent-decodes s[0..n) ('+' becomes a space when plus_space); NULL on a bad escape. */
char *fk_url_decode(const char *s, size_t n, bool plus_space);
/* Compares two strings in time independent of where they differ. */
bool fk_secure_equal(const char *a, const char *b);
/*
 * Splits a path into its segments (raw, not decoded) in buf; seg[i] point into buf.
 * Returns the count, or -1 when there are more than max segments or buf is too small.
 */
int fk_split_path(const char *path, char *buf, size_t bufsz, const char **seg, int max);

/* JSON accessors: return the member or a fallback when absent or of another type. */
const char *fk_jstr(struct json_object *o, const char *key);
int64_t fk_jint(struct json_object *o, const char *key, int64_t fallback);
bool fk_jbool(struct json_object *o, const char *key, bool fallback);
struct json_object *fk_jarr(struct json_object *o, const char *key);
/* The first object of arr whose string member key equals val, ignoring case (ids and names
 * arrive in either case, as the services treat them); NULL when none or val is NULL. Borrowed. */
struct json_object *fk_jfind(struct json_object *arr, const char *key, const char *val);
struct json_object *fk_jobj(struct json_object *o, const char *key);
/* Returns o[key], creating an empty array there when absent. */
struct json_object *fk_jarr_ensure(struct json_object *o, const char *key);
/* Serialises o compactly (no slash escaping); caller frees. */
char *fk_json_text(struct json_object *o);
/* A JSON text written without a tree, byte for byte as json-c writes the same tree with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE. Start from {0}. */
struct fk_jw {
	char *p;
	size_t len, cap;
	bool over; /* passed the cap (64 MiB): fk_jw_finish() returns NULL */
};
/* Appends s as is. */
void fk_jw_raw(struct fk_jw *w, const char *s);
/* Appends s as json-c writes json_object_new_string(s). */
void fk_jw_str(struct fk_jw *w, const char *s);
/* Appends o as fk_json_text writes it. */
void fk_jw_json(struct fk_jw *w, struct json_object *o);
/* The text (caller frees) and its length, or NULL past the cap; the writer is empty after. */
char *fk_jw_finish(struct fk_jw *w, size_t *len);

#endif
