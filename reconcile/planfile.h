/*
 * The plan as JSON ("format_version": 1): what `plan --format json` prints and what
 * `plan --out FILE` saves for `apply FILE`. One document, so the artifact a pipeline keeps is
 * the same one it can inspect with jq. Decoding keeps only what apply needs to prove the plan
 * still holds: the desired commit, each endpoint's live digest and desired rules, and the
 * purges it would run.
 *
 * The cache codec is shared with the ledger codec (ledger.c). Both read and write through the
 * JSON layer (reconcile/codec.h); struct json_object is its opaque tree type.
 */
#ifndef CF_PLANFILE_H
#define CF_PLANFILE_H

#include <stddef.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/plan.h"
#include "reconcile/base/sb.h"

#define PLANFILE_FORMAT_VERSION 1
#define PLANFILE_MAX_BYTES	((size_t)64 << 20)
#define PLANFILE_MAX_DEPTH	32

struct planfile_endpoint {
	char *name; /* owned */
	enum plan_ep_action action;
	char digest[65];      /* "" when the endpoint was not read */
	struct cache desired; /* owned */
};

struct planfile_purge {
	char *id, *endpoint; /* owned */
	char content_hash[65];
	enum plan_purge_state state;
};

struct planfile {
	char commit[41];
	struct planfile_endpoint *eps;
	size_t neps, ecap;
	struct planfile_purge *purges;
	size_t npurges, pcap;
	bool no_purges;
};

/* Appends the plan's JSON document (with a trailing newline) to out. Returns 0 or -1 (cap). */
int planfile_encode(const struct plan *p, struct sb *out);

/*
 * Parses a plan document into *out (initialised here), refusing anything `plan` could not
 * have written; the message names the JSON path ("endpoints[3].desired.rules[0].items: empty
 * list") or the byte offset of a syntax error. Returns 0, CF_EINVAL or CF_ELIMIT.
 */
int planfile_decode(const char *json, size_t len, struct planfile *out, struct cf_err *e);
/* Reads and parses a plan file. Returns 0, CF_EIO or CF_EINVAL. */
int planfile_read(const char *path, struct planfile *out, struct cf_err *e);
/* Writes the plan to path atomically (afile_write: mkstemp beside it, fsync, rename); a target
 * that is not a regular file is refused. Returns 0, CF_EINVAL, CF_ELIMIT or CF_EIO. */
int planfile_write(const struct plan *p, const char *path, struct cf_err *e);
void planfile_release(struct planfile *pf);

struct planfile_endpoint *planfile_endpoint_find(const struct planfile *pf, const char *name);
struct planfile_purge *planfile_purge_find(const struct planfile *pf, const char *id,
					   const char *endpoint);

/* Shared cache codec (codec.h trees); the returned object is owned by the caller. */
struct json_object;
struct json_object *planfile_cache_to_json(const struct cache *c);
/* Fills *out (initialised here) from {"ignore_…": bool…, "rules": [{kind, items, ttl}]}. */
int planfile_cache_from_json(struct json_object *o, struct cache *out, struct cf_err *e);

/* Formats t (unix seconds) as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes). */
void planfile_time_format(int64_t t, char *buf, size_t n);
/* Parses that form back. Returns 0 or -1. */
int planfile_time_parse(const char *s, int64_t *t);

#endif
